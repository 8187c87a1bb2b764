/* contingency.c -- the contingency table of a matrix record (see contingency.h). */
#include "contingency.h"

#include <string.h>
#include "figures.h"
#include "fl.h"
#include "md.h"
#include "report_fmt.h"

int report_contingency_md(const json_t *mrec, const char *path, char *err)
{
    struct buf b;
    buf_init(&b, 4 << 20);
    const json_t *rows = json_object_get(mrec, "matrix");
    buf_adds(&b, "## Contingency ");
    md_text(&b, report_jstr(mrec, "kind_label", "N-1"));
    buf_adds(&b, " of '");
    md_text(&b, report_jstr(json_object_get(mrec, "plan"), "name", "?"));
    buf_adds(&b, "'\n\n**");
    md_text(&b, report_jstr(mrec, "overall", "?"));
    size_t passed = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (!strcmp(report_jstr(json_array_get(rows, i), "verdict", ""), "passed")) passed++;
    buf_addf(&b, "** (%zu of %zu combinations survived)\n\n", passed, json_array_size(rows));
    buf_adds(&b, "| lost | verdict | worst p95 | error rate | recovery | why | report |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        struct report_cells c;
        report_cells(r, &c);
        buf_adds(&b, "| ");
        const json_t *lost = json_object_get(r, "lost");
        for (size_t k = 0; k < json_array_size(lost); k++) {
            if (k) buf_adds(&b, ", ");
            md_text(&b, json_string_value(json_array_get(lost, k)));
        }
        buf_addf(&b, " | %s | %s | %s | %s | ", report_jstr(r, "verdict", "?"), c.worst_p95, c.error_rate, c.recovery);
        md_text(&b, report_jstr(r, "why", ""));
        buf_adds(&b, " | ");
        md_text(&b, report_jstr(r, "report", ""));
        buf_adds(&b, " |\n");
    }
    int rc = b.overflow ? fl_err(err, "cannot write '%s': the table is too large", path)
                        : report_write_file(path, b.data, b.len, err);
    buf_release(&b);
    return rc;
}

void report_contingency_text(const json_t *mrec, struct buf *out)
{
    const json_t *rows = json_object_get(mrec, "matrix");
    int w = 4;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        int l = (int)strlen(report_jstr(json_array_get(rows, i), "lose", ""));
        if (l > w) w = l;
    }
    buf_addf(out, "\ncontingency %s of '%s':\n", report_jstr(mrec, "kind_label", "N-1"),
             report_jstr(json_object_get(mrec, "plan"), "name", "?"));
    buf_addf(out, "  %-*s  %-13s  %-10s  %-10s  %-13s  %s\n", w, "lost", "verdict", "worst p95", "error rate", "recovery", "why");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        struct report_cells c;
        report_cells(r, &c);
        buf_addf(out, "  %-*s  %-13s  %-10s  %-10s  %-13s  %.160s\n", w, report_jstr(r, "lose", ""),
                 report_jstr(r, "verdict", "?"), c.worst_p95, c.error_rate, c.recovery, report_jstr(r, "why", ""));
    }
    buf_addf(out, "%s\n", report_jstr(mrec, "overall", "?"));
}

void report_contingency_row_text(const json_t *row, struct buf *out)
{
    struct report_cells c;
    report_cells(row, &c);
    buf_addf(out, "lose %s: %s (exit %d), worst p95 %s, error rate %s, recovery %s; report: %s\n",
             report_jstr(row, "lose", "?"), report_jstr(row, "verdict", "?"),
             (int)json_integer_value(json_object_get(row, "exit_code")), c.worst_p95, c.error_rate, c.recovery,
             report_jstr(row, "report", "?"));
}
