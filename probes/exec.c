/* exec.c -- the `exec` probe: a command's exit status and output, with a timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe.h"
#include "value.h"
#include "spawn.h"

struct pexec_cfg {
    char **run;
    struct expect expect;     /* "exit 0" by default */
    char *stdout_contains;
    int64_t timeout_ms;
};

static const struct param_spec pexec_params[] = {
    { "run", PT_ARGV, PARAM_REQUIRED, "command (argv list, or a string run by /bin/sh -c)" },
    { "expect", PT_EXPECT, 0, "\"exit N\" (default \"exit 0\")" },
    { "stdout_contains", PT_STR, 0, "text the output must contain" },
    { "timeout", PT_DURATION, 0, "kill it after this long (default 10s): inconclusive" },
    { 0 } };

static int pexec_parse(const struct drv_parse *pc, const struct node *val, const struct node *entry, void **cfg, struct diag *d)
{
    (void)pc; (void)entry;
    struct pexec_cfg *c = fl_calloc(1, sizeof *c);
    char err[FL_ERR_LEN];
    const char *ex = param_str(val, "expect", "exit 0");
    static const char *const m[] = { "exit", NULL };
    if (expect_parse(ex, m, &c->expect, err) < 0 || !c->expect.metric || strcmp(c->expect.metric, "exit")) {
        diag_add(d, node_get(val, "expect"), "exec probe: expect: takes \"exit N\", not '%s'", ex);
        expect_release(&c->expect);
        free(c);
        return -1;
    }
    c->run = param_argv(val, "run");
    const char *sc = param_str(val, "stdout_contains", NULL);
    c->stdout_contains = sc ? fl_strdup(sc) : NULL;
    c->timeout_ms = param_ms(val, "timeout", 10000);
    *cfg = c;
    return 0;
}

static int pexec_check(struct probe_inst *pi, struct probe_obs *obs, char *err)
{
    const struct pexec_cfg *c = pi->cfg;
    char out[4096];
    int st = spawn_run(c->run, c->timeout_ms, out, sizeof out, err);
    if (st < 0) return -1;
    obs->has_value = 1;
    obs->value = st;
    int ok = expect_eval_num(&c->expect, st);
    if (c->stdout_contains && !strstr(out, c->stdout_contains)) ok = 0;
    obs->outcome = ok ? PROBE_PASSED : PROBE_FAILED;
    size_t l = strlen(out);
    while (l && (out[l - 1] == '\n' || out[l - 1] == '\r')) out[--l] = '\0';
    snprintf(obs->observed, sizeof obs->observed, "exit %d%s%.200s", st, l ? ": " : "", out);
    return 0;
}

static void pexec_describe(const void *cfg, struct buf *out)
{
    const struct pexec_cfg *c = cfg;
    buf_addf(out, "%s", c->expect.text);
    if (c->stdout_contains) buf_addf(out, ", stdout contains \"%s\"", c->stdout_contains);
}

static void pexec_free(void *cfg)
{
    struct pexec_cfg *c = cfg;
    param_strv_free(c->run);
    expect_release(&c->expect);
    free(c->stdout_contains);
    free(c);
}

const struct probe_ops probe_exec = {
    .name = "exec",
    .summary = "a command's exit status (and output)",
    .params = pexec_params,
    .parse = pexec_parse,
    .check = pexec_check,
    .describe = pexec_describe,
    .free_cfg = pexec_free,
};
