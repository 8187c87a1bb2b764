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
#include "testsrv.h"

TEST_FILE_USES(""); /* its own gateway, receiver and HTTP server on free ports */

struct events {
    pthread_mutex_t mu;
    json_t *got;             /* the bodies received, in order */
};

struct upload { struct buf b; };

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **state)
{
    (void)url; (void)version; (void)method;
    struct events *ev = cls;
    struct upload *u = *state;
    if (!u) {
        u = calloc(1, sizeof *u);
        buf_init(&u->b, 1 << 20);
        *state = u;
        return MHD_YES;
    }
    if (*size) {
        buf_add(&u->b, data, *size);
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&ev->mu);
    json_t *j = json_loads(u->b.data, 0, NULL);
    json_array_append_new(ev->got, j ? j : json_string(u->b.data));
    pthread_mutex_unlock(&ev->mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode code)
{
    (void)cls; (void)c; (void)code;
    struct upload *u = *state;
    if (u) { buf_release(&u->b); free(u); }
    *state = NULL;
}

static size_t keep(char *d, size_t s, size_t n, void *arg)
{
    buf_add(arg, d, s * n);
    return s * n;
}

static long get(const char *url, struct buf *out)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

TEST_T(live_push_is_on_the_gateway_while_the_run_goes_on_and_events_are_posted, 90)
{
    const char *bin = "/usr/bin/prometheus-pushgateway";
    if (access(bin, X_OK) != 0) SKIP("prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway)");
    int gport = th_free_port();
    char listen[64], url[160];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", gport);
    pid_t gw = fork();
    if (gw == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, listen, (char *)NULL);
        _exit(127);
    }
    ASSERT(gw > 0);
    struct buf page;
    buf_init(&page, 1 << 22);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/-/ready", gport);
    int ready = 0;
    for (int i = 0; i < 100 && !ready; i++) {
        buf_reset(&page);
        if (!(ready = get(url, &page) == 200)) usleep(100000);
    }
    ASSERT_MSG(ready, "the pushgateway did not become ready");

    struct events ev = { .got = json_array() };
    pthread_mutex_init(&ev.mu, NULL);
    struct MHD_Daemon *d = NULL;
    int aport = 0;
    for (int i = 0; i < 5 && !d; i++) {
        aport = th_free_port();
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)aport, NULL, NULL,
                             on_req, &ev, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
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
             "probes:\n  - { name: ok-during, during: blip, http: { url: \"http://127.0.0.1:%d/ok\" } }\n",
             testsrv_port(s), testsrv_port(s));
    fx_write_file(dir, "p.yaml", plan);
    char gwurl[64], anurl[64];
    snprintf(gwurl, sizeof gwurl, "http://127.0.0.1:%d", gport);
    snprintf(anurl, sizeof anurl, "http://127.0.0.1:%d/api/annotations", aport);
    char *args[] = { "run", "p.yaml", "-o", "out", "--pushgateway", gwurl, "--annotate", anurl, NULL };
    pid_t fl = fx_fl_start(dir, NULL, args);

    /* mid-run (about 4.5 s in): the live group is there and faultline still runs */
    usleep(4500000);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", gport);
    buf_reset(&page);
    long st = get(url, &page);
    int running = waitpid(fl, NULL, WNOHANG) == 0;
    char *mid = fl_strdup(page.data);
    int rc = fx_fl_wait(fl, 60000);
    kill(gw, SIGTERM);
    waitpid(gw, NULL, 0);
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
    buf_release(&page);
}
