/* cmd_report.c -- `faultline report`: render reports again from a run record alone. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "fl.h"
#include "report.h"

static const char report_usage[] =
    "usage: faultline report RUN.json [--format junit|md] [-o PATH]\n\n"
    "Render reports again from the run record of an earlier `faultline run` (its run.json),\n"
    "without the plan, the targets or the run. With no --format every report is written\n"
    "beside RUN.json (or into the folder -o names): junit.xml, summary.md.\n\n"
    "options:\n"
    "  -f, --format F    one report: junit (junit.xml) or md (summary.md)\n"
    "  -o, --output PATH with --format: the file to write ('-' for standard output);\n"
    "                    without: the folder to write into\n"
    "  -h, --help        this text\n"
    "Exit 0 when written, 2 when RUN.json cannot be read or the options are wrong.\n";

struct report_format {
    const char *name;
    const char *file;
    int (*write)(json_t *run, const char *path, char *err);
};

static const struct report_format formats[] = {
    { "junit", "junit.xml", report_junit },
    { "md", "summary.md", report_markdown },
};
#define NFORMATS (sizeof formats / sizeof formats[0])

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
    static const struct option opts[] = { { "format", required_argument, 0, 'f' },
                                          { "output", required_argument, 0, 'o' },
                                          { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    const char *format = NULL, *output = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        if (c == 'f') format = optarg;
        else if (c == 'o') output = optarg;
        else if (c == 'h') { fputs(report_usage, stdout); return 0; }
        else { fputs(report_usage, stderr); return FL_EXIT_INVALID; }
    }
    if (optind != argc - 1) { fputs(report_usage, stderr); return FL_EXIT_INVALID; }
    const char *in = argv[optind];

    const struct report_format *one = NULL;
    if (format) {
        for (size_t i = 0; i < NFORMATS; i++)
            if (!strcmp(formats[i].name, format)) one = &formats[i];
        if (!one) {
            fprintf(stderr, "faultline: unknown report format '%s' (known: junit, md)\n", format);
            return FL_EXIT_INVALID;
        }
    }
    json_error_t je;
    json_t *run = json_load_file(in, 0, &je);
    if (!run) {
        fprintf(stderr, "faultline: cannot read the run record '%s': %s (line %d)\n", in, je.text, je.line);
        return FL_EXIT_INVALID;
    }
    if (!json_is_object(run) || (!json_object_get(run, "verdict") && !json_object_get(run, "plan"))) {
        fprintf(stderr, "faultline: '%s' is not a run record (no 'plan' or 'verdict')\n", in);
        json_decref(run);
        return FL_EXIT_INVALID;
    }

    char err[FL_ERR_LEN], path[1200];
    int rc = 0;
    if (one && output && !strcmp(output, "-")) {
        /* standard output: render into a temporary file, then copy it out */
        char tmpl[] = "/tmp/faultline-report-XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd < 0) {
            fprintf(stderr, "faultline: cannot create a temporary file: %s\n", strerror(errno));
            json_decref(run);
            return FL_EXIT_INVALID;
        }
        close(fd);
        FILE *g = one->write(run, tmpl, err) == 0 ? fopen(tmpl, "r") : NULL;
        if (!g) {
            fprintf(stderr, "faultline: %s\n", err);
            rc = FL_EXIT_INVALID;
        } else {
            char buf[8192];
            size_t n;
            while ((n = fread(buf, 1, sizeof buf, g)) > 0) fwrite(buf, 1, n, stdout);
            fclose(g);
        }
        remove(tmpl);
    } else if (one) {
        char dir[1024];
        dir_of(in, dir, sizeof dir);
        if (output) snprintf(path, sizeof path, "%s", output);
        else snprintf(path, sizeof path, "%s/%s", dir, one->file);
        if (one->write(run, path, err) < 0) { fprintf(stderr, "faultline: %s\n", err); rc = FL_EXIT_INVALID; }
        else printf("%s\n", path);
    } else {
        char dir[1024];
        if (output) {
            snprintf(dir, sizeof dir, "%s", output);
            if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "faultline: cannot create the folder '%s': %s\n", dir, strerror(errno));
                json_decref(run);
                return FL_EXIT_INVALID;
            }
        } else {
            dir_of(in, dir, sizeof dir);
        }
        for (size_t i = 0; i < NFORMATS && rc == 0; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, formats[i].file);
            if (formats[i].write(run, path, err) < 0) { fprintf(stderr, "faultline: %s\n", err); rc = FL_EXIT_INVALID; }
            else printf("%s\n", path);
        }
    }
    json_decref(run);
    return rc;
}
