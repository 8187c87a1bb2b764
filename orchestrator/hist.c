/* hist.c -- log-linear latency histogram (see hist.h for the bucket layout). */
#include "hist.h"

#include <stdlib.h>
#include <string.h>
#include "fl.h"

#define CELL_SHIFT 40
#define CELL_MASK ((UINT64_C(1) << CELL_SHIFT) - 1)

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

void hist_sparse_from(struct hist_sparse *s, const struct hist *h)
{
    memset(s, 0, sizeof *s);
    s->count = h->count;
    s->sum = h->sum;
    s->min = h->min;
    s->max = h->max;
    if (!h->count) return;
    uint32_t n = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) n += h->counts[b] != 0;
    s->cells = fl_malloc(n * sizeof *s->cells);
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        uint64_t c = h->counts[b];
        if (!c) continue;
        if (c > CELL_MASK) c = CELL_MASK;
        s->cells[s->n++] = ((uint64_t)b << CELL_SHIFT) | c;
    }
}

void hist_sparse_release(struct hist_sparse *s)
{
    free(s->cells);
    memset(s, 0, sizeof *s);
}

void hist_merge_sparse(struct hist *dst, const struct hist_sparse *s)
{
    if (!s->count) return;
    for (uint32_t i = 0; i < s->n; i++)
        dst->counts[s->cells[i] >> CELL_SHIFT] += s->cells[i] & CELL_MASK;
    merge_summary(dst, s->count, s->sum, s->min, s->max);
}
