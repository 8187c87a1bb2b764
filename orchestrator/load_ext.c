/* load_ext.c -- load blocks run by an outside tool (command: + jsonl, locust:, k6:): the plan
 * keys and the two line formats (see load_ext.h; the tool's process is load_tool.c). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* the tools faultline runs by name: the plan key (also the program), how their lines read,
 * their keys and the one naming the file they run */
static const struct lgx_tool {
    const char *key;
    int kind, format;
    const struct param_spec *params;
    const char *file_key;
} lgx_tools[] = {
    { "locust", LGX_LOCUST, LGX_JSONL, locust_params, "file" },
    { "k6", LGX_K6, LGX_K6JSON, k6_params, "script" },
};

/* locust:'s own keys (users, spawn_rate, host, tags); the count of errors */
static int locust_keys(struct lg_ext_cfg *x, const struct node *lo, const char *w2, struct diag *d)
{
    int bad = 0;
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
    return bad;
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
    const struct lgx_tool *t = &lgx_tools[lo ? 0 : 1];
    const struct node *tm = lo ? lo : k6;
    char w2[200];
    snprintf(w2, sizeof w2, "%s %s", what, t->key);
    x->kind = t->kind;
    x->format = t->format;
    x->program = fl_strdup(t->key);
    if (params_check(tm, t->params, NULL, w2, d) || tm->type != NODE_MAP) return bad + 1;
    x->file = fl_strdup(param_str(tm, t->file_key, ""));
    x->args = param_strv(tm, "args");
    if (lo) bad += locust_keys(x, lo, w2, d);
    if (!*x->file) {
        diag_add(d, tm, "%s: the %s is empty", w2, t->file_key);
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
char *lgx_which(const char *prog)
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

int lgx_check_installed(const struct lg_ext_cfg *x, char *err)
{
    if (x->kind == LGX_LOCUST) {
        if (access("/usr/lib/python3/dist-packages/locust/main.py", R_OK) != 0 || access(LGX_LOCUST_PY, X_OK) != 0)
            return fl_err(err, "locust not found: apt-get install python3-locust");
        return 0;
    }
    char *p = lgx_which(x->program);
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
