/* load_epoll.c -- the load engine's other loop (FL_LG_LOOP=epoll): libcurl's socket_action
 * on the engines' event loop (ev.h: epoll, woken by an eventfd). Kept because
 * tests/bench/load_bench.sh measures it (the "fl-epoll" peer) against the default
 * curl_multi_poll loop (load_engine.c), which was faster there. */
#include <stdlib.h>
#include <sys/epoll.h>

#include "ev.h"
#include "fl.h"
#include "load_int.h"

/* a socket libcurl asked to watch */
struct lg_sock {
    struct ev_io io;
    struct lg *lg;
    struct lg_sock *next;          /* in the grave, once libcurl let it go */
};

static void on_sock_ready(struct ev *ev, struct ev_io *io, uint32_t events)
{
    (void)ev;
    struct lg_sock *ls = EV_ENTRY(io, struct lg_sock, io);
    int fl = 0, running;
    if (events & EPOLLIN) fl |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) fl |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP)) fl |= CURL_CSELECT_ERR;
    curl_multi_socket_action(ls->lg->multi, io->fd, fl, &running);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct lg *lg = userp;
    struct lg_sock *ls = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        /* events of this round may still name it: freed after the round */
        if (ls) {
            ev_io_set(lg->ev, &ls->io, 0);
            ls->next = lg->sock_grave;
            lg->sock_grave = ls;
            curl_multi_assign(lg->multi, s, NULL);
        }
        return 0;
    }
    if (!ls) {
        ls = fl_calloc(1, sizeof *ls);
        ls->io = (struct ev_io){ .fn = on_sock_ready, .fd = s };
        ls->lg = lg;
        curl_multi_assign(lg->multi, s, ls);
    }
    ev_io_set(lg->ev, &ls->io, (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u));
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct lg *lg = userp;
    (void)m;
    lg->curl_due = timeout_ms < 0 ? -1 : fl_now_ns() + (int64_t)timeout_ms * 1000000LL;
    return 0;
}

static void bury(struct lg *lg)
{
    while (lg->sock_grave) {
        struct lg_sock *ls = lg->sock_grave;
        lg->sock_grave = ls->next;
        free(ls);
    }
}

int lg_epoll_init(struct lg *lg, char *err)
{
    char eerr[FL_ERR_LEN];
    if (!(lg->ev = ev_new(NULL, NULL, eerr))) return fl_err(err, "cannot start the load engine: epoll: %s", eerr);
    curl_multi_setopt(lg->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(lg->multi, CURLMOPT_SOCKETDATA, lg);
    curl_multi_setopt(lg->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(lg->multi, CURLMOPT_TIMERDATA, lg);
    return 0;
}

void lg_epoll_wait(struct lg *lg, int64_t wait)
{
    ev_run_once(lg->ev, wait);
    bury(lg);
    if (lg->curl_due >= 0 && fl_now_ns() >= lg->curl_due) {
        int running;
        lg->curl_due = -1;
        curl_multi_socket_action(lg->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        bury(lg);
    }
}

void lg_epoll_wake(struct lg *lg) { ev_wake(lg->ev); }

void lg_epoll_release(struct lg *lg)
{
    bury(lg);
    ev_free(lg->ev);
    lg->ev = NULL;
}
