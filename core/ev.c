/* ev.c -- the engines' event loop: epoll, an eventfd, a timerfd and a theap (see ev.h). */
#include "ev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "fl.h"

#define EV_BATCH 256

struct ev {
    int ep;
    struct ev_io wake_io, timer_io;
    void (*on_wake)(struct ev *ev, void *arg);
    void *wake_arg;
    struct theap timers;
    int64_t armed;              /* what the timerfd is set to; EV_NEVER: disarmed */
    int brk;
    int have_pwait2;
};

static void on_wakefd(struct ev *ev, struct ev_io *io, uint32_t events)
{
    (void)events;
    uint64_t v;
    if (read(io->fd, &v, sizeof v) < 0) { /* nothing pending */ }
    if (ev->on_wake) ev->on_wake(ev, ev->wake_arg);
}

static void on_timerfd(struct ev *ev, struct ev_io *io, uint32_t events)
{
    (void)events;
    uint64_t v;
    if (read(io->fd, &v, sizeof v) < 0) { /* spurious */ }
    ev->armed = EV_NEVER;
}

struct ev *ev_new(void (*on_wake)(struct ev *ev, void *arg), void *arg, char *err)
{
    struct ev *ev = fl_calloc(1, sizeof *ev);
    ev->ep = epoll_create1(EPOLL_CLOEXEC);
    ev->wake_io = (struct ev_io){ .fn = on_wakefd, .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
    ev->timer_io = (struct ev_io){ .fn = on_timerfd, .fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) };
    if (ev->ep < 0 || ev->wake_io.fd < 0 || ev->timer_io.fd < 0) {
        fl_err(err, "%s", strerror(errno));
        ev_free(ev);
        return NULL;
    }
    ev->on_wake = on_wake;
    ev->wake_arg = arg;
    ev->armed = EV_NEVER;
    ev->have_pwait2 = 1;
    ev_io_set(ev, &ev->wake_io, EPOLLIN);
    ev_io_set(ev, &ev->timer_io, EPOLLIN);
    return ev;
}

void ev_free(struct ev *ev)
{
    if (!ev) return;
    if (ev->ep >= 0) close(ev->ep);
    if (ev->wake_io.fd >= 0) close(ev->wake_io.fd);
    if (ev->timer_io.fd >= 0) close(ev->timer_io.fd);
    theap_release(&ev->timers);
    free(ev);
}

void ev_io_set(struct ev *ev, struct ev_io *io, uint32_t mask)
{
    if (io->fd < 0 || mask == io->mask) return;
    if (!mask) {
        epoll_ctl(ev->ep, EPOLL_CTL_DEL, io->fd, NULL);
    } else {
        /* an fd epoll still holds (a copy kept open elsewhere) or lost (closed behind our
         * back and reused): the other operation */
        struct epoll_event e = { .events = mask, .data.ptr = io };
        int op = io->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(ev->ep, op, io->fd, &e) < 0 && errno == (op == EPOLL_CTL_ADD ? EEXIST : ENOENT))
            epoll_ctl(ev->ep, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, io->fd, &e);
    }
    io->mask = mask;
}

void ev_timer_set(struct ev *ev, struct ev_timer *t, int64_t due)
{
    if (due == EV_NEVER) theap_remove(&ev->timers, &t->node);
    else theap_set(&ev->timers, &t->node, due);
}

void ev_wake(struct ev *ev)
{
    uint64_t one = 1;
    if (write(ev->wake_io.fd, &one, sizeof one) < 0) { /* the counter is already non-zero */ }
}

void ev_break(struct ev *ev) { ev->brk = 1; }

static int wait_events(struct ev *ev, struct epoll_event *evs, int64_t timeout_ns)
{
    if (timeout_ns < 0) return epoll_wait(ev->ep, evs, EV_BATCH, -1);
    if (ev->have_pwait2) {
        struct timespec ts = { (time_t)(timeout_ns / 1000000000LL), (long)(timeout_ns % 1000000000LL) };
        int n = epoll_pwait2(ev->ep, evs, EV_BATCH, &ts, NULL);
        if (n >= 0 || errno != ENOSYS) return n;
        ev->have_pwait2 = 0;   /* an older kernel: whole milliseconds, rounded up */
    }
    return epoll_wait(ev->ep, evs, EV_BATCH, (int)((timeout_ns + 999999) / 1000000));
}

/* the timerfd set to the earliest timer (only when that changed) */
static void arm(struct ev *ev)
{
    const struct theap_node *top = theap_top(&ev->timers);
    int64_t want = top ? top->due : EV_NEVER;
    if (want == ev->armed) return;
    struct itimerspec its = { 0 };
    if (want != EV_NEVER) {
        if (want <= 0) want = 1;
        its.it_value.tv_sec = want / 1000000000;
        its.it_value.tv_nsec = want % 1000000000;
    }
    timerfd_settime(ev->timer_io.fd, TFD_TIMER_ABSTIME, &its, NULL);
    ev->armed = want;
}

int ev_run_once(struct ev *ev, int64_t timeout_ns)
{
    struct epoll_event evs[EV_BATCH];
    int n = wait_events(ev, evs, timeout_ns);
    if (n < 0) return errno == EINTR ? 0 : -1;
    ev->brk = 0;
    for (int i = 0; i < n && !ev->brk; i++) {
        struct ev_io *io = evs[i].data.ptr;
        io->fn(ev, io, evs[i].events);
    }
    if (ev->timers.n) {
        int64_t now = fl_now_ns();
        struct theap_node *x;
        while ((x = theap_top(&ev->timers)) && x->due <= now) {
            struct ev_timer *t = EV_ENTRY(x, struct ev_timer, node);
            theap_remove(&ev->timers, x);
            t->fn(ev, t, now);
        }
    }
    arm(ev);
    return 0;
}
