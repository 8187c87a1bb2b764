/* test_init_demo.c -- the plan `faultline init --compose` writes from the users' compose file
 * (tests/fixtures/compose/residency.yml: db postgres:15, redis:7, backend x3, celery-worker,
 * celery-beat, frontend, nginx) runs against the demo stack in containers started with the
 * same services (examples/stack.sh --users-services, the labels docker compose sets) and
 * passes once its SLO placeholders are confirmed: db and redis healthy by their own
 * healthchecks, each backend lost in turn (N-1), the database and Redis stopped, every probe
 * with evidence, every container running again after. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

TEST_FILE_USES("compose swarm"); /* a compose project of its own: one demo stack at a time (CPU); beside containers of other files, never beside swarm work */

TEST_T(init_compose_plan_runs_against_the_demo_stack, 240)
{
    th_docker_host();
    char bin[PATH_MAX];
    snprintf(bin, sizeof bin, "%s/scheduler-api", th_build_dir());
    if (access(bin, X_OK) != 0) SKIP("build/scheduler-api not built");
    static char out[1 << 17];
    if (th_sh(out, sizeof out, "docker image inspect hostbin >/dev/null 2>&1") != 0)
        SKIP("no 'hostbin' image (scripts/dockerd-up.sh imports it)");
    if (th_sh(out, sizeof out, "command -v nginx >/dev/null && command -v psql >/dev/null && id postgres >/dev/null") != 0)
        SKIP("nginx, psql or the postgres account missing (apt-get install nginx-light postgresql)");
    if (getuid() != 0) SKIP("the stack runs PostgreSQL as the postgres account: needs root");
    setenv("REDIS_PASSWORD", "fl-redis-password", 1);
    const char *d = th_tmpdir();
    char project[64]; /* the pid in it: two test runs on one machine must not share containers */
    snprintf(project, sizeof project, "fl-init-demo-%ld", (long)getpid());
    int rc = th_sh(out, sizeof out, "sh examples/stack.sh up '%s' %s --backends 3 --users-services 2>&1", d, project);
    if (rc != 0) {
        th_sh(NULL, 0, "sh examples/stack.sh down %s", project);
        th_fail(__FILE__, __LINE__, "stack.sh up: exit %d: %s", rc, out);
    }
    char envf[PATH_MAX + 16];
    snprintf(envf, sizeof envf, "%s/stack.env", d);
    char api_port[32] = "";
    th_sh(api_port, sizeof api_port, "sed -n 's/^API_PORT=//p' '%s'", envf);
    api_port[strcspn(api_port, "\n")] = '\0';
    /* the plan, as a user gets it, with the placeholders confirmed as written */
    rc = th_sh(out, sizeof out, "'%s' init --compose tests/fixtures/compose/residency.yml --api http://127.0.0.1:%s "
               "-o '%s/plan.yaml' 2>&1 && sed -i 's/${confirm:\\([^}]*\\)}/\\1/' '%s/plan.yaml' && "
               "COMPOSE_PROJECT_NAME=%s '%s' validate '%s/plan.yaml' 2>&1", th_faultline(), api_port, d, d, project,
               th_faultline(), d);
    if (rc != 0 || strstr(out, "warning")) {
        th_sh(NULL, 0, "sh examples/stack.sh down %s", project);
        th_fail(__FILE__, __LINE__, "init/validate: exit %d: %s", rc, out);
    }
    /* shortened through its own timeline vars: 3 experiments of 29 s, each outage 2 s and
     * 9 s after it for the recovery probes. The revert waits for the healthcheck (about
     * 1.5 s under ASan), nginx keeps every backend out for its fail_timeout (2 s) after the
     * outage's 503s, then `stable: 3` needs 3 clean seconds: 6.5 s, and the margin is for
     * a loaded machine (4 s was too few: CI's make asan, db-recovers, backend-2) */
    rc = th_sh(out, sizeof out, "COMPOSE_PROJECT_NAME=%s '%s' run '%s/plan.yaml' -o '%s/out' --journal '%s/journal.jsonl' "
               "--var duration=29s --var outage_for=2s --var lose_one_at=3s --var db_down_at=7s --var redis_down_at=18s "
               "--var error_budget=60%% 2>&1", project, th_faultline(), d, d, d);
    char states[4096] = "";
    th_sh(states, sizeof states, "docker ps -a --filter label=com.docker.compose.project=%s --format '{{.Names}} {{.State}}'",
          project);
    th_sh(NULL, 0, "sh examples/stack.sh down %s", project);
    ASSERT_MSG(rc == 0, "run exit %d:\n%s", rc, out);
    ASSERT_CONTAINS(out, "N-1 holds");
    /* the plan targets every service of the compose file, celery-beat, frontend and nginx too;
     * the run resolves each (one that matches no container of the stack is an error, rc 2) */
    static const char *const svcs[] = { "db", "redis", "backend-1", "backend-2", "backend-3", "celery-worker",
                                        "celery-beat", "frontend", "nginx" };
    for (size_t i = 0; i < sizeof svcs / sizeof *svcs; i++) {
        char got[64];
        th_sh(got, sizeof got, "grep -c '^  %s: ' '%s/plan.yaml'", svcs[i], d);
        ASSERT_MSG(atoi(got) == 1, "plan has no target '%s'", svcs[i]);
    }
    /* every experiment passed with evidence, and nothing stayed stopped */
    for (int i = 1; i <= 3; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/out/lose-backend-%d/run.json", d, i);
        char v[256];
        /* verdict, the fewest checks of a probe, and how many of db's and redis's own
         * healthchecks (steady state, before and after: 4) passed with evidence */
        th_sh(v, sizeof v, "/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); s=r[\"steady_state\"]; "
              "print(r[\"verdict\"], min(p[\"checks\"] for p in r[\"probes\"]), sum(1 for k in (\"before\", \"after\") "
              "for p in s[k] if p[\"name\"] in (\"db-healthy\", \"redis-healthy\") and p[\"verdict\"] == \"passed\" "
              "and p[\"checks\"] > 0))' '%s' 2>&1", path);
        int checks = 0, healthy = 0;
        ASSERT_MSG(strncmp(v, "passed ", 7) == 0 && sscanf(v + 7, "%d %d", &checks, &healthy) == 2 && checks > 0 &&
                       healthy == 4,
                   "lose-backend-%d: %s", i, v);
    }
    ASSERT_MSG(strstr(states, "exited") == NULL, "a container stayed stopped: %s", states);
}
