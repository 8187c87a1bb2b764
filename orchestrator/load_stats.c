/* load_stats.c -- the load engine's figures: per-second windows of counts and latency
 * histograms, filled as requests finish, queried for any window of the run, judged
 * against the thresholds and written as JSON (see load.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl.h"
#include "load_int.h"

int lg_classify(CURLcode rc, long status)
{
    switch (rc) {
    case CURLE_OK:
        if (status >= 500) return EC_5XX;
        if (status >= 400) return EC_4XX;
        if (status < 100) return EC_OTHER;
        return -1;
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
        return EC_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return EC_TIMEOUT;
    default:
        return EC_OTHER;
    }
}

static void counts_add(struct lg_counts *c, int cls)
{
    c->count++;
    if (cls >= 0) c->err[cls]++;
}

static void counts_merge(struct lg_counts *dst, const struct lg_counts *src)
{
    dst->count += src->count;
    for (int i = 0; i < EC_N; i++) dst->err[i] += src->err[i];
}

/* under lg->mu: add h/c into the compact window of second sec */
static void merge_into_win(struct lg_blk *b, int64_t sec, const struct hist *h, const struct lg_counts *c)
{
    struct lg_win *w = &b->wins[sec];
    counts_merge(&w->c, c);
    struct hist_sparse sp;
    hist_sparse_from(&sp, h);
    if (w->hs.count) { /* a late request for a second whose window was already closed */
        static _Thread_local struct hist tmp;
        hist_init(&tmp);
        hist_merge_sparse(&tmp, &w->hs);
        hist_merge_sparse(&tmp, &sp);
        hist_sparse_release(&w->hs);
        hist_sparse_release(&sp);
        hist_sparse_from(&w->hs, &tmp);
    } else {
        hist_sparse_release(&w->hs);
        w->hs = sp;
    }
}

/* under lg->mu: move open window k into its compact slot */
static void close_window(struct lg_blk *b, int k)
{
    if (b->open_sec[k] >= 0 && b->open_c[k].count) merge_into_win(b, b->open_sec[k], &b->open_h[k], &b->open_c[k]);
    hist_reset(&b->open_h[k]);
    memset(&b->open_c[k], 0, sizeof b->open_c[k]);
    b->open_sec[k] = -1;
}

/* a request sent at start_ns (the intended send time in the open model) counts in that
 * second's window, so what a fault window sees is what was sent during the fault */
void lg_record(struct lg_blk *b, int ep, int64_t start_ns, int64_t lat_ns, int cls, int has_latency)
{
    struct lg *lg = b->lg;
    int64_t sec = (start_ns - lg->t0_ns) / 1000000000LL;
    if (sec < 0) sec = 0;
    if (sec >= (int64_t)b->nwins) sec = (int64_t)b->nwins - 1;
    if (lat_ns < 0) lat_ns = 0;
    int k = (int)(sec % LG_OPEN_WINS);
    pthread_mutex_lock(&lg->mu);
    if (b->open_sec[k] != sec && b->open_sec[k] > sec) {
        /* older than every open window (a request slower than the ring): straight in */
        static _Thread_local struct hist one;
        struct lg_counts c1 = { 0 };
        hist_init(&one);
        if (has_latency) hist_record(&one, (uint64_t)lat_ns);
        counts_add(&c1, cls);
        merge_into_win(b, sec, &one, &c1);
    } else {
        if (b->open_sec[k] != sec) {
            close_window(b, k);
            b->open_sec[k] = sec;
        }
        counts_add(&b->open_c[k], cls);
        if (has_latency) hist_record(&b->open_h[k], (uint64_t)lat_ns);
    }
    struct lg_ep *e = &b->eps[ep];
    counts_add(&e->c, cls);
    if (has_latency) hist_record(&e->h, (uint64_t)lat_ns);
    if (b->cfg->has_login && ep == (int)b->cfg->nreqs) b->logins++;
    if (!has_latency) b->drops++;
    pthread_mutex_unlock(&lg->mu);
}

int64_t lg_elapsed_ms(struct lg *lg)
{
    if (!lg->started) return 0;
    int64_t end = atomic_load(&lg->stopped_ns);
    if (!end) {
        end = fl_now_ns();
        if (end > lg->end_ns) end = lg->end_ns;
    }
    int64_t el = (end - lg->t0_ns) / 1000000LL;
    return el < 0 ? 0 : el;
}

size_t lg_nblocks(const struct lg *lg) { return lg->nblocks; }
const char *lg_block_at(const struct lg *lg, size_t i) { return i < lg->nblocks ? lg->blocks[i]->cfg->name : NULL; }

static struct lg_blk *find_block(struct lg *lg, const char *name)
{
    for (size_t i = 0; i < lg->nblocks; i++)
        if (!strcmp(lg->blocks[i]->cfg->name, name)) return lg->blocks[i];
    return NULL;
}

static void fill_stats(struct lg_stats *o, const struct lg_counts *c, const struct hist *h, double seconds)
{
    memset(o, 0, sizeof *o);
    o->count = c->count;
    o->err_connect = c->err[EC_CONNECT];
    o->err_timeout = c->err[EC_TIMEOUT];
    o->err_4xx = c->err[EC_4XX];
    o->err_5xx = c->err[EC_5XX];
    o->err_other = c->err[EC_OTHER];
    for (int i = 0; i < EC_N; i++) o->errors += c->err[i];
    o->seconds = seconds > 0 ? seconds : 0;
    o->rps = seconds > 0 ? (double)c->count / seconds : 0;
    o->ok_rps = seconds > 0 ? (double)(c->count - o->errors) / seconds : 0;
    o->error_rate = c->count ? (double)o->errors / (double)c->count : 0;
    if (h->count) {
        o->p50 = (double)hist_quantile(h, 0.50) / 1e6;
        o->p90 = (double)hist_quantile(h, 0.90) / 1e6;
        o->p95 = (double)hist_quantile(h, 0.95) / 1e6;
        o->p99 = (double)hist_quantile(h, 0.99) / 1e6;
        o->max = (double)h->max / 1e6;
        o->min = (double)h->min / 1e6;
        o->mean = hist_mean(h) / 1e6;
    }
}

/* merge seconds [s0, s1) of b into c / h; under lg->mu */
static void merge_windows(struct lg_blk *b, int64_t s0, int64_t s1, struct lg_counts *c, struct hist *h)
{
    if (s1 > (int64_t)b->nwins) s1 = (int64_t)b->nwins;
    for (int64_t s = s0 < 0 ? 0 : s0; s < s1; s++) {
        counts_merge(c, &b->wins[s].c);
        hist_merge_sparse(h, &b->wins[s].hs);
        for (int k = 0; k < LG_OPEN_WINS; k++)
            if (b->open_sec[k] == s) {
                counts_merge(c, &b->open_c[k]);
                hist_merge(h, &b->open_h[k]);
            }
    }
}

int lg_query(struct lg *lg, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out)
{
    memset(out, 0, sizeof *out);
    struct lg_blk *only = NULL;
    if (block && !(only = find_block(lg, block))) return -1;
    int64_t el = lg_elapsed_ms(lg);
    if (from_ms < 0) from_ms = 0;
    if (to_ms > el) to_ms = el;
    if (to_ms <= from_ms) return 0;
    /* to the nearest whole seconds (a fault window [8.003 s, 18.010 s) is seconds 8..17, and
     * a window ending at an injection at 10.003 s leaves out second 10, which is mostly the
     * fault); a window shorter than that takes the seconds it touches */
    int64_t s0 = (from_ms + 500) / 1000, s1 = (to_ms + 500) / 1000;
    if (s1 <= s0) { s0 = from_ms / 1000; s1 = (to_ms + 999) / 1000; }
    struct hist *h = fl_malloc(sizeof *h);
    hist_init(h);
    struct lg_counts c = { 0 };
    pthread_mutex_lock(&lg->mu);
    for (size_t i = 0; i < lg->nblocks; i++)
        if (!only || lg->blocks[i] == only) merge_windows(lg->blocks[i], s0, s1, &c, h);
    pthread_mutex_unlock(&lg->mu);
    int64_t end = s1 * 1000 < el ? s1 * 1000 : el;
    fill_stats(out, &c, h, (double)(end - s0 * 1000) / 1000.0);
    free(h);
    return 0;
}

size_t lg_nendpoints(struct lg *lg, const char *block)
{
    struct lg_blk *b = find_block(lg, block);
    return b ? b->neps : 0;
}

const char *lg_endpoint_name(struct lg *lg, const char *block, size_t endpoint)
{
    struct lg_blk *b = find_block(lg, block);
    return b && endpoint < b->neps ? b->preps[endpoint].cfg->name : NULL;
}

int lg_query_endpoint(struct lg *lg, const char *block, size_t endpoint, struct lg_stats *out)
{
    memset(out, 0, sizeof *out);
    struct lg_blk *b = find_block(lg, block);
    if (!b || endpoint >= b->neps) return -1;
    struct hist *h = fl_malloc(sizeof *h);
    pthread_mutex_lock(&lg->mu);
    struct lg_counts c = b->eps[endpoint].c;
    memcpy(h, &b->eps[endpoint].h, sizeof *h);
    pthread_mutex_unlock(&lg->mu);
    fill_stats(out, &c, h, (double)lg_elapsed_ms(lg) / 1000.0);
    free(h);
    return 0;
}

uint64_t lg_logins(struct lg *lg, const char *block)
{
    struct lg_blk *b = find_block(lg, block);
    if (!b) return 0;
    pthread_mutex_lock(&lg->mu);
    uint64_t n = b->logins;
    pthread_mutex_unlock(&lg->mu);
    return n;
}

/* a threshold: 1 holds, 0 fails, -1 no evidence (no request completed: only a threshold on
 * count or errors is judged then, nothing else was measured) */
static int threshold_ok(const struct expect *e, const struct lg_stats *st, double *v)
{
    *v = lg_metric(st, e->metric);
    if (!st->count && strcmp(e->metric, "count") && strcmp(e->metric, "errors")) return -1;
    return expect_eval_num(e, *v);
}

int lg_thresholds_ok(struct lg *lg)
{
    int ok = 1;
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        if (!b->cfg->nthresholds) continue;
        struct lg_stats st;
        lg_query(lg, b->cfg->name, 0, lg_elapsed_ms(lg), &st);
        for (size_t k = 0; k < b->cfg->nthresholds; k++) {
            double v;
            if (threshold_ok(&b->cfg->thresholds[k], &st, &v) == 0) ok = 0;
        }
    }
    return ok;
}

int lg_thresholds_without_evidence(struct lg *lg, const char *block)
{
    struct lg_blk *b = find_block(lg, block);
    if (!b || !b->cfg->nthresholds) return 0;
    struct lg_stats st;
    lg_query(lg, b->cfg->name, 0, lg_elapsed_ms(lg), &st);
    for (size_t k = 0; k < b->cfg->nthresholds; k++) {
        double v;
        if (threshold_ok(&b->cfg->thresholds[k], &st, &v) < 0) return 1;
    }
    return 0;
}

static json_t *jnum(double v)
{
    if (!isfinite(v)) return json_null();
    return json_real(round(v * 1e6) / 1e6);
}

static void stats_json(json_t *o, const struct lg_stats *s)
{
    json_object_set_new(o, "count", json_integer((json_int_t)s->count));
    json_object_set_new(o, "rps", jnum(s->rps));
    json_object_set_new(o, "ok_rps", jnum(s->ok_rps));
    json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
    json_object_set_new(o, "error_rate", jnum(s->error_rate));
    json_object_set_new(o, "err_connect", json_integer((json_int_t)s->err_connect));
    json_object_set_new(o, "err_timeout", json_integer((json_int_t)s->err_timeout));
    json_object_set_new(o, "err_4xx", json_integer((json_int_t)s->err_4xx));
    json_object_set_new(o, "err_5xx", json_integer((json_int_t)s->err_5xx));
    json_object_set_new(o, "err_other", json_integer((json_int_t)s->err_other));
    json_object_set_new(o, "p50", jnum(s->p50));
    json_object_set_new(o, "p90", jnum(s->p90));
    json_object_set_new(o, "p95", jnum(s->p95));
    json_object_set_new(o, "p99", jnum(s->p99));
    json_object_set_new(o, "max", jnum(s->max));
    json_object_set_new(o, "mean", jnum(s->mean));
    json_object_set_new(o, "min", jnum(s->min));
}

static json_t *block_json(struct lg *lg, struct lg_blk *b)
{
    const struct lg_block_cfg *c = b->cfg;
    json_t *o = json_object();
    char desc[256];
    lg_block_describe(c, desc, sizeof desc);
    char *url = fl_strdup(c->base_url);
    fl_redact(url);
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "description", json_string(desc));
    json_object_set_new(o, "base_url", json_string(url));
    free(url);
    json_object_set_new(o, "model", json_string(c->open ? "open" : "closed"));
    if (c->open) json_object_set_new(o, "rate", jnum(c->rate));
    json_object_set_new(o, c->open ? "max_in_flight" : "vus", json_integer(c->vus));
    if (c->think_text) json_object_set_new(o, "think", json_string(c->think_text));
    if (c->nramp) {
        json_t *r = json_array();
        for (size_t i = 0; i < c->nramp; i++)
            json_array_append_new(r, json_pack("{s:o, s:I}", "to", jnum(c->ramp[i].to), "over_ms",
                                               (json_int_t)c->ramp[i].over_ms));
        json_object_set_new(o, "ramp", r);
    }
    int64_t el = lg_elapsed_ms(lg);
    int64_t bd = lg->started ? (b->end_ns - lg->t0_ns) / 1000000LL : 0;
    json_object_set_new(o, "duration_ms", json_integer(bd < el ? bd : el));
    json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));

    struct lg_stats st;
    lg_query(lg, c->name, 0, el, &st);
    json_t *tot = json_object();
    stats_json(tot, &st);
    json_object_set_new(o, "totals", tot);
    pthread_mutex_lock(&lg->mu);
    uint64_t logins = b->logins, drops = b->drops, interrupted = b->interrupted;
    pthread_mutex_unlock(&lg->mu);
    json_object_set_new(o, "logins", json_integer((json_int_t)logins));
    json_object_set_new(o, "dropped", json_integer((json_int_t)drops));
    json_object_set_new(o, "interrupted", json_integer((json_int_t)interrupted));

    json_t *th = json_array();
    for (size_t k = 0; k < c->nthresholds; k++) {
        double v;
        int ok = threshold_ok(&c->thresholds[k], &st, &v);
        json_array_append_new(th, json_pack("{s:s, s:s, s:o, s:o, s:s}", "expect", c->thresholds[k].text, "metric",
                                            c->thresholds[k].metric, "value", ok < 0 ? json_null() : jnum(v), "ok",
                                            ok < 0 ? json_null() : json_boolean(ok), "verdict",
                                            ok < 0 ? "inconclusive" : ok ? "passed" : "failed"));
    }
    json_object_set_new(o, "thresholds", th);

    json_t *eps = json_array();
    for (size_t k = 0; k < b->neps; k++) {
        struct lg_stats es;
        lg_query_endpoint(lg, c->name, k, &es);
        const struct lg_req_cfg *r = b->preps[k].cfg;
        json_t *e = json_pack("{s:s, s:s, s:s}", "name", r->name, "method", r->method, "path", r->path);
        stats_json(e, &es);
        json_array_append_new(eps, e);
    }
    json_object_set_new(o, "endpoints", eps);

    json_t *series = json_array();
    int64_t last = el > 0 ? (el - 1) / 1000 : -1;
    for (int64_t s = 0; s <= last && s < (int64_t)b->nwins; s++) {
        struct lg_stats ws;
        lg_query(lg, c->name, s * 1000, (s + 1) * 1000, &ws);
        json_t *w = json_object();
        json_object_set_new(w, "t", json_integer(s));
        json_object_set_new(w, "count", json_integer((json_int_t)ws.count));
        json_object_set_new(w, "rps", jnum(ws.rps));
        json_object_set_new(w, "ok_rps", jnum(ws.ok_rps));
        json_object_set_new(w, "errors", json_integer((json_int_t)ws.errors));
        json_object_set_new(w, "err_connect", json_integer((json_int_t)ws.err_connect));
        json_object_set_new(w, "err_timeout", json_integer((json_int_t)ws.err_timeout));
        json_object_set_new(w, "err_4xx", json_integer((json_int_t)ws.err_4xx));
        json_object_set_new(w, "err_5xx", json_integer((json_int_t)ws.err_5xx));
        json_object_set_new(w, "err_other", json_integer((json_int_t)ws.err_other));
        json_object_set_new(w, "p50", jnum(ws.p50));
        json_object_set_new(w, "p90", jnum(ws.p90));
        json_object_set_new(w, "p95", jnum(ws.p95));
        json_object_set_new(w, "p99", jnum(ws.p99));
        json_object_set_new(w, "max", jnum(ws.max));
        json_array_append_new(series, w);
    }
    json_object_set_new(o, "series", series);
    return o;
}

json_t *lg_to_json(struct lg *lg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < lg->nblocks; i++) json_array_append_new(a, block_json(lg, lg->blocks[i]));
    return a;
}
