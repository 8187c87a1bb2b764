/* spawn.h -- child processes: a service in its own process group with its output in a log,
 * a command run to completion with a timeout, a command detached from faultline for good.
 * Each returns what it says, or -1 with err filled (FL_ERR_LEN). A child never inherits
 * faultline's blocked signals or its ignored SIGPIPE. */
#ifndef FL_SPAWN_H
#define FL_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* spawn argv (argv[0] looked up in PATH) in its own process group with extra env ("K=V",
 * NULL-terminated, may be NULL) and cwd (may be NULL); stdout+stderr appended to logpath (or
 * /dev/null). Returns pid or -1. gate (may be NULL) is called with the child's pid before the
 * child execs: the child waits for it, and never runs the command when gate fails or the
 * parent dies first (so a journal can record the pid before the process does anything). */
pid_t spawn_logged(char *const *argv, char *const *env, const char *cwd, const char *logpath,
                   int (*gate)(pid_t pid, void *arg, char *err), void *gate_arg, char *err);
/* run argv to completion with a timeout (its process group killed after it); returns the
 * exit status (128+sig when killed), -1 on spawn failure or timeout; captures up to outlen-1
 * bytes of stdout+stderr into out when non-NULL */
int spawn_run(char *const *argv, int64_t timeout_ms, char *out, size_t outlen, char *err);
/* start argv detached (own session, stdio on /dev/null, adopted by init: it outlives
 * faultline). 0 with *pid, or -1 with err when it could not be started (exec failing too). */
int spawn_detached(char *const *argv, pid_t *pid, char *err);

#endif
