/* journal_bench.c -- what the write-ahead journal costs a fault step, to the microsecond:
 * each fault kind's step in the runner's order (prepare, the intent journaled and fsync'd,
 * inject; then the done record; revert; the reverted record) with the journal on disk and
 * on tmpfs, against the same inject with no journal at all -- interleaved, one round of every
 * peer per kind at a time. Reported per kind: the medians of observe (prepare), intent (write
 * + fsync), inject, and all three back to back. The runner observes and journals up to
 * 100 ms before a step's at:, so these delay the effect itself only when they take longer.
 *
 *   journal-bench --rounds N --disk DIR --shm DIR --redis PORT --proxy PORT [--docker HOST --container ID]
 * Built and run by tests/bench/journal_bench.sh (linked against build/libfaultline.a).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fault.h"
#include "journal.h"
#include "plan.h"

enum { P_NONE, P_DISK, P_SHM, P_N };
static const char *const peer_names[P_N] = { "no journal", "journal, disk", "journal, tmpfs" };
enum { PH_OBSERVE, PH_INTENT, PH_INJECT, PH_EFFECT, PH_N };

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double median_us(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000.0;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "journal-bench: %s: %s\n", what, err);
    exit(1);
}

static int progress_hook(void *journal, long id, const char *phase, size_t item, json_t *note, int sync, char *err)
{
    return journal_progress(journal, id, phase, item, note, sync, err);
}

int main(int argc, char **argv)
{
    int rounds = 50, redis_port = 0, proxy_port = 0;
    const char *disk = NULL, *shm = NULL, *docker_host = NULL, *container = NULL;
    static const struct option opts[] = { { "rounds", required_argument, 0, 'r' }, { "disk", required_argument, 0, 'd' },
                                          { "shm", required_argument, 0, 's' }, { "redis", required_argument, 0, 'R' },
                                          { "docker", required_argument, 0, 'D' }, { "container", required_argument, 0, 'c' },
                                          { "proxy", required_argument, 0, 'P' }, { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'r') rounds = atoi(optarg);
        else if (c == 'd') disk = optarg;
        else if (c == 's') shm = optarg;
        else if (c == 'R') redis_port = atoi(optarg);
        else if (c == 'D') docker_host = optarg;
        else if (c == 'c') container = optarg;
        else if (c == 'P') proxy_port = atoi(optarg);
        else return 2;
    }
    if (!disk || !shm || !redis_port || !proxy_port || rounds < 1) {
        fprintf(stderr, "usage: journal-bench --rounds N --disk DIR --shm DIR --redis PORT --proxy PORT "
                        "[--docker HOST --container ID]\n");
        return 2;
    }
    fl_log_level = FL_LOG_ERROR;
    char yaml[4096];
    int n = snprintf(yaml, sizeof yaml,
                     "faultline: 1\nname: journal-bench\nduration: 1h\n"
                     "targets:\n  cache: { redis: { url: \"redis://127.0.0.1:%d/0\" } }\n"
                     "  link: { proxy: { listen: \"127.0.0.1:%d\", upstream: \"127.0.0.1:%d\" } }\n",
                     redis_port, proxy_port, redis_port);
    if (container)
        n += snprintf(yaml + n, sizeof yaml - (size_t)n, "  box: { docker: { container: \"%s\", host: \"%s\" } }\n",
                      container, docker_host);
    n += snprintf(yaml + n, sizeof yaml - (size_t)n,
                  "method:\n"
                  "  - { name: exec, at: 0s, for: 1s, fault: exec, run: \"true\" }\n"
                  "  - { name: maxmemory, at: 0s, for: 1s, fault: redis.maxmemory, target: cache, bytes: 64mb }\n"
                  "  - { name: proxy, at: 0s, for: 1s, fault: proxy.latency, target: link, latency: 1ms }\n");
    if (container)
        n += snprintf(yaml + n, sizeof yaml - (size_t)n, "  - { name: pause, at: 0s, for: 1s, fault: docker.pause, target: box }\n");
    struct diag d;
    diag_init(&d, "journal-bench.yaml");
    struct plan *p = plan_parse("journal-bench.yaml", yaml, (size_t)n, NULL, &d);
    if (!p || d.n) die("plan", d.n ? d.msgs[0] : "?");
    diag_release(&d);
    /* what the run offers the drivers: the seed, and per peer its journal (drv.h) */
    static const struct drv_hooks hooks = { .journal_progress = progress_hook };
    struct drv_ctx pctx[P_N];
    for (int k = 0; k < P_N; k++) pctx[k] = (struct drv_ctx){ .seed = 1, .hooks = &hooks };
    struct drv_ctx ctx = pctx[P_NONE];
    char err[FL_ERR_LEN];
    for (size_t i = 0; i < p->ntargets; i++)
        if (p->targets[i]->ops->open && p->targets[i]->ops->open(p->targets[i], &ctx, err) < 0) die(p->targets[i]->name, err);

    struct journal *jr[P_N] = { NULL };
    const char *dirs[P_N] = { NULL, disk, shm };
    for (int k = P_DISK; k < P_N; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/journal-bench.jsonl", dirs[k]);
        unlink(path);
        if (!(jr[k] = journal_open(path, "run", err)) || journal_begin(jr[k], "journal-bench", err) < 0) die(path, err);
        pctx[k].run = jr[k];
    }
    size_t nk = p->nsteps;
    int64_t *t = calloc(nk * P_N * PH_N * (size_t)rounds, sizeof *t);
#define T(kind, peer, ph, r) t[(((kind) * P_N + (peer)) * PH_N + (ph)) * (size_t)rounds + (size_t)(r)]
    for (int r = 0; r < rounds; r++) {
        for (size_t k = 0; k < nk; k++) {
            struct step *s = p->steps[k];
            for (int q = 0; q < P_N; q++) {
                int peer = (q + r) % P_N;   /* rotate who goes first */
                struct fault_step fs = { .name = s->name, .probability = s->probability, .for_ms = s->for_ms };
                struct fault_inst fi = { .ops = s->ops, .step = &fs, .target = s->target, .ctx = &pctx[peer],
                                         .cfg = s->cfg, .jid = -1 };
                int64_t t0 = fl_now_ns(), t1 = t0, t2 = t0;
                if (peer != P_NONE) {
                    if (s->ops->prepare && s->ops->prepare(&fi, err) < 0) die(s->name, err);
                    t1 = fl_now_ns();
                    fi.jid = journal_intent(jr[peer], s->name, s->ops->name, s->ops->save ? s->ops->save(&fi) : NULL, err);
                    if (fi.jid < 0) die("intent", err);
                    t2 = fl_now_ns();
                }
                if (s->ops->inject(&fi, err) < 0) die(s->name, err);
                int64_t t3 = fl_now_ns();
                if (peer != P_NONE) journal_done(jr[peer], fi.jid, 1, NULL, s->ops->save ? s->ops->save(&fi) : NULL);
                if (s->ops->revert && s->ops->revert(&fi, err) < 0) die(s->name, err);
                if (peer != P_NONE) journal_reverted(jr[peer], fi.jid, 1, "run");
                if (s->ops->free_state && fi.state) s->ops->free_state(fi.state);
                /* dockerd applies a container's pause/resume events asynchronously: a pause right
                 * after an unpause can be undone by the late "resumed" event. Let them settle. */
                if (!strcmp(s->ops->target_kind ? s->ops->target_kind : "", "docker")) usleep(50 * 1000);
                T(k, peer, PH_OBSERVE, r) = t1 - t0;
                T(k, peer, PH_INTENT, r) = t2 - t1;
                T(k, peer, PH_INJECT, r) = t3 - t2;
                T(k, peer, PH_EFFECT, r) = t3 - t0;
            }
        }
    }
    printf("per step, median of %d rounds, microseconds ('to effect': observe, intent and inject back to back)\n", rounds);
    printf("%-10s %-15s %9s %9s %9s %10s\n", "kind", "peer", "observe", "intent", "inject", "to effect");
    for (size_t k = 0; k < nk; k++) {
        double eff[P_N];
        for (int q = 0; q < P_N; q++) {
            double v[PH_N];
            for (int ph = 0; ph < PH_N; ph++) v[ph] = median_us(&T(k, q, ph, 0), rounds);
            eff[q] = v[PH_EFFECT];
            printf("%-10s %-15s %9.1f %9.1f %9.1f %10.1f\n", p->steps[k]->ops->name, peer_names[q], v[PH_OBSERVE],
                   v[PH_INTENT], v[PH_INJECT], v[PH_EFFECT]);
        }
        printf("%-10s %-15s back to back, the journal on disk adds %.1f us (%.2fx), on tmpfs %.1f us\n", "", "",
               eff[P_DISK] - eff[P_NONE], eff[P_NONE] > 0 ? eff[P_DISK] / eff[P_NONE] : 0, eff[P_SHM] - eff[P_NONE]);
    }
    for (int k = P_DISK; k < P_N; k++) {
        journal_end(jr[k], 0);
        journal_close(jr[k]);
    }
    for (size_t i = 0; i < p->ntargets; i++)
        if (p->targets[i]->ops->close) p->targets[i]->ops->close(p->targets[i], &ctx);
    free(t);
    plan_free(p);
    return 0;
}
