/* test_html_chromium.c -- report.html of a real run record opened in headless Chromium
 * (Debian's chromium; .ci/run installs it): the DOM the browser built has the charts, fault
 * windows, recovery marks and probe rows, and the screenshot is a real picture (decoded by
 * tests/tools/png_check.py) with the fault shading and the error bars painted in it.
 * suite.html of a drill too: its rows in the DOM, nothing on the console. Skips when chromium
 * is not installed and cannot be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "report.h"
#include "suite.h"

TEST_FILE_USES("alone"); /* Chromium takes both cores */

#define FIXTURE "tests/fixtures/run-sample.json"
#define CHROMIUM_FLAGS \
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking " \
    "--disable-component-update --disable-sync --window-size=1280,2000"

static const char *chromium(void)
{
    static char path[256];
    if (th_sh(path, sizeof path, "command -v chromium || command -v chromium-browser") == 0) {
        path[strcspn(path, "\n")] = '\0';
        return path;
    }
    return NULL;
}

TEST_T(html_report_renders_in_headless_chromium, 120)
{
    const char *bin = chromium();
    if (!bin) SKIP("chromium is not installed (make test installs it as root, or apt-get install chromium)");
    const char *d = th_tmpdir();
    json_t *run = json_load_file(FIXTURE, 0, NULL);
    ASSERT(run != NULL);
    char html[600], err[FL_ERR_LEN];
    snprintf(html, sizeof html, "%s/report.html", d);
    ASSERT_MSG(report_html(run, html, err) == 0, "%s", err);
    json_decref(run);

    /* the DOM after parsing: nothing swallowed by broken markup */
    static char dom[1 << 20];
    int rc = th_sh(dom, sizeof dom, "cd '%s' && timeout 90 '%s' " CHROMIUM_FLAGS " --user-data-dir='%s/profile-dom' --dump-dom "
                   "'file://%s' 2>/dev/null", d, bin, d, html);
    ASSERT_MSG(rc == 0, "chromium --dump-dom exited %d", rc);
    ASSERT_CONTAINS(dom, "<svg class=\"chart latency\"");
    ASSERT_CONTAINS(dom, "<svg class=\"chart rps\"");
    ASSERT_CONTAINS(dom, "<svg class=\"chart errors\"");
    ASSERT_CONTAINS(dom, "<svg class=\"chart timeline\"");
    ASSERT_EQ_INT(th_count(dom, "<rect class=\"fault-window\""), 6);
    ASSERT_EQ_INT(th_count(dom, "<line class=\"recovery-mark\""), 6);
    ASSERT_EQ_INT(th_count(dom, "<tr class=\"probe "), 7);
    ASSERT_CONTAINS(dom, "freeze &lt;script&gt;alert(1)&lt;/script&gt;");
    ASSERT_MSG(!strstr(dom, "<script"), "the browser found a script element");
    ASSERT_CONTAINS(dom, "<section id=\"events\">");

    /* the screenshot: a real, non-blank picture with the charts painted */
    char png[700], facts[256];
    snprintf(png, sizeof png, "%s/report.png", d);
    rc = th_sh(NULL, 0, "cd '%s' && timeout 90 '%s' " CHROMIUM_FLAGS " --user-data-dir='%s/profile-shot' --screenshot='%s' "
               "'file://%s' >/dev/null 2>&1", d, bin, d, png, html);
    ASSERT_MSG(rc == 0, "chromium --screenshot exited %d", rc);
    ASSERT_EQ_INT(th_sh(facts, sizeof facts, "wc -c < '%s'", png), 0);
    ASSERT_MSG(atol(facts) > 50000, "screenshot of %ld bytes", atol(facts));
    ASSERT_EQ_INT(th_sh(facts, sizeof facts, "python3 tests/tools/png_check.py '%s'", png), 0);
    int w = 0, h = 0, colours = 0;
    ASSERT_MSG(sscanf(facts, "%dx%d colours=%d", &w, &h, &colours) == 3, "png_check: %s", facts);
    ASSERT_EQ_INT(w, 1280);
    ASSERT_EQ_INT(h, 2000);
    ASSERT_MSG(colours > 50, "only %d colours: a blank page? (%s)", colours, facts);
    /* fault windows: #f59e0b at 18% over white; error bars: #dc2626 at 75% over white */
    ASSERT_EQ_INT(th_sh(facts, sizeof facts, "python3 tests/tools/png_check.py '%s' --near 253,238,211 3", png), 0);
    ASSERT_MSG(atoi(facts) > 5000, "fault shading covers %d sampled pixels", atoi(facts));
    ASSERT_EQ_INT(th_sh(facts, sizeof facts, "python3 tests/tools/png_check.py '%s' --near 229,92,92 3", png), 0);
    ASSERT_MSG(atoi(facts) > 1000, "error bars cover %d sampled pixels", atoi(facts));
}

/* console messages chromium printed opening PAGE (its ":CONSOLE" log lines), -1 when it failed */
static int console_lines(const char *bin, const char *page, const char *profile, char *dom, size_t domlen)
{
    const char *d = th_tmpdir();
    char n[32];
    if (th_sh(dom, domlen, "cd '%s' && timeout 90 '%s' " CHROMIUM_FLAGS " --user-data-dir='%s/%s' --enable-logging=stderr --v=0 "
              "--dump-dom 'file://%s' 2>'%s/%s.log'", d, bin, d, profile, page, d, profile) != 0)
        return -1;
    if (th_sh(n, sizeof n, "grep -c ':CONSOLE' '%s/%s.log'", d, profile) > 1) return -1;
    return atoi(n);
}

TEST_T(suite_html_renders_in_headless_chromium, 120)
{
    /* suite.html of a real drill's record, with a hostile experiment name: the browser builds
     * the rows, finds no script, and logs nothing to the console (a page that breaks the CSP
     * does: the check can fail) */
    const char *bin = chromium();
    if (!bin) SKIP("chromium is not installed (make test installs it as root, or apt-get install chromium)");
    const char *d = th_tmpdir();
    json_t *suite = json_load_file("tests/fixtures/drill/d2/suite.json", 0, NULL);
    ASSERT(suite != NULL);
    json_object_set_new(json_array_get(json_object_get(suite, "experiments"), 4), "experiment",
                        json_string("<script>alert(1)</script>"));
    char html[600], bad[600], err[FL_ERR_LEN];
    snprintf(html, sizeof html, "%s/suite.html", d);
    ASSERT_MSG(report_suite_html(suite, html, err) == 0, "%s", err);
    json_decref(suite);
    static char dom[1 << 20];
    int n = console_lines(bin, html, "profile-suite", dom, sizeof dom);
    ASSERT_EQ_INT(n, 0);
    ASSERT_CONTAINS(dom, "<section id=\"experiments\">");
    ASSERT_EQ_INT(th_count(dom, "/report.html\">"), 6);
    ASSERT_CONTAINS(dom, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>");
    ASSERT_MSG(!strstr(dom, "<script"), "the browser found a script element");

    snprintf(bad, sizeof bad, "%s/bad.html", d);
    th_write_file(bad, "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
                       "</head><body><script>console.log(1)</script></body></html>");
    n = console_lines(bin, bad, "profile-bad", dom, sizeof dom);
    ASSERT_MSG(n >= 1, "a CSP violation gave %d console lines", n);
}
