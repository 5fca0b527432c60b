/* Proxy authentication (issue 14): the challenge parser, Digest against RFC 7616's published
   examples, and the 407 loop in memory against a scripted proxy written for this test
   (its Digest check is its own: hashes from BearSSL, the rest independent of the
   library's code), each exchange fed whole, one byte at a time and in random splits. */
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"
#ifdef WSPROXY_TLS_OPENSSL
#include <bearssl.h>   /* the library's hashes are OpenSSL's there; the proxy's stay BearSSL's */
#endif
#include "test.h"



/* ---- the challenge parser ------------------------------------------------------------- */
static void test_challenges(void)
{
    wsproxy_auth_challenge ch;
    size_t pos = 0, n;
    char out[128];
    const char *v;
    TEST_CASE("several challenges in one header");
    v = "Basic realm=\"a, b\", Digest realm=\"r\\\"q\", nonce=abc, qop=\"auth,auth-int\", Negotiate, NTLM TlRMTVNTUAACAAAA+/==";
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK(ch.scheme_len == 5 && memcmp(ch.scheme, "Basic", 5) == 0 && !ch.token68);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "REALM", out, sizeof out, &n), 1);
    CHECK(n == 4 && strcmp(out, "a, b") == 0);   /* a comma inside quotes is not a separator */
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK(ch.scheme_len == 6 && memcmp(ch.scheme, "Digest", 6) == 0);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "realm", out, sizeof out, &n), 1);
    CHECK(strcmp(out, "r\"q") == 0);   /* the escape taken out */
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "nonce", out, sizeof out, &n), 1);
    CHECK(strcmp(out, "abc") == 0);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "qop", out, sizeof out, &n), 1);
    CHECK(strcmp(out, "auth,auth-int") == 0);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "opaque", out, sizeof out, &n), 0);
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK(ch.scheme_len == 9 && !ch.token68 && !ch.params);
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK(ch.scheme_len == 4 && ch.token68 && ch.token68_len == 20 && memcmp(ch.token68, "TlRMTVNTUAACAAAA+/==", 20) == 0);
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 0);

    TEST_CASE("unknown parameters and schemes pass through");
    v = "NewScheme foo=bar, Digest realm=x, nonce=y, future-param=\"z\", Negotiate YII=";
    pos = 0;
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK(ch.scheme_len == 9);
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "future-param", out, sizeof out, &n), 1);
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK(ch.token68 && ch.token68_len == 4);
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 0);

    TEST_CASE("malformed challenges");
    {
        static const char *const bad[] = {"Digest realm=\"open", "Digest realm=a b", "=x", "Digest realm=\"a\" nonce=b",
                                          "Digest ,realm=", "Basic realm=\"a\"\"b\""};
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            int r = 1;
            pos = 0;
            while (r == 1) r = wsproxy_auth_next(bad[i], strlen(bad[i]), &pos, &ch);
            if (r == 0 && ch.params) r = wsproxy_auth_param(&ch, "realm", out, sizeof out, &n) < 0 ? -1 : 0;
            CHECK_EQ_INT(r, -1);
        }
    }
    TEST_CASE("\"Digest realm=\" is a token68 by the grammar, not a parameter");
    v = "Digest realm=";
    pos = 0;
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK(ch.token68 && ch.token68_len == 6 && !ch.params);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "realm", out, sizeof out, &n), 0);

    TEST_CASE("a parameter too long for the buffer, or with CR");
    v = "Digest realm=\"0123456789\", nonce=\"a\\\rb\"";
    pos = 0;
    CHECK_EQ_INT(wsproxy_auth_next(v, strlen(v), &pos, &ch), 1);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "realm", out, 8, &n), -2);
    CHECK_EQ_INT(wsproxy_auth_param(&ch, "nonce", out, sizeof out, &n), -1);
}

/* ---- Digest: RFC 7616 3.9.1 and our own vectors (computed with Python's hashlib) ------ */
static void test_digest_vectors(void)
{
    wsproxy_digest d;
    char out[65];
    TEST_CASE("RFC 7616 3.9.1, MD5 and SHA-256");
    memset(&d, 0, sizeof d);
    d.algorithm = WSPROXY_DIGEST_MD5;
    d.qop = 1;
    d.username = "Mufasa";
    d.username_len = 6;
    d.password = "Circle of Life";
    d.password_len = 14;
    d.realm = "http-auth@example.org";
    d.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    d.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    d.method = "GET";
    d.uri = "/dir/index.html";
    d.nc = 1;
    CHECK_EQ_INT(wsproxy_digest_response(&d, out), WSPROXY_OK);
    CHECK(strcmp(out, "8ca523f5e9506fed4657c9700eebdbec") == 0);
    d.algorithm = WSPROXY_DIGEST_SHA256;
    CHECK_EQ_INT(wsproxy_digest_response(&d, out), WSPROXY_OK);
    CHECK(strcmp(out, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1") == 0);

    TEST_CASE("-sess, the legacy form, auth-int (own vectors)");
    d.realm = "http-auth@example.org";
    d.nonce = "nonceX";
    d.cnonce = "cnonceY";
    d.method = "CONNECT";
    d.uri = "example.com:443";
    d.nc = 2;
    d.algorithm = WSPROXY_DIGEST_MD5_SESS;
    CHECK_EQ_INT(wsproxy_digest_response(&d, out), WSPROXY_OK);
    CHECK(strcmp(out, "2f6f53bd6f0f71e6db4a3e567dcf19fe") == 0);
    d.algorithm = WSPROXY_DIGEST_SHA256_SESS;
    CHECK_EQ_INT(wsproxy_digest_response(&d, out), WSPROXY_OK);
    CHECK(strcmp(out, "b88ed0375f7d744ce6ab42dd69eb5135e353f029c02e177bd474a435c14656fa") == 0);
    d.algorithm = WSPROXY_DIGEST_MD5;
    d.qop = 0;
    CHECK_EQ_INT(wsproxy_digest_response(&d, out), WSPROXY_OK);
    CHECK(strcmp(out, "7dc71aa8f640fbb57d098137032be15d") == 0);
    d.algorithm = WSPROXY_DIGEST_SHA256;
    d.qop = 2;
    d.nc = 1;
    CHECK_EQ_INT(wsproxy_digest_response(&d, out), WSPROXY_OK);
    CHECK(strcmp(out, "0eabd42ac9cee3786c8146e5d93bd9eaa5ab8a90af2cc6368f0faec217657367") == 0);

    TEST_CASE("userhash (RFC 7616 3.4.4) with SHA-256; -sess without cnonce refused");
    CHECK_EQ_INT(wsproxy_digest_userhash(WSPROXY_DIGEST_SHA256, "J\xc3\xa4s\xc3\xb8n Doe", 11, "api@example.org", out), WSPROXY_OK);
    CHECK(strcmp(out, "5a1a8a47df5c298551b9b42ba9b05835174a5bd7d511ff7fe9191d8e946fc4e7") == 0);
    d.algorithm = WSPROXY_DIGEST_MD5_SESS;
    d.cnonce = NULL;
    CHECK_EQ_INT(wsproxy_digest_response(&d, out), WSPROXY_E_ARGUMENT);
}

/* ---- the 407 loop, against a scripted proxy ---------------------------------------------- */
/* The proxy: each CONNECT head it receives is checked by the scenario and answered. */
typedef struct {
    const char *name;
    int (*answer)(int round, int conn, const char *head, char *reply, size_t cap);
} scenario;

static char g_user[64] = "Mufasa", g_pass[64] = "Circle of Life";
static int g_close_next;
static char g_log[4096];

/* Independent Digest check: the proxy's own computation of the expected response. */
static void hex_of(const unsigned char *d, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}
static void h_md5(const char *s, char out[33])
{
    br_md5_context h;
    unsigned char d[16];
    br_md5_init(&h);
    br_md5_update(&h, s, strlen(s));
    br_md5_out(&h, d);
    hex_of(d, 16, out);
}
static void h_sha256(const char *s, char out[65])
{
    br_sha256_context h;
    unsigned char d[32];
    br_sha256_init(&h);
    br_sha256_update(&h, s, strlen(s));
    br_sha256_out(&h, d);
    hex_of(d, 32, out);
}

/* The value of a Digest parameter in a Proxy-Authorization head line (quoted or not). */
static int dparam(const char *head, const char *name, char *out, size_t cap)
{
    const char *h = strstr(head, "Proxy-Authorization: Digest ");
    char key[40];
    const char *p;
    size_t n = 0;
    if (!h) return 0;
    snprintf(key, sizeof key, " %s=", name);
    p = strstr(h, key);
    if (!p || p > strstr(h, "\r\n")) return 0;
    p += strlen(key);
    if (*p == '"') {
        for (p++; *p && *p != '"' && n + 1 < cap; p++) {
            if (*p == '\\') p++;
            out[n++] = *p;
        }
    } else {
        while (*p && *p != ',' && *p != '\r' && n + 1 < cap) out[n++] = *p++;
    }
    out[n] = 0;
    return 1;
}

static int digest_ok(const char *head, const char *realm, const char *nonce, int sha256)
{
    char user[128], r[128], nn[128], uri[128], qop[16], nc[16], cn[64], resp[80], a1[512], ha1[65], ha2[65], want[65], buf[1024];
    if (!dparam(head, "username", user, sizeof user) || !dparam(head, "realm", r, sizeof r) ||
        !dparam(head, "nonce", nn, sizeof nn) || !dparam(head, "uri", uri, sizeof uri) ||
        !dparam(head, "response", resp, sizeof resp))
        return 0;
    if (strcmp(user, g_user) || strcmp(r, realm) || strcmp(nn, nonce) || strcmp(uri, "example.com:443")) return 0;
    snprintf(a1, sizeof a1, "%s:%s:%s", g_user, realm, g_pass);
    if (sha256) h_sha256(a1, ha1); else h_md5(a1, ha1);
    if (sha256) h_sha256("CONNECT:example.com:443", ha2); else h_md5("CONNECT:example.com:443", ha2);
    if (dparam(head, "qop", qop, sizeof qop)) {
        if (!dparam(head, "nc", nc, sizeof nc) || !dparam(head, "cnonce", cn, sizeof cn)) return 0;
        snprintf(buf, sizeof buf, "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cn, qop, ha2);
    } else {
        snprintf(buf, sizeof buf, "%s:%s:%s", ha1, nonce, ha2);
    }
    if (sha256) h_sha256(buf, want); else h_md5(buf, want);
    return strcmp(want, resp) == 0;
}

#define R407(extra, body) "HTTP/1.1 407 Proxy Authentication Required\r\n" extra body
static int s_digest(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn;
    if (round == 1) {
        if (strstr(head, "Proxy-Authorization")) return -1;   /* more than Basic allowed: wait for the challenge */
        snprintf(reply, cap, R407("Proxy-Authenticate: Basic realm=\"b\"\r\n"
                                  "Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\", qop=\"auth\", opaque=\"op\\\"q\"\r\n"
                                  "Content-Length: 23\r\n\r\n", "HTTP/1.1 200 Fake\r\n\r\nxx"));
        return 0;
    }
    if (!digest_ok(head, "wsp", "n1", 0) || !strstr(head, "opaque=\"op\\\"q\"") || !strstr(head, "nc=00000001")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 Connection established\r\n\r\n");
    return 0;
}
static int s_digest_sha256_stale_chunked(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn;
    if (round == 1) {
        snprintf(reply, cap, R407("Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"old\", algorithm=MD5, qop=auth, "
                                  "Digest realm=\"wsp\", nonce=\"old\", algorithm=SHA-256, qop=auth\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n",
                                  "5;ext=1\r\nHTTP/\r\n1a\r\n1.1 200 OK\r\n\r\nzzzzzzzzzzz\r\n0\r\nX-Trailer: t\r\n\r\n"));
        return 0;
    }
    if (round == 2) {
        if (!digest_ok(head, "wsp", "old", 1) || !strstr(head, "algorithm=SHA-256")) return -1;
        snprintf(reply, cap, R407("Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"new\", algorithm=SHA-256, qop=auth, stale=true\r\n"
                                  "Content-Length: 0\r\n\r\n", ""));
        return 0;
    }
    if (!digest_ok(head, "wsp", "new", 1) || !strstr(head, "nc=00000001")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}
static int s_close_after_407(int round, int conn, const char *head, char *reply, size_t cap)
{
    if (round == 1) {
        snprintf(reply, cap, R407("Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\"\r\nConnection: close\r\n"
                                  "Content-Length: 3\r\n\r\n", "abc"));
        g_close_next = 1;
        return 0;
    }
    if (conn != 2 || !digest_ok(head, "wsp", "n1", 0) || strstr(head, "qop=")) return -1;   /* legacy, new connection */
    snprintf(reply, cap, "HTTP/1.0 200 OK\r\n\r\n");
    return 0;
}
static int s_ntlm(int round, int conn, const char *head, char *reply, size_t cap)
{
    if (conn != 1) return -1;   /* NTLM: one connection */
    if (round == 1) {
        if (!strstr(head, "Proxy-Authorization: NTLM dHlwZTE=\r\n")) return -1;   /* type1 from the callback */
        snprintf(reply, cap, R407("Proxy-Authenticate: NTLM Y2hhbGxlbmdl\r\nContent-Length: 0\r\n\r\n", ""));
        return 0;
    }
    if (!strstr(head, "Proxy-Authorization: NTLM dHlwZTM6Y2hhbGxlbmdl\r\n")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}
static int s_negotiate(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn;
    if (round == 1) {
        if (strstr(head, "Proxy-Authorization")) return -1;
        snprintf(reply, cap, R407("Proxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\n"
                                  "Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n", ""));
        return 0;
    }
    if (!strstr(head, "Proxy-Authorization: Negotiate bmVnMQ==\r\n")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\nProxy-Authenticate: Negotiate bXV0dWFs\r\n\r\n");
    return 0;
}
static int s_rejected(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head;
    snprintf(reply, cap, R407("Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n%d\", qop=auth\r\nContent-Length: 0\r\n\r\n", ""), round);
    return 0;
}
static int s_only_negotiate(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head; (void)round;
    snprintf(reply, cap, R407("Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n", ""));
    return 0;
}
static int s_ntlm_forever(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head;
    snprintf(reply, cap, R407("Proxy-Authenticate: NTLM cm91bmQ%d\r\nContent-Length: 0\r\n\r\n", ""), round);
    return 0;
}
static int s_basic_first(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn;
    if (round != 1 || !strstr(head, "Proxy-Authorization: Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl\r\n")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}
static int s_http10_silent(int round, int conn, const char *head, char *reply, size_t cap)
{
    if (round == 1) {   /* HTTP/1.0, no keep-alive, no length: the body ends with the close */
        snprintf(reply, cap, "HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\nbody until close");
        g_close_next = 1;
        return 0;
    }
    if (conn != 2 || !strstr(head, "Proxy-Authorization: Basic ")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}

static int s_unknown_only(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head; (void)round;
    snprintf(reply, cap, R407("Proxy-Authenticate: Bearer realm=\"corp\"\r\nContent-Length: 0\r\n\r\n", ""));
    return 0;
}
static int s_bad_chunk(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head; (void)round;
    snprintf(reply, cap, R407("Proxy-Authenticate: Basic realm=\"x\"\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\n"));
    return 0;
}
static int s_no_challenge(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head; (void)round;
    snprintf(reply, cap, R407("Content-Length: 0\r\n\r\n", ""));
    return 0;
}
static int s_ntlm_challenge(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head;
    if (round != 1) return -1;
    snprintf(reply, cap, R407("Proxy-Authenticate: NTLM Y2hhbGxlbmdl\r\nContent-Length: 0\r\n\r\n", ""));
    return 0;
}
static int s_huge_body(int round, int conn, const char *head, char *reply, size_t cap)
{
    if (round == 1) {   /* a body too large to read through: the client asks for a new connection */
        snprintf(reply, cap, R407("Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 99999999999\r\n\r\n", "x"));
        return 0;
    }
    if (conn != 2 || !strstr(head, "Proxy-Authorization: Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl\r\n")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}

static int s_negotiate_or_digest(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn;
    if (round == 1) {
        snprintf(reply, cap, R407("Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\", qop=auth\r\n"
                                  "Content-Length: 0\r\n\r\n", ""));
        return 0;
    }
    if (!digest_ok(head, "wsp", "n1", 0)) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}
static int s_digest_only(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn; (void)head; (void)round;
    snprintf(reply, cap, R407("Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\"\r\nContent-Length: 0\r\n\r\n", ""));
    return 0;
}
static int s_silent_after_407(int round, int conn, const char *head, char *reply, size_t cap)
{
    if (round == 1) {   /* keep-alive 407 ... */
        snprintf(reply, cap, R407("Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\"\r\nContent-Length: 0\r\n\r\n", ""));
        return 0;
    }
    if (round == 2) return conn == 1 ? 1 : -1;   /* ... then the answer on it is a silent close */
    if (conn != 2 || !digest_ok(head, "wsp", "n1", 0)) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}

static int s_mixed_case(int round, int conn, const char *head, char *reply, size_t cap)
{
    (void)conn;
    if (round == 1) {   /* scheme names are case-insensitive (RFC 9110 11.1) */
        snprintf(reply, cap, R407("Proxy-Authenticate: bAsIc REALM=\"x\"\r\nContent-Length: 0\r\n\r\n", ""));
        return 0;
    }
    if (!strstr(head, "Proxy-Authorization: Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl\r\n")) return -1;
    snprintf(reply, cap, "HTTP/1.1 200 OK\r\n\r\n");
    return 0;
}

/* The caller's token callback: a script of its own. */
static int token_calls;
static int test_token(void *ctx, int scheme, const char *chal, size_t len, const char **tok, size_t *tok_len)
{
    static char buf[128];
    (void)ctx;
    token_calls++;
    if (scheme == WSPROXY_AUTH_NTLM) {
        if (len == 0) strcpy(buf, "dHlwZTE=");   /* "type1" */
        else if (len == 12 && memcmp(chal, "Y2hhbGxlbmdl", 12) == 0) strcpy(buf, "dHlwZTM6Y2hhbGxlbmdl");
        else strcpy(buf, "bW9yZQ==");
    } else if (scheme == WSPROXY_AUTH_NEGOTIATE) {
        if (len) return -1;
        strcpy(buf, "bmVnMQ==");
    } else {
        return -1;
    }
    *tok = buf;
    *tok_len = strlen(buf);
    return 0;
}
static int long_token(void *ctx, int scheme, const char *chal, size_t len, const char **tok, size_t *tok_len)
{
    static char buf[4060];   /* within the limit alone, not with the rest of the head */
    (void)ctx; (void)scheme; (void)chal;
    memset(buf, 'A', sizeof buf);
    *tok = buf;
    *tok_len = len ? sizeof buf : 8;
    return 0;
}
static int failing_token(void *ctx, int scheme, const char *chal, size_t len, const char **tok, size_t *tok_len)
{
    (void)ctx; (void)scheme; (void)chal; (void)len; (void)tok; (void)tok_len;
    return -1;
}

/* Runs one scenario: the client's bytes go to the scripted proxy in pieces per mode. */
static wsproxy_client client;
static size_t g_unanswered;   /* request bytes written after the last reply, when the loop ended */
static const char *run_loop(const scenario *sc, wsproxy_config *cfg, int mode, int *reconnects)
{
    static char result[256];
    char head[4096], reply[2048];
    size_t hlen = 0, rlen = 0, roff = 0;
    int round = 0, conn = 1, guard;
    wsproxy_event ev;
    *reconnects = 0;
    g_close_next = 0;
    g_log[0] = 0;
    test_rng_pos = 0;
    token_calls = 0;
    g_unanswered = 0;
    if (wsproxy_init(&client, cfg) != WSPROXY_OK) {
        snprintf(result, sizeof result, "init %s", wsproxy_strerror(wsproxy_error(&client)));
        return result;
    }
    for (guard = 0; guard < 100000; guard++) {
        const unsigned char *out;
        size_t n;
        int progress = 0;
        while ((out = wsproxy_send_buf(&client, &n)) != NULL && n) {
            if (hlen + n >= sizeof head) return "request too large";
            memcpy(head + hlen, out, n);
            hlen += n;
            head[hlen] = 0;
            wsproxy_send_ack(&client, n);
            progress = 1;
        }
        if (hlen && strstr(head, "\r\n\r\n") && roff == rlen && !g_close_next) {
            round++;
            int a = sc->answer(round, conn, head, reply, sizeof reply);
            if (a == 1) {   /* the proxy hangs up without a word */
                reply[0] = 0;
                g_close_next = 1;
            } else if (a != 0) {
                snprintf(result, sizeof result, "proxy refused round %d: %.60s", round, head);
                return result;
            }
            rlen = strlen(reply);
            roff = 0;
            hlen = 0;
            progress = 1;
        }
        if (roff < rlen) {
            size_t want = rlen - roff, took;
            if (mode == 1) want = 1;
            else if (mode == 2) { size_t k = 1 + (size_t)(test_rand() % 17); if (k < want) want = k; }
            took = wsproxy_feed(&client, reply + roff, want);
            roff += took;
            progress |= took > 0;
        } else if (g_close_next == 1) {
            wsproxy_socket_closed(&client, 0);   /* the proxy hangs up after its reply */
            g_close_next = 2;
            progress = 1;
        }
        while (wsproxy_poll(&client, &ev)) {
            progress = 1;
            if (ev.type == WSPROXY_EV_RECONNECT) {
                (*reconnects)++;
                CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_RECONNECT);
                CHECK(wsproxy_send_buf(&client, &n) == NULL);
                conn++;
                hlen = 0;
                rlen = roff = 0;
                g_close_next = 0;
                CHECK_EQ_INT(wsproxy_reconnected(&client), WSPROXY_OK);
                CHECK_EQ_INT(wsproxy_reconnected(&client), WSPROXY_E_STATE);
            } else if (ev.type == WSPROXY_EV_TUNNEL) {
                snprintf(result, sizeof result, "TUNNEL %d after %d rounds, %d connections, %d counted", ev.status, round,
                         conn, wsproxy_error_info_get(&client)->auth_rounds);
                return result;
            } else if (ev.type == WSPROXY_EV_ERROR) {
                const wsproxy_error_info *info = wsproxy_error_info_get(&client);
                if (info->code == WSPROXY_E_PROXY_AUTH_SCHEME)   /* what the message lists */
                    snprintf(result, sizeof result, "ERROR %s offered %d", wsproxy_strerror(info->code), info->auth_offered);
                else
                    snprintf(result, sizeof result, "ERROR %s", wsproxy_strerror(info->code));
                g_unanswered = hlen;
                return result;
            }
        }
        if (!progress) return "stalled";
    }
    return "looped";
}

static void run_scenario(const scenario *sc, int allowed, int (*tok)(void *, int, const char *, size_t, const char **, size_t *),
                         const char *expect, int expect_reconnects)
{
    int mode;
    for (mode = 0; mode < 3; mode++) {
        wsproxy_config cfg;
        static unsigned char arena[WSPROXY_TLS_ARENA_BYTES(1)];
        char name[160];
        int rc;
        const char *got;
        snprintf(name, sizeof name, "%s (%s)", sc->name, mode == 0 ? "whole" : mode == 1 ? "byte" : "random");
        TEST_CASE(name);
        test_seed(5 + (uint64_t)mode);
        memset(&cfg, 0, sizeof cfg);
        cfg.url = "ws://example.com:443/";
        cfg.proxy = "http://proxy.test:3128";
        cfg.random = test_fixed_random;
        cfg.proxy_auth = allowed;
        cfg.proxy_user = g_user;
        cfg.proxy_password = g_pass;
        cfg.proxy_token = tok;
        cfg.tls_arena = arena;
        cfg.tls_arena_len = sizeof arena;
        got = run_loop(sc, &cfg, mode, &rc);
        if (strcmp(got, expect) != 0) fprintf(stderr, "  [%s] expected: %s\n  got: %s\n", name, expect, got);
        CHECK(strcmp(got, expect) == 0);
        CHECK_EQ_INT(rc, expect_reconnects);
        if (strncmp(expect, "ERROR", 5) == 0) CHECK_EQ_INT((int)g_unanswered, 0);   /* no request after the failing reply */
    }
}

static void test_loop(void)
{
    static const scenario digest = {"Digest preferred over Basic, body skipped, opaque echoed", s_digest};
    static const scenario sha = {"Digest SHA-256 chosen over MD5, chunked body, stale nonce retried", s_digest_sha256_stale_chunked};
    static const scenario closing = {"Connection: close after the 407: a new connection, legacy Digest", s_close_after_407};
    static const scenario ntlm = {"NTLM: type 1, challenge, type 3 on one connection", s_ntlm};
    static const scenario neg = {"Negotiate preferred over NTLM and Basic", s_negotiate};
    static const scenario rejected = {"credentials rejected", s_rejected};
    static const scenario only_neg = {"only schemes not allowed", s_only_negotiate};
    static const scenario forever = {"a token exchange that never ends", s_ntlm_forever};
    static const scenario basic = {"Basic alone: sent with the first CONNECT", s_basic_first};
    static const scenario http10 = {"HTTP/1.0 407, body until the close: a new connection", s_http10_silent};
    run_scenario(&digest, WSPROXY_AUTH_ANY, NULL, "TUNNEL 200 after 2 rounds, 1 connections, 2 counted", 0);
    run_scenario(&sha, WSPROXY_AUTH_DIGEST, NULL, "TUNNEL 200 after 3 rounds, 1 connections, 3 counted", 0);
    run_scenario(&closing, WSPROXY_AUTH_BASIC | WSPROXY_AUTH_DIGEST, NULL, "TUNNEL 200 after 2 rounds, 2 connections, 2 counted", 1);
    run_scenario(&ntlm, WSPROXY_AUTH_NTLM, test_token, "TUNNEL 200 after 2 rounds, 1 connections, 2 counted", 0);
    run_scenario(&neg, WSPROXY_AUTH_ANY, test_token, "TUNNEL 200 after 2 rounds, 1 connections, 2 counted", 0);
    run_scenario(&rejected, WSPROXY_AUTH_DIGEST, NULL, "ERROR WSPROXY_E_PROXY_AUTH_REJECTED", 0);
    run_scenario(&only_neg, WSPROXY_AUTH_BASIC | WSPROXY_AUTH_DIGEST, NULL, "ERROR WSPROXY_E_PROXY_AUTH_SCHEME offered 12", 0);
    run_scenario(&only_neg, WSPROXY_AUTH_ANY, NULL, "ERROR WSPROXY_E_PROXY_AUTH", 0);   /* allowed, but no token callback */
    run_scenario(&only_neg, WSPROXY_AUTH_ANY, failing_token, "ERROR WSPROXY_E_PROXY_AUTH_TOKEN", 0);
    run_scenario(&forever, WSPROXY_AUTH_NTLM, test_token, "ERROR WSPROXY_E_PROXY_AUTH_ROUNDS", 0);
    run_scenario(&basic, 0, NULL, "TUNNEL 200 after 1 rounds, 1 connections, 1 counted", 0);
    run_scenario(&http10, WSPROXY_AUTH_BASIC | WSPROXY_AUTH_NEGOTIATE, NULL, "TUNNEL 200 after 2 rounds, 2 connections, 2 counted", 1);
    {
        static const scenario unknown = {"only a scheme unknown here", s_unknown_only};
        static const scenario bad_chunk = {"a 407 whose chunked body is malformed", s_bad_chunk};
        static const scenario huge = {"a 407 body too large to skip: a new connection", s_huge_body};
        run_scenario(&unknown, WSPROXY_AUTH_ANY, test_token, "ERROR WSPROXY_E_PROXY_AUTH_SCHEME offered 16", 0);
        run_scenario(&bad_chunk, WSPROXY_AUTH_BASIC | WSPROXY_AUTH_DIGEST, NULL, "ERROR WSPROXY_E_PROXY_BAD_REPLY", 0);
        run_scenario(&huge, WSPROXY_AUTH_BASIC | WSPROXY_AUTH_DIGEST, NULL, "TUNNEL 200 after 2 rounds, 2 connections, 2 counted", 1);
        run_scenario(&ntlm, WSPROXY_AUTH_NTLM, failing_token, "init WSPROXY_E_PROXY_AUTH_TOKEN", 0);
    }
    {
        static const scenario none = {"Basic sent first, a 407 offering nothing: rejected", s_no_challenge};
        static const scenario too_long = {"a token that makes the next CONNECT too large", s_ntlm_challenge};
        run_scenario(&none, 0, NULL, "ERROR WSPROXY_E_PROXY_AUTH_REJECTED", 0);
        run_scenario(&too_long, WSPROXY_AUTH_NTLM, long_token, "ERROR WSPROXY_E_REQUEST_TOO_LARGE", 0);
    }
    {
        static const scenario fallback = {"a failed Negotiate token gives way to Digest", s_negotiate_or_digest};
        static const scenario not_offered = {"Basic sent first, the proxy offers only Digest", s_digest_only};
        static const scenario silent = {"a silent close after a 407: the unanswered request does not count", s_silent_after_407};
        run_scenario(&fallback, WSPROXY_AUTH_ANY, failing_token, "TUNNEL 200 after 2 rounds, 1 connections, 2 counted", 0);
        run_scenario(&not_offered, 0, NULL, "ERROR WSPROXY_E_PROXY_AUTH_SCHEME offered 2", 0);
        run_scenario(&silent, WSPROXY_AUTH_DIGEST, NULL, "TUNNEL 200 after 3 rounds, 2 connections, 2 counted", 1);
    }
    {
        static const scenario mixed = {"a scheme name in odd case", s_mixed_case};
        run_scenario(&mixed, WSPROXY_AUTH_BASIC | WSPROXY_AUTH_DIGEST, NULL, "TUNNEL 200 after 2 rounds, 1 connections, 2 counted", 0);
    }

    TEST_CASE("a 407 whose chunked body never ends: stopped at WSPROXY_MAX_AUTH_BODY_BYTES");
    {
        wsproxy_config cfg;
        wsproxy_event ev;
        static char chunk[4096 + 16];
        const char *head = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";
        size_t n, fed = 0;
        int err = 0, k;
        memset(&cfg, 0, sizeof cfg);
        cfg.url = "ws://example.com:443/";
        cfg.proxy = "http://proxy.test:3128";
        cfg.random = test_fixed_random;
        cfg.proxy_auth = WSPROXY_AUTH_BASIC | WSPROXY_AUTH_DIGEST;
        cfg.proxy_user = g_user;
        cfg.proxy_password = g_pass;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        while (wsproxy_send_buf(&client, &n) && n) wsproxy_send_ack(&client, n);
        wsproxy_feed(&client, head, strlen(head));
        memcpy(chunk, "1000\r\n", 6);
        memset(chunk + 6, 'z', 4096);
        memcpy(chunk + 6 + 4096, "\r\n", 2);
        for (k = 0; k < 400 && !err; k++) {   /* 1.6 MB of chunks, more than the limit */
            size_t off = 0;
            while (off < 4096 + 8 && !err) {
                size_t took = wsproxy_feed(&client, chunk + off, 4096 + 8 - off);
                off += took;
                fed += took;
                while (wsproxy_poll(&client, &ev))
                    if (ev.type == WSPROXY_EV_ERROR) err = wsproxy_error(&client);
                while (wsproxy_send_buf(&client, &n) && n) wsproxy_send_ack(&client, n);
                if (!took && !err) break;
            }
        }
        CHECK_EQ_INT(err, WSPROXY_E_PROXY_REPLY_TOO_LARGE);
        CHECK(fed <= WSPROXY_MAX_AUTH_BODY_BYTES + 2 * (4096 + 8) + 1024);
    }
    TEST_CASE("scheme names");
    CHECK(strcmp(wsproxy_auth_name(WSPROXY_AUTH_NEGOTIATE), "Negotiate") == 0);
    CHECK(strcmp(wsproxy_auth_name(WSPROXY_AUTH_OTHER), "other") == 0);
    CHECK(wsproxy_auth_name(3) == NULL);
}

int main(void)
{
    test_challenges();
    test_digest_vectors();
    test_loop();
    return test_summary();
}
