/* interop_driver: runs a fixed script against a real WebSocket echo server, directly
   or through a real proxy, and checks every echo byte for byte. Part of `make interop`
   (tests/interop/run.sh); built from wsproxy.h like examples/wspcat.c.

   interop_driver [--proxy URL] [--cacert FILE] [--proxy-cacert FILE] [--timeout SECONDS]
                  [--verbose] URL

   The script, in order (each step must finish within --timeout, default 10 s):
     open      TCP connect, proxy tunnel, TLS, 101
     text N    a text message of N bytes (ASCII mixed with 2-, 3- and 4-byte UTF-8,
               so chunk boundaries fall inside code points), N = 0 125 126 65536 1048576
     binary N  a binary message of N bytes (every byte value), same sizes
     fragments one binary message sent as three frames (1000 + 0 + 4000 bytes)
     ping      a ping with a payload; the pong must carry it back
     close     close 4000 "interop bye ✓"; the server's close must echo code and reason
   Messages of more than one send buffer are streamed (wsproxy_send_begin/send_data);
   replies are collected from the library's chunks (no message_buffer). TLS goes through
   BearSSL, or OpenSSL when built with -DWSPROXY_TLS_OPENSSL (build/interop_driver-openssl).

   Prints "ok - STEP (ms)" per step on stdout ("open (tunnel STATUS)" when a proxy
   tunnel was set up: the proxy's HTTP status, or the SOCKS one), or "FAIL - STEP: WHY" and stops.
   Exit codes: those of wspcat (0 ok, 1 usage, 2 connect, 3 proxy refused the tunnel,
   4 proxy authentication, 5 handshake, 6 protocol, 7 timeout, 8 TLS), and
     9  the echo differs from what was sent (or an unexpected event). */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include "../../wsproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_CONNECT = 2, EXIT_PROXY = 3, EXIT_PROXY_AUTH = 4,
       EXIT_HANDSHAKE = 5, EXIT_PROTOCOL = 6, EXIT_TIMEOUT = 7, EXIT_TLS = 8, EXIT_MISMATCH = 9 };

/* the same mapping as examples/wspcat.c */
static int exit_code_for(int err)
{
    switch (err) {
    case WSPROXY_E_PROXY_REFUSED: case WSPROXY_E_CONNECT_REFUSED: case WSPROXY_E_CONNECTION_LOST:
        return EXIT_CONNECT;
    case WSPROXY_E_PROXY_AUTH:
        return EXIT_PROXY_AUTH;
    case WSPROXY_E_PROXY_TIMEOUT: case WSPROXY_E_HANDSHAKE_TIMEOUT: case WSPROXY_E_CLOSE_TIMEOUT:
        return EXIT_TIMEOUT;
    default:
        break;
    }
    if (err == WSPROXY_E_SOCKS_AUTH_FAILED || err == WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD)
        return EXIT_PROXY_AUTH;
    if (err >= 340 && err < 400) return EXIT_USAGE;
    if (err >= 200 && err < 340) return EXIT_PROXY;
    if (err >= 400 && err < 500) return EXIT_HANDSHAKE;
    if (err >= 600 && err < 700) return EXIT_TLS;
    if (err >= 500) return EXIT_PROTOCOL;
    return EXIT_USAGE;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- connection state ------------------------------------------------------------- */
static wsproxy_client client;
static wsproxy_client *c = &client;
static int fd = -1, connecting = 1, verbose = 0;
static double timeout_ms = 10000;
static const char *step = "open";
static double step_start;

static int opened, closed, failed, tunnel_seen, tunnel_status;
static unsigned char *rx;            /* the message being received */
static size_t rx_len, rx_cap;
static int rx_opcode, rx_done, rx_messages, pings_seen;
static unsigned char pong[125];
static size_t pong_len;
static int pong_seen;
static int close_code;
static char close_reason[126];
static size_t close_reason_len;

static void die_alloc(void)
{
    fprintf(stderr, "interop_driver: out of memory\n");
    exit(EXIT_USAGE);
}

static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL - %s: ", step);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (fd >= 0) close(fd);
    exit(code);
}

static int fail_lib(void)
{
    char msg[700];
    int err = wsproxy_error(c);
    wsproxy_describe(c, msg, sizeof msg);
    return fail(exit_code_for(err), "%s", msg);
}

static void ok(const char *what)
{
    printf("ok - %s (%.1f ms)\n", what, now_ms() - step_start);
    fflush(stdout);
}

static void rx_append(const unsigned char *d, size_t n)
{
    if (rx_len + n > rx_cap) {
        size_t cap = rx_cap ? rx_cap : 65536;
        unsigned char *p;
        while (cap < rx_len + n) cap *= 2;
        p = (unsigned char *)realloc(rx, cap);
        if (!p) die_alloc();
        rx = p;
        rx_cap = cap;
    }
    if (n) memcpy(rx + rx_len, d, n);
    rx_len += n;
}

/* Drains the library's events into the state above (data is copied at once). */
static void drain_events(void)
{
    wsproxy_event ev;
    while (wsproxy_poll(c, &ev)) {
        switch (ev.type) {
        case WSPROXY_EV_TLS:
            if (verbose) fprintf(stderr, "* TLS to the %s done (ALPN %s)\n",
                                 ev.status == WSPROXY_HOP_PROXY ? "proxy" : "server",
                                 ev.protocol[0] ? ev.protocol : "none");
            break;
        case WSPROXY_EV_TUNNEL:
            tunnel_seen = 1;
            tunnel_status = ev.status;
            if (verbose) fprintf(stderr, "* tunnel up (%d)\n", ev.status);
            break;
        case WSPROXY_EV_OPEN:
            opened = 1;
            break;
        case WSPROXY_EV_MESSAGE:
            if (rx_done) fail(EXIT_MISMATCH, "a message arrived before the last one was checked");
            if (ev.first) { rx_len = 0; rx_opcode = ev.opcode; }
            else if (ev.opcode != rx_opcode)
                fail(EXIT_MISMATCH, "opcode changed inside a message (%d then %d)", rx_opcode, ev.opcode);
            rx_append(ev.data, ev.len);
            if (ev.fin) { rx_done = 1; rx_messages++; }
            break;
        case WSPROXY_EV_PING:
            pings_seen++;
            break;
        case WSPROXY_EV_PONG:
            pong_len = ev.len < sizeof pong ? ev.len : sizeof pong;
            memcpy(pong, ev.data, pong_len);
            pong_seen = 1;
            break;
        case WSPROXY_EV_CLOSE:
            close_code = ev.close_code;
            close_reason_len = ev.len < sizeof close_reason - 1 ? ev.len : sizeof close_reason - 1;
            memcpy(close_reason, ev.data, close_reason_len);
            close_reason[close_reason_len] = '\0';
            closed = 1;
            break;
        case WSPROXY_EV_ERROR:
            failed = 1;
            break;
        default:
            break;
        }
    }
}

/* One round of I/O: waits up to the step's deadline for the socket, moves bytes both
   ways, then drains events. Fails the run when the step's time is up. */
static void io_step(void)
{
    struct pollfd pfd;
    size_t n;
    int wait_ms, r;
    double left = step_start + timeout_ms - now_ms();
    drain_events();
    if (failed) fail_lib();
    if (left <= 0) {
        if (wsproxy_waiting_for(c) != WSPROXY_WAIT_NONE) {
            wsproxy_timeout(c);
            drain_events();
            if (failed) fail_lib();
        }
        fail(EXIT_TIMEOUT, "no progress within %.0f ms (sent %s, received %zu bytes of the reply)",
             timeout_ms, wsproxy_send_buf(c, &n) ? "pending" : "all", rx_len);
    }
    wait_ms = (int)left + 1;
    pfd.fd = fd;
    pfd.revents = 0;
    if (connecting) {
        pfd.events = POLLOUT;
    } else {
        pfd.events = 0;
        if (wsproxy_send_buf(c, &n)) pfd.events |= POLLOUT;
        if (wsproxy_recv_buf(c, &n)) pfd.events |= POLLIN;
        if (!pfd.events) return;   /* nothing to move: the caller has work to do */
    }
    r = poll(&pfd, 1, wait_ms);
    if (r < 0) {
        if (errno == EINTR) return;
        fail(EXIT_CONNECT, "poll: %s", strerror(errno));
    }
    if (connecting && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            wsproxy_socket_closed(c, soerr);
            drain_events();
            fail_lib();
        }
        connecting = 0;
        return;
    }
    if (pfd.revents & POLLOUT) {
        const unsigned char *p = wsproxy_send_buf(c, &n);
        if (p) {
            ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
            if (w > 0) wsproxy_send_ack(c, (size_t)w);
            else if (w < 0 && errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
        }
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        unsigned char *p = wsproxy_recv_buf(c, &n);
        if (p) {
            ssize_t got = recv(fd, p, n, 0);
            if (got > 0) wsproxy_recv_ack(c, (size_t)got);
            else if (got == 0) wsproxy_socket_closed(c, 0);
            else if (errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
        }
    }
    drain_events();
    if (failed) fail_lib();
}

/* ---- the script -------------------------------------------------------------------- */
static void begin_step(const char *name)
{
    step = name;
    step_start = now_ms();
}

/* Sends one whole message: in one frame when it fits the send buffer, else streamed. */
static void send_message(int opcode, const unsigned char *data, size_t len)
{
    size_t off = 0;
    int rc;
    for (;;) {
        if (len + WSPROXY_FRAME_HEADER_MAX <= WSPROXY_SEND_BUFFER_BYTES)
            rc = wsproxy_send(c, opcode, data, len, 1);
        else
            rc = wsproxy_send_begin(c, opcode, len, 1);
        if (rc == WSPROXY_OK) break;
        if (rc != WSPROXY_E_WOULD_BLOCK)
            fail(EXIT_USAGE, "send refused: %s", wsproxy_strerror(rc));
        io_step();
    }
    if (len + WSPROXY_FRAME_HEADER_MAX <= WSPROXY_SEND_BUFFER_BYTES) return;
    while (off < len) {
        off += wsproxy_send_data(c, data + off, len - off);
        if (off < len) io_step();
    }
}

static void flush_out(void)
{
    size_t n;
    while (wsproxy_send_buf(c, &n)) io_step();
}

static void expect_echo(int opcode, const unsigned char *data, size_t len)
{
    size_t i;
    while (!rx_done) io_step();
    rx_done = 0;
    if (rx_opcode != opcode)
        fail(EXIT_MISMATCH, "echo has opcode %d, sent %d", rx_opcode, opcode);
    if (rx_len != len)
        fail(EXIT_MISMATCH, "echo has %zu bytes, sent %zu", rx_len, len);
    for (i = 0; i < len; i++)
        if (rx[i] != data[i])
            fail(EXIT_MISMATCH, "echo differs at byte %zu of %zu (0x%02x, sent 0x%02x)", i, len,
                 rx[i], data[i]);
}

/* Text of exactly n bytes: ASCII with "é", "€" and "😀" mixed in, ASCII at the end. */
static void make_text(unsigned char *p, size_t n, unsigned seed)
{
    static const char *const pieces[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    size_t i = 0;
    unsigned x = seed * 2654435761u + 1;
    while (i < n) {
        x = x * 1103515245u + 12345u;
        if ((x >> 16) % 7 == 0) {
            const char *s = pieces[(x >> 8) % 3];
            size_t l = strlen(s);
            if (i + l <= n) { memcpy(p + i, s, l); i += l; continue; }
        }
        p[i++] = (unsigned char)('!' + (x >> 20) % 94);
    }
}

static void make_binary(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    unsigned x = seed * 2246822519u + 7;
    for (i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (unsigned char)(i < 256 ? i : x >> 24);   /* every byte value first */
    }
}

#ifndef WSPROXY_NO_TLS
/* Trust anchors from a PEM file, with either TLS backend (wsproxy_tls_trust_pem: with
   BearSSL decoded into memory of their own, with OpenSSL held by OpenSSL). */
static int load_trust(const char *path, wsproxy_tls_trust *out)
{
    FILE *f = fopen(path, "rb");
    char *pem = NULL;
    size_t len = 0, cap = 0, need = 0;
    unsigned char *mem = NULL;
    int rc;
    if (!f) { fprintf(stderr, "interop_driver: cannot open %s\n", path); return -1; }
    for (;;) {
        size_t got;
        if (cap - len < 65536) {
            char *p = (char *)realloc(pem, cap = cap ? cap * 2 : 262144);
            if (!p) { fclose(f); free(pem); return -1; }
            pem = p;
        }
        got = fread(pem + len, 1, cap - len, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    rc = wsproxy_tls_trust_pem(out, pem, len, NULL, 0, &need);   /* sizes first (BearSSL) */
    if (rc == WSPROXY_E_PEM_SPACE) {
        mem = (unsigned char *)malloc(need);
        rc = mem ? wsproxy_tls_trust_pem(out, pem, len, mem, need, &need) : WSPROXY_E_PEM_SPACE;
    }
    free(pem);
    if (rc != WSPROXY_OK || out->count == 0) { free(mem); return -1; }
    return 0;   /* mem (BearSSL's anchors) is kept until the process ends */
}
#endif

static int start_connect(const char *host, unsigned port, int *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int s = -1, one = 1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof portstr, "%u", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0) { *err = EHOSTUNREACH; return -1; }
    *err = ECONNREFUSED;
    for (ai = res; ai; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0) { *err = errno; continue; }
        fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) break;
        *err = errno;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    return s;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {0, 125, 126, 65536, 1048576};
    static const char close_reason_sent[] = "interop bye \xe2\x9c\x93";
    static const char ping_payload[] = "interop-ping-\x01\x02\xff";
    const char *cacert = NULL, *proxy_cacert = NULL;
    unsigned char target_addr[16], *buf;
    wsproxy_config cfg;
#ifndef WSPROXY_NO_TLS
    static wsproxy_tls_trust trust, proxy_trust;
#endif
    char name[64];
    size_t i;
    int k, err = 0, rc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&cfg, 0, sizeof cfg);
    for (k = 1; k < argc; k++) {
        const char *a = argv[k];
        int has_value = k + 1 < argc;
        if (!strcmp(a, "--proxy") && has_value) cfg.proxy = argv[++k];
        else if (!strcmp(a, "--cacert") && has_value) cacert = argv[++k];
        else if (!strcmp(a, "--proxy-cacert") && has_value) proxy_cacert = argv[++k];
        else if (!strcmp(a, "--timeout") && has_value) timeout_ms = atof(argv[++k]) * 1000;
        else if (!strcmp(a, "--verbose")) verbose = 1;
        else if (a[0] != '-' && !cfg.url) cfg.url = a;
        else {
            fprintf(stderr, "usage: interop_driver [--proxy URL] [--cacert FILE] [--proxy-cacert FILE]\n"
                            "                      [--timeout SECONDS] [--verbose] URL\n");
            return EXIT_USAGE;
        }
    }
    if (!cfg.url || timeout_ms <= 0) return EXIT_USAGE;
    if (cfg.proxy && !cfg.proxy[0]) cfg.proxy = NULL;
    if (cfg.proxy && wsproxy_needs_target_address(cfg.url, cfg.proxy)) {
        wsproxy_url u;
        char host[256];
        struct addrinfo hints, *res = NULL;
        wsproxy_url_parse(cfg.url, strlen(cfg.url), &u);
        snprintf(host, sizeof host, "%.*s", (int)u.host_len, u.host);
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
            return fail(EXIT_CONNECT, "cannot resolve %s", host);
        if (res->ai_family == AF_INET) {
            memcpy(target_addr, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, 4);
            cfg.target_address_type = WSPROXY_HOST_IPV4;
        } else {
            memcpy(target_addr, &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr, 16);
            cfg.target_address_type = WSPROXY_HOST_IPV6;
        }
        cfg.target_address = target_addr;
        freeaddrinfo(res);
    }
    cfg.random = wsproxy_os_random;
#ifndef WSPROXY_NO_TLS
    {
        size_t arena = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
        if (arena) {
            cfg.tls_arena = malloc(arena);
            cfg.tls_arena_len = arena;
            if (!cfg.tls_arena) die_alloc();
            if (cacert && load_trust(cacert, &trust) != 0) return fail(EXIT_USAGE, "cannot load %s", cacert);
            if (proxy_cacert && load_trust(proxy_cacert, &proxy_trust) != 0)
                return fail(EXIT_USAGE, "cannot load %s", proxy_cacert);
            if (cacert) cfg.tls.trust = &trust;
            if (proxy_cacert) cfg.proxy_tls.trust = &proxy_trust;
        }
    }
#else
    (void)cacert; (void)proxy_cacert;
#endif

    begin_step("open");
    rc = wsproxy_init(c, &cfg);
    if (rc != WSPROXY_OK) return fail_lib();
    fd = start_connect(wsproxy_connect_host(c), wsproxy_connect_port(c), &err);
    if (fd < 0) wsproxy_socket_closed(c, err);
    while (!opened) io_step();
    if (tunnel_seen) snprintf(name, sizeof name, "open (tunnel %d)", tunnel_status);
    else snprintf(name, sizeof name, "open");
    ok(name);

    buf = (unsigned char *)malloc(sizes[sizeof sizes / sizeof sizes[0] - 1]);
    if (!buf) die_alloc();
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(name, sizeof name, "text %zu", sizes[i]);
        begin_step(name);
        make_text(buf, sizes[i], (unsigned)i);
        send_message(WSPROXY_OP_TEXT, buf, sizes[i]);
        expect_echo(WSPROXY_OP_TEXT, buf, sizes[i]);
        ok(name);

        snprintf(name, sizeof name, "binary %zu", sizes[i]);
        begin_step(name);
        make_binary(buf, sizes[i], (unsigned)i + 100);
        send_message(WSPROXY_OP_BINARY, buf, sizes[i]);
        expect_echo(WSPROXY_OP_BINARY, buf, sizes[i]);
        ok(name);
    }

    begin_step("fragments 1000+0+4000");
    make_binary(buf, 5000, 7);
    while ((rc = wsproxy_send(c, WSPROXY_OP_BINARY, buf, 1000, 0)) == WSPROXY_E_WOULD_BLOCK) io_step();
    if (rc == WSPROXY_OK)
        while ((rc = wsproxy_send(c, WSPROXY_OP_CONTINUATION, buf + 1000, 0, 0)) == WSPROXY_E_WOULD_BLOCK) io_step();
    if (rc == WSPROXY_OK)
        while ((rc = wsproxy_send(c, WSPROXY_OP_CONTINUATION, buf + 1000, 4000, 1)) == WSPROXY_E_WOULD_BLOCK) io_step();
    if (rc != WSPROXY_OK) fail(EXIT_USAGE, "send refused: %s", wsproxy_strerror(rc));
    expect_echo(WSPROXY_OP_BINARY, buf, 5000);
    ok(step);

    begin_step("ping");
    while ((rc = wsproxy_ping(c, ping_payload, sizeof ping_payload - 1)) == WSPROXY_E_WOULD_BLOCK) io_step();
    if (rc != WSPROXY_OK) fail(EXIT_USAGE, "ping refused: %s", wsproxy_strerror(rc));
    while (!pong_seen) io_step();
    if (pong_len != sizeof ping_payload - 1 || memcmp(pong, ping_payload, pong_len) != 0)
        fail(EXIT_MISMATCH, "pong payload differs (%zu bytes)", pong_len);
    ok("ping");

    begin_step("close 4000");
    while ((rc = wsproxy_close(c, 4000, close_reason_sent, sizeof close_reason_sent - 1)) ==
           WSPROXY_E_WOULD_BLOCK)
        io_step();
    if (rc != WSPROXY_OK) fail(EXIT_USAGE, "close refused: %s", wsproxy_strerror(rc));
    flush_out();
    while (!closed) io_step();
    flush_out();
    if (close_code != 4000 || close_reason_len != sizeof close_reason_sent - 1 ||
        memcmp(close_reason, close_reason_sent, close_reason_len) != 0)
        fail(EXIT_MISMATCH, "server closed with %d \"%s\", sent 4000 \"%s\"", close_code, close_reason,
             close_reason_sent);
    ok("close 4000 (echoed)");
    if (rx_messages != 2 * (int)(sizeof sizes / sizeof sizes[0]) + 1)
        fail(EXIT_MISMATCH, "%d messages received", rx_messages);
    if (verbose && pings_seen) fprintf(stderr, "* the server pinged %d times\n", pings_seen);
    close(fd);
#ifndef WSPROXY_NO_TLS
    wsproxy_tls_free(c);   /* what OpenSSL allocated for the hops (a wipe with BearSSL) */
    wsproxy_tls_trust_free(&trust);
    wsproxy_tls_trust_free(&proxy_trust);
#endif
    free(buf);
    free(rx);
    return EXIT_OK;
}
