/* test_prom_reply.c -- the Prometheus reply reader of the `prometheus` probe (prom.h): known
 * answers, and the fuzz corpus (tests/fuzz/corpus/prom_json) replayed through the fuzz
 * target's own checks. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "prom.h"

#define FUZZ_FAIL(...) th_fail(__FILE__, __LINE__, __VA_ARGS__)
#define FUZZ_PROM_ENTRY fuzz_prom_json_one
#include "../fuzz/fuzz_prom_json.c"

static int parse(const char *s, struct prom_result *r, char *err) { return prom_parse_reply(s, strlen(s), r, err); }

TEST(prom_reply_vector_matrix_scalar)
{
    struct prom_result r;
    char err[FL_ERR_LEN];
    ASSERT_MSG(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                     "{\"metric\":{\"__name__\":\"up\",\"job\":\"a\",\"instance\":\"h:1\"},\"value\":[1700000000.5,\"1\"]},"
                     "{\"metric\":{},\"value\":[1700000000.5,\"NaN\"]}]}}", &r, err) == 0, "%s", err);
    ASSERT_EQ_INT(r.type, PROM_VECTOR);
    ASSERT_EQ_INT(r.n, 2);
    ASSERT_EQ_STR(r.series[0].labels, "up{job=\"a\",instance=\"h:1\"}");
    ASSERT_EQ_STR(r.series[1].labels, "{}");
    ASSERT_NEAR(r.series[0].t[0], 1700000000.5, 1e-6);
    ASSERT_EQ_INT(r.series[0].v[0], 1);
    ASSERT(isnan(r.series[1].v[0]));
    ASSERT(isnan(prom_aggregate(&r.series[1], PROM_AGG_MAX)));
    prom_result_release(&r);

    ASSERT_MSG(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                     "{\"metric\":{\"__name__\":\"g\"},\"values\":[[1,\"1\"],[2,\"5\"],[3,\"NaN\"],[4,\"2\"]]}]}}", &r, err) == 0, "%s", err);
    ASSERT_EQ_INT(r.type, PROM_MATRIX);
    ASSERT_EQ_INT(r.series[0].n, 4);
    ASSERT_EQ_INT(prom_aggregate(&r.series[0], PROM_AGG_MAX), 5);
    ASSERT_EQ_INT(prom_aggregate(&r.series[0], PROM_AGG_MIN), 1);
    ASSERT_EQ_INT(prom_aggregate(&r.series[0], PROM_AGG_LAST), 2);    /* the last number, NaN skipped */
    ASSERT_NEAR(prom_aggregate(&r.series[0], PROM_AGG_AVG), 8.0 / 3, 1e-12);
    prom_result_release(&r);

    ASSERT_MSG(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"-Inf\"]}}", &r, err) == 0, "%s", err);
    ASSERT_EQ_INT(r.type, PROM_SCALAR);
    ASSERT_EQ_INT(r.n, 1);
    ASSERT(isinf(r.series[0].v[0]) && r.series[0].v[0] < 0);
    prom_result_release(&r);

    ASSERT_MSG(parse("{\"status\":\"success\",\"warnings\":[\"w1\",\"w2\"],\"data\":{\"resultType\":\"vector\",\"result\":[]}}", &r, err) == 0, "%s", err);
    ASSERT_EQ_INT(r.n, 0);
    ASSERT_EQ_STR(r.warnings, "w1; w2");
    prom_result_release(&r);
}

TEST(prom_reply_errors_say_why)
{
    struct prom_result r;
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(parse("{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query timed out in expression evaluation\"}", &r, err), -1);
    ASSERT_EQ_STR(err, "execution: query timed out in expression evaluation");
    ASSERT_EQ_INT(parse("{\"status\":\"\"}", &r, err), -1); /* found by the fuzzer: an empty reason */
    ASSERT_EQ_STR(err, "Prometheus answered status \"\" without a message");
    ASSERT_EQ_INT(parse("404 page not found\n", &r, err), -1);
    ASSERT_EQ_STR(err, "not a Prometheus API reply (not JSON)");
    ASSERT_EQ_INT(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"x1\"]}]}}", &r, err), -1);
    ASSERT_CONTAINS(err, "sample value 'x1' is not a number");
    ASSERT_EQ_INT(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"histogram\":[1,{}]}]}}", &r, err), -1);
    ASSERT_CONTAINS(err, "native histograms are not compared");
    ASSERT_EQ_INT(r.n, 0);
    ASSERT(r.series == NULL);
}

static void one_prom(const char *data, size_t n) { fuzz_prom_json_one((const uint8_t *)data, n); }

TEST(fuzz_corpus_prom_json)
{
    DIR *d = opendir("tests/fuzz/corpus/prom_json");
    ASSERT_MSG(d != NULL, "no tests/fuzz/corpus/prom_json");
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "tests/fuzz/corpus/prom_json/%s", e->d_name);
        FILE *f = fopen(path, "rb");
        ASSERT_MSG(f, "cannot open %s", path);
        char *buf = malloc(1 << 20);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        char *exact = malloc(len ? len : 1); /* a buffer of exactly the input's size, as libFuzzer gives */
        memcpy(exact, buf, len);
        free(buf);
        one_prom(exact, len);
        free(exact);
        n++;
    }
    closedir(d);
    ASSERT_MSG(n >= 20, "prom_json corpus has only %zu inputs", n);
}
