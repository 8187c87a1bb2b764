/* registry.c -- the one table of target kinds.
 * Adding a kind: one file in targets/, one extern and one line in the table here. */
#include <string.h>
#include "target.h"

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

const struct target_ops *target_find(const char *name)
{
    for (size_t i = 0; target_kinds[i]; i++)
        if (strcmp(target_kinds[i]->name, name) == 0) return target_kinds[i];
    return NULL;
}
