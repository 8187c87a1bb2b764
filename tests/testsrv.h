/* testsrv.h -- a real HTTP server (libmicrohttpd, thread per connection) on loopback for
 * tests, that can be told to slow down and to fail.
 *
 *   struct testsrv *s = testsrv_start(0);   -- any free port; NULL on failure
 *   int port = testsrv_port(s);
 *   testsrv_stop(s);
 *
 * Routes (any method unless noted):
 *   /ok                  200 "ok"
 *   /delay?ms=N          sleeps N ms, then 200 "ok"
 *   /status?code=N       answers N
 *   /json                200 {"status":"ok","n":42,"nested":{"name":"faultline"}}
 *   POST /login          form username=&password= ; 200 {"access_token":"tok-<n>","token_type":"bearer"}
 *                        when password == "secret", else 401
 *   /auth                200 when "Authorization: Bearer tok-<n>" names a live token, else 401
 *   /expire              forgets every token (the next /auth answers 401)
 *   /echo                200 with "METHOD PATH\n" + headers "Name: value\n" + "\n" + body
 *   /control?fail=N      sets the failing share (below) over HTTP, so a plan's exec fault can
 *                        break the server; 200, never fails itself
 * Global knobs (all routes): a delay added before answering, a forced status, and a share
 * of requests (N%, spread evenly: 70 fails 7 of every 10) answered 503.
 */
#ifndef FL_TESTSRV_H
#define FL_TESTSRV_H

#include <stdint.h>

struct testsrv;
struct testsrv *testsrv_start(int port);
/* a server on a free port, or the test fails; its port in *port (when not NULL) */
struct testsrv *testsrv_must(int *port);
int testsrv_port(const struct testsrv *s);
void testsrv_set_delay_ms(struct testsrv *s, int ms);
void testsrv_set_status(struct testsrv *s, int status);   /* 0 = answer normally */
void testsrv_set_fail_pct(struct testsrv *s, int pct);    /* 0 = none fail */
uint64_t testsrv_hits(struct testsrv *s, const char *path); /* requests seen on that path */
uint64_t testsrv_logins(struct testsrv *s);
void testsrv_stop(struct testsrv *s);

#endif
