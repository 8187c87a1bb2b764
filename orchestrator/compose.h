/* compose.h -- what `faultline init` needs of a docker-compose file: its services, their
 * images, replicas, published ports, healthchecks, depends_on and the NAMES of their
 * environment variables (never the values: they may be secrets).
 *
 *   struct compose c;
 *   char err[FL_ERR_LEN];
 *   if (compose_load("docker-compose.yml", &c, err) < 0) -> err is "file:line:col: ..."
 *   ... c.svc[i] ...; compose_release(&c);
 *
 * compose_parse() reads bytes only (no I/O: fuzzed by tests/fuzz/fuzz_compose.c). YAML
 * anchors, aliases and `<<:` merge keys are followed as docker compose does.
 */
#ifndef FL_COMPOSE_H
#define FL_COMPOSE_H

#include <stddef.h>

struct compose_port {
    int published;      /* host port, 0 when the port is only exposed to other services */
    int target;         /* container port */
};

struct compose_service {
    char *name;
    char *image;                    /* NULL when built (build:) without an image: name */
    char *container_name;           /* NULL unless set */
    int replicas;                   /* deploy.replicas, or scale:, or 1 */
    struct compose_port *ports; size_t nports;
    char *health;                   /* the healthcheck's test as one line, NULL when none */
    char **depends_on; size_t ndepends;
    char **env; size_t nenv;        /* environment variable names only */
    int line, col;                  /* where the service is defined */
};

struct compose {
    char *name;                     /* top-level name: (the project), or NULL */
    struct compose_service *svc; size_t n;
};

int compose_parse(const char *path, const char *bytes, size_t len, struct compose *c, char *err);
int compose_load(const char *path, struct compose *c, char *err);
void compose_release(struct compose *c);
/* the service named so, or NULL */
const struct compose_service *compose_find(const struct compose *c, const char *name);

#endif
