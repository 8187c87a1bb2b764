/* plan.h -- the typed plan model (PLAN-FORMAT.md, version 1) and its loader.
 *
 *   struct diag d; diag_init(&d, path);
 *   struct plan *p = plan_load(path, &opts, &d);   -- NULL, or d.n > 0: invalid (exit 2)
 *   ... plan_free(p);
 * plan_load() does the whole validation (every error at once, with file:line:col) and
 * touches nothing: drivers' parse() functions do no I/O.
 */
#ifndef FL_PLAN_H
#define FL_PLAN_H

#include <stdint.h>
#include "fault.h"
#include "node.h"
#include "probe.h"
#include "value.h"

struct lg_block_cfg;   /* load.h */

struct plan_var {
    char *name;
    char *value;
    int secret;
    int failed;     /* its own value could not be expanded (reported once, where it is defined) */
};

struct service {
    char *name;
    char **run;               /* argv */
    char **env;               /* "K=V" extra environment, may be NULL */
    char *cwd;
    const struct node *ready; /* a probe entry (e.g. { http: {...} }) or NULL */
    struct probe_spec *ready_probe;
    int64_t ready_within_ms;
    int64_t stop_timeout_ms;
    int line, col;
};

struct step {
    char *name;
    int line, col;
    int64_t at_ms;
    int64_t for_ms;            /* -1: not reverted by time (reverted at the end) */
    const struct fault_ops *ops;
    struct target *target;     /* NULL when the kind needs none */
    void *cfg;
    double probability;        /* 0..1 */
    int index;
};

struct rollback_action {
    char **run;                /* exec: { run: [...] } */
    int64_t timeout_ms;
    int line, col;
};

struct plan {
    char *path;
    char *hash;                /* sha256 hex of the file's bytes */
    struct node *root;
    int version;
    char *name;
    char *description;
    char **tags;
    char **monitor;              /* monitor: containers sampled besides the docker targets' */
    int64_t duration_ms;
    uint64_t seed;             /* `seed:` or --seed; 0 = pick one at run time */
    int seed_set;
    int max_faults;            /* 0 = no limit */
    int64_t revert_timeout_ms; /* a revert that takes longer fails (default 5m) */
    char *require_label;       /* guard: docker targets must carry this label */

    struct plan_var *vars; size_t nvars;
    struct target **targets; size_t ntargets;
    struct service **services; size_t nservices;
    struct lg_block_cfg **loads; size_t nloads;
    struct probe_spec **steady; size_t nsteady;
    struct step **steps; size_t nsteps;
    struct probe_spec **probes; size_t nprobes;
    struct probe_spec **stop_when; size_t nstop_when;
    struct rollback_action **rollback; size_t nrollback;

    /* matrix: one experiment per combination of `choose` out of `lose` */
    char **matrix_lose; size_t nmatrix_lose;
    int matrix_choose;
};

struct plan_opts {
    const char *const *set_vars;  /* "name=value" overrides (--var), NULL-terminated or NULL */
    const char *matrix_binding;   /* value for ${lose} (set by the matrix runner), or NULL */
};

struct plan *plan_load(const char *path, const struct plan_opts *opts, struct diag *d);
struct plan *plan_parse(const char *path, const char *bytes, size_t len, const struct plan_opts *opts,
                        struct diag *d);
void plan_free(struct plan *p);

struct target *plan_target(const struct plan *p, const char *name);
struct service *plan_service(const struct plan *p, const char *name);
/* the services' names, "a, b", added to out */
void plan_service_names(const struct plan *p, struct buf *out);
struct step *plan_step(const struct plan *p, const char *name);
struct lg_block_cfg *plan_load_block(const struct plan *p, const char *name);
/* parse one probe entry ({ http: {...}, name:..., during:... }); used by the plan itself
 * and by probes that nest probes (recovery's until:, a service's ready:) */
struct probe_spec *plan_parse_probe(struct plan *p, const struct node *entry, enum probe_timing ctx_timing,
                                    struct diag *d);
/* what the plan offers drivers' parse() (drv.h), over p */
struct drv_parse plan_drv_parse(struct plan *p);

#endif
