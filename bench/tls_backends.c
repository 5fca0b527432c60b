/* bench/tls_backends.c: the TLS backends side by side (issue 18), in memory (no sockets, so
   the numbers are the clients' own work): the wsproxy.h client on BearSSL and on OpenSSL,
   beside a bare BearSSL client engine and bare OpenSSL with memory BIOs, all against the
   same OpenSSL servers (TLS 1.3, or TLS 1.2 at most) playing the wss:// server and the
   https:// proxy.
     T1  handshake: round trips before the first message can be sent (client flights that
         wait for the server), per cell (direct, TLS inside TLS; full and resumed), and the
         client's CPU per connection; direct beside the bare client, TLS inside TLS (which
         no bare client here tunnels) beside the minimum round trips
     T2  client CPU per echoed message (bursts of 16, 128 B and 4 KiB binary messages)
     T3  bytes per connection: the client's own memory (struct, arena, buffers; the default
         build, so 32 KiB of built-in buffers) plus what OpenSSL holds for it on the heap
         once the connection is open (counted through CRYPTO_set_mem_functions,
         allocations made inside client calls only); TLS inside TLS beside two bare clients
   Client CPU is the thread's CPU time inside client calls (the servers' work is outside
   the clock); each value is the median of BENCH_REPS repetitions, each ratio the median
   of the per-repetition ratios. Rows go to stdout in
   bench/common.h's ROW format; a wrong echo or a failed handshake exits 1.
   Build and run: make bench-tls (mk/openssl.mk). */
#define _POSIX_C_SOURCE 200809L
#include <bearssl.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include "common.h"
#include "tls_backends.h"

#define CERTS "tests/certs/"

/* ---- heap accounting: what OpenSSL allocates inside client calls ---------------------- */
static int in_client;
static long long client_heap;   /* live bytes allocated inside client calls */
typedef struct { size_t size; int owner; int pad; } hdr_t;
#define HDR 16
static void *acct_malloc(size_t n, const char *f, int l)
{
    unsigned char *p = (unsigned char *)malloc(n + HDR);
    (void)f; (void)l;
    if (!p) return NULL;
    ((hdr_t *)(void *)p)->size = n;
    ((hdr_t *)(void *)p)->owner = in_client;
    if (in_client) client_heap += (long long)n;
    return p + HDR;
}
static void acct_free(void *q, const char *f, int l)
{
    unsigned char *p;
    (void)f; (void)l;
    if (!q) return;
    p = (unsigned char *)q - HDR;
    if (((hdr_t *)(void *)p)->owner) client_heap -= (long long)((hdr_t *)(void *)p)->size;
    free(p);
}
static void *acct_realloc(void *q, size_t n, const char *f, int l)
{
    unsigned char *p;
    void *r;
    if (!q) return acct_malloc(n, f, l);
    p = (unsigned char *)q - HDR;
    r = acct_malloc(n, f, l);
    if (!r) return NULL;
    memcpy(r, q, ((hdr_t *)(void *)p)->size < n ? ((hdr_t *)(void *)p)->size : n);
    acct_free(q, f, l);
    return r;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double client_cpu;   /* seconds spent inside client calls */
#define CLIENT(expr) do { double t0_ = thread_cpu(); in_client = 1; expr; in_client = 0; \
                          client_cpu += thread_cpu() - t0_; } while (0)

/* a certificate file, whole (they are a few KiB) */
static char *read_file(const char *path, size_t *len)
{
    static char chunk[4096];
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    size_t n;
    BENCH_CHECK(f != NULL, "cannot open %s (run from the repository root)", path);
    for (*len = 0; (n = fread(chunk, 1, sizeof chunk, f)) > 0; *len += n) {
        b = (char *)realloc(b, *len + n + 1);
        memcpy(b + *len, chunk, n);
    }
    fclose(f);
    BENCH_CHECK(b != NULL, "%s is empty", path);
    b[*len] = 0;
    return b;
}

/* ---- byte queues: p[off, off + len) holds the bytes; dropping moves off, and the bytes
   move down only when the room at the end runs out ---------------------------------------- */
typedef struct { unsigned char *buf; size_t off, len, cap; } bq;
#define BQ(q) ((q)->buf + (q)->off)
static void bq_put(bq *q, const void *d, size_t n)
{
    if (q->off + q->len + n > q->cap) {
        if (q->off) { memmove(q->buf, q->buf + q->off, q->len); q->off = 0; }
        if (q->len + n > q->cap) {
            q->cap = (q->len + n) * 2 + 4096;
            q->buf = (unsigned char *)realloc(q->buf, q->cap);
        }
    }
    memcpy(q->buf + q->off + q->len, d, n);
    q->len += n;
}
static void bq_drop(bq *q, size_t n)
{
    q->off += n;
    q->len -= n;
    if (!q->len) q->off = 0;
}
static void bq_clear(bq *q) { q->off = q->len = 0; }
static size_t bq_head(const bq *q)   /* length of a complete HTTP head at the front, or 0 */
{
    size_t i;
    for (i = 0; i + 3 < q->len; i++)
        if (memcmp(BQ(q) + i, "\r\n\r\n", 4) == 0) return i + 4;
    return 0;
}

/* ---- the servers: OpenSSL with memory BIOs, contexts kept (tickets and the session cache
   survive from one connection to the next) ---------------------------------------------- */
static SSL_CTX *srv_ctx[2][2];   /* [proxy, target][TLS 1.3, TLS 1.2 at most] */

static int srv_alpn(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                    unsigned inlen, void *arg)
{
    (void)s; (void)arg;
    return SSL_select_next_proto((unsigned char **)(uintptr_t)out, outlen, (const unsigned char *)"\x08http/1.1", 9,
                                 in, inlen) == OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *server_ctx(int target, int tls12)
{
    SSL_CTX *x = srv_ctx[target][tls12];
    if (x) return x;
    x = srv_ctx[target][tls12] = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(x, tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    BENCH_CHECK(SSL_CTX_use_certificate_chain_file(x, target ? CERTS "target-chain.pem" : CERTS "proxy-chain.pem") == 1 &&
                SSL_CTX_use_PrivateKey_file(x, target ? CERTS "target.key" : CERTS "proxy.key", SSL_FILETYPE_PEM) == 1,
                "server certificate");
    SSL_CTX_set_alpn_select_cb(x, srv_alpn, NULL);
    SSL_CTX_set_session_id_context(x, (const unsigned char *)"bench", 5);
    return x;
}

typedef struct { SSL *ssl; BIO *in, *out; int failed; } tsrv;

static void tsrv_start(tsrv *t, int target, int tls12)
{
    t->ssl = SSL_new(server_ctx(target, tls12));
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    SSL_set_bio(t->ssl, t->in, t->out);
    SSL_set_accept_state(t->ssl);
    t->failed = 0;
}

static void tsrv_stop(tsrv *t)
{
    if (!t->ssl) return;
    if (!t->failed) SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);   /* keep its session */
    SSL_free(t->ssl);
    t->ssl = NULL;
}

static int tsrv_pump(tsrv *t, bq *rec_in, bq *rec_out, bq *app_in, bq *app_out)
{
    static char buf[1 << 16];
    int any = 0, r;
    if (rec_in->len) {
        BIO_write(t->in, BQ(rec_in), (int)rec_in->len);
        bq_clear(rec_in);
        any = 1;
    }
    if (!t->failed && !SSL_is_init_finished(t->ssl) && (r = SSL_do_handshake(t->ssl)) <= 0) {
        int e = SSL_get_error(t->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) t->failed = 1;
    }
    if (!t->failed && SSL_is_init_finished(t->ssl)) {
        while ((r = SSL_read(t->ssl, buf, (int)sizeof buf)) > 0) { bq_put(app_in, buf, (size_t)r); any = 1; }
        if (app_out->len && (r = SSL_write(t->ssl, BQ(app_out), (int)app_out->len)) > 0) {
            bq_drop(app_out, (size_t)r);
            any = 1;
        }
    }
    ERR_clear_error();
    while ((r = BIO_read(t->out, buf, (int)sizeof buf)) > 0) { bq_put(rec_out, buf, (size_t)r); any = 1; }
    return any;
}

/* The scene: client <-> [https:// proxy] <-> wss:// server; the WebSocket server answers the
   upgrade and echoes each binary message. */
typedef struct {
    int via_proxy, tls12, tunnel, upgraded;
    tsrv p, t;
    bq c2s, s2c, p_app_in, p_app_out, t_rec_in, t_rec_out, t_app_in, t_app_out;
} scene;

static void scene_start(scene *s, int via_proxy, int tls12)
{
    s->via_proxy = via_proxy;
    s->tls12 = tls12;
    s->tunnel = s->upgraded = 0;
    bq_clear(&s->c2s); bq_clear(&s->s2c); bq_clear(&s->p_app_in); bq_clear(&s->p_app_out);
    bq_clear(&s->t_rec_in); bq_clear(&s->t_rec_out); bq_clear(&s->t_app_in); bq_clear(&s->t_app_out);
    if (via_proxy) tsrv_start(&s->p, 0, tls12);
    tsrv_start(&s->t, 1, tls12);
}

static void scene_stop(scene *s)
{
    tsrv_stop(&s->p);
    tsrv_stop(&s->t);
}

static void ws_server(scene *s)
{
    bq *in = &s->t_app_in;
    if (!s->upgraded) {
        size_t h = bq_head(in), i;
        const char *k;
        char key[64], reply[256];
        unsigned char sha[20], acc[40];
        if (!h) return;
        bq_put(in, "", 1);   /* a NUL for strstr, dropped below */
        in->len--;
        k = strstr((const char *)BQ(in), "Sec-WebSocket-Key: ");
        BENCH_CHECK(k != NULL, "upgrade request without a key");
        for (i = 0; i < 24; i++) key[i] = k[19 + i];
        memcpy(key + 24, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
        SHA1((const unsigned char *)key, 60, sha);
        EVP_EncodeBlock(acc, sha, 20);
        snprintf(reply, sizeof reply, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n", (const char *)acc);
        bq_put(&s->t_app_out, reply, strlen(reply));
        bq_drop(in, h);
        s->upgraded = 1;
    }
    for (;;) {   /* masked client frames: echoed unmasked */
        size_t len, hl = 2, i;
        unsigned char hdr[4], *m;
        if (in->len < 2) return;
        len = BQ(in)[1] & 127;
        if (len == 126) {
            if (in->len < 4) return;
            len = (size_t)BQ(in)[2] << 8 | BQ(in)[3];
            hl = 4;
        }
        BENCH_CHECK(len < 65536 && (BQ(in)[1] & 128), "unexpected client frame");
        if (in->len < hl + 4 + len) return;
        m = BQ(in) + hl;
        for (i = 0; i < len; i++) m[4 + i] ^= m[i & 3];
        hdr[0] = BQ(in)[0];
        if (len < 126) { hdr[1] = (unsigned char)len; bq_put(&s->t_app_out, hdr, 2); }
        else { hdr[1] = 126; hdr[2] = (unsigned char)(len >> 8); hdr[3] = (unsigned char)len; bq_put(&s->t_app_out, hdr, 4); }
        bq_put(&s->t_app_out, m + 4, len);
        bq_drop(in, hl + 4 + len);
    }
}

/* Everything the servers can do with what the client sent. */
static void scene_run(scene *s)
{
    int moved = 1;
    while (moved) {
        bq *wire_in = &s->c2s, *wire_out = &s->s2c;
        moved = 0;
        if (s->via_proxy) {
            moved |= tsrv_pump(&s->p, &s->c2s, &s->s2c, &s->p_app_in, &s->p_app_out);
            if (!s->tunnel) {
                size_t h = bq_head(&s->p_app_in);
                if (h) {
                    bq_drop(&s->p_app_in, h);
                    bq_put(&s->p_app_out, "HTTP/1.1 200 Connection established\r\n\r\n", 39);
                    s->tunnel = moved = 1;
                }
            }
            if (s->tunnel) {
                if (s->p_app_in.len) { bq_put(&s->t_rec_in, BQ(&s->p_app_in), s->p_app_in.len); bq_clear(&s->p_app_in); moved = 1; }
                if (s->t_rec_out.len) { bq_put(&s->p_app_out, BQ(&s->t_rec_out), s->t_rec_out.len); bq_clear(&s->t_rec_out); moved = 1; }
            }
            wire_in = &s->t_rec_in;
            wire_out = &s->t_rec_out;
        }
        if (!s->via_proxy || s->tunnel) {
            moved |= tsrv_pump(&s->t, wire_in, wire_out, &s->t_app_in, &s->t_app_out);
            {
                size_t before = s->t_app_out.len;
                ws_server(s);
                moved |= s->t_app_out.len != before;
            }
        }
    }
}

/* ---- the bare clients: no WebSocket library, the frames built before the clock -------- */
static const char upgrade_req[] =
    "GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

typedef struct { bq in; int upgraded; long echoes; } app_rx;
static void app_rx_push(app_rx *a, const unsigned char *p, size_t n)
{
    bq_put(&a->in, p, n);
    if (!a->upgraded) {
        size_t h = bq_head(&a->in);
        if (!h) return;
        bq_drop(&a->in, h);
        a->upgraded = 1;
    }
    for (;;) {
        size_t len, hl = 2;
        if (a->in.len < 2) return;
        len = BQ(&a->in)[1] & 127;
        if (len == 126) {
            if (a->in.len < 4) return;
            len = (size_t)BQ(&a->in)[2] << 8 | BQ(&a->in)[3];
            hl = 4;
        }
        if (a->in.len < hl + len) return;
        bq_drop(&a->in, hl + len);
        a->echoes++;
    }
}

/* a masked binary frame of m (key 1 2 3 4), as the bare clients send it */
static size_t make_frame(unsigned char *out, const unsigned char *m, size_t n)
{
    static const unsigned char key[4] = {1, 2, 3, 4};
    size_t h = 2, i;
    out[0] = 0x82;
    if (n < 126) out[1] = (unsigned char)(0x80 | n);
    else { out[1] = 0x80 | 126; out[2] = (unsigned char)(n >> 8); out[3] = (unsigned char)n; h = 4; }
    memcpy(out + h, key, 4);
    for (i = 0; i < n; i++) out[h + 4 + i] = m[i] ^ key[i & 3];
    return h + 4 + n;
}

/* -- bare BearSSL: the full client profile, its minimal validator -- */
static br_x509_trust_anchor br_tas[4];
static size_t br_tas_n;
static br_x509_decoder_context br_dc[4];
static bq br_dn[4];
static br_ssl_session_parameters br_saved_sp;   /* bare BearSSL's resumption: its own struct */

static void dn_add(void *ctx, const void *p, size_t n) { bq_put((bq *)ctx, p, n); }
static void der_add(void *ctx, const void *p, size_t n) { bq_put((bq *)ctx, p, n); }

static void br_load_anchors(const char *pem, size_t len)
{
    br_pem_decoder_context pc;
    bq der;
    size_t off = 0;
    memset(&der, 0, sizeof der);
    br_pem_decoder_init(&pc);
    while (off < len) {
        off += br_pem_decoder_push(&pc, pem + off, len - off);
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ: bq_clear(&der); br_pem_decoder_setdest(&pc, der_add, &der); break;
        case BR_PEM_END_OBJ:
            if (br_tas_n < 4) {
                br_x509_decoder_init(&br_dc[br_tas_n], dn_add, &br_dn[br_tas_n]);
                br_x509_decoder_push(&br_dc[br_tas_n], BQ(&der), der.len);
                br_tas[br_tas_n].dn.data = BQ(&br_dn[br_tas_n]);
                br_tas[br_tas_n].dn.len = br_dn[br_tas_n].len;
                br_tas[br_tas_n].flags = br_x509_decoder_isCA(&br_dc[br_tas_n]) ? BR_X509_TA_CA : 0;
                br_tas[br_tas_n].pkey = *br_x509_decoder_get_pkey(&br_dc[br_tas_n]);
                br_tas_n++;
            }
            break;
        default: break;
        }
    }
    free(der.buf);
}

typedef struct {
    br_ssl_client_context cc;
    br_x509_minimal_context xc;
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
    bq out;            /* plaintext waiting for the engine */
    app_rx rx;
    int sent_upgrade, resumed;
} rb;

static void *rb_open(const bk_conf *k)
{
    static const char *alpn[] = {"http/1.1"};
    rb *c = (rb *)calloc(1, sizeof *c);
    static const uint16_t suites[] = {   /* the suites wsproxy.h offers, in its order */
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256};
    br_ssl_client_init_full(&c->cc, &c->xc, br_tas, br_tas_n);
    br_ssl_engine_set_suites(&c->cc.eng, suites, sizeof suites / sizeof suites[0]);
    /* and what else wsproxy.h's BearSSL hop sets: TLS 1.2 only, no MD5 or SHA-1 (the full
       profile would hash every handshake with them too) */
    br_ssl_engine_set_versions(&c->cc.eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_hash(&c->cc.eng, br_md5_ID, NULL);
    br_ssl_engine_set_hash(&c->cc.eng, br_sha1_ID, NULL);
    br_x509_minimal_set_hash(&c->xc, br_md5_ID, NULL);
    br_x509_minimal_set_hash(&c->xc, br_sha1_ID, NULL);
    br_ssl_engine_set_buffer(&c->cc.eng, c->iobuf, sizeof c->iobuf, 1);
    br_ssl_engine_set_protocol_names(&c->cc.eng, alpn, 1);
    {
        unsigned char seed[32];
        bench_fill(seed, sizeof seed);
        br_ssl_engine_inject_entropy(&c->cc.eng, seed, sizeof seed);
    }
    if (k->session) br_ssl_engine_set_session_parameters(&c->cc.eng, &br_saved_sp);
    br_ssl_client_reset(&c->cc, "localhost", k->session != NULL);
    bq_put(&c->out, upgrade_req, sizeof upgrade_req - 1);
    return c;
}

static void rb_run(rb *c)
{
    br_ssl_engine_context *e = &c->cc.eng;
    unsigned char *p;
    size_t n;
    int progress = 1;
    while (progress) {
        progress = 0;
        if ((p = br_ssl_engine_recvapp_buf(e, &n)) != NULL) {
            app_rx_push(&c->rx, p, n);
            br_ssl_engine_recvapp_ack(e, n);
            progress = 1;
        }
        if (c->out.len && (p = br_ssl_engine_sendapp_buf(e, &n)) != NULL) {
            if (n > c->out.len) n = c->out.len;
            memcpy(p, BQ(&c->out), n);
            br_ssl_engine_sendapp_ack(e, n);
            bq_drop(&c->out, n);
            if (!c->out.len) br_ssl_engine_flush(e, 0);
            progress = 1;
        }
    }
}

static size_t rb_drain(void *v, unsigned char *out, size_t cap)
{
    rb *c = (rb *)v;
    size_t total = 0, n;
    unsigned char *p;
    rb_run(c);
    while (total < cap && (p = br_ssl_engine_sendrec_buf(&c->cc.eng, &n)) != NULL) {
        if (n > cap - total) n = cap - total;
        memcpy(out + total, p, n);
        br_ssl_engine_sendrec_ack(&c->cc.eng, n);
        total += n;
        rb_run(c);
    }
    return total;
}

static int rb_feed(void *v, const unsigned char *in, size_t n)
{
    rb *c = (rb *)v;
    while (n) {
        size_t room;
        unsigned char *p = br_ssl_engine_recvrec_buf(&c->cc.eng, &room);
        if (!p) { rb_run(c); if (!(p = br_ssl_engine_recvrec_buf(&c->cc.eng, &room))) break; }
        if (room > n) room = n;
        memcpy(p, in, room);
        br_ssl_engine_recvrec_ack(&c->cc.eng, room);
        in += room;
        n -= room;
        rb_run(c);
    }
    return br_ssl_engine_current_state(&c->cc.eng) == BR_SSL_CLOSED ? -1 : 0;
}

static int rb_is_open(void *v) { return ((rb *)v)->rx.upgraded; }
static int rb_send(void *v, const unsigned char *m, size_t n) { bq_put(&((rb *)v)->out, m, n); return 0; }
static long rb_echoes(void *v) { return ((rb *)v)->rx.echoes; }
static size_t rb_save(void *v, int proxy_hop, unsigned char *out, size_t cap)
{
    (void)out; (void)cap; (void)proxy_hop;
    br_ssl_engine_get_session_parameters(&((rb *)v)->cc.eng, &br_saved_sp);
    return 1;   /* kept in br_saved_sp */
}
static int rb_resumed(void *v)
{
    br_ssl_session_parameters sp;
    br_ssl_engine_get_session_parameters(&((rb *)v)->cc.eng, &sp);
    return sp.session_id_len && memcmp(sp.session_id, br_saved_sp.session_id, sp.session_id_len) == 0 &&
           memcmp(sp.master_secret, br_saved_sp.master_secret, 48) == 0;
}
static size_t rb_fixed(void *v) { (void)v; return sizeof(rb) - sizeof(bq) - sizeof(app_rx); }
static void rb_close(void *v)
{
    rb *c = (rb *)v;
    free(c->out.buf);
    free(c->rx.in.buf);
    free(c);
}
static const bk_ops bk_bare_bearssl = {"bare BearSSL", rb_open, rb_drain, rb_feed, rb_is_open, rb_send, rb_echoes,
                                       rb_save, rb_resumed, rb_fixed, rb_close};

/* -- bare OpenSSL: memory BIOs, the default client context with verification -- */
static SSL_CTX *ro_ctx[2];   /* [TLS 1.3, TLS 1.2 at most] */
static int ro_tls12;
typedef struct { SSL *ssl; BIO *in, *out; bq pend; app_rx rx; } ro;

static void *ro_open(const bk_conf *k)
{
    ro *c = (ro *)calloc(1, sizeof *c);
    SSL_CTX *x = ro_ctx[ro_tls12];
    if (!x) {
        x = ro_ctx[ro_tls12] = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(x, ro_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
        /* the suites wsproxy.h offers, in its order: the same one is agreed */
        SSL_CTX_set_cipher_list(x, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                   "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");
        SSL_CTX_set_ciphersuites(x, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
        SSL_CTX_load_verify_locations(x, CERTS "ca.pem", NULL);
        SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT);
    }
    c->ssl = SSL_new(x);
    c->in = BIO_new(BIO_s_mem());
    c->out = BIO_new(BIO_s_mem());
    SSL_set_bio(c->ssl, c->in, c->out);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set1_host(c->ssl, "localhost");
    SSL_set_alpn_protos(c->ssl, (const unsigned char *)"\x08http/1.1", 9);
    if (k->session) {
        const unsigned char *p = k->session;
        SSL_SESSION *s = d2i_SSL_SESSION(NULL, &p, (long)k->session_len);
        SSL_set_session(c->ssl, s);
        SSL_SESSION_free(s);
    }
    SSL_set_connect_state(c->ssl);
    bq_put(&c->pend, upgrade_req, sizeof upgrade_req - 1);
    return c;
}

static void ro_run(ro *c)
{
    static unsigned char buf[1 << 16];
    int r;
    if (!SSL_is_init_finished(c->ssl)) SSL_do_handshake(c->ssl);
    if (SSL_is_init_finished(c->ssl)) {
        while (c->pend.len && (r = SSL_write(c->ssl, BQ(&c->pend), (int)c->pend.len)) > 0) bq_drop(&c->pend, (size_t)r);
        while ((r = SSL_read(c->ssl, buf, (int)sizeof buf)) > 0) app_rx_push(&c->rx, buf, (size_t)r);
    }
    ERR_clear_error();
}

static size_t ro_drain(void *v, unsigned char *out, size_t cap)
{
    ro *c = (ro *)v;
    int r;
    ro_run(c);
    r = BIO_read(c->out, out, (int)cap);
    return r > 0 ? (size_t)r : 0;
}
static int ro_feed(void *v, const unsigned char *in, size_t n)
{
    ro *c = (ro *)v;
    BIO_write(c->in, in, (int)n);
    ro_run(c);
    return 0;
}
static int ro_is_open(void *v) { return ((ro *)v)->rx.upgraded; }
static int ro_send(void *v, const unsigned char *m, size_t n) { bq_put(&((ro *)v)->pend, m, n); return 0; }
static long ro_echoes(void *v) { return ((ro *)v)->rx.echoes; }
static size_t ro_save(void *v, int proxy_hop, unsigned char *out, size_t cap)
{
    (void)proxy_hop;
    SSL_SESSION *s = SSL_get1_session(((ro *)v)->ssl);
    int n = s ? i2d_SSL_SESSION(s, NULL) : 0;
    size_t r = 0;
    if (n > 0 && (size_t)n <= cap) { unsigned char *p = out; i2d_SSL_SESSION(s, &p); r = (size_t)n; }
    SSL_SESSION_free(s);
    return r;
}
static int ro_resumed(void *v) { return SSL_session_reused(((ro *)v)->ssl); }
static size_t ro_fixed(void *v) { (void)v; return sizeof(ro) - sizeof(bq) - sizeof(app_rx); }
static void ro_close(void *v)
{
    ro *c = (ro *)v;
    SSL_free(c->ssl);
    free(c->pend.buf);
    free(c->rx.in.buf);
    free(c);
}
static const bk_ops bk_bare_openssl = {"bare OpenSSL (memory BIOs)", ro_open, ro_drain, ro_feed, ro_is_open, ro_send,
                                       ro_echoes, ro_save, ro_resumed, ro_fixed, ro_close};

/* ---- the runs -------------------------------------------------------------------------- */
static bk_conf conf;
static scene sc;
static unsigned char wire[1 << 20];
static int is_bare(const bk_ops *o) { return o == &bk_bare_bearssl || o == &bk_bare_openssl; }

/* One exchange: what the client has goes to the servers, their answer comes back. 1 when
   the servers answered something the client sent (a round trip). */
static int round_trip(const bk_ops *o, void *c)
{
    size_t n;
    int sent, failed = 0;
    CLIENT(n = o->drain(c, wire, sizeof wire));
    sent = n > 0;
    bq_put(&sc.c2s, wire, n);
    scene_run(&sc);
    if (!sc.s2c.len) return 0;
    CLIENT(failed = o->feed(c, BQ(&sc.s2c), sc.s2c.len));
    bq_clear(&sc.s2c);
    BENCH_CHECK(!failed, "%s: the connection failed", o->name);
    return sent;
}

typedef struct { int rtt; double cpu; long long heap; size_t fixed; int resumed, version; } conn_result;

/* A connection to the open WebSocket; kept open in *out_c when asked. */
static const unsigned char *g_psession;   /* the proxy hop's session for the next connections */
static size_t g_psession_len;

static conn_result connect_once(const bk_ops *o, const char *url, const char *proxy, int tls12,
                                const unsigned char *session, size_t slen, void **out_c)
{
    conn_result r;
    void *c;
    int guard;
    memset(&r, 0, sizeof r);
    conf.url = url;
    conf.proxy = proxy;
    conf.session = session;
    conf.session_len = slen;
    conf.proxy_session = session && proxy ? g_psession : NULL;
    conf.proxy_session_len = session && proxy ? g_psession_len : 0;
    ro_tls12 = tls12;
    scene_start(&sc, proxy != NULL, tls12);
    client_cpu = 0;
    client_heap = 0;
    CLIENT(c = o->open(&conf));
    BENCH_CHECK(c != NULL, "%s: cannot start", o->name);
    for (guard = 0; guard < 50 && !o->is_open(c); guard++) r.rtt += round_trip(o, c);
    BENCH_CHECK(o->is_open(c), "%s: no 101 after %d rounds", o->name, guard);
    r.cpu = client_cpu;
    r.heap = client_heap;
    r.fixed = o->fixed_bytes(c);
    r.resumed = o->resumed(c);
    r.version = SSL_version(sc.t.ssl);
    if (getenv("BENCH_TLS_DEBUG")) fprintf(stderr, "%s: %s %s\n", o->name, SSL_get_version(sc.t.ssl), SSL_get_cipher_name(sc.t.ssl));
    if (out_c) *out_c = c;
    else { CLIENT(o->close(c)); scene_stop(&sc); }
    return r;
}

static void close_conn(const bk_ops *o, void *c)
{
    CLIENT(o->close(c));
    scene_stop(&sc);
}

/* the server hop's session (and the proxy hop's, kept in g_psession), after a message
   went both ways (a TLS 1.3 ticket comes after the handshake) */
static size_t session_of(const bk_ops *o, const char *url, const char *proxy, int tls12, unsigned char *out, size_t cap)
{
    static unsigned char psess[1 << 14];
    void *c;
    unsigned char m[8];
    size_t n;
    connect_once(o, url, proxy, tls12, NULL, 0, &c);
    make_frame(wire + 65536, (const unsigned char *)"ticket", 6);
    CLIENT(is_bare(o) ? o->send(c, wire + 65536, 12) : o->send(c, (const unsigned char *)"ticket", 6));
    while (o->echoes(c) < 1) round_trip(o, c);
    (void)m;
    n = o->save(c, 0, out, cap);
    BENCH_CHECK(n > 0, "%s: no session to resume", o->name);
    g_psession_len = proxy ? o->save(c, 1, psess, sizeof psess) : 0;
    g_psession = g_psession_len ? psess : NULL;
    BENCH_CHECK(!proxy || g_psession_len > 0, "%s: no proxy session to resume", o->name);
    close_conn(o, c);
    return n;
}

/* client CPU per message: bursts of 16 binary messages of size n, each burst echoed */
static double per_message(const bk_ops *o, int tls12, size_t n, int count)
{
    static unsigned char msg[1 << 16], frame[1 << 16];
    void *c;
    size_t flen;
    long want;
    int i, k;
    bench_fill(msg, n);
    flen = make_frame(frame, msg, n);
    connect_once(o, "wss://localhost/echo", NULL, tls12, NULL, 0, &c);
    client_cpu = 0;
    for (i = 0; i < count; i += 16) {
        want = o->echoes(c) + 16;
        for (k = 0; k < 16; k++) {
            int rc;
            for (;;) {
                CLIENT(rc = is_bare(o) ? o->send(c, frame, flen) : o->send(c, msg, n));
                if (rc == 0) break;
                round_trip(o, c);   /* its buffer is full: let bytes out, then again */
            }
        }
        while (o->echoes(c) < want) round_trip(o, c);
    }
    BENCH_CHECK(o->echoes(c) >= count, "%s: %ld echoes of %d", o->name, o->echoes(c), count);
    close_conn(o, c);
    return client_cpu / count;
}

static const char *ver_name(int v) { return v == TLS1_3_VERSION ? "TLS 1.3" : v == TLS1_2_VERSION ? "TLS 1.2" : "?"; }

int main(void)
{
    static unsigned char sess[1 << 14];
    struct { const bk_ops *o, *bare; int tls12; const char *label; } clients[] = {
        {&bk_wsp_bearssl, &bk_bare_bearssl, 1, "BearSSL, TLS 1.2"},
        {&bk_wsp_openssl, &bk_bare_openssl, 0, "OpenSSL, TLS 1.3"},
        {&bk_wsp_openssl, &bk_bare_openssl, 1, "OpenSSL, TLS 1.2"},
    };
    struct { const char *label, *url, *proxy; } cells[] = {
        {"wss:// direct", "wss://localhost/echo", NULL},
        {"wss:// through https:// (TLS in TLS)", "wss://localhost/echo", "https://localhost:8443"},
    };
    int reps = bench_reps(), conns = bench_quick() ? 10 : 40, msgs = bench_quick() ? 2000 : 8000;
    size_t ci, ce, slen;
    char a[96], b[96], sec[64];
    BENCH_CHECK(CRYPTO_set_mem_functions(acct_malloc, acct_realloc, acct_free), "the heap accounting must come first");
    {
        size_t len;
        char *pem = read_file(CERTS "ca.pem", &len);
        conf.ca_pem = pem;
        conf.ca_len = len;
        br_load_anchors(pem, len);
        conf.proxy_ca_pem = read_file(CERTS "proxy-ca.pem", &conf.proxy_ca_len);
    }
    fprintf(stderr, "tls_backends: %d repetitions, %d connections and %d messages each\n", reps, conns, msgs);

    /* T1: round trips and CPU per handshake, full and resumed, per cell */
    for (ci = 0; ci < sizeof clients / sizeof clients[0]; ci++) {
        if (getenv("BENCH_TLS_ONLY") && !strstr(clients[ci].label, getenv("BENCH_TLS_ONLY"))) continue;
        for (ce = 0; ce < sizeof cells / sizeof cells[0]; ce++) {
            int resumed;
            for (resumed = 0; resumed < 2; resumed++) {
                double cpu[64], bare_cpu[64], ratio[64];
                conn_result r, rb_ = {0, 0, 0, 0, 0, 0};
                int rep, k, with_bare = ce == 0;
                slen = 0;
                if (resumed) slen = session_of(clients[ci].o, cells[ce].url, cells[ce].proxy, clients[ci].tls12, sess, sizeof sess);
                r = connect_once(clients[ci].o, cells[ce].url, cells[ce].proxy, clients[ci].tls12, slen ? sess : NULL, slen, NULL);
                BENCH_CHECK(r.resumed == resumed, "%s: resumed %d, expected %d", clients[ci].o->name, r.resumed, resumed);
                for (rep = 0; rep < reps; rep++) {
                    double sum = 0, bsum = 0;
                    for (k = 0; k < conns; k++) sum += connect_once(clients[ci].o, cells[ce].url, cells[ce].proxy,
                                                                    clients[ci].tls12, slen ? sess : NULL, slen, NULL).cpu;
                    cpu[rep] = sum / conns;
                    if (with_bare) {
                        size_t bl = 0;
                        if (resumed) bl = session_of(clients[ci].bare, cells[ce].url, NULL, clients[ci].tls12, sess + 8192, 8192);
                        for (k = 0; k < conns; k++) {
                            rb_ = connect_once(clients[ci].bare, cells[ce].url, NULL, clients[ci].tls12, bl ? sess + 8192 : NULL,
                                               bl, NULL);
                            bsum += rb_.cpu;
                        }
                        BENCH_CHECK(rb_.resumed == resumed, "%s: resumed %d", clients[ci].bare->name, rb_.resumed);
                        bare_cpu[rep] = bsum / conns;
                        ratio[rep] = cpu[rep] / bare_cpu[rep];
                    }
                }
                snprintf(sec, sizeof sec, "T1 handshake (%s)", clients[ci].label);
                snprintf(a, sizeof a, "%d RTT, %s CPU", r.rtt, fmt_us(median(cpu, reps)));
                if (with_bare) snprintf(b, sizeof b, "%d RTT, %s CPU", rb_.rtt, fmt_us(median(bare_cpu, reps)));
                {
                    /* the fewest round trips: per TLS hop 2 for a full TLS 1.2 handshake, else 1
                       (TLS 1.3, or a resumed hop), + CONNECT + the upgrade; in memory, no TCP */
                    int hops = cells[ce].proxy ? 2 : 1;
                    int min_rtt = hops * (!resumed && r.version == TLS1_2_VERSION ? 2 : 1) + (cells[ce].proxy ? 1 : 0) + 1;
                    char name[160];
                    snprintf(name, sizeof name, "%s, %s, %s", cells[ce].label, resumed ? "resumed" : "full",
                             ver_name(r.version));
                    if (with_bare) {
                        row_out(sec, name, a, clients[ci].bare->name, b, median(ratio, reps), "",
                                r.rtt == min_rtt && rb_.rtt == min_rtt ? "RTT=min" : "RTT>min");
                    } else {
                        /* no bare client tunnels TLS in TLS: the round trips beside their minimum */
                        snprintf(b, sizeof b, "%d RTT", min_rtt);
                        row_out(sec, name, a, "minimum round trips (no bare client for this cell)", b,
                                (double)r.rtt / min_rtt, "", r.rtt == min_rtt ? "RTT=min" : "RTT>min");
                    }
                }
            }
        }
    }

    /* T2: client CPU per message */
    for (ci = 0; ci < sizeof clients / sizeof clients[0]; ci++) {
        static const size_t sizes[] = {128, 4096};
        size_t si;
        for (si = 0; si < 2; si++) {
            double ours[64], bare[64], ratio[64];
            int rep;
            for (rep = 0; rep < reps; rep++) {
                ours[rep] = per_message(clients[ci].o, clients[ci].tls12, sizes[si], msgs);
                bare[rep] = per_message(clients[ci].bare, clients[ci].tls12, sizes[si], msgs);
                ratio[rep] = ours[rep] / bare[rep];
            }
            snprintf(sec, sizeof sec, "T2 CPU per message (%s)", clients[ci].label);
            snprintf(a, sizeof a, "%s", fmt_us(median(ours, reps)));
            snprintf(b, sizeof b, "%s", fmt_us(median(bare, reps)));
            {
                char name[96];
                snprintf(name, sizeof name, "%zu B binary, 16 in flight, echoed", sizes[si]);
                row_out(sec, name, a, clients[ci].bare->name, b, median(ratio, reps), "", "");
            }
        }
    }

    /* T3: bytes per open connection: the client's own memory + OpenSSL's heap for it */
    for (ci = 0; ci < sizeof clients / sizeof clients[0]; ci++) {
        long long bare_bytes = 0;
        for (ce = 0; ce < sizeof cells / sizeof cells[0]; ce++) {
            void *c;
            conn_result r = connect_once(clients[ci].o, cells[ce].url, cells[ce].proxy, clients[ci].tls12, NULL, 0, &c);
            conn_result rb2;
            char name[224];
            long long heap_open = client_heap;
            close_conn(clients[ci].o, c);
            snprintf(sec, sizeof sec, "T3 bytes per connection (%s)", clients[ci].label);
            snprintf(a, sizeof a, "%zu + %lld heap = %lld", r.fixed, heap_open, (long long)r.fixed + heap_open);
            snprintf(name, sizeof name, "%s, open, idle (default build: the struct holds 2 x 16 KiB of built-in buffers)",
                     cells[ce].label);
            if (ce == 0) {
                void *bc;
                rb2 = connect_once(clients[ci].bare, cells[ce].url, NULL, clients[ci].tls12, NULL, 0, &bc);
                heap_open = client_heap;
                close_conn(clients[ci].bare, bc);
                bare_bytes = (long long)rb2.fixed + heap_open;
                snprintf(b, sizeof b, "%zu + %lld heap = %lld", rb2.fixed, heap_open, bare_bytes);
                row_out(sec, name, a, clients[ci].bare->name, b,
                        (double)((long long)r.fixed + r.heap) / (double)bare_bytes, "", "");
            } else {
                /* two hops: beside two bare clients (the direct cell's), as row 6 counts BearSSL per hop */
                snprintf(b, sizeof b, "2 x %lld = %lld", bare_bytes, 2 * bare_bytes);
                snprintf(name + strlen(name), sizeof name - strlen(name), "; beside: the bare client per TLS hop");
                row_out(sec, name, a, clients[ci].bare->name, b,
                        (double)((long long)r.fixed + r.heap) / (double)(2 * bare_bytes), "", "");
            }
        }
    }
    SSL_CTX_free(ro_ctx[0]);
    SSL_CTX_free(ro_ctx[1]);
    return 0;
}
