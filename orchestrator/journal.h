/* journal.h -- the write-ahead journal: what a run is about to break, recorded (fsync'd)
 * before it breaks it, and the reconciling rollback that reads it after any crash.
 *
 * JSON lines, appended (docs/journal.md has every field):
 *   {"op":"begin","run":R,"cmd":"run"|"rollback","plan":P,"pid":N,"pid_start":T,"time":W}
 *   {"op":"intent","run":R,"id":K,"step":S,"kind":"docker.stop","rec":{prior state}}  fsync'd
 *   {"op":"progress","run":R,"id":K,"phase":"inject"|"revert","item":I,"note":{...}}
 *   {"op":"done","run":R,"id":K,"ok":B,"error":E,"rec":{...}}
 *   {"op":"reverted","run":R,"id":K,"ok":B,"how":"run"|"rollback"|"nothing to undo"|...}  fsync'd
 *   {"op":"service","run":R,"name":S,"pid":N,"start":T}  fsync'd before the service's exec
 *   {"op":"service_stopped","run":R,"name":S,"pid":N}
 *   {"op":"end","run":R,"exit":N}
 * Older journals ("inject" = intent + done, "revert" = reverted) are still read.
 *
 * A step is settled by its reverted record (ok). An intent without one is pending: possibly
 * applied, possibly half-applied. `faultline rollback` hands each pending step to its kind's
 * reconcile() (fault.h), newest first, and stops leftover services; then settles them.
 *
 * Lock: an open journal holds an exclusive flock(2) on the file. A run refuses a journal in
 * use; a rollback waits for another rollback, and refuses one a live run holds. The directory
 * is fsync'd when the journal is opened; a torn last line (a crash mid-write) is terminated
 * before anything is appended after it, and reported by every reader.
 *
 *   struct journal *j = journal_open(path, "run", err);     -- locked
 *   json_t *pend = journal_pending(path, &problems, err);   -- refuse when not empty
 *   journal_begin(j, plan_name, err);
 *   long id = journal_intent(j, step, kind, rec, err);      -- then the effect
 *   journal_progress(...); journal_done(...); journal_reverted(...);
 *   journal_end(j, code); journal_close(j);
 */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include <jansson.h>
#include <sys/types.h>
#include "fl.h"

struct journal;
struct drv_ctx;

/* default path: $FAULTLINE_JOURNAL, else .faultline/journal.jsonl */
const char *journal_default_path(void);
/* create (folders too) and lock; cmd is "run" or "rollback" (the lock policy above).
 * NULL with err when it cannot be opened or is in use. */
struct journal *journal_open(const char *path, const char *cmd, char *err);
int journal_begin(struct journal *j, const char *plan_name, char *err);
/* the intent of a step, fsync'd: its id, or -1 with err (then nothing may be done) */
long journal_intent(struct journal *j, const char *step, const char *kind, json_t *rec, char *err);
/* a progress note (reference to note taken); sync: fsync it (a target added before it is
 * touched). 0, or -1 with err. Phase "revert" passes the test crash point "revert". */
int journal_progress(struct journal *j, long id, const char *phase, size_t item, json_t *note, int sync, char *err);
/* inject returned: ok, the error when not, the record after it (reference taken, may be NULL) */
void journal_done(struct journal *j, long id, int ok, const char *error, json_t *rec);
/* the step is settled (ok) or its revert failed (!ok, still pending); how says by what */
void journal_reverted(struct journal *j, long id, int ok, const char *how);
/* a service about to run (fsync'd; before its exec), or one stopped */
int journal_service(struct journal *j, const char *name, pid_t pid, int stopped, char *err);
void journal_end(struct journal *j, int exit_code);
void journal_close(struct journal *j);
const char *journal_path(const struct journal *j);

/* What is still pending in the journal at path: a JSON array of entries
 *   {"op":"step","run","id","step","kind","rec","progress":[...],"done","inject_ok",
 *    "intent_time","last_time","runner_pid","runner_start"}
 *   {"op":"service","run","name","pid","start"}
 * in the order they were recorded; [] when clean or absent. *problems (may be NULL) gets an
 * array of texts, one per line that is not a whole record ("line 7 (43 bytes) is torn ...").
 * NULL with err when the file cannot be read. Takes no lock. */
json_t *journal_pending(const char *path, json_t **problems, char *err);
/* the same from the journal's bytes (no I/O; what journal_pending reads, and what the fuzz
 * target feeds): never NULL */
json_t *journal_parse(const char *data, size_t size, json_t **problems);

/* Reconcile everything pending (lock taken; see above), saying per step and per target what
 * it found and did (fl_log, when verbose). Returns the number of steps that could not be
 * settled, -1 with err when the journal cannot be used. ctx may be NULL; with the run's plan
 * loaded (its target_named hook) drivers can use what the journal does not hold, such as a
 * password. */
int journal_rollback(const char *path, const struct drv_ctx *ctx, int verbose, char *err);

/* settle everything pending without acting (what a person checked by hand, or targets that
 * no longer exist); returns how many records were settled, -1 on error */
int journal_forget(const char *path, char *err);

/* TEST ONLY: when $FL_TEST_CRASH_AT equals point ("intent": after the intent is fsync'd;
 * "done": after inject returned, before the done record; "revert": after the first target
 * is restored, or after revert returned, before the reverted record; "service": after a
 * service's record, before its exec), the process _exits (code 86) on the spot, as a SIGKILL
 * would end it. Documented in docs/journal.md; never set it outside tests. */
void journal_crash_point(const char *point);

#endif
