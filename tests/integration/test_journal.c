/* test_journal.c -- the write-ahead journal and reconciling rollback, as review-1 found them
 * wanting: an abandoned revert's notes, journals of older versions, reconcile that leaves
 * alone what someone else changed, durability of a fresh .faultline. */
#include <hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "testsrv.h"

TEST_FILE_USES("redis"); /* changes the shared Redis's maxmemory */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_MSG(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* faultline with args in dir, its journal there; its exit code */
static int fl(const char *dir, const char *args, char *out, size_t outlen)
{
    return th_sh(out, outlen, "cd '%s' && FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' %s 2>&1", dir, dir, th_faultline(), args);
}

static int lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* review-1 #4: a revert abandoned at revert_timeout goes on after run_plan freed the steps
   and closed the journal; its progress note must still land in the journal (the process
   lives on: a slow --notify), so rollback knows the revert command ran */
TEST_T(journal_abandoned_revert_still_notes_its_progress, 60)
{
    struct testsrv *srv = testsrv_start(0);
    ASSERT(srv);
    const char *d = th_tmpdir();
    char plan[1024], path[512], out[8192], args[512];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: abandoned\nduration: 2s\nrevert_timeout: 1s\n"
             "method:\n  - { name: slow, at: 200ms, for: 300ms, fault: exec, run: [\"true\"],"
             " revert: [sh, -c, \"sleep 2; echo x >> '%s/ran'\"] }\n", d);
    snprintf(path, sizeof path, "%s/p.yaml", d);
    write_file(path, plan);
    snprintf(args, sizeof args, "run p.yaml -q -o out --notify 'http://127.0.0.1:%d/delay?ms=3500'", testsrv_port(srv));
    int rc = fl(d, args, out, sizeof out);
    ASSERT_MSG(rc == 4, "exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/ran", d);
    ASSERT_EQ_INT(lines_in(path), 1);                 /* the abandoned revert did finish */
    char jp[512];
    snprintf(jp, sizeof jp, "%s/journal.jsonl", d);
    char grep[1024];
    int g = th_sh(grep, sizeof grep, "grep -c '\"phase\":\"revert\"' '%s'", jp);
    ASSERT_MSG(g == 0, "the abandoned revert's note is not in the journal:\n%s", out);
    rc = fl(d, "rollback", out, sizeof out);
    ASSERT_MSG(rc == 0, "rollback exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "already ran");
    ASSERT_EQ_INT(lines_in(path), 1);                 /* not run a second time */
    testsrv_stop(srv);
}
