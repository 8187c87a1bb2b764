/* figures.c -- the few numbers and words that sum a run record up (see figures.h): what the
 * contingency table, the drill suite and the drill history show of each run. */
#include "figures.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "report_fmt.h"

static double num_or_nan(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

void report_figures(const json_t *run, json_t *into)
{
    double p95 = NAN, worst = NAN, rps = 0, count = 0, errors = 0;
    const json_t *load = json_object_get(run, "load");
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *blk = json_array_get(load, i);
        const json_t *tot = json_object_get(blk, "totals");
        double c = num_or_nan(tot, "count"), e = num_or_nan(tot, "errors"), r = num_or_nan(tot, "rps");
        double p = num_or_nan(tot, "p95");
        if (isfinite(c)) count += c;
        if (isfinite(e)) errors += e;
        if (isfinite(r)) rps += r;
        if (isfinite(p) && isfinite(c) && c > 0 && !(p <= p95)) p95 = p;
        const json_t *series = json_object_get(blk, "series");
        for (size_t s = 0; s < json_array_size(series); s++) {
            const json_t *sec = json_array_get(series, s);
            double sp = num_or_nan(sec, "p95"), sc = num_or_nan(sec, "count");
            if (isfinite(sp) && isfinite(sc) && sc > 0 && !(sp <= worst)) worst = sp;
        }
    }
    if (!isfinite(worst)) worst = p95;
    int has_load = json_array_size(load) > 0;
    json_object_set_new(into, "p95_ms", num_or_null(p95));
    json_object_set_new(into, "worst_p95_ms", num_or_null(worst));
    json_object_set_new(into, "error_rate", has_load && count > 0 ? json_real(errors / count) : json_null());
    json_object_set_new(into, "requests", has_load ? json_integer((json_int_t)count) : json_null());
    json_object_set_new(into, "rps", has_load ? json_real(rps) : json_null());

    /* recovery probes: the measured time is the observation's value (ms) */
    json_t *recs = json_array();
    double longest = NAN;
    int recovered = 1, undecided = 0;
    const json_t *probes = json_object_get(run, "probes");
    for (size_t i = 0; i < json_array_size(probes); i++) {
        const json_t *p = json_array_get(probes, i);
        if (strcmp(report_jstr(p, "kind", ""), "recovery") != 0) continue;
        const json_t *obs = json_object_get(p, "observations");
        const json_t *last = json_array_size(obs) ? json_array_get(obs, json_array_size(obs) - 1) : NULL;
        const char *verdict = report_verdict(p);
        int inconclusive = !strcmp(verdict, "inconclusive");
        /* the time counts when the probe passed: a seen recovery short of min_evidence is not one */
        double ms = !strcmp(verdict, "passed") && last && json_is_true(json_object_get(last, "ok"))
                        ? num_or_nan(last, "value") : NAN;
        const char *observed = inconclusive ? report_reason(p, NULL) : last ? report_jstr(last, "observed", NULL) : NULL;
        json_array_append_new(recs, json_pack("{s:s, s:o, s:s?, s:s}", "probe", report_jstr(p, "name", "?"), "ms",
                                              num_or_null(ms), "observed", observed, "verdict", verdict));
        if (isfinite(ms)) { if (!(ms <= longest)) longest = ms; }
        else if (inconclusive) undecided = 1; /* no evidence: neither recovered nor not */
        else recovered = 0;
    }
    json_object_set_new(into, "recovery_ms", num_or_null(longest));
    json_object_set_new(into, "recovered", !json_array_size(recs) || (recovered && undecided) ? json_null()
                                                                                              : json_boolean(recovered));
    if (recovered && undecided) json_object_set_new(into, "recovery_inconclusive", json_true());
    json_object_set_new(into, "recoveries", recs);
}

char *report_why(const json_t *run)
{
    struct buf b;
    buf_init(&b, 4096);
    const char *verdict = report_jstr(run, "verdict", "");
    if (!strcmp(verdict, "passed")) return buf_detach(&b);
    const char *reason = report_jstr(run, "reason", NULL);
    if (reason) buf_addf(&b, "%s", reason);
    const json_t *ss = json_object_get(run, "steady_state");
    const char *sb = report_jstr(ss, "before_verdict", NULL), *sa = report_jstr(ss, "after_verdict", NULL);
    if (ss && (sb ? !strcmp(sb, "failed") : !json_is_true(json_object_get(ss, "held_before"))))
        buf_addf(&b, "%ssteady state broken before the faults", b.len ? "; " : "");
    const json_t *steps = json_object_get(run, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *s = json_array_get(steps, i);
        const char *st = report_jstr(s, "status", "");
        if (!strcmp(st, "inject_failed") || !strcmp(st, "revert_failed"))
            buf_addf(&b, "%sstep '%s' %s", b.len ? "; " : "", report_jstr(s, "name", "?"), st);
    }
    const json_t *probes = json_object_get(run, "probes");
    for (size_t i = 0; i < json_array_size(probes); i++) {
        const json_t *p = json_array_get(probes, i);
        if (strcmp(report_jstr(p, "verdict", ""), "failed") != 0) continue;
        const char *obs = report_jstr(json_object_get(p, "failure"), "observed", NULL);
        buf_addf(&b, "%sprobe '%s' failed%s%.120s", b.len ? "; " : "", report_jstr(p, "name", "?"), obs ? ": " : "",
                 obs ? obs : "");
    }
    if (json_object_get(run, "thresholds_ok") && !json_is_true(json_object_get(run, "thresholds_ok")))
        buf_addf(&b, "%sload thresholds failed", b.len ? "; " : "");
    if (ss && json_is_true(json_object_get(ss, "held_before")) &&
        (sa ? !strcmp(sa, "failed") : !json_is_true(json_object_get(ss, "held_after"))))
        buf_addf(&b, "%ssteady state broken after the faults", b.len ? "; " : "");
    /* what could not be judged (the reason above names the first one already) */
    const json_t *inc = json_object_get(run, "inconclusive");
    for (size_t i = 0; i < json_array_size(inc) && !reason; i++) {
        const json_t *x = json_array_get(inc, i);
        buf_addf(&b, "%s%s '%s' inconclusive: %.120s", b.len ? "; " : "", report_jstr(x, "what", "?"),
                 report_jstr(x, "name", "?"), report_jstr(x, "reason", ""));
    }
    if (!b.len) buf_addf(&b, "verdict %s", verdict[0] ? verdict : "unknown");
    return buf_detach(&b);
}

static void cell_ms(const json_t *o, const char *key, char out[32])
{
    double v = num_or_nan(o, key);
    if (isfinite(v)) report_fmt_ms(v, out);
    else snprintf(out, 32, "-");
}

void report_cells(const json_t *figures, struct report_cells *c)
{
    cell_ms(figures, "p95_ms", c->p95);
    cell_ms(figures, "worst_p95_ms", c->worst_p95);
    double rate = num_or_nan(figures, "error_rate");
    if (isfinite(rate)) snprintf(c->error_rate, sizeof c->error_rate, "%.2f%%", rate * 100.0);
    else snprintf(c->error_rate, sizeof c->error_rate, "-");
    if (json_is_false(json_object_get(figures, "recovered")))
        snprintf(c->recovery, sizeof c->recovery, "not recovered");
    else if (json_is_true(json_object_get(figures, "recovery_inconclusive")) && !isfinite(num_or_nan(figures, "recovery_ms")))
        snprintf(c->recovery, sizeof c->recovery, "inconclusive");
    else cell_ms(figures, "recovery_ms", c->recovery);
}
