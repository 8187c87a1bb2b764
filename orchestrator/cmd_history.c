/* cmd_history.c -- `faultline history`: the trend of drills, one line per experiment run
 * (time, verdict, p95 and its change, error rate, recovery times, regressions), then each
 * figure's trend with the band of its baseline. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "cmd.h"
#include "compare.h"
#include "history.h"
#include "report_fmt.h"

static const char history_usage[] =
    "usage: faultline history [--plan NAME] [--history FILE|URL] [options]\n\n"
    "Print the trend of the drills recorded by `faultline drill --history`: one line per\n"
    "experiment run, oldest first, with its time, verdict, p95 (and the change from the\n"
    "previous run of the same experiment), error rate, recovery times, and the regressions\n"
    "found against the baseline; then, per experiment, each judged figure over its last runs\n"
    "(oldest first) with the band of the newest run's baseline (the last passing runs it was\n"
    "compared with) and what became of it.\n\n"
    "options:\n"
    "      --plan NAME          only this plan's experiments\n"
    "      --history FILE|URL   JSON lines file or postgresql://... (default $FAULTLINE_HISTORY)\n"
    "  -n, --last N             only the last N runs\n"
    "      --json               print the entries as JSON lines instead\n"
    "  -h, --help               this text\n";

static void fmt_ms(const json_t *e, const char *key, char out[32])
{
    const json_t *v = json_object_get(e, key);
    if (json_is_number(v)) report_fmt_ms(json_number_value(v), out);
    else snprintf(out, 32, "-");
}

/* change of p95 from the previous run of the same experiment ("+12%", "-3%", "-") */
static void p95_change(const json_t *all, size_t i, char out[32])
{
    const json_t *e = json_array_get(all, i);
    const json_t *cur = json_object_get(e, "p95_ms");
    snprintf(out, 32, "-");
    if (!json_is_number(cur)) return;
    const char *exp = json_string_value(json_object_get(e, "experiment"));
    for (size_t j = i; j-- > 0;) {
        const json_t *p = json_array_get(all, j);
        const char *pe = json_string_value(json_object_get(p, "experiment"));
        if (!exp || !pe || strcmp(exp, pe) != 0) continue;
        const json_t *prev = json_object_get(p, "p95_ms");
        if (json_is_number(prev) && json_number_value(prev) > 0)
            snprintf(out, 32, "%+.0f%%", (json_number_value(cur) - json_number_value(prev)) / json_number_value(prev) * 100);
        return;
    }
}

static void recoveries(const json_t *e, struct buf *b)
{
    const json_t *recs = json_object_get(e, "recoveries");
    for (size_t i = 0; i < json_array_size(recs); i++) {
        const json_t *r = json_array_get(recs, i);
        char ms[32];
        fmt_ms(r, "ms", ms);
        const char *name = json_string_value(json_object_get(r, "probe"));
        buf_addf(b, "%s%s %s", i ? ", " : "", name ? name : "?",
                 json_is_number(json_object_get(r, "ms")) ? ms : "not recovered");
    }
    if (!b->len) buf_adds(b, "-");
}

#define TREND_RUNS 6

/* the value of a figure in an entry's record, NAN when it has none */
static double figure_in(const json_t *e, const char *figure)
{
    json_t *figs = cmp_figures(json_object_get(e, "record"));
    double v = NAN;
    for (size_t i = 0; i < json_array_size(figs); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(figs, i), "figure")), figure))
            v = report_jnum(json_array_get(figs, i), "value", NAN);
    json_decref(figs);
    return v;
}

/* per experiment: each figure's last runs, oldest first, and the band of the newest run's
 * baseline with what became of the figure against it */
static void trends(const json_t *all, size_t from)
{
    size_t n = json_array_size(all);
    for (size_t i = from; i < n; i++) {
        const json_t *e = json_array_get(all, i);
        const char *exp = report_jstr(e, "experiment", "?");
        int later = 0;   /* the newest entry of each experiment speaks for it */
        for (size_t j = i + 1; j < n && !later; j++) later = !strcmp(report_jstr(json_array_get(all, j), "experiment", ""), exp);
        if (later) continue;
        const json_t *runs[TREND_RUNS];
        size_t nr = 0;
        for (size_t j = i + 1; j-- > from && nr < TREND_RUNS;)
            if (!strcmp(report_jstr(json_array_get(all, j), "experiment", ""), exp)) runs[nr++] = json_array_get(all, j);
        json_t *figs = cmp_figures(json_object_get(e, "record"));
        const json_t *rows = json_object_get(e, "comparison"), *base = json_object_get(e, "baseline");
        if (!json_array_size(figs)) { json_decref(figs); continue; }
        printf("\n'%s': the last %zu run%s, oldest first; the band of the newest one's baseline", exp, nr, nr == 1 ? "" : "s");
        if (json_is_object(base) && json_is_integer(json_object_get(base, "runs")))
            printf(" (%lld passing run%s)\n", (long long)json_integer_value(json_object_get(base, "runs")),
                   json_integer_value(json_object_get(base, "runs")) == 1 ? "" : "s");
        else printf(" (none: %s)\n", json_is_object(base) ? "an entry written before baselines" : "no earlier passing run");
        for (size_t k = 0; k < json_array_size(figs); k++) {
            const json_t *f = json_array_get(figs, k);
            const char *name = report_jstr(f, "figure", "?");
            struct cmp_row row = { .unit = report_jstr(f, "unit", "") };
            struct buf b;
            buf_init(&b, 0);
            buf_addf(&b, "  %-44.44s ", name);
            for (size_t r = nr; r-- > 0;) {
                char v[48];
                cmp_value_text(&row, figure_in(runs[r], name), v);
                buf_addf(&b, " %9s", v);
            }
            for (size_t r = 0; r < json_array_size(rows); r++) {
                const json_t *c = json_array_get(rows, r);
                if (strcmp(report_jstr(c, "figure", ""), name)) continue;
                const json_t *band = json_object_get(c, "band");
                char lo[48], hi[48];
                cmp_value_text(&row, json_is_number(json_array_get(band, 0)) ? json_number_value(json_array_get(band, 0)) : NAN, lo);
                cmp_value_text(&row, json_is_number(json_array_get(band, 1)) ? json_number_value(json_array_get(band, 1)) : NAN, hi);
                buf_addf(&b, "   band %s..%s  %s %s", lo, hi, report_jstr(c, "change", "-"),
                         json_is_true(json_object_get(c, "regressed")) ? "REGRESSION" : report_jstr(c, "why", ""));
            }
            puts(b.data);
            buf_release(&b);
        }
        json_decref(figs);
    }
}

int cmd_history(int argc, char **argv)
{
    static const struct option opts[] = {
        { "plan", required_argument, 0, 'p' }, { "history", required_argument, 0, 'H' },
        { "last", required_argument, 0, 'n' }, { "json", no_argument, 0, 'J' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 } };
    const char *plan = NULL, *where = getenv("FAULTLINE_HISTORY");
    long last = 0;
    int as_json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': plan = optarg; break;
        case 'H': where = optarg; break;
        case 'n': {
            char *end;
            last = strtol(optarg, &end, 10);
            if (*end || last <= 0) { fprintf(stderr, "faultline history: --last takes a positive number\n"); return FL_EXIT_INVALID; }
            break;
        }
        case 'J': as_json = 1; break;
        case 'h': fputs(history_usage, stdout); return 0;
        default: fputs(history_usage, stderr); return FL_EXIT_INVALID;
        }
    }
    if (optind != argc) { fputs(history_usage, stderr); return FL_EXIT_INVALID; }
    if (!where || !*where) {
        fprintf(stderr, "faultline history: give --history FILE|URL (or set FAULTLINE_HISTORY)\n");
        return FL_EXIT_INVALID;
    }
    char err[FL_ERR_LEN];
    struct history *h = history_open(where, err);
    if (!h) { fprintf(stderr, "faultline history: %s\n", err); return FL_EXIT_INVALID; }
    json_t *all = history_read(h, plan, err);
    if (!all) {
        fprintf(stderr, "faultline history: %s\n", err);
        history_close(h);
        return FL_EXIT_INVALID;
    }
    size_t n = json_array_size(all), from = last && (size_t)last < n ? n - (size_t)last : 0;
    if (as_json) {
        for (size_t i = from; i < n; i++) {
            char *line = json_dumps(json_array_get(all, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (line) puts(line);
            free(line);
        }
    } else if (!n) {
        printf("history '%s': no runs%s%s%s recorded\n", history_where(h), plan ? " of '" : "", plan ? plan : "", plan ? "'" : "");
    } else {
        printf("history '%s': %zu run%s%s%s%s\n", history_where(h), n, n == 1 ? "" : "s", plan ? " of '" : "", plan ? plan : "",
               plan ? "'" : "");
        int w = 10;
        for (size_t i = from; i < n; i++) {
            const char *exp = json_string_value(json_object_get(json_array_get(all, i), "experiment"));
            if (exp && (int)strlen(exp) > w) w = (int)strlen(exp);
        }
        if (w > 48) w = 48;
        printf("%-24s  %-*s  %-13s  %-9s  %-6s  %-10s  %-10s  %s\n", "time (UTC)", w, "experiment", "verdict", "p95", "change",
               "worst p95", "error rate", "recovery / regressions");
        for (size_t i = from; i < n; i++) {
            const json_t *e = json_array_get(all, i);
            char p95[32], worst[32], change[32], rate[32];
            fmt_ms(e, "p95_ms", p95);
            fmt_ms(e, "worst_p95_ms", worst);
            p95_change(all, i, change);
            const json_t *er = json_object_get(e, "error_rate");
            if (json_is_number(er)) snprintf(rate, sizeof rate, "%.2f%%", json_number_value(er) * 100);
            else snprintf(rate, sizeof rate, "-");
            struct buf rb;
            buf_init(&rb, 0);
            recoveries(e, &rb);
            const json_t *regs = json_object_get(e, "regressions");
            for (size_t k = 0; k < json_array_size(regs); k++) {
                const char *t = json_string_value(json_object_get(json_array_get(regs, k), "text"));
                buf_addf(&rb, "%s%s", k ? "; " : "  REGRESSION: ", t ? t : "?");
            }
            const char *exp = json_string_value(json_object_get(e, "experiment"));
            const char *verdict = json_string_value(json_object_get(e, "verdict"));
            const char *time = json_string_value(json_object_get(e, "time"));
            printf("%-24.24s  %-*.*s  %-13s  %-9s  %-6s  %-10s  %-10s  %s\n", time ? time : "?", w, w, exp ? exp : "?",
                   verdict ? verdict : "?", p95, change, worst, rate, rb.data);
            buf_release(&rb);
        }
        trends(all, from);
    }
    json_decref(all);
    history_close(h);
    return 0;
}
