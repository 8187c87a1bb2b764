/* httpreq.c -- one HTTP request through libcurl with faultline's settings (see httpreq.h). */
#include "httpreq.h"

#include <curl/curl.h>
#include <string.h>
#include "buf.h"
#include "fl.h"

struct sink {
    struct buf *b;
    int keep_head;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    if (!s->b) return len;
    if (s->keep_head) {
        size_t room = s->b->cap > s->b->len + 1 ? s->b->cap - s->b->len - 1 : 0;
        buf_add(s->b, data, len < room ? len : room);
        return len;
    }
    return buf_add(s->b, data, len) < 0 ? 0 : len;
}

int httpreq_do(const struct httpreq *rq, long *status, char *err)
{
    *status = 0;
    CURL *h = curl_easy_init();
    if (!h) return fl_err(err, "cannot create a curl handle");
    struct curl_slist *hdrs = NULL;
    for (const char *const *l = rq->headers; l && *l; l++) hdrs = curl_slist_append(hdrs, *l);
    struct sink sink = { rq->reply, rq->keep_head };
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    if (rq->method) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body_len ? rq->body_len : strlen(rq->body)));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (rq->username) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, rq->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    if (rq->timeout_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rq->connect_timeout_ms > 0) curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (rq->no_proxy) curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) return fl_err(err, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return 0;
}
