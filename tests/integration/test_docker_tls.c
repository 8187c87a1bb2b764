/* test_docker_tls.c -- the Engine API client over tcp:// with TLS client certificates
 * (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), through the same code as the Unix socket.
 * The test makes a CA, a server certificate for 127.0.0.1 and client certificates with openssl,
 * and puts a TLS front that requires a client certificate (socat) on a loopback port before
 * the test engine's socket: what answers through it is the real dockerd. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "docker_api.h"
#include "dockerfx.h"
#include "harness.h"

TEST_FILE_USES("docker swarm"); /* one test acts on the single-node swarm */

extern const struct target_ops target_docker;
extern const struct fault_ops fault_docker_pause;

/* ---- certificates and the TLS front ------------------------------------------------------------ */

struct tls_rig {
    char dir[512];
    int port;
    int socat_pid;
    char host[64];            /* tcp://127.0.0.1:PORT */
};

/* dir/ca (the CA), dir/good (ca.pem cert.pem key.pem), dir/nocert (ca.pem only), dir/wrongca
 * (another CA's ca.pem + a good pair), dir/rogue (ca.pem + a pair from the other CA), dir/half
 * (ca.pem + cert.pem, no key), dir/empty; the server's pair in dir/srv */
static void make_certs(const char *d)
{
    char out[8192];
    int rc = th_sh(out, sizeof out,
                   "set -e; cd '%s'; mkdir -p ca other srv good nocert wrongca rogue half empty\n"
                   "ossl() { openssl \"$@\" 2>/dev/null >/dev/null; }\n"
                   "ossl req -x509 -newkey rsa:2048 -nodes -keyout ca/key.pem -out ca/ca.pem -days 2 -subj '/CN=faultline test CA'\n"
                   "ossl req -x509 -newkey rsa:2048 -nodes -keyout other/key.pem -out other/ca.pem -days 2 -subj '/CN=some other CA'\n"
                   "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > srv.ext\n"
                   "printf 'extendedKeyUsage=clientAuth\\n' > cli.ext\n"
                   "ossl req -newkey rsa:2048 -nodes -keyout srv/key.pem -out srv.csr -subj '/CN=127.0.0.1'\n"
                   "ossl x509 -req -in srv.csr -CA ca/ca.pem -CAkey ca/key.pem -CAcreateserial -out srv/cert.pem -days 2 -extfile srv.ext\n"
                   "ossl req -newkey rsa:2048 -nodes -keyout good/key.pem -out good.csr -subj '/CN=faultline'\n"
                   "ossl x509 -req -in good.csr -CA ca/ca.pem -CAkey ca/key.pem -CAcreateserial -out good/cert.pem -days 2 -extfile cli.ext\n"
                   "ossl req -newkey rsa:2048 -nodes -keyout rogue/key.pem -out rogue.csr -subj '/CN=rogue'\n"
                   "ossl x509 -req -in rogue.csr -CA other/ca.pem -CAkey other/key.pem -CAcreateserial -out rogue/cert.pem -days 2 -extfile cli.ext\n"
                   "cp ca/ca.pem good/; cp ca/ca.pem nocert/; cp ca/ca.pem rogue/; cp ca/ca.pem half/\n"
                   "cp other/ca.pem wrongca/; cp good/cert.pem good/key.pem wrongca/; cp good/cert.pem half/\n"
                   "chmod 600 */key.pem\n",
                   d);
    ASSERT_MSG(rc == 0, "openssl failed (%d): %s", rc, out);
}

/* socat terminating TLS (client certificate required, verified against our CA) in front of the
 * engine's Unix socket; bounded by `timeout` so a failed test cannot leave it behind */
static void start_front(struct tls_rig *r)
{
    char out[1024], sock[512];
    const char *h = th_docker_host();
    ASSERT_MSG(strncmp(h, "unix://", 7) == 0, "the test engine is not on a Unix socket: %s", h);
    snprintf(sock, sizeof sock, "%s", h + 7);
    int rc = th_sh(out, sizeof out, "command -v socat >/dev/null && command -v openssl >/dev/null");
    if (rc != 0) SKIP("socat or openssl is not installed (apt-get install socat openssl)");
    r->port = th_free_port();
    rc = th_sh(out, sizeof out,
               "cd '%s' && { timeout 170 socat OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,"
               "cert=srv/cert.pem,key=srv/key.pem,cafile=ca/ca.pem,verify=1 UNIX-CONNECT:%s >socat.log 2>&1 & echo $!; }",
               r->dir, r->port, sock);
    ASSERT_MSG(rc == 0, "socat: %s", out);
    r->socat_pid = atoi(out);
    ASSERT(r->socat_pid > 0);
    snprintf(r->host, sizeof r->host, "tcp://127.0.0.1:%d", r->port);
    /* listening? (a TCP connect is enough; the TLS handshake is what the tests check) */
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0) close(fd);
        if (ok) return;
        usleep(50000);
    }
    ASSERT_MSG(0, "socat never listened on 127.0.0.1:%d", r->port);
}

static void rig_up(struct tls_rig *r)
{
    memset(r, 0, sizeof *r);
    th_docker_host(); /* skips without an engine */
    snprintf(r->dir, sizeof r->dir, "%s", th_tmpdir());
    char out[256];
    if (th_sh(out, sizeof out, "command -v socat >/dev/null && command -v openssl >/dev/null") != 0)
        SKIP("socat or openssl is not installed (apt-get install socat openssl)");
    make_certs(r->dir);
    start_front(r);
}

static void rig_down(struct tls_rig *r)
{
    if (r->socat_pid > 0) {
        /* `timeout` forwards the signal to socat */
        kill(r->socat_pid, SIGTERM);
        r->socat_pid = 0;
    }
}

/* remove containers and services an earlier failed run left behind (named fl-tls-PID-...;
 * those of a run still alive are spared: other test runs share the engine) */
static int owner_alive(const char *name)
{
    if (name && name[0] == '/') name++;
    int pid = name ? atoi(name + (strncmp(name, "fl-tls-", 7) == 0 ? 7 : 0)) : 0;
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static void sweep(struct docker_client *u)
{
    char err[FL_ERR_LEN];
    char *f[] = { "faultline.test=tls" };
    json_t *arr = NULL;
    size_t i;
    json_t *it;
    if (docker_list(u, f, 1, &arr, err) == 0) {
        json_array_foreach(arr, i, it) {
            if (owner_alive(json_string_value(json_array_get(json_object_get(it, "Names"), 0)))) continue;
            docker_remove(u, json_string_value(json_object_get(it, "Id")), err);
        }
        json_decref(arr);
    }
    if (docker_service_list(u, f, 1, &arr, err) == 0) {
        json_array_foreach(arr, i, it) {
            if (owner_alive(json_string_value(json_object_get(json_object_get(it, "Spec"), "Name")))) continue;
            docker_service_remove(u, json_string_value(json_object_get(it, "ID")), err);
        }
        json_decref(arr);
    }
}

/* the environment the docker CLI reads: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH=dir/sub */
static void tls_env(const struct tls_rig *r, const char *sub, int verify)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", r->dir, sub);
    setenv("DOCKER_HOST", r->host, 1);
    setenv("DOCKER_CERT_PATH", path, 1);
    if (verify) setenv("DOCKER_TLS_VERIFY", "1", 1);
    else unsetenv("DOCKER_TLS_VERIFY");
}

/* negotiate through the environment; returns the error text ("" on success) */
static int try_negotiate(char *err)
{
    struct docker_client c;
    err[0] = '\0';
    if (docker_client_init(&c, NULL, err) < 0) return -1;
    int rc = docker_negotiate(&c, err);
    docker_client_release(&c);
    return rc;
}

/* ---- tests ---------------------------------------------------------------------------------------------- */

TEST_T(docker_tls_client_certificates_reach_the_engine, 90)
{
    struct tls_rig r;
    rig_up(&r);
    char err[FL_ERR_LEN];
    tls_env(&r, "good", 1);
    struct docker_client c;
    ASSERT_MSG(docker_client_init(&c, NULL, err) == 0, "%s", err);
    ASSERT(c.tls);
    ASSERT(c.tls_verify);
    ASSERT_EQ_STR(docker_where(&c), r.host);
    ASSERT_MSG(docker_negotiate(&c, err) == 0, "negotiate through TLS: %s", err);
    ASSERT(c.api_version[0]);

    /* the same engine as the Unix socket: same swarm node id, same containers */
    struct docker_client u;
    ASSERT_MSG(docker_client_init(&u, th_docker_host(), err) == 0, "%s", err);
    sweep(&u);
    char id_tls[72], id_unix[72];
    ASSERT_MSG(docker_swarm_self(&c, id_tls, NULL, err) == 0, "info through TLS: %s", err);
    ASSERT_MSG(docker_swarm_self(&u, id_unix, NULL, err) == 0, "info: %s", err);
    ASSERT_EQ_STR(id_tls, id_unix);

    /* a container created through TLS, seen and acted on through both transports */
    char name[64], cid[72];
    snprintf(name, sizeof name, "fl-tls-%d", (int)getpid());
    json_t *cfg = json_pack("{s:s,s:[s,s],s:{s:s,s:s},s:{s:s,s:[s,s,s,s,s]}}", "Image", "hostbin", "Cmd", "/bin/sleep",
                            "600", "Labels", "faultline.test", "tls", "faultline.test.pid", "0", "HostConfig",
                            "NetworkMode", "host", "Binds", "/usr:/usr:ro", "/lib:/lib:ro", "/lib64:/lib64:ro",
                            "/bin:/bin:ro", "/etc:/etc:ro");
    ASSERT_MSG(docker_create(&c, name, cfg, cid, err) == 0, "create through TLS: %s", err);
    json_decref(cfg);
    ASSERT_MSG(docker_start(&c, cid, NULL, err) == 0, "start through TLS: %s", err);
    ASSERT_MSG(docker_pause(&c, cid, err) == 0, "pause through TLS: %s", err);
    struct docker_cstate st;
    ASSERT_MSG(docker_inspect(&u, name, &st, NULL, err) == 0, "%s", err);
    ASSERT_EQ_STR(docker_state_name(st.state), "paused");
    ASSERT_MSG(docker_unpause(&c, cid, err) == 0, "unpause through TLS: %s", err);
    ASSERT_MSG(docker_inspect(&c, name, &st, NULL, err) == 0, "%s", err);
    ASSERT_EQ_STR(docker_state_name(st.state), "running");
    /* a 404 through TLS maps like one through the socket */
    ASSERT(docker_inspect(&c, "fl-tls-no-such-container", &st, NULL, err) < 0);
    ASSERT_CONTAINS(err, "docker: 404 no such container: fl-tls-no-such-container");
    ASSERT_MSG(docker_remove(&c, cid, err) == 0, "%s", err);
    docker_client_release(&u);
    docker_client_release(&c);
    rig_down(&r);
}

TEST_T(docker_tls_fails_clearly_without_the_right_certificates, 90)
{
    struct tls_rig r;
    rig_up(&r);
    char err[FL_ERR_LEN], want[1400];

    /* no client certificate: the front refuses the handshake */
    tls_env(&r, "nocert", 1);
    ASSERT(try_negotiate(err) < 0);
    snprintf(want, sizeof want, "docker: TLS connection to '%s' failed: ", r.host);
    ASSERT_CONTAINS(err, want);
    snprintf(want, sizeof want, "(no client certificate was sent: put cert.pem and key.pem in %s/nocert", r.dir);
    ASSERT_CONTAINS(err, want);

    /* a client certificate from a CA the front does not trust */
    tls_env(&r, "rogue", 1);
    ASSERT(try_negotiate(err) < 0);
    snprintf(want, sizeof want, "docker: TLS connection to '%s' failed: ", r.host);
    ASSERT_CONTAINS(err, want);

    /* the daemon's certificate does not verify against our ca.pem */
    tls_env(&r, "wrongca", 1);
    ASSERT(try_negotiate(err) < 0);
    snprintf(want, sizeof want, "docker: TLS: the certificate of the daemon at '%s' does not verify against %s/wrongca/ca.pem",
             r.host, r.dir);
    ASSERT_CONTAINS(err, want);
    /* ... which is what DOCKER_TLS_VERIFY is for: without it the same files connect */
    tls_env(&r, "wrongca", 0);
    ASSERT_MSG(try_negotiate(err) == 0, "without verify: %s", err);

    /* half a client pair, and verify without a ca.pem: refused before connecting */
    tls_env(&r, "half", 1);
    ASSERT(try_negotiate(err) < 0);
    snprintf(want, sizeof want, "'%s/half/cert.pem' without '%s/half/key.pem'", r.dir, r.dir);
    ASSERT_CONTAINS(err, want);
    tls_env(&r, "empty", 1);
    ASSERT(try_negotiate(err) < 0);
    snprintf(want, sizeof want, "the daemon is to be verified but '%s/empty/ca.pem' cannot be read (No such file or directory)",
             r.dir);
    ASSERT_CONTAINS(err, want);

    /* plain HTTP to the TLS port: no answer the client mistakes for the engine */
    unsetenv("DOCKER_TLS_VERIFY");
    unsetenv("DOCKER_CERT_PATH");
    ASSERT(try_negotiate(err) < 0);
    ASSERT_CONTAINS(err, "docker: ");
    rig_down(&r);
}

/* One plan, two engines: a container through the Unix socket and one through tcp+TLS, and a
 * swarm service through tcp+TLS, each acted on and restored by build/faultline. */
TEST_T(docker_tls_plan_acts_on_two_engines, 150)
{
    struct tls_rig r;
    rig_up(&r);
    char out[16384], err[FL_ERR_LEN], path[700];
    /* the swarm tests' lock (test_swarm.c): a drain there would stop this test's service */
    int lk = open("/tmp/fl-swarm-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    ASSERT_MSG(lk >= 0 && flock(lk, LOCK_EX) == 0, "swarm test lock: %s", strerror(errno));
    int rc = th_sh(out, sizeof out, "sh scripts/swarm-up.sh 2>&1");
    ASSERT_MSG(rc == 0, "swarm-up.sh exited %d: %s", rc, out);
    struct docker_client u;
    ASSERT_MSG(docker_client_init(&u, th_docker_host(), err) == 0, "%s", err);
    sweep(&u);
    char local[64], remote[64], svc[64], lid[72], rid[72], sid[72];
    snprintf(local, sizeof local, "fl-tls-%d-local", (int)getpid());
    snprintf(remote, sizeof remote, "fl-tls-%d-remote", (int)getpid());
    snprintf(svc, sizeof svc, "fl-tls-%d-svc", (int)getpid());
    const char *names[] = { local, remote };
    char *ids[] = { lid, rid };
    for (int i = 0; i < 2; i++) {
        json_t *cfg = json_pack("{s:s,s:[s,s,s],s:{s:s},s:{s:s,s:[s,s,s,s,s]}}", "Image", "hostbin", "Cmd", "/bin/sh",
                                "-c", "trap 'exit 0' TERM; while :; do sleep 1; done", "Labels", "faultline.test",
                                "tls", "HostConfig", "NetworkMode", "host", "Binds", "/usr:/usr:ro", "/lib:/lib:ro",
                                "/lib64:/lib64:ro", "/bin:/bin:ro", "/etc:/etc:ro");
        ASSERT_MSG(docker_create(&u, names[i], cfg, ids[i], err) == 0, "create: %s", err);
        json_decref(cfg);
        ASSERT_MSG(docker_start(&u, ids[i], NULL, err) == 0, "start: %s", err);
    }
    json_t *spec = json_pack("{s:s,s:{s:s},s:{s:{s:s,s:I,s:[s,s,s],s:[{s:s,s:s,s:s,s:b},{s:s,s:s,s:s,s:b},{s:s,s:s,s:s,s:b},"
                             "{s:s,s:s,s:s,s:b},{s:s,s:s,s:s,s:b}]},s:[{s:s}]},s:{s:{s:i}}}",
                             "Name", svc, "Labels", "faultline.test", "tls", "TaskTemplate", "ContainerSpec", "Image",
                             "hostbin", "StopGracePeriod", (json_int_t)2000000000LL, "Args", "/bin/sh", "-c",
                             "trap 'exit 0' TERM; while :; do sleep 1; done", "Mounts", "Type", "bind", "Source", "/usr", "Target",
                             "/usr", "ReadOnly", 1, "Type", "bind", "Source", "/lib", "Target", "/lib", "ReadOnly", 1,
                             "Type", "bind", "Source", "/lib64", "Target", "/lib64", "ReadOnly", 1, "Type", "bind",
                             "Source", "/bin", "Target", "/bin", "ReadOnly", 1, "Type", "bind", "Source", "/etc",
                             "Target", "/etc", "ReadOnly", 1, "Networks", "Target", "host", "Mode", "Replicated",
                             "Replicas", 1);
    ASSERT_MSG(docker_service_create(&u, spec, sid, err) == 0, "service: %s", err);
    json_decref(spec);
    ASSERT_MSG(docker_service_wait_converged(&u, sid, 30000, NULL, err) == 0, "%s", err);

    /* plan.yaml takes TLS from the environment; plan-certs.yaml names the certificates on
     * its TLS targets (cert_path:, tls_verify:), which win over the environment */
    char tls_opts[700];
    snprintf(tls_opts, sizeof tls_opts, ", cert_path: \"%s/good\", tls_verify: true", r.dir);
    for (int variant = 0; variant < 2; variant++) {
    const char *topt = variant ? tls_opts : "";
    snprintf(path, sizeof path, "%s/%s", r.dir, variant ? "plan-certs.yaml" : "plan.yaml");
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fprintf(f,
            "faultline: 1\n"
            "name: two-engines\n"
            "duration: 5s\n"
            "targets:\n"
            "  here: { docker: { container: %s, host: \"%s\" } }\n"
            "  there: { docker: { container: %s, host: \"%s\"%s } }\n"
            "  svc: { swarm: { service: %s, host: \"%s\"%s } }\n"
            "steady_state:\n"
            "  - container: { target: here }\n"
            "  - container: { target: there }\n"
            "  - service: { target: svc }\n"
            "method:\n"
            "  - { name: stop-here, at: 300ms, fault: docker.stop, target: here, grace: 2s, for: 1500ms }\n"
            "  - { name: pause-there, at: 300ms, fault: docker.pause, target: there, for: 1500ms }\n"
            "  - { name: scale-svc, at: 300ms, fault: swarm.scale, target: svc, to: 2, for: 1500ms }\n"
            "probes:\n"
            "  - { name: here-stopped, during: stop-here, every: 1s, container: { target: here, expect: stopped } }\n"
            "  - { name: there-paused, during: pause-there, every: 1s, container: { target: there, expect: paused } }\n"
            "  - { name: svc-scaled, during: scale-svc, every: 1s, service: { target: svc, expect: \"desired == 2\" } }\n",
            local, th_docker_host(), remote, r.host, topt, svc, r.host, topt);
    fclose(f);
    }
    struct docker_cstate st;
    struct docker_service sv;
    for (int variant = 0; variant < 2; variant++) {
        /* variant 1: the environment's certificates could not work; the plan's are used */
        rc = th_sh(out, sizeof out, "cd '%s' && DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH='%s/%s' '%s' run %s -o report%d 2>&1",
                   r.dir, r.dir, variant ? "nocert" : "good", th_faultline(), variant ? "plan-certs.yaml" : "plan.yaml",
                   variant);
        ASSERT_MSG(rc == 0, "faultline run (%s) exited %d:\n%s", variant ? "plan-certs.yaml" : "plan.yaml", rc, out);
        ASSERT_CONTAINS(out, "there-paused");
        /* everything back as found */
        for (int i = 0; i < 2; i++) {
            ASSERT_MSG(docker_inspect(&u, ids[i], &st, NULL, err) == 0, "%s", err);
            ASSERT_EQ_STR(docker_state_name(st.state), "running");
        }
        ASSERT_MSG(docker_service_inspect(&u, sid, &sv, NULL, err) == 0, "%s", err);
        ASSERT_EQ_INT(sv.replicas, 1);
    }
    /* the same plan without a client certificate cannot reach 'there': the run stops when it
     * opens its targets, before anything is touched */
    rc = th_sh(out, sizeof out, "cd '%s' && DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH='%s/nocert' '%s' run plan.yaml -o report9 2>&1",
               r.dir, r.dir, th_faultline());
    ASSERT_MSG(rc != 0, "run without client certificates passed:\n%s", out);
    ASSERT_CONTAINS(out, "no client certificate was sent");
    ASSERT_MSG(docker_inspect(&u, lid, &st, NULL, err) == 0, "%s", err);
    ASSERT_EQ_STR(docker_state_name(st.state), "running");
    docker_service_remove(&u, sid, err);
    docker_remove(&u, lid, err);
    docker_remove(&u, rid, err);
    docker_client_release(&u);
    rig_down(&r);
}

/* TLS settings on the target itself (cert_path:, tls_verify:) win over the environment, and
 * the journal record keeps them: a revert from the record alone, in an environment that
 * points elsewhere, reaches the engine the same way. */
TEST_T(docker_tls_settings_per_target_and_in_the_journal, 90)
{
    struct tls_rig r;
    rig_up(&r);
    char err[FL_ERR_LEN], spec[1024], e[FL_ERR_LEN];
    struct docker_client u;
    ASSERT_MSG(docker_client_init(&u, th_docker_host(), err) == 0, "%s", err);
    sweep(&u);
    char name[64], cid[72];
    snprintf(name, sizeof name, "fl-tls-%d-per-target", (int)getpid());
    char *argv[] = { "/bin/sleep", "600", NULL };
    fx_container(&u, "tls", name, argv, NULL, NULL, NULL, NULL, 1, cid);
    /* the environment names certificates that cannot work: only the target's may be used */
    tls_env(&r, "nocert", 1);
    struct fx f;
    fx_init(&f, 7);
    snprintf(spec, sizeof spec, "host: \"%s\", container: %s, cert_path: \"%s/good\", tls_verify: true", r.host, name,
             r.dir);
    struct target *t = fx_target_try(&f, &target_docker, "there", spec, 0, 0, e);
    ASSERT_MSG(t, "target: %s", e);
    ASSERT_MSG(target_docker.open(t, &f.ctx, err) == 0, "open with the target's certificates: %s", err);
    struct fault_inst fi;
    fx_fault(&f, &fi, &fault_docker_pause, t, "");
    ASSERT_MSG(fault_docker_pause.inject(&fi, err) == 0, "pause: %s", err);
    struct docker_cstate st;
    ASSERT_MSG(docker_inspect(&u, cid, &st, NULL, err) == 0, "%s", err);
    ASSERT_EQ_STR(docker_state_name(st.state), "paused");
    json_t *rec = fault_docker_pause.save(&fi);
    ASSERT(rec);
    char want[700];
    snprintf(want, sizeof want, "%s/good", r.dir);
    ASSERT_EQ_STR(json_string_value(json_object_get(rec, "cert_path")), want);
    ASSERT(json_is_true(json_object_get(rec, "tls_verify")));
    char *js = json_dumps(rec, JSON_COMPACT);
    ASSERT(!strstr(js, "PRIVATE KEY"));          /* paths only, never key material */
    free(js);
    /* `faultline rollback` in another shell: only the record, the wrong environment */
    tls_env(&r, "empty", 0);
    ASSERT_MSG(fault_reconcile_rec(&fault_docker_pause, rec, NULL, NULL, err) == 0, "revert from the record: %s", err);
    ASSERT_MSG(docker_inspect(&u, cid, &st, NULL, err) == 0, "%s", err);
    ASSERT_EQ_STR(docker_state_name(st.state), "running");
    json_decref(rec);
    fx_fault_release(&fi);
    /* a target naming certificates without a client pair fails, whatever the environment */
    tls_env(&r, "good", 1);
    snprintf(spec, sizeof spec, "host: \"%s\", container: %s, cert_path: \"%s/nocert\"", r.host, name, r.dir);
    struct target *bad = fx_target_try(&f, &target_docker, "nope", spec, 0, 0, e);
    ASSERT_MSG(bad, "target: %s", e);
    ASSERT(target_docker.open(bad, &f.ctx, err) < 0);
    ASSERT_CONTAINS(err, "no client certificate was sent");
    fx_release(&f);
    unsetenv("DOCKER_HOST");
    unsetenv("DOCKER_TLS_VERIFY");
    unsetenv("DOCKER_CERT_PATH");
    docker_remove(&u, cid, err);
    docker_client_release(&u);
    rig_down(&r);
}
