/* TLS in memory: BearSSL server engines play the HTTPS proxy and the wss:// server,
   for every proxy x target cell, with the client's bytes moved whole, one byte at a
   time and in seeded random splits; OpenSSL servers (memory BIOs) play TLS 1.3 peers.
   Certificates come from tests/certs (gen.sh).
   The same cells run with either TLS backend of the client: built as it is, the client
   is BearSSL's (and every cell runs once through the BearSSL-typed API, once through the
   backend-neutral one); built with -DWSPROXY_TLS_OPENSSL it is OpenSSL's. Expectations
   that differ say so per backend. The servers are the test's own either way. */
#if !defined(WSPROXY_TLS_OUTPUT_BUFFER_BYTES) && !defined(WSPROXY_DEFLATE) && defined(__x86_64__) && \
    !defined(__ILP32__)
#define TEST_README_FIGURES 1   /* default limits: the README's memory table (x86-64) must match */
#endif
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_STATS   /* the copies each cell makes are counted and checked */
#include "../wsproxy.h"
/* the servers' libraries, after the header: BearSSL's BR_ERR_* macros then redefine the
   OpenSSL build's copies of them, which must be identical */
#include <bearssl.h>
/* the TLS 1.3 peers are OpenSSL servers: always there with the OpenSSL client; the
   BearSSL build has them with -DTEST_OPENSSL_PEERS (the Makefile's builds), and without
   it (cross builds, CMake) it says that the TLS 1.3 cells were not built */
#if defined(WSPROXY_TLS_OPENSSL) && !defined(TEST_OPENSSL_PEERS)
#define TEST_OPENSSL_PEERS 1
#endif
#ifdef TEST_OPENSSL_PEERS
#include <openssl/ssl.h>
#include <openssl/err.h>
#endif
#include "test.h"

#ifdef WSPROXY_TLS_OPENSSL
#define OSSL_CLIENT 1   /* the client under test is the OpenSSL backend */
#else
#define OSSL_CLIENT 0
#endif
/* BearSSL build: 1 while the cells run through the backend-neutral API (tls.trust,
   tls.identity, tls.session) instead of the BearSSL-typed one; always 1 with OpenSSL */
static int g_neutral = OSSL_CLIENT;

#define CERTS "tests/certs/"
#define TEST_DAYS 740347u   /* 1 Jan 2027, days since 1 Jan 0 AD */
#include "tls_server.h"

static int test_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) dst[i] = (unsigned char)test_rand();
    return 0;
}

/* Trust anchors for the client through the library's own PEM loaders: BearSSL's anchors
   (BearSSL build) and the backend-neutral ones. For a server that checks client
   certificates: BearSSL anchors made by the test itself. */
typedef struct {
#ifndef WSPROXY_TLS_OPENSSL
    unsigned char mem[8192];
#endif
    br_x509_trust_anchor tas[8];
    size_t n;
    wsproxy_tls_trust trust;
    unsigned char tmem[16384];
    br_x509_decoder_context dc[8];   /* the server's anchors point into these */
    blob dn[8];
} anchors;

static void load_anchors(anchors *a, const char *name)
{
    char path[256];
    size_t len, need = 1, i;
    char *pem;
    blob der[8];
    snprintf(path, sizeof path, CERTS "%s.pem", name);
    pem = read_file(path, &len);
    /* the neutral loader: BearSSL decodes into the caller's memory (sizes first), OpenSSL
       keeps the certificates itself and asks for none */
#ifdef WSPROXY_TLS_OPENSSL
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&a->trust, pem, len, NULL, 0, &need), WSPROXY_OK);
    CHECK_EQ_INT(need, 0);
#else
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&a->trust, pem, len, NULL, 0, &need), WSPROXY_E_PEM_SPACE);
    CHECK(need > 0 && need <= sizeof a->tmem);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&a->trust, pem, len, a->tmem, sizeof a->tmem, &need), WSPROXY_OK);
#endif
    CHECK(a->trust.count > 0);
#ifndef WSPROXY_TLS_OPENSSL
    {
        wsproxy_pem_result r;
        CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, a->tas, 8, a->mem, sizeof a->mem, &r), WSPROXY_OK);
        CHECK_EQ_INT(r.anchors, a->trust.count);
    }
#endif
    free(pem);
    /* the same certificates as BearSSL anchors for a test server, decoded here */
    a->n = pem_objects(path, der, 8);
    for (i = 0; i < a->n; i++) {
        memset(&a->dn[i], 0, sizeof a->dn[i]);
        br_x509_decoder_init(&a->dc[i], blob_add, &a->dn[i]);
        br_x509_decoder_push(&a->dc[i], der[i].data, der[i].len);
        free(der[i].data);
#ifdef WSPROXY_TLS_OPENSSL
        a->tas[i].dn.data = a->dn[i].data;
        a->tas[i].dn.len = a->dn[i].len;
        a->tas[i].flags = br_x509_decoder_isCA(&a->dc[i]) ? BR_X509_TA_CA : 0;
        a->tas[i].pkey = *br_x509_decoder_get_pkey(&a->dc[i]);
#endif
    }
}

/* A hop's trust anchors in the client's configuration (hop 1 the server, 0 the proxy). */
static void use_anchors(wsproxy_config *cfg, int hop, anchors *a)
{
    if (!a) return;
#ifndef WSPROXY_TLS_OPENSSL
    if (!g_neutral) {
        if (hop) { cfg->trust_anchors = a->tas; cfg->trust_anchors_count = a->n; }
        else { cfg->proxy_trust_anchors = a->tas; cfg->proxy_trust_anchors_count = a->n; }
        return;
    }
#endif
    if (hop) cfg->tls.trust = &a->trust;
    else cfg->proxy_tls.trust = &a->trust;
}

static wsproxy_client client;
static int g_dirty_client;   /* the client's memory holds garbage before wsproxy_init (malloc's) */

/* wsproxy_init on the shared client, after letting go of what its last connection held */
static int client_init(const wsproxy_config *cfg)
{
    wsproxy_tls_free(&client);
    if (g_dirty_client) memset(&client, 0xA5, sizeof client);
    return wsproxy_init(&client, cfg);
}

/* ---- server engines: BearSSL's from tests/tls_server.h, OpenSSL's (TLS 1.3) here ---- */
static server_opts g_srv[2];
#ifdef TEST_OPENSSL_PEERS
static SSL_CTX *g_ossl_ctx[2];    /* the OpenSSL servers' contexts: sessions survive a run */
static char g_ossl_ctx_key[2][64];

static int ossl_alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                            unsigned inlen, void *arg)
{
    (void)s; (void)arg;
    return SSL_select_next_proto((unsigned char **)(uintptr_t)out, outlen, (const unsigned char *)"\x08http/1.1", 9,
                                 in, inlen) == OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

/* An OpenSSL server context for this certificate and these options, kept across runs
   (so a ticket or session from one run resumes in the next). */
static SSL_CTX *ossl_server_ctx(int slot, const server_cred *cred, const server_opts *o)
{
    char path[256], key[64];
    SSL_CTX *x;
    snprintf(key, sizeof key, "%s/%d/%d", cred->name, o->ossl, o->client_tas != NULL);
    if (g_ossl_ctx[slot] && strcmp(key, g_ossl_ctx_key[slot]) == 0) return g_ossl_ctx[slot];
    SSL_CTX_free(g_ossl_ctx[slot]);
    x = g_ossl_ctx[slot] = SSL_CTX_new(TLS_server_method());
    snprintf(g_ossl_ctx_key[slot], sizeof g_ossl_ctx_key[slot], "%s", key);
    SSL_CTX_set_security_level(x, 0);   /* it serves the SHA-1 certificates too */
    SSL_CTX_set_min_proto_version(x, o->ossl == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    snprintf(path, sizeof path, CERTS "%s-chain.pem", cred->name);
    if (SSL_CTX_use_certificate_chain_file(x, path) != 1) { fprintf(stderr, "cannot load %s\n", path); exit(2); }
    snprintf(path, sizeof path, CERTS "%s.key", cred->name);
    if (SSL_CTX_use_PrivateKey_file(x, path, SSL_FILETYPE_PEM) != 1) { fprintf(stderr, "cannot load %s\n", path); exit(2); }
    SSL_CTX_set_alpn_select_cb(x, ossl_alpn_select, NULL);
    SSL_CTX_set_session_id_context(x, (const unsigned char *)"test", 4);
    if (o->client_tas) {
        SSL_CTX_load_verify_locations(x, CERTS "client-ca.pem", NULL);
        SSL_CTX_set_verify(x, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(x), (time_t)((int64_t)(TEST_DAYS - 719528) * 86400));
    }
    return x;
}

static void tls_server_stop(tls_server *s)
{
    /* a connection that ended well leaves its session in the server's cache */
    if (s->ossl && !s->ossl_failed) SSL_set_shutdown(s->ossl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(s->ossl);   /* and its BIOs */
    s->ossl = NULL;
}

#else
static void tls_server_stop(tls_server *s) { (void)s; }
#endif

static int tls_server_closed(tls_server *s)
{
    if (!s->on) return 0;
#ifdef TEST_OPENSSL_PEERS
    if (s->ossl) return s->ossl_failed;
#endif
    return br_ssl_engine_current_state(&s->sc.eng) == BR_SSL_CLOSED;
}
static br_ssl_session_cache_lru g_lru[2];
static unsigned char g_lru_store[2][4096];

/* seeds: fixed per hop, so a run writes the same bytes every time */
static void tls_server_start(tls_server *s, server_cred *cred, const server_opts *o)
{
#ifdef TEST_OPENSSL_PEERS
    if (o && o->ossl) {
        s->ossl = SSL_new(ossl_server_ctx(o == &g_srv[1], cred, o));
        s->rbio = BIO_new(BIO_s_mem());
        s->wbio = BIO_new(BIO_s_mem());
        SSL_set_bio(s->ossl, s->rbio, s->wbio);
        SSL_set_accept_state(s->ossl);
        s->ossl_failed = 0;
        s->ossl_silent = o->ossl_silent;
        s->on = 1;
        return;
    }
#endif
    bearssl_server_start(s, cred, o, o == &g_srv[1] ? 0x74 : 0x51);
}

#ifdef TEST_OPENSSL_PEERS
/* The OpenSSL server's turn: records in, the handshake, plaintext both ways, records out. */
static int ossl_server_pump(tls_server *s, pipe_t *rec_in, pipe_t *rec_out, pipe_t *app_in, pipe_t *app_out)
{
    int any = 0, progress = 1;
    while (progress) {
        static char buf[16384];
        int r;
        progress = 0;
        if (rec_in->len && (r = BIO_write(s->rbio, rec_in->buf, (int)rec_in->len)) > 0) {
            pipe_drop(rec_in, (size_t)r);
            progress = 1;
        }
        if (!s->ossl_failed) {
            if (!SSL_is_init_finished(s->ossl) && (r = SSL_do_handshake(s->ossl)) <= 0) {
                int e = SSL_get_error(s->ossl, r);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) s->ossl_failed = 1;
            }
            if (!s->ossl_failed && SSL_is_init_finished(s->ossl)) {
                while ((r = SSL_read(s->ossl, buf, (int)sizeof buf)) > 0) { pipe_put(app_in, buf, (size_t)r); progress = 1; }
                if (SSL_get_error(s->ossl, r) == SSL_ERROR_SSL) s->ossl_failed = 1;
                if (!s->ossl_failed && app_out->len && (r = SSL_write(s->ossl, app_out->buf, (int)app_out->len)) > 0) {
                    pipe_drop(app_out, (size_t)r);
                    progress = 1;
                }
            }
            ERR_clear_error();
        }
        while ((r = BIO_read(s->wbio, buf, (int)sizeof buf)) > 0) {
            if (!(s->ossl_failed && s->ossl_silent)) pipe_put(rec_out, buf, (size_t)r);   /* the alert dropped */
            progress = 1;
        }
        any |= progress;
    }
    return any;
}

#endif

/* Moves bytes through a server engine: records in/out, plaintext in/out. */
static int tls_server_pump(tls_server *s, pipe_t *rec_in, pipe_t *rec_out, pipe_t *app_in, pipe_t *app_out)
{
#ifdef TEST_OPENSSL_PEERS
    if (s->ossl) return ossl_server_pump(s, rec_in, rec_out, app_in, app_out);
#endif
    return bearssl_server_pump(s, rec_in, rec_out, app_in, app_out);
}

/* ---- the scene: client <-> [proxy] <-> server, all in memory -------------------------- */
typedef struct {
    int proxy;             /* 0 none, 1 http, 2 https */
    int target_tls;
    tls_server ptls, ttls;
    pipe_t c2s, s2c;       /* the client's socket */
    pipe_t p_in, p_out;    /* proxy plaintext */
    int tunnel;
    char connect_head[512];
    pipe_t t_rec_in, t_rec_out;   /* target's wire side */
    pipe_t t_in, t_out;    /* target plaintext */
    int upgraded, closed;
    int long_sent;         /* g_record_each: the long messages went */
    int echoes;            /* data frames echoed */
    char request_head[2048];
    char proxy_sni[256], target_sni[256];
    int eof_sent;
    int auth_close;        /* the proxy answers a CONNECT without credentials with a 407
                              and closes: the client reconnects (a new TLS handshake) */
    int hangup;
    server_cred *pcred;
} scene;

static scene sc_;

/* g_record_each: the server echoes each frame in a TLS record of its own and sends
   LONG_MESSAGES long messages (LONG_MESSAGE bytes each, so long records) with the first
   echo; the scene counts the records that reach the client's socket and the client's
   reads (the read-ahead's test) */
#define LONG_MESSAGE 14000
#define LONG_MESSAGES 3
static int g_burst;          /* messages the client sends after OPEN (test_burst) */
static int g_record_each;
static int g_greedy;         /* the client reads until it is offered no room, then polls */
static int g_hangup_at_end;  /* the server hangs up (no close_notify) after the burst's echoes */
static size_t g_most_unpolled;   /* g_greedy: the most bytes read between two polls */
static size_t g_most_sent;       /* the most wsproxy_send_buf offered at once */
static int g_bufmode;            /* 0 built-in buffers, 1 the smallest, 2 64 KiB ones */
static int g_feed;           /* bytes go in by wsproxy_feed: 1 always, 2 every other read */
static struct {
    long records, reads, long_seen;
    uint64_t bytes;
    unsigned char hdr[5];
    size_t hdr_n, body_left;
    size_t skip;           /* an http:// proxy's 200 reply: not a record */
} wire, wire_at_open;

static void wire_count(const unsigned char *p, size_t n)
{
    wire.bytes += n;
    while (n && wire.skip) {
        p++;
        n--;
        wire.skip--;
    }
    while (n) {
        if (wire.body_left) {
            size_t k = n < wire.body_left ? n : wire.body_left;
            wire.body_left -= k;
            p += k;
            n -= k;
            continue;
        }
        wire.hdr[wire.hdr_n++] = *p++;
        n--;
        if (wire.hdr_n == 5) {
            wire.body_left = (size_t)wire.hdr[3] << 8 | wire.hdr[4];
            wire.hdr_n = 0;
            wire.records++;
        }
    }
}

static size_t find_head(const pipe_t *p)
{
    size_t i;
    for (i = 0; i + 3 < p->len; i++)
        if (memcmp(p->buf + i, "\r\n\r\n", 4) == 0) return i + 4;
    return 0;
}

/* The WebSocket server: 101 with a text and a ping in the same write, then echo. */
static void ws_server(scene *s)
{
    if (!s->upgraded) {
        size_t h = find_head(&s->t_in);
        char key[25], accept[29], reply[512];
        const char *k;
        if (!h) return;
        memcpy(s->request_head, s->t_in.buf, h < sizeof s->request_head - 1 ? h : sizeof s->request_head - 1);
        k = strstr(s->request_head, "Sec-WebSocket-Key: ");
        if (!k) return;
        memcpy(key, k + 19, 24);
        key[24] = 0;
        wsproxy_accept_key(key, 24, accept);
        snprintf(reply, sizeof reply, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
        pipe_put(&s->t_out, reply, strlen(reply));
        pipe_put(&s->t_out, "\x81\x05hello\x89\x01p", 10);
        pipe_drop(&s->t_in, h);
        s->upgraded = 1;
    }
    while (s->t_in.len >= 6 && !s->closed && !(g_hangup_at_end && s->hangup)) {   /* masked client frames, up to 64 KiB */
        static unsigned char out[4 + 65535];
        unsigned char *f = s->t_in.buf;
        size_t len = f[1] & 127, i, hl = 6, ol = 2;
        int op = f[0] & 15;
        if (len == 127) return;
        if (len == 126) {
            if (s->t_in.len < 8) return;
            len = (size_t)f[2] << 8 | f[3];
            hl = 8;
            ol = 4;
        }
        if (s->t_in.len < hl + len) return;
        for (i = 0; i < len; i++) out[ol + i] = f[hl + i] ^ f[hl - 4 + (i & 3)];
        out[0] = (unsigned char)(0x80 | op);
        out[1] = ol == 4 ? 126 : (unsigned char)len;
        if (ol == 4) {
            out[2] = (unsigned char)(len >> 8);
            out[3] = (unsigned char)len;
        }
        if (op == WSPROXY_OP_CLOSE) {
            out[1] = len >= 2 ? 2 : 0;
            pipe_put(&s->t_out, out, 2 + out[1]);
            s->closed = 1;
        } else if (op == WSPROXY_OP_TEXT || op == WSPROXY_OP_BINARY) {
            pipe_put(&s->t_out, out, ol + len);
            if (g_record_each && !s->long_sent) {
                static unsigned char long_msg[4 + LONG_MESSAGE];
                int k;
                long_msg[0] = 0x82;
                long_msg[1] = 126;
                long_msg[2] = LONG_MESSAGE >> 8;
                long_msg[3] = LONG_MESSAGE & 255;
                for (k = 0; k < LONG_MESSAGES; k++) pipe_put(&s->t_out, long_msg, sizeof long_msg);
                s->long_sent = 1;
            }
        }
        pipe_drop(&s->t_in, hl + len);
        if (op == WSPROXY_OP_TEXT || op == WSPROXY_OP_BINARY) {
            /* the streamed frame's echo, then the burst's: the last bytes are on their
               way when the server hangs up */
            if (g_hangup_at_end && ++s->echoes == g_burst + 1) s->hangup = 1;
        }
        if (g_record_each) break;   /* the next pass seals it in a record */
    }
}

static void copy_sni(char *dst, tls_server *t)
{
#ifdef TEST_OPENSSL_PEERS
    const char *n = t->ossl ? SSL_get_servername(t->ossl, TLSEXT_NAMETYPE_host_name)
                            : br_ssl_engine_get_server_name(&t->sc.eng);
#else
    const char *n = br_ssl_engine_get_server_name(&t->sc.eng);
#endif
    snprintf(dst, 256, "%s", n ? n : "");
}

/* One round of the server side; returns whether anything moved. */
static int server_side(scene *s)
{
    int any = 0, guard;
    for (guard = 0; guard < 64; guard++) {
        int moved = 0;
        pipe_t *wire_in = &s->c2s, *wire_out = &s->s2c;
        if (s->proxy) {
            if (s->proxy == 2) {
                moved |= tls_server_pump(&s->ptls, &s->c2s, &s->s2c, &s->p_in, &s->p_out);
                copy_sni(s->proxy_sni, &s->ptls);
            } else {
                if (s->c2s.len) { pipe_put(&s->p_in, s->c2s.buf, s->c2s.len); s->c2s.len = 0; moved = 1; }
                if (s->p_out.len) { pipe_put(&s->s2c, s->p_out.buf, s->p_out.len); s->p_out.len = 0; moved = 1; }
            }
            if (!s->tunnel) {
                size_t h = find_head(&s->p_in);
                if (h && !s->hangup) {
                    memcpy(s->connect_head, s->p_in.buf, h < sizeof s->connect_head - 1 ? h : sizeof s->connect_head - 1);
                    s->connect_head[h < sizeof s->connect_head - 1 ? h : sizeof s->connect_head - 1] = 0;
                    pipe_drop(&s->p_in, h);
                    if (s->auth_close && !strstr(s->connect_head, "Proxy-Authorization: Basic ")) {
                        static const char r407[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                            "Proxy-Authenticate: Basic realm=\"t\"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
                        pipe_put(&s->p_out, r407, sizeof r407 - 1);
                        s->hangup = 1;   /* then the proxy closes */
                    } else {
                        pipe_put(&s->p_out, "HTTP/1.1 200 Connection established\r\n\r\n", 39);
                        s->tunnel = 1;
                    }
                    moved = 1;
                }
            }
            if (s->tunnel) {
                if (s->p_in.len) { pipe_put(&s->t_rec_in, s->p_in.buf, s->p_in.len); s->p_in.len = 0; moved = 1; }
                if (s->t_rec_out.len) { pipe_put(&s->p_out, s->t_rec_out.buf, s->t_rec_out.len); s->t_rec_out.len = 0; moved = 1; }
            }
            wire_in = &s->t_rec_in;
            wire_out = &s->t_rec_out;
        }
        if (!s->proxy || s->tunnel) {
            if (s->target_tls) {
                moved |= tls_server_pump(&s->ttls, wire_in, wire_out, &s->t_in, &s->t_out);
                copy_sni(s->target_sni, &s->ttls);
            } else {
                if (wire_in->len) { pipe_put(&s->t_in, wire_in->buf, wire_in->len); wire_in->len = 0; moved = 1; }
                if (s->t_out.len) { pipe_put(wire_out, s->t_out.buf, s->t_out.len); s->t_out.len = 0; moved = 1; }
            }
            {
                size_t before = s->t_out.len;
                ws_server(s);
                moved |= s->t_out.len != before;
            }
        }
        any |= moved;
        if (!moved) break;
    }
    return any;
}

static unsigned char arena[WSPROXY_TLS_ARENA_BYTES(2)];

static char ev_log[2048];

static void log_add(const char *fmt, int num, const char *s, size_t n)
{
    size_t at = strlen(ev_log);
    snprintf(ev_log + at, sizeof ev_log - at, fmt, num, (int)n, s);
}

/* At a hop's EV_TLS: what wsproxy_tls_info_get says agrees with the server's engine
   and with wsproxy_tls_session_save's flag. */
static void check_tls_info(int hop, const tls_server *srv)
{
    wsproxy_tls_info info;
    size_t len;
    int resumed = -1;
    CHECK_EQ_INT(wsproxy_tls_info_get(&client, hop, &info), WSPROXY_OK);
    CHECK(info.version == 0x0303 || (OSSL_CLIENT && info.version == 0x0304));
    CHECK(info.suite_name != NULL);
    if (info.suite_name && info.version == 0x0303) CHECK(strncmp(info.suite_name, "TLS_ECDHE_", 10) == 0);
    if (info.suite_name && info.version == 0x0304) CHECK(strncmp(info.suite_name, "TLS_AES_", 8) == 0 ||
                                                         strncmp(info.suite_name, "TLS_CHACHA20_", 13) == 0);
    (void)wsproxy_tls_session_save(&client, hop, NULL, 0, &len, &resumed);
    CHECK_EQ_INT(info.resumed, resumed);
#ifdef TEST_OPENSSL_PEERS
    if (srv->ossl) {
        const SSL_CIPHER *sc = SSL_get_current_cipher(srv->ossl);
        CHECK(sc && SSL_CIPHER_get_protocol_id(sc) == info.suite);
        CHECK_EQ_INT(SSL_version(srv->ossl), info.version);
        return;
    }
#endif
    CHECK_EQ_INT(srv->sc.eng.session.cipher_suite, (int)info.suite);
    CHECK_EQ_INT(br_ssl_engine_get_version(&srv->sc.eng), info.version);
}

/* g_burst > 0: after OPEN the client sends that many messages, mostly short binary
   ones (0-125 bytes: the short path into the TLS record), every 37th a text message,
   with WSPROXY_E_WOULD_BLOCK taken as "later"; the echoes must come back in order, byte
   for byte. First, a streamed binary frame: no message goes while it is open. */
static int burst_sent, burst_echoed, burst_bad;

#define BURST_LONG 40000   /* with 64 KiB buffers, every 100th message: longer than a record */
static size_t burst_message(int k, unsigned char *out, int *opcode)
{
    size_t len, i;
    if (g_bufmode == 2 && k % 100 == 99) {
        *opcode = WSPROXY_OP_BINARY;
        for (i = 0; i < BURST_LONG; i++) out[i] = (unsigned char)(k + (int)(i * 13));
        return BURST_LONG;
    }
    if (k % 37 == 36) {
        *opcode = WSPROXY_OP_TEXT;
        return (size_t)snprintf((char *)out, 32, "text %d", k);
    }
    *opcode = WSPROXY_OP_BINARY;
    len = (size_t)(k % 126);
    for (i = 0; i < len; i++) out[i] = (unsigned char)(k * 31 + (int)i * 7);
    return len;
}

static void burst_send(void)
{
    int wrote = 0;
    while (burst_sent < g_burst) {
        static unsigned char m[BURST_LONG];
        int op, rc;
        size_t len = burst_message(burst_sent, m, &op), room = wsproxy_send_room(&client);
        rc = op == WSPROXY_OP_TEXT ? wsproxy_send_text(&client, (const char *)m, len)
                                   : wsproxy_send_binary(&client, m, len);
        /* send_room's promise (0 also says "none": an empty message may not fit then) */
        CHECK(rc != WSPROXY_E_WOULD_BLOCK || room < len || room == 0);
        if (rc == WSPROXY_E_WOULD_BLOCK) {
            /* a refused message changes nothing: the record it did not fit stays open for
               what does fit (a streamed frame), and the caller's flush closes it (with 64
               KiB buffers a refusal may move staged frames on into the record: progress) */
            if (g_bufmode != 2) CHECK_EQ_INT(wsproxy_send_room(&client), room);
            break;
        }
        CHECK_EQ_INT(rc, WSPROXY_OK);
        burst_sent++;
        wrote = 1;
    }
    if (wrote) {   /* what was written can leave now, before any input comes */
        size_t n;
        CHECK(wsproxy_send_buf(&client, &n) != NULL && n > 0);
    }
}

static void burst_start(void)
{
    static const unsigned char streamed[10] = "0123456789";
    burst_sent = burst_echoed = burst_bad = 0;
    CHECK_EQ_INT(wsproxy_send_begin(&client, WSPROXY_OP_BINARY, sizeof streamed, 1), WSPROXY_OK);
    CHECK_EQ_INT((int)wsproxy_send_data(&client, streamed, 4), 4);
    CHECK_EQ_INT(wsproxy_send_binary(&client, "x", 1), WSPROXY_E_STATE);   /* inside the frame */
    CHECK_EQ_INT((int)wsproxy_send_data(&client, streamed + 4, 6), 6);
    burst_echoed = -1;   /* the streamed frame's echo comes first */
    burst_send();
}

/* An echo during the burst: 1 when it was one of the burst's. */
static int burst_echo(const wsproxy_event *ev, const unsigned char *msg, size_t msg_len)
{
    static unsigned char want[BURST_LONG];
    int op;
    size_t len;
    if (!g_burst || burst_echoed >= g_burst) return 0;
    if (ev->opcode == WSPROXY_OP_TEXT && msg_len == 5 && memcmp(msg, "hello", 5) == 0) return 0;   /* the server's */
    if (g_record_each && ev->opcode == WSPROXY_OP_BINARY && msg_len == LONG_MESSAGE) {   /* the server's too */
        wire.long_seen++;
        return 1;
    }
    if (burst_echoed < 0) {
        burst_bad += ev->opcode != WSPROXY_OP_BINARY || msg_len != 10 || memcmp(msg, "0123456789", 10) != 0;
    } else {
        len = burst_message(burst_echoed, want, &op);
        burst_bad += ev->opcode != op || msg_len != len || memcmp(msg, want, len) != 0;
    }
    if (++burst_echoed == g_burst) {
        log_add("BURST %d%.*s|", burst_bad ? -burst_bad : g_burst, "", 0);
        CHECK_EQ_INT(wsproxy_send_text(&client, "abc", 3), WSPROXY_OK);
    }
    return 1;
}

/* Runs one connection to the end; returns the event log. */
static void run_scene(wsproxy_config *cfg, int mode)
{
    scene *s = &sc_;
    int rounds, sent_text = 0, done = 0;
    static unsigned char msg[BURST_LONG];
    size_t msg_len = 0;
    ev_log[0] = 0;
    memset(&wire, 0, sizeof wire);
    memset(&wire_at_open, 0, sizeof wire_at_open);
    if (s->proxy == 1) wire.skip = 39;   /* "HTTP/1.1 200 Connection established" */
    for (rounds = 0; rounds < (g_burst ? 1000000 : 20000) && !done; rounds++) {
        const unsigned char *out;
        size_t n, room;
        unsigned char *in;
        wsproxy_event ev;
        int moved = 0;
        /* client -> network */
        while ((out = wsproxy_send_buf(&client, &n)) != NULL && n) {
            size_t k = n;
            if (n > g_most_sent) g_most_sent = n;
            if (mode == 1) k = 1;
            else if (mode == 2) { size_t r = 1 + (size_t)(test_rand() % 300); if (r < k) k = r; }
            pipe_put(&s->c2s, out, k);
            wsproxy_send_ack(&client, k);
            moved = 1;
            if (mode) break;
        }
        {
            size_t before = s->s2c.len;
            moved |= server_side(s);
            wire_count(s->s2c.buf + before, s->s2c.len - before);
        }
        if (!s->s2c.len && !s->eof_sent &&
            (s->hangup || (s->proxy == 2 && tls_server_closed(&s->ptls)) || (s->target_tls && tls_server_closed(&s->ttls)))) {
            wsproxy_socket_closed(&client, 0);   /* a server whose TLS failed hangs up */
            s->eof_sent = 1;
            moved = 1;
        }
        /* network -> client */
        {
            int reads = 0;
            size_t unpolled = 0;
            while (s->s2c.len) {
                size_t k = s->s2c.len;
                if (mode == 1) k = 1;
                else if (mode == 2) { size_t r = 1 + (size_t)(test_rand() % 300); if (r < k) k = r; }
                if (g_feed == 1 || (g_feed == 2 && (wire.reads & 1))) {
                    if (!(k = wsproxy_feed(&client, s->s2c.buf, k))) break;
                } else {
                    if ((in = wsproxy_recv_buf(&client, &room)) == NULL || !room) break;
                    if (k > room) k = room;
                    memcpy(in, s->s2c.buf, k);
                    /* a careless caller that says it read more than it was lent: the
                       client takes what it lent (the read-ahead's room too) */
                    wsproxy_recv_ack(&client, g_record_each && k == room ? k + 5000 : k);
                }
                pipe_drop(&s->s2c, k);
                wire.reads++;
                unpolled += k;
                moved = 1;
                if (!g_greedy || ++reads == 100000) break;
            }
            if (unpolled > g_most_unpolled) g_most_unpolled = unpolled;
        }
        while (wsproxy_poll(&client, &ev)) {
            moved = 1;
            switch (ev.type) {
            case WSPROXY_EV_TLS:
                log_add("TLS %d %.*s|", ev.status, ev.protocol, strlen(ev.protocol));
                check_tls_info(ev.status, ev.status == WSPROXY_HOP_PROXY ? &s->ptls : &s->ttls);
                break;
            case WSPROXY_EV_TUNNEL: log_add("TUNNEL %d%.*s|", ev.status, "", 0); break;
            case WSPROXY_EV_OPEN:
                log_add("OPEN %d%.*s|", ev.status, "", 0);
                wire_at_open = wire;
                break;
            case WSPROXY_EV_MESSAGE:   /* chunks gathered into whole messages */
                if (ev.first) msg_len = 0;
                if (msg_len + ev.len <= sizeof msg) memcpy(msg + msg_len, ev.data, ev.len);
                msg_len += ev.len;
                if (!ev.fin) break;
                if (sent_text && burst_echo(&ev, msg, msg_len)) break;
                log_add("MSG %d %.*s|", ev.opcode, (const char *)msg, msg_len);
                if (msg_len == 3 && memcmp(msg, "abc", 3) == 0) wsproxy_close(&client, 1000, "done", 4);
                break;
            case WSPROXY_EV_PING: log_add("PING %d%.*s|", (int)ev.len, "", 0); break;
            case WSPROXY_EV_RECONNECT:   /* a new connection to the proxy: its TLS starts over */
                log_add("RECONNECT %d%.*s|", ev.status, "", 0);
                tls_server_stop(&s->ptls);
                tls_server_start(&s->ptls, s->pcred, &g_srv[0]);
                s->c2s.len = s->s2c.len = s->p_in.len = s->p_out.len = 0;
                s->hangup = s->eof_sent = s->auth_close = 0;
                CHECK_EQ_INT(wsproxy_reconnected(&client), WSPROXY_OK);
                break;
            case WSPROXY_EV_CLOSE: log_add("CLOSE %d%.*s|", ev.close_code, "", 0); done = 1; break;
            case WSPROXY_EV_ERROR: {
                const wsproxy_error_info *e = wsproxy_error_info_get(&client);
                const char *name = wsproxy_strerror(e->code);
                log_add("ERROR %d %.*s|", e->tls_error, name, strlen(name));
                done = 1;
                break;
            }
            default: break;
            }
            if (ev.type == WSPROXY_EV_OPEN && !sent_text) {
                if (g_burst) burst_start();
                else CHECK_EQ_INT(wsproxy_send_text(&client, "abc", 3), WSPROXY_OK);
                sent_text = 1;
            }
        }
        if (g_burst && sent_text && burst_sent < g_burst) {
            int before = burst_sent;
            burst_send();
            moved |= burst_sent != before;
        }
        if (!moved && !done) break;
    }
    (void)cfg;
}

static server_cred cred_target, cred_target_ec, cred_proxy, cred_expired, cred_wrongname,
                   cred_untrusted, cred_dns_only, cred_ip_only;
static anchors ta_ca, ta_proxy_ca, ta_untrusted_ca;

/* A configuration on the static arena, both hops trusting tests/certs/ca.pem. */
static void arena_config(wsproxy_config *cfg, const char *url, const char *proxy)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = url;
    cfg->proxy = proxy;
    cfg->random = test_random;
    cfg->tls_arena = arena;
    cfg->tls_arena_len = sizeof arena;
    use_anchors(cfg, 1, &ta_ca);
    use_anchors(cfg, 0, &ta_ca);
}

typedef struct {
    const char *name;
    const char *url, *proxy;      /* proxy scheme decides the proxy kind */
    server_cred *target_cred, *proxy_cred;
    anchors *target_ta, *proxy_ta;
    int insecure, proxy_insecure;
    const char *expect;           /* event log */
    const char *target_sni, *proxy_sni;
} tls_case;

/* Buffers the cases run with: 0 the built-in ones; 1 the caller's, as small as the
   cells allow: a 512-byte receive buffer, a 512-byte send buffer when the socket's stage
   is plain, and none when a TLS stage is the socket's (exactly sized on the heap, so an
   overrun crashes under ASan). */
/* another event log a case may end with (NULL: none): where the order of two events
   depends on how the records were cut */
static const char *g_alt_expect;
/* 1: the https:// proxy wants credentials and closes after its 407 (EV_RECONNECT) */
static int g_auth_close;
static int g_proxy_resumed, g_proxy_session_rc;
/* the least of g_resumed and g_proxy_resumed over the three feeds of the last case */
static int g_resumed_min, g_proxy_resumed_min;
/* The client's per-hop TLS settings and clock for the next cases (NULL: defaults). */
static const wsproxy_tls_options *g_topt, *g_popt;
static int (*g_time)(void *ctx, uint32_t *days, uint32_t *seconds);
/* after each run: the server hop's session and whether it was resumed (BearSSL-typed with
   that API, else as bytes) */
#ifndef WSPROXY_TLS_OPENSSL
static br_ssl_session_parameters g_session;
#endif
static unsigned char g_blob[8192];
static size_t g_blob_len;
static int g_resumed, g_session_rc;
static int time_2050(void *ctx, uint32_t *days, uint32_t *seconds)
{
    (void)ctx;
    *days = TEST_DAYS + 23 * 365;
    *seconds = 0;
    return 0;
}
static int time_2027(void *ctx, uint32_t *days, uint32_t *seconds)
{
    (void)ctx;
    *days = TEST_DAYS;
    *seconds = 3600;
    return 0;
}

static void run_case(const tls_case *tc)
{
    char logs[3][2048];
    int mode;
    for (mode = 0; mode < 3; mode++) {
        wsproxy_config cfg;
        scene *s = &sc_;
        char name[160];
        unsigned char *rbuf = NULL, *sbuf = NULL;
        wsproxy_stats st;
        int plain_socket = !tc->proxy ? strncmp(tc->url, "wss", 3) != 0 : strncmp(tc->proxy, "https", 5) != 0;
        /* the exact arena on the heap, placed so that the hops end where the allocation
           does (the client aligns the start to 16 bytes): under ASan an overrun crashes */
        size_t need = wsproxy_tls_arena_size(tc->url, tc->proxy);
        unsigned char *heap = (unsigned char *)malloc(need + 1);
        snprintf(name, sizeof name, "%s (%s%s)", tc->name, mode == 0 ? "whole" : mode == 1 ? "byte" : "random",
                 g_bufmode == 1 ? ", small caller buffers" : g_bufmode == 2 ? ", 64 KiB caller buffers" : "");
        TEST_CASE(name);
        memset(s, 0, sizeof *s);
        s->proxy = !tc->proxy ? 0 : strncmp(tc->proxy, "https", 5) == 0 ? 2 : 1;
        s->target_tls = strncmp(tc->url, "wss", 3) == 0;
        test_seed(99 + (uint64_t)mode);
        memset(&cfg, 0, sizeof cfg);
        cfg.url = tc->url;
        cfg.proxy = tc->proxy;
        cfg.random = test_random;
        cfg.tls_arena = heap + 1;
        cfg.tls_arena_len = need;
        cfg.tls_days = TEST_DAYS;
        cfg.insecure = tc->insecure;
        cfg.proxy_insecure = tc->proxy_insecure;
        if (g_bufmode == 1) smallest_buffers(&cfg, plain_socket, &rbuf, &sbuf);
        if (g_bufmode == 2) {   /* room to queue records below the socket's engine; TLS in
                                   TLS twice that: a long message's records and the proxy's
                                   records around them */
            size_t slen = s->proxy == 2 && s->target_tls ? 131072 : 65536;
            rbuf = (unsigned char *)malloc(65536);
            sbuf = (unsigned char *)malloc(slen);
            cfg.recv_buffer = rbuf;
            cfg.send_buffer = sbuf;
            cfg.recv_buffer_len = 65536;
            cfg.send_buffer_len = slen;
        }
        if (s->proxy == 2) tls_server_start(&s->ptls, tc->proxy_cred, &g_srv[0]);
        s->pcred = tc->proxy_cred;
        s->auth_close = g_auth_close;
        if (s->target_tls) tls_server_start(&s->ttls, tc->target_cred, &g_srv[1]);
        if (g_topt) cfg.tls = *g_topt;
        if (g_popt) cfg.proxy_tls = *g_popt;
        use_anchors(&cfg, 1, tc->target_ta);
        use_anchors(&cfg, 0, tc->proxy_ta);
        cfg.tls_time = g_time;
        if (g_auth_close) cfg.proxy_auth = WSPROXY_AUTH_BASIC | WSPROXY_AUTH_DIGEST;   /* waits for the 407 */
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
        g_most_sent = 0;
        run_scene(&cfg, mode);
        g_resumed = -1;
#ifndef WSPROXY_TLS_OPENSSL
        if (!g_neutral)
            g_session_rc = wsproxy_tls_session_get(&client, WSPROXY_HOP_TARGET, &g_session, &g_resumed);
        else
#endif
            g_session_rc = wsproxy_tls_session_save(&client, WSPROXY_HOP_TARGET, g_blob, sizeof g_blob, &g_blob_len,
                                                    &g_resumed);
        {
            size_t plen;
            g_proxy_resumed = -1;
            g_proxy_session_rc = wsproxy_tls_session_save(&client, WSPROXY_HOP_PROXY, NULL, 0, &plen, &g_proxy_resumed);
        }
        if (mode == 0 || g_resumed < g_resumed_min) g_resumed_min = g_resumed;
        if (mode == 0 || g_proxy_resumed < g_proxy_resumed_min) g_proxy_resumed_min = g_proxy_resumed;
        snprintf(logs[mode], sizeof logs[mode], "%s", ev_log);
        if (g_alt_expect && strcmp(ev_log, g_alt_expect) == 0) snprintf(ev_log, sizeof ev_log, "%s", tc->expect);
        if (strcmp(ev_log, tc->expect) != 0)
            fprintf(stderr, "  [%s]\n  expected: %s\n  got:      %s\n", name, tc->expect, ev_log);
        CHECK(strcmp(ev_log, tc->expect) == 0);
        if (tc->target_sni) CHECK(strcmp(s->target_sni, tc->target_sni) == 0);
        if (tc->proxy_sni) CHECK(strcmp(s->proxy_sni, tc->proxy_sni) == 0);
        /* copies the library made: none where a TLS stage is the socket's or the tunnel
           is plain; TLS inside TLS moves the server's records through the proxy's engine */
        wsproxy_stats_get(&client, &st);
        if (strstr(tc->expect, "OPEN") && g_burst) {   /* frames past a full record wait in the staging */
            /* records the socket's engine sealed go into a send buffer with room for them
               (BearSSL, a TLS stage on the socket; TLS in TLS the proxy's records around
               the server's): a burst leaves in one send */
            int may_queue = !OSSL_CLIENT && (g_bufmode != 1 || plain_socket) &&   /* a send buffer */
                            (s->proxy == 2 || s->target_tls);
            CHECK_EQ_INT(st.copied_in_message, 0);
            if (!(s->proxy == 2 && s->target_tls)) CHECK(st.copied_in == 0);
            if (!may_queue) CHECK(st.records_queued == 0);
            /* a message longer than a record leaves in one send with what came before */
            if (may_queue && g_bufmode == 2) CHECK(st.records_queued > 0 && g_most_sent > BURST_LONG);
        } else if (strstr(tc->expect, "OPEN")) {
            CHECK_EQ_INT(st.copied_in_message, 0);
            if (s->proxy == 2 && s->target_tls) CHECK(st.copied_in > 0 && st.copied_out > 0);
            else CHECK(st.copied_in == 0 && st.copied_out == 0);
        }
        if (g_record_each && strstr(tc->expect, "OPEN")) {
            long records = wire.records - wire_at_open.records, reads = wire.reads - wire_at_open.reads;
            uint64_t bytes = wire.bytes - wire_at_open.bytes;
            CHECK_EQ_INT((int)wire.long_seen, LONG_MESSAGES);
            CHECK(records > g_burst);
            if (mode == 0 && !g_greedy && !g_feed) {
                /* the client reads what it is offered: short records come several to a
                   read, not in two reads each (a greedy reader also reads while the
                   engine holds a record: into the read-ahead then) */
                if (reads >= records) fprintf(stderr, "  [%s] %ld reads for %ld records\n", name, reads, records);
                CHECK(reads < records);   /* without the read-ahead: two a record */
#if WSPROXY_TLS_OUTPUT_BUFFER_BYTES - 85 > LONG_MESSAGE
                /* long records went straight into the engine, but for the first one's
                   first read: no copy (a client with a smaller output buffer asks for
                   short records, RFC 6066's max_fragment_length, and gets no long one) */
                CHECK(st.read_ahead + (LONG_MESSAGES * LONG_MESSAGE - WSPROXY_TLS_READ_AHEAD - 1000) <= bytes);
#endif
            }
            CHECK(st.read_ahead <= bytes);
            /* bytes already in memory are not copied into the read-ahead */
            if (g_feed == 1) CHECK_EQ_INT((int)st.read_ahead, 0);
        }
        if (s->proxy && strstr(tc->expect, "OPEN")) {
            /* the proxy never sees the target's name as SNI, and the target never sees
               proxy credentials */
            CHECK(strstr(s->connect_head, "CONNECT ") == s->connect_head);
            CHECK(strstr(s->request_head, "Proxy-Authorization") == NULL);
        }
        wsproxy_tls_free(&client);   /* before its arena goes */
        tls_server_stop(&s->ptls);
        tls_server_stop(&s->ttls);
        free(heap);
        free(rbuf);
        free(sbuf);
    }
}

static void test_cells(void)
{
    static const char ok_direct[] = "TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_http[] = "TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_ws[] = "TLS 1 http/1.1|TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_wss[] = "TLS 1 http/1.1|TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_plain_http[] = "TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    char e_untrusted_t[128], e_untrusted_tun[128], e_name_t[128], e_expired_t[128], e_untrusted_p[128],
         e_name_p[128], e_expired_p[128], e_ip_t[128], e_cross_t[128], e_cross_p[128];
    tls_case cases[40];
    int n = 0, i;
    snprintf(e_untrusted_t, sizeof e_untrusted_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_untrusted_tun, sizeof e_untrusted_tun, "TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_name_t, sizeof e_name_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_BAD_SERVER_NAME);
    snprintf(e_expired_t, sizeof e_expired_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_EXPIRED);
    snprintf(e_untrusted_p, sizeof e_untrusted_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_name_p, sizeof e_name_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_BAD_SERVER_NAME);
    snprintf(e_expired_p, sizeof e_expired_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_EXPIRED);
    snprintf(e_ip_t, sizeof e_ip_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_BAD_SERVER_NAME);
    snprintf(e_cross_t, sizeof e_cross_t, "TLS 1 http/1.1|TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_cross_p, sizeof e_cross_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_NOT_TRUSTED);
#define CASE(nm, u, p, tc_, pc_, tta, pta, ins, pins, exp, tsni, psni) \
    do { tls_case c_ = {nm, u, p, tc_, pc_, tta, pta, ins, pins, exp, tsni, psni}; cases[n++] = c_; } while (0)
    /* the cells */
    CASE("wss direct, RSA", "wss://localhost/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "localhost", NULL);
    CASE("wss direct, EC", "wss://localhost/chat", NULL, &cred_target_ec, NULL, &ta_ca, NULL, 0, 0, ok_direct, "localhost", NULL);
    CASE("wss direct to an IP (SAN)", "wss://127.0.0.1/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "", NULL);
    CASE("wss direct to [::1] (SAN)", "wss://[::1]:8443/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "", NULL);
    CASE("ws via http proxy", "ws://localhost/chat", "http://proxy:3128", NULL, NULL, NULL, NULL, 0, 0, ok_plain_http, NULL, NULL);
    CASE("wss via http proxy", "wss://localhost/chat", "http://proxy:3128", &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_http, "localhost", NULL);
    CASE("ws via https proxy", "ws://localhost/chat", "https://localhost:8443", NULL, &cred_proxy, NULL, &ta_proxy_ca, 0, 0, ok_https_ws, NULL, "localhost");
    CASE("wss via https proxy (TLS in TLS)", "wss://localhost/chat", "https://localhost:8443", &cred_target, &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 0, ok_https_wss, "localhost", "localhost");
    CASE("wss direct, host with a trailing dot", "wss://localhost./chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "localhost", NULL);
    CASE("https proxy with a trailing dot", "wss://localhost./chat", "https://localhost.:8443", &cred_target, &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 0, ok_https_wss, "localhost", "localhost");
    CASE("wss via https proxy at an IP", "wss://localhost/chat", "https://127.0.0.1:8443", &cred_target_ec, &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 0, ok_https_wss, "localhost", "");
    /* target hop faults, direct and through the tunnel */
    CASE("target untrusted", "wss://localhost/", NULL, &cred_untrusted, NULL, &ta_ca, NULL, 0, 0, e_untrusted_t, NULL, NULL);
    CASE("target untrusted in tunnel", "wss://localhost/", "http://p:1", &cred_untrusted, NULL, &ta_ca, NULL, 0, 0, e_untrusted_tun, NULL, NULL);
    CASE("target wrong name", "wss://localhost/", NULL, &cred_wrongname, NULL, &ta_ca, NULL, 0, 0, e_name_t, NULL, NULL);
    CASE("target expired", "wss://localhost/", NULL, &cred_expired, NULL, &ta_ca, NULL, 0, 0, e_expired_t, NULL, NULL);
    CASE("target IP not in SAN", "wss://127.0.0.1/", NULL, &cred_dns_only, NULL, &ta_ca, NULL, 0, 0, e_ip_t, NULL, NULL);
    CASE("target IP-only cert", "wss://127.0.0.1/chat", NULL, &cred_ip_only, NULL, &ta_ca, NULL, 0, 0, ok_direct, "", NULL);
    CASE("target DNS name vs IP-only cert", "wss://localhost/", NULL, &cred_ip_only, NULL, &ta_ca, NULL, 0, 0, e_name_t, NULL, NULL);
    CASE("target untrusted, insecure", "wss://localhost/chat", NULL, &cred_untrusted, NULL, &ta_ca, NULL, 1, 0, ok_direct, NULL, NULL);
    CASE("target expired, insecure", "wss://localhost/chat", NULL, &cred_expired, NULL, NULL, NULL, 1, 0, ok_direct, NULL, NULL);
    CASE("target IP mismatch, insecure", "wss://127.0.0.1/chat", NULL, &cred_dns_only, NULL, &ta_ca, NULL, 1, 0, ok_direct, NULL, NULL);
    CASE("target checked with the proxy's CA", "wss://localhost/", "https://localhost:8443", &cred_target, &cred_proxy, &ta_proxy_ca, &ta_proxy_ca, 0, 0, e_cross_t, NULL, NULL);
    /* proxy hop faults: independent of the target's settings */
    CASE("proxy untrusted", "ws://localhost/", "https://localhost:8443", NULL, &cred_untrusted, NULL, &ta_proxy_ca, 0, 0, e_untrusted_p, NULL, NULL);
    CASE("proxy wrong name", "ws://localhost/", "https://localhost:8443", NULL, &cred_wrongname, NULL, &ta_ca, 0, 0, e_name_p, NULL, NULL);
    CASE("proxy expired", "ws://localhost/", "https://localhost:8443", NULL, &cred_expired, NULL, &ta_ca, 0, 0, e_expired_p, NULL, NULL);
    CASE("proxy checked with the target's CA", "wss://localhost/", "https://localhost:8443", &cred_target, &cred_proxy, &ta_ca, &ta_ca, 0, 0, e_cross_p, NULL, NULL);
    CASE("proxy untrusted, proxy_insecure", "wss://localhost/chat", "https://localhost:8443", &cred_target, &cred_untrusted, &ta_ca, NULL, 0, 1, ok_https_wss, NULL, NULL);
    CASE("proxy insecure does not spare the target", "wss://localhost/", "https://localhost:8443", &cred_untrusted, &cred_untrusted, &ta_ca, NULL, 0, 1, e_cross_t, NULL, NULL);
    CASE("target insecure does not spare the proxy", "wss://localhost/", "https://localhost:8443", &cred_untrusted, &cred_untrusted, NULL, &ta_proxy_ca, 1, 0, e_untrusted_p, NULL, NULL);
#undef CASE
    for (g_bufmode = 0; g_bufmode < 2; g_bufmode++) {
        g_neutral = OSSL_CLIENT || g_bufmode;   /* BearSSL: its own API, then the neutral one */
        for (i = 0; i < n; i++) run_case(&cases[i]);
    }
    g_bufmode = 0;
    g_neutral = OSSL_CLIENT;
}

/* the burst's cells and what each logs; the first four have a TLS stage on the socket
   once open */
static const char burst_ok_direct[] = "TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|BURST 300|MSG 1 abc|CLOSE 1000|";
static const char burst_ok_http[] = "TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|BURST 300|MSG 1 abc|CLOSE 1000|";
static const char burst_ok_https_ws[] = "TLS 1 http/1.1|TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|BURST 300|MSG 1 abc|CLOSE 1000|";
static const char burst_ok_https_wss[] = "TLS 1 http/1.1|TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|BURST 300|MSG 1 abc|CLOSE 1000|";
static const char burst_ok_plain_http[] = "TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|BURST 300|MSG 1 abc|CLOSE 1000|";
static const tls_case burst_cases[] = {
    {"burst: wss direct", "wss://localhost/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, burst_ok_direct, NULL, NULL},
    {"burst: wss via http proxy", "wss://localhost/chat", "http://proxy:3128", &cred_target, NULL, &ta_ca, NULL, 0, 0,
     burst_ok_http, NULL, NULL},
    {"burst: ws via https proxy", "ws://localhost/chat", "https://localhost:8443", NULL, &cred_proxy, NULL,
     &ta_proxy_ca, 0, 0, burst_ok_https_ws, NULL, NULL},
    {"burst: TLS in TLS", "wss://localhost/chat", "https://localhost:8443", &cred_target, &cred_proxy, &ta_ca,
     &ta_proxy_ca, 0, 0, burst_ok_https_wss, NULL, NULL},
    {"burst: ws via http proxy (no TLS)", "ws://localhost/chat", "http://proxy:3128", NULL, NULL, NULL, NULL, 0, 0,
     burst_ok_plain_http, NULL, NULL},
};

/* Many short messages in each TLS cell: short binary messages skip wsproxy_send and go
   into the record of the TLS stage below the frames; a record too full for the next one,
   the staging, a streamed frame and text messages between them take the longer ways. */
static void test_burst(void)
{
    enum { N = sizeof burst_cases / sizeof burst_cases[0] };
    size_t i;
    g_burst = 300;
    for (g_bufmode = 0; g_bufmode < 3; g_bufmode++)
        for (i = 0; i < N; i++) run_case(&burst_cases[i]);
    g_bufmode = 0;
    /* once more on a client whose memory was not zero before wsproxy_init: every field the
       connection reads is set by it */
    g_dirty_client = 1;
    for (i = 0; i < N; i++) run_case(&burst_cases[i]);
    g_dirty_client = 0;
    g_burst = 0;
}

/* The read-ahead of a TLS stage on the socket: each echo in a record of its own, and a
   long message among them, in every cell whose socket stage is TLS once open. */
static void test_read_ahead(void)
{
    enum { N = 4 };   /* the burst's cells with a TLS stage on the socket */
    tls_case cases[N];
    char names[N][64];
    size_t i;
    for (i = 0; i < N; i++) {
        cases[i] = burst_cases[i];
        snprintf(names[i], sizeof names[i], "read-ahead: %s", burst_cases[i].name + strlen("burst: "));
        cases[i].name = names[i];
    }
    g_burst = 300;
    g_record_each = 1;
    for (g_bufmode = 0; g_bufmode < 3; g_bufmode++)
        for (i = 0; i < N; i++) run_case(&cases[i]);
    g_bufmode = 0;
    /* a peer that never stops sending: a caller that reads while it is offered room and
       polls only then takes at most the read-ahead and a record in each engine */
    g_greedy = 1;
    for (i = 0; i < N; i++) {
        size_t hops = i == 3 ? 2 : 1;
#ifdef WSPROXY_TLS_OPENSSL   /* no read-ahead; a hop stages records and plaintext */
        size_t bound = hops * (2 * WSPROXY_OPENSSL_INPUT_BYTES + BR_SSL_BUFSIZE_INPUT);
#else
        size_t bound = WSPROXY_TLS_READ_AHEAD + hops * BR_SSL_BUFSIZE_INPUT;
#endif
        g_most_unpolled = 0;
        run_case(&cases[i]);
        CHECK(g_most_unpolled > WSPROXY_TLS_READ_AHEAD);
        CHECK(g_most_unpolled <= bound);
    }
    /* the server hangs up while its last records are in flight: what the client read
       ahead before it heard of the end still comes out, then the connection is lost */
    g_hangup_at_end = 1;
    for (i = 0; i < N; i++) {
        tls_case tc = cases[i];
        char expect[256];
        snprintf(expect, sizeof expect, "%.*s|ERROR 0 WSPROXY_E_CONNECTION_LOST|",
                 (int)(strstr(tc.expect, "|MSG 1 abc|") - tc.expect), tc.expect);
        tc.expect = expect;
        run_case(&tc);
    }
    g_hangup_at_end = 0;
    g_greedy = 0;
    /* wsproxy_feed takes the records with no read-ahead copy; fed every other read, it
       takes what the read-ahead holds first, in order */
    for (g_feed = 1; g_feed <= 2; g_feed++)
        for (i = 0; i < N; i++) {
            char name[96];
            tls_case tc = cases[i];
            snprintf(name, sizeof name, "%s, %s", cases[i].name, g_feed == 1 ? "wsproxy_feed" : "wsproxy_feed every other read");
            tc.name = name;
            run_case(&tc);
        }
    g_feed = 0;
    g_record_each = 0;
    g_burst = 0;
}

/* ---- the policy of every hop (issue 13) ---------------------------------------------- */
static server_cred cred_sha1_leaf, cred_sha1_inter_leaf, cred_inter_leaf, cred_eku_client, cred_eku_server,
                   cred_eku_any, cred_eku_none;
static anchors ta_client_ca;

/* One certificate, refused or accepted the same on each hop: direct, in a tunnel, proxy. */
static void policy_cert(const char *what, server_cred *cred, const char *verdict_direct,
                        const char *verdict_tunnel, const char *verdict_proxy)
{
    char n1[128], n2[128], n3[128];
    tls_case c1 = {n1, "wss://localhost/chat", NULL, NULL, NULL, &ta_ca, NULL, 0, 0, NULL, NULL, NULL};
    tls_case c2 = {n2, "wss://localhost/chat", "http://p:3128", NULL, NULL, &ta_ca, NULL, 0, 0, NULL, NULL, NULL};
    tls_case c3 = {n3, "ws://localhost/chat", "https://localhost:8443", NULL, NULL, NULL, &ta_ca, 0, 0, NULL, NULL, NULL};
    snprintf(n1, sizeof n1, "%s: server hop, direct", what);
    snprintf(n2, sizeof n2, "%s: server hop, in a tunnel", what);
    snprintf(n3, sizeof n3, "%s: proxy hop", what);
    c1.target_cred = c2.target_cred = cred;
    c3.proxy_cred = cred;
    c1.expect = verdict_direct;
    c2.expect = verdict_tunnel;
    c3.expect = verdict_proxy;
    run_case(&c1);
    run_case(&c2);
    run_case(&c3);
}

static void test_policy(void)
{
    static const char ok_direct[] = "TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_http[] = "TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_ws[] = "TLS 1 http/1.1|TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_wss[] = "TLS 1 http/1.1|TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    char t[8][128];
    /* certificates */
    snprintf(t[0], sizeof t[0], "ERROR %d WSPROXY_E_TLS_TARGET|", WSPROXY_TLS_ERR_WEAK_SIGNATURE);
    snprintf(t[1], sizeof t[1], "TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", WSPROXY_TLS_ERR_WEAK_SIGNATURE);
    snprintf(t[2], sizeof t[2], "ERROR %d WSPROXY_E_TLS_PROXY|", WSPROXY_TLS_ERR_WEAK_SIGNATURE);
    snprintf(t[3], sizeof t[3], "ERROR %d WSPROXY_E_TLS_TARGET|", WSPROXY_TLS_ERR_EKU);
    snprintf(t[4], sizeof t[4], "TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", WSPROXY_TLS_ERR_EKU);
    snprintf(t[5], sizeof t[5], "ERROR %d WSPROXY_E_TLS_PROXY|", WSPROXY_TLS_ERR_EKU);
    policy_cert("SHA-1-signed leaf", &cred_sha1_leaf, t[0], t[1], t[2]);
    policy_cert("leaf under a SHA-1-signed intermediate", &cred_sha1_inter_leaf, t[0], t[1], t[2]);
    policy_cert("SHA-256 intermediate (control)", &cred_inter_leaf, ok_direct, ok_http, ok_https_ws);
    policy_cert("EKU clientAuth only", &cred_eku_client, t[3], t[4], t[5]);
    policy_cert("EKU serverAuth", &cred_eku_server, ok_direct, ok_http, ok_https_ws);
    policy_cert("EKU anyExtendedKeyUsage", &cred_eku_any, ok_direct, ok_http, ok_https_ws);
    policy_cert("no EKU", &cred_eku_none, ok_direct, ok_http, ok_https_ws);
    {
        /* verification off: the policy is the caller's, as the rest of the check */
        tls_case c = {"EKU clientAuth only, insecure", "wss://localhost/chat", NULL, &cred_eku_client, NULL,
                      NULL, NULL, 1, 0, ok_direct, NULL, NULL};
        run_case(&c);
    }

    /* cipher suites: the server offers one family; ours are ECDHE + AEAD, compat adds CBC */
    {
        static const uint16_t rsa_only[] = {BR_TLS_RSA_WITH_AES_128_GCM_SHA256, BR_TLS_RSA_WITH_AES_128_CBC_SHA};
        static const uint16_t cbc256[] = {BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384};
        static const uint16_t cbc_sha1[] = {BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA};
        static const uint16_t des3[] = {BR_TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, BR_TLS_RSA_WITH_3DES_EDE_CBC_SHA};
        static const uint16_t chacha[] = {BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256};
        static const struct { const char *name; const uint16_t *suites; size_t n; int compat_ok; } fam[] = {
            {"static RSA only", rsa_only, 2, 0}, {"ECDHE-CBC (SHA-256) only", cbc256, 2, 1},
            {"ECDHE-CBC (SHA-1 MAC) only", cbc_sha1, 2, 0}, {"3DES only", des3, 2, 0},
            {"ChaCha20 only", chacha, 1, 1}};
        static wsproxy_tls_options compat;
        char no_suite_t[128], no_suite_p[128];
        size_t k;
        int hop;
        compat.compat = 1;
        snprintf(no_suite_t, sizeof no_suite_t, "ERROR %d WSPROXY_E_TLS_TARGET|", WSPROXY_TLS_ERR_NO_SUITE);
        snprintf(no_suite_p, sizeof no_suite_p, "ERROR %d WSPROXY_E_TLS_PROXY|", WSPROXY_TLS_ERR_NO_SUITE);
        for (k = 0; k < sizeof fam / sizeof fam[0]; k++) {
            for (hop = 0; hop < 2; hop++) {
                int with_compat;
                for (with_compat = 0; with_compat < 2; with_compat++) {
                    char name[160];
                    int ok = fam[k].suites == chacha || (with_compat && fam[k].compat_ok);
                    tls_case c = {name, "wss://localhost/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, NULL, NULL, NULL};
                    snprintf(name, sizeof name, "server offers %s, %s hop%s", fam[k].name, hop ? "proxy" : "server",
                             with_compat ? ", tls_compat" : "");
                    memset(g_srv, 0, sizeof g_srv);
                    if (hop) {   /* an RSA-keyed https:// proxy (the target certificate serves) */
                        c.url = "ws://localhost/chat";
                        c.proxy = "https://localhost:8443";
                        c.target_cred = NULL;
                        c.target_ta = NULL;
                        c.proxy_cred = &cred_target;
                        c.proxy_ta = &ta_ca;
                        g_srv[0].suites = fam[k].suites;
                        g_srv[0].nsuites = fam[k].n;
                        g_popt = with_compat ? &compat : NULL;
                        c.expect = ok ? ok_https_ws : no_suite_p;
                    } else {
                        g_srv[1].suites = fam[k].suites;
                        g_srv[1].nsuites = fam[k].n;
                        g_topt = with_compat ? &compat : NULL;
                        c.expect = ok ? ok_direct : no_suite_t;
                    }
                    run_case(&c);
                    g_topt = g_popt = NULL;
                }
            }
        }
        memset(g_srv, 0, sizeof g_srv);
    }

    /* the ClientHello, byte for byte: suites, no SHA-1 signature algorithm */
    {
#ifdef WSPROXY_TLS_OPENSSL
        /* OpenSSL: TLS 1.3's three AEAD suites first, the same TLS 1.2 ones, then the
           empty renegotiation-info signal (RFC 5746) OpenSSL always adds */
        static const unsigned char want[] = {0x13, 0x01, 0x13, 0x02, 0x13, 0x03,
                                             0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8,
                                             0x00, 0xff};
        static const unsigned char want_compat[] = {0x13, 0x01, 0x13, 0x02, 0x13, 0x03,
                                                    0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8,
                                                    0xc0, 0x23, 0xc0, 0x27, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0xff};
#else
        static const unsigned char want[] = {0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8};
        static const unsigned char want_compat[] = {0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8,
                                                    0xc0, 0x23, 0xc0, 0x27, 0xc0, 0x24, 0xc0, 0x28};
#endif
        int compat;
        for (compat = 0; compat < 2; compat++) {
            wsproxy_config cfg;
            const unsigned char *p;
            size_t n, off, sl, el, e;
            int sha1_sig = 0, found_sigalgs = 0;
            TEST_CASE(compat ? "ClientHello suites, tls_compat" : "ClientHello suites");
            memset(&cfg, 0, sizeof cfg);
            cfg.url = "wss://localhost/";
            cfg.random = test_random;
            cfg.tls_arena = arena;
            cfg.tls_arena_len = sizeof arena;
            cfg.tls.compat = compat;
            use_anchors(&cfg, 1, &ta_ca);
            CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
            p = wsproxy_send_buf(&client, &n);
            /* record header 5, handshake header 4, version 2, random 32, session id */
            CHECK(p && n > 50 && p[0] == 22 && p[5] == 1);
            if (!p || n < 50) continue;
            off = 5 + 4 + 2 + 32;
            off += 1 + p[off];
            sl = (size_t)p[off] << 8 | p[off + 1];
            CHECK_EQ_INT(sl, compat ? sizeof want_compat : sizeof want);
            CHECK(memcmp(p + off + 2, compat ? want_compat : want, sl) == 0);
            off += 2 + sl;
            off += 1 + p[off];                          /* compression methods */
            el = (size_t)p[off] << 8 | p[off + 1];      /* extensions */
            off += 2;
            for (e = off; e + 4 <= off + el && e + 4 <= n;) {
                size_t type = (size_t)p[e] << 8 | p[e + 1], len = (size_t)p[e + 2] << 8 | p[e + 3], j;
                if (type == 13) {   /* signature_algorithms: pairs of hash, signature */
                    found_sigalgs = 1;
                    for (j = e + 6; j + 1 < e + 4 + len; j += 2)
                        if (p[j] == 1 || p[j] == 2) sha1_sig = 1;   /* MD5 or SHA-1 */
                }
                e += 4 + len;
            }
            CHECK(found_sigalgs && !sha1_sig);
        }
    }

    /* plain HTTP where TLS was expected */
    {
        wsproxy_config cfg;
        wsproxy_event ev;
        char msg[300];
        size_t n;
        int hop;
        for (hop = 0; hop < 2; hop++) {
            TEST_CASE(hop ? "an https:// proxy that answers plain HTTP" : "a wss:// server that answers plain HTTP");
            arena_config(&cfg, hop ? "ws://h/" : "wss://h/", hop ? "https://p:3128" : NULL);
            CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
            while (wsproxy_send_buf(&client, &n)) wsproxy_send_ack(&client, n);
            wsproxy_feed(&client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 47);
            while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
            CHECK_EQ_INT(ev.type, WSPROXY_EV_ERROR);
            CHECK_EQ_INT(wsproxy_error(&client), hop ? WSPROXY_E_TLS_PROXY : WSPROXY_E_TLS_TARGET);
            CHECK_EQ_INT(wsproxy_error_info_get(&client)->tls_error, WSPROXY_TLS_ERR_PLAIN_HTTP);
            wsproxy_describe(&client, msg, sizeof msg);
            CHECK(strstr(msg, hop ? "is it an http:// proxy?" : "is it a ws:// server?") != NULL);
        }
    }

    /* no trust anchors: said at init, per hop; verification off needs none */
    {
        wsproxy_config cfg;
        TEST_CASE("a verifying hop without trust anchors fails at init");
        memset(&cfg, 0, sizeof cfg);
        cfg.url = "wss://h/";
        cfg.random = test_random;
        cfg.tls_arena = arena;
        cfg.tls_arena_len = sizeof arena;
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_TLS_NO_ANCHORS);
        cfg.insecure = 1;
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
        cfg.proxy = "https://p:1";   /* the server hop is insecure, the proxy hop is not */
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_TLS_NO_ANCHORS);
        use_anchors(&cfg, 0, &ta_proxy_ca);
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
    }

    /* SNI and the name checked, per hop */
    {
        static wsproxy_tls_options by_name, wrong;
        char e_name_p[128];
        tls_case c = {"proxy reached by IP, named by server_name", "ws://localhost/chat", "https://127.0.0.1:8443",
                      NULL, &cred_proxy, NULL, &ta_proxy_ca, 0, 0, ok_https_ws, NULL, "localhost"};
        by_name.server_name = "localhost";
        wrong.server_name = "example.com";
        g_popt = &by_name;
        run_case(&c);
        snprintf(e_name_p, sizeof e_name_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_BAD_SERVER_NAME);
        c.name = "proxy named by a server_name its certificate lacks";
        c.expect = e_name_p;
        c.proxy_sni = "example.com";
        g_popt = &wrong;
        run_case(&c);
        g_popt = NULL;
    }

    /* ALPN: the default, none, and a list the server does not share */
    {
        static const char *const none[] = {NULL};
        static wsproxy_tls_options no_alpn;
        tls_case c = {"no ALPN offered", "wss://localhost/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0,
                      "TLS 2 |OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|", NULL, NULL};
        no_alpn.alpn = none;
        g_topt = &no_alpn;
        run_case(&c);
        g_topt = NULL;
    }

    /* the validation time from the caller's clock, asked per handshake */
    {
        char e_exp[128];
        tls_case c = {"tls_time: 2050 is past the certificate", "wss://localhost/chat", NULL, &cred_target, NULL,
                      &ta_ca, NULL, 0, 0, NULL, NULL, NULL};
        snprintf(e_exp, sizeof e_exp, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_EXPIRED);
        c.expect = e_exp;
        g_time = time_2050;
        run_case(&c);
        c.name = "tls_time: 2027";
        c.expect = ok_direct;
        g_time = time_2027;
        run_case(&c);
        g_time = NULL;
    }
    (void)ok_https_wss;
}

/* ---- client certificates (mTLS) and session resumption, per hop ---------------------- */
typedef struct {
#ifndef WSPROXY_TLS_OPENSSL
    br_x509_certificate chain[4]; size_t n; unsigned char mem[8192]; wsproxy_private_key key;
    unsigned char kmem[4096];
#endif
    wsproxy_tls_identity id;       /* the backend-neutral loader's */
    unsigned char imem[16384];
} client_id;

static void load_client_id(client_id *id, const char *chain, const char *key)
{
    char path[256];
    size_t len, klen, need = 1;
    char *pem, *kpem;
    snprintf(path, sizeof path, CERTS "%s", chain);
    pem = read_file(path, &len);
    snprintf(path, sizeof path, CERTS "%s", key);
    kpem = read_file(path, &klen);
#ifdef WSPROXY_TLS_OPENSSL
    CHECK_EQ_INT(wsproxy_tls_identity_pem(&id->id, pem, len, kpem, klen, NULL, 0, &need), WSPROXY_OK);
    CHECK_EQ_INT(need, 0);
#else
    CHECK_EQ_INT(wsproxy_tls_identity_pem(&id->id, pem, len, kpem, klen, NULL, 0, &need), WSPROXY_E_PEM_SPACE);
    CHECK(need > 0 && need <= sizeof id->imem);
    CHECK_EQ_INT(wsproxy_tls_identity_pem(&id->id, pem, len, kpem, klen, id->imem, sizeof id->imem, &need), WSPROXY_OK);
    {
        wsproxy_pem_result r;
        CHECK_EQ_INT(wsproxy_pem_certificates(pem, len, id->chain, 4, id->mem, sizeof id->mem, &r), WSPROXY_OK);
        id->n = r.anchors;
        CHECK_EQ_INT(wsproxy_pem_private_key(kpem, klen, &id->key, NULL, 0, &need), WSPROXY_E_PEM_SPACE);
        CHECK(need > 0 && need <= sizeof id->kmem);
        CHECK_EQ_INT(wsproxy_pem_private_key(kpem, klen, &id->key, id->kmem, sizeof id->kmem, &need), WSPROXY_OK);
    }
#endif
    CHECK(id->id.chain_len >= 1);
    free(pem);
    free(kpem);
}

/* A hop's client certificate in its options, through the API this pass tests. */
static void use_id(wsproxy_tls_options *o, client_id *id)
{
#ifndef WSPROXY_TLS_OPENSSL
    if (!g_neutral) {
        o->client_chain = id->chain;
        o->client_chain_len = id->n;
        o->client_key = &id->key;
        return;
    }
#endif
    o->identity = &id->id;
}

static void test_mtls_and_resumption(void)
{
    static const char ok_direct[] = "TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_wss[] = "TLS 1 http/1.1|TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static client_id rsa1, rsa8, ec1, ec8, untrusted;
    static int loaded;
    static wsproxy_tls_options with_rsa, with_ec, with_untrusted;
    char e_none_t[128], e_untrusted_t[128], e_none_p[128];
    if (!loaded) {
        size_t len, klen, need = 1;
        char *pem, *kpem;
        wsproxy_tls_identity k;
        loaded = 1;
        TEST_CASE("PEM keys: PKCS#1, SEC1, PKCS#8, encrypted");
        load_client_id(&rsa1, "client-rsa-chain.pem", "client-rsa-pkcs1.key");
        load_client_id(&rsa8, "client-rsa-chain.pem", "client-rsa.key");
        load_client_id(&ec1, "client-ec-chain.pem", "client-ec-sec1.key");
        load_client_id(&ec8, "client-ec-chain.pem", "client-ec.key");
        load_client_id(&untrusted, "client-untrusted-chain.pem", "client-untrusted.key");
#ifdef WSPROXY_TLS_OPENSSL
        /* the same key read from PKCS#1 and PKCS#8, from SEC1 and PKCS#8 */
        CHECK_EQ_INT(EVP_PKEY_get_base_id(rsa1.id.key_), EVP_PKEY_RSA);
        CHECK_EQ_INT(EVP_PKEY_get_base_id(ec1.id.key_), EVP_PKEY_EC);
        CHECK_EQ_INT(EVP_PKEY_eq(rsa1.id.key_, rsa8.id.key_), 1);
        CHECK_EQ_INT(EVP_PKEY_eq(ec1.id.key_, ec8.id.key_), 1);
#else
        CHECK_EQ_INT(rsa1.key.type, BR_KEYTYPE_RSA);
        CHECK_EQ_INT(ec1.key.type, BR_KEYTYPE_EC);
        CHECK(rsa1.key.rsa.plen == rsa8.key.rsa.plen && memcmp(rsa1.key.rsa.p, rsa8.key.rsa.p, rsa1.key.rsa.plen) == 0);
        CHECK(ec1.key.ec.xlen == ec8.key.ec.xlen && memcmp(ec1.key.ec.x, ec8.key.ec.x, ec1.key.ec.xlen) == 0);
        CHECK_EQ_INT(rsa1.id.key_.type, BR_KEYTYPE_RSA);   /* the neutral loader's, the same */
        CHECK(rsa1.id.key_.rsa.plen == rsa8.key.rsa.plen &&
              memcmp(rsa1.id.key_.rsa.p, rsa8.key.rsa.p, rsa8.key.rsa.plen) == 0);
        CHECK(ec8.id.key_.ec.xlen == ec1.key.ec.xlen && memcmp(ec8.id.key_.ec.x, ec1.key.ec.x, ec1.key.ec.xlen) == 0);
        CHECK(rsa1.id.chain_len == rsa1.n && rsa1.id.chain_[0].data_len == rsa1.chain[0].data_len &&
              memcmp(rsa1.id.chain_[0].data, rsa1.chain[0].data, rsa1.chain[0].data_len) == 0);
        {
            wsproxy_private_key bk;
            unsigned char mem[4096];
            pem = read_file(CERTS "client-rsa-encrypted.key", &len);
            CHECK_EQ_INT(wsproxy_pem_private_key(pem, len, &bk, mem, sizeof mem, &need), WSPROXY_E_PEM_ENCRYPTED);
            CHECK_EQ_INT(need, 0);
            free(pem);
            pem = read_file(CERTS "client-rsa.pem", &len);   /* a certificate is not a key */
            CHECK_EQ_INT(wsproxy_pem_private_key(pem, len, &bk, mem, sizeof mem, &need), WSPROXY_E_PEM_SYNTAX);
            free(pem);
        }
#endif
        /* either backend: an encrypted key, a certificate given as the key, a key as the chain */
        pem = read_file(CERTS "client-rsa-chain.pem", &len);
        kpem = read_file(CERTS "client-rsa-encrypted.key", &klen);
        CHECK_EQ_INT(wsproxy_tls_identity_pem(&k, pem, len, kpem, klen, rsa8.imem, sizeof rsa8.imem, &need),
                     WSPROXY_E_PEM_ENCRYPTED);
        CHECK_EQ_INT(wsproxy_tls_identity_pem(&k, pem, len, pem, len, rsa8.imem, sizeof rsa8.imem, &need),
                     WSPROXY_E_PEM_SYNTAX);
        free(kpem);
        kpem = read_file(CERTS "client-rsa.key", &klen);
        CHECK_EQ_INT(wsproxy_tls_identity_pem(&k, kpem, klen, kpem, klen, rsa8.imem, sizeof rsa8.imem, &need),
                     WSPROXY_E_PEM_SYNTAX);
        free(pem);
        free(kpem);
    }

    memset(&with_rsa, 0, sizeof with_rsa);
    memset(&with_ec, 0, sizeof with_ec);
    memset(&with_untrusted, 0, sizeof with_untrusted);
    use_id(&with_rsa, &rsa1);
    use_id(&with_ec, &ec1);
    use_id(&with_untrusted, &untrusted);
    snprintf(e_none_t, sizeof e_none_t, "ERROR %d WSPROXY_E_TLS_TARGET|", WSPROXY_TLS_ERR_CERT_REQUIRED);
    snprintf(e_none_p, sizeof e_none_p, "ERROR %d WSPROXY_E_TLS_PROXY|", WSPROXY_TLS_ERR_CERT_REQUIRED);
    snprintf(e_untrusted_t, sizeof e_untrusted_t, "ERROR %d WSPROXY_E_TLS_TARGET|", WSPROXY_TLS_ERR_CERT_REFUSED);
    {
        tls_case c = {"mTLS to the server: RSA client certificate", "wss://localhost/chat", NULL, &cred_target, NULL,
                      &ta_ca, NULL, 0, 0, ok_direct, NULL, NULL};
        g_srv[1].client_tas = ta_client_ca.tas;
        g_srv[1].client_tas_n = ta_client_ca.n;
        g_topt = &with_rsa;
        run_case(&c);
        c.name = "mTLS to the server: EC client certificate";
        g_topt = &with_ec;
        run_case(&c);
        c.name = "mTLS to the server: none given";
        c.expect = e_none_t;
        g_topt = NULL;
        run_case(&c);
        c.name = "mTLS to the server: from an untrusted CA";
        c.expect = e_untrusted_t;
        g_topt = &with_untrusted;
        run_case(&c);
        c.name = "mTLS: the proxy's certificate is not sent to the server";
        c.expect = e_none_t;
        g_topt = NULL;
        g_popt = &with_rsa;
        run_case(&c);
        g_popt = NULL;
        memset(g_srv, 0, sizeof g_srv);
    }
    {
        tls_case c = {"mTLS to the proxy only", "wss://localhost/chat", "https://localhost:8443", &cred_target,
                      &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 0, ok_https_wss, NULL, NULL};
        g_srv[0].client_tas = ta_client_ca.tas;
        g_srv[0].client_tas_n = ta_client_ca.n;
        g_popt = &with_ec;
        run_case(&c);
        c.name = "mTLS to the proxy and to the server, one certificate each";
        g_srv[1].client_tas = ta_client_ca.tas;
        g_srv[1].client_tas_n = ta_client_ca.n;
        g_topt = &with_rsa;
        run_case(&c);
        c.name = "mTLS: the server's certificate is not sent to the proxy";
        c.expect = e_none_p;
        g_popt = NULL;
        run_case(&c);
        g_topt = g_popt = NULL;
        memset(g_srv, 0, sizeof g_srv);
    }

    /* resumption: a session saved from one connection, offered on the next */
    {
#ifndef WSPROXY_TLS_OPENSSL
        static br_ssl_session_parameters saved;
#endif
        static unsigned char saved_blob[8192];
        static wsproxy_tls_options resume;
        size_t n;
        tls_case c = {"full handshake, the session saved", "wss://localhost/chat", NULL, &cred_target, NULL,
                      &ta_ca, NULL, 0, 0, ok_direct, NULL, NULL};
        g_srv[1].cache = &g_lru[1].vtable;
        run_case(&c);
        CHECK_EQ_INT(g_session_rc, WSPROXY_OK);
        CHECK_EQ_INT(g_resumed, 0);
        memset(&resume, 0, sizeof resume);
#ifndef WSPROXY_TLS_OPENSSL
        saved = g_session;
        if (!g_neutral) resume.resume = &saved;
#endif
        memcpy(saved_blob, g_blob, g_blob_len);
        if (g_neutral) {
            resume.session = saved_blob;
            resume.session_len = g_blob_len;
            CHECK(g_blob_len > 1 && saved_blob[0] == (OSSL_CLIENT ? 'O' : 'B'));
        }
        g_topt = &resume;
        c.name = "resumed handshake";
        run_case(&c);
        CHECK_EQ_INT(g_session_rc, WSPROXY_OK);
        CHECK_EQ_INT(g_resumed_min, 1);
#ifndef WSPROXY_TLS_OPENSSL
        if (!g_neutral)
            CHECK(g_session.session_id_len == saved.session_id_len &&
                  memcmp(g_session.session_id, saved.session_id, saved.session_id_len) == 0);
        else
            CHECK(g_blob_len == resume.session_len && memcmp(g_blob, saved_blob, 34) == 0);   /* the same id */
#endif
        c.name = "a session the server forgot: a full handshake, not a failure";
        g_srv[1].cache = NULL;
        run_case(&c);
        CHECK_EQ_INT(g_resumed, 0);
        if (g_neutral) {   /* bytes of the other backend, or none that parse: a full handshake */
            saved_blob[0] = OSSL_CLIENT ? 'B' : 'O';
            g_srv[1].cache = &g_lru[1].vtable;
            c.name = "session bytes of the other backend: a full handshake";
            run_case(&c);
            CHECK_EQ_INT(g_resumed, 0);
        }
        g_topt = NULL;
        memset(g_srv, 0, sizeof g_srv);
        TEST_CASE("no session before the handshake");
        {
            wsproxy_config cfg;
            arena_config(&cfg, "wss://localhost/", "https://p:1");
            CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
            CHECK(wsproxy_send_buf(&client, &n) != NULL);   /* the ClientHello */
            CHECK_EQ_INT(wsproxy_tls_session_save(&client, WSPROXY_HOP_PROXY, saved_blob, sizeof saved_blob, &n, NULL),
                         WSPROXY_E_STATE);
            CHECK_EQ_INT(wsproxy_tls_session_save(&client, WSPROXY_HOP_TARGET, saved_blob, sizeof saved_blob, &n, NULL),
                         WSPROXY_E_STATE);
#ifndef WSPROXY_TLS_OPENSSL
            CHECK_EQ_INT(wsproxy_tls_session_get(&client, WSPROXY_HOP_PROXY, &saved, NULL), WSPROXY_E_STATE);
#endif
            {
                wsproxy_tls_info info;
                CHECK_EQ_INT(wsproxy_tls_info_get(&client, WSPROXY_HOP_PROXY, &info), WSPROXY_E_STATE);
                CHECK(info.suite_name == NULL && info.version == 0);
                CHECK_EQ_INT(wsproxy_tls_info_get(&client, 7, &info), WSPROXY_E_STATE);
                CHECK_EQ_INT(wsproxy_tls_info_get(&client, WSPROXY_HOP_PROXY, NULL), WSPROXY_E_ARGUMENT);
            }
        }
    }
}

#ifdef TEST_OPENSSL_PEERS
/* ---- TLS 1.3 peers: OpenSSL servers that take TLS 1.3 only. The OpenSSL backend reaches
   them on every hop; BearSSL's cannot (it has no TLS 1.3) and says so, naming the build
   switch. A server taking 1.2 and 1.3 is reached by both. ------------------------------ */
static void test_tls13(void)
{
    static const char ok_direct[] = "TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_http[] = "TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_ws[] = "TLS 1 http/1.1|TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_wss[] = "TLS 1 http/1.1|TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static char e_t[128], e_tun[128], e_p[128], e_tun12[128], f[8][128];
    static wsproxy_tls_options resume, with_rsa, with_untrusted;
    static client_id rsa, untrusted;
    static unsigned char saved[8192];
    const char *reason = wsproxy_tls_reason(BR_ERR_RECV_FATAL_ALERT + 70);
    int i;
    const int v = BR_ERR_RECV_FATAL_ALERT + 70;   /* protocol_version: what BearSSL gets back */
    struct { const char *name, *url, *proxy; server_cred *tc, *pc; anchors *tta, *pta; int t13, p13;
             const char *ok, *bear; const char *tsni, *psni; } cells[] = {
        {"TLS 1.3-only server, direct", "wss://localhost/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 1, 0,
         ok_direct, e_t, "localhost", NULL},
        {"TLS 1.3-only server, EC certificate", "wss://localhost/chat", NULL, &cred_target_ec, NULL, &ta_ca, NULL, 1, 0,
         ok_direct, e_t, NULL, NULL},
        {"TLS 1.3-only server at an IP (iPAddress SAN)", "wss://127.0.0.1/chat", NULL, &cred_target, NULL, &ta_ca, NULL,
         1, 0, ok_direct, e_t, "", NULL},
        {"TLS 1.3-only server, trailing dot", "wss://localhost./chat", NULL, &cred_target, NULL, &ta_ca, NULL, 1, 0,
         ok_direct, e_t, "localhost", NULL},
        {"TLS 1.3-only server through an http:// proxy", "wss://localhost/chat", "http://p:3128", &cred_target, NULL,
         &ta_ca, NULL, 1, 0, ok_http, e_tun, "localhost", NULL},
        {"TLS 1.3-only https:// proxy, ws:// server", "ws://localhost/chat", "https://localhost:8443", NULL, &cred_proxy,
         NULL, &ta_proxy_ca, 0, 1, ok_https_ws, e_p, NULL, "localhost"},
        {"TLS 1.3 inside TLS 1.3", "wss://localhost/chat", "https://localhost:8443", &cred_target, &cred_proxy,
         &ta_ca, &ta_proxy_ca, 1, 1, ok_https_wss, e_p, "localhost", "localhost"},
        {"TLS 1.3-only server inside a TLS 1.2 https:// proxy", "wss://localhost/chat", "https://localhost:8443",
         &cred_target, &cred_proxy, &ta_ca, &ta_proxy_ca, 1, 0, ok_https_wss, e_tun12, "localhost", "localhost"},
        {"TLS 1.3-only https:// proxy at an IP", "wss://localhost/chat", "https://127.0.0.1:8443", &cred_target_ec,
         &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 1, ok_https_wss, e_p, NULL, ""},
    };
    snprintf(e_t, sizeof e_t, "ERROR %d WSPROXY_E_TLS_TARGET|", v);
    snprintf(e_tun, sizeof e_tun, "TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", v);
    snprintf(e_p, sizeof e_p, "ERROR %d WSPROXY_E_TLS_PROXY|", v);
    snprintf(e_tun12, sizeof e_tun12, "TLS 1 http/1.1|TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", v);
    TEST_CASE("protocol_version: the reason names the way out");
#ifdef WSPROXY_TLS_OPENSSL
    CHECK(strstr(reason, "other than 1.2 and 1.3") != NULL);
#else
    CHECK(strstr(reason, "requires TLS 1.3") != NULL && strstr(reason, "WSPROXY_TLS_OPENSSL") != NULL);
#endif
    for (i = 0; i < (int)(sizeof cells / sizeof cells[0]); i++) {
        tls_case c;
        memset(&c, 0, sizeof c);
        c.name = cells[i].name;
        c.url = cells[i].url;
        c.proxy = cells[i].proxy;
        c.target_cred = cells[i].tc;
        c.proxy_cred = cells[i].pc;
        c.target_ta = cells[i].tta;
        c.proxy_ta = cells[i].pta;
        c.expect = OSSL_CLIENT ? cells[i].ok : cells[i].bear;
        c.target_sni = OSSL_CLIENT ? cells[i].tsni : NULL;
        c.proxy_sni = OSSL_CLIENT || !cells[i].p13 ? cells[i].psni : NULL;
        memset(g_srv, 0, sizeof g_srv);
        g_srv[1].ossl = cells[i].t13 ? 13 : 0;
        g_srv[0].ossl = cells[i].p13 ? 13 : 0;
        run_case(&c);
    }

    /* the certificate checks over TLS 1.3, on the server hop and the proxy hop */
    {
        static const struct { const char *what; server_cred *cred; int code; } bad[] = {
            {"untrusted", &cred_untrusted, BR_ERR_X509_NOT_TRUSTED},
            {"wrong name", &cred_wrongname, BR_ERR_X509_BAD_SERVER_NAME},
            {"expired", &cred_expired, BR_ERR_X509_EXPIRED},
            {"EKU clientAuth only", &cred_eku_client, WSPROXY_TLS_ERR_EKU},
            {"SHA-1-signed leaf", &cred_sha1_leaf, WSPROXY_TLS_ERR_WEAK_SIGNATURE},
            {"leaf under a SHA-1 intermediate", &cred_sha1_inter_leaf, WSPROXY_TLS_ERR_WEAK_SIGNATURE},
        };
        char name[3][160];
        size_t k;
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            tls_case c1 = {name[0], "wss://localhost/chat", NULL, NULL, NULL, &ta_ca, NULL, 0, 0, f[0], NULL, NULL};
            tls_case c2 = {name[1], "wss://localhost/chat", "http://p:3128", NULL, NULL, &ta_ca, NULL, 0, 0, f[1], NULL, NULL};
            tls_case c3 = {name[2], "ws://localhost/chat", "https://localhost:8443", NULL, NULL, NULL, &ta_ca, 0, 0, f[2],
                           NULL, NULL};
            snprintf(name[0], sizeof name[0], "TLS 1.3, %s: server hop, direct", bad[k].what);
            snprintf(name[1], sizeof name[1], "TLS 1.3, %s: server hop, in a tunnel", bad[k].what);
            snprintf(name[2], sizeof name[2], "TLS 1.3, %s: proxy hop", bad[k].what);
            snprintf(f[0], sizeof f[0], "ERROR %d WSPROXY_E_TLS_TARGET|", OSSL_CLIENT ? bad[k].code : v);
            snprintf(f[1], sizeof f[1], "TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", OSSL_CLIENT ? bad[k].code : v);
            snprintf(f[2], sizeof f[2], "ERROR %d WSPROXY_E_TLS_PROXY|", OSSL_CLIENT ? bad[k].code : v);
            c1.target_cred = c2.target_cred = c3.proxy_cred = bad[k].cred;
            memset(g_srv, 0, sizeof g_srv);
            g_srv[0].ossl = g_srv[1].ossl = 13;
            run_case(&c1);
            run_case(&c2);
            run_case(&c3);
        }
        memset(g_srv, 0, sizeof g_srv);
    }

    /* mTLS over TLS 1.3: the server judges the certificate after the client's handshake
       is done, so EV_TLS comes first; the refusal is named as over TLS 1.2 */
    {
        tls_case c = {"TLS 1.3 mTLS: RSA client certificate", "wss://localhost/chat", NULL, &cred_target, NULL,
                      &ta_ca, NULL, 0, 0, NULL, NULL, NULL};
        load_client_id(&rsa, "client-rsa-chain.pem", "client-rsa.key");
        load_client_id(&untrusted, "client-untrusted-chain.pem", "client-untrusted.key");
        memset(&with_rsa, 0, sizeof with_rsa);
        memset(&with_untrusted, 0, sizeof with_untrusted);
        use_id(&with_rsa, &rsa);
        use_id(&with_untrusted, &untrusted);
        memset(g_srv, 0, sizeof g_srv);
        g_srv[1].ossl = 13;
        g_srv[1].client_tas = ta_client_ca.tas;
        g_srv[1].client_tas_n = ta_client_ca.n;
        c.expect = OSSL_CLIENT ? ok_direct : e_t;
        g_topt = &with_rsa;
        run_case(&c);
        snprintf(f[3], sizeof f[3], OSSL_CLIENT ? "TLS 2 http/1.1|ERROR %d WSPROXY_E_TLS_TARGET|" : "ERROR %d WSPROXY_E_TLS_TARGET|",
                 OSSL_CLIENT ? WSPROXY_TLS_ERR_CERT_REQUIRED : v);
        c.name = "TLS 1.3 mTLS: none given";
        c.expect = f[3];
        g_topt = NULL;
        /* the refusal may come in the input that ends the client's handshake (records
           of 512 bytes): then no EV_TLS is reported before the error */
        g_alt_expect = OSSL_CLIENT ? strchr(f[3], '|') + 1 : NULL;
        run_case(&c);
        snprintf(f[4], sizeof f[4], OSSL_CLIENT ? "TLS 2 http/1.1|ERROR %d WSPROXY_E_TLS_TARGET|" : "ERROR %d WSPROXY_E_TLS_TARGET|",
                 OSSL_CLIENT ? WSPROXY_TLS_ERR_CERT_REFUSED : v);
        c.name = "TLS 1.3 mTLS: from an untrusted CA";
        c.expect = f[4];
        g_topt = &with_untrusted;
        g_alt_expect = OSSL_CLIENT ? strchr(f[4], '|') + 1 : NULL;
        run_case(&c);
        /* a server that refuses without an alert and hangs up: the close is its verdict
           on our certificate, not a handshake cut short */
        g_srv[1].ossl_silent = OSSL_CLIENT;   /* (the BearSSL client never gets this far: TLS 1.2) */
        c.name = "TLS 1.3 mTLS: none given, refused by a hang-up";
        c.expect = f[3];
        g_topt = NULL;
        g_alt_expect = OSSL_CLIENT ? strchr(f[3], '|') + 1 : NULL;
        run_case(&c);
        c.name = "TLS 1.3 mTLS: from an untrusted CA, refused by a hang-up";
        c.expect = f[4];
        g_topt = &with_untrusted;
        g_alt_expect = OSSL_CLIENT ? strchr(f[4], '|') + 1 : NULL;
        run_case(&c);
        g_alt_expect = NULL;
        g_topt = NULL;
        memset(g_srv, 0, sizeof g_srv);
    }

    /* resumption: TLS 1.3 tickets (OpenSSL backend), and with a server taking both
       versions, each backend resumes (BearSSL by session id over TLS 1.2) */
    {
        int only13;
        for (only13 = 1; only13 >= 0; only13--) {
            tls_case c = {NULL, "wss://localhost/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, NULL, NULL, NULL};
            int reach = OSSL_CLIENT || !only13;
            c.name = only13 ? "TLS 1.3-only server: full handshake, the ticket saved"
                            : "TLS 1.2 and 1.3 server: full handshake, the session saved";
            c.expect = reach ? ok_direct : e_t;
            memset(g_srv, 0, sizeof g_srv);
            g_srv[1].ossl = only13 ? 13 : 12;
            g_neutral = 1;
            run_case(&c);
            CHECK_EQ_INT(g_session_rc, reach ? WSPROXY_OK : WSPROXY_E_STATE);
            if (!reach) continue;
            CHECK_EQ_INT(g_resumed, 0);
            memcpy(saved, g_blob, g_blob_len);
            memset(&resume, 0, sizeof resume);
            resume.session = saved;
            resume.session_len = g_blob_len;
            g_topt = &resume;
            c.name = only13 ? "TLS 1.3-only server: resumed with the ticket" : "TLS 1.2 and 1.3 server: resumed";
            run_case(&c);
            CHECK_EQ_INT(g_session_rc, WSPROXY_OK);
            CHECK_EQ_INT(g_resumed_min, 1);
            g_topt = NULL;
        }
        g_neutral = OSSL_CLIENT;
        memset(g_srv, 0, sizeof g_srv);
    }
}
#endif

/* An https:// proxy that closes after its 407: the client reconnects, and the proxy hop's
   second handshake resumes the first one's session (either backend; a TLS 1.3 proxy with
   OpenSSL, which BearSSL cannot reach). */
static void test_proxy_reconnect(void)
{
    static const char ok[] = "TLS 1 http/1.1|RECONNECT 407|TLS 1 http/1.1|TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|"
                             "MSG 1 abc|CLOSE 1000|";
    static wsproxy_tls_options popt;
    char e13[128];
    int ossl;
    memset(&popt, 0, sizeof popt);
    snprintf(e13, sizeof e13, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_RECV_FATAL_ALERT + 70);
    for (ossl = 0; ossl < 2; ossl++) {
        tls_case c = {NULL, "ws://localhost/chat", "https://user:pw@localhost:8443", NULL, &cred_proxy, NULL,
                      &ta_proxy_ca, 0, 0, ok, NULL, "localhost"};
        int reach = !ossl || OSSL_CLIENT;
        c.name = ossl ? "TLS 1.3 https:// proxy closes after its 407: reconnect, resumed"
                      : "https:// proxy closes after its 407: reconnect, resumed";
        if (!reach) { c.expect = e13; c.proxy_sni = NULL; }
        memset(g_srv, 0, sizeof g_srv);
        g_srv[0].cache = &g_lru[0].vtable;
#ifdef TEST_OPENSSL_PEERS
        g_srv[0].ossl = ossl ? 13 : 0;
#else
        if (ossl) break;
#endif
        g_popt = &popt;
        g_auth_close = 1;
        run_case(&c);
        g_auth_close = 0;
        g_popt = NULL;
        if (reach) {
            CHECK_EQ_INT(g_proxy_session_rc, WSPROXY_E_BUFFER);   /* a session there, and its size */
            CHECK_EQ_INT(g_proxy_resumed_min, 1);   /* in each of the three feeds */
            CHECK(strstr(sc_.connect_head, "Proxy-Authorization: Basic dXNlcjpwdw==") != NULL);
        }
    }
    memset(g_srv, 0, sizeof g_srv);
}

/* Caller mistakes with TLS, before any byte. */
static void test_tls_config(void)
{
    wsproxy_config cfg;
    size_t n;
    TEST_CASE("arena sizes");
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", NULL), 0);
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", "http://p:1"), 0);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", NULL), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "http://p:1"), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "socks5h://p:1"), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", "https://p:1"), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "https://p:1"), 2 * WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    /* a host given as an IP address costs the same: no certificate is kept (its
       iPAddress names are read as it passes) */
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://10.0.0.1/", NULL), WSPROXY_TLS_ARENA_BYTES(1));
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://[::1]/", "https://10.0.0.1:1"), WSPROXY_TLS_ARENA_BYTES(2));
    CHECK_EQ_INT(WSPROXY_TLS_NAMED_HOP_BYTES, WSPROXY_TLS_HOP_BYTES);
#ifdef WSPROXY_TLS_OPENSSL
    /* OpenSSL: the four ports' staging and a few pointers and counters (OpenSSL's own
       memory is on its heap, measured by make bench) */
    CHECK(WSPROXY_TLS_HOP_BYTES <= 2 * WSPROXY_OPENSSL_INPUT_BYTES + 2 * WSPROXY_TLS_OUTPUT_BUFFER_BYTES + 256);
    CHECK(WSPROXY_TLS_HOP_BYTES >= 2 * WSPROXY_OPENSSL_INPUT_BYTES + 2 * WSPROXY_TLS_OUTPUT_BUFFER_BYTES - 85);
#else
    /* no more than the engines need: the engine, the validator, the buffer, the no-verify
       key decoder, and the certificate reader's few hundred bytes */
    CHECK(WSPROXY_TLS_HOP_BYTES <= sizeof(br_ssl_client_context) + sizeof(br_x509_minimal_context) +
                                   BR_SSL_BUFSIZE_BIDI + sizeof(br_x509_decoder_context) + 512);
#endif
    printf("# bytes per connection: ws %u, wss %u (IP host %u), ws via https proxy %u, wss via https proxy %u\n",
           (unsigned)sizeof(wsproxy_client),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("wss://h/", NULL)),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("wss://10.0.0.1/", NULL)),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("ws://h/", "https://p:1")),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("wss://h/", "https://p:1")));

#ifdef TEST_README_FIGURES
    TEST_CASE("README memory table");
    {
        /* the README quotes these figures: keep them true */
        size_t len, i;
        char *readme = read_file("README.md", &len);
        /* each backend's table: BearSSL's under "Memory per connection", OpenSSL's under
           "TLS backends" */
        const char *table = strstr(readme, OSSL_CLIENT ? "\n## TLS backends" : "\n## Memory per connection");
        enum { ROWS = 6 };
        unsigned long want[ROWS], got[ROWS][3];
        static const struct { const char *row, *url, *proxy; } rows[ROWS] = {
            {"| ws:// direct, or", "ws://h/", NULL},
            {"| wss:// to a host name, direct or", "wss://h/", NULL},
            {"| wss:// to an IP address, direct or", "wss://10.0.0.1/", NULL},
            {"| ws:// through `https://` |", "ws://h/", "https://p:1"},
            {"| wss:// through `https://` (TLS inside TLS) |", "wss://h/", "https://p:1"},
            {"| wss:// through `https://`, both hosts IP addresses |", "wss://10.0.0.1/", "https://10.0.0.2:1"}};
        for (i = 0; i < ROWS; i++) want[i] = sizeof(wsproxy_client) + wsproxy_tls_arena_size(rows[i].url, rows[i].proxy);
        for (i = 0; i < ROWS; i++) {
            const char *row = table ? strstr(table, rows[i].row) : NULL, *p;
            int k;
            CHECK(row != NULL);
            if (!row) continue;
            p = strchr(row + 1, '|');   /* after the cell name: struct | arena | total */
            for (k = 0; k < 3 && p; k++) {
                unsigned long v = 0;
                p++;
                while (*p == ' ') p++;
                while ((*p >= '0' && *p <= '9') || *p == ',') { if (*p != ',') v = v * 10 + (unsigned long)(*p - '0'); p++; }
                got[i][k] = v;
                p = strchr(p, '|');
            }
            CHECK_EQ_INT(got[i][0], sizeof(wsproxy_client));
            CHECK_EQ_INT(got[i][2], want[i]);
            CHECK_EQ_INT(got[i][0] + got[i][1], want[i]);
        }
        free(readme);
    }
#endif

    TEST_CASE("arena missing or small");
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "wss://h/";
    cfg.random = test_random;
    use_anchors(&cfg, 1, &ta_ca);
    use_anchors(&cfg, 0, &ta_ca);
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_TLS_ARENA);
    CHECK(wsproxy_send_buf(&client, &n) == NULL);
    cfg.tls_arena = arena;
    cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, NULL) - 1;
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_TLS_ARENA);
    cfg.proxy = "https://p:1";
    cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, cfg.proxy) - 1;
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_TLS_ARENA);
    cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
    CHECK(wsproxy_send_buf(&client, &n) != NULL && n > 0);   /* a ClientHello */
    CHECK(strcmp(wsproxy_connect_host(&client), "p") == 0);
    CHECK_EQ_INT(wsproxy_connect_port(&client), 1);

    TEST_CASE("a failed init with an https:// proxy produces no byte (no ClientHello)");
    {
        const char *bad_header[] = {"X-Bad: a\r\nInjected: b", NULL};
        cfg.proxy_headers = bad_header;
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_HEADER_INVALID);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
        cfg.proxy_headers = NULL;
        cfg.proxy = "https://user:pa%00ss@p:1";
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_URL_USERINFO);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
        cfg.proxy = "https://p:1";
        cfg.recv_buffer = arena;   /* any memory: too small a receive buffer */
        cfg.recv_buffer_len = 16;
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_BUFFER);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
        cfg.recv_buffer = NULL;
        cfg.recv_buffer_len = 0;
    }

    TEST_CASE("neutral options: a let-go trust is no trust; each thing given one way only");
    {
        wsproxy_tls_trust gone = ta_proxy_ca.trust;
        g_neutral = 1;
#ifdef WSPROXY_TLS_OPENSSL
        SSL_CTX_up_ref(ta_proxy_ca.trust.ctx_);   /* the copy's own reference, which it lets go of */
#endif
        wsproxy_tls_trust_free(&gone);
        arena_config(&cfg, "wss://h/", "https://p:1");
        cfg.proxy_tls.trust = &gone;
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_TLS_NO_ANCHORS);
        cfg.proxy_tls.trust = &ta_proxy_ca.trust;
        CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
#ifndef WSPROXY_TLS_OPENSSL
        {   /* BearSSL: its own API and the neutral one for the same thing are refused */
            static const unsigned char bytes[1] = {'B'};
            br_ssl_session_parameters sp;
            g_neutral = 0;
            arena_config(&cfg, "wss://h/", "https://p:1");
            cfg.tls.trust = &ta_ca.trust;
            CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_ARGUMENT);
            arena_config(&cfg, "wss://h/", "https://p:1");
            cfg.proxy_tls.client_chain = (const br_x509_certificate *)(const void *)bytes;   /* not read */
            cfg.proxy_tls.client_chain_len = 1;
            cfg.proxy_tls.identity = (const wsproxy_tls_identity *)(const void *)&sp;
            CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_ARGUMENT);
            arena_config(&cfg, "wss://h/", "https://p:1");
            memset(&sp, 0, sizeof sp);
            cfg.tls.resume = &sp;
            cfg.tls.session = bytes;
            cfg.tls.session_len = 1;
            CHECK_EQ_INT(client_init(&cfg), WSPROXY_E_ARGUMENT);
            g_neutral = 1;
            arena_config(&cfg, "wss://h/", NULL);
            cfg.tls.session = bytes;   /* bytes that are no session: a full handshake */
            cfg.tls.session_len = 1;
            CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
        }
#endif
        g_neutral = OSSL_CLIENT;
    }
}

/* A server that closes during the handshake, and the describe line. */
static void test_tls_cut(void)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    char msg[256];
    size_t n;
    TEST_CASE("connection closed during the TLS handshake");
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "wss://localhost/";
    cfg.proxy = "http://p:1";
    cfg.random = test_random;
    use_anchors(&cfg, 1, &ta_ca);
    cfg.tls_arena = arena;
    cfg.tls_arena_len = sizeof arena;
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
    wsproxy_send_ack(&client, wsproxy_send_buf(&client, &n) ? n : 0);
    wsproxy_feed(&client, "HTTP/1.1 200 OK\r\n\r\n", 19);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_TUNNEL);
    CHECK(wsproxy_send_buf(&client, &n) != NULL && n > 40);   /* the ClientHello, in the tunnel */
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_TLS_TUNNEL);
    CHECK_EQ_INT(wsproxy_error_info_get(&client)->tls_error, WSPROXY_TLS_ERR_CLOSED);
    wsproxy_describe(&client, msg, sizeof msg);
    CHECK(strstr(msg, "WSPROXY_E_TLS_TUNNEL") && strstr(msg, "closed during the TLS handshake"));

    TEST_CASE("bytes with the 200 go to the server's TLS engine");
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
    wsproxy_send_ack(&client, wsproxy_send_buf(&client, &n) ? n : 0);
    wsproxy_feed(&client, "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n", 55);
    while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR)
        CHECK(ev.type == WSPROXY_EV_TUNNEL);   /* never OPEN: those bytes are not plaintext */
    while (wsproxy_send_buf(&client, &n) && n) wsproxy_send_ack(&client, n);
    while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_TLS_TUNNEL);

    TEST_CASE("garbage instead of TLS");
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
    cfg.proxy = NULL;
    CHECK_EQ_INT(client_init(&cfg), WSPROXY_OK);
    /* nothing is read before the ClientHello has left: the verdict never depends on
       whether the caller flushed before reading */
    CHECK_EQ_INT((int)wsproxy_feed(&client, "HTTP/1.1 400 Bad Request\r\n\r\n", 28), 0);
    CHECK(wsproxy_recv_buf(&client, &n) == NULL && n == 0);
    while (wsproxy_send_buf(&client, &n) && n) wsproxy_send_ack(&client, n);
    CHECK((int)wsproxy_feed(&client, "HTTP/1.1 400 Bad Request\r\n\r\n", 28) > 0);
    while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
    CHECK_EQ_INT(ev.type, WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_TLS_TARGET);
    CHECK(wsproxy_error_info_get(&client)->tls_error != 0);
}

/* The pure functions: PEM bundles and the iPAddress SAN. */
/* The backend-neutral trust loader: the same answers with either backend, but for the
   memory it asks (BearSSL: the anchors in the caller's memory; OpenSSL: none). */
static void test_neutral_trust(void)
{
    static unsigned char mem[1 << 20];
    size_t len, klen, need = 1;
    char *pem = read_file(CERTS "target-chain.pem", &len), *key = read_file(CERTS "target.key", &klen), *mix;
    wsproxy_tls_trust t;
    FILE *f;
    TEST_CASE("neutral trust: sizes, then the anchors");
#ifdef WSPROXY_TLS_OPENSSL
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, pem, len, NULL, 0, &need), WSPROXY_OK);
    CHECK_EQ_INT(need, 0);
#else
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, pem, len, NULL, 0, &need), WSPROXY_E_PEM_SPACE);
    CHECK(need > 2 * sizeof(br_x509_trust_anchor) && need < 8192);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, pem, len, mem + 1, need - 1, &need), WSPROXY_E_PEM_SPACE);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, pem, len, mem + 1, need, &need), WSPROXY_OK);   /* aligned inside */
#endif
    CHECK_EQ_INT(t.count, 2);
    wsproxy_tls_trust_free(&t);
    CHECK_EQ_INT(t.count, 0);
    TEST_CASE("neutral trust: errors");
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, pem, len / 2, mem, sizeof mem, &need), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58,
                                       mem, sizeof mem, &need), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, "no pem here\n", 12, mem, sizeof mem, &need), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, key, klen, mem, sizeof mem, &need), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(NULL, pem, len, mem, sizeof mem, &need), WSPROXY_E_ARGUMENT);
    TEST_CASE("neutral trust: a key among the certificates is passed over");
    mix = (char *)malloc(len + klen);
    memcpy(mix, key, klen);
    memcpy(mix + klen, pem, len);
    CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, mix, len + klen, mem, sizeof mem, &need), WSPROXY_OK);
    CHECK_EQ_INT(t.count, 2);
    wsproxy_tls_trust_free(&t);
    free(mix);
    free(pem);
    free(key);
    TEST_CASE("neutral trust: the system's store");
#ifdef WSPROXY_TLS_OPENSSL
    CHECK_EQ_INT(wsproxy_tls_trust_system(&t), WSPROXY_OK);
    CHECK(t.system_ == 1);
    if ((f = fopen("/etc/ssl/certs/ca-certificates.crt", "rb")) != NULL) { fclose(f); CHECK(t.count > 50); }
#else
    CHECK_EQ_INT(wsproxy_tls_trust_system(&t), WSPROXY_E_UNSUPPORTED);
    CHECK_EQ_INT(t.count, 0);
#endif
    wsproxy_tls_trust_free(&t);
    if ((f = fopen("/etc/ssl/certs/ca-certificates.crt", "rb")) != NULL) {   /* the bundle, as PEM */
        fclose(f);
        TEST_CASE("neutral trust: the system bundle as PEM");
        pem = read_file("/etc/ssl/certs/ca-certificates.crt", &len);
        CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, pem, len, NULL, 0, &need), OSSL_CLIENT ? WSPROXY_OK : WSPROXY_E_PEM_SPACE);
        CHECK(need <= sizeof mem);
        wsproxy_tls_trust_free(&t);   /* OpenSSL loaded them already */
        CHECK_EQ_INT(wsproxy_tls_trust_pem(&t, pem, len, mem, sizeof mem, &need), WSPROXY_OK);
        CHECK(t.count > 50);
        wsproxy_tls_trust_free(&t);
        free(pem);
    }
}

static void test_pem_and_san(void)
{
    blob der[4];
    unsigned char v4[4] = {127, 0, 0, 1}, v4b[4] = {127, 0, 0, 2}, v6[16] = {0};
#ifndef WSPROXY_TLS_OPENSSL   /* BearSSL's anchors: the BearSSL build only */
    size_t len;
    char *pem;
    br_x509_trust_anchor tas[4];
    unsigned char mem[4096];
    wsproxy_pem_result r;
    pem = read_file(CERTS "target-chain.pem", &len);
    TEST_CASE("PEM sizes first, then fill");
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r), WSPROXY_E_PEM_SPACE);
    CHECK_EQ_INT(r.anchors, 2);
    CHECK(r.bytes_needed > 0 && r.bytes_needed < sizeof mem);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 2, mem, r.bytes_needed, &r), WSPROXY_OK);
    CHECK(tas[0].dn.data >= mem && tas[0].dn.data + tas[0].dn.len <= mem + r.bytes_needed);
    CHECK_EQ_INT(tas[0].flags & BR_X509_TA_CA, 0);                 /* the leaf */
    CHECK_EQ_INT(tas[1].flags & BR_X509_TA_CA, BR_X509_TA_CA);     /* the CA */
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 1, mem, sizeof mem, &r), WSPROXY_E_PEM_SPACE);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 2, mem, r.bytes_needed - 1, &r), WSPROXY_E_PEM_SPACE);
    TEST_CASE("PEM errors");
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len / 2, tas, 2, mem, sizeof mem, &r), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58,
                                           tas, 2, mem, sizeof mem, &r), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors("no pem here\n", 12, tas, 2, mem, sizeof mem, &r), WSPROXY_OK);
    CHECK_EQ_INT(r.anchors, 0);
    free(pem);
    pem = read_file(CERTS "target.key", &len);   /* a key, not a certificate: ignored */
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 2, mem, sizeof mem, &r), WSPROXY_OK);
    CHECK_EQ_INT(r.anchors, 0);
    free(pem);
    {
        FILE *f = fopen("/etc/ssl/certs/ca-certificates.crt", "rb");
        if (f) {   /* the system bundle, when the machine has one */
            br_x509_trust_anchor *many;
            unsigned char *m;
            fclose(f);
            TEST_CASE("system bundle");
            pem = read_file("/etc/ssl/certs/ca-certificates.crt", &len);
            CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r), WSPROXY_E_PEM_SPACE);
            CHECK(r.anchors > 50);
            many = (br_x509_trust_anchor *)malloc(r.anchors * sizeof *many);
            m = (unsigned char *)malloc(r.bytes_needed);
            CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, many, r.anchors, m, r.bytes_needed, &r), WSPROXY_OK);
            free(many); free(m); free(pem);
        }
    }
#endif
    test_neutral_trust();
    TEST_CASE("iPAddress SAN");
    pem_objects(CERTS "target.pem", der, 2);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 4), 1);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4b, 4), 0);
    v6[15] = 1;
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v6, 16), 1);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 3), -1);
    {
        size_t cut;
        int bad = 0;
        for (cut = 0; cut < der[0].len; cut++)   /* every truncation is malformed or no match */
            bad |= wsproxy_cert_ip_match(der[0].data, cut, v4, 4) == 1;
        CHECK(!bad);
    }
    free(der[0].data);
    pem_objects(CERTS "dns-only.pem", der, 2);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 4), 0);
    free(der[0].data);
    pem_objects(CERTS "ip-only.pem", der, 2);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 4), 1);
    free(der[0].data);
    CHECK(strcmp(wsproxy_tls_reason(BR_ERR_X509_NOT_TRUSTED), "certificate not trusted") == 0);
    CHECK(strcmp(wsproxy_tls_reason(BR_ERR_X509_EXPIRED), "certificate expired or not yet valid") == 0);
    CHECK(strcmp(wsproxy_tls_reason(BR_ERR_X509_BAD_SERVER_NAME), "certificate name mismatch") == 0);
}

int main(void)
{
    load_cred(&cred_target, "target", BR_KEYTYPE_RSA);
    load_cred(&cred_target_ec, "target-ec", BR_KEYTYPE_RSA);
    load_cred(&cred_proxy, "proxy", BR_KEYTYPE_EC);
    load_cred(&cred_expired, "expired", BR_KEYTYPE_RSA);
    load_cred(&cred_wrongname, "wrongname", BR_KEYTYPE_RSA);
    load_cred(&cred_untrusted, "untrusted", BR_KEYTYPE_RSA);
    load_cred(&cred_dns_only, "dns-only", BR_KEYTYPE_RSA);
    load_cred(&cred_ip_only, "ip-only", BR_KEYTYPE_RSA);
    load_anchors(&ta_ca, "ca");
    load_anchors(&ta_proxy_ca, "proxy-ca");
    load_anchors(&ta_untrusted_ca, "untrusted-ca");
    test_tls_config();
    test_pem_and_san();
    test_tls_cut();
    test_cells();
    test_burst();
    test_read_ahead();
    load_cred(&cred_sha1_leaf, "sha1-leaf", BR_KEYTYPE_RSA);
    load_cred(&cred_sha1_inter_leaf, "sha1-inter-leaf", BR_KEYTYPE_EC);
    load_cred(&cred_inter_leaf, "inter-leaf", BR_KEYTYPE_EC);
    load_cred(&cred_eku_client, "eku-client", BR_KEYTYPE_RSA);
    load_cred(&cred_eku_server, "eku-server", BR_KEYTYPE_RSA);
    load_cred(&cred_eku_any, "eku-any", BR_KEYTYPE_RSA);
    load_cred(&cred_eku_none, "eku-none", BR_KEYTYPE_RSA);
    test_policy();
    load_anchors(&ta_client_ca, "client-ca");
    br_ssl_session_cache_lru_init(&g_lru[0], g_lru_store[0], sizeof g_lru_store[0]);
    br_ssl_session_cache_lru_init(&g_lru[1], g_lru_store[1], sizeof g_lru_store[1]);
    test_mtls_and_resumption();
#ifndef WSPROXY_TLS_OPENSSL
    g_neutral = 1;   /* again through the backend-neutral API */
    test_mtls_and_resumption();
    g_neutral = 0;
#endif
    test_proxy_reconnect();
#ifdef TEST_OPENSSL_PEERS
    test_tls13();
    SSL_CTX_free(g_ossl_ctx[0]);
    SSL_CTX_free(g_ossl_ctx[1]);
#else
    printf("# TLS 1.3 cells not built: their servers are OpenSSL's (build with -DTEST_OPENSSL_PEERS -lssl -lcrypto)\n");
#endif
    wsproxy_tls_free(&client);
    return test_summary();
}
