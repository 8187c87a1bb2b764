/* fuzz_compare.c -- libFuzzer target: `faultline compare` and the drill's baseline on run
 * records from outside (run.json files, history entries), whose latency histograms and
 * per-second series the significance tests read (reports/compare.c).
 *
 * Input: JSON documents separated by a NUL byte; the last is CURRENT, the others (1..8)
 * the baseline runs, oldest first. An input with fewer than two documents compares the one
 * with itself. Checks besides "no crash": the regression count is the number of rows marked
 * regressed, no row is both too few and regressed, a record compared with itself regresses
 * nothing, and the table and the JSON rows render.
 *
 *   build/fuzz/fuzz_compare tests/fuzz/corpus/compare -max_total_time=600
 * tests/unit/test_fuzz_corpus.c includes this file (FUZZ_COMPARE_ENTRY, FUZZ_FAIL) to replay
 * the corpus through the same function.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "compare.h"
#include "fl.h"

#ifndef FUZZ_COMPARE_ENTRY
#define FUZZ_COMPARE_ENTRY LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) (fprintf(stderr, "fuzz_compare: " __VA_ARGS__), fputc('\n', stderr), abort())
#endif

#define MAX_DOCS 9

static void check(const struct cmp_result *res)
{
    int regs = 0;
    for (size_t i = 0; i < res->nrows; i++) {
        regs += res->rows[i].regressed;
        if (res->rows[i].regressed && res->rows[i].status == CMP_FEW) FUZZ_FAIL("row %zu is too few and regressed", i);
    }
    if (regs != res->regressions) FUZZ_FAIL("%d rows regressed, the count says %d", regs, res->regressions);
    struct buf b;
    buf_init(&b, 0);
    cmp_format(res, &b);
    if (!b.data || !strstr(b.data, "regression")) FUZZ_FAIL("no closing line");
    buf_release(&b);
    json_t *rows = cmp_rows_json(res);
    if (!json_is_array(rows)) FUZZ_FAIL("rows are not an array");
    json_decref(rows);
}

int FUZZ_COMPARE_ENTRY(const uint8_t *data, size_t size);
int FUZZ_COMPARE_ENTRY(const uint8_t *data, size_t size)
{
    json_t *docs[MAX_DOCS];
    size_t nd = 0, start = 0;
    for (size_t i = 0; i <= size && nd < MAX_DOCS; i++) {
        if (i < size && data[i]) continue;
        json_t *d = json_loadb((const char *)data + start, i - start, JSON_DECODE_ANY, NULL);
        if (d) docs[nd++] = d;
        start = i + 1;
    }
    if (!nd) return 0;
    struct cmp_rules rules;
    cmp_rules_default(&rules);
    struct cmp_result res;
    char err[FL_ERR_LEN];
    const json_t *cur = docs[nd - 1];
    if (cmp_runs(cur, cur, &rules, &res, err) == 0) {
        check(&res);
        if (res.regressions) FUZZ_FAIL("a record compared with itself regressed %d figures", res.regressions);
    }
    cmp_release(&res);
    if (nd > 1 && cmp_baseline((const json_t *const *)docs, nd - 1, cur, &rules, &res, err) == 0) check(&res);
    cmp_release(&res);
    json_decref(cmp_figures(cur));
    for (size_t i = 0; i < nd; i++) json_decref(docs[i]);
    return 0;
}
