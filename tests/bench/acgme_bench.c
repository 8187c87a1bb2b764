/* acgme_bench.c -- the reference ACGME validator's speed on the seeds' datasets (100
 * residents x 4 weeks = 5.6K assignments, limit 5 s; x 12 weeks = 16.8K, limit 15 s) and
 * on 1M assignments; medians over several runs, and the ratio to the seeds' limits.
 *   build/acgme-bench [--runs N]        (tests/bench/acgme_bench.sh builds and runs it)
 * Exit status 1 when a goal (16.8K under 5 ms, 1M under 0.5 s) is missed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acgme_gen.h"
#include "acgme_ref.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the seeds' fixture: every resident on every AM and PM block (PGY mix 40/35/25%), plus
 * `faculty` faculty listed (the seeds' 30) but, as in the fixture, not assigned */
static struct acgme_case *full_grid(int residents, int faculty, int days)
{
    struct acgme_case *c = acgme_case_new();
    char id[64], bid[64];
    int32_t d0;
    acgme_parse_date("2026-01-05", &d0);
    for (int r = 0; r < residents; r++) {
        snprintf(id, sizeof id, "r%d", r);
        int pgy = r % 20 < 8 ? 1 : r % 20 < 15 ? 2 : 3;
        acgme_add_person(c, id, id, ACGME_RESIDENT, pgy);
    }
    for (int f = 0; f < faculty; f++) {
        snprintf(id, sizeof id, "f%d", f);
        acgme_add_person(c, id, id, ACGME_FACULTY, 0);
    }
    for (int d = 0; d < days; d++)
        for (int h = 0; h < 2; h++) {
            snprintf(bid, sizeof bid, "b%d%s", d, h ? "pm" : "am");
            acgme_add_block(c, bid, d0 + d, h ? ACGME_PM : ACGME_AM);
        }
    long n = 0;
    for (int r = 0; r < residents; r++)
        for (int d = 0; d < days; d++)
            for (int h = 0; h < 2; h++) {
                snprintf(id, sizeof id, "a%ld", n++);
                snprintf(bid, sizeof bid, "b%d%s", d, h ? "pm" : "am");
                char pid[32];
                snprintf(pid, sizeof pid, "r%d", r);
                acgme_add_assignment(c, id, bid, pid, "primary");
            }
    return c;
}

static struct acgme_case *generated(int residents, int faculty, int weeks)
{
    struct acgme_gen_opts o;
    acgme_gen_defaults(&o);
    o.residents = residents;
    o.faculty = faculty;
    o.weeks = weeks;
    o.seed = 2026;
    char err[512];
    struct acgme_case *c = acgme_generate(&o, err);
    if (!c) {
        fprintf(stderr, "acgme bench: %s\n", err);
        exit(2);
    }
    return c;
}

struct row {
    const char *name;
    struct acgme_case *c;
    double limit_ms;     /* the seeds' limit, 0 = none */
    double goal_ms;      /* faultline's goal, 0 = none */
    int runs;
};

int main(int argc, char **argv)
{
    int runs = 15;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    if (runs < 3) runs = 3;
    struct row rows[] = {
        { "100 residents x 4 weeks, full grid (seeds)", full_grid(100, 30, 28), 5000, 0, runs },
        { "100 residents x 12 weeks, full grid (seeds)", full_grid(100, 30, 84), 15000, 5, runs },
        { "100 res / 30 fac x 4 weeks, generated", generated(100, 30, 4), 5000, 0, runs },
        { "100 res / 30 fac x 12 weeks, generated", generated(100, 30, 12), 15000, 0, runs },
        { "1000 residents x 500 days, full grid (1M)", full_grid(1000, 100, 500), 0, 500, runs > 7 ? 7 : runs },
    };
    int missed = 0;
    printf("acgme bench: reference validator (probes/acgme_ref.c), wall time of acgme_ref_validate()\n");
    printf("%-46s %11s %10s %11s %11s %11s %10s  %s\n", "dataset", "assignments", "violations", "median", "min",
           "+JSON", "vs limit", "goal");
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        struct row *r = &rows[i];
        double *t = calloc((size_t)r->runs, sizeof *t), *tj = calloc((size_t)r->runs, sizeof *tj);
        size_t nv = 0;
        for (int k = 0; k < r->runs; k++) {
            struct acgme_answer a;
            double t0 = now_ms();
            acgme_ref_validate(r->c, NULL, &a);
            double t1 = now_ms();
            json_t *j = acgme_answer_json(&a);
            char *s = json_dumps(j, JSON_COMPACT);
            double t2 = now_ms();
            free(s);
            json_decref(j);
            nv = a.n;
            acgme_answer_release(&a);
            t[k] = t1 - t0;
            tj[k] = t2 - t0;
        }
        qsort(t, (size_t)r->runs, sizeof *t, cmp_d);
        qsort(tj, (size_t)r->runs, sizeof *tj, cmp_d);
        double med = t[r->runs / 2], medj = tj[r->runs / 2];
        char vs[32] = "-", goal[48] = "-";
        if (r->limit_ms > 0) snprintf(vs, sizeof vs, "%.0fx under", r->limit_ms / medj);
        if (r->goal_ms > 0) {
            int met = med < r->goal_ms;
            missed += !met;
            snprintf(goal, sizeof goal, "< %g ms: %s", r->goal_ms, met ? "met" : "MISSED");
        }
        printf("%-46s %11zu %10zu %8.3f ms %8.3f ms %8.3f ms %10s  %s\n", r->name, r->c->nassigns, nv, med, t[0], medj,
               vs, goal);
        free(t);
        free(tj);
        acgme_case_free(r->c);
    }
    printf("(median of %d runs, 7 for 1M; \"+JSON\" adds building and printing the answer; \"vs limit\" is the\n"
           " seeds' limit (5 s for 5.6K, 15 s for 16.8K) divided by the median with JSON)\n",
           runs);
    return missed ? 1 : 0;
}
