/* redis.c -- the faults that break Redis from the inside through hiredis: redis.pause,
 * redis.kill_clients, redis.maxmemory (the `redis` target: targets/redis_target.c). */
#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fault.h"
#include "redis_target.h"
#include "fl.h"
#include "params.h"
#include "value.h"

/* ---- faults ------------------------------------------------------------------------ */
struct rds_cfg {
    int write_only;          /* pause */
    char type[16];           /* kill_clients */
    int64_t bytes;           /* maxmemory */
};

struct rds_state {
    int64_t pause_ms;
    int64_t pause_end_ns;    /* monotonic: when Redis lifts the pause by itself */
    double pause_end_wall;   /* the same on the wall clock (the journal outlives the run) */
    int pause_all;
    int applied;             /* the command was sent and answered OK */
    long long killed;
    char *old;               /* maxmemory before */
};

static void state_free(void *p)
{
    struct rds_state *s = p;
    if (!s) return;
    free(s->old);
    free(s);
}

static redisContext *open_target(const struct fault_inst *fi, char *err)
{
    const struct rds_url *u = rds_target_url(fi->target);
    if (!u) {
        fl_err(err, "%s: target '%s' is not a redis target", fi->ops->name, fi->target ? fi->target->name : "?");
        return NULL;
    }
    return rds_open(u, 5000, err);
}

/* one command expecting a status/integer reply; 0 or -1 with err */
static int run(redisContext *c, const char *what, char *err, long long *integer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        char msg[FL_ERR_LEN];
        rds_reply_err(c, r, msg, sizeof msg);
        if (r) freeReplyObject(r);
        return fl_err(err, "%s: %s", what, msg);
    }
    if (integer) *integer = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}

/* what reconcile uses: the plan's target (with its password) when the plan is loaded,
 * else the URL recorded without password */
static redisContext *open_saved(json_t *rec, const struct drv_ctx *ctx, char *err)
{
    const char *tname = json_string_value(json_object_get(rec, "target"));
    const struct rds_url *u = NULL;
    if (tname) u = rds_target_url(drv_target_named(ctx, tname));
    if (u) return rds_open(u, 5000, err);
    const char *url = json_string_value(json_object_get(rec, "url"));
    struct rds_url tmp;
    if (rds_url_parse(url, &tmp, err) < 0) return NULL;
    if (tmp.password) { free(tmp.password); tmp.password = NULL; }   /* "***": not the real one */
    redisContext *c = rds_open(&tmp, 5000, err);
    rds_url_release(&tmp);
    return c;
}

/* redis.pause */
static const struct param_spec pause_params[] = {
    { "mode", PT_STR, 0, "all (default: every command waits) or write (reads still answer)" },
    { 0 },
};

static int pause_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc;
    const char *m = param_str(step, "mode", "all");
    if (strcmp(m, "all") != 0 && strcmp(m, "write") != 0) {
        diag_add(d, node_get(step, "mode"), "redis.pause: mode must be all or write, not '%s'", m);
        return -1;
    }
    struct rds_cfg *c = fl_calloc(1, sizeof *c);
    c->write_only = strcmp(m, "write") == 0;
    *cfg = c;
    return 0;
}

/* nothing to observe: Redis 7.0 does not say whether it is paused. The intent records when
 * the pause would end by itself, counted from now (the inject comes right after). */
static int pause_prepare(struct fault_inst *fi, char *err)
{
    const struct rds_cfg *c = fi->cfg;
    if (!rds_target_url(fi->target))
        return fl_err(err, "%s: target '%s' is not a redis target", fi->ops->name, fi->target ? fi->target->name : "?");
    /* exactly the window: Redis lifts the pause by itself then, also should we die. (A pause
       of ALL also holds CLIENT UNPAUSE itself, so for that mode the end of the pause is
       the revert; see pause_revert.) Without for:, the plan's duration, else an hour. */
    int64_t ms = 3600 * 1000;
    if (fi->step && fi->step->for_ms > 0) ms = fi->step->for_ms;
    else if (fi->ctx && fi->ctx->duration_ms > 0) ms = fi->ctx->duration_ms;
    struct rds_state *s = fl_calloc(1, sizeof *s);
    s->pause_ms = ms;
    s->pause_all = !c->write_only;
    s->pause_end_ns = fl_now_ns() + ms * 1000000;
    s->pause_end_wall = fl_wall() + ms / 1000.0;
    fi->state = s;
    return 0;
}

static int pause_inject(struct fault_inst *fi, char *err)
{
    const struct rds_cfg *c = fi->cfg;
    if (!fi->state && pause_prepare(fi, err) < 0) return -1;
    struct rds_state *s = fi->state;
    redisContext *rc = open_target(fi, err);
    if (!rc) return -1;
    char what[256];
    snprintf(what, sizeof what, "redis.pause on target '%s'", fi->target->name);
    int r = run(rc, what, err, NULL, "CLIENT PAUSE %lld %s", (long long)s->pause_ms, c->write_only ? "WRITE" : "ALL");
    /* no reply (a timeout, a lost connection) is not a refusal: the pause may hold; the
     * undo of the failed inject lifts it */
    if (r < 0 && rc->err) s->applied = 1;
    redisFree(rc);
    if (r < 0) return -1;
    s->applied = 1;
    s->pause_end_ns = fl_now_ns() + s->pause_ms * 1000000;
    s->pause_end_wall = fl_wall() + s->pause_ms / 1000.0;
    return 0;
}

static int unpause(redisContext *rc, const char *tname, char *err)
{
    char what[256];
    snprintf(what, sizeof what, "redis.pause revert (CLIENT UNPAUSE) on target '%s'", tname);
    return run(rc, what, err, NULL, "CLIENT UNPAUSE");
}

static int pause_revert(struct fault_inst *fi, char *err)
{
    const struct rds_state *s = fi->state;
    if (!s || !s->applied) return 0;
    const struct rds_url *u = rds_target_url(fi->target);
    if (!u) return fl_err(err, "redis.pause: target '%s' is not a redis target", fi->target ? fi->target->name : "?");
    /* Redis queues every command of every client behind a pause of ALL, CLIENT UNPAUSE
       included: the answer comes when the pause ends (at the window's end unless we revert
       early). Wait that long, plus a margin, rather than give up. */
    int64_t left_ms = (s->pause_end_ns - fl_now_ns()) / 1000000;
    int timeout_ms = 5000;
    if (s->pause_all && left_ms > 0) {
        timeout_ms = (int)(left_ms > 24 * 3600 * 1000 ? 24 * 3600 * 1000 : left_ms) + 5000;
        if (left_ms > 1000)
            fl_log(FL_LOG_INFO, "redis.pause: Redis holds CLIENT UNPAUSE behind a pause of ALL: waiting %lld ms for it to end",
                   (long long)left_ms);
    }
    redisContext *rc = rds_open(u, 5000, err);
    if (!rc) return -1;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    redisSetTimeout(rc, tv);
    int r = unpause(rc, fi->target->name, err);
    redisFree(rc);
    if (r == 0) fault_progress(fi, "revert", 0, json_pack("{s:b}", "unpaused", 1));
    return r;
}

static json_t *url_save(const struct fault_inst *fi, const char *note)
{
    const struct rds_url *u = rds_target_url(fi->target);
    return json_pack("{s:s, s:s, s:s}", "target", fi->target ? fi->target->name : "", "url", u ? u->shown : "",
                     "note", note);
}

static json_t *pause_save(const struct fault_inst *fi)
{
    const struct rds_state *s = fi->state;
    json_t *j = url_save(fi, "revert: CLIENT UNPAUSE (Redis also lifts the pause by itself when pause_ms ends)");
    json_object_set_new(j, "pause_ms", json_integer(s ? s->pause_ms : 0));
    json_object_set_new(j, "mode", json_string(s && !s->pause_all ? "write" : "all"));
    /* when Redis lifts the pause by itself (wall clock: the journal outlives the run) */
    json_object_set_new(j, "pause_ends_at", json_real(s ? s->pause_end_wall : fl_wall()));
    json_object_set_new(j, "applied", json_boolean(s && s->applied));
    return j;
}

static int pause_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    /* a pause whose time is over has been lifted by Redis itself: nothing left to undo. The
     * intent's end is counted from before the CLIENT PAUSE: allow for the moments between. */
    json_t *end = json_object_get(r->rec, "pause_ends_at");
    double slack = r->done ? 0.5 : 5.0;
    if (json_is_number(end) && fl_wall() >= json_number_value(end) + slack) {
        fault_report(report, "the pause (%lld ms) is over: Redis lifted it by itself: nothing to do",
                     (long long)json_integer_value(json_object_get(r->rec, "pause_ms")));
        return 0;
    }
    redisContext *rc = open_saved(r->rec, ctx, err);
    if (!rc) {
        fault_report(report, "cannot reach Redis to lift a pause that may still hold: %s", err);
        return -1;
    }
    if (json_is_number(end)) {
        /* Redis 7 queues CLIENT UNPAUSE behind a PAUSE ALL: wait out what is left of it */
        double left = json_number_value(end) - fl_wall() + slack + 5.0;
        if (left > 3600) left = 3600;
        struct timeval tv = { (time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6) };
        redisSetTimeout(rc, tv);
    }
    int ret = unpause(rc, json_string_value(json_object_get(r->rec, "target")) ?: "?", err);
    redisFree(rc);
    if (ret == 0)
        fault_report(report, "Redis may still be paused (until %.1fs from now): CLIENT UNPAUSE sent (harmless when it "
                     "was not)", json_is_number(end) ? json_number_value(end) - fl_wall() : 0.0);
    else
        fault_report(report, "CLIENT UNPAUSE failed: %s", err);
    return ret;
}

static void pause_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct rds_cfg *c = fi->cfg;
    const struct rds_url *u = rds_target_url(fi->target);
    buf_addf(out, "CLIENT PAUSE %s on target '%s' (%s); revert: CLIENT UNPAUSE",
             c->write_only ? "WRITE (reads still answer)" : "ALL", fi->target ? fi->target->name : "?",
             u ? u->shown : "?");
}

/* redis.kill_clients */
static const struct param_spec kill_params[] = {
    { "type", PT_STR, 0, "normal (default), pubsub or replica" },
    { 0 },
};

static int kill_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc;
    const char *t = param_str(step, "type", "normal");
    if (strcmp(t, "normal") != 0 && strcmp(t, "pubsub") != 0 && strcmp(t, "replica") != 0) {
        diag_add(d, node_get(step, "type"), "redis.kill_clients: type must be normal, pubsub or replica, not '%s'", t);
        return -1;
    }
    struct rds_cfg *c = fl_calloc(1, sizeof *c);
    snprintf(c->type, sizeof c->type, "%s", t);
    *cfg = c;
    return 0;
}

static int kill_inject(struct fault_inst *fi, char *err)
{
    const struct rds_cfg *c = fi->cfg;
    redisContext *rc = open_target(fi, err);
    if (!rc) return -1;
    char what[256];
    snprintf(what, sizeof what, "redis.kill_clients on target '%s'", fi->target->name);
    long long n = 0;
    int r = run(rc, what, err, &n, "CLIENT KILL TYPE %s SKIPME yes", c->type);
    redisFree(rc);
    if (r < 0) return -1;
    struct rds_state *s = fl_calloc(1, sizeof *s);
    s->killed = n;
    fi->state = s;
    fl_log(FL_LOG_INFO, "redis.kill_clients: closed %lld %s client(s) on target '%s'", n, c->type, fi->target->name);
    return 0;
}

static json_t *kill_save(const struct fault_inst *fi)
{
    const struct rds_state *s = fi->state;
    json_t *j = url_save(fi, "closed client connections cannot be reopened by us: nothing to undo");
    json_object_set_new(j, "killed", json_integer(s ? s->killed : 0));
    return j;
}

static int kill_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)r; (void)ctx; (void)err;
    fault_report(report, "nothing to undo: closed client connections are reopened by the clients, not by faultline "
                 "(this fault leaves nothing that lasts)");
    return 0;
}

static void kill_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct rds_cfg *c = fi->cfg;
    const struct rds_url *u = rds_target_url(fi->target);
    buf_addf(out, "CLIENT KILL TYPE %s on target '%s' (%s)", c->type, fi->target ? fi->target->name : "?",
             u ? u->shown : "?");
    const struct rds_state *s = fi->state;
    if (s) buf_addf(out, ": %lld closed", s->killed);
    buf_adds(out, "; no revert (clients reconnect)");
}

/* redis.maxmemory */
static const struct param_spec maxmem_params[] = {
    { "bytes", PT_BYTES, PARAM_REQUIRED, "the maxmemory to set, e.g. 1mb" },
    { 0 },
};

static int maxmem_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc;
    int64_t b = param_bytes(step, "bytes", -1);
    if (b < 0) {
        diag_add(d, node_get(step, "bytes") ? node_get(step, "bytes") : step, "redis.maxmemory: needs bytes: (like 1mb)");
        return -1;
    }
    struct rds_cfg *c = fl_calloc(1, sizeof *c);
    c->bytes = b;
    *cfg = c;
    return 0;
}

/* CONFIG GET maxmemory into *out (caller frees); 0 or -1 with err */
static int get_maxmem(redisContext *rc, const char *tname, char **out, char *err)
{
    redisReply *r = redisCommand(rc, "CONFIG GET maxmemory");
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_STRING) {
        char msg[FL_ERR_LEN];
        rds_reply_err(rc, r, msg, sizeof msg);
        if (r) freeReplyObject(r);
        return fl_err(err, "redis.maxmemory on target '%s': CONFIG GET maxmemory: %s", tname, msg);
    }
    *out = fl_strdup(r->element[1]->str);
    freeReplyObject(r);
    return 0;
}

/* the value found, before anything is set: the intent */
static int maxmem_prepare(struct fault_inst *fi, char *err)
{
    redisContext *rc = open_target(fi, err);
    if (!rc) return -1;
    char *old = NULL;
    int r = get_maxmem(rc, fi->target->name, &old, err);
    redisFree(rc);
    if (r < 0) return -1;
    struct rds_state *s = fl_calloc(1, sizeof *s);
    s->old = old;
    fi->state = s;
    return 0;
}

static int maxmem_inject(struct fault_inst *fi, char *err)
{
    const struct rds_cfg *c = fi->cfg;
    if (!fi->state && maxmem_prepare(fi, err) < 0) return -1;
    struct rds_state *s = fi->state;
    redisContext *rc = open_target(fi, err);
    if (!rc) return -1;
    char what[256];
    snprintf(what, sizeof what, "redis.maxmemory on target '%s': CONFIG SET maxmemory", fi->target->name);
    int r = run(rc, what, err, NULL, "CONFIG SET maxmemory %lld", (long long)c->bytes);
    /* no reply (a timeout, a lost connection) is not a refusal: Redis may have set it; the
     * undo of the failed inject sets the value found back */
    if (r < 0 && rc->err) s->applied = 1;
    redisFree(rc);
    if (r < 0) return -1;
    s->applied = 1;
    return 0;
}

static int set_maxmem(redisContext *rc, const char *old, const char *tname, char *err)
{
    char what[256];
    snprintf(what, sizeof what, "redis.maxmemory revert on target '%s': CONFIG SET maxmemory %s", tname, old);
    return run(rc, what, err, NULL, "CONFIG SET maxmemory %s", old);
}

static int maxmem_revert(struct fault_inst *fi, char *err)
{
    const struct rds_state *s = fi->state;
    if (!s || !s->old || !s->applied) return 0;
    redisContext *rc = open_target(fi, err);
    if (!rc) return -1;
    int r = set_maxmem(rc, s->old, fi->target->name, err);
    redisFree(rc);
    if (r == 0) fault_progress(fi, "revert", 0, json_pack("{s:s}", "maxmemory", s->old));
    return r;
}

static json_t *maxmem_save(const struct fault_inst *fi)
{
    const struct rds_state *s = fi->state;
    json_t *j = url_save(fi, "revert: CONFIG SET maxmemory to old");
    json_object_set_new(j, "old", json_string(s && s->old ? s->old : ""));
    json_object_set_new(j, "bytes", json_integer(((const struct rds_cfg *)fi->cfg)->bytes));
    json_object_set_new(j, "applied", json_boolean(s && s->applied));
    return j;
}

static int maxmem_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    const char *old = json_string_value(json_object_get(r->rec, "old"));
    const char *tname = json_string_value(json_object_get(r->rec, "target")) ?: "?";
    if (!old || !*old) return fl_err(err, "journal record of redis.maxmemory has no 'old' value");
    redisContext *rc = open_saved(r->rec, ctx, err);
    if (!rc) {
        fault_report(report, "cannot reach Redis to compare maxmemory with %s: %s", old, err);
        return -1;
    }
    char *now = NULL;
    int ret = get_maxmem(rc, tname, &now, err);
    json_t *bytes = json_object_get(r->rec, "bytes");
    char set[32] = "";
    if (json_is_integer(bytes)) snprintf(set, sizeof set, "%lld", (long long)json_integer_value(bytes));
    if (ret == 0 && !strcmp(now, old)) {
        fault_report(report, "maxmemory was %s, found %s: nothing to do", old, now);
    } else if (ret == 0 && set[0] && strcmp(now, set) != 0) {
        /* neither the value before nor the fault's: an operator set it since; theirs wins */
        fault_report(report, "maxmemory was %s, the fault set %s, found %s: changed by someone else since the run: "
                     "left as it is", old, set, now);
    } else if (ret == 0) {
        ret = set_maxmem(rc, old, tname, err);
        if (ret == 0) fault_report(report, "maxmemory was %s, found %s: set back to %s", old, now, old);
        else fault_report(report, "maxmemory was %s, found %s: setting it back failed: %s", old, now, err);
    } else {
        fault_report(report, "cannot read maxmemory: %s", err);
    }
    free(now);
    redisFree(rc);
    return ret;
}

static void maxmem_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct rds_cfg *c = fi->cfg;
    const struct rds_url *u = rds_target_url(fi->target);
    buf_addf(out, "CONFIG SET maxmemory %lld on target '%s' (%s)", (long long)c->bytes,
             fi->target ? fi->target->name : "?", u ? u->shown : "?");
    const struct rds_state *s = fi->state;
    if (s && s->old) buf_addf(out, "; revert: back to %s", s->old);
    else buf_adds(out, "; revert: back to the value found");
}

const struct fault_ops fault_redis_pause = {
    .name = "redis.pause",
    .target_kind = "redis",
    .summary = "CLIENT PAUSE (mode: all or write) for the window",
    .revert_summary = "CLIENT UNPAUSE (a pause of ALL also ends by itself at the window's end)",
    .params = pause_params,
    .parse = pause_parse,
    .prepare = pause_prepare,
    .inject = pause_inject,
    .revert = pause_revert,
    .save = pause_save,
    .reconcile = pause_reconcile,
    .describe = pause_describe,
    .free_cfg = free,
    .free_state = state_free,
};

const struct fault_ops fault_redis_kill_clients = {
    .name = "redis.kill_clients",
    .target_kind = "redis",
    .summary = "CLIENT KILL TYPE normal|pubsub|replica (type:)",
    .revert_summary = "none (clients reconnect)",
    .params = kill_params,
    .parse = kill_parse,
    .inject = kill_inject,
    .save = kill_save,
    .reconcile = kill_reconcile,
    .describe = kill_describe,
    .free_cfg = free,
    .free_state = state_free,
};

const struct fault_ops fault_redis_maxmemory = {
    .name = "redis.maxmemory",
    .target_kind = "redis",
    .summary = "CONFIG SET maxmemory (bytes:)",
    .revert_summary = "the old value",
    .params = maxmem_params,
    .parse = maxmem_parse,
    .prepare = maxmem_prepare,
    .inject = maxmem_inject,
    .revert = maxmem_revert,
    .save = maxmem_save,
    .reconcile = maxmem_reconcile,
    .describe = maxmem_describe,
    .free_cfg = free,
    .free_state = state_free,
};
