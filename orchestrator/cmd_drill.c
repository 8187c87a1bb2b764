/* cmd_drill.c -- `faultline drill`: a suite of plans run in order (a scheduled disaster-
 * recovery drill), each report in its own folder, a suite summary (JUnit, Markdown, JSON),
 * every result appended to a history and compared with its last passing run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "cmd.h"
#include "compare.h"
#include "figures.h"
#include "files.h"
#include "history.h"
#include "plan.h"
#include "report.h"
#include "report_fmt.h"
#include "run.h"
#include "suite.h"

#define DRILL_MAX_PLANS 256
#define DRILL_MAX_VARS 64

static const char drill_usage[] =
    "usage: faultline drill PLAN_OR_DIR... [options]\n\n"
    "Run a suite of experiments in order, as a scheduled disaster-recovery drill: every plan\n"
    "given (a folder means its *.yaml files, sorted by name) is validated first (one invalid\n"
    "plan: exit 2, nothing is touched), then run like `faultline run` (a matrix plan runs all\n"
    "its combinations). Reports go to DIR/<plan-name>/; the suite summary to DIR/suite.junit.xml\n"
    "(every experiment), DIR/suite.md, DIR/suite.html (a page linking each report.html) and\n"
    "DIR/suite.json. With a history, every result is\n"
    "appended to it and compared with the last 5 passing runs of the same experiment (their\n"
    "usual range: the median -+ 3 robust standard deviations, within lowest..highest) with the\n"
    "rules of `faultline compare`: p95 or a duration (the run, a recovery) more than 10% above\n"
    "the range, throughput more than 10% below it, memory more than 15% above it is a\n"
    "regression (exit 1) when the change is also statistically significant (p < 0.01) and\n"
    "rests on enough requests (p95: 400 a run); see `faultline compare --help`. A lock file\n"
    "keeps two drills from overlapping: the second exits 2 at once.\n"
    "Exit code: the worst of the experiments (4 a revert failed, 3 aborted, 2 invalid,\n"
    "1 failed or regressed, 5 inconclusive: nothing failed but something had no evidence,\n"
    "0 held); the drill stops after an abort or a failed revert.\n\n"
    "options:\n"
    "  -o, --report-dir DIR      the drill's folder (default faultline-runs/drill-YYYYmmdd-HHMMSS)\n"
    "      --history FILE|URL    JSON lines file, or postgresql://... (table faultline_history,\n"
    "                            created when missing); default $FAULTLINE_HISTORY, none if unset\n"
    "      --p95 P, --duration P, --throughput P, --memory P\n"
    "                            change a compare rule (a percentage, as in faultline compare)\n"
    "      --baseline K          compare with the last K passing runs (default 5)\n"
    "      --lock PATH           lock file (default: .faultline-drill.lock next to DIR)\n"
    "      --var NAME=VALUE      set a plan variable in every plan (repeatable)\n"
    "      --timeout D           abort an experiment that takes longer than D (e.g. 10m)\n"
    "      --journal PATH        journal file (default $FAULTLINE_JOURNAL or .faultline/journal.jsonl)\n"
    "      --force               start even though the journal holds unreverted faults\n"
    "  -q, --quiet               only errors and the verdicts\n"
    "  -v, --verbose             debug logging\n"
    "  -h, --help                this text\n";

/* ---- small helpers ------------------------------------------------------------------- */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* expand the arguments: a folder is its *.yaml / *.yml files sorted by name */
static int collect_plans(char **args, int nargs, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        if (stat(args[i], &st) < 0) {
            fprintf(stderr, "faultline drill: cannot read '%s': %s\n", args[i], strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            *out = fl_realloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = fl_strdup(args[i]);
            continue;
        }
        DIR *d = opendir(args[i]);
        if (!d) { fprintf(stderr, "faultline drill: cannot list '%s': %s\n", args[i], strerror(errno)); return -1; }
        char **names = NULL;
        size_t nn = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.' || !(has_suffix(de->d_name, ".yaml") || has_suffix(de->d_name, ".yml"))) continue;
            names = fl_realloc(names, (nn + 1) * sizeof *names);
            names[nn++] = fl_strdup(de->d_name);
        }
        closedir(d);
        if (!nn) fprintf(stderr, "faultline drill: '%s' holds no *.yaml plan\n", args[i]);
        qsort(names, nn, sizeof *names, cmp_str);
        const char *sep = has_suffix(args[i], "/") ? "" : "/";
        for (size_t k = 0; k < nn; k++) {
            *out = fl_realloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = fl_asprintf("%s%s%s", args[i], sep, names[k]);
            free(names[k]);
        }
        free(names);
        if (!nn) return -1;
    }
    if (*n > DRILL_MAX_PLANS) { fprintf(stderr, "faultline drill: %zu plans; at most %d\n", *n, DRILL_MAX_PLANS); return -1; }
    return 0;
}

/* take the drill lock without waiting; the fd stays open (and locked) until exit */
static int take_lock(const char *path, char *err)
{
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) { *slash = '\0'; files_mkdir_p(parent); }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return fl_err(err, "cannot open the drill lock '%s': %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        char holder[32] = "";
        ssize_t r = pread(fd, holder, sizeof holder - 1, 0);
        holder[r > 0 ? r : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return fl_err(err, "another drill holds the lock '%s'%s%s%s; nothing was run", path, holder[0] ? " (pid " : "",
                          holder, holder[0] ? ")" : "");
        return fl_err(err, "cannot lock '%s': %s", path, strerror(e));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        fl_log(FL_LOG_WARN, "drill lock '%s': cannot record the pid: %s", path, strerror(errno));
    return fd;
}

static char *default_lock(const char *dir)
{
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    size_t l = strlen(d);
    while (l > 1 && d[l - 1] == '/') d[--l] = '\0';
    char *slash = strrchr(d, '/');
    if (!slash) return fl_strdup(".faultline-drill.lock");
    if (slash == d) return fl_strdup("/.faultline-drill.lock");
    *slash = '\0';
    return fl_asprintf("%s/.faultline-drill.lock", d);
}

/* ---- one experiment's entry ---------------------------------------------------------- */
static const char *figure_keys[] = { "p95_ms", "worst_p95_ms", "error_rate", "requests", "rps", "recovery_ms",
                                     "recovered", "recovery_inconclusive", "recoveries", NULL };

static json_t *entry_new(const char *dir, const char *plan, const char *experiment, const char *hash, const char *report)
{
    char now[32];
    fl_iso8601(fl_wall(), now);
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s}", "time", now, "drill", dir, "plan", plan, "experiment",
                     experiment, "plan_hash", hash, "report", report);
}

static json_t *entry_of_run(const char *dir, const char *plan, const json_t *rec, int rc, const char *report)
{
    json_t *e = entry_new(dir, plan, plan, report_jstr(json_object_get(rec, "plan"), "hash", NULL), report);
    if (json_is_string(json_object_get(rec, "started_at"))) json_object_set(e, "time", json_object_get(rec, "started_at"));
    json_object_set_new(e, "verdict", json_string(report_jstr(rec, "verdict", fl_exit_verdict(rc))));
    json_object_set_new(e, "exit_code", json_integer(rc));
    if (json_object_get(rec, "seed")) json_object_set(e, "seed", json_object_get(rec, "seed"));
    char *why = report_why(rec);
    json_object_set_new(e, "why", json_string(why));
    free(why);
    report_figures(rec, e);
    if (rec) json_object_set_new(e, "record", history_digest(rec));
    return e;
}

static json_t *entry_of_row(const char *dir, const char *plan, const json_t *mrec, const json_t *row)
{
    char *exp = fl_asprintf("%s/lose-%s", plan, report_jstr(row, "lose", "?"));
    json_t *e = entry_new(dir, plan, exp, report_jstr(json_object_get(mrec, "plan"), "hash", NULL), report_jstr(row, "report", ""));
    free(exp);
    if (json_is_string(json_object_get(row, "started_at"))) json_object_set(e, "time", json_object_get(row, "started_at"));
    const char *keys[] = { "verdict", "exit_code", "seed", "lost", "why", NULL };
    for (size_t i = 0; keys[i]; i++)
        if (json_object_get(row, keys[i])) json_object_set(e, keys[i], json_object_get(row, keys[i]));
    for (size_t i = 0; figure_keys[i]; i++)
        if (json_object_get(row, figure_keys[i])) json_object_set(e, figure_keys[i], json_object_get(row, figure_keys[i]));
    /* what compare judges comes from the combination's own run.json */
    char path[1200];
    snprintf(path, sizeof path, "%s/run.json", report_jstr(row, "report", "."));
    json_t *run = strcmp(report_jstr(row, "verdict", ""), "not_run") ? json_load_file(path, 0, NULL) : NULL;
    if (run) json_object_set_new(e, "record", history_digest(run));
    json_decref(run);
    return e;
}

/* history: compare with the last passing run, then append; returns the experiment's code
 * for the drill (a regression or a history that cannot be written makes it at least 1) */
static int record_entry(struct history *h, const struct cmp_rules *rules, size_t nbase, json_t *e)
{
    int code = (int)json_integer_value(json_object_get(e, "exit_code"));
    if (!h) return code;
    char err[FL_ERR_LEN];
    json_t *bases = history_baseline(h, report_jstr(e, "experiment", "?"), nbase, err);
    if (!bases) {
        fprintf(stderr, "faultline drill: %s\n", err);
        return fl_exit_worse(code, FL_EXIT_FAILED);
    }
    json_t *rows = NULL;
    json_t *regs = history_compare_baseline(bases, e, rules, &rows);
    json_object_set_new(e, "regressions", regs);
    json_object_set_new(e, "comparison", rows);
    size_t n = json_array_size(bases);
    const json_t *newest = n ? json_array_get(bases, n - 1) : NULL;
    /* time and report: the newest baseline run; runs and since: the band's extent */
    json_object_set_new(e, "baseline", newest ? json_pack("{s:O?, s:O?, s:O?, s:I, s:O?}", "time", json_object_get(newest, "time"),
                                                          "report", json_object_get(newest, "report"), "p95_ms",
                                                          json_object_get(newest, "p95_ms"), "runs", (json_int_t)n, "since",
                                                          json_object_get(json_array_get(bases, 0), "time"))
                                              : json_null());
    json_decref(bases);
    if (history_append(h, e, err) < 0) {
        fprintf(stderr, "faultline drill: %s\n", err);
        code = fl_exit_worse(code, FL_EXIT_FAILED);
    }
    if (json_array_size(regs)) code = fl_exit_worse(code, FL_EXIT_FAILED);
    return code;
}

static void print_entry(const json_t *e)
{
    struct buf b;
    buf_init(&b, 0);
    report_suite_entry_text(e, &b);
    fputs(b.data, stdout);
    buf_release(&b);
}

/* ---- the drill ------------------------------------------------------------------------- */
struct drill {
    struct run_opts ro;
    struct cmp_rules rules;
    size_t nbase;                          /* baseline runs (--baseline) */
    const char *dir, *hist_where, *lock_path;
    const char *vars[DRILL_MAX_VARS + 1];
    size_t nvars;
    char **paths, **names;                 /* the plans, and their names */
    int *is_matrix;
    size_t npaths;
    struct history *h;
    int lock_fd;
    char *lock_default;
    char dirbuf[512];
    char started[32];
    json_t *exps, *matrices, *plans;       /* the suite record's lists */
    int code, stopped;
};

/* the options: 0 to go on, or -1 to exit with *code (--help, a bad option) */
static int drill_options(struct drill *d, int argc, char **argv, int *code)
{
    static const struct option opts[] = {
        { "report-dir", required_argument, 0, 'o' }, { "history", required_argument, 0, 'H' },
        { "p95", required_argument, 0, 'P' }, { "duration", required_argument, 0, 'D' },
        { "throughput", required_argument, 0, 'R' }, { "memory", required_argument, 0, 'M' },
        { "lock", required_argument, 0, 'L' }, { "baseline", required_argument, 0, 'B' },
        { "var", required_argument, 0, 'V' }, { "timeout", required_argument, 0, 't' },
        { "journal", required_argument, 0, 'j' }, { "force", no_argument, 0, 'f' },
        { "quiet", no_argument, 0, 'q' }, { "verbose", no_argument, 0, 'v' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 } };
    char err[FL_ERR_LEN];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': d->dir = optarg; break;
        case 'H': d->hist_where = optarg; break;
        case 'P': case 'D': case 'R': case 'M': {
            struct cmp_rules *r = &d->rules;
            double *rule = c == 'P' ? &r->p95 : c == 'D' ? &r->duration : c == 'R' ? &r->throughput : &r->memory;
            if (cmp_parse_pct(optarg, rule) < 0) {
                fprintf(stderr, "faultline drill: '%s' is not a percentage (e.g. 10%%)\n", optarg);
                return *code = FL_EXIT_INVALID, -1;
            }
            break;
        }
        case 'L': d->lock_path = optarg; break;
        case 'B': {
            char *end;
            long k = strtol(optarg, &end, 10);
            if (end == optarg || *end || k < 1 || k > 100) {
                fprintf(stderr, "faultline drill: --baseline '%s': give a number of runs from 1 to 100\n", optarg);
                return *code = FL_EXIT_INVALID, -1;
            }
            d->nbase = (size_t)k;
            break;
        }
        case 'V':
            if (d->nvars == DRILL_MAX_VARS) { fprintf(stderr, "faultline drill: at most %d --var\n", DRILL_MAX_VARS); return *code = FL_EXIT_INVALID, -1; }
            d->vars[d->nvars++] = optarg;
            break;
        case 't': if (val_duration_ms(optarg, &d->ro.timeout_ms, err) < 0) { fprintf(stderr, "faultline drill: --timeout: %s\n", err); return *code = FL_EXIT_INVALID, -1; } break;
        case 'j': d->ro.journal_path = optarg; break;
        case 'f': d->ro.ignore_journal = 1; break;
        case 'q': fl_log_level = FL_LOG_WARN; break;
        case 'v': fl_log_level = FL_LOG_DEBUG; break;
        case 'h': fputs(drill_usage, stdout); return *code = 0, -1;
        default: fputs(drill_usage, stderr); return *code = FL_EXIT_INVALID, -1;
        }
    }
    d->vars[d->nvars] = NULL;
    if (optind >= argc) { fputs(drill_usage, stderr); return *code = FL_EXIT_INVALID, -1; }
    if (d->hist_where && !*d->hist_where) d->hist_where = NULL;
    return 0;
}

/* every plan valid before anything is touched; -1 when one is not */
static int drill_validate(struct drill *d, char **args, int nargs)
{
    if (collect_plans(args, nargs, &d->paths, &d->npaths) < 0) return -1;
    d->names = fl_calloc(d->npaths, sizeof *d->names);
    d->is_matrix = fl_calloc(d->npaths, sizeof *d->is_matrix);
    int invalid = 0;
    for (size_t i = 0; i < d->npaths; i++) {
        struct plan *p = cmd_load_plan(d->paths[i], d->vars, NULL);
        if (!p) { invalid = 1; continue; }
        d->names[i] = fl_strdup(p->name);
        d->is_matrix[i] = p->nmatrix_lose > 0;
        plan_free(p);
    }
    if (invalid) fprintf(stderr, "faultline drill: a plan is invalid; nothing was run\n");
    return invalid ? -1 : 0;
}

/* the folder, the lock and the history; -1 (printed) when one cannot be had */
static int drill_prepare(struct drill *d)
{
    char err[FL_ERR_LEN];
    if (!d->dir) {
        cmd_default_dir(d->dirbuf, sizeof d->dirbuf, "drill");
        d->dir = d->dirbuf;
    }
    if (!d->lock_path) d->lock_path = d->lock_default = default_lock(d->dir);
    if ((d->lock_fd = take_lock(d->lock_path, err)) < 0) {
        fprintf(stderr, "faultline drill: %s\n", err);
        return -1;
    }
    if (d->hist_where && !(d->h = history_open(d->hist_where, err))) {
        fprintf(stderr, "faultline drill: %s; nothing was run\n", err);
        return -1;
    }
    if (files_mkdir_p(d->dir) < 0) {
        fprintf(stderr, "faultline drill: cannot create the drill folder '%s': %s\n", d->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* a matrix plan: every combination is an experiment of the suite */
static int drill_matrix(struct drill *d, size_t i, const char *sub)
{
    json_t *rec = NULL;
    int rc = cmd_matrix(d->paths[i], d->vars, &d->ro, sub, &rec);
    json_array_append_new(d->matrices, json_pack("{s:s, s:s, s:O?}", "plan", d->names[i], "overall",
                                                 report_jstr(rec, "overall", fl_exit_verdict(rc)), "fails_at",
                                                 json_object_get(rec, "fails_at")));
    const json_t *rows = json_object_get(rec, "matrix");
    for (size_t r = 0; r < json_array_size(rows); r++) {
        const json_t *row = json_array_get(rows, r);
        json_t *e = entry_of_row(d->dir, d->names[i], rec, row);
        if (strcmp(report_jstr(row, "verdict", ""), "not_run") != 0) d->code = fl_exit_worse(d->code, record_entry(d->h, &d->rules, d->nbase, e));
        json_array_append_new(d->exps, e);
    }
    json_decref(rec);
    return rc;
}

/* a plain plan: one experiment, run like `faultline run` */
static int drill_plain(struct drill *d, size_t i, const char *sub)
{
    char err[FL_ERR_LEN];
    json_t *rec = NULL;
    int rc;
    struct plan *p = cmd_load_plan(d->paths[i], d->vars, NULL);
    if (!p) rc = FL_EXIT_INVALID;
    else {
        d->ro.report_dir = sub;
        json_t *empty = json_object();
        if (report_write_all(empty, sub, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
        json_decref(empty);
        rc = run_plan(p, &d->ro, &rec);
        if (report_write_all(rec, sub, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
        plan_free(p);
    }
    json_t *e = entry_of_run(d->dir, d->names[i], rec, rc, sub);
    d->code = fl_exit_worse(d->code, record_entry(d->h, &d->rules, d->nbase, e));
    printf("\n");
    print_entry(e);
    json_array_append_new(d->exps, e);
    json_decref(rec);
    return rc;
}

/* plan i into DIR/<plan-name> (made unique when two files carry the same name) */
static void drill_one(struct drill *d, size_t i)
{
    char *sub = fl_asprintf("%s/%s", d->dir, d->names[i]);
    for (size_t j = 0, dup = 1; j < i; j++)
        if (!strcmp(d->names[j], d->names[i])) { free(sub); sub = fl_asprintf("%s/%s-%zu", d->dir, d->names[i], ++dup); }
    json_array_append_new(d->plans, json_pack("{s:s, s:s, s:s}", "plan", d->names[i], "path", d->paths[i], "report", sub));
    if (d->stopped) {
        json_t *e = entry_new(d->dir, d->names[i], d->names[i], NULL, sub);
        json_object_set_new(e, "verdict", json_string("not_run"));
        json_object_set_new(e, "exit_code", json_null());
        json_object_set_new(e, "why", json_string("not run: the drill stopped early"));
        json_array_append_new(d->exps, e);
        free(sub);
        return;
    }
    printf("\n== drill %zu/%zu: %s (%s)\n", i + 1, d->npaths, d->names[i], d->paths[i]);
    fflush(stdout);
    int rc = d->is_matrix[i] ? drill_matrix(d, i, sub) : drill_plain(d, i, sub);
    d->code = fl_exit_worse(d->code, rc);
    if (rc == FL_EXIT_ABORTED || rc == FL_EXIT_REVERT || fl_aborted()) d->stopped = 1;
    free(sub);
}

/* DIR/suite.json, suite.junit.xml, suite.md, suite.html, and the summary on the console */
static void drill_suite(struct drill *d)
{
    char err[FL_ERR_LEN], ended[32], path[1100];
    fl_iso8601(fl_wall(), ended);
    json_t *suite = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:i, s:O, s:O, s:O}", "faultline_version", FL_VERSION,
                              "dir", d->dir, "started_at", d->started, "ended_at", ended, "verdict", fl_exit_verdict(d->code),
                              "history", d->h ? history_where(d->h) : NULL, "lock", d->lock_path, "exit_code", d->code,
                              "plans", d->plans, "matrices", d->matrices, "experiments", d->exps);
    snprintf(path, sizeof path, "%s/suite.json", d->dir);
    if (report_json(suite, path, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
    snprintf(path, sizeof path, "%s/suite.junit.xml", d->dir);
    if (report_suite_junit(suite, path, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
    snprintf(path, sizeof path, "%s/suite.md", d->dir);
    if (report_suite_md(suite, path, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
    snprintf(path, sizeof path, "%s/suite.html", d->dir);
    if (report_suite_html(suite, path, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
    size_t n = json_array_size(d->exps);
    printf("\ndrill %s: %zu experiment%s\n", fl_exit_verdict(d->code), n, n == 1 ? "" : "s");
    for (size_t i = 0; i < json_array_size(d->matrices); i++)
        printf("  %s: %s\n", report_jstr(json_array_get(d->matrices, i), "plan", "?"),
               report_jstr(json_array_get(d->matrices, i), "overall", "?"));
    for (size_t i = 0; i < n; i++) print_entry(json_array_get(d->exps, i));
    printf("  suite: %s/suite.md, %s/suite.html, %s/suite.junit.xml%s%s\n", d->dir, d->dir, d->dir, d->h ? "; history: " : "",
           d->h ? history_where(d->h) : "");
    json_decref(suite);
}

static void drill_release(struct drill *d)
{
    history_close(d->h);
    if (d->lock_fd >= 0) close(d->lock_fd);
    free(d->lock_default);
    json_decref(d->exps);
    json_decref(d->matrices);
    json_decref(d->plans);
    for (size_t i = 0; i < d->npaths; i++) {
        free(d->paths[i]);
        if (d->names) free(d->names[i]);
    }
    free(d->paths);
    free(d->names);
    free(d->is_matrix);
}

int cmd_drill(int argc, char **argv)
{
    struct drill d = { .lock_fd = -1, .hist_where = getenv("FAULTLINE_HISTORY"), .nbase = 5 };
    cmp_rules_default(&d.rules);
    int code;
    if (drill_options(&d, argc, argv, &code) < 0) return code;
    d.exps = json_array();
    d.matrices = json_array();
    d.plans = json_array();
    if (drill_validate(&d, argv + optind, argc - optind) < 0 || drill_prepare(&d) < 0) {
        drill_release(&d);
        return FL_EXIT_INVALID;
    }
    run_install_signals();
    fl_iso8601(fl_wall(), d.started);
    for (size_t i = 0; i < d.npaths; i++) drill_one(&d, i);
    if (d.stopped) d.code = fl_exit_worse(d.code, FL_EXIT_ABORTED);
    drill_suite(&d);
    drill_release(&d);
    return d.code;
}
