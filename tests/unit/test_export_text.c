/* test_export_text.c -- the Prometheus text and the chat message of a real run record
 * (tests/fixtures/run-sample.json), read back with a parser of the exposition format 0.0.4:
 * every line well-formed, families contiguous after their TYPE, no duplicate series, label
 * values that unescape to exactly what the record said. And the progress line, on a pipe
 * and on a pseudo-terminal. */
#include <fcntl.h>
#include <math.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <jansson.h>
#include "export.h"
#include "harness.h"
#include "progress.h"

#define FIXTURE "tests/fixtures/run-sample.json"

static json_t *fixture(void)
{
    json_t *r = json_load_file(FIXTURE, 0, NULL);
    ASSERT_MSG(r != NULL, "cannot load %s", FIXTURE);
    return r;
}

/* ---- a small parser of the text format ------------------------------------------------- */

struct series {
    char name[128];
    char labels[1024];          /* unescaped, as k=v pairs joined by \x1f */
    double value;
};

static int name_ok(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i && c >= '0' && c <= '9');
        if (!ok) return 0;
    }
    return 1;
}

/* parse the whole text; fails the test on the first malformed line */
static size_t parse(const char *text, struct series *out, size_t max)
{
    size_t n = 0;
    char family[128] = "", typed[64][128];
    size_t ntyped = 0;
    const char *p = text;
    ASSERT_MSG(*text && text[strlen(text) - 1] == '\n', "the text must end with a newline");
    while (*p) {
        const char *eol = strchr(p, '\n');
        ASSERT(eol);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(eol - p), p);
        p = eol + 1;
        if (!strncmp(line, "# HELP ", 7)) {
            char *sp = strchr(line + 7, ' ');
            ASSERT_MSG(sp && name_ok(line + 7, (size_t)(sp - line - 7)), "bad HELP line: %s", line);
            continue;
        }
        if (!strncmp(line, "# TYPE ", 7)) {
            char *sp = strchr(line + 7, ' ');
            ASSERT_MSG(sp && !strcmp(sp, " gauge"), "bad TYPE line: %s", line);
            snprintf(family, sizeof family, "%.*s", (int)(sp - line - 7), line + 7);
            for (size_t i = 0; i < ntyped; i++) ASSERT_MSG(strcmp(typed[i], family), "family %s typed twice (not contiguous)", family);
            ASSERT(ntyped < 64);
            snprintf(typed[ntyped++], 128, "%s", family);
            continue;
        }
        ASSERT_MSG(line[0] != '#' && line[0], "unexpected line: '%s'", line);
        ASSERT(n < max);
        struct series *s = &out[n++];
        const char *q = line;
        while (*q && *q != '{' && *q != ' ') q++;
        ASSERT_MSG(name_ok(line, (size_t)(q - line)), "bad metric name in: %s", line);
        snprintf(s->name, sizeof s->name, "%.*s", (int)(q - line), line);
        ASSERT_MSG(!strcmp(s->name, family), "sample %s outside its family %s", s->name, family);
        s->labels[0] = '\0';
        size_t ll = 0;
        if (*q == '{') {
            q++;
            while (*q != '}') {
                const char *eq = strchr(q, '=');
                ASSERT_MSG(eq && name_ok(q, (size_t)(eq - q)) && eq[1] == '"', "bad label in: %s", line);
                ll += (size_t)snprintf(s->labels + ll, sizeof s->labels - ll, "%.*s=", (int)(eq - q), q);
                q = eq + 2;
                while (*q != '"') {
                    ASSERT_MSG(*q, "unterminated label value in: %s", line);
                    char c = *q++;
                    if (c == '\\') {
                        c = *q++;
                        ASSERT_MSG(c == '\\' || c == '"' || c == 'n', "bad escape in: %s", line);
                        if (c == 'n') c = '\n';
                    }
                    ASSERT(ll + 2 < sizeof s->labels);
                    s->labels[ll++] = c;
                }
                q++;
                s->labels[ll++] = '\x1f';
                s->labels[ll] = '\0';
                if (*q == ',') q++;
                else ASSERT_MSG(*q == '}', "bad label list in: %s", line);
            }
            q++;
        }
        ASSERT_MSG(*q == ' ', "no space before the value in: %s", line);
        char *end;
        s->value = strtod(q + 1, &end);
        ASSERT_MSG(end != q + 1 && *end == '\0', "bad value in: %s", line);
        for (size_t i = 0; i + 1 < n; i++)
            ASSERT_MSG(strcmp(out[i].name, s->name) || strcmp(out[i].labels, s->labels), "duplicate series: %s", line);
    }
    return n;
}

/* the value of name with exactly these labels ("k=v\x1f..."), NAN when absent */
static double get(const struct series *s, size_t n, const char *name, const char *labels)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].name, name) && !strcmp(s[i].labels, labels)) return s[i].value;
    return NAN;
}

#define PL "plan=report-sample\x1f"

TEST(prometheus_text_of_a_real_run)
{
    json_t *run = fixture();
    struct buf b;
    buf_init(&b, 0);
    report_prometheus_text(run, &b);
    static struct series s[256];
    size_t n = parse(b.data, s, 256);
    ASSERT(n > 30);
    ASSERT_EQ_INT(get(s, n, "faultline_run_verdict", PL "verdict=failed\x1f"), 1);
    ASSERT_EQ_INT(get(s, n, "faultline_run_verdict", PL "verdict=passed\x1f"), 0);
    ASSERT_EQ_INT(get(s, n, "faultline_run_exit_code", PL), 1);
    ASSERT_EQ_INT(get(s, n, "faultline_run_passed", PL), 0);
    ASSERT_NEAR(get(s, n, "faultline_run_elapsed_seconds", PL), 20.018, 1e-9);
    ASSERT_NEAR(get(s, n, "faultline_run_timestamp_seconds", PL), 1795763707.137, 1e-3);
    ASSERT_EQ_INT(get(s, n, "faultline_run_thresholds_ok", PL), 0);
    ASSERT_NEAR(get(s, n, "faultline_load_latency_seconds", PL "load=readers\x1fquantile=0.5\x1f"), 0.001511, 1e-12);
    ASSERT_NEAR(get(s, n, "faultline_load_latency_seconds", PL "load=readers\x1fquantile=0.95\x1f"), 0.00598, 1e-12);
    ASSERT_NEAR(get(s, n, "faultline_load_latency_seconds", PL "load=readers\x1fquantile=0.99\x1f"), 0.01137, 1e-12);
    ASSERT_NEAR(get(s, n, "faultline_load_requests_per_second", PL "load=readers\x1f"), 125.5, 1e-9);
    ASSERT_NEAR(get(s, n, "faultline_load_error_ratio", PL "load=readers\x1f"), 0.202, 1e-12);
    ASSERT_EQ_INT(get(s, n, "faultline_load_requests", PL "load=readers\x1f"), 2510);
    ASSERT_EQ_INT(get(s, n, "faultline_probe_passed", PL "probe=ready-while-frozen\x1fkind=http\x1ftiming=during\x1f"), 0);
    ASSERT_EQ_INT(get(s, n, "faultline_probe_passed", PL "probe=reads-during-freeze\x1fkind=load\x1ftiming=during\x1f"), 1);
    ASSERT_EQ_INT(get(s, n, "faultline_probe_could_not_run", PL "probe=nobody-listens\x1fkind=http\x1ftiming=after\x1f"), 1);
    ASSERT_EQ_INT(get(s, n, "faultline_probe_could_not_run", PL "probe=ready-while-frozen\x1fkind=http\x1ftiming=during\x1f"), 0);
    /* the step name with markup is a label value like any other */
    ASSERT_NEAR(get(s, n, "faultline_recovery_seconds", PL "probe=ready-after-freeze\x1fstep=freeze <script>alert(1)</script>\x1f"),
                0.004, 1e-12);
    ASSERT_NEAR(get(s, n, "faultline_recovery_seconds", PL "probe=ready-after-blip\x1fstep=second-blip\x1f"), 0.001, 1e-12);
    ASSERT_EQ_INT(get(s, n, "faultline_recovery_recovered", PL "probe=ready-after-blip\x1fstep=second-blip\x1f"), 1);
    ASSERT_EQ_INT(get(s, n, "faultline_step_ok", PL "step=second-blip\x1f" "fault=exec\x1f"), 1);
    buf_release(&b);

    /* the file: the same text, written atomically */
    char path[600], err[FL_ERR_LEN];
    snprintf(path, sizeof path, "%s/faultline.prom", th_tmpdir());
    ASSERT_MSG(report_prometheus(run, path, err) == 0, "%s", err);
    char cmd[700], first[256];
    snprintf(cmd, sizeof cmd, "head -n 3 '%s'", path);
    th_sh(first, sizeof first, "%s", cmd);
    ASSERT_CONTAINS(first, "# TYPE faultline_run_verdict gauge\nfaultline_run_verdict{plan=\"report-sample\",verdict=\"passed\"} 0\n");
    snprintf(path, sizeof path, "%s/none/faultline.prom", th_tmpdir());
    ASSERT_EQ_INT(report_prometheus(run, path, err), -1);
    json_decref(run);
}

TEST(prometheus_labels_are_escaped)
{
    json_t *run = json_pack("{s:{s:s},s:s,s:i,s:[{s:s,s:s,s:s}]}", "plan", "name", "a\"b\\c\nd", "verdict", "passed", "exit_code", 0,
                            "steps", "name", "say \"hi\" \\ now\nnext", "fault", "exec", "status", "reverted");
    struct buf b;
    buf_init(&b, 0);
    report_prometheus_text(run, &b);
    ASSERT_CONTAINS(b.data, "faultline_run_passed{plan=\"a\\\"b\\\\c\\nd\"} 1\n");
    ASSERT_CONTAINS(b.data, "step=\"say \\\"hi\\\" \\\\ now\\nnext\"");
    static struct series s[64];
    size_t n = parse(b.data, s, 64);
    ASSERT_EQ_INT(get(s, n, "faultline_step_ok", "plan=a\"b\\c\nd\x1fstep=say \"hi\" \\ now\nnext\x1f" "fault=exec\x1f"), 1);
    /* no load, no probes: those families are left out rather than empty */
    ASSERT(!strstr(b.data, "faultline_load_"));
    ASSERT(!strstr(b.data, "faultline_probe_"));
    buf_release(&b);
    json_decref(run);
}

/* a recovery seen but short of its min_evidence is inconclusive: no recovery time, and no
 * "recovered" 0 or 1 either */
TEST(prometheus_recovery_time_only_of_a_passed_probe)
{
    json_t *run = fixture();
    json_t *p = json_array_get(json_object_get(run, "probes"), 2);
    ASSERT_EQ_STR(json_string_value(json_object_get(p, "name")), "ready-after-freeze");
    json_object_set_new(p, "verdict", json_string("inconclusive"));
    json_object_set_new(p, "min_evidence", json_integer(100));
    struct buf b;
    buf_init(&b, 0);
    report_prometheus_text(run, &b);
    static struct series s[256];
    size_t n = parse(b.data, s, 256);
    ASSERT(isnan(get(s, n, "faultline_recovery_seconds", PL "probe=ready-after-freeze\x1fstep=freeze <script>alert(1)</script>\x1f")));
    ASSERT(isnan(get(s, n, "faultline_recovery_recovered", PL "probe=ready-after-freeze\x1fstep=freeze <script>alert(1)</script>\x1f")));
    ASSERT_NEAR(get(s, n, "faultline_recovery_seconds", PL "probe=ready-after-blip\x1fstep=second-blip\x1f"), 0.001, 1e-12);
    buf_release(&b);
    json_decref(run);
}

/* thresholds_ok is true when none failed: a threshold that was never judged (no request of
 * its block completed) is not exported as held */
TEST(prometheus_thresholds_not_judged_are_not_held)
{
    json_t *run = json_loads("{\"plan\": {\"name\": \"quiet\"}, \"verdict\": \"inconclusive\", \"exit_code\": 5,"
                             " \"thresholds_ok\": true, \"load\": [{\"name\": \"l\", \"totals\": {\"count\": 0},"
                             " \"thresholds\": [{\"expect\": \"p95 < 1s\", \"metric\": \"p95\", \"value\": null, \"ok\": null}]}]}",
                             0, NULL);
    ASSERT(run);
    struct buf b;
    buf_init(&b, 0);
    report_prometheus_text(run, &b);
    ASSERT_MSG(!strstr(b.data, "faultline_run_thresholds_ok{"), "%s", b.data);
    buf_release(&b);
    json_decref(run);
}

TEST(notify_text_names_the_verdict_and_failed_probes)
{
    json_t *run = fixture();
    struct buf b;
    buf_init(&b, 0);
    report_notify_text(run, &b);
    ASSERT_CONTAINS(b.data, ":x: faultline: *report-sample* failed (exit 1, 20.0s)\nprobes: 3 passed, 2 failed\n");
    ASSERT_CONTAINS(b.data, "\n• `ready-while-frozen` unhealthy: 200 in 4003ms (slower than 300ms)\n");
    ASSERT_CONTAINS(b.data, "\n• `nobody-listens` could not run: could not check: GET 'http://127.0.0.1:18099/'");
    ASSERT_CONTAINS(b.data, "\nload `readers`: p95 5.98ms, 125.5/s, errors 20.20%");
    ASSERT_CONTAINS(b.data, "\nload thresholds: failed");
    buf_release(&b);
    /* Slack's three escapes */
    json_t *p0 = json_array_get(json_object_get(run, "probes"), 0);
    json_object_set_new(json_object_get(p0, "failure"), "observed", json_string("<!channel> & <@U123>"));
    buf_init(&b, 0);
    report_notify_text(run, &b);
    ASSERT_CONTAINS(b.data, "unhealthy: &lt;!channel&gt; &amp; &lt;@U123&gt;\n");
    ASSERT(!strstr(b.data, "<!channel>"));
    buf_release(&b);
    json_decref(run);
}

/* ---- the progress line ----------------------------------------------------------------- */

static char *drain(int fd)
{
    static char got[8192];
    size_t n = 0;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        ssize_t r = read(fd, got + n, sizeof got - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
    }
    got[n] = '\0';
    return got;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

TEST(progress_plain_lines_every_5s_and_on_phase_change)
{
    int fds[2];
    ASSERT_EQ_INT(pipe(fds), 0);
    struct progress *p = progress_new(fds[1], 0);
    progress_update(p, "steady-state", 0, 20000, NAN, NAN, NAN, 0);
    char *out = drain(fds[0]);
    ASSERT_EQ_INT(lines(out), 1);
    ASSERT_CONTAINS(out, "] progress: steady-state 0.0s / 20.0s (0%) | rps - | p95 - | errors - | 0 active faults\n");
    ASSERT(out[2] == ':' && out[5] == ':' && out[8] == ' ' && out[9] == '[');   /* "HH:MM:SS [" */
    ASSERT(!strchr(out, '\r') && !strchr(out, '\033'));
    progress_update(p, "method", 1000, 20000, 181.0, 5.39, 0.2, 1);      /* new phase: printed */
    out = drain(fds[0]);
    ASSERT_CONTAINS(out, "progress: method 1.0s / 20.0s (5%) | rps 181.0 | p95 5.39ms | errors 20.0% | 1 active fault\n");
    for (int s = 2; s <= 5; s++) progress_update(p, "method", s * 1000, 20000, 180, 5, 0, 1);
    ASSERT_EQ_INT(lines(drain(fds[0])), 0);                              /* 2 s .. 5 s: quiet */
    progress_update(p, "method", 6000, 20000, 180, 1234, 0, 2);          /* 5 s after the last */
    out = drain(fds[0]);
    ASSERT_EQ_INT(lines(out), 1);
    ASSERT_CONTAINS(out, "[     6.0s] progress: method 6.0s / 20.0s (30%) | rps 180.0 | p95 1.23s | errors 0.0% | 2 active faults\n");
    progress_update(p, "method", 65000, 0, 180, 50, 0, 0);               /* unknown total */
    ASSERT_CONTAINS(drain(fds[0]), "method 1m05s / ? | rps");
    progress_clear(p);
    progress_done(p);
    ASSERT_EQ_INT(lines(drain(fds[0])), 0);

    /* quiet: nothing at all */
    p = progress_new(fds[1], 1);
    progress_update(p, "method", 0, 20000, 1, 1, 0, 0);
    progress_update(p, "after", 9000, 20000, 1, 1, 0, 0);
    progress_done(p);
    ASSERT_EQ_STR(drain(fds[0]), "");
    close(fds[0]);
    close(fds[1]);
}

TEST(progress_redraws_in_place_on_a_terminal)
{
    int master, slave;
    struct winsize ws = { .ws_row = 24, .ws_col = 60 };
    if (openpty(&master, &slave, NULL, NULL, &ws) < 0) SKIP("no pseudo-terminal");
    setenv("TERM", "xterm", 1);
    struct progress *p = progress_new(slave, 0);
    progress_update(p, "method", 1000, 20000, 181.0, 5.39, 0.2, 1);
    progress_update(p, "method", 2000, 20000, 175.0, 6.0, 0.0, 1);
    char *out = drain(master);
    /* each update: carriage return + erase line, never a newline; cut to 59 columns */
    ASSERT_EQ_INT(lines(out), 0);
    char want[512];
    snprintf(want, sizeof want, "\r\033[2K%.59s\r\033[2K%.59s",
             "method 1.0s / 20.0s (5%) | rps 181.0 | p95 5.39ms | errors 20.0% | 1 active fault",
             "method 2.0s / 20.0s (10%) | rps 175.0 | p95 6.00ms | errors 0.0% | 1 active fault");
    ASSERT_EQ_STR(out, want);
    progress_clear(p);
    ASSERT_EQ_STR(drain(master), "\r\033[2K");
    progress_update(p, "after", 20000, 20000, NAN, NAN, NAN, 0);
    progress_done(p);
    out = drain(master);
    ASSERT(out[strlen(out) - 1] == '\n' || strstr(out, "\r\n"));    /* the last state stays on its own line */
    close(master);
    close(slave);

    /* TERM=dumb: plain lines even on a terminal */
    ASSERT_EQ_INT(openpty(&master, &slave, NULL, NULL, &ws), 0);
    setenv("TERM", "dumb", 1);
    p = progress_new(slave, 0);
    progress_update(p, "method", 1000, 20000, 1, 1, 0, 0);
    progress_done(p);
    out = drain(master);
    ASSERT(!strchr(out, '\033'));
    ASSERT_CONTAINS(out, "progress: method");
    close(master);
    close(slave);
}
