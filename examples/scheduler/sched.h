/* sched.h -- the demo "Residency Scheduler" service: shared types of scheduler-api.
 *
 * One binary, three subcommands (main.c): `serve` (http.c: the REST API on libmicrohttpd),
 * `worker` (worker.c: takes generation jobs from Redis, writes schedules to PostgreSQL) and
 * `init-db` (gen.c: schema + seed data). Below them:
 *   db.c     PostgreSQL with deadlines: nonblocking connect and queries, a bounded pool.
 *   rds.c    Redis with connect/command timeouts, a bounded pool.
 *   acgme.c  the service's own ACGME validator (independent of faultline's probes/acgme_ref.c).
 *   auth.c   demo users, HS256 JWT bearer tokens (SHA-256/HMAC inside).
 *   gen.c    dates, the schema, the deterministic compliant schedule generator and seeding.
 * Errors follow faultline's convention: 0 / -1 with `char err[FL_ERR_LEN]`; only main.c and
 * the HTTP layer print (sched_log).
 */
#ifndef SCHED_H
#define SCHED_H

#include <stdint.h>
#include <libpq-fe.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "fl.h"

enum sched_defect { DEFECT_NONE, DEFECT_HANG_READS, DEFECT_VALID_ON_TIMEOUT };

/* how long the hang-reads defect keeps a read waiting for an unreachable database */
#define SCHED_HANG_MS 30000

struct sched_cfg {
    int port;
    const char *bind;           /* IPv4 address to listen on (NULL: 127.0.0.1) */
    const char *pg_dsn;
    const char *redis_host;
    int redis_port;
    const char *redis_password; /* NULL: no AUTH */
    int defect;                 /* enum sched_defect */
    int pg_timeout_ms;          /* deadline of one database round (connect or statement) */
    int redis_timeout_ms;       /* connect and command timeout */
    int threads;                /* max PostgreSQL / Redis connections in each pool */
    int supervise_weekends;     /* 0: weekend blocks are skipped by the supervision rule */
};

/* stderr log line "scheduler-api[pid] HH:MM:SS message" (thread-safe, one write) */
void sched_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- dates (gen.c): days since 1970-01-01 ------------------------------------------ */
int sched_parse_date(const char *s, int *days);  /* strict YYYY-MM-DD; 0 / -1 */
void sched_fmt_date(int days, char out[11]);
int sched_weekday(int days);                     /* 0 = Monday .. 6 = Sunday */
void sched_uuid4(char out[37]);                  /* random version-4 UUID text */
void sched_uuid_of(const char *name, char out[37]); /* the same name, the same UUID (SHA-256, version 8) */

/* ---- PostgreSQL (db.c) ------------------------------------------------------------- */
enum { DB_OK = 0, DB_UNAVAILABLE = -1, DB_ERROR = -2 }; /* unreachable/timed out vs SQL error */

/* Connect within the deadline (fl_now_ms() clock); the connection is left nonblocking. */
PGconn *db_connect(const char *dsn, int statement_timeout_ms, int64_t deadline_ms, char *err);
/* Run one statement (text params) within the deadline. Returns DB_OK with *res (caller
 * PQclear()s; NULL res pointer allowed), DB_ERROR for an SQL error (connection still usable),
 * DB_UNAVAILABLE when the connection broke or the deadline passed (drop the connection). */
int db_exec(PGconn *c, int64_t deadline_ms, const char *sql, int nparams, const char *const *params,
            PGresult **res, char *err);

struct db_pool;
struct db_pool *db_pool_new(const char *dsn, int max, int statement_timeout_ms);
void db_pool_free(struct db_pool *p); /* closes idle connections; call after all users ended */
/* An operation over one connection; returns DB_OK / DB_ERROR / DB_UNAVAILABLE. */
typedef int (*db_op_fn)(PGconn *c, int64_t deadline_ms, void *arg, char *err);
/* Take a connection (waiting at most until the deadline), run op, give it back (or drop it
 * when it broke). A reused connection that broke before any reply is retried once on a fresh
 * one. With retry_until_ms > deadline, an unavailable database is retried every 250 ms
 * until that time (the hang-reads defect). */
int db_pool_run(struct db_pool *p, int64_t deadline_ms, int64_t retry_until_ms, db_op_fn op, void *arg,
                char *err);

/* ---- Redis (rds.c) ----------------------------------------------------------------- */
struct rds_pool;
struct rds_pool *rds_pool_new(const char *host, int port, const char *password, int timeout_ms, int max);
void rds_pool_free(struct rds_pool *p);
/* connect one context with timeouts (and AUTH); NULL with err on failure */
redisContext *rds_connect(const char *host, int port, const char *password, int timeout_ms, char *err);
/* Run n commands (argv form, pipelined) on a pooled connection; replies[i] are the caller's
 * to freeReplyObject(). Returns 0, or -1 with err when Redis is unreachable / timed out /
 * answered any command with an error (no replies are left to free then). */
struct rds_cmd { int argc; const char *argv[12]; };
int rds_pool_run(struct rds_pool *p, const struct rds_cmd *cmds, int n, redisReply **replies, char *err);

/* ---- ACGME validator (acgme.c) ----------------------------------------------------- */
struct acgme_person { const char *id, *name; int resident; int pgy; };
struct acgme_block { const char *id; int day; int pm; };
struct acgme_assignment { const char *block_id, *person_id; };
struct acgme_input {
    struct acgme_person *people; int npeople;
    struct acgme_block *blocks; int nblocks;
    struct acgme_assignment *assignments; int nassignments;
    int supervise_weekends;
};
/* The answer {valid, total_violations, violations: [...], statistics}; caller json_decref()s. */
json_t *acgme_validate(const struct acgme_input *in);

/* ---- auth (auth.c) ----------------------------------------------------------------- */
/* reads SCHEDULER_SECRET_KEY, SCHEDULER_{ADMIN,FACULTY,RESIDENT}_PASSWORD, SCHEDULER_TOKEN_TTL */
void auth_init(void);
/* check a user's password; on success writes a token (caller frees) and returns 0 */
int auth_login(const char *user, const char *password, char **token);
/* verify "Bearer <jwt>"; 0 when valid and unexpired (user copied into user[64] if non-NULL) */
int auth_check_bearer(const char *authorization, char user[64]);
void sha256(const void *data, size_t len, uint8_t out[32]);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32]);

/* ---- schema, generator, seed (gen.c) ------------------------------------------------ */
extern const char sched_schema_sql[];       /* text ids (the default) */
extern const char sched_schema_uuid_sql[];  /* `--schema uuid`: uuid ids as the real models */
/* 1 with `--schema uuid` (every command of one deployment must say the same) */
extern int sched_uuid_ids;
/* "uuid" or "text": the SQL type of ids, for casts */
const char *sched_id_type(void);
#define SCHED_SEED_START "2025-07-07"  /* a Monday; the seed schedule covers 28 days */
#define SCHED_SEED_DAYS 28
#define SCHED_MAX_RANGE_DAYS 366
/* (Re)write the generated compliant schedule of [start, end] (days) for the people in the
 * database; returns DB_OK with the number of assignments written in *written. */
int gen_schedule(PGconn *c, int64_t deadline_ms, int start, int end, int *written, char *err);
/* schema + (unless no_seed) demo people and the seed schedule; idempotent */
int gen_init_db(const char *dsn, int no_seed, char *err);

/* ---- the commands (http.c, worker.c) ------------------------------------------------ */
int api_serve(const struct sched_cfg *cfg);
/* metrics.c: the API's /metrics (Prometheus text format) */
void metrics_observe(const char *route, const char *method, unsigned status, double seconds);
char *metrics_text(void); /* caller frees */
int worker_run(const struct sched_cfg *cfg, int job_delay_ms);

#endif
