/* test_matrix.c -- N-1 / N-2 contingency end to end: three real replicas (testsrv) behind
 * three fault proxies and a small round-robin front (a python3 service that also answers
 * /quorum: 200 while a majority of replicas answer). Losing any one replica keeps the quorum
 * (N-1 holds); losing any two breaks it (N-2 fails at every pair). */
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>
#include "harness.h"
#include "testsrv.h"

TEST_FILE_USES(""); /* its own replicas, proxies and front on free ports */

/* the whole file, NULL when missing; valid until the next call */
static char *slurp(const char *path)
{
    static char *last;
    free(last);
    return last = th_slurp(path);
}

/* the test folder's file rel (say "out/junit.xml"), as slurp(); the test fails when it is missing */
static char *out_file(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", th_tmpdir(), rel);
    char *t = slurp(path);
    ASSERT_MSG(t != NULL, "no %s", path);
    return t;
}

/* the front: round-robin over the replicas (the next one when one does not answer), and
 * /quorum = 200 when more than half of them answer /ok */
static const char front_py[] =
    "import sys, threading, urllib.request\n"
    "from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler\n"
    "port = int(sys.argv[1]); replicas = sys.argv[2:]\n"
    "lock = threading.Lock(); nxt = [0]\n"
    "def ask(r):\n"
    "    try:\n"
    "        with urllib.request.urlopen('http://%s/ok' % r, timeout=0.5) as f:\n"
    "            return f.status == 200\n"
    "    except Exception:\n"
    "        return False\n"
    "class H(BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def log_message(self, *a): pass\n"
    "    def reply(self, code, text):\n"
    "        b = text.encode()\n"
    "        self.send_response(code); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)\n"
    "    def do_GET(self):\n"
    "        if self.path == '/quorum':\n"
    "            up = sum(1 for r in replicas if ask(r))\n"
    "            return self.reply(200 if up * 2 > len(replicas) else 503, '%d of %d replicas answer\\n' % (up, len(replicas)))\n"
    "        with lock:\n"
    "            start = nxt[0]; nxt[0] += 1\n"
    "        for i in range(len(replicas)):\n"
    "            if ask(replicas[(start + i) % len(replicas)]):\n"
    "                return self.reply(200, 'ok\\n')\n"
    "        self.reply(502, 'no replica answered\\n')\n"
    "ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()\n";

struct cluster {
    struct testsrv *srv[3];
    int proxy[3];
    int front;
};

static void cluster_start(struct cluster *c)
{
    for (int i = 0; i < 3; i++) {
        c->srv[i] = testsrv_start(0);
        ASSERT(c->srv[i] != NULL);
        c->proxy[i] = th_free_port();
    }
    c->front = th_free_port();
    char path[512];
    snprintf(path, sizeof path, "%s/front.py", th_tmpdir());
    th_write_file(path, front_py);
}

static void cluster_stop(struct cluster *c)
{
    for (int i = 0; i < 3; i++) testsrv_stop(c->srv[i]);
}

/* the N-k plan over the cluster: lose one (or two) replicas for 1.5 s under load */
static void write_plan(const struct cluster *c, int choose, const char *file)
{
    th_need_program("python3", "python3"); /* the front is a python3 service */
    const char *d = th_tmpdir();
    char plan[4096], path[512];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: replicas-n%d\nduration: 3s\n"
             "vars: { front: \"http://127.0.0.1:%d\" }\n"
             "targets:\n"
             "  r1: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "  r2: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "  r3: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "services:\n"
             "  - name: front\n"
             "    run: [python3, \"%s/front.py\", \"%d\", \"127.0.0.1:%d\", \"127.0.0.1:%d\", \"127.0.0.1:%d\"]\n"
             "    ready: { http: { url: \"${front}/quorum\" }, within: 15s }\n"
             "matrix: { lose: [r1, r2, r3], choose: %d }\n"
             "load:\n"
             "  - { name: front, base_url: \"${front}\", requests: [ { path: /ok } ], vus: 2, think: 50ms, timeout: 3s,\n"
             "      thresholds: [ \"error_rate < 5%%\" ] }\n"
             "steady_state:\n  - http: { url: \"${front}/quorum\", status: 200 }\n"
             "method:\n"
             "  - { name: window, at: 1s, for: 1500ms, fault: exec, run: \"true\" }\n"
             "  - { at: 1s, for: 1500ms, fault: proxy.down, target: \"${lose}\" }\n"
             "probes:\n"
             "  - { name: quorum, during: window, every: 250ms, http: { url: \"${front}/quorum\", status: 200 } }\n"
             "  - name: back\n"
             "    recovery: { from: window, until: { http: { url: \"${front}/quorum\", status: 200 } }, every: 100ms, stable: 2, within: 5s }\n",
             choose, c->front, c->proxy[0], testsrv_port(c->srv[0]), c->proxy[1], testsrv_port(c->srv[1]), c->proxy[2],
             testsrv_port(c->srv[2]), d, c->front, c->proxy[0], c->proxy[1], c->proxy[2], choose);
    snprintf(path, sizeof path, "%s/%s", d, file);
    th_write_file(path, plan);
}

/* run and return the exit code of faultline itself (not of tail) */
static int fl_rc(const char *args, char *out, size_t outlen)
{
    const char *d = th_tmpdir();
    char rcpath[512];
    snprintf(rcpath, sizeof rcpath, "%s/rc", d);
    unlink(rcpath);
    th_sh(out, outlen, "cd '%s' && { FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' %s 2>&1; echo $? > '%s'; } | tail -n 40", d, d,
          th_faultline(), args, rcpath);
    char *t = slurp(rcpath);
    return t ? atoi(t) : -1;
}

static json_t *load_json(const char *rel) { return th_json_file(th_tmpdir(), rel); }

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* plan written to FILE in the test's folder and run into out/ (exit want_rc): out/matrix.json */
static json_t *run_written(const char *file, const char *plan, int want_rc)
{
    char path[512], out[16384], args[600];
    snprintf(path, sizeof path, "%s/%s", th_tmpdir(), file);
    th_write_file(path, plan);
    snprintf(args, sizeof args, "run %s -o out", file);
    int rc = fl_rc(args, out, sizeof out);
    ASSERT_MSG(rc == want_rc, "exit %d, expected %d\n%s", rc, want_rc, out);
    return load_json("out/matrix.json");
}

/* the N-k plan (k = choose) run over the cluster into out/: it exits want_rc, prints the
 * overall line, and out/matrix.json has the same overall line, "holds" true exactly when
 * want_rc is 0, and 3 rows; that matrix.json (json_decref it) */
static json_t *run_matrix(const struct cluster *c, int choose, int want_rc, const char *overall)
{
    char file[32], args[64], out[16384];
    snprintf(file, sizeof file, "n%d.yaml", choose);
    write_plan(c, choose, file);
    snprintf(args, sizeof args, "run %s -o out", file);
    int rc = fl_rc(args, out, sizeof out);
    ASSERT_MSG(rc == want_rc, "N-%d must %s: exit %d\n%s", choose, want_rc == 0 ? "hold" : "fail", rc, out);
    ASSERT_CONTAINS(out, overall);
    json_t *m = load_json("out/matrix.json");
    ASSERT_EQ_STR(jstr(m, "overall"), overall);
    const json_t *holds = json_object_get(m, "holds");
    ASSERT_MSG(json_is_boolean(holds) && json_is_true(holds) == (want_rc == 0), "\"holds\" is not %s",
               want_rc == 0 ? "true" : "false");
    ASSERT_EQ_INT(json_array_size(json_object_get(m, "matrix")), 3);
    return m;
}

/* the step of a combination's run.json that acted on target t */
static const json_t *step_on(const json_t *run, const char *t)
{
    const json_t *steps = json_object_get(run, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++)
        if (jstr(json_array_get(steps, i), "target") && !strcmp(jstr(json_array_get(steps, i), "target"), t))
            return json_array_get(steps, i);
    return NULL;
}

TEST_T(matrix_n1_any_single_replica_loss_holds, 120)
{
    struct cluster c;
    cluster_start(&c);
    json_t *m = run_matrix(&c, 1, 0, "N-1 holds");
    ASSERT_EQ_INT(json_array_size(json_object_get(m, "fails_at")), 0);
    ASSERT_EQ_INT(json_integer_value(json_object_get(m, "choose")), 1);
    json_t *rows = json_object_get(m, "matrix");
    const char *names[] = { "r1", "r2", "r3" };
    for (size_t i = 0; i < 3; i++) {
        json_t *row = json_array_get(rows, i);
        ASSERT_EQ_STR(jstr(row, "lose"), names[i]);
        ASSERT_EQ_INT(json_array_size(json_object_get(row, "lost")), 1);
        ASSERT_EQ_STR(jstr(row, "verdict"), "passed");
        ASSERT_EQ_INT(json_integer_value(json_object_get(row, "exit_code")), 0);
        /* the figures come from the combination's own load and recovery probe */
        ASSERT(json_is_number(json_object_get(row, "worst_p95_ms")));
        /* the worst second's p95 bounds the run's p95 (a quantile of a mixture is at most the
         * largest quantile of its parts), up to the histogram's interpolation within a bucket */
        ASSERT_MSG(json_number_value(json_object_get(row, "worst_p95_ms")) >= 0.99 * json_number_value(json_object_get(row, "p95_ms")),
                   "worst second p95 %.3f < run p95 %.3f", json_number_value(json_object_get(row, "worst_p95_ms")),
                   json_number_value(json_object_get(row, "p95_ms")));
        ASSERT(json_integer_value(json_object_get(row, "requests")) > 10);
        ASSERT(json_number_value(json_object_get(row, "error_rate")) < 0.05);
        ASSERT(json_is_number(json_object_get(row, "recovery_ms")));
        ASSERT(json_is_true(json_object_get(row, "recovered")));

        /* the combination really lost that replica: its run.json has the proxy.down step on it,
         * the steady state was checked again, and the quorum probe sampled during the loss */
        char rel[128];
        snprintf(rel, sizeof rel, "out/lose-%s/run.json", names[i]);
        json_t *run = load_json(rel);
        ASSERT_EQ_STR(jstr(run, "verdict"), "passed");
        const json_t *st = step_on(run, names[i]);
        ASSERT_MSG(st != NULL, "no step on %s in %s", names[i], rel);
        ASSERT_EQ_STR(jstr(st, "fault"), "proxy.down");
        ASSERT_EQ_STR(jstr(st, "status"), "reverted");
        ASSERT(json_is_true(json_object_get(json_object_get(run, "steady_state"), "held_before")));
        ASSERT(json_is_true(json_object_get(json_object_get(run, "steady_state"), "held_after")));
        const json_t *q = json_array_get(json_object_get(run, "probes"), 0);
        ASSERT_EQ_STR(jstr(q, "name"), "quorum");
        ASSERT(json_integer_value(json_object_get(q, "checks")) >= 4);
        json_decref(run);
    }
    json_decref(m);

    char *md = out_file("out/contingency.md");
    ASSERT_CONTAINS(md, "**N-1 holds** (3 of 3 combinations survived)");
    ASSERT_CONTAINS(md, "| lost | verdict | worst p95 | error rate | recovery | why | report |");
    ASSERT_CONTAINS(md, "| r2 | passed |");
    /* the other reports show the same table */
    char *x = out_file("out/junit.xml");
    ASSERT_CONTAINS(x, "name=\"lose r3\"");
    cluster_stop(&c);
}

TEST_T(matrix_n2_any_pair_loss_fails, 120)
{
    struct cluster c;
    cluster_start(&c);
    json_t *m = run_matrix(&c, 2, 1, "N-2 fails at: r1+r2, r1+r3, r2+r3");
    ASSERT_EQ_INT(json_integer_value(json_object_get(m, "exit_code")), 1);
    json_t *rows = json_object_get(m, "matrix");
    const char *pairs[][2] = { { "r1", "r2" }, { "r1", "r3" }, { "r2", "r3" } };
    for (size_t i = 0; i < 3; i++) {
        json_t *row = json_array_get(rows, i);
        char want[16];
        snprintf(want, sizeof want, "%s+%s", pairs[i][0], pairs[i][1]);
        ASSERT_EQ_STR(jstr(row, "lose"), want);
        json_t *lost = json_object_get(row, "lost");
        ASSERT_EQ_INT(json_array_size(lost), 2);
        ASSERT_EQ_STR(json_string_value(json_array_get(lost, 0)), pairs[i][0]);
        ASSERT_EQ_STR(json_string_value(json_array_get(lost, 1)), pairs[i][1]);
        ASSERT_EQ_STR(jstr(row, "verdict"), "failed");
        ASSERT_EQ_INT(json_integer_value(json_object_get(row, "exit_code")), 1);
        /* it failed for the right reason: the quorum went, and came back after the revert */
        ASSERT_CONTAINS(jstr(row, "why"), "probe 'quorum' failed: 503");
        ASSERT(json_is_true(json_object_get(row, "recovered")));
        /* the front still served from the last replica */
        ASSERT(json_number_value(json_object_get(row, "error_rate")) < 0.05);

        char rel[128];
        snprintf(rel, sizeof rel, "out/lose-%s/run.json", want);
        json_t *run = load_json(rel);
        for (int k = 0; k < 2; k++) {
            const json_t *st = step_on(run, pairs[i][k]);
            ASSERT_MSG(st != NULL, "no step on %s in %s", pairs[i][k], rel);
            ASSERT_EQ_STR(jstr(st, "status"), "reverted");
        }
        /* the steady state held again after each loss: the next combination started healthy */
        ASSERT(json_is_true(json_object_get(json_object_get(run, "steady_state"), "held_after")));
        json_decref(run);
    }
    json_decref(m);
    char *md = out_file("out/contingency.md");
    ASSERT_CONTAINS(md, "**N-2 fails at: r1+r2, r1+r3, r2+r3** (0 of 3 combinations survived)");
    ASSERT_CONTAINS(md, "| r1, r3 | failed |");
    cluster_stop(&c);
}

TEST_T(matrix_stops_after_an_abort, 60)
{
    /* the first combination trips stop_when: the matrix stops, the rest is "not_run", and
     * nothing can be concluded */
    const char *d = th_tmpdir();
    int p[3] = { th_free_port(), th_free_port(), th_free_port() };
    struct testsrv *s = testsrv_must(NULL);
    char plan[2048], path[512];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: stops\nduration: 4s\n"
             "targets:\n"
             "  a: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "  b: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "  c: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "matrix: { lose: [a, b, c], choose: 1 }\n"
             "method:\n"
             "  - { at: 500ms, for: 2s, fault: proxy.down, target: \"${lose}\" }\n"
             "  - { name: trip, at: 500ms, fault: exec, run: \"touch %s/tripped\" }\n"
             "stop_when:\n  - exec: { run: \"test ! -e %s/tripped\" }\n",
             p[0], testsrv_port(s), p[1], testsrv_port(s), p[2], testsrv_port(s), d, d);
    json_t *m = run_written("stops.yaml", plan, 3); /* aborted */
    json_t *rows = json_object_get(m, "matrix");
    ASSERT_EQ_INT(json_array_size(rows), 3);
    ASSERT_EQ_STR(jstr(json_array_get(rows, 0), "verdict"), "aborted");
    ASSERT_EQ_STR(jstr(json_array_get(rows, 1), "verdict"), "not_run");
    ASSERT_EQ_STR(jstr(json_array_get(rows, 2), "verdict"), "not_run");
    ASSERT_EQ_STR(jstr(m, "overall"), "N-1 fails at: a (1 of 3 combinations ran)");
    ASSERT(json_is_false(json_object_get(m, "holds")));
    /* the second combination never started: no report folder */
    snprintf(path, sizeof path, "%s/out/lose-b", d);
    ASSERT(access(path, F_OK) != 0);
    json_decref(m);
    testsrv_stop(s);
}

/* every combination stops before anything because faultline cannot listen on a proxy's
 * port (a server of the test holds it): nothing was tested, so the matrix does not say
 * "fails at" (a finding about the service), but that it has no evidence (exit 2) */
TEST_T(matrix_combinations_that_could_not_run_are_not_failures, 60)
{
    struct testsrv *s = testsrv_must(NULL);
    int free_port = th_free_port();
    char plan[2048];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: taken\nduration: 1s\n"
             "targets:\n"
             "  a: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:9\" } }\n"
             "  b: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:9\" } }\n"
             "matrix: { lose: [a, b], choose: 1 }\n"
             "method:\n  - { at: 100ms, for: 200ms, fault: proxy.down, target: \"${lose}\" }\n",
             testsrv_port(s), free_port);
    json_t *m = run_written("taken.yaml", plan, 2);
    ASSERT_EQ_STR(jstr(json_array_get(json_object_get(m, "matrix"), 0), "verdict"), "invalid");
    ASSERT_EQ_STR(jstr(m, "overall"), "N-1 undecided: no evidence at a, b");
    ASSERT_EQ_INT(json_array_size(json_object_get(m, "fails_at")), 0);
    ASSERT(json_is_false(json_object_get(m, "holds")));
    json_decref(m);
    testsrv_stop(s);
}
