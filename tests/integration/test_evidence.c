/* test_evidence.c -- no verdict without evidence, end to end: the faultline binary against
 * real HTTP servers (tests/testsrv.c) that a plan's exec fault can make fail on purpose.
 * Sparse traffic (one user thinking 2 s) recovers as soon as its requests succeed, and a
 * block whose every request fails stays "not recovered"; a load window with no completed
 * request is inconclusive (exit 5) and a stop condition neither trips nor resets on seconds
 * without requests; rps counts failed requests while ok_rps does not; a probe of a step that
 * never ran is inconclusive unless it says min_evidence: 0; and the lint warnings that go
 * with them. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "plan.h"
#include "plan_lint.h"
#include "testsrv.h"

TEST_FILE_USES(""); /* its own HTTP servers (testsrv) on free ports */

static void write_plan(const char *dir, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/p.yaml", dir);
    th_write_file(path, text);
}

static json_t *load_run(const char *dir) { return th_json_file(dir, "out/run.json"); }

static const json_t *find(const json_t *arr, const char *name)
{
    size_t i;
    const json_t *p;
    json_array_foreach(arr, i, p)
        if (!strcmp(json_string_value(json_object_get(p, "name")) ?: "", name)) return p;
    th_fail(__FILE__, __LINE__, "no entry named '%s'", name);
}

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static const char *last_observed(const json_t *p)
{
    const json_t *obs = json_object_get(p, "observations");
    size_t n = json_array_size(obs);
    return n ? str(json_array_get(obs, n - 1), "observed") : "";
}

/* one user thinking 2 s between requests: most seconds hold no completed request. Both
 * servers fail every request from 1 s on; the revert at 3 s heals only the first. */
TEST_T(evidence_sparse_load_recovers_and_all_failing_stays_not_recovered, 60)
{
    struct testsrv *a = testsrv_start(0), *b = testsrv_start(0);
    ASSERT(a && b);
    int pa = testsrv_port(a), pb = testsrv_port(b);
    const char *d = th_tmpdir();
    char plan[4096], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: sparse\nduration: 12s\n"
             "load:\n"
             "  - { name: lone, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /ok } ], vus: 1, think: 2s }\n"
             "  - { name: broken, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /ok } ], vus: 1, think: 2s }\n"
             "method:\n"
             "  - { name: outage, at: 1s, for: 2s, fault: exec,\n"
             "      run: \"curl -sf 'http://127.0.0.1:%d/control?fail=100' 'http://127.0.0.1:%d/control?fail=100'\",\n"
             "      revert: \"curl -sf 'http://127.0.0.1:%d/control?fail=0'\" }\n"
             "probes:\n"
             "  - name: lone-recovers\n"
             "    recovery: { from: outage, load: lone, until: \"error_rate < 1%%\", stable: 3, within: 8s }\n"
             "  - name: broken-stays-down\n"
             "    recovery: { from: outage, load: broken, until: \"error_rate < 1%%\", stable: 3, within: 4s }\n"
             "  - name: lone-too-few\n"
             "    recovery: { from: outage, load: lone, until: \"error_rate < 1%%\", stable: 30, within: 8s }\n"
             "  - name: broken-past-the-end\n"
             "    recovery: { from: outage, load: broken, until: \"error_rate < 1%%\", stable: 3, within: 30s }\n",
             pa, pb, pa, pb, pa);
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 1, "the broken block fails the run (exit 1); got %d: %s", rc, out);
    /* the plan says so before it runs: within: 30s from the revert at 3s outlasts the load */
    ASSERT_CONTAINS(out, "probe 'broken-past-the-end': its clock starts at 3s (the revert of 'outage') and within: 30s "
                         "reaches past the end of load 'broken' at 12s");
    ASSERT(!strstr(out, "probe 'broken-stays-down': its clock"));
    json_t *r = load_run(d);
    const json_t *probes = json_object_get(r, "probes");
    const json_t *lone = find(probes, "lone-recovers"), *broken = find(probes, "broken-stays-down");
    /* the lone user's recovery is measured: seconds without a request are no evidence */
    ASSERT_MSG(!strcmp(str(lone, "verdict"), "passed"), "lone: %s: %s", str(lone, "verdict"), last_observed(lone));
    ASSERT_CONTAINS(last_observed(lone), "recovered in ");
    ASSERT_CONTAINS(last_observed(lone), "seconds without evidence");
    const json_t *ob = json_array_get(json_object_get(lone, "observations"), 0);
    double ms = json_number_value(json_object_get(ob, "value"));
    ASSERT_MSG(ms >= 0 && ms <= 3500, "recovered %.0f ms after the revert (one think time)", ms);
    ASSERT_MSG(json_integer_value(json_object_get(lone, "evidence")) >= 3, "evidence %lld",
               (long long)json_integer_value(json_object_get(lone, "evidence")));
    /* the same recovery against stable: 30: passes in a row, but the load ended first. Its
     * conclusive checks are evidence, its verdict is still no recovery (not "passed") */
    const json_t *few = find(probes, "lone-too-few");
    ASSERT_MSG(!strcmp(str(few, "verdict"), "inconclusive"), "too few: %s: %s", str(few, "verdict"), last_observed(few));
    ASSERT_CONTAINS(last_observed(few), "but the window closed after");
    ASSERT_MSG(json_integer_value(json_object_get(few, "evidence")) >= 2, "evidence %lld",
               (long long)json_integer_value(json_object_get(few, "evidence")));
    /* every request of the other block failed: evidence of no recovery */
    ASSERT_MSG(!strcmp(str(broken, "verdict"), "failed"), "broken: %s: %s", str(broken, "verdict"), last_observed(broken));
    ASSERT_CONTAINS(last_observed(broken), "not recovered within 4.0s");
    ASSERT_CONTAINS(last_observed(broken), "error_rate=1 over 1 requests");
    /* the same evidence against a within: that outlasts the load: whether it would have
     * recovered in time is unknown */
    const json_t *past = find(probes, "broken-past-the-end");
    ASSERT_MSG(!strcmp(str(past, "verdict"), "inconclusive"), "past the end: %s: %s", str(past, "verdict"),
               last_observed(past));
    ASSERT_CONTAINS(last_observed(past), "not recovered when load 'broken' ended");
    ASSERT_CONTAINS(last_observed(past), "before within: (30.0s) had passed");
    ASSERT_EQ_STR(str(r, "verdict"), "failed");
    json_decref(r);
    testsrv_stop(a);
    testsrv_stop(b);
}

/* every request fails from the start: the baseline's ok_rps is 0, and "50% of 0" is no
 * reference, so "ok_rps >= 50% of baseline" proves nothing (it held whatever came) */
TEST_T(evidence_a_share_of_a_zero_baseline_is_not_judged, 30)
{
    struct testsrv *s = testsrv_must(NULL);
    testsrv_set_fail_pct(s, 100);
    const char *d = th_tmpdir();
    char plan[2048], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: zero-base\nduration: 3s\n"
             "load:\n  - { name: l, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /ok } ], vus: 1, think: 50ms }\n"
             "method:\n  - { name: s, at: 1s, for: 1s, fault: exec, run: \"true\" }\n"
             "probes:\n  - { name: held-half, during: s, load: l, expect: \"ok_rps >= 50%% of baseline\" }\n"
             "  - { name: no-more-ok, during: s, load: l, expect: \"ok_rps <= 200%% of baseline\" }\n",
             testsrv_port(s));
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    json_t *r = load_run(d);
    const json_t *p = find(json_object_get(r, "probes"), "held-half");
    ASSERT_MSG(!strcmp(str(p, "verdict"), "inconclusive"), "%s: %s", str(p, "verdict"), last_observed(p));
    ASSERT_CONTAINS(last_observed(p), "baseline");
    /* at most a share of 0 is a real check (none allowed): judged, and it held */
    const json_t *q = find(json_object_get(r, "probes"), "no-more-ok");
    ASSERT_MSG(!strcmp(str(q, "verdict"), "passed"), "%s: %s", str(q, "verdict"), last_observed(q));
    ASSERT_MSG(rc == 5, "exit %d: %s", rc, out);
    json_decref(r);
    testsrv_stop(s);
}

/* a load-form recovery "until ok_rps >= 50% of baseline" measures against the baseline's
 * ok_rps, not against 0.5 requests a second: with 80% of requests failing from the inject
 * (start: inject) it has not recovered until the revert 2 s later */
TEST_T(evidence_recovery_of_baseline_compares_with_the_baseline, 30)
{
    int port;
    struct testsrv *s = testsrv_must(&port);
    const char *d = th_tmpdir();
    char plan[4096], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: rec-baseline\nduration: 6s\n"
             "load:\n  - { name: l, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /ok } ], vus: 2, think: 20ms }\n"
             "method:\n  - { name: half-down, at: 1s, for: 2s, fault: exec,\n"
             "      run: \"curl -sf 'http://127.0.0.1:%d/control?fail=80'\", revert: \"curl -sf 'http://127.0.0.1:%d/control?fail=0'\" }\n"
             "probes:\n  - name: back\n"
             "    recovery: { from: half-down, start: inject, load: l, until: \"ok_rps >= 50%% of baseline\", stable: 2, within: 4s }\n",
             port, port, port);
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    json_t *r = load_run(d);
    const json_t *p = find(json_object_get(r, "probes"), "back");
    ASSERT_MSG(!strcmp(str(p, "verdict"), "passed"), "%s: %s", str(p, "verdict"), last_observed(p));
    double ms = json_number_value(json_object_get(json_array_get(json_object_get(p, "observations"), 0), "value"));
    ASSERT_MSG(ms >= 1500 && ms <= 3000, "recovered %.0f ms after the inject (the revert is 2 s later): %s", ms, last_observed(p));
    json_decref(r);
    testsrv_stop(s);
}

/* a run aborted (here by a stop condition at 1 s) half a second after the revert: a recovery
 * still failing has not been watched for its within: and proves nothing, while one whose
 * within: had passed before the abort has its evidence */
TEST_T(evidence_recovery_cut_short_by_an_abort_is_not_failed, 30)
{
    int port;
    struct testsrv *s = testsrv_must(&port);
    const char *d = th_tmpdir();
    char plan[4096], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: cut-short\nduration: 6s\n"
             "method:\n  - { name: outage, at: 100ms, for: 200ms, fault: exec, run: \"true\" }\n"
             "probes:\n"
             "  - name: long-within\n"
             "    recovery: { from: outage, until: { http: { url: \"http://127.0.0.1:%d/status?code=503\" } }, within: 20s }\n"
             "  - name: short-within\n"
             "    recovery: { from: outage, until: { http: { url: \"http://127.0.0.1:%d/status?code=503\" } }, within: 200ms }\n"
             "stop_when:\n  - { name: trip, exec: { run: \"false\" } }\n",
             port, port);
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 3, "the stop condition aborts the run (exit 3); got %d: %s", rc, out);
    json_t *r = load_run(d);
    const json_t *probes = json_object_get(r, "probes");
    const json_t *lw = find(probes, "long-within"), *sw = find(probes, "short-within");
    ASSERT_MSG(!strcmp(str(lw, "verdict"), "inconclusive"), "long within: %s: %s", str(lw, "verdict"), last_observed(lw));
    ASSERT_CONTAINS(last_observed(lw), "the run was aborted");
    ASSERT_CONTAINS(last_observed(lw), "before within: (20.0s) had passed");
    ASSERT_MSG(!strcmp(str(sw, "verdict"), "failed"), "short within: %s: %s", str(sw, "verdict"), last_observed(sw));
    ASSERT_CONTAINS(last_observed(sw), "not recovered within 0.2s");
    /* no stream of checks after the abort: it was checked about once before it (1 s apart) */
    ASSERT_MSG(testsrv_hits(s, "/status") <= 6, "%llu checks", (unsigned long long)testsrv_hits(s, "/status"));
    json_decref(r);
    testsrv_stop(s);
}

/* two stop conditions failing at 1 s: the one without for: trips and aborts the run; the
 * other had failed for 0 of its 5 s and did not trip: it is not reported as tripped */
TEST_T(evidence_only_the_stop_condition_that_tripped_is_tripped, 30)
{
    const char *d = th_tmpdir();
    char out[16384];
    write_plan(d, "faultline: 1\nname: two-stops\nduration: 6s\n"
                  "method:\n  - { name: s, at: 100ms, for: 200ms, fault: exec, run: \"true\" }\n"
                  "stop_when:\n"
                  "  - { name: slow-burn, exec: { run: \"false\" }, for: 5s }\n"
                  "  - { name: at-once, exec: { run: \"false\" } }\n");
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 3, "exit %d: %s", rc, out);
    json_t *r = load_run(d);
    ASSERT_CONTAINS(str(r, "reason"), "stop_when 'at-once' tripped");
    const json_t *stops = json_object_get(r, "stop_when");
    const json_t *once = find(stops, "at-once"), *slow = find(stops, "slow-burn");
    ASSERT(json_is_true(json_object_get(once, "tripped")));
    ASSERT_EQ_STR(str(once, "verdict"), "failed");
    ASSERT_MSG(json_is_false(json_object_get(slow, "tripped")), "slow-burn reported tripped: %s", str(slow, "verdict"));
    ASSERT_EQ_STR(str(slow, "verdict"), "passed");
    json_decref(r);
}

/* a block that stops sending at 2 s: a probe window after that has no completed request
 * (inconclusive, exit 5), and the stop condition, failing at 1 s and 2 s, neither trips nor
 * resets on the empty seconds that follow */
TEST_T(evidence_empty_load_window_is_inconclusive_and_stop_when_waits, 60)
{
    struct testsrv *s = testsrv_must(NULL);
    testsrv_set_fail_pct(s, 100);
    const char *d = th_tmpdir();
    char plan[4096], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: empty-window\nduration: 6s\n"
             "load:\n  - { name: early, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /ok } ], vus: 1,"
             " think: 50ms, duration: 2s }\n"
             "method:\n  - { name: late-step, at: 3s, for: 2s, fault: exec, run: \"true\" }\n"
             "probes:\n  - { name: nothing-to-judge, during: late-step, load: early, expect: \"error_rate < 1%%\" }\n"
             "stop_when:\n  - { load: early, expect: \"error_rate < 1%%\", for: 2s }\n",
             testsrv_port(s));
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 5, "expected 5 (inconclusive), got %d: %s", rc, out);
    ASSERT_CONTAINS(out, "can only ever be inconclusive"); /* the lint said so, too */
    json_t *r = load_run(d);
    ASSERT_EQ_STR(str(r, "verdict"), "inconclusive");
    const json_t *p = find(json_object_get(r, "probes"), "nothing-to-judge");
    ASSERT_EQ_STR(str(p, "verdict"), "inconclusive");
    ASSERT_EQ_INT(json_integer_value(json_object_get(p, "evidence")), 0);
    ASSERT_CONTAINS(str(p, "reason"), "no evidence: 0 requests of load 'early' completed");
    ASSERT_CONTAINS(str(r, "reason"), "probe 'nothing-to-judge'");
    const json_t *sw = json_array_get(json_object_get(r, "stop_when"), 0);
    ASSERT(json_is_false(json_object_get(sw, "tripped")));
    ASSERT_EQ_STR(str(sw, "verdict"), "passed");
    ASSERT(json_integer_value(json_object_get(sw, "failed_checks")) >= 1);
    ASSERT(json_integer_value(json_object_get(sw, "inconclusive_checks")) >= 2);
    json_t *inc = json_object_get(r, "inconclusive");
    ASSERT_EQ_INT(json_array_size(inc), 1);
    json_decref(r);
    testsrv_stop(s);
}

/* a service failing 70% of its requests: rps barely moves, ok_rps shows the loss */
TEST_T(evidence_rps_counts_failures_ok_rps_does_not, 60)
{
    int port;
    struct testsrv *s = testsrv_must(&port);
    const char *d = th_tmpdir();
    char plan[4096], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: throughput\nduration: 5s\n"
             "load:\n  - { name: users, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /ok } ], vus: 2,"
             " think: 20ms }\n"
             "method:\n  - { name: flaky, at: 2s, for: 2s, fault: exec, run: \"curl -sf 'http://127.0.0.1:%d/control?fail=70'\","
             " revert: \"curl -sf 'http://127.0.0.1:%d/control?fail=0'\" }\n"
             "probes:\n"
             "  - { name: rps-holds, during: flaky, load: users, expect: \"rps >= 50%% of baseline\" }\n"
             "  - { name: ok-rps-holds, during: flaky, load: users, expect: \"ok_rps >= 50%% of baseline\" }\n"
             "  - { name: rps-with-errors-bounded, during: flaky, load: users, expect: [ \"rps >= 50%% of baseline\", "
             "\"error_rate < 5%%\" ] }\n",
             port, port, port);
    write_plan(d, plan);
    /* validate warns about the first, not about the other two */
    int rc = th_fl(d, "validate p.yaml", out, sizeof out);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "warning: probe 'rps-holds' expects 'rps >= 50% of baseline': rps counts failed requests too");
    ASSERT(!strstr(out, "'ok-rps-holds' expects"));
    ASSERT(!strstr(out, "'rps-with-errors-bounded' expects"));
    rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 1, "exit %d: %s", rc, out);
    json_t *r = load_run(d);
    const json_t *probes = json_object_get(r, "probes");
    const json_t *rp = find(probes, "rps-holds"), *op = find(probes, "ok-rps-holds"), *bp = find(probes, "rps-with-errors-bounded");
    ASSERT_MSG(!strcmp(str(rp, "verdict"), "passed"), "rps: %s", last_observed(rp));
    ASSERT_MSG(!strcmp(str(op, "verdict"), "failed"), "ok_rps: %s", last_observed(op));
    ASSERT_MSG(!strcmp(str(bp, "verdict"), "failed"), "bounded: %s", last_observed(bp));
    /* ok_rps is the 30% that was served */
    const char *seen = last_observed(op);
    const char *pct = strstr(seen, "(");
    ASSERT_MSG(pct, "%s", seen);
    int share = atoi(pct + 1);
    ASSERT_MSG(share >= 15 && share <= 45, "ok_rps at %d%% of baseline: %s", share, seen);
    /* the series and totals carry ok_rps */
    const json_t *blk = json_array_get(json_object_get(r, "load"), 0);
    double rps = json_number_value(json_object_get(json_object_get(blk, "totals"), "rps"));
    double ok = json_number_value(json_object_get(json_object_get(blk, "totals"), "ok_rps"));
    ASSERT_MSG(ok > 0 && ok < rps, "totals: rps %.1f ok_rps %.1f", rps, ok);
    ASSERT(json_object_get(json_array_get(json_object_get(blk, "series"), 0), "ok_rps") != NULL);
    /* and the warning is in run.json too */
    int warned = 0;
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(r, "warnings"), i, w) warned |= !strcmp(str(w, "code"), "rps-counts-errors");
    ASSERT(warned);
    json_decref(r);
    testsrv_stop(s);
}

/* a step that never runs: its probe has nothing to judge (inconclusive, exit 5) unless the
 * plan says nothing happening is fine (min_evidence: 0, which validate notes) */
TEST_T(evidence_probe_of_a_step_that_never_ran, 30)
{
    const char *d = th_tmpdir();
    char out[8192];
    const char *base = "faultline: 1\nname: maybe\nduration: 2s\n"
                       "method:\n  - { name: rare, at: 500ms, for: 500ms, fault: exec, run: \"true\", probability: 0 }\n"
                       "probes:\n  - { name: during-rare, during: rare, every: 100ms, exec: { run: \"true\" }%s }\n";
    char plan[1024];
    snprintf(plan, sizeof plan, base, "");
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 5, "a probe of a step that was not injected is not a pass: exit %d: %s", rc, out);
    json_t *r = load_run(d);
    const json_t *p = json_array_get(json_object_get(r, "probes"), 0);
    ASSERT_EQ_STR(str(p, "verdict"), "inconclusive");
    ASSERT_CONTAINS(str(p, "reason"), "step 'rare' was not injected (skipped)");
    json_decref(r);

    /* a dry run judges nothing, and is not inconclusive for it */
    rc = th_fl(d, "run p.yaml --dry-run -o dry", out, sizeof out);
    ASSERT_MSG(rc == 0, "dry run: exit %d: %s", rc, out);

    snprintf(plan, sizeof plan, base, ", min_evidence: 0");
    write_plan(d, plan);
    rc = th_fl(d, "validate p.yaml", out, sizeof out);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "p.yaml:7:5: note: probe 'during-rare' has min_evidence: 0: it passes even when it saw nothing");
    rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    r = load_run(d);
    p = json_array_get(json_object_get(r, "probes"), 0);
    ASSERT_EQ_STR(str(p, "verdict"), "passed");
    ASSERT_EQ_INT(json_integer_value(json_object_get(p, "evidence")), 0);
    ASSERT_CONTAINS(str(p, "reason"), "not injected");
    json_decref(r);

    /* min_evidence takes a whole number */
    snprintf(plan, sizeof plan, base, ", min_evidence: lots");
    write_plan(d, plan);
    rc = th_fl(d, "validate p.yaml", out, sizeof out);
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "min_evidence: takes a whole number");
}

/* min_evidence: 0 says "nothing happening is fine", not "a check that could not be made is
 * fine": a steady state whose every check could not be made (a check command that outlived
 * its timeout) was not shown to hold, so no fault goes in; the same for a probe and a stop
 * condition */
TEST_T(evidence_min_evidence_0_does_not_pass_checks_that_could_not_be_made, 30)
{
    const char *d = th_tmpdir();
    char plan[2048], out[16384], touched[600];
    snprintf(touched, sizeof touched, "%s/injected", d);
    const char *blind = "exec: { run: \"sleep 5\", timeout: 100ms }, min_evidence: 0";
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: blind\nduration: 1s\n"
             "steady_state:\n  - { name: healthy, %s }\n"
             "method:\n  - { name: s, at: 100ms, for: 200ms, fault: exec, run: \"touch %s\" }\n",
             blind, touched);
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 5, "exit %d: %s", rc, out);
    ASSERT_MSG(access(touched, F_OK) != 0, "a fault went into a system whose steady state could not be checked");
    json_t *r = load_run(d);
    const json_t *ss = json_object_get(r, "steady_state");
    ASSERT_EQ_STR(str(ss, "before_verdict"), "inconclusive");
    ASSERT_CONTAINS(str(json_array_get(json_object_get(ss, "before"), 0), "reason"), "could not check");
    json_decref(r);

    /* a probe and a stop condition the same way (the steady state holds here) */
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: blind2\nduration: 1s\n"
             "method:\n  - { name: s, at: 100ms, for: 200ms, fault: exec, run: \"true\" }\n"
             "probes:\n  - { name: watch, after: s, %s }\n"
             "stop_when:\n  - { name: guard, %s }\n",
             blind, blind);
    write_plan(d, plan);
    rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 5, "exit %d: %s", rc, out);
    r = load_run(d);
    const json_t *p = find(json_object_get(r, "probes"), "watch"), *g = find(json_object_get(r, "stop_when"), "guard");
    ASSERT_MSG(!strcmp(str(p, "verdict"), "inconclusive"), "probe: %s", str(p, "verdict"));
    ASSERT_CONTAINS(str(p, "reason"), "could not check");
    ASSERT_MSG(!strcmp(str(g, "verdict"), "inconclusive"), "stop_when: %s", str(g, "verdict"));
    json_decref(r);
}

/* a target faultline cannot resolve when the run starts (its Docker engine does not answer)
 * stops the run before anything: no hypothesis was tested, so exit 2 as in the dry run
 * (docs/plan-format.md), never 1 */
TEST_T(evidence_target_that_cannot_be_opened_is_not_a_finding, 30)
{
    const char *d = th_tmpdir();
    char plan[2048], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: no-engine\nduration: 1s\n"
             "targets:\n  web: { docker: { container: fl-never-created, host: \"unix://%s/no.sock\" } }\n"
             "method:\n  - { name: s, at: 100ms, for: 200ms, fault: docker.stop, target: web }\n",
             d);
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 2, "exit %d: %s", rc, out);
    json_t *r = load_run(d);
    ASSERT_EQ_STR(str(r, "verdict"), "invalid");
    ASSERT_CONTAINS(str(r, "reason"), "target 'web': cannot resolve target 'web': docker: daemon not reachable");
    ASSERT_EQ_STR(str(json_array_get(json_object_get(r, "steps"), 0), "status"), "pending");
    json_decref(r);
}

/* a proxy in faultline's environment (a CI runner's http_proxy, here one that is down) is
 * not the service under test: the http probe asks the plan's URL itself, as the load does,
 * so a healthy service reads healthy */
TEST_T(evidence_http_probe_ignores_a_proxy_in_the_environment, 30)
{
    int port;
    struct testsrv *s = testsrv_must(&port);
    const char *d = th_tmpdir();
    char plan[2048], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: behind-a-proxy\nduration: 1s\n"
             "steady_state:\n  - { name: up, http: { url: \"http://127.0.0.1:%d/ok\" } }\n"
             "method:\n  - { name: s, at: 100ms, for: 200ms, fault: exec, run: \"true\" }\n"
             "probes:\n  - { name: during-s, during: s, every: 100ms, http: { url: \"http://127.0.0.1:%d/ok\" } }\n",
             port, port);
    write_plan(d, plan);
    int rc = th_sh(out, sizeof out, "cd '%s' && http_proxy=http://127.0.0.1:1 ALL_PROXY=http://127.0.0.1:1 "
                   "FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' run p.yaml -o out 2>&1", d, d, th_faultline());
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_MSG(testsrv_hits(s, "/ok") >= 3, "%llu checks reached the service", (unsigned long long)testsrv_hits(s, "/ok"));
    testsrv_stop(s);
}

static struct plan *plan_of(const char *text)
{
    const char *d = th_tmpdir();
    write_plan(d, text);
    char path[512];
    snprintf(path, sizeof path, "%s/p.yaml", d);
    struct diag dg;
    diag_init(&dg, path);
    struct plan *p = plan_load(path, NULL, &dg);
    ASSERT_MSG(p && dg.n == 0, "plan: %s", dg.n ? dg.msgs[0] : "?");
    diag_release(&dg);
    return p;
}

/* lint: a probe that can only ever be inconclusive, from the plan alone */
TEST(evidence_lint_flags_probes_that_cannot_have_evidence)
{
    struct plan *p = plan_of(
        "faultline: 1\nname: blind\nduration: 20s\n"
        "load:\n  - { name: l, base_url: \"http://127.0.0.1:9\", requests: [ { method: GET, path: / } ], vus: 1, duration: 10s }\n"
        "steady_state:\n  - http: { url: \"http://127.0.0.1:9/ready\" }\n"
        "method:\n"
        "  - { name: first, at: 0s, for: 2s, fault: exec, run: \"true\" }\n"
        "  - { name: late, at: 12s, for: 2s, fault: exec, run: \"true\" }\n"
        /* review-1 #10: the before window is whole seconds (none under 1s); the after window
           starts at the first whole second after the revert (10s: the load's end) */
        "  - { name: early, at: 800ms, for: 1s, fault: exec, run: \"true\" }\n"
        "  - { name: edge, at: 9s, for: 500ms, fault: exec, run: \"true\" }\n"
        "probes:\n"
        "  - { name: before-zero, before: first, load: l, expect: \"p95 < 1s\" }\n"
        "  - { name: after-load, during: late, load: l, expect: \"p95 < 1s\" }\n"
        "  - { name: no-baseline, during: first, load: l, expect: \"ok_rps >= 50% of baseline\" }\n"
        "  - { name: once-but-ten, after: first, min_evidence: 10, http: { url: \"http://127.0.0.1:9/ready\" } }\n"
        "  - { name: recover-after-load, recovery: { from: late, load: l, until: \"error_rate < 1%\", within: 5s } }\n"
        "  - { name: fine, during: first, load: l, expect: \"p95 < 1s\" }\n"
        "  - { name: opted-out, during: late, load: l, expect: \"p95 < 1s\", min_evidence: 0 }\n"
        "  - { name: before-sub-second, before: early, load: l, expect: \"p95 < 1s\" }\n"
        "  - { name: after-rounded-past-load, after: edge, load: l, expect: \"p95 < 1s\" }\n");
    json_t *w = json_array();
    plan_lint(p, w);
    char *dump = json_dumps(w, JSON_INDENT(1));
    const char *want[][2] = {
        { "before-zero", "which starts at 0ms: no request can complete in it" },
        { "after-load", "its window starts at 12s, but load 'l' ends at 10s" },
        { "no-baseline", "the first fault starts at 0s: there is no baseline window" },
        { "once-but-ten", "it needs min_evidence 10, but it checks 1 time" },
        { "recover-after-load", "its clock starts at 14s (the revert of 'late'), but load 'l' ends at 10s" },
        { "before-sub-second", "the whole seconds before 'early', which starts at 800ms" },
        { "after-rounded-past-load", "its window starts at 10s, but load 'l' ends at 10s" },
    };
    size_t flagged = 0;
    for (size_t i = 0; i < json_array_size(w); i++) {
        const json_t *x = json_array_get(w, i);
        if (strcmp(str(x, "code"), "never-evidence")) continue;
        flagged++;
        int matched = 0;
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            if (!strcmp(str(x, "probe"), want[k][0])) {
                ASSERT_CONTAINS(str(x, "message"), want[k][1]);
                ASSERT_CONTAINS(str(x, "message"), "can only ever be inconclusive");
                matched = 1;
            }
        ASSERT_MSG(matched, "flagged a probe that can have evidence: %s", dump);
    }
    ASSERT_MSG(flagged == 7, "7 probes flagged, got %zu: %s", flagged, dump);
    free(dump);
    json_decref(w);
    plan_free(p);
}

/* review-1 #11: a plan without steady_state checked nothing: run.json says "none" (not
   "passed"), and the reports do not say the steady state "held" */
TEST_T(evidence_no_steady_state_is_none_not_held, 30)
{
    struct testsrv *s = testsrv_start(0);
    ASSERT(s);
    const char *d = th_tmpdir();
    char plan[1024], out[8192], path[512];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: nosteady\nduration: 1s\n"
             "method:\n  - { name: nop, at: 200ms, fault: exec, run: [\"true\"] }\n"
             "probes:\n  - { name: up, http: { url: \"http://127.0.0.1:%d/ok\", status: 200 } }\n",
             testsrv_port(s));
    write_plan(d, plan);
    int rc = th_fl(d, "run p.yaml -q -o out", out, sizeof out);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    json_t *r = load_run(d);
    const json_t *ss = json_object_get(r, "steady_state");
    ASSERT_EQ_STR(str(ss, "before_verdict"), "none");
    ASSERT_EQ_STR(str(ss, "after_verdict"), "none");
    ASSERT(json_is_false(json_object_get(ss, "held_before")));
    json_decref(r);
    snprintf(path, sizeof path, "cat '%s/out/summary.md' '%s/out/report.html'", d, d);
    static char rep[1 << 20];
    th_sh(rep, sizeof rep, "%s", path);
    ASSERT_MSG(!strstr(rep, "held before") && !strstr(rep, "<b>held / held</b>"), "the reports claim a steady state held");
    ASSERT_CONTAINS(rep, "none declared");
    testsrv_stop(s);
}
