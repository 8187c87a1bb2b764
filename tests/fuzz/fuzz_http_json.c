/* fuzz_http_json.c -- libFuzzer target: HTTP replies with JSON, as the http probe and the load
 * engine's login read them.
 *
 * The JSON handling of both is static (probes/http.c json_path_text, orchestrator/load_engine.c
 * extract_token), so the bytes go through the real code paths, over loopback HTTP from a
 * fake server (fuzz_httpd.h):
 *   first byte even: an http probe with `json:` expectations. Input after byte 1 (the status):
 *     "path=value" lines, an empty line, then the reply body. The probe is parsed from YAML
 *     (probe_http.parse) and checked once (probe_http.check).
 *   first byte odd: a load block (vus: 1) with `login: {request, token: FIELD}`. Input after
 *     byte 1 (the login status): the token field, a newline, then the login reply body. The
 *     server records the Authorization header of the next request.
 * Checks besides "no crash": the probe never passes on a non-2xx status or a body that is not
 * JSON, passes when every expected top-level string matches, fails when a top-level key is
 * missing; the load engine sends "Authorization: Bearer <token>" exactly when the reply holds
 * a usable token (a non-empty string without line breaks, or an integer) at the dotted path,
 * and that header carries exactly that token.
 *
 *   build/fuzz/fuzz_http_json tests/fuzz/corpus/http_json -max_total_time=600
 * tests/unit/test_fuzz_corpus.c includes this file (FUZZ_HTTP_ENTRY, FUZZ_FAIL) to replay the
 * corpus through the same function.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_httpd.h"
#include "load.h"
#include "node.h"
#include "probe.h"

#ifndef FUZZ_HTTP_ENTRY
#define FUZZ_HTTP_ENTRY LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) (fprintf(stderr, "fuzz_http_json: " __VA_ARGS__), fputc('\n', stderr), abort())
#endif
#define HJ_CHECK(c, ...) do { if (!(c)) FUZZ_FAIL(__VA_ARGS__); } while (0)

extern const struct probe_ops probe_http;

/* ---- the fake server ------------------------------------------------------------------------ */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fh_canned reply;  /* the probe's GET, the login */
    unsigned logins;         /* POST /login seen */
    unsigned requests;       /* GET /r seen */
    char *auth;              /* Authorization header of the first GET /r, or NULL */
    int had_auth;
} hj = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void hj_handle(void *ud, const struct fh_req *rq, struct fh_reply *rp)
{
    (void)ud;
    pthread_mutex_lock(&hj.mu);
    if (strcmp(rq->path, "/r") == 0) {
        if (hj.requests++ == 0) {
            size_t n;
            const char *a = fh_header(rq->headers, "Authorization", &n);
            hj.had_auth = a != NULL;
            if (a) hj.auth = strndup(a, n);
        }
        rp->body = "ok";
        rp->body_len = 2;
    } else {
        if (hj.reply.body && strcmp(rq->path, "/login") == 0) hj.logins++;
        fh_reply_canned(rp, &hj.reply);
    }
    pthread_cond_broadcast(&hj.cv);
    pthread_mutex_unlock(&hj.mu);
}

static void hj_set(int status, const uint8_t *body, size_t len)
{
    pthread_mutex_lock(&hj.mu);
    hj.reply = (struct fh_canned){ status, body, len };
    hj.logins = hj.requests = 0;
    free(hj.auth);
    hj.auth = NULL;
    hj.had_auth = 0;
    pthread_mutex_unlock(&hj.mu);
}

static struct fhttpd *hj_srv;

static const int hj_statuses[] = { 200, 200, 200, 200, 201, 204, 301, 401, 404, 500 };
#define HJ_STATUS(b) hj_statuses[(b) % (sizeof hj_statuses / sizeof *hj_statuses)]

/* ---- the http probe ---------------------------------------------------------------------------- */

#define HJ_MAX_EXPECT 8

struct hj_expect {
    char *path, *value;
};

static void hj_probe(const uint8_t *data, size_t size)
{
    if (size < 2) return;
    int status = HJ_STATUS(data[1]);
    const char *text = (const char *)data + 2, *end = text + (size - 2);
    const char *sep = memmem(text, (size_t)(end - text), "\n\n", 2);
    const char *body = sep ? sep + 2 : text;
    size_t blen = (size_t)(end - body);
    struct hj_expect ex[HJ_MAX_EXPECT];
    size_t nex = 0;
    for (const char *l = text; sep && l < sep && nex < HJ_MAX_EXPECT;) {
        const char *nl = memchr(l, '\n', (size_t)(sep - l));
        const char *le = nl ? nl : sep;
        const char *eq = memchr(l, '=', (size_t)(le - l));
        if (eq && eq > l) {
            ex[nex].path = strndup(l, (size_t)(eq - l));
            ex[nex].value = strndup(eq + 1, (size_t)(le - eq - 1));
            nex++;
        }
        l = le + 1;
    }

    struct buf y;
    buf_init(&y, 1 << 16);
    buf_addf(&y, "{url: \"http://127.0.0.1:%d/p\"", hj_srv->port);
    if (nex) {
        buf_adds(&y, ", json: {");
        for (size_t i = 0; i < nex; i++) {
            buf_adds(&y, i ? ", " : "");
            buf_add_json_str(&y, ex[i].path);
            buf_adds(&y, ": ");
            buf_add_json_str(&y, ex[i].value);
        }
        buf_adds(&y, "}");
    }
    buf_adds(&y, "}");
    struct diag d;
    diag_init(&d, "fuzz.yaml");
    struct node *n = node_parse(y.data, y.len, &d);
    void *cfg = NULL;
    if (!n || probe_http.parse(NULL, n, n, &cfg, &d) < 0) goto out; /* not a probe: nothing to check */

    hj_set(status, (const uint8_t *)body, blen);
    struct probe_inst pi = { .ops = &probe_http, .cfg = cfg };
    struct probe_obs obs;
    memset(&obs, 0, sizeof obs);
    char err[FL_ERR_LEN];
    int ret = probe_http.check(&pi, &obs, err);
    HJ_CHECK(ret == 0, "the server answered, yet the probe could not check: %s", err);
    HJ_CHECK(obs.outcome == PROBE_PASSED || obs.outcome == PROBE_FAILED, "an answer judged %d, not passed/failed",
             (int)obs.outcome);
    int ok = obs.outcome == PROBE_PASSED;
    HJ_CHECK(memchr(obs.observed, '\0', sizeof obs.observed), "observed not terminated");
    if (status / 100 != 2) HJ_CHECK(!ok, "passed on status %d", status);

    /* what the body means as JSON (the probe reads it as text: up to the first NUL) */
    size_t sent = status == 204 ? 0 : blen;
    char *btxt = strndup(body, sent);
    json_t *root = json_loads(btxt, 0, NULL);
    free(btxt);
    if (nex && !root) HJ_CHECK(!ok, "passed with json: expectations on a body that is not JSON");
    if (nex && root && json_is_object(root) && status / 100 == 2) {
        int all_simple_match = 1;
        for (size_t i = 0; i < nex; i++) {
            const char *p = ex[i].path;
            int plain = p[0] && !strchr(p, '.') && strlen(p) < 200;
            json_t *v = plain ? json_object_get(root, p) : NULL;
            if (plain && !v) HJ_CHECK(!ok, "passed though the reply has no field '%s'", p);
            const char *s = json_string_value(v);
            if (!(plain && s && strlen(s) < 100 && json_string_length(v) == strlen(s) && strcmp(s, ex[i].value) == 0))
                all_simple_match = 0;
        }
        if (all_simple_match) HJ_CHECK(ok, "failed though every field matches: %s", obs.observed);
    }
    json_decref(root);
    hj_set(503, NULL, 0);
out:
    if (cfg) probe_http.free_cfg(cfg);
    node_free(n);
    diag_release(&d);
    buf_release(&y);
    for (size_t i = 0; i < nex; i++) {
        free(ex[i].path);
        free(ex[i].value);
    }
}

/* ---- the load engine's login --------------------------------------------------------------------- */

/* the token the reply holds at the dotted path, per load.h: a non-empty string without line
 * breaks, or an integer; NULL when there is none */
static char *hj_expected_token(const uint8_t *body, size_t len, const char *field)
{
    json_t *root = json_loadb((const char *)body, len, 0, NULL);
    if (!root) return NULL;
    json_t *v = root;
    char *path = strdup(field), *save = NULL;
    for (char *seg = strtok_r(path, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, seg) : NULL;
    free(path);
    char *tok = NULL;
    const char *s = json_string_value(v);
    if (s && s[0] && !strpbrk(s, "\r\n")) tok = strdup(s);
    else if (json_is_integer(v)) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        tok = strdup(num);
    }
    json_decref(root);
    return tok;
}

/* wait (at most ms) until cond holds; hj.mu held */
static void hj_wait(int (*cond)(void), int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    while (!cond())
        if (pthread_cond_timedwait(&hj.cv, &hj.mu, &dl) == ETIMEDOUT) break;
}
static int hj_got_request(void) { return hj.requests > 0; }
static int hj_got_login(void) { return hj.logins > 0; }

static void hj_login(const uint8_t *data, size_t size)
{
    if (size < 2) return;
    int status = HJ_STATUS(data[1]);
    const char *text = (const char *)data + 2, *end = text + (size - 2);
    const char *nl = memchr(text, '\n', (size_t)(end - text));
    if (!nl || nl == text) return;
    char *field = strndup(text, (size_t)(nl - text));
    const uint8_t *body = (const uint8_t *)nl + 1;
    size_t blen = (size_t)(end - (const char *)body);

    struct buf y;
    buf_init(&y, 1 << 16);
    buf_addf(&y, "{name: fz, base_url: \"http://127.0.0.1:%d\", vus: 1, timeout: 5s, requests: [{path: /r}], "
                 "login: {request: {path: /login, json: {user: fuzz}}, token: ", hj_srv->port);
    buf_add_json_str(&y, field);
    buf_adds(&y, "}}");
    struct diag d;
    diag_init(&d, "fuzz.yaml");
    struct node *n = node_parse(y.data, y.len, &d);
    struct lg_block_cfg *cfg = n ? lg_block_parse(NULL, n, &d) : NULL;
    if (!cfg || d.n) goto out; /* not a block: nothing to check */

    char *want = status / 100 == 4 || status / 100 == 5 ? NULL
                 : hj_expected_token(body, status == 204 ? 0 : blen, field);
    hj_set(status, body, blen);
    char err[FL_ERR_LEN];
    struct lg *lg = lg_new(&cfg, 1, 1, err);
    HJ_CHECK(lg, "lg_new: %s", err);
    HJ_CHECK(lg_start(lg, fl_now_ns(), 10000, err) == 0, "lg_start: %s", err);
    pthread_mutex_lock(&hj.mu);
    if (want) {
        hj_wait(hj_got_request, 5000);
    } else { /* a wrong token would show up at once */
        hj_wait(hj_got_login, 5000);
        hj_wait(hj_got_request, 5);
    }
    int seen = hj.requests > 0, had_auth = hj.had_auth;
    char *auth = hj.auth ? strdup(hj.auth) : NULL;
    pthread_mutex_unlock(&hj.mu);
    lg_stop(lg);
    lg_free(lg);
    hj_set(503, NULL, 0);
    if (want) {
        HJ_CHECK(seen, "the login reply holds token '%s' at '%s', but no request followed", want, field);
        char *exp = fl_asprintf("Bearer %s", want);
        HJ_CHECK(had_auth && auth && strcmp(auth, exp) == 0, "token at '%s': sent '%s', expected '%s'", field,
                 auth ? auth : "(no Authorization header)", exp);
        free(exp);
    } else {
        HJ_CHECK(!seen || !had_auth, "no usable token at '%s', yet the request carried '%s'", field,
                 auth ? auth : "");
    }
    free(auth);
    free(want);
out:
    lg_block_free(cfg);
    node_free(n);
    diag_release(&d);
    buf_release(&y);
    free(field);
}

int FUZZ_HTTP_ENTRY(const uint8_t *data, size_t size);
int FUZZ_HTTP_ENTRY(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    if (!hj_srv) hj_srv = fh_start_tcp(hj_handle, NULL);
    if (data[0] & 1) hj_login(data, size);
    else hj_probe(data, size);
    fh_quiesce(5000);
    return 0;
}
