/* params.c -- strict checking of a driver's keys against its param_spec table, and getters. */
#include "params.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"
#include "value.h"

const char *param_type_name(enum param_type t)
{
    switch (t) {
    case PT_STR: return "text";
    case PT_INT: return "integer";
    case PT_NUM: return "number";
    case PT_BOOL: return "true|false";
    case PT_DURATION: return "duration";
    case PT_RATE: return "rate";
    case PT_PERCENT: return "percentage";
    case PT_BYTES: return "size";
    case PT_STRLIST: return "list of text";
    case PT_ARGV: return "command";
    case PT_MAP: return "mapping";
    case PT_LIST: return "list";
    case PT_ANY: return "value";
    case PT_EXPECT: return "expectation";
    case PT_EXPECTS: return "expectations";
    case PT_TARGET: return "target name";
    }
    return "?";
}

static int parse_int(const char *s, long long *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *v = x;
    return 0;
}

static int check_value(const struct node *v, const struct param_spec *ps, const char *what, struct diag *d)
{
    char err[FL_ERR_LEN];
    int64_t i64;
    double dv;
    long long ll;
    switch (ps->type) {
    case PT_MAP:
        if (v->type != NODE_MAP) { diag_add(d, v, "%s: '%s' must be a mapping, not a %s", what, ps->name, node_type_name(v->type)); return 1; }
        return 0;
    case PT_LIST:
        if (v->type != NODE_SEQ) { diag_add(d, v, "%s: '%s' must be a list, not a %s", what, ps->name, node_type_name(v->type)); return 1; }
        return 0;
    case PT_ANY:
        return 0;
    case PT_STRLIST: case PT_ARGV: case PT_EXPECTS:
        if (v->type == NODE_SCALAR) {
            if (ps->type == PT_EXPECTS && !*v->str) { diag_add(d, v, "%s: '%s' is empty", what, ps->name); return 1; }
            return 0;
        }
        if (v->type != NODE_SEQ) { diag_add(d, v, "%s: '%s' must be a %s, not a %s", what, ps->name, param_type_name(ps->type), node_type_name(v->type)); return 1; }
        for (size_t i = 0; i < v->n; i++)
            if (v->items[i]->type != NODE_SCALAR) {
                diag_add(d, v->items[i], "%s: items of '%s' must be text, not a %s", what, ps->name, node_type_name(v->items[i]->type));
                return 1;
            }
        if (ps->type == PT_ARGV && v->n == 0) { diag_add(d, v, "%s: '%s' is an empty command", what, ps->name); return 1; }
        return 0;
    default:
        break;
    }
    if (v->type != NODE_SCALAR) {
        diag_add(d, v, "%s: '%s' must be a %s, not a %s", what, ps->name, param_type_name(ps->type), node_type_name(v->type));
        return 1;
    }
    const char *s = v->str;
    switch (ps->type) {
    case PT_STR: case PT_TARGET: case PT_EXPECT:
        return 0;
    case PT_INT:
        if (parse_int(s, &ll) < 0) { diag_add(d, v, "%s: '%s' must be an integer, not '%s'", what, ps->name, s); return 1; }
        return 0;
    case PT_NUM: {
        char *end;
        strtod(s, &end);
        if (end == s || *end) { diag_add(d, v, "%s: '%s' must be a number, not '%s'", what, ps->name, s); return 1; }
        return 0;
    }
    case PT_BOOL:
        if (strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "yes") && strcmp(s, "no")) {
            diag_add(d, v, "%s: '%s' must be true or false, not '%s'", what, ps->name, s);
            return 1;
        }
        return 0;
    case PT_DURATION:
        if (val_duration_ms(s, &i64, err) < 0) { diag_add(d, v, "%s: %s", what, err); return 1; }
        return 0;
    case PT_RATE:
        if (val_rate(s, &dv, err) < 0) { diag_add(d, v, "%s: %s", what, err); return 1; }
        return 0;
    case PT_PERCENT:
        if (val_percent(s, &dv, 1, err) < 0) { diag_add(d, v, "%s: %s", what, err); return 1; }
        return 0;
    case PT_BYTES:
        if (val_bytes(s, &i64, err) < 0) { diag_add(d, v, "%s: %s", what, err); return 1; }
        return 0;
    default:
        return 0;
    }
}

int params_check(const struct node *map, const struct param_spec *spec, const char *const *extra,
                 const char *what, struct diag *d)
{
    int bad = 0;
    if (!map || map->type != NODE_MAP) {
        diag_add(d, map, "%s: expected a mapping of its settings", what);
        return 1;
    }
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->str;
        const struct param_spec *ps = NULL;
        for (size_t j = 0; spec && spec[j].name; j++)
            if (!strcmp(spec[j].name, k)) { ps = &spec[j]; break; }
        if (!ps) {
            int ok = 0;
            for (size_t j = 0; extra && extra[j]; j++) if (!strcmp(extra[j], k)) ok = 1;
            if (!ok) {
                char known[512] = "";
                size_t n = 0;
                for (size_t j = 0; spec && spec[j].name; j++, n++) {
                    strncat(known, n ? ", " : "", sizeof known - strlen(known) - 1);
                    strncat(known, spec[j].name, sizeof known - strlen(known) - 1);
                }
                for (size_t j = 0; extra && extra[j]; j++, n++) {
                    strncat(known, n ? ", " : "", sizeof known - strlen(known) - 1);
                    strncat(known, extra[j], sizeof known - strlen(known) - 1);
                }
                diag_add(d, map->keys[i], "%s: unknown key '%s' (known: %s)", what, k, n ? known : "none");
                bad++;
            }
            continue;
        }
        bad += check_value(map->items[i], ps, what, d);
    }
    for (size_t j = 0; spec && spec[j].name; j++)
        if ((spec[j].flags & PARAM_REQUIRED) && !node_get(map, spec[j].name)) {
            diag_add(d, map, "%s: missing required key '%s' (%s)", what, spec[j].name, spec[j].help ? spec[j].help : param_type_name(spec[j].type));
            bad++;
        }
    return bad;
}

static const char *scalar(const struct node *map, const char *key)
{
    const struct node *v = node_get(map, key);
    return v && v->type == NODE_SCALAR ? v->str : NULL;
}

const char *param_str(const struct node *map, const char *key, const char *def)
{
    const char *s = scalar(map, key);
    return s ? s : def;
}

int64_t param_int(const struct node *map, const char *key, int64_t def)
{
    const char *s = scalar(map, key);
    long long v;
    return s && parse_int(s, &v) == 0 ? (int64_t)v : def;
}

double param_num(const struct node *map, const char *key, double def)
{
    const char *s = scalar(map, key);
    char *end;
    if (!s) return def;
    double v = strtod(s, &end);
    return end != s && !*end ? v : def;
}

int param_bool(const struct node *map, const char *key, int def)
{
    const char *s = scalar(map, key);
    if (!s) return def;
    return !strcmp(s, "true") || !strcmp(s, "yes");
}

int64_t param_ms(const struct node *map, const char *key, int64_t def)
{
    const char *s = scalar(map, key);
    int64_t v;
    return s && val_duration_ms(s, &v, NULL) == 0 ? v : def;
}

double param_rate(const struct node *map, const char *key, double def)
{
    const char *s = scalar(map, key);
    double v;
    return s && val_rate(s, &v, NULL) == 0 ? v : def;
}

double param_percent(const struct node *map, const char *key, double def)
{
    const char *s = scalar(map, key);
    double v;
    return s && val_percent(s, &v, 1, NULL) == 0 ? v : def;
}

int64_t param_bytes(const struct node *map, const char *key, int64_t def)
{
    const char *s = scalar(map, key);
    int64_t v;
    return s && val_bytes(s, &v, NULL) == 0 ? v : def;
}

char **param_strv(const struct node *map, const char *key)
{
    const struct node *v = node_get(map, key);
    if (!v) return NULL;
    if (v->type == NODE_SCALAR) {
        char **r = fl_calloc(2, sizeof *r);
        r[0] = fl_strdup(v->str);
        return r;
    }
    if (v->type != NODE_SEQ) return NULL;
    char **r = fl_calloc(v->n + 1, sizeof *r);
    for (size_t i = 0; i < v->n; i++) r[i] = fl_strdup(v->items[i]->type == NODE_SCALAR ? v->items[i]->str : "");
    return r;
}

char **param_argv(const struct node *map, const char *key)
{
    const struct node *v = node_get(map, key);
    if (v && v->type == NODE_SCALAR) {
        char **r = fl_calloc(4, sizeof *r);
        r[0] = fl_strdup("/bin/sh");
        r[1] = fl_strdup("-c");
        r[2] = fl_strdup(v->str);
        return r;
    }
    return param_strv(map, key);
}

void param_strv_free(char **v)
{
    if (!v) return;
    for (size_t i = 0; v[i]; i++) free(v[i]);
    free(v);
}

size_t param_strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n]) n++;
    return n;
}
