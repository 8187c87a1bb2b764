/* services.h -- processes a plan's `services:` section starts before the run and stops after.
 *
 *   struct services_rt *s = svc_new(plan, ctx, journal, logdir);   -- journal may be NULL
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
struct journal;
/* ctx: what a ready: probe sees of the run; journal: where each service is recorded */
struct services_rt *svc_new(struct plan *p, const struct drv_ctx *ctx, struct journal *journal, const char *logdir);
int svc_start_all(struct services_rt *s, char *err);
pid_t svc_pid(struct services_rt *s, const char *name);      /* 0 when unknown or not running */
int svc_restart(struct services_rt *s, const char *name, char *err);
int svc_stop(struct services_rt *s, const char *name);
void svc_stop_all(struct services_rt *s);
void svc_free(struct services_rt *s);
#endif
