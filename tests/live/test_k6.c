/* test_k6.c -- a live k6 run as a load block (`make test-k6`, outside `make test`: k6 is not a
 * Debian package, and the machine faultline is developed on cannot install it, so this test
 * has NOT been run there). A real k6 against a real HTTP server (tests/testsrv.c): every
 * request the server answered is in the windows by k6's request name, a slow range made by
 * the server shows in those seconds, and k6 is gone after the stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fl.h"
#include "harness.h"
#include "load.h"
#include "loadfx.h"
#include "plan.h"
#include "testsrv.h"

TEST_FILE_USES("");

static const char script[] =
    "import http from 'k6/http';\n"
    "export const options = { vus: 2, duration: '60s' };\n"
    "export default function () {\n"
    "  http.get(`${__ENV.BASE}/delay?ms=5`, { tags: { name: 'slow page' } });\n"
    "}\n";

TEST_T(k6_live_requests_in_windows, 120)
{
    char o[256];
    if (th_sh(o, sizeof o, "command -v k6") != 0)
        SKIP("k6 is not on PATH (not a Debian package: https://grafana.com/docs/k6/latest/set-up/install-k6/)");
    struct testsrv *s = testsrv_start(0);
    ASSERT(s);
    char *js = fl_asprintf("%s/script.js", th_tmpdir());
    FILE *f = fopen(js, "w");
    ASSERT(f);
    fputs(script, f);
    fclose(f);
    struct lg_block_cfg *c = lfx_block("name: k6\nk6: { script: %s, args: [-e, 'BASE=http://127.0.0.1:%d'] }\n", js,
                                       testsrv_port(s));
    struct lg *lg = lfx_tool_run(&c, s, 8000, 3, 2, 80); /* 80 ms slower in seconds 3 and 4 */
    struct lg_stats all, slow, before;
    ASSERT_EQ_INT(lg_query(lg, "k6", 0, 8000, &all), 0);
    uint64_t hits = testsrv_hits(s, "/delay");
    json_t *j = lg_to_json(lg);
    json_t *tool = json_object_get(json_array_get(j, 0), "tool");
    uint64_t outside = (uint64_t)json_integer_value(json_object_get(tool, "outside_run"));
    ASSERT_MSG(all.count > 50 && all.count + outside <= hits && (double)(hits - all.count - outside) <= 0.01 * (double)hits + 2,
               "ingested %llu (+%llu outside), server counted %llu", (unsigned long long)all.count,
               (unsigned long long)outside, (unsigned long long)hits);
    ASSERT_EQ_INT(json_integer_value(json_object_get(tool, "malformed")), 0);
    json_decref(j);
    ASSERT_EQ_STR(lg_endpoint_name(lg, "k6", 0), "slow page");
    ASSERT_EQ_INT(lg_query(lg, "k6", 3200, 4800, &slow), 0);
    ASSERT_EQ_INT(lg_query(lg, "k6", 0, 2800, &before), 0);
    ASSERT_MSG(slow.count > 10 && slow.p50 >= 80.0, "slow window p50 %.1f ms", slow.p50);
    ASSERT_MSG(before.count > 20 && before.p50 < 80.0, "before p50 %.1f ms", before.p50);
    lg_free(lg);
    ASSERT_EQ_INT(th_pgrep("[k]6 run --out json=.* %s", js), 0);
    lg_block_free(c);
    testsrv_stop(s);
    free(js);
}
