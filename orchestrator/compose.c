/* compose.c -- a docker-compose file's services, read with libyaml's document API (aliases and merge keys followed). */
#include "compose.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "buf.h"
#include "fl.h"

#define COMPOSE_MAX_SERVICES 512
#define COMPOSE_MAX_DEPTH 16     /* merge keys within merge keys (aliases may even loop) */

struct rd {
    yaml_document_t *doc;
    const char *path;
    char *err;
    int failed;
};

static yaml_node_t *nd(struct rd *r, int id) { return id ? yaml_document_get_node(r->doc, id) : NULL; }

static int fail_at(struct rd *r, const yaml_node_t *n, const char *fmt, const char *a, const char *b)
{
    if (r->failed) return -1;
    char msg[300];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    fl_err(r->err, "%s:%lu:%lu: %s", r->path, n ? (unsigned long)n->start_mark.line + 1 : 1UL,
           n ? (unsigned long)n->start_mark.column + 1 : 1UL, msg);
    r->failed = 1;
    return -1;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* value of key in a mapping, following `<<:` merge keys (a mapping or a list of them) */
static yaml_node_t *get_depth(struct rd *r, const yaml_node_t *map, const char *key, int depth)
{
    if (!map || map->type != YAML_MAPPING_NODE || depth > COMPOSE_MAX_DEPTH) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(nd(r, p->key));
        if (k && !strcmp(k, key)) return nd(r, p->value);
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(nd(r, p->key));
        if (!k || strcmp(k, "<<")) continue;
        yaml_node_t *m = nd(r, p->value);
        if (m && m->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = m->data.sequence.items.start; it < m->data.sequence.items.top; it++) {
                yaml_node_t *v = get_depth(r, nd(r, *it), key, depth + 1);
                if (v) return v;
            }
        } else {
            yaml_node_t *v = get_depth(r, m, key, depth + 1);
            if (v) return v;
        }
    }
    return NULL;
}

static yaml_node_t *get(struct rd *r, const yaml_node_t *map, const char *key) { return get_depth(r, map, key, 0); }

static int parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static void add_str(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++) if (!strcmp((*v)[i], s)) return;
    *v = fl_realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = fl_strdup(s);
}

/* "8000", "8000:80", "127.0.0.1:8000:80", "8000:80/tcp", "8000-8001:80-81" (first of a range) */
static int short_port(const char *s, struct compose_port *p)
{
    char tmp[128];
    if (strlen(s) >= sizeof tmp) return -1;
    snprintf(tmp, sizeof tmp, "%s", s);
    char *slash = strchr(tmp, '/');
    if (slash) *slash = '\0';
    char *parts[4];
    size_t np = 0;
    char *save = NULL;
    /* an IPv6 host ("[::1]:8000:80") holds colons: take it off first */
    char *q = tmp;
    if (*q == '[') { char *e = strchr(q, ']'); if (!e || e[1] != ':') return -1; q = e + 2; }
    for (char *t = strtok_r(q, ":", &save); t && np < 4; t = strtok_r(NULL, ":", &save)) parts[np++] = t;
    if (np == 0 || np > 3) return -1;
    long target, pub = 0;
    char *dash;
    if ((dash = strchr(parts[np - 1], '-'))) *dash = '\0';
    if (parse_int(parts[np - 1], 1, 65535, &target) < 0) return -1;
    if (np >= 2) {
        if ((dash = strchr(parts[np - 2], '-'))) *dash = '\0';
        if (*parts[np - 2] && parse_int(parts[np - 2], 1, 65535, &pub) < 0) return -1;
    }
    p->target = (int)target;
    p->published = (int)pub;
    return 0;
}

static int read_ports(struct rd *r, struct compose_service *s, const yaml_node_t *ports, int published_side)
{
    if (!ports) return 0;
    if (ports->type != YAML_SEQUENCE_NODE)
        return fail_at(r, ports, "service '%s': %s must be a list", s->name, published_side ? "ports" : "expose");
    for (yaml_node_item_t *it = ports->data.sequence.items.start; it < ports->data.sequence.items.top; it++) {
        yaml_node_t *e = nd(r, *it);
        struct compose_port p = { 0, 0 };
        if (e && e->type == YAML_MAPPING_NODE) {   /* long syntax: { target: 80, published: "8000" } */
            long t, pub = 0;
            const char *ts = scalar(get(r, e, "target")), *ps = scalar(get(r, e, "published"));
            if (parse_int(ts, 1, 65535, &t) < 0) return fail_at(r, e, "service '%s': a port needs target: (1-65535)", s->name, NULL);
            if (ps) {
                char tmp[32];
                snprintf(tmp, sizeof tmp, "%s", ps);
                char *dash = strchr(tmp, '-');
                if (dash) *dash = '\0';
                if (parse_int(tmp, 1, 65535, &pub) < 0) return fail_at(r, e, "service '%s': published port '%s' is not a port", s->name, ps);
            }
            p.target = (int)t;
            p.published = (int)pub;
        } else if (scalar(e)) {
            if (short_port(scalar(e), &p) < 0) return fail_at(r, e, "service '%s': '%s' is not a port mapping (like 8000:80)", s->name, scalar(e));
            if (!published_side) p.published = 0;
        } else {
            return fail_at(r, e, "service '%s': a port is text (8000:80) or a mapping (target:, published:)", s->name, NULL);
        }
        s->ports = fl_realloc(s->ports, (s->nports + 1) * sizeof *s->ports);
        s->ports[s->nports++] = p;
    }
    return 0;
}

/* the keys of an environment mapping, those of its `<<:` merges included */
static void env_names(struct rd *r, const yaml_node_t *env, struct compose_service *s, int depth)
{
    if (!env || env->type != YAML_MAPPING_NODE || depth > COMPOSE_MAX_DEPTH) return;
    for (yaml_node_pair_t *p = env->data.mapping.pairs.start; p < env->data.mapping.pairs.top; p++) {
        const char *k = scalar(nd(r, p->key));
        if (!k || !*k) continue;
        if (strcmp(k, "<<")) { add_str(&s->env, &s->nenv, k); continue; }
        yaml_node_t *m = nd(r, p->value);
        if (m && m->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = m->data.sequence.items.start; it < m->data.sequence.items.top; it++)
                env_names(r, nd(r, *it), s, depth + 1);
        } else {
            env_names(r, m, s, depth + 1);
        }
    }
}

static int read_service(struct rd *r, const char *name, const yaml_node_t *v, struct compose_service *s)
{
    s->name = fl_strdup(name);
    s->line = (int)v->start_mark.line + 1;
    s->col = (int)v->start_mark.column + 1;
    s->replicas = 1;
    if (v->type != YAML_MAPPING_NODE) return fail_at(r, v, "service '%s' must be a mapping (image:, ports:, ...)", name, NULL);
    const char *img = scalar(get(r, v, "image"));
    if (img) s->image = fl_strdup(img);
    const char *cn = scalar(get(r, v, "container_name"));
    if (cn) s->container_name = fl_strdup(cn);
    yaml_node_t *rep = get(r, get(r, v, "deploy"), "replicas");
    if (!rep) rep = get(r, v, "scale");
    if (rep) {
        long n;
        if (parse_int(scalar(rep), 0, 10000, &n) < 0)
            return fail_at(r, rep, "service '%s': replicas must be a whole number, not '%s'", name, scalar(rep) ? scalar(rep) : "?");
        s->replicas = (int)n;
    }
    if (read_ports(r, s, get(r, v, "ports"), 1) < 0 || read_ports(r, s, get(r, v, "expose"), 0) < 0) return -1;
    yaml_node_t *hc = get(r, v, "healthcheck");
    if (hc && hc->type == YAML_MAPPING_NODE && !(scalar(get(r, hc, "disable")) && !strcmp(scalar(get(r, hc, "disable")), "true"))) {
        yaml_node_t *t = get(r, hc, "test");
        struct buf b;
        buf_init(&b, 4096);
        if (scalar(t)) buf_adds(&b, scalar(t));
        else if (t && t->type == YAML_SEQUENCE_NODE) {
            size_t k = 0;
            for (yaml_node_item_t *it = t->data.sequence.items.start; it < t->data.sequence.items.top; it++, k++) {
                const char *w = scalar(nd(r, *it));
                if (!w || (k == 0 && (!strcmp(w, "CMD") || !strcmp(w, "CMD-SHELL")))) continue;
                if (k == 0 && !strcmp(w, "NONE")) break;
                if (b.len) buf_addc(&b, ' ');
                buf_adds(&b, w);
            }
        }
        if (b.len) s->health = buf_detach(&b);
        else buf_release(&b);
    }
    yaml_node_t *dep = get(r, v, "depends_on");
    if (dep && dep->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = dep->data.sequence.items.start; it < dep->data.sequence.items.top; it++)
            if (scalar(nd(r, *it))) add_str(&s->depends_on, &s->ndepends, scalar(nd(r, *it)));
    } else if (dep && dep->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = dep->data.mapping.pairs.start; p < dep->data.mapping.pairs.top; p++)
            if (scalar(nd(r, p->key))) add_str(&s->depends_on, &s->ndepends, scalar(nd(r, p->key)));
    } else if (dep) {
        return fail_at(r, dep, "service '%s': depends_on must be a list or a mapping", name, NULL);
    }
    /* environment: names only, never values */
    yaml_node_t *env = get(r, v, "environment");
    if (env && env->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = env->data.sequence.items.start; it < env->data.sequence.items.top; it++) {
            const char *e = scalar(nd(r, *it));
            if (!e) continue;
            size_t l = strcspn(e, "=");
            char *nm = fl_strndup(e, l);
            if (*nm) add_str(&s->env, &s->nenv, nm);
            free(nm);
        }
    } else if (env && env->type == YAML_MAPPING_NODE) {
        env_names(r, env, s, 0);
    } else if (env) {
        return fail_at(r, env, "service '%s': environment must be a list or a mapping", name, NULL);
    }
    return 0;
}

int compose_parse(const char *path, const char *bytes, size_t len, struct compose *c, char *err)
{
    memset(c, 0, sizeof *c);
    if (!path) path = "docker-compose.yml";
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return fl_err(err, "%s: cannot start the YAML parser", path);
    yaml_parser_set_input_string(&parser, (const unsigned char *)bytes, len);
    if (!yaml_parser_load(&parser, &doc)) {
        char ctx[160] = "";
        if (parser.context)
            snprintf(ctx, sizeof ctx, " %s (from %lu:%lu)", parser.context, (unsigned long)parser.context_mark.line + 1,
                     (unsigned long)parser.context_mark.column + 1);
        fl_err(err, "%s:%lu:%lu: not valid YAML: %s%s", path, (unsigned long)parser.problem_mark.line + 1,
               (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error", ctx);
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    struct rd r = { &doc, path, err, 0 };
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = 0;
    if (!root) {
        rc = fl_err(err, "%s: the file is empty (a compose file has services:)", path);
    } else if (root->type != YAML_MAPPING_NODE) {
        rc = fail_at(&r, root, "a compose file is a mapping with services:%s%s", NULL, NULL);
    } else {
        const char *nm = scalar(get(&r, root, "name"));
        if (nm) c->name = fl_strdup(nm);
        yaml_node_t *svcs = get(&r, root, "services");
        if (!svcs) rc = fail_at(&r, root, "no services: in the file%s%s", NULL, NULL);
        else if (svcs->type != YAML_MAPPING_NODE) rc = fail_at(&r, svcs, "services: must be a mapping of name: { image: ... }%s%s", NULL, NULL);
        else {
            for (yaml_node_pair_t *p = svcs->data.mapping.pairs.start; p < svcs->data.mapping.pairs.top && rc == 0; p++) {
                const char *sn = scalar(nd(&r, p->key));
                yaml_node_t *v = nd(&r, p->value);
                if (!sn || !v) { rc = fail_at(&r, nd(&r, p->key), "a service name must be text%s%s", NULL, NULL); break; }
                if (c->n >= COMPOSE_MAX_SERVICES) { rc = fail_at(&r, v, "more than 512 services%s%s", NULL, NULL); break; }
                c->svc = fl_realloc(c->svc, (c->n + 1) * sizeof *c->svc);
                memset(&c->svc[c->n], 0, sizeof c->svc[c->n]);
                rc = read_service(&r, sn, v, &c->svc[c->n++]);
            }
            if (rc == 0 && c->n == 0) rc = fail_at(&r, svcs, "services: is empty%s%s", NULL, NULL);
        }
    }
    yaml_document_delete(&doc);
    if (rc < 0) compose_release(c);
    return rc;
}

int compose_load(const char *path, struct compose *c, char *err)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) return fl_err(err, "cannot read the compose file '%s': %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, 4u << 20);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (buf_add(&b, tmp, n) < 0) { fclose(f); buf_release(&b); return fl_err(err, "the compose file '%s' is larger than 4 MiB", path); }
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) { buf_release(&b); return fl_err(err, "cannot read the compose file '%s' (a directory?)", path); }
    int rc = compose_parse(path, b.data ? b.data : "", b.len, c, err);
    buf_release(&b);
    return rc;
}

void compose_release(struct compose *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct compose_service *s = &c->svc[i];
        free(s->name);
        free(s->image);
        free(s->container_name);
        free(s->ports);
        free(s->health);
        for (size_t k = 0; k < s->ndepends; k++) free(s->depends_on[k]);
        free(s->depends_on);
        for (size_t k = 0; k < s->nenv; k++) free(s->env[k]);
        free(s->env);
    }
    free(c->svc);
    free(c->name);
    memset(c, 0, sizeof *c);
}

const struct compose_service *compose_find(const struct compose *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++) if (!strcmp(c->svc[i].name, name)) return &c->svc[i];
    return NULL;
}
