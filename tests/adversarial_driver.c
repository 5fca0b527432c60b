/* adversarial_driver: the library on a real socket against tests/peers/evil_server,
   measuring itself. One connection, a poll() loop like wspcat's, then one line per fact:

     result: CLOSE <code> | ERROR <WSPROXY_E_NAME> close=<code sent> | LIMIT (hard stop)
     elapsed_ms: N      recv_bytes: N      sent_bytes: N     would_block: N
     messages: N        pings: N           maxrss_kb: N      max_msg_bytes: N

   adversarial_driver URL [--proxy URL] [--timeout S] [--limit S] [--max-message N]
                          [--flood] [--close-after S]
     --timeout S       handshake / proxy / close timer (default 2)
     --limit S         hard stop for the whole run (default 20): "result: LIMIT"
     --max-message N   cfg.max_message
     --flood           once open, send 1 KiB binary messages whenever there is room
     --close-after S   once open, start the close handshake after S seconds
   The client struct is fixed-size; the driver allocates nothing per message, so its
   maximum RSS (getrusage) bounds the library's memory under attack. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#include "../wsproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    static wsproxy_client client;
    static unsigned char kib[1024];
    wsproxy_config cfg;
    wsproxy_client *c = &client;
    struct sockaddr_in sa;
    double timeout_s = 2, limit_s = 20, close_after = -1, t0, deadline = 0, opened_at = 0;
    unsigned long long recv_bytes = 0, sent_bytes = 0, would_block = 0, messages = 0, pings = 0;
    unsigned long long msg_bytes = 0, max_msg_bytes = 0;
    int flood = 0, fd, i, last_wait = -1, connecting = 1, done = 0, closing = 0, rc;
    char result[256] = "LIMIT";
    memset(&cfg, 0, sizeof cfg);
    memset(kib, 'k', sizeof kib);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--proxy") && i + 1 < argc) cfg.proxy = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) limit_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--max-message") && i + 1 < argc) cfg.max_message = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--flood")) flood = 1;
        else if (!strcmp(argv[i], "--close-after") && i + 1 < argc) close_after = atof(argv[++i]);
        else if (argv[i][0] != '-' && !cfg.url) cfg.url = argv[i];
        else { fprintf(stderr, "usage: adversarial_driver URL [--proxy URL] [--timeout S] [--limit S]"
                               " [--max-message N] [--flood] [--close-after S]\n"); return 2; }
    }
    if (!cfg.url) return 2;
    cfg.random = wsproxy_os_random;
    rc = wsproxy_init(c, &cfg);
    if (rc != WSPROXY_OK) { printf("result: ERROR %s close=0\n", wsproxy_strerror(rc)); return 0; }
    /* 127.0.0.1 only: the connect host must be a loopback IPv4 literal */
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)wsproxy_connect_port(c));
    if (inet_pton(AF_INET, wsproxy_connect_host(c), &sa.sin_addr) != 1 ||
        (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "adversarial_driver: loopback IPv4 hosts only\n");
        return 2;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        wsproxy_socket_closed(c, errno);
    t0 = now_ms();
    while (!done && now_ms() - t0 < limit_s * 1000) {
        struct pollfd pf;
        wsproxy_event ev;
        size_t n;
        int wait, tmo = 50;
        while (wsproxy_poll(c, &ev)) {
            if (ev.type == WSPROXY_EV_OPEN) opened_at = now_ms();
            else if (ev.type == WSPROXY_EV_PING) pings++;
            else if (ev.type == WSPROXY_EV_MESSAGE) {
                msg_bytes = ev.first ? ev.len : msg_bytes + ev.len;
                if (msg_bytes > max_msg_bytes) max_msg_bytes = msg_bytes;
                if (ev.fin) messages++;
            } else if (ev.type == WSPROXY_EV_CLOSE) {
                snprintf(result, sizeof result, "CLOSE %d", ev.close_code);
                done = 1;
            } else if (ev.type == WSPROXY_EV_ERROR) {
                snprintf(result, sizeof result, "ERROR %s close=%d", wsproxy_strerror(wsproxy_error(c)),
                         wsproxy_error_info_get(c)->close_code);
                done = 1;
            }
        }
        if (done) {   /* best effort: the close frame goes out */
            const unsigned char *p;
            while (!connecting && (p = wsproxy_send_buf(c, &n)) != NULL) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0) break;
                sent_bytes += (unsigned long long)w;
                wsproxy_send_ack(c, (size_t)w);
            }
            break;
        }
        if (wsproxy_get_state(c) == WSPROXY_STATE_OPEN) {
            if (close_after >= 0 && !closing && now_ms() - opened_at >= close_after * 1000) {
                wsproxy_close(c, 1000, "bye", 3);
                closing = 1;
            }
            while (flood && !closing) {
                int r = wsproxy_send_binary(c, kib, sizeof kib);
                if (r == WSPROXY_E_WOULD_BLOCK) { would_block++; break; }
                if (r != WSPROXY_OK) break;
            }
        }
        wait = wsproxy_waiting_for(c);
        if (wait != last_wait) {
            last_wait = wait;
            deadline = wait == WSPROXY_WAIT_NONE ? 0 : now_ms() + timeout_s * 1000;
        }
        if (deadline && now_ms() >= deadline) { wsproxy_timeout(c); continue; }
        pf.fd = fd;
        pf.events = connecting ? POLLOUT : 0;
        pf.revents = 0;
        if (!connecting) {
            if (wsproxy_send_buf(c, &n)) pf.events |= POLLOUT;
            if (wsproxy_recv_buf(c, &n)) pf.events |= POLLIN;
        }
        if (poll(&pf, 1, tmo) < 0 && errno != EINTR) break;
        if (connecting && (pf.revents & (POLLOUT | POLLERR | POLLHUP))) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr) { wsproxy_socket_closed(c, soerr); continue; }
            connecting = 0;
        }
        if (!connecting && (pf.revents & POLLOUT)) {
            const unsigned char *p = wsproxy_send_buf(c, &n);
            if (p) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w > 0) { sent_bytes += (unsigned long long)w; wsproxy_send_ack(c, (size_t)w); }
                else if (w < 0 && errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
            }
        }
        if (!connecting && (pf.revents & (POLLIN | POLLHUP | POLLERR))) {
            unsigned char *p = wsproxy_recv_buf(c, &n);
            if (p) {
                ssize_t r = recv(fd, p, n, 0);
                if (r > 0) { recv_bytes += (unsigned long long)r; wsproxy_recv_ack(c, (size_t)r); }
                else if (r == 0) wsproxy_socket_closed(c, 0);
                else if (errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
            }
        }
    }
    close(fd);
    printf("result: %s\n", result);
    printf("elapsed_ms: %.0f\n", now_ms() - t0);
    printf("recv_bytes: %llu\nsent_bytes: %llu\nwould_block: %llu\n", recv_bytes, sent_bytes, would_block);
    printf("messages: %llu\npings: %llu\nmax_msg_bytes: %llu\n", messages, pings, max_msg_bytes);
    printf("maxrss_kb: %ld\n", maxrss_kb());
    return 0;
}
