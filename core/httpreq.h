/* httpreq.h -- one HTTP request through libcurl the way faultline sends them all: its user
 * agent, no signals (threads), no redirects, a timeout, optionally past any proxy the
 * environment names. Used by the live sender, the Prometheus probe and the report exporter.
 *
 *   const char *hd[] = { "Content-Type: application/json", NULL };
 *   struct httpreq rq = { .method = "POST", .url = u, .body = text, .headers = hd, .timeout_ms = 3000 };
 *   long status; if (httpreq_do(&rq, &status, err) < 0) ...   -- no reply: err says why
 *
 * The reply body goes to rq.reply (a buf the caller owns; NULL: dropped). A reply larger than
 * the buf's cap ends the transfer with an error (the buf says overflow), unless keep_head:
 * then the buf keeps the head that fits and the rest is read and dropped. */
#ifndef FL_HTTPREQ_H
#define FL_HTTPREQ_H

#include <stddef.h>

struct buf;

struct httpreq {
    const char *method;              /* NULL: GET, or POST when there is a body */
    const char *url;
    const char *body;                /* NULL: none */
    size_t body_len;                 /* 0: strlen(body) */
    const char *const *headers;      /* "Name: value" lines, NULL-terminated; may be NULL */
    const char *username, *password; /* HTTP basic auth when username is set */
    long timeout_ms;                 /* the whole request; 0: no limit */
    long connect_timeout_ms;         /* 0: curl's default */
    int no_proxy;                    /* never through a proxy named by the environment */
    struct buf *reply;               /* NULL: the body is dropped */
    int keep_head;                   /* see above */
};

/* 0 with *status the HTTP status of the reply (whatever it is); -1 when no reply came, err
 * (FL_ERR_LEN) with curl's words for why */
int httpreq_do(const struct httpreq *rq, long *status, char *err);

#endif
