/* process.c -- the process fault family: process.kill and process.stop on local processes
 * found by pid, pidfile, command line or managed service, resolved at inject time (the
 * `process` target and the selectors: targets/proc.c). */
#include "process.h"
#include "fault.h"

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

/* ---- the faults ---------------------------------------------------------------------- */

struct kill_cfg {
    int sig;
    char **restart;            /* argv or NULL */
};

/* what prepare found (the intent), what inject did, and what revert needs (also the journal
 * record): every target process, found before anything is signalled */
struct proc_state {
    int sig;
    struct proc_id *ids;       /* the target processes (pid + start time) */
    int *was_stopped;          /* already stopped (state T) when found: process.stop leaves them */
    int *signalled;            /* inject sent the signal */
    size_t n, alloc;
    size_t nroots;             /* ids[0..nroots) the selector's; the rest descendants (tree: true) */
    char *service;             /* the target was a managed service */
    char **restart;            /* process.kill: the restart command (copy) */
};

static void state_free(void *p)
{
    struct proc_state *st = p;
    if (!st) return;
    free(st->ids);
    free(st->was_stopped);
    free(st->signalled);
    free(st->service);
    param_strv_free(st->restart);
    free(st);
}

static char **strv_dup(char *const *v)
{
    if (!v) return NULL;
    size_t n = param_strv_len(v);
    char **out = fl_calloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) out[i] = fl_strdup(v[i]);
    return out;
}


/* Resolve the target now and apply pick:/all:; 0 with ids (n >= 1), or -1. */
static int resolve_target(struct fault_inst *fi, struct proc_id **ids, size_t *n, char *err)
{
    const struct target *t = fi->target;
    const struct proc_target *pt = t->cfg;
    char why[FL_ERR_LEN];
    if (proc_resolve(&pt->sel, fi->ctx, ids, n, why) < 0)
        return fl_err(err, "target '%s': %s", t->name, why);
    if (*n == 0) return fl_err(err, "target '%s': %s", t->name, why);
    if (*n > 1 && !pt->sel.all && !t->has_pick) {
        struct buf b;
        buf_init(&b, 4096);
        for (size_t i = 0; i < *n && i < 8; i++) buf_addf(&b, "%s%d", i ? ", " : "", (int)(*ids)[i].pid);
        if (*n > 8) buf_adds(&b, ", ...");
        fl_err(err, "target '%s': %zu processes match (pids %s); use all: true or pick: to act on several",
               t->name, *n, b.data);
        buf_release(&b);
        free(*ids);
        *ids = NULL;
        return -1;
    }
    if (t->has_pick && !pt->sel.all) {
        /* over the start-time order: the same seed picks the same ranks */
        size_t want = target_pick_count(t, *n);
        size_t *order = fl_malloc(want * sizeof *order);
        target_pick(*n, want, target_pick_seed(t, fi->ctx), order);
        for (size_t i = 0; i < want; i++) (*ids)[i] = (*ids)[order[i]]; /* order ascends: i <= order[i] */
        free(order);
        *n = want;
    }
    return 0;
}

static void pid_list(const struct proc_state *st, struct buf *out)
{
    size_t shown = 0;
    for (size_t i = 0; i < st->n && shown < 16; i++)
        if (st->signalled[i]) buf_addf(out, "%s%d", shown++ ? ", " : "", (int)st->ids[i].pid);
    if (st->n > 16) buf_addf(out, ", ... (%zu in all)", st->n);
}

static const struct param_spec kill_params[] = {
    { "signal", PT_STR, 0, "signal name or number (default SIGKILL)" },
    { "restart", PT_ARGV, 0, "revert: a command started detached (default for a service: restart it)" },
    { 0 },
};

static int kill_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc;
    const char *s = param_str(step, "signal", "SIGKILL");
    int sig = proc_signal_parse(s);
    if (sig < 0) {
        /* named as plan.c names steps: name:, else "<fault>@<target>" */
        const char *name = node_str(step, "name", NULL);
        diag_add(d, node_get(step, "signal"), "step '%s%s': unknown signal '%s' (a name like SIGTERM or a number)",
                 name ? name : "process.kill@", name ? "" : node_str(step, "target", "?"), s);
        return -1;
    }
    struct kill_cfg *kc = fl_calloc(1, sizeof *kc);
    kc->sig = sig;
    kc->restart = param_argv(step, "restart");
    *cfg = kc;
    return 0;
}

static void kill_free_cfg(void *p)
{
    struct kill_cfg *kc = p;
    if (!kc) return;
    param_strv_free(kc->restart);
    free(kc);
}

static size_t state_add(struct proc_state *st, const struct proc_id *id, int was_stopped, int signalled)
{
    if (st->n == st->alloc) {
        st->alloc = st->alloc ? st->alloc * 2 : 8;
        st->ids = fl_realloc(st->ids, st->alloc * sizeof *st->ids);
        st->was_stopped = fl_realloc(st->was_stopped, st->alloc * sizeof *st->was_stopped);
        st->signalled = fl_realloc(st->signalled, st->alloc * sizeof *st->signalled);
    }
    st->ids[st->n] = *id;
    st->was_stopped[st->n] = was_stopped;
    st->signalled[st->n] = signalled;
    return st->n++;
}

static int is_stopped_state(char c) { return c == 'T' || c == 't'; }

/* signal target i of the state; 0 sent or skipped, -1 with err */
static int signal_one(struct fault_inst *fi, struct proc_state *st, size_t i, int is_stop, char *err)
{
    if (is_stop && st->was_stopped[i]) {
        /* already frozen by someone else: leave it, and leave it frozen at revert */
        fl_log(FL_LOG_INFO, "process.stop: pid %d of '%s' is already stopped; it stays as it was", (int)st->ids[i].pid,
               fi->target->name);
        return 0;
    }
    if (proc_signal(&st->ids[i], st->sig, err) < 0) return -1;
    st->signalled[i] = 1;
    fault_progress(fi, "inject", i, json_pack("{s:i,s:b}", "pid", (int)st->ids[i].pid, "signalled", 1));
    return 0;
}

static int in_state(const struct proc_state *st, pid_t pid)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->ids[i].pid == pid) return 1;
    return 0;
}

/* The living descendants of the processes in st that st does not hold yet, parents before
 * children, from one look at /proc. */
static void find_descendants(const struct proc_state *st, struct proc_id **out, size_t *nout)
{
    struct pent { pid_t pid, ppid; } *all = NULL;
    size_t n = 0, alloc = 0;
    *out = NULL;
    *nout = 0;
    DIR *dir = opendir("/proc");
    if (!dir) return;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", atoi(de->d_name));
        if (proc_read_small(path, buf, sizeof buf) <= 0) continue;
        char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2) continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 256;
            all = fl_realloc(all, alloc * sizeof *all);
        }
        all[n++] = (struct pent){ (pid_t)atoi(de->d_name), (pid_t)ppid };
    }
    closedir(dir);
    /* breadth first: a queue of pids whose children we look for */
    pid_t *queue = fl_malloc((st->n + n + 1) * sizeof *queue);
    size_t qh = 0, qt = 0, oalloc = 0;
    for (size_t i = 0; i < st->n; i++) queue[qt++] = st->ids[i].pid;
    pid_t self = getpid();
    while (qh < qt) {
        pid_t parent = queue[qh++];
        for (size_t i = 0; i < n; i++) {
            if (all[i].ppid != parent || all[i].pid == self || in_state(st, all[i].pid)) continue;
            struct proc_id id;
            if (proc_stat(all[i].pid, &id) < 0 || id.state == 'Z' || id.state == 'X') continue;
            if (*nout == oalloc) {
                oalloc = oalloc ? oalloc * 2 : 16;
                *out = fl_realloc(*out, oalloc * sizeof **out);
            }
            (*out)[(*nout)++] = id;
            queue[qt++] = all[i].pid;
        }
    }
    free(queue);
    free(all);
}

/* prepare: every target process (and with tree: true its descendants, found before anything
 * is signalled: a killed parent's children are adopted by init at once), with its start
 * time and whether it was already stopped */
static int proc_prepare_sig(struct fault_inst *fi, int sig, char *err)
{
    struct proc_id *ids;
    size_t n;
    if (resolve_target(fi, &ids, &n, err) < 0) return -1;
    struct proc_state *st = fl_calloc(1, sizeof *st);
    st->sig = sig;
    const struct proc_target *pt = fi->target->cfg;
    if (pt->sel.kind == PROC_SEL_SERVICE) st->service = fl_strdup(pt->sel.text);
    for (size_t i = 0; i < n; i++) state_add(st, &ids[i], is_stopped_state(ids[i].state), 0);
    st->nroots = n;
    free(ids);
    if (pt->tree) {
        struct proc_id *desc;
        size_t ndesc;
        find_descendants(st, &desc, &ndesc);
        for (size_t i = 0; i < ndesc; i++) state_add(st, &desc[i], is_stopped_state(desc[i].state), 0);
        free(desc);
    }
    fi->state = st;
    return 0;
}

static int kill_prepare(struct fault_inst *fi, char *err)
{
    const struct kill_cfg *kc = fi->cfg;
    if (proc_prepare_sig(fi, kc->sig, err) < 0) return -1;
    ((struct proc_state *)fi->state)->restart = strv_dup(kc->restart);
    return 0;
}

static int stop_prepare(struct fault_inst *fi, char *err) { return proc_prepare_sig(fi, SIGSTOP, err); }

static int signal_all(struct fault_inst *fi, int is_stop, char *err)
{
    struct proc_state *st = fi->state;
    const struct proc_target *pt = fi->target->cfg;
    size_t nfound = st->n;
    for (size_t i = 0; i < nfound; i++) {
        char e[FL_ERR_LEN];
        if (signal_one(fi, st, i, is_stop, e) == 0) continue;
        if (i < st->nroots) return fl_err(err, "cannot %s target '%s': %s", is_stop ? "stop" : "signal", fi->target->name, e);
        /* a descendant may end on its own meanwhile: not the target's failure */
        fl_log(FL_LOG_DEBUG, "target '%s': descendant %d: %s", fi->target->name, (int)st->ids[i].pid, e);
    }
    /* after a stop, a parent may have forked while we looked: a few more rounds catch those
     * (a frozen parent forks no more); each is journaled before it is touched */
    for (int round = 0; pt->tree && is_stop && round < 3; round++) {
        struct proc_id *desc;
        size_t ndesc;
        find_descendants(st, &desc, &ndesc);
        for (size_t k = 0; k < ndesc; k++) {
            char e[FL_ERR_LEN];
            size_t i = state_add(st, &desc[k], is_stopped_state(desc[k].state), 0);
            if (fault_add_target(fi, i, json_pack("{s:i,s:I,s:b}", "pid", (int)desc[k].pid, "start",
                                                   (json_int_t)desc[k].start, "was_stopped", st->was_stopped[i]), e) < 0) {
                free(desc);
                return fl_err(err, "cannot stop target '%s': %s", fi->target->name, e);
            }
            if (signal_one(fi, st, i, is_stop, e) < 0)
                fl_log(FL_LOG_DEBUG, "target '%s': descendant %d: %s", fi->target->name, (int)desc[k].pid, e);
        }
        free(desc);
        if (ndesc == 0) break;
    }
    return 0;
}

static int kill_inject(struct fault_inst *fi, char *err)
{
    if (!fi->state && kill_prepare(fi, err) < 0) return -1;
    return signal_all(fi, 0, err);
}

/* how many signalled processes are gone */
static size_t count_gone(const struct proc_state *st)
{
    size_t gone = 0;
    for (size_t i = 0; i < st->n; i++)
        if (st->signalled[i] && !proc_alive(&st->ids[i], NULL)) gone++;
    return gone;
}

/* the revert of process.kill: restart when the signal ended a process */
static int kill_undo(struct fault_inst *fi, const struct proc_state *st, const char *what, char *err)
{
    size_t signalled = 0;
    for (size_t i = 0; i < st->n; i++) signalled += st->signalled[i] != 0;
    if (signalled == 0) return 0;   /* inject failed before any signal: nothing ended */
    if (count_gone(st) == 0) {
        /* the signal did not end them (SIGHUP, SIGUSR1, ...): nothing to restart */
        fl_log(FL_LOG_INFO, "process.kill on %s: every signalled process still runs; nothing to restart", what);
        return 0;
    }
    if (st->restart) {
        pid_t pid;
        char e[FL_ERR_LEN];
        if (spawn_detached(st->restart, &pid, e) < 0)
            return fl_err(err, "cannot restart %s: %s", what, e);
        struct proc_id id = { 0 };
        proc_stat(pid, &id);
        fault_progress(fi, "revert", 0, json_pack("{s:i,s:I}", "restarted_pid", (int)pid, "start", (json_int_t)id.start));
        fl_log(FL_LOG_INFO, "process.kill on %s: restarted as pid %d", what, (int)pid);
        return 0;
    }
    if (st->service) {
        char e[FL_ERR_LEN];
        if (drv_service_restart(fi->ctx, st->service, e) < 0)
            return fl_err(err, "cannot restart service '%s': %s", st->service, e);
        fault_progress(fi, "revert", 0, json_pack("{s:s}", "restarted_service", st->service));
        return 0;
    }
    return 0;   /* no restart configured: a kill is not undone */
}

static int kill_revert(struct fault_inst *fi, char *err)
{
    const struct proc_state *st = fi->state;
    if (!st) return 0;
    char what[200];
    snprintf(what, sizeof what, "target '%s'", fi->target->name);
    return kill_undo(fi, st, what, err);
}

/* the revert of process.stop: SIGCONT to what we froze */
static int stop_revert(struct fault_inst *fi, char *err)
{
    const struct proc_state *st = fi->state;
    if (!st) return 0;
    int rc = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (st->was_stopped[i] || !st->signalled[i]) continue;
        char e[FL_ERR_LEN];
        if (proc_signal(&st->ids[i], SIGCONT, e) < 0) {
            if (rc == 0) rc = fl_err(err, "cannot resume target '%s': %s", fi->target->name, e); /* first; resume the rest */
            continue;
        }
        fault_progress(fi, "revert", i, json_pack("{s:i,s:b}", "pid", (int)st->ids[i].pid, "resumed", 1));
    }
    return rc;
}

/* SIGSTOP takes effect when the kernel next schedules the process: wait (bounded) until each
 * shows state T, so that when inject() returns the target is frozen (probes that start at
 * once see it so). A process stuck in D (uninterruptible I/O) stops when the I/O ends. */
static void wait_frozen(const struct proc_state *st, const char *target)
{
    int64_t deadline = fl_now_ms() + 1000;
    for (size_t i = 0; i < st->n; i++) {
        if (!st->signalled[i]) continue;
        char state = 0;
        while (proc_alive(&st->ids[i], &state) && state != 'T' && state != 't' && fl_now_ms() < deadline)
            usleep(1000);
        if (state != 'T' && state != 't' && proc_alive(&st->ids[i], &state))
            fl_log(FL_LOG_WARN, "process.stop: pid %d of '%s' is still in state %c after SIGSTOP", (int)st->ids[i].pid,
                   target, state);
    }
}

static int stop_inject(struct fault_inst *fi, char *err)
{
    if (!fi->state && stop_prepare(fi, err) < 0) return -1;
    int rc = signal_all(fi, 1, err);
    wait_frozen(fi->state, fi->target->name);
    return rc;
}

/* journal: {"target": NAME, "signal": N, "procs": [{"pid", "start", "was_stopped", "signalled"}],
 *           "service": NAME|absent, "restart": [argv]|absent} */
static json_t *state_save(const struct fault_inst *fi)
{
    const struct proc_state *st = fi->state;
    if (!st) return NULL;
    json_t *procs = json_array();
    for (size_t i = 0; i < st->n; i++)
        json_array_append_new(procs, json_pack("{s:i, s:I, s:b, s:b}", "pid", (int)st->ids[i].pid,
                                               "start", (json_int_t)st->ids[i].start,
                                               "was_stopped", st->was_stopped[i], "signalled", st->signalled[i]));
    json_t *rec = json_pack("{s:s, s:i, s:o}", "target", fi->target ? fi->target->name : "",
                            "signal", st->sig, "procs", procs);
    if (st->service) json_object_set_new(rec, "service", json_string(st->service));
    if (st->restart) {
        json_t *argv = json_array();
        for (size_t i = 0; st->restart[i]; i++) json_array_append_new(argv, json_string(st->restart[i]));
        json_object_set_new(rec, "restart", argv);
    }
    return rec;
}

static int load_proc(struct proc_state *st, json_t *p, size_t i, char *err)
{
    json_t *pid = json_object_get(p, "pid"), *start = json_object_get(p, "start");
    if (!json_is_integer(pid) || !json_is_integer(start) || json_integer_value(pid) < 1)
        return fl_err(err, "journal record: entry %zu of 'procs' needs integer 'pid' and 'start'", i);
    struct proc_id id = { .pid = (pid_t)json_integer_value(pid), .start = (unsigned long long)json_integer_value(start) };
    json_t *sg = json_object_get(p, "signalled");
    state_add(st, &id, json_is_true(json_object_get(p, "was_stopped")), sg ? json_is_true(sg) : 1);
    return 0;
}

/* the record as the journal holds it: its procs, and those added while acting when the
 * runner died before its done record */
static struct proc_state *state_load(const struct fault_record *r, char *err)
{
    json_t *rec = r->rec;
    json_t *procs = json_object_get(rec, "procs");
    if (!json_is_array(procs)) { fl_err(err, "journal record has no 'procs' list"); return NULL; }
    struct proc_state *st = fl_calloc(1, sizeof *st);
    st->sig = (int)json_integer_value(json_object_get(rec, "signal"));
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) {
        if (load_proc(st, p, i, err) < 0) { state_free(st); return NULL; }
    }
    if (!r->done) {
        json_t *added = fault_record_notes_with(r, "inject", "added");
        json_array_foreach(added, i, p) {
            json_t *a = json_object_get(json_object_get(p, "note"), "added");
            if (!in_state(st, (pid_t)json_integer_value(json_object_get(a, "pid"))) && load_proc(st, a, i, err) < 0) {
                json_decref(added);
                state_free(st);
                return NULL;
            }
        }
        json_decref(added);
    }
    const char *svc = json_string_value(json_object_get(rec, "service"));
    if (svc) st->service = fl_strdup(svc);
    json_t *argv = json_object_get(rec, "restart");
    if (json_is_array(argv) && json_array_size(argv) > 0) {
        st->restart = fl_calloc(json_array_size(argv) + 1, sizeof *st->restart);
        for (size_t k = 0; k < json_array_size(argv); k++) {
            const char *a = json_string_value(json_array_get(argv, k));
            st->restart[k] = fl_strdup(a ? a : "");
        }
    }
    return st;
}

/* what is at the pid of a recorded process now: 1 the same process (state in *state), 0
 * gone, -1 another process (a reused pid: never to be signalled) */
static int proc_now(const struct proc_id *id, char *state)
{
    struct proc_id now;
    if (proc_stat(id->pid, &now) < 0 || now.state == 'Z' || now.state == 'X') return 0;
    if (now.start != id->start) return -1;
    *state = now.state;
    return 1;
}

static int stop_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    struct proc_state *st = state_load(r, err);
    if (!st) return -1;
    int rc = 0;
    for (size_t i = 0; i < st->n; i++) {
        int pid = (int)st->ids[i].pid;
        char state = 0;
        if (st->was_stopped[i]) {
            fault_report(report, "pid %d: was already stopped before the plan: left as it is", pid);
            continue;
        }
        if (!r->same_boot) {
            fault_report(report, "pid %d: the machine restarted since the run: that process is gone: nothing to do", pid);
            continue;
        }
        int now = proc_now(&st->ids[i], &state);
        if (now == 0) {
            fault_report(report, "pid %d: was running, found gone: nothing to do", pid);
        } else if (now < 0) {
            fault_report(report, "pid %d: now belongs to another process (another start time): not signalled", pid);
        } else if (!is_stopped_state(state)) {
            fault_report(report, "pid %d: was running, found running (state %c): nothing to do", pid, state);
        } else {
            char e[FL_ERR_LEN];
            if (proc_signal(&st->ids[i], SIGCONT, e) < 0) {
                fault_report(report, "pid %d: was running, found stopped: SIGCONT failed: %s", pid, e);
                if (rc == 0) rc = fl_err(err, "cannot resume pid %d: %s", pid, e);
            } else {
                fault_report(report, "pid %d: was running, found stopped: resumed (SIGCONT)", pid);
            }
        }
    }
    state_free(st);
    return rc;
}

static int kill_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    struct proc_state *st = state_load(r, err);
    if (!st) return -1;
    size_t gone = 0;
    for (size_t i = 0; i < st->n; i++) {
        int pid = (int)st->ids[i].pid;
        char state = 0;
        int now = r->same_boot ? proc_now(&st->ids[i], &state) : 0;
        if (now == 1) fault_report(report, "pid %d: found still running: the signal never came or did not end it", pid);
        else fault_report(report, "pid %d: gone%s", pid, now < 0 ? " (its pid now belongs to another process)" : "");
        gone += now != 1;
    }
    int rc = 0;
    json_t *restarted = fault_record_note(r, "revert", 0);
    if (gone == 0) {
        fault_report(report, "nothing ended: nothing to restart");
    } else if (json_is_integer(json_object_get(restarted, "restarted_pid"))) {
        struct proc_id id = { .pid = (pid_t)json_integer_value(json_object_get(restarted, "restarted_pid")),
                              .start = (unsigned long long)json_integer_value(json_object_get(restarted, "start")) };
        char state;
        if (r->same_boot && proc_now(&id, &state) == 1)
            fault_report(report, "the run's revert already restarted it as pid %d, still running: nothing to do", (int)id.pid);
        else
            fault_report(report, "the run's revert restarted it as pid %d, which has ended since: not restarted again "
                         "(it was restored once; what ended it is not faultline's fault)", (int)id.pid);
    } else if (st->restart) {
        pid_t pid;
        char e[FL_ERR_LEN];
        if (spawn_detached(st->restart, &pid, e) < 0) {
            fault_report(report, "restart: command failed: %s", e);
            rc = fl_err(err, "cannot restart: %s", e);
        } else {
            fault_report(report, "ran the restart: command: pid %d", (int)pid);
        }
    } else if (st->service) {
        fault_report(report, "service '%s' was started by the dead run: rollback stops that run's services rather "
                     "than restart one", st->service);
    } else {
        fault_report(report, "no restart: command: a kill is not undone");
    }
    state_free(st);
    return rc;
}

static void describe_common(const struct fault_inst *fi, struct buf *out)
{
    buf_addf(out, "target '%s' (", fi->target ? fi->target->name : "?");
    if (fi->target && fi->target->cfg) proc_sel_describe(&((const struct proc_target *)fi->target->cfg)->sel, out);
    buf_adds(out, ")");
    const struct proc_state *st = fi->state;
    if (st && st->n) {
        buf_adds(out, ": pid ");
        pid_list(st, out);
    }
}

static void kill_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct kill_cfg *kc = fi->cfg;
    char name[16];
    buf_addf(out, "send %s to ", proc_signal_name(kc ? kc->sig : SIGKILL, name));
    describe_common(fi, out);
    if (kc && kc->restart) {
        buf_adds(out, "; revert: run");
        for (size_t i = 0; kc->restart[i]; i++) buf_addf(out, " %s", kc->restart[i]);
    } else if (fi->target && fi->target->cfg &&
               ((const struct proc_target *)fi->target->cfg)->sel.kind == PROC_SEL_SERVICE) {
        buf_adds(out, "; revert: restart the service");
    } else {
        buf_adds(out, "; not reverted (no restart:)");
    }
}

static void stop_describe(const struct fault_inst *fi, struct buf *out)
{
    buf_adds(out, "freeze (SIGSTOP) ");
    describe_common(fi, out);
    buf_adds(out, "; revert: SIGCONT");
}

const struct fault_ops fault_process_kill = {
    .name = "process.kill",
    .target_kind = "process",
    .summary = "send a signal (default SIGKILL) to a process",
    .revert_summary = "restart: command, or restart the managed service; none without either",
    .params = kill_params,
    .parse = kill_parse,
    .prepare = kill_prepare,
    .inject = kill_inject,
    .revert = kill_revert,
    .save = state_save,
    .reconcile = kill_reconcile,
    .describe = kill_describe,
    .free_cfg = kill_free_cfg,
    .free_state = state_free,
};

static const struct param_spec stop_params[] = { { 0 } };

static int stop_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc; (void)step; (void)d;
    *cfg = NULL;
    return 0;
}

const struct fault_ops fault_process_stop = {
    .name = "process.stop",
    .target_kind = "process",
    .summary = "freeze a process with SIGSTOP",
    .revert_summary = "SIGCONT (unless it was already stopped)",
    .params = stop_params,
    .parse = stop_parse,
    .prepare = stop_prepare,
    .inject = stop_inject,
    .revert = stop_revert,
    .save = state_save,
    .reconcile = stop_reconcile,
    .describe = stop_describe,
    .free_state = state_free,
};
