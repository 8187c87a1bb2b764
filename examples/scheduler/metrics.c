/* metrics.c -- the demo API's own /metrics in the Prometheus text format: requests by route,
 * method and status, and a latency histogram by route and status (the FastAPI service's
 * `http_request_duration_seconds`, named as prometheus-fastapi-instrumentator names it). */
#include "sched.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define MX_SLOTS 256
static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define MX_NB (sizeof bounds / sizeof *bounds)

struct slot {
    char route[64], method[8];
    unsigned status;
    unsigned long long count, bucket[MX_NB];
    double sum;
};

static struct {
    pthread_mutex_t mu;
    struct slot s[MX_SLOTS];
    size_t n;
    unsigned long long dropped;  /* observations past MX_SLOTS label sets */
} mx = { .mu = PTHREAD_MUTEX_INITIALIZER };

void metrics_observe(const char *route, const char *method, unsigned status, double seconds)
{
    pthread_mutex_lock(&mx.mu);
    struct slot *s = NULL;
    for (size_t i = 0; i < mx.n && !s; i++)
        if (mx.s[i].status == status && !strcmp(mx.s[i].route, route) && !strcmp(mx.s[i].method, method)) s = &mx.s[i];
    if (!s && mx.n < MX_SLOTS) {
        s = &mx.s[mx.n++];
        snprintf(s->route, sizeof s->route, "%s", route);
        snprintf(s->method, sizeof s->method, "%s", method);
        s->status = status;
    }
    if (!s) {
        mx.dropped++;
    } else {
        s->count++;
        s->sum += seconds;
        for (size_t b = 0; b < MX_NB; b++)
            if (seconds <= bounds[b]) s->bucket[b]++;
    }
    pthread_mutex_unlock(&mx.mu);
}

char *metrics_text(void)
{
    struct buf b;
    buf_init(&b, 0);
    pthread_mutex_lock(&mx.mu);
    buf_adds(&b, "# HELP http_requests_total Requests answered, by route, method and status.\n"
                 "# TYPE http_requests_total counter\n");
    for (size_t i = 0; i < mx.n; i++)
        buf_addf(&b, "http_requests_total{handler=\"%s\",method=\"%s\",status=\"%u\"} %llu\n", mx.s[i].route,
                 mx.s[i].method, mx.s[i].status, mx.s[i].count);
    buf_adds(&b, "# HELP http_request_duration_seconds Time to answer, by route, method and status.\n"
                 "# TYPE http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < mx.n; i++) {
        const struct slot *s = &mx.s[i];
        char lab[128];
        snprintf(lab, sizeof lab, "handler=\"%s\",method=\"%s\",status=\"%u\"", s->route, s->method, s->status);
        for (size_t k = 0; k < MX_NB; k++)
            buf_addf(&b, "http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", lab, bounds[k], s->bucket[k]);
        buf_addf(&b, "http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", lab, s->count);
        buf_addf(&b, "http_request_duration_seconds_sum{%s} %.6f\n", lab, s->sum);
        buf_addf(&b, "http_request_duration_seconds_count{%s} %llu\n", lab, s->count);
    }
    buf_addf(&b, "# HELP scheduler_metrics_dropped_total Observations past %d label sets, not kept.\n"
                 "# TYPE scheduler_metrics_dropped_total counter\nscheduler_metrics_dropped_total %llu\n",
             MX_SLOTS, mx.dropped);
    pthread_mutex_unlock(&mx.mu);
    return buf_detach(&b);
}
