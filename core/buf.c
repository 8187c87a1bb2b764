/* buf.c -- growable NUL-terminated buffer with a cap (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"

#define BUF_DEFAULT_CAP ((size_t)64 << 20)

void buf_init(struct buf *b, size_t cap)
{
    b->alloc = 64;
    b->data = fl_malloc(b->alloc);
    b->data[0] = '\0';
    b->len = 0;
    b->cap = cap ? cap : BUF_DEFAULT_CAP;
    b->overflow = 0;
}

void buf_release(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->overflow = 0;
    if (b->data) b->data[0] = '\0';
}

static int grow(struct buf *b, size_t extra)
{
    if (!b->data) buf_init(b, 0);
    if (b->len + extra > b->cap) { b->overflow = 1; return -1; }
    if (b->len + extra + 1 <= b->alloc) return 0;
    size_t n = b->alloc;
    while (n < b->len + extra + 1) n *= 2;
    b->data = fl_realloc(b->data, n);
    b->alloc = n;
    return 0;
}

int buf_add(struct buf *b, const void *data, size_t n)
{
    if (grow(b, n) < 0) return -1;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_adds(struct buf *b, const char *s) { return buf_add(b, s, strlen(s)); }
int buf_addc(struct buf *b, char c) { return buf_add(b, &c, 1); }

int buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof small) return buf_add(b, small, (size_t)n);
    if (grow(b, (size_t)n) < 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int buf_add_json_str(struct buf *b, const char *s)
{
    int rc = buf_addc(b, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && rc == 0; p++) {
        switch (*p) {
        case '"': rc = buf_adds(b, "\\\""); break;
        case '\\': rc = buf_adds(b, "\\\\"); break;
        case '\n': rc = buf_adds(b, "\\n"); break;
        case '\r': rc = buf_adds(b, "\\r"); break;
        case '\t': rc = buf_adds(b, "\\t"); break;
        default:
            if (*p < 0x20) rc = buf_addf(b, "\\u%04x", *p);
            else rc = buf_addc(b, (char)*p);
        }
    }
    return rc ? rc : buf_addc(b, '"');
}

int buf_add_html(struct buf *b, const char *s)
{
    int rc = 0;
    for (const char *p = s ? s : ""; *p && rc == 0; p++) {
        switch (*p) {
        case '<': rc = buf_adds(b, "&lt;"); break;
        case '>': rc = buf_adds(b, "&gt;"); break;
        case '&': rc = buf_adds(b, "&amp;"); break;
        case '"': rc = buf_adds(b, "&quot;"); break;
        case '\'': rc = buf_adds(b, "&#39;"); break;
        default: rc = buf_addc(b, *p);
        }
    }
    return rc;
}

char *buf_detach(struct buf *b)
{
    char *d = b->data;
    if (!d) d = fl_strdup("");
    b->data = NULL;
    b->len = b->alloc = 0;
    return d;
}
