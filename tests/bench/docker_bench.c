/* docker_bench.c -- round trips of pause+unpause and stop+start on one container, measured
 * in one run, interleaved: faultline's docker.pause / docker.stop (inject + revert through
 * the fault driver, as a run does them) against raw Engine API calls (in-process libcurl on a
 * kept-alive connection, and `curl --unix-socket` processes) and the `docker` CLI.
 *
 *   docker-bench [--rounds N] [--host unix:///var/run/docker.sock]
 * Built and run by tests/bench/docker_bench.sh (linked against build/libfaultline.a).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_api.h"
#include "fault.h"
#include "plan.h"

extern const struct target_ops target_docker;
extern const struct fault_ops fault_docker_stop, fault_docker_pause;
extern char **environ;

enum { M_FAULTLINE, M_LIBCURL, M_CURL, M_CLI, M_N };
static const char *const method_names[M_N] = { "faultline (driver)", "raw API, libcurl", "curl --unix-socket",
                                               "docker CLI" };
enum { OP_PAUSE, OP_STOP, OP_N };

static const char *sock_path;
static char cid[72];
static char api[16];

static void die(const char *what, const char *err)
{
    fprintf(stderr, "docker-bench: %s: %s\n", what, err);
    exit(1);
}

static int run_quiet(char *const *argv)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- (b) raw calls in-process: one kept-alive libcurl handle, nothing else --------------- */
static CURL *raw;
static size_t discard(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }

static char raw_err[256];

static int raw_post(const char *verb)
{
    char url[256];
    snprintf(url, sizeof url, "http://docker/v%s/containers/%s/%s", api, cid, verb);
    curl_easy_setopt(raw, CURLOPT_URL, url);
    curl_easy_setopt(raw, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(raw, CURLOPT_UNIX_SOCKET_PATH, sock_path);
    curl_easy_setopt(raw, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(raw);
    if (rc != CURLE_OK) {
        snprintf(raw_err, sizeof raw_err, "%s: %s", verb, curl_easy_strerror(rc));
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(raw, CURLINFO_RESPONSE_CODE, &code);
    snprintf(raw_err, sizeof raw_err, "%s: HTTP %ld", verb, code);
    return code < 300 ? 0 : -1;
}

/* ---- (c) curl processes ---------------------------------------------------------------------- */
static int curl_post(const char *verb)
{
    char url[256];
    snprintf(url, sizeof url, "http://docker/v%s/containers/%s/%s", api, cid, verb);
    char *argv[] = { "curl", "-sf", "-o", "/dev/null", "--unix-socket", (char *)sock_path, "-X", "POST", url, NULL };
    return run_quiet(argv);
}

/* ---- (d) the docker CLI ---------------------------------------------------------------------- */
static int cli(const char *verb)
{
    char host[600];
    snprintf(host, sizeof host, "unix://%s", sock_path);
    char *argv[] = { "docker", "-H", host, (char *)verb, cid, NULL };
    return run_quiet(argv);
}

/* ---- readiness between stop rounds (not timed) ------------------------------------------------ */
static int port_answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (ok) {
        const char ping[] = "PING\r\n";
        char buf[16];
        ok = write(fd, ping, sizeof ping - 1) == (ssize_t)(sizeof ping - 1) && read(fd, buf, sizeof buf) > 0;
    }
    close(fd);
    return ok;
}

static void wait_ready(int port)
{
    for (int i = 0; i < 400; i++) {
        if (port_answers(port)) return;
        usleep(5000);
    }
    die("redis", "did not answer after start");
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* sorts v; the median, and the interquartile range in *iqr (the run's noise) */
static double median(double *v, int n, double *iqr)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    *iqr = v[(3 * (n - 1)) / 4] - v[(n - 1) / 4];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int rounds = 15;
    const char *host = NULL;
    static const struct option opts[] = { { "rounds", 1, 0, 'n' }, { "host", 1, 0, 'H' }, { "help", 0, 0, 'h' }, { 0 } };
    int o;
    while ((o = getopt_long(argc, argv, "n:H:h", opts, NULL)) != -1) {
        if (o == 'n') rounds = atoi(optarg);
        else if (o == 'H') host = optarg;
        else {
            printf("usage: docker-bench [--rounds N] [--host unix:///var/run/docker.sock]\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (rounds < 1 || rounds > 1000) rounds = 15;
    char err[FL_ERR_LEN];
    struct docker_client c;
    if (docker_client_init(&c, host, err) < 0 || docker_negotiate(&c, err) < 0) die("engine", err);
    if (!c.socket_path) die("engine", "this bench compares against curl --unix-socket: needs a unix:// DOCKER_HOST");
    sock_path = c.socket_path;
    snprintf(api, sizeof api, "%s", c.api_version);

    /* containers of earlier benches that died before cleaning up (their pid is gone) */
    signal(SIGPIPE, SIG_IGN);
    {
        char *f[] = { "faultline.bench=docker" };
        json_t *arr = NULL;
        if (docker_list(&c, f, 1, &arr, err) == 0) {
            size_t i;
            json_t *it;
            json_array_foreach(arr, i, it) {
                const char *owner = json_string_value(json_object_get(json_object_get(it, "Labels"), "faultline.bench.pid"));
                int pid = owner ? atoi(owner) : 0;
                if (pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)) continue;
                docker_remove(&c, json_string_value(json_object_get(it, "Id")), err);
            }
            json_decref(arr);
        }
    }

    /* a Redis container from the empty hostbin image (scripts/dockerd-up.sh imports it) */
    int port;
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t l = sizeof a;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
            die("port", strerror(errno));
        port = ntohs(a.sin_port);
        close(fd);
    }
    char name[64], ps[16];
    snprintf(name, sizeof name, "fl-bench-%d", (int)getpid());
    snprintf(ps, sizeof ps, "%d", port);
    char pidtext[16];
    snprintf(pidtext, sizeof pidtext, "%d", (int)getpid());
    json_t *cfg = json_pack("{s:s,s:[s,s,s,s,s,s,s],s:{s:s,s:s},s:{s:s,s:[s,s,s,s,s]}}", "Image", "hostbin", "Cmd",
                            "/usr/bin/redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "", "Labels",
                            "faultline.bench", "docker", "faultline.bench.pid", pidtext, "HostConfig", "NetworkMode", "host", "Binds", "/usr:/usr:ro",
                            "/lib:/lib:ro", "/lib64:/lib64:ro", "/bin:/bin:ro", "/etc:/etc:ro");
    if (docker_create(&c, name, cfg, cid, err) < 0) die("create", err);
    json_decref(cfg);
    if (docker_start(&c, cid, NULL, err) < 0) {
        docker_remove(&c, cid, err);
        die("start", err);
    }
    wait_ready(port);

    /* faultline's side: the target and the two faults, parsed from plan YAML like a run does */
    char yaml[256];
    snprintf(yaml, sizeof yaml, "{ host: \"%s\", container: %s }", c.host, name);
    struct diag d;
    diag_init(&d, "bench");
    struct node *tspec = node_parse(yaml, strlen(yaml), &d);
    struct node *empty = node_parse("{}", 2, &d);
    struct drv_ctx ctx = { 0 };
    struct target t = { .name = "bench", .ops = &target_docker, .spec = tspec };
    if (!tspec || !empty || target_docker.parse(NULL, &t, tspec, &d) < 0) die("plan", d.n ? d.msgs[0] : "parse");
    if (target_docker.open(&t, &ctx, err) < 0) die("open", err);
    struct fault_inst fi[OP_N];
    const struct fault_ops *ops[OP_N] = { &fault_docker_pause, &fault_docker_stop };
    for (int k = 0; k < OP_N; k++) {
        memset(&fi[k], 0, sizeof fi[k]);
        fi[k].ops = ops[k];
        fi[k].target = &t;
        fi[k].ctx = &ctx;
        if (ops[k]->parse(NULL, empty, &fi[k].cfg, &d) < 0) die("parse", ops[k]->name);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    raw = curl_easy_init();

    double *ms[OP_N][M_N];
    for (int k = 0; k < OP_N; k++)
        for (int m = 0; m < M_N; m++) ms[k][m] = calloc((size_t)rounds, sizeof(double));
    const char *on[OP_N] = { "pause", "stop" }, *off[OP_N] = { "unpause", "start" };

    /* one warm-up round of every method (connections, page cache), not counted */
    for (int r = -1; r < rounds; r++) {
        for (int k = 0; k < OP_N; k++) {
            for (int j = 0; j < M_N; j++) {
                int m = (j + (r < 0 ? 0 : r)) % M_N; /* rotate the order every round */
                int64_t t0 = fl_now_ns();
                int rc = 0;
                switch (m) {
                case M_FAULTLINE:
                    rc = ops[k]->inject(&fi[k], err);
                    if (rc == 0) rc = ops[k]->revert(&fi[k], err);
                    if (fi[k].state) ops[k]->free_state(fi[k].state);
                    fi[k].state = NULL;
                    break;
                case M_LIBCURL:
                    rc = raw_post(on[k]) || raw_post(off[k]);
                    snprintf(err, sizeof err, "raw %s/%s failed (%s)", on[k], off[k], raw_err);
                    break;
                case M_CURL:
                    rc = curl_post(on[k]) || curl_post(off[k]);
                    snprintf(err, sizeof err, "curl %s/%s failed", on[k], off[k]);
                    break;
                case M_CLI:
                    rc = cli(on[k]) || cli(off[k]);
                    snprintf(err, sizeof err, "docker %s/%s failed", on[k], off[k]);
                    break;
                }
                double dt = (double)(fl_now_ns() - t0) / 1e6;
                if (rc != 0) {
                    char e2[FL_ERR_LEN];
                    docker_remove(&c, cid, e2);
                    die(method_names[m], err);
                }
                if (r >= 0) ms[k][m][r] = dt;
                if (k == OP_STOP) wait_ready(port); /* redis must handle SIGTERM again before the next stop */
            }
        }
    }

    double med[OP_N][M_N], iqr[OP_N][M_N];
    for (int k = 0; k < OP_N; k++)
        for (int m = 0; m < M_N; m++) med[k][m] = median(ms[k][m], rounds, &iqr[k][m]);
    printf("docker bench: %d rounds each, interleaved (order rotated per round), one redis container, Engine API %s at %s\n",
           rounds, api, sock_path);
    printf("  %-24s %24s %24s\n", "median round trip (IQR)", "pause+unpause", "stop+start");
    for (int m = 0; m < M_N; m++)
        printf("  %-24s %13.1f ms (%5.1f) %13.1f ms (%5.1f)\n", method_names[m], med[OP_PAUSE][m], iqr[OP_PAUSE][m],
               med[OP_STOP][m], iqr[OP_STOP][m]);
    printf("  %-24s %24.3f %24.3f\n", "faultline / curl", med[OP_PAUSE][M_FAULTLINE] / med[OP_PAUSE][M_CURL],
           med[OP_STOP][M_FAULTLINE] / med[OP_STOP][M_CURL]);
    printf("  %-24s %24.3f %24.3f\n", "faultline / libcurl", med[OP_PAUSE][M_FAULTLINE] / med[OP_PAUSE][M_LIBCURL],
           med[OP_STOP][M_FAULTLINE] / med[OP_STOP][M_LIBCURL]);
    printf("  %-24s %24.3f %24.3f\n", "faultline / docker CLI", med[OP_PAUSE][M_FAULTLINE] / med[OP_PAUSE][M_CLI],
           med[OP_STOP][M_FAULTLINE] / med[OP_STOP][M_CLI]);
    int met = 1;
    for (int k = 0; k < OP_N; k++)
        if (med[k][M_FAULTLINE] > 1.05 * med[k][M_CURL]) met = 0;
    printf("  goal (faultline within 5%% of raw curl calls): %s\n", met ? "met" : "NOT met");
    printf("  (faultline = the driver's inject+revert as a run does it: stop also inspects the prior state;\n"
           "   libcurl = the bare two POSTs on a kept-alive connection, the floor any client can reach)\n");

    for (int k = 0; k < OP_N; k++) ops[k]->free_cfg(fi[k].cfg);
    target_docker.close(&t, &ctx);
    target_docker.free(&t);
    node_free(tspec);
    node_free(empty);
    diag_release(&d);
    curl_easy_cleanup(raw);
    if (docker_remove(&c, cid, err) < 0) fprintf(stderr, "docker-bench: remove %s: %s\n", name, err);
    docker_client_release(&c);
    for (int k = 0; k < OP_N; k++)
        for (int m = 0; m < M_N; m++) free(ms[k][m]);
    return 0;
}
