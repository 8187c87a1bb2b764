/* compare.h -- regressions of a run against a baseline of one or more earlier runs
 * (`faultline compare BASE CURRENT`: one; `faultline drill` with a history: the last K
 * passing runs). docs/reports.md ("When a change is a regression") says why these tests.
 *
 *   struct cmp_rules r; cmp_rules_default(&r);            -- the seeds' rules
 *   struct cmp_result res;
 *   if (cmp_runs(base, current, &r, &res, err) < 0) ...   -- err: what is wrong with the input
 *   cmp_baseline(bases, nbases, current, &r, &res, err);   -- bases oldest first
 *   cmp_format(&res, &buf);  res.regressions ...  cmp_release(&res);
 *
 * Figures (matched by name; on one side only: a note, not a regression):
 *   per load block: p95 (rule p95, higher is worse), rps (rule throughput, lower is worse),
 *     each endpoint's p95 (rule p95); p99 and error_rate are shown without a rule;
 *   duration: the run's elapsed_ms and each recovery probe's time to recover (rule
 *     duration); a recovery that no longer happens is a regression;
 *   memory: every number under run.json's "memory" object (rule memory), when both records
 *     have one; otherwise the rule is skipped with a note.
 * The baseline of a figure is its band over the baseline runs: the median, and the usual
 * range: lowest..highest, narrowed with 3 or more runs to the median -+ 3 robust standard
 * deviations (1.4826 x the median absolute deviation).
 * A figure regressed only when all hold:
 *   1. evidence: a percentile needs >= CMP_MIN_TAIL requests beyond its rank on both sides
 *      (p95: 400 requests); below, its status is "too few requests to compare";
 *   2. the rule: beyond the band's worse edge by more than the rule and a noise floor
 *      (1 ms of latency, 100 ms of duration, 1 request/s);
 *   3. significance: latency: the 99% distribution-free confidence interval of the
 *      percentile (order statistics of the run.json histograms) of the current run lies
 *      wholly above that of the baseline runs' requests pooled, and (with >= 5 seconds a
 *      side) the block's per-second p95 are higher by one-sided Mann-Whitney U, p < 0.01; throughput: one-sided
 *      Mann-Whitney U on the per-second throughput (the baseline runs' seconds pooled),
 *      p < 0.01; durations and memory (one
 *      value per run): a band of >= CMP_MIN_BAND baseline runs. A figure beyond the rule
 *      that fails 3 is "not significant"; one that cannot be tested says why.
 */
#ifndef FL_COMPARE_H
#define FL_COMPARE_H

#include <jansson.h>
#include <stddef.h>
#include "buf.h"

#define CMP_MIN_TAIL 20     /* requests beyond a percentile's rank, each side */
#define CMP_MIN_BAND 3      /* baseline runs that make a band for one-value figures */
#define CMP_ALPHA 0.01      /* significance level of the tests */

enum cmp_rule { CMP_NONE, CMP_P95, CMP_DURATION, CMP_THROUGHPUT, CMP_MEMORY };

/* what became of a figure */
enum cmp_status {
    CMP_INFO,           /* no rule: shown for context */
    CMP_OK,             /* within the rule (or better) */
    CMP_FLOOR,          /* beyond the rule's percentage, under the noise floor */
    CMP_NOT_SIGNIFICANT,/* beyond the rule, not statistically significant */
    CMP_UNTESTED,       /* beyond the rule, significance could not be tested (sig says why) */
    CMP_FEW,            /* too few requests to compare */
    CMP_NEW,            /* no baseline value: new, now recovers */
    CMP_GONE,           /* no current value */
    CMP_REGRESSED,
};

struct cmp_rules {
    double p95, duration, throughput, memory;   /* allowed change, as a fraction (0.10 = 10%) */
};

struct cmp_row {
    char *figure;               /* "load 'readers' p95" */
    const char *unit;           /* "ms", "rps", "ratio", "mem", "duration", "recovery" */
    enum cmp_rule rule;
    double base;                /* the baseline's median; NAN when no baseline run has it */
    double lo, hi;              /* the band over the baseline runs (the usual range) */
    double ref;                 /* the band edge the rule applies to (hi, lo for throughput) */
    int nbase;                  /* baseline runs in the band */
    double cur;                 /* NAN when the current run lacks the figure */
    int regressed;
    enum cmp_status status;
    const char *why;            /* the status in words */
    char sig[200];              /* the significance test and its figures, or why none; "" */
};

struct cmp_result {
    struct cmp_row *rows;
    size_t nrows, alloc;
    char **notes;               /* lines printed under the table */
    size_t nnotes;
    int regressions, few, untested, not_significant;
    int not_compared;           /* figures inconclusive in one of the runs */
    int nbases;
    struct cmp_rules rules;
};

void cmp_rules_default(struct cmp_rules *r);
/* nothing regressed can still be no pass: a figure had too few requests, was beyond the rule
 * with nothing to test it on, or was inconclusive in a run (nonzero then) */
int cmp_undecided(const struct cmp_result *res);
/* parse "10%", "10" (percent) or "0.5%" into a fraction; -1 when it is not a number >= 0 */
int cmp_parse_pct(const char *s, double *out);
/* base and cur are run records (run.json, or history_digest() of one); 0, or -1 with err
 * when either is not one */
int cmp_runs(const json_t *base, const json_t *cur, const struct cmp_rules *r, struct cmp_result *res, char *err);
/* the same against several baseline runs (oldest first, nbases >= 1) */
int cmp_baseline(const json_t *const *bases, size_t nbases, const json_t *cur, const struct cmp_rules *r,
                 struct cmp_result *res, char *err);
/* the table, the notes and the closing line, for people */
void cmp_format(const struct cmp_result *res, struct buf *out);
/* the change of a row in words: "+12.3%", "new" (from 0 or from nothing), "gone", "-" */
void cmp_change_text(const struct cmp_row *r, char out[32]);
/* a value of a row for people ("12.3ms", "1.00 s", "85.0/s"), "-" for NAN */
void cmp_value_text(const struct cmp_row *r, double v, char out[48]);
/* the rows with a rule, as JSON: [{figure, metric, unit, baseline, band, runs, now, change,
 * significance, status, regressed}] (caller decrefs) */
json_t *cmp_rows_json(const struct cmp_result *res);
/* the figures of one record that carry a rule: [{figure, unit, metric, value}] (value null
 * when missing), in the order of the comparison table; caller decrefs */
json_t *cmp_figures(const json_t *rec);
void cmp_release(struct cmp_result *res);
/* "p95", "duration", "throughput", "memory"; "-" for CMP_NONE */
const char *cmp_rule_name(enum cmp_rule r);

#endif
