/* buf.h -- a growable, always NUL-terminated byte buffer with a size cap.
 *
 *   struct buf b; buf_init(&b, 1 << 20);    -- cap 1 MiB (0 = default 64 MiB)
 *   buf_addf(&b, "%d", n); ... char *s = buf_detach(&b);   -- caller frees s
 *   buf_release(&b);                         -- frees what is still held
 * Appends past the cap fail (return -1) and set b.overflow; the content stays valid.
 */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stddef.h>

struct buf {
    char *data;     /* NUL-terminated; never NULL after buf_init */
    size_t len;
    size_t alloc;
    size_t cap;
    int overflow;
};

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
int buf_add(struct buf *b, const void *data, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* append s escaped for JSON strings / HTML text+attributes / XML */
int buf_add_json_str(struct buf *b, const char *s); /* with the quotes */
int buf_add_html(struct buf *b, const char *s);
char *buf_detach(struct buf *b); /* returns the data (caller frees), leaves b empty */

#endif
