/* test_swarm.c -- the swarm target, swarm.* faults and the service probe on a real single-node
 * swarm (scripts/swarm-up.sh on the test dockerd): services of the empty `hostbin` image run
 * host programs through read-only bind mounts and --network host. Each test creates its own
 * services (unique names, labelled with the test and its pid) and removes them. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "docker_api.h"
#include "dockerfx.h"
#include "fault.h"
#include "harness.h"
#include "plan.h"
#include "probe.h"

TEST_FILE_USES("docker swarm"); /* services on, and drains of, the single-node swarm */

extern const struct target_ops target_swarm;
extern const struct fault_ops fault_swarm_scale, fault_swarm_kill_task, fault_swarm_drain;
extern const struct probe_ops probe_service;

/* ---- fixtures ---------------------------------------------------------------------------------- */

static struct docker_client dc;
static char self_node[72];

static void swarm(void) { fx_swarm(&dc, self_node); }
static void sweep(const char *test) { fx_sweep_services(&dc, test); }

static void sname(char *out, size_t n, const char *tag)
{
    snprintf(out, n, "fl-swarm-%d-%s", (int)getpid(), tag);
}

static void mk_service(const char *test, const char *name, int replicas, json_t *labels, char id[72])
{
    fx_service(&dc, test, name, replicas, labels, id);
}

static struct docker_svc_status status(const char *ref) { return fx_svc_status(&dc, ref); }
static void converge(const char *ref, int64_t within_ms) { fx_converge(&dc, ref, within_ms); }

/* the test's own service fl-swarm-PID-TAG with replicas tasks, converged (what an earlier run
 * of the test left, swept first): its name and id */
static void fresh_service(const char *tag, int replicas, json_t *labels, char name[64], char id[72])
{
    char test[32];
    snprintf(test, sizeof test, "sw-%s", tag);
    swarm();
    sweep(test);
    sname(name, 64, tag);
    mk_service(test, name, replicas, labels, id);
    converge(name, 30000);
}

static int64_t replicas(const char *ref)
{
    struct docker_service sv;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_service_inspect(&dc, ref, &sv, NULL, err) == 0, "inspect %s: %s", ref, err);
    return sv.replicas;
}

static struct docker_node node(void)
{
    struct docker_node nd;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_node_inspect(&dc, self_node, &nd, NULL, err) == 0, "node: %s", err);
    return nd;
}

/* the running task of a slot ("" when none) */
static void slot_task(const char *svc_id, int slot, char out[72])
{
    json_t *arr = NULL;
    char err[FL_ERR_LEN];
    out[0] = '\0';
    ASSERT_MSG(docker_task_list(&dc, svc_id, &arr, err) == 0, "tasks: %s", err);
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        struct docker_task t;
        if (docker_task_from_json(it, &t, err) == 0 && t.slot == slot && !strcmp(t.state, "running") &&
            !strcmp(t.desired, "running"))
            snprintf(out, 72, "%s", t.id);
    }
    json_decref(arr);
}

static void task_state(const char *task_id, char state[16])
{
    char path[128], err[FL_ERR_LEN];
    snprintf(path, sizeof path, "/tasks/%s", task_id);
    json_t *j = NULL;
    ASSERT_MSG(docker_call(&dc, "GET", path, NULL, 0, NULL, &j, err) == 0, "task %s: %s", task_id, err);
    struct docker_task t;
    ASSERT_MSG(docker_task_from_json(j, &t, err) == 0, "%s", err);
    snprintf(state, 16, "%s", t.state);
    json_decref(j);
}

/* the plan fixture (dockerfx.h) for swarm targets; pick_count 0 = no pick */
static struct target *target_try(struct fx *f, const char *name, const char *spec, int pick_count, uint64_t seed,
                                 char *diagtext)
{
    return fx_target_try(f, &target_swarm, name, spec, pick_count, seed, diagtext);
}

static struct target *target(struct fx *f, const char *name, const char *spec, int pick_count, uint64_t seed)
{
    char e[FL_ERR_LEN];
    struct target *t = target_try(f, name, spec, pick_count, seed, e);
    ASSERT_MSG(t, "target %s: %s", spec, e);
    return t;
}

static void open_t(struct fx *f, struct target *t)
{
    char err[FL_ERR_LEN];
    ASSERT_MSG(target_swarm.open(t, &f->ctx, err) == 0, "open %s: %s", t->name, err);
}

/* a fresh plan fixture whose target 'web' is the service name (pick_count 0 = no pick), opened
 * when asked (a probe resolves an unopened one itself) */
static struct target *web_target(struct fx *f, const char *name, int pick_count, uint64_t seed, int open)
{
    char spec[256];
    fx_init(f, 4242);
    snprintf(spec, sizeof spec, "service: %s", name);
    struct target *t = target(f, "web", spec, pick_count, seed);
    if (open) open_t(f, t);
    return t;
}

/* parse errors of a fault's step keys: the first message */
static void fault_parse_err(struct fx *f, const struct fault_ops *ops, const char *params, char *out)
{
    struct node *n = fx_yaml(f, "{ %s }", params);
    struct diag d;
    diag_init(&d, "test");
    void *cfg = NULL;
    int bad = params_check(n, ops->params, NULL, ops->name, &d);
    if (!bad) ASSERT_MSG(ops->parse(&f->pc, n, &cfg, &d) < 0, "'%s' parsed", params);
    ASSERT_MSG(d.n > 0, "no diagnostic for '%s'", params);
    snprintf(out, FL_ERR_LEN, "%s", d.msgs[0]);
    diag_release(&d);
}

/* a service probe on target NAME: returns check()'s result, obs filled */
static int probe(struct fx *f, const char *spec, struct probe_obs *obs, char *err)
{
    return fx_probe(f, &probe_service, spec, 0, obs, err);
}

/* ---- target -------------------------------------------------------------------------------------- */

TEST_T(swarm_target_resolves_tasks_nodes_and_picks, 90)
{
    char name[64], id[72], err[FL_ERR_LEN], spec[512], host[256];
    fresh_service("target", 3, json_pack("{s:s}", "tier", "web"), name, id);
    ASSERT_EQ_INT(gethostname(host, sizeof host), 0);

    struct fx f;
    fx_init(&f, 4242);
    snprintf(spec, sizeof spec, "service: %s", name);
    struct target *all = target(&f, "all", spec, 0, 0);
    open_t(&f, all);
    const struct swarm_target *st = all->cfg;
    ASSERT_EQ_INT(st->view.nservices, 1);
    ASSERT_EQ_STR(st->view.service_ids[0], id);
    ASSERT_EQ_INT(st->view.ntasks, 3);
    for (int i = 0; i < 3; i++) {
        char want[96];
        snprintf(want, sizeof want, "%s.%d", name, i + 1);
        ASSERT_EQ_STR(st->view.tasks[i].name, want); /* ordered by slot */
        ASSERT_EQ_STR(st->view.tasks[i].node_id, self_node);
        ASSERT(st->view.tasks[i].container_id[0]);
    }
    ASSERT_EQ_INT(st->view.nnodes, 1);
    ASSERT_EQ_STR(st->view.node_ids[0], self_node);
    ASSERT_EQ_STR(st->view.node_names[0], host);
    struct buf b;
    buf_init(&b, 4096);
    target_swarm.describe(all, &b);
    ASSERT_CONTAINS(b.data, ".1, ");
    ASSERT_CONTAINS(b.data, host);
    buf_release(&b);

    /* pick: the same seed designates the same slot every time; both seeds stay inside the set */
    struct target *p1 = target(&f, "p1", spec, 1, 7), *p2 = target(&f, "p2", spec, 1, 7);
    open_t(&f, p1);
    open_t(&f, p2);
    const struct swarm_target *s1 = p1->cfg, *s2 = p2->cfg;
    ASSERT_EQ_INT(s1->view.ntasks, 1);
    ASSERT_EQ_STR(s1->view.tasks[0].name, s2->view.tasks[0].name);
    size_t order[1];
    target_pick(3, 1, 7, order);
    ASSERT_EQ_STR(s1->view.tasks[0].name, st->view.tasks[order[0]].name);
    ASSERT_EQ_INT(s1->view.nnodes, 1);

    /* labels, slot and node selectors */
    struct target *lab = target(&f, "lab", "labels: { tier: web, faultline.test: sw-target }", 0, 0);
    open_t(&f, lab);
    ASSERT_EQ_INT(((const struct swarm_target *)lab->cfg)->view.nservices, 1);
    snprintf(spec, sizeof spec, "service: %s, slot: 2", name);
    struct target *slot = target(&f, "slot", spec, 0, 0);
    open_t(&f, slot);
    ASSERT_EQ_INT(((const struct swarm_target *)slot->cfg)->view.ntasks, 1);
    char want[96];
    snprintf(want, sizeof want, "%s.2", name);
    ASSERT_EQ_STR(((const struct swarm_target *)slot->cfg)->view.tasks[0].name, want);
    snprintf(spec, sizeof spec, "service: %s, node: \"%s\"", name, host);
    struct target *on = target(&f, "on", spec, 0, 0);
    open_t(&f, on);
    ASSERT_EQ_INT(((const struct swarm_target *)on->cfg)->view.ntasks, 3);

    /* errors: no such service, no label match, require_label */
    struct target *none = target(&f, "none", "service: fl-no-such-service", 0, 0);
    ASSERT(target_swarm.open(none, &f.ctx, err) < 0);
    ASSERT_CONTAINS(err, "cannot resolve target 'none': docker: 404");
    ASSERT_CONTAINS(err, "fl-no-such-service");
    struct target *nolab = target(&f, "nolab", "labels: { faultline.test: sw-none-has-this }", 0, 0);
    ASSERT(target_swarm.open(nolab, &f.ctx, err) < 0);
    ASSERT_CONTAINS(err, "target 'nolab': no swarm service matches services with label faultline.test=sw-none-has-this");
    f.ctx.require_label = "faultline.allow=true";
    ASSERT(target_swarm.open(all, &f.ctx, err) < 0);
    ASSERT_CONTAINS(err, "lacks the label 'faultline.allow=true' the plan requires");
    f.ctx.require_label = "tier=web";
    open_t(&f, all);
    f.ctx.require_label = NULL;

    /* parse errors */
    ASSERT(!target_try(&f, "x", "labels: { a: b }, service: y", 0, 0, err));
    ASSERT_CONTAINS(err, "give either service: or labels:");
    ASSERT(!target_try(&f, "x", "slot: 0, service: y", 0, 0, err));
    ASSERT_CONTAINS(err, "slot must be at least 1");
    ASSERT(!target_try(&f, "x", "service: y, engines: { n1: \"http://x\" }", 0, 0, err));
    ASSERT_CONTAINS(err, "engines: 'n1' needs an address");
    fx_release(&f);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    docker_client_release(&dc);
}

/* ---- swarm.scale ------------------------------------------------------------------------------------ */

TEST_T(swarm_scale_down_and_back_exactly, 120)
{
    char name[64], id[72], err[FL_ERR_LEN];
    fresh_service("scale", 3, NULL, name, id);
    struct fx f;
    struct target *t = web_target(&f, name, 0, 0, 1);

    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_swarm_scale, t, "by: 2, converge_within: 30s");
    ASSERT_MSG(fault_swarm_scale.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(replicas(id), 1);
    converge(id, 30000);
    struct docker_svc_status s = status(id);
    ASSERT_EQ_INT(s.running, 1);
    ASSERT_EQ_INT(s.desired, 1);
    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: web, expect: \"running == 1\"", &obs, err) == 0, "%s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "observed %s", obs.observed);
    ASSERT_EQ_STR(obs.observed, "1/1 running, converged, 0 restarts");
    struct buf b;
    buf_init(&b, 4096);
    fault_swarm_scale.describe(&fi, &b);
    char want[160];
    snprintf(want, sizeof want, "down by 2; service %s 3 -> 1", name);
    ASSERT_CONTAINS(b.data, want);
    buf_release(&b);
    ASSERT_MSG(fault_swarm_scale.revert(&fi, err) == 0, "revert: %s", err);
    ASSERT_EQ_INT(replicas(id), 3); /* exactly the count found */
    s = status(id);
    ASSERT_MSG(s.converged && s.running == 3, "after revert: %lld/%lld running", (long long)s.running,
               (long long)s.desired);
    fx_fault_release(&fi);

    /* to: 0, then undone from the journal record alone (as faultline rollback does) */
    fx_fault(&f, &fi, &fault_swarm_scale, t, "to: 0");
    ASSERT_MSG(fault_swarm_scale.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(replicas(id), 0);
    json_t *rec = fault_swarm_scale.save(&fi);
    ASSERT(rec);
    fx_fault_release(&fi); /* the run died: nobody reverts */
    ASSERT_EQ_INT(replicas(id), 0);
    ASSERT_MSG(fault_reconcile_rec(&fault_swarm_scale, rec, &f.ctx, NULL, err) == 0, "reconcile: %s", err);
    json_decref(rec);
    ASSERT_EQ_INT(replicas(id), 3);
    ASSERT(status(id).converged);

    /* scaling to the count it has changes nothing and reverts nothing */
    fx_fault(&f, &fi, &fault_swarm_scale, t, "to: 3");
    ASSERT_MSG(fault_swarm_scale.inject(&fi, err) == 0, "inject: %s", err);
    json_t *r2 = fault_swarm_scale.save(&fi);
    ASSERT(json_is_false(json_object_get(json_array_get(json_object_get(r2, "items"), 0), "acted")));
    json_decref(r2);
    ASSERT_MSG(fault_swarm_scale.revert(&fi, err) == 0, "revert: %s", err);
    ASSERT_EQ_INT(replicas(id), 3);
    fx_fault_release(&fi);

    /* step keys */
    fault_parse_err(&f, &fault_swarm_scale, "by: 1, to: 2", err);
    ASSERT_CONTAINS(err, "give by: (fewer replicas) or to: (a count), one of them");
    fault_parse_err(&f, &fault_swarm_scale, "by: 0", err);
    ASSERT_CONTAINS(err, "by must be at least 1");
    fx_release(&f);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    docker_client_release(&dc);
}

/* ---- swarm.kill_task --------------------------------------------------------------------------------- */

TEST_T(swarm_kill_task_is_rescheduled, 120)
{
    char name[64], id[72], err[FL_ERR_LEN];
    fresh_service("kill", 2, NULL, name, id);
    int64_t failed0 = status(id).failed;
    struct fx f;
    struct target *t = web_target(&f, name, 1, 99, 1); /* pick one task with seed 99 */
    const struct swarm_task_ref picked = ((const struct swarm_target *)t->cfg)->view.tasks[0];
    char before[72];
    slot_task(id, picked.slot, before);
    ASSERT_EQ_STR(before, picked.id);

    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_swarm_kill_task, t, "count: 1, converge_within: 30s");
    ASSERT_MSG(fault_swarm_kill_task.inject(&fi, err) == 0, "inject: %s", err);
    /* the container of that task is dead: the task fails and the engine replaces it */
    struct docker_cstate cs;
    ASSERT_MSG(docker_inspect(&dc, picked.container_id, &cs, NULL, err) == 0, "%s", err);
    ASSERT_MSG(cs.state != DS_RUNNING, "killed container is %s", docker_state_name(cs.state));
    ASSERT_EQ_INT(cs.exit_code, 137);
    json_t *rec = fault_swarm_kill_task.save(&fi);
    json_t *item = json_array_get(json_object_get(rec, "items"), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(item, "id")), picked.id);
    ASSERT_EQ_STR(json_string_value(json_object_get(item, "container")), picked.container_id);
    json_decref(rec);
    ASSERT_MSG(fault_swarm_kill_task.revert(&fi, err) == 0, "revert: %s", err);
    struct docker_svc_status s = status(id);
    ASSERT_MSG(s.converged && s.running == 2, "after revert: %lld/%lld running", (long long)s.running,
               (long long)s.desired);
    ASSERT_EQ_INT(replicas(id), 2);
    ASSERT_EQ_INT(s.failed, failed0 + 1);
    char after[72], st[16];
    slot_task(id, picked.slot, after);
    ASSERT_MSG(after[0] && strcmp(after, before) != 0, "slot %d: task %s before, %s after", picked.slot, before, after);
    task_state(before, st);
    ASSERT_EQ_STR(st, "failed");
    struct buf b;
    buf_init(&b, 4096);
    fault_swarm_kill_task.describe(&fi, &b);
    ASSERT_CONTAINS(b.data, picked.name);
    ASSERT_CONTAINS(b.data, "converged again");
    buf_release(&b);
    fx_fault_release(&fi);

    /* the probe counts that replacement; max_restarts: 0 now fails, an answer not an error */
    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: web, max_restarts: 0", &obs, err) == 0, "%s", err);
    ASSERT(obs.outcome == PROBE_FAILED);
    ASSERT_CONTAINS(obs.observed, "2/2 running, converged, 1 restart");

    /* more tasks than run */
    fx_fault(&f, &fi, &fault_swarm_kill_task, t, "count: 3");
    ASSERT(fault_swarm_kill_task.inject(&fi, err) < 0);
    ASSERT_CONTAINS(err, "target 'web' has 1 running task, fewer than count: 3");
    fx_fault_release(&fi);
    fx_release(&f);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    docker_client_release(&dc);
}

/* ---- swarm.drain -------------------------------------------------------------------------------------- */

TEST_T(swarm_drain_and_reactivate_the_node, 150)
{
    char name[64], id[72], err[FL_ERR_LEN];
    fresh_service("drain", 2, NULL, name, id);
    struct fx f;
    struct target *t = web_target(&f, name, 0, 0, 1);

    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_swarm_drain, t, "converge_within: 30s");
    ASSERT_MSG(fault_swarm_drain.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_STR(node().availability, "drain");
    /* the only node drained: every task stops, none can be placed */
    struct docker_svc_status s = status(id);
    for (int i = 0; i < 100 && (s.running || s.stopping); i++) usleep(100000), s = status(id);
    ASSERT_EQ_INT(s.running, 0);
    ASSERT_EQ_INT(s.desired, 2);
    ASSERT(!s.converged);
    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: web", &obs, err) == 0, "%s", err);
    ASSERT(obs.outcome == PROBE_FAILED);
    ASSERT_CONTAINS(obs.observed, "0/2 running, not converged");
    ASSERT_MSG(fault_swarm_drain.revert(&fi, err) == 0, "revert: %s", err);
    ASSERT_EQ_STR(node().availability, "active");
    s = status(id);
    ASSERT_MSG(s.converged && s.running == 2, "after revert: %lld/%lld running", (long long)s.running,
               (long long)s.desired);
    fx_fault_release(&fi);

    /* exactness: a node found paused goes back to pause, not active */
    ASSERT_MSG(docker_node_set_availability(&dc, self_node, "pause", NULL, NULL, err) == 0, "%s", err);
    fx_fault(&f, &fi, &fault_swarm_drain, t, "converge_within: 30s");
    ASSERT_MSG(fault_swarm_drain.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_STR(node().availability, "drain");
    struct buf b;
    buf_init(&b, 4096);
    fault_swarm_drain.describe(&fi, &b);
    ASSERT_CONTAINS(b.data, "(was pause)");
    buf_release(&b);
    json_t *rec = fault_swarm_drain.save(&fi);
    fx_fault_release(&fi); /* the run died: revert from the journal record */
    ASSERT_EQ_STR(node().availability, "drain");
    ASSERT_MSG(fault_reconcile_rec(&fault_swarm_drain, rec, &f.ctx, NULL, err) == 0, "reconcile: %s", err);
    json_decref(rec);
    ASSERT_EQ_STR(node().availability, "pause");
    ASSERT_MSG(docker_node_set_availability(&dc, self_node, "active", NULL, NULL, err) == 0, "%s", err);
    converge(id, 30000);

    fault_parse_err(&f, &fault_swarm_drain, "count: 0", err);
    ASSERT_CONTAINS(err, "count must be at least 1");
    fx_fault(&f, &fi, &fault_swarm_drain, t, "count: 2");
    ASSERT(fault_swarm_drain.inject(&fi, err) < 0);
    ASSERT_CONTAINS(err, "target 'web' runs on 1 node, fewer than count: 2");
    fx_fault_release(&fi);
    ASSERT_EQ_STR(node().availability, "active");
    fx_release(&f);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    docker_client_release(&dc);
}

/* ---- the service probe ----------------------------------------------------------------------------------- */

TEST_T(swarm_service_probe_answers_and_could_not_check, 60)
{
    char name[64], id[72], err[FL_ERR_LEN], spec[256];
    fresh_service("probe", 2, NULL, name, id);
    struct fx f;
    web_target(&f, name, 0, 0, 0); /* not opened: the probe resolves it itself */
    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: web", &obs, err) == 0, "%s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "%s", obs.observed);
    ASSERT_EQ_STR(obs.observed, "2/2 running, converged, 0 restarts");
    ASSERT_EQ_INT((int)obs.value, 2);
    ASSERT_MSG(probe(&f, "target: web, expect: \"running >= 3\"", &obs, err) == 0, "%s", err);
    ASSERT(obs.outcome == PROBE_FAILED);
    ASSERT_MSG(probe(&f, "target: web, expect: \"desired == 2\"", &obs, err) == 0, "%s", err);
    ASSERT(obs.outcome == PROBE_PASSED);

    /* the service removed under the probe: an answer ("missing") */
    snprintf(spec, sizeof spec, "service: %s", name);
    struct target *t2 = target(&f, "web2", spec, 0, 0);
    open_t(&f, t2);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    ASSERT_MSG(probe(&f, "target: web2", &obs, err) == 0, "%s", err);
    ASSERT(obs.outcome == PROBE_FAILED);
    ASSERT_EQ_STR(obs.observed, "missing");

    /* no engine there: could not check */
    struct fx g;
    fx_init(&g, 4242);
    struct node *n = fx_yaml(&g, "{ host: \"unix:///nonexistent/docker.sock\", service: x }");
    struct diag d;
    diag_init(&d, "test");
    struct target *t = fl_calloc(1, sizeof *t);
    t->name = fl_strdup("gone");
    t->ops = &target_swarm;
    ASSERT(target_swarm.parse(&g.pc, t, n, &d) == 0);
    g.targets[g.ntargets++] = t;
    ASSERT(probe(&g, "target: gone", &obs, err) < 0);
    ASSERT_CONTAINS(err, "no such socket");

    /* expect: */
    struct node *bad = fx_yaml(&g, "{ target: gone, expect: \"healthy\" }");
    void *cfg = NULL;
    ASSERT(probe_service.parse(&g.pc, bad, NULL, &cfg, &d) < 0);
    ASSERT_CONTAINS(d.msgs[d.n - 1], "is neither converged nor a count like \"running >= 2\"");
    diag_release(&d);
    fx_release(&g);
    fx_release(&f);
    docker_client_release(&dc);
}

/* ---- whole plans through build/faultline ------------------------------------------------------------------- */

static json_t *load_run(const char *dir) { return th_json_file(dir, "report/run.json"); }

static json_t *find_named(json_t *arr, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
        if (!strcmp(json_string_value(json_object_get(it, "name")) ?: "", name)) return it;
    ASSERT_MSG(0, "no entry named %s", name);
    return NULL;
}

TEST_T(swarm_plan_scale_and_kill_task_end_to_end, 180)
{
    const char *host = th_docker_host();
    char name[64], id[72], err[FL_ERR_LEN], out[16384];
    fresh_service("e2e", 3, json_pack("{s:s}", "faultline.allow", "true"), name, id);
    int64_t failed0 = status(id).failed;
    const char *dir = th_tmpdir();
    /* scale 3 -> 1 for 2 s; then kill one task and watch, every 100 ms for 8 s, the engine put it
     * back; the recovery probe then sees it converged */
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: swarm-e2e\n"
            "duration: 14s\n"
            "require_label: faultline.allow=true\n"
            "targets:\n"
            "  web: { swarm: { service: %s, host: \"%s\" }, pick: { count: 1, seed: 3 } }\n"
            "steady_state:\n"
            "  - service: { target: web }\n"
            "method:\n"
            "  - { name: fewer, at: 300ms, fault: swarm.scale, target: web, by: 2, for: 2s }\n"
            "  - { name: kill, at: 5s, fault: swarm.kill_task, target: web, for: 8s, converge_within: 30s }\n"
            "probes:\n"
            "  - { name: one-left, during: fewer, every: 900ms, service: { target: web, expect: \"running <= 1\" } }\n"
            "  - { name: healing, during: kill, every: 100ms, service: { target: web, expect: \"running >= 0\" } }\n"
            "  - name: kill-recovery\n"
            "    recovery:\n"
            "      from: kill\n"
            "      until: { service: { target: web, expect: converged } }\n"
            "      every: 100ms\n"
            "      stable: 3\n"
            "      within: 20s\n",
            name, host);
    int rc = fx_fl(dir, "run plan.yaml -o report --journal journal.jsonl", out, sizeof out);
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    ASSERT_CONTAINS(out, "converged again");
    /* every revert exact: three replicas, converged, one task replaced */
    ASSERT_EQ_INT(replicas(id), 3);
    struct docker_svc_status s = status(id);
    ASSERT_MSG(s.converged && s.running == 3, "after the run: %lld/%lld", (long long)s.running, (long long)s.desired);
    ASSERT_EQ_INT(s.failed, failed0 + 1);

    json_t *rec = load_run(dir);
    json_t *steps = json_object_get(rec, "steps");
    json_t *kill = find_named(steps, "kill");
    ASSERT_EQ_STR(json_string_value(json_object_get(kill, "status")), "reverted");
    ASSERT_CONTAINS(json_string_value(json_object_get(kill, "description")), "killed ");
    ASSERT_CONTAINS(json_string_value(json_object_get(find_named(steps, "fewer"), "description")), "3 -> 1");
    json_t *probes = json_object_get(rec, "probes");
    ASSERT_EQ_STR(json_string_value(json_object_get(find_named(probes, "one-left"), "verdict")), "passed");
    ASSERT_EQ_STR(json_string_value(json_object_get(find_named(probes, "kill-recovery"), "verdict")), "passed");
    /* the recovery time, measured from the kill: the first converged check after the kill */
    int64_t injected = json_integer_value(json_object_get(kill, "injected_at_ms"));
    json_t *obs = json_object_get(find_named(probes, "healing"), "observations");
    int64_t down_at = -1, back_at = -1;
    size_t i;
    json_t *o;
    json_array_foreach(obs, i, o) {
        const char *text = json_string_value(json_object_get(o, "observed"));
        int64_t t = json_integer_value(json_object_get(o, "t_ms"));
        if (strstr(text, "not converged") && down_at < 0) down_at = t;
        if (down_at >= 0 && back_at < 0 && strstr(text, "3/3 running, converged")) back_at = t;
    }
    ASSERT_MSG(down_at >= 0, "no check saw the service short of a task");
    ASSERT_MSG(back_at > down_at, "no check saw it converged again after the kill");
    fprintf(stderr, "    kill_task: converged again %.1fs after the kill (checks every 100ms)\n",
            (back_at - injected) / 1000.0);
    json_decref(rec);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    docker_client_release(&dc);
}

TEST_T(swarm_rollback_of_a_drain_after_sigkill, 120)
{
    const char *host = th_docker_host();
    char name[64], id[72], err[FL_ERR_LEN], out[8192];
    fresh_service("crash", 1, NULL, name, id);
    const char *dir = th_tmpdir();
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: swarm-crash\n"
            "duration: 60s\n"
            "targets:\n"
            "  web: { swarm: { service: %s, host: \"%s\" } }\n"
            "method:\n"
            "  - { name: drain, at: 100ms, fault: swarm.drain, target: web, for: 50s }\n",
            name, host);
    int rc = th_sh(out, sizeof out,
                   "cd '%s' && { '%s' run plan.yaml -o report --journal journal.jsonl >run.log 2>&1 & echo $!; }", dir,
                   th_faultline());
    ASSERT_MSG(rc == 0, "start: %s", out);
    int pid = atoi(out);
    ASSERT(pid > 0);
    for (int i = 0; i < 100; i++) {
        if (th_sh(NULL, 0, "grep -q '\"op\":\"inject\"' '%s/journal.jsonl' 2>/dev/null", dir) == 0) break;
        usleep(50000);
    }
    ASSERT_EQ_STR(node().availability, "drain");
    kill(pid, SIGKILL);
    usleep(200000);
    ASSERT_EQ_STR(node().availability, "drain"); /* nobody reverted it */
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' rollback journal.jsonl 2>&1", dir, th_faultline());
    ASSERT_MSG(rc == 0, "faultline rollback exited %d:\n%s", rc, out);
    ASSERT_EQ_STR(node().availability, "active");
    ASSERT(status(id).converged);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    docker_client_release(&dc);
}

TEST(swarm_plan_validation_names_the_problem)
{
    const char *dir = th_tmpdir();
    char path[600], out[8192];
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    th_write_in(dir, "bad.yaml", "faultline: 1\n"
               "name: swarm-bad\n"
               "duration: 5s\n"
               "targets:\n"
               "  web: { swarm: { host: \"unix:///x\" } }\n"
               "  db: { docker: { container: db } }\n"
               "method:\n"
               "  - { at: 1s, fault: swarm.scale, target: db, by: 1 }\n"
               "  - { at: 1s, fault: swarm.kill_task, target: web, count: 0 }\n"
               "probes:\n"
               "  - service: { target: db }\n");
    int rc = th_sh(out, sizeof out, "'%s' validate '%s' 2>&1", th_faultline(), path);
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "swarm target: needs service: or labels:");
    ASSERT_CONTAINS(out, "swarm.kill_task: count must be at least 1");
    ASSERT_CONTAINS(out, "service probe: target 'db' is a docker target, not swarm");
}

/* N-1 over a swarm service: the contingency matrix loses each task slot in turn */
TEST_T(swarm_matrix_loses_each_slot_in_turn, 240)
{
    const char *host = th_docker_host();
    char name[64], id[72], err[FL_ERR_LEN], out[16384];
    fresh_service("matrix", 3, NULL, name, id);
    const char *dir = th_tmpdir();
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: swarm-n1\n"
            "duration: 3s\n"
            "targets:\n"
            "  all: { swarm: { service: %s, host: \"%s\" } }\n"
            "  slot1: { swarm: { service: %s, slot: 1, host: \"%s\" } }\n"
            "  slot2: { swarm: { service: %s, slot: 2, host: \"%s\" } }\n"
            "  slot3: { swarm: { service: %s, slot: 3, host: \"%s\" } }\n"
            "matrix: { lose: [slot1, slot2, slot3], choose: 1 }\n"
            "steady_state:\n"
            "  - service: { target: all }\n"
            "method:\n"
            "  - { name: lose-task, at: 300ms, fault: swarm.kill_task, target: \"${lose}\", for: 1500ms }\n"
            "probes:\n"
            "  - { name: two-left, during: lose-task, every: 200ms, service: { target: all, expect: \"running >= 2\" } }\n",
            name, host, name, host, name, host, name, host);
    int rc = th_sh(out, sizeof out, "cd '%s' && '%s' run plan.yaml -o out 2>&1", dir, th_faultline());
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    ASSERT_CONTAINS(out, "N-1 holds");
    for (int i = 1; i <= 3; i++) {
        char rj[700], want[96];
        snprintf(rj, sizeof rj, "%s/out/lose-slot%d/run.json", dir, i);
        json_t *run = json_load_file(rj, 0, NULL);
        ASSERT_MSG(run, "no %s", rj);
        json_t *step = json_array_get(json_object_get(run, "steps"), 0);
        snprintf(want, sizeof want, "killed %s.%d", name, i);
        ASSERT_CONTAINS(json_string_value(json_object_get(step, "description")), want);
        ASSERT_EQ_STR(json_string_value(json_object_get(step, "status")), "reverted");
        ASSERT_EQ_STR(json_string_value(json_object_get(run, "verdict")), "passed");
        json_decref(run);
    }
    struct docker_svc_status s = status(id);
    ASSERT_MSG(s.converged && s.running == 3, "after the matrix: %lld/%lld", (long long)s.running, (long long)s.desired);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    docker_client_release(&dc);
}

/* the convergence arithmetic on replies shaped like the engine's (no engine needed) */
TEST(swarm_status_counts_running_starting_stopping_failed)
{
    struct docker_service sv = { .replicas = 3 };
    json_t *tasks = json_loads(
        "[{\"ID\":\"a\",\"Slot\":1,\"DesiredState\":\"running\",\"Status\":{\"State\":\"running\"}},"
        " {\"ID\":\"b\",\"Slot\":2,\"DesiredState\":\"running\",\"Status\":{\"State\":\"preparing\"}},"
        " {\"ID\":\"c\",\"Slot\":2,\"DesiredState\":\"shutdown\",\"Status\":{\"State\":\"failed\"}},"
        " {\"ID\":\"d\",\"Slot\":3,\"DesiredState\":\"running\",\"Status\":{\"State\":\"running\"}},"
        " {\"ID\":\"e\",\"Slot\":4,\"DesiredState\":\"remove\",\"Status\":{\"State\":\"running\"}},"
        " {\"ID\":\"f\",\"Slot\":5,\"DesiredState\":\"shutdown\",\"Status\":{\"State\":\"rejected\"}},"
        " {\"ID\":\"g\",\"Slot\":6,\"DesiredState\":\"shutdown\",\"Status\":{\"State\":\"shutdown\"}}]",
        0, NULL);
    ASSERT(tasks);
    struct docker_svc_status st;
    docker_svc_status_from(&sv, tasks, &st);
    ASSERT_EQ_INT(st.desired, 3);
    ASSERT_EQ_INT(st.running, 2);
    ASSERT_EQ_INT(st.pending, 1);
    ASSERT_EQ_INT(st.stopping, 1);
    ASSERT_EQ_INT(st.failed, 2);
    ASSERT(!st.converged);
    /* a global service wants what the orchestrator wants running */
    struct docker_service gl = { .global = 1, .replicas = -1 };
    json_t *g = json_loads("[{\"ID\":\"x\",\"DesiredState\":\"running\",\"Status\":{\"State\":\"running\"}},"
                           " {\"ID\":\"y\",\"DesiredState\":\"running\",\"Status\":{\"State\":\"running\"}}]",
                           0, NULL);
    docker_svc_status_from(&gl, g, &st);
    ASSERT_EQ_INT(st.desired, 2);
    ASSERT(st.converged);
    json_decref(g);
    json_decref(tasks);
    /* service replies: replicated, global, and neither */
    struct docker_service out;
    char err[FL_ERR_LEN];
    json_t *j = json_loads("{\"ID\":\"s1\",\"Version\":{\"Index\":42},\"Spec\":{\"Name\":\"web\",\"Mode\":{\"Replicated\":{\"Replicas\":5}}}}", 0, NULL);
    ASSERT(docker_service_from_json(j, &out, err) == 0);
    ASSERT_EQ_STR(out.name, "web");
    ASSERT_EQ_INT(out.version, 42);
    ASSERT_EQ_INT(out.replicas, 5);
    json_decref(j);
    j = json_loads("{\"ID\":\"s2\",\"Spec\":{\"Name\":\"agent\",\"Mode\":{\"Global\":{}}}}", 0, NULL);
    ASSERT(docker_service_from_json(j, &out, err) == 0);
    ASSERT(out.global);
    json_decref(j);
    j = json_loads("{\"ID\":\"s3\",\"Spec\":{\"Name\":\"job\",\"Mode\":{\"ReplicatedJob\":{}}}}", 0, NULL);
    ASSERT(docker_service_from_json(j, &out, err) < 0);
    ASSERT_CONTAINS(err, "service 'job' has a mode faultline does not know");
    json_decref(j);
}
