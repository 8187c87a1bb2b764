/* run_record.c -- run.json, built from the runner's state once the run is over (run_int.h):
 * the steps, the steady state, the probes, the stop conditions, the load, what could not be
 * judged, the containers' resources, and the exit code and verdict that follow from them. Key order is run.json's
 * format (written with JSON_PRESERVE_ORDER): keep it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "journal.h"
#include "load.h"
#include "plan_lint.h"
#include "resources.h"
#include "run_int.h"

const char *const run_step_status_name[] = { "pending", "injected", "reverted", "inject_failed", "revert_failed",
                                             "skipped", "injected_no_revert", "reverting" };

/* The verdict of a probe over its checks (probe.h): failed when any check failed, else
 * passed when its evidence reaches min_evidence, else inconclusive; why (when not NULL)
 * says what an inconclusive verdict lacked. min_evidence: 0 passes a probe that saw
 * nothing (never ran, no request), not one whose every check could not be made. */
enum probe_outcome run_probe_verdict(const struct probe_rt *pr, long *evidence, char *why, size_t whylen)
{
    long ev = 0;
    const struct probe_obs *first_inc = NULL;
    int failed = 0;
    for (size_t i = 0; i < pr->nobs; i++) {
        if (pr->obs[i].outcome == PROBE_FAILED) failed = 1;
        ev += pr->obs[i].evidence;
        if (pr->obs[i].outcome == PROBE_INCONCLUSIVE && !first_inc) first_inc = &pr->obs[i];
    }
    if (evidence) *evidence = ev;
    if (failed) return PROBE_FAILED;
    long need = pr->spec->min_evidence;
    /* a recovery probe's one observation is its verdict: "recovering, but the window closed
     * before stable:" counts its conclusive checks as evidence and is still no recovery; so
     * is a load probe's (judged once over its window): requests without a reference
     * ("50% of a baseline of 0") are evidence of nothing */
    int whole = (pr->spec->ops->sched == PROBE_RECOVERY || pr->spec->ops->sched == PROBE_OVER_WINDOW) && first_inc;
    int blind = ev == 0 && first_inc; /* checks were made, and none could see anything */
    if (ev >= need && !whole && !blind) return PROBE_PASSED;
    if (why) {
        if (pr->not_run) snprintf(why, whylen, "%s", pr->not_run_reason);
        else if (first_inc) snprintf(why, whylen, "%s", first_inc->observed);
        else if (pr->nobs == 0) snprintf(why, whylen, "the probe never ran");
        else snprintf(why, whylen, "%ld unit%s of evidence, min_evidence is %ld", ev, ev == 1 ? "" : "s", need);
    }
    return PROBE_INCONCLUSIVE;
}

const char *run_timing_name(enum probe_timing t)
{
    switch (t) {
    case PT_BEFORE: return "before";
    case PT_AFTER: return "after";
    case PT_DURING: return "during";
    case PT_STEADY: return "steady_state";
    case PT_STOP_WHEN: return "stop_when";
    default: return "end";
    }
}

static json_t *probe_json(struct probe_rt *pr)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(pr->spec->name));
    json_object_set_new(o, "kind", json_string(pr->spec->ops->name));
    json_object_set_new(o, "timing", json_string(run_timing_name(pr->spec->timing)));
    if (pr->spec->window) json_object_set_new(o, "step", json_string(pr->spec->window->name));
    struct buf d;
    buf_init(&d, 4096);
    if (pr->spec->ops->describe) pr->spec->ops->describe(pr->spec->cfg, &d);
    fl_redact(d.data);
    json_object_set_new(o, "expect", json_string(d.data));
    buf_release(&d);
    json_object_set_new(o, "window", json_pack("{s:I,s:I}", "from_ms", (json_int_t)pr->from_ms, "to_ms", (json_int_t)pr->to_ms));
    size_t inconclusive = 0, failed = 0;
    json_t *obs = json_array();
    for (size_t i = 0; i < pr->nobs; i++) {
        struct probe_obs *ob = &pr->obs[i];
        if (ob->outcome == PROBE_INCONCLUSIVE) inconclusive++;
        if (ob->outcome == PROBE_FAILED) failed++;
        json_t *x = json_object();
        json_object_set_new(x, "t_ms", json_integer(ob->t_ms));
        json_object_set_new(x, "outcome", json_string(probe_outcome_name(ob->outcome)));
        json_object_set_new(x, "ok", json_boolean(ob->outcome == PROBE_PASSED));
        json_object_set_new(x, "evidence", json_integer(ob->evidence));
        if (ob->has_value) json_object_set_new(x, "value", json_real(ob->value));
        json_object_set_new(x, "latency_ms", json_real(ob->latency_ms));
        json_object_set_new(x, "observed", json_string(ob->observed));
        json_array_append_new(obs, x);
    }
    long evidence = 0;
    char why[600] = "";
    enum probe_outcome v = run_probe_verdict(pr, &evidence, why, sizeof why);
    json_object_set_new(o, "verdict", json_string(probe_outcome_name(v)));
    if (v == PROBE_INCONCLUSIVE) json_object_set_new(o, "reason", json_string(why));
    else if (v == PROBE_PASSED && evidence == 0)
        json_object_set_new(o, "reason", json_string(pr->not_run ? pr->not_run_reason : "no evidence, and min_evidence is 0"));
    json_object_set_new(o, "evidence", json_integer(evidence));
    json_object_set_new(o, "min_evidence", json_integer(pr->spec->min_evidence));
    json_object_set_new(o, "checks", json_integer((json_int_t)pr->nobs));
    json_object_set_new(o, "failed_checks", json_integer((json_int_t)failed));
    json_object_set_new(o, "inconclusive_checks", json_integer((json_int_t)inconclusive));
    if (v == PROBE_FAILED) {
        /* the first failing observation is the evidence */
        for (size_t i = 0; i < pr->nobs; i++)
            if (pr->obs[i].outcome == PROBE_FAILED) {
                json_object_set_new(o, "failure", json_pack("{s:s,s:s,s:I}", "reason", "unhealthy", "observed",
                                                            pr->obs[i].observed, "t_ms", (json_int_t)pr->obs[i].t_ms));
                break;
            }
    }
    if (pr->spec->ops->details) {
        json_t *det = pr->spec->ops->details(&pr->pi);
        if (det) json_object_set_new(o, "details", det);
    }
    json_object_set_new(o, "observations", obs);
    return o;
}

/* every string of the record (names and values alike) through the secret redactor */
static void redact_json(json_t *j)
{
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(j, tmp, k, v) {
            if (fl_has_secret(k)) {
                char *nk = fl_strdup(k);
                fl_redact(nk);
                json_incref(v);
                json_object_del(j, k);
                json_object_set_new(j, nk, v);
                free(nk);
            }
            redact_json(v);
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) redact_json(json_array_get(j, i));
    } else if (json_is_string(j) && fl_has_secret(json_string_value(j))) {
        char *v = fl_strdup(json_string_value(j));
        fl_redact(v);
        json_string_set(j, v);
        free(v);
    }
}

/* one entry of "steps"; sets *failed / *revert_failed when the step says so */
static json_t *step_json(const struct step_rt *st, int *failed, int *revert_failed)
{
    int acted = st->status != ST_PENDING && st->status != ST_SKIPPED;
    json_t *x = json_object();
    json_object_set_new(x, "name", json_string(st->s->name));
    json_object_set_new(x, "fault", json_string(st->s->ops->name));
    json_object_set_new(x, "target", st->s->target ? json_string(st->s->target->name) : json_null());
    json_object_set_new(x, "at_ms", json_integer(st->s->at_ms));
    json_object_set_new(x, "for_ms", st->s->for_ms >= 0 ? json_integer(st->s->for_ms) : json_null());
    json_object_set_new(x, "status", json_string(run_step_status_name[st->status]));
    json_object_set_new(x, "injected_at_ms", acted ? json_integer(st->inject_ms) : json_null());
    json_object_set_new(x, "inject_started_at_ms", acted ? json_integer(st->inject_start_ms) : json_null());
    json_object_set_new(x, "reverted_at_ms", st->status == ST_REVERTED || st->status == ST_REVERT_FAILED
                                                 ? json_integer(st->revert_ms) : json_null());
    json_object_set_new(x, "description", json_string(st->desc));
    if (st->err[0]) json_object_set_new(x, "error", json_string(st->err));
    if (st->status == ST_REVERT_FAILED) *revert_failed = 1;
    if (st->status == ST_INJECT_FAILED) *failed = 1;
    return x;
}

/* the steady state's entries (before and after), what could not be checked first in
 * inconclusive: when it could not be checked, that is the root cause */
static json_t *steady_json(struct run *r, json_t *inconclusive)
{
    json_t *before = json_array(), *after = json_array();
    for (size_t i = 0; i < r->p->nsteady; i++) {
        const char *phase[2] = { "steady_state before", "steady_state after" };
        struct probe_rt *ph[2] = { &r->before[i], &r->after[i] };
        for (int k = 0; k < 2; k++) {
            if (!ph[k]->nobs) continue;
            json_t *sj = probe_json(ph[k]);
            if (!strcmp(json_string_value(json_object_get(sj, "verdict")), "inconclusive"))
                json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:O}", "what", phase[k], "name", ph[k]->spec->name,
                                                              "reason", json_object_get(sj, "reason")));
            json_array_append_new(k ? after : before, sj);
        }
    }
    /* no steady state declared: nothing was checked, so nothing "held" (review-1 #11) */
    int none = r->p->nsteady == 0;
    return json_pack("{s:o,s:o,s:b,s:b,s:s,s:s}", "before", before, "after", after, "held_before",
                     !none && r->held_before == PROBE_PASSED, "held_after", !none && r->held_after == PROBE_PASSED,
                     "before_verdict", none ? "none" : probe_outcome_name(r->held_before), "after_verdict",
                     none ? "none" : probe_outcome_name(r->held_after));
}

/* "probes"; a probe the run never got to says why */
static json_t *probes_json(struct run *r, json_t *inconclusive, int *failed)
{
    json_t *probes = json_array();
    for (size_t i = 0; i < r->p->nprobes; i++) {
        struct probe_rt *pr = &r->probes[i];
        if ((!r->method_started || !r->steady_ok) && !pr->nobs) {
            pr->not_run = 1;
            snprintf(pr->not_run_reason, sizeof pr->not_run_reason, "%s",
                     !r->method_started ? "the run did not reach the method"
                     : r->held_before == PROBE_FAILED ? "the steady state did not hold before the method"
                     : r->held_before == PROBE_INCONCLUSIVE ? "the steady state could not be checked before the method"
                                                            : "the method did not run");
        }
        json_t *pj = probe_json(pr);
        const char *v = json_string_value(json_object_get(pj, "verdict"));
        if (!strcmp(v, "failed")) *failed = 1;
        else if (!strcmp(v, "inconclusive"))
            json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:O}", "what", "probe", "name", pr->spec->name,
                                                          "reason", json_object_get(pj, "reason")));
        json_array_append_new(probes, pj);
    }
    return probes;
}

enum probe_outcome run_stop_verdict(const struct run *r, size_t i, long *evidence)
{
    const struct probe_rt *pr = &r->stops[i];
    long ev = 0;
    int blind = 0; /* checked, and never with evidence (min_evidence: 0 does not pass it) */
    for (size_t k = 0; k < pr->nobs; k++)
        if (pr->obs[k].outcome != PROBE_INCONCLUSIVE) ev += pr->obs[k].evidence;
        else blind = 1;
    if (ev) blind = 0;
    if (evidence) *evidence = ev;
    if (r->stop_tripped == (int)i + 1) return PROBE_FAILED;
    return ev >= pr->spec->min_evidence && !blind ? PROBE_PASSED : PROBE_INCONCLUSIVE;
}

/* "stop_when": a stop condition held when it watched (checks with evidence, failing or not)
 * and never tripped; with no evidence at all it could not have stopped the run (with
 * min_evidence: 0, held when never checked, not when every check could not be made) */
static json_t *stops_json(struct run *r, json_t *inconclusive)
{
    json_t *stops = json_array();
    for (size_t i = 0; i < r->p->nstop_when; i++) {
        struct probe_rt *pr = &r->stops[i];
        json_t *sj = probe_json(pr);
        int tripped = r->stop_tripped == (int)i + 1; /* the one that tripped, not every one failing then */
        long ev = 0;
        const char *v = probe_outcome_name(run_stop_verdict(r, i, &ev));
        json_object_set_new(sj, "tripped", json_boolean(tripped));
        json_object_set_new(sj, "evidence", json_integer(ev));
        json_object_set_new(sj, "verdict", json_string(v));
        json_object_del(sj, "reason");
        json_object_del(sj, "failure");
        if (!strcmp(v, "inconclusive") && r->method_started && r->steady_ok) {
            char why[600];
            snprintf(why, sizeof why, "%s", pr->nobs ? pr->obs[pr->nobs - 1].observed : "it was never checked");
            json_object_set_new(sj, "reason", json_string(why));
            json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:s}", "what", "stop_when", "name", pr->spec->name,
                                                          "reason", why));
        }
        json_array_append_new(stops, sj);
    }
    return stops;
}

/* "load" (the record's first key, when there was load); thresholds without evidence are
 * inconclusive; 0 when a threshold failed */
static int load_json(struct run *r, json_t *rec, json_t *inconclusive)
{
    if (!r->lg) return 1;
    json_object_set_new(rec, "load", lg_to_json(r->lg));
    int ok = lg_thresholds_ok(r->lg);
    for (size_t i = 0; i < r->p->nloads; i++) {
        const char *bn = lg_block_name(r->p->loads[i]);
        if (lg_thresholds_without_evidence(r->lg, bn))
            json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:s}", "what", "thresholds", "name", bn, "reason",
                                                          "no request of the block completed in the whole run"));
    }
    return ok;
}

/* the exit code from what happened (r->exit_code so far) and what was judged; the verdict */
static const char *settle_exit(struct run *r, int any_failed, int revert_failed, json_t *inconclusive)
{
    int dry = r->o->dry_run;
    if (dry) json_array_clear(inconclusive); /* nothing was meant to be judged */
    if (r->exit_code == FL_EXIT_OK && any_failed) r->exit_code = FL_EXIT_FAILED;
    /* nothing failed, but something could not be judged: not a pass */
    if (r->exit_code == FL_EXIT_OK && json_array_size(inconclusive) && !dry) r->exit_code = FL_EXIT_INCONCLUSIVE;
    if (fl_aborted() && r->exit_code != FL_EXIT_INVALID) r->exit_code = FL_EXIT_ABORTED;
    if (revert_failed) r->exit_code = FL_EXIT_REVERT;
    if (r->exit_code == FL_EXIT_INCONCLUSIVE && !r->abort_reason[0]) {
        size_t n = json_array_size(inconclusive);
        json_t *first = json_array_get(inconclusive, 0);
        snprintf(r->abort_reason, sizeof r->abort_reason, "%zu check%s could not be judged; %s '%s': %s", n,
                 n == 1 ? "" : "s", json_string_value(json_object_get(first, "what")),
                 json_string_value(json_object_get(first, "name")), json_string_value(json_object_get(first, "reason")));
    }
    if (dry && r->exit_code == FL_EXIT_OK) return "dry_run";
    return fl_exit_verdict(r->exit_code);
}

static json_t *plan_json(const struct plan *p)
{
    json_t *pj = json_object();
    json_object_set_new(pj, "name", json_string(p->name));
    json_object_set_new(pj, "path", json_string(p->path));
    json_object_set_new(pj, "hash", json_string(p->hash));
    json_object_set_new(pj, "description", p->description ? json_string(p->description) : json_null());
    json_t *tags = json_array();
    for (size_t i = 0; p->tags && p->tags[i]; i++) json_array_append_new(tags, json_string(p->tags[i]));
    json_object_set_new(pj, "tags", tags);
    json_object_set_new(pj, "duration_ms", json_integer(p->duration_ms));
    return pj;
}

json_t *run_record(struct run *r)
{
    struct plan *p = r->p;
    json_t *rec = json_object();
    int any_failed = r->held_before == PROBE_FAILED || !r->steady_after_ok, revert_failed = 0;
    json_t *steps = json_array();
    for (size_t i = 0; i < p->nsteps; i++) json_array_append_new(steps, step_json(&r->steps[i], &any_failed, &revert_failed));
    json_t *inconclusive = json_array(); /* what could not be judged: each { what, name, reason } */
    json_t *steady = steady_json(r, inconclusive);
    json_t *probes = probes_json(r, inconclusive, &any_failed);
    json_t *stops = stops_json(r, inconclusive);
    if (r->resources) { /* sampled until the run's cleanup stopped them (run.c) */
        json_object_set_new(rec, "resources", res_to_json(r->resources));
        json_object_set_new(rec, "memory", res_memory_json(r->resources));
    }
    int thresholds_ok = load_json(r, rec, inconclusive);
    if (!thresholds_ok) any_failed = 1;
    for (size_t i = 0; i < json_array_size(r->rollback); i++)
        if (!json_is_true(json_object_get(json_array_get(r->rollback, i), "ok"))) any_failed = 1;
    const char *verdict = settle_exit(r, any_failed, revert_failed, inconclusive);

    char ts[32];
    json_object_set_new(rec, "faultline_version", json_string(FL_VERSION));
    json_object_set_new(rec, "format", json_integer(FL_RUN_FORMAT));
    json_object_set_new(rec, "plan", plan_json(p));
    json_object_set_new(rec, "seed", json_integer((json_int_t)r->drv.seed));
    fl_iso8601(r->started, ts);
    json_object_set_new(rec, "started_at", json_string(ts));
    double ended = fl_wall();
    fl_iso8601(ended, ts);
    json_object_set_new(rec, "ended_at", json_string(ts));
    json_object_set_new(rec, "elapsed_ms", json_integer((json_int_t)((ended - r->started) * 1000)));
    json_object_set_new(rec, "verdict", json_string(verdict));
    json_object_set_new(rec, "exit_code", json_integer(r->exit_code));
    if (r->abort_reason[0]) json_object_set_new(rec, "reason", json_string(r->abort_reason));
    json_object_set_new(rec, "steady_state", steady);
    json_object_set_new(rec, "steps", steps);
    json_object_set_new(rec, "probes", probes);
    json_object_set_new(rec, "stop_when", stops);
    json_object_set_new(rec, "inconclusive", inconclusive);
    json_object_set_new(rec, "thresholds_ok", json_boolean(thresholds_ok));
    json_object_set(rec, "rollback", r->rollback);
    json_object_set(rec, "events", r->events);
    if (!r->o->dry_run) {
        json_t *w = json_array();
        plan_lint_run(p, rec, w);
        json_object_set_new(rec, "warnings", w);
    }
    if (r->journal) json_object_set_new(rec, "journal", json_string(journal_path(r->journal)));
    redact_json(rec);
    return rec;
}
