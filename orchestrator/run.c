/* run.c -- the timeline runner (see run.h for the order of a run). */
#include "run.h"

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

enum step_status { ST_PENDING, ST_INJECTED, ST_REVERTED, ST_INJECT_FAILED, ST_REVERT_FAILED, ST_SKIPPED, ST_NOT_REVERTIBLE,
                   ST_REVERTING };
static const char *const step_status_name[] = { "pending", "injected", "reverted", "inject_failed", "revert_failed",
                                                 "skipped", "injected_no_revert", "reverting" };

struct probe_rt {
    struct probe_spec *spec;
    struct probe_inst pi;
    struct probe_obs *obs;
    size_t nobs, capobs;
    int not_run;                /* no check could be made: why in not_run_reason */
    char not_run_reason[256];
    int64_t from_ms, to_ms;
    pthread_t th;
    int has_th;
    int64_t fail_since_ms;      /* stop_when */
};

struct step_rt {
    struct step *s;
    struct fault_inst fi;
    enum step_status status;
    int64_t inject_start_ms, inject_ms, revert_ms;  /* inject() called at .._start, returned at inject_ms */
    char err[FL_ERR_LEN];
    char desc[512];
    long jid;
    pthread_t th;
    int has_th;
    int abandoned;      /* its revert outlived revert_timeout: and still owns fi.state */
};

struct run {
    struct plan *p;
    struct fl_ctx ctx;
    struct live *live;          /* --pushgateway / --annotate while the run goes on, or NULL */
    const struct run_opts *o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct step_rt *steps;
    struct probe_rt *probes, *before, *after, *stops;
    int method_done;
    int active;
    json_t *events;
    char abort_reason[1200];
    int stop_tripped;
    uint64_t rng;
};

static struct progress *live; /* the live progress line of the running experiment */
static void clear_live(void) { progress_clear(live); }


static int64_t now_ms(struct run *r) { return fl_ctx_now_ms(&r->ctx); }

static void event(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(struct run *r, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fl_redact(text);
    int64_t t = r->ctx.t0_ns ? now_ms(r) : 0;
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

int run_journal_service(struct fl_ctx *ctx, const char *name, pid_t pid, int stopped, char *err)
{
    return ctx && ctx->journal ? journal_service(ctx->journal, name, pid, stopped, err) : 0;
}

/* ---- probes ----------------------------------------------------------------------- */
static int is_load_probe(const struct probe_spec *ps) { return !strcmp(ps->ops->name, "load"); }
static int is_recovery_probe(const struct probe_spec *ps) { return !strcmp(ps->ops->name, "recovery"); }
int probe_recovery_from_inject(const void *cfg); /* probes/recovery.c */

static void prt_init(struct run *r, struct probe_rt *pr, struct probe_spec *ps)
{
    memset(pr, 0, sizeof *pr);
    pr->spec = ps;
    pr->pi.ops = ps->ops;
    pr->pi.spec = ps;
    pr->pi.ctx = &r->ctx;
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
    int64_t t = r->ctx.t0_ns ? now_ms(r) : 0;
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

/* The verdict of a probe over its checks (probe.h): failed when any check failed, else
 * passed when its evidence reaches min_evidence, else inconclusive; why (when not NULL)
 * says what an inconclusive verdict lacked. */
static enum probe_outcome probe_verdict(const struct probe_rt *pr, long *evidence, char *why, size_t whylen)
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
    if (ev >= need) return PROBE_PASSED;
    if (why) {
        if (pr->not_run) snprintf(why, whylen, "%s", pr->not_run_reason);
        else if (first_inc) snprintf(why, whylen, "%s", first_inc->observed);
        else if (pr->nobs == 0) snprintf(why, whylen, "the probe never ran");
        else snprintf(why, whylen, "%ld unit%s of evidence, min_evidence is %ld", ev, ev == 1 ? "" : "s", need);
    }
    return PROBE_INCONCLUSIVE;
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
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 50000000L;
        if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
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
                 step_status_name[st->status]);
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
    if (probe_recovery_from_inject(pr->spec->cfg)) {
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
                 step_status_name[st->status]);
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
    struct fault_inst *fi;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, abandoned, rc;
    char err[FL_ERR_LEN];
};

static void revert_job_free(struct revert_job *j)
{
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static void *revert_worker(void *arg)
{
    struct revert_job *j = arg;
    int rc = j->ops->revert(j->fi, j->err);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->done = 1;
    int abandoned = j->abandoned;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (abandoned) revert_job_free(j);
    return NULL;
}

/* 0 / -1 as ops->revert, or -1 with "did not finish" after timeout_ms (the revert goes on
 * in the background; *abandoned tells the caller not to free the fault's state) */
static int revert_with_deadline(const struct fault_ops *ops, struct fault_inst *fi, int64_t timeout_ms, char *err,
                                int *abandoned)
{
    struct revert_job *j = fl_calloc(1, sizeof *j);
    j->ops = ops;
    j->fi = fi;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
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
        journal_reverted(r->ctx.journal, st->jid, 1, "nothing to undo");
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
    int rc = revert_with_deadline(ops, &st->fi, r->p->revert_timeout_ms, err, &abandoned);
    if (abandoned) st->abandoned = 1;
    /* settled only when it worked; a failed or abandoned revert stays pending for rollback */
    if (rc == 0 || !abandoned) journal_reverted(r->ctx.journal, st->jid, rc == 0, rc == 0 ? "run" : err);
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
    if (st->jid >= 0) journal_reverted(r->ctx.journal, st->jid, 1, why);
    pthread_mutex_lock(&r->mu);
    st->status = ST_SKIPPED;
    snprintf(st->err, sizeof st->err, "%s", why);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (strstr(why, "aborted") == NULL) event(r, "skipped '%s': %s", st->s->name, st->err);
}

static void *step_thread(void *arg)
{
    struct step_rt *st = arg;
    struct run *r = (struct run *)st->fi.state;
    st->fi.state = NULL;
    struct step *s = st->s;
    int64_t at_ns = r->ctx.t0_ns + s->at_ms * 1000000LL;
    /* write-ahead, ahead of time: the targets are observed and the intent journaled (fsync'd)
     * up to PREPARE_LEAD_MS before at:, so that the journal does not delay the fault itself */
    int64_t lead_ms = s->at_ms < PREPARE_LEAD_MS ? s->at_ms : PREPARE_LEAD_MS;
    if (fl_sleep_until(at_ns - lead_ms * 1000000LL) < 0) {
        step_skipped(r, st, "not injected: the run was aborted first");
        return NULL;
    }
    /* probability of a whole step (toxics on proxies apply it per connection instead) */
    int per_conn = s->ops->target_kind && !strcmp(s->ops->target_kind, "proxy");
    pthread_mutex_lock(&r->mu);
    double roll = fl_rand01(&r->rng);
    int over = r->p->max_faults > 0 && r->active >= r->p->max_faults;
    pthread_mutex_unlock(&r->mu);
    if (!per_conn && s->probability < 1.0 && roll >= s->probability) {
        char why[64];
        snprintf(why, sizeof why, "not injected: probability %.2f", s->probability);
        step_skipped(r, st, why);
        return NULL;
    }
    if (over) {
        /* max_faults: another fault is still active; it may end by at:. Decide then, and
         * journal the intent only for a step that will act (this one then waits for its fsync) */
        if (fl_sleep_until(at_ns) < 0) {
            step_skipped(r, st, "not injected: the run was aborted first");
            return NULL;
        }
        pthread_mutex_lock(&r->mu);
        over = r->active >= r->p->max_faults;
        pthread_mutex_unlock(&r->mu);
        if (over) {
            char why[96];
            snprintf(why, sizeof why, "not injected: max_faults (%d) already active", r->p->max_faults);
            step_skipped(r, st, why);
            return NULL;
        }
    }
    char err[FL_ERR_LEN] = "";
    /* observe every target (no side effect), journal the intent with what undoes it */
    int rc = s->ops->prepare ? s->ops->prepare(&st->fi, err) : 0;
    if (rc == 0 && r->ctx.journal) {
        json_t *intent = s->ops->save ? s->ops->save(&st->fi) : NULL;
        char jerr[FL_ERR_LEN];
        st->jid = journal_intent(r->ctx.journal, s->name, s->ops->name, intent, jerr);
        if (st->jid < 0) rc = fl_err(err, "not injected: %s", jerr);
        st->fi.journal = r->ctx.journal;
        st->fi.jid = st->jid;
    }
    if (rc < 0) {   /* nothing was touched: reported at at:, where the fault was due */
        fl_sleep_until(at_ns);
        pthread_mutex_lock(&r->mu);
        st->status = ST_INJECT_FAILED;
        st->inject_start_ms = st->inject_ms = now_ms(r);
        snprintf(st->err, sizeof st->err, "%s", err);
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        event(r, "INJECT FAILED '%s': %s", s->name, err);
        return NULL;
    }
    if (fl_sleep_until(at_ns) < 0) {
        step_skipped(r, st, "not injected: the run was aborted first");
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    over = r->p->max_faults > 0 && r->active >= r->p->max_faults;
    if (!over) r->active++;
    pthread_mutex_unlock(&r->mu);
    if (over) {
        char why[96];
        snprintf(why, sizeof why, "not injected: max_faults (%d) already active", r->p->max_faults);
        step_skipped(r, st, why);
        return NULL;
    }
    run_sync_probes(r, st, PT_BEFORE);
    st->inject_start_ms = now_ms(r);
    rc = s->ops->inject(&st->fi, err);
    int64_t injected_ms = now_ms(r);
    if (st->jid >= 0) journal_done(r->ctx.journal, st->jid, rc == 0, err, s->ops->save ? s->ops->save(&st->fi) : NULL);
    if (rc < 0) {
        /* a half-done inject recorded in its state what it did: undo that */
        int undone = 1;
        if (st->fi.state && s->ops->revert) {
            char e2[FL_ERR_LEN];
            if (s->ops->revert(&st->fi, e2) < 0) {
                undone = 0;
                size_t l = strlen(err);
                snprintf(err + l, sizeof err - l, "; and undoing what it did failed: %.200s", e2);
            }
        }
        if (st->jid >= 0) journal_reverted(r->ctx.journal, st->jid, undone, undone ? "inject failed; undone" : err);
        pthread_mutex_lock(&r->mu);
        st->status = undone ? ST_INJECT_FAILED : ST_REVERT_FAILED;
        st->inject_ms = injected_ms;
        snprintf(st->err, sizeof st->err, "%s", err);
        r->active--;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        event(r, "INJECT FAILED '%s': %s", s->name, err);
        return NULL;
    }
    struct buf d;
    buf_init(&d, 4096);
    if (s->ops->describe) s->ops->describe(&st->fi, &d);
    snprintf(st->desc, sizeof st->desc, "%s", d.data);
    fl_redact(st->desc);
    buf_release(&d);
    pthread_mutex_lock(&r->mu);
    st->status = ST_INJECTED;
    st->inject_ms = injected_ms;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    event(r, "injected '%s': %s", s->name, st->desc[0] ? st->desc : s->ops->name);
    if (r->live) {
        char *t = fl_asprintf("injected '%s': %s", s->name, st->desc[0] ? st->desc : s->ops->name);
        live_event(r->live, "inject", s->name, s->ops->name, s->target ? s->target->name : NULL, t);
        free(t);
    }
    if (s->for_ms > 0) {
        fl_sleep_until(r->ctx.t0_ns + (st->inject_ms + s->for_ms) * 1000000LL);
    } else if (s->ops->revert) {
        /* no for: reverted at the end of the method */
        pthread_mutex_lock(&r->mu);
        while (!r->method_done && !fl_aborted()) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 50000000L;
            if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
        pthread_mutex_unlock(&r->mu);
    }
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
    if (r->ctx.lg && t >= 1000) {
        buf_adds(&b, "# TYPE faultline_live_rps gauge\n# TYPE faultline_live_p95_seconds gauge\n"
                     "# TYPE faultline_live_error_ratio gauge\n");
        for (size_t i = 0; i < r->p->nloads; i++) {
            const char *name = lg_block_name(r->p->loads[i]);
            struct lg_stats ls;
            if (lg_query(r->ctx.lg, name, (t / 1000 - 1) * 1000, (t / 1000) * 1000, &ls) < 0) continue;
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
            enum probe_outcome v = nobs ? probe_verdict(pr, NULL, NULL, 0) : PROBE_INCONCLUSIVE;
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
            r->stop_tripped = 1;
            event(r, "ABORT: %s", r->abort_reason);
            fl_abort(-1);
            return;
        }
    }
}

/* ---- the record --------------------------------------------------------------------- */
static const char *timing_name(enum probe_timing t)
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
    json_object_set_new(o, "timing", json_string(timing_name(pr->spec->timing)));
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
    enum probe_outcome v = probe_verdict(pr, &evidence, why, sizeof why);
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

/* ---- the run ------------------------------------------------------------------------ */
static void print_timeline(struct run *r)
{
    struct plan *p = r->p;
    printf("plan '%s' (%s): duration %.1fs, seed %llu\n", p->name, p->path, p->duration_ms / 1000.0, (unsigned long long)r->ctx.seed);
    for (size_t i = 0; i < p->ntargets; i++) {
        struct buf b;
        buf_init(&b, 4096);
        if (p->targets[i]->ops->describe) p->targets[i]->ops->describe(p->targets[i], &b);
        fl_redact(b.data);
        printf("  target %-16s %s %s\n", p->targets[i]->name, p->targets[i]->ops->name, b.data);
        buf_release(&b);
    }
    for (size_t i = 0; i < p->nservices; i++) printf("  service %s: %s\n", p->services[i]->name, p->services[i]->run[0]);
    for (size_t i = 0; i < p->nloads; i++) {
        char d[512];
        lg_block_describe(p->loads[i], d, sizeof d);
        printf("  load %s\n", d);
    }
    for (size_t i = 0; i < p->nsteps; i++) {
        struct step *s = p->steps[i];
        char a[32], f[32];
        val_fmt_duration(s->at_ms, a);
        if (s->for_ms > 0) val_fmt_duration(s->for_ms, f); else snprintf(f, sizeof f, "%s", s->ops->revert ? "end" : "-");
        printf("  at %-7s %-16s %-22s target %-14s for %s\n", a, s->name, s->ops->name, s->target ? s->target->name : "-", f);
    }
    for (size_t i = 0; i < p->nprobes; i++)
        printf("  probe %-20s %s %s%s\n", p->probes[i]->name, p->probes[i]->ops->name, timing_name(p->probes[i]->timing),
               p->probes[i]->window ? p->probes[i]->window->name : "");
}

int run_plan(struct plan *p, const struct run_opts *o, json_t **record)
{
    struct run *r = fl_calloc(1, sizeof *r);
    char err[FL_ERR_LEN];
    int exit_code = FL_EXIT_OK;
    int touched = 0, method_started = 0;
    size_t opened = 0;
    r->p = p;
    r->o = o;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->events = json_array();
    r->ctx.plan = p;
    r->ctx.seed = o->seed_set ? o->seed : p->seed_set ? p->seed : ((uint64_t)fl_now_ns() ^ ((uint64_t)getpid() << 32)) % 1000000007ULL;
    r->ctx.dry_run = o->dry_run;
    r->rng = r->ctx.seed;
    double started = fl_wall();
    json_t *rec = json_object();
    json_t *steady_before = json_array(), *steady_after = json_array(), *rollback = json_array();
    int steady_ok = 1, steady_after_ok = 1;
    enum probe_outcome held_before = PROBE_PASSED, held_after = PROBE_PASSED;

    r->steps = fl_calloc(p->nsteps, sizeof *r->steps);
    for (size_t i = 0; i < p->nsteps; i++) {
        struct step_rt *st = &r->steps[i];
        st->s = p->steps[i];
        st->jid = -1;
        st->fi = (struct fault_inst){ .ops = p->steps[i]->ops, .step = p->steps[i], .target = p->steps[i]->target,
                                      .ctx = &r->ctx, .cfg = p->steps[i]->cfg, .jid = -1 };
    }
    r->probes = fl_calloc(p->nprobes, sizeof *r->probes);
    for (size_t i = 0; i < p->nprobes; i++) prt_init(r, &r->probes[i], p->probes[i]);
    r->before = fl_calloc(p->nsteady, sizeof *r->before);
    r->after = fl_calloc(p->nsteady, sizeof *r->after);
    for (size_t i = 0; i < p->nsteady; i++) { prt_init(r, &r->before[i], p->steady[i]); prt_init(r, &r->after[i], p->steady[i]); }
    r->stops = fl_calloc(p->nstop_when, sizeof *r->stops);
    for (size_t i = 0; i < p->nstop_when; i++) prt_init(r, &r->stops[i], p->stop_when[i]);

    if (o->dry_run) {
        int bad = 0;
        for (size_t i = 0; i < p->ntargets; i++) {
            struct target *t = p->targets[i];
            if (t->ops->open && t->ops->open(t, &r->ctx, err) < 0) { fl_log(FL_LOG_ERROR, "target '%s': %s", t->name, err); bad = 1; }
        }
        print_timeline(r);
        for (size_t i = 0; i < p->ntargets; i++)
            if (p->targets[i]->ops->close) p->targets[i]->ops->close(p->targets[i], &r->ctx);
        exit_code = bad ? FL_EXIT_FAILED : FL_EXIT_OK;
        goto record;
    }

    /* the journal, locked for the whole run; one that still holds unsettled faults (an
     * intent without a reverted record: possibly applied) blocks a new run */
    const char *jpath = o->journal_path ? o->journal_path : journal_default_path();
    r->ctx.journal = journal_open(jpath, "run", err);
    if (!r->ctx.journal) {
        fl_log(FL_LOG_ERROR, "%s", err);
        snprintf(r->abort_reason, sizeof r->abort_reason, "%s", err);
        exit_code = FL_EXIT_INVALID;
        goto record;
    }
    {
        json_t *problems = NULL;
        json_t *pend = journal_pending(jpath, &problems, err);
        for (size_t i = 0; i < json_array_size(problems); i++)
            fl_log(FL_LOG_WARN, "journal '%s': %s", jpath, json_string_value(json_array_get(problems, i)));
        json_decref(problems);
        if (!pend && !o->ignore_journal) {
            /* what it holds is unknown: it may name faults still in effect */
            fl_log(FL_LOG_ERROR, "%s (--force starts anyway)", err);
            journal_close(r->ctx.journal);
            r->ctx.journal = NULL;
            exit_code = FL_EXIT_INVALID;
            snprintf(r->abort_reason, sizeof r->abort_reason, "%s", err);
            goto record;
        }
        if (pend && json_array_size(pend) > 0 && !o->ignore_journal) {
            struct buf names;
            buf_init(&names, 4096);
            for (size_t i = 0; i < json_array_size(pend) && i < 8; i++) {
                json_t *e = json_array_get(pend, i);
                int svc = !strcmp(json_string_value(json_object_get(e, "op")), "service");
                buf_addf(&names, "%s%s '%s'", i ? ", " : "", svc ? "service" : "step",
                         json_string_value(json_object_get(e, svc ? "name" : "step")));
            }
            fl_log(FL_LOG_ERROR, "the journal '%s' holds %zu unsettled fault(s) or leftover service(s) from an earlier run "
                   "(%s%s): they may still be in effect; run `faultline rollback %s` first", jpath, json_array_size(pend),
                   names.data, json_array_size(pend) > 8 ? ", ..." : "", jpath);
            buf_release(&names);
            json_decref(pend);
            journal_close(r->ctx.journal);
            r->ctx.journal = NULL;
            exit_code = FL_EXIT_INVALID;
            snprintf(r->abort_reason, sizeof r->abort_reason, "unsettled faults in the journal '%s'", jpath);
            goto record;
        }
        json_decref(pend);
    }
    if (journal_begin(r->ctx.journal, p->name, err) < 0) {
        fl_log(FL_LOG_ERROR, "%s", err);
        journal_close(r->ctx.journal);
        r->ctx.journal = NULL;
        exit_code = FL_EXIT_INVALID;
        goto record;
    }

    /* targets first (a proxy must listen before a service connects through it; a
     * selector that matches nothing fails before anything is touched), then services */
    for (size_t i = 0; i < p->ntargets; i++) {
        struct target *t = p->targets[i];
        if (t->ops->open && t->ops->open(t, &r->ctx, err) < 0) {
            snprintf(r->abort_reason, sizeof r->abort_reason, "target '%s': %s", t->name, err);
            event(r, "cannot open target '%s': %s", t->name, err);
            exit_code = FL_EXIT_FAILED;
            goto cleanup; /* closes the ones already open */
        }
        opened = i + 1;
    }
    r->ctx.services = svc_new(p, &r->ctx, o->report_dir);
    if (p->nservices) {
        touched = 1;
        if (svc_start_all(r->ctx.services, err) < 0) {
            snprintf(r->abort_reason, sizeof r->abort_reason, "%s", err);
            event(r, "cannot start services: %s", err);
            exit_code = FL_EXIT_FAILED;
            goto cleanup;
        }
    }
    touched = 1;
    method_started = 1;

    /* steady state before: a fault is injected only into a system shown to be healthy */
    for (size_t i = 0; i < p->nsteady; i++) {
        check_once(r, &r->before[i], 0, 0);
        enum probe_outcome v = probe_verdict(&r->before[i], NULL, NULL, 0);
        if (v == PROBE_FAILED) held_before = PROBE_FAILED;
        else if (v == PROBE_INCONCLUSIVE && held_before == PROBE_PASSED) held_before = PROBE_INCONCLUSIVE;
    }
    if (held_before == PROBE_FAILED) {
        steady_ok = 0;
        event(r, "steady state does not hold before the method: no fault is injected");
        exit_code = FL_EXIT_FAILED;
    } else if (held_before == PROBE_INCONCLUSIVE) {
        steady_ok = 0;
        event(r, "steady state could not be checked before the method: no fault is injected");
    }

    /* load, clock */
    r->ctx.t0_ns = fl_now_ns();
    if (!r->ctx.dry_run) r->live = live_new(o->live_push_url, o->annotate_url, p->name);
    if (!r->ctx.dry_run) { /* container resources from the clock's start (resources.h) */
        r->ctx.resources = res_start(p, &r->ctx, err);
        if (r->ctx.resources) event(r, "sampling the resources of the plan's containers once a second");
    }
    if (p->nloads && steady_ok) {
        r->ctx.lg = lg_new(p->loads, p->nloads, r->ctx.seed, err);
        if (!r->ctx.lg || lg_start(r->ctx.lg, r->ctx.t0_ns, p->duration_ms, err) < 0) {
            event(r, "cannot start the load: %s", err);
            exit_code = FL_EXIT_FAILED;
            steady_ok = 0;
        }
    }
    event(r, "run started: %s (seed %llu)", p->name, (unsigned long long)r->ctx.seed);
    r->ctx.baseline_from_ms = 0;
    r->ctx.baseline_to_ms = p->duration_ms;
    for (size_t i = 0; i < p->nsteps; i++)
        if (p->steps[i]->at_ms < r->ctx.baseline_to_ms) r->ctx.baseline_to_ms = p->steps[i]->at_ms;

    if (steady_ok) {
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
        live = progress_new(2, o->quiet || fl_log_level < FL_LOG_INFO);
        fl_log_before = clear_live;
        /* until the end of the experiment: stop_when every second, the global timeout */
        int64_t end_ns = r->ctx.t0_ns + p->duration_ms * 1000000LL;
        int64_t next = r->ctx.t0_ns + 1000000000LL;
        while (!fl_aborted() && fl_now_ns() < end_ns) {
            int64_t until = next < end_ns ? next : end_ns;
            if (fl_sleep_until(until) < 0) break;
            if (fl_now_ns() >= next) {
                check_stop_when(r);
                next += 1000000000LL;
                double rps = NAN, p95 = NAN, er = NAN;
                int64_t t = now_ms(r);
                struct lg_stats ls;
                if (r->ctx.lg && t >= 1000 && lg_query(r->ctx.lg, NULL, (t / 1000 - 1) * 1000, (t / 1000) * 1000, &ls) == 0 && ls.count) {
                    rps = ls.rps;
                    p95 = ls.p95;
                    er = ls.error_rate;
                }
                pthread_mutex_lock(&r->mu);
                int active = r->active;
                pthread_mutex_unlock(&r->mu);
                progress_update(live, active ? "fault" : "method", t, p->duration_ms, rps, p95, er, active);
                if (r->live && (t / 1000) % 2 == 0) push_live(r, t, active);
            }
            if (o->timeout_ms > 0 && fl_now_ns() - r->ctx.t0_ns > o->timeout_ms * 1000000LL) {
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
        if (r->ctx.lg) lg_stop(r->ctx.lg);
        /* recovery probes may still be measuring (bounded by their within:) */
        for (size_t i = 0; i < p->nprobes; i++) if (r->probes[i].has_th) pthread_join(r->probes[i].th, NULL);
        event(r, "method done");

        /* load probes over their windows, probes without timing */
        for (size_t i = 0; i < p->nprobes; i++) {
            struct probe_rt *pr = &r->probes[i];
            if (is_recovery_probe(pr->spec) || (pr->spec->timing == PT_DURING && !is_load_probe(pr->spec))) continue;
            if (pr->spec->timing == PT_BEFORE || pr->spec->timing == PT_AFTER) {
                if (!is_load_probe(pr->spec)) continue; /* ran in the step's thread */
            }
            if (fl_abort_level() > 1) break;
            int64_t from = 0, to = p->duration_ms;
            struct step_rt *st = step_rt_of(r, pr->spec->window);
            if (is_load_probe(pr->spec) && st) {
                if (st->status == ST_SKIPPED || st->status == ST_INJECT_FAILED || st->status == ST_PENDING) {
                    pr->not_run = 1;
                    snprintf(pr->not_run_reason, sizeof pr->not_run_reason, "step '%s' was not injected (%s)",
                             st->s->name, step_status_name[st->status]);
                    continue;
                }
                int64_t a = st->inject_ms, b = st->revert_ms ? st->revert_ms : now_ms(r);
                if (pr->spec->timing == PT_DURING) { from = a; to = b; }
                else if (pr->spec->timing == PT_BEFORE) {
                    /* whole seconds before the injection only: a second the fault began
                     * in holds its first failures, no evidence of "before" */
                    to = st->inject_start_ms / 1000 * 1000;
                    from = to - (b - a);
                    if (from < 0) from = 0;
                } else {
                    from = (b + 999) / 1000 * 1000; /* whole seconds after the revert */
                    to = from + (b - a);
                }
            }
            pr->from_ms = from;
            pr->to_ms = to;
            check_once(r, pr, from, to);
        }
    }

cleanup:
    /* anything still injected (an aborted thread start, for instance) */
    for (size_t i = 0; i < p->nsteps; i++)
        if (r->steps[i].status == ST_INJECTED || r->steps[i].status == ST_REVERTING) do_revert(r, &r->steps[i]);
    if (r->ctx.lg) lg_stop(r->ctx.lg);
    /* steady state after */
    if (method_started && steady_ok && !fl_aborted()) {
        for (size_t i = 0; i < p->nsteady; i++) {
            check_once(r, &r->after[i], 0, 0);
            enum probe_outcome v = probe_verdict(&r->after[i], NULL, NULL, 0);
            if (v == PROBE_FAILED) held_after = PROBE_FAILED;
            else if (v == PROBE_INCONCLUSIVE && held_after == PROBE_PASSED) held_after = PROBE_INCONCLUSIVE;
        }
        steady_after_ok = held_after != PROBE_FAILED;
        if (held_after == PROBE_FAILED) event(r, "steady state does not hold after the method");
        else if (held_after == PROBE_INCONCLUSIVE) event(r, "steady state could not be checked after the method");
    } else if (p->nsteady) {
        held_after = PROBE_INCONCLUSIVE; /* never checked */
    }
    /* rollback steps: always */
    for (size_t i = 0; i < p->nrollback && touched; i++) {
        char out[2048];
        int st = svc_run(p->rollback[i]->run, p->rollback[i]->timeout_ms, out, sizeof out, err);
        json_t *x = json_object();
        json_object_set_new(x, "command", json_string(p->rollback[i]->run[0]));
        json_object_set_new(x, "exit", json_integer(st));
        json_object_set_new(x, "ok", json_boolean(st == 0));
        if (st < 0) json_object_set_new(x, "error", json_string(err));
        json_array_append_new(rollback, x);
        event(r, "rollback step %zu: %s", i + 1, st == 0 ? "ok" : st < 0 ? err : "non-zero exit");
    }
    for (size_t i = 0; i < opened; i++)
        if (p->targets[i]->ops->close) p->targets[i]->ops->close(p->targets[i], &r->ctx);
    if (r->ctx.services) {
        svc_stop_all(r->ctx.services);
    }

record:
    {
        int any_failed = held_before == PROBE_FAILED || !steady_after_ok;
        int revert_failed = 0;
        json_t *steps = json_array();
        for (size_t i = 0; i < p->nsteps; i++) {
            struct step_rt *st = &r->steps[i];
            json_t *x = json_object();
            json_object_set_new(x, "name", json_string(st->s->name));
            json_object_set_new(x, "fault", json_string(st->s->ops->name));
            json_object_set_new(x, "target", st->s->target ? json_string(st->s->target->name) : json_null());
            json_object_set_new(x, "at_ms", json_integer(st->s->at_ms));
            json_object_set_new(x, "for_ms", st->s->for_ms >= 0 ? json_integer(st->s->for_ms) : json_null());
            json_object_set_new(x, "status", json_string(step_status_name[st->status]));
            json_object_set_new(x, "injected_at_ms", st->status != ST_PENDING && st->status != ST_SKIPPED ? json_integer(st->inject_ms) : json_null());
            json_object_set_new(x, "inject_started_at_ms", st->status != ST_PENDING && st->status != ST_SKIPPED ? json_integer(st->inject_start_ms) : json_null());
            json_object_set_new(x, "reverted_at_ms", st->status == ST_REVERTED || st->status == ST_REVERT_FAILED ? json_integer(st->revert_ms) : json_null());
            json_object_set_new(x, "description", json_string(st->desc));
            if (st->err[0]) json_object_set_new(x, "error", json_string(st->err));
            if (st->status == ST_REVERT_FAILED) revert_failed = 1;
            if (st->status == ST_INJECT_FAILED) any_failed = 1;
            json_array_append_new(steps, x);
        }
        /* what could not be judged: each an object { what, name, reason } */
        json_t *inconclusive = json_array();
        /* the steady state first: when it could not be checked, that is the root cause */
        for (size_t i = 0; i < p->nsteady; i++) {
            const char *phase[2] = { "steady_state before", "steady_state after" };
            struct probe_rt *ph[2] = { &r->before[i], &r->after[i] };
            for (int k = 0; k < 2; k++) {
                if (!ph[k]->nobs) continue;
                json_t *sj = probe_json(ph[k]);
                if (!strcmp(json_string_value(json_object_get(sj, "verdict")), "inconclusive"))
                    json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:O}", "what", phase[k], "name", ph[k]->spec->name,
                                                                  "reason", json_object_get(sj, "reason")));
                json_array_append_new(k ? steady_after : steady_before, sj);
            }
        }
        json_t *probes = json_array();
        for (size_t i = 0; i < p->nprobes; i++) {
            if ((!method_started || !steady_ok) && !r->probes[i].nobs) {
                r->probes[i].not_run = 1;
                snprintf(r->probes[i].not_run_reason, sizeof r->probes[i].not_run_reason, "%s",
                         !method_started ? "the run did not reach the method"
                         : held_before == PROBE_FAILED ? "the steady state did not hold before the method"
                         : held_before == PROBE_INCONCLUSIVE ? "the steady state could not be checked before the method"
                                                             : "the method did not run");
            }
            json_t *pj = probe_json(&r->probes[i]);
            const char *v = json_string_value(json_object_get(pj, "verdict"));
            if (!strcmp(v, "failed")) any_failed = 1;
            else if (!strcmp(v, "inconclusive"))
                json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:O}", "what", "probe", "name", r->probes[i].spec->name,
                                                              "reason", json_object_get(pj, "reason")));
            json_array_append_new(probes, pj);
        }
        json_t *stops = json_array();
        for (size_t i = 0; i < p->nstop_when; i++) {
            struct probe_rt *pr = &r->stops[i];
            json_t *sj = probe_json(pr);
            int tripped = r->stop_tripped && pr->fail_since_ms >= 0;
            /* a stop condition held when it watched (checks with evidence, failing or not)
             * and never tripped; with no evidence at all it could not have stopped the run */
            long ev = 0;
            for (size_t k = 0; k < pr->nobs; k++)
                if (pr->obs[k].outcome != PROBE_INCONCLUSIVE) ev += pr->obs[k].evidence;
            const char *v = tripped ? "failed" : ev >= pr->spec->min_evidence ? "passed" : "inconclusive";
            json_object_set_new(sj, "tripped", json_boolean(tripped));
            json_object_set_new(sj, "evidence", json_integer(ev));
            json_object_set_new(sj, "verdict", json_string(v));
            json_object_del(sj, "reason");
            json_object_del(sj, "failure");
            if (!strcmp(v, "inconclusive") && method_started && steady_ok) {
                char why[600];
                snprintf(why, sizeof why, "%s", pr->nobs ? pr->obs[pr->nobs - 1].observed : "it was never checked");
                json_object_set_new(sj, "reason", json_string(why));
                json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:s}", "what", "stop_when", "name", pr->spec->name,
                                                              "reason", why));
            }
            json_array_append_new(stops, sj);
        }
        if (r->ctx.resources) {
            res_stop(r->ctx.resources);
            json_object_set_new(rec, "resources", res_to_json(r->ctx.resources));
            json_object_set_new(rec, "memory", res_memory_json(r->ctx.resources));
        }
        int thresholds_ok = 1;
        if (r->ctx.lg) {
            json_object_set_new(rec, "load", lg_to_json(r->ctx.lg));
            thresholds_ok = lg_thresholds_ok(r->ctx.lg);
            if (!thresholds_ok) any_failed = 1;
            for (size_t i = 0; i < p->nloads; i++) {
                const char *bn = lg_block_name(p->loads[i]);
                if (lg_thresholds_without_evidence(r->ctx.lg, bn))
                    json_array_append_new(inconclusive, json_pack("{s:s,s:s,s:s}", "what", "thresholds", "name", bn, "reason",
                                                                  "no request of the block completed in the whole run"));
            }
        }
        for (size_t i = 0; i < json_array_size(rollback); i++)
            if (!json_is_true(json_object_get(json_array_get(rollback, i), "ok"))) any_failed = 1;

        if (o->dry_run) json_array_clear(inconclusive); /* nothing was meant to be judged */
        if (exit_code == FL_EXIT_OK && any_failed) exit_code = FL_EXIT_FAILED;
        /* nothing failed, but something could not be judged: not a pass */
        if (exit_code == FL_EXIT_OK && json_array_size(inconclusive) && !o->dry_run) exit_code = FL_EXIT_INCONCLUSIVE;
        if (fl_aborted() && exit_code != FL_EXIT_INVALID) exit_code = FL_EXIT_ABORTED;
        if (revert_failed) exit_code = FL_EXIT_REVERT;
        const char *verdict = fl_exit_verdict(exit_code);
        if (o->dry_run) verdict = exit_code == FL_EXIT_OK ? "dry_run" : "failed";
        if (exit_code == FL_EXIT_INCONCLUSIVE && !r->abort_reason[0]) {
            size_t n = json_array_size(inconclusive);
            json_t *first = json_array_get(inconclusive, 0);
            snprintf(r->abort_reason, sizeof r->abort_reason, "%zu check%s could not be judged; %s '%s': %s", n,
                     n == 1 ? "" : "s", json_string_value(json_object_get(first, "what")),
                     json_string_value(json_object_get(first, "name")), json_string_value(json_object_get(first, "reason")));
        }

        char ts[32];
        json_object_set_new(rec, "faultline_version", json_string(FL_VERSION));
        json_object_set_new(rec, "format", json_integer(FL_RUN_FORMAT));
        json_t *pj = json_object();
        json_object_set_new(pj, "name", json_string(p->name));
        json_object_set_new(pj, "path", json_string(p->path));
        json_object_set_new(pj, "hash", json_string(p->hash));
        json_object_set_new(pj, "description", p->description ? json_string(p->description) : json_null());
        json_t *tags = json_array();
        for (size_t i = 0; p->tags && p->tags[i]; i++) json_array_append_new(tags, json_string(p->tags[i]));
        json_object_set_new(pj, "tags", tags);
        json_object_set_new(pj, "duration_ms", json_integer(p->duration_ms));
        json_object_set_new(rec, "plan", pj);
        json_object_set_new(rec, "seed", json_integer((json_int_t)r->ctx.seed));
        fl_iso8601(started, ts);
        json_object_set_new(rec, "started_at", json_string(ts));
        double ended = fl_wall();
        fl_iso8601(ended, ts);
        json_object_set_new(rec, "ended_at", json_string(ts));
        json_object_set_new(rec, "elapsed_ms", json_integer((json_int_t)((ended - started) * 1000)));
        json_object_set_new(rec, "verdict", json_string(verdict));
        json_object_set_new(rec, "exit_code", json_integer(exit_code));
        if (r->abort_reason[0]) json_object_set_new(rec, "reason", json_string(r->abort_reason));
        json_object_set_new(rec, "steady_state",
                            json_pack("{s:o,s:o,s:b,s:b,s:s,s:s}", "before", steady_before, "after", steady_after,
                                      "held_before", held_before == PROBE_PASSED, "held_after", held_after == PROBE_PASSED,
                                      "before_verdict", probe_outcome_name(held_before), "after_verdict",
                                      probe_outcome_name(held_after)));
        json_object_set_new(rec, "steps", steps);
        json_object_set_new(rec, "probes", probes);
        json_object_set_new(rec, "stop_when", stops);
        json_object_set_new(rec, "inconclusive", inconclusive);
        json_object_set_new(rec, "thresholds_ok", json_boolean(thresholds_ok));
        json_object_set_new(rec, "rollback", rollback);
        json_object_set_new(rec, "events", r->events);
        if (!o->dry_run) {
            json_t *w = json_array();
            plan_lint_run(p, rec, w);
            json_object_set_new(rec, "warnings", w);
        }
        if (r->ctx.journal) json_object_set_new(rec, "journal", json_string(journal_path(r->ctx.journal)));
        r->events = NULL;
    }
    if (r->ctx.journal) { journal_end(r->ctx.journal, exit_code); journal_close(r->ctx.journal); }
    if (r->ctx.lg) lg_free(r->ctx.lg);
    res_free(r->ctx.resources);
    r->ctx.resources = NULL;
    live_free(r->live); /* after the last revert's event */
    r->live = NULL;
    svc_free(r->ctx.services);
    for (size_t i = 0; i < p->nsteps; i++)
        if (r->steps[i].fi.state && !r->steps[i].abandoned && p->steps[i]->ops->free_state)
            p->steps[i]->ops->free_state(r->steps[i].fi.state);
    for (size_t i = 0; i < p->nprobes; i++) prt_release(&r->probes[i]);
    for (size_t i = 0; i < p->nsteady; i++) { prt_release(&r->before[i]); prt_release(&r->after[i]); }
    for (size_t i = 0; i < p->nstop_when; i++) prt_release(&r->stops[i]);
    free(r->steps); free(r->probes); free(r->before); free(r->after); free(r->stops);
    json_decref(r->events);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
    redact_json(rec);
    if (record) *record = rec; else json_decref(rec);
    return exit_code;
}
