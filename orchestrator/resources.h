/* resources.h -- container resources over a run: the Engine API stats of every container of
 * the plan's docker targets, sampled about once a second into series for run.json, the
 * container probe's memory/cpu expectations and `compare --memory`.
 *
 *   struct res_sampler *s = res_start(plan, &drv, err);   -- after the targets are open and
 *                                                           the run clock (drv.t0_ns) is set;
 *                                                           NULL + err[0]=0: nothing to sample
 *   res_window(s, id, from_ms, to_ms, &w);                -- what the samples say in a window
 *   res_stop(s);                                          -- joins the threads (bounded)
 *   json_object_set_new(rec, "resources", res_to_json(s));
 *   json_object_set_new(rec, "memory", res_memory_json(s));
 *   res_free(s);
 * One thread per container asks GET /containers/{id}/stats?stream=false&one-shot=true with a
 * client of its own (the daemon answers at its next collection, about once a second), so a
 * slow or gone container never holds the others back. Memory is counted as `docker stats`
 * counts it: usage minus the inactive page cache. CPU is a share of one core in percent
 * (200 = two cores busy), from the difference to the previous sample.
 */
#ifndef FL_RESOURCES_H
#define FL_RESOURCES_H

#include <jansson.h>
#include <stdint.h>
#include "drv.h"
#include "fl.h"

struct plan;
struct res_sampler;

/* the window's figures (drv.h: struct drv_res_window) are what the container probe reads through
 * the run's res_window hook */
struct res_sampler *res_start(const struct plan *p, const struct drv_ctx *ctx, char *err);
/* the samples of container id (or name) between from_ms and to_ms (run clock; to < 0: now);
 * -1 when the sampler does not watch that container */
int res_window(struct res_sampler *s, const char *id, int64_t from_ms, int64_t to_ms, struct drv_res_window *w);
void res_stop(struct res_sampler *s);
json_t *res_to_json(struct res_sampler *s);
/* {"<name> peak_bytes": N, "<name> last_quarter_median_bytes": N} per container with samples */
json_t *res_memory_json(struct res_sampler *s);
void res_free(struct res_sampler *s);

/* one stats reply into a sample (pure: the fuzz target and the tests call it); prev (may be
 * NULL) is the previous reply's cpu totals for the share. 0, or -1 when it is no stats reply */
struct res_sample {
    int64_t t_ms;
    double mem, mem_limit, cpu_pct, rx, tx;
    double cpu_total, cpu_system;   /* raw counters, for the next share */
    int restarts;
};
int res_sample_from_json(const json_t *stats, const struct res_sample *prev, struct res_sample *out);

#endif
