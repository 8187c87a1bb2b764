/* dockerfx.c -- see dockerfx.h */
#include "dockerfx.h"

#include <errno.h>
#include <hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "params.h"

void fx_init(struct fx *f, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->plan.targets = f->targets;
    f->ctx.plan = &f->plan;
    f->ctx.seed = seed;
}

struct node *fx_yaml(struct fx *f, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct diag d;
    diag_init(&d, "test");
    struct node *n = node_parse(text, strlen(text), &d);
    ASSERT_MSG(n && d.n == 0, "yaml '%s': %s", text, d.n ? d.msgs[0] : "?");
    diag_release(&d);
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
    if (!bad && ops->parse(&f->plan, t, n, &d) < 0 && d.n == 0) bad = 1;
    if (bad || d.n) {
        if (diagtext) snprintf(diagtext, FL_ERR_LEN, "%s", d.n ? d.msgs[0] : "?");
        diag_release(&d);
        free(t->name);
        free(t);
        return NULL;
    }
    diag_release(&d);
    ASSERT(f->plan.ntargets < sizeof f->targets / sizeof *f->targets);
    f->targets[f->plan.ntargets++] = t;
    return t;
}

void fx_fault(struct fx *f, struct fault_inst *fi, const struct fault_ops *ops, struct target *t, const char *params)
{
    struct node *n = fx_yaml(f, "{ %s }", params);
    struct diag d;
    diag_init(&d, "test");
    memset(fi, 0, sizeof *fi);
    ASSERT_MSG(params_check(n, ops->params, NULL, ops->name, &d) == 0, "params: %s", d.msgs[0]);
    ASSERT_MSG(ops->parse(&f->plan, n, &fi->cfg, &d) == 0, "parse: %s", d.n ? d.msgs[0] : "?");
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
    ASSERT_MSG(ops->parse(&f->plan, n, entry ? n : NULL, &cfg, &d) == 0, "parse: %s", d.n ? d.msgs[0] : "?");
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
    for (size_t i = 0; i < f->plan.ntargets; i++) {
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

void fx_wait_pong(int port)
{
    for (int i = 0; i < 100; i++) {
        if (fx_redis_ping(port, 1000) == 1) return;
        usleep(50 * 1000);
    }
    ASSERT_MSG(0, "redis on port %d never answered PONG", port);
}
