/* load_epoll.c -- the load engine's other loop (FL_LG_LOOP=epoll): libcurl's socket_action
 * driven by epoll, woken by an eventfd. Kept because tests/bench/load_bench.sh measures it
 * (the "fl-epoll" peer) against the default curl_multi_poll loop (load_engine.c), which
 * was faster there. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fl.h"
#include "load_int.h"

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct lg *lg = userp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(lg->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (socketp) {
        if (epoll_ctl(lg->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
            epoll_ctl(lg->epfd, EPOLL_CTL_ADD, s, &ev);
    } else {
        if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
            epoll_ctl(lg->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(lg->multi, s, lg);
    }
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct lg *lg = userp;
    (void)m;
    lg->curl_due = timeout_ms < 0 ? -1 : fl_now_ns() + (int64_t)timeout_ms * 1000000LL;
    return 0;
}

int lg_epoll_init(struct lg *lg, char *err)
{
    lg->have_pwait2 = 1;
    lg->epfd = epoll_create1(EPOLL_CLOEXEC);
    lg->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (lg->epfd < 0 || lg->evfd < 0) return fl_err(err, "cannot start the load engine: epoll: %s", strerror(errno));
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lg->evfd };
    epoll_ctl(lg->epfd, EPOLL_CTL_ADD, lg->evfd, &ev);
    curl_multi_setopt(lg->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(lg->multi, CURLMOPT_SOCKETDATA, lg);
    curl_multi_setopt(lg->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(lg->multi, CURLMOPT_TIMERDATA, lg);
    return 0;
}

void lg_epoll_wait(struct lg *lg, int64_t wait)
{
    struct epoll_event evs[256];
    int n;
    if (lg->have_pwait2) {
        struct timespec ts = { (time_t)(wait / 1000000000LL), (long)(wait % 1000000000LL) };
        n = epoll_pwait2(lg->epfd, evs, 256, &ts, NULL);
        if (n < 0 && errno == ENOSYS) { lg->have_pwait2 = 0; return; }
    } else {
        n = epoll_wait(lg->epfd, evs, 256, (int)((wait + 999999) / 1000000));
    }
    int running;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.fd == lg->evfd) {
            uint64_t x;
            if (read(lg->evfd, &x, sizeof x) < 0) { /* drained already */ }
            continue;
        }
        int fl = 0;
        if (evs[i].events & EPOLLIN) fl |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT) fl |= CURL_CSELECT_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP)) fl |= CURL_CSELECT_ERR;
        curl_multi_socket_action(lg->multi, evs[i].data.fd, fl, &running);
    }
    if (lg->curl_due >= 0 && fl_now_ns() >= lg->curl_due) {
        lg->curl_due = -1;
        curl_multi_socket_action(lg->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

void lg_epoll_wake(struct lg *lg)
{
    uint64_t one = 1;
    if (write(lg->evfd, &one, sizeof one) < 0) { /* the loop re-checks within 50 ms anyway */ }
}

void lg_epoll_release(struct lg *lg)
{
    if (lg->epfd >= 0) close(lg->epfd);
    if (lg->evfd >= 0) close(lg->evfd);
    lg->epfd = lg->evfd = -1;
}
