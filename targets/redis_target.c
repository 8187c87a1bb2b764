/* redis_target.c -- the `redis` target (a redis:// URL) and what its faults and probes share:
 * the URL, connecting (AUTH, SELECT), error replies. A password in the URL is registered as a
 * secret at parse time and never described. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "params.h"
#include "redis_target.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* %XX escapes of a URL part */
static char *pct_decode(const char *s, size_t n)
{
    char *out = fl_malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
            continue;
        }
        out[j++] = s[i];
    }
    out[j] = '\0';
    return out;
}

void rds_url_release(struct rds_url *u)
{
    free(u->host);
    free(u->user);
    free(u->password);
    free(u->shown);
    memset(u, 0, sizeof *u);
}

/* redis://[[user]:password@]host[:port][/db]; no I/O */
int rds_url_parse(const char *url, struct rds_url *u, char *err)
{
    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (!url || strncmp(url, "redis://", 8) != 0)
        return fl_err(err, "not a redis URL (want redis://[:password@]host[:port][/db])");
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    const char *slash = strchr(at ? at : p, '/');
    if (at && (!slash || at < slash)) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p) u->user = pct_decode(p, (size_t)(colon - p));
            u->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            /* redis://password@host is how some clients write a bare password */
            u->password = pct_decode(p, (size_t)(at - p));
        }
        if (u->password && !*u->password) { free(u->password); u->password = NULL; }
        if (u->password) fl_secret_add(u->password);
        p = at + 1;
    }
    const char *end = slash ? slash : p + strlen(p);
    const char *hs = p, *he;
    const char *portp = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) { rds_url_release(u); return fl_err(err, "redis URL: unterminated [ipv6] host"); }
        hs = p + 1;
        he = rb;
        if (rb + 1 < end && rb[1] == ':') portp = rb + 2;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        he = colon ? colon : end;
        if (colon) portp = colon + 1;
    }
    u->host = he > hs ? fl_strndup(hs, (size_t)(he - hs)) : fl_strdup("127.0.0.1");
    if (portp) {
        char *pe;
        long port = strtol(portp, &pe, 10);
        if (pe != end || port < 1 || port > 65535) { rds_url_release(u); return fl_err(err, "redis URL: bad port"); }
        u->port = (int)port;
    }
    if (slash && slash[1]) {
        char *de;
        long db = strtol(slash + 1, &de, 10);
        if (*de || db < 0 || db > 100000) { rds_url_release(u); return fl_err(err, "redis URL: bad database number"); }
        u->db = (int)db;
    }
    u->shown = fl_asprintf("redis://%s%s%s%s:%d/%d", u->user ? u->user : "", u->password ? ":***" : "",
                           u->user || u->password ? "@" : "", u->host, u->port, u->db);
    return 0;
}

const char *rds_url_shown(const struct rds_url *u) { return u->shown; }

const struct rds_url *rds_target_url(const struct target *t)
{
    if (!t || !t->ops || strcmp(t->ops->name, "redis") != 0) return NULL;
    return t->cfg;
}

void rds_reply_err(redisContext *c, redisReply *r, char *out, size_t n)
{
    if (r && r->type == REDIS_REPLY_ERROR) snprintf(out, n, "%s", r->str);
    else if (c && c->err) snprintf(out, n, "%s", c->errstr);
    else snprintf(out, n, "no reply");
    fl_redact(out);
}

redisContext *rds_open(const struct rds_url *u, int timeout_ms, char *err)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
    char msg[FL_ERR_LEN];
    if (!c || c->err) {
        snprintf(msg, sizeof msg, "%s", c ? c->errstr : "out of memory");
        fl_redact(msg);
        fl_err(err, "cannot connect to redis %s: %s", u->shown, msg);
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *r = NULL;
    if (u->password) {
        r = u->user ? redisCommand(c, "AUTH %s %s", u->user, u->password) : redisCommand(c, "AUTH %s", u->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            rds_reply_err(c, r, msg, sizeof msg);
            fl_err(err, "redis %s: authentication failed: %s", u->shown, msg);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (u->db) {
        r = redisCommand(c, "SELECT %d", u->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            rds_reply_err(c, r, msg, sizeof msg);
            fl_err(err, "redis %s: SELECT %d: %s", u->shown, u->db, msg);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    if (r) freeReplyObject(r);
    redisFree(c);
    return NULL;
}

/* ---- target ------------------------------------------------------------------------ */
static const struct param_spec target_params[] = {
    { "url", PT_STR, PARAM_REQUIRED, "redis://[:password@]host[:port][/db]" },
    { 0 },
};

static int target_parse(const struct drv_parse *pc, struct target *t, const struct node *spec, struct diag *d)
{
    (void)pc;
    char err[FL_ERR_LEN];
    struct rds_url *u = fl_calloc(1, sizeof *u);
    if (rds_url_parse(param_str(spec, "url", NULL), u, err) < 0) {
        diag_add(d, node_get(spec, "url") ? node_get(spec, "url") : spec, "target '%s': url: %s", t->name, err);
        free(u);
        return -1;
    }
    t->cfg = u;
    return 0;
}

static void target_describe(const struct target *t, struct buf *out)
{
    const struct rds_url *u = t->cfg;
    buf_addf(out, "Redis %s", u->shown);
}

static void target_free(struct target *t)
{
    struct rds_url *u = t->cfg;
    if (!u) return;
    rds_url_release(u);
    free(u);
    t->cfg = NULL;
}

const struct target_ops target_redis = {
    .name = "redis",
    .summary = "a Redis server reached with a redis:// URL",
    .params = target_params,
    .parse = target_parse,
    .describe = target_describe,
    .free = target_free,
};
