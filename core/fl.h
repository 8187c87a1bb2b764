/* fl.h -- shared basics: the error convention, clocks, interruptible sleep, logging.
 *
 * Error convention: functions return 0 on success and -1 on failure, filling a caller's
 * `char err[FL_ERR_LEN]` with a lowercase message that names the thing in quotes and says
 * what was tried ("cannot stop 'db': docker: 404 no such container"). Only the command
 * layer prints errors.
 */
#ifndef FL_FL_H
#define FL_FL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#define FL_ERR_LEN 512
#define FL_VERSION "0.1.0"
/* run.json's layout (docs/run-json.md); 2: three outcomes (inconclusive), exit code 5 */
#define FL_RUN_FORMAT 2

/* exit codes of PLAN-FORMAT.md, and 5: no hypothesis failed but one could not be judged
 * (a probe, steady-state check or stop condition without evidence: faultline could not
 * seed, could not reach its own probe target, saw no completed request ...) */
enum { FL_EXIT_OK = 0, FL_EXIT_FAILED = 1, FL_EXIT_INVALID = 2, FL_EXIT_ABORTED = 3, FL_EXIT_REVERT = 4,
       FL_EXIT_INCONCLUSIVE = 5 };
/* the verdict word of an exit code: passed, failed, invalid, aborted, revert_failed, inconclusive */
const char *fl_exit_verdict(int code);
/* the worse of two exit codes, for a suite or a matrix: 4 > 3 > 2 > 1 > 5 > 0 (a failed
 * hypothesis outranks one that could not be judged; anything outranks a pass) */
int fl_exit_worse(int a, int b);

/* fill err (FL_ERR_LEN bytes) and return -1 */
int fl_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* monotonic clock, nanoseconds / milliseconds */
int64_t fl_now_ns(void);
static inline int64_t fl_now_ms(void) { return fl_now_ns() / 1000000; }
/* wall clock, seconds since the epoch with sub-second part */
double fl_wall(void);
/* ISO-8601 UTC text of a wall time ("2026-11-27T06:48:45.123Z") into out[32] */
void fl_iso8601(double wall, char out[32]);

/* Abort flag: set by signals (SIGINT/SIGTERM/SIGHUP) and by stop_when. Sleeps below wake
 * early when it is raised. fl_abort_level() counts raises (a second SIGINT skips waits). */
void fl_abort(int why);
int fl_aborted(void);
int fl_abort_level(void);
void fl_abort_reset(void);
/* sleep until the monotonic deadline (ns) or an abort; returns 0 when the deadline came,
 * -1 when woken by an abort */
int fl_sleep_until(int64_t deadline_ns);
int fl_sleep_ms(int64_t ms);

/* Logging to stderr ("faultline: " prefix on errors, timestamps on progress). Every
 * line passes through the secret redactor: registered secret values print as "***". */
enum { FL_LOG_ERROR, FL_LOG_WARN, FL_LOG_INFO, FL_LOG_DEBUG };
extern int fl_log_level;
void fl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* called (when set) before each log line is written: the live progress line clears itself */
extern void (*fl_log_before)(void);
void fl_secret_add(const char *value);
void fl_secret_clear(void);
/* replace every registered secret in s (in place, may shorten) */
void fl_redact(char *s);
/* does s contain a registered secret? */
int fl_has_secret(const char *s);

/* the one seeded generator (splitmix64): reproducible choices from a run's seed */
uint64_t fl_splitmix64(uint64_t *state);
/* uniform in [0, 1) */
double fl_rand01(uint64_t *state);

/* xmalloc family: abort on out-of-memory */
void *fl_malloc(size_t n);
void *fl_calloc(size_t n, size_t size);
void *fl_realloc(void *p, size_t n);
char *fl_strdup(const char *s);
char *fl_strndup(const char *s, size_t n);
char *fl_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
