/* report_fmt.c -- shared helpers of the report writers (see report_fmt.h). */
#include "report_fmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fl.h"

const char *report_jstr(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

double report_jnum(const json_t *o, const char *key, double def)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

const char *report_verdict(const json_t *p)
{
    const char *v = report_jstr(p, "verdict", "");
    return !strcmp(v, "skipped") ? "inconclusive" : v;
}

const char *report_reason(const json_t *p, const char *def)
{
    const char *r = report_jstr(p, "reason", NULL);
    return r ? r : report_jstr(p, "skip_reason", def);
}

const char *report_obs_outcome(const json_t *o)
{
    const char *v = report_jstr(o, "outcome", NULL);
    if (v) return v;
    if (json_is_true(json_object_get(o, "could_not_run"))) return "inconclusive";
    return json_is_true(json_object_get(o, "ok")) ? "passed" : "failed";
}

long long report_inconclusive_checks(const json_t *p)
{
    const json_t *v = json_object_get(p, "inconclusive_checks");
    if (!v) v = json_object_get(p, "could_not_run");
    return json_is_number(v) ? (long long)json_number_value(v) : 0;
}

const char *report_thresholds_word(const json_t *run)
{
    const json_t *load = json_object_get(run, "load");
    size_t n = 0;
    int failed = 0, unjudged = 0;
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *th = json_object_get(json_array_get(load, i), "thresholds");
        for (size_t k = 0; k < json_array_size(th); k++, n++) {
            const json_t *ok = json_object_get(json_array_get(th, k), "ok");
            if (json_is_false(ok)) failed = 1;
            else if (!json_is_true(ok)) unjudged = 1;
        }
    }
    if (failed || json_is_false(json_object_get(run, "thresholds_ok"))) return json_array_size(load) ? "failed" : NULL;
    if (!n) return NULL;
    return unjudged ? "not judged" : "held";
}

void report_fmt_time(double ms, char out[32])
{
    if (!isfinite(ms)) { snprintf(out, 32, "-"); return; }
    const char *sign = ms < 0 ? "-" : "";
    ms = fabs(ms);
    if (ms < 1000) snprintf(out, 32, "%s%.0fms", sign, ms);
    else if (ms < 60000) snprintf(out, 32, "%s%.1fs", sign, ms / 1000.0);
    else if (ms < 3600000) {
        long long m = (long long)(ms / 60000);
        snprintf(out, 32, "%s%lldm%04.1fs", sign, m, (ms - (double)m * 60000) / 1000.0);
    } else {
        long long h = (long long)(ms / 3600000);
        snprintf(out, 32, "%s%lldh%02lldm", sign, h, (long long)((ms - (double)h * 3600000) / 60000));
    }
}

void report_fmt_ms(double ms, char out[32])
{
    if (!isfinite(ms)) snprintf(out, 32, "-");
    else if (ms < 10) snprintf(out, 32, "%.2fms", ms);
    else if (ms < 100) snprintf(out, 32, "%.1fms", ms);
    else if (ms < 1000) snprintf(out, 32, "%.0fms", ms);
    else snprintf(out, 32, "%.2fs", ms / 1000.0);
}

void report_fmt_metric(const char *metric, const json_t *v, char out[48])
{
    if (!json_is_number(v)) { snprintf(out, 48, "n/a"); return; }
    double x = json_number_value(v);
    char t[32];
    if (!metric) snprintf(out, 48, "%g", x);
    else if (!strcmp(metric, "error_rate")) snprintf(out, 48, "%.2f%%", x * 100.0);
    else if (!strcmp(metric, "rps")) snprintf(out, 48, "%.1f/s", x);
    else if (!strcmp(metric, "count")) snprintf(out, 48, "%.0f", x);
    else { report_fmt_ms(x, t); snprintf(out, 48, "%s", t); }
}

void report_load_totals(const json_t *blk, struct report_load_totals *t)
{
    const json_t *tot = json_object_get(blk, "totals");
    report_fmt_metric("p95", json_object_get(tot, "p95"), t->p95);
    report_fmt_metric("error_rate", json_object_get(tot, "error_rate"), t->error_rate);
    report_fmt_metric("rps", json_object_get(tot, "rps"), t->rps);
}

int report_write_file(const char *path, const char *data, size_t len, char *err)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return fl_err(err, "cannot write '%s': %s", tmp, strerror(errno));
    size_t w = fwrite(data, 1, len, f);
    int bad = w != len || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) {
        remove(tmp);
        return fl_err(err, "cannot write '%s': %s", tmp, strerror(e));
    }
    if (rename(tmp, path) < 0) {
        e = errno;
        remove(tmp);
        return fl_err(err, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}
