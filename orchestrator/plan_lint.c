/* plan_lint.c -- warnings about valid plans that prove less than they seem (see plan_lint.h).
 *
 * The checks read the typed plan and, for the probes' own settings, the plan's node tree
 * (after ${var} expansion): a probe entry is found by its file position, which plan.c
 * copies into struct probe_spec. Nothing here does I/O.
 */
#include "plan_lint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fl.h"
#include "plan.h"

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

/* ---- the checks ------------------------------------------------------------------------ */
static int lint(const struct plan *p, const json_t *run, json_t *out)
{
    if (!p || !json_is_array(out)) return -1;
    int n = 0;
    char steps[800], msg[2048], felt[600];
    steps_words(p, steps, sizeof steps);

    /* a step the run showed to hurt, for the steady state's evidence */
    const char *hurt_step = NULL;
    char hurt[600] = "";
    for (size_t i = 0; run && i < p->nsteps && !hurt_step; i++)
        if (step_was_felt(run, p->steps[i]->name, hurt, sizeof hurt)) hurt_step = p->steps[i]->name;

    if (p->nsteps > 0) {
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
                snprintf(msg, sizeof msg,
                         "probe proves nothing: steady state '%s' checks '%s', a liveness endpoint; it held before "
                         "and after while '%s' hurt the service (%s), so it cannot tell a broken system from a "
                         "healthy one; check a readiness endpoint that touches the database and Redis "
                         "(e.g. /api/v1/health/ready) or a request that reads data",
                         ps->name, url, hurt_step, hurt);
            else
                snprintf(msg, sizeof msg,
                         "probe proves nothing: steady state '%s' checks '%s', a liveness endpoint that answers "
                         "200 whatever the database and Redis do; it stays green while %s %s, so it cannot tell "
                         "a broken system from a healthy one; check a readiness endpoint that touches the "
                         "dependencies (e.g. /api/v1/health/ready) or a request that reads data",
                         ps->name, url, steps, p->nsteps > 1 ? "are active" : "is active");
            json_t *w = warning("probe-proves-nothing", ps->line, ps->col, msg);
            json_object_set_new(w, "probe", json_string(ps->name));
            if (confirmed) json_object_set_new(w, "confirmed", json_true());
            json_array_append_new(out, w);
            n++;
        }
    }

    for (size_t i = 0; i < p->nprobes; i++) {
        const struct probe_spec *ps = p->probes[i];
        const char *url = NULL;
        int recovery = ps->ops && !strcmp(ps->ops->name, "recovery");
        if (recovery) url = liveness_http(recovery_until(p, ps));
        else if (ps->timing == PT_DURING && ps->window) url = liveness_http(probe_entry(p, ps));
        if (!url || !ps->window) continue;
        char sw[256];
        step_words(ps->window, sw, sizeof sw);
        const json_t *rr = run ? run_probe(json_object_get(run, "probes"), ps->name) : NULL;
        int confirmed = 0;
        if (recovery) {
            /* recovered at the very first checks: the probe never saw the outage */
            const json_t *obs = json_object_get(rr, "observations");
            const json_t *last = json_array_size(obs) ? json_array_get(obs, json_array_size(obs) - 1) : NULL;
            long long ms = last ? jint(last, "value", -1) : -1;
            confirmed = rr && jstr_is(rr, "verdict", "passed") && ms >= 0 &&
                        ms <= ps->every_ms;
            if (confirmed)
                snprintf(msg, sizeof msg,
                         "probe proves nothing: recovery '%s' waits for '%s', a liveness endpoint; it 'recovered' "
                         "%lld ms after %s was reverted, at its first check, so the time it reports measures "
                         "nothing; wait for a readiness endpoint (e.g. /api/v1/health/ready) instead",
                         ps->name, url, ms, sw);
            else
                snprintf(msg, sizeof msg,
                         "probe proves nothing: recovery '%s' waits for '%s', a liveness endpoint that is green at "
                         "once after %s is reverted (and while it lasts), so the recovery time it reports measures "
                         "nothing; wait for a readiness endpoint (e.g. /api/v1/health/ready) instead",
                         ps->name, url, sw);
        } else {
            confirmed = rr && jstr_is(rr, "verdict", "passed") &&
                        jint(rr, "checks", 0) > 0 && step_was_felt(run, ps->window->name, felt, sizeof felt);
            if (confirmed)
                snprintf(msg, sizeof msg,
                         "probe proves nothing: '%s' checks '%s', a liveness endpoint; it passed all %lld checks "
                         "during %s while %s; check a readiness endpoint or a request that reads data",
                         ps->name, url, jint(rr, "checks", 0), sw, felt);
            else
                snprintf(msg, sizeof msg,
                         "probe proves nothing: '%s' checks '%s', a liveness endpoint that stays green whatever "
                         "%s does; check a readiness endpoint or a request that reads data",
                         ps->name, url, sw);
        }
        json_t *w = warning("probe-proves-nothing", ps->line, ps->col, msg);
        json_object_set_new(w, "probe", json_string(ps->name));
        json_object_set_new(w, "step", json_string(ps->window->name));
        if (confirmed) json_object_set_new(w, "confirmed", json_true());
        json_array_append_new(out, w);
        n++;
    }

    /* steps nothing watches */
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
