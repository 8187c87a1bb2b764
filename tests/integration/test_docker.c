/* test_docker.c -- the docker target, docker.* faults and the container probe against a
 * real dockerd (scripts/dockerd-up.sh): containers from the empty `hostbin` image run host
 * programs (redis-server, postgres) through read-only bind mounts and --network host. */
#include <errno.h>
#include <grp.h>
#include <hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_api.h"
#include "dockerfx.h"
#include "fault.h"
#include "harness.h"
#include "plan.h"
#include "probe.h"

TEST_FILE_USES("docker"); /* containers of its own (labelled, swept by pid); pause/stop work of the engine */

extern const struct target_ops target_docker;
extern const struct fault_ops fault_docker_stop, fault_docker_kill, fault_docker_pause, fault_docker_restart,
    fault_docker_exec;
extern const struct probe_ops probe_container;

/* ---- fixtures ---------------------------------------------------------------------------------- */

static struct docker_client dc;

static void client(void)
{
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_client_init(&dc, th_docker_host(), err) == 0, "client: %s", err);
    ASSERT_MSG(docker_negotiate(&dc, err) == 0, "negotiate: %s", err);
}

static void sweep(const char *test) { fx_sweep_containers(&dc, test); }

static void cname(char *out, size_t n, const char *tag)
{
    snprintf(out, n, "fl-test-%d-%s", (int)getpid(), tag);
}

static void mk_container(const char *test, const char *name, char *const *argv, const char *user, const char *rw_dir,
                         json_t *labels, json_t *healthcheck, int start, char id[72])
{
    fx_container(&dc, test, name, argv, user, rw_dir, labels, healthcheck, start, id);
}

static int redis_ping(int port) { return fx_redis_ping(port, 1000); }

/* a string reply of one command, "" for nil */
static void redis_get(int port, const char *key, char *out, size_t n)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    ASSERT(c && !c->err);
    redisReply *r = redisCommand(c, "GET %s", key);
    ASSERT(r);
    snprintf(out, n, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
}

static void mk_redis(const char *test, const char *name, int port, json_t *labels, json_t *hc, char id[72])
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    char *argv[] = { "/usr/bin/redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     NULL };
    mk_container(test, name, argv, NULL, NULL, labels, hc, 1, id);
    fx_wait_pong(port);
}

/* sleeps, for selector tests: created only, never started */
static void mk_idle(const char *test, const char *name, json_t *labels, char id[72])
{
    char *argv[] = { "/bin/sleep", "600", NULL };
    mk_container(test, name, argv, NULL, NULL, labels, NULL, 0, id);
}

static struct docker_cstate inspect(const char *id)
{
    struct docker_cstate st;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_inspect(&dc, id, &st, NULL, err) == 0, "inspect: %s", err);
    return st;
}

/* the plan fixture (dockerfx.h) for docker targets */
static struct target *target_try(struct fx *f, const char *name, const char *spec, char *diagtext)
{
    return fx_target_try(f, &target_docker, name, spec, 0, 0, diagtext);
}

static struct target *target(struct fx *f, const char *name, const char *spec)
{
    char e[FL_ERR_LEN];
    struct target *t = target_try(f, name, spec, e);
    ASSERT_MSG(t, "target %s: %s", spec, e);
    return t;
}

static int open_t(struct fx *f, struct target *t, char *err) { return target_docker.open(t, &f->ctx, err); }

/* run the container probe once; returns check()'s result, obs filled */
static int probe(struct fx *f, const char *params, struct probe_obs *obs, char *err)
{
    return fx_probe(f, &probe_container, params, 1, obs, err);
}

/* A running Redis container (on *port, or a free one when 0) and target 'cache' naming it,
 * opened: the common start of the fault tests. rig_release() undoes it. */
static struct target *redis_rig(struct fx *f, const char *test, json_t *hc, char name[64], char id[72], int *port)
{
    char err[FL_ERR_LEN], spec[128];
    client();
    sweep(test);
    if (!*port) *port = th_free_port();
    cname(name, 64, test);
    mk_redis(test, name, *port, NULL, hc, id);
    fx_init(f, 12345);
    snprintf(spec, sizeof spec, "container: %s", name);
    struct target *t = target(f, "cache", spec);
    ASSERT_MSG(open_t(f, t, err) == 0, "open: %s", err);
    return t;
}

static void rig_release(struct fx *f, const char *id)
{
    char err[FL_ERR_LEN];
    fx_release(f);
    docker_remove(&dc, id, err);
    docker_client_release(&dc);
}

/* ---- transport and errors -------------------------------------------------------------------------- */

TEST(docker_socket_missing_names_the_path)
{
    struct docker_client c;
    char err[FL_ERR_LEN];
    ASSERT(docker_client_init(&c, "unix:///nonexistent/fl/docker.sock", err) == 0);
    ASSERT(docker_negotiate(&c, err) == -1);
    ASSERT_CONTAINS(err, "daemon not reachable at '/nonexistent/fl/docker.sock'");
    ASSERT_CONTAINS(err, "no such socket");
    docker_client_release(&c);

    /* the target's open() reports the same, before anything is touched */
    struct fx f;
    fx_init(&f, 12345);
    struct node *n = fx_yaml(&f, "{ host: \"unix:///nonexistent/fl/docker.sock\", container: db }");
    struct target t = { .name = "db", .ops = &target_docker, .spec = n };
    struct diag d;
    diag_init(&d, "test");
    ASSERT(target_docker.parse(&f.pc, &t, n, &d) == 0);
    diag_release(&d);
    ASSERT(target_docker.open(&t, &f.ctx, err) == -1);
    ASSERT_CONTAINS(err, "cannot resolve target 'db': docker: daemon not reachable at '/nonexistent/fl/docker.sock'");
    /* the probe could not check: -1, not an unhealthy observation */
    f.targets[f.ntargets++] = &t;
    struct probe_obs obs;
    ASSERT_EQ_INT(probe(&f, "target: db", &obs, err), -1);
    ASSERT_CONTAINS(err, "daemon not reachable at '/nonexistent/fl/docker.sock'");
    f.ntargets = 0;
    target_docker.free(&t);
    fx_release(&f);
}

TEST(docker_refused_socket_and_bad_address)
{
    char err[FL_ERR_LEN], path[512];
    struct docker_client c;
    ASSERT(docker_client_init(&c, "npipe:////./pipe/docker_engine", err) == -1);
    ASSERT_CONTAINS(err, "unsupported address 'npipe:");
    /* a socket file nobody listens on */
    snprintf(path, sizeof path, "%s/dead.sock", th_tmpdir());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "python3 -c 'import socket;s=socket.socket(socket.AF_UNIX);s.bind(\"%s\")'", path);
    if (th_sh(NULL, 0, "%s", cmd) != 0) SKIP("python3 not available to make a dead socket");
    char host[600];
    snprintf(host, sizeof host, "unix://%s", path);
    ASSERT(docker_client_init(&c, host, err) == 0);
    ASSERT(docker_negotiate(&c, err) == -1);
    ASSERT_CONTAINS(err, "connection refused");
    ASSERT_CONTAINS(err, path);
    docker_client_release(&c);
}

TEST(docker_permission_denied_on_the_socket)
{
    const char *host = th_docker_host();
    if (strncmp(host, "unix://", 7) != 0) SKIP("not a unix socket");
    if (getuid() != 0) SKIP("needs root to drop to 'nobody'");
    struct passwd *pw = getpwnam("nobody");
    ASSERT(pw);
    /* this test runs in its own forked process: drop to an account outside the docker group */
    ASSERT(setgroups(0, NULL) == 0 && setgid(pw->pw_gid) == 0 && setuid(pw->pw_uid) == 0);
    struct docker_client c;
    char err[FL_ERR_LEN], want[600];
    ASSERT(docker_client_init(&c, host, err) == 0);
    ASSERT(docker_negotiate(&c, err) == -1);
    snprintf(want, sizeof want, "docker: permission denied on socket '%s'", host + 7);
    ASSERT_CONTAINS(err, want);
    docker_client_release(&c);
}

TEST(docker_negotiates_version_and_maps_404)
{
    client();
    ASSERT(strlen(dc.api_version) >= 4 && dc.api_version[0] == '1' && dc.api_version[1] == '.');
    struct fx f;
    fx_init(&f, 12345);
    char name[64], err[FL_ERR_LEN];
    cname(name, sizeof name, "nope");
    struct target *t = target(&f, "db", "container: fl-test-nope-never-created");
    ASSERT(open_t(&f, t, err) == -1);
    ASSERT_CONTAINS(err, "cannot resolve target 'db': docker: 404 no such container: fl-test-nope-never-created");
    /* 409 for a conflicting action, with the daemon's message */
    char id[72];
    sweep("negotiate");
    mk_idle("negotiate", name, NULL, id);
    ASSERT(docker_pause(&dc, id, err) == -1);
    ASSERT_CONTAINS(err, "docker: 409 conflict: ");
    ASSERT_CONTAINS(err, "not running");
    docker_remove(&dc, id, err);
    fx_release(&f);
    docker_client_release(&dc);
}

/* ---- faults on a Redis container ---------------------------------------------------------------------- */

TEST_T(docker_stop_then_revert_serves_again, 60)
{
    struct fx f;
    char name[64], id[72], err[FL_ERR_LEN];
    int port = 0;
    struct target *t = redis_rig(&f, "stop", NULL, name, id, &port);
    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_stop, t, "grace: 2s");
    ASSERT_MSG(fault_docker_stop.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(redis_ping(port), 0); /* the port refuses */
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "exited");

    /* the journal record names the container and the state it had */
    json_t *rec = fault_docker_stop.save(&fi);
    ASSERT(rec);
    ASSERT_EQ_STR(json_string_value(json_object_get(rec, "action")), "stop");
    json_t *c0 = json_array_get(json_object_get(rec, "containers"), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(c0, "id")), id);
    ASSERT_EQ_STR(json_string_value(json_object_get(c0, "prior")), "running");
    json_decref(rec);
    struct buf b;
    buf_init(&b, 0);
    fault_docker_stop.describe(&fi, &b);
    ASSERT_CONTAINS(b.data, "docker stop target 'cache'");
    ASSERT_CONTAINS(b.data, "grace 2s");
    buf_release(&b);

    ASSERT_MSG(fault_docker_stop.revert(&fi, err) == 0, "revert: %s", err);
    fx_wait_pong(port);
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "running");
    /* a second revert has nothing left to do */
    ASSERT_MSG(fault_docker_stop.revert(&fi, err) == 0, "revert again: %s", err);
    fx_fault_release(&fi);
    rig_release(&f, id);
}

TEST_T(docker_kill_sigkill_then_revert, 60)
{
    struct fx f;
    char name[64], id[72], err[FL_ERR_LEN];
    int port = 0;
    struct target *t = redis_rig(&f, "kill", NULL, name, id, &port);
    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_kill, t, "");
    ASSERT_MSG(fault_docker_kill.inject(&fi, err) == 0, "inject: %s", err);
    struct docker_cstate st = inspect(id);
    for (int i = 0; i < 50 && st.state == DS_RUNNING; i++) usleep(20000), st = inspect(id);
    ASSERT_EQ_STR(docker_state_name(st.state), "exited");
    ASSERT_EQ_INT(st.exit_code, 137); /* 128 + SIGKILL */
    ASSERT_EQ_INT(redis_ping(port), 0);

    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: cache, expect: exited, exit_code: 137", &obs, err) == 0, "probe: %s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "observed %s", obs.observed);
    ASSERT_CONTAINS(obs.observed, "exited (exit code 137");

    ASSERT_MSG(fault_docker_kill.revert(&fi, err) == 0, "revert: %s", err);
    fx_wait_pong(port);
    fx_fault_release(&fi);

    /* an unknown signal is a plan error, found by parse */
    struct node *n = fx_yaml(&f, "{ signal: SIGNOPE }");
    struct diag d;
    diag_init(&d, "test");
    void *cfg = NULL;
    ASSERT(fault_docker_kill.parse(&f.pc, n, &cfg, &d) == -1);
    ASSERT(d.n == 1);
    ASSERT_CONTAINS(d.msgs[0], "unknown signal 'SIGNOPE'");
    diag_release(&d);
    rig_release(&f, id);
}

TEST_T(docker_pause_times_out_then_unpause_answers, 60)
{
    struct fx f;
    char name[64], id[72], err[FL_ERR_LEN];
    int port = 0;
    struct target *t = redis_rig(&f, "pause", NULL, name, id, &port);
    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: cache", &obs, err) == 0, "probe: %s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "observed %s", obs.observed);
    ASSERT_EQ_STR(obs.observed, "running (restarts 0)");

    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_pause, t, "");
    ASSERT_MSG(fault_docker_pause.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(redis_ping(port), -1); /* accepted by the kernel, never answered */
    ASSERT_MSG(probe(&f, "target: cache, expect: paused", &obs, err) == 0, "probe: %s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "observed %s", obs.observed);
    ASSERT_EQ_STR(obs.observed, "paused (restarts 0)");
    ASSERT_MSG(probe(&f, "target: cache, expect: running", &obs, err) == 0, "probe: %s", err);
    ASSERT(obs.outcome == PROBE_FAILED);

    ASSERT_MSG(fault_docker_pause.revert(&fi, err) == 0, "revert: %s", err);
    ASSERT_EQ_INT(redis_ping(port), 1);
    fx_fault_release(&fi);
    rig_release(&f, id);
}

TEST_T(docker_exec_sets_key_and_reverts, 60)
{
    struct fx f;
    char name[64], id[72], err[FL_ERR_LEN], v[64];
    char params[256];
    int port = 0;
    struct target *t = redis_rig(&f, "exec", NULL, name, id, &port);

    struct fault_inst fi;
    snprintf(params, sizeof params, "command: [redis-cli, -p, \"%d\", set, k, v], revert: \"redis-cli -p %d del k\"",
             port, port);
    fx_fault(&f, &fi, &fault_docker_exec, t, params);
    ASSERT_MSG(fault_docker_exec.inject(&fi, err) == 0, "inject: %s", err);
    redis_get(port, "k", v, sizeof v);
    ASSERT_EQ_STR(v, "v");
    json_t *rec = fault_docker_exec.save(&fi);
    ASSERT_EQ_STR(json_string_value(json_array_get(json_object_get(rec, "revert"), 0)), "/bin/sh");
    json_decref(rec);
    ASSERT_MSG(fault_docker_exec.revert(&fi, err) == 0, "revert: %s", err);
    redis_get(port, "k", v, sizeof v);
    ASSERT_EQ_STR(v, "");
    fx_fault_release(&fi);

    /* a command that exits otherwise than expect_exit fails, with its output */
    fx_fault(&f, &fi, &fault_docker_exec, t, "command: \"echo boom >&2; exit 3\"");
    ASSERT(fault_docker_exec.inject(&fi, err) == -1);
    ASSERT_CONTAINS(err, "exited 3, expected 0: boom");
    fx_fault_release(&fi);
    fx_fault(&f, &fi, &fault_docker_exec, t, "command: \"exit 3\", expect_exit: 3");
    ASSERT_MSG(fault_docker_exec.inject(&fi, err) == 0, "inject: %s", err);
    fx_fault_release(&fi);
    rig_release(&f, id);
}

TEST_T(docker_revert_restores_exactly_the_prior_state, 90)
{
    struct fx f;
    char name[64], id[72], err[FL_ERR_LEN];
    int port = 0;
    struct target *t = redis_rig(&f, "prior", NULL, name, id, &port);

    /* already stopped: neither stop nor kill starts it on revert */
    ASSERT_MSG(docker_stop(&dc, id, 2000, NULL, err) == 0, "stop: %s", err);
    const struct fault_ops *kinds[] = { &fault_docker_stop, &fault_docker_kill };
    for (int k = 0; k < 2; k++) {
        struct fault_inst fi;
        fx_fault(&f, &fi, kinds[k], t, "");
        ASSERT_MSG(kinds[k]->inject(&fi, err) == 0, "%s inject: %s", kinds[k]->name, err);
        json_t *rec = kinds[k]->save(&fi);
        json_t *c0 = json_array_get(json_object_get(rec, "containers"), 0);
        ASSERT_EQ_STR(json_string_value(json_object_get(c0, "prior")), "exited");
        ASSERT(json_is_false(json_object_get(c0, "acted")));
        json_decref(rec);
        ASSERT_MSG(kinds[k]->revert(&fi, err) == 0, "%s revert: %s", kinds[k]->name, err);
        ASSERT_EQ_STR(docker_state_name(inspect(id).state), "exited");
        ASSERT_EQ_INT(redis_ping(port), 0);
        fx_fault_release(&fi);
    }

    /* already paused: pause's revert leaves it paused; stop's revert brings it back paused */
    ASSERT_MSG(docker_start(&dc, id, NULL, err) == 0, "start: %s", err);
    fx_wait_pong(port);
    ASSERT_MSG(docker_pause(&dc, id, err) == 0, "pause: %s", err);
    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_pause, t, "");
    ASSERT_MSG(fault_docker_pause.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_MSG(fault_docker_pause.revert(&fi, err) == 0, "revert: %s", err);
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "paused");
    fx_fault_release(&fi);
    fx_fault(&f, &fi, &fault_docker_stop, t, "grace: 1s");
    ASSERT_MSG(fault_docker_stop.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "exited");
    ASSERT_MSG(fault_docker_stop.revert(&fi, err) == 0, "revert: %s", err);
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "paused");
    fx_fault_release(&fi);
    ASSERT_MSG(docker_unpause(&dc, id, err) == 0, "unpause: %s", err);
    fx_wait_pong(port);

    /* the journal path: reconcile from the JSON record alone */
    fx_fault(&f, &fi, &fault_docker_stop, t, "grace: 1s");
    ASSERT_MSG(fault_docker_stop.inject(&fi, err) == 0, "inject: %s", err);
    json_t *rec = fault_docker_stop.save(&fi);
    char *text = json_dumps(rec, 0);
    json_decref(rec);
    fx_fault_release(&fi); /* the run is gone; only the journal remains */
    ASSERT_EQ_INT(redis_ping(port), 0);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    ASSERT_MSG(fault_reconcile_rec(&fault_docker_stop, back, &f.ctx, NULL, err) == 0, "reconcile: %s", err);
    json_decref(back);
    fx_wait_pong(port);

    /* restart: the container comes back by itself, nothing to revert */
    fx_fault(&f, &fi, &fault_docker_restart, t, "grace: 1s");
    ASSERT_MSG(fault_docker_restart.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT(fault_docker_restart.revert == NULL);
    fx_wait_pong(port);
    fx_fault_release(&fi);
    rig_release(&f, id);
}

TEST_T(docker_revert_waits_for_healthy, 90)
{
    struct fx f;
    char name[64], id[72], err[FL_ERR_LEN], p[16];
    int port = th_free_port();
    snprintf(p, sizeof p, "%d", port);
    /* healthy only once redis answers; checked every 300ms */
    json_t *hc = json_pack("{s:[s,s,s,s,s],s:I,s:I,s:i}", "Test", "CMD", "/usr/bin/redis-cli", "-p", p, "ping",
                           "Interval", (json_int_t)300000000, "Timeout", (json_int_t)1000000000, "Retries", 3);
    struct target *t = redis_rig(&f, "health", hc, name, id, &port);
    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_stop, t, "grace: 1s, healthy_within: 20s");
    ASSERT_MSG(fault_docker_stop.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_MSG(fault_docker_stop.revert(&fi, err) == 0, "revert: %s", err);
    struct docker_cstate st = inspect(id);
    ASSERT(st.has_healthcheck);
    ASSERT_EQ_STR(st.health, "healthy"); /* revert returned only once healthy */
    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: cache, expect: healthy", &obs, err) == 0, "probe: %s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "observed %s", obs.observed);
    ASSERT_CONTAINS(obs.observed, "running, healthy");
    fx_fault_release(&fi);
    rig_release(&f, id);
}

TEST_T(docker_failed_inject_leaves_nothing_half_done, 60)
{
    client();
    sweep("half");
    char name[64], id[72], idle[72], err[FL_ERR_LEN], app[64], spec[128];
    int port = th_free_port();
    snprintf(app, sizeof app, "flhalf-%d", (int)getpid());
    /* a created, never started container that sorts after the running one: pause acts on
     * redis first, then fails on this one. Each try makes a fresh pair, so each has an even
     * chance (keeping one redis would fail the test 1 time in 41: when its id sorts high) */
    for (int i = 0; i < 40; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "half-redis%d", i);
        cname(name, sizeof name, tag);
        mk_redis("half", name, port, json_pack("{s:s}", "app", app), NULL, id);
        snprintf(tag, sizeof tag, "half-idle%d", i);
        cname(name, sizeof name, tag);
        mk_idle("half", name, json_pack("{s:s}", "app", app), idle);
        if (strcmp(idle, id) > 0) break;
        docker_remove(&dc, idle, err);
        docker_remove(&dc, id, err);
        idle[0] = '\0';
    }
    ASSERT(idle[0]);
    struct fx f;
    fx_init(&f, 12345);
    snprintf(spec, sizeof spec, "labels: { app: %s }", app);
    struct target *t = target(&f, "both", spec);
    ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);
    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_pause, t, "");
    ASSERT(fault_docker_pause.inject(&fi, err) == -1);
    ASSERT_CONTAINS(err, "cannot pause 'fl-test-");
    ASSERT_CONTAINS(err, "409 conflict");
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "running"); /* the first one was unpaused again */
    ASSERT_EQ_INT(redis_ping(port), 1);
    ASSERT_MSG(fault_docker_pause.revert(&fi, err) == 0, "revert: %s", err); /* nothing left to do */
    fx_fault_release(&fi);
    fx_release(&f);
    docker_remove(&dc, id, err);
    docker_remove(&dc, idle, err);
    docker_client_release(&dc);
}

/* ---- selection ---------------------------------------------------------------------------------------- */

TEST_T(docker_selectors_labels_compose_and_nothing, 60)
{
    client();
    sweep("select");
    char name[64], ids[3][72], err[FL_ERR_LEN], app[64], spec[256];
    snprintf(app, sizeof app, "fl-%d", (int)getpid());
    const char *svc[] = { "web", "web", "worker" };
    for (int i = 0; i < 3; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "sel%d", i);
        cname(name, sizeof name, tag);
        json_t *l = json_pack("{s:s,s:s,s:s,s:s}", "app", app, "role", i == 2 ? "odd" : "even",
                              "com.docker.compose.project", app, "com.docker.compose.service", svc[i]);
        mk_idle("select", name, l, ids[i]);
    }
    struct fx f;
    fx_init(&f, 12345);
    const struct docker_target *dt;

    snprintf(spec, sizeof spec, "labels: { app: %s }", app);
    struct target *t = target(&f, "all", spec);
    ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);
    dt = t->cfg;
    ASSERT_EQ_INT(dt->n, 3);

    snprintf(spec, sizeof spec, "label: [\"app=%s\", role=odd]", app);
    t = target(&f, "odd", spec);
    ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);
    dt = t->cfg;
    ASSERT_EQ_INT(dt->n, 1);
    ASSERT_EQ_STR(dt->ids[0], ids[2]);

    snprintf(spec, sizeof spec, "compose: { project: %s, service: web }", app);
    t = target(&f, "web", spec);
    ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);
    dt = t->cfg;
    ASSERT_EQ_INT(dt->n, 2);
    ASSERT((strcmp(dt->ids[0], ids[0]) == 0 && strcmp(dt->ids[1], ids[1]) == 0) ||
           (strcmp(dt->ids[0], ids[1]) == 0 && strcmp(dt->ids[1], ids[0]) == 0));
    struct buf b;
    buf_init(&b, 0);
    target_docker.describe(t, &b);
    ASSERT_CONTAINS(b.data, "com.docker.compose.service=web");
    buf_release(&b);

    /* matching nothing is an error at open, before any fault runs */
    snprintf(spec, sizeof spec, "compose: { project: %s, service: nosuch }", app);
    t = target(&f, "none", spec);
    ASSERT(open_t(&f, t, err) == -1);
    ASSERT_CONTAINS(err, "target 'none': no container matches containers with label");
    ASSERT_CONTAINS(err, "com.docker.compose.service=nosuch");

    /* the plan's guard label */
    f.ctx.require_label = "faultline.allow=true";
    snprintf(spec, sizeof spec, "labels: { app: %s }", app);
    t = target(&f, "guarded", spec);
    ASSERT(open_t(&f, t, err) == -1);
    ASSERT_CONTAINS(err, "lacks the label 'faultline.allow=true' the plan requires");
    f.ctx.require_label = "faultline.test=select";
    ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);
    f.ctx.require_label = NULL;

    /* parse errors: no selector, both kinds, empty compose */
    char d[FL_ERR_LEN];
    ASSERT(target_try(&f, "x", "labels: {}", d) == NULL);
    ASSERT_CONTAINS(d, "needs container:, labels:, label: or compose:");
    ASSERT(target_try(&f, "x", "container: a, label: b=c", d) == NULL);
    ASSERT_CONTAINS(d, "either container: or a label selector");
    ASSERT(target_try(&f, "x", "compose: {}", d) == NULL);
    ASSERT_CONTAINS(d, "compose needs project:, service: or both");

    fx_release(&f);
    for (int i = 0; i < 3; i++) docker_remove(&dc, ids[i], err);
    docker_client_release(&dc);
}

TEST_T(docker_pick_is_reproducible_from_the_seed, 60)
{
    client();
    sweep("pick");
    char name[64], ids[6][72], err[FL_ERR_LEN], app[64], spec[128];
    snprintf(app, sizeof app, "flpick-%d", (int)getpid());
    for (int i = 0; i < 6; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "pick%d", i);
        cname(name, sizeof name, tag);
        mk_idle("pick", name, json_pack("{s:s}", "app", app), ids[i]);
    }
    snprintf(spec, sizeof spec, "labels: { app: %s }", app);
    char first[2][2][72];
    int differs = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        char got[2][2][72];
        for (int round = 0; round < 2; round++) {
            struct fx f;
            fx_init(&f, 12345);
            struct target *t = target(&f, "workers", spec);
            t->has_pick = 1;
            t->pick_count = 2;
            t->pick_seed = seed;
            t->pick_seed_set = 1;
            ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);
            const struct docker_target *dt = t->cfg;
            ASSERT_EQ_INT(dt->n, 2);
            ASSERT(strcmp(dt->ids[0], dt->ids[1]) < 0); /* sorted, distinct */
            snprintf(got[round][0], 72, "%s", dt->ids[0]);
            snprintf(got[round][1], 72, "%s", dt->ids[1]);
            fx_release(&f);
        }
        ASSERT_EQ_STR(got[0][0], got[1][0]); /* same seed, same pick */
        ASSERT_EQ_STR(got[0][1], got[1][1]);
        if (seed == 1) memcpy(first, got, sizeof first);
        else if (strcmp(got[0][0], first[0][0]) || strcmp(got[0][1], first[0][1])) differs = 1;
    }
    ASSERT_MSG(differs, "eight seeds all picked the same pair");

    /* percent: 40%% of 6 rounds up to 3; the run seed applies without a pick seed */
    struct fx f;
    fx_init(&f, 12345);
    struct target *t = target(&f, "workers", spec);
    t->has_pick = 1;
    t->pick_percent = 0.4;
    ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);
    ASSERT_EQ_INT(((const struct docker_target *)t->cfg)->n, 3);
    fx_release(&f);
    for (int i = 0; i < 6; i++) docker_remove(&dc, ids[i], err);
    docker_client_release(&dc);
}

/* ---- PostgreSQL in a container ---------------------------------------------------------------------------- */

static int pg_ping(int port)
{
    char conn[128];
    snprintf(conn, sizeof conn, "host=127.0.0.1 port=%d dbname=postgres user=postgres connect_timeout=2", port);
    return PQping(conn) == PQPING_OK;
}

static const char *pg_bin(void)
{
    const char *pgbin = getenv("FL_TEST_PG_BIN");
    return pgbin && *pgbin ? pgbin : "/usr/lib/postgresql/15/bin";
}

static void wait_pg(int port, const char *what)
{
    int up = 0;
    for (int i = 0; i < 150 && !(up = pg_ping(port)); i++) usleep(100000);
    ASSERT_MSG(up, "postgres in the container did not serve %s", what);
}

/* a PostgreSQL container: initdb into a fresh dir under th_tmpdir(), bind-mounted read-write */
static void mk_postgres(const char *test, const char *name, int port, char id[72])
{
    const char *pgbin = pg_bin();
    char data[512], out[4096];
    const char *tmp = th_tmpdir();
    chmod(tmp, 0755);
    snprintf(data, sizeof data, "%s/pgdata-%s", tmp, test);
    int rc = th_sh(out, sizeof out,
                   "mkdir -p '%s' && chown postgres '%s' && su postgres -s /bin/sh -c \"'%s/initdb' -D '%s' -U postgres -A trust\" 2>&1",
                   data, data, pgbin, data);
    ASSERT_MSG(rc == 0, "initdb: %s", out);
    char pgexe[600], pstr[16];
    snprintf(pgexe, sizeof pgexe, "%s/postgres", pgbin);
    snprintf(pstr, sizeof pstr, "%d", port);
    char *argv[] = { pgexe, "-D", data, "-p", pstr, "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                     "-c", "fsync=off", NULL };
    /* numeric: the daemon looks users up in the image, which has no /etc/passwd of its own */
    struct passwd *pw = getpwnam("postgres");
    ASSERT(pw);
    char user[64];
    snprintf(user, sizeof user, "%u:%u", (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
    mk_container(test, name, argv, user, data, NULL, NULL, 1, id);
    wait_pg(port, "at start");
}

TEST_T(docker_postgres_stop_pause_and_back, 120)
{
    client();
    sweep("pg");
    const char *pgbin = pg_bin();
    char err[FL_ERR_LEN], name[64], id[72], out[4096];
    int rc;
    int port = th_free_port();
    cname(name, sizeof name, "pg");
    mk_postgres("pg", name, port, id);

    struct fx f;
    fx_init(&f, 12345);
    char spec[128];
    snprintf(spec, sizeof spec, "container: %s", name);
    struct target *t = target(&f, "db", spec);
    ASSERT_MSG(open_t(&f, t, err) == 0, "open: %s", err);

    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_stop, t, "grace: 5s");
    ASSERT_MSG(fault_docker_stop.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT(!pg_ping(port));
    struct probe_obs obs;
    ASSERT_MSG(probe(&f, "target: db, expect: stopped", &obs, err) == 0, "probe: %s", err);
    ASSERT_MSG(obs.outcome == PROBE_PASSED, "observed %s", obs.observed);
    ASSERT_MSG(fault_docker_stop.revert(&fi, err) == 0, "revert: %s", err);
    fx_fault_release(&fi);
    wait_pg(port, "again after the revert");

    fx_fault(&f, &fi, &fault_docker_pause, t, "");
    ASSERT_MSG(fault_docker_pause.inject(&fi, err) == 0, "inject: %s", err);
    ASSERT(!pg_ping(port)); /* connect_timeout=2 runs out */
    ASSERT_MSG(fault_docker_pause.revert(&fi, err) == 0, "revert: %s", err);
    fx_fault_release(&fi);
    ASSERT(pg_ping(port));

    char cmd[256];
    snprintf(cmd, sizeof cmd, "command: [\"%s/psql\", -h, 127.0.0.1, -p, \"%d\", -U, postgres, -c, \"create table fl_exec(x int)\"]",
             pgbin, port);
    fx_fault(&f, &fi, &fault_docker_exec, t, cmd);
    ASSERT_MSG(fault_docker_exec.inject(&fi, err) == 0, "exec: %s", err);
    fx_fault_release(&fi);
    rc = th_sh(out, sizeof out, "'%s/psql' -h 127.0.0.1 -p %d -U postgres -Atc \"select count(*) from fl_exec\" 2>&1",
               pgbin, port);
    ASSERT_MSG(rc == 0, "psql: %s", out);
    ASSERT_EQ_STR(out, "0\n");
    fx_release(&f);
    docker_remove(&dc, id, err);
    docker_client_release(&dc);
}

/* ---- pure parts -------------------------------------------------------------------------------------------- */

TEST(docker_demux_splits_frames_fed_in_pieces)
{
    const char stream[] = "\x01\0\0\0\0\0\0\x05hello\x02\0\0\0\0\0\0\x06 world";
    struct buf out;
    buf_init(&out, 0);
    struct docker_demux d = { .hlen = 0 };
    for (size_t i = 0; i < sizeof stream - 1; i += 3)
        docker_demux_feed(&d, stream + i, sizeof stream - 1 - i < 3 ? sizeof stream - 1 - i : 3, &out);
    ASSERT_EQ_STR(out.data, "hello world");
    buf_release(&out);
    char err[FL_ERR_LEN];
    docker_status_err(500, "{\"message\":\"Cannot kill container: abc: is paused\"}", err);
    ASSERT_EQ_STR(err, "docker: 500 daemon error: cannot kill container: abc: is paused");
    docker_status_err(404, "{\"message\":\"No such container: db\"}", err);
    ASSERT_EQ_STR(err, "docker: 404 no such container: db");
}

/* ---- a whole plan through build/faultline ------------------------------------------------------------------- */

TEST_T(docker_plan_stop_with_probe_end_to_end, 120)
{
    const char *host = th_docker_host();
    client();
    sweep("e2e");
    char name[64], id[72], err[FL_ERR_LEN], out[16384];
    int port = th_free_port();
    cname(name, sizeof name, "e2e");
    mk_redis("e2e", name, port, json_pack("{s:s}", "faultline.allow", "true"), NULL, id);
    const char *dir = th_tmpdir();
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: docker-e2e\n"
            "duration: 4s\n"
            "require_label: faultline.allow=true\n"
            "targets:\n"
            "  cache: { docker: { container: %s, host: \"%s\" } }\n"
            "steady_state:\n"
            "  - container: { target: cache, expect: running }\n"
            "method:\n"
            "  - name: cache-down\n"
            "    at: 500ms\n"
            "    fault: docker.stop\n"
            "    target: cache\n"
            "    grace: 1s\n"
            "    for: 2s\n"
            "probes:\n"
            "  - name: cache-is-stopped\n"
            "    during: cache-down\n"
            /* checks at +0, +1.9s; the next (+3.8s) would race the revert only if that took 1.8s:
             * the runner keeps a during: window open until its revert has returned */
            "    every: 1900ms\n"
            "    container: { target: cache, expect: stopped }\n",
            name, host);
    int rc = th_sh(out, sizeof out, "cd '%s' && '%s' run plan.yaml -o report --journal journal.jsonl 2>&1", dir,
                   th_faultline());
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "running");
    fx_wait_pong(port);
    /* the probe saw the container stopped during the window */
    json_t *rec = th_json_file(dir, "report/run.json");
    char *text = json_dumps(rec, 0);
    ASSERT_CONTAINS(text, "cache-is-stopped");
    ASSERT_CONTAINS(text, "exited (exit code 0");
    free(text);
    json_decref(rec);
    docker_remove(&dc, id, err);
    docker_client_release(&dc);
}

TEST_T(docker_plan_redis_and_postgres_end_to_end, 150)
{
    const char *host = th_docker_host();
    client();
    sweep("e2e2");
    char rname[64], pname[64], rid[72], pid[72], err[FL_ERR_LEN], out[16384], v[64];
    int rport = th_free_port(), pport = th_free_port();
    cname(rname, sizeof rname, "e2e2-redis");
    cname(pname, sizeof pname, "e2e2-pg");
    mk_redis("e2e2", rname, rport, NULL, NULL, rid);
    mk_postgres("e2e2", pname, pport, pid);
    const char *dir = th_tmpdir();
    /* probes check every 1100ms from the inject: +0, +1.1, then the revert at +1.2 (and +2.2 only
     * when the revert took a whole second: the runner keeps the window open during the revert) */
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: docker-e2e-both\n"
            "duration: 6s\n"
            "targets:\n"
            "  cache: { docker: { container: %s, host: \"%s\" } }\n"
            "  db: { docker: { container: %s, host: \"%s\" } }\n"
            "steady_state:\n"
            "  - container: { target: cache }\n"
            "  - container: { target: db }\n"
            "method:\n"
            "  - { name: cache-stop, at: 300ms, fault: docker.stop, target: cache, grace: 1s, for: 1200ms }\n"
            "  - { name: db-pause, at: 300ms, fault: docker.pause, target: db, for: 1200ms }\n"
            "  - { name: db-kill, at: 2000ms, fault: docker.kill, target: db, for: 1200ms }\n"
            "  - { name: cache-exec, at: 3000ms, fault: docker.exec, target: cache,\n"
            "      command: [redis-cli, -p, \"%d\", incr, e2e_count] }\n"
            "  - { name: cache-pause, at: 3500ms, fault: docker.pause, target: cache, for: 1200ms }\n"
            "probes:\n"
            "  - { name: cache-stopped, during: cache-stop, every: 1100ms, container: { target: cache, expect: stopped } }\n"
            "  - { name: db-paused, during: db-pause, every: 1100ms, container: { target: db, expect: paused } }\n"
            "  - { name: db-killed, during: db-kill, every: 1100ms,\n"
            "      container: { target: db, expect: exited, exit_code: 137 } }\n"
            "  - { name: cache-paused, during: cache-pause, every: 1100ms, container: { target: cache, expect: paused } }\n",
            rname, host, pname, host, rport);
    int rc = th_sh(out, sizeof out, "cd '%s' && '%s' run plan.yaml -o report --journal journal.jsonl 2>&1", dir,
                   th_faultline());
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    /* afterwards both serve again, and the exec ran once inside the Redis container */
    fx_wait_pong(rport);
    wait_pg(pport, "after the plan");
    redis_get(rport, "e2e_count", v, sizeof v);
    ASSERT_EQ_STR(v, "1");
    ASSERT_EQ_STR(docker_state_name(inspect(rid).state), "running");
    ASSERT_EQ_STR(docker_state_name(inspect(pid).state), "running");
    docker_remove(&dc, rid, err);
    docker_remove(&dc, pid, err);
    docker_client_release(&dc);
}

TEST_T(docker_rollback_from_the_journal_after_sigkill, 90)
{
    const char *host = th_docker_host();
    client();
    sweep("crash");
    char name[64], id[72], err[FL_ERR_LEN], out[8192];
    int port = th_free_port();
    cname(name, sizeof name, "crash");
    mk_redis("crash", name, port, NULL, NULL, id);
    const char *dir = th_tmpdir();
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: docker-crash\n"
            "duration: 60s\n"
            "targets:\n"
            "  cache: { docker: { container: %s, host: \"%s\" } }\n"
            "method:\n"
            "  - { name: cache-pause, at: 100ms, fault: docker.pause, target: cache, for: 50s }\n",
            name, host);
    int rc = th_sh(out, sizeof out, "cd '%s' && { '%s' run plan.yaml -o report --journal journal.jsonl >run.log 2>&1 & echo $!; }",
                   dir, th_faultline());
    ASSERT_MSG(rc == 0, "start: %s", out);
    int pid = atoi(out);
    ASSERT(pid > 0);
    struct docker_cstate st = inspect(id);
    for (int i = 0; i < 100 && st.state != DS_PAUSED; i++) usleep(50000), st = inspect(id);
    ASSERT_EQ_STR(docker_state_name(st.state), "paused");
    /* the journal line follows the inject: wait for it, then kill the run without warning */
    for (int i = 0; i < 100; i++) {
        if (th_sh(NULL, 0, "grep -q '\"op\":\"inject\"' '%s/journal.jsonl' 2>/dev/null", dir) == 0) break;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    usleep(200000);
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "paused"); /* nobody reverted it */
    ASSERT_EQ_INT(redis_ping(port), -1);
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' rollback journal.jsonl 2>&1", dir, th_faultline());
    ASSERT_MSG(rc == 0, "faultline rollback exited %d:\n%s", rc, out);
    ASSERT_EQ_STR(docker_state_name(inspect(id).state), "running");
    ASSERT_EQ_INT(redis_ping(port), 1);
    docker_remove(&dc, id, err);
    docker_client_release(&dc);
}
