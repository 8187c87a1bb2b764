/* services.h -- processes a plan's `services:` section starts before the run and stops after.
 *
 *   struct services_rt *s = svc_new(plan, ctx, logdir);
 *   svc_start_all(s, err)     -- start each in order, wait for its ready: probe (bounded)
 *   ... svc_pid(s, "api"), svc_restart(s, "api", err) (process faults use these) ...
 *   svc_stop_all(s)           -- SIGTERM to each process group, SIGKILL after stop_timeout
 *   svc_free(s)
 * Only the processes started here are ever stopped here. Thread-safe. Each service's pid
 * and start time are in the run's journal before it runs its command (write-ahead).
 */
#ifndef FL_SERVICES_H
#define FL_SERVICES_H

#include <sys/types.h>
#include "plan.h"

struct services_rt;
struct services_rt *svc_new(struct plan *p, struct fl_ctx *ctx, const char *logdir);
int svc_start_all(struct services_rt *s, char *err);
pid_t svc_pid(struct services_rt *s, const char *name);      /* 0 when unknown or not running */
int svc_restart(struct services_rt *s, const char *name, char *err);
int svc_stop(struct services_rt *s, const char *name);
void svc_stop_all(struct services_rt *s);
void svc_free(struct services_rt *s);
/* spawn argv (argv[0] looked up in PATH) in its own process group with extra env and cwd;
 * stdout+stderr appended to logpath (or /dev/null). Returns pid or -1. gate (may be NULL)
 * is called with the child's pid before the child execs: the child waits for it, and never
 * runs the command when gate fails or the parent dies first (so a journal can record the
 * pid before the process does anything). */
pid_t svc_spawn(char *const *argv, char *const *env, const char *cwd, const char *logpath,
                int (*gate)(pid_t pid, void *arg, char *err), void *gate_arg, char *err);
/* run argv to completion with a timeout; returns exit status (128+sig when killed), -1 on
 * spawn failure; captures up to outlen-1 bytes of stdout+stderr into out when non-NULL */
int svc_run(char *const *argv, int64_t timeout_ms, char *out, size_t outlen, char *err);

#endif
