/* test_demo.c -- `make demo`'s experiment end to end (scripts/demo.sh, plans/demo.yaml):
 * the healthy demo service passes every probe; the same service with a planted defect
 * (reads hang while the database is frozen) fails exactly the probe that guards it. */
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>
#include "harness.h"

TEST_FILE_USES(""); /* its own stack on free ports */

static int run_demo(const char *defect, json_t **rec)
{
    const char *d = th_tmpdir();
    char out[65536];
    int rc = th_sh(out, sizeof out,
                   "FL_DEMO_DEFECT=%s FL_DEMO_REPORT='%s/out' FAULTLINE_JOURNAL='%s/journal.jsonl' "
                   "FL_DEMO_PG_PORT=%d FL_DEMO_PG_LINK_PORT=%d FL_DEMO_REDIS_PORT=%d FL_DEMO_API_PORT=%d "
                   "sh scripts/demo.sh 2>&1",
                   defect, d, d, th_free_port(), th_free_port(), th_free_port(), th_free_port());
    char path[512];
    snprintf(path, sizeof path, "%s/out/run.json", d);
    *rec = json_load_file(path, 0, NULL);
    if (!*rec) printf("%s\n", out);
    return rc;
}

static json_t *probe(json_t *rec, const char *name)
{
    json_t *ps = json_object_get(rec, "probes");
    for (size_t i = 0; i < json_array_size(ps); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(ps, i), "name")), name)) return json_array_get(ps, i);
    return NULL;
}

TEST_T(demo_healthy_service_passes, 300)
{
    if (access("/usr/bin/redis-server", X_OK) != 0) SKIP("redis-server is not installed (apt-get install redis-server)");
    json_t *rec = NULL;
    int rc = run_demo("none", &rec);
    ASSERT_MSG(rec != NULL, "no run.json");
    json_t *ps = json_object_get(rec, "probes");
    for (size_t i = 0; i < json_array_size(ps); i++) {
        json_t *p = json_array_get(ps, i);
        const char *v = json_string_value(json_object_get(p, "verdict"));
        ASSERT_MSG(!strcmp(v, "passed"), "probe %s: %s (%s)", json_string_value(json_object_get(p, "name")), v,
                   json_string_value(json_object_get(json_object_get(p, "failure"), "observed")));
    }
    ASSERT(json_array_size(ps) >= 8);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(rec, "verdict")), "passed");
    /* every fault injected and reverted */
    json_t *steps = json_object_get(rec, "steps");
    for (size_t i = 0; i < json_array_size(steps); i++)
        ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(steps, i), "status")), "reverted");
    /* recovery was measured, not assumed */
    json_t *r = probe(rec, "ready-after-db-freeze");
    ASSERT(r != NULL);
    json_t *ob = json_array_get(json_object_get(r, "observations"), 0);
    ASSERT(json_is_real(json_object_get(ob, "value")));
    json_decref(rec);
}

TEST_T(demo_planted_defect_fails_its_probe, 300)
{
    if (access("/usr/bin/redis-server", X_OK) != 0) SKIP("redis-server is not installed (apt-get install redis-server)");
    json_t *rec = NULL;
    int rc = run_demo("hang-reads", &rec);
    ASSERT_MSG(rec != NULL, "no run.json");
    ASSERT_EQ_INT(rc, 1);
    json_t *p = probe(rec, "reads-fail-fast-while-db-frozen");
    ASSERT(p != NULL);
    ASSERT_EQ_STR(json_string_value(json_object_get(p, "verdict")), "failed");
    ASSERT_EQ_STR(json_string_value(json_object_get(json_object_get(p, "failure"), "reason")), "unhealthy");
    ASSERT_CONTAINS(json_string_value(json_object_get(json_object_get(p, "failure"), "observed")), "max=");
    /* the faults unrelated to the defect still pass */
    ASSERT_EQ_STR(json_string_value(json_object_get(probe(rec, "reads-survive-redis-loss"), "verdict")), "passed");
    ASSERT_EQ_STR(json_string_value(json_object_get(probe(rec, "queue-drains-after-worker-restart"), "verdict")), "passed");
    json_decref(rec);
}
