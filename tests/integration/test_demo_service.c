/* test_demo_service.c -- the demo scheduler (build/scheduler-api) against real PostgreSQL and
 * Redis: every endpoint's status and JSON shape, bearer auth, the ACGME answers on seeded
 * and posted cases, generation through the worker, fail-fast degradation, recovery, and the
 * planted defects. Each test makes its own database and kills its children at the end (they
 * also die with the test process, through PR_SET_PDEATHSIG, when an assertion ends it). */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fl.h"

TEST_FILE_USES("pg redis"); /* a database of its own in the shared PostgreSQL, and the shared Redis */

#define SEED_START "2025-07-07"
#define SEED_END "2025-08-03"

/* ---- helpers ------------------------------------------------------------------------------ */
static const char *api_bin(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/scheduler-api", th_build_dir());
    if (access(path, X_OK) != 0) SKIP("build/scheduler-api not built");
    return path;
}

struct demo_db { char name[64]; char dsn[1200]; };

static PGconn *pg_admin(void)
{
    PGconn *c = PQconnectdb(th_pg_dsn());
    ASSERT_MSG(PQstatus(c) == CONNECTION_OK, "connect %s: %s", th_pg_dsn(), PQerrorMessage(c));
    return c;
}

static void sql_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ASSERT_MSG(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
               PQerrorMessage(c));
    PQclear(r);
}

static void db_create(struct demo_db *d, const char *base_dsn, int base_port)
{
    static int n;
    snprintf(d->name, sizeof d->name, "demo_%d_%d", (int)getpid(), n++);
    char dsn[1024];
    if (base_port) snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d dbname=postgres user=postgres", base_port);
    else snprintf(dsn, sizeof dsn, "%s", base_dsn);
    PGconn *c = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", d->name);
    sql_ok(c, sql);
    PQfinish(c);
    /* a repeated keyword in a conninfo string: the last one wins */
    snprintf(d->dsn, sizeof d->dsn, "%s dbname=%s", dsn, d->name);
}

static void db_drop(const struct demo_db *d)
{
    PGconn *c = pg_admin();
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", d->name);
    sql_ok(c, sql);
    PQfinish(c);
}

static long long sql_count(const char *dsn, const char *sql)
{
    PGconn *c = PQconnectdb(dsn);
    ASSERT_MSG(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ASSERT_MSG(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

static int run_cmd(char *const argv[])
{
    char log[512];
    snprintf(log, sizeof log, "%s/cmd.log", th_tmpdir());
    pid_t pid = th_spawn_logged(log, argv);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void init_db(const char *dsn)
{
    char *argv[] = { (char *)api_bin(), "init-db", "--pg", (char *)dsn, NULL };
    ASSERT_EQ_INT(run_cmd(argv), 0);
}

struct resp { long status; char *body; json_t *json; int64_t ms; };

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf_add(ud, p, size * n);
    return size * n;
}

/* one request; status 0 when the transfer failed (timeout, refused) */
static struct resp http(const char *method, int port, const char *path, const char *ctype, const char *body,
                        const char *bearer, long timeout_ms)
{
    struct resp r = { 0 };
    struct buf b;
    buf_init(&b, 32u << 20);
    char url[1024], auth[4096], ct[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    else if (strcmp(method, "POST") == 0) curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    int64_t t0 = fl_now_ms();
    if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    r.ms = fl_now_ms() - t0;
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    r.body = buf_detach(&b);
    r.json = json_loads(r.body, 0, NULL);
    return r;
}

static struct resp get(int port, const char *path) { return http("GET", port, path, NULL, NULL, NULL, 10000); }

static void resp_free(struct resp *r)
{
    free(r->body);
    json_decref(r->json);
}

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void wait_healthy(int port, pid_t pid)
{
    for (int i = 0; i < 100; i++) {
        struct resp r = http("GET", port, "/health", NULL, NULL, NULL, 500);
        long st = r.status;
        resp_free(&r);
        if (st == 200) return;
        int ws;
        ASSERT_MSG(waitpid(pid, &ws, WNOHANG) == 0, "scheduler-api exited early (see %s)", th_tmpdir());
        usleep(50000);
    }
    ASSERT_MSG(0, "scheduler-api on port %d never answered /health", port);
}

static pid_t serve(int port, const char *dsn, int redis_port, const char *defect)
{
    char p[16], rd[64], log[512];
    snprintf(p, sizeof p, "%d", port);
    snprintf(rd, sizeof rd, "127.0.0.1:%d", redis_port);
    snprintf(log, sizeof log, "%s/serve-%d.log", th_tmpdir(), port);
    char *argv[] = { (char *)api_bin(), "serve", "--port", p, "--pg", (char *)dsn, "--redis", rd,
                     defect ? "--defect" : NULL, (char *)defect, NULL };
    pid_t pid = th_spawn_logged(log, argv);
    wait_healthy(port, pid);
    return pid;
}

/* A listener that never accepts: the kernel completes the handshake and then nothing
 * answers, as with a frozen (SIGSTOP) server. */
static int blackhole(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 64) == 0 &&
           getsockname(fd, (struct sockaddr *)&a, &l) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* a case: people "r1".."rN" (PGY given) + "f1".."fM", blocks one per (date, AM/PM) */
struct kase { json_t *people, *blocks, *asg; };

static void case_init(struct kase *k)
{
    k->people = json_array();
    k->blocks = json_array();
    k->asg = json_array();
}

static void case_person(struct kase *k, const char *id, const char *type, int pgy)
{
    json_array_append_new(k->people, json_pack("{s:s, s:s, s:s, s:o}", "id", id, "name", id, "type", type,
                                               "pgy_level", pgy ? json_integer(pgy) : json_null()));
}

static void case_assign(struct kase *k, const char *person, const char *date, const char *tod)
{
    char bid[64];
    snprintf(bid, sizeof bid, "b-%s-%s", date, tod);
    int have = 0;
    size_t i;
    json_t *v;
    json_array_foreach(k->blocks, i, v) if (strcmp(jstr(v, "id"), bid) == 0) have = 1;
    if (!have)
        json_array_append_new(k->blocks, json_pack("{s:s, s:s, s:s}", "id", bid, "date", date, "time_of_day", tod));
    json_array_append_new(k->asg, json_pack("{s:s, s:s}", "block_id", bid, "person_id", person));
}

static char *case_dump(struct kase *k)
{
    json_t *o = json_pack("{s:o, s:o, s:o}", "people", k->people, "blocks", k->blocks, "assignments", k->asg);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void day_add(const char *start, int add, char out[11])
{
    struct tm tm = { 0 };
    strptime(start, "%Y-%m-%d", &tm);
    tm.tm_mday += add;
    tm.tm_hour = 12;
    timegm(&tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static struct resp post_case(int port, struct kase *k)
{
    char *body = case_dump(k);
    struct resp r = http("POST", port, "/api/v1/schedule/validate", "application/json", body, NULL, 10000);
    free(body);
    return r;
}

/* ---- tests ---------------------------------------------------------------------------------- */
TEST(demo_schema_file_matches_embedded)
{
    char out[16384], file[16384];
    const char *files[2] = { "examples/scheduler/schema.sql", "examples/scheduler/schema-uuid.sql" };
    const char *opts[2] = { "", " --schema uuid" };
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' schema%s", api_bin(), opts[i]), 0);
        FILE *f = fopen(files[i], "r");
        ASSERT_MSG(f, "%s: %s", files[i], strerror(errno));
        size_t n = fread(file, 1, sizeof file - 1, f);
        file[n] = '\0';
        fclose(f);
        ASSERT_EQ_STR(out, file);
    }
}

TEST(demo_command_line)
{
    char out[8192];
    const char *cmds[] = { "serve", "worker", "init-db" };
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' %s --help", api_bin(), cmds[i]), 0);
        ASSERT_CONTAINS(out, "usage: scheduler-api");
        ASSERT_CONTAINS(out, cmds[i]);
    }
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' serve --port 1 --pg x --redis nope 2>&1", api_bin()), 2);
    ASSERT_CONTAINS(out, "HOST:PORT");
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' serve --defect sometimes 2>&1", api_bin()), 2);
    ASSERT_EQ_INT(th_sh(out, sizeof out, "'%s' frobnicate 2>&1", api_bin()), 2);
}

TEST_T(demo_endpoints_and_auth, 60)
{
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    init_db(d.dsn);
    init_db(d.dsn); /* idempotent */
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(*) FROM people"), 26);
    long long nasg = sql_count(d.dsn, "SELECT count(*) FROM assignments");
    ASSERT(nasg > 0);
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(DISTINCT date) FROM blocks"), 28);

    setenv("SCHEDULER_SECRET_KEY", "demo-test-signing-key", 1);
    int port = th_free_port();
    pid_t api = serve(port, d.dsn, th_redis_port(), NULL);

    struct resp r = get(port, "/health");
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(jstr(r.json, "status"), "healthy");
    resp_free(&r);

    r = get(port, "/api/v1/health/ready");
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(jstr(r.json, "status"), "ready");
    ASSERT_EQ_STR(jstr(r.json, "database"), "ok");
    ASSERT_EQ_STR(jstr(r.json, "redis"), "ok");
    resp_free(&r);

    r = get(port, "/api/v1/people");
    ASSERT_EQ_INT(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    ASSERT_EQ_INT(json_array_size(items), 26);
    int residents = 0, faculty = 0, pgy1 = 0;
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) {
        ASSERT(jstr(v, "id") && jstr(v, "name"));
        if (strcmp(jstr(v, "type"), "resident") == 0) {
            residents++;
            ASSERT(json_is_integer(json_object_get(v, "pgy_level")));
            pgy1 += json_integer_value(json_object_get(v, "pgy_level")) == 1;
        } else {
            ASSERT_EQ_STR(jstr(v, "type"), "faculty");
            ASSERT(json_is_null(json_object_get(v, "pgy_level")));
            faculty++;
        }
    }
    ASSERT_EQ_INT(residents, 20);
    ASSERT_EQ_INT(faculty, 6);
    ASSERT_EQ_INT(pgy1, 8);
    resp_free(&r);

    /* login: form-encoded like OAuth2PasswordRequestForm */
    r = http("POST", port, "/api/v1/auth/login", "application/x-www-form-urlencoded",
             "username=admin&password=wrong", NULL, 5000);
    ASSERT_EQ_INT(r.status, 401);
    resp_free(&r);
    r = http("POST", port, "/api/v1/auth/login", "application/x-www-form-urlencoded",
             "username=admin&password=admin-password", NULL, 5000);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(jstr(r.json, "token_type"), "bearer");
    char *token = fl_strdup(jstr(r.json, "access_token"));
    resp_free(&r);
    ASSERT(strlen(token) > 20);

    /* the token is an HS256 JWT: check its signature with openssl */
    char *dot = strrchr(token, '.');
    ASSERT(dot);
    char sig[256];
    ASSERT_EQ_INT(th_sh(sig, sizeof sig,
                        "printf '%%s' '%.*s' | openssl dgst -sha256 -hmac demo-test-signing-key -binary | "
                        "base64 | tr '+/' '-_' | tr -d '=\\n'",
                        (int)(dot - token), token),
                  0);
    ASSERT_EQ_STR(sig, dot + 1);

    const char *range = "/api/v1/assignments?start_date=" SEED_START "&end_date=2025-07-13";
    r = get(port, range);
    ASSERT_EQ_INT(r.status, 401);
    resp_free(&r);
    r = http("GET", port, range, NULL, NULL, "not-a-token", 5000);
    ASSERT_EQ_INT(r.status, 401);
    resp_free(&r);
    char *forged = fl_strdup(token);
    forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
    r = http("GET", port, range, NULL, NULL, forged, 5000);
    ASSERT_EQ_INT(r.status, 401);
    resp_free(&r);
    free(forged);
    r = http("GET", port, range, NULL, NULL, token, 5000);
    ASSERT_EQ_INT(r.status, 200);
    items = json_object_get(r.json, "items");
    ASSERT(json_array_size(items) > 0);
    ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "total")), json_array_size(items));
    ASSERT_EQ_INT(json_array_size(items),
                  sql_count(d.dsn, "SELECT count(*) FROM assignments a JOIN blocks b ON b.id = a.block_id "
                                   "WHERE b.date BETWEEN '2025-07-07' AND '2025-07-13'"));
    json_array_foreach(items, i, v) {
        ASSERT(jstr(v, "id") && jstr(v, "block_id") && jstr(v, "person_id"));
        ASSERT(strcmp(jstr(v, "date"), SEED_START) >= 0 && strcmp(jstr(v, "date"), "2025-07-13") <= 0);
        ASSERT(strcmp(jstr(v, "time_of_day"), "AM") == 0 || strcmp(jstr(v, "time_of_day"), "PM") == 0);
    }
    resp_free(&r);
    free(token);

    /* validation of the seeded (compliant) schedule */
    r = get(port, "/api/v1/schedule/validate?start_date=" SEED_START "&end_date=" SEED_END);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_true(json_object_get(r.json, "valid")));
    ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "total_violations")), 0);
    ASSERT_EQ_INT(json_array_size(json_object_get(r.json, "violations")), 0);
    resp_free(&r);
    r = get(port, "/api/v1/schedule/validate?start_date=2025-07-07");
    ASSERT_EQ_INT(r.status, 422);
    resp_free(&r);
    r = get(port, "/api/v1/nothing-here");
    ASSERT_EQ_INT(r.status, 404);
    resp_free(&r);
    r = http("DELETE", port, "/api/v1/people", NULL, NULL, NULL, 5000);
    ASSERT_EQ_INT(r.status, 405);
    resp_free(&r);

    /* a seeded schedule made non-compliant in the database is reported */
    PGconn *c = PQconnectdb(d.dsn);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    sql_ok(c, "DELETE FROM assignments WHERE block_id = 'blk-2025-07-08-AM' AND role = 'supervising'");
    PQfinish(c);
    r = get(port, "/api/v1/schedule/validate?start_date=" SEED_START "&end_date=" SEED_END);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_false(json_object_get(r.json, "valid")));
    ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "total_violations")), 1);
    json_t *viol = json_array_get(json_object_get(r.json, "violations"), 0);
    ASSERT_EQ_STR(jstr(viol, "type"), "SUPERVISION_RATIO_VIOLATION");
    ASSERT_EQ_STR(jstr(viol, "block_id"), "blk-2025-07-08-AM");
    ASSERT(json_is_null(json_object_get(viol, "person_id")));
    resp_free(&r);

    ASSERT_EQ_INT(th_stop(api), 0); /* SIGTERM: clean exit */
    db_drop(&d);
}

TEST_T(demo_validate_posted_cases, 60)
{
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    init_db(d.dsn);
    int port = th_free_port();
    pid_t api = serve(port, d.dsn, th_redis_port(), NULL);
    char day[11];

    /* 1-in-7: r1 works 7 consecutive days (2030-01-07 is a Monday), faculty present */
    struct kase k;
    case_init(&k);
    case_person(&k, "r1", "resident", 2);
    case_person(&k, "r2", "resident", 1);
    case_person(&k, "f1", "faculty", 0);
    for (int i = 0; i < 7; i++) {
        day_add("2030-01-07", i, day);
        case_assign(&k, "r1", day, "AM");
        case_assign(&k, "f1", day, "AM");
    }
    for (int i = 0; i < 6; i++) { /* r2: 6 days, compliant */
        day_add("2030-01-07", i, day);
        case_assign(&k, "r2", day, "PM");
        case_assign(&k, "f1", day, "PM");
    }
    struct resp r = post_case(port, &k);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_false(json_object_get(r.json, "valid")));
    ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "total_violations")), 1);
    json_t *v = json_array_get(json_object_get(r.json, "violations"), 0);
    ASSERT_EQ_STR(jstr(v, "type"), "1_IN_7_VIOLATION");
    ASSERT_EQ_STR(jstr(v, "person_id"), "r1");
    ASSERT(json_is_null(json_object_get(v, "block_id")));
    ASSERT(jstr(v, "severity") && jstr(v, "message"));
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(v, "details"), "consecutive_days")), 7);
    resp_free(&r);
    /* the posted case was stored and removed: nothing outside the live scope remains */
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT (SELECT count(*) FROM people WHERE scope <> '') + "
                                   "(SELECT count(*) FROM blocks WHERE scope <> '') + "
                                   "(SELECT count(*) FROM assignments WHERE scope <> '')"),
                  0);

    /* 80 hours: 53 half-days in 28 days pass, 54 fail (weekdays and weekends alike, so the
     * resident also breaks 1-in-7: checked apart) */
    for (int half_days = 53; half_days <= 54; half_days++) {
        case_init(&k);
        case_person(&k, "r1", "resident", 3);
        case_person(&k, "f1", "faculty", 0);
        for (int n = 0; n < half_days; n++) {
            day_add("2031-03-03", n / 2, day);
            case_assign(&k, "r1", day, n % 2 ? "PM" : "AM");
            case_assign(&k, "f1", day, n % 2 ? "PM" : "AM");
        }
        r = post_case(port, &k);
        ASSERT_EQ_INT(r.status, 200);
        int hours80 = 0, one_in_7 = 0;
        size_t i;
        json_array_foreach(json_object_get(r.json, "violations"), i, v) {
            hours80 += strcmp(jstr(v, "type"), "80_HOUR_VIOLATION") == 0;
            one_in_7 += strcmp(jstr(v, "type"), "1_IN_7_VIOLATION") == 0;
        }
        ASSERT_MSG(hours80 == (half_days == 54), "%d half-days: %d 80-hour violations: %s", half_days, hours80, r.body);
        ASSERT_EQ_INT(one_in_7, 1);
        ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "total_violations")), hours80 + one_in_7);
        resp_free(&r);
    }

    /* supervision: 3 PGY-1 + 1 PGY-2 = 7 units -> 2 faculty; one is one short on a weekday,
     * and the same on a Saturday is skipped (the live service's default) */
    case_init(&k);
    case_person(&k, "p1", "resident", 1);
    case_person(&k, "p2", "resident", 1);
    case_person(&k, "p3", "resident", 1);
    case_person(&k, "q1", "resident", 2);
    case_person(&k, "f1", "faculty", 0);
    case_person(&k, "f2", "faculty", 0);
    const char *who[] = { "p1", "p2", "p3", "q1", "f1" };
    for (int i = 0; i < 5; i++) {
        case_assign(&k, who[i], "2032-06-01", "AM"); /* Tuesday: f1 alone */
        case_assign(&k, who[i], "2032-06-05", "AM"); /* Saturday */
        case_assign(&k, who[i], "2032-06-02", "PM"); /* Wednesday, with f2 below: enough */
    }
    case_assign(&k, "f2", "2032-06-02", "PM");
    r = post_case(port, &k);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "total_violations")), 1);
    v = json_array_get(json_object_get(r.json, "violations"), 0);
    ASSERT_EQ_STR(jstr(v, "type"), "SUPERVISION_RATIO_VIOLATION");
    ASSERT_EQ_STR(jstr(v, "block_id"), "b-2032-06-01-AM");
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(v, "details"), "required_faculty")), 2);
    resp_free(&r);

    /* repeated assignment ids and assignments naming unknown people or blocks: the ids do
     * not matter, the unknown references are ignored */
    case_init(&k);
    case_person(&k, "r1", "resident", 2);
    case_person(&k, "f1", "faculty", 0);
    for (int i = 0; i < 7; i++) {
        day_add("2030-01-07", i, day);
        case_assign(&k, "r1", day, "AM");
        case_assign(&k, "f1", day, "AM");
        case_assign(&k, "ghost", day, "AM");
    }
    json_array_append_new(k.asg, json_pack("{s:s, s:s}", "block_id", "no-such-block", "person_id", "r1"));
    size_t ai;
    json_array_foreach(k.asg, ai, v) json_object_set_new(v, "id", json_string("same"));
    r = post_case(port, &k);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "total_violations")), 1);
    ASSERT_EQ_STR(jstr(json_array_get(json_object_get(r.json, "violations"), 0), "type"), "1_IN_7_VIOLATION");
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(r.json, "statistics"), "total_assignments")), 14);
    resp_free(&r);

    /* a compliant case, and malformed ones */
    case_init(&k);
    case_person(&k, "r1", "resident", 1);
    case_person(&k, "f1", "faculty", 0);
    case_assign(&k, "r1", "2033-01-03", "AM");
    case_assign(&k, "f1", "2033-01-03", "AM");
    r = post_case(port, &k);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_true(json_object_get(r.json, "valid")));
    resp_free(&r);
    r = http("POST", port, "/api/v1/schedule/validate", "application/json", "{\"people\": 3}", NULL, 5000);
    ASSERT_EQ_INT(r.status, 422);
    resp_free(&r);
    r = http("POST", port, "/api/v1/schedule/validate", "application/json",
             "{\"people\":[{\"id\":\"x\",\"type\":\"nurse\"}],\"blocks\":[],\"assignments\":[]}", NULL, 5000);
    ASSERT_EQ_INT(r.status, 422);
    ASSERT_CONTAINS(jstr(r.json, "detail"), "type");
    resp_free(&r);

    ASSERT_EQ_INT(th_stop(api), 0);
    db_drop(&d);
}

TEST_T(demo_generate_through_worker, 60)
{
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    init_db(d.dsn);
    int port = th_free_port();
    pid_t api = serve(port, d.dsn, th_redis_port(), NULL);
    char rd[64], log[512];
    snprintf(rd, sizeof rd, "127.0.0.1:%d", th_redis_port());
    snprintf(log, sizeof log, "%s/worker.log", th_tmpdir());
    char *wargv[] = { (char *)api_bin(), "worker", "--pg", d.dsn, "--redis", rd, NULL };

    /* queued before any worker runs: it waits in Redis */
    struct resp r = http("POST", port, "/api/v1/schedule/generate", "application/json",
                         "{\"start_date\":\"2026-01-05\",\"end_date\":\"2026-01-18\"}", NULL, 5000);
    ASSERT_EQ_INT(r.status, 202);
    ASSERT_EQ_STR(jstr(r.json, "status"), "queued");
    char *job = fl_strdup(jstr(r.json, "job_id"));
    resp_free(&r);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/schedule/jobs/%s", job);
    r = get(port, path);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(jstr(r.json, "job_id"), job);
    ASSERT_EQ_STR(jstr(r.json, "status"), "queued");
    resp_free(&r);

    pid_t worker = th_spawn_logged(log, wargv);
    const char *status = NULL;
    long long written = 0;
    for (int i = 0; i < 200; i++) {
        r = get(port, path);
        ASSERT_EQ_INT(r.status, 200);
        status = jstr(r.json, "status");
        if (status && strcmp(status, "done") == 0) {
            written = json_integer_value(json_object_get(r.json, "assignments"));
            resp_free(&r);
            break;
        }
        resp_free(&r);
        usleep(50000);
    }
    ASSERT_MSG(written > 0, "job %s never done (see %s/worker.log)", job, th_tmpdir());
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(*) FROM assignments a JOIN blocks b ON b.id = a.block_id "
                                   "WHERE b.date BETWEEN '2026-01-05' AND '2026-01-18'"),
                  written);
    r = get(port, "/api/v1/schedule/validate?start_date=2026-01-05&end_date=2026-01-18");
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_true(json_object_get(r.json, "valid")));
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_object_get(r.json, "statistics"), "total_assignments")),
                  written);
    resp_free(&r);

    r = get(port, "/api/v1/schedule/jobs/00000000-0000-4000-8000-000000000000");
    ASSERT_EQ_INT(r.status, 404);
    resp_free(&r);
    r = http("POST", port, "/api/v1/schedule/generate", "application/json",
             "{\"start_date\":\"2026-02-10\",\"end_date\":\"2026-01-01\"}", NULL, 5000);
    ASSERT_EQ_INT(r.status, 422);
    resp_free(&r);

    ASSERT_EQ_INT(th_stop(worker), 0);
    ASSERT_EQ_INT(th_stop(api), 0);
    free(job);
    db_drop(&d);
}

TEST_T(demo_redis_down_fails_fast, 30)
{
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    init_db(d.dsn);
    int port = th_free_port(), dead = th_free_port();
    pid_t api = serve(port, d.dsn, dead, NULL);
    struct resp r = get(port, "/api/v1/health/ready");
    ASSERT_EQ_INT(r.status, 503);
    ASSERT_EQ_STR(jstr(r.json, "database"), "ok");
    ASSERT_EQ_STR(jstr(r.json, "redis"), "unavailable");
    ASSERT_MSG(r.ms < 3000, "readiness took %lld ms", (long long)r.ms);
    resp_free(&r);
    r = http("POST", port, "/api/v1/schedule/generate", NULL, NULL, NULL, 10000);
    ASSERT_EQ_INT(r.status, 503);
    ASSERT_MSG(r.ms < 3000, "generate took %lld ms", (long long)r.ms);
    resp_free(&r);
    r = get(port, "/api/v1/people"); /* reads do not need Redis */
    ASSERT_EQ_INT(r.status, 200);
    resp_free(&r);
    ASSERT_EQ_INT(th_stop(api), 0);
    db_drop(&d);
}

TEST_T(demo_reads_fail_fast_and_defects, 60)
{
    int hole_port;
    int hole = blackhole(&hole_port);
    char frozen[256], closed[256];
    snprintf(frozen, sizeof frozen, "host=127.0.0.1 port=%d dbname=x user=postgres", hole_port);
    snprintf(closed, sizeof closed, "host=127.0.0.1 port=%d dbname=x user=postgres", th_free_port());
    const char *validate = "/api/v1/schedule/validate?start_date=" SEED_START "&end_date=" SEED_END;

    /* healthy build: 503 within 3 s, both for a refused and for a silent database */
    const char *dsns[] = { closed, frozen };
    for (int i = 0; i < 2; i++) {
        int port = th_free_port();
        pid_t api = serve(port, dsns[i], th_redis_port(), NULL);
        const char *paths[] = { "/api/v1/people", validate, "/api/v1/health/ready" };
        for (int j = 0; j < 3; j++) {
            struct resp r = get(port, paths[j]);
            ASSERT_MSG(r.status == 503, "%s (%s): status %ld", paths[j], i ? "frozen" : "closed", r.status);
            ASSERT_MSG(r.ms < 3000, "%s (%s) took %lld ms", paths[j], i ? "frozen" : "closed", (long long)r.ms);
            resp_free(&r);
        }
        struct resp r = get(port, "/health"); /* static, as the real service */
        ASSERT_EQ_INT(r.status, 200);
        resp_free(&r);
        ASSERT_EQ_INT(th_stop(api), 0);
    }

    /* --defect valid-on-timeout: the failed read turns into "valid" */
    int port = th_free_port();
    pid_t api = serve(port, frozen, th_redis_port(), "valid-on-timeout");
    struct resp r = get(port, validate);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_true(json_object_get(r.json, "valid")));
    resp_free(&r);
    ASSERT_EQ_INT(th_stop(api), 0);

    /* --defect hang-reads: the same read hangs well past the healthy bound */
    port = th_free_port();
    api = serve(port, closed, th_redis_port(), "hang-reads");
    r = http("GET", port, "/api/v1/people", NULL, NULL, NULL, 6000);
    ASSERT_MSG(r.ms >= 5000, "hang-reads answered %ld in %lld ms", r.status, (long long)r.ms);
    resp_free(&r);
    r = get(port, "/api/v1/health/ready"); /* readiness stays honest and fast */
    ASSERT_EQ_INT(r.status, 503);
    ASSERT(r.ms < 3000);
    resp_free(&r);
    ASSERT_EQ_INT(th_stop(api), 0); /* a SIGTERM ends the hanging reads too */
    close(hole);
}

/* A PostgreSQL of our own, to freeze, stop and restart under the service. */
static void pg_sh(const char *fmt, const char *a, const char *b, int port)
{
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b, port);
    int rc = getuid() == 0 ? th_sh(out, sizeof out, "su postgres -s /bin/sh -c \"%s\" 2>&1", cmd)
                           : th_sh(out, sizeof out, "%s 2>&1", cmd);
    ASSERT_MSG(rc == 0, "%s: %s", cmd, out);
}

static pid_t pg_pid(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int pid = 0;
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
    return pid;
}

static void pg_start(const char *bin, const char *dir, int port)
{
    pg_sh("'%s/pg_ctl' -D '%s/data' -w -t 20 -l /dev/null -o '-c listen_addresses=127.0.0.1 -k /tmp -c fsync=off -p %d' "
          "start >/dev/null",
          bin, dir, port);
}

/* SIGSTOP / SIGCONT the postmaster and all its children */
static void pg_signal_all(const char *dir, int sig)
{
    char out[4096];
    pid_t pm = pg_pid(dir);
    ASSERT(pm > 0);
    kill(pm, sig);
    ASSERT_EQ_INT(th_sh(out, sizeof out, "ps -o pid= --ppid %d", (int)pm), 0);
    for (char *p = strtok(out, " \n"); p; p = strtok(NULL, " \n")) kill(atoi(p), sig);
}

TEST_T(demo_recovers_after_database_freeze_and_restart, 90)
{
    const char *bin = getenv("FL_TEST_PG_BIN");
    if (!bin || !*bin) SKIP("FL_TEST_PG_BIN not set (tests/run.sh sets it)");
    th_pg_dsn();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/pg2", th_tmpdir());
    mkdir(dir, 0700);
    if (getuid() == 0) {
        char out[256];
        ASSERT_EQ_INT(th_sh(out, sizeof out, "chown postgres '%s' '%s'", th_tmpdir(), dir), 0);
    }
    int pgport = th_free_port();
    pg_sh("'%s/initdb' -D '%s/data' -U postgres -A trust >/dev/null%.0d", bin, dir, 0);
    pg_start(bin, dir, pgport);
    struct demo_db d;
    db_create(&d, NULL, pgport);
    init_db(d.dsn);
    int port = th_free_port();
    pid_t api = serve(port, d.dsn, th_redis_port(), NULL);
    struct resp r = get(port, "/api/v1/people");
    ASSERT_EQ_INT(r.status, 200);
    resp_free(&r);

    /* frozen: pooled connections and new ones both time out */
    pg_signal_all(dir, SIGSTOP);
    for (int i = 0; i < 3; i++) {
        r = get(port, "/api/v1/people");
        ASSERT_EQ_INT(r.status, 503);
        ASSERT_MSG(r.ms < 3000, "frozen read took %lld ms", (long long)r.ms);
        resp_free(&r);
    }
    pg_signal_all(dir, SIGCONT);
    r = get(port, "/api/v1/people");
    ASSERT_EQ_INT(r.status, 200);
    resp_free(&r);

    /* stopped and restarted: stale pooled connections are replaced */
    pg_sh("'%s/pg_ctl' -D '%s/data' -m fast -w stop >/dev/null%.0d", bin, dir, 0);
    r = get(port, "/api/v1/schedule/validate?start_date=" SEED_START "&end_date=" SEED_END);
    ASSERT_EQ_INT(r.status, 503);
    ASSERT(r.ms < 3000);
    resp_free(&r);
    pg_start(bin, dir, pgport);
    r = get(port, "/api/v1/schedule/validate?start_date=" SEED_START "&end_date=" SEED_END);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_true(json_object_get(r.json, "valid")));
    resp_free(&r);
    r = get(port, "/api/v1/health/ready");
    ASSERT_EQ_INT(r.status, 200);
    resp_free(&r);

    ASSERT_EQ_INT(th_stop(api), 0);
    pg_sh("'%s/pg_ctl' -D '%s/data' -m immediate -w stop >/dev/null%.0d", bin, dir, 0);
}

/* poll a job until it reaches the status or the tries run out; returns the last status */
static char *job_wait(int port, const char *path, const char *want, int tries)
{
    char *status = NULL;
    for (int i = 0; i < tries; i++) {
        struct resp r = get(port, path);
        free(status);
        status = fl_strdup(r.status == 200 && jstr(r.json, "status") ? jstr(r.json, "status") : "(none)");
        resp_free(&r);
        if (strcmp(status, want) == 0) break;
        usleep(50000);
    }
    return status;
}

TEST_T(demo_job_survives_killed_worker, 60)
{
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    init_db(d.dsn);
    int port = th_free_port();
    pid_t api = serve(port, d.dsn, th_redis_port(), NULL);
    char rd[64], log[512];
    snprintf(rd, sizeof rd, "127.0.0.1:%d", th_redis_port());
    snprintf(log, sizeof log, "%s/worker.log", th_tmpdir());
    /* the first worker "computes" for a long time: it is killed while the job is running */
    char *slow[] = { (char *)api_bin(), "worker", "--pg", d.dsn, "--redis", rd, "--job-delay", "20s", NULL };
    char *fast[] = { (char *)api_bin(), "worker", "--pg", d.dsn, "--redis", rd, NULL };
    struct resp r = http("POST", port, "/api/v1/schedule/generate", "application/json",
                         "{\"start_date\":\"2027-03-01\",\"end_date\":\"2027-03-07\"}", NULL, 5000);
    ASSERT_EQ_INT(r.status, 202);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/schedule/jobs/%s", jstr(r.json, "job_id"));
    resp_free(&r);

    pid_t w1 = th_spawn_logged(log, slow);
    char *st = job_wait(port, path, "running", 100);
    ASSERT_EQ_STR(st, "running");
    free(st);
    kill(w1, SIGKILL);
    int ws;
    waitpid(w1, &ws, 0);
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(*) FROM blocks WHERE date BETWEEN '2027-03-01' AND '2027-03-07'"), 0);

    pid_t w2 = th_spawn_logged(log, fast);
    st = job_wait(port, path, "done", 200);
    ASSERT_MSG(strcmp(st, "done") == 0, "job status %s after the worker restart (see %s)", st, th_tmpdir());
    free(st);
    r = get(port, path);
    ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "attempts")), 2);
    ASSERT(json_integer_value(json_object_get(r.json, "assignments")) > 0);
    resp_free(&r);
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(*) FROM blocks WHERE date BETWEEN '2027-03-01' AND '2027-03-07'"), 14);
    ASSERT_EQ_INT(th_stop(w2), 0);
    ASSERT_EQ_INT(th_stop(api), 0);
    db_drop(&d);
}

/* `--schema uuid` (the real service's models): uuid ids everywhere, a block_number with no
 * default, a unique email; the API, the worker and the validator work on it unchanged, and
 * a posted case whose ids are not UUIDs is refused (422) as the real service would */
TEST_T(demo_uuid_schema, 60)
{
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    char *iargv[] = { (char *)api_bin(), "init-db", "--pg", d.dsn, "--schema", "uuid", NULL };
    ASSERT_EQ_INT(run_cmd(iargv), 0);
    ASSERT_EQ_INT(run_cmd(iargv), 0); /* idempotent */
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(*) FROM information_schema.columns WHERE table_name IN "
                                   "('people', 'blocks', 'assignments') AND column_name IN ('id', 'block_id', 'person_id') "
                                   "AND data_type = 'uuid'"),
                  5);
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(*) FROM assignments"), sql_count(d.dsn, "SELECT count(*) FROM assignments "
                                                                                           "WHERE id::text <> ''"));
    ASSERT(sql_count(d.dsn, "SELECT count(*) FROM assignments") > 0);
    int port = th_free_port();
    char p[16], rd[64], log[512];
    snprintf(p, sizeof p, "%d", port);
    snprintf(rd, sizeof rd, "127.0.0.1:%d", th_redis_port());
    snprintf(log, sizeof log, "%s/serve-uuid.log", th_tmpdir());
    char *sargv[] = { (char *)api_bin(), "serve", "--port", p, "--pg", d.dsn, "--redis", rd, "--schema", "uuid", NULL };
    pid_t api = th_spawn_logged(log, sargv);
    wait_healthy(port, api);
    /* the seed schedule validates (it is compliant), read through uuid ids */
    struct resp r = get(port, "/api/v1/schedule/validate?start_date=2025-07-07&end_date=2025-08-03");
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_true(json_object_get(r.json, "valid")));
    ASSERT(json_integer_value(json_object_get(json_object_get(r.json, "statistics"), "total_assignments")) > 0);
    resp_free(&r);
    r = get(port, "/api/v1/people");
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_INT(strlen(jstr(json_array_get(json_object_get(r.json, "items"), 0), "id")), 36);
    resp_free(&r);
    /* a posted case: ids must be UUIDs */
    struct kase k;
    case_init(&k);
    case_person(&k, "r1", "resident", 2);
    case_person(&k, "f1", "faculty", 0);
    case_assign(&k, "r1", "2030-01-07", "AM");
    r = post_case(port, &k);
    ASSERT_EQ_INT(r.status, 422);
    ASSERT_CONTAINS(jstr(r.json, "detail"), "not a UUID");
    resp_free(&r);
    const char *body = "{\"people\": [{\"id\": \"11111111-2222-4333-8444-555555555555\", \"name\": \"R\", \"type\": \"resident\","
                       " \"pgy_level\": 1}], \"blocks\": [{\"id\": \"aaaaaaaa-2222-4333-8444-555555555555\", \"date\": \"2030-01-05\","
                       " \"time_of_day\": \"AM\"}], \"assignments\": [{\"id\": \"x\", \"block_id\": \"aaaaaaaa-2222-4333-8444-555555555555\","
                       " \"person_id\": \"11111111-2222-4333-8444-555555555555\", \"role\": \"primary\"}]}";
    r = http("POST", port, "/api/v1/schedule/validate", "application/json", body, NULL, 10000);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT(json_is_true(json_object_get(r.json, "valid"))); /* a weekend block: not checked */
    resp_free(&r);
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT (SELECT count(*) FROM people WHERE scope <> '') + "
                                   "(SELECT count(*) FROM blocks WHERE scope <> '')"),
                  0);
    /* the worker writes a generated schedule with uuid ids */
    char wlog[512];
    snprintf(wlog, sizeof wlog, "%s/worker-uuid.log", th_tmpdir());
    char *wargv[] = { (char *)api_bin(), "worker", "--pg", d.dsn, "--redis", rd, "--schema", "uuid", NULL };
    pid_t worker = th_spawn_logged(wlog, wargv);
    r = http("POST", port, "/api/v1/schedule/generate", "application/json",
             "{\"start_date\":\"2026-04-06\",\"end_date\":\"2026-04-12\"}", NULL, 5000);
    ASSERT_EQ_INT(r.status, 202);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/schedule/jobs/%s", jstr(r.json, "job_id"));
    resp_free(&r);
    long long written = 0;
    for (int i = 0; i < 200 && !written; i++) {
        r = get(port, path);
        if (jstr(r.json, "status") && !strcmp(jstr(r.json, "status"), "done"))
            written = json_integer_value(json_object_get(r.json, "assignments"));
        resp_free(&r);
        usleep(50000);
    }
    ASSERT_MSG(written > 0, "the job never finished (see %s)", th_tmpdir());
    ASSERT_EQ_INT(sql_count(d.dsn, "SELECT count(*) FROM blocks WHERE date BETWEEN '2026-04-06' AND '2026-04-12' "
                                   "AND block_number = 1"),
                  14);
    ASSERT_EQ_INT(th_stop(worker), 0);
    ASSERT_EQ_INT(th_stop(api), 0);
    db_drop(&d);
}

/* /metrics: requests by route, method and status and the latency histogram, in a text that
 * Prometheus's own checker (promtool, Debian's prometheus) accepts */
TEST_T(demo_metrics_endpoint_counts_routes_and_statuses, 60)
{
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    init_db(d.dsn);
    setenv("SCHEDULER_SECRET_KEY", "demo-test-signing-key", 1);
    int port = th_free_port();
    pid_t api = serve(port, d.dsn, th_redis_port(), NULL);
    for (int i = 0; i < 3; i++) { struct resp r = get(port, "/health"); resp_free(&r); }
    struct resp r = get(port, "/api/v1/people");
    long people_status = r.status;
    ASSERT(people_status >= 200);
    resp_free(&r);
    r = get(port, "/no/such/path");
    resp_free(&r);
    r = get(port, "/api/v1/schedule/jobs/abc");
    resp_free(&r);
    r = get(port, "/metrics");
    th_stop(api);
    db_drop(&d);
    ASSERT_EQ_INT(r.status, 200);
    const char *t = r.body;
    ASSERT_CONTAINS(t, "http_requests_total{handler=\"/health\",method=\"GET\",status=\"200\"} 4\n"); /* 3 + the readiness wait */
    char want[160];
    snprintf(want, sizeof want, "http_requests_total{handler=\"/api/v1/people\",method=\"GET\",status=\"%ld\"} 1\n", people_status);
    ASSERT_CONTAINS(t, want);
    ASSERT_CONTAINS(t, "http_requests_total{handler=\"other\",method=\"GET\",status=\"404\"} 1\n");
    ASSERT_CONTAINS(t, "handler=\"/api/v1/schedule/jobs/{job_id}\"");
    ASSERT_CONTAINS(t, "http_request_duration_seconds_bucket{handler=\"/health\",method=\"GET\",status=\"200\",le=\"+Inf\"} 4\n");
    ASSERT_CONTAINS(t, "http_request_duration_seconds_count{handler=\"/health\",method=\"GET\",status=\"200\"} 4\n"); /* 3 + the readiness wait */
    ASSERT_MSG(!strstr(t, "handler=\"/metrics\""), "/metrics counts itself");
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.txt", th_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs(t, f);
    fclose(f);
    th_need_program("promtool", "prometheus");
    char out[4096];
    int rc = th_sh(out, sizeof out, "promtool check metrics < '%s' 2>&1", path);
    ASSERT_MSG(rc == 0, "promtool refuses the text: %s", out);
    resp_free(&r);
}

/* a Prometheus (Debian's) that scrapes the demo's /metrics every second, and a plan whose
 * PromQL probe judges the service by its own figures: the share of 5xx answers of
 * /api/v1/people stays low in the steady state, and the probe fails while the database link
 * (faultline's proxy between the API and PostgreSQL) is down */
TEST_T(demo_metrics_scraped_by_prometheus_fail_a_promql_probe_during_a_fault, 120)
{
    th_need_program("prometheus", "prometheus");
    struct demo_db d;
    db_create(&d, th_pg_dsn(), 0);
    init_db(d.dsn);
    setenv("SCHEDULER_SECRET_KEY", "demo-test-signing-key", 1);
    int link = th_free_port(), port = th_free_port(), pport = th_free_port();
    char dsn[1400];
    snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d dbname=%s user=postgres connect_timeout=2", link, d.name);
    pid_t api = serve(port, dsn, th_redis_port(), NULL);

    const char *dir = th_tmpdir();
    char cfg[600], data[600], listen[64], cfgarg[700], dataarg[700], log[600];
    snprintf(cfg, sizeof cfg, "%s/prometheus.yml", dir);
    FILE *f = fopen(cfg, "w");
    ASSERT(f != NULL);
    fprintf(f, "global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: api\n"
               "    static_configs: [ { targets: [\"127.0.0.1:%d\"] } ]\n", port);
    fclose(f);
    snprintf(data, sizeof data, "%s/tsdb", dir);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", pport);
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
    snprintf(log, sizeof log, "%s/prometheus.log", dir);
    char *pargv[] = { "/usr/bin/prometheus", cfgarg, dataarg, listen, NULL };
    pid_t prom = th_spawn_logged(log, pargv);

    char plan[4096];
    snprintf(plan, sizeof plan,
             "faultline: 1\nname: demo-promql\nduration: 22s\n"
             "vars: { prom: \"http://127.0.0.1:%d\", ratio: '(sum(rate(http_requests_total{handler=\"/api/v1/people\",status=~\"5..\"}[4s])) or vector(0)) / sum(rate(http_requests_total{handler=\"/api/v1/people\"}[4s]))' }\n"
             "targets: { pglink: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } } }\n"
             "load:\n  - { name: readers, base_url: \"http://127.0.0.1:%d\", requests: [ { method: GET, path: /api/v1/people } ], vus: 2, think: 50ms, timeout: 5s }\n"
             "steady_state:\n  - prometheus: { url: \"${prom}\", query: 'up{job=\"api\"}', expect: \"== 1\" }\n"
             "method:\n  - { name: db-down, at: 10s, for: 8s, fault: proxy.reset, target: pglink }\n"
             "probes:\n"
             "  - { name: calm-before, before: db-down, prometheus: { url: \"${prom}\", query: \"${ratio}\", expect: \"< 0.05\" } }\n"
             "  - { name: errors-during, during: db-down, every: 2s, prometheus: { url: \"${prom}\", query: \"${ratio}\", expect: \"max < 0.05\" } }\n",
             pport, link, th_pg_port(), port);
    char pf[700];
    snprintf(pf, sizeof pf, "%s/p.yaml", dir);
    f = fopen(pf, "w");
    ASSERT(f != NULL);
    fputs(plan, f);
    fclose(f);
    /* Prometheus applies its targets a few seconds after it starts: wait for up == 1 */
    char q[256], out[1 << 15];
    int up = 0;
    for (int i = 0; i < 200 && !up; i++) {
        snprintf(q, sizeof q, "curl -s 'http://127.0.0.1:%d/api/v1/query?query=up' | grep -q '\"1\"'", pport);
        if (!(up = th_sh(NULL, 0, "%s", q) == 0)) usleep(100000);
    }
    int rc = up ? th_sh(out, sizeof out, "cd '%s' && FAULTLINE_JOURNAL=j.jsonl '%s' run p.yaml -o out 2>&1", dir,
                        th_faultline())
                : -1;
    th_stop(prom);
    th_stop(api);
    db_drop(&d);
    ASSERT_MSG(up, "Prometheus never scraped the API (see %s)", log);
    ASSERT_MSG(rc == 1, "the probe during the fault fails the run; got %d:\n%s", rc, out);
    ASSERT_MSG(!strstr(out, "REVERT FAILED"), "a revert that worked is reported failed:\n%s", out);
    char rj[700];
    snprintf(rj, sizeof rj, "%s/out/run.json", dir);
    json_t *r = json_load_file(rj, 0, NULL);
    ASSERT(r != NULL);
    ASSERT(json_is_true(json_object_get(json_object_get(r, "steady_state"), "held_before")));
    size_t i;
    json_t *p;
    int seen = 0;
    json_array_foreach(json_object_get(r, "probes"), i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *v = json_string_value(json_object_get(p, "verdict"));
        if (!strcmp(name, "calm-before")) { ASSERT_MSG(!strcmp(v, "passed"), "calm-before %s:\n%s", v, out); seen++; }
        if (!strcmp(name, "errors-during")) { ASSERT_MSG(!strcmp(v, "failed"), "errors-during %s:\n%s", v, out); seen++; }
    }
    ASSERT_EQ_INT(seen, 2);
    json_decref(r);
}
