/* cmd_acgme.c -- `faultline acgme generate|check`: ACGME cases with known answers, and the
 * reference validator's answer for a case (probes/acgme_gen.h, probes/acgme_ref.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acgme_gen.h"
#include "acgme_ref.h"
#include "fl.h"

int cmd_acgme(int argc, char **argv);

static const char usage_main[] =
    "usage: faultline acgme generate [options]     write a case with its ground truth as JSON\n"
    "       faultline acgme check CASE.json [options]  print the reference validator's answer\n"
    "Run 'faultline acgme generate --help' or 'faultline acgme check --help' for the options.\n";

static const char usage_generate[] =
    "usage: faultline acgme generate [--seed N] [--residents R] [--faculty F] [--weeks W]\n"
    "                                [--start YYYY-MM-DD] [--violations SPEC] [-o FILE]\n"
    "Write an ACGME test case: a compliant schedule with violations injected at the given\n"
    "rates, and its ground truth (the set of (type, person or block) it must be answered with).\n"
    "  --seed N          reproducible case number (default 1)\n"
    "  --residents R     residents, PGY-1/2/3 mix 40/35/25%% (default 12)\n"
    "  --faculty F       faculty (default 4)\n"
    "  --weeks W         weeks of AM/PM blocks (default 4)\n"
    "  --start DATE      first day (default 2026-01-05)\n"
    "  --violations SPEC rates per kind, e.g. 80h=0.2,1in7=0.2,supervision=0.1 (the default);\n"
    "                    80h and 1in7 per resident, supervision per weekday block; 'none'\n"
    "  --weekend-decoys X share of weekend blocks left one faculty short (default: the\n"
    "                    supervision rate); violations only when weekends are checked\n"
    "  -o, --output FILE write there instead of standard output\n";

static const char usage_check[] =
    "usage: faultline acgme check CASE.json [--weekend-supervision] [--rule-24-4] [--truth]\n"
    "Print the reference validator's answer for a case (\"-\" reads standard input), in the\n"
    "service's format: {valid, total_violations, violations:[{type, severity, person_id,\n"
    "block_id, message, details}]}.\n"
    "  --weekend-supervision  check supervision on weekend blocks too (the service skips them)\n"
    "  --rule-24-4            add the opt-in 24+4 rule (continuous duty over 28 h)\n"
    "  --truth                also compare with the case's ground truth: exit 1 when they differ\n";

static int parse_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "faultline: acgme: %s must be an integer between %d and %d, not '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int do_generate(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "seed", required_argument, NULL, 's' },      { "residents", required_argument, NULL, 'r' },
        { "faculty", required_argument, NULL, 'f' },   { "weeks", required_argument, NULL, 'w' },
        { "start", required_argument, NULL, 'd' },     { "violations", required_argument, NULL, 'v' },
        { "weekend-decoys", required_argument, NULL, 'k' },
        { "output", required_argument, NULL, 'o' },    { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct acgme_gen_opts o;
    acgme_gen_defaults(&o);
    const char *out = "-";
    char err[FL_ERR_LEN];
    int c;
    optind = 0;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (!*optarg || *end) {
                fprintf(stderr, "faultline: acgme: --seed must be a non-negative integer, not '%s'\n", optarg);
                return FL_EXIT_INVALID;
            }
            o.seed = v;
            break;
        }
        case 'r':
            if (parse_int("--residents", optarg, 0, 100000, &o.residents)) return FL_EXIT_INVALID;
            break;
        case 'f':
            if (parse_int("--faculty", optarg, 0, 100000, &o.faculty)) return FL_EXIT_INVALID;
            break;
        case 'w':
            if (parse_int("--weeks", optarg, 1, 520, &o.weeks)) return FL_EXIT_INVALID;
            break;
        case 'd':
            if (acgme_parse_date(optarg, &o.start_day) != 0) {
                fprintf(stderr, "faultline: acgme: --start must be a date YYYY-MM-DD, not '%s'\n", optarg);
                return FL_EXIT_INVALID;
            }
            break;
        case 'v':
            if (acgme_gen_parse_rates(&o, optarg, err) != 0) {
                fprintf(stderr, "faultline: acgme: %s\n", err);
                return FL_EXIT_INVALID;
            }
            break;
        case 'k': {
            char *end;
            double v = strtod(optarg, &end);
            if (!*optarg || *end || !(v >= 0 && v <= 1)) {
                fprintf(stderr, "faultline: acgme: --weekend-decoys must be between 0 and 1, not '%s'\n", optarg);
                return FL_EXIT_INVALID;
            }
            o.weekend_decoys = v;
            break;
        }
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(usage_generate, stdout);
            return FL_EXIT_OK;
        default:
            fputs(usage_generate, stderr);
            return FL_EXIT_INVALID;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "faultline: acgme generate: unexpected argument '%s'\n", argv[optind]);
        fputs(usage_generate, stderr);
        return FL_EXIT_INVALID;
    }
    struct acgme_case *cs = acgme_generate(&o, err);
    if (!cs) {
        fprintf(stderr, "faultline: acgme: %s\n", err);
        return FL_EXIT_INVALID;
    }
    int rc = acgme_case_save(cs, out, err);
    if (rc != 0) fprintf(stderr, "faultline: acgme: %s\n", err);
    else if (strcmp(out, "-") != 0)
        fprintf(stderr, "wrote %s: %zu people, %zu blocks, %zu assignments, %zu violations in the truth\n", out,
                cs->npeople, cs->nblocks, cs->nassigns, cs->ntruth);
    acgme_case_free(cs);
    return rc ? FL_EXIT_FAILED : FL_EXIT_OK;
}

static int do_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "weekend-supervision", no_argument, NULL, 'w' },
        { "rule-24-4", no_argument, NULL, '2' },
        { "truth", no_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct acgme_settings st = { 0, 0 };
    int against_truth = 0, c;
    optind = 0;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'w': st.weekend_supervision = 1; break;
        case '2': st.rule_24_4 = 1; break;
        case 't': against_truth = 1; break;
        case 'h': fputs(usage_check, stdout); return FL_EXIT_OK;
        default: fputs(usage_check, stderr); return FL_EXIT_INVALID;
        }
    }
    if (optind + 1 != argc) {
        fputs(usage_check, stderr);
        return FL_EXIT_INVALID;
    }
    char err[FL_ERR_LEN];
    struct acgme_case *cs = acgme_case_load(argv[optind], err);
    if (!cs) {
        fprintf(stderr, "faultline: acgme: %s\n", err);
        return FL_EXIT_INVALID;
    }
    struct acgme_answer a;
    acgme_ref_validate(cs, &st, &a);
    json_t *j = acgme_answer_json(&a);
    json_dumpf(j, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(j);
    if (a.ignored)
        fprintf(stderr, "note: %zu assignments name an unknown person or block and were ignored\n", a.ignored);
    int rc = FL_EXIT_OK;
    if (against_truth) {
        if (!cs->has_truth) {
            fprintf(stderr, "faultline: acgme: '%s' carries no truth to compare with\n", argv[optind]);
            rc = FL_EXIT_INVALID;
        } else {
            size_t nt, ng;
            struct acgme_item *t = acgme_truth_items(cs, &st, &nt), *g = acgme_answer_items(&a, &ng);
            acgme_items_sort(t, nt);
            acgme_items_sort(g, ng);
            long tp[ACGME_NRULES] = { 0 }, fp[ACGME_NRULES] = { 0 }, fn[ACGME_NRULES] = { 0 };
            int same = acgme_items_compare(t, nt, g, ng, tp, fp, fn);
            fprintf(stderr, "truth: %s", same ? "agrees" : "DIFFERS");
            for (int r = 0; r < ACGME_NRULES; r++)
                if (tp[r] || fp[r] || fn[r])
                    fprintf(stderr, "; %s tp=%ld fp=%ld fn=%ld", acgme_rule_short(r), tp[r], fp[r], fn[r]);
            fputc('\n', stderr);
            if (!same) rc = FL_EXIT_FAILED;
            free(t);
            free(g);
        }
    }
    acgme_answer_release(&a);
    acgme_case_free(cs);
    return rc;
}

int cmd_acgme(int argc, char **argv)
{
    /* argv[0] is "acgme" (the command table passes its own name) */
    if (argc > 0 && strcmp(argv[0], "acgme") == 0) {
        argc--;
        argv++;
    }
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
        fputs(usage_main, argc < 1 ? stderr : stdout);
        return argc < 1 ? FL_EXIT_INVALID : FL_EXIT_OK;
    }
    if (strcmp(argv[0], "generate") == 0) return do_generate(argc, argv);
    if (strcmp(argv[0], "check") == 0) return do_check(argc, argv);
    fprintf(stderr, "faultline: acgme: unknown subcommand '%s'\n", argv[0]);
    fputs(usage_main, stderr);
    return FL_EXIT_INVALID;
}
