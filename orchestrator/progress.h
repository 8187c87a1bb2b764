/* progress.h -- the live progress line of `faultline run` (phase, elapsed / total, rps, p95,
 * error rate, active faults).
 *
 *   struct progress *p = progress_new(STDERR_FILENO, quiet);
 *   each second: progress_update(p, "method", elapsed_ms, total_ms, rps, p95_ms, err_rate, nfaults);
 *   before printing another line to the same fd: progress_clear(p);   (the next update redraws)
 *   progress_done(p);                        -- ends the line and frees p
 *
 * On a terminal (isatty, TERM not "dumb") the line is redrawn in place with \r and the ANSI
 * erase-line sequence, cut to the terminal's width so it never wraps. Otherwise a plain
 * timestamped line ("07:14:52 [   12.0s] progress: ...") is written at most every 5 s of
 * elapsed time, and when the phase changes. Quiet: nothing at all. rps, p95_ms or
 * error_rate NAN (no load, no requests yet) print as "-"; total_ms <= 0 means unknown.
 * The calls may come from different threads (a mutex orders them); p may be NULL.
 */
#ifndef FL_PROGRESS_H
#define FL_PROGRESS_H

#include <stdint.h>

struct progress;

struct progress *progress_new(int fd, int quiet);
void progress_update(struct progress *p, const char *phase, int64_t elapsed_ms, int64_t total_ms, double rps,
                     double p95_ms, double error_rate, int active_faults);
void progress_clear(struct progress *p);
void progress_done(struct progress *p);

#endif
