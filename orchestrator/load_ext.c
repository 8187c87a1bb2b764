/* load_ext.c -- load blocks run by an outside tool (command: + jsonl, locust:, k6:): the plan
 * keys, the two line formats, and the tool's process group with the thread that reads its
 * requests into the block's windows (see load_ext.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fl.h"
#include "load_int.h"
#include "params.h"

/* ---- plan keys --------------------------------------------------------------------- */

static const struct param_spec locust_params[] = {
    { "file", PT_STR, PARAM_REQUIRED, "the locustfile (its users and tasks as they are)" },
    { "users", PT_INT, 0, "peak number of Locust users (-u, default 10)" },
    { "spawn_rate", PT_NUM, 0, "users started per second (-r, default: users)" },
    { "host", PT_STR, 0, "base URL (-H; default: the locustfile's host)" },
    { "tags", PT_STRLIST, 0, "run only tasks with these tags (-T)" },
    { "args", PT_STRLIST, 0, "more locust arguments, as they are" },
    { 0 },
};

static const struct param_spec k6_params[] = {
    { "script", PT_STR, PARAM_REQUIRED, "the k6 script (its scenarios and options as they are)" },
    { "args", PT_STRLIST, 0, "more `k6 run` arguments, as they are" },
    { 0 },
};

/* keys of the built-in engine that an outside tool's block does not take */
static const char *const builtin_only[] = { "base_url", "headers", "login", "requests", "vus", "think",
                                            "rate", "ramp", "timeout", NULL };

void lgx_cfg_free(struct lg_ext_cfg *x)
{
    if (!x) return;
    param_strv_free(x->argv);
    free(x->file);
    free(x->host);
    param_strv_free(x->tags);
    param_strv_free(x->args);
    free(x->program);
    free(x);
}

int lgx_cfg_parse(struct lg_block_cfg *c, const struct node *map, const char *what, struct diag *d)
{
    int bad = 0;
    const struct node *cm = node_get(map, "command"), *lo = node_get(map, "locust"), *k6 = node_get(map, "k6");
    if ((cm != NULL) + (lo != NULL) + (k6 != NULL) > 1) {
        diag_add(d, map, "%s: give one of command:, locust:, k6:", what);
        return 1;
    }
    for (size_t i = 0; builtin_only[i]; i++)
        if (node_get(map, builtin_only[i])) {
            diag_add(d, node_get(map, builtin_only[i]), "%s: '%s' is a key of the built-in engine; the %s decides it",
                     what, builtin_only[i], cm ? "command" : lo ? "locustfile" : "k6 script");
            bad++;
        }
    struct lg_ext_cfg *x = fl_calloc(1, sizeof *x);
    c->ext = x;
    const struct node *at = cm ? cm : lo ? lo : k6;
    x->line = at->line;
    x->col = at->col;
    const char *fmt = param_str(map, "format", NULL);
    if (cm) {
        x->kind = LGX_COMMAND;
        x->format = LGX_JSONL;
        x->argv = param_argv(map, "command");
        if (!x->argv || !x->argv[0] || !*x->argv[0]) {
            diag_add(d, cm, "%s: command is empty", what);
            bad++;
        } else {
            x->program = fl_strdup(x->argv[0]);
        }
        if (!fmt) {
            diag_add(d, cm, "%s: a command needs format: jsonl (one JSON line per request, docs/load-tools.md)", what);
            bad++;
        } else if (!strcmp(fmt, "jsonl")) {
            x->format = LGX_JSONL;
        } else if (!strcmp(fmt, "k6-json")) {
            x->format = LGX_K6JSON;
        } else {
            diag_add(d, node_get(map, "format"), "%s: format '%s' is not known (jsonl or k6-json)", what, fmt);
            bad++;
        }
        return bad;
    }
    if (fmt) {
        diag_add(d, node_get(map, "format"), "%s: format: goes with command:; %s has its own", what,
                 lo ? "locust" : "k6");
        bad++;
    }
    char w2[200];
    if (lo) {
        x->kind = LGX_LOCUST;
        x->format = LGX_JSONL;
        x->program = fl_strdup("locust");
        snprintf(w2, sizeof w2, "%s locust", what);
        if (params_check(lo, locust_params, NULL, w2, d) || lo->type != NODE_MAP) return bad + 1;
        x->file = fl_strdup(param_str(lo, "file", ""));
        x->users = param_int(lo, "users", 10);
        if (x->users < 1 || x->users > 100000) {
            diag_add(d, node_get(lo, "users"), "%s: users must be between 1 and 100000", w2);
            bad++;
        }
        x->spawn_rate = param_num(lo, "spawn_rate", (double)x->users);
        if (!(x->spawn_rate > 0)) {
            diag_add(d, node_get(lo, "spawn_rate"), "%s: spawn_rate must be above 0", w2);
            bad++;
        }
        if (node_get(lo, "host")) {
            x->host = fl_strdup(param_str(lo, "host", ""));
            if (strncmp(x->host, "http://", 7) && strncmp(x->host, "https://", 8)) {
                diag_add(d, node_get(lo, "host"), "%s: host '%s' must be an http:// or https:// URL", w2, x->host);
                bad++;
            }
        }
        x->tags = param_strv(lo, "tags");
        x->args = param_strv(lo, "args");
    } else {
        x->kind = LGX_K6;
        x->format = LGX_K6JSON;
        x->program = fl_strdup("k6");
        snprintf(w2, sizeof w2, "%s k6", what);
        if (params_check(k6, k6_params, NULL, w2, d) || k6->type != NODE_MAP) return bad + 1;
        x->file = fl_strdup(param_str(k6, "script", ""));
        x->args = param_strv(k6, "args");
    }
    if (!*x->file) {
        diag_add(d, lo ? lo : k6, "%s: the %s is empty", w2, lo ? "file" : "script");
        bad++;
    }
    return bad;
}

void lgx_describe(const struct lg_ext_cfg *x, char *out, size_t outlen)
{
    switch (x->kind) {
    case LGX_LOCUST:
        snprintf(out, outlen, "locust %s, %lld users, spawn rate %g/s", x->file, (long long)x->users, x->spawn_rate);
        break;
    case LGX_K6:
        snprintf(out, outlen, "k6 run %s", x->file);
        break;
    default:
        snprintf(out, outlen, "command %s, format %s", x->program ? x->program : "?",
                 x->format == LGX_K6JSON ? "k6-json" : "jsonl");
    }
}

/* the full path of prog on PATH (or prog itself when it holds a '/'); NULL when absent */
static char *which(const char *prog)
{
    if (strchr(prog, '/')) return access(prog, X_OK) == 0 ? fl_strdup(prog) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *e = strchr(path, ':');
        size_t n = e ? (size_t)(e - path) : strlen(path);
        char *cand = fl_asprintf("%.*s/%s", (int)n, path, prog);
        struct stat st;
        if (n && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) return cand;
        free(cand);
        path += n;
        if (*path == ':') path++;
    }
    return NULL;
}

#define LOCUST_PY "/usr/bin/python3"

int lgx_check_installed(const struct lg_ext_cfg *x, char *err)
{
    if (x->kind == LGX_LOCUST) {
        if (access("/usr/lib/python3/dist-packages/locust/main.py", R_OK) != 0 || access(LOCUST_PY, X_OK) != 0)
            return fl_err(err, "locust not found: apt-get install python3-locust");
        return 0;
    }
    char *p = which(x->program);
    if (p) { free(p); return 0; }
    if (x->kind == LGX_K6)
        return fl_err(err, "k6 not found on PATH: install it from https://grafana.com/docs/k6/latest/set-up/install-k6/");
    return fl_err(err, "command '%s' not found on PATH", x->program);
}

/* ---- line formats -------------------------------------------------------------------- */

static int class_of(const char *s)
{
    if (!strcmp(s, "connect")) return EC_CONNECT;
    if (!strcmp(s, "timeout")) return EC_TIMEOUT;
    if (!strcmp(s, "other")) return EC_OTHER;
    return -2;
}

/* a failed request's class from its status, else from its error text */
static int class_from(int status, const char *error)
{
    if (status >= 500) return EC_5XX;
    if (status >= 400) return EC_4XX;
    if (!error) return status >= 100 ? -1 : EC_OTHER;
    if (strcasestr(error, "timeout") || strcasestr(error, "timed out")) return EC_TIMEOUT;
    if (strcasestr(error, "refused") || strcasestr(error, "connect") || strcasestr(error, "resolve") ||
        strcasestr(error, "unreachable"))
        return EC_CONNECT;
    return EC_OTHER;
}

static void copy_name(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++) dst[i] = (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : s[i];
    dst[i] = '\0';
}

static int parse_jsonl(json_t *o, struct lgx_rec *rec, char *err)
{
    if (json_object_get(o, "event")) return 0;
    json_t *t = json_object_get(o, "t"), *lat = json_object_get(o, "latency_ms");
    if (!json_is_number(t)) return fl_err(err, "'t' (unix seconds when the request was sent) is missing or not a number");
    if (!json_is_number(lat)) return fl_err(err, "'latency_ms' is missing or not a number");
    rec->t_sent = json_number_value(t);
    rec->lat_ms = json_number_value(lat);
    if (!isfinite(rec->t_sent) || rec->t_sent < 0 || rec->t_sent > 1e11)
        return fl_err(err, "'t' %g is not a unix time in seconds", rec->t_sent);
    if (!isfinite(rec->lat_ms) || rec->lat_ms < 0 || rec->lat_ms > 864e5)
        return fl_err(err, "'latency_ms' %g is not a latency (0 to one day)", rec->lat_ms);
    json_t *st = json_object_get(o, "status");
    if (st && !json_is_null(st)) {
        if (!json_is_integer(st) || json_integer_value(st) < 0 || json_integer_value(st) > 999)
            return fl_err(err, "'status' is not an HTTP status (0 for no response)");
        rec->status = (int)json_integer_value(st);
    }
    json_t *name = json_object_get(o, "name"), *method = json_object_get(o, "method");
    if (name && !json_is_string(name)) return fl_err(err, "'name' is not a string");
    if (method && !json_is_string(method)) return fl_err(err, "'method' is not a string");
    copy_name(rec->method, sizeof rec->method, method ? json_string_value(method) : "");
    if (name && *json_string_value(name)) copy_name(rec->name, sizeof rec->name, json_string_value(name));
    else copy_name(rec->name, sizeof rec->name, *rec->method ? rec->method : "request");
    json_t *e = json_object_get(o, "error"), *cl = json_object_get(o, "class");
    if (e && !json_is_null(e) && !json_is_string(e)) return fl_err(err, "'error' is not a string or null");
    const char *etext = e && json_is_string(e) ? json_string_value(e) : NULL;
    rec->cls = class_from(rec->status, etext);
    if (cl && !json_is_null(cl)) {
        int c = json_is_string(cl) ? class_of(json_string_value(cl)) : -2;
        if (c == -2) return fl_err(err, "'class' is not connect, timeout or other");
        if (rec->cls < 0 || rec->cls == EC_OTHER || rec->cls == EC_CONNECT || rec->cls == EC_TIMEOUT) rec->cls = c;
    }
    return 1;
}

/* k6: {"type":"Point","metric":"http_req_duration","data":{"time":..., "value": ms, "tags":{...}}} */
static int parse_k6(json_t *o, struct lgx_rec *rec, char *err)
{
    json_t *type = json_object_get(o, "type"), *metric = json_object_get(o, "metric");
    if (!json_is_string(type)) return fl_err(err, "'type' is missing (k6 writes Metric or Point)");
    if (strcmp(json_string_value(type), "Point")) return 0;
    if (!json_is_string(metric)) return fl_err(err, "a Point without 'metric'");
    if (strcmp(json_string_value(metric), "http_req_duration")) return 0;
    json_t *data = json_object_get(o, "data");
    if (!json_is_object(data)) return fl_err(err, "a Point without 'data'");
    json_t *tm = json_object_get(data, "time"), *v = json_object_get(data, "value");
    if (!json_is_string(tm)) return fl_err(err, "a Point without 'data.time'");
    if (!json_is_number(v)) return fl_err(err, "a Point without a numeric 'data.value'");
    double end;
    if (lgx_rfc3339(json_string_value(tm), &end) < 0) return fl_err(err, "'data.time' is not an RFC 3339 time");
    rec->lat_ms = json_number_value(v);
    if (!isfinite(rec->lat_ms) || rec->lat_ms < 0 || rec->lat_ms > 864e5)
        return fl_err(err, "http_req_duration %g is not a latency (0 to one day)", rec->lat_ms);
    /* k6 stamps a request's samples when it ends: sent = end - duration */
    rec->t_sent = end - rec->lat_ms / 1000.0;
    json_t *tags = json_object_get(data, "tags");
    const char *name = NULL, *method = NULL, *status = NULL, *expected = NULL, *ecode = NULL, *url = NULL;
    if (json_is_object(tags)) {
        name = json_string_value(json_object_get(tags, "name"));
        url = json_string_value(json_object_get(tags, "url"));
        method = json_string_value(json_object_get(tags, "method"));
        status = json_string_value(json_object_get(tags, "status"));
        expected = json_string_value(json_object_get(tags, "expected_response"));
        ecode = json_string_value(json_object_get(tags, "error_code"));
    }
    if (status) {
        char *endp;
        long s = strtol(status, &endp, 10);
        if (*endp || s < 0 || s > 999) return fl_err(err, "tag status '%.20s' is not an HTTP status", status);
        rec->status = (int)s;
    }
    copy_name(rec->method, sizeof rec->method, method ? method : "");
    copy_name(rec->name, sizeof rec->name, name && *name ? name : url && *url ? url : "request");
    rec->cls = class_from(rec->status, NULL);
    if (rec->status == 0 && ecode) {
        /* k6 error codes: 1050 request timeout, 1100-1299 DNS / TCP dial / connection */
        long c = strtol(ecode, NULL, 10);
        rec->cls = c == 1050 ? EC_TIMEOUT : (c >= 1100 && c < 1300) ? EC_CONNECT : EC_OTHER;
    }
    /* expected_response (k6 >= 0.31) is what k6 itself counts as failed */
    if (expected && !strcmp(expected, "false") && rec->cls < 0) rec->cls = EC_OTHER;
    if (expected && !strcmp(expected, "true") && rec->status >= 400) rec->cls = -1;
    return 1;
}

int lgx_parse_line(int format, const char *line, size_t len, struct lgx_rec *rec, char *err)
{
    memset(rec, 0, sizeof *rec);
    rec->cls = -1;
    size_t i = 0;
    while (i < len && isspace((unsigned char)line[i])) i++;
    if (i == len) return 0;
    json_error_t je;
    json_t *o = json_loadb(line + i, len - i, JSON_REJECT_DUPLICATES, &je);
    if (!o) return fl_err(err, "not JSON: %s", je.text);
    int rc;
    if (!json_is_object(o)) rc = fl_err(err, "not a JSON object");
    else rc = format == LGX_K6JSON ? parse_k6(o, rec, err) : parse_jsonl(o, rec, err);
    json_decref(o);
    return rc;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p)) return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

int lgx_rfc3339(const char *s, double *out)
{
    struct tm tm = { 0 };
    int y, mo, d, h, mi, se;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d)) return -1;
    if (*p != 'T' && *p != 't' && *p != ' ') return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se)) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970) return -1;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        for (int n = 0; isdigit((unsigned char)*p); p++, n++, scale /= 10)
            if (n < 9) frac += (*p - '0') * scale;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') p++;
    else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59) return -1;
        off = sign * (oh * 3600L + om * 60L);
    } else return -1;
    if (*p) return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out = (double)(t - off) + frac;
    return 0;
}

/* ---- the tool's process and its reader ----------------------------------------------- */

#define TAIL_CAP 2048
#define STOP_GRACE_NS 3000000000LL

/* faultline's Locust hook: runs Locust's own main() after adding one request listener that
 * writes every request, as it completes, as one faultline JSON line to the pipe whose fd is in
 * FAULTLINE_LOAD_FD (docs/load-tools.md). Written next to nothing of the user's: a temp dir. */
static const char locust_hook[] =
    "# faultline's Locust hook: every request as one JSON line (docs/load-tools.md)\n"
    "import json, os, sys, time\n"
    "from locust import events\n"
    "from locust.main import main\n"
    "_out = os.fdopen(int(os.environ['FAULTLINE_LOAD_FD']), 'w', buffering=1)\n"
    "def _cls(e):\n"
    "    n = type(e).__name__.lower()\n"
    "    if 'timeout' in n: return 'timeout'\n"
    "    if 'connect' in n or 'refused' in n: return 'connect'\n"
    "    return 'other'\n"
    "@events.request.add_listener\n"
    "def _fl_request(request_type=None, name=None, response_time=None, response=None, exception=None,\n"
    "                start_time=None, **kw):\n"
    "    lat = float(response_time or 0)\n"
    "    t = start_time if start_time else time.time() - lat / 1000.0\n"
    "    status = getattr(response, 'status_code', 0) or 0\n"
    "    rec = {'t': t, 'name': str(name), 'method': str(request_type), 'latency_ms': lat, 'status': int(status)}\n"
    "    if exception is not None:\n"
    "        rec['error'] = (type(exception).__name__ + ': ' + str(exception))[:300]\n"
    "        if not status: rec['class'] = _cls(exception)\n"
    "    try:\n"
    "        _out.write(json.dumps(rec) + '\\n')\n"
    "    except (BrokenPipeError, OSError):\n"
    "        pass\n"
    "@events.test_start.add_listener\n"
    "def _fl_start(**kw):\n"
    "    _out.write('{\"event\": \"ready\"}\\n')\n"
    "if __name__ == '__main__':\n"
    "    sys.argv[0] = 'locust'\n"
    "    sys.exit(main())\n";

struct lgx_run {
    struct lg_blk *b;
    pid_t pid;
    int data_fd, err_fd;
    char *tmpdir, *hook, *fifo;
    pthread_t th;
    int has_th;
    atomic_int stop;
    /* under lg->mu */
    char tail[TAIL_CAP + 1];
    size_t tail_len;
    int exited, status, failed;
    atomic_int termed;     /* lgx_stop signals the group: the reader no longer does */
    char *line;            /* the line being read (reader thread) */
    size_t llen;
    int skipping;
    uint64_t lines, requests, malformed, notices, outside;
    char first_error[FL_ERR_LEN + 32];
    double t0_unix;
    int t0_set;            /* lg_start has fixed the run clock (under lg->mu) */
    int ready;             /* a first line came (under lg->mu) */
};

static void tail_add(struct lgx_run *xr, const char *s, size_t n)
{
    if (n >= TAIL_CAP) { s += n - TAIL_CAP; n = TAIL_CAP; }
    if (xr->tail_len + n > TAIL_CAP) {
        size_t drop = xr->tail_len + n - TAIL_CAP;
        memmove(xr->tail, xr->tail + drop, xr->tail_len - drop);
        xr->tail_len -= drop;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        /* text only, so run.json stays valid UTF-8 whatever the tool wrote */
        xr->tail[xr->tail_len + i] = ch == '\n' ? '\n' : (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
    }
    xr->tail_len += n;
    xr->tail[xr->tail_len] = '\0';
}

/* the endpoint index of a tool's request name (added when new); under lg->mu */
static int endpoint_of(struct lg_blk *b, const char *name, const char *method)
{
    for (size_t i = 0; i < b->neps; i++)
        if (!strcmp(b->xnames[i], name) && !strcmp(b->xmethods[i], method)) return (int)i;
    if (b->neps >= LGX_MAX_ENDPOINTS) {
        for (size_t i = 0; i < b->neps; i++)
            if (!strcmp(b->xnames[i], "(other)")) return (int)i;
        name = "(other)";
        method = "";
        /* the last slot becomes "(other)" only when it is free: grow by one */
    }
    b->eps = fl_realloc(b->eps, (b->neps + 1) * sizeof *b->eps);
    b->xnames = fl_realloc(b->xnames, (b->neps + 1) * sizeof *b->xnames);
    b->xmethods = fl_realloc(b->xmethods, (b->neps + 1) * sizeof *b->xmethods);
    memset(&b->eps[b->neps], 0, sizeof b->eps[b->neps]);
    hist_init(&b->eps[b->neps].h);
    b->xnames[b->neps] = fl_strdup(name);
    b->xmethods[b->neps] = fl_strdup(method);
    return (int)b->neps++;
}

/* a line that is not valid: counted, the first reason kept */
static void malformed(struct lgx_run *xr, const char *why)
{
    struct lg *lg = xr->b->lg;
    pthread_mutex_lock(&lg->mu);
    xr->lines++;
    xr->malformed++;
    if (!xr->first_error[0])
        snprintf(xr->first_error, sizeof xr->first_error, "line %llu: %s", (unsigned long long)xr->lines, why);
    pthread_mutex_unlock(&lg->mu);
}

static void ingest(struct lgx_run *xr, const char *line, size_t len)
{
    struct lg_blk *b = xr->b;
    struct lg *lg = b->lg;
    struct lgx_rec rec;
    char err[FL_ERR_LEN];
    int rc = lgx_parse_line(b->cfg->ext->format, line, len, &rec, err);
    pthread_mutex_lock(&lg->mu);
    xr->lines++;
    xr->ready = 1;
    if (rc < 0) {
        xr->malformed++;
        if (!xr->first_error[0]) snprintf(xr->first_error, sizeof xr->first_error, "line %llu: %s",
                                          (unsigned long long)xr->lines, err);
    } else if (rc == 0) {
        xr->notices++;
    }
    if (rc <= 0) {
        pthread_mutex_unlock(&lg->mu);
        return;
    }
    int64_t start_ns = lg->t0_ns + (int64_t)((rec.t_sent - xr->t0_unix) * 1e9);
    if (!xr->t0_set || start_ns < lg->t0_ns - 500000000LL || start_ns >= b->end_ns) {
        xr->outside++;   /* sent before the run began or after the block ended */
        pthread_mutex_unlock(&lg->mu);
        return;
    }
    xr->requests++;
    int ep = endpoint_of(b, rec.name, rec.method);
    pthread_mutex_unlock(&lg->mu);
    lg_record(b, ep, start_ns, (int64_t)(rec.lat_ms * 1e6), rec.cls, 1);
}

/* the tool ended (seen, not reaped: the zombie keeps the group's id from being reused until
 * lgx_stop has signalled the group); a wait(2)-style status */
static void note_exit(struct lgx_run *xr, const siginfo_t *si)
{
    struct lg *lg = xr->b->lg;
    int status = si->si_code == CLD_EXITED ? (si->si_status & 0xff) << 8 : (si->si_status & 0x7f);
    pthread_mutex_lock(&lg->mu);
    xr->exited = 1;
    xr->status = status;
    /* before the block's end and not asked to stop: it died under us */
    if (!atomic_load(&xr->stop) && !atomic_load(&xr->termed) && !fl_aborted() &&
        (!xr->t0_set || fl_now_ns() < xr->b->end_ns - 200000000LL))
        xr->failed = 1;
    pthread_mutex_unlock(&lg->mu);
}

/* split what was read into lines and ingest them */
static void feed(struct lgx_run *xr, const char *buf, size_t r)
{
    for (size_t i = 0; i < r; i++) {
        if (buf[i] == '\n') {
            if (!xr->skipping) ingest(xr, xr->line, xr->llen);
            xr->llen = 0;
            xr->skipping = 0;
        } else if (!xr->skipping) {
            if (xr->llen == LGX_LINE_MAX) {
                malformed(xr, "longer than 64 KiB (skipped to its end)");
                xr->skipping = 1;
                xr->llen = 0;
            } else {
                xr->line[xr->llen++] = buf[i];
            }
        }
    }
}

static void *reader_main(void *arg)
{
    struct lgx_run *xr = arg;
    struct lg_blk *b = xr->b;
    xr->line = fl_malloc(LGX_LINE_MAX + 1);
    char buf[65536];
    int64_t term_at = 0;
    for (;;) {
        int stopping = atomic_load(&xr->stop);
        struct pollfd pf[2] = { { .fd = xr->data_fd, .events = POLLIN }, { .fd = xr->err_fd, .events = POLLIN } };
        int n = poll(pf, 2, stopping ? 0 : 50);
        if (n < 0 && errno != EINTR) break;
        int got = 0;
        if (xr->err_fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(xr->err_fd, buf, sizeof buf);
            if (r > 0) {
                got = 1;
                pthread_mutex_lock(&b->lg->mu);
                tail_add(xr, buf, (size_t)r);
                pthread_mutex_unlock(&b->lg->mu);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(xr->err_fd);
                xr->err_fd = -1;
            }
        }
        if (xr->data_fd >= 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(xr->data_fd, buf, sizeof buf);
            if (r > 0) {
                got = 1;
                feed(xr, buf, (size_t)r);
            } else if (r == 0 && b->cfg->ext->kind == LGX_K6 && !xr->exited && !stopping) {
                /* the FIFO reads EOF until k6 opens it: keep it, don't spin */
                struct timespec ts = { 0, 20000000L };
                nanosleep(&ts, NULL);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (xr->llen && !xr->skipping) ingest(xr, xr->line, xr->llen);   /* a last line without '\n' */
                xr->llen = 0;
                close(xr->data_fd);
                xr->data_fd = -1;
            }
        }
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (!xr->exited && waitid(P_PID, (id_t)xr->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == xr->pid)
            note_exit(xr, &si);
        /* the block's end or an abort: the tool is asked to stop (SIGKILL after the grace) */
        int64_t now = fl_now_ns();
        pthread_mutex_lock(&b->lg->mu);   /* lgx_stop takes over the group under it */
        if (!xr->exited && !atomic_load(&xr->termed)) {
            if (!term_at && ((xr->t0_set && now >= b->end_ns) || fl_aborted())) {
                kill(-xr->pid, SIGTERM);
                term_at = now;
            } else if (term_at && now - term_at > STOP_GRACE_NS) {
                kill(-xr->pid, SIGKILL);
            }
        }
        pthread_mutex_unlock(&b->lg->mu);
        if (stopping && !got) break;                          /* drained what was there */
        if (xr->exited && xr->data_fd < 0 && xr->err_fd < 0) break;
        if (xr->exited && !got && b->cfg->ext->kind == LGX_K6) break;
    }
    free(xr->line);
    xr->line = NULL;
    return NULL;
}

static void push(char ***v, size_t *n, const char *s)
{
    *v = fl_realloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = fl_strdup(s);
    (*v)[*n] = NULL;
}

/* the argv of the tool; NULL with err */
static char **build_argv(struct lgx_run *xr, const struct lg_ext_cfg *x, int64_t dur_ms, char *err)
{
    char **v = NULL;
    size_t n = 0;
    char tmp[64];
    if (x->kind == LGX_COMMAND) {
        for (size_t i = 0; x->argv[i]; i++) push(&v, &n, x->argv[i]);
        return v;
    }
    if (x->kind == LGX_LOCUST) {
        push(&v, &n, LOCUST_PY);
        push(&v, &n, xr->hook);
        push(&v, &n, "-f");
        push(&v, &n, x->file);
        push(&v, &n, "--headless");
        snprintf(tmp, sizeof tmp, "%lld", (long long)x->users);
        push(&v, &n, "-u");
        push(&v, &n, tmp);
        snprintf(tmp, sizeof tmp, "%g", x->spawn_rate);
        push(&v, &n, "-r");
        push(&v, &n, tmp);
        /* a bound of its own in case faultline cannot stop it: the block's time and a margin */
        snprintf(tmp, sizeof tmp, "%llds", (long long)(dur_ms / 1000 + 30));
        push(&v, &n, "--run-time");
        push(&v, &n, tmp);
        push(&v, &n, "--stop-timeout");
        push(&v, &n, "1");
        push(&v, &n, "--only-summary");
        if (x->host) { push(&v, &n, "-H"); push(&v, &n, x->host); }
        if (x->tags && x->tags[0]) {
            push(&v, &n, "-T");
            for (size_t i = 0; x->tags[i]; i++) push(&v, &n, x->tags[i]);
        }
        for (size_t i = 0; x->args && x->args[i]; i++) push(&v, &n, x->args[i]);
        return v;
    }
    char *k6 = which("k6");
    if (!k6) { fl_err(err, "k6 not found on PATH"); return NULL; }
    push(&v, &n, k6);
    free(k6);
    push(&v, &n, "run");
    char *out = fl_asprintf("json=%s", xr->fifo);
    push(&v, &n, "--out");
    push(&v, &n, out);
    free(out);
    push(&v, &n, "--quiet");
    for (size_t i = 0; x->args && x->args[i]; i++) push(&v, &n, x->args[i]);
    push(&v, &n, x->file);
    return v;
}

static void run_free(struct lgx_run *xr)
{
    if (!xr) return;
    if (xr->data_fd >= 0) close(xr->data_fd);
    if (xr->err_fd >= 0) close(xr->err_fd);
    if (xr->hook) unlink(xr->hook);
    if (xr->fifo) unlink(xr->fifo);
    if (xr->tmpdir) rmdir(xr->tmpdir);
    free(xr->hook);
    free(xr->fifo);
    free(xr->tmpdir);
    free(xr);
}

int lgx_start(struct lg_blk *b, int64_t dur_hint_ms, char *err)
{
    const struct lg_ext_cfg *x = b->cfg->ext;
    if (lgx_check_installed(x, err) < 0) return -1;
    struct lgx_run *xr = fl_calloc(1, sizeof *xr);
    xr->b = b;
    xr->data_fd = xr->err_fd = -1;
    xr->pid = -1;
    b->xr = xr;
    if (x->kind != LGX_COMMAND) {
        char tpl[] = "/tmp/faultline-load-XXXXXX";
        if (!mkdtemp(tpl)) return fl_err(err, "cannot make a temp dir for %s: %s", x->program, strerror(errno));
        xr->tmpdir = fl_strdup(tpl);
    }
    int dp[2] = { -1, -1 }, ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) return fl_err(err, "cannot start %s: pipe: %s", x->program, strerror(errno));
    xr->err_fd = ep[0];
    if (x->kind == LGX_LOCUST) {
        xr->hook = fl_asprintf("%s/faultline_locust.py", xr->tmpdir);
        FILE *f = fopen(xr->hook, "w");
        if (!f || fputs(locust_hook, f) < 0 || fclose(f) != 0) {
            close(ep[1]);
            return fl_err(err, "cannot write the Locust hook '%s': %s", xr->hook, strerror(errno));
        }
    }
    if (x->kind == LGX_K6) {
        xr->fifo = fl_asprintf("%s/k6.json", xr->tmpdir);
        if (mkfifo(xr->fifo, 0600) < 0) {
            close(ep[1]);
            return fl_err(err, "cannot make the FIFO '%s': %s", xr->fifo, strerror(errno));
        }
        /* a reader first, so k6's open for writing does not block */
        xr->data_fd = open(xr->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (xr->data_fd < 0) {
            close(ep[1]);
            return fl_err(err, "cannot open the FIFO '%s': %s", xr->fifo, strerror(errno));
        }
    } else {
        if (pipe2(dp, O_CLOEXEC) < 0) {
            close(ep[1]);
            return fl_err(err, "cannot start %s: pipe: %s", x->program, strerror(errno));
        }
        xr->data_fd = dp[0];
    }
    int64_t dur_ms = b->cfg->duration_ms ? b->cfg->duration_ms : dur_hint_ms;
    char **argv = build_argv(xr, x, dur_ms, err);
    char *path = argv ? which(argv[0]) : NULL;
    if (!path) {
        if (argv) fl_err(err, "command '%s' not found on PATH", argv[0]);
        param_strv_free(argv);
        close(ep[1]);
        if (dp[1] >= 0) close(dp[1]);
        return -1;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* the child: its own process group (stopped as one), gone when faultline dies */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        if (devnull >= 0) dup2(devnull, 0);
        if (x->kind == LGX_COMMAND) dup2(dp[1], 1);
        else dup2(ep[1], 1);
        dup2(ep[1], 2);
        if (x->kind == LGX_LOCUST) {
            dup2(dp[1], 3);
            setenv("FAULTLINE_LOAD_FD", "3", 1);
        }
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(path, argv);
        dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int fe = errno;
    if (pid > 0) setpgid(pid, pid);   /* also here: no race with a stop right after */
    if (devnull >= 0) close(devnull);
    close(ep[1]);
    if (dp[1] >= 0) close(dp[1]);
    free(path);
    param_strv_free(argv);
    if (pid < 0) return fl_err(err, "cannot start %s: fork: %s", x->program, strerror(fe));
    xr->pid = pid;
    fcntl(xr->data_fd, F_SETFL, O_NONBLOCK);
    fcntl(xr->err_fd, F_SETFL, O_NONBLOCK);
    int rc = pthread_create(&xr->th, NULL, reader_main, xr);
    if (rc) {
        lgx_stop(b);
        return fl_err(err, "cannot start the reader of %s: %s", x->program, strerror(rc));
    }
    xr->has_th = 1;
    return 0;
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFEXITED(status)) snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
                                           strsignal(WTERMSIG(status)));
    else snprintf(buf, len, "ended");
}

/* the last lines of the tail, at most n bytes, trimmed */
static const char *tail_of(const struct lgx_run *xr, size_t n)
{
    const char *t = xr->tail;
    size_t len = xr->tail_len;
    while (len && isspace((unsigned char)t[len - 1])) len--;
    if (len > n) {
        t += len - n;
        const char *nl = memchr(t, '\n', n);
        if (nl) t = nl + 1;
    }
    return t;
}

/* the same on one line (for an event or an abort reason): line breaks as " | " */
static void tail_flat(const struct lgx_run *xr, size_t n, char *out, size_t outlen)
{
    const char *t = tail_of(xr, n);
    size_t o = 0, len = strlen(t);
    while (len && isspace((unsigned char)t[len - 1])) len--;
    for (size_t i = 0; i < len && o + 4 < outlen; i++) {
        if (t[i] == '\n') { memcpy(out + o, " | ", 3); o += 3; }
        else out[o++] = t[i];
    }
    out[o] = '\0';
}

int lgx_wait_ready(struct lg_blk *b, int64_t timeout_ms, char *err)
{
    struct lgx_run *xr = b->xr;
    const struct lg_ext_cfg *x = b->cfg->ext;
    int64_t start = fl_now_ns(), until = start + timeout_ms * 1000000LL;
    for (;;) {
        pthread_mutex_lock(&b->lg->mu);
        int ready = xr->ready, exited = xr->exited;
        pthread_mutex_unlock(&b->lg->mu);
        /* k6 writes its JSON in batches: alive for 2 s counts as started */
        if (ready || (x->kind == LGX_K6 && !exited && fl_now_ns() - start > 2000000000LL)) return 0;
        if (exited) {
            struct timespec ts = { 0, 100000000L };   /* its last words */
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&b->lg->mu);
            char how[96];
            describe_exit(xr->status, how, sizeof how);
            char t[400];
            tail_flat(xr, 280, t, sizeof t);
            fl_err(err, "%s %s before it started%s%s", x->program, how, *t ? "; its output ends: " : " (no output)", t);
            fl_redact(err);
            pthread_mutex_unlock(&b->lg->mu);
            return -1;
        }
        if (fl_aborted()) return fl_err(err, "interrupted while %s was starting", x->program);
        if (fl_now_ns() >= until) {
            pthread_mutex_lock(&b->lg->mu);
            char t[400];
            tail_flat(xr, 280, t, sizeof t);
            fl_err(err, "%s wrote no line within %llds of its start%s%s", x->program, (long long)(timeout_ms / 1000),
                   *t ? "; its output ends: " : "", t);
            fl_redact(err);
            pthread_mutex_unlock(&b->lg->mu);
            return -1;
        }
        struct timespec ts = { 0, 20000000L };
        nanosleep(&ts, NULL);
    }
}

void lgx_clock(struct lg_blk *b)
{
    struct lgx_run *xr = b->xr;
    if (!xr) return;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    pthread_mutex_lock(&b->lg->mu);
    xr->t0_unix = (double)rt.tv_sec + rt.tv_nsec / 1e9 - (double)(fl_now_ns() - b->lg->t0_ns) / 1e9;
    xr->t0_set = 1;
    pthread_mutex_unlock(&b->lg->mu);
}

void lgx_stop(struct lg_blk *b)
{
    struct lgx_run *xr = b->xr;
    if (!xr || xr->pid <= 0) {
        if (xr && xr->has_th) { atomic_store(&xr->stop, 1); pthread_join(xr->th, NULL); xr->has_th = 0; }
        return;
    }
    /* the whole group: SIGTERM (Locust stops its users and writes its summary), then SIGKILL.
     * The leader is reaped only after that, so the group's id cannot have been reused. */
    pthread_mutex_lock(&b->lg->mu);
    atomic_store(&xr->termed, 1);
    pthread_mutex_unlock(&b->lg->mu);
    kill(-xr->pid, SIGTERM);
    int64_t until = fl_now_ns() + STOP_GRACE_NS;
    siginfo_t si;
    for (;;) {
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)xr->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) break;
        if (si.si_pid == xr->pid || fl_now_ns() >= until) break;
        struct timespec ts = { 0, 10000000L };
        nanosleep(&ts, NULL);
    }
    kill(-xr->pid, SIGKILL);
    int st;
    pid_t w;
    while ((w = waitpid(xr->pid, &st, 0)) < 0 && errno == EINTR) {}
    /* the reader drains what the tool wrote before it ended, then ends */
    atomic_store(&xr->stop, 1);
    if (xr->has_th) {
        pthread_join(xr->th, NULL);
        xr->has_th = 0;
    }
    pthread_mutex_lock(&b->lg->mu);
    if (w == xr->pid && !xr->exited) {
        xr->exited = 1;
        xr->status = st;
    }
    pthread_mutex_unlock(&b->lg->mu);
    xr->pid = -1;
}

int lgx_failure(struct lg_blk *b, char *buf, size_t len)
{
    struct lgx_run *xr = b->xr;
    if (!xr) return 0;
    pthread_mutex_lock(&b->lg->mu);
    int failed = xr->failed;
    if (failed) {
        char how[96];
        describe_exit(xr->status, how, sizeof how);
        char t[800];
        tail_flat(xr, 600, t, sizeof t);
        snprintf(buf, len, "load '%s': %s %s before the end of its load%s%s", b->cfg->name, b->cfg->ext->program, how,
                 *t ? "; its output ends: " : " (no output)", t);
        fl_redact(buf);   /* a tool may print what it was given */
    }
    pthread_mutex_unlock(&b->lg->mu);
    return failed;
}

json_t *lgx_to_json(struct lg_blk *b)
{
    struct lgx_run *xr = b->xr;
    const struct lg_ext_cfg *x = b->cfg->ext;
    json_t *o = json_object();
    json_object_set_new(o, "tool", json_string(x->kind == LGX_LOCUST ? "locust" : x->kind == LGX_K6 ? "k6" : "command"));
    json_object_set_new(o, "program", json_string(x->program ? x->program : ""));
    json_object_set_new(o, "format", json_string(x->format == LGX_K6JSON ? "k6-json" : "jsonl"));
    if (!xr) return o;
    pthread_mutex_lock(&b->lg->mu);
    json_object_set_new(o, "lines", json_integer((json_int_t)xr->lines));
    json_object_set_new(o, "requests", json_integer((json_int_t)xr->requests));
    json_object_set_new(o, "notices", json_integer((json_int_t)xr->notices));
    json_object_set_new(o, "malformed", json_integer((json_int_t)xr->malformed));
    json_object_set_new(o, "outside_run", json_integer((json_int_t)xr->outside));
    if (xr->first_error[0]) json_object_set_new(o, "first_error", json_string(xr->first_error));
    if (xr->exited) {
        char how[96];
        describe_exit(xr->status, how, sizeof how);
        json_object_set_new(o, "exit", json_string(how));
        /* the tool's own verdict (its thresholds): reported, never faultline's */
        if (WIFEXITED(xr->status)) json_object_set_new(o, "exit_code", json_integer(WEXITSTATUS(xr->status)));
    }
    json_object_set_new(o, "died", json_boolean(xr->failed));
    char *t = fl_strdup(tail_of(xr, 1500));
    fl_redact(t);
    json_object_set_new(o, "output_tail", json_string(t));
    free(t);
    pthread_mutex_unlock(&b->lg->mu);
    return o;
}

void lgx_free(struct lg_blk *b)
{
    lgx_stop(b);
    run_free(b->xr);
    b->xr = NULL;
    for (size_t i = 0; b->xnames && i < b->neps; i++) {
        free(b->xnames[i]);
        free(b->xmethods[i]);
    }
    free(b->xnames);
    free(b->xmethods);
    b->xnames = b->xmethods = NULL;
}
