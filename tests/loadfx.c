/* loadfx.c -- load fixtures shared by the load tests (see loadfx.h). */
#include "loadfx.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fl.h"
#include "harness.h"
#include "hist.h"
#include "load.h"
#include "node.h"
#include "testsrv.h"

struct lg_block_cfg *lfx_block(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct node *n = th_vyaml(fmt, ap);
    va_end(ap);
    struct diag d;
    diag_init(&d, "test.yaml");
    struct lg_block_cfg *c = lg_block_parse(NULL, n, &d);
    ASSERT_MSG(c && d.n == 0, "parse: %s", d.n ? d.msgs[0] : "?");
    node_free(n);
    diag_release(&d);
    return c;
}

/* the diagnostics of a block that must not parse, one a line */
static void parse_errors(char *out, size_t outlen, const char *y)
{
    struct diag d;
    diag_init(&d, "test.yaml");
    struct node *n = node_parse(y, strlen(y), &d);
    ASSERT(n);
    struct lg_block_cfg *c = lg_block_parse(NULL, n, &d);
    ASSERT_MSG(!c, "expected an invalid block: %s", y);
    out[0] = '\0';
    for (size_t i = 0; i < d.n; i++) {
        strncat(out, d.msgs[i], outlen - strlen(out) - 1);
        strncat(out, "\n", outlen - strlen(out) - 1);
    }
    node_free(n);
    diag_release(&d);
}

void lfx_check_bad(const struct lfx_bad *cases, size_t n)
{
    char e[4096];
    for (size_t i = 0; i < n; i++) {
        parse_errors(e, sizeof e, cases[i].yaml);
        size_t max = sizeof cases[i].errors / sizeof cases[i].errors[0];
        ASSERT_MSG(cases[i].errors[0] != NULL, "block %zu: no diagnostic expected", i + 1);
        for (size_t k = 0; k < max && cases[i].errors[k]; k++)
            ASSERT_MSG(strstr(e, cases[i].errors[k]), "block %zu: the diagnostics lack \"%s\": got \"%s\"", i + 1,
                       cases[i].errors[k], e);
    }
}

struct lg *lfx_tool_run(struct lg_block_cfg **c, struct testsrv *s, int64_t dur_ms, int slow_at, int slow_s,
                        int delay_ms)
{
    char err[FL_ERR_LEN];
    struct lg *lg = lg_new(c, 1, 1, err);
    ASSERT_MSG(lg, "lg_new: %s", err);
    ASSERT_MSG(lg_prestart(lg, dur_ms, err) == 0, "prestart: %s", err);
    ASSERT_MSG(lg_start(lg, fl_now_ns(), dur_ms, err) == 0, "lg_start: %s", err);
    struct timespec ts = { slow_at, 0 };
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    testsrv_set_delay_ms(s, delay_ms);
    ts.tv_sec = slow_s;
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    testsrv_set_delay_ms(s, 0);
    ASSERT_MSG(lg_wait(lg, 15000) == 0, "the load did not stop by itself");
    lg_stop(lg);
    char why[1200];
    ASSERT_MSG(!lg_tool_failure(lg, why, sizeof why), "a tool stopped at the end is no failure: %s", why);
    return lg;
}

void lfx_latency(json_t *o, int n, double scale, int p99)
{
    struct hist *h = malloc(sizeof *h);
    ASSERT(h != NULL);
    hist_init(h);
    for (int i = 1; i <= n; i++) {
        double u = (double)i / n;
        hist_record(h, (uint64_t)(scale * (1 + 4 * u * u * u * u) * 1e6));
    }
    json_t *a = json_array();
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        if (h->counts[b]) json_array_append_new(a, json_pack("[I, I]", (json_int_t)b, (json_int_t)h->counts[b]));
    json_object_set_new(o, "hist", a);
    json_object_set_new(o, "count", json_integer(n));
    json_object_set_new(o, "p95", json_real((double)hist_quantile(h, 0.95) / 1e6));
    if (p99) json_object_set_new(o, "p99", json_real((double)hist_quantile(h, 0.99) / 1e6));
    free(h);
}
