/* db.c -- PostgreSQL with deadlines: nonblocking connect/query and a bounded connection pool.
 *
 * libpq's own connect_timeout has a 2 s floor and blocking PQexec() waits forever on a frozen
 * server (SIGSTOP keeps the TCP connection up), so every wait here is a poll() bounded by the
 * caller's deadline. A connection that timed out is dropped, never reused.
 */
#include "sched.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* wait for events on fd until the deadline: 1 ready, 0 timed out, -1 error */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - fl_now_ms();
        if (left <= 0 || fl_aborted()) return 0; /* shutting down: give up like a timeout */
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, left > 100 ? 100 : (int)left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static void pq_errline(char *err, const char *what, PGconn *c)
{
    const char *m = c ? PQerrorMessage(c) : "out of memory";
    size_t n = strcspn(m, "\n");
    fl_err(err, "%s: %.*s", what, (int)(n > 300 ? 300 : n), m);
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *db_connect(const char *dsn, int statement_timeout_ms, int64_t deadline_ms, char *err)
{
    char opts[64];
    snprintf(opts, sizeof opts, "-c statement_timeout=%d", statement_timeout_ms > 0 ? statement_timeout_ms : 0);
    /* keywords after "dbname" override what the expanded DSN says */
    const char *keys[] = { "dbname", "application_name", "options", "keepalives", "keepalives_idle",
                           "keepalives_interval", "keepalives_count", "tcp_user_timeout", NULL };
    const char *vals[] = { dsn, "scheduler-api", opts, "1", "5", "2", "2", "5000", NULL };
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c || PQstatus(c) == CONNECTION_BAD) {
        pq_errline(err, "cannot connect to postgresql", c);
        PQfinish(c);
        return NULL;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK) break;
        if (st == PGRES_POLLING_FAILED) {
            pq_errline(err, "cannot connect to postgresql", c);
            PQfinish(c);
            return NULL;
        }
        int w = wait_fd(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_ms);
        if (w <= 0) {
            fl_err(err, "cannot connect to postgresql: %s", w == 0 ? "timed out" : strerror(errno));
            PQfinish(c);
            return NULL;
        }
        st = PQconnectPoll(c);
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    if (PQsetnonblocking(c, 1) != 0) {
        pq_errline(err, "cannot set postgresql connection nonblocking", c);
        PQfinish(c);
        return NULL;
    }
    return c;
}

int db_exec(PGconn *c, int64_t deadline_ms, const char *sql, int nparams, const char *const *params,
            PGresult **res, char *err)
{
    if (res) *res = NULL;
    /* without parameters the simple protocol runs several ';'-separated statements */
    int sent = nparams > 0 ? PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQsendQuery(c, sql);
    if (!sent) {
        pq_errline(err, "postgresql query not sent", c);
        return DB_UNAVAILABLE;
    }
    int f;
    while ((f = PQflush(c)) == 1) {
        int w = wait_fd(PQsocket(c), POLLOUT | POLLIN, deadline_ms);
        if (w <= 0) return fl_err(err, "postgresql query timed out while sending"), DB_UNAVAILABLE;
        if (!PQconsumeInput(c)) break;
    }
    if (f < 0) {
        pq_errline(err, "postgresql query not sent", c);
        return DB_UNAVAILABLE;
    }
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(c)) {
            int w = wait_fd(PQsocket(c), POLLIN, deadline_ms);
            if (w <= 0) {
                PQclear(last);
                fl_err(err, "postgresql did not answer in time");
                return DB_UNAVAILABLE;
            }
            if (!PQconsumeInput(c)) {
                PQclear(last);
                pq_errline(err, "postgresql connection lost", c);
                return DB_UNAVAILABLE;
            }
        }
        PGresult *r = PQgetResult(c);
        if (!r) break;
        PQclear(last);
        last = r;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        PQclear(last);
        pq_errline(err, "postgresql connection lost", c);
        return DB_UNAVAILABLE;
    }
    ExecStatusType st = last ? PQresultStatus(last) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *m = last ? PQresultErrorMessage(last) : PQerrorMessage(c);
        size_t n = strcspn(m, "\n");
        /* 57014 query_canceled: the server-side statement_timeout fired: unavailable too */
        const char *code = last ? PQresultErrorField(last, PG_DIAG_SQLSTATE) : NULL;
        int rc = code && strcmp(code, "57014") == 0 ? DB_UNAVAILABLE : DB_ERROR;
        fl_err(err, "postgresql: %.*s", (int)(n > 300 ? 300 : n), m);
        PQclear(last);
        return rc;
    }
    if (res) *res = last;
    else PQclear(last);
    return DB_OK;
}

/* ---- the pool ------------------------------------------------------------------------ */
#define DB_POOL_MAX 64

struct db_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    PGconn *idle[DB_POOL_MAX];
    int nidle, live, max;
    char *dsn;
    int statement_timeout_ms;
};

struct db_pool *db_pool_new(const char *dsn, int max, int statement_timeout_ms)
{
    struct db_pool *p = fl_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &a);
    pthread_condattr_destroy(&a);
    p->max = max < 1 ? 1 : max > DB_POOL_MAX ? DB_POOL_MAX : max;
    p->dsn = fl_strdup(dsn);
    p->statement_timeout_ms = statement_timeout_ms;
    return p;
}

void db_pool_free(struct db_pool *p)
{
    if (!p) return;
    for (int i = 0; i < p->nidle; i++) PQfinish(p->idle[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->dsn);
    free(p);
}

/* An idle connection whose socket became readable was told something by the server (a
 * shutdown notice, EOF): consume it, and report whether the connection is still good. */
static int idle_conn_ok(PGconn *c)
{
    if (PQstatus(c) != CONNECTION_OK) return 0;
    struct pollfd pf = { .fd = PQsocket(c), .events = POLLIN };
    if (poll(&pf, 1, 0) > 0) {
        if (!PQconsumeInput(c)) return 0;
        PGnotify *n;
        while ((n = PQnotifies(c))) PQfreemem(n);
    }
    return PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
}

/* returns a connection (*fresh = 1 when new), or NULL with err */
static PGconn *pool_take(struct db_pool *p, int64_t deadline_ms, int *fresh, char *err)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->nidle > 0) {
            PGconn *c = p->idle[--p->nidle];
            if (idle_conn_ok(c)) {
                pthread_mutex_unlock(&p->mu);
                *fresh = 0;
                return c;
            }
            PQfinish(c);
            p->live--;
        }
        if (p->live < p->max) {
            p->live++;
            pthread_mutex_unlock(&p->mu);
            PGconn *c = db_connect(p->dsn, p->statement_timeout_ms, deadline_ms, err);
            if (!c) {
                pthread_mutex_lock(&p->mu);
                p->live--;
                pthread_cond_signal(&p->cv);
                pthread_mutex_unlock(&p->mu);
                return NULL;
            }
            *fresh = 1;
            return c;
        }
        int64_t left = deadline_ms - fl_now_ms();
        if (left <= 0) {
            pthread_mutex_unlock(&p->mu);
            fl_err(err, "no postgresql connection free in time (pool of %d busy)", p->max);
            return NULL;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns = ts.tv_nsec + (left % 1000) * 1000000LL;
        ts.tv_sec += left / 1000 + ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
}

static void pool_give(struct db_pool *p, PGconn *c, int ok)
{
    pthread_mutex_lock(&p->mu);
    if (ok && p->nidle < DB_POOL_MAX && PQstatus(c) == CONNECTION_OK &&
        PQtransactionStatus(c) == PQTRANS_IDLE) {
        p->idle[p->nidle++] = c;
        c = NULL;
    } else {
        p->live--;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    PQfinish(c); /* outside the lock; PQfinish(NULL) does nothing */
}

int db_pool_run(struct db_pool *p, int64_t deadline_ms, int64_t retry_until_ms, db_op_fn op, void *arg,
                char *err)
{
    int rc = DB_UNAVAILABLE;
    for (int attempt = 0; attempt < 100000; attempt++) {
        int64_t dl = retry_until_ms > deadline_ms ? retry_until_ms : deadline_ms;
        int fresh = 0;
        int64_t t0 = fl_now_ms();
        PGconn *c = pool_take(p, dl, &fresh, err);
        if (c) {
            rc = op(c, dl, arg, err);
            pool_give(p, c, rc != DB_UNAVAILABLE);
            if (rc != DB_UNAVAILABLE) return rc;
            /* a stale pooled connection failing at once: one immediate retry on a new one */
            if (!fresh && attempt == 0 && fl_now_ms() - t0 < 100 && fl_now_ms() < dl) continue;
        } else {
            rc = DB_UNAVAILABLE;
        }
        if (retry_until_ms <= deadline_ms || fl_now_ms() + 250 >= retry_until_ms || fl_aborted()) return rc;
        struct timespec ts = { 0, 250 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return rc;
}
