/* postgres.c -- the `postgres` probe: one query's single value (and its latency) through
 * libpq, compared with expect:. The server not answering (connection refused or timed out,
 * rejected as starting up or full, the connection lost, our statement_timeout) is evidence
 * about the system under test (failed), as an error answer is. Only faultline's own
 * failures are "could not check" (-1, inconclusive): no target, a connection string libpq
 * cannot use, a server that accepts connections but not ours (password, database, role).
 * The connect and every query are non-blocking with one deadline (timeout + 250 ms): a
 * server frozen by SIGSTOP, which takes TCP connections and never answers, makes the check
 * end as failed ("no answer within ...") in time, never hangs the run. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_target.h"
#include "probe.h"
#include "target.h"
#include "value.h"

/* past the timeout, how long the check waits for the server's own statement_timeout */
#define PPG_GRACE_MS 250

struct ppg_cfg {
    char *target;
    const struct target *tgt;   /* resolved at plan load (the plan owns it) */
    char *query;
    int has_expect;
    struct expect expect;
    int64_t max_latency_ms;   /* -1: none */
    int64_t timeout_ms;
};

static const struct param_spec ppg_params[] = {
    { "target", PT_TARGET, PARAM_REQUIRED, "a postgres target of the plan" },
    { "query", PT_STR, 0, "SQL returning one value (default: select 1)" },
    { "expect", PT_EXPECT, 0, "the value: text (\"t\") or a comparison (\"< 100\")" },
    { "max_latency", PT_DURATION, 0, "the query must answer within this" },
    { "timeout", PT_DURATION, 0, "connect and query timeout (default 5s): past it, failed (no answer)" },
    { 0 } };

static void ppg_free(void *cfg)
{
    struct ppg_cfg *c = cfg;
    if (!c) return;
    free(c->target);
    free(c->query);
    if (c->has_expect) expect_release(&c->expect);
    free(c);
}

static int ppg_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg, struct diag *d)
{
    (void)entry;
    struct ppg_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    char err[FL_ERR_LEN];
    c->target = fl_strdup(param_str(val, "target", ""));
    const struct target *t = c->tgt = drv_target(pc, c->target);
    if (t && t->ops && strcmp(t->ops->name, "postgres") != 0) {
        diag_add(d, node_get(val, "target"), "postgres probe: target '%s' is a %s target, not postgres", c->target,
                 t->ops->name);
        bad = 1;
    }
    c->query = fl_strdup(param_str(val, "query", "select 1"));
    const char *ex = param_str(val, "expect", NULL);
    if (ex) {
        if (expect_parse(ex, NULL, &c->expect, err) < 0) {
            diag_add(d, node_get(val, "expect"), "postgres probe: expect: %s", err);
            bad = 1;
        } else {
            c->has_expect = 1;
        }
    }
    c->max_latency_ms = node_get(val, "max_latency") ? param_ms(val, "max_latency", 0) : -1;
    c->timeout_ms = param_ms(val, "timeout", 5000);
    if (bad) { ppg_free(c); return -1; }
    *cfg = c;
    return 0;
}

static int ppg_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct ppg_cfg *c = pi->cfg;
    const struct target *t = c->tgt;
    const char *shown = "?";
    const char *dsn = pg_target_dsn(t, &shown);
    if (!dsn) return fl_err(err, "postgres probe: no postgres target '%s'", c->target);
    int tmo_s = (int)((c->timeout_ms + 999) / 1000);
    int64_t c0 = fl_now_ns();
    /* one deadline for the whole check: timeout, plus a little for the server's own
     * statement_timeout (set to timeout) to answer first when the server is alive. A server
     * that says nothing (frozen by SIGSTOP) cannot hold the check past it */
    int64_t deadline = fl_now_ms() + c->timeout_ms + PPG_GRACE_MS;
    int timed_out = 0;
    PGconn *conn = pg_open_until(dsn, shown, "faultline-probe", deadline, &timed_out, err);
    if (!conn) {
        /* did the server answer? libpq's ping tells a server that accepts connections (ours
           failed on our side: password, database) from one that is down or rejecting all */
        int none = timed_out;
        if (!none) {
            char tmo[16];
            snprintf(tmo, sizeof tmo, "%d", tmo_s);
            const char *keys[] = { "dbname", "connect_timeout", NULL };
            const char *vals[] = { dsn, tmo, NULL };
            PGPing pr = PQpingParams(keys, vals, 1);
            none = pr == PQPING_NO_RESPONSE || pr == PQPING_REJECT;
        }
        if (!none) return -1;
        obs->latency_ms = (double)(fl_now_ns() - c0) / 1e6;
        obs->outcome = PROBE_FAILED;
        if (timed_out)
            snprintf(obs->observed, sizeof obs->observed, "no answer within %lldms: the connection was not answered "
                     "(abandoned): %.300s", (long long)c->timeout_ms, err);
        else snprintf(obs->observed, sizeof obs->observed, "no answer: %.400s", err);
        return 0;
    }
    char tmo[64], e[FL_ERR_LEN] = "";
    snprintf(tmo, sizeof tmo, "SET statement_timeout = %lld", (long long)c->timeout_ms);
    PGresult *r = pg_exec_until(conn, tmo, deadline, &timed_out, e);
    PQclear(r);
    int64_t t0 = fl_now_ns();
    r = r ? pg_exec_until(conn, c->query, deadline, &timed_out, e) : NULL;
    obs->latency_ms = (double)(fl_now_ns() - t0) / 1e6;
    if (!r && timed_out) {
        /* the server took the connection and then said nothing in time: evidence */
        PQfinish(conn);
        obs->outcome = PROBE_FAILED;
        snprintf(obs->observed, sizeof obs->observed, "no answer within %lldms: the server took the connection and "
                 "then said nothing (the query was abandoned)", (long long)c->timeout_ms);
        return 0;
    }
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%.399s", r ? PQerrorMessage(conn) : e);
        msg[strcspn(msg, "\n")] = '\0';
        fl_redact(msg);
        int lost = PQstatus(conn) != CONNECTION_OK;
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        /* no result at all: libpq ran out of memory (ours); 57014 (our statement_timeout:
           the server did not answer in time) and a lost connection are evidence */
        int ours = !r && !lost;
        int timedout = state && strcmp(state, "57014") == 0;
        PQclear(r);
        PQfinish(conn);
        if (ours) return fl_err(err, "postgres probe on '%s': %s", c->target, msg);
        obs->outcome = PROBE_FAILED;
        if (timedout) snprintf(obs->observed, sizeof obs->observed, "no answer within %lldms: %s", (long long)c->timeout_ms, msg);
        else if (lost) snprintf(obs->observed, sizeof obs->observed, "connection lost: %s", msg);
        else snprintf(obs->observed, sizeof obs->observed, "error: %s", msg);
        return 0;
    }
    const char *v = PQntuples(r) > 0 && PQnfields(r) > 0 ? (PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0))
                                                        : "(no rows)";
    snprintf(obs->observed, sizeof obs->observed, "%.400s in %.1fms", v, obs->latency_ms);
    char *endp;
    double num = strtod(v, &endp);
    if (*v && !*endp) { obs->has_value = 1; obs->value = num; }
    int ok = c->has_expect ? expect_eval_str(&c->expect, v) : 1;
    if (c->max_latency_ms >= 0 && obs->latency_ms > (double)c->max_latency_ms) {
        ok = 0;
        size_t l = strlen(obs->observed);
        snprintf(obs->observed + l, sizeof obs->observed - l, " (over %lldms)", (long long)c->max_latency_ms);
    }
    obs->outcome = ok ? PROBE_PASSED : PROBE_FAILED;
    PQclear(r);
    PQfinish(conn);
    return 0;
}

static void ppg_describe(const void *cfg, struct buf *out)
{
    const struct ppg_cfg *c = cfg;
    buf_addf(out, "'%s' on target '%s'", c->query, c->target);
    if (c->has_expect) buf_addf(out, " expect %s", c->expect.text);
    if (c->max_latency_ms >= 0) buf_addf(out, " within %lldms", (long long)c->max_latency_ms);
}

const struct probe_ops probe_postgres = {
    .name = "postgres",
    .summary = "a query's single value and latency; no answer (refused, timeout) is failed",
    .params = ppg_params,
    .parse = ppg_parse,
    .check = ppg_check,
    .describe = ppg_describe,
    .free_cfg = ppg_free,
};
