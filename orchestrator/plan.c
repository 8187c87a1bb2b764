/* plan.c -- the plan model: YAML tree -> typed plan, with strict, complete validation.
 *
 * Order: parse YAML -> collect vars/secrets -> expand ${...} in every scalar -> top-level
 * keys -> targets -> services -> load -> method -> probes -> steady_state -> stop_when ->
 * rollback -> matrix. Every problem goes to the diag list with file:line:col; nothing here
 * does I/O except reading the plan file itself.
 */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "load.h"
#include "plan_names.h"
#include "suggest.h"

static const char *const top_keys[] = { "faultline", "name", "description", "tags", "duration", "seed", "vars",
                                        "secrets", "targets", "services", "load", "steady_state", "method",
                                        "probes", "stop_when", "rollback", "matrix", "max_faults",
                                        "require_label", "revert_timeout", "monitor", NULL };

static int in_list(const char *const *l, const char *s)
{
    for (size_t i = 0; l[i]; i++) if (!strcmp(l[i], s)) return 1;
    return 0;
}

static int valid_name(const char *s)
{
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-')) return 0;
    return 1;
}

static int valid_ident(const char *s)
{
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.')) return 0;
    return 1;
}

/* ---- variables --------------------------------------------------------------------- */
struct expander {
    struct plan *p;
    struct diag *d;
    const struct plan_opts *opts;
    const char *lose;        /* matrix binding text */
    const char *secret;      /* the secret whose value is being expanded, or NULL */
    int in_vars;             /* expanding a value under vars: (${confirm:...} is allowed) */
};

static const char *var_lookup(struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->nvars; i++) if (!strcmp(p->vars[i].name, name)) return p->vars[i].value;
    return NULL;
}

static int var_failed(struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->nvars; i++) if (!strcmp(p->vars[i].name, name)) return p->vars[i].failed;
    return 0;
}

/* expand ${...} in s; returns a new string, or NULL after adding a diag at `at` */
static char *expand(struct expander *x, const char *s, const struct node *at)
{
    if (!strchr(s, '$')) return fl_strdup(s);
    struct buf b;
    buf_init(&b, 1 << 20);
    const char *p = s;
    while (*p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') { buf_adds(&b, "${"); p += 3; continue; }
        if (p[0] != '$' || p[1] != '{') { buf_addc(&b, *p++); continue; }
        const char *end = strchr(p + 2, '}');
        if (!end) { diag_add(x->d, at, "unterminated '${' in '%s'", s); buf_release(&b); return NULL; }
        char ref[256];
        size_t rl = (size_t)(end - (p + 2));
        if (rl >= sizeof ref) { diag_add(x->d, at, "variable reference too long in '%s'", s); buf_release(&b); return NULL; }
        memcpy(ref, p + 2, rl);
        ref[rl] = '\0';
        if (!strncmp(ref, "env:", 4)) {
            char *name = ref + 4, *def = strstr(name, ":-");
            if (def) { *def = '\0'; def += 2; }
            const char *v = getenv(name);
            if (!v || (!*v && def)) {
                if (def) v = def;
                else {
                    if (x->secret)  /* never suggest writing a secret into the plan */
                        diag_add(x->d, at, "secret '%s': environment variable '%s' is not set: export %s=... in the "
                                 "environment of the run (a secret never belongs in the plan)", x->secret, name, name);
                    else
                        diag_add(x->d, at, "environment variable '%s' is not set: export it, or give a default with "
                                 "${env:%s:-value}", name, name);
                    buf_release(&b);
                    return NULL;
                }
            }
            buf_adds(&b, v);
        } else if (!strncmp(ref, "confirm:", 8)) {
            /* a value the user must confirm (a starter plan's SLO): it counts as written, and
             * plan_lint warns until the ${confirm:...} around it is removed */
            if (!x->in_vars) {
                diag_add(x->d, at, "'${%s}' is a placeholder to confirm: write it as a value under vars:", ref);
                buf_release(&b);
                return NULL;
            }
            buf_adds(&b, ref + 8);
        } else if (!strcmp(ref, "lose")) {
            if (!x->lose) { diag_add(x->d, at, "'${lose}' is only defined in a plan with a matrix"); buf_release(&b); return NULL; }
            buf_adds(&b, x->lose);
        } else {
            const char *v = var_lookup(x->p, ref);
            if (v && var_failed(x->p, ref)) { buf_release(&b); return NULL; } /* already reported */
            if (!v) {
                /* an acgme probe's defaults: write their per-row placeholders with braces only */
                int row = !strcmp(ref, "id") || !strcmp(ref, "n") || !strcmp(ref, "slot");
                diag_add(x->d, at, "undefined variable '%s' (define it under vars: or secrets:%s%s%s)", ref,
                         row ? "; in an acgme probe's defaults: the row's placeholder is {" : "", row ? ref : "",
                         row ? "}, without the $" : "");
                buf_release(&b);
                return NULL;
            }
            buf_adds(&b, v);
        }
        p = end + 1;
    }
    return buf_detach(&b);
}

static void expand_tree(struct expander *x, struct node *n, const struct node *skip1, const struct node *skip2)
{
    if (!n || n == skip1 || n == skip2) return;
    if (n->type == NODE_SCALAR) {
        char *e = expand(x, n->str, n);
        if (e) { free(n->str); n->str = e; }
        return;
    }
    for (size_t i = 0; i < n->n; i++) expand_tree(x, n->items[i], skip1, skip2);
}

static void collect_vars(struct expander *x, const struct node *map, int secret)
{
    struct plan *p = x->p;
    if (!map) return;
    if (map->type != NODE_MAP) { diag_add(x->d, map, "'%s' must be a mapping of name: value", secret ? "secrets" : "vars"); return; }
    for (size_t i = 0; i < map->n; i++) {
        const struct node *k = map->keys[i], *v = map->items[i];
        if (!valid_ident(k->str)) { diag_add(x->d, k, "variable name '%s' may hold only letters, digits, '_', '-', '.'", k->str); continue; }
        if (var_lookup(p, k->str)) { diag_add(x->d, k, "variable '%s' is defined twice", k->str); continue; }
        if (v->type != NODE_SCALAR) { diag_add(x->d, v, "variable '%s' must be a single value, not a %s", k->str, node_type_name(v->type)); continue; }
        x->secret = secret ? k->str : NULL;
        x->in_vars = !secret;
        char *val = expand(x, v->str, v);
        x->secret = NULL;
        x->in_vars = 0;
        if (!val) {
            /* keep the name so its uses do not each report it again */
            p->vars = fl_realloc(p->vars, (p->nvars + 1) * sizeof *p->vars);
            p->vars[p->nvars++] = (struct plan_var){ fl_strdup(k->str), fl_strdup(""), secret, 1 };
            continue;
        }
        const char *const *sv = x->opts ? x->opts->set_vars : NULL;
        for (size_t j = 0; sv && sv[j]; j++) {
            size_t kl = strlen(k->str);
            if (!strncmp(sv[j], k->str, kl) && sv[j][kl] == '=') { free(val); val = fl_strdup(sv[j] + kl + 1); }
        }
        p->vars = fl_realloc(p->vars, (p->nvars + 1) * sizeof *p->vars);
        p->vars[p->nvars++] = (struct plan_var){ fl_strdup(k->str), val, secret, 0 };
        if (secret) fl_secret_add(val);
    }
}

/* ---- helpers ------------------------------------------------------------------------ */
static int get_duration(const struct node *map, const char *key, int64_t *out, struct diag *d, const char *what)
{
    const struct node *v = node_get(map, key);
    char err[FL_ERR_LEN];
    if (!v) return 0;
    if (v->type != NODE_SCALAR) { diag_add(d, v, "%s: '%s' must be a duration, not a %s", what, key, node_type_name(v->type)); return -1; }
    if (val_duration_ms(v->str, out, err) < 0) { diag_add(d, v, "%s: %s", what, err); return -1; }
    return 1;
}

static const struct node *seq_or_err(const struct node *root, const char *key, struct diag *d)
{
    const struct node *v = node_get(root, key);
    if (v && v->type != NODE_SEQ) { diag_add(d, v, "'%s' must be a list, not a %s", key, node_type_name(v->type)); return NULL; }
    return v;
}

struct target *plan_target(const struct plan *p, const char *name)
{
    for (size_t i = 0; name && i < p->ntargets; i++) if (!strcmp(p->targets[i]->name, name)) return p->targets[i];
    return NULL;
}

struct service *plan_service(const struct plan *p, const char *name)
{
    for (size_t i = 0; name && i < p->nservices; i++) if (!strcmp(p->services[i]->name, name)) return p->services[i];
    return NULL;
}

void plan_service_names(const struct plan *p, struct buf *out)
{
    for (size_t i = 0; i < p->nservices; i++) buf_addf(out, "%s%s", i ? ", " : "", p->services[i]->name);
}

struct step *plan_step(const struct plan *p, const char *name)
{
    for (size_t i = 0; name && i < p->nsteps; i++) if (!strcmp(p->steps[i]->name, name)) return p->steps[i];
    return NULL;
}

struct lg_block_cfg *plan_load_block(const struct plan *p, const char *name)
{
    for (size_t i = 0; name && i < p->nloads; i++) if (!strcmp(lg_block_name(p->loads[i]), name)) return p->loads[i];
    return NULL;
}

/* ---- what the plan offers drivers' parse() (drv.h) ------------------------------------ */
static struct target *pc_target(void *plan, const char *name) { return plan_target(plan, name); }
static int pc_step(void *plan, const char *name) { return plan_step(plan, name) != NULL; }
static int pc_load_block(void *plan, const char *name) { return plan_load_block(plan, name) != NULL; }

static int pc_service(void *plan, const char *name) { return plan_service(plan, name) != NULL; }

static int pc_unknown(void *plan, enum drv_names what, const char *name, char *hint, size_t n)
{
    enum plan_names pw = what == DRV_TARGETS ? PLAN_TARGETS : what == DRV_STEPS ? PLAN_STEPS
                       : what == DRV_LOADS ? PLAN_LOADS : PLAN_SERVICES;
    if (plan_declares(plan, pw, name)) return 0;
    plan_names_hint(plan, pw, name, hint, n);
    return 1;
}

static struct probe_spec *pc_nested_probe(void *plan, const struct node *entry, struct diag *d)
{
    return plan_parse_probe(plan, entry, PT_RECOVERY_UNTIL, d);
}

struct drv_parse plan_drv_parse(struct plan *p)
{
    return (struct drv_parse){ .plan = p, .target = pc_target, .step = pc_step, .load_block = pc_load_block,
                               .service = pc_service, .nested_probe = pc_nested_probe, .unknown = pc_unknown };
}

static void known_list(char *out, size_t n, const char *const *names)
{
    out[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        strncat(out, i ? ", " : "", n - strlen(out) - 1);
        strncat(out, names[i], n - strlen(out) - 1);
    }
}

/* ---- targets ------------------------------------------------------------------------ */
static void parse_targets(struct plan *p, const struct node *map, struct diag *d)
{
    if (!map) return;
    if (map->type != NODE_MAP) { diag_add(d, map, "'targets' must be a mapping of name: { kind: {...} }"); return; }
    for (size_t i = 0; i < map->n; i++) {
        const struct node *k = map->keys[i], *v = map->items[i];
        if (!valid_name(k->str)) { diag_add(d, k, "target name '%s' may hold only a-z, 0-9 and '-'", k->str); continue; }
        if (v->type != NODE_MAP) { diag_add(d, v, "target '%s' must be a mapping like { docker: { container: NAME } }", k->str); continue; }
        const struct target_ops *ops = NULL;
        const struct node *spec = NULL;
        int bad = 0;
        for (size_t j = 0; j < v->n; j++) {
            const char *kk = v->keys[j]->str;
            if (!strcmp(kk, "pick")) continue;
            const struct target_ops *o = target_find(kk);
            if (!o) {
                char hint[512];
                const char *names[34];
                size_t n = 0;
                for (; target_kinds[n] && n < 32; n++) names[n] = target_kinds[n]->name;
                names[n++] = "pick";
                names[n] = NULL;
                suggest_hint(hint, sizeof hint, kk, names, "known");
                diag_add(d, v->keys[j], "target '%s': unknown kind '%s'%s", k->str, kk, hint);
                bad = 1;
                continue;
            }
            if (ops) { diag_add(d, v->keys[j], "target '%s' has two kinds ('%s' and '%s'): give it one", k->str, ops->name, kk); bad = 1; continue; }
            ops = o;
            spec = v->items[j];
        }
        if (bad) continue;
        if (!ops) { diag_add(d, v, "target '%s' names no kind (like docker:, proxy:, process:, postgres:, redis:)", k->str); continue; }
        struct target *t = fl_calloc(1, sizeof *t);
        t->name = fl_strdup(k->str);
        t->line = k->line;
        t->col = k->col;
        t->ops = ops;
        t->spec = spec;
        char what[128];
        snprintf(what, sizeof what, "target '%s' (%s)", k->str, ops->name);
        const struct node *pick = node_get(v, "pick");
        if (pick) {
            static const struct param_spec pick_params[] = {
                { "count", PT_INT, 0, "how many of the matches" },
                { "percent", PT_PERCENT, 0, "what share of the matches" },
                { "seed", PT_INT, 0, "seed of the reproducible choice" },
                { 0 } };
            if (params_check(pick, pick_params, NULL, "pick", d) == 0) {
                t->has_pick = 1;
                t->pick_count = (int)param_int(pick, "count", 0);
                t->pick_percent = param_percent(pick, "percent", 0);
                t->pick_seed_set = node_get(pick, "seed") != NULL;
                t->pick_seed = (uint64_t)param_int(pick, "seed", 0);
                if (!node_get(pick, "count") && !node_get(pick, "percent"))
                    diag_add(d, pick, "pick: give count: or percent:");
                else if (node_get(pick, "count") && node_get(pick, "percent"))
                    diag_add(d, pick, "pick: give count: or percent:, not both");
                else if (node_get(pick, "count") && t->pick_count < 1)
                    diag_add(d, node_get(pick, "count"), "pick: count must be at least 1");
            }
        }
        p->targets = fl_realloc(p->targets, (p->ntargets + 1) * sizeof *p->targets);
        p->targets[p->ntargets++] = t;
        struct drv_parse pc = plan_drv_parse(p);
        if (spec->type == NODE_MAP || !ops->params) {
            if (params_check(spec, ops->params, NULL, what, d) == 0 && ops->parse) ops->parse(&pc, t, spec, d);
        } else if (ops->parse) {
            ops->parse(&pc, t, spec, d);
        }
    }
}

/* ---- probes ------------------------------------------------------------------------- */
static const char *const probe_common[] = { "name", "before", "after", "during", "every", "for", "min_evidence", NULL };

/* the entry's kind (exactly one key names one); NULL after a diag */
static const struct probe_ops *probe_kind_of(const struct node *entry, enum probe_timing ctx_timing,
                                             const struct node **val, struct diag *d)
{
    const struct probe_ops *ops = NULL;
    const struct node *kindkey = NULL;
    for (size_t i = 0; i < entry->n; i++) {
        const char *k = entry->keys[i]->str;
        const struct probe_ops *o = probe_find(k);
        if (!o) continue;
        if (ops) { diag_add(d, entry->keys[i], "probe has two kinds ('%s' and '%s'): give it one", ops->name, k); return NULL; }
        ops = o;
        *val = entry->items[i];
        kindkey = entry->keys[i];
    }
    if (!ops) {
        char known[512];
        const char *names[32];
        size_t n = 0;
        for (; probe_kinds[n] && n < 31; n++) names[n] = probe_kinds[n]->name;
        names[n] = NULL;
        /* a key that is no setting of an entry is the misspelt kind: name it */
        const struct node *odd = NULL;
        for (size_t i = 0; i < entry->n && !odd; i++)
            if (!in_list(probe_common, entry->keys[i]->str) && strcmp(entry->keys[i]->str, "expect")) odd = entry->keys[i];
        if (odd) {
            suggest_hint(known, sizeof known, odd->str, names, "known kinds");
            diag_add(d, odd, "probe: unknown kind '%s'%s", odd->str, known);
        } else {
            known_list(known, sizeof known, names);
            diag_add(d, entry, "probe names no kind (known: %s)", known);
        }
        return NULL;
    }
    if (ops->scalar_valued && (ctx_timing == PT_STEADY || ctx_timing == PT_READY)) {
        diag_add(d, kindkey, "a %s probe judges a window of load, and %s is a single check: put it under probes: "
                 "(with before:/after: a step, or no timing for the whole run)", ops->name,
                 ctx_timing == PT_STEADY ? "a steady-state entry" : "a service's ready:");
        return NULL;
    }
    return ops;
}

/* the keys of the entry and of the kind's map (or, for `load: NAME`, beside it) */
static void probe_keys_check(const struct probe_ops *ops, const struct node *entry, const struct node *val,
                             const char *what, struct diag *d)
{
    const char *extra[16];
    size_t ne = 0;
    for (size_t i = 0; probe_common[i]; i++) extra[ne++] = probe_common[i];
    extra[ne++] = ops->name;
    extra[ne] = NULL;
    if (ops->scalar_valued) {
        if (val->type != NODE_SCALAR) diag_add(d, val, "%s: '%s' takes a name, not a %s", what, ops->name, node_type_name(val->type));
        params_check(entry, ops->params, extra, what, d);
    } else {
        for (size_t i = 0; i < entry->n; i++)
            if (!in_list(extra, entry->keys[i]->str))
                diag_add(d, entry->keys[i], "%s: unknown key '%s' (settings of a %s probe go inside '%s:')", what,
                         entry->keys[i]->str, ops->name, ops->name);
        if (val->type == NODE_MAP || ops->params) params_check(val, ops->params, NULL, what, d);
    }
}

/* a target: setting names a target of the plan (the nearest named when it does not) */
static void probe_targets_check(struct plan *p, const struct probe_ops *ops, const struct node *val, const char *what,
                                struct diag *d)
{
    for (size_t i = 0; ops->params && val->type == NODE_MAP && ops->params[i].name; i++) {
        const struct node *tv = ops->params[i].type == PT_TARGET ? node_get(val, ops->params[i].name) : NULL;
        if (tv && tv->type == NODE_SCALAR && !plan_target(p, tv->str) && !plan_declares(p, PLAN_TARGETS, tv->str)) {
            char hint[512];
            plan_names_hint(p, PLAN_TARGETS, tv->str, hint, sizeof hint);
            diag_add(d, tv, "%s: no target named '%s'%s", what, tv->str, hint);
        }
    }
}

/* before:/after:/during: a step (probes: only): its timing and window */
static void probe_timing_of(struct plan *p, struct probe_spec *ps, const struct node *entry, enum probe_timing ctx_timing,
                            const char *what, struct diag *d)
{
    const char *tkeys[] = { "before", "after", "during" };
    enum probe_timing tv[] = { PT_BEFORE, PT_AFTER, PT_DURING };
    int ntim = 0;
    for (int i = 0; i < 3; i++) {
        const struct node *tn = node_get(entry, tkeys[i]);
        if (!tn) continue;
        if (ctx_timing != PT_END) {
            diag_add(d, node_key(entry, tkeys[i]), "%s: '%s' is not allowed here (%s)", what, tkeys[i],
                     ctx_timing == PT_STEADY ? "steady-state checks run before the first fault and after the last revert"
                                             : "this probe's timing is set by where it is");
            continue;
        }
        if (++ntim > 1) { diag_add(d, node_key(entry, tkeys[i]), "%s: give one of before:, after:, during:", what); continue; }
        if (tn->type != NODE_SCALAR) { diag_add(d, tn, "%s: '%s' takes the name of a method step", what, tkeys[i]); continue; }
        ps->timing = tv[i];
        ps->window = plan_step(p, tn->str);
        if (!ps->window && !plan_declares(p, PLAN_STEPS, tn->str)) {
            char hint[512];
            plan_names_hint(p, PLAN_STEPS, tn->str, hint, sizeof hint);
            diag_add(d, tn, "%s: no method step named '%s'%s", what, tn->str, hint);
        } else if (ps->window) {
            ps->window_for_ms = ps->window->for_ms;
        }
    }
}

/* every:, min_evidence:, for: where they apply */
static void probe_options_of(struct probe_spec *ps, const struct node *entry, enum probe_timing ctx_timing,
                             const char *what, struct diag *d)
{
    if (node_get(entry, "every")) {
        int64_t ms = 0;
        if (get_duration(entry, "every", &ms, d, what) > 0) {
            if (ms < 10) diag_add(d, node_get(entry, "every"), "%s: every: must be at least 10ms", what);
            ps->every_ms = ms;
        }
        if (ps->timing != PT_DURING && ctx_timing != PT_STOP_WHEN && ctx_timing != PT_RECOVERY_UNTIL)
            diag_add(d, node_key(entry, "every"), "%s: every: only applies to a probe that runs during: a step", what);
    }
    const struct node *me = node_get(entry, "min_evidence");
    if (me) {
        char *end = NULL;
        long v = me->type == NODE_SCALAR && me->str ? strtol(me->str, &end, 10) : -1;
        if (ctx_timing == PT_RECOVERY_UNTIL || ctx_timing == PT_READY)
            diag_add(d, node_key(entry, "min_evidence"), "%s: min_evidence: applies to probes, steady-state checks and "
                     "stop conditions, not to %s", what, ctx_timing == PT_READY ? "a service's ready:" : "a recovery's until:");
        else if (!end || *end || end == me->str || v < 0 || v > 1000000000L)
            diag_add(d, me, "%s: min_evidence: takes a whole number from 0 (a probe that may see nothing) up", what);
        else ps->min_evidence = v;
    }
    if (node_get(entry, "for")) {
        if (ctx_timing != PT_STOP_WHEN) diag_add(d, node_key(entry, "for"), "%s: for: only applies to stop_when conditions", what);
        else get_duration(entry, "for", &ps->for_ms, d, what);
    }
}

struct probe_spec *plan_parse_probe(struct plan *p, const struct node *entry, enum probe_timing ctx_timing,
                                    struct diag *d)
{
    if (!entry || entry->type != NODE_MAP) {
        diag_add(d, entry, "a probe must be a mapping like { http: { url: ... } }");
        return NULL;
    }
    size_t before = d->n;
    const struct node *val = NULL;
    const struct probe_ops *ops = probe_kind_of(entry, ctx_timing, &val, d);
    if (!ops) return NULL;
    struct probe_spec *ps = fl_calloc(1, sizeof *ps);
    ps->ops = ops;
    ps->line = entry->line;
    ps->col = entry->col;
    ps->timing = ctx_timing;
    ps->every_ms = 1000;
    ps->window_for_ms = -1;
    ps->min_evidence = 1;
    const char *name = node_str(entry, "name", NULL);
    ps->name = name ? fl_strdup(name) : fl_asprintf("%s@%d", ops->name, entry->line);
    char what[160];
    snprintf(what, sizeof what, "probe '%s'", ps->name);
    probe_keys_check(ops, entry, val, what, d);
    probe_targets_check(p, ops, val, what, d);
    probe_timing_of(p, ps, entry, ctx_timing, what, d);
    probe_options_of(ps, entry, ctx_timing, what, d);
    if (d->n == before && ops->parse) {
        struct drv_parse pc = plan_drv_parse(p);
        if (ops->parse(&pc, val, entry, &ps->cfg, d) < 0 && d->n == before)
            diag_add(d, entry, "%s: invalid", what);
    }
    if (ops->window_step && d->n == before) {
        /* a recovery probe's window is its from: step */
        if (ps->timing != PT_END) diag_add(d, entry, "%s: a %s probe takes its window from from:, not before/after/during", what, ops->name);
        ps->window = plan_step(p, ops->window_step(ps->cfg));
        if (ps->window) ps->window_for_ms = ps->window->for_ms;
    }
    if (d->n != before) { probe_spec_free(ps); return NULL; }
    return ps;
}

static void parse_probe_list(struct plan *p, const struct node *seq, enum probe_timing t, struct probe_spec ***out,
                             size_t *n, struct diag *d)
{
    if (!seq) return;
    for (size_t i = 0; i < seq->n; i++) {
        struct probe_spec *ps = plan_parse_probe(p, seq->items[i], t, d);
        if (!ps) continue;
        for (size_t j = 0; j < *n; j++)
            if (!strcmp((*out)[j]->name, ps->name) && node_get(seq->items[i], "name")) {
                diag_add(d, node_get(seq->items[i], "name"), "probe name '%s' is used twice", ps->name);
                break;
            }
        *out = fl_realloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = ps;
    }
}

/* ---- services ----------------------------------------------------------------------- */
static void parse_services(struct plan *p, const struct node *seq, struct diag *d)
{
    static const struct param_spec svc_params[] = {
        { "name", PT_STR, PARAM_REQUIRED, "name of the managed process" },
        { "run", PT_ARGV, PARAM_REQUIRED, "command to start it (argv list or shell string)" },
        { "env", PT_MAP, 0, "extra environment variables" },
        { "cwd", PT_STR, 0, "working directory" },
        { "ready", PT_MAP, 0, "a probe that passes when it is ready, plus within:" },
        { "stop_timeout", PT_DURATION, 0, "SIGTERM, then SIGKILL after this (default 5s)" },
        { 0 } };
    if (!seq) return;
    for (size_t i = 0; i < seq->n; i++) {
        const struct node *e = seq->items[i];
        const char *nm = node_str(e, "name", "service");
        char what[128];
        snprintf(what, sizeof what, "service '%s'", nm);
        if (params_check(e, svc_params, NULL, what, d)) continue;
        if (!valid_name(nm)) { diag_add(d, node_get(e, "name"), "service name '%s' may hold only a-z, 0-9 and '-'", nm); continue; }
        struct service *s = fl_calloc(1, sizeof *s);
        s->name = fl_strdup(nm);
        s->line = e->line;
        s->col = e->col;
        s->run = param_argv(e, "run");
        s->cwd = node_str(e, "cwd", NULL) ? fl_strdup(node_str(e, "cwd", NULL)) : NULL;
        s->stop_timeout_ms = param_ms(e, "stop_timeout", 5000);
        s->ready_within_ms = 30000;
        const struct node *env = node_get(e, "env");
        if (env) {
            s->env = fl_calloc(env->n + 1, sizeof *s->env);
            for (size_t j = 0; j < env->n; j++) {
                if (env->items[j]->type != NODE_SCALAR) { diag_add(d, env->items[j], "%s: env values must be text", what); continue; }
                s->env[j] = fl_asprintf("%s=%s", env->keys[j]->str, env->items[j]->str);
            }
        }
        const struct node *ready = node_get(e, "ready");
        if (ready) {
            /* ready: { http: {...}, within: 20s } -- within: is ours, the rest a probe */
            struct node tmp = *ready;
            struct node *keys[16], *items[16];
            size_t m = 0;
            for (size_t j = 0; j < ready->n && m < 16; j++) {
                if (!strcmp(ready->keys[j]->str, "within")) { get_duration(ready, "within", &s->ready_within_ms, d, what); continue; }
                keys[m] = ready->keys[j];
                items[m++] = ready->items[j];
            }
            tmp.n = m;
            tmp.keys = keys;
            tmp.items = items;
            s->ready = ready;
            s->ready_probe = plan_parse_probe(p, &tmp, PT_READY, d);
        }
        for (size_t j = 0; j < p->nservices; j++)
            if (!strcmp(p->services[j]->name, s->name)) diag_add(d, node_get(e, "name"), "service '%s' is defined twice", s->name);
        p->services = fl_realloc(p->services, (p->nservices + 1) * sizeof *p->services);
        p->services[p->nservices++] = s;
    }
}

/* ---- method ------------------------------------------------------------------------- */
static const char *const step_common[] = { "name", "at", "fault", "target", "for", "probability", NULL };

static void free_step(struct step *s)
{
    if (!s) return;
    if (s->ops && s->ops->free_cfg && s->cfg) s->ops->free_cfg(s->cfg);
    free(s->name);
    free(s);
}

static void parse_method(struct plan *p, const struct node *seq, struct diag *d)
{
    if (!seq) return;
    for (size_t i = 0; i < seq->n; i++) {
        const struct node *e = seq->items[i];
        if (e->type != NODE_MAP) { diag_add(d, e, "a method step must be a mapping with at:, fault: and target:"); continue; }
        size_t before = d->n;
        const struct node *fk = node_get(e, "fault");
        const struct fault_ops *ops = NULL;
        if (!fk) diag_add(d, e, "method step: missing required key 'fault' (the fault kind, see `faultline list`)");
        else if (fk->type != NODE_SCALAR) diag_add(d, fk, "method step: 'fault' must be a fault kind name");
        else if (!(ops = fault_find(fk->str))) {
            char hint[1024];
            const char *names[64];
            size_t n = 0;
            for (; fault_kinds[n] && n < 63; n++) names[n] = fault_kinds[n]->name;
            names[n] = NULL;
            suggest_hint(hint, sizeof hint, fk->str, names, "known");
            diag_add(d, fk, "unknown fault kind '%s'%s", fk->str, hint);
        }
        struct step *s = fl_calloc(1, sizeof *s);
        s->line = e->line;
        s->col = e->col;
        s->ops = ops;
        s->for_ms = -1;
        s->probability = 1.0;
        s->index = (int)p->nsteps;
        const char *tname = node_str(e, "target", NULL);
        const char *nm = node_str(e, "name", NULL);
        s->name = nm ? fl_strdup(nm) : fl_asprintf("%s@%s", fk && fk->type == NODE_SCALAR ? fk->str : "fault", tname ? tname : "none");
        char what[160];
        snprintf(what, sizeof what, "step '%s'", s->name);
        if (ops) params_check(e, ops->params, step_common, what, d);
        if (!node_get(e, "at")) diag_add(d, e, "%s: missing required key 'at' (offset from load start, like 30s)", what);
        else get_duration(e, "at", &s->at_ms, d, what);
        get_duration(e, "for", &s->for_ms, d, what);
        if (node_get(e, "for") && s->for_ms == 0) diag_add(d, node_get(e, "for"), "%s: for: must be above zero", what);
        const struct node *pr = node_get(e, "probability");
        if (pr) {
            char err[FL_ERR_LEN];
            if (pr->type != NODE_SCALAR || val_percent(pr->str, &s->probability, 1, err) < 0)
                diag_add(d, pr, "%s: probability must be between 0 and 1 (or 0%%..100%%)", what);
        }
        const struct node *tn = node_get(e, "target");
        if (ops && ops->target_kind) {
            if (!tn) diag_add(d, e, "%s: fault '%s' needs a target: (a %s target)", what, ops->name, ops->target_kind);
            else if (tn->type != NODE_SCALAR) diag_add(d, tn, "%s: target: takes a target name", what);
            else if (!(s->target = plan_target(p, tn->str))) {
                if (!plan_declares(p, PLAN_TARGETS, tn->str)) { /* else its own error is reported */
                    char hint[512];
                    plan_names_hint(p, PLAN_TARGETS, tn->str, hint, sizeof hint);
                    diag_add(d, tn, "%s: no target named '%s'%s", what, tn->str, hint);
                }
            } else if (strcmp(s->target->ops->name, ops->target_kind))
                diag_add(d, tn, "%s: fault '%s' acts on a %s target, but '%s' is a %s target", what, ops->name,
                         ops->target_kind, tn->str, s->target->ops->name);
        } else if (ops && tn) {
            diag_add(d, node_key(e, "target"), "%s: fault '%s' takes no target", what, ops->name);
        }
        if (ops && ops->revert == NULL && node_get(e, "for"))
            diag_add(d, node_key(e, "for"), "%s: fault '%s' cannot be reverted, so for: has no meaning", what, ops->name);
        if (nm && plan_step(p, nm)) diag_add(d, node_get(e, "name"), "step name '%s' is used twice", nm);
        else if (!nm && plan_step(p, s->name)) {
            char *n2 = fl_asprintf("%s#%zu", s->name, i + 1);
            free(s->name);
            s->name = n2;
        }
        if (p->duration_ms > 0 && s->at_ms >= p->duration_ms)
            diag_add(d, node_get(e, "at"), "%s: at: %lldms is not before the end of the experiment (duration %lldms)", what,
                     (long long)s->at_ms, (long long)p->duration_ms);
        if (d->n == before && ops && ops->parse) {
            struct drv_parse pc = plan_drv_parse(p);
            if (ops->parse(&pc, e, &s->cfg, d) < 0 && d->n == before) diag_add(d, e, "%s: invalid", what);
        }
        p->steps = fl_realloc(p->steps, (p->nsteps + 1) * sizeof *p->steps);
        p->steps[p->nsteps++] = s;
    }
}

/* ---- rollback and matrix ------------------------------------------------------------ */
static void parse_rollback(struct plan *p, const struct node *seq, struct diag *d)
{
    static const struct param_spec exec_params[] = {
        { "run", PT_ARGV, PARAM_REQUIRED, "command (argv list or shell string)" },
        { "timeout", PT_DURATION, 0, "kill it after this long (default 60s)" },
        { 0 } };
    static const char *const rb_keys[] = { "exec", NULL };
    static const struct param_spec none[] = { { 0 } };
    if (!seq) return;
    for (size_t i = 0; i < seq->n; i++) {
        const struct node *e = seq->items[i];
        if (params_check(e, none, rb_keys, "rollback step", d)) continue;
        const struct node *x = node_get(e, "exec");
        if (!x) { diag_add(d, e, "rollback step: give exec: { run: [...] }"); continue; }
        if (params_check(x, exec_params, NULL, "rollback exec", d)) continue;
        struct rollback_action *a = fl_calloc(1, sizeof *a);
        a->run = param_argv(x, "run");
        a->timeout_ms = param_ms(x, "timeout", 60000);
        a->line = e->line;
        a->col = e->col;
        p->rollback = fl_realloc(p->rollback, (p->nrollback + 1) * sizeof *p->rollback);
        p->rollback[p->nrollback++] = a;
    }
}

static void parse_matrix_early(struct plan *p, const struct node *m, struct diag *d)
{
    static const struct param_spec mparams[] = {
        { "lose", PT_STRLIST, PARAM_REQUIRED, "target names to lose, in turn" },
        { "choose", PT_INT, 0, "1 = every single loss (N-1), 2 = every pair (N-2)" },
        { 0 } };
    if (!m) return;
    if (params_check(m, mparams, NULL, "matrix", d)) return;
    char **lose = param_strv(m, "lose");
    p->nmatrix_lose = param_strv_len(lose);
    p->matrix_lose = lose;
    p->matrix_choose = (int)param_int(m, "choose", 1);
    if (p->matrix_choose < 1 || (size_t)p->matrix_choose > p->nmatrix_lose)
        diag_add(d, node_get(m, "choose") ? node_get(m, "choose") : m, "matrix: choose must be between 1 and the number of targets in lose (%zu)", p->nmatrix_lose);
}

static void check_matrix_targets(struct plan *p, const struct node *m, struct diag *d)
{
    const struct node *l = node_get(m, "lose");
    for (size_t i = 0; i < p->nmatrix_lose; i++)
        if (!plan_target(p, p->matrix_lose[i]) && !plan_declares(p, PLAN_TARGETS, p->matrix_lose[i])) {
            char hint[512];
            plan_names_hint(p, PLAN_TARGETS, p->matrix_lose[i], hint, sizeof hint);
            diag_add(d, l && l->type == NODE_SEQ && i < l->n ? l->items[i] : l, "matrix: no target named '%s'%s",
                     p->matrix_lose[i], hint);
        }
}

static char *hash_bytes(const char *b, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)b[i]; h *= 1099511628211ULL; }
    return fl_asprintf("fnv1a64:%016llx", (unsigned long long)h);
}

/* deep copy of a node (used to replicate matrix steps) */
static struct node *node_dup(const struct node *n)
{
    struct node *c = fl_calloc(1, sizeof *c);
    *c = *n;
    c->str = n->str ? fl_strdup(n->str) : NULL;
    c->items = n->n ? fl_calloc(n->n, sizeof *c->items) : NULL;
    c->keys = n->keys && n->n ? fl_calloc(n->n, sizeof *c->keys) : NULL;
    for (size_t i = 0; i < n->n; i++) {
        c->items[i] = node_dup(n->items[i]);
        if (n->keys) c->keys[i] = node_dup(n->keys[i]);
    }
    return c;
}

/* replicate each method step whose target is "${lose}" once per lost target (before expansion) */
static void replicate_lose_steps(struct node *method, char **lost, size_t nlost)
{
    if (!method || method->type != NODE_SEQ || nlost == 0) return;
    size_t n = method->n;
    for (size_t i = 0; i < n; i++) {
        struct node *e = method->items[i];
        struct node *t = node_get(e, "target");
        if (!t || t->type != NODE_SCALAR || strcmp(t->str, "${lose}") != 0) continue;
        free(t->str);
        t->str = fl_strdup(lost[0]);
        /* the first copy keeps the step's name (probes' during:/from: refer to it: every
         * copy has the same window); the others are NAME-<target> */
        struct node *nm = node_get(e, "name");
        for (size_t k = 1; k < nlost; k++) {
            struct node *c = node_dup(e);
            struct node *ct = node_get(c, "target");
            free(ct->str);
            ct->str = fl_strdup(lost[k]);
            struct node *cn = node_get(c, "name");
            if (cn && cn->type == NODE_SCALAR && nm) { free(cn->str); cn->str = fl_asprintf("%s-%s", nm->str, lost[k]); }
            method->items = fl_realloc(method->items, (method->n + 1) * sizeof *method->items);
            method->items[method->n++] = c;
        }
    }
}

/* ---- the plan ----------------------------------------------------------------------- */
/* matrix: the ${lose} binding of this combination (--matrix binding "a,b", else the first
 * choose: names), its steps replicated per lost target; the text "a+b", or NULL */
static char *bind_lose(struct plan *p, struct node *root, const struct node *mx, const struct plan_opts *opts)
{
    if (!mx || !p->nmatrix_lose) return NULL;
    char **lost = NULL;
    size_t nlost = 0;
    const char *bind = opts && opts->matrix_binding ? opts->matrix_binding : NULL;
    if (bind) {
        char *tmp = fl_strdup(bind), *save = NULL;
        for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            lost = fl_realloc(lost, (nlost + 1) * sizeof *lost);
            lost[nlost++] = fl_strdup(t);
        }
        free(tmp);
    } else {
        for (int i = 0; i < p->matrix_choose && (size_t)i < p->nmatrix_lose; i++) {
            lost = fl_realloc(lost, (nlost + 1) * sizeof *lost);
            lost[nlost++] = fl_strdup(p->matrix_lose[i]);
        }
    }
    struct buf lb;
    buf_init(&lb, 0);
    for (size_t i = 0; i < nlost; i++) { if (i) buf_addc(&lb, '+'); buf_adds(&lb, lost[i]); }
    replicate_lose_steps(node_get(root, "method"), lost, nlost);
    for (size_t i = 0; i < nlost; i++) free(lost[i]);
    free(lost);
    return buf_detach(&lb);
}

/* vars:, secrets: and --var, then ${...} expanded through the whole tree */
static void expand_vars(struct plan *p, struct node *root, const struct plan_opts *opts, const char *lose_text,
                        struct diag *d)
{
    struct expander x = { .p = p, .d = d, .opts = opts, .lose = lose_text };
    collect_vars(&x, node_get(root, "vars"), 0);
    collect_vars(&x, node_get(root, "secrets"), 1);
    if (opts && opts->set_vars)
        for (size_t j = 0; opts->set_vars[j]; j++) {
            const char *eq = strchr(opts->set_vars[j], '=');
            if (!eq) { diag_add_pos(d, 0, 0, "--var '%s': write it as name=value", opts->set_vars[j]); continue; }
            char *nm = fl_strndup(opts->set_vars[j], (size_t)(eq - opts->set_vars[j]));
            if (!var_lookup(p, nm)) {
                p->vars = fl_realloc(p->vars, (p->nvars + 1) * sizeof *p->vars);
                p->vars[p->nvars++] = (struct plan_var){ nm, fl_strdup(eq + 1), 0, 0 };
            } else free(nm);
        }
    expand_tree(&x, root, node_get(root, "vars"), node_get(root, "secrets"));

}

/* name, description, tags, duration, seed, max_faults, revert_timeout, require_label */
static void parse_identity(struct plan *p, const struct node *root, struct diag *d)
{
    const struct node *nm = node_get(root, "name");
    if (!nm) diag_add(d, root, "missing required key 'name' (the experiment's name, [a-z0-9-]+)");
    else if (nm->type != NODE_SCALAR || !valid_name(nm->str))
        diag_add(d, nm, "name '%s' may hold only a-z, 0-9 and '-'", nm->type == NODE_SCALAR ? nm->str : "?");
    else p->name = fl_strdup(nm->str);
    const struct node *desc = node_get(root, "description");
    if (desc && desc->type != NODE_SCALAR) diag_add(d, desc, "description must be text");
    else if (desc) p->description = fl_strdup(desc->str);
    const struct node *mon = node_get(root, "monitor"); /* containers sampled besides the targets' (resources.h) */
    if (mon) {
        if (mon->type != NODE_SEQ) diag_add(d, mon, "monitor must be a list of container names or ids, like [scheduler-db]");
        else {
            p->monitor = fl_calloc(mon->n + 1, sizeof *p->monitor);
            size_t nm = 0;
            for (size_t i = 0; i < mon->n; i++) {
                if (mon->items[i]->type != NODE_SCALAR || !*mon->items[i]->str) { diag_add(d, mon->items[i], "monitor: a container name or id"); continue; }
                p->monitor[nm++] = fl_strdup(mon->items[i]->str);
            }
        }
    }
    const struct node *tags = node_get(root, "tags");
    if (tags) {
        if (tags->type != NODE_SEQ) diag_add(d, tags, "tags must be a list like [dr-drill, release-gate]");
        else {
            p->tags = fl_calloc(tags->n + 1, sizeof *p->tags);
            size_t nt = 0;
            for (size_t i = 0; i < tags->n; i++) {
                if (tags->items[i]->type != NODE_SCALAR) { diag_add(d, tags->items[i], "tags must be text"); continue; }
                p->tags[nt++] = fl_strdup(tags->items[i]->str);
            }
        }
    }
    if (get_duration(root, "duration", &p->duration_ms, d, "plan") > 0 && p->duration_ms <= 0)
        diag_add(d, node_get(root, "duration"), "duration must be above zero");
    const struct node *seed = node_get(root, "seed");
    if (seed) {
        char *end;
        if (seed->type != NODE_SCALAR || (p->seed = strtoull(seed->str, &end, 10), *end) || !*seed->str)
            diag_add(d, seed, "seed must be a non-negative integer");
        else p->seed_set = 1;
    }
    const struct node *mf = node_get(root, "max_faults");
    if (mf) {
        char *end;
        long v = mf->type == NODE_SCALAR ? strtol(mf->str, &end, 10) : -1;
        if (mf->type != NODE_SCALAR || *end || v < 1) diag_add(d, mf, "max_faults must be an integer of at least 1");
        else p->max_faults = (int)v;
    }
    p->revert_timeout_ms = 300000;
    if (get_duration(root, "revert_timeout", &p->revert_timeout_ms, d, "plan") > 0 && p->revert_timeout_ms < 1000)
        diag_add(d, node_get(root, "revert_timeout"), "revert_timeout must be at least 1s");
    const struct node *rl = node_get(root, "require_label");
    if (rl) {
        if (rl->type != NODE_SCALAR || !*rl->str) diag_add(d, rl, "require_label must be a label like faultline.allow=true");
        else p->require_label = fl_strdup(rl->str);
    }
}

static void parse_loads(struct plan *p, const struct node *root, struct diag *d)
{
    const struct node *load = seq_or_err(root, "load", d);
    for (size_t i = 0; load && i < load->n; i++) {
        struct lg_block_cfg *c = lg_block_parse(p, load->items[i], d);
        if (!c) continue;
        if (plan_load_block(p, lg_block_name(c))) {
            diag_add(d, load->items[i], "load block name '%s' is used twice", lg_block_name(c));
            lg_block_free(c);
            continue;
        }
        p->loads = fl_realloc(p->loads, (p->nloads + 1) * sizeof *p->loads);
        p->loads[p->nloads++] = c;
    }
}

/* no duration: until the last revert plus 10 s; a step may not outlast the experiment */
static void finish_duration(struct plan *p, struct diag *d)
{
    if (p->duration_ms == 0) {
        /* no duration: until the last revert plus 10 s */
        int64_t end = 0;
        for (size_t i = 0; i < p->nsteps; i++) {
            int64_t e = p->steps[i]->at_ms + (p->steps[i]->for_ms > 0 ? p->steps[i]->for_ms : 0);
            if (e > end) end = e;
        }
        p->duration_ms = end + 10000;
    }
    for (size_t i = 0; i < p->nsteps; i++) {
        struct step *s = p->steps[i];
        if (s->for_ms > 0 && s->at_ms + s->for_ms > p->duration_ms)
            diag_add_pos(d, s->line, s->col, "step '%s': at: + for: ends after the experiment's duration", s->name);
    }
}

struct plan *plan_parse(const char *path, const char *bytes, size_t len, const struct plan_opts *opts, struct diag *d)
{
    struct node *root = node_parse(bytes, len, d);
    if (!root) return NULL;
    struct plan *p = fl_calloc(1, sizeof *p);
    p->path = fl_strdup(path ? path : "plan");
    p->root = root;
    p->hash = hash_bytes(bytes, len);
    if (root->type != NODE_MAP) {
        diag_add(d, root, "a plan is a mapping (faultline: 1, name: ..., ...), not a %s", node_type_name(root->type));
        return p;
    }
    for (size_t i = 0; i < root->n; i++)
        if (!in_list(top_keys, root->keys[i]->str)) {
            char hint[1024];
            suggest_hint(hint, sizeof hint, root->keys[i]->str, top_keys, "known");
            diag_add(d, root->keys[i], "unknown key '%s'%s", root->keys[i]->str, hint);
        }

    /* the format version */
    const struct node *ver = node_get(root, "faultline");
    if (!ver) diag_add(d, root, "missing required key 'faultline' (the format version: faultline: 1)");
    else if (ver->type != NODE_SCALAR || strcmp(ver->str, "1") != 0)
        diag_add(d, ver, "unsupported format version '%s' (this faultline reads version 1)", ver->type == NODE_SCALAR ? ver->str : "?");
    else p->version = 1;

    /* matrix first: ${lose} needs its binding */
    const struct node *mx = node_get(root, "matrix");
    parse_matrix_early(p, mx, d);
    char *lose_text = bind_lose(p, root, mx, opts);
    expand_vars(p, root, opts, lose_text, d);

    parse_identity(p, root, d);
    parse_targets(p, node_get(root, "targets"), d);
    parse_services(p, seq_or_err(root, "services", d), d);

    parse_loads(p, root, d);
    parse_method(p, seq_or_err(root, "method", d), d);
    finish_duration(p, d);
    parse_probe_list(p, seq_or_err(root, "probes", d), PT_END, &p->probes, &p->nprobes, d);
    parse_probe_list(p, seq_or_err(root, "steady_state", d), PT_STEADY, &p->steady, &p->nsteady, d);
    parse_probe_list(p, seq_or_err(root, "stop_when", d), PT_STOP_WHEN, &p->stop_when, &p->nstop_when, d);
    parse_rollback(p, seq_or_err(root, "rollback", d), d);
    if (mx) check_matrix_targets(p, mx, d);
    if (mx && !memmem(bytes, len, "${lose}", 7))
        diag_add(d, mx, "matrix: no method step uses target: \"${lose}\", so every experiment would be the same");
    free(lose_text);
    diag_sort(d);
    return p;
}

struct plan *plan_load(const char *path, const struct plan_opts *opts, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) { diag_add_pos(d, 0, 0, "cannot read the plan: %s", strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        diag_add_pos(d, 0, 0, "is a directory, not a plan (`faultline validate DIR` checks every plan in it)");
        return NULL;
    }
    struct buf b;
    buf_init(&b, 16u << 20);
    char tmp[8192];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (buf_add(&b, tmp, r) < 0) { fclose(f); buf_release(&b); diag_add_pos(d, 0, 0, "the plan is larger than 16 MiB"); return NULL; }
    fclose(f);
    struct plan *p = plan_parse(path, b.data, b.len, opts, d);
    buf_release(&b);
    return p;
}

void plan_free(struct plan *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nsteps; i++) free_step(p->steps[i]);
    free(p->steps);
    for (size_t i = 0; i < p->nprobes; i++) probe_spec_free(p->probes[i]);
    free(p->probes);
    for (size_t i = 0; i < p->nsteady; i++) probe_spec_free(p->steady[i]);
    free(p->steady);
    for (size_t i = 0; i < p->nstop_when; i++) probe_spec_free(p->stop_when[i]);
    free(p->stop_when);
    for (size_t i = 0; i < p->nloads; i++) lg_block_free(p->loads[i]);
    free(p->loads);
    for (size_t i = 0; i < p->nservices; i++) {
        struct service *s = p->services[i];
        free(s->name);
        param_strv_free(s->run);
        param_strv_free(s->env);
        free(s->cwd);
        probe_spec_free(s->ready_probe);
        free(s);
    }
    free(p->services);
    for (size_t i = 0; i < p->nrollback; i++) { param_strv_free(p->rollback[i]->run); free(p->rollback[i]); }
    free(p->rollback);
    for (size_t i = 0; i < p->ntargets; i++) {
        struct target *t = p->targets[i];
        if (t->ops && t->ops->free) t->ops->free(t);
        free(t->name);
        free(t);
    }
    free(p->targets);
    for (size_t i = 0; i < p->nvars; i++) { free(p->vars[i].name); free(p->vars[i].value); }
    free(p->vars);
    param_strv_free(p->tags);
    param_strv_free(p->monitor);
    param_strv_free(p->matrix_lose);
    free(p->name);
    free(p->description);
    free(p->require_label);
    free(p->hash);
    free(p->path);
    node_free(p->root);
    free(p);
}

/* the key lists above, for `faultline schema` (plan_names.h): one source for both */
const char *const *const plan_top_keys = top_keys;
const char *const *const plan_step_keys = step_common;
const char *const *const plan_probe_keys = probe_common;
