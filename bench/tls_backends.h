/* bench/tls_backends.h: one interface for every client bench/tls_backends.c compares: the
   wsproxy.h client on BearSSL and on OpenSSL (bench/tls_backends_wsp.inc, compiled once per
   backend with WSPROXY_STATIC so both live in one program), a bare BearSSL engine and bare
   OpenSSL with memory BIOs. All run in memory against the same OpenSSL servers. */
#ifndef BENCH_TLS_BACKENDS_H
#define BENCH_TLS_BACKENDS_H
#include <stddef.h>

typedef struct {
    const char *url, *proxy;          /* the wsproxy.h cells; the bare clients: direct only */
    const char *ca_pem, *proxy_ca_pem;   /* trust, PEM text */
    size_t ca_len, proxy_ca_len;
    const unsigned char *session;     /* the server hop's bytes from an earlier connection */
    size_t session_len;               /* (resumption), or NULL */
    const unsigned char *proxy_session;   /* the proxy hop's (wsproxy.h cells) */
    size_t proxy_session_len;
} bk_conf;

typedef struct {
    const char *name;
    void *(*open)(const bk_conf *conf);
    size_t (*drain)(void *c, unsigned char *out, size_t cap);   /* what it has to send */
    int (*feed)(void *c, const unsigned char *in, size_t n);    /* bytes from the server; -1: failed */
    int (*is_open)(void *c);                                    /* the WebSocket is open */
    int (*send)(void *c, const unsigned char *m, size_t n);     /* one binary message; 0 ok */
    long (*echoes)(void *c);                                    /* whole messages back so far */
    size_t (*save)(void *c, int proxy_hop, unsigned char *out, size_t cap);   /* a hop's session, or 0 */
    int (*resumed)(void *c);
    size_t (*fixed_bytes)(void *c);   /* memory of its own: struct, arena, buffers */
    void (*close)(void *c);
} bk_ops;

extern const bk_ops bk_wsp_bearssl, bk_wsp_openssl;
#endif
