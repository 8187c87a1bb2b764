/* value.c -- durations, rates, percentages, sizes and expectations of the plan syntax. */
#include "value.h"
#include "suggest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const val_load_metrics[] = { "p50", "p90", "p95", "p99", "max", "mean", "min", "rps", "ok_rps",
                                         "error_rate", "count", "errors", NULL };

static const char *skip_ws(const char *s) { while (*s && isspace((unsigned char)*s)) s++; return s; }

/* number at s; returns the end or NULL */
static const char *parse_num(const char *s, double *v)
{
    char *end;
    s = skip_ws(s);
    if (!*s || (!isdigit((unsigned char)*s) && *s != '.' && *s != '-' && *s != '+')) return NULL;
    double d = strtod(s, &end);
    if (end == s || !isfinite(d)) return NULL;
    *v = d;
    return end;
}

/* one unit word -> microseconds per unit, and its rank (h > m > s > ms > us), 0 if unknown */
static double duration_unit(const char *u, size_t n, int *rank)
{
    static const struct { const char *name; double mul; int rank; } units[] = {
        { "h", 3600e6, 5 }, { "m", 60e6, 4 }, { "min", 60e6, 4 }, { "s", 1e6, 3 },
        { "ms", 1e3, 2 },   { "us", 1, 1 },   { "\xc2\xb5s", 1, 1 } };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && !memcmp(units[i].name, u, n)) { *rank = units[i].rank; return units[i].mul; }
    return 0;
}

/* "250ms", "1.5s", or a compound "1m30s" / "1h2m3s" / "2s500ms" (as Go, k6, Docker and
 * systemd write them): number-unit pairs, largest unit first, each unit once */
int val_duration_us(const char *s, int64_t *us, char *err)
{
    double v;
    const char *p = s ? parse_num(s, &v) : NULL;
    if (!p) return fl_err(err, "'%s' is not a duration (like 250ms, 30s, 1m30s, 1h)", s ? s : "");
    p = skip_ws(p);
    if (*p == '\0') {
        if (v == 0) { *us = 0; return 0; }
        return fl_err(err, "'%s' is not a duration: give a unit (ms, s, m, h)", s);
    }
    if (v < 0) return fl_err(err, "'%s' is not a duration: negative", s);
    double total = 0;
    int last_rank = 99;
    for (;;) {
        const char *u = p;
        while (isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80) p++;
        size_t ul = (size_t)(p - u);
        int rank = 0;
        double mul = duration_unit(u, ul, &rank);
        if (ul == 0) return fl_err(err, "'%s' is not a duration: unexpected '%s'", s, u);
        if (!mul) {
            /* name the word alone when the rest is a number-unit pair ("1m30x" -> 'x') */
            return fl_err(err, "'%s' is not a duration: unknown unit '%.*s' (use ms, s, m, h, or compounds like 1m30s)", s,
                          (int)ul, u);
        }
        if (rank >= last_rank)
            return fl_err(err, "'%s' is not a duration: write its units from largest to smallest, each once (like 1h2m3s)", s);
        last_rank = rank;
        total += v * mul;
        p = skip_ws(p);
        if (*p == '\0') break;
        if (!isdigit((unsigned char)*p) && *p != '.')
            return fl_err(err, "'%s' is not a duration: unexpected '%s'", s, p);
        const char *q = parse_num(p, &v);
        if (!q) return fl_err(err, "'%s' is not a duration: unexpected '%s'", s, p);
        p = skip_ws(q);
        if (*p == '\0') return fl_err(err, "'%s' is not a duration: its last number has no unit", s);
    }
    if (total > 1e15) return fl_err(err, "'%s' is too long a duration", s);
    *us = (int64_t)llround(total);
    return 0;
}

int val_duration_ms(const char *s, int64_t *ms, char *err)
{
    int64_t us;
    if (val_duration_us(s, &us, err) < 0) return -1;
    *ms = (us + 500) / 1000;
    if (us > 0 && *ms == 0) *ms = 1;
    return 0;
}

int val_duration_range(const char *s, int64_t *lo, int64_t *hi, char *err)
{
    const char *dots = s ? strstr(s, "..") : NULL;
    if (!dots) {
        if (val_duration_ms(s, lo, err) < 0) return -1;
        *hi = *lo;
        return 0;
    }
    char a[64];
    size_t n = (size_t)(dots - s);
    if (n >= sizeof a) return fl_err(err, "'%s' is not a duration range", s);
    memcpy(a, s, n);
    a[n] = '\0';
    if (val_duration_ms(a, lo, err) < 0 || val_duration_ms(dots + 2, hi, err) < 0) return -1;
    if (*hi < *lo) return fl_err(err, "'%s': the range's end is before its start", s);
    return 0;
}

void val_fmt_duration(int64_t ms, char out[32])
{
    if (ms >= 3600000 && ms % 3600000 == 0) snprintf(out, 32, "%lldh", (long long)(ms / 3600000));
    else if (ms >= 60000 && ms % 60000 == 0) snprintf(out, 32, "%lldm", (long long)(ms / 60000));
    else if (ms >= 1000 && ms % 1000 == 0) snprintf(out, 32, "%llds", (long long)(ms / 1000));
    else if (ms >= 1000) snprintf(out, 32, "%.3gs", ms / 1000.0);
    else snprintf(out, 32, "%lldms", (long long)ms);
}

int val_rate(const char *s, double *per_s, char *err)
{
    double v;
    const char *p = s ? parse_num(s, &v) : NULL;
    if (!p) return fl_err(err, "'%s' is not a rate (like 200/s or 12000/m)", s ? s : "");
    p = skip_ws(p);
    if (*p != '/') return fl_err(err, "'%s' is not a rate: write it as N/s, N/m or N/h", s);
    p = skip_ws(p + 1);
    double div;
    if (strcmp(p, "s") == 0) div = 1;
    else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0) div = 60;
    else if (strcmp(p, "h") == 0) div = 3600;
    else return fl_err(err, "'%s' is not a rate: unknown unit '/%s' (use /s, /m, /h)", s, p);
    if (v <= 0) return fl_err(err, "'%s' is not a rate: must be above zero", s);
    *per_s = v / div;
    return 0;
}

int val_percent(const char *s, double *frac, int allow_frac, char *err)
{
    double v;
    const char *p = s ? parse_num(s, &v) : NULL;
    if (!p) return fl_err(err, "'%s' is not a percentage (like 5%%)", s ? s : "");
    p = skip_ws(p);
    if (*p == '%' && *skip_ws(p + 1) == '\0') v /= 100.0;
    else if (*p != '\0' || !allow_frac) return fl_err(err, "'%s' is not a percentage (like 5%%)", s);
    if (v < 0 || v > 1) return fl_err(err, "'%s' is out of range (0%% to 100%%)", s);
    *frac = v;
    return 0;
}

int val_bytes(const char *s, int64_t *bytes, char *err)
{
    double v;
    const char *p = s ? parse_num(s, &v) : NULL;
    if (!p || v < 0) return fl_err(err, "'%s' is not a size (like 64mb)", s ? s : "");
    p = skip_ws(p);
    char u[8] = "";
    size_t i = 0;
    for (; p[i] && i < sizeof u - 1; i++) u[i] = (char)tolower((unsigned char)p[i]);
    u[i] = '\0';
    if (p[i]) return fl_err(err, "'%s' is not a size (like 64mb)", s);
    double mul;
    if (!*u || !strcmp(u, "b")) mul = 1;
    else if (!strcmp(u, "kb") || !strcmp(u, "k") || !strcmp(u, "kib")) mul = 1024;
    else if (!strcmp(u, "mb") || !strcmp(u, "m") || !strcmp(u, "mib")) mul = 1024.0 * 1024;
    else if (!strcmp(u, "gb") || !strcmp(u, "g") || !strcmp(u, "gib")) mul = 1024.0 * 1024 * 1024;
    else return fl_err(err, "'%s' is not a size: unknown unit '%s' (b, kb, mb, gb)", s, u);
    double b = v * mul;
    if (!isfinite(b) || b > 4611686018427387904.0) return fl_err(err, "'%s' is too large", s); /* 2^62 */
    *bytes = (int64_t)llround(b);
    return 0;
}

/* ---- expectations -------------------------------------------------------------------- */
const char *expect_op_str(enum exp_op op)
{
    static const char *const s[] = { "<", "<=", ">", ">=", "==", "!=" };
    return s[op];
}

static int parse_op(const char *s, enum exp_op *op)
{
    if (!strncmp(s, "<=", 2)) { *op = EXP_LE; return 2; }
    if (!strncmp(s, ">=", 2)) { *op = EXP_GE; return 2; }
    if (!strncmp(s, "==", 2)) { *op = EXP_EQ; return 2; }
    if (!strncmp(s, "!=", 2)) { *op = EXP_NE; return 2; }
    if (*s == '<') { *op = EXP_LT; return 1; }
    if (*s == '>') { *op = EXP_GT; return 1; }
    if (*s == '=') { *op = EXP_EQ; return 1; }
    return 0;
}

static int is_latency_metric(const char *m)
{
    return m[0] == 'p' ? isdigit((unsigned char)m[1]) : (!strcmp(m, "max") || !strcmp(m, "mean") || !strcmp(m, "min") ||
                                                          !strcmp(m, "latency"));
}

static int is_fraction_metric(const char *m)
{
    return !strcmp(m, "error_rate") || !strcmp(m, "accuracy") || !strcmp(m, "answered") || !strcmp(m, "availability");
}

/* operand text -> number in the metric's unit */
static int operand(const char *metric, const char *txt, struct expect *e, char *err)
{
    double v;
    const char *p = parse_num(txt, &v);
    if (!p) return fl_err(err, "expectation '%s': '%s' is not a number", e->text, txt);
    p = skip_ws(p);
    if (*p == '%') {
        p = skip_ws(p + 1);
        if (!strncmp(p, "of baseline", 11) && *skip_ws(p + 11) == '\0') {
            if (!metric) return fl_err(err, "expectation '%s': 'of baseline' needs a metric", e->text);
            e->of_baseline = 1;
        } else if (*p) {
            return fl_err(err, "expectation '%s': unexpected '%s' after the percentage", e->text, p);
        }
        e->num = v / 100.0;
        e->unit = EXP_UNIT_FRACTION;
        return 0;
    }
    if (*p && metric && is_latency_metric(metric)) {
        int64_t us;
        if (val_duration_us(txt, &us, err) < 0)
            return fl_err(err, "expectation '%s': '%s' is not a duration", e->text, skip_ws(txt));
        e->num = us / 1000.0;
        e->unit = EXP_UNIT_MS;
        return 0;
    }
    if (*p) {
        int64_t us;
        if (val_duration_us(txt, &us, NULL) == 0) { e->num = us / 1000.0; e->unit = EXP_UNIT_MS; return 0; }
        return fl_err(err, "expectation '%s': unexpected '%s' after the number", e->text, p);
    }
    if (metric && is_latency_metric(metric))
        return fl_err(err, "expectation '%s': give '%s' a unit (like 500ms or 2s)", e->text, metric);
    if (metric && is_fraction_metric(metric))
        return fl_err(err, "expectation '%s': write '%s' as a percentage (like 1%%)", e->text, metric);
    e->num = v;
    e->unit = EXP_UNIT_NONE;
    return 0;
}

int expect_parse(const char *s, const char *const *metrics, struct expect *e, char *err)
{
    memset(e, 0, sizeof *e);
    if (!s) return fl_err(err, "empty expectation");
    e->text = fl_strdup(s);
    const char *p = skip_ws(s);
    if (!*p) { expect_release(e); return fl_err(err, "empty expectation"); }
    enum exp_op op;
    int ol = parse_op(p, &op);
    if (ol) { /* bare comparison: "< 100" */
        e->op = op;
        e->is_num = 1;
        if (operand(NULL, p + ol, e, err) < 0) { expect_release(e); return -1; }
        return 0;
    }
    /* metric name? */
    const char *q = p;
    while (*q && (isalnum((unsigned char)*q) || *q == '_')) q++;
    const char *after = skip_ws(q);
    int has_op = parse_op(after, &op);
    if (q > p && has_op) {
        e->metric = fl_strndup(p, (size_t)(q - p));
        int known = 0;
        for (size_t i = 0; metrics && metrics[i]; i++) if (!strcmp(metrics[i], e->metric)) known = 1;
        if (!known) {
            char hint[512] = "";
            if (metrics) suggest_hint(hint, sizeof hint, e->metric, metrics, "known");
            fl_err(err, metrics ? "expectation '%s': unknown metric '%s'%s"
                                : "expectation '%s': this probe compares one result, not a metric '%s'%s",
                   s, e->metric, hint);
            expect_release(e);
            return -1;
        }
        e->op = op;
        e->is_num = 1;
        if (operand(e->metric, after + has_op, e, err) < 0) { expect_release(e); return -1; }
        return 0;
    }
    /* "exit N" for exec */
    if (!strncmp(p, "exit ", 5)) {
        double v;
        const char *r = parse_num(p + 5, &v);
        if (r && *skip_ws(r) == '\0') {
            e->metric = fl_strdup("exit");
            e->op = EXP_EQ;
            e->is_num = 1;
            e->num = v;
            return 0;
        }
    }
    if (metrics && !metrics[0] ) {}
    /* bare value: string (or number) equality */
    if (q > p && *after && metrics) {
        fl_err(err, "expectation '%s': expected '<metric> <op> <value>' with op one of < <= > >= == !=", s);
        expect_release(e);
        return -1;
    }
    e->op = EXP_EQ;
    double v;
    const char *r = parse_num(p, &v);
    if (r && *skip_ws(r) == '\0') { e->is_num = 1; e->num = v; }
    e->str = fl_strdup(p);
    return 0;
}

void expect_release(struct expect *e)
{
    free(e->text);
    free(e->metric);
    free(e->str);
    memset(e, 0, sizeof *e);
}

static int cmp(enum exp_op op, double a, double b)
{
    switch (op) {
    case EXP_LT: return a < b;
    case EXP_LE: return a <= b;
    case EXP_GT: return a > b;
    case EXP_GE: return a >= b;
    case EXP_EQ: return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1);
    case EXP_NE: return !(fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1));
    }
    return 0;
}

int expect_eval_num(const struct expect *e, double v) { return cmp(e->op, v, e->num); }

int expect_eval_str(const struct expect *e, const char *s)
{
    if (!s) return 0;
    double v;
    const char *r = parse_num(s, &v);
    int s_is_num = r && *skip_ws(r) == '\0';
    if (e->is_num && s_is_num) return cmp(e->op, v, e->num);
    if (e->is_num && !e->str) return 0; /* "< 100" against a non-number */
    const char *want = e->str ? e->str : "";
    int eq = strcmp(s, want) == 0;
    return e->op == EXP_NE ? !eq : (e->op == EXP_EQ ? eq : 0);
}
