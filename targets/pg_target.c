/* pg_target.c -- the `postgres` target (a libpq DSN) and what its faults and probes share:
 * connecting, the DSN without its password. Passwords in a DSN are registered as secrets at
 * parse time and never described. */
#include <libpq-fe.h>
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

PGconn *pg_open(const char *dsn, const char *shown, const char *appname, int timeout_s, char *err)
{
    char tmo[16];
    snprintf(tmo, sizeof tmo, "%d", timeout_s > 0 ? timeout_s : 5);
    const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
    const char *vals[] = { dsn, appname, tmo, NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char msg[FL_ERR_LEN];
        snprintf(msg, sizeof msg, "%s", c ? PQerrorMessage(c) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        fl_redact(msg);
        fl_err(err, "cannot connect to postgres (%s): %s", shown, msg);
        if (c) PQfinish(c);
        return NULL;
    }
    return c;
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
