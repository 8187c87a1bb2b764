/* test_acgme_probe.c -- the `acgme` probe against a real HTTP server (libmicrohttpd, in this
 * file) that validates cases with the reference validator and can be told to lie (answer
 * "valid"), to fail (503), to stall, or to answer in another shape; the seed delivery
 * through a real PostgreSQL, the server reading the cases back from the tables; and the
 * demo service (build/scheduler-api) honest, and under a database fault with and without
 * its planted defect (valid-on-timeout). */
#include <fcntl.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acgme_gen.h"
#include "acgme_ref.h"
#include "buf.h"
#include "harness.h"
#include "plan.h"
#include "probe.h"

TEST_FILE_USES("pg redis"); /* the shared PostgreSQL and Redis of tests/run.sh */

json_t *acgme_probe_details(const struct probe_inst *pi);
extern const struct probe_ops probe_acgme;

/* ---- the server -------------------------------------------------------------------- */

enum { SRV_HONEST, SRV_LIE, SRV_503, SRV_STALL, SRV_OTHER_SHAPE, SRV_HOLD };

static atomic_int srv_mode, srv_every = 1;
static atomic_int srv_release; /* SRV_HOLD: answer once set (or after 20 s) */
static atomic_long srv_requests;
static char srv_dsn[512];
static char srv_prefix[64]; /* table name prefix for GET */
static char srv_seen_id[128]; /* a person id the last GET read back (what the seeding wrote) */

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* the reference answer, possibly corrupted by the mode */
static enum MHD_Result answer(struct MHD_Connection *conn, struct acgme_case *c)
{
    long n = atomic_fetch_add(&srv_requests, 1) + 1;
    int hit = n % atomic_load(&srv_every) == 0;
    int mode = atomic_load(&srv_mode);
    if (hit && mode == SRV_503) return reply(conn, 503, "{\"detail\":\"database unavailable\"}");
    if (hit && mode == SRV_STALL) usleep(1500 * 1000);
    for (int i = 0; mode == SRV_HOLD && !atomic_load(&srv_release) && i < 2000; i++) usleep(10 * 1000);
    if (hit && mode == SRV_LIE) return reply(conn, 200, "{\"valid\":true,\"total_violations\":0,\"violations\":[]}");
    struct acgme_answer a;
    acgme_ref_validate(c, NULL, &a);
    json_t *j = acgme_answer_json(&a);
    acgme_answer_release(&a);
    if (mode == SRV_OTHER_SHAPE) {
        /* {"data":{"items":[{"kind":"HOURS","resident":..,"slot":..}]}} */
        json_t *items = json_array(), *v;
        size_t i;
        json_array_foreach(json_object_get(j, "violations"), i, v) {
            const char *t = json_string_value(json_object_get(v, "type"));
            const char *kind = !strcmp(t, "80_HOUR_VIOLATION") ? "HOURS" : !strcmp(t, "1_IN_7_VIOLATION") ? "DAYOFF" : "RATIO";
            json_array_append_new(items, json_pack("{s:s, s:O, s:O}", "kind", kind, "resident",
                                                   json_object_get(v, "person_id"), "slot", json_object_get(v, "block_id")));
        }
        json_decref(j);
        j = json_pack("{s:{s:o}}", "data", "items", items);
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    enum MHD_Result r = reply(conn, 200, s);
    free(s);
    return r;
}

/* GET: read the tables back (like the users' service) */
static enum MHD_Result answer_from_db(struct MHD_Connection *conn)
{
    const char *from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "start_date");
    const char *to = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "end_date");
    if (!from || !to) return reply(conn, 422, "{\"detail\":\"start_date and end_date are required\"}");
    PGconn *pg = PQconnectdb(srv_dsn);
    if (PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        return reply(conn, 503, "{\"detail\":\"database unavailable\"}");
    }
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT p.id, p.name, p.kind, COALESCE(p.pgy_level, 0), b.id, b.date::text, b.half, a.id, a.role "
             "FROM %sassign a JOIN %sblocks b ON b.id = a.block_id JOIN %speople p ON p.id = a.person_id "
             "WHERE b.date BETWEEN $1::date AND $2::date",
             srv_prefix, srv_prefix, srv_prefix);
    const char *params[2] = { from, to };
    PGresult *r = PQexecParams(pg, sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        PQfinish(pg);
        return reply(conn, 500, "{\"detail\":\"query failed\"}");
    }
    struct acgme_case *c = acgme_case_new();
    if (PQntuples(r) > 0) snprintf(srv_seen_id, sizeof srv_seen_id, "%s", PQgetvalue(r, 0, 0));
    for (int i = 0; i < PQntuples(r); i++) {
        int32_t day = 0;
        acgme_parse_date(PQgetvalue(r, i, 5), &day);
        acgme_add_person(c, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                         !strcmp(PQgetvalue(r, i, 2), "R") ? ACGME_RESIDENT : ACGME_FACULTY, atoi(PQgetvalue(r, i, 3)));
        acgme_add_block(c, PQgetvalue(r, i, 4), day, !strcmp(PQgetvalue(r, i, 6), "afternoon") ? ACGME_PM : ACGME_AM);
        acgme_add_assignment(c, PQgetvalue(r, i, 7), PQgetvalue(r, i, 4), PQgetvalue(r, i, 0), PQgetvalue(r, i, 8));
    }
    PQclear(r);
    PQfinish(pg);
    enum MHD_Result ret = answer(conn, c);
    acgme_case_free(c);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    if (strcmp(url, "/api/v1/schedule/validate") != 0) return reply(conn, 404, "{\"detail\":\"not found\"}");
    if (!strcmp(method, "GET")) return answer_from_db(conn);
    struct buf *b = *con_cls;
    if (!b) {
        b = calloc(1, sizeof *b);
        buf_init(b, 64u << 20);
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size) {
        buf_add(b, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    json_t *j = json_loadb(b->data, b->len, 0, NULL);
    char err[512];
    struct acgme_case *c = j ? acgme_case_from_json(j, err) : NULL;
    if (j) json_decref(j);
    enum MHD_Result r;
    if (!c) {
        r = reply(conn, 422, "{\"detail\":\"bad case\"}");
    } else {
        /* the probe must not leak the truth to the service */
        r = c->has_truth ? reply(conn, 400, "{\"detail\":\"truth was posted\"}") : answer(conn, c);
        acgme_case_free(c);
    }
    return r;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct buf *b = *con_cls;
    if (b) {
        buf_release(b);
        free(b);
    }
    *con_cls = NULL;
}

static struct MHD_Daemon *srv_start(int *port)
{
    atomic_store(&srv_mode, SRV_HONEST);
    atomic_store(&srv_every, 1);
    atomic_store(&srv_requests, 0);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                                            NULL, handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    ASSERT_MSG(d, "cannot start the test HTTP server");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info->port;
    return d;
}

/* ---- driving the probe --------------------------------------------------------------- */

struct probe_run {
    struct drv_ctx ctx;
    struct probe_spec spec;
    struct probe_inst pi;
    struct node *root;
};

static void pr_start(struct probe_run *r, const char *yaml)
{
    memset(r, 0, sizeof *r);
    struct diag d;
    diag_init(&d, "probe.yaml");
    r->root = node_parse(yaml, strlen(yaml), &d);
    ASSERT_MSG(r->root && d.n == 0, "yaml: %s", d.n ? d.msgs[0] : "?");
    ASSERT_EQ_INT(params_check(r->root, probe_acgme.params, NULL, "acgme", &d), 0);
    void *cfg = NULL;
    int rc = probe_acgme.parse(NULL, r->root, r->root, &cfg, &d);
    ASSERT_MSG(rc == 0 && d.n == 0, "parse: %s", d.n ? d.msgs[0] : "?");
    diag_release(&d);
    r->ctx.t0_ns = fl_now_ns();
    r->ctx.seed = 1000;
    r->spec.name = "acgme";
    r->spec.ops = &probe_acgme;
    r->spec.cfg = cfg;
    r->spec.timing = PT_END;
    r->spec.every_ms = 1000;
    r->spec.window_for_ms = -1;
    r->spec.min_evidence = 1;
    r->pi.ops = &probe_acgme;
    r->pi.spec = &r->spec;
    r->pi.ctx = &r->ctx;
    r->pi.cfg = cfg;
}

static void pr_stop(struct probe_run *r)
{
    if (r->pi.state) probe_acgme.free_state(r->pi.state);
    probe_acgme.free_cfg(r->pi.cfg);
    node_free(r->root);
}

/* one check of the probe (it must return 0): its observation */
static struct probe_obs check_ok(struct probe_run *r)
{
    struct probe_obs o;
    memset(&o, 0, sizeof o);
    char err[FL_ERR_LEN] = "";
    int rc = probe_acgme.check(&r->pi, &o, err);
    ASSERT_MSG(rc == 0, "check: %s", err);
    return o;
}

static json_t *details(struct probe_run *r)
{
    json_t *j = acgme_probe_details(&r->pi);
    ASSERT(j);
    return j;
}

static long long dint(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    ASSERT_MSG(json_is_integer(v), "details.%s is not an integer", key);
    return json_integer_value(v);
}

static long long rule_count(json_t *j, const char *rule, const char *what)
{
    return json_integer_value(json_object_get(json_object_get(json_object_get(j, "per_rule"), rule), what));
}

static const char *probe_yaml(int port, const char *extra)
{
    static char y[4096];
    snprintf(y, sizeof y, "url: http://127.0.0.1:%d/api/v1/schedule/validate\n%s", port, extra);
    return y;
}

/* ---- tests ----------------------------------------------------------------------------- */

TEST_T(acgme_probe_honest_service_is_100_percent, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, "cases: 30\nseed: 7\nexpect: [\"accuracy == 100%\", \"answered >= 90%\"]\n"));
    struct probe_obs o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_PASSED, "observed: %s", o.observed);
    ASSERT_EQ_INT(o.evidence, 30);
    ASSERT_CONTAINS(o.observed, "\"asked\": \"30/30\"");
    ASSERT_CONTAINS(o.observed, "\"accuracy\": \"100.0%\"");
    ASSERT_NEAR(o.value, 1.0, 1e-12);
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "asked"), 30);
    ASSERT_EQ_INT(dint(j, "right"), 30);
    ASSERT_EQ_INT(dint(j, "wrong"), 0);
    ASSERT_EQ_INT(dint(j, "could_not_ask"), 0);
    ASSERT_EQ_INT(json_array_size(json_object_get(j, "wrong_cases")), 0);
    /* the cases did carry violations of every kind, and negatives */
    ASSERT(rule_count(j, "80h", "tp") > 0 && rule_count(j, "1in7", "tp") > 0 && rule_count(j, "supervision", "tp") > 0);
    ASSERT(rule_count(j, "80h", "tn") > 0 && rule_count(j, "supervision", "tn") > 0);
    ASSERT_EQ_INT(rule_count(j, "80h", "fp") + rule_count(j, "80h", "fn") + rule_count(j, "supervision", "fn"), 0);
    json_decref(j);
    ASSERT_EQ_INT(atomic_load(&srv_requests), 30);
    pr_stop(&r);
    MHD_stop_daemon(d);
}

/* a proxy in faultline's environment (down, here) is not the service: the cases go to the
 * plan's URL itself, so none is lost to the proxy or counted against the service */
TEST_T(acgme_probe_ignores_a_proxy_in_the_environment, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, "cases: 3\nseed: 7\n"));
    struct probe_obs o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_PASSED, "observed: %s", o.observed);
    ASSERT_CONTAINS(o.observed, "\"asked\": \"3/3\"");
    ASSERT_EQ_INT(atomic_load(&srv_requests), 3);
    pr_stop(&r);
    MHD_stop_daemon(d);
}

TEST_T(acgme_probe_catches_a_service_that_answers_valid, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    atomic_store(&srv_mode, SRV_LIE);
    atomic_store(&srv_every, 4); /* every 4th answer: "valid" */
    struct probe_run r;
    pr_start(&r, probe_yaml(port, "cases: 20\nseed: 21\nrates: { 80h: 0.3, 1in7: 0.3, supervision: 0.2 }\n"));
    struct probe_obs o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_FAILED, "a lying service passed: %s", o.observed);
    ASSERT_CONTAINS(o.observed, "\"failed\": \"accuracy == 100%\"");
    ASSERT(o.value < 1.0);
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "answered"), 20);
    ASSERT_EQ_INT(dint(j, "could_not_ask"), 0);
    long long wrong = dint(j, "wrong");
    ASSERT_MSG(wrong >= 1 && wrong <= 5, "wrong: %lld", wrong);
    ASSERT_EQ_INT(dint(j, "right") + wrong, 20);
    /* every wrong case is listed with its truth and the empty answer */
    json_t *w0 = json_array_get(json_object_get(j, "wrong_cases"), 0);
    ASSERT(w0);
    ASSERT(json_array_size(json_object_get(w0, "truth")) > 0);
    ASSERT_EQ_INT(json_array_size(json_object_get(w0, "answer")), 0);
    ASSERT(json_array_size(json_object_get(w0, "missing")) == json_array_size(json_object_get(w0, "truth")));
    ASSERT(json_is_true(json_object_get(w0, "valid")));
    ASSERT_EQ_INT((dint(w0, "case") + 1) % 4, 0);
    /* false negatives, no false positives */
    ASSERT(rule_count(j, "80h", "fn") + rule_count(j, "1in7", "fn") + rule_count(j, "supervision", "fn") > 0);
    ASSERT_EQ_INT(rule_count(j, "80h", "fp") + rule_count(j, "1in7", "fp") + rule_count(j, "supervision", "fp"), 0);
    json_decref(j);
    pr_stop(&r);
    MHD_stop_daemon(d);
}

/* a 503 is the service refusing: evidence (not answered, never wrong), not "could not ask" */
TEST_T(acgme_probe_counts_503_as_refused, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    atomic_store(&srv_mode, SRV_503);
    atomic_store(&srv_every, 4);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, "cases: 20\nseed: 3\nexpect: [\"accuracy == 100%\", \"answered >= 90%\"]\n"));
    struct probe_obs o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_FAILED, "observed: %s", o.observed);
    ASSERT_CONTAINS(o.observed, "\"refused\": 5");
    ASSERT_CONTAINS(o.observed, "\"could_not_ask\": 0");
    ASSERT_CONTAINS(o.observed, "\"accuracy\": \"100.0%\"");
    ASSERT_CONTAINS(o.observed, "\"answered\": \"75.0%\"");
    ASSERT_CONTAINS(o.observed, "\"failed\": \"answered >= 90%\"");
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "refused"), 5);
    ASSERT_EQ_INT(dint(j, "asked"), 20);
    ASSERT_EQ_INT(dint(j, "could_not_ask"), 0);
    ASSERT_EQ_INT(dint(j, "wrong"), 0);
    ASSERT_EQ_INT(dint(j, "right"), 15);
    json_t *na = json_array_get(json_object_get(j, "refused_cases"), 0);
    ASSERT_CONTAINS(json_string_value(json_object_get(na, "error")), "HTTP 503");
    json_decref(j);
    pr_stop(&r);

    /* the same service meets a looser expectation */
    atomic_store(&srv_requests, 0);
    pr_start(&r, probe_yaml(port, "cases: 20\nseed: 3\nexpect: [\"accuracy == 100%\", \"answered >= 70%\", "
                                  "\"refused <= 5\"]\n"));
    o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_PASSED, "observed: %s", o.observed);
    pr_stop(&r);
    MHD_stop_daemon(d);
}

/* a service that took the case and timed out refused it (evidence); one that faultline
 * could not connect to at all was never asked: no evidence, inconclusive, never a pass */
TEST_T(acgme_probe_timeouts_are_refusals_no_connection_is_no_evidence, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    atomic_store(&srv_mode, SRV_STALL);
    atomic_store(&srv_every, 2);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, "cases: 4\ntimeout: 300ms\n"));
    struct probe_obs o = check_ok(&r);
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "refused"), 2);
    ASSERT_EQ_INT(dint(j, "could_not_ask"), 0);
    ASSERT_EQ_INT(dint(j, "right"), 2);
    ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(json_object_get(j, "refused_cases"), 0), "error")),
                    "Timeout");
    json_decref(j);
    ASSERT(o.outcome == PROBE_PASSED); /* accuracy 100% of what was answered: the default expectation alone */
    pr_stop(&r);
    MHD_stop_daemon(d);

    /* nobody listening: no case was put to anyone: no evidence either way */
    pr_start(&r, probe_yaml(port, "cases: 3\n"));
    o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_INCONCLUSIVE, "nothing asked, yet judged: %s", o.observed);
    ASSERT_EQ_INT(o.evidence, 0);
    ASSERT(!o.has_value);
    ASSERT_CONTAINS(o.observed, "no evidence: 0 of 3 cases asked");
    ASSERT_CONTAINS(o.observed, "\"could_not_ask\": 3");
    ASSERT_CONTAINS(o.observed, "cannot connect to the service");
    pr_stop(&r);
    /* a share of nothing is not a failure either */
    pr_start(&r, probe_yaml(port, "cases: 3\nexpect: [\"accuracy == 100%\", \"answered >= 50%\"]\n"));
    o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_INCONCLUSIVE, "observed: %s", o.observed);
    pr_stop(&r);
    /* min_evidence: 0 says nothing happening is fine; cases faultline could not put are
     * not "nothing happened" (run_probe_verdict: a check that could not be made) */
    pr_start(&r, probe_yaml(port, "cases: 3\n"));
    r.spec.min_evidence = 0;
    o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_INCONCLUSIVE, "observed: %s", o.observed);
    ASSERT_CONTAINS(o.observed, "\"could_not_ask\": 3");
    pr_stop(&r);
}

TEST_T(acgme_probe_reply_mapping, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    atomic_store(&srv_mode, SRV_OTHER_SHAPE);
    struct probe_run r;
    const char *mapping = "cases: 10\nseed: 5\n"
                          "reply:\n  violations: data.items\n  type: kind\n  person_id: resident\n  block_id: slot\n"
                          "  valid: \"\"\n  types: { 80h: HOURS, 1in7: DAYOFF, supervision: RATIO }\n";
    pr_start(&r, probe_yaml(port, mapping));
    struct probe_obs o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_PASSED, "observed: %s", o.observed);
    pr_stop(&r);

    /* the default mapping cannot read that shape: every case is answered wrongly */
    pr_start(&r, probe_yaml(port, "cases: 3\nseed: 5\n"));
    o = check_ok(&r);
    ASSERT(o.outcome == PROBE_FAILED);
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "wrong"), 3);
    ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(json_object_get(j, "wrong_cases"), 0), "problem")),
                    "no violations array at 'violations'");
    json_decref(j);
    pr_stop(&r);
    MHD_stop_daemon(d);
}

TEST_T(acgme_probe_during_spreads_cases_and_fails_early, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    atomic_store(&srv_mode, SRV_LIE);
    atomic_store(&srv_every, 3);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, "cases: 12\nseed: 40\nrates: { 80h: 0.4, 1in7: 0.4, supervision: 0.3 }\n"));
    r.spec.timing = PT_DURING;
    r.spec.window_for_ms = 1200;   /* during a step of for: 1.2s */
    r.spec.every_ms = 200;
    r.pi.win_from_ms = 0;
    char err[FL_ERR_LEN];
    long asked_after_first = -1;
    int failed_at = -1, checks = 0;
    for (int i = 0; i < 20; i++) {
        int64_t t0 = fl_now_ms();
        struct probe_obs o;
        memset(&o, 0, sizeof o);
        ASSERT_EQ_INT(probe_acgme.check(&r.pi, &o, err), 0);
        checks++;
        json_t *j = details(&r);
        long asked = (long)dint(j, "asked");
        long wrong = (long)dint(j, "wrong");
        json_decref(j);
        if (i == 0) asked_after_first = asked;
        /* an observation fails exactly when a wrong answer has been seen */
        ASSERT_EQ_INT(o.outcome, wrong == 0 ? PROBE_PASSED : PROBE_FAILED);
        if (o.outcome == PROBE_FAILED && failed_at < 0) failed_at = i;
        if (asked == 12) break;
        int64_t left = 200 - (fl_now_ms() - t0);
        if (left > 0) usleep((useconds_t)left * 1000);
    }
    ASSERT_MSG(asked_after_first >= 1 && asked_after_first < 12, "first check asked %ld", asked_after_first);
    ASSERT_MSG(checks >= 3, "all 12 cases went out in %d checks", checks);
    ASSERT(failed_at >= 0);
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "asked"), 12);
    json_decref(j);
    pr_stop(&r);
    MHD_stop_daemon(d);
}

TEST(acgme_probe_config_errors)
{
    const char *bad[][2] = {
        { "url: http://x/v\ndeliver: seed\n", "deliver: seed needs a postgres target" },
        { "url: http://x/v\ndeliver: carrier-pigeon\n", "deliver must be post or seed" },
        { "url: ftp://x/v\n", "must start with http://" },
        { "url: http://x/v\nrates: 80h=3\n", "rates: bad rate '3'" },
        { "url: http://x/v\nexpect: \"precision > 1%\"\n", "unknown metric 'precision'" },
        { "url: http://x/v\nreply: { violation: v }\n", "violation" },
        { "url: http://x/v\ntarget: pg\ndeliver: seed\n", "no target named 'pg'" },
        { "url: http://x/v\ntables: { people: { table: p } }\n", "tables: only serve deliver: seed" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct diag d;
        diag_init(&d, "p.yaml");
        struct node *n = node_parse(bad[i][0], strlen(bad[i][0]), &d);
        ASSERT(n);
        void *cfg = NULL;
        if (params_check(n, probe_acgme.params, NULL, "acgme", &d) == 0) probe_acgme.parse(NULL, n, n, &cfg, &d);
        ASSERT_MSG(d.n > 0, "accepted: %s", bad[i][0]);
        int found = 0;
        for (size_t k = 0; k < d.n; k++) found |= strstr(d.msgs[k], bad[i][1]) != NULL;
        ASSERT_MSG(found, "'%s': expected \"%s\" in \"%s\"", bad[i][0], bad[i][1], d.msgs[0]);
        ASSERT(!cfg);
        diag_release(&d);
        node_free(n);
    }
}

static int pg_count(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ASSERT_MSG(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(r));
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void pg_ok(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ASSERT_MSG(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

TEST_T(acgme_probe_seed_delivery_through_postgres, 90)
{
    const char *dsn = th_pg_dsn();
    snprintf(srv_dsn, sizeof srv_dsn, "%s", dsn);
    snprintf(srv_prefix, sizeof srv_prefix, "acg%d_", (int)getpid());
    PGconn *pg = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    char sql[1024];
    /* a schema unlike the default: other table and column values, mapped in the probe */
    snprintf(sql, sizeof sql,
             "CREATE TABLE %speople (id text PRIMARY KEY, name text, kind text NOT NULL, pgy_level int);"
             "CREATE TABLE %sblocks (id text PRIMARY KEY, date date NOT NULL, half text NOT NULL);"
             "CREATE TABLE %sassign (id text PRIMARY KEY, block_id text REFERENCES %sblocks(id), "
             "person_id text REFERENCES %speople(id), role text);",
             srv_prefix, srv_prefix, srv_prefix, srv_prefix, srv_prefix);
    pg_ok(pg, sql);
    /* a leftover in the first reserved slot: the probe must skip that slot */
    snprintf(sql, sizeof sql, "INSERT INTO %sblocks VALUES ('someone-else', '2099-01-06', 'morning')", srv_prefix);
    pg_ok(pg, sql);

    int port;
    struct MHD_Daemon *d = srv_start(&port);
    char extra[1024];
    snprintf(extra, sizeof extra,
             "deliver: seed\ndsn: \"%s\"\ncases: 6\nseed: 77\nresidents: 8\nfaculty: 2\n"
             "tables:\n"
             "  people: { table: %speople, type: kind, resident: R, faculty: F }\n"
             "  blocks: { table: %sblocks, time_of_day: half, am: morning, pm: afternoon }\n"
             "  assignments: { table: %sassign }\n",
             dsn, srv_prefix, srv_prefix, srv_prefix);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, extra));
    struct probe_obs o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_PASSED, "observed: %s", o.observed);
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "right"), 6);
    ASSERT(rule_count(j, "supervision", "tp") + rule_count(j, "80h", "tp") + rule_count(j, "1in7", "tp") > 0);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "cleanup"), "still_pending")), 0);
    json_decref(j);
    /* everything seeded is gone again; the leftover is untouched */
    snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM %speople) + (SELECT count(*) FROM %sassign)", srv_prefix,
             srv_prefix);
    ASSERT_EQ_INT(pg_count(pg, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %sblocks", srv_prefix);
    ASSERT_EQ_INT(pg_count(pg, sql), 1);
    ASSERT_EQ_INT(atomic_load(&srv_requests), 6);

    /* a lying service is caught the same way */
    atomic_store(&srv_mode, SRV_LIE);
    atomic_store(&srv_every, 2);
    pr_stop(&r);
    pr_start(&r, probe_yaml(port, extra));
    o = check_ok(&r);
    ASSERT(o.outcome == PROBE_FAILED);
    j = details(&r);
    ASSERT(dint(j, "wrong") >= 1);
    json_decref(j);
    pr_stop(&r);
    MHD_stop_daemon(d);
    snprintf(sql, sizeof sql, "DROP TABLE %sassign; DROP TABLE %sblocks; DROP TABLE %speople;", srv_prefix, srv_prefix,
             srv_prefix);
    pg_ok(pg, sql);
    PQfinish(pg);
}

/* faultline's own database unreachable: it could not seed, so it could not ask: no evidence */
TEST_T(acgme_probe_seed_database_down_is_inconclusive, 60)
{
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    int closed = th_free_port();
    char extra[512];
    snprintf(extra, sizeof extra,
             "deliver: seed\ndsn: \"host=127.0.0.1 port=%d dbname=postgres user=postgres\"\ncases: 3\ntimeout: 1s\n"
             "expect: \"answered >= 90%%\"\n",
             closed);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, extra));
    struct probe_obs o = check_ok(&r);
    ASSERT_MSG(o.outcome == PROBE_INCONCLUSIVE, "observed: %s", o.observed);
    json_t *j = details(&r);
    ASSERT_EQ_INT(dint(j, "could_not_ask"), 3);
    ASSERT_EQ_INT(dint(j, "asked"), 0);
    ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(json_object_get(j, "not_asked"), 0), "error")),
                    "cannot connect to the database");
    json_decref(j);
    ASSERT_EQ_INT(atomic_load(&srv_requests), 0);
    pr_stop(&r);
    MHD_stop_daemon(d);
}

/* ---- seeding the schema as it is --------------------------------------------------------- */

/* what the three tables hold, as one digest (rows in text form, sorted) */
static void tables_digest(PGconn *pg, char out[256])
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM %speople t), '-') || "
             "coalesce((SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM %sblocks t), '-') || "
             "coalesce((SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM %sassign t), '-')",
             srv_prefix, srv_prefix, srv_prefix);
    PGresult *r = PQexec(pg, sql);
    ASSERT_MSG(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    snprintf(out, 256, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

struct schema_case {
    const char *name;
    const char *ddl;       /* %1$s = the table prefix */
    const char *seed_row;  /* one row of the users' own data in each table */
    const char *id_looks;  /* what a seeded person id starts with ("" = digits) */
    const char *defaults;  /* the defaults: that make it seedable */
};

/* uuid, bigint identity and text ids; each with a foreign key, a unique email, an extra
 * NOT NULL column with a default (created_at) and one without (badge) */
static const struct schema_case schemas[] = {
    { "uuid",
      "CREATE TABLE %1$speople (id uuid PRIMARY KEY, name varchar(255) NOT NULL, kind varchar(50) NOT NULL, "
      "  email varchar(255) NOT NULL UNIQUE, pgy_level int, created_at timestamptz NOT NULL DEFAULT now(), badge text NOT NULL);"
      "CREATE TABLE %1$sblocks (id uuid PRIMARY KEY, date date NOT NULL, half varchar(10) NOT NULL, "
      "  block_number int NOT NULL, UNIQUE (date, half));"
      "CREATE TABLE %1$sassign (id uuid PRIMARY KEY, block_id uuid NOT NULL REFERENCES %1$sblocks(id) ON DELETE CASCADE, "
      "  person_id uuid NOT NULL REFERENCES %1$speople(id) ON DELETE CASCADE, role varchar(50) NOT NULL, "
      "  UNIQUE (block_id, person_id));",
      "INSERT INTO %1$speople VALUES ('5eed0000-0000-4000-8000-000000000001', 'Real Resident', 'R', 'real@example.org', 1, "
      "  now(), 'b0');"
      "INSERT INTO %1$sblocks VALUES ('5eed0000-0000-4000-8000-0000000000b1', '2025-07-07', 'morning', 1);"
      "INSERT INTO %1$sassign VALUES ('5eed0000-0000-4000-8000-0000000000a1', '5eed0000-0000-4000-8000-0000000000b1', "
      "  '5eed0000-0000-4000-8000-000000000001', 'primary');",
      "fa11ac9e-", "defaults: { people: { email: \"x@example.invalid\", badge: \"b-{n}\" }, blocks: { block_number: \"0\" } }\n" },
    { "bigint",
      "CREATE TABLE %1$speople (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, kind text NOT NULL, "
      "  email text NOT NULL UNIQUE, pgy_level int, created_at timestamptz NOT NULL DEFAULT now(), badge text NOT NULL);"
      "CREATE TABLE %1$sblocks (id bigserial PRIMARY KEY, date date NOT NULL, half text NOT NULL);"
      "CREATE TABLE %1$sassign (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
      "  block_id bigint NOT NULL REFERENCES %1$sblocks(id), person_id bigint NOT NULL REFERENCES %1$speople(id), role text);",
      "INSERT INTO %1$speople (name, kind, email, pgy_level, badge) VALUES ('Real Resident', 'R', 'real@example.org', 1, 'b0');"
      "INSERT INTO %1$sblocks (date, half) VALUES ('2025-07-07', 'morning');"
      "INSERT INTO %1$sassign (block_id, person_id, role) SELECT b.id, p.id, 'primary' FROM %1$sblocks b, %1$speople p;",
      "", "defaults: { people: { email: \"fl-{id}@example.invalid\", badge: \"b-{n}\" } }\n" },
    { "text",
      "CREATE TABLE %1$speople (id varchar(64) PRIMARY KEY, name text, kind text NOT NULL, email text NOT NULL UNIQUE, "
      "  pgy_level int, created_at timestamptz NOT NULL DEFAULT now(), badge text NOT NULL);"
      "CREATE TABLE %1$sblocks (id text PRIMARY KEY, date date NOT NULL, half text NOT NULL);"
      "CREATE TABLE %1$sassign (id text PRIMARY KEY, block_id text NOT NULL REFERENCES %1$sblocks(id), "
      "  person_id text NOT NULL REFERENCES %1$speople(id), role text NOT NULL DEFAULT 'primary');",
      "INSERT INTO %1$speople VALUES ('r-real', 'Real Resident', 'R', 'real@example.org', 1, now(), 'b0');"
      "INSERT INTO %1$sblocks VALUES ('b-real', '2025-07-07', 'morning');"
      "INSERT INTO %1$sassign VALUES ('a-real', 'b-real', 'r-real', 'primary');",
      "fl-acgme-", "defaults: { people: { email: \"x@example.invalid\", badge: \"b-{n}\" } }\n" },
};

static void pg_okf(PGconn *pg, const char *fmt, const char *prefix)
{
    char *sql = NULL;
    ASSERT(asprintf(&sql, fmt, prefix) > 0);
    pg_ok(pg, sql);
    free(sql);
}

TEST_T(acgme_probe_seeds_uuid_bigint_and_text_schemas_exactly, 120)
{
    const char *dsn = th_pg_dsn();
    snprintf(srv_dsn, sizeof srv_dsn, "%s", dsn);
    PGconn *pg = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    for (size_t k = 0; k < sizeof schemas / sizeof schemas[0]; k++) {
        const struct schema_case *sc = &schemas[k];
        snprintf(srv_prefix, sizeof srv_prefix, "acs%d_%s_", (int)getpid(), sc->name);
        pg_okf(pg, sc->ddl, srv_prefix);
        pg_okf(pg, sc->seed_row, srv_prefix);
        char before[256], after[256];
        tables_digest(pg, before);
        char base[1024], named[80];
        /* the text schema's tables named with their schema, as schema.table */
        snprintf(named, sizeof named, "%s%s", k == 2 ? "public." : "", srv_prefix);
        snprintf(base, sizeof base,
                 "deliver: seed\ndsn: \"%s\"\ncases: 4\nseed: 91\nresidents: 6\nfaculty: 2\n"
                 "tables:\n"
                 "  people: { table: %speople, type: kind, resident: R, faculty: F }\n"
                 "  blocks: { table: %sblocks, time_of_day: half, am: morning, pm: afternoon }\n"
                 "  assignments: { table: %sassign }\n",
                 dsn, named, named, named);

        /* a NOT NULL column nobody fills: a clear error naming it, before anything is inserted */
        atomic_store(&srv_requests, 0);
        struct probe_run r;
        pr_start(&r, probe_yaml(port, base));
        struct probe_obs o;
        memset(&o, 0, sizeof o);
        char err[FL_ERR_LEN] = "";
        ASSERT_MSG(probe_acgme.check(&r.pi, &o, err) == -1, "%s: seeded a table it cannot fill: %s", sc->name, o.observed);
        ASSERT_CONTAINS(err, "NOT NULL without a default");
        char col[160];
        snprintf(col, sizeof col, "columns '%speople.email' (", named);
        ASSERT_CONTAINS(err, col);
        snprintf(col, sizeof col, "'%speople.badge' (text) are NOT NULL without a default", named);
        ASSERT_CONTAINS(err, col);
        ASSERT_CONTAINS(err, "add defaults: { people: { email: \"...\", badge: \"...\" } }");
        ASSERT_EQ_INT(atomic_load(&srv_requests), 0);
        tables_digest(pg, after);
        ASSERT_MSG(!strcmp(before, after), "%s: the tables changed although nothing could be seeded", sc->name);
        pr_stop(&r);

        /* with defaults: every case seeded, asked, answered right, and taken out again */
        char full[2048];
        snprintf(full, sizeof full, "%s%s", base, sc->defaults);
        srv_seen_id[0] = '\0';
        pr_start(&r, probe_yaml(port, full));
        memset(&o, 0, sizeof o);
        ASSERT_MSG(probe_acgme.check(&r.pi, &o, err) == 0, "%s: %s", sc->name, err);
        ASSERT_MSG(o.outcome == PROBE_PASSED, "%s: %s", sc->name, o.observed);
        json_t *j = details(&r);
        ASSERT_EQ_INT(dint(j, "right"), 4);
        ASSERT_EQ_INT(dint(j, "could_not_ask"), 0);
        ASSERT(rule_count(j, "supervision", "tp") + rule_count(j, "80h", "tp") + rule_count(j, "1in7", "tp") > 0);
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "cleanup"), "still_pending")), 0);
        const char *ids = json_string_value(json_object_get(json_object_get(json_object_get(j, "tables"), "people"), "ids"));
        ASSERT_MSG(ids && strstr(ids, k == 0 ? "uuid" : k == 1 ? "database" : "text"), "%s: ids %s", sc->name, ids);
        json_decref(j);
        ASSERT_MSG(srv_seen_id[0], "%s: the service read no person", sc->name);
        if (sc->id_looks[0]) ASSERT_MSG(!strncmp(srv_seen_id, sc->id_looks, strlen(sc->id_looks)), "%s: seeded id '%s'",
                                        sc->name, srv_seen_id);
        else ASSERT_MSG(strspn(srv_seen_id, "0123456789") == strlen(srv_seen_id), "%s: seeded id '%s'", sc->name, srv_seen_id);
        tables_digest(pg, after);
        ASSERT_MSG(!strcmp(before, after), "%s: the tables do not hold what they held before", sc->name);
        pr_stop(&r);

        char drop[512];
        snprintf(drop, sizeof drop, "DROP TABLE %sassign; DROP TABLE %sblocks; DROP TABLE %speople;", srv_prefix, srv_prefix,
                 srv_prefix);
        pg_ok(pg, drop);
    }
    MHD_stop_daemon(d);
    PQfinish(pg);
}

/* seeding that cannot work: a user without INSERT, a table that is not there. The probe says
 * why (inconclusive), nothing is inserted, nobody is asked; a run is inconclusive (exit 5)
 * with the reason in every report */
TEST_T(acgme_probe_seeding_that_cannot_work_is_inconclusive, 120)
{
    const char *dsn = th_pg_dsn();
    snprintf(srv_dsn, sizeof srv_dsn, "%s", dsn);
    snprintf(srv_prefix, sizeof srv_prefix, "acp%d_", (int)getpid());
    PGconn *pg = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    char sql[2048], role[64];
    snprintf(role, sizeof role, "fl_ro_%d", (int)getpid());
    snprintf(sql, sizeof sql,
             "CREATE TABLE %1$speople (id text PRIMARY KEY, name text, kind text NOT NULL, pgy_level int);"
             "CREATE TABLE %1$sblocks (id text PRIMARY KEY, date date NOT NULL, half text NOT NULL);"
             "CREATE TABLE %1$sassign (id text PRIMARY KEY, block_id text, person_id text, role text);"
             "CREATE ROLE %2$s LOGIN; GRANT SELECT ON %1$speople, %1$sblocks, %1$sassign TO %2$s;",
             srv_prefix, role);
    pg_ok(pg, sql);
    char before[256], after[256];
    tables_digest(pg, before);
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    char tables[512];
    snprintf(tables, sizeof tables,
             "tables:\n  people: { table: %speople, type: kind, resident: R, faculty: F }\n"
             "  blocks: { table: %sblocks, time_of_day: half, am: morning, pm: afternoon }\n"
             "  assignments: { table: %sassign }\n",
             srv_prefix, srv_prefix, srv_prefix);

    /* read-only user */
    char extra[2048];
    snprintf(extra, sizeof extra, "deliver: seed\ndsn: \"%s user=%s\"\ncases: 3\n%s", dsn, role, tables);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, extra));
    struct probe_obs o;
    memset(&o, 0, sizeof o);
    char err[FL_ERR_LEN] = "";
    ASSERT_EQ_INT(probe_acgme.check(&r.pi, &o, err), -1);
    char want[256];
    snprintf(want, sizeof want, "may not INSERT into '%speople'", srv_prefix);
    ASSERT_CONTAINS(err, want);
    pr_stop(&r);
    /* a table that is not there */
    snprintf(extra, sizeof extra, "deliver: seed\ndsn: \"%s\"\ncases: 3\ntables: { people: { table: %snobody } }\n", dsn,
             srv_prefix);
    pr_start(&r, probe_yaml(port, extra));
    memset(&o, 0, sizeof o);
    ASSERT_EQ_INT(probe_acgme.check(&r.pi, &o, err), -1);
    snprintf(want, sizeof want, "table '%snobody' does not exist", srv_prefix);
    ASSERT_CONTAINS(err, want);
    pr_stop(&r);
    ASSERT_EQ_INT(atomic_load(&srv_requests), 0);
    tables_digest(pg, after);
    ASSERT(!strcmp(before, after));

    /* the same in a run: exit 5, and the reason in run.json, junit.xml, summary.md, report.html */
    const char *dir = th_tmpdir();
    char plan[4096], path[600], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: seed-cannot\nduration: 2s\n"
             "probes:\n"
             "  - name: read-only-user\n"
             "    acgme: { url: \"http://127.0.0.1:%d/api/v1/schedule/validate\", deliver: seed, dsn: \"%s user=%s\", cases: 2,\n"
             "             tables: { people: { table: %speople, type: kind, resident: R, faculty: F },\n"
             "                       blocks: { table: %sblocks, time_of_day: half }, assignments: { table: %sassign } } }\n"
             "  - name: missing-table\n"
             "    acgme: { url: \"http://127.0.0.1:%d/api/v1/schedule/validate\", deliver: seed, dsn: \"%s\", cases: 2,\n"
             "             tables: { people: { table: %snobody } } }\n",
             port, dsn, role, srv_prefix, srv_prefix, srv_prefix, port, dsn, srv_prefix);
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fputs(plan, f);
    fclose(f);
    int rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL=j.jsonl '%s' run p.yaml -o out 2>&1", dir, th_faultline());
    ASSERT_MSG(rc == 5, "exit %d: %s", rc, out);
    const char *files[] = { "run.json", "junit.xml", "summary.md", "report.html" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/out/%s", dir, files[i]);
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "grep -c 'may not INSERT' '%s' >/dev/null && grep -c 'does not exist' '%s' >/dev/null", path,
                 path);
        ASSERT_MSG(th_sh(NULL, 0, "%s", cmd) == 0, "%s lacks a reason", files[i]);
    }
    snprintf(path, sizeof path, "%s/out/run.json", dir);
    json_t *run = json_load_file(path, 0, NULL);
    ASSERT(run);
    ASSERT_EQ_STR(json_string_value(json_object_get(run, "verdict")), "inconclusive");
    ASSERT_EQ_INT(json_array_size(json_object_get(run, "inconclusive")), 2);
    json_decref(run);
    ASSERT_EQ_INT(atomic_load(&srv_requests), 0);
    tables_digest(pg, after);
    ASSERT(!strcmp(before, after));

    MHD_stop_daemon(d);
    snprintf(sql, sizeof sql, "DROP TABLE %1$sassign, %1$sblocks, %1$speople; DROP ROLE %2$s;", srv_prefix, role);
    pg_ok(pg, sql);
    PQfinish(pg);
}

/* ---- the demo service ------------------------------------------------------------------ */

static const char *demo_bin(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/scheduler-api", th_build_dir());
    if (access(path, X_OK) != 0) SKIP("build/scheduler-api not built");
    return path;
}

static pid_t demo_spawn(char *const argv[], const char *logname)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), logname);
    return th_spawn_logged(log, argv);
}

static pid_t demo_serve(int port, const char *dsn, const char *defect)
{
    char p[16], rd[64], out[256];
    snprintf(p, sizeof p, "%d", port);
    snprintf(rd, sizeof rd, "127.0.0.1:%d", th_redis_port());
    char *argv[] = { (char *)demo_bin(), "serve", "--port", p, "--pg", (char *)dsn, "--redis", rd,
                     defect ? "--defect" : NULL, (char *)defect, NULL };
    pid_t pid = demo_spawn(argv, defect ? defect : "serve");
    for (int i = 0; i < 100; i++) {
        if (th_sh(out, sizeof out, "curl -s -o /dev/null -w '%%{http_code}' --max-time 1 http://127.0.0.1:%d/health",
                  port) == 0 && strcmp(out, "200") == 0)
            return pid;
        int st;
        ASSERT_MSG(waitpid(pid, &st, WNOHANG) == 0, "scheduler-api exited early (see %s)", th_tmpdir());
        usleep(50000);
    }
    ASSERT_MSG(0, "scheduler-api on port %d never answered /health", port);
    return pid;
}

/* one check of a fresh probe; returns its details (caller decrefs) */
static json_t *demo_probe(int port, const char *extra, int *ok, char *observed, size_t olen)
{
    struct probe_run r;
    pr_start(&r, probe_yaml(port, extra));
    struct probe_obs o = check_ok(&r);
    *ok = o.outcome == PROBE_PASSED;
    snprintf(observed, olen, "%s", o.observed);
    json_t *j = details(&r);
    pr_stop(&r);
    return j;
}

TEST_T(acgme_probe_demo_service_under_database_fault, 120)
{
    demo_bin();
    const char *base = th_pg_dsn();
    th_redis_port();
    char db[64], dsn[1200], sql[256], obs[512];
    snprintf(db, sizeof db, "acgme_demo_%d", (int)getpid());
    PGconn *pg = PQconnectdb(base);
    ASSERT_MSG(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    pg_ok(pg, sql);
    snprintf(dsn, sizeof dsn, "%s dbname=%s", base, db);
    char *init[] = { (char *)demo_bin(), "init-db", "--pg", dsn, "--no-seed", NULL };
    pid_t ip = demo_spawn(init, "init-db");
    int st;
    waitpid(ip, &st, 0);
    ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "init-db failed (see %s)", th_tmpdir());

    /* healthy database: the demo service answers every case right, posted or seeded */
    int port = th_free_port(), ok;
    pid_t api = demo_serve(port, dsn, NULL);
    json_t *j = demo_probe(port, "cases: 12\nseed: 500\n", &ok, obs, sizeof obs);
    ASSERT_MSG(ok, "honest demo service, post: %s", obs);
    ASSERT_EQ_INT(dint(j, "right"), 12);
    json_decref(j);
    char extra[1536];
    snprintf(extra, sizeof extra, "deliver: seed\ndsn: \"%s\"\ncases: 4\nseed: 600\n", dsn);
    j = demo_probe(port, extra, &ok, obs, sizeof obs);
    ASSERT_MSG(ok, "honest demo service, seed: %s", obs);
    ASSERT_EQ_INT(dint(j, "right"), 4);
    json_decref(j);
    /* the seeded cases were removed again */
    PGconn *dpg = PQconnectdb(dsn);
    ASSERT_EQ_INT(pg_count(dpg, "SELECT (SELECT count(*) FROM people) + (SELECT count(*) FROM blocks) + "
                               "(SELECT count(*) FROM assignments)"),
                  0);
    PQfinish(dpg);
    th_stop(api);

    /* the database goes silent (a listener that never answers, like a frozen server) */
    int hole = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    ASSERT(hole >= 0 && bind(hole, (struct sockaddr *)&a, sizeof a) == 0 && listen(hole, 64) == 0 &&
           getsockname(hole, (struct sockaddr *)&a, &l) == 0);
    char frozen[256];
    snprintf(frozen, sizeof frozen, "host=127.0.0.1 port=%d dbname=x user=postgres", ntohs(a.sin_port));
    const char *cfg = "cases: 6\nseed: 700\ntimeout: 5s\nexpect: [\"accuracy == 100%\", \"answered >= 90%\"]\n";

    /* the healthy build says 503: nothing answered wrongly, every case refused */
    port = th_free_port();
    api = demo_serve(port, frozen, NULL);
    j = demo_probe(port, cfg, &ok, obs, sizeof obs);
    ASSERT(!ok);
    ASSERT_CONTAINS(obs, "\"failed\": \"answered >= 90%\""); /* refusals are not wrong answers */
    ASSERT_CONTAINS(obs, "HTTP 503");
    ASSERT_EQ_INT(dint(j, "wrong"), 0);
    ASSERT_EQ_INT(dint(j, "refused"), 6);
    ASSERT_EQ_INT(dint(j, "could_not_ask"), 0);
    json_decref(j);
    /* so the accuracy claim alone holds for the healthy build under the fault */
    j = demo_probe(port, "cases: 3\nseed: 700\nexpect: \"accuracy == 100%\"\n", &ok, obs, sizeof obs);
    ASSERT_MSG(ok, "healthy build under the fault: %s", obs);
    json_decref(j);
    th_stop(api);

    /* the planted defect answers "valid": the probe names the cases it got wrong */
    port = th_free_port();
    api = demo_serve(port, frozen, "valid-on-timeout");
    j = demo_probe(port, cfg, &ok, obs, sizeof obs);
    ASSERT(!ok);
    ASSERT_CONTAINS(obs, "\"failed\": \"accuracy == 100%\"");
    ASSERT_EQ_INT(dint(j, "could_not_ask"), 0);
    ASSERT_MSG(dint(j, "wrong") >= 1, "wrong: %lld", dint(j, "wrong"));
    json_t *w0 = json_array_get(json_object_get(j, "wrong_cases"), 0);
    ASSERT(json_array_size(json_object_get(w0, "missing")) > 0);
    ASSERT(json_is_true(json_object_get(w0, "valid")));
    json_decref(j);
    th_stop(api);
    close(hole);

    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    pg_ok(pg, sql);
    PQfinish(pg);
}

/* review-1 #9: two faultline processes seeding one database: the slot counter is per
   process, so both start at the same slot; the slot's advisory lock makes the second
   take the next one instead of mixing its cases with the first's */
TEST_T(acgme_probe_two_processes_never_seed_one_slot, 90)
{
    const char *dsn = th_pg_dsn();
    snprintf(srv_dsn, sizeof srv_dsn, "%s", dsn);
    snprintf(srv_prefix, sizeof srv_prefix, "acl%d_", (int)getpid());
    PGconn *pg = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %speople (id text PRIMARY KEY, name text, kind text NOT NULL, pgy_level int);"
             "CREATE TABLE %sblocks (id text PRIMARY KEY, date date NOT NULL, half text NOT NULL);"
             "CREATE TABLE %sassign (id text PRIMARY KEY, block_id text REFERENCES %sblocks(id), "
             "person_id text REFERENCES %speople(id), role text);",
             srv_prefix, srv_prefix, srv_prefix, srv_prefix, srv_prefix);
    pg_ok(pg, sql);
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    char extra[1024];
    snprintf(extra, sizeof extra,
             "deliver: seed\ndsn: \"%s\"\ncases: 1\nseed: 78\nresidents: 8\nfaculty: 2\n"
             "tables:\n"
             "  people: { table: %speople, type: kind, resident: R, faculty: F }\n"
             "  blocks: { table: %sblocks, time_of_day: half, am: morning, pm: afternoon }\n"
             "  assignments: { table: %sassign }\n",
             dsn, srv_prefix, srv_prefix, srv_prefix);
    int done[2], finish[2];
    ASSERT(pipe(done) == 0 && pipe(finish) == 0);
    pid_t child = fork();
    ASSERT(child >= 0);
    if (child == 0) {
        /* the other faultline process: seeds, is asked, and keeps its session open */
        struct probe_run r;
        pr_start(&r, probe_yaml(port, extra));
        struct probe_obs o;
        memset(&o, 0, sizeof o);
        char err[FL_ERR_LEN];
        int rc = probe_acgme.check(&r.pi, &o, err);
        char c = rc == 0 ? 'y' : 'n';
        if (write(done[1], &c, 1) != 1) _exit(2);
        if (read(finish[0], &c, 1) < 0) _exit(2);
        pr_stop(&r);
        _exit(0);
    }
    char c = 0;
    ASSERT(read(done[0], &c, 1) == 1);
    struct probe_run r;
    pr_start(&r, probe_yaml(port, extra));
    struct probe_obs o;
    memset(&o, 0, sizeof o);
    char err[FL_ERR_LEN];
    int rc = probe_acgme.check(&r.pi, &o, err);
    /* each process holds the lock of the slot it seeded: two different slots */
    int locks = pg_count(pg, "SELECT count(DISTINCT objid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                             "AND classid = 1718378851");
    int holders = pg_count(pg, "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                               "AND classid = 1718378851");
    ASSERT(write(finish[1], "x", 1) == 1);
    int st = 0;
    waitpid(child, &st, 0);
    pr_stop(&r);
    MHD_stop_daemon(d);
    snprintf(sql, sizeof sql, "DROP TABLE %sassign; DROP TABLE %sblocks; DROP TABLE %speople;", srv_prefix, srv_prefix,
             srv_prefix);
    pg_ok(pg, sql);
    PQfinish(pg);
    ASSERT_EQ_INT(c, 'y');
    ASSERT_MSG(rc == 0, "check: %s", err);
    ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the other process failed (%d)", st);
    ASSERT_EQ_INT(holders, 2);
    ASSERT_MSG(locks == 2, "both processes seeded under %d distinct slot lock(s), not 2", locks);
}

/* ---- write-ahead: a runner killed while its seeded rows are in the tables ---------------- */

/* rows in the three tables */
static int rows_now(PGconn *pg)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM %1$speople) + (SELECT count(*) FROM %1$sblocks) + "
             "(SELECT count(*) FROM %1$sassign)", srv_prefix);
    return pg_count(pg, sql);
}

/* The runner is SIGKILLed while the probe waits for the service's answer to a seeded case:
 * its rows are committed, the run never deletes them. The journal holds them (written in the
 * seeding transaction, before COMMIT): a new run refuses, `faultline rollback` deletes exactly
 * them and says so, the users' own rows stay, and a second rollback finds nothing. For the
 * uuid schema (ids made by faultline) and the bigint identity one (ids from RETURNING); on
 * the latter also a runner dead between the record and COMMIT (nothing lasts: rollback finds
 * none of the ids), and a normal run that settles every case's entry itself. */
TEST_T(acgme_seed_runner_killed_then_rollback_deletes_exactly_the_seeded_rows, 90)
{
    const char *dsn = th_pg_dsn();
    snprintf(srv_dsn, sizeof srv_dsn, "%s", dsn);
    PGconn *pg = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(pg) == CONNECTION_OK, "%s", PQerrorMessage(pg));
    int port;
    struct MHD_Daemon *d = srv_start(&port);
    for (size_t k = 0; k < 2; k++) {
        const struct schema_case *sc = &schemas[k];
        snprintf(srv_prefix, sizeof srv_prefix, "ack%d_%s_", (int)getpid(), sc->name);
        pg_okf(pg, sc->ddl, srv_prefix);
        pg_okf(pg, sc->seed_row, srv_prefix);
        char before[256], after[256];
        tables_digest(pg, before);
        int rows_before = rows_now(pg);
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%s", th_tmpdir(), sc->name);
        ASSERT(mkdir(dir, 0700) == 0);
        th_write_in(dir, "p.yaml",
                    "faultline: 1\nname: seed-crash\nduration: 1s\n"
                    "probes:\n"
                    "  - name: accuracy\n"
                    "    acgme:\n"
                    "      url: \"http://127.0.0.1:%d/api/v1/schedule/validate\"\n"
                    "      deliver: seed\n      dsn: \"%s\"\n      cases: 2\n      seed: 5\n      timeout: 20s\n"
                    "      residents: 4\n      faculty: 1\n"
                    "      tables:\n"
                    "        people: { table: %speople, type: kind, resident: R, faculty: F }\n"
                    "        blocks: { table: %sblocks, time_of_day: half, am: morning, pm: afternoon }\n"
                    "        assignments: { table: %sassign }\n"
                    "      %s",
                    port, dsn, srv_prefix, srv_prefix, srv_prefix, sc->defaults);
        static char out[16384];
        int rc;
        if (k == 1) {
            /* dead right after the rows' record, before COMMIT (the test hook): the open
             * transaction died with the connection; rollback finds none of the recorded ids */
            rc = th_sh(out, sizeof out, "cd '%s' && FL_TEST_CRASH_AT=intent FL_TEST_HOOKS=1 FAULTLINE_JOURNAL=j.jsonl "
                       "'%s' run p.yaml -o out0 2>&1", dir, th_faultline());
            ASSERT_MSG(rc == 86, "%s: the crash hook: exit %d: %s", sc->name, rc, out);
            ASSERT_EQ_INT(rows_now(pg), rows_before);
            rc = th_sh(out, sizeof out, "cd '%s' && '%s' rollback j.jsonl 2>&1", dir, th_faultline());
            ASSERT_MSG(rc == 0, "%s: rollback after a crash before COMMIT: exit %d: %s", sc->name, rc, out);
            ASSERT_CONTAINS(out, "(never committed, or deleted since): nothing to do");
            ASSERT_CONTAINS(out, "settled 'accuracy'");
            ASSERT_EQ_INT(rows_now(pg), rows_before);
        }
        atomic_store(&srv_mode, SRV_HOLD);
        atomic_store(&srv_release, 0);
        atomic_store(&srv_requests, 0);
        char cmd[1400], log[700];
        snprintf(cmd, sizeof cmd, "cd '%s' && FAULTLINE_JOURNAL=j.jsonl exec '%s' run p.yaml -o out", dir, th_faultline());
        snprintf(log, sizeof log, "%s/run.txt", dir);
        char *argv[] = { "/bin/sh", "-c", cmd, NULL };
        pid_t runner = th_spawn_logged(log, argv);
        /* the service holds the first case's GET: its rows are committed and read back */
        for (int i = 0; i < 3000 && atomic_load(&srv_requests) < 1; i++) {
            int st;
            ASSERT_MSG(waitpid(runner, &st, WNOHANG) == 0, "%s: the run ended before asking: %s", sc->name, th_slurp(log));
            usleep(10 * 1000);
        }
        ASSERT_MSG(atomic_load(&srv_requests) >= 1, "%s: no case was asked within 30 s", sc->name);
        int seeded = rows_now(pg) - rows_before;
        ASSERT_MSG(seeded > 5, "%s: %d seeded rows in the tables while the probe waits", sc->name, seeded);
        kill(runner, SIGKILL);
        int st = 0;
        ASSERT(waitpid(runner, &st, 0) == runner && WIFSIGNALED(st));
        atomic_store(&srv_release, 1);
        ASSERT_EQ_INT(rows_now(pg) - rows_before, seeded); /* the dead run deleted nothing */

        rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL=j.jsonl '%s' run p.yaml -o out2 2>&1", dir, th_faultline());
        ASSERT_MSG(rc == 2, "%s: a run after the crash must refuse (2), got %d: %s", sc->name, rc, out);
        ASSERT_CONTAINS(out, "rows seeded by probe 'accuracy'");
        rc = th_sh(out, sizeof out, "cd '%s' && '%s' rollback --list j.jsonl 2>&1", dir, th_faultline());
        ASSERT_MSG(rc == 0 && strstr(out, "probe accuracy (acgme.seed)") && strstr(out, "1 pending"), "%s: %s", sc->name, out);
        rc = th_sh(out, sizeof out, "cd '%s' && '%s' rollback j.jsonl 2>&1", dir, th_faultline());
        ASSERT_MSG(rc == 0, "%s: rollback exit %d: %s", sc->name, rc, out);
        ASSERT_CONTAINS(out, "probe 'accuracy' (acgme.seed)");
        char want[200];
        snprintf(want, sizeof want, "table '%speople': ", srv_prefix);
        ASSERT_CONTAINS(out, want);
        ASSERT_CONTAINS(out, "seeded found");
        ASSERT_CONTAINS(out, "deleted");
        ASSERT_CONTAINS(out, "settled 'accuracy'");
        ASSERT_EQ_INT(rows_now(pg), rows_before);
        tables_digest(pg, after);
        ASSERT_MSG(!strcmp(before, after), "%s: the users' rows changed", sc->name);
        rc = th_sh(out, sizeof out, "cd '%s' && '%s' rollback j.jsonl 2>&1", dir, th_faultline());
        ASSERT_MSG(rc == 0 && strstr(out, "nothing to roll back"), "%s: second rollback exit %d: %s", sc->name, rc, out);
        if (k == 1) {
            /* a run that ends normally settles every case's entry itself (deleted by the probe) */
            atomic_store(&srv_mode, SRV_HONEST);
            rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL=j.jsonl '%s' run p.yaml -o out3 2>&1", dir, th_faultline());
            ASSERT_MSG(rc == 0, "%s: a normal run: exit %d: %s", sc->name, rc, out);
            ASSERT_EQ_INT(rows_now(pg), rows_before);
            rc = th_sh(out, sizeof out, "cd '%s' && grep -c '\"kind\":\"acgme.seed\"' j.jsonl; "
                       "grep -c '\"how\":\"deleted by the probe\"' j.jsonl; '%s' rollback --list j.jsonl", dir, th_faultline());
            ASSERT_MSG(rc == 0 && !strncmp(out, "4\n2\n", 4) && strstr(out, "0 pending"),
                       "%s: the journal after a normal run (intents, settled by the probe, --list): %s", sc->name, out);
        }

        char drop[512];
        snprintf(drop, sizeof drop, "DROP TABLE %1$sassign; DROP TABLE %1$sblocks; DROP TABLE %1$speople;", srv_prefix);
        pg_ok(pg, drop);
    }
    atomic_store(&srv_mode, SRV_HONEST);
    MHD_stop_daemon(d);
    PQfinish(pg);
}
