/* journal.c -- the write-ahead journal (append-only JSON lines, fsync'd intents, flock) and
 * the reconciling rollback that reads it (see journal.h, docs/journal.md). */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "fault.h"
#include "files.h"
#include "process.h"
#include "plan.h"
#include "probe.h"

struct journal {
    int fd;
    char path[512];
    char run[64];
    char cmd[16];
    long next_id;
    int refs;          /* journal_open's and journal_hold's, each ended by a journal_close */
    pthread_mutex_t mu;
};

const char *journal_default_path(void)
{
    const char *e = getenv("FAULTLINE_JOURNAL");
    return e && *e ? e : ".faultline/journal.jsonl";
}

void journal_crash_point(const char *point)
{
    const char *at = getenv("FL_TEST_CRASH_AT");
    if (!at || strcmp(at, point) != 0) return;
    /* a second, test-only switch: FL_TEST_CRASH_AT leaking alone from a test job into a
     * real run must not leave its faults applied (review-1 #12) */
    const char *armed = getenv("FL_TEST_HOOKS");
    if (!armed || strcmp(armed, "1") != 0) return;
    static const char msg[] = "faultline: FL_TEST_CRASH_AT: exiting at this point (test hook)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(86);
}

static char boot_id_text[64];
static void read_boot_id(void)
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, boot_id_text, sizeof boot_id_text - 1);
    close(fd);
    if (n <= 0) { boot_id_text[0] = '\0'; return; }
    boot_id_text[n] = '\0';
    boot_id_text[strcspn(boot_id_text, "\n")] = '\0';
}

/* this boot's id (another at every boot), "" when unknown */
static const char *boot_id(void);

/* ISO C for GNU's a ?: b */
static const char *str_or(const char *s, const char *dflt) { return s ? s : dflt; }
static json_t *or_null(json_t *v) { return v ? v : json_null(); }

/* true: written since this boot; false: before it; null: unknown (a journal of a version
 * before boot_id was recorded, or no boot id to compare): the pid + start-time guard decides */
static json_t *same_boot_json(const char *boot)
{
    const char *now = boot_id();
    if (!boot || !*boot || !*now) return json_null();
    return json_boolean(!strcmp(boot, now));
}

static const char *boot_id(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_boot_id);
    return boot_id_text;
}

/* start time of pid (/proc/PID/stat field 22, clock ticks after boot), -1 when gone (a
 * zombie counts as gone) */
static long long proc_start(pid_t pid)
{
    struct proc_id id;
    if (proc_stat(pid, &id) < 0 || id.state == 'Z' || id.state == 'X') return -1;
    return (long long)id.start;
}

/* ---- writing ---------------------------------------------------------------------------- */
static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t w = write(fd, s, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        len -= (size_t)w;
    }
    return 0;
}

/* one record (o consumed), with the run (run_id, else the journal's own) and the time */
static int append(struct journal *j, json_t *o, const char *run_id, int sync, char *err)
{
    json_object_set_new(o, "run", json_string(run_id ? run_id : j->run));
    json_object_set_new(o, "time", json_real(fl_wall()));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) return err ? fl_err(err, "cannot encode a journal record") : -1;
    size_t l = strlen(s);
    s = fl_realloc(s, l + 2);
    s[l] = '\n';
    s[l + 1] = '\0';
    /* the lock keeps lines whole; the fsync runs outside it, so that a step's progress note
     * never waits behind another step's fsync (an fsync makes every line written so far durable) */
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    if (write_all(j->fd, s, l + 1) < 0) rc = -1;
    int e = errno;
    pthread_mutex_unlock(&j->mu);
    if (rc == 0 && sync && fsync(j->fd) < 0) rc = -1, e = errno;
    free(s);
    if (rc < 0 && err) fl_err(err, "cannot write the journal '%s': %s", j->path, strerror(e));
    return rc;
}

/* the newest begin record without an end whose process still lives: who holds the lock */
static int find_holder(const char *path, char *cmd, size_t cmdlen, long long *pid)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    json_t *open_runs = json_object();
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *op = json_string_value(json_object_get(o, "op"));
        const char *run = json_string_value(json_object_get(o, "run"));
        if (op && run && !strcmp(op, "begin")) json_object_set(open_runs, run, o);
        else if (op && run && !strcmp(op, "end")) json_object_del(open_runs, run);
        json_decref(o);
    }
    free(line);
    fclose(f);
    const char *k;
    json_t *v;
    int found = -1;
    json_object_foreach(open_runs, k, v) {
        long long p = json_integer_value(json_object_get(v, "pid"));
        json_t *st = json_object_get(v, "pid_start");
        if (p <= 0 || proc_start((pid_t)p) < 0) continue;
        if (json_is_integer(st) && proc_start((pid_t)p) != json_integer_value(st)) continue;
        const char *c = json_string_value(json_object_get(v, "cmd"));
        const char *plan = json_string_value(json_object_get(v, "plan"));
        if (!c) c = plan && !strcmp(plan, "rollback") ? "rollback" : "run"; /* begin records before "cmd" */
        snprintf(cmd, cmdlen, "%s", c);
        *pid = p;
        found = 0;
    }
    json_decref(open_runs);
    return found;
}

struct journal *journal_open(const char *path, const char *cmd, char *err)
{
    if (!path) path = journal_default_path();
    if (files_mkdir_parent_durable(path) < 0) { fl_err(err, "cannot create the journal's folder for '%s': %s", path, strerror(errno)); return NULL; }
    /* may hold revert commands with secrets: owner only */
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) { fl_err(err, "cannot open the journal '%s': %s", path, strerror(errno)); return NULL; }
    int is_run = strcmp(cmd, "rollback") != 0;
    int waited = 0;
    int64_t deadline = fl_now_ms() + 30 * 60 * 1000;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) {
            fl_err(err, "cannot lock the journal '%s': %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        char hcmd[16] = "";
        long long hpid = 0;
        int known = find_holder(path, hcmd, sizeof hcmd, &hpid) == 0;
        if (is_run || (known && strcmp(hcmd, "rollback") != 0)) {
            const char *advice = is_run ? ": wait for it, or give this run another --journal"
                                        : ": that run reverts its own faults; stop it (SIGINT) before a rollback";
            if (known) fl_err(err, "the journal '%s' is in use by a faultline %s (pid %lld)%s", path, hcmd, hpid, advice);
            else fl_err(err, "the journal '%s' is in use by another faultline process%s", path, advice);
            close(fd);
            return NULL;
        }
        if (!waited++)
            fl_log(FL_LOG_INFO, "the journal '%s' is in use by another rollback%s: waiting for it to finish", path,
                   known ? "" : " (or a process that is starting)");
        if (fl_now_ms() > deadline || fl_sleep_ms(100) < 0) {
            fl_err(err, "the journal '%s' stayed in use by another rollback: gave up waiting", path);
            close(fd);
            return NULL;
        }
    }
    /* a torn last line (power lost mid-write) must not swallow the next record: end it */
    struct stat stt;
    if (fstat(fd, &stt) == 0 && stt.st_size > 0) {
        char last = '\n';
        if (pread(fd, &last, 1, stt.st_size - 1) == 1 && last != '\n') {
            fl_log(FL_LOG_WARN, "the journal '%s' ends with a torn line (a crash mid-write): it is ignored, the records "
                   "before it are honoured", path);
            if (write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
                fl_err(err, "cannot repair the torn end of the journal '%s': %s", path, strerror(errno));
                close(fd);
                return NULL;
            }
        }
    }
    if (files_fsync_parent(path) < 0) {
        fl_err(err, "cannot sync the folder of the journal '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct journal *j = fl_calloc(1, sizeof *j);
    j->fd = fd;
    snprintf(j->path, sizeof j->path, "%s", path);
    snprintf(j->cmd, sizeof j->cmd, "%s", cmd);
    snprintf(j->run, sizeof j->run, "%d-%lld", (int)getpid(), (long long)(fl_wall() * 1000));
    j->refs = 1;
    pthread_mutex_init(&j->mu, NULL);
    return j;
}

int journal_begin(struct journal *j, const char *plan_name, char *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("begin"));
    json_object_set_new(o, "cmd", json_string(j->cmd));
    json_object_set_new(o, "plan", json_string(plan_name ? plan_name : ""));
    json_object_set_new(o, "pid", json_integer(getpid()));
    json_object_set_new(o, "pid_start", json_integer(proc_start(getpid())));
    json_object_set_new(o, "boot_id", json_string(boot_id()));
    return append(j, o, NULL, 1, err);
}

const char *journal_path(const struct journal *j) { return j ? j->path : NULL; }

long journal_intent(struct journal *j, const char *step, const char *kind, json_t *rec, char *err)
{
    if (!j) { json_decref(rec); return -1; }
    pthread_mutex_lock(&j->mu);
    long id = ++j->next_id;
    pthread_mutex_unlock(&j->mu);
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("intent"));
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "step", json_string(step));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "rec", rec ? rec : json_null());
    if (append(j, o, NULL, 1, err) < 0) return -1;
    journal_crash_point("intent");
    return id;
}

int journal_progress(struct journal *j, long id, const char *phase, size_t item, json_t *note, int sync, char *err)
{
    if (!j || id < 0) { json_decref(note); return 0; }
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("progress"));
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "phase", json_string(phase));
    json_object_set_new(o, "item", json_integer((json_int_t)item));
    if (note) json_object_set_new(o, "note", note);
    int rc = append(j, o, NULL, sync, err);
    if (!strcmp(phase, "revert")) journal_crash_point("revert");
    return rc;
}

void journal_done(struct journal *j, long id, int ok, const char *error, json_t *rec)
{
    journal_crash_point("done");
    if (!j || id < 0) { json_decref(rec); return; }
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("done"));
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "ok", json_boolean(ok));
    if (!ok && error) json_object_set_new(o, "error", json_string(error));
    if (rec) json_object_set_new(o, "rec", rec);
    append(j, o, NULL, 0, NULL);
}

static int settle(struct journal *j, const char *run, json_t *id, int ok, const char *how, char *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("reverted"));
    json_object_set_new(o, "id", json_copy(id));
    json_object_set_new(o, "ok", json_boolean(ok));
    json_object_set_new(o, "how", json_string(how));
    return append(j, o, run, 1, err);
}

void journal_reverted(struct journal *j, long id, int ok, const char *how)
{
    journal_crash_point("revert");
    if (!j || id < 0) return;
    json_t *jid = json_integer(id);
    settle(j, NULL, jid, ok, how, NULL);
    json_decref(jid);
}

int journal_service(struct journal *j, const char *name, pid_t pid, int stopped, char *err)
{
    if (!j) return 0;
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string(stopped ? "service_stopped" : "service"));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "pid", json_integer(pid));
    if (!stopped) json_object_set_new(o, "start", json_integer(proc_start(pid)));
    int rc = append(j, o, NULL, !stopped, err);
    if (!stopped && rc == 0) journal_crash_point("service");
    return rc;
}

void journal_end(struct journal *j, int exit_code)
{
    if (!j) return;
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("end"));
    json_object_set_new(o, "exit", json_integer(exit_code));
    append(j, o, NULL, 1, NULL);
}

struct journal *journal_hold(struct journal *j)
{
    if (!j) return NULL;
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
    return j;
}

void journal_close(struct journal *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last) return;
    close(j->fd); /* releases the lock */
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* ---- reading -------------------------------------------------------------------------- */
static json_t *find_entry(json_t *pending, const char *op, const char *run, const char *key, json_t *val)
{
    size_t i;
    json_t *p;
    json_array_foreach(pending, i, p) {
        if (strcmp(json_string_value(json_object_get(p, "op")), op) != 0) continue;
        if (strcmp(json_string_value(json_object_get(p, "run")), run) != 0) continue;
        if (json_integer_value(json_object_get(p, key)) == json_integer_value(val)) return p;
    }
    return NULL;
}

static void remove_entry(json_t *pending, json_t *e)
{
    for (size_t i = 0; i < json_array_size(pending); i++)
        if (json_array_get(pending, i) == e) { json_array_remove(pending, i); return; }
}

static void problem(json_t *problems, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(json_t *problems, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_array_append_new(problems, json_string(text));
}

json_t *journal_parse(const char *data, size_t size, json_t **problems_out)
{
    json_t *problems = json_array();
    json_t *pending = json_array();
    json_t *runners = json_object();   /* run id -> its begin record */
    long lineno = 0;
    size_t pos = 0;
    while (pos < size) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - line) + 1 : size - pos;
        pos += len;
        lineno++;
        int whole = nl != NULL;
        json_t *o = json_loadb(line, len, 0, NULL);
        const char *op = json_string_value(json_object_get(o, "op"));
        const char *run = json_string_value(json_object_get(o, "run"));
        if (!o || !op || !run) {
            if (len == 1 && whole) { json_decref(o); continue; } /* the newline that ended a torn line */
            if (!whole)
                problem(problems, "line %ld (%zu bytes, no end of line) is torn, as by a crash or power loss while it "
                        "was written: ignored; the records before it are honoured", lineno, len);
            else
                problem(problems, "line %ld (%zu bytes) is not a whole journal record (torn by a crash while it was "
                        "written?): ignored; the other records are honoured", lineno, len - 1);
            json_decref(o);
            continue;
        }
        json_t *id = json_object_get(o, "id");
        if (!strcmp(op, "begin")) {
            json_object_set(runners, run, o);
        } else if (!strcmp(op, "intent") || !strcmp(op, "inject")) {
            int old = !strcmp(op, "inject");   /* a journal of faultline before the intents */
            json_t *b = json_object_get(runners, run);
            json_t *t = json_object_get(o, "time");
            json_t *rec = json_object_get(o, "rec");
            json_t *st = json_object_get(b, "pid_start");
            json_t *e = json_object();
            json_object_set_new(e, "op", json_string("step"));
            json_object_set_new(e, "run", json_string(run));
            json_object_set(e, "id", id ? id : json_null());
            json_object_set_new(e, "step", json_string(str_or(json_string_value(json_object_get(o, "step")), "?")));
            json_object_set_new(e, "kind", json_string(str_or(json_string_value(json_object_get(o, "kind")), "?")));
            json_object_set(e, "rec", rec ? rec : json_null());
            json_object_set_new(e, "progress", json_array());
            json_object_set_new(e, "done", json_boolean(old));
            json_object_set_new(e, "inject_ok", json_boolean(old));
            json_object_set_new(e, "intent_time", json_real(json_number_value(t)));
            json_object_set_new(e, "last_time", json_real(json_number_value(t)));
            json_object_set_new(e, "runner_pid", json_integer(json_integer_value(json_object_get(b, "pid"))));
            json_object_set_new(e, "runner_start", json_integer(json_is_integer(st) ? json_integer_value(st) : -1));
            json_object_set_new(e, "same_boot", same_boot_json(json_string_value(json_object_get(b, "boot_id"))));
            if (e) json_array_append_new(pending, e);
        } else if (!strcmp(op, "progress") || !strcmp(op, "done")) {
            json_t *e = find_entry(pending, "step", run, "id", id);
            if (e) {
                json_object_set_new(e, "last_time", json_real(json_number_value(json_object_get(o, "time"))));
                if (!strcmp(op, "progress")) {
                    json_t *p = json_object();
                    json_object_set(p, "phase", json_object_get(o, "phase"));
                    json_object_set(p, "item", json_object_get(o, "item"));
                    json_object_set(p, "note", json_object_get(o, "note") ? json_object_get(o, "note") : json_null());
                    json_object_set(p, "time", json_object_get(o, "time"));
                    json_array_append_new(json_object_get(e, "progress"), p);
                } else {
                    json_object_set_new(e, "done", json_true());
                    json_object_set(e, "inject_ok", json_is_true(json_object_get(o, "ok")) ? json_true() : json_false());
                    if (json_is_object(json_object_get(o, "rec"))) json_object_set(e, "rec", json_object_get(o, "rec"));
                }
            }
        } else if (!strcmp(op, "reverted") || !strcmp(op, "revert")) {
            json_t *e = find_entry(pending, "step", run, "id", id);
            if (e && json_is_true(json_object_get(o, "ok"))) remove_entry(pending, e);
            else if (e) json_object_set(e, "revert_error", json_object_get(o, "how"));
        } else if (!strcmp(op, "service")) {
            const char *boot = json_string_value(json_object_get(json_object_get(runners, run), "boot_id"));
            json_array_append_new(pending, json_pack("{s:s,s:s,s:s,s:O,s:O,s:o}", "op", "service", "run", run, "name",
                                                     str_or(json_string_value(json_object_get(o, "name")), "?"), "pid",
                                                     or_null(json_object_get(o, "pid")), "start",
                                                     or_null(json_object_get(o, "start")), "same_boot",
                                                     same_boot_json(boot)));
        } else if (!strcmp(op, "service_stopped")) {
            json_t *e = find_entry(pending, "service", run, "pid", json_object_get(o, "pid"));
            if (e) remove_entry(pending, e);
        }
        json_decref(o);
    }
    json_decref(runners);
    if (problems_out) *problems_out = problems;
    else json_decref(problems);
    return pending;
}

json_t *journal_pending(const char *path, json_t **problems_out, char *err)
{
    if (!path) path = journal_default_path();
    if (problems_out) *problems_out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            if (problems_out) *problems_out = json_array();
            return json_array();
        }
        fl_err(err, "cannot read the journal '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct buf b;
    buf_init(&b, (size_t)1 << 30);
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && buf_add(&b, chunk, (size_t)n) < 0) break;
    int e = errno;
    close(fd);
    if (n < 0 || b.overflow) {
        buf_release(&b);
        if (n < 0) fl_err(err, "cannot read the journal '%s': %s", path, strerror(e));
        else fl_err(err, "the journal '%s' is larger than 1 GiB: move it aside once nothing is pending", path);
        return NULL;
    }
    json_t *pending = journal_parse(b.data, b.len, problems_out);
    buf_release(&b);
    return pending;
}

/* ---- rollback ----------------------------------------------------------------------------- */
static void log_report(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l) fl_log(FL_LOG_INFO, "%.*s", (int)l, p);
        p += l + (nl ? 1 : 0);
    }
}

/* live members (not zombies) of process group pgid that started at or after start: a
 * group outlives its leader (celery or gunicorn workers), and Linux does not reuse a pid
 * while a group carries its number, so they are the dead run's service's */
static size_t group_members(pid_t pgid, long long start)
{
    DIR *dir = opendir("/proc");
    if (!dir) return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = '\0';
        char *p = strrchr(buf, ')');
        if (!p) continue;
        char *save = NULL;
        int field = 2, zombie = 0;
        long long pg = -1, st = -1;
        for (char *t = strtok_r(p + 1, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            field++;
            if (field == 3) zombie = t[0] == 'Z' || t[0] == 'X';
            if (field == 5) pg = atoll(t);
            if (field == 22) { st = atoll(t); break; }
        }
        if (!zombie && pg == (long long)pgid && st >= start) n++;
    }
    closedir(dir);
    return n;
}

/* a service the dead run started: stop its process group when it is still that process */
static void reconcile_service(json_t *p, struct buf *report)
{
    pid_t pid = (pid_t)json_integer_value(json_object_get(p, "pid"));
    json_t *sj = json_object_get(p, "start");
    long long st = json_is_integer(sj) ? json_integer_value(sj) : -1;
    long long now = pid > 0 ? proc_start(pid) : -1;
    if (json_is_false(json_object_get(p, "same_boot"))) {
        fault_report(report, "pid %d: the machine restarted since the run, so its processes are gone: nothing to do",
                     (int)pid);
        return;
    }
    if (now < 0) {
        size_t left = pid > 0 && st >= 0 ? group_members(pid, st) : 0;
        if (left == 0) {
            fault_report(report, "pid %d: gone (it ended with the run, or never got past its start): nothing to do", (int)pid);
            return;
        }
        /* the leader is gone, its group is not */
        kill(-pid, SIGCONT);
        kill(-pid, SIGTERM);
        for (int i = 0; i < 50 && group_members(pid, st) > 0; i++) usleep(100000);
        int forced = group_members(pid, st) > 0;
        if (forced) kill(-pid, SIGKILL);
        fault_report(report, "pid %d: gone, but %zu process(es) of its group still ran, left behind by the dead run: "
                     "stopped (%s)", (int)pid, left, forced ? "SIGKILL after 5s" : "SIGTERM");
        return;
    }
    if (st < 0 || now != st) {
        fault_report(report, "pid %d now belongs to another process (started at tick %lld, not %lld): left alone",
                     (int)pid, now, st);
        return;
    }
    kill(-pid, SIGCONT);
    kill(-pid, SIGTERM);
    for (int i = 0; i < 50 && proc_start(pid) == st; i++) usleep(100000);
    int forced = proc_start(pid) == st;
    kill(-pid, SIGKILL);
    fault_report(report, "pid %d: found running, left behind by the dead run: stopped (%s)", (int)pid,
                 forced ? "SIGKILL after 5s" : "SIGTERM");
}

static const char *step_situation(const json_t *p)
{
    int done = json_is_true(json_object_get(p, "done"));
    int reverting = 0;
    size_t i;
    json_t *pr;
    json_array_foreach(json_object_get(p, "progress"), i, pr)
        if (!strcmp(str_or(json_string_value(json_object_get(pr, "phase")), ""), "revert")) reverting = 1;
    if (json_object_get(p, "revert_error")) return "its revert failed";
    if (reverting) return "the runner died in the middle of its revert";
    if (!done) return "the runner died before the inject returned: possibly applied, possibly half";
    if (!json_is_true(json_object_get(p, "inject_ok"))) return "its inject failed and was not undone";
    return "injected, never reverted";
}

int journal_rollback(const char *path, const struct drv_ctx *ctx, int verbose, char *err)
{
    if (!path) path = journal_default_path();
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        if (verbose) fl_log(FL_LOG_INFO, "journal '%s': nothing to roll back (no journal)", path);
        return 0;
    }
    struct journal *j = journal_open(path, "rollback", err);
    if (!j) return -1;
    json_t *problems = NULL;
    json_t *pending = journal_pending(path, &problems, err);
    if (!pending) { journal_close(j); return -1; }
    for (size_t i = 0; i < json_array_size(problems); i++)
        fl_log(FL_LOG_WARN, "journal '%s': %s", path, json_string_value(json_array_get(problems, i)));
    json_decref(problems);
    size_t n = json_array_size(pending);
    if (n == 0) {
        json_decref(pending);
        journal_close(j);
        if (verbose) fl_log(FL_LOG_INFO, "journal '%s': nothing to roll back", path);
        return 0;
    }
    char werr[FL_ERR_LEN] = "";
    /* what cannot be written cannot be settled: reconcile anyway (restoring matters more than
     * recording it), but every step then stays listed and the rollback fails (exit 4) */
    int unwritable = journal_begin(j, "rollback", werr) < 0;
    if (unwritable) fl_log(FL_LOG_ERROR, "%s: rollback goes on, but cannot record what it settles", werr);
    int failed = 0;
    /* newest first: undo in reverse order of the intents */
    for (size_t k = n; k-- > 0;) {
        json_t *p = json_array_get(pending, k);
        const char *op = json_string_value(json_object_get(p, "op"));
        const char *run = json_string_value(json_object_get(p, "run"));
        struct buf report;
        buf_init(&report, 64 * 1024);
        if (!strcmp(op, "service")) {
            const char *name = json_string_value(json_object_get(p, "name"));
            reconcile_service(p, &report);
            if (verbose) {
                fl_log(FL_LOG_INFO, "service '%s' started by run %s:", name, run);
                log_report(report.data);
            }
            json_t *o = json_object();
            json_object_set_new(o, "op", json_string("service_stopped"));
            json_object_set_new(o, "name", json_string(name));
            json_object_set_new(o, "pid", json_copy(json_object_get(p, "pid")));
            if (append(j, o, run, 1, werr) < 0) {
                fl_log(FL_LOG_ERROR, "  service '%s': %s: it stays listed", name, werr);
                failed++;
            } else if (verbose) {
                fl_log(FL_LOG_INFO, "  settled service '%s'", name);
            }
            buf_release(&report);
            continue;
        }
        const char *kind = json_string_value(json_object_get(p, "kind"));
        const char *step = json_string_value(json_object_get(p, "step"));
        const struct fault_ops *ops = fault_find(kind);
        /* what a probe put into a system (seeded rows), journaled before it lasted */
        const struct probe_ops *pops = ops ? NULL : probe_find_journal_kind(kind);
        char e[FL_ERR_LEN] = "";
        int ok;
        if (verbose && pops)
            fl_log(FL_LOG_INFO, "probe '%s' (%s) of run %s: what it put in was never taken out again by the run", step,
                   kind, run);
        else if (verbose) fl_log(FL_LOG_INFO, "step '%s' (%s) of run %s: %s", step, kind, run, step_situation(p));
        struct fault_record fr = {
            .step = step, .kind = kind, .run = run, .rec = json_object_get(p, "rec"),
            .progress = json_object_get(p, "progress"), .done = json_is_true(json_object_get(p, "done")),
            .inject_ok = json_is_true(json_object_get(p, "inject_ok")),
            .intent_time = json_number_value(json_object_get(p, "intent_time")),
            .last_time = json_number_value(json_object_get(p, "last_time")),
            .runner_pid = json_integer_value(json_object_get(p, "runner_pid")),
            .runner_start = json_integer_value(json_object_get(p, "runner_start")),
            .same_boot = json_is_true(json_object_get(p, "same_boot")) ? 1 : json_is_false(json_object_get(p, "same_boot")) ? 0 : -1,
        };
        if (pops) ok = pops->reconcile(fr.rec, ctx, &report, e) == 0;
        else if (!ops) ok = 0, fl_err(e, "unknown fault kind '%s' (a journal of another faultline version?)", kind);
        else if (!ops->reconcile) ok = 1, fault_report(&report, "%s leaves nothing that lasts: nothing to do", kind);
        else ok = ops->reconcile(&fr, ctx, &report, e) == 0;
        if (verbose) {
            log_report(report.data);
            if (!ok) fl_log(FL_LOG_ERROR, "cannot reconcile '%s' (%s): %s", step, kind, e);
        }
        buf_release(&report);
        if (!ok) { failed++; continue; }
        if (settle(j, run, json_object_get(p, "id"), 1, "rollback", werr) < 0) {
            fl_log(FL_LOG_ERROR, "  reconciled '%s', but %s: it stays listed", step, werr);
            failed++;
            continue;
        }
        if (verbose) fl_log(FL_LOG_INFO, "  settled '%s'", step);
    }
    journal_end(j, failed ? FL_EXIT_REVERT : 0);
    journal_close(j);
    json_decref(pending);
    return failed;
}

int journal_forget(const char *path, char *err)
{
    if (!path) path = journal_default_path();
    if (access(path, F_OK) < 0 && errno == ENOENT) return 0;
    struct journal *j = journal_open(path, "rollback", err);
    if (!j) return -1;
    json_t *pending = journal_pending(path, NULL, err);
    if (!pending) { journal_close(j); return -1; }
    size_t n = json_array_size(pending);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *p = json_array_get(pending, i);
        const char *run = json_string_value(json_object_get(p, "run"));
        if (!strcmp(json_string_value(json_object_get(p, "op")), "service")) {
            json_t *o = json_object();
            json_object_set_new(o, "op", json_string("service_stopped"));
            json_object_set_new(o, "pid", json_copy(json_object_get(p, "pid")));
            json_object_set_new(o, "forgotten", json_true());
            rc = append(j, o, run, 0, err);
        } else {
            rc = settle(j, run, json_object_get(p, "id"), 1, "forgotten", err);
        }
    }
    if (rc == 0 && n && fsync(j->fd) < 0) rc = fl_err(err, "cannot write the journal '%s': %s", path, strerror(errno));
    journal_close(j);
    json_decref(pending);
    return rc < 0 ? -1 : (int)n;
}
