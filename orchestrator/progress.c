/* progress.c -- the live progress line: redrawn in place on a terminal, plain timestamped
 * lines every 5 s otherwise (see progress.h). */
#include "progress.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "fl.h"

#define PLAIN_EVERY_MS 5000

struct progress {
    int fd;
    int quiet;
    int tty;
    int drawn;                  /* a tty line is on screen (not yet ended by a newline) */
    int printed;                /* a plain line was printed */
    int64_t last_ms;            /* elapsed time of the last plain line */
    char phase[64];
    pthread_mutex_t mu;
};

static void put(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) return;     /* a closed or full stderr must not stop the run */
        s += w;
        n -= (size_t)w;
    }
}

struct progress *progress_new(int fd, int quiet)
{
    struct progress *p = fl_calloc(1, sizeof *p);
    p->fd = fd;
    p->quiet = quiet;
    const char *term = getenv("TERM");
    p->tty = isatty(fd) && !(term && !strcmp(term, "dumb"));
    p->last_ms = -1;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

/* "1m05s" / "12.0s" style clock for the line */
static void clock_text(int64_t ms, char out[24])
{
    if (ms < 0) ms = 0;
    if (ms < 60000) snprintf(out, 24, "%.1fs", (double)ms / 1000.0);
    else if (ms < 3600000) snprintf(out, 24, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
    else snprintf(out, 24, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms % 3600000 / 60000));
}

static void figures(char *out, size_t len, const char *phase, int64_t elapsed_ms, int64_t total_ms, double rps, double p95_ms,
                    double error_rate, int active_faults)
{
    char el[24], tot[24] = "?", r[24] = "-", p95[24] = "-", er[24] = "-";
    clock_text(elapsed_ms, el);
    if (total_ms > 0) clock_text(total_ms, tot);
    if (isfinite(rps)) snprintf(r, sizeof r, "%.1f", rps);
    if (isfinite(p95_ms)) snprintf(p95, sizeof p95, p95_ms < 10 ? "%.2fms" : p95_ms < 1000 ? "%.0fms" : "%.2fs",
                                   p95_ms < 1000 ? p95_ms : p95_ms / 1000.0);
    if (isfinite(error_rate)) snprintf(er, sizeof er, "%.1f%%", error_rate * 100.0);
    int pct = total_ms > 0 ? (int)(elapsed_ms * 100 / total_ms) : -1;
    if (pct > 100) pct = 100;
    char pcts[16] = "";
    if (pct >= 0) snprintf(pcts, sizeof pcts, " (%d%%)", pct);
    snprintf(out, len, "%s %s / %s%s | rps %s | p95 %s | errors %s | %d active fault%s", phase ? phase : "-", el, tot, pcts, r, p95,
             er, active_faults, active_faults == 1 ? "" : "s");
}

void progress_update(struct progress *p, const char *phase, int64_t elapsed_ms, int64_t total_ms, double rps,
                     double p95_ms, double error_rate, int active_faults)
{
    if (!p || p->quiet) return;
    char line[512], out[600];
    figures(line, sizeof line, phase, elapsed_ms, total_ms, rps, p95_ms, error_rate, active_faults);
    pthread_mutex_lock(&p->mu);
    if (p->tty) {
        struct winsize ws;
        size_t cols = ioctl(p->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? (size_t)ws.ws_col - 1 : 0;
        if (cols && strlen(line) > cols) line[cols] = '\0';
        int n = snprintf(out, sizeof out, "\r\033[2K%s", line);
        put(p->fd, out, (size_t)n);
        p->drawn = 1;
    } else {
        int changed = strncmp(p->phase, phase ? phase : "", sizeof p->phase - 1) != 0;
        if (!p->printed || changed || elapsed_ms - p->last_ms >= PLAIN_EVERY_MS) {
            char ts[32];
            fl_iso8601(fl_wall(), ts);
            int n = snprintf(out, sizeof out, "%.8s [%8.1fs] progress: %s\n", ts + 11, (double)elapsed_ms / 1000.0, line);
            put(p->fd, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
            p->printed = 1;
            p->last_ms = elapsed_ms;
        }
    }
    snprintf(p->phase, sizeof p->phase, "%s", phase ? phase : "");
    pthread_mutex_unlock(&p->mu);
}

void progress_clear(struct progress *p)
{
    if (!p || p->quiet) return;
    pthread_mutex_lock(&p->mu);
    if (p->tty && p->drawn) {
        put(p->fd, "\r\033[2K", 5);
        p->drawn = 0;
    }
    pthread_mutex_unlock(&p->mu);
}

void progress_done(struct progress *p)
{
    if (!p) return;
    if (!p->quiet && p->tty && p->drawn) put(p->fd, "\n", 1);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
