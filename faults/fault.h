/* fault.h -- the fault driver interface.
 *
 * A fault kind is one `const struct fault_ops` (e.g. fault_docker_stop), listed once in
 * faults/registry.c. Validation, dispatch and `faultline list` all read that table. A fault
 * acts on a target (targets/target.h) and sees the run through fi->ctx (targets/drv.h).
 *
 * Life of a fault step in a run (write-ahead: what undoes a fault is on disk before the
 * fault happens; docs/journal.md has the record format and the per-family table):
 *   parse()     at plan load: no I/O, the step's own keys (already checked against params)
 *   prepare()   at `at:`: resolve every target and observe the state of each (running or
 *               paused, a replica count, a node's availability, a config value, pids with
 *               their start times ...) into fi->state. No side effect at all.
 *   save()      fi->state as JSON. The runner journals it as the step's intent record and
 *               fsyncs it BEFORE inject() is called, and again (the done record) after.
 *   inject()    acts on the targets prepare() recorded. Over several targets it reports each
 *               one acted on with fault_progress(fi, "inject", i, note); a target found only
 *               while acting (a child forked meanwhile) is journaled with fault_add_target()
 *               before it is touched. Called without prepare() (fi->state NULL, as unit
 *               tests do), it prepares first.
 *   revert()    after `for:` (or on abort/exit): restores exactly the state prepare() found,
 *               reporting each target with fault_progress(fi, "revert", i, note). Idempotent.
 *   reconcile() what `faultline rollback` calls for a step whose intent has no reverted
 *               record: the runner may have died before, during or after the effect, or in
 *               the middle of the revert. For each target it compares the current state with
 *               the prior state recorded, restores what differs, leaves alone what matches
 *               (a container stopped before the plan stays stopped), and says per target what
 *               it found and what it did (fault_report). It must do no harm when the effect
 *               never happened (starting a container never stopped is a no-op; a pid that now
 *               belongs to another process is never signalled) and must be idempotent. Where
 *               nothing can outlive the runner (a proxy inside it, a session that died with
 *               it) it checks what it can and says so and why.
 * Return 0, or -1 with err filled (FL_ERR_LEN). inject() that fails must leave nothing
 * half-done (or leave in fi->state what revert() needs to undo the half).
 */
#ifndef FL_FAULT_H
#define FL_FAULT_H

#include <jansson.h>
#include <stdint.h>
#include "buf.h"
#include "drv.h"
#include "fl.h"
#include "node.h"
#include "params.h"
#include "target.h"

/* ---- faults -------------------------------------------------------------------- */
/* what a method step says about its fault beyond the kind's own keys */
struct fault_step {
    const char *name;
    double probability;               /* 0..1 (proxy toxics apply it per connection) */
    int64_t for_ms;                   /* -1: reverted at the end of the method */
};

struct fault_inst {
    const struct fault_ops *ops;
    const struct fault_step *step;    /* NULL outside a run (tests): probability 1, no for: */
    struct target *target;            /* NULL for kinds without target_kind */
    const struct drv_ctx *ctx;        /* the run (drv.h); NULL in tests of a driver alone */
    void *cfg;                        /* the step's parsed config (read-only) */
    void *state;                      /* set by prepare() (or inject()): what revert() needs */
    long jid;                         /* this step's entry in the run's journal (-1: none yet) */
};

/* What the journal holds of one step that was never settled, as reconcile() reads it.
 * Owned by the journal reader; valid during the call. */
struct fault_record {
    const char *step, *kind, *run;
    json_t *rec;          /* save() of the done record when there is one, else of the intent */
    json_t *progress;     /* every progress note in order: {"phase","item","note","time"} */
    int done;             /* 1: inject returned (inject_ok says how), 0: the runner died first */
    int inject_ok;
    double intent_time;   /* wall clock of the intent record */
    double last_time;     /* wall clock of the step's latest record (intent, progress, done) */
    long long runner_pid; /* the process that wrote it, and its start time (/proc stat 22) */
    long long runner_start;
    int same_boot;        /* 1: written since the machine last booted: progress notes (not
                             fsync'd) are then complete, and pids still mean the same processes;
                             0: before it (its processes are gone); -1: unknown (a journal
                             without boot_id): trust only the pid + start-time guard, and not
                             the completeness of progress notes */
};

struct fault_ops {
    const char *name;                 /* "docker.stop" */
    const char *target_kind;          /* "docker"; NULL = needs no target */
    const char *summary;              /* what it does */
    const char *revert_summary;       /* how it is undone ("start", "none") */
    const struct param_spec *params;  /* step keys beyond name/at/fault/target/for/probability */
    int (*parse)(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d);
    int (*inject)(struct fault_inst *fi, char *err);
    int (*revert)(struct fault_inst *fi, char *err);          /* NULL: nothing to undo */
    int (*prepare)(struct fault_inst *fi, char *err);         /* NULL: nothing to observe */
    json_t *(*save)(const struct fault_inst *fi);             /* journal record; NULL ok */
    /* report: per-target lines (fault_report), may be NULL; ctx: `faultline rollback`'s
     * (drv_target_named finds the plan's targets when it was given --plan), may be NULL */
    int (*reconcile)(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err);
    void (*describe)(const struct fault_inst *fi, struct buf *out);
    void (*free_cfg)(void *cfg);
    void (*free_state)(void *state);
};

/* ---- the journal, as drivers see it (faults/record.c) ---------------------------------- */
/* target `item` of the step was acted on (phase "inject") or restored ("revert"); note
 * (may be NULL, reference taken) says what was done. Appended to the journal without fsync
 * (it survives a SIGKILL; reconcile never depends on it to be safe). No-op outside a run. */
void fault_progress(struct fault_inst *fi, const char *phase, size_t item, json_t *note);
/* the same, fsync'd, for a note reconcile relies on (an exec "started": without it,
 * rollback on the same boot skips the revert). 0, or -1 with err: then do not act. */
int fault_progress_sync(struct fault_inst *fi, const char *phase, size_t item, json_t *note, char *err);
/* a target prepare() could not know about, journaled (fsync'd) before it is touched: a
 * progress note {"added": target} with phase "inject". 0, or -1 with err (then do not act). */
int fault_add_target(struct fault_inst *fi, size_t item, json_t *target, char *err);
/* the latest note of target item in phase ("inject"/"revert"), NULL when none */
json_t *fault_record_note(const struct fault_record *r, const char *phase, size_t item);
/* the notes of phase that carry key (e.g. "added"), in order, as a new array */
json_t *fault_record_notes_with(const struct fault_record *r, const char *phase, const char *key);
/* is the process that wrote the record still alive (same pid, same start time)? */
int fault_record_runner_alive(const struct fault_record *r);
/* an inject that failed part way (err says why): put back what it did with revert(fi, e), so
 * nothing is left half-done; when that fails too, err goes on "; and <doing>: <why>". -1. */
int fault_inject_undo(struct fault_inst *fi, int (*revert)(struct fault_inst *, char *), const char *doing, char *err);
/* one line of what reconcile found and did for a target ("  " and "\n" added); out may be NULL */
void fault_report(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* reconcile() of a bare record (a unit test, a record built by hand): done, no progress */
int fault_reconcile_rec(const struct fault_ops *ops, json_t *rec, const struct drv_ctx *ctx, struct buf *report,
                        char *err);

/* registry.c */
#define FAULT_KINDS_MAX 128
extern const struct fault_ops *fault_kinds[];   /* NULL-terminated; filled before main() (registry.c) */
const struct fault_ops *fault_find(const char *name);

#endif
