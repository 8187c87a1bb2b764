/* loadfx.h -- load fixtures shared by the load engine's, the outside tools' and the compare
 * tests: `load:` blocks parsed from YAML (or checked for their errors), an outside tool's run with a slow
 * stretch made by the test server, and a latency distribution as run.json keeps it. */
#ifndef FL_LOADFX_H
#define FL_LOADFX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct lg;
struct lg_block_cfg;
struct testsrv;

/* a load block from YAML text (printf-style); the test fails when it does not parse cleanly */
struct lg_block_cfg *lfx_block(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* a block that must not parse and what its diagnostics must say (substrings, NULL-ended) */
struct lfx_bad {
    const char *yaml;
    const char *errors[5];
};
/* each block fails to parse and its diagnostics hold each of its errors; the test fails
 * naming the block and the missing words otherwise */
void lfx_check_bad(const struct lfx_bad *cases, size_t n);
/* an outside tool's block run for dur_ms (seed 1) while the server s answers delay_ms slower
 * from second slow_at for slow_s seconds; waits for the end and stops it; the test fails when
 * it does not start, does not end by itself or the tool failed. lg_free() the result. */
struct lg *lfx_tool_run(struct lg_block_cfg **c, struct testsrv *s, int64_t dur_ms, int slow_at, int slow_s,
                        int delay_ms);
/* n requests of scale * (1 + 4 u^4) ms, u evenly in (0, 1]: their histogram (the engine's
 * own buckets), count and p95 (and p99 when asked) into o, as run.json has them */
void lfx_latency(json_t *o, int n, double scale, int p99);

#endif
