/* test_init.c -- `faultline init`: the annotated reference plan (the same as
 * docs/plan-reference.yaml, and valid), and starter plans from three compose files (the
 * users' stack, a minimal one, a broken one) that validate, warn until their SLO
 * placeholders are confirmed, and never copy a value of the compose file's environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compose.h"
#include "fl.h"
#include "harness.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

TEST(init_reference_plan_is_the_docs_one_and_valid)
{
    static char out[1 << 17];
    const char *d = th_tmpdir();
    int rc = th_sh(out, sizeof out, "'%s' init -o - 2>&1 | cmp - docs/plan-reference.yaml", th_faultline());
    ASSERT_MSG(rc == 0, "faultline init differs from docs/plan-reference.yaml: run sh scripts/init-reference.sh (%s)", out);
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' init 2>&1 && ADMIN_PASSWORD=x '%s' validate plan.yaml 2>&1", d, th_faultline(),
               th_faultline());
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "plan.yaml: valid");
    /* never overwrites without --force */
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' init 2>&1", d, th_faultline());
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "'plan.yaml' exists");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "cd '%s' && '%s' init --force 2>&1", d, th_faultline()), 0);
    /* the secret it uses is asked of the environment */
    rc = th_sh(out, sizeof out, "cd '%s' && env -u ADMIN_PASSWORD '%s' validate plan.yaml 2>&1", d, th_faultline());
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "export ADMIN_PASSWORD=...");
}

TEST(init_compose_users_stack)
{
    static char out[1 << 17];
    const char *d = th_tmpdir();
    int rc = th_sh(out, sizeof out, "'%s' init --compose tests/fixtures/compose/residency.yml -o '%s/plan.yaml' 2>&1",
                   th_faultline(), d);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "7 services, 2 stateful");
    char path[512];
    snprintf(path, sizeof path, "%s/plan.yaml", d);
    char *plan = slurp(path);
    ASSERT(plan != NULL);
    /* targets by compose labels; the replicas one each; an N-1 matrix over them */
    ASSERT_CONTAINS(plan, "db: { docker: { compose: { project: \"${project}\", service: \"db\" } } }");
    ASSERT_CONTAINS(plan, "com.docker.compose.service: \"backend\", com.docker.compose.container-number: \"3\"");
    ASSERT_CONTAINS(plan, "lose: [backend-1, backend-2, backend-3]");
    ASSERT_CONTAINS(plan, "project: ${env:COMPOSE_PROJECT_NAME:-residency-scheduler}");
    /* one outage per stateful service (by image: postgres, redis), none for the workers */
    ASSERT_CONTAINS(plan, "name: db-down");
    ASSERT_CONTAINS(plan, "name: redis-down");
    ASSERT(strstr(plan, "celery-worker-down") == NULL && strstr(plan, "nginx-down") == NULL);
    /* the API through nginx's published port; readiness from the backend's healthcheck */
    ASSERT_CONTAINS(plan, "api: ${env:API_URL:-http://127.0.0.1:8080}");
    ASSERT_CONTAINS(plan, "health_path: ${confirm:/api/v1/health/ready}");
    ASSERT_CONTAINS(plan, "{ name: db-healthy, container: { target: db, expect: healthy } }");
    /* environment by name, never by value (nor a healthcheck's text: it may hold a password) */
    ASSERT_CONTAINS(plan, "DATABASE_URL, REDIS_URL, SECRET_KEY");
    ASSERT(strstr(plan, "postgresql://") == NULL);
    ASSERT(strstr(plan, "NEXT_PUBLIC_API_URL=") == NULL);
    ASSERT(strstr(plan, "pg_isready") == NULL && strstr(plan, "requirepass") == NULL);
    /* it validates, and warns once per placeholder until they are confirmed */
    rc = th_sh(out, sizeof out, "'%s' validate '%s' 2>&1", th_faultline(), path);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_EQ_INT(count(out, "is a placeholder"), 8);
    rc = th_sh(out, sizeof out, "sed -i 's/${confirm:\\([^}]*\\)}/\\1/' '%s' && '%s' validate '%s' 2>&1", path,
               th_faultline(), path);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_EQ_INT(count(out, "is a placeholder"), 0);
    ASSERT_EQ_INT(count(out, "warning"), 0);
    /* every N-1 experiment in the dry run; no engine here: exit 2, nothing was run */
    rc = th_sh(out, sizeof out, "DOCKER_HOST=unix://%s/none.sock '%s' run --dry-run '%s' 2>&1", d, th_faultline(), path);
    ASSERT_MSG(rc == 2, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "experiment 3/3: losing backend-3");
    free(plan);
}

TEST(init_compose_minimal_and_broken)
{
    static char out[1 << 17];
    const char *d = th_tmpdir();
    int rc = th_sh(out, sizeof out, "'%s' init --compose tests/fixtures/compose/minimal.yml --api http://127.0.0.1:9999 "
                   "--project shop -o '%s/min.yaml' 2>&1 && '%s' validate '%s/min.yaml' 2>&1", th_faultline(), d,
                   th_faultline(), d);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "1 service, 0 stateful");
    ASSERT_CONTAINS(out, "min.yaml: valid (shop-starter");
    char path[512];
    snprintf(path, sizeof path, "%s/min.yaml", d);
    char *plan = slurp(path);
    ASSERT_CONTAINS(plan, "api: ${env:API_URL:-http://127.0.0.1:9999}");
    ASSERT(strstr(plan, "\nmatrix:") == NULL && strstr(plan, "\nmethod:") == NULL);
    free(plan);
    /* a broken file: where, in the file's own terms; nothing written */
    rc = th_sh(out, sizeof out, "'%s' init --compose tests/fixtures/compose/broken.yml -o '%s/broken.yaml' 2>&1; echo rc=$?; "
               "test -e '%s/broken.yaml' && echo written", th_faultline(), d, d);
    ASSERT_CONTAINS(out, "tests/fixtures/compose/broken.yml:7:5: not valid YAML: did not find expected ',' or ']' "
                         "while parsing a flow sequence (from 6:12)");
    ASSERT_CONTAINS(out, "rc=2");
    ASSERT(strstr(out, "written") == NULL);
    rc = th_sh(out, sizeof out, "'%s' init --compose /nonexistent.yml 2>&1", th_faultline());
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "cannot read the compose file '/nonexistent.yml'");
    rc = th_sh(out, sizeof out, "'%s' init --help", th_faultline());
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "usage: faultline init");
}

TEST(compose_reader_forms)
{
    static const char y[] =
        "x-env: &env { A: 1, B: 2 }\n"
        "services:\n"
        "  api:\n"
        "    image: ghcr.io/acme/api:1.2@sha256:abc\n"
        "    scale: 2\n"
        "    environment: { <<: *env, C: 3 }\n"
        "    ports: [\"127.0.0.1:8000:80/tcp\", 9000, { target: 443, published: \"8443\" }]\n"
        "    expose: [\"81\"]\n"
        "    depends_on: [db, db]\n"
        "    healthcheck: { test: [\"CMD\", \"curl\", \"-f\", \"http://localhost/ready\"] }\n"
        "  db: { image: postgres, environment: [\"POSTGRES_PASSWORD=s3cret\", POSTGRES_USER], healthcheck: { test: NONE, disable: true } }\n";
    struct compose c;
    char err[FL_ERR_LEN];
    ASSERT_MSG(compose_parse("c.yml", y, sizeof y - 1, &c, err) == 0, "%s", err);
    ASSERT_EQ_INT(c.n, 2);
    const struct compose_service *a = compose_find(&c, "api"), *db = compose_find(&c, "db");
    ASSERT(a && db);
    ASSERT_EQ_INT(a->replicas, 2);
    ASSERT_EQ_INT(a->nenv, 3);
    ASSERT_EQ_INT(a->nports, 4);
    ASSERT_EQ_INT(a->ports[0].published, 8000); ASSERT_EQ_INT(a->ports[0].target, 80);
    ASSERT_EQ_INT(a->ports[1].published, 0);    ASSERT_EQ_INT(a->ports[1].target, 9000);
    ASSERT_EQ_INT(a->ports[2].published, 8443); ASSERT_EQ_INT(a->ports[2].target, 443);
    ASSERT_EQ_INT(a->ports[3].published, 0);    ASSERT_EQ_INT(a->ports[3].target, 81);
    ASSERT_EQ_INT(a->ndepends, 1);
    ASSERT_EQ_STR(a->health, "curl -f http://localhost/ready");
    ASSERT_EQ_INT(a->line, 4);
    ASSERT(db->health == NULL);
    ASSERT_EQ_INT(db->nenv, 2);
    ASSERT_EQ_STR(db->env[0], "POSTGRES_PASSWORD");
    compose_release(&c);
    static const char bad[] = "services:\n  web:\n    deploy: { replicas: many }\n";
    ASSERT_EQ_INT(compose_parse("c.yml", bad, sizeof bad - 1, &c, err), -1);
    ASSERT_EQ_STR(err, "c.yml:3:25: service 'web': replicas must be a whole number, not 'many'");
    static const char list[] = "services: [web]\n";
    ASSERT_EQ_INT(compose_parse("c.yml", list, sizeof list - 1, &c, err), -1);
    ASSERT_EQ_STR(err, "c.yml:1:11: services: must be a mapping of name: { image: ... }");
}

TEST(init_compose_names_stay_unique)
{
    static char out[1 << 17];
    const char *d = th_tmpdir();
    int rc = th_sh(out, sizeof out, "'%s' init --compose tests/fixtures/compose/clashing-names.yml -o '%s/p.yaml' >/dev/null "
                   "2>&1 && '%s' validate '%s/p.yaml' 2>&1", th_faultline(), d, th_faultline(), d);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "7 targets, 2 steps");
    char path[512];
    snprintf(path, sizeof path, "%s/p.yaml", d);
    char *plan = slurp(path);
    ASSERT_CONTAINS(plan, "  web-1: { docker: { compose: { project: \"${project}\", service: \"web-1\" } } }");
    ASSERT_CONTAINS(plan, "  web-s2-1: { docker: { labels:");
    ASSERT_CONTAINS(plan, "  web-1-s2: { docker: { compose: { project: \"${project}\", service: \"web_1\" } } }");
    /* a replicated database: its first replica stops; the N-1 matrix is over applications */
    ASSERT_CONTAINS(plan, "target: db-1, grace: 10s }");
    ASSERT_CONTAINS(plan, "lose: [web-s2-1, web-s2-2]");
    free(plan);
}
