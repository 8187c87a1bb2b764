/* auth.c -- demo users and HS256 JWT bearer tokens, as the users' FastAPI service issues.
 *
 * Stateless tokens: any replica sharing SCHEDULER_SECRET_KEY accepts the others' tokens (when
 * it is unset each process draws a random key, so tokens are per process). SHA-256 and HMAC
 * (FIPS 180-4, RFC 2104) are implemented here to keep the demo free of a crypto dependency.
 */
#include "sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

/* ---- SHA-256 ------------------------------------------------------------------------------ */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

struct sha256_ctx { uint32_t h[8]; uint8_t blk[64]; size_t nblk; uint64_t total; };

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256_init(struct sha256_ctx *s)
{
    static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, H0, sizeof H0);
    s->nblk = 0;
    s->total = 0;
}

static void sha256_update(struct sha256_ctx *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    while (len > 0) {
        size_t take = 64 - s->nblk < len ? 64 - s->nblk : len;
        memcpy(s->blk + s->nblk, p, take);
        s->nblk += take;
        p += take;
        len -= take;
        if (s->nblk == 64) {
            sha256_block(s->h, s->blk);
            s->nblk = 0;
        }
    }
}

static void sha256_final(struct sha256_ctx *s, uint8_t out[32])
{
    uint64_t bits = s->total * 8;
    uint8_t pad = 0x80, zero = 0;
    sha256_update(s, &pad, 1);
    while (s->nblk != 56) sha256_update(s, &zero, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void sha256(const void *data, size_t len, uint8_t out[32])
{
    struct sha256_ctx s;
    sha256_init(&s);
    sha256_update(&s, data, len);
    sha256_final(&s, out);
}

void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
    uint8_t k[64] = { 0 }, pad[64], inner[32];
    if (klen > 64) sha256(key, klen, k);
    else memcpy(k, key, klen);
    struct sha256_ctx s;
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    sha256_init(&s);
    sha256_update(&s, pad, 64);
    sha256_update(&s, msg, mlen);
    sha256_final(&s, inner);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    sha256_init(&s);
    sha256_update(&s, pad, 64);
    sha256_update(&s, inner, 32);
    sha256_final(&s, out);
}

/* ---- base64url without padding ------------------------------------------------------------ */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url(const uint8_t *in, size_t n, char *out) /* out: 4*n/3 + 4 bytes */
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        if (i + 1 < n) out[o++] = b64[v >> 6 & 63];
        if (i + 2 < n) out[o++] = b64[v & 63];
    }
    out[o] = '\0';
}

/* decode; returns the length or -1 */
static int b64url_dec(const char *in, size_t n, uint8_t *out, size_t cap)
{
    uint32_t v = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(b64, in[i], 64);
        if (!p || !in[i]) return -1;
        v = v << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) return -1;
            out[o++] = (uint8_t)(v >> bits);
        }
    }
    return (int)o;
}

/* ---- users and tokens --------------------------------------------------------------------- */
struct user { const char *name, *env, *fallback, *role; };
static const struct user users[] = {
    { "admin", "SCHEDULER_ADMIN_PASSWORD", "admin-password", "admin" },
    { "faculty", "SCHEDULER_FACULTY_PASSWORD", "faculty-password", "faculty" },
    { "resident", "SCHEDULER_RESIDENT_PASSWORD", "resident-password", "resident" },
};
static uint8_t secret[64];
static size_t secret_len;
static long token_ttl = 3600;

void auth_init(void)
{
    const char *k = getenv("SCHEDULER_SECRET_KEY");
    if (k && *k) {
        secret_len = strlen(k) > sizeof secret ? sizeof secret : strlen(k);
        memcpy(secret, k, secret_len);
    } else {
        if (getrandom(secret, 32, 0) != 32)
            for (int i = 0; i < 32; i++) secret[i] = (uint8_t)(rand() ^ (int)(fl_now_ns() >> i % 16));
        secret_len = 32;
    }
    const char *ttl = getenv("SCHEDULER_TOKEN_TTL");
    if (ttl && atol(ttl) > 0) token_ttl = atol(ttl);
}

static int const_eq(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= x[i] ^ y[i];
    return d == 0;
}

int auth_login(const char *user, const char *password, char **token)
{
    if (!user || !password) return -1;
    const struct user *u = NULL;
    for (size_t i = 0; i < sizeof users / sizeof *users; i++)
        if (strcmp(users[i].name, user) == 0) u = &users[i];
    if (!u) return -1;
    const char *want = getenv(u->env);
    if (!want || !*want) want = u->fallback;
    uint8_t h1[32], h2[32]; /* compare digests: constant time whatever the lengths */
    sha256(want, strlen(want), h1);
    sha256(password, strlen(password), h2);
    if (!const_eq(h1, h2, 32)) return -1;

    char jti[37];
    sched_uuid4(jti);
    long now = (long)time(NULL);
    json_t *payload = json_pack("{s:s, s:s, s:I, s:I, s:s}", "sub", u->name, "role", u->role, "iat", (json_int_t)now,
                                "exp", (json_int_t)(now + token_ttl), "jti", jti);
    char *pj = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    size_t plen = strlen(pj);
    char *out = fl_malloc(sizeof header * 2 + plen * 2 + 64);
    b64url((const uint8_t *)header, sizeof header - 1, out);
    size_t o = strlen(out);
    out[o++] = '.';
    b64url((const uint8_t *)pj, plen, out + o);
    free(pj);
    o += strlen(out + o);
    uint8_t mac[32];
    hmac_sha256(secret, secret_len, out, o, mac);
    out[o++] = '.';
    b64url(mac, 32, out + o);
    *token = out;
    return 0;
}

int auth_check_bearer(const char *authorization, char user[64])
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) return -1;
    const char *tok = authorization + 7;
    while (*tok == ' ') tok++;
    const char *dot1 = strchr(tok, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.') || strlen(tok) > 4096) return -1;
    uint8_t mac[32], got[40];
    hmac_sha256(secret, secret_len, tok, (size_t)(dot2 - tok), mac);
    if (b64url_dec(dot2 + 1, strlen(dot2 + 1), got, sizeof got) != 32 || !const_eq(mac, got, 32)) return -1;
    uint8_t payload[4096];
    int n = b64url_dec(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload, sizeof payload);
    if (n <= 0) return -1;
    json_t *p = json_loadb((const char *)payload, (size_t)n, 0, NULL);
    json_t *exp = json_object_get(p, "exp"), *sub = json_object_get(p, "sub");
    int ok = json_is_integer(exp) && json_integer_value(exp) > (json_int_t)time(NULL) && json_is_string(sub);
    if (ok && user) snprintf(user, 64, "%s", json_string_value(sub));
    json_decref(p);
    return ok ? 0 : -1;
}
