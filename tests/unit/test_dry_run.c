/* test_dry_run.c -- `faultline run --dry-run`: readable lines, every combination of a matrix,
 * and an engine it cannot reach reported as such with exit 2 (nothing was run), not 1. */
#include <stdio.h>
#include <string.h>
#include "harness.h"

/* plan written as dir/plan.yaml, then `env faultline run --dry-run plan.yaml` in dir: its exit
 * status, stdout and stderr into out */
static int dry_run(const char *dir, const char *env, const char *plan, char *out, size_t outlen)
{
    th_write_in(dir, "plan.yaml", "%s", plan);
    return th_sh(out, outlen, "cd '%s' && %s '%s' run --dry-run plan.yaml 2>&1", dir, env, th_faultline());
}

TEST(dry_run_timeline_reads_as_words)
{
    static char out[1 << 16];
    int rc = dry_run(th_tmpdir(), "",
                     "faultline: 1\nname: words\nduration: 1m30s\n"
                     "method:\n  - { name: db-freeze, at: 10s, fault: exec, run: [\"true\"], revert: [\"true\"], for: 20s }\n"
                     "probes:\n"
                     "  - { name: up, during: db-freeze, every: 500ms, exec: { run: [\"true\"] } }\n"
                     "  - { name: back, recovery: { from: db-freeze, until: { exec: { run: [\"true\"] } }, within: 30s } }\n"
                     "  - { name: last, exec: { run: [\"true\"] } }\n"
                     "steady_state:\n  - { name: healthy, exec: { run: [\"true\"] } }\n",
                     out, sizeof out);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "duration 90s");
    ASSERT_CONTAINS(out, "at 10s");
    ASSERT_CONTAINS(out, "for 20s");
    ASSERT_CONTAINS(out, "during step 'db-freeze', every 500ms");
    ASSERT_CONTAINS(out, "from step 'db-freeze'");
    ASSERT_CONTAINS(out, "over the whole run");
    ASSERT_CONTAINS(out, "before the first fault and after the last revert");
    ASSERT(strstr(out, "duringdb-freeze") == NULL && strstr(out, "enddb-freeze") == NULL);
}

TEST(dry_run_matrix_every_combination_and_unreachable_engine_exit_2)
{
    static char out[1 << 16];
    const char *d = th_tmpdir();
    /* an engine that is not there: every combination is still shown, and the exit says
     * "nothing was run" (2), not "the hypothesis failed" (1) */
    char env[512];
    snprintf(env, sizeof env, "DOCKER_HOST=unix://%s/no-such.sock", d);
    int rc = dry_run(d, env,
                     "faultline: 1\nname: n2\n"
                     "targets:\n"
                     "  web-1: { docker: { container: fl21-dry-web-1 } }\n"
                     "  web-2: { docker: { container: fl21-dry-web-2 } }\n"
                     "  web-3: { docker: { container: fl21-dry-web-3 } }\n"
                     "method:\n  - { name: lose, at: 2s, fault: docker.stop, target: \"${lose}\", for: 5s }\n"
                     "matrix: { lose: [web-1, web-2, web-3], choose: 2 }\n",
                     out, sizeof out);
    ASSERT_MSG(rc == 2, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "makes 3 experiments");
    ASSERT_CONTAINS(out, "experiment 1/3: losing web-1+web-2");
    ASSERT_CONTAINS(out, "experiment 2/3: losing web-1+web-3");
    ASSERT_CONTAINS(out, "experiment 3/3: losing web-2+web-3");
    ASSERT_CONTAINS(out, "daemon not reachable");
    ASSERT_CONTAINS(out, "nothing was run");
    /* a dry run writes no report */
    char ls[256];
    th_sh(ls, sizeof ls, "ls '%s'", d);
    ASSERT(strstr(ls, "faultline-runs") == NULL);
}
