/* netfx.c -- loopback network fixtures shared by test files (see netfx.h). */
#include "netfx.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "harness.h"

double nfx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int nfx_tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int en = errno;
        close(fd);
        errno = en;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static size_t keep(char *d, size_t s, size_t n, void *arg)
{
    buf_add(arg, d, s * n);
    return s * n;
}

long nfx_http_get(const char *url, struct buf *out)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

void nfx_gateway_start(struct nfx_gateway *g)
{
    const char *bin = "/usr/bin/prometheus-pushgateway";
    if (access(bin, X_OK) != 0) SKIP("prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway)");
    g->port = th_free_port();
    snprintf(g->url, sizeof g->url, "http://127.0.0.1:%d", g->port);
    char listen[64];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", g->port);
    g->pid = fork();
    if (g->pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, listen, (char *)NULL);
        _exit(127);
    }
    ASSERT(g->pid > 0);
    buf_init(&g->page, 1 << 22);
    char url[128];
    snprintf(url, sizeof url, "%s/-/ready", g->url);
    int ready = 0;
    for (int i = 0; i < 100 && !ready; i++) {
        buf_reset(&g->page);
        ready = nfx_http_get(url, &g->page) == 200;
        if (!ready) usleep(100000);
    }
    if (!ready) {
        kill(g->pid, SIGKILL);
        waitpid(g->pid, NULL, 0);
        ASSERT_MSG(0, "the pushgateway did not become ready");
    }
}

long nfx_gateway_scrape(struct nfx_gateway *g)
{
    char url[128];
    snprintf(url, sizeof url, "%s/metrics", g->url);
    buf_reset(&g->page);
    return nfx_http_get(url, &g->page);
}

void nfx_gateway_stop(struct nfx_gateway *g)
{
    kill(g->pid, SIGTERM);
    waitpid(g->pid, NULL, 0);
}

struct upload { struct buf b; };

int nfx_mhd_body(void **state, const char *data, size_t *size, const struct buf **body)
{
    struct upload *u = *state;
    if (!u) {
        u = calloc(1, sizeof *u);
        buf_init(&u->b, 1 << 20);
        *state = u;
        return 0;
    }
    if (*size) {
        buf_add(&u->b, data, *size);
        *size = 0;
        return 0;
    }
    *body = &u->b;
    return 1;
}

void nfx_mhd_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode code)
{
    (void)cls; (void)c; (void)code;
    struct upload *u = *state;
    if (u) { buf_release(&u->b); free(u); }
    *state = NULL;
}
