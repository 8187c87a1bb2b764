/* journal.c -- append-only, fsync'd JSON-lines journal and the rollback that reads it. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fault.h"
#include "plan.h"

struct journal {
    int fd;
    char path[512];
    char run[64];
    long next_id;
    pthread_mutex_t mu;
};

const char *journal_default_path(void)
{
    const char *e = getenv("FAULTLINE_JOURNAL");
    return e && *e ? e : ".faultline/journal.jsonl";
}

static void append(struct journal *j, json_t *o)
{
    json_object_set_new(o, "run", json_string(j->run));
    json_object_set_new(o, "time", json_real(fl_wall()));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) return;
    pthread_mutex_lock(&j->mu);
    size_t l = strlen(s);
    s[l] = '\n';
    ssize_t w = write(j->fd, s, l + 1);
    (void)w;
    fsync(j->fd);
    pthread_mutex_unlock(&j->mu);
    free(s);
}

static int mkdirs(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = '\0'; if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -1; *p = '/'; }
    return 0;
}

struct journal *journal_open(const char *path, const char *plan_name, char *err)
{
    if (!path) path = journal_default_path();
    if (mkdirs(path) < 0) { fl_err(err, "cannot create the journal's folder for '%s': %s", path, strerror(errno)); return NULL; }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600); /* may hold revert commands with secrets */
    if (fd < 0) { fl_err(err, "cannot open the journal '%s': %s", path, strerror(errno)); return NULL; }
    struct journal *j = fl_calloc(1, sizeof *j);
    j->fd = fd;
    snprintf(j->path, sizeof j->path, "%s", path);
    snprintf(j->run, sizeof j->run, "%d-%lld", (int)getpid(), (long long)(fl_wall() * 1000));
    pthread_mutex_init(&j->mu, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("begin"));
    json_object_set_new(o, "plan", json_string(plan_name ? plan_name : ""));
    json_object_set_new(o, "pid", json_integer(getpid()));
    append(j, o);
    return j;
}

const char *journal_path(const struct journal *j) { return j ? j->path : NULL; }

long journal_inject(struct journal *j, const char *step, const char *kind, json_t *rec)
{
    if (!j) { json_decref(rec); return -1; }
    pthread_mutex_lock(&j->mu);
    long id = ++j->next_id;
    pthread_mutex_unlock(&j->mu);
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("inject"));
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "step", json_string(step));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "rec", rec ? rec : json_null());
    append(j, o);
    return id;
}

void journal_revert(struct journal *j, long id, int ok)
{
    if (!j || id < 0) return;
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("revert"));
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "ok", json_boolean(ok));
    append(j, o);
}

static long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    long long v = -1;
    int field = 2;
    for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " ")) {
        if (++field == 22) { v = atoll(t); break; }
    }
    return v;
}

void journal_service(struct journal *j, const char *name, pid_t pid, int stopped)
{
    if (!j) return;
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string(stopped ? "service_stopped" : "service"));
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "pid", json_integer(pid));
    if (!stopped) json_object_set_new(o, "start", json_integer(proc_start_time(pid)));
    append(j, o);
}

void journal_end(struct journal *j, int exit_code)
{
    if (!j) return;
    json_t *o = json_object();
    json_object_set_new(o, "op", json_string("end"));
    json_object_set_new(o, "exit", json_integer(exit_code));
    append(j, o);
}

void journal_close(struct journal *j)
{
    if (!j) return;
    close(j->fd);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* ---- reading -------------------------------------------------------------------------- */
json_t *journal_pending(const char *path, char *err)
{
    if (!path) path = journal_default_path();
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return json_array();
        fl_err(err, "cannot read the journal '%s': %s", path, strerror(errno));
        return NULL;
    }
    json_t *pending = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o) continue; /* a torn last line after a crash */
        const char *op = json_string_value(json_object_get(o, "op"));
        const char *run = json_string_value(json_object_get(o, "run"));
        if (!op || !run) { json_decref(o); continue; }
        if (!strcmp(op, "inject") || !strcmp(op, "service")) {
            json_array_append(pending, o);
        } else if (!strcmp(op, "revert") || !strcmp(op, "service_stopped")) {
            int ok = strcmp(op, "revert") || json_is_true(json_object_get(o, "ok"));
            for (size_t i = 0; ok && i < json_array_size(pending); i++) {
                json_t *p = json_array_get(pending, i);
                const char *prun = json_string_value(json_object_get(p, "run"));
                const char *pop = json_string_value(json_object_get(p, "op"));
                int same = prun && !strcmp(prun, run);
                if (same && !strcmp(op, "revert") && !strcmp(pop, "inject") &&
                    json_integer_value(json_object_get(p, "id")) == json_integer_value(json_object_get(o, "id"))) {
                    json_array_remove(pending, i);
                    break;
                }
                if (same && !strcmp(op, "service_stopped") && !strcmp(pop, "service") &&
                    json_integer_value(json_object_get(p, "pid")) == json_integer_value(json_object_get(o, "pid"))) {
                    json_array_remove(pending, i);
                    break;
                }
            }
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return pending;
}

int journal_rollback(const char *path, struct fl_ctx *ctx, int verbose, char *err)
{
    if (!path) path = journal_default_path();
    json_t *pending = journal_pending(path, err);
    if (!pending) return -1;
    int failed = 0;
    size_t n = json_array_size(pending);
    if (n == 0) { json_decref(pending); if (verbose) fl_log(FL_LOG_INFO, "journal '%s': nothing to roll back", path); return 0; }
    char jerr[FL_ERR_LEN];
    struct journal *j = journal_open(path, "rollback", jerr);
    /* newest first: undo in reverse order of injection */
    for (size_t k = n; k-- > 0;) {
        json_t *p = json_array_get(pending, k);
        const char *op = json_string_value(json_object_get(p, "op"));
        if (!strcmp(op, "service")) {
            pid_t pid = (pid_t)json_integer_value(json_object_get(p, "pid"));
            long long st = json_integer_value(json_object_get(p, "start"));
            const char *name = json_string_value(json_object_get(p, "name"));
            if (pid > 0 && proc_start_time(pid) == st && st >= 0) {
                kill(-pid, SIGCONT);
                kill(-pid, SIGTERM);
                for (int i = 0; i < 50 && kill(pid, 0) == 0; i++) usleep(100000);
                kill(-pid, SIGKILL);
                if (verbose) fl_log(FL_LOG_INFO, "stopped leftover service '%s' (pid %d)", name ? name : "?", (int)pid);
            }
            if (j) {
                json_t *o = json_object();
                json_object_set_new(o, "op", json_string("service_stopped"));
                json_object_set_new(o, "name", json_string(name ? name : ""));
                json_object_set_new(o, "pid", json_integer(pid));
                json_object_set_new(o, "run", json_copy(json_object_get(p, "run")));
                char *s = json_dumps(o, JSON_COMPACT);
                json_decref(o);
                if (s) { dprintf(j->fd, "%s\n", s); fsync(j->fd); free(s); }
            }
            continue;
        }
        const char *kind = json_string_value(json_object_get(p, "kind"));
        const char *step = json_string_value(json_object_get(p, "step"));
        const struct fault_ops *ops = kind ? fault_find(kind) : NULL;
        char e[FL_ERR_LEN] = "";
        int ok;
        if (!ops) { ok = 0; fl_err(e, "unknown fault kind '%s'", kind ? kind : "?"); }
        else if (!ops->revert) ok = 1;
        else if (!ops->revert_saved) { ok = 0; fl_err(e, "fault kind '%s' cannot be reverted from the journal", kind); }
        else ok = ops->revert_saved(json_object_get(p, "rec"), ctx, e) == 0;
        if (verbose) {
            if (ok) fl_log(FL_LOG_INFO, "reverted '%s' (%s)", step ? step : "?", kind ? kind : "?");
            else fl_log(FL_LOG_ERROR, "cannot revert '%s' (%s): %s", step ? step : "?", kind ? kind : "?", e);
        }
        if (!ok) { failed++; continue; }
        if (j) {
            json_t *o = json_object();
            json_object_set_new(o, "op", json_string("revert"));
            json_object_set_new(o, "id", json_copy(json_object_get(p, "id")));
            json_object_set_new(o, "ok", json_true());
            json_object_set_new(o, "run", json_copy(json_object_get(p, "run")));
            char *s = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            if (s) { dprintf(j->fd, "%s\n", s); fsync(j->fd); free(s); }
        }
    }
    if (j) { journal_end(j, failed ? FL_EXIT_REVERT : 0); journal_close(j); }
    json_decref(pending);
    return failed;
}

int journal_forget(const char *path, char *err)
{
    if (!path) path = journal_default_path();
    json_t *pending = journal_pending(path, err);
    if (!pending) return -1;
    size_t n = json_array_size(pending);
    int fd = n ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
    if (n && fd < 0) { json_decref(pending); return fl_err(err, "cannot write the journal '%s': %s", path, strerror(errno)); }
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(pending, i);
        int svc = !strcmp(json_string_value(json_object_get(p, "op")), "service");
        json_t *o = json_object();
        json_object_set_new(o, "op", json_string(svc ? "service_stopped" : "revert"));
        json_object_set_new(o, svc ? "pid" : "id", json_copy(json_object_get(p, svc ? "pid" : "id")));
        if (!svc) json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "forgotten", json_true());
        json_object_set_new(o, "run", json_copy(json_object_get(p, "run")));
        json_object_set_new(o, "time", json_real(fl_wall()));
        char *line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (line) { dprintf(fd, "%s\n", line); free(line); }
    }
    if (fd >= 0) { fsync(fd); close(fd); }
    json_decref(pending);
    return (int)n;
}
