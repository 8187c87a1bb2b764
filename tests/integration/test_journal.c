/* test_journal.c -- the write-ahead journal and reconciling rollback, as review-1 found them
 * wanting: an abandoned revert's notes, journals of older versions, reconcile that leaves
 * alone what someone else changed, durability of a fresh .faultline. */
#include <hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "testsrv.h"

TEST_FILE_USES("redis"); /* changes the shared Redis's maxmemory */

/* faultline with args in dir, its journal there; its exit code */
static int fl(const char *dir, const char *args, char *out, size_t outlen)
{
    return th_sh(out, outlen, "cd '%s' && FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' %s 2>&1", dir, dir, th_faultline(), args);
}

/* `faultline run -q -o out p.yaml` in dir, made to die by the test hook FL_TEST_CRASH_AT=done
   (exit 86) once it has recorded a step done; its exit code */
static int run_crashing(const char *dir, char *out, size_t outlen)
{
    return th_sh(out, outlen, "cd '%s' && FL_TEST_HOOKS=1 FL_TEST_CRASH_AT=done FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' run -q -o out p.yaml 2>&1",
                 dir, dir, th_faultline());
}

static int lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* review-1 #4: a revert abandoned at revert_timeout goes on after run_plan freed the steps
   and closed the journal; its progress note must still land in the journal (the process
   lives on: a slow --notify), so rollback knows the revert command ran */
TEST_T(journal_abandoned_revert_still_notes_its_progress, 60)
{
    struct testsrv *srv = testsrv_start(0);
    ASSERT(srv);
    const char *d = th_tmpdir();
    char path[512], out[8192], args[512];
    th_write_in(d, "p.yaml",
                "faultline: 1\nname: abandoned\nduration: 2s\nrevert_timeout: 1s\n"
                "method:\n  - { name: slow, at: 200ms, for: 300ms, fault: exec, run: [\"true\"],"
                " revert: [sh, -c, \"sleep 2; echo x >> '%s/ran'\"] }\n", d);
    snprintf(args, sizeof args, "run p.yaml -q -o out --notify 'http://127.0.0.1:%d/delay?ms=3500'", testsrv_port(srv));
    int rc = fl(d, args, out, sizeof out);
    ASSERT_MSG(rc == 4, "exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/ran", d);
    ASSERT_EQ_INT(lines_in(path), 1);                 /* the abandoned revert did finish */
    char jp[512];
    snprintf(jp, sizeof jp, "%s/journal.jsonl", d);
    char grep[1024];
    int g = th_sh(grep, sizeof grep, "grep -c '\"phase\":\"revert\"' '%s'", jp);
    ASSERT_MSG(g == 0, "the abandoned revert's note is not in the journal:\n%s", out);
    rc = fl(d, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "already ran");
    ASSERT_EQ_INT(lines_in(path), 1);                 /* not run a second time */
    testsrv_stop(srv);
}

/* a child running argv (killed by the caller); its pid */
static pid_t spawn(const char *const argv[])
{
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void stop_child(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* review-1 #3: a journal of the version before boot_id (its begin has no boot_id, its step
   is one `inject` record) is not "the machine restarted": the pid + start-time guard
   decides, so a frozen process is resumed and a living one is not restarted */
TEST_T(journal_without_boot_id_relies_on_the_start_time_guard, 60)
{
    const char *d = th_tmpdir();
    const char *const sl[] = { "sleep", "60", NULL };
    pid_t frozen = spawn(sl), alive = spawn(sl);
    usleep(100000);
    long long fst = -1, ast = -1;
    ASSERT(th_proc_state(frozen, &fst) && fst > 0);
    ASSERT(th_proc_state(alive, &ast) && ast > 0);
    kill(frozen, SIGSTOP);
    for (int i = 0; i < 50 && th_proc_state(frozen, NULL) != 'T'; i++) usleep(20000);
    ASSERT_EQ_INT(th_proc_state(frozen, NULL), 'T');
    char j[4096], path[512], out[8192];
    snprintf(j, sizeof j,
             "{\"op\":\"begin\",\"plan\":\"old\",\"pid\":999999,\"run\":\"999999-1\",\"time\":1796557877.5}\n"
             "{\"op\":\"inject\",\"id\":1,\"step\":\"frozen\",\"kind\":\"process.stop\",\"rec\":{\"target\":\"sl\","
             "\"signal\":19,\"procs\":[{\"pid\":%d,\"start\":%lld,\"was_stopped\":false}]},\"run\":\"999999-1\",\"time\":1796557878.0}\n"
             "{\"op\":\"inject\",\"id\":2,\"step\":\"hup\",\"kind\":\"process.kill\",\"rec\":{\"target\":\"sl2\","
             "\"signal\":10,\"procs\":[{\"pid\":%d,\"start\":%lld,\"was_stopped\":false}],\"restart\":[\"touch\",\"%s/restarted\"]},"
             "\"run\":\"999999-1\",\"time\":1796557878.1}\n",
             (int)frozen, fst, (int)alive, ast, d);
    snprintf(path, sizeof path, "%s/journal.jsonl", d);
    th_write_file(path, j);
    int rc = fl(d, "rollback", out, sizeof out);
    char st = th_proc_state(frozen, NULL);
    snprintf(path, sizeof path, "%s/restarted", d);
    int restarted = access(path, F_OK) == 0;
    stop_child(frozen);
    stop_child(alive);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_MSG(!strstr(out, "machine restarted"), "no evidence of a restart:\n%s", out);
    ASSERT_MSG(st != 'T', "the frozen process was left frozen (state %c):\n%s", st, out);
    ASSERT_CONTAINS(out, "resumed");
    ASSERT_MSG(!restarted, "restart: ran while the process was alive:\n%s", out);
    ASSERT_CONTAINS(out, "found still running");
}

static void redis_cmd(const char *cmd, char *out, size_t n)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", th_redis_port(), tv);
    ASSERT(c && !c->err);
    redisReply *r = redisCommand(c, cmd);
    ASSERT(r);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) snprintf(out, n, "%s", r->element[1]->str);
    else snprintf(out, n, "%s", r->str ? r->str : "?");
    freeReplyObject(r);
    redisFree(c);
}

/* the test Redis's maxmemory saved into orig and set to 123456789, a prior the run can be
 * checked against; maxmemory_restore puts orig back */
static void maxmemory_prior(char orig[64])
{
    char ign[64];
    redis_cmd("CONFIG GET maxmemory", orig, 64);
    redis_cmd("CONFIG SET maxmemory 123456789", ign, sizeof ign);
}

static void maxmemory_restore(const char *orig)
{
    char back[128], ign[64];
    snprintf(back, sizeof back, "CONFIG SET maxmemory %s", orig);
    redis_cmd(back, ign, sizeof ign);
}

/* plan written as d/p.yaml, then `faultline run p.yaml -o out` in d under strace -f with opts
 * (its trace in d/tr), the journal at d/journal (a path below d); the run must exit 0; skips
 * without strace. LeakSanitizer cannot run under ptrace: leaks are not checked in the traced
 * run. */
static void run_traced(const char *d, const char *plan, const char *journal, const char *opts)
{
    th_need_program("strace", "strace");
    th_write_in(d, "p.yaml", "%s", plan);
    char out[8192];
    int rc = th_sh(out, sizeof out, "cd '%s' && ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" strace -f %s -o tr '%s' run -q -o out "
                   "--journal '%s/%s' p.yaml 2>&1", d, opts, th_faultline(), d, journal);
    ASSERT_MSG(rc == 0, "run exit %d: %s", rc, out);
}

/* d/p.yaml: a plan (head: its name and duration lines) whose target cache is the test Redis,
 * with the method's steps */
static void cache_plan(const char *d, const char *head, const char *steps)
{
    th_write_in(d, "p.yaml", "faultline: 1\n%stargets:\n  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\nmethod:\n%s",
                head, th_redis_port(), steps);
}

/* a cache_plan run to its end over the known prior 123456789 (maxmemory_prior), its output
 * in out: it must exit 0 and leave maxmemory at that prior (read right after the run; the
 * test Redis's own value is put back before the checks) */
static void run_restores_prior(const char *head, const char *steps, char *out, size_t outlen)
{
    char orig[64], now[64];
    maxmemory_prior(orig);
    const char *d = th_tmpdir();
    cache_plan(d, head, steps);
    int rc = fl(d, "run p.yaml -o out", out, outlen);
    redis_cmd("CONFIG GET maxmemory", now, sizeof now);
    maxmemory_restore(orig);
    ASSERT_MSG(rc == 0, "run exit %d: %s", rc, out);
    ASSERT_MSG(!strcmp(now, "123456789"), "left at %s, not the prior 123456789:\n%s", now, out);
}

/* review-1 #6: the runner dies after setting maxmemory; an operator sets another value
   before the rollback: reconcile leaves the operator's value (it is neither the prior nor
   the fault's), says so, and settles; without the operator, it restores */
TEST_T(journal_reconcile_leaves_what_someone_else_changed, 60)
{
    char orig[64], now[64], out[8192];
    maxmemory_prior(orig);
    const char *d = th_tmpdir();
    cache_plan(d, "name: mm\nduration: 5s\n",
               "  - { name: squeeze, at: 200ms, for: 2s, fault: redis.maxmemory, target: cache, bytes: 1mb }\n");
    int rc = run_crashing(d, out, sizeof out);
    ASSERT_MSG(rc == 86, "the test crash point: exit %d: %s", rc, out);
    redis_cmd("CONFIG GET maxmemory", now, sizeof now);
    ASSERT_EQ_STR(now, "1048576");
    redis_cmd("CONFIG SET maxmemory 999999999", now, sizeof now);    /* the operator */
    rc = fl(d, "rollback", out, sizeof out);
    redis_cmd("CONFIG GET maxmemory", now, sizeof now);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "changed by someone else");
    if (strcmp(now, "999999999") != 0) {
        maxmemory_restore(orig);
        ASSERT_EQ_STR(now, "999999999");
    }
    /* the same without the operator: restored */
    rc = run_crashing(d, out, sizeof out);
    ASSERT_MSG(rc == 86, "the test crash point: exit %d: %s", rc, out);
    rc = fl(d, "rollback", out, sizeof out);
    redis_cmd("CONFIG GET maxmemory", now, sizeof now);
    maxmemory_restore(orig);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_EQ_STR(now, "999999999");   /* the prior of this run was the operator's value */
    ASSERT_CONTAINS(out, "set back to 999999999");
}

/* review-1 #13: a rollback that cannot write the journal (a full disk) restores, but must
   not say "settled" nor "nothing left broken": the step stays listed and the exit is 4 */
TEST_T(journal_rollback_that_cannot_write_the_journal_fails, 60)
{
    const char *d = th_tmpdir();
    char j[8192], path[512], out[8192];
    /* a pending exec step whose revert appends a line to ran */
    int n = snprintf(j, sizeof j,
                     "{\"op\":\"begin\",\"cmd\":\"run\",\"plan\":\"PAD\",\"pid\":999999,\"pid_start\":1,\"boot_id\":\"x\","
                     "\"run\":\"r1\",\"time\":1796557877.5}\n"
                     "{\"op\":\"intent\",\"id\":1,\"step\":\"s\",\"kind\":\"exec\",\"rec\":{\"revert\":[\"sh\",\"-c\","
                     "\"echo x >> %s/ran\"],\"timeout_ms\":5000,\"expect_exit\":0},\"run\":\"r1\",\"time\":1796557878.0}\n"
                     "{\"op\":\"done\",\"id\":1,\"ok\":true,\"run\":\"r1\",\"time\":1796557878.1}\n", d);
    /* exactly one tmpfs page, so that the next record needs a page the full disk has not */
    ASSERT(n < 4096);
    char padded[8192];
    char *pad = strstr(j, "PAD");
    snprintf(padded, sizeof padded, "%.*s%*s%s", (int)(pad - j), j, 4096 - (n - 3), "", pad + 3);
    for (char *p = padded + (pad - j); *p == ' '; p++) *p = 'p';
    ASSERT_EQ_INT(strlen(padded), 4096);
    snprintf(path, sizeof path, "%s/src.jsonl", d);
    th_write_file(path, padded);
    int rc = th_sh(out, sizeof out,
                   "cd '%s' && mkdir m && unshare -m sh -c 'mount -t tmpfs -o size=16k tmpfs m && cp src.jsonl m/journal.jsonl && "
                   "(dd if=/dev/zero of=m/fill bs=1k count=64 2>/dev/null; true) && "
                   "FAULTLINE_JOURNAL=m/journal.jsonl \"$0\" rollback; echo \"rc=$?\"' '%s' 2>&1",
                   d, th_faultline());
    ASSERT_MSG(rc == 0, "%s", out);
    snprintf(path, sizeof path, "%s/ran", d);
    ASSERT_EQ_INT(lines_in(path), 1);                  /* it did restore */
    ASSERT_CONTAINS(out, "cannot write the journal");
    ASSERT_MSG(!strstr(out, "settled 's'") && !strstr(out, "rollback complete"), "claims settled:\n%s", out);
    ASSERT_CONTAINS(out, "rc=4");
}

/* review-1 #13: the folders a first run creates (.faultline/) are fsync'd in their parents,
   or a power loss could lose the folder and with it the fsync'd intent */
TEST_T(journal_new_folders_are_made_durable, 60)
{
    const char *d = th_tmpdir();
    run_traced(d, "faultline: 1\nname: durable\nduration: 300ms\n"
               "method:\n  - { name: nop, at: 100ms, fault: exec, run: [\"true\"] }\n",
               "new/.faultline/journal.jsonl", "-e trace=mkdir,openat,fsync");
    /* the parents of the created folders d/new/.faultline and d/new opened as directories (then
     * fsync'd) */
    static const char *const parents[] = { "/new", "" };
    for (size_t i = 0; i < sizeof parents / sizeof parents[0]; i++) {
        char out[8192];
        int rc = th_sh(out, sizeof out, "grep -c 'openat(AT_FDCWD, \"%s%s\", O_RDONLY|O_CLOEXEC|O_DIRECTORY' '%s/tr'", d,
                       parents[i], d);
        ASSERT_MSG(rc == 0, "the new folder's parent '%s%s' was not synced:\n%s", d, parents[i], out);
    }
}

/* review-1 #5: two back-to-back steps on one Redis: the second's prepare (its "prior") must
   come after the first's revert, or the second restores the first's 1mb */
TEST_T(journal_back_to_back_steps_on_one_target_restore_the_real_prior, 60)
{
    char out[16384];
    run_restores_prior("name: b2b\nduration: 3s\n",
                       "  - { name: first, at: 500ms, for: 1s, fault: redis.maxmemory, target: cache, bytes: 1mb }\n"
                       "  - { name: second, at: 1500ms, for: 500ms, fault: redis.maxmemory, target: cache, bytes: 2mb }\n",
                       out, sizeof out);
    ASSERT_CONTAINS(out, "waits for 'first'");
}

/* review-1 #7: process.kill with tree: true and a signal the master survives (as nginx's
   SIGHUP replaces its workers): a descendant that ended is not the target being down, so
   restart: must not start a second master, in the run's revert or in rollback */
TEST_T(journal_kill_tree_restarts_only_when_a_root_ended, 60)
{
    const char *d = th_tmpdir();
    /* the master survives SIGUSR1 (a handler: not inherited by exec), its child does not */
    const char *const master[] = { "/usr/bin/python3", "-c",
                                   "import signal, subprocess, time\n"
                                   "signal.signal(signal.SIGUSR1, lambda *a: None)\n"
                                   "for i in range(5):\n"
                                   "    subprocess.Popen(['sleep', '60']).wait()\n", NULL };
    pid_t m = spawn(master);
    char out[16384], rs[512];
    /* wait for its child */
    for (int i = 0; i < 100; i++) {
        th_sh(out, sizeof out, "pgrep -P %d sleep", (int)m);
        if (atoi(out) > 0) break;
        usleep(50000);
    }
    pid_t child = atoi(out);
    ASSERT_MSG(child > 0, "no child of the master");
    th_write_in(d, "p.yaml",
                "faultline: 1\nname: hup\nduration: 2s\n"
                "targets:\n  m: { process: { pid: %d, tree: true } }\n"
                "method:\n  - { name: hup, at: 200ms, for: 500ms, fault: process.kill, target: m, signal: SIGUSR1,"
                " restart: [touch, \"%s/restarted\"] }\n", (int)m, d);
    snprintf(rs, sizeof rs, "%s/restarted", d);
    int rc = fl(d, "run p.yaml -q -o out", out, sizeof out);
    int restarted_run = access(rs, F_OK) == 0;
    int master_alive = th_proc_state(m, NULL) != 0 && th_proc_state(m, NULL) != 'Z';
    int child_gone = th_proc_state(child, NULL) == 0 || th_proc_state(child, NULL) == 'Z';
    /* the same through rollback: the runner dies after the signal (the master has
       replaced its child meanwhile, as a master replaces its workers) */
    for (int i = 0; i < 100; i++) {
        char o[64];
        th_sh(o, sizeof o, "pgrep -P %d sleep", (int)m);
        if (atoi(o) > 0 && atoi(o) != child) break;
        usleep(50000);
    }
    char out2[16384];
    int rc2 = run_crashing(d, out2, sizeof out2);
    char out3[16384];
    int rc3 = fl(d, "rollback", out3, sizeof out3);
    int restarted_rb = access(rs, F_OK) == 0;
    stop_child(m);
    ASSERT_MSG(rc == 0, "run exit %d: %s", rc, out);
    ASSERT(master_alive);
    ASSERT(child_gone);
    ASSERT_MSG(!restarted_run, "the revert ran restart: while the master lived:\n%s", out);
    ASSERT_MSG(rc2 == 86, "crash point: %d: %s", rc2, out2);
    ASSERT_MSG(rc3 == 0, "rollback exit %d: %s", rc3, out3);
    ASSERT_MSG(!restarted_rb, "rollback ran restart: while the master lived:\n%s", out3);
    ASSERT_CONTAINS(out3, "nothing to restart");
}

/* review-1 #8: rollback skips an exec's revert when the "started" note is missing, so that
   note is fsync'd before the command runs (strace: write of the note, its fsync, then the
   command's execve) */
TEST_T(journal_exec_started_note_is_synced_before_the_command, 60)
{
    const char *d = th_tmpdir();
    run_traced(d, "faultline: 1\nname: synced\nduration: 500ms\n"
               "method:\n  - { name: cmd, at: 100ms, fault: exec, run: [/bin/echo, fl-marker-8], revert: [\"true\"] }\n",
               "journal.jsonl", "-s 512 -e trace=write,fsync,execve");
    /* from the note's write to the command's execve: an fsync by the writing thread */
    char out[8192];
    int rc = th_sh(out, sizeof out,
               "awk '/write\\(.*\\\\\"started\\\\\":true/ { pid = $1; w = NR } "
               "w && !s && $1 == pid && /fsync\\(/ { s = NR } "
               "/execve\\(\"\\/bin\\/echo\"/ { e = NR } "
               "END { print w, s, e; exit !(w && s && e && w < s && s < e) }' '%s/tr'", d);
    ASSERT_MSG(rc == 0, "note write, fsync, execve lines: %s", out);
}

/* review-1 #12: FL_TEST_CRASH_AT leaking alone into a real run does nothing: the run ends
   normally and reverts (only FL_TEST_HOOKS=1 with it arms the test hook) */
TEST_T(journal_crash_hook_needs_its_second_switch, 30)
{
    const char *d = th_tmpdir();
    char path[512], out[8192];
    th_write_in(d, "p.yaml", "faultline: 1\nname: leak\nduration: 500ms\n"
                "method:\n  - { name: cmd, at: 100ms, for: 100ms, fault: exec, run: [\"true\"], revert: [touch, \"%s/reverted\"] }\n", d);
    int rc = th_sh(out, sizeof out, "cd '%s' && FL_TEST_CRASH_AT=done FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' run -q -o out p.yaml 2>&1",
                   d, d, th_faultline());
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/reverted", d);
    ASSERT(access(path, F_OK) == 0);
}

/* review-1 #14: a service whose leader died while its group lives on (celery or gunicorn
   workers): rollback stops the group, not "gone: nothing to do" */
TEST_T(journal_service_group_outliving_its_leader_is_stopped, 60)
{
    const char *d = th_tmpdir();
    int gate[2];
    ASSERT(pipe(gate) == 0);
    pid_t leader = fork();
    ASSERT(leader >= 0);
    if (leader == 0) {
        setsid();
        pid_t w = fork();
        if (w == 0) {
            execlp("sleep", "sleep", "60", (char *)NULL);
            _exit(127);
        }
        char c;
        ssize_t r = read(gate[0], &c, 1);   /* the parent has read our start time */
        (void)r;
        _exit(0);
    }
    close(gate[0]);
    long long st = -1;
    for (int i = 0; i < 50 && st < 0; i++) { th_proc_state(leader, &st); if (st < 0) usleep(10000); }
    ASSERT(st > 0);
    char out[16384];
    pid_t worker = 0;
    for (int i = 0; i < 100 && worker <= 0; i++) {
        th_sh(out, sizeof out, "pgrep -g %d sleep", (int)leader);
        worker = atoi(out);
        if (worker <= 0) usleep(20000);
    }
    ASSERT_MSG(worker > 0, "no worker in the group");
    ASSERT(write(gate[1], "x", 1) == 1);
    close(gate[1]);
    waitpid(leader, NULL, 0);
    char boot[64] = "", j[2048], path[512];
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    ASSERT(f && fgets(boot, sizeof boot, f));
    fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    snprintf(j, sizeof j,
             "{\"op\":\"begin\",\"cmd\":\"run\",\"plan\":\"svc\",\"pid\":999999,\"pid_start\":1,\"boot_id\":\"%s\",\"run\":\"r1\",\"time\":1.0}\n"
             "{\"op\":\"service\",\"name\":\"workers\",\"pid\":%d,\"start\":%lld,\"run\":\"r1\",\"time\":1.1}\n",
             boot, (int)leader, st);
    snprintf(path, sizeof path, "%s/journal.jsonl", d);
    th_write_file(path, j);
    int rc = fl(d, "rollback", out, sizeof out);
    char ws = 0;
    for (int i = 0; i < 50; i++) {
        ws = th_proc_state(worker, NULL);
        if (ws == 0 || ws == 'Z') break;
        usleep(20000);
    }
    if (ws && ws != 'Z') kill(worker, SIGKILL);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_MSG(ws == 0 || ws == 'Z', "the worker of the dead service still runs (state %c):\n%s", ws, out);
    ASSERT_CONTAINS(out, "of its group still ran");
}

/* review-1 #5: an earlier step without for: holds the target to the end of the method: a
   later step on it is not injected (not after the method, over the steady state after) */
TEST_T(journal_step_behind_a_step_held_to_the_end_is_skipped, 60)
{
    char out[16384];
    run_restores_prior("name: held\nduration: 1500ms\n",
                       "  - { name: first, at: 200ms, fault: redis.maxmemory, target: cache, bytes: 1mb }\n"
                       "  - { name: second, at: 600ms, for: 300ms, fault: redis.maxmemory, target: cache, bytes: 2mb }\n",
                       out, sizeof out);
    ASSERT_CONTAINS(out, "still active when the method ended");
    ASSERT_MSG(!strstr(out, "injected 'second'"), "the second step was injected after the method:\n%s", out);
}

/* review-2: a run: command that fails half way (it changed something, then exited non-zero,
   or was killed at timeout:) left its change in place: the step was settled "inject failed;
   undone" without the revert: command, which must be safe to run when run: did not (fully)
   apply. The run now runs it; when that fails too the step stays pending for rollback. */
TEST_T(journal_exec_run_that_fails_half_way_is_reverted, 30)
{
    const char *d = th_tmpdir();
    char path[512], out[8192];
    th_write_in(d, "p.yaml", "faultline: 1\nname: half\nduration: 400ms\n"
                "method:\n  - { name: cmd, at: 100ms, for: 100ms, fault: exec, run: [/bin/sh, -c, \"touch '%s/applied'; exit 3\"],"
                " revert: [rm, \"%s/applied\"] }\n", d, d);
    fl(d, "run -q -o out p.yaml", out, sizeof out);
    snprintf(path, sizeof path, "%s/applied", d);
    ASSERT_MSG(access(path, F_OK) != 0, "the half-applied run: command was not reverted:\n%s", out);
    ASSERT_CONTAINS(out, "inject_failed");
    /* the revert fails too: the step is left pending, and rollback runs the revert */
    th_write_in(d, "p2.yaml", "faultline: 1\nname: half2\nduration: 400ms\n"
                "method:\n  - { name: cmd, at: 100ms, for: 100ms, fault: exec, run: [/bin/sh, -c, \"touch '%s/applied'; exit 3\"],"
                " revert: [/bin/sh, -c, \"test -e '%s/revert-ok' && rm '%s/applied'\"] }\n", d, d, d);
    fl(d, "run -q -o out2 p2.yaml", out, sizeof out);
    ASSERT_MSG(access(path, F_OK) == 0, "the run: command did not run:\n%s", out);
    th_write_in(d, "revert-ok", "1\n");
    int rc = fl(d, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_MSG(access(path, F_OK) != 0, "rollback left the half-applied run: command in place:\n%s", out);
}

/* review-2: CONFIG SET maxmemory sent, its reply lost (held here by a proxy.timeout on the
   way back): Redis applied it, yet the inject failed with applied = 0, so the undo did
   nothing and the step was settled "inject failed; undone" with maxmemory left changed */
TEST_T(journal_maxmemory_set_whose_reply_was_lost_is_undone, 90)
{
    char orig[64], now[64], out[8192];
    /* the proxy holds replies from 950ms to 6.45s: mm's CONFIG GET (its prepare, at 900ms)
       passes, its CONFIG SET (1s) gets no reply within the 5s timeout, its undo (6s) does.
       When the scheduler moved the prepare behind the hold (CONFIG GET failed), again */
    for (int attempt = 0; attempt < 3; attempt++) {
        maxmemory_prior(orig);
        const char *d = th_tmpdir();
        int port = th_free_port();
        th_write_in(d, "p.yaml", "faultline: 1\nname: lost\nduration: 8s\n"
                    "targets:\n  link: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n"
                    "  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
                    "method:\n  - { name: hold, at: 950ms, for: 5500ms, fault: proxy.timeout, target: link, direction: downstream }\n"
                    "  - { name: mm, at: 1s, for: 300ms, fault: redis.maxmemory, target: cache, bytes: 3mb }\n",
                    port, th_redis_port(), port);
        fl(d, "run p.yaml -o out", out, sizeof out);
        redis_cmd("CONFIG GET maxmemory", now, sizeof now);
        maxmemory_restore(orig);
        /* the timing missed either way: the prepare came after the hold (its CONFIG GET
         * failed), or the hold after the CONFIG SET (it was answered): nothing to judge */
        if (strstr(out, "CONFIG GET maxmemory:") || !strstr(out, "INJECT FAILED 'mm'")) continue;
        ASSERT_MSG(!strcmp(now, "123456789"), "left at %s, not the prior 123456789:\n%s", now, out);
        return;
    }
    ASSERT_MSG(0, "in 3 runs the hold never came between the prepare and the inject: %s", out);
}
