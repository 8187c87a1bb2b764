/* docker.c -- the docker.stop / kill / pause / restart / exec fault kinds, over docker_api.c
 * (the `docker` target: targets/docker_target.c).
 *
 * Each inject records, per container, the state it found (running / paused / exited ...) and
 * what it did; revert restores exactly that state: a container that was already stopped is
 * not started, one that was already paused stays paused, and a started container with a
 * healthcheck is waited for until healthy (healthy_within:). prepare() inspects every
 * container before anything is done: that record, as JSON, is the step's journal intent;
 * reconcile() compares each container with it and restores what differs (docs/journal.md).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "fault.h"
#include "value.h"

/* ---- fault configuration ---------------------------------------------------------------------- */

enum dk_action { DK_STOP, DK_KILL, DK_PAUSE, DK_RESTART, DK_EXEC };
static const char *const action_names[] = { "stop", "kill", "pause", "restart", "exec" };

static int action_parse(const char *s)
{
    for (int i = 0; s && i < (int)(sizeof action_names / sizeof *action_names); i++)
        if (strcmp(action_names[i], s) == 0) return i;
    return -1;
}

struct dk_cfg {
    enum dk_action action;
    int64_t grace_ms;
    int64_t healthy_ms;
    char *signal;
    char **command;
    char **revert;
    int expect_exit;
    int64_t timeout_ms;
};

static const char *const signal_names[] = {
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
    "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
    "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS", NULL,
};

/* "SIGKILL", "KILL", "9", "SIGRTMIN+3" -> ok */
static int signal_ok(const char *s)
{
    if (!s || !*s) return 0;
    char *end;
    long n = strtol(s, &end, 10);
    if (*end == '\0') return n > 0 && n < 65;
    const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; signal_names[i]; i++)
        if (strcasecmp(signal_names[i], name) == 0) return 1;
    if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) return 1;
    return 0;
}

static const struct param_spec stop_params[] = {
    { "grace", PT_DURATION, 0, "time the container gets to exit after SIGTERM before SIGKILL (default 10s)" },
    { "healthy_within", PT_DURATION, 0, "after the revert starts it: wait this long for healthcheck 'healthy' (default 60s)" },
    { 0 },
};
static const struct param_spec kill_params[] = {
    { "signal", PT_STR, 0, "signal sent to the container's main process (default SIGKILL)" },
    { "healthy_within", PT_DURATION, 0, "after the revert starts it: wait this long for healthcheck 'healthy' (default 60s)" },
    { 0 },
};
static const struct param_spec pause_params[] = {
    { 0 },
};
static const struct param_spec restart_params[] = {
    { "grace", PT_DURATION, 0, "time the container gets to exit after SIGTERM before SIGKILL (default 10s)" },
    { 0 },
};
static const struct param_spec exec_params[] = {
    { "command", PT_ARGV, PARAM_REQUIRED, "command run inside each container (argv list, or a string for /bin/sh -c)" },
    { "revert", PT_ARGV, 0, "command run inside the same containers at revert (must exit 0)" },
    { "expect_exit", PT_INT, 0, "exit status command: must return (default 0)" },
    { "timeout", PT_DURATION, 0, "longest a command may run (default 60s)" },
    { 0 },
};

static void cfg_free(void *p)
{
    struct dk_cfg *c = p;
    if (!c) return;
    free(c->signal);
    param_strv_free(c->command);
    param_strv_free(c->revert);
    free(c);
}

static int parse_common(const struct node *step, void **out, struct diag *d, enum dk_action a)
{
    struct dk_cfg *c = fl_calloc(1, sizeof *c);
    c->action = a;
    c->grace_ms = param_ms(step, "grace", 10000);
    c->healthy_ms = param_ms(step, "healthy_within", 60000);
    c->timeout_ms = param_ms(step, "timeout", 60000);
    c->expect_exit = (int)param_int(step, "expect_exit", 0);
    int bad = 0;
    if (a == DK_KILL) {
        const char *sig = param_str(step, "signal", "SIGKILL");
        if (!signal_ok(sig)) {
            diag_add(d, node_get(step, "signal"), "docker.kill: unknown signal '%s' (e.g. SIGKILL, SIGTERM, 9)", sig);
            bad++;
        }
        c->signal = fl_strdup(sig);
    }
    if (a == DK_EXEC) {
        c->command = param_argv(step, "command");
        c->revert = param_argv(step, "revert");
        if (!c->command || !c->command[0]) {
            diag_add(d, node_get(step, "command") ? node_get(step, "command") : step, "docker.exec: command: is empty");
            bad++;
        }
        if (node_get(step, "revert") && (!c->revert || !c->revert[0])) {
            diag_add(d, node_get(step, "revert"), "docker.exec: revert: is empty");
            bad++;
        }
        if (c->expect_exit < 0 || c->expect_exit > 255) {
            diag_add(d, node_get(step, "expect_exit"), "docker.exec: expect_exit must be 0..255");
            bad++;
        }
    }
    if (c->grace_ms < 0 || c->healthy_ms < 0 || c->timeout_ms <= 0) {
        diag_add(d, step, "%s: durations must be positive", action_names[a]);
        bad++;
    }
    if (bad) {
        cfg_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int parse_stop(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, DK_STOP); }
static int parse_kill(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, DK_KILL); }
static int parse_pause(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, DK_PAUSE); }
static int parse_restart(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, DK_RESTART); }
static int parse_exec(const struct drv_parse *pc, const struct node *s, void **c, struct diag *d) { (void)pc; return parse_common(s, c, d, DK_EXEC); }

/* ---- fault state: what each container was and what we did ------------------------------------- */

struct dk_item {
    char *id;
    char *name;
    enum docker_run_state prior;
    int has_healthcheck;
    int acted;          /* 1: inject changed it, revert has work to do */
};

struct dk_state {
    enum dk_action action;
    struct docker_client client;   /* this fault's own connection: steps on one target run in parallel */
    int client_ready;
    char *host;
    char *target;       /* target name, for messages */
    struct dk_item *items;
    size_t n;
    int64_t grace_ms;   /* stop/restart: how long the engine may still be stopping after we asked */
    int64_t healthy_ms;
    int64_t timeout_ms;
    char **revert_cmd;
};

static void state_free(void *p)
{
    struct dk_state *s = p;
    if (!s) return;
    if (s->client_ready) docker_client_release(&s->client);
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].id);
        free(s->items[i].name);
    }
    free(s->items);
    free(s->host);
    free(s->target);
    param_strv_free(s->revert_cmd);
    free(s);
}

static char **strv_dup(char *const *v)
{
    if (!v) return NULL;
    size_t n = param_strv_len(v);
    char **r = fl_calloc(n + 1, sizeof *r);
    for (size_t i = 0; i < n; i++) r[i] = fl_strdup(v[i]);
    return r;
}

static int was_up(enum docker_run_state s) { return s == DS_RUNNING || s == DS_PAUSED || s == DS_RESTARTING; }

/* the last line or so of a command's output, for error messages */
static void tail_text(const struct buf *b, char *out, size_t outlen)
{
    size_t len = b->len;
    while (len && isspace((unsigned char)b->data[len - 1])) len--;
    size_t from = len > outlen - 1 ? len - (outlen - 1) : 0;
    size_t n = len - from;
    memcpy(out, b->data + from, n);
    out[n] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
}

static int run_cmd(struct docker_client *c, const struct dk_item *it, char *const *argv, int expect,
                   int64_t timeout_ms, const char *what, char *err)
{
    char e[FL_ERR_LEN];
    struct buf out;
    buf_init(&out, 64 * 1024);
    int code = -1;
    int ret = docker_exec(c, it->id, argv, timeout_ms, &code, &out, e);
    if (ret < 0) fl_err(err, "cannot run the %s in '%s': %s", what, it->name, e);
    else if (code != expect) {
        char tail[160];
        tail_text(&out, tail, sizeof tail);
        ret = fl_err(err, "the %s in '%s' exited %d, expected %d%s%s", what, it->name, code, expect, tail[0] ? ": " : "",
                     tail);
    }
    buf_release(&out);
    return ret;
}

/* bring a container that was up back to what it was: start, wait healthy, pause again */
static int restore_up(struct docker_client *c, const struct dk_state *s, const struct dk_item *it, char *err)
{
    char e[FL_ERR_LEN];
    if (docker_start(c, it->id, NULL, e) < 0) return fl_err(err, "cannot start '%s': %s", it->name, e);
    if (it->has_healthcheck && docker_wait_healthy(c, it->id, s->healthy_ms, e) < 0)
        return fl_err(err, "started '%s' but %s", it->name, e);
    if (it->prior == DS_PAUSED && docker_pause(c, it->id, e) < 0)
        return fl_err(err, "cannot pause '%s' again (it was paused before): %s", it->name, e);
    return 0;
}

/* Undo what inject did to one container. Idempotent: clears it->acted when done. */
static int revert_item(struct docker_client *c, const struct dk_state *s, struct dk_item *it, char *err)
{
    char e[FL_ERR_LEN];
    if (!it->acted) return 0;
    switch (s->action) {
    case DK_STOP:
    case DK_KILL:
        if (was_up(it->prior) && restore_up(c, s, it, err) < 0) return -1;
        break;
    case DK_PAUSE:
        if (docker_unpause(c, it->id, e) < 0) {
            /* fallback: a container that exited while paused (or was unpaused and then
             * stopped by someone else) is brought back to running, the state found */
            struct docker_cstate cs;
            char e2[FL_ERR_LEN];
            if (docker_inspect(c, it->id, &cs, NULL, e2) == 0 && cs.state != DS_PAUSED && cs.state != DS_RUNNING &&
                docker_start(c, it->id, NULL, e2) == 0) {
                fl_log(FL_LOG_WARN, "'%s' was no longer paused (%s) and was started instead", it->name, e);
                break;
            }
            return fl_err(err, "cannot unpause '%s': %s", it->name, e);
        }
        break;
    case DK_EXEC:
        if (s->revert_cmd && run_cmd(c, it, s->revert_cmd, 0, s->timeout_ms, "revert command", err) < 0)
            return -1;
        break;
    case DK_RESTART:
        break;
    }
    it->acted = 0;
    return 0;
}

/* Revert every container; keep going past failures, report the first. fi (may be NULL)
 * gets a progress note per container restored. */
static int revert_all(struct fault_inst *fi, struct docker_client *c, struct dk_state *s, char *err)
{
    int ret = 0;
    char e[FL_ERR_LEN];
    for (size_t i = 0; i < s->n; i++) {
        int had = s->items[i].acted;
        if (revert_item(c, s, &s->items[i], e) < 0) {
            if (ret == 0) snprintf(err, FL_ERR_LEN, "%s", e);
            else fl_log(FL_LOG_ERROR, "docker: %s", e);
            ret = -1;
        } else if (had) {
            fault_progress(fi, "revert", i, json_pack("{s:s,s:b}", "container", s->items[i].name, "restored", 1));
        }
    }
    return ret;
}

/* Observe every container of the target, before anything is done: the intent. */
static int fault_prepare(struct fault_inst *fi, char *err)
{
    const struct dk_cfg *cfg = fi->cfg;
    struct target *t = fi->target;
    char kind[32];
    snprintf(kind, sizeof kind, "docker.%s", action_names[cfg->action]);
    struct dk_state *s = fl_calloc(1, sizeof *s);
    if (docker_target_client(t, fi->ctx, kind, &s->client, err) < 0) {
        free(s);
        return -1;
    }
    const struct docker_target *dt = t->cfg;
    s->client_ready = 1;
    s->action = cfg->action;
    s->host = fl_strdup(s->client.host);
    s->target = fl_strdup(t->name);
    s->grace_ms = cfg->action == DK_STOP || cfg->action == DK_RESTART ? cfg->grace_ms : 0;
    s->healthy_ms = cfg->healthy_ms;
    s->timeout_ms = cfg->timeout_ms;
    s->revert_cmd = strv_dup(cfg->revert);
    s->items = fl_calloc(dt->n, sizeof *s->items);
    fi->state = s;
    for (size_t i = 0; i < dt->n; i++) {
        struct dk_item *it = &s->items[s->n++];
        it->id = fl_strdup(dt->ids[i]);
        it->name = fl_strdup(dt->names[i]);
        struct docker_cstate st;
        char e[FL_ERR_LEN];
        if (docker_inspect(&s->client, it->id, &st, NULL, e) < 0)
            return fl_err(err, "cannot %s '%s': %s", action_names[cfg->action], it->name, e);
        it->prior = st.state;
        it->has_healthcheck = st.has_healthcheck;
    }
    return 0;
}

/* Act on one container whose prior state prepare() recorded. */
static int inject_item(struct docker_client *c, const struct dk_cfg *cfg, struct dk_item *it, char *err)
{
    char e[FL_ERR_LEN];
    switch (cfg->action) {
    case DK_PAUSE:
        if (it->prior == DS_PAUSED) return 0; /* already paused: leave it paused */
        if (docker_pause(c, it->id, e) == 0) {
            it->acted = 1;
            return 0;
        } else {
            struct docker_cstate st;
            char e2[FL_ERR_LEN];
            if (docker_inspect(c, it->id, &st, NULL, e2) == 0 && st.state == DS_PAUSED) {
                it->prior = DS_PAUSED; /* paused by someone else meanwhile: leave it */
                return 0;
            }
        }
        return fl_err(err, "cannot pause '%s': %s", it->name, e);
    case DK_STOP:
        if (!was_up(it->prior)) return 0; /* already stopped: nothing to do, nothing to revert */
        if (docker_stop(c, it->id, cfg->grace_ms, NULL, e) < 0) return fl_err(err, "cannot stop '%s': %s", it->name, e);
        it->acted = 1;
        return 0;
    case DK_KILL:
        if (!was_up(it->prior)) return 0;
        if (docker_kill(c, it->id, cfg->signal, e) < 0) return fl_err(err, "cannot kill '%s': %s", it->name, e);
        it->acted = 1;
        return 0;
    case DK_RESTART:
        if (docker_restart(c, it->id, cfg->grace_ms, e) < 0)
            return fl_err(err, "cannot restart '%s': %s", it->name, e);
        return 0;
    case DK_EXEC:
        it->acted = 1; /* the command ran (or may have): the revert command applies */
        return run_cmd(c, it, cfg->command, cfg->expect_exit, cfg->timeout_ms, "command", err);
    }
    return 0;
}

static int fault_revert(struct fault_inst *fi, char *err);

static int fault_inject(struct fault_inst *fi, char *err)
{
    const struct dk_cfg *cfg = fi->cfg;
    if (!fi->state && fault_prepare(fi, err) < 0) return -1;
    struct dk_state *s = fi->state;
    for (size_t i = 0; i < s->n; i++) {
        struct dk_item *it = &s->items[i];
        /* what a command changes cannot be observed: note that it starts */
        int noted = 0;
        if (cfg->action == DK_EXEC) {
            char ne[FL_ERR_LEN];
            noted = fault_progress_sync(fi, "inject", i, json_pack("{s:s,s:b}", "container", it->name, "started", 1), ne);
            if (noted < 0) fl_err(err, "container '%s': not started: %s", it->name, ne);
        }
        if (noted < 0 || inject_item(&s->client, cfg, it, err) < 0)
            return fault_inject_undo(fi, fault_revert, "undoing the others failed", err);
        fault_progress(fi, "inject", i, json_pack("{s:s,s:b}", "container", it->name, "acted", it->acted));
    }
    return 0;
}

static int fault_revert(struct fault_inst *fi, char *err)
{
    struct dk_state *s = fi->state;
    if (!s) return 0;
    return revert_all(fi, &s->client, s, err);
}

static json_t *fault_save(const struct fault_inst *fi)
{
    const struct dk_state *s = fi->state;
    if (!s) return NULL;
    json_t *items = json_array();
    for (size_t i = 0; i < s->n; i++) {
        const struct dk_item *it = &s->items[i];
        json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:b,s:b}", "id", it->id, "name", it->name, "prior",
                                               docker_state_name(it->prior), "healthcheck", it->has_healthcheck,
                                               "acted", it->acted));
    }
    json_t *rec = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:o}", "action", action_names[s->action], "host", s->host,
                            "target", s->target, "grace_ms", (json_int_t)s->grace_ms, "healthy_within_ms",
                            (json_int_t)s->healthy_ms, "timeout_ms", (json_int_t)s->timeout_ms, "containers", items);
    if (s->client_ready) docker_client_save_tls(&s->client, rec);
    if (s->revert_cmd) {
        json_t *rv = json_array();
        for (size_t i = 0; s->revert_cmd[i]; i++) json_array_append_new(rv, json_string(s->revert_cmd[i]));
        json_object_set_new(rec, "revert", rv);
    }
    return rec;
}

static struct dk_state *state_load(json_t *rec, char *err)
{
    int a = action_parse(json_string_value(json_object_get(rec, "action")));
    const char *host = json_string_value(json_object_get(rec, "host"));
    json_t *items = json_object_get(rec, "containers");
    if (a < 0 || !host || !json_is_array(items)) {
        fl_err(err, "docker: journal record is incomplete");
        return NULL;
    }
    struct dk_state *s = fl_calloc(1, sizeof *s);
    s->action = (enum dk_action)a;
    s->host = fl_strdup(host);
    const char *tn = json_string_value(json_object_get(rec, "target"));
    s->target = fl_strdup(tn ? tn : "");
    s->grace_ms = json_integer_value(json_object_get(rec, "grace_ms"));
    s->healthy_ms = json_integer_value(json_object_get(rec, "healthy_within_ms"));
    s->timeout_ms = json_integer_value(json_object_get(rec, "timeout_ms"));
    if (s->timeout_ms <= 0) s->timeout_ms = 60000;
    json_t *rv = json_object_get(rec, "revert");
    if (json_is_array(rv) && json_array_size(rv)) {
        s->revert_cmd = fl_calloc(json_array_size(rv) + 1, sizeof *s->revert_cmd);
        for (size_t i = 0; i < json_array_size(rv); i++) {
            const char *arg = json_string_value(json_array_get(rv, i));
            s->revert_cmd[i] = fl_strdup(arg ? arg : "");
        }
    }
    s->items = fl_calloc(json_array_size(items) + 1, sizeof *s->items);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        int prior = docker_state_parse(json_string_value(json_object_get(it, "prior")));
        if (!id || prior < 0) {
            state_free(s);
            fl_err(err, "docker: journal record has a container without id or prior state");
            return NULL;
        }
        const char *name = json_string_value(json_object_get(it, "name"));
        struct dk_item *d = &s->items[s->n++];
        d->id = fl_strdup(id);
        d->name = fl_strdup(name ? name : id);
        d->prior = (enum docker_run_state)prior;
        d->has_healthcheck = json_is_true(json_object_get(it, "healthcheck"));
        d->acted = json_is_true(json_object_get(it, "acted"));
    }
    return s;
}

/* compare one container with the state recorded before the fault; restore what differs */
static int reconcile_item(const struct fault_record *r, struct docker_client *c, const struct dk_state *s,
                          size_t i, struct buf *report, char *err)
{
    const struct dk_item *it = &s->items[i];
    const char *was = docker_state_name(it->prior);
    struct docker_cstate cur;
    char e[FL_ERR_LEN];
    if (docker_inspect(c, it->id, &cur, NULL, e) < 0) {
        fault_report(report, "container %s: was %s; cannot look at it now: %s", it->name, was, e);
        return fl_err(err, "container '%s': %s", it->name, e);
    }
    const char *now = docker_state_name(cur.state);
    switch (s->action) {
    case DK_STOP:
    case DK_KILL:
    case DK_RESTART:
        if (!was_up(it->prior)) {
            fault_report(report, "container %s: was %s before the plan, found %s: left as it is", it->name, was, now);
            return 0;
        }
        if (was_up(cur.state)) {
            if (it->prior == DS_PAUSED && cur.state == DS_RUNNING) {
                if (docker_pause(c, it->id, e) < 0) {
                    fault_report(report, "container %s: was paused, found running: pausing it failed: %s", it->name, e);
                    return fl_err(err, "cannot pause '%s' again: %s", it->name, e);
                }
                fault_report(report, "container %s: was paused, found running: paused again", it->name);
                return 0;
            }
            fault_report(report, "container %s: was %s, found %s: nothing to do", it->name, was, now);
            return 0;
        }
        if (restore_up(c, s, it, e) < 0) {
            fault_report(report, "container %s: was %s, found %s: %s", it->name, was, now, e);
            return fl_err(err, "%s", e);
        }
        fault_report(report, "container %s: was %s, found %s: started%s%s", it->name, was, now,
                     it->has_healthcheck ? " (healthy)" : "", it->prior == DS_PAUSED ? " and paused again" : "");
        return 0;
    case DK_PAUSE:
        if (it->prior != DS_RUNNING) {
            fault_report(report, "container %s: was %s before the plan, found %s: left as it is", it->name, was, now);
            return 0;
        }
        if (cur.state == DS_RUNNING) {
            fault_report(report, "container %s: was running, found running: nothing to do", it->name);
            return 0;
        }
        if (cur.state != DS_PAUSED) {
            /* the fault pauses, nothing else: another state is someone else's doing */
            fault_report(report, "container %s: was running, found %s, not the paused the fault set: changed by "
                         "someone else since the run: left as it is", it->name, now);
            return 0;
        }
        if (docker_unpause(c, it->id, e)) {
            fault_report(report, "container %s: was running, found %s: cannot restore: %s", it->name, now, e);
            return fl_err(err, "container '%s': %s", it->name, e);
        }
        fault_report(report, "container %s: was running, found %s: unpaused", it->name, now);
        return 0;
    case DK_EXEC:
        if (!s->revert_cmd) {
            fault_report(report, "container %s: no revert: command, so nothing faultline can undo", it->name);
            return 0;
        }
        if (fault_record_note(r, "revert", i)) {
            fault_report(report, "container %s: its revert command already ran: nothing to do", it->name);
            return 0;
        }
        if (!r->done && r->same_boot == 1 && !fault_record_note(r, "inject", i)) {
            fault_report(report, "container %s: the dead run never started the command in it: nothing to undo", it->name);
            return 0;
        }
        if (run_cmd(c, it, s->revert_cmd, 0, s->timeout_ms, "revert command", e) < 0) {
            fault_report(report, "container %s: what the command changed cannot be observed; the revert command "
                         "failed: %s", it->name, e);
            return fl_err(err, "%s", e);
        }
        fault_report(report, "container %s: what the command changed cannot be observed: ran the revert command "
                     "(exit 0)", it->name);
        return 0;
    }
    return 0;
}

static int fault_reconcile(const struct fault_record *r, const struct drv_ctx *ctx, struct buf *report, char *err)
{
    (void)ctx;
    struct dk_state *s = state_load(r->rec, err);
    if (!s) return -1;
    /* a stop (or restart) the dead run asked for goes on at the engine for up to grace:
     * judge the containers once it is over, or a container found running would be stopped
     * by that stop right after we left it alone */
    if (!r->done && s->grace_ms > 0) {
        /* the engine counts the grace in whole seconds; then the kill and the exit itself */
        double grace = (double)((s->grace_ms + 999) / 1000);
        double until = (r->last_time > 0 ? r->last_time : r->intent_time) + grace + 1.0;
        double wait = until - fl_wall();
        if (wait > 0) {
            fault_report(report, "the engine may still be running the %s the dead run asked for (grace %.0fs): "
                         "waiting %.1fs before looking", action_names[s->action], grace, wait);
            fl_sleep_ms((int64_t)(wait * 1000));
        }
    }
    struct docker_client c;
    int ret = docker_client_init_saved(&c, s->host, r->rec, err);
    if (ret == 0) {
        char e[FL_ERR_LEN];
        for (size_t i = 0; i < s->n; i++) {
            if (reconcile_item(r, &c, s, i, report, e) < 0 && ret == 0) {
                ret = -1;
                snprintf(err, FL_ERR_LEN, "%s", e);
            }
        }
        docker_client_release(&c);
    }
    state_free(s);
    return ret;
}

static void fault_describe(const struct fault_inst *fi, struct buf *out)
{
    const struct dk_cfg *cfg = fi->cfg;
    char d[32];
    buf_addf(out, "docker %s", action_names[cfg->action]);
    if (fi->target) {
        const struct docker_target *dt = fi->target->cfg;
        buf_addf(out, " target '%s'", fi->target->name);
        if (dt && dt->n) {
            buf_adds(out, " (");
            for (size_t i = 0; i < dt->n; i++) buf_addf(out, "%s%s", i ? ", " : "", dt->names[i]);
            buf_adds(out, ")");
        } else if (dt) {
            buf_addf(out, " (%s)", dt->summary);
        }
    }
    switch (cfg->action) {
    case DK_STOP:
    case DK_RESTART:
        val_fmt_duration(cfg->grace_ms, d);
        buf_addf(out, ", grace %s", d);
        break;
    case DK_KILL:
        buf_addf(out, ", signal %s", cfg->signal);
        break;
    case DK_EXEC:
        buf_adds(out, ", command:");
        for (size_t i = 0; cfg->command && cfg->command[i]; i++) buf_addf(out, " %s", cfg->command[i]);
        if (cfg->expect_exit) buf_addf(out, " (expect exit %d)", cfg->expect_exit);
        break;
    case DK_PAUSE:
        break;
    }
    const struct dk_state *s = fi->state;
    if (s) {
        buf_adds(out, "; found");
        for (size_t i = 0; i < s->n; i++)
            buf_addf(out, "%s %s %s", i ? "," : "", s->items[i].name, docker_state_name(s->items[i].prior));
    }
}

#define DOCKER_FAULT(kind, act, summ, rsumm)                                                                \
    const struct fault_ops fault_docker_##kind = {                                                          \
        .name = "docker." #kind, .target_kind = "docker", .summary = summ, .revert_summary = rsumm,         \
        .params = kind##_params, .parse = parse_##kind, .prepare = fault_prepare, .inject = fault_inject,   \
        .revert = act, .save = fault_save, .reconcile = fault_reconcile, .describe = fault_describe,        \
        .free_cfg = cfg_free, .free_state = state_free,                                                      \
    }

DOCKER_FAULT(stop, fault_revert, "stop the containers (SIGTERM, then SIGKILL after grace:)",
             "start the ones that were running (and wait for healthy)");
DOCKER_FAULT(kill, fault_revert, "send signal: (default SIGKILL) to the containers",
             "start the ones that were running (and wait for healthy)");
DOCKER_FAULT(pause, fault_revert, "freeze every process of the containers (cgroup freezer)",
             "unpause the ones that were not paused before");
DOCKER_FAULT(restart, NULL, "restart the containers (stop with grace:, then start)", "none");
DOCKER_FAULT(exec, fault_revert, "run command: inside each container (exec API), check its exit status",
             "run revert: inside the same containers, when given");
