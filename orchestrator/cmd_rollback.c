/* cmd_rollback.c -- `faultline rollback [JOURNAL]`: revert what a killed run left broken. */
#include <getopt.h>
#include <string.h>
#include <stdio.h>
#include "cmd.h"
#include "journal.h"
#include "plan.h"
#include "probe.h"

static const char rollback_usage[] =
    "usage: faultline rollback [JOURNAL] [--list] [--forget] [--plan PLAN.yaml [--var NAME=VALUE]...]\n\n"
    "Read the journal (default $FAULTLINE_JOURNAL or .faultline/journal.jsonl) and reconcile\n"
    "every fault whose intent has no reverted record (newest first): the run that wrote it may\n"
    "have died before, during or after the fault, or in the middle of its revert. For each\n"
    "target it compares the state now with the state recorded before the fault, restores what\n"
    "differs, leaves alone what matches, and says what it found and did. Leftover managed\n"
    "services are stopped; rows an acgme probe seeded (deliver: seed) and the run never took\n"
    "out are deleted. Idempotent, and safe to run twice at once (the second waits).\n"
    "Exit 0 when everything is settled, 4 when something could not be, 2 when the journal\n"
    "cannot be used (unreadable, or held by a run that is still going).\n\n"
    "  --list         only print what is pending\n"
    "  --forget       settle every pending record without acting: for targets that no longer\n"
    "                 exist, or that you restored by hand (a new run refuses until then)\n"
    "  --plan PLAN    load the run's plan so reconciling can use what the journal does not\n"
    "                 hold (a Redis or PostgreSQL password comes from the plan's secrets)\n"
    "  --var k=v      plan variables, as for run\n";

/* reconcile() may need what only the plan holds (a password from its secrets) */
static const struct target *target_of_plan(void *plan, const char *name) { return plan_target(plan, name); }
static const struct drv_hooks rollback_hooks = { .target_named = target_of_plan };

int cmd_rollback(int argc, char **argv)
{
    static const struct option opts[] = { { "list", no_argument, 0, 'l' }, { "forget", no_argument, 0, 'F' }, { "plan", required_argument, 0, 'p' },
                                          { "var", required_argument, 0, 'V' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    int list = 0, forget = 0, c;
    const char *plan_path = NULL;
    const char *vars[64];
    size_t nvars = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'l') list = 1;
        else if (c == 'F') forget = 1;
        else if (c == 'p') plan_path = optarg;
        else if (c == 'V') { if (nvars < 63) vars[nvars++] = optarg; }
        else if (c == 'h') { fputs(rollback_usage, stdout); return 0; }
        else { fputs(rollback_usage, stderr); return FL_EXIT_INVALID; }
    }
    if (argc - optind > 1) { fputs(rollback_usage, stderr); return FL_EXIT_INVALID; }
    const char *path = optind < argc ? argv[optind] : journal_default_path();
    char err[FL_ERR_LEN];
    if (list) {
        json_t *problems = NULL;
        json_t *pend = journal_pending(path, &problems, err);
        if (!pend) { fprintf(stderr, "faultline: %s\n", err); return FL_EXIT_INVALID; }
        for (size_t i = 0; i < json_array_size(problems); i++)
            fprintf(stderr, "faultline: warning: journal '%s': %s\n", path, json_string_value(json_array_get(problems, i)));
        json_decref(problems);
        for (size_t i = 0; i < json_array_size(pend); i++) {
            json_t *p = json_array_get(pend, i);
            const char *op = json_string_value(json_object_get(p, "op"));
            if (op && !strcmp(op, "service"))
                printf("service %s (pid %lld)\n", json_string_value(json_object_get(p, "name")), (long long)json_integer_value(json_object_get(p, "pid")));
            else if (probe_find_journal_kind(json_string_value(json_object_get(p, "kind"))))
                printf("probe %s (%s): what it put in was not taken out yet\n", json_string_value(json_object_get(p, "step")),
                       json_string_value(json_object_get(p, "kind")));
            else
                printf("%s (%s)%s\n", json_string_value(json_object_get(p, "step")), json_string_value(json_object_get(p, "kind")),
                       json_is_true(json_object_get(p, "done")) ? "" : ": intent only, the runner died during the inject");
        }
        printf("%zu pending in '%s'\n", json_array_size(pend), path);
        json_decref(pend);
        return 0;
    }
    if (forget) {
        int n = journal_forget(path, err);
        if (n < 0) { fprintf(stderr, "faultline: %s\n", err); return FL_EXIT_INVALID; }
        printf("settled %d pending record(s) in '%s' without acting\n", n, path);
        return 0;
    }
    vars[nvars] = NULL;
    struct plan *p = NULL;
    if (plan_path && !(p = cmd_load_plan(plan_path, vars, NULL))) return FL_EXIT_INVALID;
    /* no run: the drivers' only view is the plan's targets, by name */
    struct drv_ctx ctx = { .hooks = &rollback_hooks, .run = p };
    int failed = journal_rollback(path, p ? &ctx : NULL, 1, err);
    plan_free(p);
    if (failed < 0) { fprintf(stderr, "faultline: %s\n", err); return FL_EXIT_INVALID; }
    if (failed > 0) { fprintf(stderr, "faultline: %d step(s) could not be reconciled; the journal '%s' still lists them\n", failed, path); return FL_EXIT_REVERT; }
    printf("rollback complete: nothing left broken according to '%s'\n", path);
    return 0;
}
