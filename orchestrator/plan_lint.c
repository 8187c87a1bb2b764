/* plan_lint.c -- warnings about valid plans that prove less than they seem (see plan_lint.h).
 *
 * The checks read the typed plan and, for the probes' own settings, the plan's node tree
 * (after ${var} expansion): a probe entry is found by its file position, which plan.c
 * copies into struct probe_spec. Nothing here does I/O.
 */
#include "plan_lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fl.h"
#include "load.h"
#include "plan.h"
#include "value.h"

/* ---- liveness paths ------------------------------------------------------------------ */
static const char *const liveness_names[] = { "health", "healthz", "healthcheck", "health-check", "livez", "live",
                                              "liveness", "ping", "alive", "status", "heartbeat", NULL };

int plan_lint_liveness_url(const char *url)
{
    if (!url) return 0;
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    const char *path = strchr(s, '/');
    if (!path) return 1; /* http://host:port: the root */
    size_t len = strcspn(path, "?#");
    while (len > 1 && path[len - 1] == '/') len--;
    if (len <= 1) return 1; /* "/" */
    /* a readiness endpoint is the opposite of what we warn about */
    for (size_t i = 0; i + 5 <= len; i++)
        if (strncasecmp(path + i, "ready", 5) == 0) return 0;
    size_t seg = len;
    while (seg > 0 && path[seg - 1] != '/') seg--;
    size_t sl = len - seg;
    for (size_t i = 0; liveness_names[i]; i++)
        if (strlen(liveness_names[i]) == sl && strncasecmp(path + seg, liveness_names[i], sl) == 0) return 1;
    return 0;
}

/* ---- the plan's node tree ------------------------------------------------------------ */
/* the mapping at (line, col) under root (depth-first), i.e. a probe's entry */
static const struct node *find_at(const struct node *n, int line, int col)
{
    if (!n) return NULL;
    if (n->type == NODE_MAP && n->line == line && n->col == col) return n;
    if (n->type == NODE_SCALAR) return NULL;
    for (size_t i = 0; i < n->n; i++) {
        const struct node *f = find_at(n->items[i], line, col);
        if (f) return f;
    }
    return NULL;
}

/* does an http probe's status: accept a success (absent = 2xx)? */
static int expects_success(const struct node *http)
{
    const struct node *st = node_get(http, "status");
    if (!st) return 1;
    if (st->type == NODE_SCALAR) return st->str && st->str[0] == '2';
    if (st->type == NODE_SEQ)
        for (size_t i = 0; i < st->n; i++)
            if (st->items[i]->type == NODE_SCALAR && st->items[i]->str && st->items[i]->str[0] == '2') return 1;
    return 0;
}

/* the URL of an http probe entry ({ http: {...} }) that can prove nothing, or NULL */
static const char *liveness_http(const struct node *entry)
{
    const struct node *http = node_get(entry, "http");
    if (!http || http->type != NODE_MAP) return NULL;
    const char *url = node_str(http, "url", NULL);
    if (!url || !plan_lint_liveness_url(url)) return NULL;
    if (node_get(http, "json") || node_get(http, "body_contains")) return NULL; /* it reads what the endpoint says */
    if (!expects_success(http)) return NULL;
    return url;
}

/* the entry node a probe was parsed from */
static const struct node *probe_entry(const struct plan *p, const struct probe_spec *ps)
{
    return find_at(p->root, ps->line, ps->col);
}

/* for a recovery probe: its until: probe entry */
static const struct node *recovery_until(const struct plan *p, const struct probe_spec *ps)
{
    const struct node *e = probe_entry(p, ps);
    const struct node *rec = e ? node_get(e, "recovery") : NULL;
    const struct node *u = rec ? node_get(rec, "until") : NULL;
    return u && u->type == NODE_MAP ? u : NULL;
}

/* "'db-down' (docker.stop on 'db')" for a step */
static void step_words(const struct step *s, char *out, size_t n)
{
    if (s->target) snprintf(out, n, "'%s' (%s on '%s')", s->name, s->ops->name, s->target->name);
    else snprintf(out, n, "'%s' (%s)", s->name, s->ops->name);
}

/* the fault steps, named, for a message: "'a' (x on 'y'), 'b' (...)" (at most three) */
static void steps_words(const struct plan *p, char *out, size_t n)
{
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < p->nsteps && i < 3; i++) {
        char w[256];
        step_words(p->steps[i], w, sizeof w);
        int k = snprintf(out + used, n - used, "%s%s", i ? ", " : "", w);
        if (k < 0 || (size_t)k >= n - used) break;
        used += (size_t)k;
    }
    if (p->nsteps > 3 && used + 8 < n) snprintf(out + used, n - used, ", ...");
}

static json_t *warning(const char *code, int line, int col, const char *msg)
{
    return json_pack("{s:s, s:s, s:i, s:i}", "code", code, "message", msg, "line", line, "col", col);
}

/* "probe proves nothing: " and fmt, on probe ps (watching step, or NULL for a steady state);
 * confirmed when a run showed it. Appended to out; 1 */
static int proves_nothing(json_t *out, const struct probe_spec *ps, const struct step *step, int confirmed,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int proves_nothing(json_t *out, const struct probe_spec *ps, const struct step *step, int confirmed,
                          const char *fmt, ...)
{
    char msg[2048];
    int l = snprintf(msg, sizeof msg, "probe proves nothing: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + l, sizeof msg - l, fmt, ap);
    va_end(ap);
    json_t *w = warning("probe-proves-nothing", ps->line, ps->col, msg);
    json_object_set_new(w, "probe", json_string(ps->name));
    if (step) json_object_set_new(w, "step", json_string(step->name));
    if (confirmed) json_object_set_new(w, "confirmed", json_true());
    json_array_append_new(out, w);
    return 1;
}

/* ---- evidence from a run record -------------------------------------------------------- */
static const json_t *run_step(const json_t *run, const char *name)
{
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(run, "steps"), i, s) {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && !strcmp(n, name)) return s;
    }
    return NULL;
}

static const json_t *run_probe(const json_t *arr, const char *name)
{
    size_t i;
    const json_t *r;
    json_array_foreach(arr, i, r) {
        const char *n = json_string_value(json_object_get(r, "name"));
        if (n && !strcmp(n, name)) return r;
    }
    return NULL;
}

static int jstr_is(const json_t *o, const char *k, const char *want)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v && !strcmp(v, want);
}

static long long jint(const json_t *o, const char *k, long long def)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? (long long)json_number_value(v) : def;
}

/* What showed that a step hurt: the first probe judged in its window that failed a check,
 * else load errors inside the window. Fills out (empty when nothing did) and returns 1/0. */
static int step_was_felt(const json_t *run, const char *step, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(run, "probes"), i, r) {
        const char *st = json_string_value(json_object_get(r, "step"));
        const char *tm = json_string_value(json_object_get(r, "timing"));
        if (!st || strcmp(st, step) || !tm || strcmp(tm, "during")) continue;
        long long failed = jint(r, "failed_checks", 0);
        if (failed <= 0) continue;
        const char *obs = json_string_value(json_object_get(json_object_get(r, "failure"), "observed"));
        snprintf(out, n, "probe '%s' failed %lld of %lld checks there (%s)",
                 json_string_value(json_object_get(r, "name")), failed, jint(r, "checks", 0), obs ? obs : "unhealthy");
        return 1;
    }
    const json_t *s = run_step(run, step);
    long long from = jint(s, "injected_at_ms", -1), to = jint(s, "reverted_at_ms", -1);
    if (from < 0) return 0;
    const json_t *blk;
    json_array_foreach(json_object_get(run, "load"), i, blk) {
        long long errs = 0, count = 0;
        size_t k;
        const json_t *w;
        json_array_foreach(json_object_get(blk, "series"), k, w) {
            long long t = jint(w, "t", -1) * 1000;
            if (t < from || (to >= 0 && t + 1000 > to)) continue;
            errs += jint(w, "errors", 0);
            count += jint(w, "count", 0);
        }
        if (errs > 0) {
            snprintf(out, n, "load '%s' saw %lld errors in %lld requests there",
                     json_string_value(json_object_get(blk, "name")), errs, count);
            return 1;
        }
    }
    return 0;
}

/* ---- throughput and evidence ------------------------------------------------------------ */

/* the expectations of a load probe entry ({ load: B, expect: [...] }) or of a load recovery
 * ({ recovery: { load: B, until: "..." } }), parsed; *n of them, caller releases */
static struct expect *load_expects(const struct node *entry, size_t *n)
{
    *n = 0;
    const struct node *ex = node_get(entry, "expect");
    const struct node *rec = node_get(entry, "recovery");
    if (!ex && rec && node_get(rec, "load")) ex = node_get(rec, "until");
    if (!ex) return NULL;
    size_t cnt = ex->type == NODE_SEQ ? ex->n : 1;
    struct expect *v = fl_calloc(cnt ? cnt : 1, sizeof *v);
    for (size_t i = 0; i < cnt; i++) {
        const struct node *e = ex->type == NODE_SEQ ? ex->items[i] : ex;
        char err[FL_ERR_LEN];
        if (e->type == NODE_SCALAR && expect_parse(e->str, val_load_metrics, &v[*n], err) == 0 && v[*n].metric) (*n)++;
        else if (e->type == NODE_SCALAR && *n < cnt) expect_release(&v[*n]);
    }
    return v;
}

static void release_expects(struct expect *v, size_t n)
{
    for (size_t i = 0; i < n; i++) expect_release(&v[i]);
    free(v);
}

/* does the list hold the error rate to 10% or less (so rps and ok_rps differ by that at most)? */
static int bounds_errors(const struct expect *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].op != EXP_LT && v[i].op != EXP_LE && v[i].op != EXP_EQ) continue;
        if (!strcmp(v[i].metric, "error_rate") && !v[i].of_baseline && v[i].num <= 0.10) return 1;
        if (!strcmp(v[i].metric, "errors") && !v[i].of_baseline) return 1;
    }
    return 0;
}

/* rps-counts-errors: "rps >= ..." (throughput holds) counts failed requests too */
static int lint_rps(const struct probe_spec *ps, const struct node *entry, const char *where, json_t *out)
{
    size_t n;
    struct expect *v = load_expects(entry, &n);
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        if (strcmp(v[i].metric, "rps") || (v[i].op != EXP_GT && v[i].op != EXP_GE)) continue;
        if (bounds_errors(v, n)) break;
        char msg[1024];
        snprintf(msg, sizeof msg,
                 "%s '%s' expects '%s': rps counts failed requests too, so it holds while most requests fail; use "
                 "ok_rps (successful requests per second), or hold error_rate at 10%% or less in the same expectations",
                 where, ps->name, v[i].text);
        json_t *w = warning("rps-counts-errors", ps->line, ps->col, msg);
        json_object_set_new(w, "probe", json_string(ps->name));
        json_array_append_new(out, w);
        found = 1;
    }
    release_expects(v, n);
    return found;
}

/* the planned end of a step's window: its revert, or the end of the run */
static int64_t step_end_ms(const struct plan *p, const struct step *s)
{
    return s->for_ms > 0 ? s->at_ms + s->for_ms : p->duration_ms;
}

/* the end of a load block's requests (the run's duration, or the block's own) */
static int64_t block_end_ms(const struct plan *p, const char *name)
{
    struct lg_block_cfg *b = name ? plan_load_block(p, name) : NULL;
    int64_t d = b ? lg_block_duration_ms(b) : 0;
    return d > 0 && d < p->duration_ms ? d : p->duration_ms;
}

/* why a probe can only ever be inconclusive (the plan alone shows it), or NULL */
static const char *never_evidence(const struct plan *p, const struct probe_spec *ps, const struct node *entry, char *why,
                                  size_t n)
{
    const char *kind = ps->ops ? ps->ops->name : "";
    const struct step *w = ps->window;
    if (ps->min_evidence == 0) return NULL;
    if (!strcmp(kind, "load")) {
        const char *blk = node_str(entry, "load", NULL);
        int64_t bend = block_end_ms(p, blk);
        /* the runner's windows (run.c): before = whole seconds before the inject, after =
           from the first whole second after the revert */
        if (w && ps->timing == PT_BEFORE && w->at_ms < 1000) {
            char a[32];
            val_fmt_duration(w->at_ms, a);
            snprintf(why, n, "its window is the whole seconds before '%s', which starts at %s: no request can complete in it",
                     w->name, a);
            return why;
        }
        int64_t from = w ? (ps->timing == PT_AFTER ? (step_end_ms(p, w) + 999) / 1000 * 1000
                                                   : ps->timing == PT_DURING ? w->at_ms : 0)
                         : 0;
        if (w && (ps->timing == PT_AFTER || ps->timing == PT_DURING) && from >= bend) {
            char a[32], e[32];
            val_fmt_duration(from, a);
            val_fmt_duration(bend, e);
            snprintf(why, n, "its window starts at %s, but load '%s' ends at %s: no request can complete in it", a,
                     blk ? blk : "?", e);
            return why;
        }
        size_t ne;
        struct expect *v = load_expects(entry, &ne);
        int base = 0;
        for (size_t i = 0; i < ne; i++) base |= v[i].of_baseline;
        release_expects(v, ne);
        int64_t first = p->duration_ms;
        for (size_t i = 0; i < p->nsteps; i++)
            if (p->steps[i]->at_ms < first) first = p->steps[i]->at_ms;
        if (base && p->nsteps && first <= 0) {
            snprintf(why, n, "it compares 'of baseline', but the first fault starts at 0s: there is no baseline window");
            return why;
        }
    }
    if (!strcmp(kind, "recovery") && w) {
        const struct node *rec = node_get(entry, "recovery");
        const char *blk = rec ? node_str(rec, "load", NULL) : NULL;
        const char *start = rec ? node_str(rec, "start", "revert") : "revert";
        int64_t from = !strcmp(start, "inject") ? w->at_ms : step_end_ms(p, w);
        if (blk && from >= block_end_ms(p, blk)) {
            char a[32], e[32];
            val_fmt_duration(from, a);
            val_fmt_duration(block_end_ms(p, blk), e);
            snprintf(why, n, "its clock starts at %s (%s of '%s'), but load '%s' ends at %s: no window can hold a request",
                     a, !strcmp(start, "inject") ? "the injection" : "the revert", w->name, blk, e);
            return why;
        }
    }
    /* evidence it cannot reach: a single check, or the checks a window has room for */
    if (strcmp(kind, "load") && strcmp(kind, "recovery") && strcmp(kind, "acgme")) {
        long most = 1;
        if (ps->timing == PT_DURING && w) {
            int64_t span = step_end_ms(p, w) - w->at_ms;
            most = span > 0 && ps->every_ms > 0 ? (long)(span / ps->every_ms) + 1 : 1;
        }
        if (ps->timing != PT_STOP_WHEN && ps->min_evidence > most) {
            snprintf(why, n, "it needs min_evidence %ld, but it checks %s%ld time%s", ps->min_evidence,
                     most > 1 ? "at most " : "", most, most == 1 ? "" : "s");
            return why;
        }
    }
    if (!strcmp(kind, "acgme")) {
        const struct node *ac = node_get(entry, "acgme");
        long cases = ac && node_get(ac, "cases") ? strtol(node_str(ac, "cases", "20"), NULL, 10) : 20;
        if (ps->timing == PT_DURING || ps->timing == PT_BEFORE || ps->timing == PT_AFTER || ps->timing == PT_END) {
            if (cases > 0 && ps->min_evidence > cases && ps->timing != PT_DURING) {
                snprintf(why, n, "it needs min_evidence %ld cases, but asks %ld", ps->min_evidence, cases);
                return why;
            }
        }
    }
    return NULL;
}

/* ---- the checks ------------------------------------------------------------------------ */
/* vars still holding a ${confirm:VALUE} placeholder (a starter plan's SLO, `faultline init`) */
static int lint_unconfirmed(const struct plan *p, json_t *out)
{
    const struct node *vars = node_get(p->root, "vars");
    int n = 0;
    for (size_t i = 0; vars && vars->type == NODE_MAP && i < vars->n; i++) {
        const struct node *v = vars->items[i];
        const char *c = v->type == NODE_SCALAR ? strstr(v->str, "${confirm:") : NULL;
        if (!c) continue;
        const char *end = strchr(c, '}');
        char msg[512];
        snprintf(msg, sizeof msg, "'%s' is a placeholder: confirm %.*s (or write your own value) and remove "
                 "the ${confirm:...} around it", vars->keys[i]->str, end ? (int)(end - c - 10) : 0, c + 10);
        json_array_append_new(out, warning("unconfirmed-placeholder", v->line, v->col, msg));
        n++;
    }
    return n;
}

/* a steady state that checks a liveness endpoint proves nothing (confirmed when the run
 * showed a step hurt while it held) */
static int lint_steady(const struct plan *p, const json_t *run, const char *steps, json_t *out)
{
    int n = 0;
    /* a step the run showed to hurt, for the steady state's evidence */
    const char *hurt_step = NULL;
    char hurt[600] = "";
    for (size_t i = 0; run && i < p->nsteps && !hurt_step; i++)
        if (step_was_felt(run, p->steps[i]->name, hurt, sizeof hurt)) hurt_step = p->steps[i]->name;

    if (p->nsteps == 0) return 0;
    for (size_t i = 0; i < p->nsteady; i++) {
        const struct probe_spec *ps = p->steady[i];
        const char *url = liveness_http(probe_entry(p, ps));
        if (!url) continue;
        int confirmed = 0;
        if (run && hurt_step) {
            const json_t *ss = json_object_get(run, "steady_state");
            confirmed = json_is_true(json_object_get(ss, "held_before")) &&
                        json_is_true(json_object_get(ss, "held_after"));
        }
        if (confirmed)
            n += proves_nothing(out, ps, NULL, 1,
                                "steady state '%s' checks '%s', a liveness endpoint; it held before and after "
                                "while '%s' hurt the service (%s), so it cannot tell a broken system from a "
                                "healthy one; check a readiness endpoint that touches the database and Redis "
                                "(e.g. /api/v1/health/ready) or a request that reads data",
                                ps->name, url, hurt_step, hurt);
        else
            n += proves_nothing(out, ps, NULL, 0,
                                "steady state '%s' checks '%s', a liveness endpoint that answers 200 whatever "
                                "the database and Redis do; it stays green while %s %s, so it cannot tell a "
                                "broken system from a healthy one; check a readiness endpoint that touches the "
                                "dependencies (e.g. /api/v1/health/ready) or a request that reads data",
                                ps->name, url, steps, p->nsteps > 1 ? "are active" : "is active");
    }
    return n;
}

/* a during: or recovery probe on a liveness endpoint proves nothing */
static int lint_liveness_probe(const struct plan *p, const json_t *run, const struct probe_spec *ps, json_t *out)
{
    const char *url = NULL;
    int recovery = ps->ops && !strcmp(ps->ops->name, "recovery");
    if (recovery) url = liveness_http(recovery_until(p, ps));
    else if (ps->timing == PT_DURING && ps->window) url = liveness_http(probe_entry(p, ps));
    if (!url || !ps->window) return 0;
    char sw[256];
    step_words(ps->window, sw, sizeof sw);
    const json_t *rr = run ? run_probe(json_object_get(run, "probes"), ps->name) : NULL;
    if (recovery) {
        /* recovered at the very first checks: the probe never saw the outage */
        const json_t *obs = json_object_get(rr, "observations");
        const json_t *last = json_array_size(obs) ? json_array_get(obs, json_array_size(obs) - 1) : NULL;
        long long ms = last ? jint(last, "value", -1) : -1;
        if (rr && jstr_is(rr, "verdict", "passed") && ms >= 0 && ms <= ps->every_ms)
            return proves_nothing(out, ps, ps->window, 1,
                                  "recovery '%s' waits for '%s', a liveness endpoint; it 'recovered' %lld ms "
                                  "after %s was reverted, at its first check, so the time it reports measures "
                                  "nothing; wait for a readiness endpoint (e.g. /api/v1/health/ready) instead",
                                  ps->name, url, ms, sw);
        return proves_nothing(out, ps, ps->window, 0,
                              "recovery '%s' waits for '%s', a liveness endpoint that is green at once after %s "
                              "is reverted (and while it lasts), so the recovery time it reports measures "
                              "nothing; wait for a readiness endpoint (e.g. /api/v1/health/ready) instead",
                              ps->name, url, sw);
    }
    char felt[600];
    if (rr && jstr_is(rr, "verdict", "passed") && jint(rr, "checks", 0) > 0 &&
        step_was_felt(run, ps->window->name, felt, sizeof felt))
        return proves_nothing(out, ps, ps->window, 1,
                              "'%s' checks '%s', a liveness endpoint; it passed all %lld checks during %s "
                              "while %s; check a readiness endpoint or a request that reads data",
                              ps->name, url, jint(rr, "checks", 0), sw, felt);
    return proves_nothing(out, ps, ps->window, 0,
                          "'%s' checks '%s', a liveness endpoint that stays green whatever %s does; check a "
                          "readiness endpoint or a request that reads data",
                          ps->name, url, sw);
}

/* steps nothing watches */
static int lint_unobserved(const struct plan *p, json_t *out)
{
    int n = 0;
    char msg[2048];
    if (p->nloads == 0 && p->nstop_when == 0) {
        for (size_t i = 0; i < p->nsteps; i++) {
            const struct step *s = p->steps[i];
            int watched = 0;
            for (size_t k = 0; k < p->nprobes && !watched; k++) watched = p->probes[k]->window == s;
            if (watched) continue;
            char sw[256];
            step_words(s, sw, sizeof sw);
            snprintf(msg, sizeof msg,
                     "step %s is watched by no probe (before/during/after/recovery), no load and no stop "
                     "condition: the experiment cannot tell whether it hurt",
                     sw);
            json_t *w = warning("unobserved-step", s->line, s->col, msg);
            json_object_set_new(w, "step", json_string(s->name));
            json_array_append_new(out, w);
            n++;
        }
    }

    return n;
}

/* a load-form recovery whose within: outlasts its load: a service still failing when the
 * load ends can then only be inconclusive (probes/recovery.c), never "not recovered" */
static int lint_recovery_past_load(const struct plan *p, const struct probe_spec *ps, const struct node *entry,
                                   json_t *out)
{
    const struct node *rec = node_get(entry, "recovery");
    const char *blk = rec ? node_str(rec, "load", NULL) : NULL;
    const struct step *w = ps->window;
    if (!blk || !w) return 0;
    const char *start = node_str(rec, "start", "revert");
    int64_t from = !strcmp(start, "inject") ? w->at_ms : step_end_ms(p, w);
    int64_t within = param_ms(rec, "within", 30000), end = block_end_ms(p, blk);
    if (from + within < end) return 0; /* at the end itself: the last window may be cut short */
    char a[32], wi[32], e[32], msg[1024];
    val_fmt_duration(from, a);
    val_fmt_duration(within, wi);
    val_fmt_duration(end, e);
    snprintf(msg, sizeof msg,
             "probe '%s': its clock starts at %s (%s of '%s') and within: %s reaches past the end of load '%s' at "
             "%s: a service still failing when the load ends is inconclusive, not 'not recovered' (lengthen the run "
             "or shorten within:)",
             ps->name, a, !strcmp(start, "inject") ? "the injection" : "the revert", w->name, wi, blk, e);
    json_t *wj = warning("recovery-past-load-end", ps->line, ps->col, msg);
    json_object_set_new(wj, "probe", json_string(ps->name));
    json_array_append_new(out, wj);
    return 1;
}

/* throughput that counts failures, and probes that can never have evidence */
static int lint_evidence(const struct plan *p, json_t *out)
{
    int n = 0;
    char msg[2048];
    for (int pass = 0; pass < 2; pass++) {
        struct probe_spec *const *list = pass ? p->stop_when : p->probes;
        size_t cnt = pass ? p->nstop_when : p->nprobes;
        for (size_t i = 0; i < cnt; i++) {
            const struct probe_spec *ps = list[i];
            const struct node *entry = probe_entry(p, ps);
            if (!entry || !ps->ops) continue;
            if (!strcmp(ps->ops->name, "load") || !strcmp(ps->ops->name, "recovery"))
                n += lint_rps(ps, entry, pass ? "stop condition" : "probe", out);
            if (pass) continue;
            char why[600];
            if (!never_evidence(p, ps, entry, why, sizeof why)) {
                n += lint_recovery_past_load(p, ps, entry, out);
                continue;
            }
            snprintf(msg, sizeof msg, "probe '%s' can only ever be inconclusive: %s (fix its timing, or say "
                     "min_evidence: 0 when nothing happening is fine)", ps->name, why);
            json_t *w = warning("never-evidence", ps->line, ps->col, msg);
            json_object_set_new(w, "probe", json_string(ps->name));
            json_array_append_new(out, w);
            n++;
        }
    }

    return n;
}

static int lint(const struct plan *p, const json_t *run, json_t *out)
{
    if (!p || !json_is_array(out)) return -1;
    char steps[800];
    steps_words(p, steps, sizeof steps);
    int n = lint_unconfirmed(p, out);   /* a run judged on them says so in its report too */
    n += lint_steady(p, run, steps, out);
    for (size_t i = 0; i < p->nprobes; i++) n += lint_liveness_probe(p, run, p->probes[i], out);
    n += lint_unobserved(p, out);
    n += lint_evidence(p, out);
    if (p->nsteps > 0 && p->nsteady == 0) {
        const struct node *m = node_key(p->root, "method");
        json_array_append_new(out, warning("no-steady-state", m ? m->line : 1, m ? m->col : 1,
                                           "the plan injects faults but has no steady_state: nothing shows the "
                                           "system was healthy before them, or is again after"));
        n++;
    }
    return n;
}

int plan_lint(const struct plan *p, json_t *warnings_out_array)
{
    return lint(p, NULL, warnings_out_array);
}

int plan_lint_run(const struct plan *p, const json_t *run, json_t *warnings_out_array)
{
    if (!json_is_object(run)) return -1;
    return lint(p, run, warnings_out_array);
}
