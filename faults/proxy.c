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
#include "proxy_toxics.h"
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

/* ---- toxics as fault kinds: one `proxy.<name>` per row of px_toxics[] ------------------- */
/* A `match:` map: {method: POST, path: /api/v1/...} */
static const struct param_spec match_params[] = {
    { "method", PT_STR, 0, "HTTP method (GET, POST, ...)" },
    { "path", PT_STR, 0, "path prefix, or a glob with * ? [ ]" },
    { 0 },
};

static char g_names[PX_NKINDS][32];   /* "proxy.latency" ... */

static int toxic_parse(size_t kind, const struct node *step, void **cfg, struct diag *d)
{
    const struct px_toxic_type *ty = &px_toxics[kind];
    const char *what = g_names[kind];
    struct px_toxic_cfg c;
    px_toxic_defaults(&c, (enum px_kind)kind);
    int bad = 0;
    char err[FL_ERR_LEN];
    for (const struct px_attr *a = ty->attrs; a->name; a++) {
        if (a->flags & PXA_F_NOPLAN) continue;
        if (a->ptype == PT_MAP) {
            const struct node *m = node_get(step, a->name);
            if (!m) continue;
            if (params_check(m, match_params, NULL, what, d)) { bad = 1; continue; }
            for (const struct param_spec *ps = match_params; ps->name; ps++) {
                const char *v = param_str(m, ps->name, NULL);
                const struct px_attr *ma = px_attr_find(ty, ps->name, 0);
                if (v && ma && px_attr_set(ma, &c, v, err) < 0) {
                    diag_add(d, node_get(m, ps->name), "%s: match: %s: %s", what, ps->name, err);
                    bad = 1;
                }
            }
            continue;
        }
        const char *v = param_str(step, a->name, NULL);
        if (!v) {
            if (a->flags & PXA_REQUIRED) { diag_add(d, step, "%s: needs %s:", what, a->name); bad = 1; }
            continue;
        }
        if (px_attr_set(a, &c, v, err) < 0) {
            diag_add(d, node_get(step, a->name), "%s: %s: %s", what, a->name, err);
            bad = 1;
        }
    }
    if (!bad && px_toxic_check(&c, err) < 0) { diag_add(d, step, "%s: %s", what, err); bad = 1; }
    if (bad) return -1;
    struct px_toxic_cfg *out = fl_malloc(sizeof *out);
    *out = c;
    *cfg = out;
    return 0;
}

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
    px_toxic_describe(fi->cfg, out);
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

/* the fault kinds, built once from px_toxics[]: names, summaries and params from the table */
static struct fault_ops g_ops[PX_NKINDS];

/* fault_ops.parse does not say which kind it parses: one slot per row */
#define PARSE_SLOT(i)                                                                               \
    static int parse_##i(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d) \
    {                                                                                               \
        (void)pc;                                                                                   \
        return toxic_parse(i, step, cfg, d);                                                        \
    }
PARSE_SLOT(0) PARSE_SLOT(1) PARSE_SLOT(2) PARSE_SLOT(3) PARSE_SLOT(4) PARSE_SLOT(5) PARSE_SLOT(6) PARSE_SLOT(7)
PARSE_SLOT(8) PARSE_SLOT(9) PARSE_SLOT(10) PARSE_SLOT(11) PARSE_SLOT(12) PARSE_SLOT(13) PARSE_SLOT(14) PARSE_SLOT(15)
static int (*const parse_slots[])(const struct drv_parse *, const struct node *, void **, struct diag *) = {
    parse_0, parse_1, parse_2, parse_3, parse_4, parse_5, parse_6, parse_7,
    parse_8, parse_9, parse_10, parse_11, parse_12, parse_13, parse_14, parse_15,
};
static struct param_spec g_params[PX_NKINDS][16];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void build_ops(void)
{
    _Static_assert(PX_NKINDS <= sizeof parse_slots / sizeof parse_slots[0], "more toxic types than parse slots: add PARSE_SLOTs");
    for (size_t i = 0; i < PX_NKINDS; i++) {
        const struct px_toxic_type *ty = &px_toxics[i];
        snprintf(g_names[i], sizeof g_names[i], "proxy.%s", ty->name);
        size_t n = 0;
        for (const struct px_attr *a = ty->attrs; a->name && n + 1 < sizeof g_params[i] / sizeof g_params[i][0]; a++)
            if (!(a->flags & PXA_F_NOPLAN))
                g_params[i][n++] = (struct param_spec){ a->name, a->ptype, a->flags & PXA_REQUIRED ? PARAM_REQUIRED : 0, a->help };
        g_params[i][n] = (struct param_spec){ 0 };
        g_ops[i] = (struct fault_ops){
            .name = g_names[i],
            .target_kind = "proxy",
            .summary = ty->summary,
            .revert_summary = "remove the toxic (what it holds is forwarded)",
            .params = g_params[i],
            .parse = parse_slots[i],
            .prepare = toxic_prepare,
            .inject = toxic_inject,
            .revert = toxic_revert,
            .save = toxic_save,
            .reconcile = toxic_reconcile,
            .describe = toxic_describe,
            .free_cfg = free,
            .free_state = toxic_free_state,
        };
    }
}

const struct fault_ops *proxy_toxic_ops(size_t i)
{
    pthread_once(&g_once, build_ops);
    return i < PX_NKINDS ? &g_ops[i] : NULL;
}
