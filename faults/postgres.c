/* postgres.c -- the faults that break PostgreSQL from the inside through libpq:
 * postgres.terminate, postgres.lock, postgres.exhaust (the `postgres` target: targets/pg_target.c). */
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fault.h"
#include "pg_target.h"
#include "fl.h"
#include "params.h"

/* run a command that returns no rows we need; 0 or -1 with err */
static int pg_exec(PGconn *c, const char *sql, const char *what, char *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[FL_ERR_LEN];
        pg_msg(c, msg, sizeof msg);
        PQclear(r);
        return fl_err(err, "%s: %s", what, msg);
    }
    PQclear(r);
    return 0;
}

/* ---- faults ------------------------------------------------------------------------ */
struct pg_cfg {
    char *database, *appname;   /* terminate */
    char *table, *mode;         /* lock */
    int connections;            /* exhaust */
};

struct pg_state {
    PGconn **conns;             /* lock: one; exhaust: the held ones */
    int n;
    int terminated;
    int wanted;
    char appname[64];           /* lock, exhaust: this step's sessions, and only they, carry it */
    char *conninfo;             /* the DSN without its password (journal) */
};

static void cfg_free(void *p)
{
    struct pg_cfg *c = p;
    if (!c) return;
    free(c->database);
    free(c->appname);
    free(c->table);
    free(c->mode);
    free(c);
}

static void state_free(void *p)
{
    struct pg_state *s = p;
    if (!s) return;
    for (int i = 0; i < s->n; i++)
        if (s->conns[i]) PQfinish(s->conns[i]);
    free(s->conns);
    free(s->conninfo);
    free(s);
}

static int need_target(const struct fault_inst *fi, const char **dsn, const char **shown, char *err)
{
    *dsn = pg_target_dsn(fi->target, shown);
    if (!*dsn) return fl_err(err, "%s: target '%s' is not a postgres target", fi->ops->name, fi->target ? fi->target->name : "?");
    return 0;
}

/* postgres.terminate */
static const struct param_spec terminate_params[] = {
    { "database", PT_STR, 0, "terminate the backends connected to this database" },
    { "application_name", PT_STR, 0, "terminate the backends with this application_name" },
    { 0 },
};

static int terminate_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc;
    const char *db = param_str(step, "database", NULL), *app = param_str(step, "application_name", NULL);
    if (!db && !app) {
        diag_add(d, step, "postgres.terminate: needs database: or application_name: (which backends to end)");
        return -1;
    }
    struct pg_cfg *c = fl_calloc(1, sizeof *c);
    if (db) c->database = fl_strdup(db);
    if (app) c->appname = fl_strdup(app);
    *cfg = c;
    return 0;
}

static int terminate_inject(struct fault_inst *fi, char *err)
{
    const struct pg_cfg *c = fi->cfg;
    const char *dsn, *shown = "?";
    if (need_target(fi, &dsn, &shown, err) < 0) return -1;
    PGconn *conn = pg_open(dsn, shown, "faultline-terminate", 10, err);
    if (!conn) return -1;
    /* client backends only, never our own session nor faultline's other fault sessions */
    const char *sql =
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' "
        "AND coalesce(application_name, '') NOT LIKE 'faultline-%' "
        "AND ($1::text IS NULL OR datname = $1) AND ($2::text IS NULL OR application_name = $2)";
    const char *params[2] = { c->database, c->appname };
    PGresult *r = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[FL_ERR_LEN];
        pg_msg(conn, msg, sizeof msg);
        PQclear(r);
        PQfinish(conn);
        return fl_err(err, "postgres.terminate on target '%s': %s", fi->target->name, msg);
    }
    struct pg_state *s = fl_calloc(1, sizeof *s);
    s->terminated = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(conn);
    fi->state = s;
    fl_log(FL_LOG_INFO, "postgres.terminate: ended %d backend(s) on target '%s'", s->terminated, fi->target->name);
    return 0;
}

static void terminate_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct pg_cfg *c = fi->cfg;
    const char *shown = "?";
    pg_target_dsn(fi->target, &shown);
    buf_adds(out, "pg_terminate_backend() on the backends");
    if (c->database) buf_addf(out, " of database '%s'", c->database);
    if (c->appname) buf_addf(out, "%s application_name '%s'", c->database ? " and" : " with", c->appname);
    buf_addf(out, " at target '%s' (%s)", fi->target ? fi->target->name : "?", shown);
    const struct pg_state *s = fi->state;
    if (s) buf_addf(out, ": %d ended", s->terminated);
    buf_adds(out, "; no revert (clients reconnect)");
}

static json_t *terminate_save(const struct fault_inst *fi)
{
    const struct pg_state *s = fi->state;
    return json_pack("{s:s, s:i, s:s}", "target", fi->target ? fi->target->name : "", "terminated",
                     s ? s->terminated : 0, "note", "terminated backends cannot be brought back: nothing to undo");
}

static int terminate_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)r; (void)ctx; (void)err;
    fault_report(report, "nothing to undo: a terminated backend is not brought back by faultline; its clients "
                 "reconnect (this fault leaves nothing that lasts)");
    return 0;
}

/* postgres.lock */
static const char *const lock_modes[] = { "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE",
                                          "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE", NULL };

static const struct param_spec lock_params[] = {
    { "table", PT_STR, PARAM_REQUIRED, "the table to lock (schema.table or table)" },
    { "mode", PT_STR, 0, "lock mode, e.g. ACCESS EXCLUSIVE (default), SHARE, ROW EXCLUSIVE" },
    { 0 },
};

static int lock_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc;
    const char *table = param_str(step, "table", NULL);
    const char *mode = param_str(step, "mode", "ACCESS EXCLUSIVE");
    if (!table || !*table) {
        diag_add(d, step, "postgres.lock: needs table:");
        return -1;
    }
    char norm[64];
    size_t j = 0;
    for (size_t i = 0; mode[i] && j < sizeof norm - 1; i++) {
        char ch = mode[i] == '_' ? ' ' : mode[i];
        if (ch == ' ' && (j == 0 || norm[j - 1] == ' ')) continue;
        norm[j++] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    }
    while (j && norm[j - 1] == ' ') j--;
    norm[j] = '\0';
    if (j > 5 && strcmp(norm + j - 5, " MODE") == 0) norm[j - 5] = '\0';
    int ok = 0;
    for (int i = 0; lock_modes[i]; i++)
        if (strcmp(norm, lock_modes[i]) == 0) ok = 1;
    if (!ok) {
        diag_add(d, node_get(step, "mode"),
                 "postgres.lock: mode '%s' is not a table lock mode (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE, "
                 "SHARE UPDATE EXCLUSIVE, SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE, ACCESS EXCLUSIVE)", mode);
        return -1;
    }
    struct pg_cfg *c = fl_calloc(1, sizeof *c);
    c->table = fl_strdup(table);
    c->mode = fl_strdup(norm);
    *cfg = c;
    return 0;
}

/* "schema.table" -> quoted identifiers */
static char *quote_table(PGconn *conn, const char *table)
{
    const char *dot = strchr(table, '.');
    struct buf b;
    buf_init(&b, 4096);
    if (dot) {
        char *schema = fl_strndup(table, (size_t)(dot - table));
        char *q = PQescapeIdentifier(conn, schema, strlen(schema));
        buf_addf(&b, "%s.", q ? q : "\"\"");
        PQfreemem(q);
        free(schema);
        table = dot + 1;
    }
    char *q = PQescapeIdentifier(conn, table, strlen(table));
    buf_adds(&b, q ? q : "\"\"");
    PQfreemem(q);
    return buf_detach(&b);
}

/* lock, exhaust: no prior state to observe (faultline's own sessions do not exist yet); the
 * intent names the application_name those sessions will carry, so rollback can find any
 * that outlived the run (a lock request still queued behind another transaction does) */
static int held_prepare(struct fault_inst *fi, char *err)
{
    const char *dsn, *shown = "?";
    if (need_target(fi, &dsn, &shown, err) < 0) return -1;
    static atomic_long counter;
    long n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed) + 1;
    struct pg_state *s = fl_calloc(1, sizeof *s);
    snprintf(s->appname, sizeof s->appname, "faultline-%s-%d-%lld-%ld", strchr(fi->ops->name, '.') + 1, (int)getpid(),
             (long long)(fl_wall() * 1000) % 1000000000LL, n);
    s->conninfo = pg_dsn_no_password(dsn);
    fi->state = s;
    return 0;
}

static int lock_inject(struct fault_inst *fi, char *err)
{
    const struct pg_cfg *c = fi->cfg;
    const char *dsn, *shown = "?";
    if (need_target(fi, &dsn, &shown, err) < 0) return -1;
    if (!fi->state && held_prepare(fi, err) < 0) return -1;
    struct pg_state *s = fi->state;
    PGconn *conn = pg_open(dsn, shown, s->appname, 10, err);
    if (!conn) return -1;
    char *qt = quote_table(conn, c->table);
    char sql[512];
    snprintf(sql, sizeof sql, "LOCK TABLE %s IN %s MODE", qt, c->mode);
    free(qt);
    char what[256];
    snprintf(what, sizeof what, "postgres.lock of '%s' at target '%s'", c->table, fi->target->name);
    s->conns = fl_calloc(1, sizeof *s->conns);
    s->conns[0] = conn;
    s->n = 1;
    /* taking the lock waits behind conflicting holders: bounded, so inject cannot hang */
    if (pg_exec(conn, "SET lock_timeout = '10s'", what, err) < 0 || pg_exec(conn, "BEGIN", what, err) < 0 ||
        pg_exec(conn, sql, what, err) < 0) {
        PQfinish(conn);
        s->conns[0] = NULL;
        return -1;
    }
    fault_progress(fi, "inject", 0, json_pack("{s:s,s:b}", "table", c->table, "locked", 1));
    return 0;
}

static int lock_revert(struct fault_inst *fi, char *err)
{
    struct pg_state *s = fi->state;
    if (!s || !s->n || !s->conns[0]) return 0;
    PGconn *conn = s->conns[0];
    if (PQstatus(conn) == CONNECTION_OK) {
        char what[256], rerr[FL_ERR_LEN];
        snprintf(what, sizeof what, "postgres.lock revert (ROLLBACK) at target '%s'", fi->target ? fi->target->name : "?");
        if (pg_exec(conn, "ROLLBACK", what, rerr) < 0) fl_log(FL_LOG_WARN, "%s (closing the session instead)", rerr);
    }
    /* closing the session releases the lock whatever ROLLBACK said (or if the backend is
       already gone, e.g. terminated: then the lock went with it) */
    PQfinish(conn);
    s->conns[0] = NULL;
    fault_progress(fi, "revert", 0, json_pack("{s:b}", "released", 1));
    (void)err;
    return 0;
}

static void lock_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct pg_cfg *c = fi->cfg;
    const char *shown = "?";
    pg_target_dsn(fi->target, &shown);
    buf_addf(out, "hold %s lock on table '%s' in an open transaction at target '%s' (%s); revert: ROLLBACK",
             c->mode, c->table, fi->target ? fi->target->name : "?", shown);
}

/* postgres.exhaust */
static const struct param_spec exhaust_params[] = {
    { "connections", PT_INT, PARAM_REQUIRED, "how many connections to open and hold" },
    { 0 },
};

static int exhaust_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc;
    int64_t n = param_int(step, "connections", 0);
    if (n < 1 || n > 10000) {
        diag_add(d, node_get(step, "connections") ? node_get(step, "connections") : step,
                 "postgres.exhaust: connections must be 1..10000");
        return -1;
    }
    struct pg_cfg *c = fl_calloc(1, sizeof *c);
    c->connections = (int)n;
    *cfg = c;
    return 0;
}

static int exhaust_inject(struct fault_inst *fi, char *err)
{
    const struct pg_cfg *c = fi->cfg;
    const char *dsn, *shown = "?";
    if (need_target(fi, &dsn, &shown, err) < 0) return -1;
    if (!fi->state && held_prepare(fi, err) < 0) return -1;
    struct pg_state *s = fi->state;
    s->conns = fl_calloc((size_t)c->connections, sizeof *s->conns);
    s->wanted = c->connections;
    char cerr[FL_ERR_LEN] = "";
    for (int i = 0; i < c->connections; i++) {
        PGconn *conn = pg_open(dsn, shown, s->appname, 10, cerr);
        if (!conn) break;
        s->conns[s->n++] = conn;
    }
    if (s->n == 0) return fl_err(err, "postgres.exhaust at target '%s': %s", fi->target->name, cerr);
    if (s->n < c->connections)
        fl_log(FL_LOG_WARN, "postgres.exhaust: holding %d of %d connections on target '%s' (the server refused more: %s)",
               s->n, c->connections, fi->target->name, cerr);
    fault_progress(fi, "inject", 0, json_pack("{s:i}", "held", s->n));
    return 0;
}

static int exhaust_revert(struct fault_inst *fi, char *err)
{
    (void)err;
    struct pg_state *s = fi->state;
    if (!s) return 0;
    int closed = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->conns[i]) PQfinish(s->conns[i]), closed++;
        s->conns[i] = NULL;
    }
    if (closed) fault_progress(fi, "revert", 0, json_pack("{s:i}", "closed", closed));
    return 0;
}

static void exhaust_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct pg_cfg *c = fi->cfg;
    const char *shown = "?";
    pg_target_dsn(fi->target, &shown);
    buf_addf(out, "open and hold %d connections to target '%s' (%s)", c->connections,
             fi->target ? fi->target->name : "?", shown);
    const struct pg_state *s = fi->state;
    if (s) buf_addf(out, ": %d held", s->n);
    buf_adds(out, "; revert: close them");
}

static json_t *held_save(const struct fault_inst *fi)
{
    const struct pg_state *s = fi->state;
    json_t *j = json_pack("{s:s, s:i, s:i, s:s}", "target", fi->target ? fi->target->name : "", "pid", (int)getpid(),
                          "connections", s ? s->n : 0, "note",
                          "the sessions belong to the faultline process: PostgreSQL ends them (and their locks) when "
                          "their connection closes, except one still waiting in a lock queue");
    if (s) {
        json_object_set_new(j, "application_name", json_string(s->appname));
        if (s->conninfo) json_object_set_new(j, "conninfo", json_string(s->conninfo));
    }
    return j;
}

/* the plan's DSN (with its password) when the plan is loaded, else the journal's */
static PGconn *open_saved(const struct fault_record *r, const struct drv_ctx *ctx, char *err)
{
    const char *tname = json_string_value(json_object_get(r->rec, "target"));
    const char *shown = NULL, *dsn = NULL;
    if (tname) dsn = pg_target_dsn(drv_target_named(ctx, tname), &shown);
    if (!dsn) dsn = shown = json_string_value(json_object_get(r->rec, "conninfo"));
    if (!dsn) {
        fl_err(err, "the journal record has no connection string (a journal of an older faultline): give --plan");
        return NULL;
    }
    return pg_open(dsn, shown, "faultline-rollback", 10, err);
}

/* lock, exhaust: faultline's sessions live in its process and end with it -- unless the
 * server has not noticed yet (a backend queued for a lock does not read its socket): end
 * any session of the step's application_name that is still there */
static int held_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    const char *app = json_string_value(json_object_get(r->rec, "application_name"));
    if (!app) {
        fault_report(report, "the sessions lived in faultline process %lld, which is %s: PostgreSQL ended them and "
                     "their locks with it (an older journal: no application_name to check)", r->runner_pid,
                     fault_record_runner_alive(r) ? "still running" : "gone");
        return 0;
    }
    char e[FL_ERR_LEN];
    PGconn *c = open_saved(r, ctx, e);
    if (!c) {
        fault_report(report, "cannot check for sessions left behind (application_name '%s'): %s", app, e);
        return fl_err(err, "a session of the dead run waiting for a lock would still block the table, and it could "
                      "not be checked: %s", e);
    }
    const char *params[1] = { app };
    PGresult *res = PQexecParams(c,
        "SELECT pid, coalesce(state, ''), coalesce(wait_event_type, ''), pg_terminate_backend(pid) "
        "FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", 1, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_msg(c, e, sizeof e);
        PQclear(res);
        PQfinish(c);
        fault_report(report, "cannot check for sessions left behind (application_name '%s'): %s", app, e);
        return fl_err(err, "cannot look for sessions of the dead run: %s", e);
    }
    int n = PQntuples(res);
    if (n == 0)
        fault_report(report, "no session '%s' is left: PostgreSQL ended the dead run's sessions with their connection, "
                     "and what they held went with them: nothing to do", app);
    for (int i = 0; i < n; i++)
        fault_report(report, "session pid %s ('%s', %s%s) outlived the run: terminated", PQgetvalue(res, i, 0), app,
                     PQgetvalue(res, i, 1), !strcmp(PQgetvalue(res, i, 2), "Lock") ? " waiting for a lock" : "");
    PQclear(res);
    PQfinish(c);
    return 0;
}

const struct fault_ops fault_postgres_terminate = {
    .name = "postgres.terminate",
    .target_kind = "postgres",
    .summary = "pg_terminate_backend() on the backends of a database or application_name",
    .revert_summary = "none (clients reconnect)",
    .params = terminate_params,
    .parse = terminate_parse,
    .inject = terminate_inject,
    .save = terminate_save,
    .reconcile = terminate_reconcile,
    .describe = terminate_describe,
    .free_cfg = cfg_free,
    .free_state = state_free,
};

const struct fault_ops fault_postgres_lock = {
    .name = "postgres.lock",
    .target_kind = "postgres",
    .summary = "hold a table lock (table:, mode:) in an open transaction",
    .revert_summary = "ROLLBACK (the lock is released)",
    .params = lock_params,
    .parse = lock_parse,
    .prepare = held_prepare,
    .inject = lock_inject,
    .revert = lock_revert,
    .save = held_save,
    .reconcile = held_reconcile,
    .describe = lock_describe,
    .free_cfg = cfg_free,
    .free_state = state_free,
};

const struct fault_ops fault_postgres_exhaust = {
    .name = "postgres.exhaust",
    .target_kind = "postgres",
    .summary = "open and hold connections: connections: N",
    .revert_summary = "close them",
    .params = exhaust_params,
    .parse = exhaust_parse,
    .prepare = held_prepare,
    .inject = exhaust_inject,
    .revert = exhaust_revert,
    .save = held_save,
    .reconcile = held_reconcile,
    .describe = exhaust_describe,
    .free_cfg = cfg_free,
    .free_state = state_free,
};
