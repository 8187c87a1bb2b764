/* splice_floor.c -- the leanest splice(2) forwarder this bench could write: the floor
 * under any user-space TCP proxy on this machine, measured beside faultline's.
 *   splice_floor LISTEN_PORT UPSTREAM_PORT     (loopback; runs until killed)
 * Per connection two blocking threads, one per direction, each moving bytes socket ->
 * pipe -> socket with splice(2) and nothing else: no event loop, no bookkeeping. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct half { int in, out; };

static void *pump(void *arg)
{
    struct half *h = arg;
    int p[2];
    if (pipe(p) == 0) {
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        for (;;) {
            ssize_t n = splice(h->in, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
            if (n <= 0) break;
            while (n > 0) {
                ssize_t m = splice(p[0], NULL, h->out, NULL, (size_t)n, SPLICE_F_MOVE);
                if (m <= 0) { n = -1; break; }
                n -= m;
            }
            if (n < 0) break;
        }
        close(p[0]);
        close(p[1]);
    }
    shutdown(h->out, SHUT_WR);
    return NULL;
}

static void *conn_main(void *arg)
{
    struct half *hs = arg;   /* hs[0]: client -> upstream, hs[1]: upstream -> client */
    pthread_t t;
    pthread_create(&t, NULL, pump, &hs[0]);
    pump(&hs[1]);
    pthread_join(t, NULL);
    close(hs[0].in);
    close(hs[0].out);
    free(hs);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: splice_floor LISTEN_PORT UPSTREAM_PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in up = a;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    up.sin_port = htons((unsigned short)atoi(argv[2]));
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0) { perror("splice_floor"); return 1; }
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) continue;
        int u = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(u, (struct sockaddr *)&up, sizeof up) < 0) { close(c); close(u); continue; }
        struct half *hs = malloc(2 * sizeof *hs);
        hs[0] = (struct half){ c, u };
        hs[1] = (struct half){ u, c };
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, hs) != 0) { close(c); close(u); free(hs); continue; }
        pthread_detach(t);
    }
}
