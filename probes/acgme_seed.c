/* acgme_seed.c -- ACGME cases into the service's own tables and out again (acgme_seed.h):
 * the catalog read once per probe, ids made for each table's id type, one transaction per
 * case, exact deletes. */
#include "acgme_seed.h"

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fl.h"

/* ---- the connection --------------------------------------------------------------------- */

struct acgme_db {
    PGconn *pg;
    char *dsn;             /* never printed */
    int64_t timeout_ms;
};

struct acgme_db *acgme_db_new(const char *dsn, int64_t timeout_ms)
{
    struct acgme_db *db = fl_calloc(1, sizeof *db);
    db->dsn = fl_strdup(dsn);
    db->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    return db;
}

static void db_drop(struct acgme_db *db)
{
    if (db->pg) PQfinish(db->pg);
    db->pg = NULL;
}

void acgme_db_free(struct acgme_db *db)
{
    if (!db) return;
    db_drop(db);
    free(db->dsn);
    free(db);
}

static void first_line(char *m)
{
    m[strcspn(m, "\n")] = '\0';
    fl_redact(m);
}

static int db_connect(struct acgme_db *db, char *err)
{
    if (db->pg) return 0;
    const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
    char ct[32];
    snprintf(ct, sizeof ct, "%d", (int)((db->timeout_ms + 999) / 1000 % 100000));
    const char *vals[] = { db->dsn, ct, "faultline-acgme", NULL };
    db->pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(db->pg) != CONNECTION_OK) {
        char m[256];
        snprintf(m, sizeof m, "%s", PQerrorMessage(db->pg));
        first_line(m);
        db_drop(db);
        return fl_err(err, "cannot connect to the database: %s", m);
    }
    return 0;
}

PGresult *acgme_db_run(struct acgme_db *db, const char *sql, char *err)
{
    if (db_connect(db, err) < 0) return NULL;
    if (!PQsendQuery(db->pg, sql)) {
        char m[256];
        snprintf(m, sizeof m, "%s", PQerrorMessage(db->pg));
        first_line(m);
        fl_err(err, "database: %s", m);
        db_drop(db);
        return NULL;
    }
    int64_t deadline = fl_now_ms() + db->timeout_ms;
    PGresult *last = NULL;
    for (;;) {
        while (!PQisBusy(db->pg)) {
            PGresult *r = PQgetResult(db->pg);
            if (!r) goto done;
            if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
                char m[300];
                snprintf(m, sizeof m, "%s", PQresultErrorMessage(r));
                first_line(m);
                fl_err(err, "database: %s", m);
                PQclear(r);
                if (last) PQclear(last);
                db_drop(db);
                return NULL;
            }
            if (last) PQclear(last);
            last = r;
        }
        int64_t left = deadline - fl_now_ms();
        if (left <= 0) {
            fl_err(err, "database: no answer within %lldms", (long long)db->timeout_ms);
            if (last) PQclear(last);
            db_drop(db);
            return NULL;
        }
        struct pollfd pfd = { .fd = PQsocket(db->pg), .events = POLLIN };
        if (poll(&pfd, 1, (int)(left > 200 ? 200 : left)) < 0 && !fl_aborted()) continue;
        if (!PQconsumeInput(db->pg)) {
            char m[256];
            snprintf(m, sizeof m, "%s", PQerrorMessage(db->pg));
            first_line(m);
            fl_err(err, "database: %s", m);
            if (last) PQclear(last);
            db_drop(db);
            return NULL;
        }
    }
done:
    if (!last) last = PQmakeEmptyPGresult(db->pg, PGRES_COMMAND_OK);
    return last;
}

int acgme_db_exec(struct acgme_db *db, const char *sql, char *err)
{
    PGresult *r = acgme_db_run(db, sql, err);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

/* quoting without a connection (standard_conforming_strings, the default since 9.1, is
 * what E'' would otherwise need): identifiers double their ", literals their ' */
static void add_ident(struct buf *b, const char *name)
{
    buf_addc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') buf_addc(b, '"');
        buf_addc(b, *p);
    }
    buf_addc(b, '"');
}

/* a table name, "schema.table" quoted part by part */
static void add_table(struct buf *b, const char *name)
{
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || !dot[1]) {
        add_ident(b, name);
        return;
    }
    char *schema = fl_strndup(name, (size_t)(dot - name));
    add_ident(b, schema);
    free(schema);
    buf_addc(b, '.');
    add_ident(b, dot + 1);
}

static void add_lit(struct buf *b, const char *v)
{
    if (!v) {
        buf_adds(b, "NULL");
        return;
    }
    int bs = strchr(v, '\\') != NULL;
    buf_adds(b, bs ? "E'" : "'");
    for (const char *p = v; *p; p++) {
        if (*p == '\'') buf_addc(b, '\'');
        if (*p == '\\') buf_addc(b, '\\');
        buf_addc(b, *p);
    }
    buf_addc(b, '\'');
}

/* ---- defaults ---------------------------------------------------------------------------- */

static const char *const placeholders[] = { "id", "n", "slot", NULL };

int acgme_default_check(const char *value, char *err)
{
    for (const char *p = value; p && (p = strchr(p, '{'));) {
        const char *e = strchr(p, '}');
        if (!e) return fl_err(err, "'%s': '{' without '}' (placeholders are {id}, {n}, {slot})", value);
        size_t n = (size_t)(e - p - 1);
        int known = 0;
        for (size_t i = 0; placeholders[i]; i++)
            if (strlen(placeholders[i]) == n && !strncmp(p + 1, placeholders[i], n)) known = 1;
        if (!known)
            return fl_err(err, "'%s': unknown placeholder '{%.*s}' (known: {id}, {n}, {slot})", value, (int)n, p + 1);
        p = e + 1;
    }
    return 0;
}

static void expand_tmpl(struct buf *out, const char *tmpl, const char *id, long n, int slot)
{
    for (const char *p = tmpl; *p;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (e) {
                size_t len = (size_t)(e - p - 1);
                if (len == 2 && !strncmp(p + 1, "id", 2)) buf_adds(out, id);
                else if (len == 1 && p[1] == 'n') buf_addf(out, "%ld", n);
                else if (len == 4 && !strncmp(p + 1, "slot", 4)) buf_addf(out, "%d", slot);
                else buf_add(out, p, (size_t)(e - p + 1));
                p = e + 1;
                continue;
            }
        }
        buf_addc(out, *p++);
    }
}

/* ---- the schema -------------------------------------------------------------------------- */

enum src { SRC_ID, SRC_NAME, SRC_TYPE, SRC_PGY, SRC_DATE, SRC_TOD, SRC_BLOCK, SRC_PERSON, SRC_ROLE, SRC_TMPL };
enum idmode { ID_UUID, ID_TEXT, ID_DB };

struct col {
    char *name, *type, *base;
    char cat;
    int notnull, hasdef, identity, generated, unique, maxlen;
};

struct fill {
    char *column;
    enum src src;
    char *tmpl;        /* SRC_TMPL: the default's value; SRC_NAME of a unique column: "{name} {key}" */
    int unique_key;    /* SRC_NAME: append the row's key */
};

struct tbl {
    char *name, *idcol;
    struct col *cols;
    size_t ncols;
    enum idmode id;
    int id_maxlen;
    struct fill *fills;
    size_t nfills;
};

struct acgme_schema {
    struct tbl t[ACGME_T_N];
    char *v_resident, *v_faculty, *v_am, *v_pm;
    json_t *ignored;   /* defaults for columns the table does not have */
};

static const char *const table_role[ACGME_T_N] = { "people", "blocks", "assignments" };

static void tbl_release(struct tbl *t)
{
    free(t->name);
    free(t->idcol);
    for (size_t i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].type);
        free(t->cols[i].base);
    }
    free(t->cols);
    for (size_t i = 0; i < t->nfills; i++) {
        free(t->fills[i].column);
        free(t->fills[i].tmpl);
    }
    free(t->fills);
}

void acgme_schema_free(struct acgme_schema *sc)
{
    if (!sc) return;
    for (int i = 0; i < ACGME_T_N; i++) tbl_release(&sc->t[i]);
    free(sc->v_resident);
    free(sc->v_faculty);
    free(sc->v_am);
    free(sc->v_pm);
    json_decref(sc->ignored);
    free(sc);
}

static struct col *find_col(struct tbl *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->cols[i].name, name)) return &t->cols[i];
    return NULL;
}

static void col_list(const struct tbl *t, char *out, size_t n)
{
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < t->ncols && used + 8 < n; i++) {
        int k = snprintf(out + used, n - used, "%s%s", i ? ", " : "", t->cols[i].name);
        if (k < 0 || (size_t)k >= n - used) break;
        used += (size_t)k;
    }
}

/* the columns of one table from the catalog, with the privileges faultline needs */
static int read_table(struct acgme_db *db, struct tbl *t, const char *role, char *err)
{
    struct buf q, name;
    buf_init(&q, 1 << 16);
    buf_init(&name, 4096);
    add_table(&name, t->name);
    buf_adds(&q, "SELECT a.attname, format_type(a.atttypid, a.atttypmod), bt.typcategory, bt.typname, a.attnotnull, "
                 "a.atthasdef, a.attidentity <> '', a.attgenerated <> '', "
                 "CASE WHEN bt.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 ELSE -1 END, "
                 "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique "
                 "AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum), "
                 "has_table_privilege(a.attrelid, 'INSERT'), has_table_privilege(a.attrelid, 'DELETE'), "
                 "has_table_privilege(a.attrelid, 'SELECT') "
                 "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                 "JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
                 "WHERE a.attrelid = to_regclass(");
    add_lit(&q, name.data);
    buf_adds(&q, ") AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum");
    buf_release(&name);
    char e[FL_ERR_LEN];
    PGresult *r = acgme_db_run(db, q.data, e);
    buf_release(&q);
    if (!r) return fl_err(err, "cannot read the columns of '%s': %s", t->name, e);
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        return fl_err(err, "cannot seed the %s: table '%s' does not exist (or faultline's database user cannot see it); "
                      "name it with tables: { %s: { table: ... } }", role, t->name, role);
    }
    if (strcmp(PQgetvalue(r, 0, 10), "t") || strcmp(PQgetvalue(r, 0, 11), "t") || strcmp(PQgetvalue(r, 0, 12), "t")) {
        const char *miss = strcmp(PQgetvalue(r, 0, 10), "t") ? "INSERT" : strcmp(PQgetvalue(r, 0, 11), "t") ? "DELETE" : "SELECT";
        PQclear(r);
        return fl_err(err, "cannot seed the %s: faultline's database user may not %s %s '%s' (it needs SELECT, INSERT "
                      "and DELETE)", role, miss, strcmp(miss, "INSERT") ? "on" : "into", t->name);
    }
    t->cols = fl_calloc((size_t)n, sizeof *t->cols);
    t->ncols = (size_t)n;
    for (int i = 0; i < n; i++) {
        struct col *c = &t->cols[i];
        c->name = fl_strdup(PQgetvalue(r, i, 0));
        c->type = fl_strdup(PQgetvalue(r, i, 1));
        c->cat = PQgetvalue(r, i, 2)[0];
        c->base = fl_strdup(PQgetvalue(r, i, 3));
        c->notnull = !strcmp(PQgetvalue(r, i, 4), "t");
        c->hasdef = !strcmp(PQgetvalue(r, i, 5), "t");
        c->identity = !strcmp(PQgetvalue(r, i, 6), "t");
        c->generated = !strcmp(PQgetvalue(r, i, 7), "t");
        c->maxlen = atoi(PQgetvalue(r, i, 8));
        c->unique = !strcmp(PQgetvalue(r, i, 9), "t");
    }
    PQclear(r);
    return 0;
}

/* a mapped column must exist (name, pgy_level and role may be mapped to "" = none) */
static int need_col(struct tbl *t, const char *role, const char *key, const char *col, int optional, struct col **out,
                    char *err)
{
    *out = NULL;
    if (!col[0]) {
        if (optional) return 0;
        return fl_err(err, "cannot seed the %s: tables: %s: %s: cannot be empty", role, role, key);
    }
    *out = find_col(t, col);
    if (*out) return 0;
    char cols[512];
    col_list(t, cols, sizeof cols);
    return fl_err(err, "cannot seed the %s: table '%s' has no column '%s' (its columns: %s); map it with tables: { %s: { %s: "
                  "... } }%s", role, t->name, col, cols, role, key, optional ? " or \"\" for none" : "");
}

static void add_fill(struct tbl *t, const char *column, enum src src, const char *tmpl)
{
    t->fills = fl_realloc(t->fills, (t->nfills + 1) * sizeof *t->fills);
    t->fills[t->nfills++] = (struct fill){ fl_strdup(column), src, tmpl ? fl_strdup(tmpl) : NULL, 0 };
}

/* the id column decides how ids are made */
static int id_mode(struct tbl *t, const char *role, struct col *c, char *err)
{
    t->idcol = fl_strdup(c->name);
    t->id_maxlen = c->maxlen;
    if (!strcmp(c->base, "uuid")) {
        t->id = ID_UUID;
        return 0;
    }
    if (c->cat == 'S' && !c->identity && !c->generated) {
        /* text: the case's own ids; a column too short for them (or char(n), which pads)
         * takes the 36-character uuid form */
        t->id = ID_TEXT;
        if (!strcmp(c->base, "bpchar") || (c->maxlen >= 0 && c->maxlen < 48)) {
            if (c->maxlen == 36 || (c->maxlen > 36 && strcmp(c->base, "bpchar"))) {
                t->id = ID_UUID;
                return 0;
            }
            return fl_err(err, "cannot seed the %s: id column '%s.%s' is %s, too short for faultline's ids (a uuid "
                          "takes 36 characters)", role, t->name, c->name, c->type);
        }
        return 0;
    }
    if (c->identity || c->hasdef) {
        t->id = ID_DB; /* the database's own: integer identity, serial, or another default */
        return 0;
    }
    return fl_err(err, "cannot seed the %s: id column '%s.%s' is %s without a default: faultline makes ids for uuid and "
                  "text columns, and takes them from the database (RETURNING) for identity, serial or other defaults",
                  role, t->name, c->name, c->type);
}

static int is_mapped(const struct tbl *t, const char *column)
{
    for (size_t i = 0; i < t->nfills; i++)
        if (!strcmp(t->fills[i].column, column)) return 1;
    return !strcmp(t->idcol, column);
}

static int plan_table(struct acgme_schema *sc, enum acgme_table k, const struct acgme_map *m,
                      const struct acgme_default *defs, size_t ndefs, char *err)
{
    struct tbl *t = &sc->t[k];
    const char *role = table_role[k];
    struct col *c;
    const char *idname = k == ACGME_T_PEOPLE ? m->p_id : k == ACGME_T_BLOCKS ? m->b_id : m->a_id;
    if (need_col(t, role, "id", idname, 0, &c, err) < 0) return -1;
    if (id_mode(t, role, c, err) < 0) return -1;
    if (t->id != ID_DB) add_fill(t, c->name, SRC_ID, NULL);
    struct mapped { const char *key, *col; enum src src; int optional; } want[4];
    int nw = 0;
    if (k == ACGME_T_PEOPLE) {
        want[nw++] = (struct mapped){ "name", m->p_name, SRC_NAME, 1 };
        want[nw++] = (struct mapped){ "type", m->p_type, SRC_TYPE, 0 };
        want[nw++] = (struct mapped){ "pgy_level", m->p_pgy, SRC_PGY, 1 };
    } else if (k == ACGME_T_BLOCKS) {
        want[nw++] = (struct mapped){ "date", m->b_date, SRC_DATE, 0 };
        want[nw++] = (struct mapped){ "time_of_day", m->b_tod, SRC_TOD, 0 };
    } else {
        want[nw++] = (struct mapped){ "block_id", m->a_block, SRC_BLOCK, 0 };
        want[nw++] = (struct mapped){ "person_id", m->a_person, SRC_PERSON, 0 };
        want[nw++] = (struct mapped){ "role", m->a_role, SRC_ROLE, 1 };
    }
    for (int i = 0; i < nw; i++) {
        if (need_col(t, role, want[i].key, want[i].col, want[i].optional, &c, err) < 0) return -1;
        if (!c) continue;
        add_fill(t, c->name, want[i].src, NULL);
        /* a unique name: each row's key makes it unique */
        if (want[i].src == SRC_NAME && c->unique) t->fills[t->nfills - 1].unique_key = 1;
    }
    for (size_t i = 0; i < ndefs; i++) {
        if (defs[i].table != k) continue;
        c = find_col(t, defs[i].column);
        if (!c) { /* a plan written for several schema versions: noted, not an error */
            char *w = fl_asprintf("%s.%s", role, defs[i].column);
            json_array_append_new(sc->ignored, json_string(w));
            free(w);
            continue;
        }
        if (is_mapped(t, c->name))
            return fl_err(err, "defaults: %s: '%s' is a column faultline fills itself (tables: %s)", role, c->name, role);
        if (c->generated)
            return fl_err(err, "defaults: %s: '%s' is a generated column: it takes no value", role, c->name);
        const char *v = defs[i].value;
        char *made = NULL;
        if (c->unique && !strstr(v, "{id}")) {
            /* unique columns get unique values */
            if (c->cat != 'S')
                return fl_err(err, "defaults: %s: '%s' is unique (%s): its value needs {id} to differ per row", role, c->name,
                              c->type);
            made = fl_asprintf("{id}-%s", v);
            v = made;
        }
        add_fill(t, c->name, SRC_TMPL, v);
        free(made);
    }
    /* what the table needs and nobody fills: an error (naming every such column) before
     * anything is inserted */
    struct buf cols, keys;
    buf_init(&cols, 1024);
    buf_init(&keys, 1024);
    size_t missing = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        c = &t->cols[i];
        if (!c->notnull || c->hasdef || c->identity || c->generated || is_mapped(t, c->name)) continue;
        buf_addf(&cols, "%s'%s.%s' (%s)", missing ? ", " : "", t->name, c->name, c->type);
        buf_addf(&keys, "%s%s: \"...\"", missing ? ", " : "", c->name);
        missing++;
    }
    int rc = 0;
    if (missing)
        rc = fl_err(err, "cannot seed the %s: column%s %s %s NOT NULL without a default, and neither tables: nor defaults: "
                    "give %s a value; add defaults: { %s: { %s } } (placeholders {id}, {n}, {slot})", role,
                    missing == 1 ? "" : "s", cols.data, missing == 1 ? "is" : "are", missing == 1 ? "it" : "them", role,
                    keys.data);
    buf_release(&cols);
    buf_release(&keys);
    return rc;
}

struct acgme_schema *acgme_schema_read(struct acgme_db *db, const struct acgme_map *m, const struct acgme_default *defs,
                                       size_t ndefs, char *err)
{
    struct acgme_schema *sc = fl_calloc(1, sizeof *sc);
    sc->ignored = json_array();
    sc->v_resident = fl_strdup(m->v_resident);
    sc->v_faculty = fl_strdup(m->v_faculty);
    sc->v_am = fl_strdup(m->v_am);
    sc->v_pm = fl_strdup(m->v_pm);
    const char *names[ACGME_T_N] = { m->people, m->blocks, m->assigns };
    for (int k = 0; k < ACGME_T_N; k++) {
        sc->t[k].name = fl_strdup(names[k]);
        if (read_table(db, &sc->t[k], table_role[k], err) < 0 || plan_table(sc, (enum acgme_table)k, m, defs, ndefs, err) < 0) {
            acgme_schema_free(sc);
            return NULL;
        }
    }
    return sc;
}

json_t *acgme_schema_json(const struct acgme_schema *sc)
{
    static const char *const mode[] = { "uuid (made by faultline: fa11ac9e-...)", "text (made by faultline: fl-acgme-...)",
                                        "the database's (RETURNING)" };
    json_t *j = json_object();
    for (int k = 0; k < ACGME_T_N; k++) {
        const struct tbl *t = &sc->t[k];
        json_t *cols = json_array(), *defs = json_object();
        for (size_t i = 0; i < t->nfills; i++) {
            json_array_append_new(cols, json_string(t->fills[i].column));
            if (t->fills[i].src == SRC_TMPL) json_object_set_new(defs, t->fills[i].column, json_string(t->fills[i].tmpl));
        }
        json_object_set_new(j, table_role[k], json_pack("{s:s, s:s, s:s, s:o, s:o}", "table", t->name, "id_column", t->idcol,
                                                        "ids", mode[t->id], "columns", cols, "defaults", defs));
    }
    json_object_set_new(j, "ignored_defaults", json_incref(sc->ignored));
    return j;
}

int acgme_schema_uuid_ids(const struct acgme_schema *sc)
{
    return sc && (sc->t[ACGME_T_PEOPLE].id == ID_UUID || sc->t[ACGME_T_BLOCKS].id == ID_UUID);
}

/* the advisory lock of a slot: class 'flac', the slot's first day. Held by the session
 * that seeds the slot (until its connection closes), so that two faultline processes on
 * one database never seed the same dates: the process-wide slot counter is per process. */
#define ACGME_LOCK_CLASS 1718378851

static int slot_lock(struct acgme_db *db, int32_t from, int take, char *err)
{
    char q[128];
    snprintf(q, sizeof q, "SELECT %s(%d, %d)", take ? "pg_try_advisory_lock" : "pg_advisory_unlock", ACGME_LOCK_CLASS,
             (int)from);
    PGresult *r = acgme_db_run(db, q, err);
    if (!r) return -1;
    int got = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return got;
}

int acgme_slot_free(struct acgme_db *db, const struct acgme_schema *sc, int32_t from, int32_t to, char *err)
{
    /* another faultline process seeds this slot: not free */
    int got = slot_lock(db, from, 1, err);
    if (got <= 0) return got;
    const struct tbl *b = &sc->t[ACGME_T_BLOCKS];
    const char *date_col = NULL;
    for (size_t i = 0; i < b->nfills; i++)
        if (b->fills[i].src == SRC_DATE) date_col = b->fills[i].column;
    char d0[16], d1[16];
    acgme_fmt_date(from, d0);
    acgme_fmt_date(to, d1);
    struct buf q;
    buf_init(&q, 4096);
    buf_adds(&q, "SELECT count(*) FROM ");
    add_table(&q, b->name);
    buf_adds(&q, " WHERE ");
    add_ident(&q, date_col ? date_col : "date");
    buf_addf(&q, " BETWEEN '%s' AND '%s'", d0, d1);
    PGresult *r = acgme_db_run(db, q.data, err);
    buf_release(&q);
    if (!r) return -1;
    int free_ = PQntuples(r) == 1 && atol(PQgetvalue(r, 0, 0)) == 0;
    PQclear(r);
    if (!free_ && slot_lock(db, from, 0, err) < 0) return -1;
    return free_;
}

/* ---- ids --------------------------------------------------------------------------------- */

void acgme_seed_uuid(enum acgme_table t, int slot, uint64_t seed, long row, char out[37])
{
    /* fa11ac9e-TSSS-8SSS-VRRR-RRRRHHHHHHHH: T the table (1..3), S 24 bits of slot, version 8
     * (RFC 9562: custom), V the variant (10) and 14 bits of row, R 16 more bits of row, H
     * 32 bits of the seed's hash */
    uint64_t st = seed;
    uint32_t h = (uint32_t)fl_splitmix64(&st);
    uint32_t s = (uint32_t)slot & 0xffffffu;
    uint32_t r = (uint32_t)row & 0x3fffffffu;
    snprintf(out, 37, "fa11ac9e-%01x%03x-8%03x-%04x-%04x%08x", (unsigned)(t + 1) & 0xf, (s >> 12) & 0xfff, s & 0xfff,
             0x8000u | ((r >> 16) & 0x3fff), r & 0xffff, h);
}

struct id_pair {
    const char *case_id, *db_id;
};

struct acgme_seeded {
    char **ids[ACGME_T_N];       /* the rows put in, as the database shows their ids */
    size_t n[ACGME_T_N];
    struct id_pair *index;       /* people's and blocks' case ids -> database ids, sorted */
    size_t nindex;
    char **case_ids;             /* owned copies of the case ids the index points at */
};

void acgme_seeded_free(struct acgme_seeded *sd)
{
    if (!sd) return;
    for (int k = 0; k < ACGME_T_N; k++) {
        for (size_t i = 0; i < sd->n[k]; i++) free(sd->ids[k][i]);
        free(sd->ids[k]);
    }
    for (size_t i = 0; i < sd->nindex; i++) free(sd->case_ids[i]);
    free(sd->case_ids);
    free(sd->index);
    free(sd);
}

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const struct id_pair *)a)->case_id, ((const struct id_pair *)b)->case_id);
}

/* after people and blocks are in: the index of their ids */
static void build_index(struct acgme_seeded *sd, const struct acgme_case *cs)
{
    size_t n = sd->n[0] + sd->n[1];
    sd->index = fl_calloc(n ? n : 1, sizeof *sd->index);
    sd->case_ids = fl_calloc(n ? n : 1, sizeof *sd->case_ids);
    for (size_t i = 0; i < sd->n[0]; i++) {
        sd->case_ids[sd->nindex] = fl_strdup(cs->people[i].id);
        sd->index[sd->nindex] = (struct id_pair){ sd->case_ids[sd->nindex], sd->ids[0][i] };
        sd->nindex++;
    }
    for (size_t i = 0; i < sd->n[1]; i++) {
        sd->case_ids[sd->nindex] = fl_strdup(cs->blocks[i].id);
        sd->index[sd->nindex] = (struct id_pair){ sd->case_ids[sd->nindex], sd->ids[1][i] };
        sd->nindex++;
    }
    qsort(sd->index, sd->nindex, sizeof *sd->index, pair_cmp);
}

size_t acgme_seeded_rows(const struct acgme_seeded *sd)
{
    return sd ? sd->n[0] + sd->n[1] + sd->n[2] : 0;
}

void acgme_seeded_describe(const struct acgme_seeded *sd, char *out, size_t n)
{
    snprintf(out, n, "%zu people from '%s', %zu blocks from '%s', %zu assignments", sd->n[0],
             sd->n[0] ? sd->ids[0][0] : "-", sd->n[1], sd->n[1] ? sd->ids[1][0] : "-", sd->n[2]);
}

const char *acgme_seeded_id(const struct acgme_seeded *sd, const char *case_id)
{
    if (!sd || !sd->nindex || !case_id) return NULL;
    struct id_pair key = { case_id, NULL };
    const struct id_pair *p = bsearch(&key, sd->index, sd->nindex, sizeof *sd->index, pair_cmp);
    return p ? p->db_id : NULL;
}

/* the id faultline gives a row (NULL: the database makes it) */
static char *row_id(const struct tbl *t, enum acgme_table k, const char *case_id, int slot, uint64_t seed, long row)
{
    if (t->id == ID_DB) return NULL;
    if (t->id == ID_UUID) {
        char u[37];
        acgme_seed_uuid(k, slot, seed, row, u);
        return fl_strdup(u);
    }
    return fl_strdup(case_id);
}

static void add_value(struct buf *b, const struct fill *f, const struct acgme_schema *sc, const char *id, const char *key,
                      long n, int slot, const struct acgme_case *cs, size_t i, const struct acgme_seeded *sd)
{
    char tmp[64];
    struct buf v;
    switch (f->src) {
    case SRC_ID: add_lit(b, id); break;
    case SRC_NAME: {
        const char *name = cs->people[i].name ? cs->people[i].name : "";
        if (!f->unique_key) { add_lit(b, name); break; }
        buf_init(&v, 4096);
        buf_addf(&v, "%s %s", name, key);
        add_lit(b, v.data);
        buf_release(&v);
        break;
    }
    case SRC_TYPE: add_lit(b, cs->people[i].type == ACGME_RESIDENT ? sc->v_resident : sc->v_faculty); break;
    case SRC_PGY:
        snprintf(tmp, sizeof tmp, "%d", cs->people[i].pgy);
        add_lit(b, cs->people[i].type == ACGME_RESIDENT ? tmp : NULL);
        break;
    case SRC_DATE:
        acgme_fmt_date(cs->blocks[i].day, tmp);
        add_lit(b, tmp);
        break;
    case SRC_TOD: add_lit(b, cs->blocks[i].tod == ACGME_PM ? sc->v_pm : sc->v_am); break;
    case SRC_BLOCK: add_lit(b, acgme_seeded_id(sd, cs->assigns[i].block_id)); break;
    case SRC_PERSON: add_lit(b, acgme_seeded_id(sd, cs->assigns[i].person_id)); break;
    case SRC_ROLE: add_lit(b, cs->assigns[i].role ? cs->assigns[i].role : "primary"); break;
    case SRC_TMPL:
        buf_init(&v, 4096);
        expand_tmpl(&v, f->tmpl, id ? id : key, n, slot);
        add_lit(b, v.data);
        buf_release(&v);
        break;
    }
}

/* INSERT one table's rows RETURNING their ids into sd; 0 or -1 */
static int insert_table(struct acgme_db *db, const struct acgme_schema *sc, enum acgme_table k, const struct acgme_case *cs,
                        int slot, uint64_t seed, struct acgme_seeded *sd, char *err)
{
    const struct tbl *t = &sc->t[k];
    size_t rows = k == ACGME_T_PEOPLE ? cs->npeople : k == ACGME_T_BLOCKS ? cs->nblocks : cs->nassigns;
    if (!rows) return 0;
    struct buf b;
    buf_init(&b, 64u << 20);
    buf_adds(&b, "INSERT INTO ");
    add_table(&b, t->name);
    buf_adds(&b, " (");
    for (size_t f = 0; f < t->nfills; f++) {
        if (f) buf_adds(&b, ", ");
        add_ident(&b, t->fills[f].column);
    }
    buf_adds(&b, ") VALUES ");
    for (size_t i = 0; i < rows; i++) {
        const char *case_id = k == ACGME_T_PEOPLE ? cs->people[i].id : k == ACGME_T_BLOCKS ? cs->blocks[i].id
                                                                                            : cs->assigns[i].id;
        char *id = row_id(t, k, case_id, slot, seed, (long)i + 1);
        if (id && t->id_maxlen >= 0 && strlen(id) > (size_t)t->id_maxlen) {
            fl_err(err, "cannot seed the %s: id '%s' is longer than '%s.%s' allows (%d)", table_role[k], id, t->name,
                   t->idcol, t->id_maxlen);
            free(id);
            buf_release(&b);
            return -1;
        }
        buf_adds(&b, i ? ", (" : "(");
        for (size_t f = 0; f < t->nfills; f++) {
            if (f) buf_adds(&b, ", ");
            add_value(&b, &t->fills[f], sc, id, case_id ? case_id : "", (long)i + 1, slot, cs, i, sd);
        }
        buf_adds(&b, ")");
        free(id);
    }
    buf_adds(&b, " RETURNING ");
    add_ident(&b, t->idcol);
    buf_adds(&b, "::text");
    if (b.overflow) {
        buf_release(&b);
        return fl_err(err, "the case is too large to insert");
    }
    PGresult *r = acgme_db_run(db, b.data, err);
    buf_release(&b);
    if (!r) return -1;
    if ((size_t)PQntuples(r) != rows) {
        fl_err(err, "inserting into '%s' returned %d rows for %zu", t->name, PQntuples(r), rows);
        PQclear(r);
        return -1;
    }
    sd->ids[k] = fl_calloc(rows, sizeof *sd->ids[k]);
    for (size_t i = 0; i < rows; i++) sd->ids[k][i] = fl_strdup(PQgetvalue(r, (int)i, 0));
    sd->n[k] = rows;
    PQclear(r);
    return 0;
}

struct acgme_seeded *acgme_seed_case(struct acgme_db *db, const struct acgme_schema *sc, const struct acgme_case *cs,
                                     int slot, uint64_t seed, acgme_before_commit before_commit, void *arg, int *unsure,
                                     char *err)
{
    struct acgme_seeded *sd = fl_calloc(1, sizeof *sd);
    *unsure = 0;
    if (acgme_db_exec(db, "BEGIN", err) < 0) goto fail;
    for (int k = 0; k < ACGME_T_N; k++) {
        if (insert_table(db, sc, (enum acgme_table)k, cs, slot, seed, sd, err) < 0) goto fail;
        if (k == ACGME_T_BLOCKS) build_index(sd, cs);
    }
    /* write-ahead: every row's id is known now (RETURNING) and none lasts before COMMIT; a
     * process that dies here takes the open transaction with its connection */
    if (before_commit && before_commit(arg, sd, err) < 0) goto fail;
    if (acgme_db_exec(db, "COMMIT", err) < 0) {
        /* the rows may or may not be there: the caller deletes them to be sure */
        char e[FL_ERR_LEN];
        snprintf(e, sizeof e, "%s", err);
        fl_err(err, "the commit of the case's rows went unanswered (%.400s)", e);
        *unsure = 1;
        return sd;
    }
    return sd;
fail:
    /* the failed statement dropped the connection: the transaction rolled back */
    if (db->pg) {
        char e[FL_ERR_LEN];
        acgme_db_exec(db, "ROLLBACK", e);
    }
    acgme_seeded_free(sd);
    return NULL;
}

int acgme_seed_delete(struct acgme_db *db, const struct acgme_schema *sc, const struct acgme_seeded *sd, char *err)
{
    struct buf b;
    buf_init(&b, 64u << 20);
    /* children first: assignments, then blocks and people */
    for (int k = ACGME_T_N - 1; k >= 0; k--) {
        if (!sd->n[k]) continue;
        buf_adds(&b, "DELETE FROM ");
        add_table(&b, sc->t[k].name);
        buf_adds(&b, " WHERE ");
        add_ident(&b, sc->t[k].idcol);
        buf_adds(&b, " IN (");
        for (size_t i = 0; i < sd->n[k]; i++) {
            if (i) buf_adds(&b, ", ");
            add_lit(&b, sd->ids[k][i]);
        }
        buf_adds(&b, ");");
    }
    int rc = 0;
    if (b.overflow) rc = fl_err(err, "the delete of a case is too large");
    else if (b.len) rc = acgme_db_exec(db, b.data, err);
    buf_release(&b);
    return rc;
}

json_t *acgme_seeded_json(const struct acgme_schema *sc, const struct acgme_seeded *sd)
{
    json_t *tables = json_array();
    for (int k = 0; k < ACGME_T_N; k++) {
        json_t *ids = json_array();
        for (size_t i = 0; i < sd->n[k]; i++) json_array_append_new(ids, json_string(sd->ids[k][i]));
        json_array_append_new(tables, json_pack("{s:s, s:s, s:s, s:o}", "role", table_role[k], "table", sc->t[k].name,
                                                "id_column", sc->t[k].idcol, "ids", ids));
    }
    return tables;
}

int acgme_seed_delete_json(struct acgme_db *db, const json_t *tables, struct buf *report, char *err)
{
    size_t n = json_array_size(tables);
    if (!json_is_array(tables)) return fl_err(err, "the journal record lists no tables");
    if (acgme_db_exec(db, "BEGIN", err) < 0) return -1;
    struct buf lines;
    buf_init(&lines, 64 * 1024);
    /* children first: the record lists parents first */
    for (size_t k = n; k-- > 0;) {
        const json_t *t = json_array_get(tables, k);
        const char *name = json_string_value(json_object_get(t, "table"));
        const char *idcol = json_string_value(json_object_get(t, "id_column"));
        const json_t *ids = json_object_get(t, "ids");
        if (!name || !idcol || !json_is_array(ids)) {
            buf_release(&lines);
            acgme_db_exec(db, "ROLLBACK", err);
            return fl_err(err, "the journal record's table %zu has no table, id_column or ids", k + 1);
        }
        if (json_array_size(ids) == 0) continue;
        struct buf q;
        buf_init(&q, 64u << 20);
        buf_adds(&q, "DELETE FROM ");
        add_table(&q, name);
        buf_adds(&q, " WHERE ");
        add_ident(&q, idcol);
        buf_adds(&q, " IN (");
        size_t i;
        const json_t *v;
        json_array_foreach(ids, i, v) {
            if (i) buf_adds(&q, ", ");
            add_lit(&q, json_string_value(v) ? json_string_value(v) : "");
        }
        buf_adds(&q, ")");
        PGresult *r = q.overflow ? NULL : acgme_db_run(db, q.data, err);
        if (q.overflow) fl_err(err, "the delete of '%s' is too large", name);
        buf_release(&q);
        if (!r) {
            buf_release(&lines);
            return -1; /* the connection was dropped: the transaction rolled back */
        }
        long found = atol(PQcmdTuples(r));
        PQclear(r);
        size_t want = json_array_size(ids);
        if (found == 0)
            buf_addf(&lines, "  table '%s': none of the %zu row(s) it seeded is there (never committed, or deleted "
                     "since): nothing to do\n", name, want);
        else
            buf_addf(&lines, "  table '%s': %ld of the %zu row(s) it seeded found (%s '%s'%s): deleted\n", name, found,
                     want, idcol, json_string_value(json_array_get(ids, 0)), want > 1 ? ", ..." : "");
    }
    int rc = acgme_db_exec(db, "COMMIT", err);
    if (rc == 0 && report) buf_adds(report, lines.data ? lines.data : "");
    buf_release(&lines);
    return rc;
}
