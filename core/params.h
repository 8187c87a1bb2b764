/* params.h -- declared parameters of a driver (fault kind, probe kind, target kind).
 *
 * Every driver lists its keys in one `struct param_spec[]` table (terminated by {0}).
 * That table drives three things so they cannot drift apart: strict validation of plans
 * (unknown keys, wrong types, missing required keys -> file:line:col errors),
 * `faultline list`, and the typed getters below that drivers use in their parse().
 */
#ifndef FL_PARAMS_H
#define FL_PARAMS_H

#include <stdint.h>
#include "node.h"

enum param_type {
    PT_STR,        /* any scalar text */
    PT_INT,        /* integer */
    PT_NUM,        /* number */
    PT_BOOL,       /* true/false */
    PT_DURATION,   /* 250ms, 30s, 2m */
    PT_RATE,       /* 200/s */
    PT_PERCENT,    /* 5% or a fraction 0..1 */
    PT_BYTES,      /* 64mb */
    PT_STRLIST,    /* a list of scalars, or one scalar (taken as a one-item list) */
    PT_ARGV,       /* a command: a list of scalars (argv) or one string (run by /bin/sh -c) */
    PT_MAP,        /* a mapping the driver checks itself */
    PT_LIST,       /* a list the driver checks itself */
    PT_ANY,        /* anything: the driver checks */
    PT_EXPECT,     /* one expectation (a bare value: "PONG", "< 100") */
    PT_EXPECTS,    /* a list of expectations or one; metric names checked by the driver */
    PT_TARGET,     /* the name of a target of the plan */
};

#define PARAM_REQUIRED 1u

struct param_spec {
    const char *name;
    enum param_type type;
    unsigned flags;
    const char *help;       /* one line for `faultline list` */
};

const char *param_type_name(enum param_type t);

/* Check map's keys against spec (plus `extra`, a NULL-terminated list of keys the caller
 * handles, may be NULL). `what` names the owner in messages ("fault 'docker.stop'").
 * Adds every problem to d; returns the number of problems found. */
int params_check(const struct node *map, const struct param_spec *spec, const char *const *extra,
                 const char *what, struct diag *d);

/* Typed getters for keys that params_check accepted; def when the key is absent. */
const char *param_str(const struct node *map, const char *key, const char *def);
int64_t param_int(const struct node *map, const char *key, int64_t def);
double param_num(const struct node *map, const char *key, double def);
int param_bool(const struct node *map, const char *key, int def);
int64_t param_ms(const struct node *map, const char *key, int64_t def);
double param_rate(const struct node *map, const char *key, double def);
double param_percent(const struct node *map, const char *key, double def);
int64_t param_bytes(const struct node *map, const char *key, int64_t def);
/* NULL-terminated arrays the caller frees with param_strv_free(); NULL when absent.
 * For PT_ARGV given as one string, the result is {"/bin/sh", "-c", string, NULL}. */
char **param_strv(const struct node *map, const char *key);
char **param_argv(const struct node *map, const char *key);
void param_strv_free(char **v);
size_t param_strv_len(char *const *v);

#endif
