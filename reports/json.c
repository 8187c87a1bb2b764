/* json.c -- run.json, and report_write_all() that writes every report into a folder. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "files.h"
#include "report.h"

int report_json(json_t *run, const char *path, char *err)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(run, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
        return fl_err(err, "cannot write '%s': %s", tmp, strerror(errno));
    if (rename(tmp, path) < 0) return fl_err(err, "cannot write '%s': %s", path, strerror(errno));
    return 0;
}

int report_write_all(json_t *run, const char *dir, char *err)
{
    char path[1024];
    if (files_mkdir_p(dir) < 0) return fl_err(err, "cannot create the report folder '%s': %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/run.json", dir);
    if (report_json(run, path, err) < 0) return -1;
    snprintf(path, sizeof path, "%s/junit.xml", dir);
    if (report_junit(run, path, err) < 0) return -1;
    snprintf(path, sizeof path, "%s/summary.md", dir);
    if (report_markdown(run, path, err) < 0) return -1;
    snprintf(path, sizeof path, "%s/report.html", dir);
    if (report_html(run, path, err) < 0) return -1;
    return 0;
}
