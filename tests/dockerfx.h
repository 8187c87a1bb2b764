/* dockerfx.h -- fixtures shared by the tests of the docker and swarm drivers: a plan whose
 * targets, faults and probes are built from YAML snippets through the drivers' own parse()
 * (the way a plan file builds them), and the sweep of containers an earlier failed run left. */
#ifndef FL_TEST_DOCKERFX_H
#define FL_TEST_DOCKERFX_H

#include <jansson.h>
#include <stdint.h>
#include "docker_api.h"
#include "fault.h"
#include "plan.h"
#include "probe.h"

struct fx {
    struct plan plan;
    struct fl_ctx ctx;
    struct target *targets[8];
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
/* a Redis on loopback port: 1 PONG, 0 refused, -1 no answer within timeout_ms (or another error) */
int fx_redis_ping(int port, int timeout_ms);
/* wait (5 s at most, asserting) until it answers PONG */
void fx_wait_pong(int port);

#endif
