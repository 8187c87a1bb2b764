/* test_process.c -- the process target, process.kill / process.stop and the process probe,
 * against real child processes (sleepers and a shell loop that writes to a file). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fault.h"
#include "harness.h"
#include "node.h"
#include "plan.h"
#include "probe.h"
#include "process.h"
#include "services.h"

TEST_FILE_USES(""); /* sleepers of its own, matched by unique arguments */

extern const struct fault_ops fault_process_kill;
extern const struct fault_ops fault_process_stop;
extern const struct probe_ops probe_process;

/* ---- helpers ---------------------------------------------------------------------------- */

/* "sleep 100.<unique>": a command line no other process on the machine has */
static void unique_sleep_arg(char *out, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, len, "100.%d%06ld", (int)getpid(), ts.tv_nsec / 1000);
}

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    /* wait (bounded) until the exec shows in /proc */
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[n] = '\0';
        if (n > 0 && strcmp(buf, argv[0]) == 0) break;
        usleep(10000);
    }
    return pid;
}

static pid_t spawn_sleeper(const char *arg)
{
    char *argv[] = { "sleep", (char *)arg, NULL };
    return spawn(argv);
}

/* a shell loop appending a line to file every 50 ms */
static pid_t spawn_writer(const char *file)
{
    char script[1024];
    snprintf(script, sizeof script, "while :; do echo x >> '%s'; sleep 0.05; done", file);
    char *argv[] = { "/bin/sh", "-c", script, NULL };
    return spawn(argv);
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    kill(pid, SIGCONT);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

static char state_of(pid_t pid)
{
    struct proc_id id;
    return proc_stat(pid, &id) == 0 ? id.state : '-';
}

/* wait (bounded, 3 s) until pid's state is / is not one of the letters */
static int wait_state(pid_t pid, const char *letters, int want_in)
{
    for (int i = 0; i < 300; i++) {
        char s = state_of(pid);
        if ((strchr(letters, s) != NULL) == want_in) return 1;
        usleep(10000);
    }
    return 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int wait_growth(const char *path, long from)
{
    for (int i = 0; i < 300; i++) {
        if (file_size(path) > from) return 1;
        usleep(10000);
    }
    return 0;
}

/* a process target built from YAML text, the way plan.c hands it to the driver */
struct tgt {
    struct node *root;
    struct target t;
    struct diag d;
};

static int tgt_parse(struct tgt *g, const char *name, const char *yaml)
{
    memset(g, 0, sizeof *g);
    diag_init(&g->d, "test.yaml");
    g->root = node_parse(yaml, strlen(yaml), &g->d);
    ASSERT_MSG(g->root, "yaml: %s", g->d.n ? g->d.msgs[0] : "?");
    g->t.name = (char *)name;
    g->t.ops = &target_process;
    g->t.spec = g->root;
    if (params_check(g->root, target_process.params, NULL, "target", &g->d) > 0) return -1;
    return target_process.parse(NULL, &g->t, g->root, &g->d);
}

static void tgt_release(struct tgt *g)
{
    if (g->t.cfg) target_process.free(&g->t);
    node_free(g->root);
    diag_release(&g->d);
}

/* a fault step: cfg from YAML step text */
struct flt {
    struct node *root;
    struct drv_ctx ctx;
    struct fault_inst fi;
    struct diag d;
};

static void flt_init(struct flt *f, const struct fault_ops *ops, struct tgt *g, const char *yaml)
{
    memset(f, 0, sizeof *f);
    diag_init(&f->d, "test.yaml");
    f->root = node_parse(yaml, strlen(yaml), &f->d);
    ASSERT(f->root);
    ASSERT_EQ_INT(params_check(f->root, ops->params, NULL, "fault", &f->d), 0);
    void *cfg = NULL;
    ASSERT_EQ_INT(ops->parse(NULL, f->root, &cfg, &f->d), 0);
    f->ctx.seed = 1;
    f->fi.ops = ops;
    f->fi.target = &g->t;
    f->fi.ctx = &f->ctx;
    f->fi.cfg = cfg;
}

static void flt_release(struct flt *f)
{
    if (f->fi.state && f->fi.ops->free_state) f->fi.ops->free_state(f->fi.state);
    if (f->fi.cfg && f->fi.ops->free_cfg) f->fi.ops->free_cfg(f->fi.cfg);
    node_free(f->root);
    diag_release(&f->d);
}

/* what a run offers drivers of its services (drv.h): the runner's hooks, over a plan's
 * declared services and over the services it started */
static int hook_known(void *plan, const char *name, struct buf *known)
{
    if (plan_service(plan, name)) return 1;
    plan_service_names(plan, known);
    return 0;
}

static pid_t hook_pid(void *rt, const char *name) { return svc_pid(rt, name); }
static int hook_restart(void *rt, const char *name, char *err) { return svc_restart(rt, name, err); }
static const struct drv_hooks started_services = { .service_pid = hook_pid, .service_restart = hook_restart };

/* ---- signals and /proc -------------------------------------------------------------------- */

TEST(process_signal_names)
{
    ASSERT_EQ_INT(proc_signal_parse("SIGTERM"), SIGTERM);
    ASSERT_EQ_INT(proc_signal_parse("term"), SIGTERM);
    ASSERT_EQ_INT(proc_signal_parse("KILL"), SIGKILL);
    ASSERT_EQ_INT(proc_signal_parse("9"), 9);
    ASSERT_EQ_INT(proc_signal_parse("SIGUSR1"), SIGUSR1);
    ASSERT_EQ_INT(proc_signal_parse("SIGRTMIN+2"), SIGRTMIN + 2);
    ASSERT_EQ_INT(proc_signal_parse("SIGNOPE"), -1);
    ASSERT_EQ_INT(proc_signal_parse("0"), -1);
    ASSERT_EQ_INT(proc_signal_parse("9x"), -1);
    char b[16];
    ASSERT_EQ_STR(proc_signal_name(SIGSTOP, b), "SIGSTOP");
    ASSERT_EQ_STR(proc_signal_name(SIGHUP, b), "SIGHUP");
}

TEST(process_stat_reads_self)
{
    struct proc_id a, b;
    ASSERT_EQ_INT(proc_stat(getpid(), &a), 0);
    ASSERT(a.start > 0);
    ASSERT(a.state == 'R' || a.state == 'S');
    ASSERT_EQ_INT(proc_stat(getpid(), &b), 0);
    ASSERT_EQ_INT(a.start, b.start);
}

TEST(process_selector_errors_at_parse)
{
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "x", "{ pid: 1, match: foo }"), -1);
    ASSERT(g.d.n >= 1);
    ASSERT_CONTAINS(g.d.msgs[0], "only one of");
    tgt_release(&g);
    ASSERT_EQ_INT(tgt_parse(&g, "x", "{ all: true }"), -1);
    ASSERT_CONTAINS(g.d.msgs[0], "needs one of pid, pidfile, match, service");
    tgt_release(&g);
    ASSERT_EQ_INT(tgt_parse(&g, "x", "{ pidfile: /x, match_substring: true }"), -1);
    ASSERT_CONTAINS(g.d.msgs[0], "match_substring needs match:");
    tgt_release(&g);

    struct diag d;
    diag_init(&d, "t.yaml");
    struct node *n = node_parse("{ signal: SIGBOGUS }", 20, &d);
    void *cfg = NULL;
    ASSERT_EQ_INT(fault_process_kill.parse(NULL, n, &cfg, &d), -1);
    ASSERT_CONTAINS(d.msgs[0], "unknown signal 'SIGBOGUS'");
    node_free(n);
    diag_release(&d);
}

TEST(process_plan_validation_messages)
{
    static const char yaml[] =
        "faultline: 1\n"
        "name: bad\n"
        "duration: 3s\n"
        "targets:\n"
        "  a: { process: { pid: 1, match: x } }\n"
        "  b: { process: { match: x, bogus: 1 } }\n"
        "  c: { process: { pidfile: /x } }\n"
        "  d: { process: { pidfile: /x, match_substring: true } }\n"
        "method:\n"
        "  - { at: 1s, fault: process.kill, target: c, signal: SIGWHAT }\n"
        "  - { at: 1s, fault: process.stop, target: c, signal: SIGTERM }\n"
        "probes:\n"
        "  - process: { target: c, pid: 3 }\n"
        "  - { name: z, process: { pid: 3, expect: zombie } }\n"
        "  - { name: y, process: { service: nope } }\n";
    static const char *const want[] = {
        "bad.yaml:5:27: target 'a' (process): give only one of pid, pidfile, match, service",
        "bad.yaml:6:29: target 'b' (process): unknown key 'bogus' (known: pid, pidfile, match, match_substring, service, all, tree)",
        "bad.yaml:8:32: target 'd' (process): match_substring needs match:",
        "bad.yaml:10:55: step 'process.kill@c': unknown signal 'SIGWHAT' (a name like SIGTERM or a number)",
        "bad.yaml:11:47: step 'process.stop@c': unknown key 'signal' (known: name, at, fault, target, for, probability)",
        "bad.yaml:13:27: probe 'process@13': give target: or pid:, not both",
        "bad.yaml:14:43: probe 'z': expect must be alive, dead or stopped, not 'zombie'",
        "bad.yaml:15:36: probe 'y': no service named 'nope' in services:",
    };
    struct diag d;
    diag_init(&d, "bad.yaml");
    struct plan *p = plan_parse("bad.yaml", yaml, sizeof yaml - 1, NULL, &d);
    size_t nwant = sizeof want / sizeof want[0];
    for (size_t i = 0; i < d.n && i < nwant; i++) ASSERT_EQ_STR(d.msgs[i], want[i]);
    ASSERT_EQ_INT(d.n, nwant);
    plan_free(p);
    diag_release(&d);
}

/* ---- process.stop ------------------------------------------------------------------------ */

TEST(process_stop_freezes_and_revert_resumes)
{
    char file[512];
    snprintf(file, sizeof file, "%s/ticks", th_tmpdir());
    pid_t pid = spawn_writer(file);
    ASSERT(wait_growth(file, 0));

    char yaml[64];
    snprintf(yaml, sizeof yaml, "{ pid: %d }", (int)pid);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "writer", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_stop, &g, "{}");
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT_MSG(wait_state(pid, "T", 1), "state %c, expected T", state_of(pid));

    /* frozen: the loop writes nothing more (one in-flight line may land first) */
    usleep(200000);
    long frozen = file_size(file);
    usleep(300000);
    ASSERT_EQ_INT(file_size(file), frozen);

    struct buf b;
    buf_init(&b, 0);
    fault_process_stop.describe(&f.fi, &b);
    char want[64];
    snprintf(want, sizeof want, "pid %d", (int)pid);
    ASSERT_CONTAINS(b.data, want);
    ASSERT_CONTAINS(b.data, "SIGSTOP");
    buf_release(&b);

    ASSERT_MSG(fault_process_stop.revert(&f.fi, err) == 0, "revert: %s", err);
    ASSERT_MSG(wait_state(pid, "T", 0), "still stopped");
    char s = state_of(pid);
    ASSERT_MSG(s && strchr("RSD", s), "state %c after revert", s);   /* running, sleeping, or in I/O */
    ASSERT(wait_growth(file, frozen));

    flt_release(&f);
    tgt_release(&g);
    reap(pid);
}

TEST(process_stop_leaves_an_already_stopped_process_stopped)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    kill(pid, SIGSTOP);
    ASSERT(wait_state(pid, "T", 1));

    char yaml[64];
    snprintf(yaml, sizeof yaml, "{ pid: %d }", (int)pid);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "s", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_stop, &g, "{}");
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    json_t *rec = fault_process_stop.save(&f.fi);
    ASSERT(json_is_true(json_object_get(json_array_get(json_object_get(rec, "procs"), 0), "was_stopped")));
    json_decref(rec);
    ASSERT_EQ_INT(fault_process_stop.revert(&f.fi, err), 0);
    usleep(100000);
    ASSERT_EQ_INT(state_of(pid), 'T');
    flt_release(&f);
    tgt_release(&g);
    reap(pid);
}

TEST(process_stop_revert_of_a_vanished_process_is_an_error)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char yaml[128];
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "sleeper", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_stop, &g, "{}");
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT(wait_state(pid, "T", 1));
    reap(pid);   /* gone while frozen */
    ASSERT_EQ_INT(fault_process_stop.revert(&f.fi, err), -1);
    ASSERT_CONTAINS(err, "cannot resume target 'sleeper'");
    ASSERT_CONTAINS(err, "the process is gone");
    flt_release(&f);
    tgt_release(&g);
}

TEST(process_stop_journal_round_trip)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char yaml[128];
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "sleeper", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_stop, &g, "{}");
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT(wait_state(pid, "T", 1));

    /* what `faultline rollback` gets: the record, as text and back, without the run */
    json_t *rec = fault_process_stop.save(&f.fi);
    char *text = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    json_error_t je;
    json_t *back = json_loads(text, 0, &je);
    free(text);
    ASSERT(back);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_array_get(json_object_get(back, "procs"), 0), "pid")), pid);
    ASSERT_MSG(fault_reconcile_rec(&fault_process_stop, back, NULL, NULL, err) == 0, "reconcile: %s", err);
    ASSERT(wait_state(pid, "T", 0));
    json_decref(back);
    flt_release(&f);
    tgt_release(&g);
    reap(pid);
}

TEST(process_reused_pid_is_never_signalled)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    struct proc_id real;
    ASSERT_EQ_INT(proc_stat(pid, &real), 0);

    /* a record whose start time is not this process's: the pid was "reused" */
    struct proc_id fake = real;
    fake.start = real.start - 1;
    char err[FL_ERR_LEN] = "";
    ASSERT_EQ_INT(proc_signal(&fake, SIGKILL, err), -1);
    ASSERT_CONTAINS(err, "belongs to another process");
    ASSERT(!proc_alive(&fake, NULL));
    ASSERT(proc_alive(&real, NULL));

    /* the same through a journal record of process.stop */
    kill(pid, SIGSTOP);
    ASSERT(wait_state(pid, "T", 1));
    json_t *rec = json_pack("{s:s, s:i, s:[{s:i, s:I, s:b}]}", "target", "t", "signal", SIGSTOP, "procs", "pid",
                            (int)pid, "start", (json_int_t)fake.start, "was_stopped", 0);
    /* the process recorded is gone: rollback settles it, and never signals the newcomer */
    struct buf report;
    buf_init(&report, 4096);
    ASSERT_EQ_INT(fault_reconcile_rec(&fault_process_stop, rec, NULL, &report, err), 0);
    ASSERT_CONTAINS(report.data, "belongs to another process");
    ASSERT_CONTAINS(report.data, "not signalled");
    buf_release(&report);
    usleep(100000);
    ASSERT_EQ_INT(state_of(pid), 'T');   /* the SIGCONT was refused */
    json_decref(rec);
    reap(pid);
}

/* a shell whose background child (not the shell itself) appends to file; like PostgreSQL,
 * where the postmaster's backends do the work */
static pid_t spawn_parent_of_writer(const char *file)
{
    char script[1024];
    snprintf(script, sizeof script, "(while :; do echo x >> '%s'; sleep 0.05; done) & wait", file);
    char *argv[] = { "/bin/sh", "-c", script, NULL };
    return spawn(argv);
}

TEST(process_stop_tree_freezes_the_descendants_too)
{
    char file[512], yaml[128], err[FL_ERR_LEN] = "";
    snprintf(file, sizeof file, "%s/ticks", th_tmpdir());
    pid_t pid = spawn_parent_of_writer(file);
    ASSERT(wait_growth(file, 0));

    /* without tree: the parent freezes, its child keeps writing */
    snprintf(yaml, sizeof yaml, "{ pid: %d }", (int)pid);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "parent", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_stop, &g, "{}");
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT(wait_state(pid, "T", 1));
    ASSERT(wait_growth(file, file_size(file)));
    ASSERT_EQ_INT(fault_process_stop.revert(&f.fi, err), 0);
    flt_release(&f);
    tgt_release(&g);

    snprintf(yaml, sizeof yaml, "{ pid: %d, tree: true }", (int)pid);
    ASSERT_EQ_INT(tgt_parse(&g, "parent", yaml), 0);
    flt_init(&f, &fault_process_stop, &g, "{}");
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    json_t *rec = fault_process_stop.save(&f.fi);
    ASSERT(json_array_size(json_object_get(rec, "procs")) >= 2);   /* the shell and its subshell */
    json_decref(rec);
    usleep(200000);
    long frozen = file_size(file);
    usleep(300000);
    ASSERT_EQ_INT(file_size(file), frozen);
    ASSERT_MSG(fault_process_stop.revert(&f.fi, err) == 0, "revert: %s", err);
    ASSERT(wait_growth(file, frozen));
    flt_release(&f);
    tgt_release(&g);
    /* the writer subshell is the shell's child: kill the whole group we started */
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---- process.kill ------------------------------------------------------------------------ */

TEST(process_kill_sigterm_and_restart)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char yaml[128], step[256];
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    snprintf(step, sizeof step, "{ signal: SIGTERM, restart: [sleep, \"%s\"] }", arg);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "sleeper", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_kill, &g, step);
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_kill.inject(&f.fi, err) == 0, "inject: %s", err);
    int status = 0;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT(WIFSIGNALED(status));
    ASSERT_EQ_INT(WTERMSIG(status), SIGTERM);

    const struct proc_sel *sel = proc_target_sel(&g.t);
    struct proc_id *ids;
    size_t n;
    ASSERT_EQ_INT(proc_resolve(sel, NULL, &ids, &n, err), 0);
    ASSERT_EQ_INT(n, 0);
    free(ids);

    ASSERT_MSG(fault_process_kill.revert(&f.fi, err) == 0, "revert: %s", err);
    /* a new, detached process with the same command line */
    n = 0;
    for (int i = 0; i < 300 && n == 0; i++) {
        ASSERT_EQ_INT(proc_resolve(sel, NULL, &ids, &n, err), 0);
        if (n == 0) { free(ids); usleep(10000); }
    }
    ASSERT_EQ_INT(n, 1);
    ASSERT(ids[0].pid != pid);
    kill(ids[0].pid, SIGKILL);
    free(ids);
    flt_release(&f);
    tgt_release(&g);
}

TEST(process_kill_restart_that_cannot_start_is_an_error)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char yaml[128];
    snprintf(yaml, sizeof yaml, "{ pid: %d }", (int)pid);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "sleeper", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_kill, &g, "{ restart: [/nonexistent/faultline-restart] }");
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_kill.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(waitpid(pid, NULL, 0), pid);
    ASSERT_EQ_INT(fault_process_kill.revert(&f.fi, err), -1);
    ASSERT_CONTAINS(err, "cannot restart target 'sleeper'");
    ASSERT_CONTAINS(err, "No such file");
    flt_release(&f);
    tgt_release(&g);
}

TEST(process_kill_without_restart_is_not_reverted_and_a_survivor_is_not_restarted)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char yaml[128], marker[512], step[1024];
    snprintf(yaml, sizeof yaml, "{ pid: %d }", (int)pid);
    snprintf(marker, sizeof marker, "%s/restarted", th_tmpdir());
    /* SIGCONT does not end it: the restart command must not run */
    snprintf(step, sizeof step, "{ signal: SIGCONT, restart: \"touch '%s'\" }", marker);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "sleeper", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_kill, &g, step);
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_kill.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(fault_process_kill.revert(&f.fi, err), 0);
    usleep(200000);
    ASSERT(file_size(marker) < 0);
    ASSERT(strchr("RSD", state_of(pid)));
    flt_release(&f);

    /* SIGKILL with no restart: revert succeeds and does nothing */
    flt_init(&f, &fault_process_kill, &g, "{}");
    ASSERT_MSG(fault_process_kill.inject(&f.fi, err) == 0, "inject: %s", err);
    int status = 0;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT_EQ_INT(WTERMSIG(status), SIGKILL);
    ASSERT_EQ_INT(fault_process_kill.revert(&f.fi, err), 0);
    flt_release(&f);
    tgt_release(&g);
}

TEST(process_kill_journal_restarts_from_the_record)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char yaml[128], step[256];
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    snprintf(step, sizeof step, "{ signal: 15, restart: \"exec sleep %s\" }", arg);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "sleeper", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_kill, &g, step);
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(fault_process_kill.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT_EQ_INT(waitpid(pid, NULL, 0), pid);
    json_t *rec = fault_process_kill.save(&f.fi);
    ASSERT_EQ_INT(json_integer_value(json_object_get(rec, "signal")), SIGTERM);
    ASSERT_EQ_STR(json_string_value(json_array_get(json_object_get(rec, "restart"), 0)), "/bin/sh");
    ASSERT_MSG(fault_reconcile_rec(&fault_process_kill, rec, NULL, NULL, err) == 0, "reconcile: %s", err);
    json_decref(rec);
    struct proc_id *ids = NULL;
    size_t n = 0;
    for (int i = 0; i < 300 && n == 0; i++) {
        free(ids);
        ASSERT_EQ_INT(proc_resolve(proc_target_sel(&g.t), NULL, &ids, &n, err), 0);
        if (n == 0) usleep(10000);
    }
    ASSERT_EQ_INT(n, 1);
    kill(ids[0].pid, SIGKILL);
    free(ids);
    flt_release(&f);
    tgt_release(&g);
}

/* ---- resolution ------------------------------------------------------------------------- */

TEST(process_pidfile_resolution)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char pidfile[512], yaml[600], err[FL_ERR_LEN];
    snprintf(pidfile, sizeof pidfile, "%s/svc.pid", th_tmpdir());
    snprintf(yaml, sizeof yaml, "{ pidfile: \"%s\" }", pidfile);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "p", yaml), 0);
    const struct proc_sel *sel = proc_target_sel(&g.t);
    struct proc_id *ids;
    size_t n;

    /* missing: nothing matches, and the reason says so */
    ASSERT_EQ_INT(proc_resolve(sel, NULL, &ids, &n, err), 0);
    ASSERT_EQ_INT(n, 0);
    ASSERT_CONTAINS(err, "does not exist");
    free(ids);

    FILE *fp = fopen(pidfile, "w");
    fprintf(fp, "%d\n", (int)pid);
    fclose(fp);
    ASSERT_EQ_INT(proc_resolve(sel, NULL, &ids, &n, err), 0);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(ids[0].pid, pid);
    free(ids);

    fp = fopen(pidfile, "w");
    fprintf(fp, "not-a-pid\n");
    fclose(fp);
    ASSERT_EQ_INT(proc_resolve(sel, NULL, &ids, &n, err), -1);
    ASSERT_CONTAINS(err, "does not hold a process id");

    /* a stale pidfile (the process exited) */
    reap(pid);
    fp = fopen(pidfile, "w");
    fprintf(fp, "%d\n", (int)pid);
    fclose(fp);
    struct flt f;
    flt_init(&f, &fault_process_kill, &g, "{}");
    ASSERT_EQ_INT(fault_process_kill.inject(&f.fi, err), -1);
    ASSERT_CONTAINS(err, "target 'p'");
    ASSERT_CONTAINS(err, "no process with pid");
    flt_release(&f);
    tgt_release(&g);
}

TEST(process_match_exact_substring_many_and_none)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t a = spawn_sleeper(arg), b = spawn_sleeper(arg);
    char yaml[256], err[FL_ERR_LEN];
    struct proc_id *ids;
    size_t n;

    /* two processes with that command line: an error unless all: true */
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "two", yaml), 0);
    struct flt f;
    flt_init(&f, &fault_process_stop, &g, "{}");
    ASSERT_EQ_INT(fault_process_stop.inject(&f.fi, err), -1);
    ASSERT_CONTAINS(err, "2 processes match");
    ASSERT(f.fi.state == NULL);
    ASSERT(state_of(a) != 'T' && state_of(b) != 'T');
    flt_release(&f);
    tgt_release(&g);

    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\", all: true }", arg);
    ASSERT_EQ_INT(tgt_parse(&g, "two", yaml), 0);
    flt_init(&f, &fault_process_stop, &g, "{}");
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    ASSERT(wait_state(a, "T", 1) && wait_state(b, "T", 1));
    ASSERT_EQ_INT(fault_process_stop.revert(&f.fi, err), 0);
    ASSERT(wait_state(a, "T", 0) && wait_state(b, "T", 0));
    flt_release(&f);
    tgt_release(&g);

    /* pick: one of the two, the same one for the same seed */
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    ASSERT_EQ_INT(tgt_parse(&g, "two", yaml), 0);
    g.t.has_pick = 1;
    g.t.pick_count = 1;
    g.t.pick_seed = 7;
    g.t.pick_seed_set = 1;
    flt_init(&f, &fault_process_stop, &g, "{}");
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    json_t *rec = fault_process_stop.save(&f.fi);
    ASSERT_EQ_INT(json_array_size(json_object_get(rec, "procs")), 1);
    pid_t picked = (pid_t)json_integer_value(json_object_get(json_array_get(json_object_get(rec, "procs"), 0), "pid"));
    json_decref(rec);
    ASSERT(picked == a || picked == b);
    ASSERT(wait_state(picked, "T", 1));
    ASSERT(state_of(picked == a ? b : a) != 'T');
    ASSERT_EQ_INT(fault_process_stop.revert(&f.fi, err), 0);
    flt_release(&f);
    flt_init(&f, &fault_process_stop, &g, "{}");
    ASSERT_MSG(fault_process_stop.inject(&f.fi, err) == 0, "inject: %s", err);
    rec = fault_process_stop.save(&f.fi);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_array_get(json_object_get(rec, "procs"), 0), "pid")), picked);
    json_decref(rec);
    ASSERT_EQ_INT(fault_process_stop.revert(&f.fi, err), 0);
    flt_release(&f);
    tgt_release(&g);

    /* exact means exact: a prefix does not match, a substring does with match_substring */
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %.*s\" }", (int)strlen(arg) - 1, arg);
    ASSERT_EQ_INT(tgt_parse(&g, "prefix", yaml), 0);
    ASSERT_EQ_INT(proc_resolve(proc_target_sel(&g.t), NULL, &ids, &n, err), 0);
    ASSERT_EQ_INT(n, 0);
    ASSERT_CONTAINS(err, "no process has a command line equal to");
    free(ids);
    flt_init(&f, &fault_process_kill, &g, "{}");
    ASSERT_EQ_INT(fault_process_kill.inject(&f.fi, err), -1);
    ASSERT_CONTAINS(err, "target 'prefix': no process has a command line");
    flt_release(&f);
    tgt_release(&g);

    snprintf(yaml, sizeof yaml, "{ match: \"%s\", match_substring: true }", arg + 4);
    ASSERT_EQ_INT(tgt_parse(&g, "sub", yaml), 0);
    ASSERT_EQ_INT(proc_resolve(proc_target_sel(&g.t), NULL, &ids, &n, err), 0);
    ASSERT_EQ_INT(n, 2);
    ASSERT((ids[0].pid == a && ids[1].pid == b) || (ids[0].pid == b && ids[1].pid == a));
    free(ids);
    tgt_release(&g);
    reap(a);
    reap(b);
}

TEST(process_match_never_picks_faultline_itself)
{
    /* our own command line, as a substring: every other process may match, never us */
    char self[256];
    FILE *fp = fopen("/proc/self/cmdline", "r");
    size_t len = fread(self, 1, sizeof self - 1, fp);
    fclose(fp);
    self[len] = '\0';   /* argv[0] only (up to the first NUL) */
    char yaml[400], err[FL_ERR_LEN];
    snprintf(yaml, sizeof yaml, "{ match: \"%s\", match_substring: true, all: true }", self);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "self", yaml), 0);
    struct proc_id *ids;
    size_t n;
    ASSERT_EQ_INT(proc_resolve(proc_target_sel(&g.t), NULL, &ids, &n, err), 0);
    for (size_t i = 0; i < n; i++) ASSERT(ids[i].pid != getpid());
    free(ids);
    tgt_release(&g);

    snprintf(yaml, sizeof yaml, "{ pid: %d }", (int)getpid());
    ASSERT_EQ_INT(tgt_parse(&g, "self", yaml), 0);
    ASSERT_EQ_INT(proc_resolve(proc_target_sel(&g.t), NULL, &ids, &n, err), -1);
    ASSERT_CONTAINS(err, "faultline itself");
    tgt_release(&g);
}

TEST(process_service_target_must_name_a_service_of_the_plan)
{
    char *run[] = { "true", NULL };
    struct service svc = { .name = "api", .run = run };
    struct service *svcs[] = { &svc };
    struct plan plan;
    memset(&plan, 0, sizeof plan);
    static const struct drv_hooks declared_services = { .service_known = hook_known };
    struct drv_ctx ctx = { .hooks = &declared_services, .run = &plan };
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "w", "{ service: worker }"), 0);
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(target_process.open(&g.t, &ctx, err), -1);
    ASSERT_EQ_STR(err, "no service named 'worker' in the plan's services: (it has none)");
    plan.services = svcs;
    plan.nservices = 1;
    ASSERT_EQ_INT(target_process.open(&g.t, &ctx, err), -1);
    ASSERT_EQ_STR(err, "no service named 'worker' in the plan's services: (known: api)");
    tgt_release(&g);
    ASSERT_EQ_INT(tgt_parse(&g, "a", "{ service: api }"), 0);
    ASSERT_EQ_INT(target_process.open(&g.t, &ctx, err), 0);
    tgt_release(&g);
}

TEST(process_service_target_without_services_is_an_error)
{
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "api", "{ service: api }"), 0);
    struct flt f;
    flt_init(&f, &fault_process_kill, &g, "{}");
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(fault_process_kill.inject(&f.fi, err), -1);
    ASSERT_CONTAINS(err, "no managed service 'api'");
    struct buf b;
    buf_init(&b, 0);
    fault_process_kill.describe(&f.fi, &b);
    ASSERT_CONTAINS(b.data, "send SIGKILL to target 'api' (service 'api'); revert: restart the service");
    buf_release(&b);
    flt_release(&f);
    tgt_release(&g);
}

TEST(process_kill_managed_service_restarts_it)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    char *run[] = { "sleep", arg, NULL };
    struct service svc = { .name = "sleeper", .run = run, .stop_timeout_ms = 2000 };
    struct service *svcs[] = { &svc };
    struct plan plan;
    memset(&plan, 0, sizeof plan);
    plan.services = svcs;
    plan.nservices = 1;
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "svc", "{ service: sleeper }"), 0);
    struct flt f;
    flt_init(&f, &fault_process_kill, &g, "{ signal: SIGTERM }");
    struct services_rt *rt = svc_new(&plan, &f.ctx, NULL, th_tmpdir());
    f.ctx.hooks = &started_services;
    f.ctx.run = rt;
    char err[FL_ERR_LEN] = "";
    ASSERT_MSG(svc_start_all(rt, err) == 0, "start: %s", err);
    pid_t first = svc_pid(rt, "sleeper");
    ASSERT(first > 0);

    ASSERT_MSG(fault_process_kill.inject(&f.fi, err) == 0, "inject: %s", err);
    struct proc_id id = { 0 };
    ASSERT_EQ_INT(proc_stat(first, &id), 0);
    for (int i = 0; i < 300 && proc_alive(&id, NULL); i++) usleep(10000);
    ASSERT(!proc_alive(&id, NULL));

    ASSERT_MSG(fault_process_kill.revert(&f.fi, err) == 0, "revert: %s", err);
    pid_t second = svc_pid(rt, "sleeper");
    ASSERT(second > 0 && second != first);
    struct proc_id *ids;
    size_t n;
    ASSERT_EQ_INT(proc_resolve(proc_target_sel(&g.t), &f.ctx, &ids, &n, err), 0);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(ids[0].pid, second);
    free(ids);

    /* process.stop on the service, then the probe sees it stopped */
    struct flt s2;
    flt_init(&s2, &fault_process_stop, &g, "{}");
    s2.ctx.hooks = &started_services;
    s2.ctx.run = rt;
    ASSERT_MSG(fault_process_stop.inject(&s2.fi, err) == 0, "inject: %s", err);
    ASSERT(wait_state(second, "T", 1));
    ASSERT_EQ_INT(fault_process_stop.revert(&s2.fi, err), 0);
    ASSERT(wait_state(second, "T", 0));
    flt_release(&s2);

    svc_stop_all(rt);
    svc_free(rt);
    flt_release(&f);
    tgt_release(&g);
}

/* ---- the probe ---------------------------------------------------------------------------- */

static int probe_run(const char *yaml, struct probe_obs *obs, char *err)
{
    struct diag d;
    diag_init(&d, "t.yaml");
    struct node *n = node_parse(yaml, strlen(yaml), &d);
    ASSERT(n);
    ASSERT_EQ_INT(params_check(n, probe_process.params, NULL, "probe", &d), 0);
    void *cfg = NULL;
    ASSERT_MSG(probe_process.parse(NULL, n, n, &cfg, &d) == 0, "parse: %s", d.n ? d.msgs[0] : "?");
    struct drv_ctx ctx = { 0 };
    struct probe_inst pi;
    memset(&pi, 0, sizeof pi);
    pi.ops = &probe_process;
    pi.ctx = &ctx;
    pi.cfg = cfg;
    memset(obs, 0, sizeof *obs);
    int rc = probe_process.check(&pi, obs, err);
    probe_process.free_cfg(cfg);
    node_free(n);
    diag_release(&d);
    return rc;
}

TEST(process_probe_alive_stopped_dead)
{
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t pid = spawn_sleeper(arg);
    char yaml[1024], err[FL_ERR_LEN];
    struct probe_obs obs;

    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    ASSERT_EQ_INT(probe_run(yaml, &obs, err), 0);
    ASSERT_EQ_INT(obs.outcome, PROBE_PASSED);
    ASSERT_CONTAINS(obs.observed, "alive");

    snprintf(yaml, sizeof yaml, "{ pid: %d, expect: stopped }", (int)pid);
    ASSERT_EQ_INT(probe_run(yaml, &obs, err), 0);
    ASSERT_EQ_INT(obs.outcome, PROBE_FAILED);

    kill(pid, SIGSTOP);
    ASSERT(wait_state(pid, "T", 1));
    ASSERT_EQ_INT(probe_run(yaml, &obs, err), 0);
    ASSERT_EQ_INT(obs.outcome, PROBE_PASSED);
    ASSERT_CONTAINS(obs.observed, "stopped (state T)");
    snprintf(yaml, sizeof yaml, "{ pid: %d }", (int)pid);
    ASSERT_EQ_INT(probe_run(yaml, &obs, err), 0);
    ASSERT_EQ_INT(obs.outcome, PROBE_FAILED);   /* frozen is not alive */

    reap(pid);
    ASSERT_EQ_INT(probe_run(yaml, &obs, err), 0);
    ASSERT_EQ_INT(obs.outcome, PROBE_FAILED);
    ASSERT_CONTAINS(obs.observed, "dead: ");
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\", expect: dead }", arg);
    ASSERT_EQ_INT(probe_run(yaml, &obs, err), 0);
    ASSERT_EQ_INT(obs.outcome, PROBE_PASSED);

    /* could not check is not the same as dead */
    char pidfile[512];
    snprintf(pidfile, sizeof pidfile, "%s/bad.pid", th_tmpdir());
    FILE *fp = fopen(pidfile, "w");
    fputs("garbage\n", fp);
    fclose(fp);
    snprintf(yaml, sizeof yaml, "{ pidfile: \"%s\", expect: dead }", pidfile);
    ASSERT_EQ_INT(probe_run(yaml, &obs, err), -1);
    ASSERT_CONTAINS(err, "does not hold a process id");
}

/* The whole path through `faultline run`: a managed service frozen and resumed, a sleeper
 * killed with SIGTERM and restarted, probes and reports. */
TEST_T(process_plan_end_to_end, 60)
{
    const char *d = th_tmpdir();
    char arg[64];
    unique_sleep_arg(arg, sizeof arg);
    pid_t sleeper = spawn_sleeper(arg);
    char plan[4096], path[600], out[16384];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: process-e2e\nduration: 3s\n"
             "services:\n"
             "  - name: writer\n"
             "    run: [/bin/sh, -c, \"while :; do echo x >> %s/ticks; sleep 0.05; done\"]\n"
             "targets:\n"
             "  w: { process: { service: writer } }\n"
             "  sl: { process: { match: \"sleep %s\" } }\n"
             "steady_state:\n"
             "  - process: { target: w }\n"
             "method:\n"
             "  - { name: freeze, at: 500ms, for: 1s, fault: process.stop, target: w }\n"
             "  - { name: kill, at: 1s, for: 500ms, fault: process.kill, target: sl, signal: SIGTERM,\n"
             "      restart: [sleep, \"%s\"] }\n"
             "probes:\n"
             "  - { name: frozen, during: freeze, every: 300ms, process: { target: w, expect: stopped } }\n"
             "  - { name: sleeper-back, after: kill, process: { match: \"sleep %s\" } }\n",
             d, arg, arg, arg);
    snprintf(path, sizeof path, "%s/p.yaml", d);
    FILE *f = fopen(path, "w");
    fputs(plan, f);
    fclose(f);
    int rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' run -q -o out p.yaml 2>&1", d, d,
                   th_faultline());
    waitpid(sleeper, NULL, WNOHANG);
    /* the restarted sleeper is not our child: find it and end it */
    char yaml[128], err[FL_ERR_LEN];
    snprintf(yaml, sizeof yaml, "{ match: \"sleep %s\" }", arg);
    struct tgt g;
    ASSERT_EQ_INT(tgt_parse(&g, "sl", yaml), 0);
    struct proc_id *ids;
    size_t n;
    ASSERT_EQ_INT(proc_resolve(proc_target_sel(&g.t), NULL, &ids, &n, err), 0);
    for (size_t i = 0; i < n; i++) kill(ids[i].pid, SIGKILL);
    free(ids);
    tgt_release(&g);
    ASSERT_MSG(rc == 0, "faultline run exited %d:\n%s", rc, out);
    ASSERT_EQ_INT(n, 1);   /* exactly one sleeper: the restarted one */

    snprintf(path, sizeof path, "%s/out/run.json", d);
    json_t *run = json_load_file(path, 0, NULL);
    ASSERT_MSG(run, "no run.json:\n%s", out);
    ASSERT_EQ_STR(json_string_value(json_object_get(run, "verdict")), "passed");
    json_t *steps = json_object_get(run, "steps");
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(steps, 0), "status")), "reverted");
    ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(steps, 0), "description")),
                    "freeze (SIGSTOP) target 'w' (service 'writer'): pid ");
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(steps, 1), "status")), "reverted");
    json_t *frozen = json_array_get(json_object_get(run, "probes"), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(frozen, "verdict")), "passed");
    ASSERT(json_integer_value(json_object_get(frozen, "checks")) >= 3);
    json_decref(run);

    /* the reports of this run exist and parse */
    snprintf(path, sizeof path, "%s/out/junit.xml", d);
    ASSERT_MSG(access(path, R_OK) == 0, "no junit.xml: report_write_all() did not call report_junit() "
               "(a weak reference does not pull reports/junit.o out of libfaultline.a)");
    if (th_sh(NULL, 0, "command -v xmllint >/dev/null") == 0)
        ASSERT_EQ_INT(th_sh(out, sizeof out, "xmllint --noout '%s' 2>&1", path), 0);
    ASSERT_EQ_INT(th_sh(out, sizeof out, "grep -c '<testcase ' '%s'", path), 0);
    ASSERT_EQ_INT(atoi(out), 6);   /* steady before/after, 2 reverts, 2 probes */
    snprintf(path, sizeof path, "%s/out/summary.md", d);
    ASSERT_EQ_INT(th_sh(out, sizeof out, "head -n 1 '%s'", path), 0);
    ASSERT_CONTAINS(out, "faultline: process-e2e passed");
}

TEST(process_probe_rejects_bad_expect)
{
    struct diag d;
    diag_init(&d, "t.yaml");
    const char *yaml = "{ pid: 1, expect: zombie }";
    struct node *n = node_parse(yaml, strlen(yaml), &d);
    void *cfg = NULL;
    ASSERT_EQ_INT(probe_process.parse(NULL, n, n, &cfg, &d), -1);
    ASSERT_CONTAINS(d.msgs[0], "expect must be alive, dead or stopped, not 'zombie'");
    node_free(n);
    diag_release(&d);
}
