/* value.h -- the value syntax of plans: durations, rates, percentages, byte sizes and
 * expectations ("p95 < 2s", "error_rate < 1%", "PONG", "< 100", "exit 0").
 * Pure functions, no I/O. Parse functions return 0 or -1 with err filled.
 */
#ifndef FL_VALUE_H
#define FL_VALUE_H

#include <stdint.h>
#include "fl.h"

/* "250ms" "30s" "2m" "1h" "1.5s" "100us" -> milliseconds (fractional ms kept in *ms_f if non-NULL). */
int val_duration_ms(const char *s, int64_t *ms, char *err);
int val_duration_us(const char *s, int64_t *us, char *err);
/* "200/s" "12000/m" "5/h" -> per second */
int val_rate(const char *s, double *per_s, char *err);
/* "5%" -> 0.05, "0.5" -> 0.5 (a plain number between 0 and 1 also accepted when allow_frac) */
int val_percent(const char *s, double *frac, int allow_frac, char *err);
/* "64mb" "1gb" "1024" "10kb" -> bytes */
int val_bytes(const char *s, int64_t *bytes, char *err);
/* "100ms..300ms" -> lo, hi (a single duration gives lo == hi) */
int val_duration_range(const char *s, int64_t *lo_ms, int64_t *hi_ms, char *err);
/* duration text of ms into out ("1.5s", "250ms", "2m") */
void val_fmt_duration(int64_t ms, char out[32]);

enum exp_op { EXP_LT, EXP_LE, EXP_GT, EXP_GE, EXP_EQ, EXP_NE };

enum exp_unit { EXP_UNIT_NONE, EXP_UNIT_MS, EXP_UNIT_FRACTION };

/* One expectation. metric is NULL for a bare value ("PONG", "< 100", "t").
 *   "p95 < 2s"        metric=p95 op=< num=2000 unit=MS
 *   "error_rate < 1%" metric=error_rate op=< num=0.01 unit=FRACTION
 *   "rps >= 50% of baseline" metric=rps op=>= num=0.5 of_baseline=1
 *   "< 100"           metric=NULL op=< num=100
 *   "PONG"            metric=NULL op=== is_num=0 str="PONG"
 *   "exit 0"          metric=exit op=== num=0
 */
struct expect {
    char *text;         /* the original text, for reports */
    char *metric;
    enum exp_op op;
    int is_num;
    double num;
    enum exp_unit unit;
    int of_baseline;
    char *str;          /* string operand when !is_num */
};
/* parse; `metrics` is a NULL-terminated list of allowed metric names, or NULL when the
 * expectation must be bare (a probe's single result). */
int expect_parse(const char *s, const char *const *metrics, struct expect *e, char *err);
void expect_release(struct expect *e);
/* compare a number (in the metric's unit: ms for latency, fraction for rates) */
int expect_eval_num(const struct expect *e, double v);
/* compare a string result: numeric compare when both sides are numbers, else text (== / !=) */
int expect_eval_str(const struct expect *e, const char *s);
const char *expect_op_str(enum exp_op op);

/* Metrics of a load window (PLAN-FORMAT.md "Values"). */
extern const char *const val_load_metrics[];

#endif
