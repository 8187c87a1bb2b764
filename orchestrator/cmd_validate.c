/* cmd_validate.c -- `faultline validate`: parse and check plans, touch nothing. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cmd.h"
#include "plan.h"
#include "load.h"
#include "plan_lint.h"

static const char validate_usage[] =
    "usage: faultline validate PLAN.yaml|DIR... [--var NAME=VALUE]\n\n"
    "Check plans against the plan format: unknown keys, wrong types, bad durations or\n"
    "expectations, undefined targets or step names, unset ${env:...}. Prints every error\n"
    "as file:line:col: message, in line order, with the nearest name for a misspelt one.\n"
    "A DIR checks every *.yaml / *.yml file in it. Exit 0 when all are valid, 2 otherwise.\n"
    "Touches nothing.\n"
    "A valid plan may still prove less than it seems: warnings say so (a liveness check,\n"
    "rps that counts failed requests, a probe that can only ever be inconclusive), and a\n"
    "note names every probe that opted out of needing evidence (min_evidence: 0).\n";

static size_t plans_in_dir(const char *dir, char ***out);
static int validate_one(const char *path, const char *const *vars);

int cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = { { "var", required_argument, 0, 'V' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    const char *vars[64];
    size_t nvars = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'V' && nvars < 63) vars[nvars++] = optarg;
        else if (c == 'h') { fputs(validate_usage, stdout); return 0; }
        else if (c != 'V') { fputs(validate_usage, stderr); return FL_EXIT_INVALID; }
    }
    vars[nvars] = NULL;
    if (optind >= argc) { fputs(validate_usage, stderr); return FL_EXIT_INVALID; }
    int bad = 0;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            char **files = NULL;
            size_t n = plans_in_dir(argv[i], &files);
            if (n == 0) { fprintf(stderr, "faultline: '%s' holds no plans (*.yaml, *.yml)\n", argv[i]); bad = 1; }
            for (size_t k = 0; k < n; k++) {
                if (validate_one(files[k], vars) < 0) bad = 1;
                free(files[k]);
            }
            free(files);
            continue;
        }
        if (validate_one(argv[i], vars) < 0) bad = 1;
    }
    return bad ? FL_EXIT_INVALID : 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static size_t plans_in_dir(const char *dir, char ***out)
{
    DIR *dh = opendir(dir);
    if (!dh) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || !((l > 5 && !strcmp(e->d_name + l - 5, ".yaml")) || (l > 4 && !strcmp(e->d_name + l - 4, ".yml"))))
            continue;
        char *path = fl_asprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) { free(path); continue; }
        *out = fl_realloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = path;
    }
    closedir(dh);
    if (n) qsort(*out, n, sizeof **out, by_name);
    return n;
}

static int validate_one(const char *path, const char *const *vars)
{
    {
        struct plan *p = cmd_load_plan(path, vars, NULL);
        if (!p) return -1;
        /* an outside load tool that is not installed: the run would stop before any fault */
        int missing = 0;
        for (size_t k = 0; k < p->nloads; k++) {
            char err[FL_ERR_LEN];
            int line = 0, col = 0;
            if (lg_block_tool_check(p->loads[k], &line, &col, err) < 0) {
                fprintf(stderr, "%s:%d:%d: error: %s\n", p->path, line, col, err);
                missing = 1;
            }
        }
        if (missing) { plan_free(p); return -1; }
        printf("%s: valid (%s: %zu targets, %zu steps, %zu probes, %zu load blocks)\n", path, p->name, p->ntargets,
               p->nsteps, p->nprobes, p->nloads);
        /* valid, but maybe proving less than it seems: warnings never fail validation */
        json_t *w = json_array();
        plan_lint(p, w);
        for (size_t k = 0; k < json_array_size(w); k++) {
            json_t *x = json_array_get(w, k);
            fprintf(stderr, "%s:%lld:%lld: warning: %s\n", p->path, (long long)json_integer_value(json_object_get(x, "line")),
                    (long long)json_integer_value(json_object_get(x, "col")), json_string_value(json_object_get(x, "message")));
        }
        json_decref(w);
        /* opt-outs are deliberate, but a reader of the plan should know: such a probe
         * passes even when it saw nothing */
        struct probe_spec *const *lists[3] = { p->probes, p->steady, p->stop_when };
        size_t counts[3] = { p->nprobes, p->nsteady, p->nstop_when };
        for (int l = 0; l < 3; l++)
            for (size_t k = 0; k < counts[l]; k++)
                if (lists[l][k]->min_evidence == 0)
                    fprintf(stderr, "%s:%d:%d: note: %s '%s' has min_evidence: 0: it passes even when it saw nothing "
                            "(no check could be made, no request completed)\n", p->path, lists[l][k]->line,
                            lists[l][k]->col, l == 2 ? "stop condition" : l == 1 ? "steady-state check" : "probe",
                            lists[l][k]->name);
        plan_free(p);
    }
    return 0;
}
