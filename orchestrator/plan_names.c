/* plan_names.c -- names a plan declares, from its tree: lookups that survive invalid blocks, and hints. */
#include "plan_names.h"

#include <stdio.h>
#include <string.h>
#include "fl.h"
#include "plan.h"
#include "suggest.h"

#define NAMES_MAX 256

/* the declared names into names[] (NULL-terminated); returns how many */
static size_t collect(const struct plan *p, enum plan_names what, const char **names)
{
    size_t n = 0;
    const struct node *root = p ? p->root : NULL;
    if (what == PLAN_TARGETS) {
        const struct node *m = node_get(root, "targets");
        for (size_t i = 0; m && m->type == NODE_MAP && i < m->n && n < NAMES_MAX; i++) names[n++] = m->keys[i]->str;
    } else {
        const struct node *s = node_get(root, what == PLAN_LOADS ? "load" : what == PLAN_STEPS ? "method" : "services");
        for (size_t i = 0; s && s->type == NODE_SEQ && i < s->n && n < NAMES_MAX; i++) {
            const char *nm = node_str(s->items[i], "name", NULL);
            if (nm) names[n++] = nm;
        }
        /* unnamed steps are known by their generated names */
        for (size_t i = 0; what == PLAN_STEPS && p && i < p->nsteps && n < NAMES_MAX; i++) {
            int dup = 0;
            for (size_t j = 0; j < n; j++) if (!strcmp(names[j], p->steps[i]->name)) dup = 1;
            if (!dup) names[n++] = p->steps[i]->name;
        }
    }
    names[n] = NULL;
    return n;
}

int plan_declares(const struct plan *p, enum plan_names what, const char *name)
{
    const char *names[NAMES_MAX + 1];
    size_t n = collect(p, what, names);
    for (size_t i = 0; name && i < n; i++) if (!strcmp(names[i], name)) return 1;
    return 0;
}

void plan_names_hint(const struct plan *p, enum plan_names what, const char *name, char *out, size_t n)
{
    static const char *const plural[] = { "targets", "method steps", "load blocks", "services" };
    const char *names[NAMES_MAX + 1];
    if (collect(p, what, names) == 0) { snprintf(out, n, " (the plan has no %s)", plural[what]); return; }
    char label[64];
    snprintf(label, sizeof label, "the plan's %s", plural[what]);
    suggest_hint(out, n, name, names, label);
}
