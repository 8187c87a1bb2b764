/* netfx.h -- loopback network fixtures shared by test files: a monotonic clock in
 * milliseconds and a TCP connection (the proxy tests, measuring from outside), an HTTP GET,
 * Debian's real Pushgateway, and the request body of a libmicrohttpd server in a test (the
 * live and export tests). */
#ifndef FL_NETFX_H
#define FL_NETFX_H

#include <microhttpd.h>
#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

/* CLOCK_MONOTONIC in milliseconds */
double nfx_now_ms(void);
/* a connected socket to 127.0.0.1:port, or -1 with errno set */
int nfx_tcp_connect(int port);

/* GET url (2 s at most, never through a proxy), the body appended to out; the HTTP status,
 * 0 when no reply came */
long nfx_http_get(const char *url, struct buf *out);

/* Debian's real Pushgateway (/usr/bin/prometheus-pushgateway) on a free loopback port:
 *   struct nfx_gateway g; nfx_gateway_start(&g);   -- ready; g.url is http://127.0.0.1:PORT
 *   long st = nfx_gateway_scrape(&g);               -- GET /metrics into g.page, its status
 *   nfx_gateway_stop(&g);                           -- the process ends; g.page stays readable
 *   buf_release(&g.page);
 * start skips the test when it is not installed and fails it when it does not become ready. */
struct nfx_gateway {
    pid_t pid;
    int port;
    char url[64];
    struct buf page;
};
void nfx_gateway_start(struct nfx_gateway *g);
long nfx_gateway_scrape(struct nfx_gateway *g);
void nfx_gateway_stop(struct nfx_gateway *g);

/* The body of a request to a libmicrohttpd access handler, call it first there:
 *   const struct buf *body;
 *   if (!nfx_mhd_body(state, data, size, &body)) return MHD_YES;   -- more to come
 *   ... the whole body is in *body: answer ...
 * with nfx_mhd_done as the daemon's MHD_OPTION_NOTIFY_COMPLETED (it frees the body). */
int nfx_mhd_body(void **state, const char *data, size_t *size, const struct buf **body);
void nfx_mhd_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode code);

#endif
