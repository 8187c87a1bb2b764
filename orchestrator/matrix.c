/* matrix.c -- `matrix:` plans: one experiment per combination of `choose` targets out of
 * `lose`, run one after another, and the record of what the service survived (its
 * contingency table is reports/contingency.c; the command prints). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "cmd.h"
#include "contingency.h"
#include "figures.h"
#include "matrix.h"
#include "plan.h"
#include "report.h"
#include "report_fmt.h"

/* more combinations than this is a plan mistake, not a drill (C(10,3) = 120) */
#define MATRIX_MAX_COMBOS 256
#define MATRIX_MAX_CHOOSE 8

/* ---- combinations ------------------------------------------------------------------- */
static size_t n_choose_k(size_t n, size_t k)
{
    size_t r = 1;
    for (size_t i = 1; i <= k; i++) {
        r = r * (n - k + i) / i;
        if (r > MATRIX_MAX_COMBOS) return MATRIX_MAX_COMBOS + 1;
    }
    return r;
}

/* advance idx (k ascending indexes below n) to the next combination; 0 when done */
static int next_combo(size_t *idx, size_t k, size_t n)
{
    for (size_t i = k; i-- > 0;) {
        if (idx[i] < n - k + i) {
            idx[i]++;
            for (size_t j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
            return 1;
        }
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------------------ */
static void say(const struct matrix_opts *mo, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct matrix_opts *mo, const char *fmt, ...)
{
    char msg[FL_ERR_LEN + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (mo->on_error) mo->on_error(mo->self, msg);
}

/* the lost targets of combination idx: "a,b" (the ${lose} binding), "a+b" (its name), [a, b] */
static json_t *combo_names(char **lose, const size_t *idx, size_t k, struct buf *bind, struct buf *plus)
{
    json_t *lost = json_array();
    for (size_t j = 0; j < k; j++) {
        if (j) { buf_addc(bind, ','); buf_addc(plus, '+'); }
        buf_adds(bind, lose[idx[j]]);
        buf_adds(plus, lose[idx[j]]);
        json_array_append_new(lost, json_string(lose[idx[j]]));
    }
    return lost;
}

static json_t *not_run_row(char **lose, const size_t *idx, size_t k)
{
    struct buf bind, plus;
    buf_init(&bind, 0);
    buf_init(&plus, 0);
    json_t *lost = combo_names(lose, idx, k, &bind, &plus);
    json_t *row = json_pack("{s:s, s:o, s:s, s:n, s:s}", "lose", plus.data, "lost", lost, "verdict", "not_run", "exit_code",
                            "why", "not run: the matrix stopped early");
    buf_release(&bind);
    buf_release(&plus);
    return row;
}

/* the record's head: what was asked */
static json_t *record_new(const struct plan *p, size_t k, const char *label, double wall0)
{
    json_t *rec = json_object();
    json_t *lose_arr = json_array();
    for (size_t i = 0; i < p->nmatrix_lose; i++) json_array_append_new(lose_arr, json_string(p->matrix_lose[i]));
    json_object_set_new(rec, "faultline_version", json_string(FL_VERSION));
    json_object_set_new(rec, "format", json_integer(FL_RUN_FORMAT));
    json_object_set_new(rec, "plan", json_pack("{s:s, s:s, s:s?, s:s?}", "name", p->name, "path", p->path, "hash", p->hash,
                                               "description", p->description));
    json_object_set_new(rec, "choose", json_integer((json_int_t)k));
    json_object_set_new(rec, "kind_label", json_string(label));
    json_object_set_new(rec, "lose", lose_arr);
    char iso[32];
    fl_iso8601(wall0, iso);
    json_object_set_new(rec, "started_at", json_string(iso));
    return rec;
}

/* run combination nth of total into DIR/lose-a+b; its row (verdict, why, figures) and exit code */
static json_t *run_combo(const struct matrix_opts *mo, const struct plan *p, const size_t *idx, size_t k, size_t nth,
                         size_t total, json_t *rec, int *journal_noted, int *rc_out)
{
    char err[FL_ERR_LEN];
    struct buf bind, plus;
    buf_init(&bind, 0);
    buf_init(&plus, 0);
    json_t *lost = combo_names(p->matrix_lose, idx, k, &bind, &plus);
    char *sub = fl_asprintf("%s/lose-%s", mo->dir, plus.data);
    json_t *row = json_pack("{s:s, s:o}", "lose", plus.data, "lost", lost);
    fl_log(FL_LOG_INFO, "matrix %zu/%zu of '%s': losing %s", nth, total, p->name, plus.data);
    int rc;
    json_t *one = NULL;
    struct plan *pc = cmd_load_plan(mo->path, mo->vars, bind.data);
    if (!pc) {
        rc = FL_EXIT_INVALID;
        json_object_set_new(row, "verdict", json_string("invalid"));
        json_object_set_new(row, "why", json_string("the plan is invalid with this combination"));
    } else {
        struct run_opts r2 = *mo->ro;
        r2.report_dir = sub;
        /* the folder first: services write their logs there */
        json_t *empty = json_object();
        if (report_write_all(empty, sub, err) < 0) say(mo, "%s", err);
        json_decref(empty);
        rc = run_plan(pc, &r2, &one);
        if (report_write_all(one, sub, err) < 0) say(mo, "%s", err);
        json_object_set_new(row, "verdict", json_string(report_jstr(one, "verdict", fl_exit_verdict(rc))));
        char *why = report_why(one);
        json_object_set_new(row, "why", json_string(why));
        free(why);
        json_object_set(row, "started_at", json_object_get(one, "started_at") ? json_object_get(one, "started_at") : json_null());
        json_object_set(row, "seed", json_object_get(one, "seed") ? json_object_get(one, "seed") : json_null());
        report_figures(one, row);
        if (rc == FL_EXIT_REVERT && !*journal_noted && report_jstr(one, "journal", NULL)) {
            json_object_set_new(rec, "journal", json_string(report_jstr(one, "journal", NULL)));
            *journal_noted = 1;
        }
        plan_free(pc);
    }
    json_object_set_new(row, "exit_code", json_integer(rc));
    json_object_set_new(row, "report", json_string(sub));
    json_decref(one);
    free(sub);
    buf_release(&bind);
    buf_release(&plus);
    *rc_out = rc;
    return row;
}

/* "N-1 holds" / "N-1 fails at: a, b" / "N-1 undecided: ..." */
static char *overall_text(const char *label, const json_t *fails, const json_t *undecided, size_t done, size_t total)
{
    struct buf overall;
    buf_init(&overall, 0);
    if (json_array_size(fails)) {
        buf_addf(&overall, "%s fails at: ", label);
        for (size_t i = 0; i < json_array_size(fails); i++)
            buf_addf(&overall, "%s%s", i ? ", " : "", json_string_value(json_array_get(fails, i)));
    } else if (done < total) {
        buf_addf(&overall, "%s undecided: %zu of %zu combinations ran", label, done, total);
    } else if (json_array_size(undecided)) {
        buf_addf(&overall, "%s undecided: no evidence at ", label);
        for (size_t i = 0; i < json_array_size(undecided); i++)
            buf_addf(&overall, "%s%s", i ? ", " : "", json_string_value(json_array_get(undecided, i)));
    } else {
        buf_addf(&overall, "%s holds", label);
    }
    if (done < total && json_array_size(fails)) buf_addf(&overall, " (%zu of %zu combinations ran)", done, total);
    return buf_detach(&overall);
}

/* DIR/matrix.json, DIR/contingency.md and every report of the record into DIR */
static void write_reports(const struct matrix_opts *mo, json_t *rec)
{
    char err[FL_ERR_LEN], path[1100];
    snprintf(path, sizeof path, "%s/matrix.json", mo->dir);
    if (report_json(rec, path, err) < 0) say(mo, "%s", err);
    snprintf(path, sizeof path, "%s/contingency.md", mo->dir);
    if (report_contingency_md(rec, path, err) < 0) say(mo, "%s", err);
    if (report_write_all(rec, mo->dir, err) < 0) say(mo, "%s", err);
}

int matrix_run(const struct matrix_opts *mo, json_t **rec)
{
    double wall0 = fl_wall();
    int64_t t0 = fl_now_ms();
    struct plan *p = cmd_load_plan(mo->path, mo->vars, NULL);
    if (!p) {
        *rec = json_pack("{s:s, s:i}", "verdict", "invalid", "exit_code", FL_EXIT_INVALID);
        return FL_EXIT_INVALID;
    }
    size_t n = p->nmatrix_lose, k = (size_t)(p->matrix_choose > 0 ? p->matrix_choose : 1);
    char label[16];
    snprintf(label, sizeof label, "N-%zu", k);
    *rec = record_new(p, k, label, wall0);
    size_t total = n >= k ? n_choose_k(n, k) : 0;
    if (k > MATRIX_MAX_CHOOSE || total == 0 || total > MATRIX_MAX_COMBOS) {
        say(mo, "matrix of '%s': choose %zu out of %zu targets makes %s combinations; at most %d are run", p->name, k, n,
            total > MATRIX_MAX_COMBOS ? "too many" : "no", MATRIX_MAX_COMBOS);
        json_object_set_new(*rec, "verdict", json_string("invalid"));
        json_object_set_new(*rec, "exit_code", json_integer(FL_EXIT_INVALID));
        plan_free(p);
        return FL_EXIT_INVALID;
    }

    json_t *rows = json_array(), *fails = json_array(), *undecided = json_array();
    size_t idx[MATRIX_MAX_CHOOSE];
    for (size_t j = 0; j < k; j++) idx[j] = j;
    int worst = 0, stopped = 0, journal_noted = 0;
    size_t done = 0;
    do {
        if (stopped) { json_array_append_new(rows, not_run_row(p->matrix_lose, idx, k)); continue; }
        int rc;
        json_t *row = run_combo(mo, p, idx, k, done + 1, total, *rec, &journal_noted, &rc);
        if (mo->on_row) mo->on_row(mo->self, row);
        const char *name = report_jstr(row, "lose", "?");
        /* a combination that proved nothing (inconclusive, or stopped before anything as
         * invalid: a port taken, a target not found) is no finding about the service */
        if (rc == FL_EXIT_INCONCLUSIVE || rc == FL_EXIT_INVALID) json_array_append_new(undecided, json_string(name));
        else if (rc != FL_EXIT_OK) json_array_append_new(fails, json_string(name));
        json_array_append_new(rows, row);
        done++;
        worst = fl_exit_worse(worst, rc);
        if (rc == FL_EXIT_ABORTED || rc == FL_EXIT_REVERT || fl_aborted()) stopped = 1;
    } while (next_combo(idx, k, n));

    char *overall = overall_text(label, fails, undecided, done, total);
    if (worst == FL_EXIT_OK && done < total) worst = FL_EXIT_ABORTED;
    char iso[32];
    fl_iso8601(fl_wall(), iso);
    json_object_set_new(*rec, "ended_at", json_string(iso));
    json_object_set_new(*rec, "elapsed_ms", json_integer(fl_now_ms() - t0));
    json_object_set_new(*rec, "matrix", rows);
    json_object_set_new(*rec, "holds", json_boolean(json_array_size(fails) == 0 && json_array_size(undecided) == 0 &&
                                                    done == total));
    json_object_set_new(*rec, "fails_at", fails);
    json_object_set_new(*rec, "inconclusive_at", undecided);
    json_object_set_new(*rec, "overall", json_string(overall));
    json_object_set_new(*rec, "verdict", json_string(fl_exit_verdict(worst)));
    json_object_set_new(*rec, "exit_code", json_integer(worst));
    free(overall);
    write_reports(mo, *rec);
    plan_free(p);
    return worst;
}

/* ---- dry run ------------------------------------------------------------------------ */
int matrix_dry_run(const char *path, const char *const *vars, const struct run_opts *ro)
{
    struct plan *p = cmd_load_plan(path, vars, NULL);
    if (!p) return FL_EXIT_INVALID;
    size_t n = p->nmatrix_lose, k = (size_t)(p->matrix_choose > 0 ? p->matrix_choose : 1);
    size_t total = n >= k ? n_choose_k(n, k) : 0;
    if (k > MATRIX_MAX_CHOOSE || total == 0 || total > MATRIX_MAX_COMBOS) {
        fprintf(stderr, "faultline: matrix of '%s': choose %zu out of %zu targets makes %s combinations; at most %d are run\n",
                p->name, k, n, total > MATRIX_MAX_COMBOS ? "too many" : "no", MATRIX_MAX_COMBOS);
        plan_free(p);
        return FL_EXIT_INVALID;
    }
    printf("matrix of '%s': N-%zu over %zu targets makes %zu experiments, run one after another, each from a "
           "healthy steady state\n", p->name, k, n, total);
    size_t idx[MATRIX_MAX_CHOOSE];
    for (size_t j = 0; j < k; j++) idx[j] = j;
    int worst = 0;
    size_t i = 0;
    do {
        struct buf bind, plus;
        buf_init(&bind, 0);
        buf_init(&plus, 0);
        for (size_t j = 0; j < k; j++) {
            if (j) { buf_addc(&bind, ','); buf_addc(&plus, '+'); }
            buf_adds(&bind, p->matrix_lose[idx[j]]);
            buf_adds(&plus, p->matrix_lose[idx[j]]);
        }
        printf("\nexperiment %zu/%zu: losing %s\n", ++i, total, plus.data);
        fflush(stdout);
        struct plan *pc = cmd_load_plan(path, vars, bind.data);
        int rc = FL_EXIT_INVALID;
        if (pc) {
            json_t *one = NULL;
            rc = run_plan(pc, ro, &one);
            json_decref(one);
            plan_free(pc);
        }
        worst = fl_exit_worse(worst, rc);
        buf_release(&bind);
        buf_release(&plus);
    } while (next_combo(idx, k, n));
    plan_free(p);
    return worst;
}
