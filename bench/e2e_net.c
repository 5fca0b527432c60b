/* bench/e2e_net.c: blocking loopback sockets with handshake accounting. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"

int net_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

long net_send(int fd, const void *p, size_t n, io_count *io)
{
    ssize_t w;
    do w = send(fd, p, n, MSG_NOSIGNAL); while (w < 0 && errno == EINTR);
    if (w > 0 && io && io->counting) {
        if (io->last_was_read || io->flights == 0) io->flights++;
        io->last_was_read = 0;
        io->bytes += (size_t)w;
    }
    return (long)w;
}

int net_send_all(int fd, const void *p, size_t n, io_count *io)
{
    const unsigned char *c = (const unsigned char *)p;
    while (n) {
        long w = net_send(fd, c, n, io);
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

long net_recv(int fd, void *p, size_t n, io_count *io)
{
    ssize_t r;
    do r = recv(fd, p, n, 0); while (r < 0 && errno == EINTR);
    if (r > 0 && io && io->counting) {
        io->last_was_read = 1;
        io->bytes_read += (size_t)r;
    }
    return (long)r;
}

void payload_pattern(unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + 3);
}

void net_handshake_done(io_count *io, e2e_res *res)
{
    io->counting = 0;
    res->hs_bytes = io->bytes;
    res->hs_flights = io->flights;
    res->hs_bytes_read = io->bytes_read;
}
