/* test_report_html.c -- report.html rendered from a real run record (tests/fixtures/
 * run-sample.json: python http.server frozen twice with SIGSTOP under load, a step named
 * "freeze <script>alert(1)</script>", one unhealthy and one could-not-run probe, two
 * recoveries) and from hand-made records: charts, fault windows at their times, recovery
 * marks, probe rows with their evidence, escaping, and no external resource. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "report.h"

#define FIXTURE "tests/fixtures/run-sample.json"


static json_t *fixture(void)
{
    json_error_t je;
    json_t *r = json_load_file(FIXTURE, 0, &je);
    ASSERT_MSG(r != NULL, "cannot load %s: %s", FIXTURE, je.text);
    return r;
}

static char *render(json_t *run)
{
    char path[600], err[FL_ERR_LEN];
    snprintf(path, sizeof path, "%s/report.html", th_tmpdir());
    ASSERT_MSG(report_html(run, path, err) == 0, "report_html: %s", err);
    char *s = th_slurp(path);
    ASSERT(s != NULL);
    return s;
}

/* the number after attr=" in the first element that starts with prefix */
static double attr_of(const char *html, const char *prefix, const char *attr)
{
    const char *e = strstr(html, prefix);
    ASSERT_MSG(e != NULL, "no element starting with %s", prefix);
    char key[64];
    snprintf(key, sizeof key, " %s=\"", attr);
    const char *a = strstr(e, key);
    const char *end = strchr(e, '>');
    ASSERT_MSG(a && a < end, "%s has no %s", prefix, attr);
    return atof(a + strlen(key));
}

/* nothing that a browser would fetch or run */
static void assert_self_contained(const char *h)
{
    ASSERT_MSG(!strstr(h, "<script"), "a <script element in the page");
    ASSERT_MSG(!strstr(h, "<link"), "a <link element in the page");
    ASSERT_MSG(!strstr(h, "<img"), "an <img element in the page");
    ASSERT_MSG(!strstr(h, "src=\""), "a src attribute in the page");
    ASSERT_MSG(!strstr(h, "href=\"http"), "a link to the network in the page");
    ASSERT_MSG(!strstr(h, "url("), "a CSS url() in the page");
    ASSERT_EQ_INT(th_count(h, "<svg"), th_count(h, "</svg>"));
    ASSERT_EQ_INT(th_count(h, "<table"), th_count(h, "</table>"));
    ASSERT_EQ_INT(th_count(h, "<tr"), th_count(h, "</tr>"));
}

TEST(html_report_of_a_real_run_has_charts_windows_and_recoveries)
{
    json_t *run = fixture();
    char *h = render(run);
    ASSERT(strncmp(h, "<!DOCTYPE html>", 15) == 0);
    ASSERT_CONTAINS(h, "</html>\n");
    assert_self_contained(h);

    /* one load block: three charts, plus the timeline */
    ASSERT_EQ_INT(th_count(h, "<svg class=\"chart latency\""), 1);
    ASSERT_EQ_INT(th_count(h, "<svg class=\"chart rps\""), 1);
    ASSERT_EQ_INT(th_count(h, "<svg class=\"chart errors\""), 1);
    ASSERT_EQ_INT(th_count(h, "<svg class=\"chart timeline\""), 1);
    ASSERT_EQ_INT(th_count(h, "class=\"line-p50\""), 1);
    ASSERT_EQ_INT(th_count(h, "class=\"line-p95\""), 1);
    ASSERT_EQ_INT(th_count(h, "class=\"line-p99\""), 1);

    /* two fault windows on each of the three charts, labelled, escaped */
    ASSERT_EQ_INT(th_count(h, "<rect class=\"fault-window\""), 6);
    ASSERT_EQ_INT(th_count(h, "<text class=\"fault-label\""), 6);
    ASSERT_CONTAINS(h, ">freeze &lt;script&gt;alert(1)&lt;/scr…</text>");
    ASSERT_CONTAINS(h, ">second-blip</text>");
    ASSERT_CONTAINS(h, "<title>freeze &lt;script&gt;alert(1)&lt;/script&gt;: exec, 5.0s – 9.0s (reverted)</title>");
    /* the first window sits at injected_at_ms 5004 .. reverted_at_ms 9008 of a 20 s axis
     * that starts at x=70 and is 990 px wide */
    ASSERT_NEAR(attr_of(h, "<rect class=\"fault-window\"", "x"), 70 + 5.004 / 20.0 * 990, 0.11);
    ASSERT_NEAR(attr_of(h, "<rect class=\"fault-window\"", "width"), (9.008 - 5.004) / 20.0 * 990, 0.11);

    /* a recovery mark per recovery probe on each chart: 4 ms and 1 ms after the reverts */
    ASSERT_EQ_INT(th_count(h, "<line class=\"recovery-mark\""), 6);
    ASSERT_EQ_INT(th_count(h, "✓ recovered +4ms"), 3);
    ASSERT_EQ_INT(th_count(h, "✓ recovered +1ms"), 3);
    ASSERT_NEAR(attr_of(h, "<line class=\"recovery-mark\"", "x1"), 70 + 9.012 / 20.0 * 990, 0.11);

    /* the probe table: five probes, the unhealthy one apart from the one that could not run */
    ASSERT_EQ_INT(th_count(h, "<tr class=\"probe "), 5 + 2);   /* + steady state before and after */
    ASSERT_CONTAINS(h, "<span class=\"reason unhealthy\">unhealthy</span>at 5.0s: 200 in 4003ms (slower than 300ms)");
    ASSERT_CONTAINS(h, "<span class=\"reason could_not_run\">could not run</span>at 15.0s: could not check: GET "
                       "&#39;http://127.0.0.1:18099/&#39;");
    ASSERT_CONTAINS(h, "<h3>before the faults: <span class=\"badge good\">held</span></h3>");
    ASSERT_CONTAINS(h, "<td>load &#39;readers&#39;: p95 &lt; 1s</td>");
    /* thresholds: p95 held, error rate did not */
    ASSERT_CONTAINS(h, "<tr class=\"bad\"><td>error_rate &lt; 1%</td><td class=\"num\">20.20%</td>");
    /* steps and the event log, escaped */
    ASSERT_EQ_INT(th_count(h, "<tr class=\"step ok\">"), 2);
    ASSERT_CONTAINS(h, "<td>injected &#39;freeze &lt;script&gt;alert(1)&lt;/script&gt;&#39;: run /bin/sh -c kill -STOP");
    /* the plan's own text */
    ASSERT_CONTAINS(h, "reads must come back &lt;fast&gt; &amp; readiness");
    ASSERT_CONTAINS(h, "tags: sample, &lt;b&gt;html&lt;/b&gt;");
    ASSERT_CONTAINS(h, "seed <code>161965311</code>");
    free(h);
    json_decref(run);
}

TEST(html_report_escapes_hostile_text_everywhere)
{
    static const char *const RECORD =
        "{\"format\":1,\"verdict\":\"failed\",\"exit_code\":1,"
        " \"plan\":{\"name\":\"x\",\"description\":\"\\\"><img src=x onerror=alert(1)>\",\"tags\":[\"</style><script>t</script>\"],"
        "          \"duration_ms\":4000},"
        " \"reason\":\"<iframe>\","
        " \"steps\":[{\"name\":\"s'\\\"<svg onload=alert(2)>\",\"fault\":\"exec<\",\"target\":\"<t>\",\"at_ms\":1000,\"for_ms\":null,"
        "            \"status\":\"revert_failed\",\"injected_at_ms\":1000,\"reverted_at_ms\":null,\"description\":\"<d>\",\"error\":\"<e>\"}],"
        " \"probes\":[{\"name\":\"<p>\",\"kind\":\"recovery\",\"timing\":\"end\",\"step\":\"s'\\\"<svg onload=alert(2)>\",\"expect\":\"<x>\","
        "             \"window\":{\"from_ms\":1000,\"to_ms\":3500},\"verdict\":\"failed\",\"checks\":1,\"failed_checks\":1,\"could_not_run\":0,"
        "             \"failure\":{\"reason\":\"unhealthy\",\"observed\":\"<o>&\",\"t_ms\":3500},"
        "             \"details\":{\"wrong\":[\"</pre><script>\"]},"
        "             \"observations\":[{\"t_ms\":3500,\"ok\":false,\"observed\":\"<o>&\"}]}],"
        " \"load\":[{\"name\":\"<l>\",\"description\":\"<desc>\",\"base_url\":\"http://h/<u>\",\"totals\":{\"count\":3},"
        "           \"endpoints\":[{\"method\":\"GET\",\"path\":\"/<a>\",\"count\":3}],"
        "           \"thresholds\":[{\"expect\":\"p95 < 1s<\",\"metric\":\"p95\",\"value\":5,\"ok\":true}],"
        "           \"series\":[{\"t\":0,\"count\":1,\"rps\":1,\"errors\":1,\"p50\":1,\"p95\":2,\"p99\":3},"
        "                      {\"t\":1,\"count\":2,\"rps\":2,\"errors\":0,\"p50\":1,\"p95\":2,\"p99\":3}]}],"
        " \"events\":[{\"t_ms\":0,\"wall\":1795763687.1,\"text\":\"<ev>\"}],"
        " \"rollback\":[{\"command\":\"<cmd>\",\"exit\":1,\"ok\":false,\"error\":\"<re>\"}]}";
    json_error_t je;
    json_t *run = json_loads(RECORD, 0, &je);
    ASSERT_MSG(run != NULL, "record: %s", je.text);
    char *h = render(run);
    assert_self_contained(h);
    ASSERT(!strstr(h, "<iframe"));
    ASSERT(!strstr(h, "<svg onload"));
    ASSERT_CONTAINS(h, "<td>&lt;p&gt;</td>");
    ASSERT(!strstr(h, "<o>"));
    ASSERT(!strstr(h, "</style><"));
    ASSERT_EQ_INT(th_count(h, "</style>"), 1);
    ASSERT_EQ_INT(th_count(h, "</pre>"), 1);
    ASSERT_CONTAINS(h, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    ASSERT_CONTAINS(h, "s&#39;&quot;&lt;svg onload=alert(2)&gt;");
    ASSERT_CONTAINS(h, "&lt;o&gt;&amp;");
    ASSERT_CONTAINS(h, "&lt;/pre&gt;&lt;script&gt;");
    ASSERT_CONTAINS(h, "&lt;ev&gt;");
    ASSERT_CONTAINS(h, "&lt;cmd&gt;");
    /* a step never reverted is shaded to the end of the run and says so */
    ASSERT_CONTAINS(h, "1.0s – end (never reverted) (revert_failed)</title>");
    ASSERT_NEAR(attr_of(h, "<rect class=\"fault-window\"", "width"), 3.0 / 4.0 * 990, 0.11);
    /* a recovery that did not happen is marked at the end of its window */
    ASSERT_EQ_INT(th_count(h, "<line class=\"recovery-fail\""), 3);
    ASSERT_EQ_INT(th_count(h, "✗ not recovered"), 3);
    ASSERT_NEAR(attr_of(h, "<line class=\"recovery-fail\"", "x1"), 70 + 3.5 / 4.0 * 990, 0.11);
    /* the error bar of the first second: 1 of 1 failed */
    ASSERT_CONTAINS(h, "<title>0s: 1 of 1 failed (100.0%)</title>");
    free(h);
    json_decref(run);
}

TEST(html_report_of_an_unfinished_or_empty_record)
{
    /* faultline run writes the reports from an empty record before the run starts */
    json_t *empty = json_object();
    char *h = render(empty);
    assert_self_contained(h);
    ASSERT_CONTAINS(h, "The run has not finished");
    ASSERT_EQ_INT(th_count(h, "<svg"), 0);
    free(h);
    json_decref(empty);

    char path[600], err[FL_ERR_LEN];
    snprintf(path, sizeof path, "%s/no-such-dir/report.html", th_tmpdir());
    json_t *run = fixture();
    ASSERT_EQ_INT(report_html(run, path, err), -1);
    ASSERT_CONTAINS(err, "cannot write");
    json_t *arr = json_array();
    ASSERT_EQ_INT(report_html(arr, path, err), -1);
    json_decref(arr);
    json_decref(run);
}

int cmd_report(int argc, char **argv);   /* orchestrator/cmd_report.c */

TEST(report_command_renders_html_and_json_from_run_json)
{
    const char *d = th_tmpdir();
    char run[512], out[600];
    snprintf(run, sizeof run, "%s/run.json", d);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp %s '%s'", FIXTURE, run);
    ASSERT_EQ_INT(th_sh(NULL, 0, "%s", cmd), 0);
    ASSERT(freopen("/dev/null", "w", stdout) != NULL);   /* the paths it prints */

    char *a1[] = { "report", "--format", "html", run, NULL };
    ASSERT_EQ_INT(cmd_report(4, a1), 0);
    snprintf(out, sizeof out, "%s/report.html", d);
    char *h = th_slurp(out);
    ASSERT(h != NULL);
    ASSERT_EQ_INT(th_count(h, "<rect class=\"fault-window\""), 6);
    free(h);

    /* every report into a new folder: html among them */
    snprintf(out, sizeof out, "%s/again", d);
    char *a2[] = { "report", run, "-o", out, NULL };
    ASSERT_EQ_INT(cmd_report(4, a2), 0);
    snprintf(out, sizeof out, "%s/again/report.html", d);
    ASSERT_EQ_INT(access(out, R_OK), 0);
    snprintf(out, sizeof out, "%s/again/summary.md", d);
    ASSERT_EQ_INT(access(out, R_OK), 0);

    /* json to standard output is the same record */
    snprintf(out, sizeof out, "%s/stdout.json", d);
    ASSERT(freopen(out, "w", stdout) != NULL);
    char *a3[] = { "report", "-f", "json", run, NULL };
    ASSERT_EQ_INT(cmd_report(4, a3), 0);
    fflush(stdout);
    json_t *back = json_load_file(out, 0, NULL), *orig = json_load_file(run, 0, NULL);
    ASSERT(back && orig);
    ASSERT(json_equal(back, orig));
    json_decref(back);
    json_decref(orig);

    /* a record from a newer faultline is refused */
    snprintf(out, sizeof out, "%s/future.json", d);
    FILE *f = fopen(out, "w");
    fprintf(f, "{\"format\": %d, \"verdict\": \"passed\", \"plan\": {\"name\": \"x\"}}", FL_RUN_FORMAT + 1);
    fclose(f);
    char *a4[] = { "report", "-f", "html", out, NULL };
    ASSERT_EQ_INT(cmd_report(4, a4), 2);
}

/* a recovery seen but short of its min_evidence is inconclusive: the chart marks neither a
 * recovery nor a failure to recover for it */
TEST(report_html_marks_no_recovery_of_an_inconclusive_probe)
{
    json_t *run = fixture(), *p = json_array_get(json_object_get(run, "probes"), 2);
    ASSERT_EQ_STR(json_string_value(json_object_get(p, "name")), "ready-after-freeze");
    json_object_update_new(p, json_pack("{s:s, s:i}", "verdict", "inconclusive", "min_evidence", 100));
    char *h = render(run);
    ASSERT_EQ_INT(th_count(h, "✓ recovered +4ms"), 0);
    ASSERT_EQ_INT(th_count(h, "✗ not recovered"), 0);
    ASSERT_EQ_INT(th_count(h, "✓ recovered +1ms"), 3);
    free(h);
    json_decref(run);
}
