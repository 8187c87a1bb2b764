/* load_prep.c -- the load engine's lifecycle: each block's requests prepared once for
 * libcurl (URLs parsed, bodies read and encoded, header lists), the engine created,
 * started, stopped and freed (see load.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "fl.h"
#include "load_int.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void form_encode(struct buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) buf_addc(b, (char)*p);
        else if (*p == ' ') buf_addc(b, '+');
        else buf_addf(b, "%%%02X", *p);
    }
}

static int has_header(const struct lg_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(kv[i].k, name)) return 1;
    return 0;
}

static int read_json_file(const char *path, char **out, size_t *len, char *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fl_err(err, "cannot read json_file '%s': %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, 16 << 20);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_add(&b, chunk, n) < 0) break;
    int rerr = ferror(f);
    fclose(f);
    if (rerr || b.overflow) {
        buf_release(&b);
        return fl_err(err, "cannot read json_file '%s': %s", path, rerr ? "read error" : "larger than 16 MiB");
    }
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, 0, &je);
    if (!j) {
        buf_release(&b);
        return fl_err(err, "json_file '%s' is not JSON: line %d: %s", path, je.line, je.text);
    }
    json_decref(j);
    *len = b.len;
    *out = buf_detach(&b);
    return 0;
}

static int prep_init(struct lg_prep *pr, const struct lg_block_cfg *c, const struct lg_req_cfg *r, char *err)
{
    pr->cfg = r;
    pr->url = fl_asprintf("%s%s", c->base_url, r->path);
    pr->uh = curl_url();
    /* the flags libcurl itself parses CURLOPT_URL with */
    if (pr->uh && curl_url_set(pr->uh, CURLUPART_URL, pr->url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        curl_url_cleanup(pr->uh);
        pr->uh = NULL;     /* CURLOPT_URL reports what is wrong with it */
    }
    if (r->json_file) {
        if (read_json_file(r->json_file, &pr->body, &pr->body_len, err) < 0) return -1;
    } else if (r->body) {
        pr->body = fl_strdup(r->body);
        pr->body_len = strlen(r->body);
    } else if (r->nform) {
        struct buf b;
        buf_init(&b, 0);
        for (size_t i = 0; i < r->nform; i++) {
            if (i) buf_addc(&b, '&');
            form_encode(&b, r->form[i].k);
            buf_addc(&b, '=');
            form_encode(&b, r->form[i].v);
        }
        pr->body_len = b.len;
        pr->body = buf_detach(&b);
    }
    const char *m = r->method;
    pr->head = !strcmp(m, "HEAD");
    pr->has_body = pr->body != NULL || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
    if (pr->has_body && !pr->body) pr->body = fl_strdup("");
    if (strcmp(m, "HEAD") && strcmp(m, "POST") && (strcmp(m, "GET") || pr->has_body)) pr->custom = fl_strdup(m);
    for (size_t i = 0; i < c->nheaders; i++)
        if (!has_header(r->headers, r->nheaders, c->headers[i].k)) {
            char *h = fl_asprintf("%s: %s", c->headers[i].k, c->headers[i].v);
            pr->hdrs = curl_slist_append(pr->hdrs, h);
            free(h);
        }
    for (size_t i = 0; i < r->nheaders; i++) {
        char *h = fl_asprintf("%s: %s", r->headers[i].k, r->headers[i].v);
        pr->hdrs = curl_slist_append(pr->hdrs, h);
        free(h);
    }
    int ct = has_header(r->headers, r->nheaders, "content-type") || has_header(c->headers, c->nheaders, "content-type");
    if (!ct && r->body_is_json) pr->hdrs = curl_slist_append(pr->hdrs, "Content-Type: application/json");
    if (!ct && r->nform) pr->hdrs = curl_slist_append(pr->hdrs, "Content-Type: application/x-www-form-urlencoded");
    if (pr->has_body) pr->hdrs = curl_slist_append(pr->hdrs, "Expect:");
    return 0;
}

static void prep_release(struct lg_prep *pr)
{
    free(pr->url);
    curl_url_cleanup(pr->uh);
    free(pr->body);
    free(pr->custom);
    curl_slist_free_all(pr->hdrs);
}

static void blk_free(struct lg_blk *b)
{
    if (!b) return;
    /* the easy handles first: they point at the preps' URLs and header lists */
    for (size_t i = 0; i < b->nusers; i++) lg_user_free(b->users[i]);
    free(b->users);
    lg_user_free(b->login_user);
    for (size_t i = 0; i < b->nprep; i++) prep_release(&b->preps[i]);
    free(b->preps);
    free(b->cum_weight);
    for (size_t i = 0; i < b->nwins; i++) hist_sparse_release(&b->wins[i].hs);
    free(b->wins);
    free(b->eps);
    free(b->token);
    free(b);
}

struct lg *lg_new(struct lg_block_cfg *const *blocks, size_t n, uint64_t seed, char *err)
{
    if (!n) { fl_err(err, "no load blocks to run"); return NULL; }
    pthread_once(&curl_once, curl_init_once);
    struct lg *lg = fl_calloc(1, sizeof *lg);
    lg->seed = seed;
    lg->tfd = -1;
    lg->curl_due = -1;
    pthread_mutex_init(&lg->mu, NULL);
    pthread_mutex_init(&lg->join_mu, NULL);
    const char *loop = getenv("FL_LG_LOOP");
    lg->use_poll = !(loop && !strcmp(loop, "epoll"));
    lg->blocks = fl_calloc(n, sizeof *lg->blocks);
    for (size_t i = 0; i < n; i++) {
        struct lg_block_cfg *c = blocks[i];
        for (size_t j = 0; j < i; j++)
            if (!strcmp(lg->blocks[j]->cfg->name, c->name)) {
                fl_err(err, "two load blocks named '%s'", c->name);
                lg_free(lg);
                return NULL;
            }
        struct lg_blk *b = fl_calloc(1, sizeof *b);
        lg->blocks[lg->nblocks++] = b;
        b->lg = lg;
        b->cfg = c;
        b->idx = i;
        for (int k = 0; k < LG_OPEN_WINS; k++) {
            b->open_sec[k] = -1;
            hist_init(&b->open_h[k]);
        }
        b->rng = seed ^ (0x9e3779b97f4a7c15ull * (i + 7));
        b->nprep = c->nreqs + (c->has_login ? 1 : 0);
        b->preps = fl_calloc(b->nprep, sizeof *b->preps);
        b->neps = b->nprep;
        b->eps = fl_calloc(b->neps, sizeof *b->eps);
        for (size_t k = 0; k < b->neps; k++) hist_init(&b->eps[k].h);
        b->cum_weight = fl_calloc(c->nreqs ? c->nreqs : 1, sizeof *b->cum_weight);
        double acc = 0;
        for (size_t k = 0; k < c->nreqs; k++) {
            acc += c->reqs[k].weight;
            b->cum_weight[k] = acc;
        }
        char perr[FL_ERR_LEN];
        for (size_t k = 0; k < b->nprep; k++) {
            const struct lg_req_cfg *r = k < c->nreqs ? &c->reqs[k] : &c->login;
            if (prep_init(&b->preps[k], c, r, perr) < 0) {
                fl_err(err, "load '%s': %s", c->name, perr);
                lg_free(lg);
                return NULL;
            }
        }
    }
    lg->multi = curl_multi_init();
    if (!lg->multi) {
        fl_err(err, "cannot start the load engine: curl_multi_init failed");
        lg_free(lg);
        return NULL;
    }
    long maxconn = 16;
    for (size_t i = 0; i < lg->nblocks; i++) maxconn += (long)lg->blocks[i]->cfg->vus + 1;
    curl_multi_setopt(lg->multi, CURLMOPT_MAXCONNECTS, maxconn);
    if (lg->use_poll) lg->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!lg->use_poll && lg_epoll_init(lg, err) < 0) {
        lg_free(lg);
        return NULL;
    }
    return lg;
}

int lg_start(struct lg *lg, int64_t t0_ns, int64_t duration_ms, char *err)
{
    if (lg->started) return fl_err(err, "the load engine runs already");
    if (duration_ms <= 0) return fl_err(err, "the load needs a duration above 0");
    lg->t0_ns = t0_ns;
    lg->duration_ms = duration_ms;
    lg->end_ns = t0_ns + duration_ms * 1000000LL;
    size_t nwins = (size_t)(duration_ms / 1000) + 2;
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        int64_t d = b->cfg->duration_ms && b->cfg->duration_ms < duration_ms ? b->cfg->duration_ms : duration_ms;
        b->end_ns = t0_ns + d * 1000000LL;
        b->wins = fl_calloc(nwins, sizeof *b->wins);
        b->nwins = nwins;
        b->next_due = t0_ns;
    }
    atomic_store(&lg->running, 1);
    atomic_store(&lg->stopped_ns, 0);
    int rc = pthread_create(&lg->th, NULL, lg_engine_main, lg);
    if (rc) {
        atomic_store(&lg->running, 0);
        return fl_err(err, "cannot start the load engine thread: %s", strerror(rc));
    }
    lg->started = 1;
    return 0;
}

void lg_stop(struct lg *lg)
{
    if (!lg) return;
    atomic_store(&lg->stop, 1);
    pthread_mutex_lock(&lg->join_mu);
    if (lg->started && !lg->joined) {
        if (lg->use_poll) curl_multi_wakeup(lg->multi);
        else lg_epoll_wake(lg);
        pthread_join(lg->th, NULL);
        lg->joined = 1;
    }
    pthread_mutex_unlock(&lg->join_mu);
}

int lg_running(struct lg *lg) { return atomic_load(&lg->running); }

int lg_wait(struct lg *lg, int64_t timeout_ms)
{
    int64_t until = fl_now_ns() + timeout_ms * 1000000LL;
    while (atomic_load(&lg->running)) {
        if (fl_now_ns() >= until) return -1;
        struct timespec ts = { 0, 20000000L };
        nanosleep(&ts, NULL);
    }
    return 0;
}

void lg_free(struct lg *lg)
{
    if (!lg) return;
    lg_stop(lg);
    for (size_t i = 0; i < lg->nblocks; i++) {
        struct lg_blk *b = lg->blocks[i];
        for (size_t k = 0; k < b->nusers; k++)
            if (b->users[k]->state == U_BUSY) curl_multi_remove_handle(lg->multi, b->users[k]->easy);
    }
    if (lg->multi) curl_multi_cleanup(lg->multi);
    for (size_t i = 0; i < lg->nblocks; i++) blk_free(lg->blocks[i]);
    free(lg->blocks);
    theap_release(&lg->timers);
    lg_epoll_release(lg);
    if (lg->tfd >= 0) close(lg->tfd);
    pthread_mutex_destroy(&lg->mu);
    pthread_mutex_destroy(&lg->join_mu);
    free(lg);
}
