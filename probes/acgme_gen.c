/* acgme_gen.c -- ACGME cases with ground truth by construction, and the case JSON format. */
#include "acgme_gen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fl.h"

/* ---- a small reproducible generator (splitmix64) ------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(struct rng *r, uint32_t n) { return n ? (uint32_t)(rng_next(r) % n) : 0; }
static double rng_unit(struct rng *r) { return (double)(rng_next(r) >> 11) / 9007199254740992.0; }

static void shuffle_u32(struct rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, (uint32_t)i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---- options ----------------------------------------------------------------------- */

void acgme_gen_defaults(struct acgme_gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->residents = 12;
    o->faculty = 4;
    o->weeks = 4;
    acgme_parse_date("2026-01-05", &o->start_day);
    o->pgy_share[0] = 0.40;
    o->pgy_share[1] = 0.35;
    o->pgy_share[2] = 0.25;
    o->rate[ACGME_R80H] = 0.2;
    o->rate[ACGME_R1IN7] = 0.2;
    o->rate[ACGME_RSUP] = 0.1;
    o->weekend_decoys = -1;
}

int acgme_gen_parse_rates(struct acgme_gen_opts *o, const char *text, char *err)
{
    double rate[ACGME_NRULES] = { 0 };
    if (strcmp(text, "none") != 0) {
        char *copy = fl_strdup(text), *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq) {
                fl_err(err, "bad violation rate '%s': expected kind=rate (80h=0.2,1in7=0.2,supervision=0.1)", tok);
                free(copy);
                return -1;
            }
            *eq = 0;
            int r = acgme_rule_by_short(tok);
            if (r < 0 || r == ACGME_R24_4) {
                fl_err(err, "unknown violation kind '%s': expected 80h, 1in7 or supervision", tok);
                free(copy);
                return -1;
            }
            char *end;
            errno = 0;
            double v = strtod(eq + 1, &end);
            if (*end == '%') {
                v /= 100;
                end++;
            }
            if (errno || end == eq + 1 || *end || !(v >= 0 && v <= 1)) {
                fl_err(err, "bad rate '%s' for '%s': expected a number between 0 and 1 (or a percentage)", eq + 1,
                       tok);
                free(copy);
                return -1;
            }
            rate[r] = v;
        }
        free(copy);
    }
    memcpy(o->rate, rate, sizeof rate);
    return 0;
}

/* ---- the generator ------------------------------------------------------------------ */

enum { MAND_NONE = 0, MAND_ANY = 1, MAND_ALL = 2 };
enum { PAT_BASE, PAT_HEAVY, PAT_RUN };

struct gen {
    const struct acgme_gen_opts *o;
    struct rng rng;
    int R, F, D;
    int *pgy;
    uint8_t *work;     /* R x D: bit 0 AM, bit 1 PM */
    uint8_t *mand;     /* R x D */
    int *units;        /* 2D blocks: supervision units placed */
    int cap;           /* 4 units per faculty */
    json_t *injected;
};

static void count(struct gen *g, const char *what)
{
    json_object_set_new(g->injected, what, json_integer(json_integer_value(json_object_get(g->injected, what)) + 1));
}

static void plan_base(struct gen *g, int r)
{
    uint8_t *w = g->work + (size_t)r * g->D, *m = g->mand + (size_t)r * g->D;
    int o = (int)rng_below(&g->rng, 7);
    for (int d = 0; d < g->D; d++) {
        m[d] = MAND_NONE;
        if ((d - o) % 7 == 0) w[d] = 0;
        else if (rng_unit(&g->rng) < 0.75) w[d] = 3;
        else w[d] = (uint8_t)(1 + rng_below(&g->rng, 2));
    }
}

/* 28 heavy days at p fenced by 7 off days each side; returns the variant's half-day count */
static int plan_heavy(struct gen *g, int r)
{
    int D = g->D, cand[512], nc = 0;
    for (int p = 0; p + 28 <= D && nc < 512; p++)
        if ((p == 0 || p >= 7) && (p + 28 == D || p + 35 <= D)) cand[nc++] = p;
    if (!nc) return 0;
    plan_base(g, r);
    uint8_t *w = g->work + (size_t)r * D, *m = g->mand + (size_t)r * D;
    int p = cand[rng_below(&g->rng, (uint32_t)nc)];
    for (int d = p - 7; d < p + 35; d++) {
        if (d < 0 || d >= D) continue;
        w[d] = 0;
        m[d] = MAND_NONE;
    }
    for (int d = p; d < p + 28; d++) {
        w[d] = 3;
        m[d] = MAND_ALL;
    }
    /* variants: 53 and 54 half-days (the boundary) half of the time, else 55 or 56 */
    static const int variants[] = { 53, 54, 53, 54, 55, 56 };
    int half_days = variants[rng_below(&g->rng, 6)];
    int q = 1 + (int)rng_below(&g->rng, 27), q2;
    if (half_days == 55) {
        w[p + q] = (uint8_t)(1 + rng_below(&g->rng, 2));
    } else if (half_days <= 54) {
        w[p + q] = 0;
        if (half_days == 53) {
            do q2 = 1 + (int)rng_below(&g->rng, 27);
            while (q2 == q);
            w[p + q2] = (uint8_t)(1 + rng_below(&g->rng, 2));
        }
    }
    return half_days;
}

/* a run of exactly 7 (off day moved by one) or 13 (off day removed); returns its length */
static int plan_run(struct gen *g, int r)
{
    int D = g->D;
    plan_base(g, r);
    uint8_t *w = g->work + (size_t)r * D, *m = g->mand + (size_t)r * D;
    int cand[512], nc = 0;
    for (int q = 6; q + 1 < D && nc < 512; q++)
        if (w[q] == 0) cand[nc++] = q;
    if (!nc) return 0;
    int q = cand[rng_below(&g->rng, (uint32_t)nc)];
    int boundary = rng_below(&g->rng, 2) == 0;
    w[q] = (uint8_t)(1 + rng_below(&g->rng, 3));
    int last;
    if (boundary) {
        w[q + 1] = 0;
        last = q;
    } else {
        last = q + 6 < D ? q + 6 : D - 1;
    }
    for (int d = q - 6; d <= last; d++) m[d] = MAND_ANY;
    return last - (q - 6) + 1;
}

/* can resident r's mandatory half-days all be supervised? */
static int fits(struct gen *g, int r)
{
    int wt = g->pgy[r] == 1 ? 2 : 1;
    const uint8_t *w = g->work + (size_t)r * g->D, *m = g->mand + (size_t)r * g->D;
    for (int d = 0; d < g->D; d++) {
        int am = (w[d] & 1) && g->units[2 * d] + wt <= g->cap;
        int pm = (w[d] & 2) && g->units[2 * d + 1] + wt <= g->cap;
        if (m[d] == MAND_ALL && (((w[d] & 1) && !am) || ((w[d] & 2) && !pm))) return 0;
        if (m[d] == MAND_ANY && !am && !pm) return 0;
    }
    return 1;
}

/* commit r's half-days, dropping optional ones a block cannot supervise */
static void place(struct gen *g, int r)
{
    int wt = g->pgy[r] == 1 ? 2 : 1;
    uint8_t *w = g->work + (size_t)r * g->D;
    for (int d = 0; d < g->D; d++) {
        for (int h = 0; h < 2; h++) {
            if (!(w[d] & (1 << h))) continue;
            int *u = &g->units[2 * d + h];
            if (*u + wt <= g->cap) *u += wt;
            else w[d] &= (uint8_t) ~(1 << h);
        }
    }
}

static const char *gen_id(char *buf, size_t n, const char *prefix, const char *kind, long i)
{
    snprintf(buf, n, "%s-%s%ld", prefix, kind, i);
    return buf;
}

static int gen_check_opts(const struct acgme_gen_opts *o, char *err)
{
    if (o->residents < 0 || o->residents > 100000 || o->faculty < 0 || o->faculty > 100000) {
        fl_err(err, "residents and faculty must be between 0 and 100000");
        return -1;
    }
    if (o->weeks < 1 || o->weeks > 520) {
        fl_err(err, "weeks must be between 1 and 520");
        return -1;
    }
    for (int i = 0; i < ACGME_NRULES; i++)
        if (!(o->rate[i] >= 0 && o->rate[i] <= 1)) {
            fl_err(err, "rate of '%s' must be between 0 and 1", acgme_rule_short(i));
            return -1;
        }
    return 0;
}

/* people (PGY levels in exact shares, shuffled over residents; faculty) and AM/PM blocks */
static void gen_people(struct gen *g, struct acgme_case *c, const char *prefix)
{
    const struct acgme_gen_opts *o = g->o;
    char id[128], bid[128], date[16];
    /* PGY levels: exact shares, shuffled over residents */
    double tot = o->pgy_share[0] + o->pgy_share[1] + o->pgy_share[2];
    if (!(tot > 0)) tot = 1;
    int n1 = (int)lround(g->R * o->pgy_share[0] / tot), n2 = (int)lround(g->R * o->pgy_share[1] / tot);
    if (n1 > g->R) n1 = g->R;
    if (n1 + n2 > g->R) n2 = g->R - n1;
    for (int r = 0; r < g->R; r++) g->pgy[r] = r < n1 ? 1 : r < n1 + n2 ? 2 : 3;
    for (int r = g->R; r > 1; r--) {
        int j = (int)rng_below(&g->rng, (uint32_t)r), t = g->pgy[r - 1];
        g->pgy[r - 1] = g->pgy[j];
        g->pgy[j] = t;
    }
    for (int r = 0; r < g->R; r++) {
        char name[64];
        snprintf(name, sizeof name, "Resident %d", r + 1);
        acgme_add_person(c, gen_id(id, sizeof id, prefix, "r", r + 1), name, ACGME_RESIDENT, g->pgy[r]);
    }
    for (int f = 0; f < g->F; f++) {
        char name[64];
        snprintf(name, sizeof name, "Faculty %d", f + 1);
        acgme_add_person(c, gen_id(id, sizeof id, prefix, "f", f + 1), name, ACGME_FACULTY, 0);
    }
    for (int d = 0; d < g->D; d++)
        for (int h = 0; h < 2; h++) {
            acgme_fmt_date(o->start_day + d, date);
            snprintf(bid, sizeof bid, "%s-b%s-%s", prefix, date, h ? "pm" : "am");
            acgme_add_block(c, bid, o->start_day + d, h ? ACGME_PM : ACGME_AM);
        }
}

/* residents' patterns: injected ones (80 h, 1 in 7) placed first, so they fit, then the rest;
 * their ground truth */
static void gen_patterns(struct gen *g, struct acgme_case *c)
{
    const struct acgme_gen_opts *o = g->o;
    /* residents: pick patterns, place injected ones first (they must fit), then the rest */
    int *pat = fl_calloc((size_t)g->R + 1, sizeof *pat), *len = fl_calloc((size_t)g->R + 1, sizeof *len);
    uint8_t *first = fl_calloc((size_t)g->R + 1, 1);
    uint32_t *order = fl_malloc(((size_t)g->R + 1) * sizeof *order);
    for (int r = 0; r < g->R; r++) {
        order[r] = (uint32_t)r;
        if (rng_unit(&g->rng) < o->rate[ACGME_R80H]) pat[r] = PAT_HEAVY;
        else if (rng_unit(&g->rng) < o->rate[ACGME_R1IN7]) pat[r] = PAT_RUN;
        first[r] = pat[r] != PAT_BASE;
    }
    shuffle_u32(&g->rng, order, (size_t)g->R);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < g->R; i++) {
            int r = (int)order[i];
            if ((pass == 0) != first[r]) continue;
            if (pat[r] == PAT_HEAVY) len[r] = plan_heavy(g, r);
            else if (pat[r] == PAT_RUN) len[r] = plan_run(g, r);
            if (pat[r] != PAT_BASE && (!len[r] || !fits(g, r))) {
                count(g, pat[r] == PAT_HEAVY ? "80h_skipped" : "1in7_skipped");
                pat[r] = PAT_BASE;
            }
            if (pat[r] == PAT_BASE) plan_base(g, r);
            place(g, r);
            const char *rid = c->people[r].id;
            if (pat[r] == PAT_HEAVY) {
                char what[32];
                snprintf(what, sizeof what, "80h_%d_half_days", len[r]);
                count(g, what);
                if (len[r] >= 54) acgme_add_truth(c, ACGME_R80H, rid, 0);
                acgme_add_truth(c, ACGME_R1IN7, rid, 0);
            } else if (pat[r] == PAT_RUN) {
                count(g, len[r] == 7 ? "1in7_run_of_7" : "1in7_run_over_7");
                acgme_add_truth(c, ACGME_R1IN7, rid, 0);
            }
        }
    }
    free(pat);
    free(first);
    free(len);
    free(order);
}

struct gen_pair {
    uint32_t person, block;
};

/* assignments: residents' half-days, then faculty per block (supervision short on some
 * weekdays, weekend decoys), shuffled; returns the weekend decoy rate used */
static double gen_assignments(struct gen *g, struct acgme_case *c, const char *prefix)
{
    const struct acgme_gen_opts *o = g->o;
    char id[128];
    /* assignments: residents' half-days, then faculty per block */
    struct gen_pair *as = NULL;
    size_t nas = 0, aas = 0;
    for (int r = 0; r < g->R; r++)
        for (int d = 0; d < g->D; d++)
            for (int h = 0; h < 2; h++)
                if (g->work[(size_t)r * g->D + d] & (1 << h)) {
                    if (nas == aas) as = fl_realloc(as, (aas = aas ? aas * 2 : 256) * sizeof *as);
                    as[nas++] = (struct gen_pair){ (uint32_t)r, (uint32_t)(2 * d + h) };
                }
    uint32_t *fidx = fl_malloc(((size_t)g->F + 1) * sizeof *fidx);
    double decoys = o->weekend_decoys >= 0 ? o->weekend_decoys : o->rate[ACGME_RSUP];
    for (int b = 0; b < 2 * g->D; b++) {
        int u = g->units[b], req = (u + 3) / 4, k;
        int weekend = acgme_is_weekend(c->blocks[b].day);
        if (u == 0) {
            k = rng_below(&g->rng, 3) == 0 ? (int)rng_below(&g->rng, (uint32_t)(g->F < 2 ? g->F : 2) + 1) : 0;
        } else if (!weekend && rng_unit(&g->rng) < o->rate[ACGME_RSUP]) {
            if (req < 2 || rng_below(&g->rng, 2) == 0) {
                k = req - 1;
                count(g, "supervision_one_short");
            } else {
                k = (int)rng_below(&g->rng, (uint32_t)(req - 1));
                count(g, "supervision_more_short");
            }
            acgme_add_truth(c, ACGME_RSUP, c->blocks[b].id, 0);
        } else if (weekend && rng_unit(&g->rng) < decoys) {
            k = req - 1;
            count(g, "weekend_one_short");
            acgme_add_truth(c, ACGME_RSUP, c->blocks[b].id, 1);
        } else if (rng_below(&g->rng, 2) == 0 || req >= g->F) {
            k = req;
            count(g, "supervision_exactly_enough");
        } else {
            k = req + 1;
        }
        for (int f = 0; f < g->F; f++) fidx[f] = (uint32_t)f;
        for (int i = 0; i < k; i++) {
            int j = i + (int)rng_below(&g->rng, (uint32_t)(g->F - i));
            uint32_t t = fidx[i];
            fidx[i] = fidx[j];
            fidx[j] = t;
            if (nas == aas) as = fl_realloc(as, (aas = aas ? aas * 2 : 256) * sizeof *as);
            as[nas++] = (struct gen_pair){ (uint32_t)(g->R + fidx[i]), (uint32_t)b };
        }
    }
    for (size_t i = nas; i > 1; i--) {
        size_t j = rng_below(&g->rng, (uint32_t)i);
        struct gen_pair t = as[i - 1];
        as[i - 1] = as[j];
        as[j] = t;
    }
    for (size_t i = 0; i < nas; i++) {
        const struct acgme_person *pe = &c->people[as[i].person];
        acgme_add_assignment(c, gen_id(id, sizeof id, prefix, "a", (long)i + 1), c->blocks[as[i].block].id, pe->id,
                             pe->type == ACGME_RESIDENT ? "primary" : "supervising");
    }
    free(as);
    free(fidx);
    return decoys;
}

struct acgme_case *acgme_generate(const struct acgme_gen_opts *o, char *err)
{
    if (gen_check_opts(o, err) < 0) return NULL;
    struct gen g = { .o = o, .rng = { o->seed * 0x2545f4914f6cdd1dull + 0x1234567ull }, .R = o->residents,
                     .F = o->faculty, .D = o->weeks * 7, .cap = 4 * o->faculty };
    char prefix[64];
    if (o->prefix) snprintf(prefix, sizeof prefix, "%s", o->prefix);
    else snprintf(prefix, sizeof prefix, "c%llu", (unsigned long long)o->seed);
    g.pgy = fl_calloc((size_t)g.R + 1, sizeof *g.pgy);
    g.work = fl_calloc((size_t)g.R * g.D + 1, 1);
    g.mand = fl_calloc((size_t)g.R * g.D + 1, 1);
    g.units = fl_calloc((size_t)g.D * 2, sizeof *g.units);
    g.injected = json_object();

    struct acgme_case *c = acgme_case_new();
    gen_people(&g, c, prefix);
    gen_patterns(&g, c);
    double decoys = gen_assignments(&g, c, prefix);
    c->has_truth = 1;

    char start[16];
    acgme_fmt_date(o->start_day, start);
    c->meta = json_pack("{s:I, s:i, s:i, s:i, s:s, s:{s:f, s:f, s:f, s:f}, s:o}", "seed", (json_int_t)o->seed,
                        "residents", g.R, "faculty", g.F, "weeks", o->weeks, "start", start, "rates", "80h",
                        o->rate[ACGME_R80H], "1in7", o->rate[ACGME_R1IN7], "supervision", o->rate[ACGME_RSUP],
                        "weekend_decoys", decoys, "injected", g.injected);
    free(g.pgy);
    free(g.work);
    free(g.mand);
    free(g.units);
    return c;
}

/* ---- JSON ----------------------------------------------------------------------------- */

json_t *acgme_case_to_json(const struct acgme_case *c, int with_truth)
{
    json_t *people = json_array(), *blocks = json_array(), *assigns = json_array();
    for (size_t i = 0; i < c->npeople; i++) {
        const struct acgme_person *p = &c->people[i];
        const char *type = p->type == ACGME_RESIDENT ? "resident" : p->type == ACGME_FACULTY ? "faculty" : "other";
        json_array_append_new(people, json_pack("{s:s, s:s, s:s, s:o}", "id", p->id, "name", p->name ? p->name : "",
                                                "type", type, "pgy_level",
                                                p->type == ACGME_RESIDENT ? json_integer(p->pgy) : json_null()));
    }
    for (size_t i = 0; i < c->nblocks; i++) {
        char date[16];
        acgme_fmt_date(c->blocks[i].day, date);
        json_array_append_new(blocks, json_pack("{s:s, s:s, s:s}", "id", c->blocks[i].id, "date", date, "time_of_day",
                                                c->blocks[i].tod == ACGME_PM ? "PM" : "AM"));
    }
    for (size_t i = 0; i < c->nassigns; i++) {
        const struct acgme_assign *a = &c->assigns[i];
        json_array_append_new(assigns, json_pack("{s:s?, s:s?, s:s?, s:s?}", "id", a->id, "block_id", a->block_id,
                                                 "person_id", a->person_id, "role", a->role));
    }
    json_t *j = json_pack("{s:o, s:o, s:o}", "people", people, "blocks", blocks, "assignments", assigns);
    if (with_truth && c->has_truth) {
        json_t *truth = json_array();
        for (size_t i = 0; i < c->ntruth; i++) {
            const struct acgme_item *t = &c->truth[i];
            json_t *o = json_pack("{s:s, s:s}", "type", acgme_rule_type(t->rule),
                                  acgme_rule_keyed_by_block(t->rule) ? "block_id" : "person_id", t->id);
            if (t->weekend) json_object_set_new(o, "weekend", json_true());
            json_array_append_new(truth, o);
        }
        json_object_set_new(j, "truth", truth);
        if (c->meta) json_object_set(j, "generator", c->meta);
    }
    return j;
}

/* an id given as a string or a number */
static const char *jid(const json_t *v, char buf[32])
{
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

static int need_array(const json_t *j, const char *key, const json_t **out, char *err)
{
    *out = json_object_get(j, key);
    if (!json_is_array(*out)) return fl_err(err, "case: '%s' must be an array", key);
    return 0;
}

struct acgme_case *acgme_case_from_json(const json_t *j, char *err)
{
    const json_t *people, *blocks, *assigns, *v;
    size_t i;
    if (!json_is_object(j)) {
        fl_err(err, "case: expected a JSON object with people, blocks and assignments");
        return NULL;
    }
    if (need_array(j, "people", &people, err) || need_array(j, "blocks", &blocks, err) ||
        need_array(j, "assignments", &assigns, err))
        return NULL;
    struct acgme_case *c = acgme_case_new();
    char b1[32], b2[32], b3[32];
    json_array_foreach(people, i, v) {
        const char *id = jid(json_object_get(v, "id"), b1);
        const char *type = json_string_value(json_object_get(v, "type"));
        if (!id || !type) {
            fl_err(err, "case: people[%zu] needs an id and a type", i);
            goto fail;
        }
        enum acgme_ptype t = strcasecmp(type, "resident") == 0  ? ACGME_RESIDENT
                             : strcasecmp(type, "faculty") == 0 ? ACGME_FACULTY
                                                                : ACGME_OTHER;
        json_t *pg = json_object_get(v, "pgy_level");
        int pgy = json_is_integer(pg) ? (int)json_integer_value(pg) : 0;
        if (json_is_string(pg)) pgy = atoi(json_string_value(pg));
        acgme_add_person(c, id, json_string_value(json_object_get(v, "name")), t, pgy);
    }
    json_array_foreach(blocks, i, v) {
        const char *id = jid(json_object_get(v, "id"), b1);
        const char *date = json_string_value(json_object_get(v, "date"));
        const char *tod = json_string_value(json_object_get(v, "time_of_day"));
        int32_t day;
        if (!id || !date || acgme_parse_date(date, &day) != 0) {
            fl_err(err, "case: blocks[%zu] needs an id and a date (YYYY-MM-DD)", i);
            goto fail;
        }
        if (!tod || (strcasecmp(tod, "AM") != 0 && strcasecmp(tod, "PM") != 0)) {
            fl_err(err, "case: blocks[%zu] ('%s'): time_of_day must be AM or PM", i, id);
            goto fail;
        }
        acgme_add_block(c, id, day, strcasecmp(tod, "PM") == 0 ? ACGME_PM : ACGME_AM);
    }
    json_array_foreach(assigns, i, v) {
        const char *bid = jid(json_object_get(v, "block_id"), b2), *pid = jid(json_object_get(v, "person_id"), b3);
        if (!bid || !pid) {
            fl_err(err, "case: assignments[%zu] needs a block_id and a person_id", i);
            goto fail;
        }
        acgme_add_assignment(c, jid(json_object_get(v, "id"), b1), bid, pid,
                             json_string_value(json_object_get(v, "role")));
    }
    const json_t *truth = json_object_get(j, "truth");
    if (truth) {
        if (!json_is_array(truth)) {
            fl_err(err, "case: 'truth' must be an array");
            goto fail;
        }
        c->has_truth = 1;
        json_array_foreach(truth, i, v) {
            const char *type = json_string_value(json_object_get(v, "type"));
            int r = acgme_rule_by_type(type);
            if (r < 0) r = acgme_rule_by_short(type);
            if (r < 0) {
                fl_err(err, "case: truth[%zu]: unknown type '%s'", i, type ? type : "(none)");
                goto fail;
            }
            const char *id = jid(json_object_get(v, acgme_rule_keyed_by_block(r) ? "block_id" : "person_id"), b1);
            if (!id) {
                fl_err(err, "case: truth[%zu] needs a %s", i, acgme_rule_keyed_by_block(r) ? "block_id" : "person_id");
                goto fail;
            }
            acgme_add_truth(c, r, id, json_is_true(json_object_get(v, "weekend")));
        }
    }
    json_t *meta = json_object_get(j, "generator");
    if (meta) c->meta = json_incref(meta);
    return c;
fail:
    acgme_case_free(c);
    return NULL;
}

int acgme_case_save(const struct acgme_case *c, const char *path, char *err)
{
    json_t *j = acgme_case_to_json(c, 1);
    int rc;
    if (strcmp(path, "-") == 0) {
        rc = json_dumpf(j, stdout, JSON_INDENT(1));
        if (rc == 0) fputc('\n', stdout);
    } else {
        rc = json_dump_file(j, path, JSON_INDENT(1));
    }
    json_decref(j);
    if (rc != 0) return fl_err(err, "cannot write case '%s': %s", path, strerror(errno));
    return 0;
}

struct acgme_case *acgme_case_load(const char *path, char *err)
{
    json_error_t je;
    json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(path, 0, &je);
    if (!j) {
        fl_err(err, "cannot read case '%s': %d:%d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    char e2[FL_ERR_LEN];
    struct acgme_case *c = acgme_case_from_json(j, e2);
    json_decref(j);
    if (!c) fl_err(err, "%s: %s", path, e2);
    return c;
}
