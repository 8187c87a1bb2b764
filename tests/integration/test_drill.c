/* test_drill.c -- `faultline drill` and `faultline history` end to end against a real HTTP
 * server: suites from a folder, suite JUnit/Markdown, the history (JSON lines and the real
 * PostgreSQL) read back and compared (a p95 regression crafted with testsrv's delay knob),
 * and the drill lock. Also the compare rules on recorded entries. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "harness.h"
#include "buf.h"
#include "compare.h"
#include "hist.h"
#include "history.h"
#include "loadfx.h"
#include "testsrv.h"

TEST_FILE_USES("pg"); /* history tables in the shared PostgreSQL */

/* the whole file, NULL when missing; valid until the next call */
static char *slurp(const char *path)
{
    static char *last;
    free(last);
    return last = th_slurp(path);
}

static char *tpath(const char *rel)
{
    static char p[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", th_tmpdir(), rel);
    return p[k];
}

/* faultline ARGS in the test folder; the exit code of faultline, its output's tail in out */
static int fl(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fl(char *out, size_t outlen, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *d = th_tmpdir();
    unlink(tpath("rc"));
    th_sh(out, outlen, "cd '%s' && { FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' %s 2>&1; echo $? > '%s/rc'; } | tail -n 60", d, d,
          th_faultline(), args, d);
    char *t = slurp(tpath("rc"));
    return t ? atoi(t) : -1;
}

/* a short experiment with load on the server and a recovery probe */
static void write_load_plan(const char *file, const char *name, int port)
{
    char plan[2048];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: %s\nduration: 2s\n"
             "vars: { base: \"http://127.0.0.1:%d\" }\n"
             /* 300/s for 2 s: 600 requests, enough for a p95 to compare (400) */
             "load:\n  - { name: reads, base_url: \"${base}\", requests: [ { path: /ok } ], rate: 300/s, vus: 200, timeout: 3s }\n"
             "steady_state:\n  - http: { url: \"${base}/ok\" }\n"
             "method:\n  - { name: blip, at: 500ms, for: 500ms, fault: exec, run: \"true\" }\n"
             "probes:\n"
             "  - name: back\n"
             "    recovery: { from: blip, until: { http: { url: \"${base}/ok\" } }, every: 100ms, stable: 2, within: 5s }\n",
             name, port);
    th_write_file(tpath(file), plan);
}

static json_t *jsonl_lines(const char *path)
{
    json_t *arr = json_array();
    FILE *f = fopen(path, "r");
    ASSERT_MSG(f != NULL, "no history at %s", path);
    char line[1 << 16];
    while (fgets(line, sizeof line, f)) {
        json_t *e = json_loads(line, 0, NULL);
        ASSERT_MSG(e != NULL, "history line is not JSON: %s", line);
        json_array_append_new(arr, e);
    }
    fclose(f);
    return arr;
}

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static const json_t *suite_exp(const json_t *suite, size_t i) { return json_array_get(json_object_get(suite, "experiments"), i); }

static double num_or_nan(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

/* DIR/suite.html holds, for every experiment, its line and every row of its `comparison` in
 * suite.json with the same figures (formatted as suite.md formats them), escaped */
static void assert_suite_html(const char *dir)
{
    char rel[300];
    snprintf(rel, sizeof rel, "%s/suite.json", dir);
    json_t *suite = json_load_file(tpath(rel), 0, NULL);
    ASSERT(suite != NULL);
    snprintf(rel, sizeof rel, "%s/suite.html", dir);
    char *html = th_slurp(tpath(rel));
    ASSERT_MSG(html != NULL, "no %s", rel);
    ASSERT_MSG(!strstr(html, "<script"), "a <script in %s", rel);
    const json_t *exps = json_object_get(suite, "experiments");
    size_t rows_seen = 0;
    for (size_t i = 0; i < json_array_size(exps); i++) {
        const json_t *e = json_array_get(exps, i), *rows = json_object_get(e, "comparison");
        struct buf want;
        buf_init(&want, 0);
        buf_adds(&want, "<td>");
        buf_add_html(&want, jstr(e, "experiment"));
        buf_addf(&want, "</td><td><span class=\"badge ");
        ASSERT_CONTAINS(html, want.data);
        buf_reset(&want);
        buf_adds(&want, "<a href=\"");
        buf_adds(&want, jstr(e, "report") + strlen(dir) + 1);
        buf_adds(&want, "/report.html\">");
        ASSERT_CONTAINS(html, want.data);
        for (size_t k = 0; k < json_array_size(rows); k++, rows_seen++) {
            const json_t *r = json_array_get(rows, k), *band = json_object_get(r, "band");
            struct cmp_row row = { .unit = jstr(r, "unit") };
            char med[48], lo[48], hi[48], now[48];
            cmp_value_text(&row, num_or_nan(json_object_get(r, "baseline")), med);
            cmp_value_text(&row, num_or_nan(json_array_get(band, 0)), lo);
            cmp_value_text(&row, num_or_nan(json_array_get(band, 1)), hi);
            cmp_value_text(&row, num_or_nan(json_object_get(r, "now")), now);
            int reg = json_is_true(json_object_get(r, "regressed"));
            buf_reset(&want);
            buf_adds(&want, reg ? "<tr class=\"bad\"><td>" : "<tr><td>");
            buf_add_html(&want, jstr(r, "figure"));
            buf_addf(&want, "</td><td class=\"num\">%s</td><td class=\"num\">%s..%s</td><td class=\"num\">%s</td>"
                            "<td class=\"num\">", med, lo, hi, now);
            buf_add_html(&want, jstr(r, "change") ? jstr(r, "change") : "-");
            buf_adds(&want, "</td><td>");
            buf_add_html(&want, jstr(r, "significance") ? jstr(r, "significance") : "");
            buf_adds(&want, "</td><td>");
            if (reg) buf_adds(&want, "<span class=\"badge bad\">REGRESSION</span>");
            else buf_add_html(&want, jstr(r, "why") ? jstr(r, "why") : "");
            buf_adds(&want, "</td></tr>");
            ASSERT_CONTAINS(html, want.data);
        }
        buf_release(&want);
    }
    /* and no other row */
    const char *tables = strstr(html, "<section id=\"comparisons\">");
    ASSERT(tables != NULL);
    ASSERT_EQ_INT(th_count(tables, "</td></tr>"), (int)rows_seen);
    free(html);
    json_decref(suite);
}

/* ---- history file: written, read back, compared --------------------------------------- */
TEST_T(drill_history_flags_p95_regression, 120)
{
    struct testsrv *s = testsrv_must(NULL);
    write_load_plan("reads.yaml", "reads", testsrv_port(s));
    char out[16384];

    /* 1: every answer 40 ms late: the first run, nothing to compare with */
    testsrv_set_delay_ms(s, 40);
    int rc = fl(out, sizeof out, "drill reads.yaml -o runs/d1 --history hist.jsonl");
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    json_t *suite = json_load_file(tpath("runs/d1/suite.json"), 0, NULL);
    ASSERT(suite != NULL);
    const json_t *e1 = suite_exp(suite, 0);
    ASSERT_EQ_STR(jstr(e1, "experiment"), "reads");
    ASSERT_EQ_STR(jstr(e1, "verdict"), "passed");
    ASSERT(json_number_value(json_object_get(e1, "p95_ms")) >= 40);
    ASSERT(json_is_null(json_object_get(e1, "baseline")));
    ASSERT_EQ_INT(json_array_size(json_object_get(e1, "regressions")), 0);
    char first_time[64];
    snprintf(first_time, sizeof first_time, "%s", jstr(e1, "time"));
    json_decref(suite);
    /* the run's own reports are in DIR/<plan-name>/; run.json's latency histogram holds
     * every request the totals count (what compare's significance test reads) */
    json_t *run1 = json_load_file(tpath("runs/d1/reads/run.json"), 0, NULL);
    ASSERT(run1 != NULL);
    const json_t *tot1 = json_object_get(json_array_get(json_object_get(run1, "load"), 0), "totals");
    json_int_t in_hist = 0;
    for (size_t i = 0; i < json_array_size(json_object_get(tot1, "hist")); i++)
        in_hist += json_integer_value(json_array_get(json_array_get(json_object_get(tot1, "hist"), i), 1));
    ASSERT_EQ_INT(json_integer_value(json_object_get(tot1, "errors")), 0);
    ASSERT_EQ_INT(in_hist, json_integer_value(json_object_get(tot1, "count")));
    ASSERT(in_hist >= 400);
    json_decref(run1);

    /* 2: fast again: better than the baseline, no regression */
    testsrv_set_delay_ms(s, 0);
    rc = fl(out, sizeof out, "drill reads.yaml -o runs/d2 --history hist.jsonl");
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    suite = json_load_file(tpath("runs/d2/suite.json"), 0, NULL);
    const json_t *e2 = suite_exp(suite, 0);
    ASSERT_EQ_STR(jstr(json_object_get(e2, "baseline"), "time"), first_time);
    ASSERT_EQ_INT(json_array_size(json_object_get(e2, "regressions")), 0);
    ASSERT(json_number_value(json_object_get(e2, "p95_ms")) < 40);
    ASSERT_CONTAINS(out, "no regression against the last 1 run");
    char second_time[64];
    snprintf(second_time, sizeof second_time, "%s", jstr(e2, "time"));
    json_decref(suite);

    /* 3: 300 ms late: it still passes, but p95 regressed against the band of runs 1 and 2
     * (40 ms of delay reads 40-90 ms of p95 on a busy machine; 300 ms is far past that): exit 1 */
    testsrv_set_delay_ms(s, 300);
    rc = fl(out, sizeof out, "drill reads.yaml -o runs/d3 --history hist.jsonl");
    ASSERT_MSG(rc == 1, "a regression exits 1, got %d\n%s", rc, out);
    ASSERT_CONTAINS(out, "REGRESSION: load 'reads' p95");
    suite = json_load_file(tpath("runs/d3/suite.json"), 0, NULL);
    const json_t *e3 = suite_exp(suite, 0);
    ASSERT_EQ_STR(jstr(e3, "verdict"), "passed");
    ASSERT_EQ_STR(jstr(json_object_get(e3, "baseline"), "time"), second_time);
    const json_t *regs = json_object_get(e3, "regressions");
    ASSERT(json_array_size(regs) >= 1);
    ASSERT_EQ_STR(jstr(json_array_get(regs, 0), "metric"), "p95");
    ASSERT_EQ_STR(jstr(json_array_get(regs, 0), "figure"), "load 'reads' p95");
    ASSERT(json_number_value(json_object_get(json_array_get(regs, 0), "current")) >= 300);
    ASSERT_CONTAINS(jstr(json_array_get(regs, 0), "significance"), "99% CI ");
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(e3, "baseline"), "runs")), 2);
    json_decref(suite);
    /* the console and suite.md name the worst regression on the experiment's one line; suite.md
     * then has a table of every judged figure against the band */
    ASSERT_CONTAINS(out, "REGRESSION: load 'reads' p95 ");
    ASSERT_CONTAINS(out, " more)");
    char *md = slurp(tpath("runs/d3/suite.md"));
    ASSERT_CONTAINS(md, "REGRESSION: load 'reads' p95");
    ASSERT_CONTAINS(md, "### reads against the last 2 passing runs\n\n| figure | baseline (median) | band | now | change | significance | status |");
    ASSERT_CONTAINS(md, "| load 'reads' p95 | ");
    ASSERT_CONTAINS(md, "| 99% CI ");
    ASSERT_CONTAINS(md, "| **REGRESSION** |");
    assert_suite_html("runs/d3");
    ASSERT_CONTAINS(slurp(tpath("runs/d3/suite.html")), "<td>REGRESSION: load &#39;reads&#39; p95 ");
    char *x = slurp(tpath("runs/d3/suite.junit.xml"));
    ASSERT(x != NULL);
    ASSERT_CONTAINS(x, "<failure type=\"regression\" message=\"load &#39;reads&#39; p95 ");
    ASSERT_CONTAINS(x, "<testsuite name=\"reads\"");

    /* the history holds the three runs in order, read back from the file */
    json_t *lines = jsonl_lines(tpath("hist.jsonl"));
    ASSERT_EQ_INT(json_array_size(lines), 3);
    ASSERT_EQ_STR(jstr(json_array_get(lines, 0), "time"), first_time);
    ASSERT(json_array_size(json_object_get(json_array_get(lines, 2), "regressions")) >= 1);
    json_decref(lines);

    /* the last passing run is run 2 (run 3 regressed), through the library too */
    char err[FL_ERR_LEN];
    struct history *h = history_open(tpath("hist.jsonl"), err);
    ASSERT_MSG(h != NULL, "%s", err);
    json_t *base = NULL;
    ASSERT_EQ_INT(history_last_passing(h, "reads", &base, err), 0);
    ASSERT(base != NULL);
    ASSERT_EQ_STR(jstr(base, "time"), second_time);
    json_decref(base);
    json_t *all = history_read(h, "reads", err);
    ASSERT_EQ_INT(json_array_size(all), 3);
    json_decref(all);
    history_close(h);

    /* faultline history prints the trend */
    rc = fl(out, sizeof out, "history --plan reads --history hist.jsonl");
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    ASSERT_CONTAINS(out, "3 runs of 'reads'");
    ASSERT_CONTAINS(out, first_time);
    ASSERT_CONTAINS(out, "back ");
    ASSERT_CONTAINS(out, "REGRESSION: load 'reads' p95");
    /* ... and each figure's trend with the band of the newest run's baseline */
    ASSERT_CONTAINS(out, "'reads': the last 3 runs, oldest first; the band of the newest one's baseline (2 passing runs)\n");
    ASSERT_CONTAINS(out, "\n  load 'reads' p95 ");
    ASSERT_CONTAINS(out, "   band ");
    ASSERT_CONTAINS(out, "REGRESSION\n");
    rc = fl(out, sizeof out, "history --plan nothing-here --history hist.jsonl");
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "no runs of 'nothing-here' recorded");
    testsrv_stop(s);
}

/* ---- a suite from a folder ------------------------------------------------------------ */
TEST_T(drill_suite_from_folder, 90)
{
    struct testsrv *s = testsrv_must(NULL);
    ASSERT_EQ_INT(th_sh(NULL, 0, "mkdir -p '%s/suite'", th_tmpdir()), 0);
    write_load_plan("suite/20-reads.yaml", "reads", testsrv_port(s));
    char plan[1024];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: broken-status\nduration: 1s\n"
             "method:\n  - { name: blip, at: 200ms, for: 300ms, fault: exec, run: \"true\" }\n"
             "probes:\n  - { name: wants-204, after: blip, http: { url: \"http://127.0.0.1:%d/status?code=500\", status: 204 } }\n",
             testsrv_port(s));
    th_write_file(tpath("suite/10-broken.yaml"), plan);
    th_write_file(tpath("suite/notes.txt"), "not a plan\n");
    char out[16384];
    int rc = fl(out, sizeof out, "drill suite -o runs/d");
    ASSERT_MSG(rc == 1, "one experiment fails: exit 1, got %d\n%s", rc, out);
    json_t *suite = json_load_file(tpath("runs/d/suite.json"), 0, NULL);
    ASSERT(suite != NULL);
    /* sorted by file name: 10-broken first */
    ASSERT_EQ_INT(json_array_size(json_object_get(suite, "experiments")), 2);
    ASSERT_EQ_STR(jstr(suite_exp(suite, 0), "experiment"), "broken-status");
    ASSERT_EQ_STR(jstr(suite_exp(suite, 0), "verdict"), "failed");
    ASSERT_CONTAINS(jstr(suite_exp(suite, 0), "why"), "probe 'wants-204' failed");
    ASSERT_EQ_STR(jstr(suite_exp(suite, 1), "experiment"), "reads");
    ASSERT_EQ_STR(jstr(suite_exp(suite, 1), "verdict"), "passed");
    ASSERT_EQ_INT(json_integer_value(json_object_get(suite, "exit_code")), 1);
    json_decref(suite);
    /* each report in its own folder; the probe really hit the server */
    json_t *r = json_load_file(tpath("runs/d/broken-status/run.json"), 0, NULL);
    ASSERT(r != NULL);
    ASSERT_EQ_STR(jstr(r, "verdict"), "failed");
    json_decref(r);
    ASSERT(testsrv_hits(s, "/status") >= 1);
    ASSERT(access(tpath("runs/d/reads/summary.md"), F_OK) == 0);

    /* the suite JUnit: one testsuite per experiment, totals that add up */
    char *x = slurp(tpath("runs/d/suite.junit.xml"));
    ASSERT(x != NULL);
    ASSERT_CONTAINS(x, "<testsuites name=\"faultline drill\"");
    ASSERT_CONTAINS(x, "<testsuite name=\"broken-status\"");
    ASSERT_CONTAINS(x, "<testsuite name=\"reads\"");
    ASSERT_CONTAINS(x, "wants-204");
    int open = 0, close = 0;
    for (const char *p = x; (p = strstr(p, "<testsuite ")); p++) open++;
    for (const char *p = x; (p = strstr(p, "</testsuite>")); p++) close++;
    ASSERT_EQ_INT(open, 2);
    ASSERT_EQ_INT(close, 2);
    long tests = 0, sum = 0, failures = 0;
    ASSERT(sscanf(strstr(x, "<testsuites "), "<testsuites name=\"faultline drill\" tests=\"%ld\" failures=\"%ld\"", &tests, &failures) == 2);
    for (const char *p = x; (p = strstr(p, "<testsuite name=")); p++) {
        const char *t = strstr(p, " tests=\"");
        sum += strtol(t + 8, NULL, 10);
    }
    ASSERT_EQ_INT(tests, sum);
    ASSERT(failures >= 1);
    char *md = slurp(tpath("runs/d/suite.md"));
    ASSERT_CONTAINS(md, "| experiment | verdict | p95 | worst p95 | error rate | recovery | vs last passing run | report |");
    ASSERT_CONTAINS(md, "| broken-status | failed |");
    ASSERT_CONTAINS(md, "| reads | passed |");

    /* one invalid plan: exit 2 and nothing runs */
    th_write_file(tpath("suite/30-bad.yaml"), "faultline: 1\nname: Bad Name\n");
    rc = fl(out, sizeof out, "drill suite -o runs/e");
    ASSERT_MSG(rc == 2, "exit %d\n%s", rc, out);
    ASSERT_CONTAINS(out, "nothing was run");
    ASSERT(access(tpath("runs/e"), F_OK) != 0);
    testsrv_stop(s);
}

/* ---- a matrix plan in a drill: one history entry per combination ---------------------- */
TEST_T(drill_matrix_rows_are_experiments, 60)
{
    struct testsrv *s = testsrv_must(NULL);
    int p1 = th_free_port(), p2 = th_free_port();
    char plan[2048];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: pair\nduration: 1500ms\n"
             "targets:\n"
             "  a: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "  b: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "matrix: { lose: [a, b], choose: 1 }\n"
             "method:\n  - { at: 300ms, for: 500ms, fault: proxy.down, target: \"${lose}\" }\n"
             "probes:\n  - { name: b-answers, http: { url: \"http://127.0.0.1:%d/ok\" } }\n",
             p1, testsrv_port(s), p2, testsrv_port(s), p2);
    th_write_file(tpath("pair.yaml"), plan);
    char out[16384];
    int rc = fl(out, sizeof out, "drill pair.yaml -o runs/m --history h.jsonl");
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    ASSERT_CONTAINS(out, "pair: N-1 holds");
    json_t *lines = jsonl_lines(tpath("h.jsonl"));
    ASSERT_EQ_INT(json_array_size(lines), 2);
    ASSERT_EQ_STR(jstr(json_array_get(lines, 0), "experiment"), "pair/lose-a");
    ASSERT_EQ_STR(jstr(json_array_get(lines, 1), "experiment"), "pair/lose-b");
    ASSERT_EQ_STR(jstr(json_array_get(lines, 1), "plan"), "pair");
    json_decref(lines);
    ASSERT(access(tpath("runs/m/pair/matrix.json"), F_OK) == 0);
    ASSERT(access(tpath("runs/m/pair/lose-b/run.json"), F_OK) == 0);
    char *x = slurp(tpath("runs/m/suite.junit.xml"));
    ASSERT_CONTAINS(x, "<testsuite name=\"pair/lose-a\"");
    ASSERT_CONTAINS(x, "<testsuite name=\"pair/lose-b\"");
    ASSERT_CONTAINS(slurp(tpath("runs/m/suite.md")), "**pair**: N-1 holds");
    testsrv_stop(s);
}

/* ---- the lock ------------------------------------------------------------------------- */
TEST_T(drill_lock_refuses_a_second_drill, 60)
{
    th_write_file(tpath("slow.yaml"),
               "faultline: 1\nname: slow\nduration: 3s\nmethod:\n  - { at: 200ms, for: 2s, fault: exec, run: \"true\" }\n");
    const char *d = th_tmpdir();
    /* the first drill in the background */
    th_sh(NULL, 0, "cd '%s' && ( FAULTLINE_JOURNAL='%s/j1.jsonl' '%s' drill slow.yaml -o runs/one > one.log 2>&1; echo $? > one.rc ) >/dev/null 2>&1 &",
          d, d, th_faultline());
    /* wait until it holds the lock (it writes its pid there once it does) */
    char *pid = NULL;
    for (int i = 0; i < 100; i++) {
        pid = slurp(tpath("runs/.faultline-drill.lock"));
        if (pid && atoi(pid) > 0) break;
        usleep(50000);
    }
    ASSERT_MSG(pid && atoi(pid) > 0, "the first drill never took the lock");
    char holder[32];
    snprintf(holder, sizeof holder, "(pid %d)", atoi(pid));
    char out[8192];
    int rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL='%s/j2.jsonl' '%s' drill slow.yaml -o runs/two 2>&1", d, d,
                   th_faultline());
    ASSERT_MSG(rc == 2, "the second drill must refuse: exit %d\n%s", rc, out);
    ASSERT_CONTAINS(out, "another drill holds the lock 'runs/.faultline-drill.lock'");
    ASSERT_CONTAINS(out, holder);
    ASSERT(access(tpath("runs/two"), F_OK) != 0);
    /* a lock held by someone else (flock from here) refuses too, with --lock */
    int fd = open(tpath("other.lock"), O_RDWR | O_CREAT, 0644);
    ASSERT(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' drill slow.yaml -o elsewhere --lock other.lock 2>&1", d, th_faultline());
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "another drill holds the lock 'other.lock'");
    close(fd);
    /* the first one finishes normally, and then the lock is free again */
    char *r1 = NULL;
    for (int i = 0; i < 200; i++) {
        r1 = slurp(tpath("one.rc"));
        if (r1 && *r1) break;
        usleep(50000);
    }
    ASSERT_MSG(r1 && *r1, "the first drill did not finish");
    ASSERT_EQ_INT(atoi(r1), 0);
    th_write_file(tpath("quick.yaml"), "faultline: 1\nname: quick\nduration: 300ms\nmethod:\n  - { at: 100ms, fault: exec, run: \"true\" }\n");
    rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL='%s/j3.jsonl' '%s' drill quick.yaml -o runs/three 2>&1", d, d,
               th_faultline());
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
}

/* ---- the PostgreSQL history ----------------------------------------------------------- */
TEST_T(drill_history_in_postgresql, 90)
{
    const char *dsn = th_pg_dsn();
    struct testsrv *s = testsrv_must(NULL);
    /* a name of its own: the table is shared with earlier runs of the tests */
    char name[64], url[256], out[16384];
    snprintf(name, sizeof name, "pg-hist-%d", (int)getpid());
    write_load_plan("pg.yaml", name, testsrv_port(s));
    /* trust authentication ignores the password; it must never be printed */
    snprintf(url, sizeof url, "postgresql://postgres:s3cret-pw@127.0.0.1:%d/postgres", th_pg_port());

    int rc = fl(out, sizeof out, "drill pg.yaml -o runs/p1 --history '%s'", url);
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    testsrv_set_delay_ms(s, 200);
    rc = fl(out, sizeof out, "drill pg.yaml -o runs/p2 --history '%s'", url);
    ASSERT_MSG(rc == 1, "regression: exit 1, got %d\n%s", rc, out);
    ASSERT_CONTAINS(out, "REGRESSION: load 'reads' p95");
    ASSERT(!strstr(out, "s3cret-pw"));
    ASSERT_CONTAINS(out, "postgresql://postgres:***@127.0.0.1");
    ASSERT(!strstr(slurp(tpath("runs/p2/suite.json")), "s3cret-pw"));

    /* the rows, read with libpq */
    PGconn *c = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    const char *params[1] = { name };
    PGresult *r = PQexecParams(c, "select verdict, regressed, p95_ms, entry->>'experiment' from faultline_history where plan = $1 order by id",
                               1, NULL, params, NULL, NULL, 0);
    ASSERT_MSG(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    ASSERT_EQ_INT(PQntuples(r), 2);
    ASSERT_EQ_STR(PQgetvalue(r, 0, 0), "passed");
    ASSERT_EQ_STR(PQgetvalue(r, 0, 1), "f");
    ASSERT_EQ_STR(PQgetvalue(r, 1, 1), "t");
    ASSERT(atof(PQgetvalue(r, 1, 2)) >= 200);
    ASSERT_EQ_STR(PQgetvalue(r, 1, 3), name);
    PQclear(r);
    PQfinish(c);

    /* read back through faultline history */
    rc = fl(out, sizeof out, "history --plan %s --history '%s'", name, url);
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    ASSERT_CONTAINS(out, "2 runs of '");
    ASSERT_CONTAINS(out, "REGRESSION: load 'reads' p95");
    ASSERT(!strstr(out, "s3cret-pw"));
    /* an unreachable database is refused before anything runs */
    rc = fl(out, sizeof out, "drill pg.yaml -o runs/p3 --history 'postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2'");
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "cannot open the history");
    ASSERT(access(tpath("runs/p3"), F_OK) != 0);
    testsrv_stop(s);
}

/* ---- the compare rules ---------------------------------------------------------------- */
/* an entry as the drill makes it: the digest of a run record (NAN recovery = not recovered);
 * 2000 requests of latency scale ms, 10 seconds at rps (+-3%) */
static json_t *entry_with(double scale, double rps, double recovery, double elapsed)
{
    json_t *series = json_array();
    for (int t = 0; t < 10; t++) json_array_append_new(series, json_pack("{s:i, s:f}", "t", t, "rps", rps * (t % 2 ? 1.03 : 0.97)));
    json_t *run = json_pack("{s:i, s:{s:s, s:s}, s:s, s:f, s:[{s:s, s:{s:f}, s:o}],"
                            " s:[{s:s, s:s, s:[{s:b, s:o}]}, {s:s, s:s}]}",
                            "format", 1, "plan", "name", "x", "hash", "fnv1a64:1", "verdict", "passed", "elapsed_ms", elapsed,
                            "load", "name", "reads", "totals", "rps", rps, "series", series,
                            "probes", "name", "back", "kind", "recovery", "observations", "ok", isfinite(recovery),
                            "value", isfinite(recovery) ? json_real(recovery) : json_null(),
                            "name", "other", "kind", "http");
    ASSERT(run != NULL);
    lfx_latency(json_object_get(json_array_get(json_object_get(run, "load"), 0), "totals"), 2000, scale, 0);
    json_t *d = history_digest(run);
    json_decref(run);
    /* the digest keeps what compare judges (histograms, per-second throughput) and drops the bulk */
    const json_t *blk = json_array_get(json_object_get(d, "load"), 0);
    ASSERT(json_object_get(blk, "series") == NULL);
    ASSERT_EQ_INT(json_array_size(json_object_get(blk, "series_rps")), 10);
    ASSERT(json_array_size(json_object_get(json_object_get(blk, "totals"), "hist")) > 10);
    ASSERT_EQ_INT(json_array_size(json_object_get(d, "probes")), 1);
    return json_pack("{s:s, s:s, s:o}", "experiment", "x", "verdict", "passed", "record", d);
}

static int has_metric(const json_t *f, const char *metric)
{
    for (size_t i = 0; i < json_array_size(f); i++)
        if (!strcmp(jstr(json_array_get(f, i), "metric"), metric)) return 1;
    return 0;
}

TEST(drill_compare_rules)
{
    struct cmp_rules r;
    cmp_rules_default(&r);
    json_t *base = entry_with(10.0, 100.0, 500.0, 2000.0);
    /* within 10%: nothing */
    json_t *cur = entry_with(10.5, 95.0, 549.0, 2100.0);
    json_t *f = history_compare(base, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 0);
    json_decref(f);
    json_decref(cur);
    /* past it on p95 and throughput (significant: 2000 requests, 10 steady seconds); the
     * recovery too, but one value a run is not tested against one run */
    cur = entry_with(11.5, 85.0, 700.0, 2100.0);
    f = history_compare(base, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 2);
    ASSERT(has_metric(f, "p95") && has_metric(f, "throughput"));
    ASSERT_CONTAINS(jstr(json_array_get(f, 0), "text"), "load 'reads' p95 ");
    ASSERT_CONTAINS(jstr(json_array_get(f, 0), "significance"), "99% CI ");
    ASSERT(json_number_value(json_object_get(json_array_get(f, 0), "change")) > 0.13);
    json_decref(f);
    /* rules can be loosened */
    r.p95 = 0.20;
    r.throughput = 0.20;
    f = history_compare(base, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 0);
    json_decref(f);
    json_decref(cur);
    /* against a band of three runs the recovery is tested: 700 ms is beyond 520 ms + 10% */
    cmp_rules_default(&r);
    json_t *bases = json_pack("[o, o, o]", entry_with(10.0, 100.0, 500.0, 2000.0), entry_with(10.2, 100.0, 520.0, 2000.0),
                              entry_with(9.9, 100.0, 480.0, 2000.0));
    cur = entry_with(10.0, 100.0, 700.0, 2000.0);
    json_t *rows = NULL;
    f = history_compare_baseline(bases, cur, &r, &rows);
    ASSERT_EQ_INT(json_array_size(f), 1);
    ASSERT_EQ_STR(jstr(json_array_get(f, 0), "text"), "recovery 'back' 520ms -> 700ms (+34.6%)");
    ASSERT_EQ_STR(jstr(json_array_get(f, 0), "significance"), "outside the band of 3 runs");
    ASSERT(json_array_size(rows) >= 4);
    json_decref(rows);
    json_decref(f);
    json_decref(cur);
    json_decref(bases);
    /* a recovery that no longer happens */
    json_t *b2 = entry_with(0.5, 100.0, 500.0, 2000.0);
    cur = entry_with(0.5, 100.0, NAN, 2000.0);
    f = history_compare(b2, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 1);
    ASSERT_EQ_STR(jstr(json_array_get(f, 0), "text"), "recovery 'back': no longer recovers (was 500ms)");
    json_decref(f);
    /* no baseline, or no record: nothing to flag */
    f = history_compare(NULL, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 0);
    json_decref(f);
    json_t *bare = json_pack("{s:s}", "experiment", "x");
    f = history_compare(bare, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 0);
    json_decref(f);
    json_decref(bare);
    json_decref(cur);
    json_decref(b2);
    json_decref(base);
}

/* ---- too few requests: said, neither a regression nor a pass ---------------------------- */
TEST_T(drill_too_few_requests_is_said, 60)
{
    struct testsrv *s = testsrv_start(0);
    ASSERT(s != NULL);
    char plan[1024], out[16384];
    /* one user, 50 ms apart, 1 s: about 20 requests, and the second drill 50x slower */
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: few\nduration: 1s\n"
             "load:\n  - { name: trickle, base_url: \"http://127.0.0.1:%d\", requests: [ { path: /ok } ], vus: 1, think: 50ms, timeout: 3s }\n"
             "method:\n  - { name: noop, at: 200ms, fault: exec, run: \"true\" }\n", testsrv_port(s));
    th_write_file(tpath("few.yaml"), plan);
    /* a baseline of no runs is refused before anything runs */
    int rc = fl(out, sizeof out, "drill few.yaml -o runs/f0 --history few.jsonl --baseline 0");
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "faultline drill: --baseline '0': give a number of runs from 1 to 100");
    ASSERT(access(tpath("runs/f0"), F_OK) != 0);
    rc = fl(out, sizeof out, "drill few.yaml -o runs/f1 --history few.jsonl --baseline 3");
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    testsrv_set_delay_ms(s, 100);
    rc = fl(out, sizeof out, "drill few.yaml -o runs/f2 --history few.jsonl");
    ASSERT_MSG(rc == 0, "too few requests is no regression: exit %d\n%s", rc, out);
    ASSERT(!strstr(out, "REGRESSION"));
    ASSERT_CONTAINS(out, "no regression against the last 1 run; 2 figures with too few requests to compare");
    json_t *suite = json_load_file(tpath("runs/f2/suite.json"), 0, NULL);
    ASSERT(suite != NULL);
    const json_t *e = suite_exp(suite, 0), *rows = json_object_get(e, "comparison");
    ASSERT_EQ_INT(json_array_size(json_object_get(e, "regressions")), 0);
    int few = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (strstr(jstr(json_array_get(rows, i), "figure"), "p95")) {
            ASSERT_EQ_STR(jstr(json_array_get(rows, i), "status"), "too few requests");
            ASSERT_CONTAINS(jstr(json_array_get(rows, i), "significance"), "needs 400 requests a run, has ");
            few++;
        }
    ASSERT_EQ_INT(few, 2);
    /* JUnit: the regression check is skipped, saying why, not passed */
    ASSERT_CONTAINS(slurp(tpath("runs/f2/suite.junit.xml")), "<skipped message=\"2 figures with too few requests to compare\"/>");
    ASSERT_CONTAINS(slurp(tpath("runs/f2/suite.md")), "| too few requests to compare |");
    assert_suite_html("runs/f2");
    /* every figure with too few requests says so in its row (the p95s and any other) */
    int few_rows = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        few_rows += !strcmp(jstr(json_array_get(rows, i), "status"), "too few requests");
    ASSERT_MSG(few_rows >= 2, "%d rows with too few requests", few_rows);
    ASSERT_EQ_INT(th_count(slurp(tpath("runs/f2/suite.html")), "</td><td>too few requests to compare</td></tr>"), few_rows);
    ASSERT_CONTAINS(out, "runs/f2/suite.html");
    json_decref(suite);
    testsrv_stop(s);
}

/* the baseline of several runs: the newest K clean passes, oldest first, in both stores */
static void baseline_from(const char *where, const char *exp)
{
    char err[FL_ERR_LEN];
    struct history *h = history_open(where, err);
    ASSERT_MSG(h != NULL, "%s", err);
    /* eight runs: 1..8; run 4 failed, run 6 regressed */
    for (int i = 1; i <= 8; i++) {
        char t[32];
        snprintf(t, sizeof t, "2026-02-0%dT00:00:00Z", i);
        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:o}", "time", t, "plan", exp, "experiment", exp, "verdict",
                              i == 4 ? "failed" : "passed", "exit_code", i == 4, "p95_ms", (double)i, "regressions",
                              i == 6 ? json_pack("[{s:s}]", "text", "x") : json_array());
        ASSERT_MSG(history_append(h, e, err) == 0, "%s", err);
        json_decref(e);
    }
    json_t *b = history_baseline(h, exp, 5, err);
    ASSERT_MSG(b != NULL, "%s", err);
    static const int want[5] = { 2, 3, 5, 7, 8 };
    ASSERT_EQ_INT(json_array_size(b), 5);
    for (int i = 0; i < 5; i++) ASSERT_EQ_INT((int)json_number_value(json_object_get(json_array_get(b, i), "p95_ms")), want[i]);
    json_decref(b);
    b = history_baseline(h, exp, 100, err);
    ASSERT_EQ_INT(json_array_size(b), 6);
    json_decref(b);
    b = history_baseline(h, "no-such-experiment", 5, err);
    ASSERT(b != NULL);
    ASSERT_EQ_INT(json_array_size(b), 0);
    json_decref(b);
    history_close(h);
}

TEST(drill_history_baseline_of_several_runs_in_both_stores)
{
    baseline_from(tpath("base.jsonl"), "band");
    char url[256], exp[64];
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%d/postgres", th_pg_port());
    snprintf(exp, sizeof exp, "band-%d", (int)getpid());   /* the table is shared with earlier runs */
    th_pg_dsn();
    baseline_from(url, exp);
}

TEST(drill_history_file_skips_torn_lines)
{
    fl_log_level = FL_LOG_ERROR; /* the skipped line is reported as a warning */
    /* a crash mid-append leaves half a line: reading skips it and keeps the rest */
    th_write_file(tpath("h.jsonl"),
               "{\"time\":\"2026-01-01T00:00:00Z\",\"plan\":\"a\",\"experiment\":\"a\",\"verdict\":\"passed\",\"p95_ms\":5}\n"
               "{\"time\":\"2026-01-02T00:00:00Z\",\"plan\":\"a\",\"exper\n"
               "{\"time\":\"2026-01-03T00:00:00Z\",\"plan\":\"b\",\"experiment\":\"b\",\"verdict\":\"failed\"}\n");
    char err[FL_ERR_LEN];
    struct history *h = history_open(tpath("h.jsonl"), err);
    ASSERT(h != NULL);
    json_t *all = history_read(h, NULL, err);
    ASSERT_EQ_INT(json_array_size(all), 2);
    json_decref(all);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:f, s:[]}", "time", "2026-01-04T00:00:00Z", "plan", "a", "experiment", "a",
                          "verdict", "passed", "p95_ms", 6.0, "regressions");
    ASSERT_EQ_INT(history_append(h, e, err), 0);
    json_decref(e);
    json_t *base = NULL;
    ASSERT_EQ_INT(history_last_passing(h, "a", &base, err), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(base, "time")), "2026-01-04T00:00:00Z");
    json_decref(base);
    ASSERT_EQ_INT(history_last_passing(h, "b", &base, err), 0);
    ASSERT(base == NULL);
    all = history_read(h, "a", err);
    ASSERT_EQ_INT(json_array_size(all), 2);
    json_decref(all);
    history_close(h);
    /* a history in a folder that cannot exist */
    h = history_open("/proc/nope/h.jsonl", err);
    ASSERT(h != NULL);
    e = json_object();
    ASSERT_EQ_INT(history_append(h, e, err), -1);
    ASSERT_CONTAINS(err, "/proc/nope/h.jsonl");
    json_decref(e);
    history_close(h);
}
