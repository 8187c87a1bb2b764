/* test_never_broken.c -- faultline never leaves things broken: the built binary against a real
 * dockerd (a hostbin container running redis-server), a redis-server of the test's own (the
 * shared one of tests/run.sh is not paused: other tests use it) and a fault proxy in front of
 * it. SIGKILL mid-fault then `faultline rollback`; SIGINT (once, twice); a target that
 * vanished; --dry-run; --timeout; max_faults; require_label. */
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <jansson.h>
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

TEST_FILE_USES("docker"); /* its own containers, redis-server and proxy */

/* ---- docker fixtures (the approach of test_docker.c) --------------------------------------- */

static struct docker_client dc;

static void client(void)
{
    char err[FL_ERR_LEN];
    const char *host = th_docker_host();
    ASSERT_MSG(docker_client_init(&dc, host, err) == 0, "client: %s", err);
    ASSERT_MSG(docker_negotiate(&dc, err) == 0, "negotiate: %s", err);
}

static void sweep(void) { fx_sweep_containers(&dc, "never-broken"); }

static int redis_ping(int port, int timeout_ms) { return fx_redis_ping(port, timeout_ms); }

static int redis_write(int port, int timeout_ms) { return fx_redis_write(port, timeout_ms); }

/* a hostbin container running redis-server on port (host network), labelled for sweep() */
static void mk_redis_container(const char *tag, int port, json_t *labels, char id[72])
{
    char name[96], p[16];
    snprintf(name, sizeof name, "fl-test-%d-%s", (int)getpid(), tag);
    snprintf(p, sizeof p, "%d", port);
    char *argv[] = { "/usr/bin/redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     NULL };
    fx_container(&dc, "never-broken", name, argv, NULL, NULL, labels, NULL, 1, id);
    fx_wait_pong(port);
}

static const char *cstate(const char *id)
{
    struct docker_cstate st;
    char err[FL_ERR_LEN];
    if (docker_inspect(&dc, id, &st, NULL, err) < 0) return "gone";
    return docker_state_name(st.state);
}

/* ---- processes ---------------------------------------------------------------------------------- */

static pid_t start_redis(int port) { return fx_redis_server(port); }
static void stop_pid(pid_t pid) { fx_stop_pid(pid); }
static int fl_wait(pid_t pid, int timeout_ms) { return fx_fl_wait(pid, timeout_ms); }
static int fl(const char *dir, const char *args, char *out, size_t outlen) { return fx_fl(dir, args, out, outlen); }
static void write_plan(const char *dir, const char *text) { fx_write_file(dir, "p.yaml", text); }
static char *slurp(const char *dir, const char *name) { return fx_slurp(dir, name); }
static int journal_count(const char *dir, const char *op) { return fx_journal_count(dir, op); }

/* `faultline run p.yaml -o out [extra]` in dir, in the background, output to dir/run.txt */
static pid_t fl_start(const char *dir, const char *extra)
{
    char *args[] = { "run", "p.yaml", "-o", "out", (char *)extra, NULL };
    return fx_fl_start(dir, NULL, args);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the three faults at once ------------------------------------------------------------------ */

struct rig {
    const char *dir;
    char cid[72];          /* the container (redis-server on cport) */
    int cport;
    pid_t redis;           /* the test's redis-server on rport */
    int rport;
    int pport;             /* the proxy faultline listens on, upstream rport */
};

static void rig_up(struct rig *r, const char *tag)
{
    client();
    sweep();
    r->dir = th_tmpdir();
    r->cport = th_free_port();
    r->rport = th_free_port();
    r->pport = th_free_port();
    mk_redis_container(tag, r->cport, json_pack("{s:s}", "faultline.allow", "yes"), r->cid);
    r->redis = start_redis(r->rport);
}

static void rig_down(struct rig *r)
{
    char err[FL_ERR_LEN];
    docker_remove(&dc, r->cid, err);
    stop_pid(r->redis);
    docker_client_release(&dc);
}

/* the plan: docker.stop, redis.pause (mode write: reads still answer, CLIENT UNPAUSE too) and
 * proxy.timeout at 200ms, for longer than any test waits; extra lines appended to method: */
static void rig_plan(const struct rig *r, const char *extra_steps)
{
    char plan[4096];
    snprintf(plan, sizeof plan,
             "faultline: 1\n"
             "name: never-broken\n"
             "duration: 90s\n"
             "require_label: faultline.allow=yes\n"
             "targets:\n"
             "  cache: { docker: { container: %s, host: \"%s\" } }\n"
             "  queue: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
             "  link:  { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
             "method:\n"
             "  - { name: cache-down, at: 200ms, for: 80s, fault: docker.stop, target: cache, grace: 1s }\n"
             "  - { name: queue-paused, at: 200ms, for: 80s, fault: redis.pause, target: queue, mode: write }\n"
             "  - { name: link-held, at: 200ms, for: 80s, fault: proxy.timeout, target: link }\n"
             "%s",
             r->cid, th_docker_host(), r->rport, r->pport, r->rport, extra_steps ? extra_steps : "");
    write_plan(r->dir, plan);
}

/* wait until every fault acts: container stopped, writes held, nothing through the proxy
 * (the journal has the inject records before the faults act: poll the effects themselves) */
static void rig_wait_broken(const struct rig *r, pid_t fl_pid, int nfaults)
{
    int64_t deadline = now_ms() + 20000;
    while (journal_count(r->dir, "intent") < nfaults || strcmp(cstate(r->cid), "exited") != 0 ||
           redis_write(r->rport, 300) != 0 || redis_ping(r->pport, 300) != -1) {
        int st;
        if (waitpid(fl_pid, &st, WNOHANG) == fl_pid) {
            char *out = slurp(r->dir, "run.txt");
            ASSERT_MSG(0, "faultline ended before the faults were in: %s", out);
        }
        ASSERT_MSG(now_ms() < deadline, "faults not in after 20 s (container %s, %d injects)", cstate(r->cid),
                   journal_count(r->dir, "intent"));
        usleep(50 * 1000);
    }
    ASSERT_EQ_INT(redis_ping(r->rport, 1000), 1);    /* reads answer under a write pause */
    ASSERT_EQ_INT(redis_write(r->rport, 300), 0);    /* writes wait */
    ASSERT_EQ_INT(redis_ping(r->pport, 300), -1);    /* the proxy accepts but holds the data */
    ASSERT_EQ_INT(redis_ping(r->cport, 300), 0);     /* the container's redis is down */
}

/* everything as it was: the container runs its redis, writes answer, the upstream directly */
static void rig_assert_restored(const struct rig *r)
{
    ASSERT_EQ_STR(cstate(r->cid), "running");
    fx_wait_pong(r->cport);
    ASSERT_EQ_INT(redis_write(r->rport, 2000), 1);
    ASSERT_EQ_INT(redis_ping(r->rport, 1000), 1);
}

TEST_T(never_broken_sigkill_then_rollback_restores_all, 150)
{
    struct rig r;
    rig_up(&r, "kill");
    rig_plan(&r, NULL);
    pid_t pid = fl_start(r.dir, NULL);
    rig_wait_broken(&r, pid, 3);
    kill(pid, SIGKILL);
    ASSERT_EQ_INT(fl_wait(pid, 5000), 128 + SIGKILL);

    /* nothing reverted itself; the proxy went with the process */
    ASSERT_EQ_STR(cstate(r.cid), "exited");
    ASSERT_EQ_INT(redis_write(r.rport, 300), 0);
    ASSERT_EQ_INT(redis_ping(r.pport, 1000), 0);
    ASSERT_EQ_INT(journal_count(r.dir, "reverted"), 0);

    static char out[16384];
    int rc = fl(r.dir, "rollback --list", out, sizeof out);
    ASSERT_MSG(rc == 0, "rollback --list exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "3 pending");
    /* a new run refuses and says how to roll back */
    rc = fl(r.dir, "run p.yaml -o out2", out, sizeof out);
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "faultline rollback");
    ASSERT_EQ_STR(cstate(r.cid), "exited");

    rc = fl(r.dir, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "cache-down");
    ASSERT_CONTAINS(out, "queue-paused");
    rig_assert_restored(&r);
    ASSERT_EQ_INT(redis_ping(r.pport, 1000), 0); /* no proxy left behind */

    /* twice is harmless: nothing pending, nothing touched */
    rc = fl(r.dir, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "second rollback exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "nothing");
    rc = fl(r.dir, "rollback --list", out, sizeof out);
    ASSERT_CONTAINS(out, "0 pending");
    rig_assert_restored(&r);
    rig_down(&r);
}

TEST_T(never_broken_sigint_reverts_all_then_exit_3, 150)
{
    struct rig r;
    rig_up(&r, "int");
    rig_plan(&r, NULL);
    pid_t pid = fl_start(r.dir, NULL);
    rig_wait_broken(&r, pid, 3);
    kill(pid, SIGINT);
    int rc = fl_wait(pid, 60000);
    char *out = slurp(r.dir, "run.txt");
    ASSERT_MSG(rc == 3, "SIGINT: exit %d, expected 3: %s", rc, out);
    free(out);
    rig_assert_restored(&r);
    ASSERT_EQ_INT(redis_ping(r.pport, 1000), 0);
    ASSERT_EQ_INT(journal_count(r.dir, "reverted"), 3);
    static char buf[8192];
    fl(r.dir, "rollback --list", buf, sizeof buf);
    ASSERT_CONTAINS(buf, "0 pending");
    rig_down(&r);
}

TEST_T(never_broken_second_sigint_during_slow_revert_still_reverts, 150)
{
    struct rig r;
    rig_up(&r, "int2");
    char steps[1024], marker[600];
    snprintf(marker, sizeof marker, "%s/slow-reverted", th_tmpdir());
    /* a fourth fault whose revert takes 3 s: the second SIGINT lands while it runs */
    snprintf(steps, sizeof steps,
             "  - { name: slow, at: 200ms, for: 80s, fault: exec, run: \"true\", revert: \"sleep 3; touch %s\" }\n",
             marker);
    rig_plan(&r, steps);
    pid_t pid = fl_start(r.dir, NULL);
    rig_wait_broken(&r, pid, 4);
    kill(pid, SIGINT);
    usleep(800 * 1000);
    kill(pid, SIGINT);
    int rc = fl_wait(pid, 60000);
    char *out = slurp(r.dir, "run.txt");
    ASSERT_MSG(rc == 3, "two SIGINTs: exit %d, expected 3: %s", rc, out);
    free(out);
    ASSERT_MSG(access(marker, F_OK) == 0, "the slow revert did not finish after the second SIGINT");
    rig_assert_restored(&r);
    ASSERT_EQ_INT(journal_count(r.dir, "reverted"), 4);
    rig_down(&r);
}

TEST_T(never_broken_vanished_targets_are_reported, 150)
{
    struct rig r;
    rig_up(&r, "gone");
    /* a process stopped with SIGSTOP, killed mid-fault */
    pid_t victim = fork();
    ASSERT(victim >= 0);
    if (victim == 0) {
        execlp("sleep", "sleep", "600", (char *)NULL);
        _exit(127);
    }
    char plan[4096];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: vanished\nduration: 90s\n"
             "targets:\n"
             "  cache: { docker: { container: %s, host: \"%s\" } }\n"
             "  sleeper: { process: { pid: %d } }\n"
             "method:\n"
             "  - { name: cache-down, at: 200ms, for: 80s, fault: docker.stop, target: cache, grace: 1s }\n"
             "  - { name: sleeper-stopped, at: 200ms, for: 80s, fault: process.stop, target: sleeper }\n",
             r.cid, th_docker_host(), (int)victim);
    write_plan(r.dir, plan);
    pid_t pid = fl_start(r.dir, NULL);
    int64_t deadline = now_ms() + 20000;
    while (journal_count(r.dir, "intent") < 2 || strcmp(cstate(r.cid), "exited") != 0) {
        ASSERT_MSG(now_ms() < deadline, "faults not in after 20 s");
        usleep(50 * 1000);
    }
    char err[FL_ERR_LEN];
    ASSERT_MSG(docker_remove(&dc, r.cid, err) == 0, "remove: %s", err);
    stop_pid(victim);
    kill(pid, SIGINT);
    int rc = fl_wait(pid, 60000);
    char *out = slurp(r.dir, "run.txt");
    ASSERT_MSG(rc == 4, "a revert that cannot be done exits 4, got %d: %s", rc, out);
    ASSERT_CONTAINS(out, "journal.jsonl");       /* says where what is broken is listed */
    ASSERT_CONTAINS(out, "faultline rollback");
    ASSERT_CONTAINS(out, "no such container");
    ASSERT_CONTAINS(out, "the process is gone");
    free(out);
    /* rollback reports the same, without crashing, and keeps the record */
    static char buf[16384];
    rc = fl(r.dir, "rollback", buf, sizeof buf);
    ASSERT_MSG(rc == 4, "rollback of a removed container: exit %d: %s", rc, buf);
    ASSERT_CONTAINS(buf, "no such container");
    rig_down(&r);
}

TEST_T(never_broken_dry_run_touches_nothing, 90)
{
    struct rig r;
    rig_up(&r, "dry");
    rig_plan(&r, NULL);
    static char out[16384];
    int rc = fl(r.dir, "run p.yaml -o out --dry-run", out, sizeof out);
    ASSERT_MSG(rc == 0, "dry run exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "cache-down");
    ASSERT_CONTAINS(out, "queue-paused");
    ASSERT_CONTAINS(out, "link-held");
    ASSERT_EQ_STR(cstate(r.cid), "running");
    ASSERT_EQ_INT(redis_write(r.rport, 1000), 1);
    ASSERT_EQ_INT(redis_ping(r.pport, 500), 0); /* it did not even listen */
    ASSERT_EQ_INT(journal_count(r.dir, "intent"), 0);
    rig_down(&r);
}

TEST_T(never_broken_global_timeout_aborts_after_reverting, 120)
{
    struct rig r;
    rig_up(&r, "timeout");
    rig_plan(&r, NULL);
    static char out[16384];
    int64_t t0 = now_ms();
    int rc = fl(r.dir, "run p.yaml -o out --timeout 3s", out, sizeof out);
    int64_t took = now_ms() - t0;
    ASSERT_MSG(rc == 3, "--timeout: exit %d, expected 3: %s", rc, out);
    ASSERT_MSG(took < 60000, "--timeout 3s let a 90 s plan run %lld ms", (long long)took);
    rig_assert_restored(&r);
    ASSERT_EQ_INT(journal_count(r.dir, "intent"), 3);
    ASSERT_EQ_INT(journal_count(r.dir, "reverted"), 3);
    char *run = slurp(r.dir, "out/run.json");
    json_t *j = json_loads(run, 0, NULL);
    free(run);
    ASSERT_MSG(j, "no run.json");
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "verdict")), "aborted");
    ASSERT_CONTAINS(json_string_value(json_object_get(j, "reason")), "timeout");
    json_decref(j);
    rig_down(&r);
}

TEST_T(never_broken_max_faults_skips_an_overlapping_fault, 60)
{
    const char *d = th_tmpdir();
    char plan[2048];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: one-at-a-time\nduration: 3s\nmax_faults: 1\n"
             "method:\n"
             "  - { name: first, at: 200ms, for: 1500ms, fault: exec, run: \"touch %s/first\", revert: \"true\" }\n"
             "  - { name: second, at: 700ms, for: 500ms, fault: exec, run: \"touch %s/second\", revert: \"true\" }\n"
             "  - { name: third, at: 2s, for: 300ms, fault: exec, run: \"touch %s/third\", revert: \"true\" }\n",
             d, d, d);
    write_plan(d, plan);
    static char out[16384];
    int rc = fl(d, "run p.yaml -o out", out, sizeof out);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    char path[700];
    snprintf(path, sizeof path, "%s/first", d);
    ASSERT_MSG(access(path, F_OK) == 0, "the first fault did not run");
    snprintf(path, sizeof path, "%s/second", d);
    ASSERT_MSG(access(path, F_OK) != 0, "the second fault ran while the first was active");
    snprintf(path, sizeof path, "%s/third", d);
    ASSERT_MSG(access(path, F_OK) == 0, "the third fault (after the first ended) did not run");
    char *run = slurp(d, "out/run.json");
    json_t *j = json_loads(run, 0, NULL);
    free(run);
    ASSERT_MSG(j, "no run.json");
    json_t *second = json_array_get(json_object_get(j, "steps"), 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(second, "status")), "skipped");
    json_decref(j);
    ASSERT_EQ_INT(journal_count(d, "intent"), 2);
}

TEST_T(never_broken_require_label_refuses_an_unlabelled_container, 90)
{
    client();
    sweep();
    const char *d = th_tmpdir();
    char cid[72], plan[2048];
    int port = th_free_port();
    mk_redis_container("nolabel", port, NULL, cid);
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: guarded\nduration: 3s\nrequire_label: faultline.allow=yes\n"
             "targets:\n  cache: { docker: { container: %s, host: \"%s\" } }\n"
             "method:\n  - { name: cache-down, at: 200ms, for: 1s, fault: docker.stop, target: cache }\n",
             cid, th_docker_host());
    write_plan(d, plan);
    static char out[16384];
    int rc = fl(d, "run p.yaml -o out", out, sizeof out);
    /* refused at the target, before anything: nothing tested (exit 2, as the dry run), not 1 */
    ASSERT_MSG(rc == 2, "require_label: exit %d, expected 2: %s", rc, out);
    ASSERT_CONTAINS(out, "require_label");
    ASSERT_EQ_STR(cstate(cid), "running");
    ASSERT_EQ_INT(redis_ping(port, 1000), 1);
    ASSERT_EQ_INT(journal_count(d, "intent"), 0);
    char err[FL_ERR_LEN];
    docker_remove(&dc, cid, err);
    docker_client_release(&dc);
}
