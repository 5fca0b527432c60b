/* libuv_client: wsproxy.h driven by libuv (Debian: libuv1-dev; link -luv -lbearssl).
   Build, copied next to wsproxy.h: cc -std=c99 -O2 -o libuv_client libuv_client.c -luv -lbearssl

   libuv_client [--proxy URL] [--timeout SECONDS] [--cacert FILE] [--insecure]
                [--sndbuf BYTES] URL [MESSAGE]...

   Without --proxy the proxy comes from the environment as curl picks it (ws_proxy,
   http_proxy, all_proxy ..., NO_PROXY): wsproxy_proxy_from_env.
   Sends each MESSAGE (default: "hello") as a text message, prints each message that
   comes back on its own line, and after as many replies as messages closes with 1000
   and waits (1 s at most) for the server to end the TCP connection. --sndbuf shrinks
   the socket's send buffer (SO_SNDBUF) so that the uv_write path below is taken.

   How the library maps onto libuv:
     wsproxy_connect_host/port  -> uv_getaddrinfo, then uv_tcp_connect
     wsproxy_recv_buf           -> the alloc callback: libuv reads straight into the
                                   client (zero copy); no room -> uv_read_stop
     wsproxy_recv_ack           -> the read callback (UV_EOF -> wsproxy_socket_closed(0))
     wsproxy_send_buf/_ack      -> uv_try_write; what the socket does not take at once is
                                   copied to our buffer for one uv_write in flight (the
                                   library's pointer lives only until the next call)
     wsproxy_waiting_for        -> one uv_timer, re-armed when the value changes;
     wsproxy_timeout            -> its callback
   Every callback ends in drive(), which polls the events and re-derives all of that.

   Exit codes as wspcat: 0 closed cleanly, 1 usage, 2 connect or connection lost,
   3 proxy refused, 4 proxy auth, 5 handshake, 6 protocol, 7 timeout, 8 TLS. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include "wsproxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct app {
    wsproxy_client ws;
    uv_loop_t *loop;
    uv_getaddrinfo_t resolver;
    uv_connect_t connect_req;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    unsigned char wbuf[WSPROXY_SEND_BUFFER_BYTES + 1024];   /* bytes of the write in flight */
    int tcp_open, connected, reading, writing, last_wait, lingering, done, exit_code;
    char **msgs;
    int nmsgs, replies, tx_msg, tx_in_frame;   /* sending: message index, frame begun */
    size_t tx_off;
    double timeout_s;
    int sndbuf;
};

static int exit_code_for(int err)
{
    switch (err) {
    case WSPROXY_E_PROXY_REFUSED: case WSPROXY_E_CONNECT_REFUSED: case WSPROXY_E_CONNECTION_LOST:
        return 2;
    case WSPROXY_E_PROXY_AUTH:
        return 4;
    case WSPROXY_E_PROXY_TIMEOUT: case WSPROXY_E_HANDSHAKE_TIMEOUT: case WSPROXY_E_CLOSE_TIMEOUT:
    case WSPROXY_E_PONG_TIMEOUT:
        return 7;
    default:
        break;
    }
    if (err >= 200 && err < 300) return 3;
    if (err >= 400 && err < 500) return 5;
    if (err >= 600 && err < 700) return 8;
    if (err >= 500) return 6;
    return 1;
}

static void drive(struct app *a);

/* Ends everything: closing the handles lets uv_run return. */
static void shut_down(struct app *a)
{
    if (a->done) return;
    a->done = 1;
    if (a->tcp_open) uv_close((uv_handle_t *)&a->tcp, NULL);   /* cancels a pending write */
    uv_close((uv_handle_t *)&a->timer, NULL);
}

static void on_linger(uv_timer_t *t)   /* the server did not end TCP within 1 s */
{
    shut_down((struct app *)t->data);
}

static void on_timeout(uv_timer_t *t)
{
    struct app *a = (struct app *)t->data;
    wsproxy_timeout(&a->ws);           /* -> ERROR: PROXY_, HANDSHAKE_ or CLOSE_TIMEOUT */
    a->last_wait = -1;
    drive(a);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct app *a = (struct app *)h->data;
    static char sink[256];             /* after the close: the server's FIN is all we want */
    size_t n = 0;
    (void)suggested;
    if (a->lingering) { *buf = uv_buf_init(sink, sizeof sink); return; }
    buf->base = (char *)wsproxy_recv_buf(&a->ws, &n);   /* zero copy into the client */
    buf->len = buf->base ? n : 0;      /* 0 -> UV_ENOBUFS in on_read */
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct app *a = (struct app *)s->data;
    (void)buf;
    if (a->lingering) {
        if (nread < 0) shut_down(a);   /* UV_EOF (or an error): the server is done */
        return;
    }
    if (nread > 0) wsproxy_recv_ack(&a->ws, (size_t)nread);
    else if (nread == UV_EOF) wsproxy_socket_closed(&a->ws, 0);
    else if (nread == UV_ENOBUFS) { uv_read_stop(s); a->reading = 0; }
    else if (nread < 0) wsproxy_socket_closed(&a->ws, -(int)nread);   /* libuv: -errno */
    drive(a);
}

static void on_write(uv_write_t *req, int status)
{
    struct app *a = (struct app *)req->data;
    a->writing = 0;
    if (status == UV_ECANCELED) return;   /* handle closed under it */
    if (status < 0) wsproxy_socket_closed(&a->ws, -status);
    drive(a);
}

/* Hands the client's bytes to the socket: uv_try_write first (no copy, no callback);
   the rest is copied into wbuf for one uv_write, and the next bytes wait for it.
   Returns -1 when the socket failed (the client has been told), else 1 when the
   client's buffer is now empty, 0 when bytes are still waiting. */
static int flush(struct app *a)
{
    const unsigned char *p;
    size_t n;
    while (!a->writing && (p = wsproxy_send_buf(&a->ws, &n)) != NULL) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int w = uv_try_write((uv_stream_t *)&a->tcp, &b, 1);
        if (w > 0) {
            wsproxy_send_ack(&a->ws, (size_t)w);
            continue;
        }
        if (w != UV_EAGAIN && w != UV_ENOSYS) {
            wsproxy_socket_closed(&a->ws, -w);
            return -1;
        }
        if (n > sizeof a->wbuf) n = sizeof a->wbuf;
        memcpy(a->wbuf, p, n);
        wsproxy_send_ack(&a->ws, n);      /* the copy is ours now */
        b = uv_buf_init((char *)a->wbuf, (unsigned)n);
        a->write_req.data = a;
        if (uv_write(&a->write_req, (uv_stream_t *)&a->tcp, &b, 1, on_write) != 0) {
            wsproxy_socket_closed(&a->ws, EPIPE);
            return -1;
        }
        a->writing = 1;
    }
    return !a->writing;
}

/* Streams the messages into the client's send buffer, as far as there is room: any
   length goes, the library frames it (wsproxy_send_begin + wsproxy_send_data).
   Returns 1 when it stopped for lack of room, 0 when done or not open. */
static int pump_tx(struct app *a)
{
    while (a->tx_msg < a->nmsgs && wsproxy_get_state(&a->ws) == WSPROXY_STATE_OPEN) {
        const char *m = a->msgs[a->tx_msg];
        size_t len = strlen(m);
        if (!a->tx_in_frame) {
            int rc = wsproxy_send_begin(&a->ws, WSPROXY_OP_TEXT, len, 1);
            if (rc != WSPROXY_OK) return rc == WSPROXY_E_WOULD_BLOCK;
            a->tx_in_frame = 1;
            a->tx_off = 0;
        }
        a->tx_off += wsproxy_send_data(&a->ws, m + a->tx_off, len - a->tx_off);
        if (a->tx_off < len) return 1;     /* buffer full: more after the next write */
        a->tx_in_frame = 0;
        a->tx_msg++;
    }
    return 0;
}

static void drive(struct app *a)
{
    wsproxy_event ev;
    size_t n;
    int wait, more, rc, final = 0;
    if (a->done || a->lingering) return;
    for (;;) {
        while (!final && wsproxy_poll(&a->ws, &ev)) {
            if (ev.type == WSPROXY_EV_MESSAGE) {
                fwrite(ev.data, 1, ev.len, stdout);
                if (ev.fin) {
                    putchar('\n');
                    if (++a->replies == a->nmsgs) wsproxy_close(&a->ws, 1000, "", 0);
                }
            } else if (ev.type == WSPROXY_EV_CLOSE) {
                if (ev.close_code != 1000)
                    fprintf(stderr, "closed by server: %d %.*s\n", ev.close_code, (int)ev.len,
                            (const char *)ev.data);
                a->exit_code = 0;
                final = 1;
            } else if (ev.type == WSPROXY_EV_ERROR) {
                char why[600];
                wsproxy_describe(&a->ws, why, sizeof why);
                fprintf(stderr, "libuv_client: %s\n", why);
                a->exit_code = exit_code_for(wsproxy_error(&a->ws));
                final = 1;
            }
        }
        if (!a->connected) break;
        more = final ? 0 : pump_tx(a);
        rc = flush(a);
        if (rc < 0 && !final) continue;    /* the socket failed: poll for the ERROR */
        if (!more || rc != 1) break;
        /* everything went out at once and a long message has more: refill */
    }
    fflush(stdout);
    if (final) {
        uv_timer_stop(&a->timer);
        if (a->connected && a->exit_code == 0) {
            /* RFC 6455 7.1.1: the server ends TCP first; give it 1 s */
            a->lingering = 1;
            uv_timer_start(&a->timer, on_linger, 1000, 0);
            if (!a->reading) uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
            a->reading = 1;
            return;
        }
        shut_down(a);
        return;
    }
    /* read only while the client has room: that is the backpressure */
    if (a->connected) {
        int room = wsproxy_recv_buf(&a->ws, &n) != NULL;
        if (room && !a->reading) uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
        if (!room && a->reading) uv_read_stop((uv_stream_t *)&a->tcp);
        a->reading = room;
    }
    /* one timer for whatever the client waits for */
    wait = wsproxy_waiting_for(&a->ws);
    if (wait != a->last_wait) {
        a->last_wait = wait;
        if (wait == WSPROXY_WAIT_NONE) uv_timer_stop(&a->timer);
        else uv_timer_start(&a->timer, on_timeout, (uint64_t)(a->timeout_s * 1000), 0);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct app *a = (struct app *)req->data;
    if (status == UV_ECANCELED) return;
    if (status < 0) wsproxy_socket_closed(&a->ws, -status);   /* ECONNREFUSED, ... */
    else a->connected = 1;
    if (a->connected && a->sndbuf > 0) uv_send_buffer_size((uv_handle_t *)&a->tcp, &a->sndbuf);
    drive(a);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct app *a = (struct app *)req->data;
    if (a->done) {                     /* timed out while resolving */
        uv_freeaddrinfo(res);
        return;
    }
    if (status < 0 || !res) {
        fprintf(stderr, "libuv_client: cannot resolve %s: %s\n", wsproxy_connect_host(&a->ws),
                uv_strerror(status));
        wsproxy_socket_closed(&a->ws, EHOSTUNREACH);
    } else {
        uv_tcp_init(a->loop, &a->tcp);
        a->tcp.data = a;
        a->tcp_open = 1;
        uv_tcp_nodelay(&a->tcp, 1);
        a->connect_req.data = a;
        status = uv_tcp_connect(&a->connect_req, &a->tcp, res->ai_addr, on_connect);
        if (status < 0) wsproxy_socket_closed(&a->ws, -status);
    }
    uv_freeaddrinfo(res);
    drive(a);
}

#ifndef WSPROXY_NO_TLS
static int load_anchors(const char *path, const br_x509_trust_anchor **out, size_t *count)
{
    FILE *f = fopen(path, "rb");
    char *pem = NULL;
    size_t len = 0, cap = 0;
    br_x509_trust_anchor *tas;
    unsigned char *mem;
    wsproxy_pem_result r;
    if (!f) { fprintf(stderr, "libuv_client: cannot open %s\n", path); return -1; }
    for (;;) {
        size_t got;
        if (cap - len < 65536) {
            char *p = (char *)realloc(pem, cap = cap ? cap * 2 : 262144);
            if (!p) { fclose(f); free(pem); return -1; }
            pem = p;
        }
        if ((got = fread(pem + len, 1, cap - len, f)) == 0) break;
        len += got;
    }
    fclose(f);
    if (wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r) == WSPROXY_E_PEM_SYNTAX || !r.anchors) {
        fprintf(stderr, "libuv_client: %s: no usable certificates\n", path);
        free(pem);
        return -1;
    }
    tas = (br_x509_trust_anchor *)calloc(r.anchors, sizeof *tas);
    mem = (unsigned char *)malloc(r.bytes_needed ? r.bytes_needed : 1);
    if (!tas || !mem ||
        wsproxy_pem_trust_anchors(pem, len, tas, r.anchors, mem, r.bytes_needed, &r) != WSPROXY_OK) {
        fprintf(stderr, "libuv_client: %s: cannot load certificates\n", path);
        free(pem); free(tas); free(mem);
        return -1;
    }
    free(pem);
    *out = tas;
    *count = r.anchors;
    return 0;
}
#endif

int main(int argc, char **argv)
{
    static struct app a;               /* the client inside is ~40 KiB: not on the stack */
    static char *dflt[] = { "hello" };
    wsproxy_config cfg;
    struct addrinfo hints;
    const char *cacert = NULL;
    static char env_proxy[WSPROXY_MAX_URL_BYTES + 1];
    char port[8];
    int i, rc, insecure = 0;

    memset(&cfg, 0, sizeof cfg);
    a.timeout_s = 10;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        int v = i + 1 < argc;
        if (!strcmp(argv[i], "--proxy") && v) cfg.proxy = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && v) a.timeout_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--cacert") && v) cacert = argv[++i];
        else if (!strcmp(argv[i], "--insecure") || !strcmp(argv[i], "-k")) insecure = 1;
        else if (!strcmp(argv[i], "--sndbuf") && v) a.sndbuf = atoi(argv[++i]);
        else break;
    }
    if (i >= argc || argv[i][0] == '-' || a.timeout_s <= 0) {
        fprintf(stderr, "usage: libuv_client [--proxy URL] [--timeout SECONDS] [--cacert FILE]\n"
                        "                    [--insecure] [--sndbuf BYTES] ws[s]://host[:port]/path\n"
                        "                    [MESSAGE]...\n");
        return 1;
    }
    cfg.url = argv[i++];
    a.msgs = i < argc ? argv + i : dflt;
    a.nmsgs = i < argc ? argc - i : 1;
    for (i = 0; i < a.nmsgs; i++) {    /* text messages must be UTF-8 */
        uint32_t st = 0;
        size_t len = strlen(a.msgs[i]);
        if (wsproxy_utf8_validate(&st, (const unsigned char *)a.msgs[i], len) != len || !wsproxy_utf8_done(st)) {
            fprintf(stderr, "libuv_client: message %d is not UTF-8\n", i + 1);
            return 1;
        }
    }
    cfg.random = wsproxy_os_random;
    if (!cfg.proxy) {                  /* curl's rules: ws_proxy, http_proxy, ..., NO_PROXY */
        rc = wsproxy_proxy_from_env(cfg.url, wsproxy_os_getenv, NULL, NULL, env_proxy,
                                    sizeof env_proxy, NULL);
        if (rc != WSPROXY_OK) {
            fprintf(stderr, "libuv_client: %s: %s\n", wsproxy_strerror(rc), wsproxy_error_message(rc));
            return 1;
        }
        cfg.proxy = env_proxy;
    }
#ifndef WSPROXY_NO_TLS
    cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
    if (cfg.tls_arena_len) {
        const br_x509_trust_anchor *tas = NULL;
        size_t ntas = 0;
        if (!(cfg.tls_arena = malloc(cfg.tls_arena_len))) return 1;
        cfg.insecure = cfg.proxy_insecure = insecure;
        if (!insecure && load_anchors(cacert ? cacert : SYSTEM_BUNDLE, &tas, &ntas) != 0) return 1;
        cfg.trust_anchors = cfg.proxy_trust_anchors = tas;   /* one bundle for both hops */
        cfg.trust_anchors_count = cfg.proxy_trust_anchors_count = ntas;
    }
#else
    (void)cacert; (void)insecure;
#endif
    rc = wsproxy_init(&a.ws, &cfg);
    if (rc != WSPROXY_OK) {
        char why[600];
        wsproxy_describe(&a.ws, why, sizeof why);
        fprintf(stderr, "libuv_client: %s\n", why);
        return exit_code_for(rc);
    }

    a.loop = uv_default_loop();
    a.exit_code = 2;
    a.last_wait = -1;
    uv_timer_init(a.loop, &a.timer);
    a.timer.data = &a;
    a.resolver.data = &a;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", wsproxy_connect_port(&a.ws));
    rc = uv_getaddrinfo(a.loop, &a.resolver, on_resolved, wsproxy_connect_host(&a.ws), port, &hints);
    if (rc < 0) {
        fprintf(stderr, "libuv_client: uv_getaddrinfo: %s\n", uv_strerror(rc));
        return 2;
    }
    drive(&a);                         /* arms the handshake (or proxy) timer */
    uv_run(a.loop, UV_RUN_DEFAULT);
    uv_loop_close(a.loop);
    return a.exit_code;
}
