/* harness.c -- runs registered tests, each forked with a timeout, N at a time when asked
 * (grouped by file, files claiming a shared thing never overlap); prints the ten slowest,
 * the skips by cause and the tally. */
#include "harness.h"
#include "node.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_MAX 2048
#define TH_FILES 256
#define TH_JOBS_MAX 16
#define TH_SKIP_CODE 77
#define TH_WHY_LEN 512

struct th_case { const char *name, *file; th_fn fn; int timeout; };
static struct th_case cases[TH_MAX];
static int ncases;
static struct { const char *file, *uses; } file_uses[TH_FILES];
static int nfile_uses;
static char tmpdir[256];
/* one slot per running test, shared with its child: why it skipped */
static char *why_shm;
static int my_slot;

void th_register(const char *name, const char *file, th_fn fn, int timeout_s)
{
    if (ncases < TH_MAX)
        cases[ncases++] = (struct th_case){ name, file, fn, timeout_s > 0 ? timeout_s : 30 };
}

void th_file_uses(const char *file, const char *uses)
{
    if (nfile_uses < TH_FILES) {
        file_uses[nfile_uses].file = file;
        file_uses[nfile_uses].uses = uses ? uses : "";
        nfile_uses++;
    }
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    _exit(1);
}

static int require_all(void)
{
    const char *req = getenv("FL_REQUIRE_SERVICES");
    return req && strcmp(req, "1") == 0;
}

void th_skip(const char *why)
{
    if (require_all()) {
        fprintf(stdout, "    FL_REQUIRE_SERVICES=1, so a skip fails: %s\n", why);
        fflush(stdout);
        _exit(1);
    }
    fprintf(stdout, "    skipped: %s\n", why);
    fflush(stdout);
    if (why_shm) snprintf(why_shm + (size_t)my_slot * TH_WHY_LEN, TH_WHY_LEN, "%s", why);
    _exit(TH_SKIP_CODE);
}

/* what: "no PostgreSQL"; why_env names tests/run.sh's reason */
static void need(const char *what, const char *why_env)
{
    char msg[TH_WHY_LEN];
    const char *why = getenv(why_env);
    snprintf(msg, sizeof msg, "%s (%s)", what, why && *why ? why : "tests/run.sh did not start it: run make test");
    th_skip(msg);
}

const char *th_pg_dsn(void)
{
    const char *s = getenv("FL_TEST_PG_DSN");
    if (!s || !*s) need("no PostgreSQL", "FL_TEST_PG_WHY");
    return s;
}

int th_pg_port(void)
{
    const char *s = getenv("FL_TEST_PG_PORT");
    if (!s || !*s) need("no PostgreSQL", "FL_TEST_PG_WHY");
    return atoi(s);
}

int th_redis_port(void)
{
    const char *s = getenv("FL_TEST_REDIS_PORT");
    if (!s || !*s) need("no Redis", "FL_TEST_REDIS_WHY");
    return atoi(s);
}

const char *th_docker_host(void)
{
    const char *s = getenv("FL_TEST_DOCKER_HOST");
    if (!s || !*s) need("no Docker engine", "FL_TEST_DOCKER_WHY");
    return s;
}

const char *th_build_dir(void)
{
    const char *s = getenv("FL_BUILD");
    return s && *s ? s : "build";
}

const char *th_faultline(void)
{
    static char path[512];
    const char *s = getenv("FL_BIN");
    if (s && *s) return s;
    /* absolute: tests often run it from a temporary folder */
    char rel[512];
    snprintf(rel, sizeof rel, "%s/faultline", th_build_dir());
    if (!realpath(rel, path)) snprintf(path, sizeof path, "%s", rel);
    return path;
}

const char *th_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/fl-test-XXXXXX");
        if (!mkdtemp(tmpdir)) th_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
    }
    return tmpdir;
}

int th_sh(char *out, size_t outlen, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, p)) > 0) {
        if (out && outlen > 1) {
            size_t c = r < outlen - 1 - n ? r : outlen - 1 - n;
            memcpy(out + n, tmp, c);
            n += c;
        }
    }
    if (out && outlen) out[n] = '\0';
    int st = pclose(p);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *th_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t len = 0, cap = 4096, n;
    char *s = malloc(cap);
    if (!s) abort();
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap && !(s = realloc(s, cap *= 2))) abort();
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

void th_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_MSG(f != NULL, "cannot write %s", path);
    fputs(text, f);
    ASSERT_MSG(fclose(f) == 0, "cannot write %s", path);
}

int th_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

void th_write_in(const char *dir, const char *name, const char *fmt, ...)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ASSERT_MSG(f != NULL, "cannot write %s", path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    ASSERT_MSG(fclose(f) == 0, "cannot write %s", path);
}

struct node *th_vyaml(const char *fmt, va_list ap)
{
    char text[8192];
    int n = vsnprintf(text, sizeof text, fmt, ap);
    ASSERT_MSG(n >= 0 && (size_t)n < sizeof text, "yaml text longer than %zu bytes", sizeof text);
    struct diag d;
    diag_init(&d, "test.yaml");
    struct node *tree = node_parse(text, strlen(text), &d);
    ASSERT_MSG(tree && d.n == 0, "yaml '%s': %s", text, d.n ? d.msgs[0] : "?");
    diag_release(&d);
    return tree;
}

struct node *th_yaml(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct node *tree = th_vyaml(fmt, ap);
    va_end(ap);
    return tree;
}

void th_plan_errors(const char *text, int n, ...)
{
    struct diag d;
    diag_init(&d, "t.yaml");
    struct plan *p = plan_parse("t.yaml", text, strlen(text), NULL, &d);
    ASSERT_MSG(d.n == (size_t)n, "%d errors expected, %zu reported (first: %s)", n, d.n, d.n ? d.msgs[0] : "none");
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        ASSERT_MSG(strstr(d.msgs[i], want), "error %d: \"%s\" does not hold \"%s\"", i + 1, d.msgs[i], want);
    }
    va_end(ap);
    diag_release(&d);
    plan_free(p);
}

int th_fl(const char *dir, const char *args, char *out, size_t outlen)
{
    return th_sh(out, outlen, "cd '%s' && FAULTLINE_JOURNAL='%s/journal.jsonl' '%s' %s 2>&1", dir, dir, th_faultline(),
                 args);
}

json_t *th_json_file(const char *dir, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    ASSERT_MSG(j != NULL, "no JSON at %s: %s", path, e.text);
    return j;
}

pid_t th_spawn_logged(const char *log, char *const argv[])
{
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int th_stop(pid_t pid)
{
    int st = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return 128 + SIGKILL;
}

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        th_fail(__FILE__, __LINE__, "free port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

char th_proc_state(pid_t pid, long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command in parentheses may hold spaces */
    if (!p) return 0;
    char state = p[2];
    if (start) {
        *start = -1;
        p += 2;
        for (int field = 3; field < 22 && p; field++) p = strchr(p + 1, ' ');
        if (p) *start = atoll(p + 1);
    }
    return state;
}

int th_pgrep(const char *fmt, ...)
{
    char pattern[512], out[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pattern, sizeof pattern, fmt, ap);
    va_end(ap);
    if (th_sh(out, sizeof out, "pgrep -f '%s' | wc -l", pattern) != 0) th_fail(__FILE__, __LINE__, "pgrep -f '%s' failed", pattern);
    return atoi(out);
}

void th_need_program(const char *program, const char *package)
{
    if (th_sh(NULL, 0, "command -v '%s' >/dev/null 2>&1", program) == 0) return;
    char msg[TH_WHY_LEN];
    snprintf(msg, sizeof msg, "%s is not installed (apt-get install %s)", program, package);
    th_skip(msg);
}

/* ---- the runner ------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int matches(const struct th_case *c, int nf, char **filters)
{
    if (nf == 0) return 1;
    for (int i = 0; i < nf; i++)
        if (strstr(c->name, filters[i]) || strstr(c->file, filters[i])) return 1;
    return 0;
}

static const char *base_name(const char *file)
{
    const char *b = strrchr(file, '/');
    return b ? b + 1 : file;
}

/* a file's tests, run one after another; uses: what the file claims ("alone", "pg redis", "") */
struct th_group {
    const char *file, *uses;
    int alone;
    int first, n;        /* its cases, in order, as indices into order[] */
    long weight;         /* sum of the timeouts: the long files start first */
    int next, slot;      /* next case to run; the slot running it, -1 none */
};

struct th_running { pid_t pid; int ci, gi, out_fd; double t0; char out_path[64]; };

struct th_result { int ci; double dt; };

static struct th_running running[TH_JOBS_MAX];
static int nrunning_max;

static const char *uses_of(const char *file)
{
    for (int i = nfile_uses - 1; i >= 0; i--)
        if (!strcmp(file_uses[i].file, file)) return file_uses[i].uses;
    return strstr(file, "tests/unit/") || !strncmp(file, "unit/", 5) ? "" : "alone";
}

/* whether the word lists a and b share a word */
static int share_word(const char *a, const char *b)
{
    const char *p = a;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        size_t l = strcspn(p, " ,");
        if (l) {
            const char *q = b;
            while (*q) {
                while (*q == ' ' || *q == ',') q++;
                size_t m = strcspn(q, " ,");
                if (m == l && !strncmp(p, q, l)) return 1;
                q += m;
            }
        }
        p += l;
    }
    return 0;
}

static void kill_running(int sig)
{
    for (int s = 0; s < nrunning_max; s++)
        if (running[s].pid > 0) kill(-running[s].pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void copy_fd(int fd)
{
    char buf[8192];
    ssize_t r;
    lseek(fd, 0, SEEK_SET);
    fflush(stdout);
    while ((r = read(fd, buf, sizeof buf)) > 0)
        if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r) break;
}

/* the lone files first; then the files that claim something (they wait on each other, so the
 * longest chain of claims starts early and files that claim nothing fill the gaps); then the
 * long files first */
static int by_weight(const void *a, const void *b)
{
    const struct th_group *x = a, *y = b;
    if (x->alone != y->alone) return y->alone - x->alone;
    int cx = x->uses[strspn(x->uses, " ,")] != '\0', cy = y->uses[strspn(y->uses, " ,")] != '\0';
    if (cx != cy) return cy - cx;
    return (y->weight > x->weight) - (y->weight < x->weight);
}

static int by_dt(const void *a, const void *b)
{
    const struct th_result *x = a, *y = b;
    return (y->dt > x->dt) - (y->dt < x->dt);
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    char failures[8192] = "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    int jobs = 1;
    const char *je = getenv("FL_TEST_JOBS");
    if (je && *je) jobs = atoi(je);
    char *filters[TH_MAX];
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-j", 2) && argv[i][2]) jobs = atoi(argv[i] + 2);
        else if (nf < TH_MAX) filters[nf++] = argv[i];
    }
    if (jobs < 1) jobs = 1;
    if (jobs > TH_JOBS_MAX) jobs = TH_JOBS_MAX;
    nrunning_max = jobs;

    /* the groups: files in the order their first test registered */
    static int order[TH_MAX];
    static struct th_group groups[TH_FILES];
    int ngroups = 0, nsel = 0;
    for (int i = 0; i < ncases; i++) {
        if (!matches(&cases[i], nf, filters)) continue;
        int g = 0;
        while (g < ngroups && strcmp(groups[g].file, cases[i].file)) g++;
        if (g == ngroups) {
            if (ngroups == TH_FILES) { fprintf(stderr, "tests: more than %d files\n", TH_FILES); return 2; }
            groups[ngroups++] = (struct th_group){ .file = cases[i].file, .uses = uses_of(cases[i].file), .slot = -1 };
            groups[g].alone = share_word(groups[g].uses, "alone");
        }
        groups[g].n++;
        groups[g].weight += cases[i].timeout;
    }
    for (int g = 0; g < ngroups; g++) {
        groups[g].first = nsel;
        for (int i = 0; i < ncases; i++)
            if (!strcmp(cases[i].file, groups[g].file) && matches(&cases[i], nf, filters)) order[nsel++] = i;
    }
    /* one at a time: the registration order, as always; N at a time: long files first */
    if (jobs > 1) qsort(groups, (size_t)ngroups, sizeof groups[0], by_weight);

    why_shm = mmap(NULL, (size_t)TH_JOBS_MAX * TH_WHY_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (why_shm == MAP_FAILED) why_shm = NULL;
    signal(SIGINT, kill_running);
    signal(SIGTERM, kill_running);

    static struct th_result results[TH_MAX];
    int nresults = 0;
    struct { char why[TH_WHY_LEN]; int n; } causes[64];
    int ncauses = 0;
    double t_start = now_s();
    int nrun = 0, done_groups = 0;
    for (int s = 0; s < jobs; s++) running[s].pid = 0;

    while (done_groups < ngroups || nrun > 0) {
        /* start what may start */
        for (int s = 0; s < jobs; s++) {
            if (running[s].pid > 0) continue;
            int pick = -1;
            for (int g = 0; g < ngroups && pick < 0; g++) {
                struct th_group *G = &groups[g];
                if (G->next >= G->n || G->slot >= 0) continue;
                int ok = 1;
                for (int h = 0; h < ngroups && ok; h++) {
                    if (groups[h].slot < 0) continue;
                    if (G->alone || groups[h].alone || share_word(G->uses, groups[h].uses)) ok = 0;
                }
                if (ok) pick = g;
                /* a lone file waits for the others to end; nothing starts beside it meanwhile */
                if (!ok && G->alone) break;
            }
            if (pick < 0) break;
            struct th_group *G = &groups[pick];
            int ci = order[G->first + G->next];
            struct th_case *c = &cases[ci];
            struct th_running *R = &running[s];
            R->ci = ci;
            R->gi = pick;
            R->out_fd = -1;
            if (jobs > 1) {
                snprintf(R->out_path, sizeof R->out_path, "/tmp/fl-test-out-XXXXXX");
                R->out_fd = mkstemp(R->out_path);
                if (R->out_fd >= 0) unlink(R->out_path);
            }
            if (why_shm) why_shm[(size_t)s * TH_WHY_LEN] = '\0';
            fflush(stdout);
            fflush(stderr);
            R->t0 = now_s();
            pid_t pid = fork();
            if (pid == 0) {
                setpgid(0, 0);
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                if (R->out_fd >= 0) {
                    dup2(R->out_fd, 1);
                    dup2(R->out_fd, 2);
                    close(R->out_fd);
                }
                for (int k = 0; k < jobs; k++)
                    if (k != s && running[k].pid > 0 && running[k].out_fd >= 0) close(running[k].out_fd);
                my_slot = s;
                tmpdir[0] = '\0';
                alarm((unsigned)c->timeout);
                signal(SIGALRM, SIG_DFL);
                c->fn();
                if (tmpdir[0]) { char cmd[300]; snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir); if (system(cmd)) {} }
                fflush(stdout);
                _exit(0);
            }
            if (pid < 0) { fprintf(stderr, "tests: fork: %s\n", strerror(errno)); return 2; }
            setpgid(pid, pid);
            R->pid = pid;
            G->slot = s;
            nrun++;
        }

        /* wait for one to end */
        int st = 0;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        int s = 0;
        while (s < jobs && running[s].pid != pid) s++;
        if (s == jobs) continue; /* not one of ours (a grandchild reparented to us does not reach here) */
        struct th_running *R = &running[s];
        kill(-pid, SIGKILL); /* whatever the test left running in its group */
        R->pid = 0;
        nrun--;
        struct th_group *G = &groups[R->gi];
        G->slot = -1;
        if (++G->next >= G->n) done_groups++;
        struct th_case *c = &cases[R->ci];
        double dt = now_s() - R->t0;
        const char *base = base_name(c->file);
        if (R->out_fd >= 0) {
            copy_fd(R->out_fd);
            close(R->out_fd);
        }
        results[nresults++] = (struct th_result){ R->ci, dt };
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            passed++;
            printf("ok   %-48s %6.2fs  (%s)\n", c->name, dt, base);
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == TH_SKIP_CODE) {
            skipped++;
            printf("skip %-48s (%s)\n", c->name, base);
            const char *why = why_shm && why_shm[(size_t)s * TH_WHY_LEN] ? why_shm + (size_t)s * TH_WHY_LEN : "no reason given";
            int k = 0;
            while (k < ncauses && strcmp(causes[k].why, why)) k++;
            if (k == ncauses && ncauses < 64) snprintf(causes[ncauses++].why, TH_WHY_LEN, "%s", why);
            if (k < ncauses) causes[k].n++;
        } else {
            failed++;
            if (WIFSIGNALED(st))
                printf("FAIL %-48s killed by signal %d%s (%s)\n", c->name, WTERMSIG(st),
                       WTERMSIG(st) == SIGALRM ? " (timeout)" : "", base);
            else
                printf("FAIL %-48s (%s)\n", c->name, base);
            size_t l = strlen(failures);
            snprintf(failures + l, sizeof failures - l, "  %s (%s)\n", c->name, base);
        }
    }

    double total = now_s() - t_start;
    qsort(results, (size_t)nresults, sizeof results[0], by_dt);
    if (nresults > 1) {
        printf("\n%d tests in %.1fs, %d at a time; the slowest:\n", nresults, total, jobs);
        for (int i = 0; i < nresults && i < 10; i++)
            printf("  %7.2fs  %s (%s)\n", results[i].dt, cases[results[i].ci].name, base_name(cases[results[i].ci].file));
    }
    if (failed) printf("\nfailed tests:\n%s", failures);
    if (skipped) {
        /* one line: the skips by cause, the most frequent first */
        for (int i = 0; i < ncauses; i++)
            for (int j = i + 1; j < ncauses; j++)
                if (causes[j].n > causes[i].n) {
                    char t[TH_WHY_LEN]; int tn = causes[i].n;
                    memcpy(t, causes[i].why, TH_WHY_LEN);
                    memcpy(causes[i].why, causes[j].why, TH_WHY_LEN);
                    causes[i].n = causes[j].n;
                    memcpy(causes[j].why, t, TH_WHY_LEN);
                    causes[j].n = tn;
                }
        printf("\n%d skipped: ", skipped);
        if (ncauses == 1) printf("%s\n", causes[0].why);
        else
            for (int i = 0; i < ncauses; i++) printf("%d %s%s", causes[i].n, causes[i].why, i + 1 < ncauses ? "; " : "\n");
    }
    printf("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
