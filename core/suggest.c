/* suggest.c -- "did you mean": nearest name by edit distance (optimal string alignment). */
#include "suggest.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SUG_MAX 64   /* longer words are not typos of a key or kind name: no suggestion */

size_t suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > SUG_MAX || lb > SUG_MAX) return (size_t)-1;
    /* three rows: i-2, i-1, i */
    size_t r0[SUG_MAX + 1], r1[SUG_MAX + 1], r2[SUG_MAX + 1];
    size_t *pp = r0, *prev = r1, *cur = r2;
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        int ca = tolower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            int cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v) v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *suggest_nearest(const char *word, const char *const *names)
{
    if (!word || !names) return NULL;
    size_t lw = strlen(word);
    /* a typo changes about one letter in four */
    size_t allowed = lw < 8 ? 1 + (lw >= 6) : (lw + 1) / 4;
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; names[i]; i++) {
        size_t dd = suggest_distance(word, names[i]);
        if (dd < bestd) { bestd = dd; best = names[i]; }
    }
    if (!best || bestd > allowed || bestd >= lw || bestd >= strlen(best)) return NULL;
    return best;
}

static void add(char *out, size_t n, const char *s)
{
    size_t l = strlen(out);
    if (l + 1 < n) snprintf(out + l, n - l, "%s", s);
}

/* " (did you mean 'a', 'b' or 'c'?)" */
static void did_you_mean(char *out, size_t n, const char *const *pick, size_t k)
{
    add(out, n, " (did you mean ");
    for (size_t i = 0; i < k; i++) {
        add(out, n, i == 0 ? "'" : i + 1 == k ? " or '" : ", '");
        add(out, n, pick[i]);
        add(out, n, "'");
    }
    add(out, n, "?)");
}

void suggest_hint(char *out, size_t n, const char *word, const char *const *names, const char *label)
{
    if (!n) return;
    out[0] = '\0';
    if (!names || !names[0]) { snprintf(out, n, " (%s: none)", label); return; }
    const char *pick[4];
    size_t k = 0;
    const char *near = suggest_nearest(word, names);
    if (near) {
        /* as near, others: name them all ("p59": p50, p95 or p99) */
        size_t dn = suggest_distance(word, near);
        for (size_t i = 0; names[i] && k < 4; i++) {
            int dup = 0;
            for (size_t j = 0; j < k; j++) if (!strcmp(pick[j], names[i])) dup = 1;
            if (!dup && suggest_distance(word, names[i]) == dn) pick[k++] = names[i];
        }
    } else {
        /* a kind named without its family ("stop" for docker.stop / process.stop) */
        for (size_t i = 0; word && *word && names[i] && k < 4; i++) {
            const char *dot = strrchr(names[i], '.');
            if (dot && !strcasecmp(dot + 1, word)) pick[k++] = names[i];
        }
    }
    if (k) { did_you_mean(out, n, pick, k); return; }
    add(out, n, " (");
    add(out, n, label);
    add(out, n, ": ");
    for (size_t i = 0; names[i]; i++) {
        if (i) add(out, n, ", ");
        add(out, n, names[i]);
    }
    add(out, n, ")");
}
