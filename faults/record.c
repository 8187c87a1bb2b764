/* record.c -- the journal as fault drivers see it: progress notes while acting, and the
 * helpers reconcile() uses to read what the journal holds of a step (see fault.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "fault.h"
#include "process.h"

void fault_progress(struct fault_inst *fi, const char *phase, size_t item, json_t *note)
{
    if (!fi) {
        json_decref(note);
        return;
    }
    drv_journal_progress(fi->ctx, fi->jid, phase, item, note, 0, NULL);
}

int fault_progress_sync(struct fault_inst *fi, const char *phase, size_t item, json_t *note, char *err)
{
    if (!fi) {
        json_decref(note);
        return 0;
    }
    return drv_journal_progress(fi->ctx, fi->jid, phase, item, note, 1, err);
}

int fault_add_target(struct fault_inst *fi, size_t item, json_t *target, char *err)
{
    if (!fi) {
        json_decref(target);
        return 0;
    }
    json_t *note = json_object();
    json_object_set_new(note, "added", target);
    return drv_journal_progress(fi->ctx, fi->jid, "inject", item, note, 1, err);
}

/* the next progress entry of phase at or after *i (NULL when there is none); *i moves past it */
static json_t *next_of_phase(const struct fault_record *r, const char *phase, size_t *i)
{
    while (r && *i < json_array_size(r->progress)) {
        json_t *p = json_array_get(r->progress, (*i)++);
        const char *ph = json_string_value(json_object_get(p, "phase"));
        if (ph && !strcmp(ph, phase)) return p;
    }
    return NULL;
}

json_t *fault_record_note(const struct fault_record *r, const char *phase, size_t item)
{
    json_t *found = NULL, *p;
    for (size_t i = 0; (p = next_of_phase(r, phase, &i));) { /* the last note of the item counts */
        json_t *it = json_object_get(p, "item");
        if (json_is_integer(it) && (size_t)json_integer_value(it) == item) found = json_object_get(p, "note");
    }
    return found;
}

json_t *fault_record_notes_with(const struct fault_record *r, const char *phase, const char *key)
{
    json_t *out = json_array(), *p;
    for (size_t i = 0; (p = next_of_phase(r, phase, &i));)
        if (json_object_get(json_object_get(p, "note"), key)) json_array_append(out, p);
    return out;
}

int fault_record_runner_alive(const struct fault_record *r)
{
    if (!r || r->runner_pid <= 0 || r->same_boot == 0) return 0;   /* -1 (unknown): the pid + start decide */
    struct proc_id id = { .pid = (pid_t)r->runner_pid, .start = (unsigned long long)r->runner_start };
    return proc_alive(&id, NULL);
}

int fault_inject_undo(struct fault_inst *fi, int (*revert)(struct fault_inst *, char *), const char *doing, char *err)
{
    char e[FL_ERR_LEN];
    if (revert(fi, e) < 0) {
        size_t l = strlen(err);
        snprintf(err + l, FL_ERR_LEN - l, "; and %s: %s", doing, e);
    }
    return -1;
}

void fault_report(struct buf *out, const char *fmt, ...)
{
    if (!out) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    buf_addf(out, "  %s\n", line);
}

int fault_reconcile_rec(const struct fault_ops *ops, json_t *rec, const struct drv_ctx *ctx, struct buf *report,
                        char *err)
{
    if (!ops->reconcile) return 0;
    json_t *progress = json_array();
    struct fault_record r = { .step = "?", .kind = ops->name, .run = "?", .rec = rec, .progress = progress,
                              .done = 1, .inject_ok = 1, .same_boot = 1 };
    int rc = ops->reconcile(&r, ctx, report, err);
    json_decref(progress);
    return rc;
}
