/* test_compare.c -- `faultline compare` on pairs made from a real run record (tests/fixtures/
 * run-sample.json) with one figure moved at a time: each rule in both directions, the
 * overrides, the noise floors, memory present or absent, and inputs it must refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "compare.h"
#include "harness.h"

#define FIXTURE "tests/fixtures/run-sample.json"

int cmd_compare(int argc, char **argv);   /* orchestrator/cmd_compare.c */

static char out_text[65536];

static json_t *fixture(void)
{
    json_t *r = json_load_file(FIXTURE, 0, NULL);
    ASSERT_MSG(r != NULL, "cannot load %s", FIXTURE);
    return r;
}

static const char *save(const json_t *r, const char *name)
{
    static char paths[4][600];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 600, "%s/%s", th_tmpdir(), name);
    ASSERT_EQ_INT(json_dump_file(r, p, JSON_INDENT(1)), 0);
    return p;
}

/* run `faultline compare` with up to 4 options; its standard output lands in out_text */
static int compare(const char *base, const char *cur, const char *o1, const char *o2, const char *o3, const char *o4)
{
    char path[600];
    snprintf(path, sizeof path, "%s/compare.out", th_tmpdir());
    fflush(stdout);
    ASSERT(freopen(path, "w", stdout) != NULL);
    char *argv[9] = { "compare", (char *)base, (char *)cur, (char *)o1, (char *)o2, (char *)o3, (char *)o4, NULL };
    int argc = 1;
    while (argv[argc]) argc++;
    int rc = cmd_compare(argc, argv);
    fflush(stdout);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out_text, 1, sizeof out_text - 1, f) : 0;
    out_text[n] = '\0';
    if (f) fclose(f);
    return rc;
}

/* the status column of the row that starts with figure */
static const char *status_of(const char *figure)
{
    static char st[64];
    const char *p = out_text;
    while ((p = strstr(p, figure))) {
        if (p == out_text || p[-1] == '\n') {
            const char *eol = strchr(p, '\n');
            const char *sp = eol;
            while (sp > p && sp[-1] != ' ') sp--;
            snprintf(st, sizeof st, "%.*s", (int)(eol - sp), sp);
            return st;
        }
        p++;
    }
    return NULL;
}

static void set_total(json_t *r, const char *metric, double v)
{
    json_t *t = json_object_get(json_array_get(json_object_get(r, "load"), 0), "totals");
    json_object_set_new(t, metric, json_real(v));
}

TEST(compare_same_run_has_no_regression)
{
    json_t *r = fixture();
    const char *a = save(r, "a.json");
    ASSERT_EQ_INT(compare(a, a, NULL, NULL, NULL, NULL), 0);
    ASSERT_CONTAINS(out_text, "no regression (p95 +10%, duration +10%, throughput -10%, memory +15%)");
    ASSERT_EQ_STR(status_of("load 'readers' p95"), "ok");
    ASSERT_EQ_STR(status_of("load 'readers' throughput"), "ok");
    ASSERT_EQ_STR(status_of("recovery 'ready-after-freeze'"), "ok");
    ASSERT_EQ_STR(status_of("run elapsed"), "ok");
    ASSERT_CONTAINS(out_text, "note: memory: not recorded in either run.json; the memory rule (+15%) was skipped");
    json_decref(r);
}

TEST(compare_p95_rule_both_directions_and_override)
{
    json_t *base = fixture(), *cur = fixture();
    set_total(base, "p95", 100.0);
    set_total(cur, "p95", 112.0);              /* +12% */
    const char *b = save(base, "b.json"), *c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 1);
    ASSERT_EQ_STR(status_of("load 'readers' p95"), "REGRESSION");
    ASSERT_CONTAINS(out_text, "+12.0%");
    ASSERT_CONTAINS(out_text, "1 regression (p95 +10%");
    ASSERT_EQ_INT(compare(b, c, "--p95", "15%", NULL, NULL), 0);
    ASSERT_EQ_STR(status_of("load 'readers' p95"), "ok");
    ASSERT_CONTAINS(out_text, "p95 +15%");
    ASSERT_EQ_INT(compare(b, c, "--p95", "5", NULL, NULL), 1);
    /* the other way round p95 fell 10.7%: an improvement */
    ASSERT_EQ_INT(compare(c, b, NULL, NULL, NULL, NULL), 0);
    ASSERT_EQ_STR(status_of("load 'readers' p95"), "ok");
    /* exactly +10% is within the rule */
    set_total(cur, "p95", 110.0);
    c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 0);
    json_decref(base);
    json_decref(cur);
}

TEST(compare_throughput_rule_both_directions_and_override)
{
    json_t *base = fixture(), *cur = fixture();
    set_total(base, "rps", 200.0);
    set_total(cur, "rps", 170.0);              /* -15% */
    const char *b = save(base, "b.json"), *c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 1);
    ASSERT_EQ_STR(status_of("load 'readers' throughput"), "REGRESSION");
    ASSERT_EQ_INT(compare(b, c, "--throughput", "20%", NULL, NULL), 0);
    ASSERT_EQ_INT(compare(c, b, NULL, NULL, NULL, NULL), 0);   /* +17.6%: better */
    json_decref(base);
    json_decref(cur);
}

TEST(compare_duration_rule_run_and_recovery)
{
    json_t *base = fixture(), *cur = fixture();
    json_object_set_new(cur, "elapsed_ms", json_integer(23000));   /* 20018 -> 23000: +14.9% */
    const char *b = save(base, "b.json"), *c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 1);
    ASSERT_EQ_STR(status_of("run elapsed"), "REGRESSION");
    ASSERT_EQ_INT(compare(b, c, "--duration", "20%", NULL, NULL), 0);

    /* a recovery that took 4 ms now takes 2.5 s */
    json_decref(cur);
    cur = fixture();
    json_t *probes = json_object_get(cur, "probes");
    json_t *obs = json_array_get(json_object_get(json_array_get(probes, 2), "observations"), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(probes, 2), "name")), "ready-after-freeze");
    json_object_set_new(obs, "value", json_real(2500));
    c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 1);
    ASSERT_EQ_STR(status_of("recovery 'ready-after-freeze'"), "REGRESSION");
    ASSERT_EQ_STR(status_of("recovery 'ready-after-blip'"), "ok");
    /* ... and then not at all */
    json_object_set_new(obs, "ok", json_false());
    json_object_del(obs, "value");
    c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, "--duration", "1000%", NULL, NULL), 1);
    ASSERT_CONTAINS(out_text, "no longer recovers");
    /* the other way round it now recovers: not a regression */
    ASSERT_EQ_INT(compare(c, b, NULL, NULL, NULL, NULL), 0);
    ASSERT_CONTAINS(out_text, "now recovers");
    json_decref(base);
    json_decref(cur);
}

TEST(compare_noise_floor_and_memory)
{
    json_t *base = fixture(), *cur = fixture();
    set_total(base, "p95", 2.0);
    set_total(cur, "p95", 2.9);                /* +45%, but 0.9 ms */
    const char *b = save(base, "b.json"), *c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 0);
    ASSERT_CONTAINS(out_text, "+45.0%  p95 +10%         ok (under the noise floor)\n");

    /* memory: only in CURRENT -> skipped with a note; in both -> judged */
    json_object_set_new(cur, "memory", json_pack("{s:f}", "peak_rss_mb", 120.0));
    c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 0);
    ASSERT_CONTAINS(out_text, "note: memory: not recorded in BASE; the memory rule (+15%) was skipped");
    json_object_set_new(base, "memory", json_pack("{s:f}", "peak_rss_mb", 100.0));
    b = save(base, "b.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 1);   /* +20% */
    ASSERT_EQ_STR(status_of("memory peak_rss_mb"), "REGRESSION");
    ASSERT_EQ_INT(compare(b, c, "--memory", "25%", NULL, NULL), 0);
    ASSERT_EQ_INT(compare(c, b, NULL, NULL, NULL, NULL), 0);
    json_decref(base);
    json_decref(cur);
}

TEST(compare_reports_figures_on_one_side_only)
{
    json_t *base = fixture(), *cur = fixture();
    json_t *blk = json_array_get(json_object_get(cur, "load"), 0);
    json_object_set_new(blk, "name", json_string("writers"));
    const char *b = save(base, "b.json"), *c = save(cur, "c.json");
    ASSERT_EQ_INT(compare(b, c, NULL, NULL, NULL, NULL), 0);
    ASSERT_CONTAINS(out_text, "note: load block 'readers' is only in BASE");
    ASSERT_CONTAINS(out_text, "note: load block 'writers' is only in CURRENT");
    json_decref(base);
    json_decref(cur);
}

TEST(compare_refuses_bad_input_with_2)
{
    json_t *r = fixture();
    const char *a = save(r, "a.json");
    ASSERT_EQ_INT(compare(a, "/nonexistent/run.json", NULL, NULL, NULL, NULL), 2);
    ASSERT_EQ_INT(compare(a, a, "--p95", "ten", NULL, NULL), 2);
    ASSERT_EQ_INT(compare(a, a, "--p95", "-5%", NULL, NULL), 2);
    ASSERT_EQ_INT(compare(a, NULL, NULL, NULL, NULL, NULL), 2);
    json_t *list = json_pack("[i]", 1);
    const char *l = save(list, "list.json");
    ASSERT_EQ_INT(compare(a, l, NULL, NULL, NULL, NULL), 2);
    json_t *m = json_pack("{s:{s:s},s:[],s:s}", "plan", "name", "x", "matrix", "verdict", "passed");
    const char *mp = save(m, "matrix.json");
    ASSERT_EQ_INT(compare(mp, a, NULL, NULL, NULL, NULL), 2);
    ASSERT_EQ_INT(compare("--help", NULL, NULL, NULL, NULL, NULL), 0);
    ASSERT_CONTAINS(out_text, "usage: faultline compare BASE.json CURRENT.json");
    json_decref(list);
    json_decref(m);
    json_decref(r);
}

TEST(compare_parse_pct)
{
    double v;
    ASSERT_EQ_INT(cmp_parse_pct("10%", &v), 0);
    ASSERT_NEAR(v, 0.10, 1e-12);
    ASSERT_EQ_INT(cmp_parse_pct("2.5", &v), 0);
    ASSERT_NEAR(v, 0.025, 1e-12);
    ASSERT_EQ_INT(cmp_parse_pct("0", &v), 0);
    ASSERT_NEAR(v, 0, 1e-12);
    ASSERT_EQ_INT(cmp_parse_pct("", &v), -1);
    ASSERT_EQ_INT(cmp_parse_pct("10%%", &v), -1);
    ASSERT_EQ_INT(cmp_parse_pct("x", &v), -1);
    ASSERT_EQ_INT(cmp_parse_pct("-1", &v), -1);
}
