/* run.h -- the timeline runner: one experiment from steady state to report.
 *
 *   struct run_opts o = { .report_dir = "out", ... };
 *   json_t *record = NULL;
 *   int code = run_plan(plan, &o, &record);   -- exit code of PLAN-FORMAT.md
 *   report_write_all(record, dir, err); json_decref(record);
 *
 * Order: journal (locked; refuses unsettled faults) -> targets open -> services (each
 * journaled before it runs) -> steady state (before) -> load start (run clock t=0) -> method
 * steps, each in its own thread (overlapping steps run concurrently): targets observed and
 * the intent journaled (fsync'd) up to 100 ms before at:, injected at at:, reverted after
 * for: (docs/journal.md) -> probes in their windows -> stop_when
 * every second -> end of duration -> probes without timing -> steady state (after) ->
 * automatic reverts of anything still injected -> rollback steps (always) -> targets
 * closed -> services stopped -> record.
 */
#ifndef FL_RUN_H
#define FL_RUN_H

#include <jansson.h>
#include <sys/types.h>
#include "plan.h"

struct run_opts {
    const char *report_dir;     /* where service logs go (and run.json, written by the caller) */
    uint64_t seed;
    int seed_set;
    int dry_run;                /* resolve targets (reads only), print the timeline, touch nothing */
    int64_t timeout_ms;         /* global --timeout, 0 = none */
    const char *journal_path;   /* NULL = journal_default_path() */
    int ignore_journal;         /* start even though the journal holds unreverted faults */
    int quiet;                  /* no live progress line */
    const char *live_push_url;  /* --pushgateway: live figures every 2 s (live.h), NULL = none */
    const char *annotate_url;   /* --annotate: a JSON event at each inject and revert, NULL = none */
};

int run_plan(struct plan *p, const struct run_opts *o, json_t **record);

/* install SIGINT/SIGTERM/SIGHUP handlers that raise fl_abort() */
void run_install_signals(void);

#endif
