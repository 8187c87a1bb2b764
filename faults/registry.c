/* registry.c -- the one table of fault kinds.
 * Adding a kind: one file in faults/, one extern and one line in the table here. */
#include <string.h>
#include "fault.h"

/* fault kinds */
extern const struct fault_ops fault_exec;
extern const struct fault_ops fault_docker_stop, fault_docker_kill, fault_docker_pause, fault_docker_restart, fault_docker_exec;
extern const struct fault_ops fault_process_kill;
extern const struct fault_ops fault_process_stop;
extern const struct fault_ops fault_proxy_latency, fault_proxy_bandwidth, fault_proxy_timeout, fault_proxy_reset, fault_proxy_down, fault_proxy_slow_close, fault_proxy_http_error, fault_proxy_http_delay;
extern const struct fault_ops fault_postgres_terminate, fault_postgres_lock, fault_postgres_exhaust;
extern const struct fault_ops fault_redis_pause, fault_redis_kill_clients, fault_redis_maxmemory;
extern const struct fault_ops fault_swarm_scale, fault_swarm_kill_task, fault_swarm_drain;
/* @@fault-externs@@ (keep this marker: add `extern const struct fault_ops ...;` lines above) */

const struct fault_ops *const fault_kinds[] = {
    &fault_exec,
    &fault_docker_stop, &fault_docker_kill, &fault_docker_pause, &fault_docker_restart, &fault_docker_exec,
    &fault_process_kill,
    &fault_process_stop,
    &fault_proxy_latency, &fault_proxy_bandwidth, &fault_proxy_timeout, &fault_proxy_reset, &fault_proxy_down, &fault_proxy_slow_close, &fault_proxy_http_error, &fault_proxy_http_delay,
    &fault_postgres_terminate, &fault_postgres_lock, &fault_postgres_exhaust,
    &fault_redis_pause, &fault_redis_kill_clients, &fault_redis_maxmemory,
    &fault_swarm_scale, &fault_swarm_kill_task, &fault_swarm_drain,
    /* @@fault-table@@ (keep this marker: add `&fault_...,` lines above) */
    NULL,
};

const struct fault_ops *fault_find(const char *name)
{
    for (size_t i = 0; fault_kinds[i]; i++)
        if (strcmp(fault_kinds[i]->name, name) == 0) return fault_kinds[i];
    return NULL;
}
