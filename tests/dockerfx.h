/* dockerfx.h -- fixtures shared by the tests of the docker and swarm drivers: a plan whose
 * targets, faults and probes are built from YAML snippets through the drivers' own parse()
 * (the way a plan file builds them), and the sweep of containers an earlier failed run left;
 * swarm services; and the built faultline binary run as a process in a folder of its own
 * (test_never_broken.c, test_crash_matrix.c). */
#ifndef FL_TEST_DOCKERFX_H
#define FL_TEST_DOCKERFX_H

#include <jansson.h>
#include <stdint.h>
#include "docker_api.h"
#include "fault.h"
#include "probe.h"

struct fx {
    struct drv_parse pc;          /* what parse() sees: the targets below, by name */
    struct drv_ctx ctx;           /* what the drivers see of the "run": the seed, require_label */
    struct target *targets[8];
    size_t ntargets;
    struct node *trees[32];
    int ntrees;
};

void fx_init(struct fx *f, uint64_t seed);
/* a YAML tree the fixture frees */
struct node *fx_yaml(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* target NAME of kind ops from the YAML of its map (host: the test engine, unless given);
 * pick_count > 0 adds a pick of that many with seed. NULL and the first diagnostic on error. */
struct target *fx_target_try(struct fx *f, const struct target_ops *ops, const char *name, const char *spec,
                             int pick_count, uint64_t seed, char *diagtext);
/* a fault instance of ops on t from its step keys (asserts they parse) */
void fx_fault(struct fx *f, struct fault_inst *fi, const struct fault_ops *ops, struct target *t, const char *params);
void fx_fault_release(struct fault_inst *fi);
/* one check() of probe ops from its keys; entry: pass the keys as the step entry too */
int fx_probe(struct fx *f, const struct probe_ops *ops, const char *spec, int entry, struct probe_obs *obs,
             char *err);
/* closes and frees the targets (each by its own ops) and the YAML trees */
void fx_release(struct fx *f);

/* remove the containers labelled faultline.test=TEST that an earlier failed run left behind;
 * not those of a run going on now (their creator, faultline.test.pid, lives) */
void fx_sweep_containers(struct docker_client *dc, const char *test);

/* create (and start unless start is 0) a container of the empty `hostbin` image running the
 * host program argv through read-only binds of /usr /lib /lib64 /bin /etc, --network host;
 * rw_dir (may be NULL) bound read-write; labelled faultline.test=TEST and with this pid */
void fx_container(struct docker_client *dc, const char *test, const char *name, char *const *argv, const char *user,
                  const char *rw_dir, json_t *labels, json_t *healthcheck, int start, char id[72]);
/* ---- swarm ---- */
/* the engine as a swarm manager whose node is active, one swarm test at a time across
 * concurrent test runs (a lock held until the forked test ends); self_node gets its node id */
void fx_swarm(struct docker_client *dc, char self_node[72]);
/* a replicated service of `replicas` hostbin tasks running a shell loop that exits on SIGTERM;
 * restarts after 200ms, stops within 2s; labelled faultline.test=TEST and with this pid */
void fx_service(struct docker_client *dc, const char *test, const char *name, int replicas, json_t *labels,
                char id[72]);
/* the spec fx_service() creates, for a caller that adds to it (placement ...); caller decrefs */
json_t *fx_service_spec(const char *test, const char *name, int replicas, json_t *labels);
/* remove the services labelled faultline.test=TEST an earlier failed run left (not a live run's) */
void fx_sweep_services(struct docker_client *dc, const char *test);
/* a service's task counts, and a wait until it converges (the test fails otherwise) */
struct docker_svc_status fx_svc_status(struct docker_client *dc, const char *ref);
void fx_converge(struct docker_client *dc, const char *ref, int64_t within_ms);

/* ---- faultline as a process in dir (its journal: dir/journal.jsonl) ---- */
void fx_write_file(const char *dir, const char *name, const char *text);
/* dir/name's bytes, NUL-terminated (caller frees; "" when absent) */
char *fx_slurp(const char *dir, const char *name);
/* `faultline ARGS...` in dir, in the background, stdout+stderr to dir/run.txt; env: extra
 * "NAME=VALUE" entries (NULL-terminated, may be NULL) */
pid_t fx_fl_start(const char *dir, char *const *env, char *const *args);
/* its exit code within timeout_ms (128+signal when a signal ended it), -1 when it did not
 * end (it is then killed) */
int fx_fl_wait(pid_t pid, int timeout_ms);
/* `faultline ARGS` (a shell word list) in dir, synchronously; exit code, output in out */
int fx_fl(const char *dir, const char *args, char *out, size_t outlen);
/* records of op in dir/journal.jsonl ("intent", "reverted" -- only those with ok -- ...) */
int fx_journal_count(const char *dir, const char *op);
/* a redis-server of the test's own on loopback port (in the test's process group, so the
 * harness ends it), answering PONG when this returns */
pid_t fx_redis_server(int port);
void fx_stop_pid(pid_t pid);

/* a Redis on loopback port: 1 PONG, 0 refused, -1 no answer within timeout_ms (or another error) */
int fx_redis_ping(int port, int timeout_ms);
/* 1 when a write (SET) is answered OK within timeout_ms, 0 when not (paused), -1 on another error */
int fx_redis_write(int port, int timeout_ms);
/* wait (5 s at most, asserting) until it answers PONG */
void fx_wait_pong(int port);

#endif
