/* test_pgredis.c -- postgres.* and redis.* faults and the postgres/redis probes against
 * the real PostgreSQL and Redis that tests/run.sh starts: state checked before and after
 * every inject and revert. */
#include <errno.h>
#include <hiredis.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fault.h"
#include "harness.h"
#include "pgfx.h"
#include "node.h"
#include "plan.h"
#include "probe.h"

TEST_FILE_USES("pg redis"); /* breaks the shared PostgreSQL and Redis (pause, terminate) */

/* ---- helpers: a target and a fault step built from YAML, as the plan would ---------- */
struct tgt {
    struct target t;
    struct node *spec;
    struct diag d;
};

static void tgt_make(struct tgt *g, const char *name, const char *kind, const char *yaml)
{
    memset(g, 0, sizeof *g);
    diag_init(&g->d, "test");
    g->spec = node_parse(yaml, strlen(yaml), &g->d);
    ASSERT(g->spec);
    g->t.name = (char *)name;
    g->t.ops = target_find(kind);
    ASSERT(g->t.ops);
    g->t.spec = g->spec;
    int rc = g->t.ops->parse(NULL, &g->t, g->spec, &g->d);
    ASSERT_MSG(rc == 0, "target parse: %s", g->d.n ? g->d.msgs[0] : "?");
}

static void tgt_free(struct tgt *g)
{
    g->t.ops->free(&g->t);
    node_free(g->spec);
    diag_release(&g->d);
}

struct flt {
    struct fault_inst fi;
    struct fault_step step;
    struct node *n;
    struct diag d;
};

static void flt_make(struct flt *f, const char *kind, struct tgt *g, const char *yaml)
{
    memset(f, 0, sizeof *f);
    diag_init(&f->d, "test");
    f->n = node_parse(yaml, strlen(yaml), &f->d);
    ASSERT(f->n);
    f->fi.ops = fault_find(kind);
    ASSERT(f->fi.ops);
    f->step.name = kind;
    f->step.probability = 1;
    f->step.for_ms = 10000;
    f->fi.step = &f->step;
    f->fi.target = &g->t;
    int rc = f->fi.ops->parse(NULL, f->n, &f->fi.cfg, &f->d);
    ASSERT_MSG(rc == 0, "fault parse: %s", f->d.n ? f->d.msgs[0] : "?");
}

static void flt_free(struct flt *f)
{
    if (f->fi.state && f->fi.ops->free_state) f->fi.ops->free_state(f->fi.state);
    if (f->fi.ops->free_cfg) f->fi.ops->free_cfg(f->fi.cfg);
    node_free(f->n);
    diag_release(&f->d);
}

static void inject(struct flt *f)
{
    char err[FL_ERR_LEN];
    ASSERT_MSG(f->fi.ops->inject(&f->fi, err) == 0, "inject %s: %s", f->fi.ops->name, err);
}

static void revert(struct flt *f)
{
    char err[FL_ERR_LEN];
    if (!f->fi.ops->revert) return;
    ASSERT_MSG(f->fi.ops->revert(&f->fi, err) == 0, "revert %s: %s", f->fi.ops->name, err);
}

/* ---- PostgreSQL ---------------------------------------------------------------------- */
/* sessions named app, or app-<suffix> (a fault's sessions carry "faultline-lock-<pid>-<n>") */
static int count_app(PGconn *obs, const char *app)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "select count(*) from pg_stat_activity where application_name = '%s' or application_name like '%s-%%'",
             app, app);
    return atoi(pgfx_q1(obs, sql));
}

static void pg_target(struct tgt *g, const char *extra)
{
    char yaml[600];
    snprintf(yaml, sizeof yaml, "dsn: \"%s%s\"\n", th_pg_dsn(), extra ? extra : "");
    tgt_make(g, "pg", "postgres", yaml);
}

TEST(pg_terminate_application_name)
{
    PGconn *obs = pgfx_connect("application_name=fl-observer");
    PGconn *victim = pgfx_connect("application_name=fl-victim");
    PGconn *victim2 = pgfx_connect("application_name=fl-victim");
    ASSERT_EQ_INT(count_app(obs, "fl-victim"), 2);
    struct tgt g;
    pg_target(&g, NULL);
    struct flt f;
    flt_make(&f, "postgres.terminate", &g, "application_name: fl-victim\n");
    inject(&f);
    for (int i = 0; i < 50 && count_app(obs, "fl-victim") > 0; i++) usleep(20000);
    ASSERT_EQ_INT(count_app(obs, "fl-victim"), 0);
    ASSERT_EQ_STR(pgfx_q1(victim, "select 1"), "ERROR:lost");
    ASSERT_EQ_STR(pgfx_q1(obs, "select 1"), "1");   /* others untouched */
    struct buf b;
    buf_init(&b, 0);
    f.fi.ops->describe(&f.fi, &b);
    ASSERT_CONTAINS(b.data, "2 ended");
    buf_release(&b);
    json_t *rec = f.fi.ops->save(&f.fi);
    ASSERT_EQ_INT(json_integer_value(json_object_get(rec, "terminated")), 2);
    json_decref(rec);
    flt_free(&f);
    tgt_free(&g);
    PQfinish(victim);
    PQfinish(victim2);
    PQfinish(obs);
}

TEST(pg_terminate_database)
{
    PGconn *obs = pgfx_connect("application_name=fl-observer");
    pgfx_q1(obs, "drop database if exists fl_term_db");
    ASSERT_EQ_STR(pgfx_q1(obs, "create database fl_term_db"), "(none)");
    char dsn[512];
    snprintf(dsn, sizeof dsn, "%s dbname=fl_term_db application_name=fl-dbvictim", th_pg_dsn());
    PGconn *victim = PQconnectdb(dsn);
    ASSERT(PQstatus(victim) == CONNECTION_OK);
    ASSERT_EQ_STR(pgfx_q1(obs, "select count(*) from pg_stat_activity where datname = 'fl_term_db'"), "1");
    struct tgt g;
    pg_target(&g, NULL);
    struct flt f;
    flt_make(&f, "postgres.terminate", &g, "database: fl_term_db\n");
    inject(&f);
    for (int i = 0; i < 50 && strcmp(pgfx_q1(obs, "select count(*) from pg_stat_activity where datname = 'fl_term_db'"), "0"); i++)
        usleep(20000);
    ASSERT_EQ_STR(pgfx_q1(obs, "select count(*) from pg_stat_activity where datname = 'fl_term_db'"), "0");
    ASSERT_EQ_STR(pgfx_q1(victim, "select 1"), "ERROR:lost");
    PQfinish(victim);
    flt_free(&f);
    tgt_free(&g);
    pgfx_q1(obs, "drop database if exists fl_term_db");
    PQfinish(obs);
}

TEST(pg_lock_blocks_then_releases)
{
    PGconn *obs = pgfx_connect("application_name=fl-observer");
    pgfx_q1(obs, "create table if not exists fl_lock_t (id int)");
    pgfx_q1(obs, "insert into fl_lock_t values (1)");
    struct tgt g;
    pg_target(&g, NULL);
    struct flt f;
    flt_make(&f, "postgres.lock", &g, "table: fl_lock_t\nmode: ACCESS EXCLUSIVE\n");
    ASSERT_EQ_STR(pgfx_q1(obs, "set lock_timeout = '200ms'"), "(none)");
    ASSERT(strcmp(pgfx_q1(obs, "select count(*) from fl_lock_t"), "0") != 0);   /* readable before */
    inject(&f);
    /* held by the fault's session, and a reader gives up with lock_not_available */
    ASSERT_EQ_STR(pgfx_q1(obs, "select count(*) from pg_locks l join pg_stat_activity a using (pid) "
                          "where l.relation = 'fl_lock_t'::regclass and l.mode = 'AccessExclusiveLock' "
                          "and l.granted and a.application_name like 'faultline-lock-%'"), "1");
    ASSERT_EQ_STR(pgfx_q1(obs, "select count(*) from fl_lock_t"), "ERROR:55P03");
    revert(&f);
    ASSERT(strncmp(pgfx_q1(obs, "select count(*) from fl_lock_t"), "ERROR", 5) != 0);
    ASSERT_EQ_STR(pgfx_q1(obs, "select count(*) from pg_locks where relation = 'fl_lock_t'::regclass and pid <> pg_backend_pid()"), "0");
    for (int i = 0; i < 50 && count_app(obs, "faultline-lock") > 0; i++) usleep(20000);   /* backend exit */
    ASSERT_EQ_INT(count_app(obs, "faultline-lock"), 0);
    flt_free(&f);

    /* SHARE mode: reads pass, writes wait */
    flt_make(&f, "postgres.lock", &g, "table: public.fl_lock_t\nmode: share\n");
    inject(&f);
    ASSERT(strncmp(pgfx_q1(obs, "select count(*) from fl_lock_t"), "ERROR", 5) != 0);
    ASSERT_EQ_STR(pgfx_q1(obs, "insert into fl_lock_t values (2)"), "ERROR:55P03");
    revert(&f);
    ASSERT_EQ_STR(pgfx_q1(obs, "insert into fl_lock_t values (2)"), "(none)");
    flt_free(&f);

    /* a bad mode is a plan error */
    struct diag d;
    diag_init(&d, "t");
    const char *y = "table: fl_lock_t\nmode: VERY EXCLUSIVE\n";
    struct node *n = node_parse(y, strlen(y), &d);
    void *cfg = NULL;
    ASSERT(fault_find("postgres.lock")->parse(NULL, n, &cfg, &d) < 0);
    ASSERT_CONTAINS(d.msgs[0], "VERY EXCLUSIVE");
    node_free(n);
    diag_release(&d);
    pgfx_q1(obs, "drop table fl_lock_t");
    tgt_free(&g);
    PQfinish(obs);
}

TEST(pg_exhaust_holds_then_closes)
{
    PGconn *obs = pgfx_connect("application_name=fl-observer");
    ASSERT_EQ_INT(count_app(obs, "faultline-exhaust"), 0);
    struct tgt g;
    pg_target(&g, NULL);
    struct flt f;
    flt_make(&f, "postgres.exhaust", &g, "connections: 7\n");
    inject(&f);
    ASSERT_EQ_INT(count_app(obs, "faultline-exhaust"), 7);
    revert(&f);
    for (int i = 0; i < 50 && count_app(obs, "faultline-exhaust") > 0; i++) usleep(20000);
    ASSERT_EQ_INT(count_app(obs, "faultline-exhaust"), 0);
    flt_free(&f);
    tgt_free(&g);
    PQfinish(obs);
}

TEST(pg_exhaust_fills_the_server)
{
    /* asking for more than the server allows holds what it gives: new clients are refused */
    PGconn *obs = pgfx_connect("application_name=fl-observer");
    int maxc = atoi(pgfx_q1(obs, "show max_connections"));
    int used = atoi(pgfx_q1(obs, "select count(*) from pg_stat_activity where backend_type = 'client backend'"));
    ASSERT(maxc > 0 && maxc <= 1000);
    struct tgt g;
    pg_target(&g, NULL);
    struct flt f;
    char y[64];
    snprintf(y, sizeof y, "connections: %d\n", maxc + 5);
    flt_make(&f, "postgres.exhaust", &g, y);
    inject(&f);
    char dsn[512];
    snprintf(dsn, sizeof dsn, "%s application_name=fl-late", th_pg_dsn());
    PGconn *late = PQconnectdb(dsn);
    ASSERT(PQstatus(late) != CONNECTION_OK);
    ASSERT_CONTAINS(PQerrorMessage(late), "too many");
    PQfinish(late);
    ASSERT(count_app(obs, "faultline-exhaust") >= maxc - used - 5);
    revert(&f);
    late = NULL;
    for (int i = 0; i < 100; i++) {
        late = PQconnectdb(dsn);
        if (PQstatus(late) == CONNECTION_OK) break;
        PQfinish(late);
        late = NULL;
        usleep(20000);
    }
    ASSERT(late);
    PQfinish(late);
    flt_free(&f);
    tgt_free(&g);
    PQfinish(obs);
}

TEST(pg_password_never_shown)
{
    struct tgt g;
    pg_target(&g, " password=pg-S3cret-xyz");
    ASSERT(fl_has_secret("pg-S3cret-xyz"));
    struct buf b;
    buf_init(&b, 0);
    g.t.ops->describe(&g.t, &b);
    ASSERT(!strstr(b.data, "pg-S3cret-xyz"));
    ASSERT_CONTAINS(b.data, "user=");
    struct flt f;
    flt_make(&f, "postgres.exhaust", &g, "connections: 1\n");
    buf_reset(&b);
    f.fi.ops->describe(&f.fi, &b);
    ASSERT(!strstr(b.data, "pg-S3cret-xyz"));
    buf_release(&b);
    flt_free(&f);
    tgt_free(&g);
    /* an error on a closed port names the server, not the password */
    char yaml[300];
    snprintf(yaml, sizeof yaml, "dsn: \"host=127.0.0.1 port=%d user=u password=pg-S3cret-xyz dbname=d\"\n", th_free_port());
    tgt_make(&g, "pg", "postgres", yaml);
    flt_make(&f, "postgres.terminate", &g, "database: d\n");
    char err[FL_ERR_LEN];
    ASSERT(f.fi.ops->inject(&f.fi, err) < 0);
    ASSERT_CONTAINS(err, "cannot connect");
    ASSERT(!strstr(err, "pg-S3cret-xyz"));
    flt_free(&f);
    tgt_free(&g);
}

/* probes */
struct prb {
    struct probe_inst pi;
    struct node *n;
    struct diag d;
    struct drv_parse pc;          /* the plan of one target */
};

static struct target *the_target(void *t, const char *name)
{
    return strcmp(((struct target *)t)->name, name) ? NULL : t;
}

static void prb_make(struct prb *p, const char *kind, struct tgt *g, const char *yaml)
{
    memset(p, 0, sizeof *p);
    diag_init(&p->d, "test");
    p->n = node_parse(yaml, strlen(yaml), &p->d);
    ASSERT(p->n);
    p->pc = (struct drv_parse){ .plan = &g->t, .target = the_target };
    p->pi.ops = probe_find(kind);
    ASSERT(p->pi.ops);
    int rc = p->pi.ops->parse(&p->pc, p->n, NULL, &p->pi.cfg, &p->d);
    ASSERT_MSG(rc == 0, "probe parse: %s", p->d.n ? p->d.msgs[0] : "?");
}

static int prb_check(struct prb *p, struct probe_obs *o, char *err)
{
    memset(o, 0, sizeof *o);
    err[0] = '\0';
    return p->pi.ops->check(&p->pi, o, err);
}

static void prb_free(struct prb *p)
{
    p->pi.ops->free_cfg(p->pi.cfg);
    node_free(p->n);
    diag_release(&p->d);
}

TEST(pg_probe_pass_fail_and_could_not_check)
{
    struct tgt g;
    pg_target(&g, NULL);
    struct probe_obs o;
    char err[FL_ERR_LEN];
    struct prb p;

    prb_make(&p, "postgres", &g, "target: pg\nquery: \"select count(*) > 0 from pg_database\"\nexpect: \"t\"\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_PASSED);
    ASSERT_CONTAINS(o.observed, "t");
    prb_free(&p);

    prb_make(&p, "postgres", &g, "target: pg\nquery: \"select 41 + 1\"\nexpect: \"< 40\"\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);                   /* checked: the value is wrong */
    ASSERT(o.has_value && o.value == 42);
    prb_free(&p);

    prb_make(&p, "postgres", &g, "target: pg\nquery: \"select * from no_such_table\"\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);                   /* the server answered with an error */
    ASSERT_CONTAINS(o.observed, "no_such_table");
    prb_free(&p);

    prb_make(&p, "postgres", &g, "target: pg\nquery: \"select pg_sleep(0.2)\"\nmax_latency: 50ms\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);
    ASSERT(o.latency_ms >= 150);
    ASSERT_CONTAINS(o.observed, "over 50ms");
    prb_free(&p);
    tgt_free(&g);

    /* closed port: the server under test did not answer: evidence (failed), with the reason */
    char yaml[300];
    snprintf(yaml, sizeof yaml, "dsn: \"host=127.0.0.1 port=%d dbname=x user=y\"\n", th_free_port());
    tgt_make(&g, "pg", "postgres", yaml);
    prb_make(&p, "postgres", &g, "target: pg\nexpect: \"1\"\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);
    ASSERT_CONTAINS(o.observed, "no answer");
    ASSERT_CONTAINS(o.observed, "refused");
    prb_free(&p);
    tgt_free(&g);

    /* a server that answers but not to us (a database that does not exist): faultline could
       not ask: could not check */
    snprintf(yaml, sizeof yaml, "dsn: \"%s dbname=fl_no_such_db_x\"\n", th_pg_dsn());
    tgt_make(&g, "pg", "postgres", yaml);
    prb_make(&p, "postgres", &g, "target: pg\nexpect: \"1\"\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), -1);
    ASSERT_CONTAINS(err, "fl_no_such_db_x");
    prb_free(&p);
    tgt_free(&g);

    /* our statement_timeout: the server did not answer in time: failed */
    pg_target(&g, NULL);
    prb_make(&p, "postgres", &g, "target: pg\nquery: \"select pg_sleep(2)\"\ntimeout: 300ms\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);
    ASSERT_CONTAINS(o.observed, "no answer within 300ms");
    prb_free(&p);
    tgt_free(&g);
}

TEST(pg_probe_sees_the_lock)
{
    PGconn *obs = pgfx_connect("application_name=fl-observer");
    pgfx_q1(obs, "create table if not exists fl_probe_t (id int)");
    struct tgt g;
    pg_target(&g, NULL);
    struct prb p;
    prb_make(&p, "postgres", &g, "target: pg\nquery: \"select count(*) from fl_probe_t\"\nexpect: \"0\"\ntimeout: 1s\n");
    struct probe_obs o;
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_PASSED);
    struct flt f;
    flt_make(&f, "postgres.lock", &g, "table: fl_probe_t\n");
    inject(&f);
    /* the query waits behind the lock until the probe's timeout: the database did not
       answer in time: evidence (failed) */
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);
    ASSERT_CONTAINS(o.observed, "no answer within 1000ms");
    ASSERT_CONTAINS(o.observed, "timeout");
    revert(&f);
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_PASSED);
    flt_free(&f);
    prb_free(&p);
    tgt_free(&g);
    pgfx_q1(obs, "drop table fl_probe_t");
    PQfinish(obs);
}

/* ---- Redis --------------------------------------------------------------------------- */
static redisContext *rd(int timeout_ms)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", th_redis_port(), tv);
    ASSERT(c && !c->err);
    redisSetTimeout(c, tv);
    return c;
}

/* a command's reply as text ("(timeout)" / "(error) ..." / "(closed)") */
static const char *rcmd(redisContext *c, const char *fmt, const char *arg)
{
    static char out[256];
    redisReply *r = arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
    if (!r) {
        snprintf(out, sizeof out, "%s", c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == ETIMEDOUT) ? "(timeout)" : "(closed)");
        return out;
    }
    if (r->type == REDIS_REPLY_INTEGER) snprintf(out, sizeof out, "%lld", r->integer);
    else if (r->type == REDIS_REPLY_NIL) snprintf(out, sizeof out, "nil");
    else if (r->type == REDIS_REPLY_ERROR) snprintf(out, sizeof out, "(error) %s", r->str);
    else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) snprintf(out, sizeof out, "%s", r->element[1]->str);
    else snprintf(out, sizeof out, "%s", r->str ? r->str : "?");
    freeReplyObject(r);
    return out;
}

static void redis_target(struct tgt *g, const char *userinfo)
{
    char yaml[300];
    snprintf(yaml, sizeof yaml, "url: \"redis://%s127.0.0.1:%d/0\"\n", userinfo ? userinfo : "", th_redis_port());
    tgt_make(g, "queue", "redis", yaml);
}

TEST(redis_pause_all_and_write)
{
    struct tgt g;
    redis_target(&g, NULL);
    redisContext *setup = rd(2000);
    ASSERT_EQ_STR(rcmd(setup, "SET fl:k %s", "v1"), "OK");
    redisFree(setup);

    struct flt f;
    flt_make(&f, "redis.pause", &g, "mode: all\n");
    f.step.for_ms = 1500;
    inject(&f);
    redisContext *c = rd(300);
    ASSERT_EQ_STR(rcmd(c, "GET fl:k", NULL), "(timeout)");   /* even reads wait */
    redisFree(c);
    /* Redis holds UNPAUSE behind ALL too: the revert returns when the window ends */
    revert(&f);
    c = rd(1000);
    ASSERT_EQ_STR(rcmd(c, "GET fl:k", NULL), "v1");
    redisFree(c);
    flt_free(&f);

    flt_make(&f, "redis.pause", &g, "mode: write\n");
    inject(&f);
    c = rd(300);
    ASSERT_EQ_STR(rcmd(c, "GET fl:k", NULL), "v1");          /* reads answer */
    redisFree(c);
    c = rd(300);
    ASSERT_EQ_STR(rcmd(c, "SET fl:k %s", "v2"), "(timeout)"); /* writes wait */
    redisFree(c);
    json_t *rec = f.fi.ops->save(&f.fi);
    ASSERT_EQ_INT(json_integer_value(json_object_get(rec, "pause_ms")), 10000);
    /* the journal path lifts it too */
    char err[FL_ERR_LEN];
    ASSERT_MSG(fault_reconcile_rec(f.fi.ops, rec, NULL, NULL, err) == 0, "reconcile: %s", err);
    json_decref(rec);
    c = rd(1000);
    ASSERT_EQ_STR(rcmd(c, "SET fl:k %s", "v3"), "OK");
    /* the write held during the pause went through when it was lifted, before ours */
    ASSERT_EQ_STR(rcmd(c, "GET fl:k", NULL), "v3");
    redisFree(c);
    revert(&f);
    flt_free(&f);
    tgt_free(&g);
}

TEST(redis_kill_clients_normal)
{
    struct tgt g;
    redis_target(&g, NULL);
    redisContext *victim = rd(1000);
    ASSERT_EQ_STR(rcmd(victim, "CLIENT SETNAME %s", "fl-victim"), "OK");
    ASSERT_EQ_STR(rcmd(victim, "PING", NULL), "PONG");
    struct flt f;
    flt_make(&f, "redis.kill_clients", &g, "type: normal\n");
    inject(&f);
    ASSERT_EQ_STR(rcmd(victim, "PING", NULL), "(closed)");
    redisFree(victim);
    redisContext *c = rd(1000);
    char list[4096];
    redisReply *r = redisCommand(c, "CLIENT LIST");
    snprintf(list, sizeof list, "%s", r->str);
    freeReplyObject(r);
    ASSERT(!strstr(list, "name=fl-victim"));
    redisFree(c);
    struct buf b;
    buf_init(&b, 0);
    f.fi.ops->describe(&f.fi, &b);
    ASSERT_CONTAINS(b.data, "closed");
    buf_release(&b);
    json_t *rec = f.fi.ops->save(&f.fi);
    ASSERT(json_integer_value(json_object_get(rec, "killed")) >= 1);
    json_decref(rec);
    flt_free(&f);
    tgt_free(&g);
}

TEST(redis_maxmemory_restored_exactly)
{
    struct tgt g;
    redis_target(&g, NULL);
    redisContext *c = rd(1000);
    char orig[64];
    snprintf(orig, sizeof orig, "%s", rcmd(c, "CONFIG GET maxmemory", NULL));
    ASSERT_EQ_STR(rcmd(c, "CONFIG SET maxmemory %s", "123456789"), "OK");
    struct flt f;
    flt_make(&f, "redis.maxmemory", &g, "bytes: 1mb\n");
    inject(&f);
    ASSERT_EQ_STR(rcmd(c, "CONFIG GET maxmemory", NULL), "1048576");
    revert(&f);
    ASSERT_EQ_STR(rcmd(c, "CONFIG GET maxmemory", NULL), "123456789");
    flt_free(&f);
    /* from the journal record alone */
    flt_make(&f, "redis.maxmemory", &g, "bytes: 2mb\n");
    inject(&f);
    ASSERT_EQ_STR(rcmd(c, "CONFIG GET maxmemory", NULL), "2097152");
    json_t *rec = f.fi.ops->save(&f.fi);
    ASSERT_EQ_STR(json_string_value(json_object_get(rec, "old")), "123456789");
    char err[FL_ERR_LEN];
    ASSERT_MSG(fault_reconcile_rec(f.fi.ops, rec, NULL, NULL, err) == 0, "reconcile: %s", err);
    ASSERT_EQ_STR(rcmd(c, "CONFIG GET maxmemory", NULL), "123456789");
    json_decref(rec);
    flt_free(&f);
    ASSERT_EQ_STR(rcmd(c, "CONFIG SET maxmemory %s", orig), "OK");
    redisFree(c);
    tgt_free(&g);
}

TEST(redis_password_never_shown)
{
    struct tgt g;
    redis_target(&g, ":rd-P4ss%2Fword@");
    ASSERT(fl_has_secret("rd-P4ss/word"));
    struct buf b;
    buf_init(&b, 0);
    g.t.ops->describe(&g.t, &b);
    ASSERT(!strstr(b.data, "rd-P4ss"));
    ASSERT_CONTAINS(b.data, ":***@127.0.0.1");
    buf_release(&b);
    /* this server has no password: AUTH fails, and the message does not carry ours */
    struct flt f;
    flt_make(&f, "redis.maxmemory", &g, "bytes: 1mb\n");
    char err[FL_ERR_LEN];
    ASSERT(f.fi.ops->inject(&f.fi, err) < 0);
    ASSERT_CONTAINS(err, "authentication failed");
    ASSERT(!strstr(err, "rd-P4ss"));
    flt_free(&f);
    tgt_free(&g);
    /* bad URLs are plan errors */
    struct diag d;
    diag_init(&d, "t");
    const char *y = "url: \"http://127.0.0.1:6379\"\n";
    struct node *n = node_parse(y, strlen(y), &d);
    struct target t = { .name = "bad", .ops = target_find("redis") };
    ASSERT(t.ops->parse(NULL, &t, n, &d) < 0);
    ASSERT_CONTAINS(d.msgs[0], "redis://");
    node_free(n);
    diag_release(&d);
}

TEST(redis_probe_pass_fail_and_could_not_check)
{
    struct tgt g;
    redis_target(&g, NULL);
    redisContext *c = rd(1000);
    rcmd(c, "DEL fl:q", NULL);
    for (int i = 0; i < 5; i++) rcmd(c, "RPUSH fl:q %s", "job");
    struct prb p;
    struct probe_obs o;
    char err[FL_ERR_LEN];

    prb_make(&p, "redis", &g, "target: queue\ncommand: [PING]\nexpect: PONG\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_PASSED);
    prb_free(&p);

    prb_make(&p, "redis", &g, "target: queue\ncommand: [LLEN, \"fl:q\"]\nexpect: \"< 100\"\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_PASSED);
    ASSERT(o.has_value && o.value == 5);
    for (int i = 0; i < 150; i++) rcmd(c, "RPUSH fl:q %s", "job");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);                 /* 155 is not < 100: checked, unhealthy */
    ASSERT_CONTAINS(o.observed, "155");
    prb_free(&p);

    prb_make(&p, "redis", &g, "target: queue\ncommand: [GET, \"fl:q\"]\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);                 /* WRONGTYPE: the server answered an error */
    ASSERT_CONTAINS(o.observed, "WRONGTYPE");
    prb_free(&p);
    rcmd(c, "DEL fl:q", NULL);
    redisFree(c);
    tgt_free(&g);

    char yaml[200];
    snprintf(yaml, sizeof yaml, "url: \"redis://127.0.0.1:%d\"\n", th_free_port());
    tgt_make(&g, "queue", "redis", yaml);
    prb_make(&p, "redis", &g, "target: queue\ncommand: [PING]\nexpect: PONG\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);                /* refused: the service is down: failed */
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);
    ASSERT_CONTAINS(o.observed, "no answer");
    ASSERT_CONTAINS(o.observed, "refused");
    prb_free(&p);
    tgt_free(&g);

    /* our own credentials refused (this Redis has no password): faultline could not ask */
    redis_target(&g, ":fl-wrong-pw@");
    prb_make(&p, "redis", &g, "target: queue\ncommand: [PING]\nexpect: PONG\n");
    ASSERT_EQ_INT(prb_check(&p, &o, err), -1);
    ASSERT_CONTAINS(err, "authentication failed");
    prb_free(&p);
    tgt_free(&g);
}

TEST(redis_probe_paused_server_is_failed)
{
    /* CLIENT PAUSE: the server takes the connection and never answers within timeout: */
    struct tgt g;
    redis_target(&g, NULL);
    struct flt f;
    flt_make(&f, "redis.pause", &g, "mode: all\n");
    f.step.for_ms = 1500;
    inject(&f);
    struct prb p;
    struct probe_obs o;
    char err[FL_ERR_LEN];
    prb_make(&p, "redis", &g, "target: queue\ncommand: [PING]\nexpect: PONG\ntimeout: 300ms\n");
    int rc = prb_check(&p, &o, err);
    ASSERT_MSG(rc == 0, "check: %s", err);
    ASSERT_EQ_INT(o.outcome, PROBE_FAILED);
    ASSERT_CONTAINS(o.observed, "no answer within 300ms");
    revert(&f);
    ASSERT_EQ_INT(prb_check(&p, &o, err), 0);
    ASSERT_EQ_INT(o.outcome, PROBE_PASSED);
    prb_free(&p);
    flt_free(&f);
    tgt_free(&g);
}

/* a plan through `faultline run`: its exit code and output */
static int run_plan_yaml(const char *yaml, char *out, size_t outlen)
{
    const char *dir = th_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fputs(yaml, f);
    fclose(f);
    return th_sh(out, outlen, "cd '%s' && '%s' run -o '%s/report' --journal '%s/journal.jsonl' '%s' 2>&1", dir,
                 th_faultline(), dir, dir, path);
}

TEST_T(redis_stop_when_trips_during_an_outage, 60)
{
    /* review-1 #2: a stop condition whose checks time out while Redis is paused must trip
       (exit 3), not skip every second as "no evidence" and pass when Redis is back */
    char yaml[1024], out[16384];
    snprintf(yaml, sizeof yaml,
             "faultline: 1\nname: stop-when-outage\nduration: 8s\n"
             "targets:\n  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
             "method:\n  - { name: freeze, at: 1s, for: 5s, fault: redis.pause, target: cache }\n"
             "stop_when:\n  - { redis: { target: cache, command: [PING], expect: PONG, timeout: 500ms }, for: 1s }\n",
             th_redis_port());
    int rc = run_plan_yaml(yaml, out, sizeof out);
    ASSERT_MSG(rc == 3, "faultline run exited %d, expected 3 (aborted):\n%s", rc, out);
    ASSERT_CONTAINS(out, "tripped");
    ASSERT_CONTAINS(out, "no answer");
    redisContext *c = rd(1000);
    ASSERT_EQ_STR(rcmd(c, "PING", NULL), "PONG");           /* rolled back */
    redisFree(c);
}

TEST_T(redis_and_pg_recovery_that_never_comes_is_not_recovered, 60)
{
    /* review-1 #2: recovery until a redis/postgres that never answers again is "not
       recovered" (failed, exit 1), not "no evidence" (exit 5) */
    char yaml[2048], out[16384];
    int rport = th_free_port(), pport = th_free_port();
    snprintf(yaml, sizeof yaml,
             "faultline: 1\nname: never-back\nduration: 5s\n"
             "targets:\n  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
             "  db: { postgres: { dsn: \"host=127.0.0.1 port=%d dbname=x user=y\" } }\n"
             "method:\n  - { name: outage, at: 1s, for: 1s, fault: exec, run: [\"true\"] }\n"
             "probes:\n"
             "  - { name: cache-back, recovery: { from: outage, until: { redis: { target: cache, command: [PING], expect: PONG, timeout: 300ms } }, within: 2s } }\n"
             "  - { name: db-back, recovery: { from: outage, until: { postgres: { target: db, timeout: 1s } }, within: 2s } }\n",
             rport, pport);
    int rc = run_plan_yaml(yaml, out, sizeof out);
    ASSERT_MSG(rc == 1, "faultline run exited %d, expected 1 (failed):\n%s", rc, out);
    ASSERT_CONTAINS(out, "not recovered");
    ASSERT(!strstr(out, "inconclusive"));
}

TEST_T(pgredis_plan_end_to_end, 60)
{
    /* a plan through `faultline run`: steady state on both, a lock held for its window and
       seen by a probe, maxmemory changed and found restored after */
    PGconn *obs = pgfx_connect("application_name=fl-observer");
    pgfx_q1(obs, "create table if not exists fl_e2e_t (id int)");
    redisContext *c = rd(1000);
    char orig[64];
    snprintf(orig, sizeof orig, "%s", rcmd(c, "CONFIG GET maxmemory", NULL));
    const char *dir = th_tmpdir();
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: pgredis-e2e\n"
            "duration: 2s\n"
            "targets:\n"
            "  pg: { postgres: { dsn: \"%s\" } }\n"
            "  queue: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
            "steady_state:\n"
            "  - postgres: { target: pg, query: \"select count(*) >= 0 from fl_e2e_t\", expect: \"t\" }\n"
            "  - redis: { target: queue, command: [PING], expect: PONG }\n"
            "method:\n"
            "  - { name: lock, at: 200ms, fault: postgres.lock, target: pg, table: fl_e2e_t, for: 1s }\n"
            "  - { name: mem, at: 200ms, fault: redis.maxmemory, target: queue, bytes: 1mb, for: 1s }\n"
            "probes:\n"
            "  - name: lock-held\n"
            "    during: lock\n"
            "    every: 400ms\n"   /* checks at 0, 400, 800 ms of the 1 s window: none races the revert */
            "    postgres: { target: pg, expect: \"1\", query: \"select count(*) from pg_locks where relation = "
            "'fl_e2e_t'::regclass and mode = 'AccessExclusiveLock' and granted\" }\n"
            "  - name: reads-again\n"
            "    after: lock\n"
            "    postgres: { target: pg, query: \"select count(*) from fl_e2e_t\", expect: \"0\", timeout: 2s }\n",
            th_pg_dsn(), th_redis_port());
    char out[16384];
    int rc = th_fl(dir, "run -q -o report plan.yaml", out, sizeof out);
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    ASSERT_EQ_STR(rcmd(c, "CONFIG GET maxmemory", NULL), orig);
    ASSERT_EQ_STR(pgfx_q1(obs, "select count(*) from pg_locks where relation = 'fl_e2e_t'::regclass"), "0");
    redisFree(c);
    pgfx_q1(obs, "drop table fl_e2e_t");
    PQfinish(obs);
}
