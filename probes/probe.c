/* probe.c -- what every probe kind shares (probe.h): the outcome names, and freeing a probe
 * entry the plan parsed. */
#include <stdlib.h>
#include "probe.h"

const char *probe_outcome_name(enum probe_outcome o)
{
    return o == PROBE_PASSED ? "passed" : o == PROBE_FAILED ? "failed" : "inconclusive";
}

void probe_spec_free(struct probe_spec *ps)
{
    if (!ps) return;
    if (ps->ops && ps->ops->free_cfg && ps->cfg) ps->ops->free_cfg(ps->cfg);
    free(ps->name);
    free(ps);
}
