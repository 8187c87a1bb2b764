/* pg_target.c -- the `postgres` target (a libpq DSN) and what its faults and probes share:
 * connecting, the DSN without its password. Passwords in a DSN are registered as secrets at
 * parse time and never described. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "params.h"
#include "pg_target.h"

struct pg_target {
    char *dsn;
    char *shown;          /* the DSN without its password, for messages */
};

/* host=.. port=.. dbname=.. user=.. of a DSN (keyword or URI form), no password; NULL when
 * libpq cannot parse it (the message in err) */
static char *dsn_shown(const char *dsn, char *err)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (!opts) {
        /* libpq's message may quote the DSN: say only what is wrong in general terms */
        fl_err(err, "not a valid libpq connection string (keyword=value pairs or postgresql:// URI)");
        if (perr) PQfreemem(perr);
        return NULL;
    }
    struct buf b;
    buf_init(&b, 4096);
    static const char *const show[] = { "host", "hostaddr", "port", "dbname", "user", "sslmode", NULL };
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val) continue;
        if (strcmp(o->keyword, "password") == 0) {
            fl_secret_add(o->val);
            continue;
        }
        for (int i = 0; show[i]; i++)
            if (strcmp(o->keyword, show[i]) == 0) buf_addf(&b, "%s%s=%s", b.len ? " " : "", o->keyword, o->val);
    }
    PQconninfoFree(opts);
    if (!b.len) buf_adds(&b, "(libpq defaults)");
    return buf_detach(&b);
}

const char *pg_target_dsn(const struct target *t, const char **shown)
{
    if (!t || !t->ops || strcmp(t->ops->name, "postgres") != 0 || !t->cfg) return NULL;
    const struct pg_target *pt = t->cfg;
    if (shown) *shown = pt->shown;
    return pt->dsn;
}

/* the DSN as a keyword=value string without its password (values quoted), for the journal:
 * rollback reaches the server with it (and libpq's PGPASSWORD / ~/.pgpass, or the plan's
 * DSN when --plan is given); NULL when libpq cannot parse it */
char *pg_dsn_no_password(const char *dsn)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (perr) PQfreemem(perr);
    if (!opts) return NULL;
    struct buf b;
    buf_init(&b, 4096);
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val || !strcmp(o->keyword, "password")) continue;
        buf_addf(&b, "%s%s='", b.len ? " " : "", o->keyword);
        for (const char *c = o->val; *c; c++) buf_addf(&b, "%s%c", *c == '\'' || *c == '\\' ? "\\" : "", *c);
        buf_adds(&b, "'");
    }
    PQconninfoFree(opts);
    return buf_detach(&b);
}

/* libpq's message of c, first line, secrets redacted, after what */
static void conn_err(PGconn *c, const char *shown, char *err)
{
    char msg[FL_ERR_LEN];
    snprintf(msg, sizeof msg, "%s", c ? PQerrorMessage(c) : "out of memory");
    msg[strcspn(msg, "\n")] = '\0';
    fl_redact(msg);
    fl_err(err, "cannot connect to postgres (%s): %s", shown, msg);
}

/* wait until c's socket is ready for reading (or writing), at most until deadline_ms:
 * 1 ready, 0 deadline passed, -1 poll failed */
static int wait_sock(PGconn *c, int for_read, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - fl_now_ms();
        if (left <= 0) return 0;
        struct pollfd p = { .fd = PQsocket(c), .events = (short)(for_read ? POLLIN : POLLOUT) };
        int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (n > 0) return 1;
        if (n < 0 && errno != EINTR) return -1;
    }
}

PGconn *pg_open_until(const char *dsn, const char *shown, const char *appname, int64_t deadline_ms, int *timed_out,
                      char *err)
{
    if (timed_out) *timed_out = 0;
    int64_t total = deadline_ms - fl_now_ms();
    char tmo[32];
    /* libpq's own connect_timeout (whole seconds, at least 2) only backs up the deadline */
    snprintf(tmo, sizeof tmo, "%lld", (long long)(total > 2000 ? (total + 999) / 1000 : 2));
    const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
    const char *vals[] = { dsn, appname, tmo, NULL };
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c || PQstatus(c) == CONNECTION_BAD) {
        conn_err(c, shown, err);
        if (c) PQfinish(c);
        return NULL;
    }
    /* non-blocking: a server that accepts the TCP connection and then says nothing (frozen
     * by SIGSTOP, a full backlog) cannot hold us past the deadline */
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            conn_err(c, shown, err);
            PQfinish(c);
            return NULL;
        }
        int w = wait_sock(c, st == PGRES_POLLING_READING, deadline_ms);
        if (w <= 0) {
            if (w == 0) {
                if (timed_out) *timed_out = 1;
                fl_err(err, "cannot connect to postgres (%s): no answer within %lldms", shown, (long long)(total > 0 ? total : 0));
            } else {
                fl_err(err, "cannot connect to postgres (%s): poll: %s", shown, strerror(errno));
            }
            PQfinish(c);
            return NULL;
        }
        st = PQconnectPoll(c);
    }
    return c;
}

PGconn *pg_open(const char *dsn, const char *shown, const char *appname, int timeout_s, char *err)
{
    return pg_open_until(dsn, shown, appname, fl_now_ms() + (int64_t)(timeout_s > 0 ? timeout_s : 5) * 1000, NULL, err);
}

PGresult *pg_exec_until(PGconn *c, const char *sql, int64_t deadline_ms, int *timed_out, char *err)
{
    if (timed_out) *timed_out = 0;
    /* non-blocking sends too: a query larger than the socket's buffer to a frozen server */
    if (PQsetnonblocking(c, 1) < 0 || !PQsendQuery(c, sql)) {
        pg_msg(c, err, FL_ERR_LEN);
        return NULL;
    }
    int f;
    while ((f = PQflush(c)) == 1) {
        int w = wait_sock(c, 0, deadline_ms);
        if (w <= 0) {
            if (w == 0 && timed_out) *timed_out = 1;
            if (w == 0) fl_err(err, "no answer before the deadline (the query could not even be sent)");
            else fl_err(err, "poll: %s", strerror(errno));
            return NULL;
        }
    }
    if (f < 0) {
        pg_msg(c, err, FL_ERR_LEN);
        return NULL;
    }
    PGresult *keep = NULL;   /* the first error, else the last result (as PQexec) */
    for (;;) {
        while (!PQisBusy(c)) {
            PGresult *r = PQgetResult(c);
            if (!r) return keep ? keep : PQmakeEmptyPGresult(c, PGRES_COMMAND_OK);
            if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
                PQclear(r);
                continue;
            }
            PQclear(keep);
            keep = r;
        }
        int w = wait_sock(c, 1, deadline_ms);
        if (w <= 0) {
            PQclear(keep);
            if (w == 0 && timed_out) *timed_out = 1;
            if (w == 0) fl_err(err, "no answer before the deadline");
            else fl_err(err, "poll: %s", strerror(errno));
            return NULL;
        }
        if (!PQconsumeInput(c)) {
            PQclear(keep);
            pg_msg(c, err, FL_ERR_LEN);
            return NULL;
        }
    }
}

void pg_msg(PGconn *c, char *out, size_t n)
{
    snprintf(out, n, "%s", PQerrorMessage(c));
    out[strcspn(out, "\n")] = '\0';
    fl_redact(out);
}

/* ---- target ------------------------------------------------------------------------ */
static const struct param_spec target_params[] = {
    { "dsn", PT_STR, PARAM_REQUIRED, "libpq connection string (host=... dbname=... user=...) or postgresql:// URI" },
    { 0 },
};

static int target_parse(const struct drv_parse *pc, struct target *t, const struct node *spec, struct diag *d)
{
    (void)pc;
    const char *dsn = param_str(spec, "dsn", NULL);
    char err[FL_ERR_LEN];
    char *shown = dsn ? dsn_shown(dsn, err) : NULL;
    if (!shown) {
        diag_add(d, node_get(spec, "dsn") ? node_get(spec, "dsn") : spec, "target '%s': dsn: %s", t->name,
                 dsn ? err : "missing");
        return -1;
    }
    struct pg_target *pt = fl_calloc(1, sizeof *pt);
    pt->dsn = fl_strdup(dsn);
    pt->shown = shown;
    t->cfg = pt;
    return 0;
}

static void target_describe(const struct target *t, struct buf *out)
{
    const struct pg_target *pt = t->cfg;
    buf_addf(out, "PostgreSQL %s", pt->shown);
}

static void target_free(struct target *t)
{
    struct pg_target *pt = t->cfg;
    if (!pt) return;
    free(pt->dsn);
    free(pt->shown);
    free(pt);
    t->cfg = NULL;
}

const struct target_ops target_postgres = {
    .name = "postgres",
    .summary = "a PostgreSQL server reached with a libpq DSN",
    .params = target_params,
    .parse = target_parse,
    .describe = target_describe,
    .free = target_free,
};
