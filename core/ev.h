/* ev.h -- the event loop of the engines (the proxy engine; the load engine's epoll loop):
 * an epoll set whose handlers are called with their events, an eventfd that wakes it from
 * other threads, and timers on a theap fired through one timerfd. Belongs to the floor
 * every engine stands on (#20: core/).
 *
 *   struct ev *ev = ev_new(on_wake, arg, err);     -- on_wake(ev, arg) runs in the loop
 *                                                     after ev_wake() (may be NULL)
 *   struct conn { struct ev_io io; struct ev_timer tm; ... };   -- embedded in the owner
 *   c->io = (struct ev_io){ .fn = on_ready, .fd = fd };
 *   ev_io_set(ev, &c->io, EPOLLIN);                -- add, change, or 0: leave epoll
 *   c->tm.fn = on_due; ev_timer_init(&c->tm);
 *   ev_timer_set(ev, &c->tm, due_ns);              -- EV_NEVER stops it
 *   while (!stop) ev_run_once(ev, -1);             -- one wait, its events, the due timers
 *   ev_free(ev);
 * One thread runs the loop and calls everything but ev_wake() (any thread). Handlers get
 * their struct back with EV_ENTRY(io, struct conn, io). An io that leaves epoll while its
 * events of the current batch are still to come gets them anyway (level-triggered epoll
 * reports again what is still pending), so its memory must outlive the batch: free what
 * the handlers closed after ev_run_once() returns.
 */
#ifndef FL_EV_H
#define FL_EV_H

#include <stdint.h>
#include "theap.h"

#define EV_NEVER INT64_MAX
#define EV_ENTRY(ptr, type, member) THEAP_ENTRY(ptr, type, member)

struct ev;

struct ev_io {
    void (*fn)(struct ev *ev, struct ev_io *io, uint32_t events);
    int fd;
    uint32_t mask;              /* what epoll watches for it; 0: not in epoll */
};

struct ev_timer {
    void (*fn)(struct ev *ev, struct ev_timer *t, int64_t now);
    struct theap_node node;     /* node.due: when (monotonic ns) */
};

struct ev *ev_new(void (*on_wake)(struct ev *ev, void *arg), void *arg, char *err);
void ev_free(struct ev *ev);

/* watch io->fd for mask (EPOLLIN, EPOLLOUT ...), level-triggered; mask 0 leaves epoll
 * (do that before closing a socket another process may hold a copy of) */
void ev_io_set(struct ev *ev, struct ev_io *io, uint32_t mask);

static inline void ev_timer_init(struct ev_timer *t) { theap_node_init(&t->node); }
static inline int ev_timer_queued(const struct ev_timer *t) { return theap_queued(&t->node); }
void ev_timer_set(struct ev *ev, struct ev_timer *t, int64_t due);

/* from any thread: on_wake runs in the loop's next round */
void ev_wake(struct ev *ev);
/* one round: wait up to timeout_ns (-1: until something happens), call the handlers of
 * what is ready, then the timers that are due; 0, or -1 when epoll fails (not EINTR) */
int ev_run_once(struct ev *ev, int64_t timeout_ns);
/* from a handler: the rest of this round's events wait for the next round (timers still run) */
void ev_break(struct ev *ev);

#endif
