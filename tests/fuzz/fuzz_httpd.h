/* fuzz_httpd.h -- a tiny HTTP/1.1 server for the fuzz targets (and their corpus replay in
 * tests/unit/test_fuzz_corpus.c): it answers each request with what a handler puts in a
 * struct fh_reply, so fuzz bytes reach faultline's reply handling through its real transport
 * (libcurl, keep-alive, Content-Length) instead of through a copy of its static parsers.
 *
 *   static void handle(void *ud, const struct fh_req *rq, struct fh_reply *rp) { ... }
 *   struct fhttpd *s = fh_start_unix(dir, handle, ud);   -- or fh_start_tcp(): s->port
 *
 * A handler that answers with bytes the caller may free (a fuzz input) copies them (free_body,
 * as fh_reply_canned does): a client that stops reading early must not leave the server
 * reading freed memory.
 * One thread per connection, connections kept alive until the client closes them. Header-only
 * (static functions) because build.sh builds every tests/fuzz/fuzz_*.c as its own binary. The
 * server lives as long as the process: fuzzers and forked test children never stop it.
 */
#ifndef FL_FUZZ_HTTPD_H
#define FL_FUZZ_HTTPD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FH_REQ_MAX (64 * 1024)

struct fh_req {
    char method[16];
    char path[1024];
    const char *headers;     /* the raw header lines (NUL-terminated) */
    const char *body;
    size_t body_len;
};

struct fh_reply {
    int status;
    char headers[256];       /* extra header lines, each ending in \r\n */
    const void *body;
    size_t body_len;
    int free_body;           /* 1: body is the handler's malloc'd copy, freed after the write */
};

typedef void (*fh_handler)(void *ud, const struct fh_req *rq, struct fh_reply *rp);

/* a fake server's canned reply: status and body (the caller's bytes, a fuzz input); none while
 * body is NULL */
struct fh_canned {
    int status;
    const uint8_t *body;
    size_t len;
};

/* answer with a copy of the canned reply (freed after the write), or 503 when there is none */
static void fh_reply_canned(struct fh_reply *rp, const struct fh_canned *c)
{
    if (!c->body) {
        rp->status = 503;
        return;
    }
    rp->status = c->status;
    rp->body = memcpy(malloc(c->len + 1), c->body, c->len);
    rp->body_len = c->len;
    rp->free_body = 1;
}

struct fhttpd {
    int lfd;
    int port;                /* tcp */
    char sock[108];          /* unix */
    fh_handler handle;
    void *ud;
};

/* live connections stay reachable from fh_conns while their thread runs, so a leak check
 * (libFuzzer runs LeakSanitizer after inputs) never takes a served connection for a leak */
struct fh_conn {
    struct fh_conn *next, *prev;
    struct fhttpd *s;
    int fd;
    char buf[FH_REQ_MAX + 1];
};
static struct fh_conn *fh_conns;
static pthread_mutex_t fh_conns_mu = PTHREAD_MUTEX_INITIALIZER;
/* replies being made or written; fh_quiesce() waits for none */
static int fh_busy;
static pthread_cond_t fh_idle = PTHREAD_COND_INITIALIZER;

/* Wait (at most ms) until no reply is being written: a fuzz input ends only when the server
 * is done with it, so nothing of it is still in flight (or allocated) when the next begins. */
static void fh_quiesce(int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&fh_conns_mu);
    while (fh_busy > 0)
        if (pthread_cond_timedwait(&fh_idle, &fh_conns_mu, &dl) != 0) break;
    pthread_mutex_unlock(&fh_conns_mu);
}

static int fh_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* value of header name (case-insensitive) in raw header lines, or NULL; len in *n */
static const char *fh_header(const char *headers, const char *name, size_t *n)
{
    size_t nl = strlen(name);
    for (const char *l = headers; l && *l;) {
        const char *end = strstr(l, "\r\n");
        size_t ll = end ? (size_t)(end - l) : strlen(l);
        if (ll > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ') v++;
            *n = (size_t)(l + ll - v);
            return v;
        }
        l = end ? end + 2 : NULL;
    }
    return NULL;
}

static void *fh_conn_main(void *arg)
{
    struct fh_conn *c = arg;
    char *buf = c->buf;
    size_t have = 0;
    for (;;) {
        char *eoh;
        buf[have] = '\0';
        while (!(eoh = strstr(buf, "\r\n\r\n"))) {
            if (have == FH_REQ_MAX) goto out;
            ssize_t r = recv(c->fd, buf + have, FH_REQ_MAX - have, 0);
            if (r <= 0) goto out;
            have += (size_t)r;
            buf[have] = '\0';
        }
        size_t hlen = (size_t)(eoh - buf) + 4, blen = 0, vl;
        *eoh = '\0';
        const char *first_eol = strstr(buf, "\r\n");
        const char *cl = first_eol ? fh_header(first_eol + 2, "Content-Length", &vl) : NULL;
        if (cl) blen = (size_t)strtoul(cl, NULL, 10);
        if (hlen + blen > FH_REQ_MAX) goto out;
        while (have < hlen + blen) {
            ssize_t r = recv(c->fd, buf + have, hlen + blen - have, 0);
            if (r <= 0) goto out;
            have += (size_t)r;
        }
        struct fh_req rq = { .headers = first_eol ? first_eol + 2 : "", .body = buf + hlen, .body_len = blen };
        if (sscanf(buf, "%15s %1023s", rq.method, rq.path) != 2) goto out;
        struct fh_reply rp = { .status = 200 };
        pthread_mutex_lock(&fh_conns_mu);
        fh_busy++;
        pthread_mutex_unlock(&fh_conns_mu);
        c->s->handle(c->s->ud, &rq, &rp);
        /* no body after HEAD, 204 and 304; those say Content-Length: 0 */
        int head_only = strcmp(rq.method, "HEAD") == 0 || rp.status == 204 || rp.status == 304;
        char head[512];
        int hn = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", rp.status,
                          head_only ? 0 : rp.body_len, rp.headers);
        int bad = fh_write_all(c->fd, head, (size_t)hn) < 0 ||
                  (!head_only && rp.body_len && fh_write_all(c->fd, rp.body, rp.body_len) < 0);
        if (rp.free_body) free((void *)rp.body);
        pthread_mutex_lock(&fh_conns_mu);
        if (--fh_busy == 0) pthread_cond_broadcast(&fh_idle);
        pthread_mutex_unlock(&fh_conns_mu);
        if (bad) goto out;
        memmove(buf, buf + hlen + blen, have - hlen - blen);
        have -= hlen + blen;
    }
out:
    close(c->fd);
    pthread_mutex_lock(&fh_conns_mu);
    if (c->prev) c->prev->next = c->next;
    else fh_conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&fh_conns_mu);
    free(c);
    return NULL;
}

static void *fh_accept_main(void *arg)
{
    struct fhttpd *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) continue;
        struct fh_conn *c = malloc(sizeof *c);
        c->s = s;
        c->fd = fd;
        pthread_mutex_lock(&fh_conns_mu);
        c->prev = NULL;
        c->next = fh_conns;
        if (fh_conns) fh_conns->prev = c;
        fh_conns = c;
        pthread_mutex_unlock(&fh_conns_mu);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, fh_conn_main, c) != 0) {
            pthread_mutex_lock(&fh_conns_mu);
            fh_conns = c->next;
            if (fh_conns) fh_conns->prev = NULL;
            pthread_mutex_unlock(&fh_conns_mu);
            close(fd);
            free(c);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

static struct fhttpd *fh_run(struct fhttpd *s)
{
    pthread_t th;
    if (listen(s->lfd, 64) < 0 || pthread_create(&th, NULL, fh_accept_main, s) != 0) {
        perror("fuzz_httpd");
        abort();
    }
    pthread_detach(th);
    return s;
}

/* listen on dir/docker.sock */
static struct fhttpd *fh_start_unix(const char *dir, fh_handler h, void *ud)
{
    struct fhttpd *s = calloc(1, sizeof *s);
    s->handle = h;
    s->ud = ud;
    snprintf(s->sock, sizeof s->sock, "%s/docker.sock", dir);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", s->sock);
    unlink(s->sock);
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("fuzz_httpd: unix socket");
        abort();
    }
    return fh_run(s);
}

/* listen on 127.0.0.1, an ephemeral port (s->port) */
static struct fhttpd *fh_start_tcp(fh_handler h, void *ud)
{
    struct fhttpd *s = calloc(1, sizeof *s);
    s->handle = h;
    s->ud = ud;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0) {
        perror("fuzz_httpd: tcp socket");
        abort();
    }
    s->port = ntohs(a.sin_port);
    return fh_run(s);
}

#endif
