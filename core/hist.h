/* hist.h -- log-linear latency histogram: fixed memory, relative error <= 0.4%, mergeable.
 *
 * Values are nanoseconds. Below 128 ns every value has its own bucket; above, each power
 * of two is split into 128 equal buckets, so a bucket is at most 1/128 of its values wide
 * and the midpoint reported for a quantile is within 0.4% of any value in it. The range
 * ends at 2^38 ns (about 274 s); larger values are counted in the last bucket (min, max,
 * sum stay exact).
 *
 *   struct hist h; hist_init(&h);           -- embedded, 32 KiB, no heap
 *   hist_record(&h, ns); ... hist_quantile(&h, 0.99);
 *   hist_merge(&total, &h);                 -- adding histograms is exact
 *
 * A closed window is kept compact as a struct hist_sparse (only the non-empty buckets,
 * varint-encoded: a one-second window of a typical service takes one or two KiB):
 *   hist_sparse_from(&s, &h) -- s owns a heap array, freed by hist_sparse_release(&s)
 *   hist_merge_sparse(&total, &s)
 * Not thread-safe: callers lock.
 */
#ifndef FL_HIST_H
#define FL_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)            /* 128 buckets per power of two */
#define HIST_MAX_EXP 38                            /* values up to 2^38 ns */
#define HIST_BUCKETS ((HIST_MAX_EXP - HIST_SUB_BITS + 1) * HIST_SUB) /* 4096 */

struct hist {
    uint64_t count;
    uint64_t sum;       /* ns */
    uint64_t min, max;  /* ns; min is UINT64_MAX while empty */
    uint64_t counts[HIST_BUCKETS];
};

struct hist_sparse {
    uint64_t count, sum, min, max;
    uint32_t n;          /* non-empty buckets */
    uint32_t nbytes;
    uint8_t *bytes;      /* per non-empty bucket, in order: varint(gap from the previous
                            one), varint(count); about 2 bytes a bucket */
};

void hist_init(struct hist *h);
void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);
void hist_merge(struct hist *dst, const struct hist *src);
/* the value at quantile q (0..1): the midpoint of the bucket holding the ceil(q*count)-th
 * smallest value, clamped to [min, max]; 0 when empty */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

/* bucket index of a value, and the [lo, hi] range of values a bucket holds */
unsigned hist_bucket(uint64_t ns);
void hist_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi);

void hist_sparse_from(struct hist_sparse *s, const struct hist *h);
void hist_sparse_release(struct hist_sparse *s);
void hist_merge_sparse(struct hist *dst, const struct hist_sparse *s);

#endif
