/* compare.h -- regressions between two run records (`faultline compare BASE CURRENT`).
 *
 *   struct cmp_rules r; cmp_rules_default(&r);            -- the seeds' rules
 *   struct cmp_result res;
 *   if (cmp_runs(base, current, &r, &res, err) < 0) ...   -- err: what is wrong with the input
 *   cmp_format(&res, &buf);  res.regressions ...  cmp_release(&res);
 *
 * Figures compared (matched by name; present on one side only: a note, not a regression):
 *   per load block: p95 (rule p95, higher is worse), rps (rule throughput, lower is worse),
 *     each endpoint's p95 (rule p95); p99 and error_rate are shown without a rule;
 *   duration: the run's elapsed_ms and each recovery probe's time to recover (rule
 *     duration); a recovery that no longer happens is a regression;
 *   memory: every number under run.json's "memory" object (rule memory), when both records
 *     have one; otherwise the rule is skipped with a note.
 * A change smaller than a noise floor never counts (1 ms of latency, 100 ms of duration,
 * 1 request/s, 0 of memory), so a 2 ms -> 3 ms p95 is not a 50% regression.
 */
#ifndef FL_COMPARE_H
#define FL_COMPARE_H

#include <jansson.h>
#include <stddef.h>
#include "buf.h"

enum cmp_rule { CMP_NONE, CMP_P95, CMP_DURATION, CMP_THROUGHPUT, CMP_MEMORY };

struct cmp_rules {
    double p95, duration, throughput, memory;   /* allowed change, as a fraction (0.10 = 10%) */
};

struct cmp_row {
    char *figure;               /* "load 'readers' p95" */
    const char *unit;           /* "ms", "rps", "ratio", "mem" (how to print the values) */
    enum cmp_rule rule;
    double base, cur;           /* NAN when that side lacks the figure */
    int regressed;
    const char *why;            /* short word for the status column */
};

struct cmp_result {
    struct cmp_row *rows;
    size_t nrows, alloc;
    char **notes;               /* lines printed under the table */
    size_t nnotes;
    int regressions;
    struct cmp_rules rules;
};

void cmp_rules_default(struct cmp_rules *r);
/* parse "10%", "10" (percent) or "0.5%" into a fraction; -1 when it is not a number >= 0 */
int cmp_parse_pct(const char *s, double *out);
/* base and cur are run records (run.json); 0, or -1 with err when either is not one */
int cmp_runs(const json_t *base, const json_t *cur, const struct cmp_rules *r, struct cmp_result *res, char *err);
/* the table, the notes and the closing line, for people */
void cmp_format(const struct cmp_result *res, struct buf *out);
void cmp_release(struct cmp_result *res);
/* "p95", "duration", "throughput", "memory"; "-" for CMP_NONE */
const char *cmp_rule_name(enum cmp_rule r);

#endif
