/* proc.c -- local processes for the process target, its faults and its probe (process.h):
 * reading /proc, signals that check the process is still the same one, selectors (pid,
 * pidfile, command line, managed service) and the `process` target. */
#include "process.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fl.h"
#include "params.h"
#include "spawn.h"

/* ---- reading /proc ----------------------------------------------------------------- */

ssize_t proc_read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

int proc_stat(pid_t pid, struct proc_id *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (proc_read_small(path, buf, sizeof buf) <= 0) return -1;
    /* "pid (comm) state f4 f5 ...": comm may hold spaces and ')', so start after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    p++;
    int field = 2;
    char state = 0;
    unsigned long long start = 0;
    char *save = NULL;
    for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        field++;
        if (field == 3) state = tok[0];
        if (field == 22) { start = strtoull(tok, NULL, 10); break; }
    }
    if (field != 22) return -1;
    out->pid = pid;
    out->start = start;
    out->state = state;
    return 0;
}

int proc_alive(const struct proc_id *id, char *state)
{
    struct proc_id now;
    if (proc_stat(id->pid, &now) < 0) return 0;
    if (now.start != id->start || now.state == 'Z' || now.state == 'X') return 0;
    if (state) *state = now.state;
    return 1;
}

/* the command line of pid, arguments joined by single spaces; NULL when unreadable/empty */
static char *read_cmdline(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    size_t cap = 1 << 16;
    char *buf = fl_malloc(cap);
    ssize_t n = proc_read_small(path, buf, cap);
    if (n <= 0) { free(buf); return NULL; }
    while (n > 0 && buf[n - 1] == '\0') n--;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0') buf[i] = ' ';
    buf[n] = '\0';
    if (n == 0) { free(buf); return NULL; }
    return buf;
}

/* ---- signals ----------------------------------------------------------------------- */

int proc_signal_parse(const char *s)
{
    if (!s || !*s) return -1;
    if (isdigit((unsigned char)*s)) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || v < 1 || v > SIGRTMAX) return -1;
        return (int)v;
    }
    const char *name = s;
    if (strncasecmp(name, "SIG", 3) == 0) name += 3;
    for (int sig = 1; sig < SIGRTMIN; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(abbrev, name) == 0) return sig;
    }
    if (strncasecmp(name, "RTMIN", 5) == 0) {
        const char *off = name + 5;
        if (!*off) return SIGRTMIN;
        if (*off != '+' || !isdigit((unsigned char)off[1])) return -1;
        char *end;
        long v = strtol(off + 1, &end, 10);
        if (*end || SIGRTMIN + v > SIGRTMAX) return -1;
        return SIGRTMIN + (int)v;
    }
    return -1;
}

const char *proc_signal_name(int sig, char buf[16])
{
    const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
    if (abbrev) snprintf(buf, 16, "SIG%s", abbrev);
    else if (sig >= SIGRTMIN && sig <= SIGRTMAX) snprintf(buf, 16, "SIGRTMIN+%d", sig - SIGRTMIN);
    else snprintf(buf, 16, "signal %d", sig);
    return buf;
}

int proc_signal(const struct proc_id *id, int sig, char *err)
{
    char name[16];
    proc_signal_name(sig, name);
    /* A pidfd pins the process: once the start time checks out after opening it, the
     * signal cannot reach a newer process that reused the pid. */
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, id->pid, 0);
    if (pidfd < 0 && errno == ESRCH)
        return fl_err(err, "cannot send %s to pid %d: the process is gone", name, (int)id->pid);
#endif
    struct proc_id now;
    if (proc_stat(id->pid, &now) < 0 || now.state == 'Z' || now.state == 'X') {
        if (pidfd >= 0) close(pidfd);
        return fl_err(err, "cannot send %s to pid %d: the process is gone", name, (int)id->pid);
    }
    if (now.start != id->start) {
        if (pidfd >= 0) close(pidfd);
        return fl_err(err, "cannot send %s to pid %d: the pid now belongs to another process (started at tick %llu, not %llu)",
                      name, (int)id->pid, now.start, id->start);
    }
    int rc;
#ifdef SYS_pidfd_send_signal
    if (pidfd >= 0) rc = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    else rc = kill(id->pid, sig);
#else
    rc = kill(id->pid, sig);
#endif
    int e = errno;
    if (pidfd >= 0) close(pidfd);
    if (rc < 0) {
        if (e == ESRCH) return fl_err(err, "cannot send %s to pid %d: the process is gone", name, (int)id->pid);
        return fl_err(err, "cannot send %s to pid %d: %s", name, (int)id->pid, strerror(e));
    }
    return 0;
}

/* ---- selectors ---------------------------------------------------------------------- */

int proc_sel_parse(const struct node *map, struct proc_sel *s, const char *what, struct diag *d)
{
    memset(s, 0, sizeof *s);
    static const char *const keys[] = { "pid", "pidfile", "match", "service" };
    int found = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!node_get(map, keys[i])) continue;
        if (found++) {
            diag_add(d, node_key(map, keys[i]), "%s: give only one of pid, pidfile, match, service", what);
            return -1;
        }
        s->kind = (enum proc_sel_kind)i;
    }
    if (!found) {
        diag_add(d, map, "%s: needs one of pid, pidfile, match, service", what);
        return -1;
    }
    s->substring = param_bool(map, "match_substring", 0);
    if (node_get(map, "match_substring") && s->kind != PROC_SEL_MATCH) {
        diag_add(d, node_key(map, "match_substring"), "%s: match_substring needs match:", what);
        return -1;
    }
    switch (s->kind) {
    case PROC_SEL_PID:
        s->pid = (long)param_int(map, "pid", 0);
        if (s->pid < 1 || s->pid > INT_MAX) {
            diag_add(d, node_get(map, "pid"), "%s: pid must be a positive process id", what);
            return -1;
        }
        break;
    case PROC_SEL_PIDFILE:
    case PROC_SEL_MATCH:
    case PROC_SEL_SERVICE: {
        const char *v = param_str(map, keys[s->kind], "");
        if (!*v) {
            diag_add(d, node_get(map, keys[s->kind]), "%s: %s must not be empty", what, keys[s->kind]);
            return -1;
        }
        s->text = fl_strdup(v);
        break;
    }
    }
    return 0;
}

void proc_sel_release(struct proc_sel *s)
{
    free(s->text);
    s->text = NULL;
}

void proc_sel_describe(const struct proc_sel *s, struct buf *out)
{
    switch (s->kind) {
    case PROC_SEL_PID: buf_addf(out, "pid %ld", s->pid); break;
    case PROC_SEL_PIDFILE: buf_addf(out, "pidfile %s", s->text); break;
    case PROC_SEL_MATCH:
        buf_addf(out, "command line %s'%s'", s->substring ? "containing " : "", s->text);
        break;
    case PROC_SEL_SERVICE: buf_addf(out, "service '%s'", s->text); break;
    }
    if (s->all) buf_adds(out, ", all matches");
}

static int cmp_ids(const void *a, const void *b)
{
    const struct proc_id *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static int resolve_one(pid_t pid, const char *how, struct proc_id **ids, size_t *n, char *err)
{
    struct proc_id id;
    if (pid == getpid()) return fl_err(err, "%s names faultline itself (pid %d)", how, (int)pid);
    if (proc_stat(pid, &id) < 0 || id.state == 'Z' || id.state == 'X') {
        fl_err(err, "%s: no process with pid %d", how, (int)pid);
        return 0;
    }
    *ids = fl_malloc(sizeof **ids);
    (*ids)[0] = id;
    *n = 1;
    return 0;
}

int proc_resolve(const struct proc_sel *s, const struct drv_ctx *ctx, struct proc_id **ids, size_t *n, char *err)
{
    *ids = NULL;
    *n = 0;
    char how[300];
    switch (s->kind) {
    case PROC_SEL_PID:
        snprintf(how, sizeof how, "pid %ld", s->pid);
        return resolve_one((pid_t)s->pid, how, ids, n, err);
    case PROC_SEL_PIDFILE: {
        snprintf(how, sizeof how, "pidfile '%s'", s->text);
        char buf[64];
        if (proc_read_small(s->text, buf, sizeof buf) < 0) {
            if (errno == ENOENT) { fl_err(err, "pidfile '%s' does not exist", s->text); return 0; }
            return fl_err(err, "cannot read pidfile '%s': %s", s->text, strerror(errno));
        }
        char *p = buf, *end;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) { fl_err(err, "pidfile '%s' is empty", s->text); return 0; }
        errno = 0;
        long v = strtol(p, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        if (errno || end == p || v < 1 || v > INT_MAX || (*end && !isspace((unsigned char)end[-1])))
            return fl_err(err, "pidfile '%s' does not hold a process id", s->text);
        return resolve_one((pid_t)v, how, ids, n, err);
    }
    case PROC_SEL_SERVICE: {
        snprintf(how, sizeof how, "service '%s'", s->text);
        pid_t pid = drv_service_pid(ctx, s->text);
        if (pid < 0) return fl_err(err, "no managed service '%s': faultline started no services", s->text);
        if (pid <= 0) { fl_err(err, "service '%s' is not running", s->text); return 0; }
        return resolve_one(pid, how, ids, n, err);
    }
    case PROC_SEL_MATCH:
        break;
    }
    DIR *dir = opendir("/proc");
    if (!dir) return fl_err(err, "cannot list processes: /proc: %s", strerror(errno));
    size_t alloc = 0;
    pid_t self = getpid();
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid == self) continue;
        char *cmd = read_cmdline(pid);
        if (!cmd) continue;
        int hit = s->substring ? strstr(cmd, s->text) != NULL : strcmp(cmd, s->text) == 0;
        free(cmd);
        struct proc_id id;
        if (!hit || proc_stat(pid, &id) < 0 || id.state == 'Z' || id.state == 'X') continue;
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            *ids = fl_realloc(*ids, alloc * sizeof **ids);
        }
        (*ids)[(*n)++] = id;
    }
    closedir(dir);
    if (*n > 1) qsort(*ids, *n, sizeof **ids, cmp_ids);
    if (*n == 0)
        fl_err(err, "no process has a command line %s '%s'", s->substring ? "containing" : "equal to", s->text);
    return 0;
}

/* ---- the target --------------------------------------------------------------------- */

static const struct param_spec target_params[] = {
    PROC_SEL_PARAMS,
    { "all", PT_BOOL, 0, "act on every matching process (else match: must name exactly one)" },
    { "tree", PT_BOOL, 0, "also every descendant process (e.g. PostgreSQL's backends, which are not in its group)" },
    { 0 },
};

static int target_parse(const struct drv_parse *pc, struct target *t, const struct node *spec, struct diag *d)
{
    (void)pc;
    char what[200];
    snprintf(what, sizeof what, "target '%s' (process)", t->name);
    struct proc_target *pt = fl_calloc(1, sizeof *pt);
    if (proc_sel_parse(spec, &pt->sel, what, d) < 0) { free(pt); return -1; }
    pt->sel.all = param_bool(spec, "all", 0);
    pt->tree = param_bool(spec, "tree", 0);
    t->cfg = pt;
    return 0;
}

/* At run start, before services start: a service: selector must name one of the plan's
 * services. Nothing is resolved here (pids change, and a service's processes do not exist
 * yet), except in a dry run, which says what the selector matches now. */
static int target_open(struct target *t, const struct drv_ctx *ctx, char *err)
{
    const struct proc_target *pt = t->cfg;
    if (pt->sel.kind == PROC_SEL_SERVICE) {
        struct buf known;
        buf_init(&known, 4096);
        if (!drv_service_known(ctx, pt->sel.text, &known)) {
            fl_err(err, "no service named '%s' in the plan's services: (%s%s)", pt->sel.text,
                   known.len ? "known: " : "it has none", known.data);
            buf_release(&known);
            return -1;
        }
        buf_release(&known);
    }
    if (ctx && ctx->dry_run && pt->sel.kind != PROC_SEL_SERVICE) {
        struct proc_id *ids;
        size_t n;
        char why[FL_ERR_LEN];
        if (proc_resolve(&pt->sel, NULL, &ids, &n, why) < 0 || n == 0)
            fl_log(FL_LOG_WARN, "target '%s': %s (now; it is resolved again at inject time)", t->name, why);
        else
            fl_log(FL_LOG_INFO, "target '%s': matches %zu process%s now (first pid %d)", t->name, n, n == 1 ? "" : "es",
                   (int)ids[0].pid);
        free(ids);
    }
    return 0;
}

static void target_describe(const struct target *t, struct buf *out)
{
    const struct proc_target *pt = t->cfg;
    proc_sel_describe(&pt->sel, out);
    if (pt->tree) buf_adds(out, " and its descendants");
}

static void target_free(struct target *t)
{
    struct proc_target *pt = t->cfg;
    if (!pt) return;
    proc_sel_release(&pt->sel);
    free(pt);
    t->cfg = NULL;
}

const struct proc_sel *proc_target_sel(const struct target *t)
{
    if (!t || t->ops != &target_process || !t->cfg) return NULL;
    return &((const struct proc_target *)t->cfg)->sel;
}

const struct target_ops target_process = {
    .name = "process",
    .summary = "a local process: by pid, pidfile, command line, or a managed service",
    .params = target_params,
    .parse = target_parse,
    .open = target_open,
    .describe = target_describe,
    .free = target_free,
};
