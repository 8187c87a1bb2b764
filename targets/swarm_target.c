/* swarm_target.c -- the `swarm` target kind: a Docker Swarm service by name or labels,
 * resolved to its running tasks and their nodes, with pick: (swarm_target_resolve, declared in
 * docker_api.h, used by swarm faults and the service probe).
 *
 *   targets:
 *     web: { swarm: { service: web, host: "tcp://manager:2376" }, pick: { count: 1, seed: 7 } }
 *
 * Tasks are ordered by service, slot and node, nodes by hostname, so a seeded pick designates
 * the same slot or node from one run to the next even though task ids change.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker_api.h"
#include "target.h"

/* ---- the target ------------------------------------------------------------------------------ */

static const struct param_spec swarm_target_params[] = {
    { "service", PT_STR, 0, "service name or id" },
    { "labels", PT_MAP, 0, "services carrying every label of this map ({app: web})" },
    { "slot", PT_INT, 0, "only the task of this slot (replicated services: 1..replicas)" },
    { "node", PT_STR, 0, "only tasks on this node (hostname or node id)" },
    { "host", PT_STR, 0, "a manager's engine address: unix:///path or tcp://host:port (default $DOCKER_HOST)" },
    { "engines", PT_MAP, 0, "engine address of other nodes ({node-hostname: tcp://host:2376}) to kill their tasks" },
    { "cert_path", PT_STR, 0, "tcp:// with TLS (the manager and engines:): directory of ca.pem, cert.pem, key.pem "
                              "(default $DOCKER_CERT_PATH)" },
    { "tls_verify", PT_BOOL, 0, "tcp:// with TLS: verify the engines' certificates against ca.pem "
                                "(default: whether $DOCKER_TLS_VERIFY is set)" },
    { 0 },
};

void swarm_view_release(struct swarm_view *v)
{
    param_strv_free(v->service_ids);
    param_strv_free(v->service_names);
    param_strv_free(v->node_ids);
    param_strv_free(v->node_names);
    free(v->tasks);
    memset(v, 0, sizeof *v);
}

static void st_free(struct swarm_target *st)
{
    if (!st) return;
    if (st->client_ready) docker_client_release(&st->client);
    swarm_view_release(&st->view);
    param_strv_free(st->labels);
    param_strv_free(st->engine_nodes);
    param_strv_free(st->engine_addrs);
    free(st->host);
    free(st->cert_path);
    free(st->service);
    free(st->node);
    free(st->summary);
    free(st);
}

static char **strv_push(char **v, size_t *n, char *s)
{
    v = fl_realloc(v, (*n + 2) * sizeof *v);
    v[(*n)++] = s;
    v[*n] = NULL;
    return v;
}

static int target_parse(const struct drv_parse *pc, struct target *t, const struct node *spec, struct diag *d)
{
    (void)pc;
    struct swarm_target *st = fl_calloc(1, sizeof *st);
    int bad = 0;
    const char *host = param_str(spec, "host", NULL);
    if (host) st->host = fl_strdup(host);
    const char *cp = param_str(spec, "cert_path", NULL);
    if (cp) st->cert_path = fl_strdup(cp);
    st->tls_verify = node_get(spec, "tls_verify") ? param_bool(spec, "tls_verify", 0) : -1;
    const char *svc = param_str(spec, "service", NULL);
    if (svc) {
        if (!*svc) diag_add(d, node_get(spec, "service"), "swarm target: empty service name"), bad++;
        st->service = fl_strdup(svc);
    }
    const struct node *labels = node_get(spec, "labels");
    for (size_t i = 0; labels && labels->type == NODE_MAP && i < labels->n; i++) {
        const struct node *v = labels->items[i];
        if (v->type != NODE_SCALAR) {
            diag_add(d, v, "swarm target: label '%s' must have a scalar value", labels->keys[i]->str);
            bad++;
            continue;
        }
        st->labels = strv_push(st->labels, &st->nlabels, fl_asprintf("%s=%s", labels->keys[i]->str, v->str));
    }
    if (node_get(spec, "slot")) {
        st->slot = (int)param_int(spec, "slot", 0);
        if (st->slot < 1) diag_add(d, node_get(spec, "slot"), "swarm target: slot must be at least 1"), bad++;
    }
    const char *node = param_str(spec, "node", NULL);
    if (node) st->node = fl_strdup(node);
    const struct node *eng = node_get(spec, "engines");
    for (size_t i = 0; eng && eng->type == NODE_MAP && i < eng->n; i++) {
        const struct node *v = eng->items[i];
        if (v->type != NODE_SCALAR || (strncmp(v->str, "unix://", 7) && strncmp(v->str, "tcp://", 6))) {
            diag_add(d, v, "swarm target: engines: '%s' needs an address like tcp://host:2376 or unix:///path",
                     eng->keys[i]->str);
            bad++;
            continue;
        }
        size_t n = st->nengines;
        st->engine_nodes = strv_push(st->engine_nodes, &n, fl_strdup(eng->keys[i]->str));
        st->engine_addrs = strv_push(st->engine_addrs, &st->nengines, fl_strdup(v->str));
    }
    if (st->service && st->nlabels) {
        diag_add(d, spec, "swarm target: give either service: or labels:, not both");
        bad++;
    } else if (!st->service && !st->nlabels && !bad) {
        diag_add(d, spec, "swarm target: needs service: or labels:");
        bad++;
    }
    if (bad) {
        st_free(st);
        return -1;
    }
    struct buf s;
    buf_init(&s, 4096);
    if (st->service) buf_addf(&s, "service '%s'", st->service);
    else {
        buf_adds(&s, "services with label ");
        for (size_t i = 0; i < st->nlabels; i++) buf_addf(&s, "%s%s", i ? ", " : "", st->labels[i]);
    }
    if (st->slot) buf_addf(&s, ", slot %d", st->slot);
    if (st->node) buf_addf(&s, ", on node '%s'", st->node);
    st->summary = buf_detach(&s);
    t->cfg = st;
    return 0;
}

const char *swarm_engine_for(const struct swarm_target *st, const char *node_id, const char *hostname)
{
    for (size_t i = 0; i < st->nengines; i++)
        if ((hostname && strcmp(st->engine_nodes[i], hostname) == 0) || strcmp(st->engine_nodes[i], node_id) == 0)
            return st->engine_addrs[i];
    return NULL;
}

static int cmp_task(const void *a, const void *b)
{
    const struct swarm_task_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    if (x->slot != y->slot) return x->slot < y->slot ? -1 : 1;
    c = strcmp(x->node_id, y->node_id);
    return c ? c : strcmp(x->id, y->id);
}

struct nd_ent {
    char *id, *name;
};

static int cmp_nd(const void *a, const void *b)
{
    const struct nd_ent *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->id, y->id);
}

struct svc_ent {
    char *id, *name;
};

static int cmp_svc(const void *a, const void *b)
{
    const struct svc_ent *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* does a service inspect reply carry require_label in Spec.Labels? */
static int svc_has_label(const json_t *svc, const char *label)
{
    json_t *wrap = json_object();
    json_t *labels = json_object_get(json_object_get(svc, "Spec"), "Labels");
    if (labels) json_object_set(wrap, "Labels", labels);
    int ok = docker_has_label(wrap, label);
    json_decref(wrap);
    return ok;
}

/* the services of the selector, sorted by name; each checked against require_label */
static int resolve_services(const struct target *t, struct docker_client *c, const char *require_label,
                            struct svc_ent **out, size_t *nout, char *err)
{
    const struct swarm_target *st = t->cfg;
    char e[FL_ERR_LEN];
    json_t *arr = NULL;
    if (st->service) {
        json_t *one = NULL;
        if (docker_service_inspect(c, st->service, NULL, &one, e) < 0)
            return fl_err(err, "cannot resolve target '%s': %s", t->name, e);
        arr = json_array();
        json_array_append_new(arr, one);
    } else if (docker_service_list(c, st->labels, st->nlabels, &arr, e) < 0) {
        return fl_err(err, "cannot resolve target '%s': %s", t->name, e);
    }
    size_t n = 0;
    struct svc_ent *ss = fl_calloc(json_array_size(arr) + 1, sizeof *ss);
    int ret = 0;
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        struct docker_service sv;
        if (docker_service_from_json(it, &sv, e) < 0) {
            ret = fl_err(err, "cannot resolve target '%s': %s", t->name, e);
            break;
        }
        if (require_label && *require_label && !svc_has_label(it, require_label)) {
            ret = fl_err(err, "target '%s': service '%s' lacks the label '%s' the plan requires (require_label); "
                              "refusing to touch it", t->name, sv.name, require_label);
            break;
        }
        ss[n++] = (struct svc_ent){ fl_strdup(sv.id), fl_strdup(sv.name) };
    }
    json_decref(arr);
    if (ret == 0 && n == 0)
        ret = fl_err(err, "target '%s': no swarm service matches %s (docker at '%s')", t->name, st->summary,
                     docker_where(c));
    if (ret < 0) {
        for (i = 0; i < n; i++) free(ss[i].id), free(ss[i].name);
        free(ss);
        return -1;
    }
    qsort(ss, n, sizeof *ss, cmp_svc);
    *out = ss;
    *nout = n;
    return 0;
}

int swarm_target_resolve(const struct target *t, struct docker_client *c, uint64_t run_seed, const char *require_label,
                         struct swarm_view *v, char *err)
{
    const struct swarm_target *st = t->cfg;
    char e[FL_ERR_LEN];
    memset(v, 0, sizeof *v);
    char self[72];
    int manager = 0;
    if (docker_swarm_self(c, self, &manager, e) < 0) return fl_err(err, "cannot resolve target '%s': %s", t->name, e);
    if (!self[0] || !manager)
        return fl_err(err, "target '%s': the engine at '%s' is %s (services live on managers: docker swarm init, "
                           "or point host: at a manager)", t->name, docker_where(c),
                      self[0] ? "a swarm worker, not a manager" : "not part of a swarm");
    struct svc_ent *ss = NULL;
    size_t ns = 0;
    if (resolve_services(t, c, require_label, &ss, &ns, err) < 0) return -1;

    struct swarm_task_ref *ts = NULL;
    size_t nt = 0, capt = 0;
    struct nd_ent *nds = NULL;
    size_t nn = 0;
    int ret = -1;
    for (size_t s = 0; s < ns; s++) {
        json_t *tasks = NULL;
        if (docker_task_list(c, ss[s].id, &tasks, e) < 0) {
            fl_err(err, "cannot list the tasks of service '%s' (target '%s'): %s", ss[s].name, t->name, e);
            goto out;
        }
        size_t i;
        json_t *it;
        json_array_foreach(tasks, i, it) {
            struct docker_task tk;
            if (docker_task_from_json(it, &tk, e) < 0) continue;
            if (strcmp(tk.desired, "running") || strcmp(tk.state, "running")) continue;
            if (st->slot && tk.slot != st->slot) continue;
            if (nt == capt) {
                capt = capt ? capt * 2 : 16;
                ts = fl_realloc(ts, capt * sizeof *ts);
            }
            struct swarm_task_ref *r = &ts[nt++];
            memset(r, 0, sizeof *r);
            snprintf(r->id, sizeof r->id, "%s", tk.id);
            snprintf(r->service_id, sizeof r->service_id, "%s", ss[s].id);
            snprintf(r->node_id, sizeof r->node_id, "%s", tk.node_id);
            snprintf(r->container_id, sizeof r->container_id, "%s", tk.container_id);
            r->slot = tk.slot;
            if (tk.slot) snprintf(r->name, sizeof r->name, "%s.%d", ss[s].name, tk.slot);
            else snprintf(r->name, sizeof r->name, "%s.%s", ss[s].name, tk.node_id);
        }
        json_decref(tasks);
    }
    /* the nodes those tasks run on, with their hostnames; node: narrows both lists */
    nds = fl_calloc(nt + 1, sizeof *nds);
    for (size_t i = 0; i < nt; i++) {
        int seen = 0;
        for (size_t j = 0; j < nn && !seen; j++) seen = strcmp(nds[j].id, ts[i].node_id) == 0;
        if (seen || !ts[i].node_id[0]) continue;
        struct docker_node nd;
        if (docker_node_inspect(c, ts[i].node_id, &nd, NULL, e) < 0) {
            fl_err(err, "cannot inspect node '%s' of task '%s' (target '%s'): %s", ts[i].node_id, ts[i].name, t->name, e);
            goto out;
        }
        nds[nn++] = (struct nd_ent){ fl_strdup(nd.id), fl_strdup(nd.hostname[0] ? nd.hostname : nd.id) };
    }
    if (st->node) {
        size_t keep = 0;
        for (size_t j = 0; j < nn; j++) {
            if (strcmp(nds[j].id, st->node) == 0 || strcmp(nds[j].name, st->node) == 0) nds[keep++] = nds[j];
            else free(nds[j].id), free(nds[j].name);
        }
        nn = keep;
        size_t kt = 0;
        for (size_t i = 0; i < nt; i++) {
            int on = 0;
            for (size_t j = 0; j < nn && !on; j++) on = strcmp(nds[j].id, ts[i].node_id) == 0;
            if (on) ts[kt++] = ts[i];
        }
        nt = kt;
    }
    qsort(ts, nt, sizeof *ts, cmp_task);
    qsort(nds, nn, sizeof *nds, cmp_nd);

    uint64_t seed = t->pick_seed_set ? t->pick_seed : run_seed;
    size_t kt = target_pick_count(t, nt), kn = target_pick_count(t, nn);
    size_t *order = fl_malloc((nt > nn ? nt : nn) * sizeof *order + 1);
    if (t->has_pick) target_pick(nt, kt, seed, order);
    else for (size_t i = 0; i < nt; i++) order[i] = i;
    v->tasks = fl_calloc(kt + 1, sizeof *v->tasks);
    for (size_t i = 0; i < kt; i++) v->tasks[i] = ts[order[i]];
    v->ntasks = kt;
    if (t->has_pick) target_pick(nn, kn, seed, order);
    else for (size_t i = 0; i < nn; i++) order[i] = i;
    v->node_ids = fl_calloc(kn + 1, sizeof *v->node_ids);
    v->node_names = fl_calloc(kn + 1, sizeof *v->node_names);
    for (size_t i = 0; i < kn; i++) {
        v->node_ids[i] = fl_strdup(nds[order[i]].id);
        v->node_names[i] = fl_strdup(nds[order[i]].name);
    }
    v->nnodes = kn;
    free(order);
    v->service_ids = fl_calloc(ns + 1, sizeof *v->service_ids);
    v->service_names = fl_calloc(ns + 1, sizeof *v->service_names);
    for (size_t s = 0; s < ns; s++) {
        v->service_ids[s] = fl_strdup(ss[s].id);
        v->service_names[s] = fl_strdup(ss[s].name);
    }
    v->nservices = ns;
    ret = 0;
out:
    for (size_t s = 0; s < ns; s++) free(ss[s].id), free(ss[s].name);
    free(ss);
    for (size_t j = 0; j < nn; j++) free(nds[j].id), free(nds[j].name);
    free(nds);
    free(ts);
    return ret;
}

static int st_client(struct swarm_target *st, char *err)
{
    if (st->client_ready) return 0;
    if (docker_client_init_tls(&st->client, st->host, st->cert_path, st->tls_verify, err) < 0) return -1;
    st->client_ready = 1;
    return 0;
}

static int target_open(struct target *t, const struct drv_ctx *ctx, char *err)
{
    struct swarm_target *st = t->cfg;
    if (st_client(st, err) < 0) return -1;
    swarm_view_release(&st->view);
    st->resolved = 0;
    if (swarm_target_resolve(t, &st->client, drv_seed(ctx), drv_require_label(ctx), &st->view, err) < 0)
        return -1;
    st->resolved = 1;
    return 0;
}

static void target_close(struct target *t, const struct drv_ctx *ctx)
{
    (void)ctx;
    struct swarm_target *st = t->cfg;
    if (st && st->client_ready) {
        docker_client_release(&st->client);
        st->client_ready = 0;
    }
}

static void target_describe(const struct target *t, struct buf *out)
{
    const struct swarm_target *st = t->cfg;
    buf_addf(out, "swarm %s", st->summary);
    target_pick_describe(t, out);
    if (st->resolved) {
        buf_adds(out, " -> tasks ");
        for (size_t i = 0; i < st->view.ntasks; i++) buf_addf(out, "%s%s", i ? ", " : "", st->view.tasks[i].name);
        if (!st->view.ntasks) buf_adds(out, "(none running)");
        buf_adds(out, " on nodes ");
        for (size_t i = 0; i < st->view.nnodes; i++) buf_addf(out, "%s%s", i ? ", " : "", st->view.node_names[i]);
        if (!st->view.nnodes) buf_adds(out, "(none)");
    }
}

static void target_free(struct target *t)
{
    st_free(t->cfg);
    t->cfg = NULL;
}

const struct target_ops target_swarm = {
    .name = "swarm",
    .summary = "a Docker Swarm service (by name or labels): its running tasks and their nodes (Engine API)",
    .params = swarm_target_params,
    .parse = target_parse,
    .open = target_open,
    .close = target_close,
    .describe = target_describe,
    .free = target_free,
};
