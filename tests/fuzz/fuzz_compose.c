/* fuzz_compose.c -- libFuzzer target: the docker-compose reader of `faultline init` on
 * arbitrary bytes (anchors, aliases, merge keys included): a service list or an error with
 * a position, never a crash or a hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "compose.h"
#include "fl.h"

#ifndef FUZZ_COMPOSE_ENTRY
#define FUZZ_COMPOSE_ENTRY LLVMFuzzerTestOneInput
#endif
#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) abort()
#endif

int FUZZ_COMPOSE_ENTRY(const uint8_t *data, size_t size);
int FUZZ_COMPOSE_ENTRY(const uint8_t *data, size_t size)
{
    struct compose c;
    char err[FL_ERR_LEN];
    err[0] = '\0';
    if (compose_parse("fuzz.yml", (const char *)data, size, &c, err) < 0) {
        if (strncmp(err, "fuzz.yml", 8) != 0) FUZZ_FAIL("a rejected compose file without a message naming it: '%s'", err);
        return 0;
    }
    if (c.n == 0) FUZZ_FAIL("an accepted compose file without services");
    for (size_t i = 0; i < c.n; i++) {
        const struct compose_service *s = &c.svc[i];
        if (!s->name || s->replicas < 0) FUZZ_FAIL("service %zu: no name or negative replicas", i);
        for (size_t k = 0; k < s->nports; k++)
            if (s->ports[k].target < 1 || s->ports[k].target > 65535 || s->ports[k].published < 0 || s->ports[k].published > 65535)
                FUZZ_FAIL("service '%s': port out of range", s->name);
    }
    compose_release(&c);
    return 0;
}
