/* test_crash_matrix.c -- the write-ahead journal against a runner that dies at every moment:
 * for each fault kind with a lasting side effect, the built faultline is ended (a) after the
 * intent and before the effect, (c) after the effect and before the done record, (d) in the
 * middle of the revert -- through the test-only hook FL_TEST_CRASH_AT, which _exits on the
 * spot -- and (b) in the middle of the effect with a real SIGKILL at a real moment (a
 * docker.stop in its grace period, a multi-target stop after the first target, a Swarm scale
 * before convergence, a lock waiting behind another transaction). After each, a new run
 * refuses, `faultline rollback` restores exactly the prior state and says per target what it
 * found, and a second rollback does nothing. Real dockerd, swarm, PostgreSQL, Redis and
 * processes; a container stopped before the plan stays stopped through every docker case.
 * Also: two rollbacks at once, a rollback against a live run, a torn last line. */
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docker_api.h"
#include "dockerfx.h"
#include "harness.h"
#include "pgfx.h"
#include "process.h"

TEST_FILE_USES("docker swarm pg redis"); /* containers, a swarm service and drain, the shared PostgreSQL and Redis */

static const char *const points[] = { "intent", "done", "revert" };
#define NPOINTS 3

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* a fresh folder for one case (its own journal) */
static const char *case_dir(const char *tag)
{
    static char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", th_tmpdir(), tag);
    ASSERT_MSG(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
    return dir;
}

/* write plan (its method: one step) and run it with the crash hook at point: it must end there */
static void crash_run(const char *dir, const char *plan, const char *point)
{
    fx_write_file(dir, "p.yaml", plan);
    char env[64];
    snprintf(env, sizeof env, "FL_TEST_CRASH_AT=%s", point);
    char *envv[] = { env, "FL_TEST_HOOKS=1", NULL };
    char *args[] = { "run", "p.yaml", "-o", "out", NULL };
    int rc = fx_fl_wait(fx_fl_start(dir, envv, args), 90000);
    char *out = fx_slurp(dir, "run.txt");
    ASSERT_MSG(rc == 86, "FL_TEST_CRASH_AT=%s: exit %d, expected 86 (the hook): %s", point, rc, out);
    ASSERT_CONTAINS(out, "FL_TEST_CRASH_AT");
    free(out);
}

/* after a crash: a new run refuses (2) and names rollback; the journal lists the step */
static void refused_until_rollback(const char *dir)
{
    static char out[16384];
    int rc = fx_fl(dir, "run p.yaml -o out2", out, sizeof out);
    ASSERT_MSG(rc == 2, "a run after a crash must refuse (2), got %d: %s", rc, out);
    ASSERT_CONTAINS(out, "faultline rollback");
    rc = fx_fl(dir, "rollback --list", out, sizeof out);
    ASSERT_MSG(rc == 0 && strstr(out, "1 pending"), "rollback --list: exit %d: %s", rc, out);
}

/* `faultline rollback`: exit 0; its output (per target what it found and did) into out */
static void rollback(const char *dir, char *out, size_t n)
{
    int rc = fx_fl(dir, "rollback", out, n);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "settled");
}

/* a second rollback does nothing, and nothing is pending */
static void rollback_again_does_nothing(const char *dir)
{
    static char out[16384];
    int rc = fx_fl(dir, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "second rollback exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "nothing to roll back");
    rc = fx_fl(dir, "rollback --list", out, sizeof out);
    ASSERT_CONTAINS(out, "0 pending");
}

/* wait (bounded) until dir's journal holds at least n records of op */
static void wait_journal(const char *dir, const char *op, int n, pid_t runner)
{
    int64_t deadline = now_ms() + 30000;
    while (fx_journal_count(dir, op) < n) {
        int st;
        if (runner > 0 && waitpid(runner, &st, WNOHANG) == runner) {
            char *out = fx_slurp(dir, "run.txt");
            ASSERT_MSG(0, "faultline ended before the journal had %d '%s': %s", n, op, out);
        }
        ASSERT_MSG(now_ms() < deadline, "no %d '%s' record(s) in the journal after 30 s", n, op);
        usleep(10 * 1000);
    }
}

static pid_t run_bg(const char *dir, const char *plan)
{
    fx_write_file(dir, "p.yaml", plan);
    char *args[] = { "run", "p.yaml", "-o", "out", NULL };
    return fx_fl_start(dir, NULL, args);
}

static void sigkill(pid_t pid)
{
    kill(pid, SIGKILL);
    ASSERT_EQ_INT(fx_fl_wait(pid, 5000), 128 + SIGKILL);
}

/* ---- docker ------------------------------------------------------------------------------- */

static struct docker_client dc;

static void client(void)
{
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_client_init(&dc, th_docker_host(), err) == 0, "client: %s", err);
    ASSERT_MSG(docker_negotiate(&dc, err) == 0, "negotiate: %s", err);
    fx_sweep_containers(&dc, "crash-matrix");
}

static const char *cstate(const char *id)
{
    struct docker_cstate st;
    char err[FL_ERR_LEN];
    if (docker_inspect(&dc, id, &st, NULL, err) < 0) return "gone";
    return docker_state_name(st.state);
}

/* a container whose PID 1 is `sleep` (it ignores SIGTERM, as many PID 1s do: a stop waits
 * the whole grace), labelled flcrash=group; rw_dir bound read-write when given */
static void sleeper(const char *group, const char *tag, const char *rw_dir, char id[72])
{
    char name[128];
    snprintf(name, sizeof name, "fl-crash-%d-%s", (int)getpid(), tag);
    char *argv[] = { "/bin/sleep", "3600", NULL };
    fx_container(&dc, "crash-matrix", name, argv, NULL, rw_dir, json_pack("{s:s}", "flcrash", group), NULL, 1, id);
}

static void remove_all(char ids[][72], int n)
{
    char err[FL_ERR_LEN];
    for (int i = 0; i < n; i++) {
        docker_unpause(&dc, ids[i], err);
        docker_remove(&dc, ids[i], err);
    }
}

/* running A and B, and C stopped before the plan: the docker.stop/kill target */
struct trio { char group[64]; char id[3][72]; };

static void trio_up(struct trio *t, const char *family)
{
    char err[FL_ERR_LEN], tag[64];
    snprintf(t->group, sizeof t->group, "%d-%s", (int)getpid(), family);
    for (int i = 0; i < 3; i++) {
        snprintf(tag, sizeof tag, "%s-%c", family, 'a' + i);
        sleeper(t->group, tag, NULL, t->id[i]);
    }
    ASSERT_MSG(docker_kill(&dc, t->id[2], "SIGKILL", err) == 0, "kill: %s", err);
    for (int i = 0; i < 100 && strcmp(cstate(t->id[2]), "exited") != 0; i++) usleep(20000);
    ASSERT_EQ_STR(cstate(t->id[2]), "exited");
}

/* the prior state exactly: A and B running, C still exited */
static void trio_as_before(const struct trio *t)
{
    ASSERT_EQ_STR(cstate(t->id[0]), "running");
    ASSERT_EQ_STR(cstate(t->id[1]), "running");
    ASSERT_EQ_STR(cstate(t->id[2]), "exited");
}

static void docker_plan(char *plan, size_t n, const char *group, const char *step)
{
    snprintf(plan, n,
             "faultline: 1\nname: crash-docker\nduration: 30s\n"
             "targets:\n  them: { docker: { labels: { flcrash: \"%s\" }, host: \"%s\" } }\n"
             "method:\n  - %s\n",
             group, th_docker_host(), step);
}

TEST_T(crash_docker_stop_at_every_point, 240)
{
    client();
    struct trio t;
    trio_up(&t, "stop");
    static char plan[4096], out[65536];
    docker_plan(plan, sizeof plan, t.group,
                "{ name: them-down, at: 100ms, for: 300ms, fault: docker.stop, target: them, grace: 1s }");
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "stop-%s", points[k]);
        const char *dir = case_dir(tag);
        crash_run(dir, plan, points[k]);
        /* the crash left: (a) nothing done, (c) both stopped, (d) one started again */
        int up = !strcmp(cstate(t.id[0]), "running") + !strcmp(cstate(t.id[1]), "running");
        ASSERT_EQ_INT(up, k == 0 ? 2 : k == 1 ? 0 : 1);
        ASSERT_EQ_STR(cstate(t.id[2]), "exited");
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        trio_as_before(&t);
        ASSERT_CONTAINS(out, "was exited before the plan, found exited: left as it is");
        if (k > 0) ASSERT_CONTAINS(out, "found exited: started");
        else ASSERT_CONTAINS(out, "was running, found running: nothing to do");
        rollback_again_does_nothing(dir);
        trio_as_before(&t);
    }
    remove_all(t.id, 3);
}

/* (b) a real SIGKILL while the engine stops a container that ignores SIGTERM (grace 2s): the
 * stop goes on at the engine after the runner is gone; rollback must wait it out, not judge
 * the container "running, nothing to do" a moment before it exits */
TEST_T(crash_docker_stop_sigkill_during_grace_and_after_first_target, 180)
{
    client();
    struct trio t;
    trio_up(&t, "grace");
    static char plan[4096], out[65536];
    docker_plan(plan, sizeof plan, t.group,
                "{ name: them-down, at: 100ms, for: 20s, fault: docker.stop, target: them, grace: 2s }");

    /* in the first container's grace period */
    const char *dir = case_dir("grace-mid");
    pid_t pid = run_bg(dir, plan);
    wait_journal(dir, "intent", 1, pid);
    usleep(800 * 1000);
    ASSERT_EQ_STR(cstate(t.id[0]), "running");   /* both still in (or before) their stop */
    ASSERT_EQ_STR(cstate(t.id[1]), "running");
    sigkill(pid);
    refused_until_rollback(dir);
    rollback(dir, out, sizeof out);
    ASSERT_CONTAINS(out, "may still be running the stop the dead run asked for");
    ASSERT_CONTAINS(out, "found exited: started");
    trio_as_before(&t);
    usleep(500 * 1000);
    trio_as_before(&t);                        /* no stop lands after the rollback */
    rollback_again_does_nothing(dir);

    /* after the first target, while the engine stops the second */
    dir = case_dir("grace-first");
    pid = run_bg(dir, plan);
    wait_journal(dir, "intent", 1, pid);
    int64_t deadline = now_ms() + 15000;
    while (!strcmp(cstate(t.id[0]), "running") && !strcmp(cstate(t.id[1]), "running")) {
        ASSERT_MSG(now_ms() < deadline, "the first container never stopped");
        usleep(10 * 1000);
    }
    sigkill(pid);
    ASSERT_EQ_INT(!strcmp(cstate(t.id[0]), "exited") + !strcmp(cstate(t.id[1]), "exited"), 1);
    refused_until_rollback(dir);
    rollback(dir, out, sizeof out);
    trio_as_before(&t);
    usleep(500 * 1000);
    trio_as_before(&t);
    rollback_again_does_nothing(dir);
    remove_all(t.id, 3);
}

TEST_T(crash_docker_kill_at_every_point, 120)
{
    client();
    struct trio t;
    trio_up(&t, "kill");
    static char plan[4096], out[65536];
    docker_plan(plan, sizeof plan, t.group, "{ name: them-killed, at: 100ms, for: 300ms, fault: docker.kill, target: them }");
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "kill-%s", points[k]);
        const char *dir = case_dir(tag);
        crash_run(dir, plan, points[k]);
        ASSERT_EQ_STR(cstate(t.id[2]), "exited");
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        trio_as_before(&t);
        ASSERT_CONTAINS(out, "left as it is");
        rollback_again_does_nothing(dir);
        trio_as_before(&t);
    }
    remove_all(t.id, 3);
}

TEST_T(crash_docker_pause_at_every_point, 120)
{
    client();
    char ids[2][72], group[64], err[FL_ERR_LEN];
    snprintf(group, sizeof group, "%d-pause", (int)getpid());
    sleeper(group, "pause-a", NULL, ids[0]);
    sleeper(group, "pause-p", NULL, ids[1]);
    ASSERT_MSG(docker_pause(&dc, ids[1], err) == 0, "pause: %s", err);   /* paused before the plan */
    static char plan[4096], out[65536];
    docker_plan(plan, sizeof plan, group, "{ name: frozen, at: 100ms, for: 300ms, fault: docker.pause, target: them }");
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "pause-%s", points[k]);
        const char *dir = case_dir(tag);
        crash_run(dir, plan, points[k]);
        ASSERT_EQ_STR(cstate(ids[0]), k == 1 ? "paused" : "running");
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        ASSERT_EQ_STR(cstate(ids[0]), "running");
        ASSERT_EQ_STR(cstate(ids[1]), "paused");
        ASSERT_CONTAINS(out, "was paused before the plan, found paused: left as it is");
        if (k == 1) ASSERT_CONTAINS(out, "was running, found paused: unpaused");
        rollback_again_does_nothing(dir);
        ASSERT_EQ_STR(cstate(ids[0]), "running");
        ASSERT_EQ_STR(cstate(ids[1]), "paused");
    }
    remove_all(ids, 2);
}

static int lines_of(const char *dir, const char *name)
{
    char *text = fx_slurp(dir, name);
    int n = 0;
    for (char *p = text; *p; p++) n += *p == '\n';
    free(text);
    return n;
}

static int exists_in(const char *dir, const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

TEST_T(crash_docker_exec_at_every_point, 120)
{
    client();
    const char *root = th_tmpdir();
    char ids[1][72], group[64];
    snprintf(group, sizeof group, "%d-exec", (int)getpid());
    sleeper(group, "exec-a", root, ids[0]);
    static char plan[4096], step[2048], out[65536];
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "dexec-%s", points[k]);
        const char *dir = case_dir(tag);
        snprintf(step, sizeof step,
                 "{ name: marked, at: 100ms, for: 300ms, fault: docker.exec, target: them, command: \"touch %s/on\", "
                 "revert: \"rm -f %s/on; echo x >> %s/reverts\" }", dir, dir, dir);
        docker_plan(plan, sizeof plan, group, step);
        crash_run(dir, plan, points[k]);
        ASSERT_EQ_INT(exists_in(dir, "on"), k == 1);
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        ASSERT_MSG(!exists_in(dir, "on"), "the command's mark is still there after rollback: %s", out);
        /* (a) the command never started: nothing run; (c) rollback ran the revert; (d) the
         * run's revert ran, and rollback does not run it again */
        ASSERT_EQ_INT(lines_of(dir, "reverts"), k == 0 ? 0 : 1);
        ASSERT_CONTAINS(out, k == 0 ? "never started the command" : k == 1 ? "ran the revert command" : "already ran");
        rollback_again_does_nothing(dir);
        ASSERT_EQ_INT(lines_of(dir, "reverts"), k == 0 ? 0 : 1);
    }
    remove_all(ids, 1);
}

/* ---- swarm -------------------------------------------------------------------------------- */

static char self_node[72];

static int64_t replicas_of(const char *ref)
{
    struct docker_service sv;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_service_inspect(&dc, ref, &sv, NULL, err) == 0, "inspect %s: %s", ref, err);
    return sv.replicas;
}

static struct docker_svc_status svc_status(const char *ref)
{
    struct docker_svc_status st;
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_service_status(&dc, ref, &st, err) == 0, "status of %s: %s", ref, err);
    return st;
}

static void converged(const char *ref)
{
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_service_wait_converged(&dc, ref, 30000, NULL, err) == 0, "%s", err);
}

static void swarm_plan(char *plan, size_t n, const char *svc, const char *step)
{
    snprintf(plan, n,
             "faultline: 1\nname: crash-swarm\nduration: 60s\n"
             "targets:\n  web: { swarm: { service: \"%s\", host: \"%s\" } }\n"
             "method:\n  - %s\n",
             svc, th_docker_host(), step);
}

TEST_T(crash_swarm_scale_at_every_point_and_before_convergence, 300)
{
    fx_swarm(&dc, self_node);
    fx_sweep_services(&dc, "crash-matrix");
    char name[96], id[72], err[FL_ERR_LEN];
    snprintf(name, sizeof name, "fl-crash-%d-scale", (int)getpid());
    fx_service(&dc, "crash-matrix", name, 2, NULL, id);
    converged(id);
    static char plan[4096], out[65536];
    swarm_plan(plan, sizeof plan, name,
               "{ name: fewer, at: 100ms, for: 300ms, fault: swarm.scale, target: web, to: 0, converge_within: 30s }");
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "scale-%s", points[k]);
        const char *dir = case_dir(tag);
        crash_run(dir, plan, points[k]);
        ASSERT_EQ_INT(replicas_of(id), k == 1 ? 0 : 2);
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        ASSERT_EQ_INT(replicas_of(id), 2);
        converged(id);
        ASSERT_EQ_INT(svc_status(id).running, 2);
        ASSERT_CONTAINS(out, k == 1 ? "found 0: scaled back to 2" : "was 2 replicas, found 2: nothing to do");
        rollback_again_does_nothing(dir);
        ASSERT_EQ_INT(replicas_of(id), 2);
    }

    /* (b) SIGKILL the moment the scale is in, before the engine has converged */
    const char *dir = case_dir("scale-mid");
    swarm_plan(plan, sizeof plan, name,
               "{ name: fewer, at: 100ms, for: 20s, fault: swarm.scale, target: web, to: 0, converge_within: 30s }");
    pid_t pid = run_bg(dir, plan);
    wait_journal(dir, "intent", 1, pid);
    int64_t deadline = now_ms() + 10000;
    while (replicas_of(id) != 0) {
        ASSERT_MSG(now_ms() < deadline, "the scale never came");
        usleep(5000);
    }
    sigkill(pid);
    struct docker_svc_status st = svc_status(id);
    ASSERT_MSG(!st.converged, "the engine converged before the SIGKILL (%lld running, %lld stopping): the case "
               "needs it mid-way", (long long)st.running, (long long)st.stopping);
    refused_until_rollback(dir);
    rollback(dir, out, sizeof out);
    ASSERT_CONTAINS(out, "found 0: scaled back to 2");
    ASSERT_CONTAINS(out, "converged again");
    ASSERT_EQ_INT(replicas_of(id), 2);
    ASSERT_EQ_INT(svc_status(id).running, 2);
    rollback_again_does_nothing(dir);
    docker_service_remove(&dc, id, err);
}

TEST_T(crash_swarm_drain_at_every_point, 240)
{
    fx_swarm(&dc, self_node);
    fx_sweep_services(&dc, "crash-matrix");
    char name[96], id[72], err[FL_ERR_LEN];
    snprintf(name, sizeof name, "fl-crash-%d-drain", (int)getpid());
    fx_service(&dc, "crash-matrix", name, 1, NULL, id);
    converged(id);
    static char plan[4096], out[65536];
    swarm_plan(plan, sizeof plan, name,
               "{ name: node-out, at: 100ms, for: 300ms, fault: swarm.drain, target: web, converge_within: 30s }");
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "drain-%s", points[k]);
        const char *dir = case_dir(tag);
        crash_run(dir, plan, points[k]);
        struct docker_node nd;
        ASSERT_MSG(docker_node_inspect(&dc, self_node, &nd, NULL, err) == 0, "node: %s", err);
        ASSERT_EQ_STR(nd.availability, k == 1 ? "drain" : "active");
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        ASSERT_MSG(docker_node_inspect(&dc, self_node, &nd, NULL, err) == 0, "node: %s", err);
        ASSERT_EQ_STR(nd.availability, "active");
        ASSERT_CONTAINS(out, k == 1 ? "found drain: set back to active" : "was active, found active: nothing to do");
        converged(id);
        rollback_again_does_nothing(dir);
    }
    docker_service_remove(&dc, id, err);
}

/* ---- processes ------------------------------------------------------------------------------ */

static pid_t spawn_sleep(const char *arg)
{
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        execlp("sleep", "sleep", arg, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static char proc_state_of(pid_t pid)
{
    struct proc_id id;
    if (proc_stat(pid, &id) < 0) return '-';
    return id.state;
}

static void wait_proc_state(pid_t pid, char want)
{
    for (int i = 0; i < 200 && proc_state_of(pid) != want; i++) usleep(5000);
    ASSERT_MSG(proc_state_of(pid) == want, "pid %d: state %c, expected %c", (int)pid, proc_state_of(pid), want);
}

/* the processes whose command line is exactly cmd */
static size_t matching(const char *cmd, pid_t *first)
{
    struct proc_sel sel = { .kind = PROC_SEL_MATCH, .text = (char *)cmd };
    struct proc_id *ids = NULL;
    size_t n = 0;
    char err[FL_ERR_LEN];
    ASSERT_MSG(proc_resolve(&sel, NULL, &ids, &n, err) == 0, "resolve: %s", err);
    if (first) *first = n ? ids[0].pid : 0;
    free(ids);
    return n;
}

TEST_T(crash_process_stop_at_every_point, 90)
{
    char arg[32], plan[2048], cmd[64];
    snprintf(arg, sizeof arg, "9%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "sleep %s", arg);
    pid_t run = spawn_sleep(arg), pre = spawn_sleep(arg);
    for (int i = 0; i < 200 && matching(cmd, NULL) < 2; i++) usleep(5000);   /* both past their exec */
    ASSERT_EQ_INT(matching(cmd, NULL), 2);
    kill(pre, SIGSTOP);                        /* stopped before the plan: it stays stopped */
    wait_proc_state(pre, 'T');
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-proc\nduration: 10s\n"
             "targets:\n  sleepers: { process: { match: \"sleep %s\", all: true } }\n"
             "method:\n  - { name: frozen, at: 100ms, for: 300ms, fault: process.stop, target: sleepers }\n", arg);
    static char out[65536];
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "pstop-%s", points[k]);
        const char *dir = case_dir(tag);
        crash_run(dir, plan, points[k]);
        ASSERT_EQ_INT(proc_state_of(run), k == 1 ? 'T' : 'S');
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        wait_proc_state(run, 'S');
        ASSERT_EQ_INT(proc_state_of(pre), 'T');
        ASSERT_CONTAINS(out, "was already stopped before the plan: left as it is");
        ASSERT_CONTAINS(out, k == 1 ? "found stopped: resumed (SIGCONT)" : "found running (state S): nothing to do");
        rollback_again_does_nothing(dir);
        ASSERT_EQ_INT(proc_state_of(pre), 'T');
    }
    kill(run, SIGKILL);
    kill(pre, SIGKILL);
    waitpid(run, NULL, 0);
    waitpid(pre, NULL, 0);
}

TEST_T(crash_process_kill_restart_at_every_point, 90)
{
    char arg[32], plan[2048], cmd[64];
    snprintf(arg, sizeof arg, "8%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "sleep %s", arg);
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-kill\nduration: 10s\n"
             "targets:\n  sleeper: { process: { match: \"sleep %s\" } }\n"
             "method:\n  - { name: killed, at: 100ms, for: 300ms, fault: process.kill, target: sleeper, signal: SIGTERM, "
             "restart: \"exec sleep %s\" }\n", arg, arg);
    static char out[65536];
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "pkill-%s", points[k]);
        const char *dir = case_dir(tag);
        pid_t victim = 0;
        if (matching(cmd, &victim) == 0) victim = spawn_sleep(arg);
        usleep(20000);
        crash_run(dir, plan, points[k]);
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        pid_t now = 0;
        ASSERT_MSG(matching(cmd, &now) == 1, "after rollback, not exactly one '%s': %s", cmd, out);
        ASSERT_CONTAINS(out, k == 0 ? "nothing ended: nothing to restart" : k == 1 ? "ran the restart: command"
                                                                                  : "already restarted it");
        rollback_again_does_nothing(dir);
        ASSERT_EQ_INT(matching(cmd, NULL), 1);
        waitpid(-1, NULL, WNOHANG);            /* the first victim, our child, once killed */
    }
    pid_t last = 0;
    while (matching(cmd, &last) > 0) { kill(last, SIGKILL); usleep(20000); waitpid(-1, NULL, WNOHANG); }
}

/* ---- Redis, PostgreSQL ------------------------------------------------------------------------ */

static void redis_str(int port, const char *cmd, char *out, size_t n)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    ASSERT(c && !c->err);
    redisReply *r = redisCommand(c, cmd);
    ASSERT_MSG(r, "redis %s: no reply", cmd);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) snprintf(out, n, "%s", r->element[1]->str);
    else snprintf(out, n, "%s", r->str ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
}

TEST_T(crash_redis_maxmemory_and_pause_at_every_point, 120)
{
    int port = th_free_port();
    pid_t srv = fx_redis_server(port);
    char v[64], plan[2048];
    redis_str(port, "CONFIG SET maxmemory 123456789", v, sizeof v);
    static char out[65536];
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "maxmem-%s", points[k]);
        const char *dir = case_dir(tag);
        snprintf(plan, sizeof plan,
                 "faultline: 1\nname: crash-redis\nduration: 10s\n"
                 "targets:\n  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
                 "method:\n  - { name: squeezed, at: 100ms, for: 300ms, fault: redis.maxmemory, target: cache, bytes: 1mb }\n",
                 port);
        crash_run(dir, plan, points[k]);
        redis_str(port, "CONFIG GET maxmemory", v, sizeof v);
        ASSERT_EQ_STR(v, k == 1 ? "1048576" : "123456789");
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        redis_str(port, "CONFIG GET maxmemory", v, sizeof v);
        ASSERT_EQ_STR(v, "123456789");
        ASSERT_CONTAINS(out, k == 1 ? "found 1048576: set back to 123456789" : "found 123456789: nothing to do");
        rollback_again_does_nothing(dir);
    }
    /* a pause of writes for 30s: (c) leaves it on and rollback lifts it; (d) with a short
     * window the run's revert had lifted it */
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "pause-%s", points[k]);
        const char *dir = case_dir(tag);
        snprintf(plan, sizeof plan,
                 "faultline: 1\nname: crash-redis\nduration: 40s\n"
                 "targets:\n  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
                 "method:\n  - { name: held, at: 100ms, for: %s, fault: redis.pause, target: cache, mode: write }\n",
                 port, k == 2 ? "300ms" : "30s");
        crash_run(dir, plan, points[k]);
        ASSERT_EQ_INT(fx_redis_write(port, 300), k == 1 ? 0 : 1);
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        ASSERT_EQ_INT(fx_redis_write(port, 1000), 1);
        rollback_again_does_nothing(dir);
        ASSERT_EQ_INT(fx_redis_write(port, 1000), 1);
    }
    fx_stop_pid(srv);
}

static int sessions(PGconn *obs, const char *kind)
{
    char sql[256];
    snprintf(sql, sizeof sql, "select count(*) from pg_stat_activity where application_name like 'faultline-%s-%%'", kind);
    return atoi(pgfx_q1(obs, sql));
}

/* can a session take the table in ACCESS EXCLUSIVE mode within 1s? */
static int lockable(PGconn *c, const char *table)
{
    char sql[256];
    pgfx_q1(c, "set lock_timeout = '1s'");
    pgfx_q1(c, "begin");
    snprintf(sql, sizeof sql, "lock table %s in access exclusive mode", table);
    int ok = strcmp(pgfx_q1(c, sql), "(none)") == 0;
    pgfx_q1(c, "rollback");
    return ok;
}

static void wait_no_sessions(PGconn *obs, const char *kind)
{
    for (int i = 0; i < 100 && sessions(obs, kind) > 0; i++) usleep(20000);
    ASSERT_EQ_INT(sessions(obs, kind), 0);
}

TEST_T(crash_postgres_lock_and_exhaust_at_every_point, 120)
{
    PGconn *obs = pgfx_connect(NULL);
    char table[64], sql[256], plan[2048];
    snprintf(table, sizeof table, "fl_crash_%d", (int)getpid());
    snprintf(sql, sizeof sql, "create table %s (x int)", table);
    ASSERT_EQ_STR(pgfx_q1(obs, sql), "(none)");
    static char out[65536];
    const char *steps[2] = { "{ name: held, at: 100ms, for: 300ms, fault: postgres.lock, target: db, table: %s }",
                             "{ name: full, at: 100ms, for: 300ms, fault: postgres.exhaust, target: db, connections: 5 }" };
    const char *kinds[2] = { "lock", "exhaust" };
    for (int f = 0; f < 2; f++) {
        for (int k = 0; k < NPOINTS; k++) {
            char tag[32], step[256];
            snprintf(tag, sizeof tag, "pg%s-%s", kinds[f], points[k]);
            const char *dir = case_dir(tag);
            snprintf(step, sizeof step, steps[f], table);
            snprintf(plan, sizeof plan,
                     "faultline: 1\nname: crash-pg\nduration: 10s\n"
                     "targets:\n  db: { postgres: { dsn: \"%s\" } }\nmethod:\n  - %s\n", th_pg_dsn(), step);
            crash_run(dir, plan, points[k]);
            refused_until_rollback(dir);
            rollback(dir, out, sizeof out);
            wait_no_sessions(obs, kinds[f]);
            ASSERT(lockable(obs, table));
            rollback_again_does_nothing(dir);
        }
    }
    snprintf(sql, sizeof sql, "drop table %s", table);
    pgfx_q1(obs, sql);
    PQfinish(obs);
}

/* (b) the lock waits behind another transaction when the runner is killed: its backend does
 * not read the socket while it waits, so it outlives the runner in the lock queue -- and
 * every reader queues behind it. Rollback finds and ends it. */
TEST_T(crash_postgres_lock_waiting_behind_a_transaction, 90)
{
    PGconn *obs = pgfx_connect(NULL), *blocker = pgfx_connect(NULL), *reader = pgfx_connect(NULL);
    char table[64], sql[256], plan[2048];
    snprintf(table, sizeof table, "fl_crash_w_%d", (int)getpid());
    snprintf(sql, sizeof sql, "create table %s (x int)", table);
    ASSERT_EQ_STR(pgfx_q1(obs, sql), "(none)");
    ASSERT_EQ_STR(pgfx_q1(blocker, "begin"), "(none)");
    snprintf(sql, sizeof sql, "lock table %s in access share mode", table);
    ASSERT_EQ_STR(pgfx_q1(blocker, sql), "(none)");
    const char *dir = case_dir("pg-waiting");
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-pg\nduration: 30s\n"
             "targets:\n  db: { postgres: { dsn: \"%s\" } }\n"
             "method:\n  - { name: held, at: 100ms, for: 20s, fault: postgres.lock, target: db, table: %s }\n",
             th_pg_dsn(), table);
    pid_t pid = run_bg(dir, plan);
    wait_journal(dir, "intent", 1, pid);
    int64_t deadline = now_ms() + 10000;
    while (atoi(pgfx_q1(obs, "select count(*) from pg_stat_activity where application_name like 'faultline-lock-%' "
                        "and wait_event_type = 'Lock'")) != 1) {
        ASSERT_MSG(now_ms() < deadline, "the lock never queued behind the transaction");
        usleep(10000);
    }
    sigkill(pid);
    usleep(300 * 1000);
    ASSERT_EQ_INT(sessions(obs, "lock"), 1);    /* it outlived the runner */
    pgfx_q1(reader, "set lock_timeout = '500ms'");
    snprintf(sql, sizeof sql, "select count(*) from %s", table);
    ASSERT_CONTAINS(pgfx_q1(reader, sql), "ERROR:");   /* readers queue behind it */
    refused_until_rollback(dir);
    static char out[65536];
    rollback(dir, out, sizeof out);
    ASSERT_CONTAINS(out, "waiting for a lock) outlived the run: terminated");
    wait_no_sessions(obs, "lock");
    ASSERT_EQ_STR(pgfx_q1(reader, sql), "0");          /* readers pass again; the other transaction still holds */
    rollback_again_does_nothing(dir);
    pgfx_q1(blocker, "rollback");
    snprintf(sql, sizeof sql, "drop table %s", table);
    pgfx_q1(obs, sql);
    PQfinish(reader);
    PQfinish(blocker);
    PQfinish(obs);
}

/* ---- exec, proxy, services, and kinds that leave nothing lasting ---------------------------- */

TEST_T(crash_exec_fault_at_every_point, 60)
{
    static char plan[2048], out[65536];
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "exec-%s", points[k]);
        const char *dir = case_dir(tag);
        snprintf(plan, sizeof plan,
                 "faultline: 1\nname: crash-exec\nduration: 10s\n"
                 "method:\n  - { name: marked, at: 100ms, for: 300ms, fault: exec, run: \"touch %s/on\", "
                 "revert: \"rm -f %s/on; echo x >> %s/reverts\" }\n", dir, dir, dir);
        crash_run(dir, plan, points[k]);
        ASSERT_EQ_INT(exists_in(dir, "on"), k == 1);
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        ASSERT(!exists_in(dir, "on"));
        ASSERT_EQ_INT(lines_of(dir, "reverts"), k == 0 ? 0 : 1);
        ASSERT_CONTAINS(out, k == 0 ? "never started the run: command" : k == 1 ? "ran the revert command" : "already ran");
        rollback_again_does_nothing(dir);
        ASSERT_EQ_INT(lines_of(dir, "reverts"), k == 0 ? 0 : 1);
    }
}

TEST_T(crash_proxy_toxic_says_nothing_outlives_the_runner, 60)
{
    static char plan[2048], out[65536];
    for (int k = 0; k < NPOINTS; k++) {
        char tag[32];
        snprintf(tag, sizeof tag, "proxy-%s", points[k]);
        const char *dir = case_dir(tag);
        int listen = th_free_port(), up = th_free_port();
        snprintf(plan, sizeof plan,
                 "faultline: 1\nname: crash-proxy\nduration: 10s\n"
                 "targets:\n  link: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
                 "method:\n  - { name: slow, at: 100ms, for: 300ms, fault: proxy.latency, target: link, latency: 1s }\n",
                 listen, up);
        crash_run(dir, plan, points[k]);
        refused_until_rollback(dir);
        rollback(dir, out, sizeof out);
        ASSERT_CONTAINS(out, "nothing to undo");
        ASSERT_CONTAINS(out, "lived inside faultline process");
        ASSERT_CONTAINS(out, "which is gone");
        ASSERT_EQ_INT(fx_redis_ping(listen, 500), 0);   /* nobody listens: the proxy went with it */
        rollback_again_does_nothing(dir);
    }
}

TEST_T(crash_services_started_by_the_plan, 60)
{
    char arg[32], cmd[64], plan[2048];
    snprintf(arg, sizeof arg, "7%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "sleep %s", arg);
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-svc\nduration: 10s\n"
             "services:\n  - { name: napper, run: [sleep, \"%s\"] }\n"
             "method:\n  - { name: marked, at: 100ms, for: 300ms, fault: exec, run: \"true\" }\n", arg);
    static char out[65536];
    /* between the service's record and its exec: the command never runs */
    const char *dir = case_dir("svc-gate");
    crash_run(dir, plan, "service");
    usleep(100 * 1000);
    ASSERT_EQ_INT(matching(cmd, NULL), 0);
    refused_until_rollback(dir);
    rollback(dir, out, sizeof out);
    ASSERT_CONTAINS(out, "never got past its start");
    rollback_again_does_nothing(dir);
    /* with the service running: rollback stops what the dead run left */
    dir = case_dir("svc-running");
    crash_run(dir, plan, "intent");
    ASSERT_EQ_INT(matching(cmd, NULL), 1);
    static char listed[16384];
    ASSERT_EQ_INT(fx_fl(dir, "rollback --list", listed, sizeof listed), 0);
    ASSERT_CONTAINS(listed, "service napper");
    ASSERT_CONTAINS(listed, "2 pending");
    ASSERT_EQ_INT(fx_fl(dir, "rollback", out, sizeof out), 0);
    ASSERT_CONTAINS(out, "found running, left behind by the dead run: stopped");
    for (int i = 0; i < 100 && matching(cmd, NULL) > 0; i++) usleep(20000);
    ASSERT_EQ_INT(matching(cmd, NULL), 0);
    rollback_again_does_nothing(dir);
}

TEST_T(crash_kinds_without_lasting_effect_say_so, 60)
{
    int port = th_free_port();
    pid_t srv = fx_redis_server(port);
    static char plan[2048], out[65536];
    const char *dir = case_dir("kill-clients");
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-nothing\nduration: 10s\n"
             "targets:\n  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
             "method:\n  - { name: cut, at: 100ms, fault: redis.kill_clients, target: cache }\n", port);
    crash_run(dir, plan, "done");
    rollback(dir, out, sizeof out);
    ASSERT_CONTAINS(out, "nothing to undo: closed client connections are reopened by the clients");
    rollback_again_does_nothing(dir);
    dir = case_dir("terminate");
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-nothing\nduration: 10s\n"
             "targets:\n  db: { postgres: { dsn: \"%s\" } }\n"
             "method:\n  - { name: cut, at: 100ms, fault: postgres.terminate, target: db, application_name: nobody }\n",
             th_pg_dsn());
    crash_run(dir, plan, "intent");
    rollback(dir, out, sizeof out);
    ASSERT_CONTAINS(out, "nothing to undo: a terminated backend is not brought back");
    rollback_again_does_nothing(dir);
    fx_stop_pid(srv);
}

/* ---- the lock, and a torn journal --------------------------------------------------------------- */

TEST_T(crash_two_rollbacks_at_once_and_one_against_a_live_run, 90)
{
    static char plan[2048], out[65536];
    const char *dir = case_dir("twice");
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-twice\nduration: 10s\n"
             "method:\n  - { name: marked, at: 100ms, for: 5s, fault: exec, run: \"touch %s/on\", "
             "revert: \"sleep 2; rm -f %s/on; echo x >> %s/reverts\" }\n", dir, dir, dir);
    crash_run(dir, plan, "done");
    char *args[] = { "rollback", NULL };
    pid_t first = fx_fl_start(dir, NULL, args);
    usleep(500 * 1000);                        /* the first holds the journal, its revert sleeping */
    int rc = fx_fl(dir, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "the second rollback: exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "in use by another rollback");
    ASSERT_CONTAINS(out, "nothing to roll back");
    ASSERT_EQ_INT(fx_fl_wait(first, 30000), 0);
    char *o1 = fx_slurp(dir, "run.txt");
    ASSERT_CONTAINS(o1, "ran the revert command");
    free(o1);
    ASSERT_EQ_INT(lines_of(dir, "reverts"), 1);
    ASSERT(!exists_in(dir, "on"));

    /* a run holds the journal: rollback refuses instead of fighting it */
    pid_t run = run_bg(dir, plan);
    wait_journal(dir, "intent", 2, run);
    rc = fx_fl(dir, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 2, "rollback against a live run: exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "in use by a faultline run");
    kill(run, SIGINT);
    ASSERT_EQ_INT(fx_fl_wait(run, 30000), 3);
    ASSERT(!exists_in(dir, "on"));
    rollback_again_does_nothing(dir);
}

TEST_T(crash_torn_last_line_is_reported_and_the_rest_honoured, 60)
{
    static char plan[2048], out[65536];
    const char *dir = case_dir("torn");
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: crash-torn\nduration: 3s\n"
             "method:\n  - { name: marked, at: 100ms, for: 300ms, fault: exec, run: \"touch %s/on\", "
             "revert: \"rm -f %s/on; echo x >> %s/reverts\" }\n", dir, dir, dir);
    crash_run(dir, plan, "done");
    /* power lost while the next record was written: half a line, no end of line */
    char path[700];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    FILE *f = fopen(path, "a");
    ASSERT(f);
    fputs("{\"op\":\"reverted\",\"run\":\"", f);
    fclose(f);
    int rc = fx_fl(dir, "rollback --list", out, sizeof out);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "is torn");
    ASSERT_CONTAINS(out, "1 pending");
    rollback(dir, out, sizeof out);
    ASSERT_CONTAINS(out, "torn");
    ASSERT_CONTAINS(out, "ran the revert command");
    ASSERT(!exists_in(dir, "on"));
    ASSERT_EQ_INT(lines_of(dir, "reverts"), 1);
    rollback_again_does_nothing(dir);
    /* the fragment was ended before anything was appended: every later record is whole, and
     * a new run goes through */
    char *text = fx_slurp(dir, "journal.jsonl");
    char *frag = strstr(text, "{\"op\":\"reverted\",\"run\":\"\n");
    ASSERT_MSG(frag, "the torn fragment was not ended with a newline: %s", text);
    free(text);
    rc = fx_fl(dir, "run p.yaml -o out3", out, sizeof out);
    ASSERT_MSG(rc == 0, "a run after the repaired journal: exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "not a whole journal record");
    ASSERT_EQ_INT(lines_of(dir, "reverts"), 2);
}
