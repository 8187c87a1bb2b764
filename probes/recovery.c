/* recovery.c -- the `recovery` probe: time from a step's revert until a probe passes
 * `stable:` times in a row (or, in the load form, until 1-second load windows meet an
 * expectation `stable:` seconds in a row), judged against `within:`.
 *
 * Evidence. Only conclusive checks count: a one-second window in which no request of the
 * block completed, or an until: check that could not be made (inconclusive), is no
 * evidence: it neither counts toward `stable` nor breaks a streak. So a block of one user
 * thinking 2 s between requests recovers as soon as its requests succeed, and every
 * request failing stays "not recovered". The outcome:
 *   passed        `stable` passes in a row, the first no later than within:
 *   failed        evidence that it did not recover in time: the last evidence failed, or
 *                 the first pass of the last streak came after within:
 *   inconclusive  no evidence at all, or a streak begun in time that the window closed on
 *                 before it reached `stable` (e.g. the load ended), or still failing when
 *                 the load ended (load form) or the run was aborted before within: had passed
 * obs->evidence counts the conclusive checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe.h"
#include "value.h"

struct rec_cfg {
    char *from;
    struct probe_spec *until;     /* probe form */
    char *load;                   /* load form: block name ... */
    struct expect load_expect;    /* ... and the expectation per 1 s window */
    int64_t every_ms;
    int stable;
    int64_t within_ms;
    int from_inject;
};

static const struct param_spec rec_params[] = {
    { "from", PT_STR, PARAM_REQUIRED, "the method step whose revert starts the clock" },
    { "until", PT_ANY, PARAM_REQUIRED, "a probe ({ http: {...} }), or with load: an expectation like \"error_rate < 1%\"" },
    { "load", PT_STR, 0, "load form: judge this load block's 1-second windows" },
    { "every", PT_DURATION, 0, "check interval, the measurement's resolution (default 1s)" },
    { "stable", PT_INT, 0, "consecutive passes that count as recovered (default 3)" },
    { "within", PT_DURATION, PARAM_REQUIRED, "recovery slower than this fails" },
    { "start", PT_STR, 0, "revert (default) or inject: when the clock starts" },
    { 0 } };

static int rec_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg, struct diag *d)
{
    (void)entry;
    struct rec_cfg *c = fl_calloc(1, sizeof *c);
    *cfg = c;
    c->from = fl_strdup(param_str(val, "from", ""));
    char hint[512];
    if (!drv_has_step(pc, c->from) && drv_name_unknown(pc, DRV_STEPS, c->from, hint, sizeof hint))
        diag_add(d, node_get(val, "from"), "recovery: no method step named '%s'%s", c->from, hint);
    c->every_ms = param_ms(val, "every", 1000);
    c->stable = (int)param_int(val, "stable", 3);
    c->within_ms = param_ms(val, "within", 30000);
    const char *start = param_str(val, "start", "revert");
    if (strcmp(start, "revert") && strcmp(start, "inject")) diag_add(d, node_get(val, "start"), "recovery: start: is revert or inject");
    c->from_inject = !strcmp(start, "inject");
    if (c->stable < 1) diag_add(d, node_get(val, "stable"), "recovery: stable: must be at least 1");
    if (c->every_ms < 10) diag_add(d, node_get(val, "every"), "recovery: every: must be at least 10ms");
    const struct node *u = node_get(val, "until");
    const char *load = param_str(val, "load", NULL);
    char err[FL_ERR_LEN];
    if (load) {
        c->load = fl_strdup(load);
        if (!drv_has_load_block(pc, load) && drv_name_unknown(pc, DRV_LOADS, load, hint, sizeof hint))
            diag_add(d, node_get(val, "load"), "recovery: no load block named '%s'%s", load, hint);
        if (!u || u->type != NODE_SCALAR) diag_add(d, u ? u : val, "recovery: with load:, until: is an expectation like \"error_rate < 1%%\"");
        else if (expect_parse(u->str, val_load_metrics, &c->load_expect, err) < 0) diag_add(d, u, "recovery: %s", err);
        else if (!c->load_expect.of_baseline && c->load_expect.unit == EXP_UNIT_FRACTION && c->load_expect.metric &&
                 (!strcmp(c->load_expect.metric, "rps") || !strcmp(c->load_expect.metric, "ok_rps")))
            diag_add(d, u, "recovery: '%s': a percentage of %s needs 'of baseline'", u->str, c->load_expect.metric);
        if (c->every_ms % 1000) c->every_ms = 1000;
    } else if (u) {
        if (u->type != NODE_MAP) diag_add(d, u, "recovery: until: is a probe like { http: { url: ... } }");
        else c->until = drv_nested_probe(pc, u, d);
        /* a load or recovery probe is judged over a window, never check by check: as until:
         * it could only ever be inconclusive */
        if (c->until && c->until->ops && c->until->ops->sched != PROBE_LIVE)
            diag_add(d, u, "recovery: until: { %s: ... } is judged over a whole window, not check by check%s",
                     c->until->ops->name,
                     !strcmp(c->until->ops->name, "load")
                         ? "; for a load block: recovery: { from: STEP, load: BLOCK, until: \"error_rate < 1%\" }"
                         : "");
    }
    return 0;
}

/* what the checks of one recovery measurement saw (rec_check), judged by rec_judge */
struct rec_tally {
    int64_t start;               /* the clock's start (ms of the run) */
    int streak;                  /* passes in a row at the end */
    long evidence, empty;        /* conclusive checks; checks or seconds without evidence */
    int64_t first_pass;          /* the first pass of the last streak, -1 none */
    int64_t load_ended;          /* the load ended (ms) before within: was over, -1 */
    int64_t aborted_at;          /* the run was aborted (ms), -1 */
    char last[256], last_empty[256];
};

/* "ok_rps >= 90% of baseline": the expectation against the load's figure before the first
 * fault (a copy of the plain one otherwise); -1 with err when there is no reference */
static int rec_load_want(const struct rec_cfg *c, const struct drv_ctx *ctx, struct expect *want, char *err)
{
    *want = c->load_expect;
    if (!c->load || !want->of_baseline) return 0;
    struct lg_stats base;
    if (ctx->baseline_to_ms <= ctx->baseline_from_ms)
        return fl_err(err, "load '%s': no baseline window before the first fault", c->load);
    if (drv_load_query(ctx, c->load, ctx->baseline_from_ms, ctx->baseline_to_ms, &base) != DRV_LOAD_OK)
        return fl_err(err, "no load metrics for '%s'", c->load);
    double bv = lg_metric(&base, want->metric);
    if (!base.count || (bv == 0 && want->op == EXP_GE)) /* ">= N% of 0" holds whatever comes */
        return fl_err(err, "load '%s': %s was %g in the baseline window %lld..%lld ms: '%s' has no reference", c->load,
                      want->metric, base.count ? bv : 0.0, (long long)ctx->baseline_from_ms,
                      (long long)ctx->baseline_to_ms, want->text);
    want->num *= bv;
    want->of_baseline = 0;
    return 0;
}

/* the outcome of the checks in t (see the top of this file) */
static void rec_judge(const struct rec_cfg *c, const struct rec_tally *t, struct probe_obs *obs)
{
    obs->evidence = t->evidence;
    int64_t took = t->first_pass - t->start;
    if (took < 0) took = 0;
    char gaps[96] = "";
    if (t->empty) snprintf(gaps, sizeof gaps, "; %ld %s without evidence", t->empty, c->load ? "seconds" : "checks");
    if (t->streak >= c->stable) {
        obs->has_value = 1;
        obs->value = (double)took;
        obs->outcome = took <= c->within_ms ? PROBE_PASSED : PROBE_FAILED;
        snprintf(obs->observed, sizeof obs->observed, "recovered in %.1fs (%d passes in a row, resolution %lldms%s)%s",
                 took / 1000.0, c->stable, (long long)c->every_ms, gaps,
                 obs->outcome == PROBE_PASSED ? "" : ": slower than within:");
        return;
    }
    obs->outcome = PROBE_INCONCLUSIVE;
    if (t->streak > 0 && took <= c->within_ms) {
        snprintf(obs->observed, sizeof obs->observed,
                 "recovering from %.1fs on, but the window closed after %d of %d passes in a row (%s)", took / 1000.0,
                 t->streak, c->stable, t->last_empty[0] ? t->last_empty : "no further evidence");
    } else if (t->evidence == 0) {
        snprintf(obs->observed, sizeof obs->observed, "no evidence within %.1fs: %.200s", c->within_ms / 1000.0,
                 t->last_empty[0] ? t->last_empty : t->last);
    } else if (t->load_ended >= 0 && t->load_ended < t->start + c->within_ms) {
        /* still failing when the load ended, but within: had not passed: whether it would
         * have recovered in time is unknown (the plan's load ends too soon after the revert) */
        snprintf(obs->observed, sizeof obs->observed,
                 "not recovered when load '%.60s' ended, %.1fs after the clock started, before within: (%.1fs) had "
                 "passed (last: %.120s)",
                 c->load, (t->load_ended - t->start) / 1000.0, c->within_ms / 1000.0, t->last);
    } else if (t->aborted_at >= 0 && t->aborted_at < t->start + c->within_ms) {
        /* the same when the run was aborted before within: had passed */
        snprintf(obs->observed, sizeof obs->observed,
                 "not recovered when the run was aborted, %.1fs after the clock started, before within: (%.1fs) had "
                 "passed (last: %.150s)",
                 (t->aborted_at - t->start) / 1000.0, c->within_ms / 1000.0, t->last);
    } else {
        obs->outcome = PROBE_FAILED;
        snprintf(obs->observed, sizeof obs->observed, "not recovered within %.1fs (last: %.150s%s)",
                 c->within_ms / 1000.0, t->last, gaps);
    }
}

static int rec_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct rec_cfg *c = pi->cfg;
    const struct drv_ctx *ctx = pi->ctx;
    struct rec_tally t = { .start = pi->win_from_ms, .first_pass = -1, .load_ended = -1, .aborted_at = -1,
                           .last = "no check ran" };
    struct expect want;
    if (rec_load_want(c, ctx, &want, err) < 0) return -1;
    struct probe_inst sub = { 0 };
    if (c->until) sub = (struct probe_inst){ .ops = c->until->ops, .spec = c->until, .ctx = ctx, .cfg = c->until->cfg };
    int64_t limit = t.start + c->within_ms + (int64_t)c->stable * c->every_ms;
    for (int64_t k = 0;; k++) {
        int64_t tick = t.start + k * c->every_ms;
        if (c->load) tick += 1000; /* a load window is judged once it is complete */
        if (tick > limit) break;
        /* the run was aborted: no later check can be waited for (an abort wakes every sleep) */
        if (fl_sleep_until(ctx->t0_ns + tick * 1000000LL) < 0) {
            t.aborted_at = drv_now_ms(ctx);
            break;
        }
        enum probe_outcome o = PROBE_INCONCLUSIVE;
        if (c->load) {
            struct lg_stats s;
            if (drv_load_query(ctx, c->load, tick - 1000, tick, &s) != DRV_LOAD_OK) {
                if (sub.ops && sub.ops->free_state && sub.state) sub.ops->free_state(sub.state);
                return fl_err(err, "no load metrics for '%s'", c->load);
            }
            double v = lg_metric(&s, c->load_expect.metric);
            if (s.count) {
                o = expect_eval_num(&want, v) ? PROBE_PASSED : PROBE_FAILED;
                snprintf(t.last, sizeof t.last, "%s=%g over %llu requests", c->load_expect.metric, v,
                         (unsigned long long)s.count);
            } else {
                snprintf(t.last_empty, sizeof t.last_empty, "no request of '%s' completed in %.1f..%.1fs", c->load,
                         (tick - 1000) / 1000.0, tick / 1000.0);
                /* the load is over: no later window can hold evidence */
                int64_t ended = drv_load_ended_ms(ctx);
                if (ended >= 0 && tick - 1000 >= ended) {
                    t.empty++;
                    t.load_ended = ended;
                    break;
                }
            }
        } else {
            struct probe_obs so = { 0 };
            char e[FL_ERR_LEN] = "";
            int rc = sub.ops->check(&sub, &so, e);
            o = rc < 0 ? PROBE_INCONCLUSIVE : so.outcome;
            if (o == PROBE_INCONCLUSIVE) snprintf(t.last_empty, sizeof t.last_empty, "%.250s", rc < 0 ? e : so.observed);
            else snprintf(t.last, sizeof t.last, "%.250s", so.observed);
        }
        int64_t now = c->load ? tick - 1000 : drv_now_ms(ctx);
        if (o == PROBE_INCONCLUSIVE) {
            t.empty++; /* no evidence: the streak neither grows nor breaks */
        } else if (o == PROBE_PASSED) {
            t.evidence++;
            if (t.streak++ == 0) t.first_pass = now;
            if (t.streak >= c->stable) break;
        } else {
            t.evidence++;
            t.streak = 0;
            t.first_pass = -1;
        }
    }
    if (sub.ops && sub.ops->free_state && sub.state) sub.ops->free_state(sub.state);
    rec_judge(c, &t, obs);
    return 0;
}

static void rec_describe(const void *cfg, struct buf *out)
{
    const struct rec_cfg *c = cfg;
    buf_addf(out, "recovered within %.1fs of '%s' (%d in a row, every %lldms)", c->within_ms / 1000.0, c->from, c->stable,
             (long long)c->every_ms);
}

static void rec_free(void *cfg)
{
    struct rec_cfg *c = cfg;
    free(c->from);
    free(c->load);
    expect_release(&c->load_expect);
    probe_spec_free(c->until);
    free(c);
}

/* the step a recovery probe measures from (the plan layer sets the probe's window) */
const char *probe_recovery_from(const void *cfg) { return ((const struct rec_cfg *)cfg)->from; }
/* 1 when the clock starts at the step's injection (start: inject), 0 at its revert */
static int rec_from_inject(const void *cfg) { return ((const struct rec_cfg *)cfg)->from_inject; }
static const char *rec_window_step(const void *cfg) { return ((const struct rec_cfg *)cfg)->from; }

const struct probe_ops probe_recovery = {
    .name = "recovery",
    .summary = "time until a probe passes stable: times in a row after a step is reverted",
    .params = rec_params,
    .parse = rec_parse,
    .check = rec_check,
    .describe = rec_describe,
    .free_cfg = rec_free,
    .sched = PROBE_RECOVERY,
    .window_step = rec_window_step,
    .from_inject = rec_from_inject,
};
