/* wsproxy_url_parse, wsproxy_percent_decode, wsproxy_parse_ipv4, wsproxy_parse_ipv6.
   Invariants:
   - url_parse returns OK or a URL code; on success every slice lies inside the input,
     the port is 1..65535 (the scheme's default when none is written), the host type
     agrees with the address parsers, and writing the URL back out from its parts parses
     to the same parts (round trip);
   - percent_decode never writes past cap, never yields CR/LF/NUL, inverts an encoder;
   - parse_ipv4 agrees with glibc inet_pton(AF_INET) and accepts only the canonical
     dotted quad; parse_ipv6 agrees with inet_pton(AF_INET6) and its output round-trips
     through inet_ntop.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 2300 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include "fuzz_common.h"

static const unsigned default_port[] = {0, 80, 443, 1080, 443, 1080, 1080, 1080, 1080};
static const char *const scheme_name[] = {"", "ws", "wss", "http", "https", "socks4",
                                          "socks4a", "socks5", "socks5h"};

static int is_url_code(int rc)
{
    return rc == WSPROXY_E_URL_SYNTAX || rc == WSPROXY_E_URL_SCHEME || rc == WSPROXY_E_URL_HOST ||
           rc == WSPROXY_E_URL_PORT || rc == WSPROXY_E_URL_FRAGMENT || rc == WSPROXY_E_URL_CHAR ||
           rc == WSPROXY_E_URL_USERINFO || rc == WSPROXY_E_URL_TOO_LONG;
}

static void check_url(const char *s, size_t len)
{
    wsproxy_url u, v;
    int rc = wsproxy_url_parse(s, len, &u);
    char out[WSPROXY_MAX_URL_BYTES + 64];
    size_t n = 0, i;
    FUZZ_CHECK(rc == WSPROXY_OK || is_url_code(rc));
    if (len > WSPROXY_MAX_URL_BYTES) FUZZ_CHECK(rc == WSPROXY_E_URL_TOO_LONG);
    if (rc != WSPROXY_OK) return;
    FUZZ_CHECK(u.scheme >= WSPROXY_SCHEME_WS && u.scheme <= WSPROXY_SCHEME_SOCKS5H);
    FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
    FUZZ_CHECK(u.port_explicit == 0 || u.port_explicit == 1);
    if (!u.port_explicit) FUZZ_CHECK(u.port == default_port[u.scheme]);
    FUZZ_CHECK(u.host_len > 0 && u.host_len <= 253 + 2);
    FUZZ_CHECK(fuzz_inside(u.host, u.host_len, s, len));
    FUZZ_CHECK(fuzz_inside(u.path, u.path_len, s, len));
    FUZZ_CHECK(u.path + u.path_len == s + len);   /* path and query run to the end */
    FUZZ_CHECK(u.path_len == 0 || u.path[0] == '/' || u.path[0] == '?');
    for (i = 0; i < u.path_len; i++) FUZZ_CHECK(u.path[i] != '#');
    for (i = 0; i < len; i++) FUZZ_CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7F);
    if (u.user) {
        FUZZ_CHECK(u.scheme != WSPROXY_SCHEME_WS && u.scheme != WSPROXY_SCHEME_WSS);
        FUZZ_CHECK(fuzz_inside(u.user, u.user_len, s, len));
        FUZZ_CHECK(u.user + u.user_len <= u.host);
    } else {
        FUZZ_CHECK(u.password == NULL && u.user_len == 0);
    }
    if (u.password) {
        FUZZ_CHECK(u.user != NULL);
        FUZZ_CHECK(fuzz_inside(u.password, u.password_len, s, len));
        FUZZ_CHECK(u.password + u.password_len <= u.host);
    }
    if (u.scheme != WSPROXY_SCHEME_WS && u.scheme != WSPROXY_SCHEME_WSS)
        FUZZ_CHECK(u.path_len == 0 || (u.path_len == 1 && u.path[0] == '/'));
    switch (u.host_type) {
    case WSPROXY_HOST_IPV4: {
        unsigned char a[4];
        FUZZ_CHECK(wsproxy_parse_ipv4(u.host, u.host_len, a) == 1);
        break;
    }
    case WSPROXY_HOST_IPV6: {
        unsigned char a[16];
        FUZZ_CHECK(wsproxy_parse_ipv6(u.host, u.host_len, a) == 1);
        FUZZ_CHECK(u.host > s && u.host[-1] == '[');
        FUZZ_CHECK(u.host + u.host_len < s + len && u.host[u.host_len] == ']');
        break;
    }
    case WSPROXY_HOST_NAME: {
        unsigned char a[4];
        FUZZ_CHECK(wsproxy_parse_ipv4(u.host, u.host_len, a) == 0);
        for (i = 0; i < u.host_len; i++) {
            int ch = (unsigned char)u.host[i];
            FUZZ_CHECK((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                       (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~');
        }
        break;
    }
    default:
        FUZZ_CHECK(0);
    }
    /* write it back: scheme://[user[:password]@]host[:port]path */
#define PUT(p, k) do { FUZZ_CHECK(n + (k) <= sizeof out); memcpy(out + n, (p), (k)); n += (k); } while (0)
    PUT(scheme_name[u.scheme], strlen(scheme_name[u.scheme]));
    PUT("://", 3);
    if (u.user) {
        PUT(u.user, u.user_len);
        if (u.password) { PUT(":", 1); PUT(u.password, u.password_len); }
        PUT("@", 1);
    }
    if (u.host_type == WSPROXY_HOST_IPV6) PUT("[", 1);
    PUT(u.host, u.host_len);
    if (u.host_type == WSPROXY_HOST_IPV6) PUT("]", 1);
    if (u.port_explicit) {
        char port[8];
        int k = snprintf(port, sizeof port, ":%u", u.port);
        PUT(port, (size_t)k);
    }
    PUT(u.path, u.path_len);
#undef PUT
    if (n > WSPROXY_MAX_URL_BYTES) return;   /* the added scheme may push it over */
    {
        char *copy = (char *)fuzz_dup(out, n);
        FUZZ_CHECK(wsproxy_url_parse(copy, n, &v) == WSPROXY_OK);
        FUZZ_CHECK(v.scheme == u.scheme && v.port == u.port && v.port_explicit == u.port_explicit);
        FUZZ_CHECK(v.host_type == u.host_type && v.host_len == u.host_len &&
                   memcmp(v.host, u.host, u.host_len) == 0);
        FUZZ_CHECK(v.path_len == u.path_len && memcmp(v.path, u.path, u.path_len) == 0);
        FUZZ_CHECK((v.user == NULL) == (u.user == NULL) && v.user_len == u.user_len &&
                   (!u.user || memcmp(v.user, u.user, u.user_len) == 0));
        FUZZ_CHECK((v.password == NULL) == (u.password == NULL) && v.password_len == u.password_len &&
                   (!u.password || memcmp(v.password, u.password, u.password_len) == 0));
        free(copy);
    }
    /* credentials as the client decodes them */
    if (u.user) {
        char dec[WSPROXY_MAX_CREDENTIAL_BYTES];
        size_t dl = 12345;
        int d = wsproxy_percent_decode(u.user, u.user_len, dec, sizeof dec, &dl);
        FUZZ_CHECK(d == WSPROXY_OK || d == WSPROXY_E_URL_USERINFO);
        FUZZ_CHECK(dl <= u.user_len && dl <= sizeof dec);
        if (d != WSPROXY_OK) FUZZ_CHECK(dl == 0);
    }
}

static void check_percent(const unsigned char *p, size_t len, size_t cap)
{
    char *out = (char *)malloc(cap ? cap : 1), enc[3 * 256 + 1] = {0};
    size_t olen = 999999, i, k = 0, back = 0;
    int rc = wsproxy_percent_decode((const char *)p, len, out, cap, &olen);
    FUZZ_CHECK(rc == WSPROXY_OK || rc == WSPROXY_E_URL_USERINFO);
    if (rc == WSPROXY_OK) {
        FUZZ_CHECK(olen <= cap && olen <= len);
        for (i = 0; i < olen; i++) FUZZ_CHECK(out[i] != '\r' && out[i] != '\n' && out[i] != '\0');
    } else {
        FUZZ_CHECK(olen == 0);
    }
    /* an encoder's output decodes back to the bytes (CR, LF, NUL are refused) */
    if (len <= 256) {
        int bad = 0;
        char *dec = (char *)malloc(len ? len : 1);
        for (i = 0; i < len; i++) {
            static const char hex[] = "0123456789ABCDEF";
            if (p[i] == '\r' || p[i] == '\n' || p[i] == 0) bad = 1;
            enc[k++] = '%'; enc[k++] = hex[p[i] >> 4]; enc[k++] = hex[p[i] & 15];
        }
        rc = wsproxy_percent_decode(enc, k, dec, len, &back);
        if (bad) FUZZ_CHECK(rc == WSPROXY_E_URL_USERINFO);
        else FUZZ_CHECK(rc == WSPROXY_OK && back == len && (len == 0 || memcmp(dec, p, len) == 0));
        free(dec);
    }
    free(out);
}

static void check_ip(const char *s, size_t len)
{
    unsigned char a4[4], b4[4], a6[16], b6[16];
    char z[64], text[64];
    int r4 = wsproxy_parse_ipv4(s, len, a4), r6 = wsproxy_parse_ipv6(s, len, a6), p4, p6;
    FUZZ_CHECK(r4 == 0 || r4 == 1);
    FUZZ_CHECK(r6 == 0 || r6 == 1);
    if (len >= sizeof z) { FUZZ_CHECK(!r4); return; }
    memcpy(z, s, len);
    z[len] = '\0';
    p4 = strlen(z) == len && inet_pton(AF_INET, z, b4) == 1;
    p6 = strlen(z) == len && inet_pton(AF_INET6, z, b6) == 1;
    FUZZ_CHECK(r4 == p4);
    if (r4) {
        FUZZ_CHECK(memcmp(a4, b4, 4) == 0);
        snprintf(text, sizeof text, "%u.%u.%u.%u", a4[0], a4[1], a4[2], a4[3]);
        FUZZ_CHECK(strlen(text) == len && memcmp(text, s, len) == 0);   /* only canonical */
    }
    FUZZ_CHECK(r6 == p6);
    if (r6) {
        FUZZ_CHECK(memcmp(a6, b6, 16) == 0);
        FUZZ_CHECK(inet_ntop(AF_INET6, a6, text, sizeof text) != NULL);
        FUZZ_CHECK(wsproxy_parse_ipv6(text, strlen(text), b6) == 1 && memcmp(a6, b6, 16) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    if (size < 1) return 0;
    s = (char *)fuzz_dup(data + 1, size - 1);
    switch (data[0] & 3) {
    case 0:   /* as written */
        check_url(s, size - 1);
        break;
    case 1: { /* as a ws:// URL with the input as authority and path */
        size_t n = size - 1 < 2100 ? size - 1 : 2100;
        char *u = (char *)malloc(n + 5);
        memcpy(u, "ws://", 5);
        memcpy(u + 5, s, n);
        check_url(u, n + 5);
        free(u);
        break;
    }
    case 2: { /* as an http:// proxy URL */
        size_t n = size - 1 < 2100 ? size - 1 : 2100;
        char *u = (char *)malloc(n + 7);
        memcpy(u, "http://", 7);
        memcpy(u + 7, s, n);
        check_url(u, n + 7);
        free(u);
        break;
    }
    default:
        check_percent((const unsigned char *)s, size - 1, (size_t)(data[0] >> 2));
        break;
    }
    check_ip(s, size - 1);
    free(s);
    return 0;
}
