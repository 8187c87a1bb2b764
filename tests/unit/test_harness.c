/* test_harness.c -- the harness's own promises, through the built test binary run again with
 * the services taken away: a test that needs a missing service skips with tests/run.sh's
 * reason, the skips are counted by cause in one closing line, FL_REQUIRE_SERVICES=1 turns
 * each into a failure, and the tally stays the last line. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* under make test: the services tests/run.sh started (the runs below take them away) */
TEST(harness_services_come_from_run_sh)
{
    ASSERT_CONTAINS(th_pg_dsn(), "host=127.0.0.1");
    ASSERT(th_pg_port() > 0);
    ASSERT(th_redis_port() > 0);
}

TEST(harness_docker_engine_comes_from_run_sh)
{
    ASSERT_MSG(!strncmp(th_docker_host(), "unix://", 7) || !strncmp(th_docker_host(), "tcp://", 6), "%s",
               th_docker_host());
}

static const char *last_line(const char *out)
{
    static char line[256];
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n') n--;
    size_t s = n;
    while (s && out[s - 1] != '\n') s--;
    snprintf(line, sizeof line, "%.*s", (int)(n - s), out + s);
    return line;
}

/* the two tests above, run by the same binary without services; require: FL_REQUIRE_SERVICES */
static int run_without_services(char *out, size_t outlen, int require, const char *jobs)
{
    return th_sh(out, outlen,
                 "env -u FL_TEST_PG_DSN -u FL_TEST_PG_PORT -u FL_TEST_REDIS_PORT -u FL_TEST_DOCKER_HOST "
                 "FL_TEST_PG_WHY='initdb failed: pretend' FL_TEST_REDIS_WHY='redis-server is not installed' "
                 "FL_TEST_DOCKER_WHY='docker.io is not installed: apt-get install docker.io' "
                 "FL_REQUIRE_SERVICES=%d '%s/fl-tests' %s harness_services_come_from_run_sh "
                 "harness_docker_engine_comes_from_run_sh 2>&1",
                 require, th_build_dir(), jobs);
}

TEST_T(harness_counts_skips_by_cause_in_one_line, 60)
{
    static char out[16384];
    int rc = run_without_services(out, sizeof out, 0, "-j1");
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "skip harness_services_come_from_run_sh");
    ASSERT_CONTAINS(out, "\n2 skipped: 1 no PostgreSQL (initdb failed: pretend); "
                         "1 no Docker engine (docker.io is not installed: apt-get install docker.io)\n");
    ASSERT_EQ_STR(last_line(out), "0 passed, 0 failed, 2 skipped");
    /* one cause: the line names it once */
    rc = th_sh(out, sizeof out,
               "env -u FL_TEST_DOCKER_HOST FL_TEST_DOCKER_WHY='no engine here' FL_REQUIRE_SERVICES=0 "
               "'%s/fl-tests' harness_docker_engine_comes_from_run_sh 2>&1", th_build_dir());
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "\n1 skipped: no Docker engine (no engine here)\n");
    ASSERT_EQ_STR(last_line(out), "0 passed, 0 failed, 1 skipped");
}

TEST_T(harness_require_services_fails_every_skip, 60)
{
    static char out[16384];
    int rc = run_without_services(out, sizeof out, 1, "-j2");
    ASSERT_MSG(rc == 1, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "FL_REQUIRE_SERVICES=1, so a skip fails: no PostgreSQL (initdb failed: pretend)");
    ASSERT_CONTAINS(out, "FAIL harness_docker_engine_comes_from_run_sh");
    ASSERT(!strstr(out, "skipped:"));
    ASSERT_EQ_STR(last_line(out), "0 passed, 2 failed, 0 skipped");
}

TEST_T(harness_prints_the_slowest_before_the_tally, 60)
{
    static char out[16384];
    int rc = th_sh(out, sizeof out, "'%s/fl-tests' -j2 test_value.c test_hist.c test_compare.c 2>&1", th_build_dir());
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    const char *slow = strstr(out, " at a time; the slowest:\n");
    ASSERT_MSG(slow != NULL, "%s", out);
    ASSERT_CONTAINS(out, "2 at a time");
    /* ten lines of "  <seconds>s  <name> (<file>)", then the tally */
    int lines = 0;
    for (const char *p = strchr(slow, '\n') + 1; *p == ' '; p = strchr(p, '\n') + 1) {
        ASSERT_CONTAINS(p, "s  ");
        lines++;
    }
    ASSERT_EQ_INT(lines, 10);
    ASSERT_CONTAINS(last_line(out), " passed, 0 failed, 0 skipped");
}

TEST(harness_need_program_goes_on_when_it_is_there)
{
    th_need_program("sh", "dash");
    char out[64];
    ASSERT_EQ_INT(th_sh(out, sizeof out, "echo reached"), 0);
    ASSERT_EQ_STR(out, "reached\n");
}

TEST_T(harness_need_program_skips_with_the_package_to_install, 60)
{
    static char out[16384];
    int rc = th_sh(out, sizeof out,
                   "env PATH=/nonexistent FL_REQUIRE_SERVICES=0 '%s/fl-tests' harness_need_program_goes_on 2>&1",
                   th_build_dir());
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "\n1 skipped: sh is not installed (apt-get install dash)\n");
    ASSERT_EQ_STR(last_line(out), "0 passed, 0 failed, 1 skipped");
}
