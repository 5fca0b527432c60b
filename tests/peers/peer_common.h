/* Helpers shared by the two test peers (ws_echo_server.c, http_proxy.c).
 * Written independently of wsproxy.h: own SHA-1 (FIPS 180-4), base64 (RFC 4648),
 * HTTP head parsing, bounded byte queues, option parsing and the listen socket.
 * Optional TLS on the listening side (BearSSL server engine, link with -lbearssl):
 * --tls-cert FILE --tls-key FILE [--tls-require-sni NAME] [--tls-client-ca FILE]
 * [--tls-suites NAME] [--tls-no-resume]; see "TLS" below.
 * --tls-client-ca FILE: the handshake requires a client certificate that chains to FILE (its
 * names go in the CertificateRequest, BearSSL's minimal X.509 validator checks the chain);
 * without one, or with one from another CA, the handshake fails and the log gets
 * "=== tls-failed: WHY"; on success "=== client-cert: CN" (the certificate's subject CN).
 * --tls-suites NAME accepts only one family of cipher suites: rsa (static RSA key exchange,
 * RSA key only), cbc (ECDHE, CBC with HMAC-SHA256/384), cbc-sha1 (ECDHE, CBC with HMAC-SHA1),
 * 3des (3DES only), gcm (ECDHE AES-GCM), chacha (ECDHE ChaCha20-Poly1305). After every
 * handshake the log gets "=== version: TLSv1.2", "=== suite: 0xC02F" (IANA number) and
 * "=== kex: curve 29, signature 0x0401" (ECDHE: the curve and the ServerKeyExchange's
 * signature scheme, TLS ids) or "=== kex: none".
 * Session resumption: the server keeps the sessions of its full handshakes (session IDs,
 * RFC 5246 7.3; BearSSL's LRU cache, 2,000 sessions, shared by every connection of the
 * process) and resumes one a client offers; after every handshake the log gets
 * "=== resumed: yes" or "=== resumed: no". A resumed session keeps the client certificate's
 * CN of the full handshake that made it ("=== client-cert: CN" again). --tls-no-resume
 * keeps no sessions: every handshake is a full one.
 * Everything is static inline so each peer only keeps what it uses. */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#define PEER_HEAD_LIMIT 16384u     /* max request head size, terminator included */
#define PEER_MAX_HEADERS 512u      /* more header lines than this: 431 */

/* ------------------------------------------------------------------ time / signals */

static volatile sig_atomic_t peer_stop_flag = 0;

static void peer_on_signal(int sig) { (void)sig; peer_stop_flag = 1; }

static inline void peer_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = peer_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}

static inline double peer_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* poll() timeout in ms until deadline t (never negative, at least 1 ms if in the future) */
static inline int peer_ms_until(double t, double now) {
    double d = (t - now) * 1000.0;
    if (d <= 0) return 0;
    if (d > 1000.0) return 1000;
    return (int)d + 1;
}

static inline void peer_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ------------------------------------------------------------------ byte queue */

/* Bytes live in p[off..len). Growth is explicit and every caller checks a limit. */
struct pbuf {
    unsigned char *p;
    size_t off, len, cap;
};

static inline size_t pbuf_pending(const struct pbuf *b) { return b->len - b->off; }
static inline unsigned char *pbuf_data(const struct pbuf *b) { return b->p ? b->p + b->off : b->p; }

static inline void pbuf_free(struct pbuf *b) {
    free(b->p);
    b->p = NULL;
    b->off = b->len = b->cap = 0;
}

/* make room for `extra` more bytes at the end; -1 on allocation failure */
static inline int pbuf_reserve(struct pbuf *b, size_t extra) {
    size_t used = b->len - b->off, need, ncap;
    unsigned char *np;
    if (b->cap - b->len >= extra) return 0;
    if (b->off > 0) { /* compact first */
        if (used) memmove(b->p, b->p + b->off, used);
        b->off = 0;
        b->len = used;
        if (b->cap - b->len >= extra) return 0;
    }
    if (extra > (size_t)-1 - used) return -1;
    need = used + extra;
    ncap = b->cap ? b->cap : 4096;
    while (ncap < need) {
        if (ncap > (size_t)-1 / 2) { ncap = need; break; }
        ncap *= 2;
    }
    np = (unsigned char *)realloc(b->p, ncap);
    if (!np) return -1;
    b->p = np;
    b->cap = ncap;
    return 0;
}

static inline int pbuf_append(struct pbuf *b, const void *data, size_t n) {
    if (n == 0) return 0;
    if (pbuf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static inline void pbuf_consume(struct pbuf *b, size_t n) {
    b->off += n;
    if (b->off >= b->len) {
        b->off = b->len = 0;
        if (b->cap > (1u << 20)) pbuf_free(b); /* give big buffers back when idle */
    }
}

/* send as much of b as the socket takes; returns -1 on a hard error, else bytes sent */
static inline long pbuf_flush(struct pbuf *b, int fd) {
    long total = 0;
    while (pbuf_pending(b) > 0) {
        ssize_t n = send(fd, pbuf_data(b), pbuf_pending(b), MSG_NOSIGNAL);
        if (n > 0) {
            pbuf_consume(b, (size_t)n);
            total += (long)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    return total;
}

/* ------------------------------------------------------------------ SHA-1 (FIPS 180-4) */

struct peer_sha1 {
    uint32_t h[5];
    unsigned char blk[64];
    size_t blen;
    uint64_t total;
};

static inline uint32_t peer_rol32(uint32_t x, unsigned n) { return (x << n) | (x >> (32u - n)); }

static inline void peer_sha1_block(struct peer_sha1 *s, const unsigned char *p) {
    uint32_t w[80], a, b, c, d, e, f, k, t32;
    unsigned t;
    for (t = 0; t < 16; t++)
        w[t] = ((uint32_t)p[4 * t] << 24) | ((uint32_t)p[4 * t + 1] << 16) |
               ((uint32_t)p[4 * t + 2] << 8) | (uint32_t)p[4 * t + 3];
    for (t = 16; t < 80; t++) w[t] = peer_rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4];
    for (t = 0; t < 80; t++) {
        if (t < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
        else if (t < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
        else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
        t32 = peer_rol32(a, 5) + f + e + k + w[t];
        e = d; d = c; c = peer_rol32(b, 30); b = a; a = t32;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static inline void peer_sha1_init(struct peer_sha1 *s) {
    s->h[0] = 0x67452301u; s->h[1] = 0xEFCDAB89u; s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u; s->h[4] = 0xC3D2E1F0u;
    s->blen = 0;
    s->total = 0;
}

static inline void peer_sha1_update(struct peer_sha1 *s, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    s->total += n;
    while (n > 0) {
        size_t take = 64 - s->blen;
        if (take > n) take = n;
        memcpy(s->blk + s->blen, p, take);
        s->blen += take; p += take; n -= take;
        if (s->blen == 64) { peer_sha1_block(s, s->blk); s->blen = 0; }
    }
}

static inline void peer_sha1_final(struct peer_sha1 *s, unsigned char out[20]) {
    uint64_t bits = s->total * 8u;
    unsigned i;
    s->blk[s->blen++] = 0x80;
    if (s->blen > 56) {
        memset(s->blk + s->blen, 0, 64 - s->blen);
        peer_sha1_block(s, s->blk);
        s->blen = 0;
    }
    memset(s->blk + s->blen, 0, 56 - s->blen);
    for (i = 0; i < 8; i++) s->blk[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    peer_sha1_block(s, s->blk);
    for (i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)s->h[i];
    }
}

/* ------------------------------------------------------------------ base64 (RFC 4648) */

static const char peer_b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* out must hold 4*ceil(n/3)+1 bytes; returns the length written (NUL-terminated) */
static inline size_t peer_b64_encode(const unsigned char *in, size_t n, char *out) {
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = peer_b64_alpha[(v >> 18) & 63];
        out[o++] = peer_b64_alpha[(v >> 12) & 63];
        out[o++] = peer_b64_alpha[(v >> 6) & 63];
        out[o++] = peer_b64_alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = peer_b64_alpha[(v >> 18) & 63];
        out[o++] = peer_b64_alpha[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = peer_b64_alpha[(v >> 18) & 63];
        out[o++] = peer_b64_alpha[(v >> 12) & 63];
        out[o++] = peer_b64_alpha[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static inline int peer_b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict decode: length a multiple of 4, padding only at the end, canonical (unused bits 0).
 * Returns the decoded length, or -1 if invalid or longer than cap. */
static inline long peer_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap) {
    size_t i, o = 0;
    if (n % 4 != 0) return -1;
    for (i = 0; i < n; i += 4) {
        int v0 = peer_b64_val((unsigned char)in[i]), v1 = peer_b64_val((unsigned char)in[i + 1]);
        int v2, v3, pad = 0;
        uint32_t v;
        if (v0 < 0 || v1 < 0) return -1;
        if (in[i + 2] == '=') {
            if (in[i + 3] != '=' || i + 4 != n) return -1;
            v2 = v3 = 0;
            pad = 2;
        } else {
            v2 = peer_b64_val((unsigned char)in[i + 2]);
            if (v2 < 0) return -1;
            if (in[i + 3] == '=') {
                if (i + 4 != n) return -1;
                v3 = 0;
                pad = 1;
            } else {
                v3 = peer_b64_val((unsigned char)in[i + 3]);
                if (v3 < 0) return -1;
            }
        }
        v = ((uint32_t)v0 << 18) | ((uint32_t)v1 << 12) | ((uint32_t)v2 << 6) | (uint32_t)v3;
        if (pad == 2 && (v & 0xFFFFu)) return -1;
        if (pad == 1 && (v & 0xFFu)) return -1;
        if (o + (size_t)(3 - pad) > cap) return -1;
        out[o++] = (unsigned char)(v >> 16);
        if (pad < 2) out[o++] = (unsigned char)(v >> 8);
        if (pad < 1) out[o++] = (unsigned char)v;
    }
    return (long)o;
}

/* ------------------------------------------------------------------ HTTP head parsing */

struct peer_hdr {
    const char *name, *val;
    size_t nlen, vlen;
};

struct peer_req {
    const char *method, *target, *version;
    size_t mlen, tlen, verlen;
    struct peer_hdr h[PEER_MAX_HEADERS];
    size_t nh;
};

/* A request that cannot be HTTP from its first byte (a TLS ClientHello, binary noise):
 * real servers and proxies answer 400 at once rather than wait for a blank line. */
static inline int peer_head_garbage(const unsigned char *p, size_t n) {
    return n > 0 && !(p[0] >= 'A' && p[0] <= 'Z');
}

/* Length of the head including its blank line ("\r\n\r\n" or bare "\n\n"), or 0 if the
 * terminator has not been seen in buf[0..n). */
static inline size_t peer_head_end(const unsigned char *buf, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (buf[i] != '\n') continue;
        if (i + 1 < n && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < n && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return 0;
}

static inline int peer_is_ows(char c) { return c == ' ' || c == '\t'; }

static inline int peer_is_tchar(unsigned char c) {
    if (c >= '0' && c <= '9') return 1;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ASCII case-insensitive equality of a[0..alen) and b[0..blen) */
static inline int peer_mem_ieq(const char *a, size_t alen, const char *b, size_t blen) {
    size_t i;
    if (alen != blen) return 0;
    for (i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return 0;
    }
    return 1;
}

static inline int peer_ieq(const char *a, size_t alen, const char *b) { return peer_mem_ieq(a, alen, b, strlen(b)); }

static inline int peer_eq(const char *a, size_t alen, const char *b) {
    return alen == strlen(b) && memcmp(a, b, alen) == 0;
}

/* Parse a complete head (as delimited by peer_head_end). 0 = ok, -1 = malformed (400),
 * -2 = too many header lines (431). Pointers point into buf. */
static inline int peer_parse_head(const char *buf, size_t n, struct peer_req *r) {
    size_t pos = 0, line_no = 0;
    r->nh = 0;
    while (pos < n) {
        size_t s = pos, e, le;
        const char *l;
        while (pos < n && buf[pos] != '\n') pos++;
        if (pos >= n) return -1;
        le = pos;            /* index of '\n' */
        pos++;               /* next line */
        e = le;
        if (e > s && buf[e - 1] == '\r') e--;
        l = buf + s;
        if (line_no++ == 0) {
            const char *sp1, *sp2;
            size_t len = e - s;
            sp1 = (const char *)memchr(l, ' ', len);
            if (!sp1) return -1;
            sp2 = (const char *)memchr(sp1 + 1, ' ', (size_t)(l + len - (sp1 + 1)));
            if (!sp2) return -1;
            if (memchr(sp2 + 1, ' ', (size_t)(l + len - (sp2 + 1)))) return -1;
            r->method = l; r->mlen = (size_t)(sp1 - l);
            r->target = sp1 + 1; r->tlen = (size_t)(sp2 - sp1 - 1);
            r->version = sp2 + 1; r->verlen = (size_t)(l + len - sp2 - 1);
            if (!r->mlen || !r->tlen || !r->verlen) return -1;
            continue;
        }
        if (e == s) return 0; /* blank line: end of head */
        if (peer_is_ows(l[0])) return -1; /* obsolete line folding */
        {
            const char *colon = (const char *)memchr(l, ':', e - s);
            const char *v, *ve;
            size_t i;
            if (!colon || colon == l) return -1;
            for (i = 0; l + i < colon; i++)
                if (!peer_is_tchar((unsigned char)l[i])) return -1;
            v = colon + 1;
            ve = buf + e;
            while (v < ve && peer_is_ows(*v)) v++;
            while (ve > v && peer_is_ows(ve[-1])) ve--;
            if (r->nh >= PEER_MAX_HEADERS) return -2;
            r->h[r->nh].name = l;
            r->h[r->nh].nlen = (size_t)(colon - l);
            r->h[r->nh].val = v;
            r->h[r->nh].vlen = (size_t)(ve - v);
            r->nh++;
        }
    }
    return -1;
}

/* Iterate comma-separated elements of a header value: returns 1 and sets *tok and *tlen to
 * the next non-empty trimmed element, 0 at the end. *pos is the cursor. */
static inline int peer_next_elem(const char *v, size_t vlen, size_t *pos, const char **tok,
                                 size_t *tlen) {
    while (*pos < vlen) {
        size_t s = *pos, e;
        while (*pos < vlen && v[*pos] != ',') (*pos)++;
        e = *pos;
        if (*pos < vlen) (*pos)++;
        while (s < e && peer_is_ows(v[s])) s++;
        while (e > s && peer_is_ows(v[e - 1])) e--;
        if (e > s) { *tok = v + s; *tlen = e - s; return 1; }
    }
    return 0;
}

/* does any header `name` contain the comma-list element `tok` (case-insensitive)? */
static inline int peer_hdr_has_token(const struct peer_req *r, const char *name, const char *tok) {
    size_t i;
    for (i = 0; i < r->nh; i++) {
        size_t p = 0, tl;
        const char *t;
        if (!peer_ieq(r->h[i].name, r->h[i].nlen, name)) continue;
        while (peer_next_elem(r->h[i].val, r->h[i].vlen, &p, &t, &tl))
            if (peer_ieq(t, tl, tok)) return 1;
    }
    return 0;
}

static inline size_t peer_hdr_count(const struct peer_req *r, const char *name) {
    size_t i, c = 0;
    for (i = 0; i < r->nh; i++)
        if (peer_ieq(r->h[i].name, r->h[i].nlen, name)) c++;
    return c;
}

static inline const struct peer_hdr *peer_hdr_find(const struct peer_req *r, const char *name) {
    size_t i;
    for (i = 0; i < r->nh; i++)
        if (peer_ieq(r->h[i].name, r->h[i].nlen, name)) return &r->h[i];
    return NULL;
}

/* ------------------------------------------------------------------ options, log, listen */

struct peer_opts {
    int port;
    const char *port_file;
    const char *log_path;
    double max_seconds;
    long max_conns;
    const char *tls_cert, *tls_key, *tls_require_sni; /* TLS listener if cert and key are set */
    const char *tls_client_ca; /* require a client certificate chaining to this CA (PEM) */
    const char *tls_suites;    /* restrict the cipher suites (see peer_tls_suite_sets) */
    int tls_no_resume;         /* --tls-no-resume: no session cache */
};

static inline void peer_opts_init(struct peer_opts *o) {
    o->port = 0;
    o->port_file = NULL;
    o->log_path = NULL;
    o->max_seconds = 300;
    o->max_conns = 20000;
    o->tls_cert = o->tls_key = o->tls_require_sni = NULL;
    o->tls_client_ca = o->tls_suites = NULL;
    o->tls_no_resume = 0;
}

/* matches "--name VALUE" or "--name=VALUE"; advances *i past the value */
static inline int peer_opt(int argc, char **argv, int *i, const char *name, const char **val) {
    const char *a = argv[*i];
    size_t nl = strlen(name);
    if (strncmp(a, name, nl) != 0) return 0;
    if (a[nl] == '=') { *val = a + nl + 1; return 1; }
    if (a[nl] != '\0') return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "option %s needs a value\n", name);
        exit(2);
    }
    *val = argv[++*i];
    return 1;
}

static inline long peer_atol(const char *s, const char *what, long lo, long hi) {
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bad value for %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

/* 1 if argv[*i] was a common option (consumed), 0 otherwise */
static inline int peer_common_opt(int argc, char **argv, int *i, struct peer_opts *o) {
    const char *v;
    if (peer_opt(argc, argv, i, "--port-file", &v)) { o->port_file = v; return 1; }
    if (peer_opt(argc, argv, i, "--port", &v)) { o->port = (int)peer_atol(v, "--port", 0, 65535); return 1; }
    if (peer_opt(argc, argv, i, "--log", &v)) { o->log_path = v; return 1; }
    if (peer_opt(argc, argv, i, "--max-seconds", &v)) {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || !(d > 0)) { fprintf(stderr, "bad --max-seconds: %s\n", v); exit(2); }
        o->max_seconds = d;
        return 1;
    }
    if (peer_opt(argc, argv, i, "--max-conns", &v)) {
        o->max_conns = peer_atol(v, "--max-conns", 1, 1000000);
        return 1;
    }
    if (peer_opt(argc, argv, i, "--tls-cert", &v)) { o->tls_cert = v; return 1; }
    if (peer_opt(argc, argv, i, "--tls-key", &v)) { o->tls_key = v; return 1; }
    if (peer_opt(argc, argv, i, "--tls-require-sni", &v)) { o->tls_require_sni = v; return 1; }
    if (peer_opt(argc, argv, i, "--tls-client-ca", &v)) { o->tls_client_ca = v; return 1; }
    if (peer_opt(argc, argv, i, "--tls-suites", &v)) { o->tls_suites = v; return 1; }
    if (!strcmp(argv[*i], "--tls-no-resume")) { o->tls_no_resume = 1; return 1; }
    return 0;
}

static FILE *peer_log_fp = NULL;

static inline void peer_log_open(const char *path) {
    if (!path) return;
    peer_log_fp = fopen(path, "a");
    if (!peer_log_fp) { perror(path); exit(1); }
}

static inline void peer_log_head(const void *head, size_t n) {
    if (!peer_log_fp) return;
    fputs("=== request\n", peer_log_fp);
    fwrite(head, 1, n, peer_log_fp);
    fputs("=== end\n", peer_log_fp);
    fflush(peer_log_fp);
}

static inline void peer_log_line(const char *prefix, const void *data, size_t n) {
    if (!peer_log_fp) return;
    fputs(prefix, peer_log_fp);
    fwrite(data, 1, n, peer_log_fp);
    fputc('\n', peer_log_fp);
    fflush(peer_log_fp);
}

static inline void peer_log_close(void) {
    if (peer_log_fp) fclose(peer_log_fp);
    peer_log_fp = NULL;
}

static inline int peer_set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0) return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static inline void peer_set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* listen on 127.0.0.1:port, write the port file, announce on stdout; returns the fd */
static inline int peer_listen(const struct peer_opts *o) {
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int one = 1, fd, port;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); exit(1); }
    if (listen(fd, 4096) < 0) { perror("listen"); exit(1); }
    if (peer_set_nonblock(fd) < 0) { perror("fcntl"); exit(1); }
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) { perror("getsockname"); exit(1); }
    port = ntohs(sa.sin_port);
    if (o->port_file) {
        size_t pl = strlen(o->port_file);
        char *tmp = (char *)malloc(pl + 5);
        FILE *f;
        if (!tmp) exit(1);
        memcpy(tmp, o->port_file, pl);
        memcpy(tmp + pl, ".tmp", 5);
        f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, o->port_file) != 0) {
            perror(o->port_file);
            exit(1);
        }
        free(tmp);
    }
    printf("listening on 127.0.0.1:%d%s\n", port, o->tls_cert ? " (TLS)" : "");
    fflush(stdout);
    return fd;
}

/* accept one connection (non-blocking, TCP_NODELAY). -1 with errno on failure */
static inline int peer_accept(int lfd) {
    int fd;
    for (;;) {
        fd = accept(lfd, NULL, NULL);
        if (fd >= 0) break;
        if (errno == EINTR) continue;
        return -1;
    }
    if (peer_set_nonblock(fd) < 0) { close(fd); errno = EIO; return -1; }
    peer_set_nodelay(fd);
    return fd;
}

static unsigned char peer_scratch[65536];

/* ------------------------------------------------------------------ TLS (BearSSL server) */

/* --tls-suites NAME: the server accepts only these suites (both key types listed; the
 * engine keeps those the server key can serve). */
struct peer_tls_suite_set {
    const char *name;
    int needs_rsa; /* static RSA key exchange: only with an RSA server key */
    size_t n;
    uint16_t ids[6];
};
static const struct peer_tls_suite_set peer_tls_suite_sets[] = {
    { "rsa", 1, 6, { BR_TLS_RSA_WITH_AES_128_GCM_SHA256, BR_TLS_RSA_WITH_AES_256_GCM_SHA384,
                     BR_TLS_RSA_WITH_AES_128_CBC_SHA256, BR_TLS_RSA_WITH_AES_256_CBC_SHA256,
                     BR_TLS_RSA_WITH_AES_128_CBC_SHA, BR_TLS_RSA_WITH_AES_256_CBC_SHA } },
    { "cbc", 0, 4, { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
                     BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 } },
    { "cbc-sha1", 0, 4, { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
                          BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA } },
    { "3des", 0, 3, { BR_TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
                      BR_TLS_RSA_WITH_3DES_EDE_CBC_SHA } },
    { "gcm", 0, 4, { BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                     BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 } },
    { "chacha", 0, 2, { BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                        BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 } },
};

/* Loaded once by peer_tls_setup(); read-only afterwards. */
struct peer_tls_conf {
    int on;
    const char *require_sni;
    const struct peer_tls_suite_set *suites; /* NULL: BearSSL's full list */
    br_x509_trust_anchor *client_tas;        /* --tls-client-ca; NULL: no client certificate asked */
    size_t client_tas_len;
    br_x509_certificate *chain;
    size_t chain_len;
    int key_type;             /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    unsigned issuer_key_type; /* key type of the CA that signed the leaf (for full_ec) */
    br_skey_decoder_context skey; /* holds the private key the engines point into */
    int resume;                   /* keep sessions (not --tls-no-resume) */
};
static struct peer_tls_conf peer_tls_g;

/* The session cache: BearSSL's LRU behind a wrapper that tells the connection its
   session was resumed, and remembers the client certificate's CN of each session. */
#define PEER_TLS_SESSIONS 2000
struct peer_tls_cache {
    const br_ssl_session_cache_class *vtable; /* first: the engine calls through it */
    br_ssl_session_cache_lru lru;
    unsigned char store[PEER_TLS_SESSIONS * 100]; /* 100 bytes per session (bearssl_ssl.h) */
    struct { unsigned char id[32]; char cn[128]; } names[256]; /* ring: session ID -> CN */
    size_t next_name;
};
static struct peer_tls_cache peer_tls_cache_g;
static const br_ssl_session_cache_class peer_tls_cache_class; /* defined below peer_tls */
static const char *peer_tls_alpn[] = { "http/1.1" };

/* policy wrapper: refuses the handshake when the SNI is not --tls-require-sni */
struct peer_tls_policy {
    const br_ssl_server_policy_class *vtable;
    const br_ssl_server_policy_class **inner;
};

/* One per TLS connection; heap-allocated, never moved (the engine points into it). */
struct peer_tls {
    br_ssl_server_context sc;   /* first: the session cache finds the connection from it */
    struct peer_tls_policy pol;
    br_x509_minimal_context xc; /* validates the client's chain (--tls-client-ca) */
    br_name_element cn_elt;     /* the client certificate's subject CN, filled by xc */
    char cn[256];
    br_ssl_session_parameters params; /* read once after the handshake (for its suite) */
    int info_logged; /* "=== version/suite/resumed/client-cert" written */
    int resumed;     /* the client's session was found in the cache */
    int hs_done;   /* the handshake completed (app data could flow) */
    int tcp_eof;   /* recv() returned 0 */
    int closing;   /* br_ssl_engine_close() was called */
    int failed;    /* failure already reported */
    int sni_refused;
    size_t pulled; /* plaintext taken from the engine by the last pump */
    int more;      /* the last pump stopped early: call it again soon */
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

static inline unsigned char *peer_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    struct pbuf b;
    size_t n;
    memset(&b, 0, sizeof b);
    if (!f) { perror(path); exit(2); }
    for (;;) {
        if (pbuf_reserve(&b, 65536) < 0) { fprintf(stderr, "out of memory\n"); exit(1); }
        n = fread(b.p + b.len, 1, 65536, f);
        b.len += n;
        if (n == 0) break;
    }
    if (ferror(f)) { perror(path); exit(2); }
    fclose(f);
    *len = b.len;
    return b.p;
}

static inline void peer_pem_sink(void *ctx, const void *buf, size_t len) {
    if (pbuf_append((struct pbuf *)ctx, buf, len) < 0) { fprintf(stderr, "out of memory\n"); exit(1); }
}

/* Calls cb(u, name, der, len) for each PEM object of the file; cb owns der (malloc'ed). */
static inline void peer_pem_each(const char *path, void (*cb)(void *, const char *, unsigned char *, size_t),
                                 void *u) {
    size_t len, pos = 0;
    unsigned char *data = peer_read_file(path, &len);
    br_pem_decoder_context pc;
    struct pbuf obj;
    char name[128];
    int inobj = 0, pass;
    memset(&obj, 0, sizeof obj);
    br_pem_decoder_init(&pc);
    for (pass = 0; pass < 2; pass++) {
        /* pass 1 pushes a final newline, in case the file lacks one */
        const unsigned char *src = pass == 0 ? data : (const unsigned char *)"\n";
        size_t slen = pass == 0 ? len : 1;
        pos = 0;
        while (pos < slen) {
            pos += br_pem_decoder_push(&pc, src + pos, slen - pos);
            switch (br_pem_decoder_event(&pc)) {
            case BR_PEM_BEGIN_OBJ:
                snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
                memset(&obj, 0, sizeof obj);
                br_pem_decoder_setdest(&pc, peer_pem_sink, &obj);
                inobj = 1;
                break;
            case BR_PEM_END_OBJ:
                if (inobj) cb(u, name, obj.p, obj.len);
                memset(&obj, 0, sizeof obj);
                inobj = 0;
                break;
            case BR_PEM_ERROR:
                fprintf(stderr, "%s: invalid PEM\n", path);
                exit(2);
            default:
                break;
            }
        }
    }
    if (inobj) { fprintf(stderr, "%s: truncated PEM object\n", path); exit(2); }
    free(data);
}

static inline void peer_tls_cert_cb(void *u, const char *name, unsigned char *der, size_t len) {
    struct peer_tls_conf *g = (struct peer_tls_conf *)u;
    br_x509_certificate *nc;
    if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) { free(der); return; }
    nc = (br_x509_certificate *)realloc(g->chain, (g->chain_len + 1) * sizeof *nc);
    if (!nc) { fprintf(stderr, "out of memory\n"); exit(1); }
    g->chain = nc;
    g->chain[g->chain_len].data = der;
    g->chain[g->chain_len].data_len = len;
    g->chain_len++;
}

static inline void peer_tls_key_cb(void *u, const char *name, unsigned char *der, size_t len) {
    struct peer_tls_conf *g = (struct peer_tls_conf *)u;
    if (!g->key_type && (strcmp(name, "PRIVATE KEY") == 0 || strcmp(name, "RSA PRIVATE KEY") == 0 ||
                         strcmp(name, "EC PRIVATE KEY") == 0)) {
        br_skey_decoder_init(&g->skey);
        br_skey_decoder_push(&g->skey, der, len);
        if (br_skey_decoder_last_error(&g->skey) != 0) {
            fprintf(stderr, "cannot decode the private key (BearSSL error %d)\n",
                    br_skey_decoder_last_error(&g->skey));
            exit(2);
        }
        g->key_type = br_skey_decoder_key_type(&g->skey);
    }
    free(der);
}

static inline void peer_x509_dn_sink(void *ctx, const void *buf, size_t len) {
    (void)ctx; (void)buf; (void)len;
}

static inline unsigned char *peer_memdup(const void *p, size_t n) {
    unsigned char *q = (unsigned char *)malloc(n ? n : 1);
    if (!q) { fprintf(stderr, "out of memory\n"); exit(1); }
    if (n) memcpy(q, p, n);
    return q;
}

/* One trust anchor per CERTIFICATE object of --tls-client-ca (DN and key copied). */
static inline void peer_tls_anchor_cb(void *u, const char *name, unsigned char *der, size_t len) {
    struct peer_tls_conf *g = (struct peer_tls_conf *)u;
    br_x509_decoder_context dc;
    br_x509_trust_anchor *ta, *nt;
    const br_x509_pkey *pk;
    struct pbuf dn;
    if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) { free(der); return; }
    memset(&dn, 0, sizeof dn);
    br_x509_decoder_init(&dc, peer_pem_sink, &dn);
    br_x509_decoder_push(&dc, der, len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (!pk || br_x509_decoder_last_error(&dc) != 0) {
        fprintf(stderr, "--tls-client-ca: cannot decode a certificate (BearSSL error %d)\n",
                br_x509_decoder_last_error(&dc));
        exit(2);
    }
    nt = (br_x509_trust_anchor *)realloc(g->client_tas, (g->client_tas_len + 1) * sizeof *nt);
    if (!nt) { fprintf(stderr, "out of memory\n"); exit(1); }
    g->client_tas = nt;
    ta = &nt[g->client_tas_len++];
    memset(ta, 0, sizeof *ta);
    ta->dn.data = dn.p ? dn.p : peer_memdup("", 0);
    ta->dn.len = dn.len;
    ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    ta->pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta->pkey.key.rsa.n = peer_memdup(pk->key.rsa.n, pk->key.rsa.nlen);
        ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta->pkey.key.rsa.e = peer_memdup(pk->key.rsa.e, pk->key.rsa.elen);
        ta->pkey.key.rsa.elen = pk->key.rsa.elen;
    } else {
        ta->pkey.key.ec.curve = pk->key.ec.curve;
        ta->pkey.key.ec.q = peer_memdup(pk->key.ec.q, pk->key.ec.qlen);
        ta->pkey.key.ec.qlen = pk->key.ec.qlen;
    }
    free(der);
}

/* Load --tls-cert / --tls-key; exits with status 2 on any problem. */
static inline void peer_tls_setup(const struct peer_opts *o) {
    br_x509_decoder_context dc;
    const br_x509_pkey *pk;
    if (!o->tls_cert && !o->tls_key) {
        if (o->tls_require_sni || o->tls_client_ca || o->tls_suites || o->tls_no_resume) {
            fprintf(stderr, "--tls-require-sni, --tls-client-ca, --tls-suites and --tls-no-resume need --tls-cert and --tls-key\n");
            exit(2);
        }
        return;
    }
    if (!o->tls_cert || !o->tls_key) { fprintf(stderr, "--tls-cert and --tls-key go together\n"); exit(2); }
    peer_pem_each(o->tls_cert, peer_tls_cert_cb, &peer_tls_g);
    if (peer_tls_g.chain_len == 0) { fprintf(stderr, "%s: no certificate\n", o->tls_cert); exit(2); }
    peer_pem_each(o->tls_key, peer_tls_key_cb, &peer_tls_g);
    if (peer_tls_g.key_type != BR_KEYTYPE_RSA && peer_tls_g.key_type != BR_KEYTYPE_EC) {
        fprintf(stderr, "%s: no RSA or EC private key\n", o->tls_key);
        exit(2);
    }
    br_x509_decoder_init(&dc, peer_x509_dn_sink, NULL);
    br_x509_decoder_push(&dc, peer_tls_g.chain[0].data, peer_tls_g.chain[0].data_len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (!pk || br_x509_decoder_last_error(&dc) != 0) {
        fprintf(stderr, "%s: cannot decode the first certificate\n", o->tls_cert);
        exit(2);
    }
    if (pk->key_type != peer_tls_g.key_type) {
        fprintf(stderr, "%s does not match the key type of %s\n", o->tls_key, o->tls_cert);
        exit(2);
    }
    peer_tls_g.issuer_key_type = (unsigned)br_x509_decoder_get_signer_key_type(&dc);
    peer_tls_g.require_sni = o->tls_require_sni;
    if (o->tls_suites) {
        size_t i, n = sizeof peer_tls_suite_sets / sizeof peer_tls_suite_sets[0];
        for (i = 0; i < n && strcmp(peer_tls_suite_sets[i].name, o->tls_suites) != 0; i++) {}
        if (i == n) {
            fprintf(stderr, "--tls-suites: unknown set '%s' (rsa, cbc, cbc-sha1, 3des, gcm, chacha)\n",
                    o->tls_suites);
            exit(2);
        }
        if (peer_tls_suite_sets[i].needs_rsa && peer_tls_g.key_type != BR_KEYTYPE_RSA) {
            fprintf(stderr, "--tls-suites %s needs an RSA server key\n", o->tls_suites);
            exit(2);
        }
        peer_tls_g.suites = &peer_tls_suite_sets[i];
    }
    if (o->tls_client_ca) {
        peer_pem_each(o->tls_client_ca, peer_tls_anchor_cb, &peer_tls_g);
        if (peer_tls_g.client_tas_len == 0) {
            fprintf(stderr, "%s: no certificate\n", o->tls_client_ca);
            exit(2);
        }
    }
    if (!o->tls_no_resume) {
        br_ssl_session_cache_lru_init(&peer_tls_cache_g.lru, peer_tls_cache_g.store, sizeof peer_tls_cache_g.store);
        peer_tls_cache_g.vtable = &peer_tls_cache_class;
        peer_tls_g.resume = 1;
    }
    peer_tls_g.on = 1;
}

static inline void peer_tls_teardown(void) {
    size_t i;
    for (i = 0; i < peer_tls_g.chain_len; i++) free(peer_tls_g.chain[i].data);
    free(peer_tls_g.chain);
    peer_tls_g.chain = NULL;
    peer_tls_g.chain_len = 0;
    for (i = 0; i < peer_tls_g.client_tas_len; i++) {
        br_x509_trust_anchor *ta = &peer_tls_g.client_tas[i];
        free(ta->dn.data);
        if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
            free(ta->pkey.key.rsa.n);
            free(ta->pkey.key.rsa.e);
        } else {
            free(ta->pkey.key.ec.q);
        }
    }
    free(peer_tls_g.client_tas);
    peer_tls_g.client_tas = NULL;
    peer_tls_g.client_tas_len = 0;
    peer_tls_g.on = 0;
}

static inline int peer_tls_pol_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
                                      br_ssl_server_choices *choices) {
    struct peer_tls_policy *p = (struct peer_tls_policy *)(void *)pctx;
    struct peer_tls *t = (struct peer_tls *)(void *)((char *)p - offsetof(struct peer_tls, pol));
    if (peer_tls_g.require_sni && strcmp(br_ssl_engine_get_server_name(&cc->eng), peer_tls_g.require_sni) != 0) {
        t->sni_refused = 1;
        return 0;
    }
    return (*p->inner)->choose(p->inner, cc, choices);
}

static inline uint32_t peer_tls_pol_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data, size_t *len) {
    struct peer_tls_policy *p = (struct peer_tls_policy *)(void *)pctx;
    return (*p->inner)->do_keyx(p->inner, data, len);
}

static inline size_t peer_tls_pol_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id,
                                       unsigned char *data, size_t hv_len, size_t len) {
    struct peer_tls_policy *p = (struct peer_tls_policy *)(void *)pctx;
    return (*p->inner)->do_sign(p->inner, algo_id, data, hv_len, len);
}

static const br_ssl_server_policy_class peer_tls_pol_class = {
    sizeof(struct peer_tls_policy), peer_tls_pol_choose, peer_tls_pol_keyx, peer_tls_pol_sign
};

/* The cache's save: a full handshake just ended; keep its session (and CN). */
static inline void peer_tls_cache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                                       const br_ssl_session_parameters *params) {
    struct peer_tls_cache *c = (struct peer_tls_cache *)(void *)ctx;
    struct peer_tls *t = (struct peer_tls *)(void *)sc;
    c->lru.vtable->save(&c->lru.vtable, sc, params);
    if (peer_tls_g.client_tas && t->cn_elt.status == 1) {
        size_t k = c->next_name++ % (sizeof c->names / sizeof c->names[0]);
        memcpy(c->names[k].id, params->session_id, 32);
        snprintf(c->names[k].cn, sizeof c->names[k].cn, "%.127s", t->cn);
    }
}

/* The cache's load: the client offered a session ID. With --tls-client-ca a session is
   resumed only while its CN is still known (else a full handshake asks again). */
static inline int peer_tls_cache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
                                      br_ssl_session_parameters *params) {
    struct peer_tls_cache *c = (struct peer_tls_cache *)(void *)ctx;
    struct peer_tls *t = (struct peer_tls *)(void *)sc;
    if (peer_tls_g.client_tas) {
        size_t k, n = sizeof c->names / sizeof c->names[0];
        for (k = 0; k < n && memcmp(c->names[k].id, params->session_id, 32) != 0; k++) {}
        if (k == n || !c->lru.vtable->load(&c->lru.vtable, sc, params)) return 0;
        snprintf(t->cn, sizeof t->cn, "%s", c->names[k].cn);
        t->cn_elt.status = 1;
    } else if (!c->lru.vtable->load(&c->lru.vtable, sc, params)) {
        return 0;
    }
    t->resumed = 1;
    return 1;
}

static const br_ssl_session_cache_class peer_tls_cache_class = {
    sizeof(struct peer_tls_cache), peer_tls_cache_save, peer_tls_cache_load
};

/* New server engine for an accepted connection; NULL if out of memory / no entropy. */
static inline struct peer_tls *peer_tls_new(void) {
    struct peer_tls *t = (struct peer_tls *)calloc(1, sizeof *t);
    if (!t) return NULL;
    if (peer_tls_g.key_type == BR_KEYTYPE_RSA)
        br_ssl_server_init_full_rsa(&t->sc, peer_tls_g.chain, peer_tls_g.chain_len,
                                    br_skey_decoder_get_rsa(&peer_tls_g.skey));
    else
        br_ssl_server_init_full_ec(&t->sc, peer_tls_g.chain, peer_tls_g.chain_len,
                                   peer_tls_g.issuer_key_type, br_skey_decoder_get_ec(&peer_tls_g.skey));
    br_ssl_engine_set_buffer(&t->sc.eng, t->iobuf, sizeof t->iobuf, 1);
    br_ssl_engine_set_protocol_names(&t->sc.eng, peer_tls_alpn, 1);
    if (peer_tls_g.suites) br_ssl_engine_set_suites(&t->sc.eng, peer_tls_g.suites->ids, peer_tls_g.suites->n);
    if (peer_tls_g.client_tas) {
        /* CertificateRequest names the client CA; the minimal validator checks the chain
           against it (no name check: a client has none); the engine then verifies the
           client's CertificateVerify signature. No certificate at all fails the handshake. */
        static const unsigned char cn_oid[] = { 3, 0x55, 0x04, 0x03 };
        br_x509_minimal_init_full(&t->xc, peer_tls_g.client_tas, peer_tls_g.client_tas_len);
        t->cn_elt.oid = cn_oid;
        t->cn_elt.buf = t->cn;
        t->cn_elt.len = sizeof t->cn;
        br_x509_minimal_set_name_elements(&t->xc, &t->cn_elt, 1);
        br_ssl_engine_set_x509(&t->sc.eng, &t->xc.vtable);
        br_ssl_engine_set_default_rsavrfy(&t->sc.eng);
        br_ssl_engine_set_default_ecdsa(&t->sc.eng);
        br_ssl_server_set_trust_anchor_names_alt(&t->sc, peer_tls_g.client_tas, peer_tls_g.client_tas_len);
    }
    if (peer_tls_g.require_sni) {
        t->pol.vtable = &peer_tls_pol_class;
        t->pol.inner = t->sc.policy_vtable;
        t->sc.policy_vtable = &t->pol.vtable;
    }
    if (peer_tls_g.resume) br_ssl_server_set_cache(&t->sc, &peer_tls_cache_g.vtable);
    if (!br_ssl_server_reset(&t->sc)) { free(t); return NULL; }
    return t;
}

static inline void peer_tls_free(struct peer_tls *t) { free(t); }

static inline const char *peer_tls_alert_name(int a) {
    switch (a) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 90: return "user_canceled";
    case 112: return "unrecognized_name";
    case 120: return "no_application_protocol";
    default: return "?";
    }
}

static inline const char *peer_tls_err_name(int e) {
    switch (e) {
    case BR_ERR_UNSUPPORTED_VERSION: return "unsupported version: not a TLS 1.0-1.2 client?";
    case BR_ERR_BAD_VERSION: return "bad version";
    case BR_ERR_BAD_LENGTH: return "bad record length";
    case BR_ERR_TOO_LARGE: return "record too large";
    case BR_ERR_BAD_MAC: return "bad record MAC";
    case BR_ERR_NO_RANDOM: return "no entropy";
    case BR_ERR_UNKNOWN_TYPE: return "unknown record type: not TLS?";
    case BR_ERR_UNEXPECTED: return "unexpected message";
    case BR_ERR_BAD_HANDSHAKE: return "bad handshake message";
    case BR_ERR_BAD_CIPHER_SUITE: return "no common cipher suite";
    case BR_ERR_BAD_SNI: return "bad SNI";
    case BR_ERR_BAD_FINISHED: return "bad Finished";
    case BR_ERR_INVALID_ALGORITHM: return "invalid algorithm";
    case BR_ERR_BAD_SIGNATURE: return "bad signature";
    case BR_ERR_IO: return "I/O error";
    case BR_ERR_WRONG_KEY_USAGE: return "key usage does not allow this use";
    case BR_ERR_NO_CLIENT_AUTH: return "no client certificate";
    case BR_ERR_X509_EMPTY_CHAIN: return "client certificate: empty chain";
    case BR_ERR_X509_BAD_SIGNATURE: return "client certificate: bad signature";
    case BR_ERR_X509_EXPIRED: return "client certificate: expired or not yet valid";
    case BR_ERR_X509_NOT_CA: return "client certificate: issuer is not a CA";
    case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "client certificate: key usage forbids signing";
    case BR_ERR_X509_WEAK_PUBLIC_KEY: return "client certificate: weak public key";
    case BR_ERR_X509_UNSUPPORTED: return "client certificate: unsupported algorithm";
    case BR_ERR_X509_NOT_TRUSTED: return "client certificate: not trusted (does not chain to --tls-client-ca)";
    default:
        if (e >= BR_ERR_X509_OK && e <= BR_ERR_X509_NOT_TRUSTED) return "client certificate: X.509 error (see bearssl_x509.h)";
        return "see bearssl_ssl.h";
    }
}

/* "=== tls-failed: WHY" in the log, once per connection */
static inline void peer_tls_log_failure(struct peer_tls *t, const char *why) {
    char line[640];
    int err = br_ssl_engine_last_error(&t->sc.eng);
    if (t->failed) return;
    t->failed = 1;
    if (!peer_log_fp) return;
    if (t->sni_refused)
        snprintf(line, sizeof line, "SNI '%s' is not the required '%s'",
                 br_ssl_engine_get_server_name(&t->sc.eng), peer_tls_g.require_sni);
    else if (why)
        snprintf(line, sizeof line, "%s", why);
    else if (err >= BR_ERR_SEND_FATAL_ALERT)
        snprintf(line, sizeof line, "sent alert %d (%s)", err - BR_ERR_SEND_FATAL_ALERT,
                 peer_tls_alert_name(err - BR_ERR_SEND_FATAL_ALERT));
    else if (err >= BR_ERR_RECV_FATAL_ALERT)
        snprintf(line, sizeof line, "client sent alert %d (%s)", err - BR_ERR_RECV_FATAL_ALERT,
                 peer_tls_alert_name(err - BR_ERR_RECV_FATAL_ALERT));
    else
        snprintf(line, sizeof line, "BearSSL error %d (%s)", err, peer_tls_err_name(err));
    peer_log_line("=== tls-failed: ", line, strlen(line));
}

/* After the handshake, once per connection: "=== version: TLSv1.2", "=== suite: 0xC02F",
 * "=== kex: curve 29, signature 0x0401" (an ECDHE key exchange: the curve's TLS id and the
 * ServerKeyExchange's signature scheme; "=== kex: none" without one: a resumed session, a
 * static RSA or ECDH suite), "=== resumed: yes|no" and, with --tls-client-ca,
 * "=== client-cert: CN" (the subject CN of the client's certificate, non-printable bytes
 * as '?'; "(no CN)" without one). */
static inline void peer_tls_log_handshake(struct peer_tls *t) {
    char line[300];
    unsigned v;
    size_t i;
    if (t->info_logged) return;
    t->info_logged = 1;
    if (!peer_log_fp) return;
    v = br_ssl_engine_get_version(&t->sc.eng);
    if (v >= BR_TLS10 && v <= BR_TLS12) snprintf(line, sizeof line, "TLSv1.%u", v - BR_TLS10);
    else snprintf(line, sizeof line, "0x%04X", v);
    peer_log_line("=== version: ", line, strlen(line));
    br_ssl_engine_get_session_parameters(&t->sc.eng, &t->params);
    snprintf(line, sizeof line, "0x%04X", (unsigned)t->params.cipher_suite);
    peer_log_line("=== suite: ", line, strlen(line));
    if (t->sc.eng.ecdhe_curve) {   /* set only when this handshake sent a ServerKeyExchange */
        unsigned h = t->sc.sign_hash_id;   /* 0xFF00 + hash id, or the whole scheme */
        if (h >= 0xFF00) h = (h & 0xFF) << 8 | (peer_tls_g.key_type == BR_KEYTYPE_RSA ? 1u : 3u);
        snprintf(line, sizeof line, "curve %u, signature 0x%04X", (unsigned)t->sc.eng.ecdhe_curve, h);
    } else {
        snprintf(line, sizeof line, "none");
    }
    peer_log_line("=== kex: ", line, strlen(line));
    peer_log_line("=== resumed: ", t->resumed ? "yes" : "no", t->resumed ? 3 : 2);
    if (peer_tls_g.client_tas) {
        if (t->cn_elt.status == 1) {
            snprintf(line, sizeof line, "%s", t->cn);
            for (i = 0; line[i]; i++)
                if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = '?';
        } else {
            snprintf(line, sizeof line, "(no CN)");
        }
        peer_log_line("=== client-cert: ", line, strlen(line));
    }
}

/* "=== sni: NAME" and "=== alpn: NAME" (either may be empty); call after the request record */
static inline void peer_tls_log_info(struct peer_tls *t) {
    const char *sni, *alpn;
    if (!t || !peer_log_fp) return;
    sni = br_ssl_engine_get_server_name(&t->sc.eng);
    alpn = br_ssl_engine_get_selected_protocol(&t->sc.eng);
    peer_log_line("=== sni: ", sni, strlen(sni));
    peer_log_line("=== alpn: ", alpn ? alpn : "", alpn ? strlen(alpn) : 0);
}

/* Move bytes between the socket, the engine and the plaintext queues until nothing moves.
 *   in:  decrypted bytes are appended while pbuf_pending(in) < in_limit (NULL: discarded)
 *   out: plaintext to send; taken as the engine accepts it (each batch flushed as a record)
 * The engine itself buffers at most one record each way, so memory stays bounded by the
 * callers' limits. Returns the bytes moved (records sent + plaintext taken from out), or
 * -1 when the connection is finished with an error (socket error, TLS failure). */
static inline long peer_tls_pump(struct peer_tls *t, int fd, struct pbuf *in, size_t in_limit, struct pbuf *out) {
    br_ssl_engine_context *e = &t->sc.eng;
    long moved = 0;
    int iter, rd_blocked = 0, wr_blocked = 0;
    t->pulled = 0;
    t->more = 0;
    for (iter = 0;; iter++) {
        unsigned st = br_ssl_engine_current_state(e);
        int progress = 0;
        unsigned char *buf;
        size_t len;
        if (st & BR_SSL_CLOSED) break;
        if (iter >= 256) { t->more = 1; break; } /* let other connections run */
        if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) {
            t->hs_done = 1;
            peer_tls_log_handshake(t);
        }
        if ((st & BR_SSL_SENDREC) && !wr_blocked) {
            ssize_t n;
            buf = br_ssl_engine_sendrec_buf(e, &len);
            n = send(fd, buf, len, MSG_NOSIGNAL);
            if (n > 0) {
                br_ssl_engine_sendrec_ack(e, (size_t)n);
                moved += (long)n;
                progress = 1;
            } else if (n < 0 && errno == EINTR) {
                progress = 1;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                wr_blocked = 1;
            } else {
                char why[160];
                snprintf(why, sizeof why, "send: %s", strerror(errno));
                if (!t->hs_done) peer_tls_log_failure(t, why);
                return -1;
            }
        }
        if (st & BR_SSL_RECVAPP) {
            buf = br_ssl_engine_recvapp_buf(e, &len);
            if (!in) {
                br_ssl_engine_recvapp_ack(e, len);
                t->pulled += len;
                progress = 1;
            } else if (pbuf_pending(in) < in_limit) {
                size_t room = in_limit - pbuf_pending(in);
                if (len > room) len = room;
                if (pbuf_append(in, buf, len) < 0) return -1;
                br_ssl_engine_recvapp_ack(e, len);
                t->pulled += len;
                progress = 1;
            }
        }
        if ((st & BR_SSL_SENDAPP) && out && pbuf_pending(out) > 0 && !t->closing) {
            buf = br_ssl_engine_sendapp_buf(e, &len);
            if (len > pbuf_pending(out)) len = pbuf_pending(out);
            memcpy(buf, pbuf_data(out), len);
            br_ssl_engine_sendapp_ack(e, len);
            br_ssl_engine_flush(e, 0);
            pbuf_consume(out, len);
            moved += (long)len;
            progress = 1;
        }
        if ((st & BR_SSL_RECVREC) && !t->tcp_eof && !rd_blocked) {
            ssize_t n;
            buf = br_ssl_engine_recvrec_buf(e, &len);
            n = recv(fd, buf, len, 0);
            if (n > 0) {
                br_ssl_engine_recvrec_ack(e, (size_t)n);
                progress = 1;
            } else if (n == 0) {
                t->tcp_eof = 1;
                if (!t->hs_done) peer_tls_log_failure(t, "connection closed during the handshake");
            } else if (errno == EINTR) {
                progress = 1;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                rd_blocked = 1;
            } else {
                char why[160];
                snprintf(why, sizeof why, "recv: %s", strerror(errno));
                if (!t->hs_done) peer_tls_log_failure(t, why);
                return -1;
            }
        }
        if (!progress) break;
    }
    if (br_ssl_engine_current_state(e) & BR_SSL_CLOSED) {
        if (br_ssl_engine_last_error(e) != BR_ERR_OK) {
            peer_tls_log_failure(t, NULL);
            return -1;
        }
        if (out) pbuf_consume(out, pbuf_pending(out)); /* closed cleanly: nothing more goes out */
    }
    return moved;
}

/* no more plaintext will come from the client */
static inline int peer_tls_eof(const struct peer_tls *t) {
    unsigned st = br_ssl_engine_current_state(&t->sc.eng);
    if (st & BR_SSL_CLOSED) return 1;
    return t->tcp_eof && !(st & BR_SSL_RECVAPP);
}

/* nothing more can be sent (engine closed) */
static inline int peer_tls_closed(const struct peer_tls *t) {
    return (br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_CLOSED) != 0;
}

/* start the TLS closure (close_notify); then pump until peer_tls_write_done() */
static inline void peer_tls_close(struct peer_tls *t) {
    if (t->closing) return;
    t->closing = 1;
    br_ssl_engine_close(&t->sc.eng);
}

/* our side has nothing left to send: safe to shutdown(SHUT_WR) */
static inline int peer_tls_write_done(const struct peer_tls *t) {
    unsigned st = br_ssl_engine_current_state(&t->sc.eng);
    return (st & BR_SSL_CLOSED) || (t->closing && !(st & BR_SSL_SENDREC));
}

/* poll() events for the socket of a TLS connection; want_in: the caller accepts plaintext */
static inline short peer_tls_events(const struct peer_tls *t, int want_in) {
    unsigned st = br_ssl_engine_current_state(&t->sc.eng);
    short ev = 0;
    if (st & BR_SSL_CLOSED) return 0;
    if ((st & BR_SSL_RECVREC) && !t->tcp_eof && (want_in || !t->hs_done || t->closing)) ev |= POLLIN;
    if (st & BR_SSL_SENDREC) ev |= POLLOUT;
    return ev;
}


#endif
