/* main.c -- the faultline command: a table of subcommands (git's cmd_struct style). */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "fl.h"
#include "suggest.h"

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct cmd commands[] = {
    { "run", cmd_run, "run an experiment: faults on a timeline, load, probes, verdict" },
    { "init", cmd_init, "write a first plan from a docker-compose file, or the annotated reference plan" },
    { "validate", cmd_validate, "check a plan (every error, with file:line:col); touches nothing" },
    { "rollback", cmd_rollback, "undo what a killed run left broken, from its journal" },
    { "schema", cmd_schema, "print a JSON Schema of plans (editor completion and checks)" },
    { "list", cmd_list, "fault, probe and target kinds with their parameters" },
    { "report", cmd_report, "re-render a report (html, md, junit, json) from run.json alone" },
    { "compare", cmd_compare, "flag regressions between two runs (p95, duration, throughput, memory)" },
    { "drill", cmd_drill, "run a suite of plans as a scheduled drill, with history" },
    { "history", cmd_history, "the trend of past drills (verdicts, p95, recovery times)" },
    { "load", cmd_load, "run only the load of a plan and print a k6-like summary" },
    { "proxy", cmd_proxy, "run one TCP fault proxy standalone" },
    { "acgme", cmd_acgme, "generate ACGME cases with known answers; check one with the reference validator" },
    { "version", cmd_version, "print the version" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: faultline <command> [options]\n\n"
               "faultline runs chaos experiments: it breaks real infrastructure on a timeline,\n"
               "drives load, and proves with measurements how the system degraded and recovered.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'faultline <command> --help' describes each. Exit codes: 0 held, 1 failed, 2 invalid,\n"
               "3 aborted (after rollback), 4 a revert failed (see the journal), 5 inconclusive (nothing\n"
               "failed, but a check had no evidence: faultline could not do its part; never a pass).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return FL_EXIT_INVALID; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    if (!strcmp(argv[1], "--version")) return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) || !commands[i].fn) continue;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int rc = commands[i].fn(argc - 1, argv + 1);
        curl_global_cleanup();
        fl_secret_clear();
        return rc;
    }
    const char *names[sizeof commands / sizeof commands[0] + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn) names[n++] = commands[i].name;
    names[n] = NULL;
    const char *near = suggest_nearest(argv[1], names);
    if (near) {
        fprintf(stderr, "faultline: unknown command '%s' (did you mean '%s'?)\n", argv[1], near);
        return FL_EXIT_INVALID;
    }
    fprintf(stderr, "faultline: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return FL_EXIT_INVALID;
}
