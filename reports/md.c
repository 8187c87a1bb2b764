/* md.c -- the one Markdown escaper of the report writers (see md.h). */
#include "md.h"

void md_put(struct buf *b, const char *s, size_t max)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++, n++) {
        if (max && n >= max && (*p & 0xC0) != 0x80) { buf_adds(b, "…"); return; }
        switch (*p) {
        case '<': buf_adds(b, "&lt;"); break;
        case '>': buf_adds(b, "&gt;"); break;
        case '&': buf_adds(b, "&amp;"); break;
        case '\n': case '\r': case '\t': buf_addc(b, ' '); break;
        case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '#': case '~': case '!':
            buf_addc(b, '\\');
            buf_addc(b, (char)*p);
            break;
        default:
            if (*p >= 0x20 && *p != 0x7f) buf_addc(b, (char)*p);
        }
    }
}

void md_text(struct buf *b, const char *s) { md_put(b, s, 0); }

void md_cell(struct buf *b, const char *s)
{
    buf_adds(b, " ");
    md_put(b, s, MD_CELL_MAX);
    buf_adds(b, " |");
}
