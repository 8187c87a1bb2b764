/* http.c -- the `http` probe: status, latency, body text and JSON fields of one request. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe.h"
#include "value.h"

struct http_cfg {
    char *url;
    char *method;
    char *body;
    char **headers;           /* "Name: value" */
    int status[16];           /* exact codes; 0 = none */
    int status_class[16];     /* 2 for "2xx" */
    size_t nstatus;
    int64_t max_latency_ms;   /* -1 = none */
    int64_t timeout_ms;
    char *body_contains;
    char **json_paths;        /* dotted paths ... */
    char **json_values;       /* ... and the text they must equal */
    size_t njson;
};

static const struct param_spec http_params[] = {
    { "url", PT_STR, PARAM_REQUIRED, "http:// URL to request" },
    { "method", PT_STR, 0, "GET (default), HEAD, POST, ..." },
    { "headers", PT_MAP, 0, "extra request headers" },
    { "body", PT_STR, 0, "request body" },
    { "status", PT_STRLIST, 0, "expected status: 200, [200, 204] or 2xx (default 2xx)" },
    { "max_latency", PT_DURATION, 0, "slower answers fail" },
    { "timeout", PT_DURATION, 0, "give up after (default 5s): no answer in time fails the check" },
    { "body_contains", PT_STR, 0, "text the body must contain" },
    { "json", PT_MAP, 0, "JSON fields (dotted paths) and the values they must equal" },
    { 0 } };

static int http_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg, struct diag *d)
{
    (void)pc; (void)entry;
    struct http_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    c->url = fl_strdup(param_str(val, "url", ""));
    if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8)) {
        diag_add(d, node_get(val, "url"), "http probe: url '%s' must start with http:// or https://", c->url);
        bad = 1;
    }
    c->method = fl_strdup(param_str(val, "method", "GET"));
    const char *b = param_str(val, "body", NULL);
    c->body = b ? fl_strdup(b) : NULL;
    const struct node *h = node_get(val, "headers");
    if (h) {
        c->headers = fl_calloc(h->n + 1, sizeof *c->headers);
        for (size_t i = 0; i < h->n; i++) {
            if (h->items[i]->type != NODE_SCALAR) { diag_add(d, h->items[i], "http probe: header values must be text"); bad = 1; continue; }
            c->headers[i] = fl_asprintf("%s: %s", h->keys[i]->str, h->items[i]->str);
        }
    }
    char **st = param_strv(val, "status");
    for (size_t i = 0; st && st[i]; i++) {
        if (c->nstatus == 16) break;
        char *end;
        long v = strtol(st[i], &end, 10);
        if (strlen(st[i]) == 3 && st[i][0] >= '1' && st[i][0] <= '5' && !strcmp(st[i] + 1, "xx")) {
            c->status_class[c->nstatus++] = st[i][0] - '0';
        } else if (*end || v < 100 || v > 599) {
            diag_add(d, node_get(val, "status"), "http probe: status '%s' is not an HTTP status (like 200 or 2xx)", st[i]);
            bad = 1;
        } else {
            c->status[c->nstatus++] = (int)v;
        }
    }
    param_strv_free(st);
    if (c->nstatus == 0) { c->status_class[0] = 2; c->nstatus = 1; }
    c->max_latency_ms = param_ms(val, "max_latency", -1);
    c->timeout_ms = param_ms(val, "timeout", 5000);
    const char *bc = param_str(val, "body_contains", NULL);
    c->body_contains = bc ? fl_strdup(bc) : NULL;
    const struct node *j = node_get(val, "json");
    if (j) {
        c->json_paths = fl_calloc(j->n + 1, sizeof *c->json_paths);
        c->json_values = fl_calloc(j->n + 1, sizeof *c->json_values);
        for (size_t i = 0; i < j->n; i++) {
            if (j->items[i]->type != NODE_SCALAR) { diag_add(d, j->items[i], "http probe: json: values must be plain values"); bad = 1; continue; }
            c->json_paths[c->njson] = fl_strdup(j->keys[i]->str);
            c->json_values[c->njson++] = fl_strdup(j->items[i]->str);
        }
    }
    *cfg = c;
    return bad ? -1 : 0;
}

struct sink { struct buf *b; };
static size_t on_body(char *data, size_t sz, size_t n, void *ud)
{
    struct buf *b = ud;
    if (buf_add(b, data, sz * n) < 0) return 0; /* cap reached: stop */
    return sz * n;
}

/* JSON value at a dotted path as text ("ok", "42", "true") into out */
static int json_path_text(json_t *root, const char *path, char *out, size_t outlen)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur)) { char *end; long i = strtol(tok, &end, 10); cur = *end ? NULL : json_array_get(cur, (size_t)i); }
        else cur = json_object_get(cur, tok);
    }
    if (!cur) return -1;
    if (json_is_string(cur)) snprintf(out, outlen, "%s", json_string_value(cur));
    else if (json_is_integer(cur)) snprintf(out, outlen, "%lld", (long long)json_integer_value(cur));
    else if (json_is_real(cur)) snprintf(out, outlen, "%g", json_real_value(cur));
    else if (json_is_true(cur)) snprintf(out, outlen, "true");
    else if (json_is_false(cur)) snprintf(out, outlen, "false");
    else if (json_is_null(cur)) snprintf(out, outlen, "null");
    else { char *s = json_dumps(cur, JSON_COMPACT); snprintf(out, outlen, "%s", s ? s : ""); free(s); }
    return 0;
}

static int http_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct http_cfg *c = pi->cfg;
    CURL *h = curl_easy_init();
    if (!h) return fl_err(err, "cannot create a curl handle");
    struct buf body;
    buf_init(&body, 1 << 20);
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; c->headers && c->headers[i]; i++) hdrs = curl_slist_append(hdrs, c->headers[i]);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
    if (!strcmp(c->method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (c->body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* only the host the plan names */
    curl_easy_setopt(h, CURLOPT_PROXY, "");          /* and itself: a proxy from the environment is not the */
    curl_easy_setopt(h, CURLOPT_NOPROXY, "");        /* service, its failure no evidence (as the load engine) */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
    int64_t t0 = fl_now_ns();
    CURLcode rc = curl_easy_perform(h);
    double ms = (fl_now_ns() - t0) / 1e6;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    obs->latency_ms = ms;
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && body.overflow)) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        buf_release(&body);
        /* faultline's own side (a URL or option libcurl refuses, no memory): no question
         * was asked. Anything on the wire (refused, reset, timed out, a name that does not
         * resolve) is the service under test not answering: evidence */
        if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT || rc == CURLE_OUT_OF_MEMORY ||
            rc == CURLE_FAILED_INIT || rc == CURLE_BAD_FUNCTION_ARGUMENT || rc == CURLE_NOT_BUILT_IN ||
            rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ENGINE_NOTFOUND)
            return fl_err(err, "%s '%s': %s", c->method, c->url, why);
        obs->outcome = PROBE_FAILED;
        snprintf(obs->observed, sizeof obs->observed, "no answer after %.0fms: %.400s", ms, why);
        return 0;
    }
    obs->has_value = 1;
    obs->value = ms;
    int ok = 0;
    for (size_t i = 0; i < c->nstatus; i++)
        if ((c->status[i] && c->status[i] == status) || (c->status_class[i] && c->status_class[i] == status / 100)) ok = 1;
    char why[256] = "";
    if (!ok) snprintf(why, sizeof why, " (unexpected status)");
    if (ok && c->max_latency_ms >= 0 && ms > (double)c->max_latency_ms) {
        ok = 0;
        snprintf(why, sizeof why, " (slower than %lldms)", (long long)c->max_latency_ms);
    }
    if (ok && c->body_contains && !strstr(body.data, c->body_contains)) {
        ok = 0;
        snprintf(why, sizeof why, " (body lacks \"%.100s\")", c->body_contains);
    }
    if (ok && c->njson) {
        json_t *root = json_loads(body.data, 0, NULL);
        for (size_t i = 0; ok && i < c->njson; i++) {
            char got[128];
            if (!root || json_path_text(root, c->json_paths[i], got, sizeof got) < 0) {
                ok = 0;
                snprintf(why, sizeof why, " (no JSON field '%.80s')", c->json_paths[i]);
            } else if (strcmp(got, c->json_values[i])) {
                ok = 0;
                snprintf(why, sizeof why, " (%.60s is \"%.60s\", expected \"%.60s\")", c->json_paths[i], got, c->json_values[i]);
            }
        }
        json_decref(root);
    }
    obs->outcome = ok ? PROBE_PASSED : PROBE_FAILED;
    snprintf(obs->observed, sizeof obs->observed, "%ld in %.0fms%s", status, ms, why);
    buf_release(&body);
    return 0;
}

static void http_describe(const void *cfg, struct buf *out)
{
    const struct http_cfg *c = cfg;
    buf_addf(out, "%s %s: status ", c->method, c->url);
    for (size_t i = 0; i < c->nstatus; i++) {
        if (i) buf_addc(out, '|');
        if (c->status[i]) buf_addf(out, "%d", c->status[i]); else buf_addf(out, "%dxx", c->status_class[i]);
    }
    if (c->max_latency_ms >= 0) buf_addf(out, ", latency <= %lldms", (long long)c->max_latency_ms);
    if (c->body_contains) buf_addf(out, ", body contains \"%s\"", c->body_contains);
    for (size_t i = 0; i < c->njson; i++) buf_addf(out, ", %s == \"%s\"", c->json_paths[i], c->json_values[i]);
}

static void http_free(void *cfg)
{
    struct http_cfg *c = cfg;
    free(c->url);
    free(c->method);
    free(c->body);
    param_strv_free(c->headers);
    free(c->body_contains);
    param_strv_free(c->json_paths);
    param_strv_free(c->json_values);
    free(c);
}

const struct probe_ops probe_http = {
    .name = "http",
    .summary = "one HTTP request: status, latency, body text, JSON fields",
    .params = http_params,
    .parse = http_parse,
    .check = http_check,
    .describe = http_describe,
    .free_cfg = http_free,
};
