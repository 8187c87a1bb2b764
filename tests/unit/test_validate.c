/* test_validate.c -- writing plans: "did you mean" (suggest.c), one error per mistake, errors
 * in line order, and `faultline validate` on files and folders. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "plan.h"
#include "suggest.h"

TEST(suggest_distance_and_nearest)
{
    ASSERT_EQ_INT(suggest_distance("duraton", "duration"), 1);
    ASSERT_EQ_INT(suggest_distance("docker.stpo", "docker.stop"), 1);   /* a swap counts one */
    ASSERT_EQ_INT(suggest_distance("Duration", "duration"), 0);
    ASSERT_EQ_INT(suggest_distance("", "abc"), 3);
    static const char *const keys[] = { "faultline", "name", "duration", "targets", "method", NULL };
    ASSERT_EQ_STR(suggest_nearest("duraton", keys), "duration");
    ASSERT_EQ_STR(suggest_nearest("tragets", keys), "targets");
    ASSERT_EQ_STR(suggest_nearest("methd", keys), "method");
    ASSERT(suggest_nearest("color", keys) == NULL);
    ASSERT(suggest_nearest("x", keys) == NULL);
    char long_word[200];
    memset(long_word, 'a', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = '\0';
    ASSERT(suggest_nearest(long_word, keys) == NULL);
}

TEST(suggest_hint_text)
{
    char h[256];
    static const char *const kinds[] = { "exec", "docker.stop", "docker.kill", "process.stop", NULL };
    suggest_hint(h, sizeof h, "docker.stpo", kinds, "known");
    ASSERT_EQ_STR(h, " (did you mean 'docker.stop'?)");
    suggest_hint(h, sizeof h, "stop", kinds, "known");
    ASSERT_EQ_STR(h, " (did you mean 'docker.stop' or 'process.stop'?)");
    suggest_hint(h, sizeof h, "teleport", kinds, "known");
    ASSERT_EQ_STR(h, " (known: exec, docker.stop, docker.kill, process.stop)");
    static const char *const none[] = { NULL };
    suggest_hint(h, sizeof h, "x", none, "the plan's targets");
    ASSERT_EQ_STR(h, " (the plan's targets: none)");
    char tiny[12];
    suggest_hint(tiny, sizeof tiny, "teleport", kinds, "known");   /* cut, still terminated */
    ASSERT(strlen(tiny) < sizeof tiny);
}

TEST(validate_one_error_per_mistake)
{
    /* a bad threshold keeps its block known: the probe naming it is no second error */
    th_plan_errors("faultline: 1\nname: x\nload:\n"
                   "  - { name: readers, base_url: \"http://127.0.0.1:9\", requests: [{ path: /x }], vus: fifty, "
                   "duration: 20q, thresholds: [\"p95 < 2q\"] }\n"
                   "method:\n  - { name: s, at: 1s, fault: exec, run: [\"true\"], for: 5s }\n"
                   "probes:\n  - { during: s, load: readers, expect: \"p95 < 1s\" }\n"
                   "  - recovery: { from: s, load: readers, until: \"error_rate < 1%\", within: 10s }\n",
                   3, "'vus' must be an integer, not 'fifty'", "'20q' is not a duration", "'2q' is not a duration");
    /* a target of an unknown kind is still a name the plan declares */
    th_plan_errors("faultline: 1\nname: x\ntargets:\n  cache: { rdis: { url: \"redis://127.0.0.1:1\" } }\n"
                   "probes:\n  - redis: { target: cache }\n",
                   1, "t.yaml:4:12: target 'cache': unknown kind 'rdis' (did you mean 'redis'?)");
    /* a probe's target: must name a target of the plan */
    th_plan_errors("faultline: 1\nname: x\ntargets:\n  cache: { redis: { url: \"redis://127.0.0.1:1\" } }\n"
                   "probes:\n  - redis: { target: cahce }\n",
                   1, "t.yaml:6:22: probe 'redis@6': no target named 'cahce' (did you mean 'cache'?)");
}

TEST(validate_cli_folder_and_order)
{
    static char out[1 << 16];
    const char *d = th_tmpdir();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/plans' && printf 'faultline: 1\\nname: a\\n' > '%s/plans/a.yaml' && "
             "printf 'faultline: 1\\nname: b\\nduraton: 1m30s\\n' > '%s/plans/b.yml' && printf 'x' > '%s/plans/notes.txt'",
             d, d, d, d);
    ASSERT_EQ_INT(th_sh(NULL, 0, "%s", cmd), 0);
    int rc = th_sh(out, sizeof out, "'%s' validate '%s/plans/' 2>&1", th_faultline(), d);
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "plans/a.yaml: valid");
    ASSERT_CONTAINS(out, "plans/b.yml:3:1: unknown key 'duraton' (did you mean 'duration'?)");
    ASSERT(strstr(out, "notes.txt") == NULL);
    ASSERT(strstr(out, "the plan is empty") == NULL);
    rc = th_sh(out, sizeof out, "rm '%s/plans/b.yml' && '%s' validate '%s/plans' 2>&1", d, th_faultline(), d);
    ASSERT_EQ_INT(rc, 0);
    rc = th_sh(out, sizeof out, "mkdir -p '%s/none' && '%s' validate '%s/none' 2>&1", d, th_faultline(), d);
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "holds no plans");
    /* run takes one plan: a folder is named as such */
    rc = th_sh(out, sizeof out, "'%s' run --dry-run '%s/plans' 2>&1", th_faultline(), d);
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "is a directory, not a plan");
}

TEST(validate_cli_command_and_section_typos)
{
    static char out[1 << 16];
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' valdate x.yaml 2>&1", th_faultline()), 2);
    ASSERT_CONTAINS(out, "unknown command 'valdate' (did you mean 'validate'?)");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' list fault 2>&1", th_faultline()), 2);
    ASSERT_CONTAINS(out, "unknown section 'fault' (did you mean 'faults'?)");
}
