/* cmd_init.c -- `faultline init`: a first plan from a docker-compose file, or the annotated reference plan. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "cmd.h"
#include "compose.h"
#include "fl.h"

extern const char init_reference_plan[];   /* init_reference.c: docs/plan-reference.yaml */

static const char init_usage[] =
    "usage: faultline init [--compose docker-compose.yml] [--api URL] [--project NAME] [-o plan.yaml] [--force]\n\n"
    "Write a first plan. With --compose, read the compose file (services, deploy.replicas /\n"
    "scale, healthchecks, ports, depends_on, and the names of environment variables, never\n"
    "their values) and write a commented starter plan that `faultline validate` accepts:\n"
    "  - a docker target per service, selected by the labels docker compose sets;\n"
    "  - a steady state from the healthchecks and the published HTTP port;\n"
    "  - one outage step (docker.stop) per stateful service: a database, cache or queue,\n"
    "    told by its image or name (the rule is written in the plan);\n"
    "  - an N-1 matrix over the replicas of replicated services;\n"
    "  - a small load block against the API, and probes with SLO placeholders from the\n"
    "    residency scheduler's SLO table, written ${confirm:VALUE}: `validate` warns until\n"
    "    you confirm each one (remove the ${confirm:...} around the value you keep).\n"
    "Without --compose, write the annotated reference plan (every section, explained).\n\n"
    "  --compose FILE   the docker-compose file to read\n"
    "  --api URL        where the API answers (default: from the published ports)\n"
    "  --project NAME   the compose project (default: name: in the file, else its folder's name)\n"
    "  -o FILE          where to write the plan (default plan.yaml; - for stdout)\n"
    "  --force          overwrite FILE if it exists\n";

/* ---- what a service is -------------------------------------------------------------- */
enum role { R_APP, R_DATABASE, R_CACHE, R_QUEUE, R_PROXY, R_WORKER };

static const char *const role_words[][10] = {
    [R_DATABASE] = { "postgres", "postgis", "timescale", "mysql", "mariadb", "mongo", "cockroach", "cassandra", NULL },
    [R_CACHE] = { "redis", "valkey", "keydb", "memcached", "dragonfly", NULL },
    [R_QUEUE] = { "rabbitmq", "kafka", "nats", "activemq", "mosquitto", "redpanda", NULL },
    [R_PROXY] = { "nginx", "traefik", "haproxy", "envoy", "caddy", NULL },
    [R_WORKER] = { "celery", "worker", "beat", "sidekiq", "rq", NULL },
};

static int has_word(const char *s, const char *const *words)
{
    for (size_t i = 0; s && words[i]; i++) if (strstr(s, words[i])) return 1;
    return 0;
}

/* the image's name without registry and tag: "docker.io/library/postgres:15" -> "postgres" */
static void image_base(const char *image, char *out, size_t n)
{
    out[0] = '\0';
    if (!image) return;
    const char *slash = strrchr(image, '/');
    snprintf(out, n, "%s", slash ? slash + 1 : image);
    char *colon = strchr(out, ':');
    if (colon) *colon = '\0';
    char *at = strchr(out, '@');
    if (at) *at = '\0';
    for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
}

/* image first (postgres:15 is a database whatever its name), then the service's name */
static enum role role_of(const struct compose_service *s)
{
    char img[256], name[256];
    image_base(s->image, img, sizeof img);
    snprintf(name, sizeof name, "%s", s->name);
    for (char *p = name; *p; p++) *p = (char)tolower((unsigned char)*p);
    static const enum role order[] = { R_DATABASE, R_CACHE, R_QUEUE, R_PROXY };
    for (size_t i = 0; i < 4; i++) if (has_word(img, role_words[order[i]])) return order[i];
    if (has_word(name, role_words[R_WORKER])) return R_WORKER;
    for (size_t i = 0; i < 4; i++) if (has_word(name, role_words[order[i]])) return order[i];
    if (!strcmp(name, "db") || !strcmp(name, "database")) return R_DATABASE;
    if (!strcmp(name, "cache")) return R_CACHE;
    if (!strcmp(name, "queue") || !strcmp(name, "broker") || !strcmp(name, "mq")) return R_QUEUE;
    if (!strcmp(name, "lb") || !strcmp(name, "proxy") || !strcmp(name, "gateway")) return R_PROXY;
    return R_APP;
}

static const char *role_name(enum role r)
{
    static const char *const n[] = { "application", "database", "cache", "queue", "proxy", "worker" };
    return n[r];
}

static int stateful(enum role r) { return r == R_DATABASE || r == R_CACHE || r == R_QUEUE; }

/* a plan name: [a-z0-9-] */
static void plan_name(const char *s, char *out, size_t n)
{
    size_t o = 0;
    int dash = 1;
    for (const char *p = s; *p && o + 1 < n; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (isalnum((unsigned char)c)) { out[o++] = c; dash = 0; }
        else if (!dash) { out[o++] = '-'; dash = 1; }
    }
    while (o > 0 && out[o - 1] == '-') o--;
    out[o] = '\0';
    if (!o) snprintf(out, n, "service");
}

/* the compose project as docker compose names it: lowercase [a-z0-9_-] */
static void project_of(const char *compose_path, const struct compose *c, const char *given, char *out, size_t n)
{
    char dir[PATH_MAX];
    const char *src = given ? given : c->name;
    if (!src) {
        char real[PATH_MAX];
        if (realpath(compose_path, real)) {
            char *slash = strrchr(real, '/');
            if (slash && slash != real) *slash = '\0';
            slash = strrchr(real, '/');
            snprintf(dir, sizeof dir, "%s", slash ? slash + 1 : real);
        } else snprintf(dir, sizeof dir, "app");
        src = dir;
    }
    size_t o = 0;
    for (const char *p = src; *p && o + 1 < n; p++) {
        char ch = (char)tolower((unsigned char)*p);
        if (isalnum((unsigned char)ch) || ch == '_' || ch == '-') out[o++] = ch;
    }
    out[o] = '\0';
    if (!o) snprintf(out, n, "app");
}

/* target names: [a-z0-9-] from the service names, made unique (a replicated service takes
 * NAME-1 ... NAME-N, so "web" with 2 replicas and a service "web-1" must not meet) */
static int name_used(char (*tn)[160], const struct compose *c, size_t upto, const char *cand)
{
    for (size_t j = 0; j < upto; j++) {
        if (c->svc[j].replicas <= 1) { if (!strcmp(tn[j], cand)) return 1; continue; }
        for (int r = 1; r <= c->svc[j].replicas && r <= 16; r++) {
            char x[200];
            snprintf(x, sizeof x, "%s-%d", tn[j], r);
            if (!strcmp(x, cand)) return 1;
        }
    }
    return 0;
}

static void target_names(const struct compose *c, char (*tn)[160])
{
    for (size_t i = 0; i < c->n; i++) {
        char base[120];
        plan_name(c->svc[i].name, base, sizeof base);
        for (int k = 1; k < 1000; k++) {
            if (k == 1) snprintf(tn[i], 160, "%s", base);
            else snprintf(tn[i], 160, "%s-s%d", base, k);
            int clash = 0;
            if (c->svc[i].replicas <= 1) clash = name_used(tn, c, i, tn[i]);
            else
                for (int r = 1; r <= c->svc[i].replicas && r <= 16 && !clash; r++) {
                    char x[200];
                    snprintf(x, sizeof x, "%s-%d", tn[i], r);
                    clash = name_used(tn, c, i, x);
                }
            /* and no earlier replicated service's NAME-N is this plain name */
            if (!clash) break;
        }
    }
}

/* "curl -f http://localhost:8000/api/v1/health || exit 1" -> "/api/v1/health" */
static int health_path(const char *test, char *out, size_t n)
{
    const char *u = test ? strstr(test, "://") : NULL;
    if (!u) return 0;
    const char *p = strchr(u + 3, '/');
    const char *stop = u + 3 + strcspn(u + 3, " \t'\"");
    if (!p || p > stop) { snprintf(out, n, "/"); return 1; }
    size_t l = strcspn(p, " \t'\"|;&");
    if (l >= n) l = n - 1;
    memcpy(out, p, l);
    out[l] = '\0';
    return 1;
}

static int published_http(const struct compose_service *s)
{
    for (size_t i = 0; i < s->nports; i++)
        if (s->ports[i].published && s->ports[i].target != 5432 && s->ports[i].target != 6379 && s->ports[i].target != 443)
            return s->ports[i].published;
    return 0;
}

/* ---- the starter plan --------------------------------------------------------------- */
struct gen {
    char (*tn)[160];         /* each service's target name (replicas: NAME-1...), unique */
    struct buf b;
    const struct compose *c;
    enum role *roles;
    char project[128];
    char api[512];
    const char *api_from;    /* where the API URL came from, in words */
    char health[256];
    const char *health_from;
    size_t nstate, nrep;     /* stateful services (an outage each); replicated ones (N-1) */
    int64_t step_at, step_for, gap, duration;   /* the timeline, in seconds */
    char first_step[200];    /* the first method step ("" when none) */
};

static void comment_services(struct gen *g)
{
    struct buf *b = &g->b;
    buf_addf(b, "# What the compose file holds (environment variables by name only: their values stay there):\n");
    for (size_t i = 0; i < g->c->n; i++) {
        const struct compose_service *s = &g->c->svc[i];
        buf_addf(b, "#   %-16s %-11s %s", s->name, role_name(g->roles[i]), s->image ? s->image : "(built)");
        if (s->replicas != 1) buf_addf(b, ", %d replicas", s->replicas);
        for (size_t k = 0; k < s->nports; k++)
            if (s->ports[k].published) buf_addf(b, ", port %d->%d", s->ports[k].published, s->ports[k].target);
        if (s->health) buf_addf(b, ", healthcheck");
        if (s->ndepends) {
            buf_adds(b, ", depends on ");
            for (size_t k = 0; k < s->ndepends; k++) buf_addf(b, "%s%s", k ? "+" : "", s->depends_on[k]);
        }
        buf_adds(b, "\n");
        if (s->nenv) {
            buf_addf(b, "#   %-16s reads", "");
            for (size_t k = 0; k < s->nenv && k < 12; k++) buf_addf(b, "%s%s", k ? ", " : " ", s->env[k]);
            if (s->nenv > 12) buf_addf(b, ", ... (%zu in all)", s->nenv);
            buf_adds(b, "\n");
        }
    }
}

/* the comments at the top, the identity and the duration */
static void gen_header(struct gen *g, const char *compose_path)
{
    struct buf *b = &g->b;
    char pn[160];
    plan_name(g->project, pn, sizeof pn);
    size_t nstate = g->nstate, nrep = g->nrep;
    buf_addf(b, "# %s starter plan, written by `faultline init --compose %s`.\n", pn, compose_path);
    buf_adds(b, "# It validates as written; before it proves anything about YOUR service:\n"
                "#   1. confirm every SLO under vars: (`faultline validate` warns until you do): each is\n"
                "#      written ${confirm:VALUE}; keep the value (or set yours) and remove ${confirm: }.\n"
                "#      The values are the residency scheduler's SLO table (normal: p95 < 500ms, error rate\n"
                "#      < 0.1%; under load: p95 < 2s, < 1%; critical: 5s, 5%).\n"
                "#   2. check the API URL and the paths the load asks for (vars: api, health_path, load_path).\n"
                "#   3. `faultline run --dry-run` shows the timeline and resolves every target (reads only).\n"
                "# The plan format: docs/plan-format.md; every key explained: docs/plan-reference.yaml.\n#\n");
    comment_services(g);
    buf_adds(b, "#\n# Stateful services (an outage step each) are told by image, then by name:\n"
                "#   database: postgres, postgis, timescale, mysql, mariadb, mongo, cockroach, cassandra (or named db)\n"
                "#   cache:    redis, valkey, keydb, memcached, dragonfly (or named cache)\n"
                "#   queue:    rabbitmq, kafka, nats, activemq, mosquitto, redpanda (or named queue, broker, mq)\n"
                "# A service whose name says celery, worker, beat, sidekiq or rq is a worker, whatever its image.\n");
    buf_addf(b, "faultline: 1\nname: %s-starter\n", pn);
    buf_addf(b, "description: >\n  Starter plan for the compose project '%s': %zu stateful service%s stopped in turn\n"
                "  under a small load%s; the API must fail fast during each outage and recover after it.\n",
             g->project, nstate, nstate == 1 ? "" : "s", nrep ? ",\n  and each replica of the replicated services lost in turn (N-1)" : "");
    buf_adds(b, "tags: [starter]\n");
    buf_adds(b, "duration: ${duration}\n\n");
}

/* vars: the project, the API, the SLOs to confirm and the timeline */
static void gen_vars(struct gen *g)
{
    struct buf *b = &g->b;
    const struct compose *c = g->c;
    size_t nrep = g->nrep;
    int64_t step_at = g->step_at, step_for = g->step_for, gap = g->gap;
    char dur[32];
    snprintf(dur, sizeof dur, "%llds", (long long)g->duration);
    buf_adds(b, "vars:\n");
    buf_addf(b, "  # the compose project: containers carry com.docker.compose.project=<project>\n"
                "  project: ${env:COMPOSE_PROJECT_NAME:-%s}\n", g->project);
    buf_addf(b, "  # %s\n  api: ${env:API_URL:-%s}\n", g->api_from, g->api);
    buf_addf(b, "  # %s\n  health_path: ${confirm:%s}\n", g->health_from, g->health);
    buf_addf(b, "  # what the load asks for: a cheap read of your API (an endpoint that touches the database\n"
                "  # shows an outage best)\n  load_path: ${confirm:%s}\n", g->health);
    buf_adds(b, "  # SLOs to confirm (seed 003's table): normal and under-load latency, the critical line\n"
                "  # no request may cross even during an outage, error rates, and the recovery budget\n"
                "  slo_p95_normal: ${confirm:500ms}\n"
                "  slo_p95_under_load: ${confirm:2s}\n"
                "  slo_critical: ${confirm:5s}\n"
                "  slo_error_rate: ${confirm:1%}\n"
                "  slo_recovery: ${confirm:30s}\n"
                "  # errors are expected inside outages: the whole-run budget (an outage and its recovery\n"
                "  # are a share of the run)\n"
                "  error_budget: ${confirm:50%}\n");
    /* the timeline as vars: shorter with --var (a first try, or a test) */
    buf_addf(b, "  # the timeline: a first fault after %llds of load, each outage %llds, %llds to recover before\n"
                "  # the next; shorter: --var duration=40s --var outage_for=5s --var <step>_at=...\n"
                "  duration: %s\n  outage_for: %llds\n", (long long)step_at, (long long)step_for, (long long)gap, dur,
             (long long)step_for);
    {
        int64_t t = step_at;
        if (nrep) { buf_addf(b, "  lose_one_at: %llds\n", (long long)t); t += step_for + gap; }
        for (size_t i = 0; i < c->n; i++) {
            if (!stateful(g->roles[i])) continue;
            char tn[160];
            snprintf(tn, sizeof tn, "%s", g->tn[i]);
            for (char *q = tn; *q; q++) if (*q == '-') *q = '_';
            buf_addf(b, "  %s_down_at: %llds\n", tn, (long long)t);
            t += step_for + gap;
        }
    }
    buf_adds(b, "\n");

}

/* targets:, load: and steady_state: */
static void gen_targets_load(struct gen *g)
{
    struct buf *b = &g->b;
    const struct compose *c = g->c;
    /* targets */
    buf_adds(b, "targets:\n");
    for (size_t i = 0; i < c->n; i++) {
        const struct compose_service *s = &c->svc[i];
        char tn[160];
        snprintf(tn, sizeof tn, "%s", g->tn[i]);
        if (s->replicas > 1) {
            buf_addf(b, "  # %s: %d replicas, one target each (compose numbers them from 1)\n", s->name, s->replicas);
            for (int k = 1; k <= s->replicas && k <= 16; k++)
                buf_addf(b, "  %s-%d: { docker: { labels: { com.docker.compose.project: \"${project}\", "
                            "com.docker.compose.service: \"%s\", com.docker.compose.container-number: \"%d\" } } }\n",
                         tn, k, s->name, k);
        } else {
            buf_addf(b, "  %s: { docker: { compose: { project: \"${project}\", service: \"%s\" } } }\n", tn, s->name);
        }
    }
    buf_adds(b, "\n");

    /* load */
    buf_adds(b, "load:\n"
                "  - name: api\n"
                "    base_url: ${api}\n"
                "    requests:\n"
                "      - { method: GET, path: \"${load_path}\" }\n"
                "    vus: 5\n"
                "    think: 500ms..1500ms\n"
                "    timeout: 10s\n"
                "    thresholds: [ \"error_rate < ${error_budget}\" ]\n\n");

    /* steady state */
    buf_adds(b, "steady_state:\n"
                "  # the API answers, before the first fault and after the last revert\n"
                "  - { name: api-ready, http: { url: \"${api}${health_path}\", status: 200, max_latency: \"${slo_p95_under_load}\" } }\n");
    for (size_t i = 0; i < c->n; i++) {
        const struct compose_service *s = &c->svc[i];
        if (!s->health || s->replicas != 1) continue;
        char tn[160];
        snprintf(tn, sizeof tn, "%s", g->tn[i]);
        /* the test's text is not copied: it may hold a password */
        buf_addf(b, "  # %s's own healthcheck (healthcheck: in the compose file)\n"
                    "  - { name: %s-healthy, container: { target: %s, expect: healthy } }\n", s->name, tn, tn);
    }
    buf_adds(b, "\n");

}

/* method: an outage step per stateful service (and lose-one for the replicas) */
static void gen_method(struct gen *g)
{
    struct buf *b = &g->b;
    const struct compose *c = g->c;
    size_t nsteps = g->nstate + (g->nrep ? 1 : 0), nrep = g->nrep;
    /* method */
    if (nsteps) buf_adds(b, "method:\n");
    if (nrep) {
        buf_adds(b, "  # N-1: one experiment per replica lost (matrix: below); ${lose} is that replica\n"
                    "  - { name: lose-one, at: \"${lose_one_at}\", for: \"${outage_for}\", fault: docker.stop, target: \"${lose}\", grace: 10s }\n");
        snprintf(g->first_step, sizeof g->first_step, "lose-one");
    }
    for (size_t i = 0; i < c->n; i++) {
        if (!stateful(g->roles[i])) continue;
        const struct compose_service *s = &c->svc[i];
        char tn[160];
        snprintf(tn, sizeof tn, "%s", g->tn[i]);
        buf_addf(b, "  # %s is a %s (%s): stopped for outage_for, started again after\n", s->name, role_name(g->roles[i]),
                 s->image ? s->image : "by its name");
        char vn[160];
        snprintf(vn, sizeof vn, "%s", tn);
        for (char *q = vn; *q; q++) if (*q == '-') *q = '_';
        buf_addf(b, "  - { name: %s-down, at: \"${%s_down_at}\", for: \"${outage_for}\", fault: docker.stop, target: %s%s, grace: 10s }\n",
                 tn, vn, tn, s->replicas > 1 ? "-1" : "");
        if (!g->first_step[0]) snprintf(g->first_step, sizeof g->first_step, "%s-down", tn);
    }
    if (nsteps) buf_adds(b, "\n");

}

/* probes:, stop_when: and the N-1 matrix */
static void gen_probes(struct gen *g)
{
    struct buf *b = &g->b;
    const struct compose *c = g->c;
    size_t nrep = g->nrep;
    /* probes */
    buf_adds(b, "probes:\n");
    if (g->first_step[0])
        buf_addf(b, "  # the normal SLO in the time before the first fault\n"
                    "  - { name: normal-before-faults, before: %s, load: api, expect: [ \"p95 < ${slo_p95_normal}\", "
                    "\"error_rate < ${slo_error_rate}\" ] }\n", g->first_step);
    else
        buf_adds(b, "  # the normal SLO over the whole run (no stateful service was found to stop)\n"
                    "  - { name: normal, load: api, expect: [ \"p95 < ${slo_p95_normal}\", \"error_rate < ${slo_error_rate}\" ] }\n");
    if (nrep)
        buf_adds(b, "  # losing one replica is invisible to users: the under-load SLO holds\n"
                    "  - { name: lose-one-unnoticed, during: lose-one, load: api, expect: [ \"p95 < ${slo_p95_under_load}\", "
                    "\"error_rate < ${slo_error_rate}\" ] }\n");
    for (size_t i = 0; i < c->n; i++) {
        if (!stateful(g->roles[i])) continue;
        char tn[160];
        snprintf(tn, sizeof tn, "%s", g->tn[i]);
        buf_addf(b, "  # while %s is down: no request hangs past the critical line (fail fast)\n"
                    "  - { name: %s-fail-fast, during: %s-down, load: api, expect: \"max < ${slo_critical}\" }\n"
                    "  # after: errors back under the SLO within the recovery budget\n"
                    "  - name: %s-recovers\n"
                    "    recovery: { from: %s-down, load: api, until: \"error_rate < ${slo_error_rate}\", stable: 3, within: \"${slo_recovery}\" }\n",
                 c->svc[i].name, tn, tn, tn, tn);
    }
    buf_adds(b, "\nstop_when:\n"
                "  # stop early (and roll back) when requests hang past the critical line for 20 s\n"
                "  - { load: api, expect: \"p99 < ${slo_critical}\", for: 20s }\n");
    if (nrep) {
        buf_adds(b, "\n# N-1 over the replicated services: each experiment loses one of these (step lose-one)\n"
                    "matrix:\n  lose: [");
        size_t k = 0;
        for (size_t i = 0; i < c->n; i++) {
            const struct compose_service *s = &c->svc[i];
            if (s->replicas <= 1 || stateful(g->roles[i])) continue;
            char tn[160];
            snprintf(tn, sizeof tn, "%s", g->tn[i]);
            for (int r = 1; r <= s->replicas && r <= 16; r++) buf_addf(b, "%s%s-%d", k++ ? ", " : "", tn, r);
        }
        buf_adds(b, "]\n  choose: 1\n");
    }
}

static void gen_starter(struct gen *g, const char *compose_path)
{
    const struct compose *c = g->c;
    for (size_t i = 0; i < c->n; i++) {
        if (stateful(g->roles[i])) g->nstate++;
        if (c->svc[i].replicas > 1 && !stateful(g->roles[i])) g->nrep++;
    }
    size_t nsteps = g->nstate + (g->nrep ? 1 : 0);
    g->step_at = 30, g->step_for = 30, g->gap = 45;   /* seconds */
    g->duration = g->step_at + (int64_t)nsteps * (g->step_for + g->gap) + (nsteps ? 0 : 60);
    g->first_step[0] = '\0';
    gen_header(g, compose_path);
    gen_vars(g);
    gen_targets_load(g);
    gen_method(g);
    gen_probes(g);
}

static int write_out(const char *out, const char *text, int force)
{
    if (!strcmp(out, "-")) { fputs(text, stdout); return 0; }
    struct stat st;
    if (!force && stat(out, &st) == 0) {
        fprintf(stderr, "faultline: '%s' exists: not overwritten (--force overwrites it, -o names another file)\n", out);
        return -1;
    }
    FILE *f = fopen(out, "w");
    if (!f) { fprintf(stderr, "faultline: cannot write '%s': %s\n", out, strerror(errno)); return -1; }
    int ok = fputs(text, f) >= 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok) { fprintf(stderr, "faultline: cannot write '%s': %s\n", out, strerror(errno)); return -1; }
    return 0;
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = { { "compose", required_argument, 0, 'c' }, { "api", required_argument, 0, 'a' },
                                           { "project", required_argument, 0, 'p' }, { "output", required_argument, 0, 'o' },
                                           { "force", no_argument, 0, 'f' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    const char *compose_path = NULL, *api = NULL, *project = NULL, *out = "plan.yaml";
    int force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': compose_path = optarg; break;
        case 'a': api = optarg; break;
        case 'p': project = optarg; break;
        case 'o': out = optarg; break;
        case 'f': force = 1; break;
        case 'h': fputs(init_usage, stdout); return 0;
        default: fputs(init_usage, stderr); return FL_EXIT_INVALID;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "faultline init: unexpected '%s' (the compose file goes after --compose)\n\n%s", argv[optind], init_usage);
        return FL_EXIT_INVALID;
    }
    if (api && strncmp(api, "http://", 7) && strncmp(api, "https://", 8)) {
        fprintf(stderr, "faultline init: --api '%s' must be an http:// or https:// URL\n", api);
        return FL_EXIT_INVALID;
    }
    if (!compose_path) {
        if (write_out(out, init_reference_plan, force) < 0) return FL_EXIT_INVALID;
        if (strcmp(out, "-")) printf("wrote %s: the annotated reference plan (every section explained); `faultline validate %s`\n", out, out);
        return 0;
    }
    struct compose cf;
    char err[FL_ERR_LEN];
    if (compose_load(compose_path, &cf, err) < 0) { fprintf(stderr, "faultline: %s\n", err); return FL_EXIT_INVALID; }
    struct gen g;
    memset(&g, 0, sizeof g);
    g.c = &cf;
    g.roles = fl_calloc(cf.n ? cf.n : 1, sizeof *g.roles);
    for (size_t i = 0; i < cf.n; i++) g.roles[i] = role_of(&cf.svc[i]);
    g.tn = fl_calloc(cf.n ? cf.n : 1, sizeof *g.tn);
    target_names(&cf, g.tn);
    project_of(compose_path, &cf, project, g.project, sizeof g.project);
    /* the API: --api, else the published port of the entry (a proxy), else of an application */
    if (api) { snprintf(g.api, sizeof g.api, "%s", api); g.api_from = "where the API answers (--api)"; }
    for (int pass = 0; pass < 2 && !g.api[0]; pass++)
        for (size_t i = 0; i < cf.n && !g.api[0]; i++) {
            if (g.roles[i] != (pass == 0 ? R_PROXY : R_APP)) continue;
            int port = published_http(&cf.svc[i]);
            if (!port) continue;
            snprintf(g.api, sizeof g.api, "http://127.0.0.1:%d", port);
            static char from[256];
            snprintf(from, sizeof from, "where the API answers: %s's published port %d", cf.svc[i].name, port);
            g.api_from = from;
        }
    if (!g.api[0]) {
        snprintf(g.api, sizeof g.api, "http://127.0.0.1:8000");
        g.api_from = "where the API answers: no service publishes an HTTP port, so a guess (set API_URL or --api)";
    }
    /* the health path: the first healthcheck that calls a URL */
    for (size_t i = 0; i < cf.n && !g.health[0]; i++)
        if (!stateful(g.roles[i]) && health_path(cf.svc[i].health, g.health, sizeof g.health)) {
            static char from[300];
            snprintf(from, sizeof from, "the readiness path, from %s's healthcheck (a readiness check that asks the "
                     "database proves more than a liveness /health)", cf.svc[i].name);
            g.health_from = from;
        }
    if (!g.health[0]) {
        snprintf(g.health, sizeof g.health, "/health");
        g.health_from = "the readiness path: no healthcheck names one, so a guess (prefer one that asks the database)";
    }
    buf_init(&g.b, 1u << 20);
    gen_starter(&g, compose_path);
    int rc = write_out(out, g.b.data, force);
    if (rc == 0 && strcmp(out, "-")) {
        size_t nstate = 0;
        for (size_t i = 0; i < cf.n; i++) nstate += stateful(g.roles[i]);
        printf("wrote %s: %zu service%s, %zu stateful (an outage step each); confirm the SLO placeholders, then "
               "`faultline validate %s` and `faultline run --dry-run %s`\n", out, cf.n, cf.n == 1 ? "" : "s", nstate, out, out);
    }
    buf_release(&g.b);
    free(g.roles);
    free(g.tn);
    compose_release(&cf);
    return rc < 0 ? FL_EXIT_INVALID : 0;
}
