/* curl_floor.c -- the leanest libcurl multi loop this bench could write: the floor under
 * any load engine built on libcurl (faultline's included), measured beside it.
 *   curl_floor URL CONNECTIONS SECONDS    prints "requests=N rps=R"
 * CONNECTIONS easy handles on one multi handle, each re-added as soon as its transfer
 * ends (closed model, no think time, like wrk -c N); the URL parsed once (CURLOPT_CURLU),
 * no proxy lookups, the body thrown away, no timing kept: libcurl's own per-request cost
 * and nothing else. */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
    (void)p; (void)u;
    return sz * n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: curl_floor URL CONNECTIONS SECONDS\n");
        return 2;
    }
    int conns = atoi(argv[2]);
    double secs = atof(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLU *uh = curl_url();
    if (curl_url_set(uh, CURLUPART_URL, argv[1], 0) != CURLUE_OK) {
        fprintf(stderr, "curl_floor: bad URL\n");
        return 2;
    }
    CURLM *m = curl_multi_init();
    CURL **h = calloc((size_t)conns, sizeof *h);
    for (int i = 0; i < conns; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_CURLU, uh);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_PROXY, "");
        curl_easy_setopt(h[i], CURLOPT_NOPROXY, "");
        curl_easy_setopt(h[i], CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
        curl_multi_add_handle(m, h[i]);
    }
    long long done = 0, errors = 0;
    double t0 = now_s(), end = t0 + secs, t = t0;
    while (t < end) {
        int running;
        curl_multi_poll(m, NULL, 0, 100, NULL);
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            if (msg->data.result == CURLE_OK) done++; else errors++;
            curl_multi_remove_handle(m, msg->easy_handle);
            curl_multi_add_handle(m, msg->easy_handle);
        }
        t = now_s();
    }
    printf("requests=%lld rps=%.1f errors=%lld\n", done, (double)done / (t - t0), errors);
    for (int i = 0; i < conns; i++) {
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    free(h);
    curl_multi_cleanup(m);
    curl_url_cleanup(uh);
    curl_global_cleanup();
    return 0;
}
