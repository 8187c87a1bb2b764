/* load.c -- the load engine: `load:` blocks parsed, run on libcurl multi in one background
 * thread, measured into per-second windows of latency histograms (see load.h). */
#include "load.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fl.h"
#include "hist.h"
#include "value.h"

/* ==== configuration ===================================================================== */

const struct param_spec lg_block_params[] = {
    { "name", PT_STR, PARAM_REQUIRED, "the block's name, used by probes and thresholds" },
    { "base_url", PT_STR, PARAM_REQUIRED, "http(s)://host:port every path is appended to" },
    { "headers", PT_MAP, 0, "headers sent with every request (name: value)" },
    { "login", PT_MAP, 0, "{request: {...}, token: field}: once per virtual user, again after a 401" },
    { "requests", PT_LIST, PARAM_REQUIRED, "list of {weight, method, path, headers, body, json, json_file, form, name}" },
    { "vus", PT_INT, 0, "closed model: virtual users (open model: cap on requests in flight, default 10000)" },
    { "think", PT_STR, 0, "closed model: pause between a user's requests (100ms, or 100ms..300ms)" },
    { "rate", PT_RATE, 0, "open model: arrival rate (200/s), latency from the intended send time" },
    { "ramp", PT_LIST, 0, "stages [{to, over}] from 0; the level then holds at the last `to`" },
    { "duration", PT_DURATION, 0, "how long this block runs (default: the run's duration)" },
    { "timeout", PT_DURATION, 0, "per-request timeout (default 5s)" },
    { "thresholds", PT_EXPECTS, 0, "expectations over the whole run (p95 < 500ms, error_rate < 1%)" },
    { 0 },
};

const struct param_spec lg_request_params[] = {
    { "weight", PT_NUM, 0, "relative share of this request (default 1)" },
    { "method", PT_STR, 0, "HTTP method (default GET)" },
    { "path", PT_STR, PARAM_REQUIRED, "path (and query) appended to base_url" },
    { "headers", PT_MAP, 0, "extra headers" },
    { "body", PT_STR, 0, "request body as text" },
    { "json", PT_ANY, 0, "request body as JSON (Content-Type: application/json)" },
    { "json_file", PT_STR, 0, "request body read from a JSON file at start" },
    { "form", PT_MAP, 0, "url-encoded form body" },
    { "name", PT_STR, 0, "endpoint name in reports (default: METHOD path)" },
    { 0 },
};

static const struct param_spec lg_login_request_params[] = {
    { "method", PT_STR, 0, "HTTP method (default POST)" },
    { "path", PT_STR, PARAM_REQUIRED, "login path appended to base_url" },
    { "headers", PT_MAP, 0, "extra headers" },
    { "body", PT_STR, 0, "request body as text" },
    { "json", PT_ANY, 0, "request body as JSON" },
    { "form", PT_MAP, 0, "url-encoded form body" },
    { 0 },
};

const struct param_spec lg_login_params[] = {
    { "request", PT_MAP, PARAM_REQUIRED, "{method, path, form|json|body, headers}" },
    { "token", PT_STR, PARAM_REQUIRED, "JSON field of the reply holding the token (dotted path ok)" },
    { 0 },
};

static const struct param_spec lg_stage_params[] = {
    { "to", PT_STR, PARAM_REQUIRED, "virtual users (closed model) or a rate (open model)" },
    { "over", PT_DURATION, PARAM_REQUIRED, "how long the move takes" },
    { 0 },
};

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

static void kv_free(struct lg_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(kv[i].k); free(kv[i].v); }
    free(kv);
}

static void req_release(struct lg_req_cfg *r)
{
    free(r->name);
    free(r->method);
    free(r->path);
    kv_free(r->headers, r->nheaders);
    free(r->body);
    free(r->json_file);
    kv_free(r->form, r->nform);
    memset(r, 0, sizeof *r);
}

void lg_block_free(struct lg_block_cfg *c)
{
    if (!c) return;
    free(c->name);
    free(c->base_url);
    kv_free(c->headers, c->nheaders);
    req_release(&c->login);
    free(c->token_field);
    for (size_t i = 0; i < c->nreqs; i++) req_release(&c->reqs[i]);
    free(c->reqs);
    free(c->think_text);
    free(c->ramp);
    for (size_t i = 0; i < c->nthresholds; i++) expect_release(&c->thresholds[i]);
    free(c->thresholds);
    free(c);
}

const char *lg_block_name(const struct lg_block_cfg *c) { return c->name; }
int64_t lg_block_duration_ms(const struct lg_block_cfg *c) { return c->duration_ms; }

/* a map of scalars -> kv array; header names must be tokens, values one line */
static int parse_kv(const struct node *map, const char *what, int headers, struct lg_kv **out, size_t *nout,
                    struct diag *d)
{
    int bad = 0;
    *out = NULL;
    *nout = 0;
    if (!map) return 0;
    *out = fl_calloc(map->n ? map->n : 1, sizeof **out);
    for (size_t i = 0; i < map->n; i++) {
        const struct node *k = map->keys[i], *v = map->items[i];
        if (v->type != NODE_SCALAR) {
            diag_add(d, v, "%s: '%s' must be text, not a %s", what, k->str, node_type_name(v->type));
            bad++;
            continue;
        }
        if (headers) {
            int ok = *k->str != '\0';
            for (const char *p = k->str; *p; p++)
                if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p))) ok = 0;
            if (!ok || strpbrk(v->str, "\r\n")) {
                diag_add(d, k, "%s: '%s' is not a valid header", what, k->str);
                bad++;
                continue;
            }
        }
        (*out)[*nout].k = fl_strdup(k->str);
        (*out)[*nout].v = fl_strdup(v->str);
        (*nout)++;
    }
    return bad;
}

static int json_number_text(const char *s)
{
    if (!*s) return 0;
    const char *p = s;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr(".eE+-", *p)) return 0;
    char *end;
    strtod(s, &end);
    return *end == '\0';
}

/* the JSON text of a YAML node: unquoted numbers, true/false/null stay JSON literals */
static void node_to_json(struct buf *b, const struct node *n)
{
    switch (n->type) {
    case NODE_SCALAR:
        if (!n->quoted && (json_number_text(n->str) || !strcmp(n->str, "true") || !strcmp(n->str, "false") ||
                           !strcmp(n->str, "null")))
            buf_adds(b, n->str);
        else
            buf_add_json_str(b, n->str);
        break;
    case NODE_SEQ:
        buf_addc(b, '[');
        for (size_t i = 0; i < n->n; i++) {
            if (i) buf_addc(b, ',');
            node_to_json(b, n->items[i]);
        }
        buf_addc(b, ']');
        break;
    case NODE_MAP:
        buf_addc(b, '{');
        for (size_t i = 0; i < n->n; i++) {
            if (i) buf_addc(b, ',');
            buf_add_json_str(b, n->keys[i]->str);
            buf_addc(b, ':');
            node_to_json(b, n->items[i]);
        }
        buf_addc(b, '}');
        break;
    }
}

static int parse_request(const struct node *m, const struct param_spec *spec, const char *what,
                         const char *def_method, struct lg_req_cfg *r, struct diag *d)
{
    memset(r, 0, sizeof *r);
    int bad = params_check(m, spec, NULL, what, d);
    if (bad || m->type != NODE_MAP) return -1;
    r->method = fl_strdup(param_str(m, "method", def_method));
    for (char *p = r->method; *p; p++) *p = (char)toupper((unsigned char)*p);
    const struct node *mn = node_get(m, "method");
    int method_ok = *r->method != '\0';
    for (const char *p = r->method; *p; p++)
        if (!isalpha((unsigned char)*p)) method_ok = 0;
    if (!method_ok) { diag_add(d, mn, "%s: '%s' is not an HTTP method", what, r->method); bad++; }
    r->path = fl_strdup(param_str(m, "path", "/"));
    if (r->path[0] != '/' || strpbrk(r->path, " \r\n\t")) {
        diag_add(d, node_get(m, "path"), "%s: path '%s' must start with '/' and hold no spaces", what, r->path);
        bad++;
    }
    bad += parse_kv(node_get(m, "headers"), what, 1, &r->headers, &r->nheaders, d);
    bad += parse_kv(node_get(m, "form"), what, 0, &r->form, &r->nform, d);
    const char *bodies[] = { "body", "json", "json_file", "form" };
    int nbodies = 0;
    for (size_t i = 0; i < 4; i++) nbodies += node_get(m, bodies[i]) != NULL;
    if (nbodies > 1) {
        diag_add(d, m, "%s: give at most one of body, json, json_file, form", what);
        bad++;
    }
    if (node_get(m, "body")) r->body = fl_strdup(param_str(m, "body", ""));
    if (node_get(m, "json")) {
        struct buf b;
        buf_init(&b, 1 << 20);
        node_to_json(&b, node_get(m, "json"));
        r->body = buf_detach(&b);
        r->body_is_json = 1;
    }
    if (node_get(m, "json_file")) {
        r->json_file = fl_strdup(param_str(m, "json_file", ""));
        r->body_is_json = 1;
        if (!*r->json_file) { diag_add(d, node_get(m, "json_file"), "%s: json_file is empty", what); bad++; }
    }
    r->weight = param_num(m, "weight", 1.0);
    if (node_get(m, "weight") && !(r->weight > 0 && r->weight < 1e9)) {
        diag_add(d, node_get(m, "weight"), "%s: weight must be a positive number", what);
        bad++;
    }
    if (node_get(m, "name")) r->name = fl_strdup(param_str(m, "name", ""));
    else r->name = fl_asprintf("%s %s", r->method, r->path);
    return bad ? -1 : 0;
}

static int parse_expects(const struct node *v, const char *what, struct expect **out, size_t *nout, struct diag *d)
{
    *out = NULL;
    *nout = 0;
    if (!v) return 0;
    size_t n = v->type == NODE_SEQ ? v->n : 1;
    *out = fl_calloc(n ? n : 1, sizeof **out);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const struct node *e = v->type == NODE_SEQ ? v->items[i] : v;
        char err[FL_ERR_LEN];
        struct expect x;
        if (expect_parse(e->str, val_load_metrics, &x, err) < 0) {
            diag_add(d, e, "%s: %s", what, err);
            bad++;
            continue;
        }
        if (!x.metric || x.of_baseline) {
            diag_add(d, e, "%s: '%s' must be '<metric> <op> <value>' over the whole run (no 'of baseline')", what,
                     e->str);
            expect_release(&x);
            bad++;
            continue;
        }
        if (!strcmp(x.metric, "rps") && x.unit == EXP_UNIT_FRACTION) {
            diag_add(d, e, "%s: '%s': rps is a number of requests per second", what, e->str);
            expect_release(&x);
            bad++;
            continue;
        }
        (*out)[(*nout)++] = x;
    }
    return bad;
}

/* "50", "50/s", "3000/m" -> per second (rates) or a count (users) */
static int parse_level(const char *s, int open, double *v, char *err)
{
    if (open && strchr(s, '/')) return val_rate(s, v, err);
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !(x >= 0) || x > 1e7)
        return fl_err(err, "'%s' is not a %s", s, open ? "rate (like 200/s)" : "number of virtual users");
    if (!open && x != floor(x)) return fl_err(err, "'%s' is not a whole number of virtual users", s);
    *v = x;
    return 0;
}

static int valid_block_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.", *s)) return 0;
    return 1;
}

struct lg_block_cfg *lg_block_parse(struct plan *p, const struct node *map, struct diag *d)
{
    (void)p;
    char what[160];
    const char *nm = map && map->type == NODE_MAP ? node_str(map, "name", NULL) : NULL;
    snprintf(what, sizeof what, "load '%s'", nm ? nm : "?");
    int bad = params_check(map, lg_block_params, NULL, what, d);
    if (!map || map->type != NODE_MAP) return NULL;
    struct lg_block_cfg *c = fl_calloc(1, sizeof *c);
    char err[FL_ERR_LEN];
    c->name = fl_strdup(param_str(map, "name", ""));
    if (node_get(map, "name") && !valid_block_name(c->name)) {
        diag_add(d, node_get(map, "name"), "%s: name may hold letters, digits, '-', '_' and '.'", what);
        bad++;
    }
    const char *bu = param_str(map, "base_url", "");
    size_t bl = strlen(bu);
    while (bl && bu[bl - 1] == '/') bl--;
    c->base_url = fl_strndup(bu, bl);
    if (node_get(map, "base_url") &&
        ((strncmp(c->base_url, "http://", 7) && strncmp(c->base_url, "https://", 8)) ||
         strpbrk(c->base_url, " \r\n\t") || strlen(c->base_url) < 9)) {
        diag_add(d, node_get(map, "base_url"), "%s: base_url '%s' must be an http:// or https:// URL", what,
                 c->base_url);
        bad++;
    }
    const struct node *hn = node_get(map, "headers");
    if (hn && hn->type == NODE_MAP) bad += parse_kv(hn, what, 1, &c->headers, &c->nheaders, d);

    const struct node *ln = node_get(map, "login");
    if (ln && ln->type == NODE_MAP) {
        char w2[200];
        snprintf(w2, sizeof w2, "%s login", what);
        int lbad = params_check(ln, lg_login_params, NULL, w2, d);
        bad += lbad;
        const struct node *rq = node_get(ln, "request");
        if (!lbad && rq) {
            snprintf(w2, sizeof w2, "%s login request", what);
            if (parse_request(rq, lg_login_request_params, w2, "POST", &c->login, d) < 0) bad++;
            free(c->login.name);
            c->login.name = fl_strdup("login");
            c->token_field = fl_strdup(param_str(ln, "token", ""));
            if (!*c->token_field) { diag_add(d, node_get(ln, "token"), "%s: token field is empty", w2); bad++; }
            c->has_login = 1;
        }
    }

    const struct node *rs = node_get(map, "requests");
    if (rs && rs->type == NODE_SEQ) {
        if (rs->n == 0) { diag_add(d, rs, "%s: requests is empty", what); bad++; }
        c->reqs = fl_calloc(rs->n ? rs->n : 1, sizeof *c->reqs);
        for (size_t i = 0; i < rs->n; i++) {
            char w2[200];
            snprintf(w2, sizeof w2, "%s request %zu", what, i + 1);
            if (parse_request(rs->items[i], lg_request_params, w2, "GET", &c->reqs[c->nreqs], d) < 0) bad++;
            c->nreqs++;
        }
        for (size_t i = 0; i < c->nreqs; i++)
            for (size_t j = 0; j < i; j++)
                if (c->reqs[i].name && c->reqs[j].name && !strcmp(c->reqs[i].name, c->reqs[j].name)) {
                    diag_add(d, rs->items[i], "%s: two requests named '%s' (give one a name:)", what, c->reqs[i].name);
                    bad++;
                }
    }

    c->open = node_get(map, "rate") != NULL;
    c->rate = param_rate(map, "rate", 0);
    if (c->open && !(c->rate > 0)) { diag_add(d, node_get(map, "rate"), "%s: rate must be above 0", what); bad++; }
    c->vus = param_int(map, "vus", c->open ? LG_OPEN_CAP_DEFAULT : 0);
    if (node_get(map, "vus") && (c->vus < 1 || c->vus > LG_MAX_VUS)) {
        diag_add(d, node_get(map, "vus"), "%s: vus must be between 1 and %d", what, LG_MAX_VUS);
        bad++;
    }
    if (node_get(map, "think")) {
        c->think_text = fl_strdup(param_str(map, "think", ""));
        if (c->open) { diag_add(d, node_get(map, "think"), "%s: think applies to the closed model (vus:), not rate:", what); bad++; }
        else if (val_duration_range(c->think_text, &c->think_lo, &c->think_hi, err) < 0) {
            diag_add(d, node_get(map, "think"), "%s: think: %s", what, err);
            bad++;
        }
    }
    const struct node *rn = node_get(map, "ramp");
    if (rn && rn->type == NODE_SEQ) {
        c->ramp = fl_calloc(rn->n ? rn->n : 1, sizeof *c->ramp);
        double peak = 0;
        for (size_t i = 0; i < rn->n; i++) {
            char w2[200];
            snprintf(w2, sizeof w2, "%s ramp stage %zu", what, i + 1);
            const struct node *st = rn->items[i];
            if (params_check(st, lg_stage_params, NULL, w2, d)) { bad++; continue; }
            struct lg_stage *s = &c->ramp[c->nramp++];
            if (parse_level(param_str(st, "to", ""), c->open, &s->to, err) < 0) {
                diag_add(d, node_get(st, "to"), "%s: %s", w2, err);
                bad++;
            }
            s->over_ms = param_ms(st, "over", 0);
            if (s->to > peak) peak = s->to;
        }
        if (rn->n == 0) { diag_add(d, rn, "%s: ramp is empty", what); bad++; }
        if (!c->open && !node_get(map, "vus")) c->vus = (int64_t)peak;
        if (!c->open && peak > (double)c->vus) {
            diag_add(d, rn, "%s: ramp goes to %g virtual users, above vus: %lld", what, peak, (long long)c->vus);
            bad++;
        }
        if (c->open && peak > c->rate * (1 + 1e-9)) {
            diag_add(d, rn, "%s: ramp goes to %g/s, above rate: %g/s", what, peak, c->rate);
            bad++;
        }
    }
    if (!c->open && c->vus < 1 && !bad) {
        diag_add(d, map, "%s: give vus: (closed model) or rate: (open model)", what);
        bad++;
    }
    c->duration_ms = param_ms(map, "duration", 0);
    if (node_get(map, "duration") && c->duration_ms <= 0) {
        diag_add(d, node_get(map, "duration"), "%s: duration must be above 0", what);
        bad++;
    }
    c->timeout_ms = param_ms(map, "timeout", 5000);
    if (c->timeout_ms <= 0) { diag_add(d, node_get(map, "timeout"), "%s: timeout must be above 0", what); bad++; }
    bad += parse_expects(node_get(map, "thresholds"), what, &c->thresholds, &c->nthresholds, d);
    if (bad) {
        lg_block_free(c);
        return NULL;
    }
    return c;
}

void lg_block_describe(const struct lg_block_cfg *c, char *out, size_t outlen)
{
    char t[32];
    int n;
    if (c->open) n = snprintf(out, outlen, "open model, %g/s, at most %lld in flight", c->rate, (long long)c->vus);
    else n = snprintf(out, outlen, "%lld vus%s%s", (long long)c->vus, c->think_text ? ", think " : "",
                      c->think_text ? c->think_text : "");
    if (n < 0 || (size_t)n >= outlen) return;
    if (c->nramp) {
        int64_t total = 0;
        for (size_t i = 0; i < c->nramp; i++) total += c->ramp[i].over_ms;
        val_fmt_duration(total, t);
        int m = snprintf(out + n, outlen - (size_t)n, ", ramp %zu stage%s over %s", c->nramp,
                         c->nramp == 1 ? "" : "s", t);
        if (m < 0 || (size_t)m >= outlen - (size_t)n) return;
        n += m;
    }
    snprintf(out + n, outlen - (size_t)n, ", %zu request%s, %s", c->nreqs, c->nreqs == 1 ? "" : "s",
             c->has_login ? "login" : "no login");
}

/* ==== runtime =========================================================================== */

enum { EC_CONNECT, EC_TIMEOUT, EC_4XX, EC_5XX, EC_OTHER, EC_N };
enum { U_IDLE, U_THINK, U_BUSY };

#define NO_HEAP ((size_t)-1)
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

/* a virtual user (closed model) or an in-flight slot (open model): one easy handle */
struct lg_user {
    struct lg_blk *b;
    CURL *easy;
    size_t index;
    int state;
    int ep;                /* endpoint in flight (cfg->nreqs = login) */
    int set_ep;            /* endpoint whose options are set on easy, -1 none */
    int64_t t_start;       /* latency origin, ns */
    int64_t due;           /* timer, ns */
    size_t heap_pos;
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
    int epfd, evfd;
    int tfd;                               /* poll loop: timerfd for sub-millisecond wake-ups */
    int64_t curl_due;                      /* ns, -1 none */
    struct lg_user **heap; size_t nheap, aheap;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static double uniform(uint64_t *s) { return fl_rand01(s); }

/* ---- metrics --------------------------------------------------------------------------- */

static int classify(CURLcode rc, long status)
{
    switch (rc) {
    case CURLE_OK:
        if (status >= 500) return EC_5XX;
        if (status >= 400) return EC_4XX;
        if (status < 100) return EC_OTHER;
        return -1;
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
        return EC_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return EC_TIMEOUT;
    default:
        return EC_OTHER;
    }
}

static void counts_add(struct lg_counts *c, int cls)
{
    c->count++;
    if (cls >= 0) c->err[cls]++;
}

static void counts_merge(struct lg_counts *dst, const struct lg_counts *src)
{
    dst->count += src->count;
    for (int i = 0; i < EC_N; i++) dst->err[i] += src->err[i];
}

/* under lg->mu: add h/c into the compact window of second sec */
static void merge_into_win(struct lg_blk *b, int64_t sec, const struct hist *h, const struct lg_counts *c)
{
    struct lg_win *w = &b->wins[sec];
    counts_merge(&w->c, c);
    struct hist_sparse sp;
    hist_sparse_from(&sp, h);
    if (w->hs.count) { /* a late request for a second whose window was already closed */
        static _Thread_local struct hist tmp;
        hist_init(&tmp);
        hist_merge_sparse(&tmp, &w->hs);
        hist_merge_sparse(&tmp, &sp);
        hist_sparse_release(&w->hs);
        hist_sparse_release(&sp);
        hist_sparse_from(&w->hs, &tmp);
    } else {
        hist_sparse_release(&w->hs);
        w->hs = sp;
    }
}

/* under lg->mu: move open window k into its compact slot */
static void close_window(struct lg_blk *b, int k)
{
    if (b->open_sec[k] >= 0 && b->open_c[k].count) merge_into_win(b, b->open_sec[k], &b->open_h[k], &b->open_c[k]);
    hist_reset(&b->open_h[k]);
    memset(&b->open_c[k], 0, sizeof b->open_c[k]);
    b->open_sec[k] = -1;
}

/* a request sent at start_ns (the intended send time in the open model) counts in that
 * second's window, so what a fault window sees is what was sent during the fault */
static void record(struct lg_blk *b, int ep, int64_t start_ns, int64_t lat_ns, int cls, int has_latency)
{
    struct lg *lg = b->lg;
    int64_t sec = (start_ns - lg->t0_ns) / 1000000000LL;
    if (sec < 0) sec = 0;
    if (sec >= (int64_t)b->nwins) sec = (int64_t)b->nwins - 1;
    if (lat_ns < 0) lat_ns = 0;
    int k = (int)(sec % LG_OPEN_WINS);
    pthread_mutex_lock(&lg->mu);
    if (b->open_sec[k] != sec && b->open_sec[k] > sec) {
        /* older than every open window (a request slower than the ring): straight in */
        static _Thread_local struct hist one;
        struct lg_counts c1 = { 0 };
        hist_init(&one);
        if (has_latency) hist_record(&one, (uint64_t)lat_ns);
        counts_add(&c1, cls);
        merge_into_win(b, sec, &one, &c1);
    } else {
        if (b->open_sec[k] != sec) {
            close_window(b, k);
            b->open_sec[k] = sec;
        }
        counts_add(&b->open_c[k], cls);
        if (has_latency) hist_record(&b->open_h[k], (uint64_t)lat_ns);
    }
    struct lg_ep *e = &b->eps[ep];
    counts_add(&e->c, cls);
    if (has_latency) hist_record(&e->h, (uint64_t)lat_ns);
    if (b->cfg->has_login && ep == (int)b->cfg->nreqs) b->logins++;
    if (!has_latency) b->drops++;
    pthread_mutex_unlock(&lg->mu);
}

/* ---- timers (a binary heap of users by due time) ----------------------------------------- */

static void heap_swap(struct lg *lg, size_t i, size_t j)
{
    struct lg_user *t = lg->heap[i];
    lg->heap[i] = lg->heap[j];
    lg->heap[j] = t;
    lg->heap[i]->heap_pos = i;
    lg->heap[j]->heap_pos = j;
}

static void heap_up(struct lg *lg, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (lg->heap[p]->due <= lg->heap[i]->due) break;
        heap_swap(lg, i, p);
        i = p;
    }
}

static void heap_down(struct lg *lg, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < lg->nheap && lg->heap[l]->due < lg->heap[m]->due) m = l;
        if (r < lg->nheap && lg->heap[r]->due < lg->heap[m]->due) m = r;
        if (m == i) break;
        heap_swap(lg, i, m);
        i = m;
    }
}

static void heap_remove(struct lg *lg, struct lg_user *u)
{
    size_t i = u->heap_pos;
    if (i == NO_HEAP) return;
    u->heap_pos = NO_HEAP;
    lg->nheap--;
    if (i == lg->nheap) return;
    lg->heap[i] = lg->heap[lg->nheap];
    lg->heap[i]->heap_pos = i;
    heap_up(lg, i);
    heap_down(lg, lg->heap[i]->heap_pos);
}

static void timer_set(struct lg_user *u, int64_t due)
{
    struct lg *lg = u->b->lg;
    heap_remove(lg, u);
    if (lg->nheap == lg->aheap) {
        lg->aheap = lg->aheap ? 2 * lg->aheap : 64;
        lg->heap = fl_realloc(lg->heap, lg->aheap * sizeof *lg->heap);
    }
    u->due = due;
    u->state = U_THINK;
    u->heap_pos = lg->nheap;
    lg->heap[lg->nheap++] = u;
    heap_up(lg, u->heap_pos);
}

/* ---- users and requests ----------------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct lg_user *u = userdata;
    size_t n = size * nmemb;
    if (u->capture) buf_add(&u->reply, ptr, n);
    return n;
}

static struct lg_user *user_new(struct lg_blk *b, size_t index)
{
    struct lg_user *u = fl_calloc(1, sizeof *u);
    u->b = b;
    u->index = index;
    u->set_ep = -1;
    u->heap_pos = NO_HEAP;
    u->rng = b->lg->seed ^ (0x51ed270b7a3c9d1full * (b->idx + 1)) ^ (0x2545f4914f6cdd1dull * (index + 1));
    buf_init(&u->reply, REPLY_CAP);
    u->easy = curl_easy_init();
    if (!u->easy) {
        fl_log(FL_LOG_ERROR, "load '%s': cannot create a curl handle", b->cfg->name);
        abort();
    }
    CURL *e = u->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, u);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROXY, "");              /* no proxy from the environment: only the plan's URLs */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");            /* and no getenv("no_proxy") on every request */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)b->cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    return u;
}

static void user_free(struct lg_user *u)
{
    if (!u) return;
    if (u->easy) curl_easy_cleanup(u->easy);
    free(u->token);
    free(u->auth);
    buf_release(&u->reply);
    free(u);
}

static void users_push(struct lg_blk *b, struct lg_user *u)
{
    if (b->nusers == b->ausers) {
        b->ausers = b->ausers ? 2 * b->ausers : 16;
        b->users = fl_realloc(b->users, b->ausers * sizeof *b->users);
    }
    b->users[b->nusers++] = u;
}

static int pick_request(struct lg_blk *b, struct lg_user *u)
{
    size_t n = b->cfg->nreqs;
    if (n == 1) return 0;
    double r = uniform(&u->rng) * b->cum_weight[n - 1];
    for (size_t i = 0; i < n; i++)
        if (r < b->cum_weight[i]) return (int)i;
    return (int)n - 1;
}

static void set_auth(struct lg_user *u, const char *token)
{
    free(u->auth);
    u->auth = fl_asprintf("Authorization: Bearer %s", token);
}

static void send_req(struct lg_user *u, int ep, int64_t origin_ns)
{
    struct lg_blk *b = u->b;
    struct lg *lg = b->lg;
    struct lg_prep *pr = &b->preps[ep];
    CURL *e = u->easy;
    if (u->set_ep != ep) {
        /* a parsed URL (CURLOPT_CURLU) takes precedence over CURLOPT_URL: clear it for a
         * URL that only libcurl's own parse may reject with its message */
        curl_easy_setopt(e, CURLOPT_CURLU, pr->uh);
        if (!pr->uh) curl_easy_setopt(e, CURLOPT_URL, pr->url);
        if (pr->head) {
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (pr->has_body) {
            curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pr->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, pr->body);
        } else {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, pr->custom);
        u->set_ep = ep;
    }
    int login = b->cfg->has_login && ep == (int)b->cfg->nreqs;
    u->capture = login;
    if (login) buf_reset(&u->reply);
    const char *tok = b->cfg->open ? b->token : u->token;
    if (!login && tok) {
        if (b->cfg->open && (!u->auth || u->auth_gen != b->token_gen)) {
            set_auth(u, tok);
            u->auth_gen = b->token_gen;
        }
        u->auth_node.data = u->auth;
        u->auth_node.next = pr->hdrs;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, &u->auth_node);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, pr->hdrs);
    }
    u->ep = ep;
    u->state = U_BUSY;
    u->t_start = origin_ns ? origin_ns : fl_now_ns();
    curl_multi_add_handle(lg->multi, e);
}

static int64_t think_ns(struct lg_user *u)
{
    const struct lg_block_cfg *c = u->b->cfg;
    if (c->think_hi <= 0) return 0;
    double ms = (double)c->think_lo + uniform(&u->rng) * (double)(c->think_hi - c->think_lo);
    return (int64_t)(ms * 1e6);
}

/* closed model: what a user does next */
static void user_next(struct lg_user *u, int64_t now)
{
    struct lg_blk *b = u->b;
    (void)now;
    if (b->done || u->index >= b->active) { u->state = U_IDLE; return; }
    if (b->cfg->has_login && !u->token) send_req(u, (int)b->cfg->nreqs, 0);
    else send_req(u, pick_request(b, u), 0);
}

static char *extract_token(const char *body, size_t len, const char *field)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root) return NULL;
    json_t *v = root;
    char *path = fl_strdup(field), *save = NULL;
    for (char *seg = strtok_r(path, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, seg) : NULL;
    char *tok = NULL;
    if (v && json_is_string(v) && json_string_length(v) > 0 && !strpbrk(json_string_value(v), "\r\n"))
        tok = fl_strdup(json_string_value(v));
    else if (v && json_is_integer(v))
        tok = fl_asprintf("%lld", (long long)json_integer_value(v));
    free(path);
    json_decref(root);
    return tok;
}

static void slot_put(struct lg_blk *b, struct lg_user *u)
{
    u->state = U_IDLE;
    u->next_free = b->free_slots;
    b->free_slots = u;
    b->inflight--;
}

static void on_done(struct lg_user *u, CURLcode rc, int64_t now)
{
    struct lg_blk *b = u->b;
    const struct lg_block_cfg *c = b->cfg;
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
    int cls = classify(rc, status);
    int ep = u->ep;
    u->state = U_IDLE;
    if (now >= b->end_ns) { /* finished after the block's end: not part of its run */
        pthread_mutex_lock(&b->lg->mu);
        b->interrupted++;
        pthread_mutex_unlock(&b->lg->mu);
        if (c->open && u != b->login_user) slot_put(b, u);
        else if (c->open) b->login_busy = 0;
        return;
    }
    record(b, ep, u->t_start, now - u->t_start, cls, 1);

    if (c->has_login && ep == (int)c->nreqs) {
        char *tok = cls < 0 ? extract_token(u->reply.data, u->reply.len, c->token_field) : NULL;
        if (c->open) {
            b->login_busy = 0;
            if (tok) {
                free(b->token);
                b->token = tok;
                b->token_gen++;
            } else {
                b->login_retry_at = now + LOGIN_RETRY_NS;
            }
            return;
        }
        if (tok) {
            free(u->token);
            u->token = tok;
            set_auth(u, tok);
            user_next(u, now);
        } else {
            timer_set(u, now + LOGIN_RETRY_NS);
        }
        return;
    }

    int relogin_pause = 0;
    if (status == 401 && c->has_login) {
        if (c->open) {
            if (b->token && u->auth_gen == b->token_gen) {
                free(b->token);
                b->token = NULL;
                if (++b->relogin_streak > RELOGIN_STREAK) b->login_retry_at = now + RELOGIN_PAUSE_NS;
            }
        } else {
            free(u->token);
            u->token = NULL;
            if (++u->relogin_streak > RELOGIN_STREAK) relogin_pause = 1;
        }
    } else if (cls < 0) {
        if (c->open) b->relogin_streak = 0;
        else u->relogin_streak = 0;
    }
    if (c->open) { slot_put(b, u); return; }
    int64_t t = relogin_pause ? RELOGIN_PAUSE_NS : think_ns(u);
    if (t > 0) timer_set(u, now + t);
    else user_next(u, now);
}

/* ---- load shape -------------------------------------------------------------------------- */

/* level (users, or arrivals per second) at t_ms after the start */
static double level_at(const struct lg_block_cfg *c, double t_ms)
{
    double steady = c->open ? c->rate : (double)c->vus;
    if (!c->nramp) return steady;
    double from = 0;
    for (size_t i = 0; i < c->nramp; i++) {
        double over = (double)c->ramp[i].over_ms;
        if (t_ms < over) return from + (c->ramp[i].to - from) * t_ms / over;
        t_ms -= over;
        from = c->ramp[i].to;
    }
    return from;
}

static int64_t ramp_end_ms(const struct lg_block_cfg *c)
{
    int64_t t = 0;
    for (size_t i = 0; i < c->nramp; i++) t += c->ramp[i].over_ms;
    return t;
}

/* open model: offset (ns from the start) of the k-th arrival, INT64_MAX when never */
static int64_t arrival_ns(const struct lg_block_cfg *c, uint64_t k)
{
    double target = (double)k;
    if (!c->nramp) return (int64_t)(target / c->rate * 1e9);
    double t = 0, n = 0, r0 = 0;
    for (size_t i = 0; i < c->nramp; i++) {
        double d = (double)c->ramp[i].over_ms / 1000.0, r1 = c->ramp[i].to;
        if (d <= 0) { r0 = r1; continue; }
        double seg = (r0 + r1) / 2 * d;
        if (n + seg > target) {
            double need = target - n, a = (r1 - r0) / (2 * d), x;
            if (fabs(a) < 1e-12) x = need / r0;
            else x = (-r0 + sqrt(fmax(0.0, r0 * r0 + 4 * a * need))) / (2 * a);
            return (int64_t)((t + x) * 1e9);
        }
        n += seg;
        t += d;
        r0 = r1;
    }
    if (r0 <= 0) return INT64_MAX;
    double s = t + (target - n) / r0;
    return s > 9e9 ? INT64_MAX : (int64_t)(s * 1e9);
}

static void block_finish(struct lg_blk *b)
{
    struct lg *lg = b->lg;
    if (b->done) return;
    b->done = 1;
    uint64_t interrupted = 0;
    for (size_t i = 0; i < b->nusers; i++) {
        struct lg_user *u = b->users[i];
        heap_remove(lg, u);
        if (u->state == U_BUSY) {
            curl_multi_remove_handle(lg->multi, u->easy);
            interrupted++;
        }
        u->state = U_IDLE;
    }
    if (b->login_user && b->login_user->state == U_BUSY) {
        curl_multi_remove_handle(lg->multi, b->login_user->easy);
        b->login_user->state = U_IDLE;
        interrupted++;
    }
    pthread_mutex_lock(&lg->mu);
    b->interrupted += interrupted;
    pthread_mutex_unlock(&lg->mu);
}

static void open_tick(struct lg_blk *b, int64_t now)
{
    const struct lg_block_cfg *c = b->cfg;
    if (c->has_login && !b->token) {
        if (!b->login_busy && now >= b->login_retry_at) {
            if (!b->login_user) b->login_user = user_new(b, (size_t)-1);
            b->login_busy = 1;
            send_req(b->login_user, (int)c->nreqs, 0);
        }
        return; /* arrivals wait for the token, keeping their intended times */
    }
    while (b->next_due <= now && b->next_due < b->end_ns) {
        if (b->inflight < (size_t)c->vus) {
            struct lg_user *u = b->free_slots;
            if (u) b->free_slots = u->next_free;
            else {
                u = user_new(b, b->nusers);
                users_push(b, u);
            }
            b->inflight++;
            send_req(u, pick_request(b, u), b->next_due);
        } else {
            double r = uniform(&b->rng) * b->cum_weight[c->nreqs - 1];
            int ep = 0;
            while (ep + 1 < (int)c->nreqs && r >= b->cum_weight[ep]) ep++;
            record(b, ep, now, 0, EC_OTHER, 0);
        }
        b->issued++;
        int64_t off = arrival_ns(c, b->issued);
        b->next_due = off == INT64_MAX ? INT64_MAX : b->lg->t0_ns + off;
    }
}

static void closed_tick(struct lg_blk *b, int64_t now)
{
    double lv = level_at(b->cfg, (double)(now - b->lg->t0_ns) / 1e6);
    size_t target = (size_t)floor(lv + 0.5);
    if (target > (size_t)b->cfg->vus) target = (size_t)b->cfg->vus;
    while (b->active < target) {
        size_t i = b->active++;
        if (i == b->nusers) users_push(b, user_new(b, i));
        struct lg_user *u = b->users[i];
        if (u->state == U_IDLE) user_next(u, now);
    }
    if (b->active > target) b->active = target; /* users past it stop after their request */
}

/* ---- the event loop ------------------------------------------------------------------- */

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct lg *lg = userp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(lg->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (socketp) {
        if (epoll_ctl(lg->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
            epoll_ctl(lg->epfd, EPOLL_CTL_ADD, s, &ev);
    } else {
        if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
            epoll_ctl(lg->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(lg->multi, s, lg);
    }
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct lg *lg = userp;
    (void)m;
    lg->curl_due = timeout_ms < 0 ? -1 : fl_now_ns() + (int64_t)timeout_ms * 1000000LL;
    return 0;
}

static void drain_done(struct lg *lg)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(lg->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        int64_t now = fl_now_ns();
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(lg->multi, e);
        if (priv) on_done((struct lg_user *)(void *)priv, rc, now);
    }
}

/* schedule what is due; returns the next time (ns) something of ours is due */
static int64_t tick(struct lg *lg, int64_t now)
{
    int64_t next = lg->end_ns;
    while (lg->nheap && lg->heap[0]->due <= now) {
        struct lg_user *u = lg->heap[0];
        heap_remove(lg, u);
        u->state = U_IDLE;
        user_next(u, now);
    }
    if (lg->nheap && lg->heap[0]->due < next) next = lg->heap[0]->due;
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        if (b->done) continue;
        if (now >= b->end_ns) { block_finish(b); continue; }
        if (b->end_ns < next) next = b->end_ns;
        if (b->cfg->open) {
            open_tick(b, now);
            if (b->cfg->has_login && !b->token) {
                if (!b->login_busy && b->login_retry_at < next) next = b->login_retry_at;
            } else if (b->next_due < next) {
                next = b->next_due;
            }
        } else {
            closed_tick(b, now);
            if (b->cfg->nramp && now - lg->t0_ns < ramp_end_ms(b->cfg) * 1000000LL && now + RAMP_TICK_NS < next)
                next = now + RAMP_TICK_NS;
        }
    }
    return next;
}

static int all_done(struct lg *lg)
{
    for (size_t i = 0; i < lg->nblocks; i++)
        if (!lg->blocks[i]->done) return 0;
    return 1;
}

static void *engine_main(void *arg)
{
    struct lg *lg = arg;
    struct epoll_event evs[256];
    int have_pwait2 = 1;
    for (;;) {
        int64_t now = fl_now_ns();
        if (atomic_load(&lg->stop) || fl_aborted() || now >= lg->end_ns) break;
        int64_t next = tick(lg, now);
        if (all_done(lg)) break;
        if (lg->curl_due >= 0 && lg->curl_due < next) next = lg->curl_due;
        now = fl_now_ns();
        int64_t wait = next - now;
        if (wait < 0) wait = 0;
        if (wait > WAKE_MAX_NS) wait = WAKE_MAX_NS;
        if (lg->use_poll) {
            /* curl_multi_poll counts milliseconds: a timerfd wakes it on time for arrivals
             * and think timers (an open-model request sent late would count as latency);
             * re-arming it clears a past expiry, so it needs no read */
            int running, armed = 0;
            struct curl_waitfd wfd = { .fd = lg->tfd, .events = CURL_WAIT_POLLIN };
            if (wait > 0 && wait < WAKE_MAX_NS && lg->tfd >= 0) {
                struct itimerspec its = { .it_value = { (time_t)(next / 1000000000LL), (long)(next % 1000000000LL) } };
                armed = timerfd_settime(lg->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0;
            }
            curl_multi_poll(lg->multi, armed ? &wfd : NULL, armed ? 1 : 0,
                            (int)((wait + 999999) / 1000000) + (armed ? 1 : 0), NULL);
            curl_multi_perform(lg->multi, &running);
        } else {
            int n;
            if (have_pwait2) {
                struct timespec ts = { (time_t)(wait / 1000000000LL), (long)(wait % 1000000000LL) };
                n = epoll_pwait2(lg->epfd, evs, 256, &ts, NULL);
                if (n < 0 && errno == ENOSYS) { have_pwait2 = 0; continue; }
            } else {
                n = epoll_wait(lg->epfd, evs, 256, (int)((wait + 999999) / 1000000));
            }
            int running;
            for (int i = 0; i < n; i++) {
                if (evs[i].data.fd == lg->evfd) {
                    uint64_t x;
                    if (read(lg->evfd, &x, sizeof x) < 0) { /* drained already */ }
                    continue;
                }
                int fl = 0;
                if (evs[i].events & EPOLLIN) fl |= CURL_CSELECT_IN;
                if (evs[i].events & EPOLLOUT) fl |= CURL_CSELECT_OUT;
                if (evs[i].events & (EPOLLERR | EPOLLHUP)) fl |= CURL_CSELECT_ERR;
                curl_multi_socket_action(lg->multi, evs[i].data.fd, fl, &running);
            }
            if (lg->curl_due >= 0 && fl_now_ns() >= lg->curl_due) {
                lg->curl_due = -1;
                curl_multi_socket_action(lg->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            }
        }
        drain_done(lg);
    }
    for (size_t i = 0; i < lg->nblocks; i++) block_finish(lg->blocks[i]);
    int64_t now = fl_now_ns();
    atomic_store(&lg->stopped_ns, now < lg->end_ns ? now : lg->end_ns);
    atomic_store(&lg->running, 0);
    return NULL;
}

/* ==== API ================================================================================ */

static void form_encode(struct buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) buf_addc(b, (char)*p);
        else if (*p == ' ') buf_addc(b, '+');
        else buf_addf(b, "%%%02X", *p);
    }
}

static int has_header(const struct lg_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(kv[i].k, name)) return 1;
    return 0;
}

static int read_json_file(const char *path, char **out, size_t *len, char *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fl_err(err, "cannot read json_file '%s': %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, 16 << 20);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_add(&b, chunk, n) < 0) break;
    int rerr = ferror(f);
    fclose(f);
    if (rerr || b.overflow) {
        buf_release(&b);
        return fl_err(err, "cannot read json_file '%s': %s", path, rerr ? "read error" : "larger than 16 MiB");
    }
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, 0, &je);
    if (!j) {
        buf_release(&b);
        return fl_err(err, "json_file '%s' is not JSON: line %d: %s", path, je.line, je.text);
    }
    json_decref(j);
    *len = b.len;
    *out = buf_detach(&b);
    return 0;
}

static int prep_init(struct lg_prep *pr, const struct lg_block_cfg *c, const struct lg_req_cfg *r, char *err)
{
    pr->cfg = r;
    pr->url = fl_asprintf("%s%s", c->base_url, r->path);
    pr->uh = curl_url();
    /* the flags libcurl itself parses CURLOPT_URL with */
    if (pr->uh && curl_url_set(pr->uh, CURLUPART_URL, pr->url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        curl_url_cleanup(pr->uh);
        pr->uh = NULL;     /* CURLOPT_URL reports what is wrong with it */
    }
    if (r->json_file) {
        if (read_json_file(r->json_file, &pr->body, &pr->body_len, err) < 0) return -1;
    } else if (r->body) {
        pr->body = fl_strdup(r->body);
        pr->body_len = strlen(r->body);
    } else if (r->nform) {
        struct buf b;
        buf_init(&b, 0);
        for (size_t i = 0; i < r->nform; i++) {
            if (i) buf_addc(&b, '&');
            form_encode(&b, r->form[i].k);
            buf_addc(&b, '=');
            form_encode(&b, r->form[i].v);
        }
        pr->body_len = b.len;
        pr->body = buf_detach(&b);
    }
    const char *m = r->method;
    pr->head = !strcmp(m, "HEAD");
    pr->has_body = pr->body != NULL || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
    if (pr->has_body && !pr->body) pr->body = fl_strdup("");
    if (strcmp(m, "HEAD") && strcmp(m, "POST") && (strcmp(m, "GET") || pr->has_body)) pr->custom = fl_strdup(m);
    for (size_t i = 0; i < c->nheaders; i++)
        if (!has_header(r->headers, r->nheaders, c->headers[i].k)) {
            char *h = fl_asprintf("%s: %s", c->headers[i].k, c->headers[i].v);
            pr->hdrs = curl_slist_append(pr->hdrs, h);
            free(h);
        }
    for (size_t i = 0; i < r->nheaders; i++) {
        char *h = fl_asprintf("%s: %s", r->headers[i].k, r->headers[i].v);
        pr->hdrs = curl_slist_append(pr->hdrs, h);
        free(h);
    }
    int ct = has_header(r->headers, r->nheaders, "content-type") || has_header(c->headers, c->nheaders, "content-type");
    if (!ct && r->body_is_json) pr->hdrs = curl_slist_append(pr->hdrs, "Content-Type: application/json");
    if (!ct && r->nform) pr->hdrs = curl_slist_append(pr->hdrs, "Content-Type: application/x-www-form-urlencoded");
    if (pr->has_body) pr->hdrs = curl_slist_append(pr->hdrs, "Expect:");
    return 0;
}

static void prep_release(struct lg_prep *pr)
{
    free(pr->url);
    curl_url_cleanup(pr->uh);
    free(pr->body);
    free(pr->custom);
    curl_slist_free_all(pr->hdrs);
}

static void blk_free(struct lg_blk *b)
{
    if (!b) return;
    /* the easy handles first: they point at the preps' URLs and header lists */
    for (size_t i = 0; i < b->nusers; i++) user_free(b->users[i]);
    free(b->users);
    user_free(b->login_user);
    for (size_t i = 0; i < b->nprep; i++) prep_release(&b->preps[i]);
    free(b->preps);
    free(b->cum_weight);
    for (size_t i = 0; i < b->nwins; i++) hist_sparse_release(&b->wins[i].hs);
    free(b->wins);
    free(b->eps);
    free(b->token);
    free(b);
}

struct lg *lg_new(struct lg_block_cfg *const *blocks, size_t n, uint64_t seed, char *err)
{
    if (!n) { fl_err(err, "no load blocks to run"); return NULL; }
    pthread_once(&curl_once, curl_init_once);
    struct lg *lg = fl_calloc(1, sizeof *lg);
    lg->seed = seed;
    lg->epfd = lg->evfd = lg->tfd = -1;
    lg->curl_due = -1;
    pthread_mutex_init(&lg->mu, NULL);
    pthread_mutex_init(&lg->join_mu, NULL);
    const char *loop = getenv("FL_LG_LOOP");
    lg->use_poll = !(loop && !strcmp(loop, "epoll"));
    lg->blocks = fl_calloc(n, sizeof *lg->blocks);
    for (size_t i = 0; i < n; i++) {
        struct lg_block_cfg *c = blocks[i];
        for (size_t j = 0; j < i; j++)
            if (!strcmp(lg->blocks[j]->cfg->name, c->name)) {
                fl_err(err, "two load blocks named '%s'", c->name);
                lg_free(lg);
                return NULL;
            }
        struct lg_blk *b = fl_calloc(1, sizeof *b);
        lg->blocks[lg->nblocks++] = b;
        b->lg = lg;
        b->cfg = c;
        b->idx = i;
        for (int k = 0; k < LG_OPEN_WINS; k++) {
            b->open_sec[k] = -1;
            hist_init(&b->open_h[k]);
        }
        b->rng = seed ^ (0x9e3779b97f4a7c15ull * (i + 7));
        b->nprep = c->nreqs + (c->has_login ? 1 : 0);
        b->preps = fl_calloc(b->nprep, sizeof *b->preps);
        b->neps = b->nprep;
        b->eps = fl_calloc(b->neps, sizeof *b->eps);
        for (size_t k = 0; k < b->neps; k++) hist_init(&b->eps[k].h);
        b->cum_weight = fl_calloc(c->nreqs ? c->nreqs : 1, sizeof *b->cum_weight);
        double acc = 0;
        for (size_t k = 0; k < c->nreqs; k++) {
            acc += c->reqs[k].weight;
            b->cum_weight[k] = acc;
        }
        char perr[FL_ERR_LEN];
        for (size_t k = 0; k < b->nprep; k++) {
            const struct lg_req_cfg *r = k < c->nreqs ? &c->reqs[k] : &c->login;
            if (prep_init(&b->preps[k], c, r, perr) < 0) {
                fl_err(err, "load '%s': %s", c->name, perr);
                lg_free(lg);
                return NULL;
            }
        }
    }
    lg->multi = curl_multi_init();
    if (!lg->multi) {
        fl_err(err, "cannot start the load engine: curl_multi_init failed");
        lg_free(lg);
        return NULL;
    }
    long maxconn = 16;
    for (size_t i = 0; i < lg->nblocks; i++) maxconn += (long)lg->blocks[i]->cfg->vus + 1;
    curl_multi_setopt(lg->multi, CURLMOPT_MAXCONNECTS, maxconn);
    if (lg->use_poll) lg->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!lg->use_poll) {
        lg->epfd = epoll_create1(EPOLL_CLOEXEC);
        lg->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (lg->epfd < 0 || lg->evfd < 0) {
            fl_err(err, "cannot start the load engine: epoll: %s", strerror(errno));
            lg_free(lg);
            return NULL;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = lg->evfd };
        epoll_ctl(lg->epfd, EPOLL_CTL_ADD, lg->evfd, &ev);
        curl_multi_setopt(lg->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(lg->multi, CURLMOPT_SOCKETDATA, lg);
        curl_multi_setopt(lg->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(lg->multi, CURLMOPT_TIMERDATA, lg);
    }
    return lg;
}

int lg_start(struct lg *lg, int64_t t0_ns, int64_t duration_ms, char *err)
{
    if (lg->started) return fl_err(err, "the load engine runs already");
    if (duration_ms <= 0) return fl_err(err, "the load needs a duration above 0");
    lg->t0_ns = t0_ns;
    lg->duration_ms = duration_ms;
    lg->end_ns = t0_ns + duration_ms * 1000000LL;
    size_t nwins = (size_t)(duration_ms / 1000) + 2;
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        int64_t d = b->cfg->duration_ms && b->cfg->duration_ms < duration_ms ? b->cfg->duration_ms : duration_ms;
        b->end_ns = t0_ns + d * 1000000LL;
        b->wins = fl_calloc(nwins, sizeof *b->wins);
        b->nwins = nwins;
        b->next_due = t0_ns;
    }
    atomic_store(&lg->running, 1);
    atomic_store(&lg->stopped_ns, 0);
    int rc = pthread_create(&lg->th, NULL, engine_main, lg);
    if (rc) {
        atomic_store(&lg->running, 0);
        return fl_err(err, "cannot start the load engine thread: %s", strerror(rc));
    }
    lg->started = 1;
    return 0;
}

void lg_stop(struct lg *lg)
{
    if (!lg) return;
    atomic_store(&lg->stop, 1);
    pthread_mutex_lock(&lg->join_mu);
    if (lg->started && !lg->joined) {
        if (lg->use_poll) curl_multi_wakeup(lg->multi);
        else {
            uint64_t one = 1;
            if (write(lg->evfd, &one, sizeof one) < 0) { /* the loop re-checks within 50 ms anyway */ }
        }
        pthread_join(lg->th, NULL);
        lg->joined = 1;
    }
    pthread_mutex_unlock(&lg->join_mu);
}

int lg_running(struct lg *lg) { return atomic_load(&lg->running); }

int lg_wait(struct lg *lg, int64_t timeout_ms)
{
    int64_t until = fl_now_ns() + timeout_ms * 1000000LL;
    while (atomic_load(&lg->running)) {
        if (fl_now_ns() >= until) return -1;
        struct timespec ts = { 0, 20000000L };
        nanosleep(&ts, NULL);
    }
    return 0;
}

int64_t lg_elapsed_ms(struct lg *lg)
{
    if (!lg->started) return 0;
    int64_t end = atomic_load(&lg->stopped_ns);
    if (!end) {
        end = fl_now_ns();
        if (end > lg->end_ns) end = lg->end_ns;
    }
    int64_t el = (end - lg->t0_ns) / 1000000LL;
    return el < 0 ? 0 : el;
}

size_t lg_nblocks(const struct lg *lg) { return lg->nblocks; }
const char *lg_block_at(const struct lg *lg, size_t i) { return i < lg->nblocks ? lg->blocks[i]->cfg->name : NULL; }

static struct lg_blk *find_block(struct lg *lg, const char *name)
{
    for (size_t i = 0; i < lg->nblocks; i++)
        if (!strcmp(lg->blocks[i]->cfg->name, name)) return lg->blocks[i];
    return NULL;
}

static void fill_stats(struct lg_stats *o, const struct lg_counts *c, const struct hist *h, double seconds)
{
    memset(o, 0, sizeof *o);
    o->count = c->count;
    o->err_connect = c->err[EC_CONNECT];
    o->err_timeout = c->err[EC_TIMEOUT];
    o->err_4xx = c->err[EC_4XX];
    o->err_5xx = c->err[EC_5XX];
    o->err_other = c->err[EC_OTHER];
    for (int i = 0; i < EC_N; i++) o->errors += c->err[i];
    o->seconds = seconds > 0 ? seconds : 0;
    o->rps = seconds > 0 ? (double)c->count / seconds : 0;
    o->ok_rps = seconds > 0 ? (double)(c->count - o->errors) / seconds : 0;
    o->error_rate = c->count ? (double)o->errors / (double)c->count : 0;
    if (h->count) {
        o->p50 = (double)hist_quantile(h, 0.50) / 1e6;
        o->p90 = (double)hist_quantile(h, 0.90) / 1e6;
        o->p95 = (double)hist_quantile(h, 0.95) / 1e6;
        o->p99 = (double)hist_quantile(h, 0.99) / 1e6;
        o->max = (double)h->max / 1e6;
        o->min = (double)h->min / 1e6;
        o->mean = hist_mean(h) / 1e6;
    }
}

/* merge seconds [s0, s1) of b into c / h; under lg->mu */
static void merge_windows(struct lg_blk *b, int64_t s0, int64_t s1, struct lg_counts *c, struct hist *h)
{
    if (s1 > (int64_t)b->nwins) s1 = (int64_t)b->nwins;
    for (int64_t s = s0 < 0 ? 0 : s0; s < s1; s++) {
        counts_merge(c, &b->wins[s].c);
        hist_merge_sparse(h, &b->wins[s].hs);
        for (int k = 0; k < LG_OPEN_WINS; k++)
            if (b->open_sec[k] == s) {
                counts_merge(c, &b->open_c[k]);
                hist_merge(h, &b->open_h[k]);
            }
    }
}

int lg_query(struct lg *lg, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out)
{
    memset(out, 0, sizeof *out);
    struct lg_blk *only = NULL;
    if (block && !(only = find_block(lg, block))) return -1;
    int64_t el = lg_elapsed_ms(lg);
    if (from_ms < 0) from_ms = 0;
    if (to_ms > el) to_ms = el;
    if (to_ms <= from_ms) return 0;
    /* to the nearest whole seconds (a fault window [8.003 s, 18.010 s) is seconds 8..17, and
     * a window ending at an injection at 10.003 s leaves out second 10, which is mostly the
     * fault); a window shorter than that takes the seconds it touches */
    int64_t s0 = (from_ms + 500) / 1000, s1 = (to_ms + 500) / 1000;
    if (s1 <= s0) { s0 = from_ms / 1000; s1 = (to_ms + 999) / 1000; }
    struct hist *h = fl_malloc(sizeof *h);
    hist_init(h);
    struct lg_counts c = { 0 };
    pthread_mutex_lock(&lg->mu);
    for (size_t i = 0; i < lg->nblocks; i++)
        if (!only || lg->blocks[i] == only) merge_windows(lg->blocks[i], s0, s1, &c, h);
    pthread_mutex_unlock(&lg->mu);
    int64_t end = s1 * 1000 < el ? s1 * 1000 : el;
    fill_stats(out, &c, h, (double)(end - s0 * 1000) / 1000.0);
    free(h);
    return 0;
}

size_t lg_nendpoints(struct lg *lg, const char *block)
{
    struct lg_blk *b = find_block(lg, block);
    return b ? b->neps : 0;
}

const char *lg_endpoint_name(struct lg *lg, const char *block, size_t endpoint)
{
    struct lg_blk *b = find_block(lg, block);
    return b && endpoint < b->neps ? b->preps[endpoint].cfg->name : NULL;
}

int lg_query_endpoint(struct lg *lg, const char *block, size_t endpoint, struct lg_stats *out)
{
    memset(out, 0, sizeof *out);
    struct lg_blk *b = find_block(lg, block);
    if (!b || endpoint >= b->neps) return -1;
    struct hist *h = fl_malloc(sizeof *h);
    pthread_mutex_lock(&lg->mu);
    struct lg_counts c = b->eps[endpoint].c;
    memcpy(h, &b->eps[endpoint].h, sizeof *h);
    pthread_mutex_unlock(&lg->mu);
    fill_stats(out, &c, h, (double)lg_elapsed_ms(lg) / 1000.0);
    free(h);
    return 0;
}

uint64_t lg_logins(struct lg *lg, const char *block)
{
    struct lg_blk *b = find_block(lg, block);
    if (!b) return 0;
    pthread_mutex_lock(&lg->mu);
    uint64_t n = b->logins;
    pthread_mutex_unlock(&lg->mu);
    return n;
}

/* a threshold: 1 holds, 0 fails, -1 no evidence (no request completed: only a threshold on
 * count or errors is judged then, nothing else was measured) */
static int threshold_ok(const struct expect *e, const struct lg_stats *st, double *v)
{
    *v = lg_metric(st, e->metric);
    if (!st->count && strcmp(e->metric, "count") && strcmp(e->metric, "errors")) return -1;
    return expect_eval_num(e, *v);
}

int lg_thresholds_ok(struct lg *lg)
{
    int ok = 1;
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        if (!b->cfg->nthresholds) continue;
        struct lg_stats st;
        lg_query(lg, b->cfg->name, 0, lg_elapsed_ms(lg), &st);
        for (size_t k = 0; k < b->cfg->nthresholds; k++) {
            double v;
            if (threshold_ok(&b->cfg->thresholds[k], &st, &v) == 0) ok = 0;
        }
    }
    return ok;
}

int lg_thresholds_without_evidence(struct lg *lg, const char *block)
{
    struct lg_blk *b = find_block(lg, block);
    if (!b || !b->cfg->nthresholds) return 0;
    struct lg_stats st;
    lg_query(lg, b->cfg->name, 0, lg_elapsed_ms(lg), &st);
    for (size_t k = 0; k < b->cfg->nthresholds; k++) {
        double v;
        if (threshold_ok(&b->cfg->thresholds[k], &st, &v) < 0) return 1;
    }
    return 0;
}

static json_t *jnum(double v)
{
    if (!isfinite(v)) return json_null();
    return json_real(round(v * 1e6) / 1e6);
}

static void stats_json(json_t *o, const struct lg_stats *s)
{
    json_object_set_new(o, "count", json_integer((json_int_t)s->count));
    json_object_set_new(o, "rps", jnum(s->rps));
    json_object_set_new(o, "ok_rps", jnum(s->ok_rps));
    json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
    json_object_set_new(o, "error_rate", jnum(s->error_rate));
    json_object_set_new(o, "err_connect", json_integer((json_int_t)s->err_connect));
    json_object_set_new(o, "err_timeout", json_integer((json_int_t)s->err_timeout));
    json_object_set_new(o, "err_4xx", json_integer((json_int_t)s->err_4xx));
    json_object_set_new(o, "err_5xx", json_integer((json_int_t)s->err_5xx));
    json_object_set_new(o, "err_other", json_integer((json_int_t)s->err_other));
    json_object_set_new(o, "p50", jnum(s->p50));
    json_object_set_new(o, "p90", jnum(s->p90));
    json_object_set_new(o, "p95", jnum(s->p95));
    json_object_set_new(o, "p99", jnum(s->p99));
    json_object_set_new(o, "max", jnum(s->max));
    json_object_set_new(o, "mean", jnum(s->mean));
    json_object_set_new(o, "min", jnum(s->min));
}

static json_t *block_json(struct lg *lg, struct lg_blk *b)
{
    const struct lg_block_cfg *c = b->cfg;
    json_t *o = json_object();
    char desc[256];
    lg_block_describe(c, desc, sizeof desc);
    char *url = fl_strdup(c->base_url);
    fl_redact(url);
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "description", json_string(desc));
    json_object_set_new(o, "base_url", json_string(url));
    free(url);
    json_object_set_new(o, "model", json_string(c->open ? "open" : "closed"));
    if (c->open) json_object_set_new(o, "rate", jnum(c->rate));
    json_object_set_new(o, c->open ? "max_in_flight" : "vus", json_integer(c->vus));
    if (c->think_text) json_object_set_new(o, "think", json_string(c->think_text));
    if (c->nramp) {
        json_t *r = json_array();
        for (size_t i = 0; i < c->nramp; i++)
            json_array_append_new(r, json_pack("{s:o, s:I}", "to", jnum(c->ramp[i].to), "over_ms",
                                               (json_int_t)c->ramp[i].over_ms));
        json_object_set_new(o, "ramp", r);
    }
    int64_t el = lg_elapsed_ms(lg);
    int64_t bd = lg->started ? (b->end_ns - lg->t0_ns) / 1000000LL : 0;
    json_object_set_new(o, "duration_ms", json_integer(bd < el ? bd : el));
    json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));

    struct lg_stats st;
    lg_query(lg, c->name, 0, el, &st);
    json_t *tot = json_object();
    stats_json(tot, &st);
    json_object_set_new(o, "totals", tot);
    pthread_mutex_lock(&lg->mu);
    uint64_t logins = b->logins, drops = b->drops, interrupted = b->interrupted;
    pthread_mutex_unlock(&lg->mu);
    json_object_set_new(o, "logins", json_integer((json_int_t)logins));
    json_object_set_new(o, "dropped", json_integer((json_int_t)drops));
    json_object_set_new(o, "interrupted", json_integer((json_int_t)interrupted));

    json_t *th = json_array();
    for (size_t k = 0; k < c->nthresholds; k++) {
        double v;
        int ok = threshold_ok(&c->thresholds[k], &st, &v);
        json_array_append_new(th, json_pack("{s:s, s:s, s:o, s:o, s:s}", "expect", c->thresholds[k].text, "metric",
                                            c->thresholds[k].metric, "value", ok < 0 ? json_null() : jnum(v), "ok",
                                            ok < 0 ? json_null() : json_boolean(ok), "verdict",
                                            ok < 0 ? "inconclusive" : ok ? "passed" : "failed"));
    }
    json_object_set_new(o, "thresholds", th);

    json_t *eps = json_array();
    for (size_t k = 0; k < b->neps; k++) {
        struct lg_stats es;
        lg_query_endpoint(lg, c->name, k, &es);
        const struct lg_req_cfg *r = b->preps[k].cfg;
        json_t *e = json_pack("{s:s, s:s, s:s}", "name", r->name, "method", r->method, "path", r->path);
        stats_json(e, &es);
        json_array_append_new(eps, e);
    }
    json_object_set_new(o, "endpoints", eps);

    json_t *series = json_array();
    int64_t last = el > 0 ? (el - 1) / 1000 : -1;
    for (int64_t s = 0; s <= last && s < (int64_t)b->nwins; s++) {
        struct lg_stats ws;
        lg_query(lg, c->name, s * 1000, (s + 1) * 1000, &ws);
        json_t *w = json_object();
        json_object_set_new(w, "t", json_integer(s));
        json_object_set_new(w, "count", json_integer((json_int_t)ws.count));
        json_object_set_new(w, "rps", jnum(ws.rps));
        json_object_set_new(w, "ok_rps", jnum(ws.ok_rps));
        json_object_set_new(w, "errors", json_integer((json_int_t)ws.errors));
        json_object_set_new(w, "err_connect", json_integer((json_int_t)ws.err_connect));
        json_object_set_new(w, "err_timeout", json_integer((json_int_t)ws.err_timeout));
        json_object_set_new(w, "err_4xx", json_integer((json_int_t)ws.err_4xx));
        json_object_set_new(w, "err_5xx", json_integer((json_int_t)ws.err_5xx));
        json_object_set_new(w, "err_other", json_integer((json_int_t)ws.err_other));
        json_object_set_new(w, "p50", jnum(ws.p50));
        json_object_set_new(w, "p90", jnum(ws.p90));
        json_object_set_new(w, "p95", jnum(ws.p95));
        json_object_set_new(w, "p99", jnum(ws.p99));
        json_object_set_new(w, "max", jnum(ws.max));
        json_array_append_new(series, w);
    }
    json_object_set_new(o, "series", series);
    return o;
}

json_t *lg_to_json(struct lg *lg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < lg->nblocks; i++) json_array_append_new(a, block_json(lg, lg->blocks[i]));
    return a;
}

void lg_free(struct lg *lg)
{
    if (!lg) return;
    lg_stop(lg);
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        for (size_t k = 0; k < b->nusers; k++)
            if (b->users[k]->state == U_BUSY) curl_multi_remove_handle(lg->multi, b->users[k]->easy);
    }
    if (lg->multi) curl_multi_cleanup(lg->multi);
    for (size_t i = 0; i < lg->nblocks; i++) blk_free(lg->blocks[i]);
    free(lg->blocks);
    free(lg->heap);
    if (lg->epfd >= 0) close(lg->epfd);
    if (lg->evfd >= 0) close(lg->evfd);
    if (lg->tfd >= 0) close(lg->tfd);
    pthread_mutex_destroy(&lg->mu);
    pthread_mutex_destroy(&lg->join_mu);
    free(lg);
}
