/* proxy_api.c -- Toxiproxy's HTTP API over the fault proxy engine (see proxy_api.h): the
 * request router and JSON model (pxapi_handle) and its libmicrohttpd server. Toxic types,
 * attributes and units come from px_toxics[] (proxy_toxics.c). */
#include "proxy_api.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "fl.h"
#include "proxy_toxics.h"

#define API_BODY_MAX (1 << 20)

struct api_toxic {
    struct api_toxic *next;
    char *name;
    int upstream;            /* stream: 1 upstream, 0 downstream */
    double toxicity;
    struct px_toxic_cfg cfg;
    int id;                  /* in the engine while the proxy is enabled, else 0 */
};

struct api_proxy {
    struct api_proxy *next;
    char *name, *listen, *upstream;
    int enabled;
    struct px *px;           /* while enabled */
    struct api_toxic *toxics;
};

struct pxapi {
    struct px_engine *e;
    unsigned flags;
    pthread_mutex_t mu;      /* requests are answered one at a time */
    struct api_proxy *proxies;
    struct MHD_Daemon *d;
    char addr[192];
};

/* ---- replies -------------------------------------------------------------------- */
/* Toxiproxy's error shape: {"error": "...", "status": N} */
static int api_error(char **out, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int api_error(char **out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:s, s:i}", "error", msg, "status", status);
    if (!j) {
        /* not UTF-8 (a raw byte of the path, a name cut short): those bytes become '?' */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
        j = json_pack("{s:s, s:i}", "error", msg, "status", status);
    }
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return status;
}

static int api_json(char **out, int status, json_t *j)
{
    *out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return status;
}

/* ---- the model -------------------------------------------------------------------- */
static struct api_proxy *find_proxy(struct pxapi *a, const char *name)
{
    for (struct api_proxy *p = a->proxies; p; p = p->next)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

static struct api_toxic *find_toxic(struct api_proxy *p, const char *name)
{
    for (struct api_toxic *t = p->toxics; t; t = t->next)
        if (strcmp(t->name, name) == 0) return t;
    return NULL;
}

static const struct px_toxic_type *type_of(const struct api_toxic *t) { return &px_toxics[t->cfg.kind]; }

/* a toxic's attributes in Toxiproxy's units */
static json_t *attrs_json(const struct api_toxic *t)
{
    json_t *o = json_object();
    const char *base = (const char *)&t->cfg;
    for (const struct px_attr *at = type_of(t)->attrs; at->name; at++) {
        if (!at->toxiproxy || at->type == PXA_DIRECTION || at->ptype == PT_MAP) continue;
        const char *p = base + at->offset;
        json_t *v = NULL;
        switch (at->type) {
        case PXA_DURATION: {
            int64_t us;
            memcpy(&us, p, sizeof us);
            v = json_integer((at->flags & PXA_F_TP_US) ? us : us / 1000);
            break;
        }
        case PXA_RATE: {
            double r;
            memcpy(&r, p, sizeof r);
            v = json_integer((json_int_t)(r / 1000));
            break;
        }
        case PXA_INT:
            if (at->size == sizeof(int)) { int i; memcpy(&i, p, sizeof i); v = json_integer(i); }
            else { int64_t i; memcpy(&i, p, sizeof i); v = json_integer(i); }
            break;
        case PXA_SHARE: { double d; memcpy(&d, p, sizeof d); v = json_real(d); break; }
        case PXA_BYTES: { int64_t b; memcpy(&b, p, sizeof b); v = json_integer(b); break; }
        case PXA_STR: v = json_string(p); break;
        case PXA_DIRECTION: break;
        }
        if (v) json_object_set_new(o, at->toxiproxy, v);
    }
    return o;
}

static json_t *toxic_json(const struct api_toxic *t)
{
    const struct px_toxic_type *ty = type_of(t);
    return json_pack("{s:s, s:s, s:s, s:f, s:o}", "name", t->name, "type", ty->toxiproxy ? ty->toxiproxy : ty->name,
                     "stream", t->upstream ? "upstream" : "downstream", "toxicity", t->toxicity, "attributes",
                     attrs_json(t));
}

static json_t *proxy_json(const struct api_proxy *p)
{
    json_t *tx = json_array();
    for (const struct api_toxic *t = p->toxics; t; t = t->next) json_array_append_new(tx, toxic_json(t));
    return json_pack("{s:s, s:s, s:s, s:b, s:o}", "name", p->name, "listen", p->listen, "upstream", p->upstream,
                     "enabled", p->enabled, "toxics", tx);
}

/* into the engine: the toxic on the proxy's listener (the proxy is enabled) */
static int toxic_apply(struct api_proxy *p, struct api_toxic *t, char *err)
{
    struct px_toxic_cfg c = t->cfg;
    c.probability = t->toxicity;
    if (!(type_of(t)->flags & PX_TF_HTTP) && type_of(t)->dirs_default)
        c.direction = t->upstream ? PX_DIR_UPSTREAM : PX_DIR_DOWNSTREAM;
    int id = px_add_toxic(p->px, &c, err);
    if (id < 0) return -1;
    t->id = id;
    return 0;
}

static void toxic_unapply(struct api_proxy *p, struct api_toxic *t)
{
    char err[FL_ERR_LEN];
    if (p->px && t->id > 0) px_remove_toxic(p->px, t->id, err);
    t->id = 0;
}

static void proxy_disable(struct api_proxy *p)
{
    if (!p->px) return;
    px_close(p->px);   /* closes its listener and connections, with the toxics */
    p->px = NULL;
    for (struct api_toxic *t = p->toxics; t; t = t->next) t->id = 0;
}

static int loopback_addr(const char *addr)
{
    char host[256];
    const char *c = strrchr(addr, ':');
    size_t n = c ? (size_t)(c - addr) : strlen(addr);
    if (n >= sizeof host) return 0;
    memcpy(host, addr, n);
    host[n] = '\0';
    return strncmp(host, "127.", 4) == 0 || !strcmp(host, "[::1]") || !strcmp(host, "localhost");
}

static int proxy_enable(struct pxapi *a, struct api_proxy *p, char *err)
{
    if (p->px) return 0;
    if ((a->flags & PXAPI_LOOPBACK_ONLY) && (!loopback_addr(p->listen) || !loopback_addr(p->upstream)))
        return fl_err(err, "'%s' -> '%s': only loopback addresses are allowed here", p->listen, p->upstream);
    p->px = px_listen(a->e, p->listen, p->upstream, err);
    if (!p->px) return -1;
    free(p->listen);
    p->listen = fl_strdup(px_address(p->px));   /* port 0 asked: the port chosen */
    for (struct api_toxic *t = p->toxics; t; t = t->next) {
        if (toxic_apply(p, t, err) < 0) { proxy_disable(p); return -1; }
    }
    return 0;
}

static void toxic_free(struct api_toxic *t)
{
    free(t->name);
    free(t);
}

static void proxy_free(struct api_proxy *p)
{
    proxy_disable(p);
    while (p->toxics) {
        struct api_toxic *t = p->toxics;
        p->toxics = t->next;
        toxic_free(t);
    }
    free(p->name);
    free(p->listen);
    free(p->upstream);
    free(p);
}

static void proxy_unlink(struct pxapi *a, struct api_proxy *p)
{
    for (struct api_proxy **pp = &a->proxies; *pp; pp = &(*pp)->next)
        if (*pp == p) { *pp = p->next; return; }
}

/* ---- request bodies ----------------------------------------------------------------- */
/* every key of o is one of keys (NULL-terminated); else 400 with the first unknown */
static const char *unknown_key(json_t *o, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int ok = 0;
        for (size_t i = 0; keys[i]; i++)
            if (strcmp(k, keys[i]) == 0) ok = 1;
        if (!ok) return k;
    }
    return NULL;
}

/* one attribute value from JSON in Toxiproxy's units into c */
static int attr_from_json(const struct px_attr *at, struct px_toxic_cfg *c, json_t *v, char *err)
{
    char *p = (char *)c + at->offset;
    if (at->type == PXA_STR) {
        if (!json_is_string(v)) return fl_err(err, "attribute '%s' must be a string", at->toxiproxy);
        return px_attr_set(at, c, json_string_value(v), err);
    }
    if (!json_is_number(v)) return fl_err(err, "attribute '%s' must be a number", at->toxiproxy);
    double d = json_number_value(v);
    if (!(d >= 0 && d <= 1e15)) return fl_err(err, "attribute '%s' must be a number within 0..1e15", at->toxiproxy);
    switch (at->type) {
    case PXA_DURATION: {
        int64_t us = (at->flags & PXA_F_TP_US) ? (int64_t)d : (int64_t)(d * 1000);
        memcpy(p, &us, sizeof us);
        return 0;
    }
    case PXA_RATE: { double r = d * 1000; memcpy(p, &r, sizeof r); return 0; }
    case PXA_INT:
        if (d != (double)(int64_t)d || d > 1e9) return fl_err(err, "attribute '%s' must be a whole number", at->toxiproxy);
        if (at->size == sizeof(int)) { int i = (int)d; memcpy(p, &i, sizeof i); }
        else { int64_t i = (int64_t)d; memcpy(p, &i, sizeof i); }
        return 0;
    case PXA_SHARE:
        if (d > 1) return fl_err(err, "attribute '%s' must be within 0..1", at->toxiproxy);
        memcpy(p, &d, sizeof d);
        return 0;
    case PXA_BYTES: { int64_t b = (int64_t)d; memcpy(p, &b, sizeof b); return 0; }
    default:
        return fl_err(err, "attribute '%s' cannot be set", at->toxiproxy);
    }
}

/* {type, name, stream, toxicity, attributes} onto t (new: t->cfg.kind unset) */
static int toxic_from_json(struct api_toxic *t, json_t *o, int is_new, int *status, char *err)
{
    static const char *const keys[] = { "name", "type", "stream", "toxicity", "attributes", NULL };
    *status = 400;
    if (!json_is_object(o)) return fl_err(err, "bad request body: a toxic is a JSON object");
    const char *uk = unknown_key(o, keys);
    if (uk) return fl_err(err, "unknown field '%s' in a toxic (fields: name, type, stream, toxicity, attributes)", uk);
    json_t *ty = json_object_get(o, "type"), *st = json_object_get(o, "stream"), *tx = json_object_get(o, "toxicity"),
           *at = json_object_get(o, "attributes"), *nm = json_object_get(o, "name");
    if (is_new) {
        if (!json_is_string(ty)) return fl_err(err, "missing required field: type");
        const struct px_toxic_type *tt = px_toxic_find(json_string_value(ty), 1);
        if (!tt) {
            char known[256] = "";
            for (size_t i = 0; i < PX_NKINDS; i++) {
                const char *n = px_toxics[i].toxiproxy ? px_toxics[i].toxiproxy : i == PX_DOWN ? NULL : px_toxics[i].name;
                if (!n) continue;
                strncat(known, known[0] ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, n, sizeof known - strlen(known) - 1);
            }
            return fl_err(err, "invalid toxic type '%s' (types: %s; down is enabled: false on the proxy)",
                          json_string_value(ty), known);
        }
        px_toxic_defaults(&t->cfg, (enum px_kind)(tt - px_toxics));
        t->toxicity = 1;
        t->upstream = 0;
    } else if (ty && (!json_is_string(ty) || strcmp(json_string_value(ty), type_of(t)->toxiproxy ? type_of(t)->toxiproxy
                                                                                         : type_of(t)->name))) {
        return fl_err(err, "a toxic's type cannot change");
    }
    if (nm && !json_is_string(nm)) return fl_err(err, "field 'name' must be a string");
    if (st) {
        const char *s = json_is_string(st) ? json_string_value(st) : "";
        if (!strcmp(s, "upstream")) t->upstream = 1;
        else if (!strcmp(s, "downstream")) t->upstream = 0;
        else return fl_err(err, "stream was invalid, can be either upstream or downstream");
    }
    if (tx) {
        if (!json_is_number(tx) || !(json_number_value(tx) >= 0 && json_number_value(tx) <= 1))
            return fl_err(err, "toxicity must be a number within 0..1");
        t->toxicity = json_number_value(tx);
    }
    if (at) {
        if (!json_is_object(at)) return fl_err(err, "field 'attributes' must be an object");
        const char *k;
        json_t *v;
        json_object_foreach(at, k, v) {
            const struct px_attr *a = px_attr_find(type_of(t), k, 1);
            if (!a || a->type == PXA_DIRECTION || a->ptype == PT_MAP) {
                char known[256] = "";
                for (const struct px_attr *b = type_of(t)->attrs; b->name; b++) {
                    if (!b->toxiproxy || b->type == PXA_DIRECTION || b->ptype == PT_MAP) continue;
                    strncat(known, known[0] ? ", " : "", sizeof known - strlen(known) - 1);
                    strncat(known, b->toxiproxy, sizeof known - strlen(known) - 1);
                }
                return fl_err(err, "toxic type '%s' has no attribute '%s' (attributes: %s)",
                              json_string_value(json_object_get(o, "type")) ? json_string_value(json_object_get(o, "type"))
                                                                           : type_of(t)->name,
                              k, known[0] ? known : "none");
            }
            if (attr_from_json(a, &t->cfg, v, err) < 0) return -1;
        }
    }
    char cerr[FL_ERR_LEN];
    struct px_toxic_cfg c = t->cfg;
    c.probability = t->toxicity;
    if (px_toxic_check(&c, cerr) < 0) return fl_err(err, "%s", cerr);
    *status = 200;
    return 0;
}

/* {name, listen, upstream, enabled} checked; name/listen/upstream out (borrowed) */
static int proxy_fields(json_t *o, int need_all, const char **name, const char **listen, const char **upstream,
                        int *enabled, char *err)
{
    static const char *const keys[] = { "name", "listen", "upstream", "enabled", NULL };
    if (!json_is_object(o)) return fl_err(err, "bad request body: a proxy is a JSON object");
    const char *uk = unknown_key(o, keys);
    if (uk) return fl_err(err, "unknown field '%s' in a proxy (fields: name, listen, upstream, enabled)", uk);
    json_t *n = json_object_get(o, "name"), *l = json_object_get(o, "listen"), *u = json_object_get(o, "upstream"),
           *e = json_object_get(o, "enabled");
    if ((n && !json_is_string(n)) || (l && !json_is_string(l)) || (u && !json_is_string(u)))
        return fl_err(err, "fields name, listen and upstream must be strings");
    if (e && !json_is_boolean(e)) return fl_err(err, "field 'enabled' must be true or false");
    *name = n ? json_string_value(n) : NULL;
    *listen = l ? json_string_value(l) : NULL;
    *upstream = u ? json_string_value(u) : NULL;
    if (e) *enabled = json_is_true(e);
    if (need_all && (!*name || !**name)) return fl_err(err, "missing required field: name");
    if (need_all && (!*upstream || !**upstream)) return fl_err(err, "missing required field: upstream");
    if (*name && (strlen(*name) > 200 || strchr(*name, '/')))
        return fl_err(err, "proxy name '%s' must be at most 200 characters without '/'", *name);
    if (*listen && px_addr_check(*listen, err) < 0) return -1;
    if (*upstream && px_addr_check(*upstream, err) < 0) return -1;
    return 0;
}

static int create_proxy(struct pxapi *a, json_t *o, struct api_proxy **out, int *status, char *err)
{
    const char *name, *listen, *upstream;
    int enabled = 1;
    *status = 400;
    if (proxy_fields(o, 1, &name, &listen, &upstream, &enabled, err) < 0) return -1;
    if (find_proxy(a, name)) { *status = 409; return fl_err(err, "proxy already exists"); }
    struct api_proxy *p = fl_calloc(1, sizeof *p);
    p->name = fl_strdup(name);
    p->listen = fl_strdup(listen && *listen ? listen : "127.0.0.1:0");
    p->upstream = fl_strdup(upstream);
    p->enabled = enabled;
    if (enabled && proxy_enable(a, p, err) < 0) {
        proxy_free(p);
        *status = 500;
        return -1;
    }
    p->next = NULL;
    struct api_proxy **pp = &a->proxies;
    while (*pp) pp = &(*pp)->next;
    *pp = p;
    *out = p;
    *status = 201;
    return 0;
}

/* POST /proxies/{name}: enabled, listen, upstream */
static int update_proxy(struct pxapi *a, struct api_proxy *p, json_t *o, int *status, char *err)
{
    const char *name, *listen, *upstream;
    int enabled = p->enabled;
    *status = 400;
    if (proxy_fields(o, 0, &name, &listen, &upstream, &enabled, err) < 0) return -1;
    if (name && strcmp(name, p->name)) return fl_err(err, "a proxy's name cannot change (it is '%s')", p->name);
    int moved = (listen && strcmp(listen, p->listen)) || (upstream && strcmp(upstream, p->upstream));
    if (moved || !enabled) proxy_disable(p);
    if (listen) { free(p->listen); p->listen = fl_strdup(listen); }
    if (upstream) { free(p->upstream); p->upstream = fl_strdup(upstream); }
    p->enabled = enabled;
    if (enabled && proxy_enable(a, p, err) < 0) { p->enabled = 0; *status = 500; return -1; }
    *status = 200;
    return 0;
}

/* ---- the router ------------------------------------------------------------------------ */
/* POST /reset: every toxic removed, every proxy enabled */
static int route_reset(struct pxapi *a, char **out)
{
    char err[FL_ERR_LEN];
    for (struct api_proxy *p = a->proxies; p; p = p->next) {
        while (p->toxics) {
            struct api_toxic *t = p->toxics;
            toxic_unapply(p, t);
            p->toxics = t->next;
            toxic_free(t);
        }
        p->enabled = 1;
        if (proxy_enable(a, p, err) < 0) return api_error(out, 500, "proxy '%s': %s", p->name, err);
    }
    return 204;
}

/* POST /populate: create or update proxies from a JSON array, all checked first */
static int route_populate(struct pxapi *a, json_t *body, char **out)
{
    char err[FL_ERR_LEN];
    int status;
    if (!json_is_array(body)) return api_error(out, 400, "bad request body: /populate takes a JSON array of proxies");
    /* check them all first: a bad one changes nothing */
    size_t i;
    json_t *o;
    json_array_foreach(body, i, o) {
        const char *name, *listen, *upstream;
        int en = 1;
        if (proxy_fields(o, 1, &name, &listen, &upstream, &en, err) < 0)
            return api_error(out, 400, "proxy %zu: %s", i, err);
    }
    json_t *done = json_array();
    json_array_foreach(body, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        struct api_proxy *p = find_proxy(a, name);
        int rc;
        if (p) {
            json_t *upd = json_deep_copy(o);
            json_object_del(upd, "name");
            rc = update_proxy(a, p, upd, &status, err);
            json_decref(upd);
        } else {
            rc = create_proxy(a, o, &p, &status, err);
        }
        if (rc < 0) {
            json_t *j = json_pack("{s:s, s:i, s:o}", "error", err, "status", status, "proxies", done);
            return api_json(out, status, j);
        }
        json_array_append_new(done, proxy_json(p));
    }
    return api_json(out, 201, json_pack("{s:o}", "proxies", done));
}

/* POST /proxies/{proxy}/toxics: a new toxic, applied when the proxy is enabled */
static int route_toxic_create(struct api_proxy *p, json_t *body, char **out)
{
    char err[FL_ERR_LEN];
    int status;
    struct api_toxic *t = fl_calloc(1, sizeof *t);
    if (toxic_from_json(t, body, 1, &status, err) < 0) {
        toxic_free(t);
        return api_error(out, status, "%s", err);
    }
    const char *nm = json_string_value(json_object_get(body, "name"));
    if (nm && (!*nm || strlen(nm) > 200 || strchr(nm, '/'))) {
        toxic_free(t);
        return api_error(out, 400, "toxic name '%s' must be 1..200 characters without '/'", nm);
    }
    const struct px_toxic_type *ty = type_of(t);
    t->name = nm ? fl_strdup(nm)
                 : fl_asprintf("%s_%s", ty->toxiproxy ? ty->toxiproxy : ty->name, t->upstream ? "upstream" : "downstream");
    if (find_toxic(p, t->name)) {
        toxic_free(t);
        return api_error(out, 409, "toxic already exists");
    }
    if (p->px && toxic_apply(p, t, err) < 0) {
        toxic_free(t);
        return api_error(out, 500, "%s", err);
    }
    struct api_toxic **tp = &p->toxics;
    while (*tp) tp = &(*tp)->next;
    *tp = t;
    return api_json(out, 200, toxic_json(t));
}

/* GET, POST and DELETE /proxies/{proxy}/toxics/{toxic} */
static int route_toxic(struct api_proxy *p, const char *method, const char *name, json_t *body, char **out)
{
    char err[FL_ERR_LEN];
    int status;
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST"), del = !strcmp(method, "DELETE");
    struct api_toxic *t = find_toxic(p, name);
    if (!t) return api_error(out, 404, "toxic not found");
    if (get) return api_json(out, 200, toxic_json(t));
    if (del) {
        toxic_unapply(p, t);
        for (struct api_toxic **tp = &p->toxics; *tp; tp = &(*tp)->next)
            if (*tp == t) { *tp = t->next; break; }
        toxic_free(t);
        return 204;
    }
    if (!post) return api_error(out, 405, "method %s not allowed on a toxic", method);
    struct api_toxic nt = *t;
    if (toxic_from_json(&nt, body, 0, &status, err) < 0) return api_error(out, status, "%s", err);
    const char *nm = json_string_value(json_object_get(body, "name"));
    if (nm && strcmp(nm, t->name)) return api_error(out, 400, "a toxic's name cannot change (it is '%s')", t->name);
    /* the engine's toxic is replaced: what the old one holds is forwarded */
    int was = t->id > 0;
    toxic_unapply(p, t);
    t->cfg = nt.cfg;
    t->toxicity = nt.toxicity;
    t->upstream = nt.upstream;
    if (was && toxic_apply(p, t, err) < 0) return api_error(out, 500, "%s", err);
    return api_json(out, 200, toxic_json(t));
}

/* one request of Toxiproxy's API: its status, and the reply's JSON in *out */
static int route(struct pxapi *a, const char *method, const char *path, json_t *body, char **out)
{
    char err[FL_ERR_LEN];
    int status;
    char seg[4][256];
    int nseg = 0;
    const char *s = path;
    while (*s == '/') s++;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (nseg == 4 || n >= sizeof seg[0]) return api_error(out, 404, "no such path '%s'", path);
        memcpy(seg[nseg], s, n);
        seg[nseg++][n] = '\0';
        s += n;
        while (*s == '/') s++;
    }
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST"), del = !strcmp(method, "DELETE");
    if (nseg == 1 && !strcmp(seg[0], "version")) {
        if (!get) return api_error(out, 405, "method %s not allowed on /version", method);
        return api_json(out, 200, json_pack("{s:s}", "version", "faultline " FL_VERSION));
    }
    if (nseg == 1 && !strcmp(seg[0], "reset")) {
        if (!post) return api_error(out, 405, "method %s not allowed on /reset", method);
        return route_reset(a, out);
    }
    if (nseg == 1 && !strcmp(seg[0], "populate")) {
        if (!post) return api_error(out, 405, "method %s not allowed on /populate", method);
        return route_populate(a, body, out);
    }
    if (nseg == 0 || strcmp(seg[0], "proxies")) return api_error(out, 404, "no such path '%s'", path);
    if (nseg == 1) {
        if (get) {
            json_t *o = json_object();
            for (struct api_proxy *p = a->proxies; p; p = p->next) json_object_set_new(o, p->name, proxy_json(p));
            return api_json(out, 200, o);
        }
        if (!post) return api_error(out, 405, "method %s not allowed on /proxies", method);
        struct api_proxy *p;
        if (create_proxy(a, body, &p, &status, err) < 0) return api_error(out, status, "%s", err);
        return api_json(out, 201, proxy_json(p));
    }
    struct api_proxy *p = find_proxy(a, seg[1]);
    if (!p) return api_error(out, 404, "proxy not found");
    if (nseg == 2) {
        if (get) return api_json(out, 200, proxy_json(p));
        if (del) {
            proxy_unlink(a, p);
            proxy_free(p);
            return 204;
        }
        if (!post) return api_error(out, 405, "method %s not allowed on a proxy", method);
        if (update_proxy(a, p, body, &status, err) < 0) return api_error(out, status, "%s", err);
        return api_json(out, 200, proxy_json(p));
    }
    if (strcmp(seg[2], "toxics")) return api_error(out, 404, "no such path '%s'", path);
    if (nseg == 3) {
        if (get) {
            json_t *arr = json_array();
            for (struct api_toxic *t = p->toxics; t; t = t->next) json_array_append_new(arr, toxic_json(t));
            return api_json(out, 200, arr);
        }
        if (!post) return api_error(out, 405, "method %s not allowed on toxics", method);
        return route_toxic_create(p, body, out);
    }
    return route_toxic(p, method, seg[3], body, out);
}

int pxapi_handle(struct pxapi *a, const char *method, const char *path, const char *body, size_t n, char **out)
{
    *out = NULL;
    json_t *j = NULL;
    if (n > 0) {
        json_error_t je;
        j = json_loadb(body, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!j) return api_error(out, 400, "bad request body: %s (line %d, column %d)", je.text, je.line, je.column);
    } else if (!strcmp(method, "POST")) {
        j = json_object();   /* POST /reset has no body; elsewhere an empty object is checked */
    }
    pthread_mutex_lock(&a->mu);
    int st = route(a, method, path, j, out);
    pthread_mutex_unlock(&a->mu);
    json_decref(j);
    return st;
}

struct pxapi *pxapi_new(struct px_engine *e, unsigned flags)
{
    struct pxapi *a = fl_calloc(1, sizeof *a);
    a->e = e;
    a->flags = flags;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void pxapi_free(struct pxapi *a)
{
    if (!a) return;
    if (a->d) MHD_stop_daemon(a->d);
    while (a->proxies) {
        struct api_proxy *p = a->proxies;
        a->proxies = p->next;
        proxy_free(p);
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

const char *pxapi_address(const struct pxapi *a) { return a->addr; }

/* ---- HTTP (libmicrohttpd) --------------------------------------------------------------- */
struct req { char *buf; size_t len; int too_big; };

static void req_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)c; (void)toe;
    struct req *r = *con_cls;
    if (r) { free(r->buf); free(r); }
    *con_cls = NULL;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct pxapi *a = cls;
    struct req *r = *con_cls;
    if (!r) {
        *con_cls = fl_calloc(1, sizeof *r);
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->len + *upload_size > API_BODY_MAX) r->too_big = 1;
        else {
            r->buf = fl_realloc(r->buf, r->len + *upload_size + 1);
            memcpy(r->buf + r->len, upload, *upload_size);
            r->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    char *out = NULL;
    int st = r->too_big ? api_error(&out, 413, "request body larger than %d bytes", API_BODY_MAX)
                        : pxapi_handle(a, method, url, r->buf, r->len, &out);
    struct MHD_Response *resp = MHD_create_response_from_buffer(out ? strlen(out) : 0, out ? out : (char *)"",
                                                                out ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (out) MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)st, resp);
    MHD_destroy_response(resp);
    return rc;
}

int pxapi_serve(struct pxapi *a, const char *addr, char *err)
{
    char full[160];
    if (addr && strspn(addr, "0123456789") == strlen(addr) && *addr) snprintf(full, sizeof full, "127.0.0.1:%s", addr);
    else snprintf(full, sizeof full, "%s", addr ? addr : "");
    char host[128], port[16];
    const char *colon = strrchr(full, ':');
    if (px_addr_check(full, err) < 0 || !colon) return -1;
    size_t hl = (size_t)(colon - full);
    if (full[0] == '[') { memcpy(host, full + 1, hl - 2); host[hl - 2] = '\0'; }
    else { memcpy(host, full, hl); host[hl] = '\0'; }
    snprintf(port, sizeof port, "%s", colon + 1);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0 || !res) return fl_err(err, "cannot resolve API address '%s': %s", full, gai_strerror(g));
    unsigned fl = MHD_USE_INTERNAL_POLLING_THREAD | (res->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    a->d = MHD_start_daemon(fl, (uint16_t)atoi(port), NULL, NULL, answer, a, MHD_OPTION_SOCK_ADDR, res->ai_addr,
                            MHD_OPTION_NOTIFY_COMPLETED, req_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                            MHD_OPTION_END);
    freeaddrinfo(res);
    if (!a->d) return fl_err(err, "cannot serve the API on '%s' (address in use, or not ours)", full);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : atoi(port);
    snprintf(a->addr, sizeof a->addr, "%s%s%s:%d", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", bound);
    return 0;
}
