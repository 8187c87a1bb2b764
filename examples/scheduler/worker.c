/* worker.c -- `scheduler-api worker`: takes generation jobs from Redis, writes to PostgreSQL.
 *
 * Reliable-queue pattern: BLMOVE scheduler:jobs -> scheduler:jobs:processing (1 s block, so
 * the loop sees signals), generate, then mark the job hash done and drop it from
 * processing. A job whose database write failed goes back to the queue (up to
 * WORKER_MAX_ATTEMPTS); on every (re)connect the worker moves what is left in processing
 * back to the queue, so a killed worker loses no job (generation is idempotent, a job run
 * twice writes the same rows).
 */
#include "sched.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE "scheduler:jobs"
#define PROCESSING "scheduler:jobs:processing"
#define WORKER_MAX_ATTEMPTS 30
#define WORKER_PG_DEADLINE_MS 10000

static void on_signal(int sig) { fl_abort(sig); }

/* one command; NULL reply or error reply -> -1 (the reply is freed) */
static int cmd(redisContext *c, redisReply **out, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        sched_log("redis answered %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return -1;
    }
    if (out) *out = r;
    else freeReplyObject(r);
    return 0;
}

static int set_status(redisContext *c, const char *key, const char *status, const char *f1, const char *v1)
{
    char now[32];
    fl_iso8601(fl_wall(), now);
    const char *argv[8] = { "HSET", key, "status", status, "updated_at", now, f1, v1 };
    return cmd(c, NULL, f1 ? 8 : 6, argv);
}

/* move everything a previous worker left in processing back to the queue */
static int requeue_leftovers(redisContext *c)
{
    for (int i = 0; i < 100000; i++) {
        redisReply *r;
        const char *argv[] = { "RPOPLPUSH", PROCESSING, QUEUE };
        if (cmd(c, &r, 3, argv) != 0) return -1;
        int more = r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
        if (!more) return 0;
        if (i == 0) sched_log("re-queued jobs left in %s", PROCESSING);
    }
    return 0;
}

/* process one payload: 1 finished (done or failed), 0 re-queued, -1 when Redis failed (the
 * caller reconnects) */
static int process(const struct sched_cfg *cfg, redisContext *c, PGconn **pg, const char *payload, int job_delay_ms)
{
    json_t *j = json_loads(payload, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "job_id"));
    const char *sd = json_string_value(json_object_get(j, "start_date"));
    const char *ed = json_string_value(json_object_get(j, "end_date"));
    int s, e;
    const char *lrem[] = { "LREM", PROCESSING, "1", payload };
    if (!id || strlen(id) > 64 || !sd || !ed || sched_parse_date(sd, &s) || sched_parse_date(ed, &e) || e < s) {
        sched_log("dropping a malformed job: %.200s", payload);
        json_decref(j);
        return cmd(c, NULL, 4, lrem) == 0 ? 1 : -1;
    }
    char key[96], err[FL_ERR_LEN];
    snprintf(key, sizeof key, "scheduler:job:%s", id);
    redisReply *r;
    const char *incr[] = { "HINCRBY", key, "attempts", "1" };
    if (cmd(c, &r, 4, incr) != 0) return json_decref(j), -1;
    long long attempts = r->type == REDIS_REPLY_INTEGER ? r->integer : 1;
    freeReplyObject(r);
    if (set_status(c, key, "running", NULL, NULL) != 0) return json_decref(j), -1;
    if (job_delay_ms > 0) fl_sleep_ms(job_delay_ms); /* stands for a long solver run */

    int64_t t0 = fl_now_ms();
    int written = 0, rc = DB_UNAVAILABLE;
    if (*pg && PQstatus(*pg) != CONNECTION_OK) {
        PQfinish(*pg);
        *pg = NULL;
    }
    if (!*pg) *pg = db_connect(cfg->pg_dsn, WORKER_PG_DEADLINE_MS, t0 + WORKER_PG_DEADLINE_MS, err);
    if (*pg) rc = gen_schedule(*pg, t0 + WORKER_PG_DEADLINE_MS, s, e, &written, err);
    if (rc == DB_UNAVAILABLE && *pg) {
        PQfinish(*pg);
        *pg = NULL;
    }
    int ret;
    if (rc == DB_OK) {
        char n[32];
        snprintf(n, sizeof n, "%d", written);
        sched_log("job %s: %s..%s written (%d assignments, %lld ms)", id, sd, ed, written,
                  (long long)(fl_now_ms() - t0));
        const char *hdel[] = { "HDEL", key, "error" }; /* an earlier attempt's */
        ret = set_status(c, key, "done", "assignments", n) == 0 && cmd(c, NULL, 3, hdel) == 0 &&
                      cmd(c, NULL, 4, lrem) == 0
                  ? 1
                  : -1;
    } else if (attempts >= WORKER_MAX_ATTEMPTS || rc == DB_ERROR) {
        sched_log("job %s failed after %lld attempts: %s", id, attempts, err);
        ret = set_status(c, key, "failed", "error", err) == 0 && cmd(c, NULL, 4, lrem) == 0 ? 1 : -1;
    } else {
        sched_log("job %s: attempt %lld failed, re-queued: %s", id, attempts, err);
        const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" };
        const char *rpush[] = { "RPUSH", QUEUE, payload };
        ret = set_status(c, key, "queued", "error", err) == 0 && cmd(c, NULL, 1, multi) == 0 &&
                      cmd(c, NULL, 4, lrem) == 0 && cmd(c, NULL, 3, rpush) == 0 && cmd(c, NULL, 1, exec) == 0
                  ? 0
                  : -1;
        fl_sleep_ms(1000);
    }
    json_decref(j);
    return ret;
}

int worker_run(const struct sched_cfg *cfg, int job_delay_ms)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* the command timeout must outlast BLMOVE's 1 s block */
    int timeout = cfg->redis_timeout_ms + 2000;
    redisContext *c = NULL;
    PGconn *pg = NULL;
    int redis_down = 0, done = 0;
    char err[FL_ERR_LEN];
    sched_log("worker started (queue %s on %s:%d)", QUEUE, cfg->redis_host, cfg->redis_port);
    while (!fl_aborted()) {
        if (!c) {
            c = rds_connect(cfg->redis_host, cfg->redis_port, cfg->redis_password, timeout, err);
            if (c && requeue_leftovers(c) != 0) {
                redisFree(c);
                c = NULL;
            }
            if (!c) {
                if (!redis_down) sched_log("redis unavailable: %s", err);
                redis_down = 1;
                fl_sleep_ms(1000);
                continue;
            }
            if (redis_down) sched_log("redis reachable again");
            redis_down = 0;
        }
        const char *argv[] = { "BLMOVE", QUEUE, PROCESSING, "RIGHT", "LEFT", "1" };
        redisReply *r = NULL;
        if (cmd(c, &r, 6, argv) != 0) {
            if (!redis_down) sched_log("redis unavailable: %s", c->errstr[0] ? c->errstr : "command failed");
            redis_down = 1;
            redisFree(c);
            c = NULL;
            continue;
        }
        if (r->type == REDIS_REPLY_STRING) {
            char *payload = fl_strdup(r->str);
            freeReplyObject(r);
            int p = process(cfg, c, &pg, payload, job_delay_ms);
            if (p < 0) {
                redisFree(c);
                c = NULL;
            }
            done += p > 0;
            free(payload);
        } else {
            freeReplyObject(r);
        }
    }
    sched_log("worker stopping after %d jobs", done);
    if (c) redisFree(c);
    PQfinish(pg);
    return 0;
}
