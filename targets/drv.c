/* drv.c -- the drivers' side of drv.h: each call answers "not offered" when the plan or the
 * run offers nothing. */
#include "drv.h"

#include "node.h"

struct target *drv_target(const struct drv_parse *pc, const char *name)
{
    return pc && pc->target && name ? pc->target(pc->plan, name) : NULL;
}

int drv_has_step(const struct drv_parse *pc, const char *name)
{
    return pc && pc->step && name ? pc->step(pc->plan, name) : 0;
}

int drv_has_load_block(const struct drv_parse *pc, const char *name)
{
    return pc && pc->load_block && name ? pc->load_block(pc->plan, name) : 0;
}

int drv_has_service(const struct drv_parse *pc, const char *name)
{
    return pc && pc->service && name ? pc->service(pc->plan, name) : 0;
}

int drv_name_unknown(const struct drv_parse *pc, enum drv_names what, const char *name, char *hint, size_t n)
{
    if (n) hint[0] = '\0';
    return pc && pc->unknown && name ? pc->unknown(pc->plan, what, name, hint, n) : 1;
}

struct probe_spec *drv_nested_probe(const struct drv_parse *pc, const struct node *entry, struct diag *d)
{
    if (pc && pc->nested_probe) return pc->nested_probe(pc->plan, entry, d);
    diag_add(d, entry, "a nested probe is only read inside a plan");
    return NULL;
}

pid_t drv_service_pid(const struct drv_ctx *c, const char *name)
{
    return c && c->hooks && c->hooks->service_pid ? c->hooks->service_pid(c->run, name) : -1;
}

int drv_service_restart(const struct drv_ctx *c, const char *name, char *err)
{
    if (c && c->hooks && c->hooks->service_restart) return c->hooks->service_restart(c->run, name, err);
    (void)name;
    return fl_err(err, "faultline is not running its services");
}

int drv_service_known(const struct drv_ctx *c, const char *name, struct buf *known)
{
    return c && c->hooks && c->hooks->service_known ? c->hooks->service_known(c->run, name, known) : 1;
}

int drv_load_query(const struct drv_ctx *c, const char *block, int64_t from_ms, int64_t to_ms, struct lg_stats *out)
{
    if (!c || !c->hooks || !c->hooks->load_query) return DRV_LOAD_NOT_RUNNING;
    return c->hooks->load_query(c->run, block, from_ms, to_ms, out);
}

int64_t drv_load_ended_ms(const struct drv_ctx *c)
{
    return c && c->hooks && c->hooks->load_ended_ms ? c->hooks->load_ended_ms(c->run) : -1;
}

int drv_journal_progress(const struct drv_ctx *c, long id, const char *phase, size_t item, json_t *note, int sync,
                         char *err)
{
    if (!c || !c->hooks || !c->hooks->journal_progress || id < 0) {
        json_decref(note);
        return 0;
    }
    return c->hooks->journal_progress(c->run, id, phase, item, note, sync, err);
}

long drv_journal_intent(const struct drv_ctx *c, const char *name, const char *kind, json_t *rec, char *err)
{
    if (!c || !c->hooks || !c->hooks->journal_intent) {
        json_decref(rec);
        return 0;
    }
    return c->hooks->journal_intent(c->run, name, kind, rec, err);
}

void drv_journal_settle(const struct drv_ctx *c, long id, int ok, const char *how)
{
    if (id > 0 && c && c->hooks && c->hooks->journal_settle) c->hooks->journal_settle(c->run, id, ok, how);
}

const struct target *drv_target_named(const struct drv_ctx *c, const char *name)
{
    return c && c->hooks && c->hooks->target_named && name ? c->hooks->target_named(c->run, name) : NULL;
}

int drv_res_window(const struct drv_ctx *c, const char *id, int64_t from_ms, int64_t to_ms, struct drv_res_window *out)
{
    return c && c->hooks && c->hooks->res_window && id ? c->hooks->res_window(c->run, id, from_ms, to_ms, out) : -1;
}
