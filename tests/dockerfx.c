/* dockerfx.c -- see dockerfx.h */
#include "dockerfx.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "params.h"

static struct target *fx_find_target(void *plan, const char *name)
{
    struct fx *f = plan;
    for (size_t i = 0; i < f->ntargets; i++)
        if (!strcmp(f->targets[i]->name, name)) return f->targets[i];
    return NULL;
}

void fx_init(struct fx *f, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->pc = (struct drv_parse){ .plan = f, .target = fx_find_target };
    f->ctx.seed = seed;
}

struct node *fx_yaml(struct fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct node *n = th_vyaml(fmt, ap);
    va_end(ap);
    ASSERT(f->ntrees < (int)(sizeof f->trees / sizeof *f->trees));
    f->trees[f->ntrees++] = n;
    return n;
}

struct target *fx_target_try(struct fx *f, const struct target_ops *ops, const char *name, const char *spec,
                             int pick_count, uint64_t seed, char *diagtext)
{
    /* the test engine unless the spec names its own */
    struct node *n = strstr(spec, "host:") ? fx_yaml(f, "{ %s }", spec)
                                            : fx_yaml(f, "{ host: \"%s\", %s }", th_docker_host(), spec);
    struct diag d;
    diag_init(&d, "test");
    struct target *t = fl_calloc(1, sizeof *t);
    t->name = fl_strdup(name);
    t->ops = ops;
    t->spec = n;
    if (pick_count) {
        t->has_pick = 1;
        t->pick_count = pick_count;
        t->pick_seed = seed;
        t->pick_seed_set = 1;
    }
    int bad = params_check(n, ops->params, NULL, "target", &d);
    if (!bad && ops->parse(&f->pc, t, n, &d) < 0 && d.n == 0) bad = 1;
    if (bad || d.n) {
        if (diagtext) snprintf(diagtext, FL_ERR_LEN, "%s", d.n ? d.msgs[0] : "?");
        diag_release(&d);
        free(t->name);
        free(t);
        return NULL;
    }
    diag_release(&d);
    ASSERT(f->ntargets < sizeof f->targets / sizeof *f->targets);
    f->targets[f->ntargets++] = t;
    return t;
}

void fx_fault(struct fx *f, struct fault_inst *fi, const struct fault_ops *ops, struct target *t, const char *params)
{
    struct node *n = fx_yaml(f, "{ %s }", params);
    struct diag d;
    diag_init(&d, "test");
    memset(fi, 0, sizeof *fi);
    ASSERT_MSG(params_check(n, ops->params, NULL, ops->name, &d) == 0, "params: %s", d.msgs[0]);
    ASSERT_MSG(ops->parse(&f->pc, n, &fi->cfg, &d) == 0, "parse: %s", d.n ? d.msgs[0] : "?");
    diag_release(&d);
    fi->ops = ops;
    fi->target = t;
    fi->ctx = &f->ctx;
}

void fx_fault_release(struct fault_inst *fi)
{
    if (fi->state) fi->ops->free_state(fi->state);
    fi->ops->free_cfg(fi->cfg);
    fi->state = fi->cfg = NULL;
}

int fx_probe(struct fx *f, const struct probe_ops *ops, const char *spec, int entry, struct probe_obs *obs,
             char *err)
{
    struct node *n = fx_yaml(f, "{ %s }", spec);
    struct diag d;
    diag_init(&d, "test");
    void *cfg = NULL;
    ASSERT_MSG(params_check(n, ops->params, NULL, ops->name, &d) == 0, "params: %s", d.msgs[0]);
    ASSERT_MSG(ops->parse(&f->pc, n, entry ? n : NULL, &cfg, &d) == 0, "parse: %s", d.n ? d.msgs[0] : "?");
    diag_release(&d);
    struct probe_inst pi = { .ops = ops, .ctx = &f->ctx, .cfg = cfg };
    memset(obs, 0, sizeof *obs);
    int rc = ops->check(&pi, obs, err);
    ops->free_state(pi.state);
    ops->free_cfg(cfg);
    return rc;
}

void fx_release(struct fx *f)
{
    for (size_t i = 0; i < f->ntargets; i++) {
        struct target *t = f->targets[i];
        t->ops->close(t, &f->ctx);
        t->ops->free(t);
        free(t->name);
        free(t);
    }
    for (int i = 0; i < f->ntrees; i++) node_free(f->trees[i]);
}

void fx_sweep_containers(struct docker_client *dc, const char *test)
{
    char label[128], err[FL_ERR_LEN];
    snprintf(label, sizeof label, "faultline.test=%s", test);
    char *filter[] = { label };
    json_t *arr = NULL;
    ASSERT_MSG(docker_list(dc, filter, 1, &arr, err) == 0, "list: %s", err);
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        const char *owner = json_string_value(json_object_get(json_object_get(it, "Labels"), "faultline.test.pid"));
        int pid = owner ? atoi(owner) : 0;
        if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)) continue;
        docker_remove(dc, json_string_value(json_object_get(it, "Id")), err);
    }
    json_decref(arr);
}

void fx_container(struct docker_client *dc, const char *test, const char *name, char *const *argv, const char *user,
                  const char *rw_dir, json_t *labels, json_t *healthcheck, int start, char id[72])
{
    char err[FL_ERR_LEN];
    json_t *cmd = json_array();
    for (size_t i = 0; argv[i]; i++) json_array_append_new(cmd, json_string(argv[i]));
    json_t *binds = json_pack("[s,s,s,s,s]", "/usr:/usr:ro", "/lib:/lib:ro", "/lib64:/lib64:ro", "/bin:/bin:ro",
                              "/etc:/etc:ro");
    if (rw_dir) json_array_append_new(binds, json_sprintf("%s:%s:rw", rw_dir, rw_dir));
    if (!labels) labels = json_object();
    json_object_set_new(labels, "faultline.test", json_string(test));
    json_object_set_new(labels, "faultline.test.pid", json_sprintf("%d", (int)getpid()));
    json_t *cfg = json_pack("{s:s,s:o,s:o,s:{s:s,s:o}}", "Image", "hostbin", "Cmd", cmd, "Labels", labels,
                            "HostConfig", "NetworkMode", "host", "Binds", binds);
    if (user) json_object_set_new(cfg, "User", json_string(user));
    if (healthcheck) json_object_set_new(cfg, "Healthcheck", healthcheck);
    ASSERT_MSG(docker_create(dc, name, cfg, id, err) == 0, "create %s: %s", name, err);
    json_decref(cfg);
    if (start) ASSERT_MSG(docker_start(dc, id, NULL, err) == 0, "start %s: %s", name, err);
}

int fx_redis_ping(int port, int timeout_ms)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c) return -1;
    if (c->err) {
        int refused = c->err == REDIS_ERR_IO && strstr(c->errstr, "refused") != NULL;
        redisFree(c);
        return refused ? 0 : -1;
    }
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    redisFree(c);
    return ok ? 1 : -1;
}

int fx_redis_write(int port, int timeout_ms)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "SET fx-write %d", (int)getpid());
    int ret = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0 ? 1 : (!r && c->err == REDIS_ERR_IO ? 0 : -1);
    if (r) freeReplyObject(r);
    redisFree(c);
    return ret;
}

void fx_wait_pong(int port)
{
    for (int i = 0; i < 100; i++) {
        if (fx_redis_ping(port, 1000) == 1) return;
        usleep(50 * 1000);
    }
    ASSERT_MSG(0, "redis on port %d never answered PONG", port);
}

/* ---- swarm ---- */

void fx_swarm(struct docker_client *dc, char self_node[72])
{
    const char *host = th_docker_host();
    char err[FL_ERR_LEN], out[2048];
    /* one swarm test at a time on this engine, across concurrent test runs (a drain stops every
     * task of the node); the lock goes with this forked test process */
    int lk = open("/tmp/fl-swarm-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    ASSERT_MSG(lk >= 0 && flock(lk, LOCK_EX) == 0, "swarm test lock: %s", strerror(errno));
    int rc = th_sh(out, sizeof out, "sh scripts/swarm-up.sh 2>&1");
    ASSERT_MSG(rc == 0, "swarm-up.sh exited %d: %s", rc, out);
    ASSERT_MSG(docker_client_init(dc, host, err) == 0, "client: %s", err);
    ASSERT_MSG(docker_negotiate(dc, err) == 0, "negotiate: %s", err);
    int manager = 0;
    ASSERT_MSG(docker_swarm_self(dc, self_node, &manager, err) == 0, "info: %s", err);
    ASSERT_MSG(self_node[0] && manager, "the test engine is not a swarm manager after swarm-up.sh");
    ASSERT_MSG(docker_node_set_availability(dc, self_node, "active", NULL, NULL, err) == 0, "activate: %s", err);
}

void fx_sweep_services(struct docker_client *dc, const char *test)
{
    char label[128], err[FL_ERR_LEN];
    snprintf(label, sizeof label, "faultline.test=%s", test);
    char *f[] = { label };
    json_t *arr = NULL;
    ASSERT_MSG(docker_service_list(dc, f, 1, &arr, err) == 0, "list: %s", err);
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it) {
        json_t *labels = json_object_get(json_object_get(it, "Spec"), "Labels");
        const char *owner = json_string_value(json_object_get(labels, "faultline.test.pid"));
        int pid = owner ? atoi(owner) : 0;
        if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)) continue;
        docker_service_remove(dc, json_string_value(json_object_get(it, "ID")), err);
    }
    json_decref(arr);
}

struct docker_svc_status fx_svc_status(struct docker_client *dc, const char *ref)
{
    struct docker_svc_status st;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_service_status(dc, ref, &st, err) == 0, "status of %s: %s", ref, err);
    return st;
}

void fx_converge(struct docker_client *dc, const char *ref, int64_t within_ms)
{
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_service_wait_converged(dc, ref, within_ms, NULL, err) == 0, "%s", err);
}

json_t *fx_service_spec(const char *test, const char *name, int replicas, json_t *labels)
{
    json_t *mounts = json_array();
    const char *dirs[] = { "/usr", "/lib", "/lib64", "/bin", "/etc" };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source", dirs[i], "Target",
                                                dirs[i], "ReadOnly", 1));
    if (!labels) labels = json_object();
    json_object_set_new(labels, "faultline.test", json_string(test));
    json_object_set_new(labels, "faultline.test.pid", json_sprintf("%d", (int)getpid()));
    json_t *spec = json_pack(
        "{s:s,s:o,s:{s:{s:s,s:[s,s,s],s:o,s:I},s:{s:s,s:I},s:[{s:s}]},s:{s:{s:i}}}", "Name", name, "Labels", labels,
        "TaskTemplate", "ContainerSpec", "Image", "hostbin", "Args", "/bin/sh", "-c",
        "trap 'exit 0' TERM; while :; do sleep 1; done", "Mounts", mounts, "StopGracePeriod",
        (json_int_t)2000000000LL, "RestartPolicy", "Condition", "any", "Delay", (json_int_t)200000000LL, "Networks",
        "Target", "host", "Mode", "Replicated", "Replicas", replicas);
    return spec;
}

void fx_service(struct docker_client *dc, const char *test, const char *name, int replicas, json_t *labels,
                char id[72])
{
    char err[FL_ERR_LEN];
    json_t *spec = fx_service_spec(test, name, replicas, labels);
    ASSERT_MSG(docker_service_create(dc, spec, id, err) == 0, "create service %s: %s", name, err);
    json_decref(spec);
}

/* ---- faultline as a process ---- */

void fx_write_file(const char *dir, const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    th_write_file(path, text);
}

char *fx_slurp(const char *dir, const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = th_slurp(path);
    return s ? s : strdup("");
}

pid_t fx_fl_start(const char *dir, char *const *env, char *const *args)
{
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        if (chdir(dir) < 0) _exit(127);
        char journal[600];
        snprintf(journal, sizeof journal, "%s/journal.jsonl", dir);
        setenv("FAULTLINE_JOURNAL", journal, 1);
        for (size_t i = 0; env && env[i]; i++) putenv(env[i]);
        int fd = open("run.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
        char *argv[32] = { "faultline" };
        size_t n = 1;
        for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(th_faultline(), argv);
        _exit(127);
    }
    return pid;
}

void fx_stop_pid(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

int fx_fl_wait(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 20) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (waited >= timeout_ms) {
            fx_stop_pid(pid);
            return -1;
        }
        usleep(20 * 1000);
    }
}

int fx_fl(const char *dir, const char *args, char *out, size_t outlen)
{
    return th_fl(dir, args, out, outlen);
}

int fx_journal_count(const char *dir, const char *op)
{
    char *text = fx_slurp(dir, "journal.jsonl");
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *o = json_string_value(json_object_get(j, "op"));
        if (o && strcmp(o, op) == 0 && (strcmp(op, "reverted") != 0 || json_is_true(json_object_get(j, "ok")))) n++;
        json_decref(j);
    }
    free(text);
    return n;
}

pid_t fx_redis_server(int port)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               (char *)NULL);
        _exit(127);
    }
    fx_wait_pong(port);
    return pid;
}
