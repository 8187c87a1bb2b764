/* acgme_gen.h -- ACGME test cases with known answers: a generator and the case JSON format.
 *
 * acgme_generate() builds a compliant schedule for R residents (PGY mix 40/35/25% by
 * default) and F faculty over W weeks from a start date, then injects violations of chosen
 * kinds at chosen rates, each from a pattern whose verdict is known by construction:
 *   80h (rate per resident): a 28-day heavy stretch fenced by 7 off days on each side, with
 *       exactly 53 half-days (passes 80h), 54 (the first failing count), 55 or 56. Every
 *       heavy stretch also breaks 1-in-7 (27+ worked days out of 28), and the truth says so.
 *   1in7 (rate per resident): a run of exactly 7 duty days (an off day moved by one day),
 *       or of 13 (an off day removed); the base schedule's runs are exactly 6 (passes).
 *   supervision (rate per weekday block with residents): one faculty short of
 *       ceil(units / 4) (the boundary) or more; other blocks get exactly enough or more.
 *       Weekend blocks are left one short at the same rate as decoys: violations only
 *       when weekend blocks are checked (truth items flagged weekend).
 * Every block's supervision load stays within 4 units per faculty, so the base schedule is
 * compliant; an injection that cannot fit is skipped (and not in the truth).
 * The assignment list is shuffled, so order carries no information.
 *
 * Case JSON (what `faultline acgme generate` writes and the demo service's POST
 * /api/v1/schedule/validate reads; "truth" and "generator" are extra keys):
 *   {"people":[{"id","name","type":"resident"|"faculty","pgy_level":1|null}],
 *    "blocks":[{"id","date":"YYYY-MM-DD","time_of_day":"AM"|"PM"}],
 *    "assignments":[{"id","block_id","person_id","role"}],
 *    "truth":[{"type":"80_HOUR_VIOLATION","person_id"} | {"type":"SUPERVISION_RATIO_VIOLATION",
 *              "block_id","weekend":true?}],
 *    "generator":{seed, residents, faculty, weeks, start, rates, injected}}
 */
#ifndef FL_ACGME_GEN_H
#define FL_ACGME_GEN_H

#include <jansson.h>
#include <stdint.h>
#include "acgme_ref.h"

struct acgme_gen_opts {
    uint64_t seed;
    int residents, faculty, weeks;
    int32_t start_day;                 /* days since 1970-01-01 */
    double pgy_share[3];               /* PGY-1, PGY-2, PGY-3; default .40 .35 .25 */
    double rate[ACGME_NRULES];         /* per rule; 24+4 is never injected */
    double weekend_decoys;             /* < 0: the supervision rate */
    const char *prefix;                /* id prefix; NULL: "c<seed>" */
};

/* 12 residents, 4 faculty, 4 weeks from 2026-01-05, rates 80h 0.2 / 1in7 0.2 / supervision 0.1 */
void acgme_gen_defaults(struct acgme_gen_opts *o);
/* "80h=0.2,1in7=0.2,supervision=0.1" (also "none"); 0 or -1 with err filled */
int acgme_gen_parse_rates(struct acgme_gen_opts *o, const char *text, char *err);
/* NULL with err filled when the options are out of range; the caller frees the case */
struct acgme_case *acgme_generate(const struct acgme_gen_opts *o, char *err);

/* JSON of a case (a new reference); with_truth adds "truth" and "generator" */
json_t *acgme_case_to_json(const struct acgme_case *c, int with_truth);
/* a case from JSON; NULL with err filled (names the faulty element) */
struct acgme_case *acgme_case_from_json(const json_t *j, char *err);
/* write / read a file ("-" = stdout / stdin) */
int acgme_case_save(const struct acgme_case *c, const char *path, char *err);
struct acgme_case *acgme_case_load(const char *path, char *err);

#endif
