/* acgme_seed.h -- put ACGME cases into the tables a service reads, as those tables are, and
 * take exactly them out again (the `acgme` probe's deliver: seed).
 *
 *   struct acgme_db *db = acgme_db_new(dsn, timeout_ms);          -- connects lazily
 *   struct acgme_schema *sc = acgme_schema_read(db, &map, defs, ndefs, err);
 *       -- the catalog: every mapped table and column must exist and be writable; a NOT
 *          NULL column without a default that neither the mapping nor defaults: fill is an
 *          error naming table and column, before anything is inserted
 *   int free = acgme_slot_free(db, sc, from_day, to_day, err);    -- 1, 0, -1 (1: its
 *                                     advisory lock taken, held until the connection closes)
 *   struct acgme_seeded *sd = acgme_seed_case(db, sc, cs, slot, seed, journal, arg, &unsure, err);
 *       -- one transaction: people, blocks, assignments, then journal(arg, sd) (the ids as
 *          acgme_seeded_json() lists them, written ahead) before COMMIT; NULL = nothing was
 *          inserted
 *   acgme_seeded_id(sd, "fl-acgme-3-...-r1")                     -- a case id's database id
 *   acgme_seed_delete(db, sc, sd, err);                            -- exactly those rows
 *   acgme_seeded_free(sd); acgme_schema_free(sc); acgme_db_free(db);
 *
 * Ids follow each table's id column: `uuid` ids are made from the case's seed, its slot,
 * the table and the row (version 8 UUIDs starting fa11ac9e-, so leftovers can be found
 * with `id::text LIKE 'fa11ac9e-%'`); text ids are the case's own ("fl-acgme-<slot>-<seed
 * hash>-r1", checked against varchar(n)); integer ids with identity, serial or another
 * default are the database's, read back with RETURNING. Unique columns get unique values:
 * a unique name gets the row's key appended, a unique text default without {id} gets it
 * prepended. Rows go in parents first (people, blocks, then assignments) so foreign keys
 * hold, and come out children first.
 *
 * defaults: values are text with placeholders {id} (the row's id, or for database-made
 * ids a unique key like fl-acgme-3-1a2b3c4d-r1), {n} (the row's number in its table
 * within the case, from 1) and {slot}; PostgreSQL converts the text to the column's type.
 */
#ifndef FL_ACGME_SEED_H
#define FL_ACGME_SEED_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include "acgme_ref.h"
#include "buf.h"

/* table and column names of the plan's tables: (a column "" = the table has none: only
 * name, pgy_level and role may be absent) */
struct acgme_map {
    char *people, *p_id, *p_name, *p_type, *p_pgy, *v_resident, *v_faculty;
    char *blocks, *b_id, *b_date, *b_tod, *v_am, *v_pm;
    char *assigns, *a_id, *a_block, *a_person, *a_role;
};

enum acgme_table { ACGME_T_PEOPLE, ACGME_T_BLOCKS, ACGME_T_ASSIGNS, ACGME_T_N };

/* one value of defaults: { people: { email: "fl-{id}@example.invalid" } } */
struct acgme_default {
    enum acgme_table table;
    char *column, *value;
};

/* check a default's placeholders (parse time); 0 or -1 with err */
int acgme_default_check(const char *value, char *err);

/* ---- a database connection with deadlines ----------------------------------------------- */
struct acgme_db;
struct acgme_db *acgme_db_new(const char *dsn, int64_t timeout_ms);
void acgme_db_free(struct acgme_db *db);
/* run sql (one or more statements) within the timeout; the last result (caller PQclear()s)
 * or NULL with err filled. Any failure drops the connection (an open transaction rolls
 * back); the next call connects again. */
PGresult *acgme_db_run(struct acgme_db *db, const char *sql, char *err);
int acgme_db_exec(struct acgme_db *db, const char *sql, char *err);

/* ---- the schema ------------------------------------------------------------------------ */
struct acgme_schema;
struct acgme_schema *acgme_schema_read(struct acgme_db *db, const struct acgme_map *m, const struct acgme_default *defs,
                                       size_t ndefs, char *err);
void acgme_schema_free(struct acgme_schema *sc);
/* how each table is filled: { people: { id: "uuid", columns: [...], defaults: {...} }, ..., ignored_defaults } */
json_t *acgme_schema_json(const struct acgme_schema *sc);
/* 1 when people's or blocks' ids are uuids (answers' uuids are compared in lower case) */
int acgme_schema_uuid_ids(const struct acgme_schema *sc);

/* is [from, to] (days) free of blocks? 1 yes, 0 no, -1 could not tell (err) */
int acgme_slot_free(struct acgme_db *db, const struct acgme_schema *sc, int32_t from, int32_t to, char *err);

/* ---- one seeded case ------------------------------------------------------------------- */
struct acgme_seeded;
/* called inside the case's transaction, after every row is inserted (its id known) and
 * before COMMIT: the write-ahead point. -1 with err: the transaction is rolled back */
typedef int (*acgme_before_commit)(void *arg, const struct acgme_seeded *sd, char *err);
/* NULL with err: nothing was inserted. Else the rows; *unsure = 1 (err filled) when the
 * commit went unanswered: they may or may not be there, delete them to be sure.
 * before_commit may be NULL. */
struct acgme_seeded *acgme_seed_case(struct acgme_db *db, const struct acgme_schema *sc, const struct acgme_case *cs,
                                     int slot, uint64_t seed, acgme_before_commit before_commit, void *arg, int *unsure,
                                     char *err);
/* the rows as a journal holds them: [{role, table, id_column, ids: [...]}, ...], parents
 * first (people, blocks, assignments) */
json_t *acgme_seeded_json(const struct acgme_schema *sc, const struct acgme_seeded *sd);
/* `faultline rollback`: delete the rows acgme_seeded_json() listed, children first, in one
 * transaction; per table a line "  table 'x': 3 of the 8 row(s) ... deleted" (or none
 * there) added to report (may be NULL). 0, or -1 with err (nothing deleted) */
int acgme_seed_delete_json(struct acgme_db *db, const json_t *tables, struct buf *report, char *err);
const char *acgme_seeded_id(const struct acgme_seeded *sd, const char *case_id);
size_t acgme_seeded_rows(const struct acgme_seeded *sd);
/* "people 'fa11ac9e-...', ... (16 rows)" for messages */
void acgme_seeded_describe(const struct acgme_seeded *sd, char *out, size_t n);
int acgme_seed_delete(struct acgme_db *db, const struct acgme_schema *sc, const struct acgme_seeded *sd, char *err);
void acgme_seeded_free(struct acgme_seeded *sd);

/* the uuid faultline gives row `row` of table t of a case (exposed for tests) */
void acgme_seed_uuid(enum acgme_table t, int slot, uint64_t seed, long row, char out[37]);

#endif
