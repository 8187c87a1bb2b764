/* load.c -- the `load` probe: expectations over a load block's metrics in the probe's window
 * (`- load: readers, during: db-down, expect: ["p95 < 2s", "ok_rps >= 50% of baseline"]`).
 *
 * Evidence is completed requests: a window with fewer than the probe's min_evidence
 * (default 1) is inconclusive, not passed or failed, and so is a baseline window with none.
 * With `min_evidence: 0` and no request at all, only what is defined without requests is
 * judged (count, errors, rps, ok_rps); latencies and error_rate are not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe.h"
#include "value.h"

struct pload_cfg {
    char *block;
    struct expect *ex;
    size_t nex;
    int need_baseline;
};

static const struct param_spec pload_params[] = {
    { "expect", PT_EXPECTS, PARAM_REQUIRED,
      "expectations over the window: p50 p90 p95 p99 max mean min rps ok_rps error_rate count errors "
      "(\"ok_rps >= 50% of baseline\"; rps counts failed requests too)" },
    { 0 } };

static void pload_free(void *cfg)
{
    struct pload_cfg *c = cfg;
    if (!c) return;
    free(c->block);
    for (size_t i = 0; i < c->nex; i++) expect_release(&c->ex[i]);
    free(c->ex);
    free(c);
}

static int pload_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg, struct diag *d)
{
    if (!val || val->type != NODE_SCALAR) return -1;
    int bad = 0;
    char hint[512];
    if (!drv_has_load_block(pc, val->str) && drv_name_unknown(pc, DRV_LOADS, val->str, hint, sizeof hint)) {
        diag_add(d, val, "load probe: no load block named '%s'%s", val->str, hint);
        bad++;
    }
    const struct node *en = node_get(entry, "expect");
    if (!en) return -1;
    struct pload_cfg *c = fl_calloc(1, sizeof *c);
    c->block = fl_strdup(val->str);
    size_t n = en->type == NODE_SEQ ? en->n : 1;
    c->ex = fl_calloc(n ? n : 1, sizeof *c->ex);
    for (size_t i = 0; i < n; i++) {
        const struct node *e = en->type == NODE_SEQ ? en->items[i] : en;
        char err[FL_ERR_LEN];
        struct expect x;
        if (e->type != NODE_SCALAR || expect_parse(e->str, val_load_metrics, &x, err) < 0) {
            if (e->type != NODE_SCALAR) diag_add(d, e, "load probe: expect: items must be text");
            else diag_add(d, e, "load probe: %s", err);
            bad++;
            continue;
        }
        if (!x.metric) {
            diag_add(d, e, "load probe: '%s' must be '<metric> <op> <value>'", e->str);
            expect_release(&x);
            bad++;
            continue;
        }
        if (!x.of_baseline && (!strcmp(x.metric, "rps") || !strcmp(x.metric, "ok_rps")) && x.unit == EXP_UNIT_FRACTION) {
            diag_add(d, e, "load probe: '%s': a percentage of %s needs 'of baseline'", e->str, x.metric);
            expect_release(&x);
            bad++;
            continue;
        }
        if (x.of_baseline) c->need_baseline = 1;
        c->ex[c->nex++] = x;
    }
    if (bad) {
        pload_free(c);
        return -1;
    }
    *cfg = c;
    return 0;
}

static void fmt_metric(char *out, size_t n, const char *metric, double v)
{
    if (!strcmp(metric, "error_rate")) snprintf(out, n, "%s=%.2f%%", metric, v * 100);
    else if (!strcmp(metric, "rps") || !strcmp(metric, "ok_rps")) snprintf(out, n, "%s=%.1f", metric, v);
    else if (!strcmp(metric, "count") || !strcmp(metric, "errors")) snprintf(out, n, "%s=%.0f", metric, v);
    else if (v >= 1000) snprintf(out, n, "%s=%.2fs", metric, v / 1000);
    else snprintf(out, n, "%s=%.1fms", metric, v);
}

/* metrics that mean something without a completed request */
static int defined_without_requests(const char *m)
{
    return !strcmp(m, "count") || !strcmp(m, "errors") || !strcmp(m, "rps") || !strcmp(m, "ok_rps");
}

static int pload_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct pload_cfg *c = pi->cfg;
    const struct drv_ctx *ctx = pi->ctx;
    long need = pi->spec ? pi->spec->min_evidence : 1;
    struct lg_stats st, base;
    int q = drv_load_query(ctx, c->block, pi->win_from_ms, pi->win_to_ms, &st);
    if (q == DRV_LOAD_NOT_RUNNING) return fl_err(err, "load '%s' is not running", c->block);
    if (q < 0) return fl_err(err, "no load block named '%s'", c->block);
    obs->evidence = (long)st.count;
    if ((long)st.count < need) {
        obs->outcome = PROBE_INCONCLUSIVE;
        snprintf(obs->observed, sizeof obs->observed,
                 "no evidence: %llu request%s of load '%s' completed in %lld..%lld ms (min_evidence %ld)",
                 (unsigned long long)st.count, st.count == 1 ? "" : "s", c->block, (long long)pi->win_from_ms,
                 (long long)pi->win_to_ms, need);
        return 0;
    }
    int have_base = 0;
    if (c->need_baseline) {
        if (ctx->baseline_to_ms <= ctx->baseline_from_ms)
            return fl_err(err, "load '%s': no baseline window before the first fault", c->block);
        drv_load_query(ctx, c->block, ctx->baseline_from_ms, ctx->baseline_to_ms, &base);
        have_base = base.count > 0;
        if (!have_base && need > 0)
            return fl_err(err, "load '%s': no request completed in the baseline window %lld..%lld ms", c->block,
                          (long long)ctx->baseline_from_ms, (long long)ctx->baseline_to_ms);
    }
    int ok = 1, no_reference = 0;
    size_t len = 0;
    for (size_t i = 0; i < c->nex; i++) {
        const struct expect *e = &c->ex[i];
        double v = lg_metric(&st, e->metric);
        int judged = st.count || defined_without_requests(e->metric);
        char part[96];
        fmt_metric(part, sizeof part, e->metric, v);
        int holds = 1, noref = 0;
        if (e->of_baseline && !have_base) {
            judged = 0;
            size_t pl = strlen(part);
            snprintf(part + pl, sizeof part - pl, " (no baseline)");
        } else if (e->of_baseline && e->op == EXP_GE && lg_metric(&base, e->metric) == 0) {
            /* a share of 0 is 0: "ok_rps >= 50% of baseline" would hold whatever came (while
             * "error_rate <= 150% of baseline" against 0 errors is a real check: none allowed) */
            judged = 0;
            no_reference = noref = 1;
            size_t pl = strlen(part);
            snprintf(part + pl, sizeof part - pl, " (baseline 0: no reference)");
        } else if (e->of_baseline) {
            struct expect t = *e;
            double bv = lg_metric(&base, e->metric);
            t.num = e->num * bv;
            t.of_baseline = 0;
            holds = expect_eval_num(&t, v);
            size_t pl = strlen(part);
            snprintf(part + pl, sizeof part - pl, " (%.0f%% of baseline)", bv > 0 ? v / bv * 100 : 0.0);
        } else if (judged) {
            holds = expect_eval_num(e, v);
        }
        if (!judged && !noref) snprintf(part, sizeof part, "%s=n/a", e->metric);
        if (judged && !holds) ok = 0;
        if (i == 0 && judged) {
            obs->has_value = 1;
            obs->value = v;
        }
        int w = snprintf(obs->observed + len, sizeof obs->observed - len, "%s%s%s", i ? " " : "", part,
                         judged && !holds ? "!" : "");
        if (w > 0 && (size_t)w < sizeof obs->observed - len) len += (size_t)w;
    }
    obs->outcome = !ok ? PROBE_FAILED : no_reference ? PROBE_INCONCLUSIVE : PROBE_PASSED;
    snprintf(obs->observed + len, sizeof obs->observed - len, " (n=%llu)", (unsigned long long)st.count);
    return 0;
}

static void pload_describe(const void *cfg, struct buf *out)
{
    const struct pload_cfg *c = cfg;
    buf_addf(out, "load '%s':", c->block);
    for (size_t i = 0; i < c->nex; i++) buf_addf(out, "%s %s", i ? "," : "", c->ex[i].text);
}

const struct probe_ops probe_load = {
    .name = "load",
    .summary = "expectations over a load block's metrics in the probe's window",
    .params = pload_params,
    .scalar_valued = 1,
    .parse = pload_parse,
    .check = pload_check,
    .describe = pload_describe,
    .free_cfg = pload_free,
    .sched = PROBE_OVER_WINDOW,
};
