/* multinode.c -- see multinode.h: engines in namespaces of their own (tests/multinode.sh), the
 * keeper that undoes them whatever way a test ends, and the check that nothing is left. */
#include "multinode.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define MN_KEEPER_LOG "/tmp/fl-multinode-keeper.log"

/* the write ends of the live keepers' pipes: a keeper forked later must not hold an earlier
 * one's (it would keep that keeper waiting until it ended itself) */
static int keeper_fds[16];
static int nkeeper_fds;

static const char *script(void)
{
    static char path[4096];
    if (!path[0] && !realpath("tests/multinode.sh", path))
        th_fail(__FILE__, __LINE__, "tests/multinode.sh: %s (run the tests from the top of the tree)", strerror(errno));
    return path;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* fork the keeper of dir; returns its pid, *wfd the pipe it watches */
static pid_t keeper_start(const char *dir, int *wfd)
{
    int p[2];
    ASSERT_MSG(pipe2(p, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    const char *sh = script();
    fflush(stdout);
    fflush(stderr);
    pid_t k = fork();
    ASSERT_MSG(k >= 0, "fork: %s", strerror(errno));
    if (k == 0) {
        setsid();
        close(p[1]);
        for (int i = 0; i < nkeeper_fds; i++) close(keeper_fds[i]);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        int nul = open("/dev/null", O_RDWR);
        int log = open(MN_KEEPER_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (nul >= 0) dup2(nul, 0);
        if (log >= 0) { dup2(log, 1); dup2(log, 2); }
        int done = 0;
        char c;
        for (;;) {
            ssize_t r = read(p[0], &c, 1);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            if (c == 'd') done = 1;
        }
        if (!done) {
            time_t t = time(NULL);
            char when[64];
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
            printf("%s keeper %d: the test ended without mn_down(): undoing %s\n", when, (int)getpid(), dir);
            fflush(stdout);
            char cmd[4400];
            snprintf(cmd, sizeof cmd, "sh '%s' down '%s' 2>&1", sh, dir);
            if (system(cmd) != 0) printf("keeper %d: multinode.sh down failed\n", (int)getpid());
            fflush(stdout);
        }
        _exit(0);
    }
    close(p[0]);
    if (nkeeper_fds < (int)(sizeof keeper_fds / sizeof *keeper_fds)) keeper_fds[nkeeper_fds++] = p[1];
    *wfd = p[1];
    return k;
}

static void keeper_done(struct mn_engine *e)
{
    if (e->keeper_fd < 0) return;
    if (write(e->keeper_fd, "d", 1) != 1) { /* it then undoes again: harmless, down is idempotent */ }
    close(e->keeper_fd);
    for (int i = 0; i < nkeeper_fds; i++)
        if (keeper_fds[i] == e->keeper_fd) keeper_fds[i--] = keeper_fds[--nkeeper_fds];
    e->keeper_fd = -1;
    if (e->keeper > 0) {
        for (int i = 0; i < 500; i++) {   /* it ends at once; reap it, 5 s at most */
            if (waitpid(e->keeper, NULL, WNOHANG) != 0) break;
            usleep(10 * 1000);
        }
        e->keeper = 0;
    }
}

/* value of KEY=... in out ("" when absent) */
static void field(const char *out, const char *key, char *dst, size_t n)
{
    size_t kl = strlen(key);
    dst[0] = '\0';
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t l = strcspn(v, "\n");
            if (l >= n) l = n - 1;
            memcpy(dst, v, l);
            dst[l] = '\0';
            return;
        }
    }
}

void mn_up(struct mn_engine *e, int index, int flags, const char *node_label)
{
    char out[8192], v[64], err[FL_ERR_LEN];
    memset(e, 0, sizeof *e);
    e->keeper_fd = -1;
    const char *sh = script();
    th_need_program("ip", "iproute2");
    th_need_program("socat", "socat");
    th_need_program("dockerd", "docker.io");
    th_docker_host();
    if (getuid() != 0) SKIP("a second Docker engine in a network namespace needs root (run make test as root)");
    if (th_sh(out, sizeof out, "sh '%s' sweep 2>&1", sh) != 0) th_fail(__FILE__, __LINE__, "multinode.sh sweep: %s", out);
    if (out[0]) printf("    %s", out);
    snprintf(e->dir, sizeof e->dir, "/tmp/fl-mn-%d-%d", (int)getpid(), index);
    snprintf(e->name, sizeof e->name, "fl-mn-%d-%d", (int)getpid(), index);
    e->keeper = keeper_start(e->dir, &e->keeper_fd);
    char label[256] = "";
    if (node_label) snprintf(label, sizeof label, " --label '%s'", node_label);
    int rc = th_sh(out, sizeof out, "MN_OWNER=%d MN_KEEPER=%d sh '%s' up '%s'%s%s 2>&1", (int)getpid(), (int)e->keeper,
                   sh, e->dir, flags & MN_JOIN ? " --join" : "", label);
    ASSERT_MSG(rc == 0, "multinode.sh up %s exited %d:\n%s", e->dir, rc, out);
    char name[64];
    field(out, "name", name, sizeof name);
    ASSERT_EQ_STR(name, e->name);
    field(out, "host", e->host, sizeof e->host);
    field(out, "addr", e->addr, sizeof e->addr);
    field(out, "node_id", e->node_id, sizeof e->node_id);
    field(out, "dockerd_pid", v, sizeof v);
    e->dockerd_pid = atoi(v);
    field(out, "answered_s", v, sizeof v);
    e->answered_s = atof(v);
    field(out, "ready_s", v, sizeof v);
    e->ready_s = atof(v);
    ASSERT_MSG(e->host[0] && e->dockerd_pid > 0, "multinode.sh up said: %s", out);
    ASSERT_MSG(!(flags & MN_JOIN) || e->node_id[0], "joined without a node id: %s", out);
    ASSERT_MSG(docker_client_init(&e->dc, e->host, err) == 0, "client of %s: %s", e->host, err);
    ASSERT_MSG(docker_negotiate(&e->dc, err) == 0, "engine %s: %s", e->host, err);
    printf("    engine %s (dockerd pid %d, %s): answered in %.2fs, %s in %.2fs\n", e->name, e->dockerd_pid, e->addr,
           e->answered_s, flags & MN_JOIN ? "joined and ready" : "had hostbin", e->ready_s);
}

void mn_down(struct mn_engine *e)
{
    char out[8192];
    docker_client_release(&e->dc);
    double t0 = now_s();
    int rc = th_sh(out, sizeof out, "sh '%s' down '%s' 2>&1", script(), e->dir);
    e->down_s = now_s() - t0;
    ASSERT_MSG(rc == 0, "multinode.sh down %s exited %d:\n%s", e->dir, rc, out); /* the keeper tries again */
    keeper_done(e);
    printf("    %s", out);
    mn_assert_gone(e->dir);
}

void mn_assert_gone(const char *dir)
{
    char out[8192];
    int rc = th_sh(out, sizeof out, "sh '%s' check '%s' 2>&1", script(), dir);
    ASSERT_MSG(rc == 0, "%s", out);
}

void mn_label_service(json_t *spec, const struct mn_engine *e)
{
    json_t *labels = json_object_get(spec, "Labels");
    ASSERT(json_is_object(labels));
    json_object_set_new(labels, "faultline.test.multinode", json_string(e->name));
}
