/* cmd_report.c -- `faultline report RUN.json [--format html|md|junit|json] [-o PATH]`:
 * re-render a report from a run record alone (no plan, no target, no network). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cmd.h"
#include "fl.h"
#include "report.h"

static const char report_usage[] =
    "usage: faultline report RUN.json [--format html|md|junit|json] [-o PATH]\n\n"
    "Render reports again from the run record of an earlier `faultline run` (its run.json),\n"
    "without the plan, the targets or the run: after an upgrade of faultline, or to get a\n"
    "format the run did not write. With no --format every report is written beside RUN.json\n"
    "(or into the folder -o names): report.html, summary.md, junit.xml.\n\n"
    "options:\n"
    "  -f, --format F    one report: html (report.html), md (summary.md), junit (junit.xml),\n"
    "                    json (run.json, re-indented; to standard output unless -o)\n"
    "  -o, --output PATH with --format: the file to write ('-' for standard output);\n"
    "                    without: the folder to write into (created when missing)\n"
    "  -h, --help        this text\n"
    "Exit 0 when written, 2 when RUN.json cannot be read, the options are wrong or the\n"
    "output cannot be written.\n";

typedef int (*writer_fn)(json_t *run, const char *path, char *err);

struct format {
    const char *name, *alias, *file;
    writer_fn fn;
};

static const struct format formats[] = {
    { "html", NULL, "report.html", report_html },
    { "md", "markdown", "summary.md", report_markdown },
    { "junit", "xml", "junit.xml", report_junit },
    { "json", NULL, "run.json", report_json },
};

static const struct format *find_format(const char *name)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(name, formats[i].name) || (formats[i].alias && !strcmp(name, formats[i].alias))) return &formats[i];
    return NULL;
}

/* render through a temporary folder and copy to stdout (the writers rename into place) */
static int write_stdout(const struct format *f, json_t *run, char *err)
{
    char dir[] = "/tmp/faultline-report-XXXXXX";
    if (!mkdtemp(dir)) return fl_err(err, "cannot create a temporary folder: %s", strerror(errno));
    char path[sizeof dir + 32];
    snprintf(path, sizeof path, "%s/%s", dir, f->file);
    int rc = f->fn(run, path, err);
    if (rc == 0) {
        FILE *in = fopen(path, "r");
        if (!in) rc = fl_err(err, "cannot read '%s': %s", path, strerror(errno));
        else {
            char chunk[65536];
            size_t n;
            while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
                if (fwrite(chunk, 1, n, stdout) != n) { rc = fl_err(err, "cannot write to standard output: %s", strerror(errno)); break; }
            fclose(in);
            if (fflush(stdout) != 0 && rc == 0) rc = fl_err(err, "cannot write to standard output: %s", strerror(errno));
        }
    }
    unlink(path);
    rmdir(dir);
    return rc;
}

/* the folder part of path ("." when it has none) into out */
static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, len, ".");
    else if (slash == path) snprintf(out, len, "/");
    else snprintf(out, len, "%.*s", (int)(slash - path), path);
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, 0, 'f' },
        { "output", required_argument, 0, 'o' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *format = NULL, *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(report_usage, stdout); return 0;
        default: fputs(report_usage, stderr); return FL_EXIT_INVALID;
        }
    }
    if (optind != argc - 1) { fputs(report_usage, stderr); return FL_EXIT_INVALID; }
    const char *in = argv[optind];
    const struct format *one = NULL;
    if (format && strcmp(format, "all")) {
        one = find_format(format);
        if (!one) {
            fprintf(stderr, "faultline: unknown report format '%s' (known: html, md, junit, json)\n", format);
            return FL_EXIT_INVALID;
        }
    }

    json_error_t jerr;
    json_t *run = json_load_file(in, 0, &jerr);
    if (!run) {
        fprintf(stderr, "faultline: cannot read the run record '%s': %s (line %d)\n", in, jerr.text, jerr.line);
        return FL_EXIT_INVALID;
    }
    if (!json_is_object(run) || (!json_object_get(run, "verdict") && !json_object_get(run, "plan"))) {
        fprintf(stderr, "faultline: '%s' is not a run record (no 'plan' or 'verdict')\n", in);
        json_decref(run);
        return FL_EXIT_INVALID;
    }
    const json_t *fmt = json_object_get(run, "format");
    if (json_is_integer(fmt) && json_integer_value(fmt) > FL_RUN_FORMAT) {
        fprintf(stderr, "faultline: '%s' has run.json format %lld; this faultline reads formats 1 to %d\n", in,
                (long long)json_integer_value(fmt), FL_RUN_FORMAT);
        json_decref(run);
        return FL_EXIT_INVALID;
    }

    char err[FL_ERR_LEN], dir[1024], path[1200];
    int rc = 0;
    if (!one) {
        /* every report (but run.json itself) beside RUN.json or into the folder -o names */
        if (out) {
            snprintf(dir, sizeof dir, "%s", out);
            if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "faultline: cannot create the folder '%s': %s\n", dir, strerror(errno));
                json_decref(run);
                return FL_EXIT_INVALID;
            }
        } else {
            dir_of(in, dir, sizeof dir);
        }
        for (size_t i = 0; i < sizeof formats / sizeof formats[0] && rc == 0; i++) {
            if (formats[i].fn == report_json) continue;
            snprintf(path, sizeof path, "%s/%s", dir, formats[i].file);
            if (formats[i].fn(run, path, err) < 0) rc = -1;
            else printf("%s\n", path);
        }
    } else if ((!out && one->fn == report_json) || (out && !strcmp(out, "-"))) {
        rc = write_stdout(one, run, err);
    } else {
        if (out) snprintf(path, sizeof path, "%s", out);
        else { dir_of(in, dir, sizeof dir); snprintf(path, sizeof path, "%s/%s", dir, one->file); }
        rc = one->fn(run, path, err);
        if (rc == 0) printf("%s\n", path);
    }
    json_decref(run);
    if (rc < 0) { fprintf(stderr, "faultline: %s\n", err); return FL_EXIT_INVALID; }
    return 0;
}
