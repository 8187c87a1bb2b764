/* journal.h -- the crash-safe record of what a run broke and how to undo it.
 *
 * JSON lines, appended and fsync'd before each fault is injected and after each revert:
 *   {"op":"begin","run":ID,"plan":NAME,"pid":N,"time":...}
 *   {"op":"inject","run":ID,"id":K,"step":S,"kind":"docker.stop","rec":{...driver record...}}
 *   {"op":"revert","run":ID,"id":K,"ok":true}
 *   {"op":"service","run":ID,"name":S,"pid":N,"start":T}  /  {"op":"service_stopped",...}
 *   {"op":"end","run":ID,"exit":N}
 * `faultline rollback` reads it, reverts every inject without an ok revert (through the
 * fault kind's revert_saved) and stops leftover services; running it twice is harmless.
 */
#ifndef FL_JOURNAL_H
#define FL_JOURNAL_H

#include <jansson.h>
#include <sys/types.h>
#include "fl.h"

struct journal;
struct fl_ctx;

/* default path: $FAULTLINE_JOURNAL, else .faultline/journal.jsonl */
const char *journal_default_path(void);
struct journal *journal_open(const char *path, const char *plan_name, char *err);
long journal_inject(struct journal *j, const char *step, const char *kind, json_t *rec);
void journal_revert(struct journal *j, long id, int ok);
void journal_service(struct journal *j, const char *name, pid_t pid, int stopped);
void journal_end(struct journal *j, int exit_code);
void journal_close(struct journal *j);
const char *journal_path(const struct journal *j);

/* what is still broken according to the journal at path: a JSON array of inject records
 * (and leftover services); NULL with err when the file cannot be read; [] when clean */
json_t *journal_pending(const char *path, char *err);
/* revert everything pending; returns the number that could not be reverted (-1 on error).
 * ctx may be NULL; with the run's plan loaded (ctx->plan) drivers can use what the journal
 * does not hold, such as a password of a target. */
int journal_rollback(const char *path, struct fl_ctx *ctx, int verbose, char *err);

/* mark everything pending as settled without acting (what a person checked by hand, or
 * targets that no longer exist); returns how many records were settled, -1 on error */
int journal_forget(const char *path, char *err);

#endif
