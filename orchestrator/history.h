/* history.h -- the drill history: one JSON object per experiment run, kept in a JSON lines
 * file or in the PostgreSQL table faultline_history (created when missing, through libpq).
 *
 *   char err[FL_ERR_LEN];
 *   struct history *h = history_open("drills.jsonl", err);        -- or "postgresql://..."
 *   json_t *base = NULL;
 *   history_last_passing(h, "db-outage", &base, err);   -- base NULL when there is none
 *   json_t *regs = history_compare(base, entry, &rules); -- findings, caller decrefs
 *   history_append(h, entry, err);
 *   json_t *runs = history_read(h, "db-outage", err);    -- oldest first, caller decrefs
 *   history_close(h);
 *
 * An entry (written by `faultline drill`): `time` (ISO-8601 UTC), `drill` (the drill's
 * folder), `plan`, `experiment` (the plan name, or "plan/lose-a+b" for a matrix row),
 * `verdict`, `exit_code`, `seed`, `plan_hash`, `report`, the figures of report_figures()
 * (`p95_ms`, `worst_p95_ms`, `error_rate`, `requests`, `rps`, `recovery_ms`, `recovered`,
 * `recoveries`), `record` (history_digest() of the run record), `regressions` (findings of
 * history_compare()) and `baseline` (time and report of the run compared with, or null).
 *
 * "Last passing run" = the newest entry of that experiment with verdict "passed" and no
 * regression, so a slowdown stays flagged until a run is as good as before.
 * A PostgreSQL URL may carry a password: history_where() is the location with it masked,
 * and history_open() registers it as a secret so logging never shows it.
 */
#ifndef FL_HISTORY_H
#define FL_HISTORY_H

#include <jansson.h>
#include "fl.h"

struct history;

/* a path (JSON lines, created on first append) or a postgresql:// / postgres:// URL
 * (connects, creates the table when missing). NULL with err on failure. */
struct history *history_open(const char *where, char *err);
void history_close(struct history *h);
const char *history_where(const struct history *h);

/* append one entry (a JSON object); 0 or -1 with err */
int history_append(struct history *h, const json_t *entry, char *err);
/* every entry, or those of one plan (plan NULL = all), oldest first; NULL with err.
 * A JSON lines file that does not exist yet reads as empty. */
json_t *history_read(struct history *h, const char *plan, char *err);
/* *out = the last passing entry of that experiment (new reference) or NULL; 0 or -1 with err */
int history_last_passing(struct history *h, const char *experiment, json_t **out, char *err);

/* A run record cut down to what `faultline compare` judges (plan name and hash, verdict,
 * elapsed_ms, load blocks' totals and endpoints without the series, the recovery probes'
 * last observation, memory): kept in an entry as `record`. Caller decrefs. */
json_t *history_digest(const json_t *run);

/* findings [{metric (p95, duration, throughput, memory), figure, base, current, change,
 * text}] of cur against base: cmp_runs() of reports/compare.h on their `record`s, so a
 * drill and `faultline compare` flag the same things (p95 or duration +10%, throughput
 * -10%, memory +15%, noise floors). Empty when base is NULL or either has no record.
 * Caller decrefs. */
struct cmp_rules;
json_t *history_compare(const json_t *base, const json_t *cur, const struct cmp_rules *r);

#endif
