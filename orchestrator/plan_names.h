/* plan_names.h -- the names a plan declares (targets, method steps, load blocks), read from
 * its YAML tree, so that a check naming one gets a "did you mean" hint, and a name whose
 * block had errors of its own still counts as known (one mistake, one error).
 *
 *   if (!plan_load_block(p, nm) && !plan_declares(p, PLAN_LOADS, nm)) {
 *       char hint[512]; plan_names_hint(p, PLAN_LOADS, nm, hint, sizeof hint);
 *       diag_add(d, at, "no load block named '%s'%s", nm, hint);
 *   }
 */
#ifndef FL_PLAN_NAMES_H
#define FL_PLAN_NAMES_H

#include <stddef.h>

struct plan;
enum plan_names { PLAN_TARGETS, PLAN_STEPS, PLAN_LOADS, PLAN_SERVICES };

/* the plan's text declares this name (even if its block is invalid) */
int plan_declares(const struct plan *p, enum plan_names what, const char *name);
/* " (did you mean 'x'?)" / " (the plan's targets: a, b)" / " (the plan has no targets)" */
void plan_names_hint(const struct plan *p, enum plan_names what, const char *name, char *out, size_t n);

/* the keys plan.c accepts at the top level, in a method step besides its fault's own, and in
 * a probe entry besides its kind (NULL-terminated; for `faultline schema`) */
extern const char *const *const plan_top_keys;
extern const char *const *const plan_step_keys;
extern const char *const *const plan_probe_keys;

#endif
