/* acgme.c -- probe `acgme`: accuracy of a validation endpoint on generated cases whose
 * right answer is known by construction (acgme_gen.h), judged per case and per rule.
 *
 *   - name: validation-accuracy
 *     during: db-down
 *     acgme:
 *       url: ${api}/api/v1/schedule/validate
 *       deliver: post            # the case as a JSON body (default), or
 *       # deliver: seed          # insert it through libpq (target: or dsn:), then
 *       # target: pg             #   GET url?start_date=...&end_date=...
 *       cases: 40
 *       seed: 42
 *       expect: [ "accuracy == 100%", "answered >= 90%" ]
 *
 * Counting. A case is "asked" when faultline put it to the service: "answered" when a
 * reply came (any status below 500), "refused" when the service answered 5xx, or took the
 * request and then timed out or dropped it. A case faultline could not put ("could not
 * ask": it could not seed it, could not reach its own database, could not connect to the
 * service at all) is no evidence and is not asked. An answer is right when the multiset of
 * (rule, person or block) it names equals the truth and its `valid` flag (when present)
 * agrees. Metrics for expect: accuracy = right / answered, answered = answered / asked
 * (both percentages), and the counts right, wrong, refused, could_not_ask, asked. Accuracy
 * judges answers only: a refusal is neither a false positive nor a false negative, so a
 * service that refuses every case (503 while its database stalls) never answered wrongly;
 * availability is `answered`.
 *
 * Evidence is the cases asked: a check whose expectations can no longer hold fails; one
 * with fewer asked cases than the probe's min_evidence (default 1) is inconclusive, and so
 * is an expectation on a share with nothing to divide (answered with no case asked), and
 * (even with min_evidence: 0) one where no case was asked and some could not be put.
 * Per rule the probe counts true/false positives and negatives (negatives over the
 * residents of each case, or its checked blocks for supervision).
 *
 * Timing. With during:, the N cases are spread over the step's planned window (`for:`),
 * the last check in the window sending whatever remains; each observation is judged on
 * the cases so far and fails as soon as the expectation can no longer hold. With any
 * other timing each check asks N cases. acgme_probe_details() returns every wrong case
 * (truth vs answer) and every case that could not be asked, for run.json.
 *
 * Seeding (acgme_seed.h). The tables are read from the catalog at the first check: ids
 * are made for each id column's type (uuid, text, or the database's own identity/serial),
 * and a NOT NULL column without a default that neither `tables:` nor `defaults:` fills
 * stops the probe before anything is inserted (inconclusive, the column named). Each case
 * gets its own slot of dates far in the future (default from 2099-01-05, slots 7-day
 * aligned so weekdays are kept), refuses a slot that already holds blocks, inserts people,
 * blocks and assignments in one transaction, asks, then deletes exactly the rows it put
 * in; deletions that fail are retried at every later check and when the probe is freed.
 * Write-ahead (docs/journal.md): inside the seeding transaction, after the INSERTs and
 * before COMMIT, each case's rows (table, id column, every id) go to the run's journal as an
 * `acgme.seed` entry of this probe, settled once they are deleted; `faultline rollback`
 * deletes the rows of any entry left unsettled (ac_reconcile).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acgme_gen.h"
#include "acgme_ref.h"
#include "acgme_seed.h"
#include "pg_target.h"
#include "probe.h"
#include "target.h"
#include "value.h"

json_t *acgme_probe_details(const struct probe_inst *pi);

#define AC_MAX_LISTED 100 /* wrong, refused and not-asked cases kept in the details */

/* ---- configuration ----------------------------------------------------------------- */

struct ac_cfg {
    char *url;
    int seed_mode;
    char *target, *dsn;
    const struct target *tgt;   /* target: resolved at plan load (the plan owns it) */
    int cases;
    uint64_t seed;
    int seed_set;
    struct acgme_gen_opts gen;
    int32_t start_day;
    struct expect *exps;
    size_t nexps;
    int64_t timeout_ms;
    char **headers;
    struct acgme_settings settings;
    char *r_violations, *r_type, *r_person, *r_block, *r_valid;
    char *r_types[ACGME_NRULES];
    char *q_start, *q_end;
    struct acgme_map t;
    struct acgme_default *defs;
    size_t ndefs;
};

static const char *const ac_metrics[] = { "accuracy", "answered", "right", "wrong", "refused", "could_not_ask", "asked",
                                          NULL };

static const struct param_spec ac_params[] = {
    { "url", PT_STR, PARAM_REQUIRED, "the validation endpoint (POST a case, or GET ?start_date&end_date)" },
    { "deliver", PT_STR, 0, "post (default: the case as a JSON body) or seed (insert through libpq, then GET)" },
    { "target", PT_TARGET, 0, "seed: the postgres target whose database the service reads" },
    { "dsn", PT_STR, 0, "seed: a libpq connection string, instead of target:" },
    { "cases", PT_INT, 0, "how many cases to ask (default 20)" },
    { "seed", PT_INT, 0, "first case's seed (default: the run's seed); case i uses seed + i" },
    { "residents", PT_INT, 0, "residents per case (default 12; PGY-1/2/3 40/35/25%)" },
    { "faculty", PT_INT, 0, "faculty per case (default 4)" },
    { "weeks", PT_INT, 0, "weeks per case (default 4)" },
    { "rates", PT_ANY, 0, "violations injected: { 80h: 0.2, 1in7: 0.2, supervision: 0.1 } (the default) or text" },
    { "start", PT_STR, 0, "first day of the cases (post: 2026-01-05; seed: 2099-01-05, the reserved range)" },
    { "expect", PT_EXPECTS, 0,
      "over accuracy (of answers), answered, right, wrong, refused, could_not_ask, asked (default accuracy == 100%)" },
    { "timeout", PT_DURATION, 0, "per request and per database statement (default 5s)" },
    { "headers", PT_MAP, 0, "extra request headers (e.g. Authorization)" },
    { "weekend_supervision", PT_BOOL, 0, "the service checks supervision on weekend blocks too (default false)" },
    { "rule_24_4", PT_BOOL, 0, "the service checks the 24+4 rule (default false)" },
    { "reply", PT_MAP, 0, "where the answer lies: violations, type, person_id, block_id, valid, types" },
    { "query", PT_MAP, 0, "seed: the GET parameter names { start: start_date, end: end_date }" },
    { "tables", PT_MAP, 0, "seed: table and column names { people: {...}, blocks: {...}, assignments: {...} }" },
    { "defaults", PT_MAP, 0,
      "seed: values for other NOT NULL columns { people: { email: \"fl-{id}@example.invalid\" } } ({id} {n} {slot})" },
    { 0 },
};

static const struct param_spec reply_params[] = {
    { "violations", PT_STR, 0, "dotted path of the violations array (default violations; \"\" = the reply)" },
    { "type", PT_STR, 0, "field with the violation type (default type)" },
    { "person_id", PT_STR, 0, "field with the person id (default person_id)" },
    { "block_id", PT_STR, 0, "field with the block id (default block_id)" },
    { "valid", PT_STR, 0, "dotted path of the valid flag (default valid; \"\" = not checked)" },
    { "types", PT_MAP, 0, "type names per rule: { 80h: ..., 1in7: ..., supervision: ..., 24+4: ... }" },
    { 0 },
};

static const struct param_spec types_params[] = {
    { "80h", PT_STR, 0, "default 80_HOUR_VIOLATION" },
    { "1in7", PT_STR, 0, "default 1_IN_7_VIOLATION" },
    { "supervision", PT_STR, 0, "default SUPERVISION_RATIO_VIOLATION" },
    { "24+4", PT_STR, 0, "default 24_PLUS_4_VIOLATION" },
    { 0 },
};

static const struct param_spec query_params[] = {
    { "start", PT_STR, 0, "default start_date" },
    { "end", PT_STR, 0, "default end_date" },
    { 0 },
};

static const struct param_spec tables_params[] = {
    { "people", PT_MAP, 0, "{ table, id, name, type, pgy_level, resident, faculty } (name, pgy_level: \"\" = none)" },
    { "blocks", PT_MAP, 0, "{ table, id, date, time_of_day, am, pm }" },
    { "assignments", PT_MAP, 0, "{ table, id, block_id, person_id, role } (role: \"\" = none)" },
    { 0 },
};

static const struct param_spec t_people_params[] = {
    { "table", PT_STR, 0, "default people (schema.table works)" },
    { "id", PT_STR, 0, "default id" },
    { "name", PT_STR, 0, "default name" },
    { "type", PT_STR, 0, "default type" },
    { "pgy_level", PT_STR, 0, "default pgy_level" },
    { "resident", PT_STR, 0, "the type value of residents (default resident)" },
    { "faculty", PT_STR, 0, "the type value of faculty (default faculty)" },
    { 0 },
};

static const struct param_spec t_blocks_params[] = {
    { "table", PT_STR, 0, "default blocks (schema.table works)" },
    { "id", PT_STR, 0, "default id" },
    { "date", PT_STR, 0, "default date" },
    { "time_of_day", PT_STR, 0, "default time_of_day" },
    { "am", PT_STR, 0, "the time_of_day value of mornings (default AM)" },
    { "pm", PT_STR, 0, "the time_of_day value of afternoons (default PM)" },
    { 0 },
};

static const struct param_spec t_assign_params[] = {
    { "table", PT_STR, 0, "default assignments (schema.table works)" },
    { "id", PT_STR, 0, "default id" },
    { "block_id", PT_STR, 0, "default block_id" },
    { "person_id", PT_STR, 0, "default person_id" },
    { "role", PT_STR, 0, "default role" },
    { 0 },
};

static char *dup_param(const struct node *map, const char *key, const char *def)
{
    return fl_strdup(param_str(map, key, def));
}

static void ac_free_cfg(void *p)
{
    struct ac_cfg *c = p;
    if (!c) return;
    free(c->url);
    free(c->target);
    free(c->dsn);
    for (size_t i = 0; i < c->nexps; i++) expect_release(&c->exps[i]);
    free(c->exps);
    param_strv_free(c->headers);
    free(c->r_violations);
    free(c->r_type);
    free(c->r_person);
    free(c->r_block);
    free(c->r_valid);
    for (int i = 0; i < ACGME_NRULES; i++) free(c->r_types[i]);
    free(c->q_start);
    free(c->q_end);
    char **t = (char **)&c->t;
    for (size_t i = 0; i < sizeof c->t / sizeof(char *); i++) free(t[i]);
    for (size_t i = 0; i < c->ndefs; i++) {
        free(c->defs[i].column);
        free(c->defs[i].value);
    }
    free(c->defs);
    free(c);
}

/* url:, deliver:, and where seeded cases go (target: or dsn:) */
static void parse_delivery(struct ac_cfg *c, const struct drv_parse *pc, const struct node *val, struct diag *d)
{
    c->url = dup_param(val, "url", "");
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)
        diag_add(d, node_get(val, "url"), "acgme probe: url '%s' must start with http:// or https://", c->url);
    const char *dl = param_str(val, "deliver", "post");
    if (strcmp(dl, "seed") == 0) c->seed_mode = 1;
    else if (strcmp(dl, "post") != 0)
        diag_add(d, node_get(val, "deliver"), "acgme probe: deliver must be post or seed, not '%s'", dl);
    const char *tn = param_str(val, "target", NULL), *dsn = param_str(val, "dsn", NULL);
    c->target = tn ? fl_strdup(tn) : NULL;
    c->dsn = dsn ? fl_strdup(dsn) : NULL;
    if (tn) {
        const struct target *t = c->tgt = drv_target(pc, tn);
        if (!t) diag_add(d, node_get(val, "target"), "acgme probe: no target named '%s'", tn);
        else if (t->ops && strcmp(t->ops->name, "postgres") != 0)
            diag_add(d, node_get(val, "target"), "acgme probe: target '%s' is a %s target, not postgres", tn,
                     t->ops->name);
    }
    if (c->seed_mode && !tn && !dsn)
        diag_add(d, val, "acgme probe: deliver: seed needs a postgres target: (or dsn:) to insert the cases into");
    if (tn && dsn) diag_add(d, node_get(val, "dsn"), "acgme probe: give target: or dsn:, not both");
    if (!c->seed_mode && (tn || dsn))
        diag_add(d, node_get(val, tn ? "target" : "dsn"), "acgme probe: target:/dsn: only serve deliver: seed");
}

/* the generated cases: cases:, seed:, residents/faculty/weeks:, rates:, start: */
static void parse_generation(struct ac_cfg *c, const struct node *val, struct diag *d)
{
    char err[FL_ERR_LEN];
    acgme_gen_defaults(&c->gen);
    c->cases = (int)param_int(val, "cases", 20);
    if (c->cases < 1 || c->cases > 100000)
        diag_add(d, node_get(val, "cases"), "acgme probe: cases must be between 1 and 100000");
    if (node_get(val, "seed")) {
        c->seed = (uint64_t)param_int(val, "seed", 1);
        c->seed_set = 1;
    }
    c->gen.residents = (int)param_int(val, "residents", 12);
    c->gen.faculty = (int)param_int(val, "faculty", 4);
    c->gen.weeks = (int)param_int(val, "weeks", 4);
    if (c->gen.residents < 1 || c->gen.residents > 10000)
        diag_add(d, node_get(val, "residents"), "acgme probe: residents must be between 1 and 10000");
    if (c->gen.faculty < 0 || c->gen.faculty > 10000)
        diag_add(d, node_get(val, "faculty"), "acgme probe: faculty must be between 0 and 10000");
    if (c->gen.weeks < 1 || c->gen.weeks > 104)
        diag_add(d, node_get(val, "weeks"), "acgme probe: weeks must be between 1 and 104");
    const struct node *rates = node_get(val, "rates");
    if (rates) {
        struct buf b;
        buf_init(&b, 4096);
        if (rates->type == NODE_SCALAR) {
            buf_adds(&b, rates->str);
        } else if (rates->type == NODE_MAP) {
            for (size_t i = 0; i < rates->n; i++)
                if (rates->items[i]->type == NODE_SCALAR)
                    buf_addf(&b, "%s%s=%s", i ? "," : "", rates->keys[i]->str, rates->items[i]->str);
            if (!rates->n) buf_adds(&b, "none");
        } else {
            buf_adds(&b, "?");
        }
        if (acgme_gen_parse_rates(&c->gen, b.data, err) != 0) diag_add(d, rates, "acgme probe: rates: %s", err);
        buf_release(&b);
    }
    const char *start = param_str(val, "start", c->seed_mode ? "2099-01-05" : "2026-01-05");
    if (acgme_parse_date(start, &c->start_day) != 0)
        diag_add(d, node_get(val, "start"), "acgme probe: start must be a date YYYY-MM-DD, not '%s'", start);
}

/* expect:, timeout:, headers:, the ACGME settings */
static void parse_expectations(struct ac_cfg *c, const struct node *val, struct diag *d)
{
    char err[FL_ERR_LEN];
    char **ex = param_strv(val, "expect");
    if (!ex) {
        ex = fl_calloc(2, sizeof *ex);
        ex[0] = fl_strdup("accuracy == 100%");
    }
    size_t nex = param_strv_len(ex);
    c->exps = fl_calloc(nex + 1, sizeof *c->exps);
    for (size_t i = 0; i < nex; i++) {
        if (expect_parse(ex[i], ac_metrics, &c->exps[c->nexps], err) != 0)
            diag_add(d, node_get(val, "expect"), "acgme probe: %s", err);
        else c->nexps++;
    }
    param_strv_free(ex);
    c->timeout_ms = param_ms(val, "timeout", 5000);
    if (c->timeout_ms <= 0) diag_add(d, node_get(val, "timeout"), "acgme probe: timeout must be positive");
    const struct node *h = node_get(val, "headers");
    if (h && h->type == NODE_MAP) {
        c->headers = fl_calloc(h->n + 1, sizeof *c->headers);
        size_t k = 0;
        for (size_t i = 0; i < h->n; i++) {
            if (h->items[i]->type != NODE_SCALAR) diag_add(d, h->items[i], "acgme probe: header values must be text");
            else c->headers[k++] = fl_asprintf("%s: %s", h->keys[i]->str, h->items[i]->str);
        }
    }
    c->settings.weekend_supervision = param_bool(val, "weekend_supervision", 0);
    c->settings.rule_24_4 = param_bool(val, "rule_24_4", 0);
}

/* how the service's reply (reply:) and query string (query:) are named */
static void parse_reply(struct ac_cfg *c, const struct node *val, struct diag *d)
{
    const struct node *r = node_get(val, "reply");
    if (r && params_check(r, reply_params, NULL, "acgme probe: reply", d) != 0) r = NULL;
    c->r_violations = dup_param(r, "violations", "violations");
    c->r_type = dup_param(r, "type", "type");
    c->r_person = dup_param(r, "person_id", "person_id");
    c->r_block = dup_param(r, "block_id", "block_id");
    c->r_valid = dup_param(r, "valid", "valid");
    const struct node *ty = r ? node_get(r, "types") : NULL;
    if (ty && params_check(ty, types_params, NULL, "acgme probe: reply: types", d) != 0) ty = NULL;
    for (int i = 0; i < ACGME_NRULES; i++) c->r_types[i] = dup_param(ty, acgme_rule_short(i), acgme_rule_type(i));

    const struct node *q = node_get(val, "query");
    if (q && params_check(q, query_params, NULL, "acgme probe: query", d) != 0) q = NULL;
    c->q_start = dup_param(q, "start", "start_date");
    c->q_end = dup_param(q, "end", "end_date");
}

/* deliver: seed: the tables and columns the cases go into (tables:, defaults:) */
static void parse_tables(struct ac_cfg *c, const struct node *val, struct diag *d)
{
    char err[FL_ERR_LEN];
    const struct node *tb = node_get(val, "tables"), *tp = NULL, *tbl = NULL, *ta = NULL;
    if (tb && params_check(tb, tables_params, NULL, "acgme probe: tables", d) == 0) {
        tp = node_get(tb, "people");
        tbl = node_get(tb, "blocks");
        ta = node_get(tb, "assignments");
        if (tp && params_check(tp, t_people_params, NULL, "acgme probe: tables: people", d) != 0) tp = NULL;
        if (tbl && params_check(tbl, t_blocks_params, NULL, "acgme probe: tables: blocks", d) != 0) tbl = NULL;
        if (ta && params_check(ta, t_assign_params, NULL, "acgme probe: tables: assignments", d) != 0) ta = NULL;
    }
    if (tb && !c->seed_mode) diag_add(d, tb, "acgme probe: tables: only serve deliver: seed");
    const struct node *df = node_get(val, "defaults");
    if (df && !c->seed_mode) diag_add(d, df, "acgme probe: defaults: only serve deliver: seed");
    if (df && df->type == NODE_MAP && c->seed_mode) {
        static const char *const roles[] = { "people", "blocks", "assignments", NULL };
        for (size_t i = 0; i < df->n; i++) {
            int k = -1;
            for (int r = 0; roles[r]; r++)
                if (!strcmp(df->keys[i]->str, roles[r])) k = r;
            const struct node *cols = df->items[i];
            if (k < 0) {
                diag_add(d, df->keys[i], "acgme probe: defaults: unknown table '%s' (known: people, blocks, assignments)",
                         df->keys[i]->str);
                continue;
            }
            if (cols->type != NODE_MAP) {
                diag_add(d, cols, "acgme probe: defaults: %s: takes a map of column: value", roles[k]);
                continue;
            }
            for (size_t j = 0; j < cols->n; j++) {
                const struct node *v = cols->items[j];
                if (v->type != NODE_SCALAR) {
                    diag_add(d, v, "acgme probe: defaults: %s: %s: takes one value (text)", roles[k], cols->keys[j]->str);
                    continue;
                }
                if (acgme_default_check(v->str, err) < 0) {
                    diag_add(d, v, "acgme probe: defaults: %s: %s: %s", roles[k], cols->keys[j]->str, err);
                    continue;
                }
                c->defs = fl_realloc(c->defs, (c->ndefs + 1) * sizeof *c->defs);
                c->defs[c->ndefs++] = (struct acgme_default){ (enum acgme_table)k, fl_strdup(cols->keys[j]->str),
                                                              fl_strdup(v->str) };
            }
        }
    }
    c->t.people = dup_param(tp, "table", "people");
    c->t.p_id = dup_param(tp, "id", "id");
    c->t.p_name = dup_param(tp, "name", "name");
    c->t.p_type = dup_param(tp, "type", "type");
    c->t.p_pgy = dup_param(tp, "pgy_level", "pgy_level");
    c->t.v_resident = dup_param(tp, "resident", "resident");
    c->t.v_faculty = dup_param(tp, "faculty", "faculty");
    c->t.blocks = dup_param(tbl, "table", "blocks");
    c->t.b_id = dup_param(tbl, "id", "id");
    c->t.b_date = dup_param(tbl, "date", "date");
    c->t.b_tod = dup_param(tbl, "time_of_day", "time_of_day");
    c->t.v_am = dup_param(tbl, "am", "AM");
    c->t.v_pm = dup_param(tbl, "pm", "PM");
    c->t.assigns = dup_param(ta, "table", "assignments");
    c->t.a_id = dup_param(ta, "id", "id");
    c->t.a_block = dup_param(ta, "block_id", "block_id");
    c->t.a_person = dup_param(ta, "person_id", "person_id");
    c->t.a_role = dup_param(ta, "role", "role");
    for (size_t i = 0; i < c->ndefs; i++) {
        const char *mapped[ACGME_T_N][5] = { { c->t.p_id, c->t.p_name, c->t.p_type, c->t.p_pgy, NULL },
                                             { c->t.b_id, c->t.b_date, c->t.b_tod, NULL, NULL },
                                             { c->t.a_id, c->t.a_block, c->t.a_person, c->t.a_role, NULL } };
        for (int k = 0; mapped[c->defs[i].table][k]; k++)
            if (!strcmp(mapped[c->defs[i].table][k], c->defs[i].column))
                diag_add(d, node_get(val, "defaults"), "acgme probe: defaults: '%s' is a column faultline fills itself "
                         "(tables:); defaults: are for the other columns", c->defs[i].column);
    }
}

static int ac_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **out, struct diag *d)
{
    (void)entry;
    struct ac_cfg *c = fl_calloc(1, sizeof *c);
    size_t before = d->n;
    parse_delivery(c, pc, val, d);
    parse_generation(c, val, d);
    parse_expectations(c, val, d);
    parse_reply(c, val, d);
    parse_tables(c, val, d);
    if (d->n != before) {
        ac_free_cfg(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void ac_describe(const void *cfg, struct buf *out)
{
    const struct ac_cfg *c = cfg;
    char u[512];
    snprintf(u, sizeof u, "%s", c->url);
    fl_redact(u);
    buf_addf(out, "%d ACGME cases (%d residents, %d faculty, %d weeks) %s %s", c->cases, c->gen.residents,
             c->gen.faculty, c->gen.weeks, c->seed_mode ? "seeded into the database, then GET" : "POSTed to", u);
    for (size_t i = 0; i < c->nexps; i++) buf_addf(out, "%s%s", i ? ", " : "; expect ", c->exps[i].text);
}

/* ---- run state --------------------------------------------------------------------- */

struct ac_state {
    CURL *curl;
    struct acgme_db *db;      /* seed: the database the cases go into (its dsn never printed) */
    struct acgme_schema *schema; /* seed: read at the first check */
    char schema_err[FL_ERR_LEN]; /* seed: why the tables cannot be seeded (then nothing is) */
    char seed_err[FL_ERR_LEN];   /* seed: why the last attempt to read them failed (may pass later) */
    int64_t last_check_ms;    /* duration of the previous check */
    long target_total;        /* cases to have asked by the end of the current round */
    long tried;               /* cases tried (asked + could not ask) */
    long asked, answered, refused, could_not_ask, right, wrong;
    long tp[ACGME_NRULES], fp[ACGME_NRULES], fn[ACGME_NRULES], tn[ACGME_NRULES], other_fp;
    long wrong_listed, not_asked_listed, refused_listed;
    json_t *wrong_cases, *not_asked, *refused_cases;
    char *first_problem;
    struct ac_rows *pending;  /* seed: rows still to delete (a failed delete, an unsure commit) */
    size_t npending;
    const struct drv_ctx *ctx;   /* the run: its journal holds every case's rows until deleted */
    const char *name;            /* the probe's name (the journal's) */
    char *conninfo;              /* seed: the DSN without its password, for the journal */
    int64_t timeout_ms;
    long cleanup_failures;
};

static atomic_int ac_next_slot;

/* one case's rows and their entry in the run's journal (0: none) */
struct ac_rows {
    struct acgme_seeded *sd;
    long jid;
};

/* the rows are gone: their journal entry is settled */
static void rows_deleted(struct ac_state *s, struct ac_rows *rw)
{
    drv_journal_settle(s->ctx, rw->jid, 1, "deleted by the probe");
    acgme_seeded_free(rw->sd);
    rw->sd = NULL;
}

static void retry_cleanups(struct ac_state *s)
{
    char err[FL_ERR_LEN];
    size_t k = 0;
    for (size_t i = 0; i < s->npending; i++) {
        if (s->schema && acgme_seed_delete(s->db, s->schema, s->pending[i].sd, err) == 0) rows_deleted(s, &s->pending[i]);
        else s->pending[k++] = s->pending[i];
    }
    s->npending = k;
}

static void keep_pending(struct ac_state *s, struct ac_rows rw)
{
    s->pending = fl_realloc(s->pending, (s->npending + 1) * sizeof *s->pending);
    s->pending[s->npending++] = rw;
}

static void ac_free_state(void *p)
{
    struct ac_state *s = p;
    if (!s) return;
    if (s->npending) {
        retry_cleanups(s);
        for (size_t i = 0; i < s->npending; i++) {
            char what[256];
            acgme_seeded_describe(s->pending[i].sd, what, sizeof what);
            fl_log(FL_LOG_WARN, "acgme probe: seeded rows could not be deleted: %s%s (faultline's ids: uuid 'fa11ac9e-...', "
                   "text 'fl-acgme-...', dates from 2099)", what,
                   s->pending[i].jid > 0 ? "; the journal keeps them: `faultline rollback` deletes them" : "");
            /* the journal entry stays pending: rollback takes them out */
            acgme_seeded_free(s->pending[i].sd);
        }
    }
    free(s->pending);
    free(s->conninfo);
    acgme_schema_free(s->schema);
    acgme_db_free(s->db);
    if (s->curl) curl_easy_cleanup(s->curl);
    if (s->wrong_cases) json_decref(s->wrong_cases);
    if (s->not_asked) json_decref(s->not_asked);
    if (s->refused_cases) json_decref(s->refused_cases);
    free(s->first_problem);
    free(s);
}

/* ---- asking one case -------------------------------------------------------------- */

struct reply {
    long status;
    struct buf body;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    return buf_add(b, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

/* ASK_ANSWERED: a reply came (status and body set); ASK_REFUSED: the service answered 5xx,
 * or took the request and timed out or dropped it (err says which); ASK_NOT: faultline
 * could not put the question (no connection to the service, a local error; err) */
enum { ASK_ANSWERED = 0, ASK_REFUSED = 1, ASK_NOT = -1 };
static int http_ask(struct ac_state *s, const struct ac_cfg *c, const char *url, const char *post, struct reply *rp,
                    char *err)
{
    if (!s->curl && !(s->curl = curl_easy_init())) return fl_err(err, "cannot start a HTTP client");
    CURL *h = s->curl;
    curl_easy_reset(h);
    struct curl_slist *hd = NULL;
    for (size_t i = 0; c->headers && c->headers[i]; i++) hd = curl_slist_append(hd, c->headers[i]);
    if (post) hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");   /* the plan's URL itself: a proxy from the */
    curl_easy_setopt(h, CURLOPT_NOPROXY, ""); /* environment is not the service under test */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rp->body);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hd);
    if (rc != CURLE_OK) {
        /* the question went out (a connection, a request sent): the service did not answer it */
        curl_off_t connect_us = 0;
        long sent = 0;
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
        curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
        int connected = connect_us > 0 || sent > 0;
        fl_err(err, "%s%s", connected > 0 ? "" : "cannot connect to the service: ", curl_easy_strerror(rc));
        return connected > 0 ? ASK_REFUSED : ASK_NOT;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rp->status);
    if (rp->status >= 500) {
        char snip[96];
        snprintf(snip, sizeof snip, "%s", rp->body.data);
        snip[strcspn(snip, "\r\n")] = 0;
        fl_err(err, "HTTP %ld %s", rp->status, snip);
        return ASK_REFUSED;
    }
    return ASK_ANSWERED;
}

static const json_t *json_path(const json_t *j, const char *path)
{
    if (!path || !*path) return j;
    char *copy = fl_strdup(path), *save = NULL;
    for (char *tok = strtok_r(copy, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save)) j = json_object_get(j, tok);
    free(copy);
    return j;
}

struct got {
    struct acgme_item *it;
    size_t n;
    char **owned;             /* ids converted from numbers */
    size_t nowned;
    int valid;                /* -1 absent */
    char problem[160];        /* why the reply could not be read as an answer */
};

static void got_release(struct got *g)
{
    free(g->it);
    for (size_t i = 0; i < g->nowned; i++) free(g->owned[i]);
    free(g->owned);
}

/* read the answer's items out of a reply (ids borrowed from j or owned by g) */
static void read_answer(const struct ac_cfg *c, const json_t *j, struct got *g, int uuid_ids)
{
    memset(g, 0, sizeof *g);
    g->valid = -1;
    if (!j) {
        snprintf(g->problem, sizeof g->problem, "the reply is not JSON");
        return;
    }
    const json_t *v = json_path(j, c->r_valid);
    if (c->r_valid[0] && json_is_boolean(v)) g->valid = json_is_true(v);
    const json_t *arr = json_path(j, c->r_violations);
    if (!json_is_array(arr)) {
        snprintf(g->problem, sizeof g->problem, "no violations array at '%s'", c->r_violations);
        return;
    }
    size_t n = json_array_size(arr);
    g->it = fl_malloc((n ? n : 1) * sizeof *g->it);
    g->owned = fl_calloc(n + 1, sizeof *g->owned);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        const char *type = json_string_value(json_object_get(e, c->r_type));
        int rule = -1;
        for (int r = 0; type && r < ACGME_NRULES; r++)
            if (strcmp(type, c->r_types[r]) == 0) rule = r;
        /* an unknown type keeps its text as the id, under no rule: it can only be wrong */
        const json_t *idv = rule < 0 ? NULL : json_object_get(e, acgme_rule_keyed_by_block(rule) ? c->r_block : c->r_person);
        const char *id = json_string_value(idv);
        if (!id && json_is_integer(idv)) {
            g->owned[g->nowned] = fl_asprintf("%lld", (long long)json_integer_value(idv));
            id = g->owned[g->nowned++];
        } else if (id && uuid_ids && strlen(id) == 36 && id[8] == '-') {
            /* a uuid's text may come in capitals; the database shows it in lower case */
            char *low = fl_strdup(id);
            for (char *q = low; *q; q++) *q = (char)tolower((unsigned char)*q);
            g->owned[g->nowned++] = low;
            id = low;
        }
        if (rule < 0) id = type ? type : "(no type)";
        g->it[g->n++] = (struct acgme_item){ rule < 0 ? ACGME_NRULES : (enum acgme_rule)rule, id, 0 };
    }
    acgme_items_sort(g->it, g->n);
}

static json_t *items_json(const struct acgme_item *it, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char *s = fl_asprintf("%s:%s", it[i].rule < ACGME_NRULES ? acgme_rule_short(it[i].rule) : "unknown",
                              it[i].id ? it[i].id : "");
        json_array_append_new(a, json_string(s));
        free(s);
    }
    return a;
}

/* the difference of two sorted multisets: in a, not in b */
static json_t *items_minus(const struct acgme_item *a, size_t na, const struct acgme_item *b, size_t nb)
{
    struct acgme_item *d = fl_malloc((na ? na : 1) * sizeof *d);
    size_t n = 0, i = 0, j = 0;
    while (i < na) {
        int cmp = j == nb ? -1
                  : a[i].rule != b[j].rule ? (a[i].rule < b[j].rule ? -1 : 1)
                                           : strcmp(a[i].id ? a[i].id : "", b[j].id ? b[j].id : "");
        if (cmp == 0) i++, j++;
        else if (cmp < 0) d[n++] = a[i++];
        else j++;
    }
    json_t *r = items_json(d, n);
    free(d);
    return r;
}

static void note_problem(struct ac_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_problem(struct ac_state *s, const char *fmt, ...)
{
    if (s->first_problem) return;
    char m[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    s->first_problem = fl_strdup(m);
}

/* checked blocks (with residents; weekends only when checked) and residents of a case */
static void universe(const struct acgme_case *cs, const struct acgme_settings *st, long *residents, long *blocks)
{
    *residents = 0;
    for (size_t i = 0; i < cs->npeople; i++) *residents += cs->people[i].type == ACGME_RESIDENT;
    /* a block is checked when a resident is on it: the reference answer with an empty
     * faculty would name exactly those, so count through a faculty-free copy's shape */
    struct acgme_case *probe = acgme_case_new();
    for (size_t i = 0; i < cs->nblocks; i++) acgme_add_block(probe, cs->blocks[i].id, cs->blocks[i].day, cs->blocks[i].tod);
    for (size_t i = 0; i < cs->npeople; i++)
        if (cs->people[i].type == ACGME_RESIDENT) acgme_add_person(probe, cs->people[i].id, NULL, ACGME_RESIDENT, 1);
    for (size_t i = 0; i < cs->nassigns; i++)
        acgme_add_assignment(probe, NULL, cs->assigns[i].block_id, cs->assigns[i].person_id, NULL);
    struct acgme_answer a;
    acgme_ref_validate(probe, st, &a);
    *blocks = 0;
    for (size_t i = 0; i < a.n; i++) *blocks += a.v[i].rule == ACGME_RSUP;
    acgme_answer_release(&a);
    acgme_case_free(probe);
}

/* truth items name the case's ids; a seeded case is answered with the database's */
static void translate_items(struct acgme_item *it, size_t n, const struct acgme_seeded *sd)
{
    for (size_t i = 0; sd && i < n; i++) {
        const char *db = acgme_seeded_id(sd, it[i].id);
        if (db) it[i].id = db;
    }
    acgme_items_sort(it, n);
}

static void list_unasked(json_t *list, long *listed, long i, uint64_t seed, const char *err)
{
    if (*listed >= AC_MAX_LISTED) return;
    json_array_append_new(list, json_pack("{s:I, s:I, s:s}", "case", (json_int_t)i, "seed", (json_int_t)seed, "error", err));
    (*listed)++;
}

/* seed: the tables read once; 0, or -1 with s->schema_err (then no case can be seeded) */
static int seed_ready(struct ac_state *s, const struct ac_cfg *c)
{
    if (s->schema) return 0;
    if (s->schema_err[0]) return -1;
    char err[FL_ERR_LEN];
    s->schema = acgme_schema_read(s->db, &c->t, c->defs, c->ndefs, err);
    if (s->schema) return 0;
    /* a connection that failed may work at the next case; a schema that cannot be seeded
     * will not (its error stays, so no case is tried against it again) */
    if (strncmp(err, "cannot connect", 14) == 0 || strncmp(err, "cannot read the columns", 23) == 0)
        snprintf(s->seed_err, sizeof s->seed_err, "%s", err);
    else
        snprintf(s->schema_err, sizeof s->schema_err, "%s", err);
    return -1;
}

/* why seed_ready() failed */
static const char *seed_error(const struct ac_state *s)
{
    return s->schema_err[0] ? s->schema_err : s->seed_err;
}

/* ask case number i; counts it */
/* a seeded case's rows deleted; kept for a later cleanup when that fails */
static void seed_cleanup(struct ac_state *s, struct ac_rows rw)
{
    char cerr[FL_ERR_LEN];
    if (acgme_seed_delete(s->db, s->schema, rw.sd, cerr) != 0) {
        s->cleanup_failures++;
        keep_pending(s, rw);
    } else {
        rows_deleted(s, &rw);
    }
}

/* the write-ahead point of a case (acgme_seed_case calls it before COMMIT): its rows, as
 * the database numbered them, in the run's journal (fsync'd), so that `faultline rollback`
 * deletes them after any crash */
struct ac_journal {
    struct ac_state *s;
    const struct ac_cfg *c;
    int slot;
    uint64_t seed;
    long jid;
};

static int journal_rows(void *arg, const struct acgme_seeded *sd, char *err)
{
    struct ac_journal *aj = arg;
    json_t *rec = json_pack("{s:s?, s:s?, s:i, s:I, s:o}", "target", aj->c->target, "conninfo", aj->s->conninfo, "slot",
                            aj->slot, "seed", (json_int_t)aj->seed, "tables", acgme_seeded_json(aj->s->schema, sd));
    char e[FL_ERR_LEN] = "";
    aj->jid = drv_journal_intent(aj->s->ctx, aj->s->name, "acgme.seed", rec, e);
    if (aj->jid < 0) return fl_err(err, "cannot journal the rows before committing them (so none were): %s", e);
    return 0;
}

/* deliver: seed: a free slot of dates for case o (ours by a process-wide counter, and empty
 * in the database), o->start_day and o->prefix set; the slot, or -1 with err */
static int claim_slot(struct ac_state *s, const struct ac_cfg *c, struct acgme_gen_opts *o, char prefix[96], char *err)
{
    int32_t slot_days = 7 * (c->gen.weeks + 5);
    int slot = -1;
    for (int tries = 0; tries < 64; tries++) {
        slot = atomic_fetch_add(&ac_next_slot, 1);
        int32_t from = c->start_day + slot * slot_days;
        int f = acgme_slot_free(s->db, s->schema, from, from + 7 * c->gen.weeks - 1, err);
        if (f < 0) return -1;
        if (f) break;
        slot = -1;
    }
    if (slot < 0) return fl_err(err, "no free slot of dates from the reserved start (64 tried)");
    o->start_day = c->start_day + slot * slot_days;
    uint64_t hs = o->seed;
    snprintf(prefix, 96, "fl-acgme-%d-%08x", slot, (unsigned)(fl_splitmix64(&hs) & 0xffffffffu));
    o->prefix = prefix;
    return slot;
}

/* a wrong answer to case i: counted, its evidence listed (up to AC_MAX_LISTED) */
static void note_wrong(struct ac_state *s, long i, uint64_t seed, long status, const struct reply *rp,
                       const struct acgme_item *truth, size_t nt, const struct got *g)
{
    s->wrong++;
    json_t *tj = items_json(truth, nt);
    json_t *w = json_pack("{s:I, s:I, s:I, s:o}", "case", (json_int_t)i, "seed", (json_int_t)seed, "status",
                          (json_int_t)status, "truth", tj);
    if (g->problem[0]) {
        char snip[200];
        snprintf(snip, sizeof snip, "%s", rp->body.data);
        json_object_set_new(w, "problem", json_string(g->problem));
        json_object_set_new(w, "reply", json_string(snip));
        note_problem(s, "case %ld (seed %llu): %s", i, (unsigned long long)seed, g->problem);
    } else {
        json_object_set_new(w, "answer", items_json(g->it, g->n));
        json_t *missing = items_minus(truth, nt, g->it, g->n), *extra = items_minus(g->it, g->n, truth, nt);
        if (g->valid >= 0) json_object_set_new(w, "valid", json_boolean(g->valid));
        const char *m0 = json_string_value(json_array_get(missing, 0));
        const char *e0 = json_string_value(json_array_get(extra, 0));
        note_problem(s, "case %ld (seed %llu): %s%s%s%s%s", i, (unsigned long long)seed,
                     m0 ? "missing " : "", m0 ? m0 : "", m0 && e0 ? ", " : "", e0 ? "extra " : "",
                     e0 ? e0 : (!m0 ? "valid flag disagrees" : ""));
        json_object_set_new(w, "missing", missing);
        json_object_set_new(w, "extra", extra);
    }
    if (s->wrong_listed < AC_MAX_LISTED) {
        json_array_append_new(s->wrong_cases, w);
        s->wrong_listed++;
    } else {
        json_decref(w);
    }
}

/* the service answered case i: its answer against the truth, per rule (confusion counts)
 * and as a whole (right or wrong) */
static void judge_answer(struct ac_state *s, const struct ac_cfg *c, const struct acgme_case *cs,
                         const struct acgme_seeded *sd, const struct reply *rp, long i, uint64_t seed)
{
    size_t nt;
    struct acgme_item *truth = acgme_truth_items(cs, &c->settings, &nt);
    translate_items(truth, nt, sd);
    json_t *rj = json_loadb(rp->body.data, rp->body.len, 0, NULL);
    struct got g;
    read_answer(c, rj, &g, sd && acgme_schema_uuid_ids(s->schema));
    if (rp->status >= 400 && !g.problem[0]) snprintf(g.problem, sizeof g.problem, "HTTP %ld", rp->status);
    long tp[ACGME_NRULES] = { 0 }, fp[ACGME_NRULES] = { 0 }, fn[ACGME_NRULES] = { 0 };
    int same = 0;
    if (g.problem[0]) {
        for (size_t k = 0; k < nt; k++) fn[truth[k].rule]++;
    } else {
        /* unknown types sort last (rule ACGME_NRULES): count them apart */
        size_t known = g.n;
        while (known && g.it[known - 1].rule == ACGME_NRULES) known--;
        s->other_fp += (long)(g.n - known);
        same = acgme_items_compare(truth, nt, g.it, known, tp, fp, fn) && known == g.n;
        if (g.valid >= 0 && g.valid != (nt == 0)) same = 0;
    }
    long residents, blocks;
    universe(cs, &c->settings, &residents, &blocks);
    for (int r = 0; r < ACGME_NRULES; r++) {
        if (r == ACGME_R24_4 && !c->settings.rule_24_4 && !tp[r] && !fp[r] && !fn[r]) continue;
        long u = r == ACGME_RSUP ? blocks : residents;
        long tn = u - tp[r] - fn[r] - fp[r];
        s->tp[r] += tp[r];
        s->fp[r] += fp[r];
        s->fn[r] += fn[r];
        s->tn[r] += tn > 0 ? tn : 0;
    }
    if (same) s->right++;
    else note_wrong(s, i, seed, rp->status, rp, truth, nt, &g);
    got_release(&g);
    if (rj) json_decref(rj);
    free(truth);
}

static void ask_case(struct probe_inst *pi, struct ac_state *s, long i)
{
    const struct ac_cfg *c = pi->cfg;
    uint64_t base = c->seed_set ? c->seed : (pi->ctx && pi->ctx->seed ? pi->ctx->seed : 1);
    struct acgme_gen_opts o = c->gen;
    o.seed = base + (uint64_t)i;
    o.start_day = c->start_day;
    char prefix[96], err[FL_ERR_LEN] = "";
    int slot = -1;
    struct ac_rows rw = { NULL, 0 };
    struct acgme_seeded *sd = NULL;
    s->tried++;
    if (c->seed_mode) {
        if (seed_ready(s, c) < 0) {
            snprintf(err, sizeof err, "%s", seed_error(s));
            goto not_asked;
        }
        if ((slot = claim_slot(s, c, &o, prefix, err)) < 0) goto not_asked;
    }
    char gerr[FL_ERR_LEN];
    struct acgme_case *cs = acgme_generate(&o, gerr);
    if (!cs) {
        fl_err(err, "cannot generate case %ld: %s", i, gerr);
        goto not_asked;
    }
    struct reply rp = { 0 };
    buf_init(&rp.body, 64u << 20);
    int asked;
    if (c->seed_mode) {
        int unsure = 0;
        struct ac_journal aj = { s, c, slot, o.seed, 0 };
        sd = acgme_seed_case(s->db, s->schema, cs, slot, o.seed, journal_rows, &aj, &unsure, err);
        rw = (struct ac_rows){ sd, aj.jid };
        if (!sd || unsure) {
            if (sd) keep_pending(s, rw); /* may be there: delete it to be sure */
            sd = NULL;
            asked = ASK_NOT;
        } else {
            char d0[16], d1[16];
            acgme_fmt_date(o.start_day, d0);
            acgme_fmt_date(o.start_day + 7 * c->gen.weeks - 1, d1);
            char *url = fl_asprintf("%s%c%s=%s&%s=%s", c->url, strchr(c->url, '?') ? '&' : '?', c->q_start, d0,
                                    c->q_end, d1);
            asked = http_ask(s, c, url, NULL, &rp, err);
            free(url);
        }
    } else {
        json_t *j = acgme_case_to_json(cs, 0);
        char *body = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        asked = http_ask(s, c, c->url, body, &rp, err);
        free(body);
    }
    if (asked != ASK_ANSWERED) {
        if (sd) seed_cleanup(s, rw);
        acgme_case_free(cs);
        buf_release(&rp.body);
        if (asked == ASK_NOT) goto not_asked;
        s->asked++;
        s->refused++;
        note_problem(s, "case %ld: refused: %s", i, err);
        list_unasked(s->refused_cases, &s->refused_listed, i, o.seed, err);
        return;
    }
    s->asked++;
    s->answered++;

    judge_answer(s, c, cs, sd, &rp, i, o.seed);
    buf_release(&rp.body);
    if (sd) seed_cleanup(s, rw);
    acgme_case_free(cs);
    return;

not_asked:
    s->could_not_ask++;
    note_problem(s, "case %ld: could not ask: %s", i, err);
    list_unasked(s->not_asked, &s->not_asked_listed, i, o.seed, err);
}

/* ---- judging -------------------------------------------------------------------------- */

/* the metric's value now and its possible range once the remaining cases are asked */
static int metric_range(const struct ac_state *s, const char *m, long remaining, double *lo, double *hi, double *now)
{
    double R = (double)s->right, A = (double)s->answered, K = (double)s->asked, M = (double)remaining;
    double total = K + M;
    if (!strcmp(m, "accuracy")) {
        *now = A > 0 ? R / A : NAN;
        if (A + M <= 0) {
            *lo = *hi = NAN;
        } else {
            *lo = R / (A + M);
            *hi = (R + M) / (A + M);
            if (A > 0 && R / A > *hi) *hi = R / A;
            if (A > 0 && R / A < *lo) *lo = R / A;
        }
        return 0;
    }
    if (!strcmp(m, "answered")) {
        *now = K > 0 ? A / K : NAN;
        *lo = total > 0 ? A / total : NAN;
        *hi = total > 0 ? (A + M) / total : NAN;
        return 0;
    }
    double v = !strcmp(m, "right") ? R : !strcmp(m, "wrong") ? (double)s->wrong
                                     : !strcmp(m, "refused") ? (double)s->refused
                                     : !strcmp(m, "could_not_ask") ? (double)s->could_not_ask : K;
    *now = v;
    *lo = v;
    *hi = v + M;
    if (!strcmp(m, "asked")) *lo = *hi = total;
    return 0;
}

/* can the expectation still hold for some value in [lo, hi]? */
static int can_hold(const struct expect *e, double lo, double hi)
{
    if (isnan(lo) || isnan(hi)) return 0;
    switch (e->op) {
    case EXP_LT: return lo < e->num;
    case EXP_LE: return lo <= e->num;
    case EXP_GT: return hi > e->num;
    case EXP_GE: return hi >= e->num;
    case EXP_EQ: return lo <= e->num && e->num <= hi;
    case EXP_NE: return !(lo == hi && lo == e->num);
    }
    return 0;
}

static void fmt_pct(double v, char out[16])
{
    if (isnan(v)) snprintf(out, 16, "n/a");
    else snprintf(out, 16, "%.1f%%", v * 100);
}

static int ac_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct ac_cfg *c = pi->cfg;
    struct ac_state *s = pi->state;
    int64_t t0 = fl_now_ms();
    if (!s) {
        s = fl_calloc(1, sizeof *s);
        s->wrong_cases = json_array();
        s->not_asked = json_array();
        s->refused_cases = json_array();
        s->timeout_ms = c->timeout_ms;
        if (c->seed_mode) {
            const char *dsn = c->dsn;
            if (!dsn) {
                const struct target *t = c->tgt;
                dsn = t && t->spec ? node_str(t->spec, "dsn", NULL) : NULL;
                if (!dsn) {
                    ac_free_state(s);
                    return fl_err(err, "acgme probe: postgres target '%s' has no dsn", c->target ? c->target : "");
                }
            }
            s->db = acgme_db_new(dsn, c->timeout_ms);
            s->conninfo = pg_dsn_no_password(dsn);
        }
        s->ctx = pi->ctx;
        s->name = pi->spec && pi->spec->name ? pi->spec->name : "acgme";
        pi->state = s;
    }
    if (s->npending) retry_cleanups(s);

    /* how many cases by the end of this check */
    int during = pi->spec && pi->spec->timing == PT_DURING;
    long target;
    if (!during) {
        if (s->tried >= s->target_total) s->target_total += c->cases;
        target = s->target_total;
    } else {
        s->target_total = c->cases;
        int64_t span = pi->spec->window_for_ms;
        int64_t every = pi->spec->every_ms > 0 ? pi->spec->every_ms : 1000;
        int64_t el = pi->ctx ? drv_now_ms(pi->ctx) - pi->win_from_ms : 0;
        if (span <= 0 || el + every + s->last_check_ms >= span) {
            target = c->cases;
        } else {
            target = (long)ceil((double)c->cases * (double)(el + every) / (double)span);
            if (target <= s->tried && s->tried < c->cases) target = s->tried + 1;
            if (target > c->cases) target = c->cases;
        }
    }
    long asked_before = s->asked;
    while (s->tried < target && !fl_aborted()) {
        ask_case(pi, s, s->tried);
        /* tables that cannot be seeded: every further case would fail the same way */
        if (c->seed_mode && s->schema_err[0]) break;
    }
    s->last_check_ms = fl_now_ms() - t0;
    if (c->seed_mode && s->schema_err[0] && s->asked == 0)
        return fl_err(err, "acgme probe: %s", s->schema_err);

    long remaining = s->target_total - s->tried;
    if (remaining < 0) remaining = 0;
    int ok = 1;
    char failed[160] = "";
    for (size_t i = 0; i < c->nexps; i++) {
        double lo, hi, now;
        const char *m = c->exps[i].metric ? c->exps[i].metric : "accuracy";
        metric_range(s, m, remaining, &lo, &hi, &now);
        /* a share with nothing to divide is no evidence either way (yet) */
        int holds = remaining ? (isnan(lo) || isnan(hi) || can_hold(&c->exps[i], lo, hi))
                              : (isnan(now) || expect_eval_num(&c->exps[i], now));
        /* accuracy judges answers only: with none (all refused), nothing was answered wrongly */
        if (!strcmp(m, "accuracy") && s->answered == 0) holds = 1;
        if (!holds) {
            ok = 0;
            size_t l = strlen(failed);
            snprintf(failed + l, sizeof failed - l, "%s%s", l ? "; " : "", c->exps[i].text);
        }
    }
    long need = pi->spec ? pi->spec->min_evidence : 1;
    obs->evidence = s->asked - asked_before;
    /* min_evidence: 0 passes nothing asked, not cases that could not be put (could_not_ask) */
    int blind = s->asked == 0 && s->could_not_ask > 0;
    obs->outcome = !ok ? PROBE_FAILED : s->asked >= need && !blind ? PROBE_PASSED : PROBE_INCONCLUSIVE;
    double acc = s->answered ? (double)s->right / (double)s->answered : NAN;
    double ans = s->asked ? (double)s->answered / (double)s->asked : NAN;
    obs->has_value = !isnan(acc);
    obs->value = isnan(acc) ? 0 : acc;
    char a1[16], a2[16];
    fmt_pct(acc, a1);
    if (isnan(acc) && s->asked) snprintf(a1, sizeof a1, "n/a: none");
    fmt_pct(ans, a2);
    struct buf b;
    buf_init(&b, sizeof obs->observed - 1);
    if (obs->outcome == PROBE_INCONCLUSIVE)
        buf_addf(&b, "no evidence: %ld of %ld cases asked (min_evidence %ld); ", s->asked, s->tried, need);
    buf_addf(&b, "{\"asked\": \"%ld/%ld\", \"right\": %ld, \"wrong\": %ld, \"refused\": %ld, \"could_not_ask\": %ld, "
             "\"accuracy\": \"%s\", \"answered\": \"%s\"",
             s->asked, s->target_total, s->right, s->wrong, s->refused, s->could_not_ask, a1, a2);
    buf_adds(&b, ", \"fp/fn\": {");
    for (int r = 0, k = 0; r < ACGME_NRULES; r++) {
        if (r == ACGME_R24_4 && !c->settings.rule_24_4) continue;
        buf_addf(&b, "%s\"%s\": \"%ld/%ld\"", k++ ? ", " : "", acgme_rule_short(r), s->fp[r], s->fn[r]);
    }
    buf_adds(&b, "}");
    if (!ok) buf_addf(&b, ", \"failed\": \"%s\"", failed);
    if (s->first_problem) {
        buf_adds(&b, ", \"first\": ");
        buf_add_json_str(&b, s->first_problem);
    }
    if (!b.overflow) buf_adds(&b, "}");
    snprintf(obs->observed, sizeof obs->observed, "%s", b.data);
    buf_release(&b);
    return 0;
}

/* every count, per-rule TP/FP/FN/TN, the wrong cases (truth vs answer) and the cases that
 * could not be asked; a new reference (run.json's probe "details"); NULL before any check */
json_t *acgme_probe_details(const struct probe_inst *pi)
{
    const struct ac_state *s = pi ? pi->state : NULL;
    const struct ac_cfg *c = pi ? pi->cfg : NULL;
    if (!s || !c) return NULL;
    json_t *rules = json_object();
    for (int r = 0; r < ACGME_NRULES; r++) {
        if (r == ACGME_R24_4 && !c->settings.rule_24_4) continue;
        json_object_set_new(rules, acgme_rule_short(r),
                            json_pack("{s:I, s:I, s:I, s:I}", "tp", (json_int_t)s->tp[r], "fp", (json_int_t)s->fp[r],
                                      "fn", (json_int_t)s->fn[r], "tn", (json_int_t)s->tn[r]));
    }
    if (s->other_fp) json_object_set_new(rules, "unknown_type", json_pack("{s:I}", "fp", (json_int_t)s->other_fp));
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:O, s:I, s:O, s:I}", "deliver",
                          c->seed_mode ? "seed" : "post", "cases", (json_int_t)s->target_total, "asked",
                          (json_int_t)s->asked, "answered", (json_int_t)s->answered, "right", (json_int_t)s->right,
                          "wrong", (json_int_t)s->wrong, "could_not_ask", (json_int_t)s->could_not_ask, "accuracy",
                          s->answered ? json_real((double)s->right / (double)s->answered) : json_null(), "per_rule",
                          rules, "wrong_cases", s->wrong_cases, "wrong_cases_omitted",
                          (json_int_t)(s->wrong - s->wrong_listed), "not_asked", s->not_asked, "not_asked_omitted",
                          (json_int_t)(s->could_not_ask - s->not_asked_listed));
    json_object_set_new(j, "answered_share", s->asked ? json_real((double)s->answered / (double)s->asked) : json_null());
    json_object_set_new(j, "refused", json_integer((json_int_t)s->refused));
    json_object_set_new(j, "refused_cases", json_incref(s->refused_cases));
    json_object_set_new(j, "refused_omitted", json_integer((json_int_t)(s->refused - s->refused_listed)));
    if (c->seed_mode) {
        json_object_set_new(j, "cleanup", json_pack("{s:I, s:I}", "failed_attempts", (json_int_t)s->cleanup_failures,
                                                    "still_pending", (json_int_t)s->npending));
        if (s->schema) json_object_set_new(j, "tables", acgme_schema_json(s->schema));
        else if (s->schema_err[0]) json_object_set_new(j, "tables_error", json_string(s->schema_err));
    }
    return j;
}

/* `faultline rollback`: the rows of a case the dead run seeded (journal_rows' record),
 * deleted where they are still there */
static int ac_reconcile(const json_t *rec, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    const char *tname = json_string_value(json_object_get(rec, "target"));
    const char *dsn = tname ? pg_target_dsn(drv_target_named(ctx, tname), NULL) : NULL;
    if (!dsn) dsn = json_string_value(json_object_get(rec, "conninfo"));
    if (!dsn) return fl_err(err, "the journal record has no connection string: give --plan");
    struct acgme_db *db = acgme_db_new(dsn, 10000);
    char e[FL_ERR_LEN];
    int rc = acgme_seed_delete_json(db, json_object_get(rec, "tables"), report, e);
    acgme_db_free(db);
    if (rc < 0) {
        if (report) buf_addf(report, "  cannot delete the rows it seeded (slot %lld): %s\n",
                             (long long)json_integer_value(json_object_get(rec, "slot")), e);
        return fl_err(err, "the rows the probe seeded may still be there: %s", e);
    }
    return 0;
}

const struct probe_ops probe_acgme = {
    .name = "acgme",
    .summary = "accuracy of an ACGME validation endpoint on generated cases with known answers",
    .params = ac_params,
    .parse = ac_parse,
    .check = ac_check,
    .describe = ac_describe,
    .free_cfg = ac_free_cfg,
    .free_state = ac_free_state,
    .details = acgme_probe_details,
    .journal_kind = "acgme.seed",
    .reconcile = ac_reconcile,
};
