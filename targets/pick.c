/* pick.c -- pick: a reproducible subset of what a target's selector matches (target.h). */
#include <stdlib.h>
#include <string.h>
#include "target.h"

size_t target_pick_count(const struct target *t, size_t n)
{
    if (!t->has_pick) return n;
    size_t k;
    if (t->pick_count > 0) k = (size_t)t->pick_count;
    else {
        double want = t->pick_percent * (double)n;
        k = (size_t)want;
        if ((double)k < want) k++;
    }
    if (k == 0) k = 1;
    return k > n ? n : k;
}

uint64_t target_pick_seed(const struct target *t, const struct drv_ctx *ctx)
{
    return t->pick_seed_set ? t->pick_seed : (ctx ? ctx->seed : 0);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

void target_pick(size_t n, size_t k, uint64_t seed, size_t *order)
{
    size_t *idx = fl_malloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (k > n) k = n;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)(fl_splitmix64(&seed) % (uint64_t)(n - i));
        size_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
    memcpy(order, idx, k * sizeof *order);
    qsort(order, k, sizeof *order, cmp_size);
    free(idx);
}

void target_pick_describe(const struct target *t, struct buf *out)
{
    if (!t->has_pick) return;
    if (t->pick_count > 0) buf_addf(out, ", pick %d", t->pick_count);
    else buf_addf(out, ", pick %g%%", t->pick_percent * 100);
    if (t->pick_seed_set) buf_addf(out, " (seed %llu)", (unsigned long long)t->pick_seed);
}
