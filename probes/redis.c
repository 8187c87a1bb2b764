/* redis.c -- the `redis` probe: any command's reply through hiredis, compared with expect:
 * (numerically when both are numbers). No connection is "could not check" (-1, inconclusive);
 * an error reply is an answer (failed). */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe.h"
#include "redis_target.h"
#include "target.h"
#include "value.h"

struct prd_cfg {
    char *target;
    const struct target *tgt;   /* resolved at plan load (the plan owns it) */
    char **command;
    int has_expect;
    struct expect expect;
    int64_t max_latency_ms;
    int64_t timeout_ms;
};

static const struct param_spec prd_params[] = {
    { "target", PT_TARGET, PARAM_REQUIRED, "a redis target of the plan" },
    { "command", PT_STRLIST, 0, "the command as a list, e.g. [LLEN, celery] (default [PING])" },
    { "expect", PT_EXPECT, 0, "the reply: text (PONG) or a comparison (\"< 100\")" },
    { "max_latency", PT_DURATION, 0, "the reply must come within this" },
    { "timeout", PT_DURATION, 0, "connect and reply timeout (default 5s): past it, inconclusive" },
    { 0 } };

static void prd_free(void *cfg)
{
    struct prd_cfg *c = cfg;
    if (!c) return;
    free(c->target);
    param_strv_free(c->command);
    if (c->has_expect) expect_release(&c->expect);
    free(c);
}

static int prd_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg, struct diag *d)
{
    (void)entry;
    struct prd_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    char err[FL_ERR_LEN];
    c->target = fl_strdup(param_str(val, "target", ""));
    const struct target *t = c->tgt = drv_target(pc, c->target);
    if (t && t->ops && strcmp(t->ops->name, "redis") != 0) {
        diag_add(d, node_get(val, "target"), "redis probe: target '%s' is a %s target, not redis", c->target, t->ops->name);
        bad = 1;
    }
    c->command = param_strv(val, "command");
    if (!c->command) {
        c->command = fl_calloc(2, sizeof *c->command);
        c->command[0] = fl_strdup("PING");
    } else if (!c->command[0]) {
        diag_add(d, node_get(val, "command"), "redis probe: command must not be empty");
        bad = 1;
    }
    const char *ex = param_str(val, "expect", NULL);
    if (ex) {
        if (expect_parse(ex, NULL, &c->expect, err) < 0) {
            diag_add(d, node_get(val, "expect"), "redis probe: expect: %s", err);
            bad = 1;
        } else {
            c->has_expect = 1;
        }
    }
    c->max_latency_ms = node_get(val, "max_latency") ? param_ms(val, "max_latency", 0) : -1;
    c->timeout_ms = param_ms(val, "timeout", 5000);
    if (bad) { prd_free(c); return -1; }
    *cfg = c;
    return 0;
}

/* the reply as text: strings and status as is, integers in decimal, nil as "nil",
 * arrays as their elements joined by spaces */
static void reply_text(const redisReply *r, struct buf *b)
{
    switch (r->type) {
    case REDIS_REPLY_STRING: case REDIS_REPLY_STATUS: case REDIS_REPLY_ERROR:
        buf_add(b, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER: buf_addf(b, "%lld", r->integer); break;
    case REDIS_REPLY_NIL: buf_adds(b, "nil"); break;
    case REDIS_REPLY_ARRAY:
        for (size_t i = 0; i < r->elements; i++) {
            if (i) buf_addc(b, ' ');
            reply_text(r->element[i], b);
        }
        break;
    default:
        buf_addf(b, "(reply type %d)", r->type);
    }
}

static int prd_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct prd_cfg *c = pi->cfg;
    const struct target *t = c->tgt;
    const struct rds_url *u = rds_target_url(t);
    if (!u) return fl_err(err, "redis probe: no redis target '%s'", c->target);
    redisContext *rc = rds_open(u, (int)c->timeout_ms, err);
    if (!rc) return -1;
    size_t argc = param_strv_len(c->command);
    size_t *lens = fl_calloc(argc, sizeof *lens);
    for (size_t i = 0; i < argc; i++) lens[i] = strlen(c->command[i]);
    int64_t t0 = fl_now_ns();
    redisReply *r = redisCommandArgv(rc, (int)argc, (const char **)c->command, lens);
    obs->latency_ms = (double)(fl_now_ns() - t0) / 1e6;
    free(lens);
    if (!r) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", rc->errstr);
        fl_redact(msg);
        redisFree(rc);
        return fl_err(err, "redis probe on '%s': %s", c->target, msg);
    }
    struct buf b;
    buf_init(&b, 64 * 1024);
    reply_text(r, &b);
    fl_redact(b.data);
    if (r->type == REDIS_REPLY_ERROR) {
        obs->outcome = PROBE_FAILED;
        snprintf(obs->observed, sizeof obs->observed, "error: %.400s", b.data);
    } else {
        snprintf(obs->observed, sizeof obs->observed, "%.400s in %.1fms", b.data, obs->latency_ms);
        char *endp;
        double num = strtod(b.data, &endp);
        if (b.len && !*endp) { obs->has_value = 1; obs->value = num; }
        int ok = c->has_expect ? expect_eval_str(&c->expect, b.data) : 1;
        if (c->max_latency_ms >= 0 && obs->latency_ms > (double)c->max_latency_ms) {
            ok = 0;
            size_t l = strlen(obs->observed);
            snprintf(obs->observed + l, sizeof obs->observed - l, " (over %lldms)", (long long)c->max_latency_ms);
        }
        obs->outcome = ok ? PROBE_PASSED : PROBE_FAILED;
    }
    buf_release(&b);
    freeReplyObject(r);
    redisFree(rc);
    return 0;
}

static void prd_describe(const void *cfg, struct buf *out)
{
    const struct prd_cfg *c = cfg;
    buf_adds(out, "[");
    for (size_t i = 0; c->command[i]; i++) buf_addf(out, "%s%s", i ? " " : "", c->command[i]);
    buf_addf(out, "] on target '%s'", c->target);
    if (c->has_expect) buf_addf(out, " expect %s", c->expect.text);
    if (c->max_latency_ms >= 0) buf_addf(out, " within %lldms", (long long)c->max_latency_ms);
}

const struct probe_ops probe_redis = {
    .name = "redis",
    .summary = "any command's reply, or a number compared (\"< 100\"); no connection is inconclusive",
    .params = prd_params,
    .parse = prd_parse,
    .check = prd_check,
    .describe = prd_describe,
    .free_cfg = prd_free,
};
