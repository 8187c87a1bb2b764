/* acgme_ref.c -- the reference ACGME validator (80-hour, 1-in-7, supervision, opt-in 24+4).
 *
 * One pass resolves every assignment through two hash indexes (people, blocks) and counts
 * the supervision load per block; residents' assignments are then bucketed per person
 * (counting sort), each bucket sorted by date and walked once with a 28-day sliding window.
 * Total O(n log n) in assignments, no allocation per assignment.
 */
#include "acgme_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "date.h"
#include "fl.h"

/* ---- string pool ------------------------------------------------------------------ */

struct pool_chunk {
    struct pool_chunk *next;
    size_t used, size;
    char data[];
};

struct acgme_pool {
    struct pool_chunk *head;
};

static const char *pool_dup(struct acgme_pool *p, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    struct pool_chunk *c = p->head;
    if (!c || c->size - c->used < n) {
        size_t sz = n > 65536 ? n : 65536;
        c = fl_malloc(sizeof *c + sz);
        c->size = sz;
        c->used = 0;
        c->next = p->head;
        p->head = c;
    }
    char *d = c->data + c->used;
    memcpy(d, s, n);
    c->used += n;
    return d;
}

static void pool_free(struct acgme_pool *p)
{
    if (!p) return;
    for (struct pool_chunk *c = p->head, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    free(p);
}

/* ---- the case ------------------------------------------------------------------------ */

struct acgme_case *acgme_case_new(void)
{
    struct acgme_case *c = fl_calloc(1, sizeof *c);
    c->pool = fl_calloc(1, sizeof *c->pool);
    return c;
}

void acgme_case_free(struct acgme_case *c)
{
    if (!c) return;
    free(c->people);
    free(c->blocks);
    free(c->assigns);
    free(c->truth);
    if (c->meta) json_decref(c->meta);
    pool_free(c->pool);
    free(c);
}

const char *acgme_case_str(struct acgme_case *c, const char *s)
{
    return pool_dup(c->pool, s);
}

#define GROW(arr, n, alloc)                                                        \
    do {                                                                           \
        if ((n) == (alloc)) {                                                      \
            (alloc) = (alloc) ? (alloc) * 2 : 64;                                  \
            (arr) = fl_realloc((arr), (alloc) * sizeof *(arr));                    \
        }                                                                          \
    } while (0)

size_t acgme_add_person(struct acgme_case *c, const char *id, const char *name, enum acgme_ptype type, int pgy)
{
    GROW(c->people, c->npeople, c->apeople);
    c->people[c->npeople] = (struct acgme_person){ pool_dup(c->pool, id), pool_dup(c->pool, name), type, pgy };
    return c->npeople++;
}

size_t acgme_add_block(struct acgme_case *c, const char *id, int32_t day, enum acgme_tod tod)
{
    GROW(c->blocks, c->nblocks, c->ablocks);
    c->blocks[c->nblocks] = (struct acgme_block){ pool_dup(c->pool, id), day, tod };
    return c->nblocks++;
}

size_t acgme_add_assignment(struct acgme_case *c, const char *id, const char *block_id, const char *person_id,
                            const char *role)
{
    GROW(c->assigns, c->nassigns, c->aassigns);
    c->assigns[c->nassigns] = (struct acgme_assign){ pool_dup(c->pool, id), pool_dup(c->pool, block_id),
                                                     pool_dup(c->pool, person_id), pool_dup(c->pool, role) };
    return c->nassigns++;
}

void acgme_add_truth(struct acgme_case *c, enum acgme_rule rule, const char *id, int weekend)
{
    GROW(c->truth, c->ntruth, c->atruth);
    c->truth[c->ntruth++] = (struct acgme_item){ rule, pool_dup(c->pool, id), weekend };
    c->has_truth = 1;
}

/* ---- rules and dates ------------------------------------------------------------------ */

static const char *const rule_types[ACGME_NRULES] = { "80_HOUR_VIOLATION", "1_IN_7_VIOLATION",
                                                      "SUPERVISION_RATIO_VIOLATION", "24_PLUS_4_VIOLATION" };
static const char *const rule_shorts[ACGME_NRULES] = { "80h", "1in7", "supervision", "24+4" };

const char *acgme_rule_type(enum acgme_rule r) { return (unsigned)r < ACGME_NRULES ? rule_types[r] : "?"; }
const char *acgme_rule_short(enum acgme_rule r) { return (unsigned)r < ACGME_NRULES ? rule_shorts[r] : "?"; }
const char *acgme_rule_severity(enum acgme_rule r) { return r == ACGME_R1IN7 ? "HIGH" : "CRITICAL"; }
int acgme_rule_keyed_by_block(enum acgme_rule r) { return r == ACGME_RSUP; }

int acgme_rule_by_type(const char *type)
{
    for (int i = 0; type && i < ACGME_NRULES; i++)
        if (strcmp(type, rule_types[i]) == 0) return i;
    return -1;
}

int acgme_rule_by_short(const char *s)
{
    for (int i = 0; s && i < ACGME_NRULES; i++)
        if (strcmp(s, rule_shorts[i]) == 0) return i;
    if (s && (strcmp(s, "80") == 0 || strcmp(s, "80_hour") == 0)) return ACGME_R80H;
    if (s && (strcmp(s, "1_in_7") == 0 || strcmp(s, "one_in_seven") == 0)) return ACGME_R1IN7;
    if (s && (strcmp(s, "sup") == 0 || strcmp(s, "supervision_ratio") == 0)) return ACGME_RSUP;
    if (s && (strcmp(s, "24_4") == 0 || strcmp(s, "24h") == 0)) return ACGME_R24_4;
    return -1;
}

int acgme_parse_date(const char *s, int32_t *day)
{
    if (!s || strlen(s) < 10) return -1;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-') return -1;
        } else if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    if (s[10] && s[10] != 'T' && s[10] != ' ') return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12 || d < 1) return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap)) return -1;
    *day = date_from_civil(y, m, d);
    return 0;
}

void acgme_fmt_date(int32_t day, char out[16])
{
    int y, m, d;
    date_to_civil(day, &y, &m, &d);
    unsigned yy = (unsigned)(y < 0 ? 0 : y % 10000), mm = (unsigned)m % 100, dd = (unsigned)d % 100;
    snprintf(out, 16, "%04u-%02u-%02u", yy, mm, dd);
}

int acgme_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (4) */
    int w = (int)(((int64_t)day % 7 + 7 + 4) % 7);
    return w;
}

/* ---- id index: open addressing over string ids ----------------------------------------- */

struct idx {
    uint32_t *slot;   /* element index + 1; 0 = empty */
    size_t mask;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

/* ids[i] at stride bytes apart (the id field of an array of structs) */
static void idx_build(struct idx *x, const char *base, size_t stride, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    x->slot = fl_calloc(cap, sizeof *x->slot);
    x->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        const char *id = *(const char *const *)(base + i * stride);
        if (!id) continue;
        size_t h = hash_str(id) & x->mask;
        for (;;) {
            uint32_t s = x->slot[h];
            if (!s) {
                x->slot[h] = (uint32_t)i + 1;
                break;
            }
            /* a repeated id keeps its first element */
            if (strcmp(*(const char *const *)(base + (s - 1) * stride), id) == 0) break;
            h = (h + 1) & x->mask;
        }
    }
}

static long idx_find(const struct idx *x, const char *base, size_t stride, const char *id)
{
    if (!id) return -1;
    size_t h = hash_str(id) & x->mask;
    for (;;) {
        uint32_t s = x->slot[h];
        if (!s) return -1;
        if (strcmp(*(const char *const *)(base + (s - 1) * stride), id) == 0) return (long)s - 1;
        h = (h + 1) & x->mask;
    }
}

/* ---- validation ----------------------------------------------------------------------- */

struct vlist {
    struct acgme_violation *v;
    size_t n, alloc;
};

static struct acgme_violation *vpush(struct vlist *l)
{
    GROW(l->v, l->n, l->alloc);
    struct acgme_violation *v = &l->v[l->n++];
    memset(v, 0, sizeof *v);
    return v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int is_call_role(const char *role)
{
    return role && strcasestr(role, "call") != NULL;
}

/* per-person key: high 32 bits ((day + DAY_BIAS)*4 + tod*2 + call), low 32 bits the block
 * index; the bias keeps keys of dates back to year 0 non-negative */
#define DAY_BIAS (1 << 22)
#define KEY(day, tod, call, bi) \
    ((int64_t)(((int64_t)(day) + DAY_BIAS) * 4 + (tod) * 2 + (call)) * 4294967296LL + (uint32_t)(bi))
#define KEY_SLOT(k) ((k) / 4294967296LL)
#define SLOT_DAY(s) ((int32_t)((s) / 4 - DAY_BIAS))

/* qsort_r comparator (no shared state: probes validate from several threads) */
static int cmp_block_idx(const void *a, const void *b, void *ctx)
{
    const struct acgme_block *blocks = ctx;
    const struct acgme_block *x = &blocks[*(const uint32_t *)a], *y = &blocks[*(const uint32_t *)b];
    if (x->day != y->day) return x->day < y->day ? -1 : 1;
    if (x->tod != y->tod) return x->tod < y->tod ? -1 : 1;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    return (i > j) - (i < j);
}

/* the rules over one resident's sorted keys */
static void check_resident(const struct acgme_case *c, size_t p, const int64_t *k, size_t nk,
                           const struct acgme_settings *s, int32_t *days, int *cnt, struct vlist *l80,
                           struct vlist *l7, struct vlist *l24)
{
    const struct acgme_person *pe = &c->people[p];
    /* distinct days with their half-day counts */
    size_t m = 0;
    for (size_t i = 0; i < nk; i++) {
        int32_t d = SLOT_DAY(KEY_SLOT(k[i]));
        if (m && days[m - 1] == d) {
            cnt[m - 1]++;
        } else {
            days[m] = d;
            cnt[m] = 1;
            m++;
        }
    }
    /* 80 hours: windows [d, d+27] starting on worked days; 6 h per half-day; hours/4 > 80 */
    long sum = 0;
    size_t j = 0;
    for (size_t i = 0; i < m; i++) {
        while (j < m && days[j] <= days[i] + 27) sum += cnt[j++];
        if (sum * 6 > 320) {
            struct acgme_violation *v = vpush(l80);
            v->rule = ACGME_R80H;
            v->person_id = pe->id;
            v->person_name = pe->name;
            v->d0 = days[i];
            v->d1 = days[i] + 27;
            v->n0 = (int)sum;
            v->n1 = (int)sum * 6;
            break;
        }
        sum -= cnt[i];
    }
    /* 1 in 7: the longest run of consecutive duty days */
    size_t best = 0, best_at = 0, run = 0, run_at = 0;
    for (size_t i = 0; i < m; i++) {
        if (i && days[i] == days[i - 1] + 1) {
            run++;
        } else {
            run = 1;
            run_at = i;
        }
        if (run > best) {
            best = run;
            best_at = run_at;
        }
    }
    if (best >= 7) {
        struct acgme_violation *v = vpush(l7);
        v->rule = ACGME_R1IN7;
        v->person_id = pe->id;
        v->person_name = pe->name;
        v->d0 = days[best_at];
        v->d1 = days[best_at] + (int32_t)best - 1;
        v->n0 = (int)best;
    }
    /* 24+4: merge touching duty intervals (hours since the epoch) */
    if (!s->rule_24_4 || !nk) return;
    int64_t cs = 0, ce = 0;
    uint32_t cblock = 0;
    int open = 0;
    for (size_t i = 0; i <= nk; i++) {
        int64_t st = 0, en = 0;
        if (i < nk) {
            int64_t slot = KEY_SLOT(k[i]);
            int64_t day = SLOT_DAY(slot);
            int tod = (int)((slot & 3) >> 1), call = (int)(slot & 1);
            st = day * 24 + (tod ? 13 : 7);
            en = tod ? (call ? day * 24 + 31 : day * 24 + 19) : day * 24 + 13;
        }
        if (open && i < nk && st <= ce) {
            if (en > ce) ce = en;
            continue;
        }
        if (open && ce - cs > 28) {
            struct acgme_violation *v = vpush(l24);
            v->rule = ACGME_R24_4;
            v->person_id = pe->id;
            v->person_name = pe->name;
            v->block_id = c->blocks[cblock].id;
            v->d0 = (int32_t)(cs / 24);
            v->d1 = (int32_t)((ce - 1) / 24);
            v->n0 = (int)(ce - cs);
        }
        if (i < nk) {
            cs = st;
            ce = en;
            cblock = (uint32_t)(k[i] & 0xffffffffu);
            open = 1;
        }
    }
}

void acgme_ref_validate(const struct acgme_case *c, const struct acgme_settings *s, struct acgme_answer *out)
{
    static const struct acgme_settings defaults = { 0, 0 };
    if (!s) s = &defaults;
    memset(out, 0, sizeof *out);
    size_t np = c->npeople, nb = c->nblocks, na = c->nassigns;

    struct idx xp, xb;
    /* the id fields, stride apart (never read when the array is empty) */
    const char *pbase = np ? (const char *)&c->people[0].id : NULL;
    const char *bbase = nb ? (const char *)&c->blocks[0].id : NULL;
    idx_build(&xp, pbase, sizeof c->people[0], np);
    idx_build(&xb, bbase, sizeof c->blocks[0], nb);

    /* resolve; count per block and per resident */
    uint32_t *ap = fl_malloc((na ? na : 1) * sizeof *ap), *ab = fl_malloc((na ? na : 1) * sizeof *ab);
    uint32_t *pgy1 = fl_calloc(nb + 1, sizeof *pgy1), *other = fl_calloc(nb + 1, sizeof *other);
    uint32_t *fac = fl_calloc(nb + 1, sizeof *fac);
    size_t *off = fl_calloc(np + 1, sizeof *off);
    for (size_t i = 0; i < na; i++) {
        const struct acgme_assign *a = &c->assigns[i];
        long p = idx_find(&xp, pbase, sizeof c->people[0], a->person_id);
        long b = idx_find(&xb, bbase, sizeof c->blocks[0], a->block_id);
        if (p < 0 || b < 0) {
            out->ignored++;
            ap[i] = UINT32_MAX;
            continue;
        }
        ap[i] = (uint32_t)p;
        ab[i] = (uint32_t)b;
        const struct acgme_person *pe = &c->people[p];
        if (pe->type == ACGME_RESIDENT) {
            if (pe->pgy == 1) pgy1[b]++;
            else other[b]++;
            off[p + 1]++;
        } else if (pe->type == ACGME_FACULTY) {
            fac[b]++;
        }
    }
    free(xp.slot);
    free(xb.slot);

    /* bucket residents' assignments per person (counting sort), then sort each bucket */
    size_t maxk = 0;
    for (size_t p = 0; p < np; p++) {
        if (off[p + 1] > maxk) maxk = off[p + 1];
        off[p + 1] += off[p];
    }
    int64_t *keys = fl_malloc((off[np] ? off[np] : 1) * sizeof *keys);
    size_t *fill = fl_malloc((np ? np : 1) * sizeof *fill);
    memcpy(fill, off, np * sizeof *fill);
    for (size_t i = 0; i < na; i++) {
        if (ap[i] == UINT32_MAX || c->people[ap[i]].type != ACGME_RESIDENT) continue;
        const struct acgme_block *b = &c->blocks[ab[i]];
        int call = s->rule_24_4 && b->tod == ACGME_PM && is_call_role(c->assigns[i].role);
        keys[fill[ap[i]]++] = KEY(b->day, b->tod == ACGME_PM, call, ab[i]);
    }
    free(fill);
    free(ap);
    free(ab);

    struct vlist l80 = { 0 }, l7 = { 0 }, lsup = { 0 }, l24 = { 0 };
    int32_t *days = fl_malloc((maxk ? maxk : 1) * sizeof *days);
    int *cnt = fl_malloc((maxk ? maxk : 1) * sizeof *cnt);
    for (size_t p = 0; p < np; p++) {
        size_t nk = off[p + 1] - off[p];
        if (!nk) continue;
        qsort(keys + off[p], nk, sizeof *keys, cmp_i64);
        check_resident(c, p, keys + off[p], nk, s, days, cnt, &l80, &l7, &l24);
    }
    free(days);
    free(cnt);
    free(keys);
    free(off);

    /* supervision, blocks in date order */
    uint32_t *order = fl_malloc((nb ? nb : 1) * sizeof *order);
    size_t no = 0;
    for (size_t b = 0; b < nb; b++)
        if (pgy1[b] + other[b] > 0) order[no++] = (uint32_t)b;
    qsort_r(order, no, sizeof *order, cmp_block_idx, c->blocks);
    for (size_t i = 0; i < no; i++) {
        uint32_t b = order[i];
        const struct acgme_block *bl = &c->blocks[b];
        if (!s->weekend_supervision && acgme_is_weekend(bl->day)) continue;
        uint32_t units = 2 * pgy1[b] + other[b];
        uint32_t required = (units + 3) / 4;
        if (fac[b] >= required) continue;
        struct acgme_violation *v = vpush(&lsup);
        v->rule = ACGME_RSUP;
        v->block_id = bl->id;
        v->d0 = v->d1 = bl->day;
        v->tod = bl->tod;
        v->n0 = (int)(pgy1[b] + other[b]);
        v->n1 = (int)pgy1[b];
        v->n2 = (int)fac[b];
        v->n3 = (int)required;
    }
    free(order);
    free(pgy1);
    free(other);
    free(fac);

    struct vlist *lists[] = { &l80, &l7, &lsup, &l24 };
    size_t total = 0;
    for (int i = 0; i < 4; i++) total += lists[i]->n;
    out->v = fl_malloc((total ? total : 1) * sizeof *out->v);
    out->alloc = total;
    for (int i = 0; i < 4; i++) {
        if (lists[i]->n) memcpy(out->v + out->n, lists[i]->v, lists[i]->n * sizeof *out->v);
        out->n += lists[i]->n;
        free(lists[i]->v);
    }
}

void acgme_answer_release(struct acgme_answer *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

static json_t *jstr_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *acgme_answer_json(const struct acgme_answer *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n; i++) {
        const struct acgme_violation *v = &a->v[i];
        char d0[16], d1[16], msg[512];
        acgme_fmt_date(v->d0, d0);
        acgme_fmt_date(v->d1, d1);
        const char *who = v->person_name ? v->person_name : v->person_id;
        json_t *det;
        switch (v->rule) {
        case ACGME_R80H:
            snprintf(msg, sizeof msg, "%s: %.1f hours/week over the 28 days from %s (limit: 80)", who,
                     v->n1 / 4.0, d0);
            det = json_pack("{s:s, s:s, s:i, s:i, s:f}", "window_start", d0, "window_end", d1, "half_days", v->n0,
                            "total_hours", v->n1, "average_weekly_hours", v->n1 / 4.0);
            break;
        case ACGME_R1IN7:
            snprintf(msg, sizeof msg, "%s: %d consecutive duty days from %s (limit: 6)", who, v->n0, d0);
            det = json_pack("{s:i, s:s, s:s}", "consecutive_days", v->n0, "start_date", d0, "end_date", d1);
            break;
        case ACGME_RSUP:
            snprintf(msg, sizeof msg, "block %s (%s %s) needs %d faculty for %d residents (%d PGY-1), has %d",
                     v->block_id, d0, v->tod == ACGME_PM ? "PM" : "AM", v->n3, v->n0, v->n1, v->n2);
            det = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "date", d0, "time_of_day",
                            v->tod == ACGME_PM ? "PM" : "AM", "residents", v->n0, "pgy1_count", v->n1,
                            "supervision_units", 2 * v->n1 + (v->n0 - v->n1), "faculty_count", v->n2, "required",
                            v->n3);
            break;
        default:
            snprintf(msg, sizeof msg, "%s: %d hours of continuous duty from %s (limit: 28)", who, v->n0, d0);
            det = json_pack("{s:i, s:s, s:s}", "hours", v->n0, "start_date", d0, "end_date", d1);
            break;
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "type", acgme_rule_type(v->rule),
                                             "severity", acgme_rule_severity(v->rule), "person_id",
                                             jstr_or_null(v->person_id), "block_id", jstr_or_null(v->block_id),
                                             "message", msg, "details", det));
    }
    return json_pack("{s:b, s:I, s:o}", "valid", a->n == 0, "total_violations", (json_int_t)a->n, "violations", arr);
}

/* ---- comparing ------------------------------------------------------------------------ */

struct acgme_item *acgme_answer_items(const struct acgme_answer *a, size_t *n)
{
    struct acgme_item *it = fl_malloc((a->n ? a->n : 1) * sizeof *it);
    for (size_t i = 0; i < a->n; i++) {
        const struct acgme_violation *v = &a->v[i];
        it[i] = (struct acgme_item){ v->rule, acgme_rule_keyed_by_block(v->rule) ? v->block_id : v->person_id, 0 };
    }
    *n = a->n;
    return it;
}

struct acgme_item *acgme_truth_items(const struct acgme_case *c, const struct acgme_settings *s, size_t *n)
{
    struct acgme_item *it = fl_malloc((c->ntruth ? c->ntruth : 1) * sizeof *it);
    size_t k = 0;
    for (size_t i = 0; i < c->ntruth; i++) {
        if (c->truth[i].weekend && !(s && s->weekend_supervision)) continue;
        if (c->truth[i].rule == ACGME_R24_4 && !(s && s->rule_24_4)) continue;
        it[k++] = c->truth[i];
    }
    *n = k;
    return it;
}

static int item_cmp(const struct acgme_item *x, const struct acgme_item *y)
{
    if (x->rule != y->rule) return x->rule < y->rule ? -1 : 1;
    return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

static int item_qcmp(const void *a, const void *b) { return item_cmp(a, b); }

void acgme_items_sort(struct acgme_item *it, size_t n)
{
    if (n > 1) qsort(it, n, sizeof *it, item_qcmp);
}

int acgme_items_compare(const struct acgme_item *truth, size_t nt, const struct acgme_item *got, size_t ng,
                        long *tp, long *fp, long *fn)
{
    size_t i = 0, j = 0;
    int same = 1;
    while (i < nt || j < ng) {
        int c = i == nt ? 1 : j == ng ? -1 : item_cmp(&truth[i], &got[j]);
        if (c == 0) {
            if ((unsigned)truth[i].rule < ACGME_NRULES) tp[truth[i].rule]++;
            i++;
            j++;
        } else if (c < 0) {
            if ((unsigned)truth[i].rule < ACGME_NRULES) fn[truth[i].rule]++;
            i++;
            same = 0;
        } else {
            if ((unsigned)got[j].rule < ACGME_NRULES) fp[got[j].rule]++;
            j++;
            same = 0;
        }
    }
    return same;
}
