/* lg_stats.h -- the figures of one window of requests (a load block's, an endpoint's):
 * what the load engine answers to lg_query(), and what probes, thresholds and stop
 * conditions read. No I/O; filled by the load engine (load_stats.c).
 */
#ifndef FL_LG_STATS_H
#define FL_LG_STATS_H

#include <stdint.h>

struct lg_stats {
    uint64_t count, errors, err_connect, err_timeout, err_4xx, err_5xx, err_other;
    /* rps counts every completed request, failed or not; ok_rps only the successful ones
     * (count - errors), the throughput a user saw served */
    double seconds, rps, ok_rps, error_rate, p50, p90, p95, p99, max, mean, min; /* latencies in ms */
};

/* the value of a load metric (val_load_metrics) in a stats record, in the expectation's
 * unit; NAN for an unknown metric */
double lg_metric(const struct lg_stats *s, const char *metric);

#endif
