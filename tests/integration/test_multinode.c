/* test_multinode.c -- two (three) Docker engines on one machine and a real multi-node swarm:
 * the test engine (the swarm's manager) and engines of the test's own, each a dockerd in
 * network, UTS and mount namespaces of its own joined as a worker (tests/multinode.{h,c,sh}).
 * swarm.drain moves tasks from the worker to the manager and is undone exactly; swarm.kill_task
 * kills a task on the worker through `engines:`; one plan breaks a container on each of two
 * engines and `faultline rollback` restores both after a SIGKILL; an N-1 matrix drains each of
 * two workers in turn. Every test ends by undoing its engines and checking that no process,
 * namespace, veth, mount, swarm node, service or folder of them is left; a keeper undoes them
 * when a test dies (checked too). The manager's availability is never changed; services are
 * placed on the test's nodes only. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docker_api.h"
#include "dockerfx.h"
#include "fault.h"
#include "harness.h"
#include "multinode.h"
#include "plan.h"
#include "probe.h"

TEST_FILE_USES("docker swarm"); /* workers joined to the swarm; services and drains on them */

extern const struct target_ops target_swarm;
extern const struct fault_ops fault_swarm_drain, fault_swarm_kill_task;
extern const struct probe_ops probe_service;

static struct docker_client dc;   /* the test engine: the swarm's manager */
static char self_node[72];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sname(char *out, size_t n, const char *tag)
{
    snprintf(out, n, "fl-mn-%d-%s", (int)getpid(), tag);
}

static struct docker_node node_of(const char *id)
{
    struct docker_node nd;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_node_inspect(&dc, id, &nd, NULL, err) == 0, "node %s: %s", id, err);
    return nd;
}

static struct docker_svc_status status(const char *ref) { return fx_svc_status(&dc, ref); }
static void converge(const char *ref, int64_t within_ms) { fx_converge(&dc, ref, within_ms); }

/* running tasks of a service that should run: on node (NULL: anywhere); the first one's
 * container and slot into container/slot when given */
static int running_on(const char *svc, const char *node, char container[72], int *slot)
{
    json_t *arr = NULL;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_task_list(&dc, svc, &arr, err) == 0, "tasks: %s", err);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        struct docker_task t;
        if (docker_task_from_json(it, &t, err) < 0 || strcmp(t.state, "running") || strcmp(t.desired, "running"))
            continue;
        if (node && strcmp(t.node_id, node)) continue;
        if (n == 0 && container) snprintf(container, 72, "%s", t.container_id);
        if (n == 0 && slot) *slot = t.slot;
        n++;
    }
    json_decref(arr);
    return n;
}

/* a hostbin service of the test (dockerfx), labelled for the engine's teardown, with
 * placement constraints (and at most max_per_node tasks a node when > 0) */
static void mk_service(const char *test, const char *name, int replicas, const struct mn_engine *e,
                       const char *const *constraints, int max_per_node, char id[72])
{
    char err[FL_ERR_LEN];
    json_t *spec = fx_service_spec(test, name, replicas, NULL);
    mn_label_service(spec, e);
    json_t *cons = json_array();
    for (size_t i = 0; constraints && constraints[i]; i++) json_array_append_new(cons, json_string(constraints[i]));
    json_t *placement = json_pack("{s:o}", "Constraints", cons);
    if (max_per_node > 0) json_object_set_new(placement, "MaxReplicas", json_integer(max_per_node));
    json_object_set_new(json_object_get(spec, "TaskTemplate"), "Placement", placement);
    /* the image by id: the same on every engine (copied with save/load), and never pulled */
    json_t *img = NULL;
    ASSERT_MSG(docker_call(&dc, "GET", "/images/hostbin/json", NULL, 0, NULL, &img, err) == 0, "hostbin: %s", err);
    json_object_set(json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"), "Image",
                    json_object_get(img, "Id"));
    json_decref(img);
    ASSERT_MSG(docker_service_create(&dc, spec, id, err) == 0, "create service %s: %s", name, err);
    json_decref(spec);
}

/* constraints that keep a service off every node but the manager and the given ones */
static char **only_nodes(const char *const *mine)
{
    json_t *arr = NULL;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_call(&dc, "GET", "/nodes", NULL, 0, NULL, &arr, err) == 0, "nodes: %s", err);
    char **out = calloc(json_array_size(arr) + 1, sizeof *out);
    size_t n = 0, i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        const char *id = json_string_value(json_object_get(it, "ID"));
        int ours = !strcmp(id, self_node);
        for (size_t k = 0; mine && mine[k]; k++) ours |= !strcmp(id, mine[k]);
        if (!ours) out[n++] = fl_asprintf("node.id!=%s", id);
    }
    json_decref(arr);
    return out;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

/* a rolling replacement of every task (Spec.TaskTemplate.ForceUpdate + 1): Swarm places them
 * afresh, spread over the nodes again */
static void force_update(const char *svc)
{
    char err[FL_ERR_LEN], path[160];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/services/%s", svc);
    ASSERT_MSG(docker_call(&dc, "GET", path, NULL, 0, NULL, &j, err) == 0, "inspect: %s", err);
    json_t *spec = json_object_get(j, "Spec"), *tt = json_object_get(spec, "TaskTemplate");
    json_object_set_new(tt, "ForceUpdate", json_integer(json_integer_value(json_object_get(tt, "ForceUpdate")) + 1));
    char *body = json_dumps(spec, JSON_COMPACT);
    snprintf(path, sizeof path, "/services/%s/update?version=%lld", svc,
             (long long)json_integer_value(json_object_get(json_object_get(j, "Version"), "Index")));
    ASSERT_MSG(docker_call(&dc, "POST", path, body, 0, NULL, NULL, err) == 0, "update: %s", err);
    free(body);
    json_decref(j);
}

static struct target *target(struct fx *f, const char *name, const char *spec, int pick_count, uint64_t seed)
{
    char e[FL_ERR_LEN];
    struct target *t = fx_target_try(f, &target_swarm, name, spec, pick_count, seed, e);
    ASSERT_MSG(t, "target %s: %s", spec, e);
    ASSERT_MSG(target_swarm.open(t, &f->ctx, e) == 0, "open %s: %s", name, e);
    return t;
}

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static json_t *find_named(json_t *arr, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
        if (jstr(it, "name") && !strcmp(jstr(it, "name"), name)) return it;
    ASSERT_MSG(0, "no entry named %s", name);
    return NULL;
}

static json_t *load_json(const char *dir, const char *rel)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    json_t *j = json_load_file(path, 0, NULL);
    ASSERT_MSG(j, "no JSON at %s", path);
    return j;
}

/* ---- the fixture ------------------------------------------------------------------------------ */

TEST_T(multinode_a_second_engine_joins_as_a_worker_and_leaves_no_trace, 120)
{
    fx_swarm(&dc, self_node);
    struct mn_engine w;
    mn_up(&w, 1, MN_JOIN, NULL);
    char err[FL_ERR_LEN], id[72], mgr_node[72];
    int manager = 1;

    /* an engine of its own: its name, root, driver, swarm role */
    json_t *info = NULL;
    ASSERT_MSG(docker_call(&w.dc, "GET", "/info", NULL, 0, NULL, &info, err) == 0, "info: %s", err);
    ASSERT_EQ_STR(jstr(info, "Name"), w.name);
    char want[160];
    snprintf(want, sizeof want, "%s/root", w.dir);
    ASSERT_EQ_STR(jstr(info, "DockerRootDir"), want);
    ASSERT_EQ_STR(jstr(info, "Driver"), "vfs");
    json_decref(info);
    ASSERT_MSG(docker_swarm_self(&w.dc, mgr_node, &manager, err) == 0, "%s", err);
    ASSERT_EQ_STR(mgr_node, w.node_id);
    ASSERT_EQ_INT(manager, 0);
    /* the manager sees a second node: a worker, ready, active, by the worker's hostname */
    struct docker_node nd = node_of(w.node_id);
    ASSERT_EQ_STR(nd.hostname, w.name);
    ASSERT_EQ_STR(nd.role, "worker");
    ASSERT_EQ_STR(nd.state, "ready");
    ASSERT_EQ_STR(nd.availability, "active");
    ASSERT_EQ_STR(node_of(self_node).role, "manager");
    /* the same image as the test engine's (copied, not rebuilt) */
    json_t *a = NULL, *b = NULL;
    ASSERT_MSG(docker_call(&dc, "GET", "/images/hostbin/json", NULL, 0, NULL, &a, err) == 0, "%s", err);
    ASSERT_MSG(docker_call(&w.dc, "GET", "/images/hostbin/json", NULL, 0, NULL, &b, err) == 0, "%s", err);
    ASSERT_EQ_STR(jstr(b, "Id"), jstr(a, "Id"));
    json_decref(a);
    json_decref(b);

    /* its containers live in its namespace: --network host there is the veth, not eth0 */
    char *argv[] = { "/bin/sleep", "300", NULL };
    char cname[96];
    sname(cname, sizeof cname, "probe");
    fx_container(&w.dc, "multinode", cname, argv, NULL, NULL, NULL, NULL, 1, id);
    char *cat[] = { "/bin/cat", "/proc/net/dev", NULL };
    int code = -1;
    struct buf out;
    buf_init(&out, 65536);
    ASSERT_MSG(docker_exec(&w.dc, id, cat, 10000, &code, &out, err) == 0, "exec: %s", err);
    ASSERT_EQ_INT(code, 0);
    ASSERT_CONTAINS(out.data, "fl0:");
    ASSERT_MSG(!strstr(out.data, "eth0:"), "the worker's container sees this machine's eth0:\n%s", out.data);
    buf_release(&out);
    struct docker_cstate cs;
    ASSERT_MSG(docker_inspect(&dc, id, &cs, NULL, err) < 0, "the container is on the test engine too");

    mn_down(&w);   /* left the swarm, node removed, dockerd stopped ... and nothing left */
    ASSERT_MSG(docker_node_inspect(&dc, w.node_id, &nd, NULL, err) < 0, "node %s still in the swarm", w.node_id);
    ASSERT_EQ_STR(node_of(self_node).availability, "active");
    printf("    worker %s: up and joined in %.2fs, undone in %.2fs\n", w.name, w.ready_s, w.down_s);
    docker_client_release(&dc);
}

/* the test dies (SIGKILL) with its worker joined: the keeper undoes everything, and holds the
 * swarm lock until then */
TEST_T(multinode_the_keeper_undoes_a_worker_whose_test_died, 120)
{
    int p[2];
    ASSERT(pipe(p) == 0);
    pid_t child = fork();
    ASSERT(child >= 0);
    if (child == 0) {
        close(p[0]);
        fx_swarm(&dc, self_node);
        struct mn_engine w;
        mn_up(&w, 7, MN_JOIN, NULL);
        char msg[256];
        int n = snprintf(msg, sizeof msg, "%s %s\n", w.dir, w.node_id);
        if (write(p[1], msg, (size_t)n) != n) _exit(1);
        raise(SIGKILL);
        _exit(1);
    }
    close(p[1]);
    char msg[256] = "";
    ssize_t n = read(p[0], msg, sizeof msg - 1);
    close(p[0]);
    int st = 0;
    waitpid(child, &st, 0);
    ASSERT_MSG(n > 0, "the child never had its worker up (exit status %d)", st);
    ASSERT_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the child did not die by SIGKILL");
    msg[n] = '\0';
    char dir[128], node[72];
    ASSERT_EQ_INT(sscanf(msg, "%127s %71s", dir, node), 2);
    /* the keeper is at work: the lock is its until the node has left */
    int64_t t0 = now_ms();
    fx_swarm(&dc, self_node);
    int64_t waited = now_ms() - t0;
    char err[FL_ERR_LEN];
    struct docker_node nd;
    ASSERT_MSG(docker_node_inspect(&dc, node, &nd, NULL, err) < 0, "node %s still in the swarm after its keeper", node);
    /* the keeper ends its teardown right after it lets the lock go: allow it a moment */
    char out[4096];
    int rc = 1;
    for (int i = 0; i < 100 && rc != 0; i++) {
        rc = th_sh(out, sizeof out, "sh tests/multinode.sh check '%s' 2>&1", dir);
        if (rc) usleep(100 * 1000);
    }
    ASSERT_MSG(rc == 0, "%s", out);
    printf("    the keeper undid %s; this test had the swarm lock %.1fs after the other died (the keeper held it "
           "until the node was gone; other runs' swarm tests may have had it too)\n", dir, waited / 1000.0);
    docker_client_release(&dc);
}

/* ---- swarm.drain of the worker ------------------------------------------------------------------- */

TEST_T(multinode_drain_moves_the_workers_tasks_to_the_manager, 180)
{
    fx_swarm(&dc, self_node);
    fx_sweep_services(&dc, "mn-drain");
    struct mn_engine w;
    mn_up(&w, 1, MN_JOIN, NULL);
    char name[64], id[72], err[FL_ERR_LEN], spec[256];
    sname(name, sizeof name, "drain");
    const char *mine[] = { w.node_id, NULL };
    char **cons = only_nodes(mine);
    mk_service("mn-drain", name, 2, &w, (const char *const *)cons, 0, id);
    free_strv(cons);
    converge(id, 30000);
    /* Swarm spreads the two tasks: one on each node */
    ASSERT_EQ_INT(running_on(id, w.node_id, NULL, NULL), 1);
    ASSERT_EQ_INT(running_on(id, self_node, NULL, NULL), 1);

    struct fx f;
    fx_init(&f, 4242);
    snprintf(spec, sizeof spec, "service: %s", name);
    target(&f, "web", spec, 0, 0);
    snprintf(spec, sizeof spec, "service: %s, node: \"%s\"", name, w.name);
    struct target *onw = target(&f, "onw", spec, 0, 0);
    const struct swarm_target *st = onw->cfg;
    ASSERT_EQ_INT(st->view.nnodes, 1);
    ASSERT_EQ_STR(st->view.node_names[0], w.name);

    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_swarm_drain, onw, "converge_within: 30s");
    ASSERT_MSG(fault_swarm_drain.prepare(&fi, err) == 0, "prepare: %s", err);
    int64_t t0 = now_ms();
    ASSERT_MSG(fault_swarm_drain.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_STR(node_of(w.node_id).availability, "drain");
    ASSERT_EQ_STR(node_of(self_node).availability, "active");
    /* its task moves: both run on the manager, converged */
    int64_t moved = -1;
    while (now_ms() - t0 < 30000) {
        struct docker_svc_status s = status(id);
        if (s.converged && running_on(id, self_node, NULL, NULL) == 2) {
            moved = now_ms() - t0;
            break;
        }
        usleep(100 * 1000);
    }
    ASSERT_MSG(moved >= 0, "the drained worker's task did not move to the manager within 30s");
    ASSERT_EQ_INT(running_on(id, w.node_id, NULL, NULL), 0);
    /* the service probe sees the service whole again, on the other node */
    struct probe_obs obs;
    ASSERT_MSG(fx_probe(&f, &probe_service, "target: web, expect: converged", 0, &obs, err) == 0, "%s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "observed %s", obs.observed);
    ASSERT_EQ_STR(obs.observed, "2/2 running, converged, 0 restarts");
    ASSERT_MSG(fx_probe(&f, &probe_service, "target: web, expect: \"running == 2\"", 0, &obs, err) == 0, "%s", err);
    ASSERT(obs.outcome == PROBE_PASSED);
    struct buf b;
    buf_init(&b, 4096);
    fault_swarm_drain.describe(&fi, &b);
    char want[160];
    snprintf(want, sizeof want, "drained %s (was active)", w.name);
    ASSERT_CONTAINS(b.data, want);
    buf_release(&b);
    ASSERT_MSG(fault_swarm_drain.revert(&fi, err) == 0, "revert: %s", err);
    ASSERT_EQ_STR(node_of(w.node_id).availability, "active");   /* exactly what was found */
    ASSERT_EQ_STR(node_of(self_node).availability, "active");
    /* Swarm does not move tasks back when a node returns: both stay on the manager */
    ASSERT(status(id).converged);
    ASSERT_EQ_INT(running_on(id, self_node, NULL, NULL), 2);
    fx_fault_release(&fi);
    printf("    drain of %s: its task ran on the manager, converged, %.1fs after the inject\n", w.name, moved / 1000.0);

    /* a worker found paused goes back to pause, not active -- also from the journal record
     * alone, as `faultline rollback` reverts; first its task back on it (a forced update) */
    force_update(id);
    int64_t until = now_ms() + 30000;
    while (!(status(id).converged && running_on(id, w.node_id, NULL, NULL) >= 1) && now_ms() < until) usleep(100000);
    ASSERT_MSG(running_on(id, w.node_id, NULL, NULL) >= 1, "the forced update placed no task on the worker again");
    ASSERT_MSG(docker_node_set_availability(&dc, w.node_id, "pause", NULL, NULL, err) == 0, "%s", err);
    fx_fault(&f, &fi, &fault_swarm_drain, onw, "converge_within: 30s");
    ASSERT_MSG(fault_swarm_drain.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_STR(node_of(w.node_id).availability, "drain");
    json_t *rec = fault_swarm_drain.save(&fi);
    ASSERT_EQ_STR(jstr(json_array_get(json_object_get(rec, "items"), 0), "prior_availability"), "pause");
    fx_fault_release(&fi); /* the runner died: nobody reverts */
    ASSERT_EQ_STR(node_of(w.node_id).availability, "drain");
    buf_init(&b, 4096);
    ASSERT_MSG(fault_reconcile_rec(&fault_swarm_drain, rec, &f.ctx, &b, err) == 0, "reconcile: %s", err);
    json_decref(rec);
    snprintf(want, sizeof want, "node %s: was pause, found drain: set back to pause", w.name);
    ASSERT_CONTAINS(b.data, want);
    buf_release(&b);
    ASSERT_EQ_STR(node_of(w.node_id).availability, "pause");
    ASSERT_EQ_STR(node_of(self_node).availability, "active");
    converge(id, 30000);
    ASSERT_EQ_INT(running_on(id, self_node, NULL, NULL), 2);

    fx_release(&f);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    mn_down(&w);
    docker_client_release(&dc);
}

/* ---- swarm.kill_task on the worker through engines: ------------------------------------------------- */

TEST_T(multinode_kill_task_on_the_worker_through_engines, 180)
{
    fx_swarm(&dc, self_node);
    fx_sweep_services(&dc, "mn-kill");
    struct mn_engine w;
    mn_up(&w, 1, MN_JOIN, NULL);
    char name[64], id[72], err[FL_ERR_LEN], spec[512], pin[128];
    sname(name, sizeof name, "kill");
    snprintf(pin, sizeof pin, "node.id==%s", w.node_id);
    const char *cons[] = { pin, NULL };
    mk_service("mn-kill", name, 2, &w, cons, 0, id);
    converge(id, 30000);
    ASSERT_EQ_INT(running_on(id, w.node_id, NULL, NULL), 2);
    int64_t failed0 = status(id).failed;

    /* without engines: the manager cannot reach the worker's containers: refused, nothing killed */
    struct fx f;
    fx_init(&f, 4242);
    snprintf(spec, sizeof spec, "service: %s", name);
    struct target *blind = target(&f, "blind", spec, 1, 5);
    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_swarm_kill_task, blind, "converge_within: 30s");
    ASSERT(fault_swarm_kill_task.inject(&fi, err) < 0);
    char want[256];
    snprintf(want, sizeof want, "runs on node '%s', whose engine this target cannot reach: add it to engines:", w.name);
    ASSERT_CONTAINS(err, want);
    fx_fault_release(&fi);
    ASSERT_EQ_INT(running_on(id, w.node_id, NULL, NULL), 2);
    ASSERT_EQ_INT(status(id).failed, failed0);

    /* with engines: the task's container is killed on the worker's engine */
    snprintf(spec, sizeof spec, "service: %s, engines: { \"%s\": \"%s\" }", name, w.name, w.host);
    struct target *t = target(&f, "web", spec, 1, 5);
    const struct swarm_task_ref picked = ((const struct swarm_target *)t->cfg)->view.tasks[0];
    ASSERT_EQ_STR(picked.node_id, w.node_id);
    fx_fault(&f, &fi, &fault_swarm_kill_task, t, "converge_within: 30s");
    ASSERT_MSG(fault_swarm_kill_task.inject(&fi, err) == 0, "inject: %s", err);
    struct docker_cstate cs;
    ASSERT_MSG(docker_inspect(&w.dc, picked.container_id, &cs, NULL, err) == 0, "on the worker: %s", err);
    ASSERT_MSG(cs.state != DS_RUNNING, "the killed container is %s", docker_state_name(cs.state));
    ASSERT_EQ_INT(cs.exit_code, 137);
    ASSERT_MSG(docker_inspect(&dc, picked.container_id, &cs, NULL, err) < 0, "the task's container is on the manager");
    ASSERT_MSG(fault_swarm_kill_task.revert(&fi, err) == 0, "revert: %s", err);
    struct docker_svc_status s = status(id);
    ASSERT_MSG(s.converged && s.running == 2, "after revert: %lld/%lld", (long long)s.running, (long long)s.desired);
    ASSERT_EQ_INT(s.failed, failed0 + 1);
    ASSERT_EQ_INT(running_on(id, w.node_id, NULL, NULL), 2);   /* replaced on the worker */
    struct buf b;
    buf_init(&b, 4096);
    fault_swarm_kill_task.describe(&fi, &b);
    ASSERT_CONTAINS(b.data, picked.name);
    const char *again = strstr(b.data, "converged again ");
    ASSERT_MSG(again, "no recovery time in: %s", b.data);
    printf("    kill_task on %s (driver): %s\n", w.name, again);
    buf_release(&b);
    fx_fault_release(&fi);
    fx_release(&f);

    /* the same through a plan: the recovery probe measures from the kill to converged again */
    const char *dir = th_tmpdir();
    char plan[4096], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\n"
             "name: multinode-kill\n"
             "duration: 10s\n"
             "targets:\n"
             "  web: { swarm: { service: %s, host: \"%s\", engines: { \"%s\": \"%s\" } }, pick: { count: 1, seed: 3 } }\n"
             "steady_state:\n"
             "  - service: { target: web }\n"
             "method:\n"
             "  - { name: kill, at: 300ms, fault: swarm.kill_task, target: web, for: 8s, converge_within: 30s }\n"
             "probes:\n"
             "  - name: back\n"
             "    recovery:\n"
             "      from: kill\n"
             "      start: inject\n"
             "      until: { service: { target: web, expect: converged } }\n"
             "      every: 100ms\n"
             "      stable: 3\n"
             "      within: 20s\n",
             name, th_docker_host(), w.name, w.host);
    fx_write_file(dir, "plan.yaml", plan);
    int rc = fx_fl(dir, "run plan.yaml -o report --journal journal.jsonl", out, sizeof out);
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    json_t *run = load_json(dir, "report/run.json");
    json_t *kill = find_named(json_object_get(run, "steps"), "kill");
    ASSERT_EQ_STR(jstr(kill, "status"), "reverted");
    ASSERT_CONTAINS(jstr(kill, "description"), "killed ");
    json_t *back = find_named(json_object_get(run, "probes"), "back");
    ASSERT_EQ_STR(jstr(back, "verdict"), "passed");
    json_t *obs = json_object_get(back, "observations");
    json_t *last = json_array_get(obs, json_array_size(obs) - 1);
    double rec_ms = json_number_value(json_object_get(last, "value"));
    ASSERT_MSG(rec_ms > 0 && rec_ms < 20000, "recovery %.0f ms", rec_ms);
    printf("    kill_task on %s (plan): the recovery probe saw it converged again %.1fs after the kill\n", w.name,
           rec_ms / 1000.0);
    json_decref(run);
    s = status(id);
    ASSERT_MSG(s.converged && s.running == 2, "after the run: %lld/%lld", (long long)s.running, (long long)s.desired);
    ASSERT_EQ_INT(s.failed, failed0 + 2);
    ASSERT_EQ_INT(running_on(id, w.node_id, NULL, NULL), 2);

    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    mn_down(&w);
    docker_client_release(&dc);
}

/* ---- one plan, two engines: write-ahead rollback after SIGKILL ---------------------------------------- */

static const char *cstate(struct docker_client *c, const char *id)
{
    struct docker_cstate st;
    char err[FL_ERR_LEN];
    if (docker_inspect(c, id, &st, NULL, err) < 0) return "gone";
    return docker_state_name(st.state);
}

TEST_T(multinode_plan_on_two_engines_rolls_back_both_after_sigkill, 150)
{
    const char *host = th_docker_host();
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_client_init(&dc, host, err) == 0, "client: %s", err);
    ASSERT_MSG(docker_negotiate(&dc, err) == 0, "negotiate: %s", err);
    fx_sweep_containers(&dc, "multinode");
    struct mn_engine w;
    mn_up(&w, 1, 0, NULL);   /* a second engine; no swarm needed */
    char a_name[96], b_name[96], a[72], b[72];
    sname(a_name, sizeof a_name, "on-a");
    sname(b_name, sizeof b_name, "on-b");
    char *argv[] = { "/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done", NULL };
    fx_container(&dc, "multinode", a_name, argv, NULL, NULL, NULL, NULL, 1, a);
    fx_container(&w.dc, "multinode", b_name, argv, NULL, NULL, NULL, NULL, 1, b);
    ASSERT_EQ_STR(cstate(&dc, b_name), "gone");   /* each on its own engine only */
    ASSERT_EQ_STR(cstate(&w.dc, a_name), "gone");

    const char *dir = th_tmpdir();
    char plan[4096], out[65536];
    snprintf(plan, sizeof plan,
             "faultline: 1\n"
             "name: two-engines\n"
             "duration: 60s\n"
             "targets:\n"
             "  a: { docker: { container: %s, host: \"%s\" } }\n"
             "  b: { docker: { container: %s, host: \"%s\" } }\n"
             "method:\n"
             "  - { name: a-down, at: 100ms, for: 50s, fault: docker.stop, target: a, grace: 2s }\n"
             "  - { name: b-frozen, at: 100ms, for: 50s, fault: docker.pause, target: b }\n",
             a_name, host, b_name, w.host);
    fx_write_file(dir, "p.yaml", plan);
    char *args[] = { "run", "p.yaml", "-o", "out", NULL };
    pid_t pid = fx_fl_start(dir, NULL, args);
    int64_t until = now_ms() + 30000;
    while (!(strcmp(cstate(&dc, a), "exited") == 0 && strcmp(cstate(&w.dc, b), "paused") == 0 &&
             fx_journal_count(dir, "done") == 2)) {
        int st;
        ASSERT_MSG(waitpid(pid, &st, WNOHANG) == 0, "faultline ended early: %s", fx_slurp(dir, "run.txt"));
        ASSERT_MSG(now_ms() < until, "the faults did not land within 30s: a %s, b %s", cstate(&dc, a), cstate(&w.dc, b));
        usleep(20 * 1000);
    }
    kill(pid, SIGKILL);
    ASSERT_EQ_INT(fx_fl_wait(pid, 5000), 128 + SIGKILL);
    usleep(300 * 1000);
    ASSERT_EQ_STR(cstate(&dc, a), "exited");   /* nobody reverted */
    ASSERT_EQ_STR(cstate(&w.dc, b), "paused");

    /* the journal holds, before each effect, the engine each step acts on */
    char *j = fx_slurp(dir, "journal.jsonl");
    int intents = 0, on_b = 0;
    for (char *save = NULL, *line = strtok_r(j, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *r = json_loads(line, 0, NULL);
        if (r && !strcmp(jstr(r, "op") ?: "", "intent")) {
            intents++;
            if (!strcmp(jstr(r, "step") ?: "", "b-frozen")) on_b = !strcmp(jstr(json_object_get(r, "rec"), "host") ?: "", w.host);
        }
        json_decref(r);
    }
    free(j);
    ASSERT_EQ_INT(intents, 2);
    ASSERT_MSG(on_b, "the intent of b-frozen does not name engine %s", w.host);

    int rc = fx_fl(dir, "run p.yaml -o out2", out, sizeof out);
    ASSERT_MSG(rc == 2, "a run after the crash must refuse (2), got %d: %s", rc, out);
    rc = fx_fl(dir, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "rollback exited %d: %s", rc, out);
    char want[200];
    snprintf(want, sizeof want, "container %s: was running, found exited: started", a_name);
    ASSERT_CONTAINS(out, want);
    snprintf(want, sizeof want, "container %s: was running, found paused: unpaused", b_name);
    ASSERT_CONTAINS(out, want);
    ASSERT_EQ_STR(cstate(&dc, a), "running");
    ASSERT_EQ_STR(cstate(&w.dc, b), "running");
    rc = fx_fl(dir, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "second rollback exited %d: %s", rc, out);
    ASSERT_CONTAINS(out, "nothing to roll back");
    ASSERT_EQ_STR(cstate(&dc, a), "running");
    ASSERT_EQ_STR(cstate(&w.dc, b), "running");

    ASSERT_MSG(docker_remove(&dc, a, err) == 0, "%s", err);
    mn_down(&w);
    docker_client_release(&dc);
}

/* ---- N-1 over two nodes: drain each worker in turn ------------------------------------------------------ */

TEST_T(multinode_n1_matrix_drains_each_worker_in_turn, 300)
{
    const char *host = th_docker_host();
    fx_swarm(&dc, self_node);
    fx_sweep_services(&dc, "mn-matrix");
    char label[64], cons[96];
    snprintf(label, sizeof label, "faultline.test.mn=%d", (int)getpid());
    snprintf(cons, sizeof cons, "node.labels.faultline.test.mn==%d", (int)getpid());
    struct mn_engine w1, w2;
    mn_up(&w1, 1, MN_JOIN, label);
    mn_up(&w2, 2, MN_JOIN, label);
    char name[64], id[72], err[FL_ERR_LEN];
    sname(name, sizeof name, "matrix");
    /* on the two workers only, one task each: a node that comes back gets its task back, so
     * every combination starts from the same placement (Swarm never moves a task back) */
    const char *c[] = { cons, NULL };
    mk_service("mn-matrix", name, 2, &w1, c, 1, id);
    converge(id, 30000);
    ASSERT_EQ_INT(running_on(id, w1.node_id, NULL, NULL), 1);
    ASSERT_EQ_INT(running_on(id, w2.node_id, NULL, NULL), 1);

    const char *dir = th_tmpdir();
    char plan[4096], out[32768];
    for (int choose = 1; choose <= 2; choose++) {
        snprintf(plan, sizeof plan,
                 "faultline: 1\n"
                 "name: multinode-n%d\n"
                 "duration: 5s\n"
                 "targets:\n"
                 "  all: { swarm: { service: %s, host: \"%s\" } }\n"
                 "  w1: { swarm: { service: %s, node: \"%s\", host: \"%s\" } }\n"
                 "  w2: { swarm: { service: %s, node: \"%s\", host: \"%s\" } }\n"
                 "matrix: { lose: [w1, w2], choose: %d }\n"
                 "steady_state:\n"
                 "  - service: { target: all }\n"
                 "method:\n"
                 "  - { name: drain, at: 300ms, fault: swarm.drain, target: \"${lose}\", for: 2500ms, converge_within: 30s }\n"
                 "probes:\n"
                 "  - { name: serving, during: drain, every: 200ms, service: { target: all, expect: \"running >= 1\" } }\n"
                 "  - name: back\n"
                 "    recovery:\n"
                 "      from: drain\n"
                 "      start: inject\n"
                 "      until: { service: { target: all, expect: converged } }\n"
                 "      every: 100ms\n"
                 "      stable: 2\n"
                 "      within: 20s\n",
                 choose, name, host, name, w1.name, host, name, w2.name, host, choose);
        char pf[32], od[32];
        snprintf(pf, sizeof pf, "n%d.yaml", choose);
        snprintf(od, sizeof od, "out%d", choose);
        fx_write_file(dir, pf, plan);
        int rc = th_sh(out, sizeof out, "cd '%s' && '%s' run %s -o %s --journal j%d.jsonl 2>&1", dir, th_faultline(), pf,
                       od, choose);
        char rel[64];
        snprintf(rel, sizeof rel, "%s/matrix.json", od);
        json_t *m = load_json(dir, rel);
        json_t *rows = json_object_get(m, "matrix");
        if (choose == 1) {
            ASSERT_MSG(rc == 0, "N-1 must hold: exit %d\n%s", rc, out);
            ASSERT_CONTAINS(out, "N-1 holds");
            ASSERT_EQ_STR(jstr(m, "overall"), "N-1 holds");
            ASSERT_EQ_INT(json_array_size(rows), 2);
            const char *lost[] = { "w1", "w2" };
            const struct mn_engine *eng[] = { &w1, &w2 };
            for (size_t i = 0; i < 2; i++) {
                json_t *row = json_array_get(rows, i);
                ASSERT_EQ_STR(jstr(row, "lose"), lost[i]);
                ASSERT_EQ_STR(jstr(row, "verdict"), "passed");
                ASSERT(json_is_true(json_object_get(row, "recovered")));
                /* whole again only after the drain (2.5 s) ended: its task had nowhere else to go */
                double rec_ms = json_number_value(json_object_get(row, "recovery_ms"));
                ASSERT_MSG(rec_ms > 2500 && rec_ms < 20000, "lose %s: whole again %.0f ms after the drain began", lost[i],
                           rec_ms);
                snprintf(rel, sizeof rel, "%s/lose-%s/run.json", od, lost[i]);
                json_t *run = load_json(dir, rel);
                json_t *step = json_array_get(json_object_get(run, "steps"), 0);
                char want[160];
                snprintf(want, sizeof want, "drained %s (was active)", eng[i]->name);
                ASSERT_CONTAINS(jstr(step, "description"), want);
                ASSERT_EQ_STR(jstr(step, "status"), "reverted");
                json_t *serving = find_named(json_object_get(run, "probes"), "serving");
                ASSERT_EQ_STR(jstr(serving, "verdict"), "passed");
                ASSERT(json_integer_value(json_object_get(serving, "checks")) >= 5);
                /* and it saw the loss: one task short while the node was drained */
                json_t *obs = json_object_get(serving, "observations");
                int short_one = 0;
                for (size_t k = 0; k < json_array_size(obs); k++)
                    short_one |= strstr(jstr(json_array_get(obs, k), "observed") ?: "", "1/2 running") != NULL;
                ASSERT_MSG(short_one, "lose %s: no check saw 1/2 running", lost[i]);
                printf("    lose %s: 1 of 2 tasks served throughout; whole again %.1fs after the drain began (it held 2.5s)\n",
                       eng[i]->name, rec_ms / 1000.0);
                json_decref(run);
            }
            char *md = fx_slurp(dir, "out1/contingency.md");
            ASSERT_CONTAINS(md, "**N-1 holds** (2 of 2 combinations survived)");
            ASSERT_CONTAINS(md, "| w1 | passed |");
            ASSERT_CONTAINS(md, "| w2 | passed |");
            free(md);
        } else {
            /* both nodes at once: nowhere to run, the contingency table says so */
            ASSERT_MSG(rc == 1, "N-2 must fail: exit %d\n%s", rc, out);
            ASSERT_CONTAINS(out, "N-2 fails at: w1+w2");
            ASSERT_EQ_INT(json_array_size(rows), 1);
            json_t *row = json_array_get(rows, 0);
            ASSERT_EQ_STR(jstr(row, "verdict"), "failed");
            ASSERT_CONTAINS(jstr(row, "why"), "serving");
        }
        json_decref(m);
        /* every revert exact: both workers active again, the service whole, one task each */
        ASSERT_EQ_STR(node_of(w1.node_id).availability, "active");
        ASSERT_EQ_STR(node_of(w2.node_id).availability, "active");
        converge(id, 30000);
        ASSERT_EQ_INT(running_on(id, w1.node_id, NULL, NULL), 1);
        ASSERT_EQ_INT(running_on(id, w2.node_id, NULL, NULL), 1);
    }
    ASSERT_EQ_STR(node_of(self_node).availability, "active");
    ASSERT_EQ_INT(running_on(id, self_node, NULL, NULL), 0);
    ASSERT_MSG(docker_service_remove(&dc, id, err) == 0, "%s", err);
    mn_down(&w2);
    mn_down(&w1);
    docker_client_release(&dc);
}
