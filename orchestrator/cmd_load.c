/* cmd_load.c -- `faultline load`: run only the load of a plan and print a k6-like summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd.h"
#include "fl.h"
#include "load.h"
#include "plan.h"
#include "run.h"
#include "value.h"

static const char load_usage[] =
    "usage: faultline load PLAN.yaml [--load NAME] [--duration D] [options]\n\n"
    "Run the plan's load: blocks (only the load: no faults, probes or services) against\n"
    "the service, then print per-endpoint and total counts, rates, latency percentiles and\n"
    "errors by class, and each block's thresholds.\n\n"
    "options:\n"
    "      --load NAME       run only this load block\n"
    "      --duration D      how long (default: the plan's duration), like 30s or 2m\n"
    "      --var NAME=VALUE  set a plan variable\n"
    "      --seed N          seed of the request mix and think times\n"
    "      --json FILE       also write the full metrics (per-second series) as JSON\n"
    "  -q, --quiet           no progress lines on stderr\n\n"
    "Exit: 0 every threshold held, 1 one failed, 2 invalid plan or options, 3 interrupted,\n"
    "5 a threshold could not be judged (no request of its block completed).\n";

static void fmt_ms(char out[16], double ms, uint64_t count)
{
    if (!count) snprintf(out, 16, "-");
    else if (ms < 1) snprintf(out, 16, "%.2fms", ms);
    else if (ms < 1000) snprintf(out, 16, "%.1fms", ms);
    else snprintf(out, 16, "%.2fs", ms / 1000);
}

static void print_row(const char *name, int width, const struct lg_stats *s)
{
    char p50[16], p90[16], p95[16], p99[16], mx[16];
    fmt_ms(p50, s->p50, s->count);
    fmt_ms(p90, s->p90, s->count);
    fmt_ms(p95, s->p95, s->count);
    fmt_ms(p99, s->p99, s->count);
    fmt_ms(mx, s->max, s->count);
    printf("  %-*.*s %9llu %9.1f %9s %9s %9s %9s %9s %8llu %6.2f%%\n", width, width, name,
           (unsigned long long)s->count, s->rps, p50, p90, p95, p99, mx, (unsigned long long)s->errors,
           s->error_rate * 100);
}

static void print_header(int width)
{
    printf("  %-*s %9s %9s %9s %9s %9s %9s %9s %8s %7s\n", width, "endpoint", "count", "rps", "p50", "p90", "p95",
           "p99", "max", "errors", "rate");
}

static void print_errors(const struct lg_stats *s)
{
    printf("  errors: connect %llu, timeout %llu, 4xx %llu, 5xx %llu, other %llu\n",
           (unsigned long long)s->err_connect, (unsigned long long)s->err_timeout, (unsigned long long)s->err_4xx,
           (unsigned long long)s->err_5xx, (unsigned long long)s->err_other);
}

static void print_block(struct lg *lg, json_t *bj, int64_t el)
{
    const char *name = json_string_value(json_object_get(bj, "name"));
    printf("\nload '%s': %s\n", name, json_string_value(json_object_get(bj, "description")));
    int width = 8;
    size_t neps = lg_nendpoints(lg, name);
    for (size_t i = 0; i < neps; i++) {
        int l = (int)strlen(lg_endpoint_name(lg, name, i));
        if (l > width) width = l;
    }
    if (width > 44) width = 44;
    print_header(width);
    for (size_t i = 0; i < neps; i++) {
        struct lg_stats es;
        lg_query_endpoint(lg, name, i, &es);
        print_row(lg_endpoint_name(lg, name, i), width, &es);
    }
    struct lg_stats st;
    lg_query(lg, name, 0, el, &st);
    print_row("total", width, &st);
    print_errors(&st);
    json_int_t dropped = json_integer_value(json_object_get(bj, "dropped"));
    json_int_t interrupted = json_integer_value(json_object_get(bj, "interrupted"));
    json_int_t logins = json_integer_value(json_object_get(bj, "logins"));
    if (dropped || interrupted || logins)
        printf("  logins %lld, dropped arrivals %lld (counted as errors), in flight at the end %lld (not counted)\n",
               (long long)logins, (long long)dropped, (long long)interrupted);
    json_t *th = json_object_get(bj, "thresholds");
    if (json_array_size(th)) {
        printf("  thresholds:\n");
        size_t i;
        json_t *t;
        json_array_foreach(th, i, t) {
            const char *metric = json_string_value(json_object_get(t, "metric"));
            double v = json_number_value(json_object_get(t, "value"));
            char val[32];
            if (!strcmp(metric, "error_rate")) snprintf(val, sizeof val, "%.2f%%", v * 100);
            else if (!strcmp(metric, "rps")) snprintf(val, sizeof val, "%.1f/s", v);
            else if (!strcmp(metric, "count") || !strcmp(metric, "errors")) snprintf(val, sizeof val, "%.0f", v);
            else fmt_ms(val, v, st.count);
            printf("    %s %-28s %s=%s\n", json_is_true(json_object_get(t, "ok")) ? "\u2713" : "\u2717",
                   json_string_value(json_object_get(t, "expect")), metric, val);
        }
    }
}

static void progress(struct lg *lg, int64_t el)
{
    for (size_t i = 0; i < lg_nblocks(lg); i++) {
        const char *name = lg_block_at(lg, i);
        struct lg_stats st;
        lg_query(lg, name, el - 5000, el, &st);
        char p95[16];
        fmt_ms(p95, st.p95, st.count);
        fl_log(FL_LOG_INFO, "[%6.1fs] %s: %.1f req/s, p95 %s, errors %.2f%% (last 5 s)", el / 1000.0, name, st.rps,
               p95, st.error_rate * 100);
    }
}

/* every block's figures (and all blocks' when there are several), the thresholds' verdict;
 * the blocks as JSON, the exit code in *rc */
static json_t *report(struct lg *lg, struct lg_block_cfg **blocks, size_t nblocks, int64_t el, int aborted, int *rc)
{
    json_t *j = lg_to_json(lg);
    size_t i;
    json_t *bj;
    json_array_foreach(j, i, bj) print_block(lg, bj, el);
    if (nblocks > 1) {
        struct lg_stats all;
        lg_query(lg, NULL, 0, el, &all);
        printf("\nall blocks:\n");
        print_header(8);
        print_row("total", 8, &all);
        print_errors(&all);
    }
    int ok = lg_thresholds_ok(lg), none = 0;
    for (size_t b = 0; b < nblocks; b++) none |= lg_thresholds_without_evidence(lg, lg_block_name(blocks[b]));
    printf("\n%.1fs of load%s; thresholds %s\n", el / 1000.0, aborted ? " (interrupted)" : "",
           !ok ? "FAILED" : none ? "not judged (no request completed: inconclusive)" : "held");
    *rc = aborted ? FL_EXIT_ABORTED : !ok ? FL_EXIT_FAILED : none ? FL_EXIT_INCONCLUSIVE : FL_EXIT_OK;
    return j;
}

int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        { "load", required_argument, 0, 'l' }, { "duration", required_argument, 0, 'd' },
        { "var", required_argument, 0, 'V' },  { "seed", required_argument, 0, 's' },
        { "json", required_argument, 0, 'j' }, { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },       { 0, 0, 0, 0 } };
    const char *only = NULL, *json_path = NULL, *vars[64];
    size_t nvars = 0;
    int64_t duration_ms = 0;
    uint64_t seed = 0;
    int seed_set = 0, quiet = 0, c;
    char err[FL_ERR_LEN];
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'l': only = optarg; break;
        case 'd':
            if (val_duration_ms(optarg, &duration_ms, err) < 0 || duration_ms <= 0) {
                fprintf(stderr, "faultline load: --duration: %s\n", duration_ms <= 0 ? "must be above 0" : err);
                return FL_EXIT_INVALID;
            }
            break;
        case 'V':
            if (nvars < 63) vars[nvars++] = optarg;
            break;
        case 's': {
            char *end;
            seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg) { fprintf(stderr, "faultline load: --seed takes a number\n"); return FL_EXIT_INVALID; }
            seed_set = 1;
            break;
        }
        case 'j': json_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(load_usage, stdout); return 0;
        default: fputs(load_usage, stderr); return FL_EXIT_INVALID;
        }
    }
    vars[nvars] = NULL;
    if (optind != argc - 1) { fputs(load_usage, stderr); return FL_EXIT_INVALID; }
    struct plan *p = cmd_load_plan(argv[optind], vars, NULL);
    if (!p) return FL_EXIT_INVALID;

    struct lg_block_cfg **blocks = p->loads;
    size_t nblocks = p->nloads;
    struct lg_block_cfg *sel = NULL;
    if (only) {
        sel = plan_load_block(p, only);
        if (!sel) {
            fprintf(stderr, "faultline load: '%s' has no load block named '%s'\n", argv[optind], only);
            plan_free(p);
            return FL_EXIT_INVALID;
        }
        blocks = &sel;
        nblocks = 1;
    }
    if (!nblocks) {
        fprintf(stderr, "faultline load: '%s' has no load: section\n", argv[optind]);
        plan_free(p);
        return FL_EXIT_INVALID;
    }
    if (!duration_ms) duration_ms = p->duration_ms;
    if (!duration_ms)
        for (size_t i = 0; i < nblocks; i++)
            if (lg_block_duration_ms(blocks[i]) > duration_ms) duration_ms = lg_block_duration_ms(blocks[i]);
    if (duration_ms <= 0) {
        fprintf(stderr, "faultline load: no duration: give --duration or the plan's duration:\n");
        plan_free(p);
        return FL_EXIT_INVALID;
    }
    if (!seed_set) seed = p->seed_set ? p->seed : (uint64_t)time(NULL) ^ ((uint64_t)fl_now_ns() << 16);

    run_install_signals();
    struct lg *lg = lg_new(blocks, nblocks, seed, err);
    int64_t t0 = fl_now_ns();
    if (!lg || lg_start(lg, t0, duration_ms, err) < 0) {
        fprintf(stderr, "faultline load: %s\n", err);
        lg_free(lg);
        plan_free(p);
        return FL_EXIT_FAILED;
    }
    char dur[32];
    val_fmt_duration(duration_ms, dur);
    if (!quiet) fl_log(FL_LOG_INFO, "load of '%s' for %s (seed %llu)", p->name, dur, (unsigned long long)seed);
    int64_t next_progress = 5000;
    while (lg_running(lg)) {
        if (fl_sleep_ms(200) < 0) break;
        int64_t el = lg_elapsed_ms(lg);
        if (!quiet && el >= next_progress && lg_running(lg)) {
            progress(lg, el);
            next_progress += 5000;
        }
    }
    lg_stop(lg);
    int aborted = fl_aborted();
    int64_t el = lg_elapsed_ms(lg);

    int rc;
    json_t *j = report(lg, blocks, nblocks, el, aborted, &rc);
    if (json_path) {
        json_t *doc = json_pack("{s:s, s:I, s:I, s:o}", "plan", p->name, "seed", (json_int_t)seed, "elapsed_ms",
                                (json_int_t)el, "load", j);
        j = NULL;
        if (json_dump_file(doc, json_path, JSON_INDENT(1)) < 0) {
            fprintf(stderr, "faultline load: cannot write '%s'\n", json_path);
            if (rc == FL_EXIT_OK) rc = FL_EXIT_FAILED;
        }
        json_decref(doc);
    }
    json_decref(j);
    lg_free(lg);
    plan_free(p);
    return rc;
}
