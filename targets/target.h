/* target.h -- what faults and probes act on: the target model, the one table of target kinds,
 * and pick: (a reproducible subset of what a selector matches).
 *
 * A target kind is one `const struct target_ops` (e.g. target_docker) with its own file in
 * targets/ and one line in targets/registry.c. Life of a target in a run:
 *   parse()     at plan load: no I/O, t->cfg from the kind's map (keys already checked)
 *   open()      at run start, before services start (a proxy listens, a selector is
 *               resolved); with ctx->dry_run it only resolves and touches nothing
 *   close()     at run end, always, for each target opened
 *   free()      with the plan
 * Faults and probes reach a kind's own data through the kind's header (docker_target.h,
 * swarm_target.h, pg_target.h, redis_target.h, process.h, proxy.h).
 */
#ifndef FL_TARGET_H
#define FL_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "drv.h"
#include "node.h"
#include "params.h"

struct target;

struct target_ops {
    const char *name;                 /* the key under a target: "docker", "proxy", ... */
    const char *summary;
    const struct param_spec *params;  /* keys inside that map */
    /* no I/O: build t->cfg from spec */
    int (*parse)(const struct drv_parse *pc, struct target *t, const struct node *spec, struct diag *d);
    /* at run start (NULL = nothing): e.g. a proxy starts listening; ctx->dry_run = resolve only */
    int (*open)(struct target *t, const struct drv_ctx *ctx, char *err);
    /* at run end, always (NULL = nothing) */
    void (*close)(struct target *t, const struct drv_ctx *ctx);
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

/* registry.c: the target kinds, NULL-terminated */
extern const struct target_ops *const target_kinds[];
const struct target_ops *target_find(const char *name);

/* pick.c -- shared by every target kind that selects several things */
/* how many of n matches pick: takes (count, or percent rounded up, at least 1, at most n);
 * n when the target has no pick: */
size_t target_pick_count(const struct target *t, size_t n);
/* the pick's seed: pick: { seed: } when given, else the run's seed (0 without a run) */
uint64_t target_pick_seed(const struct target *t, const struct drv_ctx *ctx);
/* k of n indices chosen reproducibly from seed (partial Fisher-Yates over fl_splitmix64),
 * written to order[0..k) in ascending order */
void target_pick(size_t n, size_t k, uint64_t seed, size_t *order);
/* ", pick 2 (seed 7)" for describe() */
void target_pick_describe(const struct target *t, struct buf *out);

#endif
