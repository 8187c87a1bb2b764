/* acgme_ref.h -- the reference ACGME validator: a schedule case in, the service's answer out.
 *
 * A case is people (residents with a PGY level, faculty), blocks (a date and AM or PM) and
 * assignments (a person on a block, with a role), plus optionally its ground truth (set by
 * the generator, acgme_gen.h). The rules are those of the users' service (issue 8):
 *   - every AM or PM block a resident is assigned to counts 6 hours (each assignment counts);
 *   - 80-hour rule: for each resident and each 28-day window [d, d+27] starting on a date d
 *     the resident works, hours / 4 > 80 is a violation (54 half-days fail, 53 pass); at most
 *     one per resident (the earliest such window);
 *   - 1-in-7 rule: 7 or more consecutive calendar days with any duty; at most one per
 *     resident (the longest run, the earliest of equals);
 *   - supervision, per block with residents: units = 2 per PGY-1 + 1 per other resident,
 *     required faculty = ceil(units / 4), fewer faculty assigned is one violation per block;
 *     weekend blocks are skipped unless settings.weekend_supervision;
 *   - 24+4 (opt-in, settings.rule_24_4): continuous duty over 28 h. AM is 07:00-13:00, PM is
 *     13:00-19:00, and a PM assignment whose role contains "call" runs on to 07:00 the next
 *     day; touching stretches merge; one violation per stretch over 28 h.
 * Assignments naming an unknown person or block are ignored (counted in answer.ignored).
 *
 * Life of a case built in code:
 *   struct acgme_case *c = acgme_case_new();
 *   acgme_add_person(c, "r1", "Resident 1", ACGME_RESIDENT, 1); ... acgme_add_block(...);
 *   acgme_add_assignment(c, "a1", "b1", "r1", "primary");
 *   struct acgme_answer a; acgme_ref_validate(c, &settings, &a);   -- a borrows c's strings
 *   json_t *j = acgme_answer_json(&a);  ... json_decref(j);
 *   acgme_answer_release(&a); acgme_case_free(c);
 * Every string given to acgme_add_* is copied into the case's own pool.
 * Validation is O(n log n) in the number of assignments (hash lookups, per-person sort,
 * sliding windows) and never fails: malformed references are ignored, not fatal.
 */
#ifndef FL_ACGME_REF_H
#define FL_ACGME_REF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum acgme_ptype { ACGME_RESIDENT, ACGME_FACULTY, ACGME_OTHER };
enum acgme_tod { ACGME_AM = 0, ACGME_PM = 1 };
enum acgme_rule { ACGME_R80H = 0, ACGME_R1IN7, ACGME_RSUP, ACGME_R24_4, ACGME_NRULES };

struct acgme_person {
    const char *id, *name;
    enum acgme_ptype type;
    int pgy;                  /* 1, 2, 3...; 0 for faculty / unknown */
};

struct acgme_block {
    const char *id;
    int32_t day;              /* days since 1970-01-01 */
    enum acgme_tod tod;
};

struct acgme_assign {
    const char *id, *block_id, *person_id, *role;
};

/* One element of a ground truth or of an answer: a rule and whom it names (the person for
 * 80h, 1in7 and 24+4, the block for supervision). weekend: a supervision shortfall on a
 * weekend block, a violation only when weekends are checked. */
struct acgme_item {
    enum acgme_rule rule;
    const char *id;
    int weekend;
};

struct acgme_pool;

struct acgme_case {
    struct acgme_person *people; size_t npeople, apeople;
    struct acgme_block *blocks; size_t nblocks, ablocks;
    struct acgme_assign *assigns; size_t nassigns, aassigns;
    int has_truth;
    struct acgme_item *truth; size_t ntruth, atruth;
    json_t *meta;             /* the generator's parameters, kept as given (may be NULL) */
    struct acgme_pool *pool;
};

struct acgme_settings {
    int weekend_supervision;  /* check weekend blocks too (the live service skips them) */
    int rule_24_4;            /* the opt-in 24+4 rule */
};

struct acgme_violation {
    enum acgme_rule rule;
    const char *person_id;    /* borrowed from the case; NULL for supervision */
    const char *block_id;     /* borrowed; NULL for 80h and 1in7 */
    const char *person_name;
    int32_t d0, d1;           /* window / run / stretch first and last day */
    enum acgme_tod tod;       /* supervision: the block's half-day */
    int n0, n1, n2, n3;       /* 80h: half-days, hours; 1in7: days; sup: residents, pgy1,
                                 faculty, required; 24+4: hours */
};

struct acgme_answer {
    struct acgme_violation *v;
    size_t n, alloc;
    size_t ignored;           /* assignments naming an unknown person or block */
};

struct acgme_case *acgme_case_new(void);
void acgme_case_free(struct acgme_case *c);
/* copy s into the case's pool (NULL stays NULL) */
const char *acgme_case_str(struct acgme_case *c, const char *s);
size_t acgme_add_person(struct acgme_case *c, const char *id, const char *name, enum acgme_ptype type, int pgy);
size_t acgme_add_block(struct acgme_case *c, const char *id, int32_t day, enum acgme_tod tod);
size_t acgme_add_assignment(struct acgme_case *c, const char *id, const char *block_id, const char *person_id,
                            const char *role);
void acgme_add_truth(struct acgme_case *c, enum acgme_rule rule, const char *id, int weekend);

void acgme_ref_validate(const struct acgme_case *c, const struct acgme_settings *s, struct acgme_answer *out);
void acgme_answer_release(struct acgme_answer *a);
/* the service's format: {valid, total_violations, violations:[{type, severity, person_id,
 * block_id, message, details}]}; a new reference */
json_t *acgme_answer_json(const struct acgme_answer *a);

/* ---- rules, names, dates ---- */
const char *acgme_rule_type(enum acgme_rule r);      /* "80_HOUR_VIOLATION" ... */
const char *acgme_rule_short(enum acgme_rule r);     /* "80h" "1in7" "supervision" "24+4" */
const char *acgme_rule_severity(enum acgme_rule r);  /* "CRITICAL" / "HIGH" */
int acgme_rule_by_type(const char *type);            /* -1 when unknown */
int acgme_rule_by_short(const char *s);              /* -1 when unknown */
int acgme_rule_keyed_by_block(enum acgme_rule r);    /* 1 for supervision */

/* "YYYY-MM-DD" (a longer ISO text is cut at the date) -> days since 1970-01-01; -1 on error */
int acgme_parse_date(const char *s, int32_t *day);
void acgme_fmt_date(int32_t day, char out[16]);
int acgme_weekday(int32_t day);                      /* 0 = Sunday ... 6 = Saturday */
static inline int acgme_is_weekend(int32_t day) { int w = acgme_weekday(day); return w == 0 || w == 6; }

/* ---- comparing a truth with an answer ---- */
/* The items an answer names; ids borrowed from the answer. Caller frees the array. */
struct acgme_item *acgme_answer_items(const struct acgme_answer *a, size_t *n);
/* The truth of c under settings s (weekend items only when s->weekend_supervision);
 * ids borrowed from c. Caller frees. */
struct acgme_item *acgme_truth_items(const struct acgme_case *c, const struct acgme_settings *s, size_t *n);
/* sort items by (rule, id) in place */
void acgme_items_sort(struct acgme_item *it, size_t n);
/* Compare two sorted multisets: fills per-rule true positives / false positives / false
 * negatives (arrays of ACGME_NRULES, added to) and returns 1 when they are equal. */
int acgme_items_compare(const struct acgme_item *truth, size_t nt, const struct acgme_item *got, size_t ng,
                        long *tp, long *fp, long *fn);

#endif
