/* fuzz_prom_json.c -- libFuzzer target: Prometheus HTTP API replies, as the `prometheus`
 * probe reads them (probes/prometheus.c prom_parse_reply, prom_aggregate).
 *
 * The whole input is a reply body. Besides "no crash", it checks what prom.h promises: a
 * failed parse says why (a one-line err) and leaves nothing allocated; a parsed vector or
 * scalar has one sample per series, a string result its text; every aggregate of a series
 * with a number in it is a number within [min, max] of its samples (avg and last too).
 *
 *   build/fuzz/fuzz_prom_json tests/fuzz/corpus/prom_json -max_total_time=600
 * tests/unit/test_prom_reply.c includes this file (FUZZ_PROM_ENTRY, FUZZ_FAIL) to replay the
 * corpus through the same function.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

#ifndef FUZZ_PROM_ENTRY
#define FUZZ_PROM_ENTRY LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) (fprintf(stderr, "fuzz_prom_json: " __VA_ARGS__), fputc('\n', stderr), abort())
#endif
#define PJ_CHECK(c, ...) do { if (!(c)) FUZZ_FAIL(__VA_ARGS__); } while (0)

int FUZZ_PROM_ENTRY(const uint8_t *data, size_t size);
int FUZZ_PROM_ENTRY(const uint8_t *data, size_t size)
{
    struct prom_result r;
    char err[FL_ERR_LEN] = "";
    if (prom_parse_reply((const char *)data, size, &r, err) < 0) {
        PJ_CHECK(err[0] != '\0', "a refused reply without a reason");
        PJ_CHECK(!strchr(err, '\n') || strlen(err) < FL_ERR_LEN, "err is not one bounded line");
        PJ_CHECK(r.series == NULL && r.n == 0 && r.warnings == NULL, "a refused reply left a result");
        return 0;
    }
    for (size_t i = 0; i < r.n; i++) {
        const struct prom_series *s = &r.series[i];
        PJ_CHECK(s->labels != NULL, "series %zu without labels", i);
        if (r.type == PROM_VECTOR || r.type == PROM_SCALAR || r.type == PROM_STRING)
            PJ_CHECK(s->n == 1, "a %s series with %zu samples", r.type == PROM_VECTOR ? "vector" : "scalar", s->n);
        if (r.type == PROM_STRING) PJ_CHECK(s->str != NULL, "a string result without its text");
        double lo = INFINITY, hi = -INFINITY;
        size_t nums = 0;
        for (size_t k = 0; k < s->n; k++)
            if (!isnan(s->v[k])) { nums++; if (s->v[k] < lo) lo = s->v[k]; if (s->v[k] > hi) hi = s->v[k]; }
        for (int a = PROM_AGG_LAST; a <= PROM_AGG_AVG; a++) {
            double v = prom_aggregate(s, (enum prom_agg)a);
            if (!nums) { PJ_CHECK(isnan(v), "%s of no number is %g", prom_agg_name((enum prom_agg)a), v); continue; }
            if (a == PROM_AGG_MAX) PJ_CHECK(v == hi, "max %g, samples reach %g", v, hi);
            if (a == PROM_AGG_MIN) PJ_CHECK(v == lo, "min %g, samples go down to %g", v, lo);
            /* avg of finite samples lies within them (inf - inf is NaN: skip) */
            if (a == PROM_AGG_AVG && isfinite(lo) && isfinite(hi) && isfinite(v))
                PJ_CHECK(v >= lo - 1e-9 * fabs(lo) && v <= hi + 1e-9 * fabs(hi), "avg %g outside [%g, %g]", v, lo, hi);
            if (a == PROM_AGG_LAST) PJ_CHECK(v >= lo && v <= hi, "last %g outside [%g, %g]", v, lo, hi);
        }
    }
    prom_result_release(&r);
    return 0;
}
