/* live.c -- live metrics and events while a run goes on (live.h): one sender thread, a
 * one-slot mailbox for the newest metrics text and a bounded queue of events. */
#include "live.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "fl.h"
#include "httpreq.h"

#define LIVE_MAX_EVENTS 256

struct live {
    char *push_url, *annotate_url, *plan;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    char *metrics;           /* newest text not yet sent */
    char *events[LIVE_MAX_EVENTS];
    size_t nevents;
    long failures;
    int warned;
};

/* one request; 0 on a 2xx answer */
static int send_one(const char *method, const char *url, const char *ctype, const char *body, char *err)
{
    char ct[96];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    const char *hd[] = { ct, NULL };
    struct httpreq rq = { .method = method, .url = url, .body = body, .headers = hd, .timeout_ms = 3000,
                          .no_proxy = 1 };
    long st;
    if (httpreq_do(&rq, &st, err) < 0) return -1;
    if (st / 100 != 2) return fl_err(err, "HTTP %ld", st);
    return 0;
}

static void failed(struct live *l, const char *what, const char *err)
{
    pthread_mutex_lock(&l->mu);
    l->failures++;
    int first = !l->warned;
    l->warned = 1;
    pthread_mutex_unlock(&l->mu);
    if (first) fl_log(FL_LOG_WARN, "live %s failed (%s); the run goes on, later failures are not logged", what, err);
}

static void *sender(void *arg)
{
    struct live *l = arg;
    char err[FL_ERR_LEN];
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && !l->metrics && !l->nevents) pthread_cond_wait(&l->cv, &l->mu);
        char *m = l->metrics;
        l->metrics = NULL;
        char *ev[LIVE_MAX_EVENTS];
        size_t ne = l->nevents;
        memcpy(ev, l->events, ne * sizeof *ev);
        l->nevents = 0;
        int stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        for (size_t i = 0; i < ne; i++) {
            if (send_one("POST", l->annotate_url, "application/json", ev[i], err) < 0) failed(l, "event", err);
            free(ev[i]);
        }
        if (m) {
            if (send_one("PUT", l->push_url, "text/plain; version=0.0.4; charset=utf-8", m, err) < 0) failed(l, "push", err);
            free(m);
        }
        pthread_mutex_lock(&l->mu);
        if (stop && !l->metrics && !l->nevents) break;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

struct live *live_new(const char *push_url, const char *annotate_url, const char *plan)
{
    if (!push_url && !annotate_url) return NULL;
    struct live *l = fl_calloc(1, sizeof *l);
    l->plan = fl_strdup(plan ? plan : "");
    if (push_url) {
        /* the group of the live figures: job faultline_live, instance = the plan (base64url
         * when it needs escaping, as the Pushgateway documents) */
        size_t n = strlen(push_url);
        while (n && push_url[n - 1] == '/') n--;
        CURL *h = curl_easy_init();
        char *inst = h ? curl_easy_escape(h, l->plan, 0) : NULL;
        l->push_url = fl_asprintf("%.*s/metrics/job/faultline_live/instance/%s", (int)n, push_url, inst ? inst : "run");
        curl_free(inst);
        if (h) curl_easy_cleanup(h);
    }
    if (annotate_url) l->annotate_url = fl_strdup(annotate_url);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->th, NULL, sender, l) != 0) {
        fl_log(FL_LOG_WARN, "live metrics: cannot start the sender thread");
        l->stop = 1; /* live_free frees without joining */
        l->th = 0;
    }
    return l;
}

void live_metrics(struct live *l, const char *text)
{
    if (!l || !l->push_url) return;
    pthread_mutex_lock(&l->mu);
    free(l->metrics);
    l->metrics = fl_strdup(text);
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void live_event(struct live *l, const char *phase, const char *step, const char *fault, const char *target,
                const char *text)
{
    if (!l || !l->annotate_url) return;
    json_t *e = json_pack("{s:I,s:[s,s,s,s],s:s,s:s,s:s,s:s,s:s,s:s?}", "time", (json_int_t)(fl_wall() * 1000.0), "tags",
                          "faultline", l->plan, phase, step ? step : "", "text", text ? text : "", "plan", l->plan, "phase",
                          phase, "step", step ? step : "", "fault", fault ? fault : "", "target", target);
    char *body = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    if (!body) return;
    fl_redact(body);
    pthread_mutex_lock(&l->mu);
    if (l->nevents < LIVE_MAX_EVENTS) {
        l->events[l->nevents++] = body;
        pthread_cond_signal(&l->cv);
    } else {
        free(body);
    }
    pthread_mutex_unlock(&l->mu);
}

void live_free(struct live *l)
{
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    int started = !l->stop;
    l->stop = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (started) pthread_join(l->th, NULL);
    free(l->metrics);
    for (size_t i = 0; i < l->nevents; i++) free(l->events[i]);
    free(l->push_url);
    free(l->annotate_url);
    free(l->plan);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}
