/* node.c -- YAML (libyaml events) to a tree of positioned nodes; diagnostics list. */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "fl.h"

#define NODE_MAX_DEPTH 64
#define NODE_MAX_FILE (16u << 20)

void diag_init(struct diag *d, const char *file)
{
    memset(d, 0, sizeof *d);
    d->file = file;
}

void diag_release(struct diag *d)
{
    for (size_t i = 0; i < d->n; i++) free(d->msgs[i]);
    free(d->msgs);
    d->msgs = NULL;
    d->n = d->alloc = 0;
}

static void diag_vadd(struct diag *d, int line, int col, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fl_redact(msg);
    if (d->n == d->alloc) {
        d->alloc = d->alloc ? d->alloc * 2 : 8;
        d->msgs = fl_realloc(d->msgs, d->alloc * sizeof *d->msgs);
    }
    if (line > 0)
        d->msgs[d->n++] = fl_asprintf("%s:%d:%d: %s", d->file ? d->file : "plan", line, col, msg);
    else
        d->msgs[d->n++] = fl_asprintf("%s: %s", d->file ? d->file : "plan", msg);
}

void diag_add(struct diag *d, const struct node *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, at ? at->line : 0, at ? at->col : 0, fmt, ap);
    va_end(ap);
}

void diag_add_pos(struct diag *d, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, line, col, fmt, ap);
    va_end(ap);
}

static struct node *node_new(enum node_type t, const yaml_mark_t *m)
{
    struct node *n = fl_calloc(1, sizeof *n);
    n->type = t;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

void node_free(struct node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        node_free(n->items[i]);
        if (n->keys) node_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->str);
    free(n);
}

static void append(struct node *parent, struct node *key, struct node *val)
{
    parent->items = fl_realloc(parent->items, (parent->n + 1) * sizeof *parent->items);
    if (parent->type == NODE_MAP) {
        parent->keys = fl_realloc(parent->keys, (parent->n + 1) * sizeof *parent->keys);
        parent->keys[parent->n] = key;
    }
    parent->items[parent->n++] = val;
}

struct builder {
    yaml_parser_t parser;
    struct diag *d;
    int failed;
};

static int next_event(struct builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        const yaml_mark_t *m = &b->parser.problem_mark;
        diag_add_pos(b->d, (int)m->line + 1, (int)m->column + 1, "yaml: %s%s%s",
                     b->parser.problem ? b->parser.problem : "syntax error",
                     b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
        b->failed = 1;
        return -1;
    }
    return 0;
}

/* parse one node whose first event is ev (consumed) */
static struct node *build(struct builder *b, yaml_event_t *ev, int depth)
{
    struct node *n = NULL;
    if (depth > NODE_MAX_DEPTH) {
        diag_add_pos(b->d, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                     "yaml: nesting deeper than %d levels", NODE_MAX_DEPTH);
        b->failed = 1;
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = node_new(NODE_SCALAR, &ev->start_mark);
        n->str = fl_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        yaml_event_delete(ev);
        return n;
    case YAML_ALIAS_EVENT:
        diag_add_pos(b->d, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                     "yaml: aliases are not supported in plans");
        b->failed = 1;
        yaml_event_delete(ev);
        return NULL;
    case YAML_SEQUENCE_START_EVENT:
        n = node_new(NODE_SEQ, &ev->start_mark);
        yaml_event_delete(ev);
        for (;;) {
            yaml_event_t e;
            if (next_event(b, &e) < 0) { node_free(n); return NULL; }
            if (e.type == YAML_SEQUENCE_END_EVENT) { yaml_event_delete(&e); return n; }
            struct node *item = build(b, &e, depth + 1);
            if (!item) { node_free(n); return NULL; }
            append(n, NULL, item);
        }
    case YAML_MAPPING_START_EVENT:
        n = node_new(NODE_MAP, &ev->start_mark);
        yaml_event_delete(ev);
        for (;;) {
            yaml_event_t e;
            if (next_event(b, &e) < 0) { node_free(n); return NULL; }
            if (e.type == YAML_MAPPING_END_EVENT) { yaml_event_delete(&e); return n; }
            struct node *key = build(b, &e, depth + 1);
            if (!key) { node_free(n); return NULL; }
            if (next_event(b, &e) < 0) { node_free(key); node_free(n); return NULL; }
            struct node *val = build(b, &e, depth + 1);
            if (!val) { node_free(key); node_free(n); return NULL; }
            if (key->type != NODE_SCALAR) {
                diag_add(b->d, key, "keys must be plain text, not a %s", node_type_name(key->type));
                b->failed = 1;
            } else {
                for (size_t i = 0; i < n->n; i++)
                    if (n->keys[i]->str && strcmp(n->keys[i]->str, key->str) == 0) {
                        diag_add(b->d, key, "duplicate key '%s' (first at line %d)", key->str, n->keys[i]->line);
                        b->failed = 1;
                        break;
                    }
            }
            append(n, key, val);
        }
    default:
        diag_add_pos(b->d, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1, "yaml: unexpected event");
        b->failed = 1;
        yaml_event_delete(ev);
        return NULL;
    }
}

struct node *node_parse(const char *bytes, size_t len, struct diag *d)
{
    struct builder b = { .d = d };
    struct node *root = NULL;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&b.parser)) {
        diag_add_pos(d, 0, 0, "yaml: cannot initialise the parser");
        return NULL;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)bytes, len);
    int docs = 0;
    for (;;) {
        if (next_event(&b, &ev) < 0) break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) { yaml_event_delete(&ev); break; }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) { yaml_event_delete(&ev); continue; }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (++docs > 1) {
                diag_add_pos(d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                             "a plan is one YAML document; found a second one");
                b.failed = 1;
                yaml_event_delete(&ev);
                break;
            }
            yaml_event_delete(&ev);
            continue;
        }
        struct node *n = build(&b, &ev, 0);
        if (!n) break;
        if (root) node_free(root);
        root = n;
    }
    yaml_parser_delete(&b.parser);
    if (b.failed) { node_free(root); return NULL; }
    if (!root) diag_add_pos(d, 1, 1, "the plan is empty");
    return root;
}

struct node *node_load(const char *path, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) { diag_add_pos(d, 0, 0, "cannot read '%s': %s", path, strerror(errno)); return NULL; }
    char *data = NULL;
    size_t len = 0, alloc = 0;
    for (;;) {
        if (len + 4096 > alloc) { alloc = alloc ? alloc * 2 : 8192; data = fl_realloc(data, alloc); }
        size_t r = fread(data + len, 1, alloc - len, f);
        len += r;
        if (r == 0) break;
        if (len > NODE_MAX_FILE) { fclose(f); free(data); diag_add_pos(d, 0, 0, "'%s' is larger than 16 MiB", path); return NULL; }
    }
    fclose(f);
    struct node *n = node_parse(data, len, d);
    free(data);
    return n;
}

struct node *node_get(const struct node *map, const char *key)
{
    if (!map || map->type != NODE_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->str && strcmp(map->keys[i]->str, key) == 0) return map->items[i];
    return NULL;
}

struct node *node_key(const struct node *map, const char *key)
{
    if (!map || map->type != NODE_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->str && strcmp(map->keys[i]->str, key) == 0) return map->keys[i];
    return NULL;
}

const char *node_type_name(enum node_type t)
{
    switch (t) {
    case NODE_SCALAR: return "scalar";
    case NODE_SEQ: return "list";
    case NODE_MAP: return "mapping";
    }
    return "?";
}

const char *node_str(const struct node *map, const char *key, const char *def)
{
    const struct node *v = node_get(map, key);
    return v && v->type == NODE_SCALAR ? v->str : def;
}
