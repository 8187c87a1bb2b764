/* fuzz_load_lines.c -- libFuzzer target: the lines an outside load tool writes (load_ext.c):
 * faultline's jsonl format and k6's `--out json` lines, and k6's RFC 3339 times.
 * First byte even: jsonl, odd: k6 JSON; the rest is split at '\n' and each line parsed, as
 * the reader thread does. Checks besides "no crash": a line is a request (1), no request (0)
 * or invalid (-1, with a reason); a request has a finite send time, a latency between 0 and a
 * day, an error class the engine knows, and a name and method that are one line of text.
 *
 *   build/fuzz/fuzz_load_lines tests/fuzz/corpus/load_lines -max_total_time=600
 * tests/unit/test_fuzz_corpus.c includes this file (FUZZ_LOAD_LINES_ENTRY) to replay the corpus. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"
#include "load_ext.h"
#include "load_int.h"

#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) abort()
#endif
#ifndef FUZZ_LOAD_LINES_ENTRY
#define FUZZ_LOAD_LINES_ENTRY LLVMFuzzerTestOneInput
#endif

static void check_line(int format, const char *line, size_t len)
{
    struct lgx_rec r;
    char err[FL_ERR_LEN];
    err[0] = '\0';
    int rc = lgx_parse_line(format, line, len, &r, err);
    if (rc < -1 || rc > 1) FUZZ_FAIL("lgx_parse_line returned %d", rc);
    if (rc < 0 && !err[0]) FUZZ_FAIL("an invalid line without a reason");
    if (rc != 1) return;
    if (!isfinite(r.t_sent)) FUZZ_FAIL("send time not finite");
    if (!(r.lat_ms >= 0 && r.lat_ms <= 864e5)) FUZZ_FAIL("latency %g out of range", r.lat_ms);
    if (r.cls < -1 || r.cls >= EC_N) FUZZ_FAIL("error class %d", r.cls);
    if (r.status < 0 || r.status > 999) FUZZ_FAIL("status %d", r.status);
    if (memchr(r.name, '\0', sizeof r.name) == NULL || strchr(r.name, '\n')) FUZZ_FAIL("name is not one line");
    if (memchr(r.method, '\0', sizeof r.method) == NULL || strchr(r.method, '\n')) FUZZ_FAIL("method is not one line");
}

int FUZZ_LOAD_LINES_ENTRY(const uint8_t *data, size_t size);
int FUZZ_LOAD_LINES_ENTRY(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int format = (data[0] & 1) ? LGX_K6JSON : LGX_JSONL;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        check_line(format, p, len);
        p += len + (nl ? 1 : 0);
    }
    /* the time parser on the input as a C string */
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    double t;
    if (lgx_rfc3339(s, &t) == 0 && !isfinite(t)) FUZZ_FAIL("rfc3339 gave a non-finite time");
    free(s);
    return 0;
}
