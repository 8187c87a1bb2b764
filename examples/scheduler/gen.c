/* gen.c -- dates, the compliant schedule generator (worker and seed) and `init-db`.
 *
 * The generator is deterministic: the same people and range always give the same rows, so
 * generating over the seeded range rewrites the seed schedule unchanged. Every weekday block
 * takes the residents whose (index + day + AM/PM) is even, as long as the faculty can
 * supervise them, and exactly the faculty needed (rotating); weekends stay free. That gives
 * each resident one half-day per weekday: 30 h/week, at most 5 consecutive duty days.
 */
#include "sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"
#include "date.h"

/* ---- dates ---------------------------------------------------------------------------- */
int sched_parse_date(const char *s, int *days)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap)) return -1;
    *days = date_from_civil(y, m, d);
    return 0;
}

void sched_fmt_date(int z, char out[11])
{
    int y, m, d;
    date_to_civil(z, &y, &m, &d);
    if (y < 0 || y > 9999) y = 0;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int sched_weekday(int days)
{
    /* 1970-01-01 was a Thursday (3 with Monday = 0) */
    return ((days % 7) + 7 + 3) % 7;
}

int sched_uuid_ids;

const char *sched_id_type(void) { return sched_uuid_ids ? "uuid" : "text"; }

void sched_uuid_of(const char *name, char out[37])
{
    uint8_t b[32];
    sha256(name, strlen(name), b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x80);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void sched_uuid4(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        for (int i = 0; i < 16; i++) b[i] = (uint8_t)(rand() ^ (int)(fl_now_ns() >> (i % 8)));
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- PostgreSQL text-array literals: {"a","b"} -------------------------------------- */
struct textarr { struct buf b; int n; };

static void ta_init(struct textarr *t) { buf_init(&t->b, 0); buf_addc(&t->b, '{'); t->n = 0; }
static void ta_add(struct textarr *t, const char *s)
{
    if (t->n++) buf_addc(&t->b, ',');
    buf_addc(&t->b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') buf_addc(&t->b, '\\');
        buf_addc(&t->b, *s);
    }
    buf_addc(&t->b, '"');
}
static const char *ta_str(struct textarr *t)
{
    buf_addc(&t->b, '}');
    return t->b.data;
}

/* ---- the generator ---------------------------------------------------------------------- */
struct gen_person { char *id; int resident, pgy; };

static int load_people(PGconn *c, int64_t deadline_ms, struct gen_person **out, int *n, char *err)
{
    PGresult *r;
    int rc = db_exec(c, deadline_ms,
                     "SELECT id, type = 'resident', COALESCE(pgy_level, 0) FROM people WHERE scope = '' ORDER BY id",
                     0, NULL, &r, err);
    if (rc != DB_OK) return rc;
    *n = PQntuples(r);
    *out = fl_calloc((size_t)*n + 1, sizeof **out);
    for (int i = 0; i < *n; i++) {
        (*out)[i].id = fl_strdup(PQgetvalue(r, i, 0));
        (*out)[i].resident = PQgetvalue(r, i, 1)[0] == 't';
        (*out)[i].pgy = atoi(PQgetvalue(r, i, 2));
    }
    PQclear(r);
    return DB_OK;
}

int gen_schedule(PGconn *c, int64_t deadline_ms, int start, int end, int *written, char *err)
{
    struct gen_person *pp = NULL;
    int np = 0;
    int rc = load_people(c, deadline_ms, &pp, &np, err);
    if (rc != DB_OK) return rc;
    int nres = 0, nfac = 0;
    for (int i = 0; i < np; i++) {
        if (pp[i].resident) nres++;
        else nfac++;
    }
    int *res = fl_malloc(sizeof(int) * (size_t)(nres + 1)), *fac = fl_malloc(sizeof(int) * (size_t)(nfac + 1));
    nres = nfac = 0;
    for (int i = 0; i < np; i++) {
        if (pp[i].resident) res[nres++] = i;
        else fac[nfac++] = i;
    }

    struct textarr bid, bdate, btod, aid, ablk, aper, arole;
    ta_init(&bid); ta_init(&bdate); ta_init(&btod);
    ta_init(&aid); ta_init(&ablk); ta_init(&aper); ta_init(&arole);
    char *chosen = fl_calloc((size_t)nres + 1, 1);
    for (int day = start; day <= end; day++) {
        char d[11];
        sched_fmt_date(day, d);
        for (int pm = 0; pm < 2; pm++) {
            char blk[40];
            snprintf(blk, sizeof blk, "blk-%s-%s", d, pm ? "PM" : "AM");
            if (sched_uuid_ids) { /* the same block, the same id, as a uuid */
                char u[37];
                sched_uuid_of(blk, u);
                snprintf(blk, sizeof blk, "%s", u);
            }
            ta_add(&bid, blk);
            ta_add(&bdate, d);
            ta_add(&btod, pm ? "PM" : "AM");
            if (sched_weekday(day) >= 5 || nfac == 0) continue;
            int units = 0, cap = 4 * nfac;
            memset(chosen, 0, (size_t)nres + 1);
            for (int k = 0; k < nres; k++) {
                if ((k + day + pm) % 2 != 0) continue;
                int u = pp[res[k]].pgy == 1 ? 2 : 1;
                if (units + u > cap) continue;
                units += u;
                chosen[k] = 1;
            }
            int need = (units + 3) / 4;
            for (int k = 0; k < nres + need; k++) {
                int idx = k < nres ? -1 : fac[(day * 2 + pm + (k - nres)) % nfac];
                if (k < nres && !chosen[k]) continue;
                const struct gen_person *p = &pp[k < nres ? res[k] : idx];
                char id[160];
                snprintf(id, sizeof id, "asg-%s-%.100s", blk, p->id);
                if (sched_uuid_ids) {
                    char u[37];
                    sched_uuid_of(id, u);
                    snprintf(id, sizeof id, "%s", u);
                }
                ta_add(&aid, id);
                ta_add(&ablk, blk);
                ta_add(&aper, p->id);
                ta_add(&arole, p->resident ? "primary" : "supervising");
            }
        }
    }
    const char *bp[3] = { ta_str(&bid), ta_str(&bdate), ta_str(&btod) };
    const char *ap[4] = { ta_str(&aid), ta_str(&ablk), ta_str(&aper), ta_str(&arole) };
    /* the uuid schema's blocks carry a block_number (NOT NULL, no default): the demo says 1 */
    const char *t = sched_id_type();
    char ins_b[320], del_a[160], ins_a[320];
    snprintf(ins_b, sizeof ins_b,
             "INSERT INTO blocks (scope, id, date, time_of_day%s) "
             "SELECT '', *%s FROM unnest($1::%s[], $2::date[], $3::text[]) ON CONFLICT DO NOTHING",
             sched_uuid_ids ? ", block_number" : "", sched_uuid_ids ? ", 1" : "", t);
    snprintf(del_a, sizeof del_a, "DELETE FROM assignments WHERE scope = '' AND block_id = ANY($1::%s[])", t);
    snprintf(ins_a, sizeof ins_a,
             "INSERT INTO assignments (scope, id, block_id, person_id, role) "
             "SELECT '', * FROM unnest($1::%s[], $2::%s[], $3::%s[], $4::text[]) ON CONFLICT DO NOTHING", t, t, t);
    rc = db_exec(c, deadline_ms, "BEGIN", 0, NULL, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, deadline_ms, ins_b, 3, bp, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, deadline_ms, del_a, 1, bp, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, deadline_ms, ins_a, 4, ap, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, deadline_ms, "COMMIT", 0, NULL, NULL, err);
    if (rc == DB_ERROR) {
        char ignored[FL_ERR_LEN];
        if (db_exec(c, deadline_ms, "ROLLBACK", 0, NULL, NULL, ignored) == DB_UNAVAILABLE) rc = DB_UNAVAILABLE;
    }
    if (rc == DB_OK) *written = aid.n;

    free(chosen);
    buf_release(&bid.b); buf_release(&bdate.b); buf_release(&btod.b);
    buf_release(&aid.b); buf_release(&ablk.b); buf_release(&aper.b); buf_release(&arole.b);
    for (int i = 0; i < np; i++) free(pp[i].id);
    free(pp);
    free(res);
    free(fac);
    return rc;
}

/* ---- init-db ---------------------------------------------------------------------------- */
static const char *const seed_residents[] = {
    "Dr. Avery Adams",   "Dr. Blake Brooks",  "Dr. Casey Chen",   "Dr. Dana Diaz",     "Dr. Eden Evans",
    "Dr. Finley Ford",   "Dr. Gray Garcia",   "Dr. Harper Hill",  "Dr. Indy Ito",      "Dr. Jordan James",
    "Dr. Kai Kim",       "Dr. Logan Lee",     "Dr. Morgan Moore", "Dr. Noel Nguyen",   "Dr. Oakley Ortiz",
    "Dr. Parker Patel",  "Dr. Quinn Quist",   "Dr. Reese Rivera", "Dr. Sage Singh",    "Dr. Taylor Tran",
};
static const char *const seed_faculty[] = {
    "Dr. Uma Underwood", "Dr. Victor Vance", "Dr. Wren Walsh", "Dr. Xavier Xu", "Dr. Yara Young", "Dr. Zane Zimmer",
};
#define N_RES (int)(sizeof seed_residents / sizeof *seed_residents)
#define N_FAC (int)(sizeof seed_faculty / sizeof *seed_faculty)

int gen_init_db(const char *dsn, int no_seed, char *err)
{
    int64_t deadline = fl_now_ms() + 30000;
    PGconn *c = db_connect(dsn, 0, deadline, err);
    if (!c) return -1;
    int rc = db_exec(c, deadline, "BEGIN; SELECT pg_advisory_xact_lock(7474001)", 0, NULL, NULL, err);
    if (rc == DB_OK) rc = db_exec(c, deadline, sched_uuid_ids ? sched_schema_uuid_sql : sched_schema_sql, 0, NULL, NULL, err);
    if (rc == DB_OK && !no_seed) {
        struct textarr id, name, type, pgy;
        ta_init(&id); ta_init(&name); ta_init(&type); ta_init(&pgy);
        for (int i = 0; i < N_RES + N_FAC; i++) {
            char uid[40], lvl[8];
            snprintf(uid, sizeof uid, "5eed0000-0000-4000-8000-%012d", i + 1);
            ta_add(&id, uid);
            ta_add(&name, i < N_RES ? seed_residents[i] : seed_faculty[i - N_RES]);
            ta_add(&type, i < N_RES ? "resident" : "faculty");
            /* 40% / 35% / 25% PGY-1 / 2 / 3 */
            snprintf(lvl, sizeof lvl, "%d", i < N_RES * 40 / 100 ? 1 : i < N_RES * 75 / 100 ? 2 : 3);
            if (i < N_RES) ta_add(&pgy, lvl);
            else {
                if (pgy.n++) buf_addc(&pgy.b, ',');
                buf_adds(&pgy.b, "NULL");
            }
        }
        const char *pv[4] = { ta_str(&id), ta_str(&name), ta_str(&type), ta_str(&pgy) };
        char ins_p[256];
        snprintf(ins_p, sizeof ins_p,
                 "INSERT INTO people (scope, id, name, type, pgy_level) "
                 "SELECT '', * FROM unnest($1::%s[], $2::text[], $3::text[], $4::int[]) ON CONFLICT DO NOTHING",
                 sched_id_type());
        rc = db_exec(c, deadline, ins_p, 4, pv, NULL, err);
        buf_release(&id.b); buf_release(&name.b); buf_release(&type.b); buf_release(&pgy.b);
    }
    if (rc == DB_OK) rc = db_exec(c, deadline, "COMMIT", 0, NULL, NULL, err);
    if (rc == DB_OK && !no_seed) {
        int start, written = 0;
        sched_parse_date(SCHED_SEED_START, &start);
        rc = gen_schedule(c, deadline, start, start + SCHED_SEED_DAYS - 1, &written, err);
    }
    PQfinish(c);
    return rc == DB_OK ? 0 : -1;
}
