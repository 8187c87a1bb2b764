/* matrix.h -- N-1 / N-2 contingency: one experiment per combination of `choose` targets out
 * of `lose`, and the record of which losses the service survived.
 *
 *   struct matrix_opts mo = { .path = "n1.yaml", .vars = vars, .ro = &ro, .dir = "out",
 *                             .on_row = print_row, .on_error = print_error, .self = ctx };
 *   json_t *rec = NULL;
 *   int code = matrix_run(&mo, &rec);      -- worst exit code
 *   ... report_contingency_text(rec, &b) (reports/contingency.h) ... json_decref(rec);
 *
 * matrix_run() re-loads the plan once per combination with cmd_load_plan(path, vars,
 * "a,b") (the plan binds ${lose}), runs it with run_plan() into DIR/lose-a+b/ (every report
 * via report_write_all), one after another; each experiment checks the steady state before
 * its first fault and again at its end, so a combination starts only from a healthy system
 * (a broken steady state fails that row instead of running faults). It stops early after an
 * abort (exit 3) or a failed revert (exit 4): the remaining rows say "not_run". It writes
 * DIR/matrix.json (the record below, also DIR/run.json with the other reports) and
 * DIR/contingency.md, and returns the record in *rec (caller decrefs; it is set even when
 * the plan is invalid, then with verdict "invalid"). It prints nothing: each finished
 * combination's row goes to on_row, and what went wrong without stopping it (a report that
 * could not be written, too many combinations) to on_error, for the command to print.
 *
 * The record: `plan`, `choose`, `lose`, `started_at`, `ended_at`, `elapsed_ms`, `matrix`
 * (rows: `lose` "a+b", `lost` [a, b], `verdict`, `exit_code`, `report`, `why`, and the
 * figures of report_figures(), reports/figures.h), `holds` (bool), `fails_at` (["a", "b+c"]),
 * `inconclusive_at` (combinations where nothing failed but something had no evidence),
 * `overall` ("N-1 holds" / "N-1 fails at: a, b" / "N-1 undecided: no evidence at c"),
 * `verdict`, `exit_code` (the worst: fl_exit_worse()), `journal` (when a revert failed).
 */
#ifndef FL_MATRIX_H
#define FL_MATRIX_H

#include <jansson.h>
#include "run.h"

struct matrix_opts {
    const char *path;                  /* the plan */
    const char *const *vars;           /* --var NAME=VALUE, NULL-terminated */
    const struct run_opts *ro;         /* every combination's run (report_dir: set per combination) */
    const char *dir;                   /* DIR */
    void (*on_row)(void *self, const json_t *row);      /* a combination finished (may be NULL) */
    void (*on_error)(void *self, const char *msg);      /* a message to print (may be NULL) */
    void *self;
};

int matrix_run(const struct matrix_opts *mo, json_t **rec);

#endif
