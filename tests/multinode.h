/* multinode.h -- more Docker engines on this one machine, for the multi-node tests
 * (tests/integration/test_multinode.c): each a dockerd in network, UTS and mount namespaces of
 * its own with a veth pair to this one, made and undone by tests/multinode.sh (which says how),
 * and, when asked, a worker of the test engine's swarm.
 *
 *   struct docker_client mgr;  char self[72];
 *   fx_swarm(&mgr, self);                   -- first, when joining: the swarm test lock
 *   struct mn_engine w;
 *   mn_up(&w, 1, MN_JOIN, NULL);            -- asserts it answers (joined, seen ready)
 *   ... w.host, w.name (its hostname = its node's), w.node_id, w.dc (a client of it) ...
 *   mn_down(&w);                            -- undoes it and asserts nothing is left
 *
 * Whatever way the test ends before mn_down() (an assertion, the timeout, a signal), a keeper
 * process undoes the engine: mn_up() forks it first, in a session of its own (the harness
 * kills the test's process group, not it); it waits for the test to close a pipe and, unless
 * mn_down() said it was done, runs `multinode.sh down`. It inherits the test's descriptors,
 * so it holds the swarm test lock of fx_swarm() until the node has left the swarm: no other
 * test run's swarm test ever sees the node. Its output goes to /tmp/fl-multinode-keeper.log.
 * mn_up() also sweeps what runs that died with their keeper left (multinode.sh sweep). */
#ifndef FL_TEST_MULTINODE_H
#define FL_TEST_MULTINODE_H

#include <jansson.h>
#include <sys/types.h>
#include "docker_api.h"

#define MN_JOIN 1

struct mn_engine {
    char dir[96];            /* /tmp/fl-mn-<test pid>-<index>: everything of it lives here */
    char name[64];           /* the folder's name: its hostname, node hostname and netns */
    char host[160];          /* unix://DIR/docker.sock */
    char addr[32];           /* its address on the veth (10.254.K.2) */
    char node_id[72];        /* its swarm node ("" unless joined) */
    int dockerd_pid;
    double answered_s;       /* from starting dockerd until it answered */
    double ready_s;          /* ... until it had the image (and joined, and the manager saw it ready) */
    double down_s;           /* mn_down() */
    struct docker_client dc; /* a client of it, negotiated */
    pid_t keeper;
    int keeper_fd;           /* the pipe the keeper reads: "d" = done, EOF = undo it */
};

/* Start engine number index (1, 2 ...) of this test; flags MN_JOIN: as a swarm worker (call
 * fx_swarm() first); node_label ("key=value", may be NULL): a label on its node. Asserts. */
void mn_up(struct mn_engine *e, int index, int flags, const char *node_label);
/* Undo it now (multinode.sh down), tell the keeper, and assert nothing is left. */
void mn_down(struct mn_engine *e);
/* Assert nothing of the engine of folder dir is left: process, namespace, veth, mount, swarm
 * node, service labelled for it, folder (multinode.sh check). */
void mn_assert_gone(const char *dir);
/* Label a service spec (fx_service_spec) faultline.test.multinode=NAME: multinode.sh down
 * removes it with the engine (a test that died leaves no service of it in the swarm). */
void mn_label_service(json_t *spec, const struct mn_engine *e);

#endif
