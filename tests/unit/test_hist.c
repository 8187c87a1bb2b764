/* test_hist.c -- the latency histogram: accuracy against exact percentiles, merging. */
#include <stdint.h>
#include <stdlib.h>
#include "harness.h"
#include "hist.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* log-uniform between 200 ns and 20 s, like latencies spread over many decades */
static uint64_t rand_latency(uint64_t *s)
{
    double u = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    return (uint64_t)(200.0 * pow(1e8, u));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

static const double qs[] = { 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999 };

static void check_accuracy(const struct hist *h, uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double exact = (double)exact_quantile(v, n, qs[i]);
        double got = (double)hist_quantile(h, qs[i]);
        double rel = fabs(got - exact) / exact;
        ASSERT_MSG(rel <= 0.01, "q=%g: histogram %g vs exact %g (relative error %.4f%%)", qs[i], got, exact,
                   rel * 100);
    }
    ASSERT_EQ_INT(hist_quantile(h, 1.0), v[n - 1]);
    ASSERT_EQ_INT(hist_quantile(h, 0.0), v[0]);
}

TEST(hist_accuracy_random)
{
    static struct hist h;
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v);
    uint64_t seed = 42, sum = 0;
    hist_init(&h);
    for (size_t i = 0; i < n; i++) {
        v[i] = rand_latency(&seed);
        sum += v[i];
        hist_record(&h, v[i]);
    }
    ASSERT_EQ_INT(h.count, n);
    ASSERT_EQ_INT(h.sum, sum);
    ASSERT_NEAR(hist_mean(&h), (double)sum / (double)n, 1e-6 * (double)sum / (double)n);
    check_accuracy(&h, v, n);
    free(v);
}

TEST(hist_accuracy_narrow_and_small)
{
    /* values concentrated in one octave (a steady service), and tiny values (exact) */
    static struct hist h;
    uint64_t seed = 7;
    size_t n = 50000;
    uint64_t *v = malloc(n * sizeof *v);
    hist_init(&h);
    for (size_t i = 0; i < n; i++) {
        v[i] = 50000000 + rng_next(&seed) % 3000000; /* 50..53 ms */
        hist_record(&h, v[i]);
    }
    check_accuracy(&h, v, n);
    /* few, full buckets: counts take several varint bytes */
    static struct hist back;
    struct hist_sparse sp;
    hist_sparse_from(&sp, &h);
    hist_init(&back);
    hist_merge_sparse(&back, &sp);
    ASSERT(memcmp(back.counts, h.counts, sizeof h.counts) == 0);
    ASSERT_EQ_INT(back.count, n);
    ASSERT(sp.n < 20);
    hist_sparse_release(&sp);

    hist_reset(&h);
    ASSERT_EQ_INT(h.count, 0);
    ASSERT_EQ_INT(hist_quantile(&h, 0.5), 0);
    for (uint64_t i = 1; i <= 255; i++) hist_record(&h, i);
    ASSERT_EQ_INT(hist_quantile(&h, 0.5), 128);
    ASSERT_EQ_INT(hist_quantile(&h, 0.1), 26);
    free(v);
}

TEST(hist_bucket_bounds)
{
    uint64_t seed = 3;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = rng_next(&seed) >> (rng_next(&seed) % 64);
        if (v >= (UINT64_C(1) << HIST_MAX_EXP)) continue;
        unsigned b = hist_bucket(v);
        uint64_t lo, hi;
        ASSERT(b < HIST_BUCKETS);
        hist_bucket_range(b, &lo, &hi);
        ASSERT_MSG(lo <= v && v <= hi, "value %llu outside bucket %u [%llu, %llu]", (unsigned long long)v, b,
                   (unsigned long long)lo, (unsigned long long)hi);
        ASSERT_MSG((double)(hi - lo) <= (double)lo / HIST_SUB, "bucket %u too wide", b);
    }
    /* buckets are contiguous and ordered */
    uint64_t prev_hi = 0;
    for (unsigned b = 1; b < HIST_BUCKETS; b++) {
        uint64_t lo, hi;
        hist_bucket_range(b, &lo, &hi);
        ASSERT_EQ_INT(lo, prev_hi + 1);
        prev_hi = hi;
    }
    /* out of range values land in the last bucket, max stays exact */
    static struct hist h;
    hist_init(&h);
    hist_record(&h, UINT64_C(1) << 50);
    ASSERT_EQ_INT(hist_bucket(UINT64_C(1) << 50), HIST_BUCKETS - 1);
    ASSERT_EQ_INT(hist_quantile(&h, 0.5), UINT64_C(1) << 50);
}

TEST(hist_merge_and_sparse)
{
    static struct hist a, b, all, merged, from_sparse;
    hist_init(&a);
    hist_init(&b);
    hist_init(&all);
    uint64_t seed = 99;
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = rand_latency(&seed);
        hist_record(i % 3 ? &a : &b, v[i]);
        hist_record(&all, v[i]);
    }
    hist_init(&merged);
    hist_merge(&merged, &a);
    hist_merge(&merged, &b);
    ASSERT_EQ_INT(merged.count, all.count);
    ASSERT_EQ_INT(merged.sum, all.sum);
    ASSERT_EQ_INT(merged.min, all.min);
    ASSERT_EQ_INT(merged.max, all.max);
    ASSERT(memcmp(merged.counts, all.counts, sizeof all.counts) == 0);

    struct hist_sparse sa, sb;
    hist_sparse_from(&sa, &a);
    hist_sparse_from(&sb, &b);
    ASSERT(sa.n > 0 && sa.n < HIST_BUCKETS);
    ASSERT_MSG(sa.nbytes < 3 * sa.n, "%u bytes for %u buckets", sa.nbytes, sa.n);
    hist_init(&from_sparse);
    hist_merge_sparse(&from_sparse, &sa);
    hist_merge_sparse(&from_sparse, &sb);
    ASSERT(memcmp(from_sparse.counts, all.counts, sizeof all.counts) == 0);
    ASSERT_EQ_INT(from_sparse.count, n);
    check_accuracy(&from_sparse, v, n);
    hist_sparse_release(&sa);
    hist_sparse_release(&sb);
    ASSERT(sa.bytes == NULL);
    ASSERT(sb.nbytes == 0);

    /* an empty histogram merges as nothing */
    static struct hist empty;
    struct hist_sparse se;
    hist_init(&empty);
    hist_sparse_from(&se, &empty);
    hist_merge_sparse(&from_sparse, &se);
    hist_merge(&from_sparse, &empty);
    ASSERT_EQ_INT(from_sparse.count, n);
    ASSERT_EQ_INT(from_sparse.min, all.min);
    free(v);
}
