/* acgme.c -- the demo service's ACGME duty-hour validator (its own implementation).
 *
 * Rules, as the users' live service applies them:
 *   - each AM/PM block a resident is assigned to counts 6 hours;
 *   - 80 hours: for each window of 28 days starting on a day the resident works, hours / 4
 *     must not exceed 80 (54 half-days fail, 53 pass); first failing window only;
 *   - 1 in 7: 7 or more consecutive calendar days with duty fail; once per resident;
 *   - supervision, per block: units = 2 per PGY-1 + 1 per other resident, faculty needed =
 *     ceil(units / 4); fewer is one violation for the block; weekend blocks skipped unless
 *     supervise_weekends.
 * Assignments naming an unknown person or block are ignored.
 */
#include "sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOURS_PER_BLOCK 6
#define WINDOW_DAYS 28
#define MAX_WEEKLY_HOURS 80
#define MAX_CONSECUTIVE_DAYS 6

struct ref { const char *id; int idx; };

static int ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ref *)a)->id, ((const struct ref *)b)->id);
}

static int ref_cmp_stable(const void *a, const void *b)
{
    int c = ref_cmp(a, b);
    return c ? c : ((const struct ref *)a)->idx - ((const struct ref *)b)->idx;
}

/* ids sorted, duplicates dropped (the first of equal ids wins); *n becomes the unique count */
static struct ref *index_ids(int *n, const char *(*get)(const void *, int), const void *arr)
{
    struct ref *r = fl_malloc(sizeof *r * (size_t)(*n ? *n : 1));
    for (int i = 0; i < *n; i++) r[i] = (struct ref){ get(arr, i), i };
    qsort(r, (size_t)*n, sizeof *r, ref_cmp_stable);
    int u = 0;
    for (int i = 0; i < *n; i++)
        if (u == 0 || strcmp(r[u - 1].id, r[i].id) != 0) r[u++] = r[i];
    *n = u;
    return r;
}

static int lookup(const struct ref *r, int n, const char *id)
{
    struct ref key = { id, 0 };
    const struct ref *f = bsearch(&key, r, (size_t)n, sizeof *r, ref_cmp);
    return f ? f->idx : -1;
}

static const char *person_id_at(const void *a, int i) { return ((const struct acgme_person *)a)[i].id; }
static const char *block_id_at(const void *a, int i) { return ((const struct acgme_block *)a)[i].id; }

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static json_t *violation(const char *type, const char *severity, const char *person_id, const char *block_id,
                         const char *message, json_t *details)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "type", type, "severity", severity, "person_id",
                     person_id ? json_string(person_id) : json_null(), "block_id",
                     block_id ? json_string(block_id) : json_null(), "message", message, "details", details);
}

/* days: the resident's duty days, one entry per assigned block, sorted */
static void check_resident(const struct acgme_person *p, const int *days, int n, json_t *out)
{
    char msg[256], d0[11], d1[11];
    /* 80 hours: two pointers over the sorted duty days */
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && days[i] == days[i - 1]) continue; /* each distinct start day once */
        if (j < i) j = i;
        while (j < n && days[j] <= days[i] + WINDOW_DAYS - 1) j++;
        int blocks = j - i;
        int hours = blocks * HOURS_PER_BLOCK;
        if (hours > MAX_WEEKLY_HOURS * 4) {
            double avg = hours / 4.0;
            sched_fmt_date(days[i], d0);
            sched_fmt_date(days[i] + WINDOW_DAYS - 1, d1);
            snprintf(msg, sizeof msg, "%s: %.1f hours/week (limit: %d)", p->name ? p->name : p->id, avg,
                     MAX_WEEKLY_HOURS);
            json_array_append_new(out, violation("80_HOUR_VIOLATION", "CRITICAL", p->id, NULL, msg,
                                                 json_pack("{s:s, s:s, s:i, s:i, s:f}", "window_start", d0,
                                                           "window_end", d1, "half_days", blocks,
                                                           "total_hours", hours, "average_weekly_hours", avg)));
            break;
        }
    }
    /* 1 in 7: the longest run of consecutive calendar days */
    int best = 0, best_start = 0, run = 0, run_start = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && days[i] == days[i - 1]) continue;
        if (run > 0 && days[i] == days[i - 1] + 1) {
            run++;
        } else {
            run = 1;
            run_start = days[i];
        }
        if (run > best) {
            best = run;
            best_start = run_start;
        }
    }
    if (best > MAX_CONSECUTIVE_DAYS) {
        sched_fmt_date(best_start, d0);
        sched_fmt_date(best_start + best - 1, d1);
        snprintf(msg, sizeof msg, "%s: %d consecutive duty days (limit: %d)", p->name ? p->name : p->id, best,
                 MAX_CONSECUTIVE_DAYS);
        json_array_append_new(out, violation("1_IN_7_VIOLATION", "HIGH", p->id, NULL, msg,
                                             json_pack("{s:i, s:s, s:s}", "consecutive_days", best, "first_day",
                                                       d0, "last_day", d1)));
    }
}

struct block_tally { int residents, pgy1, units, faculty, used; };

static int block_order_cmp(const void *a, const void *b, void *ctx)
{
    const struct acgme_block *bl = ctx;
    const struct acgme_block *x = &bl[*(const int *)a], *y = &bl[*(const int *)b];
    if (x->day != y->day) return x->day < y->day ? -1 : 1;
    if (x->pm != y->pm) return x->pm - y->pm;
    return strcmp(x->id, y->id);
}

json_t *acgme_validate(const struct acgme_input *in)
{
    int np = in->npeople, nb = in->nblocks, na = in->nassignments;
    int npu = np, nbu = nb; /* unique ids */
    struct ref *pidx = index_ids(&npu, person_id_at, in->people);
    struct ref *bidx = index_ids(&nbu, block_id_at, in->blocks);
    int *apers = fl_malloc(sizeof(int) * (size_t)(na ? na : 1));
    int *ablock = fl_malloc(sizeof(int) * (size_t)(na ? na : 1));
    int *per_person = fl_calloc((size_t)np + 1, sizeof(int));
    struct block_tally *tally = fl_calloc((size_t)nb + 1, sizeof *tally);
    int used = 0;
    for (int i = 0; i < na; i++) {
        apers[i] = lookup(pidx, npu, in->assignments[i].person_id);
        ablock[i] = lookup(bidx, nbu, in->assignments[i].block_id);
        if (apers[i] < 0 || ablock[i] < 0) continue;
        used++;
        const struct acgme_person *p = &in->people[apers[i]];
        struct block_tally *t = &tally[ablock[i]];
        t->used = 1;
        if (p->resident) {
            per_person[apers[i]]++;
            t->residents++;
            if (p->pgy == 1) t->pgy1++;
            t->units += p->pgy == 1 ? 2 : 1;
        } else {
            t->faculty++;
        }
    }

    /* each resident's duty days, gathered in one pass through an offsets table */
    int *off = fl_calloc((size_t)np + 1, sizeof(int));
    for (int i = 0; i < np; i++) off[i + 1] = off[i] + per_person[i];
    int *days = fl_malloc(sizeof(int) * (size_t)(off[np] ? off[np] : 1));
    int *fill = fl_calloc((size_t)np + 1, sizeof(int));
    for (int i = 0; i < na; i++) {
        if (apers[i] < 0 || ablock[i] < 0 || !in->people[apers[i]].resident) continue;
        days[off[apers[i]] + fill[apers[i]]++] = in->blocks[ablock[i]].day;
    }

    json_t *viol = json_array();
    int residents_scheduled = 0;
    /* people in id order, so the answer does not depend on the input order */
    for (int k = 0; k < npu; k++) {
        int i = pidx[k].idx;
        if (!in->people[i].resident || per_person[i] == 0) continue;
        residents_scheduled++;
        qsort(days + off[i], (size_t)per_person[i], sizeof(int), int_cmp);
        check_resident(&in->people[i], days + off[i], per_person[i], viol);
    }

    int *order = fl_malloc(sizeof(int) * (size_t)(nbu ? nbu : 1));
    for (int i = 0; i < nbu; i++) order[i] = bidx[i].idx;
    qsort_r(order, (size_t)nbu, sizeof(int), block_order_cmp, in->blocks);
    int blocks_used = 0;
    for (int k = 0; k < nbu; k++) {
        int i = order[k];
        const struct block_tally *t = &tally[i];
        if (!t->used) continue;
        blocks_used++;
        if (t->residents == 0) continue;
        if (!in->supervise_weekends && sched_weekday(in->blocks[i].day) >= 5) continue;
        int required = (t->units + 3) / 4;
        if (t->faculty >= required) continue;
        char msg[256], d[11];
        sched_fmt_date(in->blocks[i].day, d);
        snprintf(msg, sizeof msg, "Block %s %s: %d faculty for %d residents (need %d)", d,
                 in->blocks[i].pm ? "PM" : "AM", t->faculty, t->residents, required);
        json_array_append_new(viol, violation("SUPERVISION_RATIO_VIOLATION", "CRITICAL", NULL, in->blocks[i].id, msg,
                                              json_pack("{s:i, s:i, s:i, s:i, s:i}", "residents", t->residents,
                                                        "pgy1_count", t->pgy1, "supervision_units", t->units,
                                                        "faculty", t->faculty, "required_faculty", required)));
    }

    size_t nv = json_array_size(viol);
    json_t *ans = json_pack("{s:b, s:i, s:o, s:{s:i, s:i, s:i}}", "valid", nv == 0, "total_violations", (int)nv,
                            "violations", viol, "statistics", "total_assignments", used, "blocks_with_assignments",
                            blocks_used, "residents_scheduled", residents_scheduled);
    free(order);
    free(fill);
    free(days);
    free(off);
    free(tally);
    free(per_person);
    free(ablock);
    free(apers);
    free(bidx);
    free(pidx);
    return ans;
}
