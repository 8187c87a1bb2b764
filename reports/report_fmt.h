/* report_fmt.h -- helpers the report writers share: reading the run record without
 * crashing on a missing field, formatting metric values in their units, and writing a file
 * atomically (a temporary file renamed into place).
 */
#ifndef FL_REPORT_FMT_H
#define FL_REPORT_FMT_H

#include <jansson.h>
#include <stddef.h>

/* o[key] as a string / number, or def when absent or of another type (o may be NULL) */
const char *report_jstr(const json_t *o, const char *key, const char *def);
double report_jnum(const json_t *o, const char *key, double def);

/* The three outcomes of a check, a probe, a steady-state check or a stop condition
 * (probes/probe.h), read from records of either format: format 1 said "skipped" for a
 * probe that never ran (now inconclusive) and could_not_run for a check that could not be
 * made. */
/* "passed", "failed" or "inconclusive" (a record's other words pass through, e.g. "tripped") */
const char *report_verdict(const json_t *p);
/* why a probe is inconclusive (its "reason", format 1's "skip_reason"), or def */
const char *report_reason(const json_t *p, const char *def);
/* an observation's outcome: "passed", "failed", "inconclusive" */
const char *report_obs_outcome(const json_t *o);
/* how many of a probe's checks could not be judged */
long long report_inconclusive_checks(const json_t *p);
/* the run's load thresholds in a word: "failed" (one did not hold), "not judged" (none
 * failed, one had no request to judge it: ok null), "held", or NULL when the load declared
 * none (records without per-threshold entries: from thresholds_ok) */
const char *report_thresholds_word(const json_t *run);

/* a time or span in ms, for people: "250ms", "30.0s", "1m15.0s", "2h05m" */
void report_fmt_time(double ms, char out[32]);
/* "4.20ms", "12.5ms", "812ms", "1.25s"; "-" for a non-finite value */
void report_fmt_ms(double ms, char out[32]);
/* a load metric's value in its unit: p50..max/mean/min in ms, error_rate a fraction shown
 * as a percentage, rps per second, count a whole number; "n/a" when v is not a number */
void report_fmt_metric(const char *metric, const json_t *v, char out[48]);

/* the whole-run figures of a load block of the record (its "totals"), formatted with
 * report_fmt_metric(): p95, error rate, requests per second */
struct report_load_totals { char p95[48], error_rate[48], rps[48]; };
void report_load_totals(const json_t *blk, struct report_load_totals *t);

/* write len bytes to path through path.tmp + rename; 0, or -1 with err */
int report_write_file(const char *path, const char *data, size_t len, char *err);

#endif
