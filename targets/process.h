/* process.h -- finding and signalling local processes (targets/proc.c): the selector shared by
 * the process target, its faults (faults/process.c) and the process probe (probes/process.c).
 *
 * A selector is one of `pid: N`, `pidfile: PATH`, `match: "full command line"` (exact, or a
 * substring with `match_substring: true`) or `service: NAME` (a process faultline started
 * from the plan's `services:`). It is resolved when used, never at plan load: pids change.
 *
 *   struct proc_sel s;  proc_sel_parse(map, &s, "target 'beat'", d)  -- no I/O
 *   struct proc_id *ids; size_t n;
 *   proc_resolve(&s, ctx, &ids, &n, err)        -- 0: n matches (caller frees ids); when n == 0
 *                                                  err says why nothing matched
 *                                                  -1: could not look (bad pidfile, ...)
 *   proc_sel_release(&s);
 *
 * A process is identified by pid plus start time (/proc/PID/stat field 22), so a pid the
 * kernel reused for another process is never signalled: proc_signal() checks both.
 */
#ifndef FL_PROCESS_H
#define FL_PROCESS_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"
#include "target.h"
#include "node.h"


enum proc_sel_kind { PROC_SEL_PID, PROC_SEL_PIDFILE, PROC_SEL_MATCH, PROC_SEL_SERVICE };

struct proc_sel {
    enum proc_sel_kind kind;
    long pid;                 /* PROC_SEL_PID */
    char *text;               /* pidfile path, command line, or service name */
    int substring;            /* match_substring: true */
    int all;                  /* all: true (many matches are fine) */
};

struct proc_id {
    pid_t pid;
    unsigned long long start; /* clock ticks after boot (/proc/PID/stat field 22) */
    char state;               /* R S D T t Z ... at the time it was read */
};

/* the selector keys, shared by target_process and probe_process (terminated by {0}) */
#define PROC_SEL_PARAMS                                                                        \
    { "pid", PT_INT, 0, "a process id" },                                                      \
    { "pidfile", PT_STR, 0, "a file holding the process id" },                                 \
    { "match", PT_STR, 0, "the full command line (arguments joined by spaces), exactly" },     \
    { "match_substring", PT_BOOL, 0, "match: is a substring of the command line" },            \
    { "service", PT_STR, 0, "a process faultline started from the plan's services:" }

/* Parse the selector keys of map (exactly one of pid/pidfile/match/service). `what` names
 * the owner in messages. Returns 0, or -1 with the problems added to d. No I/O. */
int proc_sel_parse(const struct node *map, struct proc_sel *s, const char *what, struct diag *d);
void proc_sel_release(struct proc_sel *s);
/* "pidfile /run/beat.pid", "command line 'celery beat'", "service 'api'", "pid 42" */
void proc_sel_describe(const struct proc_sel *s, struct buf *out);

/* Every process the selector names now, sorted by start time then pid; faultline's own
 * process is never included. Zombies are left out (they are dead). A service: selector asks
 * the run (ctx, drv.h) for the service's pid. */
int proc_resolve(const struct proc_sel *s, const struct drv_ctx *ctx, struct proc_id **ids, size_t *n, char *err);

/* up to cap-1 bytes of a small file (/proc/PID/stat ...), NUL-terminated; -1 when unreadable */
ssize_t proc_read_small(const char *path, char *buf, size_t cap);
/* Read /proc/PID/stat: 0 and *out filled, or -1 when there is no such process. */
int proc_stat(pid_t pid, struct proc_id *out);
/* Is id still the same living process (same pid and start time, not a zombie)? When it is,
 * *state (may be NULL) gets its current state letter. */
int proc_alive(const struct proc_id *id, char *state);
/* Send sig to id, only if it is still the same process. 0, or -1 with err (gone, reused, EPERM). */
int proc_signal(const struct proc_id *id, int sig, char *err);

/* "SIGTERM", "TERM", "term", "15" -> 15; -1 when unknown. Name of a signal into buf[16]. */
int proc_signal_parse(const char *s);
const char *proc_signal_name(int sig, char buf[16]);

/* a process target's cfg (what its faults read) */
struct proc_target {
    struct proc_sel sel;
    int tree;                  /* tree: true -- the descendants too */
};

extern const struct target_ops target_process;
/* the selector of a process target (NULL when t is not one) */
const struct proc_sel *proc_target_sel(const struct target *t);

#endif
