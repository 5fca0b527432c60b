/* A project that uses an installed (or vendored) wsproxy.h, as tests/packaging.sh builds it:
   with pkg-config, with find_package(wsproxy) and with add_subdirectory / FetchContent.
   consumer ws://127.0.0.1:PORT/path MESSAGE: sends MESSAGE, prints the echo, closes with
   1000. Prints "wsproxy X.Y.Z" first (the header it was built against). Exit 0 when the
   echo came back and the close handshake completed. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include <wsproxy.h>   /* found through the package's include directory only */

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int dial(const char *host, unsigned port)   /* blocking, 10 s send/receive limits */
{
    struct addrinfo hints, *res, *ai;
    struct timeval tv = {10, 0};
    char service[8];
    int fd = -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0) return -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0) continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) { close(fd); fd = -1; }
    }
    freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    static wsproxy_client c;
    wsproxy_config cfg;
    wsproxy_event ev;
    const unsigned char *out;
    unsigned char *in;
    size_t n;
    ssize_t r;
    int fd, echoed = 0, rc = 1;
    if (argc != 3) { fprintf(stderr, "usage: consumer ws://host:port/path MESSAGE\n"); return 2; }
    printf("wsproxy %d.%d.%d\n", WSPROXY_VERSION_MAJOR, WSPROXY_VERSION_MINOR, WSPROXY_VERSION_PATCH);
    memset(&cfg, 0, sizeof cfg);
    cfg.url = argv[1];
    cfg.random = wsproxy_os_random;
    if (wsproxy_init(&c, &cfg) != WSPROXY_OK) { fprintf(stderr, "consumer: bad URL\n"); return 2; }
    if ((fd = dial(wsproxy_connect_host(&c), wsproxy_connect_port(&c))) < 0) {
        fprintf(stderr, "consumer: cannot connect\n");
        return 1;
    }
    for (;;) {
        while (wsproxy_poll(&c, &ev)) {
            if (ev.type == WSPROXY_EV_OPEN) wsproxy_send_text(&c, argv[2], strlen(argv[2]));
            if (ev.type == WSPROXY_EV_MESSAGE && ev.fin) {
                printf("%.*s\n", (int)ev.len, (const char *)ev.data);
                echoed = 1;
                wsproxy_close(&c, 1000, "", 0);
            }
            if (ev.type == WSPROXY_EV_CLOSE) rc = echoed ? 0 : 1;
            if (ev.type == WSPROXY_EV_CLOSE || ev.type == WSPROXY_EV_ERROR) goto done;
        }
        while ((out = wsproxy_send_buf(&c, &n)) != NULL) {
            if ((r = send(fd, out, n, 0)) < 0) { wsproxy_socket_closed(&c, errno); break; }
            wsproxy_send_ack(&c, (size_t)r);
        }
        if ((in = wsproxy_recv_buf(&c, &n)) == NULL) continue;
        r = recv(fd, in, n, 0);
        if (r > 0) wsproxy_recv_ack(&c, (size_t)r);
        else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) wsproxy_timeout(&c);
        else wsproxy_socket_closed(&c, r == 0 ? 0 : errno);
    }
done:
    if (rc) {
        char why[512];
        wsproxy_describe(&c, why, sizeof why);
        fprintf(stderr, "consumer: %s\n", why);
    }
    close(fd);
    return rc;
}
