/* test_fuzz_corpus.c -- every input the fuzzers keep (tests/fuzz/corpus/<target>/) replayed
 * through the same entry points as regression tests: each must parse or fail cleanly, and
 * pass the checks the fuzz target makes. Inputs are handed over in buffers of their exact
 * size, as libFuzzer does, so under `make asan` a read past the end is caught here too.
 * tests/fuzz/crashes/<target>-* are minimized reproducers of crashes still open (not replayed
 * here); once fixed, a reproducer moves into its target's corpus and is replayed from then on.
 *
 * The Docker and HTTP targets are compiled in from tests/fuzz/ under other names (their fake
 * daemon / HTTP server comes with them), so the corpus meets the very code the fuzzer ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "journal.h"
#include "plan.h"

#define FUZZ_FAIL(...) th_fail(__FILE__, __LINE__, __VA_ARGS__)
#define FUZZ_DOCKER_ENTRY fuzz_docker_json_one
#define FUZZ_HTTP_ENTRY fuzz_http_json_one
#define FUZZ_JOURNAL_ENTRY fuzz_journal_one
#define FUZZ_PROXY_API_ENTRY fuzz_proxy_api_one
#define FUZZ_LOAD_LINES_ENTRY fuzz_load_lines_one
#define FUZZ_COMPARE_ENTRY fuzz_compare_one
#define FUZZ_COMPOSE_ENTRY fuzz_compose_one
#include "../fuzz/fuzz_docker_json.c"
#include "../fuzz/fuzz_http_json.c"
#include "../fuzz/fuzz_journal.c"
#include "../fuzz/fuzz_proxy_api.c"
#include "../fuzz/fuzz_load_lines.c"
#include "../fuzz/fuzz_compare.c"
#include "../fuzz/fuzz_compose.c"

typedef void (*replay_fn)(const char *data, size_t n);

/* one input file in a malloc'd buffer of exactly its size */
static void replay_file(const char *path, replay_fn fn)
{
    FILE *f = fopen(path, "rb");
    ASSERT_MSG(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    ASSERT_MSG(len >= 0 && len <= (1 << 20), "%s: %ld bytes", path, len);
    char *data = malloc(len ? (size_t)len : 1);
    ASSERT_EQ_INT(fread(data, 1, (size_t)len, f), len);
    fclose(f);
    fn(data, (size_t)len);
    free(data);
}

/* every file of dir */
static size_t replay(const char *dir, replay_fn fn)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        replay_file(path, fn);
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

/* a test replaying tests/fuzz/corpus/<target>/ through fuzz_<target>_one, the fuzz target's
 * own entry point; the corpus must hold at least min inputs (one that shrank by mistake fails) */
#define CORPUS_TEST(target, min, timeout_s)                                                   \
    static void one_##target(const char *data, size_t n) { fuzz_##target##_one((const uint8_t *)data, n); } \
    TEST_T(fuzz_corpus_##target, timeout_s)                                                  \
    {                                                                                        \
        size_t n = replay("tests/fuzz/corpus/" #target, one_##target);                        \
        ASSERT_MSG(n >= (min), #target " corpus has only %zu inputs", n);                     \
    }

CORPUS_TEST(docker_json, 17, 120)
CORPUS_TEST(http_json, 17, 180)
CORPUS_TEST(compose, 8, 30)
CORPUS_TEST(proxy_api, 8, 30)
CORPUS_TEST(journal, 15, 30)
CORPUS_TEST(compare, 7, 30)
CORPUS_TEST(load_lines, 20, 30)

/* known answers of the journal reader: an old journal ("inject"/"revert") still counts; a torn
 * line is reported and the records around it are honoured */
TEST(fuzz_corpus_journal_known_answers)
{
    static const char old[] =
        "{\"op\":\"begin\",\"run\":\"r\",\"pid\":1}\n"
        "{\"op\":\"inject\",\"run\":\"r\",\"id\":1,\"step\":\"a\",\"kind\":\"exec\",\"rec\":{}}\n"
        "{\"op\":\"inject\",\"run\":\"r\",\"id\":2,\"step\":\"b\",\"kind\":\"exec\",\"rec\":{}}\n"
        "{\"op\":\"revert\",\"run\":\"r\",\"id\":1,\"ok\":true}\n"
        "{\"op\":\"reverted\",\"run\":\"r\",\"id\":2,\"ok\":fal"
        "\n{\"op\":\"intent\",\"run\":\"s\",\"id\":1,\"step\":\"c\",\"kind\":\"exec\",\"rec\":{}}\n"
        "{\"op\":\"progress\",\"run\":\"s\",\"id\":1,\"phase\":\"inject\",\"item\":0,\"note\":{\"x\":1}}\n"
        "{\"op\":\"reverted\",\"run\":\"s\",\"id\":";
    json_t *problems = NULL;
    json_t *p = journal_parse(old, sizeof old - 1, &problems);
    ASSERT_EQ_INT(json_array_size(p), 2);
    json_t *b = json_array_get(p, 0), *c = json_array_get(p, 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(b, "step")), "b");
    ASSERT(json_is_true(json_object_get(b, "done")));        /* an old inject was recorded after the effect */
    ASSERT_EQ_STR(json_string_value(json_object_get(c, "step")), "c");
    ASSERT(json_is_false(json_object_get(c, "done")));       /* an intent alone: possibly applied */
    ASSERT_EQ_INT(json_array_size(json_object_get(c, "progress")), 1);
    ASSERT_EQ_INT(json_array_size(problems), 2);
    ASSERT_CONTAINS(json_string_value(json_array_get(problems, 0)), "line 5");
    ASSERT_CONTAINS(json_string_value(json_array_get(problems, 0)), "not a whole journal record");
    ASSERT_CONTAINS(json_string_value(json_array_get(problems, 1)), "line 8");
    ASSERT_CONTAINS(json_string_value(json_array_get(problems, 1)), "is torn");
    json_decref(p);
    json_decref(problems);
}

/* known answers through the same entry points and fake servers the corpus replay uses */
TEST(fuzz_corpus_known_answers)
{
    /* the probe expects status=ok; the reply says so: must pass (checked inside) */
    static const char ok[] = "\x00\x00status=ok\n\n{\"status\":\"ok\"}";
    fuzz_http_json_one((const uint8_t *)ok, sizeof ok - 1);
    /* the login reply holds a token at a.b: the next request must carry it */
    static const char login[] = "\x01\x00" "a.b\n{\"a\":{\"b\":\"t0k\"}}";
    fuzz_http_json_one((const uint8_t *)login, sizeof login - 1);
    pthread_mutex_lock(&hj.mu);
    ASSERT_EQ_INT(hj.requests, 0); /* reset after the input */
    pthread_mutex_unlock(&hj.mu);
    /* a list of two containers with ids resolves to both (checked inside), sorted */
    static const char list[] = "\x04\x00\x00[{\"Id\":\"b\",\"Names\":[\"/y\"]},{\"Id\":\"a\",\"Names\":[\"/x\"]}]";
    fuzz_docker_json_one((const uint8_t *)list, sizeof list - 1);
    char **ids = NULL, **names = NULL, err[FL_ERR_LEN];
    size_t n = 0;
    char *labels[] = { "app=web" };
    struct docker_target dt = { .labels = labels, .nlabels = 1, .summary = "label app=web" };
    struct target t = { .name = "t", .cfg = &dt };
    dj_set(200, (const uint8_t *)list + 3, sizeof list - 4);
    ASSERT_MSG(docker_target_resolve(&t, &dj_client, 1, NULL, &ids, &names, &n, err) == 0, "resolve: %s", err);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(ids[0], "a");
    ASSERT_EQ_STR(names[1], "y");
    param_strv_free(ids);
    param_strv_free(names);
    /* require_label refuses the unlabelled pair */
    ASSERT(docker_target_resolve(&t, &dj_client, 1, "faultline=ok", &ids, &names, &n, err) < 0);
    ASSERT_CONTAINS(err, "require_label");
    dj_set(503, NULL, 0);
}
