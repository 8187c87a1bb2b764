/* container.c -- probe `container`: the state of a docker target's containers
 * (running / paused / exited / healthy, exit code, restart count) through the Engine API.
 *
 *   - container: { target: db, expect: running, max_restarts: 0 }
 * Every container of the target must meet every given expectation. Returns -1 (could not
 * check) when the daemon cannot be asked; a container that no longer exists is an answer
 * ("missing") that fails the expectation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "probe.h"
#include "target.h"
#include "value.h"

enum ct_expect { CT_RUNNING, CT_PAUSED, CT_EXITED, CT_HEALTHY, CT_STOPPED, CT_ANY };
static const char *const expect_names[] = { "running", "paused", "exited", "healthy", "stopped", NULL };

struct ct_cfg {
    char *target;
    const struct target *tgt;   /* resolved at plan load (the plan owns it) */
    enum ct_expect expect;
    int has_exit_code;
    int exit_code;
    int has_max_restarts;
    int max_restarts;
    /* memory: "< 512MiB" (the peak in the window) or "grew < 10%" (the peak over the median
     * of the window before the first fault); cpu: "< 80%" (the mean share of one core) */
    int has_mem, mem_grew;
    enum exp_op mem_op;
    double mem_val;          /* bytes, or a fraction for grew */
    char *mem_text;
    int has_cpu;
    enum exp_op cpu_op;
    double cpu_val;          /* percent of one core */
    char *cpu_text;
};

struct ct_state {
    struct docker_client client;
    int client_ready;
    char **ids, **names;    /* resolved here when the target was not opened */
    size_t n;
};

static const struct param_spec container_params[] = {
    { "target", PT_TARGET, PARAM_REQUIRED, "a docker target of the plan" },
    { "expect", PT_STR, 0, "running (default), paused, exited, stopped (= not running), or healthy" },
    { "exit_code", PT_INT, 0, "the containers exited with this status" },
    { "max_restarts", PT_INT, 0, "restart count at most this (the daemon's RestartCount)" },
    { "memory", PT_STR, 0, "the peak memory in the window: \"< 512MiB\", or \"grew < 10%\" over the median before the first fault" },
    { "cpu", PT_STR, 0, "the mean CPU share in the window, percent of one core: \"< 80%\"" },
    { 0 },
};

static void ct_free_cfg(void *p)
{
    struct ct_cfg *c = p;
    if (!c) return;
    free(c->target);
    free(c->mem_text);
    free(c->cpu_text);
    free(c);
}

static int parse_op(const char *s, enum exp_op *op)
{
    static const struct { const char *t; enum exp_op op; } ops[] = {
        { "<=", EXP_LE }, { ">=", EXP_GE }, { "==", EXP_EQ }, { "!=", EXP_NE }, { "<", EXP_LT }, { ">", EXP_GT } };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (!strncmp(s, ops[i].t, strlen(ops[i].t))) { *op = ops[i].op; return (int)strlen(ops[i].t); }
    return 0;
}

static int cmp_op(enum exp_op op, double a, double b)
{
    switch (op) {
    case EXP_LT: return a < b;
    case EXP_LE: return a <= b;
    case EXP_GT: return a > b;
    case EXP_GE: return a >= b;
    case EXP_EQ: return a == b;
    case EXP_NE: return a != b;
    }
    return 0;
}

/* "< 512MiB" / "grew < 10%" / cpu "< 80%" */
static int parse_res_expect(const char *text, int is_cpu, int *grew, enum exp_op *op, double *val, char *err)
{
    const char *p = text;
    while (*p == ' ') p++;
    *grew = 0;
    if (!is_cpu && !strncmp(p, "grew", 4) && (p[4] == ' ' || p[4] == '<' || p[4] == '>')) {
        *grew = 1;
        p += 4;
        while (*p == ' ') p++;
    }
    int n = parse_op(p, op);
    if (!n)
        return fl_err(err, "'%s' is not a comparison like %s", text,
                      is_cpu ? "\"< 80%\"" : "\"< 512MiB\" or \"grew < 10%\"");
    p += n;
    while (*p == ' ') p++;
    if (is_cpu || *grew) {
        double f;
        if (!strchr(p, '%')) return fl_err(err, "'%s': write the share as a percentage (like 10%%)", text);
        if (val_percent(p, &f, 0, err) < 0) return -1;
        *val = is_cpu ? f * 100.0 : f;
        return 0;
    }
    int64_t b;
    if (val_bytes(p, &b, err) < 0) return -1;
    *val = (double)b;
    return 0;
}

static int ct_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **out, struct diag *d)
{
    (void)entry;
    struct ct_cfg *c = fl_calloc(1, sizeof *c);
    int bad = 0;
    const char *tn = param_str(val, "target", NULL);
    c->target = fl_strdup(tn ? tn : "");
    const struct target *t = c->tgt = drv_target(pc, c->target);
    if (t && t->ops && strcmp(t->ops->name, "docker") != 0) {
        diag_add(d, node_get(val, "target"), "container probe: target '%s' is a %s target, not docker", c->target,
                 t->ops->name);
        bad++;
    }
    const char *ex = param_str(val, "expect", NULL);
    c->expect = ex ? CT_ANY : CT_RUNNING;
    if (ex) {
        int found = 0;
        for (int i = 0; expect_names[i]; i++)
            if (strcmp(expect_names[i], ex) == 0) c->expect = (enum ct_expect)i, found = 1;
        if (!found) {
            diag_add(d, node_get(val, "expect"),
                     "container probe: expect: '%s' is not one of running, paused, exited, stopped, healthy", ex);
            bad++;
        }
    }
    if (node_get(val, "exit_code")) {
        c->has_exit_code = 1;
        c->exit_code = (int)param_int(val, "exit_code", 0);
        if (!ex) c->expect = CT_ANY; /* exit_code alone implies it exited; checked below */
    }
    if (node_get(val, "max_restarts")) {
        c->has_max_restarts = 1;
        c->max_restarts = (int)param_int(val, "max_restarts", 0);
        if (c->max_restarts < 0) {
            diag_add(d, node_get(val, "max_restarts"), "container probe: max_restarts must be >= 0");
            bad++;
        }
    }
    const char *mem = param_str(val, "memory", NULL), *cpu = param_str(val, "cpu", NULL);
    char err[FL_ERR_LEN];
    if (mem) {
        c->has_mem = 1;
        c->mem_text = fl_strdup(mem);
        if (parse_res_expect(mem, 0, &c->mem_grew, &c->mem_op, &c->mem_val, err) < 0) {
            diag_add(d, node_get(val, "memory"), "container probe: memory: %s", err);
            bad++;
        }
    }
    if (cpu) {
        int g;
        c->has_cpu = 1;
        c->cpu_text = fl_strdup(cpu);
        if (parse_res_expect(cpu, 1, &g, &c->cpu_op, &c->cpu_val, err) < 0) {
            diag_add(d, node_get(val, "cpu"), "container probe: cpu: %s", err);
            bad++;
        }
    }
    if (bad) {
        ct_free_cfg(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void ct_free_state(void *p)
{
    struct ct_state *s = p;
    if (!s) return;
    if (s->client_ready) docker_client_release(&s->client);
    param_strv_free(s->ids);
    param_strv_free(s->names);
    free(s);
}

static int is_stopped(enum docker_run_state s) { return s == DS_EXITED || s == DS_CREATED || s == DS_DEAD; }

static int meets(const struct ct_cfg *c, const struct docker_cstate *st)
{
    int ok = 1;
    switch (c->expect) {
    case CT_RUNNING: ok = st->state == DS_RUNNING; break;
    case CT_PAUSED: ok = st->state == DS_PAUSED; break;
    case CT_EXITED:
    case CT_STOPPED: ok = is_stopped(st->state); break;
    case CT_HEALTHY: ok = st->state == DS_RUNNING && strcmp(st->health, "healthy") == 0; break;
    case CT_ANY: break;
    }
    if (c->has_exit_code) ok = ok && is_stopped(st->state) && st->exit_code == c->exit_code;
    if (c->has_max_restarts) ok = ok && st->restart_count <= c->max_restarts;
    return ok;
}

static void describe_state(const struct docker_cstate *st, struct buf *out)
{
    buf_adds(out, docker_state_name(st->state));
    if (st->health[0]) buf_addf(out, ", %s", st->health);
    if (is_stopped(st->state) && st->state != DS_CREATED) buf_addf(out, " (exit code %d, restarts %d)", st->exit_code, st->restart_count);
    else buf_addf(out, " (restarts %d)", st->restart_count);
}

static void add_bytes(struct buf *o, double b)
{
    if (b >= 1024.0 * 1024 * 1024) buf_addf(o, "%.2fGiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024) buf_addf(o, "%.1fMiB", b / (1024.0 * 1024));
    else buf_addf(o, "%.0fKiB", b / 1024.0);
}

/* the memory/cpu expectations of one container over the probe's window (no window: the last
 * two seconds); -1 when the samples cannot say (none in the window, none before the fault) */
static int res_check(struct probe_inst *pi, const struct ct_cfg *c, const char *id, const char *name, struct buf *o,
                     int *ok, double *value, char *err)
{
    const struct drv_ctx *ctx = pi->ctx;
    int64_t from = pi->win_from_ms, to = pi->win_to_ms;
    if (to >= 0 && to <= from) { /* no window of its own: what the last samples say */
        to = ctx ? drv_now_ms(ctx) : 0;
        from = to - 2000;
    }
    struct drv_res_window w;
    if (drv_res_window(ctx, id, from, to, &w) < 0)
        return fl_err(err, "no resource samples of '%s': faultline samples the containers of the plan's docker targets during a run", name);
    if (!w.samples)
        return fl_err(err, "no resource sample of '%s' in %.1f..%.1fs (stats come once a second from a running container)",
                      name, from / 1000.0, to < 0 ? (ctx ? drv_now_ms(ctx) : 0) / 1000.0 : to / 1000.0);
    if (c->has_mem) {
        buf_adds(o, ", memory peak ");
        add_bytes(o, w.mem_max);
        if (c->mem_grew) {
            if (!w.base_samples || !(w.mem_base_median > 0))
                return fl_err(err, "memory of '%s': no sample in the window before the first fault to compare with", name);
            double g = (w.mem_max - w.mem_base_median) / w.mem_base_median;
            buf_addf(o, ", grew %+.1f%% from ", g * 100);
            add_bytes(o, w.mem_base_median);
            if (!cmp_op(c->mem_op, g, c->mem_val)) *ok = 0, buf_addf(o, " (not %s)", c->mem_text);
            *value = w.mem_max;
        } else {
            if (!cmp_op(c->mem_op, w.mem_max, c->mem_val)) *ok = 0, buf_addf(o, " (not %s)", c->mem_text);
            *value = w.mem_max;
        }
    }
    if (c->has_cpu) {
        if (isnan(w.cpu_avg))
            return fl_err(err, "cpu of '%s': fewer than two samples in the window", name);
        buf_addf(o, ", cpu %.1f%%", w.cpu_avg);
        if (!cmp_op(c->cpu_op, w.cpu_avg, c->cpu_val)) *ok = 0, buf_addf(o, " (not %s)", c->cpu_text);
        if (!c->has_mem) *value = w.cpu_avg;
    }
    buf_addf(o, " over %zu samples", w.samples);
    return 0;
}

static int ct_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct ct_cfg *c = pi->cfg;
    const struct target *t = c->tgt;
    if (!t || !t->ops || strcmp(t->ops->name, "docker") != 0 || !t->cfg)
        return fl_err(err, "container probe: no docker target '%s'", c->target);
    const struct docker_target *dt = t->cfg;
    struct ct_state *s = pi->state;
    if (!s) pi->state = s = fl_calloc(1, sizeof *s);
    if (!s->client_ready) { /* our own connection: a fault may be busy on the target's */
        if (docker_client_init_tls(&s->client, dt->host, dt->cert_path, dt->tls_verify, err) < 0) return -1;
        s->client_ready = 1;
    }
    char *const *ids = dt->ids, *const *names = dt->names;
    size_t n = dt->n;
    if (!n) {
        if (!s->n && docker_target_resolve(t, &s->client, drv_seed(pi->ctx), drv_require_label(pi->ctx), &s->ids,
                                           &s->names, &s->n, err) < 0)
            return -1;
        ids = s->ids, names = s->names, n = s->n;
    }
    struct buf o;
    buf_init(&o, sizeof obs->observed);
    int all_ok = 1;
    int64_t t0 = fl_now_ns();
    for (size_t i = 0; i < n; i++) {
        struct docker_cstate st;
        char e[FL_ERR_LEN];
        if (n > 1) buf_addf(&o, "%s%s: ", i ? "; " : "", names[i]);
        if (docker_inspect(&s->client, ids[i], &st, NULL, e) < 0) {
            if (strncmp(e, "docker: 404", 11) == 0) { /* the daemon answered: it is gone */
                buf_adds(&o, "missing");
                all_ok = 0;
                continue;
            }
            buf_release(&o);
            return fl_err(err, "cannot inspect '%s' of target '%s': %s", names[i], c->target, e);
        }
        describe_state(&st, &o);
        if (!meets(c, &st)) all_ok = 0;
        if (n == 1) {
            obs->has_value = 1;
            obs->value = st.restart_count;
        }
        if (c->has_mem || c->has_cpu) {
            double v = 0;
            if (res_check(pi, c, ids[i], names[i], &o, &all_ok, &v, err) < 0) {
                buf_release(&o);
                return -1;
            }
            if (n == 1) obs->value = v;
        }
    }
    obs->latency_ms = (double)(fl_now_ns() - t0) / 1e6;
    obs->outcome = all_ok ? PROBE_PASSED : PROBE_FAILED;
    snprintf(obs->observed, sizeof obs->observed, "%s", o.data);
    buf_release(&o);
    return 0;
}

static void ct_describe(const void *cfg, struct buf *out)
{
    const struct ct_cfg *c = cfg;
    buf_addf(out, "container '%s'", c->target);
    if (c->expect != CT_ANY) buf_addf(out, " is %s", expect_names[c->expect]);
    if (c->has_exit_code) buf_addf(out, ", exit code %d", c->exit_code);
    if (c->has_max_restarts) buf_addf(out, ", restarts <= %d", c->max_restarts);
    if (c->has_mem) buf_addf(out, ", memory %s", c->mem_text);
    if (c->has_cpu) buf_addf(out, ", cpu %s", c->cpu_text);
}

const struct probe_ops probe_container = {
    .name = "container",
    .summary = "state of a docker target's containers: running/paused/exited/healthy, exit code, restarts, memory, cpu",
    .params = container_params,
    .parse = ct_parse,
    .check = ct_check,
    .describe = ct_describe,
    .free_cfg = ct_free_cfg,
    .free_state = ct_free_state,
};
