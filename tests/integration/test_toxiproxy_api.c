/* test_toxiproxy_api.c -- `faultline proxy --api`: Toxiproxy's HTTP API driven by the real
 * Toxiproxy Node client (npm: toxiproxy-node-client 4.1.0, installed by make test into
 * build/npm) and by plain curl, with real traffic through the proxies it makes; the effect of
 * each toxic measured from outside. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "netfx.h"
#include "testsrv.h"

TEST_FILE_USES("alone"); /* measures added latency and bandwidth to 5% */

/* `faultline proxy --api 127.0.0.1:PORT` as a child, answering once it accepts */
struct api { pid_t pid; int port; char url[64]; };

static void api_start(struct api *a)
{
    a->port = th_free_port();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", a->port);
    snprintf(a->url, sizeof a->url, "http://127.0.0.1:%d", a->port);
    a->pid = fork();
    ASSERT(a->pid >= 0);
    if (a->pid == 0) {
        execl(th_faultline(), "faultline", "proxy", "--api", addr, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        int fd = nfx_tcp_connect(a->port);
        if (fd >= 0) { close(fd); return; }
        usleep(20000);
    }
    ASSERT_MSG(0, "faultline proxy --api did not listen on %s", addr);
}

static void api_stop(struct api *a)
{
    kill(a->pid, SIGTERM);
    int st = 0;
    ASSERT(waitpid(a->pid, &st, 0) == a->pid);
    ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "faultline proxy --api exited with status %d", st);
}

/* curl a request; the reply body in out, the HTTP status returned */
static int curl(char *out, size_t n, const char *method, const char *url, const char *body)
{
    char cmd[4096];
    if (body)
        snprintf(cmd, sizeof cmd, "curl -s -X %s -H 'Content-Type: application/json' --data '%s' -w '\\n%%{http_code}' %s",
                 method, body, url);
    else
        snprintf(cmd, sizeof cmd, "curl -s -X %s -w '\\n%%{http_code}' %s", method, url);
    ASSERT_EQ_INT(th_sh(out, n, "%s", cmd), 0);
    char *nl = strrchr(out, '\n');
    ASSERT(nl);
    int status = atoi(nl + 1);
    *nl = '\0';
    return status;
}

/* one GET /ok through the proxy on a keep-alive connection: the round trip in ms */
static double http_rtt(int fd)
{
    const char *req = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n";
    double t0 = nfx_now_ms();
    ASSERT(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
    char buf[2048] = "";
    size_t len = 0;
    while (!strstr(buf, "ok\n")) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ASSERT_MSG(poll(&p, 1, 3000) == 1, "no answer through the proxy");
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        ASSERT(r > 0);
        len += (size_t)r;
        buf[len] = '\0';
    }
    return nfx_now_ms() - t0;
}

static double sorted_rtt(int fd, int n, int pick_min)
{
    double v[32];
    for (int i = 0; i < n; i++) v[i] = http_rtt(fd);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) { double t = v[j]; v[j] = v[j - 1]; v[j - 1] = t; }
    return pick_min ? v[0] : v[n / 2];
}
static double median_rtt(int fd, int n) { return sorted_rtt(fd, n, 0); }
/* the baseline is the fastest round trip: a loaded machine only adds time, so an added latency
 * is measured as a median over the floor */
static double floor_rtt(int fd, int n) { return sorted_rtt(fd, n, 1); }

TEST_T(toxiproxy_node_client_drives_the_api, 90)
{
    th_need_program("node", "nodejs");
    char mod[512];
    snprintf(mod, sizeof mod, "%s/npm/node_modules/toxiproxy-node-client/package.json", th_build_dir());
    struct stat sb;
    if (stat(mod, &sb) != 0)
        SKIP("toxiproxy-node-client is not installed in build/npm (make test installs it with npm from the npm registry)");
    struct api a;
    api_start(&a);
    static char out[16384];
    int rc = th_sh(out, sizeof out, "NODE_PATH=%s/npm/node_modules node tests/integration/toxi/client_test.js %s 2>&1",
                   th_build_dir(), a.url);
    printf("    %s\n", out);
    ASSERT_MSG(rc == 0, "the client script failed (%d)", rc);
    json_error_t je;
    json_t *j = json_loads(strrchr(out, '{') && strstr(out, "{\"version\"") ? strstr(out, "{\"version\"") : out, 0, &je);
    ASSERT_MSG(j, "client output is not JSON: %s", je.text);
    double base = json_number_value(json_object_get(j, "baseline_ms"));
    double lat = json_number_value(json_object_get(j, "latency_ms"));
    double after = json_number_value(json_object_get(j, "after_ms"));
    double rate = json_number_value(json_object_get(j, "bw_rate"));
    /* latency 100 ms downstream: added 100 ms within 5% */
    ASSERT_NEAR(lat, 100, 5);
    ASSERT_MSG(after < base + 20, "latency removed, yet the round trip is %.1f ms (was %.1f)", after, base);
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "toxic_name")), "latency_downstream");
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "toxic_attrs"), "latency")), 100);
    /* bandwidth 500 KB/s: within 5%, every byte */
    ASSERT_EQ_INT(json_integer_value(json_object_get(j, "bw_bytes")), 600000);
    ASSERT_NEAR(rate, 500000, 25000);
    /* down via enabled: false, and back */
    ASSERT(json_is_true(json_object_get(j, "down_refused")));
    ASSERT(json_is_true(json_object_get(j, "reenabled")));
    ASSERT_CONTAINS(json_string_value(json_object_get(j, "bad_type")), "400");
    ASSERT_CONTAINS(json_string_value(json_object_get(j, "bad_attr")), "400");
    ASSERT_CONTAINS(json_string_value(json_object_get(j, "missing")), "404");
    char *all = json_dumps(json_object_get(j, "all"), JSON_COMPACT);
    char *reset = json_dumps(json_object_get(j, "after_reset"), JSON_COMPACT);
    ASSERT_EQ_STR(all, "[\"fl_node_bytes\",\"fl_node_echo\"]");
    ASSERT_EQ_STR(reset, "[\"fl_node_echo\",\"fl_node_pop\"]");
    free(all);
    free(reset);
    json_decref(j);
    api_stop(&a);
}

TEST_T(toxiproxy_api_with_curl, 60)
{
    /* the requests of Toxiproxy's README, with curl; latency measured through the proxy */
    th_need_program("curl", "curl");
    struct testsrv *srv = testsrv_start(0);
    ASSERT(srv);
    struct api a;
    api_start(&a);
    static char out[8192];
    char url[256], body[512];
    int pport = th_free_port();
    snprintf(url, sizeof url, "%s/proxies", a.url);
    snprintf(body, sizeof body, "{\"name\": \"scheduler\", \"listen\": \"127.0.0.1:%d\", \"upstream\": \"127.0.0.1:%d\"}",
             pport, testsrv_port(srv));
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, body), 201);
    ASSERT_CONTAINS(out, "\"enabled\":true");
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, body), 409);
    ASSERT_EQ_STR(out, "{\"error\":\"proxy already exists\",\"status\":409}");
    int fd = nfx_tcp_connect(pport);
    ASSERT(fd >= 0);
    double base = floor_rtt(fd, 15);

    snprintf(url, sizeof url, "%s/proxies/scheduler/toxics", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url,
                       "{\"name\": \"slow\", \"type\": \"latency\", \"stream\": \"downstream\", \"toxicity\": 1.0,"
                       " \"attributes\": {\"latency\": 60, \"jitter\": 0}}"), 200);
    ASSERT_CONTAINS(out, "\"name\":\"slow\"");
    double lat = median_rtt(fd, 9) - base;
    printf("    latency 60 ms through the proxy: +%.2f ms (base %.2f ms)\n", lat, base);
    ASSERT_NEAR(lat, 60, 3);
    /* the toxic's attributes change in place */
    snprintf(url, sizeof url, "%s/proxies/scheduler/toxics/slow", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, "{\"attributes\": {\"latency\": 20}}"), 200);
    ASSERT_CONTAINS(out, "\"latency\":20");
    lat = median_rtt(fd, 9) - base;
    printf("    changed to 20 ms: +%.2f ms\n", lat);
    ASSERT_NEAR(lat, 20, 2);
    ASSERT_EQ_INT(curl(out, sizeof out, "GET", url, NULL), 200);
    ASSERT_EQ_INT(curl(out, sizeof out, "DELETE", url, NULL), 204);
    ASSERT_EQ_INT(curl(out, sizeof out, "DELETE", url, NULL), 404);
    ASSERT_EQ_STR(out, "{\"error\":\"toxic not found\",\"status\":404}");
    ASSERT_MSG(median_rtt(fd, 5) < base + 3, "latency still there after DELETE");

    /* faultline's own type through the API: http_error on a path only */
    snprintf(url, sizeof url, "%s/proxies/scheduler/toxics", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url,
                       "{\"type\": \"http_error\", \"attributes\": {\"status\": 503, \"path\": \"/status\"}}"), 200);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code} ' http://127.0.0.1:%d/ok; "
             "curl -s -o /dev/null -w '%%{http_code} ' 'http://127.0.0.1:%d/status?code=200'", pport, pport);
    ASSERT_EQ_INT(th_sh(out, sizeof out, "%s", cmd), 0);
    ASSERT_EQ_STR(out, "200 503 ");

    /* bad input: Toxiproxy-shaped errors, the server keeps serving */
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, "{\"type\": \"latency\", \"colour\": 1}"), 400);
    ASSERT_CONTAINS(out, "unknown field 'colour'");
    ASSERT_CONTAINS(out, "\"status\":400");
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, "{\"type\": \"latency\", \"stream\": \"sideways\"}"), 400);
    ASSERT_CONTAINS(out, "stream was invalid");
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, "{\"type\": \"latency\", \"attributes\": {\"latency\": -5}}"), 400);
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, "{\"type\": \"latency\", \"toxicity\": 7}"), 400);
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, "[1,2"), 400);
    ASSERT_CONTAINS(out, "bad request body");
    snprintf(url, sizeof url, "%s/proxies/nope", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "GET", url, NULL), 404);
    ASSERT_EQ_STR(out, "{\"error\":\"proxy not found\",\"status\":404}");
    snprintf(url, sizeof url, "%s/version", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "GET", url, NULL), 200);
    ASSERT_CONTAINS(out, "faultline");

    /* down: enabled false refuses; /reset enables every proxy and drops every toxic */
    snprintf(url, sizeof url, "%s/proxies/scheduler", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, "{\"enabled\": false}"), 200);
    close(fd);
    ASSERT(nfx_tcp_connect(pport) < 0);
    snprintf(url, sizeof url, "%s/reset", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "POST", url, NULL), 204);
    snprintf(url, sizeof url, "%s/proxies/scheduler", a.url);
    ASSERT_EQ_INT(curl(out, sizeof out, "GET", url, NULL), 200);
    ASSERT_CONTAINS(out, "\"enabled\":true");
    ASSERT_CONTAINS(out, "\"toxics\":[]");
    fd = nfx_tcp_connect(pport);
    ASSERT(fd >= 0);
    http_rtt(fd);
    close(fd);
    ASSERT_EQ_INT(curl(out, sizeof out, "DELETE", url, NULL), 204);
    ASSERT(nfx_tcp_connect(pport) < 0);
    api_stop(&a);
    testsrv_stop(srv);
}
