/* contingency.h -- the contingency table of a matrix record (matrix.json, written by
 * orchestrator/matrix.c: one row per combination of lost targets with its verdict, the
 * figures of figures.h and why it did not pass): contingency.md, and the text the command
 * prints. Reads the record only.
 *
 *   report_contingency_row_text(row, &b);     -- "lose r1: failed (exit 1), worst p95 ...\n"
 *   report_contingency_text(mrec, &b);        -- the table after the last combination
 *   report_contingency_md(mrec, "out/contingency.md", err);
 */
#ifndef FL_CONTINGENCY_H
#define FL_CONTINGENCY_H

#include <jansson.h>
#include "buf.h"

/* contingency.md: the overall line, how many combinations survived and one table row per
 * combination; 0, or -1 with err */
int report_contingency_md(const json_t *mrec, const char *path, char *err);
/* the table for a terminal: "\ncontingency N-1 of 'plan':", aligned rows, the overall line */
void report_contingency_text(const json_t *mrec, struct buf *out);
/* one finished combination in one line (a row of the record, with exit_code and report) */
void report_contingency_row_text(const json_t *row, struct buf *out);

#endif
