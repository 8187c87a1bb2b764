/* test_acgme.c -- the reference ACGME validator on hand-made cases (every rule, every
 * boundary, exact violations), the generator's truth against the validator over many
 * seeds, the case JSON format and the `faultline acgme` command. */
#include <stdlib.h>
#include <string.h>

#include "acgme_gen.h"
#include "acgme_ref.h"
#include "acgme_seed.h"
#include "fl.h"
#include "harness.h"

/* ---- building hand-made cases ------------------------------------------------------- */

/* 2026-01-05 is a Monday; blocks "d<N>-am" / "d<N>-pm" for days 0..ndays-1 */
static int32_t day0(void)
{
    int32_t d;
    ASSERT_EQ_INT(acgme_parse_date("2026-01-05", &d), 0);
    return d;
}

static struct acgme_case *mk_case(int ndays)
{
    struct acgme_case *c = acgme_case_new();
    char id[32];
    for (int d = 0; d < ndays; d++) {
        snprintf(id, sizeof id, "d%d-am", d);
        acgme_add_block(c, id, day0() + d, ACGME_AM);
        snprintf(id, sizeof id, "d%d-pm", d);
        acgme_add_block(c, id, day0() + d, ACGME_PM);
    }
    return c;
}

static int g_aid;

static void work(struct acgme_case *c, const char *person, int day, const char *halves, const char *role)
{
    char id[32], bid[32];
    for (const char *h = halves; *h; h++) {
        snprintf(bid, sizeof bid, "d%d-%s", day, *h == 'a' ? "am" : "pm");
        snprintf(id, sizeof id, "a%d", ++g_aid);
        acgme_add_assignment(c, id, bid, person, role);
    }
}

/* a list of days as text: '2' both halves, 'a' AM, 'p' PM, '.' off, from day `from` */
static void pattern(struct acgme_case *c, const char *person, int from, const char *pat)
{
    for (int i = 0; pat[i]; i++) {
        if (pat[i] == '2') work(c, person, from + i, "ap", "primary");
        else if (pat[i] == 'a') work(c, person, from + i, "a", "primary");
        else if (pat[i] == 'p') work(c, person, from + i, "p", "primary");
    }
}

/* one faculty on every block, so that one PGY-1 or up to four others are supervised */
static void cover(struct acgme_case *c, int ndays)
{
    acgme_add_person(c, "f1", "Faculty 1", ACGME_FACULTY, 0);
    for (int d = 0; d < ndays; d++) work(c, "f1", d, "ap", "supervising");
}

/* the answer as sorted "type:id" lines, e.g. "80h:r1,1in7:r1" */
static char *answer_text(const struct acgme_case *c, const struct acgme_settings *s, json_t **json)
{
    struct acgme_answer a;
    acgme_ref_validate(c, s, &a);
    size_t n;
    struct acgme_item *it = acgme_answer_items(&a, &n);
    acgme_items_sort(it, n);
    static char out[4096];
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, sizeof out - l, "%s%s:%s", i ? "," : "", acgme_rule_short(it[i].rule), it[i].id);
    }
    free(it);
    if (json) *json = acgme_answer_json(&a);
    acgme_answer_release(&a);
    return out;
}

static json_t *violation(json_t *ans, const char *type, int nth)
{
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(ans, "violations"), i, v)
        if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0 && nth-- == 0) return v;
    return NULL;
}

static long long detail_int(json_t *v, const char *key)
{
    json_t *d = json_object_get(json_object_get(v, "details"), key);
    ASSERT_MSG(json_is_integer(d), "details.%s is not an integer", key);
    return json_integer_value(d);
}

static const char *detail_str(json_t *v, const char *key)
{
    return json_string_value(json_object_get(json_object_get(v, "details"), key));
}

/* ---- dates -------------------------------------------------------------------------- */

TEST(acgme_dates)
{
    int32_t d;
    char out[16];
    ASSERT_EQ_INT(acgme_parse_date("1970-01-01", &d), 0);
    ASSERT_EQ_INT(d, 0);
    ASSERT_EQ_INT(acgme_weekday(d), 4); /* Thursday */
    ASSERT_EQ_INT(acgme_parse_date("2026-01-05", &d), 0);
    ASSERT_EQ_INT(acgme_weekday(d), 1); /* Monday */
    ASSERT(!acgme_is_weekend(d));
    ASSERT(acgme_is_weekend(d + 5) && acgme_is_weekend(d + 6) && !acgme_is_weekend(d + 7));
    ASSERT_EQ_INT(acgme_parse_date("2024-02-29", &d), 0);
    acgme_fmt_date(d + 1, out);
    ASSERT_EQ_STR(out, "2024-03-01");
    ASSERT_EQ_INT(acgme_parse_date("2023-02-29", &d), -1);
    ASSERT_EQ_INT(acgme_parse_date("2026-13-01", &d), -1);
    ASSERT_EQ_INT(acgme_parse_date("2026-1-05", &d), -1);
    ASSERT_EQ_INT(acgme_parse_date("2099-12-31T00:00:00Z", &d), 0);
    acgme_fmt_date(d, out);
    ASSERT_EQ_STR(out, "2099-12-31");
    ASSERT_EQ_INT(acgme_parse_date("1969-12-31", &d), 0);
    ASSERT_EQ_INT(d, -1);
    ASSERT_EQ_INT(acgme_weekday(d), 3);
}

/* ---- 80 hours ------------------------------------------------------------------------- */

TEST(acgme_80h_53_half_days_pass)
{
    /* 28 days from a worked Monday: day 1 off, day 5 AM only: 27 days, 53 half-days */
    struct acgme_case *c = mk_case(28);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 2);
    cover(c, 28);
    pattern(c, "r1", 0, "2.222a2222222222222222222222");
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "1in7:r1");
    json_t *v = violation(ans, "1_IN_7_VIOLATION", 0);
    ASSERT_EQ_INT(detail_int(v, "consecutive_days"), 26);
    ASSERT_EQ_STR(detail_str(v, "start_date"), "2026-01-07");
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "severity")), "HIGH");
    json_decref(ans);
    acgme_case_free(c);
}

TEST(acgme_80h_54_half_days_fail)
{
    struct acgme_case *c = mk_case(28);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 2);
    cover(c, 28);
    pattern(c, "r1", 0, "2.22222222222222222222222222");
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "80h:r1,1in7:r1");
    ASSERT(json_is_false(json_object_get(ans, "valid")));
    ASSERT_EQ_INT(json_integer_value(json_object_get(ans, "total_violations")), 2);
    json_t *v = violation(ans, "80_HOUR_VIOLATION", 0);
    ASSERT(v);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "person_id")), "r1");
    ASSERT(json_is_null(json_object_get(v, "block_id")));
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "severity")), "CRITICAL");
    ASSERT_EQ_INT(detail_int(v, "half_days"), 54);
    ASSERT_EQ_INT(detail_int(v, "total_hours"), 324);
    ASSERT_NEAR(json_real_value(json_object_get(json_object_get(v, "details"), "average_weekly_hours")), 81.0, 1e-9);
    ASSERT_EQ_STR(detail_str(v, "window_start"), "2026-01-05");
    ASSERT_EQ_STR(detail_str(v, "window_end"), "2026-02-01");
    ASSERT_CONTAINS(json_string_value(json_object_get(v, "message")), "81.0 hours/week");
    /* the service's order: 80h before 1-in-7 */
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(ans, "violations"), 0), "type")),
                  "80_HOUR_VIOLATION");
    json_decref(ans);
    acgme_case_free(c);
}

TEST(acgme_80h_54_over_29_days_pass)
{
    /* 54 half-days spread over 29 days: every 28-day window holds 53 */
    struct acgme_case *c = mk_case(29);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 3);
    cover(c, 29);
    pattern(c, "r1", 0, "a2222222222222.2222222222222p");
    ASSERT_EQ_STR(answer_text(c, NULL, NULL), "1in7:r1");
    acgme_case_free(c);
}

TEST(acgme_80h_one_per_resident_earliest_window)
{
    /* 56 half-days in every window of 35 straight full days: one violation, from day 0 */
    struct acgme_case *c = mk_case(35);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 1);
    acgme_add_person(c, "r2", "Resident 2", ACGME_RESIDENT, 1);
    acgme_add_person(c, "fa", "Faculty A", ACGME_FACULTY, 0);
    for (int d = 0; d < 35; d++) work(c, "fa", d, "ap", "supervising");
    pattern(c, "r1", 0, "22222222222222222222222222222222222");
    pattern(c, "r2", 0, "222222.222222.222222.222222.222222."); /* 48 per window, runs of 6 */
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "80h:r1,1in7:r1");
    json_t *v = violation(ans, "80_HOUR_VIOLATION", 0);
    ASSERT_EQ_INT(detail_int(v, "half_days"), 56);
    ASSERT_EQ_STR(detail_str(v, "window_start"), "2026-01-05");
    ASSERT(!violation(ans, "80_HOUR_VIOLATION", 1));
    json_decref(ans);
    acgme_case_free(c);
}

TEST(acgme_80h_window_starts_later)
{
    /* light first week, then 27 full days: the failing window starts on day 7 */
    struct acgme_case *c = mk_case(35);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 2);
    cover(c, 35);
    pattern(c, "r1", 0, "a.....a222222222222222222222222222");
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "80h:r1,1in7:r1");
    json_t *v = violation(ans, "80_HOUR_VIOLATION", 0);
    ASSERT_EQ_STR(detail_str(v, "window_start"), "2026-01-11");
    ASSERT_EQ_INT(detail_int(v, "half_days"), 55);
    json_decref(ans);
    acgme_case_free(c);
}

TEST(acgme_80h_faculty_hours_do_not_count)
{
    struct acgme_case *c = mk_case(28);
    cover(c, 28); /* f1 works 56 half-days */
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 1);
    pattern(c, "r1", 0, "22");
    ASSERT_EQ_STR(answer_text(c, NULL, NULL), "");
    acgme_case_free(c);
}

/* ---- 1 in 7 ---------------------------------------------------------------------------- */

TEST(acgme_1in7_six_pass_seven_fail)
{
    struct acgme_case *c = mk_case(21);
    acgme_add_person(c, "six", "Six", ACGME_RESIDENT, 2);
    acgme_add_person(c, "seven", "Seven", ACGME_RESIDENT, 2);
    acgme_add_person(c, "halves", "Halves", ACGME_RESIDENT, 3);
    cover(c, 21);
    pattern(c, "six", 0, "222222.222222.222222.");
    pattern(c, "seven", 0, "222222.2222222.22222.");
    pattern(c, "halves", 0, "ap2apa.apapapa");     /* half-days count as duty days: 7 */
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "1in7:halves,1in7:seven");
    json_t *v = violation(ans, "1_IN_7_VIOLATION", 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "person_id")), "seven");
    ASSERT_EQ_INT(detail_int(v, "consecutive_days"), 7);
    ASSERT_EQ_STR(detail_str(v, "start_date"), "2026-01-12");
    ASSERT_EQ_STR(detail_str(v, "end_date"), "2026-01-18");
    json_decref(ans);
    acgme_case_free(c);
}

TEST(acgme_1in7_one_per_resident_longest_run)
{
    struct acgme_case *c = mk_case(30);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 2);
    cover(c, 30);
    pattern(c, "r1", 0, "aaaaaaaa.ppppppppppp.aaaaaaa");
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "1in7:r1");
    json_t *v = violation(ans, "1_IN_7_VIOLATION", 0);
    ASSERT_EQ_INT(detail_int(v, "consecutive_days"), 11);
    ASSERT_EQ_STR(detail_str(v, "start_date"), "2026-01-14");
    json_decref(ans);
    acgme_case_free(c);
}

TEST(acgme_1in7_across_months)
{
    /* 2026-01-28 .. 2026-02-03: 7 calendar days across a month end */
    struct acgme_case *c = mk_case(40);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 2);
    cover(c, 40);
    pattern(c, "r1", 23, "aaaaaaa");
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "1in7:r1");
    ASSERT_EQ_STR(detail_str(violation(ans, "1_IN_7_VIOLATION", 0), "end_date"), "2026-02-03");
    json_decref(ans);
    acgme_case_free(c);
}

/* ---- supervision ------------------------------------------------------------------------ */

TEST(acgme_supervision_ratio_boundaries)
{
    struct acgme_case *c = mk_case(7); /* Mon 5 .. Sun 11 January 2026 */
    acgme_add_person(c, "p1a", "A", ACGME_RESIDENT, 1);
    acgme_add_person(c, "p1b", "B", ACGME_RESIDENT, 1);
    acgme_add_person(c, "p1c", "C", ACGME_RESIDENT, 1);
    acgme_add_person(c, "p2a", "D", ACGME_RESIDENT, 2);
    acgme_add_person(c, "p2b", "E", ACGME_RESIDENT, 2);
    acgme_add_person(c, "p3a", "F", ACGME_RESIDENT, 3);
    acgme_add_person(c, "p3b", "G", ACGME_RESIDENT, 3);
    acgme_add_person(c, "f1", "F1", ACGME_FACULTY, 0);
    acgme_add_person(c, "f2", "F2", ACGME_FACULTY, 0);
    /* d0 AM: 2 PGY-1 = 4 units -> 1 faculty: exactly enough */
    work(c, "p1a", 0, "a", "primary");
    work(c, "p1b", 0, "a", "primary");
    work(c, "f1", 0, "a", "supervising");
    /* d0 PM: 2 PGY-1 + 1 PGY-2 = 5 units -> 2 required, 1 given: short */
    work(c, "p1a", 0, "p", "primary");
    work(c, "p1b", 0, "p", "primary");
    work(c, "p2a", 0, "p", "primary");
    work(c, "f1", 0, "p", "supervising");
    /* d1 AM: same 5 units with 2 faculty: enough */
    work(c, "p1a", 1, "a", "primary");
    work(c, "p1b", 1, "a", "primary");
    work(c, "p2a", 1, "a", "primary");
    work(c, "f1", 1, "a", "supervising");
    work(c, "f2", 1, "a", "supervising");
    /* d1 PM: 4 others = 4 units -> 1: enough */
    work(c, "p2a", 1, "p", "primary");
    work(c, "p2b", 1, "p", "primary");
    work(c, "p3a", 1, "p", "primary");
    work(c, "p3b", 1, "p", "primary");
    work(c, "f2", 1, "p", "supervising");
    /* d2 AM: one PGY-3 and nobody: short by one */
    work(c, "p3a", 2, "a", "primary");
    /* d2 PM: faculty only: not checked */
    work(c, "f1", 2, "p", "supervising");
    /* d3 AM: 3 PGY-1 = 6 units -> 2 required, 1 given */
    work(c, "p1a", 3, "a", "primary");
    work(c, "p1b", 3, "a", "primary");
    work(c, "p1c", 3, "a", "primary");
    work(c, "f2", 3, "a", "supervising");
    /* d5 (Saturday) PM: a PGY-1 alone: skipped by default */
    work(c, "p1c", 5, "p", "primary");
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, NULL, &ans), "supervision:d0-pm,supervision:d2-am,supervision:d3-am");
    json_t *v = violation(ans, "SUPERVISION_RATIO_VIOLATION", 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "block_id")), "d0-pm");
    ASSERT(json_is_null(json_object_get(v, "person_id")));
    ASSERT_EQ_INT(detail_int(v, "required"), 2);
    ASSERT_EQ_INT(detail_int(v, "faculty_count"), 1);
    ASSERT_EQ_INT(detail_int(v, "pgy1_count"), 2);
    ASSERT_EQ_INT(detail_int(v, "residents"), 3);
    ASSERT_EQ_INT(detail_int(v, "supervision_units"), 5);
    ASSERT_EQ_STR(detail_str(v, "time_of_day"), "PM");
    v = violation(ans, "SUPERVISION_RATIO_VIOLATION", 1);
    ASSERT_EQ_INT(detail_int(v, "required"), 1);
    ASSERT_EQ_INT(detail_int(v, "faculty_count"), 0);
    json_decref(ans);

    struct acgme_settings weekends = { .weekend_supervision = 1 };
    ASSERT_EQ_STR(answer_text(c, &weekends, NULL),
                  "supervision:d0-pm,supervision:d2-am,supervision:d3-am,supervision:d5-pm");
    acgme_case_free(c);
}

/* ---- 24+4 (opt-in) -------------------------------------------------------------------------- */

TEST(acgme_24_4_opt_in)
{
    struct acgme_case *c = mk_case(10);
    acgme_add_person(c, "call30", "A", ACGME_RESIDENT, 2);   /* AM + PM call + AM: 30 h */
    acgme_add_person(c, "call24", "B", ACGME_RESIDENT, 2);   /* AM + PM call: 24 h */
    acgme_add_person(c, "nocall", "C", ACGME_RESIDENT, 2);   /* AM PM AM without call: 12 h */
    acgme_add_person(c, "pmcall", "D", ACGME_RESIDENT, 2);   /* PM call + AM + PM: 30 h */
    acgme_add_person(c, "edge", "E", ACGME_RESIDENT, 2);     /* PM call + AM: 24 h */
    cover(c, 10);
    work(c, "call30", 0, "a", "primary");
    work(c, "call30", 0, "p", "on_call");
    work(c, "call30", 1, "a", "primary");
    work(c, "call30", 5, "a", "primary");
    work(c, "call30", 5, "p", "Call");
    work(c, "call30", 6, "ap", "primary");
    work(c, "call24", 0, "a", "primary");
    work(c, "call24", 0, "p", "call");
    work(c, "nocall", 0, "ap", "primary");
    work(c, "nocall", 1, "a", "primary");
    work(c, "pmcall", 2, "p", "call");
    work(c, "pmcall", 3, "ap", "primary");
    work(c, "edge", 2, "p", "call");
    work(c, "edge", 3, "a", "primary");
    ASSERT_EQ_STR(answer_text(c, NULL, NULL), "");
    struct acgme_settings on = { .rule_24_4 = 1 };
    json_t *ans;
    ASSERT_EQ_STR(answer_text(c, &on, &ans), "24+4:call30,24+4:call30,24+4:pmcall");
    json_t *v = violation(ans, "24_PLUS_4_VIOLATION", 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "person_id")), "call30");
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "block_id")), "d0-am");
    ASSERT_EQ_INT(detail_int(v, "hours"), 30);
    v = violation(ans, "24_PLUS_4_VIOLATION", 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "block_id")), "d5-am");
    ASSERT_EQ_INT(detail_int(v, "hours"), 36);
    v = violation(ans, "24_PLUS_4_VIOLATION", 2);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "block_id")), "d2-pm");
    ASSERT_EQ_INT(detail_int(v, "hours"), 30);
    json_decref(ans);
    acgme_case_free(c);
}

/* ---- robustness --------------------------------------------------------------------------- */

TEST(acgme_unknown_refs_and_order)
{
    struct acgme_case *c = mk_case(8);
    acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 2);
    cover(c, 8);
    pattern(c, "r1", 0, "aaaaaaa");
    acgme_add_assignment(c, "x1", "no-such-block", "r1", "primary");
    acgme_add_assignment(c, "x2", "d7-am", "no-such-person", "primary");
    struct acgme_answer a;
    acgme_ref_validate(c, NULL, &a);
    ASSERT_EQ_INT(a.ignored, 2);
    ASSERT_EQ_INT(a.n, 1);
    acgme_answer_release(&a);
    char *before = strdup(answer_text(c, NULL, NULL));
    /* reverse the assignment list: same answer */
    for (size_t i = 0, j = c->nassigns - 1; i < j; i++, j--) {
        struct acgme_assign t = c->assigns[i];
        c->assigns[i] = c->assigns[j];
        c->assigns[j] = t;
    }
    ASSERT_EQ_STR(answer_text(c, NULL, NULL), before);
    free(before);
    acgme_case_free(c);

    struct acgme_case *e = acgme_case_new();
    json_t *ans;
    ASSERT_EQ_STR(answer_text(e, NULL, &ans), "");
    ASSERT(json_is_true(json_object_get(ans, "valid")));
    ASSERT_EQ_INT(json_array_size(json_object_get(ans, "violations")), 0);
    json_decref(ans);
    acgme_case_free(e);
}

TEST(acgme_case_json_round_trip)
{
    struct acgme_gen_opts o;
    acgme_gen_defaults(&o);
    o.seed = 99;
    char err[512];
    struct acgme_case *c = acgme_generate(&o, err);
    ASSERT_MSG(c, "%s", err);
    json_t *j = acgme_case_to_json(c, 1);
    ASSERT(json_is_array(json_object_get(j, "truth")));
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "generator"), "seed")), 99);
    json_t *p0 = json_array_get(json_object_get(j, "people"), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(p0, "type")), "resident");
    ASSERT(json_is_integer(json_object_get(p0, "pgy_level")));
    json_t *b0 = json_array_get(json_object_get(j, "blocks"), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(b0, "date")), "2026-01-05");
    ASSERT_EQ_STR(json_string_value(json_object_get(b0, "time_of_day")), "AM");
    struct acgme_case *back = acgme_case_from_json(j, err);
    ASSERT_MSG(back, "%s", err);
    ASSERT_EQ_INT(back->npeople, c->npeople);
    ASSERT_EQ_INT(back->nassigns, c->nassigns);
    ASSERT_EQ_INT(back->ntruth, c->ntruth);
    char *a1 = strdup(answer_text(c, NULL, NULL));
    ASSERT_EQ_STR(answer_text(back, NULL, NULL), a1);
    free(a1);
    /* the POST body has no truth */
    json_t *body = acgme_case_to_json(c, 0);
    ASSERT(!json_object_get(body, "truth") && !json_object_get(body, "generator"));
    json_decref(body);
    json_decref(j);
    acgme_case_free(back);
    acgme_case_free(c);

    /* errors name the element */
    json_t *bad = json_loads("{\"people\":[],\"blocks\":[{\"id\":\"b\",\"date\":\"2026-02-30\",\"time_of_day\":\"AM\"}],"
                             "\"assignments\":[]}", 0, NULL);
    ASSERT(!acgme_case_from_json(bad, err));
    ASSERT_CONTAINS(err, "blocks[0]");
    json_decref(bad);
    bad = json_loads("{\"people\":[{\"id\":7,\"type\":\"resident\",\"pgy_level\":1}],\"blocks\":[],\"assignments\":[]}",
                     0, NULL);
    struct acgme_case *num = acgme_case_from_json(bad, err);
    ASSERT_MSG(num, "%s", err);
    ASSERT_EQ_STR(num->people[0].id, "7");
    acgme_case_free(num);
    json_decref(bad);
    bad = json_loads("{\"people\":{}}", 0, NULL);
    ASSERT(!acgme_case_from_json(bad, err));
    ASSERT_CONTAINS(err, "'people' must be an array");
    json_decref(bad);
}

/* ---- the generator ------------------------------------------------------------------------- */

TEST(acgme_gen_rates_parse)
{
    struct acgme_gen_opts o;
    char err[512];
    acgme_gen_defaults(&o);
    ASSERT_EQ_INT(acgme_gen_parse_rates(&o, "80h=0.5,1in7=10%,supervision=0", err), 0);
    ASSERT_NEAR(o.rate[ACGME_R80H], 0.5, 1e-12);
    ASSERT_NEAR(o.rate[ACGME_R1IN7], 0.1, 1e-12);
    ASSERT_NEAR(o.rate[ACGME_RSUP], 0.0, 1e-12);
    ASSERT_EQ_INT(acgme_gen_parse_rates(&o, "80h=0.3", err), 0);
    ASSERT_NEAR(o.rate[ACGME_R1IN7], 0.0, 1e-12); /* unnamed kinds: not injected */
    ASSERT_EQ_INT(acgme_gen_parse_rates(&o, "none", err), 0);
    ASSERT_NEAR(o.rate[ACGME_R80H], 0.0, 1e-12);
    ASSERT_EQ_INT(acgme_gen_parse_rates(&o, "90h=0.1", err), -1);
    ASSERT_CONTAINS(err, "unknown violation kind '90h'");
    ASSERT_EQ_INT(acgme_gen_parse_rates(&o, "80h=1.5", err), -1);
    ASSERT_CONTAINS(err, "bad rate '1.5'");
    ASSERT_EQ_INT(acgme_gen_parse_rates(&o, "80h", err), -1);
}

TEST(acgme_gen_compliant_base_and_determinism)
{
    struct acgme_gen_opts o;
    char err[512];
    acgme_gen_defaults(&o);
    acgme_gen_parse_rates(&o, "none", err);
    o.weekend_decoys = 0;
    o.residents = 30;
    o.faculty = 6;
    o.weeks = 8;
    for (uint64_t s = 1; s <= 20; s++) {
        o.seed = s;
        struct acgme_case *c = acgme_generate(&o, err);
        ASSERT_MSG(c, "%s", err);
        ASSERT_EQ_INT(c->ntruth, 0);
        ASSERT(c->nassigns > 30 * 8 * 6); /* residents work most days */
        struct acgme_settings all = { 1, 1 };
        ASSERT_EQ_STR(answer_text(c, &all, NULL), "");
        acgme_case_free(c);
    }
    /* same seed, same case; another seed, another case */
    o.seed = 5;
    acgme_gen_parse_rates(&o, "80h=0.3,1in7=0.3,supervision=0.2", err);
    struct acgme_case *a = acgme_generate(&o, err), *b = acgme_generate(&o, err);
    o.seed = 6;
    struct acgme_case *d = acgme_generate(&o, err);
    json_t *ja = acgme_case_to_json(a, 1), *jb = acgme_case_to_json(b, 1), *jd = acgme_case_to_json(d, 1);
    ASSERT(json_equal(ja, jb));
    ASSERT(!json_equal(ja, jd));
    json_decref(ja);
    json_decref(jb);
    json_decref(jd);
    acgme_case_free(a);
    acgme_case_free(b);
    acgme_case_free(d);
    /* the PGY mix */
    o.residents = 100;
    struct acgme_case *m = acgme_generate(&o, err);
    int pgy[4] = { 0 };
    for (size_t i = 0; i < m->npeople; i++)
        if (m->people[i].type == ACGME_RESIDENT) pgy[m->people[i].pgy]++;
    ASSERT_EQ_INT(pgy[1], 40);
    ASSERT_EQ_INT(pgy[2], 35);
    ASSERT_EQ_INT(pgy[3], 25);
    acgme_case_free(m);
    /* out of range */
    o.weeks = 0;
    ASSERT(!acgme_generate(&o, err));
    ASSERT_CONTAINS(err, "weeks");
}

static long injected(const struct acgme_case *c, const char *what)
{
    return (long)json_integer_value(json_object_get(json_object_get(c->meta, "injected"), what));
}

TEST_T(acgme_gen_truth_agrees_over_2000_seeds, 120)
{
    long tp[ACGME_NRULES] = { 0 }, fp[ACGME_NRULES] = { 0 }, fn[ACGME_NRULES] = { 0 };
    long b53 = 0, b54 = 0, run7 = 0, short1 = 0, exact = 0, decoys = 0, cases_with_none = 0;
    for (uint64_t s = 1; s <= 2000; s++) {
        struct acgme_gen_opts o;
        char err[512];
        acgme_gen_defaults(&o);
        o.seed = s;
        o.residents = 2 + (int)(s % 23);
        o.faculty = 1 + (int)(s % 7);
        o.weeks = 1 + (int)(s % 10);
        o.start_day += (int32_t)(s % 11);
        o.rate[ACGME_R80H] = 0.1 * (double)(s % 4);
        o.rate[ACGME_R1IN7] = 0.1 * (double)(s % 5);
        o.rate[ACGME_RSUP] = 0.05 * (double)(s % 3);
        struct acgme_case *c = acgme_generate(&o, err);
        ASSERT_MSG(c, "seed %llu: %s", (unsigned long long)s, err);
        for (int we = 0; we < 2; we++) {
            struct acgme_settings st = { .weekend_supervision = we, .rule_24_4 = (int)(s & 1) };
            struct acgme_answer a;
            acgme_ref_validate(c, &st, &a);
            size_t nt, ng;
            struct acgme_item *t = acgme_truth_items(c, &st, &nt), *g = acgme_answer_items(&a, &ng);
            acgme_items_sort(t, nt);
            acgme_items_sort(g, ng);
            long f0 = fp[0] + fp[1] + fp[2] + fp[3], n0 = fn[0] + fn[1] + fn[2] + fn[3];
            int same = acgme_items_compare(t, nt, g, ng, tp, fp, fn);
            ASSERT_MSG(same, "seed %llu weekends %d: validator and truth differ (fp %ld, fn %ld)",
                       (unsigned long long)s, we, fp[0] + fp[1] + fp[2] + fp[3] - f0,
                       fn[0] + fn[1] + fn[2] + fn[3] - n0);
            if (!we && nt == 0) cases_with_none++;
            free(t);
            free(g);
            acgme_answer_release(&a);
        }
        b53 += injected(c, "80h_53_half_days");
        b54 += injected(c, "80h_54_half_days");
        run7 += injected(c, "1in7_run_of_7");
        short1 += injected(c, "supervision_one_short");
        exact += injected(c, "supervision_exactly_enough");
        decoys += injected(c, "weekend_one_short");
        acgme_case_free(c);
    }
    /* the boundaries were really exercised, on both sides */
    ASSERT_MSG(b53 > 100 && b54 > 100, "53/54 half-day cases: %ld/%ld", b53, b54);
    ASSERT_MSG(run7 > 100, "runs of exactly 7: %ld", run7);
    ASSERT_MSG(short1 > 100 && exact > 1000, "one short %ld, exactly enough %ld", short1, exact);
    ASSERT_MSG(decoys > 50, "weekend decoys %ld", decoys);
    ASSERT_MSG(tp[ACGME_R80H] > 100 && tp[ACGME_R1IN7] > 100 && tp[ACGME_RSUP] > 100, "tp %ld %ld %ld",
               tp[ACGME_R80H], tp[ACGME_R1IN7], tp[ACGME_RSUP]);
    ASSERT_MSG(cases_with_none > 50, "cases with an empty truth: %ld", cases_with_none);
    printf("    truth agreed: tp 80h=%ld 1in7=%ld supervision=%ld; 53/54 half-days %ld/%ld, runs of 7 %ld, "
           "one short %ld, exactly enough %ld\n",
           tp[ACGME_R80H], tp[ACGME_R1IN7], tp[ACGME_RSUP], b53, b54, run7, short1, exact);
}

TEST(acgme_gen_seeds_sized_case)
{
    /* the seeds' large program: 100 residents, 30 faculty, 4 weeks */
    struct acgme_gen_opts o;
    char err[512];
    acgme_gen_defaults(&o);
    o.residents = 100;
    o.faculty = 30;
    o.seed = 3;
    struct acgme_case *c = acgme_generate(&o, err);
    ASSERT_MSG(c, "%s", err);
    ASSERT_EQ_INT(c->nblocks, 56);
    ASSERT(c->nassigns > 4000);
    struct acgme_answer a;
    acgme_ref_validate(c, NULL, &a);
    size_t nt, ng;
    struct acgme_item *t = acgme_truth_items(c, NULL, &nt), *g = acgme_answer_items(&a, &ng);
    acgme_items_sort(t, nt);
    acgme_items_sort(g, ng);
    long tp[ACGME_NRULES] = { 0 }, fp[ACGME_NRULES] = { 0 }, fn[ACGME_NRULES] = { 0 };
    ASSERT(acgme_items_compare(t, nt, g, ng, tp, fp, fn));
    ASSERT(tp[ACGME_R80H] > 5 && tp[ACGME_R1IN7] > 10);
    free(t);
    free(g);
    acgme_answer_release(&a);
    acgme_case_free(c);
}

/* ---- the command --------------------------------------------------------------------------- */

TEST(acgme_cli_generate_and_check)
{
    char out[65536];
    const char *fl = th_faultline();
    if (th_sh(out, sizeof out, "'%s' acgme --help 2>&1", fl) != 0)
        SKIP("build/faultline has no acgme command (a weak reference does not link cmd_acgme.o from the archive)");
    ASSERT_CONTAINS(out, "acgme generate");
    const char *dir = th_tmpdir();
    ASSERT_EQ_INT(th_sh(out, sizeof out,
                        "'%s' acgme generate --seed 11 --residents 8 --faculty 2 --weeks 5 --start 2099-03-02 "
                        "--violations 80h=0.4,1in7=0.3,supervision=0.2 -o '%s/case.json' 2>&1",
                        fl, dir),
                  0);
    ASSERT_CONTAINS(out, "violations in the truth");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' acgme check '%s/case.json' --truth 2>&1", fl, dir), 0);
    ASSERT_CONTAINS(out, "\"total_violations\"");
    ASSERT_CONTAINS(out, "truth: agrees");
    /* the printed answer is the reference answer */
    char err[512];
    struct acgme_case *c = acgme_case_load(strcat(strcpy(out, dir), "/case.json"), err);
    ASSERT_MSG(c, "%s", err);
    int32_t d;
    acgme_parse_date("2099-03-02", &d);
    ASSERT_EQ_INT(c->blocks[0].day, d);
    ASSERT_EQ_INT(c->nblocks, 70);
    acgme_case_free(c);
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' acgme generate --violations 80h=2 2>&1", fl), 2);
    ASSERT_CONTAINS(out, "bad rate '2'");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' acgme check /nonexistent.json 2>&1", fl), 2);
    ASSERT_CONTAINS(out, "cannot read case '/nonexistent.json'");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' acgme generate --help", fl), 0);
    ASSERT_CONTAINS(out, "--violations SPEC");
}

/* the uuids the seeding makes: recognisable, well-formed, the same for the same case and
 * slot, different for any other table, row, slot or seed */
TEST(acgme_seed_uuids)
{
    char a[37], b[37];
    acgme_seed_uuid(ACGME_T_PEOPLE, 3, 2026, 1, a);
    acgme_seed_uuid(ACGME_T_PEOPLE, 3, 2026, 1, b);
    ASSERT_EQ_STR(a, b);
    ASSERT_EQ_INT(strlen(a), 36);
    ASSERT(!strncmp(a, "fa11ac9e-", 9));
    ASSERT(a[13] == '-' && a[18] == '-' && a[23] == '-');
    ASSERT(a[14] == '8');                   /* version 8: custom */
    ASSERT(strchr("89ab", a[19]) != NULL);  /* the RFC variant */
    for (int i = 0; i < 36; i++)
        if (i != 8 && i != 13 && i != 18 && i != 23) ASSERT(strchr("0123456789abcdef", a[i]) != NULL);
    const char *others[4];
    char o[4][37];
    acgme_seed_uuid(ACGME_T_BLOCKS, 3, 2026, 1, o[0]);
    acgme_seed_uuid(ACGME_T_PEOPLE, 4, 2026, 1, o[1]);
    acgme_seed_uuid(ACGME_T_PEOPLE, 3, 2027, 1, o[2]);
    acgme_seed_uuid(ACGME_T_PEOPLE, 3, 2026, 2, o[3]);
    for (int i = 0; i < 4; i++) {
        others[i] = o[i];
        ASSERT_MSG(strcmp(a, others[i]) != 0, "%s repeats", a);
        for (int k = 0; k < i; k++) ASSERT(strcmp(others[k], others[i]) != 0);
    }
    /* rows far apart and slots far apart stay apart */
    acgme_seed_uuid(ACGME_T_ASSIGNS, 0xfffff, 1, 100000, o[0]);
    acgme_seed_uuid(ACGME_T_ASSIGNS, 0xfffff, 1, 100000 + 65536, o[1]);
    ASSERT(strcmp(o[0], o[1]) != 0);
}

TEST(acgme_seed_default_placeholders)
{
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(acgme_default_check("fl-{id}@example.invalid", err), 0);
    ASSERT_EQ_INT(acgme_default_check("{n}-{slot}", err), 0);
    ASSERT_EQ_INT(acgme_default_check("plain", err), 0);
    ASSERT_EQ_INT(acgme_default_check("{uuid}", err), -1);
    ASSERT_CONTAINS(err, "unknown placeholder '{uuid}'");
    ASSERT_EQ_INT(acgme_default_check("x{id", err), -1);
    ASSERT_CONTAINS(err, "'{' without '}'");
}
