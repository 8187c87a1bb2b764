/* harness.c -- runs registered tests, each forked with a timeout; prints the tally. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_MAX 2048
#define TH_SKIP_CODE 77

struct th_case { const char *name, *file; th_fn fn; int timeout; };
static struct th_case cases[TH_MAX];
static int ncases;
static char tmpdir[256];

void th_register(const char *name, const char *file, th_fn fn, int timeout_s)
{
    if (ncases < TH_MAX)
        cases[ncases++] = (struct th_case){ name, file, fn, timeout_s > 0 ? timeout_s : 30 };
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    _exit(1);
}

void th_skip(const char *why)
{
    fprintf(stdout, "    skipped: %s\n", why);
    fflush(stdout);
    _exit(TH_SKIP_CODE);
}

static void need(const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s not available (tests/run.sh starts it)", what);
    const char *req = getenv("FL_REQUIRE_SERVICES");
    if (req && strcmp(req, "1") == 0) {
        fprintf(stdout, "    FL_REQUIRE_SERVICES=1 but %s\n", msg);
        fflush(stdout);
        _exit(1);
    }
    th_skip(msg);
}

const char *th_pg_dsn(void)
{
    const char *s = getenv("FL_TEST_PG_DSN");
    if (!s || !*s) need("PostgreSQL");
    return s;
}

int th_pg_port(void)
{
    const char *s = getenv("FL_TEST_PG_PORT");
    if (!s || !*s) need("PostgreSQL");
    return atoi(s);
}

int th_redis_port(void)
{
    const char *s = getenv("FL_TEST_REDIS_PORT");
    if (!s || !*s) need("Redis");
    return atoi(s);
}

const char *th_docker_host(void)
{
    const char *s = getenv("FL_TEST_DOCKER_HOST");
    if (!s || !*s) need("dockerd");
    return s;
}

const char *th_build_dir(void)
{
    const char *s = getenv("FL_BUILD");
    return s && *s ? s : "build";
}

const char *th_faultline(void)
{
    static char path[512];
    const char *s = getenv("FL_BIN");
    if (s && *s) return s;
    /* absolute: tests often run it from a temporary folder */
    char rel[512];
    snprintf(rel, sizeof rel, "%s/faultline", th_build_dir());
    if (!realpath(rel, path)) snprintf(path, sizeof path, "%s", rel);
    return path;
}

const char *th_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/fl-test-XXXXXX");
        if (!mkdtemp(tmpdir)) th_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
    }
    return tmpdir;
}

int th_sh(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, p)) > 0) {
        if (out && outlen > 1) {
            size_t c = r < outlen - 1 - n ? r : outlen - 1 - n;
            memcpy(out + n, tmp, c);
            n += c;
        }
    }
    if (out && outlen) out[n] = '\0';
    int st = pclose(p);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        th_fail(__FILE__, __LINE__, "free port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int matches(const struct th_case *c, int argc, char **argv)
{
    if (argc <= 1) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(c->name, argv[i]) || strstr(c->file, argv[i])) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    char failures[8192] = "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < ncases; i++) {
        struct th_case *c = &cases[i];
        if (!matches(c, argc, argv)) continue;
        double t0 = now_s();
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            setpgid(0, 0);
            tmpdir[0] = '\0';
            alarm((unsigned)c->timeout);
            signal(SIGALRM, SIG_DFL);
            c->fn();
            if (tmpdir[0]) { char cmd[300]; snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir); if (system(cmd)) {} }
            fflush(stdout);
            _exit(0);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        kill(-pid, SIGKILL); /* whatever the test left running in its group */
        double dt = now_s() - t0;
        const char *base = strrchr(c->file, '/');
        base = base ? base + 1 : c->file;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            passed++;
            printf("ok   %-48s %6.2fs  (%s)\n", c->name, dt, base);
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == TH_SKIP_CODE) {
            skipped++;
            printf("skip %-48s (%s)\n", c->name, base);
        } else {
            failed++;
            if (WIFSIGNALED(st))
                printf("FAIL %-48s killed by signal %d%s (%s)\n", c->name, WTERMSIG(st),
                       WTERMSIG(st) == SIGALRM ? " (timeout)" : "", base);
            else
                printf("FAIL %-48s (%s)\n", c->name, base);
            size_t l = strlen(failures);
            snprintf(failures + l, sizeof failures - l, "  %s (%s)\n", c->name, base);
        }
    }
    if (failed) printf("\nfailed tests:\n%s", failures);
    printf("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
