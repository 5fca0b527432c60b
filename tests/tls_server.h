/* BearSSL server engines in memory, for tests/test_tls.c and fuzz/fuzz_client_tls.c:
   server certificates and keys read from tests/certs with BearSSL's own decoders (apart
   from the library's PEM loader), a byte pipe, a server engine and its pump. Include
   after wsproxy.h (bearssl.h) and <stdio.h>, <stdlib.h>, <string.h>; run from the
   repository root. */
#ifndef WSPROXY_TESTS_TLS_SERVER_H
#define WSPROXY_TESTS_TLS_SERVER_H

#ifndef CERTS
#define CERTS "tests/certs/"

#endif

/* ---- loading PEM files for the server side (independent of the library's loader) ---- */
typedef struct { unsigned char *data; size_t len, cap; } blob;

static void blob_add(void *ctx, const void *p, size_t n)
{
    blob *b = (blob *)ctx;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = (unsigned char *)realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) { fprintf(stderr, "cannot open %s (run from the repository root)\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* Decodes every PEM object of a file into DER blobs. */
static size_t pem_objects(const char *path, blob *out, size_t max)
{
    size_t len, off = 0, count = 0;
    char *pem = read_file(path, &len);
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    while (off < len) {
        off += br_pem_decoder_push(&pc, pem + off, len - off);
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            memset(&out[count], 0, sizeof out[count]);
            br_pem_decoder_setdest(&pc, blob_add, &out[count]);
            break;
        case BR_PEM_END_OBJ:
            if (count + 1 < max) count++;
            break;
        default:
            break;
        }
    }
    free(pem);
    return count;
}

typedef struct {
    br_x509_certificate chain[4];
    size_t chain_len;
    br_skey_decoder_context key;
    int issuer_key_type;
    char name[32];                 /* tests/certs/NAME-chain.pem and NAME.key, for OpenSSL */
} server_cred;

static void load_cred(server_cred *sc, const char *name, int issuer_key_type)
{
    char path[256];
    blob objs[4], key[2];
    size_t i, n;
    snprintf(path, sizeof path, CERTS "%s-chain.pem", name);
    n = pem_objects(path, objs, 4);
    for (i = 0; i < n; i++) {
        sc->chain[i].data = objs[i].data;
        sc->chain[i].data_len = objs[i].len;
    }
    sc->chain_len = n;
    snprintf(path, sizeof path, CERTS "%s.key", name);
    pem_objects(path, key, 2);
    br_skey_decoder_init(&sc->key);
    br_skey_decoder_push(&sc->key, key[0].data, key[0].len);
    free(key[0].data);
    sc->issuer_key_type = issuer_key_type;
    snprintf(sc->name, sizeof sc->name, "%s", name);
}

/* ---- a byte pipe and a server engine ------------------------------------------------ */
typedef struct { unsigned char buf[1 << 18]; size_t len; } pipe_t;

static void pipe_put(pipe_t *p, const void *d, size_t n)
{
    if (p->len + n > sizeof p->buf) { fprintf(stderr, "pipe overflow\n"); exit(2); }
    memcpy(p->buf + p->len, d, n);
    p->len += n;
}
static void pipe_drop(pipe_t *p, size_t n)
{
    memmove(p->buf, p->buf + n, p->len - n);
    p->len -= n;
}

typedef struct {
    br_ssl_server_context sc;
    br_x509_minimal_context xc;    /* checks a client certificate, when one is asked */
    unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
    const char *alpn[1];
    int on;
#ifdef TEST_OPENSSL_PEERS
    SSL *ossl;                     /* test_tls: an OpenSSL server instead (server_opts.ossl) */
    BIO *rbio, *wbio;
    int ossl_failed;
    int ossl_silent;               /* a failing handshake sends no alert, the server just hangs up */
#endif
} tls_server;

/* What a server engine is started with beyond its certificate. Zero (or NULL): BearSSL's
   full profile, no client certificate, no session cache. */
typedef struct {
    const uint16_t *suites;
    size_t nsuites;
    const br_x509_trust_anchor *client_tas;   /* ask for a client certificate from this CA */
    size_t client_tas_n;
    const br_ssl_session_cache_class **cache; /* keep sessions, so they can be resumed */
    int ossl;                                 /* test_tls: an OpenSSL server, 12 TLS 1.2 and
                                                 1.3, 13 TLS 1.3 only */
    int ossl_silent;                          /* its failure: no alert, a plain hang-up */
} server_opts;

/* seed: the engine's entropy, 32 bytes of that value (the operating system's is mixed in
   too unless br_prng_seeder_system is replaced, as fuzz/fuzz_client_tls.c does). A client
   certificate is checked at TEST_DAYS when the includer defines it. */
static void bearssl_server_start(tls_server *s, server_cred *cred, const server_opts *o, unsigned char seed)
{
    const br_skey_decoder_context *k = &cred->key;
    unsigned char entropy[32];
    if (br_skey_decoder_key_type(k) == BR_KEYTYPE_RSA)
        br_ssl_server_init_full_rsa(&s->sc, cred->chain, cred->chain_len, br_skey_decoder_get_rsa(k));
    else
        br_ssl_server_init_full_ec(&s->sc, cred->chain, cred->chain_len, (unsigned)cred->issuer_key_type,
                                   br_skey_decoder_get_ec(k));
    br_ssl_engine_set_buffer(&s->sc.eng, s->iobuf, sizeof s->iobuf, 1);
    s->alpn[0] = "http/1.1";
    br_ssl_engine_set_protocol_names(&s->sc.eng, s->alpn, 1);
    if (o && o->suites) br_ssl_engine_set_suites(&s->sc.eng, o->suites, o->nsuites);
    if (o && o->client_tas) {
        br_x509_minimal_init_full(&s->xc, o->client_tas, o->client_tas_n);
#ifdef TEST_DAYS
        br_x509_minimal_set_time(&s->xc, TEST_DAYS, 0);
#endif
        br_ssl_engine_set_x509(&s->sc.eng, &s->xc.vtable);
        br_ssl_engine_set_default_rsavrfy(&s->sc.eng);
        br_ssl_engine_set_default_ecdsa(&s->sc.eng);
        br_ssl_server_set_trust_anchor_names_alt(&s->sc, o->client_tas, o->client_tas_n);
    }
    if (o && o->cache) br_ssl_server_set_cache(&s->sc, o->cache);
    memset(entropy, seed, sizeof entropy);
    br_ssl_engine_inject_entropy(&s->sc.eng, entropy, sizeof entropy);
    br_ssl_server_reset(&s->sc);
    s->on = 1;
}

/* Moves bytes through a server engine: records in/out, plaintext in/out. */
static int bearssl_server_pump(tls_server *s, pipe_t *rec_in, pipe_t *rec_out, pipe_t *app_in, pipe_t *app_out)
{
    br_ssl_engine_context *e = &s->sc.eng;
    int any = 0, progress = 1;
    while (progress) {
        unsigned char *p;
        size_t n;
        progress = 0;
        if (br_ssl_engine_current_state(e) == BR_SSL_CLOSED) {
            /* a failed engine still sends its alert; then the connection ends */
            if ((p = br_ssl_engine_sendrec_buf(e, &n)) != NULL) {
                pipe_put(rec_out, p, n); br_ssl_engine_sendrec_ack(e, n); any = 1;
            }
            break;
        }
        if (rec_in->len && (p = br_ssl_engine_recvrec_buf(e, &n)) != NULL) {
            if (n > rec_in->len) n = rec_in->len;
            memcpy(p, rec_in->buf, n); br_ssl_engine_recvrec_ack(e, n); pipe_drop(rec_in, n); progress = 1;
        }
        if ((p = br_ssl_engine_recvapp_buf(e, &n)) != NULL) {
            pipe_put(app_in, p, n); br_ssl_engine_recvapp_ack(e, n); progress = 1;
        }
        if (app_out->len && (p = br_ssl_engine_sendapp_buf(e, &n)) != NULL) {
            if (n > app_out->len) n = app_out->len;
            memcpy(p, app_out->buf, n); br_ssl_engine_sendapp_ack(e, n); pipe_drop(app_out, n);
            br_ssl_engine_flush(e, 0); progress = 1;
        }
        if ((p = br_ssl_engine_sendrec_buf(e, &n)) != NULL) {
            pipe_put(rec_out, p, n); br_ssl_engine_sendrec_ack(e, n); progress = 1;
        }
        any |= progress;
    }
    return any;
}

/* The smallest caller buffers a cell allows, exactly sized on the heap so that an overrun
   crashes under ASan: a 512-byte receive buffer, and a 512-byte send buffer when the
   socket's stage is plain, none when a TLS stage is the socket's. The caller frees both. */
static void smallest_buffers(wsproxy_config *cfg, int plain_socket, unsigned char **rbuf, unsigned char **sbuf)
{
    *rbuf = (unsigned char *)malloc(512);
    *sbuf = (unsigned char *)malloc(plain_socket ? 512 : 1);
    cfg->recv_buffer = *rbuf;
    cfg->recv_buffer_len = 512;
    cfg->send_buffer = *sbuf;
    cfg->send_buffer_len = plain_socket ? 512 : 0;
}

#endif
