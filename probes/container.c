/* container.c -- probe `container`: the state of a docker target's containers
 * (running / paused / exited / healthy, exit code, restart count) through the Engine API.
 *
 *   - container: { target: db, expect: running, max_restarts: 0 }
 * Every container of the target must meet every given expectation. Returns -1 (could not
 * check) when the daemon cannot be asked; a container that no longer exists is an answer
 * ("missing") that fails the expectation.
 */
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "probe.h"
#include "target.h"

enum ct_expect { CT_RUNNING, CT_PAUSED, CT_EXITED, CT_HEALTHY, CT_STOPPED, CT_ANY };
static const char *const expect_names[] = { "running", "paused", "exited", "healthy", "stopped", NULL };

struct ct_cfg {
    char *target;
    const struct target *tgt;   /* resolved at plan load (the plan owns it) */
    enum ct_expect expect;
    int has_exit_code;
    int exit_code;
    int has_max_restarts;
    int max_restarts;
};

struct ct_state {
    struct docker_client client;
    int client_ready;
    char **ids, **names;    /* resolved here when the target was not opened */
    size_t n;
};

static const struct param_spec container_params[] = {
    { "target", PT_TARGET, PARAM_REQUIRED, "a docker target of the plan" },
    { "expect", PT_STR, 0, "running (default), paused, exited, stopped (= not running), or healthy" },
    { "exit_code", PT_INT, 0, "the containers exited with this status" },
    { "max_restarts", PT_INT, 0, "restart count at most this (the daemon's RestartCount)" },
    { 0 },
};

static void ct_free_cfg(void *p)
{
    struct ct_cfg *c = p;
    if (!c) return;
    free(c->target);
    free(c);
}

static int ct_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **out, struct diag *d)
{
    (void)entry;
    struct ct_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    const char *tn = param_str(val, "target", NULL);
    c->target = fl_strdup(tn ? tn : "");
    const struct target *t = c->tgt = drv_target(pc, c->target);
    if (t && t->ops && strcmp(t->ops->name, "docker") != 0) {
        diag_add(d, node_get(val, "target"), "container probe: target '%s' is a %s target, not docker", c->target,
                 t->ops->name);
        bad++;
    }
    const char *ex = param_str(val, "expect", NULL);
    c->expect = ex ? CT_ANY : CT_RUNNING;
    if (ex) {
        int found = 0;
        for (int i = 0; expect_names[i]; i++)
            if (strcmp(expect_names[i], ex) == 0) c->expect = (enum ct_expect)i, found = 1;
        if (!found) {
            diag_add(d, node_get(val, "expect"),
                     "container probe: expect: '%s' is not one of running, paused, exited, stopped, healthy", ex);
            bad++;
        }
    }
    if (node_get(val, "exit_code")) {
        c->has_exit_code = 1;
        c->exit_code = (int)param_int(val, "exit_code", 0);
        if (!ex) c->expect = CT_ANY; /* exit_code alone implies it exited; checked below */
    }
    if (node_get(val, "max_restarts")) {
        c->has_max_restarts = 1;
        c->max_restarts = (int)param_int(val, "max_restarts", 0);
        if (c->max_restarts < 0) {
            diag_add(d, node_get(val, "max_restarts"), "container probe: max_restarts must be >= 0");
            bad++;
        }
    }
    if (bad) {
        ct_free_cfg(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void ct_free_state(void *p)
{
    struct ct_state *s = p;
    if (!s) return;
    if (s->client_ready) docker_client_release(&s->client);
    param_strv_free(s->ids);
    param_strv_free(s->names);
    free(s);
}

static int is_stopped(enum docker_run_state s) { return s == DS_EXITED || s == DS_CREATED || s == DS_DEAD; }

static int meets(const struct ct_cfg *c, const struct docker_cstate *st)
{
    int ok = 1;
    switch (c->expect) {
    case CT_RUNNING: ok = st->state == DS_RUNNING; break;
    case CT_PAUSED: ok = st->state == DS_PAUSED; break;
    case CT_EXITED:
    case CT_STOPPED: ok = is_stopped(st->state); break;
    case CT_HEALTHY: ok = st->state == DS_RUNNING && strcmp(st->health, "healthy") == 0; break;
    case CT_ANY: break;
    }
    if (c->has_exit_code) ok = ok && is_stopped(st->state) && st->exit_code == c->exit_code;
    if (c->has_max_restarts) ok = ok && st->restart_count <= c->max_restarts;
    return ok;
}

static void describe_state(const struct docker_cstate *st, struct buf *out)
{
    buf_adds(out, docker_state_name(st->state));
    if (st->health[0]) buf_addf(out, ", %s", st->health);
    if (is_stopped(st->state) && st->state != DS_CREATED) buf_addf(out, " (exit code %d, restarts %d)", st->exit_code, st->restart_count);
    else buf_addf(out, " (restarts %d)", st->restart_count);
}

static int ct_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct ct_cfg *c = pi->cfg;
    const struct target *t = c->tgt;
    if (!t || !t->ops || strcmp(t->ops->name, "docker") != 0 || !t->cfg)
        return fl_err(err, "container probe: no docker target '%s'", c->target);
    const struct docker_target *dt = t->cfg;
    struct ct_state *s = pi->state;
    if (!s) pi->state = s = fl_calloc(1, sizeof *s);
    if (!s->client_ready) { /* our own connection: a fault may be busy on the target's */
        if (docker_client_init_tls(&s->client, dt->host, dt->cert_path, dt->tls_verify, err) < 0) return -1;
        s->client_ready = 1;
    }
    char *const *ids = dt->ids, *const *names = dt->names;
    size_t n = dt->n;
    if (!n) {
        if (!s->n && docker_target_resolve(t, &s->client, drv_seed(pi->ctx), drv_require_label(pi->ctx), &s->ids,
                                           &s->names, &s->n, err) < 0)
            return -1;
        ids = s->ids, names = s->names, n = s->n;
    }
    struct buf o;
    buf_init(&o, sizeof obs->observed);
    int all_ok = 1;
    int64_t t0 = fl_now_ns();
    for (size_t i = 0; i < n; i++) {
        struct docker_cstate st;
        char e[FL_ERR_LEN];
        if (n > 1) buf_addf(&o, "%s%s: ", i ? "; " : "", names[i]);
        if (docker_inspect(&s->client, ids[i], &st, NULL, e) < 0) {
            if (strncmp(e, "docker: 404", 11) == 0) { /* the daemon answered: it is gone */
                buf_adds(&o, "missing");
                all_ok = 0;
                continue;
            }
            buf_release(&o);
            return fl_err(err, "cannot inspect '%s' of target '%s': %s", names[i], c->target, e);
        }
        describe_state(&st, &o);
        if (!meets(c, &st)) all_ok = 0;
        if (n == 1) {
            obs->has_value = 1;
            obs->value = st.restart_count;
        }
    }
    obs->latency_ms = (double)(fl_now_ns() - t0) / 1e6;
    obs->outcome = all_ok ? PROBE_PASSED : PROBE_FAILED;
    snprintf(obs->observed, sizeof obs->observed, "%s", o.data);
    buf_release(&o);
    return 0;
}

static void ct_describe(const void *cfg, struct buf *out)
{
    const struct ct_cfg *c = cfg;
    buf_addf(out, "container '%s'", c->target);
    if (c->expect != CT_ANY) buf_addf(out, " is %s", expect_names[c->expect]);
    if (c->has_exit_code) buf_addf(out, ", exit code %d", c->exit_code);
    if (c->has_max_restarts) buf_addf(out, ", restarts <= %d", c->max_restarts);
}

const struct probe_ops probe_container = {
    .name = "container",
    .summary = "state of a docker target's containers: running/paused/exited/healthy, exit code, restarts",
    .params = container_params,
    .parse = ct_parse,
    .check = ct_check,
    .describe = ct_describe,
    .free_cfg = ct_free_cfg,
    .free_state = ct_free_state,
};
