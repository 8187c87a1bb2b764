/* fl.c -- errors, clocks, the abort flag with interruptible sleeps, logging with redaction. */
#include "fl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fl_err(char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, FL_ERR_LEN, fmt, ap);
        va_end(ap);
        fl_redact(err);
    }
    return -1;
}

int64_t fl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double fl_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void fl_iso8601(double wall, char out[32])
{
    time_t s = (time_t)wall;
    struct tm tm;
    gmtime_r(&s, &tm);
    int ms = (int)((wall - (double)s) * 1000.0);
    if (ms < 0) ms = 0;
    if (ms > 999) ms = 999;
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, ms);
    memcpy(out, tmp, 31);
    out[31] = '\0';
}

/* ---- abort flag ------------------------------------------------------------------- */
static volatile sig_atomic_t abort_level;
static volatile sig_atomic_t abort_why;
static pthread_mutex_t abort_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t abort_cv;
static pthread_once_t abort_once = PTHREAD_ONCE_INIT;

static void abort_cv_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&abort_cv, &a);
    pthread_condattr_destroy(&a);
}

/* async-signal-safe part: raise the flag. Sleepers poll it at least every 50 ms, and are
 * woken at once when fl_abort() is called from a thread (not a handler). */
void fl_abort(int why)
{
    abort_why = why;
    abort_level++;
}

static void wake_sleepers(void)
{
    pthread_once(&abort_once, abort_cv_init);
    pthread_mutex_lock(&abort_mu);
    pthread_cond_broadcast(&abort_cv);
    pthread_mutex_unlock(&abort_mu);
}

int fl_aborted(void) { return abort_level > 0; }
int fl_abort_level(void) { return abort_level; }
void fl_abort_reset(void) { abort_level = 0; abort_why = 0; }

int fl_sleep_until(int64_t deadline_ns)
{
    pthread_once(&abort_once, abort_cv_init);
    for (;;) {
        if (abort_level > 0) { wake_sleepers(); return -1; }
        int64_t now = fl_now_ns();
        if (now >= deadline_ns) return 0;
        int64_t step = deadline_ns - now;
        if (step > 50000000LL) step = 50000000LL; /* re-check the flag every 50 ms */
        int64_t until = now + step;
        struct timespec ts = { .tv_sec = until / 1000000000LL, .tv_nsec = until % 1000000000LL };
        pthread_mutex_lock(&abort_mu);
        pthread_cond_timedwait(&abort_cv, &abort_mu, &ts);
        pthread_mutex_unlock(&abort_mu);
    }
}

int fl_sleep_ms(int64_t ms) { return fl_sleep_until(fl_now_ns() + ms * 1000000LL); }

/* ---- logging and secrets ------------------------------------------------------------ */
int fl_log_level = FL_LOG_INFO;
void (*fl_log_before)(void);
static pthread_mutex_t secret_mu = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t nsecrets;

void fl_secret_add(const char *value)
{
    if (!value || strlen(value) < 3) return; /* too short to redact without mangling text */
    pthread_mutex_lock(&secret_mu);
    for (size_t i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], value) == 0) { pthread_mutex_unlock(&secret_mu); return; }
    secrets = fl_realloc(secrets, (nsecrets + 1) * sizeof *secrets);
    secrets[nsecrets++] = fl_strdup(value);
    pthread_mutex_unlock(&secret_mu);
}

void fl_secret_clear(void)
{
    pthread_mutex_lock(&secret_mu);
    for (size_t i = 0; i < nsecrets; i++) free(secrets[i]);
    free(secrets);
    secrets = NULL;
    nsecrets = 0;
    pthread_mutex_unlock(&secret_mu);
}

void fl_redact(char *s)
{
    if (!s) return;
    pthread_mutex_lock(&secret_mu);
    for (size_t i = 0; i < nsecrets; i++) {
        size_t sl = strlen(secrets[i]);
        char *p;
        while ((p = strstr(s, secrets[i])) != NULL) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + sl, strlen(p + sl) + 1);
        }
    }
    pthread_mutex_unlock(&secret_mu);
}

int fl_has_secret(const char *s)
{
    int found = 0;
    if (!s) return 0;
    pthread_mutex_lock(&secret_mu);
    for (size_t i = 0; i < nsecrets && !found; i++)
        if (strstr(s, secrets[i])) found = 1;
    pthread_mutex_unlock(&secret_mu);
    return found;
}

void fl_log(int level, const char *fmt, ...)
{
    if (level > fl_log_level) return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fl_redact(line);
    if (fl_log_before) fl_log_before();
    if (level == FL_LOG_ERROR)
        fprintf(stderr, "faultline: error: %s\n", line);
    else if (level == FL_LOG_WARN)
        fprintf(stderr, "faultline: warning: %s\n", line);
    else {
        char ts[32];
        fl_iso8601(fl_wall(), ts);
        fprintf(stderr, "%.8s %s\n", ts + 11, line);
    }
}

const char *fl_exit_verdict(int code)
{
    switch (code) {
    case FL_EXIT_OK: return "passed";
    case FL_EXIT_FAILED: return "failed";
    case FL_EXIT_INVALID: return "invalid";
    case FL_EXIT_ABORTED: return "aborted";
    case FL_EXIT_INCONCLUSIVE: return "inconclusive";
    default: return "revert_failed";
    }
}

static int exit_rank(int code)
{
    switch (code) {
    case FL_EXIT_OK: return 0;
    case FL_EXIT_INCONCLUSIVE: return 1;
    case FL_EXIT_FAILED: return 2;
    case FL_EXIT_INVALID: return 3;
    case FL_EXIT_ABORTED: return 4;
    default: return 5;
    }
}

int fl_exit_worse(int a, int b) { return exit_rank(b) > exit_rank(a) ? b : a; }

uint64_t fl_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double fl_rand01(uint64_t *state) { return (double)(fl_splitmix64(state) >> 11) * (1.0 / 9007199254740992.0); }

/* ---- memory ------------------------------------------------------------------------- */
static void oom(void)
{
    fputs("faultline: out of memory\n", stderr);
    abort();
}
void *fl_malloc(size_t n) { void *p = malloc(n ? n : 1); if (!p) oom(); return p; }
void *fl_calloc(size_t n, size_t size) { void *p = calloc(n ? n : 1, size ? size : 1); if (!p) oom(); return p; }
void *fl_realloc(void *p, size_t n) { p = realloc(p, n ? n : 1); if (!p) oom(); return p; }
char *fl_strdup(const char *s) { if (!s) return NULL; char *p = strdup(s); if (!p) oom(); return p; }
char *fl_strndup(const char *s, size_t n) { char *p = strndup(s, n); if (!p) oom(); return p; }
char *fl_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) oom();
    va_end(ap);
    return s;
}
