/* proxy_toxics.h -- the one table of toxic types of the fault proxy: name, directions,
 * attributes (plan key, `--toxic` key, Toxiproxy attribute), description and stage function.
 *
 * Who reads it: the engine (proxy_engine.c: directions, flags, check), the plan kinds
 * (proxy.c: one fault kind `proxy.<name>` per row, its params derived from `attrs`),
 * `faultline proxy --toxic` and its Toxiproxy API (cmd_proxy*.c), and through `faultline
 * list`, docs/kinds.md.
 *
 * Adding a toxic type: one row in px_toxics[] (proxy_toxics.c), an enum px_kind constant
 * (proxy_engine.h), and, when it has a data path, its stage function in proxy_engine.c and
 * one line in that file's stage table (the table here names no engine function: the engine
 * calls this file, never the other way round, so the two do not form a circle). */
#ifndef FL_PROXY_TOXICS_H
#define FL_PROXY_TOXICS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "params.h"
#include "proxy_engine.h"

enum px_attr_type {
    PXA_DURATION,    /* int64_t microseconds; text "200ms"; Toxiproxy: milliseconds (or
                        microseconds, PXA_F_TP_US) as a number */
    PXA_RATE,        /* double bytes per second; text "100kb/s"; Toxiproxy: KB/s */
    PXA_INT,         /* int */
    PXA_SHARE,       /* double 0..1; text "50%" or "0.5" */
    PXA_BYTES,       /* int64_t bytes; text "64kb"; Toxiproxy: bytes */
    PXA_DIRECTION,   /* unsigned PX_DIR_*; text upstream|downstream|both */
    PXA_STR,         /* char[size] */
};

#define PXA_REQUIRED  1u      /* a plan and `--toxic` must give it */
#define PXA_F_TP_US   2u      /* the Toxiproxy attribute is in microseconds (slicer delay) */
#define PXA_F_NOPLAN  4u      /* not a plan key (Toxiproxy only) */

struct px_attr {
    const char *name;          /* plan key and `--toxic` key ("latency") */
    const char *toxiproxy;     /* Toxiproxy attribute name, or NULL */
    enum px_attr_type type;
    enum param_type ptype;     /* how plans declare it (params.h) */
    size_t offset;             /* into struct px_toxic_cfg */
    size_t size;               /* PXA_STR: the array's size */
    unsigned flags;
    const char *help;          /* `faultline list`, docs/kinds.md */
};

#define PX_TF_HTTP         1u   /* frames HTTP/1.1: its two stages share one framing */
#define PX_TF_REFUSE_NEW   2u   /* new connections are refused (rolled per connection) */
#define PX_TF_RESET_OLD    4u   /* existing connections are reset when it is added */
#define PX_TF_CLOSE_LISTEN 8u   /* probability 1: the listener itself is closed */
#define PX_TF_MATCH       16u   /* takes match: {method, path} and first: */

struct px_toxic_type {
    const char *name;          /* "latency": proxy.latency, --toxic latency=..., API type */
    const char *toxiproxy;     /* Toxiproxy's type name, or NULL (faultline's own) */
    const char *summary;       /* the fault kind's summary */
    const char *cli;           /* `faultline proxy --help` line: "latency=200ms[,jitter=50ms]..." */
    const char *main_attr;     /* the attribute `--toxic NAME=VALUE` sets, or NULL */
    unsigned dirs_default;     /* PX_DIR_* when none is asked; 0 = no stages (acts on accept) */
    unsigned flags;            /* PX_TF_* */
    const struct px_attr *attrs;                          /* {0}-terminated */
    int (*check)(const struct px_toxic_cfg *c, char *err);   /* value ranges; NULL = none */
    void (*describe)(const struct px_toxic_cfg *c, struct buf *out);   /* "add 200ms latency downstream" */
};

extern const struct px_toxic_type px_toxics[PX_NKINDS];   /* indexed by enum px_kind */

/* the row named `name` (faultline's name, or with `toxiproxy` its Toxiproxy name); NULL */
const struct px_toxic_type *px_toxic_find(const char *name, int toxiproxy);
const struct px_attr *px_attr_find(const struct px_toxic_type *ty, const char *key, int toxiproxy);
/* the defaults of a toxic of kind k (probability 1, status 503, share 1) */
void px_toxic_defaults(struct px_toxic_cfg *c, enum px_kind k);
/* set one attribute from text ("200ms", "100kb/s", "50%"); also "probability"; 0 or -1 */
int px_toxic_set(struct px_toxic_cfg *c, const char *key, const char *value, char *err);
int px_attr_set(const struct px_attr *a, struct px_toxic_cfg *c, const char *value, char *err);
/* value ranges of the whole config (the row's check plus direction and probability) */
int px_toxic_check(const struct px_toxic_cfg *c, char *err);
/* the effective directions of c: its direction, else its type's default (0: no stages) */
unsigned px_toxic_dirs(const struct px_toxic_cfg *c);
/* "add 200ms latency downstream" */
void px_toxic_describe(const struct px_toxic_cfg *c, struct buf *out);

#endif
