/* test_reports_cli.c -- the reports end to end through build/faultline: a real run (python's
 * http.server under load, frozen with SIGSTOP by an exec fault, a recovery probe) writes
 * report.html with the window where run.json says the fault was; `faultline report` renders
 * the same page again from run.json alone; `faultline compare` holds on the same run and
 * flags a slower copy of it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include "harness.h"
#include "hist.h"

TEST_FILE_USES(""); /* its own http.server on a free port */


static int answers(int port)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 500L);
    long st = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(h);
    return st == 200;
}

/* a run.json latency histogram as if every request had taken 2 s longer (longer than any
 * second of the freeze, whose requests time out at 1 s) */
static void slow_down(json_t *hist)
{
    ASSERT(json_array_size(hist) > 0);
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(hist); i++) {
        const json_t *p = json_array_get(hist, i);
        uint64_t lo, hi;
        hist_bucket_range((unsigned)json_integer_value(json_array_get(p, 0)), &lo, &hi);
        json_int_t b = hist_bucket((lo + hi) / 2 + 2000000000ULL), c = json_integer_value(json_array_get(p, 1));
        json_t *last = json_array_get(out, json_array_size(out) ? json_array_size(out) - 1 : 0);
        if (last && json_integer_value(json_array_get(last, 0)) == b)
            json_array_set_new(last, 1, json_integer(json_integer_value(json_array_get(last, 1)) + c));
        else json_array_append_new(out, json_pack("[I, I]", b, c));
    }
    json_array_clear(hist);
    json_array_extend(hist, out);
    json_decref(out);
}

TEST_T(run_report_and_compare_through_the_cli, 120)
{
    th_need_program("python3", "python3"); /* the server under load is python's http.server */
    const char *d = th_tmpdir();
    int port = th_free_port();
    pid_t srv = fork();
    if (srv == 0) {
        if (chdir(d) != 0) _exit(127);
        if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(127);
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        execlp("python3", "python3", "-m", "http.server", p, "--bind", "127.0.0.1", (char *)NULL);
        _exit(127);
    }
    ASSERT(srv > 0);
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        up = answers(port);
        if (!up) usleep(100000);
    }
    if (!up) { kill(srv, SIGKILL); waitpid(srv, NULL, 0); ASSERT_MSG(0, "python3 -m http.server did not start"); }

    char plan[4096], path[600], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: freeze-report\nduration: 6s\n"
             "load:\n  - { name: readers, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: / } ], vus: 2, think: 5ms, timeout: 1s }\n"
             "method:\n  - { name: \"freeze <b>\", at: 2s, for: 1500ms, fault: exec, run: \"kill -STOP %d\", revert: \"kill -CONT %d\" }\n"
             "probes:\n  - name: back\n    recovery: { from: \"freeze <b>\", until: { http: { url: \"http://127.0.0.1:%d/\", status: 200 } }, every: 100ms, stable: 2, within: 3s }\n",
             port, (int)srv, (int)srv, port);
    snprintf(path, sizeof path, "%s/p.yaml", d);
    FILE *f = fopen(path, "w");
    fputs(plan, f);
    fclose(f);
    int rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL='%s/j.jsonl' '%s' run p.yaml -o out 2>&1", d, d, th_faultline());
    kill(srv, SIGCONT);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);

    snprintf(path, sizeof path, "%s/out/run.json", d);
    json_t *run = json_load_file(path, 0, NULL);
    ASSERT(run != NULL);
    json_t *step = json_array_get(json_object_get(run, "steps"), 0);
    double inj = json_number_value(json_object_get(step, "injected_at_ms"));
    double rev = json_number_value(json_object_get(step, "reverted_at_ms"));
    size_t nser = json_array_size(json_object_get(json_array_get(json_object_get(run, "load"), 0), "series"));
    double end = nser * 1000.0 > 6000 ? nser * 1000.0 : 6000;
    ASSERT(rev > inj && inj >= 2000);

    snprintf(path, sizeof path, "%s/out/report.html", d);
    char *html = th_slurp(path);
    ASSERT_MSG(html != NULL, "faultline run wrote no report.html");
    ASSERT_EQ_INT(th_count(html, "<rect class=\"fault-window\""), 3);
    ASSERT_EQ_INT(th_count(html, ">freeze &lt;b&gt;</text>"), 3);
    ASSERT_EQ_INT(th_count(html, "<line class=\"recovery-mark\""), 3);
    const char *x = strstr(strstr(html, "<rect class=\"fault-window\""), " x=\"");
    ASSERT_NEAR(atof(x + 4), 70 + inj / end * 990, 0.11);
    const char *w = strstr(strstr(html, "<rect class=\"fault-window\""), " width=\"");
    ASSERT_NEAR(atof(w + 8), (rev - inj) / end * 990, 0.11);

    /* re-rendered from run.json alone: the very same page */
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' report out/run.json --format html -o again.html 2>&1", d, th_faultline());
    ASSERT_MSG(rc == 0, "faultline report exited %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/again.html", d);
    char *again = th_slurp(path);
    ASSERT(again != NULL);
    ASSERT_MSG(!strcmp(html, again), "faultline report rendered a different page");
    free(again);
    free(html);

    /* compare: the run against itself holds (think 5 ms: enough requests for a p95); a copy
     * whose every request took 2 s longer regresses */
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' compare out/run.json out/run.json", d, th_faultline());
    ASSERT_MSG(rc == 0, "compare of a run with itself exited %d: %s", rc, out);
    ASSERT_CONTAINS(out, "no regression (");
    json_t *tot = json_object_get(json_array_get(json_object_get(run, "load"), 0), "totals");
    json_object_set_new(tot, "p95", json_real(json_number_value(json_object_get(tot, "p95")) + 2000));
    slow_down(json_object_get(tot, "hist"));
    json_t *series = json_object_get(json_array_get(json_object_get(run, "load"), 0), "series");
    for (size_t i = 0; i < json_array_size(series); i++) {
        json_t *w = json_array_get(series, i);
        if (json_is_number(json_object_get(w, "p95")))
            json_object_set_new(w, "p95", json_real(json_number_value(json_object_get(w, "p95")) + 2000));
    }
    snprintf(path, sizeof path, "%s/slower.json", d);
    ASSERT_EQ_INT(json_dump_file(run, path, 0), 0);
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' compare out/run.json slower.json", d, th_faultline());
    ASSERT_MSG(rc == 1, "compare with a slower run exited %d: %s", rc, out);
    ASSERT_CONTAINS(out, "REGRESSION");
    ASSERT_CONTAINS(out, "1 regression");
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' compare out/run.json slower.json --p95 100000%% ", d, th_faultline());
    ASSERT_MSG(rc == 0, "compare --p95 100000%% exited %d: %s", rc, out);
    /* a run that took twice as long: one value a run, so with two records the change beyond
     * the rule cannot be tested: not a regression, and not a pass either (exit 5) */
    rc = th_sh(out, sizeof out, "cd '%s' && /usr/bin/python3 -c 'import json; r=json.load(open(\"out/run.json\")); "
               "r[\"elapsed_ms\"]*=2; json.dump(r, open(\"longer.json\", \"w\"))' && '%s' compare out/run.json longer.json",
               d, th_faultline());
    ASSERT_MSG(rc == 5, "compare with a run twice as long exited %d: %s", rc, out);
    ASSERT_CONTAINS(out, "beyond the rule, not tested");
    ASSERT_CONTAINS(out, "no regression among the figures compared");
    json_decref(run);
}
