/* test_live.c -- live metrics while a run goes on: `faultline run --pushgateway URL` against
 * Debian's real prometheus-pushgateway, scraped in the middle of the run (the figures must be
 * there while faultline still runs), and `--annotate URL` against a libmicrohttpd server in
 * the test that keeps every JSON event it is sent. */
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "dockerfx.h"
#include "harness.h"
#include "netfx.h"
#include "testsrv.h"

TEST_FILE_USES(""); /* its own gateway, receiver and HTTP server on free ports */

struct events {
    pthread_mutex_t mu;
    json_t *got;             /* the bodies received, in order */
};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **state)
{
    (void)url; (void)version; (void)method;
    struct events *ev = cls;
    const struct buf *body;
    if (!nfx_mhd_body(state, data, size, &body)) return MHD_YES;
    pthread_mutex_lock(&ev->mu);
    json_t *j = json_loads(body->data, 0, NULL);
    json_array_append_new(ev->got, j ? j : json_string(body->data));
    pthread_mutex_unlock(&ev->mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

TEST_T(live_push_is_on_the_gateway_while_the_run_goes_on_and_events_are_posted, 90)
{
    struct nfx_gateway g;
    nfx_gateway_start(&g);
    struct events ev = { .got = json_array() };
    pthread_mutex_init(&ev.mu, NULL);
    struct MHD_Daemon *d = NULL;
    int aport = 0;
    for (int i = 0; i < 5 && !d; i++) {
        aport = th_free_port();
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)aport, NULL, NULL,
                             on_req, &ev, MHD_OPTION_NOTIFY_COMPLETED, nfx_mhd_done, NULL, MHD_OPTION_END);
    }
    ASSERT(d != NULL);
    struct testsrv *s = testsrv_start(0);
    ASSERT(s != NULL);

    const char *dir = th_tmpdir();
    char plan[2048];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: live-run\nduration: 9s\n"
             "load:\n  - { name: readers, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /ok } ], vus: 2, think: 20ms }\n"
             "method:\n  - { name: blip, at: 2s, for: 3s, fault: exec, run: \"true\", revert: \"true\" }\n"
             "probes:\n  - { name: ok-during, during: blip, http: { url: \"http://127.0.0.1:%d/ok\" } }\n"
             /* failing every second, never for 60 s: it holds (run.json says passed), live too */
             "stop_when:\n  - { name: slow-guard, exec: { run: \"false\" }, for: 60s }\n",
             testsrv_port(s), testsrv_port(s));
    fx_write_file(dir, "p.yaml", plan);
    char anurl[64];
    snprintf(anurl, sizeof anurl, "http://127.0.0.1:%d/api/annotations", aport);
    char *args[] = { "run", "p.yaml", "-o", "out", "--pushgateway", g.url, "--annotate", anurl, NULL };
    pid_t fl = fx_fl_start(dir, NULL, args);

    /* mid-run (about 4.5 s in): the live group is there and faultline still runs */
    usleep(4500000);
    long st = nfx_gateway_scrape(&g);
    int running = waitpid(fl, NULL, WNOHANG) == 0;
    char *mid = fl_strdup(g.page.data);
    int rc = fx_fl_wait(fl, 60000);
    nfx_gateway_stop(&g);
    MHD_stop_daemon(d);
    testsrv_stop(s);
    ASSERT_MSG(running, "faultline ended before the mid-run scrape");
    ASSERT_EQ_INT(st, 200);
    ASSERT_MSG(rc == 0, "run exit %d:\n%s", rc, fx_slurp(dir, "run.txt"));
    ASSERT_CONTAINS(mid, "faultline_live_elapsed_seconds{instance=\"live-run\",job=\"faultline_live\",plan=\"live-run\"}");
    ASSERT_CONTAINS(mid, "faultline_live_rps{block=\"readers\",instance=\"live-run\",job=\"faultline_live\",plan=\"live-run\"}");
    ASSERT_CONTAINS(mid, "faultline_live_p95_seconds{block=\"readers\"");
    ASSERT_CONTAINS(mid, "faultline_live_error_ratio{block=\"readers\"");
    ASSERT_CONTAINS(mid, "faultline_live_active_faults{instance=\"live-run\",job=\"faultline_live\",plan=\"live-run\"} 1");
    ASSERT_CONTAINS(mid, "faultline_live_probe_verdict{instance=\"live-run\",job=\"faultline_live\",kind=\"probe\",plan=\"live-run\",probe=\"ok-during\",verdict=\"passed\"} 1");
    ASSERT_CONTAINS(mid, "faultline_live_probe_verdict{instance=\"live-run\",job=\"faultline_live\",kind=\"stop_when\",plan=\"live-run\",probe=\"slow-guard\",verdict=\"passed\"} 1");
    /* the rps pushed mid-run is a real figure, not a zero */
    const char *r = strstr(mid, "faultline_live_rps{block=\"readers\"");
    const char *sp = r ? strchr(r, '}') : NULL;
    ASSERT_MSG(sp && atof(sp + 1) > 5, "rps mid-run: %s", r ? r : "(none)");
    free(mid);

    /* the events: inject then revert, each a Grafana annotations body with faultline's fields */
    ASSERT_EQ_INT(json_array_size(ev.got), 2);
    const char *phases[] = { "inject", "revert" };
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_array_get(ev.got, i);
        ASSERT_MSG(json_is_object(e), "event %zu is not JSON", i);
        ASSERT_EQ_STR(json_string_value(json_object_get(e, "phase")), phases[i]);
        ASSERT_EQ_STR(json_string_value(json_object_get(e, "step")), "blip");
        ASSERT_EQ_STR(json_string_value(json_object_get(e, "plan")), "live-run");
        ASSERT_EQ_STR(json_string_value(json_object_get(e, "fault")), "exec");
        ASSERT(json_integer_value(json_object_get(e, "time")) > 1700000000000LL);
        ASSERT_EQ_STR(json_string_value(json_array_get(json_object_get(e, "tags"), 0)), "faultline");
        ASSERT_CONTAINS(json_string_value(json_object_get(e, "text")), "'blip'");
    }
    double t_in = (double)json_integer_value(json_object_get(json_array_get(ev.got, 0), "time"));
    double t_out = (double)json_integer_value(json_object_get(json_array_get(ev.got, 1), "time"));
    ASSERT_NEAR(t_out - t_in, 3000, 500);
    json_decref(ev.got);
    buf_release(&g.page);
}
