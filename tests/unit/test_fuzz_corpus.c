/* test_fuzz_corpus.c -- every input the fuzzers keep (tests/fuzz/corpus/) replayed through
 * the same entry points as regression tests: each must parse or fail cleanly. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "plan.h"

static size_t replay(const char *dir, void (*fn)(const char *data, size_t n))
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    size_t n = 0;
    static char buf[1 << 20];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        fn(buf, len);
        n++;
    }
    closedir(d);
    return n;
}

static size_t valid_plans;
static void one_plan(const char *data, size_t n)
{
    struct diag d;
    diag_init(&d, "corpus.yaml");
    struct plan *p = plan_parse("corpus.yaml", data, n, NULL, &d);
    if (p && d.n == 0) valid_plans++;
    /* an invalid plan must say why */
    if (!p || d.n) ASSERT_MSG(d.n > 0, "a rejected plan without a diagnostic");
    plan_free(p);
    diag_release(&d);
}

TEST(fuzz_corpus_plan_parser)
{
    size_t n = replay("tests/fuzz/corpus/plan", one_plan);
    ASSERT_MSG(n >= 30, "plan corpus has only %zu inputs", n);
}
