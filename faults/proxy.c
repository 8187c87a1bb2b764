/* proxy.c -- the `proxy` target (faultline listens and forwards for the whole run) and the
 * proxy.* fault kinds, each a toxic added to that proxy and removed on revert.
 * The forwarding itself lives in proxy_engine.c; one engine thread serves every proxy
 * target of the process. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fault.h"
#include "fl.h"
#include "params.h"
#include "proxy.h"
#include "proxy_engine.h"
#include "value.h"

struct proxy_target {
    char *listen, *upstream;
    struct px *px;           /* while open */
};

/* one engine for the process, shared by the open proxy targets; and the open proxies by
 * listen address, so reconcile can act on a proxy of this very process */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct px_engine *g_engine;
static int g_refs;
struct live { struct live *next; char *listen; struct px *px; };
static struct live *g_live;

static const struct param_spec target_params[] = {
    { "listen", PT_STR, PARAM_REQUIRED, "address faultline listens on, host:port (e.g. 127.0.0.1:15432)" },
    { "upstream", PT_STR, PARAM_REQUIRED, "address it forwards to, host:port (e.g. 127.0.0.1:5432)" },
    { 0 },
};

static int target_parse(const struct drv_parse *pc, struct target *t, const struct node *spec, struct diag *d)
{
    (void)pc;
    char err[FL_ERR_LEN];
    const char *keys[] = { "listen", "upstream" };
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        const char *v = param_str(spec, keys[i], NULL);
        if (!v || px_addr_check(v, err) < 0) {
            diag_add(d, node_get(spec, keys[i]) ? node_get(spec, keys[i]) : spec, "target '%s': %s: %s", t->name,
                     keys[i], v ? err : "missing");
            bad = 1;
        }
    }
    if (bad) return -1;
    struct proxy_target *pt = fl_calloc(1, sizeof *pt);
    pt->listen = fl_strdup(param_str(spec, "listen", ""));
    pt->upstream = fl_strdup(param_str(spec, "upstream", ""));
    t->cfg = pt;
    return 0;
}

static int target_open(struct target *t, const struct drv_ctx *ctx, char *err)
{
    struct proxy_target *pt = t->cfg;
    if (ctx && ctx->dry_run) {
        if (px_addr_check(pt->listen, err) < 0 || px_addr_check(pt->upstream, err) < 0) return -1;
        return 0;
    }
    if (pt->px) return 0;
    pthread_mutex_lock(&g_mu);
    if (!g_engine) {
        g_engine = px_engine_new(err);
        if (!g_engine) { pthread_mutex_unlock(&g_mu); return -1; }
    }
    char perr[FL_ERR_LEN];
    struct px *px = px_listen(g_engine, pt->listen, pt->upstream, perr);
    if (!px) {
        if (g_refs == 0) { px_engine_free(g_engine); g_engine = NULL; }
        pthread_mutex_unlock(&g_mu);
        return fl_err(err, "cannot open proxy '%s': %s", t->name, perr);
    }
    g_refs++;
    struct live *l = fl_calloc(1, sizeof *l);
    l->listen = fl_strdup(pt->listen);
    l->px = px;
    l->next = g_live;
    g_live = l;
    pt->px = px;
    pthread_mutex_unlock(&g_mu);
    fl_log(FL_LOG_INFO, "proxy '%s' listening on %s, forwarding to %s", t->name, px_address(px), pt->upstream);
    return 0;
}

struct px *proxy_target_px(const struct target *t)
{
    const struct proxy_target *pt = t && t->ops && !strcmp(t->ops->name, "proxy") ? t->cfg : NULL;
    return pt ? pt->px : NULL;
}

static void target_close(struct target *t, const struct drv_ctx *ctx)
{
    (void)ctx;
    struct proxy_target *pt = t->cfg;
    if (!pt || !pt->px) return;
    pthread_mutex_lock(&g_mu);
    for (struct live **lp = &g_live; *lp; lp = &(*lp)->next)
        if ((*lp)->px == pt->px) {
            struct live *l = *lp;
            *lp = l->next;
            free(l->listen);
            free(l);
            break;
        }
    px_close(pt->px);
    pt->px = NULL;
    if (--g_refs == 0) { px_engine_free(g_engine); g_engine = NULL; }
    pthread_mutex_unlock(&g_mu);
}

static void target_describe(const struct target *t, struct buf *out)
{
    const struct proxy_target *pt = t->cfg;
    buf_addf(out, "TCP proxy %s -> %s", pt->listen, pt->upstream);
}

static void target_free(struct target *t)
{
    struct proxy_target *pt = t->cfg;
    if (!pt) return;
    if (pt->px) target_close(t, NULL);
    free(pt->listen);
    free(pt->upstream);
    free(pt);
    t->cfg = NULL;
}

const struct target_ops target_proxy = {
    .name = "proxy",
    .summary = "a TCP proxy faultline runs for the whole experiment; proxy.* faults act on its traffic",
    .params = target_params,
    .parse = target_parse,
    .open = target_open,
    .close = target_close,
    .describe = target_describe,
    .free = target_free,
};

/* ---- toxics as fault kinds --------------------------------------------------------- */
/* "100kb/s", "1mb/s", "500000/s", "64kb" -> bytes per second */
static int parse_byte_rate(const char *s, double *out, char *err)
{
    char tmp[64];
    if (!s || strlen(s) >= sizeof tmp) return fl_err(err, "'%s' is not a byte rate (like 100kb/s)", s ? s : "");
    snprintf(tmp, sizeof tmp, "%s", s);
    char *slash = strchr(tmp, '/');
    if (slash) {
        if (strcmp(slash, "/s") != 0) return fl_err(err, "'%s' is not a byte rate: use bytes per second (/s)", s);
        *slash = '\0';
    }
    int64_t b;
    if (val_bytes(tmp, &b, err) < 0) return -1;
    if (b <= 0) return fl_err(err, "'%s' is not a byte rate: must be positive", s);
    *out = (double)b;
    return 0;
}

static int dur_us(const struct node *step, const char *key, int64_t def, int64_t *out, const char *what,
                  struct diag *d)
{
    const char *s = param_str(step, key, NULL);
    char err[FL_ERR_LEN];
    if (!s) { *out = def; return 0; }
    if (val_duration_us(s, out, err) < 0) {
        diag_add(d, node_get(step, key), "%s: %s: %s", what, key, err);
        return -1;
    }
    return 0;
}

static int parse_direction(const struct node *step, unsigned *dir, const char *what, struct diag *d)
{
    const char *s = param_str(step, "direction", NULL);
    *dir = 0;
    if (!s) return 0;
    if (strcmp(s, "upstream") == 0) *dir = PX_DIR_UPSTREAM;
    else if (strcmp(s, "downstream") == 0) *dir = PX_DIR_DOWNSTREAM;
    else if (strcmp(s, "both") == 0) *dir = PX_DIR_BOTH;
    else {
        diag_add(d, node_get(step, "direction"), "%s: direction must be upstream, downstream or both, not '%s'", what, s);
        return -1;
    }
    return 0;
}

static int toxic_parse(enum px_kind kind, const char *what, const struct node *step, void **cfg, struct diag *d)
{
    struct px_toxic_cfg c = { .kind = kind, .probability = 1 };
    int bad = 0;
    char err[FL_ERR_LEN];
    switch (kind) {
    case PX_LATENCY:
        if (!param_str(step, "latency", NULL)) { diag_add(d, step, "%s: needs latency:", what); bad = 1; }
        bad |= dur_us(step, "latency", 0, &c.latency_us, what, d) < 0;
        bad |= dur_us(step, "jitter", 0, &c.jitter_us, what, d) < 0;
        bad |= parse_direction(step, &c.direction, what, d) < 0;
        break;
    case PX_BANDWIDTH: {
        const char *r = param_str(step, "rate", NULL);
        if (!r) { diag_add(d, step, "%s: needs rate: (bytes per second, like 100kb/s)", what); bad = 1; }
        else if (parse_byte_rate(r, &c.rate, err) < 0) { diag_add(d, node_get(step, "rate"), "%s: rate: %s", what, err); bad = 1; }
        bad |= parse_direction(step, &c.direction, what, d) < 0;
        break;
    }
    case PX_TIMEOUT:
        bad |= parse_direction(step, &c.direction, what, d) < 0;
        if (!c.direction) c.direction = PX_DIR_BOTH;
        break;
    case PX_SLOW_CLOSE:
    case PX_HTTP_DELAY:
        if (!param_str(step, "delay", NULL)) { diag_add(d, step, "%s: needs delay:", what); bad = 1; }
        bad |= dur_us(step, "delay", 0, &c.delay_us, what, d) < 0;
        break;
    case PX_HTTP_ERROR: {
        int64_t st = param_int(step, "status", 503);
        if (st < 100 || st > 599) {
            diag_add(d, node_get(step, "status"), "%s: status must be an HTTP status 100..599", what);
            bad = 1;
        }
        c.status = (int)st;
        c.share = param_percent(step, "share", 1.0);
        if (c.share < 0 || c.share > 1) {
            diag_add(d, node_get(step, "share"), "%s: share must be between 0 and 1 (or 0%%..100%%)", what);
            bad = 1;
        }
        break;
    }
    case PX_RESET:
    case PX_DOWN:
        break;
    }
    if (bad) return -1;
    struct px_toxic_cfg *out = fl_malloc(sizeof *out);
    *out = c;
    *cfg = out;
    return 0;
}

#define TOXIC_PARSE(fn, kind, name)                                                            \
    static int fn(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)         \
    {                                                                                          \
        (void)pc;                                                                               \
        return toxic_parse(kind, name, step, cfg, d);                                          \
    }
TOXIC_PARSE(latency_parse, PX_LATENCY, "proxy.latency")
TOXIC_PARSE(bandwidth_parse, PX_BANDWIDTH, "proxy.bandwidth")
TOXIC_PARSE(timeout_parse, PX_TIMEOUT, "proxy.timeout")
TOXIC_PARSE(reset_parse, PX_RESET, "proxy.reset")
TOXIC_PARSE(down_parse, PX_DOWN, "proxy.down")
TOXIC_PARSE(slow_close_parse, PX_SLOW_CLOSE, "proxy.slow_close")
TOXIC_PARSE(http_error_parse, PX_HTTP_ERROR, "proxy.http_error")
TOXIC_PARSE(http_delay_parse, PX_HTTP_DELAY, "proxy.http_delay")

struct toxic_state {
    char *listen;
    int id;
};

/* the intent: which proxy (its listen address), in which process; the toxic gets its id
 * when added (the done record has it) */
static int toxic_prepare(struct fault_inst *fi, char *err)
{
    const char *tname = fi->target ? fi->target->name : "?";
    struct proxy_target *pt = fi->target ? fi->target->cfg : NULL;
    if (!pt || !pt->px) return fl_err(err, "proxy '%s' is not listening (target not opened)", tname);
    struct toxic_state *st = fl_calloc(1, sizeof *st);
    st->listen = fl_strdup(pt->listen);
    st->id = -1;
    fi->state = st;
    return 0;
}

static int toxic_inject(struct fault_inst *fi, char *err)
{
    const char *tname = fi->target ? fi->target->name : "?";
    if (!fi->state && toxic_prepare(fi, err) < 0) return -1;
    struct toxic_state *st = fi->state;
    struct proxy_target *pt = fi->target->cfg;
    struct px_toxic_cfg c = *(const struct px_toxic_cfg *)fi->cfg;
    c.probability = fi->step ? fi->step->probability : 1.0;
    char perr[FL_ERR_LEN];
    int id = px_add_toxic(pt->px, &c, perr);
    if (id < 0) return fl_err(err, "cannot add %s to proxy '%s': %s", fi->ops->name, tname, perr);
    st->id = id;
    return 0;
}

static int toxic_revert(struct fault_inst *fi, char *err)
{
    struct toxic_state *st = fi->state;
    struct proxy_target *pt = fi->target ? fi->target->cfg : NULL;
    if (!st || st->id < 0) return 0;
    if (!pt || !pt->px) return 0;   /* the proxy is closed: its toxics went with it */
    char perr[FL_ERR_LEN];
    /* already gone (reconcile ran first) is the state we want */
    int rc = px_remove_toxic(pt->px, st->id, perr);
    if (rc == PX_STUCK) {
        /* the toxic cannot be lifted: no client may keep waiting behind it */
        int n = px_sever(pt->px);
        return fl_err(err, "cannot remove %s from proxy '%s': %s; dropped its %d connection%s and "
                      "refused new ones instead", fi->ops->name, fi->target->name, perr, n, n == 1 ? "" : "s");
    }
    if (rc < 0 && !strstr(perr, "no toxic"))
        return fl_err(err, "cannot remove %s from proxy '%s': %s", fi->ops->name, fi->target->name, perr);
    return 0;
}

static json_t *toxic_save(const struct fault_inst *fi)
{
    const struct toxic_state *st = fi->state;
    if (!st) return NULL;
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "listen", st->listen, "kind", fi->ops->name, "pid", (int)getpid(),
                          "note", "the toxic lives in the faultline process that runs the proxy: "
                                  "if that process is gone, so are the proxy and the toxic (nothing to undo)");
    if (st->id >= 0) json_object_set_new(j, "toxic_id", json_integer(st->id));
    return j;
}

/* a proxy of this very process (the listener is live here): take the toxic off it */
static int remove_live(const char *listen, int id, int *found, char *err)
{
    int rc = 0;
    *found = 0;
    pthread_mutex_lock(&g_mu);
    for (struct live *l = g_live; l; l = l->next) {
        if (strcmp(l->listen, listen) != 0) continue;
        *found = 1;
        char perr[FL_ERR_LEN];
        struct px_stats s;
        int r = px_stats(l->px, &s) == PX_STUCK ? PX_STUCK : 0;
        /* already removed (e.g. reverted before) is fine: the proxy is as found */
        if (!r && s.toxics > 0 && id >= 0) r = px_remove_toxic(l->px, id, perr);
        if (r == PX_STUCK) {
            int n = px_sever(l->px);
            rc = fl_err(err, "cannot remove toxic %d from proxy %s: the proxy engine did not answer; dropped its "
                        "%d connection%s and refused new ones instead", id, listen, n, n == 1 ? "" : "s");
        } else if (r < 0 && !strstr(perr, "no toxic")) {
            rc = fl_err(err, "cannot remove toxic %d from proxy %s: %s", id, listen, perr);
        }
        break;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

static int toxic_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    const char *listen = json_string_value(json_object_get(r->rec, "listen"));
    json_t *id = json_object_get(r->rec, "toxic_id");
    if (!listen) return fl_err(err, "journal record of a proxy toxic needs 'listen'");
    int found = 0;
    if (remove_live(listen, json_is_integer(id) ? (int)json_integer_value(id) : -1, &found, err) < 0) {
        fault_report(report, "proxy %s (in this process): %s", listen, err);
        return -1;
    }
    if (found && json_is_integer(id))
        fault_report(report, "proxy %s runs in this process: its toxic removed", listen);
    else if (found)
        fault_report(report, "proxy %s runs in this process: no toxic was added yet: nothing to do", listen);
    else if (fault_record_runner_alive(r))
        fault_report(report, "proxy %s and its toxic live in faultline process %lld, which still runs: it removes its "
                     "toxics itself", listen, r->runner_pid);
    else
        fault_report(report, "nothing to undo: proxy %s and its toxic lived inside faultline process %lld, which is "
                     "gone; the listener closed with it (clients now get connection refused until they reach the "
                     "upstream directly)", listen, r->runner_pid);
    return 0;
}

static void toxic_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct px_toxic_cfg *c = fi->cfg;
    char a[32], b[32];
    static const char *const dirs[] = { "", "upstream", "downstream", "both directions" };
    switch (c->kind) {
    case PX_LATENCY:
        val_fmt_duration((c->latency_us + 500) / 1000, a);
        buf_addf(out, "add %s latency", a);
        if (c->jitter_us) { val_fmt_duration((c->jitter_us + 500) / 1000, b); buf_addf(out, " (jitter %s)", b); }
        buf_addf(out, " %s", dirs[c->direction ? c->direction : PX_DIR_DOWNSTREAM]);
        break;
    case PX_BANDWIDTH:
        buf_addf(out, "cap bandwidth to %.0f bytes/s %s", c->rate, dirs[c->direction ? c->direction : PX_DIR_DOWNSTREAM]);
        break;
    case PX_TIMEOUT:
        buf_addf(out, "hold all data (never forward) %s", dirs[c->direction ? c->direction : PX_DIR_BOTH]);
        break;
    case PX_RESET: buf_adds(out, "reset (RST) existing and new connections"); break;
    case PX_DOWN: buf_adds(out, "refuse new connections (existing ones keep working)"); break;
    case PX_SLOW_CLOSE:
        val_fmt_duration((c->delay_us + 500) / 1000, a);
        buf_addf(out, "delay every close by %s", a);
        break;
    case PX_HTTP_ERROR:
        buf_addf(out, "answer %.0f%% of HTTP requests with %d without forwarding them", c->share * 100, c->status);
        break;
    case PX_HTTP_DELAY:
        val_fmt_duration((c->delay_us + 500) / 1000, a);
        buf_addf(out, "hold HTTP response headers for %s", a);
        break;
    }
    double prob = fi->step ? fi->step->probability : 1.0;
    if (prob < 1) buf_addf(out, " on %.0f%% of connections", prob * 100);
    if (fi->target) {
        const struct proxy_target *pt = fi->target->cfg;
        buf_addf(out, " at proxy '%s'", fi->target->name);
        if (pt) buf_addf(out, " (%s -> %s)", pt->listen, pt->upstream);
    }
    buf_adds(out, "; revert: remove the toxic");
}

static void toxic_free_state(void *p)
{
    struct toxic_state *st = p;
    if (!st) return;
    free(st->listen);
    free(st);
}

static const struct param_spec latency_params[] = {
    { "latency", PT_DURATION, PARAM_REQUIRED, "delay added to every chunk of data" },
    { "jitter", PT_DURATION, 0, "uniform +- variation around latency" },
    { "direction", PT_STR, 0, "upstream, downstream (default) or both" },
    { 0 },
};
static const struct param_spec bandwidth_params[] = {
    { "rate", PT_STR, PARAM_REQUIRED, "bytes per second, like 100kb/s (kb = 1024 bytes)" },
    { "direction", PT_STR, 0, "upstream, downstream (default) or both" },
    { 0 },
};
static const struct param_spec timeout_params[] = {
    { "direction", PT_STR, 0, "upstream, downstream or both (default)" },
    { 0 },
};
static const struct param_spec none_params[] = { { 0 } };
static const struct param_spec delay_params[] = {
    { "delay", PT_DURATION, PARAM_REQUIRED, "how long" },
    { 0 },
};
static const struct param_spec http_error_params[] = {
    { "status", PT_INT, 0, "HTTP status answered (default 503)" },
    { "share", PT_PERCENT, 0, "share of requests answered so (default 100%)" },
    { 0 },
};

#define TOXIC_OPS(var, name_, parse_, params_, summary_)                                        \
    const struct fault_ops var = {                                                             \
        .name = name_,                                                                         \
        .target_kind = "proxy",                                                                \
        .summary = summary_,                                                                   \
        .revert_summary = "remove the toxic (what it holds is forwarded)",                     \
        .params = params_,                                                                     \
        .parse = parse_,                                                                       \
        .prepare = toxic_prepare,                                                              \
        .inject = toxic_inject,                                                                \
        .revert = toxic_revert,                                                                \
        .save = toxic_save,                                                                    \
        .reconcile = toxic_reconcile,                                                          \
        .describe = toxic_describe,                                                            \
        .free_cfg = free,                                                                      \
        .free_state = toxic_free_state,                                                        \
    };

TOXIC_OPS(fault_proxy_latency, "proxy.latency", latency_parse, latency_params,
          "delay data through the proxy (latency:, jitter:, direction:)")
TOXIC_OPS(fault_proxy_bandwidth, "proxy.bandwidth", bandwidth_parse, bandwidth_params,
          "cap the proxy's throughput (rate: bytes per second)")
TOXIC_OPS(fault_proxy_timeout, "proxy.timeout", timeout_parse, timeout_params,
          "hold all data: nothing is forwarded while it lasts")
TOXIC_OPS(fault_proxy_reset, "proxy.reset", reset_parse, none_params,
          "reset (RST) existing connections and every new one")
TOXIC_OPS(fault_proxy_down, "proxy.down", down_parse, none_params,
          "refuse new connections; existing ones keep working")
TOXIC_OPS(fault_proxy_slow_close, "proxy.slow_close", slow_close_parse, delay_params,
          "delay forwarding each close (delay:)")
TOXIC_OPS(fault_proxy_http_error, "proxy.http_error", http_error_parse, http_error_params,
          "answer a share of HTTP/1.1 requests with a status, without forwarding them")
TOXIC_OPS(fault_proxy_http_delay, "proxy.http_delay", http_delay_parse, delay_params,
          "hold HTTP/1.1 response headers for delay:")
