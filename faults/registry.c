/* registry.c -- the one table of fault kinds.
 * Adding a kind: one file in faults/, one extern and one line in the table here. */
#include <string.h>
#include "fault.h"
#include "proxy.h"

/* fault kinds */
extern const struct fault_ops fault_exec;
extern const struct fault_ops fault_docker_stop, fault_docker_kill, fault_docker_pause, fault_docker_restart, fault_docker_exec;
extern const struct fault_ops fault_process_kill;
extern const struct fault_ops fault_process_stop;
extern const struct fault_ops fault_postgres_terminate, fault_postgres_lock, fault_postgres_exhaust;
extern const struct fault_ops fault_redis_pause, fault_redis_kill_clients, fault_redis_maxmemory;
extern const struct fault_ops fault_swarm_scale, fault_swarm_kill_task, fault_swarm_drain;
extern const struct fault_ops fault_docker_limit, fault_docker_stress;
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
    &fault_docker_limit, &fault_docker_stress,
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

const struct fault_ops *fault_find(const char *name)
{
    for (size_t i = 0; fault_kinds[i]; i++)
        if (strcmp(fault_kinds[i]->name, name) == 0) return fault_kinds[i];
    return NULL;
}
