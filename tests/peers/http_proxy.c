/* http_proxy: HTTP/1.1 CONNECT proxy used as a test peer.
 *
 *   http_proxy [--port N] [--port-file F] [--log F] [--max-seconds S] [--max-conns N]
 *              [--auth USER:PASS] [--mode MODE]
 *              [--tls-cert FILE --tls-key FILE [--tls-require-sni NAME]
 *               [--tls-client-ca FILE] [--tls-suites NAME]]
 *
 * MODE: normal (default), status403, status502, status407, http10, noreason, headers, drip,
 *       junk, oversize, closemid, silent, refuse-target.
 *
 * Single-threaded, poll()-based, non-blocking, listens on 127.0.0.1 only, and only tunnels
 * to 127.0.0.1 / localhost / [::1]. Written independently of wsproxy.h.
 *
 * Order of checks for each request head: 431 (head > 16 KiB or too many lines), 400
 * (malformed), 405 (method is not CONNECT), 400 (version not HTTP/1.0 or 1.1, bad
 * host:port), 407 (--auth given and credentials missing/wrong), then the mode. Only the
 * modes that really connect (normal, http10, noreason, headers, drip, junk) check the
 * target (403 if not loopback); the canned-answer modes never connect anywhere.
 *
 * With --tls-cert/--tls-key it is an HTTPS proxy: TLS from the client to the proxy (BearSSL
 * server engine per connection), the CONNECT request, the reply and the tunnel all inside
 * it; the upstream connection stays plain TCP (a TLS target's records are relayed as they
 * are). Every mode and --auth work the same inside TLS ("drip" sends one record per byte).
 * The log gets "=== sni: NAME" and "=== alpn: NAME" after each request record and
 * "=== tls-failed: WHY" for a failed handshake.
 * --tls-client-ca FILE (require a client certificate; "=== client-cert: CN") and
 * --tls-suites NAME (one family of suites) are described in peer_common.h; every handshake
 * logs "=== version: TLSv1.2" and "=== suite: 0xXXXX".
 */
#include "peer_common.h"

#define RELAY_HIGH (1u << 20) /* stop reading a side while its destination queue is over this */
#define LINGER_SECONDS 5.0
#define DRIP_INTERVAL 0.002

enum { P_HEAD, P_CONNECTING, P_DRIP, P_RELAY, P_SILENT, P_LINGER };

enum {
    M_NORMAL, M_STATUS403, M_STATUS502, M_STATUS407, M_HTTP10, M_NOREASON, M_HEADERS,
    M_DRIP, M_JUNK, M_OVERSIZE, M_CLOSEMID, M_SILENT, M_REFUSE_TARGET
};

static const char *const g_mode_names[] = {
    "normal", "status403", "status502", "status407", "http10", "noreason", "headers",
    "drip", "junk", "oversize", "closemid", "silent", "refuse-target"
};

static const char R_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
static const char R_200_10[] = "HTTP/1.0 200 Connection established\r\n\r\n";
static const char R_200_NOREASON[] = "HTTP/1.1 200\r\n\r\n";
static const char R_200_HEADERS[] =
    "HTTP/1.1 200 OK\r\nProxy-Agent: wsproxy-test-proxy\r\nVia: 1.1 test\r\nX-Empty:\r\n\r\n";
static const char R_400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
static const char R_403[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
static const char R_405[] = "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\n\r\n";
static const char R_407[] =
    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"wsproxy-test\"\r\n"
    "Content-Type: text/plain\r\nContent-Length: 22\r\n\r\nauthentication needed\n";
static const char R_431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";
static const char R_502[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";

struct pconn {
    int cfd, ufd;        /* client side, upstream side (-1 if none) */
    int state, dead;
    int c_eof, u_eof;    /* FIN read from client / upstream */
    int c_shut, u_shut;  /* shutdown(SHUT_WR) done on client / upstream socket */
    int pic, piu;        /* pollfd indices, -1 if not polled */
    double timer;
    struct pbuf in;      /* request head */
    struct pbuf to_c, to_u;
    const char *reply;   /* success reply for the connecting modes */
    size_t reply_len, drip_pos;
    struct peer_tls *tls; /* client side is TLS (NULL on a plain listener) */
    int again;            /* TLS: plaintext was pulled, service again without waiting */
};

static int g_mode = M_NORMAL;
static const char *g_auth = NULL;
static struct pconn *g_conns = NULL;
static size_t g_nconns = 0;

/* ------------------------------------------------------------------ helpers */

static void begin_linger(struct pconn *c, const char *resp, size_t len) {
    if (len && pbuf_append(&c->to_c, resp, len) < 0) c->dead = 1;
    if (c->ufd >= 0) { close(c->ufd); c->ufd = -1; }
    c->state = P_LINGER;
    c->timer = peer_now() + LINGER_SECONDS;
}

#define LINGER_WITH(c, s) begin_linger((c), (s), sizeof(s) - 1)

/* host:port or [v6]:port -> host (NUL-terminated, brackets removed). 0 ok, -1 malformed */
static int parse_authority(const char *a, size_t n, char *host, size_t hcap, int *v6, int *port) {
    const char *hs, *he, *ps;
    size_t i;
    long p = 0;
    if (n == 0) return -1;
    if (a[0] == '[') {
        he = (const char *)memchr(a, ']', n);
        if (!he) return -1;
        hs = a + 1;
        if (he + 1 >= a + n || he[1] != ':') return -1;
        ps = he + 2;
        *v6 = 1;
    } else {
        const char *colon = (const char *)memchr(a, ':', n);
        if (!colon || memchr(colon + 1, ':', (size_t)(a + n - colon - 1))) return -1;
        hs = a;
        he = colon;
        ps = colon + 1;
        *v6 = 0;
    }
    if (he == hs || (size_t)(he - hs) >= hcap) return -1;
    if (ps >= a + n || a + n - ps > 5) return -1;
    for (i = 0; ps + i < a + n; i++) {
        if (ps[i] < '0' || ps[i] > '9') return -1;
        p = p * 10 + (ps[i] - '0');
    }
    if (p < 1 || p > 65535) return -1;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = (int)p;
    return 0;
}

/* split "Scheme credentials"; 1 if scheme is Basic (case-insensitive) */
static int basic_credentials(const struct peer_hdr *h, const char **cred, size_t *clen) {
    size_t i = 0;
    while (i < h->vlen && h->val[i] != ' ' && h->val[i] != '\t') i++;
    if (!peer_ieq(h->val, i, "Basic")) return 0;
    while (i < h->vlen && (h->val[i] == ' ' || h->val[i] == '\t')) i++;
    *cred = h->val + i;
    *clen = h->vlen - i;
    return 1;
}

/* ------------------------------------------------------------------ connecting */

static void on_connected(struct pconn *c) {
    peer_set_nodelay(c->ufd);
    switch (g_mode) {
    case M_HTTP10: c->reply = R_200_10; c->reply_len = sizeof R_200_10 - 1; break;
    case M_NOREASON: c->reply = R_200_NOREASON; c->reply_len = sizeof R_200_NOREASON - 1; break;
    case M_HEADERS: c->reply = R_200_HEADERS; c->reply_len = sizeof R_200_HEADERS - 1; break;
    default: c->reply = R_200; c->reply_len = sizeof R_200 - 1; break;
    }
    if (g_mode == M_DRIP) {
        c->state = P_DRIP;
        c->drip_pos = 0;
        c->timer = peer_now(); /* first byte right away */
        return;
    }
    /* reply (and JUNK) go out in one send(): to_c is empty before this */
    if (pbuf_append(&c->to_c, c->reply, c->reply_len) < 0 ||
        (g_mode == M_JUNK && pbuf_append(&c->to_c, "JUNK", 4) < 0)) {
        c->dead = 1;
        return;
    }
    c->state = P_RELAY;
}

static void start_connect(struct pconn *c, int v6, int port) {
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
    struct sockaddr *sa;
    socklen_t sl;
    int fd, r;
    if (v6) {
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons((uint16_t)port);
        s6.sin6_addr = in6addr_loopback;
        sa = (struct sockaddr *)&s6;
        sl = sizeof s6;
    } else { /* 127.0.0.1 or localhost */
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        s4.sin_port = htons((uint16_t)port);
        s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa = (struct sockaddr *)&s4;
        sl = sizeof s4;
    }
    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { LINGER_WITH(c, R_502); return; }
    if (peer_set_nonblock(fd) < 0) { close(fd); LINGER_WITH(c, R_502); return; }
    c->ufd = fd;
    do {
        r = connect(fd, sa, sl);
    } while (r < 0 && errno == EINTR);
    if (r == 0) { on_connected(c); return; }
    if (errno == EINPROGRESS) { c->state = P_CONNECTING; return; }
    LINGER_WITH(c, R_502);
}

static void check_connect(struct pconn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
    if (err == EINPROGRESS || err == EALREADY) return;
    if (err) { LINGER_WITH(c, R_502); return; }
    on_connected(c);
}

/* ------------------------------------------------------------------ request head */

static void build_oversize(struct pconn *c) {
    char line[128];
    size_t total = 0;
    unsigned i = 0;
    int n;
    static const char xs[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    pbuf_append(&c->to_c, "HTTP/1.1 200 OK\r\n", 17);
    while (total < 100u * 1024u) {
        n = snprintf(line, sizeof line, "X-Filler-%05u: %s\r\n", i++, xs);
        if (pbuf_append(&c->to_c, line, (size_t)n) < 0) { c->dead = 1; return; }
        total += (size_t)n;
    }
    pbuf_append(&c->to_c, "\r\n", 2);
}

static void handle_head(struct pconn *c, size_t hlen) {
    static struct peer_req r;
    static unsigned char dec[PEER_HEAD_LIMIT];
    char host[256];
    const struct peer_hdr *auth;
    int v6 = 0, port = 0, rc;
    size_t i;

    peer_log_head(pbuf_data(&c->in), hlen);
    peer_tls_log_info(c->tls);
    rc = peer_parse_head((const char *)pbuf_data(&c->in), hlen, &r);
    /* log decoded Basic credentials of every Proxy-Authorization header */
    if (rc == 0) {
        for (i = 0; i < r.nh; i++) {
            const char *cred;
            size_t clen;
            long dl;
            if (!peer_ieq(r.h[i].name, r.h[i].nlen, "Proxy-Authorization")) continue;
            if (!basic_credentials(&r.h[i], &cred, &clen)) continue;
            dl = peer_b64_decode(cred, clen, dec, sizeof dec);
            if (dl >= 0) peer_log_line("=== decoded-credentials: ", dec, (size_t)dl);
            else peer_log_line("=== decoded-credentials-invalid: ", cred, clen);
        }
    }
    if (rc == -2) { LINGER_WITH(c, R_431); return; }
    if (rc != 0) { LINGER_WITH(c, R_400); return; }
    if (!peer_eq(r.method, r.mlen, "CONNECT")) { LINGER_WITH(c, R_405); return; }
    if (!peer_eq(r.version, r.verlen, "HTTP/1.1") && !peer_eq(r.version, r.verlen, "HTTP/1.0")) {
        LINGER_WITH(c, R_400);
        return;
    }
    if (parse_authority(r.target, r.tlen, host, sizeof host, &v6, &port) < 0) {
        LINGER_WITH(c, R_400);
        return;
    }
    if (g_auth) {
        const char *cred;
        size_t clen;
        long dl = -1;
        auth = peer_hdr_find(&r, "Proxy-Authorization");
        if (auth && basic_credentials(auth, &cred, &clen))
            dl = peer_b64_decode(cred, clen, dec, sizeof dec);
        if (dl < 0 || (size_t)dl != strlen(g_auth) || memcmp(dec, g_auth, (size_t)dl) != 0) {
            LINGER_WITH(c, R_407);
            return;
        }
    }
    switch (g_mode) {
    case M_STATUS403: LINGER_WITH(c, R_403); return;
    case M_STATUS502: LINGER_WITH(c, R_502); return;
    case M_REFUSE_TARGET: LINGER_WITH(c, R_502); return;
    case M_STATUS407: LINGER_WITH(c, R_407); return;
    case M_OVERSIZE: build_oversize(c); begin_linger(c, NULL, 0); return;
    case M_CLOSEMID: LINGER_WITH(c, "HTTP/1.1 200 Conn"); return;
    case M_SILENT: c->state = P_SILENT; pbuf_consume(&c->in, pbuf_pending(&c->in)); return;
    default: break; /* modes that tunnel */
    }
    if (!(v6 ? strcmp(host, "::1") == 0
             : (strcmp(host, "127.0.0.1") == 0 || peer_ieq(host, strlen(host), "localhost")))) {
        LINGER_WITH(c, R_403);
        return;
    }
    /* bytes the client sent after the head belong to the tunnel */
    if (pbuf_append(&c->to_u, pbuf_data(&c->in) + hlen, pbuf_pending(&c->in) - hlen) < 0) {
        c->dead = 1;
        return;
    }
    pbuf_free(&c->in);
    start_connect(c, v6, port);
}

/* ------------------------------------------------------------------ I/O steps */

/* read from fd into dst (NULL = discard) while dst is below limit. 1 = EOF, -1 = error */
static int read_side(int fd, struct pbuf *dst, size_t limit) {
    int rounds;
    for (rounds = 0; rounds < 16; rounds++) {
        size_t room = sizeof peer_scratch;
        ssize_t n;
        if (dst) {
            if (pbuf_pending(dst) >= limit) return 0;
            if (limit - pbuf_pending(dst) < room) room = limit - pbuf_pending(dst);
        }
        n = recv(fd, peer_scratch, room, 0);
        if (n > 0) {
            if (dst && pbuf_append(dst, peer_scratch, (size_t)n) < 0) return -1;
            continue;
        }
        if (n == 0) return 1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
    return 0;
}

/* TLS client side: one pump between the client socket, the engine and the plaintext queues
 * (client plaintext goes to c->in while the head is read, to c->to_u afterwards) */
static long tls_client_io(struct pconn *c) {
    struct pbuf *in = NULL; /* NULL: read and discard */
    size_t lim = 0;
    long r;
    switch (c->state) {
    case P_HEAD: in = &c->in; lim = PEER_HEAD_LIMIT; break;
    case P_CONNECTING: case P_DRIP: case P_RELAY: in = &c->to_u; lim = c->c_eof ? 0 : RELAY_HIGH; break;
    default: break;
    }
    r = peer_tls_pump(c->tls, c->cfd, in, lim, &c->to_c);
    if (r < 0) { c->dead = 1; return -1; }
    if (peer_tls_eof(c->tls)) c->c_eof = 1;
    if (peer_tls_closed(c->tls)) c->c_shut = 1; /* nothing more can reach the client */
    if (c->tls->pulled || c->tls->more) c->again = 1;
    return r;
}

/* everything for the client is out: close_notify (TLS), then shutdown(SHUT_WR) */
static void shut_client(struct pconn *c) {
    if (c->c_shut) return;
    if (c->tls) {
        peer_tls_close(c->tls);
        if (tls_client_io(c) < 0 || c->c_shut || !peer_tls_write_done(c->tls)) return;
    }
    shutdown(c->cfd, SHUT_WR);
    c->c_shut = 1;
}

static void relay_step(struct pconn *c, short rc_, short ru) {
    int r;
    if (!c->tls && (rc_ & (POLLIN | POLLHUP | POLLERR)) && !c->c_eof) {
        r = read_side(c->cfd, &c->to_u, RELAY_HIGH);
        if (r < 0) { c->dead = 1; return; }
        if (r > 0) c->c_eof = 1;
    }
    if ((ru & (POLLIN | POLLHUP | POLLERR)) && !c->u_eof) {
        r = read_side(c->ufd, &c->to_c, RELAY_HIGH);
        if (r < 0) { c->dead = 1; return; }
        if (r > 0) c->u_eof = 1;
    }
    if (pbuf_flush(&c->to_u, c->ufd) < 0) { c->dead = 1; return; }
    if (c->tls ? tls_client_io(c) < 0 : pbuf_flush(&c->to_c, c->cfd) < 0) { c->dead = 1; return; }
    if (c->c_eof && !c->u_shut && pbuf_pending(&c->to_u) == 0) { shutdown(c->ufd, SHUT_WR); c->u_shut = 1; }
    if (c->u_eof && !c->c_shut && pbuf_pending(&c->to_c) == 0) shut_client(c);
    if (c->dead) return;
    if (c->c_shut && c->u_shut) c->dead = 1; /* both directions finished */
}

static void linger_step(struct pconn *c, short rc_) {
    long sent;
    if (!c->tls && (rc_ & (POLLIN | POLLHUP | POLLERR)) && !c->c_eof) {
        int r = read_side(c->cfd, NULL, 0);
        if (r < 0) { c->dead = 1; return; }
        if (r > 0) c->c_eof = 1;
    }
    sent = c->tls ? tls_client_io(c) : pbuf_flush(&c->to_c, c->cfd);
    if (sent < 0) { c->dead = 1; return; }
    if (sent > 0) c->timer = peer_now() + LINGER_SECONDS;
    if (pbuf_pending(&c->to_c) == 0) {
        shut_client(c);
        if (c->c_eof && c->c_shut) c->dead = 1;
    }
}

static void drip_step(struct pconn *c, double now) {
    if (c->tls) { /* one byte per TLS record */
        if (pbuf_pending(&c->to_c) == 0) {
            if (pbuf_append(&c->to_c, c->reply + c->drip_pos, 1) < 0) { c->dead = 1; return; }
            c->drip_pos++;
        }
        if (tls_client_io(c) < 0) return;
        if (c->drip_pos >= c->reply_len && pbuf_pending(&c->to_c) != 0) { c->timer = now + DRIP_INTERVAL; return; }
    } else {
        ssize_t n = send(c->cfd, c->reply + c->drip_pos, 1, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { c->dead = 1; return; }
        if (n == 1) c->drip_pos++;
    }
    if (c->drip_pos >= c->reply_len) {
        c->state = P_RELAY;
        c->timer = 0;
        relay_step(c, 0, 0);
        return;
    }
    c->timer = now + DRIP_INTERVAL;
}

static void service(struct pconn *c, short rc_, short ru) {
    int r;
    if (c->tls) {
        c->again = 0;
        if (tls_client_io(c) < 0) return;
    }
    switch (c->state) {
    case P_HEAD: {
        size_t hlen;
        if (!c->tls && (rc_ & (POLLIN | POLLHUP | POLLERR))) {
            r = read_side(c->cfd, &c->in, PEER_HEAD_LIMIT);
            if (r < 0) { c->dead = 1; return; }
            if (r > 0) c->c_eof = 1;
        }
        hlen = peer_head_end(pbuf_data(&c->in), pbuf_pending(&c->in));
        if (hlen > PEER_HEAD_LIMIT || (hlen == 0 && pbuf_pending(&c->in) >= PEER_HEAD_LIMIT)) {
            LINGER_WITH(c, R_431);
        } else if (hlen > 0) {
            handle_head(c, hlen);
        } else {
            if (c->c_eof) c->dead = 1;
            return;
        }
        if (c->dead) return;
        if (c->state == P_LINGER) linger_step(c, 0);
        else if (c->state == P_RELAY) relay_step(c, 0, 0);
        return;
    }
    case P_CONNECTING:
        if (ru) {
            check_connect(c);
            if (c->dead) return;
            if (c->state == P_LINGER) linger_step(c, 0);
            else if (c->state == P_RELAY) relay_step(c, 0, 0);
        }
        return;
    case P_RELAY:
        relay_step(c, rc_, ru);
        return;
    case P_SILENT:
        if (c->tls) {
            if (c->c_eof) c->dead = 1;
        } else if (rc_) {
            r = read_side(c->cfd, NULL, 0);
            if (r != 0) c->dead = 1; /* client closed (or error) */
        }
        return;
    case P_LINGER:
        linger_step(c, rc_);
        return;
    default: /* P_DRIP: timer driven */
        return;
    }
}

static void conn_free(struct pconn *c) {
    if (c->cfd >= 0) close(c->cfd);
    if (c->ufd >= 0) close(c->ufd);
    c->cfd = c->ufd = -1;
    if (c->tls) peer_tls_free(c->tls);
    c->tls = NULL;
    pbuf_free(&c->in);
    pbuf_free(&c->to_c);
    pbuf_free(&c->to_u);
}

/* ------------------------------------------------------------------ main */

static void usage(void) {
    fprintf(stderr, "usage: http_proxy [--port N] [--port-file F] [--log F] [--max-seconds S]\n"
                    "                  [--max-conns N] [--auth USER:PASS] [--mode MODE]\n"
                    "                  [--tls-cert FILE --tls-key FILE [--tls-require-sni NAME]\n"
                    "                   [--tls-client-ca FILE] [--tls-suites NAME]]\n"
                    "modes: normal status403 status502 status407 http10 noreason headers drip\n"
                    "       junk oversize closemid silent refuse-target\n");
    exit(2);
}

static void add_pfd(struct pollfd *pfds, size_t *np, int fd, short ev, int *pi) {
    if (fd < 0 || ev == 0) { *pi = -1; return; } /* events 0: not polled (avoids POLLHUP spin) */
    pfds[*np].fd = fd;
    pfds[*np].events = ev;
    pfds[*np].revents = 0;
    *pi = (int)(*np)++;
}

int main(int argc, char **argv) {
    struct peer_opts o;
    struct pollfd *pfds;
    int lfd, i;
    double deadline, accept_pause_until = 0;
    size_t k;

    peer_opts_init(&o);
    for (i = 1; i < argc; i++) {
        const char *v;
        if (peer_common_opt(argc, argv, &i, &o)) continue;
        if (peer_opt(argc, argv, &i, "--auth", &v)) {
            if (!strchr(v, ':')) { fprintf(stderr, "--auth needs USER:PASS\n"); return 2; }
            g_auth = v;
            continue;
        }
        if (peer_opt(argc, argv, &i, "--mode", &v)) {
            size_t m, nm = sizeof g_mode_names / sizeof g_mode_names[0];
            for (m = 0; m < nm; m++)
                if (strcmp(v, g_mode_names[m]) == 0) break;
            if (m == nm) { fprintf(stderr, "unknown mode: %s\n", v); usage(); }
            g_mode = (int)m;
            continue;
        }
        usage();
    }

    peer_tls_setup(&o);
    peer_install_signals();
    peer_raise_nofile();
    peer_log_open(o.log_path);
    g_conns = (struct pconn *)calloc((size_t)o.max_conns, sizeof *g_conns);
    pfds = (struct pollfd *)calloc(2 * (size_t)o.max_conns + 1, sizeof *pfds);
    if (!g_conns || !pfds) { fprintf(stderr, "out of memory\n"); return 1; }
    lfd = peer_listen(&o);
    deadline = peer_now() + o.max_seconds;

    while (!peer_stop_flag) {
        double now = peer_now(), next = deadline;
        size_t np = 0;
        int timeout, lpi = -1, rc;
        if (now >= deadline) break;
        if (g_nconns < (size_t)o.max_conns && now >= accept_pause_until) {
            add_pfd(pfds, &np, lfd, POLLIN, &lpi);
        } else if (accept_pause_until > now && accept_pause_until < next) {
            next = accept_pause_until;
        }
        for (k = 0; k < g_nconns; k++) {
            struct pconn *c = &g_conns[k];
            short ec = 0, eu = 0;
            switch (c->state) {
            case P_HEAD: ec = pbuf_pending(&c->in) < PEER_HEAD_LIMIT ? POLLIN : 0; break;
            case P_CONNECTING: eu = POLLOUT; break;
            case P_RELAY:
                if (!c->c_eof && pbuf_pending(&c->to_u) < RELAY_HIGH) ec |= POLLIN;
                if (pbuf_pending(&c->to_c)) ec |= POLLOUT;
                if (!c->u_eof && pbuf_pending(&c->to_c) < RELAY_HIGH) eu |= POLLIN;
                if (pbuf_pending(&c->to_u)) eu |= POLLOUT;
                break;
            case P_SILENT: ec = POLLIN; break;
            case P_LINGER:
                if (!c->c_eof) ec |= POLLIN;
                if (pbuf_pending(&c->to_c)) ec |= POLLOUT;
                break;
            default: break;
            }
            if (c->tls) { /* the engine decides what the client socket needs */
                int want_in;
                switch (c->state) {
                case P_HEAD: want_in = pbuf_pending(&c->in) < PEER_HEAD_LIMIT; break;
                case P_CONNECTING: case P_DRIP: case P_RELAY:
                    want_in = !c->c_eof && pbuf_pending(&c->to_u) < RELAY_HIGH;
                    break;
                default: want_in = !c->c_eof; break; /* silent, linger: read and discard */
                }
                ec = peer_tls_events(c->tls, want_in);
                if (c->again) next = now;
            }
            add_pfd(pfds, &np, c->cfd, ec, &c->pic);
            add_pfd(pfds, &np, c->ufd, eu, &c->piu);
            if (c->timer > 0 && c->timer < next) next = c->timer;
        }
        timeout = peer_ms_until(next, now);
        rc = poll(pfds, (nfds_t)np, timeout);
        if (rc < 0 && errno != EINTR) { perror("poll"); break; }
        now = peer_now();
        for (k = 0; k < g_nconns; k++) {
            struct pconn *c = &g_conns[k];
            short rc_ = (rc > 0 && c->pic >= 0) ? pfds[c->pic].revents : 0;
            short ru = (rc > 0 && c->piu >= 0) ? pfds[c->piu].revents : 0;
            if (rc_ || ru || c->again) service(c, rc_, ru);
            if (!c->dead && c->timer > 0 && now >= c->timer) {
                if (c->state == P_DRIP) drip_step(c, now);
                else if (c->state == P_LINGER) c->dead = 1;
            }
        }
        if (lpi >= 0 && rc > 0 && (pfds[lpi].revents & POLLIN)) {
            while (g_nconns < (size_t)o.max_conns) {
                int fd = peer_accept(lfd);
                struct pconn *c;
                if (fd < 0) {
                    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        accept_pause_until = now + 0.1;
                    break;
                }
                c = &g_conns[g_nconns];
                memset(c, 0, sizeof *c);
                if (peer_tls_g.on && !(c->tls = peer_tls_new())) {
                    close(fd);
                    accept_pause_until = now + 0.1;
                    break;
                }
                g_nconns++;
                c->cfd = fd;
                c->ufd = -1;
                c->state = P_HEAD;
                c->pic = c->piu = -1;
            }
        }
        for (k = 0; k < g_nconns;) {
            if (g_conns[k].dead) {
                conn_free(&g_conns[k]);
                g_conns[k] = g_conns[--g_nconns];
            } else {
                k++;
            }
        }
    }

    for (k = 0; k < g_nconns; k++) conn_free(&g_conns[k]);
    free(g_conns);
    free(pfds);
    close(lfd);
    peer_log_close();
    peer_tls_teardown();
    return 0;
}
