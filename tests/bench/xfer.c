/* xfer.c -- a TCP byte source and sink for the proxy throughput bench.
 *   xfer serve PORT BYTES     accept forever; send BYTES to each client, then close
 *   xfer get PORT             connect, read to EOF; print "BYTES SECONDS MBPS"
 * Large buffers on both sides so the tool is never the bottleneck. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ (1 << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    return a;
}

static int serve(int port, long long bytes)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = loopback(port);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 16) < 0) { perror("xfer serve"); return 1; }
    char *buf = malloc(BUFSZ);
    memset(buf, 'x', BUFSZ);
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        int fd = accept(l, NULL, NULL);
        if (fd < 0) continue;
        long long left = bytes;
        while (left > 0) {
            ssize_t n = send(fd, buf, left < BUFSZ ? (size_t)left : BUFSZ, 0);
            if (n <= 0) break;
            left -= n;
        }
        close(fd);
    }
}

static int get(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(port);
    double t0 = now_s();
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("xfer get"); return 1; }
    char *buf = malloc(BUFSZ);
    long long got = 0;
    ssize_t n;
    while ((n = recv(fd, buf, BUFSZ, 0)) > 0) got += n;
    double dt = now_s() - t0;
    printf("%lld %.6f %.1f\n", got, dt, got / dt / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]), atoll(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "get")) return get(atoi(argv[2]));
    fprintf(stderr, "usage: xfer serve PORT BYTES | xfer get PORT\n");
    return 2;
}
