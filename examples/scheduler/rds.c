/* rds.c -- Redis with bounded connect/command timeouts and a small connection pool.
 *
 * A context that saw any I/O error or timeout is dropped (hiredis marks it with c->err);
 * the next request connects again, so a Redis restart heals by itself.
 */
#include "sched.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

redisContext *rds_connect(const char *host, int port, const char *password, int timeout_ms, char *err)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        fl_err(err, "cannot connect to redis '%s:%d': %s", host, port, c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        fl_err(err, "cannot set redis timeout: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    if (password && *password) {
        const char *argv[2] = { "AUTH", password };
        redisReply *r = redisCommandArgv(c, 2, argv, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            fl_err(err, "redis '%s:%d' refused AUTH: %s", host, port,
                   r ? r->str : c->errstr);
            if (r) freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

#define RDS_POOL_MAX 64

struct rds_pool {
    pthread_mutex_t mu;
    redisContext *idle[RDS_POOL_MAX];
    int nidle, max;
    char *host, *password;
    int port, timeout_ms;
};

struct rds_pool *rds_pool_new(const char *host, int port, const char *password, int timeout_ms, int max)
{
    struct rds_pool *p = fl_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->host = fl_strdup(host);
    p->password = password ? fl_strdup(password) : NULL;
    p->port = port;
    p->timeout_ms = timeout_ms;
    p->max = max < 1 ? 1 : max > RDS_POOL_MAX ? RDS_POOL_MAX : max;
    return p;
}

void rds_pool_free(struct rds_pool *p)
{
    if (!p) return;
    for (int i = 0; i < p->nidle; i++) redisFree(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    free(p->host);
    free(p->password);
    free(p);
}

int rds_pool_run(struct rds_pool *p, const struct rds_cmd *cmds, int n, redisReply **replies, char *err)
{
    redisContext *c = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->nidle > 0) c = p->idle[--p->nidle];
    pthread_mutex_unlock(&p->mu);
    if (!c && !(c = rds_connect(p->host, p->port, p->password, p->timeout_ms, err))) return -1;

    for (int i = 0; i < n; i++) {
        replies[i] = NULL;
        redisAppendCommandArgv(c, cmds[i].argc, (const char **)cmds[i].argv, NULL);
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK || !r) {
            fl_err(err, "redis '%s:%d': %s", p->host, p->port, c->errstr[0] ? c->errstr : "no reply");
            failed = 1;
            break;
        }
        replies[i] = r;
        if (replies[i]->type == REDIS_REPLY_ERROR && !failed) {
            fl_err(err, "redis '%s:%d' answered %s: %s", p->host, p->port, cmds[i].argv[0], replies[i]->str);
            failed = 2;
        }
    }
    if (failed) {
        for (int i = 0; i < n; i++) {
            if (replies[i]) freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
    }
    /* an I/O failure leaves replies unread on the wire: the context cannot be reused */
    if (failed == 1 || c->err) {
        redisFree(c);
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    if (p->nidle < p->max) {
        p->idle[p->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (c) redisFree(c);
    return failed ? -1 : 0;
}
