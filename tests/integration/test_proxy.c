/* test_proxy.c -- the TCP fault proxy against a real HTTP server (testsrv) and a real TCP
 * byte source: each toxic's effect measured, and every removal leaving healthy
 * connections alive. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fault.h"
#include "harness.h"
#include "netfx.h"
#include "node.h"
#include "plan.h"
#include "proxy.h"
#include "proxy_engine.h"
#include "proxy_toxics.h"
#include "testsrv.h"

TEST_FILE_USES("alone"); /* asserts added latency to the millisecond */

static int port_of(const struct px *px)
{
    const char *c = strrchr(px_address(px), ':');
    return c ? atoi(c + 1) : 0;
}

/* wait for fd readable up to ms; 1 readable, 0 timeout */
static int wait_readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, ms) > 0;
}

/* One HTTP/1.1 exchange on a keep-alive connection. Returns the status, or -1 on a
 * connection error (errno kept), -2 on timeout. body (may be NULL) gets the body. */
static int http_req(int fd, const char *method, const char *path, int timeout_ms, char *body, size_t bodylen)
{
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) return -1;
    static char buf[1 << 16];
    size_t len = 0;
    double deadline = nfx_now_ms() + timeout_ms;
    char *hend = NULL;
    long clen = -1;
    for (;;) {
        int left = (int)(deadline - nfx_now_ms());
        if (left <= 0 || !wait_readable(fd, left)) return -2;
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r < 0) return -1;
        if (r == 0) { errno = ECONNABORTED; return -1; }
        len += (size_t)r;
        buf[len] = '\0';
        if (!hend && (hend = strstr(buf, "\r\n\r\n"))) {
            char *cl = strcasestr(buf, "content-length:");
            clen = cl && cl < hend ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (hend && strcmp(method, "HEAD") == 0) clen = 0;
        if (hend && (long)(len - (size_t)(hend + 4 - buf)) >= clen) break;
    }
    if (body && bodylen) snprintf(body, bodylen, "%.*s", (int)clen, hend + 4);
    return atoi(buf + 9);
}

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) { double t = v[j]; v[j] = v[j - 1]; v[j - 1] = t; }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* median round trip of n GET /ok on one keep-alive connection */
static double median_rtt(int fd, int n)
{
    double v[64];
    for (int i = 0; i < n; i++) {
        double t0 = nfx_now_ms();
        int st = http_req(fd, "GET", "/ok", 5000, NULL, 0);
        ASSERT_EQ_INT(st, 200);
        v[i] = nfx_now_ms() - t0;
    }
    return median(v, n);
}

struct fixture {
    struct testsrv *srv;
    struct px_engine *e;
    struct px *px;
    int pport;
};

static void fx_start(struct fixture *f)
{
    char err[FL_ERR_LEN];
    f->srv = testsrv_start(0);
    ASSERT(f->srv);
    f->e = px_engine_new(err);
    ASSERT_MSG(f->e, "engine: %s", err);
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", testsrv_port(f->srv));
    f->px = px_listen(f->e, "127.0.0.1:0", up, err);
    ASSERT_MSG(f->px, "listen: %s", err);
    f->pport = port_of(f->px);
    ASSERT(f->pport > 0);
}

static void fx_stop(struct fixture *f)
{
    px_close(f->px);
    px_engine_free(f->e);
    testsrv_stop(f->srv);
}

static int add(struct fixture *f, struct px_toxic_cfg c)
{
    char err[FL_ERR_LEN];
    if (c.probability == 0) c.probability = 1;   /* add(): on every connection */
    int id = px_add_toxic(f->px, &c, err);
    ASSERT_MSG(id > 0, "add toxic: %s", err);
    return id;
}

static void del(struct fixture *f, int id)
{
    char err[FL_ERR_LEN];
    ASSERT_MSG(px_remove_toxic(f->px, id, err) == 0, "remove toxic: %s", err);
}

TEST(proxy_forwards_http_keepalive)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    ASSERT(fd >= 0);
    char body[256];
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, body, sizeof body), 200);
        ASSERT_EQ_STR(body, "ok\n");
    }
    ASSERT_EQ_INT(http_req(fd, "GET", "/status?code=418", 2000, NULL, 0), 418);
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), 5);
    struct px_stats s;
    px_stats(f.px, &s);
    ASSERT_EQ_INT(s.accepted, 1);
    ASSERT_EQ_INT(s.active, 1);
    ASSERT(s.bytes_up > 0 && s.bytes_down > 0);
    close(fd);
    fx_stop(&f);
}

TEST(proxy_latency_added_within_2ms)
{
    struct fixture f;
    fx_start(&f);
    int direct = nfx_tcp_connect(testsrv_port(f.srv));
    int fd = nfx_tcp_connect(f.pport);
    ASSERT(direct >= 0 && fd >= 0);
    median_rtt(direct, 5);   /* warm up */
    double base = median_rtt(direct, 20);
    median_rtt(fd, 3);
    /* added to a healthy keep-alive connection that stays open */
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_LATENCY, .latency_us = 50000, .probability = 1 });
    double slow = median_rtt(fd, 20);
    printf("    direct median %.3f ms, with 50ms latency %.3f ms (added %.3f)\n", base, slow, slow - base);
    ASSERT_NEAR(slow - base, 50.0, 2.0);
    del(&f, id);
    /* the same connection keeps working, fast again */
    double after = median_rtt(fd, 10);
    ASSERT_MSG(after < base + 2.0, "after removal %.3f ms vs direct %.3f ms", after, base);
    /* both directions: twice */
    id = add(&f, (struct px_toxic_cfg){ .kind = PX_LATENCY, .latency_us = 20000, .direction = PX_DIR_BOTH,
                                        .probability = 1 });
    double both = median_rtt(fd, 15);
    ASSERT_NEAR(both - base, 40.0, 2.0);
    del(&f, id);
    close(fd);
    close(direct);
    fx_stop(&f);
}

TEST(proxy_latency_jitter_bounds)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    ASSERT(fd >= 0);
    double base = median_rtt(fd, 10);
    add(&f, (struct px_toxic_cfg){ .kind = PX_LATENCY, .latency_us = 30000, .jitter_us = 10000, .probability = 1 });
    double v[30];
    for (int i = 0; i < 30; i++) {
        double t0 = nfx_now_ms();
        ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
        v[i] = nfx_now_ms() - t0 - base;
    }
    median(v, 30);   /* sorts */
    /* 10th..90th percentile: one scheduling hiccup on a busy machine does not decide */
    double lo = v[3], hi = v[26];
    printf("    added latency with 30ms +- 10ms jitter: p10 %.2f .. p90 %.2f ms (min %.2f, max %.2f)\n", lo, hi, v[0], v[29]);
    ASSERT_MSG(lo >= 19.0 && hi <= 41.0, "p10..p90 %.2f..%.2f outside 20..40 ms", lo, hi);
    ASSERT_MSG(v[0] >= 19.0, "min %.2f below latency - jitter", v[0]);
    ASSERT_MSG(hi - lo > 5.0, "no visible jitter: %.2f..%.2f", lo, hi);
    close(fd);
    fx_stop(&f);
}

/* a TCP source: sends `bytes` to the first client, then closes */
struct source { int lfd, port; size_t bytes; pthread_t th; };

static void *source_main(void *arg)
{
    struct source *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    static char chunk[65536];
    size_t sent = 0;
    while (sent < s->bytes) {
        size_t k = s->bytes - sent < sizeof chunk ? s->bytes - sent : sizeof chunk;
        for (size_t i = 0; i < k; i++) chunk[i] = (char)((sent + i) % 251);   /* checkable order */
        ssize_t n = send(fd, chunk, k, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += (size_t)n;   /* a short send: the next round regenerates from `sent` */
    }
    close(fd);
    return NULL;
}

static void source_start(struct source *s, size_t bytes)
{
    s->bytes = bytes;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    ASSERT(bind(s->lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(s->lfd, 4) == 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &l);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, source_main, s);
}

TEST(proxy_bandwidth_within_10pct)
{
    char err[FL_ERR_LEN];
    struct source src;
    source_start(&src, 1000000);
    struct px_engine *e = px_engine_new(err);
    ASSERT(e);
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", src.port);
    struct px *px = px_listen(e, "127.0.0.1:0", up, err);
    ASSERT_MSG(px, "%s", err);
    struct px_toxic_cfg c = { .kind = PX_BANDWIDTH, .rate = 500000, .probability = 1 };
    ASSERT(px_add_toxic(px, &c, err) > 0);
    int fd = nfx_tcp_connect(port_of(px));
    ASSERT(fd >= 0);
    static char buf[65536];
    size_t got = 0;
    double t0 = nfx_now_ms();
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    double secs = (nfx_now_ms() - t0) / 1000;
    double rate = got / secs;
    printf("    1000000 bytes at 500000 B/s: %zu bytes in %.3f s = %.0f B/s\n", got, secs, rate);
    ASSERT_EQ_INT(got, 1000000);
    ASSERT_NEAR(rate, 500000, 50000);
    close(fd);
    pthread_join(src.th, NULL);
    close(src.lfd);
    px_close(px);
    px_engine_free(e);
}

TEST(proxy_timeout_holds_then_flushes)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_TIMEOUT });
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 700, NULL, 0), -2);   /* held: no answer */
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), 1);                  /* never forwarded */
    /* a new connection is held too */
    int fd2 = nfx_tcp_connect(f.pport);
    ASSERT(fd2 >= 0);
    ASSERT_EQ_INT(http_req(fd2, "GET", "/ok", 300, NULL, 0), -2);
    del(&f, id);
    /* what was held is forwarded: both answers arrive on the same connections */
    char buf[1024];
    ASSERT(wait_readable(fd, 2000));
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    ASSERT(n > 12);
    buf[n] = '\0';
    ASSERT_CONTAINS(buf, "HTTP/1.1 200");
    ASSERT(wait_readable(fd2, 2000));
    n = recv(fd2, buf, sizeof buf - 1, 0);
    ASSERT(n > 12);
    buf[n] = '\0';
    ASSERT_CONTAINS(buf, "HTTP/1.1 200");
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), 3);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    close(fd);
    close(fd2);
    fx_stop(&f);
}

TEST(proxy_reset_gives_econnreset)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_RESET });
    /* the existing connection was reset */
    char b[16];
    ASSERT(wait_readable(fd, 2000));
    errno = 0;
    ssize_t n = recv(fd, b, sizeof b, 0);
    ASSERT_MSG(n < 0 && errno == ECONNRESET, "existing: recv=%zd errno=%s", n, strerror(errno));
    close(fd);
    /* a new one is accepted and reset */
    int fd2 = nfx_tcp_connect(f.pport);
    ASSERT(fd2 >= 0);
    ASSERT(wait_readable(fd2, 2000));
    errno = 0;
    n = recv(fd2, b, sizeof b, 0);
    ASSERT_MSG(n < 0 && errno == ECONNRESET, "new: recv=%zd errno=%s", n, strerror(errno));
    close(fd2);
    del(&f, id);
    int fd3 = nfx_tcp_connect(f.pport);
    ASSERT_EQ_INT(http_req(fd3, "GET", "/ok", 2000, NULL, 0), 200);
    close(fd3);
    struct px_stats s;
    px_stats(f.px, &s);
    ASSERT_EQ_INT(s.reset, 1);
    ASSERT_EQ_INT(s.refused, 1);
    fx_stop(&f);
}

TEST(proxy_down_refuses_new_keeps_existing)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_DOWN });
    errno = 0;
    int fd2 = nfx_tcp_connect(f.pport);
    ASSERT_MSG(fd2 < 0 && errno == ECONNREFUSED, "connect while down: fd=%d errno=%s", fd2, strerror(errno));
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);   /* existing keeps working */
    struct px_stats s;
    px_stats(f.px, &s);
    ASSERT_EQ_INT(s.listening, 0);
    del(&f, id);
    fd2 = nfx_tcp_connect(f.pport);
    ASSERT(fd2 >= 0);
    ASSERT_EQ_INT(http_req(fd2, "GET", "/ok", 2000, NULL, 0), 200);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    close(fd);
    close(fd2);
    fx_stop(&f);
}

/* A stuck engine must not hang the caller: a call gives up after the timeout, and the
 * fallback (px_sever) cuts the proxy's clients off instead of leaving them waiting behind
 * a toxic nobody can lift. Once the engine runs again it settles what it was handed. */
TEST(proxy_stuck_engine_times_out_and_severs)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    ASSERT(fd >= 0);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_TIMEOUT });
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 300, NULL, 0), -2);     /* held by the toxic */
    px_engine_set_timeout(f.e, 300);
    double t0 = nfx_now_ms();
    px_engine_stall(f.e, 2000);
    usleep(50 * 1000);                                                 /* the engine is asleep now */
    char err[FL_ERR_LEN] = "";
    int rc = px_remove_toxic(f.px, id, err);
    double took = nfx_now_ms() - t0;
    ASSERT_EQ_INT(rc, PX_STUCK);
    ASSERT_MSG(strstr(err, "did not answer within 300 ms"), "err: %s", err);
    ASSERT_MSG(took >= 300 && took < 1500, "gave up after %.0f ms", took);
    struct px_stats s;
    ASSERT_EQ_INT(px_stats(f.px, &s), PX_STUCK);
    ASSERT_EQ_INT(s.accepted, 0);                                      /* zeroed, not garbage */
    /* an add that timed out is taken back: it must never take effect later */
    ASSERT_EQ_INT(px_add_toxic(f.px, &(struct px_toxic_cfg){ .kind = PX_DOWN, .probability = 1 }, err), PX_STUCK);
    ASSERT_EQ_INT(px_sever(f.px), 1);
    /* the client sees its connection end at once, while the engine still sleeps */
    char c;
    ASSERT_MSG(wait_readable(fd, 500), "client still waiting after the sever");
    ASSERT(recv(fd, &c, 1, 0) <= 0);
    errno = 0;
    int fd2 = nfx_tcp_connect(f.pport);
    ASSERT_MSG(fd2 < 0 && errno == ECONNREFUSED, "connect after sever: fd=%d errno=%s", fd2, strerror(errno));
    ASSERT_MSG(nfx_now_ms() - t0 < 1800, "the checks above ran after the stall (%.0f ms)", nfx_now_ms() - t0);
    close(fd);
    double rest = t0 + 2300 - nfx_now_ms();   /* until the stall is over */
    if (rest > 0) usleep((useconds_t)(rest * 1000));
    px_engine_set_timeout(f.e, 0);
    /* awake again: the severed listener is closed (not spun on); the toxic whose removal was
     * taken back is still there (holding what the severed connection had), the add never came */
    ASSERT_EQ_INT(px_stats(f.px, &s), 0);
    ASSERT_EQ_INT(s.listening, 0);
    ASSERT_EQ_INT(s.toxics, 1);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    usleep(300 * 1000);
    getrusage(RUSAGE_SELF, &r1);
    double cpu_ms = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1e3 + (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e3 +
                    (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e3 + (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e3;
    ASSERT_MSG(cpu_ms < 150, "the idle engine used %.0f ms of CPU in 300 ms (spinning?)", cpu_ms);
    del(&f, id);
    /* what the toxic held meets the severed sockets: the connection ends */
    for (int i = 0; i < 100 && px_stats(f.px, &s) == 0 && s.active; i++) usleep(10 * 1000);
    ASSERT_EQ_INT(s.toxics, 0);
    ASSERT_EQ_INT(s.active, 0);
    fx_stop(&f);
}

TEST(proxy_down_partial_probability_resets_some)
{
    struct fixture f;
    fx_start(&f);
    add(&f, (struct px_toxic_cfg){ .kind = PX_DOWN, .probability = 0.5 });
    int ok = 0, refused = 0;
    for (int i = 0; i < 60; i++) {
        int fd = nfx_tcp_connect(f.pport);
        ASSERT(fd >= 0);
        int st = http_req(fd, "GET", "/ok", 2000, NULL, 0);
        if (st == 200) ok++; else refused++;
        close(fd);
    }
    printf("    down with probability 0.5: %d served, %d reset\n", ok, refused);
    ASSERT(ok >= 10 && refused >= 10);
    fx_stop(&f);
}

TEST(proxy_probability_zero_never_applies)
{
    struct fixture f;
    fx_start(&f);
    char err[FL_ERR_LEN];
    struct px_toxic_cfg lat = { .kind = PX_LATENCY, .latency_us = 300000, .probability = 0 };
    int idl = px_add_toxic(f.px, &lat, err);
    ASSERT(idl > 0);
    struct px_toxic_cfg he = { .kind = PX_HTTP_ERROR, .status = 503, .share = 1, .probability = 0 };
    ASSERT(px_add_toxic(f.px, &he, err) > 0);
    for (int i = 0; i < 10; i++) {
        int fd = nfx_tcp_connect(f.pport);
        double t0 = nfx_now_ms();
        ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
        ASSERT(nfx_now_ms() - t0 < 200);
        close(fd);
    }
    del(&f, idl);
    fx_stop(&f);
}

TEST(proxy_http_error_share_1)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_HTTP_ERROR, .status = 503, .share = 1 });
    char body[256];
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, body, sizeof body), 503);   /* keep-alive kept */
        ASSERT_CONTAINS(body, "injected 503");
    }
    ASSERT_EQ_INT(http_req(fd, "HEAD", "/ok", 2000, NULL, 0), 503);
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), 1);   /* none forwarded */
    del(&f, id);
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, body, sizeof body), 200);   /* same connection */
    ASSERT_EQ_STR(body, "ok\n");
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), 2);
    close(fd);
    fx_stop(&f);
}

TEST(proxy_http_error_share_half)
{
    struct fixture f;
    fx_start(&f);
    add(&f, (struct px_toxic_cfg){ .kind = PX_HTTP_ERROR, .status = 502, .share = 0.5 });
    int fd = nfx_tcp_connect(f.pport);
    int n503 = 0, n200 = 0;
    for (int i = 0; i < 200; i++) {
        int st = http_req(fd, "GET", "/ok", 2000, NULL, 0);
        if (st == 502) n503++;
        else if (st == 200) n200++;
        else ASSERT_MSG(0, "request %d: status %d", i, st);
    }
    printf("    share 0.5 of 200 requests: %d answered 502, %d forwarded\n", n503, n200);
    /* binomial(200, 0.5): sd ~7; 60..140 is more than 5 sd either side */
    ASSERT(n503 >= 60 && n503 <= 140);
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), n200);
    close(fd);
    fx_stop(&f);
}

TEST(proxy_http_error_post_body_consumed)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_HTTP_ERROR, .status = 503, .share = 1 });
    /* a request with a body, then a chunked one: both answered, stream stays in sync */
    const char *reqs = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
                       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    ASSERT(send(fd, reqs, strlen(reqs), 0) == (ssize_t)strlen(reqs));
    char buf[4096];
    size_t len = 0;
    double deadline = nfx_now_ms() + 2000;
    int count = 0;
    while (nfx_now_ms() < deadline && count < 2) {
        if (!wait_readable(fd, 200)) continue;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        ASSERT(n > 0);
        len += (size_t)n;
        buf[len] = '\0';
        count = 0;
        for (char *p = buf; (p = strstr(p, "HTTP/1.1 503")); p++) count++;
    }
    ASSERT_EQ_INT(count, 2);
    del(&f, id);
    char body[256];
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, body, sizeof body), 200);
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/echo"), 0);
    close(fd);
    fx_stop(&f);
}

TEST(proxy_http_delay_holds_headers)
{
    struct fixture f;
    fx_start(&f);
    int fd = nfx_tcp_connect(f.pport);
    double base = median_rtt(fd, 10);
    int id = add(&f, (struct px_toxic_cfg){ .kind = PX_HTTP_DELAY, .delay_us = 100000 });
    double slow = median_rtt(fd, 7);
    printf("    http_delay 100ms: %.2f ms vs %.2f ms\n", slow, base);
    ASSERT_NEAR(slow - base, 100.0, 3.0);
    del(&f, id);
    double after = median_rtt(fd, 5);
    ASSERT(after < base + 3.0);
    close(fd);
    fx_stop(&f);
}

TEST(proxy_slow_close_delays_fin)
{
    struct fixture f;
    fx_start(&f);
    add(&f, (struct px_toxic_cfg){ .kind = PX_SLOW_CLOSE, .delay_us = 300000 });
    int fd = nfx_tcp_connect(f.pport);
    const char *req = "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT(send(fd, req, strlen(req), 0) > 0);
    char buf[1024];
    ASSERT(wait_readable(fd, 2000));
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    ASSERT(n > 0);
    double t0 = nfx_now_ms();
    /* the server closed at once; the client sees the close ~300 ms later */
    for (;;) {
        ASSERT(wait_readable(fd, 3000));
        n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
    }
    double dt = nfx_now_ms() - t0;
    printf("    close forwarded after %.1f ms\n", dt);
    ASSERT_EQ_INT(n, 0);
    ASSERT(dt >= 250 && dt < 1000);
    close(fd);
    fx_stop(&f);
}

/* a `proxy` target named "link" on a free port forwarding to a test server, opened, with
 * one client connection that got a 200 through it */
struct tfx {
    struct testsrv *srv;
    struct diag d;
    struct target t;
    const struct target_ops *to;
    struct node *spec;
    int lport, fd;
};

static void tfx_open(struct tfx *x)
{
    x->srv = testsrv_start(0);
    ASSERT(x->srv);
    diag_init(&x->d, "test");
    x->lport = th_free_port();
    char yaml[256];
    snprintf(yaml, sizeof yaml, "listen: 127.0.0.1:%d\nupstream: 127.0.0.1:%d\n", x->lport, testsrv_port(x->srv));
    x->spec = node_parse(yaml, strlen(yaml), &x->d);
    ASSERT(x->spec);
    x->to = target_find("proxy");
    ASSERT(x->to);
    x->t = (struct target){ .name = "link", .ops = x->to, .spec = x->spec };
    ASSERT_EQ_INT(x->to->parse(NULL, &x->t, x->spec, &x->d), 0);
    char err[FL_ERR_LEN];
    ASSERT_MSG(x->to->open(&x->t, NULL, err) == 0, "open: %s", err);
    x->fd = nfx_tcp_connect(x->lport);
    ASSERT(x->fd >= 0);
    ASSERT_EQ_INT(http_req(x->fd, "GET", "/ok", 2000, NULL, 0), 200);
}

static void tfx_close(struct tfx *x)
{
    x->to->close(&x->t, NULL);
    errno = 0;
    ASSERT(nfx_tcp_connect(x->lport) < 0);   /* closing the target closed its listener */
    close(x->fd);
    x->to->free(&x->t);
    node_free(x->spec);
    diag_release(&x->d);
    testsrv_stop(x->srv);
}

TEST(proxy_target_and_fault_kinds)
{
    /* the plan-facing side: target open/close, a fault step injected and reverted */
    struct tfx x;
    tfx_open(&x);
    char err[FL_ERR_LEN];

    const struct fault_ops *fo = fault_find("proxy.http_error");
    ASSERT(fo);
    const char *sy = "status: 504\nshare: 100%\n";
    struct node *step_n = node_parse(sy, strlen(sy), &x.d);
    void *cfg = NULL;
    ASSERT_EQ_INT(fo->parse(NULL, step_n, &cfg, &x.d), 0);
    struct fault_step step = { .name = "err", .probability = 1.0, .for_ms = -1 };
    struct fault_inst fi = { .ops = fo, .step = &step, .target = &x.t, .cfg = cfg };
    ASSERT_MSG(fo->inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(http_req(x.fd, "GET", "/ok", 2000, NULL, 0), 504);
    json_t *rec = fo->save(&fi);
    ASSERT(rec);
    char *js = json_dumps(rec, JSON_COMPACT);
    ASSERT_CONTAINS(js, "toxic_id");
    ASSERT_CONTAINS(js, "listen");
    free(js);
    struct buf b;
    buf_init(&b, 0);
    fo->describe(&fi, &b);
    ASSERT_CONTAINS(b.data, "504");
    buf_release(&b);
    /* the journal path reaches the in-process proxy */
    ASSERT_MSG(fault_reconcile_rec(fo, rec, NULL, NULL, err) == 0, "reconcile: %s", err);
    ASSERT_EQ_INT(http_req(x.fd, "GET", "/ok", 2000, NULL, 0), 200);
    /* and the run's own revert afterwards finds it gone: still fine */
    ASSERT_MSG(fo->revert(&fi, err) == 0, "revert: %s", err);
    json_decref(rec);
    fo->free_state(fi.state);
    fo->free_cfg(cfg);

    /* bad step values are plan errors, with no I/O */
    const char *bad = "rate: 12 parsecs\n";
    struct node *bn = node_parse(bad, strlen(bad), &x.d);
    size_t before = x.d.n;
    ASSERT(fault_find("proxy.bandwidth")->parse(NULL, bn, &cfg, &x.d) < 0);
    ASSERT(x.d.n > before);
    node_free(bn);

    node_free(step_n);
    tfx_close(&x);
}

/* the fault's revert against a stuck engine: it fails (the run exits 4), says why, and
 * falls back to cutting the proxy's clients off */
TEST(proxy_fault_revert_on_stuck_engine_cuts_clients_off)
{
    struct tfx x;
    tfx_open(&x);
    struct px *px = proxy_target_px(&x.t);
    ASSERT(px);
    char err[FL_ERR_LEN];
    const struct fault_ops *fo = fault_find("proxy.timeout");
    ASSERT(fo);
    struct node *step_n = node_parse("{}", 2, &x.d);
    void *cfg = NULL;
    ASSERT_EQ_INT(fo->parse(NULL, step_n, &cfg, &x.d), 0);
    struct fault_step step = { .name = "hold", .probability = 1.0, .for_ms = -1 };
    struct fault_inst fi = { .ops = fo, .step = &step, .target = &x.t, .cfg = cfg };
    ASSERT_MSG(fo->inject(&fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(http_req(x.fd, "GET", "/ok", 300, NULL, 0), -2);
    struct px_engine *e = px_engine_of(px);
    px_engine_set_timeout(e, 300);
    double t0 = nfx_now_ms();
    px_engine_stall(e, 1500);
    ASSERT(fo->revert(&fi, err) < 0);
    ASSERT_CONTAINS(err, "did not answer");
    ASSERT_CONTAINS(err, "dropped its 1 connection and refused new ones");
    ASSERT_MSG(wait_readable(x.fd, 300), "client still waiting after the failed revert");
    char c;
    ASSERT(recv(x.fd, &c, 1, 0) <= 0);
    ASSERT_MSG(nfx_now_ms() - t0 < 1300, "the revert returned after the stall (%.0f ms)", nfx_now_ms() - t0);
    double rest = t0 + 1800 - nfx_now_ms();   /* until the stall is over */
    if (rest > 0) usleep((useconds_t)(rest * 1000));
    px_engine_set_timeout(e, 0);
    fo->free_state(fi.state);
    fo->free_cfg(cfg);
    node_free(step_n);
    tfx_close(&x);
}

TEST(proxy_many_connections_one_thread)
{
    struct fixture f;
    fx_start(&f);
    enum { N = 100 };
    int fds[N];
    for (int i = 0; i < N; i++) { fds[i] = nfx_tcp_connect(f.pport); ASSERT(fds[i] >= 0); }
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < N; i++) ASSERT_EQ_INT(http_req(fds[i], "GET", "/ok", 3000, NULL, 0), 200);
    struct px_stats s;
    px_stats(f.px, &s);
    ASSERT_EQ_INT(s.active, N);
    for (int i = 0; i < N; i++) close(fds[i]);
    /* closed connections are reaped */
    for (int i = 0; i < 100; i++) {
        px_stats(f.px, &s);
        if (s.active == 0) break;
        usleep(20000);
    }
    ASSERT_EQ_INT(s.active, 0);
    fx_stop(&f);
}

TEST(proxy_cli_standalone_until_sigint)
{
    struct testsrv *srv = testsrv_start(0);
    ASSERT(srv);
    char help[4096];
    th_sh(help, sizeof help, "'%s' proxy --help 2>&1", th_faultline());
    if (!strstr(help, "--upstream")) SKIP("this faultline binary has no 'proxy' command linked in");
    int lport = th_free_port();
    char la[64], ua[64];
    snprintf(la, sizeof la, "127.0.0.1:%d", lport);
    snprintf(ua, sizeof ua, "127.0.0.1:%d", testsrv_port(srv));
    pid_t pid = fork();
    if (pid == 0) {
        execl(th_faultline(), "faultline", "proxy", "--listen", la, "--upstream", ua, "--toxic",
              "latency=40ms,direction=downstream", "--toxic", "http_error=503,share=0", (char *)NULL);
        _exit(127);
    }
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = nfx_tcp_connect(lport);
        if (fd < 0) usleep(20000);
    }
    ASSERT_MSG(fd >= 0, "faultline proxy did not listen on %s", la);
    double t0 = nfx_now_ms();
    ASSERT_EQ_INT(http_req(fd, "GET", "/ok", 2000, NULL, 0), 200);
    double dt = nfx_now_ms() - t0;
    ASSERT_MSG(dt >= 39 && dt < 80, "round trip %.1f ms with 40ms latency", dt);
    close(fd);
    kill(pid, SIGINT);
    int st = 0;
    ASSERT(waitpid(pid, &st, 0) == pid);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 0);
    ASSERT(nfx_tcp_connect(lport) < 0);
    /* a bad toxic is a usage error */
    char out[2048];
    int rc = th_sh(out, sizeof out, "'%s' proxy --listen %s --upstream %s --toxic latency=fast 2>&1", th_faultline(), la, ua);
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "fast");
    testsrv_stop(srv);
}

TEST(proxy_bulk_transfer_intact_across_toxic_changes)
{
    /* 64 MB through the splice fast path while toxics come and go: every byte, in order */
    char err[FL_ERR_LEN];
    struct source src;
    source_start(&src, 64u << 20);
    struct px_engine *e = px_engine_new(err);
    ASSERT(e);
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", src.port);
    struct px *px = px_listen(e, "127.0.0.1:0", up, err);
    ASSERT_MSG(px, "%s", err);
    int fd = nfx_tcp_connect(port_of(px));
    ASSERT(fd >= 0);
    static char buf[1 << 16];
    size_t got = 0;
    int id = 0, flips = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (char)((got + (size_t)i) % 251))
                ASSERT_MSG(0, "byte %zu is %d, expected %d", got + (size_t)i, buf[i], (int)((got + (size_t)i) % 251));
        got += (size_t)n;
        /* every ~4 MB switch between the fast path and a latency toxic */
        if (got / (4u << 20) > (size_t)flips) {
            flips++;
            if (id) { ASSERT(px_remove_toxic(px, id, err) == 0); id = 0; }
            else {
                struct px_toxic_cfg c = { .kind = PX_LATENCY, .latency_us = 1000, .probability = 1 };
                id = px_add_toxic(px, &c, err);
                ASSERT(id > 0);
            }
        }
    }
    ASSERT_EQ_INT(got, 64u << 20);
    ASSERT(flips >= 10);
    close(fd);
    pthread_join(src.th, NULL);
    close(src.lfd);
    px_close(px);
    px_engine_free(e);
}

TEST_T(proxy_plan_end_to_end, 60)
{
    /* a plan through `faultline run`: the proxy target listens for the run, two toxics are
       injected and reverted on the timeline, probes see the effect and its end */
    struct testsrv *srv = testsrv_start(0);
    ASSERT(srv);
    int lport = th_free_port();
    const char *dir = th_tmpdir();
    th_write_in(dir, "plan.yaml",
            "faultline: 1\n"
            "name: proxy-e2e\n"
            "duration: 3s\n"
            "targets:\n"
            "  link: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
            "method:\n"
            "  - { name: err, at: 500ms, fault: proxy.http_error, target: link, status: 503, for: 1500ms }\n"
            "  - { name: slow, at: 500ms, fault: proxy.latency, target: link, latency: 100ms, for: 1500ms }\n"
            "probes:\n"
            "  - name: errors-seen\n"
            "    during: err\n"
            "    every: 300ms\n"
            "    http: { url: \"http://127.0.0.1:%d/ok\", status: 503 }\n"
            "  - name: healthy-after\n"
            "    http: { url: \"http://127.0.0.1:%d/ok\", status: 200 }\n",
            lport, testsrv_port(srv), lport, lport);
    char out[16384];
    int rc = th_fl(dir, "run -q -o report plan.yaml", out, sizeof out);
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    ASSERT_CONTAINS(out, "passed");
    /* every request during the window was answered by the proxy, none reached the server
       except the final healthy probe's */
    ASSERT_EQ_INT(testsrv_hits(srv, "/ok"), 1);
    char json[65536];
    th_sh(json, sizeof json, "cat '%s/report/run.json'", dir);
    ASSERT_CONTAINS(json, "proxy.http_error");
    ASSERT_CONTAINS(json, "remove the toxic");
    char jr[8192];
    th_sh(jr, sizeof jr, "cat '%s/journal.jsonl'", dir);
    ASSERT_CONTAINS(jr, "\"toxic_id\"");   /* what reconcile uses */
    /* the proxy is gone with the run */
    ASSERT(nfx_tcp_connect(lport) < 0);
    testsrv_stop(srv);
}

/* ---- toxics of the table added with #24: slicer, limit_data, HTTP match and first -------- */
static int fx_source(struct source *src, size_t bytes, struct px_engine **e, struct px **px)
{
    char err[FL_ERR_LEN];
    source_start(src, bytes);
    *e = px_engine_new(err);
    ASSERT(*e);
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", src->port);
    *px = px_listen(*e, "127.0.0.1:0", up, err);
    ASSERT_MSG(*px, "%s", err);
    return port_of(*px);
}

static void fx_source_stop(struct source *src, struct px_engine *e, struct px *px)
{
    pthread_join(src->th, NULL);
    close(src->lfd);
    px_close(px);
    px_engine_free(e);
}

TEST(proxy_slicer_pieces_byte_exact)
{
    /* 40 000 bytes cut into pieces of 400 +- 100, 2 ms apart: every byte in order, in >= 80
     * pieces that take >= 160 ms (unsliced, it takes ~1 ms) */
    struct source src;
    struct px_engine *e;
    struct px *px;
    int port = fx_source(&src, 40000, &e, &px);
    char err[FL_ERR_LEN];
    struct px_toxic_cfg c;
    px_toxic_defaults(&c, PX_SLICER);
    c.average_size = 400;
    c.size_variation = 100;
    c.delay_us = 2000;
    ASSERT_MSG(px_add_toxic(px, &c, err) > 0, "%s", err);
    int fd = nfx_tcp_connect(port);
    ASSERT(fd >= 0);
    static char buf[65536];
    size_t got = 0, reads = 0;
    double t0 = nfx_now_ms();
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (char)((got + (size_t)i) % 251)) ASSERT_MSG(0, "byte %zu out of order", got + (size_t)i);
        got += (size_t)n;
        reads++;
    }
    double ms = nfx_now_ms() - t0;
    printf("    40000 bytes sliced: %zu reads in %.0f ms (%.0f bytes a read)\n", reads, ms, (double)got / reads);
    ASSERT_EQ_INT(got, 40000);
    ASSERT_MSG(ms >= 150, "pieces 2 ms apart took only %.0f ms", ms);
    /* reads coalesce pieces when the reader lags (a loaded machine): the time is the measure */
    ASSERT_MSG(reads >= 10, "%zu reads: not sliced", reads);
    close(fd);
    fx_source_stop(&src, e, px);
}

TEST(proxy_limit_data_closes_after_exact_bytes)
{
    /* 1 MB offered, limit 100 000 bytes downstream: the client reads exactly 100 000, in
     * order, then the close */
    struct source src;
    struct px_engine *e;
    struct px *px;
    int port = fx_source(&src, 1u << 20, &e, &px);
    char err[FL_ERR_LEN];
    struct px_toxic_cfg c;
    px_toxic_defaults(&c, PX_LIMIT_DATA);
    c.bytes = 100000;
    ASSERT_MSG(px_add_toxic(px, &c, err) > 0, "%s", err);
    int fd = nfx_tcp_connect(port);
    ASSERT(fd >= 0);
    static char buf[65536];
    size_t got = 0;
    for (;;) {
        ASSERT_MSG(wait_readable(fd, 3000), "no close after %zu bytes", got);
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (char)((got + (size_t)i) % 251)) ASSERT_MSG(0, "byte %zu out of order", got + (size_t)i);
        got += (size_t)n;
    }
    printf("    limit_data 100000: the client read %zu bytes, then the close\n", got);
    ASSERT_EQ_INT(got, 100000);
    close(fd);
    fx_source_stop(&src, e, px);
}

/* send a batch of pipelined GETs; read the statuses of the answers in order */
static int pipelined(int fd, const char *const *paths, int n, int *status)
{
    char req[4096];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(req + len, sizeof req - len, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
    if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) return -1;
    static char buf[1 << 16];
    size_t have = 0;
    int got = 0;
    double deadline = nfx_now_ms() + 3000;
    while (got < n) {
        char *p = buf;
        int k = 0;
        /* count complete responses in buf (Content-Length framed) */
        for (;;) {
            char *h = strstr(p, "\r\n\r\n");
            if (!h || strncmp(p, "HTTP/1.1 ", 9)) break;
            char *cl = strcasestr(p, "content-length:");
            long clen = cl && cl < h ? strtol(cl + 15, NULL, 10) : 0;
            if ((size_t)(h + 4 + clen - buf) > have) break;
            if (k < n) status[k] = atoi(p + 9);
            k++;
            p = h + 4 + clen;
        }
        got = k;
        if (got >= n) break;
        int left = (int)(deadline - nfx_now_ms());
        if (left <= 0 || !wait_readable(fd, left)) return got;
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) return got;
        have += (size_t)r;
        buf[have] = '\0';
    }
    return got;
}

TEST(proxy_http_error_match_only_matching_pipelined)
{
    /* match {method: GET, path: /status*}: only those are answered 503, on one keep-alive
     * connection with the requests pipelined; the others reach the server */
    struct fixture f;
    fx_start(&f);
    struct px_toxic_cfg c;
    px_toxic_defaults(&c, PX_HTTP_ERROR);
    c.status = 503;
    snprintf(c.match_method, sizeof c.match_method, "GET");
    snprintf(c.match_path, sizeof c.match_path, "/status*");
    add(&f, c);
    int fd = nfx_tcp_connect(f.pport);
    const char *const paths[] = { "/ok", "/status?code=201", "/ok", "/status?code=202", "/echo", "/ok" };
    int st[6] = { 0 };
    ASSERT_EQ_INT(pipelined(fd, paths, 6, st), 6);
    printf("    statuses: %d %d %d %d %d %d\n", st[0], st[1], st[2], st[3], st[4], st[5]);
    ASSERT_EQ_INT(st[0], 200);
    ASSERT_EQ_INT(st[1], 503);
    ASSERT_EQ_INT(st[2], 200);
    ASSERT_EQ_INT(st[3], 503);
    ASSERT_EQ_INT(st[4], 200);
    ASSERT_EQ_INT(st[5], 200);
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/status"), 0);
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), 3);
    /* a prefix match, and POST only: a GET of that path is forwarded */
    close(fd);
    fx_stop(&f);
}

TEST(proxy_http_error_first_3_errors_exactly_three)
{
    struct fixture f;
    fx_start(&f);
    struct px_toxic_cfg c;
    px_toxic_defaults(&c, PX_HTTP_ERROR);
    c.status = 500;
    c.first = 3;
    snprintf(c.match_method, sizeof c.match_method, "POST");
    snprintf(c.match_path, sizeof c.match_path, "/echo");
    add(&f, c);
    int n500 = 0, n200 = 0;
    /* over several connections (first counts per toxic, not per connection) */
    for (int k = 0; k < 3; k++) {
        int fd = nfx_tcp_connect(f.pport);
        for (int i = 0; i < 4; i++) {
            ASSERT_EQ_INT(http_req(fd, "GET", "/echo", 2000, NULL, 0), 200);   /* not POST: forwarded */
            int st = http_req(fd, "POST", "/echo", 2000, NULL, 0);
            if (st == 500) n500++;
            else if (st == 200) n200++;
            else ASSERT_MSG(0, "status %d", st);
        }
        close(fd);
    }
    printf("    12 matching POSTs with first: 3: %d answered 500, %d forwarded\n", n500, n200);
    ASSERT_EQ_INT(n500, 3);
    ASSERT_EQ_INT(n200, 9);
    fx_stop(&f);
}

TEST(proxy_new_toxics_as_plan_faults)
{
    /* proxy.slicer / proxy.limit_data / match: parse from plan YAML with the table's keys,
     * and bad values are plan errors */
    struct diag d;
    diag_init(&d, "test");
    void *cfg = NULL;
    const char *y1 = "average_size: 64\nsize_variation: 16\ndelay: 1ms\n";
    struct node *n1 = node_parse(y1, strlen(y1), &d);
    ASSERT_EQ_INT(fault_find("proxy.slicer")->parse(NULL, n1, &cfg, &d), 0);
    ASSERT_EQ_INT(((struct px_toxic_cfg *)cfg)->average_size, 64);
    ASSERT_EQ_INT(((struct px_toxic_cfg *)cfg)->delay_us, 1000);
    free(cfg);
    const char *y2 = "bytes: 64kb\ndirection: upstream\n";
    struct node *n2 = node_parse(y2, strlen(y2), &d);
    ASSERT_EQ_INT(fault_find("proxy.limit_data")->parse(NULL, n2, &cfg, &d), 0);
    ASSERT_EQ_INT(((struct px_toxic_cfg *)cfg)->bytes, 65536);
    ASSERT_EQ_INT(((struct px_toxic_cfg *)cfg)->direction, PX_DIR_UPSTREAM);
    free(cfg);
    const char *y3 = "status: 500\nmatch: {method: POST, path: /api/v1/schedule/generate}\nfirst: 3\n";
    struct node *n3 = node_parse(y3, strlen(y3), &d);
    ASSERT_EQ_INT(fault_find("proxy.http_error")->parse(NULL, n3, &cfg, &d), 0);
    ASSERT_EQ_STR(((struct px_toxic_cfg *)cfg)->match_method, "POST");
    ASSERT_EQ_STR(((struct px_toxic_cfg *)cfg)->match_path, "/api/v1/schedule/generate");
    ASSERT_EQ_INT(((struct px_toxic_cfg *)cfg)->first, 3);
    free(cfg);
    ASSERT_EQ_INT(d.n, 0);
    const char *bad[] = { "size_variation: 16\n", "average_size: 10\nsize_variation: 10\n", "bytes: lots\n",
                          "match: {verb: POST}\n", "match: {path: api}\n" };
    const char *kind[] = { "proxy.slicer", "proxy.slicer", "proxy.limit_data", "proxy.http_error", "proxy.http_delay" };
    for (int i = 0; i < 5; i++) {
        struct node *b = node_parse(bad[i], strlen(bad[i]), &d);
        size_t before = d.n;
        cfg = NULL;
        if (strstr(bad[i], "path: api")) {   /* http_delay needs delay: give it */
            node_free(b);
            const char *y = "delay: 1s\nmatch: {path: api}\n";
            b = node_parse(y, strlen(y), &d);
            before = d.n;
        }
        ASSERT_MSG(fault_find(kind[i])->parse(NULL, b, &cfg, &d) < 0, "'%s' accepted", bad[i]);
        ASSERT(d.n > before);
        printf("    %s %s-> %s\n", kind[i], bad[i], d.msgs[d.n - 1]);
        node_free(b);
    }
    node_free(n1);
    node_free(n2);
    node_free(n3);
    diag_release(&d);
}

TEST(proxy_http_delay_match_and_first)
{
    /* http_delay on POST /echo only, the first 2: GETs pass at once, two POSTs wait, the
     * third POST passes at once (keep-alive, one connection) */
    struct fixture f;
    fx_start(&f);
    struct px_toxic_cfg c;
    px_toxic_defaults(&c, PX_HTTP_DELAY);
    c.delay_us = 200000;
    c.first = 2;
    snprintf(c.match_method, sizeof c.match_method, "POST");
    snprintf(c.match_path, sizeof c.match_path, "/echo");
    add(&f, c);
    int fd = nfx_tcp_connect(f.pport);
    double t[6];
    const char *m[6] = { "GET", "POST", "GET", "POST", "POST", "GET" };
    for (int i = 0; i < 6; i++) {
        double t0 = nfx_now_ms();
        ASSERT_EQ_INT(http_req(fd, m[i], "/echo", 3000, NULL, 0), 200);
        t[i] = nfx_now_ms() - t0;
    }
    printf("    GET %.0f POST %.0f GET %.0f POST %.0f POST %.0f GET %.0f ms\n", t[0], t[1], t[2], t[3], t[4], t[5]);
    ASSERT(t[1] >= 190 && t[3] >= 190);
    ASSERT(t[0] < 100 && t[2] < 100 && t[4] < 100 && t[5] < 100);
    close(fd);
    fx_stop(&f);
}

TEST(proxy_timeout_with_timeout_closes_after_it)
{
    /* Toxiproxy's timeout with timeout: 300 ms: nothing passes, the connection closes then */
    struct fixture f;
    fx_start(&f);
    struct px_toxic_cfg c;
    px_toxic_defaults(&c, PX_TIMEOUT);
    c.timeout_us = 300000;
    add(&f, c);
    double t0 = nfx_now_ms();
    int fd = nfx_tcp_connect(f.pport);
    ASSERT(fd >= 0);
    const char *req = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT(send(fd, req, strlen(req), 0) > 0);
    ASSERT(wait_readable(fd, 3000));
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    double dt = nfx_now_ms() - t0;
    printf("    closed after %.0f ms (recv %zd)\n", dt, n);
    ASSERT(n <= 0);
    ASSERT(dt >= 280 && dt < 1500);
    ASSERT_EQ_INT(testsrv_hits(f.srv, "/ok"), 0);
    close(fd);
    fx_stop(&f);
}
