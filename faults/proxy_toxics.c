/* proxy_toxics.c -- the one table of the fault proxy's toxic types (see proxy_toxics.h):
 * their attributes, value checks and descriptions. */
#include "proxy_toxics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"
#include "value.h"

#define OFF(f) offsetof(struct px_toxic_cfg, f)

/* ---- checks and descriptions ---------------------------------------------------------- */
static const char *const dir_names[] = { "", "upstream", "downstream", "both directions" };

static void fmt_us(int64_t us, char out[32]) { val_fmt_duration((us + 500) / 1000, out); }

static int check_latency(const struct px_toxic_cfg *c, char *err)
{
    if (c->latency_us < 0 || c->jitter_us < 0) return fl_err(err, "latency and jitter must not be negative");
    return 0;
}
static void describe_latency(const struct px_toxic_cfg *c, struct buf *out)
{
    char a[32], b[32];
    fmt_us(c->latency_us, a);
    buf_addf(out, "add %s latency", a);
    if (c->jitter_us) { fmt_us(c->jitter_us, b); buf_addf(out, " (jitter %s)", b); }
    buf_addf(out, " %s", dir_names[px_toxic_dirs(c)]);
}

static int check_bandwidth(const struct px_toxic_cfg *c, char *err)
{
    if (!(c->rate > 0)) return fl_err(err, "bandwidth rate must be positive");
    return 0;
}
static void describe_bandwidth(const struct px_toxic_cfg *c, struct buf *out)
{
    buf_addf(out, "cap bandwidth to %.0f bytes/s %s", c->rate, dir_names[px_toxic_dirs(c)]);
}

static int check_timeout(const struct px_toxic_cfg *c, char *err)
{
    if (c->timeout_us < 0) return fl_err(err, "timeout must not be negative");
    return 0;
}
static void describe_timeout(const struct px_toxic_cfg *c, struct buf *out)
{
    buf_addf(out, "hold all data (never forward) %s", dir_names[px_toxic_dirs(c)]);
    if (c->timeout_us > 0) {
        char a[32];
        fmt_us(c->timeout_us, a);
        buf_addf(out, ", closing each connection after %s", a);
    }
}

static int check_reset(const struct px_toxic_cfg *c, char *err)
{
    if (c->timeout_us != 0)
        return fl_err(err, "reset_peer: a timeout other than 0 is not supported (connections are reset at once)");
    return 0;
}
static void describe_reset(const struct px_toxic_cfg *c, struct buf *out)
{
    (void)c;
    buf_adds(out, "reset (RST) existing and new connections");
}
static void describe_down(const struct px_toxic_cfg *c, struct buf *out)
{
    (void)c;
    buf_adds(out, "refuse new connections (existing ones keep working)");
}

static int check_delay(const struct px_toxic_cfg *c, char *err)
{
    if (c->delay_us < 0) return fl_err(err, "delay must not be negative");
    return 0;
}
static void describe_slow_close(const struct px_toxic_cfg *c, struct buf *out)
{
    char a[32];
    fmt_us(c->delay_us, a);
    buf_addf(out, "delay every close by %s", a);
}

static int check_match(const struct px_toxic_cfg *c, char *err)
{
    if (c->first < 0) return fl_err(err, "first must not be negative");
    for (const char *p = c->match_method; *p; p++)
        if (*p <= ' ' || *p >= 127) return fl_err(err, "match method '%s' is not an HTTP method", c->match_method);
    if (c->match_path[0] && c->match_path[0] != '/' && c->match_path[0] != '*')
        return fl_err(err, "match path '%s' must start with / (a prefix, or a glob with * ? [ ])", c->match_path);
    return 0;
}
static void describe_match(const struct px_toxic_cfg *c, struct buf *out)
{
    if (c->match_method[0] || c->match_path[0])
        buf_addf(out, " matching %s%s%s", c->match_method[0] ? c->match_method : "",
                 c->match_method[0] && c->match_path[0] ? " " : "", c->match_path);
    if (c->first > 0) buf_addf(out, " (only the first %lld)", (long long)c->first);
}

static int check_http_error(const struct px_toxic_cfg *c, char *err)
{
    if (c->status < 100 || c->status > 599) return fl_err(err, "http_error status %d is not 100..599", c->status);
    if (c->share < 0 || c->share > 1) return fl_err(err, "http_error share must be within 0..1");
    return check_match(c, err);
}
static void describe_http_error(const struct px_toxic_cfg *c, struct buf *out)
{
    buf_addf(out, "answer %.0f%% of HTTP requests", c->share * 100);
    describe_match(c, out);
    buf_addf(out, " with %d without forwarding them", c->status);
}

static int check_http_delay(const struct px_toxic_cfg *c, char *err)
{
    if (check_delay(c, err) < 0) return -1;
    return check_match(c, err);
}
static void describe_http_delay(const struct px_toxic_cfg *c, struct buf *out)
{
    char a[32];
    fmt_us(c->delay_us, a);
    buf_addf(out, "hold HTTP response headers for %s", a);
    if (c->match_method[0] || c->match_path[0] || c->first > 0) {
        buf_adds(out, " of requests");
        describe_match(c, out);
    }
}

static int check_slicer(const struct px_toxic_cfg *c, char *err)
{
    if (c->average_size <= 0) return fl_err(err, "slicer average_size must be positive");
    if (c->size_variation < 0 || c->size_variation >= c->average_size)
        return fl_err(err, "slicer size_variation must be within 0..average_size-1");
    return check_delay(c, err);
}
static void describe_slicer(const struct px_toxic_cfg *c, struct buf *out)
{
    buf_addf(out, "slice data into pieces of %lld", (long long)c->average_size);
    if (c->size_variation) buf_addf(out, " +- %lld", (long long)c->size_variation);
    buf_adds(out, " bytes");
    if (c->delay_us) buf_addf(out, " %lld us apart", (long long)c->delay_us);
    buf_addf(out, " %s", dir_names[px_toxic_dirs(c)]);
}

static int check_limit_data(const struct px_toxic_cfg *c, char *err)
{
    if (c->bytes < 0) return fl_err(err, "limit_data bytes must not be negative");
    return 0;
}
static void describe_limit_data(const struct px_toxic_cfg *c, struct buf *out)
{
    buf_addf(out, "close each connection once %lld bytes have passed %s", (long long)c->bytes,
             dir_names[px_toxic_dirs(c)]);
}

/* ---- the table ---------------------------------------------------------------------- */
#define DIR_ATTR(help_) { "direction", "stream", PXA_DIRECTION, PT_STR, OFF(direction), 0, 0, help_ }
#define MATCH_ATTRS                                                                                     \
    { "match", NULL, PXA_STR, PT_MAP, 0, 0, 0,                                                            \
      "only requests matching {method: POST, path: /api/v1 (a prefix, or a glob with * ? [ ])}" },   \
    { "method", "method", PXA_STR, PT_STR, OFF(match_method), sizeof ((struct px_toxic_cfg *)0)->match_method, \
      PXA_F_NOPLAN, "only requests with this method" },                                                  \
    { "path", "path", PXA_STR, PT_STR, OFF(match_path), sizeof ((struct px_toxic_cfg *)0)->match_path,   \
      PXA_F_NOPLAN, "only request paths with this prefix (or this glob with * ? [ ])" },                 \
    { "first", "first", PXA_INT, PT_INT, OFF(first), sizeof(int64_t), 0,                                  \
      "only the first N matching requests (default: all)" }

static const struct px_attr latency_attrs[] = {
    { "latency", "latency", PXA_DURATION, PT_DURATION, OFF(latency_us), 0, PXA_REQUIRED, "delay added to every chunk of data" },
    { "jitter", "jitter", PXA_DURATION, PT_DURATION, OFF(jitter_us), 0, 0, "uniform +- variation around latency" },
    DIR_ATTR("upstream, downstream (default) or both"),
    { 0 },
};
static const struct px_attr bandwidth_attrs[] = {
    { "rate", "rate", PXA_RATE, PT_STR, OFF(rate), 0, PXA_REQUIRED, "bytes per second, like 100kb/s (kb = 1024 bytes)" },
    DIR_ATTR("upstream, downstream (default) or both"),
    { 0 },
};
static const struct px_attr timeout_attrs[] = {
    DIR_ATTR("upstream, downstream or both (default)"),
    { "timeout", "timeout", PXA_DURATION, PT_DURATION, OFF(timeout_us), 0, PXA_F_NOPLAN,
      "close the connection after this long (default 0: hold for ever)" },
    { 0 },
};
static const struct px_attr reset_attrs[] = {
    { "timeout", "timeout", PXA_DURATION, PT_DURATION, OFF(timeout_us), 0, PXA_F_NOPLAN,
      "Toxiproxy's reset_peer timeout: only 0 (reset at once)" },
    { 0 },
};
static const struct px_attr none_attrs[] = { { 0 } };
static const struct px_attr delay_attrs[] = {
    { "delay", "delay", PXA_DURATION, PT_DURATION, OFF(delay_us), 0, PXA_REQUIRED, "how long" },
    { 0 },
};
static const struct px_attr http_error_attrs[] = {
    { "status", "status", PXA_INT, PT_INT, OFF(status), sizeof(int), 0, "HTTP status answered (default 503)" },
    { "share", "share", PXA_SHARE, PT_PERCENT, OFF(share), 0, 0, "share of requests answered so (default 100%)" },
    MATCH_ATTRS,
    { 0 },
};
static const struct px_attr http_delay_attrs[] = {
    { "delay", "delay", PXA_DURATION, PT_DURATION, OFF(delay_us), 0, PXA_REQUIRED, "how long" },
    MATCH_ATTRS,
    { 0 },
};
static const struct px_attr slicer_attrs[] = {
    { "average_size", "average_size", PXA_BYTES, PT_BYTES, OFF(average_size), 0, PXA_REQUIRED,
      "average size of a piece (bytes)" },
    { "size_variation", "size_variation", PXA_BYTES, PT_BYTES, OFF(size_variation), 0, 0,
      "uniform +- variation of a piece's size (bytes, below average_size)" },
    { "delay", "delay", PXA_DURATION, PT_DURATION, OFF(delay_us), 0, PXA_F_TP_US,
      "pause between pieces (Toxiproxy: microseconds)" },
    DIR_ATTR("upstream, downstream (default) or both"),
    { 0 },
};
static const struct px_attr limit_data_attrs[] = {
    { "bytes", "bytes", PXA_BYTES, PT_BYTES, OFF(bytes), 0, PXA_REQUIRED,
      "bytes let through before the connection is closed" },
    DIR_ATTR("upstream, downstream (default) or both"),
    { 0 },
};

const struct px_toxic_type px_toxics[PX_NKINDS] = {
    [PX_LATENCY] = { "latency", "latency", "delay data through the proxy (latency:, jitter:, direction:)",
                     "latency=200ms[,jitter=50ms][,direction=upstream|downstream|both]", "latency",
                     PX_DIR_DOWNSTREAM, 0, latency_attrs, check_latency, describe_latency },
    [PX_BANDWIDTH] = { "bandwidth", "bandwidth", "cap the proxy's throughput (rate: bytes per second)",
                       "bandwidth=100kb/s[,direction=...]     bytes per second (kb = 1024 bytes)", "rate",
                       PX_DIR_DOWNSTREAM, 0, bandwidth_attrs, check_bandwidth, describe_bandwidth },
    [PX_TIMEOUT] = { "timeout", "timeout", "hold all data: nothing is forwarded while it lasts",
                     "timeout[,direction=...][,timeout=5s]  hold all data, never forward", NULL,
                     PX_DIR_BOTH, 0, timeout_attrs, check_timeout, describe_timeout },
    [PX_RESET] = { "reset", "reset_peer", "reset (RST) existing connections and every new one",
                   "reset                                RST existing and new connections", NULL,
                   0, PX_TF_REFUSE_NEW | PX_TF_RESET_OLD, reset_attrs, check_reset, describe_reset },
    [PX_DOWN] = { "down", NULL, "refuse new connections; existing ones keep working",
                  "down                                 refuse new connections", NULL,
                  0, PX_TF_REFUSE_NEW | PX_TF_CLOSE_LISTEN, none_attrs, NULL, describe_down },
    [PX_SLOW_CLOSE] = { "slow_close", "slow_close", "delay forwarding each close (delay:)",
                        "slow_close=1s                        delay forwarding each close", "delay",
                        PX_DIR_BOTH, 0, delay_attrs, check_delay, describe_slow_close },
    [PX_HTTP_ERROR] = { "http_error", NULL,
                        "answer a share of HTTP/1.1 requests with a status, without forwarding them",
                        "http_error=503[,share=50%][,method=POST][,path=/api][,first=3]\n"
                        "                                       answer a share of HTTP/1.1 requests", "status",
                        PX_DIR_BOTH, PX_TF_HTTP | PX_TF_MATCH, http_error_attrs, check_http_error,
                        describe_http_error },
    [PX_HTTP_DELAY] = { "http_delay", NULL, "hold HTTP/1.1 response headers for delay:",
                        "http_delay=500ms[,method=..][,path=..][,first=N]  hold HTTP response headers", "delay",
                        PX_DIR_BOTH, PX_TF_HTTP | PX_TF_MATCH, http_delay_attrs, check_http_delay,
                        describe_http_delay },
    [PX_SLICER] = { "slicer", "slicer", "cut data into small pieces sent apart (average_size:, size_variation:, delay:)",
                    "slicer=64[,size_variation=16][,delay=1ms][,direction=...]  pieces of ~64 bytes", "average_size",
                    PX_DIR_DOWNSTREAM, 0, slicer_attrs, check_slicer, describe_slicer },
    [PX_LIMIT_DATA] = { "limit_data", "limit_data", "close each connection once bytes: have passed (a direction)",
                        "limit_data=64kb[,direction=...]      close after that many bytes", "bytes",
                        PX_DIR_DOWNSTREAM, 0, limit_data_attrs, check_limit_data, describe_limit_data },
};

/* ---- lookups and values ---------------------------------------------------------------- */
const char *px_kind_name(enum px_kind k)
{
    return (unsigned)k < PX_NKINDS ? px_toxics[k].name : "?";
}

const struct px_toxic_type *px_toxic_find(const char *name, int toxiproxy)
{
    if (!name) return NULL;
    for (size_t i = 0; i < PX_NKINDS; i++) {
        const char *n = toxiproxy ? px_toxics[i].toxiproxy : px_toxics[i].name;
        if (n && strcmp(n, name) == 0) return &px_toxics[i];
    }
    /* faultline's own types keep their name in the API */
    if (toxiproxy)
        for (size_t i = 0; i < PX_NKINDS; i++)
            if (!px_toxics[i].toxiproxy && strcmp(px_toxics[i].name, name) == 0 && i != PX_DOWN) return &px_toxics[i];
    return NULL;
}

const struct px_attr *px_attr_find(const struct px_toxic_type *ty, const char *key, int toxiproxy)
{
    for (const struct px_attr *a = ty->attrs; a->name; a++) {
        const char *n = toxiproxy ? a->toxiproxy : a->name;
        if (n && strcmp(n, key) == 0) return a;
    }
    return NULL;
}

void px_toxic_defaults(struct px_toxic_cfg *c, enum px_kind k)
{
    memset(c, 0, sizeof *c);
    c->kind = k;
    c->probability = 1;
    c->status = 503;
    c->share = 1;
}

/* "100kb/s", "1mb/s", "500000/s", "64kb" -> bytes per second */
static int parse_byte_rate(const char *s, double *out, char *err)
{
    char tmp[64];
    if (!s || strlen(s) >= sizeof tmp) return fl_err(err, "'%s' is not a byte rate (like 100kb/s)", s ? s : "");
    snprintf(tmp, sizeof tmp, "%s", s);
    char *slash = strchr(tmp, '/');
    if (slash) {
        if (strcmp(slash, "/s") != 0) return fl_err(err, "'%s' is not a byte rate: use bytes per second (/s)", s);
        *slash = '\0';
    }
    int64_t b;
    if (val_bytes(tmp, &b, err) < 0) return -1;
    if (b <= 0) return fl_err(err, "'%s' is not a byte rate: must be positive", s);
    *out = (double)b;
    return 0;
}

int px_attr_set(const struct px_attr *a, struct px_toxic_cfg *c, const char *v, char *err)
{
    char *p = (char *)c + a->offset;
    switch (a->type) {
    case PXA_DURATION: {
        int64_t us;
        if (val_duration_us(v, &us, err) < 0) return -1;
        memcpy(p, &us, sizeof us);
        return 0;
    }
    case PXA_RATE: {
        double r = 0;
        if (parse_byte_rate(v, &r, err) < 0) return -1;
        memcpy(p, &r, sizeof r);
        return 0;
    }
    case PXA_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (!*v || *end || errno || n < 0 || n > 1000000000LL) return fl_err(err, "'%s' is not a whole number", v);
        if (a->size == sizeof(int)) { int i = (int)n; memcpy(p, &i, sizeof i); }
        else { int64_t i = n; memcpy(p, &i, sizeof i); }
        return 0;
    }
    case PXA_SHARE: {
        double d;
        if (val_percent(v, &d, 1, err) < 0) return -1;
        memcpy(p, &d, sizeof d);
        return 0;
    }
    case PXA_BYTES: {
        int64_t b;
        if (val_bytes(v, &b, err) < 0) return -1;
        memcpy(p, &b, sizeof b);
        return 0;
    }
    case PXA_DIRECTION: {
        unsigned d;
        if (strcmp(v, "upstream") == 0) d = PX_DIR_UPSTREAM;
        else if (strcmp(v, "downstream") == 0) d = PX_DIR_DOWNSTREAM;
        else if (strcmp(v, "both") == 0) d = PX_DIR_BOTH;
        else return fl_err(err, "direction must be upstream, downstream or both, not '%s'", v);
        memcpy(p, &d, sizeof d);
        return 0;
    }
    case PXA_STR:
        if (!a->size) return fl_err(err, "'%s' is not a single value", a->name);
        if (strlen(v) >= a->size) return fl_err(err, "'%s' is too long (at most %zu characters)", v, a->size - 1);
        memcpy(p, v, strlen(v) + 1);
        return 0;
    }
    return fl_err(err, "'%s': unknown attribute type", a->name);
}

int px_toxic_set(struct px_toxic_cfg *c, const char *key, const char *value, char *err)
{
    if ((unsigned)c->kind >= PX_NKINDS) return fl_err(err, "unknown toxic kind %d", (int)c->kind);
    const struct px_toxic_type *ty = &px_toxics[c->kind];
    if (strcmp(key, "probability") == 0) return val_percent(value, &c->probability, 1, err);
    const struct px_attr *a = px_attr_find(ty, key, 0);
    if (!a || a->ptype == PT_MAP) {
        char known[256] = "probability";
        for (const struct px_attr *b = ty->attrs; b->name; b++)
            if (b->ptype != PT_MAP) { strncat(known, ", ", sizeof known - strlen(known) - 1);
                                      strncat(known, b->name, sizeof known - strlen(known) - 1); }
        return fl_err(err, "%s has no option '%s' (it takes %s)", ty->name, key, known);
    }
    if (px_attr_set(a, c, value, err) < 0) {
        char e2[FL_ERR_LEN];
        snprintf(e2, sizeof e2, "%s", err);
        return fl_err(err, "%s: %s: %s", ty->name, key, e2);
    }
    return 0;
}

unsigned px_toxic_dirs(const struct px_toxic_cfg *c)
{
    if ((unsigned)c->kind >= PX_NKINDS) return 0;
    const struct px_toxic_type *ty = &px_toxics[c->kind];
    if (!ty->dirs_default) return 0;
    if (ty->flags & PX_TF_HTTP) return PX_DIR_BOTH;   /* requests one way, answers the other */
    return c->direction ? c->direction : ty->dirs_default;
}

int px_toxic_check(const struct px_toxic_cfg *c, char *err)
{
    if ((unsigned)c->kind >= PX_NKINDS) return fl_err(err, "unknown toxic kind %d", (int)c->kind);
    const struct px_toxic_type *ty = &px_toxics[c->kind];
    if (!(c->probability >= 0 && c->probability <= 1))
        return fl_err(err, "%s: probability must be within 0..1", ty->name);
    if (c->direction > PX_DIR_BOTH) return fl_err(err, "%s: bad direction", ty->name);
    return ty->check ? ty->check(c, err) : 0;
}

void px_toxic_describe(const struct px_toxic_cfg *c, struct buf *out)
{
    if ((unsigned)c->kind >= PX_NKINDS) { buf_adds(out, "unknown toxic"); return; }
    px_toxics[c->kind].describe(c, out);
}
