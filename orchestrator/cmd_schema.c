/* cmd_schema.c -- `faultline schema`: a JSON Schema (2020-12) of plans, from the tables that validate them. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "fault.h"
#include "fl.h"
#include "load.h"
#include "params.h"
#include "plan_names.h"
#include "probe.h"

static const char schema_usage[] =
    "usage: faultline schema [-o FILE]\n\n"
    "Print a JSON Schema (draft 2020-12) of the plan format, made from the same tables that\n"
    "`faultline validate` checks plans with (every fault, probe and target kind with its\n"
    "keys), so the two cannot drift apart. Editors use it for completion and checks as you\n"
    "type; in VS Code (the YAML extension by Red Hat), save it next to your plans and put\n"
    "  # yaml-language-server: $schema=faultline.schema.json\n"
    "as the first line of a plan. The schema checks shapes and value syntax; only\n"
    "`faultline validate` checks names across the plan (targets, steps, load blocks).\n\n"
    "  -o FILE   write it to FILE instead of stdout\n";

/* a ${...} reference: any scalar may be one (its value is checked after expansion) */
static json_t *ref(const char *name) { return json_pack("{s:s}", "$ref", name); }

static json_t *any_of2(json_t *a, json_t *b) { return json_pack("{s:[o,o]}", "anyOf", a, b); }

static json_t *scalar_pattern(const char *pattern)
{
    return any_of2(json_pack("{s:s, s:s}", "type", "string", "pattern", pattern), ref("#/$defs/expr"));
}

static json_t *type_schema(enum param_type t, const char *help)
{
    json_t *s;
    switch (t) {
    case PT_STR: case PT_TARGET: case PT_EXPECT: s = ref("#/$defs/scalar"); break;
    case PT_INT: s = any_of2(json_pack("{s:s}", "type", "integer"), ref("#/$defs/expr")); break;
    case PT_NUM: s = any_of2(json_pack("{s:s}", "type", "number"), ref("#/$defs/expr")); break;
    case PT_BOOL: s = any_of2(json_pack("{s:s}", "type", "boolean"), ref("#/$defs/expr")); break;
    case PT_DURATION: s = ref("#/$defs/duration"); break;
    case PT_RATE: s = ref("#/$defs/rate"); break;
    case PT_PERCENT: s = ref("#/$defs/percent"); break;
    case PT_BYTES: s = ref("#/$defs/bytes"); break;
    case PT_STRLIST: case PT_EXPECTS: s = ref("#/$defs/scalars"); break;
    case PT_ARGV: s = ref("#/$defs/command"); break;
    case PT_MAP: s = json_pack("{s:s}", "type", "object"); break;
    case PT_LIST: s = json_pack("{s:s}", "type", "array"); break;
    default: s = json_object(); break;
    }
    if (help) {
        /* a $ref with siblings is fine in 2020-12; keep it readable for editors */
        json_object_set_new(s, "description", json_string(help));
    }
    return s;
}

/* an object of exactly these keys (spec, plus extra keys given as schemas) */
static json_t *params_object(const struct param_spec *spec, json_t *extra_props)
{
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; spec && spec[i].name; i++) {
        json_object_set_new(props, spec[i].name, type_schema(spec[i].type, spec[i].help));
        if (spec[i].flags & PARAM_REQUIRED) json_array_append_new(req, json_string(spec[i].name));
    }
    if (extra_props) json_object_update(props, extra_props);
    json_t *o = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props, "additionalProperties", 0);
    if (json_array_size(req)) json_object_set_new(o, "required", req);
    else json_decref(req);
    return o;
}

/* the value syntax of value.c: compound durations, rates, percentages, sizes; names */
static void defs_values(json_t *d)
{
    const char *unit = "(h|min|m|s|ms|us|\xc2\xb5s)";
    char dur[256], range[600];
    snprintf(dur, sizeof dur, "([0-9]*\\.?[0-9]+ *%s *)+", unit);
    snprintf(range, sizeof range, "^ *(0|%s)( *\\.\\. *%s)? *$", dur, dur);
    json_object_set_new(d, "expr", json_pack("{s:s, s:s, s:s}", "type", "string", "pattern", "\\$\\{",
                                             "description", "a ${var} / ${env:NAME} reference, checked after expansion"));
    json_object_set_new(d, "scalar", json_pack("{s:[s,s,s]}", "type", "string", "number", "boolean"));
    json_object_set_new(d, "scalars", any_of2(ref("#/$defs/scalar"), json_pack("{s:s, s:o}", "type", "array", "items", ref("#/$defs/scalar"))));
    json_object_set_new(d, "command", any_of2(json_pack("{s:s}", "type", "string"),
                                              json_pack("{s:s, s:o, s:i}", "type", "array", "items", ref("#/$defs/scalar"), "minItems", 1)));
    json_t *dura = scalar_pattern(range);
    json_array_append_new(json_object_get(dura, "anyOf"), json_pack("{s:i}", "const", 0));
    json_object_set_new(dura, "description", json_string("250ms, 30s, 2m, 1h, 1.5s, 1m30s, 1h2m3s (a range: 100ms..300ms)"));
    json_object_set_new(d, "duration", dura);
    json_object_set_new(d, "rate", scalar_pattern("^ *[0-9]*\\.?[0-9]+ */ *(s|m|min|h) *$"));
    json_t *pct = scalar_pattern("^ *[0-9]*\\.?[0-9]+ *% *$");
    json_array_append_new(json_object_get(pct, "anyOf"), json_pack("{s:s, s:i, s:i}", "type", "number", "minimum", 0, "maximum", 1));
    json_object_set_new(d, "percent", pct);
    json_t *bytes = scalar_pattern("^ *[0-9]*\\.?[0-9]+ *([kKmMgG]([iI]?[bB])?|[bB])? *$");
    json_array_append_new(json_object_get(bytes, "anyOf"), json_pack("{s:s, s:i}", "type", "integer", "minimum", 0));
    json_object_set_new(d, "bytes", bytes);
    json_object_set_new(d, "name", json_pack("{s:s, s:s}", "type", "string", "pattern", "^([a-z0-9-]+|.*\\$\\{.*)$"));
}

/* probes: one kind; the entry's own keys; a scalar-valued kind (load: NAME) has its settings
 * next to it; where an entry stands sets its timing rules */
static void defs_probes(json_t *d)
{
    json_t *pkinds = json_array();
    for (size_t i = 0; probe_kinds[i]; i++) {
        const struct probe_ops *o = probe_kinds[i];
        json_t *props = json_object();
        for (size_t k = 0; plan_probe_keys[k]; k++) {
            const char *key = plan_probe_keys[k];
            json_t *s = !strcmp(key, "every") || !strcmp(key, "for") ? type_schema(PT_DURATION, NULL)
                      : !strcmp(key, "min_evidence") ? type_schema(PT_INT, "evidence needed to pass")
                      : type_schema(PT_STR, NULL);
            json_object_set_new(props, key, s);
        }
        json_t *obj;
        if (o->scalar_valued) {
            json_object_set_new(props, o->name, type_schema(PT_STR, "the name it judges"));
            obj = params_object(o->params, props);
        } else {
            json_object_set_new(props, o->name, params_object(o->params, NULL));
            obj = json_pack("{s:s, s:O, s:b}", "type", "object", "properties", props, "additionalProperties", 0);
        }
        json_object_set_new(obj, "required", json_pack("[s]", o->name));
        json_decref(props);
        json_array_append_new(pkinds, obj);
    }
    json_object_set_new(d, "probe", json_pack("{s:o}", "oneOf", pkinds));
    /* where an entry stands sets its timing rules (plan.c's checks, as far as shapes go) */
    json_t *timed = json_array(), *scalar_kinds = json_array();
    static const char *const tk[] = { "before", "after", "during" };
    for (int a = 0; a < 3; a++)
        for (int b2 = a + 1; b2 < 3; b2++) json_array_append_new(timed, json_pack("{s:[s,s]}", "required", tk[a], tk[b2]));
    for (size_t i = 0; probe_kinds[i]; i++)
        if (probe_kinds[i]->scalar_valued) json_array_append_new(scalar_kinds, json_pack("{s:[s]}", "required", probe_kinds[i]->name));
    json_object_set_new(d, "probe_entry",
                        json_pack("{s:s, s:[o, {s:{s:o}}, {s:{s:[s]}, s:{s:[s]}}]}", "description",
                                  "a probe: one of before:, after:, during: (every: only with during:)", "allOf",
                                  ref("#/$defs/probe"), "not", "anyOf", timed, "if", "required", "every", "then", "required",
                                  "during"));
    json_object_set_new(d, "untimed_probe",
                        json_pack("{s:s, s:[o, {s:{s:[{s:[s]},{s:[s]},{s:[s]}]}}]}", "description",
                                  "a probe whose timing is set by where it stands (no before:/after:/during:)", "allOf",
                                  ref("#/$defs/probe"), "not", "anyOf", "required", "before", "required", "after", "required",
                                  "during"));
    json_object_set_new(d, "steady_probe",
                        json_pack("{s:s, s:[o, {s:{s:o}}]}", "description",
                                  "a steady-state check: a single check, not a window of load", "allOf",
                                  ref("#/$defs/untimed_probe"), "not", "anyOf", scalar_kinds));
}

static json_t *defs(void)
{
    json_t *d = json_object();
    defs_values(d);

    /* targets: one kind, plus pick: */
    static const struct param_spec pick_params[] = {
        { "count", PT_INT, 0, "how many of the matches" },
        { "percent", PT_PERCENT, 0, "what share of the matches" },
        { "seed", PT_INT, 0, "seed of the reproducible choice" },
        { 0 } };
    json_t *tkinds = json_array();
    for (size_t i = 0; target_kinds[i]; i++) {
        json_t *props = json_object();
        json_object_set_new(props, target_kinds[i]->name, params_object(target_kinds[i]->params, NULL));
        json_object_set_new(props, "pick", params_object(pick_params, NULL));
        json_array_append_new(tkinds, json_pack("{s:s, s:o, s:[s], s:b}", "type", "object", "properties", props, "required",
                                                target_kinds[i]->name, "additionalProperties", 0));
    }
    json_object_set_new(d, "target", json_pack("{s:o}", "oneOf", tkinds));
    defs_probes(d);

    /* method steps: the fault kind picks the keys beyond the common ones */
    json_t *fnames = json_array(), *branches = json_array();
    for (size_t i = 0; fault_kinds[i]; i++) {
        const struct fault_ops *f = fault_kinds[i];
        json_array_append_new(fnames, json_string(f->name));
        json_t *props = json_object();
        for (size_t k = 0; plan_step_keys[k]; k++) json_object_set_new(props, plan_step_keys[k], json_true());
        json_t *then = params_object(f->params, props);
        json_decref(props);
        json_array_append_new(branches, json_pack("{s:{s:{s:{s:s}}}, s:o}", "if", "properties", "fault", "const", f->name,
                                                  "then", then));
    }
    json_t *step_props = json_object();
    json_object_set_new(step_props, "name", ref("#/$defs/scalar"));
    json_object_set_new(step_props, "at", type_schema(PT_DURATION, "offset from load start"));
    json_object_set_new(step_props, "fault", json_pack("{s:o, s:s}", "enum", fnames, "description", "the fault kind (faultline list)"));
    json_object_set_new(step_props, "target", type_schema(PT_TARGET, "a target of the plan"));
    json_object_set_new(step_props, "for", type_schema(PT_DURATION, "reverted after this long"));
    json_object_set_new(step_props, "probability", type_schema(PT_PERCENT, "the chance it is injected"));
    json_object_set_new(d, "step", json_pack("{s:s, s:o, s:[s,s], s:o}", "type", "object", "properties", step_props, "required",
                                             "at", "fault", "allOf", branches));

    /* load blocks */
    json_t *lprops = json_object();
    json_object_set_new(lprops, "login", params_object(lg_login_params, NULL));
    json_object_set_new(lprops, "requests", json_pack("{s:s, s:o}", "type", "array", "items", params_object(lg_request_params, NULL)));
    json_object_set_new(d, "load", params_object(lg_block_params, lprops));
    json_decref(lprops);
    return d;
}

/* the schema of one top-level key; NULL for a key this file does not know (a test fails) */
static json_t *top_schema(const char *key)
{
    if (!strcmp(key, "faultline")) return json_pack("{s:[i,s], s:s}", "enum", 1, "1", "description", "the format version");
    if (!strcmp(key, "name")) return ref("#/$defs/name");
    if (!strcmp(key, "description") || !strcmp(key, "require_label")) return ref("#/$defs/scalar");
    if (!strcmp(key, "tags")) return json_pack("{s:s, s:o}", "type", "array", "items", ref("#/$defs/scalar"));
    if (!strcmp(key, "monitor")) /* containers sampled besides the docker targets' (resources.h) */
        return json_pack("{s:s, s:{s:s, s:i}, s:s}", "type", "array", "items", "type", "string", "minLength", 1,
                         "description", "containers (names or ids) whose resources are sampled besides the docker targets'");
    if (!strcmp(key, "duration") || !strcmp(key, "revert_timeout")) return ref("#/$defs/duration");
    if (!strcmp(key, "seed") || !strcmp(key, "max_faults")) return type_schema(PT_INT, NULL);
    if (!strcmp(key, "vars") || !strcmp(key, "secrets"))
        return json_pack("{s:s, s:o, s:{s:s}}", "type", "object", "additionalProperties", ref("#/$defs/scalar"),
                         "propertyNames", "pattern", "^[A-Za-z0-9_.-]+$");
    if (!strcmp(key, "targets"))
        return json_pack("{s:s, s:o, s:{s:s}}", "type", "object", "additionalProperties", ref("#/$defs/target"),
                         "propertyNames", "pattern", "^[a-z0-9-]+$");
    if (!strcmp(key, "services")) {
        static const struct param_spec svc[] = {
            { "name", PT_STR, PARAM_REQUIRED, "name of the managed process" },
            { "run", PT_ARGV, PARAM_REQUIRED, "command to start it" },
            { "env", PT_MAP, 0, "extra environment variables" },
            { "cwd", PT_STR, 0, "working directory" },
            { "ready", PT_MAP, 0, "a probe that passes when it is ready, plus within:" },
            { "stop_timeout", PT_DURATION, 0, "SIGTERM, then SIGKILL after this" },
            { 0 } };
        return json_pack("{s:s, s:o}", "type", "array", "items", params_object(svc, NULL));
    }
    if (!strcmp(key, "load")) return json_pack("{s:s, s:o}", "type", "array", "items", ref("#/$defs/load"));
    if (!strcmp(key, "probes")) return json_pack("{s:s, s:o}", "type", "array", "items", ref("#/$defs/probe_entry"));
    if (!strcmp(key, "steady_state")) return json_pack("{s:s, s:o}", "type", "array", "items", ref("#/$defs/steady_probe"));
    if (!strcmp(key, "stop_when")) return json_pack("{s:s, s:o}", "type", "array", "items", ref("#/$defs/untimed_probe"));
    if (!strcmp(key, "method")) return json_pack("{s:s, s:o}", "type", "array", "items", ref("#/$defs/step"));
    if (!strcmp(key, "rollback")) {
        static const struct param_spec ex[] = {
            { "run", PT_ARGV, PARAM_REQUIRED, "command" }, { "timeout", PT_DURATION, 0, "kill it after this long" }, { 0 } };
        json_t *props = json_object();
        json_object_set_new(props, "exec", params_object(ex, NULL));
        return json_pack("{s:s, s:{s:s, s:o, s:[s], s:b}}", "type", "array", "items", "type", "object", "properties", props,
                         "required", "exec", "additionalProperties", 0);
    }
    if (!strcmp(key, "matrix")) {
        static const struct param_spec mx[] = {
            { "lose", PT_STRLIST, PARAM_REQUIRED, "target names to lose, in turn" },
            { "choose", PT_INT, 0, "1 = every single loss (N-1), 2 = every pair (N-2)" }, { 0 } };
        return params_object(mx, NULL);
    }
    return NULL;
}

int cmd_schema(int argc, char **argv)
{
    static const struct option opts[] = { { "output", required_argument, 0, 'o' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'h') { fputs(schema_usage, stdout); return 0; }
        else { fputs(schema_usage, stderr); return FL_EXIT_INVALID; }
    }
    json_t *props = json_object();
    for (size_t i = 0; plan_top_keys[i]; i++) {
        json_t *s = top_schema(plan_top_keys[i]);
        if (!s) {
            fprintf(stderr, "faultline: schema: the top-level key '%s' has no schema (cmd_schema.c)\n", plan_top_keys[i]);
            json_decref(props);
            return 1;
        }
        json_object_set_new(props, plan_top_keys[i], s);
    }
    json_t *schema = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:[s,s], s:b, s:o}", "$schema",
                               "https://json-schema.org/draft/2020-12/schema", "$id", "https://faultline.invalid/plan-1.schema.json",
                               "title", "faultline plan, format version 1", "description",
                               "Generated by `faultline schema` from the tables `faultline validate` uses.", "type", "object",
                               "properties", props, "required", "faultline", "name", "additionalProperties", 0, "$defs", defs());
    char *text = json_dumps(schema, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(schema);
    int rc = 0;
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) { fprintf(stderr, "faultline: cannot write '%s'\n", out); rc = FL_EXIT_INVALID; }
    else {
        fprintf(f, "%s\n", text);
        if (out && fclose(f) != 0) { fprintf(stderr, "faultline: cannot write '%s'\n", out); rc = FL_EXIT_INVALID; }
    }
    free(text);
    return rc;
}
