/* test_drill.c -- `faultline drill` and `faultline history` end to end against a real HTTP
 * server: suites from a folder, suite JUnit/Markdown, the history (JSON lines and the real
 * PostgreSQL) read back and compared (a p95 regression crafted with testsrv's delay knob),
 * and the drill lock. Also the compare rules on recorded entries. */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "harness.h"
#include "compare.h"
#include "history.h"
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
             "load:\n  - { name: reads, base_url: \"${base}\", requests: [ { path: /ok } ], vus: 2, think: 20ms, timeout: 3s }\n"
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
    /* the run's own reports are in DIR/<plan-name>/ */
    ASSERT(access(tpath("runs/d1/reads/run.json"), F_OK) == 0);

    /* 2: fast again: better than the baseline, no regression */
    testsrv_set_delay_ms(s, 0);
    rc = fl(out, sizeof out, "drill reads.yaml -o runs/d2 --history hist.jsonl");
    ASSERT_MSG(rc == 0, "exit %d\n%s", rc, out);
    suite = json_load_file(tpath("runs/d2/suite.json"), 0, NULL);
    const json_t *e2 = suite_exp(suite, 0);
    ASSERT_EQ_STR(jstr(json_object_get(e2, "baseline"), "time"), first_time);
    ASSERT_EQ_INT(json_array_size(json_object_get(e2, "regressions")), 0);
    ASSERT(json_number_value(json_object_get(e2, "p95_ms")) < 40);
    char second_time[64];
    snprintf(second_time, sizeof second_time, "%s", jstr(e2, "time"));
    json_decref(suite);

    /* 3: 80 ms late: it still passes, but p95 regressed against run 2: exit 1 */
    testsrv_set_delay_ms(s, 80);
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
    ASSERT(json_number_value(json_object_get(json_array_get(regs, 0), "current")) >= 80);
    json_decref(suite);
    ASSERT_CONTAINS(slurp(tpath("runs/d3/suite.md")), "REGRESSION: load 'reads' p95");
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
    testsrv_set_delay_ms(s, 60);
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
    ASSERT(atof(PQgetvalue(r, 1, 2)) >= 60);
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
/* an entry as the drill makes it: the digest of a run record (NAN recovery = not recovered) */
static json_t *entry_with(double p95, double rps, double recovery, double elapsed)
{
    json_t *run = json_pack("{s:i, s:{s:s, s:s}, s:s, s:f, s:[{s:s, s:{s:f, s:f, s:i}, s:[{s:i}]}],"
                            " s:[{s:s, s:s, s:[{s:b, s:o}]}, {s:s, s:s}]}",
                            "format", 1, "plan", "name", "x", "hash", "fnv1a64:1", "verdict", "passed", "elapsed_ms", elapsed,
                            "load", "name", "reads", "totals", "p95", p95, "rps", rps, "count", 100, "series", "t", 0,
                            "probes", "name", "back", "kind", "recovery", "observations", "ok", isfinite(recovery),
                            "value", isfinite(recovery) ? json_real(recovery) : json_null(),
                            "name", "other", "kind", "http");
    ASSERT(run != NULL);
    json_t *d = history_digest(run);
    json_decref(run);
    /* the digest keeps what compare judges and drops the bulk */
    ASSERT(json_object_get(json_array_get(json_object_get(d, "load"), 0), "series") == NULL);
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
    json_t *cur = entry_with(10.9, 91.0, 549.0, 2100.0);
    json_t *f = history_compare(base, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 0);
    json_decref(f);
    json_decref(cur);
    /* past it on p95, throughput and the recovery */
    cur = entry_with(11.5, 85.0, 700.0, 2100.0);
    f = history_compare(base, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 3);
    ASSERT(has_metric(f, "p95") && has_metric(f, "throughput") && has_metric(f, "duration"));
    ASSERT_EQ_STR(jstr(json_array_get(f, 0), "text"), "load 'reads' p95 10.0ms -> 11.5ms (+15%)");
    ASSERT_NEAR(json_number_value(json_object_get(json_array_get(f, 0), "change")), 0.15, 1e-9);
    json_decref(f);
    /* rules can be loosened */
    r.p95 = 0.20;
    r.throughput = 0.20;
    r.duration = 0.50;
    f = history_compare(base, cur, &r);
    ASSERT_EQ_INT(json_array_size(f), 0);
    json_decref(f);
    json_decref(cur);
    /* a recovery that no longer happens; a sub-millisecond p95 wobble is noise */
    cmp_rules_default(&r);
    json_t *b2 = entry_with(0.5, 100.0, 500.0, 2000.0);
    cur = entry_with(0.9, 100.0, NAN, 2000.0);
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
