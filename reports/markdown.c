/* markdown.c -- summary.md from the run record: the verdict and its evidence, short enough
 * for a pull-request comment (GitHub-flavoured tables; the event timeline folded away).
 *
 * Text from the plan or the target is escaped for Markdown and for the HTML that Markdown
 * renderers accept, and kept on one line inside table cells, so a probe's observation
 * cannot break the table or inject markup.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "fl.h"
#include "md.h"
#include "report.h"
#include "report_fmt.h"
#include "value.h"

#define MD_MAX_ROWS 50        /* per table; the rest is counted, run.json has all */

/* run-clock time of a field ("30s", "1m", "-" when null) */
static void fmt_at(const json_t *o, const char *key, char out[32])
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) snprintf(out, 32, "-");
    else report_fmt_time(json_number_value(v), out);
}

static const char *verdict_mark(const char *v)
{
    if (!v) return "❔";
    if (!strcmp(v, "passed")) return "✅";
    if (!strcmp(v, "failed")) return "❌";
    if (!strcmp(v, "inconclusive") || !strcmp(v, "skipped")) return "❔"; /* grey: no evidence either way */
    if (!strcmp(v, "aborted")) return "🛑";
    if (!strcmp(v, "revert_failed")) return "🔥";
    if (!strcmp(v, "dry_run")) return "📝";
    return "⚠️";
}

static const char *verdict_word(const char *v)
{
    if (!v) return "no result";
    if (!strcmp(v, "revert_failed")) return "revert failed";
    if (!strcmp(v, "dry_run")) return "dry run";
    if (!strcmp(v, "inconclusive")) return "inconclusive (no verdict without evidence)";
    return v;
}

static void more_rows(struct buf *b, size_t total)
{
    if (total > MD_MAX_ROWS) buf_addf(b, "\n_%zu more in run.json_\n", total - MD_MAX_ROWS);
}

/* the evidence of a probe result: the first failure, else what the last check saw */
static void probe_evidence(const json_t *p, struct buf *b)
{
    const char *verdict = report_verdict(p);
    const json_t *f = json_object_get(p, "failure");
    const json_t *obs = json_object_get(p, "observations");
    size_t n = json_array_size(obs);
    struct buf t;
    buf_init(&t, 4096);
    if (!strcmp(verdict, "inconclusive") && (json_object_get(p, "reason") || json_object_get(p, "skip_reason"))) {
        buf_addf(&t, "no evidence: %s", report_reason(p, ""));
    } else if (f) {
        const char *reason = report_jstr(f, "reason", "unhealthy");
        char at[32];
        fmt_at(f, "t_ms", at);
        if (!strcmp(reason, "could_not_run")) buf_addf(&t, "could not check at %s: %s", at, report_jstr(f, "observed", ""));
        else if (!strcmp(reason, "not_run")) buf_adds(&t, "the probe never ran");
        else buf_addf(&t, "at %s: %s", at, report_jstr(f, "observed", ""));
    } else if (n) {
        buf_adds(&t, report_jstr(json_array_get(obs, n - 1), "observed", ""));
    }
    long long checks = (long long)report_jnum(p, "checks", (double)n), failed = (long long)report_jnum(p, "failed_checks", 0);
    long long inc = report_inconclusive_checks(p);
    if (checks > 1 && failed) buf_addf(&t, " (%lld/%lld checks failed)", failed, checks);
    else if (checks > 1 && inc) buf_addf(&t, " (%lld/%lld checks without evidence)", inc, checks);
    else if (checks > 1) buf_addf(&t, " (%lld checks)", checks);
    md_cell(b, t.data);
    buf_release(&t);
}

static void probe_table(struct buf *b, const json_t *list, int with_timing)
{
    size_t n = json_array_size(list);
    buf_adds(b, with_timing ? "| probe | when | verdict | expected | observed |\n|---|---|---|---|---|\n"
                            : "| check | verdict | expected | observed |\n|---|---|---|---|\n");
    for (size_t i = 0; i < n && i < MD_MAX_ROWS; i++) {
        const json_t *p = json_array_get(list, i);
        const char *verdict = json_object_get(p, "verdict") ? report_verdict(p) : NULL;
        if (json_is_true(json_object_get(p, "tripped"))) verdict = "tripped";
        else if (json_object_get(p, "tripped") && (!verdict || strcmp(verdict, "inconclusive"))) verdict = "held";
        buf_adds(b, "|");
        md_cell(b, report_jstr(p, "name", ""));
        if (with_timing) {
            const char *timing = report_jstr(p, "timing", "");
            const char *step = report_jstr(p, "step", NULL);
            char when[300];
            if (step) snprintf(when, sizeof when, "%s %s", timing, step);
            else snprintf(when, sizeof when, "%s", timing);
            md_cell(b, when);
        }
        const char *mark = !strcmp(verdict ? verdict : "", "held") ? "✅"
                         : !strcmp(verdict ? verdict : "", "tripped") ? "🛑" : verdict_mark(verdict);
        buf_addf(b, " %s %s |", mark, verdict ? verdict : "?");
        md_cell(b, report_jstr(p, "expect", ""));
        probe_evidence(p, b);
        buf_adds(b, "\n");
    }
    more_rows(b, n);
}

static void steps_table(struct buf *b, const json_t *steps)
{
    size_t n = json_array_size(steps);
    buf_adds(b, "| step | fault | target | injected | reverted | status | what was done |\n"
                "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n && i < MD_MAX_ROWS; i++) {
        const json_t *s = json_array_get(steps, i);
        const char *status = report_jstr(s, "status", "?");
        const char *mark = !strcmp(status, "reverted") || !strcmp(status, "injected_no_revert") ? "✅"
                         : !strcmp(status, "revert_failed") ? "🔥"
                         : !strcmp(status, "inject_failed") ? "❌" : "⏭️";
        char inj[32], rev[32];
        fmt_at(s, "injected_at_ms", inj);
        fmt_at(s, "reverted_at_ms", rev);
        buf_adds(b, "|");
        md_cell(b, report_jstr(s, "name", ""));
        md_cell(b, report_jstr(s, "fault", ""));
        md_cell(b, report_jstr(s, "target", "-"));
        md_cell(b, inj);
        md_cell(b, rev);
        buf_addf(b, " %s ", mark);
        md_put(b, status, MD_CELL_MAX);
        buf_adds(b, " |");
        const char *error = report_jstr(s, "error", NULL);
        char *what = error ? fl_asprintf("%s%s%s", report_jstr(s, "description", ""), *report_jstr(s, "description", "") ? " — " : "", error)
                           : fl_strdup(report_jstr(s, "description", ""));
        md_cell(b, what);
        free(what);
        buf_adds(b, "\n");
    }
    more_rows(b, n);
}

/* a row of three cells: what, its verdict with a mark, and the evidence */
static void verdict_row(struct buf *b, const char *what, const char *mark, const char *verdict, const char *evidence)
{
    buf_adds(b, "|");
    md_cell(b, what);
    buf_addf(b, " %s %s |", mark, verdict);
    md_cell(b, evidence);
    buf_adds(b, "\n");
}

static void load_tables(struct buf *b, const json_t *load)
{
    size_t n = json_array_size(load);
    buf_adds(b, "| load | requests | rps | p50 | p95 | p99 | max | error rate |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n && i < MD_MAX_ROWS; i++) {
        const json_t *blk = json_array_get(load, i);
        const json_t *t = json_object_get(blk, "totals");
        static const char *const metrics[] = { "count", "rps", "p50", "p95", "p99", "max", "error_rate" };
        buf_adds(b, "|");
        md_cell(b, report_jstr(blk, "name", ""));
        for (size_t k = 0; k < sizeof metrics / sizeof metrics[0]; k++) {
            char v[48];
            report_fmt_metric(metrics[k], json_object_get(t, metrics[k]), v);
            buf_addf(b, " %s |", v);
        }
        buf_adds(b, "\n");
    }
    more_rows(b, n);

    size_t nth = 0;
    for (size_t i = 0; i < n; i++) nth += json_array_size(json_object_get(json_array_get(load, i), "thresholds"));
    if (!nth) return;
    buf_adds(b, "\n| threshold | verdict | observed |\n|---|---|---|\n");
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *blk = json_array_get(load, i);
        const json_t *th = json_object_get(blk, "thresholds");
        for (size_t k = 0; k < json_array_size(th) && rows < MD_MAX_ROWS; k++, rows++) {
            const json_t *t = json_array_get(th, k);
            const char *metric = report_jstr(t, "metric", NULL);
            char name[600], v[48], obs[160];
            snprintf(name, sizeof name, "%s: %s", report_jstr(blk, "name", ""), report_jstr(t, "expect", ""));
            report_fmt_metric(metric, json_object_get(t, "value"), v);
            snprintf(obs, sizeof obs, "%s = %s", metric ? metric : "value", v);
            int ok = json_is_true(json_object_get(t, "ok")), none = json_is_null(json_object_get(t, "ok"));
            verdict_row(b, name, ok ? "✅" : none ? "❔" : "❌", ok ? "passed" : none ? "inconclusive" : "failed", obs);
        }
    }
    more_rows(b, nth);
}

static void rollback_table(struct buf *b, const json_t *rb)
{
    size_t n = json_array_size(rb);
    buf_adds(b, "| command | verdict | exit |\n|---|---|---|\n");
    for (size_t i = 0; i < n && i < MD_MAX_ROWS; i++) {
        const json_t *r = json_array_get(rb, i);
        int ok = json_is_true(json_object_get(r, "ok"));
        const char *error = report_jstr(r, "error", NULL);
        char ex[64];
        snprintf(ex, sizeof ex, "%lld", (long long)report_jnum(r, "exit", -1));
        verdict_row(b, report_jstr(r, "command", ""), ok ? "✅" : "❌", ok ? "passed" : "failed", error ? error : ex);
    }
    more_rows(b, n);
}

static void matrix_table(struct buf *b, const json_t *rows)
{
    size_t n = json_array_size(rows);
    buf_adds(b, "| lose | verdict | report |\n|---|---|---|\n");
    for (size_t i = 0; i < n && i < MD_MAX_ROWS; i++) {
        const json_t *r = json_array_get(rows, i);
        const char *v = report_jstr(r, "verdict", "?");
        verdict_row(b, report_jstr(r, "lose", ""), verdict_mark(v), v, report_jstr(r, "report", ""));
    }
    more_rows(b, n);
}

/* counts of what failed, for the headline */
static void tally_probes(const json_t *list, int *total, int *passed, int *inconclusive)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *v = report_verdict(json_array_get(list, i));
        (*total)++;
        if (!strcmp(v, "passed")) (*passed)++;
        else if (!strcmp(v, "inconclusive")) (*inconclusive)++;
    }
}

/* a steady-state phase in words: held / **broken** / *could not be checked* */
static const char *steady_words(const json_t *ss, const char *verdict_key, const char *held_key)
{
    const char *v = report_jstr(ss, verdict_key, NULL);
    if (v && !strcmp(v, "none")) return "—";
    if (v) return !strcmp(v, "passed") ? "held" : !strcmp(v, "failed") ? "**broken**" : "*not judged*";
    return json_is_true(json_object_get(ss, held_key)) ? "held" : "**broken**";
}

/* the verdict, the description, one line of facts and where the plan came from */
static void md_headline(const json_t *run, struct buf *b)
{
    const json_t *plan = json_object_get(run, "plan");
    const char *verdict = report_jstr(run, "verdict", NULL);
    buf_addf(b, "## %s faultline: ", verdict_mark(verdict));
    md_text(b, report_jstr(plan, "name", "(no plan)"));
    buf_adds(b, " ");
    md_text(b, verdict_word(verdict));
    buf_adds(b, "\n\n");

    const char *desc = report_jstr(plan, "description", NULL);
    if (desc && *desc) {
        buf_adds(b, "> ");
        md_text(b, desc);
        buf_adds(b, "\n\n");
    }

    /* one line of facts */
    struct buf facts;
    buf_init(&facts, 4096);
    if (json_is_number(json_object_get(run, "exit_code"))) buf_addf(&facts, "exit %lld", (long long)report_jnum(run, "exit_code", 0));
    if (json_is_number(json_object_get(run, "elapsed_ms"))) {
        char d[32];
        report_fmt_time(report_jnum(run, "elapsed_ms", 0), d);
        buf_addf(&facts, "%s%s", facts.len ? " · " : "", d);
    }
    if (json_is_integer(json_object_get(run, "seed")))
        buf_addf(&facts, "%sseed %llu", facts.len ? " · " : "",
                 (unsigned long long)json_integer_value(json_object_get(run, "seed")));
    if (facts.len) {
        md_text(b, facts.data);
        buf_adds(b, "  \n");
    }
    buf_release(&facts);
    const char *path = report_jstr(plan, "path", NULL), *hash = report_jstr(plan, "hash", NULL), *started = report_jstr(run, "started_at", NULL);
    if (path || started) {
        if (path) { buf_adds(b, "plan "); md_text(b, path); }
        if (hash) { buf_adds(b, " ("); md_text(b, hash); buf_adds(b, ")"); }
        if (started) { buf_adds(b, path ? ", started " : "started "); md_text(b, started); }
        buf_adds(b, "\n\n");
    }
}

/* why the run did not pass, and what could not be judged */
static void md_reasons(const json_t *run, struct buf *b)
{
    const char *reason = report_jstr(run, "reason", NULL);
    if (reason) {
        buf_adds(b, "**Reason:** ");
        md_text(b, reason);
        buf_adds(b, "\n\n");
    }
    const json_t *inc = json_object_get(run, "inconclusive");
    if (json_array_size(inc)) {
        buf_adds(b, "**Not judged (no evidence either way; CI does not pass on them):**\n\n");
        for (size_t i = 0; i < json_array_size(inc) && i < MD_MAX_ROWS; i++) {
            const json_t *x = json_array_get(inc, i);
            buf_adds(b, "- ❔ ");
            md_text(b, report_jstr(x, "what", ""));
            buf_adds(b, " `");
            for (const char *q = report_jstr(x, "name", ""); *q; q++) if (*q != '`' && *q != '\n') buf_addc(b, *q);
            buf_adds(b, "`: ");
            md_text(b, report_jstr(x, "reason", ""));
            buf_adds(b, "\n");
        }
        buf_adds(b, "\n");
    }
}

/* how many probes held, how many faults went in and out cleanly, the steady state, the thresholds */
static void md_counts(const json_t *run, struct buf *b)
{
    int ptotal = 0, ppassed = 0, pinc = 0;
    const json_t *ss = json_object_get(run, "steady_state");
    tally_probes(json_object_get(run, "probes"), &ptotal, &ppassed, &pinc);
    const json_t *steps = json_object_get(run, "steps");
    int sfail = 0;
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const char *st = report_jstr(json_array_get(steps, i), "status", "");
        if (!strcmp(st, "revert_failed") || !strcmp(st, "inject_failed")) sfail++;
    }
    if (ss || ptotal || json_array_size(steps)) {
        buf_addf(b, "**%d/%d probes held**", ppassed, ptotal);
        if (pinc) buf_addf(b, " (%d inconclusive: no evidence)", pinc);
        buf_addf(b, " · **%zu faults**%s", json_array_size(steps),
                 sfail ? "" : (json_array_size(steps) ? " injected and reverted cleanly" : ""));
        if (sfail) buf_addf(b, ", %d with a failed inject or revert", sfail);
        if (ss && !strcmp(report_jstr(ss, "before_verdict", ""), "none")) {
            buf_adds(b, " · steady state — (none declared)");
        } else if (ss) {
            buf_addf(b, " · steady state %s before, %s after", steady_words(ss, "before_verdict", "held_before"),
                     steady_words(ss, "after_verdict", "held_after"));
        }
        const char *tw = report_thresholds_word(run);
        if (tw) buf_addf(b, " · thresholds %s", !strcmp(tw, "failed") ? "**failed**" : !strcmp(tw, "held") ? "held" : "*not judged*");
        buf_adds(b, "\n\n");
    }
}

/* a table per part of the record */
static void md_sections(const json_t *run, struct buf *b)
{
    const json_t *ss = json_object_get(run, "steady_state"), *steps = json_object_get(run, "steps");
    if (json_array_size(json_object_get(run, "matrix"))) {
        buf_adds(b, "### Contingency\n\n");
        matrix_table(b, json_object_get(run, "matrix"));
        buf_adds(b, "\n");
    }
    if (json_array_size(steps)) {
        buf_adds(b, "### Faults\n\n");
        steps_table(b, steps);
        buf_adds(b, "\n");
    }
    if (json_array_size(json_object_get(run, "probes"))) {
        buf_adds(b, "### Probes\n\n");
        probe_table(b, json_object_get(run, "probes"), 1);
        buf_adds(b, "\n");
    }
    if (json_array_size(json_object_get(ss, "before")) || json_array_size(json_object_get(ss, "after"))) {
        buf_adds(b, "### Steady state\n\n");
        if (json_array_size(json_object_get(ss, "before"))) {
            buf_adds(b, "Before the first fault:\n\n");
            probe_table(b, json_object_get(ss, "before"), 0);
            buf_adds(b, "\n");
        }
        if (json_array_size(json_object_get(ss, "after"))) {
            buf_adds(b, "After the last revert:\n\n");
            probe_table(b, json_object_get(ss, "after"), 0);
            buf_adds(b, "\n");
        }
    }
    if (json_array_size(json_object_get(run, "load"))) {
        buf_adds(b, "### Load\n\n");
        load_tables(b, json_object_get(run, "load"));
        buf_adds(b, "\n");
    }
    if (json_array_size(json_object_get(run, "stop_when"))) {
        buf_adds(b, "### Stop conditions\n\n");
        probe_table(b, json_object_get(run, "stop_when"), 0);
        buf_adds(b, "\n");
    }
    if (json_array_size(json_object_get(run, "rollback"))) {
        buf_adds(b, "### Rollback\n\n");
        rollback_table(b, json_object_get(run, "rollback"));
        buf_adds(b, "\n");
    }
}

/* the event timeline (folded), what to do after a failed revert, the footer */
static void md_tail(const json_t *run, struct buf *b)
{
    const char *verdict = report_jstr(run, "verdict", NULL);
    const json_t *ev = json_object_get(run, "events");
    size_t nev = json_array_size(ev);
    if (nev) {
        buf_addf(b, "<details><summary>Timeline (%zu events)</summary>\n\n", nev);
        for (size_t i = 0; i < nev && i < 200; i++) {
            const json_t *e = json_array_get(ev, i);
            char t[32];
            fmt_at(e, "t_ms", t);
            buf_addf(b, "- `%s` ", t);
            md_put(b, report_jstr(e, "text", ""), 500);
            buf_adds(b, "\n");
        }
        if (nev > 200) buf_addf(b, "- _%zu more in run.json_\n", nev - 200);
        buf_adds(b, "\n</details>\n\n");
    }
    const char *journal = report_jstr(run, "journal", NULL);
    if (verdict && !strcmp(verdict, "revert_failed")) {
        buf_adds(b, "**A revert failed:** something is still broken. Retry with `faultline rollback");
        if (journal) {
            buf_adds(b, " ");
            /* inside a code span only a backtick matters */
            for (const char *p = journal; *p; p++) if (*p != '`' && *p != '\n') buf_addc(b, *p);
        }
        buf_adds(b, "`.\n\n");
    }
    buf_addf(b, "<sub>faultline %s · full record in run.json</sub>\n",
             json_is_string(json_object_get(run, "faultline_version")) ? report_jstr(run, "faultline_version", "") : FL_VERSION);
}

static void md_render(json_t *run, struct buf *b)
{
    md_headline(run, b);
    md_reasons(run, b);
    md_counts(run, b);
    md_sections(run, b);
    md_tail(run, b);
}

int report_markdown(json_t *run, const char *path, char *err)
{
    struct buf b;
    buf_init(&b, 0);
    md_render(run, &b);
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the report is too large", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}
