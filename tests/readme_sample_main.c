/* Builds the README's event-loop sample (extracted by tests/readme_sample.sh into
   SAMPLE_FILE) with a version of each helper it names, as a reader would write them. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include "wsproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static void fail(const wsproxy_client *c)
{
    char msg[512];
    wsproxy_describe(c, msg, sizeof msg);
    fprintf(stderr, "sample: %s\n", msg);
    exit(1);
}

/* A non-blocking TCP connect to host:port (the connect completes in the loop). */
static int tcp_connect(const char *host, unsigned port)
{
    struct addrinfo hints, *ai;
    char service[8];
    int fd;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", port);
    if (getaddrinfo(host, service, &hints, &ai) != 0) { fprintf(stderr, "sample: %s does not resolve\n", host); exit(1); }
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) { perror("connect"); exit(1); }
    freeaddrinfo(ai);
    return fd;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How long each wait may last; WSPROXY_WAIT_NONE has no timer. */
static double seconds_for(int wait) { return wait == WSPROXY_WAIT_NONE ? 1e9 : 10.0; }

static int ms_until(double deadline)
{
    double left = deadline - now();
    if (left > 1e8) return -1;
    return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

int main(void)
{
#include SAMPLE_FILE
    {   /* what the sample's last comment asks: flush, then close */
        size_t n;
        const unsigned char *out;
        int tries = 0;
        while ((out = wsproxy_send_buf(&c, &n)) != NULL && tries++ < 100) {
            struct pollfd p = {fd, POLLOUT, 0};
            ssize_t w;
            if (poll(&p, 1, 100) <= 0) continue;
            w = send(fd, out, n, MSG_NOSIGNAL);
            if (w <= 0) break;
            wsproxy_send_ack(&c, (size_t)w);
        }
        close(fd);
        if (wsproxy_error(&c)) fail(&c);
    }
    return 0;
}
