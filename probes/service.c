/* service.c -- probe `service`: how far a swarm target's services are from what they ask for
 * (running vs desired replicas, converged or not, failed tasks) through the Engine API.
 *
 *   - service: { target: web }                                  -- converged (the default)
 *   - service: { target: web, expect: "running >= 2", max_restarts: 0 }
 * converged: running == desired with nothing starting or stopping. `running >= N` (any of
 * < <= > >= == != against running or desired) compares counts. max_restarts bounds the tasks
 * the engine had to replace (ended failed or rejected, within the engine's task history).
 * Every service of the target must meet every expectation. Returns -1 (could not check) when
 * the manager cannot be asked; a service that no longer exists is an answer that fails.
 */
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "probe.h"
#include "target.h"
#include "value.h"

static const char *const count_metrics[] = { "running", "desired", NULL };

struct sv_cfg {
    char *target;
    const struct target *tgt;   /* resolved at plan load (the plan owns it) */
    int converged;           /* expect: converged */
    struct expect count;     /* expect: "running >= N" (count.metric set) */
    int has_count;
    int has_max_restarts;
    int max_restarts;
};

struct sv_state {
    struct docker_client client;
    int client_ready;
    struct swarm_view view;  /* resolved here when the target was not opened */
    int resolved;
};

static const struct param_spec service_params[] = {
    { "target", PT_TARGET, PARAM_REQUIRED, "a swarm target of the plan" },
    { "expect", PT_STR, 0, "converged (default), or a count like \"running >= 2\" (running, desired)" },
    { "max_restarts", PT_INT, 0, "tasks the engine had to replace (failed/rejected) at most this" },
    { 0 },
};

static void sv_free_cfg(void *p)
{
    struct sv_cfg *c = p;
    if (!c) return;
    free(c->target);
    if (c->has_count) expect_release(&c->count);
    free(c);
}

static int sv_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **out, struct diag *d)
{
    (void)entry;
    struct sv_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    const char *tn = param_str(val, "target", NULL);
    c->target = fl_strdup(tn ? tn : "");
    const struct target *t = c->tgt = drv_target(pc, c->target);
    if (t && t->ops && strcmp(t->ops->name, "swarm") != 0) {
        diag_add(d, node_get(val, "target"), "service probe: target '%s' is a %s target, not swarm", c->target,
                 t->ops->name);
        bad++;
    }
    const char *ex = param_str(val, "expect", "converged");
    if (strcmp(ex, "converged") == 0) {
        c->converged = 1;
    } else {
        char err[FL_ERR_LEN];
        int rc = expect_parse(ex, count_metrics, &c->count, err);
        if (rc == 0 && (!c->count.metric || !c->count.is_num)) {
            expect_release(&c->count);
            rc = -1;
        }
        if (rc < 0) {
            memset(&c->count, 0, sizeof c->count);
            diag_add(d, node_get(val, "expect"),
                     "service probe: expect: '%s' is neither converged nor a count like \"running >= 2\"", ex);
            bad++;
        } else {
            c->has_count = 1;
        }
    }
    if (node_get(val, "max_restarts")) {
        c->has_max_restarts = 1;
        c->max_restarts = (int)param_int(val, "max_restarts", 0);
        if (c->max_restarts < 0) {
            diag_add(d, node_get(val, "max_restarts"), "service probe: max_restarts must be >= 0");
            bad++;
        }
    }
    if (bad) {
        sv_free_cfg(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void sv_free_state(void *p)
{
    struct sv_state *s = p;
    if (!s) return;
    if (s->client_ready) docker_client_release(&s->client);
    swarm_view_release(&s->view);
    free(s);
}

static int meets(const struct sv_cfg *c, const struct docker_svc_status *st)
{
    int ok = 1;
    if (c->converged) ok = st->converged;
    if (c->has_count)
        ok = expect_eval_num(&c->count, (double)(strcmp(c->count.metric, "desired") == 0 ? st->desired : st->running));
    if (c->has_max_restarts) ok = ok && st->failed <= c->max_restarts;
    return ok;
}

static int sv_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct sv_cfg *c = pi->cfg;
    const struct target *t = c->tgt;
    if (!t || !t->ops || strcmp(t->ops->name, "swarm") != 0 || !t->cfg)
        return fl_err(err, "service probe: no swarm target '%s'", c->target);
    const struct swarm_target *stg = t->cfg;
    struct sv_state *s = pi->state;
    if (!s) pi->state = s = fl_calloc(1, sizeof *s);
    if (!s->client_ready) { /* our own connection: a fault may be busy on the target's */
        if (docker_client_init_tls(&s->client, stg->host, stg->cert_path, stg->tls_verify, err) < 0) return -1;
        s->client_ready = 1;
    }
    const struct swarm_view *v = &stg->view;
    if (!stg->resolved) {
        if (!s->resolved) {
            if (swarm_target_resolve(t, &s->client, drv_seed(pi->ctx), drv_require_label(pi->ctx), &s->view, err) < 0)
                return -1;
            s->resolved = 1;
        }
        v = &s->view;
    }
    struct buf o;
    buf_init(&o, sizeof obs->observed);
    int all_ok = 1;
    int64_t t0 = fl_now_ns();
    for (size_t i = 0; i < v->nservices; i++) {
        struct docker_svc_status st;
        char e[FL_ERR_LEN];
        if (v->nservices > 1) buf_addf(&o, "%s%s: ", i ? "; " : "", v->service_names[i]);
        if (docker_service_status(&s->client, v->service_ids[i], &st, e) < 0) {
            if (strncmp(e, "docker: 404", 11) == 0) { /* the manager answered: it is gone */
                buf_adds(&o, "missing");
                all_ok = 0;
                continue;
            }
            buf_release(&o);
            return fl_err(err, "cannot ask for service '%s' of target '%s': %s", v->service_names[i], c->target, e);
        }
        buf_addf(&o, "%lld/%lld running, %s", (long long)st.running, (long long)st.desired,
                 st.converged ? "converged" : "not converged");
        if (st.pending) buf_addf(&o, ", %lld starting", (long long)st.pending);
        if (st.stopping) buf_addf(&o, ", %lld stopping", (long long)st.stopping);
        buf_addf(&o, ", %lld restart%s", (long long)st.failed, st.failed == 1 ? "" : "s");
        if (!meets(c, &st)) all_ok = 0;
        if (v->nservices == 1) {
            obs->has_value = 1;
            obs->value = (double)st.running;
        }
    }
    obs->latency_ms = (double)(fl_now_ns() - t0) / 1e6;
    obs->outcome = all_ok ? PROBE_PASSED : PROBE_FAILED;
    snprintf(obs->observed, sizeof obs->observed, "%s", o.data);
    buf_release(&o);
    return 0;
}

static void sv_describe(const void *cfg, struct buf *out)
{
    const struct sv_cfg *c = cfg;
    buf_addf(out, "service '%s'", c->target);
    if (c->converged) buf_adds(out, " is converged");
    if (c->has_count) buf_addf(out, " has %s", c->count.text);
    if (c->has_max_restarts) buf_addf(out, ", restarts <= %d", c->max_restarts);
}

const struct probe_ops probe_service = {
    .name = "service",
    .summary = "a swarm target's services: running vs desired replicas, converged, task restarts",
    .params = service_params,
    .parse = sv_parse,
    .check = sv_check,
    .describe = sv_describe,
    .free_cfg = sv_free_cfg,
    .free_state = sv_free_state,
};
