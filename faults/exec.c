/* exec.c -- the `exec` fault: run a command to break something, and another to undo it.
 * faultline cannot observe what a command changes: the revert command must be safe to run
 * when the fault was only partly applied (rollback runs it when in doubt; docs/journal.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fault.h"
#include "spawn.h"

struct exec_cfg {
    char **run;
    char **revert;
    int64_t timeout_ms;
    int expect_exit;
};

static const struct param_spec exec_params[] = {
    { "run", PT_ARGV, PARAM_REQUIRED, "command that injects the fault (argv list, or a string run by /bin/sh -c)" },
    { "revert", PT_ARGV, 0, "command that undoes it (optional)" },
    { "timeout", PT_DURATION, 0, "kill a command that runs longer (default 60s)" },
    { "expect_exit", PT_INT, 0, "exit status that counts as success (default 0)" },
    { 0 } };

static int exec_parse(const struct drv_parse *pc, const struct node *step, void **cfg, struct diag *d)
{
    (void)pc; (void)d;
    struct exec_cfg *c = fl_calloc(1, sizeof *c);
    c->run = param_argv(step, "run");
    c->revert = param_argv(step, "revert");
    c->timeout_ms = param_ms(step, "timeout", 60000);
    c->expect_exit = (int)param_int(step, "expect_exit", 0);
    *cfg = c;
    return 0;
}

static int run_cmd(char **argv, const struct exec_cfg *c, const char *what, char *err)
{
    char out[1024], e[FL_ERR_LEN];
    int st = spawn_run(argv, c->timeout_ms, out, sizeof out, e);
    if (st < 0) return fl_err(err, "%s: %s", what, e);
    if (st != c->expect_exit) {
        size_t l = strlen(out);
        while (l && (out[l - 1] == '\n' || out[l - 1] == '\r')) out[--l] = '\0';
        return fl_err(err, "%s: '%s' exited with %d (expected %d)%s%.300s", what, argv[0], st, c->expect_exit,
                      l ? ": " : "", out);
    }
    return 0;
}

static int exec_inject(struct fault_inst *fi, char *err)
{
    const struct exec_cfg *c = fi->cfg;
    /* what the command changes cannot be observed: note (after the intent, fsync'd: rollback
     * skips the revert of a command this note does not say started) that it starts */
    char e[FL_ERR_LEN];
    if (fault_progress_sync(fi, "inject", 0, json_pack("{s:b}", "started", 1), e) < 0)
        return fl_err(err, "exec fault: not started: %s", e);
    /* from here what run: does cannot be observed: a run: that fails may have changed part
     * of what it meant to (a script that stopped half way, one killed at timeout:). A state
     * (nothing to free) has the run undo it with revert(), as an inject half done (fault.h),
     * and keeps the step pending when that revert fails */
    static const int started = 1;
    fi->state = (void *)&started;
    return run_cmd(c->run, c, "exec fault", err);
}

static int exec_revert(struct fault_inst *fi, char *err)
{
    const struct exec_cfg *c = fi->cfg;
    if (!c->revert) return 0;
    if (run_cmd(c->revert, c, "exec revert", err) < 0) return -1;
    fault_progress(fi, "revert", 0, json_pack("{s:b}", "ran", 1));
    return 0;
}

static json_t *exec_save(const struct fault_inst *fi)
{
    const struct exec_cfg *c = fi->cfg;
    json_t *o = json_object();
    json_t *rv = json_array();
    for (size_t i = 0; c->revert && c->revert[i]; i++) json_array_append_new(rv, json_string(c->revert[i]));
    json_object_set_new(o, "revert", rv);
    json_object_set_new(o, "timeout_ms", json_integer(c->timeout_ms));
    json_object_set_new(o, "expect_exit", json_integer(c->expect_exit));
    return o;
}

/* what run: changed cannot be observed: the revert command runs unless the journal shows it
 * already ran, or that run: never started (same boot: the notes are then complete) */
static int exec_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    json_t *rv = json_object_get(r->rec, "revert");
    size_t n = json_array_size(rv);
    if (n == 0) {
        fault_report(report, "no revert: command: nothing faultline can undo");
        return 0;
    }
    if (fault_record_note(r, "revert", 0)) {
        fault_report(report, "the revert command already ran: nothing to do");
        return 0;
    }
    if (!r->done && r->same_boot == 1 && !fault_record_note(r, "inject", 0)) {
        fault_report(report, "the dead run never started the run: command: nothing to undo");
        return 0;
    }
    char **argv = fl_calloc(n + 1, sizeof *argv);
    for (size_t i = 0; i < n; i++) {
        const char *a = json_string_value(json_array_get(rv, i));
        argv[i] = fl_strdup(a ? a : "");
    }
    struct exec_cfg c = { .timeout_ms = json_integer_value(json_object_get(r->rec, "timeout_ms")),
                          .expect_exit = (int)json_integer_value(json_object_get(r->rec, "expect_exit")) };
    if (c.timeout_ms <= 0) c.timeout_ms = 60000;
    int rc = run_cmd(argv, &c, "exec revert", err);
    param_strv_free(argv);
    if (rc < 0) fault_report(report, "what run: changed cannot be observed; the revert command failed");
    else fault_report(report, "what run: changed cannot be observed: ran the revert command (exit %d)", c.expect_exit);
    return rc;
}

static void exec_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct exec_cfg *c = fi->cfg;
    buf_adds(out, "run");
    for (size_t i = 0; c->run[i] && i < 8; i++) buf_addf(out, " %s", c->run[i]);
    if (c->revert) buf_adds(out, " (revert command set)");
}

static void exec_free(void *cfg)
{
    struct exec_cfg *c = cfg;
    param_strv_free(c->run);
    param_strv_free(c->revert);
    free(c);
}

const struct fault_ops fault_exec = {
    .name = "exec",
    .target_kind = NULL,
    .summary = "run a command (run:) that breaks something",
    .revert_summary = "the revert: command, if given",
    .params = exec_params,
    .parse = exec_parse,
    .inject = exec_inject,
    .revert = exec_revert,
    .save = exec_save,
    .reconcile = exec_reconcile,
    .describe = exec_describe,
    .free_cfg = exec_free,
};
