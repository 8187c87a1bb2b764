/* suite.c -- the summary of a drill: suite.junit.xml and suite.md (see suite.h). */
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "figures.h"
#include "fl.h"
#include "md.h"
#include "report.h"
#include "report_fmt.h"

/* ---- suite.junit.xml ------------------------------------------------------------------ */
static void xml_attr(struct buf *b, const char *s) { buf_add_html(b, s ? s : ""); }

/* the regression testcase of an experiment compared with the history (none without one) */
static void regression_case(struct buf *cases, const json_t *e, struct report_junit_counts *n)
{
    if (!json_object_get(e, "regressions")) return;
    const char *exp = report_jstr(e, "experiment", "?");
    buf_adds(cases, "    <testcase classname=\"");
    xml_attr(cases, exp);
    buf_adds(cases, ".drill\" name=\"no regression against the last passing run\" time=\"0.000\"");
    n->tests++;
    const json_t *regs = json_object_get(e, "regressions");
    if (json_array_size(regs)) {
        struct buf msg;
        buf_init(&msg, 8192);
        for (size_t i = 0; i < json_array_size(regs); i++)
            buf_addf(&msg, "%s%s", i ? "; " : "", report_jstr(json_array_get(regs, i), "text", "?"));
        const char *btime = report_jstr(json_object_get(e, "baseline"), "time", "?");
        buf_adds(cases, ">\n      <failure type=\"regression\" message=\"");
        xml_attr(cases, msg.data);
        buf_adds(cases, " (compared with the run of ");
        xml_attr(cases, btime);
        buf_adds(cases, ")\"/>\n    </testcase>\n");
        buf_release(&msg);
        n->failures++;
    } else if (!json_object_get(e, "baseline") || json_is_null(json_object_get(e, "baseline"))) {
        buf_adds(cases, ">\n      <skipped message=\"no earlier passing run to compare with\"/>\n    </testcase>\n");
        n->skipped++;
    } else {
        buf_adds(cases, "/>\n");
    }
}

/* the experiment's run record; NULL when it has none (not run, or its plan was invalid) */
static json_t *run_of(const json_t *e)
{
    if (!strcmp(report_jstr(e, "verdict", ""), "not_run")) return NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/run.json", report_jstr(e, "report", "."));
    json_t *run = json_load_file(path, 0, NULL);
    if (run && !json_is_object(run)) { json_decref(run); run = NULL; }
    return run;
}

/* an experiment without a record: one testcase of its verdict */
static void lone_suite(const json_t *e, const struct buf *extra, const struct report_junit_counts *xn, struct buf *out,
                       struct report_junit_counts *tot)
{
    const char *exp = report_jstr(e, "experiment", "?");
    const char *v = report_jstr(e, "verdict", "?");
    long failures = !strcmp(v, "failed"), errors = strcmp(v, "passed") && !failures;
    buf_adds(out, "  <testsuite name=\"");
    xml_attr(out, exp);
    buf_addf(out, "\" tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\" time=\"0.000\">", 1 + xn->tests,
             failures + xn->failures, errors + xn->errors, xn->skipped);
    buf_adds(out, "\n    <testcase classname=\"");
    xml_attr(out, exp);
    buf_adds(out, "\" name=\"experiment\" time=\"0.000\"");
    if (!strcmp(v, "passed")) buf_adds(out, "/>\n");
    else {
        buf_addf(out, ">\n      <%s type=\"", failures ? "failure" : "error");
        xml_attr(out, v);
        buf_adds(out, "\" message=\"");
        char *msg = fl_asprintf("expected the experiment to pass; observed verdict %s (exit %lld)%s%s", v,
                                (long long)json_integer_value(json_object_get(e, "exit_code")),
                                report_jstr(e, "why", "")[0] ? ": " : "", report_jstr(e, "why", ""));
        xml_attr(out, msg);
        free(msg);
        buf_adds(out, "\"/>\n    </testcase>\n");
    }
    buf_add(out, extra->data, extra->len);
    buf_adds(out, "  </testsuite>\n");
    tot->tests += 1 + xn->tests;
    tot->failures += failures + xn->failures;
    tot->errors += errors + xn->errors;
    tot->skipped += xn->skipped;
}

int report_suite_junit(const json_t *suite, const char *path, char *err)
{
    const json_t *exps = json_object_get(suite, "experiments");
    struct buf body, out;
    buf_init(&body, 0);
    buf_init(&out, 0);
    struct report_junit_counts tot = { 0 };
    for (size_t i = 0; i < json_array_size(exps); i++) {
        const json_t *e = json_array_get(exps, i);
        struct buf extra;
        buf_init(&extra, 0);
        struct report_junit_counts xn = { 0 };
        regression_case(&extra, e, &xn);
        json_t *run = run_of(e);
        if (run) report_junit_testsuite(run, report_jstr(e, "experiment", "?"), extra.data, &xn, &body, &tot);
        else lone_suite(e, &extra, &xn, &body, &tot);
        json_decref(run);
        buf_release(&extra);
    }
    buf_adds(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    buf_addf(&out, "<testsuites name=\"faultline drill\" tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\" time=\"%.3f\">\n",
             tot.tests, tot.failures, tot.errors, tot.skipped, tot.time);
    buf_add(&out, body.data, body.len);
    buf_adds(&out, "</testsuites>\n");
    int rc = out.overflow || body.overflow ? fl_err(err, "cannot write '%s': the suite is too large", path)
                                           : report_write_file(path, out.data, out.len, err);
    buf_release(&body);
    buf_release(&out);
    return rc;
}

/* ---- suite.md and the console ------------------------------------------------------------- */
/* how the experiment compares with its last passing run */
static void vs_text(const json_t *e, struct buf *b)
{
    const json_t *regs = json_object_get(e, "regressions");
    if (!regs) { buf_adds(b, "no history"); return; }
    if (json_array_size(regs)) {
        buf_adds(b, "REGRESSION: ");
        for (size_t i = 0; i < json_array_size(regs); i++) {
            if (i) buf_adds(b, "; ");
            buf_adds(b, report_jstr(json_array_get(regs, i), "text", "?"));
        }
        return;
    }
    const json_t *base = json_object_get(e, "baseline");
    if (!json_is_object(base)) buf_adds(b, "first passing run");
    else buf_addf(b, "as good as %s", report_jstr(base, "time", "?"));
}

static void md_row(struct buf *b, const json_t *e)
{
    struct report_cells c;
    report_cells(e, &c);
    struct buf vs;
    buf_init(&vs, 0);
    vs_text(e, &vs);
    buf_adds(b, "| ");
    md_text(b, report_jstr(e, "experiment", "?"));
    buf_adds(b, " | ");
    md_text(b, report_jstr(e, "verdict", "?"));
    buf_addf(b, " | %s | %s | %s | %s | ", c.p95, c.worst_p95, c.error_rate, c.recovery);
    md_text(b, vs.data);
    buf_adds(b, " | ");
    md_text(b, report_jstr(e, "report", ""));
    buf_adds(b, " |\n");
    buf_release(&vs);
}

int report_suite_md(const json_t *suite, const char *path, char *err)
{
    const json_t *exps = json_object_get(suite, "experiments");
    struct buf b;
    buf_init(&b, 8 << 20);
    size_t passed = 0, regressed = 0;
    for (size_t i = 0; i < json_array_size(exps); i++) {
        const json_t *e = json_array_get(exps, i);
        if (!strcmp(report_jstr(e, "verdict", ""), "passed")) passed++;
        if (json_array_size(json_object_get(e, "regressions"))) regressed++;
    }
    buf_addf(&b, "## faultline drill: %s\n\n", report_jstr(suite, "verdict", "?"));
    buf_addf(&b, "%zu experiment%s, %zu passed, %zu did not", json_array_size(exps), json_array_size(exps) == 1 ? "" : "s",
             passed, json_array_size(exps) - passed);
    if (json_is_string(json_object_get(suite, "history"))) buf_addf(&b, ", %zu regressed", regressed);
    buf_adds(&b, " · started ");
    md_text(&b, report_jstr(suite, "started_at", "?"));
    buf_adds(&b, " · folder ");
    md_text(&b, report_jstr(suite, "dir", "?"));
    buf_adds(&b, "\n\n");
    const json_t *matrices = json_object_get(suite, "matrices");
    for (size_t i = 0; i < json_array_size(matrices); i++) {
        buf_adds(&b, "- **");
        md_text(&b, report_jstr(json_array_get(matrices, i), "plan", "?"));
        buf_adds(&b, "**: ");
        md_text(&b, report_jstr(json_array_get(matrices, i), "overall", "?"));
        buf_adds(&b, "\n");
    }
    if (json_array_size(matrices)) buf_adds(&b, "\n");
    buf_adds(&b, "| experiment | verdict | p95 | worst p95 | error rate | recovery | vs last passing run | report |\n"
                 "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < json_array_size(exps); i++) md_row(&b, json_array_get(exps, i));
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the summary is too large", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}

void report_suite_entry_text(const json_t *e, struct buf *out)
{
    struct report_cells c;
    report_cells(e, &c);
    struct buf vs;
    buf_init(&vs, 0);
    vs_text(e, &vs);
    buf_addf(out, "  %-34s %-13s p95 %-9s errors %-8s recovery %-13s %s\n", report_jstr(e, "experiment", "?"),
             report_jstr(e, "verdict", "?"), c.p95, c.error_rate, c.recovery, vs.data);
    buf_release(&vs);
}
