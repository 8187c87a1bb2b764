/* harness.h -- a tiny test harness: TEST() registers, each test runs forked with a timeout.
 *
 *   TEST(parse_duration) { ASSERT_EQ_INT(fl_parse_ms("2s"), 2000); }
 *   TEST_T(slow_thing, 60) { ... }            -- 60 s timeout instead of the default 30 s
 *
 * Assertions print both sides and end the test (the forked child) with a failure.
 * SKIP("why") ends it as skipped; the closing lines count the skips by their "why", so say
 * what is missing and how to get it ("chromium is not installed (apt-get install chromium)").
 * With FL_REQUIRE_SERVICES=1 every skip is a failure instead (tests/run.sh sets it when it runs
 * as root with every test package installed: a skip there is a defect).
 * Integration tests ask for the services tests/run.sh started with th_pg_dsn(),
 * th_redis_port(), th_docker_host(): those skip with tests/run.sh's reason when it could not
 * start the service (or fail under FL_REQUIRE_SERVICES=1).
 *
 * Running N tests at once (FL_TEST_JOBS=N, or -jN before the filters): the tests of one file
 * run one after another, in their order; tests of different files may overlap unless their
 * files claim a shared thing. A file claims with one line after its includes:
 *
 *   TEST_FILE_USES("pg redis");   -- exclusive use of these (names are free text: pg, redis,
 *                                    docker, swarm, ...): no other file claiming one overlaps
 *   TEST_FILE_USES("");           -- nothing shared: overlaps with anything
 *   TEST_FILE_USES("alone");      -- nothing else runs meanwhile (timing-bound, CPU-heavy)
 *
 * A file under tests/unit/ that says nothing claims nothing; any other file that says
 * nothing runs alone (safe for new integration tests; declare what it shares to let it overlap).
 * The end prints the ten slowest tests, then the skip causes, then "N passed, N failed, N skipped".
 */
#ifndef FL_HARNESS_H
#define FL_HARNESS_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <math.h>

typedef void (*th_fn)(void);
void th_register(const char *name, const char *file, th_fn fn, int timeout_s);
void th_file_uses(const char *file, const char *uses);
void th_fail(const char *file, int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
void th_skip(const char *why) __attribute__((noreturn));

#define TEST_T(name, timeout_s)                                                \
    static void test_##name(void);                                           \
    __attribute__((constructor)) static void th_reg_##name(void) {           \
        th_register(#name, __FILE__, test_##name, timeout_s);                \
    }                                                                        \
    static void test_##name(void)
#define TEST(name) TEST_T(name, 30)
#define TEST_FILE_USES(uses)                                                   \
    __attribute__((constructor)) static void th_file_uses_here(void) { th_file_uses(__FILE__, uses); } \
    struct th_file_uses_semicolon

#define ASSERT(c) do { if (!(c)) th_fail(__FILE__, __LINE__, "assertion failed: %s", #c); } while (0)
#define ASSERT_MSG(c, ...) do { if (!(c)) th_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define ASSERT_EQ_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b);     \
    if (_a != _b) th_fail(__FILE__, __LINE__, "%s == %s: got %lld, expected %lld", #a, #b, _a, _b); } while (0)
#define ASSERT_EQ_STR(a, b) do { const char *_a = (a), *_b = (b);                        \
    if (!_a || !_b || strcmp(_a, _b) != 0)                                               \
        th_fail(__FILE__, __LINE__, "%s == %s:\n     got: \"%s\"\n  expect: \"%s\"", #a, #b, \
                _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define ASSERT_CONTAINS(hay, needle) do { const char *_h = (hay), *_n = (needle);         \
    if (!_h || !strstr(_h, _n))                                                          \
        th_fail(__FILE__, __LINE__, "%s contains \"%s\": got \"%s\"", #hay, _n, _h ? _h : "(null)"); } while (0)
#define ASSERT_NEAR(a, b, tol) do { double _a = (a), _b = (b), _t = (tol);               \
    if (!(fabs(_a - _b) <= _t))                                                          \
        th_fail(__FILE__, __LINE__, "%s ~= %s: got %g, expected %g +- %g", #a, #b, _a, _b, _t); } while (0)
#define SKIP(why) th_skip(why)

/* Services started by tests/run.sh (environment), or skip with its reason (FL_TEST_*_WHY). */
const char *th_pg_dsn(void);      /* FL_TEST_PG_DSN, e.g. "host=127.0.0.1 port=55432 dbname=postgres user=postgres" */
int th_pg_port(void);
int th_redis_port(void);          /* FL_TEST_REDIS_PORT */
const char *th_docker_host(void); /* FL_TEST_DOCKER_HOST, e.g. unix:///var/run/docker.sock */
const char *th_faultline(void);   /* path of the built faultline binary (FL_BIN) */
const char *th_build_dir(void);   /* FL_BUILD, default "build" */
/* A fresh temporary directory for this test (removed by the runner afterwards). */
const char *th_tmpdir(void);
/* Run a shell command; returns its exit status (or -1); output captured into out (may be NULL). */
int th_sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Files: the whole of one (malloc'd, NUL-terminated; NULL when it cannot be read), one
 * written (the test fails when it cannot be), and how often needle stands in hay (not
 * overlapping). */
char *th_slurp(const char *path);
void th_write_file(const char *path, const char *text);
int th_count(const char *hay, const char *needle);
/* dir/name written from a printf format (a plan, most often); the test fails when it cannot be */
void th_write_in(const char *dir, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* YAML text (a printf format) parsed into a node tree (node_free() it); the test fails on a
 * parse error. */
struct node;
struct node *th_yaml(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct node *th_vyaml(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* plan text (named t.yaml) that must not load: exactly n diagnostics, in line order, the i-th
 * holding the i-th of the n strings that follow */
void th_plan_errors(const char *text, int n, ...);
/* build/faultline with args, run in dir (journal dir/journal.jsonl), stdout and stderr into
 * out; its exit status. */
int th_fl(const char *dir, const char *args, char *out, size_t outlen);
/* dir/rel (say "out/run.json") parsed; the test fails when it is missing or not JSON. */
json_t *th_json_file(const char *dir, const char *rel);
/* A program (argv[0] a path) started with stdout and stderr appended to log; it dies with the
 * test process (PR_SET_PDEATHSIG). th_stop: SIGTERM, SIGKILL after 5 s; the exit code
 * (128+sig when killed). */
pid_t th_spawn_logged(const char *log, char *const argv[]);
int th_stop(pid_t pid);
/* A free loopback TCP port. */
int th_free_port(void);
/* A process's state letter from /proc/PID/stat (R, S, T, Z, ...; 0 when there is no such
 * process) and, when start is not NULL, its start time (field 22, clock ticks after boot; -1
 * when unreadable). */
char th_proc_state(pid_t pid, long long *start);
/* How many processes' command lines match the pgrep -f pattern (printf-style; write the
 * pattern so that it does not match the shell running it, e.g. '[k]6 run'). */
int th_pgrep(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Skip (or fail under FL_REQUIRE_SERVICES=1) unless program is on PATH: "program is not
 * installed (apt-get install package)". */
void th_need_program(const char *program, const char *package);

#endif
