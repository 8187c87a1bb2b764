/* history.c -- the drill history: JSON lines file or PostgreSQL table faultline_history,
 * and the compare rules that flag a regression against the last passing run. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "compare.h"
#include "files.h"
#include "history.h"
#include "report_fmt.h"

/* a line longer than this is not one of ours */
#define HISTORY_MAX_LINE (4 << 20)

struct history {
    char *where;      /* path or URL with the password masked */
    char *path;       /* JSON lines backend */
    PGconn *pg;       /* PostgreSQL backend */
};

static const char create_sql[] =
    "create table if not exists faultline_history ("
    " id bigserial primary key,"
    " at timestamptz not null default now(),"
    " drill text,"
    " plan text not null,"
    " experiment text not null,"
    " verdict text not null,"
    " exit_code integer,"
    " regressed boolean not null default false,"
    " p95_ms double precision,"
    " worst_p95_ms double precision,"
    " error_rate double precision,"
    " rps double precision,"
    " recovery_ms double precision,"
    " entry jsonb not null);"
    "create index if not exists faultline_history_experiment on faultline_history (experiment, id)";

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    fl_log(FL_LOG_DEBUG, "history: postgresql: %s", msg);
}

/* the last line of a libpq message, without its newline */
static void pg_msg(const PGconn *c, char *out, size_t n)
{
    snprintf(out, n, "%s", c ? PQerrorMessage(c) : "out of memory");
    size_t l = strlen(out);
    while (l && (out[l - 1] == '\n' || out[l - 1] == ' ')) out[--l] = '\0';
    fl_redact(out);
}

static int is_pg_url(const char *s) { return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11); }

struct history *history_open(const char *where, char *err)
{
    if (!where || !*where) { fl_err(err, "no history given (a file, or a postgresql:// URL)"); return NULL; }
    struct history *h = fl_calloc(1, sizeof *h);
    if (!is_pg_url(where)) {
        h->path = fl_strdup(where);
        h->where = fl_strdup(where);
        return h;
    }
    /* the password (in the URL or its query) is a secret from here on */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(where, &perr);
    if (!opts) {
        fl_err(err, "cannot read the history URL: %s", perr ? perr : "out of memory");
        PQfreemem(perr);
        free(h);
        return NULL;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val) fl_secret_add(o->val);
    PQconninfoFree(opts);
    h->where = fl_strdup(where);
    fl_redact(h->where);
    h->pg = PQconnectdb(where);
    if (!h->pg || PQstatus(h->pg) != CONNECTION_OK) {
        char m[FL_ERR_LEN];
        pg_msg(h->pg, m, sizeof m);
        fl_err(err, "cannot open the history '%s': %.300s", h->where, m);
        history_close(h);
        return NULL;
    }
    PQsetNoticeProcessor(h->pg, quiet_notice, NULL);
    PGresult *r = PQexec(h->pg, create_sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char m[FL_ERR_LEN];
        snprintf(m, sizeof m, "%s", PQresultErrorMessage(r));
        m[strcspn(m, "\n")] = '\0';
        fl_redact(m);
        fl_err(err, "cannot create the table faultline_history in '%s': %.300s", h->where, m);
        PQclear(r);
        history_close(h);
        return NULL;
    }
    PQclear(r);
    return h;
}

void history_close(struct history *h)
{
    if (!h) return;
    if (h->pg) PQfinish(h->pg);
    free(h->path);
    free(h->where);
    free(h);
}

const char *history_where(const struct history *h) { return h ? h->where : ""; }

/* ---- JSON lines -------------------------------------------------------------------- */
static int file_append(struct history *h, const json_t *entry, char *err)
{
    char *line = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!line) return fl_err(err, "cannot write the history '%s': the entry is not JSON", h->where);
    if (files_mkdir_parent(h->path) < 0) {
        free(line);
        return fl_err(err, "cannot create the folder of the history '%s': %s", h->where, strerror(errno));
    }
    int fd = open(h->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) { free(line); return fl_err(err, "cannot open the history '%s': %s", h->where, strerror(errno)); }
    /* one write of the whole line, so a reader never sees half an entry from us */
    size_t len = strlen(line);
    line[len] = '\n';
    ssize_t w = write(fd, line, len + 1);
    int e = errno;
    free(line);
    if (w != (ssize_t)(len + 1)) {
        close(fd);
        return fl_err(err, "cannot append to the history '%s': %s", h->where, w < 0 ? strerror(e) : "short write");
    }
    if (fsync(fd) < 0 || close(fd) < 0) return fl_err(err, "cannot append to the history '%s': %s", h->where, strerror(errno));
    return 0;
}

/* every entry (of a plan, or of an experiment); skips and reports lines that are not JSON */
static json_t *file_read(struct history *h, const char *plan, const char *experiment, char *err)
{
    json_t *out = json_array();
    FILE *f = fopen(h->path, "r");
    if (!f) {
        if (errno == ENOENT) return out;
        json_decref(out);
        fl_err(err, "cannot read the history '%s': %s", h->where, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, bad = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n == 0 || (n == 1 && line[0] == '\n')) continue;
        json_t *e = n < HISTORY_MAX_LINE ? json_loadb(line, (size_t)n, 0, NULL) : NULL;
        if (!json_is_object(e)) {
            if (bad++ == 0) fl_log(FL_LOG_WARN, "history '%s': line %ld is not an entry; skipped", h->where, lineno);
            json_decref(e);
            continue;
        }
        if ((plan && strcmp(report_jstr(e, "plan", ""), plan) != 0) ||
            (experiment && strcmp(report_jstr(e, "experiment", ""), experiment) != 0)) {
            json_decref(e);
            continue;
        }
        json_array_append_new(out, e);
    }
    free(line);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        json_decref(out);
        fl_err(err, "cannot read the history '%s': read error", h->where);
        return NULL;
    }
    if (bad > 1) fl_log(FL_LOG_WARN, "history '%s': %ld lines were not entries", h->where, bad);
    return out;
}

/* ---- PostgreSQL ---------------------------------------------------------------------- */
static char *num_param(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) && isfinite(json_number_value(v)) ? fl_asprintf("%.17g", json_number_value(v)) : NULL;
}

static int pg_result_err(struct history *h, PGresult *r, const char *what, char *err)
{
    char m[FL_ERR_LEN];
    snprintf(m, sizeof m, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(h->pg));
    m[strcspn(m, "\n")] = '\0';
    fl_redact(m);
    PQclear(r);
    return fl_err(err, "cannot %s the history '%s': %.300s", what, h->where, m);
}

static int pg_append(struct history *h, const json_t *entry, char *err)
{
    char *doc = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!doc) return fl_err(err, "cannot write the history '%s': the entry is not JSON", h->where);
    char *nums[5] = { num_param(entry, "p95_ms"), num_param(entry, "worst_p95_ms"), num_param(entry, "error_rate"),
                      num_param(entry, "rps"), num_param(entry, "recovery_ms") };
    char code[16];
    const json_t *ec = json_object_get(entry, "exit_code");
    snprintf(code, sizeof code, "%lld", (long long)json_integer_value(ec));
    const char *params[12] = {
        report_jstr(entry, "time", NULL), report_jstr(entry, "drill", NULL), report_jstr(entry, "plan", "?"),
        report_jstr(entry, "experiment", "?"), report_jstr(entry, "verdict", "?"), json_is_integer(ec) ? code : NULL,
        json_array_size(json_object_get(entry, "regressions")) ? "true" : "false",
        nums[0], nums[1], nums[2], nums[3], nums[4] };
    /* the whole entry too, so fields added later need no new column */
    const char *all[13];
    memcpy(all, params, sizeof params);
    all[12] = doc;
    PGresult *r = PQexecParams(h->pg,
        "insert into faultline_history (at, drill, plan, experiment, verdict, exit_code, regressed, p95_ms, worst_p95_ms,"
        " error_rate, rps, recovery_ms, entry) values (coalesce($1::timestamptz, now()), $2, $3, $4, $5, $6::integer,"
        " $7::boolean, $8::float8, $9::float8, $10::float8, $11::float8, $12::float8, $13::jsonb)",
        13, NULL, all, NULL, NULL, 0);
    for (int i = 0; i < 5; i++) free(nums[i]);
    free(doc);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return pg_result_err(h, r, "append to", err);
    PQclear(r);
    return 0;
}

static json_t *pg_rows(struct history *h, PGresult *r, char *err)
{
    if (PQresultStatus(r) != PGRES_TUPLES_OK) { pg_result_err(h, r, "read", err); return NULL; }
    json_t *out = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *e = json_loads(PQgetvalue(r, i, 0), 0, NULL);
        if (json_is_object(e)) json_array_append_new(out, e);
        else json_decref(e);
    }
    PQclear(r);
    return out;
}

/* ---- the interface ------------------------------------------------------------------- */
int history_append(struct history *h, const json_t *entry, char *err)
{
    if (!json_is_object(entry)) return fl_err(err, "cannot write the history '%s': an entry is a JSON object", h->where);
    return h->pg ? pg_append(h, entry, err) : file_append(h, entry, err);
}

json_t *history_read(struct history *h, const char *plan, char *err)
{
    if (!h->pg) return file_read(h, plan, NULL, err);
    const char *params[1] = { plan };
    PGresult *r = PQexecParams(h->pg,
        "select entry::text from faultline_history where $1::text is null or plan = $1 order by at, id", 1, NULL, params,
        NULL, NULL, 0);
    return pg_rows(h, r, err);
}

static int is_clean_pass(const json_t *e)
{
    return !strcmp(report_jstr(e, "verdict", ""), "passed") && json_array_size(json_object_get(e, "regressions")) == 0;
}

int history_last_passing(struct history *h, const char *experiment, json_t **out, char *err)
{
    *out = NULL;
    json_t *all;
    if (h->pg) {
        const char *params[1] = { experiment };
        PGresult *r = PQexecParams(h->pg,
            "select entry::text from faultline_history where experiment = $1 and verdict = 'passed' and not regressed"
            " order by at desc, id desc limit 1", 1, NULL, params, NULL, NULL, 0);
        all = pg_rows(h, r, err);
    } else {
        all = file_read(h, NULL, experiment, err);
    }
    if (!all) return -1;
    for (size_t i = json_array_size(all); i-- > 0;) {
        json_t *e = json_array_get(all, i);
        if (is_clean_pass(e)) { *out = json_incref(e); break; }
    }
    json_decref(all);
    return 0;
}

/* ---- compare ------------------------------------------------------------------------- */
static json_t *pick(const json_t *o, const char *const *keys)
{
    json_t *out = json_object();
    for (size_t i = 0; keys[i]; i++)
        if (json_object_get(o, keys[i])) json_object_set(out, keys[i], json_object_get(o, keys[i]));
    return out;
}

json_t *history_digest(const json_t *run)
{
    static const char *const top[] = { "format", "verdict", "elapsed_ms", "started_at", "memory", NULL };
    static const char *const plan_keys[] = { "name", "hash", NULL };
    static const char *const block_keys[] = { "name", "totals", NULL };
    static const char *const ep_keys[] = { "name", "method", "path", "count", "rps", "error_rate", "p95", "p99", NULL };
    static const char *const obs_keys[] = { "ok", "value", "observed", NULL };
    json_t *d = pick(run, top);
    json_object_set_new(d, "plan", pick(json_object_get(run, "plan"), plan_keys));
    json_t *load = json_array();
    const json_t *bl = json_object_get(run, "load");
    for (size_t i = 0; i < json_array_size(bl); i++) {
        const json_t *b = json_array_get(bl, i);
        json_t *nb = pick(b, block_keys);
        json_t *eps = json_array();
        const json_t *be = json_object_get(b, "endpoints");
        for (size_t k = 0; k < json_array_size(be); k++) json_array_append_new(eps, pick(json_array_get(be, k), ep_keys));
        json_object_set_new(nb, "endpoints", eps);
        json_array_append_new(load, nb);
    }
    json_object_set_new(d, "load", load);
    json_t *probes = json_array();
    const json_t *pl = json_object_get(run, "probes");
    for (size_t i = 0; i < json_array_size(pl); i++) {
        const json_t *p = json_array_get(pl, i);
        if (strcmp(report_jstr(p, "kind", ""), "recovery") != 0) continue;
        const json_t *obs = json_object_get(p, "observations");
        json_t *last = json_array();
        if (json_array_size(obs)) json_array_append_new(last, pick(json_array_get(obs, json_array_size(obs) - 1), obs_keys));
        json_array_append_new(probes, json_pack("{s:s, s:s, s:s, s:o}", "name", report_jstr(p, "name", "?"), "kind", "recovery",
                                                "verdict", report_verdict(p), "observations", last));
    }
    json_object_set_new(d, "probes", probes);
    return d;
}

static void fmt_value(const char *unit, double v, char out[32])
{
    if (!isfinite(v)) snprintf(out, 32, "-");
    else if (!strcmp(unit, "rps")) snprintf(out, 32, "%.1f/s", v);
    else if (!strcmp(unit, "mem") || !strcmp(unit, "ratio")) snprintf(out, 32, "%.6g", v);
    else report_fmt_ms(v, out);
}

json_t *history_compare(const json_t *base, const json_t *cur, const struct cmp_rules *r)
{
    json_t *out = json_array();
    const json_t *br = json_object_get(base, "record"), *cr = json_object_get(cur, "record");
    if (!json_is_object(br) || !json_is_object(cr)) return out;
    struct cmp_result res;
    char err[FL_ERR_LEN];
    if (cmp_runs(br, cr, r, &res, err) < 0) {
        fl_log(FL_LOG_WARN, "history: cannot compare with the last passing run: %s", err);
        return out;
    }
    for (size_t i = 0; i < res.nrows; i++) {
        const struct cmp_row *row = &res.rows[i];
        if (!row->regressed) continue;
        char a[32], b[32], text[512];
        fmt_value(row->unit, row->base, a);
        fmt_value(row->unit, row->cur, b);
        if (!isfinite(row->cur)) snprintf(text, sizeof text, "%.300s: %s (was %s)", row->figure, row->why, a);
        else snprintf(text, sizeof text, "%.300s %s -> %s (%+.0f%%)", row->figure, a, b,
                      row->base > 0 ? (row->cur - row->base) / row->base * 100 : 0.0);
        json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "metric", cmp_rule_name(row->rule), "figure",
                                             row->figure, "base", isfinite(row->base) ? json_real(row->base) : json_null(),
                                             "current", isfinite(row->cur) ? json_real(row->cur) : json_null(), "change",
                                             isfinite(row->base) && isfinite(row->cur) && row->base > 0
                                                 ? json_real((row->cur - row->base) / row->base) : json_null(),
                                             "text", text));
    }
    cmp_release(&res);
    return out;
}
