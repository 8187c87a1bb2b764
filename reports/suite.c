/* suite.c -- the summary of a drill: suite.junit.xml, suite.md and suite.html (see suite.h). */
#include "suite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"
#include "figures.h"
#include "fl.h"
#include "md.h"
#include "report.h"
#include "report_fmt.h"

/* ---- suite.junit.xml ------------------------------------------------------------------ */
static void xml_attr(struct buf *b, const char *s) { buf_add_html(b, s ? s : ""); }

static size_t with_status(const json_t *e, const char *status);

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
    } else if (with_status(e, "too few requests")) {
        /* not all of it could be judged: neither a pass nor a regression */
        char *msg = fl_asprintf("%zu figure%s with too few requests to compare", with_status(e, "too few requests"),
                                with_status(e, "too few requests") == 1 ? "" : "s");
        buf_adds(cases, ">\n      <skipped message=\"");
        xml_attr(cases, msg);
        buf_adds(cases, "\"/>\n    </testcase>\n");
        free(msg);
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
/* the worst of an experiment's regressions: the largest change (one without a change, a
 * recovery that no longer happens, first) */
static const json_t *worst_regression(const json_t *regs)
{
    const json_t *worst = NULL;
    double wc = -1;
    for (size_t i = 0; i < json_array_size(regs); i++) {
        const json_t *r = json_array_get(regs, i), *c = json_object_get(r, "change");
        double v = json_is_number(c) ? fabs(json_number_value(c)) : INFINITY;
        if (!worst || v > wc) { worst = r; wc = v; }
    }
    return worst;
}

/* how many judged figures of an entry have that status */
static size_t with_status(const json_t *e, const char *status)
{
    size_t n = 0;
    const json_t *rows = json_object_get(e, "comparison");
    for (size_t i = 0; i < json_array_size(rows); i++)
        n += !strcmp(report_jstr(json_array_get(rows, i), "status", ""), status) &&
             strcmp(report_jstr(json_array_get(rows, i), "metric", "-"), "-");
    return n;
}

/* how the experiment compares with its baseline. An entry with a `comparison` (a baseline
 * of several runs, issue 26): the worst regression and how many more; an older entry: every
 * regression, as it was written then. */
static void vs_text(const json_t *e, struct buf *b)
{
    const json_t *regs = json_object_get(e, "regressions");
    if (!regs) { buf_adds(b, "no history"); return; }
    int banded = json_is_array(json_object_get(e, "comparison"));
    if (json_array_size(regs) && banded) {
        buf_addf(b, "REGRESSION: %s", report_jstr(worst_regression(regs), "text", "?"));
        if (json_array_size(regs) > 1) buf_addf(b, " (+%zu more)", json_array_size(regs) - 1);
        return;
    }
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
    else if (!banded) buf_addf(b, "as good as %s", report_jstr(base, "time", "?"));
    else {
        long runs = (long)json_integer_value(json_object_get(base, "runs"));
        buf_addf(b, "no regression against the last %ld run%s", runs, runs == 1 ? "" : "s");
        size_t few = with_status(e, "too few requests"), ns = with_status(e, "not significant"),
               nt = with_status(e, "not tested");
        if (few) buf_addf(b, "; %zu figure%s with too few requests to compare", few, few == 1 ? "" : "s");
        if (ns) buf_addf(b, "; %zu beyond the rule, not significant", ns);
        if (nt) buf_addf(b, "; %zu beyond the rule, not tested", nt);
    }
}

/* an experiment's comparison with its baseline, one row a judged figure */
static void md_comparison(struct buf *b, const json_t *e)
{
    const json_t *rows = json_object_get(e, "comparison");
    if (!json_array_size(rows)) return;
    const json_t *base = json_object_get(e, "baseline");
    buf_adds(b, "\n### ");
    md_text(b, report_jstr(e, "experiment", "?"));
    buf_addf(b, " against the last %lld passing run%s\n\n", (long long)json_integer_value(json_object_get(base, "runs")),
             json_integer_value(json_object_get(base, "runs")) == 1 ? "" : "s");
    buf_adds(b, "| figure | baseline (median) | band | now | change | significance | status |\n"
                "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        struct cmp_row row = { .unit = report_jstr(r, "unit", "") };
        const json_t *band = json_object_get(r, "band");
        char med[48], lo[48], hi[48], now[48];
        cmp_value_text(&row, report_jnum(r, "baseline", NAN), med);
        cmp_value_text(&row, json_is_number(json_array_get(band, 0)) ? json_number_value(json_array_get(band, 0)) : NAN, lo);
        cmp_value_text(&row, json_is_number(json_array_get(band, 1)) ? json_number_value(json_array_get(band, 1)) : NAN, hi);
        cmp_value_text(&row, report_jnum(r, "now", NAN), now);
        buf_adds(b, "| ");
        md_text(b, report_jstr(r, "figure", "?"));
        buf_addf(b, " | %s | %s..%s | %s | ", med, lo, hi, now);
        md_text(b, report_jstr(r, "change", "-"));
        buf_adds(b, " | ");
        md_text(b, report_jstr(r, "significance", ""));
        buf_adds(b, " | ");
        if (json_is_true(json_object_get(r, "regressed"))) buf_adds(b, "**REGRESSION**");
        else md_text(b, report_jstr(r, "why", ""));
        buf_adds(b, " |\n");
    }
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
    for (size_t i = 0; i < json_array_size(exps); i++) md_comparison(&b, json_array_get(exps, i));
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

/* ---- suite.html ----------------------------------------------------------------------------- */
static void h(struct buf *b, const char *s) { buf_add_html(b, s ? s : ""); }

/* an experiment's comparison as a table, as in suite.md */
static void html_comparison(struct buf *b, const json_t *e)
{
    const json_t *rows = json_object_get(e, "comparison");
    if (!json_array_size(rows)) return;
    long long runs = (long long)json_integer_value(json_object_get(json_object_get(e, "baseline"), "runs"));
    buf_adds(b, "<h3>");
    h(b, report_jstr(e, "experiment", "?"));
    buf_addf(b, " against the last %lld passing run%s</h3>\n<table class=\"comparison\">\n<tr><th>figure</th>"
                "<th>baseline (median)</th><th>band</th><th>now</th><th>change</th><th>significance</th><th>status</th></tr>\n",
             runs, runs == 1 ? "" : "s");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i), *band = json_object_get(r, "band");
        struct cmp_row row = { .unit = report_jstr(r, "unit", "") };
        char med[48], lo[48], hi[48], now[48];
        cmp_value_text(&row, report_jnum(r, "baseline", NAN), med);
        cmp_value_text(&row, json_is_number(json_array_get(band, 0)) ? json_number_value(json_array_get(band, 0)) : NAN, lo);
        cmp_value_text(&row, json_is_number(json_array_get(band, 1)) ? json_number_value(json_array_get(band, 1)) : NAN, hi);
        cmp_value_text(&row, report_jnum(r, "now", NAN), now);
        int reg = json_is_true(json_object_get(r, "regressed"));
        buf_adds(b, reg ? "<tr class=\"bad\"><td>" : "<tr><td>");
        h(b, report_jstr(r, "figure", "?"));
        buf_adds(b, "</td><td class=\"num\">");
        h(b, med);
        buf_adds(b, "</td><td class=\"num\">");
        h(b, lo);
        buf_adds(b, "..");
        h(b, hi);
        buf_adds(b, "</td><td class=\"num\">");
        h(b, now);
        buf_adds(b, "</td><td class=\"num\">");
        h(b, report_jstr(r, "change", "-"));
        buf_adds(b, "</td><td>");
        h(b, report_jstr(r, "significance", ""));
        buf_adds(b, "</td><td>");
        if (reg) buf_adds(b, "<span class=\"badge bad\">REGRESSION</span>");
        else h(b, report_jstr(r, "why", ""));
        buf_adds(b, "</td></tr>\n");
    }
    buf_adds(b, "</table>\n");
}

/* a report folder as a link from suite.html in DIR: relative to DIR when it lies under it,
 * every byte but [A-Za-z0-9-._~/] percent-encoded (a '#' or '?' in a name stays a path) */
static void href(struct buf *b, const char *rep, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    if (n && !strncmp(rep, dir, n) && rep[n] == '/') rep += n + 1;
    for (const unsigned char *p = (const unsigned char *)rep; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
            buf_addf(b, "%c", *p);
        else buf_addf(b, "%%%02X", *p);
    }
}

/* an experiment's line: name, verdict, the worst regression (or why none), its report.html */
static void html_row(struct buf *b, const json_t *e, const char *dir)
{
    struct buf vs;
    buf_init(&vs, 0);
    vs_text(e, &vs);
    const char *rep = report_jstr(e, "report", NULL);
    buf_adds(b, json_array_size(json_object_get(e, "regressions")) ? "<tr class=\"bad\"><td>" : "<tr><td>");
    h(b, report_jstr(e, "experiment", "?"));
    buf_adds(b, "</td><td>");
    report_html_badge(b, report_jstr(e, "verdict", NULL));
    buf_adds(b, "</td><td>");
    h(b, vs.data);
    buf_adds(b, "</td><td>");
    if (rep && *rep && strcmp(report_jstr(e, "verdict", ""), "not_run")) {
        buf_adds(b, "<a href=\"");
        href(b, rep, dir);
        buf_adds(b, "/report.html\">");
        h(b, rep);
        buf_adds(b, "/report.html</a>");
    } else buf_adds(b, "<span class=\"muted\">no report</span>");
    buf_adds(b, "</td></tr>\n");
    buf_release(&vs);
}

int report_suite_html(const json_t *suite, const char *path, char *err)
{
    const json_t *exps = json_object_get(suite, "experiments"), *matrices = json_object_get(suite, "matrices");
    const char *verdict = report_jstr(suite, "verdict", "no result");
    struct buf b;
    buf_init(&b, 8 << 20);
    report_html_open(&b, "drill", verdict);
    buf_adds(&b, "<header id=\"summary\">\n<h1>faultline drill ");
    report_html_badge(&b, verdict);
    buf_addf(&b, "</h1>\n<p class=\"meta\">%zu experiment%s · started ", json_array_size(exps),
             json_array_size(exps) == 1 ? "" : "s");
    h(&b, report_jstr(suite, "started_at", "?"));
    buf_adds(&b, " · folder <code>");
    h(&b, report_jstr(suite, "dir", "?"));
    buf_adds(&b, "</code></p>\n</header>\n");
    if (json_array_size(matrices)) buf_adds(&b, "<ul>\n");
    for (size_t i = 0; i < json_array_size(matrices); i++) {
        buf_adds(&b, "<li><b>");
        h(&b, report_jstr(json_array_get(matrices, i), "plan", "?"));
        buf_adds(&b, "</b>: ");
        h(&b, report_jstr(json_array_get(matrices, i), "overall", "?"));
        buf_adds(&b, "</li>\n");
    }
    if (json_array_size(matrices)) buf_adds(&b, "</ul>\n");
    buf_adds(&b, "<section id=\"experiments\">\n<h2>Experiments</h2>\n<table>\n<tr><th>experiment</th><th>verdict</th>"
                 "<th>vs last passing run</th><th>report</th></tr>\n");
    for (size_t i = 0; i < json_array_size(exps); i++)
        html_row(&b, json_array_get(exps, i), report_jstr(suite, "dir", NULL));
    buf_adds(&b, "</table>\n</section>\n<section id=\"comparisons\">\n");
    for (size_t i = 0; i < json_array_size(exps); i++) html_comparison(&b, json_array_get(exps, i));
    buf_adds(&b, "</section>\n<footer>faultline ");
    h(&b, report_jstr(suite, "faultline_version", FL_VERSION));
    buf_adds(&b, " · rendered from suite.json</footer>\n</main>\n</body>\n</html>\n");
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the summary is too large", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}
