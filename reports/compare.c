/* compare.c -- regressions of a run against a baseline of earlier runs, with the seeds' rules
 * (p95 or duration +10%, throughput -10%, memory +15%) counted only when the change is real:
 * enough requests, beyond the band of the baseline runs, statistically significant. See
 * compare.h for what is compared and docs/reports.md for why these tests. */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"
#include "hist.h"
#include "report_fmt.h"

/* changes smaller than these are noise, whatever their percentage */
#define FLOOR_MS 1.0
#define FLOOR_DURATION_MS 100.0
#define FLOOR_RPS 1.0
/* the normal quantile of a two-sided 99% interval, and seconds of load MWU needs a side */
#define CI_Z 2.5758293035489
#define MWU_MIN_SECONDS 5

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

/* ---- the figures of one record -------------------------------------------------------- */
struct fig {
    char *name;                 /* "load 'readers' p95": the key figures are matched by */
    char *group;                /* "load block 'readers'": what a note names */
    const char *unit;
    enum cmp_rule rule;
    double v;
    double q;                   /* the percentile (0.95) of a latency figure, else 0 */
    double n;                   /* requests behind it */
    const json_t *hist;         /* [[bucket, count], ...] (hist.h layout, ns), or NULL */
    const json_t *series;       /* per-second throughput: objects with "rps", or numbers */
    const json_t *lat_series;   /* a latency figure's block, per second: objects with "p95", or numbers */
    int inconclusive;           /* a recovery probe without evidence */
};

struct figs {
    struct fig *f;
    size_t n;
    int has_memory;
};

static struct fig *fig_add(struct figs *fs, char *name, const char *group, const char *unit, enum cmp_rule rule, double v)
{
    fs->f = fl_realloc(fs->f, (fs->n + 1) * sizeof *fs->f);
    struct fig *f = &fs->f[fs->n++];
    memset(f, 0, sizeof *f);
    f->name = name;
    f->group = fl_strdup(group);
    f->unit = unit;
    f->rule = rule;
    f->v = v;
    return f;
}

static void figs_release(struct figs *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->f[i].name);
        free(fs->f[i].group);
    }
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}

static void latency(struct figs *fs, char *name, const char *group, enum cmp_rule rule, const json_t *o, const char *key, double q,
                    const json_t *blk)
{
    struct fig *f = fig_add(fs, name, group, "ms", rule, report_jnum(o, key, NAN));
    f->lat_series = json_object_get(blk, "series") ? json_object_get(blk, "series") : json_object_get(blk, "series_p95");
    f->q = q;
    f->n = report_jnum(o, "count", 0);
    const json_t *h = json_object_get(o, "hist");
    if (json_is_array(h)) f->hist = h;
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

static void figs_of(const json_t *rec, struct figs *fs)
{
    memset(fs, 0, sizeof *fs);
    const json_t *load = json_object_get(rec, "load");
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *b = json_array_get(load, i), *t = json_object_get(b, "totals");
        const char *name = report_jstr(b, "name", "");
        char *group = fl_asprintf("load block '%s'", name);
        latency(fs, fl_asprintf("load '%s' p95", name), group, CMP_P95, t, "p95", 0.95, b);
        latency(fs, fl_asprintf("load '%s' p99", name), group, CMP_NONE, t, "p99", 0.99, b);
        struct fig *f = fig_add(fs, fl_asprintf("load '%s' throughput", name), group, "rps", CMP_THROUGHPUT, report_jnum(t, "rps", NAN));
        f->series = json_object_get(b, "series") ? json_object_get(b, "series") : json_object_get(b, "series_rps");
        fig_add(fs, fl_asprintf("load '%s' error rate", name), group, "ratio", CMP_NONE, report_jnum(t, "error_rate", NAN));
        free(group);
        const json_t *eps = json_object_get(b, "endpoints");
        for (size_t k = 0; k < json_array_size(eps); k++) {
            const json_t *e = json_array_get(eps, k);
            const char *m = report_jstr(e, "method", ""), *p = report_jstr(e, "path", ""), *en = report_jstr(e, "name", "");
            if (!*p) p = en;    /* an outside load tool's endpoint has a name and no path */
            /* two endpoints with the same method and path but their own names stay apart */
            char *mp = fl_asprintf("%s %s", m, p);
            int named = *en && strcmp(en, p) && strcmp(en, mp);
            free(mp);
            group = named ? fl_asprintf("endpoint %s %s ('%s') of load '%s'", m, p, en, name)
                          : fl_asprintf("endpoint %s %s of load '%s'", m, p, name);
            char *fname = named ? fl_asprintf("load '%s' %s %s ('%s') p95", name, m, p, en)
                                : fl_asprintf("load '%s' %s %s p95", name, m, p);
            latency(fs, fname, group, CMP_P95, e, "p95", 0.95, b);
            free(group);
        }
    }
    fig_add(fs, fl_strdup("run elapsed"), "run elapsed", "duration", CMP_DURATION, report_jnum(rec, "elapsed_ms", NAN));
    const json_t *probes = json_object_get(rec, "probes");
    for (size_t i = 0; i < json_array_size(probes); i++) {
        const json_t *p = json_array_get(probes, i);
        if (strcmp(report_jstr(p, "kind", ""), "recovery")) continue;
        const char *name = report_jstr(p, "name", "");
        char *group = fl_asprintf("recovery probe '%s'", name);
        struct fig *f = fig_add(fs, fl_asprintf("recovery '%s'", name), group, "recovery", CMP_DURATION, recovery_ms(p));
        f->inconclusive = !strcmp(report_verdict(p), "inconclusive");
        free(group);
    }
    const json_t *mem = json_object_get(rec, "memory");
    fs->has_memory = json_is_object(mem);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)mem, key, v) {
        if (!json_is_number(v)) continue;
        char *group = fl_asprintf("memory figure '%s'", key);
        fig_add(fs, fl_asprintf("memory %s", key), group, "mem", CMP_MEMORY, json_number_value(v));
        free(group);
    }
}

static const struct fig *fig_find(const struct figs *fs, const char *name)
{
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i].name, name)) return &fs->f[i];
    return NULL;
}

static int group_in(const struct figs *fs, const char *group)
{
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i].group, group)) return 1;
    return 0;
}

/* ---- the tests ------------------------------------------------------------------------ */
/* add a run.json histogram into counts[HIST_BUCKETS]; the requests it holds, or -1 when it
 * is not one of ours (buckets out of order or range, negative counts) */
static double hist_add(const json_t *h, double *counts)
{
    double n = 0;
    json_int_t last = -1;
    for (size_t i = 0; i < json_array_size(h); i++) {
        const json_t *p = json_array_get(h, i);
        const json_t *b = json_array_get(p, 0), *c = json_array_get(p, 1);
        if (!json_is_integer(b) || !json_is_integer(c) || json_integer_value(b) <= last ||
            json_integer_value(b) >= HIST_BUCKETS || json_integer_value(c) < 0)
            return -1;
        last = json_integer_value(b);
        n += (double)json_integer_value(c);
    }
    for (size_t i = 0; i < json_array_size(h); i++) {
        const json_t *p = json_array_get(h, i);
        counts[json_integer_value(json_array_get(p, 0))] += (double)json_integer_value(json_array_get(p, 1));
    }
    return n;
}

/* the value (ms) of the rank-th smallest request (1-based): the low or high end of its bucket */
static double rank_value(const double *counts, double rank, int high)
{
    double seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += counts[b];
        if (counts[b] > 0 && seen >= rank) {
            uint64_t lo, hi;
            hist_bucket_range(b, &lo, &hi);
            return (double)(high ? hi : lo) / 1e6;
        }
    }
    return NAN;
}

/* the distribution-free confidence interval of the q-quantile of the requests in counts: the
 * order statistics at ranks nq -+ z sqrt(nq(1-q)) (binomial, normal approximation); -1 when
 * there are none */
static int quantile_ci(const double *counts, double n, double q, double *lo, double *hi)
{
    if (n < 1) return -1;
    double m = n * q, s = CI_Z * sqrt(n * q * (1 - q));
    double rl = floor(m - s), ru = ceil(m + s) + 1;
    if (rl < 1) rl = 1;
    if (ru > n) ru = n;
    *lo = rank_value(counts, rl, 0);
    *hi = rank_value(counts, ru, 1);
    return isfinite(*lo) && isfinite(*hi) ? 0 : -1;
}

/* the per-second values (key of each window, or plain numbers) of a series appended to *v
 * (grown as needed, *n of them) */
static void series_add(const json_t *s, const char *key, double **v, size_t *n)
{
    *v = fl_realloc(*v, (*n + json_array_size(s) + 1) * sizeof **v);
    for (size_t i = 0; i < json_array_size(s); i++) {
        const json_t *w = json_array_get(s, i);
        double x = json_is_number(w) ? json_number_value(w) : report_jnum(w, key, NAN);
        if (isfinite(x)) (*v)[(*n)++] = x;
    }
}

static double *series_values(const json_t *s, size_t *n)
{
    double *v = NULL;
    *n = 0;
    series_add(s, "rps", &v, n);
    return v;
}

struct ranked { double v; int cur; };
static int by_value(const void *a, const void *b)
{
    double x = ((const struct ranked *)a)->v, y = ((const struct ranked *)b)->v;
    return x < y ? -1 : x > y;
}

/* one-sided Mann-Whitney U: the p-value of "x tends to be smaller than y" (normal
 * approximation with the tie correction and a continuity correction) */
static double mwu_p_smaller(const double *x, size_t nx, const double *y, size_t ny)
{
    size_t n = nx + ny;
    struct ranked *a = fl_calloc(n, sizeof *a);
    for (size_t i = 0; i < nx; i++) a[i] = (struct ranked){ x[i], 1 };
    for (size_t i = 0; i < ny; i++) a[nx + i] = (struct ranked){ y[i], 0 };
    qsort(a, n, sizeof *a, by_value);
    double rx = 0, ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && a[j].v == a[i].v) j++;
        double rank = (double)(i + 1 + j) / 2.0, t = (double)(j - i);
        for (size_t k = i; k < j; k++)
            if (a[k].cur) rx += rank;
        ties += t * t * t - t;
        i = j;
    }
    free(a);
    double u = rx - (double)nx * (double)(nx + 1) / 2.0, mean = (double)nx * (double)ny / 2.0;
    double var = (double)nx * (double)ny / 12.0 * ((double)(n + 1) - ties / ((double)n * (double)(n - 1)));
    if (var <= 0) return 1.0;
    double z = (u - mean + 0.5) / sqrt(var);
    return 0.5 * erfc(-z / sqrt(2.0));
}

/* ---- judging one figure --------------------------------------------------------------- */
static void note(struct cmp_result *res, char *text)
{
    res->notes = fl_realloc(res->notes, (res->nnotes + 1) * sizeof *res->notes);
    res->notes[res->nnotes++] = text;
}

static struct cmp_row *row_new(struct cmp_result *res, const struct fig *c)
{
    if (res->nrows == res->alloc) {
        res->alloc = res->alloc ? res->alloc * 2 : 16;
        res->rows = fl_realloc(res->rows, res->alloc * sizeof *res->rows);
    }
    struct cmp_row *r = &res->rows[res->nrows++];
    memset(r, 0, sizeof *r);
    r->figure = fl_strdup(c->name);
    r->unit = c->unit;
    r->rule = c->rule;
    r->cur = c->v;
    r->base = r->lo = r->hi = r->ref = NAN;
    r->why = "";
    return r;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int cmp_undecided(const struct cmp_result *res) { return res->few || res->untested || res->not_compared; }

static void set_status(struct cmp_result *res, struct cmp_row *r, enum cmp_status st, const char *why)
{
    r->status = st;
    r->why = why;
    r->regressed = st == CMP_REGRESSED;
    res->regressions += st == CMP_REGRESSED;
    res->few += st == CMP_FEW && r->rule != CMP_NONE;   /* a p99 is shown, not judged */
    res->untested += st == CMP_UNTESTED;
    res->not_significant += st == CMP_NOT_SIGNIFICANT;
}

/* the significance of a latency change: the current run's confidence interval of the
 * percentile lies wholly above that of the baseline runs' requests pooled (one run: its own) */
static void latency_significance(struct cmp_result *res, struct cmp_row *r, const struct fig *c, const struct fig **m, size_t nm)
{
    double *cc = fl_calloc(HIST_BUCKETS, sizeof *cc), *bc = fl_calloc(HIST_BUCKETS, sizeof *bc);
    double cn = c->hist ? hist_add(c->hist, cc) : -1, bn = 0;
    for (size_t i = 0; i < nm && bn >= 0; i++) {
        double k = m[i]->hist ? hist_add(m[i]->hist, bc) : -1;
        bn = k < 0 ? -1 : bn + k;
    }
    double clo, chi, blo, bhi;
    int ok = cn > 0 && bn > 0 && quantile_ci(cc, cn, c->q, &clo, &chi) == 0 && quantile_ci(bc, bn, c->q, &blo, &bhi) == 0;
    free(cc);
    free(bc);
    if (!ok) {
        snprintf(r->sig, sizeof r->sig, "no latency histogram in %s", cn > 0 ? "the baseline" : "this run");
        set_status(res, r, CMP_UNTESTED, "beyond the rule, not tested");
        return;
    }
    char a[32], b[32], x[32], y[32];
    report_fmt_ms(clo, a);
    report_fmt_ms(chi, b);
    report_fmt_ms(blo, x);
    report_fmt_ms(bhi, y);
    snprintf(r->sig, sizeof r->sig, "99%% CI %s-%s vs %s-%s%s", a, b, x, y, nm > 1 ? " (baseline runs pooled)" : "");
    if (clo <= bhi) { set_status(res, r, CMP_NOT_SIGNIFICANT, "beyond the rule, not significant"); return; }
    /* and over the run's seconds: a burst of load on the machine slows a few seconds of a
     * run, a slower service every one of them */
    double *cs = NULL, *bs = NULL;
    size_t ncs = 0, nbs = 0;
    series_add(c->lat_series, "p95", &cs, &ncs);
    for (size_t i = 0; i < nm; i++) series_add(m[i]->lat_series, "p95", &bs, &nbs);
    if (ncs >= MWU_MIN_SECONDS && nbs >= MWU_MIN_SECONDS) {
        double p = mwu_p_smaller(bs, nbs, cs, ncs);
        size_t l = strlen(r->sig);
        snprintf(r->sig + l, sizeof r->sig - l, "; per-second p95 U over %zu+%zu s: p=%.2g", ncs, nbs, p);
        if (p >= CMP_ALPHA) {
            free(cs);
            free(bs);
            set_status(res, r, CMP_NOT_SIGNIFICANT, "beyond the rule, not significant");
            return;
        }
    }
    free(cs);
    free(bs);
    set_status(res, r, CMP_REGRESSED, "REGRESSION");
}

/* the significance of a throughput drop: Mann-Whitney U on the per-second figures of this
 * run against the baseline runs' seconds pooled */
static void throughput_significance(struct cmp_result *res, struct cmp_row *r, const struct fig *c, const struct fig **m, size_t nm)
{
    size_t nx, ny = 0;
    double *x = series_values(c->series, &nx), *y = NULL;
    for (size_t i = 0; i < nm; i++) series_add(m[i]->series, "rps", &y, &ny);
    if (nx >= MWU_MIN_SECONDS && ny >= MWU_MIN_SECONDS) {
        double p = mwu_p_smaller(x, nx, y, ny);
        snprintf(r->sig, sizeof r->sig, "Mann-Whitney U over %zu+%zu s: p=%.2g", nx, ny, p);
        if (p < CMP_ALPHA) set_status(res, r, CMP_REGRESSED, "REGRESSION");
        else set_status(res, r, CMP_NOT_SIGNIFICANT, "beyond the rule, not significant");
    } else if (r->nbase >= CMP_MIN_BAND) {
        snprintf(r->sig, sizeof r->sig, "outside the band of %d runs", r->nbase);
        set_status(res, r, CMP_REGRESSED, "REGRESSION");
    } else {
        snprintf(r->sig, sizeof r->sig, "fewer than %d seconds of load per run", MWU_MIN_SECONDS);
        set_status(res, r, CMP_UNTESTED, "beyond the rule, not tested");
    }
    free(x);
    free(y);
}

/* c against the same figure of the baseline runs (m[0..nm), none NULL); usable: room for
 * nm of them, those with a value and enough requests */
static void judge_into(struct cmp_result *res, const struct fig *c, const struct fig **m, size_t nm, const struct fig **usable)
{
    struct cmp_row *r = row_new(res, c);
    int recovery = !strcmp(c->unit, "recovery");
    double min_n = c->q > 0 ? ceil(CMP_MIN_TAIL / (1.0 - c->q) - 1e-6) : 0;
    /* the usable baseline values: finite, and with enough requests for a percentile */
    double *v = fl_calloc(nm + 1, sizeof *v);
    size_t nv = 0, few_base = 0;
    for (size_t i = 0; i < nm; i++) {
        if (!isfinite(m[i]->v)) continue;
        if (c->q > 0 && m[i]->n < min_n) { few_base++; continue; }
        usable[nv] = m[i];
        v[nv++] = m[i]->v;
    }
    r->nbase = (int)nv;
    if (nv) {
        qsort(v, nv, sizeof *v, by_double);
        r->base = nv % 2 ? v[nv / 2] : (v[nv / 2 - 1] + v[nv / 2]) / 2;
        r->lo = v[0];
        r->hi = v[nv - 1];
        if (nv >= CMP_MIN_BAND) {
            /* the usual range: the median -+ 3 robust standard deviations (1.4826 MAD), within
             * lowest..highest, so one run slowed by a burst of machine load does not widen
             * it for the next K runs */
            double *dev = fl_calloc(nv, sizeof *dev);
            for (size_t i = 0; i < nv; i++) dev[i] = fabs(v[i] - r->base);
            qsort(dev, nv, sizeof *dev, by_double);
            double mad = nv % 2 ? dev[nv / 2] : (dev[nv / 2 - 1] + dev[nv / 2]) / 2, sd = 1.4826 * mad;
            free(dev);
            if (r->base - 3 * sd > r->lo) r->lo = r->base - 3 * sd;
            if (r->base + 3 * sd < r->hi) r->hi = r->base + 3 * sd;
        }
        r->ref = c->rule == CMP_THROUGHPUT ? r->lo : r->hi;
    }
    free(v);
    int any_base = 0;
    for (size_t i = 0; i < nm; i++) any_base |= isfinite(m[i]->v);
    if (c->q > 0 && ((isfinite(c->v) && c->n < min_n) || (any_base && !nv && few_base))) {
        /* shown, not judged: the band of every baseline run that has the figure */
        for (size_t i = 0; i < nm; i++) {
            if (!isfinite(m[i]->v)) continue;
            if (!isfinite(r->lo) || m[i]->v < r->lo) r->lo = m[i]->v;
            if (!isfinite(r->hi) || m[i]->v > r->hi) r->hi = m[i]->v;
        }
        if (!nv) { r->base = r->ref = r->hi; r->nbase = 0; }
        snprintf(r->sig, sizeof r->sig, "needs %.0f requests a run, has %.0f%s", min_n, isfinite(c->v) ? c->n : 0,
                 c->n >= min_n ? " (the baseline fewer)" : "");
        set_status(res, r, CMP_FEW, "too few requests to compare");
        return;
    }
    if (c->rule == CMP_NONE) { r->status = CMP_INFO; return; }
    if (!nv) {
        if (isfinite(c->v)) set_status(res, r, CMP_NEW, recovery ? "now recovers" : "new");
        else set_status(res, r, CMP_GONE, "gone");
        return;
    }
    if (!isfinite(c->v)) {
        if (recovery) {
            snprintf(r->sig, sizeof r->sig, "a recovery that did not happen");
            set_status(res, r, CMP_REGRESSED, "no longer recovers");
        } else set_status(res, r, CMP_GONE, "gone");
        return;
    }
    double limit, floor_;
    switch (c->rule) {
    case CMP_P95: limit = res->rules.p95; floor_ = FLOOR_MS; break;
    case CMP_DURATION: limit = res->rules.duration; floor_ = FLOOR_DURATION_MS; break;
    case CMP_THROUGHPUT: limit = res->rules.throughput; floor_ = FLOOR_RPS; break;
    default: limit = res->rules.memory; floor_ = 0; break;
    }
    int beyond, over_floor;
    if (c->rule == CMP_THROUGHPUT) {
        if (r->ref <= 0) { set_status(res, r, CMP_OK, "no baseline"); return; }
        beyond = c->v < r->ref * (1.0 - limit);
        over_floor = r->ref - c->v >= floor_;
    } else {
        if (r->ref <= 0 && !recovery) { set_status(res, r, CMP_OK, "no baseline"); return; }
        beyond = c->v > r->ref * (1.0 + limit) && c->v > r->ref;
        over_floor = c->v - r->ref >= floor_;
    }
    if (!beyond) { set_status(res, r, CMP_OK, "ok"); return; }
    if (!over_floor) { set_status(res, r, CMP_FLOOR, "ok (under the noise floor)"); return; }
    if (c->rule == CMP_P95) latency_significance(res, r, c, usable, nv);
    else if (c->rule == CMP_THROUGHPUT) throughput_significance(res, r, c, usable, nv);
    else if (r->nbase >= CMP_MIN_BAND) {
        snprintf(r->sig, sizeof r->sig, "outside the band of %d runs", r->nbase);
        set_status(res, r, CMP_REGRESSED, "REGRESSION");
    } else if (c->rule == CMP_MEMORY) {
        /* a container's memory is read, not timed: the machine's noise does not move it, so
         * the users' rule alone decides until a band of runs exists (a leak between two runs
         * is what `compare --memory` is for) */
        snprintf(r->sig, sizeof r->sig, "memory is read, not timed: the rule alone until a baseline of %d runs", CMP_MIN_BAND);
        set_status(res, r, CMP_REGRESSED, "REGRESSION");
    } else {
        snprintf(r->sig, sizeof r->sig, "one value a run: needs a baseline of %d runs", CMP_MIN_BAND);
        set_status(res, r, CMP_UNTESTED, "beyond the rule, not tested");
    }
}

static void judge(struct cmp_result *res, const struct fig *c, const struct fig **m, size_t nm)
{
    const struct fig **usable = fl_calloc(nm + 1, sizeof *usable);
    judge_into(res, c, m, nm, usable);
    free(usable);
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

int cmp_baseline(const json_t *const *bases, size_t nb, const json_t *cur, const struct cmp_rules *rules,
                 struct cmp_result *res, char *err)
{
    memset(res, 0, sizeof *res);
    res->rules = *rules;
    res->nbases = (int)nb;
    if (!nb) return fl_err(err, "no baseline run to compare with");
    for (size_t i = 0; i < nb; i++)
        if (check_record(bases[i], "BASE", err) < 0) return -1;
    if (check_record(cur, "CURRENT", err) < 0) return -1;
    const json_t *last = bases[nb - 1];
    const char *bn = report_jstr(json_object_get(last, "plan"), "name", NULL);
    const char *cn = report_jstr(json_object_get(cur, "plan"), "name", NULL);
    if (bn && cn && strcmp(bn, cn)) note(res, fl_asprintf("the runs are of different plans ('%s' and '%s')", bn, cn));
    const char *bh = report_jstr(json_object_get(last, "plan"), "hash", NULL);
    const char *ch = report_jstr(json_object_get(cur, "plan"), "hash", NULL);
    if (bn && cn && !strcmp(bn, cn) && bh && ch && strcmp(bh, ch)) note(res, fl_asprintf("the plan changed between the runs (%s, then %s)", bh, ch));

    struct figs cf, *bf = fl_calloc(nb, sizeof *bf);
    figs_of(cur, &cf);
    int base_memory = 0;
    for (size_t i = 0; i < nb; i++) {
        figs_of(bases[i], &bf[i]);
        base_memory |= bf[i].has_memory;
    }
    /* groups on one side only: one note each */
    for (size_t i = 0; i < bf[nb - 1].n; i++) {
        const char *g = bf[nb - 1].f[i].group;
        if (group_in(&cf, g)) continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(bf[nb - 1].f[k].group, g);
        if (!seen && !(bf[nb - 1].f[i].rule == CMP_MEMORY && !cf.has_memory)) note(res, fl_asprintf("%s is only in BASE", g));
    }
    const struct fig **m = fl_calloc(nb + 1, sizeof *m);
    for (size_t i = 0; i < cf.n; i++) {
        const struct fig *c = &cf.f[i];
        size_t nm = 0;
        for (size_t k = 0; k < nb; k++) {
            const struct fig *f = fig_find(&bf[k], c->name);
            if (f) m[nm++] = f;
        }
        if (!nm) {
            int seen = 0;
            for (size_t k = 0; k < i && !seen; k++) seen = !strcmp(cf.f[k].group, c->group);
            if (!seen && !(c->rule == CMP_MEMORY && !base_memory)) note(res, fl_asprintf("%s is only in CURRENT", c->group));
            continue;
        }
        if (c->inconclusive || m[nm - 1]->inconclusive) {
            /* no evidence on one side: neither a regression nor an improvement */
            note(res, fl_asprintf("%s is inconclusive in %s: not compared", c->group, c->inconclusive ? "CURRENT" : "BASE"));
            res->not_compared++;
            continue;
        }
        if (!strcmp(c->unit, "recovery") && !isfinite(c->v)) {
            int any = 0;
            for (size_t k = 0; k < nm; k++) any |= isfinite(m[k]->v);
            if (!any) { note(res, fl_asprintf("%s recovered in neither run", c->group)); continue; }
        }
        size_t keep = 0;   /* inconclusive baseline runs of a recovery are no evidence */
        for (size_t k = 0; k < nm; k++)
            if (!m[k]->inconclusive) m[keep++] = m[k];
        judge(res, c, m, keep);
    }
    free(m);
    if (!cf.has_memory || !base_memory)
        note(res, fl_asprintf("memory: not recorded in %s; the memory rule (+%g%%) was skipped",
                              !cf.has_memory && !base_memory ? "either run.json" : !base_memory ? "BASE" : "CURRENT",
                              res->rules.memory * 100));
    figs_release(&cf);
    for (size_t i = 0; i < nb; i++) figs_release(&bf[i]);
    free(bf);
    return 0;
}

int cmp_runs(const json_t *base, const json_t *cur, const struct cmp_rules *r, struct cmp_result *res, char *err)
{
    const json_t *b[1] = { base };
    return cmp_baseline(b, 1, cur, r, res, err);
}

/* ---- for people -------------------------------------------------------------------------- */
void cmp_value_text(const struct cmp_row *r, double v, char out[48])
{
    char t[32];
    if (!isfinite(v)) { snprintf(out, 48, "-"); return; }
    if (!strcmp(r->unit, "ms")) { report_fmt_ms(v, t); snprintf(out, 48, "%s", t); }
    else if (!strcmp(r->unit, "duration") || !strcmp(r->unit, "recovery")) { report_fmt_time(v, t); snprintf(out, 48, "%s", t); }
    else if (!strcmp(r->unit, "rps")) snprintf(out, 48, "%.1f/s", v);
    else if (!strcmp(r->unit, "ratio")) snprintf(out, 48, "%.2f%%", v * 100);
    else snprintf(out, 48, "%g", v);
}

void cmp_change_text(const struct cmp_row *r, char out[32])
{
    double ref = isfinite(r->ref) ? r->ref : r->base;
    if (!isfinite(r->cur) && isfinite(ref)) snprintf(out, 32, "gone");
    else if (isfinite(r->cur) && !isfinite(ref)) snprintf(out, 32, r->nbase || r->status == CMP_NEW ? "new" : "-");
    else if (!isfinite(r->cur)) snprintf(out, 32, "-");
    else if (ref == 0) snprintf(out, 32, r->cur == 0 ? "0%%" : "new");
    else snprintf(out, 32, "%+.1f%%", (r->cur - ref) / ref * 100);
}

/* "9.8ms" for one baseline run, "9.8ms..11.0ms" for a band */
static void baseline_text(const struct cmp_row *r, char out[100])
{
    char a[48], b[48];
    if (r->nbase <= 1 || r->lo == r->hi) { cmp_value_text(r, r->nbase ? r->ref : r->base, a); snprintf(out, 100, "%s", a); return; }
    cmp_value_text(r, r->lo, a);
    cmp_value_text(r, r->hi, b);
    snprintf(out, 100, "%s..%s", a, b);
}

void cmp_format(const struct cmp_result *res, struct buf *out)
{
    size_t w = strlen("figure");
    for (size_t i = 0; i < res->nrows; i++) {
        size_t l = strlen(res->rows[i].figure);
        if (l > w) w = l;
    }
    if (w > 60) w = 60;
    const char *bh = res->nbases > 1 ? "baseline band" : "base";
    int bw = res->nbases > 1 ? 22 : 10;
    if (res->nbases > 1)
        buf_addf(out, "baseline: the last %d passing runs (the band: lowest..highest; the rule applies to its worse edge)\n",
                 res->nbases);
    buf_addf(out, "%-*s  %*s  %10s  %8s  %-16s %s\n", (int)w, "figure", bw, bh, "current", "change", "rule", "status");
    for (size_t i = 0; i < res->nrows; i++) {
        const struct cmp_row *r = &res->rows[i];
        char b[100], c[48], ch[32], rule[32];
        baseline_text(r, b);
        cmp_value_text(r, r->cur, c);
        cmp_change_text(r, ch);
        double lim = r->rule == CMP_P95 ? res->rules.p95 : r->rule == CMP_DURATION ? res->rules.duration
                   : r->rule == CMP_THROUGHPUT ? res->rules.throughput : res->rules.memory;
        if (r->rule == CMP_NONE) snprintf(rule, sizeof rule, "-");
        else snprintf(rule, sizeof rule, "%s %c%g%%", cmp_rule_name(r->rule), r->rule == CMP_THROUGHPUT ? '-' : '+', lim * 100);
        buf_addf(out, "%-*.*s  %*s  %10s  %8s  %-16s %s%s%s%s\n", (int)w, (int)w, r->figure, bw, b, c, ch, rule, r->why,
                 r->sig[0] ? " (" : "", r->sig, r->sig[0] ? ")" : "");
    }
    for (size_t i = 0; i < res->nnotes; i++) buf_addf(out, "note: %s\n", res->notes[i]);
    if (res->regressions)
        buf_addf(out, "%d regression%s", res->regressions, res->regressions == 1 ? "" : "s");
    else if (cmp_undecided(res))
        buf_adds(out, "no regression among the figures compared");   /* not a pass: some could not be */
    else
        buf_adds(out, "no regression");
    buf_addf(out, " (p95 +%g%%, duration +%g%%, throughput -%g%%, memory +%g%%; significant at %g%%)", res->rules.p95 * 100,
             res->rules.duration * 100, res->rules.throughput * 100, res->rules.memory * 100, CMP_ALPHA * 100);
    if (res->few) buf_addf(out, "; %d figure%s with too few requests to compare", res->few, res->few == 1 ? "" : "s");
    if (res->not_significant) buf_addf(out, "; %d beyond the rule but not significant", res->not_significant);
    if (res->untested) buf_addf(out, "; %d beyond the rule, not tested", res->untested);
    if (res->not_compared)
        buf_addf(out, "; %d inconclusive in a run, not compared", res->not_compared);
    buf_adds(out, "\n");
}

static json_t *jnum_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *cmp_rows_json(const struct cmp_result *res)
{
    static const char *const names[] = { "info", "ok", "ok (under the noise floor)", "not significant", "not tested",
                                         "too few requests", "new", "gone", "regression" };
    json_t *a = json_array();
    for (size_t i = 0; i < res->nrows; i++) {
        const struct cmp_row *r = &res->rows[i];
        if (r->rule == CMP_NONE && r->status != CMP_FEW) continue;
        char ch[32];
        cmp_change_text(r, ch);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:[o, o], s:i, s:o, s:s, s:s, s:s, s:s, s:b}", "figure",
                                           r->figure, "metric", cmp_rule_name(r->rule), "unit", r->unit, "baseline",
                                           jnum_or_null(r->base), "band", jnum_or_null(r->lo), jnum_or_null(r->hi), "runs",
                                           r->nbase, "now", jnum_or_null(r->cur), "change", ch, "significance", r->sig,
                                           "status", names[r->status], "why", r->why, "regressed", r->regressed));
    }
    return a;
}

json_t *cmp_figures(const json_t *rec)
{
    json_t *out = json_array();
    if (!json_is_object(rec)) return out;
    struct figs fs;
    figs_of(rec, &fs);
    for (size_t i = 0; i < fs.n; i++)
        if (fs.f[i].rule != CMP_NONE)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o}", "figure", fs.f[i].name, "unit", fs.f[i].unit, "metric",
                                                 cmp_rule_name(fs.f[i].rule), "value", jnum_or_null(fs.f[i].v)));
    figs_release(&fs);
    return out;
}

void cmp_release(struct cmp_result *res)
{
    for (size_t i = 0; i < res->nrows; i++) free(res->rows[i].figure);
    for (size_t i = 0; i < res->nnotes; i++) free(res->notes[i]);
    free(res->rows);
    free(res->notes);
    memset(res, 0, sizeof *res);
}
