/* plan_lint.h -- warnings about plans that are valid but prove less than they seem.
 *
 * A plan can validate, run, and pass while proving nothing: a steady state on a static
 * liveness endpoint (`GET /health` answers 200 with the database down) holds before and
 * after any fault; a recovery probe waiting for it "recovers" at its first check. These
 * functions say so, plainly, as warnings (they never make a plan invalid).
 *
 *   json_t *w = json_array();
 *   plan_lint(p, w);                 -- from the plan alone, no I/O (validate, run)
 *   plan_lint_run(p, run_json, w);   -- after a run: the same, confirmed by what it saw
 *   ... print each as "<p->path>:<line>:<col>: warning: <message>"; json_decref(w);
 *
 * Each warning appended is an object { code, message, line, col, probe? , step? }:
 *   probe-proves-nothing   a steady-state, recovery or during probe on a liveness path
 *                          (/health, /healthz, /livez, /ping, /status, /alive, /) that
 *                          checks neither body nor JSON: it stays green while the
 *                          dependencies the method breaks are down
 *   unobserved-step        a fault step that no probe, no load and no stop condition watches
 *   no-steady-state        faults without a steady state: nothing shows the system was
 *                          healthy before them, or is again after
 *   rps-counts-errors      a load probe, load recovery or stop condition that expects
 *                          throughput to hold with `rps >= ...`: rps counts failed requests
 *                          too, so it holds while most of them fail (use ok_rps, or hold
 *                          error_rate at 10% or less in the same expectations)
 *   unconfirmed-placeholder  a var still written ${confirm:VALUE} (a starter plan's SLO from
 *                          `faultline init`): the verdict rests on a value nobody confirmed
 *   never-evidence         a probe that can only ever be inconclusive: a load window outside
 *                          its block's requests (before a step at 0s, after the load ended),
 *                          'of baseline' with a fault at 0s, a min_evidence more than its
 *                          checks or cases can give
 * Both functions return how many warnings they appended (0 = none), or -1 when the
 * arguments are unusable (NULL plan or a non-array). The caller owns the array.
 */
#ifndef FL_PLAN_LINT_H
#define FL_PLAN_LINT_H

#include <jansson.h>

struct plan;

int plan_lint(const struct plan *p, json_t *warnings_out_array);
/* run: the run record (run.json's object). Warnings of plan_lint() that the run confirmed
 * carry "confirmed": true and the evidence in their message; plan_lint_run() appends them
 * instead of plan_lint()'s (call one or the other for a given array). */
int plan_lint_run(const struct plan *p, const json_t *run, json_t *warnings_out_array);

/* is this URL's path a liveness endpoint (exposed for tests and for other checks)? */
int plan_lint_liveness_url(const char *url);

#endif
