/* test_regression_real.c -- issue 26 on a real service: the demo scheduler (build/scheduler-api)
 * reaching the shared PostgreSQL through faultline's own proxy, loaded by real drills with a
 * history. Ten drills of the unchanged service flag no regression (and the pairwise compares
 * of their records are counted, for the false-positive rate); a real +30% latency on the
 * database link is flagged on every run; +5% is not.
 *
 * Why the outcome should not hang on timing noise: every request of the load is one database
 * round trip through a proxy holding 300 ms, so p95 is 300 ms plus the machine's share. That
 * share is time a request waits for a CPU, much the same whatever the latency: on this shared
 * machine 10-20 ms when quiet, bursts of +100 ms at load average 19 on 2 cores. +30% (90 ms)
 * is past the quiet share on top of the noisiest baseline run; +5% (15 ms) stays inside the
 * rule. The readiness check's own deadline (1 s for connect and query) caps the latency that
 * can be planted. The file runs alone; on a machine saturated by other work (measured: p95
 * 140-370 ms at 100 ms of latency while clang built in parallel) no test can tell +30% from
 * the noise, and this one says so by failing.
 *
 * The latency is changed in place through the proxy's Toxiproxy API (`faultline proxy --api`),
 * never by restarting the proxy: a new proxy made the API's pool open new connections, several
 * held round trips each, inside the first drill after the change (measured: that drill's p95
 * 20-24 ms above the next one's; under ASan a +5% drill read 338.7 ms and was flagged).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "compare.h"
#include "fl.h"
#include "harness.h"

/* timing-bound: nothing else of the suite runs meanwhile (it uses the shared PostgreSQL,
 * behind a proxy of its own, and Redis) */
TEST_FILE_USES("alone");

#define BASE_LATENCY_MS 300

static int listening(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* one request to the proxy's Toxiproxy API; the HTTP status must be want */
static void toxi(int api, const char *method, const char *path, const char *body, int want)
{
    char out[512];
    th_sh(out, sizeof out, "curl -s -o /dev/null -w '%%{http_code}' --max-time 5 -X %s -d '%s' http://127.0.0.1:%d%s", method,
          body, api, path);
    ASSERT_MSG(atoi(out) == want, "%s %s: HTTP %s, not %d", method, path, out, want);
}

/* faultline's proxy (`faultline proxy --api`) from listen to PostgreSQL, every answer held ms;
 * the latency is changed in place later, so the API's pooled connections stay up and no
 * drill pays for new database handshakes through the held link */
static pid_t db_proxy(int api, int listen, int ms)
{
    char a[64], log[600], body[256];
    snprintf(a, sizeof a, "127.0.0.1:%d", api);
    snprintf(log, sizeof log, "%s/proxy.log", th_tmpdir());
    char *argv[] = { (char *)th_faultline(), "proxy", "--api", a, NULL };
    pid_t pid = th_spawn_logged(log, argv);
    int up = 0;
    for (int i = 0; i < 100 && !(up = listening(api)); i++) usleep(50000);
    ASSERT_MSG(up, "faultline proxy --api did not listen on %d", api);
    snprintf(body, sizeof body, "{\"name\": \"db\", \"listen\": \"127.0.0.1:%d\", \"upstream\": \"127.0.0.1:%d\"}", listen,
             th_pg_port());
    toxi(api, "POST", "/proxies", body, 201);
    snprintf(body, sizeof body, "{\"name\": \"held\", \"type\": \"latency\", \"stream\": \"downstream\", "
             "\"attributes\": {\"latency\": %d, \"jitter\": 0}}", ms);
    toxi(api, "POST", "/proxies/db/toxics", body, 200);
    return pid;
}

static void set_latency(int api, int ms)
{
    char body[128];
    snprintf(body, sizeof body, "{\"attributes\": {\"latency\": %d}}", ms);
    toxi(api, "POST", "/proxies/db/toxics/held", body, 200);
}

/* /api/v1/health/ready answers 200 ten times in a row (a new proxy: the pool reconnects) */
static void wait_ready(int api)
{
    char out[256];
    int good = 0;
    for (int i = 0; i < 200 && good < 10; i++) {
        int rc = th_sh(out, sizeof out, "curl -s -o /dev/null -w '%%{http_code}' --max-time 3 http://127.0.0.1:%d/api/v1/health/ready", api);
        if (rc == 0 && !strcmp(out, "200")) good++;
        else { good = 0; usleep(100000); }
    }
    ASSERT_MSG(good >= 10, "scheduler-api never became ready through the proxy");
}

/* one run of the plan outside the history, with twice the users: the API's pool holds more
 * connections than a drill needs before anything is measured (each new one a handshake of
 * several held round trips) */
static void warm_up(void)
{
    char out[4096];
    const char *d = th_tmpdir();
    th_sh(out, sizeof out, "cd '%s' && sed 's/vus: 32/vus: 64/' ready.yaml > warm.yaml && FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' run warm.yaml -q -o runs/warm >/dev/null 2>&1",
          d, d, th_faultline());
}

/* one drill of the plan with the history; its exit code, the entry in *e (new reference) */
static int drill(int n, json_t **e)
{
    char out[16384];
    const char *d = th_tmpdir();
    th_sh(out, sizeof out,
          "cd '%s' && { FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' drill ready.yaml -q -o runs/d%02d --history hist.jsonl "
          "--lock '%s/drill.lock' 2>&1; echo $? > rc; } | tail -n 20",
          d, d, th_faultline(), n, d);
    char path[700], rcs[16] = "";
    snprintf(path, sizeof path, "%s/rc", d);
    FILE *f = fopen(path, "r");
    ASSERT(f != NULL && fgets(rcs, sizeof rcs, f));
    fclose(f);
    int rc = atoi(rcs);
    snprintf(path, sizeof path, "%s/runs/d%02d/suite.json", d, n);
    json_t *suite = json_load_file(path, 0, NULL);
    ASSERT_MSG(suite != NULL, "drill %d wrote no suite.json (exit %d):\n%s", n, rc, out);
    *e = json_incref(json_array_get(json_object_get(suite, "experiments"), 0));
    json_decref(suite);
    ASSERT_MSG(!strcmp(json_string_value(json_object_get(*e, "verdict")), "passed"), "drill %d: %s\n%s", n,
               json_string_value(json_object_get(*e, "verdict")), out);
    return rc;
}

static double p95_of(const json_t *e) { return json_number_value(json_object_get(e, "p95_ms")); }

static int regressed(const json_t *e, const char *figure)
{
    const json_t *regs = json_object_get(e, "regressions");
    for (size_t i = 0; i < json_array_size(regs); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(regs, i), "figure")), figure)) return 1;
    return 0;
}

TEST_T(regression_real_noise_is_not_flagged_a_real_slowdown_is, 600)
{
    th_pg_dsn();
    th_redis_port();
    th_need_program("curl", "curl");
    char api_bin[600];
    snprintf(api_bin, sizeof api_bin, "%s/scheduler-api", th_build_dir());
    if (access(api_bin, X_OK) != 0) SKIP("build/scheduler-api not built");
    const char *d = th_tmpdir();
    int pport = th_free_port(), api = th_free_port(), tapi = th_free_port();
    pid_t px = db_proxy(tapi, pport, BASE_LATENCY_MS);
    char p[16], pg[256], rd[64], log[600];
    snprintf(p, sizeof p, "%d", api);
    /* no TLS negotiation: a connection is one held round trip, so connect + ping fit the
     * readiness check's 1 s even at +30% */
    snprintf(pg, sizeof pg, "host=127.0.0.1 port=%d dbname=postgres user=postgres sslmode=disable", pport);
    snprintf(rd, sizeof rd, "127.0.0.1:%d", th_redis_port());
    snprintf(log, sizeof log, "%s/serve.log", d);
    char *argv[] = { api_bin, "serve", "--port", p, "--pg", pg, "--redis", rd, "--pool", "64", NULL };
    pid_t srv = th_spawn_logged(log, argv);
    wait_ready(api);

    /* 32 users without think time, 7 s: ~32 / 0.3 s = 107 requests a second, ~740 a run
     * (~570 at +30%), past the 400 that a p95 needs (20 beyond its rank), and 7 seconds a run
     * for the per-second test (5 gave p=0.017 at +30%: not significant at 1%); fewer users,
     * less of the machine's share made by the test itself */
    char plan[1024], path[700];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: ready-load\nduration: 7s\n"
             "load:\n  - { name: ready, base_url: \"http://127.0.0.1:%d\", requests: [ { path: /api/v1/health/ready } ], vus: 32, timeout: 3s }\n"
             "method:\n  - { name: noop, at: 1s, fault: exec, run: \"true\" }\n", api);
    snprintf(path, sizeof path, "%s/ready.yaml", d);
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs(plan, f);
    fclose(f);

    warm_up();
    /* ten drills of the unchanged service: none flags anything */
    json_t *recs[10];
    int flagged = 0;
    fprintf(stderr, "unchanged, %d ms on the database link:", BASE_LATENCY_MS);
    for (int i = 0; i < 10; i++) {
        json_t *e;
        int rc = drill(i, &e);
        fprintf(stderr, " p95 %.1fms (%zu regressions)%s", p95_of(e), json_array_size(json_object_get(e, "regressions")),
                i < 9 ? "," : "\n");
        if (json_array_size(json_object_get(e, "regressions"))) {
            flagged++;
            char *t = json_dumps(json_object_get(e, "regressions"), 0);
            fprintf(stderr, "  drill %d flagged: %s\n", i, t);
            free(t);
        }
        if (!flagged) ASSERT_MSG(rc == 0, "drill %d exited %d", i, rc);
        /* the record of each, for the pairwise compares */
        snprintf(path, sizeof path, "%s/runs/d%02d/ready-load/run.json", d, i);
        recs[i] = json_load_file(path, 0, NULL);
        ASSERT(recs[i] != NULL);
        if (i == 9) ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(e, "baseline"), "runs")), 5);
        json_decref(e);
    }
    /* the pairwise compares of two records (no band): the false-positive rate, reported */
    struct cmp_rules rules;
    cmp_rules_default(&rules);
    int pairs = 0, pair_flags = 0, few = 0;
    for (int i = 0; i < 10 && pairs < 30; i++)
        for (int j = i + 1; j < 10 && pairs < 30; j++) {
            struct cmp_result res;
            char err[FL_ERR_LEN];
            ASSERT_EQ_INT(cmp_runs(recs[i], recs[j], &rules, &res, err), 0);
            pairs++;
            pair_flags += res.regressions > 0;
            few += res.few > 0;
            cmp_release(&res);
        }
    fprintf(stderr, "pairwise compares of the ten records: %d of %d flagged a regression (%d had too few requests)\n",
            pair_flags, pairs, few);
    ASSERT_EQ_INT(few, 0);
    ASSERT_MSG(flagged == 0, "%d of 10 drills of the unchanged service flagged a regression", flagged);

    /* +30% on the database link: flagged on every run (a regressed run never joins the
     * baseline, so each is judged against the same healthy band) */
    set_latency(tapi, BASE_LATENCY_MS * 13 / 10);
    wait_ready(api);
    for (int i = 10; i < 13; i++) {
        json_t *e;
        int rc = drill(i, &e);
        fprintf(stderr, "+30%%: p95 %.1fms, exit %d\n", p95_of(e), rc);
        if (rc != 1 || !regressed(e, "load 'ready' p95")) {
            char *t = json_dumps(e, JSON_COMPACT);
            fprintf(stderr, "  drill %d: %s\n", i, t);
            free(t);
        }
        ASSERT_MSG(rc == 1, "drill %d with +30%% latency exited %d", i, rc);
        ASSERT(regressed(e, "load 'ready' p95"));
        ASSERT(regressed(e, "load 'ready' GET /api/v1/health/ready p95"));
        ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(e, "baseline"), "runs")), 5);
        json_decref(e);
    }
    /* +5%: not flagged */
    set_latency(tapi, BASE_LATENCY_MS * 105 / 100);
    wait_ready(api);
    for (int i = 13; i < 15; i++) {
        json_t *e;
        int rc = drill(i, &e);
        fprintf(stderr, "+5%%: p95 %.1fms, exit %d\n", p95_of(e), rc);
        ASSERT_MSG(!regressed(e, "load 'ready' p95"), "drill %d: +5%% latency flagged", i);
        ASSERT_MSG(rc == 0, "drill %d with +5%% latency exited %d", i, rc);
        json_decref(e);
    }
    for (int i = 0; i < 10; i++) json_decref(recs[i]);
    th_stop(srv);
    th_stop(px);
}
