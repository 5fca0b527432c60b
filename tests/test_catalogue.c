/* The catalogue of bad inputs: every layer, each named input with the EXACT error code
   it must produce, through the public API only. Table-driven; one check per case (and
   per feed mode where bytes are fed: whole and one byte at a time must agree).

   Layers: URL (target and proxy), headers and other configuration, the CONNECT reply,
   the 101 reply, frames, close frames, UTF-8, the sending API, TLS configuration, PEM.
   Then the security checks (what goes where, CR/LF/NUL refused before any byte) and the
   error-code inventory: every code of enum wsproxy_err (read from wsproxy.h) has a name,
   a sentence, and a row in README.md's error table.

   Run from the repository root (reads wsproxy.h, README.md, tests/certs/). Prints
   "N passed, N failed". */
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"
#include "test.h"

#include <errno.h>
#include <ctype.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int cases_run;
#define CASE_CHECK_EQ(name, got, want) do { cases_run++; TEST_CASE(name); CHECK_EQ_INT(got, want); } while (0)

/* ---- fixed random source, optionally failing after a budget ---------------------- */
static unsigned long rng_pos, rng_budget = (unsigned long)-1;
static int fixed_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    if (rng_pos + len > rng_budget) return -1;
    for (i = 0; i < len; i++, rng_pos++) dst[i] = (unsigned char)(rng_pos * 37 + 11);
    return 0;
}

static wsproxy_client client;   /* large: static */
static unsigned char sent[1 << 18];
static size_t sent_len;

static void base_config(wsproxy_config *cfg, const char *url, const char *proxy)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = url;
    cfg->proxy = proxy;
    cfg->random = fixed_random;
    rng_pos = 0;
    rng_budget = (unsigned long)-1;
}

static void drain(void)
{
    const unsigned char *p;
    size_t n;
    while ((p = wsproxy_send_buf(&client, &n)) != NULL) {
        if (sent_len + n <= sizeof sent) { memcpy(sent + sent_len, p, n); sent_len += n; }
        wsproxy_send_ack(&client, n);
    }
}

static void take_events(int *final_code)
{
    wsproxy_event ev;
    while (wsproxy_poll(&client, &ev)) {
        if (ev.type == WSPROXY_EV_ERROR) *final_code = wsproxy_error(&client);
        else if (ev.type == WSPROXY_EV_CLOSE) *final_code = 0;
        drain();
    }
    drain();
}

/* The accept value for the key of the upgrade request: the key is the first 16 bytes
   the client drew from the fixed random stream at init, in base64. */
static void accept_for_request(char out[29])
{
    unsigned char nonce[16];
    char key[25];
    unsigned long i;
    for (i = 0; i < 16; i++) nonce[i] = (unsigned char)(i * 37 + 11);
    wsproxy_base64(nonce, 16, key, sizeof key);
    wsproxy_accept_key(key, 24, out);
}

/* Expands "{A}" into the accept value. */
static size_t expand(const char *in, size_t len, unsigned char *out)
{
    char acc[29];
    size_t i = 0, o = 0;
    accept_for_request(acc);
    while (i < len) {
        if (i + 3 <= len && memcmp(in + i, "{A}", 3) == 0) { memcpy(out + o, acc, 28); o += 28; i += 3; }
        else out[o++] = (unsigned char)in[i++];
    }
    return o;
}

static void feed(const unsigned char *p, size_t n, int bytewise, int *final_code)
{
    size_t off = 0;
    while (off < n) {
        size_t want = bytewise ? 1 : n - off, took = wsproxy_feed(&client, p + off, want);
        off += took;
        take_events(final_code);
        if (took == 0) {
            size_t room;
            if (!wsproxy_recv_buf(&client, &room)) break;
        }
    }
    take_events(final_code);
}

/* ---- tables ----------------------------------------------------------------------- */
/* what to do after the bytes */
enum { AFTER_NONE = 0, AFTER_EOF, AFTER_RESET, AFTER_TIMEOUT, AFTER_CLOSE_TIMEOUT };
/* how the connection starts */
enum { START_DIRECT = 0, START_PROXY, START_OPEN_DIRECT, START_OPEN_PROXY,
       START_SOCKS5H, START_SOCKS5H_NOAUTH, START_SOCKS4A };

typedef struct {
    const char *name;
    int start;
    const char *bytes;     /* may hold "{A}" */
    size_t len;            /* 0: strlen(bytes) */
    int after;
    int expect;            /* the sticky error, 0 for a clean close */
    int close_code;        /* close code the client must send (0: none checked) */
    uint64_t max_message;  /* 0: default */
    int protocols;         /* 1: offer "chat" */
    int reassemble;        /* 1: a 16-byte message buffer */
} stream_case;

#define OK101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {A}\r\n\r\n"
#define H101(extra) "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" extra "\r\n"
#define OK200 "HTTP/1.1 200 Connection established\r\n\r\n"

/* The close code in the last close frame the client wrote (sent[] holds frames only
   once the connection is open), 0 when it wrote none. */
static int last_close_sent(void)
{
    size_t off = 0, i;
    int code = 0;
    while (off + 6 <= sent_len) {
        size_t hl = 2, len = sent[off + 1] & 127;
        const unsigned char *k;
        if (len == 126) { len = (size_t)sent[off + 2] << 8 | sent[off + 3]; hl = 4; }
        else if (len == 127) { len = 0; for (i = 0; i < 8; i++) len = len << 8 | sent[off + 2 + i]; hl = 10; }
        k = sent + off + hl;
        hl += 4;
        if (off + hl + len > sent_len) break;
        if ((sent[off] & 15) == WSPROXY_OP_CLOSE)
            code = len >= 2 ? ((sent[off + hl] ^ k[0]) << 8 | (sent[off + hl + 1] ^ k[1])) : 1005;
        off += hl + len;
    }
    return code;
}

static int run_stream(const stream_case *c, int bytewise, int *close_sent)
{
    static const char *const protos[] = {"chat", NULL};
    static unsigned char msgbuf[16];
    static unsigned char buf[1 << 17];
    wsproxy_config cfg;
    int final_code = -1, via = c->start == START_PROXY || c->start == START_OPEN_PROXY;
    size_t n;
    base_config(&cfg, "ws://server.test/chat", via ? "http://proxy.test:3128" : NULL);
    if (c->start == START_SOCKS5H) cfg.proxy = "socks5h://alice:pw@proxy.test:1080";
    if (c->start == START_SOCKS5H_NOAUTH) cfg.proxy = "socks5h://proxy.test:1080";
    if (c->start == START_SOCKS4A) cfg.proxy = "socks4a://alice@proxy.test:1080";
    cfg.max_message = c->max_message;
    if (c->protocols) cfg.protocols = protos;
    if (c->reassemble) { cfg.message_buffer = msgbuf; cfg.message_buffer_len = sizeof msgbuf; }
    sent_len = 0;
    if (wsproxy_init(&client, &cfg) != WSPROXY_OK) return -2;
    drain();
    if (c->start == START_OPEN_PROXY) {
        n = expand(OK200, strlen(OK200), buf);
        feed(buf, n, bytewise, &final_code);
    }
    if (c->start == START_OPEN_DIRECT || c->start == START_OPEN_PROXY) {
        n = expand(OK101, strlen(OK101), buf);
        feed(buf, n, bytewise, &final_code);
        if (wsproxy_get_state(&client) != WSPROXY_STATE_OPEN) return -3;
        sent_len = 0;   /* from here on only frames */
    }
    n = expand(c->bytes, c->len ? c->len : strlen(c->bytes), buf);
    feed(buf, n, bytewise, &final_code);
    switch (c->after) {
    case AFTER_EOF: wsproxy_socket_closed(&client, 0); break;
    case AFTER_RESET: wsproxy_socket_closed(&client, ECONNREFUSED); break;
    case AFTER_TIMEOUT: wsproxy_timeout(&client); break;
    case AFTER_CLOSE_TIMEOUT:
        wsproxy_close(&client, 1000, NULL, 0);
        drain();
        wsproxy_timeout(&client);
        break;
    default: break;
    }
    take_events(&final_code);
    if (close_sent) *close_sent = last_close_sent();
    return final_code < 0 ? wsproxy_error(&client) : final_code;
}

static void run_stream_table(const stream_case *cases, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        int whole, bytes, cs = 0, cs2 = 0;
        whole = run_stream(&cases[i], 0, &cs);
        bytes = run_stream(&cases[i], 1, &cs2);
        cases_run++;
        TEST_CASE(cases[i].name);
        CHECK_EQ_INT(whole, cases[i].expect);
        CHECK_EQ_INT(bytes, cases[i].expect);
        if (cases[i].close_code) {
            CHECK_EQ_INT(cs, cases[i].close_code);
            CHECK_EQ_INT(cs2, cases[i].close_code);
        }
    }
}

/* ---- 1. URLs --------------------------------------------------------------------- */
typedef struct { const char *name, *url, *proxy; int expect; } url_case;

static char long_url[WSPROXY_MAX_URL_BYTES + 10], long_host[300], long_user[300], long_socks_user[300];

static const url_case url_cases[] = {
    {"url: empty", "", NULL, WSPROXY_E_URL_HOST},
    {"url: scheme only", "ws://", NULL, WSPROXY_E_URL_HOST},
    {"url: one slash", "ws:/h/", NULL, WSPROXY_E_URL_SYNTAX},
    {"url: unknown scheme", "ftp://h/", NULL, WSPROXY_E_URL_SCHEME},
    {"url: http target", "http://h/", NULL, WSPROXY_E_URL_SCHEME},
    {"url: https target", "https://h/", NULL, WSPROXY_E_URL_SCHEME},
    {"url: socks target", "socks5://h", NULL, WSPROXY_E_URL_SCHEME},
    {"url: bare host taken as http", "example.com", NULL, WSPROXY_E_URL_SCHEME},
    {"url: bare host with path", "example.com/chat", NULL, WSPROXY_E_URL_SYNTAX},
    {"url: scheme with digit first", "1ws://h/", NULL, WSPROXY_E_URL_SYNTAX},
    {"url: port 0", "ws://h:0/", NULL, WSPROXY_E_URL_PORT},
    {"url: port 65536", "ws://h:65536/", NULL, WSPROXY_E_URL_PORT},
    {"url: port overflow", "ws://h:99999999999999999999/", NULL, WSPROXY_E_URL_PORT},
    {"url: port negative", "ws://h:-1/", NULL, WSPROXY_E_URL_PORT},
    {"url: port with letter", "ws://h:8a/", NULL, WSPROXY_E_URL_PORT},
    {"url: two ports", "ws://h:80:81/", NULL, WSPROXY_E_URL_PORT},
    {"url: fragment after path", "ws://h/#f", NULL, WSPROXY_E_URL_FRAGMENT},
    {"url: fragment after host", "ws://h#f", NULL, WSPROXY_E_URL_FRAGMENT},
    {"url: fragment after query", "ws://h/?a=1#f", NULL, WSPROXY_E_URL_FRAGMENT},
    {"url: space", "ws://h/a b", NULL, WSPROXY_E_URL_CHAR},
    {"url: CR LF", "ws://h/\r\nX-Injected: 1", NULL, WSPROXY_E_URL_CHAR},
    {"url: LF alone", "ws://h/\n", NULL, WSPROXY_E_URL_CHAR},
    {"url: CR in host", "ws://h\r/", NULL, WSPROXY_E_URL_CHAR},
    {"url: control byte", "ws://h/\x01", NULL, WSPROXY_E_URL_CHAR},
    {"url: DEL", "ws://h/\x7f", NULL, WSPROXY_E_URL_CHAR},
    {"url: tab", "ws://h\t/", NULL, WSPROXY_E_URL_CHAR},
    {"url: non-ASCII", "ws://h/caf\xc3\xa9", NULL, WSPROXY_E_URL_CHAR},
    {"url: credentials in ws://", "ws://u:p@h/", NULL, WSPROXY_E_URL_USERINFO},
    {"url: empty userinfo in ws://", "ws://@h/", NULL, WSPROXY_E_URL_USERINFO},
    {"url: IPv6 unclosed", "ws://[::1/", NULL, WSPROXY_E_URL_HOST},
    {"url: IPv6 two gaps", "ws://[1::2::3]/", NULL, WSPROXY_E_URL_HOST},
    {"url: IPv6 junk after ]", "ws://[::1]x/", NULL, WSPROXY_E_URL_HOST},
    {"url: IPv6 zone", "ws://[fe80::1%25eth0]/", NULL, WSPROXY_E_URL_HOST},
    {"url: IPv6 nine groups", "ws://[1:2:3:4:5:6:7:8:9]/", NULL, WSPROXY_E_URL_HOST},
    {"url: IPv6 5-digit group", "ws://[12345::1]/", NULL, WSPROXY_E_URL_HOST},
    {"url: IPv6 empty", "ws://[]/", NULL, WSPROXY_E_URL_HOST},
    {"url: host with !", "ws://exa!mple.com/", NULL, WSPROXY_E_URL_HOST},
    {"url: numeric host with leading zero", "ws://01.2.3.4/", NULL, WSPROXY_E_URL_HOST},
    {"url: three-part numeric host", "ws://1.2.3/", NULL, WSPROXY_E_URL_HOST},
    {"url: octet over 255", "ws://256.0.0.1/", NULL, WSPROXY_E_URL_HOST},
    {"url: five-part numeric host", "ws://1.2.3.4.5/", NULL, WSPROXY_E_URL_HOST},
    {"url: host 254 bytes", long_host, NULL, WSPROXY_E_URL_HOST},
    {"url: too long", long_url, NULL, WSPROXY_E_URL_TOO_LONG},
    {"proxy: ws:// scheme", "ws://h/", "ws://p:1", WSPROXY_E_URL_SCHEME},
    {"proxy: wss:// scheme", "ws://h/", "wss://p:1", WSPROXY_E_URL_SCHEME},
    {"proxy: ftp:// scheme", "ws://h/", "ftp://p:1", WSPROXY_E_URL_SCHEME},
    {"proxy: path", "ws://h/", "http://p/path", WSPROXY_E_URL_SYNTAX},
    {"proxy: path after port", "ws://h/", "http://p:1/x", WSPROXY_E_URL_SYNTAX},
    {"proxy: query", "ws://h/", "http://p:1?x", WSPROXY_E_URL_SYNTAX},
    {"proxy: bare host with path", "ws://h/", "p:1/x", WSPROXY_E_URL_SYNTAX},
    {"proxy: colon-slash without scheme", "ws://h/", "p:/x", WSPROXY_E_URL_SYNTAX},
    {"proxy: bad escape", "ws://h/", "http://u:p%zz@p:1", WSPROXY_E_URL_USERINFO},
    {"proxy: truncated escape", "ws://h/", "http://u:p%4@p:1", WSPROXY_E_URL_USERINFO},
    {"proxy: password decodes to CR", "ws://h/", "http://u:p%0d@p:1", WSPROXY_E_URL_USERINFO},
    {"proxy: password decodes to LF", "ws://h/", "http://u:p%0A@p:1", WSPROXY_E_URL_USERINFO},
    {"proxy: password decodes to NUL", "ws://h/", "http://u:p%00@p:1", WSPROXY_E_URL_USERINFO},
    {"proxy: user decodes to LF", "ws://h/", "http://u%0a:p@p:1", WSPROXY_E_URL_USERINFO},
    {"proxy: user decodes to colon", "ws://h/", "http://u%3a:p@p:1", WSPROXY_E_URL_USERINFO},
    {"proxy: user over 255 bytes", "ws://h/", long_user, WSPROXY_E_URL_USERINFO},
    {"proxy: port 0", "ws://h/", "http://p:0", WSPROXY_E_URL_PORT},
    {"proxy: port 70000", "ws://h/", "http://p:70000", WSPROXY_E_URL_PORT},
    {"proxy: IPv6 unclosed", "ws://h/", "http://[::1", WSPROXY_E_URL_HOST},
    {"proxy: empty host", "ws://h/", "http://:3128", WSPROXY_E_URL_HOST},
    {"proxy: fragment", "ws://h/", "http://p:1#x", WSPROXY_E_URL_FRAGMENT},
    {"proxy: space", "ws://h/", "http://p q:1", WSPROXY_E_URL_CHAR},
    {"proxy: CR LF", "ws://h/", "http://p:1\r\nX: 1", WSPROXY_E_URL_CHAR},
#ifdef WSPROXY_SOCKS_DONE   /* SOCKS in wsproxy.h */
    {"socks5: host name, no address given", "ws://server.test/", "socks5://p:1080", WSPROXY_E_SOCKS_NEED_ADDRESS},
    {"socks4: host name, no address given", "ws://server.test/", "socks4://p:1080", WSPROXY_E_SOCKS_NEED_ADDRESS},
    {"socks4: IPv6 target", "ws://[2001:db8::1]/", "socks4://p:1080", WSPROXY_E_SOCKS4_IPV6},
    {"socks4a: IPv6 target", "ws://[2001:db8::1]/", "socks4a://p:1080", WSPROXY_E_SOCKS4_IPV6},
    {"socks5h: user over 255 bytes", "ws://h/", long_socks_user, WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG},
    {"socks5h: bad escape in the password", "ws://h/", "socks5h://u:%zz@p:1080", WSPROXY_E_URL_USERINFO},
    {"socks5h: path", "ws://h/", "socks5h://p:1080/x", WSPROXY_E_URL_SYNTAX},
#else
#endif
#ifndef WSPROXY_SOCKS_DONE   /* SOCKS not in wsproxy.h yet */
    {"proxy: socks5 not supported yet", "ws://h/", "socks5://p:1080", WSPROXY_E_UNSUPPORTED},
    {"proxy: socks4a not supported yet", "ws://h/", "socks4a://p:1080", WSPROXY_E_UNSUPPORTED},
#endif
};

static void test_urls(void)
{
    size_t i;
    memcpy(long_url, "ws://h/", 7);
    memset(long_url + 7, 'a', sizeof long_url - 8);
    long_url[sizeof long_url - 1] = 0;
    memcpy(long_host, "ws://", 5);
    memset(long_host + 5, 'a', 254);
    strcpy(long_host + 5 + 254, "/");
    memcpy(long_user, "http://", 7);
    memset(long_user + 7, 'u', 256);
    strcpy(long_user + 7 + 256, "@p:1");
    memcpy(long_socks_user, "socks5h://", 10);
    memset(long_socks_user + 10, 'u', 256);
    strcpy(long_socks_user + 10 + 256, "@p:1");
    for (i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        wsproxy_config cfg;
        size_t n;
        const url_case *c = &url_cases[i];
        base_config(&cfg, c->url, c->proxy);
        CASE_CHECK_EQ(c->name, wsproxy_init(&client, &cfg), c->expect);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);   /* no byte produced */
    }
    /* the pure parser directly, on slices (no NUL needed) */
    {
        wsproxy_url u;
        CASE_CHECK_EQ("url_parse: NULL string", wsproxy_url_parse(NULL, 0, &u), WSPROXY_E_ARGUMENT);
        CASE_CHECK_EQ("url_parse: NULL result", wsproxy_url_parse("ws://h/", 7, NULL), WSPROXY_E_ARGUMENT);
        CASE_CHECK_EQ("url_parse: slice ends before a space (control)", wsproxy_url_parse("ws://h/ab c", 9, &u), WSPROXY_OK);
        CASE_CHECK_EQ("url_parse: slice with NUL inside", wsproxy_url_parse("ws://h/\0x", 9, &u), WSPROXY_E_URL_CHAR);
    }
}

/* ---- 2. headers and other configuration ------------------------------------------- */
typedef struct {
    const char *name;
    const char *proxy;
    const char *headers[3], *proxy_headers[3], *protocols[4];
    const char *origin;
    int expect;
} config_case;

static char huge_value[5200], huge_proxy_value[5200], huge_origin[5000], long_proto[80];

static const config_case config_cases[] = {
    {"header: CRLF injection", NULL, {"X-A: 1\r\nX-B: 2"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: LF", NULL, {"X-A: 1\n"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: CR", NULL, {"X-A: a\rb"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: control byte", NULL, {"X-A: \x01"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: DEL", NULL, {"X-A: \x7f"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: no colon", NULL, {"NoColon"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: empty name", NULL, {": value"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: empty string", NULL, {""}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: space in name", NULL, {"Bad Name: 1"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: space before colon", NULL, {"X-A : 1"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: separator in name", NULL, {"Na(me: 1"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: second one bad", NULL, {"X-Ok: 1", "X-Bad: \n"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"header: Host", NULL, {"Host: evil"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: host lower case", NULL, {"host: evil"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Upgrade", NULL, {"Upgrade: h2c"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Connection", NULL, {"Connection: close"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Sec-WebSocket-Key", NULL, {"Sec-WebSocket-Key: x"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Sec-WebSocket-Version", NULL, {"Sec-WebSocket-Version: 8"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Sec-WebSocket-Accept", NULL, {"Sec-WebSocket-Accept: x"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Sec-WebSocket-Protocol", NULL, {"Sec-WebSocket-Protocol: x"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Sec-WebSocket-Extensions", NULL, {"Sec-WebSocket-Extensions: x"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Content-Length", NULL, {"Content-Length: 0"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Transfer-Encoding", NULL, {"Transfer-Encoding: chunked"}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Proxy-Authorization to the target", NULL, {"Proxy-Authorization: Basic eA=="}, {0}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"header: Origin beside cfg.origin", NULL, {"Origin: x"}, {0}, {0}, "http://o", WSPROXY_E_HEADER_RESERVED},
    {"header: value too large", NULL, {huge_value}, {0}, {0}, NULL, WSPROXY_E_REQUEST_TOO_LARGE},
    {"origin: CR LF", NULL, {0}, {0}, {0}, "http://o\r\nX: 1", WSPROXY_E_HEADER_INVALID},
    {"origin: LF", NULL, {0}, {0}, {0}, "http://o\n", WSPROXY_E_HEADER_INVALID},
    {"origin: control byte", NULL, {0}, {0}, {0}, "http://o\x02", WSPROXY_E_HEADER_INVALID},
    {"origin: too large", NULL, {0}, {0}, {0}, huge_origin, WSPROXY_E_REQUEST_TOO_LARGE},
    {"protocol: space", NULL, {0}, {0}, {"a b"}, NULL, WSPROXY_E_PROTOCOL_INVALID},
    {"protocol: empty", NULL, {0}, {0}, {""}, NULL, WSPROXY_E_PROTOCOL_INVALID},
    {"protocol: comma", NULL, {0}, {0}, {"a,b"}, NULL, WSPROXY_E_PROTOCOL_INVALID},
    {"protocol: CR LF", NULL, {0}, {0}, {"chat\r\nX: 1"}, NULL, WSPROXY_E_PROTOCOL_INVALID},
    {"protocol: slash", NULL, {0}, {0}, {"a/b"}, NULL, WSPROXY_E_PROTOCOL_INVALID},
    {"protocol: repeated", NULL, {0}, {0}, {"chat", "x", "chat"}, NULL, WSPROXY_E_PROTOCOL_INVALID},
    {"protocol: over 64 bytes", NULL, {0}, {0}, {long_proto}, NULL, WSPROXY_E_PROTOCOL_INVALID},
    {"proxy header: Host", "http://p:1", {0}, {"Host: x"}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"proxy header: Content-Length", "http://p:1", {0}, {"Content-Length: 1"}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"proxy header: Transfer-Encoding", "http://p:1", {0}, {"Transfer-Encoding: x"}, {0}, NULL, WSPROXY_E_HEADER_RESERVED},
    {"proxy header: CR LF", "http://p:1", {0}, {"X-P: 1\r\nX-Q: 2"}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"proxy header: NUL-free control byte", "http://p:1", {0}, {"X-P: \x1b[31m"}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"proxy header: no colon", "http://p:1", {0}, {"X-P"}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
    {"proxy header: value too large", "http://p:1", {0}, {huge_proxy_value}, {0}, NULL, WSPROXY_E_REQUEST_TOO_LARGE},
    {"target header checked even via a proxy", "http://p:1", {"Bad Name: 1"}, {0}, {0}, NULL, WSPROXY_E_HEADER_INVALID},
};

static void test_config(void)
{
    size_t i;
    wsproxy_config cfg;
    unsigned char mb[8];
    size_t n;
    memcpy(huge_value, "X-Big: ", 7);
    memset(huge_value + 7, 'v', sizeof huge_value - 8);
    memcpy(huge_proxy_value, "X-Big: ", 7);
    memset(huge_proxy_value + 7, 'v', sizeof huge_proxy_value - 8);
    memset(huge_origin, 'o', sizeof huge_origin - 1);
    memset(long_proto, 'p', 65);
    for (i = 0; i < sizeof config_cases / sizeof config_cases[0]; i++) {
        const config_case *c = &config_cases[i];
        base_config(&cfg, "ws://h/", c->proxy);
        if (c->headers[0]) cfg.headers = c->headers;
        if (c->proxy_headers[0]) cfg.proxy_headers = c->proxy_headers;
        if (c->protocols[0]) cfg.protocols = c->protocols;
        cfg.origin = c->origin;
        CASE_CHECK_EQ(c->name, wsproxy_init(&client, &cfg), c->expect);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
    }
    /* many headers: together over the request limit */
    {
        static char hdr[40][120];
        const char *list[41];
        for (i = 0; i < 40; i++) {
            snprintf(hdr[i], sizeof hdr[i], "X-H%02u: %0100u", (unsigned)i, 0u);
            list[i] = hdr[i];
        }
        list[40] = NULL;
        base_config(&cfg, "ws://h/", NULL);
        cfg.headers = list;
        CASE_CHECK_EQ("headers: 40 x 100 bytes over the request limit", wsproxy_init(&client, &cfg),
                      WSPROXY_E_REQUEST_TOO_LARGE);
        base_config(&cfg, "ws://h/", "http://p:1");
        cfg.proxy_headers = list;
        CASE_CHECK_EQ("proxy headers: over the CONNECT limit", wsproxy_init(&client, &cfg),
                      WSPROXY_E_REQUEST_TOO_LARGE);
    }
    base_config(&cfg, "ws://h/", NULL);
    CASE_CHECK_EQ("config: NULL config", wsproxy_init(&client, NULL), WSPROXY_E_ARGUMENT);
    CASE_CHECK_EQ("config: NULL client", wsproxy_init(NULL, &cfg), WSPROXY_E_ARGUMENT);
    base_config(&cfg, NULL, NULL);
    CASE_CHECK_EQ("config: NULL url", wsproxy_init(&client, &cfg), WSPROXY_E_ARGUMENT);
    base_config(&cfg, "ws://h/", NULL);
    cfg.random = NULL;
    CASE_CHECK_EQ("config: no random callback", wsproxy_init(&client, &cfg), WSPROXY_E_ARGUMENT);
    base_config(&cfg, "ws://h/", NULL);
    cfg.message_buffer = mb;
    cfg.message_buffer_len = 0;
    CASE_CHECK_EQ("config: message buffer of 0 bytes", wsproxy_init(&client, &cfg), WSPROXY_E_ARGUMENT);
#ifdef WSPROXY_SOCKS_DONE
    {
        static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, v4[4] = {10, 0, 0, 1};
        base_config(&cfg, "ws://server.test/", "socks4://p:1080");
        cfg.target_address = v6;
        cfg.target_address_type = WSPROXY_HOST_IPV6;
        CASE_CHECK_EQ("socks4: resolved to IPv6", wsproxy_init(&client, &cfg), WSPROXY_E_SOCKS4_IPV6);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
        base_config(&cfg, "ws://server.test/", "socks5://p:1080");
        cfg.target_address = v4;
        cfg.target_address_type = 7;
        CASE_CHECK_EQ("socks5: address of an unknown type", wsproxy_init(&client, &cfg), WSPROXY_E_ARGUMENT);
        base_config(&cfg, "ws://server.test/", "socks5://p:1080");
        cfg.target_address = v4;
        cfg.target_address_type = WSPROXY_HOST_IPV4;
        CASE_CHECK_EQ("socks5: resolved address (control)", wsproxy_init(&client, &cfg), WSPROXY_OK);
    }
#endif
    base_config(&cfg, "ws://h/", NULL);
    rng_budget = 0;
    CASE_CHECK_EQ("config: random source fails", wsproxy_init(&client, &cfg), WSPROXY_E_RANDOM);
    CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
}

/* ---- 3. the CONNECT reply ------------------------------------------------------------ */
#define F(s) s, sizeof(s) - 1
static char many_headers[64 * 12 + 200], long_line[5200], big_head[9300], long_fold[5100], long_bad_status[5100];

static const stream_case connect_cases[] = {
    {"CONNECT: 407", START_PROXY, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"r\"\r\n\r\n", 0, 0, WSPROXY_E_PROXY_AUTH, 0, 0, 0, 0},
    {"CONNECT: 407 without Proxy-Authenticate", START_PROXY, "HTTP/1.0 407\r\n\r\n", 0, 0, WSPROXY_E_PROXY_AUTH, 0, 0, 0, 0},
    {"CONNECT: 403", START_PROXY, "HTTP/1.1 403 Forbidden\r\n\r\n", 0, 0, WSPROXY_E_PROXY_CONNECT, 0, 0, 0, 0},
    {"CONNECT: 502", START_PROXY, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad", 0, 0, WSPROXY_E_PROXY_CONNECT, 0, 0, 0, 0},
    {"CONNECT: 300", START_PROXY, "HTTP/1.1 300 Multiple\r\n\r\n", 0, 0, WSPROXY_E_PROXY_CONNECT, 0, 0, 0, 0},
    {"CONNECT: 101 to CONNECT", START_PROXY, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, 0, WSPROXY_E_PROXY_CONNECT, 0, 0, 0, 0},
    {"CONNECT: 5 interim replies", START_PROXY, "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 B\r\n\r\nHTTP/1.1 102 C\r\n\r\nHTTP/1.1 103 D\r\n\r\nHTTP/1.1 199 E\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: not HTTP", START_PROXY, "SSH-2.0-OpenSSH\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: lower-case http", START_PROXY, "http/1.1 200 OK\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: HTTP/2", START_PROXY, "HTTP/2 200\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: four-digit status", START_PROXY, "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: two-digit status", START_PROXY, "HTTP/1.1 20 OK\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: status 600", START_PROXY, "HTTP/1.1 600 x\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: no space after status", START_PROXY, "HTTP/1.1 200OK\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: bare CR", START_PROXY, "HTTP/1.1 200 OK\rX: y\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: NUL in a header", START_PROXY, F("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"), 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: folded header", START_PROXY, "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: header without colon", START_PROXY, "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: space before colon", START_PROXY, "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: 65 headers", START_PROXY, many_headers, 0, 0, WSPROXY_E_PROXY_REPLY_TOO_LARGE, 0, 0, 0, 0},
    {"CONNECT: 5000-byte line", START_PROXY, long_line, 0, 0, WSPROXY_E_PROXY_REPLY_TOO_LARGE, 0, 0, 0, 0},
    {"CONNECT: head over 8192 bytes", START_PROXY, big_head, 0, 0, WSPROXY_E_PROXY_REPLY_TOO_LARGE, 0, 0, 0, 0},
    /* wrong from an early byte and also over the line limit: the first fault counts,
       whatever the segmentation (fuzz_http_response found whole != byte by byte) */
    {"CONNECT: folded line, also over the line limit", START_PROXY, long_fold, 0, 0, WSPROXY_E_PROXY_BAD_REPLY, 0, 0, 0, 0},
    {"CONNECT: EOF mid head", START_PROXY, "HTTP/1.1 200 OK\r\n", 0, AFTER_EOF, WSPROXY_E_PROXY_CLOSED, 0, 0, 0, 0},
    {"CONNECT: EOF mid 407", START_PROXY, "HTTP/1.1 407 Proxy", 0, AFTER_EOF, WSPROXY_E_PROXY_CLOSED, 0, 0, 0, 0},
    {"CONNECT: EOF before any byte", START_PROXY, "", 0, AFTER_EOF, WSPROXY_E_PROXY_CLOSED, 0, 0, 0, 0},
    {"CONNECT: connect refused", START_PROXY, "", 0, AFTER_RESET, WSPROXY_E_PROXY_REFUSED, 0, 0, 0, 0},
    {"CONNECT: timer fires", START_PROXY, "HTTP/1.1 2", 0, AFTER_TIMEOUT, WSPROXY_E_PROXY_TIMEOUT, 0, 0, 0, 0},
};

/* ---- 3b. SOCKS replies ------------------------------------------------------------ */
#define SOCKS_OK_V4 "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38"
static const stream_case socks_cases[] = {
    {"socks5: no acceptable method", START_SOCKS5H_NOAUTH, F("\x05\xff"), 0, WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD, 0, 0, 0, 0},
    {"socks5: user/password chosen, not offered", START_SOCKS5H_NOAUTH, F("\x05\x02"), 0, WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, 0, 0, 0, 0},
    {"socks5: GSSAPI chosen", START_SOCKS5H, F("\x05\x01"), 0, WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, 0, 0, 0, 0},
    {"socks5: method reply of version 4", START_SOCKS5H, F("\x04\x00"), 0, WSPROXY_E_SOCKS_BAD_VERSION, 0, 0, 0, 0},
    {"socks5: password refused", START_SOCKS5H, F("\x05\x02\x01\x01"), 0, WSPROXY_E_SOCKS_AUTH_FAILED, 0, 0, 0, 0},
    {"socks5: auth reply of version 5", START_SOCKS5H, F("\x05\x02\x05\x00"), 0, WSPROXY_E_SOCKS_BAD_VERSION, 0, 0, 0, 0},
    {"socks5: REP 1 general failure", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_SOCKS_GENERAL_FAILURE, 0, 0, 0, 0},
    {"socks5: REP 2 not allowed", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x02"), 0, WSPROXY_E_SOCKS_NOT_ALLOWED, 0, 0, 0, 0},
    {"socks5: REP 3 network unreachable", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x03"), 0, WSPROXY_E_SOCKS_NETWORK_UNREACHABLE, 0, 0, 0, 0},
    {"socks5: REP 4 host unreachable", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x04"), 0, WSPROXY_E_SOCKS_HOST_UNREACHABLE, 0, 0, 0, 0},
    {"socks5: REP 5 refused", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x05"), 0, WSPROXY_E_SOCKS_CONNECTION_REFUSED, 0, 0, 0, 0},
    {"socks5: REP 6 TTL expired", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x06"), 0, WSPROXY_E_SOCKS_TTL_EXPIRED, 0, 0, 0, 0},
    {"socks5: REP 7 command not supported", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x07"), 0, WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED, 0, 0, 0, 0},
    {"socks5: REP 8 address type not supported", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x08"), 0, WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED, 0, 0, 0, 0},
    {"socks5: REP 9 unassigned", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x09"), 0, WSPROXY_E_SOCKS_UNKNOWN_REPLY, 0, 0, 0, 0},
    {"socks5: REP 255", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\xff"), 0, WSPROXY_E_SOCKS_UNKNOWN_REPLY, 0, 0, 0, 0},
    {"socks5: ATYP 2", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x00\x00\x02\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_SOCKS_BAD_REPLY, 0, 0, 0, 0},
    {"socks5: CONNECT reply of version 1", START_SOCKS5H_NOAUTH, F("\x05\x00\x01\x00\x00\x01"), 0, WSPROXY_E_SOCKS_BAD_VERSION, 0, 0, 0, 0},
    {"socks5: EOF inside the reply", START_SOCKS5H_NOAUTH, F("\x05\x00\x05\x00\x00"), AFTER_EOF, WSPROXY_E_PROXY_CLOSED, 0, 0, 0, 0},
    {"socks5: timer fires", START_SOCKS5H, F("\x05\x02"), AFTER_TIMEOUT, WSPROXY_E_PROXY_TIMEOUT, 0, 0, 0, 0},
    {"socks5: connect refused", START_SOCKS5H, F(""), AFTER_RESET, WSPROXY_E_PROXY_REFUSED, 0, 0, 0, 0},
    {"socks5: junk after the tunnel", START_SOCKS5H_NOAUTH, F("\x05\x00" SOCKS_OK_V4 "junk\r\n\r\n"), 0, WSPROXY_E_HANDSHAKE_BAD_REPLY, 0, 0, 0, 0},
    {"socks4a: rejected", START_SOCKS4A, F("\x00\x5b\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_SOCKS4_REJECTED, 0, 0, 0, 0},
    {"socks4a: identd unreachable", START_SOCKS4A, F("\x00\x5c\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE, 0, 0, 0, 0},
    {"socks4a: identd mismatch", START_SOCKS4A, F("\x00\x5d\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_SOCKS4_IDENTD_MISMATCH, 0, 0, 0, 0},
    {"socks4a: CD 0", START_SOCKS4A, F("\x00\x00\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_SOCKS4_UNKNOWN_REPLY, 0, 0, 0, 0},
    {"socks4a: reply version 4", START_SOCKS4A, F("\x04\x5a\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_SOCKS_BAD_VERSION, 0, 0, 0, 0},
    {"socks4a: EOF inside the reply", START_SOCKS4A, F("\x00\x5a\x00"), AFTER_EOF, WSPROXY_E_PROXY_CLOSED, 0, 0, 0, 0},
};

/* ---- 4. the 101 reply ---------------------------------------------------------------- */
static const stream_case upgrade_cases[] = {
    {"101: status 200", START_DIRECT, "HTTP/1.1 200 OK\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_STATUS, 0, 0, 0, 0},
    {"101: redirect", START_DIRECT, "HTTP/1.1 302 Found\r\nLocation: ws://x/\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_STATUS, 0, 0, 0, 0},
    {"101: 404", START_DIRECT, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_STATUS, 0, 0, 0, 0},
    {"101: interim 100", START_DIRECT, "HTTP/1.1 100 Continue\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_STATUS, 0, 0, 0, 0},
    {"101: no Upgrade", START_DIRECT, "HTTP/1.1 101 S\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {A}\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_UPGRADE, 0, 0, 0, 0},
    {"101: Upgrade h2c", START_DIRECT, "HTTP/1.1 101 S\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {A}\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_UPGRADE, 0, 0, 0, 0},
    {"101: Upgrade websocket2", START_DIRECT, "HTTP/1.1 101 S\r\nUpgrade: websocket2\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {A}\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_UPGRADE, 0, 0, 0, 0},
    {"101: no Connection", START_DIRECT, "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {A}\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_CONNECTION, 0, 0, 0, 0},
    {"101: Connection keep-alive", START_DIRECT, "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: {A}\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_CONNECTION, 0, 0, 0, 0},
    {"101: Connection upgraded", START_DIRECT, "HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: upgraded\r\nSec-WebSocket-Accept: {A}\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_CONNECTION, 0, 0, 0, 0},
    {"101: no accept", START_DIRECT, H101(""), 0, 0, WSPROXY_E_HANDSHAKE_ACCEPT, 0, 0, 0, 0},
    {"101: wrong accept", START_DIRECT, H101("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_ACCEPT, 0, 0, 0, 0},
    {"101: accept twice", START_DIRECT, H101("Sec-WebSocket-Accept: {A}\r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_ACCEPT, 0, 0, 0, 0},
    {"101: accept with a byte more", START_DIRECT, H101("Sec-WebSocket-Accept: {A}x\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_ACCEPT, 0, 0, 0, 0},
    {"101: accept empty", START_DIRECT, H101("Sec-WebSocket-Accept:\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_ACCEPT, 0, 0, 0, 0},
    {"101: extension", START_DIRECT, H101("Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_EXTENSION, 0, 0, 0, 0},
    {"101: protocol not offered", START_DIRECT, H101("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_PROTOCOL, 0, 0, 0, 0},
    {"101: other protocol", START_DIRECT, H101("Sec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_PROTOCOL, 0, 0, 1, 0},
    {"101: protocol list", START_DIRECT, H101("Sec-WebSocket-Protocol: chat, chat\r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_PROTOCOL, 0, 0, 1, 0},
    {"101: protocol twice", START_DIRECT, H101("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_PROTOCOL, 0, 0, 1, 0},
    {"101: protocol empty", START_DIRECT, H101("Sec-WebSocket-Protocol: \r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_PROTOCOL, 0, 0, 1, 0},
    {"101: protocol in other case", START_DIRECT, H101("Sec-WebSocket-Protocol: CHAT\r\nSec-WebSocket-Accept: {A}\r\n"), 0, 0, WSPROXY_E_HANDSHAKE_PROTOCOL, 0, 0, 1, 0},
    {"101: garbled header", START_DIRECT, "HTTP/1.1 101 S\r\nUpgrade websocket\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_BAD_REPLY, 0, 0, 0, 0},
    {"101: folded header", START_DIRECT, "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n\tmore\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_BAD_REPLY, 0, 0, 0, 0},
    {"101: not HTTP", START_DIRECT, "xyz\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_BAD_REPLY, 0, 0, 0, 0},
    {"101: 65 headers", START_DIRECT, many_headers, 0, 0, WSPROXY_E_HANDSHAKE_TOO_LARGE, 0, 0, 0, 0},
    {"101: 5000-byte line", START_DIRECT, long_line, 0, 0, WSPROXY_E_HANDSHAKE_TOO_LARGE, 0, 0, 0, 0},
    {"101: bad version byte, status line over the limit", START_DIRECT, long_bad_status, 0, 0, WSPROXY_E_HANDSHAKE_BAD_REPLY, 0, 0, 0, 0},
    {"101: EOF mid head", START_DIRECT, "HTTP/1.1 101 Switching", 0, AFTER_EOF, WSPROXY_E_HANDSHAKE_CLOSED, 0, 0, 0, 0},
    {"101: connect refused (direct)", START_DIRECT, "", 0, AFTER_RESET, WSPROXY_E_CONNECT_REFUSED, 0, 0, 0, 0},
    {"101: timer fires", START_DIRECT, "", 0, AFTER_TIMEOUT, WSPROXY_E_HANDSHAKE_TIMEOUT, 0, 0, 0, 0},
    {"101 via proxy: junk after the 200", START_PROXY, OK200 "junk\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_BAD_REPLY, 0, 0, 0, 0},
    {"101 via proxy: reset after the 200", START_PROXY, OK200, 0, AFTER_RESET, WSPROXY_E_HANDSHAKE_CLOSED, 0, 0, 0, 0},
    {"101 via proxy: 403 from the server", START_PROXY, OK200 "HTTP/1.1 403 Forbidden\r\n\r\n", 0, 0, WSPROXY_E_HANDSHAKE_STATUS, 0, 0, 0, 0},
    {"101 via proxy: timer fires", START_PROXY, OK200, 0, AFTER_TIMEOUT, WSPROXY_E_HANDSHAKE_TIMEOUT, 0, 0, 0, 0},
};

/* ---- 5-7. frames, close frames, UTF-8 ------------------------------------------------- */
static const stream_case frame_cases[] = {
    {"frame: RSV1", START_OPEN_DIRECT, F("\xc1\x00"), 0, WSPROXY_E_WS_RESERVED_BITS, 1002, 0, 0, 0},
    {"frame: RSV2", START_OPEN_DIRECT, F("\xa2\x00"), 0, WSPROXY_E_WS_RESERVED_BITS, 1002, 0, 0, 0},
    {"frame: RSV3 on a ping", START_OPEN_DIRECT, F("\x99\x00"), 0, WSPROXY_E_WS_RESERVED_BITS, 1002, 0, 0, 0},
    {"frame: opcode 3", START_OPEN_DIRECT, F("\x83\x00"), 0, WSPROXY_E_WS_OPCODE, 1002, 0, 0, 0},
    {"frame: opcode 7", START_OPEN_DIRECT, F("\x87\x00"), 0, WSPROXY_E_WS_OPCODE, 1002, 0, 0, 0},
    {"frame: opcode 11", START_OPEN_DIRECT, F("\x8b\x00"), 0, WSPROXY_E_WS_OPCODE, 1002, 0, 0, 0},
    {"frame: opcode 15", START_OPEN_DIRECT, F("\x8f\x00"), 0, WSPROXY_E_WS_OPCODE, 1002, 0, 0, 0},
    {"frame: masked text", START_OPEN_DIRECT, F("\x81\x81\x00\x00\x00\x00" "a"), 0, WSPROXY_E_WS_MASKED, 1002, 0, 0, 0},
    {"frame: masked ping", START_OPEN_DIRECT, F("\x89\x80\x01\x02\x03\x04"), 0, WSPROXY_E_WS_MASKED, 1002, 0, 0, 0},
    {"frame: ping without FIN", START_OPEN_DIRECT, F("\x09\x00"), 0, WSPROXY_E_WS_CONTROL_FRAGMENTED, 1002, 0, 0, 0},
    {"frame: close without FIN", START_OPEN_DIRECT, F("\x08\x00"), 0, WSPROXY_E_WS_CONTROL_FRAGMENTED, 1002, 0, 0, 0},
    {"frame: pong without FIN", START_OPEN_DIRECT, F("\x0a\x00"), 0, WSPROXY_E_WS_CONTROL_FRAGMENTED, 1002, 0, 0, 0},
    {"frame: ping of 126 bytes", START_OPEN_DIRECT, F("\x89\x7e\x00\x7e"), 0, WSPROXY_E_WS_CONTROL_TOO_LONG, 1002, 0, 0, 0},
    {"frame: close with 64-bit length", START_OPEN_DIRECT, F("\x88\x7f\x00\x00\x00\x00\x00\x00\x00\x02"), 0, WSPROXY_E_WS_CONTROL_TOO_LONG, 1002, 0, 0, 0},
    {"frame: 16-bit length under 126", START_OPEN_DIRECT, F("\x82\x7e\x00\x7d"), 0, WSPROXY_E_WS_LENGTH_NONMINIMAL, 1002, 0, 0, 0},
    {"frame: 64-bit length 0xFFFF", START_OPEN_DIRECT, F("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff"), 0, WSPROXY_E_WS_LENGTH_NONMINIMAL, 1002, 0, 0, 0},
    {"frame: 64-bit length 0", START_OPEN_DIRECT, F("\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_WS_LENGTH_NONMINIMAL, 1002, 0, 0, 0},
    {"frame: length top bit", START_OPEN_DIRECT, F("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"), 0, WSPROXY_E_WS_LENGTH_TOO_BIG, 1002, 0, 0, 0},
    {"frame: length 2^63-1", START_OPEN_DIRECT, F("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"), 0, WSPROXY_E_WS_MESSAGE_TOO_BIG, 1009, 0, 0, 0},
    {"frame: continuation first", START_OPEN_DIRECT, F("\x80\x01" "a"), 0, WSPROXY_E_WS_CONTINUATION, 1002, 0, 0, 0},
    {"frame: continuation after a whole message", START_OPEN_DIRECT, F("\x81\x01" "a\x00\x01" "b"), 0, WSPROXY_E_WS_CONTINUATION, 1002, 0, 0, 0},
    {"frame: text inside a text message", START_OPEN_DIRECT, F("\x01\x01" "a\x81\x01" "b"), 0, WSPROXY_E_WS_EXPECTED_CONTINUATION, 1002, 0, 0, 0},
    {"frame: binary inside a text message", START_OPEN_DIRECT, F("\x01\x00\x82\x00"), 0, WSPROXY_E_WS_EXPECTED_CONTINUATION, 1002, 0, 0, 0},
    {"frame: message over max_message", START_OPEN_DIRECT, F("\x82\x0b" "01234567890"), 0, WSPROXY_E_WS_MESSAGE_TOO_BIG, 1009, 10, 0, 0},
    {"frame: fragments over max_message", START_OPEN_DIRECT, F("\x02\x06" "abcdef\x80\x06" "abcdef"), 0, WSPROXY_E_WS_MESSAGE_TOO_BIG, 1009, 10, 0, 0},
    {"frame: over the reassembly buffer", START_OPEN_DIRECT, F("\x82\x11" "0123456789abcdefg"), 0, WSPROXY_E_WS_MESSAGE_TOO_BIG, 1009, 0, 0, 1},
    {"frame: EOF mid frame", START_OPEN_DIRECT, F("\x82\x05" "ab"), AFTER_EOF, WSPROXY_E_CONNECTION_LOST, 0, 0, 0, 0},
    {"frame: EOF without close", START_OPEN_DIRECT, F(""), AFTER_EOF, WSPROXY_E_CONNECTION_LOST, 0, 0, 0, 0},
    {"frame: reset", START_OPEN_DIRECT, F("\x81\x01" "a"), AFTER_RESET, WSPROXY_E_CONNECTION_LOST, 0, 0, 0, 0},
    {"frame: close reply never comes", START_OPEN_DIRECT, F(""), AFTER_CLOSE_TIMEOUT, WSPROXY_E_CLOSE_TIMEOUT, 0, 0, 0, 0},
    {"frame via proxy: RSV1", START_OPEN_PROXY, F("\xc1\x00"), 0, WSPROXY_E_WS_RESERVED_BITS, 1002, 0, 0, 0},
    {"close: 1-byte payload", START_OPEN_DIRECT, F("\x88\x01\x03"), 0, WSPROXY_E_WS_CLOSE_PAYLOAD, 1002, 0, 0, 0},
    {"close: code 0", START_OPEN_DIRECT, F("\x88\x02\x00\x00"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 999", START_OPEN_DIRECT, F("\x88\x02\x03\xe7"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 1004", START_OPEN_DIRECT, F("\x88\x02\x03\xec"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 1005", START_OPEN_DIRECT, F("\x88\x02\x03\xed"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 1006", START_OPEN_DIRECT, F("\x88\x02\x03\xee"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 1015", START_OPEN_DIRECT, F("\x88\x02\x03\xf7"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 1016", START_OPEN_DIRECT, F("\x88\x02\x03\xf8"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 2999", START_OPEN_DIRECT, F("\x88\x02\x0b\xb7"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 5000", START_OPEN_DIRECT, F("\x88\x02\x13\x88"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: code 65535", START_OPEN_DIRECT, F("\x88\x02\xff\xff"), 0, WSPROXY_E_WS_CLOSE_CODE, 1002, 0, 0, 0},
    {"close: reason not UTF-8", START_OPEN_DIRECT, F("\x88\x04\x03\xe8\xff\xfe"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"close: reason ends inside a code point", START_OPEN_DIRECT, F("\x88\x03\x03\xe8\xc3"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"close: reason with a surrogate", START_OPEN_DIRECT, F("\x88\x05\x03\xe8\xed\xb0\x80"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: overlong slash", START_OPEN_DIRECT, F("\x81\x02\xc0\xaf"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: overlong 3 bytes", START_OPEN_DIRECT, F("\x81\x03\xe0\x80\xaf"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: overlong 4 bytes", START_OPEN_DIRECT, F("\x81\x04\xf0\x80\x80\xaf"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: surrogate", START_OPEN_DIRECT, F("\x81\x03\xed\xa0\x80"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: over U+10FFFF", START_OPEN_DIRECT, F("\x81\x04\xf4\x90\x80\x80"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: lead byte F5", START_OPEN_DIRECT, F("\x81\x01\xf5"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: byte FF", START_OPEN_DIRECT, F("\x81\x01\xff"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: lone continuation", START_OPEN_DIRECT, F("\x81\x01\x80"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: message ends inside a code point", START_OPEN_DIRECT, F("\x81\x02\xe2\x82"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: fragmented message ends inside a code point", START_OPEN_DIRECT, F("\x01\x01\xe2\x80\x01\x82"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: bad continuation across fragments", START_OPEN_DIRECT, F("\x01\x01\xe2\x80\x01" "a"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 0},
    {"utf8: bad byte when reassembling", START_OPEN_DIRECT, F("\x81\x03" "a\xc3" "b"), 0, WSPROXY_E_WS_INVALID_UTF8, 1007, 0, 0, 1},
    {"close: clean close 1000 (control)", START_OPEN_DIRECT, F("\x88\x02\x03\xe8"), 0, 0, 1000, 0, 0, 0},
};

static void build_heads(void)
{
    size_t n, i;
    n = (size_t)sprintf(many_headers, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 65; i++) n += (size_t)sprintf(many_headers + n, "H%02u: v\r\n", (unsigned)i);
    strcpy(many_headers + n, "\r\n");
    n = (size_t)sprintf(long_line, "HTTP/1.1 200 OK\r\nX: ");
    memset(long_line + n, 'a', 5000);
    strcpy(long_line + n + 5000, "\r\n\r\n");
    n = (size_t)sprintf(big_head, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 60; i++) {
        n += (size_t)sprintf(big_head + n, "X-%02u: ", (unsigned)i);
        memset(big_head + n, 'b', 140);
        n += 140;
        n += (size_t)sprintf(big_head + n, "\r\n");
    }
    strcpy(big_head + n, "\r\n");
    n = (size_t)sprintf(long_fold, "HTTP/1.1 200 OK\r\nX: a\r\n ");
    memset(long_fold + n, 'a', 5000);
    n = (size_t)sprintf(long_bad_status, "HTTP/1.x");
    memset(long_bad_status + n, 'a', 5000);
}

/* ---- 8. the sending API --------------------------------------------------------------- */
static int open_client(int via_proxy)
{
    wsproxy_config cfg;
    unsigned char buf[512];
    size_t n;
    int fc = -1;
    base_config(&cfg, "ws://server.test/", via_proxy ? "http://p:1" : NULL);
    sent_len = 0;
    if (wsproxy_init(&client, &cfg) != WSPROXY_OK) return -1;
    drain();
    if (via_proxy) { n = expand(OK200, strlen(OK200), buf); feed(buf, n, 0, &fc); }
    n = expand(OK101, strlen(OK101), buf);
    feed(buf, n, 0, &fc);
    return wsproxy_get_state(&client) == WSPROXY_STATE_OPEN ? 0 : -1;
}

static int init_only(void)
{
    wsproxy_config cfg;
    base_config(&cfg, "ws://server.test/", NULL);
    return wsproxy_init(&client, &cfg);
}

static unsigned char big[20000];

static int s_before_open(void) { init_only(); return wsproxy_send_text(&client, "a", 1); }
static int s_ping_before_open(void) { init_only(); return wsproxy_ping(&client, NULL, 0); }
static int s_close_before_open(void) { init_only(); return wsproxy_close(&client, 1000, NULL, 0); }
static int s_begin_before_open(void) { init_only(); return wsproxy_send_begin(&client, WSPROXY_OP_BINARY, 10, 1); }
static int s_after_failure(void)
{
    wsproxy_config cfg;
    base_config(&cfg, "ws://h:0/", NULL);
    wsproxy_init(&client, &cfg);
    return wsproxy_send_binary(&client, "a", 1);
}
static int s_after_peer_fault(void)
{
    int fc = -1;
    open_client(0);
    feed((const unsigned char *)"\xc1\x00", 2, 0, &fc);
    return wsproxy_send_text(&client, "a", 1);
}
static int s_after_close(void) { open_client(0); wsproxy_close(&client, 1000, NULL, 0); return wsproxy_send_text(&client, "a", 1); }
static int s_after_close_event(void)
{
    int fc = -1;
    open_client(0);
    feed((const unsigned char *)"\x88\x00", 2, 0, &fc);
    return wsproxy_send_text(&client, "a", 1);
}
static int s_close_twice(void) { open_client(0); wsproxy_close(&client, 1000, NULL, 0); return wsproxy_close(&client, 1000, NULL, 0); }
static int s_ping_126(void) { open_client(0); return wsproxy_ping(&client, big, 126); }
static int s_pong_126(void) { open_client(0); return wsproxy_pong(&client, big, 126); }
static int s_opcode_3(void) { open_client(0); return wsproxy_send(&client, 3, "a", 1, 1); }
static int s_opcode_close(void) { open_client(0); return wsproxy_send(&client, WSPROXY_OP_CLOSE, NULL, 0, 1); }
static int s_opcode_16(void) { open_client(0); return wsproxy_send(&client, 16, "a", 1, 1); }
static int s_ping_no_fin(void) { open_client(0); return wsproxy_send(&client, WSPROXY_OP_PING, "a", 1, 0); }
static int s_cont_first(void) { open_client(0); return wsproxy_send(&client, WSPROXY_OP_CONTINUATION, "a", 1, 1); }
static int s_text_in_fragmented(void)
{
    open_client(0);
    wsproxy_send(&client, WSPROXY_OP_BINARY, "a", 1, 0);
    return wsproxy_send_text(&client, "b", 1);
}
static int s_null_data(void) { open_client(0); return wsproxy_send_binary(&client, NULL, 5); }
static int s_text_invalid(void) { open_client(0); return wsproxy_send_text(&client, "a\xff", 2); }
static int s_text_truncated(void) { open_client(0); return wsproxy_send_text(&client, "\xe2\x82", 2); }
static int s_text_surrogate(void) { open_client(0); return wsproxy_send_text(&client, "\xed\xa0\x80", 3); }
static int s_cont_truncated(void)
{
    open_client(0);
    wsproxy_send(&client, WSPROXY_OP_TEXT, "\xe2", 1, 0);
    return wsproxy_send(&client, WSPROXY_OP_CONTINUATION, "\x82", 1, 1);
}
static int s_too_large(void) { open_client(0); return wsproxy_send_binary(&client, big, sizeof big); }
static int s_would_block(void)
{
    open_client(0);
    wsproxy_send_binary(&client, big, 10000);   /* not drained */
    return wsproxy_send_binary(&client, big, 10000);
}
static int s_begin_ping(void) { open_client(0); return wsproxy_send_begin(&client, WSPROXY_OP_PING, 1, 1); }
static int s_begin_top_bit(void) { open_client(0); return wsproxy_send_begin(&client, WSPROXY_OP_BINARY, (uint64_t)1 << 63, 1); }
static int s_begin_twice(void)
{
    open_client(0);
    wsproxy_send_begin(&client, WSPROXY_OP_BINARY, 100, 1);
    return wsproxy_send_begin(&client, WSPROXY_OP_BINARY, 100, 1);
}
static int s_text_while_streaming(void)
{
    open_client(0);
    wsproxy_send_begin(&client, WSPROXY_OP_BINARY, 100, 1);
    return wsproxy_send_text(&client, "a", 1);
}
static int s_close_1005(void) { open_client(0); return wsproxy_close(&client, 1005, NULL, 0); }
static int s_close_1006(void) { open_client(0); return wsproxy_close(&client, 1006, NULL, 0); }
static int s_close_1015(void) { open_client(0); return wsproxy_close(&client, 1015, NULL, 0); }
static int s_close_999(void) { open_client(0); return wsproxy_close(&client, 999, NULL, 0); }
static int s_close_1004(void) { open_client(0); return wsproxy_close(&client, 1004, NULL, 0); }
static int s_close_2000(void) { open_client(0); return wsproxy_close(&client, 2000, NULL, 0); }
static int s_close_5000(void) { open_client(0); return wsproxy_close(&client, 5000, NULL, 0); }
static int s_close_negative(void) { open_client(0); return wsproxy_close(&client, -1000, NULL, 0); }
static int s_close_reason_no_code(void) { open_client(0); return wsproxy_close(&client, 0, "bye", 3); }
static int s_close_reason_124(void) { open_client(0); return wsproxy_close(&client, 1000, (const char *)big, 124); }
static int s_close_reason_bad(void) { open_client(0); return wsproxy_close(&client, 1000, "\xc0\xaf", 2); }
static int s_close_reason_null(void) { open_client(0); return wsproxy_close(&client, 1000, NULL, 3); }
static int s_random_fails_on_frame(void)
{
    open_client(0);
    rng_budget = rng_pos;   /* the pool is refilled for the first mask */
    return wsproxy_send_text(&client, "a", 1);
}
static int s_random_fails_on_binary(void)   /* a short binary message skips wsproxy_send */
{
    open_client(0);
    rng_budget = rng_pos;
    return wsproxy_send_binary(&client, "a", 1);
}
static int s_send_data_without_begin(void) { open_client(0); return (int)wsproxy_send_data(&client, "abc", 3); }
static int s_send_room_before_open(void) { init_only(); return (int)wsproxy_send_room(&client); }

typedef struct { const char *name; int (*fn)(void); int expect; } api_case;
static const api_case api_cases[] = {
    {"send: text before open", s_before_open, WSPROXY_E_STATE},
    {"send: ping before open", s_ping_before_open, WSPROXY_E_STATE},
    {"send: close before open", s_close_before_open, WSPROXY_E_STATE},
    {"send: begin before open", s_begin_before_open, WSPROXY_E_STATE},
    {"send: after a caller mistake", s_after_failure, WSPROXY_E_STATE},
    {"send: after a peer fault", s_after_peer_fault, WSPROXY_E_STATE},
    {"send: after close", s_after_close, WSPROXY_E_STATE},
    {"send: after the close handshake", s_after_close_event, WSPROXY_E_STATE},
    {"send: close twice", s_close_twice, WSPROXY_E_STATE},
    {"send: ping of 126 bytes", s_ping_126, WSPROXY_E_ARGUMENT},
    {"send: pong of 126 bytes", s_pong_126, WSPROXY_E_ARGUMENT},
    {"send: opcode 3", s_opcode_3, WSPROXY_E_ARGUMENT},
    {"send: close through wsproxy_send", s_opcode_close, WSPROXY_E_ARGUMENT},
    {"send: opcode 16", s_opcode_16, WSPROXY_E_ARGUMENT},
    {"send: ping without FIN", s_ping_no_fin, WSPROXY_E_ARGUMENT},
    {"send: continuation first", s_cont_first, WSPROXY_E_STATE},
    {"send: text inside a fragmented message", s_text_in_fragmented, WSPROXY_E_STATE},
    {"send: NULL data", s_null_data, WSPROXY_E_ARGUMENT},
    {"send: text not UTF-8", s_text_invalid, WSPROXY_E_TEXT_INVALID},
    {"send: text ends inside a code point", s_text_truncated, WSPROXY_E_TEXT_INVALID},
    {"send: text with a surrogate", s_text_surrogate, WSPROXY_E_TEXT_INVALID},
    {"send: last fragment ends inside a code point", s_cont_truncated, WSPROXY_E_TEXT_INVALID},
    {"send: frame over the send buffer", s_too_large, WSPROXY_E_SEND_TOO_LARGE},
    {"send: buffer full", s_would_block, WSPROXY_E_WOULD_BLOCK},
    {"send: begin a ping", s_begin_ping, WSPROXY_E_ARGUMENT},
    {"send: begin with the top bit", s_begin_top_bit, WSPROXY_E_ARGUMENT},
    {"send: begin while streaming", s_begin_twice, WSPROXY_E_STATE},
    {"send: text while streaming", s_text_while_streaming, WSPROXY_E_STATE},
    {"close: code 1005", s_close_1005, WSPROXY_E_CLOSE_CODE},
    {"close: code 1006", s_close_1006, WSPROXY_E_CLOSE_CODE},
    {"close: code 1015", s_close_1015, WSPROXY_E_CLOSE_CODE},
    {"close: code 999", s_close_999, WSPROXY_E_CLOSE_CODE},
    {"close: code 1004", s_close_1004, WSPROXY_E_CLOSE_CODE},
    {"close: code 2000", s_close_2000, WSPROXY_E_CLOSE_CODE},
    {"close: code 5000", s_close_5000, WSPROXY_E_CLOSE_CODE},
    {"close: negative code", s_close_negative, WSPROXY_E_CLOSE_CODE},
    {"close: reason without a code", s_close_reason_no_code, WSPROXY_E_CLOSE_REASON},
    {"close: reason of 124 bytes", s_close_reason_124, WSPROXY_E_CLOSE_REASON},
    {"close: reason not UTF-8", s_close_reason_bad, WSPROXY_E_CLOSE_REASON},
    {"close: NULL reason with a length", s_close_reason_null, WSPROXY_E_CLOSE_REASON},
    {"send: random source fails", s_random_fails_on_frame, WSPROXY_E_RANDOM},
    {"send: random source fails (short binary)", s_random_fails_on_binary, WSPROXY_E_RANDOM},
    {"send: data without begin takes nothing", s_send_data_without_begin, 0},
    {"send: no room before open", s_send_room_before_open, 0},
};

static void test_api(void)
{
    size_t i;
    memset(big, 'a', sizeof big);
    for (i = 0; i < sizeof api_cases / sizeof api_cases[0]; i++)
        CASE_CHECK_EQ(api_cases[i].name, api_cases[i].fn(), api_cases[i].expect);
    /* a random failure while sending is sticky */
    s_random_fails_on_frame();
    TEST_CASE("send: random failure is sticky");
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_RANDOM);
    s_random_fails_on_binary();
    TEST_CASE("send: random failure is sticky (short binary)");
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_RANDOM);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_FAILED);
}

/* ---- 9. TLS configuration --------------------------------------------------------------- */
typedef struct { const char *name, *url, *proxy; long arena; unsigned long rng; int expect; } tls_case;
static const tls_case tls_cases[] = {
    {"tls: wss without arena", "wss://h/", NULL, -1, 0, WSPROXY_E_TLS_ARENA},
    {"tls: wss with arena 1 byte short", "wss://h/", NULL, -2, 0, WSPROXY_E_TLS_ARENA},
    {"tls: https proxy without arena", "ws://h/", "https://p:1", -1, 0, WSPROXY_E_TLS_ARENA},
    {"tls: wss via https proxy with one hop", "wss://h/", "https://p:1", 1, 0, WSPROXY_E_TLS_ARENA},
    {"tls: wss via https proxy, arena 1 byte short", "wss://h/", "https://p:1", -2, 0, WSPROXY_E_TLS_ARENA},
    {"tls: wss, random fails at the TLS seed", "wss://h/", NULL, 0, 16, WSPROXY_E_RANDOM},
    {"tls: https proxy, random fails at the TLS seed", "ws://h/", "https://p:1", 0, 16, WSPROXY_E_RANDOM},
    {"tls: wss bad host before TLS", "wss://[::1/", NULL, 0, 0, WSPROXY_E_URL_HOST},
    {"tls: https proxy with a path", "wss://h/", "https://p:1/x", 0, 0, WSPROXY_E_URL_SYNTAX},
    {"tls: wss, enough arena (control)", "wss://h/", NULL, 0, 0, WSPROXY_OK},
    {"tls: wss via https proxy, enough arena (control)", "wss://h/", "https://p:1", 0, 0, WSPROXY_OK},
};

static void test_tls_config(void)
{
    static unsigned char arena[3 * sizeof(wsproxy_tls_hop) + 64];
    size_t i;
    for (i = 0; i < sizeof tls_cases / sizeof tls_cases[0]; i++) {
        const tls_case *c = &tls_cases[i];
        wsproxy_config cfg;
        size_t need = wsproxy_tls_arena_size(c->url, c->proxy), n;
        base_config(&cfg, c->url, c->proxy);
        cfg.insecure = cfg.proxy_insecure = 1;
        if (c->arena == -1) { cfg.tls_arena = NULL; cfg.tls_arena_len = 0; }
        else if (c->arena == -2) { cfg.tls_arena = arena; cfg.tls_arena_len = need - 1; }
        else if (c->arena == 1) { cfg.tls_arena = arena; cfg.tls_arena_len = WSPROXY_TLS_ARENA_BYTES(1); }
        else { cfg.tls_arena = arena; cfg.tls_arena_len = need ? need : sizeof arena; }
        if (c->rng) rng_budget = c->rng;
        CASE_CHECK_EQ(c->name, wsproxy_init(&client, &cfg), c->expect);
        if (c->expect != WSPROXY_OK) CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
    }
    TEST_CASE("tls: arena sizes");
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", NULL), 0);
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", "http://p:1"), 0);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", NULL), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "https://p:1"), 2 * WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://127.0.0.1/", "https://[::1]:1"), WSPROXY_TLS_ARENA_BYTES(2));
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://[::1/", NULL), 0);
    CHECK_EQ_INT(wsproxy_tls_arena_size(NULL, NULL), 0);
}

/* ---- 10. PEM ------------------------------------------------------------------------------ */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (!f) { fprintf(stderr, "cannot open %s (run from the repository root)\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (char *)malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

typedef struct { const char *name, *pem; int anchors_short, mem_short, no_mem, expect; } pem_case;

/* The DER of the first PEM object of a text (a decoder of our own). */
static size_t pem_der(const char *pem, unsigned char *der, size_t cap)
{
    const char *p = strchr(pem, '\n') + 1, *e = strstr(pem, "-----END");
    size_t dn = 0;
    unsigned v = 0;
    int bits = 0;
    for (; p < e && dn < cap; p++) {
        const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *k;
        if (!*p || !(k = strchr(abc, *p))) continue;
        v = v << 6 | (unsigned)(k - abc);
        bits += 6;
        if (bits >= 8) { bits -= 8; der[dn++] = (unsigned char)(v >> bits); }
    }
    return dn;
}

/* Runs the PEM loader in a child process, so a crash is one failed case, not the end
   of the suite. Returns the loader's code, or -1000 - signal when it crashed. */
static int pem_in_child(const char *pem, size_t len)
{
    pid_t pid;
    int st;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        wsproxy_pem_result r;
        _exit(wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r));
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -999;
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "FAIL the PEM loader crashed (signal %d)\n", WTERMSIG(st));
        return -1000 - WTERMSIG(st);
    }
    return WEXITSTATUS(st);
}

static void test_pem(void)
{
    static char truncated[4000], bad_der[400], cut_body[4000];
    size_t len, i;
    char *ca = read_text("tests/certs/ca.pem", &len);
    const pem_case cases[] = {
        {"pem: object never ends", truncated, 0, 0, 0, WSPROXY_E_PEM_SYNTAX},
        {"pem: not a certificate inside", bad_der, 0, 0, 0, WSPROXY_E_PEM_SYNTAX},
        {"pem: certificate cut short", cut_body, 0, 0, 0, WSPROXY_E_PEM_SYNTAX},
        {"pem: no anchor slots", ca, 1, 0, 0, WSPROXY_E_PEM_SPACE},
        {"pem: memory 1 byte short", ca, 0, 1, 0, WSPROXY_E_PEM_SPACE},
        {"pem: no memory", ca, 0, 0, 1, WSPROXY_E_PEM_SPACE},
        {"pem: only a key (control: nothing to load)", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0, 0, 0, WSPROXY_OK},
        {"pem: empty (control)", "", 0, 0, 0, WSPROXY_OK},
        {"pem: the CA (control)", ca, 0, 0, 0, WSPROXY_OK},
    };
    /* the CA with its END line missing */
    memcpy(truncated, ca, strstr(ca, "-----END") - ca);
    /* a well-formed PEM object whose DER is not a certificate */
    strcpy(bad_der, "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n");
    /* the CA with half of its base64 body removed */
    {
        const char *body = strchr(ca, '\n') + 1, *end = strstr(ca, "-----END");
        size_t half = (size_t)(end - body) / 2;
        half -= half % 65;   /* whole lines */
        memcpy(cut_body, ca, (size_t)(body - ca) + half);
        strcat(cut_body, end);
    }
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wsproxy_pem_result r0, r;
        br_x509_trust_anchor tas[4];
        static unsigned char mem[8192];
        const pem_case *c = &cases[i];
        size_t plen = strlen(c->pem);
        int rc = wsproxy_pem_trust_anchors(c->pem, plen, NULL, 0, NULL, 0, &r0);
        if (rc != WSPROXY_E_PEM_SYNTAX)
            rc = wsproxy_pem_trust_anchors(c->pem, plen, tas, c->anchors_short ? r0.anchors - 1 : 4,
                                           c->no_mem ? NULL : mem,
                                           c->mem_short ? r0.bytes_needed - 1 : sizeof mem, &r);
        CASE_CHECK_EQ(c->name, rc, c->expect);
    }
    /* a CERTIFICATE block with bytes after the certificate (one block: DER + 600 zero
       bytes). Found by fuzz_pem: the loader keeps pushing into a finished BearSSL X.509
       decoder, which reads through a NULL pointer. Must be refused, not crash. */
    {
        static unsigned char der[8192];
        static char text[12000];
        size_t dn = pem_der(ca, der, sizeof der - 600), o = 0, k;
        memset(der + dn, 0, 600);
        dn += 600;
        o += (size_t)sprintf(text, "-----BEGIN CERTIFICATE-----\n");
        for (k = 0; k < dn; k += 48) {
            o += wsproxy_base64(der + k, dn - k < 48 ? dn - k : 48, text + o, sizeof text - o);
            text[o++] = '\n';
        }
        o += (size_t)sprintf(text + o, "-----END CERTIFICATE-----\n");
        CASE_CHECK_EQ("pem: bytes after the certificate inside its block", pem_in_child(text, o),
                      WSPROXY_E_PEM_SYNTAX);
    }
    {
        wsproxy_pem_result r;
        CASE_CHECK_EQ("pem: NULL text with a length", wsproxy_pem_trust_anchors(NULL, 5, NULL, 0, NULL, 0, &r), WSPROXY_E_ARGUMENT);
        CASE_CHECK_EQ("pem: NULL result", wsproxy_pem_trust_anchors(ca, len, NULL, 0, NULL, 0, NULL), WSPROXY_E_ARGUMENT);
    }
    /* the iPAddress check */
    {
        static const unsigned char lo4[4] = {127, 0, 0, 1}, lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        size_t dl;
        char *pem = read_text("tests/certs/ip-only.pem", &dl);
        unsigned char der[4096];
        size_t dn = pem_der(pem, der, sizeof der);
        (void)dl;
        CASE_CHECK_EQ("ip match: 127.0.0.1 in ip-only (control)", wsproxy_cert_ip_match(der, dn, lo4, 4), 1);
        CASE_CHECK_EQ("ip match: ::1 not in ip-only", wsproxy_cert_ip_match(der, dn, lo6, 16), 0);
        CASE_CHECK_EQ("ip match: address of 5 bytes", wsproxy_cert_ip_match(der, dn, lo4, 5), -1);
        CASE_CHECK_EQ("ip match: NULL certificate", wsproxy_cert_ip_match(NULL, dn, lo4, 4), -1);
        CASE_CHECK_EQ("ip match: truncated certificate", wsproxy_cert_ip_match(der, dn / 2, lo4, 4), -1);
        CASE_CHECK_EQ("ip match: not DER", wsproxy_cert_ip_match((const unsigned char *)"hello", 5, lo4, 4), -1);
        free(pem);
    }
    free(ca);
}

/* ---- proxy selection: PAC results and the environment ------------------------------ */
static const char *fake_env(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcmp(name, "ws_proxy")) return "http://env-proxy.test:3128";
    if (!strcmp(name, "wss_proxy")) return "http://very-long-name-for-a-proxy.test:3128";
    return NULL;
}

static void test_selection(void)
{
    static wsproxy_pac_list l;
    char out[64];
    CASE_CHECK_EQ("pac: empty result", wsproxy_pac_parse(&l, "", 0, 0), WSPROXY_E_PAC_EMPTY);
    CASE_CHECK_EQ("pac: unknown keyword only", wsproxy_pac_parse(&l, "FOO x:1", 7, 0), WSPROXY_E_PAC_EMPTY);
    CASE_CHECK_EQ("pac: port 99999 only", wsproxy_pac_parse(&l, "PROXY h:99999", 13, 0), WSPROXY_E_PAC_EMPTY);
    /* found by fuzz_pac: kept as "http://a::80", which wsproxy_url_parse refuses */
    CASE_CHECK_EQ("pac: host with colons only", wsproxy_pac_parse(&l, "PROXY a::", 9, 0), WSPROXY_E_PAC_EMPTY);
    CASE_CHECK_EQ("pac: NULL list", wsproxy_pac_parse(NULL, "DIRECT", 6, 0), WSPROXY_E_ARGUMENT);
    CASE_CHECK_EQ("env: http:// target", wsproxy_proxy_from_env("http://h/", fake_env, NULL, NULL, out, sizeof out, NULL), WSPROXY_E_URL_SCHEME);
    CASE_CHECK_EQ("env: bad target URL", wsproxy_proxy_from_env("ws://h:0/", fake_env, NULL, NULL, out, sizeof out, NULL), WSPROXY_E_URL_PORT);
    CASE_CHECK_EQ("env: no room for the value", wsproxy_proxy_from_env("wss://h/", fake_env, NULL, NULL, out, 10, NULL), WSPROXY_E_URL_TOO_LONG);
    CASE_CHECK_EQ("env: cap 0", wsproxy_proxy_from_env("ws://h/", fake_env, NULL, NULL, out, 0, NULL), WSPROXY_E_ARGUMENT);
    CASE_CHECK_EQ("env: NULL target", wsproxy_proxy_from_env(NULL, fake_env, NULL, NULL, out, sizeof out, NULL), WSPROXY_E_ARGUMENT);
    CASE_CHECK_EQ("env: proxy found (control)", wsproxy_proxy_from_env("ws://h/", fake_env, NULL, NULL, out, sizeof out, NULL), WSPROXY_OK);
    TEST_CASE("env: the value as written");
    CHECK(strcmp(out, "http://env-proxy.test:3128") == 0);
}

/* ---- security: what goes where, and CR/LF/NUL refused before any byte ----------------- */
static int contains(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    for (i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0) return 1;
    return 0;
}

static void test_security(void)
{
    wsproxy_config cfg;
    const char *headers[] = {"Authorization: Bearer target-S3cret", "Cookie: sid=target-cookie", NULL};
    const char *proxy_headers[] = {"X-Proxy-Token: proxy-T0ken", "Proxy-Authorization: Basic Y2FsbGVyOnNlY3JldA==", NULL};
    unsigned char buf[1024];
    size_t n, connect_len;
    char b64[64];
    int fc = -1;

    TEST_CASE("security: credentials and proxy headers stay with the proxy");
    base_config(&cfg, "ws://server.test/", "http://alice:pr0xy%21pw@proxy.test:3128");
    cfg.headers = headers;
    cfg.proxy_headers = proxy_headers;
    sent_len = 0;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    drain();
    connect_len = sent_len;
    wsproxy_base64((const unsigned char *)"alice:pr0xy!pw", 14, b64, sizeof b64);
    /* the CONNECT: proxy credentials and the proxy header, no target header */
    CHECK(contains(sent, connect_len, b64));
    CHECK(contains(sent, connect_len, "X-Proxy-Token: proxy-T0ken"));
    CHECK(!contains(sent, connect_len, "Y2FsbGVyOnNlY3JldA=="));   /* URL credentials win */
    CHECK(!contains(sent, connect_len, "Authorization: Bearer"));
    CHECK(!contains(sent, connect_len, "target-S3cret"));
    CHECK(!contains(sent, connect_len, "Cookie"));
    CHECK(!contains(sent, connect_len, "target-cookie"));
    CHECK(!contains(sent, connect_len, "pr0xy"));   /* never in clear */
    n = expand(OK200, strlen(OK200), buf);
    feed(buf, n, 0, &fc);
    /* the upgrade through the tunnel: target headers, nothing of the proxy's */
    CHECK(sent_len > connect_len);
    CHECK(contains(sent + connect_len, sent_len - connect_len, "Authorization: Bearer target-S3cret"));
    CHECK(contains(sent + connect_len, sent_len - connect_len, "Cookie: sid=target-cookie"));
    CHECK(!contains(sent + connect_len, sent_len - connect_len, "Proxy-Authorization"));
    CHECK(!contains(sent + connect_len, sent_len - connect_len, b64));
    CHECK(!contains(sent + connect_len, sent_len - connect_len, "alice"));
    CHECK(!contains(sent + connect_len, sent_len - connect_len, "pr0xy"));
    CHECK(!contains(sent + connect_len, sent_len - connect_len, "X-Proxy-Token"));
    CHECK(!contains(sent + connect_len, sent_len - connect_len, "proxy-T0ken"));
    /* and after the upgrade, in frames and in the error line */
    n = expand(OK101, strlen(OK101), buf);
    feed(buf, n, 0, &fc);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_OPEN);
    feed((const unsigned char *)"\xc1\x00", 2, 0, &fc);
    {
        char line[600];
        wsproxy_describe(&client, line, sizeof line);
        CHECK(strstr(line, "pr0xy") == NULL && strstr(line, b64) == NULL && strstr(line, "alice") == NULL);
    }
    CHECK(!contains(sent + connect_len, sent_len - connect_len, "pr0xy"));

    /* a 407: the error line names the status and the challenge, never the credentials */
    TEST_CASE("security: 407 description without secrets");
    base_config(&cfg, "ws://server.test/", "http://alice:pr0xy%21pw@proxy.test:3128");
    sent_len = 0;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    drain();
    {
        static const char r407[] = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"r\"\r\n\r\n";
        char line[600];
        feed((const unsigned char *)r407, sizeof r407 - 1, 0, &fc);
        CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_AUTH_REJECTED);   /* Basic went with the CONNECT */
        wsproxy_describe(&client, line, sizeof line);
        CHECK(strstr(line, "407") != NULL && strstr(line, "realm") != NULL);
        CHECK(strstr(line, "pr0xy") == NULL && strstr(line, b64) == NULL && strstr(line, "alice") == NULL);
    }

    /* SOCKS: the RFC 1929 password goes to the proxy only; SOCKS4 never sends it */
#ifdef WSPROXY_SOCKS_DONE
    TEST_CASE("security: SOCKS credentials stay with the proxy");
    {
        static const char replies[] = "\x05\x02" "\x01\x00" "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38";
        size_t socks_len;
        base_config(&cfg, "ws://server.test/", "socks5h://alice:pr0xy%21pw@proxy.test:1080");
        cfg.headers = headers;
        sent_len = 0;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        drain();
        feed((const unsigned char *)replies, 4, 0, &fc);        /* method, auth status */
        socks_len = sent_len;
        CHECK(contains(sent, socks_len, "pr0xy!pw"));           /* RFC 1929: in clear, to the proxy */
        feed((const unsigned char *)replies + 4, sizeof replies - 1 - 4, 0, &fc);
        CHECK(sent_len > socks_len);
        CHECK(contains(sent + socks_len, sent_len - socks_len, "Authorization: Bearer target-S3cret"));
        CHECK(!contains(sent + socks_len, sent_len - socks_len, "pr0xy"));
        CHECK(!contains(sent + socks_len, sent_len - socks_len, "alice"));
        CHECK(!contains(sent, socks_len, "target-S3cret"));    /* no target header to the proxy */
        base_config(&cfg, "ws://server.test/", "socks4a://alice:pr0xy%21pw@proxy.test:1080");
        sent_len = 0;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        drain();
        CHECK(sent_len > 0 && contains(sent, sent_len, "alice") && !contains(sent, sent_len, "pr0xy"));
    }
#endif

    /* CR, LF, NUL (escaped) in every caller string: refused, nothing to send */
    {
        static const struct {
            const char *name, *url, *proxy, *header, *proxy_header, *protocol, *origin;
            int expect;
        } inj[] = {
            {"inject: CR LF in url path", "ws://h/a\r\nX: 1", NULL, NULL, NULL, NULL, NULL, WSPROXY_E_URL_CHAR},
            {"inject: LF in url host", "ws://h\n/", NULL, NULL, NULL, NULL, NULL, WSPROXY_E_URL_CHAR},
            {"inject: CR in url query", "ws://h/?a=\r", NULL, NULL, NULL, NULL, NULL, WSPROXY_E_URL_CHAR},
            {"inject: CR LF in proxy host", "ws://h/", "http://p\r\nX: 1:1", NULL, NULL, NULL, NULL, WSPROXY_E_URL_CHAR},
            {"inject: %0d%0a in proxy password", "ws://h/", "http://u:a%0d%0aX:%201@p:1", NULL, NULL, NULL, NULL, WSPROXY_E_URL_USERINFO},
            {"inject: %00 in proxy user", "ws://h/", "http://u%00x:p@p:1", NULL, NULL, NULL, NULL, WSPROXY_E_URL_USERINFO},
            {"inject: CR LF in header value", "ws://h/", NULL, "X-A: 1\r\nX-B: 2", NULL, NULL, NULL, WSPROXY_E_HEADER_INVALID},
            {"inject: LF in header name", "ws://h/", NULL, "X\nA: 1", NULL, NULL, NULL, WSPROXY_E_HEADER_INVALID},
            {"inject: CR LF in proxy header", "ws://h/", "http://p:1", NULL, "X-P: 1\r\n\r\nGET / HTTP/1.1", NULL, NULL, WSPROXY_E_HEADER_INVALID},
            {"inject: LF in proxy header name", "ws://h/", "http://p:1", NULL, "X\nP: 1", NULL, NULL, WSPROXY_E_HEADER_INVALID},
            {"inject: CR LF in protocol", "ws://h/", NULL, NULL, NULL, "chat\r\nX: 1", NULL, WSPROXY_E_PROTOCOL_INVALID},
            {"inject: LF in protocol", "ws://h/", NULL, NULL, NULL, "chat\n", NULL, WSPROXY_E_PROTOCOL_INVALID},
            {"inject: CR LF in origin", "ws://h/", NULL, NULL, NULL, NULL, "http://o\r\nX: 1", WSPROXY_E_HEADER_INVALID},
            {"inject: CR in origin", "ws://h/", NULL, NULL, NULL, NULL, "http://o\r", WSPROXY_E_HEADER_INVALID},
            {"inject: CR LF in header via proxy", "ws://h/", "http://p:1", "X-A: 1\r\nHost: evil", NULL, NULL, NULL, WSPROXY_E_HEADER_INVALID},
        };
        size_t i;
        for (i = 0; i < sizeof inj / sizeof inj[0]; i++) {
            const char *h[2], *ph[2], *pr[2];
            size_t len = 1;
            h[0] = inj[i].header; h[1] = NULL;
            ph[0] = inj[i].proxy_header; ph[1] = NULL;
            pr[0] = inj[i].protocol; pr[1] = NULL;
            base_config(&cfg, inj[i].url, inj[i].proxy);
            if (inj[i].header) cfg.headers = h;
            if (inj[i].proxy_header) cfg.proxy_headers = ph;
            if (inj[i].protocol) cfg.protocols = pr;
            cfg.origin = inj[i].origin;
            CASE_CHECK_EQ(inj[i].name, wsproxy_init(&client, &cfg), inj[i].expect);
            CHECK(wsproxy_send_buf(&client, &len) == NULL && len == 0);
        }
    }
}

/* ---- the error-code inventory: enum, names, README table ---------------------------- */
typedef struct { char name[64]; long value; } enum_entry;

/* The codes as the header's one error table lists them: X(NAME, value, "message"). */
static size_t read_enum(enum_entry *out, size_t max)
{
    size_t len, n = 0;
    char *h = read_text("wsproxy.h", &len), *p, *end;
    p = strstr(h, "#define WSPROXY_ERROR_TABLE(X)");
    end = p ? strstr(p, "typedef enum wsproxy_err {") : NULL;
    if (!p || !end) { free(h); return 0; }
    while ((p = strstr(p, "    X(")) != NULL && p < end && n < max) {
        char name[64];
        long value;
        if (sscanf(p + 6, "%63[A-Z0-9_], %ld,", name, &value) == 2) {
            memcpy(out[n].name, name, sizeof name);
            out[n].value = value;
            n++;
        }
        p += 6;
    }
    free(h);
    return n;
}

static void test_inventory(void)
{
    static enum_entry codes[256];
    size_t n = read_enum(codes, 256), i, rlen;
    char *readme = read_text("README.md", &rlen);
    int missing = 0;
    TEST_CASE("inventory: enum read from wsproxy.h");
    CHECK(n >= 60);
    CHECK(n > 0 && strcmp(codes[0].name, "WSPROXY_OK") == 0 && codes[0].value == 0);
    for (i = 0; i < n; i++) {
        char row[160];
        TEST_CASE(codes[i].name);
        /* a name and a sentence of its own */
        CHECK(strcmp(wsproxy_strerror((int)codes[i].value), codes[i].name) == 0);
        CHECK(strcmp(wsproxy_strerror((int)codes[i].value), "WSPROXY_E_UNKNOWN") != 0);
        CHECK(strcmp(wsproxy_error_message((int)codes[i].value), "unknown error") != 0);
        if (codes[i].value == 0) continue;
        /* README.md: | 201 | `WSPROXY_E_PROXY_AUTH` | ... | */
        snprintf(row, sizeof row, "| %ld | `%.63s` |", codes[i].value, codes[i].name);
        if (!strstr(readme, row)) {
            missing++;
            fprintf(stderr, "FAIL README.md has no row \"%s\"\n", row);
        }
        CHECK(strstr(readme, row) != NULL);
    }
    /* README rows that name a code of the enum with another number */
    {
        const char *p = readme;
        while ((p = strstr(p, "\n| ")) != NULL) {
            long v;
            char name[64];
            p += 3;
            if (sscanf(p, "%ld | `%63[A-Z0-9_]` |", &v, name) == 2) {
                for (i = 0; i < n; i++)
                    if (strcmp(codes[i].name, name) == 0) {
                        TEST_CASE(name);
                        CHECK_EQ_INT(v, codes[i].value);
                    }
            }
        }
    }
    TEST_CASE("inventory: unknown code");
    CHECK(strcmp(wsproxy_strerror(99999), "WSPROXY_E_UNKNOWN") == 0);
    CHECK(strcmp(wsproxy_strerror(-1), "WSPROXY_E_UNKNOWN") == 0);
    printf("inventory: %zu codes in enum wsproxy_err, %d missing from README.md\n", n, missing);
    free(readme);
}

int main(void)
{
    test_seed(1);
    (void)test_rand();
    build_heads();
    test_urls();
    test_config();
    run_stream_table(connect_cases, sizeof connect_cases / sizeof connect_cases[0]);
    run_stream_table(socks_cases, sizeof socks_cases / sizeof socks_cases[0]);
    run_stream_table(upgrade_cases, sizeof upgrade_cases / sizeof upgrade_cases[0]);
    run_stream_table(frame_cases, sizeof frame_cases / sizeof frame_cases[0]);
    test_api();
    test_tls_config();
    test_pem();
    test_selection();
    test_security();
    test_inventory();
    printf("catalogue: %d named inputs\n", cases_run);
    return test_summary();
}
