/* node.h -- a YAML document as a tree of nodes that remember their file:line:col, and the
 * diagnostics list that plan validation fills (every error at once, not just the first).
 *
 * node_parse() does no I/O beyond reading the given bytes (easy to fuzz); node_load()
 * reads a file. The caller frees the tree with node_free(). Anchors/aliases are refused
 * (a plan is plain data); tags are ignored.
 */
#ifndef FL_NODE_H
#define FL_NODE_H

#include <stddef.h>
#include <stdint.h>

enum node_type { NODE_SCALAR, NODE_SEQ, NODE_MAP };

struct node {
    enum node_type type;
    int line, col;          /* 1-based position of the node's start */
    char *str;              /* scalar text (after ${var} expansion by the plan layer) */
    int quoted;             /* scalar was quoted ('..' or "..") */
    size_t n;               /* items in a sequence, pairs in a map */
    struct node **items;    /* sequence items, or map values */
    struct node **keys;     /* map keys (scalars) */
};

/* Diagnostics: "file:line:col: message" lines collected in order. */
struct diag {
    const char *file;
    char **msgs;
    size_t n, alloc;
};
void diag_init(struct diag *d, const char *file);
void diag_release(struct diag *d);
void diag_add(struct diag *d, const struct node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_add_pos(struct diag *d, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parse YAML bytes into a tree. Syntax errors go to d (with position) and return NULL. */
struct node *node_parse(const char *bytes, size_t len, struct diag *d);
struct node *node_load(const char *path, struct diag *d);
void node_free(struct node *n);

/* Lookups. node_get returns the value of key in a map (NULL when absent or n not a map);
 * node_key returns the key node itself (for positions). */
struct node *node_get(const struct node *map, const char *key);
struct node *node_key(const struct node *map, const char *key);
const char *node_type_name(enum node_type t);
/* scalar text of map[key], or def when absent / not a scalar */
const char *node_str(const struct node *map, const char *key, const char *def);

#endif
