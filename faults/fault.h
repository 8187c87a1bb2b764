/* fault.h -- the fault driver interface, and the target kinds faults act on.
 *
 * A fault kind is one `const struct fault_ops` (e.g. fault_docker_stop), listed once in
 * faults/registry.c. Validation, dispatch and `faultline list` all read that table.
 *
 * Life of a fault step in a run:
 *   parse()   at plan load: no I/O, the step's own keys (already checked against params)
 *   inject()  at `at:`; records in fi->state exactly what revert() needs
 *   save()    right after inject: the same as JSON for the journal (crash-safe rollback)
 *   revert()  after `for:` (or on abort/exit); must restore exactly the state found
 *   revert_saved()  what `faultline rollback` calls with the journal record, without the run
 * Return 0, or -1 with err filled (FL_ERR_LEN). inject() that fails must leave nothing
 * half-done (or record enough in fi->state for revert() to undo the half).
 */
#ifndef FL_FAULT_H
#define FL_FAULT_H

#include <jansson.h>
#include <stdint.h>
#include "buf.h"
#include "fl.h"
#include "node.h"
#include "params.h"

struct plan;
struct fl_ctx;
struct step;
struct target;

/* ---- targets ------------------------------------------------------------------- */
struct target_ops {
    const char *name;                 /* the key under a target: "docker", "proxy", ... */
    const char *summary;
    const struct param_spec *params;  /* keys inside that map */
    /* no I/O: build t->cfg from spec */
    int (*parse)(struct plan *p, struct target *t, const struct node *spec, struct diag *d);
    /* at run start (NULL = nothing): e.g. a proxy starts listening; dry_run = resolve only */
    int (*open)(struct target *t, struct fl_ctx *ctx, char *err);
    /* at run end, always (NULL = nothing) */
    void (*close)(struct target *t, struct fl_ctx *ctx);
    /* a one-line description for dry runs and reports */
    void (*describe)(const struct target *t, struct buf *out);
    void (*free)(struct target *t);
};

struct target {
    char *name;
    int line, col;
    const struct target_ops *ops;
    const struct node *spec;          /* the kind's map, owned by the plan tree */
    void *cfg;                        /* the driver's parsed config and run state */
    /* pick: a reproducible subset of what the selector matches */
    int has_pick;
    int pick_count;                   /* 0 = use percent */
    double pick_percent;              /* 0..1 */
    uint64_t pick_seed;
    int pick_seed_set;
};

/* ---- faults -------------------------------------------------------------------- */
struct fault_inst {
    const struct fault_ops *ops;
    struct step *step;
    struct target *target;            /* NULL for kinds without target_kind */
    struct fl_ctx *ctx;
    void *cfg;                        /* the step's parsed config (read-only) */
    void *state;                      /* set by inject(): what revert() needs */
};

struct fault_ops {
    const char *name;                 /* "docker.stop" */
    const char *target_kind;          /* "docker"; NULL = needs no target */
    const char *summary;              /* what it does */
    const char *revert_summary;       /* how it is undone ("start", "none") */
    const struct param_spec *params;  /* step keys beyond name/at/fault/target/for/probability */
    int (*parse)(struct plan *p, const struct node *step, void **cfg, struct diag *d);
    int (*inject)(struct fault_inst *fi, char *err);
    int (*revert)(struct fault_inst *fi, char *err);          /* NULL: nothing to undo */
    json_t *(*save)(const struct fault_inst *fi);             /* journal record; NULL ok */
    int (*revert_saved)(json_t *rec, struct fl_ctx *ctx, char *err);
    void (*describe)(const struct fault_inst *fi, struct buf *out);
    void (*free_cfg)(void *cfg);
    void (*free_state)(void *state);
};

/* pick: -- shared by every target kind that selects several things (registry.c) */
/* how many of n matches pick: takes (count, or percent rounded up, at least 1, at most n);
 * n when the target has no pick: */
size_t target_pick_count(const struct target *t, size_t n);
/* the pick's seed: pick: { seed: } when given, else the run's seed */
uint64_t target_pick_seed(const struct target *t, const struct fl_ctx *ctx);
/* k of n indices chosen reproducibly from seed (partial Fisher-Yates over fl_splitmix64),
 * written to order[0..k) in ascending order */
void target_pick(size_t n, size_t k, uint64_t seed, size_t *order);
/* ", pick 2 (seed 7)" for describe() */
void target_pick_describe(const struct target *t, struct buf *out);

/* registry.c */
extern const struct fault_ops *const fault_kinds[];
extern const struct target_ops *const target_kinds[];
const struct fault_ops *fault_find(const char *name);
const struct target_ops *target_find(const char *name);

#endif
