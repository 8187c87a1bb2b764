/* run.c -- the timeline runner (see run.h for the order of a run). */
#include "run.h"
#include "run_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "journal.h"
#include "live.h"
#include "load.h"
#include "plan_lint.h"
#include "progress.h"
#include "resources.h"
#include "services.h"
#include "spawn.h"

static struct progress *live; /* the live progress line of the running experiment */
static void clear_live(void) { progress_clear(live); }


static int64_t now_ms(struct run *r) { return drv_now_ms(&r->drv); }

/* a condition variable whose timed waits count on the monotonic clock (deadlines from
 * fl_now_ns / CLOCK_MONOTONIC, immune to wall-clock steps) */
static void cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

/* with r->mu held: wait for a broadcast on r->cv, at most 50 ms, so that the caller's loop
 * re-checks the abort flag (raised from a signal handler, which cannot broadcast) */
static void wait_tick(struct run *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 50000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

static void event(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(struct run *r, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fl_redact(text);
    int64_t t = r->drv.t0_ns ? now_ms(r) : 0;
    json_t *e = json_object();
    json_object_set_new(e, "t_ms", json_integer(t));
    json_object_set_new(e, "wall", json_real(fl_wall()));
    json_object_set_new(e, "text", json_string(text));
    pthread_mutex_lock(&r->mu);
    json_array_append_new(r->events, e);
    pthread_mutex_unlock(&r->mu);
    char ts[32];
    val_fmt_duration(t, ts);
    fl_log(FL_LOG_INFO, "[%7.1fs] %s", t / 1000.0, text);
}

static void signal_handler(int sig) { fl_abort(sig); }

void run_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- what the run offers drivers (drv.h) ------------------------------------------- */
static pid_t hook_service_pid(void *run, const char *name) { return svc_pid(((struct run *)run)->services, name); }

static int hook_service_restart(void *run, const char *name, char *err)
{
    return svc_restart(((struct run *)run)->services, name, err);
}

static int hook_service_known(void *run, const char *name, struct buf *known)
{
    const struct plan *p = ((struct run *)run)->p;
    if (plan_service(p, name)) return 1;
    if (known) plan_service_names(p, known);
    return 0;
}

static int hook_load_query(void *run, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out)
{
    struct run *r = run;
    if (!r->lg) return DRV_LOAD_NOT_RUNNING;
    return lg_query(r->lg, block, from_ms, to_ms, out) < 0 ? DRV_LOAD_NO_BLOCK : DRV_LOAD_OK;
}

static int64_t hook_load_ended_ms(void *run)
{
    struct run *r = run;
    return !r->lg || lg_running(r->lg) ? -1 : lg_elapsed_ms(r->lg);
}

static int hook_journal_progress(void *run, long id, const char *phase, size_t item, json_t *note, int sync, char *err)
{
    struct run *r = run;
    if (!r->journal) {
        json_decref(note);
        return 0;
    }
    return journal_progress(r->journal, id, phase, item, note, sync, err);
}

/* a probe's own entry (rows it seeds): in the run's journal like a step's intent */
static long hook_journal_intent(void *run, const char *name, const char *kind, json_t *rec, char *err)
{
    struct run *r = run;
    if (!r->journal) {
        json_decref(rec);
        return 0;
    }
    return journal_intent(r->journal, name, kind, rec, err);
}

static void hook_journal_settle(void *run, long id, int ok, const char *how)
{
    struct run *r = run;
    if (r->journal) journal_reverted(r->journal, id, ok, how);
}

static int hook_res_window(void *run, const char *id, int64_t from_ms, int64_t to_ms, struct drv_res_window *out)
{
    struct run *r = run;
    return r->resources ? res_window(r->resources, id, from_ms, to_ms, out) : -1;
}

static const struct drv_hooks run_hooks = {
    .service_pid = hook_service_pid,
    .service_restart = hook_service_restart,
    .service_known = hook_service_known,
    .load_query = hook_load_query,
    .load_ended_ms = hook_load_ended_ms,
    .journal_progress = hook_journal_progress,
    .journal_intent = hook_journal_intent,
    .journal_settle = hook_journal_settle,
    .res_window = hook_res_window,
};

/* ---- probes ----------------------------------------------------------------------- */
/* how a probe is scheduled is its kind's say (probe_ops.sched), never its name */
static int is_load_probe(const struct probe_spec *ps) { return ps->ops->sched == PROBE_OVER_WINDOW; }
static int is_recovery_probe(const struct probe_spec *ps) { return ps->ops->sched == PROBE_RECOVERY; }

static void prt_init(struct run *r, struct probe_rt *pr, struct probe_spec *ps)
{
    memset(pr, 0, sizeof *pr);
    pr->spec = ps;
    pr->pi.ops = ps->ops;
    pr->pi.spec = ps;
    pr->pi.ctx = &r->drv;
    pr->pi.cfg = ps->cfg;
    pr->fail_since_ms = -1;
}

static void prt_release(struct probe_rt *pr)
{
    if (pr->pi.ops && pr->pi.ops->free_state && pr->pi.state) pr->pi.ops->free_state(pr->pi.state);
    free(pr->obs);
}

/* one check, recorded; its outcome */
static enum probe_outcome check_once(struct run *r, struct probe_rt *pr, int64_t from_ms, int64_t to_ms)
{
    struct probe_obs o;
    memset(&o, 0, sizeof o);
    char err[FL_ERR_LEN] = "";
    pr->pi.win_from_ms = from_ms;
    pr->pi.win_to_ms = to_ms;
    int64_t t = r->drv.t0_ns ? now_ms(r) : 0;
    int64_t c0 = fl_now_ns();
    int rc = pr->pi.ops->check(&pr->pi, &o, err);
    if (o.latency_ms == 0) o.latency_ms = (fl_now_ns() - c0) / 1e6;
    o.t_ms = t;
    if (rc < 0) {
        o.outcome = PROBE_INCONCLUSIVE;
        o.evidence = 0;
        snprintf(o.observed, sizeof o.observed, "could not check: %.480s", err[0] ? err : "unknown error");
    } else if (o.outcome != PROBE_PASSED && o.outcome != PROBE_FAILED) {
        o.outcome = PROBE_INCONCLUSIVE;
        if (!o.observed[0]) snprintf(o.observed, sizeof o.observed, "no evidence");
    }
    /* a kind that does not count its evidence: a conclusive check is one unit */
    if (o.outcome != PROBE_INCONCLUSIVE && o.evidence <= 0) o.evidence = 1;
    fl_redact(o.observed);
    pthread_mutex_lock(&r->mu);
    if (pr->nobs == pr->capobs) {
        pr->capobs = pr->capobs ? pr->capobs * 2 : 8;
        pr->obs = fl_realloc(pr->obs, pr->capobs * sizeof *pr->obs);
    }
    pr->obs[pr->nobs++] = o;
    pthread_mutex_unlock(&r->mu);
    return o.outcome;
}

/* wait (bounded by abort) until cond(step) or method done */
static void wait_step(struct run *r, struct step_rt *st, int want_revert)
{
    pthread_mutex_lock(&r->mu);
    for (;;) {
        enum step_status s = st->status;
        if (!want_revert && s != ST_PENDING) break;
        if (want_revert && s != ST_PENDING && s != ST_INJECTED && s != ST_REVERTING) break;
        if (r->method_done && s == ST_PENDING) break;
        wait_tick(r);
        if (fl_aborted() && st->status == ST_PENDING) break;
    }
    pthread_mutex_unlock(&r->mu);
}

static struct step_rt *step_rt_of(struct run *r, const struct step *s)
{
    return s ? &r->steps[s->index] : NULL;
}

/* wait until st is injected (1, pr->from_ms set) or never will be (0, pr not run) */
static int wait_injected(struct run *r, struct probe_rt *pr, struct step_rt *st)
{
    wait_step(r, st, 0);
    if (st->status == ST_PENDING || st->status == ST_SKIPPED || st->status == ST_INJECT_FAILED) {
        pr->not_run = 1;
        snprintf(pr->not_run_reason, sizeof pr->not_run_reason, "step '%s' was not injected (%s)", st->s->name,
                 run_step_status_name[st->status]);
        return 0;
    }
    pr->from_ms = st->inject_ms;
    return 1;
}

static void *during_thread(void *arg)
{
    struct probe_rt *pr = arg;
    struct run *r = (struct run *)pr->pi.state; /* borrowed until the thread sets it back */
    pr->pi.state = NULL;
    struct step_rt *st = step_rt_of(r, pr->spec->window);
    if (!wait_injected(r, pr, st)) return NULL;
    if (is_recovery_probe(pr->spec)) return NULL; /* handled by recovery_thread */
    for (int i = 0; i < 1000000; i++) {
        int64_t t0 = fl_now_ns();
        pthread_mutex_lock(&r->mu);
        int live = st->status == ST_INJECTED || st->status == ST_NOT_REVERTIBLE;
        pthread_mutex_unlock(&r->mu);
        if (!live || fl_aborted()) break;
        /* the planned revert time has come: a check now would race the revert */
        if (st->s->for_ms > 0 && now_ms(r) >= st->inject_ms + st->s->for_ms) break;
        check_once(r, pr, st->inject_ms, now_ms(r));
        if (st->status == ST_NOT_REVERTIBLE && st->s->for_ms < 0) break;
        if (fl_sleep_until(t0 + pr->spec->every_ms * 1000000LL) < 0) break;
    }
    pr->to_ms = st->revert_ms ? st->revert_ms : now_ms(r);
    if (pr->nobs == 0) {
        pr->not_run = 1;
        snprintf(pr->not_run_reason, sizeof pr->not_run_reason, "the window of '%s' closed before a check ran", st->s->name);
    }
    return NULL;
}

static void *recovery_thread(void *arg)
{
    struct probe_rt *pr = arg;
    struct run *r = (struct run *)pr->pi.state;
    pr->pi.state = NULL;
    /* recovery probes name their step in their cfg; the plan layer set spec->window to it */
    struct step_rt *st = step_rt_of(r, pr->spec->window);
    if (!st) { pr->not_run = 1; snprintf(pr->not_run_reason, sizeof pr->not_run_reason, "no step"); return NULL; }
    if (pr->spec->ops->from_inject && pr->spec->ops->from_inject(pr->spec->cfg)) {
        /* start: inject -- e.g. a killed task that the engine reschedules by itself */
        if (!wait_injected(r, pr, st)) return NULL;
        check_once(r, pr, st->inject_ms, -1);
        pr->to_ms = now_ms(r);
        return NULL;
    }
    wait_step(r, st, 1);
    if (st->status != ST_REVERTED && st->status != ST_NOT_REVERTIBLE) {
        pr->not_run = 1;
        snprintf(pr->not_run_reason, sizeof pr->not_run_reason, "step '%s' was not reverted (%s)", st->s->name,
                 run_step_status_name[st->status]);
        return NULL;
    }
    int64_t from = st->status == ST_REVERTED ? st->revert_ms : st->inject_ms;
    pr->from_ms = from;
    check_once(r, pr, from, -1);
    pr->to_ms = now_ms(r);
    return NULL;
}

/* ---- steps ------------------------------------------------------------------------ */
static void run_sync_probes(struct run *r, struct step_rt *st, enum probe_timing t)
{
    for (size_t i = 0; i < r->p->nprobes; i++) {
        struct probe_rt *pr = &r->probes[i];
        if (pr->spec->timing != t || pr->spec->window != st->s || is_load_probe(pr->spec) || is_recovery_probe(pr->spec)) continue;
        int64_t t_now = now_ms(r);
        check_once(r, pr, t_now, t_now);
    }
}

/* a revert runs in its own thread so it can have a deadline: a driver that hangs (a daemon
 * that stopped answering) is reported as a failed revert instead of hanging the run */
struct revert_job {
    const struct fault_ops *ops;
    /* the job's own copy of the step's fault_inst, seeing the run through the job's own
     * drv_ctx, with its own hold on the journal: an abandoned job outlives the run's steps,
     * its drv_ctx and its journal_close (review-1 #4) */
    struct fault_inst fi;
    struct drv_ctx ctx;             /* the run's values; hooks: job_hooks, run: the job */
    const struct drv_ctx *run_ctx;  /* the run's: its other hooks, while not abandoned */
    struct journal *journal;        /* journal_hold's, or NULL */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, abandoned, rc;
    char err[FL_ERR_LEN];
};

/* the job's hooks: progress notes go to the journal it holds; the rest go to the run's
 * hooks under j->mu while the run waits for the job (abandoned: "not offered", so that
 * nothing reaches a run that has ended; the run's deadline then waits for the call) */
static int job_journal_progress(void *run, long id, const char *phase, size_t item, json_t *note, int sync, char *err)
{
    struct revert_job *j = run;
    if (!j->journal) {
        json_decref(note);
        return 0;
    }
    return journal_progress(j->journal, id, phase, item, note, sync, err);
}

static pid_t job_service_pid(void *run, const char *name)
{
    struct revert_job *j = run;
    pthread_mutex_lock(&j->mu);
    pid_t pid = j->abandoned ? -1 : drv_service_pid(j->run_ctx, name);
    pthread_mutex_unlock(&j->mu);
    return pid;
}

static int job_service_restart(void *run, const char *name, char *err)
{
    struct revert_job *j = run;
    pthread_mutex_lock(&j->mu);
    int rc = j->abandoned ? fl_err(err, "the run has ended (its revert was abandoned at revert_timeout:)")
                          : drv_service_restart(j->run_ctx, name, err);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

static int job_service_known(void *run, const char *name, struct buf *known)
{
    struct revert_job *j = run;
    pthread_mutex_lock(&j->mu);
    int rc = j->abandoned ? 1 : drv_service_known(j->run_ctx, name, known);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

static int job_load_query(void *run, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out)
{
    struct revert_job *j = run;
    pthread_mutex_lock(&j->mu);
    int rc = j->abandoned ? DRV_LOAD_NOT_RUNNING : drv_load_query(j->run_ctx, block, from_ms, to_ms, out);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

static int64_t job_load_ended_ms(void *run)
{
    struct revert_job *j = run;
    pthread_mutex_lock(&j->mu);
    int64_t ms = j->abandoned ? -1 : drv_load_ended_ms(j->run_ctx);
    pthread_mutex_unlock(&j->mu);
    return ms;
}

static const struct target *job_target_named(void *run, const char *name)
{
    struct revert_job *j = run;
    pthread_mutex_lock(&j->mu);
    const struct target *t = j->abandoned ? NULL : drv_target_named(j->run_ctx, name);
    pthread_mutex_unlock(&j->mu);
    return t;
}

static const struct drv_hooks job_hooks = {
    .service_pid = job_service_pid,
    .service_restart = job_service_restart,
    .service_known = job_service_known,
    .load_query = job_load_query,
    .load_ended_ms = job_load_ended_ms,
    .journal_progress = job_journal_progress,
    .target_named = job_target_named,
};

static void revert_job_free(struct revert_job *j)
{
    journal_close(j->journal);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static void *revert_worker(void *arg)
{
    struct revert_job *j = arg;
    int rc = j->ops->revert(&j->fi, j->err);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->done = 1;
    int abandoned = j->abandoned;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (abandoned) {
        /* the run left the state to us (st->abandoned) */
        if (j->fi.state && j->ops->free_state) j->ops->free_state(j->fi.state);
        revert_job_free(j);
    }
    return NULL;
}

static struct revert_job *revert_job_new(const struct fault_ops *ops, const struct fault_inst *fi, struct journal *jn)
{
    struct revert_job *j = fl_calloc(1, sizeof *j);
    j->ops = ops;
    j->fi = *fi;
    j->run_ctx = fi->ctx;
    if (fi->ctx) {
        j->ctx = *fi->ctx;
        j->ctx.hooks = &job_hooks;
        j->ctx.run = j;
        j->fi.ctx = &j->ctx;
    }
    j->journal = journal_hold(jn);
    pthread_mutex_init(&j->mu, NULL);
    cond_init_monotonic(&j->cv);
    return j;
}

/* 0 / -1 as ops->revert, or -1 with "did not finish" after timeout_ms (the revert goes on
 * in the background; *abandoned tells the caller not to free the fault's state) */
static int revert_with_deadline(const struct fault_ops *ops, struct fault_inst *fi, struct journal *jn,
                                int64_t timeout_ms, char *err, int *abandoned)
{
    struct revert_job *j = revert_job_new(ops, fi, jn);
    pthread_t th;
    *abandoned = 0;
    if (pthread_create(&th, NULL, revert_worker, j) != 0) {
        revert_job_free(j);
        return ops->revert(fi, err);
    }
    pthread_detach(th);
    int64_t deadline = fl_now_ns() + timeout_ms * 1000000LL;
    struct timespec ts = { .tv_sec = deadline / 1000000000LL, .tv_nsec = deadline % 1000000000LL };
    pthread_mutex_lock(&j->mu);
    while (!j->done)
        if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT) break;
    if (!j->done) {
        j->abandoned = 1;
        *abandoned = 1;
        pthread_mutex_unlock(&j->mu);
        return fl_err(err, "the revert did not finish within %llds (revert_timeout:); it is still pending in the journal",
                      (long long)(timeout_ms / 1000));
    }
    pthread_mutex_unlock(&j->mu);
    int rc = j->rc;
    if (rc < 0) snprintf(err, FL_ERR_LEN, "%s", j->err);
    revert_job_free(j);
    return rc;
}

static void do_revert(struct run *r, struct step_rt *st)
{
    const struct fault_ops *ops = st->s->ops;
    if (!ops->revert) {
        journal_reverted(r->journal, st->jid, 1, "nothing to undo");
        pthread_mutex_lock(&r->mu);
        st->status = ST_NOT_REVERTIBLE;
        r->active--;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        return;
    }
    char err[FL_ERR_LEN] = "";
    /* probes of the window stop sampling now: what they would see is the revert itself */
    pthread_mutex_lock(&r->mu);
    st->status = ST_REVERTING;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    int abandoned = 0;
    int rc = revert_with_deadline(ops, &st->fi, r->journal, r->p->revert_timeout_ms, err, &abandoned);
    if (abandoned) st->abandoned = 1;
    /* settled only when it worked; a failed or abandoned revert stays pending for rollback */
    if (rc == 0 || !abandoned) journal_reverted(r->journal, st->jid, rc == 0, rc == 0 ? "run" : err);
    pthread_mutex_lock(&r->mu);
    st->revert_ms = now_ms(r);
    st->status = rc == 0 ? ST_REVERTED : ST_REVERT_FAILED;
    if (rc < 0) snprintf(st->err, sizeof st->err, "%s", err);
    r->active--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (rc == 0) event(r, "reverted '%s' (%s)", st->s->name, ops->revert_summary ? ops->revert_summary : ops->name);
    else event(r, "REVERT FAILED '%s': %s", st->s->name, err);
    if (r->live) {
        char *t = fl_asprintf(rc == 0 ? "reverted '%s'" : "REVERT FAILED '%s'", st->s->name);
        live_event(r->live, "revert", st->s->name, ops->name, st->s->target ? st->s->target->name : NULL, t);
        free(t);
    }
}

/* how long before a step's at: its targets are observed and its intent journaled */
#define PREPARE_LEAD_MS 100

/* the step will not be injected: say why; an intent already journaled is settled */
static void step_skipped(struct run *r, struct step_rt *st, const char *why)
{
    if (st->jid >= 0) journal_reverted(r->journal, st->jid, 1, why);
    pthread_mutex_lock(&r->mu);
    st->status = ST_SKIPPED;
    snprintf(st->err, sizeof st->err, "%s", why);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (strstr(why, "aborted") == NULL) event(r, "skipped '%s': %s", st->s->name, st->err);
}

/* max_faults other faults are active at at: this step is skipped; -1 */
static int skip_max_faults(struct run *r, struct step_rt *st)
{
    char why[96];
    snprintf(why, sizeof why, "not injected: max_faults (%d) already active", r->p->max_faults);
    step_skipped(r, st, why);
    return -1;
}

/* the fault is not in place at at_ms (prepare or inject failed; status says whether what a
 * half-done inject did was undone): record it with err, give back the max_faults slot the
 * step held, wake the waiters, say so; -1 */
static int step_inject_failed(struct run *r, struct step_rt *st, enum step_status status, int64_t at_ms,
                              const char *err, int held_slot)
{
    pthread_mutex_lock(&r->mu);
    st->status = status;
    st->inject_ms = at_ms;
    snprintf(st->err, sizeof st->err, "%s", err);
    if (held_slot) r->active--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    event(r, "INJECT FAILED '%s': %s", st->s->name, err);
    return -1;
}

/* a and b observe and restore the same state of one target: the same kind, or one family
 * whose kinds all act on the container's / process's / service's run state (docker.exec
 * runs a command inside and restores no run state: it waits only for another exec; the same
 * for docker.stress, which adds processes, and docker.limit, whose state is the limits) */
static int shares_state(const struct step_rt *a, const struct step_rt *b)
{
    if (!a->fi.target || a->fi.target != b->fi.target) return 0;
    const char *ka = a->s->ops->name, *kb = b->s->ops->name;
    if (!strcmp(ka, kb)) return 1;
    static const char *const own_state[] = { "docker.exec", "docker.stress", "docker.limit", NULL };
    for (int i = 0; own_state[i]; i++)
        if (!strcmp(ka, own_state[i]) || !strcmp(kb, own_state[i])) return 0;
    static const char *const families[] = { "docker.", "process.", "swarm.", NULL };
    for (int i = 0; families[i]; i++)
        if (!strncmp(ka, families[i], strlen(families[i])) && !strncmp(kb, families[i], strlen(families[i]))) return 1;
    return 0;
}

static int step_settled(enum step_status s)
{
    return s == ST_REVERTED || s == ST_INJECT_FAILED || s == ST_REVERT_FAILED || s == ST_SKIPPED || s == ST_NOT_REVERTIBLE;
}

/* serialize steps on one target: st's prepare (its "prior" state) must not run before an
 * earlier step on the same state has reverted, or it would record (and later restore) that
 * step's fault (review-1 #5). 0; -1 when the run was aborted meanwhile; -2 when the method
 * ended first (a step without for: holds the target to the end): st is not injected. */
static int wait_earlier_on_target(struct run *r, struct step_rt *st)
{
    int waited = 0;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        struct step_rt *busy = NULL;
        for (size_t i = 0; i < r->p->nsteps; i++) {
            struct step_rt *o = &r->steps[i];
            if (o == st) continue;
            int earlier = o->s->at_ms < st->s->at_ms || (o->s->at_ms == st->s->at_ms && o < st);
            if (earlier && shares_state(o, st) && !step_settled(o->status)) { busy = o; break; }
        }
        if (!busy || fl_aborted()) break;
        if (r->method_done) {
            pthread_mutex_unlock(&r->mu);
            return -2;
        }
        if (!waited) {
            waited = 1;
            pthread_mutex_unlock(&r->mu);
            event(r, "'%s' waits for '%s' on the same target to revert first", st->s->name, busy->s->name);
            pthread_mutex_lock(&r->mu);
            continue;
        }
        wait_tick(r);
    }
    pthread_mutex_unlock(&r->mu);
    return fl_aborted() ? -1 : 0;
}

/* before prepare: a whole step's probability (proxy toxics apply it per connection instead)
 * and max_faults; 0 to go on, -1 when the step was skipped */
static int step_gate(struct run *r, struct step_rt *st, int64_t at_ns)
{
    struct step *s = st->s;
    int per_conn = s->ops->target_kind && !strcmp(s->ops->target_kind, "proxy");
    pthread_mutex_lock(&r->mu);
    double roll = fl_rand01(&r->rng);
    int over = r->p->max_faults > 0 && r->active >= r->p->max_faults;
    pthread_mutex_unlock(&r->mu);
    if (!per_conn && s->probability < 1.0 && roll >= s->probability) {
        char why[64];
        snprintf(why, sizeof why, "not injected: probability %.2f", s->probability);
        step_skipped(r, st, why);
        return -1;
    }
    if (!over) return 0;
    /* max_faults: another fault is still active; it may end by at:. Decide then, and journal
     * the intent only for a step that will act (this one then waits for its fsync) */
    if (fl_sleep_until(at_ns) < 0) {
        step_skipped(r, st, "not injected: the run was aborted first");
        return -1;
    }
    pthread_mutex_lock(&r->mu);
    over = r->active >= r->p->max_faults;
    pthread_mutex_unlock(&r->mu);
    if (over) return skip_max_faults(r, st);
    return 0;
}

/* observe every target (no side effect) and journal the intent with what undoes it; when
 * that fails nothing was touched: reported at at:, where the fault was due (-1) */
static int step_prepare(struct run *r, struct step_rt *st, int64_t at_ns)
{
    struct step *s = st->s;
    char err[FL_ERR_LEN] = "";
    int rc = s->ops->prepare ? s->ops->prepare(&st->fi, err) : 0;
    if (rc == 0 && r->journal) {
        json_t *intent = s->ops->save ? s->ops->save(&st->fi) : NULL;
        char jerr[FL_ERR_LEN];
        st->jid = journal_intent(r->journal, s->name, s->ops->name, intent, jerr);
        if (st->jid < 0) rc = fl_err(err, "not injected: %s", jerr);
        st->fi.jid = st->jid;
    }
    if (rc == 0) return 0;
    fl_sleep_until(at_ns);
    st->inject_start_ms = now_ms(r);
    return step_inject_failed(r, st, ST_INJECT_FAILED, st->inject_start_ms, err, 0);
}

/* at at: take a max_faults slot, inject, journal it; a half-done inject recorded in its
 * state what it did, and that is undone. 0 when injected */
static int step_inject(struct run *r, struct step_rt *st)
{
    struct step *s = st->s;
    pthread_mutex_lock(&r->mu);
    int over = r->p->max_faults > 0 && r->active >= r->p->max_faults;
    if (!over) r->active++;
    pthread_mutex_unlock(&r->mu);
    if (over) return skip_max_faults(r, st);
    run_sync_probes(r, st, PT_BEFORE);
    char err[FL_ERR_LEN] = "";
    st->inject_start_ms = now_ms(r);
    int rc = s->ops->inject(&st->fi, err);
    int64_t injected_ms = now_ms(r);
    if (st->jid >= 0) journal_done(r->journal, st->jid, rc == 0, err, s->ops->save ? s->ops->save(&st->fi) : NULL);
    if (rc == 0) {
        pthread_mutex_lock(&r->mu);
        st->inject_ms = injected_ms;
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    int undone = 1, abandoned = 0;
    if (st->fi.state && s->ops->revert) {
        /* with revert_timeout:, as every revert: a hanging undo must not hold the run */
        char e2[FL_ERR_LEN];
        if (revert_with_deadline(s->ops, &st->fi, r->journal, r->p->revert_timeout_ms, e2, &abandoned) < 0) {
            undone = 0;
            size_t l = strlen(err);
            snprintf(err + l, sizeof err - l, "; and undoing what it did failed: %.200s", e2);
        }
        if (abandoned) st->abandoned = 1;
    }
    /* settled only when undone; an abandoned undo stays pending for rollback */
    if (st->jid >= 0 && (undone || !abandoned))
        journal_reverted(r->journal, st->jid, undone, undone ? "inject failed; undone" : err);
    return step_inject_failed(r, st, undone ? ST_INJECT_FAILED : ST_REVERT_FAILED, injected_ms, err, 1);
}

/* injected: say so, then hold it for for:, or until the end of the method */
static void step_hold(struct run *r, struct step_rt *st)
{
    struct step *s = st->s;
    struct buf d;
    buf_init(&d, 4096);
    if (s->ops->describe) s->ops->describe(&st->fi, &d);
    snprintf(st->desc, sizeof st->desc, "%s", d.data);
    fl_redact(st->desc);
    buf_release(&d);
    pthread_mutex_lock(&r->mu);
    st->status = ST_INJECTED;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    event(r, "injected '%s': %s", s->name, st->desc[0] ? st->desc : s->ops->name);
    if (r->live) {
        char *t = fl_asprintf("injected '%s': %s", s->name, st->desc[0] ? st->desc : s->ops->name);
        live_event(r->live, "inject", s->name, s->ops->name, s->target ? s->target->name : NULL, t);
        free(t);
    }
    if (s->for_ms > 0) {
        fl_sleep_until(r->drv.t0_ns + (st->inject_ms + s->for_ms) * 1000000LL);
    } else if (s->ops->revert) {
        /* no for: reverted at the end of the method */
        pthread_mutex_lock(&r->mu);
        while (!r->method_done && !fl_aborted()) wait_tick(r);
        pthread_mutex_unlock(&r->mu);
    }
}

static void *step_thread(void *arg)
{
    struct step_rt *st = arg;
    struct run *r = (struct run *)st->fi.state;
    st->fi.state = NULL;
    int64_t at_ns = r->drv.t0_ns + st->s->at_ms * 1000000LL;
    /* write-ahead, ahead of time: the targets are observed and the intent journaled (fsync'd)
     * up to PREPARE_LEAD_MS before at:, so that the journal does not delay the fault itself */
    int64_t lead_ms = st->s->at_ms < PREPARE_LEAD_MS ? st->s->at_ms : PREPARE_LEAD_MS;
    int waited = fl_sleep_until(at_ns - lead_ms * 1000000LL) < 0 ? -1 : wait_earlier_on_target(r, st);
    if (waited == -2) {
        step_skipped(r, st, "not injected: an earlier step on the same target was still active when the method ended");
        return NULL;
    }
    if (waited < 0) {
        step_skipped(r, st, "not injected: the run was aborted first");
        return NULL;
    }
    if (step_gate(r, st, at_ns) < 0 || step_prepare(r, st, at_ns) < 0) return NULL;
    if (fl_sleep_until(at_ns) < 0) {
        step_skipped(r, st, "not injected: the run was aborted first");
        return NULL;
    }
    if (step_inject(r, st) < 0) return NULL;
    step_hold(r, st);
    do_revert(r, st);
    run_sync_probes(r, st, PT_AFTER);
    return NULL;
}

/* ---- live metrics (--pushgateway) --------------------------------------------------- */
static void prom_label(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"') buf_addc(b, '\\'), buf_addc(b, *s);
        else if (*s == '\n') buf_adds(b, "\\n");
        else buf_addc(b, *s);
    }
}

/* the newest figures: the last whole second of each load block, active faults, and the
 * verdict of every probe and stop condition so far */
static void push_live(struct run *r, int64_t t, int active)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct buf pl;
    buf_init(&pl, 4096);
    prom_label(&pl, r->p->name);
    buf_addf(&b, "# TYPE faultline_live_elapsed_seconds gauge\nfaultline_live_elapsed_seconds{plan=\"%s\"} %.3f\n", pl.data,
             t / 1000.0);
    buf_addf(&b, "# TYPE faultline_live_active_faults gauge\nfaultline_live_active_faults{plan=\"%s\"} %d\n", pl.data, active);
    if (r->lg && t >= 1000) {
        buf_adds(&b, "# TYPE faultline_live_rps gauge\n# TYPE faultline_live_p95_seconds gauge\n"
                     "# TYPE faultline_live_error_ratio gauge\n");
        for (size_t i = 0; i < r->p->nloads; i++) {
            const char *name = lg_block_name(r->p->loads[i]);
            struct lg_stats ls;
            if (lg_query(r->lg, name, (t / 1000 - 1) * 1000, (t / 1000) * 1000, &ls) < 0) continue;
            struct buf bl;
            buf_init(&bl, 4096);
            prom_label(&bl, name);
            buf_addf(&b, "faultline_live_rps{plan=\"%s\",block=\"%s\"} %g\n", pl.data, bl.data, ls.rps);
            if (ls.count) {
                buf_addf(&b, "faultline_live_p95_seconds{plan=\"%s\",block=\"%s\"} %g\n", pl.data, bl.data, ls.p95 / 1000.0);
                buf_addf(&b, "faultline_live_error_ratio{plan=\"%s\",block=\"%s\"} %g\n", pl.data, bl.data, ls.error_rate);
            }
            buf_release(&bl);
        }
    }
    buf_adds(&b, "# TYPE faultline_live_probe_verdict gauge\n");
    struct { struct probe_rt *v; size_t n; const char *kind; } sets[] = {
        { r->probes, r->p->nprobes, "probe" }, { r->stops, r->p->nstop_when, "stop_when" } };
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sets[k].n; i++) {
            struct probe_rt *pr = &sets[k].v[i];
            pthread_mutex_lock(&r->mu);
            size_t nobs = pr->nobs;
            /* a stop condition as run.json will judge it: failing seconds are not a trip */
            enum probe_outcome v = !nobs ? PROBE_INCONCLUSIVE : k ? run_stop_verdict(r, i, NULL)
                                                                  : run_probe_verdict(pr, NULL, NULL, 0);
            pthread_mutex_unlock(&r->mu);
            if (!nobs) continue; /* not checked yet: no verdict to show */
            struct buf nm;
            buf_init(&nm, 4096);
            prom_label(&nm, pr->spec->name);
            buf_addf(&b, "faultline_live_probe_verdict{plan=\"%s\",kind=\"%s\",probe=\"%s\",verdict=\"%s\"} 1\n", pl.data,
                     sets[k].kind, nm.data, probe_outcome_name(v));
            buf_release(&nm);
        }
    fl_redact(b.data);
    live_metrics(r->live, b.data);
    buf_release(&pl);
    buf_release(&b);
}

/* ---- stop_when ---------------------------------------------------------------------- */
static void check_stop_when(struct run *r)
{
    int64_t t = now_ms(r);
    for (size_t i = 0; i < r->p->nstop_when; i++) {
        struct probe_rt *pr = &r->stops[i];
        int64_t from = is_load_probe(pr->spec) ? ((t / 1000) - 1) * 1000 : t;
        if (from < 0) continue;
        enum probe_outcome out = check_once(r, pr, from, from + 1000);
        /* a second without evidence (no completed request, a check that could not be
         * made) neither trips the condition nor ends a failing streak */
        if (out == PROBE_INCONCLUSIVE) continue;
        if (out == PROBE_PASSED) { pr->fail_since_ms = -1; continue; }
        if (pr->fail_since_ms < 0) pr->fail_since_ms = t;
        if (t - pr->fail_since_ms >= pr->spec->for_ms) {
            snprintf(r->abort_reason, sizeof r->abort_reason, "stop_when '%s' tripped: %s", pr->spec->name,
                     pr->obs[pr->nobs - 1].observed);
            r->stop_tripped = (int)i + 1;
            event(r, "ABORT: %s", r->abort_reason);
            fl_abort(-1);
            return;
        }
    }
}

/* ---- the run ------------------------------------------------------------------------ */
/* when a probe of the dry run's timeline checks, in words */
static void probe_when(const struct probe_spec *ps, char *out, size_t n)
{
    const char *w = ps->window ? ps->window->name : NULL;
    char every[32];
    val_fmt_duration(ps->every_ms, every);
    switch (ps->timing) {
    case PT_BEFORE: snprintf(out, n, "before step '%s'", w ? w : "?"); break;
    case PT_AFTER: snprintf(out, n, "after step '%s'", w ? w : "?"); break;
    case PT_DURING:
        if (ps->ops->scalar_valued) snprintf(out, n, "during step '%s'", w ? w : "?");   /* judges the window */
        else snprintf(out, n, "during step '%s', every %s", w ? w : "?", every);
        break;
    case PT_STEADY: snprintf(out, n, "before the first fault and after the last revert"); break;
    case PT_STOP_WHEN: snprintf(out, n, "all along, every %s", every); break;
    default:
        if (w) snprintf(out, n, "from step '%s'", w);   /* a recovery probe's window */
        else snprintf(out, n, "over the whole run");
    }
}

static void print_timeline(struct run *r)
{
    struct plan *p = r->p;
    char dur[32];
    val_fmt_duration(p->duration_ms, dur);
    printf("plan '%s' (%s): duration %s, seed %llu\n", p->name, p->path, dur, (unsigned long long)r->drv.seed);
    for (size_t i = 0; i < p->ntargets; i++) {
        struct buf b;
        buf_init(&b, 4096);
        if (p->targets[i]->ops->describe) p->targets[i]->ops->describe(p->targets[i], &b);
        fl_redact(b.data);
        printf("  target   %-18s %-10s %s\n", p->targets[i]->name, p->targets[i]->ops->name, b.data);
        buf_release(&b);
    }
    for (size_t i = 0; i < p->nservices; i++) printf("  service  %-18s %s\n", p->services[i]->name, p->services[i]->run[0]);
    for (size_t i = 0; i < p->nloads; i++) {
        char d[512];
        lg_block_describe(p->loads[i], d, sizeof d);
        printf("  load     %-18s %s\n", lg_block_name(p->loads[i]), d);
    }
    for (size_t i = 0; i < p->nsteps; i++) {
        struct step *s = p->steps[i];
        char a[32], f[64];
        val_fmt_duration(s->at_ms, a);
        if (s->for_ms > 0) { char x[32]; val_fmt_duration(s->for_ms, x); snprintf(f, sizeof f, "for %s", x); }
        else snprintf(f, sizeof f, "%s", s->ops->revert ? "until the end" : "not reverted");
        printf("  step     %-18s at %-7s %-18s target %-14s %s\n", s->name, a, s->ops->name, s->target ? s->target->name : "-", f);
    }
    const struct { const char *label; struct probe_spec **v; size_t n; } lists[] = {
        { "steady", p->steady, p->nsteady }, { "probe", p->probes, p->nprobes }, { "stop_when", p->stop_when, p->nstop_when } };
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < lists[l].n; i++) {
            char when[160];
            probe_when(lists[l].v[i], when, sizeof when);
            printf("  %-8s %-18s %-10s %s\n", lists[l].label, lists[l].v[i]->name, lists[l].v[i]->ops->name, when);
        }
}

/* the run's state: steps, probes, what the run offers drivers, the seed */
static struct run *run_new(struct plan *p, const struct run_opts *o)
{
    struct run *r = fl_calloc(1, sizeof *r);
    r->p = p;
    r->o = o;
    pthread_mutex_init(&r->mu, NULL);
    cond_init_monotonic(&r->cv);
    r->events = json_array();
    r->rollback = json_array();
    r->exit_code = FL_EXIT_OK;
    r->steady_ok = r->steady_after_ok = 1;
    r->held_before = r->held_after = PROBE_PASSED;
    r->started = fl_wall();
    r->drv.hooks = &run_hooks;
    r->drv.run = r;
    r->drv.duration_ms = p->duration_ms;
    r->drv.require_label = p->require_label;
    r->drv.seed = o->seed_set ? o->seed : p->seed_set ? p->seed : ((uint64_t)fl_now_ns() ^ ((uint64_t)getpid() << 32)) % 1000000007ULL;
    r->drv.dry_run = o->dry_run;
    r->rng = r->drv.seed;
    r->steps = fl_calloc(p->nsteps, sizeof *r->steps);
    for (size_t i = 0; i < p->nsteps; i++) {
        struct step_rt *st = &r->steps[i];
        st->s = p->steps[i];
        st->jid = -1;
        st->fs = (struct fault_step){ .name = st->s->name, .probability = st->s->probability, .for_ms = st->s->for_ms };
        st->fi = (struct fault_inst){ .ops = st->s->ops, .step = &st->fs, .target = st->s->target, .ctx = &r->drv,
                                      .cfg = st->s->cfg, .jid = -1 };
    }
    r->probes = fl_calloc(p->nprobes, sizeof *r->probes);
    for (size_t i = 0; i < p->nprobes; i++) prt_init(r, &r->probes[i], p->probes[i]);
    r->before = fl_calloc(p->nsteady, sizeof *r->before);
    r->after = fl_calloc(p->nsteady, sizeof *r->after);
    for (size_t i = 0; i < p->nsteady; i++) { prt_init(r, &r->before[i], p->steady[i]); prt_init(r, &r->after[i], p->steady[i]); }
    r->stops = fl_calloc(p->nstop_when, sizeof *r->stops);
    for (size_t i = 0; i < p->nstop_when; i++) prt_init(r, &r->stops[i], p->stop_when[i]);
    return r;
}

static void run_free(struct run *r)
{
    struct plan *p = r->p;
    /* probes first: one that still holds rows it seeded deletes them now and settles their
     * journal entries, so the journal must still be open */
    for (size_t i = 0; i < p->nprobes; i++) prt_release(&r->probes[i]);
    for (size_t i = 0; i < p->nsteady; i++) { prt_release(&r->before[i]); prt_release(&r->after[i]); }
    for (size_t i = 0; i < p->nstop_when; i++) prt_release(&r->stops[i]);
    if (r->journal) { journal_end(r->journal, r->exit_code); journal_close(r->journal); }
    if (r->lg) lg_free(r->lg);
    res_free(r->resources);
    live_free(r->live); /* after the last revert's event */
    svc_free(r->services);
    for (size_t i = 0; i < p->nsteps; i++)
        if (r->steps[i].fi.state && !r->steps[i].abandoned && p->steps[i]->ops->free_state)
            p->steps[i]->ops->free_state(r->steps[i].fi.state);
    free(r->steps); free(r->probes); free(r->before); free(r->after); free(r->stops);
    json_decref(r->events);
    json_decref(r->rollback);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

/* --dry-run: resolve the targets (reads only) and print the timeline */
static void run_dry(struct run *r)
{
    struct plan *p = r->p;
    char err[FL_ERR_LEN];
    int bad = 0;
    for (size_t i = 0; i < p->ntargets; i++) {
        struct target *t = p->targets[i];
        if (t->ops->open && t->ops->open(t, &r->drv, err) < 0) { fl_log(FL_LOG_ERROR, "target '%s': %s", t->name, err); bad = 1; }
    }
    print_timeline(r);
    for (size_t i = 0; i < p->ntargets; i++)
        if (p->targets[i]->ops->close) p->targets[i]->ops->close(p->targets[i], &r->drv);
    /* a target that cannot be resolved (engine unreachable, nothing matches): nothing was
     * run, so no hypothesis failed */
    r->exit_code = bad ? FL_EXIT_INVALID : FL_EXIT_OK;
    if (bad) snprintf(r->abort_reason, sizeof r->abort_reason, "dry run: a target could not be resolved (see above); nothing was run");
}

/* the run cannot start: the journal is closed, the reason kept */
static int journal_refused(struct run *r, const char *reason)
{
    journal_close(r->journal);
    r->journal = NULL;
    r->exit_code = FL_EXIT_INVALID;
    snprintf(r->abort_reason, sizeof r->abort_reason, "%s", reason);
    return -1;
}

/* the journal, locked for the whole run; one that still holds unsettled faults (an intent
 * without a reverted record: possibly applied) blocks a new run */
static int run_journal_open(struct run *r)
{
    const struct run_opts *o = r->o;
    char err[FL_ERR_LEN];
    const char *jpath = o->journal_path ? o->journal_path : journal_default_path();
    r->journal = journal_open(jpath, "run", err);
    if (!r->journal) {
        fl_log(FL_LOG_ERROR, "%s", err);
        snprintf(r->abort_reason, sizeof r->abort_reason, "%s", err);
        r->exit_code = FL_EXIT_INVALID;
        return -1;
    }
    json_t *problems = NULL;
    json_t *pend = journal_pending(jpath, &problems, err);
    for (size_t i = 0; i < json_array_size(problems); i++)
        fl_log(FL_LOG_WARN, "journal '%s': %s", jpath, json_string_value(json_array_get(problems, i)));
    json_decref(problems);
    if (!pend && !o->ignore_journal) {
        /* what it holds is unknown: it may name faults still in effect */
        fl_log(FL_LOG_ERROR, "%s (--force starts anyway)", err);
        return journal_refused(r, err);
    }
    if (pend && json_array_size(pend) > 0 && !o->ignore_journal) {
        struct buf names;
        buf_init(&names, 4096);
        for (size_t i = 0; i < json_array_size(pend) && i < 8; i++) {
            json_t *e = json_array_get(pend, i);
            int svc = !strcmp(json_string_value(json_object_get(e, "op")), "service");
            int rows = !svc && probe_find_journal_kind(json_string_value(json_object_get(e, "kind")));
            buf_addf(&names, "%s%s '%s'", i ? ", " : "", svc ? "service" : rows ? "rows seeded by probe" : "step",
                     json_string_value(json_object_get(e, svc ? "name" : "step")));
        }
        fl_log(FL_LOG_ERROR, "the journal '%s' holds %zu unsettled fault(s), seeded rows or leftover service(s) from an earlier run "
               "(%s%s): they may still be in effect; run `faultline rollback %s` first", jpath, json_array_size(pend),
               names.data, json_array_size(pend) > 8 ? ", ..." : "", jpath);
        buf_release(&names);
        json_decref(pend);
        snprintf(err, sizeof err, "unsettled faults in the journal '%s'", jpath);
        return journal_refused(r, err);
    }
    json_decref(pend);
    if (journal_begin(r->journal, r->p->name, err) < 0) {
        fl_log(FL_LOG_ERROR, "%s", err);
        journal_close(r->journal);
        r->journal = NULL;
        r->exit_code = FL_EXIT_INVALID;
        return -1;
    }
    return 0;
}

/* targets first (a proxy must listen before a service connects through it; a selector that
 * matches nothing fails before anything is touched), then services */
static int run_open(struct run *r)
{
    struct plan *p = r->p;
    char err[FL_ERR_LEN];
    for (size_t i = 0; i < p->ntargets; i++) {
        struct target *t = p->targets[i];
        if (t->ops->open && t->ops->open(t, &r->drv, err) < 0) {
            snprintf(r->abort_reason, sizeof r->abort_reason, "target '%s': %s", t->name, err);
            event(r, "cannot open target '%s': %s", t->name, err);
            /* nothing was touched and no hypothesis tested: as in the dry run, exit 2, not 1 */
            r->exit_code = FL_EXIT_INVALID;
            return -1; /* the cleanup closes the ones already open */
        }
        r->opened = i + 1;
    }
    r->services = svc_new(p, &r->drv, r->journal, r->o->report_dir);
    if (p->nservices) {
        r->touched = 1;
        if (svc_start_all(r->services, err) < 0) {
            snprintf(r->abort_reason, sizeof r->abort_reason, "%s", err);
            event(r, "cannot start services: %s", err);
            r->exit_code = FL_EXIT_FAILED;
            return -1;
        }
    }
    r->touched = 1;
    r->method_started = 1;
    return 0;
}

/* the steady state, checked once per entry (pr: before or after); its overall outcome */
static enum probe_outcome steady_check(struct run *r, struct probe_rt *pr)
{
    enum probe_outcome held = PROBE_PASSED;
    for (size_t i = 0; i < r->p->nsteady; i++) {
        check_once(r, &pr[i], 0, 0);
        enum probe_outcome v = run_probe_verdict(&pr[i], NULL, NULL, 0);
        if (v == PROBE_FAILED) held = PROBE_FAILED;
        else if (v == PROBE_INCONCLUSIVE && held == PROBE_PASSED) held = PROBE_INCONCLUSIVE;
    }
    return held;
}

/* faultline could not run the plan's load (a json_file gone, a tool that does not start, no
 * thread): no fault is injected, and it is no finding about the service (exit 2, not 1) */
static void load_not_started(struct run *r, const char *err)
{
    snprintf(r->abort_reason, sizeof r->abort_reason, "cannot start the load: %s", err);
    event(r, "%s", r->abort_reason);
    r->exit_code = FL_EXIT_INVALID;
    r->steady_ok = 0;
}

/* steady state before: a fault is injected only into a system shown to be healthy; then the
 * clock and the load */
static void run_steady_and_load(struct run *r)
{
    struct plan *p = r->p;
    char err[FL_ERR_LEN];
    r->held_before = steady_check(r, r->before);
    if (r->held_before == PROBE_FAILED) {
        r->steady_ok = 0;
        event(r, "steady state does not hold before the method: no fault is injected");
        r->exit_code = FL_EXIT_FAILED;
    } else if (r->held_before == PROBE_INCONCLUSIVE) {
        r->steady_ok = 0;
        event(r, "steady state could not be checked before the method: no fault is injected");
    }
    /* outside load tools (command:/locust:/k6:) start and say they are up before the clock,
     * so a tool that cannot start stops the run before any fault (exit 2) */
    if (p->nloads && r->steady_ok) {
        r->lg = lg_new(p->loads, p->nloads, r->drv.seed, err);
        if (!r->lg || lg_prestart(r->lg, p->duration_ms, err) < 0) load_not_started(r, err);
    }
    r->drv.t0_ns = fl_now_ns();
    r->live = live_new(r->o->live_push_url, r->o->annotate_url, p->name);
    r->resources = res_start(p, &r->drv, err); /* container resources from the clock's start (resources.h) */
    if (r->resources) event(r, "sampling the resources of the plan's containers once a second");
    if (r->lg && r->steady_ok && lg_start(r->lg, r->drv.t0_ns, p->duration_ms, err) < 0) load_not_started(r, err);
    event(r, "run started: %s (seed %llu)", p->name, (unsigned long long)r->drv.seed);
    r->drv.baseline_from_ms = 0;
    r->drv.baseline_to_ms = p->duration_ms;
    for (size_t i = 0; i < p->nsteps; i++)
        if (p->steps[i]->at_ms < r->drv.baseline_to_ms) r->drv.baseline_to_ms = p->steps[i]->at_ms;
}

/* a thread per step, per during: probe and per recovery probe */
static void run_start_threads(struct run *r)
{
    struct plan *p = r->p;
    for (size_t i = 0; i < p->nsteps; i++) {
        struct step_rt *st = &r->steps[i];
        st->fi.state = r; /* handed to the thread, which clears it */
        if (pthread_create(&st->th, NULL, step_thread, st) == 0) st->has_th = 1;
        else { st->fi.state = NULL; st->status = ST_SKIPPED; snprintf(st->err, sizeof st->err, "cannot start a thread"); }
    }
    for (size_t i = 0; i < p->nprobes; i++) {
        struct probe_rt *pr = &r->probes[i];
        void *(*fn)(void *) = NULL;
        if (is_recovery_probe(pr->spec)) fn = recovery_thread;
        else if (pr->spec->timing == PT_DURING && !is_load_probe(pr->spec)) fn = during_thread;
        if (!fn) continue;
        pr->pi.state = r;
        if (pthread_create(&pr->th, NULL, fn, pr) == 0) pr->has_th = 1;
        else pr->pi.state = NULL;
    }
}

/* one second of the supervisor: stop_when, the live progress line */
static void supervise_tick(struct run *r)
{
    check_stop_when(r);
    double rps = NAN, p95 = NAN, er = NAN;
    int64_t t = now_ms(r);
    struct lg_stats ls;
    if (r->lg && t >= 1000 && lg_query(r->lg, NULL, (t / 1000 - 1) * 1000, (t / 1000) * 1000, &ls) == 0 && ls.count) {
        rps = ls.rps;
        p95 = ls.p95;
        er = ls.error_rate;
    }
    pthread_mutex_lock(&r->mu);
    int active = r->active;
    pthread_mutex_unlock(&r->mu);
    progress_update(live, active ? "fault" : "method", t, r->p->duration_ms, rps, p95, er, active);
    if (r->live && (t / 1000) % 2 == 0) push_live(r, t, active);
}

/* until the end of the experiment: stop_when every second, the global timeout; then the
 * method is over: the threads are joined and the load stopped */
static void run_supervise(struct run *r)
{
    struct plan *p = r->p;
    const struct run_opts *o = r->o;
    live = progress_new(2, o->quiet || fl_log_level < FL_LOG_INFO);
    fl_log_before = clear_live;
    int64_t end_ns = r->drv.t0_ns + p->duration_ms * 1000000LL;
    int64_t next = r->drv.t0_ns + 1000000000LL;
    while (!fl_aborted() && fl_now_ns() < end_ns) {
        int64_t until = next < end_ns ? next : end_ns;
        if (fl_sleep_until(until) < 0) break;
        if (fl_now_ns() >= next) {
            char why[sizeof r->abort_reason];
            if (r->lg && lg_tool_failure(r->lg, why, sizeof why)) {
                /* the load tool died: what follows would judge a fault without its load */
                snprintf(r->abort_reason, sizeof r->abort_reason, "%s", why);
                event(r, "ABORT: %s", r->abort_reason);
                fl_abort(-3);
                break;
            }
            supervise_tick(r);
            next += 1000000000LL;
        }
        if (o->timeout_ms > 0 && fl_now_ns() - r->drv.t0_ns > o->timeout_ms * 1000000LL) {
            snprintf(r->abort_reason, sizeof r->abort_reason, "the global --timeout of %lldms was reached", (long long)o->timeout_ms);
            event(r, "ABORT: %s", r->abort_reason);
            fl_abort(-2);
        }
    }
    fl_log_before = NULL;
    progress_done(live);
    live = NULL;
    if (fl_aborted() && !r->abort_reason[0])
        snprintf(r->abort_reason, sizeof r->abort_reason, "interrupted by a signal");
    pthread_mutex_lock(&r->mu);
    r->method_done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < p->nsteps; i++) if (r->steps[i].has_th) pthread_join(r->steps[i].th, NULL);
    if (r->lg) lg_stop(r->lg);
    /* recovery probes may still be measuring (bounded by their within:) */
    for (size_t i = 0; i < p->nprobes; i++) if (r->probes[i].has_th) pthread_join(r->probes[i].th, NULL);
    event(r, "method done");
}

/* a load probe's window around its step: 0 and from/to set, -1 when the step never acted */
static int load_window(struct run *r, struct probe_rt *pr, struct step_rt *st, int64_t *from, int64_t *to)
{
    if (st->status == ST_SKIPPED || st->status == ST_INJECT_FAILED || st->status == ST_PENDING) {
        pr->not_run = 1;
        snprintf(pr->not_run_reason, sizeof pr->not_run_reason, "step '%s' was not injected (%s)", st->s->name,
                 run_step_status_name[st->status]);
        return -1;
    }
    int64_t a = st->inject_ms, b = st->revert_ms ? st->revert_ms : now_ms(r);
    if (pr->spec->timing == PT_DURING) { *from = a; *to = b; }
    else if (pr->spec->timing == PT_BEFORE) {
        /* whole seconds before the injection only: a second the fault began in holds its
         * first failures, no evidence of "before" */
        *to = st->inject_start_ms / 1000 * 1000;
        *from = *to - (b - a);
        if (*from < 0) *from = 0;
    } else {
        *from = (b + 999) / 1000 * 1000; /* whole seconds after the revert */
        *to = *from + (b - a);
    }
    return 0;
}

/* load probes over their windows, probes without timing */
static void run_window_probes(struct run *r)
{
    struct plan *p = r->p;
    for (size_t i = 0; i < p->nprobes; i++) {
        struct probe_rt *pr = &r->probes[i];
        if (is_recovery_probe(pr->spec) || (pr->spec->timing == PT_DURING && !is_load_probe(pr->spec))) continue;
        if (pr->spec->timing == PT_BEFORE || pr->spec->timing == PT_AFTER) {
            if (!is_load_probe(pr->spec)) continue; /* ran in the step's thread */
        }
        if (fl_abort_level() > 1) break;
        int64_t from = 0, to = p->duration_ms;
        struct step_rt *st = step_rt_of(r, pr->spec->window);
        if (is_load_probe(pr->spec) && st && load_window(r, pr, st, &from, &to) < 0) continue;
        pr->from_ms = from;
        pr->to_ms = to;
        check_once(r, pr, from, to);
    }
}

/* always, once anything may have been touched: reverts of what is still injected, the
 * steady state after, the rollback steps, targets closed, services stopped */
static void run_cleanup(struct run *r)
{
    struct plan *p = r->p;
    char err[FL_ERR_LEN];
    /* anything still injected (an aborted thread start, for instance) */
    for (size_t i = 0; i < p->nsteps; i++)
        if (r->steps[i].status == ST_INJECTED || r->steps[i].status == ST_REVERTING) do_revert(r, &r->steps[i]);
    if (r->lg) lg_stop(r->lg);
    if (r->method_started && r->steady_ok && !fl_aborted()) {
        r->held_after = steady_check(r, r->after);
        r->steady_after_ok = r->held_after != PROBE_FAILED;
        if (r->held_after == PROBE_FAILED) event(r, "steady state does not hold after the method");
        else if (r->held_after == PROBE_INCONCLUSIVE) event(r, "steady state could not be checked after the method");
    } else if (p->nsteady) {
        r->held_after = PROBE_INCONCLUSIVE; /* never checked */
    }
    for (size_t i = 0; i < p->nrollback && r->touched; i++) {
        char out[2048];
        int st = spawn_run(p->rollback[i]->run, p->rollback[i]->timeout_ms, out, sizeof out, err);
        json_t *x = json_object();
        json_object_set_new(x, "command", json_string(p->rollback[i]->run[0]));
        json_object_set_new(x, "exit", json_integer(st));
        json_object_set_new(x, "ok", json_boolean(st == 0));
        if (st < 0) json_object_set_new(x, "error", json_string(err));
        json_array_append_new(r->rollback, x);
        event(r, "rollback step %zu: %s", i + 1, st == 0 ? "ok" : st < 0 ? err : "non-zero exit");
    }
    for (size_t i = 0; i < r->opened; i++)
        if (p->targets[i]->ops->close) p->targets[i]->ops->close(p->targets[i], &r->drv);
    if (r->services) svc_stop_all(r->services);
    res_stop(r->resources); /* samples through the steady state after; the record reads them */
}

int run_plan(struct plan *p, const struct run_opts *o, json_t **record)
{
    struct run *r = run_new(p, o);
    if (o->dry_run) {
        run_dry(r);
    } else if (run_journal_open(r) == 0) {
        if (run_open(r) == 0) {
            run_steady_and_load(r);
            if (r->steady_ok) {
                run_start_threads(r);
                run_supervise(r);
                run_window_probes(r);
            }
        }
        run_cleanup(r);
    }
    json_t *rec = run_record(r);
    int exit_code = r->exit_code;
    run_free(r);
    if (record) *record = rec; else json_decref(rec);
    return exit_code;
}
