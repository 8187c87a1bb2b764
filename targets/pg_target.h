/* pg_target.h -- the `postgres` target (targets/pg_target.c), as postgres faults and probes
 * (faults/postgres.c, probes/postgres.c) reach it. */
#ifndef FL_PG_TARGET_H
#define FL_PG_TARGET_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include "target.h"

extern const struct target_ops target_postgres;
/* the target's DSN (with its password) and, in *shown (may be NULL), the same without it;
 * NULL when t is not a parsed postgres target */
const char *pg_target_dsn(const struct target *t, const char **shown);
/* the DSN as keyword='value' pairs without its password, for the journal (rollback reaches
 * the server with it and PGPASSWORD / ~/.pgpass, or the plan's DSN with --plan); NULL when
 * libpq cannot parse it. Caller frees. */
char *pg_dsn_no_password(const char *dsn);
/* a connection (application_name appname) made without blocking past deadline_ms (the
 * fl_now_ms() clock): a server that takes the TCP connection and then says nothing (frozen
 * by SIGSTOP) cannot hold it. NULL with err "cannot connect to postgres (SHOWN): ..."
 * (secrets redacted); *timed_out (may be NULL) = 1 when the deadline passed */
PGconn *pg_open_until(const char *dsn, const char *shown, const char *appname, int64_t deadline_ms, int *timed_out,
                      char *err);
/* the same within timeout_s seconds (default 5) */
PGconn *pg_open(const char *dsn, const char *shown, const char *appname, int timeout_s, char *err);
/* PQexec that gives up at deadline_ms: the first error result, else the last result (caller
 * PQclear()s); NULL with err (libpq's message, or the deadline: *timed_out = 1) when no
 * result came. After NULL the connection is unusable (a query may still run): PQfinish it */
PGresult *pg_exec_until(PGconn *c, const char *sql, int64_t deadline_ms, int *timed_out, char *err);
/* libpq's last message of c, first line, secrets redacted */
void pg_msg(PGconn *c, char *out, size_t n);

#endif
