/* test_deps.c -- scripts/deps.sh and scripts/packages, the one list of Debian packages: what
 * is missing is found by each line's PRESENT-WHEN check and only for the groups asked for,
 * --dry-run names it without installing, a user who cannot install is told the command; the
 * list carries what the tests rely on; and no other script installs anything on its own
 * (.ci/run does only what the README says a user does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

/* a list of the same form as scripts/packages */
static const char sample_list[] =
    "# a list of the same form as scripts/packages\n"
    "\n"
    "fl-present-cmd       build,test   cmd:sh\n"
    "fl-missing-cmd       test         cmd:fl-no-such-command-19\n"
    "fl-missing-pc        build        pc:fl-no-such-module-19\n"
    "fl-present-path      test         path:/bin/s*\n"
    "fl-missing-path      test         path:/nonexistent/fl-19/*\n"
    "fl-missing-bench     bench        cmd:fl-no-such-bench-19\n"
    "fl-missing-cmd       test,demo    cmd:fl-no-such-command-19\n";

/* text written as the test's tmpdir/packages; its path */
static const char *list_of(const char *text)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/packages", th_tmpdir());
    th_write_file(path, text);
    return path;
}

static int deps(char *out, size_t outlen, const char *list, const char *args)
{
    return th_sh(out, outlen, "FL_DEPS_LIST='%s' sh scripts/deps.sh %s 2>&1", list, args);
}

/* deps.sh with args over list exits rc and prints exactly text */
#define EXPECT_DEPS(list, args, rc, text)                      \
    do {                                                       \
        char out_[4096];                                       \
        ASSERT_EQ_INT(deps(out_, sizeof out_, list, args), rc); \
        ASSERT_EQ_STR(out_, text);                             \
    } while (0)

TEST(deps_dry_run_names_what_is_missing_for_the_groups_asked)
{
    const char *list = list_of(sample_list);
    EXPECT_DEPS(list, "--dry-run test", 1, "deps: would install (for test): fl-missing-cmd fl-missing-path\n");
    EXPECT_DEPS(list, "--dry-run build test", 1,
                "deps: would install (for build test): fl-missing-cmd fl-missing-pc fl-missing-path\n");
    EXPECT_DEPS(list, "-n bench", 1, "deps: would install (for bench): fl-missing-bench\n");
}

TEST(deps_nothing_missing_is_quiet)
{
    const char *list = list_of("fl-present-cmd build cmd:sh\nfl-present-path build path:/bin/sh\n");
    EXPECT_DEPS(list, "build", 0, "");
    EXPECT_DEPS(list, "--dry-run build", 0, "");
}

TEST(deps_unknown_group_or_option_is_a_usage_error)
{
    const char *list = list_of(sample_list);
    char out[4096];
    EXPECT_DEPS(list, "--dry-run tset", 2, "deps: unknown group 'tset' (known: bench build demo test)\n");
    ASSERT_EQ_INT(deps(out, sizeof out, list, "--yes test"), 2);
    ASSERT_CONTAINS(out, "deps: unknown option '--yes'");
    ASSERT_EQ_INT(deps(out, sizeof out, "/nonexistent/packages", "test"), 2);
    ASSERT_CONTAINS(out, "cannot read the package list '/nonexistent/packages'");
}

TEST(deps_without_root_names_the_command_and_installs_nothing)
{
    const char *list = list_of(sample_list);
    char out[4096];
    int rc;
    if (getuid() == 0) {
        /* nobody may not reach the checkout (under /root): a copy of the script beside the list */
        ASSERT_EQ_INT(th_sh(NULL, 0, "cp scripts/deps.sh '%s/deps.sh' && chmod 755 '%s' && chmod 644 '%s' '%s/deps.sh'",
                            th_tmpdir(), th_tmpdir(), list, th_tmpdir()), 0);
        rc = th_sh(out, sizeof out, "cd / && su nobody -s /bin/sh -c \"FL_DEPS_LIST='%s' sh '%s/deps.sh' test\" 2>&1", list,
                   th_tmpdir());
    } else {
        rc = deps(out, sizeof out, list, "test");
    }
    ASSERT_EQ_INT(rc, 1);
    ASSERT_EQ_STR(out, "deps: missing (for test): fl-missing-cmd fl-missing-path; run as root to install them, "
                       "or: apt-get install fl-missing-cmd fl-missing-path\n");
}

/* the real list: well-formed, and it carries what the tests and the demos rely on */
TEST(deps_the_package_list_has_what_the_suite_needs)
{
    char out[16384];
    ASSERT_EQ_INT(th_sh(out, sizeof out,
                        "awk '!/^[ \\t]*(#|$)/ && (NF != 3 || $3 !~ /^(cmd|pc|path):./) { print FILENAME \":\" NR \": \" $0 }' "
                        "scripts/packages"), 0);
    ASSERT_EQ_STR(out, "");
    static const char *const test_pkgs[] = { "postgresql", "redis-server", "docker.io", "chromium", "prometheus-pushgateway",
                                             "socat", "openssl", "libxml2-utils", "nginx-light", "valgrind", "python3",
                                             "procps", "prometheus", "python3-locust", "python3-jsonschema", "python3-yaml", "iproute2", "strace",
                                             NULL };
    for (int i = 0; test_pkgs[i]; i++) {
        ASSERT_EQ_INT(th_sh(out, sizeof out, "awk '$1 == \"%s\" { print $2 }' scripts/packages", test_pkgs[i]), 0);
        ASSERT_MSG(strstr(out, "test") != NULL, "'%s' is not in the test group of scripts/packages: '%s'", test_pkgs[i], out);
    }
    ASSERT_EQ_INT(th_sh(out, sizeof out, "awk '$1 == \"docker.io\" { print $2 }' scripts/packages"), 0);
    ASSERT_CONTAINS(out, "docker");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "awk '$1 == \"wrk\" { print $2 }' scripts/packages"), 0);
    ASSERT_CONTAINS(out, "bench");
    /* every group the Makefile names is one the list knows */
    ASSERT_EQ_INT(th_sh(out, sizeof out, "sh scripts/deps.sh --dry-run build demo docker test bench fuzz >/dev/null 2>&1; echo $?"), 0);
    ASSERT_MSG(out[0] == '0' || out[0] == '1', "deps.sh refused the Makefile's groups: %s", out);
}

/* the one place that installs: no script, test or CI step runs apt-get by itself */
TEST(deps_only_deps_sh_installs_and_ci_adds_no_setup)
{
    char out[16384];
    int rc = th_sh(out, sizeof out,
                   /* an install that runs says -y (nothing answers its question); update has no -y */
                   "grep -rnE 'apt-get.*[[:space:]]-y([[:space:]]|$)|apt-get[[:space:]]+(-[^[:space:]]+[[:space:]]+)*update' "
                   ".ci scripts tests examples Makefile | grep -v '^scripts/deps.sh:'");
    ASSERT_MSG(rc == 1, "apt-get outside scripts/deps.sh:\n%s", out);
    /* .ci/run: make test and make asan, nothing started or installed beside them */
    rc = th_sh(out, sizeof out, "grep -vE '^[[:space:]]*(#|$)' .ci/run");
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "make test\n");
    ASSERT_CONTAINS(out, "make asan\n");
    ASSERT_MSG(!strstr(out, "dockerd") && !strstr(out, "deps.sh") && !strstr(out, "swarm") && !strstr(out, "apt"),
               ".ci/run does setup of its own:\n%s", out);
}
