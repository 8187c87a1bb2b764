/* html.c -- report.html from the run record: one self-contained page (inline CSS and SVG,
 * no script, no network) that a person reads after a run.
 *
 * Per load block: latency (p50/p95/p99, log scale), throughput and error rate per second,
 * each with the fault windows (steps' injected_at_ms..reverted_at_ms) shaded and labelled
 * and each recovery (a recovery probe's value: ms from its step's revert) marked. Then a
 * timeline of steps and probe windows, the probe table with its evidence (failed apart from
 * inconclusive: grey, with the reason), steady state, steps, thresholds, stop conditions, rollback and the
 * event log. Every string from the record passes through buf_add_html().
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "fl.h"
#include "report.h"
#include "report_fmt.h"

#define HTML_MAX_ROWS 2000      /* per table (events, observations); run.json has all */
#define LABEL_CHARS 28          /* characters of a name inside a chart before it is cut */
#define CHART_W 1080
#define CHART_H 210
#define PAD_L 70
#define PAD_R 20
#define PAD_T 34
#define PAD_B 30
#define TL_ROW 22               /* height of a row of the timeline chart */
#define TL_LABEL 230            /* width of the timeline's name column */

/* a fault window on the run clock (ms) */
struct window {
    const char *name, *fault, *target, *status;
    double from, to;
    int open;                   /* never reverted: shaded to the end of the run */
};

/* a recovery mark: when a recovery probe saw the target healthy again (or gave up) */
struct mark {
    const char *probe, *step;
    double at;                  /* run clock, ms */
    double after;               /* ms after the revert (recovered), or NAN */
    int recovered;
};

struct page {
    struct buf *b;
    const json_t *run;
    struct window *win;
    size_t nwin;
    struct mark *marks;
    size_t nmarks;
    double end_ms;              /* right edge of every time axis */
};

/* ---------------------------------------------------------------- text helpers */

static void esc(struct buf *b, const char *s) { buf_add_html(b, s ? s : ""); }

/* markup as one template: fmt as it stands, each %s its argument escaped (NULL: nothing),
 * %% a '%'. Only %s: numbers go through buf_addf */
static void htmlf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void htmlf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p;) {
        const char *pc = strchr(p, '%');
        if (!pc) { buf_adds(b, p); break; }
        buf_add(b, p, (size_t)(pc - p));
        if (pc[1] == 's') esc(b, va_arg(ap, const char *));
        else if (pc[1] == '%') buf_addc(b, '%');
        p = pc[1] ? pc + 2 : pc + 1;
    }
    va_end(ap);
}

/* s escaped and cut after max characters (UTF-8 aware), with an ellipsis */
static void esc_cut(struct buf *b, const char *s, size_t max)
{
    if (!s) return;
    size_t chars = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == max) break;
            chars++;
        }
    }
    if (!s[i]) { esc(b, s); return; }
    char *t = fl_strndup(s, i);
    esc(b, t);
    free(t);
    buf_adds(b, "…");
}

static void num(struct buf *b, double v) { buf_addf(b, "%.1f", v); }

/* a point on the run clock for axes and the event log: "0s", "2.5s", "12s", "5m", "5m30s",
 * "1h05m" (whole units stay short; report_fmt_time for anything else) */
static void clock_time(double ms, char out[32])
{
    long long s = (long long)(ms / 1000.0);
    int whole = ms >= 0 && (double)s * 1000.0 == ms;
    if (ms == 0) snprintf(out, 32, "0s");
    else if (whole && s < 60) snprintf(out, 32, "%llds", s);
    else if (whole && s < 3600) snprintf(out, 32, s % 60 ? "%lldm%02llds" : "%lldm", s / 60, s % 60);
    else if (whole && s % 60 == 0) snprintf(out, 32, s % 3600 ? "%lldh%02lldm" : "%lldh", s / 3600, s % 3600 / 60);
    else report_fmt_time(ms, out);
}

static void fmt_opt_time(const json_t *o, const char *key, char out[32])
{
    const json_t *v = json_object_get(o, key);
    if (json_is_number(v)) report_fmt_time(json_number_value(v), out);
    else snprintf(out, 32, "-");
}

static const char *verdict_class(const char *v)
{
    if (!v) return "unknown";
    if (!strcmp(v, "passed") || !strcmp(v, "reverted") || !strcmp(v, "held") || !strcmp(v, "injected_no_revert")) return "good";
    if (!strcmp(v, "failed") || !strcmp(v, "inject_failed") || !strcmp(v, "tripped")) return "bad";
    if (!strcmp(v, "revert_failed") || !strcmp(v, "aborted")) return "worst";
    if (!strcmp(v, "inconclusive") || !strcmp(v, "skipped")) return "inconclusive";
    return "neutral";
}

static void badge(struct buf *b, const char *text)
{
    buf_addf(b, "<span class=\"badge %s\">", verdict_class(text));
    esc(b, text ? text : "no result");
    buf_adds(b, "</span>");
}

/* a table row of cells: text, code, a number, a verdict badge */
enum cell_kind { CELL_TEXT, CELL_CODE, CELL_NUM, CELL_BADGE };
struct cell { enum cell_kind kind; const char *text; long long num; };

static void table_row(struct buf *b, const char *tr_class, const struct cell *cells, size_t n)
{
    buf_adds(b, "<tr");
    if (tr_class) buf_addf(b, " class=\"%s\"", tr_class);
    buf_adds(b, ">");
    for (size_t i = 0; i < n; i++) {
        const struct cell *c = &cells[i];
        switch (c->kind) {
        case CELL_TEXT: htmlf(b, "<td>%s</td>", c->text); break;
        case CELL_CODE: htmlf(b, "<td><code>%s</code></td>", c->text); break;
        case CELL_NUM: buf_addf(b, "<td class=\"num\">%lld</td>", c->num); break;
        case CELL_BADGE: buf_adds(b, "<td>"); badge(b, c->text); buf_adds(b, "</td>"); break;
        }
    }
    buf_adds(b, "</tr>\n");
}

/* ---------------------------------------------------------------- the page frame */

static const char CSS[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:0;color:#1d2330;background:#f4f5f7}"
    "main{max-width:1140px;margin:0 auto;padding:20px 24px 60px}"
    "h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}"
    "h3{font-size:16px;margin:22px 0 6px}"
    ".meta{color:#4b5565;margin:2px 0}.meta code{font-size:12px}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;white-space:nowrap}"
    ".badge.good{background:#d9f2df;color:#17662c}.badge.bad{background:#fbdcdc;color:#9b1c1c}"
    ".badge.worst{background:#5c1010;color:#fff}.badge.neutral,.badge.unknown{background:#e4e7ec;color:#39404d}"
    ".badge.inconclusive{background:#d1d5db;color:#374151;border:1px dashed #6b7280}"
    "tr.probe.inconclusive td{background:#f3f4f6;color:#4b5563}"
    ".verdict{font-size:18px;padding:3px 14px}"
    ".reason{display:inline-block;font-size:11px;font-weight:700;padding:0 6px;border-radius:4px;margin-right:4px}"
    ".reason.unhealthy{background:#fbdcdc;color:#9b1c1c}.reason.could_not_run{background:#fde9c8;color:#8a4b00}"
    ".reason.not_run,.reason.inconclusive{background:#e4e7ec;color:#39404d}"
    ".cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}"
    ".card{background:#fff;border:1px solid #d5d9e0;border-radius:8px;padding:10px 16px;min-width:120px}"
    ".card b{display:block;font-size:20px}"
    "table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0 10px;font-size:13px}"
    "th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#eef0f4;font-weight:600}td.num{text-align:right;white-space:nowrap}"
    "tr.bad td{background:#fff6f6}"
    ".chart{background:#fff;border:1px solid #d5d9e0;border-radius:8px;margin:8px 0;display:block}"
    ".chart text{font:11px system-ui,sans-serif;fill:#39404d}"
    ".chart .title{font-size:13px;font-weight:600;fill:#1d2330}"
    ".chart .grid{stroke:#e8ebf0}.chart .axis{stroke:#8a93a3}"
    ".chart .fault-window{fill:#f59e0b;fill-opacity:.18;stroke:#d97706;stroke-opacity:.5}"
    ".chart .fault-label{fill:#92400e;font-weight:600}"
    ".chart .fault-label,.chart .recovery-label,.chart .recovery-fail-label{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".chart .recovery-mark{stroke:#15803d;stroke-width:1.5;stroke-dasharray:4 3}"
    ".chart .recovery-label{fill:#15803d;font-weight:600}"
    ".chart .recovery-fail{stroke:#b91c1c;stroke-width:1.5;stroke-dasharray:4 3}"
    ".chart .recovery-fail-label{fill:#b91c1c;font-weight:600}"
    ".chart .none{fill:#8a93a3;font-style:italic}"
    "pre{background:#f7f8fa;border:1px solid #dde1e7;padding:6px;overflow:auto;max-height:300px;font-size:12px}"
    "details summary{cursor:pointer;color:#2952a3}"
    ".muted{color:#6b7280}.evidence{word-break:break-word}"
    "footer{margin-top:40px;color:#6b7280;font-size:12px}";

/* the opening of a page up to <main>: doctype, CSP (no script, no network), the title
 * "faultline: NAME — VERDICT" (escaped) and the style every faultline page shares */
void report_html_open(struct buf *b, const char *name, const char *verdict)
{
    buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
                "<title>faultline: ");
    esc(b, name);
    buf_adds(b, " — ");
    esc(b, verdict);
    buf_addf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", CSS);
}

void report_html_badge(struct buf *b, const char *verdict) { badge(b, verdict); }

static void page_head(struct page *pg)
{
    report_html_open(pg->b, report_jstr(json_object_get(pg->run, "plan"), "name", "run"),
                     report_jstr(pg->run, "verdict", "no result"));
}

static void summary(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *run = pg->run, *plan = json_object_get(run, "plan");
    buf_adds(b, "<header id=\"summary\">\n<h1>");
    esc(b, report_jstr(plan, "name", "(unnamed plan)"));
    buf_adds(b, " <span class=\"badge verdict ");
    buf_adds(b, verdict_class(report_jstr(run, "verdict", NULL)));
    buf_adds(b, "\">");
    esc(b, report_jstr(run, "verdict", "no result"));
    buf_adds(b, "</span></h1>\n");
    const char *desc = report_jstr(plan, "description", NULL);
    if (desc) htmlf(b, "<p>%s</p>\n", desc);
    const json_t *tags = json_object_get(plan, "tags");
    if (json_array_size(tags)) {
        buf_adds(b, "<p class=\"meta\">tags: ");
        for (size_t i = 0; i < json_array_size(tags); i++) {
            if (i) buf_adds(b, ", ");
            esc(b, json_string_value(json_array_get(tags, i)));
        }
        buf_adds(b, "</p>\n");
    }
    const char *reason = report_jstr(run, "reason", NULL);
    if (reason) htmlf(b, "<p class=\"meta\"><b>reason:</b> %s</p>\n", reason);
    const json_t *inc = json_object_get(run, "inconclusive");
    if (json_array_size(inc)) {
        buf_adds(b, "<div class=\"inconclusive-list\"><p class=\"meta\"><span class=\"badge inconclusive\">not judged</span> "
                    "no evidence either way (not a pass):</p><ul>");
        for (size_t i = 0; i < json_array_size(inc) && i < HTML_MAX_ROWS; i++) {
            const json_t *x = json_array_get(inc, i);
            htmlf(b, "<li>%s <b>%s</b>: %s</li>", report_jstr(x, "what", ""), report_jstr(x, "name", ""),
                  report_jstr(x, "reason", ""));
        }
        buf_adds(b, "</ul></div>\n");
    }
    htmlf(b, "<p class=\"meta\">started %s · ended %s", report_jstr(run, "started_at", "-"), report_jstr(run, "ended_at", "-"));
    char t[32];
    fmt_opt_time(run, "elapsed_ms", t);
    buf_addf(b, " · elapsed %s", t);
    fmt_opt_time(plan, "duration_ms", t);
    buf_addf(b, " · planned %s", t);
    const json_t *code = json_object_get(run, "exit_code");
    if (json_is_integer(code)) buf_addf(b, " · exit code %lld", (long long)json_integer_value(code));
    htmlf(b, "</p>\n<p class=\"meta\">plan <code>%s</code> <code>%s</code>", report_jstr(plan, "path", "-"),
          report_jstr(plan, "hash", ""));
    const json_t *seed = json_object_get(run, "seed");
    if (json_is_integer(seed)) buf_addf(b, " · seed <code>%lld</code> (replay: <code>--seed %lld</code>)",
                                        (long long)json_integer_value(seed), (long long)json_integer_value(seed));
    htmlf(b, " · faultline %s", report_jstr(run, "faultline_version", "?"));
    const char *journal = report_jstr(run, "journal", NULL);
    if (journal) htmlf(b, " · journal <code>%s</code>", journal);
    buf_adds(b, "</p>\n");

    /* headline figures */
    const json_t *probes = json_object_get(run, "probes"), *steps = json_object_get(run, "steps");
    size_t np = json_array_size(probes), ppass = 0, pinc = 0, nsteps = json_array_size(steps), sbad = 0;
    for (size_t i = 0; i < np; i++) {
        const char *v = report_verdict(json_array_get(probes, i));
        if (!strcmp(v, "passed")) ppass++;
        else if (!strcmp(v, "inconclusive")) pinc++;
    }
    for (size_t i = 0; i < nsteps; i++) {
        const char *st = report_jstr(json_array_get(steps, i), "status", "");
        if (!strcmp(st, "inject_failed") || !strcmp(st, "revert_failed")) sbad++;
    }
    buf_adds(b, "<div class=\"cards\">");
    buf_addf(b, "<div class=\"card\">probes<b>%zu / %zu passed</b>", ppass, np);
    if (pinc) buf_addf(b, "<span class=\"badge inconclusive\">%zu inconclusive</span>", pinc);
    buf_adds(b, "</div>");
    buf_addf(b, "<div class=\"card\">fault steps<b>%zu</b>%s</div>", nsteps, sbad ? "<span class=\"muted\">some failed</span>" : "");
    const json_t *ss = json_object_get(run, "steady_state");
    if (ss) {
        const char *w[2];
        const char *vk[2] = { "before_verdict", "after_verdict" }, *hk[2] = { "held_before", "held_after" };
        for (int k = 0; k < 2; k++) {
            const char *v = report_jstr(ss, vk[k], NULL);
            const json_t *h = json_object_get(ss, hk[k]);
            w[k] = v ? (!strcmp(v, "passed") ? "held" : !strcmp(v, "failed") ? "broken" : !strcmp(v, "none") ? "—" : "not judged")
                     : json_is_boolean(h) ? (json_is_true(h) ? "held" : "broken") : "-";
        }
        buf_addf(b, "<div class=\"card\">steady state<b>%s / %s</b><span class=\"muted\">before / after</span></div>", w[0],
                 w[1]);
    }
    const char *tw = report_thresholds_word(run);
    if (tw) buf_addf(b, "<div class=\"card\">load thresholds<b>%s</b></div>", tw);
    const json_t *load = json_object_get(run, "load");
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *blk = json_array_get(load, i);
        struct report_load_totals t;
        report_load_totals(blk, &t);
        buf_adds(b, "<div class=\"card\">load ");
        esc(b, report_jstr(blk, "name", ""));
        buf_addf(b, "<b>p95 %s</b><span class=\"muted\">%s · errors %s</span></div>", t.p95, t.rps, t.error_rate);
    }
    buf_adds(b, "</div>\n</header>\n");
}

/* ---------------------------------------------------------------- windows and marks */

static double step_reverted_at(const json_t *run, const char *step)
{
    const json_t *steps = json_object_get(run, "steps");
    for (size_t i = 0; step && i < json_array_size(steps); i++) {
        const json_t *s = json_array_get(steps, i);
        if (!strcmp(report_jstr(s, "name", ""), step)) return report_jnum(s, "reverted_at_ms", NAN);
    }
    return NAN;
}

/* step s's shaded window, from its inject to its revert (open: never reverted), *end pushed
 * past it; 0 for a step that never acted */
static int step_window(const json_t *s, struct window *w, double *end)
{
    const char *status = report_jstr(s, "status", "");
    double from = report_jnum(s, "injected_at_ms", NAN);
    if (!isfinite(from) || !strcmp(status, "inject_failed")) return 0;
    w->name = report_jstr(s, "name", "");
    w->fault = report_jstr(s, "fault", "");
    w->target = report_jstr(s, "target", NULL);
    w->status = status;
    w->from = from;
    w->to = report_jnum(s, "reverted_at_ms", NAN);
    w->open = !isfinite(w->to);
    if (!w->open && w->to > *end) *end = w->to;
    if (from > *end) *end = from;
    return 1;
}

/* probe p's recovery mark (*end pushed past it); 0 for a probe of another kind, or one with
 * nothing to mark */
static int recovery_mark(const json_t *run, const json_t *p, struct mark *m, double *end)
{
    if (strcmp(report_jstr(p, "kind", ""), "recovery")) return 0;
    const char *step = report_jstr(p, "step", NULL);
    double rev = step_reverted_at(run, step);
    const json_t *obs = json_object_get(p, "observations");
    const json_t *o = json_array_get(obs, json_array_size(obs) ? json_array_size(obs) - 1 : 0);
    const json_t *window = json_object_get(p, "window");
    m->probe = report_jstr(p, "name", "");
    m->step = step;
    m->after = NAN;
    if (!strcmp(report_verdict(p), "inconclusive")) {
        return 0; /* no evidence (or too little): neither a recovery nor a failure to mark */
    } else if (o && json_is_true(json_object_get(o, "ok")) && json_is_number(json_object_get(o, "value")) && isfinite(rev)) {
        m->recovered = 1;
        m->after = report_jnum(o, "value", 0);
        m->at = rev + m->after;
    } else {
        m->at = report_jnum(window, "to_ms", NAN);
        if (!isfinite(m->at) || m->at <= 0) m->at = report_jnum(o, "t_ms", NAN);
        if (!isfinite(m->at)) return 0;
    }
    if (m->at > *end) *end = m->at;
    return 1;
}

static void collect(struct page *pg)
{
    const json_t *run = pg->run;
    double end = report_jnum(json_object_get(run, "plan"), "duration_ms", 0);
    const json_t *load = json_object_get(run, "load");
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *series = json_object_get(json_array_get(load, i), "series");
        double s = (double)json_array_size(series) * 1000.0;
        if (s > end) end = s;
    }
    const json_t *cts = json_object_get(json_object_get(run, "resources"), "containers");
    for (size_t i = 0; i < json_array_size(cts); i++) { /* samples run on through the steady state after */
        const json_t *t = json_object_get(json_object_get(json_array_get(cts, i), "series"), "t_ms");
        double s = json_number_value(json_array_get(t, json_array_size(t) ? json_array_size(t) - 1 : 0));
        if (s > end) end = s;
    }
    const json_t *steps = json_object_get(run, "steps"), *probes = json_object_get(run, "probes"), *x;
    size_t i;
    pg->win = fl_calloc(json_array_size(steps) + 1, sizeof *pg->win);
    json_array_foreach(steps, i, x) if (step_window(x, &pg->win[pg->nwin], &end)) pg->nwin++;
    pg->marks = fl_calloc(json_array_size(probes) + 1, sizeof *pg->marks);
    json_array_foreach(probes, i, x) if (recovery_mark(run, x, &pg->marks[pg->nmarks], &end)) pg->nmarks++;
    if (end <= 0) end = 1000;
    pg->end_ms = end;
}

/* ---------------------------------------------------------------- charts */

struct plot {
    double x, y, w, h;          /* plot area in px */
    double t1;                  /* right edge, seconds (left is 0) */
    double lo, hi;              /* value range */
    int log;
};

static double px(const struct plot *p, double t_s) { return p->x + t_s / p->t1 * p->w; }

static double py(const struct plot *p, double v)
{
    double f;
    if (p->log) {
        if (v < p->lo) v = p->lo;
        f = (log10(v) - log10(p->lo)) / (log10(p->hi) - log10(p->lo));
    } else {
        f = (v - p->lo) / (p->hi - p->lo);
    }
    if (f < 0) f = 0;
    if (f > 1) f = 1;
    return p->y + p->h - f * p->h;
}

/* a "nice" step (1, 2 or 5 times a power of ten) so that range/step is about n */
static double nice_step(double range, int n)
{
    if (!(range > 0)) return 1;
    double raw = range / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static double time_step_s(double t1)
{
    static const double steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (t1 / steps[i] <= 12) return steps[i];
    return nice_step(t1, 10);
}

static void x_axis(struct buf *b, const struct plot *p)
{
    double step = time_step_s(p->t1);
    for (double t = 0; t <= p->t1 + 1e-9; t += step) {
        double x = px(p, t);
        char lab[32];
        clock_time(t * 1000.0, lab);
        buf_adds(b, "<line class=\"grid\" x1=\""); num(b, x);
        buf_adds(b, "\" x2=\""); num(b, x);
        buf_adds(b, "\" y1=\""); num(b, p->y);
        buf_adds(b, "\" y2=\""); num(b, p->y + p->h);
        buf_adds(b, "\"/><text text-anchor=\"middle\" x=\""); num(b, x);
        buf_adds(b, "\" y=\""); num(b, p->y + p->h + 16);
        buf_addf(b, "\">%s</text>\n", lab);
    }
    buf_adds(b, "<line class=\"axis\" x1=\""); num(b, p->x);
    buf_adds(b, "\" x2=\""); num(b, p->x + p->w);
    buf_adds(b, "\" y1=\""); num(b, p->y + p->h);
    buf_adds(b, "\" y2=\""); num(b, p->y + p->h);
    buf_adds(b, "\"/>\n");
}

enum unit { U_MS, U_RPS, U_PCT };

static void y_tick(struct buf *b, const struct plot *p, double v, enum unit u)
{
    char lab[48];
    if (u == U_MS && p->log) snprintf(lab, sizeof lab, v < 1000 ? "%gms" : "%gs", v < 1000 ? v : v / 1000.0);
    else if (u == U_MS) report_fmt_ms(v, lab);
    else if (u == U_PCT) snprintf(lab, sizeof lab, "%g%%", v);
    else snprintf(lab, sizeof lab, "%g", v);
    double y = py(p, v);
    buf_adds(b, "<line class=\"grid\" x1=\""); num(b, p->x);
    buf_adds(b, "\" x2=\""); num(b, p->x + p->w);
    buf_adds(b, "\" y1=\""); num(b, y);
    buf_adds(b, "\" y2=\""); num(b, y);
    buf_adds(b, "\"/><text text-anchor=\"end\" x=\""); num(b, p->x - 6);
    buf_adds(b, "\" y=\""); num(b, y + 4);
    buf_addf(b, "\">%s</text>\n", lab);
}

static void y_axis(struct buf *b, const struct plot *p, enum unit u)
{
    if (p->log) {
        for (double v = p->lo; v <= p->hi * 1.0001; v *= 10) y_tick(b, p, v, u);
    } else {
        double step = nice_step(p->hi - p->lo, 4);
        for (double v = p->lo; v <= p->hi + step * 1e-6; v += step) y_tick(b, p, v, u);
    }
    buf_adds(b, "<line class=\"axis\" x1=\""); num(b, p->x);
    buf_adds(b, "\" x2=\""); num(b, p->x);
    buf_adds(b, "\" y1=\""); num(b, p->y);
    buf_adds(b, "\" y2=\""); num(b, p->y + p->h);
    buf_adds(b, "\"/>\n");
}

/* shaded fault windows with their names, stacked on three label rows when they crowd */
static void fault_windows(struct page *pg, const struct plot *p)
{
    struct buf *b = pg->b;
    for (size_t i = 0; i < pg->nwin; i++) {
        const struct window *w = &pg->win[i];
        double x0 = px(p, w->from / 1000.0), x1 = px(p, (w->open ? pg->end_ms : w->to) / 1000.0);
        if (x1 - x0 < 2) x1 = x0 + 2;
        char from[32], to[32];
        report_fmt_time(w->from, from);
        if (w->open) snprintf(to, sizeof to, "end (never reverted)");
        else report_fmt_time(w->to, to);
        buf_adds(b, "<g class=\"fault\"><rect class=\"fault-window\" x=\""); num(b, x0);
        buf_adds(b, "\" y=\""); num(b, p->y);
        buf_adds(b, "\" width=\""); num(b, x1 - x0);
        buf_adds(b, "\" height=\""); num(b, p->h);
        buf_adds(b, "\"><title>");
        esc(b, w->name);
        buf_adds(b, ": ");
        esc(b, w->fault);
        if (w->target) { buf_adds(b, " on "); esc(b, w->target); }
        buf_addf(b, ", %s – %s (", from, to);
        esc(b, w->status);
        buf_adds(b, ")</title></rect><text class=\"fault-label\" x=\""); num(b, x0 + 3);
        buf_adds(b, "\" y=\""); num(b, p->y + 12 + (double)(i % 3) * 12);
        buf_adds(b, "\">");
        esc_cut(b, w->name, LABEL_CHARS);
        buf_adds(b, "</text></g>\n");
    }
}

/* a chart's <svg> opening, labelled "name: title" for screen readers, its title, both axes
 * and the fault windows behind what is drawn next */
static void chart_open(struct page *pg, const struct plot *p, const char *cls, const char *name, const char *title,
                       enum unit u)
{
    struct buf *b = pg->b;
    buf_addf(b, "<svg class=\"chart %s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
             cls, CHART_W, CHART_H, CHART_W, CHART_H);
    esc(b, name);
    buf_addf(b, ": %s\">\n<text class=\"title\" x=\"%d\" y=\"16\">%s</text>\n", title, PAD_L, title);
    y_axis(b, p, u);
    x_axis(b, p);
    fault_windows(pg, p);
}

static void recovery_marks(struct page *pg, const struct plot *p)
{
    struct buf *b = pg->b;
    for (size_t i = 0; i < pg->nmarks; i++) {
        const struct mark *m = &pg->marks[i];
        double x = px(p, m->at / 1000.0);
        char t[32];
        report_fmt_time(m->after, t);
        buf_addf(b, "<g class=\"recovery\"><line class=\"%s\" x1=\"", m->recovered ? "recovery-mark" : "recovery-fail");
        num(b, x);
        buf_adds(b, "\" x2=\""); num(b, x);
        buf_adds(b, "\" y1=\""); num(b, p->y);
        buf_adds(b, "\" y2=\""); num(b, p->y + p->h);
        buf_adds(b, "\"><title>");
        esc(b, m->probe);
        if (m->recovered) buf_addf(b, ": recovered %s after the revert of '", t);
        else buf_adds(b, ": not recovered after '");
        esc(b, m->step);
        buf_adds(b, "'</title></line><text text-anchor=\"start\" x=\""); num(b, x + 3);
        buf_adds(b, "\" y=\""); num(b, p->y + p->h - 6 - (double)(i % 3) * 12);
        buf_addf(b, "\" class=\"%s\">", m->recovered ? "recovery-label" : "recovery-fail-label");
        if (m->recovered) buf_addf(b, "✓ recovered +%s", t);
        else buf_adds(b, "✗ not recovered");
        buf_adds(b, "</text></g>\n");
    }
}

/* one line of a series; seconds without requests break it (isolated points get a dot) */
static void series_line(struct buf *b, const struct plot *p, const json_t *series, const char *key, const char *color,
                        int per_request)
{
    size_t n = json_array_size(series);
    buf_addf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" stroke-linejoin=\"round\" class=\"line-%s\" d=\"", color, key);
    int pen = 0;
    struct buf dots;
    buf_init(&dots, 0);
    for (size_t i = 0; i < n; i++) {
        const json_t *w = json_array_get(series, i);
        double t = report_jnum(w, "t", (double)i) + 0.5;
        int has = !per_request || report_jnum(w, "count", 0) > 0;
        double v = report_jnum(w, key, NAN);
        if (!has || !isfinite(v)) { pen = 0; continue; }
        int next = 0;
        if (i + 1 < n) {
            const json_t *nw = json_array_get(series, i + 1);
            next = (!per_request || report_jnum(nw, "count", 0) > 0) && isfinite(report_jnum(nw, key, NAN));
        }
        if (!pen && !next) {
            buf_addf(&dots, "<circle r=\"2.5\" fill=\"%s\" cx=\"", color);
            num(&dots, px(p, t));
            buf_adds(&dots, "\" cy=\"");
            num(&dots, py(p, v));
            buf_adds(&dots, "\"/>");
        }
        buf_adds(b, pen ? " L" : " M");
        num(b, px(p, t));
        buf_adds(b, " ");
        num(b, py(p, v));
        pen = 1;
    }
    buf_adds(b, "\"/>\n");
    buf_add(b, dots.data, dots.len);
    buf_release(&dots);
}

static void legend(struct buf *b, const struct plot *p, const char *const *names, const char *const *colors, size_t n)
{
    double x = p->x + p->w;
    buf_adds(b, "<g class=\"legend\">");
    for (size_t i = n; i-- > 0;) {
        x -= 8 + 7.0 * (double)strlen(names[i]) + 18;
        buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"4\" fill=\"%s\"/>", x, p->y - 14, colors[i]);
        buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", x + 16, p->y - 9, names[i]);
    }
    buf_adds(b, "</g>\n");
}

enum chart_kind { CH_LATENCY, CH_RPS, CH_ERRORS };

static void chart(struct page *pg, const json_t *blk, enum chart_kind kind)
{
    struct buf *b = pg->b;
    const json_t *series = json_object_get(blk, "series");
    size_t n = json_array_size(series);
    struct plot p = { PAD_L, PAD_T, CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B, pg->end_ms / 1000.0, 0, 1, 0 };
    static const char *const lat_keys[] = { "p50", "p95", "p99" };
    static const char *const lat_colors[] = { "#2563eb", "#d97706", "#b91c1c" };
    double vmin = INFINITY, vmax = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *w = json_array_get(series, i);
        double count = report_jnum(w, "count", 0);
        if (kind == CH_LATENCY) {
            if (count <= 0) continue;
            for (size_t k = 0; k < 3; k++) {
                double v = report_jnum(w, lat_keys[k], NAN);
                if (isfinite(v) && v > 0) { if (v < vmin) vmin = v; if (v > vmax) vmax = v; }
            }
        } else if (kind == CH_RPS) {
            double v = report_jnum(w, "rps", 0);
            if (v > vmax) vmax = v;
        } else if (count > 0) {
            double v = 100.0 * report_jnum(w, "errors", 0) / count;
            if (v > vmax) vmax = v;
        }
    }
    const char *title, *cls;
    enum unit u;
    if (kind == CH_LATENCY) {
        title = "latency per second: p50 / p95 / p99 (log scale)";
        cls = "latency";
        u = U_MS;
        p.log = 1;
        if (!(vmax > 0)) { vmin = 1; vmax = 10; }
        p.lo = pow(10, floor(log10(vmin)));
        p.hi = pow(10, ceil(log10(vmax)));
        if (p.hi <= p.lo) p.hi = p.lo * 10;
    } else if (kind == CH_RPS) {
        title = "throughput: completed requests per second";
        cls = "rps";
        u = U_RPS;
        double step = nice_step(vmax > 0 ? vmax : 1, 4);
        p.hi = ceil((vmax > 0 ? vmax : 1) / step) * step;
    } else {
        title = "error rate per second (failed / completed requests)";
        cls = "errors";
        u = U_PCT;
        double top = vmax > 0 ? vmax : 1;
        double step = nice_step(top, 4);
        p.hi = ceil(top / step) * step;
        if (p.hi > 100) p.hi = 100;
    }
    chart_open(pg, &p, cls, report_jstr(blk, "name", ""), title, u);
    if (kind == CH_LATENCY) {
        for (size_t k = 0; k < 3; k++) series_line(b, &p, series, lat_keys[k], lat_colors[k], 1);
        legend(b, &p, lat_keys, lat_colors, 3);
    } else if (kind == CH_RPS) {
        /* area under the line, then the line */
        if (n) {
            buf_adds(b, "<path fill=\"#2563eb\" fill-opacity=\".12\" stroke=\"none\" d=\"M");
            num(b, px(&p, report_jnum(json_array_get(series, 0), "t", 0) + 0.5));
            buf_adds(b, " ");
            num(b, py(&p, 0));
            for (size_t i = 0; i < n; i++) {
                const json_t *w = json_array_get(series, i);
                buf_adds(b, " L");
                num(b, px(&p, report_jnum(w, "t", (double)i) + 0.5));
                buf_adds(b, " ");
                num(b, py(&p, report_jnum(w, "rps", 0)));
            }
            buf_adds(b, " L");
            num(b, px(&p, report_jnum(json_array_get(series, n - 1), "t", (double)n - 1) + 0.5));
            buf_adds(b, " ");
            num(b, py(&p, 0));
            buf_adds(b, " Z\"/>\n");
        }
        series_line(b, &p, series, "rps", "#2563eb", 0);
    } else {
        for (size_t i = 0; i < n; i++) {
            const json_t *w = json_array_get(series, i);
            double count = report_jnum(w, "count", 0), errs = report_jnum(w, "errors", 0);
            if (count <= 0 || errs <= 0) continue;
            double t = report_jnum(w, "t", (double)i), rate = 100.0 * errs / count;
            double x0 = px(&p, t) + 0.5, x1 = px(&p, t + 1) - 0.5, y = py(&p, rate);
            buf_adds(b, "<rect class=\"err-bar\" fill=\"#dc2626\" fill-opacity=\".75\" x=\""); num(b, x0);
            buf_adds(b, "\" y=\""); num(b, y);
            buf_adds(b, "\" width=\""); num(b, x1 - x0 > 1 ? x1 - x0 : 1);
            buf_adds(b, "\" height=\""); num(b, p.y + p.h - y);
            buf_addf(b, "\"><title>%gs: %.0f of %.0f failed (%.1f%%)</title></rect>\n", t, errs, count, rate);
        }
    }
    recovery_marks(pg, &p);
    if (!n) buf_addf(b, "<text class=\"none\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no per-second data</text>\n",
                     p.x + p.w / 2, p.y + p.h / 2);
    buf_adds(b, "</svg>\n");
}

static void metric_cells(struct buf *b, const json_t *o)
{
    static const char *const m[] = { "count", "rps", "p50", "p95", "p99", "max", "error_rate" };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        char v[48];
        report_fmt_metric(m[k], json_object_get(o, m[k]), v);
        buf_addf(b, "<td class=\"num\">%s</td>", v);
    }
}

static void load_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *load = json_object_get(pg->run, "load");
    if (!json_array_size(load)) return;
    buf_adds(b, "<section id=\"load\">\n<h2>Load</h2>\n");
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *blk = json_array_get(load, i);
        htmlf(b, "<div class=\"load-block\">\n<h3>%s</h3>\n<p class=\"meta\">%s", report_jstr(blk, "name", ""),
              report_jstr(blk, "description", ""));
        const char *url = report_jstr(blk, "base_url", NULL);
        if (url) htmlf(b, " · <code>%s</code>", url);
        buf_adds(b, "</p>\n");
        chart(pg, blk, CH_LATENCY);
        chart(pg, blk, CH_RPS);
        chart(pg, blk, CH_ERRORS);

        buf_adds(b, "<table class=\"totals\"><tr><th></th><th>requests</th><th>rps</th><th>p50</th><th>p95</th><th>p99</th>"
                    "<th>max</th><th>error rate</th></tr>\n<tr><td>whole run</td>");
        metric_cells(b, json_object_get(blk, "totals"));
        buf_adds(b, "</tr>\n");
        const json_t *eps = json_object_get(blk, "endpoints");
        for (size_t k = 0; k < json_array_size(eps) && k < HTML_MAX_ROWS; k++) {
            const json_t *e = json_array_get(eps, k);
            buf_adds(b, "<tr><td>");
            esc(b, report_jstr(e, "method", ""));
            buf_adds(b, " ");
            /* an outside load tool's endpoint has its request name, no path */
            esc(b, report_jstr(e, "path", NULL) ? report_jstr(e, "path", "") : report_jstr(e, "name", ""));
            buf_adds(b, "</td>");
            metric_cells(b, e);
            buf_adds(b, "</tr>\n");
        }
        buf_adds(b, "</table>\n");
        const json_t *th = json_object_get(blk, "thresholds");
        if (json_array_size(th)) {
            buf_adds(b, "<table class=\"thresholds\"><tr><th>threshold (whole run)</th><th>observed</th><th>verdict</th></tr>\n");
            for (size_t k = 0; k < json_array_size(th); k++) {
                const json_t *t = json_array_get(th, k);
                int ok = json_is_true(json_object_get(t, "ok")), none = json_is_null(json_object_get(t, "ok"));
                char v[48];
                report_fmt_metric(report_jstr(t, "metric", NULL), json_object_get(t, "value"), v);
                buf_addf(b, "<tr%s><td>", ok ? "" : none ? " class=\"probe inconclusive\"" : " class=\"bad\"");
                esc(b, report_jstr(t, "expect", ""));
                buf_addf(b, "</td><td class=\"num\">%s</td><td>", none ? "no request completed" : v);
                badge(b, ok ? "passed" : none ? "inconclusive" : "failed");
                buf_adds(b, "</td></tr>\n");
            }
            buf_adds(b, "</table>\n");
        }
        buf_adds(b, "</div>\n");
    }
    buf_adds(b, "</section>\n");
}

/* ---------------------------------------------------------------- container resources */

/* one chart of a container's series (run.json resources: parallel arrays t_ms and key),
 * values scaled by `scale`, the fault windows shaded */
static void res_chart(struct page *pg, const json_t *ct, const char *key, double scale, const char *title,
                      const char *cls, const char *color, enum unit u)
{
    struct buf *b = pg->b;
    const json_t *series = json_object_get(ct, "series");
    const json_t *t = json_object_get(series, "t_ms"), *v = json_object_get(series, key);
    size_t n = json_array_size(t) < json_array_size(v) ? json_array_size(t) : json_array_size(v);
    struct plot p = { PAD_L, PAD_T, CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B, pg->end_ms / 1000.0, 0, 1, 0 };
    double vmax = 0;
    for (size_t i = 0; i < n; i++) {
        double x = json_number_value(json_array_get(v, i)) / scale;
        if (json_is_number(json_array_get(v, i)) && x > vmax) vmax = x;
    }
    double step = nice_step(vmax > 0 ? vmax : 1, 4);
    p.hi = ceil((vmax > 0 ? vmax : 1) / step) * step;
    if (p.hi <= vmax) p.hi += step;
    chart_open(pg, &p, cls, report_jstr(ct, "name", ""), title, u);
    buf_addf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" stroke-linejoin=\"round\" class=\"line-%s\" d=\"", color, key);
    int pen = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_number(x)) { pen = 0; continue; } /* a second without a sample breaks the line */
        buf_adds(b, pen ? " L" : " M");
        num(b, px(&p, json_number_value(json_array_get(t, i)) / 1000.0));
        buf_adds(b, " ");
        num(b, py(&p, json_number_value(x) / scale));
        pen = 1;
    }
    buf_adds(b, "\"/>\n");
    if (!n) buf_addf(b, "<text class=\"none\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no sample</text>\n",
                     p.x + p.w / 2, p.y + p.h / 2);
    buf_adds(b, "</svg>\n");
}

static void resources_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *cts = json_object_get(json_object_get(pg->run, "resources"), "containers");
    if (!json_array_size(cts)) return;
    buf_adds(b, "<section id=\"resources\">\n<h2>Container resources</h2>\n");
    for (size_t i = 0; i < json_array_size(cts) && i < HTML_MAX_ROWS; i++) {
        const json_t *ct = json_array_get(cts, i);
        htmlf(b, "<div class=\"container-resources\">\n<h3>%s</h3>\n<p class=\"meta\">target <code>%s</code>",
              report_jstr(ct, "name", ""), report_jstr(ct, "target", ""));
        const json_t *mem = json_object_get(json_object_get(ct, "series"), "memory_bytes");
        const json_t *lim = json_object_get(json_object_get(ct, "series"), "memory_limit_bytes");
        buf_addf(b, " · %zu samples", json_array_size(mem));
        double l = json_number_value(json_array_get(lim, json_array_size(lim) ? json_array_size(lim) - 1 : 0));
        if (l > 0) buf_addf(b, " · memory limit %.0f MiB", l / (1024.0 * 1024));
        long errs = (long)json_integer_value(json_object_get(ct, "errors"));
        if (errs) {
            buf_addf(b, " · %ld stats call%s without a sample", errs, errs == 1 ? "" : "s");
            const char *le = report_jstr(ct, "last_error", NULL);
            if (le) htmlf(b, " (last: %s)", le);
        }
        buf_adds(b, "</p>\n");
        res_chart(pg, ct, "memory_bytes", 1024.0 * 1024, "memory (MiB, as docker stats counts it)", "memory", "#7c3aed", U_RPS);
        res_chart(pg, ct, "cpu_pct", 1, "CPU (% of one core)", "cpu", "#0891b2", U_PCT);
        buf_adds(b, "</div>\n");
    }
    buf_adds(b, "</section>\n");
}

/* ---------------------------------------------------------------- timeline chart */

/* one bar of the timeline, its tooltip opened with "name: state" (the caller closes it) */
static void tl_bar(struct buf *b, const char *attrs, double x0, double x1, double y, int height, const char *name,
                   const char *state)
{
    buf_addf(b, "<rect %s rx=\"3\" x=\"", attrs);
    num(b, x0);
    buf_adds(b, "\" y=\""); num(b, y);
    buf_adds(b, "\" width=\""); num(b, x1 - x0);
    buf_addf(b, "\" height=\"%d\"><title>", height);
    esc(b, name);
    buf_adds(b, ": ");
    esc(b, state);
}

static void timeline_chart(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *steps = json_object_get(pg->run, "steps"), *probes = json_object_get(pg->run, "probes");
    size_t ns = json_array_size(steps), np = json_array_size(probes);
    if (!ns && !np) return;
    size_t rows = ns + np;
    if (rows > 200) rows = 200;
    int h = PAD_T + (int)rows * TL_ROW + PAD_B;
    struct plot p = { TL_LABEL, PAD_T, CHART_W - TL_LABEL - PAD_R, (double)rows * TL_ROW, pg->end_ms / 1000.0, 0, 1, 0 };
    buf_addf(b, "<svg class=\"chart timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "role=\"img\" aria-label=\"timeline of fault steps and probe windows\">\n"
                "<text class=\"title\" x=\"10\" y=\"16\">fault steps (orange) and probe windows (green passed, red failed, grey inconclusive)</text>\n",
             CHART_W, h, CHART_W, h);
    x_axis(b, &p);
    size_t row = 0;
    for (size_t i = 0; i < ns && row < rows; i++, row++) {
        const json_t *s = json_array_get(steps, i);
        double y = p.y + (double)row * TL_ROW;
        buf_adds(b, "<text x=\"10\" y=\""); num(b, y + 15);
        buf_adds(b, "\">⚡ ");
        esc_cut(b, report_jstr(s, "name", ""), LABEL_CHARS);
        buf_adds(b, "</text>");
        double from = report_jnum(s, "injected_at_ms", NAN), to = report_jnum(s, "reverted_at_ms", NAN);
        const char *status = report_jstr(s, "status", "");
        if (!isfinite(from)) from = report_jnum(s, "at_ms", 0);
        if (!isfinite(to)) to = !strcmp(status, "injected_no_revert") || !strcmp(status, "revert_failed") ? pg->end_ms : from;
        double x0 = px(&p, from / 1000.0), x1 = px(&p, to / 1000.0);
        if (x1 - x0 < 3) x1 = x0 + 3;
        const char *fill = !strcmp(status, "inject_failed") || !strcmp(status, "revert_failed") ? "#b91c1c"
                         : !strcmp(status, "skipped") || !strcmp(status, "pending") ? "#9ca3af" : "#f59e0b";
        char attrs[96];
        snprintf(attrs, sizeof attrs, "class=\"tl-step\" fill=\"%s\"", fill);
        tl_bar(b, attrs, x0, x1, y + 4, 14, report_jstr(s, "name", ""), status);
        buf_adds(b, " — ");
        esc(b, report_jstr(s, "description", ""));
        buf_adds(b, "</title></rect>\n");
    }
    for (size_t i = 0; i < np && row < rows; i++, row++) {
        const json_t *pr = json_array_get(probes, i);
        double y = p.y + (double)row * TL_ROW;
        const char *verdict = report_verdict(pr);
        const char *fill = !strcmp(verdict, "passed") ? "#16a34a" : !strcmp(verdict, "failed") ? "#dc2626" : "#9ca3af";
        buf_adds(b, "<text x=\"10\" y=\""); num(b, y + 15);
        buf_adds(b, "\">");
        esc_cut(b, report_jstr(pr, "name", ""), LABEL_CHARS);
        buf_adds(b, "</text>");
        const json_t *w = json_object_get(pr, "window"), *obs = json_object_get(pr, "observations");
        double from = report_jnum(w, "from_ms", 0), to = report_jnum(w, "to_ms", 0);
        if (to <= from && json_array_size(obs)) {   /* a one-off check: its own time */
            from = report_jnum(json_array_get(obs, 0), "t_ms", from);
            to = report_jnum(json_array_get(obs, json_array_size(obs) - 1), "t_ms", from);
        }
        double x0 = px(&p, from / 1000.0), x1 = px(&p, to / 1000.0);
        if (x1 - x0 < 4) { x0 -= 2; x1 = x0 + 4; }
        char attrs[96];
        snprintf(attrs, sizeof attrs, "class=\"tl-probe\" fill=\"%s\" fill-opacity=\".55\"", fill);
        tl_bar(b, attrs, x0, x1, y + 5, 12, report_jstr(pr, "name", ""), verdict);
        buf_adds(b, "</title></rect>");
        size_t no = json_array_size(obs);
        for (size_t k = 0; k < no && k < HTML_MAX_ROWS; k++) {
            const json_t *o = json_array_get(obs, k);
            const char *oc = report_obs_outcome(o);
            if (!strcmp(oc, "passed")) continue;
            double x = px(&p, report_jnum(o, "t_ms", 0) / 1000.0);
            const char *col = !strcmp(oc, "inconclusive") ? "#6b7280" : "#7f1d1d";
            buf_addf(b, "<line stroke=\"%s\" stroke-width=\"2\" x1=\"", col);
            num(b, x);
            buf_adds(b, "\" x2=\""); num(b, x);
            buf_adds(b, "\" y1=\""); num(b, y + 2);
            buf_adds(b, "\" y2=\""); num(b, y + 20);
            buf_adds(b, "\"><title>");
            esc(b, report_jstr(o, "observed", ""));
            buf_adds(b, "</title></line>");
        }
        buf_adds(b, "\n");
    }
    buf_adds(b, "</svg>\n");
    if (ns + np > rows) buf_addf(b, "<p class=\"muted\">%zu more rows in run.json</p>\n", ns + np - rows);
}

/* ---------------------------------------------------------------- tables */

static void evidence(struct buf *b, const json_t *p)
{
    const char *verdict = report_verdict(p);
    const json_t *f = json_object_get(p, "failure"), *obs = json_object_get(p, "observations");
    size_t n = json_array_size(obs);
    if (!strcmp(verdict, "inconclusive") && (json_object_get(p, "reason") || json_object_get(p, "skip_reason"))) {
        buf_adds(b, "<span class=\"reason inconclusive\">no evidence</span>");
        esc(b, report_reason(p, ""));
    } else if (f) {
        const char *reason = report_jstr(f, "reason", "unhealthy");
        const char *word = !strcmp(reason, "could_not_run") ? "could not run" : !strcmp(reason, "not_run") ? "not run" : "unhealthy";
        buf_addf(b, "<span class=\"reason %s\">%s</span>",
                 !strcmp(reason, "could_not_run") ? "could_not_run" : !strcmp(reason, "not_run") ? "not_run" : "unhealthy", word);
        if (json_is_number(json_object_get(f, "t_ms"))) {
            char at[32];
            report_fmt_time(report_jnum(f, "t_ms", 0), at);
            buf_addf(b, "at %s: ", at);
        }
        esc(b, report_jstr(f, "observed", ""));
    } else if (n) {
        esc(b, report_jstr(json_array_get(obs, n - 1), "observed", ""));
    }
    long long checks = (long long)report_jnum(p, "checks", (double)n), failed = (long long)report_jnum(p, "failed_checks", 0);
    long long inc = report_inconclusive_checks(p);
    if (checks > 1 || failed || inc) {
        buf_addf(b, " <span class=\"muted\">(%lld check%s, %lld failed", checks, checks == 1 ? "" : "s", failed);
        if (inc) buf_addf(b, ", %lld without evidence", inc);
        if (json_is_number(json_object_get(p, "evidence")))
            buf_addf(b, "; evidence %lld, min_evidence %lld", (long long)report_jnum(p, "evidence", 0),
                     (long long)report_jnum(p, "min_evidence", 1));
        buf_adds(b, ")</span>");
    }
    const json_t *det = json_object_get(p, "details");
    if (det) {
        char *s = json_dumps(det, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        if (s) {
            buf_adds(b, "<details><summary>details</summary><pre>");
            esc_cut(b, s, 20000);
            buf_adds(b, "</pre></details>");
            free(s);
        }
    }
    if (n > 1) {
        buf_addf(b, "<details><summary>%zu observations</summary><table class=\"obs\"><tr><th>at</th><th>outcome</th><th>observed</th></tr>", n);
        for (size_t k = 0; k < n && k < HTML_MAX_ROWS; k++) {
            const json_t *o = json_array_get(obs, k);
            char at[32];
            report_fmt_time(report_jnum(o, "t_ms", 0), at);
            const char *oc = report_obs_outcome(o);
            buf_addf(b, "<tr%s><td class=\"num\">%s</td><td>%s</td><td>",
                     !strcmp(oc, "passed") ? "" : !strcmp(oc, "failed") ? " class=\"bad\"" : " class=\"probe inconclusive\"", at, oc);
            esc(b, report_jstr(o, "observed", ""));
            buf_adds(b, "</td></tr>");
        }
        buf_adds(b, "</table></details>");
    }
}

static void probe_rows(struct buf *b, const json_t *list, int with_when)
{
    for (size_t i = 0; i < json_array_size(list) && i < HTML_MAX_ROWS; i++) {
        const json_t *p = json_array_get(list, i);
        const char *verdict = json_object_get(p, "verdict") ? report_verdict(p) : NULL;
        const json_t *tripped = json_object_get(p, "tripped");
        if (json_is_true(tripped)) verdict = "tripped";
        else if (json_is_boolean(tripped) && (!verdict || strcmp(verdict, "inconclusive"))) verdict = "held";
        const char *cls = verdict_class(verdict);
        buf_addf(b, "<tr class=\"probe %s\"><td>", !strcmp(cls, "good") ? "ok" : !strcmp(cls, "inconclusive") ? "inconclusive" : "bad");
        esc(b, report_jstr(p, "name", ""));
        buf_adds(b, "</td><td>");
        esc(b, report_jstr(p, "kind", ""));
        buf_adds(b, "</td>");
        if (with_when) {
            buf_adds(b, "<td>");
            esc(b, report_jstr(p, "timing", ""));
            const char *step = report_jstr(p, "step", NULL);
            if (step) htmlf(b, " <i>%s</i>", step);
            const json_t *w = json_object_get(p, "window");
            double from = report_jnum(w, "from_ms", 0), to = report_jnum(w, "to_ms", 0);
            if (to > from) {
                char a[32], z[32];
                report_fmt_time(from, a);
                report_fmt_time(to, z);
                buf_addf(b, "<br><span class=\"muted\">%s – %s</span>", a, z);
            }
            buf_adds(b, "</td>");
        }
        buf_adds(b, "<td>");
        esc(b, report_jstr(p, "expect", ""));
        buf_adds(b, "</td><td>");
        badge(b, verdict);
        buf_adds(b, "</td><td class=\"evidence\">");
        evidence(b, p);
        buf_adds(b, "</td></tr>\n");
    }
    if (json_array_size(list) > HTML_MAX_ROWS)
        buf_addf(b, "<tr><td colspan=\"6\" class=\"muted\">%zu more in run.json</td></tr>\n", json_array_size(list) - HTML_MAX_ROWS);
}

static void probes_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *probes = json_object_get(pg->run, "probes");
    buf_adds(b, "<section id=\"probes\">\n<h2>Probes</h2>\n");
    if (!json_array_size(probes)) { buf_adds(b, "<p class=\"muted\">no probes</p>\n</section>\n"); return; }
    buf_adds(b, "<table class=\"probes\"><tr><th>probe</th><th>kind</th><th>when</th><th>expected</th><th>verdict</th><th>evidence</th></tr>\n");
    probe_rows(b, probes, 1);
    buf_adds(b, "</table>\n</section>\n");
}

static void steady_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *ss = json_object_get(pg->run, "steady_state");
    if (!ss) return;
    buf_adds(b, "<section id=\"steady-state\">\n<h2>Steady state</h2>\n");
    static const char *const parts[] = { "before", "after" };
    static const char *const held[] = { "held_before", "held_after" };
    static const char *const verdicts[] = { "before_verdict", "after_verdict" };
    for (size_t k = 0; k < 2; k++) {
        const json_t *list = json_object_get(ss, parts[k]), *h = json_object_get(ss, held[k]);
        const char *v = report_jstr(ss, verdicts[k], NULL);
        buf_addf(b, "<h3>%s the faults: ", parts[k]);
        badge(b, v ? (!strcmp(v, "passed") ? "held" : !strcmp(v, "none") ? "none declared" : v)
                   : json_is_boolean(h) ? (json_is_true(h) ? "held" : "failed") : "not checked");
        buf_adds(b, "</h3>\n");
        if (!json_array_size(list)) { buf_adds(b, "<p class=\"muted\">no checks</p>\n"); continue; }
        buf_addf(b, "<table class=\"steady-%s\"><tr><th>check</th><th>kind</th><th>expected</th><th>verdict</th><th>evidence</th></tr>\n", parts[k]);
        probe_rows(b, list, 0);
        buf_adds(b, "</table>\n");
    }
    buf_adds(b, "</section>\n");
}

static void steps_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *steps = json_object_get(pg->run, "steps");
    buf_adds(b, "<section id=\"steps\">\n<h2>Fault steps</h2>\n");
    if (!json_array_size(steps)) { buf_adds(b, "<p class=\"muted\">no fault steps</p>\n</section>\n"); return; }
    buf_adds(b, "<table class=\"steps\"><tr><th>step</th><th>fault</th><th>target</th><th>planned</th><th>injected</th>"
                "<th>reverted</th><th>status</th><th>what was done</th></tr>\n");
    for (size_t i = 0; i < json_array_size(steps) && i < HTML_MAX_ROWS; i++) {
        const json_t *s = json_array_get(steps, i);
        const char *status = report_jstr(s, "status", "?");
        char at[32], f[32], inj[32], rev[32];
        fmt_opt_time(s, "at_ms", at);
        fmt_opt_time(s, "for_ms", f);
        fmt_opt_time(s, "injected_at_ms", inj);
        fmt_opt_time(s, "reverted_at_ms", rev);
        buf_addf(b, "<tr class=\"step %s\"><td>", !strcmp(verdict_class(status), "good") ? "ok" : "bad");
        esc(b, report_jstr(s, "name", ""));
        buf_adds(b, "</td><td>");
        esc(b, report_jstr(s, "fault", ""));
        buf_adds(b, "</td><td>");
        esc(b, report_jstr(s, "target", "-"));
        buf_addf(b, "</td><td class=\"num\">at %s for %s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td>", at, f, inj, rev);
        badge(b, status);
        buf_adds(b, "</td><td>");
        esc(b, report_jstr(s, "description", ""));
        const char *e = report_jstr(s, "error", NULL);
        if (e) htmlf(b, "<br><b>error:</b> %s", e);
        buf_adds(b, "</td></tr>\n");
    }
    buf_adds(b, "</table>\n</section>\n");
}

static void stop_rollback_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *stops = json_object_get(pg->run, "stop_when"), *rb = json_object_get(pg->run, "rollback");
    if (json_array_size(stops)) {
        buf_adds(b, "<section id=\"stop-when\">\n<h2>Stop conditions</h2>\n<table class=\"stop-when\"><tr><th>condition</th><th>kind</th>"
                    "<th>expected</th><th>verdict</th><th>evidence</th></tr>\n");
        probe_rows(b, stops, 0);
        buf_adds(b, "</table>\n</section>\n");
    }
    if (json_array_size(rb)) {
        buf_adds(b, "<section id=\"rollback\">\n<h2>Rollback</h2>\n<table class=\"rollback\"><tr><th>command</th><th>exit</th><th>verdict</th><th>error</th></tr>\n");
        for (size_t i = 0; i < json_array_size(rb) && i < HTML_MAX_ROWS; i++) {
            const json_t *r = json_array_get(rb, i);
            int ok = json_is_true(json_object_get(r, "ok"));
            const struct cell row[] = { { CELL_CODE, report_jstr(r, "command", ""), 0 },
                                        { CELL_NUM, NULL, (long long)report_jnum(r, "exit", -1) },
                                        { CELL_BADGE, ok ? "passed" : "failed", 0 },
                                        { CELL_TEXT, report_jstr(r, "error", ""), 0 } };
            table_row(b, ok ? NULL : "bad", row, 4);
        }
        buf_adds(b, "</table>\n</section>\n");
    }
}

static void matrix_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *m = json_object_get(pg->run, "matrix");
    if (!json_array_size(m)) return;
    buf_addf(b, "<section id=\"matrix\">\n<h2>Contingency (N-%lld)</h2>\n<table class=\"matrix\"><tr><th>lose</th><th>verdict</th>"
                "<th>exit code</th><th>report</th></tr>\n", (long long)report_jnum(pg->run, "choose", 1));
    for (size_t i = 0; i < json_array_size(m) && i < HTML_MAX_ROWS; i++) {
        const json_t *r = json_array_get(m, i);
        const struct cell row[] = { { CELL_TEXT, report_jstr(r, "lose", ""), 0 },
                                    { CELL_BADGE, report_jstr(r, "verdict", NULL), 0 },
                                    { CELL_NUM, NULL, (long long)report_jnum(r, "exit_code", -1) },
                                    { CELL_CODE, report_jstr(r, "report", ""), 0 } };
        table_row(b, NULL, row, 4);
    }
    buf_adds(b, "</table>\n</section>\n");
}

static void events_section(struct page *pg)
{
    struct buf *b = pg->b;
    const json_t *ev = json_object_get(pg->run, "events");
    if (!json_array_size(ev)) return;
    buf_adds(b, "<section id=\"events\">\n<h2>Event timeline</h2>\n<table class=\"events\"><tr><th>run clock</th><th>wall clock (UTC)</th><th>event</th></tr>\n");
    for (size_t i = 0; i < json_array_size(ev) && i < HTML_MAX_ROWS; i++) {
        const json_t *e = json_array_get(ev, i);
        char t[32], wall[32] = "-";
        clock_time(report_jnum(e, "t_ms", 0), t);
        double w = report_jnum(e, "wall", NAN);
        if (isfinite(w)) fl_iso8601(w, wall);
        buf_addf(b, "<tr><td class=\"num\">%s</td><td class=\"num\">%s</td><td>", t, wall);
        esc(b, report_jstr(e, "text", ""));
        buf_adds(b, "</td></tr>\n");
    }
    if (json_array_size(ev) > HTML_MAX_ROWS)
        buf_addf(b, "<tr><td colspan=\"3\" class=\"muted\">%zu more in run.json</td></tr>\n", json_array_size(ev) - HTML_MAX_ROWS);
    buf_adds(b, "</table>\n</section>\n");
}

int report_html(json_t *run, const char *path, char *err)
{
    if (!json_is_object(run)) return fl_err(err, "cannot write '%s': the run record is not a JSON object", path);
    struct buf b;
    buf_init(&b, 0);
    struct page pg = { .b = &b, .run = run };
    collect(&pg);
    page_head(&pg);
    summary(&pg);
    if (!json_object_get(run, "verdict"))
        buf_adds(&b, "<p class=\"muted\">The run has not finished: this page is rewritten when it ends.</p>\n");
    matrix_section(&pg);
    load_section(&pg);
    resources_section(&pg);
    if (json_array_size(json_object_get(run, "steps")) || json_array_size(json_object_get(run, "probes"))) {
        buf_adds(&b, "<section id=\"timeline\">\n<h2>Timeline</h2>\n");
        timeline_chart(&pg);
        buf_adds(&b, "</section>\n");
    }
    probes_section(&pg);
    steady_section(&pg);
    steps_section(&pg);
    stop_rollback_section(&pg);
    events_section(&pg);
    buf_adds(&b, "<footer>faultline ");
    esc(&b, report_jstr(run, "faultline_version", FL_VERSION));
    buf_adds(&b, " · rendered from run.json alone (faultline report run.json --format html)</footer>\n</main>\n</body>\n</html>\n");
    free(pg.win);
    free(pg.marks);
    if (b.overflow) {
        buf_release(&b);
        return fl_err(err, "cannot write '%s': the page grew past its size cap", path);
    }
    int rc = report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}
