/* Helpers shared by the two test peers (ws_echo_server.c, http_proxy.c).
 * Written independently of wsproxy.h: own SHA-1 (FIPS 180-4), base64 (RFC 4648),
 * HTTP head parsing, bounded byte queues, option parsing and the listen socket.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

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
static inline unsigned char *pbuf_data(const struct pbuf *b) { return b->p + b->off; }

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

static inline int peer_ieq(const char *a, size_t alen, const char *b) {
    size_t i, blen = strlen(b);
    if (alen != blen) return 0;
    for (i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return 0;
    }
    return 1;
}

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
};

static inline void peer_opts_init(struct peer_opts *o) {
    o->port = 0;
    o->port_file = NULL;
    o->log_path = NULL;
    o->max_seconds = 300;
    o->max_conns = 20000;
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
    printf("listening on 127.0.0.1:%d\n", port);
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

#endif
