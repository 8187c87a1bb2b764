/* report.h -- report writers. Each reads only the run record (the JSON that run_plan()
 * built, the same as run.json), so `faultline report run.json` can re-render any of them.
 * All return 0, or -1 with err filled. Text from the plan or the target is escaped. */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <jansson.h>
#include "fl.h"

int report_json(json_t *run, const char *path, char *err);      /* run.json (docs/run-json.md) */
int report_junit(json_t *run, const char *path, char *err);     /* junit.xml */
int report_markdown(json_t *run, const char *path, char *err);  /* summary.md */
int report_html(json_t *run, const char *path, char *err);      /* report.html */
/* for other pages in report.html's style (suite.html): the head up to <main> with the title
 * "faultline: NAME — VERDICT", and a verdict badge; both escape their strings */
struct buf;
void report_html_open(struct buf *b, const char *name, const char *verdict);
void report_html_badge(struct buf *b, const char *verdict);
/* every writer that exists into dir (created when missing) */
int report_write_all(json_t *run, const char *dir, char *err);

/* For a suite of runs (the drill's suite.junit.xml): the <testsuite> element that junit.xml
 * holds for the record, named `name` (NULL: the plan's name), with `extra` (more <testcase>
 * elements, counted in *extra_n; both may be NULL) after the record's own cases; its counts
 * and time are added to *tot. */
struct buf;
struct report_junit_counts { long tests, failures, errors, skipped; double time; };
void report_junit_testsuite(const json_t *run, const char *name, const char *extra,
                            const struct report_junit_counts *extra_n, struct buf *out, struct report_junit_counts *tot);

#endif
