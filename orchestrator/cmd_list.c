/* cmd_list.c -- `faultline list` (kinds and their parameters, read from the registries)
 * and `faultline version`. */
#include <curl/curl.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>
#include "cmd.h"
#include "fault.h"
#include "load.h"
#include "probe.h"
#include "suggest.h"

static const char list_usage[] =
    "usage: faultline list [faults|probes|targets|load]\n\n"
    "Print the fault, probe and target kinds this faultline knows, with their parameters\n"
    "(read from the same tables that validate plans).\n";

static void params(const struct param_spec *ps)
{
    for (size_t i = 0; ps && ps[i].name; i++)
        printf("      %-18s %-14s %s%s\n", ps[i].name, param_type_name(ps[i].type), ps[i].flags & PARAM_REQUIRED ? "(required) " : "",
               ps[i].help ? ps[i].help : "");
}

int cmd_list(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : NULL;
    if (what && (!strcmp(what, "--help") || !strcmp(what, "-h"))) { fputs(list_usage, stdout); return 0; }
    if (what && strcmp(what, "faults") && strcmp(what, "probes") && strcmp(what, "targets") && strcmp(what, "load")) {
        static const char *const sections[] = { "faults", "probes", "targets", "load", NULL };
        char hint[256];
        suggest_hint(hint, sizeof hint, what, sections, "known");
        fprintf(stderr, "faultline list: unknown section '%s'%s\n\n", what, hint);
        fputs(list_usage, stderr);
        return FL_EXIT_INVALID;
    }
    if (!what || !strcmp(what, "targets")) {
        printf("target kinds:\n");
        for (size_t i = 0; target_kinds[i]; i++) {
            printf("  %-20s %s\n", target_kinds[i]->name, target_kinds[i]->summary ? target_kinds[i]->summary : "");
            params(target_kinds[i]->params);
        }
        printf("  (any target)        pick: { count: N | percent: P%%, seed: S } chooses a reproducible subset\n\n");
    }
    if (!what || !strcmp(what, "faults")) {
        printf("fault kinds (method steps: name, at, fault, target, for, probability, and):\n");
        for (size_t i = 0; fault_kinds[i]; i++) {
            const struct fault_ops *f = fault_kinds[i];
            printf("  %-20s %s [target: %s; revert: %s]\n", f->name, f->summary ? f->summary : "", f->target_kind ? f->target_kind : "none",
                   f->revert ? (f->revert_summary ? f->revert_summary : "yes") : "none");
            params(f->params);
        }
        printf("\n");
    }
    if (!what || !strcmp(what, "probes")) {
        printf("probe kinds (entries: name, before|after|during, every, and):\n");
        for (size_t i = 0; probe_kinds[i]; i++) {
            printf("  %-20s %s\n", probe_kinds[i]->name, probe_kinds[i]->summary ? probe_kinds[i]->summary : "");
            params(probe_kinds[i]->params);
        }
        printf("\n");
    }
    if (!what || !strcmp(what, "load")) {
        printf("load blocks:\n");
        params(lg_block_params);
    }
    return 0;
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: faultline version\n\nPrint faultline's version and the versions of the libraries it uses.\n");
        return 0;
    }
    printf("faultline %s (plan format 1)\n", FL_VERSION);
    printf("  libcurl %s, libpq %d, hiredis %d.%d.%d, libyaml %s, jansson %s\n", curl_version_info(CURLVERSION_NOW)->version,
           PQlibVersion(), HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH, yaml_get_version_string(), JANSSON_VERSION);
    return 0;
}
