/* compare.c -- regressions between two run records, with the seeds' rules (p95 or
 * duration +10%, throughput -10%, memory +15%); see compare.h for what is compared. */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"
#include "report_fmt.h"

/* changes smaller than these are noise, whatever their percentage */
#define FLOOR_MS 1.0
#define FLOOR_DURATION_MS 100.0
#define FLOOR_RPS 1.0

void cmp_rules_default(struct cmp_rules *r)
{
    r->p95 = 0.10;
    r->duration = 0.10;
    r->throughput = 0.10;
    r->memory = 0.15;
}

int cmp_parse_pct(const char *s, double *out)
{
    if (!s || !*s) return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0) return -1;
    if (*end == '%') end++;
    if (*end) return -1;
    *out = v / 100.0;
    return 0;
}

const char *cmp_rule_name(enum cmp_rule r)
{
    switch (r) {
    case CMP_P95: return "p95";
    case CMP_DURATION: return "duration";
    case CMP_THROUGHPUT: return "throughput";
    case CMP_MEMORY: return "memory";
    default: return "-";
    }
}

static void note(struct cmp_result *res, char *text)
{
    res->notes = fl_realloc(res->notes, (res->nnotes + 1) * sizeof *res->notes);
    res->notes[res->nnotes++] = text;
}

/* judge one figure and append its row */
static void add(struct cmp_result *res, char *figure, const char *unit, enum cmp_rule rule, double base, double cur)
{
    if (res->nrows == res->alloc) {
        res->alloc = res->alloc ? res->alloc * 2 : 16;
        res->rows = fl_realloc(res->rows, res->alloc * sizeof *res->rows);
    }
    struct cmp_row *r = &res->rows[res->nrows++];
    memset(r, 0, sizeof *r);
    r->figure = figure;
    r->unit = unit;
    r->rule = rule;
    r->base = base;
    r->cur = cur;
    r->why = "";
    if (rule == CMP_NONE) return;
    if (!isfinite(base)) { r->why = !strcmp(unit, "recovery") ? "now recovers" : "new"; return; }
    if (!isfinite(cur)) {
        if (rule == CMP_DURATION && !strcmp(unit, "recovery")) { r->regressed = 1; r->why = "no longer recovers"; }
        else r->why = "gone";
        res->regressions += r->regressed;
        return;
    }
    double limit, floor;
    switch (rule) {
    case CMP_P95: limit = res->rules.p95; floor = FLOOR_MS; break;
    case CMP_DURATION: limit = res->rules.duration; floor = FLOOR_DURATION_MS; break;
    case CMP_THROUGHPUT: limit = res->rules.throughput; floor = FLOOR_RPS; break;
    default: limit = res->rules.memory; floor = 0; break;
    }
    int beyond;
    if (rule == CMP_THROUGHPUT) {
        if (base <= 0) { r->why = "no baseline"; return; }
        beyond = cur < base * (1.0 - limit);
        r->regressed = beyond && base - cur >= floor;
    } else {
        if (base <= 0 && !(rule == CMP_DURATION && !strcmp(unit, "recovery"))) { r->why = "no baseline"; return; }
        beyond = cur > base * (1.0 + limit) && cur > base;
        r->regressed = beyond && cur - base >= floor;
    }
    r->why = r->regressed ? "REGRESSION" : beyond ? "ok (under the noise floor)" : "ok";
    res->regressions += r->regressed;
}

static const json_t *find_named(const json_t *list, const char *name)
{
    for (size_t i = 0; name && i < json_array_size(list); i++)
        if (!strcmp(report_jstr(json_array_get(list, i), "name", ""), name)) return json_array_get(list, i);
    return NULL;
}

static const json_t *find_endpoint(const json_t *list, const json_t *ep)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        if (!strcmp(report_jstr(e, "method", ""), report_jstr(ep, "method", "")) &&
            !strcmp(report_jstr(e, "path", ""), report_jstr(ep, "path", "")) &&
            !strcmp(report_jstr(e, "name", ""), report_jstr(ep, "name", "")))
            return e;
    }
    return NULL;
}

static void compare_load(struct cmp_result *res, const json_t *base, const json_t *cur)
{
    const json_t *bl = json_object_get(base, "load"), *cl = json_object_get(cur, "load");
    for (size_t i = 0; i < json_array_size(bl); i++) {
        const json_t *bb = json_array_get(bl, i);
        const char *name = report_jstr(bb, "name", "");
        const json_t *cb = find_named(cl, name);
        if (!cb) { note(res, fl_asprintf("load block '%s' is only in BASE", name)); continue; }
        const json_t *bt = json_object_get(bb, "totals"), *ct = json_object_get(cb, "totals");
        add(res, fl_asprintf("load '%s' p95", name), "ms", CMP_P95, report_jnum(bt, "p95", NAN), report_jnum(ct, "p95", NAN));
        add(res, fl_asprintf("load '%s' p99", name), "ms", CMP_NONE, report_jnum(bt, "p99", NAN), report_jnum(ct, "p99", NAN));
        add(res, fl_asprintf("load '%s' throughput", name), "rps", CMP_THROUGHPUT, report_jnum(bt, "rps", NAN),
            report_jnum(ct, "rps", NAN));
        add(res, fl_asprintf("load '%s' error rate", name), "ratio", CMP_NONE, report_jnum(bt, "error_rate", NAN),
            report_jnum(ct, "error_rate", NAN));
        const json_t *be = json_object_get(bb, "endpoints"), *ce = json_object_get(cb, "endpoints");
        for (size_t k = 0; k < json_array_size(be); k++) {
            const json_t *ep = json_array_get(be, k), *cep = find_endpoint(ce, ep);
            if (!cep) {
                note(res, fl_asprintf("endpoint %s %s of load '%s' is only in BASE", report_jstr(ep, "method", ""),
                                      report_jstr(ep, "path", ""), name));
                continue;
            }
            add(res, fl_asprintf("load '%s' %s %s p95", name, report_jstr(ep, "method", ""), report_jstr(ep, "path", "")), "ms",
                CMP_P95, report_jnum(ep, "p95", NAN), report_jnum(cep, "p95", NAN));
        }
        for (size_t k = 0; k < json_array_size(ce); k++)
            if (!find_endpoint(be, json_array_get(ce, k)))
                note(res, fl_asprintf("endpoint %s %s of load '%s' is only in CURRENT", report_jstr(json_array_get(ce, k), "method", ""),
                                      report_jstr(json_array_get(ce, k), "path", ""), name));
    }
    for (size_t i = 0; i < json_array_size(cl); i++) {
        const char *name = report_jstr(json_array_get(cl, i), "name", "");
        if (!find_named(bl, name)) note(res, fl_asprintf("load block '%s' is only in CURRENT", name));
    }
}

/* a recovery probe's time to recover (ms after the revert), NAN when it did not recover */
static double recovery_ms(const json_t *p)
{
    const json_t *obs = json_object_get(p, "observations");
    size_t n = json_array_size(obs);
    if (!n) return NAN;
    const json_t *o = json_array_get(obs, n - 1);
    if (!json_is_true(json_object_get(o, "ok"))) return NAN;
    return report_jnum(o, "value", NAN);
}

static void compare_durations(struct cmp_result *res, const json_t *base, const json_t *cur)
{
    add(res, fl_strdup("run elapsed"), "duration", CMP_DURATION, report_jnum(base, "elapsed_ms", NAN),
        report_jnum(cur, "elapsed_ms", NAN));
    const json_t *bp = json_object_get(base, "probes"), *cp = json_object_get(cur, "probes");
    for (size_t i = 0; i < json_array_size(bp); i++) {
        const json_t *p = json_array_get(bp, i);
        if (strcmp(report_jstr(p, "kind", ""), "recovery")) continue;
        const char *name = report_jstr(p, "name", "");
        const json_t *q = find_named(cp, name);
        if (!q) { note(res, fl_asprintf("recovery probe '%s' is only in BASE", name)); continue; }
        if (!strcmp(report_verdict(p), "inconclusive") || !strcmp(report_verdict(q), "inconclusive")) {
            /* no evidence on one side: neither a regression nor an improvement */
            note(res, fl_asprintf("recovery probe '%s' is inconclusive in %s: not compared", name,
                                  !strcmp(report_verdict(p), "inconclusive") ? "BASE" : "CURRENT"));
            continue;
        }
        double b = recovery_ms(p), c = recovery_ms(q);
        if (!isfinite(b) && !isfinite(c)) {
            note(res, fl_asprintf("recovery probe '%s' recovered in neither run", name));
            continue;
        }
        add(res, fl_asprintf("recovery '%s'", name), "recovery", CMP_DURATION, b, c);
    }
}

static void compare_memory(struct cmp_result *res, const json_t *base, const json_t *cur)
{
    const json_t *bm = json_object_get(base, "memory"), *cm = json_object_get(cur, "memory");
    if (!json_is_object(bm) || !json_is_object(cm)) {
        note(res, fl_asprintf("memory: not recorded in %s; the memory rule (+%g%%) was skipped",
                              !json_is_object(bm) && !json_is_object(cm) ? "either run.json"
                              : !json_is_object(bm) ? "BASE" : "CURRENT", res->rules.memory * 100));
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)bm, key, v) {
        if (!json_is_number(v)) continue;
        const json_t *w = json_object_get(cm, key);
        if (!json_is_number(w)) { note(res, fl_asprintf("memory figure '%s' is only in BASE", key)); continue; }
        add(res, fl_asprintf("memory %s", key), "mem", CMP_MEMORY, json_number_value(v), json_number_value(w));
    }
}

static int check_record(const json_t *r, const char *which, char *err)
{
    if (!json_is_object(r) || (!json_object_get(r, "verdict") && !json_object_get(r, "plan")))
        return fl_err(err, "%s is not a run record (no 'plan' or 'verdict')", which);
    const json_t *f = json_object_get(r, "format");
    if (json_is_integer(f) && json_integer_value(f) > FL_RUN_FORMAT)
        return fl_err(err, "%s has run.json format %lld; this faultline reads formats 1 to %d", which,
                      (long long)json_integer_value(f), FL_RUN_FORMAT);
    if (json_object_get(r, "matrix"))
        return fl_err(err, "%s is a contingency summary (matrix.json); compare the run.json of one combination", which);
    return 0;
}

int cmp_runs(const json_t *base, const json_t *cur, const struct cmp_rules *r, struct cmp_result *res, char *err)
{
    memset(res, 0, sizeof *res);
    res->rules = *r;
    if (check_record(base, "BASE", err) < 0 || check_record(cur, "CURRENT", err) < 0) return -1;
    const char *bn = report_jstr(json_object_get(base, "plan"), "name", NULL);
    const char *cn = report_jstr(json_object_get(cur, "plan"), "name", NULL);
    if (bn && cn && strcmp(bn, cn)) note(res, fl_asprintf("the runs are of different plans ('%s' and '%s')", bn, cn));
    const char *bh = report_jstr(json_object_get(base, "plan"), "hash", NULL);
    const char *ch = report_jstr(json_object_get(cur, "plan"), "hash", NULL);
    if (bn && cn && !strcmp(bn, cn) && bh && ch && strcmp(bh, ch)) note(res, fl_asprintf("the plan changed between the runs (%s, then %s)", bh, ch));
    compare_load(res, base, cur);
    compare_durations(res, base, cur);
    compare_memory(res, base, cur);
    return 0;
}

static void fmt_value(const struct cmp_row *r, double v, char out[48])
{
    if (!isfinite(v)) { snprintf(out, 48, "-"); return; }
    if (!strcmp(r->unit, "ms")) report_fmt_ms(v, out);
    else if (!strcmp(r->unit, "duration") || !strcmp(r->unit, "recovery")) report_fmt_time(v, out);
    else if (!strcmp(r->unit, "rps")) snprintf(out, 48, "%.1f/s", v);
    else if (!strcmp(r->unit, "ratio")) snprintf(out, 48, "%.2f%%", v * 100);
    else snprintf(out, 48, "%g", v);
}

void cmp_format(const struct cmp_result *res, struct buf *out)
{
    size_t w = strlen("figure");
    for (size_t i = 0; i < res->nrows; i++) {
        size_t l = strlen(res->rows[i].figure);
        if (l > w) w = l;
    }
    if (w > 60) w = 60;
    buf_addf(out, "%-*s  %10s  %10s  %8s  %-16s %s\n", (int)w, "figure", "base", "current", "change", "rule", "status");
    for (size_t i = 0; i < res->nrows; i++) {
        const struct cmp_row *r = &res->rows[i];
        char b[48], c[48], ch[32], rule[32];
        fmt_value(r, r->base, b);
        fmt_value(r, r->cur, c);
        if (isfinite(r->base) && isfinite(r->cur) && r->base != 0) snprintf(ch, sizeof ch, "%+.1f%%", (r->cur - r->base) / r->base * 100);
        else snprintf(ch, sizeof ch, "-");
        double lim = r->rule == CMP_P95 ? res->rules.p95 : r->rule == CMP_DURATION ? res->rules.duration
                   : r->rule == CMP_THROUGHPUT ? res->rules.throughput : res->rules.memory;
        if (r->rule == CMP_NONE) snprintf(rule, sizeof rule, "-");
        else snprintf(rule, sizeof rule, "%s %c%g%%", cmp_rule_name(r->rule), r->rule == CMP_THROUGHPUT ? '-' : '+', lim * 100);
        buf_addf(out, "%-*.*s  %10s  %10s  %8s  %-16s %s\n", (int)w, (int)w, r->figure, b, c, ch, rule, r->why);
    }
    for (size_t i = 0; i < res->nnotes; i++) buf_addf(out, "note: %s\n", res->notes[i]);
    if (res->regressions)
        buf_addf(out, "%d regression%s (p95 +%g%%, duration +%g%%, throughput -%g%%, memory +%g%%)\n", res->regressions,
                 res->regressions == 1 ? "" : "s", res->rules.p95 * 100, res->rules.duration * 100,
                 res->rules.throughput * 100, res->rules.memory * 100);
    else
        buf_addf(out, "no regression (p95 +%g%%, duration +%g%%, throughput -%g%%, memory +%g%%)\n", res->rules.p95 * 100,
                 res->rules.duration * 100, res->rules.throughput * 100, res->rules.memory * 100);
}

void cmp_release(struct cmp_result *res)
{
    for (size_t i = 0; i < res->nrows; i++) free(res->rows[i].figure);
    for (size_t i = 0; i < res->nnotes; i++) free(res->notes[i]);
    free(res->rows);
    free(res->notes);
    memset(res, 0, sizeof *res);
}
