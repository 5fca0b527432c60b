/* bench/e2e_floor.c: the clients with no WebSocket library, the floor of the end-to-end
   rows.
   ws:// (row 4): blocking send() and recv(), each burst of frames built in one pass
   (header, fresh mask key, masked payload) into one buffer and sent with one send();
   replies parsed in place from a 256 KiB receive buffer, payloads counted, not copied.
   wss:// and https:// proxies (rows 5 and 7): bare BearSSL client engines (the proxy's
   engine on the socket, the server's inside its plaintext), moving the same bytes as
   the wsproxy client: the frames are built once before the clock starts, and the
   replies are counted, not parsed. Request heads are the smallest RFC 6455 / RFC 9110
   allow; no ALPN. */
#define _DEFAULT_SOURCE
#include <bearssl.h>
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

#include "common.h"
#include "e2e.h"

/* ---- small helpers ------------------------------------------------------------ */
static void fill_random(unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0) { perror("getrandom"); exit(2); }
        p += r;
        n -= (size_t)r;
    }
}

static void base64_16(const unsigned char in[16], char out[25])
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int i, o = 0;
    for (i = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18]; out[o++] = t[(v >> 12) & 63]; out[o++] = t[(v >> 6) & 63]; out[o++] = t[v & 63];
    }
    out[o++] = t[in[15] >> 2]; out[o++] = t[(in[15] & 3) << 4]; out[o++] = '='; out[o++] = '=';
    out[o] = 0;
}

static size_t upgrade_head(char *out, size_t cap, int port)
{
    unsigned char k[16];
    char key[25];
    fill_random(k, 16);
    base64_16(k, key);
    return (size_t)snprintf(out, cap,
                            "GET /echo HTTP/1.1\r\nHost: localhost:%d\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                            port, key);
}

static size_t connect_head(char *out, size_t cap, int port)
{
    return (size_t)snprintf(out, cap, "CONNECT localhost:%d HTTP/1.1\r\nHost: localhost:%d\r\n\r\n", port, port);
}

/* one masked client frame in one pass; returns its size */
static size_t build_frame(unsigned char *out, const unsigned char *payload, size_t len, const unsigned char key[4])
{
    size_t h = 0, i = 0;
    uint32_t k32;
    uint64_t kw;
    unsigned char *p;
    out[h++] = 0x82;
    if (len < 126) out[h++] = (unsigned char)(0x80 | len);
    else if (len <= 0xFFFF) { out[h++] = 0x80 | 126; out[h++] = (unsigned char)(len >> 8); out[h++] = (unsigned char)len; }
    else {
        int s;
        out[h++] = 0x80 | 127;
        for (s = 56; s >= 0; s -= 8) out[h++] = (unsigned char)((uint64_t)len >> s);
    }
    memcpy(out + h, key, 4);
    h += 4;
    p = out + h;
    memcpy(&k32, key, 4);
    kw = (uint64_t)k32 * 0x100000001ull;
    for (; i + 32 <= len; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, payload + i, 8); memcpy(&b, payload + i + 8, 8);
        memcpy(&c, payload + i + 16, 8); memcpy(&d, payload + i + 24, 8);
        a ^= kw; b ^= kw; c ^= kw; d ^= kw;
        memcpy(p + i, &a, 8); memcpy(p + i + 8, &b, 8); memcpy(p + i + 16, &c, 8); memcpy(p + i + 24, &d, 8);
    }
    for (; i < len; i++) p[i] = (unsigned char)(payload[i] ^ key[i & 3]);
    return h + len;
}

static size_t server_header_len(size_t len) { return len < 126 ? 2 : len <= 0xFFFF ? 4 : 10; }

/* ---- plain: ws:// direct or through the http:// proxy ---------------------------------- */
/* reads one reply head; leftover bytes after it stay in buf[0..*left) */
static int read_head_plain(int fd, unsigned char *buf, size_t cap, size_t *left, const char *want, io_count *io)
{
    size_t have = 0;
    for (;;) {
        long r = net_recv(fd, buf + have, cap - have, io);
        size_t i;
        if (r <= 0) return -1;
        have += (size_t)r;
        for (i = 3; i < have; i++)
            if (buf[i - 3] == '\r' && buf[i - 2] == '\n' && buf[i - 1] == '\r' && buf[i] == '\n') {
                if (have < 12 || memcmp(buf + 9, want, strlen(want)) != 0) return -1;
                memmove(buf, buf + i + 1, have - i - 1);
                *left = have - i - 1;
                return 0;
            }
        if (have == cap) return -1;
    }
}

static int floor_plain(const e2e_cfg *cfg, e2e_res *res)
{
    size_t rcap = 256 * 1024, have = 0, pool_used = 4096, rem = 0, off = 0;
    size_t scap = (size_t)cfg->window * (cfg->size + 14);
    unsigned char *rbuf = (unsigned char *)malloc(rcap), *sbuf = (unsigned char *)malloc(scap + 256);
    unsigned char *payload = (unsigned char *)malloc(cfg->size + 1), pool[4096];
    char head[512];
    int fd, in_payload = 0, rc = -1;
    long sent = 0, done = 0;
    io_count io;
    double t0, w0;
    memset(&io, 0, sizeof io);
    memset(res, 0, sizeof *res);
    if (!rbuf || !sbuf || !payload) { fprintf(stderr, "out of memory\n"); exit(2); }
    payload_pattern(payload, cfg->size);
    fd = net_connect(cfg->proxy ? cfg->proxy_port : cfg->server_port);
    if (fd < 0) { perror("bench: floor connect"); goto out; }
    io.counting = 1;
    if (cfg->proxy) {
        size_t n = connect_head(head, sizeof head, cfg->server_port);
        if (net_send_all(fd, head, n, &io) || read_head_plain(fd, rbuf, rcap, &have, "200", &io)) {
            fprintf(stderr, "bench: floor: CONNECT failed\n");
            goto out_fd;
        }
    }
    {
        size_t n = upgrade_head(head, sizeof head, cfg->server_port);
        if (net_send_all(fd, head, n, &io) || read_head_plain(fd, rbuf, rcap, &have, "101", &io)) {
            fprintf(stderr, "bench: floor: upgrade failed\n");
            goto out_fd;
        }
    }
    net_handshake_done(&io, res);

    t0 = cpu_now();
    w0 = wall_now();
    while (done < cfg->count) {
        size_t pos = 0;
        unsigned char *p, *end;
        long r;
        long burst_end = sent == done ? (sent + cfg->window < cfg->count ? sent + cfg->window : cfg->count) : sent;
        while (sent < burst_end) {
            if (pool_used + 4 > sizeof pool) { fill_random(pool, sizeof pool); pool_used = 0; }
            pos += build_frame(sbuf + pos, payload, cfg->size, pool + pool_used);
            pool_used += 4;
            sent++;
        }
        if (pos && net_send_all(fd, sbuf, pos, NULL) != 0) { perror("bench: floor send"); goto out_fd; }
        r = net_recv(fd, rbuf + have, rcap - have, NULL);
        if (r <= 0) { fprintf(stderr, "bench: floor: connection ended\n"); goto out_fd; }
        p = rbuf;
        end = rbuf + have + (size_t)r;
        while (p < end) {
            if (in_payload) {
                size_t m = (size_t)(end - p) < rem ? (size_t)(end - p) : rem;
                if (cfg->verify && memcmp(p, payload + off, m) != 0) BENCH_FAIL("floor: echo differs");
                p += m; rem -= m; off += m;
                if (rem == 0) { in_payload = 0; done++; }
            } else {
                size_t hl, len;
                if (end - p < 2) break;
                hl = (p[1] & 127) == 126 ? 4 : (p[1] & 127) == 127 ? 10 : 2;
                if ((size_t)(end - p) < hl) break;
                if (p[0] != 0x82 || (p[1] & 0x80)) BENCH_FAIL("floor: unexpected frame %02x %02x", p[0], p[1]);
                if (hl == 2) len = p[1] & 127;
                else if (hl == 4) len = (size_t)p[2] << 8 | p[3];
                else { int i; len = 0; for (i = 2; i < 10; i++) len = len << 8 | p[i]; }
                if (len != cfg->size) BENCH_FAIL("floor: echo of %zu bytes, sent %zu", len, cfg->size);
                p += hl;
                rem = len; off = 0; in_payload = 1;
                if (rem == 0) { in_payload = 0; done++; }
            }
        }
        have = (size_t)(end - p);
        if (have) memmove(rbuf, p, have);   /* a split header: at most 9 bytes */
    }
    res->cpu = cpu_now() - t0;
    res->wall = wall_now() - w0;
    rc = 0;
out_fd:
    close(fd);
out:
    free(rbuf); free(sbuf); free(payload);
    return rc;
}

/* ---- bare BearSSL: a stack of up to two client engines on a blocking socket ---------- */
typedef struct {
    br_ssl_client_context cc;
    br_x509_minimal_context xc;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
} hop_t;

typedef struct {
    int fd;
    hop_t *P, *T;          /* P on the socket; T on P's plaintext, or on the socket */
    int t_on;              /* T started */
    io_count *io;
} stack_t_;

static br_ssl_engine_context *eng_top(stack_t_ *s) { return s->t_on ? &s->T->cc.eng : s->P ? &s->P->cc.eng : NULL; }
static br_ssl_engine_context *eng_wire(stack_t_ *s) { return s->P ? &s->P->cc.eng : s->t_on ? &s->T->cc.eng : NULL; }

/* Moves everything that can move without waiting; sends the wire engine's records. */
static int stack_pump(stack_t_ *s)
{
    int progress = 1;
    while (progress) {
        br_ssl_engine_context *w = eng_wire(s);
        unsigned char *src, *dst;
        size_t n, room;
        progress = 0;
        if (s->P && s->t_on) {
            br_ssl_engine_context *t = &s->T->cc.eng, *p = &s->P->cc.eng;
            if ((src = br_ssl_engine_sendrec_buf(t, &n)) != NULL && (dst = br_ssl_engine_sendapp_buf(p, &room)) != NULL) {
                if (n > room) n = room;
                memcpy(dst, src, n);
                br_ssl_engine_sendapp_ack(p, n);
                br_ssl_engine_sendrec_ack(t, n);
                br_ssl_engine_flush(p, 0);
                progress = 1;
            }
            if ((src = br_ssl_engine_recvapp_buf(p, &n)) != NULL && (dst = br_ssl_engine_recvrec_buf(t, &room)) != NULL) {
                if (n > room) n = room;
                memcpy(dst, src, n);
                br_ssl_engine_recvrec_ack(t, n);
                br_ssl_engine_recvapp_ack(p, n);
                progress = 1;
            }
        }
        if ((src = br_ssl_engine_sendrec_buf(w, &n)) != NULL) {
            long k = net_send(s->fd, src, n, s->io);
            if (k <= 0) return -1;
            br_ssl_engine_sendrec_ack(w, (size_t)k);
            progress = 1;
        }
        if (br_ssl_engine_current_state(w) == BR_SSL_CLOSED) return -1;
        if (s->t_on && br_ssl_engine_current_state(&s->T->cc.eng) == BR_SSL_CLOSED) return -1;
    }
    return 0;
}

static int stack_read(stack_t_ *s)
{
    br_ssl_engine_context *w = eng_wire(s);
    size_t room;
    unsigned char *dst = br_ssl_engine_recvrec_buf(w, &room);
    long r;
    if (!dst) return 0;   /* the engine wants to send first; the pump does that */
    r = net_recv(s->fd, dst, room, s->io);
    if (r <= 0) return -1;
    br_ssl_engine_recvrec_ack(w, (size_t)r);
    return 0;
}

static int stack_handshake(stack_t_ *s, br_ssl_engine_context *e)
{
    for (;;) {
        unsigned st;
        if (stack_pump(s) != 0) return -1;
        st = br_ssl_engine_current_state(e);
        if (st & BR_SSL_CLOSED) return -1;
        if (st & BR_SSL_SENDAPP) return 0;
        if (stack_read(s) != 0) return -1;
    }
}

static int stack_write(stack_t_ *s, const unsigned char *p, size_t n)
{
    br_ssl_engine_context *e = eng_top(s);
    while (n) {
        size_t room;
        unsigned char *dst = br_ssl_engine_sendapp_buf(e, &room);
        if (!dst) {
            if (stack_pump(s) != 0) return -1;
            if (!br_ssl_engine_sendapp_buf(e, &room) && stack_read(s) != 0) return -1;
            continue;
        }
        if (room > n) room = n;
        memcpy(dst, p, room);
        br_ssl_engine_sendapp_ack(e, room);
        p += room;
        n -= room;
    }
    br_ssl_engine_flush(e, 0);
    return stack_pump(s);
}

/* Waits for plaintext at the top; returns its pointer and length (to ack). */
static unsigned char *stack_app(stack_t_ *s, size_t *n)
{
    br_ssl_engine_context *e = eng_top(s);
    for (;;) {
        unsigned char *p = br_ssl_engine_recvapp_buf(e, n);
        if (p) return p;
        if (stack_pump(s) != 0) return NULL;
        if ((p = br_ssl_engine_recvapp_buf(e, n)) != NULL) return p;
        if (stack_read(s) != 0) return NULL;
    }
}

/* reply head through the stack (or the bare socket when no engine is on top) */
static int stack_head(stack_t_ *s, const char *want, unsigned char *left, size_t *left_len)
{
    unsigned char buf[2048];
    size_t have = 0;
    *left_len = 0;
    for (;;) {
        size_t n, i;
        if (eng_top(s)) {
            unsigned char *p = stack_app(s, &n);
            if (!p) return -1;
            if (n > sizeof buf - have) n = sizeof buf - have;
            memcpy(buf + have, p, n);
            br_ssl_engine_recvapp_ack(eng_top(s), n);
        } else {
            long r = net_recv(s->fd, buf + have, 1, s->io);   /* byte by byte: nothing past the head */
            if (r <= 0) return -1;
            n = 1;
        }
        have += n;
        for (i = 3; i < have; i++)
            if (buf[i - 3] == '\r' && buf[i - 2] == '\n' && buf[i - 1] == '\r' && buf[i] == '\n') {
                if (have < 12 || memcmp(buf + 9, want, strlen(want)) != 0) return -1;
                *left_len = have - i - 1;
                memcpy(left, buf + i + 1, *left_len);
                return 0;
            }
        if (have == sizeof buf) return -1;
    }
}

static int stack_send_head(stack_t_ *s, const char *h, size_t n)
{
    if (eng_top(s)) return stack_write(s, (const unsigned char *)h, n);
    return net_send_all(s->fd, h, n, s->io);
}

/* trust anchors from a PEM file, decoded with BearSSL alone */
typedef struct { unsigned char *p; size_t len, cap; } blob_t;
static void blob_add(void *ctx, const void *d, size_t n)
{
    blob_t *b = (blob_t *)ctx;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = (unsigned char *)realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static br_x509_trust_anchor anchors_[2];
static int anchors_loaded_;

static void load_anchor(const char *path, br_x509_trust_anchor *ta)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t got;
    blob_t der = {0}, dn = {0};
    br_pem_decoder_context pc;
    br_x509_decoder_context dc;
    br_x509_pkey *pk;
    if (!f) { fprintf(stderr, "bench: cannot open %s\n", path); exit(2); }
    br_pem_decoder_init(&pc);
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t off = 0;
        while (off < got) {
            off += br_pem_decoder_push(&pc, chunk + off, got - off);
            if (br_pem_decoder_event(&pc) == BR_PEM_BEGIN_OBJ && der.len == 0) br_pem_decoder_setdest(&pc, blob_add, &der);
        }
    }
    fclose(f);
    br_x509_decoder_init(&dc, blob_add, &dn);
    br_x509_decoder_push(&dc, der.p, der.len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (!pk) { fprintf(stderr, "bench: bad certificate %s\n", path); exit(2); }
    memset(ta, 0, sizeof *ta);
    ta->dn.data = dn.p;
    ta->dn.len = dn.len;
    ta->flags = BR_X509_TA_CA;
    ta->pkey = *pk;
    /* the key's bytes point into the decoder: copy them */
    if (pk->key_type == BR_KEYTYPE_RSA) {
        unsigned char *n = (unsigned char *)malloc(pk->key.rsa.nlen), *e = (unsigned char *)malloc(pk->key.rsa.elen);
        memcpy(n, pk->key.rsa.n, pk->key.rsa.nlen);
        memcpy(e, pk->key.rsa.e, pk->key.rsa.elen);
        ta->pkey.key.rsa.n = n;
        ta->pkey.key.rsa.e = e;
    } else {
        unsigned char *q = (unsigned char *)malloc(pk->key.ec.qlen);
        memcpy(q, pk->key.ec.q, pk->key.ec.qlen);
        ta->pkey.key.ec.q = q;
    }
    free(der.p);
}

/* The engine offers what wsproxy.h's BearSSL hop offers (wsp_tls_setup_; the list is
   written here again, and e2e.c checks every run against the peers' logs that both clients
   ended with the same suite, curve and signature): TLS 1.2 only; the six ECDHE+AEAD suites
   in the same order; SHA-224/256/384/512 for signatures and certificates (no MD5 or SHA-1);
   BearSSL's default RSA, EC and ECDSA code, AES-GCM and ChaCha20-Poly1305, both PRFs. Not
   BearSSL's full profile: its ChaCha20-first list of 46 suites would agree on another suite
   with the same server, and its longer offer costs handshake CPU. No ALPN (the library
   offers "http/1.1": a few bytes). */
static void hop_profile(hop_t *h, const br_x509_trust_anchor *ta)
{
    static const uint16_t suites[] = {
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    };
    static const br_hash_class *const hashes[] = {
        &br_sha224_vtable, &br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable
    };
    br_ssl_engine_context *e = &h->cc.eng;
    size_t i;
    br_ssl_client_zero(&h->cc);
    br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
    br_x509_minimal_init(&h->xc, &br_sha256_vtable, ta, 1);
    br_ssl_engine_set_suites(e, suites, sizeof suites / sizeof suites[0]);
    br_ssl_engine_set_default_rsavrfy(e);
    br_ssl_engine_set_default_ecdsa(e);
    br_x509_minimal_set_rsa(&h->xc, br_ssl_engine_get_rsavrfy(e));
    br_x509_minimal_set_ecdsa(&h->xc, br_ssl_engine_get_ec(e), br_ssl_engine_get_ecdsa(e));
    br_x509_minimal_set_minrsa(&h->xc, 256);
    for (i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        int id = (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
        br_ssl_engine_set_hash(e, id, hashes[i]);
        br_x509_minimal_set_hash(&h->xc, id, hashes[i]);
    }
    br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_gcm(e);
    br_ssl_engine_set_default_chapol(e);
    br_ssl_engine_set_x509(e, &h->xc.vtable);
}

/* resume: a session to offer (NULL: a full handshake) */
static void hop_start(hop_t *h, const br_x509_trust_anchor *ta, const br_ssl_session_parameters *resume)
{
    hop_profile(h, ta);
    br_ssl_engine_set_buffer(&h->cc.eng, h->iobuf, sizeof h->iobuf, 1);
    if (resume) br_ssl_engine_set_session_parameters(&h->cc.eng, resume);
    br_ssl_client_reset(&h->cc, "localhost", resume != NULL);
}

/* after a hop's handshake: keep its session (save may be NULL) and what it negotiated
   (the suite; the ECDHE curve, 0 when the server sent no key exchange); 1 when it resumed
   the one offered (the server sent back the same session ID) */
static int hop_done(hop_t *h, const br_ssl_session_parameters *offered, br_ssl_session_parameters *save,
                    unsigned *suite, unsigned *curve)
{
    br_ssl_session_parameters sp;
    br_ssl_engine_get_session_parameters(&h->cc.eng, &sp);
    if (save) *save = sp;
    *suite = sp.cipher_suite;
    *curve = (unsigned)br_ssl_engine_get_ecdhe_curve(&h->cc.eng);
    return offered && offered->session_id_len && sp.session_id_len == offered->session_id_len &&
           memcmp(sp.session_id, offered->session_id, sp.session_id_len) == 0;
}

static int floor_tls(const e2e_cfg *cfg, e2e_res *res)
{
    static hop_t hp, ht;
    stack_t_ s;
    io_count io;
    char head[512];
    unsigned char left[2048], *frames = NULL;
    size_t left_len, n, per_msg, frame_len, echo_len, got = 0;
    long sent = 0, done = 0;
    double t0, w0, h0;
    int rc = -1;
    memset(&io, 0, sizeof io);
    memset(&s, 0, sizeof s);
    memset(res, 0, sizeof *res);
    if (!anchors_loaded_) {
        char path[512];
        snprintf(path, sizeof path, "%s/ca.pem", cfg->certs);
        load_anchor(path, &anchors_[0]);
        snprintf(path, sizeof path, "%s/proxy-ca.pem", cfg->certs);
        load_anchor(path, &anchors_[1]);
        anchors_loaded_ = 1;
    }
    s.io = &io;
    h0 = cpu_now();
    s.fd = net_connect(cfg->proxy ? cfg->proxy_port : cfg->server_port);
    if (s.fd < 0) { perror("bench: raw connect"); return -1; }
    io.counting = 1;
    if (cfg->proxy == HOP_HTTPS) {
        s.P = &hp;
        hop_start(&hp, &anchors_[1], cfg->resume_proxy);
        if (stack_handshake(&s, &hp.cc.eng) != 0) { fprintf(stderr, "bench: raw: TLS to the proxy failed\n"); goto out; }
        res->resumed_proxy = hop_done(&hp, cfg->resume_proxy, cfg->save_proxy, &res->suite[0], &res->curve[0]);
    }
    if (cfg->proxy) {
        n = connect_head(head, sizeof head, cfg->server_port);
        if (stack_send_head(&s, head, n) != 0 || stack_head(&s, "200", left, &left_len) != 0 || left_len) {
            fprintf(stderr, "bench: raw: CONNECT failed\n");
            goto out;
        }
    }
    if (cfg->tls) {
        s.T = &ht;
        hop_start(&ht, &anchors_[0], cfg->resume_server);
        s.t_on = 1;
        if (stack_handshake(&s, &ht.cc.eng) != 0) { fprintf(stderr, "bench: raw: TLS to the server failed\n"); goto out; }
        res->resumed_server = hop_done(&ht, cfg->resume_server, cfg->save_server, &res->suite[1], &res->curve[1]);
    }
    n = upgrade_head(head, sizeof head, cfg->server_port);
    if (stack_send_head(&s, head, n) != 0 || stack_head(&s, "101", left, &left_len) != 0 || left_len) {
        fprintf(stderr, "bench: raw: upgrade failed\n");
        goto out;
    }
    res->hs_cpu = cpu_now() - h0;
    net_handshake_done(&io, res);
    if (cfg->count == 0 || !eng_top(&s)) { rc = cfg->count == 0 ? 0 : -1; goto out; }

    /* the same bytes as the WebSocket client sends, built before the clock starts */
    {
        unsigned char *payload = (unsigned char *)malloc(cfg->size + 1), key[4];
        size_t i;
        payload_pattern(payload, cfg->size);
        frame_len = cfg->size + server_header_len(cfg->size) + 4;
        frames = (unsigned char *)malloc(frame_len * (size_t)cfg->window);
        for (i = 0; i < (size_t)cfg->window; i++) {
            fill_random(key, 4);
            build_frame(frames + i * frame_len, payload, cfg->size, key);
        }
        free(payload);
    }
    echo_len = cfg->size + server_header_len(cfg->size);
    per_msg = echo_len;
    t0 = cpu_now();
    w0 = wall_now();
    while (done < cfg->count) {
        long burst = 0;
        unsigned char *p;
        if (sent == done) burst = sent + cfg->window < cfg->count ? cfg->window : cfg->count - sent;
        if (burst) {
            if (stack_write(&s, frames, frame_len * (size_t)burst) != 0) { fprintf(stderr, "bench: raw: write failed\n"); goto out; }
            sent += burst;
        }
        p = stack_app(&s, &n);
        if (!p) { fprintf(stderr, "bench: raw: read failed\n"); goto out; }
        br_ssl_engine_recvapp_ack(eng_top(&s), n);
        got += n;
        done = (long)(got / per_msg);
    }
    res->cpu = cpu_now() - t0;
    res->wall = wall_now() - w0;
    if (got != per_msg * (size_t)cfg->count) BENCH_FAIL("raw: %zu bytes back, want %zu", got, per_msg * (size_t)cfg->count);
    rc = 0;
out:
    free(frames);
    close(s.fd);
    return rc;
}

int run_floor(const e2e_cfg *cfg, e2e_res *res)
{
    if (cfg->tls || cfg->proxy == HOP_HTTPS) return floor_tls(cfg, res);
    return floor_plain(cfg, res);
}
