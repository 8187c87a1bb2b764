/* load_driver.c -- drives the load engine at one URL for the benchmark (load_bench.sh):
 *   load_driver URL CONNECTIONS SECONDS [RSS_EVERY_S]
 * Closed model, CONNECTIONS virtual users, no think time: the same shape as wrk -c N.
 * Prints one line of key=value figures measured inside the process: requests, rps, p50 and
 * p99 (ms), errors, CPU microseconds per request (getrusage), peak RSS (KiB); with
 * RSS_EVERY_S also the RSS every that many seconds ("rss_kib=a,b,c"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "fl.h"
#include "load.h"

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: load_driver URL CONNECTIONS SECONDS [RSS_EVERY_S]\n");
        return 2;
    }
    const char *url = argv[1];
    const char *slash = strchr(url + strlen("http://"), '/');
    if (strncmp(url, "http://", 7) || !slash) {
        fprintf(stderr, "load_driver: URL must be http://host:port/path\n");
        return 2;
    }
    int conns = atoi(argv[2]);
    int secs = atoi(argv[3]);
    int rss_every = argc > 4 ? atoi(argv[4]) : 0;
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "name: bench\nbase_url: \"%.*s\"\nrequests: [{path: \"%s\"}]\nvus: %d\n",
             (int)(slash - url), url, slash, conns);
    struct diag d;
    diag_init(&d, "bench");
    struct node *n = node_parse(yaml, strlen(yaml), &d);
    struct lg_block_cfg *c = n ? lg_block_parse(NULL, n, &d) : NULL;
    if (!c) {
        fprintf(stderr, "load_driver: %s\n", d.n ? d.msgs[0] : "bad block");
        return 2;
    }
    char err[FL_ERR_LEN];
    struct lg *lg = lg_new(&c, 1, 1, err);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    if (!lg || lg_start(lg, fl_now_ns(), (int64_t)secs * 1000, err) < 0) {
        fprintf(stderr, "load_driver: %s\n", err);
        return 1;
    }
    char rss_series[4096] = "";
    size_t rl = 0;
    for (int t = 1; lg_running(lg); t++) {
        fl_sleep_ms(1000);
        if (rss_every > 0 && t % rss_every == 0 && rl < sizeof rss_series - 32)
            rl += (size_t)snprintf(rss_series + rl, sizeof rss_series - rl, "%s%ld", rl ? "," : "", rss_kib());
    }
    lg_stop(lg);
    getrusage(RUSAGE_SELF, &r1);
    struct lg_stats st;
    lg_query(lg, "bench", 0, lg_elapsed_ms(lg), &st);
    double cpu_us = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1e6 + (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) +
                    (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 + (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
    printf("requests=%llu rps=%.1f p50=%.3f p99=%.3f errors=%llu cpu_us_per_req=%.2f maxrss_kib=%ld%s%s\n",
           (unsigned long long)st.count, st.rps, st.p50, st.p99, (unsigned long long)st.errors,
           st.count ? cpu_us / (double)st.count : 0.0, r1.ru_maxrss, rl ? " rss_kib=" : "", rss_series);
    lg_free(lg);
    lg_block_free(c);
    node_free(n);
    diag_release(&d);
    return 0;
}
