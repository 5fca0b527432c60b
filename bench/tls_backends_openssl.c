/* bench/tls_backends.c's wsproxy.h client on OpenSSL (private copy: WSPROXY_STATIC) */
#define WSPROXY_STATIC
#define WSPROXY_TLS_OPENSSL
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"
#define BK_OPS bk_wsp_openssl
#define BK_NAME "wsproxy.h (OpenSSL)"
#include "tls_backends_wsp.inc"
