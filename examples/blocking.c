/* blocking: the shortest correct wsproxy.h program. One blocking socket, the proxy
   from the environment, one message out, its reply printed, a clean close.
   usage: blocking ws://host[:port]/path [MESSAGE]
   Build, copied next to wsproxy.h: cc -std=c99 -O2 -o blocking blocking.c
   The proxy is chosen as curl does: ws_proxy, http_proxy, all_proxy (and upper-case
   forms), vetoed by NO_PROXY; none set means direct. http:// and socks4a:// / socks5h://
   proxies work as they are; socks4:// and socks5:// to a host name need the resolved
   address in cfg.target_address (see wspcat.c), else WSPROXY_E_SOCKS_NEED_ADDRESS.
   Exit 0 when the close handshake completed, 1 otherwise. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_NO_TLS               /* no wss://, no https:// proxies: no BearSSL needed */
#define WSPROXY_IMPLEMENTATION
#include "wsproxy.h"
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int dial(const char *host, unsigned port)   /* blocking TCP connect, 10 s timeouts */
{
    struct addrinfo hints = {0}, *res, *ai;
    struct timeval tv = {10, 0};
    char service[8];
    int fd = -1;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0) { errno = EHOSTUNREACH; return -1; }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0) continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);   /* our only timer */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) { int e = errno; close(fd); fd = -1; errno = e; }
    }
    freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    static wsproxy_client c;                       /* ~40 KiB: not on the stack */
    wsproxy_config cfg = {0};
    wsproxy_event ev;
    const char *msg = argc > 2 ? argv[2] : "hello";
    char why[512], proxy[WSPROXY_MAX_URL_BYTES + 1];
    const unsigned char *out;
    unsigned char *in;
    size_t n;
    ssize_t r;
    int fd = -1, rc;
    if (argc < 2) { fprintf(stderr, "usage: blocking ws://host[:port]/path [MESSAGE]\n"); return 1; }
    cfg.url = argv[1];
    cfg.proxy = proxy;                             /* "" means direct */
    cfg.random = wsproxy_os_random;
    rc = wsproxy_proxy_from_env(cfg.url, wsproxy_os_getenv, NULL, NULL, proxy, sizeof proxy, NULL);
    if (rc == WSPROXY_OK) rc = wsproxy_init(&c, &cfg);
    if (rc != WSPROXY_OK) {                        /* bad URL or proxy: nothing was sent */
        fprintf(stderr, "blocking: %s: %s\n", wsproxy_strerror(rc), wsproxy_error_message(rc));
        return 1;
    }
    rc = 1;
    if ((fd = dial(wsproxy_connect_host(&c), wsproxy_connect_port(&c))) < 0)
        wsproxy_socket_closed(&c, errno);          /* reported below as an ERROR event */
    for (;;) {
        while (wsproxy_poll(&c, &ev)) {
            if (ev.type == WSPROXY_EV_OPEN) wsproxy_send_text(&c, msg, strlen(msg));
            if (ev.type == WSPROXY_EV_MESSAGE) {
                printf("%.*s%s", (int)ev.len, (const char *)ev.data, ev.fin ? "\n" : "");
                if (ev.fin) wsproxy_close(&c, 1000, "", 0);
            }
            if (ev.type == WSPROXY_EV_CLOSE) rc = 0;
            if (ev.type == WSPROXY_EV_CLOSE || ev.type == WSPROXY_EV_ERROR) goto done;
        }
        while ((out = wsproxy_send_buf(&c, &n)) != NULL) {
            if ((r = send(fd, out, n, MSG_NOSIGNAL)) < 0) { wsproxy_socket_closed(&c, errno); break; }
            wsproxy_send_ack(&c, (size_t)r);
        }
        if ((in = wsproxy_recv_buf(&c, &n)) == NULL) continue;   /* nothing to read: poll */
        r = recv(fd, in, n, 0);
        if (r > 0) wsproxy_recv_ack(&c, (size_t)r);
        else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {   /* 10 s of silence */
            if (wsproxy_waiting_for(&c) != WSPROXY_WAIT_NONE) wsproxy_timeout(&c);
            else wsproxy_close(&c, 1000, "no reply", 8);              /* our own wait */
        } else wsproxy_socket_closed(&c, r == 0 ? 0 : errno);
    }
done:
    if (rc) { wsproxy_describe(&c, why, sizeof why); fprintf(stderr, "blocking: %s\n", why); }
    while (fd >= 0 && (out = wsproxy_send_buf(&c, &n)) != NULL && (r = send(fd, out, n, MSG_NOSIGNAL)) > 0)
        wsproxy_send_ack(&c, (size_t)r);           /* the close frame, if one is queued */
    if (fd >= 0) close(fd);
    return rc;
}
