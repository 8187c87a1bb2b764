/* fuzz_docker_json.c -- libFuzzer target: Docker Engine replies, decoded by targets/docker_api.c
 * and the target resolver of faults/docker.c.
 *
 * The first byte picks what the rest (the reply body) goes through:
 *   0 inspect/list JSON, in memory: docker_cstate_from_json, docker_has_label, the resource
 *     decoders of docker.limit (docker_resources_from_json over HostConfig,
 *     docker_mem_used_from_json over a stats reply), and the swarm decoders
 *     (docker_service_from_json, docker_task_from_json, docker_node_from_json,
 *     docker_svc_status_from over a task list)
 *   1 an error reply: docker_status_err (status from bytes 1-2)
 *   2 an exec stream: docker_demux_feed, whole and in pieces (must give the same output)
 *   3 GET /containers/{id}/json answered by a fake daemon: docker_inspect; the same reply to
 *     docker_stats_once (GET .../stats) and docker_exec_inspect (GET /exec/{id}/json)
 *   4 GET /containers/json (labels, pick, require_label) through docker_target_resolve
 *   5 the same resolver with container: (inspect)
 *   6 version negotiation: /_ping without or with an odd Api-Version header, then /version
 *   7 docker_exec: the multiplexed output stream of /exec/{id}/start
 * Modes 3-7 go through the real client (libcurl over a Unix socket, fuzz_httpd.h), so the
 * bytes meet the code exactly as a daemon's reply would. Besides "no crash", each mode checks
 * what the header promises (one-line errors, resolved ids sorted and all of them, the same
 * demuxed bytes whatever the chunking).
 *
 *   build/fuzz/fuzz_docker_json tests/fuzz/corpus/docker_json -max_total_time=600
 * tests/unit/test_fuzz_corpus.c includes this file (with FUZZ_DOCKER_ENTRY and FUZZ_FAIL set)
 * to replay the corpus through the same function.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "fault.h"
#include "fuzz_httpd.h"

#ifndef FUZZ_DOCKER_ENTRY
#define FUZZ_DOCKER_ENTRY LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) (fprintf(stderr, "fuzz_docker_json: " __VA_ARGS__), fputc('\n', stderr), abort())
#endif
#define DJ_CHECK(c, ...) do { if (!(c)) FUZZ_FAIL(__VA_ARGS__); } while (0)

/* ---- the fake daemon ------------------------------------------------------------------------ */

static struct {
    pthread_mutex_t mu;
    struct fh_canned reply;   /* what other paths get */
    int ping_status;
    char ping_version[32];    /* Api-Version header of /_ping; "" = none */
    int exec_canned;          /* /exec/{id}/json gets reply too (else: a finished exec) */
} dj_canned = { .mu = PTHREAD_MUTEX_INITIALIZER };

static const char dj_exec_done[] = "{\"Running\":false,\"ExitCode\":0}";
static const char dj_exec_id[] = "{\"Id\":\"e1\"}";

static void dj_handle(void *ud, const struct fh_req *rq, struct fh_reply *rp)
{
    (void)ud;
    pthread_mutex_lock(&dj_canned.mu);
    const char *p = rq->path;
    size_t pl = strlen(p);
    if (strcmp(p, "/_ping") == 0) {
        rp->status = dj_canned.ping_status;
        if (dj_canned.ping_version[0])
            snprintf(rp->headers, sizeof rp->headers, "Api-Version: %s\r\n", dj_canned.ping_version);
        rp->body = "OK";
        rp->body_len = 2;
    } else if (strstr(p, "/exec/") && pl > 5 && strcmp(p + pl - 5, "/json") == 0 && !dj_canned.exec_canned) {
        rp->body = dj_exec_done;
        rp->body_len = sizeof dj_exec_done - 1;
    } else if (pl > 5 && strcmp(p + pl - 5, "/exec") == 0) {
        rp->status = 201;
        rp->body = dj_exec_id;
        rp->body_len = sizeof dj_exec_id - 1;
    } else {
        fh_reply_canned(rp, &dj_canned.reply);
    }
    pthread_mutex_unlock(&dj_canned.mu);
}

static void dj_set(int status, const uint8_t *body, size_t len)
{
    pthread_mutex_lock(&dj_canned.mu);
    dj_canned.reply = (struct fh_canned){ status, body, len };
    dj_canned.ping_status = 200;
    dj_canned.exec_canned = 0;
    snprintf(dj_canned.ping_version, sizeof dj_canned.ping_version, "1.41");
    pthread_mutex_unlock(&dj_canned.mu);
}

static struct fhttpd *dj_srv;
static char dj_host[160];
static char dj_dir[64];
static struct docker_client dj_client; /* kept alive across inputs, as faultline keeps its own */

static void dj_cleanup(void)
{
    unlink(dj_srv->sock);
    rmdir(dj_dir);
}

static void dj_setup(void)
{
    if (dj_srv) return;
    snprintf(dj_dir, sizeof dj_dir, "/tmp/fl-fuzz-docker-XXXXXX");
    if (!mkdtemp(dj_dir)) abort();
    dj_srv = fh_start_unix(dj_dir, dj_handle, NULL);
    atexit(dj_cleanup);
    snprintf(dj_host, sizeof dj_host, "unix://%s", dj_srv->sock);
    char err[FL_ERR_LEN];
    if (docker_client_init(&dj_client, dj_host, err) < 0) FUZZ_FAIL("client: %s", err);
    dj_client.timeout_ms = 10000;
    snprintf(dj_client.api_version, sizeof dj_client.api_version, "1.41");
}

static const int dj_statuses[] = { 200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 409, 500, 503 };
#define DJ_STATUS(b) dj_statuses[(b) % (sizeof dj_statuses / sizeof *dj_statuses)]

/* ---- checks ---------------------------------------------------------------------------------- */

static void dj_check_err(const char *err)
{
    DJ_CHECK(strlen(err) < FL_ERR_LEN, "error text overflows");
    DJ_CHECK(strncmp(err, "docker: ", 8) == 0 || strncmp(err, "cannot ", 7) == 0 || strncmp(err, "target ", 7) == 0,
             "error without its prefix: %s", err);
}

static const char *const dj_labels[] = {
    "app", "app=web", "com.docker.compose.project=p", "", "=", "x=", "a=b=c",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=v",
};

/* one container object (inspect reply or list entry) */
static void dj_container(const json_t *j)
{
    struct docker_cstate st;
    char err[FL_ERR_LEN];
    if (docker_cstate_from_json(j, &st, err) == 0) {
        DJ_CHECK(strlen(st.id) < sizeof st.id && strlen(st.name) < sizeof st.name, "id/name not terminated");
        DJ_CHECK(strcmp(docker_state_name(st.state), "unknown") != 0, "state %d out of range", (int)st.state);
        DJ_CHECK(strlen(st.health) < sizeof st.health, "health not terminated");
        DJ_CHECK(!st.health[0] || st.has_healthcheck, "health '%s' without has_healthcheck", st.health);
    } else {
        dj_check_err(err);
    }
    for (size_t i = 0; i < sizeof dj_labels / sizeof *dj_labels; i++) {
        int h = docker_has_label(j, dj_labels[i]);
        DJ_CHECK(h == 0 || h == 1, "docker_has_label returned %d", h);
    }
    /* every label the container carries is found, by key and by key=value */
    json_t *labels = json_object_get(j, "Labels");
    if (!labels) labels = json_object_get(json_object_get(j, "Config"), "Labels");
    if (!json_is_object(labels)) return;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v) {
        size_t kl = strlen(k);
        if (kl == 0 || kl >= 200 || strchr(k, '=') || json_object_get(labels, k) != v) continue;
        DJ_CHECK(docker_has_label(j, k) == 1, "label key '%s' present but not found", k);
        const char *s = json_string_value(v);
        if (!s || strlen(s) >= 200) continue;
        char kv[420];
        snprintf(kv, sizeof kv, "%s=%s", k, s);
        DJ_CHECK(docker_has_label(j, kv) == 1, "label '%s' present but not found", kv);
    }
}

/* one object as docker.limit reads it: an inspect's HostConfig resource fields, a stats
 * reply's memory in use */
static void dj_resources(const json_t *j)
{
    const json_t *hc = json_object_get(j, "HostConfig");
    json_t *r = docker_resources_from_json(hc);
    DJ_CHECK(json_is_object(r) && json_object_size(r) == 6, "resources: not an object of 6 fields");
    static const char *const keys[] = { "NanoCpus", "CpuQuota", "CpuPeriod", "Memory", "MemorySwap", NULL };
    for (size_t i = 0; keys[i]; i++) {
        const json_t *have = json_object_get(hc, keys[i]);
        json_int_t got = json_integer_value(json_object_get(r, keys[i]));
        DJ_CHECK(json_is_integer(json_object_get(r, keys[i])), "resources: %s not an integer", keys[i]);
        DJ_CHECK(got == (json_is_integer(have) ? json_integer_value(have) : 0), "resources: %s is %lld", keys[i],
                 (long long)got);
    }
    const json_t *pl = json_object_get(r, "PidsLimit");
    DJ_CHECK(json_is_integer(json_object_get(hc, "PidsLimit")) ? json_is_integer(pl) : json_is_null(pl),
             "resources: PidsLimit kept wrongly");
    json_decref(r);
    int64_t used = -1;
    char err[FL_ERR_LEN];
    if (docker_mem_used_from_json(j, &used, err) == 0) {
        json_int_t usage = json_integer_value(json_object_get(json_object_get(j, "memory_stats"), "usage"));
        DJ_CHECK(used >= 0 && used <= usage, "memory in use %lld of usage %lld", (long long)used, (long long)usage);
    } else {
        dj_check_err(err);
    }
}

/* one object as a swarm service, task and node */
static void dj_swarm_object(const json_t *j)
{
    char err[FL_ERR_LEN];
    struct docker_service sv;
    if (docker_service_from_json(j, &sv, err) == 0) {
        DJ_CHECK(strlen(sv.id) < sizeof sv.id && strlen(sv.name) < sizeof sv.name, "service id/name not terminated");
        DJ_CHECK(!sv.global || sv.replicas == -1, "global service with replicas %lld", (long long)sv.replicas);
    } else {
        dj_check_err(err);
    }
    struct docker_task t;
    if (docker_task_from_json(j, &t, err) == 0)
        DJ_CHECK(strlen(t.state) < sizeof t.state && strlen(t.desired) < sizeof t.desired &&
                     strlen(t.container_id) < sizeof t.container_id,
                 "task fields not terminated");
    else
        dj_check_err(err);
    struct docker_node nd;
    if (docker_node_from_json(j, &nd, err) == 0)
        DJ_CHECK(strlen(nd.availability) < sizeof nd.availability && strlen(nd.role) < sizeof nd.role &&
                     strlen(nd.hostname) < sizeof nd.hostname,
                 "node fields not terminated");
    else
        dj_check_err(err);
}

/* a task list against a service (the first entry, when it decodes as one, else 2 replicas) */
static void dj_svc_status(const json_t *arr)
{
    struct docker_service sv = { .replicas = 2 };
    char err[FL_ERR_LEN];
    if (docker_service_from_json(json_array_get(arr, 0), &sv, err) < 0) sv = (struct docker_service){ .replicas = 2 };
    struct docker_svc_status st;
    docker_svc_status_from(&sv, arr, &st);
    DJ_CHECK(st.running >= 0 && st.pending >= 0 && st.stopping >= 0 && st.failed >= 0, "negative task counts");
    DJ_CHECK((size_t)(st.running + st.pending + st.stopping) <= json_array_size(arr),
             "more tasks counted (%lld) than listed (%zu)", (long long)(st.running + st.pending + st.stopping),
             json_array_size(arr));
    if (st.converged)
        DJ_CHECK(st.running == st.desired && st.pending == 0 && st.stopping == 0,
                 "converged with %lld of %lld running, %lld pending, %lld stopping", (long long)st.running,
                 (long long)st.desired, (long long)st.pending, (long long)st.stopping);
}

static void dj_json(const uint8_t *b, size_t n)
{
    json_t *j = json_loadb((const char *)b, n, 0, NULL);
    if (!j) return;
    if (json_is_array(j)) {
        size_t i;
        json_t *it;
        json_array_foreach(j, i, it) {
            dj_container(it);
            dj_resources(it);
            dj_swarm_object(it);
        }
        dj_svc_status(j);
    } else {
        dj_container(j);
        dj_resources(j);
        dj_swarm_object(j);
    }
    json_decref(j);
}

static void dj_status_err(const uint8_t *data, size_t size)
{
    if (size < 3) return;
    long status = 100 + (long)((data[1] << 8 | data[2]) % 500);
    char *body = strndup((const char *)data + 3, size - 3);
    char err[FL_ERR_LEN];
    DJ_CHECK(docker_status_err(status, body, err) == -1, "docker_status_err did not fail");
    dj_check_err(err);
    DJ_CHECK(!strpbrk(err, "\r\n"), "error of more than one line: %s", err);
    char want[16];
    snprintf(want, sizeof want, "docker: %ld", status);
    DJ_CHECK(strncmp(err, want, strlen(want)) == 0, "error does not name status %ld: %s", status, err);
    free(body);
}

/* demux of a whole stream into a buffer of cap bytes */
static void dj_demux_once(const uint8_t *b, size_t n, size_t cap, struct buf *out)
{
    struct docker_demux d = { .hlen = 0 };
    buf_init(out, cap);
    docker_demux_feed(&d, (const char *)b, n, out);
}

static void dj_demux(const uint8_t *data, size_t size)
{
    if (size < 3) return;
    size_t cap = 16 + (size_t)data[1] * 4, step = 1 + data[2] % 23;
    const uint8_t *b = data + 3;
    size_t n = size - 3;
    struct buf whole, pieces;
    dj_demux_once(b, n, cap, &whole);
    struct docker_demux d = { .hlen = 0 };
    buf_init(&pieces, cap);
    for (size_t off = 0; off < n; off += step) docker_demux_feed(&d, (const char *)b + off, n - off < step ? n - off : step, &pieces);
    DJ_CHECK(whole.len < cap && pieces.len < cap, "demux wrote past the cap");
    DJ_CHECK(whole.len == pieces.len && memcmp(whole.data, pieces.data, whole.len) == 0 &&
                 whole.overflow == pieces.overflow,
             "demux in pieces of %zu differs from the whole stream (%zu vs %zu bytes)", step, pieces.len, whole.len);
    buf_release(&whole);
    buf_release(&pieces);
}

static void dj_inspect(const uint8_t *data, size_t size)
{
    if (size < 2) return;
    int status = DJ_STATUS(data[1]);
    dj_set(status, data + 2, size - 2);
    struct docker_cstate st;
    json_t *j = NULL;
    char err[FL_ERR_LEN];
    int ret = docker_inspect(&dj_client, "db", &st, &j, err);
    if (ret == 0) {
        DJ_CHECK(j != NULL, "inspect succeeded without a reply");
        DJ_CHECK(status >= 200 && status < 300, "inspect succeeded on status %d", status);
        DJ_CHECK(strcmp(docker_state_name(st.state), "unknown") != 0, "state out of range");
        json_decref(j);
    } else {
        DJ_CHECK(j == NULL, "failed inspect left a reply");
        dj_check_err(err);
    }
    /* the same reply as one stats sample: an object, or an error */
    j = NULL;
    if (docker_stats_once(&dj_client, "db", &j, err) == 0) {
        DJ_CHECK(json_is_object(j), "stats succeeded without an object");
        DJ_CHECK(status >= 200 && status < 300, "stats succeeded on status %d", status);
        json_decref(j);
    } else {
        DJ_CHECK(j == NULL, "failed stats left a reply");
        dj_check_err(err);
    }
    /* and as an exec inspect: an object (running 0/1), or an error */
    pthread_mutex_lock(&dj_canned.mu);
    dj_canned.exec_canned = 1;
    pthread_mutex_unlock(&dj_canned.mu);
    int running = -1, code = -2;
    long pid = -1;
    if (docker_exec_inspect(&dj_client, "e1", &running, &pid, &code, err) == 0) {
        DJ_CHECK(running == 0 || running == 1, "exec running %d", running);
        DJ_CHECK(status >= 200 && status < 300, "exec inspect succeeded on status %d", status);
        (void)pid;
        (void)code;
    } else {
        dj_check_err(err);
    }
}

/* containers of a list reply that have a string Id: what resolve must return without pick */
static size_t dj_with_id(const uint8_t *b, size_t n)
{
    json_t *j = json_loadb((const char *)b, n, 0, NULL);
    size_t k = 0, i;
    json_t *it;
    if (json_is_array(j)) json_array_foreach(j, i, it) k += json_is_string(json_object_get(it, "Id"));
    json_decref(j);
    return k;
}

static void dj_resolve(const uint8_t *data, size_t size, int by_name)
{
    if (size < 3) return;
    int status = DJ_STATUS(data[1]);
    unsigned o = data[2];
    dj_set(status, data + 3, size - 3);
    char *labels[] = { "app=web", "tier" };
    struct docker_target dt = { .container = by_name ? "db" : NULL, .labels = by_name ? NULL : labels,
                                .nlabels = by_name ? 0 : 1 + (o & 1), .summary = "fuzz selector" };
    struct target t = { .name = "fuzz", .cfg = &dt };
    if (o & 2) {
        t.has_pick = 1;
        t.pick_count = (int)(o >> 4);
        t.pick_percent = t.pick_count ? 0 : (double)((o >> 4) + 1) / 17.0;
        t.pick_seed_set = o & 8;
        t.pick_seed = o;
    }
    const char *require = (o & 4) ? "faultline=ok" : NULL;
    char **ids = NULL, **names = NULL, err[FL_ERR_LEN];
    size_t n = 0;
    int ret = docker_target_resolve(&t, &dj_client, 42, require, &ids, &names, &n, err);
    size_t want = by_name ? 1 : dj_with_id(data + 3, size - 3);
    int ok2xx = status >= 200 && status < 300 && status != 204; /* 204: no body sent */
    if (ret == 0) {
        DJ_CHECK(n >= 1 && ids && names && !ids[n] && !names[n], "resolve: %zu ids, badly terminated", n);
        DJ_CHECK(n <= want, "resolve: %zu ids out of %zu", n, want);
        if (!t.has_pick) DJ_CHECK(n == want, "resolve dropped containers: %zu of %zu", n, want);
        for (size_t i = 0; i < n; i++) {
            DJ_CHECK(ids[i] && names[i], "resolve: NULL id or name");
            DJ_CHECK(i == 0 || strcmp(ids[i - 1], ids[i]) <= 0, "resolve: ids not sorted");
        }
        param_strv_free(ids);
        param_strv_free(names);
    } else {
        dj_check_err(err);
        if (!by_name && ok2xx && want > 0 && !require)
            FUZZ_FAIL("resolve failed on a list with %zu containers: %s", want, err);
    }
}

static void dj_negotiate(const uint8_t *data, size_t size)
{
    if (size < 2) return;
    dj_set(DJ_STATUS(data[1]), data + 2, size - 2);
    pthread_mutex_lock(&dj_canned.mu);
    dj_canned.ping_status = (data[1] & 0x80) ? 404 : 200;
    dj_canned.ping_version[0] = '\0';
    if (data[1] & 0x40) { /* a header with the first bytes of the body, minus line breaks */
        size_t k = 0;
        for (size_t i = 2; i < size && k < 20; i++)
            if (data[i] >= 0x20 && data[i] != 0x7f) dj_canned.ping_version[k++] = (char)data[i];
        dj_canned.ping_version[k] = '\0';
    }
    pthread_mutex_unlock(&dj_canned.mu);
    struct docker_client c;
    char err[FL_ERR_LEN];
    if (docker_client_init(&c, dj_host, err) < 0) FUZZ_FAIL("client: %s", err);
    if (docker_negotiate(&c, err) == 0) {
        int major = 0, minor = 0;
        DJ_CHECK(sscanf(c.api_version, "%d.%d", &major, &minor) == 2, "negotiated '%s'", c.api_version);
        DJ_CHECK(major == 1 && minor >= 24 && minor <= 43, "negotiated API %s outside 1.24..1.43", c.api_version);
    } else {
        dj_check_err(err);
    }
    docker_client_release(&c);
}

static void dj_exec(const uint8_t *data, size_t size)
{
    if (size < 2) return;
    int status = (data[1] & 7) ? 200 : DJ_STATUS(data[1] >> 3);
    dj_set(status, data + 2, size - 2);
    char *argv[] = { "true", NULL };
    struct buf out;
    buf_init(&out, 4096);
    int code = -1;
    char err[FL_ERR_LEN];
    if (docker_exec(&dj_client, "db", argv, 10000, &code, &out, err) == 0) {
        DJ_CHECK(code == 0, "exit code %d, the daemon said 0", code);
        struct buf whole;
        dj_demux_once(data + 2, status == 204 ? 0 : size - 2, 4096, &whole);
        DJ_CHECK(whole.len == out.len && memcmp(whole.data, out.data, out.len) == 0,
                 "exec output (%zu bytes) differs from the demuxed stream (%zu bytes)", out.len, whole.len);
        buf_release(&whole);
    } else {
        dj_check_err(err);
    }
    buf_release(&out);
}

int FUZZ_DOCKER_ENTRY(const uint8_t *data, size_t size);
int FUZZ_DOCKER_ENTRY(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    dj_setup();
    switch (data[0] % 8) {
    case 0: dj_json(data + 1, size - 1); break;
    case 1: dj_status_err(data, size); break;
    case 2: dj_demux(data, size); break;
    case 3: dj_inspect(data, size); break;
    case 4: dj_resolve(data, size, 0); break;
    case 5: dj_resolve(data, size, 1); break;
    case 6: dj_negotiate(data, size); break;
    case 7: dj_exec(data, size); break;
    }
    dj_set(503, NULL, 0); /* the input is freed after this returns */
    fh_quiesce(5000);
    return 0;
}
