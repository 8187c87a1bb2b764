/* hist.c -- log-linear latency histogram (see hist.h for the bucket layout). */
#include "hist.h"

#include <stdlib.h>
#include <string.h>
#include "fl.h"

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_reset(struct hist *h) { hist_init(h); }

unsigned hist_bucket(uint64_t ns)
{
    if (ns < HIST_SUB) return (unsigned)ns;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
    if (msb >= HIST_MAX_EXP) return HIST_BUCKETS - 1;
    unsigned shift = msb - HIST_SUB_BITS;
    unsigned mant = (unsigned)(ns >> shift);           /* in [HIST_SUB, 2*HIST_SUB) */
    return (shift + 1) * HIST_SUB + (mant - HIST_SUB);
}

void hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi)
{
    if (b < 2 * HIST_SUB) { *lo = *hi = b; return; }
    unsigned shift = b / HIST_SUB - 1;
    uint64_t mant = HIST_SUB + b % HIST_SUB;
    *lo = mant << shift;
    *hi = *lo + (UINT64_C(1) << shift) - 1;
}

void hist_record(struct hist *h, uint64_t ns)
{
    h->counts[hist_bucket(ns)]++;
    h->count++;
    h->sum += ns;
    if (ns < h->min) h->min = ns;
    if (ns > h->max) h->max = ns;
}

static void merge_summary(struct hist *dst, uint64_t count, uint64_t sum, uint64_t min, uint64_t max)
{
    if (!count) return;
    dst->count += count;
    dst->sum += sum;
    if (min < dst->min) dst->min = min;
    if (max > dst->max) dst->max = max;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (!src->count) return;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) dst->counts[i] += src->counts[i];
    merge_summary(dst, src->count, src->sum, src->min, src->max);
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (!h->count) return 0;
    if (q <= 0) return h->min;
    if (q >= 1) return h->max;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count) rank++;   /* ceil */
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) {
            uint64_t lo, hi;
            hist_bucket_range(b, &lo, &hi);
            uint64_t v = lo + (hi - lo) / 2;
            if (v < h->min) v = h->min;
            if (v > h->max) v = h->max;
            return v;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint64_t get_varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    return v;
}

void hist_sparse_from(struct hist_sparse *s, const struct hist *h)
{
    memset(s, 0, sizeof *s);
    s->count = h->count;
    s->sum = h->sum;
    s->min = h->min;
    s->max = h->max;
    if (!h->count) return;
    size_t need = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) need += h->counts[b] ? 2 + 10 : 0;
    uint8_t *tmp = fl_malloc(need);
    size_t len = 0;
    unsigned prev = 0;
    int first = 1;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        if (!h->counts[b]) continue;
        len += put_varint(tmp + len, first ? b : b - prev - 1);
        len += put_varint(tmp + len, h->counts[b]);
        prev = b;
        first = 0;
        s->n++;
    }
    s->bytes = fl_realloc(tmp, len);
    s->nbytes = (uint32_t)len;
}

void hist_sparse_release(struct hist_sparse *s)
{
    free(s->bytes);
    memset(s, 0, sizeof *s);
}

void hist_merge_sparse(struct hist *dst, const struct hist_sparse *s)
{
    if (!s->count) return;
    const uint8_t *p = s->bytes, *end = s->bytes + s->nbytes;
    uint64_t b = 0;
    for (uint32_t i = 0; i < s->n && p < end; i++) {
        uint64_t gap = get_varint(&p, end);
        b = i ? b + gap + 1 : gap;
        uint64_t c = get_varint(&p, end);
        if (b < HIST_BUCKETS) dst->counts[b] += c;
    }
    merge_summary(dst, s->count, s->sum, s->min, s->max);
}
