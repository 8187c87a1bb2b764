/* drv.h -- what drivers (target, fault and probe kinds) see of a plan and of a run: their
 * only view of either. Drivers never include plan.h, run.h, services.h, journal.h or load.h.
 *
 * At plan load the plan offers every parse() a `const struct drv_parse *` (orchestrator/
 * plan.c fills it): the plan's targets, method steps, load blocks and services by name, and
 * the parser of a probe nested in another probe's keys. No I/O. A parse() called outside a
 * plan (a unit test) may get NULL: then nothing is known (drv_target() finds no target).
 *
 * In a run the runner offers one `const struct drv_ctx` (orchestrator/run.c) to every target
 * open()/close(), fault_inst and probe_inst: the run clock, the seed, a dry-run flag, the
 * plan's guard and duration, the baseline window, and hooks for what only the runner has
 * (its services, its load, its journal, its container resource samples). `faultline rollback` offers one without a run
 * (t0_ns 0, no services, no load) whose only hook finds the plan's targets by name (given
 * --plan). Drivers call the drv_*() wrappers, which answer "not offered" when the context or
 * the hook is missing (NULL is a valid context: a driver tested on its own).
 */
#ifndef FL_DRV_H
#define FL_DRV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "fl.h"
#include "lg_stats.h"

struct buf;
struct diag;
struct node;
struct target;
struct probe_spec;

/* ---- at plan load ------------------------------------------------------------------- */
enum drv_names { DRV_TARGETS, DRV_STEPS, DRV_LOADS, DRV_SERVICES };

struct drv_parse {
    void *plan;                                              /* the hooks' first argument */
    struct target *(*target)(void *plan, const char *name);  /* NULL: no target of that name */
    int (*step)(void *plan, const char *name);               /* 1: a method step of that name */
    int (*load_block)(void *plan, const char *name);         /* 1: a load block of that name */
    int (*service)(void *plan, const char *name);            /* 1: a service of that name */
    /* a probe entry nested in another probe's keys ({ http: {...} }: recovery's until:),
     * checked like a probe of the plan; NULL after adding the problems to d */
    struct probe_spec *(*nested_probe)(void *plan, const struct node *entry, struct diag *d);
    /* a name not found above: 0 when the plan's text declares it anyway (its own block had
     * errors, reported there: one mistake, one error); else 1, with hint set to " (did you
     * mean 'x'?)" or the plan's names */
    int (*unknown)(void *plan, enum drv_names what, const char *name, char *hint, size_t n);
};

/* the plan's target named name, NULL when there is none (or pc is NULL) */
struct target *drv_target(const struct drv_parse *pc, const char *name);
/* does the plan have a method step / load block / service of that name? 0 when pc is NULL */
int drv_has_step(const struct drv_parse *pc, const char *name);
int drv_has_load_block(const struct drv_parse *pc, const char *name);
int drv_has_service(const struct drv_parse *pc, const char *name);
/* a target/step/load block/service name the plan does not have: report it? (see unknown
 * above); 1 with hint "" when pc offers no hook */
int drv_name_unknown(const struct drv_parse *pc, enum drv_names what, const char *name, char *hint, size_t n);
/* the nested probe (see above); NULL with a problem at entry when pc offers none */
struct probe_spec *drv_nested_probe(const struct drv_parse *pc, const struct node *entry, struct diag *d);

/* ---- in a run ----------------------------------------------------------------------- */
enum { DRV_LOAD_OK = 0, DRV_LOAD_NO_BLOCK = -1, DRV_LOAD_NOT_RUNNING = -2 };

/* what the run's container resource samples (orchestrator/resources.c) say of one container
 * over a window of the run clock */
struct drv_res_window {
    size_t samples;          /* samples in the window */
    double mem_max, mem_last, mem_limit;   /* bytes */
    double cpu_max, cpu_avg; /* percent of one core; NaN when no two samples */
    size_t base_samples;     /* samples in the baseline window (baseline_from..to) */
    double mem_base_median;  /* bytes; NaN when none */
    int restarts;            /* the last restart count seen */
};

struct drv_hooks {                  /* any may be NULL: not offered */
    /* the plan's managed services (services:): a pid (0: unknown or not running), a restart */
    pid_t (*service_pid)(void *run, const char *name);
    int (*service_restart)(void *run, const char *name, char *err);
    /* 1 when the plan declares a service of that name; else 0 and its services' names
     * ("a, b") added to known (may be NULL) */
    int (*service_known)(void *run, const char *name, struct buf *known);
    /* the figures of a load block (NULL: every block) over a window of the run clock:
     * DRV_LOAD_OK, DRV_LOAD_NO_BLOCK or DRV_LOAD_NOT_RUNNING */
    int (*load_query)(void *run, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out);
    /* the run clock (ms) at which the load ended, -1 while it runs */
    int64_t (*load_ended_ms)(void *run);
    /* a progress note of the journal entry id (journal.h: journal_progress) */
    int (*journal_progress)(void *run, long id, const char *phase, size_t item, json_t *note, int sync, char *err);
    /* a journal entry of what a probe puts into a system (rows it seeds) before they last:
     * the intent (fsync'd) of kind (a probe_ops.journal_kind, reconciled by that probe kind)
     * named name, rec taken; its id (> 0), 0 when the run keeps no journal, -1 with err */
    long (*journal_intent)(void *run, const char *name, const char *kind, json_t *rec, char *err);
    /* that entry settled (ok: taken out again; fsync'd) or its undo failed (!ok: pending) */
    void (*journal_settle)(void *run, long id, int ok, const char *how);
    /* the resource samples of container id (or name) between from_ms and to_ms (to < 0:
     * now); -1 when the run does not sample that container */
    int (*res_window)(void *run, const char *id, int64_t from_ms, int64_t to_ms, struct drv_res_window *out);
    /* `faultline rollback --plan`: a target of the plan by name (its secrets) */
    const struct target *(*target_named)(void *run, const char *name);
};

struct drv_ctx {
    uint64_t seed;                  /* the run's seed (replayable with --seed) */
    int dry_run;                    /* open(): resolve only, touch nothing */
    int64_t t0_ns;                  /* run clock origin (monotonic ns, load start); 0 before */
    int64_t duration_ms;            /* the plan's duration */
    const char *require_label;      /* the plan's guard for docker/swarm targets, or NULL */
    int64_t baseline_from_ms, baseline_to_ms;  /* the window before the first fault */
    const struct drv_hooks *hooks;  /* may be NULL */
    void *run;                      /* the hooks' first argument */
};

/* ms on the run clock */
static inline int64_t drv_now_ms(const struct drv_ctx *c) { return (fl_now_ns() - c->t0_ns) / 1000000; }
/* the seed, 0 without a context */
static inline uint64_t drv_seed(const struct drv_ctx *c) { return c ? c->seed : 0; }
/* the plan's require_label, NULL without a context */
static inline const char *drv_require_label(const struct drv_ctx *c) { return c ? c->require_label : NULL; }
/* a managed service's pid: 0 when it is unknown or not running, -1 when the run offers no
 * services (no run) */
pid_t drv_service_pid(const struct drv_ctx *c, const char *name);
/* -1 with err "faultline is not running its services" when not offered */
int drv_service_restart(const struct drv_ctx *c, const char *name, char *err);
int drv_service_known(const struct drv_ctx *c, const char *name, struct buf *known); /* 1: not offered */
int drv_load_query(const struct drv_ctx *c, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out);
int64_t drv_load_ended_ms(const struct drv_ctx *c);                                /* -1: not offered */
/* 0 and nothing done when not offered (the note's reference is dropped) */
int drv_journal_progress(const struct drv_ctx *c, long id, const char *phase, size_t item, json_t *note, int sync,
                         char *err);
/* a probe's own journal entry (see journal_intent above): its id (> 0); 0 and nothing done
 * when not offered (no run, or a run without a journal: rec dropped); -1 with err */
long drv_journal_intent(const struct drv_ctx *c, const char *name, const char *kind, json_t *rec, char *err);
/* id <= 0 or not offered: nothing */
void drv_journal_settle(const struct drv_ctx *c, long id, int ok, const char *how);
const struct target *drv_target_named(const struct drv_ctx *c, const char *name);  /* NULL: not offered */
/* -1 when not offered or that container is not sampled */
int drv_res_window(const struct drv_ctx *c, const char *id, int64_t from_ms, int64_t to_ms, struct drv_res_window *out);

#endif
