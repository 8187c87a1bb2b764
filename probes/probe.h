/* probe.h -- the probe driver interface.
 *
 * A probe kind is one `const struct probe_ops` (e.g. probe_http) listed in probes/registry.c.
 * check() keeps "could not check" apart from "checked: unhealthy" (STYLE.md):
 *   return -1, err filled       the probe could not run (refused, timed out, no target)
 *   return 0, obs->ok = 0/1     the target answered; ok says whether it met expectations
 * The runner turns a -1 into a failed observation marked could_not_run, with err as text.
 */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include <jansson.h>
#include <stdint.h>
#include "buf.h"
#include "fl.h"
#include "node.h"
#include "params.h"

struct plan;
struct fl_ctx;
struct probe_spec;

struct probe_obs {
    int64_t t_ms;            /* run clock (ms since load start), set by the runner */
    int ok;
    int could_not_run;       /* set by the runner when check() returned -1 */
    int has_value;
    double value;            /* the numeric observation, when there is one */
    double latency_ms;       /* how long the check took, when meaningful */
    char observed[512];      /* what was seen, short ("503 in 12ms", "PONG", "p95=812ms") */
};

struct probe_inst {
    const struct probe_ops *ops;
    struct probe_spec *spec;
    struct fl_ctx *ctx;
    void *cfg;
    /* the window this check judges (run clock, ms); for load probes the metrics window */
    int64_t win_from_ms, win_to_ms;
    void *state;             /* per-run state a probe may keep between checks (freed by free_state) */
};

struct probe_ops {
    const char *name;                 /* the key in a probe entry: "http", "postgres", ... */
    const char *summary;
    const struct param_spec *params;  /* keys inside the kind's map (for scalar-valued kinds
                                         like `load: readers`: keys beside it in the entry) */
    int scalar_valued;                /* 1: `load: NAME` (params are siblings) */
    int (*parse)(struct plan *p, const struct node *val, const struct node *entry, void **cfg,
                 struct diag *d);
    int (*check)(struct probe_inst *pi, struct probe_obs *obs, char *err);
    void (*describe)(const void *cfg, struct buf *out);
    void (*free_cfg)(void *cfg);
    void (*free_state)(void *state);
    /* extra evidence for run.json (e.g. an accuracy probe's wrong cases); NULL ok */
    json_t *(*details)(const struct probe_inst *pi);
};

/* registry.c */
extern const struct probe_ops *const probe_kinds[];
const struct probe_ops *probe_find(const char *name);

#endif
