/* suite.h -- the summary of a drill (`faultline drill`): suite.junit.xml, suite.md and suite.html from the
 * suite record (suite.json: `experiments`, `matrices`, `verdict`, ..., built by
 * orchestrator/cmd_drill.c) and each experiment's own run record, `<report>/run.json`. Reads
 * those records only.
 *
 * An experiment's testsuite in suite.junit.xml is the one its junit.xml holds
 * (report_junit_testsuite(), so the two cannot disagree), named after the experiment, plus a
 * testcase "no regression against the last passing run" when the drill keeps a history. An
 * experiment without a record (not run, invalid plan) is one testcase of its verdict.
 */
#ifndef FL_SUITE_H
#define FL_SUITE_H

#include <jansson.h>
#include "buf.h"

int report_suite_junit(const json_t *suite, const char *path, char *err);
int report_suite_md(const json_t *suite, const char *path, char *err);
/* suite.html: the verdict, one line an experiment (verdict, worst regression, link to its
 * report.html) and each comparison table, in report.html's style; every string escaped */
int report_suite_html(const json_t *suite, const char *path, char *err);
/* one experiment (an entry of `experiments`) in one line for a terminal, with "\n" */
void report_suite_entry_text(const json_t *e, struct buf *out);

#endif
