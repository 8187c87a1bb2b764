/* test_resources.c -- container resources over a run (orchestrator/resources.c) against the
 * real Docker engine: a container running a small Python program that allocates memory on
 * SIGUSR1 (Debian's python3 through the read-only binds of the `hostbin` image), sampled
 * during a real `faultline run`; the container probe's memory/cpu expectations, the series
 * in run.json against `docker stats`, and `faultline compare --memory` between two runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dockerfx.h"
#include "harness.h"
#include "resources.h"

TEST_FILE_USES("docker");

#define TEST_LABEL "resources"

/* holds `base` MiB from the start, adds `step` MiB (touched) at each SIGUSR1 */
static const char *const grower =
    "import signal, time\n"
    "import sys\n"
    "base, step = int(sys.argv[1]), int(sys.argv[2])\n"
    "held = [b'x' * (base << 20)]\n"
    "signal.signal(signal.SIGUSR1, lambda *a: held.append(b'y' * (step << 20)))\n"
    "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
    "for _ in range(600): time.sleep(0.5)\n";

static void start_grower(struct docker_client *dc, const char *name, int base_mib, int step_mib, char id[72])
{
    char b[16], s[16];
    snprintf(b, sizeof b, "%d", base_mib);
    snprintf(s, sizeof s, "%d", step_mib);
    char *argv[] = { "/usr/bin/python3", "-c", (char *)grower, b, s, NULL };
    fx_container(dc, TEST_LABEL, name, argv, NULL, NULL, NULL, NULL, 1, id);
    /* python is up with its base held: docker reports more than base MiB */
    char out[256];
    for (int i = 0; i < 100; i++) {
        th_sh(out, sizeof out, "docker stats --no-stream --format '{{.MemUsage}}' %s", name);
        double v = atof(out);
        if (strstr(out, "MiB") && v >= base_mib) return;
        if (strstr(out, "GiB")) return;
        usleep(100000);
    }
    ASSERT_MSG(0, "the grower did not take %d MiB: %s", base_mib, out);
}

static void remove_ct(struct docker_client *dc, const char *id)
{
    char err[FL_ERR_LEN];
    docker_remove(dc, id, err);
}

static json_t *run_json(const char *dir)
{
    char *text = fx_slurp(dir, "out/run.json");
    json_t *r = json_loads(text, 0, NULL);
    free(text);
    ASSERT_MSG(r != NULL, "no run.json in %s", dir);
    return r;
}

static const json_t *probe_named(const json_t *run, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(run, "probes"), i, p)
        if (!strcmp(json_string_value(json_object_get(p, "name")), name)) return p;
    ASSERT_MSG(0, "no probe '%s' in run.json", name);
    return NULL;
}

/* a plan over container `name`; grow: SIGUSR1 at 3 s */
static int run_plan(const char *dir, const char *name, int grow, char *out, size_t outlen)
{
    char plan[4096];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: res-%s\nduration: 7s\n"
             "targets: { app: { docker: { container: %s } } }\n"
             "method:\n  - { name: grow, at: 3s, fault: exec, run: \"%s%s\" }\n"
             "probes:\n"
             "  - { name: no-leak, container: { target: app, memory: \"grew < 10%%\" } }\n"
             "  - { name: under-1g, container: { target: app, memory: \"< 1GiB\", cpu: \"< 90%%\" } }\n"
             "  - { name: under-20m, container: { target: app, memory: \"< 20MiB\" } }\n",
             grow ? "grow" : "flat", name, grow ? "docker kill -s USR1 " : "true", grow ? name : "");
    fx_write_file(dir, "p.yaml", plan);
    return th_sh(out, outlen, "cd '%s' && FAULTLINE_JOURNAL=j.jsonl '%s' run p.yaml -o out 2>&1", dir, th_faultline());
}

TEST_T(resources_memory_growth_is_caught_and_matches_docker_stats, 120)
{
    struct docker_client dc;
    char err[FL_ERR_LEN], id[72], out[16384];
    ASSERT_MSG(docker_client_init(&dc, th_docker_host(), err) == 0, "%s", err);
    fx_sweep_containers(&dc, TEST_LABEL);
    char name[64];
    snprintf(name, sizeof name, "fl-test-res-%d", (int)getpid());
    start_grower(&dc, name, 20, 64, id);
    const char *d = th_tmpdir();
    int rc = run_plan(d, name, 1, out, sizeof out);
    /* docker's own figure right after the run, the container unchanged since */
    char ds[128];
    th_sh(ds, sizeof ds, "docker stats --no-stream --format '{{.MemUsage}}' %s", name);
    remove_ct(&dc, id);
    ASSERT_MSG(rc == 1, "the leak check fails the run; got %d:\n%s", rc, out);
    json_t *r = run_json(d);
    const json_t *leak = probe_named(r, "no-leak");
    ASSERT_EQ_STR(json_string_value(json_object_get(leak, "verdict")), "failed");
    const char *seen = json_string_value(json_object_get(json_array_get(json_object_get(leak, "observations"), 0), "observed"));
    ASSERT_CONTAINS(seen, "memory peak ");
    ASSERT_CONTAINS(seen, "(not grew < 10%)");
    ASSERT_EQ_STR(json_string_value(json_object_get(probe_named(r, "under-1g"), "verdict")), "passed");
    ASSERT_EQ_STR(json_string_value(json_object_get(probe_named(r, "under-20m"), "verdict")), "failed");

    /* the series: about one sample a second over the 7 s run, the growth in them */
    const json_t *cts = json_object_get(json_object_get(r, "resources"), "containers");
    ASSERT_EQ_INT(json_array_size(cts), 1);
    const json_t *c = json_array_get(cts, 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(c, "name")), name);
    ASSERT_EQ_STR(json_string_value(json_object_get(c, "target")), "app");
    const json_t *mem = json_object_get(json_object_get(c, "series"), "memory_bytes");
    const json_t *ts = json_object_get(json_object_get(c, "series"), "t_ms");
    size_t n = json_array_size(mem);
    ASSERT_MSG(n >= 5 && n <= 9, "%zu samples in a 7 s run", n);
    ASSERT_EQ_INT(json_array_size(ts), n);
    double first = json_number_value(json_array_get(mem, 0)), last = json_number_value(json_array_get(mem, n - 1));
    ASSERT_MSG(first > 20e6 && first < 60e6, "first sample %g bytes", first);
    ASSERT_MSG(last - first > 60.0 * (1 << 20), "the 64 MiB are not in the series: %g -> %g", first, last);
    double limit = json_number_value(json_array_get(json_object_get(json_object_get(c, "series"), "memory_limit_bytes"), 0));
    ASSERT_MSG(limit > last, "limit %g", limit);
    /* docker stats prints "85.3MiB / 23.5GiB": within 5% of the last sample */
    char *unit;
    double v = strtod(ds, &unit);
    double dbytes = v * (!strncmp(unit, "GiB", 3) ? 1024.0 * 1024 * 1024 : !strncmp(unit, "MiB", 3) ? 1024.0 * 1024 : 1024.0);
    ASSERT_MSG(fabs(dbytes - last) <= 0.05 * dbytes, "docker stats says %s, run.json's last sample %g bytes", ds, last);
    /* the summary compare reads */
    char key[128];
    snprintf(key, sizeof key, "%s peak_bytes", name);
    ASSERT_NEAR(json_number_value(json_object_get(json_object_get(r, "memory"), key)), last, 0.02 * last);
    json_decref(r);
    /* report.html charts memory and CPU under the load charts, the fault window shaded */
    char *html = fx_slurp(d, "out/report.html");
    const char *sec = strstr(html, "<section id=\"resources\">");
    ASSERT_MSG(sec != NULL, "no resources section in report.html");
    const char *memchart = strstr(sec, "<svg class=\"chart memory\"");
    ASSERT_MSG(memchart != NULL, "no memory chart");
    const char *end = strstr(memchart, "</svg>");
    ASSERT(end != NULL);
    const char *win = strstr(memchart, "class=\"fault-window\"");
    ASSERT_MSG(win && win < end, "the fault window is not shaded in the memory chart");
    const char *line = strstr(memchart, "class=\"line-memory_bytes\" d=\"");
    ASSERT_MSG(line && line < end, "no memory line");
    size_t pts = 0;
    for (const char *q = line; q < end && (q = strpbrk(q, "ML")) && q < end; q++) pts++;
    ASSERT_MSG(pts >= n - 1 && pts <= n + 2, "%zu points for %zu samples", pts, n);
    ASSERT_MSG(strstr(sec, "<svg class=\"chart cpu\"") != NULL, "no CPU chart");
    free(html);
    docker_client_release(&dc);
}

TEST_T(resources_compare_memory_flags_growth_between_runs, 150)
{
    struct docker_client dc;
    char err[FL_ERR_LEN], id[72], out[16384];
    ASSERT_MSG(docker_client_init(&dc, th_docker_host(), err) == 0, "%s", err);
    fx_sweep_containers(&dc, TEST_LABEL);
    char name[64];
    snprintf(name, sizeof name, "fl-test-res-c-%d", (int)getpid());
    /* run 1: 60 MiB flat; run 2 the same container grown by 30 MiB (about +40%) */
    start_grower(&dc, name, 60, 30, id);
    const char *d = th_tmpdir();
    char d1[600], d2[600];
    snprintf(d1, sizeof d1, "%s/one", d);
    snprintf(d2, sizeof d2, "%s/two", d);
    th_sh(NULL, 0, "mkdir -p '%s' '%s'", d1, d2);
    int rc1 = run_plan(d1, name, 0, out, sizeof out);
    ASSERT_MSG(rc1 == 1, "run 1 (under-20m fails): %d\n%s", rc1, out); /* under-20m fails: 60 MiB held */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "docker kill -s USR1 %s", name);
    ASSERT_EQ_INT(th_sh(NULL, 0, "%s >/dev/null", cmd), 0);
    sleep(2);
    int rc2 = run_plan(d2, name, 0, out, sizeof out);
    remove_ct(&dc, id);
    ASSERT_MSG(rc2 == 1, "run 2: %d\n%s", rc2, out);
    /* --duration 1000%: only memory decides (the runs' elapsed times are noise here) */
    int c1 = th_sh(out, sizeof out, "cd '%s' && '%s' compare --duration 1000%% one/out/run.json two/out/run.json 2>&1", d,
                   th_faultline());
    ASSERT_MSG(c1 == 1, "compare must flag the growth (exit 1), got %d:\n%s", c1, out);
    char want[160];
    snprintf(want, sizeof want, "memory %s peak_bytes", name);
    const char *row = strstr(out, want);
    ASSERT_MSG(row != NULL, "no %s row:\n%s", want, out);
    const char *eol = strchr(row, '\n');
    const char *reg = strstr(row, "REGRESSION");
    ASSERT_MSG(reg && eol && reg < eol, "the peak is not flagged:\n%s", out);
    ASSERT_CONTAINS(out, "last_quarter_median_bytes");
    int c2 = th_sh(out, sizeof out, "cd '%s' && '%s' compare --duration 1000%% --memory 80%% one/out/run.json two/out/run.json 2>&1",
                   d, th_faultline());
    ASSERT_MSG(c2 == 0, "+40%% is within --memory 80%%, got %d:\n%s", c2, out);
    docker_client_release(&dc);
}

/* the stats reply as the sampler reads it: memory as docker stats counts it, the CPU share
 * from two samples */
TEST(resources_sample_from_stats_json)
{
    json_t *a = json_loads("{\"memory_stats\":{\"usage\":1000000,\"limit\":8000000,\"stats\":{\"total_inactive_file\":200000}},"
                           "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":1000000000},\"system_cpu_usage\":10000000000,\"online_cpus\":2},"
                           "\"networks\":{\"eth0\":{\"rx_bytes\":10,\"tx_bytes\":20},\"eth1\":{\"rx_bytes\":1,\"tx_bytes\":2}}}", 0, NULL);
    json_t *b = json_loads("{\"memory_stats\":{\"usage\":3000000,\"limit\":8000000,\"stats\":{\"inactive_file\":5000000}},"
                           "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":1500000000},\"system_cpu_usage\":12000000000,\"online_cpus\":2}}", 0, NULL);
    json_t *stopped = json_loads("{\"memory_stats\":{},\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":0}}}", 0, NULL);
    struct res_sample x, y;
    ASSERT_EQ_INT(res_sample_from_json(a, NULL, &x), 0);
    ASSERT_EQ_INT(x.mem, 800000);          /* usage minus the inactive file cache */
    ASSERT_EQ_INT(x.mem_limit, 8000000);
    ASSERT(isnan(x.cpu_pct));              /* one sample: no share yet */
    ASSERT_EQ_INT(x.rx, 11);
    ASSERT_EQ_INT(x.tx, 22);
    ASSERT_EQ_INT(res_sample_from_json(b, &x, &y), 0);
    ASSERT_EQ_INT(y.mem, 3000000);         /* a cache larger than the usage is not subtracted */
    ASSERT_NEAR(y.cpu_pct, 0.5e9 / 2e9 * 2 * 100, 1e-9); /* 50% of one core */
    ASSERT_EQ_INT(res_sample_from_json(stopped, &y, &x), -1);
    json_decref(a);
    json_decref(b);
    json_decref(stopped);
}

/* monitor: samples containers that are no target of the plan; one that does not exist is
 * listed with the engine's answer and no sample (and fails nothing) */
TEST_T(resources_monitor_key_samples_containers_besides_the_targets, 90)
{
    struct docker_client dc;
    char err[FL_ERR_LEN], id[72], out[16384], plan[2048];
    ASSERT_MSG(docker_client_init(&dc, th_docker_host(), err) == 0, "%s", err);
    fx_sweep_containers(&dc, TEST_LABEL);
    char name[64];
    snprintf(name, sizeof name, "fl-test-res-m-%d", (int)getpid());
    start_grower(&dc, name, 10, 10, id);
    const char *d = th_tmpdir();
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: res-monitor\nduration: 4s\n"
             "monitor: [ %s, fl-test-no-such-container-%d ]\n"
             "method:\n  - { at: 1s, fault: exec, run: \"true\" }\n",
             name, (int)getpid());
    fx_write_file(d, "p.yaml", plan);
    int rc = th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL=j.jsonl '%s' run p.yaml -o out 2>&1", d, th_faultline());
    remove_ct(&dc, id);
    ASSERT_MSG(rc == 0, "exit %d:\n%s", rc, out);
    json_t *r = run_json(d);
    const json_t *cts = json_object_get(json_object_get(r, "resources"), "containers");
    ASSERT_EQ_INT(json_array_size(cts), 2);
    const json_t *a = json_array_get(cts, 0), *b = json_array_get(cts, 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(a, "target")), "monitor");
    ASSERT_EQ_STR(json_string_value(json_object_get(a, "name")), name);
    ASSERT_EQ_STR(json_string_value(json_object_get(a, "id")), id);
    size_t n = json_array_size(json_object_get(json_object_get(a, "series"), "memory_bytes"));
    ASSERT_MSG(n >= 3 && n <= 6, "%zu samples in a 4 s run", n);
    ASSERT_EQ_INT(json_array_size(json_object_get(json_object_get(b, "series"), "memory_bytes")), 0);
    ASSERT_CONTAINS(json_string_value(json_object_get(b, "last_error")), "404");
    json_decref(r);

    /* a monitor: that is not a list is a plan error at its line */
    fx_write_file(d, "bad.yaml", "faultline: 1\nname: bad\nduration: 1s\nmonitor: db\nmethod: []\n");
    rc = th_sh(out, sizeof out, "cd '%s' && '%s' validate bad.yaml 2>&1", d, th_faultline());
    ASSERT_EQ_INT(rc, 2);
    ASSERT_CONTAINS(out, "bad.yaml:4:10: monitor must be a list of container names or ids");
    docker_client_release(&dc);
}
