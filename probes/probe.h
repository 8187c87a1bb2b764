/* probe.h -- the probe driver interface and the one outcome model of every check.
 *
 * A probe kind is one `const struct probe_ops` (e.g. probe_http) listed in probes/registry.c.
 *
 * Outcomes. Every check, probe, steady-state check and stop condition ends as one of
 *   PROBE_PASSED        evidence that the expectation held
 *   PROBE_FAILED        evidence that it did not: a wrong answer, a refusal, a service
 *                       under test that did not answer at all
 *   PROBE_INCONCLUSIVE  faultline could not do its part (could not seed, could not reach
 *                       its own probe target, saw no completed request in the window):
 *                       no evidence either way; never counted as passed
 * check() keeps "could not check" apart from "checked" (STYLE.md):
 *   return -1, err filled       faultline could not check: the runner records an
 *                               inconclusive observation with err as its text
 *   return 0, obs->outcome set  the check was made; a kind that counts its evidence
 *                               (requests, cases, intervals) sets obs->evidence and may
 *                               itself judge INCONCLUSIVE when it saw too little
 * Zero is PROBE_INCONCLUSIVE, so a check that sets nothing proves nothing.
 *
 * A probe's verdict over its checks (run.c, probe_verdict()): failed when any check
 * failed; else passed when its evidence (the sum of its checks' evidence; a passed or
 * failed check of a kind that does not count counts 1) reaches the probe's min_evidence
 * (default 1; `min_evidence: 0` says "nothing happened" is fine); else inconclusive.
 * docs/plan-format.md says what the evidence is per kind.
 */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include <jansson.h>
#include <stdint.h>
#include "buf.h"
#include "drv.h"
#include "fl.h"
#include "node.h"
#include "params.h"

struct step;

enum probe_outcome { PROBE_INCONCLUSIVE = 0, PROBE_PASSED = 1, PROBE_FAILED = 2 };
/* "inconclusive", "passed", "failed" */
const char *probe_outcome_name(enum probe_outcome o);

struct probe_obs {
    int64_t t_ms;            /* run clock (ms since load start), set by the runner */
    enum probe_outcome outcome;
    long evidence;           /* units of evidence this check saw (kinds that count: load,
                                acgme, recovery); 0 = the runner counts a conclusive check as 1 */
    int has_value;
    double value;            /* the numeric observation, when there is one */
    double latency_ms;       /* how long the check took, when meaningful */
    char observed[512];      /* what was seen, short ("503 in 12ms", "PONG", "p95=812ms") */
};

/* where a probe entry stands in the plan: its timing */
enum probe_timing { PT_END = 0, PT_BEFORE, PT_AFTER, PT_DURING, PT_STEADY, PT_RECOVERY_UNTIL, PT_STOP_WHEN, PT_READY };

/* one probe entry of the plan, as the plan loader parsed it (orchestrator/plan.c) */
struct probe_spec {
    char *name;
    int line, col;
    const struct probe_ops *ops;
    void *cfg;
    enum probe_timing timing;
    struct step *window;       /* the runner's step for before/after/during (opaque here) */
    int64_t window_for_ms;     /* that step's for: (-1: none, or no window) */
    int64_t every_ms;          /* during: default 1000 */
    int64_t for_ms;            /* stop_when: failing this long trips (0 = at once) */
    long min_evidence;         /* evidence needed to pass; 1 unless `min_evidence:` */
};
/* frees the cfg (through its ops) and the entry */
void probe_spec_free(struct probe_spec *ps);

struct probe_inst {
    const struct probe_ops *ops;
    struct probe_spec *spec;   /* NULL for a probe tested on its own */
    const struct drv_ctx *ctx; /* the run (drv.h); NULL for a probe tested on its own */
    void *cfg;
    /* the window this check judges (run clock, ms); for load probes the metrics window */
    int64_t win_from_ms, win_to_ms;
    void *state;             /* per-run state a probe may keep between checks (freed by free_state) */
};

/* how the runner schedules a probe kind (probe_ops.sched) */
enum probe_sched {
    PROBE_LIVE = 0,      /* checked when due: before/after its step, every `every` during it,
                          * once at the end, or as steady state / stop_when */
    PROBE_OVER_WINDOW,   /* judged once over its whole window after the window closed (load) */
    PROBE_RECOVERY,      /* measures in a thread of its own from its step's inject or revert;
                          * window_step and from_inject say which (recovery) */
};

struct probe_ops {
    const char *name;                 /* the key in a probe entry: "http", "postgres", ... */
    const char *summary;
    const struct param_spec *params;  /* keys inside the kind's map (for scalar-valued kinds
                                         like `load: readers`: keys beside it in the entry) */
    int scalar_valued;                /* 1: `load: NAME` (params are siblings) */
    int (*parse)(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg,
                 struct diag *d);
    int (*check)(struct probe_inst *pi, struct probe_obs *obs, char *err);
    void (*describe)(const void *cfg, struct buf *out);
    void (*free_cfg)(void *cfg);
    void (*free_state)(void *state);
    /* extra evidence for run.json (e.g. an accuracy probe's wrong cases); NULL ok */
    json_t *(*details)(const struct probe_inst *pi);
    enum probe_sched sched;
    /* PROBE_RECOVERY: the method step whose inject or revert starts the clock (the probe's
     * window), and 1 when it starts at the inject, 0 at the revert */
    const char *(*window_step)(const void *cfg);
    int (*from_inject)(const void *cfg);
    /* A kind that puts something into a system under test (the acgme probe's seeded rows)
     * journals it write-ahead (drv_journal_intent, drv_journal_settle) under journal_kind
     * ("acgme.seed"), and `faultline rollback` hands every entry left unsettled to
     * reconcile(): take out what is still there, say what it found and did (one line per
     * thing, "  " and "\n" added by fault_report-like callers: report may be NULL).
     * 0, or -1 with err (the entry stays pending). NULL: the kind journals nothing. */
    const char *journal_kind;
    int (*reconcile)(const json_t *rec, const struct drv_ctx *ctx, struct buf *report, char *err);
};

/* registry.c */
extern const struct probe_ops *const probe_kinds[];
const struct probe_ops *probe_find(const char *name);
/* the kind whose journal_kind is kind, NULL when none */
const struct probe_ops *probe_find_journal_kind(const char *kind);

#endif
