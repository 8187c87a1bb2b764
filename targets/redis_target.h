/* redis_target.h -- the `redis` target (targets/redis_target.c), as redis faults and probes
 * (faults/redis.c, probes/redis.c) reach it. */
#ifndef FL_REDIS_TARGET_H
#define FL_REDIS_TARGET_H

#include <hiredis.h>
#include <stddef.h>
#include "target.h"

struct rds_url {
    char *host;
    int port;
    char *user, *password;   /* NULL when absent */
    int db;
    char *shown;             /* redis://host:port/db, with ":***@" when there is a password */
};

extern const struct target_ops target_redis;
/* redis://[[user]:password@]host[:port][/db]; 0, or -1 with err (the password never in it) */
int rds_url_parse(const char *url, struct rds_url *u, char *err);
void rds_url_release(struct rds_url *u);
const char *rds_url_shown(const struct rds_url *u);
/* the target's URL, NULL when t is not a redis target */
const struct rds_url *rds_target_url(const struct target *t);
/* connected, authenticated and on its db; NULL with err (secrets redacted) */
redisContext *rds_open(const struct rds_url *u, int timeout_ms, char *err);
/* what went wrong with a command: the error reply, the connection's error, or "no reply" */
void rds_reply_err(redisContext *c, redisReply *r, char *out, size_t n);

#endif
