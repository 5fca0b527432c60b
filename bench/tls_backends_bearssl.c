/* bench/tls_backends.c's wsproxy.h client on BearSSL (private copy: WSPROXY_STATIC) */
#define WSPROXY_STATIC
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"
#define BK_OPS bk_wsp_bearssl
#define BK_NAME "wsproxy.h (BearSSL)"
#include "tls_backends_wsp.inc"
