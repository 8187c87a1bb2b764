/* registry.c -- the one table of probe kinds.
 * Adding a kind: one file in probes/, one extern and one line in the table here. */
#include <string.h>
#include "probe.h"

extern const struct probe_ops probe_http;
extern const struct probe_ops probe_exec;
extern const struct probe_ops probe_recovery;
extern const struct probe_ops probe_container;
extern const struct probe_ops probe_process;
extern const struct probe_ops probe_load;
extern const struct probe_ops probe_acgme;
extern const struct probe_ops probe_postgres;
extern const struct probe_ops probe_redis;
extern const struct probe_ops probe_service;
extern const struct probe_ops probe_prometheus;
/* @@probe-externs@@ (keep this marker: add `extern const struct probe_ops ...;` lines above) */

const struct probe_ops *const probe_kinds[] = {
    &probe_http,
    &probe_exec,
    &probe_recovery,
    &probe_container,
    &probe_process,
    &probe_load,
    &probe_acgme,
    &probe_postgres,
    &probe_redis,
    &probe_service,
    &probe_prometheus,
    /* @@probe-table@@ (keep this marker: add `&probe_...,` lines above) */
    NULL,
};

const struct probe_ops *probe_find(const char *name)
{
    for (size_t i = 0; probe_kinds[i]; i++)
        if (strcmp(probe_kinds[i]->name, name) == 0) return probe_kinds[i];
    return NULL;
}

const struct probe_ops *probe_find_journal_kind(const char *kind)
{
    for (size_t i = 0; kind && probe_kinds[i]; i++)
        if (probe_kinds[i]->journal_kind && strcmp(probe_kinds[i]->journal_kind, kind) == 0) return probe_kinds[i];
    return NULL;
}
