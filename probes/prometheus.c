/* prometheus.c -- the `prometheus` probe: a PromQL query against the Prometheus HTTP API
 * (libcurl + jansson), its result compared with an expectation.
 *
 *   - prometheus: { url: "http://127.0.0.1:9090", query: 'up{job="api"}', expect: "== 1" }
 *   - prometheus: { url: ..., query: "sum(rate(errors[1m]))", expect: "max < 0.05", step: 5s }
 * Instant form (a bare expectation, or `count ...`): /api/v1/query at the check's time; every
 * series of the vector must meet it (`series: any`: one is enough), or `count` compares the
 * number of series. Range form (`max|min|avg|last ...`): /api/v1/query_range over the
 * probe's window (a during: probe: from the injection to the check) or, without one, the
 * last `window:` (default 1m), each series reduced to that aggregate, then every/any.
 * Prometheus not answering, an error reply and an empty result are "could not check"
 * (-1, inconclusive) with Prometheus's own message: the probe reads the service *through*
 * Prometheus, so silence there says nothing about the service. `count` is the exception:
 * no series is the answer 0.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"
#include "probe.h"
#include "prom.h"
#include "value.h"

/* ---- the reply reader (prom.h) ---------------------------------------------------------- */

static const char *const agg_names[] = { "last", "max", "min", "avg" };
const char *prom_agg_name(enum prom_agg a) { return agg_names[a]; }

void prom_result_release(struct prom_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->series[i].labels);
        free(r->series[i].t);
        free(r->series[i].v);
        free(r->series[i].str);
    }
    free(r->series);
    free(r->warnings);
    memset(r, 0, sizeof *r);
}

/* `name{k="v",...}` of a result's "metric" object */
static char *labels_text(json_t *metric)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    const char *name = json_string_value(json_object_get(metric, "__name__"));
    if (name) buf_adds(&b, name);
    buf_addc(&b, '{');
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(metric, k, v) {
        if (!strcmp(k, "__name__")) continue;
        buf_addf(&b, "%s%s=", first ? "" : ",", k);
        buf_add_json_str(&b, json_is_string(v) ? json_string_value(v) : "");
        first = 0;
    }
    buf_addc(&b, '}');
    return buf_detach(&b);
}

/* one [time, "value"] pair */
static int sample(json_t *pair, double *t, double *v, const char **text, char *err)
{
    if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_number(json_array_get(pair, 0)) ||
        !json_is_string(json_array_get(pair, 1)))
        return fl_err(err, "a sample is not [time, \"value\"]");
    *t = json_number_value(json_array_get(pair, 0));
    const char *s = json_string_value(json_array_get(pair, 1));
    if (text) *text = s;
    char *end;
    *v = strtod(s, &end);
    if (end == s || *end) {
        if (text) return 0; /* a string result */
        return fl_err(err, "sample value '%.40s' is not a number", s);
    }
    return 0;
}

static int add_samples(struct prom_series *s, json_t *pairs, int is_string, char *err)
{
    size_t n = json_array_size(pairs);
    s->t = fl_calloc(n ? n : 1, sizeof *s->t);
    s->v = fl_calloc(n ? n : 1, sizeof *s->v);
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p) {
        const char *text = NULL;
        if (sample(p, &s->t[s->n], &s->v[s->n], is_string ? &text : NULL, err) < 0) return -1;
        if (is_string) s->str = fl_strdup(text), s->v[s->n] = NAN;
        s->n++;
    }
    return 0;
}

int prom_parse_reply(const char *body, size_t len, struct prom_result *r, char *err)
{
    memset(r, 0, sizeof *r);
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return fl_err(err, "not a Prometheus API reply (%s)", root ? "not a JSON object" : "not JSON");
    }
    int rc = -1;
    const char *status = json_string_value(json_object_get(root, "status"));
    json_t *warn = json_object_get(root, "warnings");
    if (json_is_array(warn) && json_array_size(warn)) {
        struct buf b;
        buf_init(&b, 4096);
        size_t i;
        json_t *w;
        json_array_foreach(warn, i, w) if (json_is_string(w)) buf_addf(&b, "%s%s", b.len ? "; " : "", json_string_value(w));
        r->warnings = buf_detach(&b);
    }
    if (!status) {
        fl_err(err, "not a Prometheus API reply (no \"status\")");
        goto out;
    }
    if (strcmp(status, "success") != 0) {
        const char *et = json_string_value(json_object_get(root, "errorType"));
        const char *e = json_string_value(json_object_get(root, "error"));
        if (e && *e) fl_err(err, "%s%s%.400s", et && *et ? et : "", et && *et ? ": " : "", e);
        else fl_err(err, "Prometheus answered status \"%.40s\"%s%.40s without a message", status, et && *et ? " " : "",
                    et ? et : "");
        goto out;
    }
    json_t *data = json_object_get(root, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *res = json_object_get(data, "result");
    if (!type || !res) {
        fl_err(err, "not a query reply (no data.resultType or data.result)");
        goto out;
    }
    if (!strcmp(type, "scalar") || !strcmp(type, "string")) {
        r->type = type[1] == 'c' ? PROM_SCALAR : PROM_STRING;
        r->series = fl_calloc(1, sizeof *r->series);
        r->n = 1;
        r->series[0].labels = fl_strdup(type);
        json_t *one = json_array();
        json_array_append(one, res);
        rc = add_samples(&r->series[0], one, r->type == PROM_STRING, err);
        json_decref(one);
        goto out;
    }
    int matrix = !strcmp(type, "matrix");
    if (!matrix && strcmp(type, "vector") != 0) {
        fl_err(err, "unknown resultType '%.40s'", type);
        goto out;
    }
    if (!json_is_array(res)) {
        fl_err(err, "data.result of a %s is not a list", type);
        goto out;
    }
    r->type = matrix ? PROM_MATRIX : PROM_VECTOR;
    size_t n = json_array_size(res);
    r->series = fl_calloc(n ? n : 1, sizeof *r->series);
    size_t i;
    json_t *it;
    json_array_foreach(res, i, it) {
        json_t *metric = json_object_get(it, "metric");
        struct prom_series *s = &r->series[r->n++];
        s->labels = labels_text(json_is_object(metric) ? metric : NULL);
        if (matrix) {
            json_t *vals = json_object_get(it, "values");
            if (!json_is_array(vals)) {
                fl_err(err, "series %s has no \"values\"%s", s->labels,
                       json_object_get(it, "histograms") ? " (native histograms are not compared)" : "");
                goto out;
            }
            if (add_samples(s, vals, 0, err) < 0) goto out;
        } else {
            json_t *val = json_object_get(it, "value");
            if (!val) {
                fl_err(err, "series %s has no \"value\"%s", s->labels,
                       json_object_get(it, "histogram") ? " (native histograms are not compared)" : "");
                goto out;
            }
            json_t *one = json_array();
            json_array_append(one, val);
            int bad = add_samples(s, one, 0, err);
            json_decref(one);
            if (bad < 0) goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0) {
        char keep[FL_ERR_LEN];
        snprintf(keep, sizeof keep, "%s", err);
        prom_result_release(r);
        snprintf(err, FL_ERR_LEN, "%s", keep);
    }
    return rc;
}

double prom_aggregate(const struct prom_series *s, enum prom_agg a)
{
    double acc = NAN;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        double v = s->v[i];
        if (isnan(v)) continue;
        switch (a) {
        case PROM_AGG_LAST: acc = v; break;
        case PROM_AGG_MAX: acc = k == 0 || v > acc ? v : acc; break;
        case PROM_AGG_MIN: acc = k == 0 || v < acc ? v : acc; break;
        case PROM_AGG_AVG: acc = k == 0 ? v : acc + v; break;
        }
        k++;
    }
    if (a == PROM_AGG_AVG && k) acc /= (double)k;
    return acc;
}

/* ---- the probe ---------------------------------------------------------------------------- */

enum prq_mode { PRQ_VALUE, PRQ_COUNT, PRQ_RANGE };

struct prq_cfg {
    char *url;               /* base URL, no trailing slash */
    char *query;
    struct expect expect;    /* the comparison (bare); in the expectation's unit */
    char *expect_text;
    enum prq_mode mode;
    enum prom_agg agg;       /* PRQ_RANGE */
    int any;                 /* series: any */
    int64_t step_ms;         /* 0 = from the window */
    int64_t window_ms;       /* without a window of the probe's own */
    int window_given;
    int64_t timeout_ms;
    char *username, *password, *bearer;
};

static const struct param_spec prq_params[] = {
    { "url", PT_STR, PARAM_REQUIRED, "Prometheus base URL (http://127.0.0.1:9090); /api/v1/... is added" },
    { "query", PT_STR, PARAM_REQUIRED, "the PromQL expression" },
    { "expect", PT_STR, PARAM_REQUIRED,
      "\"< 0.01\" (each series now), \"count >= 1\" (number of series), or max|min|avg|last over the window (\"max < 0.05\")" },
    { "series", PT_STR, 0, "every (default): each series must meet expect; any: one is enough" },
    { "step", PT_DURATION, 0, "range form: resolution (default: the window / 100, at least 1s)" },
    { "window", PT_DURATION, 0, "range form: the last D before the check (default: the probe's window, else 1m)" },
    { "timeout", PT_DURATION, 0, "give up after (default 5s): inconclusive" },
    { "username", PT_STR, 0, "basic auth user" },
    { "password", PT_STR, 0, "basic auth password: a ${name} of secrets:" },
    { "bearer", PT_STR, 0, "bearer token (Authorization: Bearer ...): a ${name} of secrets:" },
    { 0 } };

static void prq_free(void *p)
{
    struct prq_cfg *c = p;
    if (!c) return;
    free(c->url);
    free(c->query);
    expect_release(&c->expect);
    free(c->expect_text);
    free(c->username);
    free(c->password);
    free(c->bearer);
    free(c);
}

static int prq_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **out, struct diag *d)
{
    (void)pc; (void)entry;
    struct prq_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    char err[FL_ERR_LEN];
    const char *url = param_str(val, "url", "");
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        diag_add(d, node_get(val, "url"), "prometheus probe: url '%s' must start with http:// or https://", url);
        bad = 1;
    }
    c->url = fl_strdup(url);
    for (size_t n = strlen(c->url); n > 0 && c->url[n - 1] == '/'; n--) c->url[n - 1] = '\0';
    c->query = fl_strdup(param_str(val, "query", ""));
    if (!c->query[0]) {
        diag_add(d, node_get(val, "query") ? node_get(val, "query") : val, "prometheus probe: query is empty");
        bad = 1;
    }
    /* expect: an optional leading aggregate word, then a bare expectation */
    const char *ex = param_str(val, "expect", "");
    c->expect_text = fl_strdup(ex);
    const char *rest = ex;
    while (*rest == ' ') rest++;
    static const char *const words[] = { "count", "last", "max", "min", "avg", NULL };
    c->mode = PRQ_VALUE;
    for (int i = 0; words[i]; i++) {
        size_t wl = strlen(words[i]);
        if (!strncmp(rest, words[i], wl) && (rest[wl] == ' ' || rest[wl] == '<' || rest[wl] == '>' || rest[wl] == '=' ||
                                             rest[wl] == '!')) {
            if (i == 0) c->mode = PRQ_COUNT;
            else c->mode = PRQ_RANGE, c->agg = (enum prom_agg)(i - 1);
            rest += wl;
            break;
        }
    }
    while (*rest == ' ') rest++;
    if (expect_parse(rest, NULL, &c->expect, err) < 0) {
        diag_add(d, node_get(val, "expect"), "prometheus probe: expect: %s", err);
        bad = 1;
    } else if (!c->expect.is_num || c->expect.metric) {
        diag_add(d, node_get(val, "expect"),
                 "prometheus probe: expect '%s' is not a comparison like \"< 0.01\", \"== 1\", \"count >= 2\" or \"max < 0.05\"",
                 ex);
        bad = 1;
    } else if (c->expect.unit == EXP_UNIT_MS) {
        c->expect.num /= 1000.0; /* Prometheus's unit of time is the second */
    }
    const char *se = param_str(val, "series", "every");
    if (!strcmp(se, "any")) c->any = 1;
    else if (strcmp(se, "every") != 0) {
        diag_add(d, node_get(val, "series"), "prometheus probe: series: '%s' is not every or any", se);
        bad = 1;
    }
    if (c->mode == PRQ_COUNT && node_get(val, "series")) {
        diag_add(d, node_get(val, "series"), "prometheus probe: series: has no meaning with expect: count ...");
        bad = 1;
    }
    c->step_ms = param_ms(val, "step", 0);
    c->window_given = node_get(val, "window") != NULL;
    c->window_ms = param_ms(val, "window", 60000);
    if (c->mode != PRQ_RANGE && (node_get(val, "step") || c->window_given)) {
        diag_add(d, node_get(val, node_get(val, "step") ? "step" : "window"),
                 "prometheus probe: step: and window: belong to the range form (expect: \"max|min|avg|last ...\")");
        bad = 1;
    }
    if ((node_get(val, "step") && c->step_ms <= 0) || (c->window_given && c->window_ms <= 0)) {
        diag_add(d, val, "prometheus probe: step and window must be longer than 0");
        bad = 1;
    }
    c->timeout_ms = param_ms(val, "timeout", 5000);
    const char *u = param_str(val, "username", NULL), *pw = param_str(val, "password", NULL),
               *bt = param_str(val, "bearer", NULL);
    if (pw && !u) { diag_add(d, node_get(val, "password"), "prometheus probe: password: needs username:"); bad = 1; }
    if (bt && u) { diag_add(d, node_get(val, "bearer"), "prometheus probe: give bearer: or username:/password:, not both"); bad = 1; }
    /* a credential written into the plan would be printed like any other text */
    if (pw && *pw && !fl_has_secret(pw)) {
        diag_add(d, node_get(val, "password"), "prometheus probe: password: write it under secrets: and use ${name} here");
        bad = 1;
    }
    if (bt && *bt && !fl_has_secret(bt)) {
        diag_add(d, node_get(val, "bearer"), "prometheus probe: bearer: write it under secrets: and use ${name} here");
        bad = 1;
    }
    c->username = u ? fl_strdup(u) : NULL;
    c->password = pw ? fl_strdup(pw) : NULL;
    c->bearer = bt ? fl_strdup(bt) : NULL;
    if (bad) {
        prq_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* GET path?params from Prometheus into r; -1 with the reason */
static int prq_fetch(const struct prq_cfg *c, const char *path, const char *params, struct prom_result *r, char *err)
{
    CURL *h = curl_easy_init();
    if (!h) return fl_err(err, "cannot create a curl handle");
    char *q = curl_easy_escape(h, c->query, 0);
    char *url = fl_asprintf("%s%s?query=%s%s", c->url, path, q ? q : "", params);
    curl_free(q);
    curl_easy_cleanup(h);
    struct buf body;
    buf_init(&body, 16u << 20);
    char *auth = c->bearer ? fl_asprintf("Authorization: Bearer %s", c->bearer) : NULL;
    const char *hdrs[] = { auth, NULL };
    struct httpreq rq = { .url = url, .headers = hdrs, .username = c->username, .password = c->password,
                          .timeout_ms = (long)c->timeout_ms, .connect_timeout_ms = (long)c->timeout_ms,
                          .no_proxy = 1, .reply = &body };
    long status;
    char herr[FL_ERR_LEN];
    int rc = httpreq_do(&rq, &status, herr);
    free(auth);
    free(url);
    int ret = -1;
    if (rc < 0) {
        fl_err(err, "cannot query Prometheus at '%s': %.300s", c->url,
               body.overflow ? "the reply is larger than 16 MiB" : herr);
    } else {
        char e[FL_ERR_LEN];
        if (prom_parse_reply(body.data, body.len, r, e) == 0) {
            ret = 0;
        } else if (strstr(e, "not a Prometheus API reply") || strstr(e, "not a query reply")) {
            char head[120];
            snprintf(head, sizeof head, "%.100s", body.data);
            for (char *s = head; *s; s++) if (*s == '\n' || *s == '\r') *s = ' ';
            fl_err(err, "Prometheus at '%s' answered HTTP %ld, %s: %s", c->url, status, e, head);
        } else {
            fl_err(err, "Prometheus refused the query (HTTP %ld): %s", status, e);
        }
    }
    buf_release(&body);
    return ret;
}

static int64_t prq_default_step(int64_t window_ms)
{
    int64_t s = window_ms / 100;
    return s < 1000 ? 1000 : s / 1000 * 1000;
}

static int prq_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct prq_cfg *c = pi->cfg;
    struct prom_result r;
    double now = fl_wall();
    char params[160];
    double from = 0, to = now;
    int64_t step = 0;
    if (c->mode == PRQ_RANGE) {
        /* the probe's window in wall time, when it has one of at least a second */
        const struct drv_ctx *ctx = pi->ctx;
        int have = 0;
        if (!c->window_given && ctx && ctx->t0_ns && pi->win_to_ms > pi->win_from_ms) {
            double origin = now - (double)(fl_now_ns() - ctx->t0_ns) / 1e9; /* wall time of run clock 0 */
            from = origin + pi->win_from_ms / 1000.0;
            to = origin + pi->win_to_ms / 1000.0;
            if (to > now) to = now;
            have = to - from >= 1.0;
        }
        if (!have) { to = now; from = now - c->window_ms / 1000.0; }
        step = c->step_ms ? c->step_ms : prq_default_step((int64_t)((to - from) * 1000));
        snprintf(params, sizeof params, "&start=%.3f&end=%.3f&step=%.3f&timeout=%llds", from, to, step / 1000.0,
                 (long long)((c->timeout_ms + 999) / 1000));
        if (prq_fetch(c, "/api/v1/query_range", params, &r, err) < 0) return -1;
    } else {
        snprintf(params, sizeof params, "&time=%.3f&timeout=%llds", now, (long long)((c->timeout_ms + 999) / 1000));
        if (prq_fetch(c, "/api/v1/query", params, &r, err) < 0) return -1;
    }
    struct buf o;
    buf_init(&o, sizeof obs->observed);
    if (c->mode == PRQ_COUNT) {
        obs->has_value = 1;
        obs->value = (double)r.n;
        int ok = expect_eval_num(&c->expect, obs->value);
        obs->outcome = ok ? PROBE_PASSED : PROBE_FAILED;
        buf_addf(&o, "%zu series", r.n);
        for (size_t i = 0; i < r.n && i < 3; i++) buf_addf(&o, "%s%s", i ? ", " : ": ", r.series[i].labels);
        if (r.n > 3) buf_adds(&o, ", ...");
        goto done;
    }
    if (r.n == 0) {
        fl_err(err, "query '%.200s' returned no series%s%s%s", c->query, c->mode == PRQ_RANGE ? " in the window" : "",
               r.warnings ? " (Prometheus warns: " : "", r.warnings ? r.warnings : "");
        if (r.warnings) strncat(err, ")", FL_ERR_LEN - strlen(err) - 1);
        buf_release(&o);
        prom_result_release(&r);
        return -1;
    }
    if (r.type == PROM_STRING) {
        int ok = expect_eval_str(&c->expect, r.series[0].str);
        obs->outcome = ok ? PROBE_PASSED : PROBE_FAILED;
        buf_addf(&o, "\"%.200s\"", r.series[0].str ? r.series[0].str : "");
        goto done;
    }
    size_t meet = 0, judged = 0, shown = 0;
    struct buf det;
    buf_init(&det, sizeof obs->observed);
    enum prom_agg agg = c->mode == PRQ_RANGE ? c->agg : PROM_AGG_LAST;
    for (size_t i = 0; i < r.n; i++) {
        double v = prom_aggregate(&r.series[i], agg);
        if (r.series[i].n == 0 || isnan(v)) continue; /* NaN (0/0: a ratio of nothing) is no value */
        judged++;
        int ok = expect_eval_num(&c->expect, v);
        meet += ok != 0;
        if (!obs->has_value) obs->has_value = 1, obs->value = v;
        /* show the series that decide: those that miss (every) or meet (any), one if alone */
        if (shown < 3 && ((ok != 0) == c->any || r.n == 1)) {
            buf_addf(&det, "%s%s=%g", shown ? ", " : "", r.series[i].labels, v);
            if (c->mode == PRQ_RANGE) buf_addf(&det, " (%s of %zu samples)", prom_agg_name(agg), r.series[i].n);
            shown++;
        }
    }
    if (judged == 0) {
        fl_err(err, "query '%.200s' returned series without samples or only NaN (no data, e.g. a ratio of zero "
               "requests)", c->query);
        buf_release(&det);
        buf_release(&o);
        prom_result_release(&r);
        return -1;
    }
    obs->outcome = (c->any ? meet > 0 : meet == judged) ? PROBE_PASSED : PROBE_FAILED;
    if (r.n > 1) buf_addf(&o, "%zu of %zu series meet '%s'%s", meet, judged, c->expect_text, shown ? ": " : "");
    buf_adds(&o, det.data);
    buf_release(&det);
done:
    if (c->mode == PRQ_RANGE) buf_addf(&o, " over %.0fs at %llds steps", to - from, (long long)(step / 1000));
    snprintf(obs->observed, sizeof obs->observed, "%s", o.data);
    buf_release(&o);
    prom_result_release(&r);
    return 0;
}

static void prq_describe(const void *cfg, struct buf *out)
{
    const struct prq_cfg *c = cfg;
    buf_addf(out, "%s at %s: ", c->query, c->url);
    if (c->mode == PRQ_COUNT) buf_addf(out, "%s", c->expect_text);
    else buf_addf(out, "%s series %s", c->any ? "any" : "every", c->expect_text);
    if (c->mode == PRQ_RANGE) buf_adds(out, c->window_given ? " over the window given" : " over the probe's window");
    if (c->username) buf_addf(out, " (basic auth as '%s')", c->username);
    if (c->bearer) buf_adds(out, " (bearer token)");
}

static void prq_free_state(void *s) { free(s); }

const struct probe_ops probe_prometheus = {
    .name = "prometheus",
    .summary = "a PromQL query (instant, or max/min/avg/last over the window) against the Prometheus HTTP API",
    .params = prq_params,
    .parse = prq_parse,
    .check = prq_check,
    .describe = prq_describe,
    .free_cfg = prq_free,
    .free_state = prq_free_state,
};
