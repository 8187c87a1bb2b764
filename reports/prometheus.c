/* prometheus.c -- a run's final figures for monitoring: Prometheus text (textfile collector
 * or Pushgateway) and a Slack-compatible notification (see export.h for the metrics). */
#include "export.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "fl.h"
#include "httpreq.h"
#include "report_fmt.h"

#define HTTP_TIMEOUT_MS 10000L
#define NOTIFY_MAX_PROBES 10    /* failed probes named in a message; the rest are counted */
#define NOTIFY_EVIDENCE 200     /* characters of one probe's evidence */

/* ---- Prometheus text ----------------------------------------------------------------- */

/* a label value: backslash, double quote and newline escaped (exposition format 0.0.4) */
static void label_value(struct buf *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\\') buf_adds(b, "\\\\");
        else if (*p == '"') buf_adds(b, "\\\"");
        else if (*p == '\n') buf_adds(b, "\\n");
        else buf_addc(b, *p);
    }
}

static void value(struct buf *b, double v)
{
    if (isnan(v)) buf_adds(b, "NaN");
    else if (isinf(v)) buf_adds(b, v > 0 ? "+Inf" : "-Inf");
    else buf_addf(b, "%.15g", v);
}

static void family(struct buf *b, const char *name, const char *help)
{
    buf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* name{plan="...",k1="v1",...} value -- labels as NULL-terminated key, value pairs */
static void sample(struct buf *b, const char *name, const char *plan, double v, ...)
{
    va_list ap;
    buf_addf(b, "%s{plan=\"", name);
    label_value(b, plan);
    buf_adds(b, "\"");
    va_start(ap, v);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *val = va_arg(ap, const char *);
        buf_addf(b, ",%s=\"", k);
        label_value(b, val);
        buf_adds(b, "\"");
    }
    va_end(ap);
    buf_adds(b, "} ");
    value(b, v);
    buf_adds(b, "\n");
}

/* "2026-11-27T07:14:47.120Z" -> seconds since the epoch; NAN when it is not that */
static double iso_to_epoch(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int ms = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec, &ms) < 6)
        return NAN;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) + ms / 1000.0;
}

static double recovery_ms(const json_t *p)
{
    if (strcmp(report_verdict(p), "passed")) return NAN; /* a time seen short of min_evidence is none */
    const json_t *obs = json_object_get(p, "observations");
    size_t n = json_array_size(obs);
    const json_t *o = n ? json_array_get(obs, n - 1) : NULL;
    return o && json_is_true(json_object_get(o, "ok")) ? report_jnum(o, "value", NAN) : NAN;
}

void report_prometheus_text(json_t *run, struct buf *b)
{
    const char *plan = report_jstr(json_object_get(run, "plan"), "name", "unnamed");
    const char *verdict = report_jstr(run, "verdict", "");
    static const char *const verdicts[] = { "passed", "failed", "aborted", "revert_failed", "invalid", "dry_run",
                                            "inconclusive" };

    family(b, "faultline_run_verdict", "The run's verdict: 1 for the verdict label that applies, 0 for the others.");
    for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++)
        sample(b, "faultline_run_verdict", plan, !strcmp(verdict, verdicts[i]), "verdict", verdicts[i], NULL);
    family(b, "faultline_run_exit_code", "Exit code of faultline run: 0 held, 1 failed, 2 invalid, 3 aborted, 4 revert failed, 5 inconclusive.");
    sample(b, "faultline_run_exit_code", plan, report_jnum(run, "exit_code", NAN), NULL);
    family(b, "faultline_run_passed", "1 when every hypothesis, probe and threshold held.");
    sample(b, "faultline_run_passed", plan, !strcmp(verdict, "passed"), NULL);
    family(b, "faultline_run_elapsed_seconds", "Wall-clock length of the run.");
    sample(b, "faultline_run_elapsed_seconds", plan, report_jnum(run, "elapsed_ms", NAN) / 1000.0, NULL);
    double ended = iso_to_epoch(report_jstr(run, "ended_at", NULL));
    if (isfinite(ended)) {
        family(b, "faultline_run_timestamp_seconds", "When the run ended, in seconds since the Unix epoch.");
        sample(b, "faultline_run_timestamp_seconds", plan, ended, NULL);
    }
    /* held or failed; a threshold never judged (no request) is neither, and none is none */
    const char *tw = report_thresholds_word(run);
    if (tw && strcmp(tw, "not judged")) {
        family(b, "faultline_run_thresholds_ok", "1 when every load block's thresholds held over the whole run.");
        sample(b, "faultline_run_thresholds_ok", plan, !strcmp(tw, "held"), NULL);
    }

    const json_t *load = json_object_get(run, "load");
    size_t nl = json_array_size(load);
    if (nl) {
        static const char *const q[][2] = { { "p50", "0.5" }, { "p95", "0.95" }, { "p99", "0.99" } };
        family(b, "faultline_load_latency_seconds", "Request latency quantiles of a load block over the whole run.");
        for (size_t i = 0; i < nl; i++) {
            const json_t *blk = json_array_get(load, i), *t = json_object_get(blk, "totals");
            for (size_t k = 0; k < 3; k++)
                sample(b, "faultline_load_latency_seconds", plan, report_jnum(t, q[k][0], NAN) / 1000.0, "load",
                       report_jstr(blk, "name", ""), "quantile", q[k][1], NULL);
        }
        family(b, "faultline_load_requests_per_second", "Completed requests per second of a load block over the whole run.");
        for (size_t i = 0; i < nl; i++) {
            const json_t *blk = json_array_get(load, i);
            sample(b, "faultline_load_requests_per_second", plan, report_jnum(json_object_get(blk, "totals"), "rps", NAN), "load",
                   report_jstr(blk, "name", ""), NULL);
        }
        family(b, "faultline_load_error_ratio", "Failed / completed requests of a load block over the whole run (0..1).");
        for (size_t i = 0; i < nl; i++) {
            const json_t *blk = json_array_get(load, i);
            sample(b, "faultline_load_error_ratio", plan, report_jnum(json_object_get(blk, "totals"), "error_rate", NAN), "load",
                   report_jstr(blk, "name", ""), NULL);
        }
        family(b, "faultline_load_requests", "Completed requests of a load block over the whole run.");
        for (size_t i = 0; i < nl; i++) {
            const json_t *blk = json_array_get(load, i);
            sample(b, "faultline_load_requests", plan, report_jnum(json_object_get(blk, "totals"), "count", NAN), "load",
                   report_jstr(blk, "name", ""), NULL);
        }
    }

    const json_t *probes = json_object_get(run, "probes");
    size_t np = json_array_size(probes), judged = 0, nrec = 0;
    for (size_t i = 0; i < np; i++) {
        const json_t *p = json_array_get(probes, i);
        const char *v = report_verdict(p);
        judged += !strcmp(v, "passed") || !strcmp(v, "failed");
        nrec += !strcmp(report_jstr(p, "kind", ""), "recovery") && strcmp(v, "inconclusive");
    }
    if (judged) {
        family(b, "faultline_probe_passed", "1 when the probe's expectation held, 0 when it failed (inconclusive probes are left out).");
        for (size_t i = 0; i < np; i++) {
            const json_t *p = json_array_get(probes, i);
            const char *v = report_verdict(p);
            if (strcmp(v, "passed") && strcmp(v, "failed")) continue;
            sample(b, "faultline_probe_passed", plan, !strcmp(v, "passed"), "probe", report_jstr(p, "name", ""), "kind",
                   report_jstr(p, "kind", ""), "timing", report_jstr(p, "timing", ""), NULL);
        }
    }
    if (np) {
        family(b, "faultline_probe_inconclusive", "1 when the probe could not be judged (no evidence either way), else 0.");
        for (size_t i = 0; i < np; i++) {
            const json_t *p = json_array_get(probes, i);
            sample(b, "faultline_probe_inconclusive", plan, !strcmp(report_verdict(p), "inconclusive"), "probe",
                   report_jstr(p, "name", ""), "kind", report_jstr(p, "kind", ""), "timing", report_jstr(p, "timing", ""), NULL);
        }
        family(b, "faultline_probe_could_not_run", "Checks of the probe that could not be judged (no evidence: inconclusive).");
        for (size_t i = 0; i < np; i++) {
            const json_t *p = json_array_get(probes, i);
            sample(b, "faultline_probe_could_not_run", plan, (double)report_inconclusive_checks(p), "probe",
                   report_jstr(p, "name", ""), "kind", report_jstr(p, "kind", ""), "timing", report_jstr(p, "timing", ""), NULL);
        }
    }
    if (nrec) {
        family(b, "faultline_recovery_seconds", "Time from a step's revert until the recovery probe saw the target healthy (recovered probes only).");
        for (size_t i = 0; i < np; i++) {
            const json_t *p = json_array_get(probes, i);
            double ms = recovery_ms(p);
            if (strcmp(report_jstr(p, "kind", ""), "recovery") || !isfinite(ms)) continue;
            sample(b, "faultline_recovery_seconds", plan, ms / 1000.0, "probe", report_jstr(p, "name", ""), "step",
                   report_jstr(p, "step", ""), NULL);
        }
        family(b, "faultline_recovery_recovered", "1 when the target recovered within the probe's limit.");
        for (size_t i = 0; i < np; i++) {
            const json_t *p = json_array_get(probes, i);
            if (strcmp(report_jstr(p, "kind", ""), "recovery") || !strcmp(report_verdict(p), "inconclusive")) continue;
            sample(b, "faultline_recovery_recovered", plan, !strcmp(report_jstr(p, "verdict", ""), "passed"), "probe",
                   report_jstr(p, "name", ""), "step", report_jstr(p, "step", ""), NULL);
        }
    }
    const json_t *steps = json_object_get(run, "steps");
    if (json_array_size(steps)) {
        family(b, "faultline_step_ok", "1 when the fault step was injected and reverted as planned.");
        for (size_t i = 0; i < json_array_size(steps); i++) {
            const json_t *s = json_array_get(steps, i);
            const char *st = report_jstr(s, "status", "");
            sample(b, "faultline_step_ok", plan, !strcmp(st, "reverted") || !strcmp(st, "injected_no_revert"), "step",
                   report_jstr(s, "name", ""), "fault", report_jstr(s, "fault", ""), NULL);
        }
    }
}

int report_prometheus(json_t *run, const char *path, char *err)
{
    struct buf b;
    buf_init(&b, 0);
    report_prometheus_text(run, &b);
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the metrics grew past their size cap", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

/* url without "user:password@", for messages */
static void safe_url(const char *url, char out[512])
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash)) snprintf(out, 512, "%.*s%s", (int)(host - url), url, at + 1);
    else snprintf(out, 512, "%s", url);
    fl_redact(out);
}

static int http_send(const char *method, const char *url, const char *ctype, const char *body, size_t len, const char *what,
                     char *err)
{
    char shown[512];
    safe_url(url, shown);
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    const char *hdrs[] = { ct, "Expect:", NULL };
    struct buf reply;
    buf_init(&reply, 301); /* the head of an error reply, for the message */
    struct httpreq rq = { .method = method, .url = url, .body = body, .body_len = len, .headers = hdrs,
                          .timeout_ms = HTTP_TIMEOUT_MS, .connect_timeout_ms = HTTP_TIMEOUT_MS / 2,
                          .reply = &reply, .keep_head = 1 };
    long status;
    char herr[FL_ERR_LEN];
    int ret = 0;
    if (httpreq_do(&rq, &status, herr) < 0) {
        ret = fl_err(err, "cannot %s to '%s': %s", what, shown, herr);
    } else if (status < 200 || status > 299) {
        for (char *p = reply.data; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
        fl_redact(reply.data);
        ret = fl_err(err, "cannot %s to '%s': HTTP %ld %s", what, shown, status, reply.data);
    }
    buf_release(&reply);
    return ret;
}

/* the grouping key's value in a Pushgateway path: as is when it is plain, else base64url
 * with the "@base64" suffix on the label name (the Pushgateway's rule for '/' and friends) */
static void group_value(struct buf *b, const char *label, const char *v)
{
    int plain = *v != '\0';
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
            plain = 0;
    if (plain) { buf_addf(b, "/%s/%s", label, v); return; }
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = (const unsigned char *)v;
    size_t n = strlen(v);
    buf_addf(b, "/%s@base64/", label);
    for (size_t i = 0; i < n; i += 3) {
        unsigned x = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        buf_addc(b, abc[x >> 18 & 63]);
        buf_addc(b, abc[x >> 12 & 63]);
        buf_addc(b, i + 1 < n ? abc[x >> 6 & 63] : '=');
        buf_addc(b, i + 2 < n ? abc[x & 63] : '=');
    }
    if (!n) buf_adds(b, "=");   /* an empty value: "@base64/=" */
}

int report_push(json_t *run, const char *pushgateway_url, char *err)
{
    const char *plan = report_jstr(json_object_get(run, "plan"), "name", "unnamed");
    size_t ul = strlen(pushgateway_url);
    while (ul && pushgateway_url[ul - 1] == '/') ul--;
    struct buf url;
    buf_init(&url, 8192);
    buf_add(&url, pushgateway_url, ul);
    buf_adds(&url, "/metrics/job/faultline");
    group_value(&url, "instance", plan);
    struct buf b;
    buf_init(&b, 0);
    report_prometheus_text(run, &b);
    int rc = http_send("PUT", url.data, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, "push metrics", err);
    buf_release(&b);
    buf_release(&url);
    return rc;
}

/* ---- notification -------------------------------------------------------------------- */

/* text for Slack mrkdwn: & < > as entities (Slack's rule), newlines and tabs as spaces,
 * cut after max characters */
static void mrkdwn(struct buf *b, const char *s, size_t max)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if ((*p & 0xC0) != 0x80 && max && chars++ == max) { buf_adds(b, "…"); return; }
        if (*p == '&') buf_adds(b, "&amp;");
        else if (*p == '<') buf_adds(b, "&lt;");
        else if (*p == '>') buf_adds(b, "&gt;");
        else if (*p == '\n' || *p == '\r' || *p == '\t') buf_addc(b, ' ');
        else if (*p >= 0x20 && *p != 0x7f) buf_addc(b, (char)*p);
    }
}

void report_notify_text(json_t *run, struct buf *b)
{
    const char *plan = report_jstr(json_object_get(run, "plan"), "name", "unnamed");
    const char *verdict = report_jstr(run, "verdict", "no verdict");
    const char *icon = !strcmp(verdict, "passed") ? ":white_check_mark:" : !strcmp(verdict, "failed") ? ":x:"
                     : !strcmp(verdict, "revert_failed") ? ":fire:" : !strcmp(verdict, "aborted") ? ":octagonal_sign:"
                     : !strcmp(verdict, "inconclusive") ? ":grey_question:" : ":warning:";
    buf_addf(b, "%s faultline: *", icon);
    mrkdwn(b, plan, 100);
    buf_adds(b, "* ");
    mrkdwn(b, !strcmp(verdict, "revert_failed") ? "revert failed" : verdict, 40);
    buf_addf(b, " (exit %lld", (long long)report_jnum(run, "exit_code", -1));
    const json_t *el = json_object_get(run, "elapsed_ms");
    if (json_is_number(el)) {
        char t[32];
        report_fmt_time(json_number_value(el), t);
        buf_addf(b, ", %s", t);
    }
    buf_adds(b, ")");
    const char *reason = report_jstr(run, "reason", NULL);
    if (reason) { buf_adds(b, "\nreason: "); mrkdwn(b, reason, NOTIFY_EVIDENCE); }

    const json_t *probes = json_object_get(run, "probes");
    size_t np = json_array_size(probes), failed = 0, passed = 0;
    for (size_t i = 0; i < np; i++) {
        const char *v = report_verdict(json_array_get(probes, i));
        failed += !strcmp(v, "failed");
        passed += !strcmp(v, "passed");
    }
    buf_addf(b, "\nprobes: %zu passed, %zu failed", passed, failed);
    if (np - passed - failed) buf_addf(b, ", %zu inconclusive", np - passed - failed);
    size_t named = 0;
    for (size_t i = 0; i < np; i++) {
        const json_t *p = json_array_get(probes, i);
        if (strcmp(report_jstr(p, "verdict", ""), "failed")) continue;
        if (named++ == NOTIFY_MAX_PROBES) { buf_addf(b, "\n• …and %zu more (see the report)", failed - NOTIFY_MAX_PROBES); break; }
        const json_t *f = json_object_get(p, "failure");
        const char *r = report_jstr(f, "reason", "unhealthy");
        buf_adds(b, "\n• `");
        mrkdwn(b, report_jstr(p, "name", ""), 100);
        buf_addf(b, "` %s: ", !strcmp(r, "could_not_run") ? "could not run" : !strcmp(r, "not_run") ? "never ran" : "unhealthy");
        mrkdwn(b, report_jstr(f, "observed", ""), NOTIFY_EVIDENCE);
    }
    for (size_t i = 0, shown = 0; i < np && shown < NOTIFY_MAX_PROBES; i++) {
        const json_t *p = json_array_get(probes, i);
        if (strcmp(report_verdict(p), "inconclusive")) continue;
        shown++;
        buf_adds(b, "\n• `");
        mrkdwn(b, report_jstr(p, "name", ""), 100);
        buf_adds(b, "` inconclusive: ");
        mrkdwn(b, report_reason(p, "no evidence"), NOTIFY_EVIDENCE);
    }
    const json_t *steps = json_object_get(run, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *s = json_array_get(steps, i);
        const char *st = report_jstr(s, "status", "");
        if (strcmp(st, "inject_failed") && strcmp(st, "revert_failed")) continue;
        buf_adds(b, "\n• step `");
        mrkdwn(b, report_jstr(s, "name", ""), 100);
        buf_addf(b, "` %s", !strcmp(st, "inject_failed") ? "could not be injected" : "could NOT be reverted");
        const char *e = report_jstr(s, "error", NULL);
        if (e) { buf_adds(b, ": "); mrkdwn(b, e, NOTIFY_EVIDENCE); }
    }
    const json_t *load = json_object_get(run, "load");
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *blk = json_array_get(load, i);
        struct report_load_totals t;
        report_load_totals(blk, &t);
        buf_adds(b, "\nload `");
        mrkdwn(b, report_jstr(blk, "name", ""), 100);
        buf_addf(b, "`: p95 %s, %s, errors %s", t.p95, t.rps, t.error_rate);
    }
    const json_t *th = json_object_get(run, "thresholds_ok");
    if (json_is_false(th) && json_array_size(load)) buf_adds(b, "\nload thresholds: failed");
}

int report_notify(json_t *run, const char *url, char *err)
{
    struct buf text;
    buf_init(&text, 0);
    report_notify_text(run, &text);
    json_t *msg = json_pack("{s:s}", "text", text.data);
    buf_release(&text);
    char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!body) return fl_err(err, "cannot notify: the message is not valid UTF-8");
    int rc = http_send("POST", url, "application/json", body, strlen(body), "notify", err);
    free(body);
    return rc;
}
