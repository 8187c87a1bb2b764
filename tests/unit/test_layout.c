/* test_layout.c -- the house stands on its floors (docs/HACKING.md, Layout): no #include or
 * call from a folder up or across a floor, no circle between files, no prototype of a shared
 * function written in a .c file (scripts/layers.sh over the built objects), and no function
 * over 120 lines (scripts/funcsize.sh). Each prints what breaks the rule, file and line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

TEST_FILE_USES("");

/* the script's exit code; its output in out */
static int script(char *out, size_t outlen, const char *cmd)
{
    return th_sh(out, outlen, "%s 2>&1", cmd);
}

TEST(layout_floors)
{
    char out[65536], cmd[512];
    /* the objects of the build the tests run from (build/ or build-asan/) */
    snprintf(cmd, sizeof cmd, "LAYERS_ALLOW=scripts/layers.allow sh scripts/layers.sh %s", th_build_dir());
    int rc = script(out, sizeof out, cmd);
    ASSERT_MSG(rc == 0, "the floors are broken:\n%s", out);
    ASSERT_MSG(strstr(out, "layers: ok") != NULL, "%s", out);
}

TEST(layout_function_sizes)
{
    char out[16384];
    int rc = script(out, sizeof out, "FUNCSIZE_ALLOW=scripts/funcsize.allow sh scripts/funcsize.sh 120");
    ASSERT_MSG(rc == 0, "functions over 120 lines:\n%s", out);
}

/* the checks can fail: an include up a floor, a circle and a long function are each caught */
TEST(layout_checks_can_fail)
{
    char out[16384], cmd[2048], top[512];
    const char *tmp = th_tmpdir();
    ASSERT(getcwd(top, sizeof top) != NULL); /* tests run from the top of the tree */
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir -p core faults orchestrator && "
             "printf '#include \"plan.h\"\\n' > core/low.c && printf '/* */\\n' > orchestrator/plan.h && "
             "printf 'int f(void);\\nint g(void) { return f(); }\\n' > faults/hand.c && "
             "sh %s/scripts/layers.sh",
             tmp, top);
    ASSERT_EQ_INT(script(out, sizeof out, cmd), 1);
    ASSERT_MSG(strstr(out, "layers: up (include): core/low.c includes orchestrator/plan.h") != NULL, "%s", out);
    ASSERT_MSG(strstr(out, "layers: hand: faults/hand.c:1: int f(void);") != NULL, "%s", out);
    ASSERT_MSG(strstr(out, "layers: 2 violation(s)") != NULL, "%s", out);

    FILE *f = NULL;
    char path[600];
    snprintf(path, sizeof path, "%s/long.c", tmp);
    f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs("/* long.c */\nint long_one(void)\n{\n    int x = 0;\n", f);
    for (int i = 0; i < 130; i++) fputs("    x++;\n", f);
    fputs("    return x;\n}\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "sh scripts/funcsize.sh 120 %s", path);
    ASSERT_EQ_INT(script(out, sizeof out, cmd), 1);
    ASSERT_MSG(strstr(out, "  135 ") != NULL && strstr(out, "long_one") != NULL, "%s", out);
}
