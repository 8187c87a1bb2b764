/* theap.h -- timers of an event loop: an intrusive binary min-heap of nodes keyed by a due
 * time (the proxy engine's connections by their next wake-up, the load engine's users by
 * the end of their think time). Belongs to the floor every engine stands on (#20: core/).
 *
 *   struct conn { ...; struct theap_node tm; };
 *   struct theap h = { 0 };
 *   theap_node_init(&c->tm);                 -- in no heap
 *   theap_set(&h, &c->tm, due_ns);           -- insert, or move to another due time
 *   for (struct theap_node *t; (t = theap_top(&h)) && t->due <= now;) {
 *       theap_remove(&h, t); struct conn *c = THEAP_ENTRY(t, struct conn, tm); ... }
 *   theap_release(&h);                       -- the array; the nodes belong to their owners
 * One thread uses a heap. Equal due times come out in no particular order.
 */
#ifndef FL_THEAP_H
#define FL_THEAP_H

#include <stddef.h>
#include <stdint.h>

#define THEAP_NONE ((size_t)-1)

struct theap_node {
    int64_t due;        /* the key (ns); kept after removal */
    size_t idx;         /* position in the heap, THEAP_NONE when in none */
};

struct theap {
    struct theap_node **v;
    size_t n, alloc;
};

#define THEAP_ENTRY(node, type, member) ((type *)(void *)((char *)(node) - offsetof(type, member)))

static inline void theap_node_init(struct theap_node *x) { x->idx = THEAP_NONE; }
static inline int theap_queued(const struct theap_node *x) { return x->idx != THEAP_NONE; }
/* the earliest node, NULL when the heap is empty */
static inline struct theap_node *theap_top(const struct theap *h) { return h->n ? h->v[0] : NULL; }

void theap_set(struct theap *h, struct theap_node *x, int64_t due);
/* take x out (nothing when it is in no heap) */
void theap_remove(struct theap *h, struct theap_node *x);
void theap_release(struct theap *h);

#endif
