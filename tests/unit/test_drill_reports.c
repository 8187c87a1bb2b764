/* test_drill_reports.c -- the report writers over the records of real drills
 * (tests/fixtures/drill, made by tests/fixtures/make-drill.sh: two `faultline drill` runs
 * over a python3 http.server behind faultline's proxies, with a JSON-lines history): the
 * contingency table, suite.junit.xml and suite.md rendered again from the records alone
 * are byte for byte what the drill wrote as it ran; each matrix row's figures and "why" are
 * those of the combination's own run.json; the lines printed are the drill's console lines;
 * text from a probe's output is escaped; an experiment without a record is one testcase. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "harness.h"
#include "contingency.h"
#include "figures.h"
#include "report.h"
#include "suite.h"

TEST_FILE_USES("");

#define FIX "tests/fixtures/drill"

static const char *const drills[] = { "d1", "d2" };

/* the JSON file at the path (printf-style; caller frees); the test fails when it is missing */
static json_t *load(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *load(const char *fmt, ...)
{
    char path[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    json_t *j = json_load_file(path, 0, NULL);
    ASSERT_MSG(j != NULL, "no JSON at %s", path);
    return j;
}

/* the records name their reports relative to where the drill ran: run there */
static void enter_fixture(void)
{
    ASSERT_MSG(chdir(FIX) == 0, "no fixture folder %s (tests/fixtures/make-drill.sh makes it)", FIX);
}

static char *out_path(const char *name)
{
    static char p[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", th_tmpdir(), name);
    return p[k];
}

static void assert_same_file(const char *got_path, const char *want_path)
{
    char *got = th_slurp(got_path), *want = th_slurp(want_path);
    ASSERT_MSG(want != NULL, "no %s in the fixture", want_path);
    ASSERT_MSG(got != NULL, "nothing written at %s", got_path);
    if (strcmp(got, want)) {
        size_t i = 0, line = 1;
        while (got[i] && got[i] == want[i]) line += got[i++] == '\n';
        th_fail(__FILE__, __LINE__, "%s differs from %s at line %zu:\n     got: %.200s\n  expect: %.200s", got_path,
                want_path, line, got + i, want + i);
    }
    free(got);
    free(want);
}

/* rec written again by write into the test's folder: byte for byte what drill d wrote as rel
 * (a path in the drill's folder); the path written */
static const char *same_as_drill(int (*write)(const json_t *, const char *, char *), const json_t *rec, size_t d,
                                 const char *rel)
{
    char err[FL_ERR_LEN], want[256];
    const char *got = out_path(strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel);
    ASSERT_MSG(write(rec, got, err) == 0, "%s: %s", rel, err);
    snprintf(want, sizeof want, "%s/%s", drills[d], rel);
    assert_same_file(got, want);
    return got;
}

/* every line of text is a line of drill d's console output */
static void assert_printed(size_t d, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/console.txt", drills[d]);
    char *console = th_slurp(path);
    ASSERT_MSG(console != NULL, "no %s in the fixture", path);
    char *copy = fl_strdup(text), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *want = fl_asprintf("\n%s\n", l);
        ASSERT_MSG(strstr(console, want) != NULL, "not printed by the drill: \"%s\"", l);
        free(want);
    }
    free(copy);
    free(console);
}

TEST(drill_reports_matrix_rows_are_the_figures_of_each_run)
{
    enter_fixture();
    static const char *const keys[] = { "p95_ms", "worst_p95_ms", "error_rate", "requests", "rps", "recovery_ms",
                                        "recovered", "recoveries", NULL };
    for (size_t d = 0; d < 2; d++) {
        json_t *m = load("%s/replicas/matrix.json", drills[d]);
        const json_t *rows = json_object_get(m, "matrix");
        ASSERT_EQ_INT(json_array_size(rows), 3);
        for (size_t i = 0; i < json_array_size(rows); i++) {
            const json_t *row = json_array_get(rows, i);
            char path[256];
            snprintf(path, sizeof path, "%s/run.json", json_string_value(json_object_get(row, "report")));
            json_t *run = load("%s", path), *fig = json_object();
            report_figures(run, fig);
            for (size_t k = 0; keys[k]; k++)
                ASSERT_MSG(json_equal(json_object_get(fig, keys[k]), json_object_get(row, keys[k])),
                           "%s: %s of the run record differs from the matrix row", path, keys[k]);
            char *why = report_why(run);
            ASSERT_EQ_STR(why, json_string_value(json_object_get(row, "why")));
            /* the figures are real: load ran, and the lost replica broke only its own row */
            ASSERT(json_integer_value(json_object_get(fig, "requests")) > 10);
            if (!strcmp(json_string_value(json_object_get(row, "lose")), "r1")) {
                ASSERT(json_number_value(json_object_get(fig, "error_rate")) > 0.05);
                ASSERT_CONTAINS(why, "probe 'primary' failed");
            } else {
                ASSERT_EQ_STR(why, "");
            }
            free(why);
            json_decref(fig);
            json_decref(run);
        }
        json_decref(m);
    }
}

TEST(drill_reports_contingency_renders_again_from_the_record)
{
    enter_fixture();
    for (size_t d = 0; d < 2; d++) {
        json_t *m = load("%s/replicas/matrix.json", drills[d]);
        const char *md = same_as_drill(report_contingency_md, m, d, "replicas/contingency.md");
        char *text = th_slurp(md);
        ASSERT_CONTAINS(text, "**N-1 fails at: r1** (2 of 3 combinations survived)");
        /* the probe printed "<lost> #r1 & ~[x]! *y*": markup neither starts nor breaks the row */
        ASSERT_CONTAINS(text, "exit 1: &lt;lost&gt; \\#r1 &amp; \\~\\[x\\]\\! \\*y\\* | ");
        ASSERT(strstr(text, "<lost>") == NULL);
        free(text);

        /* the lines `faultline drill` printed for the matrix */
        struct buf b;
        buf_init(&b, 0);
        const json_t *rows = json_object_get(m, "matrix");
        for (size_t i = 0; i < json_array_size(rows); i++) report_contingency_row_text(json_array_get(rows, i), &b);
        ASSERT_CONTAINS(b.data, "lose r1: failed (exit 1), worst p95 ");
        report_contingency_text(m, &b);
        ASSERT_CONTAINS(b.data, "\ncontingency N-1 of 'replicas':\n  lost  verdict        worst p95   error rate  recovery");
        assert_printed(d, b.data);
        buf_release(&b);
        json_decref(m);
    }
}

TEST(drill_reports_suite_renders_again_from_the_records)
{
    enter_fixture();
    for (size_t d = 0; d < 2; d++) {
        json_t *suite = load("%s/suite.json", drills[d]);
        const char *xml = same_as_drill(report_suite_junit, suite, d, "suite.junit.xml");
        same_as_drill(report_suite_md, suite, d, "suite.md");

        /* an experiment's testsuite is its own junit.xml's, renamed after the experiment */
        char *x = th_slurp(xml);
        ASSERT_CONTAINS(x, "<testsuite name=\"replicas/lose-r1\" tests=\"");
        ASSERT_CONTAINS(x, "<testcase classname=\"replicas.probes\" name=\"primary's word\"");
        ASSERT_CONTAINS(x, "observed exit 1: &lt;lost&gt; #r1 &amp; ~[x]! *y*");
        ASSERT_CONTAINS(x, "name=\"says &lt;b&gt;#1&lt;/b&gt;\"");
        /* the one the drill did not run: a lone testcase, an error */
        ASSERT_CONTAINS(x, "<testsuite name=\"after\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">"
                           "\n    <testcase classname=\"after\" name=\"experiment\" time=\"0.000\">\n"
                           "      <error type=\"not_run\" message=\"expected the experiment to pass; observed verdict "
                           "not_run (exit 0): not run: the drill stopped early\"/>");
        /* the history's verdicts: the second drill found the latency toxic's regression */
        if (d == 1) ASSERT_CONTAINS(x, "<failure type=\"regression\" message=\"load &#39;reads&#39; p95 ");
        else ASSERT_CONTAINS(x, "<skipped message=\"no earlier passing run to compare with\"/>");
        free(x);

        /* the lines printed for each experiment */
        struct buf b;
        buf_init(&b, 0);
        const json_t *exps = json_object_get(suite, "experiments");
        ASSERT_EQ_INT(json_array_size(exps), 7);
        for (size_t i = 0; i < json_array_size(exps); i++) report_suite_entry_text(json_array_get(exps, i), &b);
        assert_printed(d, b.data);
        buf_release(&b);
        json_decref(suite);
    }
}

TEST(drill_reports_suite_of_an_experiment_without_its_record)
{
    /* the failed experiment's run.json is gone: its testsuite is one failed testcase with the
     * entry's why, and the counts of the suite follow */
    char cwd[PATH_MAX];
    ASSERT(getcwd(cwd, sizeof cwd) != NULL);
    char out[256];
    ASSERT_EQ_INT(th_sh(out, sizeof out, "cp -r '%s/" FIX "/d2' '%s/d2' && rm '%s/d2/markup/run.json'", cwd, th_tmpdir(),
                        th_tmpdir()), 0);
    ASSERT(chdir(th_tmpdir()) == 0);
    json_t *suite = load("d2/suite.json");
    char err[FL_ERR_LEN];
    ASSERT_MSG(report_suite_junit(suite, "lone.xml", err) == 0, "%s", err);
    char *x = th_slurp("lone.xml");
    ASSERT_CONTAINS(x, "<testsuite name=\"markup\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"0.000\">\n"
                       "    <testcase classname=\"markup\" name=\"experiment\" time=\"0.000\">\n"
                       "      <failure type=\"failed\" message=\"expected the experiment to pass; observed verdict failed (exit 1): "
                       "probe &#39;says &lt;b&gt;#1&lt;/b&gt;&#39; failed: exit 1: &lt;b&gt;#1 &amp; ~x! [a](b) | *y* _z_ `c`&lt;/b&gt;\"/>");
    ASSERT_CONTAINS(x, "<testcase classname=\"markup.drill\" name=\"no regression against the last passing run\"");
    /* the totals are the sum of the testsuites */
    long tests = 0, all = -1;
    for (const char *p = x; (p = strstr(p, "<testsuite name=")); p++) tests += strtol(strstr(p, " tests=\"") + 8, NULL, 10);
    const char *top = strstr(x, "<testsuites name=\"faultline drill\" tests=\"");
    ASSERT(top != NULL);
    all = strtol(top + strlen("<testsuites name=\"faultline drill\" tests=\""), NULL, 10);
    ASSERT_EQ_INT(all, tests);
    free(x);
    json_decref(suite);
}

TEST(drill_reports_suite_html_escapes_and_links)
{
    /* a drill's record with a hostile experiment name and a comparison table added: every
     * string escaped, each experiment linked to its report.html relative to the suite's
     * folder (encoded), the one not run without a link, the rows as suite.md has them */
    enter_fixture();
    json_t *suite = load("d2/suite.json");
    json_t *exps = json_object_get(suite, "experiments");
    json_t *steady = json_array_get(exps, 0), *markup = json_array_get(exps, 4);
    json_object_set_new(markup, "experiment", json_string("<script>alert(1)</script>"));
    json_object_set_new(markup, "report", json_string("d2/a b#c"));
    json_object_set_new(steady, "baseline", json_pack("{s:i}", "runs", 3));
    json_object_set_new(steady, "regressions", json_pack("[{s:s, s:f}]", "text", "load 'r<1>' p95 10.0ms -> 30.0ms (+200.0%)",
                                                         "change", 2.0));
    json_object_set_new(steady, "comparison",
                        json_pack("[{s:s, s:s, s:f, s:[f,f], s:f, s:s, s:s, s:s, s:b},"
                                  " {s:s, s:s, s:f, s:[f,f], s:f, s:s, s:s, s:s, s:s},"
                                  " {s:s, s:s, s:f, s:[f,f], s:f, s:s, s:s, s:s, s:s}]",
                                  "figure", "load 'r<1>' p95", "unit", "ms", "baseline", 10.0, "band", 9.0, 11.0, "now", 30.0,
                                  "change", "+200.0%", "significance", "99% CI 25.0ms..35.0ms", "status", "regression", "regressed", 1,
                                  "figure", "load 'r<1>' error rate", "unit", "ratio", "baseline", 0.0, "band", 0.0, 0.0, "now", 0.5,
                                  "change", "new", "significance", "", "status", "new", "why", "new",
                                  "figure", "load 'r<1>' p99", "unit", "ms", "baseline", 12.0, "band", 11.0, 13.0, "now", 40.0,
                                  "change", "+233.3%", "significance", "needs 400 requests a run, has 20", "status",
                                  "too few requests", "why", "too few requests to compare"));
    char err[FL_ERR_LEN];
    const char *html = out_path("suite.html");
    ASSERT_MSG(report_suite_html(suite, html, err) == 0, "suite.html: %s", err);
    char *h = th_slurp(html);
    ASSERT(h != NULL);
    ASSERT_MSG(!strstr(h, "<script"), "an unescaped <script in suite.html");
    ASSERT_CONTAINS(h, "<title>faultline: drill — aborted</title>");
    ASSERT_CONTAINS(h, "<h1>faultline drill <span class=\"badge worst\">aborted</span></h1>");
    ASSERT_CONTAINS(h, "<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td><span class=\"badge bad\">failed</span></td>");
    ASSERT_CONTAINS(h, "<a href=\"a%20b%23c/report.html\">d2/a b#c/report.html</a>");
    ASSERT_CONTAINS(h, "<tr class=\"bad\"><td>steady</td><td><span class=\"badge good\">passed</span></td><td>REGRESSION: "
                       "load &#39;r&lt;1&gt;&#39; p95 10.0ms -&gt; 30.0ms (+200.0%)</td><td><a href=\"steady/report.html\">");
    ASSERT_CONTAINS(h, "<tr><td>after</td><td><span class=\"badge neutral\">not_run</span></td>");
    ASSERT_CONTAINS(h, "<span class=\"muted\">no report</span>");
    ASSERT_CONTAINS(h, "<h3>steady against the last 3 passing runs</h3>");
    ASSERT_CONTAINS(h, "<tr class=\"bad\"><td>load &#39;r&lt;1&gt;&#39; p95</td><td class=\"num\">10.0ms</td>"
                       "<td class=\"num\">9.00ms..11.0ms</td><td class=\"num\">30.0ms</td><td class=\"num\">+200.0%</td>"
                       "<td>99% CI 25.0ms..35.0ms</td><td><span class=\"badge bad\">REGRESSION</span></td></tr>");
    ASSERT_CONTAINS(h, "<td class=\"num\">new</td><td></td><td>new</td></tr>");
    ASSERT_CONTAINS(h, "<td>needs 400 requests a run, has 20</td><td>too few requests to compare</td></tr>");
    /* the same rows as suite.md */
    ASSERT_MSG(report_suite_md(suite, out_path("suite.md"), err) == 0, "%s", err);
    char *md = th_slurp(out_path("suite.md"));
    ASSERT_CONTAINS(md, " | 10.0ms | 9.00ms..11.0ms | 30.0ms | +200.0% | 99% CI 25.0ms..35.0ms | **REGRESSION** |");
    free(md);
    free(h);
    json_decref(suite);
}
