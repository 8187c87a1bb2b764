/* docker_api.c -- Docker Engine API client: one transport (libcurl over a Unix socket or
 * tcp/TLS), version negotiation, error mapping, and the container calls faultline needs. */
#include "docker_api.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_global(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- versions ------------------------------------------------------------------------ */

static long api_num(const char *v)
{
    char *end;
    long major = strtol(v, &end, 10);
    if (end == v || *end != '.') return -1;
    const char *m = end + 1;
    long minor = strtol(m, &end, 10);
    if (end == m) return -1;
    return major * 1000 + minor;
}

/* ---- client ---------------------------------------------------------------------------- */

int docker_client_init(struct docker_client *c, const char *host, char *err)
{
    return docker_client_init_tls(c, host, NULL, -1, err);
}

int docker_client_init_tls(struct docker_client *c, const char *host, const char *cert_path, int tls_verify, char *err)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->connect_timeout_ms = 5000;
    c->timeout_ms = 30000;
    if (!host || !*host) host = getenv("DOCKER_HOST");
    if (!host || !*host) host = DOCKER_DEFAULT_HOST;
    c->host = fl_strdup(host);
    if (strncmp(host, "unix://", 7) == 0) {
        const char *path = host + 7;
        if (path[0] != '/') {
            docker_client_release(c);
            return fl_err(err, "docker: bad address '%s': expected unix:///absolute/path", host);
        }
        c->socket_path = fl_strdup(path);
        c->base_url = fl_strdup("http://docker");
        return 0;
    }
    if (strncmp(host, "tcp://", 6) == 0) {
        const char *hp = host + 6;
        size_t n = strcspn(hp, "/");
        if (n == 0) {
            docker_client_release(c);
            return fl_err(err, "docker: bad address '%s': expected tcp://HOST:PORT", host);
        }
        /* the target's own settings first, then the variables the docker CLI reads */
        const char *verify = getenv("DOCKER_TLS_VERIFY");
        const char *certs = cert_path && *cert_path ? cert_path : getenv("DOCKER_CERT_PATH");
        c->tls_verify = tls_verify >= 0 ? tls_verify : verify && *verify;
        c->tls = c->tls_verify || (certs && *certs);
        if (c->tls) {
            if (certs && *certs) c->cert_path = fl_strdup(certs);
            else {
                const char *home = getenv("HOME");
                c->cert_path = fl_asprintf("%s/.docker", home ? home : "");
            }
        }
        c->base_url = fl_asprintf("%s://%.*s", c->tls ? "https" : "http", (int)n, hp);
        return 0;
    }
    docker_client_release(c);
    return fl_err(err, "docker: unsupported address '%s' (use unix:///path or tcp://host:port)", host);
}

void docker_client_save_tls(const struct docker_client *c, json_t *rec)
{
    if (!c->tls) return;
    if (c->cert_path) json_object_set_new(rec, "cert_path", json_string(c->cert_path));
    json_object_set_new(rec, "tls_verify", json_boolean(c->tls_verify));
}

int docker_client_init_saved(struct docker_client *c, const char *host, const json_t *rec, char *err)
{
    const json_t *v = json_object_get(rec, "tls_verify");
    return docker_client_init_tls(c, host, json_string_value(json_object_get(rec, "cert_path")),
                                  json_is_boolean(v) ? json_is_true(v) : -1, err);
}

void docker_client_release(struct docker_client *c)
{
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->host);
    free(c->socket_path);
    free(c->base_url);
    free(c->cert_path);
    pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof *c);
}

const char *docker_where(const struct docker_client *c)
{
    return c->socket_path ? c->socket_path : c->host;
}

void docker_reply_init(struct docker_reply *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, DOCKER_REPLY_CAP);
}

void docker_reply_release(struct docker_reply *r)
{
    buf_release(&r->body);
}

/* ---- one HTTP exchange ------------------------------------------------------------------- */

struct xfer {
    struct buf *body;                 /* plain replies */
    struct docker_demux *demux;       /* streamed exec output, or NULL */
    struct buf *demux_out;
    char *api_version;                /* 16 bytes */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (x->demux) {
        docker_demux_feed(x->demux, p, len, x->demux_out);
        return len;
    }
    if (buf_add(x->body, p, len) < 0) return 0; /* over the cap: abort the transfer */
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    static const char key[] = "api-version:";
    if (len > sizeof key - 1 && strncasecmp(p, key, sizeof key - 1) == 0) {
        const char *v = p + sizeof key - 1;
        size_t vl = len - (sizeof key - 1);
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        if (vl < 16) {
            memcpy(x->api_version, v, vl);
            x->api_version[vl] = '\0';
        }
    }
    return len;
}

static int transport_err(struct docker_client *c, CURLcode rc, long os_errno, const char *method,
                         const char *path, long timeout_ms, const char *curl_msg, char *err)
{
    const char *where = docker_where(c);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        if (c->socket_path) {
            struct stat st;
            int e = (int)os_errno;
            if (e == 0 && stat(c->socket_path, &st) < 0) e = errno;
            if (e == 0 && access(c->socket_path, R_OK | W_OK) < 0) e = errno;
            if (e == ENOENT)
                return fl_err(err, "docker: daemon not reachable at '%s': no such socket (is dockerd running? DOCKER_HOST=%s)",
                              where, c->host);
            if (e == EACCES || e == EPERM)
                return fl_err(err, "docker: permission denied on socket '%s' (needs root or the docker group)", where);
            if (e == ECONNREFUSED)
                return fl_err(err, "docker: daemon not reachable at '%s': connection refused (is dockerd running?)",
                              where);
            if (e)
                return fl_err(err, "docker: daemon not reachable at '%s': %s", where, strerror(e));
        }
        return fl_err(err, "docker: daemon not reachable at '%s': %s", where, curl_msg);
    }
    if (c->tls) {
        char *cert = fl_asprintf("%s/cert.pem", c->cert_path);
        int has_cert = access(cert, R_OK) == 0;
        free(cert);
        switch (rc) {
        case CURLE_PEER_FAILED_VERIFICATION:
            return fl_err(err, "docker: TLS: the certificate of the daemon at '%s' does not verify against %s/ca.pem: %s",
                          where, c->cert_path, curl_msg);
        case CURLE_SSL_CERTPROBLEM:
            return fl_err(err, "docker: TLS: the client certificate %s/cert.pem (with key.pem) cannot be used: %s",
                          c->cert_path, curl_msg);
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
            return fl_err(err, "docker: TLS connection to '%s' failed: %s%s%s%s", where, curl_msg,
                          has_cert ? "" : " (no client certificate was sent: put cert.pem and key.pem in ",
                          has_cert ? "" : c->cert_path, has_cert ? "" : ", or set DOCKER_CERT_PATH)");
        default:
            break;
        }
    }
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return fl_err(err, "docker: no reply from the daemon at '%s' within %.1fs (%s %s)", where,
                      timeout_ms / 1000.0, method, path);
    if (rc == CURLE_WRITE_ERROR)
        return fl_err(err, "docker: reply to %s %s larger than %u bytes", method, path, DOCKER_REPLY_CAP);
    return fl_err(err, "docker: %s %s at '%s' failed: %s", method, path, where, curl_msg);
}

/* with c->lock held */
static int perform(struct docker_client *c, const char *method, const char *path, int versioned,
                   const char *body, long timeout_ms, struct xfer *x, long *status, char *err)
{
    pthread_once(&curl_once, curl_global);
    if (!c->curl && !(c->curl = curl_easy_init())) return fl_err(err, "docker: cannot initialize libcurl");
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the live connection */
    if (timeout_ms <= 0) timeout_ms = c->timeout_ms;

    char *url = versioned ? fl_asprintf("%s/v%s%s", c->base_url, c->api_version, path)
                          : fl_asprintf("%s%s", c->base_url, path);
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (body) hdrs = curl_slist_append(hdrs, "Content-Type: application/json");

    curl_easy_setopt(h, CURLOPT_URL, url);
    if (c->socket_path) curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
    if (c->tls) {
        /* as the docker CLI: ca.pem verifies the daemon (DOCKER_TLS_VERIFY), cert.pem + key.pem
         * identify us; a half-present pair or a verify without ca.pem is an error, not a guess */
        char *ca = fl_asprintf("%s/ca.pem", c->cert_path);
        char *cert = fl_asprintf("%s/cert.pem", c->cert_path);
        char *key = fl_asprintf("%s/key.pem", c->cert_path);
        int has_ca = access(ca, R_OK) == 0, ca_errno = errno;
        int has_cert = access(cert, R_OK) == 0, has_key = access(key, R_OK) == 0;
        int bad = 0;
        if (c->tls_verify && !has_ca)
            bad = fl_err(err, "docker: TLS to '%s': the daemon is to be verified but '%s' cannot be read (%s)", c->host,
                         ca, strerror(ca_errno));
        else if (has_cert != has_key)
            bad = fl_err(err, "docker: TLS to '%s': '%s' without '%s': the client certificate needs both", c->host,
                         has_cert ? cert : key, has_cert ? key : cert);
        if (has_ca) curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        if (has_cert && has_key) {
            curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
            curl_easy_setopt(h, CURLOPT_SSLKEY, key);
        }
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
        free(ca); free(cert); free(key); /* curl copies string options */
        if (bad) {
            curl_slist_free_all(hdrs);
            free(url);
            return -1;
        }
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline/" FL_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");

    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        long os_errno = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        ret = transport_err(c, rc, os_errno, method, path, timeout_ms, errbuf[0] ? errbuf : curl_easy_strerror(rc), err);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    free(url);
    return ret;
}

int docker_negotiate(struct docker_client *c, char *err)
{
    pthread_mutex_lock(&c->lock);
    if (c->api_version[0]) {
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    struct buf body;
    buf_init(&body, 1 << 20);
    char ver[16] = "";
    struct xfer x = { .body = &body, .api_version = ver };
    long status = 0;
    int ret = perform(c, "GET", "/_ping", 0, NULL, 0, &x, &status, err);
    if (ret == 0 && !ver[0]) {
        /* an old daemon or a proxy that drops the header: ask /version */
        buf_reset(&body);
        ret = perform(c, "GET", "/version", 0, NULL, 0, &x, &status, err);
        if (ret == 0 && status == 200) {
            json_t *j = json_loadb(body.data, body.len, 0, NULL);
            const char *v = json_string_value(json_object_get(j, "ApiVersion"));
            if (v && strlen(v) < sizeof ver) strcpy(ver, v);
            json_decref(j);
        }
    }
    if (ret == 0 && status >= 400 && !ver[0]) ret = docker_status_err(status, body.data, err);
    if (ret == 0 && (!ver[0] || api_num(ver) < 0))
        ret = fl_err(err, "docker: the daemon at '%s' did not say its API version (GET /_ping, /version)",
                     docker_where(c));
    if (ret == 0 && api_num(ver) < api_num(DOCKER_API_MIN))
        ret = fl_err(err, "docker: the daemon at '%s' speaks API %s, older than the %s faultline needs",
                     docker_where(c), ver, DOCKER_API_MIN);
    if (ret == 0) {
        const char *use = api_num(ver) > api_num(DOCKER_API_MAX) ? DOCKER_API_MAX : ver;
        snprintf(c->api_version, sizeof c->api_version, "%s", use);
    }
    buf_release(&body);
    pthread_mutex_unlock(&c->lock);
    return ret;
}

int docker_request(struct docker_client *c, const char *method, const char *path, int versioned,
                   const char *body, long timeout_ms, struct docker_reply *r, char *err)
{
    if (versioned && !c->api_version[0] && docker_negotiate(c, err) < 0) return -1;
    struct xfer x = { .body = &r->body, .api_version = r->api_version };
    pthread_mutex_lock(&c->lock);
    int ret = perform(c, method, path, versioned, body, timeout_ms, &x, &r->status, err);
    pthread_mutex_unlock(&c->lock);
    return ret;
}

int docker_status_err(long status, const char *body, char *err)
{
    char msg[320] = "";
    json_t *j = body && *body ? json_loads(body, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    if (m) snprintf(msg, sizeof msg, "%s", m);
    else if (body) snprintf(msg, sizeof msg, "%s", body);
    json_decref(j);
    /* one line, first letter lowercase ("No such container: x" -> "no such container: x") */
    size_t n = strlen(msg);
    while (n && isspace((unsigned char)msg[n - 1])) msg[--n] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    if (msg[0] && isupper((unsigned char)msg[0]) && !(msg[1] && isupper((unsigned char)msg[1])))
        msg[0] = (char)tolower((unsigned char)msg[0]);
    if (status == 404) return fl_err(err, "docker: 404 %s", msg[0] ? msg : "not found");
    if (status == 409) return fl_err(err, "docker: 409 conflict%s%s", msg[0] ? ": " : "", msg);
    if (status >= 500) return fl_err(err, "docker: %ld daemon error%s%s", status, msg[0] ? ": " : "", msg);
    if (status == 401 || status == 403)
        return fl_err(err, "docker: %ld refused by the daemon%s%s", status, msg[0] ? ": " : "", msg);
    return fl_err(err, "docker: %ld%s%s", status, msg[0] ? " " : "", msg[0] ? msg : "unexpected reply");
}

int docker_call(struct docker_client *c, const char *method, const char *path, const char *body,
                long timeout_ms, long *status, json_t **json, char *err)
{
    struct docker_reply r;
    docker_reply_init(&r);
    if (json) *json = NULL;
    int ret = docker_request(c, method, path, 1, body, timeout_ms, &r, err);
    if (ret == 0) {
        if (status) *status = r.status;
        if ((r.status < 200 || r.status >= 300) && r.status != 304) {
            ret = docker_status_err(r.status, r.body.data, err);
        } else if (json && r.body.len) {
            json_error_t je;
            *json = json_loadb(r.body.data, r.body.len, 0, &je);
            if (!*json)
                ret = fl_err(err, "docker: %s %s: reply is not JSON (%s)", method, path, je.text);
        }
    }
    docker_reply_release(&r);
    return ret;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* percent-encode s for a URL path segment or query value */
static void add_escaped(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') buf_addc(b, (char)ch);
        else {
            buf_addc(b, '%');
            buf_addc(b, hex[ch >> 4]);
            buf_addc(b, hex[ch & 15]);
        }
    }
}

/* "/containers/<ref><suffix>" */
static char *cpath(const char *ref, const char *suffix)
{
    struct buf b;
    buf_init(&b, 4096);
    buf_adds(&b, "/containers/");
    add_escaped(&b, ref);
    buf_adds(&b, suffix);
    return buf_detach(&b);
}

/* ---- containers ----------------------------------------------------------------------------- */

static const char *const state_names[] = {
    [DS_CREATED] = "created", [DS_RUNNING] = "running", [DS_PAUSED] = "paused",
    [DS_RESTARTING] = "restarting", [DS_EXITED] = "exited", [DS_DEAD] = "dead", [DS_REMOVING] = "removing",
};

const char *docker_state_name(enum docker_run_state s)
{
    return (unsigned)s < sizeof state_names / sizeof *state_names ? state_names[s] : "unknown";
}

int docker_state_parse(const char *s)
{
    for (size_t i = 0; s && i < sizeof state_names / sizeof *state_names; i++)
        if (strcmp(state_names[i], s) == 0) return (int)i;
    return -1;
}

/* An object reply's id (id_key) copied into id, and its object member obj_key; -1 when it
 * lacks either ("docker: <what> reply lacks ID or Spec"). */
static int reply_id_and(const json_t *j, const char *what, const char *id_key, const char *obj_key, char *id,
                        size_t idlen, json_t **obj, char *err)
{
    const char *s = json_string_value(json_object_get(j, id_key));
    *obj = json_object_get(j, obj_key);
    if (!s || !json_is_object(*obj)) return fl_err(err, "docker: %s reply lacks %s or %s", what, id_key, obj_key);
    snprintf(id, idlen, "%s", s);
    return 0;
}

int docker_cstate_from_json(const json_t *j, struct docker_cstate *st, char *err)
{
    memset(st, 0, sizeof *st);
    json_t *state;
    if (reply_id_and(j, "container inspect", "Id", "State", st->id, sizeof st->id, &state, err) < 0) return -1;
    const char *name = json_string_value(json_object_get(j, "Name"));
    snprintf(st->name, sizeof st->name, "%s", name ? (name[0] == '/' ? name + 1 : name) : st->id);
    const char *status = json_string_value(json_object_get(state, "Status"));
    int s = docker_state_parse(status);
    if (s < 0) {
        /* very old daemons: derive from the booleans */
        if (json_is_true(json_object_get(state, "Paused"))) s = DS_PAUSED;
        else if (json_is_true(json_object_get(state, "Restarting"))) s = DS_RESTARTING;
        else if (json_is_true(json_object_get(state, "Running"))) s = DS_RUNNING;
        else s = DS_EXITED;
    }
    st->state = (enum docker_run_state)s;
    st->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    st->restart_count = (int)json_integer_value(json_object_get(j, "RestartCount"));
    json_t *hc = json_object_get(json_object_get(j, "Config"), "Healthcheck");
    json_t *test = json_object_get(hc, "Test");
    const char *t0 = json_string_value(json_array_get(test, 0));
    st->has_healthcheck = json_array_size(test) > 0 && !(t0 && strcmp(t0, "NONE") == 0);
    const char *health = json_string_value(json_object_get(json_object_get(state, "Health"), "Status"));
    if (health && strcmp(health, "none") != 0) {
        snprintf(st->health, sizeof st->health, "%s", health);
        st->has_healthcheck = 1;
    }
    return 0;
}

int docker_has_label(const json_t *container, const char *label)
{
    json_t *labels = json_object_get(container, "Labels");
    if (!labels) labels = json_object_get(json_object_get(container, "Config"), "Labels");
    if (!json_is_object(labels)) return 0;
    const char *eq = strchr(label, '=');
    char key[256];
    size_t kl = eq ? (size_t)(eq - label) : strlen(label);
    if (kl >= sizeof key) return 0;
    memcpy(key, label, kl);
    key[kl] = '\0';
    json_t *v = json_object_get(labels, key);
    if (!v) return 0;
    if (!eq) return 1;
    const char *s = json_string_value(v);
    return s && strcmp(s, eq + 1) == 0;
}

/* GET an object (path, freed here) and hand it to decode (into out, when both are set) and
 * to *json (when asked; the caller owns it) */
typedef int (*decode_fn)(json_t *j, void *out, char *err);

static int inspect_object(struct docker_client *c, char *path, const char *what, const char *ref, decode_fn decode,
                          void *out, json_t **json, char *err)
{
    json_t *j = NULL;
    int ret = docker_call(c, "GET", path, NULL, 0, NULL, &j, err);
    free(path);
    if (ret == 0 && !j) ret = fl_err(err, "docker: empty reply for %s '%s'", what, ref);
    if (ret == 0 && out) ret = decode(j, out, err);
    if (ret == 0 && json) *json = j;
    else json_decref(j);
    return ret;
}

static int decode_cstate(json_t *j, void *out, char *err) { return docker_cstate_from_json(j, out, err); }

int docker_inspect(struct docker_client *c, const char *ref, struct docker_cstate *st, json_t **json, char *err)
{
    return inspect_object(c, cpath(ref, "/json"), "container", ref, decode_cstate, st, json, err);
}

/* GET base?filters={key:[values]} (or &filters= after a query) into an array */
static int list_filtered(struct docker_client *c, const char *base, const char *key, char *const *values, size_t n,
                         const char *what, json_t **arr, char *err)
{
    struct buf p;
    buf_init(&p, 1 << 16);
    buf_adds(&p, base);
    if (n) {
        json_t *vals = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(vals, json_string(values[i]));
        json_t *f = json_object();
        json_object_set_new(f, key, vals);
        char *fs = json_dumps(f, JSON_COMPACT);
        buf_adds(&p, strchr(base, '?') ? "&filters=" : "?filters=");
        add_escaped(&p, fs);
        free(fs);
        json_decref(f);
    }
    int ret = docker_call(c, "GET", p.data, NULL, 0, NULL, arr, err);
    if (ret == 0 && !json_is_array(*arr)) {
        json_decref(*arr);
        *arr = NULL;
        ret = fl_err(err, "docker: %s list reply is not an array", what);
    }
    buf_release(&p);
    return ret;
}

int docker_list(struct docker_client *c, char *const *label_filters, size_t nfilters, json_t **arr, char *err)
{
    return list_filtered(c, "/containers/json?all=1", "label", label_filters, nfilters, "container", arr, err);
}

static int simple_post(struct docker_client *c, const char *id, const char *suffix, long timeout_ms,
                       int *changed, char *err)
{
    char *path = cpath(id, suffix);
    long status = 0;
    int ret = docker_call(c, "POST", path, NULL, timeout_ms, &status, NULL, err);
    free(path);
    if (changed) *changed = status != 304;
    return ret;
}

/* seconds for the daemon's t= parameter, rounded up */
static long grace_s(int64_t grace_ms) { return grace_ms <= 0 ? 0 : (long)((grace_ms + 999) / 1000); }

int docker_start(struct docker_client *c, const char *id, int *changed, char *err)
{
    return simple_post(c, id, "/start", 0, changed, err);
}

int docker_stop(struct docker_client *c, const char *id, int64_t grace_ms, int *changed, char *err)
{
    char suffix[48];
    snprintf(suffix, sizeof suffix, "/stop?t=%ld", grace_s(grace_ms));
    return simple_post(c, id, suffix, grace_s(grace_ms) * 1000 + c->timeout_ms, changed, err);
}

int docker_restart(struct docker_client *c, const char *id, int64_t grace_ms, char *err)
{
    char suffix[48];
    snprintf(suffix, sizeof suffix, "/restart?t=%ld", grace_s(grace_ms));
    return simple_post(c, id, suffix, grace_s(grace_ms) * 1000 + c->timeout_ms, NULL, err);
}

int docker_kill(struct docker_client *c, const char *id, const char *signal, char *err)
{
    struct buf s;
    buf_init(&s, 256);
    buf_adds(&s, "/kill?signal=");
    add_escaped(&s, signal && *signal ? signal : "SIGKILL");
    int ret = simple_post(c, id, s.data, 0, NULL, err);
    buf_release(&s);
    return ret;
}

int docker_pause(struct docker_client *c, const char *id, char *err)
{
    return simple_post(c, id, "/pause", 0, NULL, err);
}

int docker_unpause(struct docker_client *c, const char *id, char *err)
{
    return simple_post(c, id, "/unpause", 0, NULL, err);
}

/* ---- exec ------------------------------------------------------------------------------------- */

void docker_demux_feed(struct docker_demux *d, const char *data, size_t len, struct buf *out)
{
    while (len) {
        if (d->left == 0) {
            size_t need = 8 - d->hlen, take = len < need ? len : need;
            memcpy(d->hdr + d->hlen, data, take);
            d->hlen += take;
            data += take;
            len -= take;
            if (d->hlen == 8) {
                d->left = (uint64_t)d->hdr[4] << 24 | (uint64_t)d->hdr[5] << 16 | (uint64_t)d->hdr[6] << 8 | d->hdr[7];
                d->hlen = 0;
            }
            continue;
        }
        size_t take = len < d->left ? len : (size_t)d->left;
        if (out && !out->overflow) {
            size_t room = out->cap > out->len ? out->cap - out->len - 1 : 0;
            if (take > room) {
                if (room) buf_add(out, data, room);
                out->overflow = 1;
            } else {
                buf_add(out, data, take);
            }
        }
        data += take;
        len -= take;
        d->left -= take;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* POST /containers/{id}/exec: an exec of argv, its output attached or not; its id in exec_id */
static int exec_create(struct docker_client *c, const char *id, char *const *argv, int attach, char exec_id[128],
                       char *err)
{
    if (!argv || !argv[0]) return fl_err(err, "docker: exec in '%s': empty command", id);
    json_t *cmd = json_array();
    for (size_t i = 0; argv[i]; i++) json_array_append_new(cmd, json_string(argv[i]));
    json_t *cfg = json_pack("{s:b,s:b,s:b,s:b,s:o}", "AttachStdin", 0, "AttachStdout", attach, "AttachStderr", attach,
                            "Tty", 0, "Cmd", cmd);
    char *body = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    char *path = cpath(id, "/exec");
    json_t *reply = NULL;
    int ret = docker_call(c, "POST", path, body, 0, NULL, &reply, err);
    free(path);
    free(body);
    if (ret < 0) return -1;
    const char *e = json_string_value(json_object_get(reply, "Id"));
    snprintf(exec_id, 128, "%s", e ? e : "");
    json_decref(reply);
    if (!exec_id[0]) return fl_err(err, "docker: exec create in '%s' returned no id", id);
    return 0;
}

int docker_exec(struct docker_client *c, const char *id, char *const *argv, int64_t timeout_ms,
                int *exit_code, struct buf *output, char *err)
{
    char eid[128];
    if (exec_create(c, id, argv, 1, eid, err) < 0) return -1;

    /* start, attached: the reply is the multiplexed output until the command ends */
    if (timeout_ms <= 0) timeout_ms = 60000;
    char spath[200];
    snprintf(spath, sizeof spath, "/exec/%s/start", eid);
    struct buf scratch;
    buf_init(&scratch, 1 << 16);
    struct docker_demux dm = { .hlen = 0 };
    struct xfer x = { .body = &scratch, .demux = &dm, .demux_out = output, .api_version = (char[16]){ 0 } };
    long status = 0;
    pthread_mutex_lock(&c->lock);
    int ret = perform(c, "POST", spath, 1, "{\"Detach\":false,\"Tty\":false}", (long)timeout_ms, &x, &status, err);
    pthread_mutex_unlock(&c->lock);
    if (ret == 0 && status >= 300) ret = docker_status_err(status, scratch.data, err);
    buf_release(&scratch);
    if (ret < 0) return -1;

    /* the exit code; the daemon may need a moment after the stream closed */
    snprintf(spath, sizeof spath, "/exec/%s/json", eid);
    for (int i = 0; i < 100; i++) {
        json_t *j = NULL;
        if (docker_call(c, "GET", spath, NULL, 0, NULL, &j, err) < 0) return -1;
        int running = json_is_true(json_object_get(j, "Running"));
        json_t *code = json_object_get(j, "ExitCode");
        if (!running && json_is_integer(code)) {
            *exit_code = (int)json_integer_value(code);
            json_decref(j);
            return 0;
        }
        json_decref(j);
        sleep_ms(20);
    }
    return fl_err(err, "docker: exec in '%s' still running after its output ended", id);
}

int docker_exec_create(struct docker_client *c, const char *id, char *const *argv, char exec_id[128], char *err)
{
    return exec_create(c, id, argv, 0, exec_id, err);
}

int docker_exec_start_detached(struct docker_client *c, const char *exec_id, char *err)
{
    struct buf p;
    buf_init(&p, 512);
    buf_adds(&p, "/exec/");
    add_escaped(&p, exec_id);
    buf_adds(&p, "/start");
    int ret = docker_call(c, "POST", p.data, "{\"Detach\":true,\"Tty\":false}", 0, NULL, NULL, err);
    buf_release(&p);
    return ret;
}

int docker_exec_inspect(struct docker_client *c, const char *exec_id, int *running, long *pid, int *exit_code,
                        char *err)
{
    struct buf p;
    buf_init(&p, 512);
    buf_adds(&p, "/exec/");
    add_escaped(&p, exec_id);
    buf_adds(&p, "/json");
    json_t *j = NULL;
    int ret = docker_call(c, "GET", p.data, NULL, 0, NULL, &j, err);
    buf_release(&p);
    if (ret < 0) return -1;
    if (!json_is_object(j)) {
        json_decref(j);
        return fl_err(err, "docker: exec inspect '%.12s': reply is not an object", exec_id);
    }
    json_t *code = json_object_get(j, "ExitCode");
    if (running) *running = json_is_true(json_object_get(j, "Running"));
    if (pid) *pid = (long)json_integer_value(json_object_get(j, "Pid"));
    if (exit_code) *exit_code = json_is_integer(code) ? (int)json_integer_value(code) : -1;
    json_decref(j);
    return 0;
}

/* ---- resources ---------------------------------------------------------------------------------- */

int docker_update(struct docker_client *c, const char *id, const json_t *body, char *err)
{
    char *b = json_dumps(body, JSON_COMPACT);
    char *path = cpath(id, "/update");
    int ret = docker_call(c, "POST", path, b, 0, NULL, NULL, err);
    free(path);
    free(b);
    return ret;
}

int docker_stats_once(struct docker_client *c, const char *id, json_t **json, char *err)
{
    char *path = cpath(id, "/stats?stream=false&one-shot=true");
    int ret = docker_call(c, "GET", path, NULL, 0, NULL, json, err);
    free(path);
    if (ret == 0 && !json_is_object(*json)) {
        json_decref(*json);
        *json = NULL;
        ret = fl_err(err, "docker: stats of '%s': reply is not an object", id);
    }
    return ret;
}

json_t *docker_resources_from_json(const json_t *hc)
{
    json_t *r = json_object();
    static const char *const keys[] = { "NanoCpus", "CpuQuota", "CpuPeriod", "Memory", "MemorySwap", NULL };
    for (size_t i = 0; keys[i]; i++)
        json_object_set_new(r, keys[i], json_integer(json_integer_value(json_object_get(hc, keys[i]))));
    json_t *pl = json_object_get(hc, "PidsLimit");
    json_object_set_new(r, "PidsLimit", json_is_integer(pl) ? json_integer(json_integer_value(pl)) : json_null());
    return r;
}

int docker_mem_used_from_json(const json_t *stats, int64_t *used, char *err)
{
    const json_t *ms = json_object_get(stats, "memory_stats");
    const json_t *usage = json_object_get(ms, "usage");
    const json_t *st = json_object_get(ms, "stats");
    const json_t *inact = json_object_get(st, "total_inactive_file");
    if (!inact) inact = json_object_get(st, "inactive_file");
    if (!json_is_integer(usage) || json_integer_value(usage) < 0)
        return fl_err(err, "docker: stats have no memory usage");
    int64_t u = (int64_t)json_integer_value(usage);
    /* a cache figure that is no count of bytes, or above the usage, is left out */
    if (json_is_integer(inact) && json_integer_value(inact) >= 0 && json_integer_value(inact) < u)
        u -= (int64_t)json_integer_value(inact);
    *used = u;
    return 0;
}

/* ---- health ---------------------------------------------------------------------------------- */

int docker_wait_healthy(struct docker_client *c, const char *id, int64_t timeout_ms, char *err)
{
    int64_t deadline = fl_now_ms() + timeout_ms;
    struct docker_cstate st;
    for (;;) {
        if (docker_inspect(c, id, &st, NULL, err) < 0) return -1;
        if (!st.has_healthcheck || strcmp(st.health, "healthy") == 0) return 0;
        if (st.state != DS_RUNNING && st.state != DS_RESTARTING)
            return fl_err(err, "container '%s' is %s (exit code %d) while waiting for it to be healthy", st.name,
                          docker_state_name(st.state), st.exit_code);
        if (fl_now_ms() >= deadline)
            return fl_err(err, "container '%s' not healthy within %.1fs (health: %s)", st.name,
                          timeout_ms / 1000.0, st.health[0] ? st.health : "none yet");
        if (fl_abort_level() >= 2) return fl_err(err, "container '%s': wait for healthy interrupted", st.name);
        sleep_ms(200);
    }
}

/* ---- create / remove (tests and benchmarks) ---------------------------------------------------- */

int docker_create(struct docker_client *c, const char *name, json_t *config, char id_out[72], char *err)
{
    struct buf p;
    buf_init(&p, 1024);
    buf_adds(&p, "/containers/create");
    if (name) {
        buf_adds(&p, "?name=");
        add_escaped(&p, name);
    }
    char *body = json_dumps(config, JSON_COMPACT);
    json_t *reply = NULL;
    int ret = docker_call(c, "POST", p.data, body, 0, NULL, &reply, err);
    free(body);
    buf_release(&p);
    if (ret < 0) return -1;
    const char *id = json_string_value(json_object_get(reply, "Id"));
    if (!id) ret = fl_err(err, "docker: create '%s' returned no id", name ? name : "");
    else snprintf(id_out, 72, "%s", id);
    json_decref(reply);
    return ret;
}

/* DELETE path (freed here); an object already gone (404) counts as removed */
static int delete_object(struct docker_client *c, char *path, char *err)
{
    struct docker_reply r;
    docker_reply_init(&r);
    int ret = docker_request(c, "DELETE", path, 1, NULL, 0, &r, err);
    if (ret == 0 && r.status >= 300 && r.status != 404) ret = docker_status_err(r.status, r.body.data, err);
    docker_reply_release(&r);
    free(path);
    return ret;
}

int docker_remove(struct docker_client *c, const char *id, char *err)
{
    return delete_object(c, cpath(id, "?force=1&v=1"), err);
}

/* ---- swarm: services, tasks, nodes ----------------------------------------------------------- */

/* "/<kind>/<ref><suffix>" */
static char *kpath(const char *kind, const char *ref, const char *suffix)
{
    struct buf b;
    buf_init(&b, 4096);
    buf_addf(&b, "/%s/", kind);
    add_escaped(&b, ref);
    buf_adds(&b, suffix);
    return buf_detach(&b);
}

/* An update answered "update out of sequence" (another writer bumped the version first)? */
static int out_of_sequence(const char *e) { return strstr(e, "out of sequence") != NULL; }

/* POST an edited Spec back at the version it was read at (/services or /nodes). 0 = done,
 * 1 = "update out of sequence" on attempt < 4 (read the object again and retry), -1 = err. */
static int spec_update(struct docker_client *c, const char *kind, const char *id, uint64_t version, json_t *spec,
                       int attempt, char *err)
{
    char *body = json_dumps(spec, JSON_COMPACT);
    char suffix[64];
    snprintf(suffix, sizeof suffix, "/update?version=%llu", (unsigned long long)version);
    char *path = kpath(kind, id, suffix);
    char e[FL_ERR_LEN];
    int ret = docker_call(c, "POST", path, body, 0, NULL, NULL, e);
    free(path);
    free(body);
    if (ret == 0) return 0;
    if (!out_of_sequence(e) || attempt >= 4) return fl_err(err, "%s", e);
    sleep_ms(50);
    return 1;
}

static void copy_str(char *dst, size_t n, const json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(dst, n, "%s", s ? s : "");
}

int docker_service_from_json(const json_t *j, struct docker_service *sv, char *err)
{
    memset(sv, 0, sizeof *sv);
    json_t *spec;
    if (reply_id_and(j, "service", "ID", "Spec", sv->id, sizeof sv->id, &spec, err) < 0) return -1;
    copy_str(sv->name, sizeof sv->name, json_object_get(spec, "Name"));
    sv->version = (uint64_t)json_integer_value(json_object_get(json_object_get(j, "Version"), "Index"));
    json_t *mode = json_object_get(spec, "Mode");
    json_t *rep = json_object_get(mode, "Replicated");
    if (json_is_object(rep)) {
        sv->replicas = json_integer_value(json_object_get(rep, "Replicas"));
    } else if (json_object_get(mode, "Global")) {
        sv->global = 1;
        sv->replicas = -1;
    } else {
        return fl_err(err, "docker: service '%s' has a mode faultline does not know (neither replicated nor global)",
                      sv->name);
    }
    return 0;
}

static int decode_service(json_t *j, void *out, char *err) { return docker_service_from_json(j, out, err); }

int docker_service_inspect(struct docker_client *c, const char *ref, struct docker_service *sv, json_t **json,
                           char *err)
{
    return inspect_object(c, kpath("services", ref, ""), "service", ref, decode_service, sv, json, err);
}

int docker_service_list(struct docker_client *c, char *const *label_filters, size_t nfilters, json_t **arr, char *err)
{
    return list_filtered(c, "/services", "label", label_filters, nfilters, "service", arr, err);
}

int docker_service_scale(struct docker_client *c, const char *ref, int64_t replicas, int64_t *prior, char *err)
{
    if (replicas < 0) return fl_err(err, "docker: cannot scale service '%s' to %lld replicas", ref, (long long)replicas);
    for (int attempt = 0;; attempt++) {
        struct docker_service sv;
        json_t *j = NULL;
        if (docker_service_inspect(c, ref, &sv, &j, err) < 0) return -1;
        if (sv.global) {
            json_decref(j);
            return fl_err(err, "docker: service '%s' is global (one task per node): it has no replica count to scale",
                          sv.name);
        }
        if (prior && attempt == 0) *prior = sv.replicas;
        json_t *spec = json_object_get(j, "Spec");
        json_object_set_new(json_object_get(json_object_get(spec, "Mode"), "Replicated"), "Replicas",
                            json_integer(replicas));
        int r = spec_update(c, "services", sv.id, sv.version, spec, attempt, err);
        json_decref(j);
        if (r <= 0) return r;
    }
}

int docker_service_create(struct docker_client *c, json_t *spec, char id_out[72], char *err)
{
    char *body = json_dumps(spec, JSON_COMPACT);
    json_t *reply = NULL;
    int ret = docker_call(c, "POST", "/services/create", body, 0, NULL, &reply, err);
    free(body);
    if (ret < 0) return -1;
    const char *id = json_string_value(json_object_get(reply, "ID"));
    if (!id) ret = fl_err(err, "docker: service create returned no ID");
    else snprintf(id_out, 72, "%s", id);
    json_decref(reply);
    return ret;
}

int docker_service_remove(struct docker_client *c, const char *ref, char *err)
{
    return delete_object(c, kpath("services", ref, ""), err);
}

int docker_task_from_json(const json_t *j, struct docker_task *t, char *err)
{
    memset(t, 0, sizeof *t);
    json_t *status;
    if (reply_id_and(j, "task", "ID", "Status", t->id, sizeof t->id, &status, err) < 0) return -1;
    copy_str(t->service_id, sizeof t->service_id, json_object_get(j, "ServiceID"));
    copy_str(t->node_id, sizeof t->node_id, json_object_get(j, "NodeID"));
    copy_str(t->container_id, sizeof t->container_id,
             json_object_get(json_object_get(status, "ContainerStatus"), "ContainerID"));
    t->slot = (int)json_integer_value(json_object_get(j, "Slot"));
    copy_str(t->state, sizeof t->state, json_object_get(status, "State"));
    copy_str(t->desired, sizeof t->desired, json_object_get(j, "DesiredState"));
    return 0;
}

static int decode_task(json_t *j, void *out, char *err) { return docker_task_from_json(j, out, err); }

int docker_task_inspect(struct docker_client *c, const char *id, struct docker_task *t, char *err)
{
    return inspect_object(c, kpath("tasks", id, ""), "task", id, decode_task, t, NULL, err);
}

int docker_task_list(struct docker_client *c, const char *service_id, json_t **arr, char *err)
{
    char *const ids[] = { (char *)service_id };
    return list_filtered(c, "/tasks", "service", ids, 1, "task", arr, err);
}

/* states a task passes through before running */
static int task_starting(const char *s)
{
    static const char *const early[] = { "new", "allocated", "pending", "assigned", "accepted", "preparing", "ready",
                                         "starting", NULL };
    for (size_t i = 0; early[i]; i++)
        if (strcmp(early[i], s) == 0) return 1;
    return 0;
}

void docker_svc_status_from(const struct docker_service *sv, const json_t *tasks, struct docker_svc_status *st)
{
    memset(st, 0, sizeof *st);
    int64_t want = 0;
    size_t i;
    json_t *it;
    json_array_foreach(tasks, i, it) {
        struct docker_task t;
        char e[FL_ERR_LEN];
        if (docker_task_from_json(it, &t, e) < 0) continue;
        int should_run = strcmp(t.desired, "running") == 0;
        int runs = strcmp(t.state, "running") == 0;
        if (should_run) want++;
        if (should_run && runs) st->running++;
        else if (should_run && task_starting(t.state)) st->pending++;
        else if (!should_run && (runs || task_starting(t.state))) st->stopping++;
        if (strcmp(t.state, "failed") == 0 || strcmp(t.state, "rejected") == 0) st->failed++;
    }
    st->desired = sv->global ? want : sv->replicas;
    st->converged = st->running == st->desired && st->pending == 0 && st->stopping == 0;
}

int docker_service_status(struct docker_client *c, const char *ref, struct docker_svc_status *st, char *err)
{
    struct docker_service sv;
    if (docker_service_inspect(c, ref, &sv, NULL, err) < 0) return -1;
    json_t *tasks = NULL;
    if (docker_task_list(c, sv.id, &tasks, err) < 0) return -1;
    docker_svc_status_from(&sv, tasks, st);
    json_decref(tasks);
    return 0;
}

int docker_service_wait_converged(struct docker_client *c, const char *ref, int64_t timeout_ms, int64_t *took_ms,
                                  char *err)
{
    int64_t t0 = fl_now_ms();
    struct docker_svc_status st;
    for (;;) {
        if (docker_service_status(c, ref, &st, err) < 0) return -1;
        int64_t now = fl_now_ms();
        if (st.converged) {
            if (took_ms) *took_ms = now - t0;
            return 0;
        }
        if (now - t0 >= timeout_ms)
            return fl_err(err, "service '%s' not converged within %.1fs: %lld of %lld running, %lld starting, %lld stopping",
                          ref, timeout_ms / 1000.0, (long long)st.running, (long long)st.desired, (long long)st.pending,
                          (long long)st.stopping);
        if (fl_abort_level() >= 2) return fl_err(err, "service '%s': wait for convergence interrupted", ref);
        sleep_ms(100);
    }
}

int docker_node_from_json(const json_t *j, struct docker_node *nd, char *err)
{
    memset(nd, 0, sizeof *nd);
    json_t *spec;
    if (reply_id_and(j, "node", "ID", "Spec", nd->id, sizeof nd->id, &spec, err) < 0) return -1;
    copy_str(nd->hostname, sizeof nd->hostname, json_object_get(json_object_get(j, "Description"), "Hostname"));
    nd->version = (uint64_t)json_integer_value(json_object_get(json_object_get(j, "Version"), "Index"));
    copy_str(nd->availability, sizeof nd->availability, json_object_get(spec, "Availability"));
    copy_str(nd->role, sizeof nd->role, json_object_get(spec, "Role"));
    copy_str(nd->state, sizeof nd->state, json_object_get(json_object_get(j, "Status"), "State"));
    return 0;
}

static int decode_node(json_t *j, void *out, char *err) { return docker_node_from_json(j, out, err); }

int docker_node_inspect(struct docker_client *c, const char *ref, struct docker_node *nd, json_t **json, char *err)
{
    return inspect_object(c, kpath("nodes", ref, ""), "node", ref, decode_node, nd, json, err);
}

int docker_node_set_availability(struct docker_client *c, const char *ref, const char *availability,
                                 char prior[16], int *changed, char *err)
{
    if (strcmp(availability, "active") && strcmp(availability, "pause") && strcmp(availability, "drain"))
        return fl_err(err, "docker: node availability '%s' is not active, pause or drain", availability);
    if (changed) *changed = 0;
    for (int attempt = 0;; attempt++) {
        struct docker_node nd;
        json_t *j = NULL;
        if (docker_node_inspect(c, ref, &nd, &j, err) < 0) return -1;
        if (prior && attempt == 0) snprintf(prior, 16, "%s", nd.availability);
        if (strcmp(nd.availability, availability) == 0) {
            json_decref(j);
            return 0;
        }
        json_t *spec = json_object_get(j, "Spec");
        json_object_set_new(spec, "Availability", json_string(availability));
        int r = spec_update(c, "nodes", nd.id, nd.version, spec, attempt, err);
        json_decref(j);
        if (r == 0 && changed) *changed = 1;
        if (r <= 0) return r;
    }
}

int docker_swarm_self(struct docker_client *c, char node_id[72], int *manager, char *err)
{
    json_t *j = NULL;
    if (docker_call(c, "GET", "/info", NULL, 0, NULL, &j, err) < 0) return -1;
    json_t *sw = json_object_get(j, "Swarm");
    copy_str(node_id, 72, json_object_get(sw, "NodeID"));
    if (manager) *manager = json_is_true(json_object_get(sw, "ControlAvailable"));
    json_decref(j);
    return 0;
}
