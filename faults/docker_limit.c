/* docker_limit.c -- the docker.limit (CPU, memory, pids limits through POST
 * /containers/{id}/update) and docker.stress (a CPU burn exec'd in the containers) fault kinds,
 * over docker_api.c (the `docker` target: targets/docker_target.c).
 *
 * docker.limit: prepare() inspects every container and writes down, per container, the exact
 * update that sets the fault's limits ("set") and the exact update that puts the values found
 * back ("restore"); that record is the journal intent, on disk before anything changes. A
 * field the container has no limit on is refused at prepare(): the Engine API cannot put "no
 * limit" back (NanoCpus cannot be cleared, Memory cannot be lifted, CpuQuota -1 and PidsLimit 0
 * lift a limit but read back as -1 and 0, not 0 and null; moby/moby#22516). With
 * restore_unlimited: true, CPU and pids limits are allowed there and lifted on revert that way.
 * A memory limit below what a container uses now is refused unless allow_oom: true.
 *
 * docker.stress: per container and worker, a detached exec of `timeout -s KILL T command`
 * (default command `sha256sum /dev/zero`: one core busy). The exec id is journaled before the
 * exec starts, its host pid and start time right after; revert and reconcile kill its process
 * group (timeout leads one) only while that pid is still the same process, and wait for it
 * to be gone. The timeout ends the burn even when faultline and its rollback never run. The
 * pid is the engine's: faultline must run on the engine's machine (a unix socket).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "fault.h"
#include "process.h"
#include "value.h"

/* ---- shared: the containers of a docker target, a client of the fault's own --------------- */

struct dl_ct {
    char *id, *name;
    json_t *set;        /* docker.limit: the update that sets the limits */
    json_t *restore;    /* docker.limit: the update that puts the values found back */
    json_t *prior;      /* docker.limit: the resource fields found (for messages and the record) */
    int acted;          /* docker.limit: set was sent (or may have been) */
};

struct dl_burn {        /* docker.stress: one exec */
    size_t ct;          /* index into cts */
    char exec_id[128];
    struct proc_id pid; /* pid 0: not started (or not known) */
    int acted;
};

struct dl_state {
    struct docker_client client;
    int client_ready;
    char *host, *target;
    struct dl_ct *cts;
    size_t n;
    int restore_unlimited;
    /* docker.stress */
    struct dl_burn *burns;
    size_t nburns;
    char **argv;        /* the exec's command: timeout -s KILL T ... */
};

static void state_free(void *p)
{
    struct dl_state *s = p;
    if (!s) return;
    if (s->client_ready) docker_client_release(&s->client);
    for (size_t i = 0; i < s->n; i++) {
        free(s->cts[i].id);
        free(s->cts[i].name);
        json_decref(s->cts[i].set);
        json_decref(s->cts[i].restore);
        json_decref(s->cts[i].prior);
    }
    free(s->cts);
    free(s->burns);
    free(s->host);
    free(s->target);
    param_strv_free(s->argv);
    free(s);
}

/* resolve the target and open a client of the fault's own; s->cts get ids and names */
static struct dl_state *state_open(struct fault_inst *fi, const char *kind, char *err)
{
    struct target *t = fi->target;
    struct dl_state *s = fl_calloc(1, sizeof *s);
    if (docker_target_client(t, fi->ctx, kind, &s->client, err) < 0) {
        free(s);
        return NULL;
    }
    const struct docker_target *dt = t->cfg;
    s->client_ready = 1;
    s->host = fl_strdup(s->client.host);
    s->target = fl_strdup(t->name);
    s->cts = fl_calloc(dt->n + 1, sizeof *s->cts);
    for (size_t i = 0; i < dt->n; i++) {
        s->cts[i].id = fl_strdup(dt->ids[i]);
        s->cts[i].name = fl_strdup(dt->names[i]);
    }
    s->n = dt->n;
    return s;
}

static void describe_target(const struct fault_inst *fi, struct buf *out)
{
    if (!fi->target) return;
    const struct docker_target *dt = fi->target->cfg;
    buf_addf(out, " target '%s'", fi->target->name);
    if (dt && dt->n) {
        buf_adds(out, " (");
        for (size_t i = 0; i < dt->n; i++) buf_addf(out, "%s%s", i ? ", " : "", dt->names[i]);
        buf_adds(out, ")");
    } else if (dt) {
        buf_addf(out, " (%s)", dt->summary);
    }
}

static void fmt_bytes(int64_t b, char out[32])
{
    if (b >= (1LL << 30) && b % (1LL << 30) == 0) snprintf(out, 32, "%lldg", (long long)(b >> 30));
    else if (b >= (1LL << 20) && b % (1LL << 20) == 0) snprintf(out, 32, "%lldm", (long long)(b >> 20));
    else if (b >= 1024 && b % 1024 == 0) snprintf(out, 32, "%lldk", (long long)(b >> 10));
    else snprintf(out, 32, "%lld", (long long)b);
}

/* ================================ docker.limit ================================================ */

struct lim_cfg {
    double cpus;             /* 0: not given */
    int64_t cpu_quota;       /* 0: not given */
    int64_t cpu_period;      /* 0: not given */
    int64_t memory;          /* 0: not given */
    int64_t memory_swap;     /* 0: not given */
    int64_t pids;            /* 0: not given */
    int allow_oom;
    int restore_unlimited;
};

static const struct param_spec limit_params[] = {
    { "cpus", PT_NUM, 0, "CPU cores the containers may use, e.g. 0.2 (NanoCpus, or a CFS quota on a container "
                         "limited by one)" },
    { "cpu_quota", PT_INT, 0, "CFS quota in microseconds per cpu_period (instead of cpus:)" },
    { "cpu_period", PT_INT, 0, "CFS period in microseconds, with cpu_quota: (default the container's, else 100000)" },
    { "memory", PT_BYTES, 0, "memory limit, e.g. 256m (the container must have one already: docs/plan-format.md, Resource faults)" },
    { "memory_swap", PT_BYTES, 0, "memory plus swap limit (at least memory:)" },
    { "pids", PT_INT, 0, "most processes and threads in the container" },
    { "allow_oom", PT_BOOL, 0, "set a memory limit below what the container uses now (its processes may be "
                               "OOM-killed; default false: refused)" },
    { "restore_unlimited", PT_BOOL, 0, "allow cpus/cpu_quota/pids on a container without such a limit; revert lifts "
                                       "it with CpuQuota -1 / PidsLimit 0 (docker inspect then shows -1 and 0, not 0 "
                                       "and null)" },
    { 0 },
};

/* a positive integer key, or a problem at it */
static int64_t pos_int(const struct node *step, const char *key, int64_t min, int64_t max, const char *unit,
                       struct diag *d, int *bad)
{
    if (!node_get(step, key)) return 0;
    int64_t v = param_int(step, key, 0);
    if (v < min || v > max) {
        diag_add(d, node_get(step, key), "docker.limit: %s must be %lld..%lld%s (got %lld)", key, (long long)min,
                 (long long)max, unit, (long long)v);
        (*bad)++;
    }
    return v;
}

static int limit_parse(const struct drv_parse *pc, const struct node *step, void **out, struct diag *d)
{
    (void)pc;
    struct lim_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    if (node_get(step, "cpus")) {
        c->cpus = param_num(step, "cpus", 0);
        if (!(c->cpus >= 0.01) || c->cpus > 1024) {
            diag_add(d, node_get(step, "cpus"), "docker.limit: cpus must be 0.01..1024 (got %g)", c->cpus);
            bad++;
        }
    }
    c->cpu_quota = pos_int(step, "cpu_quota", 1000, 1000000000, " microseconds", d, &bad);
    c->cpu_period = pos_int(step, "cpu_period", 1000, 1000000, " microseconds", d, &bad);
    c->pids = pos_int(step, "pids", 1, 4194304, "", d, &bad);
    c->memory = param_bytes(step, "memory", 0);
    c->memory_swap = param_bytes(step, "memory_swap", 0);
    c->allow_oom = param_bool(step, "allow_oom", 0);
    c->restore_unlimited = param_bool(step, "restore_unlimited", 0);
    if (node_get(step, "memory") && c->memory < (6 << 20)) {
        diag_add(d, node_get(step, "memory"), "docker.limit: memory must be at least 6m (the engine's minimum)");
        bad++;
    }
    if (node_get(step, "memory_swap") && c->memory_swap < (6 << 20)) {
        diag_add(d, node_get(step, "memory_swap"), "docker.limit: memory_swap must be at least 6m");
        bad++;
    }
    if (c->memory && c->memory_swap && c->memory_swap < c->memory) {
        diag_add(d, node_get(step, "memory_swap"), "docker.limit: memory_swap (memory plus swap) must be at least "
                 "memory");
        bad++;
    }
    if (node_get(step, "cpus") && node_get(step, "cpu_quota")) {
        diag_add(d, node_get(step, "cpu_quota"), "docker.limit: give cpus: or cpu_quota:, not both");
        bad++;
    }
    if (node_get(step, "cpu_period") && !node_get(step, "cpu_quota")) {
        diag_add(d, node_get(step, "cpu_period"), "docker.limit: cpu_period: goes with cpu_quota:");
        bad++;
    }
    if (!bad && !c->cpus && !c->cpu_quota && !c->memory && !c->memory_swap && !c->pids) {
        diag_add(d, step, "docker.limit: nothing to limit: give cpus:, cpu_quota:, memory:, memory_swap: or pids:");
        bad++;
    }
    if (bad) {
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int64_t jint(const json_t *o, const char *k) { return (int64_t)json_integer_value(json_object_get(o, k)); }

/* the resource fields of an inspect's HostConfig (PidsLimit null kept as null) */
static json_t *resources_of(const json_t *hc) { return docker_resources_from_json(hc); }

/* bytes the container's processes use now, as docker stats shows (usage less the inactive
 * file cache); -1 with err when the engine does not say */
static int64_t mem_in_use(struct docker_client *c, const char *id, char *err)
{
    json_t *j = NULL;
    int64_t used = -1;
    if (docker_stats_once(c, id, &j, err) < 0) return -1;
    if (docker_mem_used_from_json(j, &used, NULL) < 0) {
        fl_err(err, "docker: stats of '%s' have no memory usage", id);
        used = -1;
    }
    json_decref(j);
    return used;
}

/* the CPU part of set and restore for one container, or -1 with the refusal in err */
static int plan_cpu(const struct lim_cfg *cfg, const char *name, const json_t *pr, json_t *set, json_t *restore,
                    char *err)
{
    int64_t nano = jint(pr, "NanoCpus"), quota = jint(pr, "CpuQuota"), period = jint(pr, "CpuPeriod");
    if (nano > 0) {
        /* limited by --cpus: only NanoCpus may change (the engine refuses a quota next to it) */
        double cpus = cfg->cpus ? cfg->cpus : (double)cfg->cpu_quota / (double)(cfg->cpu_period ? cfg->cpu_period
                                                                                                : 100000);
        json_object_set_new(set, "NanoCpus", json_integer((json_int_t)llround(cpus * 1e9)));
        json_object_set_new(restore, "NanoCpus", json_integer(nano));
        return 0;
    }
    if (quota <= 0 && !cfg->restore_unlimited)
        return fl_err(err, "docker.limit: container '%s' has no CPU limit (NanoCpus 0, CpuQuota %lld): the Engine "
                      "API cannot put 'no limit' back exactly (NanoCpus cannot be cleared; CpuQuota -1 lifts a quota "
                      "but docker inspect then shows -1), so faultline could not undo it; start it with "
                      "--cpus (or --cpu-quota), or set restore_unlimited: true to accept CpuQuota -1 on revert",
                      name, (long long)quota);
    /* CpuPeriod 0 (a quota given without --cpu-period: the kernel's 100000 us applies): the
     * engine ignores CpuPeriod 0 in an update, so a period sent could never be put back to 0;
     * then the period is left alone, in set and in restore */
    if (period <= 0 && cfg->cpu_period)
        return fl_err(err, "docker.limit: container '%s' has no CFS period recorded (CpuPeriod 0: the engine ignores "
                      "0 in an update, so that value cannot be sent back), so faultline could not undo cpu_period:; "
                      "leave cpu_period: out (the kernel's 100000 us applies), or start it with --cpu-period", name);
    int64_t p = cfg->cpu_period ? cfg->cpu_period : period > 0 ? period : 100000;
    int64_t q = cfg->cpu_quota ? cfg->cpu_quota : (int64_t)llround(cfg->cpus * (double)p);
    if (q < 1000) return fl_err(err, "docker.limit: cpus %g is a CFS quota of %lld us per %lld us on '%s': below the "
                                "engine's 1000 us", cfg->cpus, (long long)q, (long long)p, name);
    json_object_set_new(set, "CpuQuota", json_integer(q));
    if (period > 0) json_object_set_new(set, "CpuPeriod", json_integer(p));
    json_object_set_new(restore, "CpuQuota", json_integer(quota > 0 ? quota : -1));
    if (period > 0) json_object_set_new(restore, "CpuPeriod", json_integer(period));
    return 0;
}

/* the memory part of set and restore for one container, or -1 with the refusal in err */
static int plan_memory(const struct lim_cfg *cfg, struct docker_client *c, const char *id, const char *name,
                       int running, const json_t *pr, json_t *set, json_t *restore, char *err)
{
    int64_t mem = jint(pr, "Memory"), swap = jint(pr, "MemorySwap");
    char a[32], b[32];
    if (mem <= 0)
        return fl_err(err, "docker.limit: container '%s' has no memory limit: the Engine API cannot lift a memory "
                      "limit once set (Memory 0 is ignored, -1 refused), so faultline could not undo it; start it "
                      "with --memory (and --memory-swap) to use memory:/memory_swap:", name);
    if (cfg->memory_swap && swap == 0)
        return fl_err(err, "docker.limit: container '%s' has no memory+swap limit recorded (MemorySwap 0: the engine "
                      "ignores 0, so that value cannot be sent back), so faultline could not undo memory_swap:; start "
                      "it with --memory-swap, or leave memory_swap: out", name);
    int64_t newmem = cfg->memory ? cfg->memory : mem;
    if (cfg->memory_swap && cfg->memory_swap < newmem) {
        fmt_bytes(cfg->memory_swap, a);
        fmt_bytes(newmem, b);
        return fl_err(err, "docker.limit: memory_swap %s is below the memory limit %s of '%s'", a, b, name);
    }
    if (!cfg->memory_swap && swap > 0 && newmem > swap) {
        fmt_bytes(newmem, a);
        fmt_bytes(swap, b);
        return fl_err(err, "docker.limit: memory %s is above the memory+swap limit %s of '%s': give memory_swap: too",
                      a, b, name);
    }
    if (cfg->memory && cfg->memory < mem && !cfg->allow_oom && running) {
        char e[FL_ERR_LEN];
        int64_t used = mem_in_use(c, id, e);
        if (used < 0)
            return fl_err(err, "docker.limit: cannot tell what '%s' uses now (%s), so a memory limit of that size "
                          "may OOM-kill in it: set allow_oom: true to do it anyway", name, e);
        if (cfg->memory < used) {
            fmt_bytes(cfg->memory, a);
            return fl_err(err, "docker.limit: memory %s is below what '%s' uses now (%.1f MiB): its processes would "
                          "be OOM-killed; set allow_oom: true to do it anyway", a, name, used / 1048576.0);
        }
    }
    /* MemorySwap -1 (unlimited swap): the engine refuses Memory alone there ("Memory limit
     * should be smaller than already set memoryswap limit"), so -1 goes along both ways */
    int keep_swap = !cfg->memory_swap && swap == -1;
    if (cfg->memory) json_object_set_new(set, "Memory", json_integer(cfg->memory));
    if (cfg->memory_swap || keep_swap)
        json_object_set_new(set, "MemorySwap", json_integer(keep_swap ? -1 : cfg->memory_swap));
    json_object_set_new(restore, "Memory", json_integer(mem));
    if (cfg->memory_swap || keep_swap) json_object_set_new(restore, "MemorySwap", json_integer(swap));
    return 0;
}

static int plan_pids(const struct lim_cfg *cfg, const char *name, const json_t *pr, json_t *set, json_t *restore,
                     char *err)
{
    const json_t *pl = json_object_get(pr, "PidsLimit");
    int64_t v = json_is_integer(pl) ? json_integer_value(pl) : 0;
    if (v <= 0 && !cfg->restore_unlimited)
        return fl_err(err, "docker.limit: container '%s' has no pids limit (PidsLimit %s): the Engine API can lift "
                      "one only as PidsLimit 0, not back to what docker inspect shows now, so faultline could not "
                      "undo it exactly; start it with --pids-limit, or set restore_unlimited: true to accept "
                      "PidsLimit 0 on revert", name, json_is_integer(pl) ? "0" : "null");
    json_object_set_new(set, "PidsLimit", json_integer(cfg->pids));
    json_object_set_new(restore, "PidsLimit", json_integer(v > 0 ? v : 0));
    return 0;
}

/* Observe every container; decide, before anything changes, what set and restore send. */
static int limit_prepare(struct fault_inst *fi, char *err)
{
    const struct lim_cfg *cfg = fi->cfg;
    struct dl_state *s = state_open(fi, "docker.limit", err);
    if (!s) return -1;
    fi->state = s;
    s->restore_unlimited = cfg->restore_unlimited;
    for (size_t i = 0; i < s->n; i++) {
        struct dl_ct *ct = &s->cts[i];
        json_t *j = NULL;
        struct docker_cstate st;
        char e[FL_ERR_LEN];
        if (docker_inspect(&s->client, ct->id, &st, &j, e) < 0)
            return fl_err(err, "docker.limit: cannot look at '%s': %s", ct->name, e);
        ct->prior = resources_of(json_object_get(j, "HostConfig"));
        json_decref(j);
        ct->set = json_object();
        ct->restore = json_object();
        if ((cfg->cpus || cfg->cpu_quota) && plan_cpu(cfg, ct->name, ct->prior, ct->set, ct->restore, err) < 0)
            return -1;
        if ((cfg->memory || cfg->memory_swap) &&
            plan_memory(cfg, &s->client, ct->id, ct->name, st.state == DS_RUNNING, ct->prior, ct->set, ct->restore,
                        err) < 0)
            return -1;
        if (cfg->pids && plan_pids(cfg, ct->name, ct->prior, ct->set, ct->restore, err) < 0) return -1;
    }
    return 0;
}

/* does the container's HostConfig hold what body sends? (a lifted limit matches any
 * "no limit" reading: CpuQuota -1 matches 0 and -1, PidsLimit 0 matches null, 0 and -1) */
static int holds(const json_t *hc, const json_t *body)
{
    const char *k;
    json_t *v;
    int lifted_quota = json_integer_value(json_object_get(body, "CpuQuota")) == -1;
    json_object_foreach((json_t *)body, k, v) {
        const json_t *cur = json_object_get(hc, k);
        int64_t want = json_integer_value(v);
        int64_t have = json_is_integer(cur) ? json_integer_value(cur) : 0;
        if (!strcmp(k, "CpuQuota") && want == -1) {
            if (have > 0 || jint(hc, "NanoCpus") > 0) return 0;
        } else if (!strcmp(k, "CpuPeriod") && lifted_quota) {
            continue;
        } else if (!strcmp(k, "PidsLimit") && want == 0) {
            if (have > 0) return 0;
        } else if (have != want) {
            return 0;
        }
    }
    return 1;
}

/* is every field of the container either what restore or what set sends? (the fault's own
 * doing, whole or half: a revert that died midway) */
static int fault_made(const json_t *hc, const json_t *set, const json_t *restore)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)set, k, v) {
        json_t *one = json_object();
        json_object_set(one, k, v);
        json_t *r1 = json_object();
        json_t *rv = json_object_get(restore, k);
        if (rv) json_object_set(r1, k, rv);
        if (!strcmp(k, "CpuPeriod") && json_object_get(restore, "CpuQuota"))
            json_object_set(r1, "CpuQuota", json_object_get(restore, "CpuQuota"));
        int ok = holds(hc, one) || (rv && holds(hc, r1));
        json_decref(one);
        json_decref(r1);
        if (!ok) return 0;
    }
    json_object_foreach((json_t *)restore, k, v) { /* sent back only (Memory with memory_swap:): unchanged */
        if (json_object_get(set, k)) continue;
        json_t *one = json_object();
        json_object_set(one, k, v);
        int ok = holds(hc, one);
        json_decref(one);
        if (!ok) return 0;
    }
    return 1;
}

static void body_text(const json_t *body, char *out, size_t n)
{
    char *t = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, n, "%s", t ? t : "{}");
    free(t);
}

/* send restore, then read it back: the values found must be there again (nothing is sent
 * when the container holds them already: a set the engine refused changed nothing) */
static int restore_ct(struct docker_client *c, const struct dl_ct *ct, char *err)
{
    char e[FL_ERR_LEN], want[256];
    body_text(ct->restore, want, sizeof want);
    json_t *j = NULL;
    if (docker_inspect(c, ct->id, NULL, &j, e) == 0) {
        int same = holds(json_object_get(j, "HostConfig"), ct->restore);
        json_decref(j);
        j = NULL;
        if (same) return 0;
    }
    if (docker_update(c, ct->id, ct->restore, e) < 0)
        return fl_err(err, "docker.limit: cannot put back %s on '%s': %s", want, ct->name, e);
    if (docker_inspect(c, ct->id, NULL, &j, e) < 0)
        return fl_err(err, "docker.limit: put back %s on '%s' but cannot read it back: %s", want, ct->name, e);
    int ok = holds(json_object_get(j, "HostConfig"), ct->restore);
    json_t *now = ok ? NULL : resources_of(json_object_get(j, "HostConfig"));
    json_decref(j);
    if (!ok) {
        char got[256];
        body_text(now, got, sizeof got);
        json_decref(now);
        return fl_err(err, "docker.limit: sent %s to '%s' but it reads back %s", want, ct->name, got);
    }
    return 0;
}

/* put back every container acted on (the fault's revert; also after a failed inject) */
static int limit_revert(struct fault_inst *fi, char *err)
{
    struct dl_state *s = fi->state;
    int ret = 0;
    char e[FL_ERR_LEN];
    for (size_t i = 0; s && i < s->n; i++) {
        struct dl_ct *ct = &s->cts[i];
        if (!ct->acted) continue;
        if (restore_ct(&s->client, ct, e) < 0) {
            if (ret == 0) snprintf(err, FL_ERR_LEN, "%s", e);
            else fl_log(FL_LOG_ERROR, "%s", e);
            ret = -1;
            continue;
        }
        ct->acted = 0;
        fault_progress(fi, "revert", i, json_pack("{s:s,s:O}", "container", ct->name, "restored", ct->restore));
    }
    return ret;
}

static int limit_inject(struct fault_inst *fi, char *err)
{
    if (!fi->state && limit_prepare(fi, err) < 0) return -1;
    struct dl_state *s = fi->state;
    for (size_t i = 0; i < s->n; i++) {
        struct dl_ct *ct = &s->cts[i];
        char e[FL_ERR_LEN];
        ct->acted = 1; /* the engine may have applied it even when the reply is lost */
        if (docker_update(&s->client, ct->id, ct->set, e) < 0) {
            char want[256];
            body_text(ct->set, want, sizeof want);
            fl_err(err, "docker.limit: cannot set %s on '%s': %s", want, ct->name, e);
            return fault_inject_undo(fi, limit_revert, "undoing", err);
        }
        fault_progress(fi, "inject", i, json_pack("{s:s,s:O}", "container", ct->name, "set", ct->set));
    }
    return 0;
}

static json_t *limit_save(const struct fault_inst *fi)
{
    const struct dl_state *s = fi->state;
    if (!s) return NULL;
    json_t *cs = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const struct dl_ct *ct = &s->cts[i];
        json_array_append_new(cs, json_pack("{s:s,s:s,s:O,s:O,s:O,s:b}", "id", ct->id, "name", ct->name, "prior",
                                            ct->prior ? ct->prior : json_null(), "set",
                                            ct->set ? ct->set : json_null(), "restore",
                                            ct->restore ? ct->restore : json_null(), "acted", ct->acted));
    }
    json_t *rec = json_pack("{s:s,s:s,s:o}", "host", s->host, "target", s->target, "containers", cs);
    if (s->client_ready) docker_client_save_tls(&s->client, rec);
    return rec;
}

static int limit_reconcile_ct(struct docker_client *c, const struct dl_ct *ct, struct buf *report, char *err)
{
    char e[FL_ERR_LEN], was[256], by[256];
    body_text(ct->restore, was, sizeof was);
    body_text(ct->set, by, sizeof by);
    json_t *j = NULL;
    if (docker_inspect(c, ct->id, NULL, &j, e) < 0) {
        fault_report(report, "container %s: was %s; cannot look at it now: %s", ct->name, was, e);
        return fl_err(err, "container '%s': %s", ct->name, e);
    }
    json_t *hc = json_object_get(j, "HostConfig");
    int same = holds(hc, ct->restore), ours = fault_made(hc, ct->set, ct->restore);
    json_t *now = resources_of(hc), *shown = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(now, k, v) /* the fields the fault touches, as they are now */
        if (json_object_get(ct->set, k) || json_object_get(ct->restore, k)) json_object_set(shown, k, v);
    char found[256];
    body_text(shown, found, sizeof found);
    json_decref(shown);
    json_decref(now);
    json_decref(j);
    if (same) {
        fault_report(report, "container %s: was %s, found it so: nothing to do", ct->name, was);
        return 0;
    }
    if (!ours) {
        fault_report(report, "container %s: was %s, the fault set %s, found %s: changed by someone else since the "
                     "run: left as it is", ct->name, was, by, found);
        return 0;
    }
    if (restore_ct(c, ct, e) < 0) {
        fault_report(report, "container %s: was %s, found %s: %s", ct->name, was, found, e);
        return fl_err(err, "%s", e);
    }
    fault_report(report, "container %s: was %s, found the fault's %s: put back (read back the same)", ct->name, was,
                 found);
    return 0;
}

static int limit_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    const char *host = json_string_value(json_object_get(r->rec, "host"));
    json_t *cs = json_object_get(r->rec, "containers");
    if (!host || !json_is_array(cs)) return fl_err(err, "docker.limit: journal record is incomplete");
    struct docker_client c;
    if (docker_client_init_saved(&c, host, r->rec, err) < 0) return -1;
    int ret = 0;
    size_t i;
    json_t *it;
    json_array_foreach(cs, i, it) {
        struct dl_ct ct = { .id = (char *)json_string_value(json_object_get(it, "id")),
                            .name = (char *)json_string_value(json_object_get(it, "name")),
                            .set = json_object_get(it, "set"), .restore = json_object_get(it, "restore") };
        char e[FL_ERR_LEN];
        if (!ct.id || !json_is_object(ct.set) || !json_is_object(ct.restore)) {
            fault_report(report, "container #%zu: the record lacks its id or values: nothing can be done", i + 1);
            if (ret == 0) ret = fl_err(err, "docker.limit: journal record of container #%zu is incomplete", i + 1);
            continue;
        }
        if (!ct.name) ct.name = ct.id;
        if (limit_reconcile_ct(&c, &ct, report, e) < 0 && ret == 0) ret = fl_err(err, "%s", e);
    }
    docker_client_release(&c);
    return ret;
}

static void limit_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct lim_cfg *cfg = fi->cfg;
    char b[32];
    buf_adds(out, "docker limit");
    describe_target(fi, out);
    buf_adds(out, ":");
    if (cfg->cpus) buf_addf(out, " cpus %g", cfg->cpus);
    if (cfg->cpu_quota)
        buf_addf(out, " cpu_quota %lldus/%lldus", (long long)cfg->cpu_quota,
                 (long long)(cfg->cpu_period ? cfg->cpu_period : 100000));
    if (cfg->memory) {
        fmt_bytes(cfg->memory, b);
        buf_addf(out, " memory %s", b);
    }
    if (cfg->memory_swap) {
        fmt_bytes(cfg->memory_swap, b);
        buf_addf(out, " memory_swap %s", b);
    }
    if (cfg->pids) buf_addf(out, " pids %lld", (long long)cfg->pids);
    if (cfg->allow_oom) buf_adds(out, " (allow_oom)");
    buf_adds(out, "; revert puts back the values read at prepare");
    if (cfg->restore_unlimited) buf_adds(out, " (no limit lifted as CpuQuota -1 / PidsLimit 0)");
    const struct dl_state *s = fi->state;
    for (size_t i = 0; s && i < s->n; i++) {
        char t[256];
        body_text(s->cts[i].restore, t, sizeof t);
        buf_addf(out, "%s %s %s", i ? "," : "; found", s->cts[i].name, t);
    }
}

/* ================================ docker.stress =============================================== */

struct stress_cfg {
    int64_t workers;
    char **command;
    int64_t timeout_ms;      /* 0: for: (or the plan's duration) + 30s */
};

static const struct param_spec stress_params[] = {
    { "workers", PT_INT, 0, "burning processes per container, each keeps one core busy (default 1)" },
    { "command", PT_ARGV, 0, "the burning program (default sha256sum /dev/zero; run under timeout(1))" },
    { "timeout", PT_DURATION, 0, "the burn ends by itself after this, even when faultline dies (default for: + 30s, "
                                 "or the plan's duration + 30s)" },
    { 0 },
};

static void stress_cfg_free(void *p)
{
    struct stress_cfg *c = p;
    if (!c) return;
    param_strv_free(c->command);
    free(c);
}

static int stress_parse(const struct drv_parse *pc, const struct node *step, void **out, struct diag *d)
{
    (void)pc;
    struct stress_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    c->workers = param_int(step, "workers", 1);
    c->timeout_ms = param_ms(step, "timeout", 0);
    c->command = param_argv(step, "command");
    if (c->workers < 1 || c->workers > 64) {
        diag_add(d, node_get(step, "workers"), "docker.stress: workers must be 1..64 (got %lld)",
                 (long long)c->workers);
        bad++;
    }
    if (node_get(step, "timeout") && c->timeout_ms < 1000) {
        diag_add(d, node_get(step, "timeout"), "docker.stress: timeout must be at least 1s");
        bad++;
    }
    if (node_get(step, "command") && (!c->command || !c->command[0])) {
        diag_add(d, node_get(step, "command"), "docker.stress: command: is empty");
        bad++;
    }
    if (bad) {
        stress_cfg_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* is pid in the cgroup of container id here? (faultline sees the engine's pids) An empty id
 * cannot be verified: no. */
static int in_container(pid_t pid, const char *id)
{
    char path[64], buf[4096];
    if (!id || !id[0]) return 0;
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (proc_read_small(path, buf, sizeof buf) < 0) return 0;
    return strstr(buf, id) != NULL;
}

static int stress_prepare(struct fault_inst *fi, char *err)
{
    const struct stress_cfg *cfg = fi->cfg;
    struct dl_state *s = state_open(fi, "docker.stress", err);
    if (!s) return -1;
    fi->state = s;
    if (!s->client.socket_path)
        return fl_err(err, "docker.stress: the engine of target '%s' is at %s: the burn is ended through its host "
                      "pid, so faultline must run on the engine's machine (a unix:// socket)", s->target, s->host);
    int64_t t = cfg->timeout_ms;
    if (!t) {
        int64_t span = fi->step && fi->step->for_ms > 0 ? fi->step->for_ms : fi->ctx ? fi->ctx->duration_ms : 0;
        t = (span > 0 ? span : 60000) + 30000;
    }
    char secs[32];
    snprintf(secs, sizeof secs, "%lld", (long long)((t + 999) / 1000));
    char *const defcmd[] = { "sha256sum", "/dev/zero", NULL };
    char *const *cmd = cfg->command ? cfg->command : defcmd;
    size_t nc = param_strv_len(cmd);
    s->argv = fl_calloc(nc + 5, sizeof *s->argv);
    s->argv[0] = fl_strdup("timeout");
    s->argv[1] = fl_strdup("-s");
    s->argv[2] = fl_strdup("KILL");
    s->argv[3] = fl_strdup(secs);
    for (size_t i = 0; i < nc; i++) s->argv[4 + i] = fl_strdup(cmd[i]);
    s->burns = fl_calloc(s->n * (size_t)cfg->workers + 1, sizeof *s->burns);
    for (size_t i = 0; i < s->n; i++) {
        struct docker_cstate st;
        char e[FL_ERR_LEN];
        json_t *j = NULL;
        if (docker_inspect(&s->client, s->cts[i].id, &st, &j, e) < 0)
            return fl_err(err, "docker.stress: cannot look at '%s': %s", s->cts[i].name, e);
        long cpid = (long)json_integer_value(json_object_get(json_object_get(j, "State"), "Pid"));
        json_decref(j);
        if (st.state != DS_RUNNING)
            return fl_err(err, "docker.stress: container '%s' is %s: a burn runs only in a running container",
                          s->cts[i].name, docker_state_name(st.state));
        /* the burns are found and ended by their host pids: the container's own process must
         * be visible here, and be in that container, before any exec starts */
        struct proc_id cp;
        if (cpid <= 0 || proc_stat((pid_t)cpid, &cp) < 0 || !in_container((pid_t)cpid, s->cts[i].id))
            return fl_err(err, "docker.stress: the engine says container '%s' runs as pid %ld, which is not a "
                          "process of that container here: faultline must share the engine's pid namespace (the "
                          "burns are ended through their pids), so nothing was started", s->cts[i].name, cpid);
        for (int64_t w = 0; w < cfg->workers; w++) s->burns[s->nburns++].ct = i;
    }
    return 0;
}

/* the living (not zombie) processes of process group pg started at or after start (scans
 * /proc), up to max into out (may be NULL); their count */
static size_t group_members(pid_t pg, unsigned long long start, struct proc_id *out, size_t max)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if (proc_read_small(path, buf, sizeof buf) < 0) continue;
        const char *p = strrchr(buf, ')');
        char st;
        long ppid, pgrp;
        struct proc_id id;
        if (!p || sscanf(p + 1, " %c %ld %ld", &st, &ppid, &pgrp) != 3 || pgrp != pg || st == 'Z' || st == 'X')
            continue;
        if (proc_stat((pid_t)pid, &id) < 0 || id.start < start) continue;
        if (out && n < max) out[n] = id;
        n++;
    }
    closedir(d);
    return n;
}

/* wait up to ms until the leader and its group are gone: 1, else 0 */
static int burn_gone(const struct proc_id *id, int ms)
{
    for (int i = 0; i <= ms / 20; i++) {
        if (!proc_alive(id, NULL) && !group_members(id->pid, id->start, NULL, 0)) return 1;
        fl_sleep_ms(20);
    }
    return 0;
}

/* SIGKILL every living member of the burn's group (each by pid and start time) */
static void group_kill(const struct proc_id *id)
{
    struct proc_id m[64];
    size_t n = group_members(id->pid, id->start, m, 64);
    char e[FL_ERR_LEN];
    for (size_t i = 0; i < n && i < 64; i++) proc_signal(&m[i], SIGKILL, e);
}

/* End one burn. Its leader (timeout(1), which leads a process group) still the same process:
 * SIGTERM to it first (it passes it on to the command and reaps it: the container's init,
 * which may not reap, inherits no zombie), then SIGKILL to the group after 1 s. Leader gone
 * but members of its group (pgid = its pid, started since it) still there (the leader was
 * SIGKILLed by someone): SIGKILL to them (Linux does not reuse a pid while a group carries
 * its number). Waits until all are gone. 1 killed, 0 already gone, -1 err. */
static int burn_kill(const struct proc_id *id, char *err)
{
    if (id->pid <= 0) return 0;
    if (proc_alive(id, NULL)) {
        if (proc_signal(id, SIGTERM, err) < 0 && proc_alive(id, NULL)) return -1;
        if (burn_gone(id, 1000)) return 1;
        if (proc_alive(id, NULL)) proc_signal(id, SIGKILL, err);
    } else {
        struct proc_id now;
        /* pid taken again by another process: the group with that number is its own now */
        if ((proc_stat(id->pid, &now) == 0 && now.state != 'Z') || !group_members(id->pid, id->start, NULL, 0))
            return 0;
    }
    group_kill(id);
    if (burn_gone(id, 2000)) return 1;
    return fl_err(err, "the burn (pid %d) or a process of its group is still there after SIGKILL", (int)id->pid);
}

/* a burn started but its pid not known: ask the engine. 1 it runs, as *id here (in container
 * cid), 0 it does not run, -1 with err: the engine cannot be asked (*unreachable set), gives
 * no pid, or its pid is not a process of the container here */
static int burn_find(struct docker_client *c, const char *eid, const char *cid, struct proc_id *id,
                     int *unreachable, char *err)
{
    int running = 0, code = -1;
    long pid = 0;
    char e[FL_ERR_LEN];
    *unreachable = 0;
    if (docker_exec_inspect(c, eid, &running, &pid, &code, e) < 0) {
        *unreachable = 1;
        return fl_err(err, "cannot ask the engine about exec %.12s: %s", eid, e);
    }
    if (!running) return 0;
    if (pid <= 0) return fl_err(err, "exec %.12s runs, but the engine gives no pid for it yet", eid);
    if (!cid || !cid[0])
        return fl_err(err, "exec %.12s runs as pid %ld, but the record names no container: cannot verify that pid "
                      "is the burn, left to its timeout", eid, pid);
    if (proc_stat((pid_t)pid, id) < 0 || !in_container(id->pid, cid))
        return fl_err(err, "exec %.12s runs as pid %ld, not a process of the container here: left to its timeout",
                      eid, pid);
    return 1;
}

/* end every burn started (the fault's revert; also after a failed inject) */
static int stress_revert(struct fault_inst *fi, char *err)
{
    struct dl_state *s = fi->state;
    int ret = 0;
    for (size_t k = 0; s && k < s->nburns; k++) {
        struct dl_burn *b = &s->burns[k];
        if (!b->acted) continue;
        char e[FL_ERR_LEN];
        if (b->pid.pid <= 0) { /* started, its pid never learnt: the engine knows the exec while it runs */
            int unreachable;
            if (burn_find(&s->client, b->exec_id, s->cts[b->ct].id, &b->pid, &unreachable, e) < 0) {
                b->pid.pid = 0;
                if (ret == 0) fl_err(err, "docker.stress in '%s': %s", s->cts[b->ct].name, e);
                ret = -1;
                continue;
            }
        }
        int r = burn_kill(&b->pid, e);
        if (r < 0) {
            if (ret == 0) fl_err(err, "docker.stress in '%s': %s", s->cts[b->ct].name, e);
            ret = -1;
            continue;
        }
        b->acted = 0;
        fault_progress(fi, "revert", k, json_pack("{s:s,s:s,s:b}", "container", s->cts[b->ct].name, "exec",
                                                  b->exec_id, "killed", r == 1));
    }
    return ret;
}

/* start burn k: exec id journaled before the start, pid and start time right after */
static int stress_start(struct fault_inst *fi, struct dl_state *s, size_t k, char *err)
{
    struct dl_burn *b = &s->burns[k];
    const struct dl_ct *ct = &s->cts[b->ct];
    char e[FL_ERR_LEN];
    if (docker_exec_create(&s->client, ct->id, s->argv, b->exec_id, e) < 0)
        return fl_err(err, "docker.stress: cannot create the burn in '%s': %s", ct->name, e);
    if (fault_progress_sync(fi, "inject", k, json_pack("{s:s,s:s}", "container", ct->name, "exec", b->exec_id), e) < 0)
        return fl_err(err, "docker.stress: burn in '%s' not started: %s", ct->name, e);
    b->acted = 1;
    if (docker_exec_start_detached(&s->client, b->exec_id, e) < 0)
        return fl_err(err, "docker.stress: cannot start the burn in '%s': %s", ct->name, e);
    int running = 0, code = -1;
    long pid = 0;
    for (int i = 0; i < 200; i++) {
        if (docker_exec_inspect(&s->client, b->exec_id, &running, &pid, &code, e) < 0)
            return fl_err(err, "docker.stress: started the burn in '%s' but cannot look at it: %s", ct->name, e);
        if (pid > 0 || !running) break;
        fl_sleep_ms(10);
    }
    if (!running)
        return fl_err(err, "docker.stress: the burn in '%s' ended at once (exit %d%s)", ct->name, code,
                      code == 126 || code == 127 ? ": is the command in its image?" : "");
    if (pid <= 0 || proc_stat((pid_t)pid, &b->pid) < 0 || !in_container(b->pid.pid, ct->id)) {
        b->pid.pid = 0;
        /* gone meanwhile? (timeout(1) ends at once when the command is missing; the engine
         * may learn it a moment later than /proc) */
        for (int i = 0; i < 25; i++) {
            if (docker_exec_inspect(&s->client, b->exec_id, &running, NULL, &code, e) == 0 && !running)
                return fl_err(err, "docker.stress: the burn in '%s' ended at once (exit %d%s)", ct->name, code,
                              code == 126 || code == 127 ? ": is the command in its image?" : "");
            fl_sleep_ms(20);
        }
        return fl_err(err, "docker.stress: the engine says the burn in '%s' is pid %ld, which is not a process of "
                      "that container here: faultline must share the engine's pid namespace (it ends by itself "
                      "after its timeout)", ct->name, pid);
    }
    if (fault_progress_sync(fi, "inject", k, json_pack("{s:s,s:s,s:I,s:I}", "container", ct->name, "exec", b->exec_id,
                                                       "pid", (json_int_t)b->pid.pid, "start",
                                                       (json_int_t)b->pid.start), e) < 0)
        return fl_err(err, "docker.stress: burn in '%s': %s", ct->name, e);
    return 0;
}

/* a moment after the start, every burn still runs: a command missing from the image ends
 * timeout(1) at once (126/127), and a burn that does not run is no evidence of anything */
static int stress_check_running(struct dl_state *s, char *err)
{
    fl_sleep_ms(150);
    for (size_t k = 0; k < s->nburns; k++) {
        const struct dl_burn *b = &s->burns[k];
        const char *name = s->cts[b->ct].name;
        int running = 0, code = -1;
        char e[FL_ERR_LEN];
        if (docker_exec_inspect(&s->client, b->exec_id, &running, NULL, &code, e) < 0)
            return fl_err(err, "docker.stress: cannot look at the burn in '%s': %s", name, e);
        if (!running)
            return fl_err(err, "docker.stress: the burn in '%s' ended at once (exit %d%s)", name, code,
                          code == 126 || code == 127 ? ": is the command in its image?" : "");
    }
    return 0;
}

static int stress_inject(struct fault_inst *fi, char *err)
{
    if (!fi->state && stress_prepare(fi, err) < 0) return -1;
    struct dl_state *s = fi->state;
    int ok = 1;
    for (size_t k = 0; ok && k < s->nburns; k++) ok = stress_start(fi, s, k, err) == 0;
    if (ok && stress_check_running(s, err) == 0) return 0;
    return fault_inject_undo(fi, stress_revert, "ending the others", err);
}

static json_t *stress_save(const struct fault_inst *fi)
{
    const struct dl_state *s = fi->state;
    if (!s) return NULL;
    json_t *cs = json_array(), *cmd = json_array(), *burns = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(cs, json_pack("{s:s,s:s}", "id", s->cts[i].id, "name", s->cts[i].name));
    for (size_t i = 0; s->argv && s->argv[i]; i++) json_array_append_new(cmd, json_string(s->argv[i]));
    for (size_t k = 0; k < s->nburns; k++) {
        const struct dl_burn *b = &s->burns[k];
        json_t *o = json_pack("{s:I,s:s}", "container", (json_int_t)b->ct, "exec", b->exec_id);
        if (b->pid.pid > 0) {
            json_object_set_new(o, "pid", json_integer(b->pid.pid));
            json_object_set_new(o, "start", json_integer((json_int_t)b->pid.start));
        }
        json_array_append_new(burns, o);
    }
    json_t *rec = json_pack("{s:s,s:s,s:o,s:o,s:o}", "host", s->host, "target", s->target, "containers", cs,
                            "command", cmd, "burns", burns);
    if (s->client_ready) docker_client_save_tls(&s->client, rec);
    return rec;
}

/* one burn k of the record: what the journal knows of it (the latest inject note, else the
 * record itself), killed when it still runs */
static int stress_reconcile_burn(const struct fault_record *r, struct docker_client *c, size_t k, const char *cname,
                                 const char *cid, struct buf *report, char *err)
{
    json_t *note = fault_record_note(r, "inject", k);
    json_t *rb = json_array_get(json_object_get(r->rec, "burns"), k);
    const char *eid = json_string_value(json_object_get(note, "exec"));
    if (!eid) eid = json_string_value(json_object_get(rb, "exec"));
    json_t *src = json_object_get(note, "pid") ? note : rb;
    struct proc_id id = { .pid = (pid_t)json_integer_value(json_object_get(src, "pid")),
                          .start = (unsigned long long)json_integer_value(json_object_get(src, "start")) };
    if (!eid || !eid[0]) {
        fault_report(report, "burn %zu in %s: no exec journaled for it: the dead run never started it: nothing to end", k + 1, cname);
        return 0;
    }
    if (r->same_boot == 0) {
        fault_report(report, "burn %zu in %s: the machine rebooted since: it cannot run any more", k + 1, cname);
        return 0;
    }
    char e[FL_ERR_LEN];
    if (id.pid <= 0) {
        /* started but its pid never journaled: the engine still knows the exec while it runs */
        int unreachable, rc = burn_find(c, eid, cid, &id, &unreachable, e);
        if (rc == 0 || (rc < 0 && unreachable)) {
            fault_report(report, "burn %zu in %s: exec %.12s does not run (%s): nothing to end", k + 1, cname, eid,
                         rc == 0 ? "ended" : "unknown to the engine");
            return 0;
        }
        if (rc < 0) {
            fault_report(report, "burn %zu in %s: %s", k + 1, cname, e);
            return fl_err(err, "burn in '%s': %s", cname, e);
        }
    }
    int rc = burn_kill(&id, e);
    if (rc < 0) {
        fault_report(report, "burn %zu in %s (pid %d): %s", k + 1, cname, (int)id.pid, e);
        return fl_err(err, "burn in '%s': %s", cname, e);
    }
    fault_report(report, "burn %zu in %s (pid %d): %s", k + 1, cname, (int)id.pid,
                 rc ? "was still running: killed, and gone" : "gone already (ended by its timeout or with the "
                                                             "container): nothing to do");
    return 0;
}

static int stress_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    const char *host = json_string_value(json_object_get(r->rec, "host"));
    json_t *cs = json_object_get(r->rec, "containers"), *burns = json_object_get(r->rec, "burns");
    if (!host || !json_is_array(cs) || !json_is_array(burns))
        return fl_err(err, "docker.stress: journal record is incomplete");
    struct docker_client c;
    if (docker_client_init_saved(&c, host, r->rec, err) < 0) return -1;
    int ret = 0;
    for (size_t k = 0; k < json_array_size(burns); k++) {
        json_t *ct = json_array_get(cs, (size_t)json_integer_value(json_object_get(json_array_get(burns, k),
                                                                                     "container")));
        const char *name = json_string_value(json_object_get(ct, "name"));
        const char *id = json_string_value(json_object_get(ct, "id"));
        char e[FL_ERR_LEN];
        if (stress_reconcile_burn(r, &c, k, name ? name : "?", id ? id : "", report, e) < 0 && ret == 0)
            ret = fl_err(err, "docker.stress: %s", e);
    }
    docker_client_release(&c);
    return ret;
}

static void stress_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct stress_cfg *cfg = fi->cfg;
    buf_adds(out, "docker stress");
    describe_target(fi, out);
    buf_addf(out, ": %lld burning process%s per container (", (long long)cfg->workers, cfg->workers == 1 ? "" : "es");
    if (cfg->command)
        for (size_t i = 0; cfg->command[i]; i++) buf_addf(out, "%s%s", i ? " " : "", cfg->command[i]);
    else buf_adds(out, "sha256sum /dev/zero");
    buf_adds(out, ", under timeout), killed at revert");
    if (cfg->timeout_ms) {
        char d[32];
        val_fmt_duration(cfg->timeout_ms, d);
        buf_addf(out, "; ends by itself after %s", d);
    }
}

const struct fault_ops fault_docker_limit = {
    .name = "docker.limit", .target_kind = "docker",
    .summary = "set CPU (cpus: or cpu_quota:), memory (memory:, memory_swap:) and pids: limits of the containers "
               "(container update)",
    .revert_summary = "put back the exact values found (refused at prepare where the engine could not)",
    .params = limit_params, .parse = limit_parse, .prepare = limit_prepare, .inject = limit_inject,
    .revert = limit_revert, .save = limit_save, .reconcile = limit_reconcile, .describe = limit_describe,
    .free_cfg = free, .free_state = state_free,
};

const struct fault_ops fault_docker_stress = {
    .name = "docker.stress", .target_kind = "docker",
    .summary = "burn CPU inside the containers: workers: processes of command: (default sha256sum /dev/zero), "
               "exec'd under timeout(1)",
    .revert_summary = "kill the burning processes (by pid and start time) and see them gone",
    .params = stress_params, .parse = stress_parse, .prepare = stress_prepare, .inject = stress_inject,
    .revert = stress_revert, .save = stress_save, .reconcile = stress_reconcile, .describe = stress_describe,
    .free_cfg = stress_cfg_free, .free_state = state_free,
};
