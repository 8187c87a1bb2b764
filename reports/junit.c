/* junit.c -- junit.xml from the run record: a testsuite per experiment, a testcase per
 * steady-state check, probe, load threshold, revert, stop condition and rollback command.
 *
 * A check that held passes; one that failed on its evidence is a <failure> (expected vs
 * observed); one that could not be judged (inconclusive: faultline could not do its part)
 * or could not run at all (inject failed) is an <error> with the reason, so CI shows the
 * difference STYLE.md asks for and never counts it as a pass; a skipped step is <skipped>.
 * Every text is
 * XML-escaped (and characters XML 1.0 forbids are replaced), so what a plan or a target
 * says cannot break the file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "fl.h"
#include "report.h"
#include "report_fmt.h"
#include "value.h"

/* ---- XML text --------------------------------------------------------------------------- */

/* escape s for XML; in attributes (attr = 1) newlines and tabs become character references
 * so they survive attribute normalisation. Characters XML 1.0 forbids (controls other than
 * tab/newline/return, U+FFFE, U+FFFF) become '?'. The record's strings are UTF-8 (jansson). */
static void xml_put(struct buf *b, const char *s, int attr)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': buf_adds(b, "&amp;"); break;
        case '<': buf_adds(b, "&lt;"); break;
        case '>': buf_adds(b, "&gt;"); break;
        case '"': buf_adds(b, attr ? "&quot;" : "\""); break;
        case '\n': buf_adds(b, attr ? "&#10;" : "\n"); break;
        case '\r': buf_adds(b, "&#13;"); break;
        case '\t': buf_adds(b, attr ? "&#9;" : "\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) buf_addc(b, '?');
            else if (*p == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) { buf_addc(b, '?'); p += 2; }
            else buf_addc(b, (char)*p);
        }
    }
}
static void xml_esc(struct buf *b, const char *s) { xml_put(b, s, 1); }
static void xml_text(struct buf *b, const char *s) { xml_put(b, s, 0); }

/* ---- formatting of values ---------------------------------------------------------------- */

/* a load metric's value in its unit: latencies in ms, error_rate a fraction, rps per second */
static void fmt_secs(double ms, char out[32])
{
    snprintf(out, 32, "%.3f", ms > 0 && isfinite(ms) ? ms / 1000.0 : 0.0);
}

/* ---- the cases ------------------------------------------------------------------------------ */

enum outcome { OUT_PASS, OUT_FAIL, OUT_ERROR, OUT_SKIP };

struct suite {
    struct buf cases;   /* the <testcase> elements */
    int tests, failures, errors, skipped;
    const char *classbase;
};

/* one <testcase>; message is the one-line summary (expected vs observed), body the evidence */
static void add_case(struct suite *s, const char *group, const char *name, double time_ms, enum outcome out,
                     const char *type, const char *message, const char *body, const char *system_out)
{
    struct buf *b = &s->cases;
    char secs[32];
    fmt_secs(time_ms, secs);
    buf_adds(b, "    <testcase classname=\"");
    xml_esc(b, s->classbase);
    buf_addc(b, '.');
    xml_esc(b, group);
    buf_adds(b, "\" name=\"");
    xml_esc(b, name);
    buf_addf(b, "\" time=\"%s\"", secs);
    s->tests++;
    if (out == OUT_PASS && !system_out) { buf_adds(b, "/>\n"); return; }
    buf_adds(b, ">\n");
    if (out != OUT_PASS) {
        const char *el = out == OUT_FAIL ? "failure" : out == OUT_ERROR ? "error" : "skipped";
        if (out == OUT_FAIL) s->failures++;
        else if (out == OUT_ERROR) s->errors++;
        else s->skipped++;
        buf_addf(b, "      <%s message=\"", el);
        xml_esc(b, message);
        buf_adds(b, "\"");
        if (type && out != OUT_SKIP) {
            buf_adds(b, " type=\"");
            xml_esc(b, type);
            buf_adds(b, "\"");
        }
        if (body && *body) {
            buf_adds(b, ">");
            xml_text(b, body);
            buf_addf(b, "</%s>\n", el);
        } else {
            buf_adds(b, "/>\n");
        }
    }
    if (system_out) {
        buf_adds(b, "      <system-out>");
        xml_text(b, system_out);
        buf_adds(b, "</system-out>\n");
    }
    buf_adds(b, "    </testcase>\n");
}

/* a probe result (docs/run-json.md) as one testcase */
static void add_probe(struct suite *s, const char *group, const json_t *p)
{
    const char *name = report_jstr(p, "name", "probe");
    const char *expect = report_jstr(p, "expect", "");
    const char *verdict = report_verdict(p);
    const json_t *win = json_object_get(p, "window");
    double time_ms = report_jnum(win, "to_ms", 0) - report_jnum(win, "from_ms", 0);
    const json_t *obs = json_object_get(p, "observations");
    size_t nobs = json_array_size(obs);

    /* the evidence: every failing observation (bounded), then the counts */
    struct buf body;
    buf_init(&body, 1 << 20);
    size_t shown = 0;
    for (size_t i = 0; i < nobs; i++) {
        const json_t *o = json_array_get(obs, i);
        const char *oc = report_obs_outcome(o);
        if (!strcmp(oc, "passed")) continue;
        if (shown++ == 20) { buf_adds(&body, "...\n"); break; }
        char t[32];
        report_fmt_time(report_jnum(o, "t_ms", 0), t);
        buf_addf(&body, "t=%s %s: %s\n", t, !strcmp(oc, "inconclusive") ? "inconclusive" : "failed",
                 report_jstr(o, "observed", ""));
    }
    buf_addf(&body, "%lld of %lld checks failed, %lld inconclusive",
             (long long)report_jnum(p, "failed_checks", 0), (long long)report_jnum(p, "checks", (double)nobs),
             report_inconclusive_checks(p));
    if (json_is_number(json_object_get(p, "evidence")))
        buf_addf(&body, "; evidence %lld (min_evidence %lld)", (long long)report_jnum(p, "evidence", 0),
                 (long long)report_jnum(p, "min_evidence", 1));
    const json_t *det = json_object_get(p, "details");
    if (det && !json_is_null(det)) {
        char *d = json_dumps(det, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (d) { buf_addf(&body, "\ndetails: %s", d); free(d); }
    }

    if (json_object_get(p, "tripped")) {
        /* a stop condition: failing means it tripped and aborted the run */
        if (json_is_true(json_object_get(p, "tripped"))) {
            const json_t *f = json_object_get(p, "failure");
            const char *seen = report_jstr(f, "observed", NULL);
            for (size_t i = nobs; !seen && i-- > 0;)
                if (!strcmp(report_obs_outcome(json_array_get(obs, i)), "failed"))
                    seen = report_jstr(json_array_get(obs, i), "observed", NULL);
            char *msg = fl_asprintf("tripped: expected %s; observed %s (the run was aborted)", expect, seen ? seen : "?");
            add_case(s, group, name, time_ms, OUT_FAIL, "stop_when", msg, body.data, NULL);
            free(msg);
        } else if (!strcmp(verdict, "inconclusive")) {
            char *msg = fl_asprintf("inconclusive: expected %s; it never had evidence: %s", expect,
                                    report_reason(p, "no check gave evidence"));
            add_case(s, group, name, time_ms, OUT_ERROR, "inconclusive", msg, body.data, NULL);
            free(msg);
        } else {
            add_case(s, group, name, time_ms, OUT_PASS, NULL, NULL, NULL, NULL);
        }
        buf_release(&body);
        return;
    }
    if (!strcmp(verdict, "passed")) {
        add_case(s, group, name, time_ms, OUT_PASS, NULL, NULL, NULL, NULL);
    } else if (!strcmp(verdict, "inconclusive")) {
        /* no evidence either way: an error (never a pass), apart from a failure */
        char *msg = fl_asprintf("inconclusive: expected %s; could not be judged: %s", expect,
                                report_reason(p, "no check gave evidence"));
        add_case(s, group, name, time_ms, OUT_ERROR, "inconclusive", msg, body.data, NULL);
        free(msg);
    } else {
        const json_t *f = json_object_get(p, "failure");
        const char *reason = report_jstr(f, "reason", "unhealthy");
        const char *observed = report_jstr(f, "observed", "?");
        char *msg;
        if (!strcmp(reason, "could_not_run"))
            msg = fl_asprintf("expected %s; could not check: %s", expect, observed);
        else if (!strcmp(reason, "not_run"))
            msg = fl_asprintf("expected %s; the probe never ran", expect);
        else
            msg = fl_asprintf("expected %s; observed %s", expect, observed);
        enum outcome out = !strcmp(reason, "unhealthy") ? OUT_FAIL : OUT_ERROR;
        add_case(s, group, name, time_ms, out, reason, msg, body.data, NULL);
        free(msg);
    }
    buf_release(&body);
}

static void add_probe_list(struct suite *s, const char *group, const json_t *list)
{
    for (size_t i = 0; i < json_array_size(list); i++) add_probe(s, group, json_array_get(list, i));
}

static void add_thresholds(struct suite *s, const json_t *load)
{
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *blk = json_array_get(load, i);
        const char *bname = report_jstr(blk, "name", "load");
        const json_t *th = json_object_get(blk, "thresholds");
        double dur = report_jnum(blk, "duration_ms", 0);
        for (size_t k = 0; k < json_array_size(th); k++) {
            const json_t *t = json_array_get(th, k);
            const char *expect = report_jstr(t, "expect", "?");
            const char *metric = report_jstr(t, "metric", NULL);
            char name[600], v[48];
            snprintf(name, sizeof name, "%s: %s", bname, expect);
            report_fmt_metric(metric, json_object_get(t, "value"), v);
            if (json_is_true(json_object_get(t, "ok"))) {
                add_case(s, "thresholds", name, dur, OUT_PASS, NULL, NULL, NULL, NULL);
            } else if (json_is_null(json_object_get(t, "ok"))) {
                char *msg = fl_asprintf("inconclusive: expected %s over the whole run; no request of '%s' completed", expect,
                                        bname);
                add_case(s, "thresholds", name, dur, OUT_ERROR, "inconclusive", msg, NULL, NULL);
                free(msg);
            } else {
                char *msg = fl_asprintf("expected %s over the whole run; observed %s = %s", expect,
                                        metric ? metric : "value", v);
                add_case(s, "thresholds", name, dur, OUT_FAIL, "threshold", msg, NULL, NULL);
                free(msg);
            }
        }
    }
}

static void add_steps(struct suite *s, const json_t *steps)
{
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *st = json_array_get(steps, i);
        const char *status = report_jstr(st, "status", "?");
        const char *target = report_jstr(st, "target", NULL);
        char name[600];
        snprintf(name, sizeof name, "%s (%s%s%s)", report_jstr(st, "name", "step"), report_jstr(st, "fault", "?"),
                 target ? " on " : "", target ? target : "");
        json_t *inj = json_object_get(st, "injected_at_ms"), *rev = json_object_get(st, "reverted_at_ms");
        double time_ms = json_is_number(inj) && json_is_number(rev) ? json_number_value(rev) - json_number_value(inj) : 0;
        const char *desc = report_jstr(st, "description", NULL);
        const char *error = report_jstr(st, "error", "");
        if (!strcmp(status, "reverted")) {
            add_case(s, "reverts", name, time_ms, OUT_PASS, NULL, NULL, NULL, desc && *desc ? desc : NULL);
        } else if (!strcmp(status, "injected_no_revert")) {
            char *out = fl_asprintf("%s%snot reverted: this fault kind has no revert",
                                    desc ? desc : "", desc && *desc ? "\n" : "");
            add_case(s, "reverts", name, time_ms, OUT_PASS, NULL, NULL, NULL, out);
            free(out);
        } else if (!strcmp(status, "revert_failed")) {
            char *msg = fl_asprintf("expected the fault reverted; observed: revert failed: %s", error);
            add_case(s, "reverts", name, time_ms, OUT_FAIL, "revert_failed", msg, desc, NULL);
            free(msg);
        } else if (!strcmp(status, "inject_failed")) {
            char *msg = fl_asprintf("the fault could not be injected: %s", error);
            add_case(s, "reverts", name, time_ms, OUT_ERROR, "inject_failed", msg, desc, NULL);
            free(msg);
        } else {
            char *msg = fl_asprintf("not injected (%s)%s%s", !strcmp(status, "pending") ? "the run ended first" : status,
                                    *error ? ": " : "", error);
            add_case(s, "reverts", name, time_ms, OUT_SKIP, NULL, msg, NULL, NULL);
            free(msg);
        }
    }
}

static void add_rollback(struct suite *s, const json_t *rb)
{
    for (size_t i = 0; i < json_array_size(rb); i++) {
        const json_t *r = json_array_get(rb, i);
        char name[600];
        snprintf(name, sizeof name, "rollback %zu: %s", i + 1, report_jstr(r, "command", "?"));
        if (json_is_true(json_object_get(r, "ok"))) {
            add_case(s, "rollback", name, 0, OUT_PASS, NULL, NULL, NULL, NULL);
        } else {
            const char *error = report_jstr(r, "error", NULL);
            char *msg = error ? fl_asprintf("expected exit 0; could not run: %s", error)
                              : fl_asprintf("expected exit 0; observed exit %lld", (long long)report_jnum(r, "exit", -1));
            add_case(s, "rollback", name, 0, error ? OUT_ERROR : OUT_FAIL, "rollback", msg, NULL, NULL);
            free(msg);
        }
    }
}

/* a contingency record (`matrix:`): one testcase per combination */
static void add_matrix(struct suite *s, const json_t *rows)
{
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        char name[600];
        snprintf(name, sizeof name, "lose %s", report_jstr(r, "lose", "?"));
        const char *v = report_jstr(r, "verdict", "?");
        if (!strcmp(v, "passed")) {
            add_case(s, "matrix", name, 0, OUT_PASS, NULL, NULL, NULL, NULL);
        } else if (!strcmp(v, "inconclusive")) {
            char *msg = fl_asprintf("inconclusive: %s (exit %lld), report in %s", report_jstr(r, "why", "not judged"),
                                    (long long)report_jnum(r, "exit_code", -1), report_jstr(r, "report", "?"));
            add_case(s, "matrix", name, 0, OUT_ERROR, "inconclusive", msg, NULL, NULL);
            free(msg);
        } else if (!strcmp(v, "invalid")) {
            /* it stopped before anything: no finding about the service, an error */
            char *msg = fl_asprintf("could not run: %s (exit %lld), report in %s", report_jstr(r, "why", "invalid"),
                                    (long long)report_jnum(r, "exit_code", -1), report_jstr(r, "report", "?"));
            add_case(s, "matrix", name, 0, OUT_ERROR, "invalid", msg, NULL, NULL);
            free(msg);
        } else if (!strcmp(v, "not_run")) {
            add_case(s, "matrix", name, 0, OUT_SKIP, NULL, "not run: the matrix stopped early", NULL, NULL);
        } else {
            char *msg = fl_asprintf("expected the service to survive; observed verdict %s (exit %lld), report in %s", v,
                                    (long long)report_jnum(r, "exit_code", -1), report_jstr(r, "report", "?"));
            add_case(s, "matrix", name, 0, OUT_FAIL, "matrix", msg, NULL, NULL);
            free(msg);
        }
    }
}

static void add_property(struct buf *b, const char *name, const char *value)
{
    if (!value) return;
    buf_adds(b, "      <property name=\"");
    xml_esc(b, name);
    buf_adds(b, "\" value=\"");
    xml_esc(b, value);
    buf_adds(b, "\"/>\n");
}

/* every testcase of the record into s, and the run's own case when it did not complete */
static void collect_cases(const json_t *run, struct suite *s)
{
    const json_t *ss = json_object_get(run, "steady_state");
    add_probe_list(s, "steady_state.before", json_object_get(ss, "before"));
    add_steps(s, json_object_get(run, "steps"));
    add_probe_list(s, "probes", json_object_get(run, "probes"));
    add_thresholds(s, json_object_get(run, "load"));
    add_probe_list(s, "stop_when", json_object_get(run, "stop_when"));
    add_probe_list(s, "steady_state.after", json_object_get(ss, "after"));
    add_rollback(s, json_object_get(run, "rollback"));
    add_matrix(s, json_object_get(run, "matrix"));

    /* a run that could not start or was cut short says why, even when no case failed */
    const char *reason = report_jstr(run, "reason", NULL);
    const char *verdict = report_jstr(run, "verdict", NULL);
    if (reason && !(verdict && !strcmp(verdict, "inconclusive"))) { /* an inconclusive run's cases say it */
        char *msg = fl_asprintf("the run %s: %s", verdict && !strcmp(verdict, "aborted") ? "was aborted" : "did not complete",
                                reason);
        add_case(s, "run", "run", report_jnum(run, "elapsed_ms", 0), OUT_ERROR, verdict ? verdict : "error", msg, NULL, NULL);
        free(msg);
    }
}

/* the <testsuite> element of the record: its properties, the cases of s, then extra */
static void testsuite(const json_t *run, const char *name, const struct suite *s, const char *secs, const char *extra,
                      struct buf *out)
{
    const json_t *plan = json_object_get(run, "plan");
    buf_adds(out, "  <testsuite name=\"");
    xml_esc(out, name);
    buf_addf(out, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%s\"", s->tests, s->failures,
             s->errors, s->skipped, secs);
    const char *started = report_jstr(run, "started_at", NULL);
    if (started) {
        /* JUnit's timestamp is ISO-8601 without a zone */
        char ts[32];
        snprintf(ts, sizeof ts, "%.19s", started);
        buf_adds(out, " timestamp=\"");
        xml_esc(out, ts);
        buf_adds(out, "\"");
    }
    buf_adds(out, ">\n    <properties>\n");
    char num[64];
    add_property(out, "verdict", report_jstr(run, "verdict", NULL));
    add_property(out, "reason", report_jstr(run, "reason", NULL));
    if (json_is_number(json_object_get(run, "exit_code"))) {
        snprintf(num, sizeof num, "%lld", (long long)report_jnum(run, "exit_code", 0));
        add_property(out, "exit_code", num);
    }
    if (json_is_integer(json_object_get(run, "seed"))) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)json_integer_value(json_object_get(run, "seed")));
        add_property(out, "seed", num);
    }
    add_property(out, "plan_path", report_jstr(plan, "path", NULL));
    add_property(out, "plan_hash", report_jstr(plan, "hash", NULL));
    add_property(out, "faultline_version", report_jstr(run, "faultline_version", NULL));
    add_property(out, "journal", report_jstr(run, "journal", NULL));
    buf_adds(out, "    </properties>\n");
    buf_add(out, s->cases.data, s->cases.len);
    if (extra) buf_adds(out, extra);
    buf_adds(out, "  </testsuite>\n");
}

void report_junit_testsuite(const json_t *run, const char *name, const char *extra,
                            const struct report_junit_counts *extra_n, struct buf *out, struct report_junit_counts *tot)
{
    const char *pname = report_jstr(json_object_get(run, "plan"), "name", "faultline");
    struct suite s = { .classbase = pname };
    buf_init(&s.cases, 0);
    collect_cases(run, &s);
    if (extra_n) {
        s.tests += (int)extra_n->tests;
        s.failures += (int)extra_n->failures;
        s.errors += (int)extra_n->errors;
        s.skipped += (int)extra_n->skipped;
    }
    char secs[32];
    fmt_secs(report_jnum(run, "elapsed_ms", 0), secs);
    testsuite(run, name ? name : pname, &s, secs, extra, out);
    tot->tests += s.tests;
    tot->failures += s.failures;
    tot->errors += s.errors;
    tot->skipped += s.skipped;
    tot->time += strtod(secs, NULL);   /* as the attribute says */
    buf_release(&s.cases);
}

/* render the whole document into out */
static void junit_render(const json_t *run, struct buf *out)
{
    const char *pname = report_jstr(json_object_get(run, "plan"), "name", "faultline");
    struct suite s = { .classbase = pname };
    buf_init(&s.cases, 0);
    collect_cases(run, &s);
    char secs[32];
    fmt_secs(report_jnum(run, "elapsed_ms", 0), secs);
    buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    buf_addf(out, "<testsuites name=\"faultline\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%s\">\n",
             s.tests, s.failures, s.errors, s.skipped, secs);
    testsuite(run, pname, &s, secs, NULL, out);
    buf_adds(out, "</testsuites>\n");
    buf_release(&s.cases);
}

int report_junit(json_t *run, const char *path, char *err)
{
    struct buf b;
    buf_init(&b, 0);
    junit_render(run, &b);
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the report is too large", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}
