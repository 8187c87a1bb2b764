/* prom.h -- the Prometheus HTTP API reply reader and the aggregates the `prometheus` probe
 * judges (probes/prometheus.c). Pure functions, no I/O: the fuzz target and the unit tests
 * call them on bytes.
 *
 *   struct prom_result r;
 *   if (prom_parse_reply(body, len, &r, err) < 0) ... err: Prometheus's own message
 *   ... r.series[i].v[0..n) ...
 *   prom_result_release(&r);
 * A reply is {"status":"success","data":{"resultType":"vector"|"matrix"|"scalar"|"string",
 * "result":...}} or {"status":"error","errorType":"bad_data","error":"..."}. A vector or a
 * scalar gives series of one sample; a matrix one series per result with its samples.
 */
#ifndef FL_PROM_H
#define FL_PROM_H

#include <stddef.h>
#include "fl.h"

enum prom_type { PROM_VECTOR, PROM_MATRIX, PROM_SCALAR, PROM_STRING };

struct prom_series {
    char *labels;       /* `name{k="v",...}` as Prometheus shows it ("{}" for none) */
    double *t;          /* unix seconds */
    double *v;          /* the sample values (NaN and +-Inf as Prometheus sends them) */
    size_t n;
    char *str;          /* a string result's text (PROM_STRING only) */
};

struct prom_result {
    enum prom_type type;
    struct prom_series *series;
    size_t n;
    char *warnings;     /* Prometheus's warnings joined by "; ", or NULL */
};

/* parse a reply body (len bytes, not NUL-terminated); 0, or -1 with err: the error Prometheus
 * gave ("bad_data: 1:5: parse error: ...") or what is wrong with the bytes */
int prom_parse_reply(const char *body, size_t len, struct prom_result *r, char *err);
void prom_result_release(struct prom_result *r);

enum prom_agg { PROM_AGG_LAST, PROM_AGG_MAX, PROM_AGG_MIN, PROM_AGG_AVG };
/* the aggregate of a series' samples; NaN samples are skipped (NaN when none is left) */
double prom_aggregate(const struct prom_series *s, enum prom_agg a);
/* "last" "max" "min" "avg" */
const char *prom_agg_name(enum prom_agg a);

#endif
