/* suggest.h -- "did you mean": the name nearest to a misspelt one, by edit distance.
 *
 *   char hint[512];
 *   suggest_hint(hint, sizeof hint, "duraton", names, "known");
 *   -> " (did you mean 'duration'?)", or " (known: a, b, c)" when no name is near,
 *      or " (known: none)" when names is empty.
 * Pure functions over NULL-terminated lists of names; no I/O, no allocation.
 */
#ifndef FL_SUGGEST_H
#define FL_SUGGEST_H

#include <stddef.h>

/* optimal-string-alignment distance (a swap of two neighbours counts 1), ignoring case */
size_t suggest_distance(const char *a, const char *b);
/* the name nearest to word when it is near enough to be a typo of it, else NULL */
const char *suggest_nearest(const char *word, const char *const *names);
/* the hint text above into out (always terminated); label names the list ("known",
 * "the plan's targets") */
void suggest_hint(char *out, size_t n, const char *word, const char *const *names, const char *label);

#endif
