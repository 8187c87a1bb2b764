/* pgfx.c -- PostgreSQL fixtures shared by test files (see pgfx.h). */
#include "pgfx.h"

#include <stdio.h>
#include "harness.h"

PGconn *pgfx_connect(const char *extra)
{
    char dsn[512];
    snprintf(dsn, sizeof dsn, "%s %s", th_pg_dsn(), extra ? extra : "");
    PGconn *c = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    return c;
}

const char *pgfx_q1(PGconn *c, const char *sql)
{
    static char out[512];
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) snprintf(out, sizeof out, "%s", PQgetvalue(r, 0, 0));
    else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) snprintf(out, sizeof out, "(none)");
    else {
        const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        snprintf(out, sizeof out, "ERROR:%s", s ? s : (PQstatus(c) == CONNECTION_OK ? "?" : "lost"));
    }
    PQclear(r);
    return out;
}
