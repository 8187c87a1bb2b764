/* load_config.c -- `load:` blocks of a plan parsed and described (no I/O; see load.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fl.h"
#include "load_int.h"
#include "value.h"

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

void lg_kv_free(struct lg_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(kv[i].k); free(kv[i].v); }
    free(kv);
}

static void req_release(struct lg_req_cfg *r)
{
    free(r->name);
    free(r->method);
    free(r->path);
    lg_kv_free(r->headers, r->nheaders);
    free(r->body);
    free(r->json_file);
    lg_kv_free(r->form, r->nform);
    memset(r, 0, sizeof *r);
}

void lg_block_free(struct lg_block_cfg *c)
{
    if (!c) return;
    free(c->name);
    free(c->base_url);
    lg_kv_free(c->headers, c->nheaders);
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

/* name, base_url, headers; the number of errors */
static int parse_target(struct lg_block_cfg *c, const struct node *map, const char *what, struct diag *d)
{
    int bad = 0;
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
    return bad;
}

/* login: {request, token}; the number of errors */
static int parse_login(struct lg_block_cfg *c, const struct node *map, const char *what, struct diag *d)
{
    const struct node *ln = node_get(map, "login");
    if (!ln || ln->type != NODE_MAP) return 0;
    char w2[200];
    snprintf(w2, sizeof w2, "%s login", what);
    int bad = params_check(ln, lg_login_params, NULL, w2, d);
    const struct node *rq = node_get(ln, "request");
    if (bad || !rq) return bad;
    snprintf(w2, sizeof w2, "%s login request", what);
    if (parse_request(rq, lg_login_request_params, w2, "POST", &c->login, d) < 0) bad++;
    free(c->login.name);
    c->login.name = fl_strdup("login");
    c->token_field = fl_strdup(param_str(ln, "token", ""));
    if (!*c->token_field) { diag_add(d, node_get(ln, "token"), "%s: token field is empty", w2); bad++; }
    c->has_login = 1;
    return bad;
}

/* requests: [...], names unique; the number of errors */
static int parse_requests(struct lg_block_cfg *c, const struct node *map, const char *what, struct diag *d)
{
    const struct node *rs = node_get(map, "requests");
    if (!rs || rs->type != NODE_SEQ) return 0;
    int bad = 0;
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
    return bad;
}

/* the model: rate (open) or vus and think (closed); the number of errors */
static int parse_model(struct lg_block_cfg *c, const struct node *map, const char *what, struct diag *d)
{
    int bad = 0;
    char err[FL_ERR_LEN];
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
    return bad;
}

/* ramp: stages within vus / rate (closed without vus: up to the peak); the number of errors */
static int parse_ramp(struct lg_block_cfg *c, const struct node *map, const char *what, struct diag *d)
{
    const struct node *rn = node_get(map, "ramp");
    if (!rn || rn->type != NODE_SEQ) return 0;
    int bad = 0;
    char err[FL_ERR_LEN];
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
    return bad;
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
    bad += parse_target(c, map, what, d);
    bad += parse_login(c, map, what, d);
    bad += parse_requests(c, map, what, d);
    bad += parse_model(c, map, what, d);
    bad += parse_ramp(c, map, what, d);
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
