/* cmd_drill.c -- `faultline drill`: a suite of plans run in order (a scheduled disaster-
 * recovery drill), each report in its own folder, a suite summary (JUnit, Markdown, JSON),
 * every result appended to a history and compared with its last passing run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "cmd.h"
#include "compare.h"
#include "figures.h"
#include "history.h"
#include "md.h"
#include "plan.h"
#include "report.h"
#include "report_fmt.h"
#include "run.h"

/* written by reports/junit.c; weak so a build without it still links (the suite then
 * carries one testcase per experiment, written here) */
int report_junit(json_t *run, const char *path, char *err) __attribute__((weak));

#define DRILL_MAX_PLANS 256
#define DRILL_MAX_VARS 64

static const char drill_usage[] =
    "usage: faultline drill PLAN_OR_DIR... [options]\n\n"
    "Run a suite of experiments in order, as a scheduled disaster-recovery drill: every plan\n"
    "given (a folder means its *.yaml files, sorted by name) is validated first (one invalid\n"
    "plan: exit 2, nothing is touched), then run like `faultline run` (a matrix plan runs all\n"
    "its combinations). Reports go to DIR/<plan-name>/; the suite summary to DIR/suite.junit.xml\n"
    "(every experiment), DIR/suite.md and DIR/suite.json. With a history, every result is\n"
    "appended to it and compared with the last passing run of the same experiment with the\n"
    "rules of `faultline compare`: p95 or a duration (the run, a recovery) more than 10%\n"
    "longer, throughput more than 10% lower, memory more than 15% higher is a regression\n"
    "(exit 1). A lock file keeps two drills from overlapping: the second one exits 2 at once.\n"
    "Exit code: the worst of the experiments (4 a revert failed, 3 aborted, 2 invalid,\n"
    "1 failed or regressed, 5 inconclusive: nothing failed but something had no evidence,\n"
    "0 held); the drill stops after an abort or a failed revert.\n\n"
    "options:\n"
    "  -o, --report-dir DIR      the drill's folder (default faultline-runs/drill-YYYYmmdd-HHMMSS)\n"
    "      --history FILE|URL    JSON lines file, or postgresql://... (table faultline_history,\n"
    "                            created when missing); default $FAULTLINE_HISTORY, none if unset\n"
    "      --p95 P, --duration P, --throughput P, --memory P\n"
    "                            change a compare rule (a percentage, as in faultline compare)\n"
    "      --lock PATH           lock file (default: .faultline-drill.lock next to DIR)\n"
    "      --var NAME=VALUE      set a plan variable in every plan (repeatable)\n"
    "      --timeout D           abort an experiment that takes longer than D (e.g. 10m)\n"
    "      --journal PATH        journal file (default $FAULTLINE_JOURNAL or .faultline/journal.jsonl)\n"
    "      --force               start even though the journal holds unreverted faults\n"
    "  -q, --quiet               only errors and the verdicts\n"
    "  -v, --verbose             debug logging\n"
    "  -h, --help                this text\n";

/* ---- small helpers ------------------------------------------------------------------- */
static int mkdir_p(const char *dir)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = '\0'; if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1; *p = '/'; }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

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
    if (slash && slash != parent) { *slash = '\0'; mkdir_p(parent); }
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

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    struct buf b;
    buf_init(&b, 64 << 20);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, n);
    fclose(f);
    if (b.overflow) { buf_release(&b); return NULL; }
    return buf_detach(&b);
}

/* ---- one experiment's entry ---------------------------------------------------------- */
static const char *figure_keys[] = { "p95_ms", "worst_p95_ms", "error_rate", "requests", "rps", "recovery_ms",
                                     "recovered", "recoveries", NULL };

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
    json_object_set_new(e, "verdict", json_string(report_jstr(rec, "verdict", rc == 0 ? "passed" : "failed")));
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

/* ---- suite JUnit ----------------------------------------------------------------------- */
static long attr_long(const char *tag, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=\"", name);
    const char *p = strstr(tag, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : 0;
}

static double attr_double(const char *tag, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=\"", name);
    const char *p = strstr(tag, pat);
    return p ? strtod(p + strlen(pat), NULL) : 0;
}

struct junit_totals { long tests, failures, errors, skipped; double time; };

static void xml_attr(struct buf *b, const char *s) { buf_add_html(b, s ? s : ""); }

/* the regression testcase of an experiment compared with the history */
static void regression_case(struct buf *cases, const json_t *e, long *tests, long *failures, long *skipped)
{
    if (!json_object_get(e, "regressions")) return;
    const char *exp = report_jstr(e, "experiment", "?");
    buf_adds(cases, "    <testcase classname=\"");
    xml_attr(cases, exp);
    buf_adds(cases, ".drill\" name=\"no regression against the last passing run\" time=\"0.000\"");
    (*tests)++;
    const json_t *regs = json_object_get(e, "regressions");
    if (json_array_size(regs)) {
        struct buf msg;
        buf_init(&msg, 8192);
        for (size_t i = 0; i < json_array_size(regs); i++)
            buf_addf(&msg, "%s%s", i ? "; " : "", report_jstr(json_array_get(regs, i), "text", "?"));
        const char *btime = report_jstr(json_object_get(e, "baseline"), "time", "?");
        buf_adds(cases, ">\n      <failure type=\"regression\" message=\"");
        xml_attr(cases, msg.data);
        buf_adds(cases, " (compared with the run of ");
        xml_attr(cases, btime);
        buf_adds(cases, ")\"/>\n    </testcase>\n");
        buf_release(&msg);
        (*failures)++;
    } else if (!json_object_get(e, "baseline") || json_is_null(json_object_get(e, "baseline"))) {
        buf_adds(cases, ">\n      <skipped message=\"no earlier passing run to compare with\"/>\n    </testcase>\n");
        (*skipped)++;
    } else {
        buf_adds(cases, "/>\n");
    }
}

/* one experiment's testsuite: the body report_junit wrote into its folder, renamed after the
 * experiment, or a single testcase written here when there is none */
static void suite_of(struct buf *out, const json_t *e, struct junit_totals *tot)
{
    const char *exp = report_jstr(e, "experiment", "?");
    char path[1200];
    snprintf(path, sizeof path, "%s/junit.xml", report_jstr(e, "report", "."));
    char *x = report_junit ? slurp(path) : NULL;
    const char *s = x ? strstr(x, "<testsuite ") : NULL;
    const char *tag_end = s ? strchr(s, '>') : NULL;
    const char *end = tag_end ? strstr(tag_end, "</testsuite>") : NULL;
    long tests, failures, errors, skipped;
    double time;
    char timestamp[64] = "";
    struct buf cases;
    buf_init(&cases, 0);
    if (end && tag_end[-1] != '/') {
        char *tag = fl_strndup(s, (size_t)(tag_end - s));
        tests = attr_long(tag, "tests");
        failures = attr_long(tag, "failures");
        errors = attr_long(tag, "errors");
        skipped = attr_long(tag, "skipped");
        time = attr_double(tag, "time");
        const char *ts = strstr(tag, " timestamp=\"");
        if (ts) snprintf(timestamp, sizeof timestamp, "%.*s", (int)strcspn(ts + 12, "\""), ts + 12);
        free(tag);
        buf_add(&cases, tag_end + 1, (size_t)(end - (tag_end + 1)));
        /* the body ends with the indentation of </testsuite>: drop it */
        while (cases.len && cases.data[cases.len - 1] == ' ') cases.data[--cases.len] = '\0';
    } else {
        const char *v = report_jstr(e, "verdict", "?");
        tests = 1;
        failures = !strcmp(v, "failed");
        errors = strcmp(v, "passed") && !failures;
        skipped = 0;
        time = 0;
        buf_adds(&cases, "\n    <testcase classname=\"");
        xml_attr(&cases, exp);
        buf_adds(&cases, "\" name=\"experiment\" time=\"0.000\"");
        if (!strcmp(v, "passed")) buf_adds(&cases, "/>\n");
        else {
            buf_addf(&cases, ">\n      <%s type=\"", failures ? "failure" : "error");
            xml_attr(&cases, v);
            buf_adds(&cases, "\" message=\"");
            char *msg = fl_asprintf("expected the experiment to pass; observed verdict %s (exit %lld)%s%s", v,
                                    (long long)json_integer_value(json_object_get(e, "exit_code")),
                                    report_jstr(e, "why", "")[0] ? ": " : "", report_jstr(e, "why", ""));
            xml_attr(&cases, msg);
            free(msg);
            buf_addf(&cases, "\"/>\n    </testcase>\n");
        }
    }
    free(x);
    regression_case(&cases, e, &tests, &failures, &skipped);
    buf_adds(out, "  <testsuite name=\"");
    xml_attr(out, exp);
    buf_addf(out, "\" tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\" time=\"%.3f\"", tests, failures, errors,
             skipped, time);
    if (timestamp[0]) {
        buf_adds(out, " timestamp=\"");
        xml_attr(out, timestamp);
        buf_adds(out, "\"");
    }
    buf_adds(out, ">");
    buf_add(out, cases.data, cases.len);
    buf_adds(out, "  </testsuite>\n");
    buf_release(&cases);
    tot->tests += tests;
    tot->failures += failures;
    tot->errors += errors;
    tot->skipped += skipped;
    tot->time += time;
}

static int write_suite_junit(const json_t *exps, const char *path, char *err)
{
    struct buf body, out;
    buf_init(&body, 0);
    buf_init(&out, 0);
    struct junit_totals tot = { 0 };
    for (size_t i = 0; i < json_array_size(exps); i++) suite_of(&body, json_array_get(exps, i), &tot);
    buf_adds(&out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    buf_addf(&out, "<testsuites name=\"faultline drill\" tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\" time=\"%.3f\">\n",
             tot.tests, tot.failures, tot.errors, tot.skipped, tot.time);
    buf_add(&out, body.data, body.len);
    buf_adds(&out, "</testsuites>\n");
    int rc = out.overflow || body.overflow ? fl_err(err, "cannot write '%s': the suite is too large", path)
                                           : report_write_file(path, out.data, out.len, err);
    buf_release(&body);
    buf_release(&out);
    return rc;
}

/* ---- suite Markdown ------------------------------------------------------------------ */
static void fmt_fig_ms(const json_t *e, const char *key, char out[32])
{
    const json_t *v = json_object_get(e, key);
    if (json_is_number(v)) report_fmt_ms(json_number_value(v), out);
    else snprintf(out, 32, "-");
}

static void fmt_recovery(const json_t *e, char out[32])
{
    if (json_is_false(json_object_get(e, "recovered"))) snprintf(out, 32, "not recovered");
    else fmt_fig_ms(e, "recovery_ms", out);
}

static void fmt_rate(const json_t *e, char out[32])
{
    const json_t *v = json_object_get(e, "error_rate");
    if (json_is_number(v)) snprintf(out, 32, "%.2f%%", json_number_value(v) * 100);
    else snprintf(out, 32, "-");
}

static void vs_text(const json_t *e, struct buf *b)
{
    const json_t *regs = json_object_get(e, "regressions");
    if (!regs) { buf_adds(b, "no history"); return; }
    if (json_array_size(regs)) {
        buf_adds(b, "REGRESSION: ");
        for (size_t i = 0; i < json_array_size(regs); i++) {
            if (i) buf_adds(b, "; ");
            buf_adds(b, report_jstr(json_array_get(regs, i), "text", "?"));
        }
        return;
    }
    const json_t *base = json_object_get(e, "baseline");
    if (!json_is_object(base)) buf_adds(b, "first passing run");
    else buf_addf(b, "as good as %s", report_jstr(base, "time", "?"));
}

static int write_suite_md(const json_t *suite, const char *path, char *err)
{
    const json_t *exps = json_object_get(suite, "experiments");
    struct buf b;
    buf_init(&b, 8 << 20);
    size_t passed = 0, regressed = 0;
    for (size_t i = 0; i < json_array_size(exps); i++) {
        const json_t *e = json_array_get(exps, i);
        if (!strcmp(report_jstr(e, "verdict", ""), "passed")) passed++;
        if (json_array_size(json_object_get(e, "regressions"))) regressed++;
    }
    buf_addf(&b, "## faultline drill: %s\n\n", report_jstr(suite, "verdict", "?"));
    buf_addf(&b, "%zu experiment%s, %zu passed, %zu did not", json_array_size(exps), json_array_size(exps) == 1 ? "" : "s",
             passed, json_array_size(exps) - passed);
    if (json_is_string(json_object_get(suite, "history"))) buf_addf(&b, ", %zu regressed", regressed);
    buf_adds(&b, " · started ");
    md_text(&b, report_jstr(suite, "started_at", "?"));
    buf_adds(&b, " · folder ");
    md_text(&b, report_jstr(suite, "dir", "?"));
    buf_adds(&b, "\n\n");
    const json_t *matrices = json_object_get(suite, "matrices");
    for (size_t i = 0; i < json_array_size(matrices); i++) {
        buf_adds(&b, "- **");
        md_text(&b, report_jstr(json_array_get(matrices, i), "plan", "?"));
        buf_adds(&b, "**: ");
        md_text(&b, report_jstr(json_array_get(matrices, i), "overall", "?"));
        buf_adds(&b, "\n");
    }
    if (json_array_size(matrices)) buf_adds(&b, "\n");
    buf_adds(&b, "| experiment | verdict | p95 | worst p95 | error rate | recovery | vs last passing run | report |\n"
                 "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < json_array_size(exps); i++) {
        const json_t *e = json_array_get(exps, i);
        char p95[32], worst[32], rate[32], rec[32];
        fmt_fig_ms(e, "p95_ms", p95);
        fmt_fig_ms(e, "worst_p95_ms", worst);
        fmt_rate(e, rate);
        fmt_recovery(e, rec);
        struct buf vs;
        buf_init(&vs, 0);
        vs_text(e, &vs);
        buf_adds(&b, "| ");
        md_text(&b, report_jstr(e, "experiment", "?"));
        buf_adds(&b, " | ");
        md_text(&b, report_jstr(e, "verdict", "?"));
        buf_addf(&b, " | %s | %s | %s | %s | ", p95, worst, rate, rec);
        md_text(&b, vs.data);
        buf_adds(&b, " | ");
        md_text(&b, report_jstr(e, "report", ""));
        buf_adds(&b, " |\n");
        buf_release(&vs);
    }
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the summary is too large", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}

/* ---- the command ----------------------------------------------------------------------- */
/* history: compare with the last passing run, then append; returns the experiment's code
 * for the drill (a regression or a history that cannot be written makes it at least 1) */
static int record_entry(struct history *h, const struct cmp_rules *rules, json_t *e)
{
    int code = (int)json_integer_value(json_object_get(e, "exit_code"));
    if (!h) return code;
    char err[FL_ERR_LEN];
    json_t *base = NULL;
    if (history_last_passing(h, report_jstr(e, "experiment", "?"), &base, err) < 0) {
        fprintf(stderr, "faultline drill: %s\n", err);
        return fl_exit_worse(code, FL_EXIT_FAILED);
    }
    json_t *regs = history_compare(base, e, rules);
    json_object_set_new(e, "regressions", regs);
    json_object_set_new(e, "baseline", base ? json_pack("{s:O?, s:O?, s:O?}", "time", json_object_get(base, "time"),
                                                        "report", json_object_get(base, "report"), "p95_ms",
                                                        json_object_get(base, "p95_ms"))
                                             : json_null());
    json_decref(base);
    if (history_append(h, e, err) < 0) {
        fprintf(stderr, "faultline drill: %s\n", err);
        code = fl_exit_worse(code, FL_EXIT_FAILED);
    }
    if (json_array_size(regs)) code = fl_exit_worse(code, FL_EXIT_FAILED);
    return code;
}

static void print_entry(const json_t *e)
{
    char p95[32], rate[32], rec[32];
    fmt_fig_ms(e, "p95_ms", p95);
    fmt_rate(e, rate);
    fmt_recovery(e, rec);
    struct buf vs;
    buf_init(&vs, 0);
    vs_text(e, &vs);
    printf("  %-34s %-13s p95 %-9s errors %-8s recovery %-13s %s\n", report_jstr(e, "experiment", "?"),
           report_jstr(e, "verdict", "?"), p95, rate, rec, vs.data);
    buf_release(&vs);
}

int cmd_drill(int argc, char **argv)
{
    static const struct option opts[] = {
        { "report-dir", required_argument, 0, 'o' }, { "history", required_argument, 0, 'H' },
        { "p95", required_argument, 0, 'P' }, { "duration", required_argument, 0, 'D' },
        { "throughput", required_argument, 0, 'R' }, { "memory", required_argument, 0, 'M' },
        { "lock", required_argument, 0, 'L' },
        { "var", required_argument, 0, 'V' }, { "timeout", required_argument, 0, 't' },
        { "journal", required_argument, 0, 'j' }, { "force", no_argument, 0, 'f' },
        { "quiet", no_argument, 0, 'q' }, { "verbose", no_argument, 0, 'v' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 } };
    struct run_opts ro = { 0 };
    struct cmp_rules rules;
    cmp_rules_default(&rules);
    const char *dir = NULL, *hist_where = getenv("FAULTLINE_HISTORY"), *lock_path = NULL;
    const char *vars[DRILL_MAX_VARS + 1];
    size_t nvars = 0;
    char err[FL_ERR_LEN];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 'H': hist_where = optarg; break;
        case 'P': case 'D': case 'R': case 'M': {
            double *rule = c == 'P' ? &rules.p95 : c == 'D' ? &rules.duration : c == 'R' ? &rules.throughput : &rules.memory;
            if (cmp_parse_pct(optarg, rule) < 0) {
                fprintf(stderr, "faultline drill: '%s' is not a percentage (e.g. 10%%)\n", optarg);
                return FL_EXIT_INVALID;
            }
            break;
        }
        case 'L': lock_path = optarg; break;
        case 'V':
            if (nvars == DRILL_MAX_VARS) { fprintf(stderr, "faultline drill: at most %d --var\n", DRILL_MAX_VARS); return FL_EXIT_INVALID; }
            vars[nvars++] = optarg;
            break;
        case 't': if (val_duration_ms(optarg, &ro.timeout_ms, err) < 0) { fprintf(stderr, "faultline drill: --timeout: %s\n", err); return FL_EXIT_INVALID; } break;
        case 'j': ro.journal_path = optarg; break;
        case 'f': ro.ignore_journal = 1; break;
        case 'q': fl_log_level = FL_LOG_WARN; break;
        case 'v': fl_log_level = FL_LOG_DEBUG; break;
        case 'h': fputs(drill_usage, stdout); return 0;
        default: fputs(drill_usage, stderr); return FL_EXIT_INVALID;
        }
    }
    vars[nvars] = NULL;
    if (optind >= argc) { fputs(drill_usage, stderr); return FL_EXIT_INVALID; }
    if (hist_where && !*hist_where) hist_where = NULL;

    /* every plan valid before anything is touched */
    char **paths = NULL;
    size_t npaths = 0;
    if (collect_plans(argv + optind, argc - optind, &paths, &npaths) < 0) {
        for (size_t i = 0; i < npaths; i++) free(paths[i]);
        free(paths);
        return FL_EXIT_INVALID;
    }
    char **names = fl_calloc(npaths, sizeof *names);
    int *is_matrix = fl_calloc(npaths, sizeof *is_matrix);
    int invalid = 0;
    for (size_t i = 0; i < npaths; i++) {
        struct plan *p = cmd_load_plan(paths[i], vars, NULL);
        if (!p) { invalid = 1; continue; }
        names[i] = fl_strdup(p->name);
        is_matrix[i] = p->nmatrix_lose > 0;
        plan_free(p);
    }
    int code = FL_EXIT_OK, lock_fd = -1;
    struct history *h = NULL;
    json_t *exps = json_array(), *matrices = json_array(), *plans = json_array();
    char *lock_default = NULL;
    char dirbuf[512];
    if (invalid) {
        fprintf(stderr, "faultline drill: a plan is invalid; nothing was run\n");
        code = FL_EXIT_INVALID;
        goto out;
    }
    if (!dir) {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(dirbuf, sizeof dirbuf, "faultline-runs/drill-%s", stamp);
        dir = dirbuf;
    }
    if (!lock_path) lock_path = lock_default = default_lock(dir);
    if ((lock_fd = take_lock(lock_path, err)) < 0) {
        fprintf(stderr, "faultline drill: %s\n", err);
        code = FL_EXIT_INVALID;
        goto out;
    }
    if (hist_where && !(h = history_open(hist_where, err))) {
        fprintf(stderr, "faultline drill: %s; nothing was run\n", err);
        code = FL_EXIT_INVALID;
        goto out;
    }
    if (mkdir_p(dir) < 0) {
        fprintf(stderr, "faultline drill: cannot create the drill folder '%s': %s\n", dir, strerror(errno));
        code = FL_EXIT_INVALID;
        goto out;
    }

    run_install_signals();
    double wall0 = fl_wall();
    char started[32];
    fl_iso8601(wall0, started);
    int stopped = 0;
    for (size_t i = 0; i < npaths; i++) {
        /* DIR/<plan-name>, made unique when two files carry the same name */
        char *sub = fl_asprintf("%s/%s", dir, names[i]);
        for (size_t j = 0, dup = 1; j < i; j++)
            if (!strcmp(names[j], names[i])) { free(sub); sub = fl_asprintf("%s/%s-%zu", dir, names[i], ++dup); }
        json_array_append_new(plans, json_pack("{s:s, s:s, s:s}", "plan", names[i], "path", paths[i], "report", sub));
        if (stopped) {
            json_t *e = entry_new(dir, names[i], names[i], NULL, sub);
            json_object_set_new(e, "verdict", json_string("not_run"));
            json_object_set_new(e, "exit_code", json_null());
            json_object_set_new(e, "why", json_string("not run: the drill stopped early"));
            json_array_append_new(exps, e);
            free(sub);
            continue;
        }
        printf("\n== drill %zu/%zu: %s (%s)\n", i + 1, npaths, names[i], paths[i]);
        fflush(stdout);
        json_t *rec = NULL;
        int rc;
        if (is_matrix[i]) {
            rc = cmd_matrix(paths[i], vars, &ro, sub, &rec);
            json_array_append_new(matrices, json_pack("{s:s, s:s, s:O?}", "plan", names[i], "overall",
                                                      report_jstr(rec, "overall", fl_exit_verdict(rc)), "fails_at",
                                                      json_object_get(rec, "fails_at")));
            const json_t *rows = json_object_get(rec, "matrix");
            for (size_t r = 0; r < json_array_size(rows); r++) {
                const json_t *row = json_array_get(rows, r);
                json_t *e = entry_of_row(dir, names[i], rec, row);
                if (strcmp(report_jstr(row, "verdict", ""), "not_run") != 0) {
                    int ec = record_entry(h, &rules, e);
                    code = fl_exit_worse(code, ec);
                }
                json_array_append_new(exps, e);
            }
            code = fl_exit_worse(code, rc);
        } else {
            struct plan *p = cmd_load_plan(paths[i], vars, NULL);
            if (!p) rc = FL_EXIT_INVALID;
            else {
                ro.report_dir = sub;
                json_t *empty = json_object();
                if (report_write_all(empty, sub, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
                json_decref(empty);
                rc = run_plan(p, &ro, &rec);
                if (report_write_all(rec, sub, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
                plan_free(p);
            }
            json_t *e = entry_of_run(dir, names[i], rec, rc, sub);
            int ec = record_entry(h, &rules, e);
            code = fl_exit_worse(code, ec);
            printf("\n");
            print_entry(e);
            json_array_append_new(exps, e);
        }
        if (rc == FL_EXIT_ABORTED || rc == FL_EXIT_REVERT || fl_aborted()) stopped = 1;
        json_decref(rec);
        free(sub);
    }
    if (stopped) code = fl_exit_worse(code, FL_EXIT_ABORTED);

    /* the suite */
    {
        char ended[32];
        fl_iso8601(fl_wall(), ended);
        json_t *suite = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:i, s:O, s:O, s:O}", "faultline_version", FL_VERSION,
                                  "dir", dir, "started_at", started, "ended_at", ended, "verdict", fl_exit_verdict(code),
                                  "history", h ? history_where(h) : NULL, "lock", lock_path, "exit_code", code,
                                  "plans", plans, "matrices", matrices, "experiments", exps);
        char path[1100];
        snprintf(path, sizeof path, "%s/suite.json", dir);
        if (report_json(suite, path, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
        snprintf(path, sizeof path, "%s/suite.junit.xml", dir);
        if (write_suite_junit(exps, path, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
        snprintf(path, sizeof path, "%s/suite.md", dir);
        if (write_suite_md(suite, path, err) < 0) fprintf(stderr, "faultline drill: %s\n", err);
        printf("\ndrill %s: %zu experiment%s\n", fl_exit_verdict(code), json_array_size(exps), json_array_size(exps) == 1 ? "" : "s");
        for (size_t i = 0; i < json_array_size(matrices); i++)
            printf("  %s: %s\n", report_jstr(json_array_get(matrices, i), "plan", "?"),
                   report_jstr(json_array_get(matrices, i), "overall", "?"));
        for (size_t i = 0; i < json_array_size(exps); i++) print_entry(json_array_get(exps, i));
        printf("  suite: %s/suite.md, %s/suite.junit.xml%s%s\n", dir, dir, h ? "; history: " : "", h ? history_where(h) : "");
        json_decref(suite);
    }

out:
    history_close(h);
    if (lock_fd >= 0) close(lock_fd);
    free(lock_default);
    json_decref(exps);
    json_decref(matrices);
    json_decref(plans);
    for (size_t i = 0; i < npaths; i++) { free(paths[i]); free(names[i]); }
    free(paths);
    free(names);
    free(is_matrix);
    return code;
}
