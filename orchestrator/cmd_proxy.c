/* cmd_proxy.c -- `faultline proxy`: one TCP fault proxy standalone, with toxics given on
 * the command line, until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "fl.h"
#include "proxy_engine.h"
#include "value.h"

static const char usage[] =
    "usage: faultline proxy --listen HOST:PORT --upstream HOST:PORT [--toxic SPEC]...\n"
    "\n"
    "Forward TCP from --listen to --upstream until interrupted (Ctrl-C), applying toxics.\n"
    "A SPEC is KIND[=VALUE] followed by ,key=value options:\n"
    "  latency=200ms[,jitter=50ms][,direction=upstream|downstream|both]\n"
    "  bandwidth=100kb/s[,direction=...]     bytes per second (kb = 1024 bytes)\n"
    "  timeout[,direction=...]              hold all data, never forward\n"
    "  reset                                RST existing and new connections\n"
    "  down                                 refuse new connections\n"
    "  slow_close=1s                        delay forwarding each close\n"
    "  http_error=503[,share=50%]           answer a share of HTTP/1.1 requests\n"
    "  http_delay=500ms                     hold HTTP response headers\n"
    "Every toxic also takes probability=0..1 (per connection, default 1).\n"
    "\n"
    "  -l, --listen ADDR     address to listen on (e.g. 127.0.0.1:15432)\n"
    "  -u, --upstream ADDR   address to forward to (e.g. 127.0.0.1:5432)\n"
    "  -t, --toxic SPEC      a toxic (repeatable)\n"
    "  -q, --quiet           no connection statistics on exit\n"
    "  -h, --help            this text\n";

/* parse "latency=200ms,jitter=50ms" into c; 0 or -1 with err */
static int parse_toxic(const char *spec, struct px_toxic_cfg *c, char *err)
{
    static const struct { const char *name; enum px_kind kind; } kinds[] = {
        { "latency", PX_LATENCY }, { "bandwidth", PX_BANDWIDTH }, { "timeout", PX_TIMEOUT },
        { "reset", PX_RESET }, { "down", PX_DOWN }, { "slow_close", PX_SLOW_CLOSE },
        { "http_error", PX_HTTP_ERROR }, { "http_delay", PX_HTTP_DELAY },
    };
    memset(c, 0, sizeof *c);
    c->probability = 1;
    c->status = 503;
    c->share = 1;
    char *copy = fl_strdup(spec), *save = NULL;
    int rc = 0, first = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save), first = 0) {
        char *eq = strchr(tok, '=');
        const char *val = eq ? eq + 1 : NULL;
        if (eq) *eq = '\0';
        int64_t us;
        if (first) {
            size_t i;
            for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
                if (strcmp(tok, kinds[i].name) == 0) break;
            if (i == sizeof kinds / sizeof kinds[0]) { rc = fl_err(err, "toxic '%s': unknown kind '%s'", spec, tok); break; }
            c->kind = kinds[i].kind;
            int needs = c->kind == PX_LATENCY || c->kind == PX_BANDWIDTH || c->kind == PX_SLOW_CLOSE ||
                        c->kind == PX_HTTP_DELAY;
            if (needs && !val) { rc = fl_err(err, "toxic '%s': %s needs a value (%s=...)", spec, tok, tok); break; }
            if (!val) continue;
            switch (c->kind) {
            case PX_LATENCY:
                if (val_duration_us(val, &c->latency_us, err) < 0) rc = -1;
                break;
            case PX_SLOW_CLOSE:
            case PX_HTTP_DELAY:
                if (val_duration_us(val, &c->delay_us, err) < 0) rc = -1;
                break;
            case PX_BANDWIDTH: {
                char tmp[64];
                snprintf(tmp, sizeof tmp, "%s", val);
                char *sl = strstr(tmp, "/s");
                if (sl) *sl = '\0';
                int64_t b;
                if (val_bytes(tmp, &b, err) < 0 || b <= 0) rc = fl_err(err, "toxic '%s': bad rate '%s'", spec, val);
                c->rate = (double)b;
                break;
            }
            case PX_HTTP_ERROR:
                c->status = atoi(val);
                break;
            default:
                rc = fl_err(err, "toxic '%s': %s takes no value", spec, tok);
            }
            continue;
        }
        if (!val) { rc = fl_err(err, "toxic '%s': option '%s' needs a value", spec, tok); break; }
        if (strcmp(tok, "jitter") == 0) {
            if (val_duration_us(val, &us, err) < 0) rc = -1; else c->jitter_us = us;
        } else if (strcmp(tok, "direction") == 0) {
            if (!strcmp(val, "upstream")) c->direction = PX_DIR_UPSTREAM;
            else if (!strcmp(val, "downstream")) c->direction = PX_DIR_DOWNSTREAM;
            else if (!strcmp(val, "both")) c->direction = PX_DIR_BOTH;
            else rc = fl_err(err, "toxic '%s': direction must be upstream, downstream or both", spec);
        } else if (strcmp(tok, "probability") == 0) {
            if (val_percent(val, &c->probability, 1, err) < 0) rc = -1;
        } else if (strcmp(tok, "share") == 0) {
            if (val_percent(val, &c->share, 1, err) < 0) rc = -1;
        } else if (strcmp(tok, "status") == 0) {
            c->status = atoi(val);
        } else {
            rc = fl_err(err, "toxic '%s': unknown option '%s'", spec, tok);
        }
    }
    free(copy);
    return rc;
}

int cmd_proxy(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' }, { "upstream", required_argument, NULL, 'u' },
        { "toxic", required_argument, NULL, 't' },  { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    const char *listen = NULL, *upstream = NULL;
    const char **toxics = fl_calloc((size_t)argc + 1, sizeof *toxics);
    int ntox = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:u:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 'u': upstream = optarg; break;
        case 't': toxics[ntox++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(usage, stdout); free(toxics); return FL_EXIT_OK;
        default: fputs(usage, stderr); free(toxics); return FL_EXIT_INVALID;
        }
    }
    char err[FL_ERR_LEN];
    if (!listen || !upstream || optind < argc) {
        fputs(usage, stderr);
        free(toxics);
        return FL_EXIT_INVALID;
    }
    struct px_toxic_cfg *cfgs = fl_calloc((size_t)ntox + 1, sizeof *cfgs);
    for (int i = 0; i < ntox; i++) {
        if (parse_toxic(toxics[i], &cfgs[i], err) < 0) {
            fl_log(FL_LOG_ERROR, "%s", err);
            free(cfgs); free(toxics);
            return FL_EXIT_INVALID;
        }
    }
    /* the signals that end us are taken synchronously below */
    sigset_t ss, old;
    sigemptyset(&ss);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &ss, &old);
    int rc = FL_EXIT_OK;
    struct px_engine *e = px_engine_new(err);
    struct px *px = e ? px_listen(e, listen, upstream, err) : NULL;
    if (!px) {
        fl_log(FL_LOG_ERROR, "%s", err);
        rc = FL_EXIT_FAILED;
        goto out;
    }
    for (int i = 0; i < ntox; i++) {
        if (px_add_toxic(px, &cfgs[i], err) < 0) {
            fl_log(FL_LOG_ERROR, "%s", err);
            rc = FL_EXIT_INVALID;
            goto out;
        }
    }
    fprintf(stderr, "faultline proxy: listening on %s, forwarding to %s", px_address(px), upstream);
    for (int i = 0; i < ntox; i++) fprintf(stderr, "%s%s", i ? "; " : " with ", toxics[i]);
    fprintf(stderr, " (Ctrl-C stops)\n");
    int sig = 0;
    sigwait(&ss, &sig);
    if (!quiet) {
        struct px_stats st;
        px_stats(px, &st);
        fprintf(stderr,
                "faultline proxy: %s: %llu connections (%llu refused/reset), %llu bytes up, %llu bytes down,"
                " %llu HTTP errors injected\n",
                strsignal(sig), (unsigned long long)st.accepted, (unsigned long long)(st.refused + st.reset),
                (unsigned long long)st.bytes_up, (unsigned long long)st.bytes_down,
                (unsigned long long)st.http_errors);
    }
out:
    if (px) px_close(px);
    px_engine_free(e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(cfgs);
    free(toxics);
    return rc;
}
