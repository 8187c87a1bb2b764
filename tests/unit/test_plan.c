/* test_plan.c -- the plan parser: good plans, and every broken plan in tests/plans/bad/
 * with the exact file:line:col message it must produce (NAME.err: one line per error,
 * each a prefix of the message, in order). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "load.h"
#include "plan.h"

static struct plan *parse(const char *text, struct diag *d)
{
    diag_init(d, "t.yaml");
    return plan_parse("t.yaml", text, strlen(text), NULL, d);
}

TEST(plan_bad_corpus_exact_errors)
{
    DIR *dir = opendir("tests/plans/bad");
    ASSERT_MSG(dir != NULL, "tests/plans/bad missing (run from the repository root)");
    struct dirent *e;
    int cases = 0;
    while ((e = readdir(dir)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".yaml")) continue;
        char path[512], errpath[512];
        snprintf(path, sizeof path, "tests/plans/bad/%s", e->d_name);
        snprintf(errpath, sizeof errpath, "tests/plans/bad/%.*s.err", (int)(l - 5), e->d_name);
        char *want = th_slurp(errpath);
        ASSERT_MSG(want != NULL, "%s has no .err file", path);
        struct diag d;
        diag_init(&d, path);
        struct plan *p = plan_load(path, NULL, &d);
        ASSERT_MSG(d.n > 0, "%s: expected errors, got a valid plan", path);
        size_t i = 0;
        for (char *line = strtok(want, "\n"); line; line = strtok(NULL, "\n"), i++) {
            ASSERT_MSG(i < d.n, "%s: expected error %zu '%s', got only %zu", path, i + 1, line, d.n);
            ASSERT_MSG(strncmp(d.msgs[i], line, strlen(line)) == 0, "%s:\n   got: %s\n  want: %s", path, d.msgs[i], line);
        }
        ASSERT_MSG(i == d.n, "%s: %zu errors expected, %zu reported (first extra: %s)", path, i, d.n, i < d.n ? d.msgs[i] : "");
        diag_release(&d);
        plan_free(p);
        free(want);
        cases++;
    }
    closedir(dir);
    ASSERT_MSG(cases >= 30, "only %d broken plans in the corpus", cases);
}

TEST(plan_all_errors_at_once)
{
    /* in line order, whatever order the checks ran in */
    th_plan_errors("faultline: 1\nname: Bad\nduration: 5 parsecs\nbogus: 1\n",
                   3, "t.yaml:2:7: name 'Bad'", "t.yaml:3:11:", "t.yaml:4:1: unknown key 'bogus'");
}

TEST(plan_good_full)
{
    setenv("FL_TEST_API", "http://127.0.0.1:9", 1);
    setenv("FL_TEST_PW", "hunter22", 1);
    const char *text =
        "faultline: 1\n"
        "name: db-outage\n"
        "description: test\n"
        "tags: [dr-drill, release-gate]\n"
        "duration: 2m\n"
        "vars:\n"
        "  api: ${env:FL_TEST_API}\n"
        "  other: ${env:FL_TEST_UNSET_X:-http://127.0.0.1:1}\n"
        "secrets:\n"
        "  pw: ${env:FL_TEST_PW}\n"
        "targets:\n"
        "  beat: { process: { pidfile: /run/x.pid } }\n"
        "load:\n"
        "  - name: readers\n"
        "    base_url: ${api}\n"
        "    login:\n"
        "      request: { method: POST, path: /login, form: { username: admin, password: \"${pw}\" } }\n"
        "      token: access_token\n"
        "    requests:\n"
        "      - { weight: 60, method: GET, path: /a }\n"
        "      - { weight: 40, method: GET, path: /b }\n"
        "    vus: 5\n"
        "    think: 100ms..300ms\n"
        "    timeout: 5s\n"
        "    thresholds: [ \"p95 < 500ms\", \"error_rate < 1%\" ]\n"
        "steady_state:\n"
        "  - http: { url: \"${api}/ready\", status: 200, max_latency: 500ms }\n"
        "method:\n"
        "  - name: freeze\n"
        "    at: 30s\n"
        "    fault: process.stop\n"
        "    target: beat\n"
        "    for: 45s\n"
        "  - { at: 40s, fault: exec, run: \"true\", revert: [\"true\"], for: 5s }\n"
        "probes:\n"
        "  - name: reads\n"
        "    during: freeze\n"
        "    load: readers\n"
        "    expect: [ \"p95 < 2s\", \"max < 5s\", \"error_rate < 50%\" ]\n"
        "  - name: rec\n"
        "    recovery: { from: freeze, until: { http: { url: \"${api}/ready\" } }, every: 100ms, stable: 3, within: 30s }\n"
        "  - name: up\n"
        "    during: freeze\n"
        "    every: 500ms\n"
        "    http: { url: \"${api}/x\", json: { status: ok } }\n"
        "stop_when:\n"
        "  - { load: readers, expect: \"error_rate < 90%\", for: 10s }\n"
        "rollback:\n"
        "  - exec: { run: [\"true\"] }\n";
    struct diag d;
    struct plan *p = parse(text, &d);
    for (size_t i = 0; i < d.n; i++) printf("    %s\n", d.msgs[i]);
    ASSERT_EQ_INT(d.n, 0);
    ASSERT_EQ_STR(p->name, "db-outage");
    ASSERT_EQ_INT(p->duration_ms, 120000);
    ASSERT_EQ_INT(p->nsteps, 2);
    ASSERT_EQ_STR(p->steps[0]->name, "freeze");
    ASSERT_EQ_INT(p->steps[0]->at_ms, 30000);
    ASSERT_EQ_INT(p->steps[0]->for_ms, 45000);
    ASSERT_EQ_STR(p->steps[1]->name, "exec@none");
    ASSERT_EQ_INT(p->nprobes, 3);
    ASSERT(p->probes[0]->window == p->steps[0]);
    ASSERT(p->probes[1]->window == p->steps[0]); /* recovery: from */
    ASSERT_EQ_INT(p->probes[2]->every_ms, 500);
    ASSERT_EQ_INT(p->nstop_when, 1);
    ASSERT_EQ_INT(p->stop_when[0]->for_ms, 10000);
    ASSERT_EQ_INT(p->nloads, 1);
    ASSERT_EQ_STR(lg_block_name(p->loads[0]), "readers");
    ASSERT_EQ_INT(p->nrollback, 1);
    ASSERT(fl_has_secret("hunter22"));
    char red[64] = "pw=hunter22!";
    fl_redact(red);
    ASSERT_EQ_STR(red, "pw=***!");
    diag_release(&d);
    plan_free(p);
}

TEST(plan_var_override_and_escape)
{
    const char *vars[] = { "api=http://127.0.0.1:7", NULL };
    struct plan_opts po = { .set_vars = vars };
    struct diag d;
    diag_init(&d, "t.yaml");
    const char *text = "faultline: 1\nname: x\nvars: { api: http://127.0.0.1:1 }\ndescription: \"${api} costs $${x}\"\n";
    struct plan *p = plan_parse("t.yaml", text, strlen(text), &po, &d);
    ASSERT_EQ_INT(d.n, 0);
    ASSERT_EQ_STR(p->description, "http://127.0.0.1:7 costs ${x}");
    diag_release(&d);
    plan_free(p);
}

TEST(plan_matrix_binding)
{
    const char *text = "faultline: 1\nname: n1\nduration: 10s\n"
                       "targets:\n  a: { process: { pid: 1 } }\n  b: { process: { pid: 2 } }\n"
                       "matrix: { lose: [a, b], choose: 2 }\n"
                       "method:\n  - { name: lose, at: 1s, fault: process.stop, target: \"${lose}\", for: 2s }\n";
    struct plan_opts po = { .matrix_binding = "a,b" };
    struct diag d;
    diag_init(&d, "t.yaml");
    struct plan *p = plan_parse("t.yaml", text, strlen(text), &po, &d);
    for (size_t i = 0; i < d.n; i++) printf("    %s\n", d.msgs[i]);
    ASSERT_EQ_INT(d.n, 0);
    ASSERT_EQ_INT(p->nsteps, 2);
    ASSERT_EQ_STR(p->steps[0]->target->name, "a");
    ASSERT_EQ_STR(p->steps[1]->target->name, "b");
    ASSERT_EQ_INT(p->matrix_choose, 2);
    diag_release(&d);
    plan_free(p);
}

TEST(plan_default_duration_from_method)
{
    struct diag d;
    struct plan *p = parse("faultline: 1\nname: x\nmethod:\n  - { at: 2s, fault: exec, run: [\"true\"], for: 3s }\n", &d);
    ASSERT_EQ_INT(d.n, 0);
    ASSERT_EQ_INT(p->duration_ms, 15000);
    diag_release(&d);
    plan_free(p);
}

TEST(plan_compound_durations)
{
    struct diag d;
    struct plan *p = parse("faultline: 1\nname: c\nduration: 1m30s\nrevert_timeout: 1h2m3s\nmethod:\n"
                           "  - { name: s, at: 10s500ms, fault: exec, run: [\"true\"], for: 1m }\n", &d);
    ASSERT_MSG(d.n == 0, "%s", d.n ? d.msgs[0] : "");
    ASSERT_EQ_INT(p->duration_ms, 90000);
    ASSERT_EQ_INT(p->revert_timeout_ms, 3723000);
    ASSERT_EQ_INT(p->steps[0]->at_ms, 10500);
    ASSERT_EQ_INT(p->steps[0]->for_ms, 60000);
    diag_release(&d);
    plan_free(p);
}
