/* figures.h -- the few numbers and words that sum a run record (run.json) up: what the
 * contingency table of a matrix (contingency.h), the drill suite (suite.h) and the drill
 * history (orchestrator/history.h) show of each run. Reads the record only.
 */
#ifndef FL_FIGURES_H
#define FL_FIGURES_H

#include <jansson.h>

/* The figures of a run record, added to `into`:
 *   p95_ms        the worst whole-run p95 of the load blocks (null without load)
 *   worst_p95_ms  the worst one-second p95 of any block's series
 *   error_rate    errors / requests over every block (fraction), requests, rps (summed)
 *   recovery_ms   the longest recovery of the recovery probes (null when none measured)
 *   recovered     false when a recovery probe never recovered (on evidence); null when
 *                 none failed but one was inconclusive (then recovery_inconclusive: true)
 *   recoveries    [{probe, ms (null when not recovered), observed, verdict}] */
void report_figures(const json_t *run, json_t *into);

/* why a run did not pass, in a few words ("probe 'quorum' failed: ...; load thresholds
 * failed"); "" when it passed. Caller frees. */
char *report_why(const json_t *run);

/* The figures of a run (report_figures()' keys, in a matrix row, a drill entry or a record
 * of them) as table cells: "4.20ms", "0.35%", "not recovered", "inconclusive"; "-" for a
 * figure that is absent or null. */
struct report_cells {
    char p95[32];           /* p95_ms */
    char worst_p95[32];     /* worst_p95_ms */
    char error_rate[32];    /* error_rate, as a percentage */
    char recovery[32];      /* recovery_ms; "not recovered", or "inconclusive" when no
                               recovery probe had evidence either way */
};
void report_cells(const json_t *figures, struct report_cells *c);

#endif
