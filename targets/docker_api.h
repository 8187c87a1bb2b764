/* docker_api.h -- a small Docker Engine API client (libcurl + jansson), no SDK, no CLI.
 *
 * Transport lives in one place, struct docker_client: a Unix socket (DOCKER_HOST=unix://PATH,
 * default /var/run/docker.sock) or tcp://HOST:PORT, with TLS when DOCKER_TLS_VERIFY or
 * DOCKER_CERT_PATH is set (ca.pem, cert.pem, key.pem from DOCKER_CERT_PATH).
 *
 *   struct docker_client c;
 *   if (docker_client_init(&c, host_or_NULL, err) < 0) ...   -- parses the address, no I/O
 *   docker_pause(&c, "redis-1", err);   -- the first call negotiates the API version
 *   docker_client_release(&c);
 *
 * Every request goes to /vX.YZ/... with the version negotiated through GET /_ping
 * (Api-Version header; /version as a fallback), capped at DOCKER_API_MAX. One client keeps
 * one connection alive; its calls are serialized by a mutex, so a client may be shared,
 * but a probe that checks while a fault acts should use its own client to avoid waiting.
 *
 * Errors (err, FL_ERR_LEN) start with "docker: " and say what happened:
 *   docker: daemon not reachable at '/var/run/docker.sock': no such socket
 *   docker: permission denied on socket '/var/run/docker.sock' (needs root or the docker group)
 *   docker: 404 no such container: db
 *   docker: 409 conflict: container 1f2e... is not running
 *   docker: 500 daemon error: <the daemon's message>
 */
#ifndef FL_DOCKER_API_H
#define FL_DOCKER_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include "buf.h"
#include "fl.h"

#define DOCKER_DEFAULT_HOST "unix:///var/run/docker.sock"
#define DOCKER_API_MIN "1.24"          /* oldest Engine API we speak */
#define DOCKER_API_MAX "1.43"          /* newest we ask for; a newer daemon still serves it */
#define DOCKER_REPLY_CAP (8u << 20)    /* cap on one reply body (container lists can be big) */

struct docker_client {
    char *host;              /* the address as given ("unix:///var/run/docker.sock") */
    char *socket_path;       /* unix: the socket; NULL for tcp */
    char *base_url;          /* "http://docker" (unix) or "http(s)://HOST:PORT" */
    int tls;                 /* tcp with TLS */
    char *cert_path;         /* DOCKER_CERT_PATH, or NULL */
    int tls_verify;          /* verify the daemon's certificate */
    char api_version[16];    /* "1.41" once negotiated, "" before */
    long connect_timeout_ms; /* default 5000 */
    long timeout_ms;         /* default per-request timeout, 30000 */
    void *curl;              /* CURL *, kept for connection reuse */
    pthread_mutex_t lock;
};

/* One HTTP reply. body is capped at DOCKER_REPLY_CAP. */
struct docker_reply {
    long status;
    struct buf body;
    char api_version[16];    /* the Api-Version header, when sent */
};

/* Parse host (NULL: $DOCKER_HOST, else DOCKER_DEFAULT_HOST) and the TLS variables. No I/O. */
int docker_client_init(struct docker_client *c, const char *host, char *err);
/* The same with a target's own TLS settings for a tcp:// host: cert_path (NULL: $DOCKER_CERT_PATH,
 * else ~/.docker) holds ca.pem, cert.pem, key.pem; tls_verify 1/0 (-1: $DOCKER_TLS_VERIFY). */
int docker_client_init_tls(struct docker_client *c, const char *host, const char *cert_path, int tls_verify, char *err);
/* A journal record keeps the TLS settings a client ran with (cert_path, tls_verify: paths and
 * a flag, no key material), so that `faultline rollback` in another shell, with another
 * environment, reaches the engine the same way; init_saved reads them back. */
void docker_client_save_tls(const struct docker_client *c, json_t *rec);
int docker_client_init_saved(struct docker_client *c, const char *host, const json_t *rec, char *err);
void docker_client_release(struct docker_client *c);
/* GET /_ping (then /version) and pick min(daemon, DOCKER_API_MAX). Called lazily by the
 * requests below; call it directly to fail early. */
int docker_negotiate(struct docker_client *c, char *err);
/* A short text naming where the daemon is, for messages: the socket path or host URL. */
const char *docker_where(const struct docker_client *c);

/* Raw request. path starts with "/" and is sent under the version prefix (unless
 * versioned is 0). body is JSON or NULL. timeout_ms 0 = the client's default.
 * Returns -1 only for transport errors; HTTP errors are in r->status (see docker_status_err).
 * The caller initializes r with docker_reply_init and releases it. */
void docker_reply_init(struct docker_reply *r);
void docker_reply_release(struct docker_reply *r);
int docker_request(struct docker_client *c, const char *method, const char *path, int versioned,
                   const char *body, long timeout_ms, struct docker_reply *r, char *err);
/* Map an HTTP status >= 300 (other than 304) and the daemon's JSON {"message":...} to err.
 * Pure. Returns -1 (always fills err). */
int docker_status_err(long status, const char *body, char *err);
/* request + status check: 0 for 2xx and 304 (*status tells which); *json (may be NULL)
 * gets the parsed reply when it is JSON (caller json_decref's). */
int docker_call(struct docker_client *c, const char *method, const char *path, const char *body,
                long timeout_ms, long *status, json_t **json, char *err);

/* ---- containers -------------------------------------------------------------------- */

enum docker_run_state { DS_CREATED, DS_RUNNING, DS_PAUSED, DS_RESTARTING, DS_EXITED, DS_DEAD, DS_REMOVING };
const char *docker_state_name(enum docker_run_state s);
/* "running" -> DS_RUNNING ...; -1 when unknown */
int docker_state_parse(const char *s);

struct docker_cstate {
    char id[72];
    char name[256];          /* without the leading "/" */
    enum docker_run_state state;
    int exit_code;
    int restart_count;
    int has_healthcheck;     /* Config.Healthcheck with a test other than NONE */
    char health[16];         /* "healthy" / "unhealthy" / "starting", "" without healthcheck */
};

/* Fill st from an inspect reply (GET /containers/{id}/json). Pure. */
int docker_cstate_from_json(const json_t *inspect, struct docker_cstate *st, char *err);
/* Does an inspect reply (Config.Labels) or a list entry (Labels) carry "k=v" (or key "k")? Pure. */
int docker_has_label(const json_t *container, const char *label);

/* GET /containers/{ref}/json. *json (may be NULL) receives the whole reply. */
int docker_inspect(struct docker_client *c, const char *ref, struct docker_cstate *st, json_t **json, char *err);
/* GET /containers/json?all=1&filters={"label":[...]}: a JSON array of containers. */
int docker_list(struct docker_client *c, char *const *label_filters, size_t nfilters, json_t **arr, char *err);

/* Actions. *changed (may be NULL) is 0 when the daemon answered 304 (already in that state). */
int docker_start(struct docker_client *c, const char *id, int *changed, char *err);
int docker_stop(struct docker_client *c, const char *id, int64_t grace_ms, int *changed, char *err);
int docker_restart(struct docker_client *c, const char *id, int64_t grace_ms, char *err);
int docker_kill(struct docker_client *c, const char *id, const char *signal, char *err);
int docker_pause(struct docker_client *c, const char *id, char *err);
int docker_unpause(struct docker_client *c, const char *id, char *err);

/* Run argv inside the container through the exec API (non-detached; the multiplexed
 * stdout/stderr stream is read until the command ends). *exit_code gets its status.
 * output (may be NULL) receives stdout+stderr, up to its cap. */
int docker_exec(struct docker_client *c, const char *id, char *const *argv, int64_t timeout_ms,
                int *exit_code, struct buf *output, char *err);
/* A detached exec, for a process that outlives the call (docker.stress): create (POST
 * /containers/{id}/exec, nothing attached) fills exec_id[128]; start (POST /exec/{id}/start,
 * Detach) returns once the engine started it; inspect (GET /exec/{id}/json) tells whether it
 * still runs, its host pid (0 before it has one) and its exit code (-1 while running). */
int docker_exec_create(struct docker_client *c, const char *id, char *const *argv, char exec_id[128], char *err);
int docker_exec_start_detached(struct docker_client *c, const char *exec_id, char *err);
int docker_exec_inspect(struct docker_client *c, const char *exec_id, int *running, long *pid, int *exit_code,
                        char *err);

/* POST /containers/{id}/update with body (a JSON object of HostConfig resource fields:
 * NanoCpus, CpuQuota, CpuPeriod, Memory, MemorySwap, PidsLimit ...). */
int docker_update(struct docker_client *c, const char *id, const json_t *body, char *err);
/* GET /containers/{id}/stats?stream=false&one-shot=true: one sample (no precpu_stats). */
int docker_stats_once(struct docker_client *c, const char *id, json_t **json, char *err);
/* The resource fields of an inspect's HostConfig as a new object: NanoCpus, CpuQuota,
 * CpuPeriod, Memory, MemorySwap (integers; 0 when absent or not integers) and PidsLimit (an
 * integer, or null when absent or not an integer). Pure. */
json_t *docker_resources_from_json(const json_t *host_config);
/* Bytes a container's processes use, from a stats reply: memory_stats.usage less the
 * inactive file cache (total_inactive_file on cgroup v1, inactive_file on v2), as docker stats
 * shows. 0 with *used >= 0, or -1 with err when the reply has no usable usage. Pure. */
int docker_mem_used_from_json(const json_t *stats, int64_t *used, char *err);

/* Split a multiplexed exec/attach stream (8-byte frame headers: stream, 0, 0, 0, size
 * big-endian) into out, stdout and stderr both; fed in pieces as they arrive. Pure.
 * Bytes past out's cap are dropped (out->overflow set), the stream is still followed. */
struct docker_demux {
    unsigned char hdr[8];
    size_t hlen;             /* header bytes collected */
    uint64_t left;           /* payload bytes left in the current frame */
};
void docker_demux_feed(struct docker_demux *d, const char *data, size_t len, struct buf *out);

/* Poll until State.Health.Status is healthy, at most timeout_ms; error when the container
 * stops or the time runs out. Containers without a healthcheck return 0 at once. */
int docker_wait_healthy(struct docker_client *c, const char *id, int64_t timeout_ms, char *err);

/* Create (POST /containers/create?name=) with a JSON config; id_out gets the id (72 bytes). */
int docker_create(struct docker_client *c, const char *name, json_t *config, char id_out[72], char *err);
/* DELETE /containers/{id}?force=1&v=1; a missing container is not an error. */
int docker_remove(struct docker_client *c, const char *id, char *err);

/* ---- swarm: services, tasks, nodes ------------------------------------------------------
 * The engine asked must be a swarm manager (services, tasks and nodes live in its store);
 * a container of a task is killed through the engine of the node it runs on. Updates send the
 * whole Spec back with the Version.Index read just before, and are retried (a few times) when
 * another update raced ("update out of sequence"). */

struct docker_service {
    char id[72];
    char name[256];
    uint64_t version;        /* Version.Index, for updates */
    int global;              /* Mode.Global: one task per eligible node, no replica count */
    int64_t replicas;        /* Spec.Mode.Replicated.Replicas; -1 for global services */
};
/* Fill sv from GET /services/{id} (or a list entry). Pure. */
int docker_service_from_json(const json_t *j, struct docker_service *sv, char *err);
int docker_service_inspect(struct docker_client *c, const char *ref, struct docker_service *sv, json_t **json,
                           char *err);
/* GET /services?filters={"label":[...]} (no filter: every service): a JSON array. */
int docker_service_list(struct docker_client *c, char *const *label_filters, size_t nfilters, json_t **arr, char *err);
/* Set Spec.Mode.Replicated.Replicas. *prior (may be NULL) gets the count found. Global
 * services are refused. Does not wait for the tasks (see docker_service_wait_converged). */
int docker_service_scale(struct docker_client *c, const char *ref, int64_t replicas, int64_t *prior, char *err);
/* POST /services/create with a ServiceSpec; id_out gets the id. DELETE /services/{id}: a
 * missing service is not an error. (Tests and examples.) */
int docker_service_create(struct docker_client *c, json_t *spec, char id_out[72], char *err);
int docker_service_remove(struct docker_client *c, const char *ref, char *err);

struct docker_task {
    char id[72];
    char service_id[72];
    char node_id[72];
    char container_id[72];   /* Status.ContainerStatus.ContainerID, "" before it has one */
    int slot;                /* replicated services: 1..replicas; 0 for global */
    char state[16];          /* Status.State: new pending ... running complete failed shutdown rejected */
    char desired[16];        /* DesiredState: running, shutdown, remove ... */
};
int docker_task_from_json(const json_t *j, struct docker_task *t, char *err);
/* GET /tasks/{id}. */
int docker_task_inspect(struct docker_client *c, const char *id, struct docker_task *t, char *err);
/* GET /tasks?filters={"service":[id]}: every task the engine keeps, history included. */
int docker_task_list(struct docker_client *c, const char *service_id, json_t **arr, char *err);

/* How far a service is from what it asks for. */
struct docker_svc_status {
    int64_t desired;         /* replicas (global: tasks the orchestrator wants running) */
    int64_t running;         /* tasks running that should run */
    int64_t pending;         /* tasks that should run and do not yet (new .. starting) */
    int64_t stopping;        /* tasks still running that should stop (scale down, drain) */
    int64_t failed;          /* tasks in the kept history that ended failed or rejected:
                                the engine had to replace them (bounded by the history limit) */
    int converged;           /* running == desired, nothing pending or stopping */
};
/* From a service and its task list. Pure. */
void docker_svc_status_from(const struct docker_service *sv, const json_t *tasks, struct docker_svc_status *st);
int docker_service_status(struct docker_client *c, const char *ref, struct docker_svc_status *st, char *err);
/* Poll (every 100 ms) until converged, at most timeout_ms; *took_ms (may be NULL) gets the
 * time it took. The error says how far it was: "service 'web': 1 of 2 running after 30.0s". */
int docker_service_wait_converged(struct docker_client *c, const char *ref, int64_t timeout_ms, int64_t *took_ms,
                                  char *err);

struct docker_node {
    char id[72];
    char hostname[256];
    uint64_t version;
    char availability[16];   /* active, pause, drain */
    char role[16];           /* manager, worker */
    char state[16];          /* Status.State: ready, down, unknown, disconnected */
};
int docker_node_from_json(const json_t *j, struct docker_node *nd, char *err);
int docker_node_inspect(struct docker_client *c, const char *ref, struct docker_node *nd, json_t **json, char *err);
/* Set Spec.Availability ("active", "pause", "drain"). prior (16 bytes, may be NULL) gets the
 * value found; *changed (may be NULL) is 0 when it already had that value (nothing sent). */
int docker_node_set_availability(struct docker_client *c, const char *ref, const char *availability,
                                 char prior[16], int *changed, char *err);
/* GET /info: the engine's own swarm node id ("" when not in a swarm) and whether it manages. */
int docker_swarm_self(struct docker_client *c, char node_id[72], int *manager, char *err);

/* ---- docker targets (targets/docker_target.c), used by faults/docker.c and probes/container.c -- */
struct target;
struct drv_ctx;

struct docker_target {
    char *host;              /* `host:` or NULL ($DOCKER_HOST / default) */
    char *cert_path;         /* `cert_path:` or NULL ($DOCKER_CERT_PATH) */
    int tls_verify;          /* `tls_verify:` 1/0, -1 = $DOCKER_TLS_VERIFY */
    char *container;         /* `container:` name or id */
    char **labels;           /* "k=v" filters from labels:/label:/compose: */
    size_t nlabels;
    char *summary;           /* "container 'db'" / "label app=web" for messages */
    /* run state, filled by open() (target_docker.open) */
    struct docker_client client;
    int client_ready;
    char **ids, **names;     /* the resolved (and picked) containers, sorted by id */
    size_t n;
};

/* A client of the caller's own (c, released by the caller) to the engine of docker target t,
 * with the API version t's open() negotiated when it did; t is resolved first when no run
 * opened it. -1 with err: "<kind> needs a docker target", or why the client or t failed. */
int docker_target_client(struct target *t, const struct drv_ctx *ctx, const char *kind, struct docker_client *c,
                         char *err);

/* Resolve t's selector against the daemon of c (list with filters, all=true), apply pick
 * (seeded with t->pick_seed, else run_seed) and the plan's require_label guard.
 * ids/names are NULL-terminated arrays the caller frees with param_strv_free(). */
int docker_target_resolve(const struct target *t, struct docker_client *c, uint64_t run_seed,
                          const char *require_label, char ***ids, char ***names, size_t *n, char *err);

/* ---- swarm targets (targets/swarm_target.c), used by faults/swarm.c and probes/service.c -- */

struct swarm_task_ref {
    char id[72];
    char name[300];          /* "web.2" (replicated: service.slot) or "web.<node id>" (global) */
    char service_id[72];
    int slot;
    char node_id[72];
    char container_id[72];
};

/* What a swarm target designates at one moment (services, their running tasks, the nodes
 * those run on), with the target's pick applied to tasks and to nodes. */
struct swarm_view {
    char **service_ids, **service_names;  /* NULL-terminated, sorted by name */
    size_t nservices;
    struct swarm_task_ref *tasks;         /* running tasks, sorted by service, slot, node */
    size_t ntasks;
    char **node_ids, **node_names;        /* NULL-terminated, sorted by hostname */
    size_t nnodes;
};
void swarm_view_release(struct swarm_view *v);

struct swarm_target {
    char *host;              /* `host:` (a manager) or NULL ($DOCKER_HOST / default) */
    char *cert_path;         /* `cert_path:` or NULL ($DOCKER_CERT_PATH) */
    int tls_verify;          /* `tls_verify:` 1/0, -1 = $DOCKER_TLS_VERIFY */
    char *service;           /* `service:` name or id */
    char **labels;           /* "k=v" filters from labels: */
    size_t nlabels;
    int slot;                /* `slot:` narrows to one task slot (0 = any) */
    char *node;              /* `node:` narrows to tasks on this node (hostname or id) */
    char **engine_nodes, **engine_addrs;  /* `engines:` node (hostname or id) -> address */
    size_t nengines;
    char *summary;           /* "service 'web'" for messages */
    struct docker_client client;          /* run state, filled by open() */
    int client_ready;
    struct swarm_view view;
    int resolved;
};

/* Resolve t (a swarm target) against the manager c: services (refused when one lacks the
 * plan's require_label), running tasks, their nodes; pick applied with t->pick_seed, else
 * run_seed. An empty task list is not an error here (a service scaled to 0). */
int swarm_target_resolve(const struct target *t, struct docker_client *c, uint64_t run_seed, const char *require_label,
                         struct swarm_view *v, char *err);
/* The engine address for a node (by hostname or id) from `engines:`, NULL when not given. */
const char *swarm_engine_for(const struct swarm_target *st, const char *node_id, const char *hostname);

#endif
