/* docker_target.c -- the `docker` target kind: container, labels or compose selectors, pick,
 * the engine it is reached on (host, TLS), resolved to containers (docker_target_resolve,
 * declared in docker_api.h) by docker faults and the container probe. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "target.h"
#include "value.h"

/* ---- the target ------------------------------------------------------------------------------ */

static const struct param_spec docker_target_params[] = {
    { "container", PT_STR, 0, "container name or id" },
    { "labels", PT_MAP, 0, "containers carrying every label of this map ({app: web, tier: db})" },
    { "label", PT_STRLIST, 0, "containers carrying this label: \"key=value\" or \"key\" (or a list)" },
    { "compose", PT_MAP, 0, "containers of a compose project and/or service ({project: P, service: S})" },
    { "host", PT_STR, 0, "engine address: unix:///path or tcp://host:port (default $DOCKER_HOST, "
                         "else unix:///var/run/docker.sock)" },
    { "cert_path", PT_STR, 0, "tcp:// with TLS: directory of ca.pem, cert.pem, key.pem (default $DOCKER_CERT_PATH)" },
    { "tls_verify", PT_BOOL, 0, "tcp:// with TLS: verify the engine's certificate against ca.pem "
                                "(default: whether $DOCKER_TLS_VERIFY is set)" },
    { 0 },
};

static const struct param_spec compose_params[] = {
    { "project", PT_STR, 0, "com.docker.compose.project label" },
    { "service", PT_STR, 0, "com.docker.compose.service label" },
    { 0 },
};

static void add_label(struct docker_target *dt, char *label)
{
    dt->labels = fl_realloc(dt->labels, (dt->nlabels + 1) * sizeof *dt->labels);
    dt->labels[dt->nlabels++] = label;
}

static void dt_free(struct docker_target *dt)
{
    if (!dt) return;
    if (dt->client_ready) docker_client_release(&dt->client);
    for (size_t i = 0; i < dt->nlabels; i++) free(dt->labels[i]);
    free(dt->labels);
    param_strv_free(dt->ids);
    param_strv_free(dt->names);
    free(dt->host);
    free(dt->cert_path);
    free(dt->container);
    free(dt->summary);
    free(dt);
}

static int target_parse(const struct drv_parse *pc, struct target *t, const struct node *spec, struct diag *d)
{
    (void)pc;
    struct docker_target *dt = fl_calloc(1, sizeof *dt);
    int bad = 0;
    const char *host = param_str(spec, "host", NULL);
    if (host) dt->host = fl_strdup(host);
    const char *cp = param_str(spec, "cert_path", NULL);
    if (cp) dt->cert_path = fl_strdup(cp);
    dt->tls_verify = node_get(spec, "tls_verify") ? param_bool(spec, "tls_verify", 0) : -1;
    const char *container = param_str(spec, "container", NULL);
    if (container) {
        if (!*container) diag_add(d, node_get(spec, "container"), "docker target: empty container name"), bad++;
        dt->container = fl_strdup(container);
    }
    const struct node *labels = node_get(spec, "labels");
    for (size_t i = 0; labels && labels->type == NODE_MAP && i < labels->n; i++) {
        const struct node *v = labels->items[i];
        if (v->type != NODE_SCALAR) {
            diag_add(d, v, "docker target: label '%s' must have a scalar value", labels->keys[i]->str);
            bad++;
            continue;
        }
        add_label(dt, fl_asprintf("%s=%s", labels->keys[i]->str, v->str));
    }
    char **one = param_strv(spec, "label");
    for (size_t i = 0; one && one[i]; i++) {
        if (!one[i][0] || one[i][0] == '=') {
            diag_add(d, node_get(spec, "label"), "docker target: label '%s' needs a key (\"key=value\" or \"key\")",
                     one[i]);
            bad++;
            continue;
        }
        add_label(dt, fl_strdup(one[i]));
    }
    param_strv_free(one);
    const struct node *compose = node_get(spec, "compose");
    if (compose) {
        if (params_check(compose, compose_params, NULL, "docker target 'compose'", d) > 0) bad++;
        const char *proj = param_str(compose, "project", NULL), *svc = param_str(compose, "service", NULL);
        if (!proj && !svc) {
            diag_add(d, compose, "docker target: compose needs project:, service: or both");
            bad++;
        }
        if (proj) add_label(dt, fl_asprintf("com.docker.compose.project=%s", proj));
        if (svc) add_label(dt, fl_asprintf("com.docker.compose.service=%s", svc));
    }
    if (dt->container && dt->nlabels) {
        diag_add(d, spec, "docker target: give either container: or a label selector (labels:, label:, compose:), not both");
        bad++;
    } else if (!dt->container && !dt->nlabels && !bad) {
        diag_add(d, spec, "docker target: needs container:, labels:, label: or compose:");
        bad++;
    }
    if (bad) {
        dt_free(dt);
        return -1;
    }
    struct buf s;
    buf_init(&s, 4096);
    if (dt->container) buf_addf(&s, "container '%s'", dt->container);
    else {
        buf_adds(&s, "containers with label ");
        for (size_t i = 0; i < dt->nlabels; i++) buf_addf(&s, "%s%s", i ? ", " : "", dt->labels[i]);
    }
    dt->summary = buf_detach(&s);
    t->cfg = dt;
    return 0;
}

struct cand {
    char *id;
    char *name;
    json_t *json;   /* list entry or inspect reply (labels) */
};

static int cmp_cand(const void *a, const void *b)
{
    return strcmp(((const struct cand *)a)->id, ((const struct cand *)b)->id);
}

int docker_target_client(struct target *t, const struct drv_ctx *ctx, const char *kind, struct docker_client *c,
                         char *err)
{
    if (!t || !t->ops || strcmp(t->ops->name, "docker") != 0) return fl_err(err, "%s needs a docker target", kind);
    struct docker_target *dt = t->cfg;
    if (!dt->n && t->ops->open(t, ctx, err) < 0) return -1; /* resolve now: not opened by a run */
    if (docker_client_init_tls(c, dt->host, dt->cert_path, dt->tls_verify, err) < 0) return -1;
    if (dt->client_ready) /* already negotiated by open(): skip the /_ping */
        memcpy(c->api_version, dt->client.api_version, sizeof c->api_version);
    return 0;
}

int docker_target_resolve(const struct target *t, struct docker_client *c, uint64_t run_seed,
                          const char *require_label, char ***ids_out, char ***names_out, size_t *n_out, char *err)
{
    const struct docker_target *dt = t->cfg;
    char e[FL_ERR_LEN];
    struct cand *cs = NULL;
    size_t n = 0;
    int ret = -1;
    if (dt->container) {
        struct docker_cstate st;
        json_t *j = NULL;
        if (docker_inspect(c, dt->container, &st, &j, e) < 0) {
            fl_err(err, "cannot resolve target '%s': %s", t->name, e);
            return -1;
        }
        cs = fl_calloc(1, sizeof *cs);
        cs[0] = (struct cand){ fl_strdup(st.id), fl_strdup(st.name), j };
        n = 1;
    } else {
        json_t *arr = NULL;
        if (docker_list(c, dt->labels, dt->nlabels, &arr, e) < 0) {
            fl_err(err, "cannot resolve target '%s': %s", t->name, e);
            return -1;
        }
        cs = fl_calloc(json_array_size(arr) + 1, sizeof *cs);
        size_t i;
        json_t *it;
        json_array_foreach(arr, i, it) {
            const char *id = json_string_value(json_object_get(it, "Id"));
            if (!id) continue;
            const char *name = json_string_value(json_array_get(json_object_get(it, "Names"), 0));
            if (name && name[0] == '/') name++;
            cs[n++] = (struct cand){ fl_strdup(id), fl_strdup(name ? name : id), json_incref(it) };
        }
        json_decref(arr);
        if (n == 0) {
            fl_err(err, "target '%s': no container matches %s (docker at '%s')", t->name, dt->summary,
                   docker_where(c));
            goto out;
        }
    }
    qsort(cs, n, sizeof *cs, cmp_cand);

    size_t k = n;
    size_t *order = fl_malloc(n * sizeof *order);
    if (t->has_pick) {
        k = target_pick_count(t, n);
        target_pick(n, k, t->pick_seed_set ? t->pick_seed : run_seed, order);
    } else {
        for (size_t i = 0; i < n; i++) order[i] = i;
    }
    if (require_label && *require_label) {
        for (size_t i = 0; i < k; i++) {
            if (!docker_has_label(cs[order[i]].json, require_label)) {
                fl_err(err, "target '%s': container '%s' lacks the label '%s' the plan requires (require_label); "
                            "refusing to touch it", t->name, cs[order[i]].name, require_label);
                free(order);
                goto out;
            }
        }
    }
    char **ids = fl_calloc(k + 1, sizeof *ids), **names = fl_calloc(k + 1, sizeof *names);
    for (size_t i = 0; i < k; i++) {
        ids[i] = fl_strdup(cs[order[i]].id);
        names[i] = fl_strdup(cs[order[i]].name);
    }
    free(order);
    *ids_out = ids;
    *names_out = names;
    *n_out = k;
    ret = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(cs[i].id);
        free(cs[i].name);
        json_decref(cs[i].json);
    }
    free(cs);
    return ret;
}

static int dt_client(struct docker_target *dt, char *err)
{
    if (dt->client_ready) return 0;
    if (docker_client_init_tls(&dt->client, dt->host, dt->cert_path, dt->tls_verify, err) < 0) return -1;
    dt->client_ready = 1;
    return 0;
}

static int target_open(struct target *t, const struct drv_ctx *ctx, char *err)
{
    struct docker_target *dt = t->cfg;
    if (dt_client(dt, err) < 0) return -1;
    param_strv_free(dt->ids);
    param_strv_free(dt->names);
    dt->ids = dt->names = NULL;
    dt->n = 0;
    return docker_target_resolve(t, &dt->client, drv_seed(ctx), drv_require_label(ctx), &dt->ids, &dt->names, &dt->n,
                                 err);
}

static void target_close(struct target *t, const struct drv_ctx *ctx)
{
    (void)ctx;
    struct docker_target *dt = t->cfg;
    if (dt && dt->client_ready) {
        docker_client_release(&dt->client);
        dt->client_ready = 0;
    }
}

static void target_describe(const struct target *t, struct buf *out)
{
    const struct docker_target *dt = t->cfg;
    buf_addf(out, "docker %s", dt->summary);
    target_pick_describe(t, out);
    if (dt->n) {
        buf_adds(out, " -> ");
        for (size_t i = 0; i < dt->n; i++) buf_addf(out, "%s%s", i ? ", " : "", dt->names[i]);
    }
}

static void target_free(struct target *t)
{
    dt_free(t->cfg);
    t->cfg = NULL;
}

const struct target_ops target_docker = {
    .name = "docker",
    .summary = "Docker containers by name/id, labels, or compose project/service (Engine API)",
    .params = docker_target_params,
    .parse = target_parse,
    .open = target_open,
    .close = target_close,
    .describe = target_describe,
    .free = target_free,
};
