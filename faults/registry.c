/* registry.c -- the one table of fault kinds and target kinds.
 * Adding a kind: one file in faults/, one extern and one line in the table here. */
#include <stdlib.h>
#include <string.h>
#include "fault.h"
#include "plan.h"
#include "proxy.h"

/* fault kinds */
extern const struct fault_ops fault_exec;
extern const struct fault_ops fault_docker_stop, fault_docker_kill, fault_docker_pause, fault_docker_restart, fault_docker_exec;
extern const struct fault_ops fault_process_kill;
extern const struct fault_ops fault_process_stop;
extern const struct fault_ops fault_postgres_terminate, fault_postgres_lock, fault_postgres_exhaust;
extern const struct fault_ops fault_redis_pause, fault_redis_kill_clients, fault_redis_maxmemory;
extern const struct fault_ops fault_swarm_scale, fault_swarm_kill_task, fault_swarm_drain;
/* @@fault-externs@@ (keep this marker: add `extern const struct fault_ops ...;` lines above) */

/* where the proxy toxics go: one kind per row of px_toxics[] (proxy_toxics.h) */
static const struct fault_ops proxy_toxics_here = { .name = NULL };

static const struct fault_ops *const base_kinds[] = {
    &fault_exec,
    &fault_docker_stop, &fault_docker_kill, &fault_docker_pause, &fault_docker_restart, &fault_docker_exec,
    &fault_process_kill,
    &fault_process_stop,
    &proxy_toxics_here,
    &fault_postgres_terminate, &fault_postgres_lock, &fault_postgres_exhaust,
    &fault_redis_pause, &fault_redis_kill_clients, &fault_redis_maxmemory,
    &fault_swarm_scale, &fault_swarm_kill_task, &fault_swarm_drain,
    /* @@fault-table@@ (keep this marker: add `&fault_...,` lines above) */
    NULL,
};

const struct fault_ops *fault_kinds[FAULT_KINDS_MAX + 1];

/* fault_kinds is base_kinds with the proxy toxics in their place, before main() */
__attribute__((constructor)) static void fault_kinds_build(void)
{
    size_t n = 0;
    for (size_t i = 0; base_kinds[i]; i++) {
        if (base_kinds[i] != &proxy_toxics_here) {
            if (n < FAULT_KINDS_MAX) fault_kinds[n++] = base_kinds[i];
            continue;
        }
        const struct fault_ops *t;
        for (size_t j = 0; (t = proxy_toxic_ops(j)) && n < FAULT_KINDS_MAX; j++) fault_kinds[n++] = t;
    }
    fault_kinds[n] = NULL;
}

/* target kinds */
extern const struct target_ops target_docker;
extern const struct target_ops target_process;
extern const struct target_ops target_proxy;
extern const struct target_ops target_postgres;
extern const struct target_ops target_redis;
extern const struct target_ops target_swarm;
/* @@target-externs@@ (keep this marker) */

const struct target_ops *const target_kinds[] = {
    &target_docker,
    &target_process,
    &target_proxy,
    &target_postgres,
    &target_redis,
    &target_swarm,
    /* @@target-table@@ (keep this marker) */
    NULL,
};

const struct fault_ops *fault_find(const char *name)
{
    for (size_t i = 0; fault_kinds[i]; i++)
        if (strcmp(fault_kinds[i]->name, name) == 0) return fault_kinds[i];
    return NULL;
}

const struct target_ops *target_find(const char *name)
{
    for (size_t i = 0; target_kinds[i]; i++)
        if (strcmp(target_kinds[i]->name, name) == 0) return target_kinds[i];
    return NULL;
}

size_t target_pick_count(const struct target *t, size_t n)
{
    if (!t->has_pick) return n;
    size_t k;
    if (t->pick_count > 0) k = (size_t)t->pick_count;
    else {
        double want = t->pick_percent * (double)n;
        k = (size_t)want;
        if ((double)k < want) k++;
    }
    if (k == 0) k = 1;
    return k > n ? n : k;
}

uint64_t target_pick_seed(const struct target *t, const struct fl_ctx *ctx)
{
    return t->pick_seed_set ? t->pick_seed : (ctx ? ctx->seed : 0);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

void target_pick(size_t n, size_t k, uint64_t seed, size_t *order)
{
    size_t *idx = fl_malloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (k > n) k = n;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)(fl_splitmix64(&seed) % (uint64_t)(n - i));
        size_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
    memcpy(order, idx, k * sizeof *order);
    qsort(order, k, sizeof *order, cmp_size);
    free(idx);
}

void target_pick_describe(const struct target *t, struct buf *out)
{
    if (!t->has_pick) return;
    if (t->pick_count > 0) buf_addf(out, ", pick %d", t->pick_count);
    else buf_addf(out, ", pick %g%%", t->pick_percent * 100);
    if (t->pick_seed_set) buf_addf(out, " (seed %llu)", (unsigned long long)t->pick_seed);
}
