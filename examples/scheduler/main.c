/* main.c -- scheduler-api: the demo service's command line (serve, worker, init-db, schema). */
#include "sched.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void sched_log(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    pthread_mutex_lock(&log_mu);
    fprintf(stderr, "scheduler-api[%d] %02d:%02d:%02d %s\n", (int)getpid(), tm.tm_hour, tm.tm_min, tm.tm_sec, msg);
    pthread_mutex_unlock(&log_mu);
}

static const char usage_main[] =
    "usage: scheduler-api <command> [options]   (the faultline demo \"Residency Scheduler\")\n"
    "\n"
    "commands:\n"
    "  serve     run the REST API (GET /health, /api/v1/...)\n"
    "  worker    take schedule-generation jobs from Redis and write them to PostgreSQL\n"
    "  init-db   create the schema and the demo data (idempotent)\n"
    "  schema    print the schema SQL that init-db applies\n"
    "\n"
    "`scheduler-api <command> --help` describes each one; examples/scheduler/README.md has the API.\n";

static const char usage_serve[] =
    "usage: scheduler-api serve --port N --pg DSN --redis HOST:PORT [options]\n"
    "\n"
    "  --port N               TCP port to listen on\n"
    "  --bind ADDR            IPv4 address to listen on (default 127.0.0.1)\n"
    "  --pg DSN               libpq connection string of the scheduler database\n"
    "  --redis HOST:PORT      Redis holding the job queue\n"
    "  --redis-password P     Redis AUTH password (or env SCHEDULER_REDIS_PASSWORD)\n"
    "  --pg-timeout DUR       deadline of one database round, connect or statement (default 1s)\n"
    "  --redis-timeout DUR    Redis connect and command timeout (default 500ms)\n"
    "  --pool N               max PostgreSQL and Redis connections (default 16)\n"
    "  --supervise-weekends   apply the supervision rule to weekend blocks too (default: skipped)\n"
    "  --schema text|uuid     the tables' id type, as init-db made them (default text)\n"
    "  --defect NAME          plant a defect for faultline to catch:\n"
    "                           hang-reads        reads wait up to 30 s for an unreachable\n"
    "                                             database instead of answering 503 at once\n"
    "                           valid-on-timeout  validation answers {\"valid\": true} when its\n"
    "                                             database read fails or times out\n"
    "\n"
    "environment: SCHEDULER_SECRET_KEY (token signing key; random per process when unset),\n"
    "SCHEDULER_{ADMIN,FACULTY,RESIDENT}_PASSWORD, SCHEDULER_TOKEN_TTL (seconds, default 3600).\n"
    "SIGTERM / SIGINT stop it cleanly.\n";

static const char usage_worker[] =
    "usage: scheduler-api worker --pg DSN --redis HOST:PORT [options]\n"
    "\n"
    "  --pg DSN               libpq connection string of the scheduler database\n"
    "  --redis HOST:PORT      Redis holding the job queue (list scheduler:jobs)\n"
    "  --redis-password P     Redis AUTH password (or env SCHEDULER_REDIS_PASSWORD)\n"
    "  --redis-timeout DUR    Redis connect timeout; commands get 2 s more (default 500ms)\n"
    "  --job-delay DUR        pretend each job computes this long before writing (default 0)\n"
    "  --schema text|uuid     the tables' id type, as init-db made them (default text)\n"
    "\n"
    "Jobs whose database write fails are re-queued (30 attempts); jobs left in\n"
    "scheduler:jobs:processing by a killed worker are re-queued when a worker connects.\n"
    "SIGTERM / SIGINT stop it after the job at hand.\n";

static const char usage_init[] =
    "usage: scheduler-api init-db --pg DSN [--no-seed] [--schema text|uuid]\n"
    "\n"
    "  --pg DSN       libpq connection string of an existing database\n"
    "  --no-seed      create the tables only (no demo people, no seed schedule)\n"
    "  --schema uuid  uuid ids, as the real service's models (schema-uuid.sql); default text\n"
    "\n"
    "Creates the tables (examples/scheduler/schema.sql or schema-uuid.sql) and seeds 20 residents (PGY-1/2/3),\n"
    "6 faculty and a compliant schedule for " SCHED_SEED_START " + 27 days. Safe to run again:\n"
    "it rewrites the seed range's generated schedule and keeps everything else.\n";

/* "250ms", "2s", "1.5s", "1m", or a bare number of milliseconds; -1 when invalid */
static int parse_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    double mult = strcmp(end, "ms") == 0 || *end == '\0' ? 1 : strcmp(end, "s") == 0 ? 1000
                                                          : strcmp(end, "m") == 0   ? 60000
                                                                                    : -1;
    if (mult < 0 || v * mult > 3600000) return -1;
    return (int)(v * mult);
}

static int parse_hostport(const char *s, char *host, size_t hl, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hl) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535) return -1;
    *port = (int)p;
    return 0;
}

enum { O_PORT = 1, O_BIND, O_PG, O_REDIS, O_REDIS_PW, O_PG_TIMEOUT, O_REDIS_TIMEOUT, O_POOL, O_WEEKENDS, O_DEFECT,
       O_JOB_DELAY, O_NO_SEED, O_SCHEMA, O_HELP };

static const struct option long_opts[] = {
    { "port", required_argument, NULL, O_PORT },
    { "bind", required_argument, NULL, O_BIND },
    { "pg", required_argument, NULL, O_PG },
    { "redis", required_argument, NULL, O_REDIS },
    { "redis-password", required_argument, NULL, O_REDIS_PW },
    { "pg-timeout", required_argument, NULL, O_PG_TIMEOUT },
    { "redis-timeout", required_argument, NULL, O_REDIS_TIMEOUT },
    { "pool", required_argument, NULL, O_POOL },
    { "supervise-weekends", no_argument, NULL, O_WEEKENDS },
    { "defect", required_argument, NULL, O_DEFECT },
    { "job-delay", required_argument, NULL, O_JOB_DELAY },
    { "no-seed", no_argument, NULL, O_NO_SEED },
    { "schema", required_argument, NULL, O_SCHEMA },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static int bad(const char *usage, const char *fmt, const char *what)
{
    fprintf(stderr, "scheduler-api: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_main, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmdname = argv[1];
    const char *usage = strcmp(cmdname, "serve") == 0    ? usage_serve
                        : strcmp(cmdname, "worker") == 0  ? usage_worker
                        : strcmp(cmdname, "init-db") == 0 ? usage_init
                        : strcmp(cmdname, "schema") == 0  ? "usage: scheduler-api schema [--schema text|uuid]\n"
                                                          : NULL;
    if (!usage) return bad(usage_main, "unknown command '%s'", cmdname);

    static char host[256] = "127.0.0.1";
    struct sched_cfg cfg = { .redis_host = host, .redis_port = 6379, .pg_timeout_ms = 1000, .redis_timeout_ms = 500,
                             .threads = 16 };
    const char *pw = getenv("SCHEDULER_REDIS_PASSWORD");
    cfg.redis_password = pw && *pw ? pw : NULL;
    int job_delay = 0, no_seed = 0, have_redis = 0, o;
    optind = 2;
    while ((o = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (o) {
        case O_PORT:
            cfg.port = atoi(optarg);
            if (cfg.port < 1 || cfg.port > 65535) return bad(usage, "--port '%s' is not a port", optarg);
            break;
        case O_BIND: cfg.bind = optarg; break;
        case O_PG: cfg.pg_dsn = optarg; break;
        case O_REDIS:
            if (parse_hostport(optarg, host, sizeof host, &cfg.redis_port) != 0)
                return bad(usage, "--redis '%s' is not HOST:PORT", optarg);
            have_redis = 1;
            break;
        case O_REDIS_PW: cfg.redis_password = optarg; break;
        case O_PG_TIMEOUT:
            if ((cfg.pg_timeout_ms = parse_ms(optarg)) < 1) return bad(usage, "--pg-timeout '%s' is not a duration", optarg);
            break;
        case O_REDIS_TIMEOUT:
            if ((cfg.redis_timeout_ms = parse_ms(optarg)) < 1)
                return bad(usage, "--redis-timeout '%s' is not a duration", optarg);
            break;
        case O_POOL:
            cfg.threads = atoi(optarg);
            if (cfg.threads < 1 || cfg.threads > 64) return bad(usage, "--pool '%s' must be 1..64", optarg);
            break;
        case O_WEEKENDS: cfg.supervise_weekends = 1; break;
        case O_DEFECT:
            if (strcmp(optarg, "hang-reads") == 0) cfg.defect = DEFECT_HANG_READS;
            else if (strcmp(optarg, "valid-on-timeout") == 0) cfg.defect = DEFECT_VALID_ON_TIMEOUT;
            else if (strcmp(optarg, "none") == 0) cfg.defect = DEFECT_NONE;
            else return bad(usage, "unknown --defect '%s' (hang-reads, valid-on-timeout)", optarg);
            break;
        case O_JOB_DELAY:
            if ((job_delay = parse_ms(optarg)) < 0) return bad(usage, "--job-delay '%s' is not a duration", optarg);
            break;
        case O_NO_SEED: no_seed = 1; break;
        case O_SCHEMA:
            if (strcmp(optarg, "uuid") == 0) sched_uuid_ids = 1;
            else if (strcmp(optarg, "text") == 0) sched_uuid_ids = 0;
            else return bad(usage, "unknown --schema '%s' (text, uuid)", optarg);
            break;
        case 'h':
        case O_HELP: fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) return bad(usage, "unexpected argument '%s'", argv[optind]);

    if (strcmp(cmdname, "schema") == 0) {
        fputs(sched_uuid_ids ? sched_schema_uuid_sql : sched_schema_sql, stdout);
        return 0;
    }
    if (!cfg.pg_dsn) return bad(usage, "%s needs --pg DSN", cmdname);
    if (strcmp(cmdname, "init-db") == 0) {
        char err[FL_ERR_LEN];
        if (gen_init_db(cfg.pg_dsn, no_seed, err) != 0) {
            sched_log("init-db failed: %s", err);
            return 1;
        }
        sched_log("init-db: schema ready%s", no_seed ? "" : ", demo data seeded");
        return 0;
    }
    if (!have_redis) return bad(usage, "%s needs --redis HOST:PORT", cmdname);
    if (strcmp(cmdname, "worker") == 0) return worker_run(&cfg, job_delay);
    if (!cfg.port) return bad(usage, "%s needs --port N", cmdname);
    return api_serve(&cfg);
}
