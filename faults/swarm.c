/* swarm.c -- the swarm.scale / swarm.kill_task / swarm.drain fault kinds, over docker_api.c
 * (the `swarm` target: targets/swarm_target.c).
 *
 * Each fault records what it found and what it did; revert restores exactly that and then
 * waits (converge_within:, default 60 s) until every service of the target is converged
 * again (running == desired, nothing starting or stopping) -- each service that was converged
 * when found, and not when a drained node goes back to pause rather than active:
 *   swarm.scale      replicas down by N or to N      -> the replica count found
 *   swarm.kill_task  kill the containers of N tasks  -> nothing to undo: the engine replaces
 *                                                      them; revert waits for that
 *   swarm.drain      node availability drain         -> the availability found (active ...)
 * prepare() observes all that before anything is done: the step's journal intent.
 * reconcile() compares replicas and availability with it and puts back what differs.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker_api.h"
#include "fault.h"

/* ---- fault configuration ---------------------------------------------------------------------- */

enum sw_action { SW_SCALE, SW_KILL_TASK, SW_DRAIN };
static const char *const action_names[] = { "scale", "kill_task", "drain" };

static int action_parse(const char *s)
{
    for (int i = 0; s && i < (int)(sizeof action_names / sizeof *action_names); i++)
        if (strcmp(action_names[i], s) == 0) return i;
    return -1;
}

struct sw_cfg {
    enum sw_action action;
    int has_by, has_to;
    int64_t by, to;          /* scale */
    int count;               /* kill_task, drain */
    char *signal;            /* kill_task */
    int64_t converge_ms;
};

#define CONVERGE_PARAM \
    { "converge_within", PT_DURATION, 0, "revert waits this long for the service to converge again (default 60s)" }

static const struct param_spec scale_params[] = {
    { "by", PT_INT, 0, "replicas fewer than found (>= 1; floored at 0)" },
    { "to", PT_INT, 0, "replica count to set (>= 0)" },
    CONVERGE_PARAM,
    { 0 },
};
static const struct param_spec kill_task_params[] = {
    { "count", PT_INT, 0, "running tasks to kill, chosen reproducibly among the target's (default 1)" },
    { "signal", PT_STR, 0, "signal sent to the task containers (default SIGKILL)" },
    CONVERGE_PARAM,
    { 0 },
};
static const struct param_spec drain_params[] = {
    { "count", PT_INT, 0, "nodes of the service to drain, chosen reproducibly (default 1)" },
    CONVERGE_PARAM,
    { 0 },
};

static void cfg_free(void *p)
{
    struct sw_cfg *c = p;
    if (!c) return;
    free(c->signal);
    free(c);
}

static int parse_common(const struct node *step, void **out, struct diag *d, enum sw_action a)
{
    struct sw_cfg *c = fl_calloc(1, sizeof *c);
    c->action = a;
    c->converge_ms = param_ms(step, "converge_within", 60000);
    c->count = (int)param_int(step, "count", 1);
    int bad = 0;
    if (c->converge_ms < 0) diag_add(d, node_get(step, "converge_within"), "swarm.%s: converge_within must not be negative", action_names[a]), bad++;
    if (a != SW_SCALE && c->count < 1)
        diag_add(d, node_get(step, "count"), "swarm.%s: count must be at least 1", action_names[a]), bad++;
    if (a == SW_SCALE) {
        c->has_by = node_get(step, "by") != NULL;
        c->has_to = node_get(step, "to") != NULL;
        c->by = param_int(step, "by", 0);
        c->to = param_int(step, "to", 0);
        if (c->has_by == c->has_to)
            diag_add(d, step, "swarm.scale: give by: (fewer replicas) or to: (a count), one of them"), bad++;
        else if (c->has_by && c->by < 1)
            diag_add(d, node_get(step, "by"), "swarm.scale: by must be at least 1"), bad++;
        else if (c->has_to && c->to < 0)
            diag_add(d, node_get(step, "to"), "swarm.scale: to must be 0 or more"), bad++;
    }
    if (a == SW_KILL_TASK) {
        const char *sig = param_str(step, "signal", "SIGKILL");
        if (!*sig) diag_add(d, node_get(step, "signal"), "swarm.kill_task: empty signal"), bad++;
        c->signal = fl_strdup(sig);
    }
    if (bad) {
        cfg_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int parse_scale(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, SW_SCALE); }
static int parse_kill_task(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, SW_KILL_TASK); }
static int parse_drain(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, SW_DRAIN); }

/* ---- fault state ------------------------------------------------------------------------------- */

/* one thing acted on: a service (scale), a task (kill_task) or a node (drain) */
struct sw_item {
    char *id;
    char *name;
    char *container;         /* kill_task */
    char *node;              /* kill_task: the task's node id */
    int64_t prior, set;      /* scale: replicas found and set */
    char prior_avail[16];    /* drain: availability found */
    int acted;               /* revert has work to do */
    int killed;              /* kill_task: its container was killed (revert waits for it to end) */
};

struct sw_state {
    enum sw_action action;
    struct docker_client client;   /* this fault's own connection */
    int client_ready;
    char *host;
    char *target;
    int64_t converge_ms;
    char **services, **service_names;  /* what revert waits for */
    int *was_converged;            /* per service: converged when found (else revert cannot ask it) */
    size_t nservices;
    struct sw_item *items;
    size_t n;
    char self[72];                 /* kill_task: the manager's own node id */
    int64_t inject_at_ms;          /* fl_now_ms() of the inject */
    int64_t converged_after_ms;    /* revert: inject -> converged again, -1 before */
};

static void state_free(void *p)
{
    struct sw_state *s = p;
    if (!s) return;
    if (s->client_ready) docker_client_release(&s->client);
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].id);
        free(s->items[i].name);
        free(s->items[i].container);
        free(s->items[i].node);
    }
    free(s->items);
    param_strv_free(s->services);
    param_strv_free(s->service_names);
    free(s->was_converged);
    free(s->host);
    free(s->target);
    free(s);
}

static struct sw_item *add_item(struct sw_state *s, const char *id, const char *name)
{
    s->items = fl_realloc(s->items, (s->n + 1) * sizeof *s->items);
    struct sw_item *it = &s->items[s->n++];
    memset(it, 0, sizeof *it);
    it->id = fl_strdup(id);
    it->name = fl_strdup(name);
    return it;
}

static char **strv_copy(char *const *v, size_t n)
{
    char **r = fl_calloc(n + 1, sizeof *r);
    for (size_t i = 0; i < n; i++) r[i] = fl_strdup(v[i]);
    return r;
}

/* A killed task is still "running" for the manager until its agent reports the exit: wait for
 * that first, or the service would look converged before the engine even noticed. */
static int wait_tasks_ended(struct sw_state *s, int64_t deadline, char *err)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct sw_item *it = &s->items[i];
        if (!it->killed) continue;
        for (;;) {
            struct docker_task t;
            char e[FL_ERR_LEN];
            if (docker_task_inspect(&s->client, it->id, &t, e) < 0) {
                if (strncmp(e, "docker: 404", 11) == 0) break; /* gone: replaced and pruned */
                return fl_err(err, "cannot follow killed task '%s': %s", it->name, e);
            }
            if (strcmp(t.state, "running") != 0 || strcmp(t.desired, "running") != 0) break;
            if (fl_now_ms() >= deadline)
                return fl_err(err, "task '%s' still reported running %.1fs after its container was killed", it->name,
                              s->converge_ms / 1000.0);
            if (fl_abort_level() >= 2) return fl_err(err, "wait for task '%s' interrupted", it->name);
            struct timespec ts = { 0, 50 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

/* wait until every service of the fault that was converged when found is converged again
 * (one that was not cannot be asked to be better than it was); the first failure wins */
static int wait_all_converged(struct sw_state *s, char *err)
{
    int64_t deadline = fl_now_ms() + s->converge_ms;
    if (wait_tasks_ended(s, deadline, err) < 0) return -1;
    for (size_t i = 0; s->action == SW_DRAIN && i < s->n; i++) {
        if (strcmp(s->items[i].prior_avail, "active") != 0) {
            /* put back to pause (or drain), the node takes no new task: convergence may never come */
            fl_log(FL_LOG_INFO, "swarm: node '%s' is back to %s, not active: not waiting for convergence",
                   s->items[i].name, s->items[i].prior_avail);
            return 0;
        }
    }
    for (size_t i = 0; i < s->nservices; i++) {
        int64_t left = deadline - fl_now_ms();
        char e[FL_ERR_LEN];
        if (s->was_converged && !s->was_converged[i]) {
            fl_log(FL_LOG_INFO, "swarm: service '%s' was not converged before the %s: not waiting for it",
                   s->service_names[i], action_names[s->action]);
            continue;
        }
        if (docker_service_wait_converged(&s->client, s->services[i], left > 0 ? left : 0, NULL, e) < 0) {
            /* messages name the service, not its id */
            if (strncmp(e, "service '", 9) == 0) {
                const char *rest = strchr(e + 9, '\'');
                return fl_err(err, "service '%s'%s", s->service_names[i], rest ? rest + 1 : "");
            }
            return fl_err(err, "service '%s': %s", s->service_names[i], e);
        }
    }
    if (s->inject_at_ms) {
        s->converged_after_ms = fl_now_ms() - s->inject_at_ms;
        fl_log(FL_LOG_INFO, "swarm: target '%s' converged again %.1fs after the %s", s->target,
               s->converged_after_ms / 1000.0, action_names[s->action]);
    }
    return 0;
}

/* Undo one item. Idempotent: clears it->acted when done. */
static int revert_item(struct sw_state *s, struct sw_item *it, char *err)
{
    char e[FL_ERR_LEN];
    if (!it->acted) return 0;
    switch (s->action) {
    case SW_SCALE:
        if (docker_service_scale(&s->client, it->id, it->prior, NULL, e) < 0)
            return fl_err(err, "cannot scale service '%s' back to %lld: %s", it->name, (long long)it->prior, e);
        break;
    case SW_DRAIN:
        if (docker_node_set_availability(&s->client, it->id, it->prior_avail, NULL, NULL, e) < 0)
            return fl_err(err, "cannot set node '%s' back to %s: %s", it->name, it->prior_avail, e);
        break;
    case SW_KILL_TASK:
        break; /* the engine replaces the task; revert only waits for that */
    }
    it->acted = 0;
    return 0;
}

/* choose k of n reproducibly (the target's pick seed, else the run's) */
static size_t *choose(const struct target *t, const struct drv_ctx *ctx, size_t n, size_t k)
{
    size_t *order = fl_malloc((k ? k : 1) * sizeof *order);
    target_pick(n, k, t->pick_seed_set ? t->pick_seed : (drv_seed(ctx)), order);
    return order;
}

/* kill one task's container through the engine of the node it runs on */
static int kill_task(struct sw_state *s, const struct swarm_target *st, const char *self, const char *signal,
                     struct sw_item *it, char *err)
{
    char e[FL_ERR_LEN];
    if (!it->container || !it->container[0]) return fl_err(err, "task '%s' has no container yet", it->name);
    if (strcmp(it->node, self) == 0) {
        if (docker_kill(&s->client, it->container, signal, e) < 0)
            return fl_err(err, "cannot kill the container of task '%s': %s", it->name, e);
        return 0;
    }
    struct docker_node nd;
    if (docker_node_inspect(&s->client, it->node, &nd, NULL, e) < 0)
        return fl_err(err, "cannot inspect node '%s' of task '%s': %s", it->node, it->name, e);
    const char *addr = swarm_engine_for(st, nd.id, nd.hostname);
    if (!addr)
        return fl_err(err, "task '%s' runs on node '%s', whose engine this target cannot reach: add it to engines: "
                           "({%s: tcp://HOST:2376})", it->name, nd.hostname, nd.hostname);
    struct docker_client c;
    if (docker_client_init_tls(&c, addr, st->cert_path, st->tls_verify, e) < 0)
        return fl_err(err, "engine of node '%s': %s", nd.hostname, e);
    int ret = docker_kill(&c, it->container, signal, e);
    docker_client_release(&c);
    if (ret < 0) return fl_err(err, "cannot kill the container of task '%s' on node '%s': %s", it->name, nd.hostname, e);
    return 0;
}

/* Observe what the target designates now, before anything is done (tasks come and go, so it
 * is resolved again): the services and whether they are converged, and per action the
 * replica counts, the tasks chosen, or the nodes chosen with their availability. */
static int fault_prepare(struct fault_inst *fi, char *err)
{
    const struct sw_cfg *cfg = fi->cfg;
    struct target *t = fi->target;
    const char *verb = action_names[cfg->action];
    if (!t || !t->ops || strcmp(t->ops->name, "swarm") != 0) return fl_err(err, "swarm.%s needs a swarm target", verb);
    struct swarm_target *st = t->cfg;

    struct sw_state *s = fl_calloc(1, sizeof *s);
    if (docker_client_init_tls(&s->client, st->host, st->cert_path, st->tls_verify, err) < 0) {
        free(s);
        return -1;
    }
    s->client_ready = 1;
    if (st->client_ready) memcpy(s->client.api_version, st->client.api_version, sizeof s->client.api_version);
    s->action = cfg->action;
    s->host = fl_strdup(s->client.host);
    s->target = fl_strdup(t->name);
    s->converge_ms = cfg->converge_ms;
    s->converged_after_ms = -1;
    fi->state = s;

    struct swarm_view v;
    if (swarm_target_resolve(t, &s->client, drv_seed(fi->ctx), drv_require_label(fi->ctx), &v, err) < 0)
        return -1;
    s->services = strv_copy(v.service_ids, v.nservices);
    s->service_names = strv_copy(v.service_names, v.nservices);
    s->was_converged = fl_calloc(v.nservices + 1, sizeof *s->was_converged);
    s->nservices = v.nservices;
    int ret = 0;
    char e[FL_ERR_LEN];
    for (size_t i = 0; i < v.nservices; i++) {
        struct docker_svc_status ss;
        if (docker_service_status(&s->client, v.service_ids[i], &ss, e) < 0) {
            swarm_view_release(&v);
            return fl_err(err, "cannot ask for service '%s' (target '%s'): %s", s->service_names[i], t->name, e);
        }
        s->was_converged[i] = ss.converged;
    }
    switch (cfg->action) {
    case SW_SCALE:
        for (size_t i = 0; i < v.nservices && ret == 0; i++) {
            struct docker_service sv;
            if (docker_service_inspect(&s->client, v.service_ids[i], &sv, NULL, e) < 0) {
                ret = fl_err(err, "cannot scale service '%s': %s", v.service_names[i], e);
                break;
            }
            if (sv.global) {
                ret = fl_err(err, "cannot scale service '%s': it is global (one task per node), not replicated", sv.name);
                break;
            }
            struct sw_item *it = add_item(s, sv.id, sv.name);
            it->prior = sv.replicas;
            it->set = cfg->has_to ? cfg->to : (sv.replicas > cfg->by ? sv.replicas - cfg->by : 0);
        }
        break;
    case SW_KILL_TASK: {
        if ((size_t)cfg->count > v.ntasks) {
            ret = fl_err(err, "swarm.kill_task: target '%s' has %zu running task%s, fewer than count: %d", t->name,
                         v.ntasks, v.ntasks == 1 ? "" : "s", cfg->count);
            break;
        }
        if (docker_swarm_self(&s->client, s->self, NULL, e) < 0) {
            ret = fl_err(err, "swarm.kill_task on '%s': %s", t->name, e);
            break;
        }
        size_t *order = choose(t, fi->ctx, v.ntasks, (size_t)cfg->count);
        for (size_t i = 0; i < (size_t)cfg->count; i++) {
            const struct swarm_task_ref *tr = &v.tasks[order[i]];
            struct sw_item *it = add_item(s, tr->id, tr->name);
            it->container = fl_strdup(tr->container_id);
            it->node = fl_strdup(tr->node_id);
        }
        free(order);
        break;
    }
    case SW_DRAIN: {
        if ((size_t)cfg->count > v.nnodes) {
            ret = fl_err(err, "swarm.drain: target '%s' runs on %zu node%s, fewer than count: %d", t->name, v.nnodes,
                         v.nnodes == 1 ? "" : "s", cfg->count);
            break;
        }
        size_t *order = choose(t, fi->ctx, v.nnodes, (size_t)cfg->count);
        for (size_t i = 0; i < (size_t)cfg->count && ret == 0; i++) {
            struct sw_item *it = add_item(s, v.node_ids[order[i]], v.node_names[order[i]]);
            struct docker_node nd;
            if (docker_node_inspect(&s->client, it->id, &nd, NULL, e) < 0)
                ret = fl_err(err, "cannot drain node '%s': %s", it->name, e);
            else
                snprintf(it->prior_avail, sizeof it->prior_avail, "%s", nd.availability);
        }
        free(order);
        break;
    }
    }
    swarm_view_release(&v);
    return ret;
}

static int fault_inject(struct fault_inst *fi, char *err)
{
    if (!fi->state && fault_prepare(fi, err) < 0) return -1;
    const struct sw_cfg *cfg = fi->cfg;
    struct sw_state *s = fi->state;
    const struct swarm_target *st = fi->target->cfg;
    int ret = 0;
    char e[FL_ERR_LEN];
    s->inject_at_ms = fl_now_ms();
    for (size_t i = 0; i < s->n && ret == 0; i++) {
        struct sw_item *it = &s->items[i];
        switch (cfg->action) {
        case SW_SCALE: {
            int64_t found = it->prior;
            if (it->set != it->prior && docker_service_scale(&s->client, it->id, it->set, &found, e) < 0) {
                ret = fl_err(err, "cannot scale service '%s' to %lld: %s", it->name, (long long)it->set, e);
                break;
            }
            it->prior = found;   /* changed by someone since prepare: restore what was there */
            it->acted = it->set != found;
            fault_progress(fi, "inject", i, json_pack("{s:s,s:I,s:I}", "service", it->name, "replicas_found",
                                                      (json_int_t)found, "replicas_set", (json_int_t)it->set));
            break;
        }
        case SW_KILL_TASK:
            ret = kill_task(s, st, s->self, cfg->signal, it, err);
            it->killed = ret == 0;
            if (ret == 0) fault_progress(fi, "inject", i, json_pack("{s:s,s:b}", "task", it->name, "killed", 1));
            break;
        case SW_DRAIN: {
            int changed = 0;
            char found[16] = "";
            if (docker_node_set_availability(&s->client, it->id, "drain", found, &changed, e) < 0) {
                ret = fl_err(err, "cannot drain node '%s': %s", it->name, e);
                break;
            }
            if (found[0]) snprintf(it->prior_avail, sizeof it->prior_avail, "%s", found);
            it->acted = changed;
            fault_progress(fi, "inject", i, json_pack("{s:s,s:s}", "node", it->name, "availability_found", found));
            break;
        }
        }
    }
    if (ret < 0) {
        /* leave nothing half-done: put back what was already changed */
        for (size_t i = 0; i < s->n; i++) {
            if (revert_item(s, &s->items[i], e) < 0) {
                size_t l = strlen(err);
                snprintf(err + l, FL_ERR_LEN - l, "; and undoing failed: %s", e);
            }
        }
    }
    return ret;
}

static int fault_revert(struct fault_inst *fi, char *err)
{
    struct sw_state *s = fi->state;
    if (!s) return 0;
    int ret = 0;
    char e[FL_ERR_LEN];
    for (size_t i = 0; i < s->n; i++) {
        int had = s->items[i].acted;
        if (revert_item(s, &s->items[i], e) < 0) {
            if (ret == 0) snprintf(err, FL_ERR_LEN, "%s", e);
            else fl_log(FL_LOG_ERROR, "swarm: %s", e);
            ret = -1;
        } else if (had) {
            fault_progress(fi, "revert", i, json_pack("{s:s,s:b}", "item", s->items[i].name, "restored", 1));
        }
    }
    if (ret == 0) ret = wait_all_converged(s, err);
    return ret;
}

static json_t *fault_save(const struct fault_inst *fi)
{
    const struct sw_state *s = fi->state;
    if (!s) return NULL;
    json_t *svcs = json_array();
    for (size_t i = 0; i < s->nservices; i++)
        json_array_append_new(svcs, json_pack("{s:s,s:s,s:b}", "id", s->services[i], "name", s->service_names[i],
                                              "was_converged", s->was_converged ? s->was_converged[i] : 1));
    json_t *items = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const struct sw_item *it = &s->items[i];
        json_t *o = json_pack("{s:s,s:s,s:b}", "id", it->id, "name", it->name, "acted", it->acted);
        if (s->action == SW_SCALE) {
            json_object_set_new(o, "prior_replicas", json_integer(it->prior));
            json_object_set_new(o, "set_replicas", json_integer(it->set));
        } else if (s->action == SW_DRAIN) {
            json_object_set_new(o, "prior_availability", json_string(it->prior_avail));
        } else {
            json_object_set_new(o, "container", json_string(it->container ? it->container : ""));
            json_object_set_new(o, "node", json_string(it->node ? it->node : ""));
            json_object_set_new(o, "killed", json_boolean(it->killed));
        }
        json_array_append_new(items, o);
    }
    json_t *rec = json_pack("{s:s,s:s,s:s,s:I,s:o,s:o}", "action", action_names[s->action], "host", s->host, "target",
                            s->target, "converge_within_ms", (json_int_t)s->converge_ms, "services", svcs, "items", items);
    if (s->client_ready) docker_client_save_tls(&s->client, rec);
    return rec;
}

static struct sw_state *state_load(json_t *rec, char *err)
{
    int a = action_parse(json_string_value(json_object_get(rec, "action")));
    const char *host = json_string_value(json_object_get(rec, "host"));
    json_t *svcs = json_object_get(rec, "services"), *items = json_object_get(rec, "items");
    if (a < 0 || !host || !json_is_array(svcs) || !json_is_array(items)) {
        fl_err(err, "swarm: journal record is incomplete");
        return NULL;
    }
    struct sw_state *s = fl_calloc(1, sizeof *s);
    s->action = (enum sw_action)a;
    s->host = fl_strdup(host);
    const char *tn = json_string_value(json_object_get(rec, "target"));
    s->target = fl_strdup(tn ? tn : "");
    s->converge_ms = json_integer_value(json_object_get(rec, "converge_within_ms"));
    if (s->converge_ms <= 0) s->converge_ms = 60000;
    s->converged_after_ms = -1;
    s->services = fl_calloc(json_array_size(svcs) + 1, sizeof *s->services);
    s->service_names = fl_calloc(json_array_size(svcs) + 1, sizeof *s->service_names);
    s->was_converged = fl_calloc(json_array_size(svcs) + 1, sizeof *s->was_converged);
    size_t i;
    json_t *it;
    json_array_foreach(svcs, i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *name = json_string_value(json_object_get(it, "name"));
        if (!id) continue;
        json_t *wc = json_object_get(it, "was_converged");
        s->was_converged[s->nservices] = wc ? json_is_true(wc) : 1;
        s->services[s->nservices] = fl_strdup(id);
        s->service_names[s->nservices++] = fl_strdup(name ? name : id);
    }
    json_array_foreach(items, i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *name = json_string_value(json_object_get(it, "name"));
        const char *avail = json_string_value(json_object_get(it, "prior_availability"));
        json_t *prior = json_object_get(it, "prior_replicas");
        if (!id || (a == SW_SCALE && !json_is_integer(prior)) || (a == SW_DRAIN && !avail)) {
            state_free(s);
            fl_err(err, "swarm: journal record has an item without id or prior state");
            return NULL;
        }
        struct sw_item *d = add_item(s, id, name ? name : id);
        d->prior = json_integer_value(prior);
        if (avail) snprintf(d->prior_avail, sizeof d->prior_avail, "%s", avail);
        d->acted = json_is_true(json_object_get(it, "acted"));
        d->killed = json_is_true(json_object_get(it, "killed"));
    }
    return s;
}

/* compare each service's replica count, or node's availability, with what was found before
 * the fault; put back what differs, then wait for the services to converge again */
static int fault_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    struct sw_state *s = state_load(r->rec, err);
    if (!s) return -1;
    int ret = docker_client_init_saved(&s->client, s->host, r->rec, err);
    if (ret < 0) {
        state_free(s);
        return -1;
    }
    s->client_ready = 1;
    char e[FL_ERR_LEN];
    int changed = 0;
    for (size_t i = 0; i < s->n && ret == 0; i++) {
        struct sw_item *it = &s->items[i];
        switch (s->action) {
        case SW_SCALE: {
            struct docker_service sv;
            if (docker_service_inspect(&s->client, it->id, &sv, NULL, e) < 0) {
                fault_report(report, "service %s: was %lld replicas; cannot look at it now: %s", it->name,
                             (long long)it->prior, e);
                ret = fl_err(err, "service '%s': %s", it->name, e);
                break;
            }
            if (sv.replicas == it->prior) {
                fault_report(report, "service %s: was %lld replicas, found %lld: nothing to do", it->name,
                             (long long)it->prior, (long long)sv.replicas);
                break;
            }
            it->acted = 1;
            if (revert_item(s, it, e) < 0) {
                fault_report(report, "service %s: was %lld replicas, found %lld: %s", it->name, (long long)it->prior,
                             (long long)sv.replicas, e);
                ret = fl_err(err, "%s", e);
                break;
            }
            changed = 1;
            fault_report(report, "service %s: was %lld replicas, found %lld: scaled back to %lld", it->name,
                         (long long)it->prior, (long long)sv.replicas, (long long)it->prior);
            break;
        }
        case SW_DRAIN: {
            struct docker_node nd;
            if (docker_node_inspect(&s->client, it->id, &nd, NULL, e) < 0) {
                fault_report(report, "node %s: was %s; cannot look at it now: %s", it->name, it->prior_avail, e);
                ret = fl_err(err, "node '%s': %s", it->name, e);
                break;
            }
            if (!strcmp(nd.availability, it->prior_avail)) {
                fault_report(report, "node %s: was %s, found %s: nothing to do", it->name, it->prior_avail,
                             nd.availability);
                break;
            }
            it->acted = 1;
            if (revert_item(s, it, e) < 0) {
                fault_report(report, "node %s: was %s, found %s: %s", it->name, it->prior_avail, nd.availability, e);
                ret = fl_err(err, "%s", e);
                break;
            }
            changed = 1;
            fault_report(report, "node %s: was %s, found %s: set back to %s", it->name, it->prior_avail,
                         nd.availability, it->prior_avail);
            break;
        }
        case SW_KILL_TASK:
            fault_report(report, "task %s: a killed task is replaced by the engine, not by faultline: nothing to undo",
                         it->name);
            break;
        }
    }
    if (ret == 0 && changed) {
        for (size_t i = 0; i < s->n; i++) s->items[i].killed = 0;
        ret = wait_all_converged(s, err);
        if (ret == 0) fault_report(report, "the target's services converged again");
        else fault_report(report, "%s", err);
    }
    if (ret == 0 && s->action == SW_KILL_TASK) {
        for (size_t i = 0; i < s->nservices; i++) {
            struct docker_svc_status ss;
            if (docker_service_status(&s->client, s->services[i], &ss, e) == 0)
                fault_report(report, "service %s: %lld of %lld running now", s->service_names[i], (long long)ss.running,
                             (long long)ss.desired);
        }
    }
    state_free(s);
    return ret;
}

static void fault_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct sw_cfg *cfg = fi->cfg;
    buf_addf(out, "swarm %s", action_names[cfg->action]);
    if (fi->target) buf_addf(out, " target '%s'", fi->target->name);
    const struct sw_state *s = fi->state;
    switch (cfg->action) {
    case SW_SCALE:
        if (cfg->has_to) buf_addf(out, ", to %lld", (long long)cfg->to);
        else buf_addf(out, ", down by %lld", (long long)cfg->by);
        for (size_t i = 0; s && i < s->n; i++)
            buf_addf(out, "%s service %s %lld -> %lld", i ? "," : ";", s->items[i].name, (long long)s->items[i].prior,
                     (long long)s->items[i].set);
        break;
    case SW_KILL_TASK:
        buf_addf(out, ", %d task%s, signal %s", cfg->count, cfg->count == 1 ? "" : "s", cfg->signal);
        if (s && s->n) buf_adds(out, "; killed");
        for (size_t i = 0; s && i < s->n; i++) buf_addf(out, "%s %s", i ? "," : "", s->items[i].name);
        break;
    case SW_DRAIN:
        buf_addf(out, ", %d node%s", cfg->count, cfg->count == 1 ? "" : "s");
        if (s && s->n) buf_adds(out, "; drained");
        for (size_t i = 0; s && i < s->n; i++)
            buf_addf(out, "%s %s (was %s)", i ? "," : "", s->items[i].name, s->items[i].prior_avail);
        break;
    }
    if (s && s->converged_after_ms >= 0) buf_addf(out, "; converged again %.1fs after", s->converged_after_ms / 1000.0);
}

#define SWARM_FAULT(kind, summ, rsumm)                                                                       \
    const struct fault_ops fault_swarm_##kind = {                                                           \
        .name = "swarm." #kind, .target_kind = "swarm", .summary = summ, .revert_summary = rsumm,           \
        .params = kind##_params, .parse = parse_##kind, .prepare = fault_prepare, .inject = fault_inject,   \
        .revert = fault_revert, .save = fault_save, .reconcile = fault_reconcile, .describe = fault_describe, \
        .free_cfg = cfg_free, .free_state = state_free,                                                      \
    }

SWARM_FAULT(scale, "set the replicas of the target's services (down by: N, or to: N)",
            "the replica count found, then wait until converged");
SWARM_FAULT(kill_task, "kill the containers of count: running tasks (the engine replaces them)",
            "wait until the engine has converged again");
SWARM_FAULT(drain, "set count: nodes of the service to availability drain (their tasks move or stop)",
            "the availability found (active), then wait until converged");
