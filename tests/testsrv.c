/* testsrv.c -- a real HTTP server for tests (libmicrohttpd), with knobs to slow down and fail. */
#include "testsrv.h"
#include "harness.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TS_MAX_PATHS 32
#define TS_MAX_TOKENS 4096

struct testsrv {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    int delay_ms;
    int status;
    int fail_pct;                  /* this share of requests answers 503 (evenly spread) */
    int fail_acc;
    char paths[TS_MAX_PATHS][64];
    uint64_t hits[TS_MAX_PATHS];
    int tokens[TS_MAX_TOKENS];     /* live token numbers (1 = live) */
    int next_token;
    uint64_t logins;
};

struct req { struct MHD_PostProcessor *pp; char user[64], pass[64]; char *body; size_t blen; };

static void count_hit(struct testsrv *s, const char *path)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < TS_MAX_PATHS; i++) {
        if (!s->paths[i][0]) snprintf(s->paths[i], sizeof s->paths[i], "%s", path);
        if (!strcmp(s->paths[i], path)) { s->hits[i]++; break; }
    }
    pthread_mutex_unlock(&s->mu);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {}
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *ctype, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *ctype, const char *enc, const char *data, uint64_t off, size_t size)
{
    (void)kind; (void)filename; (void)ctype; (void)enc; (void)off;
    struct req *rq = cls;
    char *dst = !strcmp(key, "username") ? rq->user : !strcmp(key, "password") ? rq->pass : NULL;
    if (dst) {
        size_t l = strlen(dst);
        size_t c = size < 63 - l ? size : 63 - l;
        memcpy(dst + l, data, c);
        dst[l + c] = '\0';
    }
    return MHD_YES;
}

struct echo_ctx { char *buf; size_t len, cap; };
static enum MHD_Result hdr_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct echo_ctx *e = cls;
    int n = snprintf(e->buf + e->len, e->cap - e->len, "%s: %s\n", key, value);
    if (n > 0 && (size_t)n < e->cap - e->len) e->len += (size_t)n;
    return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct testsrv *s = cls;
    struct req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        if (!strcmp(method, "POST")) rq->pp = MHD_create_post_processor(c, 4096, post_iter, rq);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->pp) MHD_post_process(rq->pp, upload, *upload_size);
        char *nb = realloc(rq->body, rq->blen + *upload_size + 1);
        if (nb) {
            rq->body = nb;
            memcpy(rq->body + rq->blen, upload, *upload_size);
            rq->blen += *upload_size;
            rq->body[rq->blen] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    count_hit(s, url);
    if (!strcmp(url, "/control")) { /* the knobs, over HTTP (a plan's exec fault turns them); never fails */
        const char *fail = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail");
        if (fail) testsrv_set_fail_pct(s, atoi(fail));
        return reply(c, 200, "text/plain", "ok\n");
    }
    pthread_mutex_lock(&s->mu);
    int delay = s->delay_ms, forced = s->status, fail = 0;
    if (s->fail_pct > 0) {
        s->fail_acc += s->fail_pct;
        if (s->fail_acc >= 100) { s->fail_acc -= 100; fail = 1; }
    }
    pthread_mutex_unlock(&s->mu);
    if (delay > 0) sleep_ms(delay);
    if (forced) return reply(c, forced, "text/plain", "forced status\n");
    if (fail) return reply(c, 503, "text/plain", "failing on purpose\n");

    if (!strcmp(url, "/ok")) return reply(c, 200, "text/plain", "ok\n");
    if (!strcmp(url, "/delay")) {
        const char *ms = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ms");
        int d = ms ? atoi(ms) : 0;
        if (d > 0 && d < 120000) sleep_ms(d);
        return reply(c, 200, "text/plain", "ok\n");
    }
    if (!strcmp(url, "/status")) {
        const char *code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
        int st = code ? atoi(code) : 200;
        if (st < 100 || st > 599) st = 400;
        return reply(c, st, "text/plain", "status\n");
    }
    if (!strcmp(url, "/json"))
        return reply(c, 200, "application/json", "{\"status\":\"ok\",\"n\":42,\"nested\":{\"name\":\"faultline\"}}");
    if (!strcmp(url, "/login") && !strcmp(method, "POST")) {
        if (strcmp(rq->pass, "secret") != 0) return reply(c, 401, "application/json", "{\"detail\":\"bad credentials\"}");
        pthread_mutex_lock(&s->mu);
        int n = s->next_token++ % TS_MAX_TOKENS;
        s->tokens[n] = 1;
        s->logins++;
        pthread_mutex_unlock(&s->mu);
        char body[128];
        snprintf(body, sizeof body, "{\"access_token\":\"tok-%d\",\"token_type\":\"bearer\"}", n);
        return reply(c, 200, "application/json", body);
    }
    if (!strcmp(url, "/auth")) {
        const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        int ok = 0;
        if (a && !strncmp(a, "Bearer tok-", 11)) {
            int n = atoi(a + 11);
            pthread_mutex_lock(&s->mu);
            ok = n >= 0 && n < TS_MAX_TOKENS && s->tokens[n];
            pthread_mutex_unlock(&s->mu);
        }
        return ok ? reply(c, 200, "application/json", "{\"ok\":true}") : reply(c, 401, "application/json", "{\"detail\":\"unauthorized\"}");
    }
    if (!strcmp(url, "/expire")) {
        pthread_mutex_lock(&s->mu);
        memset(s->tokens, 0, sizeof s->tokens);
        pthread_mutex_unlock(&s->mu);
        return reply(c, 200, "text/plain", "expired\n");
    }
    if (!strcmp(url, "/echo")) {
        char buf[8192];
        struct echo_ctx e = { buf, 0, sizeof buf };
        e.len = (size_t)snprintf(buf, sizeof buf, "%s %s\n", method, url);
        MHD_get_connection_values(c, MHD_HEADER_KIND, hdr_iter, &e);
        snprintf(buf + e.len, sizeof buf - e.len, "\n%s", rq->body ? rq->body : "");
        return reply(c, 200, "text/plain", buf);
    }
    return reply(c, 404, "text/plain", "not found\n");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)c; (void)toe;
    struct req *rq = *con_cls;
    if (!rq) return;
    if (rq->pp) MHD_destroy_post_processor(rq->pp);
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

struct testsrv *testsrv_start(int port)
{
    struct testsrv *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                            (uint16_t)port, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!s->d) { free(s); return NULL; }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    return s;
}

int testsrv_port(const struct testsrv *s) { return s->port; }
void testsrv_set_delay_ms(struct testsrv *s, int ms) { pthread_mutex_lock(&s->mu); s->delay_ms = ms; pthread_mutex_unlock(&s->mu); }
void testsrv_set_status(struct testsrv *s, int st) { pthread_mutex_lock(&s->mu); s->status = st; pthread_mutex_unlock(&s->mu); }
void testsrv_set_fail_pct(struct testsrv *s, int pct)
{
    pthread_mutex_lock(&s->mu);
    s->fail_pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
    s->fail_acc = 0;
    pthread_mutex_unlock(&s->mu);
}

uint64_t testsrv_hits(struct testsrv *s, const char *path)
{
    uint64_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < TS_MAX_PATHS; i++) if (!strcmp(s->paths[i], path)) n = s->hits[i];
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t testsrv_logins(struct testsrv *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->logins;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void testsrv_stop(struct testsrv *s)
{
    if (!s) return;
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

struct testsrv *testsrv_must(int *port)
{
    struct testsrv *s = testsrv_start(0);
    ASSERT_MSG(s != NULL, "cannot start the test HTTP server");
    if (port) *port = testsrv_port(s);
    return s;
}
