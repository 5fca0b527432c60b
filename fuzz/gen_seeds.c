/* Writes the seed corpus of every fuzz target: fuzz/seeds/fuzz_NAME/NAME-OF-SEED.
   Known-good and known-bad inputs, small. Run from the repository root (it reads the
   test certificates in tests/certs/):  make fuzz-seeds   (or build/fuzz/gen_seeds DIR)
   Seeds are committed; rerun this after changing it and commit the result. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;
static int written;

static void mkdirs(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) { perror(dir); exit(1); }
}

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) { perror(path); exit(1); }
    written++;
}

/* prefix bytes + text */
static void put2(const char *target, const char *name, const void *pre, size_t plen,
                 const void *body, size_t blen)
{
    unsigned char *b = (unsigned char *)malloc(plen + blen + 1);
    memcpy(b, pre, plen);
    memcpy(b + plen, body, blen);
    put(target, name, b, plen + blen);
    free(b);
}
#define PUTS(t, n, pre, s) put2((t), (n), (pre), sizeof(pre) - 1, (s), sizeof(s) - 1)

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (!f) { fprintf(stderr, "gen_seeds: cannot open %s (run from the repository root)\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (char *)malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

/* The first PEM object's base64 body decoded (our own decoder). */
static unsigned char *pem_to_der(const char *pem, size_t *out_len)
{
    const char *p = strstr(pem, "-----BEGIN"), *e;
    unsigned char *out;
    unsigned v = 0;
    int bits = 0;
    size_t o = 0;
    if (!p) exit(1);
    p = strchr(p, '\n') + 1;
    e = strstr(p, "-----END");
    out = (unsigned char *)malloc((size_t)(e - p));
    for (; p < e; p++) {
        const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *k = strchr(abc, *p);
        if (!k || !*p) continue;
        v = v << 6 | (unsigned)(k - abc);
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (unsigned char)(v >> bits); }
    }
    *out_len = o;
    return out;
}

#define ACCEPT_101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {A}\r\n\r\n"

static void http_seeds(void)
{
    const char *t = "fuzz_http_response";
    static const char cap_max[] = "\x00", cap_small[] = "\x82";
    char big[9000];
    size_t i, n;
    PUTS(t, "101", cap_max, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    PUTS(t, "200-then-data", cap_max, "HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\nHTTP/1.1 101");
    PUTS(t, "http10-noreason", cap_max, "HTTP/1.0 200\r\n\r\n");
    PUTS(t, "407", cap_max, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"r\"\r\n"
                            "Proxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n");
    PUTS(t, "bare-lf", cap_max, "HTTP/1.1 200 OK\nA: b\n\n");
    PUTS(t, "obs-fold", cap_max, "HTTP/1.1 200 OK\r\nA: b\r\n  folded\r\n\r\n");
    PUTS(t, "interim", cap_max, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
    PUTS(t, "cap-small", cap_small, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    PUTS(t, "bad-status", cap_max, "HTTP/1.1 2000 OK\r\n\r\n");
    PUTS(t, "bad-version", cap_max, "HTTP/2.0 200 OK\r\n\r\n");
    PUTS(t, "not-http", cap_max, "SSH-2.0-OpenSSH_9.0\r\n");
    PUTS(t, "cr-alone", cap_max, "HTTP/1.1 200 OK\rX: y\r\n\r\n");
    PUTS(t, "nul-in-value", cap_max, "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n");
    PUTS(t, "space-before-colon", cap_max, "HTTP/1.1 200 OK\r\nX : y\r\n\r\n");
    PUTS(t, "empty-value", cap_max, "HTTP/1.1 200 OK\r\nX:\r\nY: \t \r\n\r\n");
    PUTS(t, "incomplete", cap_max, "HTTP/1.1 200 OK\r\nX: y\r\n");
    /* challenges (wsproxy_auth_next/_param, Digest responses) */
    PUTS(t, "407-digest-rfc7616", cap_max, "HTTP/1.1 407 Proxy Authentication Required\r\n"
         "Proxy-Authenticate: Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
         "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"\r\n"
         "Proxy-Authenticate: Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
         "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"\r\n"
         "Content-Length: 0\r\n\r\n");
    PUTS(t, "407-digest-sess-userhash", cap_max, "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"api@example.org\", "
         "qop=auth, algorithm=SHA-256-sess, nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", charset=UTF-8, "
         "userhash=true, cnonce=\"NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v\", username=\"J\\\"s\\\\n\", stale=TRUE\r\n\r\n");
    PUTS(t, "407-digest-legacy-md5sess", cap_max, "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=wsp, nonce=n1, "
         "algorithm=MD5-sess\r\nProxy-Authenticate: Digest realm=wsp, nonce=n1, qop=auth-int, algorithm=md5-SESS, uri=\"h:1\"\r\n"
         "Proxy-Authenticate: Digest realm=wsp, nonce=n1, qop=bogus, algorithm=SHA-512\r\n\r\n");
    PUTS(t, "407-many-in-one", cap_max, "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"a, b\", "
         "Digest realm=\"r\\\"q\", nonce=abc, qop=\"auth,auth-int\", Negotiate, NTLM TlRMTVNTUAACAAAA+/==, "
         "NewScheme foo=bar, future-param=\"z\" ,, Negotiate YII=\r\nWWW-Authenticate: Bearer realm=\"corp\", "
         "error=\"invalid_token\"\r\n\r\n");
    PUTS(t, "407-malformed", cap_max, "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"open\r\n"
         "Proxy-Authenticate: Digest realm=a b\r\nProxy-Authenticate: =x\r\nProxy-Authenticate: Digest ,realm=\r\n"
         "Proxy-Authenticate: Digest realm=\r\nProxy-Authenticate: Basic realm=\"a\"\"b\"\r\n\r\n");
    PUTS(t, "raw-challenge-crlf", "\x81", "Digest realm=\"a\\\rb\", nonce=\"x\ny\", opaque=\"\0\", qop=auth, Basic realm=z");

    n = (size_t)sprintf(big, "%cHTTP/1.1 200 OK\r\n", 0);
    for (i = 0; i < 65; i++) n += (size_t)sprintf(big + n, "H%zu: v\r\n", i);
    n += (size_t)sprintf(big + n, "\r\n");
    put(t, "65-headers", big, n);
    n = (size_t)sprintf(big, "%cHTTP/1.1 200 OK\r\nX: ", 0);
    memset(big + n, 'a', 4100);
    n += 4100;
    memcpy(big + n, "\r\n\r\n", 4);
    put(t, "long-line", big, n + 4);
}

static void frame_seeds(void)
{
    const char *t = "fuzz_frame";
    put(t, "text5", "\x81\x05hello", 7);
    put(t, "bin126", "\x82\x7e\x00\x7e", 4);
    put(t, "bin64k", "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    put(t, "len63", "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10);
    put(t, "topbit", "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10);
    put(t, "nonminimal16", "\x82\x7e\x00\x05", 4);
    put(t, "nonminimal64", "\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05", 10);
    put(t, "ping", "\x89\x02hi", 4);
    put(t, "ping-126", "\x89\x7e\x00\x7e", 4);
    put(t, "close-nofin", "\x08\x02\x03\xe8", 4);
    put(t, "masked", "\x81\x85\x01\x02\x03\x04" "abcde", 11);
    put(t, "rsv1", "\xc1\x00", 2);
    put(t, "opcode3", "\x83\x00", 2);
    put(t, "opcode11", "\x8b\x00", 2);
    put(t, "continuation", "\x00\x03" "abc\x80\x00", 6);
}

static void utf8_seeds(void)
{
    const char *t = "fuzz_utf8";
    PUTS(t, "ascii", "\x00", "hello, world");
    PUTS(t, "mixed", "\x11", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xEF\xBF\xBF");
    PUTS(t, "overlong2", "\x22", "a\xC0\xAF");
    PUTS(t, "overlong3", "\x33", "\xE0\x80\xAF");
    PUTS(t, "overlong4", "\x44", "\xF0\x80\x80\xAF");
    PUTS(t, "surrogate", "\x55", "ok\xED\xA0\x80");
    PUTS(t, "over10ffff", "\x66", "\xF4\x90\x80\x80");
    PUTS(t, "f5", "\x77", "\xF5\x80\x80\x80");
    PUTS(t, "truncated", "\x88", "abc\xE2\x82");
    PUTS(t, "lone-cont", "\x99", "\x80");
    PUTS(t, "long-ascii-then-bad", "\xaa", "0123456789abcdef0123456789abcdef0123456789\xff");
}

static void url_seeds(void)
{
    const char *t = "fuzz_url";
    PUTS(t, "ws", "\x00", "ws://example.com/chat?x=1");
    PUTS(t, "wss-port", "\x00", "wss://example.com:8443/");
    PUTS(t, "ipv6", "\x00", "ws://[2001:db8::1]:9000/a");
    PUTS(t, "ipv4-mapped", "\x00", "ws://[::ffff:192.0.2.1]/");
    PUTS(t, "proxy-cred", "\x00", "http://us%40er:p%3Ass@proxy.local:3128");
    PUTS(t, "proxy-bare", "\x00", "proxy.local:8080");
    PUTS(t, "socks5h", "\x00", "socks5h://u:p@127.0.0.1:1080/");
    PUTS(t, "upper", "\x00", "WS://10.0.0.1:81/x/y");
    PUTS(t, "fragment", "\x00", "ws://h/#f");
    PUTS(t, "port0", "\x00", "ws://h:0/");
    PUTS(t, "port-big", "\x00", "ws://h:65536/");
    PUTS(t, "cred-in-ws", "\x00", "ws://u:p@h/");
    PUTS(t, "bad-v6", "\x00", "ws://[1::2::3]/");
    PUTS(t, "numeric-host", "\x00", "ws://01.2.3.4/");
    PUTS(t, "authority", "\x01", "h.example:81/p?q");
    PUTS(t, "proxy-auth", "\x02", "user:pa%3Ass@127.0.0.1:3128/");
    PUTS(t, "proxy-bad-escape", "\x02", "u:%zz@h");
    PUTS(t, "percent", "\x83", "pa%3Ass%40%25");
    PUTS(t, "percent-crlf", "\xff", "a%0d%0ab");
    PUTS(t, "v4", "\x00", "255.255.255.255");
    PUTS(t, "v6-full", "\x00", "1:2:3:4:5:6:7:8");
    PUTS(t, "v6-v4", "\x00", "1:2:3:4:5:6:1.2.3.4");
}

static void pem_seeds(void)
{
    const char *t = "fuzz_pem", *files[] = {"ca.pem", "proxy-ca.pem", "target-ec-chain.pem"};
    size_t i, len, dlen;
    char name[64];
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[128], *pem;
        snprintf(path, sizeof path, "tests/certs/%s", files[i]);
        pem = slurp(path, &len);
        snprintf(name, sizeof name, "pem-%s", files[i]);
        put2(t, name, "\x00", 1, pem, len);
        if (i < 2) {
            unsigned char *der = pem_to_der(pem, &dlen);
            snprintf(name, sizeof name, "der-%s", files[i]);
            put2(t, name, "\x01", 1, der, dlen);
            free(der);
        }
        free(pem);
    }
    PUTS(t, "key-only", "\x00", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    PUTS(t, "truncated", "\x00", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    PUTS(t, "garbage-der", "\x01", "\x30\x03\x02\x01\x00");
}

static void cert_ip_seeds(void)
{
    const char *t = "fuzz_cert_ip";
    size_t len, dlen;
    char *pem;
    unsigned char *der;
    pem = slurp("tests/certs/ip-only.pem", &len);
    der = pem_to_der(pem, &dlen);
    put2(t, "v4-match", "\x01\x7f\x00\x00\x01", 5, der, dlen);
    put2(t, "v4-nomatch", "\x01\x0a\x09\x09\x09", 5, der, dlen);
    free(pem); free(der);
    pem = slurp("tests/certs/target-ec.pem", &len);
    der = pem_to_der(pem, &dlen);
    put2(t, "v6-match", "\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 17, der, dlen);
    put2(t, "bad-iplen", "\x0f\x7f\x00\x00", 4, der, dlen);
    free(pem); free(der);
    pem = slurp("tests/certs/dns-only.pem", &len);
    der = pem_to_der(pem, &dlen);
    put2(t, "dns-only", "\x01\x7f\x00\x00\x01", 5, der, dlen);
    free(pem); free(der);
}

/* Client scripts are built from server bytes (0xFF doubled, as the target expects) and
   caller actions (0xFF, a letter, always 3 argument bytes). */
static unsigned char script[8192];
static size_t script_len;
static void cs_begin(unsigned flags, unsigned param, unsigned seed)
{
    script[0] = (unsigned char)flags; script[1] = (unsigned char)param; script[2] = (unsigned char)seed;
    script_len = 3;
}
static void cs_srv(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        script[script_len++] = (unsigned char)s[i];
        if ((unsigned char)s[i] == 0xFF) script[script_len++] = 0xFF;
    }
}
#define SRV(lit) cs_srv((lit), sizeof(lit) - 1)
static void cs_act(char letter, unsigned a0, unsigned a1, unsigned a2)
{
    script[script_len++] = 0xFF;
    script[script_len++] = (unsigned char)letter;
    script[script_len++] = (unsigned char)a0;
    script[script_len++] = (unsigned char)a1;
    script[script_len++] = (unsigned char)a2;
}
static void cs_end(const char *name) { put("fuzz_client", name, script, script_len); }
/* The auth block (fuzz/client_harness.h) of fuzz_client (after the header, with flag bit 7
   and an HTTP proxy) and fuzz_client_tls (after its fourth byte, with flag bit 7): byte 0
   the schemes allowed (bits 0-3, 0 Basic alone), the credentials (bits 4-5: 0 none, 1 URL,
   2 cfg.proxy_user/password over other ones in the URL, 3 a UTF-8 user name), a token
   callback (64), the caller's own Proxy-Authorization (128); then the token script, one
   byte a call: t & 7 = 0 fails, 1 empty, 2 NULL, 3 a bad byte, 4 (t >> 3) * 140
   characters, 5-7 t >> 3 characters and 0-2 '='. */
enum { A_BASIC = 1, A_DIGEST = 2, A_NTLM = 4, A_NEG = 8, A_ANY = 15, C_URL = 0x10, C_CFG = 0x20, C_UTF8 = 0x30,
       A_TOKEN = 0x40, A_CALLER = 0x80 };
static void cs_auth(unsigned b0, const char *tokens, size_t n)
{
    script[script_len++] = (unsigned char)b0;
    script[script_len++] = (unsigned char)n;
    memcpy(script + script_len, tokens, n);
    script_len += n;
}
#define AUTH(b0, toks) cs_auth((b0), (toks), sizeof(toks) - 1)

/* fuzz_client_tls: a fourth header byte (certificates, small buffers, IP hosts); with
   flag bit 7 an auth block follows (credentials in the URL unless ct_begin_auth says) */
static void ct_begin_auth(unsigned flags, unsigned param, unsigned seed, unsigned tls, unsigned auth,
                          const char *tokens, size_t n)
{
    cs_begin(flags, param, seed);
    script[script_len++] = (unsigned char)tls;
    if (flags & 0x80) cs_auth(auth, tokens, n);
}
static void ct_begin(unsigned flags, unsigned param, unsigned seed, unsigned tls)
{
    ct_begin_auth(flags, param, seed, tls, C_URL, "", 0);
}
static void ct_end(const char *name) { put("fuzz_client_tls", name, script, script_len); }

static void client_seeds(void)
{
    /* header: flags, parameter, chunk seed. flags: 0-1 tunnel (0 direct, 1 http proxy,
       2 http proxy with credentials, 3 SOCKS slot), 4 reassembly, 8 small max_message,
       16 subprotocols, 32 random fails, 64 recv_buf/recv_ack */
    cs_begin(0x00, 0, 7); SRV(ACCEPT_101 "\x81\x05" "hello\x89\x02" "hi\x88\x02\x03\xe8"); cs_end("direct-echo");
    cs_begin(0x00, 0, 0); SRV(ACCEPT_101 "\x82\x7e\x00\x80" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    cs_end("direct-whole-segments");
    cs_begin(0x01, 0, 5); SRV("HTTP/1.1 200 Connection established\r\n\r\n" ACCEPT_101 "\x81\x02" "ok\x88\x00"); cs_end("proxy-200");
    cs_begin(0x01, 0, 0); SRV("HTTP/1.0 200 OK\r\n\r\n" ACCEPT_101 "\x81\x01" "x"); cs_end("proxy-200-101-same-read");
    cs_begin(0x01, 0, 3); SRV("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n" ACCEPT_101); cs_end("proxy-interim");
    cs_begin(0x02, 0, 9); SRV("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n");
    cs_end("proxy-auth-407");
    cs_begin(0x42, 0, 11); SRV("HTTP/1.1 200 OK\r\n\r\n" ACCEPT_101 "\x01\x03" "abc\x89\x00\x80\x03" "def"); cs_end("proxy-auth-ok");
    cs_begin(0x01, 0, 2); SRV("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nhello"); cs_end("proxy-502");
    cs_begin(0x00, 0, 4);
    SRV("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n");
    cs_end("handshake-bad-accept");
    cs_begin(0x10, 0, 6);
    SRV("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: {A}\r\n\r\n\x81\x00");
    cs_end("handshake-protocol");
    cs_begin(0x00, 0, 6);
    SRV("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Accept: {A}\r\n\r\n");
    cs_end("handshake-extension");
    cs_begin(0x04, 0x10, 1); SRV(ACCEPT_101 "\x01\x02" "h\xC3\x89\x01" "p\x00\x01\xA9\x80\x00\x88\x00"); cs_end("fragments-reassembly");
    cs_begin(0x00, 0, 3); SRV(ACCEPT_101 "\x81\x04" "ok\xED\xA0"); cs_end("invalid-utf8");
    cs_begin(0x08, 2, 8); SRV(ACCEPT_101 "\x82\x7e\x01\x00"); cs_end("too-big");
    cs_begin(0x00, 0, 8); SRV(ACCEPT_101 "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"); cs_end("len63");
    cs_begin(0x00, 0, 8); SRV(ACCEPT_101 "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"); cs_end("len64-topbit");
    cs_begin(0x00, 0, 8); SRV(ACCEPT_101 "\x81\x81\x00\x00\x00\x00" "a"); cs_end("masked");
    cs_begin(0x00, 0, 8); SRV(ACCEPT_101 "\x88\x02\x03\xed"); cs_end("close-bad-code");
    cs_begin(0x00, 0, 8); SRV(ACCEPT_101 "\x88\x01\x03"); cs_end("close-1byte");
    cs_begin(0x00, 0, 5); SRV(ACCEPT_101);
    cs_act('t', 'h', 'i', '!'); cs_act('b', 1, 0, 0); cs_act('p', 1, 2, 3); cs_act('c', 0x03, 0xe8, 5);
    SRV("\x88\x02\x03\xe8"); cs_end("client-sends-and-closes");
    cs_begin(0x00, 0, 5); SRV(ACCEPT_101);
    cs_act('f', 0, 16, 0); cs_act('g', 0, 16, 0); cs_act('g', 1, 3, 0); cs_act('f', 1, 3, 0);
    SRV("\x81\x00"); cs_end("client-fragments");
    cs_begin(0x00, 0, 5); SRV(ACCEPT_101);
    cs_act('s', 0x40, 0x40, 0x7f); cs_act('s', 0xff, 0xff, 0xff); cs_act('r', 0, 0, 0);
    cs_act('B', 0, 0, 200); cs_act('d', 3, 0, 0); cs_act('t', 'x', 'y', 'z'); cs_act('d', 40, 0, 0);
    SRV("\x88\x00"); cs_end("client-stream");
    cs_begin(0x00, 0, 0x11); SRV(ACCEPT_101); cs_act('S', 0, 0, 0);
    SRV("\x89\x01" "1\x89\x01" "2\x89\x01" "3\x89\x01" "4"); cs_act('D', 0, 0, 0); SRV("\x89\x00");
    cs_end("stall-pingflood");
    cs_begin(0x00, 0, 5); SRV(ACCEPT_101); cs_act('c', 0x03, 0xe8, 0); cs_act('w', 0, 0, 0); cs_act('T', 0, 0, 0);
    cs_end("close-timeout");
    cs_begin(0x01, 0, 5); SRV("HTTP/1.1 200 OK\r\n\r\n"); cs_act('T', 0, 0, 0); cs_end("handshake-timeout");
    cs_begin(0x00, 0, 5); SRV(ACCEPT_101 "\x81\x05" "he"); cs_act('E', 0, 0, 0); SRV("llo"); cs_end("eof-mid-message");
    cs_begin(0x01, 0, 5); cs_act('R', 0, 0, 0); cs_end("proxy-reset");
    cs_begin(0x20, 5, 5); SRV(ACCEPT_101); cs_act('t', 'h', 'i', '!'); SRV("\x89\x00"); cs_end("random-fails");
    cs_begin(0x40, 0, 0x21); SRV(ACCEPT_101 "\x82\x03\x01\x02\x03\x8a\x01" "z\x88\x00"); cs_end("recv-inplace");
    cs_begin(0x00, 0, 5); SRV(ACCEPT_101); cs_act('o', 0x89, 'a', 'b'); cs_act('o', 0x03, 0, 0);
    cs_act('P', 125, 10, 0); cs_act('c', 0x03, 0xed, 0); cs_act('C', 0, 0, 0); SRV("\x88\x00"); cs_end("client-misuse");
    /* SOCKS: socks5h with credentials (method 2, RFC 1929 ok, CONNECT ok), socks4a */
    cs_begin(0x03, 0, 5); SRV("\x05\x02" "\x01\x00" "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38" ACCEPT_101 "\x81\x02" "ok");
    cs_end("socks5h-ok");
    cs_begin(0x03, 0, 0); SRV("\x05\x00" "\x05\x00\x00\x03\x04" "host\x00\x50" ACCEPT_101); cs_end("socks5h-noauth-name-bound");
    cs_begin(0x03, 0x80, 3); SRV("\x05\x02" "\x01\x00" "\x05\x00\x00\x04" "0123456789abcdef\x00\x50" ACCEPT_101); cs_end("socks5-resolved-v6-bound");
    cs_begin(0x83, 0, 5); SRV("\x00\x5a\x00\x00\x00\x00\x00\x00" ACCEPT_101 "\x81\x01" "x"); cs_end("socks4a-ok");
    cs_begin(0x83, 0x80, 5); SRV("\x00\x5b\x00\x00\x00\x00\x00\x00"); cs_end("socks4-rejected");
    cs_begin(0x03, 0, 5); SRV("\x05\xff"); cs_end("socks5-no-method");
    cs_begin(0x03, 0, 5); SRV("\x05\x02" "\x01\x01"); cs_end("socks5-auth-failed");
    cs_begin(0x03, 0, 5); SRV("\x05\x02" "\x01\x00" "\x05\x05\x00\x01"); cs_end("socks5-refused");
    cs_begin(0x03, 0, 5); SRV("\x05\x02" "\x01\x00" "\x05\x00"); cs_act('E', 0, 0, 0); cs_end("socks5-eof");
}

/* fuzz_client with an auth block (flag bit 7 and tunnel 1 or 2): the 407 loop against a
   scripted proxy, 'X' the caller's new connection after EV_RECONNECT. */
#define P407 "HTTP/1.1 407 Proxy Authentication Required\r\n"
#define OK200 "HTTP/1.1 200 Connection established\r\n\r\n"
#define CL0 "Content-Length: 0\r\n\r\n"
static void auth_client_seeds(void)
{
    /* Basic: preemptive when it alone is allowed (URL, cfg fields, a UTF-8 user), else
       after the challenge; bodies by length and chunked, never taken for the next reply */
    cs_begin(0x81, 0, 5); AUTH(C_CFG, ""); SRV(OK200 ACCEPT_101 "\x81\x02" "ok\x88\x00"); cs_end("auth-basic-preemptive-cfg");
    cs_begin(0x82, 0, 0); AUTH(C_UTF8, ""); SRV(OK200 ACCEPT_101); cs_end("auth-basic-preemptive-utf8-user");
    cs_begin(0x81, 0, 3); AUTH(A_BASIC | A_DIGEST | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Basic realm=\"r\"\r\nContent-Length: 23\r\n\r\nHTTP/1.1 200 Fake\r\n\r\nxx");
    SRV(OK200 ACCEPT_101 "\x81\x01" "x"); cs_end("auth-basic-after-407-body");
    cs_begin(0x82, 0, 7); AUTH(A_ANY | C_URL | A_CALLER, "");
    SRV(P407 "Proxy-Authenticate: Basic realm=\"r\"\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nHTTP/\r\n1a\r\n1.1 200 OK\r\n\r\nzzzzzzzzzzz\r\n0\r\nX-Trailer: t\r\n\r\n");
    SRV(OK200 ACCEPT_101); cs_end("auth-basic-chunked-body-caller-header");
    cs_begin(0x81, 0, 2); AUTH(A_BASIC | C_CFG, ""); SRV(P407 "Proxy-Authenticate: Basic realm=\"r\"\r\n" CL0);
    cs_end("auth-basic-rejected");
    /* the proxy closes: Connection: close, HTTP/1.0 with a body to the close, a silent
       close after a kept-alive 407, a body too long to skip; and no new connection */
    cs_begin(0x81, 0, 4); AUTH(A_ANY | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Basic realm=\"r\"\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc" "junk");
    cs_act('w', 0, 0, 0); cs_act('X', 0, 0, 0); SRV(OK200 ACCEPT_101 "\x81\x00"); cs_end("auth-close-reconnect");
    cs_begin(0x82, 0, 0); AUTH(A_BASIC | A_NEG | C_CFG, "");
    SRV("HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\nbody until close");
    cs_act('E', 0, 0, 0); cs_act('X', 0, 0, 0); SRV("HTTP/1.0 200 OK\r\n\r\n" ACCEPT_101); cs_end("auth-http10-body-to-close");
    cs_begin(0x81, 0, 9); AUTH(A_ANY | C_URL, ""); SRV(P407 "Proxy-Authenticate: Basic realm=\"x\"\r\n" CL0);
    cs_act('E', 0, 0, 0); cs_act('X', 0, 0, 0); SRV(OK200 ACCEPT_101); cs_end("auth-silent-close");
    cs_begin(0x81, 0, 6); AUTH(A_BASIC | A_DIGEST | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 99999999999\r\n\r\nx");
    cs_act('X', 0, 0, 0); SRV(OK200 ACCEPT_101); cs_end("auth-huge-body-reconnect");
    cs_begin(0x81, 0, 5); AUTH(A_ANY | C_URL, ""); SRV(P407 "Proxy-Authenticate: Basic realm=\"x\"\r\nConnection: close\r\n" CL0);
    cs_act('X', 0, 0, 0); cs_act('X', 0, 0, 0); SRV(P407 "Proxy-Authenticate: Basic realm=\"x\"\r\nConnection: close\r\n" CL0);
    cs_act('T', 0, 0, 0); cs_act('X', 0, 0, 0); cs_end("auth-reconnect-twice-then-timeout");
    cs_begin(0x81, 0, 5); AUTH(A_ANY | C_URL, ""); SRV(P407 "Proxy-Authenticate: Basic realm=\"x\"\r\nConnection: close\r\n" CL0);
    SRV("HTTP/1.1 200 OK\r\n\r\n"); cs_end("auth-no-reconnect");
    /* NTLM and Negotiate: tokens from the callback, a round on one connection */
    cs_begin(0x81, 0, 3); AUTH(A_NTLM | A_TOKEN, "\x2d\x3e");
    SRV(P407 "Proxy-Authenticate: NTLM TlRMTVNTUAACAAAAAAAAAA==\r\n" CL0); SRV(OK200 ACCEPT_101); cs_end("auth-ntlm-rounds");
    cs_begin(0x82, 0, 8); AUTH(A_NTLM | A_TOKEN | C_URL, "\x2d");
    SRV(P407 "Proxy-Authenticate: NTLM Y2hhbGxlbmdl\r\nConnection: close\r\n" CL0); cs_act('X', 0, 0, 0);
    SRV(P407 "Proxy-Authenticate: NTLM Y2hhbGxlbmdl\r\n" CL0 OK200 ACCEPT_101); cs_end("auth-ntlm-new-connection");
    cs_begin(0x81, 0, 4); AUTH(A_ANY | A_TOKEN | C_URL, "\x2f");
    SRV(P407 "Proxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\nProxy-Authenticate: Basic realm=\"x\"\r\n" CL0);
    SRV("HTTP/1.1 200 OK\r\nProxy-Authenticate: Negotiate bXV0dWFs\r\n\r\n" ACCEPT_101); cs_end("auth-negotiate");
    cs_begin(0x81, 0, 4); AUTH(A_ANY | A_TOKEN | C_URL, "\x00\x08");
    SRV(P407 "Proxy-Authenticate: Negotiate, NTLM, Basic realm=\"x\"\r\n" CL0 OK200 ACCEPT_101);
    cs_end("auth-tokens-fail-basic-after");
    cs_begin(0x81, 0, 4); AUTH(A_NEG | A_NTLM | A_TOKEN, "\x5b\x09\x0a\x1b\x33");
    SRV(P407 "Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\n" CL0); cs_end("auth-token-bad-bytes");
    cs_begin(0x81, 0, 4); AUTH(A_NEG | A_TOKEN, "\xfc"); SRV(OK200); cs_end("auth-token-too-long");
    cs_begin(0x81, 0, 0); AUTH(A_NTLM | A_TOKEN, "\x00"); SRV(OK200); cs_end("auth-token-fails-at-init");
    /* faults these found, fixed: a later CONNECT over WSPROXY_MAX_REQUEST_BYTES (a
       4066-character token: WSPROXY_E_REQUEST_TOO_LARGE, nothing written); a 407 without
       any challenge after Basic went out (AUTH_REJECTED); a bad 407 body after the head
       (the next CONNECT waits for the body, so nothing leaves, however the bytes arrive) */
    cs_begin(0x81, 0, 2); AUTH(A_NTLM | A_TOKEN, "\x2d\xec");
    SRV(P407 "Proxy-Authenticate: NTLM Y2hhbGxlbmdl\r\n" CL0 OK200); cs_end("auth-token-long-head");
    cs_begin(0x02, 0, 9); SRV(P407 CL0); cs_end("auth-407-no-challenge-after-basic");
    cs_begin(0x81, 0, 0); AUTH(A_ANY | C_URL, "");   /* the body in the same read as the head (or not) */
    SRV(P407 "Proxy-Authenticate: Basic realm=\"x\"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    cs_end("auth-407-bad-body-split");
    cs_begin(0x81, 0, 7); AUTH(A_NTLM | A_TOKEN, "");
    SRV(P407 "Proxy-Authenticate: NTLM cm91bmQx\r\n" CL0 P407 "Proxy-Authenticate: NTLM cm91bmQy\r\n" CL0
        P407 "Proxy-Authenticate: NTLM cm91bmQz\r\n" CL0 P407 "Proxy-Authenticate: NTLM cm91bmQ0\r\n" CL0 OK200);
    cs_end("auth-too-many-rounds");
    /* what is offered is not allowed, not usable (Digest without hashes), or malformed */
    cs_begin(0x81, 0, 5); AUTH(A_BASIC | C_URL, ""); SRV(P407 "Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\n" CL0);
    cs_end("auth-scheme-not-allowed");
    cs_begin(0x81, 0, 5); AUTH(A_ANY | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=auth\r\n" CL0); cs_end("auth-digest-without-hashes");
    cs_begin(0x81, 0, 5); AUTH(A_ANY | C_URL, ""); SRV(P407 "Proxy-Authenticate: Bearer realm=\"corp\"\r\n" CL0);
    cs_end("auth-unknown-scheme");
    cs_begin(0x81, 0, 5); AUTH(A_ANY | C_URL, ""); SRV(P407 "Proxy-Authenticate: Digest realm=\"open\r\n" CL0);
    cs_end("auth-malformed-challenge");
    cs_begin(0x81, 0, 5); AUTH(A_ANY, ""); SRV(P407 "Proxy-Authenticate: Basic realm=\"x\"\r\n" CL0); cs_end("auth-no-credentials");
    /* 'X' when none was asked for; a 407 after the tunnel is a handshake error */
    cs_begin(0x82, 0, 5); AUTH(A_ANY | C_URL, ""); cs_act('X', 0, 0, 0); SRV(OK200); cs_act('X', 0, 0, 0);
    SRV("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n");
    cs_end("auth-407-after-tunnel");
}

/* fuzz_client_tls: header flags (bits 0-1 the cell: 0 wss direct, 1 wss via http proxy,
   2 ws via https proxy, 3 wss via https proxy; 4 reassembly, 8 small max_message, 16
   subprotocols, 32 random fails, 64 recv_buf, 128 proxy credentials), parameter, chunk
   seed, TLS byte (bits 0-2 server certificate, 3-5 proxy certificate: 0 target-ec, 1
   target (RSA), 2 proxy, 3 untrusted, 4 wrongname, 5 expired, 6 untrusted + insecure, 7
   dns-only; 64 small caller buffers, 128 hosts as addresses: 127.0.0.1, [::1] for a wss://
   server with an odd certificate number). Actions '>' / '<' switch
   the script to the server's / the proxy's plaintext, 'K' close_notify, 'N'
   renegotiation, 'Z' raw bytes below the current engine. */
#define CT_OK200 "HTTP/1.1 200 Connection established\r\n\r\n"
#define CT_FRAMES "\x81\x05" "hello\x89\x02" "hi\x82\x03\x01\x02\x03"
#define CT_PROXY 0x10   /* the proxy hop serves tests/certs/proxy.pem */
static void ct_exchange(void)   /* the caller's side of a conversation, then the server's close */
{
    cs_act('t', 'a', 'b', 'c'); cs_act('b', 0x02, 0x10, 0); cs_act('p', 1, 2, 3);
    SRV("\x8a\x03\x01\x02\x03" "\x01\x02" "h\xC3" "\x89\x01" "p" "\x80\x01" "\xA9");
    cs_act('c', 0x03, 0xe8, 4); SRV("\x88\x02\x03\xe8");
}

static void ct_bad_record(void)   /* an application_data record of 7 bytes: no AEAD record */
{
    cs_act('Z', 0x17, 0x03, 0x03); cs_act('Z', 0x00, 0x07, 'a'); cs_act('Z', 'b', 'c', 'd'); cs_act('Z', 'e', 'f', 'g');
}

/* fuzz_client_tls with an auth block: Digest (the hashes are BearSSL's) through an http://
   proxy (cell 1) and an https:// one (cells 2 and 3, where a new connection is a new TLS
   session), token schemes through https://. */
#define CT_AUTH(flags, seed, tls, auth, toks) ct_begin_auth((flags), 0, (seed), (tls), (auth), (toks), sizeof(toks) - 1)
static void auth_tls_seeds(void)
{
    CT_AUTH(0x81, 3, 0x00, A_ANY | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Basic realm=\"b\"\r\n"
        "Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\", qop=\"auth\", opaque=\"op\\\"q\"\r\nContent-Length: 23\r\n\r\n"
        "HTTP/1.1 200 Fake\r\n\r\nxx");
    SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 CT_FRAMES); ct_exchange(); ct_end("auth-http-digest-md5-qop-opaque");
    CT_AUTH(0x81, 5, 0x00, A_DIGEST | C_CFG, "");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"old\", algorithm=MD5, qop=auth, "
        "Digest realm=\"wsp\", nonce=\"old\", algorithm=SHA-256, qop=auth\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nHTTP/\r\n1a\r\n1.1 200 OK\r\n\r\nzzzzzzzzzzz\r\n0\r\nX-Trailer: t\r\n\r\n");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"new\", algorithm=SHA-256, qop=auth, stale=true\r\n" CL0);
    SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 "\x81\x02" "ok"); ct_end("auth-http-digest-sha256-chunked-stale");
    CT_AUTH(0x81, 0, 0x00, A_DIGEST | C_UTF8, "");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"api@example.org\", nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", "
        "algorithm=SHA-256-sess, qop=\"auth-int, auth\", charset=UTF-8, userhash=true\r\n" CL0);
    SRV(P407 "Proxy-Authenticate: Digest realm=\"api\", nonce=\"n2\", algorithm=MD5-sess, qop=auth-int, charset=UTF-8, "
        "stale=true\r\n" CL0);
    SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101); ct_end("auth-http-digest-userhash-sess-utf8");
    CT_AUTH(0x82, 7, CT_PROXY, A_BASIC | A_DIGEST | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\"\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc");
    cs_act('X', 0, 0, 0); SRV("HTTP/1.0 200 OK\r\n\r\n" ACCEPT_101 CT_FRAMES); ct_exchange(); ct_end("auth-https-digest-legacy-reconnect");
    CT_AUTH(0x83, 5, CT_PROXY, A_DIGEST | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"wsp\", nonce=\"n1\"\r\n" CL0); cs_act('E', 0, 0, 0); cs_act('X', 0, 0, 0);
    SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 CT_FRAMES); ct_end("auth-https-wss-digest-silent-close");
    CT_AUTH(0x83, 0x81, CT_PROXY, A_NTLM | A_TOKEN, "\x2d\x3e\x2f");
    SRV(P407 "Proxy-Authenticate: NTLM TlRMTVNTUAACAAAA\r\nConnection: close\r\n" CL0); cs_act('X', 0, 0, 0);
    SRV(P407 "Proxy-Authenticate: NTLM TlRMTVNTUAACAAAA\r\n" CL0 CT_OK200); cs_act('>', 0, 0, 0);
    SRV(ACCEPT_101 CT_FRAMES); ct_exchange(); ct_end("auth-https-wss-ntlm-reconnect");
    CT_AUTH(0x83, 3, CT_PROXY, A_NTLM | A_TOKEN, "\x2d\x3e\x00");   /* the new connection's first token fails */
    SRV(P407 "Proxy-Authenticate: NTLM TlRMTVNTUAACAAAA\r\nConnection: close\r\n" CL0); cs_act('X', 0, 0, 0);
    SRV(CT_OK200); ct_end("auth-https-reconnect-token-fails");
    CT_AUTH(0xC2, 0, CT_PROXY | 0x40, A_ANY | A_TOKEN | C_CFG | A_CALLER, "\x2f");
    SRV(P407 "Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n" CL0);
    SRV(CT_OK200 ACCEPT_101 CT_FRAMES); ct_exchange(); ct_end("auth-https-ws-negotiate-small-buffers");
    CT_AUTH(0x81, 7, 0x00, A_ANY | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512\r\n" CL0); ct_end("auth-http-digest-unknown-algorithm");
    CT_AUTH(0x81, 7, 0x00, A_DIGEST | C_URL, "");
    SRV(P407 "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=auth\r\n" CL0);
    SRV(P407 "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n2\", qop=auth\r\n" CL0); ct_end("auth-http-digest-rejected");
}

/* Caller buffers with room to queue records (parameter byte odd, flag 8 clear): with the
   socket stalled, messages of 4 KiB, 12 KiB (into the next record), 32 KiB streamed in
   256-byte pieces (unless told not to), 16 KiB and 40,000 bytes (record after record)
   fill records the caller does not take, which go into the send buffer's queue (TLS in
   TLS: the proxy's records around the server's) until it is full; then the socket takes
   all of it. */
static void ct_queue_burst(int streamed)
{
    cs_act('S', 0, 0, 0);
    cs_act('b', 0x10, 0, 0); cs_act('b', 0x10, 0, 0); cs_act('b', 0x10, 0, 0); cs_act('r', 0, 0, 0);
    cs_act('b', 0x30, 0, 0);
    if (streamed) cs_act('s', 0x80, 0x40, 0xff);
    cs_act('b', 0x40, 0, 0); cs_act('b', 0x9c, 0x40, 0);
    cs_act('r', 0, 0, 0); cs_act('b', 0x9c, 0x40, 0);
    cs_act('D', 0, 0, 0); cs_act('t', 'e', 'n', 'd');
    cs_act('c', 0x03, 0xe8, 4); SRV("\x88\x02\x03\xe8");
}

static void client_tls_seeds(void)
{
    ct_begin(0x00, 1, 7, 0x00); SRV(ACCEPT_101); ct_queue_burst(1); ct_end("wss-big-buffers-queue");
    ct_begin(0x03, 1, 5, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101); ct_queue_burst(1);
    ct_end("https-wss-big-buffers-queue");
    ct_begin(0x03, 3, 0, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101); ct_queue_burst(0);
    ct_end("https-wss-big-buffers-queue-long");
    /* each cell: open, exchange messages, close */
    ct_begin(0x00, 0, 7, 0x00); SRV(ACCEPT_101 CT_FRAMES); ct_exchange(); ct_end("wss-echo");
    ct_begin(0x40, 0, 0x85, 0x81); SRV(ACCEPT_101 CT_FRAMES); ct_exchange(); ct_end("wss-rsa-ip-recvbuf");
    ct_begin(0x14, 0x10, 0, 0x40); SRV(ACCEPT_101 "\x01\x02" "h\xC3\x89\x01" "p\x00\x01\xA9\x80\x00");
    cs_act('b', 0x30, 0, 0); cs_act('s', 0x40, 0x40, 0x7f); cs_act('u', 200, 3, 0); SRV("\x88\x00");
    ct_end("wss-small-buffers-reassembly");
    ct_begin(0x01, 0, 3, 0x00); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 CT_FRAMES); ct_exchange();
    ct_end("http-wss-echo");
    ct_begin(0x81, 0, 0, 0xC0); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 CT_FRAMES); ct_exchange();
    ct_end("http-wss-creds-ip-small-buffers");
    ct_begin(0x02, 0, 11, CT_PROXY); SRV(CT_OK200 ACCEPT_101 CT_FRAMES); ct_exchange(); ct_end("https-ws-echo");
    ct_begin(0xC2, 0, 0x90, CT_PROXY | 0x40); SRV(CT_OK200); SRV(ACCEPT_101 CT_FRAMES); cs_act('N', 0, 0, 0);
    ct_exchange(); ct_end("https-ws-creds-renegotiate");
    ct_begin(0x03, 0, 5, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 CT_FRAMES); ct_exchange();
    ct_end("https-wss-echo");
    ct_begin(0x93, 0, 0x81, CT_PROXY | 0x81); SRV(CT_OK200); cs_act('>', 0, 0, 0);
    SRV("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: {A}\r\n\r\n" CT_FRAMES);
    cs_act('N', 0, 0, 0); ct_exchange(); ct_end("https-wss-rsa-ip-creds-protocol");
    ct_begin(0x03, 0, 0, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101); cs_act('S', 0, 0, 0);
    SRV("\x89\x01" "1\x89\x01" "2\x89\x01" "3"); cs_act('t', 'x', 0, 0); cs_act('D', 0, 0, 0); SRV("\x89\x00\x88\x00");
    ct_end("https-wss-stall-pings");
    ct_begin(0x00, 0, 7, 0x80); SRV(ACCEPT_101 "\x81\x02" "v4"); cs_act('r', 0, 0, 0); cs_act('w', 0, 0, 0);
    cs_act('P', 3, 0, 0); cs_act('w', 0, 0, 0); cs_act('T', 0, 0, 0); ct_end("wss-ip4-room-pong-timeout");
    ct_begin(0x01, 0, 7, 0x41); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101); cs_act('r', 0, 0, 0);
    cs_act('B', 0, 0, 200); cs_act('r', 0, 0, 0); cs_act('d', 30, 0, 0); cs_act('c', 0x03, 0xe8, 0); cs_act('w', 0, 0, 0);
    cs_act('T', 0, 0, 0); ct_end("http-wss-ip6-stream-close-timeout");
    /* reply heads longer than the smallest receive buffer (512 bytes) */
    {
        char head[700];
        memset(head, 'a', sizeof head);
        ct_begin(0x01, 0, 0x85, 0x40); SRV("HTTP/1.1 200 OK\r\nX: "); cs_srv(head, 600); SRV("\r\n\r\n");
        ct_end("http-wss-reply-too-large-small-buffers");
        ct_begin(0x00, 0, 0, 0x40); SRV("HTTP/1.1 101 Switching Protocols\r\nX: "); cs_srv(head, 600); SRV("\r\n\r\n");
        ct_end("wss-101-too-large-small-buffers");
        ct_begin(0x03, 0, 3, CT_PROXY | 0x40); SRV("HTTP/1.1 200 OK\r\nX: "); cs_srv(head, 600); SRV("\r\n\r\n");
        ct_end("https-wss-reply-too-large-small-buffers");
    }
    /* the server's TLS stage fails: certificates, bad records, close_notify, EOF */
    ct_begin(0x00, 0, 7, 0x03); SRV(ACCEPT_101); ct_end("wss-untrusted");
    ct_begin(0x00, 0, 7, 0x04); SRV(ACCEPT_101); ct_end("wss-wrongname");
    ct_begin(0x00, 0, 7, 0x05); SRV(ACCEPT_101); ct_end("wss-expired");
    ct_begin(0x00, 0, 7, 0x87); SRV(ACCEPT_101); ct_end("wss-ip-dns-only");
    ct_begin(0x00, 0, 7, 0x06); SRV(ACCEPT_101 "\x81\x02" "ok\x88\x00"); ct_end("wss-untrusted-insecure");
    ct_begin(0x00, 0, 7, 0x00); cs_act('Z', 0x15, 0x03, 0x03); SRV(ACCEPT_101); ct_end("wss-garbage-before-hello");
    ct_begin(0x00, 0, 7, 0x00); SRV(ACCEPT_101 "\x81\x02" "ok"); ct_bad_record(); SRV("\x81\x02" "no");
    ct_end("wss-garbage-record-after-open");
    ct_begin(0x00, 0, 7, 0x00); SRV(ACCEPT_101 "\x81\x02" "ok"); cs_act('K', 0, 0, 0); ct_end("wss-close-notify-after-open");
    ct_begin(0x00, 0, 7, 0x00); cs_act('K', 0, 0, 0); SRV(ACCEPT_101); ct_end("wss-close-notify-in-handshake");
    ct_begin(0x00, 0, 7, 0x00); cs_act('E', 0, 0, 0); ct_end("wss-eof-in-handshake");
    ct_begin(0x01, 0, 7, 0x03); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101); ct_end("http-wss-untrusted");
    ct_begin(0x01, 0, 7, 0x00); SRV(CT_OK200 "JUNK JUNK"); ct_end("http-wss-junk-in-tunnel");
    ct_begin(0x01, 0, 7, 0x00); cs_act('S', 0, 0, 0); SRV(CT_OK200); ct_end("http-wss-stalled-eof");
    ct_begin(0x81, 0, 7, 0x00); SRV("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n");
    ct_end("http-wss-407");
    ct_begin(0x03, 0, 7, CT_PROXY | 0x04); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101); ct_end("https-wss-wrongname-target");
    ct_begin(0x03, 0, 7, CT_PROXY); SRV(CT_OK200 "\x16\x03\x03\x00\x01" "x"); ct_end("https-wss-bad-record-in-tunnel");
    ct_begin(0x03, 0, 7, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 "\x81\x02" "ok");
    ct_bad_record(); SRV("\x81\x00"); ct_end("https-wss-garbage-inner-after-open");
    /* the proxy's TLS stage fails */
    ct_begin(0x02, 0, 7, 0x18); SRV(CT_OK200); ct_end("https-ws-untrusted-proxy");
    ct_begin(0x03, 0, 7, 0x28); SRV(CT_OK200); ct_end("https-wss-expired-proxy");
    ct_begin(0x83, 0, 7, 0xA0); SRV(CT_OK200); ct_end("https-wss-ip-wrongname-proxy");
    ct_begin(0x02, 0, 7, CT_PROXY); cs_act('Z', 0x16, 0x03, 0x01); SRV(CT_OK200); ct_end("https-ws-garbage-before-hello");
    ct_begin(0x02, 0, 7, CT_PROXY); cs_act('K', 0, 0, 0); SRV(CT_OK200); ct_end("https-ws-close-notify-in-handshake");
    ct_begin(0x03, 0, 7, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 "\x81\x02" "ok");
    cs_act('<', 0, 0, 0); ct_bad_record(); SRV("more"); ct_end("https-wss-garbage-outer-after-open");
    ct_begin(0x03, 0, 7, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 "\x81\x02" "ok");
    cs_act('<', 0, 0, 0); cs_act('K', 0, 0, 0); ct_end("https-wss-proxy-close-notify-after-open");
    /* the proxy asks for a renegotiation while the stalled client still holds the close
       frame of a peer fault: BearSSL's server refuses that record (not the client's fault) */
    ct_begin(0x02, 0, 7, CT_PROXY); SRV(CT_OK200 ACCEPT_101); cs_act('S', 0, 0, 0); SRV("\x00\x00");
    cs_act('N', 0, 0, 0); ct_end("https-ws-renegotiate-crosses-close");
    /* the same with the server's close_notify: a closing BearSSL engine discards it */
    ct_begin(0x00, 0, 7, 0x00); SRV(ACCEPT_101); cs_act('S', 0, 0, 0); SRV("\xc1\x00"); cs_act('K', 0, 0, 0);
    ct_end("wss-close-notify-crosses-close");
    /* beyond TLS: a peer fault's close frame through both engines, the random source */
    ct_begin(0x03, 0, 7, CT_PROXY); SRV(CT_OK200); cs_act('>', 0, 0, 0); SRV(ACCEPT_101 "\x81\x04" "ok\xED\xA0");
    ct_end("https-wss-invalid-utf8");
    ct_begin(0x20, 12, 7, 0x00); SRV(ACCEPT_101); cs_act('t', 'h', 'i', '!'); SRV("\x89\x00"); ct_end("wss-random-fails");
    auth_tls_seeds();
}

static void no_proxy_seeds(void)
{
    const char *t = "fuzz_no_proxy";
    static const struct { const char *name, *list, *host; } c[] = {
        {"suffix", "example.com", "www.example.com"},
        {"not-suffix", "example.com", "nexample.com"},
        {"leading-dot", ".example.com,other", "a.b.example.com"},
        {"star-dot", "*.example.com", "example.com"},
        {"star", " * ", "anything"},
        {"blank-inside", "exa mple.com", "exa mple.com"},
        {"trailing-dot", "example.com.", "EXAMPLE.com."},
        {"v4-cidr", "10.0.0.0/8, 192.168.1.1", "10.1.2.3"},
        {"v4-bad-prefix", "10.0.0.0/33", "10.0.0.1"},
        {"v6", "::1,fd00::/8", "[fd12::1]"},
        {"v6-bracket-entry", "[::1]/128", "::1"},
        {"name-vs-ip", "localhost", "127.0.0.1"},
        {"empty-entries", ",,, ,localhost,", "LOCALHOST"},
        {"crlf-blanks", "\r\nexample.com\t", "example.com"},
    };
    size_t i;
    for (i = 0; i < sizeof c / sizeof c[0]; i++) {
        char buf[256];
        size_t a = strlen(c[i].list), b = strlen(c[i].host);
        memcpy(buf, c[i].list, a);
        buf[a] = 0;
        memcpy(buf + a + 1, c[i].host, b);
        put(t, c[i].name, buf, a + 1 + b);
    }
}

static void socks_seeds(void)
{
    const char *t = "fuzz_socks";
    /* byte 0: bits 0-1 socks4/4a/5/5h, bit 2 credentials, bits 3-4 host kind, bit 5 v6 */
    put(t, "socks5h-auth-ok", "\x07\x01" "\x05\x02" "\x01\x00" "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38" "after", 2 + 2 + 2 + 10 + 5);
    put(t, "socks5h-noauth-name", "\x03\x02" "\x05\x00" "\x05\x00\x00\x03\x04" "host\x00\x50", 2 + 2 + 5 + 4 + 2);
    put(t, "socks5-v6", "\x2e\x03" "\x05\x00" "\x05\x00\x00\x04" "0123456789abcdef\x00\x50", 2 + 2 + 4 + 16 + 2);
    put(t, "socks5-rep-5", "\x06\x04" "\x05\x00" "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 2 + 2 + 10);
    put(t, "socks5-bad-atyp", "\x03\x05" "\x05\x00" "\x05\x00\x00\x07", 2 + 2 + 4);
    put(t, "socks5-no-method", "\x03\x06" "\x05\xff", 4);
    put(t, "socks5-auth-fail", "\x07\x07" "\x05\x02" "\x01\x01", 6);
    put(t, "socks4a-ok", "\x05\x08" "\x00\x5a\x12\x34\x01\x02\x03\x04" "rest", 2 + 8 + 4);
    put(t, "socks4-ip", "\x08\x09" "\x00\x5b\x00\x00\x00\x00\x00\x00", 10);
    put(t, "socks4-v6-target", "\x10\x0a" "\x00\x5a", 4);
    put(t, "socks4-bad-vn", "\x01\x0b" "\x04\x5a\x00\x00\x00\x00\x00\x00", 10);
}

static void pac_seeds(void)
{
    const char *t = "fuzz_pac";
    PUTS(t, "mixed", "\x00", "PROXY a.example:3128; SOCKS5 b:1080; HTTPS c:443; DIRECT");
    PUTS(t, "socks5-remote", "\x01", "SOCKS5 10.0.0.1; socks 10.0.0.2:1081");
    PUTS(t, "blanks", "\x00", " \t\r\nproxy   [::1]:8080 ;;  direct ; ");
    PUTS(t, "bad-entries", "\x00", "FOO x:1; PROXY :80; PROXY h:99999; HTTP h");
    PUTS(t, "empty", "\x00", "");
}

/* Known library failures, kept as seeds so the replay fails until they are fixed.
   (fuzz/seeds/fuzz_pem/bug-fuzzer-crash-wild-read is a crash file kept verbatim: a
   truncated, corrupted certificate after which the loader pushes into a stopped BearSSL
   X.509 decoder, a wild read; this generator does not write or remove it.) */
static void known_bug_seeds(void)
{
    /* PEM: a CERTIFICATE block with bytes after the certificate's DER: the loader keeps
       pushing into a finished BearSSL X.509 decoder (NULL read in br_x509_decoder_run).
       Mode 1: the harness wraps the DER in a CERTIFICATE block. */
    size_t len, dlen;
    char *pem = slurp("tests/certs/ca.pem", &len);
    unsigned char *der = pem_to_der(pem, &dlen), *buf = (unsigned char *)calloc(1 + dlen + 600, 1);
    buf[0] = 1;
    memcpy(buf + 1, der, dlen);
    put("fuzz_pem", "bug-trailing-bytes-after-der", buf, 1 + dlen + 600);
    free(buf); free(der); free(pem);
    /* PAC: "PROXY a::" is kept as "http://a::80", which wsproxy_url_parse refuses
       (WSPROXY_E_URL_PORT); a bad host:port entry must be skipped. */
    put("fuzz_pac", "bug-host-with-colons", "\x00PROXY a::", 10);
    /* HTTP head: a folded header line that is also longer than WSPROXY_MAX_LINE_BYTES:
       HTTP_TOO_LARGE when parsed whole, HTTP_ERROR as soon as a prefix shows the fold,
       so the client's code (REPLY_TOO_LARGE / BAD_REPLY) depends on TCP segmentation. */
    {
        static char h[5100];
        size_t n = (size_t)sprintf(h, "%cHTTP/1.1 200 OK\r\nX: a\r\n ", 0);
        memset(h + n, 'a', 5000);
        put("fuzz_http_response", "bug-verdict-depends-on-length", h, n + 5000);
        /* the same with a status line already wrong at byte 8 ("HTTP/1.x") and longer
           than the line limit: whole HTTP_TOO_LARGE, byte by byte HTTP_ERROR */
        n = (size_t)sprintf(h, "%cHTTP/1.x", 0);
        memset(h + n, 'a', 5000);
        put("fuzz_http_response", "bug-status-line-verdict-depends-on-length", h, n + 5000);
    }
}

int main(int argc, char **argv)
{
    root = argc > 1 ? argv[1] : "fuzz/seeds";
    mkdirs(root);
    http_seeds();
    frame_seeds();
    utf8_seeds();
    url_seeds();
    pem_seeds();
    cert_ip_seeds();
    client_seeds();
    auth_client_seeds();
    client_tls_seeds();
    no_proxy_seeds();
    socks_seeds();
    pac_seeds();
    known_bug_seeds();
    printf("gen_seeds: %d seeds written under %s\n", written, root);
    return 0;
}
