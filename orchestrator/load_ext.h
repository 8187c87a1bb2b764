/* load_ext.h -- load from an outside tool (`command:` + `format: jsonl`, `locust:`, `k6:`)
 * ingested request by request into a load block's windows (docs/load-tools.md).
 *
 * Plan side (load_ext.c, no I/O): lg_block_parse() hands a block with command:/locust:/k6: to
 * lgx_cfg_parse(); the block then has no base_url/requests and its cfg->ext says what to run.
 *
 * Run side (load_tool.c; load_prep.c calls these; the engine thread never touches an ext block):
 *   lgx_start(b, d, err), lgx_wait_ready(b, ms, err) -- at lg_prestart, before the run's clock:
 *                         the tool started in its own process group, with a reader thread that
 *                         parses its lines into lg_record(); a tool that ends before its first
 *                         line is an error with its output's tail
 *   lgx_clock(b)       -- at lg_start: requests sent from now on count
 *   lgx_stop(b)        -- at lg_stop / the block's end / abort: SIGTERM to the group, SIGKILL
 *                         after 3 s, reaped, the reader joined; nothing of it keeps running
 *   lgx_failure(b, buf)-- 1 when the tool ended before the block's end (why, with its stderr tail)
 *
 * Line formats (both parsers take outside input: tests/fuzz/fuzz_load_lines.c):
 *   LGX_JSONL  faultline's one JSON object per request:
 *              {"t": 1765000000.25, "name": "GET /api/x", "method": "GET", "latency_ms": 12.5,
 *               "status": 200, "error": "text" | null, "class": "connect"|"timeout"|"other"}
 *              t (unix seconds, when the request was sent) and latency_ms are required;
 *              a line {"event": "..."} is a notice, not a request.
 *   LGX_K6JSON k6's `--out json` lines: "Point" samples of http_req_duration are requests
 *              (tags name, method, status, expected_response, error_code; time = end of request)
 */
#ifndef FL_LOAD_EXT_H
#define FL_LOAD_EXT_H

#include <stddef.h>
#include <stdint.h>
#include "node.h"

enum { LGX_COMMAND, LGX_LOCUST, LGX_K6 };
enum { LGX_JSONL, LGX_K6JSON };

#define LGX_NAME_MAX 128
#define LGX_MAX_ENDPOINTS 200     /* names past it are counted under "(other)" */
#define LGX_LINE_MAX (64 * 1024)
#define LGX_LOCUST_PY "/usr/bin/python3"   /* Debian's, with python3-locust */

struct lg_ext_cfg {
    int kind, format;
    char **argv;           /* command: */
    char *file;            /* locust: file / k6: script */
    int64_t users;
    double spawn_rate;
    char *host;
    char **tags, **args;
    char *program;         /* what is run: "locust" / "k6" / argv[0] */
    int line, col;         /* of the tool's key in the plan */
};

/* one request read from a tool */
struct lgx_rec {
    double t_sent;         /* unix seconds */
    double lat_ms;
    int status;            /* 0: no response */
    int cls;               /* -1 success, else EC_* of load_int.h */
    char name[LGX_NAME_MAX];
    char method[16];
};

/* 1: a request in *rec; 0: a line that is no request (a k6 metric declaration or another
 * metric, a faultline notice, an empty line); -1: not valid (err says why) */
int lgx_parse_line(int format, const char *line, size_t len, struct lgx_rec *rec, char *err);
/* RFC 3339 time ("2017-05-09T14:34:45.625742514+02:00") -> unix seconds; 0 or -1 */
int lgx_rfc3339(const char *s, double *out);

struct plan;
struct diag;
struct lg_block_cfg;
/* the command:/locust:/k6: keys of a block; the number of errors */
int lgx_cfg_parse(struct lg_block_cfg *c, const struct node *map, const char *what, struct diag *d);
void lgx_cfg_free(struct lg_ext_cfg *x);
void lgx_describe(const struct lg_ext_cfg *x, char *out, size_t outlen);
/* is the tool's program on PATH? 0, or -1 with the package that brings it in err */
int lgx_check_installed(const struct lg_ext_cfg *x, char *err);
/* the full path of prog on PATH (or prog itself when it holds a '/'); NULL when absent */
char *lgx_which(const char *prog);

struct lg_blk;
/* started before the run's clock (lg_prestart): ready when its first line came (Locust: the
 * hook's "ready" notice; k6: alive for 2 s); lines sent before lgx_clock() are not counted */
int lgx_start(struct lg_blk *b, int64_t dur_hint_ms, char *err);
int lgx_wait_ready(struct lg_blk *b, int64_t timeout_ms, char *err);
void lgx_clock(struct lg_blk *b);
void lgx_stop(struct lg_blk *b);
int lgx_failure(struct lg_blk *b, char *buf, size_t len);
void lgx_free(struct lg_blk *b);
/* what run.json says of the tool: lines, requests, malformed lines, its exit, its output tail */
#include <jansson.h>
json_t *lgx_to_json(struct lg_blk *b);

#endif
