/* load.h -- the load engine: background HTTP load with per-second latency, errors and
 * thresholds (PLAN-FORMAT.md `load:`).
 *
 * Plan side (no I/O):
 *   struct lg_block_cfg *c = lg_block_parse(plan, map, &diag);  -- NULL when invalid (diag says why)
 *   ... lg_block_free(c);                                      -- the plan owns its blocks
 *
 * Run side:
 *   struct lg *lg = lg_new(blocks, n, seed, err);   -- reads json_file bodies; blocks stay owned by the caller
 *   lg_start(lg, t0_ns, duration_ms, err);           -- one background thread runs every block
 *   lg_query(lg, "readers", from_ms, to_ms, &st);    -- any time, from any thread
 *   lg_stop(lg);                                     -- or it stops by itself at the duration / on fl_aborted()
 *   json_t *j = lg_to_json(lg); lg_thresholds_ok(lg);
 *   lg_free(lg);                                     -- stops and joins first when still running
 *
 * Semantics:
 * - Closed model (`vus:`): each virtual user logs in once (when `login:` is given), then
 *   sends one request at a time, waiting `think` between them. Latency runs from when the
 *   request is handed to libcurl until libcurl reports it done.
 * - Open model (`rate:`): arrivals at a fixed rate, each timed from its intended send time,
 *   so a stalled server shows up as latency, not as fewer requests. At most `vus:` (default
 *   10000) requests are in flight; arrivals beyond that are dropped and counted as errors
 *   (class "other"). The block logs in once and shares the token (again after a 401).
 * - `ramp:` stages start from 0 and move linearly to each `to` over `over`; after the last
 *   stage the level holds at its `to`. `to` counts virtual users (closed) or is a rate
 *   (open: "100/s" or a number per second); every `to` must be <= `vus` / `rate`.
 * - A request counts in the one-second window in which it completed (run clock). Every
 *   completed request, failed or not, enters the latency histogram (as in k6). Requests
 *   still in flight when the load stops are dropped ("interrupted" in the JSON).
 * - Errors by class: connect (refused, unreachable, resolve), timeout, 4xx, 5xx, other
 *   (reset, empty reply, dropped open-model arrivals, failed logins without a status).
 *   Login requests count in their block's metrics as the endpoint "login".
 * - Only the plan's URLs are contacted: redirects are not followed, proxy variables of the
 *   environment (http_proxy, ...) are ignored, only http:// and https:// are allowed.
 * - Event loop: libcurl multi driven by curl_multi_poll (default), or by socket_action over
 *   epoll when FL_LG_LOOP=epoll. Both are kept and measured by tests/bench/load_bench.sh;
 *   curl_multi_poll was faster there (libcurl does the same work per request either way,
 *   and the epoll loop pays extra epoll_ctl and wake-ups).
 */
#ifndef FL_LOAD_H
#define FL_LOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "node.h"
#include "lg_stats.h"
#include "params.h"

struct plan;
struct lg_block_cfg;
struct lg;

struct lg_block_cfg *lg_block_parse(struct plan *p, const struct node *map, struct diag *d);
const char *lg_block_name(const struct lg_block_cfg *c);
void lg_block_free(struct lg_block_cfg *c);
/* its own duration (0 = the run's) and a one-line description ("50 vus, think 100ms..300ms") */
int64_t lg_block_duration_ms(const struct lg_block_cfg *c);
void lg_block_describe(const struct lg_block_cfg *c, char *out, size_t outlen);
/* an outside tool's block (command:/locust:/k6:): is its program installed? 0, or -1 with
 * err ("locust not found: apt-get install python3-locust") and the plan position of its key;
 * 0 for a built-in block. Looks at PATH only (validate, and the run before anything). */
int lg_block_tool_check(const struct lg_block_cfg *c, int *line, int *col, char *err);
extern const struct param_spec lg_block_params[];      /* for `faultline list` */
extern const struct param_spec lg_request_params[];    /* items of `requests:` */
extern const struct param_spec lg_login_params[];      /* `login:` */

struct lg *lg_new(struct lg_block_cfg *const *blocks, size_t n, uint64_t seed, char *err);
/* outside tools (command:/locust:/k6:) started and waited for (their first line) before the
 * run's clock starts; a tool that ends or stays silent: -1 with its output's tail in err, and
 * nothing of it left running. lg_start calls it when the caller did not. */
int lg_prestart(struct lg *lg, int64_t duration_ms, char *err);
int lg_start(struct lg *lg, int64_t t0_ns, int64_t duration_ms, char *err);
void lg_stop(struct lg *lg);
/* 1 when an outside tool (command:/locust:/k6:) ended before its block's end: buf says which,
 * how, and its output's last lines (the run aborts on it) */
int lg_tool_failure(struct lg *lg, char *buf, size_t len);
/* 1 while the engine thread runs */
int lg_running(struct lg *lg);
/* wait until the engine stops by itself or timeout_ms passes (or fl_aborted()); 0 = stopped */
int lg_wait(struct lg *lg, int64_t timeout_ms);

/* Window [from_ms, to_ms) of the run clock, rounded to the nearest whole seconds (a window
 * shorter than a second: the seconds it touches) and cut at the time elapsed so far; a
 * request counts in the second it was sent. block NULL = all blocks. -1: unknown block. */
int lg_query(struct lg *lg, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out);
/* the same for one endpoint of a block over the whole run (index as in lg_endpoint_name) */
int lg_query_endpoint(struct lg *lg, const char *block, size_t endpoint, struct lg_stats *out);
size_t lg_nblocks(const struct lg *lg);
const char *lg_block_at(const struct lg *lg, size_t i);
size_t lg_nendpoints(struct lg *lg, const char *block);
const char *lg_endpoint_name(struct lg *lg, const char *block, size_t endpoint);
/* logins sent (including re-logins after a 401) */
uint64_t lg_logins(struct lg *lg, const char *block);
int64_t lg_elapsed_ms(struct lg *lg);

/* A JSON array, one object per block: name, config summary, totals, thresholds with
 * verdicts, endpoints (per-endpoint totals) and "series" (one object per second). */
json_t *lg_to_json(struct lg *lg);
/* 0 when a block's threshold failed on its evidence (a threshold without evidence does not fail) */
int lg_thresholds_ok(struct lg *lg);
/* 1 when the block has a threshold that could not be judged: no request completed in the run */
int lg_thresholds_without_evidence(struct lg *lg, const char *block);
void lg_free(struct lg *lg);

#endif
