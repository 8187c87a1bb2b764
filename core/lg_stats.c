/* lg_stats.c -- reading one figure out of a window's stats by its metric name. */
#include "lg_stats.h"

#include <math.h>
#include <string.h>

double lg_metric(const struct lg_stats *s, const char *m)
{
    if (!strcmp(m, "p50")) return s->p50;
    if (!strcmp(m, "p90")) return s->p90;
    if (!strcmp(m, "p95")) return s->p95;
    if (!strcmp(m, "p99")) return s->p99;
    if (!strcmp(m, "max")) return s->max;
    if (!strcmp(m, "min")) return s->min;
    if (!strcmp(m, "mean")) return s->mean;
    if (!strcmp(m, "rps")) return s->rps;
    if (!strcmp(m, "ok_rps")) return s->ok_rps;
    if (!strcmp(m, "error_rate")) return s->error_rate;
    if (!strcmp(m, "count")) return (double)s->count;
    if (!strcmp(m, "errors")) return (double)s->errors;
    return NAN;
}
