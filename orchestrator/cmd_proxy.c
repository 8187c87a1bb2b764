/* cmd_proxy.c -- `faultline proxy`: one TCP fault proxy standalone, with toxics given on
 * the command line, until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "fl.h"
#include "proxy_api.h"
#include "proxy_engine.h"
#include "proxy_toxics.h"
#include "value.h"

static void usage(FILE *f)
{
    fputs("usage: faultline proxy --listen HOST:PORT --upstream HOST:PORT [--toxic SPEC]...\n"
          "       faultline proxy --api [HOST:]PORT\n"
          "\n"
          "Forward TCP from --listen to --upstream until interrupted (Ctrl-C), applying toxics.\n"
          "With --api, serve Toxiproxy's HTTP API instead (its clients work unchanged): proxies and\n"
          "toxics are created, changed and removed over HTTP (docs/proxy-api.md). The API has NO\n"
          "authentication, as Toxiproxy's: whoever reaches it can open listeners and redirect\n"
          "traffic. A bare PORT binds 127.0.0.1; bind elsewhere only on a network you trust.\n"
          "A SPEC is KIND[=VALUE] followed by ,key=value options:\n", f);
    for (size_t i = 0; i < PX_NKINDS; i++) fprintf(f, "  %s\n", px_toxics[i].cli);
    fputs("Every toxic also takes probability=0..1 (per connection, default 1).\n"
          "\n"
          "  -l, --listen ADDR     address to listen on (e.g. 127.0.0.1:15432)\n"
          "  -u, --upstream ADDR   address to forward to (e.g. 127.0.0.1:5432)\n"
          "  -t, --toxic SPEC      a toxic (repeatable)\n"
          "  -a, --api ADDR        serve Toxiproxy's HTTP API on ADDR (e.g. 127.0.0.1:8474)\n"
          "  -q, --quiet           no connection statistics on exit\n"
          "  -h, --help            this text\n", f);
}

/* parse "latency=200ms,jitter=50ms" into c (px_toxics[] says the keys); 0 or -1 with err */
static int parse_toxic(const char *spec, struct px_toxic_cfg *c, char *err)
{
    char *copy = fl_strdup(spec), *save = NULL;
    const struct px_toxic_type *ty = NULL;
    unsigned long given = 0;   /* attributes set, by index in ty->attrs */
    int rc = 0, first = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save), first = 0) {
        char *eq = strchr(tok, '=');
        const char *val = eq ? eq + 1 : NULL;
        if (eq) *eq = '\0';
        const char *key = tok;
        if (first) {
            ty = px_toxic_find(tok, 0);
            if (!ty) {
                char known[256] = "";
                for (size_t i = 0; i < PX_NKINDS; i++) {
                    strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
                    strncat(known, px_toxics[i].name, sizeof known - strlen(known) - 1);
                }
                rc = fl_err(err, "toxic '%s': unknown kind '%s' (known: %s)", spec, tok, known);
                break;
            }
            px_toxic_defaults(c, (enum px_kind)(ty - px_toxics));
            if (!val) continue;
            if (!ty->main_attr) { rc = fl_err(err, "toxic '%s': %s takes no value", spec, tok); break; }
            key = ty->main_attr;
        } else if (!val) {
            rc = fl_err(err, "toxic '%s': option '%s' needs a value", spec, tok);
            break;
        }
        char e2[FL_ERR_LEN];
        if (px_toxic_set(c, key, val, e2) < 0) { rc = fl_err(err, "toxic '%s': %s", spec, e2); break; }
        const struct px_attr *a = px_attr_find(ty, key, 0);
        if (a) given |= 1ul << (a - ty->attrs);
    }
    free(copy);
    if (rc == 0 && ty) {
        for (const struct px_attr *a = ty->attrs; a->name; a++)
            if ((a->flags & PXA_REQUIRED) && !(given & (1ul << (a - ty->attrs)))) {
                if (ty->main_attr && !strcmp(a->name, ty->main_attr))
                    return fl_err(err, "toxic '%s': %s needs a value (%s=...)", spec, ty->name, ty->name);
                return fl_err(err, "toxic '%s': %s needs %s=...", spec, ty->name, a->name);
            }
        char e2[FL_ERR_LEN];
        if (px_toxic_check(c, e2) < 0) return fl_err(err, "toxic '%s': %s", spec, e2);
    }
    return rc;
}

/* --api: Toxiproxy's HTTP API until SIGINT/SIGTERM */
static int serve_api(const char *addr)
{
    char err[FL_ERR_LEN];
    sigset_t ss, old;
    sigemptyset(&ss);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &ss, &old);   /* before any thread starts: they inherit it */
    int rc = FL_EXIT_OK;
    struct px_engine *e = px_engine_new(err);
    struct pxapi *a = e ? pxapi_new(e, 0) : NULL;
    if (!a || pxapi_serve(a, addr, err) < 0) {
        fl_log(FL_LOG_ERROR, "%s", err);
        rc = FL_EXIT_FAILED;
        goto out;
    }
    const char *bound = pxapi_address(a);
    fprintf(stderr, "faultline proxy: Toxiproxy API on http://%s (Ctrl-C stops)\n", bound);
    if (strncmp(bound, "127.", 4) != 0 && strncmp(bound, "[::1]", 5) != 0)
        fl_log(FL_LOG_WARN, "the API on %s is not on loopback and has no authentication: anyone who reaches it can "
                            "open listeners and redirect traffic", bound);
    int sig = 0;
    sigwait(&ss, &sig);
    fprintf(stderr, "faultline proxy: %s: closing every proxy\n", strsignal(sig));
out:
    pxapi_free(a);
    px_engine_free(e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int cmd_proxy(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' }, { "upstream", required_argument, NULL, 'u' },
        { "toxic", required_argument, NULL, 't' },  { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },         { "api", required_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    const char *listen = NULL, *upstream = NULL, *api = NULL;
    const char **toxics = fl_calloc((size_t)argc + 1, sizeof *toxics);
    int ntox = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:u:t:qha:", opts, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 'u': upstream = optarg; break;
        case 't': toxics[ntox++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'a': api = optarg; break;
        case 'h': usage(stdout); free(toxics); return FL_EXIT_OK;
        default: usage(stderr); free(toxics); return FL_EXIT_INVALID;
        }
    }
    char err[FL_ERR_LEN];
    if (api) {
        free(toxics);
        if (listen || upstream || ntox || optind < argc) {
            fl_log(FL_LOG_ERROR, "--api serves proxies made over HTTP: create them with POST /proxies, not --listen/"
                                 "--upstream/--toxic");
            return FL_EXIT_INVALID;
        }
        return serve_api(api);
    }
    if (!listen || !upstream || optind < argc) {
        usage(stderr);
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
