/* services.c -- start, watch and stop the plan's managed processes (the `services:` section). */
#include "services.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "journal.h"
#include "spawn.h"

struct svc {
    struct service *def;
    pid_t pid;
    char logpath[512];
};

struct services_rt {
    struct plan *plan;
    const struct drv_ctx *ctx;
    struct journal *journal;      /* NULL outside a run */
    struct svc *v;
    size_t n;
    pthread_mutex_t mu;
};

struct services_rt *svc_new(struct plan *p, const struct drv_ctx *ctx, struct journal *journal, const char *logdir)
{
    struct services_rt *s = fl_calloc(1, sizeof *s);
    s->plan = p;
    s->ctx = ctx;
    s->journal = journal;
    s->n = p->nservices;
    s->v = fl_calloc(s->n, sizeof *s->v);
    pthread_mutex_init(&s->mu, NULL);
    for (size_t i = 0; i < s->n; i++) {
        s->v[i].def = p->services[i];
        snprintf(s->v[i].logpath, sizeof s->v[i].logpath, "%s/service-%s.log", logdir ? logdir : "/tmp", p->services[i]->name);
    }
    return s;
}

/* a service about to run (fsync'd) or stopped, in the run's journal; 0 outside a run */
static int note_service(struct services_rt *s, const char *name, pid_t pid, int stopped, char *err)
{
    return s->journal ? journal_service(s->journal, name, pid, stopped, err) : 0;
}

static struct svc *find(struct services_rt *s, const char *name)
{
    for (size_t i = 0; s && i < s->n; i++) if (!strcmp(s->v[i].def->name, name)) return &s->v[i];
    return NULL;
}

static int alive(pid_t pid)
{
    if (pid <= 0) return 0;
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) return 0;
    return kill(pid, 0) == 0;
}

static int wait_ready(struct services_rt *s, struct svc *v, char *err)
{
    if (!v->def->ready_probe) return 0;
    struct probe_inst pi = { .ops = v->def->ready_probe->ops, .spec = v->def->ready_probe, .ctx = s->ctx,
                             .cfg = v->def->ready_probe->cfg };
    int64_t deadline = fl_now_ms() + v->def->ready_within_ms;
    char last[FL_ERR_LEN] = "no check ran";
    while (fl_now_ms() < deadline) {
        if (!alive(v->pid)) return fl_err(err, "service '%s' exited before it was ready (log: %s)", v->def->name, v->logpath);
        struct probe_obs obs = { 0 };
        char perr[FL_ERR_LEN] = "";
        int rc = pi.ops->check(&pi, &obs, perr);
        if (rc == 0 && obs.outcome == PROBE_PASSED) { if (pi.ops->free_state && pi.state) pi.ops->free_state(pi.state); return 0; }
        snprintf(last, sizeof last, "%s", rc < 0 ? perr : obs.observed);
        if (fl_sleep_ms(200) < 0) break;
    }
    if (pi.ops->free_state && pi.state) pi.ops->free_state(pi.state);
    return fl_err(err, "service '%s' not ready within %lldms: %s (log: %s)", v->def->name,
                  (long long)v->def->ready_within_ms, last, v->logpath);
}

struct gate_arg { struct services_rt *s; struct svc *v; };

/* write-ahead: the service's pid and start time are journaled (fsync'd) before it execs */
static int journal_gate(pid_t pid, void *arg, char *err)
{
    struct gate_arg *g = arg;
    char e[FL_ERR_LEN];
    if (note_service(g->s, g->v->def->name, pid, 0, e) < 0)
        return fl_err(err, "service '%s' not started: %s", g->v->def->name, e);
    return 0;
}

static int start_one(struct services_rt *s, struct svc *v, char *err)
{
    struct gate_arg g = { s, v };
    pid_t pid = spawn_logged(v->def->run, v->def->env, v->def->cwd, v->logpath, journal_gate, &g, err);
    if (pid < 0) return -1;
    pthread_mutex_lock(&s->mu);
    v->pid = pid;
    pthread_mutex_unlock(&s->mu);
    fl_log(FL_LOG_INFO, "service '%s' started (pid %d)", v->def->name, (int)pid);
    return wait_ready(s, v, err);
}

int svc_start_all(struct services_rt *s, char *err)
{
    for (size_t i = 0; i < s->n; i++)
        if (start_one(s, &s->v[i], err) < 0) return -1;
    return 0;
}

pid_t svc_pid(struct services_rt *s, const char *name)
{
    struct svc *v = find(s, name);
    if (!v) return 0;
    pthread_mutex_lock(&s->mu);
    pid_t pid = v->pid;
    pthread_mutex_unlock(&s->mu);
    return pid;
}

static void stop_pid(pid_t pid, int64_t timeout_ms)
{
    if (pid <= 0) return;
    kill(-pid, SIGCONT); /* a frozen group cannot act on SIGTERM */
    kill(-pid, SIGTERM);
    int64_t deadline = fl_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD && kill(pid, 0) < 0)) break;
        if (fl_now_ms() >= deadline) { kill(-pid, SIGKILL); waitpid(pid, &st, 0); break; }
        usleep(10000);
    }
    kill(-pid, SIGKILL); /* anything left in its group */
}

int svc_stop(struct services_rt *s, const char *name)
{
    struct svc *v = find(s, name);
    if (!v) return -1;
    pthread_mutex_lock(&s->mu);
    pid_t pid = v->pid;
    v->pid = 0;
    pthread_mutex_unlock(&s->mu);
    stop_pid(pid, v->def->stop_timeout_ms);
    if (pid > 0) note_service(s, v->def->name, pid, 1, NULL);
    return 0;
}

int svc_restart(struct services_rt *s, const char *name, char *err)
{
    struct svc *v = find(s, name);
    if (!v) return fl_err(err, "no managed service named '%s'", name);
    pthread_mutex_lock(&s->mu);
    pid_t old = v->pid;
    pthread_mutex_unlock(&s->mu);
    if (old > 0 && alive(old)) stop_pid(old, v->def->stop_timeout_ms);
    else if (old > 0) waitpid(old, NULL, WNOHANG);
    if (old > 0) note_service(s, v->def->name, old, 1, NULL);
    return start_one(s, v, err);
}

void svc_stop_all(struct services_rt *s)
{
    if (!s) return;
    for (size_t i = s->n; i-- > 0;) {
        pthread_mutex_lock(&s->mu);
        pid_t pid = s->v[i].pid;
        s->v[i].pid = 0;
        pthread_mutex_unlock(&s->mu);
        if (pid > 0) {
            stop_pid(pid, s->v[i].def->stop_timeout_ms);
            note_service(s, s->v[i].def->name, pid, 1, NULL);
            fl_log(FL_LOG_INFO, "service '%s' stopped", s->v[i].def->name);
        }
    }
}

void svc_free(struct services_rt *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    free(s->v);
    free(s);
}
