/* proxy_engine.h -- the TCP fault proxy engine: one epoll thread forwards every proxy's
 * connections (non-blocking, no thread per connection) and applies toxics to them.
 *
 * Call order (any thread except the engine's own):
 *   struct px_engine *e = px_engine_new(err);             -- starts the engine thread
 *   struct px *px = px_listen(e, "127.0.0.1:15432", "127.0.0.1:5432", err);
 *   int id = px_add_toxic(px, &cfg, err);                 -- > 0, or -1 with err
 *   px_remove_toxic(px, id, err);                         -- flushes what the toxic holds
 *   px_close(px);                                         -- stops listening, closes its connections
 *   px_engine_free(e);                                    -- closes what is left, joins the thread
 * px handles belong to the engine: px_close() frees them, px_engine_free() frees the rest.
 * Every call is synchronous: it returns once the engine thread has applied it (or after
 * a timeout: see px_sever below).
 *
 * Data path: each connection is a pair of sockets and two directions (upstream: client ->
 * server, downstream: server -> client). A direction without toxics forwards with
 * splice(2) through a pipe (no copy into user space). With toxics, data is read in chunks
 * stamped with their arrival time and passes a chain of stages, one per toxic, in the
 * order the toxics were added (toxiproxy's ToxicLink); each stage holds, slices or drops
 * chunks and says when it next needs to run (one timerfd, a heap of connections).
 * Removing a toxic hands what its stage holds to the next stage: healthy connections are
 * never dropped. Probability is rolled once per connection and toxic.
 */
#ifndef FL_PROXY_ENGINE_H
#define FL_PROXY_ENGINE_H

#include <stdint.h>
#include "fl.h"

enum px_kind {
    PX_LATENCY,      /* latency_us + uniform jitter in [-jitter_us, +jitter_us] per chunk */
    PX_BANDWIDTH,    /* rate bytes per second */
    PX_TIMEOUT,      /* hold every byte (and the close) until removed */
    PX_RESET,        /* RST (SO_LINGER 0) existing connections and every new one */
    PX_DOWN,         /* refuse new connections (probability 1: the listener is closed) */
    PX_SLOW_CLOSE,   /* delay forwarding a close (FIN) by delay_us */
    PX_HTTP_ERROR,   /* answer `share` of HTTP/1.1 requests with `status`, not forwarded */
    PX_HTTP_DELAY,   /* hold HTTP response headers for delay_us */
    PX_SLICER,       /* cut data into pieces of average_size +- size_variation, delay_us apart */
    PX_LIMIT_DATA,   /* close the connection once `bytes` have passed in a direction */
    PX_NKINDS        /* the rows of px_toxics[] (proxy_toxics.h) */
};

enum { PX_DIR_UPSTREAM = 1, PX_DIR_DOWNSTREAM = 2, PX_DIR_BOTH = 3 };

struct px_toxic_cfg {
    enum px_kind kind;
    unsigned direction;      /* PX_DIR_*; 0 = the kind's default (latency/bandwidth:
                                downstream; timeout/slow_close: both) */
    double probability;      /* per connection, 0..1 */
    int64_t latency_us, jitter_us;
    double rate;             /* bytes per second */
    int64_t delay_us;        /* slow_close, http_delay */
    int status;              /* http_error */
    double share;            /* http_error: fraction of requests answered with status */
    int64_t timeout_us;      /* timeout: close the connection after this (0 = hold for ever) */
    int64_t average_size, size_variation;   /* slicer (bytes) */
    int64_t bytes;           /* limit_data */
    char match_method[16];   /* http_*: only requests with this method ("" = any) */
    char match_path[256];    /* http_*: only paths with this prefix, or this glob when it has *?[ */
    int64_t first;           /* http_*: only the first N matching requests of the toxic (0 = all) */
};

struct px_stats {
    uint64_t accepted;       /* connections accepted */
    uint64_t active;         /* connections open now */
    uint64_t refused;        /* new connections refused or reset by down/reset */
    uint64_t reset;          /* existing connections reset by a reset toxic */
    uint64_t bytes_up, bytes_down;   /* bytes written to upstream / to clients */
    uint64_t http_errors;    /* requests answered by http_error */
    int toxics;              /* toxics in place */
    int listening;           /* 1 when the listener is open */
};

struct px_engine;
struct px;

#define PX_STUCK (-2)        /* a call's result when the engine did not answer in time */

struct px_engine *px_engine_new(char *err);
void px_engine_free(struct px_engine *e);

/* Parse "host:port" / "[v6]:port" (no I/O); 0 or -1 with err. host/port may be NULL. */
int px_addr_check(const char *addr, char *err);

/* Start listening on `listen` and forwarding to `upstream` (resolved now). */
struct px *px_listen(struct px_engine *e, const char *listen, const char *upstream, char *err);
/* the bound address ("127.0.0.1:15432"; with port 0 asked, the port chosen) */
const char *px_address(const struct px *px);
int px_add_toxic(struct px *px, const struct px_toxic_cfg *cfg, char *err);
int px_remove_toxic(struct px *px, int id, char *err);
/* 0, or PX_STUCK when the engine did not answer (out is then zeroed) */
int px_stats(struct px *px, struct px_stats *out);
void px_close(struct px *px);

/* Every call above waits for the engine at most a timeout (5 s; px_engine_set_timeout
 * changes it) and fails with PX_STUCK and "the proxy engine did not answer within N ms": a
 * stuck engine fails a revert instead of hanging the run. The fallback for such a proxy:
 * px_sever() shuts down its listener and every connection from the calling thread, so no
 * client hangs on it (new connections are refused); it returns the connections cut.
 * px_close() and px_engine_free() fall back to it by themselves. */
int px_sever(struct px *px);
struct px_engine *px_engine_of(const struct px *px);
void px_engine_set_timeout(struct px_engine *e, int ms);
/* for tests: the engine thread sleeps ms, the way a stuck engine would (no wait here) */
void px_engine_stall(struct px_engine *e, int ms);

const char *px_kind_name(enum px_kind k);   /* the toxic table's name of kind k */

#endif
