/* process.c -- the process probe: is a local process alive, stopped or gone (by target,
 * pid, pidfile, command line or managed service). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"
#include "probe.h"
#include "process.h"

enum proc_expect { PE_ALIVE, PE_DEAD, PE_STOPPED };

struct pprobe_cfg {
    char *target;            /* a process target of the plan, or NULL */
    const struct target *tgt; /* it, resolved at plan load (NULL: none of that name) */
    struct proc_sel sel;     /* used when target is NULL */
    enum proc_expect expect;
};

static const struct param_spec pprobe_params[] = {
    { "target", PT_TARGET, 0, "a process target of the plan (instead of pid/pidfile/match/service)" },
    PROC_SEL_PARAMS,
    { "expect", PT_STR, 0, "alive (running, not stopped), dead (no such process) or stopped (default alive)" },
    { 0 },
};

static const char *const expect_names[] = { "alive", "dead", "stopped" };

static int pprobe_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg,
                        struct diag *d)
{
    /* named as plan.c names probes: name:, else "process@<line>" */
    char what[160];
    const char *name = entry ? node_str(entry, "name", NULL) : NULL;
    if (name) snprintf(what, sizeof what, "probe '%s'", name);
    else snprintf(what, sizeof what, "probe 'process@%d'", entry ? entry->line : val ? val->line : 0);
    if (!val || val->type != NODE_MAP) {
        diag_add(d, val, "%s: expected a map like { pid: N, expect: alive }", what);
        return -1;
    }
    struct pprobe_cfg *c = fl_calloc(1, sizeof *c);
    const char *ex = param_str(val, "expect", "alive");
    size_t i;
    for (i = 0; i < 3; i++)
        if (strcmp(ex, expect_names[i]) == 0) break;
    if (i == 3) {
        diag_add(d, node_get(val, "expect"), "%s: expect must be alive, dead or stopped, not '%s'", what, ex);
        free(c);
        return -1;
    }
    c->expect = (enum proc_expect)i;
    const char *t = param_str(val, "target", NULL);
    if (t) {
        static const char *const sel_keys[] = { "pid", "pidfile", "match", "match_substring", "service" };
        for (size_t k = 0; k < sizeof sel_keys / sizeof sel_keys[0]; k++)
            if (node_get(val, sel_keys[k])) {
                diag_add(d, node_key(val, sel_keys[k]), "%s: give target: or %s:, not both", what, sel_keys[k]);
                free(c);
                return -1;
            }
        const struct target *tg = drv_target(pc, t);
        if (tg && tg->ops != &target_process) {
            diag_add(d, node_get(val, "target"), "%s: target '%s' is a %s target, not a process", what, t,
                     tg->ops ? tg->ops->name : "?");
            free(c);
            return -1;
        }
        c->target = fl_strdup(t);
        c->tgt = tg;
    } else if (proc_sel_parse(val, &c->sel, what, d) < 0) {
        free(c);
        return -1;
    } else if (c->sel.kind == PROC_SEL_SERVICE && pc) {
        /* services: is parsed before probes, so the name can be checked here */
        if (!drv_has_service(pc, c->sel.text)) {
            diag_add(d, node_get(val, "service"), "%s: no service named '%s' in services:", what, c->sel.text);
            proc_sel_release(&c->sel);
            free(c);
            return -1;
        }
    }
    *cfg = c;
    return 0;
}

static int pprobe_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct pprobe_cfg *c = pi->cfg;
    const struct proc_sel *sel = &c->sel;
    if (c->target) {
        sel = proc_target_sel(c->tgt);
        if (!sel) return fl_err(err, "no process target '%s'", c->target);
    }
    struct proc_id *ids;
    size_t n;
    char why[FL_ERR_LEN];
    if (proc_resolve(sel, pi->ctx, &ids, &n, why) < 0)
        return fl_err(err, "%s", why);
    size_t stopped = 0, running = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i].state == 'T' || ids[i].state == 't') stopped++;
        else running++;
    }
    obs->has_value = 1;
    obs->value = (double)n;
    int ok = 0;
    switch (c->expect) {
    case PE_ALIVE: ok = n > 0 && stopped == 0; break;
    case PE_DEAD: ok = n == 0; break;
    case PE_STOPPED: ok = n > 0 && running == 0; break;
    }
    obs->outcome = ok ? PROBE_PASSED : PROBE_FAILED;
    if (n == 0) snprintf(obs->observed, sizeof obs->observed, "dead: %.480s", why);
    else if (n == 1)
        snprintf(obs->observed, sizeof obs->observed, "pid %d %s (state %c)", (int)ids[0].pid,
                 stopped ? "stopped" : "alive", ids[0].state);
    else
        snprintf(obs->observed, sizeof obs->observed, "%zu processes: %zu alive, %zu stopped (pids %d, %d%s)", n,
                 running, stopped, (int)ids[0].pid, (int)ids[1].pid, n > 2 ? ", ..." : "");
    free(ids);
    return 0;
}

static void pprobe_describe(const void *cfg, struct buf *out)
{
    const struct pprobe_cfg *c = cfg;
    buf_adds(out, "process ");
    if (c->target) buf_addf(out, "target '%s'", c->target);
    else proc_sel_describe(&c->sel, out);
    buf_addf(out, " is %s", expect_names[c->expect]);
}

static void pprobe_free(void *cfg)
{
    struct pprobe_cfg *c = cfg;
    if (!c) return;
    free(c->target);
    proc_sel_release(&c->sel);
    free(c);
}

const struct probe_ops probe_process = {
    .name = "process",
    .summary = "a local process is alive, stopped or dead (by target, pid, pidfile, command line, service)",
    .params = pprobe_params,
    .parse = pprobe_parse,
    .check = pprobe_check,
    .describe = pprobe_describe,
    .free_cfg = pprobe_free,
};
