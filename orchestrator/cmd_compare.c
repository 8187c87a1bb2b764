/* cmd_compare.c -- `faultline compare BASE.json CURRENT.json`: flag regressions between two
 * runs of an experiment with the seeds' rules, each overridable (see reports/compare.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "compare.h"
#include "fl.h"

static const char compare_usage[] =
    "usage: faultline compare BASE.json CURRENT.json [--p95 10%] [--duration 10%]\n"
    "                         [--throughput 10%] [--memory 15%]\n\n"
    "Compare two run records (run.json) of the same experiment and flag regressions:\n"
    "  --p95 P          a load block's or endpoint's p95 latency grew by more than P (10%)\n"
    "  --duration P     the run, or a recovery probe's time to recover, took more than P\n"
    "                   longer (10%); a recovery that no longer happens is a regression\n"
    "  --throughput P   a load block's requests per second fell by more than P (10%)\n"
    "  --memory P       a figure under run.json's \"memory\" object grew by more than P (15%);\n"
    "                   skipped, with a note, when a record has none\n"
    "  -h, --help       this text\n"
    "P is a percentage (\"10%\" or \"10\"). A change beyond the rule is a regression only when\n"
    "it is real:\n"
    "  enough requests   a p95 needs 20 requests beyond its rank on both sides (400 requests);\n"
    "                    below, \"too few requests to compare\" (neither regression nor ok)\n"
    "  significant       p95: the 99% confidence intervals of the two runs' p95 (order\n"
    "                    statistics of run.json's latency histograms) do not overlap, and\n"
    "                    with 5+ seconds a side the per-second p95 are higher (Mann-Whitney\n"
    "                    U, p < 0.01: a burst of machine load slows a few seconds, not all);\n"
    "                    throughput: Mann-Whitney U on the per-second throughput, p < 0.01;\n"
    "                    a duration or memory figure is one value a run: with two records it\n"
    "                    is reported \"not tested\" (a drill's baseline of 3+ runs tests it)\n"
    "  over a floor      1 ms of latency, 100 ms of duration, 1 request/s\n"
    "A recovery that no longer happens is a regression. p99 and error rate are for context.\n"
    "Exit 0 when nothing regressed, 1 on a regression, 5 when nothing regressed but a figure could\n"
    "not be judged (too few requests, beyond the rule but not tested, or inconclusive in a run),\n"
    "2 when an input cannot be read.\n";

/* "BASE     runs/a/run.json: 'checkout' passed, 2026-11-27T07:14:47Z" */
static void describe(const char *label, const char *path, const json_t *r)
{
    const json_t *plan = json_object_get(r, "plan");
    const char *name = json_string_value(json_object_get(plan, "name"));
    const char *verdict = json_string_value(json_object_get(r, "verdict"));
    const char *at = json_string_value(json_object_get(r, "started_at"));
    printf("%-8s %s: '%s' %s, started %s\n", label, path, name ? name : "?", verdict ? verdict : "no verdict", at ? at : "-");
}

static json_t *load_record(const char *path)
{
    json_error_t jerr;
    json_t *r = json_load_file(path, 0, &jerr);
    if (!r) fprintf(stderr, "faultline: cannot read the run record '%s': %s (line %d)\n", path, jerr.text, jerr.line);
    return r;
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        { "p95", required_argument, 0, 'p' },
        { "duration", required_argument, 0, 'd' },
        { "throughput", required_argument, 0, 't' },
        { "memory", required_argument, 0, 'm' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    struct cmp_rules rules;
    cmp_rules_default(&rules);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        double *slot = c == 'p' ? &rules.p95 : c == 'd' ? &rules.duration : c == 't' ? &rules.throughput
                     : c == 'm' ? &rules.memory : NULL;
        if (c == 'h') { fputs(compare_usage, stdout); return 0; }
        if (!slot) { fputs(compare_usage, stderr); return FL_EXIT_INVALID; }
        if (cmp_parse_pct(optarg, slot) < 0) {
            fprintf(stderr, "faultline: compare: '%s' is not a percentage (e.g. 10%%)\n", optarg);
            return FL_EXIT_INVALID;
        }
    }
    if (argc - optind != 2) { fputs(compare_usage, stderr); return FL_EXIT_INVALID; }
    json_t *base = load_record(argv[optind]);
    json_t *cur = base ? load_record(argv[optind + 1]) : NULL;
    if (!base || !cur) { json_decref(base); return FL_EXIT_INVALID; }
    struct cmp_result res;
    char err[FL_ERR_LEN];
    if (cmp_runs(base, cur, &rules, &res, err) < 0) {
        fprintf(stderr, "faultline: compare: %s\n", err);
        cmp_release(&res);
        json_decref(base);
        json_decref(cur);
        return FL_EXIT_INVALID;
    }
    describe("BASE", argv[optind], base);
    describe("CURRENT", argv[optind + 1], cur);
    putchar('\n');
    struct buf out;
    buf_init(&out, 0);
    cmp_format(&res, &out);
    fputs(out.data, stdout);
    fflush(stdout);
    buf_release(&out);
    json_decref(base);
    json_decref(cur);
    int regressions = res.regressions, undecided = cmp_undecided(&res);
    cmp_release(&res);
    /* a figure that could not be judged (too few requests, nothing to test a change beyond
     * the rule on, inconclusive in a run): neither a regression nor a pass */
    return regressions ? FL_EXIT_FAILED : undecided ? FL_EXIT_INCONCLUSIVE : FL_EXIT_OK;
}
