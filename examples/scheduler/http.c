/* http.c -- `scheduler-api serve`: the REST API of the demo scheduler on libmicrohttpd.
 *
 * Thread per connection; PostgreSQL and Redis through bounded pools (db.c, rds.c). Every
 * database round has a deadline (--pg-timeout), so reads answer 503 quickly while the
 * database is down or frozen, and recover as soon as it answers again. Planted defects
 * (--defect) make it behave like a careless service, for faultline to catch.
 */
#include "sched.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"

#define BODY_CAP (16u << 20)
#define LIST_LIMIT 20000
#define JOB_TTL "86400"

static struct app {
    const struct sched_cfg *cfg;
    struct db_pool *db;
    struct rds_pool *rds;
    atomic_int db_down, redis_down; /* last seen state, to log transitions only */
} app;

struct req { struct buf body; int64_t t0_ns; };
static _Thread_local unsigned last_status; /* the status reply_json queued on this connection's thread */

/* ---- replies ------------------------------------------------------------------------------ */
static enum MHD_Result reply_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s) s = fl_strdup("{}");
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) MHD_add_response_header(r, "Retry-After", "1");
    last_status = status;
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_detail(struct MHD_Connection *conn, unsigned status, const char *detail)
{
    return reply_json(conn, status, json_pack("{s:s}", "detail", detail));
}

static void note_state(atomic_int *down, int now_down, const char *what, const char *err)
{
    int was = atomic_exchange(down, now_down);
    if (was != now_down) {
        if (now_down) sched_log("%s unavailable: %s", what, err);
        else sched_log("%s reachable again", what);
    }
}

static enum MHD_Result reply_db_failure(struct MHD_Connection *conn, int rc, const char *err)
{
    if (rc == DB_UNAVAILABLE) {
        note_state(&app.db_down, 1, "postgresql", err);
        return reply_detail(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "database unavailable");
    }
    sched_log("database error: %s", err);
    return reply_detail(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error");
}

/* run a read against PostgreSQL with the service's deadline (or the hang-reads defect's) */
static int db_read(db_op_fn op, void *arg, char *err)
{
    int64_t now = fl_now_ms();
    int64_t retry_until = app.cfg->defect == DEFECT_HANG_READS ? now + SCHED_HANG_MS : 0;
    int rc = db_pool_run(app.db, now + app.cfg->pg_timeout_ms, retry_until, op, arg, err);
    if (rc == DB_OK) note_state(&app.db_down, 0, "postgresql", "");
    return rc;
}

static const char *arg(struct MHD_Connection *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/* start_date / end_date query arguments; missing ones are open bounds when optional */
static int date_range(struct MHD_Connection *conn, int required, char s[11], char e[11], const char **bad)
{
    const char *a = arg(conn, "start_date"), *b = arg(conn, "end_date");
    int ds, de;
    *bad = NULL;
    if (!a || !b) {
        if (required) return *bad = "start_date and end_date (YYYY-MM-DD) are required", -1;
    }
    if (a && sched_parse_date(a, &ds) != 0) return *bad = "start_date must be a date YYYY-MM-DD", -1;
    if (b && sched_parse_date(b, &de) != 0) return *bad = "end_date must be a date YYYY-MM-DD", -1;
    if (a && b && de < ds) return *bad = "end_date is before start_date", -1;
    if (a) sched_fmt_date(ds, s);
    else strcpy(s, "-infinity");
    if (b) sched_fmt_date(de, e);
    else strcpy(e, "infinity");
    return 0;
}

/* ---- /health, /api/v1/health/ready --------------------------------------------------------- */
static int op_ping(PGconn *c, int64_t deadline, void *a, char *err)
{
    (void)a;
    return db_exec(c, deadline, "SELECT 1", 0, NULL, NULL, err);
}

static enum MHD_Result h_ready(struct MHD_Connection *conn, struct req *rq)
{
    (void)rq;
    char err[FL_ERR_LEN];
    int64_t now = fl_now_ms();
    int pg_timeout = app.cfg->pg_timeout_ms < 1000 ? app.cfg->pg_timeout_ms : 1000;
    int pg = db_pool_run(app.db, now + pg_timeout, 0, op_ping, NULL, err);
    if (pg == DB_OK) note_state(&app.db_down, 0, "postgresql", "");
    else note_state(&app.db_down, 1, "postgresql", err);
    struct rds_cmd ping = { 1, { "PING" } };
    redisReply *r[1];
    int rd = rds_pool_run(app.rds, &ping, 1, r, err);
    if (rd == 0) freeReplyObject(r[0]);
    note_state(&app.redis_down, rd != 0, "redis", err);
    int ok = pg == DB_OK && rd == 0;
    return reply_json(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                      json_pack("{s:s, s:s, s:s}", "status", ok ? "ready" : "not_ready", "database",
                                pg == DB_OK ? "ok" : "unavailable", "redis", rd == 0 ? "ok" : "unavailable"));
}

/* ---- login ---------------------------------------------------------------------------------- */
/* decode one application/x-www-form-urlencoded value in place */
static void form_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') *o++ = ' ';
        else if (*s == '%' && s[1] && s[2]) {
            char hex[3] = { s[1], s[2], 0 };
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end == '\0') {
                *o++ = (char)v;
                s += 2;
            } else {
                *o++ = *s;
            }
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

static char *form_field(const char *body, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            char *v = fl_strndup(p + kl + 1, len - kl - 1);
            form_decode(v);
            return v;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static enum MHD_Result h_login(struct MHD_Connection *conn, struct req *rq)
{
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    char *user = NULL, *pass = NULL;
    if (ct && strncasecmp(ct, "application/json", 16) == 0) {
        json_t *j = json_loads(rq->body.data, 0, NULL);
        const char *u = json_string_value(json_object_get(j, "username"));
        const char *p = json_string_value(json_object_get(j, "password"));
        user = u ? fl_strdup(u) : NULL;
        pass = p ? fl_strdup(p) : NULL;
        json_decref(j);
    } else {
        user = form_field(rq->body.data, "username");
        pass = form_field(rq->body.data, "password");
    }
    enum MHD_Result ret;
    char *token = NULL;
    if (!user || !pass)
        ret = reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "username and password are required");
    else if (auth_login(user, pass, &token) != 0)
        ret = reply_detail(conn, MHD_HTTP_UNAUTHORIZED, "Incorrect username or password");
    else
        ret = reply_json(conn, MHD_HTTP_OK,
                         json_pack("{s:s, s:s}", "access_token", token, "token_type", "bearer"));
    free(token);
    free(user);
    free(pass);
    return ret;
}

/* ---- people, assignments ----------------------------------------------------------------------- */
struct list_op { const char *sql; int nparams; const char *params[3]; PGresult *res; };

static int op_list(PGconn *c, int64_t deadline, void *a, char *err)
{
    struct list_op *l = a;
    return db_exec(c, deadline, l->sql, l->nparams, l->params, &l->res, err);
}

static enum MHD_Result h_people(struct MHD_Connection *conn, struct req *rq)
{
    (void)rq;
    char err[FL_ERR_LEN];
    struct list_op l = { "SELECT id, name, type, pgy_level FROM people WHERE scope = '' "
                         "ORDER BY type DESC, name, id LIMIT " "20000", 0, { NULL }, NULL };
    int rc = db_read(op_list, &l, err);
    if (rc != DB_OK) return reply_db_failure(conn, rc, err);
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(l.res); i++) {
        json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:o}", "id", PQgetvalue(l.res, i, 0), "name",
                                               PQgetvalue(l.res, i, 1), "type", PQgetvalue(l.res, i, 2), "pgy_level",
                                               PQgetisnull(l.res, i, 3) ? json_null()
                                                                        : json_integer(atoi(PQgetvalue(l.res, i, 3)))));
    }
    PQclear(l.res);
    return reply_json(conn, MHD_HTTP_OK, json_pack("{s:i, s:o}", "total", (int)json_array_size(items), "items", items));
}

static enum MHD_Result h_assignments(struct MHD_Connection *conn, struct req *rq)
{
    (void)rq;
    if (auth_check_bearer(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"), NULL) != 0)
        return reply_detail(conn, MHD_HTTP_UNAUTHORIZED, "Not authenticated");
    char s[11], e[11], err[FL_ERR_LEN];
    const char *bad;
    if (date_range(conn, 0, s, e, &bad) != 0) return reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, bad);
    struct list_op l = { "SELECT a.id, a.block_id, a.person_id, a.role, b.date::text, b.time_of_day "
                         "FROM assignments a JOIN blocks b ON b.scope = a.scope AND b.id = a.block_id "
                         "WHERE a.scope = '' AND b.date BETWEEN $1::date AND $2::date "
                         "ORDER BY b.date, b.time_of_day, a.person_id LIMIT 20000",
                         2, { s, e }, NULL };
    int rc = db_read(op_list, &l, err);
    if (rc != DB_OK) return reply_db_failure(conn, rc, err);
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(l.res); i++) {
        json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", PQgetvalue(l.res, i, 0),
                                               "block_id", PQgetvalue(l.res, i, 1), "person_id",
                                               PQgetvalue(l.res, i, 2), "role", PQgetvalue(l.res, i, 3), "date",
                                               PQgetvalue(l.res, i, 4), "time_of_day", PQgetvalue(l.res, i, 5)));
    }
    PQclear(l.res);
    return reply_json(conn, MHD_HTTP_OK, json_pack("{s:i, s:o}", "total", (int)json_array_size(items), "items", items));
}

/* ---- validation ------------------------------------------------------------------------------- */
/* what the validator reads back: one row per assignment with its block and person */
#define READBACK_SQL                                                                                  \
    "SELECT b.id, b.date::text, b.time_of_day, p.id, p.name, p.type, COALESCE(p.pgy_level, 0) "      \
    "FROM assignments a JOIN blocks b ON b.scope = a.scope AND b.id = a.block_id "                     \
    "JOIN people p ON p.scope = a.scope AND p.id = a.person_id "

static json_t *validate_rows(PGresult *r)
{
    int n = PQntuples(r);
    struct acgme_input in = { 0 };
    in.people = fl_calloc((size_t)n + 1, sizeof *in.people);
    in.blocks = fl_calloc((size_t)n + 1, sizeof *in.blocks);
    in.assignments = fl_calloc((size_t)n + 1, sizeof *in.assignments);
    in.npeople = in.nblocks = in.nassignments = n;
    in.supervise_weekends = app.cfg->supervise_weekends;
    for (int i = 0; i < n; i++) {
        in.blocks[i].id = PQgetvalue(r, i, 0);
        if (sched_parse_date(PQgetvalue(r, i, 1), &in.blocks[i].day) != 0) in.blocks[i].day = 0;
        in.blocks[i].pm = strcmp(PQgetvalue(r, i, 2), "PM") == 0;
        in.people[i].id = PQgetvalue(r, i, 3);
        in.people[i].name = PQgetvalue(r, i, 4);
        in.people[i].resident = strcmp(PQgetvalue(r, i, 5), "resident") == 0;
        in.people[i].pgy = atoi(PQgetvalue(r, i, 6));
        in.assignments[i].block_id = in.blocks[i].id;
        in.assignments[i].person_id = in.people[i].id;
    }
    json_t *ans = acgme_validate(&in);
    free(in.people);
    free(in.blocks);
    free(in.assignments);
    return ans;
}

/* the same from the three tables read apart (people, blocks, assignments) */
static json_t *validate_tables(PGresult *people, PGresult *blocks, PGresult *asg)
{
    struct acgme_input in = { 0 };
    in.npeople = PQntuples(people);
    in.nblocks = PQntuples(blocks);
    in.nassignments = PQntuples(asg);
    in.people = fl_calloc((size_t)in.npeople + 1, sizeof *in.people);
    in.blocks = fl_calloc((size_t)in.nblocks + 1, sizeof *in.blocks);
    in.assignments = fl_calloc((size_t)in.nassignments + 1, sizeof *in.assignments);
    in.supervise_weekends = app.cfg->supervise_weekends;
    for (int i = 0; i < in.npeople; i++) {
        in.people[i].id = PQgetvalue(people, i, 0);
        in.people[i].name = PQgetvalue(people, i, 1);
        in.people[i].resident = strcmp(PQgetvalue(people, i, 2), "resident") == 0;
        in.people[i].pgy = atoi(PQgetvalue(people, i, 3));
    }
    for (int i = 0; i < in.nblocks; i++) {
        in.blocks[i].id = PQgetvalue(blocks, i, 0);
        if (sched_parse_date(PQgetvalue(blocks, i, 1), &in.blocks[i].day) != 0) in.blocks[i].day = 0;
        in.blocks[i].pm = strcmp(PQgetvalue(blocks, i, 2), "PM") == 0;
    }
    for (int i = 0; i < in.nassignments; i++) {
        in.assignments[i].block_id = PQgetvalue(asg, i, 0);
        in.assignments[i].person_id = PQgetvalue(asg, i, 1);
    }
    json_t *ans = acgme_validate(&in);
    free(in.people);
    free(in.blocks);
    free(in.assignments);
    return ans;
}

static enum MHD_Result reply_validation_failure(struct MHD_Connection *conn, int rc, const char *err)
{
    if (rc == DB_UNAVAILABLE && app.cfg->defect == DEFECT_VALID_ON_TIMEOUT) {
        /* planted defect: a read that failed is taken for "nothing wrong" */
        note_state(&app.db_down, 1, "postgresql", err);
        return reply_json(conn, MHD_HTTP_OK,
                          json_pack("{s:b, s:i, s:[]}", "valid", 1, "total_violations", 0, "violations"));
    }
    return reply_db_failure(conn, rc, err);
}

static enum MHD_Result h_validate_get(struct MHD_Connection *conn, struct req *rq)
{
    (void)rq;
    char s[11], e[11], err[FL_ERR_LEN];
    const char *bad;
    if (date_range(conn, 1, s, e, &bad) != 0) return reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, bad);
    struct list_op l = { READBACK_SQL "WHERE a.scope = '' AND b.date BETWEEN $1::date AND $2::date", 2, { s, e },
                         NULL };
    int rc = db_read(op_list, &l, err);
    if (rc != DB_OK) return reply_validation_failure(conn, rc, err);
    json_t *ans = validate_rows(l.res);
    PQclear(l.res);
    return reply_json(conn, MHD_HTTP_OK, ans);
}

/* A posted case, as PostgreSQL text arrays. */
struct case_op {
    char scope[48];
    struct buf pid, pname, ptype, ppgy, bid, bdate, btod, aid, ablk, aper, arole;
    int np, nb, na;
    PGresult *people, *blocks, *asg; /* what was read back */
};

static void case_clear_results(struct case_op *k)
{
    PQclear(k->people);
    PQclear(k->blocks);
    PQclear(k->asg);
    k->people = k->blocks = k->asg = NULL;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int id_known(char **ids, size_t n, const char *id)
{
    return bsearch(&id, ids, n, sizeof *ids, str_cmp) != NULL;
}

static void arr_add(struct buf *b, int *count, const char *s) /* s NULL: SQL NULL */
{
    buf_addc(b, *count ? ',' : '{');
    (*count)++;
    if (!s) {
        buf_adds(b, "NULL");
        return;
    }
    buf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') buf_addc(b, '\\');
        buf_addc(b, *s);
    }
    buf_addc(b, '"');
}

static const char *arr_end(struct buf *b, int count)
{
    if (!count) buf_addc(b, '{');
    buf_addc(b, '}');
    return b->data;
}

/* is s a UUID's text (8-4-4-4-12 hex digits)? */
static int is_uuid(const char *s)
{
    if (strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* an id given as a string (1..149 bytes) or an integer, into out[160]; NULL if neither, or
 * (with --schema uuid, as the real service's models) when it is not a UUID */
static const char *json_id(json_t *v, char out[160])
{
    if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 150)
        snprintf(out, 160, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, 160, "%lld", (long long)json_integer_value(v));
    else
        return NULL;
    return !sched_uuid_ids || is_uuid(out) ? out : NULL;
}

static int parse_case(json_t *j, struct case_op *k, char *why, size_t whylen)
{
    json_t *people = json_object_get(j, "people"), *blocks = json_object_get(j, "blocks");
    json_t *asg = json_object_get(j, "assignments");
    if (!json_is_array(people) || !json_is_array(blocks) || !json_is_array(asg))
        return snprintf(why, whylen, "body must be a JSON object with arrays people, blocks, assignments"), -1;
    int c1 = 0, c2 = 0, c3 = 0, c4 = 0, rc = 0;
    size_t i, npid = 0, nbid = 0;
    json_t *v;
    char id[160], id2[160];
    /* ids of the case, to leave out assignments naming an unknown person or block (the
     * validator ignores those; filtering here keeps the inserts simple and fast) */
    char **pids = fl_calloc(json_array_size(people) + 1, sizeof *pids);
    char **bids = fl_calloc(json_array_size(blocks) + 1, sizeof *bids);
    json_array_foreach(people, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        json_t *lvl = json_object_get(v, "pgy_level");
        const char *name = json_string_value(json_object_get(v, "name"));
        if (!json_id(json_object_get(v, "id"), id)) {
            snprintf(why, whylen, "people[%zu].id is missing, longer than 149%s", i, sched_uuid_ids ? " or not a UUID" : "");
            goto bad;
        }
        if (!type || (strcasecmp(type, "resident") != 0 && strcasecmp(type, "faculty") != 0)) {
            snprintf(why, whylen, "people[%zu].type must be resident or faculty", i);
            goto bad;
        }
        if (lvl && !json_is_null(lvl) &&
            (!json_is_integer(lvl) || json_integer_value(lvl) < 1 || json_integer_value(lvl) > 7)) {
            snprintf(why, whylen, "people[%zu].pgy_level must be 1..7 or null", i);
            goto bad;
        }
        pids[npid++] = fl_strdup(id);
        char l[8];
        snprintf(l, sizeof l, "%d", json_is_integer(lvl) ? (int)json_integer_value(lvl) : 0);
        arr_add(&k->pid, &k->np, id);
        arr_add(&k->pname, &c1, name ? name : "");
        arr_add(&k->ptype, &c2, strcasecmp(type, "resident") == 0 ? "resident" : "faculty");
        arr_add(&k->ppgy, &c3, json_is_integer(lvl) ? l : NULL);
    }
    c1 = c2 = c3 = 0;
    json_array_foreach(blocks, i, v) {
        const char *date = json_string_value(json_object_get(v, "date"));
        const char *tod = json_string_value(json_object_get(v, "time_of_day"));
        if (!tod) tod = json_string_value(json_object_get(v, "session"));
        int d;
        if (!json_id(json_object_get(v, "id"), id)) {
            snprintf(why, whylen, "blocks[%zu].id is missing, longer than 149%s", i, sched_uuid_ids ? " or not a UUID" : "");
            goto bad;
        }
        if (!date || sched_parse_date(date, &d) != 0) {
            snprintf(why, whylen, "blocks[%zu].date must be YYYY-MM-DD", i);
            goto bad;
        }
        if (!tod || (strcasecmp(tod, "AM") != 0 && strcasecmp(tod, "PM") != 0)) {
            snprintf(why, whylen, "blocks[%zu].time_of_day must be AM or PM", i);
            goto bad;
        }
        bids[nbid++] = fl_strdup(id);
        arr_add(&k->bid, &k->nb, id);
        arr_add(&k->bdate, &c1, date);
        arr_add(&k->btod, &c2, strcasecmp(tod, "PM") == 0 ? "PM" : "AM");
    }
    c1 = c2 = 0;
    qsort(pids, npid, sizeof *pids, str_cmp);
    qsort(bids, nbid, sizeof *bids, str_cmp);
    json_array_foreach(asg, i, v) {
        char aid[40];
        if (!json_id(json_object_get(v, "block_id"), id) || !json_id(json_object_get(v, "person_id"), id2)) {
            snprintf(why, whylen, "assignments[%zu] needs block_id and person_id", i);
            goto bad;
        }
        if (!id_known(bids, nbid, id) || !id_known(pids, npid, id2)) continue;
        /* our own ids: posted ones may repeat, and only (block, person) matters here */
        if (sched_uuid_ids) sched_uuid4(aid);
        else snprintf(aid, sizeof aid, "a%zu", i);
        const char *role = json_string_value(json_object_get(v, "role"));
        arr_add(&k->aid, &k->na, aid);
        arr_add(&k->ablk, &c1, id);
        arr_add(&k->aper, &c2, id2);
        arr_add(&k->arole, &c4, role ? role : "primary");
    }
    goto out;
bad:
    rc = -1;
out:
    for (size_t n = 0; n < npid; n++) free(pids[n]);
    for (size_t n = 0; n < nbid; n++) free(bids[n]);
    free(pids);
    free(bids);
    return rc;
}

/* a statement's deadline: ms from now, but never sooner than the request's own */
static int64_t stmt_deadline(int64_t request_deadline, int64_t ms)
{
    int64_t t = fl_now_ms() + ms;
    return t > request_deadline ? t : request_deadline;
}

static int op_case(PGconn *c, int64_t deadline, void *a, char *err)
{
    struct case_op *k = a;
    const char *pp[5] = { k->scope, arr_end(&k->pid, k->np), arr_end(&k->pname, k->np), arr_end(&k->ptype, k->np),
                          arr_end(&k->ppgy, k->np) };
    const char *bp[4] = { k->scope, arr_end(&k->bid, k->nb), arr_end(&k->bdate, k->nb), arr_end(&k->btod, k->nb) };
    const char *ap[5] = { k->scope, arr_end(&k->aid, k->na), arr_end(&k->ablk, k->na), arr_end(&k->aper, k->na),
                          arr_end(&k->arole, k->na) };
    const char *sp[1] = { k->scope };
    /* The first round trip has the request's deadline (a database that does not answer
     * fails it fast); then each statement gets --pg-timeout plus 0.1 ms per row, as big
     * cases take that long to write on a healthy server. */
    int64_t per = app.cfg->pg_timeout_ms, rows = k->np + k->nb + k->na;
    char begin[96];
    snprintf(begin, sizeof begin, "BEGIN; SET LOCAL statement_timeout = %lld", (long long)(per + rows / 10));
    /* the case lives in its own scope inside a transaction that is rolled back: concurrent
     * cases never see each other and nothing is left behind, whatever happens */
    const char *t = sched_id_type();
    char ins_p[256], ins_b[256], ins_a[256];
    snprintf(ins_p, sizeof ins_p,
             "INSERT INTO people (scope, id, name, type, pgy_level) SELECT $1, * FROM "
             "unnest($2::%s[], $3::text[], $4::text[], $5::int[]) ON CONFLICT DO NOTHING", t);
    snprintf(ins_b, sizeof ins_b,
             "INSERT INTO blocks (scope, id, date, time_of_day%s) SELECT $1, *%s FROM "
             "unnest($2::%s[], $3::date[], $4::text[]) ON CONFLICT DO NOTHING",
             sched_uuid_ids ? ", block_number" : "", sched_uuid_ids ? ", 0" : "", t);
    snprintf(ins_a, sizeof ins_a,
             "INSERT INTO assignments (scope, id, block_id, person_id, role) SELECT $1, * FROM "
             "unnest($2::%s[], $3::%s[], $4::%s[], $5::text[]) ON CONFLICT DO NOTHING", t, t, t);
    int rc = db_exec(c, deadline, begin, 0, NULL, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, stmt_deadline(deadline, per + k->np / 10), ins_p, 5, pp, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, stmt_deadline(deadline, per + k->nb / 10), ins_b, 4, bp, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, stmt_deadline(deadline, per + k->na / 10), ins_a, 5, ap, NULL, err);
    /* read back table by table: the fresh rows have no planner statistics yet, and a join
     * over them can go quadratic; the validator joins by id itself */
    if (rc == DB_OK)
        rc = db_exec(c, stmt_deadline(deadline, per + k->np / 10),
                     "SELECT id, name, type, COALESCE(pgy_level, 0) FROM people WHERE scope = $1", 1, sp, &k->people,
                     err);
    if (rc == DB_OK)
        rc = db_exec(c, stmt_deadline(deadline, per + k->nb / 10),
                     "SELECT id, date::text, time_of_day FROM blocks WHERE scope = $1", 1, sp, &k->blocks, err);
    if (rc == DB_OK)
        rc = db_exec(c, stmt_deadline(deadline, per + k->na / 10),
                     "SELECT block_id, person_id FROM assignments WHERE scope = $1", 1, sp, &k->asg, err);
    if (rc != DB_UNAVAILABLE) {
        char e2[FL_ERR_LEN];
        if (db_exec(c, stmt_deadline(deadline, per), "ROLLBACK", 0, NULL, NULL, e2) == DB_UNAVAILABLE) {
            fl_err(err, "%s", e2);
            rc = DB_UNAVAILABLE;
        }
    }
    if (rc != DB_OK) case_clear_results(k);
    return rc;
}

static enum MHD_Result h_validate_post(struct MHD_Connection *conn, struct req *rq)
{
    json_error_t je;
    json_t *j = json_loadb(rq->body.data, rq->body.len, 0, &je);
    if (!j) return reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "body is not valid JSON");
    struct case_op k;
    memset(&k, 0, sizeof k);
    struct buf *bufs[] = { &k.pid, &k.pname, &k.ptype, &k.ppgy, &k.bid, &k.bdate,
                           &k.btod, &k.aid, &k.ablk, &k.aper, &k.arole };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) buf_init(bufs[i], 64u << 20);
    char uuid[37], why[256], err[FL_ERR_LEN];
    sched_uuid4(uuid);
    snprintf(k.scope, sizeof k.scope, "post-%s", uuid);
    enum MHD_Result ret;
    if (parse_case(j, &k, why, sizeof why) != 0) {
        ret = reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, why);
    } else {
        int rc = db_read(op_case, &k, err);
        if (rc != DB_OK) {
            ret = reply_validation_failure(conn, rc, err);
        } else {
            json_t *ans = validate_tables(k.people, k.blocks, k.asg);
            case_clear_results(&k);
            ret = reply_json(conn, MHD_HTTP_OK, ans);
        }
    }
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) buf_release(bufs[i]);
    json_decref(j);
    return ret;
}

/* ---- generation jobs (Redis) ----------------------------------------------------------------- */
static enum MHD_Result reply_redis_down(struct MHD_Connection *conn, const char *err)
{
    note_state(&app.redis_down, 1, "redis", err);
    return reply_detail(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "job queue unavailable");
}

static enum MHD_Result h_generate(struct MHD_Connection *conn, struct req *rq)
{
    int s, e;
    sched_parse_date(SCHED_SEED_START, &s);
    e = s + SCHED_SEED_DAYS - 1;
    if (rq->body.len > 0) {
        json_t *j = json_loadb(rq->body.data, rq->body.len, 0, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            return reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "body must be a JSON object");
        }
        json_t *a = json_object_get(j, "start_date"), *b = json_object_get(j, "end_date");
        int bad = (a && sched_parse_date(json_string_value(a), &s) != 0) ||
                  (b && sched_parse_date(json_string_value(b), &e) != 0);
        if (a && !b) e = s + SCHED_SEED_DAYS - 1;
        json_decref(j);
        if (bad) return reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "start_date/end_date must be YYYY-MM-DD");
    }
    if (e < s || e - s + 1 > SCHED_MAX_RANGE_DAYS)
        return reply_detail(conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "the range must be 1 to 366 days");
    char id[37], sd[11], ed[11], key[64], now[32], err[FL_ERR_LEN];
    sched_uuid4(id);
    sched_fmt_date(s, sd);
    sched_fmt_date(e, ed);
    snprintf(key, sizeof key, "scheduler:job:%s", id);
    fl_iso8601(fl_wall(), now);
    json_t *pj = json_pack("{s:s, s:s, s:s}", "job_id", id, "start_date", sd, "end_date", ed);
    char *payload = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
    struct rds_cmd cmds[] = {
        { 1, { "MULTI" } },
        { 12, { "HSET", key, "status", "queued", "job_id", id, "start_date", sd, "end_date", ed, "created_at", now } },
        { 3, { "EXPIRE", key, JOB_TTL } },
        { 3, { "LPUSH", "scheduler:jobs", payload } },
        { 1, { "EXEC" } },
    };
    redisReply *r[5];
    int rc = rds_pool_run(app.rds, cmds, 5, r, err);
    free(payload);
    if (rc != 0) return reply_redis_down(conn, err);
    int ok = r[4]->type == REDIS_REPLY_ARRAY;
    for (int i = 0; i < 5; i++) freeReplyObject(r[i]);
    if (!ok) return reply_redis_down(conn, "transaction aborted");
    note_state(&app.redis_down, 0, "redis", "");
    return reply_json(conn, MHD_HTTP_ACCEPTED,
                      json_pack("{s:s, s:s, s:s, s:s}", "job_id", id, "status", "queued", "start_date", sd,
                                "end_date", ed));
}

static enum MHD_Result h_job(struct MHD_Connection *conn, const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || strspn(id, "0123456789abcdef-") != n)
        return reply_detail(conn, MHD_HTTP_NOT_FOUND, "job not found");
    char key[96], err[FL_ERR_LEN];
    snprintf(key, sizeof key, "scheduler:job:%s", id);
    struct rds_cmd cmd = { 2, { "HGETALL", key } };
    redisReply *r[1];
    if (rds_pool_run(app.rds, &cmd, 1, r, err) != 0) return reply_redis_down(conn, err);
    note_state(&app.redis_down, 0, "redis", "");
    if (r[0]->type != REDIS_REPLY_ARRAY || r[0]->elements == 0) {
        freeReplyObject(r[0]);
        return reply_detail(conn, MHD_HTTP_NOT_FOUND, "job not found");
    }
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_string(id));
    for (size_t i = 0; i + 1 < r[0]->elements; i += 2) {
        const redisReply *k = r[0]->element[i], *v = r[0]->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (strcmp(k->str, "assignments") == 0 || strcmp(k->str, "attempts") == 0)
            json_object_set_new(o, k->str, json_integer(atoll(v->str)));
        else
            json_object_set_new(o, k->str, json_string(v->str));
    }
    freeReplyObject(r[0]);
    return reply_json(conn, MHD_HTTP_OK, o);
}

/* ---- dispatch -------------------------------------------------------------------------------- */
typedef enum MHD_Result (*handler_fn)(struct MHD_Connection *, struct req *);
struct route { const char *method, *path; handler_fn fn; };

static enum MHD_Result h_health(struct MHD_Connection *conn, struct req *rq)
{
    (void)rq;
    return reply_json(conn, MHD_HTTP_OK, json_pack("{s:s}", "status", "healthy"));
}

static const struct route routes[] = {
    { "GET", "/health", h_health },
    { "GET", "/api/v1/health/ready", h_ready },
    { "POST", "/api/v1/auth/login", h_login },
    { "GET", "/api/v1/people", h_people },
    { "GET", "/api/v1/assignments", h_assignments },
    { "GET", "/api/v1/schedule/validate", h_validate_get },
    { "POST", "/api/v1/schedule/validate", h_validate_post },
    { "POST", "/api/v1/schedule/generate", h_generate },
};

#define JOBS_PREFIX "/api/v1/schedule/jobs/"

static enum MHD_Result h_metrics(struct MHD_Connection *conn)
{
    char *text = metrics_text();
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result route_request(struct MHD_Connection *conn, const char *url, const char *method, struct req *rq,
                                     const char **route)
{
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        if (strcmp(url, routes[i].path) != 0) continue;
        path_known = 1;
        *route = routes[i].path;
        if (strcmp(method, routes[i].method) == 0) return routes[i].fn(conn, rq);
    }
    if (strncmp(url, JOBS_PREFIX, strlen(JOBS_PREFIX)) == 0) {
        *route = JOBS_PREFIX "{job_id}";
        if (strcmp(method, "GET") == 0) return h_job(conn, url + strlen(JOBS_PREFIX));
        path_known = 1;
    }
    if (path_known) return reply_detail(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    return reply_detail(conn, MHD_HTTP_NOT_FOUND, "Not Found");
}

/* every answer counted by route (unknown paths as "other"), method and status */
static enum MHD_Result dispatch(struct MHD_Connection *conn, const char *url, const char *method, struct req *rq)
{
    if (!strcmp(url, "/metrics") && !strcmp(method, "GET")) return h_metrics(conn);
    const char *route = "other";
    last_status = 0;
    enum MHD_Result ret = route_request(conn, url, method, rq, &route);
    static const char *const known[] = { "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS" };
    const char *m = "other";
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) if (!strcmp(method, known[i])) m = known[i];
    metrics_observe(route, m, last_status, (double)(fl_now_ns() - rq->t0_ns) / 1e9);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    (void)version;
    struct req *rq = *con_cls;
    if (!rq) {
        rq = fl_calloc(1, sizeof *rq);
        buf_init(&rq->body, BODY_CAP);
        rq->t0_ns = fl_now_ns();
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        buf_add(&rq->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->body.overflow) return reply_detail(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
    return dispatch(conn, url, method, rq);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req *rq = *con_cls;
    if (rq) {
        buf_release(&rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

int api_serve(const struct sched_cfg *cfg)
{
    app.cfg = cfg;
    auth_init();
    app.db = db_pool_new(cfg->pg_dsn, cfg->threads, cfg->pg_timeout_ms);
    app.rds = rds_pool_new(cfg->redis_host, cfg->redis_port, cfg->redis_password, cfg->redis_timeout_ms, cfg->threads);

    /* signals are taken by sigwait() below; every thread started from here inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (cfg->bind && inet_pton(AF_INET, cfg->bind, &sa.sin_addr) != 1) {
        sched_log("--bind '%s' is not an IPv4 address", cfg->bind);
        db_pool_free(app.db);
        rds_pool_free(app.rds);
        return 2;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG,
        (uint16_t)cfg->port, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_END);
    if (!d) {
        sched_log("cannot listen on port %d", cfg->port);
        db_pool_free(app.db);
        rds_pool_free(app.rds);
        return 1;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    sched_log("listening on http://%s:%d (pg timeout %d ms, redis %s:%d%s%s)", ip, cfg->port, cfg->pg_timeout_ms,
              cfg->redis_host, cfg->redis_port,
              cfg->defect == DEFECT_HANG_READS ? ", DEFECT hang-reads" : "",
              cfg->defect == DEFECT_VALID_ON_TIMEOUT ? ", DEFECT valid-on-timeout" : "");
    int sig = 0;
    sigwait(&set, &sig);
    sched_log("signal %d: stopping", sig);
    fl_abort(sig); /* requests still waiting on the database give up now */
    MHD_stop_daemon(d);
    db_pool_free(app.db);
    rds_pool_free(app.rds);
    sched_log("stopped");
    return 0;
}
