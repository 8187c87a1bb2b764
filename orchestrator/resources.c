/* resources.c -- container resources sampled over a run (resources.h): one thread per
 * container of the plan's docker targets asks the Engine API for its stats about once a
 * second; the series go into run.json and answer the container probe's memory/cpu checks. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "plan.h"
#include "resources.h"
#include "target.h"

struct res_ct {
    struct res_sampler *s;
    char *target, *id, *name;
    struct docker_client client;
    int client_ready;
    pthread_t th;
    int started;
    struct res_sample *v;    /* guarded by s->mu */
    size_t n, cap;
    long errors;
    char last_error[FL_ERR_LEN];
};

struct res_sampler {
    const struct drv_ctx *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    struct res_ct *c;
    size_t n;
};

static double num(const json_t *j) { return json_is_number(j) ? json_number_value(j) : NAN; }

int res_sample_from_json(const json_t *st, const struct res_sample *prev, struct res_sample *o)
{
    memset(o, 0, sizeof *o);
    const json_t *ms = json_object_get(st, "memory_stats"), *cs = json_object_get(st, "cpu_stats");
    if (!json_is_object(ms) || !json_is_object(cs)) return -1;
    /* as the docker CLI: usage minus the inactive file cache (cgroup v1 total_inactive_file,
     * v2 inactive_file), when it is smaller than the usage */
    double usage = num(json_object_get(ms, "usage"));
    const json_t *stats = json_object_get(ms, "stats");
    double inactive = num(json_object_get(stats, "total_inactive_file"));
    if (isnan(inactive)) inactive = num(json_object_get(stats, "inactive_file"));
    o->mem = !isnan(usage) && !isnan(inactive) && inactive < usage ? usage - inactive : usage;
    o->mem_limit = num(json_object_get(ms, "limit"));
    o->cpu_total = num(json_object_get(json_object_get(cs, "cpu_usage"), "total_usage"));
    o->cpu_system = num(json_object_get(cs, "system_cpu_usage"));
    double cpus = num(json_object_get(cs, "online_cpus"));
    if (isnan(cpus) || cpus <= 0) {
        cpus = (double)json_array_size(json_object_get(json_object_get(cs, "cpu_usage"), "percpu_usage"));
        if (cpus <= 0) cpus = 1;
    }
    o->cpu_pct = NAN;
    if (prev && !isnan(prev->cpu_total) && !isnan(o->cpu_total) && !isnan(o->cpu_system) && !isnan(prev->cpu_system)) {
        double dc = o->cpu_total - prev->cpu_total, ds = o->cpu_system - prev->cpu_system;
        if (ds > 0 && dc >= 0) o->cpu_pct = dc / ds * cpus * 100.0;
    }
    double rx = 0, tx = 0;
    const char *k;
    json_t *nw;
    json_object_foreach((json_t *)json_object_get(st, "networks"), k, nw) {
        double a = num(json_object_get(nw, "rx_bytes")), b = num(json_object_get(nw, "tx_bytes"));
        if (!isnan(a)) rx += a;
        if (!isnan(b)) tx += b;
    }
    o->rx = rx;
    o->tx = tx;
    if (isnan(o->mem)) return -1; /* a stopped container answers with empty stats */
    return 0;
}

static int64_t run_ms(const struct res_sampler *s) { return (fl_now_ns() - s->ctx->t0_ns) / 1000000; }

static void *ct_thread(void *arg)
{
    struct res_ct *c = arg;
    struct res_sampler *s = c->s;
    char path[256], err[FL_ERR_LEN];
    snprintf(path, sizeof path, "/containers/%s/stats?stream=false&one-shot=true", c->id);
    struct res_sample prev = { .cpu_total = NAN, .cpu_system = NAN };
    int have_prev = 0, restarts = 0;
    for (long k = 0; k < 100000000; k++) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
        int64_t t0 = fl_now_ns();
        if (k % 5 == 0) { /* the restart count: every 5 s is enough */
            struct docker_cstate cs;
            if (docker_inspect(&c->client, c->id, &cs, NULL, err) == 0) restarts = cs.restart_count;
        }
        json_t *j = NULL;
        long status = 0;
        int rc = docker_call(&c->client, "GET", path, NULL, 5000, &status, &j, err);
        struct res_sample smp;
        if (rc == 0 && res_sample_from_json(j, have_prev ? &prev : NULL, &smp) == 0) {
            smp.t_ms = run_ms(s);
            smp.restarts = restarts;
            prev = smp;
            have_prev = 1;
            pthread_mutex_lock(&s->mu);
            if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                c->v = fl_realloc(c->v, c->cap * sizeof *c->v);
            }
            c->v[c->n++] = smp;
            pthread_mutex_unlock(&s->mu);
        } else {
            pthread_mutex_lock(&s->mu);
            c->errors++;
            if (rc < 0) snprintf(c->last_error, sizeof c->last_error, "%s", err);
            else snprintf(c->last_error, sizeof c->last_error, "no stats (the container is not running)");
            pthread_mutex_unlock(&s->mu);
            have_prev = 0;
        }
        json_decref(j);
        /* at most one sample a second (a daemon that answers at once is not asked faster) */
        struct timespec ts;
        int64_t next = t0 + 1000000000LL;
        ts.tv_sec = next / 1000000000LL;
        ts.tv_nsec = next % 1000000000LL;
        pthread_mutex_lock(&s->mu);
        while (!s->stop && fl_now_ns() < next)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) != 0) break;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static struct res_ct *add_ct(struct res_sampler *s, const char *target, const char *host, const char *cert_path, int tls_verify,
                   const char *id, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->c[i].id, id)) return NULL; /* two targets over one container */
    s->c = fl_realloc(s->c, (s->n + 1) * sizeof *s->c);
    struct res_ct *c = &s->c[s->n];
    memset(c, 0, sizeof *c);
    c->s = s;
    c->target = fl_strdup(target);
    c->id = fl_strdup(id);
    c->name = fl_strdup(name ? name : id);
    char err[FL_ERR_LEN];
    if (docker_client_init_tls(&c->client, host, cert_path, tls_verify, err) == 0) c->client_ready = 1;
    else snprintf(c->last_error, sizeof c->last_error, "%s", err);
    s->n++;
    return c;
}

struct res_sampler *res_start(const struct plan *p, const struct drv_ctx *ctx, char *err)
{
    err[0] = '\0';
    struct res_sampler *s = fl_calloc(1, sizeof *s);
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; p && i < p->ntargets; i++) {
        const struct target *t = p->targets[i];
        if (!t->ops || strcmp(t->ops->name, "docker") != 0 || !t->cfg) continue;
        const struct docker_target *dt = t->cfg;
        for (size_t k = 0; k < dt->n; k++)
            add_ct(s, t->name, dt->host, dt->cert_path, dt->tls_verify, dt->ids[k], dt->names ? dt->names[k] : NULL);
    }
    /* monitor: containers of the default engine by name or id, resolved to their ids now; one
     * that cannot be found stays listed with the reason and no sample */
    if (p && p->monitor) {
        struct docker_client dc;
        int ready = docker_client_init(&dc, NULL, err) == 0;
        for (size_t i = 0; p->monitor[i]; i++) {
            json_t *j = NULL;
            struct docker_cstate cs;
            char e[FL_ERR_LEN];
            if (ready && docker_inspect(&dc, p->monitor[i], &cs, &j, e) == 0 && json_is_string(json_object_get(j, "Id"))) {
                const char *nm = json_string_value(json_object_get(j, "Name"));
                add_ct(s, "monitor", NULL, NULL, -1, json_string_value(json_object_get(j, "Id")),
                       nm && *nm == '/' ? nm + 1 : p->monitor[i]);
            } else {
                struct res_ct *c = add_ct(s, "monitor", NULL, NULL, -1, p->monitor[i], p->monitor[i]);
                if (!c) { json_decref(j); continue; }
                snprintf(c->last_error, sizeof c->last_error, "%s", ready ? e : err);
                if (c->client_ready) docker_client_release(&c->client);
                c->client_ready = 0; /* nothing to sample */
            }
            json_decref(j);
        }
        if (ready) docker_client_release(&dc);
        err[0] = '\0';
    }
    if (!s->n) {
        res_free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct res_ct *c = &s->c[i];
        if (!c->client_ready) continue;
        if (pthread_create(&c->th, NULL, ct_thread, c) == 0) c->started = 1;
        else snprintf(c->last_error, sizeof c->last_error, "cannot start a sampling thread");
    }
    return s;
}

void res_stop(struct res_sampler *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    /* a stats call in flight ends within its 5 s timeout */
    for (size_t i = 0; i < s->n; i++)
        if (s->c[i].started) { pthread_join(s->c[i].th, NULL); s->c[i].started = 0; }
}

void res_free(struct res_sampler *s)
{
    if (!s) return;
    res_stop(s);
    for (size_t i = 0; i < s->n; i++) {
        struct res_ct *c = &s->c[i];
        if (c->client_ready) docker_client_release(&c->client);
        free(c->target);
        free(c->id);
        free(c->name);
        free(c->v);
    }
    free(s->c);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (!n) return NAN;
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct res_ct *find(struct res_sampler *s, const char *id)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcmp(s->c[i].id, id) || !strcmp(s->c[i].name, id)) return &s->c[i];
    return NULL;
}

int res_window(struct res_sampler *s, const char *id, int64_t from_ms, int64_t to_ms, struct drv_res_window *w)
{
    memset(w, 0, sizeof *w);
    w->mem_base_median = w->cpu_max = w->cpu_avg = w->mem_limit = NAN;
    struct res_ct *c = find(s, id);
    if (!c) return -1;
    pthread_mutex_lock(&s->mu);
    double cpu_sum = 0;
    size_t ncpu = 0;
    double *base = fl_calloc(c->n + 1, sizeof *base);
    for (size_t i = 0; i < c->n; i++) {
        const struct res_sample *x = &c->v[i];
        if (s->ctx->baseline_to_ms > s->ctx->baseline_from_ms && x->t_ms >= s->ctx->baseline_from_ms &&
            x->t_ms < s->ctx->baseline_to_ms)
            base[w->base_samples++] = x->mem;
        if (x->t_ms < from_ms || (to_ms >= 0 && x->t_ms > to_ms)) continue;
        if (w->samples == 0 || x->mem > w->mem_max) w->mem_max = x->mem;
        w->mem_last = x->mem;
        w->mem_limit = x->mem_limit;
        w->restarts = x->restarts;
        if (!isnan(x->cpu_pct)) {
            if (ncpu == 0 || x->cpu_pct > w->cpu_max) w->cpu_max = x->cpu_pct;
            cpu_sum += x->cpu_pct;
            ncpu++;
        }
        w->samples++;
    }
    pthread_mutex_unlock(&s->mu);
    if (ncpu) w->cpu_avg = cpu_sum / (double)ncpu;
    w->mem_base_median = median(base, w->base_samples);
    free(base);
    return 0;
}

static json_t *jnum(double v) { return isnan(v) || isinf(v) ? json_null() : json_real(v); }

json_t *res_to_json(struct res_sampler *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "interval_ms", json_integer(1000));
    json_t *arr = json_array();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        const struct res_ct *c = &s->c[i];
        json_t *t = json_array(), *m = json_array(), *ml = json_array(), *cpu = json_array(), *rx = json_array(),
               *tx = json_array(), *rs = json_array();
        for (size_t k = 0; k < c->n; k++) {
            const struct res_sample *x = &c->v[k];
            json_array_append_new(t, json_integer(x->t_ms));
            json_array_append_new(m, jnum(x->mem));
            json_array_append_new(ml, jnum(x->mem_limit));
            json_array_append_new(cpu, jnum(x->cpu_pct));
            json_array_append_new(rx, jnum(x->rx));
            json_array_append_new(tx, jnum(x->tx));
            json_array_append_new(rs, json_integer(x->restarts));
        }
        json_t *cj = json_pack("{s:s,s:s,s:s,s:{s:o,s:o,s:o,s:o,s:o,s:o,s:o},s:I}", "target", c->target, "name", c->name,
                               "id", c->id, "series", "t_ms", t, "memory_bytes", m, "memory_limit_bytes", ml, "cpu_pct",
                               cpu, "net_rx_bytes", rx, "net_tx_bytes", tx, "restarts", rs, "errors", (json_int_t)c->errors);
        if (c->last_error[0]) json_object_set_new(cj, "last_error", json_string(c->last_error));
        json_array_append_new(arr, cj);
    }
    pthread_mutex_unlock(&s->mu);
    json_object_set_new(o, "containers", arr);
    return o;
}

json_t *res_memory_json(struct res_sampler *s)
{
    json_t *o = json_object();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        const struct res_ct *c = &s->c[i];
        if (!c->n) continue;
        double peak = 0;
        for (size_t k = 0; k < c->n; k++) if (c->v[k].mem > peak) peak = c->v[k].mem;
        size_t q0 = c->n - (c->n + 3) / 4; /* the last quarter, at least one sample */
        double *tail = fl_calloc(c->n - q0, sizeof *tail);
        for (size_t k = q0; k < c->n; k++) tail[k - q0] = c->v[k].mem;
        double med = median(tail, c->n - q0);
        free(tail);
        char key[300];
        snprintf(key, sizeof key, "%s peak_bytes", c->name);
        json_object_set_new(o, key, json_real(peak));
        snprintf(key, sizeof key, "%s last_quarter_median_bytes", c->name);
        json_object_set_new(o, key, json_real(med));
    }
    pthread_mutex_unlock(&s->mu);
    return o;
}
