/* fuzz_proxy_api.c -- libFuzzer target: the Toxiproxy API's request handling (pxapi_handle:
 * routing, JSON bodies, toxic attributes) over a real proxy engine.
 *
 * Input: requests separated by a line "--"; each is "METHOD /path" on its first line, the
 * body after it. One API per input (every proxy it made is closed after), proxies on loopback
 * only (PXAPI_LOOPBACK_ONLY), no client traffic. Checks besides "no crash, no leak": every
 * status is one the API answers; an error (>= 400) is Toxiproxy's {"error": text, "status":
 * the same status}; a 2xx body is JSON; after POST /reset no proxy has a toxic.
 *
 *   build/fuzz/fuzz_proxy_api tests/fuzz/corpus/proxy_api -max_total_time=600
 * tests/unit/test_fuzz_corpus.c includes this file (FUZZ_PROXY_API_ENTRY, FUZZ_FAIL) to
 * replay the corpus through the same function. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proxy_api.h"
#include "proxy_engine.h"

#ifndef FUZZ_PROXY_API_ENTRY
#define FUZZ_PROXY_API_ENTRY LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) (fprintf(stderr, "fuzz_proxy_api: " __VA_ARGS__), fputc('\n', stderr), abort())
#endif

static struct px_engine *fuzz_engine(void)
{
    static struct px_engine *e;
    char err[FL_ERR_LEN];
    if (!e && !(e = px_engine_new(err))) FUZZ_FAIL("engine: %s", err);
    return e;
}

static void one_request(struct pxapi *a, const char *req, size_t n)
{
    const char *nl = memchr(req, '\n', n);
    size_t ll = nl ? (size_t)(nl - req) : n;
    char line[512];
    if (ll >= sizeof line) ll = sizeof line - 1;
    memcpy(line, req, ll);
    line[ll] = '\0';
    char *sp = strchr(line, ' ');
    if (!sp) return;
    *sp = '\0';
    const char *method = line, *path = sp + 1;
    const char *body = nl ? nl + 1 : req + n;
    size_t bn = (size_t)(req + n - body);
    char *out = NULL;
    int st = pxapi_handle(a, method, path, body, bn, &out);
    static const int known[] = { 200, 201, 204, 400, 404, 405, 409, 500 };
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= st == known[i];
    if (!ok) FUZZ_FAIL("%s %s: status %d", method, path, st);
    if (st == 204 && out) FUZZ_FAIL("%s %s: 204 with a body", method, path);
    if (st != 204) {
        json_error_t je;
        json_t *j = out ? json_loads(out, JSON_DECODE_ANY, &je) : NULL;
        if (!j) FUZZ_FAIL("%s %s: status %d, body not JSON: %s", method, path, st, out ? out : "(none)");
        if (st >= 400 && (!json_is_string(json_object_get(j, "error")) ||
                          json_integer_value(json_object_get(j, "status")) != st))
            FUZZ_FAIL("%s %s: error %d not Toxiproxy-shaped: %s", method, path, st, out);
        json_decref(j);
    }
    free(out);
    if (st == 204 && !strcmp(method, "POST") && !strcmp(path, "/reset")) {
        out = NULL;
        if (pxapi_handle(a, "GET", "/proxies", NULL, 0, &out) != 200) FUZZ_FAIL("GET /proxies after reset");
        json_t *j = json_loads(out, 0, NULL);
        const char *k;
        json_t *p;
        json_object_foreach(j, k, p)
            if (json_array_size(json_object_get(p, "toxics"))) FUZZ_FAIL("proxy '%s' kept toxics after /reset", k);
        json_decref(j);
        free(out);
    }
}

int FUZZ_PROXY_API_ENTRY(const uint8_t *data, size_t size);
int FUZZ_PROXY_API_ENTRY(const uint8_t *data, size_t size)
{
    struct pxapi *a = pxapi_new(fuzz_engine(), PXAPI_LOOPBACK_ONLY);
    const char *p = (const char *)data, *end = p + size;
    for (int k = 0; p < end && k < 32; k++) {
        const char *sep = NULL;
        for (const char *q = p; q + 4 <= end; q++)
            if (!memcmp(q, "\n--\n", 4)) { sep = q; break; }
        const char *stop = sep ? sep : end;
        one_request(a, p, (size_t)(stop - p));
        p = sep ? sep + 4 : end;
    }
    pxapi_free(a);
    return 0;
}
