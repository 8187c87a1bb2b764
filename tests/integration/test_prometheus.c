/* test_prometheus.c -- the `prometheus` probe against a real Prometheus (Debian's
 * `prometheus`) that each test starts on a free loopback port with a temporary config and
 * TSDB, scraping itself and a real prometheus-pushgateway every second; the tests push the
 * values they need to the gateway and wait until Prometheus has scraped them. */
#include <curl/curl.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dockerfx.h"
#include "harness.h"
#include "prom.h"

TEST_FILE_USES(""); /* its own Prometheus and pushgateway on free ports */

extern const struct probe_ops probe_prometheus;

/* a fixed test credential (bcrypt of PROM_PW, cost 4) for Prometheus's --web.config.file */
#define PROM_USER "fl"
#define PROM_PW "fl-Pw-7dQk"
#define PROM_PW_HASH "$2b$04$nHq6wdCdijRdxVn.USvph.kd3bPwiEzNgLnZVDQM8wmGJMTgtviXG"

struct promfx {
    pid_t prom, gw;
    int port, gw_port;
    int auth;
    char url[64], gw_url[64];
    struct fx f;                /* the probe's context for check() */
};

static size_t keep(char *d, size_t s, size_t n, void *arg)
{
    buf_add(arg, d, s * n);
    return s * n;
}

/* one HTTP request; status (0: no answer); body into out (may be NULL) */
static long http(const char *method, const char *url, const char *body, const char *userpwd, struct buf *out)
{
    struct buf tmp;
    buf_init(&tmp, 1 << 20);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (userpwd) curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out ? out : &tmp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    buf_release(&tmp);
    return status;
}

static pid_t spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
        execv(argv[0], argv);
        _exit(127);
    }
    ASSERT(pid > 0);
    return pid;
}

static void stop(pid_t *pid)
{
    if (*pid <= 0) return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(*pid, NULL, WNOHANG) == *pid) { *pid = 0; return; }
        usleep(50000);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

/* the number of series of an instant query (-1: no answer) */
static int series_of(const struct promfx *p, const char *query)
{
    CURL *h = curl_easy_init();
    char *q = curl_easy_escape(h, query, 0);
    curl_easy_cleanup(h);
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/query?query=%s", p->url, q);
    curl_free(q);
    struct buf b;
    buf_init(&b, 1 << 20);
    long st = http("GET", url, NULL, p->auth ? PROM_USER ":" PROM_PW : NULL, &b);
    struct prom_result r;
    char err[FL_ERR_LEN];
    int n = st == 200 && prom_parse_reply(b.data, b.len, &r, err) == 0 ? (int)r.n : -1;
    if (n >= 0) prom_result_release(&r);
    buf_release(&b);
    return n;
}

/* wait (at most 20 s) until query has `want` series */
static void wait_series(const struct promfx *p, const char *query, int want)
{
    int n = -1;
    for (int i = 0; i < 200; i++) {
        if ((n = series_of(p, query)) == want) return;
        usleep(100000);
    }
    ASSERT_MSG(0, "'%s' has %d series after 20 s, expected %d (logs in %s)", query, n, want, th_tmpdir());
}

/* the gauge `text` (Prometheus text format) under job "fl" of the gateway */
static void push(const struct promfx *p, const char *text)
{
    char url[128];
    snprintf(url, sizeof url, "%s/metrics/job/fl", p->gw_url);
    ASSERT_EQ_INT(http("PUT", url, text, NULL, NULL), 200);
}

static void prom_start(struct promfx *p, int auth)
{
    if (access("/usr/bin/prometheus", X_OK) != 0) SKIP("prometheus is not installed (apt-get install prometheus)");
    if (access("/usr/bin/prometheus-pushgateway", X_OK) != 0)
        SKIP("prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway)");
    memset(p, 0, sizeof *p);
    fx_init(&p->f, 1);
    p->auth = auth;
    const char *d = th_tmpdir();
    char log[512], cfg[512], web[512], data[512], listen[64], cfgarg[600], dataarg[600], webarg[600];
    snprintf(log, sizeof log, "%s/prometheus.log", d);
    p->gw_port = th_free_port();
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", p->gw_port);
    snprintf(p->gw_url, sizeof p->gw_url, "http://127.0.0.1:%d", p->gw_port);
    char *gwargv[] = { "/usr/bin/prometheus-pushgateway", listen, NULL };
    p->gw = spawn(log, gwargv);

    p->port = th_free_port();
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
    snprintf(cfg, sizeof cfg, "%s/prometheus.yml", d);
    FILE *f = fopen(cfg, "w");
    ASSERT(f != NULL);
    fprintf(f,
            "global: { scrape_interval: 1s, evaluation_interval: 1s }\n"
            "scrape_configs:\n"
            "  - job_name: prometheus\n"
            "    static_configs: [ { targets: [\"127.0.0.1:%d\"] } ]\n%s"
            "  - job_name: pushgateway\n"
            "    honor_labels: true\n"
            "    static_configs: [ { targets: [\"127.0.0.1:%d\"] } ]\n",
            p->port, auth ? "    basic_auth: { username: " PROM_USER ", password: " PROM_PW " }\n" : "", p->gw_port);
    fclose(f);
    snprintf(web, sizeof web, "%s/web.yml", d);
    f = fopen(web, "w");
    ASSERT(f != NULL);
    fprintf(f, "basic_auth_users:\n  " PROM_USER ": '" PROM_PW_HASH "'\n");
    fclose(f);
    snprintf(data, sizeof data, "%s/tsdb", d);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", p->port);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
    snprintf(webarg, sizeof webarg, "--web.config.file=%s", web);
    char *argv[] = { "/usr/bin/prometheus", cfgarg, dataarg, listen, auth ? webarg : NULL, NULL };
    p->prom = spawn(log, argv);
    /* Prometheus applies its scrape targets a few seconds after it is ready */
    wait_series(p, "up == 1", 2);
}

static void prom_stop(struct promfx *p)
{
    fx_release(&p->f);
    stop(&p->prom);
    stop(&p->gw);
}

/* one check of a probe from its YAML keys (spec, a printf format); the probe's window on the
 * run clock of p->f (0, 0: none); its return code */
static int check(struct promfx *p, int64_t win_from_ms, int64_t win_to_ms, struct probe_obs *o, char *err,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int check(struct promfx *p, int64_t win_from_ms, int64_t win_to_ms, struct probe_obs *o, char *err,
                 const char *fmt, ...)
{
    char spec[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(spec, sizeof spec, fmt, ap);
    va_end(ap);
    struct node *n = fx_yaml(&p->f, "{ %s }", spec);
    struct diag d;
    diag_init(&d, "test");
    void *cfg = NULL;
    ASSERT_MSG(params_check(n, probe_prometheus.params, NULL, "prometheus", &d) == 0, "params: %s", d.msgs[0]);
    ASSERT_MSG(probe_prometheus.parse(&p->f.pc, n, NULL, &cfg, &d) == 0, "parse: %s", d.n ? d.msgs[0] : "?");
    diag_release(&d);
    struct probe_inst pi = { .ops = &probe_prometheus, .ctx = &p->f.ctx, .cfg = cfg, .win_from_ms = win_from_ms,
                             .win_to_ms = win_to_ms };
    memset(o, 0, sizeof *o);
    err[0] = '\0';
    int rc = probe_prometheus.check(&pi, o, err);
    probe_prometheus.free_state(pi.state);
    probe_prometheus.free_cfg(cfg);
    return rc;
}

/* check() (no window) of the spec: the check is made (returns 0) and comes to outcome */
#define EXPECT_OUTCOME(p, o, want, ...)                                                        \
    do {                                                                                       \
        char err_[FL_ERR_LEN];                                                                 \
        ASSERT_MSG(check(p, 0, 0, o, err_, __VA_ARGS__) == 0, "%s", err_);                     \
        ASSERT_EQ_INT((o)->outcome, want);                                                     \
    } while (0)

TEST_T(prometheus_instant_every_any_count_errors, 90)
{
    struct promfx p;
    prom_start(&p, 0);
    struct probe_obs o;
    char err[FL_ERR_LEN];

    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s/\", query: 'up{job=\"prometheus\"}', expect: \"== 1\"", p.url);
    ASSERT_CONTAINS(o.observed, "up{instance=\"127.0.0.1:");
    ASSERT_CONTAINS(o.observed, "job=\"prometheus\"}=1");
    ASSERT(o.has_value && o.value == 1);

    /* two series: one meets "< 0.01", one does not */
    push(&p, "fl_err_ratio{route=\"a\"} 0.001\nfl_err_ratio{route=\"b\"} 0.2\nfl_latency_seconds 0.2\n");
    wait_series(&p, "fl_err_ratio", 2);
    EXPECT_OUTCOME(&p, &o, PROBE_FAILED, "url: \"%s\", query: fl_err_ratio, expect: \"< 0.01\"", p.url);
    ASSERT_CONTAINS(o.observed, "1 of 2 series meet '< 0.01': ");
    ASSERT_CONTAINS(o.observed, "route=\"b\"}=0.2");
    ASSERT_MSG(!strstr(o.observed, "route=\"a\""), "the series that meets it is not what decided: %s", o.observed);
    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s\", query: fl_err_ratio, expect: \"< 0.01\", series: any", p.url);
    ASSERT_CONTAINS(o.observed, "route=\"a\"}=0.001");
    EXPECT_OUTCOME(&p, &o, PROBE_FAILED, "url: \"%s\", query: fl_err_ratio, expect: \"< 1%%\"", p.url); /* 1% = 0.01 */
    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s\", query: fl_err_ratio, expect: \"count == 2\"", p.url);
    ASSERT_EQ_INT(o.value, 2);
    EXPECT_OUTCOME(&p, &o, PROBE_FAILED, "url: \"%s\", query: fl_err_ratio, expect: \"count >= 3\"", p.url);
    /* a duration compares with seconds, Prometheus's unit */
    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s\", query: fl_latency_seconds, expect: \"< 500ms\"", p.url);
    EXPECT_OUTCOME(&p, &o, PROBE_FAILED, "url: \"%s\", query: fl_latency_seconds, expect: \"< 100ms\"", p.url);
    /* a scalar */
    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s\", query: \"scalar(sum(fl_err_ratio)) * 10\", expect: \"> 2\"",
                   p.url);
    ASSERT_NEAR(o.value, 2.01, 1e-9);

    /* Prometheus's own message for a bad query: could not check */
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: \"up((\", expect: \"== 1\"", p.url), -1);
    ASSERT_CONTAINS(err, "Prometheus refused the query (HTTP 400): bad_data: ");
    ASSERT_CONTAINS(err, "parse error");
    /* an empty result is no evidence ... */
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: fl_no_such_metric, expect: \"== 0\"", p.url), -1);
    ASSERT_CONTAINS(err, "query 'fl_no_such_metric' returned no series");
    /* a NaN (0/0: a ratio of no requests) is no value either: neither "< 5%" failed nor
     * "!= 1" passed */
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: \"vector(0) / vector(0)\", expect: \"< 5%%\"", p.url), -1);
    ASSERT_CONTAINS(err, "NaN");
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: \"vector(0) / vector(0)\", expect: \"!= 1\"", p.url), -1);
    /* ... except for count, where no series is the answer 0 */
    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s\", query: fl_no_such_metric, expect: \"count == 0\"", p.url);
    /* something that is not Prometheus: the pushgateway answers 404 text on /api/v1/query */
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: up, expect: \"== 1\"", p.gw_url), -1);
    ASSERT_CONTAINS(err, "answered HTTP");

    /* Prometheus stopped: could not check, never passed */
    stop(&p.prom);
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: up, expect: \"== 1\", timeout: 1s", p.url), -1);
    ASSERT_CONTAINS(err, "cannot query Prometheus at 'http://127.0.0.1:");
    ASSERT_EQ_INT(o.outcome, PROBE_INCONCLUSIVE);
    prom_stop(&p);
}

TEST_T(prometheus_range_max_min_avg_last_over_the_window, 90)
{
    struct promfx p;
    prom_start(&p, 0);
    struct probe_obs o;
    char err[FL_ERR_LEN];
    /* 1, then 5, then 2, each scraped at least once */
    const char *vals[] = { "1", "5", "2" };
    for (int i = 0; i < 3; i++) {
        char text[64], q[64];
        snprintf(text, sizeof text, "fl_gauge %s\n", vals[i]);
        push(&p, text);
        snprintf(q, sizeof q, "fl_gauge == %s", vals[i]);
        wait_series(&p, q, 1);
        usleep(1200000); /* one more scrape of this value */
    }
    struct { const char *expect; double value; } cases[] = {
        { "max == 5", 5 }, { "min == 1", 1 }, { "last == 2", 2 }, { "max < 5", 5 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ASSERT_MSG(check(&p, 0, 0, &o, err, "url: \"%s\", query: fl_gauge, expect: \"%s\", window: 30s, step: 1s",
                         p.url, cases[i].expect) == 0,
                   "%s: %s", cases[i].expect, err);
        ASSERT_EQ_INT(o.outcome, i == 3 ? PROBE_FAILED : PROBE_PASSED);
        ASSERT_NEAR(o.value, cases[i].value, 1e-9);
        ASSERT_CONTAINS(o.observed, " over 30s at 1s steps");
    }
    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s\", query: fl_gauge, expect: \"avg > 1\", window: 30s", p.url);
    ASSERT_MSG(o.value > 1 && o.value < 5, "avg %g", o.value);

    /* the probe's own window (run clock) maps to wall time: time() over it */
    p.f.ctx.t0_ns = fl_now_ns() - 20 * 1000000000LL; /* the run began 20 s ago */
    double now = fl_wall();
    ASSERT_MSG(check(&p, 5000, 15000, &o, err, "url: \"%s\", query: \"time()\", expect: \"max > 0\", step: 1s",
                     p.url) == 0,
               "%s", err);
    ASSERT_EQ_INT(o.outcome, PROBE_PASSED);
    ASSERT_NEAR(o.value, now - 5, 1.5);      /* the window ended 5 s ago */
    ASSERT_CONTAINS(o.observed, " over 10s at 1s steps");
    ASSERT_MSG(check(&p, 5000, 15000, &o, err, "url: \"%s\", query: \"time()\", expect: \"min > 0\", step: 1s",
                     p.url) == 0,
               "%s", err);
    ASSERT_NEAR(o.value, now - 15, 1.5);     /* and began 15 s ago */
    /* a window that ends in the future is cut at now; none of a second: the last `window:` (1m) */
    ASSERT_MSG(check(&p, 20000, 20000, &o, err, "url: \"%s\", query: \"time()\", expect: \"min > 0\"", p.url) == 0,
               "%s", err);
    ASSERT_NEAR(o.value, now - 60, 2);
    ASSERT_CONTAINS(o.observed, " over 60s at 1s steps");
    /* a range query error: too many points */
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: fl_gauge, expect: \"max < 9\", window: 1h, step: 10ms",
                        p.url),
                  -1);
    ASSERT_CONTAINS(err, "Prometheus refused the query (HTTP 400): bad_data: ");
    prom_stop(&p);
}

TEST_T(prometheus_basic_auth_and_parse_errors, 90)
{
    struct promfx p;
    prom_start(&p, 1);
    struct probe_obs o;
    char err[FL_ERR_LEN];
    fl_secret_add(PROM_PW);
    EXPECT_OUTCOME(&p, &o, PROBE_PASSED, "url: \"%s\", query: up, expect: \"== 1\", username: fl, password: \"%s\"",
                   p.url, PROM_PW);
    /* without credentials Prometheus refuses: no evidence about the service */
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err, "url: \"%s\", query: up, expect: \"== 1\"", p.url), -1);
    ASSERT_CONTAINS(err, "answered HTTP 401");
    fl_secret_add("wrong-Pw-x");
    ASSERT_EQ_INT(check(&p, 0, 0, &o, err,
                        "url: \"%s\", query: up, expect: \"== 1\", username: fl, password: wrong-Pw-x", p.url),
                  -1);
    ASSERT_CONTAINS(err, "answered HTTP 401");
    ASSERT_MSG(!strstr(err, "wrong-Pw-x"), "password in %s", err);

    /* plan errors, each with its key */
    static const struct { const char *spec, *msg; } bad[] = {
        { "url: \"http://x\", query: up, expect: PONG", "is not a comparison" },
        { "url: \"ftp://x\", query: up, expect: \"== 1\"", "must start with http://" },
        { "url: \"http://x\", query: up, expect: \"== 1\", series: all", "is not every or any" },
        { "url: \"http://x\", query: up, expect: \"== 1\", step: 5s", "belong to the range form" },
        { "url: \"http://x\", query: up, expect: \"count > 1\", series: any", "no meaning" },
        { "url: \"http://x\", query: up, expect: \"== 1\", username: u, password: plain-text", "write it under secrets:" },
        { "url: \"http://x\", query: up, expect: \"== 1\", bearer: tok", "write it under secrets:" },
        { "url: \"http://x\", query: \"\", expect: \"== 1\"", "query is empty" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct node *n = fx_yaml(&p.f, "{ %s }", bad[i].spec);
        struct diag d;
        diag_init(&d, "t");
        void *cfg = NULL;
        int rc = probe_prometheus.parse(&p.f.pc, n, NULL, &cfg, &d);
        ASSERT_MSG(rc == -1 && d.n > 0, "'%s' parsed", bad[i].spec);
        ASSERT_CONTAINS(d.msgs[0], bad[i].msg);
        diag_release(&d);
    }
    prom_stop(&p);
}

/* a whole run: the steady state through an authenticated Prometheus, a during probe that
 * fails while an exec fault pushes a bad error ratio, and a stop_when on PromQL that aborts
 * (exit 3, reverted); the password never in any output */
TEST_T(prometheus_probe_in_a_run_stop_when_aborts, 120)
{
    struct promfx p;
    prom_start(&p, 1);
    push(&p, "fl_err_ratio 0\n");
    wait_series(&p, "fl_err_ratio == 0", 1);
    const char *d = th_tmpdir();
    char plan[4096], rev[600];
    snprintf(rev, sizeof rev, "%s/reverted", d);
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: prom-stop\nduration: 40s\n"
             "secrets: { pw: \"${env:FL_TEST_PROM_PW}\" }\n"
             "vars: { prom: \"%s\" }\n"
             "steady_state:\n"
             "  - prometheus: { url: \"${prom}\", query: 'up{job=\"prometheus\"}', expect: \"== 1\", username: fl, password: \"${pw}\" }\n"
             "method:\n"
             "  - name: break\n    at: 1s\n    for: 30s\n    fault: exec\n"
             "    run: \"printf 'fl_err_ratio 0.5\\\\n' | curl -sf --data-binary @- %s/metrics/job/fl\"\n"
             "    revert: \"printf 'fl_err_ratio 0\\\\n' | curl -sf --data-binary @- %s/metrics/job/fl && touch %s\"\n"
             "probes:\n"
             "  - name: errors-low\n    during: break\n    every: 500ms\n"
             "    prometheus: { url: \"${prom}\", query: fl_err_ratio, expect: \"max < 0.1\", username: fl, password: \"${pw}\" }\n"
             "stop_when:\n"
             "  - name: too-many-errors\n"
             "    prometheus: { url: \"${prom}\", query: fl_err_ratio, expect: \"< 0.1\", username: fl, password: \"${pw}\" }\n",
             p.url, p.gw_url, p.gw_url, rev);
    fx_write_file(d, "p.yaml", plan);
    static char out[1 << 16];
    double t0 = fl_wall();
    int rc = th_sh(out, sizeof out, "cd '%s' && FL_TEST_PROM_PW='%s' FAULTLINE_JOURNAL=j.jsonl '%s' run p.yaml -o out 2>&1", d,
                   PROM_PW, th_faultline());
    double took = fl_wall() - t0;
    prom_stop(&p);
    ASSERT_MSG(rc == 3, "stop_when must abort with 3, got %d:\n%s", rc, out);
    ASSERT_MSG(took < 25, "the abort did not cut the 40 s run short (%.1fs)", took);
    ASSERT_MSG(access(rev, F_OK) == 0, "the fault was not reverted on abort:\n%s", out);
    char *run = fx_slurp(d, "out/run.json");
    json_t *r = json_loads(run, 0, NULL);
    ASSERT_MSG(r != NULL, "no run.json:\n%s", out);
    ASSERT_EQ_STR(json_string_value(json_object_get(r, "verdict")), "aborted");
    ASSERT_CONTAINS(json_string_value(json_object_get(r, "reason")), "stop_when 'too-many-errors' tripped: fl_err_ratio{");
    ASSERT_CONTAINS(run, "=0.5");
    ASSERT_CONTAINS(run, "\"errors-low\"");
    ASSERT_CONTAINS(run, "(max of ");
    json_decref(r);
    /* the password went to Prometheus (the steady state passed through its basic auth) and
     * is nowhere in what faultline wrote */
    ASSERT_MSG(!strstr(out, PROM_PW), "password in the output:\n%s", out);
    char grep[4096];
    th_sh(grep, sizeof grep, "cd '%s' && grep -l -r -F '%s' out j.jsonl", d, PROM_PW);
    ASSERT_MSG(grep[0] == '\0', "password in %s", grep);
    free(run);
}
