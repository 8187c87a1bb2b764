/* run_int.h -- the runner's state, shared by run.c (the timeline) and run_record.c (run.json
 * built from it). Not for anything outside the runner. */
#ifndef FL_RUN_INT_H
#define FL_RUN_INT_H

#include <jansson.h>
#include <pthread.h>
#include "fault.h"
#include "plan.h"
#include "probe.h"
#include "run.h"

struct lg;
struct journal;
struct live;
struct res_sampler;
struct services_rt;

enum step_status { ST_PENDING, ST_INJECTED, ST_REVERTED, ST_INJECT_FAILED, ST_REVERT_FAILED, ST_SKIPPED, ST_NOT_REVERTIBLE,
                   ST_REVERTING };
/* the status names run.json uses, by enum step_status */
extern const char *const run_step_status_name[];

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
    struct fault_step fs;       /* what the driver sees of s */
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
    struct drv_ctx drv;         /* what the run offers drivers (its hooks are below) */
    struct lg *lg;              /* the load engine, NULL when the plan has no load */
    struct journal *journal;
    struct services_rt *services;
    struct res_sampler *resources; /* container resources (resources.h), NULL when none */
    struct live *live;          /* --pushgateway / --annotate while the run goes on (live.h), or NULL */
    const struct run_opts *o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct step_rt *steps;
    struct probe_rt *probes, *before, *after, *stops;
    int method_done;
    int active;
    json_t *events;
    char abort_reason[1200];
    int stop_tripped;           /* 1 + the index of the stop condition that tripped, 0 none */
    uint64_t rng;
    /* the run's course, read by the record (run_record.c) */
    int exit_code;
    int touched;                /* something may have changed: rollback steps run */
    int method_started, steady_ok, steady_after_ok;
    size_t opened;              /* targets opened, closed at the end */
    enum probe_outcome held_before, held_after;
    double started;             /* wall clock */
    json_t *rollback;           /* the rollback steps' results */
};

/* run_record.c: the verdict of a probe over its observations (evidence and why may be NULL) */
enum probe_outcome run_probe_verdict(const struct probe_rt *pr, long *evidence, char *why, size_t whylen);
/* run_record.c: stop condition i's verdict: failed when it tripped the run, passed when it
 * watched with evidence (failing seconds too) and did not, else inconclusive; its evidence */
enum probe_outcome run_stop_verdict(const struct run *r, size_t i, long *evidence);
/* run_record.c: "before", "during", ... as run.json names a probe's timing */
const char *run_timing_name(enum probe_timing t);
/* run_record.c: run.json of the run (the exit code settled in r->exit_code), secrets redacted */
json_t *run_record(struct run *r);

#endif
