/* theap.c -- the timers' min-heap (see theap.h). */
#include "theap.h"

#include <stdlib.h>
#include "fl.h"

static void swap(struct theap *h, size_t i, size_t j)
{
    struct theap_node *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
    h->v[i]->idx = i;
    h->v[j]->idx = j;
}

/* restore the order around i, up then down */
static void fix(struct theap *h, size_t i)
{
    while (i > 0 && h->v[(i - 1) / 2]->due > h->v[i]->due) {
        swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l]->due < h->v[m]->due) m = l;
        if (r < h->n && h->v[r]->due < h->v[m]->due) m = r;
        if (m == i) break;
        swap(h, i, m);
        i = m;
    }
}

void theap_set(struct theap *h, struct theap_node *x, int64_t due)
{
    x->due = due;
    if (x->idx == THEAP_NONE) {
        if (h->n == h->alloc) {
            h->alloc = h->alloc ? 2 * h->alloc : 64;
            h->v = fl_realloc(h->v, h->alloc * sizeof *h->v);
        }
        x->idx = h->n;
        h->v[h->n++] = x;
    }
    fix(h, x->idx);
}

void theap_remove(struct theap *h, struct theap_node *x)
{
    size_t i = x->idx;
    if (i == THEAP_NONE) return;
    x->idx = THEAP_NONE;
    h->n--;
    if (i == h->n) return;
    h->v[i] = h->v[h->n];
    h->v[i]->idx = i;
    fix(h, i);
}

void theap_release(struct theap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->alloc = 0;
}
