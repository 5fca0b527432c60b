/* ws_echo_server: RFC 6455 echo server used as a test peer.
 *
 *   ws_echo_server [--port N] [--port-file F] [--log F] [--max-seconds S]
 *                  [--max-conns N] [--protocol P]... [--greet TEXT] [--deflate]
 *                  [--tls-cert FILE --tls-key FILE [--tls-require-sni NAME]
 *                   [--tls-client-ca FILE] [--tls-suites NAME] [--tls-no-resume]]
 *
 * Single-threaded, poll()-based, non-blocking, 127.0.0.1 only. Written independently of
 * wsproxy.h (own SHA-1 / base64 / framing in peer_common.h and below).
 *
 * Per connection: read and validate the upgrade request (400 on violations, 431 if the head
 * exceeds 16 KiB), answer 101 (+ optional greeting text frame in the same send()), then
 * echo each complete text/binary message as one unmasked frame. Ping -> pong, pong ignored,
 * close -> close reply with the same code, then TCP close. Special text messages:
 *   "__close__ CODE REASON"  server-initiated close, waits for the client's close reply
 *   "__ping__ PAYLOAD"       server sends ping(PAYLOAD), then echoes the message as usual
 *   "__big__ N"              server sends a binary message of N bytes (byte i = i & 0xff)
 *
 * --deflate: answer a permessage-deflate offer (RFC 7692) with "permessage-deflate" (window
 * 15, context kept), inflate messages that come with RSV1 and send every echo compressed
 * (zlib, raw DEFLATE, sync flush, tail removed). The log gets "=== deflate: OFFER" for the
 * offer accepted and "=== rsv1-message: LEN" (inflated length) per compressed message.
 *
 * With --tls-cert/--tls-key the listener speaks TLS (BearSSL server engine, one per
 * connection; RSA or EC key; ALPN "http/1.1" offered). The WebSocket logic is unchanged on
 * top of the plaintext. After each request record the log gets "=== sni: NAME" and
 * "=== alpn: NAME" (empty when the client sent none); a failed handshake logs
 * "=== tls-failed: WHY". --tls-require-sni NAME refuses handshakes whose SNI differs.
 * --tls-client-ca FILE (require a client certificate; "=== client-cert: CN") and
 * --tls-suites NAME (one family of suites) are described in peer_common.h; every handshake
 * logs "=== version: TLSv1.2", "=== suite: 0xXXXX", "=== kex: curve N, signature 0xXXXX"
 * (or "none") and "=== resumed: yes|no" (sessions are kept for resumption unless
 * --tls-no-resume; peer_common.h).
 */
#include "peer_common.h"

#include <zlib.h>

#define WS_MSG_LIMIT (64u * 1024u * 1024u) /* max reassembled message (1009 beyond) */
#define WS_OUT_HIGH (8u * 1024u * 1024u)   /* stop reading while more is queued */
#define WS_IN_LIMIT (256u * 1024u)         /* inbound buffer after the handshake */
#define WS_LINGER_SECONDS 5.0
#define WS_MAX_PROTOCOLS 64

enum { ST_HEAD, ST_OPEN, ST_CLOSE_SENT, ST_LINGER };

struct conn {
    int fd;
    int state;
    int dead;
    int eof;      /* peer sent FIN */
    int shut_wr;  /* we did shutdown(SHUT_WR) */
    int pi;       /* index in the pollfd array, -1 if none this round */
    double timer; /* linger deadline (0 = none) */
    struct pbuf in, out;
    /* frame currently being received */
    int in_payload;
    int f_op, f_fin;
    uint64_t f_rem, f_pos;
    unsigned char f_mask[4];
    /* message reassembly */
    int msg_op; /* 0 = no fragmented message in progress */
    struct pbuf msg;
    unsigned char ctl[125];
    size_t ctl_len;
    struct peer_tls *tls; /* NULL on a plain listener */
    int pmd;              /* permessage-deflate settled */
    int msg_rsv1;         /* the message being received is compressed */
    z_stream zin, zout;
    int again;            /* TLS: plaintext was pulled, service again without waiting */
};

static const char *g_protocols[WS_MAX_PROTOCOLS];
static size_t g_nprotocols = 0;
static const char *g_greet = NULL;
static int g_deflate = 0;

static struct conn *g_conns = NULL;
static size_t g_nconns = 0;

/* ------------------------------------------------------------------ output helpers */

static int queue(struct conn *c, const void *p, size_t n) {
    if (pbuf_append(&c->out, p, n) < 0) {
        c->dead = 1;
        return -1;
    }
    return 0;
}

static int queue_str(struct conn *c, const char *s) { return queue(c, s, strlen(s)); }

/* frame header for an unmasked server frame */
static size_t frame_header(unsigned char *h, int fin, int op, uint64_t len) {
    size_t n = 0;
    int i;
    h[n++] = (unsigned char)((fin ? 0x80 : 0) | (op & 0x0f));
    if (len < 126) {
        h[n++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        h[n++] = 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = 127;
        for (i = 7; i >= 0; i--) h[n++] = (unsigned char)(len >> (8 * i));
    }
    return n;
}

static int queue_frame(struct conn *c, int op, const void *payload, size_t len) {
    unsigned char h[14];
    size_t hl;
    if (c->pmd && (op == 0x1 || op == 0x2)) {   /* compressed, RSV1 */
        size_t cap = len + len / 8 + 64, n;
        unsigned char *z = malloc(cap);
        if (!z) { c->dead = 1; return -1; }
        c->zout.next_in = (Bytef *)payload;
        c->zout.avail_in = (uInt)len;
        c->zout.next_out = z;
        c->zout.avail_out = (uInt)cap;
        deflate(&c->zout, Z_SYNC_FLUSH);
        n = cap - c->zout.avail_out;
        if (n >= 4) n -= 4;
        else { z[0] = 0; n = 1; }
        hl = frame_header(h, 1, op, n);
        h[0] |= 0x40;
        if (pbuf_reserve(&c->out, hl + n) < 0 || queue(c, h, hl) < 0 || queue(c, z, n) < 0) {
            free(z);
            c->dead = 1;
            return -1;
        }
        free(z);
        return 0;
    }
    hl = frame_header(h, 1, op, len);
    if (pbuf_reserve(&c->out, hl + len) < 0) { c->dead = 1; return -1; }
    if (queue(c, h, hl) < 0) return -1;
    return queue(c, payload, len);
}

static int queue_close(struct conn *c, int code, const char *reason, size_t rlen) {
    unsigned char p[125] = {0};
    size_t n = 0;
    if (code >= 0) {
        p[n++] = (unsigned char)(code >> 8);
        p[n++] = (unsigned char)code;
        if (rlen > 123) rlen = 123;
        memcpy(p + n, reason, rlen);
        n += rlen;
    }
    return queue_frame(c, 0x8, p, n);
}

static void begin_linger(struct conn *c) {
    c->state = ST_LINGER;
    c->timer = peer_now() + WS_LINGER_SECONDS;
}

/* protocol failure: close frame with code, then close the TCP connection */
static void fail(struct conn *c, int code) {
    if (c->state == ST_OPEN) queue_close(c, code, "", 0);
    begin_linger(c);
}

/* ------------------------------------------------------------------ handshake */

static void reply_status(struct conn *c, const char *resp) {
    queue_str(c, resp);
    begin_linger(c);
}

static void handle_head(struct conn *c, size_t hlen) {
    static struct peer_req r; /* large; single-threaded */
    const struct peer_hdr *h;
    unsigned char keybin[32];
    char accept_b64[40];
    unsigned char digest[20];
    struct peer_sha1 sha;
    const char *proto = NULL;
    size_t proto_len = 0, i;
    int rc;
    static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    peer_log_head(pbuf_data(&c->in), hlen);
    peer_tls_log_info(c->tls);
    rc = peer_parse_head((const char *)pbuf_data(&c->in), hlen, &r);
    if (rc == -2) {
        reply_status(c, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    if (rc != 0 || !peer_eq(r.method, r.mlen, "GET") || !peer_eq(r.version, r.verlen, "HTTP/1.1") ||
        peer_hdr_count(&r, "Host") < 1 || !peer_hdr_has_token(&r, "Upgrade", "websocket") ||
        !peer_hdr_has_token(&r, "Connection", "upgrade") || peer_hdr_count(&r, "Sec-WebSocket-Version") != 1 ||
        peer_hdr_count(&r, "Sec-WebSocket-Key") != 1) {
        reply_status(c, bad);
        return;
    }
    h = peer_hdr_find(&r, "Sec-WebSocket-Version");
    if (!peer_eq(h->val, h->vlen, "13")) { reply_status(c, bad); return; }
    h = peer_hdr_find(&r, "Sec-WebSocket-Key");
    if (peer_b64_decode(h->val, h->vlen, keybin, sizeof keybin) != 16) { reply_status(c, bad); return; }

    peer_sha1_init(&sha);
    peer_sha1_update(&sha, h->val, h->vlen);
    peer_sha1_update(&sha, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
    peer_sha1_final(&sha, digest);
    peer_b64_encode(digest, 20, accept_b64);

    /* first client-offered subprotocol (in the client's order) that we support */
    for (i = 0; i < r.nh && !proto; i++) {
        size_t p = 0, tl, k;
        const char *t;
        if (!peer_ieq(r.h[i].name, r.h[i].nlen, "Sec-WebSocket-Protocol")) continue;
        while (!proto && peer_next_elem(r.h[i].val, r.h[i].vlen, &p, &t, &tl))
            for (k = 0; k < g_nprotocols; k++)
                if (peer_eq(t, tl, g_protocols[k])) { proto = t; proto_len = tl; break; }
    }

    queue_str(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: ");
    queue_str(c, accept_b64);
    queue_str(c, "\r\n");
    if (proto) {
        queue_str(c, "Sec-WebSocket-Protocol: ");
        queue(c, proto, proto_len);
        queue_str(c, "\r\n");
    }
    for (i = 0; g_deflate && !c->pmd && i < r.nh; i++) {
        if (!peer_ieq(r.h[i].name, r.h[i].nlen, "Sec-WebSocket-Extensions")) continue;
        if (r.h[i].vlen >= 18 && peer_ieq(r.h[i].val, 18, "permessage-deflate")) {
            peer_log_line("=== deflate: ", r.h[i].val, r.h[i].vlen);
            memset(&c->zin, 0, sizeof c->zin);
            memset(&c->zout, 0, sizeof c->zout);
            if (inflateInit2(&c->zin, -15) != Z_OK ||
                deflateInit2(&c->zout, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                c->dead = 1;
                return;
            }
            c->pmd = 1;
            queue_str(c, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        }
    }
    queue_str(c, "\r\n");
    if (g_greet) queue_frame(c, 0x1, g_greet, strlen(g_greet));
    pbuf_consume(&c->in, hlen); /* anything after the head is frame data */
    c->state = ST_OPEN;
}

/* ------------------------------------------------------------------ messages */

static int has_prefix(const unsigned char *p, size_t n, const char *pre) {
    size_t l = strlen(pre);
    return n >= l && memcmp(p, pre, l) == 0;
}

/* parse decimal digits in p[*i..n) into *v (bounded); 0 if none */
static int parse_num(const unsigned char *p, size_t n, size_t *i, uint64_t *v) {
    size_t s = *i;
    *v = 0;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        if (*v > 1000000000000ull) return 0;
        *v = *v * 10 + (uint64_t)(p[*i] - '0');
        (*i)++;
    }
    return *i > s;
}

static void handle_message(struct conn *c, int op, const unsigned char *p, size_t n) {
    if (op == 0x1 && (peer_eq((const char *)p, n, "__close__") || has_prefix(p, n, "__close__ "))) {
        size_t i = 10;
        uint64_t code;
        if (n <= 9) {
            queue_close(c, -1, "", 0); /* "__close__": empty close payload */
        } else if (parse_num(p, n, &i, &code) && code <= 0xffff) {
            if (i < n && p[i] == ' ') i++;
            queue_close(c, (int)code, (const char *)p + i, n - i);
        } else {
            queue_close(c, 1000, "", 0);
        }
        c->state = ST_CLOSE_SENT;
        c->timer = peer_now() + 30.0; /* do not wait forever for the close reply */
        return;
    }
    if (op == 0x1 && (peer_eq((const char *)p, n, "__ping__") || has_prefix(p, n, "__ping__ "))) {
        size_t pl = n > 9 ? n - 9 : 0;
        if (pl > 125) pl = 125;
        queue_frame(c, 0x9, pl ? p + 9 : p, pl);
        queue_frame(c, 0x1, p, n);
        return;
    }
    if (op == 0x1 && has_prefix(p, n, "__big__ ")) {
        size_t i = 8;
        uint64_t len;
        if (parse_num(p, n, &i, &len) && i == n && len <= WS_MSG_LIMIT) {
            unsigned char h[14];
            size_t hl = frame_header(h, 1, 0x2, len), k;
            unsigned char *dst;
            if (pbuf_reserve(&c->out, hl + (size_t)len) < 0) { c->dead = 1; return; }
            queue(c, h, hl);
            dst = c->out.p + c->out.len;
            for (k = 0; k < (size_t)len; k++) dst[k] = (unsigned char)(k & 0xff);
            c->out.len += (size_t)len;
            return;
        }
        /* unparsable or too large: fall through and echo it */
    }
    queue_frame(c, op, p, n);
}

/* a whole frame has been received (payload in c->ctl or appended to c->msg) */
static void frame_done(struct conn *c) {
    switch (c->f_op) {
    case 0x8: /* close */
        if (c->state == ST_CLOSE_SENT) { begin_linger(c); return; }
        if (c->ctl_len == 1) queue_close(c, 1002, "", 0);
        else if (c->ctl_len >= 2) queue_close(c, (c->ctl[0] << 8) | c->ctl[1], "", 0);
        else queue_close(c, -1, "", 0);
        begin_linger(c);
        return;
    case 0x9: /* ping */
        if (c->state == ST_OPEN) queue_frame(c, 0xA, c->ctl, c->ctl_len);
        return;
    case 0xA: /* pong: ignored */
        return;
    default: /* data or continuation */
        if (!c->f_fin) return;
        if (c->state == ST_OPEN && c->msg_rsv1) {   /* inflate it with the tail put back */
            struct pbuf plain = {0};
            int pass;
            for (pass = 0; pass < 2 && !c->dead; pass++) {
                c->zin.next_in = pass ? (Bytef *)"\0\0\xff\xff" : pbuf_data(&c->msg);
                c->zin.avail_in = (uInt)(pass ? 4 : pbuf_pending(&c->msg));
                do {
                    int zr;
                    if (pbuf_reserve(&plain, 65536) < 0) { c->dead = 1; break; }
                    c->zin.next_out = plain.p + plain.len;
                    c->zin.avail_out = 65536;
                    zr = inflate(&c->zin, Z_SYNC_FLUSH);
                    plain.len += 65536 - c->zin.avail_out;
                    if ((zr != Z_OK && zr != Z_BUF_ERROR) || plain.len > WS_MSG_LIMIT) { fail(c, 1007); break; }
                } while (c->zin.avail_out == 0);
            }
            if (c->state == ST_OPEN) {
                char num[32];
                snprintf(num, sizeof num, "%zu", pbuf_pending(&plain));
                peer_log_line("=== rsv1-message: ", num, strlen(num));
                handle_message(c, c->msg_op, pbuf_data(&plain), pbuf_pending(&plain));
            }
            pbuf_free(&plain);
        } else if (c->state == ST_OPEN) handle_message(c, c->msg_op, pbuf_data(&c->msg), pbuf_pending(&c->msg));
        c->msg_rsv1 = 0;
        c->msg_op = 0;
        c->msg.off = c->msg.len = 0;
        if (c->msg.cap > (1u << 20)) pbuf_free(&c->msg);
        return;
    }
}

/* parse as many frames from c->in as possible (while the output is below the high mark) */
static void process_frames(struct conn *c) {
    while (!c->dead && (c->state == ST_OPEN || c->state == ST_CLOSE_SENT) &&
           pbuf_pending(&c->out) <= WS_OUT_HIGH) {
        unsigned char *p = pbuf_data(&c->in);
        size_t avail = pbuf_pending(&c->in);
        if (!c->in_payload) {
            size_t need = 2, i;
            uint64_t len;
            int op, masked, len7;
            if (avail < 2) return;
            op = p[0] & 0x0f;
            masked = (p[1] & 0x80) != 0;
            len7 = p[1] & 0x7f;
            if (len7 == 126) need += 2;
            else if (len7 == 127) need += 8;
            if (masked) need += 4;
            if (avail < need) return;
            if (((p[0] & 0x70) != 0 && !(c->pmd && (p[0] & 0x70) == 0x40 && (op == 1 || op == 2))) || !masked) {
                fail(c, 1002);   /* RSV1 only on a message's first frame, when settled */
                return;
            }
            if (op != 0 && op != 1 && op != 2 && op != 8 && op != 9 && op != 10) { fail(c, 1002); return; }
            if (len7 == 126) {
                len = ((uint64_t)p[2] << 8) | p[3];
            } else if (len7 == 127) {
                len = 0;
                for (i = 0; i < 8; i++) len = (len << 8) | p[2 + i];
                if (len >> 63) { fail(c, 1002); return; }
            } else {
                len = (uint64_t)len7;
            }
            c->f_op = op;
            c->f_fin = (p[0] & 0x80) != 0;
            memcpy(c->f_mask, p + need - 4, 4);
            if (op >= 8) {
                if (!c->f_fin || len > 125) { fail(c, 1002); return; }
                c->ctl_len = 0;
            } else {
                if (op == 0 && c->msg_op == 0) { fail(c, 1002); return; }
                if (op != 0 && c->msg_op != 0) { fail(c, 1002); return; }
                if (len > WS_MSG_LIMIT || pbuf_pending(&c->msg) + len > WS_MSG_LIMIT) {
                    fail(c, 1009);
                    return;
                }
                if (op != 0) {
                    c->msg_op = op;
                    c->msg_rsv1 = (p[0] & 0x40) != 0;
                }
                if (pbuf_reserve(&c->msg, (size_t)len) < 0) { c->dead = 1; return; }
            }
            pbuf_consume(&c->in, need);
            c->f_rem = len;
            c->f_pos = 0;
            c->in_payload = 1;
        } else {
            size_t n = avail, k;
            unsigned char *dst;
            if ((uint64_t)n > c->f_rem) n = (size_t)c->f_rem;
            if (n == 0 && c->f_rem > 0) return;
            if (c->f_op >= 8) {
                dst = c->ctl + c->ctl_len;
                c->ctl_len += n;
            } else {
                dst = c->msg.p + c->msg.len; /* reserved at header time */
                c->msg.len += n;
            }
            for (k = 0; k < n; k++) dst[k] = (unsigned char)(p[k] ^ c->f_mask[(c->f_pos + k) & 3]);
            pbuf_consume(&c->in, n);
            c->f_rem -= n;
            c->f_pos += n;
        }
        if (c->in_payload && c->f_rem == 0) {
            c->in_payload = 0;
            frame_done(c);
        }
    }
}

/* ------------------------------------------------------------------ per-connection I/O */

static int want_read(const struct conn *c) {
    if (c->eof || c->dead) return 0;
    if (c->state == ST_LINGER) return 1; /* drain and discard */
    if (pbuf_pending(&c->out) > WS_OUT_HIGH) return 0;
    if (c->state == ST_HEAD) return pbuf_pending(&c->in) < PEER_HEAD_LIMIT;
    return pbuf_pending(&c->in) < WS_IN_LIMIT;
}

/* TLS: one pump between the socket, the engine and c->in / c->out */
static long tls_io(struct conn *c) {
    struct pbuf *in = &c->in;
    size_t lim = 0;
    long r;
    if (c->state == ST_LINGER) in = NULL; /* drain and discard */
    else if (want_read(c)) lim = c->state == ST_HEAD ? PEER_HEAD_LIMIT : WS_IN_LIMIT;
    r = peer_tls_pump(c->tls, c->fd, in, lim, &c->out);
    if (r < 0) { c->dead = 1; return -1; }
    if (peer_tls_eof(c->tls)) c->eof = 1;
    if (c->tls->pulled || c->tls->more) c->again = 1;
    return r;
}

static void do_read(struct conn *c) {
    int rounds;
    if (c->tls) { tls_io(c); return; }
    for (rounds = 0; rounds < 16 && want_read(c); rounds++) {
        size_t room = sizeof peer_scratch;
        ssize_t n;
        if (c->state == ST_HEAD) room = PEER_HEAD_LIMIT - pbuf_pending(&c->in);
        else if (c->state != ST_LINGER) room = WS_IN_LIMIT - pbuf_pending(&c->in);
        if (room > sizeof peer_scratch) room = sizeof peer_scratch;
        n = recv(c->fd, peer_scratch, room, 0);
        if (n > 0) {
            if (c->state == ST_LINGER) continue; /* discard */
            if (pbuf_append(&c->in, peer_scratch, (size_t)n) < 0) { c->dead = 1; return; }
            continue;
        }
        if (n == 0) { c->eof = 1; return; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        c->dead = 1; /* reset or other error */
        return;
    }
}

static void service(struct conn *c) {
    int k;
    for (k = 0; k < 8 && !c->dead; k++) {
        long sent;
        int blocked;
        if (c->state == ST_HEAD) {
            size_t hlen = peer_head_end(pbuf_data(&c->in), pbuf_pending(&c->in));
            if (peer_head_garbage(pbuf_data(&c->in), pbuf_pending(&c->in))) {
                reply_status(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            } else if (hlen > PEER_HEAD_LIMIT || (hlen == 0 && pbuf_pending(&c->in) >= PEER_HEAD_LIMIT)) {
                reply_status(c, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            } else if (hlen > 0) {
                handle_head(c, hlen);
            } else {
                if (c->eof) c->dead = 1;
                return; /* need more of the head */
            }
        }
        process_frames(c);
        if (c->dead) return;
        blocked = pbuf_pending(&c->out) > WS_OUT_HIGH;
        /* FIN without a close frame (possibly mid-frame): once everything processable is
         * processed, flush what we have and go away */
        if (c->eof && !blocked && (c->state == ST_OPEN || c->state == ST_CLOSE_SENT)) begin_linger(c);
        sent = c->tls ? tls_io(c) : pbuf_flush(&c->out, c->fd);
        if (sent < 0) { c->dead = 1; return; }
        if (c->state == ST_LINGER) {
            if (sent > 0) c->timer = peer_now() + WS_LINGER_SECONDS;
            if (pbuf_pending(&c->out) == 0) {
                if (!c->shut_wr && c->tls) { /* close_notify first */
                    peer_tls_close(c->tls);
                    if (tls_io(c) < 0) return;
                    if (peer_tls_write_done(c->tls)) { shutdown(c->fd, SHUT_WR); c->shut_wr = 1; }
                } else if (!c->shut_wr) {
                    shutdown(c->fd, SHUT_WR);
                    c->shut_wr = 1;
                }
                if (c->eof && c->shut_wr) c->dead = 1;
            }
            return;
        }
        /* go round again only if output was the bottleneck and has drained */
        if (!blocked || pbuf_pending(&c->out) > WS_OUT_HIGH) return;
    }
}

static void conn_free(struct conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    if (c->tls) peer_tls_free(c->tls);
    c->tls = NULL;
    pbuf_free(&c->in);
    pbuf_free(&c->out);
    pbuf_free(&c->msg);
    if (c->pmd) {
        inflateEnd(&c->zin);
        deflateEnd(&c->zout);
        c->pmd = 0;
    }
}

/* ------------------------------------------------------------------ main loop */

static void usage(void) {
    fprintf(stderr, "usage: ws_echo_server [--port N] [--port-file F] [--log F] [--max-seconds S]\n"
                    "                      [--max-conns N] [--protocol P]... [--greet TEXT]\n"
                    "                      [--tls-cert FILE --tls-key FILE [--tls-require-sni NAME]\n"
                    "                       [--tls-client-ca FILE] [--tls-suites NAME] [--tls-no-resume]]\n");
    exit(2);
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
        if (peer_opt(argc, argv, &i, "--protocol", &v)) {
            if (g_nprotocols >= WS_MAX_PROTOCOLS) { fprintf(stderr, "too many --protocol\n"); return 2; }
            g_protocols[g_nprotocols++] = v;
            continue;
        }
        if (peer_opt(argc, argv, &i, "--greet", &v)) { g_greet = v; continue; }
        if (strcmp(argv[i], "--deflate") == 0) { g_deflate = 1; continue; }
        usage();
    }

    peer_tls_setup(&o);
    peer_install_signals();
    peer_raise_nofile();
    peer_log_open(o.log_path);
    g_conns = (struct conn *)calloc((size_t)o.max_conns, sizeof *g_conns);
    pfds = (struct pollfd *)calloc((size_t)o.max_conns + 1, sizeof *pfds);
    if (!g_conns || !pfds) { fprintf(stderr, "out of memory\n"); return 1; }
    lfd = peer_listen(&o);
    deadline = peer_now() + o.max_seconds;

    while (!peer_stop_flag) {
        double now = peer_now(), next = deadline;
        size_t np = 0;
        int timeout, lpi = -1, rc;
        if (now >= deadline) break;
        if (g_nconns < (size_t)o.max_conns && now >= accept_pause_until) {
            pfds[np].fd = lfd;
            pfds[np].events = POLLIN;
            pfds[np].revents = 0;
            lpi = (int)np++;
        } else if (accept_pause_until > now && accept_pause_until < next) {
            next = accept_pause_until;
        }
        for (k = 0; k < g_nconns; k++) {
            struct conn *c = &g_conns[k];
            c->pi = (int)np;
            if (c->tls)
                pfds[np].events = peer_tls_events(c->tls, want_read(c));
            else
                pfds[np].events = (short)((want_read(c) ? POLLIN : 0) | (pbuf_pending(&c->out) ? POLLOUT : 0));
            pfds[np].fd = pfds[np].events ? c->fd : -1; /* nothing wanted: no POLLHUP spin */
            pfds[np].revents = 0;
            np++;
            if (c->timer > 0 && c->timer < next) next = c->timer;
            if (c->again) next = now;
        }
        timeout = peer_ms_until(next, now);
        rc = poll(pfds, (nfds_t)np, timeout);
        if (rc < 0 && errno != EINTR) { perror("poll"); break; }
        now = peer_now();
        for (k = 0; k < g_nconns; k++) {
            struct conn *c = &g_conns[k];
            short re = rc > 0 ? pfds[c->pi].revents : 0;
            if (c->tls) {
                if (re || c->again) {
                    c->again = 0;
                    do_read(c);
                    service(c);
                }
            } else {
                if (re & (POLLIN | POLLHUP | POLLERR)) do_read(c);
                if (re) service(c);
            }
            if (!c->dead && c->timer > 0 && now >= c->timer) c->dead = 1; /* linger/close-wait expired */
        }
        if (lpi >= 0 && rc > 0 && (pfds[lpi].revents & POLLIN)) {
            while (g_nconns < (size_t)o.max_conns) {
                int fd = peer_accept(lfd);
                struct conn *c;
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
                c->fd = fd;
                c->state = ST_HEAD;
                c->pi = -1;
            }
        }
        /* drop dead connections (swap with last) */
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
