/* cmd_run.c -- `faultline run`: one experiment (or one per matrix combination) and its reports. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "cmd.h"
#include "contingency.h"
#include "matrix.h"
#include "plan.h"
#include "export.h"
#include "report.h"
#include "report_fmt.h"
#include "run.h"

static const char run_usage[] =
    "usage: faultline run PLAN.yaml [options]\n\n"
    "Run the experiment: steady state, load, faults on the timeline, probes, automatic\n"
    "reverts, rollback steps, reports. Exit 0 when every hypothesis, probe and threshold\n"
    "held, 1 when one failed, 2 when the plan or command line is invalid (nothing was\n"
    "touched), 3 when aborted by stop_when or a signal (after rollback), 4 when a revert\n"
    "failed (the journal names what is still broken; `faultline rollback` retries), 5 when\n"
    "nothing failed but something could not be judged: a probe, steady-state check or stop\n"
    "condition without evidence (faultline could not seed, could not reach its own probe\n"
    "target, saw no completed request); the report says why. A failure outranks it (1).\n\n"
    "options:\n"
    "  -o, --report-dir DIR  write run.json, junit.xml, summary.md, report.html here\n"
    "                        (default: faultline-runs/NAME-YYYYmmdd-HHMMSS)\n"
    "      --seed N          replay the random choices of an earlier run (run.json 'seed')\n"
    "      --var NAME=VALUE  set a plan variable (repeatable)\n"
    "      --dry-run         resolve targets (reads only) and print the timeline; touch nothing\n"
    "      --timeout D       abort (and roll back) when the run takes longer than D (e.g. 10m)\n"
    "      --journal PATH    the write-ahead journal (default $FAULTLINE_JOURNAL or\n"
    "                        .faultline/journal.jsonl): each fault's targets and their state\n"
    "                        are in it, fsync'd, before the fault acts (docs/journal.md)\n"
    "      --force           start even though the journal holds unsettled faults\n"
    "      --prometheus FILE write the final figures in Prometheus text format (textfile collector)\n"
    "      --pushgateway URL push them to a Prometheus Pushgateway, and live figures every 2 s\n"
    "                        while the run goes on (job faultline_live: rps, p95, error ratio per\n"
    "                        block, active faults, probe verdicts so far)\n"
    "      --annotate URL    POST a JSON event at each inject and revert (a Grafana annotations body)\n"
    "      --notify URL      post a Slack-compatible message with the verdict\n"
    "  -q, --quiet           no progress line, only warnings, errors and the verdict\n"
    "  -v, --verbose         debug logging\n"
    "  -h, --help            this text\n";

void cmd_default_dir(char *out, size_t outlen, const char *prefix)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(out, outlen, "faultline-runs/%s-%s", prefix, stamp);
}

static void print_row(void *self, const json_t *row)
{
    (void)self;
    struct buf b;
    buf_init(&b, 0);
    report_contingency_row_text(row, &b);
    fputs(b.data, stdout);
    fflush(stdout);
    buf_release(&b);
}

static void print_error(void *self, const char *msg)
{
    (void)self;
    fprintf(stderr, "faultline: %s\n", msg);
}

int cmd_matrix(const char *path, const char *const *vars, const struct run_opts *ro, const char *dir, json_t **rec)
{
    struct matrix_opts mo = { .path = path, .vars = vars, .ro = ro, .dir = dir, .on_row = print_row, .on_error = print_error };
    int code = matrix_run(&mo, rec);
    if (json_object_get(*rec, "matrix")) {
        struct buf b;
        buf_init(&b, 0);
        report_contingency_text(*rec, &b);
        fputs(b.data, stdout);
        buf_release(&b);
        printf("  report: %s/matrix.json, %s/contingency.md\n", dir, dir);
    }
    return code;
}

static void print_summary(json_t *rec, const char *dir)
{
    const char *verdict = json_string_value(json_object_get(rec, "verdict"));
    json_t *probes = json_object_get(rec, "probes");
    json_t *ss = json_object_get(rec, "steady_state");
    printf("\nexperiment '%s': %s\n", json_string_value(json_object_get(json_object_get(rec, "plan"), "name")),
           verdict ? verdict : "?");
    const char *reason = json_string_value(json_object_get(rec, "reason"));
    if (reason) printf("  reason: %s\n", reason);
    const char *phases[] = { "before", "after" };
    for (int k = 0; k < 2; k++) {
        json_t *arr = json_object_get(ss, phases[k]);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *p = json_array_get(arr, i);
            json_t *ob = json_array_get(json_object_get(p, "observations"), 0);
            printf("  steady state %-6s %-28s %-12s %s\n", phases[k], json_string_value(json_object_get(p, "name")),
                   json_string_value(json_object_get(p, "verdict")), ob ? json_string_value(json_object_get(ob, "observed")) : "");
        }
    }
    json_t *steps = json_object_get(rec, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        json_t *s = json_array_get(steps, i);
        const char *e = json_string_value(json_object_get(s, "error"));
        printf("  step  %-34s %s%s%s\n", json_string_value(json_object_get(s, "name")), json_string_value(json_object_get(s, "status")),
               e ? ": " : "", e ? e : "");
    }
    for (size_t i = 0; i < json_array_size(probes); i++) {
        json_t *p = json_array_get(probes, i);
        json_t *f = json_object_get(p, "failure");
        json_t *obs = json_object_get(p, "observations");
        json_t *last = json_array_get(obs, json_array_size(obs) ? json_array_size(obs) - 1 : 0);
        const char *reason = json_string_value(json_object_get(p, "reason"));
        const char *txt = f ? json_string_value(json_object_get(f, "observed"))
                        : reason ? reason
                        : last ? json_string_value(json_object_get(last, "observed")) : NULL;
        printf("  probe %-34s %-12s %s\n", json_string_value(json_object_get(p, "name")),
               json_string_value(json_object_get(p, "verdict")), txt ? txt : "");
    }
    json_t *stops = json_object_get(rec, "stop_when");
    for (size_t i = 0; i < json_array_size(stops); i++) {
        json_t *p = json_array_get(stops, i);
        const char *v = json_string_value(json_object_get(p, "verdict"));
        const char *why = json_string_value(json_object_get(p, "reason"));
        printf("  stop_when %-30s %-12s %s\n", json_string_value(json_object_get(p, "name")),
               json_is_true(json_object_get(p, "tripped")) ? "tripped" : v ? v : "?", why ? why : "");
    }
    json_t *warn = json_object_get(rec, "warnings");
    for (size_t i = 0; i < json_array_size(warn); i++) {
        json_t *w = json_array_get(warn, i);
        printf("  warning: %s%s\n", json_string_value(json_object_get(w, "message")),
               json_is_true(json_object_get(w, "confirmed")) ? " (confirmed by this run)" : "");
    }
    const char *tw = report_thresholds_word(rec);
    if (tw) printf("  load thresholds: %s\n", !strcmp(tw, "failed") ? "FAILED" : tw);
    if (dir) printf("  report: %s/run.json\n", dir);
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "report-dir", required_argument, 0, 'o' }, { "seed", required_argument, 0, 's' },
        { "var", required_argument, 0, 'V' }, { "dry-run", no_argument, 0, 'n' },
        { "timeout", required_argument, 0, 't' }, { "journal", required_argument, 0, 'j' },
        { "force", no_argument, 0, 'f' }, { "prometheus", required_argument, 0, 'P' },
        { "pushgateway", required_argument, 0, 'G' }, { "annotate", required_argument, 0, 'A' }, { "notify", required_argument, 0, 'N' }, { "quiet", no_argument, 0, 'q' }, { "verbose", no_argument, 0, 'v' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    struct run_opts ro = { 0 };
    const char *dir = NULL, *prom = NULL, *push = NULL, *notify = NULL;
    const char *vars[64];
    size_t nvars = 0;
    int c;
    char err[FL_ERR_LEN];
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 's': { char *end; ro.seed = strtoull(optarg, &end, 10); if (*end || !*optarg) { fprintf(stderr, "faultline run: --seed takes a number\n"); return FL_EXIT_INVALID; } ro.seed_set = 1; break; }
        case 'V': if (nvars < 63) vars[nvars++] = optarg; break;
        case 'n': ro.dry_run = 1; break;
        case 't': if (val_duration_ms(optarg, &ro.timeout_ms, err) < 0) { fprintf(stderr, "faultline run: --timeout: %s\n", err); return FL_EXIT_INVALID; } break;
        case 'j': ro.journal_path = optarg; break;
        case 'f': ro.ignore_journal = 1; break;
        case 'P': prom = optarg; break;
        case 'G': push = optarg; ro.live_push_url = optarg; break;
        case 'A': ro.annotate_url = optarg; break;
        case 'N': notify = optarg; break;
        case 'q': fl_log_level = FL_LOG_WARN; ro.quiet = 1; break;
        case 'v': fl_log_level = FL_LOG_DEBUG; break;
        case 'h': fputs(run_usage, stdout); return 0;
        default: fputs(run_usage, stderr); return FL_EXIT_INVALID;
        }
    }
    vars[nvars] = NULL;
    if (optind != argc - 1) { fputs(run_usage, stderr); return FL_EXIT_INVALID; }
    const char *path = argv[optind];
    struct plan *p = cmd_load_plan(path, vars, NULL);
    if (!p) return FL_EXIT_INVALID;
    char dirbuf[512];
    if (!dir) {
        cmd_default_dir(dirbuf, sizeof dirbuf, p->name);
        dir = dirbuf;
    }
    ro.report_dir = dir;
    if (!ro.dry_run) {
        /* the report folder first: services write their logs there */
        json_t *empty = json_object();
        if (report_write_all(empty, dir, err) < 0) { json_decref(empty); fprintf(stderr, "faultline: %s\n", err); plan_free(p); return FL_EXIT_INVALID; }
        json_decref(empty);
    }
    run_install_signals();
    json_t *rec = NULL;
    int code;
    if (p->nmatrix_lose && ro.dry_run) {
        code = matrix_dry_run(path, vars, &ro);
    } else if (p->nmatrix_lose) {
        code = cmd_matrix(path, vars, &ro, dir, &rec);
    } else {
        code = run_plan(p, &ro, &rec);
        if (!ro.dry_run) {
            if (report_write_all(rec, dir, err) < 0) fprintf(stderr, "faultline: %s\n", err);
            print_summary(rec, dir);
        }
    }
    /* exports warn on failure; they never change the verdict's exit code */
    if (rec && !ro.dry_run) {
        if (prom && report_prometheus(rec, prom, err) < 0) fprintf(stderr, "faultline: %s\n", err);
        if (push && report_push(rec, push, err) < 0) fprintf(stderr, "faultline: %s\n", err);
        if (notify && report_notify(rec, notify, err) < 0) fprintf(stderr, "faultline: %s\n", err);
    }
    if (ro.dry_run && code == FL_EXIT_INVALID)
        fprintf(stderr, "faultline: dry run: a target could not be resolved (see above); nothing was run\n");
    if (code == FL_EXIT_REVERT) {
        const char *j = json_string_value(json_object_get(rec, "journal"));
        fprintf(stderr, "faultline: a revert failed; what is still broken is in the journal '%s' (retry: faultline rollback %s)\n",
                j ? j : "?", j ? j : "");
    }
    json_decref(rec);
    plan_free(p);
    return code;
}
