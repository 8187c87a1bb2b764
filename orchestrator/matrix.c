/* matrix.c -- `matrix:` plans: one experiment per combination of `choose` targets out of
 * `lose`, run one after another, and the contingency table of what the service survived. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "cmd.h"
#include "matrix.h"
#include "plan.h"
#include "report.h"
#include "report_fmt.h"

/* more combinations than this is a plan mistake, not a drill (C(10,3) = 120) */
#define MATRIX_MAX_COMBOS 256
#define MATRIX_MAX_CHOOSE 8

/* ---- figures of one run record ------------------------------------------------------ */
static double num_or_nan(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

void matrix_figures(const json_t *run, json_t *into)
{
    double p95 = NAN, worst = NAN, rps = 0, count = 0, errors = 0;
    const json_t *load = json_object_get(run, "load");
    for (size_t i = 0; i < json_array_size(load); i++) {
        const json_t *blk = json_array_get(load, i);
        const json_t *tot = json_object_get(blk, "totals");
        double c = num_or_nan(tot, "count"), e = num_or_nan(tot, "errors"), r = num_or_nan(tot, "rps");
        double p = num_or_nan(tot, "p95");
        if (isfinite(c)) count += c;
        if (isfinite(e)) errors += e;
        if (isfinite(r)) rps += r;
        if (isfinite(p) && isfinite(c) && c > 0 && !(p <= p95)) p95 = p;
        const json_t *series = json_object_get(blk, "series");
        for (size_t s = 0; s < json_array_size(series); s++) {
            const json_t *sec = json_array_get(series, s);
            double sp = num_or_nan(sec, "p95"), sc = num_or_nan(sec, "count");
            if (isfinite(sp) && isfinite(sc) && sc > 0 && !(sp <= worst)) worst = sp;
        }
    }
    if (!isfinite(worst)) worst = p95;
    int has_load = json_array_size(load) > 0;
    json_object_set_new(into, "p95_ms", num_or_null(p95));
    json_object_set_new(into, "worst_p95_ms", num_or_null(worst));
    json_object_set_new(into, "error_rate", has_load && count > 0 ? json_real(errors / count) : json_null());
    json_object_set_new(into, "requests", has_load ? json_integer((json_int_t)count) : json_null());
    json_object_set_new(into, "rps", has_load ? json_real(rps) : json_null());

    /* recovery probes: the measured time is the observation's value (ms) */
    json_t *recs = json_array();
    double longest = NAN;
    int recovered = 1, undecided = 0;
    const json_t *probes = json_object_get(run, "probes");
    for (size_t i = 0; i < json_array_size(probes); i++) {
        const json_t *p = json_array_get(probes, i);
        if (strcmp(report_jstr(p, "kind", ""), "recovery") != 0) continue;
        const json_t *obs = json_object_get(p, "observations");
        const json_t *last = json_array_size(obs) ? json_array_get(obs, json_array_size(obs) - 1) : NULL;
        const char *verdict = report_verdict(p);
        int inconclusive = !strcmp(verdict, "inconclusive");
        double ms = last && json_is_true(json_object_get(last, "ok")) ? num_or_nan(last, "value") : NAN;
        const char *observed = inconclusive ? report_reason(p, NULL) : last ? report_jstr(last, "observed", NULL) : NULL;
        json_array_append_new(recs, json_pack("{s:s, s:o, s:s?, s:s}", "probe", report_jstr(p, "name", "?"), "ms",
                                              num_or_null(ms), "observed", observed, "verdict", verdict));
        if (isfinite(ms)) { if (!(ms <= longest)) longest = ms; }
        else if (inconclusive) undecided = 1; /* no evidence: neither recovered nor not */
        else recovered = 0;
    }
    json_object_set_new(into, "recovery_ms", num_or_null(longest));
    json_object_set_new(into, "recovered", !json_array_size(recs) || (recovered && undecided) ? json_null()
                                                                                              : json_boolean(recovered));
    if (recovered && undecided) json_object_set_new(into, "recovery_inconclusive", json_true());
    json_object_set_new(into, "recoveries", recs);
}

char *matrix_why(const json_t *run)
{
    struct buf b;
    buf_init(&b, 4096);
    const char *verdict = report_jstr(run, "verdict", "");
    if (!strcmp(verdict, "passed")) return buf_detach(&b);
    const char *reason = report_jstr(run, "reason", NULL);
    if (reason) buf_addf(&b, "%s", reason);
    const json_t *ss = json_object_get(run, "steady_state");
    const char *sb = report_jstr(ss, "before_verdict", NULL), *sa = report_jstr(ss, "after_verdict", NULL);
    if (ss && (sb ? !strcmp(sb, "failed") : !json_is_true(json_object_get(ss, "held_before"))))
        buf_addf(&b, "%ssteady state broken before the faults", b.len ? "; " : "");
    const json_t *steps = json_object_get(run, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        const json_t *s = json_array_get(steps, i);
        const char *st = report_jstr(s, "status", "");
        if (!strcmp(st, "inject_failed") || !strcmp(st, "revert_failed"))
            buf_addf(&b, "%sstep '%s' %s", b.len ? "; " : "", report_jstr(s, "name", "?"), st);
    }
    const json_t *probes = json_object_get(run, "probes");
    for (size_t i = 0; i < json_array_size(probes); i++) {
        const json_t *p = json_array_get(probes, i);
        if (strcmp(report_jstr(p, "verdict", ""), "failed") != 0) continue;
        const char *obs = report_jstr(json_object_get(p, "failure"), "observed", NULL);
        buf_addf(&b, "%sprobe '%s' failed%s%.120s", b.len ? "; " : "", report_jstr(p, "name", "?"), obs ? ": " : "",
                 obs ? obs : "");
    }
    if (json_object_get(run, "thresholds_ok") && !json_is_true(json_object_get(run, "thresholds_ok")))
        buf_addf(&b, "%sload thresholds failed", b.len ? "; " : "");
    if (ss && json_is_true(json_object_get(ss, "held_before")) &&
        (sa ? !strcmp(sa, "failed") : !json_is_true(json_object_get(ss, "held_after"))))
        buf_addf(&b, "%ssteady state broken after the faults", b.len ? "; " : "");
    /* what could not be judged (the reason above names the first one already) */
    const json_t *inc = json_object_get(run, "inconclusive");
    for (size_t i = 0; i < json_array_size(inc) && !reason; i++) {
        const json_t *x = json_array_get(inc, i);
        buf_addf(&b, "%s%s '%s' inconclusive: %.120s", b.len ? "; " : "", report_jstr(x, "what", "?"),
                 report_jstr(x, "name", "?"), report_jstr(x, "reason", ""));
    }
    if (!b.len) buf_addf(&b, "verdict %s", verdict[0] ? verdict : "unknown");
    return buf_detach(&b);
}

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

/* ---- the table ---------------------------------------------------------------------- */
static void fmt_cell_ms(const json_t *row, const char *key, char out[32])
{
    double v = num_or_nan(row, key);
    if (isfinite(v)) report_fmt_ms(v, out);
    else snprintf(out, 32, "-");
}

static void fmt_rate(const json_t *row, char out[32])
{
    double v = num_or_nan(row, "error_rate");
    if (isfinite(v)) snprintf(out, 32, "%.2f%%", v * 100.0);
    else snprintf(out, 32, "-");
}

static void fmt_recovery(const json_t *row, char out[32])
{
    if (json_is_false(json_object_get(row, "recovered"))) snprintf(out, 32, "not recovered");
    else if (json_is_true(json_object_get(row, "recovery_inconclusive")) && !isfinite(num_or_nan(row, "recovery_ms")))
        snprintf(out, 32, "inconclusive");
    else fmt_cell_ms(row, "recovery_ms", out);
}

static void md_text(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '`' || *s == '*' || *s == '_' || *s == '<' || *s == '>') {
            buf_addc(b, '\\');
            buf_addc(b, *s);
        } else if (*s == '\n' || *s == '\r') buf_addc(b, ' ');
        else buf_addc(b, *s);
    }
}

static int write_contingency_md(const json_t *rec, const char *path, char *err)
{
    struct buf b;
    buf_init(&b, 4 << 20);
    const json_t *rows = json_object_get(rec, "matrix");
    buf_adds(&b, "## Contingency ");
    md_text(&b, report_jstr(rec, "kind_label", "N-1"));
    buf_adds(&b, " of '");
    md_text(&b, report_jstr(json_object_get(rec, "plan"), "name", "?"));
    buf_adds(&b, "'\n\n**");
    md_text(&b, report_jstr(rec, "overall", "?"));
    size_t passed = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (!strcmp(report_jstr(json_array_get(rows, i), "verdict", ""), "passed")) passed++;
    buf_addf(&b, "** (%zu of %zu combinations survived)\n\n", passed, json_array_size(rows));
    buf_adds(&b, "| lost | verdict | worst p95 | error rate | recovery | why | report |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        char p95[32], rate[32], recov[32];
        fmt_cell_ms(r, "worst_p95_ms", p95);
        fmt_rate(r, rate);
        fmt_recovery(r, recov);
        buf_adds(&b, "| ");
        const json_t *lost = json_object_get(r, "lost");
        for (size_t k = 0; k < json_array_size(lost); k++) {
            if (k) buf_adds(&b, ", ");
            md_text(&b, json_string_value(json_array_get(lost, k)));
        }
        buf_addf(&b, " | %s | %s | %s | %s | ", report_jstr(r, "verdict", "?"), p95, rate, recov);
        md_text(&b, report_jstr(r, "why", ""));
        buf_adds(&b, " | ");
        md_text(&b, report_jstr(r, "report", ""));
        buf_adds(&b, " |\n");
    }
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the table is too large", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}

static void print_table(const json_t *rec)
{
    const json_t *rows = json_object_get(rec, "matrix");
    int w = 4;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        int l = (int)strlen(report_jstr(json_array_get(rows, i), "lose", ""));
        if (l > w) w = l;
    }
    printf("\ncontingency %s of '%s':\n", report_jstr(rec, "kind_label", "N-1"),
           report_jstr(json_object_get(rec, "plan"), "name", "?"));
    printf("  %-*s  %-13s  %-10s  %-10s  %-13s  %s\n", w, "lost", "verdict", "worst p95", "error rate", "recovery", "why");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        char p95[32], rate[32], recov[32];
        fmt_cell_ms(r, "worst_p95_ms", p95);
        fmt_rate(r, rate);
        fmt_recovery(r, recov);
        printf("  %-*s  %-13s  %-10s  %-10s  %-13s  %.160s\n", w, report_jstr(r, "lose", ""), report_jstr(r, "verdict", "?"),
               p95, rate, recov, report_jstr(r, "why", ""));
    }
    printf("%s\n", report_jstr(rec, "overall", "?"));
}

/* ---- the run ------------------------------------------------------------------------ */
static json_t *not_run_row(char **lose, const size_t *idx, size_t k)
{
    json_t *lost = json_array();
    struct buf lb;
    buf_init(&lb, 0);
    for (size_t j = 0; j < k; j++) {
        json_array_append_new(lost, json_string(lose[idx[j]]));
        if (j) buf_addc(&lb, '+');
        buf_adds(&lb, lose[idx[j]]);
    }
    json_t *row = json_pack("{s:s, s:o, s:s, s:n, s:s}", "lose", lb.data, "lost", lost, "verdict", "not_run", "exit_code",
                            "why", "not run: the matrix stopped early");
    buf_release(&lb);
    return row;
}

int matrix_run(const char *path, const char *const *vars, const struct run_opts *ro, const char *dir, json_t **rec)
{
    char err[FL_ERR_LEN];
    double wall0 = fl_wall();
    int64_t t0 = fl_now_ms();
    *rec = json_object();
    struct plan *p = cmd_load_plan(path, vars, NULL);
    if (!p) {
        json_object_set_new(*rec, "verdict", json_string("invalid"));
        json_object_set_new(*rec, "exit_code", json_integer(FL_EXIT_INVALID));
        return FL_EXIT_INVALID;
    }
    size_t n = p->nmatrix_lose, k = (size_t)(p->matrix_choose > 0 ? p->matrix_choose : 1);
    char label[16];
    snprintf(label, sizeof label, "N-%zu", k);
    json_t *lose_arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(lose_arr, json_string(p->matrix_lose[i]));
    json_object_set_new(*rec, "faultline_version", json_string(FL_VERSION));
    json_object_set_new(*rec, "format", json_integer(FL_RUN_FORMAT));
    json_object_set_new(*rec, "plan", json_pack("{s:s, s:s, s:s?, s:s?}", "name", p->name, "path", p->path, "hash", p->hash,
                                                "description", p->description));
    json_object_set_new(*rec, "choose", json_integer((json_int_t)k));
    json_object_set_new(*rec, "kind_label", json_string(label));
    json_object_set_new(*rec, "lose", lose_arr);
    char iso[32];
    fl_iso8601(wall0, iso);
    json_object_set_new(*rec, "started_at", json_string(iso));

    size_t total = n >= k ? n_choose_k(n, k) : 0;
    if (k > MATRIX_MAX_CHOOSE || total == 0 || total > MATRIX_MAX_COMBOS) {
        fprintf(stderr, "faultline: matrix of '%s': choose %zu out of %zu targets makes %s combinations; at most %d are run\n",
                p->name, k, n, total > MATRIX_MAX_COMBOS ? "too many" : "no", MATRIX_MAX_COMBOS);
        json_object_set_new(*rec, "verdict", json_string("invalid"));
        json_object_set_new(*rec, "exit_code", json_integer(FL_EXIT_INVALID));
        plan_free(p);
        return FL_EXIT_INVALID;
    }

    json_t *rows = json_array();
    json_t *fails = json_array(), *undecided = json_array();
    size_t idx[MATRIX_MAX_CHOOSE];
    for (size_t j = 0; j < k; j++) idx[j] = j;
    int worst = 0, stopped = 0;
    size_t done = 0;
    int journal_noted = 0;
    do {
        if (stopped) { json_array_append_new(rows, not_run_row(p->matrix_lose, idx, k)); continue; }
        struct buf bind, plus;
        buf_init(&bind, 0);
        buf_init(&plus, 0);
        json_t *lost = json_array();
        for (size_t j = 0; j < k; j++) {
            if (j) { buf_addc(&bind, ','); buf_addc(&plus, '+'); }
            buf_adds(&bind, p->matrix_lose[idx[j]]);
            buf_adds(&plus, p->matrix_lose[idx[j]]);
            json_array_append_new(lost, json_string(p->matrix_lose[idx[j]]));
        }
        char *sub = fl_asprintf("%s/lose-%s", dir, plus.data);
        json_t *row = json_pack("{s:s, s:o}", "lose", plus.data, "lost", lost);
        fl_log(FL_LOG_INFO, "matrix %zu/%zu of '%s': losing %s", done + 1, total, p->name, plus.data);
        int rc;
        json_t *one = NULL;
        struct plan *pc = cmd_load_plan(path, vars, bind.data);
        if (!pc) {
            rc = FL_EXIT_INVALID;
            json_object_set_new(row, "verdict", json_string("invalid"));
            json_object_set_new(row, "why", json_string("the plan is invalid with this combination"));
        } else {
            struct run_opts r2 = *ro;
            r2.report_dir = sub;
            /* the folder first: services write their logs there */
            json_t *empty = json_object();
            if (report_write_all(empty, sub, err) < 0) fprintf(stderr, "faultline: %s\n", err);
            json_decref(empty);
            rc = run_plan(pc, &r2, &one);
            if (report_write_all(one, sub, err) < 0) fprintf(stderr, "faultline: %s\n", err);
            json_object_set_new(row, "verdict", json_string(report_jstr(one, "verdict", fl_exit_verdict(rc))));
            char *why = matrix_why(one);
            json_object_set_new(row, "why", json_string(why));
            free(why);
            json_object_set(row, "started_at", json_object_get(one, "started_at") ? json_object_get(one, "started_at") : json_null());
            json_object_set(row, "seed", json_object_get(one, "seed") ? json_object_get(one, "seed") : json_null());
            matrix_figures(one, row);
            if (rc == FL_EXIT_REVERT && !journal_noted && report_jstr(one, "journal", NULL)) {
                json_object_set_new(*rec, "journal", json_string(report_jstr(one, "journal", NULL)));
                journal_noted = 1;
            }
            plan_free(pc);
        }
        json_object_set_new(row, "exit_code", json_integer(rc));
        json_object_set_new(row, "report", json_string(sub));
        {
            char p95[32], rate[32], recov[32];
            fmt_cell_ms(row, "worst_p95_ms", p95);
            fmt_rate(row, rate);
            fmt_recovery(row, recov);
            printf("lose %s: %s (exit %d), worst p95 %s, error rate %s, recovery %s; report: %s\n", plus.data,
                   report_jstr(row, "verdict", "?"), rc, p95, rate, recov, sub);
            fflush(stdout);
        }
        if (rc == FL_EXIT_INCONCLUSIVE) json_array_append_new(undecided, json_string(plus.data));
        else if (rc != FL_EXIT_OK) json_array_append_new(fails, json_string(plus.data));
        json_array_append_new(rows, row);
        json_decref(one);
        free(sub);
        buf_release(&bind);
        buf_release(&plus);
        done++;
        worst = fl_exit_worse(worst, rc);
        if (rc == FL_EXIT_ABORTED || rc == FL_EXIT_REVERT || fl_aborted()) stopped = 1;
    } while (next_combo(idx, k, n));

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
    if (worst == FL_EXIT_OK && done < total) worst = FL_EXIT_ABORTED;
    fl_iso8601(fl_wall(), iso);
    json_object_set_new(*rec, "ended_at", json_string(iso));
    json_object_set_new(*rec, "elapsed_ms", json_integer(fl_now_ms() - t0));
    json_object_set_new(*rec, "matrix", rows);
    json_object_set_new(*rec, "holds", json_boolean(json_array_size(fails) == 0 && json_array_size(undecided) == 0 &&
                                                    done == total));
    json_object_set_new(*rec, "fails_at", fails);
    json_object_set_new(*rec, "inconclusive_at", undecided);
    json_object_set_new(*rec, "overall", json_string(overall.data));
    json_object_set_new(*rec, "verdict", json_string(fl_exit_verdict(worst)));
    json_object_set_new(*rec, "exit_code", json_integer(worst));
    buf_release(&overall);

    char mpath[1100];
    snprintf(mpath, sizeof mpath, "%s/matrix.json", dir);
    if (report_json(*rec, mpath, err) < 0) fprintf(stderr, "faultline: %s\n", err);
    snprintf(mpath, sizeof mpath, "%s/contingency.md", dir);
    if (write_contingency_md(*rec, mpath, err) < 0) fprintf(stderr, "faultline: %s\n", err);
    if (report_write_all(*rec, dir, err) < 0) fprintf(stderr, "faultline: %s\n", err);
    print_table(*rec);
    printf("  report: %s/matrix.json, %s/contingency.md\n", dir, dir);
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
