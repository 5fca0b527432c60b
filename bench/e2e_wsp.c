/* bench/e2e_wsp.c: the wsproxy.h client of the end-to-end rows. A blocking loop: flush
   everything the client has to send, read once into wsproxy_recv_buf(), take every
   event; the cheapest way to drive it. Its buffers are the built-in ones
   (WSPROXY_RECV/SEND_BUFFER_BYTES, 16 KiB each) or the caller's, given at run time in
   cfg.recv_buffer / cfg.send_buffer (e2e_cfg.recv_buffer, send_buffer, no_send_buffer).
   A message goes whole with wsproxy_send_binary, or, when it does not fit the room
   left (WSPROXY_E_WOULD_BLOCK) or any frame the buffers take (WSPROXY_E_SEND_TOO_LARGE),
   streamed with send_begin + send_data, flushing when the buffer is full, as the
   header's manual says: a burst then leaves in full buffers (64 KiB x16 with 256 KiB
   buffers: 5 send() calls per burst, 6 when a message that does not fit is flushed
   first). */
#define _DEFAULT_SOURCE
#define WSPROXY_STATIC
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"

#include <errno.h>
#include <unistd.h>

#include "common.h"
#include "e2e.h"

static br_x509_trust_anchor tas_[2][8];
static unsigned char tas_mem_[2][16384];
static size_t ntas_[2];
static int tas_loaded_;

static void load_anchors_(const char *dir)
{
    int k;
    if (tas_loaded_) return;
    for (k = 0; k < 2; k++) {
        char path[512], *pem;
        FILE *f;
        long n;
        wsproxy_pem_result r;
        snprintf(path, sizeof path, "%s/%s", dir, k ? "proxy-ca.pem" : "ca.pem");
        f = fopen(path, "rb");
        if (!f) { fprintf(stderr, "bench: cannot open %s\n", path); exit(2); }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        pem = (char *)malloc((size_t)n + 1);
        if (!pem || fread(pem, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "bench: read %s\n", path); exit(2); }
        fclose(f);
        if (wsproxy_pem_trust_anchors(pem, (size_t)n, tas_[k], 8, tas_mem_[k], sizeof tas_mem_[k], &r) != WSPROXY_OK ||
            r.anchors == 0) {
            fprintf(stderr, "bench: no anchors in %s\n", path);
            exit(2);
        }
        ntas_[k] = r.anchors;
        free(pem);
    }
    tas_loaded_ = 1;
}

static int flush_(wsproxy_client *c, int fd, io_count *io)
{
    const unsigned char *p;
    size_t n;
    while ((p = wsproxy_send_buf(c, &n)) != NULL) {
        long w = net_send(fd, p, n, io);
        if (w <= 0) return -1;
        wsproxy_send_ack(c, (size_t)w);
    }
    return 0;
}

static int read_(wsproxy_client *c, int fd, io_count *io)
{
    size_t room;
    unsigned char *p = wsproxy_recv_buf(c, &room);
    long r;
    if (!p) return -1;   /* the loop polls before it reads: this is a bug */
    r = net_recv(fd, p, room, io);
    if (r > 0) wsproxy_recv_ack(c, (size_t)r);
    else wsproxy_socket_closed(c, r == 0 ? 0 : errno);
    return 0;
}

static void fail_(wsproxy_client *c, const char *what)
{
    char msg[600];
    wsproxy_describe(c, msg, sizeof msg);
    fprintf(stderr, "bench: wsproxy %s: %s\n", what, msg);
}

int run_wsproxy(const e2e_cfg *cfg, e2e_res *res)
{
    wsproxy_client *c = (wsproxy_client *)malloc(sizeof *c);
    wsproxy_config wc;
    wsproxy_event ev;
    char url[128], proxy[128];
    unsigned char *payload = (unsigned char *)malloc(cfg->size ? cfg->size : 1);
    void *arena = NULL;
    unsigned char *rbuf = NULL, *sbuf = NULL;
    size_t arena_len, rx_off = 0;
    long sent = 0, done = 0;
    int fd, opened = 0, rc = -1;
    io_count io;
    double t0, w0, h0;
    br_ssl_session_parameters sp;   /* a hop's session when the caller keeps none */
    memset(&wc, 0, sizeof wc);
    memset(&io, 0, sizeof io);
    memset(res, 0, sizeof *res);
    payload_pattern(payload, cfg->size);
    snprintf(url, sizeof url, "%s://localhost:%d/echo", cfg->tls ? "wss" : "ws", cfg->server_port);
    snprintf(proxy, sizeof proxy, "%s://localhost:%d", cfg->proxy == HOP_HTTPS ? "https" : "http", cfg->proxy_port);
    wc.url = url;
    wc.proxy = cfg->proxy ? proxy : NULL;
    wc.random = wsproxy_os_random;
    if (cfg->recv_buffer) {
        rbuf = (unsigned char *)malloc(cfg->recv_buffer);
        wc.recv_buffer = rbuf;
        wc.recv_buffer_len = cfg->recv_buffer;
    }
    if (cfg->send_buffer || cfg->no_send_buffer) {
        /* no_send_buffer: a pointer with length 0 says "none" (a TLS stage is the socket's) */
        sbuf = (unsigned char *)malloc(cfg->send_buffer ? cfg->send_buffer : 1);
        wc.send_buffer = sbuf;
        wc.send_buffer_len = cfg->no_send_buffer ? 0 : cfg->send_buffer;
    }
    arena_len = wsproxy_tls_arena_size(wc.url, wc.proxy);
    if (arena_len) {
        load_anchors_(cfg->certs);
        arena = malloc(arena_len);
        wc.tls_arena = arena;
        wc.tls_arena_len = arena_len;
        wc.trust_anchors = tas_[0];
        wc.trust_anchors_count = ntas_[0];
        wc.proxy_trust_anchors = tas_[1];
        wc.proxy_trust_anchors_count = ntas_[1];
    }
    if (!c || !payload || (arena_len && !arena) || (wc.recv_buffer_len && !rbuf) || (wc.send_buffer && !sbuf)) { fprintf(stderr, "bench: out of memory\n"); exit(2); }
    wc.proxy_tls.resume = cfg->resume_proxy;
    wc.tls.resume = cfg->resume_server;
    h0 = cpu_now();
    if (wsproxy_init(c, &wc) != WSPROXY_OK) { fail_(c, "init"); goto out; }
    fd = net_connect((int)wsproxy_connect_port(c));
    if (fd < 0) { perror("bench: connect"); goto out; }

    /* handshake: count what is written and how many flights wait for a reply */
    io.counting = 1;
    while (!opened) {
        if (flush_(c, fd, &io) != 0) { fail_(c, "send"); goto out_fd; }
        if (read_(c, fd, &io) != 0) { fail_(c, "recv_buf"); goto out_fd; }
        while (wsproxy_poll(c, &ev)) {
            if (ev.type == WSPROXY_EV_OPEN) opened = 1;
            else if (ev.type == WSPROXY_EV_ERROR || ev.type == WSPROXY_EV_CLOSE) { fail_(c, "handshake"); goto out_fd; }
        }
    }
    res->hs_cpu = cpu_now() - h0;
    net_handshake_done(&io, res);
    if (cfg->proxy == HOP_HTTPS) {
        br_ssl_session_parameters *p = cfg->save_proxy ? cfg->save_proxy : &sp;
        if (wsproxy_tls_session_get(c, WSPROXY_HOP_PROXY, p, &res->resumed_proxy) != WSPROXY_OK) {
            fail_(c, "tls_session_get (proxy hop)");
            goto out_fd;
        }
        res->suite[0] = p->cipher_suite;
    }
    if (cfg->tls) {
        br_ssl_session_parameters *p = cfg->save_server ? cfg->save_server : &sp;
        if (wsproxy_tls_session_get(c, WSPROXY_HOP_TARGET, p, &res->resumed_server) != WSPROXY_OK) {
            fail_(c, "tls_session_get (server hop)");
            goto out_fd;
        }
        res->suite[1] = p->cipher_suite;
    }

    t0 = cpu_now();
    w0 = wall_now();
    while (done < cfg->count) {
        long burst_end = sent == done ? (sent + cfg->window < cfg->count ? sent + cfg->window : cfg->count) : sent;
        while (sent < burst_end) {
            int r = wsproxy_send_binary(c, payload, cfg->size);
            if (r == WSPROXY_E_WOULD_BLOCK || r == WSPROXY_E_SEND_TOO_LARGE) {
                /* it does not fit the room left (or any frame the buffers take): stream
                   it, so the buffer goes out full and the burst in the fewest send()s */
                size_t off = 0;
                r = wsproxy_send_begin(c, WSPROXY_OP_BINARY, cfg->size, 1);
                if (r == WSPROXY_E_WOULD_BLOCK) {   /* no room for the header: flush, retry */
                    if (flush_(c, fd, NULL) != 0) { fail_(c, "send"); goto out_fd; }
                    r = wsproxy_send_begin(c, WSPROXY_OP_BINARY, cfg->size, 1);
                }
                if (r != WSPROXY_OK) { fail_(c, "send_begin"); goto out_fd; }
                while (off < cfg->size) {
                    size_t n = wsproxy_send_data(c, payload + off, cfg->size - off);
                    if (n == 0 && flush_(c, fd, NULL) != 0) { fail_(c, "send"); goto out_fd; }
                    off += n;
                }
            } else if (r != WSPROXY_OK) {
                fail_(c, "send_binary");
                goto out_fd;
            }
            sent++;
        }
        if (flush_(c, fd, NULL) != 0) { fail_(c, "send"); goto out_fd; }
        if (read_(c, fd, NULL) != 0) { fail_(c, "recv_buf"); goto out_fd; }
        while (wsproxy_poll(c, &ev)) {
            if (ev.type == WSPROXY_EV_MESSAGE) {
                if (cfg->verify && (rx_off + ev.len > cfg->size || memcmp(ev.data, payload + rx_off, ev.len) != 0))
                    BENCH_FAIL("wsproxy: echo differs at message %ld", done);
                rx_off += ev.len;
                if (ev.fin) {
                    if (rx_off != cfg->size) BENCH_FAIL("wsproxy: echo of %zu bytes, sent %zu", rx_off, cfg->size);
                    rx_off = 0;
                    done++;
                }
            } else if (ev.type == WSPROXY_EV_ERROR || ev.type == WSPROXY_EV_CLOSE) {
                fail_(c, "echo");
                goto out_fd;
            }
        }
    }
    res->cpu = cpu_now() - t0;
    res->wall = wall_now() - w0;
    rc = 0;
out_fd:
    close(fd);
out:
    free(c);
    free(arena);
    free(payload);
    free(rbuf);
    free(sbuf);
    return rc;
}
