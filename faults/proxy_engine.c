/* proxy_engine.c -- TCP fault proxy engine: one epoll thread forwards and applies toxics.
 * See proxy_engine.h for the model (splice fast path, per-direction chains of stages). */
#include "proxy_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"

#define PX_PIPE_SIZE   (1 << 20)     /* fast path pipe capacity asked for */
#define PX_READ_MAX    (64 * 1024)   /* one chunk read on the toxic path */
#define PX_HOLD_MAX    (4u << 20)    /* bytes a direction may hold before reading stops */
#define PX_HEAD_MAX    (64 * 1024)   /* HTTP head larger than this: stop parsing, pass */
#define PX_NEVER       INT64_MAX
#define PX_CMD_TIMEOUT_MS 5000       /* a command the engine has not run by then: it is stuck */

/* ---- chunks and queues ---------------------------------------------------------- */
struct px_chunk {
    struct px_chunk *next;
    int64_t ts;          /* when it entered the current stage (ns) */
    int64_t due;         /* the current stage's release time (0 = not computed) */
    size_t len, off;
    int eof;             /* a close marker, no data */
    char data[];
};

struct px_q {
    struct px_chunk *head, *tail;
    size_t bytes;
};

static struct px_chunk *chunk_new(const void *data, size_t n, int64_t ts)
{
    struct px_chunk *c = fl_malloc(sizeof *c + n);
    c->next = NULL;
    c->ts = ts;
    c->due = 0;
    c->len = n;
    c->off = 0;
    c->eof = 0;
    if (n) memcpy(c->data, data, n);
    return c;
}

static void q_push(struct px_q *q, struct px_chunk *c)
{
    c->next = NULL;
    c->due = 0;
    if (q->tail) q->tail->next = c; else q->head = c;
    q->tail = c;
    q->bytes += c->len - c->off;
}

static struct px_chunk *q_pop(struct px_q *q)
{
    struct px_chunk *c = q->head;
    if (!c) return NULL;
    q->head = c->next;
    if (!q->head) q->tail = NULL;
    q->bytes -= c->len - c->off;
    c->next = NULL;
    return c;
}

/* move everything of src to the tail of dst */
static void q_append(struct px_q *dst, struct px_q *src)
{
    struct px_chunk *c;
    while ((c = q_pop(src))) q_push(dst, c);
}

static void q_clear(struct px_q *q)
{
    struct px_chunk *c;
    while ((c = q_pop(q))) free(c);
}

/* ---- HTTP/1.1 message framing (no I/O: bytes in, events out) -------------------- */
enum { HF_IDLE, HF_HEAD, HF_END, HF_LEN, HF_CSIZE, HF_CDATA, HF_CCRLF, HF_TRAILER, HF_CLOSE, HF_PASS };
enum { HEV_NONE, HEV_HEAD, HEV_DONE };

struct hframe {
    int state;
    int is_resp;
    char *head;           /* the head being gathered */
    size_t hlen, halloc;
    char line[256];       /* chunk-size / trailer line */
    size_t llen;
    uint64_t remain;
    /* of the last head */
    int status;           /* responses */
    int is_head_method;   /* requests: HEAD */
    int chunked;
    int64_t clen;         /* -1 = none */
    int conn_close;
    int http10;
};

static void hf_release(struct hframe *f) { free(f->head); f->head = NULL; }

static int hdr_has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0) return 1;
    return 0;
}

static void hf_parse_head(struct hframe *f)
{
    const char *p = f->head, *end = f->head + f->hlen;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    f->status = 0; f->is_head_method = 0; f->chunked = 0; f->clen = -1; f->conn_close = 0; f->http10 = 0;
    if (!eol) return;
    if (f->is_resp) {
        if (end - p > 12 && memcmp(p, "HTTP/1.0", 8) == 0) f->http10 = 1;
        const char *sp = memchr(p, ' ', (size_t)(eol - p));
        if (sp) f->status = atoi(sp + 1);
    } else {
        if (eol - p >= 5 && memcmp(p, "HEAD ", 5) == 0) f->is_head_method = 1;
        if (eol - p >= 9 && memcmp(eol - 9, "HTTP/1.0", 8) == 0) f->http10 = 1;
    }
    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon) continue;
        size_t nl = (size_t)(colon - p);
        const char *v = colon + 1;
        size_t vl = (size_t)(eol - v);
        if (nl == 14 && strncasecmp(p, "content-length", 14) == 0) f->clen = strtoll(v, NULL, 10);
        else if (nl == 17 && strncasecmp(p, "transfer-encoding", 17) == 0 && hdr_has_token(v, vl, "chunked")) f->chunked = 1;
        else if (nl == 10 && strncasecmp(p, "connection", 10) == 0 && hdr_has_token(v, vl, "close")) f->conn_close = 1;
    }
}

/* After HEV_HEAD: choose how the body is framed. head_req: the response answers a HEAD. */
static void hf_begin_body(struct hframe *f, int head_req)
{
    if (f->is_resp) {
        if (f->status == 101) { f->state = HF_PASS; return; }
        if (head_req || (f->status >= 100 && f->status < 200) || f->status == 204 || f->status == 304) {
            f->state = HF_END; return;
        }
        if (f->chunked) { f->state = HF_CSIZE; f->llen = 0; return; }
        if (f->clen >= 0) { f->remain = (uint64_t)f->clen; f->state = f->clen ? HF_LEN : HF_END; return; }
        f->state = HF_CLOSE;
        return;
    }
    if (f->chunked) { f->state = HF_CSIZE; f->llen = 0; return; }
    if (f->clen > 0) { f->remain = (uint64_t)f->clen; f->state = HF_LEN; return; }
    f->state = HF_END;
}

/* Consume bytes up to the next event. Returns bytes consumed; *ev = HEV_HEAD (the head is
 * complete: call hf_begin_body), HEV_DONE (the message is complete) or HEV_NONE. With n=0
 * it reports a pending zero-length end (a message without body). */
static size_t hf_feed(struct hframe *f, const char *p, size_t n, int *ev)
{
    size_t i = 0;
    *ev = HEV_NONE;
    while (1) {
        switch (f->state) {
        case HF_IDLE:
            if (i >= n) return i;
            f->state = HF_HEAD;
            f->hlen = 0;
            break;
        case HF_HEAD:
            while (i < n) {
                if (f->hlen + 1 > f->halloc) {
                    f->halloc = f->halloc ? f->halloc * 2 : 1024;
                    f->head = fl_realloc(f->head, f->halloc + 1);
                }
                char c = p[i++];
                f->head[f->hlen++] = c;
                /* a bare CRLF before a message (allowed between requests) is not a head */
                if ((f->hlen == 1 && c == '\n') || (f->hlen == 2 && f->head[0] == '\r' && c == '\n')) {
                    f->hlen = 0;
                    continue;
                }
                if (c == '\n' && f->hlen >= 2 &&
                    (f->head[f->hlen - 2] == '\n' || (f->hlen >= 4 && memcmp(f->head + f->hlen - 4, "\r\n\r\n", 4) == 0))) {
                    f->head[f->hlen] = '\0';
                    hf_parse_head(f);
                    *ev = HEV_HEAD;
                    return i;
                }
                if (f->hlen > PX_HEAD_MAX) { f->state = HF_PASS; return i; }
            }
            return i;
        case HF_END:
            f->state = HF_IDLE;
            *ev = HEV_DONE;
            return i;
        case HF_LEN: {
            size_t k = n - i;
            if (k > f->remain) k = (size_t)f->remain;
            i += k;
            f->remain -= k;
            if (f->remain == 0) { f->state = HF_IDLE; *ev = HEV_DONE; }
            return i;
        }
        case HF_CSIZE:
        case HF_TRAILER:
            while (i < n) {
                char c = p[i++];
                if (f->llen < sizeof f->line - 1) f->line[f->llen++] = c;
                if (c != '\n') continue;
                f->line[f->llen] = '\0';
                int empty = f->llen <= 2;
                f->llen = 0;
                if (f->state == HF_TRAILER) {
                    if (empty) { f->state = HF_IDLE; *ev = HEV_DONE; return i; }
                    continue;
                }
                unsigned long long sz = strtoull(f->line, NULL, 16);
                if (sz == 0) { f->state = HF_TRAILER; break; }
                f->remain = sz;
                f->state = HF_CDATA;
                break;
            }
            if (f->state == HF_CSIZE || (f->state == HF_TRAILER && i >= n)) return i;
            break;
        case HF_CDATA: {
            size_t k = n - i;
            if (k > f->remain) k = (size_t)f->remain;
            i += k;
            f->remain -= k;
            if (f->remain) return i;
            f->remain = 2;
            f->state = HF_CCRLF;
            break;
        }
        case HF_CCRLF:
            while (i < n && f->remain) {
                i++;
                f->remain--;
            }
            if (f->remain) return i;
            f->state = HF_CSIZE;
            f->llen = 0;
            break;
        case HF_CLOSE:
        case HF_PASS:
        default:
            return n;
        }
    }
}

static int looks_like_request(const char *p, size_t n)
{
    static const char *const m[] = { "GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ",
                                     "CONNECT ", "TRACE ", NULL };
    for (int i = 0; m[i]; i++) {
        size_t l = strlen(m[i]);
        if (n >= l ? memcmp(p, m[i], l) == 0 : memcmp(p, m[i], n) == 0) return 1;
    }
    return 0;
}

static int looks_like_response(const char *p, size_t n)
{
    return n >= 5 ? memcmp(p, "HTTP/", 5) == 0 : memcmp(p, "HTTP/", n) == 0;
}

/* ---- engine objects -------------------------------------------------------------- */
/* one socket of a connection in the event loop */
struct px_side {
    struct ev_io io;
    int side;            /* 0 client, 1 upstream */
    struct px_conn *c;
};
static void on_conn_ready(struct ev *ev, struct ev_io *io, uint32_t events);
static void on_conn_due(struct ev *ev, struct ev_timer *t, int64_t now);

struct px_toxic {
    struct px_toxic *next;
    int id;
    struct px_toxic_cfg cfg;
};

/* what an http toxic's two stages (one per direction) share on one connection */
struct px_hreq {
    int fwd;             /* forwarded upstream (else answered by us) */
    int head_req;
    int ready;           /* synthetic answer may go out (the request was consumed) */
    int close;           /* close after the synthetic answer */
};

struct px_http {
    int refs;
    struct hframe up, down;
    int up_sync, down_sync;   /* 0 until a message start was seen (added mid-stream) */
    int cur_fail;             /* the request being read is answered by us */
    struct px_hreq *fifo;     /* requests whose answer has not gone out, in order */
    size_t nfifo, afifo;
    int64_t hold_until;       /* http_delay: the current response head is held until */
    int holding;
};

struct px_stage {
    struct px_stage *next;
    struct px_toxic *tox;
    struct px_q q;
    int64_t last_due;        /* latency: keep order */
    int64_t next_free;       /* bandwidth */
    struct px_http *http;
};

struct px_conn;

struct px_dir {
    int src, dst;            /* sides: 0 client, 1 upstream */
    int eof_in;              /* EOF read from src (marker queued) */
    int shut_out;            /* FIN sent to dst */
    int blocked;             /* dst returned EAGAIN with output pending */
    int bulk;                /* fast path: moving big data, use splice */
    int pipefd[2];
    size_t pipe_len;
    struct px_stage *stages;
    struct px_q out;
};

struct px_conn {
    struct px_conn *prev, *next;
    struct px *px;
    int fd[2];
    struct px_side ev[2];
    int connecting;
    struct px_dir d[2];      /* d[0] upstream (client -> server), d[1] downstream */
    struct ev_timer tm;      /* queued while it has a wake-up */
    int dead;
};

struct px {
    struct px *next;
    struct px_engine *e;
    char listen_addr[128], upstream_addr[128];
    struct sockaddr_storage up_sa, ls_sa;
    socklen_t up_len, ls_len;
    int lfd;
    struct ev_io lev;        /* the listener in the event loop */
    struct px_toxic *toxics;
    int next_id;
    int down_full;           /* down toxics with probability 1: listener closed */
    struct px_conn *conns;
    struct px_stats st;
};

enum { CMD_LISTEN, CMD_ADD, CMD_REMOVE, CMD_STATS, CMD_CLOSE, CMD_STOP, CMD_STALL };

/* A command lives on the heap and holds copies of what it carries: a caller that gave up
 * waiting (a wedged engine) leaves it to the engine, which frees it once run. */
struct px_cmd {
    struct px_cmd *next;
    int op;
    struct px *px;
    struct px_toxic_cfg cfg;
    int id;                  /* CMD_REMOVE: the toxic; CMD_STALL: milliseconds */
    struct px_stats stats;
    int done, rc;
    int abandoned;           /* the caller stopped waiting while it ran: the engine undoes it
                                (an added toxic, a listen) and frees it */
    int nowait;              /* nobody waits (CMD_STALL): the engine frees it */
    char err[FL_ERR_LEN];
};

struct px_engine {
    struct ev *ev;           /* epoll, the wake-up from callers, the connections' timers */
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct px_cmd *cmds, *cmds_tail;
    atomic_int timeout_ms;   /* how long a caller waits for a command */
    /* fdmu guards each proxy's listener fd and its list of connections with their fds,
     * so that px_sever() may shut them down from another thread when the engine is stuck */
    pthread_mutex_t fdmu;
    struct px *proxies;
    atomic_int stop;
    struct px_conn *grave;   /* freed connections and proxies wait here until the epoll */
    struct px *grave_px;     /* batch that may still name them is over */
    uint64_t rng;
    char *scratch;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double rnd(struct px_engine *e)
{
    /* xorshift64*: fast, good enough for per-connection dice */
    uint64_t x = e->rng;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    e->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static int roll(struct px_engine *e, double p)
{
    if (p >= 1) return 1;
    if (p <= 0) return 0;
    return rnd(e) < p;
}

const char *px_kind_name(enum px_kind k)
{
    switch (k) {
    case PX_LATENCY: return "latency";
    case PX_BANDWIDTH: return "bandwidth";
    case PX_TIMEOUT: return "timeout";
    case PX_RESET: return "reset";
    case PX_DOWN: return "down";
    case PX_SLOW_CLOSE: return "slow_close";
    case PX_HTTP_ERROR: return "http_error";
    case PX_HTTP_DELAY: return "http_delay";
    }
    return "?";
}

/* ---- timers (connections keyed by wake time) ------------------------------------ */
static void conn_set_wake(struct px_engine *e, struct px_conn *c, int64_t wake)
{
    ev_timer_set(e->ev, &c->tm, wake);
}

/* ---- addresses ------------------------------------------------------------------ */
static int split_addr(const char *addr, char *host, size_t hl, char *port, size_t pl, char *err)
{
    const char *colon;
    if (!addr || !*addr) return fl_err(err, "empty address (want host:port)");
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':') return fl_err(err, "address '%s': want [v6]:port", addr);
        if ((size_t)(rb - addr - 1) >= hl) return fl_err(err, "address '%s': host too long", addr);
        memcpy(host, addr + 1, (size_t)(rb - addr - 1));
        host[rb - addr - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) return fl_err(err, "address '%s': want host:port", addr);
        if ((size_t)(colon - addr) >= hl) return fl_err(err, "address '%s': host too long", addr);
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
    }
    const char *ps = colon + 1;
    char *end;
    long pn = strtol(ps, &end, 10);
    if (!*ps || *end || pn < 0 || pn > 65535) return fl_err(err, "address '%s': bad port", addr);
    if (!*host) return fl_err(err, "address '%s': missing host", addr);
    snprintf(port, pl, "%ld", pn);
    return 0;
}

int px_addr_check(const char *addr, char *err)
{
    char h[256], p[16];
    return split_addr(addr, h, sizeof h, p, sizeof p, err);
}

static int resolve(const char *addr, struct sockaddr_storage *sa, socklen_t *len, char *err)
{
    char h[256], p[16];
    if (split_addr(addr, h, sizeof h, p, sizeof p, err) < 0) return -1;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    int rc = getaddrinfo(h, p, &hints, &res);
    if (rc != 0 || !res) return fl_err(err, "cannot resolve '%s': %s", addr, gai_strerror(rc));
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int listen_socket(struct px *px, char *err)
{
    int fd = socket(px->ls_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fl_err(err, "cannot listen on '%s': socket: %s", px->listen_addr, strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&px->ls_sa, px->ls_len) < 0 || listen(fd, 1024) < 0) {
        int en = errno;
        close(fd);
        return fl_err(err, "cannot listen on '%s': %s", px->listen_addr, strerror(en));
    }
    return fd;
}

/* ---- epoll interest ------------------------------------------------------------- */
static void set_mask(struct px_engine *e, struct px_conn *c, int side, uint32_t m)
{
    /* nothing wanted: it leaves epoll, so EPOLLHUP cannot spin a level-triggered loop */
    ev_io_set(e->ev, &c->ev[side].io, m);
}

static size_t dir_held(const struct px_dir *d)
{
    size_t n = d->out.bytes + d->pipe_len;
    for (const struct px_stage *s = d->stages; s; s = s->next) n += s->q.bytes;
    return n;
}

static void update_masks(struct px_engine *e, struct px_conn *c)
{
    uint32_t m[2] = { 0, 0 };
    if (c->connecting) {
        m[1] = EPOLLOUT;
    } else {
        for (int i = 0; i < 2; i++) {
            struct px_dir *d = &c->d[i];
            if (!d->eof_in && !d->blocked && dir_held(d) < PX_HOLD_MAX) m[d->src] |= EPOLLIN;
            if (d->blocked) m[d->dst] |= EPOLLOUT;
        }
    }
    set_mask(e, c, 0, m[0]);
    set_mask(e, c, 1, m[1]);
}

/* ---- connections ----------------------------------------------------------------- */
static void stage_free(struct px_stage *s)
{
    q_clear(&s->q);
    if (s->http && --s->http->refs == 0) {
        hf_release(&s->http->up);
        hf_release(&s->http->down);
        free(s->http->fifo);
        free(s->http);
    }
    free(s);
}

static void conn_free(struct px_engine *e, struct px_conn *c, int rst)
{
    struct px *px = c->px;
    ev_timer_set(e->ev, &c->tm, PX_NEVER);
    pthread_mutex_lock(&e->fdmu);   /* px_sever may be reading the fds and the list */
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] >= 0) {
            if (rst) {
                struct linger lg = { 1, 0 };
                setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            }
            /* leave epoll explicitly: close() alone does not when another process holds a
             * copy of the socket (a child forked by another thread, before its exec), and
             * epoll would then report events for this freed connection */
            ev_io_set(e->ev, &c->ev[i].io, 0);
            close(c->fd[i]);
            c->ev[i].io.fd = -1;
        }
    }
    if (c->prev) c->prev->next = c->next; else px->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->fd[0] = c->fd[1] = -1;
    pthread_mutex_unlock(&e->fdmu);
    for (int i = 0; i < 2; i++) {
        struct px_dir *d = &c->d[i];
        if (d->pipefd[0] >= 0) { close(d->pipefd[0]); close(d->pipefd[1]); }
        q_clear(&d->out);
        struct px_stage *s = d->stages;
        while (s) {
            struct px_stage *n = s->next;
            stage_free(s);
            s = n;
        }
    }
    px->st.active--;
    c->dead = 1;
    c->next = e->grave;
    e->grave = c;
}

static void bury(struct px_engine *e)
{
    while (e->grave) {
        struct px_conn *c = e->grave;
        e->grave = c->next;
        free(c);
    }
    while (e->grave_px) {
        struct px *px = e->grave_px;
        e->grave_px = px->next;
        free(px);
    }
}

static unsigned tox_dirs(const struct px_toxic_cfg *t)
{
    switch (t->kind) {
    case PX_LATENCY: case PX_BANDWIDTH:
        return t->direction ? t->direction : PX_DIR_DOWNSTREAM;
    case PX_TIMEOUT:
        return t->direction ? t->direction : PX_DIR_BOTH;
    case PX_SLOW_CLOSE: case PX_HTTP_ERROR: case PX_HTTP_DELAY:
        return PX_DIR_BOTH;
    default:
        return 0;
    }
}

static struct px_stage *stage_new(struct px_toxic *t)
{
    struct px_stage *s = fl_calloc(1, sizeof *s);
    s->tox = t;
    return s;
}

static void dir_add_stage(struct px_dir *d, struct px_stage *s)
{
    struct px_stage **pp = &d->stages;
    while (*pp) pp = &(*pp)->next;
    *pp = s;
}

/* give a connection the stages of toxic t (when the per-connection dice say so) */
static void conn_add_toxic(struct px_engine *e, struct px_conn *c, struct px_toxic *t)
{
    unsigned dirs = tox_dirs(&t->cfg);
    if (!dirs || !roll(e, t->cfg.probability)) return;
    struct px_http *h = NULL;
    if (t->cfg.kind == PX_HTTP_ERROR || t->cfg.kind == PX_HTTP_DELAY) {
        h = fl_calloc(1, sizeof *h);
        h->up.is_resp = 0;
        h->down.is_resp = 1;
    }
    for (int i = 0; i < 2; i++) {
        unsigned bit = i == 0 ? PX_DIR_UPSTREAM : PX_DIR_DOWNSTREAM;
        if (!(dirs & bit)) continue;
        struct px_stage *s = stage_new(t);
        if (h) { s->http = h; h->refs++; }
        dir_add_stage(&c->d[i], s);
    }
}

static void dir_init(struct px_dir *d, int src)
{
    memset(d, 0, sizeof *d);
    d->src = src;
    d->dst = 1 - src;
    d->pipefd[0] = d->pipefd[1] = -1;
}

static void accept_conns(struct px_engine *e, struct px *px)
{
    for (int n = 0; n < 64; n++) {
        int fd = accept4(px->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        px->st.accepted++;
        int refuse = 0;
        for (struct px_toxic *t = px->toxics; t && !refuse; t = t->next)
            if ((t->cfg.kind == PX_RESET || t->cfg.kind == PX_DOWN) && roll(e, t->cfg.probability)) refuse = 1;
        if (refuse) {
            struct linger lg = { 1, 0 };
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(fd);
            px->st.refused++;
            continue;
        }
        int ufd = socket(px->up_sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (ufd < 0) { close(fd); continue; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = connect(ufd, (struct sockaddr *)&px->up_sa, px->up_len);
        if (rc < 0 && errno != EINPROGRESS) {
            /* upstream refuses: the client sees its connection closed */
            close(ufd);
            close(fd);
            continue;
        }
        struct px_conn *c = fl_calloc(1, sizeof *c);
        c->px = px;
        c->fd[0] = fd;
        c->fd[1] = ufd;
        c->tm.fn = on_conn_due;
        ev_timer_init(&c->tm);
        for (int i = 0; i < 2; i++) c->ev[i] = (struct px_side){ { on_conn_ready, c->fd[i], 0 }, i, c };
        dir_init(&c->d[0], 0);
        dir_init(&c->d[1], 1);
        c->connecting = rc < 0;
        pthread_mutex_lock(&e->fdmu);
        c->next = px->conns;
        if (px->conns) px->conns->prev = c;
        px->conns = c;
        pthread_mutex_unlock(&e->fdmu);
        px->st.active++;
        for (struct px_toxic *t = px->toxics; t; t = t->next) conn_add_toxic(e, c, t);
        update_masks(e, c);
    }
}

/* ---- stages ---------------------------------------------------------------------- */
/* emit bytes as a new chunk into q */
static void emit(struct px_q *q, const char *p, size_t n, int64_t ts)
{
    if (n) q_push(q, chunk_new(p, n, ts));
}

static void emit_eof(struct px_q *q, int64_t ts)
{
    struct px_chunk *c = chunk_new(NULL, 0, ts);
    c->eof = 1;
    q_push(q, c);
}

static void fifo_push(struct px_http *h, struct px_hreq r)
{
    if (h->nfifo == h->afifo) {
        h->afifo = h->afifo ? h->afifo * 2 : 8;
        h->fifo = fl_realloc(h->fifo, h->afifo * sizeof *h->fifo);
    }
    h->fifo[h->nfifo++] = r;
}

static void fifo_pop(struct px_http *h)
{
    if (!h->nfifo) return;
    memmove(h->fifo, h->fifo + 1, (h->nfifo - 1) * sizeof *h->fifo);
    h->nfifo--;
}

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Injected";
    }
}

static void emit_synthetic(struct px_q *out, const struct px_hreq *r, int status, int64_t ts)
{
    char body[64], msg[512];
    int bl = snprintf(body, sizeof body, "faultline: injected %d\n", status);
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                     "Connection: %s\r\nX-Faultline: http_error\r\n\r\n%s",
                     status, reason(status), r->head_req ? 0 : bl, r->close ? "close" : "keep-alive",
                     r->head_req ? "" : body);
    emit(out, msg, (size_t)n, ts);
    if (r->close) emit_eof(out, ts);
}

/* Upstream side of the http toxics: frame requests; http_error drops a share of them
 * (answered by the downstream side), both record what the responses need (HEAD). */
static void run_http_up(struct px_engine *e, struct px_conn *c, struct px_stage *s, struct px_q *out)
{
    struct px_http *h = s->http;
    int is_err = s->tox->cfg.kind == PX_HTTP_ERROR;
    struct px_chunk *ch;
    while ((ch = q_pop(&s->q))) {
        if (ch->eof) { q_push(out, ch); continue; }
        const char *p = ch->data + ch->off;
        size_t n = ch->len - ch->off;
        if (!h->up_sync) {
            if (h->up.state == HF_IDLE && looks_like_request(p, n)) h->up_sync = 1;
            else { q_push(out, ch); continue; }
        }
        size_t i = 0;
        while (i < n || h->up.state == HF_END) {
            if (h->up.state == HF_IDLE) h->cur_fail = is_err && roll(e, s->tox->cfg.share);
            int ev;
            size_t k = hf_feed(&h->up, p + i, n - i, &ev);
            if (!h->cur_fail) emit(out, p + i, k, ch->ts);
            i += k;
            if (ev == HEV_HEAD) {
                hf_begin_body(&h->up, 0);
                struct px_hreq r = { .fwd = !h->cur_fail, .head_req = h->up.is_head_method,
                                     .ready = 0, .close = h->up.conn_close || h->up.http10 };
                fifo_push(h, r);
            } else if (ev == HEV_DONE && h->cur_fail) {
                /* the last not-ready synthetic entry is this request */
                for (size_t j = h->nfifo; j > 0; j--)
                    if (!h->fifo[j - 1].fwd && !h->fifo[j - 1].ready) { h->fifo[j - 1].ready = 1; break; }
                c->px->st.http_errors++;
                h->cur_fail = 0;
            } else if (ev == HEV_NONE && k == 0) {
                break;
            }
            if (h->up.state == HF_PASS || h->up.state == HF_CLOSE) {
                emit(out, p + i, n - i, ch->ts);
                i = n;
            }
        }
        free(ch);
    }
}

/* Downstream side: frame responses; http_error splices its answers in between them,
 * http_delay holds each response head until it has waited `delay`. */
static int64_t run_http_down(struct px_conn *c, struct px_stage *s, struct px_q *out, int64_t now)
{
    struct px_http *h = s->http;
    int is_err = s->tox->cfg.kind == PX_HTTP_ERROR;
    (void)c;
    for (;;) {
        if (h->down.state == HF_IDLE && !h->holding) {
            /* between responses: our own answers that are next in line go out now */
            while (is_err && h->nfifo && !h->fifo[0].fwd && h->fifo[0].ready) {
                emit_synthetic(out, &h->fifo[0], s->tox->cfg.status, now);
                fifo_pop(h);
            }
        }
        struct px_chunk *ch = s->q.head;
        if (!ch) return PX_NEVER;
        if (ch->eof) { q_push(out, q_pop(&s->q)); continue; }
        const char *p = ch->data + ch->off;
        size_t n = ch->len - ch->off;
        if (!h->down_sync) {
            if (h->down.state == HF_IDLE && looks_like_response(p, n)) h->down_sync = 1;
            else { q_push(out, q_pop(&s->q)); continue; }
        }
        if (h->down.state == HF_IDLE && !is_err) {
            if (!h->holding) { h->holding = 1; h->hold_until = ch->ts + s->tox->cfg.delay_us * 1000; }
            if (now < h->hold_until) return h->hold_until;
        }
        h->holding = 0;
        int ev;
        size_t k = hf_feed(&h->down, p, n, &ev);
        if (k == n && ev != HEV_HEAD) {
            q_push(out, q_pop(&s->q));
        } else {
            emit(out, p, k, ch->ts);
            ch->off += k;
            s->q.bytes -= k;
            if (ch->off == ch->len) free(q_pop(&s->q));
        }
        if (ev == HEV_HEAD) {
            int head_req = 0;
            for (size_t j = 0; j < h->nfifo; j++)
                if (h->fifo[j].fwd) { head_req = h->fifo[j].head_req; break; }
            hf_begin_body(&h->down, head_req);
        }
        if (h->down.state == HF_END) {
            hf_feed(&h->down, NULL, 0, &ev);
        }
        if (ev == HEV_DONE && !(h->down.status >= 100 && h->down.status < 200)) {
            for (size_t j = 0; j < h->nfifo; j++)
                if (h->fifo[j].fwd) {
                    memmove(h->fifo + j, h->fifo + j + 1, (h->nfifo - j - 1) * sizeof *h->fifo);
                    h->nfifo--;
                    break;
                }
        }
    }
}

/* Run one stage: move what is due from s->q to out; return when it next needs to run. */
static int64_t stage_run(struct px_engine *e, struct px_conn *c, int dir, struct px_stage *s,
                         struct px_q *out, int64_t now)
{
    const struct px_toxic_cfg *t = &s->tox->cfg;
    struct px_chunk *ch;
    switch (t->kind) {
    case PX_LATENCY:
        while ((ch = s->q.head)) {
            if (!ch->due) {
                int64_t d = t->latency_us;
                if (t->jitter_us > 0) d += (int64_t)((rnd(e) * 2 - 1) * (double)t->jitter_us);
                if (d < 0) d = 0;
                ch->due = ch->ts + d * 1000;
                if (ch->due < s->last_due) ch->due = s->last_due;
                s->last_due = ch->due;
            }
            if (ch->due > now) return ch->due;
            ch->ts = ch->due;   /* a later stage counts from when it was due: toxics add up */
            q_push(out, q_pop(&s->q));
        }
        return PX_NEVER;
    case PX_BANDWIDTH: {
        double rate = t->rate > 0 ? t->rate : 1;
        size_t slice = (size_t)(rate / 100);   /* 10 ms worth */
        if (slice < 1) slice = 1;
        if (slice > PX_READ_MAX) slice = PX_READ_MAX;
        while ((ch = s->q.head)) {
            if (ch->eof) { q_push(out, q_pop(&s->q)); continue; }
            if (s->next_free > now) return s->next_free;
            size_t n = ch->len - ch->off;
            if (n > slice) {
                emit(out, ch->data + ch->off, slice, ch->ts);
                ch->off += slice;
                s->q.bytes -= slice;
                n = slice;
            } else {
                q_push(out, q_pop(&s->q));
            }
            /* keep the long-run rate despite late wakeups, but no burst after idling */
            int64_t base = s->next_free >= now - 20000000 ? s->next_free : now;
            s->next_free = base + (int64_t)((double)n * 1e9 / rate);
        }
        return PX_NEVER;
    }
    case PX_TIMEOUT:
        return PX_NEVER;
    case PX_SLOW_CLOSE:
        while ((ch = s->q.head)) {
            if (ch->eof) {
                if (!ch->due) ch->due = ch->ts + t->delay_us * 1000;
                if (ch->due > now) return ch->due;
            }
            q_push(out, q_pop(&s->q));
        }
        return PX_NEVER;
    case PX_HTTP_ERROR:
    case PX_HTTP_DELAY:
        if (dir == 0) { run_http_up(e, c, s, out); return PX_NEVER; }
        return run_http_down(c, s, out, now);
    default:
        q_append(out, &s->q);
        return PX_NEVER;
    }
}

/* ---- I/O --------------------------------------------------------------------------- */
enum { IO_OK = 0, IO_CLOSE = -1, IO_RESET = -2 };

static int is_reset_errno(int en) { return en == ECONNRESET || en == EPIPE || en == ETIMEDOUT; }

static int dir_flush(struct px_conn *c, struct px_dir *d)
{
    int fd = c->fd[d->dst];
    uint64_t *ctr = d->dst == 1 ? &c->px->st.bytes_up : &c->px->st.bytes_down;
    d->blocked = 0;
    while (d->pipe_len > 0) {
        ssize_t n = splice(d->pipefd[0], NULL, fd, NULL, d->pipe_len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { d->blocked = 1; return IO_OK; }
            return is_reset_errno(errno) ? IO_RESET : IO_CLOSE;
        }
        d->pipe_len -= (size_t)n;
        *ctr += (uint64_t)n;
    }
    struct px_chunk *ch;
    while ((ch = d->out.head)) {
        if (ch->eof) {
            if (!d->shut_out) shutdown(fd, SHUT_WR);
            d->shut_out = 1;
            free(q_pop(&d->out));
            continue;
        }
        if (d->shut_out) { free(q_pop(&d->out)); continue; }
        ssize_t n = send(fd, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { d->blocked = 1; return IO_OK; }
            return is_reset_errno(errno) ? IO_RESET : IO_CLOSE;
        }
        ch->off += (size_t)n;
        d->out.bytes -= (size_t)n;
        *ctr += (uint64_t)n;
        if (ch->off == ch->len) free(q_pop(&d->out));
    }
    return IO_OK;
}

static void pipe_setup(struct px_dir *d)
{
    if (d->pipefd[0] >= 0) return;
    if (pipe2(d->pipefd, O_NONBLOCK | O_CLOEXEC) < 0) { d->pipefd[0] = d->pipefd[1] = -1; return; }
    fcntl(d->pipefd[1], F_SETPIPE_SZ, PX_PIPE_SIZE);
}

static void dir_got_eof(struct px_dir *d, int64_t now)
{
    d->eof_in = 1;
    struct px_chunk *c = chunk_new(NULL, 0, now);
    c->eof = 1;
    q_push(d->stages ? &d->stages->q : &d->out, c);
}

/* read what src has; on the fast path forward it at once */
static int dir_read(struct px_engine *e, struct px_conn *c, struct px_dir *d, int64_t *now)
{
    int fd = c->fd[d->src];
    if (d->eof_in || (d->blocked && !d->stages)) return IO_OK;
    if (!d->stages && !d->out.head && !d->blocked && !d->bulk) {
        /* small messages (requests, replies): one recv and one send, no pipe */
        ssize_t n;
        do n = recv(fd, e->scratch, PX_READ_MAX, MSG_DONTWAIT); while (n < 0 && errno == EINTR);
        if (n < 0) return errno == EAGAIN ? IO_OK : is_reset_errno(errno) ? IO_RESET : IO_CLOSE;
        if (n == 0) { dir_got_eof(d, *now); return IO_OK; }
        uint64_t *ctr = d->dst == 1 ? &c->px->st.bytes_up : &c->px->st.bytes_down;
        ssize_t w;
        do w = send(c->fd[d->dst], e->scratch, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT); while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN) return is_reset_errno(errno) ? IO_RESET : IO_CLOSE;
        if (w < 0) w = 0;
        *ctr += (uint64_t)w;
        if (w < n) {
            q_push(&d->out, chunk_new(e->scratch + w, (size_t)(n - w), *now));
            d->blocked = 1;
        }
        /* a full buffer: a bulk transfer, which splice(2) moves without copying */
        if (n == PX_READ_MAX) d->bulk = 1;
        return IO_OK;
    }
    if (!d->stages && !d->out.head && !d->blocked) {
        pipe_setup(d);
        if (d->pipefd[0] >= 0) {
            for (int round = 0; round < 4; round++) {
                ssize_t n = splice(fd, NULL, d->pipefd[1], NULL, PX_PIPE_SIZE, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    if (errno == EAGAIN) break;
                    return is_reset_errno(errno) ? IO_RESET : IO_CLOSE;
                }
                if (n == 0) { dir_got_eof(d, *now); break; }
                d->pipe_len += (size_t)n;
                int rc = dir_flush(c, d);
                if (rc != IO_OK) return rc;
                if (d->blocked) break;
            }
            return IO_OK;
        }
    }
    *now = now_ns();
    for (int round = 0; round < 16 && dir_held(d) < PX_HOLD_MAX; round++) {
        ssize_t n = recv(fd, e->scratch, PX_READ_MAX, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return is_reset_errno(errno) ? IO_RESET : IO_CLOSE;
        }
        if (n == 0) { dir_got_eof(d, *now); break; }
        q_push(d->stages ? &d->stages->q : &d->out, chunk_new(e->scratch, (size_t)n, *now));
        if (n < PX_READ_MAX) break;   /* drained for now: spare the EAGAIN round trip */
    }
    return IO_OK;
}

/* run the chains of both directions, write what is ready, re-arm; frees c when done */
static void conn_pump(struct px_engine *e, struct px_conn *c, int64_t now)
{
    int64_t wake = PX_NEVER;
    for (int i = 0; i < 2; i++) {
        struct px_dir *d = &c->d[i];
        for (struct px_stage *s = d->stages; s; s = s->next) {
            int64_t w = stage_run(e, c, i, s, s->next ? &s->next->q : &d->out, now);
            if (w < wake) wake = w;
        }
    }
    for (int i = 0; i < 2; i++) {
        struct px_dir *d = &c->d[i];
        if (c->connecting || d->blocked) continue;
        if (d->pipe_len || d->out.head) {
            int rc = dir_flush(c, d);
            if (rc != IO_OK) { conn_free(e, c, rc == IO_RESET); return; }
        }
    }
    if (c->d[0].shut_out && c->d[1].shut_out) { conn_free(e, c, 0); return; }
    conn_set_wake(e, c, wake);
    update_masks(e, c);
}

static void conn_event(struct px_engine *e, struct px_conn *c, int side, uint32_t ev)
{
    int64_t now = now_ns();
    if (c->connecting) {
        if (side != 1) return;
        int soerr = 0;
        socklen_t l = sizeof soerr;
        getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &l);
        if (soerr) { conn_free(e, c, 0); return; }
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        c->connecting = 0;
        conn_pump(e, c, now);
        return;
    }
    if (ev & EPOLLOUT) {
        struct px_dir *d = &c->d[side == 1 ? 0 : 1];   /* the direction writing to side */
        int rc = dir_flush(c, d);
        if (rc != IO_OK) { conn_free(e, c, rc == IO_RESET); return; }
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        struct px_dir *d = &c->d[side];                 /* the direction reading side */
        int rc = dir_read(e, c, d, &now);
        if (rc != IO_OK) { conn_free(e, c, rc == IO_RESET); return; }
    }
    /* fast path with nothing held and no stages on either side: skip the general pump */
    if (!c->d[0].stages && !c->d[1].stages && !c->d[0].out.head && !c->d[1].out.head &&
        !ev_timer_queued(&c->tm) && !c->d[0].eof_in && !c->d[1].eof_in) {
        update_masks(e, c);
        return;
    }
    conn_pump(e, c, now);
}

/* ---- commands (from other threads) ------------------------------------------------- */
static void close_listener(struct px_engine *e, struct px *px)
{
    pthread_mutex_lock(&e->fdmu);
    if (px->lfd >= 0) {
        ev_io_set(e->ev, &px->lev, 0); /* see conn_free */
        close(px->lfd);
        px->lev.fd = -1;
    }
    px->lfd = -1;
    pthread_mutex_unlock(&e->fdmu);
}

static void px_teardown(struct px_engine *e, struct px *px)
{
    while (px->conns) conn_free(e, px->conns, 0);
    close_listener(e, px);
    struct px_toxic *t = px->toxics;
    while (t) {
        struct px_toxic *n = t->next;
        free(t);
        t = n;
    }
    px->toxics = NULL;
}

static void px_relisten(struct px_engine *e, struct px *px, char *err)
{
    if (px->lfd >= 0) return;
    int fd = listen_socket(px, err);
    if (fd < 0) return;
    pthread_mutex_lock(&e->fdmu);
    px->lfd = fd;
    pthread_mutex_unlock(&e->fdmu);
    px->lev.fd = fd;
    ev_io_set(e->ev, &px->lev, EPOLLIN);
}

static int cmd_add(struct px_engine *e, struct px *px, const struct px_toxic_cfg *cfg, char *err)
{
    struct px_toxic *t = fl_calloc(1, sizeof *t);
    t->cfg = *cfg;
    t->id = ++px->next_id;
    struct px_toxic **pp = &px->toxics;
    while (*pp) pp = &(*pp)->next;
    *pp = t;
    if (cfg->kind == PX_DOWN && cfg->probability >= 1) {
        if (px->down_full++ == 0) close_listener(e, px);
    }
    int64_t now = now_ns();
    struct px_conn *c = px->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (cfg->kind == PX_RESET) {
            if (roll(e, cfg->probability)) { px->st.reset++; conn_free(e, c, 1); }
            continue;
        }
        conn_add_toxic(e, c, t);
        conn_pump(e, c, now);
    }
    (void)err;
    return t->id;
}

static int cmd_remove(struct px_engine *e, struct px *px, int id, char *err)
{
    struct px_toxic **pp = &px->toxics, *t;
    while ((t = *pp) && t->id != id) pp = &t->next;
    if (!t) return fl_err(err, "proxy '%s': no toxic %d", px->listen_addr, id);
    *pp = t->next;
    int64_t now = now_ns();
    struct px_conn *c = px->conns, *next;
    for (; c; c = next) {
        next = c->next;
        for (int i = 0; i < 2; i++) {
            struct px_dir *d = &c->d[i];
            struct px_stage **sp = &d->stages, *s;
            while ((s = *sp)) {
                if (s->tox != t) { sp = &s->next; continue; }
                struct px_q *nq = s->next ? &s->next->q : &d->out;
                /* what this stage holds arrived after what the next one holds */
                if (s->http && i == 1) {
                    /* answers still owed go out before the stage disappears */
                    struct px_http *h = s->http;
                    for (size_t j = 0; j < h->nfifo; j++)
                        if (!h->fifo[j].fwd && h->fifo[j].ready) emit_synthetic(&s->q, &h->fifo[j], t->cfg.status, now);
                }
                q_append(nq, &s->q);
                *sp = s->next;
                stage_free(s);
            }
        }
        conn_pump(e, c, now);
    }
    if (t->cfg.kind == PX_DOWN && t->cfg.probability >= 1 && --px->down_full == 0) {
        char lerr[FL_ERR_LEN];
        px_relisten(e, px, lerr);
        if (px->lfd < 0) {
            free(t);
            return fl_err(err, "%s", lerr);
        }
    }
    free(t);
    return 0;
}

static void run_cmd(struct px_engine *e, struct px_cmd *cmd)
{
    struct px *px = cmd->px;
    cmd->rc = 0;
    switch (cmd->op) {
    case CMD_LISTEN: {
        ev_io_set(e->ev, &px->lev, EPOLLIN);
        pthread_mutex_lock(&e->fdmu);
        px->next = e->proxies;
        e->proxies = px;
        pthread_mutex_unlock(&e->fdmu);
        break;
    }
    case CMD_ADD:
        cmd->rc = cmd_add(e, px, &cmd->cfg, cmd->err);
        break;
    case CMD_REMOVE:
        cmd->rc = cmd_remove(e, px, cmd->id, cmd->err);
        break;
    case CMD_STATS: {
        cmd->stats = px->st;
        int n = 0;
        for (struct px_toxic *t = px->toxics; t; t = t->next) n++;
        cmd->stats.toxics = n;
        cmd->stats.listening = px->lfd >= 0;
        break;
    }
    case CMD_CLOSE: {
        pthread_mutex_lock(&e->fdmu);
        struct px **pp = &e->proxies;
        while (*pp && *pp != px) pp = &(*pp)->next;
        if (*pp) *pp = px->next;
        pthread_mutex_unlock(&e->fdmu);
        px_teardown(e, px);
        px->next = e->grave_px;
        e->grave_px = px;
        break;
    }
    case CMD_STOP:
        atomic_store(&e->stop, 1);
        ev_break(e->ev);
        break;
    case CMD_STALL: {
        struct timespec ts = { cmd->id / 1000, (long)(cmd->id % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) { /* the rest of it */ }
        break;
    }
    }
}

/* A command whose caller gave up while it ran leaves nothing behind that nobody knows of:
 * a toxic added for a failed inject is removed again, a listen is closed. */
static void undo_abandoned(struct px_engine *e, struct px_cmd *cmd)
{
    char err[FL_ERR_LEN];
    if (cmd->op == CMD_ADD && cmd->rc > 0) {
        cmd_remove(e, cmd->px, cmd->rc, err);
    } else if (cmd->op == CMD_LISTEN) {
        struct px_cmd cl = { .op = CMD_CLOSE, .px = cmd->px };
        run_cmd(e, &cl);
    }
}

/* One command at a time off the queue: what waits behind a stuck one stays queued, and its
 * caller takes it back when it gives up (only the command running can be abandoned). */
static void drain_cmds(struct ev *ev, void *arg)
{
    struct px_engine *e = arg;
    (void)ev;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        struct px_cmd *cmd = e->cmds;
        if (cmd) {
            e->cmds = cmd->next;
            if (!e->cmds) e->cmds_tail = NULL;
        }
        pthread_mutex_unlock(&e->mu);
        if (!cmd) return;
        run_cmd(e, cmd);
        pthread_mutex_lock(&e->mu);
        int mine = cmd->abandoned || cmd->nowait;
        if (!mine) {
            cmd->done = 1;
            pthread_cond_broadcast(&e->cv);
        }
        pthread_mutex_unlock(&e->mu);
        if (mine) {
            if (cmd->abandoned) undo_abandoned(e, cmd);
            free(cmd);
        }
        if (atomic_load(&e->stop)) return;
    }
}

/* the event loop's handlers */
static void on_listen_ready(struct ev *ev, struct ev_io *io, uint32_t events)
{
    struct px *px = EV_ENTRY(io, struct px, lev);
    struct px_engine *e = px->e;
    (void)ev;
    /* a severed listener (shut down from another thread) reports HUP for ever and accept()
     * fails with EINVAL: close it rather than spin on it */
    if (px->lfd >= 0 && (events & (EPOLLHUP | EPOLLERR))) close_listener(e, px);
    else if (px->lfd >= 0) accept_conns(e, px);
    if (atomic_load(&e->stop)) ev_break(ev);
}

static void on_conn_ready(struct ev *ev, struct ev_io *io, uint32_t events)
{
    struct px_side *ps = EV_ENTRY(io, struct px_side, io);
    struct px_conn *c = ps->c;
    struct px_engine *e = c->px->e;
    /* a connection freed earlier in this batch left epoll: its fd may be reused, but its
     * events were fetched before; skip those of dead objects (they wait in the grave) */
    if (!c->dead) conn_event(e, c, ps->side, events);
    if (atomic_load(&e->stop)) ev_break(ev);
}

static void on_conn_due(struct ev *ev, struct ev_timer *t, int64_t now)
{
    (void)ev;
    struct px_conn *c = EV_ENTRY(t, struct px_conn, tm);
    conn_pump(c->px->e, c, now);
}

static void *engine_main(void *arg)
{
    struct px_engine *e = arg;
    sigset_t ss;
    sigfillset(&ss);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);   /* signals (SIGPIPE, SIGINT) belong to others */
    while (!atomic_load(&e->stop)) {
        if (ev_run_once(e->ev, -1) < 0) break;
        bury(e);
    }
    return NULL;
}

/* ---- public API -------------------------------------------------------------------- */
static int sever_locked(struct px *px)
{
    int n = 0;
    if (px->lfd >= 0) shutdown(px->lfd, SHUT_RDWR);   /* new connections are refused */
    for (struct px_conn *c = px->conns; c; c = c->next) {
        for (int i = 0; i < 2; i++)
            if (c->fd[i] >= 0) shutdown(c->fd[i], SHUT_RDWR);
        n++;
    }
    return n;
}

/* Hand a copy of *req to the engine and wait for it, at most e->timeout_ms: an engine
 * that does not answer in time is stuck (or the process is starved), and the caller gets
 * -1 with err rather than a hang; the copy then belongs to the engine. On success the
 * results (rc, err, stats) are copied back into *req. */
static int submit(struct px_engine *e, struct px_cmd *req)
{
    struct px_cmd *cmd = fl_malloc(sizeof *cmd);
    *cmd = *req;
    cmd->next = NULL;
    cmd->done = cmd->abandoned = 0;
    cmd->err[0] = '\0';
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int ms = atomic_load(&e->timeout_ms);
    if (ms <= 0) ms = PX_CMD_TIMEOUT_MS;
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&e->mu);
    if (e->cmds_tail) e->cmds_tail->next = cmd; else e->cmds = cmd;
    e->cmds_tail = cmd;
    ev_wake(e->ev);
    if (cmd->nowait) {
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
    int rc = 0;
    while (!cmd->done && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&e->cv, &e->mu, &dl);
    if (!cmd->done) {
        /* still queued: take it back; running: the engine undoes and frees it when done */
        struct px_cmd **pp = &e->cmds, *prev = NULL;
        while (*pp && *pp != cmd) { prev = *pp; pp = &(*pp)->next; }
        if (*pp) {
            *pp = cmd->next;
            if (e->cmds_tail == cmd) e->cmds_tail = prev;
            free(cmd);
            req->abandoned = 0;
        } else {
            cmd->abandoned = 1;
            req->abandoned = 1;
        }
        pthread_mutex_unlock(&e->mu);
        fl_err(req->err, "the proxy engine did not answer within %d ms", ms);
        req->rc = PX_STUCK;
        return PX_STUCK;
    }
    pthread_mutex_unlock(&e->mu);
    req->rc = cmd->rc;
    req->stats = cmd->stats;
    memcpy(req->err, cmd->err, sizeof req->err);
    free(cmd);
    return req->rc;
}

struct px_engine *px_engine_new(char *err)
{
    struct px_engine *e = fl_calloc(1, sizeof *e);
    char eerr[FL_ERR_LEN];
    if (!(e->ev = ev_new(drain_cmds, e, eerr))) {
        fl_err(err, "proxy engine: %s", eerr);
        free(e);
        return NULL;
    }
    if (getrandom(&e->rng, sizeof e->rng, 0) != sizeof e->rng || !e->rng)
        e->rng = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
    e->scratch = fl_malloc(PX_READ_MAX);
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->fdmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* submit's deadline */
    pthread_cond_init(&e->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_store(&e->timeout_ms, PX_CMD_TIMEOUT_MS);
    int rc = pthread_create(&e->th, NULL, engine_main, e);
    if (rc != 0) {
        fl_err(err, "proxy engine: cannot start thread: %s", strerror(rc));
        ev_free(e->ev);
        free(e->scratch);
        free(e);
        return NULL;
    }
    e->started = 1;
    return e;
}

void px_engine_free(struct px_engine *e)
{
    if (!e) return;
    struct px_cmd cmd = { .op = CMD_STOP };
    if (submit(e, &cmd) < 0) {
        /* a stuck engine: it cannot be joined, and it may still use what it owns. Cut
         * every client off (no client waits on a proxy that forwards nothing), leave the
         * thread and its memory to the process exit, which closes the rest. */
        fl_log(FL_LOG_ERROR, "proxy engine stuck: %s; dropping all of its connections", cmd.err);
        pthread_mutex_lock(&e->fdmu);
        for (struct px *px = e->proxies; px; px = px->next) sever_locked(px);
        pthread_mutex_unlock(&e->fdmu);
        atomic_store(&e->stop, 1);   /* should it wake: stop, do not serve severed sockets */
        pthread_detach(e->th);
        return;
    }
    pthread_join(e->th, NULL);
    while (e->proxies) {
        struct px *px = e->proxies;
        e->proxies = px->next;
        px_teardown(e, px);
        free(px);
    }
    bury(e);
    ev_free(e->ev);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->fdmu);
    pthread_cond_destroy(&e->cv);
    free(e->scratch);
    free(e);
}

struct px *px_listen(struct px_engine *e, const char *listen, const char *upstream, char *err)
{
    struct px *px = fl_calloc(1, sizeof *px);
    px->e = e;
    px->lfd = -1;
    snprintf(px->listen_addr, sizeof px->listen_addr, "%s", listen ? listen : "");
    snprintf(px->upstream_addr, sizeof px->upstream_addr, "%s", upstream ? upstream : "");
    if (resolve(px->upstream_addr, &px->up_sa, &px->up_len, err) < 0 ||
        resolve(px->listen_addr, &px->ls_sa, &px->ls_len, err) < 0) {
        free(px);
        return NULL;
    }
    int fd = listen_socket(px, err);
    if (fd < 0) { free(px); return NULL; }
    /* with port 0 the kernel chose: remember the real address for the next listen */
    px->ls_len = sizeof px->ls_sa;
    getsockname(fd, (struct sockaddr *)&px->ls_sa, &px->ls_len);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (px->ls_sa.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&px->ls_sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        snprintf(px->listen_addr, sizeof px->listen_addr, "%s:%d", host, port);
    } else if (px->ls_sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&px->ls_sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        snprintf(px->listen_addr, sizeof px->listen_addr, "[%s]:%d", host, port);
    }
    px->lfd = fd;
    px->lev = (struct ev_io){ on_listen_ready, fd, 0 };
    struct px_cmd cmd = { .op = CMD_LISTEN, .px = px };
    if (submit(e, &cmd) < 0) {
        fl_err(err, "%s", cmd.err);
        if (!cmd.abandoned) {      /* never ran: px is still ours */
            close(fd);
            free(px);
        }                          /* else the engine closes it when it gets there */
        return NULL;
    }
    return px;
}

const char *px_address(const struct px *px) { return px->listen_addr; }

static int check_cfg(const struct px *px, const struct px_toxic_cfg *c, char *err)
{
    const char *k = px_kind_name(c->kind);
    if (c->probability < 0 || c->probability > 1)
        return fl_err(err, "proxy '%s': %s: probability must be within 0..1", px->listen_addr, k);
    if (c->direction > PX_DIR_BOTH)
        return fl_err(err, "proxy '%s': %s: bad direction", px->listen_addr, k);
    switch (c->kind) {
    case PX_LATENCY:
        if (c->latency_us < 0 || c->jitter_us < 0)
            return fl_err(err, "proxy '%s': latency and jitter must not be negative", px->listen_addr);
        break;
    case PX_BANDWIDTH:
        if (!(c->rate > 0)) return fl_err(err, "proxy '%s': bandwidth rate must be positive", px->listen_addr);
        break;
    case PX_SLOW_CLOSE: case PX_HTTP_DELAY:
        if (c->delay_us < 0) return fl_err(err, "proxy '%s': %s: delay must not be negative", px->listen_addr, k);
        break;
    case PX_HTTP_ERROR:
        if (c->status < 100 || c->status > 599)
            return fl_err(err, "proxy '%s': http_error status %d is not 100..599", px->listen_addr, c->status);
        if (c->share < 0 || c->share > 1)
            return fl_err(err, "proxy '%s': http_error share must be within 0..1", px->listen_addr);
        break;
    case PX_TIMEOUT: case PX_RESET: case PX_DOWN:
        break;
    default:
        return fl_err(err, "proxy '%s': unknown toxic kind %d", px->listen_addr, (int)c->kind);
    }
    return 0;
}

int px_add_toxic(struct px *px, const struct px_toxic_cfg *cfg, char *err)
{
    if (check_cfg(px, cfg, err) < 0) return -1;
    struct px_cmd cmd = { .op = CMD_ADD, .px = px, .cfg = *cfg };
    int rc = submit(px->e, &cmd);
    if (rc < 0) fl_err(err, "%s", cmd.err);
    return rc;
}

int px_remove_toxic(struct px *px, int id, char *err)
{
    struct px_cmd cmd = { .op = CMD_REMOVE, .px = px, .id = id };
    int rc = submit(px->e, &cmd);
    if (rc < 0) fl_err(err, "%s", cmd.err);
    return rc;
}

int px_stats(struct px *px, struct px_stats *out)
{
    struct px_cmd cmd = { .op = CMD_STATS, .px = px };
    int rc = submit(px->e, &cmd);
    *out = cmd.stats;
    return rc;
}

void px_close(struct px *px)
{
    if (!px) return;
    struct px_engine *e = px->e;
    struct px_cmd cmd = { .op = CMD_CLOSE, .px = px };
    if (submit(e, &cmd) < 0) {
        /* the close may have run by now (and px be freed): sever px only while the engine
         * still lists it, which it cannot stop doing while fdmu is held */
        pthread_mutex_lock(&e->fdmu);
        for (struct px *p = e->proxies; p; p = p->next)
            if (p == px) { sever_locked(px); break; }
        pthread_mutex_unlock(&e->fdmu);
    }
}

int px_sever(struct px *px)
{
    pthread_mutex_lock(&px->e->fdmu);
    int n = sever_locked(px);
    pthread_mutex_unlock(&px->e->fdmu);
    return n;
}

struct px_engine *px_engine_of(const struct px *px) { return px->e; }

void px_engine_set_timeout(struct px_engine *e, int ms) { atomic_store(&e->timeout_ms, ms > 0 ? ms : PX_CMD_TIMEOUT_MS); }

void px_engine_stall(struct px_engine *e, int ms)
{
    struct px_cmd cmd = { .op = CMD_STALL, .id = ms, .nowait = 1 };
    submit(e, &cmd);
}
