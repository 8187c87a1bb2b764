/* test_pg_frozen.c -- the `postgres` probe against a PostgreSQL frozen by SIGSTOP (a cluster
 * of the test's own, initdb'd on a free port: the shared one is never frozen): a server that
 * takes the TCP connection and then says nothing makes the check end within its timeout as
 * failed (the system under test did not answer), never a hung run; frozen before the
 * connection is made (the postmaster stopped) and in the middle of the query (the probe's
 * backend stopped, so that its statement_timeout cannot fire either). */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "node.h"
#include "probe.h"
#include "target.h"

TEST_FILE_USES(""); /* its own PostgreSQL */

struct own_pg {
    const char *bin;
    char dir[512];
    int port;
    char dsn[160];
};

static int pg_sh(char *out, size_t n, const char *cmd)
{
    if (getuid() == 0) return th_sh(out, n, "su postgres -s /bin/sh -c \"%s\" 2>&1", cmd);
    return th_sh(out, n, "%s 2>&1", cmd);
}

static void own_pg_up(struct own_pg *pg)
{
    pg->bin = getenv("FL_TEST_PG_BIN");
    if (!pg->bin || !*pg->bin) {
        th_pg_dsn(); /* skips with run.sh's reason when it has none */
        SKIP("FL_TEST_PG_BIN not set (tests/run.sh sets it)");
    }
    snprintf(pg->dir, sizeof pg->dir, "%s/frozenpg", th_tmpdir());
    ASSERT(mkdir(pg->dir, 0700) == 0);
    char cmd[2048], out[4096];
    if (getuid() == 0) ASSERT_EQ_INT(th_sh(out, sizeof out, "chown postgres '%s' '%s'", th_tmpdir(), pg->dir), 0);
    pg->port = th_free_port();
    snprintf(cmd, sizeof cmd, "'%s/initdb' -N -D '%s/data' -U postgres -A trust >/dev/null", pg->bin, pg->dir);
    ASSERT_MSG(pg_sh(out, sizeof out, cmd) == 0, "initdb: %s", out);
    snprintf(cmd, sizeof cmd, "'%s/pg_ctl' -D '%s/data' -w -t 20 -l '%s/log' -o '-c listen_addresses=127.0.0.1 -k %s "
             "-c fsync=off -p %d' start >/dev/null", pg->bin, pg->dir, pg->dir, pg->dir, pg->port);
    ASSERT_MSG(pg_sh(out, sizeof out, cmd) == 0, "pg_ctl start: %s", out);
    snprintf(pg->dsn, sizeof pg->dsn, "host=127.0.0.1 port=%d dbname=postgres user=postgres", pg->port);
}

static pid_t postmaster(const struct own_pg *pg)
{
    char path[600];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", pg->dir);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f && fscanf(f, "%d", &pid) != 1) pid = 0;
    if (f) fclose(f);
    return pid;
}

/* SIGCONT everything of the cluster, then stop it at once */
static void own_pg_down(struct own_pg *pg)
{
    char cmd[1024], out[4096];
    pid_t pm = postmaster(pg);
    if (pm > 0) {
        kill(pm, SIGCONT);
        if (th_sh(out, sizeof out, "ps -o pid= --ppid %d", (int)pm) == 0)
            for (char *p = strtok(out, " \n"); p; p = strtok(NULL, " \n")) kill(atoi(p), SIGCONT);
    }
    snprintf(cmd, sizeof cmd, "'%s/pg_ctl' -D '%s/data' -m immediate -w stop >/dev/null", pg->bin, pg->dir);
    pg_sh(out, sizeof out, cmd);
}

/* a postgres target and a postgres probe, through the drivers' own parse() */
struct rig {
    struct target t;
    struct node *tspec, *pspec;
    struct diag d;
    struct drv_parse pc;
    struct probe_inst pi;
};

static struct target *the_target(void *t, const char *name)
{
    return strcmp(((struct target *)t)->name, name) ? NULL : t;
}

static void rig_make(struct rig *r, const char *dsn, const char *probe_yaml)
{
    memset(r, 0, sizeof *r);
    diag_init(&r->d, "test");
    char y[300];
    snprintf(y, sizeof y, "dsn: \"%s\"\n", dsn);
    r->tspec = node_parse(y, strlen(y), &r->d);
    r->t.name = "db";
    r->t.ops = target_find("postgres");
    r->t.spec = r->tspec;
    ASSERT(r->tspec && r->t.ops && r->t.ops->parse(NULL, &r->t, r->tspec, &r->d) == 0);
    r->pspec = node_parse(probe_yaml, strlen(probe_yaml), &r->d);
    r->pc = (struct drv_parse){ .plan = &r->t, .target = the_target };
    r->pi.ops = probe_find("postgres");
    ASSERT(r->pspec && r->pi.ops);
    ASSERT_MSG(r->pi.ops->parse(&r->pc, r->pspec, NULL, &r->pi.cfg, &r->d) == 0, "parse: %s", r->d.n ? r->d.msgs[0] : "?");
}

static void rig_free(struct rig *r)
{
    r->pi.ops->free_cfg(r->pi.cfg);
    r->t.ops->free(&r->t);
    node_free(r->tspec);
    node_free(r->pspec);
    diag_release(&r->d);
}

struct checked {
    struct rig *r;
    struct probe_obs o;
    int rc;
    int64_t ms;
    char err[FL_ERR_LEN];
};

static void *check_now(void *arg)
{
    struct checked *c = arg;
    memset(&c->o, 0, sizeof c->o);
    int64_t t0 = fl_now_ms();
    c->rc = c->r->pi.ops->check(&c->r->pi, &c->o, c->err);
    c->ms = fl_now_ms() - t0;
    return NULL;
}

/* the pid of the probe's backend once it runs its query, 0 when none within 3 s */
static int probe_backend(PGconn *obs)
{
    for (int i = 0; i < 600; i++) {
        PGresult *res = PQexec(obs, "SELECT pid FROM pg_stat_activity WHERE application_name = 'faultline-probe' "
                                    "AND state = 'active' AND query LIKE 'select pg_sleep%'");
        int pid = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 0;
        PQclear(res);
        if (pid) return pid;
        usleep(5000);
    }
    return 0;
}

/* a process that thaws and stops the cluster when the test ends, however it ends (a hung
 * check killed at the test's timeout included): it waits for the end of a pipe only the
 * test holds. own_pg_keeper_done() ends it and waits for it. */
static pid_t own_pg_keeper(struct own_pg *pg, int *fd)
{
    int p[2];
    ASSERT(pipe(p) == 0);
    pid_t k = fork();
    ASSERT(k >= 0);
    /* a group of its own: the harness ends the test's group when the test ends */
    if (k == 0) {
        setpgid(0, 0);
        close(p[1]);
        char c;
        while (read(p[0], &c, 1) > 0) {}
        own_pg_down(pg);
        _exit(0);
    }
    setpgid(k, k);
    close(p[0]);
    *fd = p[1];
    return k;
}

static void own_pg_keeper_done(pid_t k, int fd)
{
    close(fd);
    int st;
    waitpid(k, &st, 0);
}

TEST_T(pg_probe_against_a_frozen_server_fails_within_its_timeout, 60)
{
    struct own_pg pg;
    own_pg_up(&pg);
    int kfd;
    pid_t keeper = own_pg_keeper(&pg, &kfd);
    struct rig r;
    rig_make(&r, pg.dsn, "target: db\nquery: \"select pg_sleep(0.3), 1\"\ntimeout: 1s\n");
    struct checked alive = { .r = &r }, frozen_pm = { .r = &r }, frozen_q = { .r = &r }, back = { .r = &r };
    check_now(&alive);

    /* the postmaster frozen: the kernel takes the TCP connection, nobody answers it */
    pid_t pm = postmaster(&pg);
    kill(pm, SIGSTOP);
    check_now(&frozen_pm);
    kill(pm, SIGCONT);

    /* the probe's own backend frozen in the middle of its query: no answer, and its
     * statement_timeout cannot fire either */
    PGconn *obs = PQconnectdb(pg.dsn);
    int obs_ok = PQstatus(obs) == CONNECTION_OK;
    pthread_t th;
    pthread_create(&th, NULL, check_now, &frozen_q);
    int backend = obs_ok ? probe_backend(obs) : 0;
    if (backend) kill(backend, SIGSTOP);
    pthread_join(th, NULL);
    if (backend) kill(backend, SIGCONT);
    PQfinish(obs);

    /* thawed: it answers again */
    check_now(&back);
    rig_free(&r);
    own_pg_keeper_done(keeper, kfd);

    ASSERT_MSG(alive.rc == 0 && alive.o.outcome == PROBE_PASSED, "alive: rc %d %s %s", alive.rc, alive.err,
               alive.o.observed);
    /* timeout 1s (+250 ms for the server's own statement_timeout); a hung check would never return */
    ASSERT_MSG(frozen_pm.rc == 0 && frozen_pm.o.outcome == PROBE_FAILED, "postmaster frozen: rc %d %s %s", frozen_pm.rc,
               frozen_pm.err, frozen_pm.o.observed);
    ASSERT_CONTAINS(frozen_pm.o.observed, "no answer within 1000ms: the connection was not answered");
    ASSERT_MSG(frozen_pm.ms >= 1000 && frozen_pm.ms < 2000, "postmaster frozen: the check took %lld ms",
               (long long)frozen_pm.ms);
    ASSERT_MSG(obs_ok && backend, "the probe's backend was not seen running its query");
    ASSERT_MSG(frozen_q.rc == 0 && frozen_q.o.outcome == PROBE_FAILED, "backend frozen: rc %d %s %s", frozen_q.rc,
               frozen_q.err, frozen_q.o.observed);
    ASSERT_CONTAINS(frozen_q.o.observed, "no answer within 1000ms");
    ASSERT_MSG(frozen_q.ms >= 1000 && frozen_q.ms < 2000, "backend frozen: the check took %lld ms", (long long)frozen_q.ms);
    ASSERT_MSG(back.rc == 0 && back.o.outcome == PROBE_PASSED, "thawed: rc %d %s %s", back.rc, back.err, back.o.observed);
}
