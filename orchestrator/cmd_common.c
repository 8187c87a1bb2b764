/* cmd_common.c -- what several commands share (cmd.h): loading a plan with every error
 * printed. Its own file so that matrix.c (used by run and drill) and cmd_run.c do not call
 * each other. */
#include <stdio.h>
#include "cmd.h"
#include "plan.h"

struct plan *cmd_load_plan(const char *path, const char *const *vars, const char *matrix_binding)
{
    struct diag d;
    diag_init(&d, path);
    struct plan_opts po = { .set_vars = vars, .matrix_binding = matrix_binding };
    struct plan *p = plan_load(path, &po, &d);
    if (!p || d.n) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
        if (d.n) fprintf(stderr, "faultline: %zu error%s in '%s'; nothing was touched\n", d.n, d.n == 1 ? "" : "s", path);
        diag_release(&d);
        plan_free(p);
        return NULL;
    }
    diag_release(&d);
    return p;
}
