/* load_engine.c -- the load engine's thread: virtual users and open-model arrivals on one
 * libcurl multi handle, their timers, logins and the shape of the load over time (see
 * load.h). The default loop waits in curl_multi_poll; load_epoll.c is the other one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "fl.h"
#include "load_int.h"

static double uniform(uint64_t *s) { return fl_rand01(s); }

/* ---- timers (users by the end of their think time) ------------------------------------- */

static void timer_set(struct lg_user *u, int64_t due)
{
    theap_set(&u->b->lg->timers, &u->tm, due);
    u->state = U_THINK;
}

/* ---- users and requests ----------------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct lg_user *u = userdata;
    size_t n = size * nmemb;
    if (u->capture) buf_add(&u->reply, ptr, n);
    return n;
}

static struct lg_user *user_new(struct lg_blk *b, size_t index)
{
    struct lg_user *u = fl_calloc(1, sizeof *u);
    u->b = b;
    u->index = index;
    u->set_ep = -1;
    theap_node_init(&u->tm);
    u->rng = b->lg->seed ^ (0x51ed270b7a3c9d1full * (b->idx + 1)) ^ (0x2545f4914f6cdd1dull * (index + 1));
    buf_init(&u->reply, REPLY_CAP);
    u->easy = curl_easy_init();
    if (!u->easy) {
        fl_log(FL_LOG_ERROR, "load '%s': cannot create a curl handle", b->cfg->name);
        abort();
    }
    CURL *e = u->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, u);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PROXY, "");              /* no proxy from the environment: only the plan's URLs */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");            /* and no getenv("no_proxy") on every request */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)b->cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    return u;
}

void lg_user_free(struct lg_user *u)
{
    if (!u) return;
    if (u->easy) curl_easy_cleanup(u->easy);
    free(u->token);
    free(u->auth);
    buf_release(&u->reply);
    free(u);
}

static void users_push(struct lg_blk *b, struct lg_user *u)
{
    if (b->nusers == b->ausers) {
        b->ausers = b->ausers ? 2 * b->ausers : 16;
        b->users = fl_realloc(b->users, b->ausers * sizeof *b->users);
    }
    b->users[b->nusers++] = u;
}

static int pick_request(struct lg_blk *b, struct lg_user *u)
{
    size_t n = b->cfg->nreqs;
    if (n == 1) return 0;
    double r = uniform(&u->rng) * b->cum_weight[n - 1];
    for (size_t i = 0; i < n; i++)
        if (r < b->cum_weight[i]) return (int)i;
    return (int)n - 1;
}

static void set_auth(struct lg_user *u, const char *token)
{
    free(u->auth);
    u->auth = fl_asprintf("Authorization: Bearer %s", token);
}

static void send_req(struct lg_user *u, int ep, int64_t origin_ns)
{
    struct lg_blk *b = u->b;
    struct lg *lg = b->lg;
    struct lg_prep *pr = &b->preps[ep];
    CURL *e = u->easy;
    if (u->set_ep != ep) {
        /* a parsed URL (CURLOPT_CURLU) takes precedence over CURLOPT_URL: clear it for a
         * URL that only libcurl's own parse may reject with its message */
        curl_easy_setopt(e, CURLOPT_CURLU, pr->uh);
        if (!pr->uh) curl_easy_setopt(e, CURLOPT_URL, pr->url);
        if (pr->head) {
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (pr->has_body) {
            curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pr->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, pr->body);
        } else {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, pr->custom);
        u->set_ep = ep;
    }
    int login = b->cfg->has_login && ep == (int)b->cfg->nreqs;
    u->capture = login;
    if (login) buf_reset(&u->reply);
    const char *tok = b->cfg->open ? b->token : u->token;
    if (!login && tok) {
        if (b->cfg->open && (!u->auth || u->auth_gen != b->token_gen)) {
            set_auth(u, tok);
            u->auth_gen = b->token_gen;
        }
        u->auth_node.data = u->auth;
        u->auth_node.next = pr->hdrs;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, &u->auth_node);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, pr->hdrs);
    }
    u->ep = ep;
    u->state = U_BUSY;
    u->t_start = origin_ns ? origin_ns : fl_now_ns();
    curl_multi_add_handle(lg->multi, e);
}

static int64_t think_ns(struct lg_user *u)
{
    const struct lg_block_cfg *c = u->b->cfg;
    if (c->think_hi <= 0) return 0;
    double ms = (double)c->think_lo + uniform(&u->rng) * (double)(c->think_hi - c->think_lo);
    return (int64_t)(ms * 1e6);
}

/* closed model: what a user does next */
static void user_next(struct lg_user *u, int64_t now)
{
    struct lg_blk *b = u->b;
    (void)now;
    if (b->done || u->index >= b->active) { u->state = U_IDLE; return; }
    if (b->cfg->has_login && !u->token) send_req(u, (int)b->cfg->nreqs, 0);
    else send_req(u, pick_request(b, u), 0);
}

static char *extract_token(const char *body, size_t len, const char *field)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root) return NULL;
    json_t *v = root;
    char *path = fl_strdup(field), *save = NULL;
    for (char *seg = strtok_r(path, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, seg) : NULL;
    char *tok = NULL;
    if (v && json_is_string(v) && json_string_length(v) > 0 && !strpbrk(json_string_value(v), "\r\n"))
        tok = fl_strdup(json_string_value(v));
    else if (v && json_is_integer(v))
        tok = fl_asprintf("%lld", (long long)json_integer_value(v));
    free(path);
    json_decref(root);
    return tok;
}

static void slot_put(struct lg_blk *b, struct lg_user *u)
{
    u->state = U_IDLE;
    u->next_free = b->free_slots;
    b->free_slots = u;
    b->inflight--;
}

static void on_done(struct lg_user *u, CURLcode rc, int64_t now)
{
    struct lg_blk *b = u->b;
    const struct lg_block_cfg *c = b->cfg;
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
    int cls = lg_classify(rc, status);
    int ep = u->ep;
    u->state = U_IDLE;
    if (now >= b->end_ns) { /* finished after the block's end: not part of its run */
        pthread_mutex_lock(&b->lg->mu);
        b->interrupted++;
        pthread_mutex_unlock(&b->lg->mu);
        if (c->open && u != b->login_user) slot_put(b, u);
        else if (c->open) b->login_busy = 0;
        return;
    }
    lg_record(b, ep, u->t_start, now - u->t_start, cls, 1);

    if (c->has_login && ep == (int)c->nreqs) {
        char *tok = cls < 0 ? extract_token(u->reply.data, u->reply.len, c->token_field) : NULL;
        if (c->open) {
            b->login_busy = 0;
            if (tok) {
                free(b->token);
                b->token = tok;
                b->token_gen++;
            } else {
                b->login_retry_at = now + LOGIN_RETRY_NS;
            }
            return;
        }
        if (tok) {
            free(u->token);
            u->token = tok;
            set_auth(u, tok);
            user_next(u, now);
        } else {
            timer_set(u, now + LOGIN_RETRY_NS);
        }
        return;
    }

    int relogin_pause = 0;
    if (status == 401 && c->has_login) {
        if (c->open) {
            if (b->token && u->auth_gen == b->token_gen) {
                free(b->token);
                b->token = NULL;
                if (++b->relogin_streak > RELOGIN_STREAK) b->login_retry_at = now + RELOGIN_PAUSE_NS;
            }
        } else {
            free(u->token);
            u->token = NULL;
            if (++u->relogin_streak > RELOGIN_STREAK) relogin_pause = 1;
        }
    } else if (cls < 0) {
        if (c->open) b->relogin_streak = 0;
        else u->relogin_streak = 0;
    }
    if (c->open) { slot_put(b, u); return; }
    int64_t t = relogin_pause ? RELOGIN_PAUSE_NS : think_ns(u);
    if (t > 0) timer_set(u, now + t);
    else user_next(u, now);
}

/* ---- load shape -------------------------------------------------------------------------- */

/* level (users, or arrivals per second) at t_ms after the start */
static double level_at(const struct lg_block_cfg *c, double t_ms)
{
    double steady = c->open ? c->rate : (double)c->vus;
    if (!c->nramp) return steady;
    double from = 0;
    for (size_t i = 0; i < c->nramp; i++) {
        double over = (double)c->ramp[i].over_ms;
        if (t_ms < over) return from + (c->ramp[i].to - from) * t_ms / over;
        t_ms -= over;
        from = c->ramp[i].to;
    }
    return from;
}

static int64_t ramp_end_ms(const struct lg_block_cfg *c)
{
    int64_t t = 0;
    for (size_t i = 0; i < c->nramp; i++) t += c->ramp[i].over_ms;
    return t;
}

/* open model: offset (ns from the start) of the k-th arrival, INT64_MAX when never */
static int64_t arrival_ns(const struct lg_block_cfg *c, uint64_t k)
{
    double target = (double)k;
    if (!c->nramp) return (int64_t)(target / c->rate * 1e9);
    double t = 0, n = 0, r0 = 0;
    for (size_t i = 0; i < c->nramp; i++) {
        double d = (double)c->ramp[i].over_ms / 1000.0, r1 = c->ramp[i].to;
        if (d <= 0) { r0 = r1; continue; }
        double seg = (r0 + r1) / 2 * d;
        if (n + seg > target) {
            double need = target - n, a = (r1 - r0) / (2 * d), x;
            if (fabs(a) < 1e-12) x = need / r0;
            else x = (-r0 + sqrt(fmax(0.0, r0 * r0 + 4 * a * need))) / (2 * a);
            return (int64_t)((t + x) * 1e9);
        }
        n += seg;
        t += d;
        r0 = r1;
    }
    if (r0 <= 0) return INT64_MAX;
    double s = t + (target - n) / r0;
    return s > 9e9 ? INT64_MAX : (int64_t)(s * 1e9);
}

static void block_finish(struct lg_blk *b)
{
    struct lg *lg = b->lg;
    if (b->done) return;
    b->done = 1;
    uint64_t interrupted = 0;
    for (size_t i = 0; i < b->nusers; i++) {
        struct lg_user *u = b->users[i];
        theap_remove(&lg->timers, &u->tm);
        if (u->state == U_BUSY) {
            curl_multi_remove_handle(lg->multi, u->easy);
            interrupted++;
        }
        u->state = U_IDLE;
    }
    if (b->login_user && b->login_user->state == U_BUSY) {
        curl_multi_remove_handle(lg->multi, b->login_user->easy);
        b->login_user->state = U_IDLE;
        interrupted++;
    }
    pthread_mutex_lock(&lg->mu);
    b->interrupted += interrupted;
    pthread_mutex_unlock(&lg->mu);
}

static void open_tick(struct lg_blk *b, int64_t now)
{
    const struct lg_block_cfg *c = b->cfg;
    if (c->has_login && !b->token) {
        if (!b->login_busy && now >= b->login_retry_at) {
            if (!b->login_user) b->login_user = user_new(b, (size_t)-1);
            b->login_busy = 1;
            send_req(b->login_user, (int)c->nreqs, 0);
        }
        return; /* arrivals wait for the token, keeping their intended times */
    }
    while (b->next_due <= now && b->next_due < b->end_ns) {
        if (b->inflight < (size_t)c->vus) {
            struct lg_user *u = b->free_slots;
            if (u) b->free_slots = u->next_free;
            else {
                u = user_new(b, b->nusers);
                users_push(b, u);
            }
            b->inflight++;
            send_req(u, pick_request(b, u), b->next_due);
        } else {
            double r = uniform(&b->rng) * b->cum_weight[c->nreqs - 1];
            int ep = 0;
            while (ep + 1 < (int)c->nreqs && r >= b->cum_weight[ep]) ep++;
            lg_record(b, ep, now, 0, EC_OTHER, 0);
        }
        b->issued++;
        int64_t off = arrival_ns(c, b->issued);
        b->next_due = off == INT64_MAX ? INT64_MAX : b->lg->t0_ns + off;
    }
}

static void closed_tick(struct lg_blk *b, int64_t now)
{
    double lv = level_at(b->cfg, (double)(now - b->lg->t0_ns) / 1e6);
    size_t target = (size_t)floor(lv + 0.5);
    if (target > (size_t)b->cfg->vus) target = (size_t)b->cfg->vus;
    while (b->active < target) {
        size_t i = b->active++;
        if (i == b->nusers) users_push(b, user_new(b, i));
        struct lg_user *u = b->users[i];
        if (u->state == U_IDLE) user_next(u, now);
    }
    if (b->active > target) b->active = target; /* users past it stop after their request */
}

static void drain_done(struct lg *lg)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(lg->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        int64_t now = fl_now_ns();
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(lg->multi, e);
        if (priv) on_done((struct lg_user *)(void *)priv, rc, now);
    }
}

/* schedule what is due; returns the next time (ns) something of ours is due */
static int64_t tick(struct lg *lg, int64_t now)
{
    int64_t next = lg->end_ns;
    struct theap_node *t;
    while ((t = theap_top(&lg->timers)) && t->due <= now) {
        struct lg_user *u = THEAP_ENTRY(t, struct lg_user, tm);
        theap_remove(&lg->timers, t);
        u->state = U_IDLE;
        user_next(u, now);
    }
    if ((t = theap_top(&lg->timers)) && t->due < next) next = t->due;
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        if (b->done) continue;
        if (now >= b->end_ns) { block_finish(b); continue; }
        if (b->end_ns < next) next = b->end_ns;
        if (b->cfg->open) {
            open_tick(b, now);
            if (b->cfg->has_login && !b->token) {
                if (!b->login_busy && b->login_retry_at < next) next = b->login_retry_at;
            } else if (b->next_due < next) {
                next = b->next_due;
            }
        } else {
            closed_tick(b, now);
            if (b->cfg->nramp && now - lg->t0_ns < ramp_end_ms(b->cfg) * 1000000LL && now + RAMP_TICK_NS < next)
                next = now + RAMP_TICK_NS;
        }
    }
    return next;
}

static int all_done(struct lg *lg)
{
    for (size_t i = 0; i < lg->nblocks; i++)
        if (!lg->blocks[i]->done) return 0;
    return 1;
}

/* the default loop: curl_multi_poll counts milliseconds, so a timerfd wakes it on time for
 * arrivals and think timers (an open-model request sent late would count as latency);
 * re-arming it clears a past expiry, so it needs no read */
static void poll_wait(struct lg *lg, int64_t next, int64_t wait)
{
    int running, armed = 0;
    struct curl_waitfd wfd = { .fd = lg->tfd, .events = CURL_WAIT_POLLIN };
    if (wait > 0 && wait < WAKE_MAX_NS && lg->tfd >= 0) {
        struct itimerspec its = { .it_value = { (time_t)(next / 1000000000LL), (long)(next % 1000000000LL) } };
        armed = timerfd_settime(lg->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0;
    }
    curl_multi_poll(lg->multi, armed ? &wfd : NULL, armed ? 1 : 0, (int)((wait + 999999) / 1000000) + (armed ? 1 : 0),
                    NULL);
    curl_multi_perform(lg->multi, &running);
}

void *lg_engine_main(void *arg)
{
    struct lg *lg = arg;
    for (;;) {
        int64_t now = fl_now_ns();
        if (atomic_load(&lg->stop) || fl_aborted() || now >= lg->end_ns) break;
        int64_t next = tick(lg, now);
        if (all_done(lg)) break;
        if (lg->curl_due >= 0 && lg->curl_due < next) next = lg->curl_due;
        now = fl_now_ns();
        int64_t wait = next - now;
        if (wait < 0) wait = 0;
        if (wait > WAKE_MAX_NS) wait = WAKE_MAX_NS;
        if (lg->use_poll) poll_wait(lg, next, wait);
        else lg_epoll_wait(lg, wait);
        drain_done(lg);
    }
    for (size_t i = 0; i < lg->nblocks; i++) block_finish(lg->blocks[i]);
    int64_t now = fl_now_ns();
    atomic_store(&lg->stopped_ns, now < lg->end_ns ? now : lg->end_ns);
    atomic_store(&lg->running, 0);
    return NULL;
}
