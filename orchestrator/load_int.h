/* load_int.h -- what the files of the load engine share (load.h is its public side):
 * the parsed block (load_config.c), the engine's objects (load_engine.c, load_epoll.c),
 * the windows of figures (load_stats.c) and the lifecycle (load_prep.c).
 *
 * struct lg owns its blocks (struct lg_blk, one per `load:` block); a block owns its
 * users (one libcurl easy handle each), its prepared requests and its windows. The
 * engine thread alone touches users, requests and the multi handle; figures are read
 * from any thread under lg->mu.
 */
#ifndef FL_LOAD_INT_H
#define FL_LOAD_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "buf.h"
#include "hist.h"
#include "load.h"
#include "theap.h"
#include "value.h"

/* ---- a parsed block (plan side) ---------------------------------------------------- */
struct lg_kv { char *k, *v; };

struct lg_req_cfg {
    char *name;
    char *method;
    char *path;
    struct lg_kv *headers; size_t nheaders;
    char *body;            /* literal text, or the JSON text of json: */
    int body_is_json;
    char *json_file;
    struct lg_kv *form; size_t nform;
    double weight;
};

struct lg_stage { double to; int64_t over_ms; };

struct lg_block_cfg {
    char *name;
    char *base_url;        /* without a trailing '/' */
    struct lg_kv *headers; size_t nheaders;
    int has_login;
    struct lg_req_cfg login;
    char *token_field;
    struct lg_req_cfg *reqs; size_t nreqs;
    int open;              /* rate: given */
    int64_t vus;           /* closed: users; open: cap in flight */
    double rate;           /* per second */
    int64_t think_lo, think_hi;
    char *think_text;
    struct lg_stage *ramp; size_t nramp;
    int64_t duration_ms;   /* 0 = the run's */
    int64_t timeout_ms;
    struct expect *thresholds; size_t nthresholds;
};

#define LG_OPEN_CAP_DEFAULT 10000
#define LG_OPEN_WINS 8   /* open per-second windows: requests finishing up to ~7 s after they were sent */
#define LG_MAX_VUS 100000

/* ---- the engine's objects ------------------------------------------------------------ */
enum { EC_CONNECT, EC_TIMEOUT, EC_4XX, EC_5XX, EC_OTHER, EC_N };
enum { U_IDLE, U_THINK, U_BUSY };

#define LOGIN_RETRY_NS 500000000LL      /* after a failed login */
#define RELOGIN_PAUSE_NS 1000000000LL   /* after RELOGIN_STREAK 401s in a row */
#define RELOGIN_STREAK 3
#define REPLY_CAP (64 * 1024)           /* login reply kept for the token */
#define WAKE_MAX_NS 50000000LL          /* re-check stop / abort at least this often */
#define RAMP_TICK_NS 10000000LL         /* closed-model ramp resolution */

struct lg_counts { uint64_t count, err[EC_N]; };

struct lg_win { struct lg_counts c; struct hist_sparse hs; };

struct lg_ep { struct lg_counts c; struct hist h; };

/* one request ready for libcurl */
struct lg_prep {
    const struct lg_req_cfg *cfg;
    char *url;
    CURLU *uh;             /* the URL parsed once: libcurl copies it per transfer instead of parsing */
    char *body; size_t body_len; int has_body;
    int head;
    char *custom;          /* CURLOPT_CUSTOMREQUEST or NULL */
    struct curl_slist *hdrs;
};

struct lg_blk;
struct lg_sock;

/* a virtual user (closed model) or an in-flight slot (open model): one easy handle */
struct lg_user {
    struct lg_blk *b;
    CURL *easy;
    size_t index;
    int state;
    int ep;                /* endpoint in flight (cfg->nreqs = login) */
    int set_ep;            /* endpoint whose options are set on easy, -1 none */
    int64_t t_start;       /* latency origin, ns */
    struct theap_node tm;  /* think / login retry timer (due: ns) */
    uint64_t rng;
    char *token;           /* closed model: this user's token */
    char *auth;            /* "Authorization: Bearer <token>" */
    uint64_t auth_gen;     /* open model: block token generation auth was built from */
    struct curl_slist auth_node;
    int relogin_streak;
    int capture;
    struct buf reply;
    struct lg_user *next_free;
};

struct lg_blk {
    struct lg *lg;
    struct lg_block_cfg *cfg;
    size_t idx;
    struct lg_prep *preps; size_t nprep;   /* nreqs, then login when there is one */
    double *cum_weight;
    int64_t end_ns;
    int done;
    /* metrics, under lg->mu */
    struct lg_win *wins; size_t nwins;
    /* the seconds that may still receive requests (a request counts in the second it was
     * sent, and can finish up to its timeout later): a ring of open windows */
    int64_t open_sec[LG_OPEN_WINS];
    struct lg_counts open_c[LG_OPEN_WINS];
    struct lg_ep *eps; size_t neps;
    uint64_t logins, drops, interrupted;
    /* users: closed model by index, open model a pool of slots */
    struct lg_user **users; size_t nusers, ausers;
    size_t active;                         /* closed: users [0, active) run */
    /* open model */
    uint64_t issued;
    int64_t next_due;                      /* ns, absolute */
    struct lg_user *free_slots;
    size_t inflight;
    struct lg_user *login_user;
    char *token; uint64_t token_gen;
    int login_busy; int64_t login_retry_at; int relogin_streak;
    uint64_t rng;                          /* which request a dropped arrival was */
    struct hist open_h[LG_OPEN_WINS];      /* the open windows' histograms (32 KiB each) */
};

struct lg {
    struct lg_blk **blocks; size_t nblocks;
    uint64_t seed;
    pthread_mutex_t mu;                    /* metrics */
    pthread_mutex_t join_mu;
    pthread_t th;
    int started, joined;
    atomic_int stop, running;
    int64_t t0_ns, duration_ms, end_ns;
    _Atomic int64_t stopped_ns;
    CURLM *multi;
    int use_poll;
    struct ev *ev;                         /* epoll loop (load_epoll.c) */
    struct lg_sock *sock_grave;            /* epoll loop: sockets libcurl let go this round */
    int tfd;                               /* poll loop: timerfd for sub-millisecond wake-ups */
    int64_t curl_due;                      /* ns, -1 none */
    struct theap timers;                   /* users waiting: think time, login retry */
};

/* load_config.c */
void lg_kv_free(struct lg_kv *kv, size_t n);

/* load_stats.c: a finished request into its block's figures (under lg->mu); the error
 * class of a transfer (-1 = success) */
int lg_classify(CURLcode rc, long status);
void lg_record(struct lg_blk *b, int ep, int64_t start_ns, int64_t lat_ns, int cls, int has_latency);

/* load_engine.c: the engine thread; a user's easy handle and memory */
void *lg_engine_main(void *arg);
void lg_user_free(struct lg_user *u);

/* load_epoll.c: the alternative loop (FL_LG_LOOP=epoll): libcurl's socket_action on the
 * engines' event loop (ev.h). init after the multi handle exists (0, or -1 with err);
 * wait: one round of up to wait_ns; wake: from another thread; release: after the multi
 * handle is gone */
int lg_epoll_init(struct lg *lg, char *err);
void lg_epoll_wait(struct lg *lg, int64_t wait_ns);
void lg_epoll_wake(struct lg *lg);
void lg_epoll_release(struct lg *lg);

#endif
