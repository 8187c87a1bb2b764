/* load_tool.c -- an outside load tool's run (command: + jsonl, locust:, k6:): its process
 * group, started before the run's clock, and the thread that reads its requests into the
 * block's windows; stopped with nothing of it left running (see load_ext.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fl.h"
#include "load_int.h"
#include "params.h"
#include "spawn.h"

/* ---- the tool's process and its reader ----------------------------------------------- */

#define TAIL_CAP 2048
#define STOP_GRACE_NS 3000000000LL

/* faultline's Locust hook: runs Locust's own main() after adding one request listener that
 * writes every request, as it completes, as one faultline JSON line to the pipe whose fd is in
 * FAULTLINE_LOAD_FD (docs/load-tools.md). Written next to nothing of the user's: a temp dir. */
static const char locust_hook[] =
    "# faultline's Locust hook: every request as one JSON line (docs/load-tools.md)\n"
    "import json, os, sys, time\n"
    "from locust import events\n"
    "from locust.main import main\n"
    "_out = os.fdopen(int(os.environ['FAULTLINE_LOAD_FD']), 'w', buffering=1)\n"
    "def _cls(e):\n"
    "    n = type(e).__name__.lower()\n"
    "    if 'timeout' in n: return 'timeout'\n"
    "    if 'connect' in n or 'refused' in n: return 'connect'\n"
    "    return 'other'\n"
    "@events.request.add_listener\n"
    "def _fl_request(request_type=None, name=None, response_time=None, response=None, exception=None,\n"
    "                start_time=None, **kw):\n"
    "    lat = float(response_time or 0)\n"
    "    t = start_time if start_time else time.time() - lat / 1000.0\n"
    "    status = getattr(response, 'status_code', 0) or 0\n"
    "    rec = {'t': t, 'name': str(name), 'method': str(request_type), 'latency_ms': lat, 'status': int(status)}\n"
    "    if exception is not None:\n"
    "        rec['error'] = (type(exception).__name__ + ': ' + str(exception))[:300]\n"
    "        if not status: rec['class'] = _cls(exception)\n"
    "    try:\n"
    "        _out.write(json.dumps(rec) + '\\n')\n"
    "    except (BrokenPipeError, OSError):\n"
    "        pass\n"
    "@events.test_start.add_listener\n"
    "def _fl_start(**kw):\n"
    "    _out.write('{\"event\": \"ready\"}\\n')\n"
    "if __name__ == '__main__':\n"
    "    sys.argv[0] = 'locust'\n"
    "    sys.exit(main())\n";

struct lgx_run {
    struct lg_blk *b;
    pid_t pid;
    int data_fd, err_fd;
    char *tmpdir, *hook, *fifo;
    pthread_t th;
    int has_th;
    atomic_int stop;
    /* under lg->mu */
    char tail[TAIL_CAP + 1];
    size_t tail_len;
    int exited, status, failed;
    atomic_int termed;     /* lgx_stop signals the group: the reader no longer does */
    char *line;            /* the line being read (reader thread) */
    size_t llen;
    int skipping;
    uint64_t lines, requests, malformed, notices, outside;
    char first_error[FL_ERR_LEN + 32];
    double t0_unix;
    int t0_set;            /* lg_start has fixed the run clock (under lg->mu) */
    int ready;             /* a first line came (under lg->mu) */
};

static void tail_add(struct lgx_run *xr, const char *s, size_t n)
{
    if (n >= TAIL_CAP) { s += n - TAIL_CAP; n = TAIL_CAP; }
    if (xr->tail_len + n > TAIL_CAP) {
        size_t drop = xr->tail_len + n - TAIL_CAP;
        memmove(xr->tail, xr->tail + drop, xr->tail_len - drop);
        xr->tail_len -= drop;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        /* text only, so run.json stays valid UTF-8 whatever the tool wrote */
        xr->tail[xr->tail_len + i] = ch == '\n' ? '\n' : (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
    }
    xr->tail_len += n;
    xr->tail[xr->tail_len] = '\0';
}

/* the endpoint index of a tool's request name (added when new); under lg->mu */
static int endpoint_of(struct lg_blk *b, const char *name, const char *method)
{
    for (size_t i = 0; i < b->neps; i++)
        if (!strcmp(b->xnames[i], name) && !strcmp(b->xmethods[i], method)) return (int)i;
    if (b->neps >= LGX_MAX_ENDPOINTS) {
        for (size_t i = 0; i < b->neps; i++)
            if (!strcmp(b->xnames[i], "(other)")) return (int)i;
        name = "(other)";
        method = "";
        /* the last slot becomes "(other)" only when it is free: grow by one */
    }
    b->eps = fl_realloc(b->eps, (b->neps + 1) * sizeof *b->eps);
    b->xnames = fl_realloc(b->xnames, (b->neps + 1) * sizeof *b->xnames);
    b->xmethods = fl_realloc(b->xmethods, (b->neps + 1) * sizeof *b->xmethods);
    memset(&b->eps[b->neps], 0, sizeof b->eps[b->neps]);
    hist_init(&b->eps[b->neps].h);
    b->xnames[b->neps] = fl_strdup(name);
    b->xmethods[b->neps] = fl_strdup(method);
    return (int)b->neps++;
}

/* a line that is not valid: counted, the first reason kept */
static void malformed(struct lgx_run *xr, const char *why)
{
    struct lg *lg = xr->b->lg;
    pthread_mutex_lock(&lg->mu);
    xr->lines++;
    xr->malformed++;
    if (!xr->first_error[0])
        snprintf(xr->first_error, sizeof xr->first_error, "line %llu: %s", (unsigned long long)xr->lines, why);
    pthread_mutex_unlock(&lg->mu);
}

static void ingest(struct lgx_run *xr, const char *line, size_t len)
{
    struct lg_blk *b = xr->b;
    struct lg *lg = b->lg;
    struct lgx_rec rec;
    char err[FL_ERR_LEN];
    int rc = lgx_parse_line(b->cfg->ext->format, line, len, &rec, err);
    pthread_mutex_lock(&lg->mu);
    xr->lines++;
    xr->ready = 1;
    if (rc < 0) {
        xr->malformed++;
        if (!xr->first_error[0]) snprintf(xr->first_error, sizeof xr->first_error, "line %llu: %s",
                                          (unsigned long long)xr->lines, err);
    } else if (rc == 0) {
        xr->notices++;
    }
    if (rc <= 0) {
        pthread_mutex_unlock(&lg->mu);
        return;
    }
    int64_t start_ns = lg->t0_ns + (int64_t)((rec.t_sent - xr->t0_unix) * 1e9);
    if (!xr->t0_set || start_ns < lg->t0_ns - 500000000LL || start_ns >= b->end_ns) {
        xr->outside++;   /* sent before the run began or after the block ended */
        pthread_mutex_unlock(&lg->mu);
        return;
    }
    xr->requests++;
    int ep = endpoint_of(b, rec.name, rec.method);
    pthread_mutex_unlock(&lg->mu);
    lg_record(b, ep, start_ns, (int64_t)(rec.lat_ms * 1e6), rec.cls, 1);
}

/* the tool ended (seen, not reaped: the zombie keeps the group's id from being reused until
 * lgx_stop has signalled the group); a wait(2)-style status */
static void note_exit(struct lgx_run *xr, const siginfo_t *si)
{
    struct lg *lg = xr->b->lg;
    int status = si->si_code == CLD_EXITED ? (si->si_status & 0xff) << 8 : (si->si_status & 0x7f);
    pthread_mutex_lock(&lg->mu);
    xr->exited = 1;
    xr->status = status;
    /* before the block's end and not asked to stop: it died under us */
    if (!atomic_load(&xr->stop) && !atomic_load(&xr->termed) && !fl_aborted() &&
        (!xr->t0_set || fl_now_ns() < xr->b->end_ns - 200000000LL))
        xr->failed = 1;
    pthread_mutex_unlock(&lg->mu);
}

/* split what was read into lines and ingest them */
static void feed(struct lgx_run *xr, const char *buf, size_t r)
{
    for (size_t i = 0; i < r; i++) {
        if (buf[i] == '\n') {
            if (!xr->skipping) ingest(xr, xr->line, xr->llen);
            xr->llen = 0;
            xr->skipping = 0;
        } else if (!xr->skipping) {
            if (xr->llen == LGX_LINE_MAX) {
                malformed(xr, "longer than 64 KiB (skipped to its end)");
                xr->skipping = 1;
                xr->llen = 0;
            } else {
                xr->line[xr->llen++] = buf[i];
            }
        }
    }
}

static void *reader_main(void *arg)
{
    struct lgx_run *xr = arg;
    struct lg_blk *b = xr->b;
    xr->line = fl_malloc(LGX_LINE_MAX + 1);
    char buf[65536];
    int64_t term_at = 0;
    for (;;) {
        int stopping = atomic_load(&xr->stop);
        struct pollfd pf[2] = { { .fd = xr->data_fd, .events = POLLIN }, { .fd = xr->err_fd, .events = POLLIN } };
        int n = poll(pf, 2, stopping ? 0 : 50);
        if (n < 0 && errno != EINTR) break;
        int got = 0;
        if (xr->err_fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(xr->err_fd, buf, sizeof buf);
            if (r > 0) {
                got = 1;
                pthread_mutex_lock(&b->lg->mu);
                tail_add(xr, buf, (size_t)r);
                pthread_mutex_unlock(&b->lg->mu);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(xr->err_fd);
                xr->err_fd = -1;
            }
        }
        if (xr->data_fd >= 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(xr->data_fd, buf, sizeof buf);
            if (r > 0) {
                got = 1;
                feed(xr, buf, (size_t)r);
            } else if (r == 0 && b->cfg->ext->kind == LGX_K6 && !xr->exited && !stopping) {
                /* the FIFO reads EOF until k6 opens it: keep it, don't spin */
                struct timespec ts = { 0, 20000000L };
                nanosleep(&ts, NULL);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (xr->llen && !xr->skipping) ingest(xr, xr->line, xr->llen);   /* a last line without '\n' */
                xr->llen = 0;
                close(xr->data_fd);
                xr->data_fd = -1;
            }
        }
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (!xr->exited && waitid(P_PID, (id_t)xr->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == xr->pid)
            note_exit(xr, &si);
        /* the block's end or an abort: the tool is asked to stop (SIGKILL after the grace) */
        int64_t now = fl_now_ns();
        pthread_mutex_lock(&b->lg->mu);   /* lgx_stop takes over the group under it */
        if (!xr->exited && !atomic_load(&xr->termed)) {
            if (!term_at && ((xr->t0_set && now >= b->end_ns) || fl_aborted())) {
                kill(-xr->pid, SIGTERM);
                term_at = now;
            } else if (term_at && now - term_at > STOP_GRACE_NS) {
                kill(-xr->pid, SIGKILL);
            }
        }
        pthread_mutex_unlock(&b->lg->mu);
        if (stopping && !got) break;                          /* drained what was there */
        if (xr->exited && xr->data_fd < 0 && xr->err_fd < 0) break;
        if (xr->exited && !got && b->cfg->ext->kind == LGX_K6) break;
    }
    free(xr->line);
    xr->line = NULL;
    return NULL;
}

static void push(char ***v, size_t *n, const char *s)
{
    *v = fl_realloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = fl_strdup(s);
    (*v)[*n] = NULL;
}

/* the argv of the tool; NULL with err */
static char **build_argv(struct lgx_run *xr, const struct lg_ext_cfg *x, int64_t dur_ms, char *err)
{
    char **v = NULL;
    size_t n = 0;
    char tmp[64];
    if (x->kind == LGX_COMMAND) {
        for (size_t i = 0; x->argv[i]; i++) push(&v, &n, x->argv[i]);
        return v;
    }
    if (x->kind == LGX_LOCUST) {
        push(&v, &n, LGX_LOCUST_PY);
        push(&v, &n, xr->hook);
        push(&v, &n, "-f");
        push(&v, &n, x->file);
        push(&v, &n, "--headless");
        snprintf(tmp, sizeof tmp, "%lld", (long long)x->users);
        push(&v, &n, "-u");
        push(&v, &n, tmp);
        snprintf(tmp, sizeof tmp, "%g", x->spawn_rate);
        push(&v, &n, "-r");
        push(&v, &n, tmp);
        /* a bound of its own in case faultline cannot stop it: the block's time and a margin */
        snprintf(tmp, sizeof tmp, "%llds", (long long)(dur_ms / 1000 + 30));
        push(&v, &n, "--run-time");
        push(&v, &n, tmp);
        push(&v, &n, "--stop-timeout");
        push(&v, &n, "1");
        push(&v, &n, "--only-summary");
        if (x->host) { push(&v, &n, "-H"); push(&v, &n, x->host); }
        if (x->tags && x->tags[0]) {
            push(&v, &n, "-T");
            for (size_t i = 0; x->tags[i]; i++) push(&v, &n, x->tags[i]);
        }
        for (size_t i = 0; x->args && x->args[i]; i++) push(&v, &n, x->args[i]);
        return v;
    }
    char *k6 = lgx_which("k6");
    if (!k6) { fl_err(err, "k6 not found on PATH"); return NULL; }
    push(&v, &n, k6);
    free(k6);
    push(&v, &n, "run");
    char *out = fl_asprintf("json=%s", xr->fifo);
    push(&v, &n, "--out");
    push(&v, &n, out);
    free(out);
    push(&v, &n, "--quiet");
    for (size_t i = 0; x->args && x->args[i]; i++) push(&v, &n, x->args[i]);
    push(&v, &n, x->file);
    return v;
}

static void run_free(struct lgx_run *xr)
{
    if (!xr) return;
    if (xr->data_fd >= 0) close(xr->data_fd);
    if (xr->err_fd >= 0) close(xr->err_fd);
    if (xr->hook) unlink(xr->hook);
    if (xr->fifo) unlink(xr->fifo);
    if (xr->tmpdir) rmdir(xr->tmpdir);
    free(xr->hook);
    free(xr->fifo);
    free(xr->tmpdir);
    free(xr);
}

int lgx_start(struct lg_blk *b, int64_t dur_hint_ms, char *err)
{
    const struct lg_ext_cfg *x = b->cfg->ext;
    if (lgx_check_installed(x, err) < 0) return -1;
    struct lgx_run *xr = fl_calloc(1, sizeof *xr);
    xr->b = b;
    xr->data_fd = xr->err_fd = -1;
    xr->pid = -1;
    b->xr = xr;
    if (x->kind != LGX_COMMAND) {
        char tpl[] = "/tmp/faultline-load-XXXXXX";
        if (!mkdtemp(tpl)) return fl_err(err, "cannot make a temp dir for %s: %s", x->program, strerror(errno));
        xr->tmpdir = fl_strdup(tpl);
    }
    int dp[2] = { -1, -1 }, ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) return fl_err(err, "cannot start %s: pipe: %s", x->program, strerror(errno));
    xr->err_fd = ep[0];
    if (x->kind == LGX_LOCUST) {
        xr->hook = fl_asprintf("%s/faultline_locust.py", xr->tmpdir);
        FILE *f = fopen(xr->hook, "w");
        if (!f || fputs(locust_hook, f) < 0 || fclose(f) != 0) {
            close(ep[1]);
            return fl_err(err, "cannot write the Locust hook '%s': %s", xr->hook, strerror(errno));
        }
    }
    if (x->kind == LGX_K6) {
        xr->fifo = fl_asprintf("%s/k6.json", xr->tmpdir);
        if (mkfifo(xr->fifo, 0600) < 0) {
            close(ep[1]);
            return fl_err(err, "cannot make the FIFO '%s': %s", xr->fifo, strerror(errno));
        }
        /* a reader first, so k6's open for writing does not block */
        xr->data_fd = open(xr->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (xr->data_fd < 0) {
            close(ep[1]);
            return fl_err(err, "cannot open the FIFO '%s': %s", xr->fifo, strerror(errno));
        }
    } else {
        if (pipe2(dp, O_CLOEXEC) < 0) {
            close(ep[1]);
            return fl_err(err, "cannot start %s: pipe: %s", x->program, strerror(errno));
        }
        xr->data_fd = dp[0];
    }
    int64_t dur_ms = b->cfg->duration_ms ? b->cfg->duration_ms : dur_hint_ms;
    char **argv = build_argv(xr, x, dur_ms, err);
    char *path = argv ? lgx_which(argv[0]) : NULL;
    if (!path) {
        if (argv) fl_err(err, "command '%s' not found on PATH", argv[0]);
        param_strv_free(argv);
        close(ep[1]);
        if (dp[1] >= 0) close(dp[1]);
        return -1;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* the child: its own process group (stopped as one), gone when faultline dies */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        if (devnull >= 0) dup2(devnull, 0);
        if (x->kind == LGX_COMMAND) dup2(dp[1], 1);
        else dup2(ep[1], 1);
        dup2(ep[1], 2);
        if (x->kind == LGX_LOCUST) {
            dup2(dp[1], 3);
            setenv("FAULTLINE_LOAD_FD", "3", 1);
        }
        spawn_child_reset();
        execv(path, argv);
        dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int fe = errno;
    if (pid > 0) setpgid(pid, pid);   /* also here: no race with a stop right after */
    if (devnull >= 0) close(devnull);
    close(ep[1]);
    if (dp[1] >= 0) close(dp[1]);
    free(path);
    param_strv_free(argv);
    if (pid < 0) return fl_err(err, "cannot start %s: fork: %s", x->program, strerror(fe));
    xr->pid = pid;
    fcntl(xr->data_fd, F_SETFL, O_NONBLOCK);
    fcntl(xr->err_fd, F_SETFL, O_NONBLOCK);
    int rc = pthread_create(&xr->th, NULL, reader_main, xr);
    if (rc) {
        lgx_stop(b);
        return fl_err(err, "cannot start the reader of %s: %s", x->program, strerror(rc));
    }
    xr->has_th = 1;
    return 0;
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFEXITED(status)) snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
                                           strsignal(WTERMSIG(status)));
    else snprintf(buf, len, "ended");
}

/* the last lines of the tail, at most n bytes, trimmed */
static const char *tail_of(const struct lgx_run *xr, size_t n)
{
    const char *t = xr->tail;
    size_t len = xr->tail_len;
    while (len && isspace((unsigned char)t[len - 1])) len--;
    if (len > n) {
        t += len - n;
        const char *nl = memchr(t, '\n', n);
        if (nl) t = nl + 1;
    }
    return t;
}

/* the same on one line (for an event or an abort reason): line breaks as " | " */
static void tail_flat(const struct lgx_run *xr, size_t n, char *out, size_t outlen)
{
    const char *t = tail_of(xr, n);
    size_t o = 0, len = strlen(t);
    while (len && isspace((unsigned char)t[len - 1])) len--;
    for (size_t i = 0; i < len && o + 4 < outlen; i++) {
        if (t[i] == '\n') { memcpy(out + o, " | ", 3); o += 3; }
        else out[o++] = t[i];
    }
    out[o] = '\0';
}

int lgx_wait_ready(struct lg_blk *b, int64_t timeout_ms, char *err)
{
    struct lgx_run *xr = b->xr;
    const struct lg_ext_cfg *x = b->cfg->ext;
    int64_t start = fl_now_ns(), until = start + timeout_ms * 1000000LL;
    for (;;) {
        pthread_mutex_lock(&b->lg->mu);
        int ready = xr->ready, exited = xr->exited;
        pthread_mutex_unlock(&b->lg->mu);
        /* k6 writes its JSON in batches: alive for 2 s counts as started */
        if (ready || (x->kind == LGX_K6 && !exited && fl_now_ns() - start > 2000000000LL)) return 0;
        if (exited) {
            struct timespec ts = { 0, 100000000L };   /* its last words */
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&b->lg->mu);
            char how[96];
            describe_exit(xr->status, how, sizeof how);
            char t[400];
            tail_flat(xr, 280, t, sizeof t);
            fl_err(err, "%s %s before it started%s%s", x->program, how, *t ? "; its output ends: " : " (no output)", t);
            fl_redact(err);
            pthread_mutex_unlock(&b->lg->mu);
            return -1;
        }
        if (fl_aborted()) return fl_err(err, "interrupted while %s was starting", x->program);
        if (fl_now_ns() >= until) {
            pthread_mutex_lock(&b->lg->mu);
            char t[400];
            tail_flat(xr, 280, t, sizeof t);
            fl_err(err, "%s wrote no line within %llds of its start%s%s", x->program, (long long)(timeout_ms / 1000),
                   *t ? "; its output ends: " : "", t);
            fl_redact(err);
            pthread_mutex_unlock(&b->lg->mu);
            return -1;
        }
        struct timespec ts = { 0, 20000000L };
        nanosleep(&ts, NULL);
    }
}

void lgx_clock(struct lg_blk *b)
{
    struct lgx_run *xr = b->xr;
    if (!xr) return;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    pthread_mutex_lock(&b->lg->mu);
    xr->t0_unix = (double)rt.tv_sec + rt.tv_nsec / 1e9 - (double)(fl_now_ns() - b->lg->t0_ns) / 1e9;
    xr->t0_set = 1;
    pthread_mutex_unlock(&b->lg->mu);
}

void lgx_stop(struct lg_blk *b)
{
    struct lgx_run *xr = b->xr;
    if (!xr || xr->pid <= 0) {
        if (xr && xr->has_th) { atomic_store(&xr->stop, 1); pthread_join(xr->th, NULL); xr->has_th = 0; }
        return;
    }
    /* the whole group: SIGTERM (Locust stops its users and writes its summary), then SIGKILL.
     * The leader is reaped only after that, so the group's id cannot have been reused. */
    pthread_mutex_lock(&b->lg->mu);
    atomic_store(&xr->termed, 1);
    pthread_mutex_unlock(&b->lg->mu);
    kill(-xr->pid, SIGTERM);
    int64_t until = fl_now_ns() + STOP_GRACE_NS;
    siginfo_t si;
    for (;;) {
        memset(&si, 0, sizeof si);
        if (waitid(P_PID, (id_t)xr->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) break;
        if (si.si_pid == xr->pid || fl_now_ns() >= until) break;
        struct timespec ts = { 0, 10000000L };
        nanosleep(&ts, NULL);
    }
    kill(-xr->pid, SIGKILL);
    int st;
    pid_t w;
    while ((w = waitpid(xr->pid, &st, 0)) < 0 && errno == EINTR) {}
    /* the reader drains what the tool wrote before it ended, then ends */
    atomic_store(&xr->stop, 1);
    if (xr->has_th) {
        pthread_join(xr->th, NULL);
        xr->has_th = 0;
    }
    pthread_mutex_lock(&b->lg->mu);
    if (w == xr->pid && !xr->exited) {
        xr->exited = 1;
        xr->status = st;
    }
    pthread_mutex_unlock(&b->lg->mu);
    xr->pid = -1;
}

int lgx_failure(struct lg_blk *b, char *buf, size_t len)
{
    struct lgx_run *xr = b->xr;
    if (!xr) return 0;
    pthread_mutex_lock(&b->lg->mu);
    int failed = xr->failed;
    if (failed) {
        char how[96];
        describe_exit(xr->status, how, sizeof how);
        char t[800];
        tail_flat(xr, 600, t, sizeof t);
        snprintf(buf, len, "load '%s': %s %s before the end of its load%s%s", b->cfg->name, b->cfg->ext->program, how,
                 *t ? "; its output ends: " : " (no output)", t);
        fl_redact(buf);   /* a tool may print what it was given */
    }
    pthread_mutex_unlock(&b->lg->mu);
    return failed;
}

json_t *lgx_to_json(struct lg_blk *b)
{
    struct lgx_run *xr = b->xr;
    const struct lg_ext_cfg *x = b->cfg->ext;
    json_t *o = json_object();
    json_object_set_new(o, "tool", json_string(x->kind == LGX_LOCUST ? "locust" : x->kind == LGX_K6 ? "k6" : "command"));
    json_object_set_new(o, "program", json_string(x->program ? x->program : ""));
    json_object_set_new(o, "format", json_string(x->format == LGX_K6JSON ? "k6-json" : "jsonl"));
    if (!xr) return o;
    pthread_mutex_lock(&b->lg->mu);
    json_object_set_new(o, "lines", json_integer((json_int_t)xr->lines));
    json_object_set_new(o, "requests", json_integer((json_int_t)xr->requests));
    json_object_set_new(o, "notices", json_integer((json_int_t)xr->notices));
    json_object_set_new(o, "malformed", json_integer((json_int_t)xr->malformed));
    json_object_set_new(o, "outside_run", json_integer((json_int_t)xr->outside));
    if (xr->first_error[0]) json_object_set_new(o, "first_error", json_string(xr->first_error));
    if (xr->exited) {
        char how[96];
        describe_exit(xr->status, how, sizeof how);
        json_object_set_new(o, "exit", json_string(how));
        /* the tool's own verdict (its thresholds): reported, never faultline's */
        if (WIFEXITED(xr->status)) json_object_set_new(o, "exit_code", json_integer(WEXITSTATUS(xr->status)));
    }
    json_object_set_new(o, "died", json_boolean(xr->failed));
    char *t = fl_strdup(tail_of(xr, 1500));
    fl_redact(t);
    json_object_set_new(o, "output_tail", json_string(t));
    free(t);
    pthread_mutex_unlock(&b->lg->mu);
    return o;
}

void lgx_free(struct lg_blk *b)
{
    lgx_stop(b);
    run_free(b->xr);
    b->xr = NULL;
    for (size_t i = 0; b->xnames && i < b->neps; i++) {
        free(b->xnames[i]);
        free(b->xmethods[i]);
    }
    free(b->xnames);
    free(b->xmethods);
    b->xnames = b->xmethods = NULL;
}
