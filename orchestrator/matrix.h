/* matrix.h -- N-1 / N-2 contingency: one experiment per combination of `choose` targets out
 * of `lose`, and the table of which losses the service survived.
 *
 *   json_t *rec = NULL;
 *   int code = matrix_run("n1.yaml", vars, &ro, "out", &rec);   -- worst exit code
 *   ... json_decref(rec);
 *
 * matrix_run() re-loads the plan once per combination with cmd_load_plan(path, vars,
 * "a,b") (the plan binds ${lose}), runs it with run_plan() into DIR/lose-a+b/ (every report
 * via report_write_all), one after another; each experiment checks the steady state before
 * its first fault and again at its end, so a combination starts only from a healthy system
 * (a broken steady state fails that row instead of running faults). It stops early after an
 * abort (exit 3) or a failed revert (exit 4): the remaining rows say "not_run". It writes
 * DIR/matrix.json (the record below, also DIR/run.json with the other reports) and
 * DIR/contingency.md, prints the table, and returns the record in *rec (caller decrefs; it
 * is set even when the plan is invalid, then with verdict "invalid").
 *
 * The record: `plan`, `choose`, `lose`, `started_at`, `ended_at`, `elapsed_ms`, `matrix`
 * (rows: `lose` "a+b", `lost` [a, b], `verdict`, `exit_code`, `report`, `why`, and the
 * figures of matrix_figures()), `holds` (bool), `fails_at` (["a", "b+c"]), `inconclusive_at`
 * (combinations where nothing failed but something had no evidence), `overall` ("N-1
 * holds" / "N-1 fails at: a, b" / "N-1 undecided: no evidence at c"), `verdict`,
 * `exit_code` (the worst: fl_exit_worse()), `journal` (when a revert failed).
 */
#ifndef FL_MATRIX_H
#define FL_MATRIX_H

#include <jansson.h>
#include "run.h"

int matrix_run(const char *path, const char *const *vars, const struct run_opts *ro, const char *dir, json_t **rec);
/* --dry-run of a matrix plan: the timeline of every combination (targets resolved, reads
 * only), one after another; touches nothing, writes no report. Returns the worst exit code. */
int matrix_dry_run(const char *path, const char *const *vars, const struct run_opts *ro);

/* The few numbers that sum a run record up, added to `into`:
 *   p95_ms        the worst whole-run p95 of the load blocks (null without load)
 *   worst_p95_ms  the worst one-second p95 of any block's series
 *   error_rate    errors / requests over every block (fraction), requests, rps (summed)
 *   recovery_ms   the longest recovery of the recovery probes (null when none measured)
 *   recovered     false when a recovery probe never recovered (on evidence); null when
 *                 none failed but one was inconclusive (then recovery_inconclusive: true)
 *   recoveries    [{probe, ms (null when not recovered), observed, verdict}]
 * Used by the contingency table and by the drill history. */
void matrix_figures(const json_t *run, json_t *into);

/* why a run did not pass, in a few words ("probe 'quorum' failed: ...; thresholds failed");
 * "" when it passed. Caller frees. */
char *matrix_why(const json_t *run);

#endif
