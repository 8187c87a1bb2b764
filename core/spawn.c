/* spawn.c -- child processes (see spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fl.h"

/* in the child, before exec: default SIGPIPE, nothing blocked */
static void child_reset(void)
{
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t spawn_logged(char *const *argv, char *const *env, const char *cwd, const char *logpath,
                int (*gate)(pid_t pid, void *arg, char *err), void *gate_arg, char *err)
{
    if (!argv || !argv[0]) { fl_err(err, "empty command"); return -1; }
    int ep[2], gp[2] = { -1, -1 };
    if (pipe2(ep, O_CLOEXEC) < 0) { fl_err(err, "pipe: %s", strerror(errno)); return -1; }
    if (gate && pipe2(gp, O_CLOEXEC) < 0) {
        close(ep[0]); close(ep[1]);
        fl_err(err, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(ep[0]); close(ep[1]);
        if (gate) { close(gp[0]); close(gp[1]); }
        fl_err(err, "cannot start '%s': fork: %s", argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        child_reset();
        if (gate) {
            /* wait for the parent's go (it journals this pid first); end of file -- the parent
             * refused or died -- means never run the command */
            close(gp[1]);
            char go = 0;
            ssize_t g;
            while ((g = read(gp[0], &go, 1)) < 0 && errno == EINTR) {}
            if (g != 1) _exit(127);
        }
        int fd = open(logpath ? logpath : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
        if (cwd && chdir(cwd) < 0) { int e = errno; if (write(ep[1], &e, sizeof e)) {} _exit(127); }
        for (size_t i = 0; env && env[i]; i++) putenv(env[i]);
        execvp(argv[0], argv);
        int e = errno;
        if (write(ep[1], &e, sizeof e)) {}
        _exit(127);
    }
    close(ep[1]);
    setpgid(pid, pid);
    if (gate) {
        close(gp[0]);
        int ok = gate(pid, gate_arg, err) == 0;
        if (ok && write(gp[1], "g", 1) != 1) ok = 0, fl_err(err, "cannot start '%s': %s", argv[0], strerror(errno));
        close(gp[1]);
        if (!ok) {
            close(ep[0]);
            waitpid(pid, NULL, 0);
            return -1;
        }
    }
    int e = 0;
    ssize_t r = read(ep[0], &e, sizeof e);
    close(ep[0]);
    if (r == (ssize_t)sizeof e) {
        waitpid(pid, NULL, 0);
        fl_err(err, "cannot start '%s': %s", argv[0], strerror(e));
        return -1;
    }
    return pid;
}

int spawn_run(char *const *argv, int64_t timeout_ms, char *out, size_t outlen, char *err)
{
    int op[2];
    if (pipe2(op, O_CLOEXEC) < 0) return fl_err(err, "pipe: %s", strerror(errno));
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) { close(op[0]); close(op[1]); return fl_err(err, "pipe: %s", strerror(errno)); }
    pid_t pid = fork();
    if (pid < 0) { close(op[0]); close(op[1]); close(ep[0]); close(ep[1]); return fl_err(err, "fork: %s", strerror(errno)); }
    if (pid == 0) {
        setpgid(0, 0);
        child_reset();
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        dup2(op[1], 1);
        dup2(op[1], 2);
        execvp(argv[0], argv);
        int e = errno;
        if (write(ep[1], &e, sizeof e)) {}
        _exit(127);
    }
    setpgid(pid, pid);
    close(op[1]);
    close(ep[1]);
    int e = 0;
    ssize_t r = read(ep[0], &e, sizeof e);
    close(ep[0]);
    if (r == (ssize_t)sizeof e) {
        close(op[0]);
        waitpid(pid, NULL, 0);
        return fl_err(err, "cannot run '%s': %s", argv[0], strerror(e));
    }
    size_t n = 0;
    int64_t deadline = fl_now_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        int64_t left = deadline - fl_now_ms();
        if (left <= 0) { timed_out = 1; break; }
        struct pollfd pf = { op[0], POLLIN, 0 };
        int pr = poll(&pf, 1, left > 100 ? 100 : (int)left);
        if (pr < 0 && errno != EINTR) break;
        if (pr <= 0) continue;
        char tmp[4096];
        ssize_t k = read(op[0], tmp, sizeof tmp);
        if (k <= 0) break;
        if (out && outlen > 1 && n < outlen - 1) {
            size_t c = (size_t)k < outlen - 1 - n ? (size_t)k : outlen - 1 - n;
            memcpy(out + n, tmp, c);
            n += c;
        }
    }
    if (out && outlen) out[n] = '\0';
    close(op[0]);
    int st = 0;
    if (timed_out) {
        kill(-pid, SIGKILL);
        waitpid(pid, &st, 0);
        return fl_err(err, "'%s' did not finish within %lldms (killed)", argv[0], (long long)timeout_ms);
    }
    /* output closed: wait for the exit, still bounded */
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        if (fl_now_ms() > deadline) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            return fl_err(err, "'%s' did not finish within %lldms (killed)", argv[0], (long long)timeout_ms);
        }
        usleep(2000);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct spawn_msg { char tag; int val; };   /* 'P' grandchild pid, 'E' exec errno */

static void write_msg(int fd, char tag, int val)
{
    struct spawn_msg m = { tag, val };
    ssize_t r = write(fd, &m, sizeof m);
    (void)r;
}

int spawn_detached(char *const *argv, pid_t *pid, char *err)
{
    if (!argv || !argv[0]) return fl_err(err, "cannot start an empty command");
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) return fl_err(err, "cannot start '%s': pipe: %s", argv[0], strerror(errno));
    pid_t mid = fork();
    if (mid < 0) {
        int e = errno;
        close(pfd[0]); close(pfd[1]);
        return fl_err(err, "cannot start '%s': fork: %s", argv[0], strerror(e));
    }
    if (mid == 0) {
        /* intermediate: a new session, then a grandchild that init adopts */
        close(pfd[0]);
        setsid();
        pid_t g = fork();
        if (g < 0) { write_msg(pfd[1], 'E', errno); _exit(1); }
        if (g > 0) { write_msg(pfd[1], 'P', (int)g); _exit(0); }
        child_reset();
        for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
            if (devnull > 2) close(devnull);
        }
        for (int fd = 3; fd < 1024; fd++)
            if (fd != pfd[1]) close(fd);
        execvp(argv[0], argv);
        write_msg(pfd[1], 'E', errno);
        _exit(127);
    }
    close(pfd[1]);
    pid_t child = 0;
    int exec_errno = 0;
    struct spawn_msg m;
    for (;;) {
        ssize_t r = read(pfd[0], &m, sizeof m);
        if (r < 0 && errno == EINTR) continue;
        if (r != (ssize_t)sizeof m) break;
        if (m.tag == 'P') child = m.val;
        else if (m.tag == 'E') exec_errno = m.val;
    }
    close(pfd[0]);
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR) {}
    if (exec_errno) return fl_err(err, "cannot start '%s': %s", argv[0], strerror(exec_errno));
    if (child <= 0) return fl_err(err, "cannot start '%s': the launcher died", argv[0]);
    if (pid) *pid = child;
    return 0;
}
