/* test_export.c -- --pushgateway and --notify against real HTTP servers on loopback: a
 * libmicrohttpd server inside the test that records what it receives (method, path,
 * headers, body) and answers what it is told, and Debian's prometheus-pushgateway when it is
 * installed (it parses the text and serves it back on /metrics). */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <jansson.h>
#include "export.h"
#include "harness.h"
#include "netfx.h"

TEST_FILE_USES(""); /* its own HTTP servers and pushgateway on free ports */

#define FIXTURE "tests/fixtures/run-sample.json"

/* ---- a recording HTTP server ---------------------------------------------------------- */

struct rec {
    struct MHD_Daemon *d;
    int port;
    int status;                 /* what to answer */
    const char *reply;
    pthread_mutex_t mu;
    int hits;
    char method[16], url[512], ctype[128], auth[256];
    struct buf body;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **state)
{
    (void)version;
    struct rec *r = cls;
    const struct buf *body;
    if (!nfx_mhd_body(state, data, size, &body)) return MHD_YES;
    pthread_mutex_lock(&r->mu);
    r->hits++;
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->url, sizeof r->url, "%s", url);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    const char *au = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    snprintf(r->auth, sizeof r->auth, "%s", au ? au : "");
    buf_reset(&r->body);
    buf_add(&r->body, body->data, body->len);
    pthread_mutex_unlock(&r->mu);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(r->reply), (void *)r->reply, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void rec_start(struct rec *r, int status, const char *reply)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    buf_init(&r->body, 1 << 20);
    r->status = status;
    r->reply = reply;
    for (int attempt = 0; attempt < 5 && !r->d; attempt++) {
        r->port = th_free_port();
        r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)r->port, NULL, NULL,
                                on_request, r, MHD_OPTION_NOTIFY_COMPLETED, nfx_mhd_done, r, MHD_OPTION_END);
    }
    ASSERT_MSG(r->d != NULL, "cannot start the recording server");
}

static void rec_stop(struct rec *r)
{
    MHD_stop_daemon(r->d);
    buf_release(&r->body);
    pthread_mutex_destroy(&r->mu);
}

static json_t *fixture(void)
{
    json_t *r = json_load_file(FIXTURE, 0, NULL);
    ASSERT_MSG(r != NULL, "cannot load %s", FIXTURE);
    return r;
}

TEST(push_puts_the_prometheus_text_to_the_group_of_the_plan)
{
    struct rec r;
    rec_start(&r, 200, "");
    json_t *run = fixture();
    char url[128], err[FL_ERR_LEN];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", r.port);      /* a trailing slash is fine */
    ASSERT_MSG(report_push(run, url, err) == 0, "%s", err);
    struct buf want;
    buf_init(&want, 0);
    report_prometheus_text(run, &want);
    ASSERT_EQ_INT(r.hits, 1);
    ASSERT_EQ_STR(r.method, "PUT");
    ASSERT_EQ_STR(r.url, "/metrics/job/faultline/instance/report-sample");
    ASSERT_EQ_STR(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    ASSERT_EQ_INT(r.body.len, want.len);
    ASSERT_EQ_STR(r.body.data, want.data);
    ASSERT_CONTAINS(r.body.data, "faultline_run_verdict{plan=\"report-sample\",verdict=\"failed\"} 1\n");

    /* a plan name that needs escaping in a path */
    json_object_set_new(json_object_get(run, "plan"), "name", json_string("a b/c"));
    snprintf(url, sizeof url, "http://127.0.0.1:%d/gw", r.port);
    ASSERT_MSG(report_push(run, url, err) == 0, "%s", err);
    ASSERT_EQ_STR(r.url, "/gw/metrics/job/faultline/instance@base64/YSBiL2M=");
    buf_release(&want);
    json_decref(run);
    rec_stop(&r);
}

TEST(push_reports_the_gateways_refusal_and_hides_credentials)
{
    struct rec r;
    rec_start(&r, 400, "text format parsing error in line 3: unexpected end of input stream\n");
    json_t *run = fixture();
    char url[160], err[FL_ERR_LEN];
    snprintf(url, sizeof url, "http://ops:hunter2@127.0.0.1:%d", r.port);
    ASSERT_EQ_INT(report_push(run, url, err), -1);
    ASSERT_CONTAINS(err, "cannot push metrics to 'http://127.0.0.1:");
    ASSERT_CONTAINS(err, "HTTP 400 text format parsing error in line 3");
    ASSERT_MSG(!strstr(err, "hunter2"), "the password leaked into: %s", err);
    ASSERT_EQ_STR(r.auth, "Basic b3BzOmh1bnRlcjI=");              /* ops:hunter2 went as credentials */
    rec_stop(&r);

    /* nobody listening */
    int port = th_free_port();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    ASSERT_EQ_INT(report_push(run, url, err), -1);
    ASSERT_CONTAINS(err, "cannot push metrics to 'http://127.0.0.1:");
    ASSERT_EQ_INT(report_notify(run, url, err), -1);
    ASSERT_CONTAINS(err, "cannot notify to 'http://127.0.0.1:");
    json_decref(run);
}

TEST(notify_posts_slack_json_with_the_verdict)
{
    struct rec r;
    rec_start(&r, 200, "ok");
    json_t *run = fixture();
    char url[160], err[FL_ERR_LEN];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/services/T0/B0/xyz", r.port);
    ASSERT_MSG(report_notify(run, url, err) == 0, "%s", err);
    ASSERT_EQ_STR(r.method, "POST");
    ASSERT_EQ_STR(r.url, "/services/T0/B0/xyz");
    ASSERT_EQ_STR(r.ctype, "application/json");
    json_error_t je;
    json_t *msg = json_loads(r.body.data, 0, &je);
    ASSERT_MSG(msg != NULL, "not JSON: %s (%s)", r.body.data, je.text);
    ASSERT_EQ_INT(json_object_size(msg), 1);
    struct buf want;
    buf_init(&want, 0);
    report_notify_text(run, &want);
    ASSERT_EQ_STR(json_string_value(json_object_get(msg, "text")), want.data);
    ASSERT_CONTAINS(want.data, "*report-sample* failed");
    ASSERT_CONTAINS(want.data, "`nobody-listens` could not run");
    buf_release(&want);
    json_decref(msg);

    /* a webhook that refuses (Slack answers 404 no_service) */
    r.status = 404;
    r.reply = "no_service";
    ASSERT_EQ_INT(report_notify(run, url, err), -1);
    ASSERT_CONTAINS(err, "HTTP 404 no_service");
    json_decref(run);
    rec_stop(&r);
}

/* ---- the real Pushgateway ------------------------------------------------------------- */

TEST_T(push_to_a_real_pushgateway, 60)
{
    struct nfx_gateway g;
    nfx_gateway_start(&g);
    json_t *run = fixture();
    char err[FL_ERR_LEN];
    int rc = report_push(run, g.url, err);
    json_object_set_new(json_object_get(run, "plan"), "name", json_string("a b/c"));
    char err2[FL_ERR_LEN];
    int rc2 = report_push(run, g.url, err2);
    /* the gateway serves what it parsed, with job and instance added and labels sorted */
    long st = nfx_gateway_scrape(&g);
    nfx_gateway_stop(&g);
    ASSERT_MSG(rc == 0, "push: %s", err);
    ASSERT_MSG(rc2 == 0, "push of 'a b/c': %s", err2);
    ASSERT_EQ_INT(st, 200);
    ASSERT_CONTAINS(g.page.data, "faultline_run_verdict{instance=\"report-sample\",job=\"faultline\",plan=\"report-sample\",verdict=\"failed\"} 1\n");
    ASSERT_CONTAINS(g.page.data, "faultline_load_requests_per_second{instance=\"report-sample\",job=\"faultline\",load=\"readers\",plan=\"report-sample\"} 125.5\n");
    ASSERT_CONTAINS(g.page.data, "faultline_recovery_seconds{instance=\"report-sample\",job=\"faultline\",plan=\"report-sample\","
                               "probe=\"ready-after-freeze\",step=\"freeze <script>alert(1)</script>\"} 0.004\n");
    ASSERT_CONTAINS(g.page.data, "push_failure_time_seconds{instance=\"report-sample\",job=\"faultline\"} 0\n");
    /* a name with a slash and a space reaches its own group through @base64 */
    ASSERT_CONTAINS(g.page.data, "faultline_run_passed{instance=\"a b/c\",job=\"faultline\",plan=\"a b/c\"} 0\n");
    buf_release(&g.page);
    json_decref(run);
}
