/* md.h -- Markdown text for the report writers (summary.md, contingency.md, suite.md): the
 * one escaper, so what a plan, a target or a probe says cannot break a table or inject
 * markup in any of them.
 *
 *   md_text(&b, name);              -- escaped text
 *   buf_adds(&b, "|"); md_cell(&b, observed); ...   -- " escaped text |", cut at MD_CELL_MAX
 */
#ifndef FL_MD_H
#define FL_MD_H

#include <stddef.h>
#include "buf.h"

#define MD_CELL_MAX 300       /* bytes of one table cell's text before it is cut */

/* Escape s (NULL = "") for Markdown text: punctuation that starts markup (\ ` * _ [ ] | # ~ !)
 * gets a backslash, < > & become entities (no raw HTML), line breaks and tabs become spaces,
 * control characters are dropped. With max > 0 the text is cut after max bytes, on a UTF-8
 * boundary, with "…". */
void md_put(struct buf *b, const char *s, size_t max);
/* md_put(b, s, 0) */
void md_text(struct buf *b, const char *s);
/* a table cell: " " + s escaped and cut at MD_CELL_MAX + " |" */
void md_cell(struct buf *b, const char *s);

#endif
