/* test_schema.c -- `faultline schema`: a JSON Schema (2020-12) made from the tables that
 * validate plans, checked with a real validator (Debian's python3-jsonschema): it accepts
 * every plan of plans/, the reference plan and the starter plans of `faultline init`, and
 * rejects every broken plan of tests/plans/bad/ a schema can see (the others are listed in
 * tests/plans/bad/SCHEMA-SEMANTIC, and must then be accepted). */
#include <stdio.h>
#include <string.h>
#include "harness.h"

TEST_T(schema_checks_plans_with_a_real_validator, 120)
{
    th_need_program("/usr/bin/python3", "python3");
    static char out[1 << 18];
    if (th_sh(out, sizeof out, "/usr/bin/python3 -c 'import jsonschema, yaml' 2>&1") != 0)
        SKIP("python3-jsonschema and python3-yaml are not installed (apt-get install python3-jsonschema python3-yaml)");
    const char *d = th_tmpdir();
    int rc = th_sh(out, sizeof out, "'%s' schema -o '%s/faultline.schema.json' 2>&1 && "
                   "'%s' init --compose tests/fixtures/compose/residency.yml -o '%s/users.yaml' >/dev/null 2>&1 && "
                   "'%s' init --compose tests/fixtures/compose/minimal.yml -o '%s/minimal.yaml' >/dev/null 2>&1",
                   th_faultline(), d, th_faultline(), d, th_faultline(), d);
    ASSERT_MSG(rc == 0, "exit %d: %s", rc, out);
    rc = th_sh(out, sizeof out, "/usr/bin/python3 tests/tools/schema_check.py '%s/faultline.schema.json' --valid plans/*.yaml "
               "plans/*/*.yaml docs/plan-reference.yaml '%s/users.yaml' '%s/minimal.yaml' --invalid tests/plans/bad/*.yaml "
               "--semantic tests/plans/bad/SCHEMA-SEMANTIC 2>&1", d, d, d);
    ASSERT_MSG(rc == 0, "schema_check exit %d:\n%s", rc, out);
    ASSERT_CONTAINS(out, " 0 surprises");
    /* the tables are in it: every fault kind, a driver's own key, the compound durations */
    rc = th_sh(out, sizeof out, "cat '%s/faultline.schema.json'", d);
    ASSERT_CONTAINS(out, "\"https://json-schema.org/draft/2020-12/schema\"");
    ASSERT_CONTAINS(out, "\"docker.stop\"");
    ASSERT_CONTAINS(out, "\"swarm.drain\"");
    ASSERT_CONTAINS(out, "\"max_latency\"");
    ASSERT_CONTAINS(out, "1m30s");
    /* a misspelt key in a plan is one the schema refuses, with the path */
    rc = th_sh(out, sizeof out, "printf 'faultline: 1\\nname: x\\nduraton: 1m\\n' > '%s/typo.yaml' && /usr/bin/python3 "
               "tests/tools/schema_check.py '%s/faultline.schema.json' --invalid '%s/typo.yaml' 2>&1", d, d, d);
    ASSERT_MSG(rc == 0, "%s", out);
    ASSERT_CONTAINS(out, "duraton");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' schema --help", th_faultline()), 0);
    ASSERT_CONTAINS(out, "yaml-language-server");
}
