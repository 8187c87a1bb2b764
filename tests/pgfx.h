/* pgfx.h -- PostgreSQL fixtures shared by test files: a session to the test server that
 * tests/run.sh started, and one value of a query as text, for assertions. */
#ifndef FL_PGFX_H
#define FL_PGFX_H

#include <libpq-fe.h>

/* a session to th_pg_dsn() plus extra conninfo words (may be NULL, e.g.
 * "application_name=x"); the test fails when it cannot connect */
PGconn *pgfx_connect(const char *extra);
/* the first value of sql's result as text (a static buffer, valid until the next call);
 * "(none)" when it returns no row, "ERROR:<sqlstate>" when it fails ("ERROR:lost" when the
 * session is gone) */
const char *pgfx_q1(PGconn *c, const char *sql);

#endif
