/* deflate_driver: permessage-deflate against a real WebSocket echo server, directly or
   through a real proxy; every echo checked byte for byte. Part of make interop-deflate
   (tests/interop/deflate.sh); built from wsproxy.h with WSPROXY_DEFLATE and zlib.

   deflate_driver [--proxy URL] [--cacert FILE] [--proxy-cacert FILE] [--timeout SECONDS]
                  [--offer default|cnct|sw10|cw9] URL

   --offer: what the upgrade request offers. default: permessage-deflate with
   client_max_window_bits without a value; cnct: and client_no_context_takeover; sw10:
   and server_max_window_bits=10; cw9: client_max_window_bits=9. Threshold 0: every
   message the client sends is compressed.

   The script (each step within --timeout, default 20 s):
     open          TCP connect, proxy tunnel, TLS, 101; then a line
                   "negotiated cw=N sw=N cnct=B snct=B" from wsproxy_deflate_get (client
                   window, server window, no_context_takeover each side); fails when
                   permessage-deflate was not negotiated
     KIND SIZE     one message echoed, for KIND json-text, json-binary (JSON, compresses
                   well), random-text (random code points of 1 to 4 bytes) and
                   random-binary (does not compress), SIZE 16 125 1024 16384 65536 1048576;
                   sent in one compressed frame when it fits the send buffer, else streamed
                   (wsproxy_send_begin/send_data: one compressed frame per call); received
                   as the library's chunks; the line shows the wire bytes each way
     close         close 1000; the server's close must come back
   Prints "ok - STEP ..." per step, or "FAIL - STEP: WHY" and exits non-zero:
   2 connect/proxy, 5 handshake or not negotiated, 6 protocol, 7 timeout, 8 TLS,
   9 an echo differs. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_DEFLATE
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

enum { DD_OK = 0, DD_USAGE = 1, DD_CONNECT = 2, DD_HANDSHAKE = 5, DD_PROTOCOL = 6, DD_TIMEOUT = 7, DD_TLS = 8,
       DD_MISMATCH = 9 };

static wsproxy_client client;
static wsproxy_client *c = &client;
static int sock = -1, connecting = 1;
static double limit_ms = 20000, step_t0;
static const char *step_name = "open";
static unsigned long long wire_out, wire_in;

/* what arrived */
static unsigned char *got;
static size_t got_len, got_cap;
static int got_op, got_whole, opened, closed_seen, failed_seen, tunnel_status = -1;

static double ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL - %s: ", step_name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (sock >= 0) close(sock);
    exit(code);
}

static void die_lib(void)
{
    char why[700];
    int e = wsproxy_error(c), code = DD_PROTOCOL;
    wsproxy_describe(c, why, sizeof why);
    if (e == WSPROXY_E_HANDSHAKE_TIMEOUT || e == WSPROXY_E_PROXY_TIMEOUT || e == WSPROXY_E_CLOSE_TIMEOUT) code = DD_TIMEOUT;
    else if (e >= 200 && e < 400) code = DD_CONNECT;
    else if (e >= 400 && e < 500) code = DD_HANDSHAKE;
    else if (e >= 600 && e < 700) code = DD_TLS;
    else if (e == WSPROXY_E_CONNECT_REFUSED || e == WSPROXY_E_CONNECTION_LOST) code = DD_CONNECT;
    die(code, "%s", why);
}

static void keep(const unsigned char *d, size_t n)
{
    if (got_len + n > got_cap) {
        size_t cap = got_cap ? got_cap : 1 << 16;
        unsigned char *p;
        while (cap < got_len + n) cap *= 2;
        if (!(p = (unsigned char *)realloc(got, cap))) die(DD_USAGE, "out of memory");
        got = p;
        got_cap = cap;
    }
    if (n) memcpy(got + got_len, d, n);
    got_len += n;
}

static void events(void)
{
    wsproxy_event ev;
    while (wsproxy_poll(c, &ev)) {
        if (ev.type == WSPROXY_EV_TUNNEL) tunnel_status = ev.status;
        else if (ev.type == WSPROXY_EV_OPEN) opened = 1;
        else if (ev.type == WSPROXY_EV_MESSAGE) {
            if (got_whole) die(DD_MISMATCH, "a message arrived before the last one was checked");
            if (ev.first) { got_len = 0; got_op = ev.opcode; }
            keep(ev.data, ev.len);
            got_whole = ev.fin;
        } else if (ev.type == WSPROXY_EV_CLOSE) closed_seen = 1;
        else if (ev.type == WSPROXY_EV_ERROR) failed_seen = 1;
    }
    if (failed_seen) die_lib();
}

/* Waits for the socket (until the step's deadline), moves bytes both ways, reads events. */
static void pump(void)
{
    struct pollfd pfd;
    size_t n;
    double left = step_t0 + limit_ms - ms_now();
    events();
    if (left <= 0) {
        if (wsproxy_waiting_for(c) != WSPROXY_WAIT_NONE) { wsproxy_timeout(c); events(); }
        die(DD_TIMEOUT, "nothing within %.0f ms (%zu bytes of the reply so far)", limit_ms, got_len);
    }
    pfd.fd = sock;
    pfd.revents = 0;
    pfd.events = connecting ? POLLOUT : 0;
    if (!connecting) {
        if (wsproxy_send_buf(c, &n)) pfd.events |= POLLOUT;
        if (wsproxy_recv_buf(c, &n)) pfd.events |= POLLIN;
        if (!pfd.events) return;
    }
    if (poll(&pfd, 1, (int)left + 1) < 0) {
        if (errno == EINTR) return;
        die(DD_CONNECT, "poll: %s", strerror(errno));
    }
    if (connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (!(pfd.revents & (POLLOUT | POLLERR | POLLHUP))) return;
        getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { wsproxy_socket_closed(c, err); events(); die_lib(); }
        connecting = 0;
        return;
    }
    if (pfd.revents & POLLOUT) {
        const unsigned char *p = wsproxy_send_buf(c, &n);
        ssize_t w = p ? send(sock, p, n, MSG_NOSIGNAL) : 0;
        if (w > 0) { wsproxy_send_ack(c, (size_t)w); wire_out += (unsigned long long)w; }
        else if (w < 0 && errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        unsigned char *p = wsproxy_recv_buf(c, &n);
        ssize_t r = p ? recv(sock, p, n, 0) : 0;
        if (r > 0) { wsproxy_recv_ack(c, (size_t)r); wire_in += (unsigned long long)r; }
        else if (p && r == 0) wsproxy_socket_closed(c, 0);
        else if (r < 0 && errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
    }
    events();
}

/* One message: whole when the library takes it so, else streamed. */
static void send_one(int op, const unsigned char *d, size_t len)
{
    size_t off = 0;
    int rc;
    while ((rc = wsproxy_send(c, op, d, len, 1)) == WSPROXY_E_WOULD_BLOCK) pump();
    if (rc == WSPROXY_OK) return;
    if (rc != WSPROXY_E_SEND_TOO_LARGE) die(DD_USAGE, "wsproxy_send: %s", wsproxy_strerror(rc));
    while ((rc = wsproxy_send_begin(c, op, len, 1)) == WSPROXY_E_WOULD_BLOCK) pump();
    if (rc != WSPROXY_OK) die(DD_USAGE, "wsproxy_send_begin: %s", wsproxy_strerror(rc));
    while (off < len) {
        off += wsproxy_send_data(c, d + off, len - off);
        if (off < len) pump();
    }
}

/* ---- the corpus ----------------------------------------------------------------------- */
static unsigned rnd_state = 2463534242u;
static unsigned rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* JSON records of exactly n bytes (spaces pad the end), with a few non-ASCII names. */
static void make_json(unsigned char *p, size_t n)
{
    static const char *const syms[] = {"EURUSD", "GBPUSD", "USDJPY", "caf\xc3\xa9", "\xe2\x82\xac-index"};
    size_t i = 0;
    unsigned k = 0;
    while (i < n) {
        char rec[160];
        int l = snprintf(rec, sizeof rec, "%s{\"seq\":%u,\"sym\":\"%s\",\"bid\":%u.%04u,\"ask\":%u.%04u,\"qty\":%u}",
                         k ? "," : "[", k, syms[rnd() % 5], 1 + rnd() % 3, rnd() % 10000, 1 + rnd() % 3,
                         rnd() % 10000, rnd() % 1000);
        k++;
        if (i + (size_t)l > n) break;
        memcpy(p + i, rec, (size_t)l);
        i += (size_t)l;
    }
    memset(p + i, ' ', n - i);
}

/* Random code points (1 to 4 bytes each, no surrogates), n bytes, ASCII at the end. */
static void make_random_text(unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned kind = rnd() % 4, cp;
        if (kind == 0 || n - i < 4) p[i++] = (unsigned char)(0x20 + rnd() % 95);
        else if (kind == 1) { cp = 0x80 + rnd() % 0x780; p[i++] = (unsigned char)(0xC0 | cp >> 6); p[i++] = (unsigned char)(0x80 | (cp & 63)); }
        else if (kind == 2) {
            do cp = 0x800 + rnd() % 0xF800; while (cp >= 0xD800 && cp <= 0xDFFF);
            p[i++] = (unsigned char)(0xE0 | cp >> 12); p[i++] = (unsigned char)(0x80 | (cp >> 6 & 63));
            p[i++] = (unsigned char)(0x80 | (cp & 63));
        } else {
            cp = 0x10000 + rnd() % 0x100000;
            p[i++] = (unsigned char)(0xF0 | cp >> 18); p[i++] = (unsigned char)(0x80 | (cp >> 12 & 63));
            p[i++] = (unsigned char)(0x80 | (cp >> 6 & 63)); p[i++] = (unsigned char)(0x80 | (cp & 63));
        }
    }
}

static void make_random(unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)(rnd() >> 11);
}

#ifndef WSPROXY_NO_TLS
/* PEM file -> trust anchors in heap memory (the library's loader, asked twice). */
static int anchors_from(const char *path, const br_x509_trust_anchor **out, size_t *count)
{
    FILE *f = fopen(path, "rb");
    static char pem[1 << 20];
    size_t len;
    br_x509_trust_anchor *tas;
    unsigned char *mem;
    wsproxy_pem_result r;
    if (!f) return -1;
    len = fread(pem, 1, sizeof pem, f);
    fclose(f);
    if (wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r) == WSPROXY_E_PEM_SYNTAX || !r.anchors) return -1;
    tas = (br_x509_trust_anchor *)calloc(r.anchors, sizeof *tas);
    mem = (unsigned char *)malloc(r.bytes_needed ? r.bytes_needed : 1);
    if (!tas || !mem || wsproxy_pem_trust_anchors(pem, len, tas, r.anchors, mem, r.bytes_needed, &r) != WSPROXY_OK)
        return -1;
    *out = tas;
    *count = r.anchors;
    return 0;
}
#endif

/* A non-blocking connect to the first address of host (the suite's peers are on the
   loopback); -1 with *err when it cannot start. */
static int tcp_connect(const char *host, unsigned port, int *err)
{
    struct addrinfo hints, *ai = NULL;
    char service[16];
    int s, one = 1;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", port);
    *err = EHOSTUNREACH;
    if (getaddrinfo(host, service, &hints, &ai) != 0 || !ai) return -1;
    s = socket(ai->ai_family, SOCK_STREAM, 0);
    if (s >= 0) {
        fcntl(s, F_SETFL, O_NONBLOCK);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            close(s);
            s = -1;
        }
    }
    if (s < 0) *err = errno;
    freeaddrinfo(ai);
    return s;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {16, 125, 1024, 16384, 65536, 1048576};
    static const char *const kinds[] = {"json-text", "json-binary", "random-text", "random-binary"};
    const char *cacert = NULL, *proxy_cacert = NULL, *offer = "default";
    wsproxy_config cfg;
    wsproxy_deflate_params dp;
    unsigned char *msg;
    char line[96];
    size_t s;
    int k, err, rc, kind;
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&cfg, 0, sizeof cfg);
    for (k = 1; k < argc; k++) {
        int more = k + 1 < argc;
        if (!strcmp(argv[k], "--proxy") && more) cfg.proxy = argv[++k];
        else if (!strcmp(argv[k], "--cacert") && more) cacert = argv[++k];
        else if (!strcmp(argv[k], "--proxy-cacert") && more) proxy_cacert = argv[++k];
        else if (!strcmp(argv[k], "--timeout") && more) limit_ms = atof(argv[++k]) * 1000;
        else if (!strcmp(argv[k], "--offer") && more) offer = argv[++k];
        else if (argv[k][0] != '-' && !cfg.url) cfg.url = argv[k];
        else cfg.url = NULL, k = argc;
    }
    if (!cfg.url || limit_ms <= 0) {
        fprintf(stderr, "usage: deflate_driver [--proxy URL] [--cacert FILE] [--proxy-cacert FILE]\n"
                        "       [--timeout SECONDS] [--offer default|cnct|sw10|cw9] URL\n");
        return DD_USAGE;
    }
    if (cfg.proxy && !cfg.proxy[0]) cfg.proxy = NULL;
    cfg.random = wsproxy_os_random;
    cfg.deflate.enable = 1;
    if (!strcmp(offer, "cnct")) cfg.deflate.client_no_context_takeover = 1;
    else if (!strcmp(offer, "sw10")) cfg.deflate.server_max_window_bits = 10;
    else if (!strcmp(offer, "cw9")) cfg.deflate.client_max_window_bits = 9;
    else if (strcmp(offer, "default") != 0) { fprintf(stderr, "deflate_driver: unknown offer %s\n", offer); return DD_USAGE; }
    cfg.deflate.arena_len = wsproxy_deflate_arena_size(&cfg.deflate);
    cfg.deflate.arena = malloc(cfg.deflate.arena_len);
#ifndef WSPROXY_NO_TLS
    if ((cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, cfg.proxy)) != 0) cfg.tls_arena = malloc(cfg.tls_arena_len);
    if (cacert && anchors_from(cacert, &cfg.trust_anchors, &cfg.trust_anchors_count) != 0)
        die(DD_USAGE, "cannot load %s", cacert);
    if (proxy_cacert && anchors_from(proxy_cacert, &cfg.proxy_trust_anchors, &cfg.proxy_trust_anchors_count) != 0)
        die(DD_USAGE, "cannot load %s", proxy_cacert);
#else
    (void)cacert; (void)proxy_cacert;
#endif
    msg = (unsigned char *)malloc(sizes[5]);
    if (!msg || !cfg.deflate.arena) die(DD_USAGE, "out of memory");

    step_t0 = ms_now();
    if (wsproxy_init(c, &cfg) != WSPROXY_OK) die_lib();
    sock = tcp_connect(wsproxy_connect_host(c), wsproxy_connect_port(c), &err);
    if (sock < 0) wsproxy_socket_closed(c, err);
    while (!opened) pump();
    if (tunnel_status >= 0) printf("ok - open (tunnel %d, %.1f ms)\n", tunnel_status, ms_now() - step_t0);
    else printf("ok - open (%.1f ms)\n", ms_now() - step_t0);
    if (!wsproxy_deflate_get(c, &dp)) die(DD_HANDSHAKE, "permessage-deflate was not negotiated");
    printf("negotiated cw=%d sw=%d cnct=%d snct=%d\n", dp.client_window_bits, dp.server_window_bits,
           dp.client_no_context_takeover, dp.server_no_context_takeover);

    for (kind = 0; kind < 4; kind++) {
        for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int op = kind == 0 || kind == 2 ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY;
            size_t len = sizes[s], i;
            unsigned long long out0 = wire_out, in0 = wire_in;
            snprintf(line, sizeof line, "%s %zu", kinds[kind], len);
            step_name = line;
            step_t0 = ms_now();
            if (kind < 2) make_json(msg, len);
            else if (kind == 2) make_random_text(msg, len);
            else make_random(msg, len);
            send_one(op, msg, len);
            while (!got_whole) pump();
            got_whole = 0;
            if (got_op != op) die(DD_MISMATCH, "echo has opcode %d, sent %d", got_op, op);
            if (got_len != len) die(DD_MISMATCH, "echo has %zu bytes, sent %zu", got_len, len);
            for (i = 0; i < len; i++)
                if (got[i] != msg[i]) die(DD_MISMATCH, "echo differs at byte %zu (0x%02x, sent 0x%02x)", i, got[i], msg[i]);
            printf("ok - %s (wire out %llu, in %llu, %.1f ms)\n", line, wire_out - out0, wire_in - in0,
                   ms_now() - step_t0);
        }
    }

    step_name = "close";
    step_t0 = ms_now();
    while ((rc = wsproxy_close(c, 1000, "done", 4)) == WSPROXY_E_WOULD_BLOCK) pump();
    if (rc != WSPROXY_OK) die(DD_USAGE, "wsproxy_close: %s", wsproxy_strerror(rc));
    while (!closed_seen) pump();
    printf("ok - close (%.1f ms)\n", ms_now() - step_t0);
    close(sock);
    return DD_OK;
}
