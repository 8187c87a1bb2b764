/* test_valgrind.c -- a whole run of the faultline binary under valgrind's memcheck: load with
 * login and secrets, a steady state, a fault with its revert, window and recovery probes;
 * no definite or indirect leak, no invalid access. */
#include <stdio.h>
#include <string.h>
#include "harness.h"
#include "testsrv.h"

TEST_FILE_USES("alone"); /* valgrind takes a core for a whole run: timing tests beside it would feel it */

/* valgrind cannot run an ASan binary: `make asan` does not build this test (`make test` runs it) */
#ifndef __SANITIZE_ADDRESS__
TEST_T(run_valgrind_memcheck_full_run_no_leaks, 120)
{
    char out[4096];
    if (th_sh(out, sizeof out, "command -v valgrind") != 0) SKIP("valgrind is not installed (apt-get install valgrind)");
    struct testsrv *s = testsrv_must(NULL);
    const char *d = th_tmpdir();
    th_write_in(d, "p.yaml",
                "faultline: 1\nname: vg\nduration: 3s\n"
                "secrets: { pw: secret }\n"
                "load:\n  - name: l\n    base_url: \"http://127.0.0.1:%d\"\n"
                "    login: { request: { method: POST, path: /login, form: { username: u, password: \"${pw}\" } }, token: access_token }\n"
                "    requests: [ { weight: 3, method: GET, path: /auth }, { weight: 1, method: GET, path: \"/delay?ms=20\" } ]\n"
                "    vus: 3\n    think: 20ms\n    thresholds: [ \"p99 < 2s\" ]\n"
                "steady_state:\n  - http: { url: \"http://127.0.0.1:%d/json\", json: { status: ok } }\n"
                "method:\n  - { name: m, at: 1s, for: 1s, fault: exec, run: \"true\", revert: \"true\" }\n"
                "probes:\n  - { name: l, during: m, load: l, expect: \"error_rate < 1%%\" }\n"
                "  - { name: h, during: m, every: 300ms, http: { url: \"http://127.0.0.1:%d/ok\" } }\n"
                "  - { name: r, recovery: { from: m, until: { http: { url: \"http://127.0.0.1:%d/ok\" } }, every: 100ms, stable: 2, within: 2s } }\n",
                testsrv_port(s), testsrv_port(s), testsrv_port(s), testsrv_port(s));
    static char vout[1 << 16];
    int rc = th_sh(vout, sizeof vout,
                   "cd '%s' && FAULTLINE_JOURNAL=j.jsonl valgrind -q --leak-check=full --show-leak-kinds=definite,indirect "
                   "--errors-for-leak-kinds=definite,indirect --error-exitcode=9 '%s' run p.yaml -o out 2>&1",
                   d, th_faultline());
    ASSERT_MSG(rc == 0, "valgrind/faultline exit %d:\n%s", rc, vout);
    ASSERT_MSG(!strstr(vout, "definitely lost") && !strstr(vout, "Invalid read"), "%s", vout);
    testsrv_stop(s);
}
#endif
