/* test_reports.c -- junit.xml and summary.md rendered from a hand-built run record, then
 * parsed back: XML well-formedness (our own checker, and xmllint when it is installed),
 * the counts, failure messages that decode to exactly what the record said, and Markdown
 * tables that hostile text cannot break. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "report.h"

/* A run of plan "db-outage" with one of everything, and text that tries to break out. */
static const char *const RECORD =
    "{"
    " \"faultline_version\": \"0.1.0\", \"format\": 1,"
    " \"plan\": {\"name\": \"db-outage\", \"path\": \"plans/db.yaml\", \"hash\": \"fnv1a64:00ff\","
    "            \"description\": \"PostgreSQL stops for 45 s <b>under</b> load\", \"tags\": [], \"duration_ms\": 120000},"
    " \"seed\": 42, \"started_at\": \"2026-01-05T10:00:00.000Z\", \"ended_at\": \"2026-01-05T10:02:00.000Z\","
    " \"elapsed_ms\": 120500, \"verdict\": \"revert_failed\", \"exit_code\": 4,"
    " \"steady_state\": {"
    "   \"before\": [{\"name\": \"ready\", \"kind\": \"http\", \"timing\": \"steady_state\", \"expect\": \"GET /ready is 200\","
    "                \"verdict\": \"passed\", \"checks\": 1, \"failed_checks\": 0, \"could_not_run\": 0,"
    "                \"window\": {\"from_ms\": -50, \"to_ms\": 0},"
    "                \"observations\": [{\"t_ms\": -50, \"ok\": true, \"latency_ms\": 3.2, \"observed\": \"200 in 3ms\"}]}],"
    "   \"after\": [{\"name\": \"ready\", \"kind\": \"http\", \"timing\": \"steady_state\", \"expect\": \"GET /ready is 200\","
    "               \"verdict\": \"failed\", \"checks\": 1, \"failed_checks\": 1, \"could_not_run\": 1,"
    "               \"window\": {\"from_ms\": 120000, \"to_ms\": 120010},"
    "               \"failure\": {\"reason\": \"could_not_run\", \"observed\": \"connect: refused\", \"t_ms\": 120000},"
    "               \"observations\": [{\"t_ms\": 120000, \"ok\": false, \"could_not_run\": true, \"latency_ms\": 0,"
    "                                  \"observed\": \"connect: refused\"}]}],"
    "   \"held_before\": true, \"held_after\": false},"
    " \"steps\": ["
    "   {\"name\": \"db-down\", \"fault\": \"process.stop\", \"target\": \"pg\", \"at_ms\": 30000, \"for_ms\": 45000,"
    "    \"status\": \"reverted\", \"injected_at_ms\": 30001, \"reverted_at_ms\": 75003,"
    "    \"description\": \"freeze (SIGSTOP) target 'pg' (service 'postgres'): pid 4242\"},"
    "   {\"name\": \"cache-down\", \"fault\": \"docker.stop\", \"target\": \"cache\", \"at_ms\": 40000, \"for_ms\": 10000,"
    "    \"status\": \"revert_failed\", \"injected_at_ms\": 40000, \"reverted_at_ms\": 50000,"
    "    \"description\": \"stop container redis\", \"error\": \"cannot start 'redis': docker: 404 <no such container>\"},"
    "   {\"name\": \"kill-worker\", \"fault\": \"process.kill\", \"target\": \"worker\", \"at_ms\": 50000, \"for_ms\": null,"
    "    \"status\": \"inject_failed\", \"injected_at_ms\": 50000, \"reverted_at_ms\": null, \"description\": \"\","
    "    \"error\": \"target 'worker': no process has a command line equal to 'celery worker'\"},"
    "   {\"name\": \"restart-api\", \"fault\": \"docker.restart\", \"target\": \"api\", \"at_ms\": 60000, \"for_ms\": null,"
    "    \"status\": \"injected_no_revert\", \"injected_at_ms\": 60000, \"reverted_at_ms\": null, \"description\": \"restart api\"},"
    "   {\"name\": \"late\", \"fault\": \"exec\", \"target\": null, \"at_ms\": 200000, \"for_ms\": 1000,"
    "    \"status\": \"pending\", \"injected_at_ms\": null, \"reverted_at_ms\": null, \"description\": \"\"}"
    " ],"
    " \"probes\": ["
    "   {\"name\": \"reads-degrade-gracefully\", \"kind\": \"load\", \"timing\": \"during\", \"step\": \"db-down\","
    "    \"expect\": \"readers: p95 < 2s, error_rate < 50%\", \"window\": {\"from_ms\": 30001, \"to_ms\": 75003},"
    "    \"verdict\": \"failed\", \"checks\": 2, \"failed_checks\": 1, \"could_not_run\": 0,"
    "    \"failure\": {\"reason\": \"unhealthy\", \"observed\": \"p95=2.81s > 2s & \\\"quoted\\\" | pipe\\nnewline\\u0001ctl\", \"t_ms\": 75003},"
    "    \"observations\": [{\"t_ms\": 40000, \"ok\": true, \"latency_ms\": 0, \"observed\": \"p95=812ms\"},"
    "                       {\"t_ms\": 75003, \"ok\": false, \"latency_ms\": 0,"
    "                        \"observed\": \"p95=2.81s > 2s & \\\"quoted\\\" | pipe\\nnewline\\u0001ctl\"}]},"
    "   {\"name\": \"db-recovery\", \"kind\": \"recovery\", \"timing\": \"end\", \"expect\": \"ready within 30s\","
    "    \"window\": {\"from_ms\": 75003, \"to_ms\": 81003}, \"verdict\": \"passed\", \"checks\": 1, \"failed_checks\": 0,"
    "    \"could_not_run\": 0, \"observations\": [{\"t_ms\": 81003, \"ok\": true, \"value\": 6000, \"latency_ms\": 0,"
    "    \"observed\": \"recovered after 6s\"}]},"
    "   {\"name\": \"queue-drains\", \"kind\": \"redis\", \"timing\": \"after\", \"step\": \"late\", \"expect\": \"LLEN celery < 100\","
    "    \"window\": {\"from_ms\": 0, \"to_ms\": 0}, \"verdict\": \"skipped\", \"skip_reason\": \"step 'late' never ran\","
    "    \"checks\": 0, \"failed_checks\": 0, \"could_not_run\": 0, \"observations\": []},"
    "   {\"name\": \"worker <alive>\", \"kind\": \"process\", \"timing\": \"end\", \"expect\": \"process service 'worker' is alive\","
    "    \"window\": {\"from_ms\": 119000, \"to_ms\": 119000}, \"verdict\": \"failed\", \"checks\": 1, \"failed_checks\": 1,"
    "    \"could_not_run\": 1, \"failure\": {\"reason\": \"could_not_run\", \"observed\": \"pidfile '/x' does not hold a process id\","
    "    \"t_ms\": 119000}, \"observations\": [{\"t_ms\": 119000, \"ok\": false, \"could_not_run\": true, \"latency_ms\": 0,"
    "    \"observed\": \"pidfile '/x' does not hold a process id\"}]}"
    " ],"
    " \"stop_when\": [{\"name\": \"too-many-errors\", \"kind\": \"load\", \"timing\": \"stop_when\","
    "    \"expect\": \"readers: error_rate < 90%\", \"window\": {\"from_ms\": 0, \"to_ms\": 120000},"
    "    \"checks\": 120, \"failed_checks\": 0, \"could_not_run\": 0, \"tripped\": false, \"observations\": []}],"
    " \"load\": [{\"name\": \"readers\", \"description\": \"50 vus\", \"base_url\": \"http://127.0.0.1:8000\","
    "    \"model\": \"closed\", \"vus\": 50, \"duration_ms\": 120000, \"timeout_ms\": 5000,"
    "    \"totals\": {\"count\": 24000, \"rps\": 200.0, \"errors\": 240, \"error_rate\": 0.01, \"p50\": 12.5, \"p90\": 80.0,"
    "                 \"p95\": 812.3, \"p99\": 2810.0, \"max\": 4999.0, \"mean\": 60.1, \"min\": 1.2},"
    "    \"thresholds\": [{\"expect\": \"p95 < 500ms\", \"metric\": \"p95\", \"value\": 812.3, \"ok\": false},"
    "                     {\"expect\": \"error_rate < 5%\", \"metric\": \"error_rate\", \"value\": 0.01, \"ok\": true}],"
    "    \"endpoints\": [], \"series\": []}],"
    " \"thresholds_ok\": false,"
    " \"rollback\": [{\"command\": \"./scripts/reset.sh\", \"exit\": 3, \"ok\": false},"
    "                {\"command\": \"true\", \"exit\": 0, \"ok\": true}],"
    " \"events\": [{\"t_ms\": 0, \"wall\": 1.0, \"text\": \"load started\"},"
    "             {\"t_ms\": 30001, \"wall\": 31.0, \"text\": \"inject db-down: <script>alert(1)</script>\"}],"
    " \"journal\": \".faultline/journal.jsonl\""
    "}";

static json_t *record(void)
{
    json_error_t je;
    json_t *r = json_loads(RECORD, 0, &je);
    ASSERT_MSG(r, "record: %s at line %d col %d", je.text, je.line, je.column);
    return r;
}

static char *slurp(const char *path)
{
    char *s = th_slurp(path);
    ASSERT_MSG(s, "cannot open %s", path);
    return s;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* ---- a small XML well-formedness checker: balanced elements, quoted attributes, no raw
 * '<' or stray '&' in text or attribute values, only the five entities or numeric refs ---- */
static const char *xml_check(const char *s, char *why, size_t whylen)
{
    const char *stack[64];
    size_t depth = 0, lens[64];
    int root_seen = 0;
    const char *p = s;
    if (strncmp(p, "<?xml ", 6) == 0) {
        p = strstr(p, "?>");
        if (!p) return "unterminated declaration";
        p += 2;
    }
    while (*p) {
        if (*p == '<') {
            if (p[1] == '/') {
                const char *name = p + 2;
                size_t len = strcspn(name, ">");
                if (!depth || lens[depth - 1] != len || strncmp(stack[depth - 1], name, len) != 0) {
                    snprintf(why, whylen, "mismatched close tag at offset %ld", (long)(p - s));
                    return why;
                }
                depth--;
                p = name + len + 1;
                continue;
            }
            const char *name = p + 1;
            size_t len = strcspn(name, " />");
            if (!len) return "empty tag name";
            if (!depth && root_seen) return "two root elements";
            const char *q = name + len;
            for (;;) {   /* attributes */
                while (*q == ' ') q++;
                if (*q == '>' || (*q == '/' && q[1] == '>')) break;
                size_t an = strcspn(q, "=");
                if (q[an] != '=' || q[an + 1] != '"') {
                    snprintf(why, whylen, "unquoted attribute at offset %ld", (long)(q - s));
                    return why;
                }
                q += an + 2;
                for (; *q != '"'; q++) {
                    if (!*q || *q == '<') return "bad attribute value";
                    if (*q == '&' && !(strncmp(q, "&amp;", 5) == 0 || strncmp(q, "&lt;", 4) == 0 ||
                                       strncmp(q, "&gt;", 4) == 0 || strncmp(q, "&quot;", 6) == 0 ||
                                       strncmp(q, "&apos;", 6) == 0 || strncmp(q, "&#", 2) == 0))
                        return "stray & in attribute";
                    if ((unsigned char)*q < 0x20) return "control character in attribute";
                }
                q++;
            }
            if (*q == '/') { q += 2; if (!depth) root_seen = 1; }
            else {
                if (depth == 64) return "too deep";
                stack[depth] = name;
                lens[depth++] = len;
                q++;
                root_seen = 1;
            }
            p = q;
            continue;
        }
        if (*p == '&' && !(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 || strncmp(p, "&gt;", 4) == 0 ||
                           strncmp(p, "&quot;", 6) == 0 || strncmp(p, "&apos;", 6) == 0 || strncmp(p, "&#", 2) == 0))
            return "stray & in text";
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') return "control character in text";
        if (!depth && *p != '\n' && *p != ' ') return "text outside the root";
        p++;
    }
    return depth ? "unclosed element" : NULL;
}

static int have_xmllint(void)
{
    return th_sh(NULL, 0, "command -v xmllint >/dev/null 2>&1") == 0;
}

/* an XPath string value of the file, through xmllint */
static void xpath(const char *file, const char *expr, char *out, size_t len)
{
    ASSERT_EQ_INT(th_sh(out, len, "xmllint --xpath '%s' '%s'", expr, file), 0);
    size_t n = strlen(out);
    if (n && out[n - 1] == '\n') out[n - 1] = '\0';
}

TEST(report_junit_structure_and_counts)
{
    json_t *r = record();
    char path[512], err[FL_ERR_LEN];
    snprintf(path, sizeof path, "%s/junit.xml", th_tmpdir());
    ASSERT_MSG(report_junit(r, path, err) == 0, "junit: %s", err);
    char *x = slurp(path);
    char why[128];
    const char *bad = xml_check(x, why, sizeof why);
    ASSERT_MSG(!bad, "not well-formed: %s\n%s", bad, x);

    /* 1+1 steady state, 5 steps, 4 probes, 2 thresholds, 1 stop condition, 2 rollback = 16;
     * failures: after? no (could not run = error); probe reads (1), threshold p95 (1),
     * revert_failed (1), rollback exit 3 (1) = 4; errors: steady after, probe worker,
     * inject_failed, and probe queue-drains (a format-1 "skipped" probe never ran: no
     * evidence, inconclusive, never a pass) = 4; skipped: step late = 1 */
    ASSERT_EQ_INT(count(x, "<testcase "), 16);
    ASSERT_CONTAINS(x, "<testsuite name=\"db-outage\" tests=\"16\" failures=\"4\" errors=\"4\" skipped=\"1\" time=\"120.500\"");
    ASSERT_CONTAINS(x, "<testsuites name=\"faultline\" tests=\"16\" failures=\"4\" errors=\"4\" skipped=\"1\"");
    ASSERT_CONTAINS(x, "timestamp=\"2026-01-05T10:00:00\"");
    ASSERT_CONTAINS(x, "<property name=\"seed\" value=\"42\"/>");
    ASSERT_CONTAINS(x, "<property name=\"verdict\" value=\"revert_failed\"/>");
    ASSERT_CONTAINS(x, "classname=\"db-outage.steady_state.before\" name=\"ready\"");
    ASSERT_CONTAINS(x, "classname=\"db-outage.reverts\" name=\"db-down (process.stop on pg)\" time=\"45.002\"");
    /* expected vs observed, escaped */
    ASSERT_CONTAINS(x, "message=\"expected readers: p95 &lt; 2s, error_rate &lt; 50%; observed p95=2.81s &gt; 2s &amp; &quot;quoted&quot; | pipe&#10;newline?ctl\"");
    ASSERT_CONTAINS(x, "<failure message=\"expected p95 &lt; 500ms over the whole run; observed p95 = 812ms\" type=\"threshold\"/>");
    ASSERT_CONTAINS(x, "<error message=\"expected process service 'worker' is alive; could not check");
    ASSERT_CONTAINS(x, "type=\"could_not_run\"");
    ASSERT_CONTAINS(x, "expected the fault reverted; observed: revert failed: cannot start");
    ASSERT_CONTAINS(x, "<error message=\"inconclusive: expected LLEN celery &lt; 100; could not be judged: step 'late' never ran\" type=\"inconclusive\"");
    ASSERT_CONTAINS(x, "<skipped message=\"not injected (the run ended first)\"/>");
    ASSERT_CONTAINS(x, "expected exit 0; observed exit 3");
    free(x);
    json_decref(r);
}

TEST(report_junit_messages_decode_to_the_record)
{
    if (!have_xmllint()) SKIP("xmllint not installed (apt-get install libxml2-utils)");
    json_t *r = record();
    char path[512], err[FL_ERR_LEN], out[4096];
    snprintf(path, sizeof path, "%s/junit.xml", th_tmpdir());
    ASSERT_MSG(report_junit(r, path, err) == 0, "junit: %s", err);
    ASSERT_EQ_INT(th_sh(out, sizeof out, "xmllint --noout '%s' 2>&1", path), 0);
    static const struct { const char *expr, *want; } cases[] = {
        { "count(//testcase)", "16" },
        { "count(//testsuite)", "1" },
        { "count(//testcase/failure)", "4" },
        { "count(//testcase/error)", "4" },
        { "count(//testcase/skipped)", "1" },
        /* the hostile observation comes back as written (the control character as '?') */
        { "string(//testcase[@name=\"reads-degrade-gracefully\"]/failure/@message)",
          "expected readers: p95 < 2s, error_rate < 50%; observed p95=2.81s > 2s & \"quoted\" | pipe\nnewline?ctl" },
        { "string(//testcase[@name=\"worker <alive>\"]/error/@type)", "could_not_run" },
        { "string(//testcase[@classname=\"db-outage.reverts\"][failure]/@name)", "cache-down (docker.stop on cache)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xpath(path, cases[i].expr, out, sizeof out);
        ASSERT_MSG(!strcmp(out, cases[i].want), "%s:\n     got: \"%s\"\n  expect: \"%s\"", cases[i].expr, out,
                   cases[i].want);
    }
    json_decref(r);
}

TEST(report_junit_of_a_passing_and_of_an_empty_record)
{
    char path[512], err[FL_ERR_LEN], why[128];
    snprintf(path, sizeof path, "%s/empty.xml", th_tmpdir());
    json_t *empty = json_object();
    ASSERT_MSG(report_junit(empty, path, err) == 0, "junit: %s", err);
    char *x = slurp(path);
    ASSERT_MSG(!xml_check(x, why, sizeof why), "not well-formed:\n%s", x);
    ASSERT_CONTAINS(x, "tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\"");
    free(x);
    json_decref(empty);

    json_t *ok = json_pack("{s:{s:s}, s:s, s:i, s:s, s:[{s:s, s:s, s:s, s:i, s:i, s:i, s:[]}]}", "plan", "name", "fine",
                           "verdict", "aborted", "exit_code", 3, "reason", "stop condition 'x' tripped",
                           "probes", "name", "p", "verdict", "passed", "expect", "200", "checks", 1, "failed_checks", 0,
                           "could_not_run", 0, "observations");
    ASSERT_MSG(report_junit(ok, path, err) == 0, "junit: %s", err);
    x = slurp(path);
    ASSERT_MSG(!xml_check(x, why, sizeof why), "not well-formed:\n%s", x);
    ASSERT_CONTAINS(x, "<testcase classname=\"fine.probes\" name=\"p\" time=\"0.000\"/>");
    ASSERT_CONTAINS(x, "<error message=\"the run was aborted: stop condition 'x' tripped\" type=\"aborted\"/>");
    ASSERT_CONTAINS(x, "tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"0\"");
    free(x);
    json_decref(ok);

    /* a path that cannot be written is an error, not a crash */
    ASSERT_EQ_INT(report_junit(ok = json_object(), "/nonexistent-dir/junit.xml", err), -1);
    ASSERT_CONTAINS(err, "cannot write '/nonexistent-dir/junit.xml.tmp'");
    json_decref(ok);
}

TEST(report_junit_matrix_record)
{
    /* a combination that could not run (invalid) or never started after an abort (not_run)
     * is no failure of the service: an error and a skip, not a <failure> */
    json_t *m = json_pack("{s:{s:s}, s:[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s, s:s},"
                          " {s:s, s:s, s:n}], s:s, s:i}", "plan", "name", "n1",
                          "matrix", "lose", "backend-1", "verdict", "passed", "exit_code", 0, "report", "out/lose-backend-1",
                          "lose", "backend-2", "verdict", "failed", "exit_code", 1, "report", "out/lose-backend-2",
                          "lose", "backend-3", "verdict", "invalid", "exit_code", 2, "report", "out/lose-backend-3", "why",
                          "target 'a': cannot listen", "lose", "backend-4", "verdict", "not_run", "exit_code",
                          "verdict", "failed", "exit_code", 1);
    char path[512], err[FL_ERR_LEN], why[128];
    snprintf(path, sizeof path, "%s/m.xml", th_tmpdir());
    ASSERT_MSG(report_junit(m, path, err) == 0, "junit: %s", err);
    char *x = slurp(path);
    ASSERT_MSG(!xml_check(x, why, sizeof why), "not well-formed:\n%s", x);
    ASSERT_CONTAINS(x, "name=\"lose backend-2\"");
    ASSERT_CONTAINS(x, "observed verdict failed (exit 1), report in out/lose-backend-2");
    ASSERT_CONTAINS(x, "tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\"");
    ASSERT_CONTAINS(x, "could not run: target 'a': cannot listen (exit 2)");
    free(x);
    json_decref(m);
}

/* ---- Markdown ---------------------------------------------------------------------------- */

/* every table's rows have the header's number of cells (unescaped '|'), and there is no
 * raw HTML other than the tags the writer itself uses */
static const char *md_check(const char *md, char *why, size_t whylen)
{
    const char *line = md;
    int want = -1, lineno = 0;
    while (*line) {
        lineno++;
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len && line[0] == '|') {
            int pipes = 0;
            for (size_t i = 0; i < len; i++)
                if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) pipes++;
            if (want < 0) want = pipes;
            else if (pipes != want) {
                snprintf(why, whylen, "line %d has %d cell separators, the table has %d", lineno, pipes, want);
                return why;
            }
        } else {
            want = -1;
        }
        for (size_t i = 0; i < len; i++) {
            if (line[i] != '<') continue;
            static const char *const ok[] = { "<details>", "</details>", "<summary>", "</summary>", "<sub>", "</sub>" };
            int allowed = 0;
            for (size_t k = 0; k < 6; k++)
                if (strncmp(line + i, ok[k], strlen(ok[k])) == 0) allowed = 1;
            if (!allowed) {
                snprintf(why, whylen, "raw '<' on line %d: %.40s", lineno, line + i);
                return why;
            }
        }
        line += len + (end ? 1 : 0);
    }
    return NULL;
}

static char *render_md(json_t *r)
{
    char path[512], err[FL_ERR_LEN], why[160];
    snprintf(path, sizeof path, "%s/summary.md", th_tmpdir());
    ASSERT_MSG(report_markdown(r, path, err) == 0, "markdown: %s", err);
    char *m = slurp(path);
    const char *bad = md_check(m, why, sizeof why);
    ASSERT_MSG(!bad, "%s\n%s", bad, m);
    return m;
}

TEST(report_markdown_summary)
{
    json_t *r = record();
    char *m = render_md(r);
    const char *head = "## 🔥 faultline: db-outage revert failed\n";
    ASSERT_MSG(strncmp(m, head, strlen(head)) == 0, "headline:\n%s", m);
    ASSERT_CONTAINS(m, "> PostgreSQL stops for 45 s &lt;b&gt;under&lt;/b&gt; load");
    ASSERT_CONTAINS(m, "exit 4 · 2m00.5s · seed 42");
    ASSERT_CONTAINS(m, "**1/4 probes held** (1 inconclusive: no evidence) · **5 faults**, 2 with a failed inject or revert"
                       " · steady state held before, **broken** after · thresholds **failed**");
    /* the fault table: times on the run clock, status, what was done, the error */
    ASSERT_CONTAINS(m, "| db-down | process.stop | pg | 30.0s | 1m15.0s | ✅ reverted | freeze (SIGSTOP) target 'pg'");
    ASSERT_CONTAINS(m, "| cache-down | docker.stop | cache | 40.0s | 50.0s | 🔥 revert\\_failed | stop container redis — cannot start 'redis': docker: 404 &lt;no such container&gt; |");
    /* a probe: expected vs observed; the pipe and newline of the observation stay in the cell */
    ASSERT_CONTAINS(m, "| reads-degrade-gracefully | during db-down | ❌ failed | readers: p95 &lt; 2s, error\\_rate &lt; 50% |"
                       " at 1m15.0s: p95=2.81s &gt; 2s &amp; \"quoted\" \\| pipe newlinectl (1/2 checks failed) |");
    ASSERT_CONTAINS(m, "| worker &lt;alive&gt; | end | ❌ failed | process service 'worker' is alive | could not check at 1m59.0s:");
    ASSERT_CONTAINS(m, "| readers | 24000 | 200.0/s | 12.5ms | 812ms | 2.81s | 5.00s | 1.00% |");
    ASSERT_CONTAINS(m, "| readers: p95 &lt; 500ms | ❌ failed | p95 = 812ms |");
    ASSERT_CONTAINS(m, "| too-many-errors | ✅ held |");
    ASSERT_CONTAINS(m, "| ./scripts/reset.sh | ❌ failed | 3 |");
    ASSERT_CONTAINS(m, "- `30.0s` inject db-down: &lt;script&gt;alert(1)&lt;/script&gt;");
    ASSERT_CONTAINS(m, "Retry with `faultline rollback .faultline/journal.jsonl`.");
    ASSERT_EQ_INT(count(m, "### "), 6);   /* faults, probes, steady state, load, stop conditions, rollback */
    free(m);
    json_decref(r);
}

TEST(report_markdown_of_a_passing_and_of_an_empty_record)
{
    json_t *e = json_object();
    char *m = render_md(e);
    ASSERT(strncmp(m, "## ❔ faultline: (no plan) no result\n", strlen("## ❔ faultline: (no plan) no result\n")) == 0);
    free(m);
    json_decref(e);

    json_t *ok = json_pack("{s:{s:s, s:s}, s:s, s:i, s:I, s:{s:[], s:[], s:b, s:b}, s:[{s:s, s:s, s:s, s:i, s:i, s:[{s:s}]}],"
                           " s:b}",
                           "plan", "name", "fine", "path", "plans/fine.yaml", "verdict", "passed", "exit_code", 0,
                           "elapsed_ms", (json_int_t)5000, "steady_state", "before", "after", "held_before", 1,
                           "held_after", 1, "probes", "name", "p|1", "verdict", "passed", "expect", "200", "checks", 1,
                           "failed_checks", 0, "observations", "observed", "200 in [4ms](http://x)", "thresholds_ok", 1);
    m = render_md(ok);
    ASSERT(strncmp(m, "## ✅ faultline: fine passed\n", strlen("## ✅ faultline: fine passed\n")) == 0);
    ASSERT_CONTAINS(m, "exit 0 · 5.0s");
    ASSERT_CONTAINS(m, "**1/1 probes held** · **0 faults** · steady state held before, held after\n");
    ASSERT_CONTAINS(m, "| p\\|1 |  | ✅ passed | 200 | 200 in \\[4ms\\](http://x) |");
    ASSERT(!strstr(m, "### Faults"));
    free(m);
    json_decref(ok);
}

/* thresholds_ok is true when no threshold failed; one with no request to judge it held
 * nothing (ok: null), and a load without thresholds has none to hold: neither summary says
 * "held" then */
TEST(report_thresholds_without_evidence_are_not_held)
{
    const char *fmt = "{\"plan\": {\"name\": \"quiet\"}, \"verdict\": \"%s\", \"exit_code\": %d, \"thresholds_ok\": true,"
                      " \"steady_state\": {\"before\": [], \"after\": [], \"before_verdict\": \"none\", \"after_verdict\": \"none\"},"
                      " \"steps\": [{\"name\": \"s\", \"status\": \"reverted\"}],"
                      " \"load\": [{\"name\": \"l\", \"totals\": {\"count\": 0}, \"thresholds\": [%s]}]}";
    const struct { const char *verdict; int code; const char *th, *md, *html; } cases[] = {
        { "inconclusive", 5, "{\"expect\": \"p95 < 1s\", \"metric\": \"p95\", \"value\": null, \"ok\": null}",
          " · thresholds *not judged*\n", "load thresholds<b>not judged</b>" },
        { "passed", 0, "", NULL, NULL },
        { "passed", 0, "{\"expect\": \"p95 < 1s\", \"metric\": \"p95\", \"value\": 5, \"ok\": true}",
          " · thresholds held\n", "load thresholds<b>held</b>" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048], path[600], err[FL_ERR_LEN];
        snprintf(text, sizeof text, fmt, cases[i].verdict, cases[i].code, cases[i].th);
        json_t *r = json_loads(text, 0, NULL);
        ASSERT_MSG(r, "%s", text);
        char *m = render_md(r);
        if (cases[i].md) ASSERT_CONTAINS(m, cases[i].md);
        else ASSERT_MSG(!strstr(m, "thresholds"), "case %zu: %s", i, m);
        snprintf(path, sizeof path, "%s/report.html", th_tmpdir());
        ASSERT_MSG(report_html(r, path, err) == 0, "html: %s", err);
        char *h = slurp(path);
        if (cases[i].html) ASSERT_CONTAINS(h, cases[i].html);
        else ASSERT_MSG(!strstr(h, "load thresholds<b>"), "case %zu", i);
        free(h);
        free(m);
        json_decref(r);
    }
}

/* ---- faultline report: re-rendering from run.json alone ----------------------------------- */

int cmd_report(int argc, char **argv);   /* orchestrator/cmd_report.c */

static int report_cmd(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
    char *argv[7] = { "report", (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, NULL };
    int argc = 1;
    while (argv[argc]) argc++;
    fflush(stdout);
    return cmd_report(argc, argv);
}

TEST(report_command_rerenders_from_run_json)
{
    const char *d = th_tmpdir();
    char run[512], path[600], why[160];
    snprintf(run, sizeof run, "%s/run.json", d);
    json_t *r = record();
    ASSERT_EQ_INT(json_dump_file(r, run, JSON_INDENT(2)), 0);
    json_decref(r);

    /* every report beside run.json */
    ASSERT_EQ_INT(report_cmd("--format", "all", run, NULL, NULL), 0);
    snprintf(path, sizeof path, "%s/junit.xml", d);
    char *x = slurp(path);
    ASSERT_MSG(!xml_check(x, why, sizeof why), "junit.xml: %s", why);
    ASSERT_EQ_INT(count(x, "<testcase "), 16);
    free(x);
    snprintf(path, sizeof path, "%s/summary.md", d);
    x = slurp(path);
    ASSERT_CONTAINS(x, "## 🔥 faultline: db-outage revert failed");
    free(x);

    /* one format to a named file; all of them into another folder */
    snprintf(path, sizeof path, "%s/other.md", d);
    ASSERT_EQ_INT(report_cmd("--format", "md", "-o", path, run), 0);
    x = slurp(path);
    ASSERT_CONTAINS(x, "### Faults");
    free(x);
    snprintf(path, sizeof path, "%s/again", d);
    ASSERT_EQ_INT(mkdir(path, 0755), 0);
    ASSERT_EQ_INT(report_cmd("-f", "all", "-o", path, run), 0);
    snprintf(path, sizeof path, "%s/again/junit.xml", d);
    ASSERT_EQ_INT(access(path, R_OK), 0);

    /* to standard output */
    snprintf(path, sizeof path, "%s/stdout.txt", d);
    ASSERT(freopen(path, "w", stdout) != NULL);
    ASSERT_EQ_INT(report_cmd("-f", "junit", "-o", "-", run), 0);
    fflush(stdout);
    x = slurp(path);
    ASSERT(strncmp(x, "<?xml version=\"1.0\"", 19) == 0);
    ASSERT_MSG(!xml_check(x, why, sizeof why), "stdout junit: %s", why);
    free(x);
}

TEST(report_command_refuses_what_is_not_a_run_record)
{
    const char *d = th_tmpdir();
    char path[512];
    ASSERT_EQ_INT(report_cmd("/nonexistent/run.json", NULL, NULL, NULL, NULL), 2);
    snprintf(path, sizeof path, "%s/list.json", d);
    FILE *f = fopen(path, "w");
    fputs("[1, 2]\n", f);
    fclose(f);
    ASSERT_EQ_INT(report_cmd(path, NULL, NULL, NULL, NULL), 2);
    snprintf(path, sizeof path, "%s/run.json", d);
    f = fopen(path, "w");
    fputs("{\"verdict\": \"passed\"}\n", f);
    fclose(f);
    ASSERT_EQ_INT(report_cmd("--format", "pdf", path, NULL, NULL), 2);
    ASSERT_EQ_INT(report_cmd(path, "extra-arg", NULL, NULL, NULL), 2);
    ASSERT(freopen("/dev/null", "w", stdout) != NULL);   /* the usage text */
    ASSERT_EQ_INT(report_cmd("--help", NULL, NULL, NULL, NULL), 0);
}
