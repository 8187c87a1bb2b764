/* test_iso_c.c -- the files review-1 #15 found using GNU C (a ?: b, __atomic builtins) stay
 * ISO C11: gcc -std=c11 -Wpedantic -Werror accepts them, and no __atomic builtin is used
 * (<stdatomic.h> is the C11 way). */
#include <stdio.h>
#include "harness.h"

static const char *const files[] = { "orchestrator/journal.c", "faults/exec.c", "faults/postgres.c", NULL };

TEST(iso_c11_no_gnu_extensions_in_the_journal_files)
{
    char out[8192];
    for (int i = 0; files[i]; i++) {
        int rc = th_sh(out, sizeof out,
                       "gcc -std=c11 -D_GNU_SOURCE -Wpedantic -Werror -fsyntax-only -Icore -Itargets -Iorchestrator -Ifaults -Iprobes "
                       "-Ireports $(pkg-config --cflags libcurl libpq hiredis yaml-0.1 jansson) '%s' 2>&1", files[i]);
        ASSERT_MSG(rc == 0, "%s is not ISO C11:\n%s", files[i], out);
        rc = th_sh(out, sizeof out, "grep -n '__atomic' '%s'", files[i]);
        ASSERT_MSG(rc != 0, "%s uses a GNU __atomic builtin (use <stdatomic.h>):\n%s", files[i], out);
    }
}
