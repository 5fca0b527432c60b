/* The client in memory: scripted proxy and server bytes, a fixed random source, every
   input fed whole, one byte at a time and in seeded random splits. */
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#include "../wsproxy.h"
#include "test.h"

#include <errno.h>
#include <string.h>


static int failing_random(void *ctx, unsigned char *dst, size_t len)
{
    (void)ctx; (void)dst; (void)len;
    return -1;
}

/* test_fixed_random until rng_fail is set, then failing */
static int rng_fail;
static int switchable_random(void *ctx, unsigned char *dst, size_t len)
{
    return rng_fail ? -1 : test_fixed_random(ctx, dst, len);
}

static wsproxy_client client;   /* large: static */

static void base_config(wsproxy_config *cfg, const char *url, const char *proxy)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = url;
    cfg->proxy = proxy;
    cfg->random = test_fixed_random;
    test_rng_pos = 0;
}

/* Everything the client wants to send, acknowledged. */
static size_t drain(wsproxy_client *c, unsigned char *out, size_t cap)
{
    size_t total = 0, n;
    const unsigned char *p;
    while ((p = wsproxy_send_buf(c, &n)) != NULL) {
        if (total + n > cap) n = cap - total;
        memcpy(out + total, p, n);
        total += n;
        wsproxy_send_ack(c, n);
        if (total == cap) break;
    }
    return total;
}

/* ---- server-side helpers (written for the test, not shared with the library) -------- */
static size_t srv_frame(unsigned char *out, int fin, int opcode, const void *payload, size_t len)
{
    return test_server_frame(out, (unsigned)((fin ? 0x80 : 0) | opcode), payload, len);
}

/* Decodes one masked client frame; returns its total size or 0. */
static size_t cli_frame(const unsigned char *in, size_t len, int *fin, int *opcode,
                        unsigned char *payload, size_t *plen)
{
    size_t n = 2, i;
    uint64_t l;
    const unsigned char *key;
    if (len < 2 || !(in[1] & 0x80)) return 0;
    *fin = in[0] >> 7;
    *opcode = in[0] & 15;
    l = in[1] & 127;
    if (l == 126) { l = (uint64_t)in[2] << 8 | in[3]; n = 4; }
    else if (l == 127) { l = 0; for (i = 0; i < 8; i++) l = l << 8 | in[2 + i]; n = 10; }
    key = in + n;
    n += 4;
    if (len < n + l) return 0;
    for (i = 0; i < l; i++) payload[i] = in[n + i] ^ key[i & 3];
    *plen = (size_t)l;
    return n + (size_t)l;
}

/* The 101 a correct server sends for the request the client wrote. */
static size_t srv_101(const unsigned char *request, size_t rlen, const char *extra, char *out)
{
    char key[64], accept[29];
    const char *k = NULL;
    size_t i;
    for (i = 0; i + 19 < rlen; i++)
        if (memcmp(request + i, "Sec-WebSocket-Key: ", 19) == 0) { k = (const char *)request + i + 19; break; }
    if (!k) return 0;
    memcpy(key, k, 24);
    key[24] = 0;
    wsproxy_accept_key(key, 24, accept);
    sprintf(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept, extra ? extra : "");
    return strlen(out);
}

/* ---- feeding and event logs -------------------------------------------------------------- */
enum { FEED_WHOLE, FEED_BYTE, FEED_RANDOM };
static const char *feed_names[] = {"whole", "byte", "random"};

typedef struct {
    char log[8192];
    size_t len;
    unsigned char msg[1 << 20];   /* message being gathered */
    size_t msg_len;
    int msg_open;
    unsigned char sent[1 << 17];  /* what the client wrote, in order */
    size_t sent_len;
} run_log;

static run_log runs[3];

static void logf_(run_log *r, const char *fmt, const char *s, size_t n, int num)
{
    char tmp[512];
    int k;
    if (n > 200) n = 200;
    k = snprintf(tmp, sizeof tmp, fmt, num, (int)n, s);
    if (k > 0 && r->len + (size_t)k < sizeof r->log) {
        memcpy(r->log + r->len, tmp, (size_t)k);
        r->len += (size_t)k;
        r->log[r->len] = 0;
    }
}

static void take_events(wsproxy_client *c, run_log *r)
{
    wsproxy_event ev;
    size_t n;
    while (wsproxy_poll(c, &ev)) {
        switch (ev.type) {
        case WSPROXY_EV_TUNNEL: logf_(r, "TUNNEL %d%.*s|", "", 0, ev.status); break;
        case WSPROXY_EV_OPEN: logf_(r, "OPEN %d %.*s|", ev.protocol, strlen(ev.protocol), ev.status); break;
        case WSPROXY_EV_MESSAGE:
            if (ev.first) { CHECK(!r->msg_open); r->msg_len = 0; r->msg_open = 1; }
            CHECK(r->msg_open);
            if (r->msg_len + ev.len <= sizeof r->msg) memcpy(r->msg + r->msg_len, ev.data, ev.len);
            r->msg_len += ev.len;
            if (ev.fin) {
                logf_(r, "MSG %d %.*s|", (const char *)r->msg, r->msg_len, ev.opcode);
                if (r->msg_len > 200) logf_(r, "LEN %d%.*s|", "", 0, (int)r->msg_len);
                r->msg_open = 0;
            }
            break;
        case WSPROXY_EV_PING: logf_(r, "PING %d %.*s|", (const char *)ev.data, ev.len, 0); break;
        case WSPROXY_EV_PONG: logf_(r, "PONG %d %.*s|", (const char *)ev.data, ev.len, 0); break;
        case WSPROXY_EV_CLOSE: logf_(r, "CLOSE %d %.*s|", (const char *)ev.data, ev.len, ev.close_code); break;
        case WSPROXY_EV_ERROR: {
            const char *name = wsproxy_strerror(wsproxy_error(c));
            logf_(r, "ERROR %d %.*s|", name, strlen(name), ev.close_code);
            break;
        }
        default: logf_(r, "BAD %d%.*s|", "", 0, ev.type); break;
        }
    }
    /* the documented loop: after the flush, poll again (a proxy's reply is read only
       once the request it answers has left) */
    n = drain(c, r->sent + r->sent_len, sizeof r->sent - r->sent_len);
    r->sent_len += n;
    if (n) take_events(c, r);
}

/* Feeds data in the given mode, taking events after every piece. */
static void feed(wsproxy_client *c, const unsigned char *data, size_t len, int mode, run_log *r)
{
    size_t off = 0;
    while (off < len) {
        size_t want = len - off, took;
        if (mode == FEED_BYTE) want = 1;
        else if (mode == FEED_RANDOM) { size_t k = 1 + (size_t)(test_rand() % 97); if (k < want) want = k; }
        took = wsproxy_feed(c, data + off, want);
        off += took;
        take_events(c, r);
        if (took == 0) {
            size_t room;
            if (!wsproxy_recv_buf(c, &room)) break;   /* finished: takes no more */
        }
    }
    take_events(c, r);
}

/* Runs a scripted exchange three ways; the server's bytes may depend on the request,
   so the script is a function of what the client sent so far. */
typedef size_t (*script_fn)(const unsigned char *sent, size_t sent_len, unsigned char *out);

/* check_sent 0: the script answers requests the client has not sent yet (a failing
   proxy's replies all in one piece), so a failure may stop a request from leaving in
   one mode and not in another; the events must still agree. */
static void run3_(const wsproxy_config *cfg, script_fn script, int check_sent)
{
    static unsigned char server[1 << 21];
    int mode;
    for (mode = 0; mode < 3; mode++) {
        run_log *r = &runs[mode];
        size_t n;
        memset(r, 0, sizeof *r);
        test_seed(1234 + (uint64_t)mode);
        test_rng_pos = 0;
        CHECK_EQ_INT(wsproxy_init(&client, cfg), WSPROXY_OK);
        r->sent_len = drain(&client, r->sent, sizeof r->sent);
        n = script(r->sent, r->sent_len, server);
        feed(&client, server, n, mode, r);
    }
    CHECK(strcmp(runs[0].log, runs[1].log) == 0);
    CHECK(strcmp(runs[0].log, runs[2].log) == 0);
    if (check_sent) {
        CHECK(runs[0].sent_len == runs[1].sent_len && memcmp(runs[0].sent, runs[1].sent, runs[0].sent_len) == 0);
        CHECK(runs[0].sent_len == runs[2].sent_len && memcmp(runs[0].sent, runs[2].sent, runs[0].sent_len) == 0);
    }
    if (strcmp(runs[0].log, runs[1].log) || strcmp(runs[0].log, runs[2].log))
        fprintf(stderr, "  whole:  %s\n  byte:   %s\n  random: %s\n", runs[0].log, runs[1].log, runs[2].log);
}

static void run3(const wsproxy_config *cfg, script_fn script, void (*after_open)(wsproxy_client *))
{
    (void)after_open;
    run3_(cfg, script, 1);
}

static int log_is(const char *expected)
{
    if (strcmp(runs[0].log, expected) == 0) return 1;
    fprintf(stderr, "  expected: %s\n  got:      %s\n", expected, runs[0].log);
    return 0;
}

/* Finds the client frames after the request head(s): returns how many were decoded. */
typedef struct { int fin, opcode; unsigned char payload[256]; size_t len; } cframe;
static int client_frames(const run_log *r, size_t skip, cframe *out, int max)
{
    size_t off = skip;
    int n = 0;
    while (n < max && off < r->sent_len) {
        static unsigned char payload[1 << 20];
        size_t plen = 0, k = cli_frame(r->sent + off, r->sent_len - off, &out[n].fin, &out[n].opcode, payload, &plen);
        if (!k) break;
        out[n].len = plen;
        memcpy(out[n].payload, payload, plen < 256 ? plen : 256);
        off += k;
        n++;
    }
    return n;
}

static size_t head_len(const unsigned char *p, size_t len, size_t from)
{
    size_t i;
    for (i = from; i + 3 < len; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) return i + 4;
    return 0;
}

/* ---- request bytes ---------------------------------------------------------------------- */
static void test_direct_request(void)
{
    wsproxy_config cfg;
    const char *headers[] = {"X-Custom:  one  ", "Cookie: a=b", NULL};
    const char *protocols[] = {"chat", "superchat", NULL};
    unsigned char nonce[16], sent[4096];
    char key[25], expected[1024];
    size_t n;
    TEST_CASE("direct request");
    base_config(&cfg, "ws://Example.com/chat?x=1", NULL);
    cfg.headers = headers;
    cfg.protocols = protocols;
    cfg.origin = "http://example.com";
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    test_rng_pos = 0;
    test_fixed_random(NULL, nonce, 16);
    wsproxy_base64(nonce, 16, key, sizeof key);
    sprintf(expected, "GET /chat?x=1 HTTP/1.1\r\nHost: Example.com\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Protocol: chat, superchat\r\nOrigin: http://example.com\r\n"
                      "X-Custom: one\r\nCookie: a=b\r\n\r\n", key);
    n = drain(&client, sent, sizeof sent);
    CHECK_EQ_INT(n, strlen(expected));
    CHECK(n == strlen(expected) && memcmp(sent, expected, n) == 0);
    CHECK(strcmp(wsproxy_connect_host(&client), "Example.com") == 0);
    CHECK_EQ_INT(wsproxy_connect_port(&client), 80);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_HANDSHAKE);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_HANDSHAKE);
}

static void test_host_header_ports(void)
{
    static const struct { const char *url, *host_line, *path; } cases[] = {
        {"ws://h:80/", "Host: h\r\n", "GET / HTTP/1.1"},
        {"ws://h:8080", "Host: h:8080\r\n", "GET / HTTP/1.1"},
        {"ws://h?q=1", "Host: h\r\n", "GET /?q=1 HTTP/1.1"},
        {"ws://[::1]:9000/a", "Host: [::1]:9000\r\n", "GET /a HTTP/1.1"},
        {"ws://[2001:db8::1]/", "Host: [2001:db8::1]\r\n", "GET / HTTP/1.1"},
        {"WS://10.0.0.1:81/x/y", "Host: 10.0.0.1:81\r\n", "GET /x/y HTTP/1.1"},
    };
    size_t i;
    TEST_CASE("Host header and request line");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wsproxy_config cfg;
        unsigned char sent[4096];
        size_t n;
        base_config(&cfg, cases[i].url, NULL);
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        n = drain(&client, sent, sizeof sent - 1);
        sent[n] = 0;
        CHECK(strstr((char *)sent, cases[i].host_line) != NULL);
        CHECK(strncmp((char *)sent, cases[i].path, strlen(cases[i].path)) == 0);
    }
}

static void test_connect_request(void)
{
    wsproxy_config cfg;
    const char *headers[] = {"Authorization: Bearer target-secret", "Cookie: s=1", NULL};
    const char *proxy_headers[] = {"X-Proxy: 1", "Proxy-Authorization: Basic caller", NULL};
    unsigned char sent[4096];
    char b64[64], expected[1024];
    size_t n;
    TEST_CASE("CONNECT request");
    base_config(&cfg, "ws://example.com/chat", "http://us%40er:p%3Ass@proxy.local:3128");
    cfg.headers = headers;
    cfg.proxy_headers = proxy_headers;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    wsproxy_base64((const unsigned char *)"us@er:p:ss", 10, b64, sizeof b64);
    sprintf(expected, "CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n"
                      "Proxy-Authorization: Basic %s\r\nX-Proxy: 1\r\n\r\n", b64);
    n = drain(&client, sent, sizeof sent - 1);
    sent[n] = 0;
    CHECK(strcmp((char *)sent, expected) == 0);
    CHECK(strstr((char *)sent, "target-secret") == NULL);
    CHECK(strstr((char *)sent, "Cookie") == NULL);
    CHECK(strstr((char *)sent, "caller") == NULL);   /* URL credentials win */
    CHECK(strcmp(wsproxy_connect_host(&client), "proxy.local") == 0);
    CHECK_EQ_INT(wsproxy_connect_port(&client), 3128);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_PROXY);

    /* no credentials in the URL: the caller's Proxy-Authorization goes through */
    base_config(&cfg, "ws://[::1]:9000/", "proxy.local:8080");
    cfg.proxy_headers = proxy_headers;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    n = drain(&client, sent, sizeof sent - 1);
    sent[n] = 0;
    CHECK(strcmp((char *)sent, "CONNECT [::1]:9000 HTTP/1.1\r\nHost: [::1]:9000\r\nX-Proxy: 1\r\n"
                               "Proxy-Authorization: Basic caller\r\n\r\n") == 0);
    CHECK_EQ_INT(wsproxy_connect_port(&client), 8080);

    /* default proxy port as curl: 1080; user without password */
    base_config(&cfg, "ws://h/", "http://bob@p");
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    n = drain(&client, sent, sizeof sent - 1);
    sent[n] = 0;
    wsproxy_base64((const unsigned char *)"bob:", 4, b64, sizeof b64);
    CHECK(strstr((char *)sent, b64) != NULL);
    CHECK_EQ_INT(wsproxy_connect_port(&client), 1080);
}

/* ---- caller mistakes: a clear code, and no byte produced ---------------------------------- */
static void expect_init_error(const char *name, wsproxy_config *cfg, int code)
{
    size_t n;
    wsproxy_event ev;
    TEST_CASE(name);
    CHECK_EQ_INT(wsproxy_init(&client, cfg), code);
    CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
    CHECK_EQ_INT(wsproxy_error(&client), code);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_FAILED);
    CHECK(wsproxy_poll(&client, &ev) == 0);
}

static void test_caller_mistakes(void)
{
    wsproxy_config cfg;
    const char *bad_header[] = {"X-A: 1\r\nX-Injected: 2", NULL};
    const char *bad_header_lf[] = {"X-A: 1\nX", NULL};
    const char *no_colon[] = {"NoColon", NULL};
    const char *space_name[] = {"Bad Name: 1", NULL};
    const char *reserved_host[] = {"host: evil", NULL};
    const char *reserved_key[] = {"Sec-WebSocket-Key: x", NULL};
    const char *reserved_pa[] = {"Proxy-Authorization: Basic x", NULL};
    const char *origin_dup[] = {"Origin: x", NULL};
    const char *bad_proto[] = {"a b", NULL};
    const char *dup_proto[] = {"a", "a", NULL};
    const char *empty_proto[] = {"", NULL};
    const char *proxy_host[] = {"Host: x", NULL};
    const char *proxy_crlf[] = {"X: a\rb", NULL};
    static char long_header[6000];

    base_config(&cfg, "ws://h/", NULL); cfg.headers = bad_header;
    expect_init_error("header with CRLF", &cfg, WSPROXY_E_HEADER_INVALID);
    base_config(&cfg, "ws://h/", NULL); cfg.headers = bad_header_lf;
    expect_init_error("header with LF", &cfg, WSPROXY_E_HEADER_INVALID);
    base_config(&cfg, "ws://h/", NULL); cfg.headers = no_colon;
    expect_init_error("header without colon", &cfg, WSPROXY_E_HEADER_INVALID);
    base_config(&cfg, "ws://h/", NULL); cfg.headers = space_name;
    expect_init_error("header name with space", &cfg, WSPROXY_E_HEADER_INVALID);
    base_config(&cfg, "ws://h/", NULL); cfg.headers = reserved_host;
    expect_init_error("reserved Host", &cfg, WSPROXY_E_HEADER_RESERVED);
    base_config(&cfg, "ws://h/", NULL); cfg.headers = reserved_key;
    expect_init_error("reserved key", &cfg, WSPROXY_E_HEADER_RESERVED);
    base_config(&cfg, "ws://h/", NULL); cfg.headers = reserved_pa;
    expect_init_error("proxy credentials to the target", &cfg, WSPROXY_E_HEADER_RESERVED);
    base_config(&cfg, "ws://h/", NULL); cfg.headers = origin_dup; cfg.origin = "y";
    expect_init_error("Origin twice", &cfg, WSPROXY_E_HEADER_RESERVED);
    base_config(&cfg, "ws://h/", NULL); cfg.origin = "a\r\nb";
    expect_init_error("Origin with CRLF", &cfg, WSPROXY_E_HEADER_INVALID);
    base_config(&cfg, "ws://h/", NULL); cfg.protocols = bad_proto;
    expect_init_error("subprotocol not a token", &cfg, WSPROXY_E_PROTOCOL_INVALID);
    base_config(&cfg, "ws://h/", NULL); cfg.protocols = dup_proto;
    expect_init_error("subprotocol twice", &cfg, WSPROXY_E_PROTOCOL_INVALID);
    base_config(&cfg, "ws://h/", NULL); cfg.protocols = empty_proto;
    expect_init_error("empty subprotocol", &cfg, WSPROXY_E_PROTOCOL_INVALID);
    base_config(&cfg, "ws://h/", "http://p:1"); cfg.proxy_headers = proxy_host;
    expect_init_error("proxy Host header", &cfg, WSPROXY_E_HEADER_RESERVED);
    base_config(&cfg, "ws://h/", "http://p:1"); cfg.proxy_headers = proxy_crlf;
    expect_init_error("proxy header with CR", &cfg, WSPROXY_E_HEADER_INVALID);
    memset(long_header, 'a', sizeof long_header - 1);
    memcpy(long_header, "X-Long: ", 8);
    {
        const char *lh[] = {long_header, NULL};
        base_config(&cfg, "ws://h/", NULL); cfg.headers = lh;
        expect_init_error("request too large", &cfg, WSPROXY_E_REQUEST_TOO_LARGE);
    }
    base_config(&cfg, "ws://h/a b", NULL);
    expect_init_error("space in URL", &cfg, WSPROXY_E_URL_CHAR);
    base_config(&cfg, "ws://h/#f", NULL);
    expect_init_error("fragment", &cfg, WSPROXY_E_URL_FRAGMENT);
    base_config(&cfg, "ws://h:0/", NULL);
    expect_init_error("port 0", &cfg, WSPROXY_E_URL_PORT);
    base_config(&cfg, "ws:///x", NULL);
    expect_init_error("empty host", &cfg, WSPROXY_E_URL_HOST);
    base_config(&cfg, "http://h/", NULL);
    expect_init_error("http target", &cfg, WSPROXY_E_URL_SCHEME);
    base_config(&cfg, "ws://u:p@h/", NULL);
    expect_init_error("credentials in ws URL", &cfg, WSPROXY_E_URL_USERINFO);
    base_config(&cfg, "wss://h/", NULL);
    expect_init_error("wss without TLS build", &cfg, WSPROXY_E_UNSUPPORTED);
    base_config(&cfg, "ws://h/", "https://p:443");
    expect_init_error("https proxy without TLS build", &cfg, WSPROXY_E_UNSUPPORTED);
    base_config(&cfg, "ws://h/", "ws://p:1");
    expect_init_error("ws proxy", &cfg, WSPROXY_E_URL_SCHEME);
    base_config(&cfg, "ws://h/", "http://p:1/path");
    expect_init_error("proxy with path", &cfg, WSPROXY_E_URL_SYNTAX);
    base_config(&cfg, "ws://h/", "http://a%3Ab:pw@p:1");
    expect_init_error("user with colon", &cfg, WSPROXY_E_URL_USERINFO);
    base_config(&cfg, "ws://h/", "http://a:p%0Dw@p:1");
    expect_init_error("password with CR", &cfg, WSPROXY_E_URL_USERINFO);
    base_config(&cfg, "ws://h/", "http://a:p%zzw@p:1");
    expect_init_error("bad escape", &cfg, WSPROXY_E_URL_USERINFO);
    base_config(&cfg, "ws://h/", NULL); cfg.random = NULL;
    expect_init_error("no random source", &cfg, WSPROXY_E_ARGUMENT);
    base_config(&cfg, "ws://h/", NULL); cfg.random = failing_random;
    expect_init_error("random source fails", &cfg, WSPROXY_E_RANDOM);
    base_config(&cfg, NULL, NULL);
    expect_init_error("no URL", &cfg, WSPROXY_E_ARGUMENT);
}

/* ---- full exchanges ------------------------------------------------------------------------ */
static const char *script_connect_reply = "HTTP/1.1 200 Connection established\r\n\r\n";
static const char *script_101_extra = NULL;

/* The CONNECT reply, the 101 and a series of frames, all in one buffer. */
static size_t script_full(const unsigned char *sent, size_t sent_len, unsigned char *out)
{
    /* the client has sent only the CONNECT; the upgrade it will send is predictable:
       build it by running a twin client to the same point */
    static wsproxy_client twin;
    wsproxy_config cfg;
    unsigned char req[4096];
    size_t n = 0, rl;
    (void)sent; (void)sent_len;
    base_config(&cfg, "ws://example.com/chat", NULL);
    CHECK_EQ_INT(wsproxy_init(&twin, &cfg), WSPROXY_OK);
    rl = drain(&twin, req, sizeof req);
    test_rng_pos = 16;   /* the real client drew its 16 key bytes already */
    if (script_connect_reply) {
        memcpy(out, script_connect_reply, strlen(script_connect_reply));
        n = strlen(script_connect_reply);
    }
    n += srv_101(req, rl, script_101_extra, (char *)out + n);
    n += srv_frame(out + n, 1, WSPROXY_OP_TEXT, "hello", 5);
    n += srv_frame(out + n, 1, WSPROXY_OP_BINARY, "\x01\x02\x7f", 3);
    n += srv_frame(out + n, 0, WSPROXY_OP_TEXT, "frag", 4);
    n += srv_frame(out + n, 1, WSPROXY_OP_PING, "p1", 2);
    n += srv_frame(out + n, 0, WSPROXY_OP_CONTINUATION, "men", 3);
    n += srv_frame(out + n, 1, WSPROXY_OP_CONTINUATION, "ted \xc3\xa9", 6);
    n += srv_frame(out + n, 1, WSPROXY_OP_PONG, "", 0);
    n += srv_frame(out + n, 1, WSPROXY_OP_TEXT, "", 0);
    n += srv_frame(out + n, 1, WSPROXY_OP_CLOSE, "\x03\xe8" "bye", 5);
    return n;
}

static void test_full_exchange_via_proxy(void)
{
    wsproxy_config cfg;
    cframe f[8];
    size_t req_end;
    int nf, mode;
    TEST_CASE("proxy, upgrade and frames in one read");
    base_config(&cfg, "ws://example.com/chat", "http://proxy:3128");
    script_connect_reply = "HTTP/1.1 200 Connection established\r\n\r\n";
    run3(&cfg, script_full, NULL);
    CHECK(log_is("TUNNEL 200|OPEN 101 |MSG 1 hello|MSG 2 \x01\x02\x7f|PING 0 p1|MSG 1 fragmented \xc3\xa9|PONG 0 |MSG 1 |CLOSE 1000 bye|"));
    for (mode = 0; mode < 3; mode++) {
        TEST_CASE(feed_names[mode]);
        /* CONNECT head, then the upgrade head, then a pong and the close echo */
        req_end = head_len(runs[mode].sent, runs[mode].sent_len, 0);
        CHECK(req_end > 0 && memcmp(runs[mode].sent, "CONNECT example.com:80 ", 23) == 0);
        CHECK(memcmp(runs[mode].sent + req_end, "GET /chat HTTP/1.1\r\n", 20) == 0);
        req_end = head_len(runs[mode].sent, runs[mode].sent_len, req_end);
        nf = client_frames(&runs[mode], req_end, f, 8);
        CHECK_EQ_INT(nf, 2);
        CHECK(nf >= 1 && f[0].opcode == WSPROXY_OP_PONG && f[0].len == 2 && memcmp(f[0].payload, "p1", 2) == 0);
        CHECK(nf >= 2 && f[1].opcode == WSPROXY_OP_CLOSE && f[1].len == 2 && f[1].payload[0] == 0x03 && f[1].payload[1] == 0xe8);
        CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_CLOSED);
    }
}

static void test_full_exchange_direct(void)
{
    wsproxy_config cfg;
    TEST_CASE("direct, frames in the same read as the 101");
    base_config(&cfg, "ws://example.com/chat", NULL);
    script_connect_reply = NULL;
    run3(&cfg, script_full, NULL);
    CHECK(strncmp(runs[0].log, "OPEN 101 |MSG 1 hello|", 22) == 0);
    CHECK(strstr(runs[0].log, "CLOSE 1000 bye|") != NULL);
    script_connect_reply = "HTTP/1.1 200 Connection established\r\n\r\n";
}

static void test_connect_reply_forms(void)
{
    static const char *ok_replies[] = {
        "HTTP/1.0 200 Connection established\r\n\r\n",
        "HTTP/1.1 200\r\n\r\n",
        "HTTP/1.1 200 \r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 200 OK\nProxy-Agent: x\n\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nVia: 1.1 p\r\nX-Empty:\r\nProxy-Agent: t/1\r\n\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof ok_replies / sizeof ok_replies[0]; i++) {
        wsproxy_config cfg;
        char name[64];
        snprintf(name, sizeof name, "CONNECT reply form %u", (unsigned)i);
        TEST_CASE(name);
        base_config(&cfg, "ws://example.com/chat", "http://proxy:3128");
        script_connect_reply = ok_replies[i];
        run3(&cfg, script_full, NULL);
        CHECK(strstr(runs[0].log, "OPEN 101") != NULL && strstr(runs[0].log, "CLOSE 1000 bye|") != NULL);
    }
    script_connect_reply = "HTTP/1.1 200 Connection established\r\n\r\n";
}

/* A script that sends fixed bytes, ignoring the request. */
static const unsigned char *fixed_bytes;
static size_t fixed_len;
static size_t script_fixed(const unsigned char *sent, size_t sent_len, unsigned char *out)
{
    (void)sent; (void)sent_len;
    memcpy(out, fixed_bytes, fixed_len);
    return fixed_len;
}

static void expect_proxy_error(const char *name, const char *reply, size_t len, int code, int status)
{
    wsproxy_config cfg;
    char expected[128];
    TEST_CASE(name);
    base_config(&cfg, "ws://example.com/", "http://proxy:3128");
    fixed_bytes = (const unsigned char *)reply;
    fixed_len = len;
    run3(&cfg, script_fixed, NULL);
    snprintf(expected, sizeof expected, "ERROR 0 %s|", wsproxy_strerror(code));
    CHECK(log_is(expected));
    CHECK_EQ_INT(wsproxy_error_info_get(&client)->http_status, status);
    /* nothing but the CONNECT ever left: no upgrade after a failed tunnel */
    CHECK(head_len(runs[0].sent, runs[0].sent_len, 0) == runs[0].sent_len);
}

static void test_proxy_failures(void)
{
    static char oversize[20000];
    size_t i;
    char msg[512];
    const char *r407 = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                       "Proxy-Authenticate: Basic realm=\"x\"\r\nProxy-Authenticate: Negotiate\r\n"
                       "Content-Length: 2147483648\r\n\r\nauthentication needed";
    expect_proxy_error("407 with body", r407, strlen(r407), WSPROXY_E_PROXY_AUTH, 407);
    CHECK(strcmp(wsproxy_error_info_get(&client)->proxy_authenticate, "Basic realm=\"x\", Negotiate") == 0);
    wsproxy_describe(&client, msg, sizeof msg);
    CHECK(strstr(msg, "WSPROXY_E_PROXY_AUTH") && strstr(msg, "407 Proxy Authentication Required") &&
          strstr(msg, "Negotiate"));
    {
        const char *r401 = "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"t\"\r\n\r\n";
        expect_proxy_error("401 from a proxy", r401, strlen(r401), WSPROXY_E_PROXY_AUTH, 401);
    }
    CHECK(strcmp(wsproxy_error_info_get(&client)->proxy_authenticate, "Basic realm=\"t\"") == 0);
    expect_proxy_error("403", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 45, WSPROXY_E_PROXY_CONNECT, 403);
    CHECK(strcmp(wsproxy_error_info_get(&client)->status_line, "HTTP/1.1 403 Forbidden") == 0);
    expect_proxy_error("502", "HTTP/1.0 502 Bad Gateway\r\n\r\n", 28, WSPROXY_E_PROXY_CONNECT, 502);
    expect_proxy_error("101 to CONNECT", "HTTP/1.1 101 Switching\r\n\r\n", 27, WSPROXY_E_PROXY_CONNECT, 101);
    expect_proxy_error("garbled", "HTTX/1.1 200 OK\r\n\r\n", 19, WSPROXY_E_PROXY_BAD_REPLY, 0);
    expect_proxy_error("garbled early", "SSH-2.0-OpenSSH", 15, WSPROXY_E_PROXY_BAD_REPLY, 0);
    expect_proxy_error("HTTP/2", "HTTP/2 200\r\n\r\n", 14, WSPROXY_E_PROXY_BAD_REPLY, 0);
    expect_proxy_error("bad header", "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", 34, WSPROXY_E_PROXY_BAD_REPLY, 0);
    expect_proxy_error("folded header", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", 29, WSPROXY_E_PROXY_BAD_REPLY, 0);
    expect_proxy_error("NUL in head", "HTTP/1.1 200 OK\r\nA: \0\r\n\r\n", 25, WSPROXY_E_PROXY_BAD_REPLY, 0);
    expect_proxy_error("too many interim", "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n"
                       "HTTP/1.1 100 a\r\n\r\nHTTP/1.1 100 a\r\n\r\n", 90, WSPROXY_E_PROXY_BAD_REPLY, 100);
    memcpy(oversize, "HTTP/1.1 200 OK\r\n", 17);
    for (i = 17; i + 21 < sizeof oversize; i += 21) memcpy(oversize + i, "X-Filler: 123456789\r\n", 21);
    expect_proxy_error("oversize head", oversize, i, WSPROXY_E_PROXY_REPLY_TOO_LARGE, 0);
    memset(oversize, 'a', sizeof oversize);
    memcpy(oversize, "HTTP/1.1 200 ", 13);
    expect_proxy_error("endless status line", oversize, sizeof oversize, WSPROXY_E_PROXY_REPLY_TOO_LARGE, 0);
}

/* Transport ends, reported by the caller. */
static void test_socket_closed(void)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    char msg[256];
    TEST_CASE("proxy refused");
    base_config(&cfg, "ws://h/", "http://p:1");
    wsproxy_init(&client, &cfg);
    wsproxy_socket_closed(&client, ECONNREFUSED);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_REFUSED);
    CHECK_EQ_INT(wsproxy_error_info_get(&client)->os_error, ECONNREFUSED);
    wsproxy_describe(&client, msg, sizeof msg);
    CHECK(strstr(msg, "proxy connection refused") != NULL);
    CHECK(wsproxy_poll(&client, &ev) == 0);   /* the final event comes once */

    TEST_CASE("proxy closes mid-reply");
    base_config(&cfg, "ws://h/", "http://p:1");
    wsproxy_init(&client, &cfg);
    wsproxy_feed(&client, "HTTP/1.1 200 Conn", 17);
    CHECK(wsproxy_poll(&client, &ev) == 0);
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_CLOSED);

    TEST_CASE("proxy accepts and closes");
    base_config(&cfg, "ws://h/", "http://p:1");
    wsproxy_init(&client, &cfg);
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_CLOSED);

    TEST_CASE("server refused");
    base_config(&cfg, "ws://h/", NULL);
    wsproxy_init(&client, &cfg);
    wsproxy_socket_closed(&client, ECONNREFUSED);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_CONNECT_REFUSED);

    TEST_CASE("closed during the handshake");
    base_config(&cfg, "ws://h/", NULL);
    wsproxy_init(&client, &cfg);
    wsproxy_feed(&client, "HTTP/1.1 101 Sw", 15);
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_HANDSHAKE_CLOSED);
}

/* Connect failures named after their cause, for the proxy and for a direct server
   (issue 15): refused, reset, unreachable, timed out, a name that did not resolve. */
static void test_connect_causes(void)
{
    static const struct { const char *proxy; int err, received, code; const char *text; } cases[] = {
        {"http://p:1", ECONNREFUSED, 0, WSPROXY_E_PROXY_REFUSED, "connection refused (os error"},
        {"http://p:1", EHOSTUNREACH, 0, WSPROXY_E_PROXY_UNREACHABLE, "host or network unreachable (os error"},
        {"http://p:1", ENETUNREACH, 0, WSPROXY_E_PROXY_UNREACHABLE, "no route to the proxy"},
        {"http://p:1", ETIMEDOUT, 0, WSPROXY_E_PROXY_TIMEOUT, "connection timed out (os error"},
        {"http://p:1", ECONNRESET, 0, WSPROXY_E_PROXY_RESET, "connection reset (os error"},
        {"http://p:1", ECONNRESET, 1, WSPROXY_E_PROXY_RESET, "the proxy reset the connection"},
        {"http://p:1", EACCES, 0, WSPROXY_E_PROXY_REFUSED, "os error"},
        {NULL, ECONNREFUSED, 0, WSPROXY_E_CONNECT_REFUSED, "connection refused (os error"},
        {NULL, EHOSTUNREACH, 0, WSPROXY_E_CONNECT_UNREACHABLE, "no route to the server"},
        {NULL, ETIMEDOUT, 0, WSPROXY_E_HANDSHAKE_TIMEOUT, "connection timed out"},
        {NULL, ECONNRESET, 0, WSPROXY_E_CONNECT_RESET, "the server reset the connection"},
        {NULL, ECONNRESET, 1, WSPROXY_E_CONNECT_RESET, "connection reset"},
        {"socks5h://p:1", ECONNRESET, 0, WSPROXY_E_PROXY_RESET, "connection reset"},
    };
    size_t i;
    wsproxy_config cfg;
    wsproxy_event ev;
    char msg[300];
    TEST_CASE("connect failures named after their cause");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_config(&cfg, "ws://h/", cases[i].proxy);
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        if (cases[i].received) wsproxy_feed(&client, "HTTP/1.1 1", 10);
        wsproxy_socket_closed(&client, cases[i].err);
        while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
        CHECK_EQ_INT(wsproxy_error(&client), cases[i].code);
        CHECK_EQ_INT(wsproxy_error_info_get(&client)->os_error, cases[i].err);
        wsproxy_describe(&client, msg, sizeof msg);
        if (!strstr(msg, cases[i].text)) fprintf(stderr, "  case %u: %s\n", (unsigned)i, msg);
        CHECK(strstr(msg, cases[i].text) != NULL);
    }

    TEST_CASE("a name that did not resolve");
    base_config(&cfg, "ws://h/", "http://proxy.invalid:3128");
    wsproxy_init(&client, &cfg);
    wsproxy_name_failed(&client, -2);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_NAME);
    wsproxy_describe(&client, msg, sizeof msg);
    CHECK(strstr(msg, "the proxy's host name did not resolve") && strstr(msg, "resolver code -2"));
    CHECK(wsproxy_send_buf(&client, &i) == NULL);   /* nothing goes out */
    base_config(&cfg, "ws://server.invalid/", NULL);
    wsproxy_init(&client, &cfg);
    wsproxy_name_failed(&client, -2);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_CONNECT_NAME);
}

/* The trace of the heads (wspcat -v): every line, in order, no credential. */
static char trace_log[8192];
static void trace_cb(void *ctx, int what, const char *line, size_t len)
{
    size_t at = strlen(trace_log);
    (void)ctx;
    snprintf(trace_log + at, sizeof trace_log - at, "%d%c%.*s\n", what,
             what == WSPROXY_TRACE_PROXY_REQUEST || what == WSPROXY_TRACE_REQUEST ? '>' : '<', (int)len, line);
}

static void test_trace(void)
{
    static const char *const headers[] = {"Authorization: Bearer tok123", "Cookie: sid=abc", "X-Ok: 1", NULL};
    static const char *const pheaders[] = {"X-P: 2", NULL};
    wsproxy_config cfg;
    wsproxy_event ev;
    unsigned char req[4096];
    char reply[1024];
    size_t rl, n;
    TEST_CASE("the trace shows every head line and no credential");
    base_config(&cfg, "ws://example.com/chat", "http://alice:s3cret@proxy:3128");
    cfg.headers = headers;
    cfg.proxy_headers = pheaders;
    cfg.trace = trace_cb;
    trace_log[0] = 0;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    rl = drain(&client, req, sizeof req);
    CHECK(test_contains(req, rl, "Proxy-Authorization: Basic YWxpY2U6czNjcmV0", 41));   /* the wire has them */
    wsproxy_feed(&client, "HTTP/1.1 200 OK\r\nVia: 1.1 p\r\n\r\n", 31);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_TUNNEL);
    rl = drain(&client, req, sizeof req);
    n = srv_101(req, rl, "Set-Cookie: sid=def\r\n", reply);
    wsproxy_feed(&client, reply, n);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_OPEN);
    CHECK(strstr(trace_log, "1>CONNECT example.com:80 HTTP/1.1\n1>Host: example.com:80\n1>Proxy-Authorization: Basic ***\n1>X-P: 2\n1>\n") != NULL);
    CHECK(strstr(trace_log, "2<HTTP/1.1 200 OK\n2<Via: 1.1 p\n2<\n") != NULL);
    CHECK(strstr(trace_log, "3>GET /chat HTTP/1.1\n") != NULL);
    CHECK(strstr(trace_log, "3>Authorization: ***\n3>Cookie: ***\n3>X-Ok: 1\n3>\n") != NULL);
    CHECK(strstr(trace_log, "4<HTTP/1.1 101 Switching Protocols\n") != NULL);
    CHECK(strstr(trace_log, "4<Set-Cookie: ***\n") != NULL);
    CHECK(!strstr(trace_log, "s3cret") && !strstr(trace_log, "YWxpY2U6czNjcmV0") && !strstr(trace_log, "tok123") &&
          !strstr(trace_log, "sid=abc") && !strstr(trace_log, "sid=def"));
}

/* URL errors say which URL and where, and never print it (a password may be in it). */
static void test_url_error_places(void)
{
    static const struct { const char *url, *proxy; int code, which; size_t at; } cases[] = {
        {"ws://example.com/", "http://alice:pa/ss#w0rd@proxy:3128", WSPROXY_E_URL_PORT, WSPROXY_URL_PROXY, 13},
        {"ws://example.com:99999/", NULL, WSPROXY_E_URL_PORT, WSPROXY_URL_TARGET, 17},
        {"ws://exa mple.com/", NULL, WSPROXY_E_URL_CHAR, WSPROXY_URL_TARGET, 8},
        {"ws://example.com/#frag", NULL, WSPROXY_E_URL_FRAGMENT, WSPROXY_URL_TARGET, 17},
        {"ws://example.com/", "http://u:p@proxy:3128/path", WSPROXY_E_URL_SYNTAX, WSPROXY_URL_PROXY, 21},
        {"ws://example.com/", "http://u:p%zz@proxy:3128", WSPROXY_E_URL_USERINFO, WSPROXY_URL_PROXY, 7},
        {"http://example.com/", NULL, WSPROXY_E_URL_SCHEME, WSPROXY_URL_TARGET, 0},
        {"ws://example.com/", "ftp://u:secret@p:1", WSPROXY_E_URL_SCHEME, WSPROXY_URL_PROXY, 0},
    };
    size_t i;
    char msg[300];
    TEST_CASE("URL errors name the URL and the byte");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wsproxy_config cfg;
        base_config(&cfg, cases[i].url, cases[i].proxy);
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), cases[i].code);
        CHECK_EQ_INT(wsproxy_error_info_get(&client)->url_which, cases[i].which);
        CHECK_EQ_INT(wsproxy_error_info_get(&client)->url_error_at, cases[i].at);
        wsproxy_describe(&client, msg, sizeof msg);
        CHECK(strstr(msg, cases[i].which == WSPROXY_URL_PROXY ? "in the proxy URL" : "in the server URL") != NULL);
        CHECK(!strstr(msg, "w0rd") && !strstr(msg, "secret") && !strstr(msg, "pa/ss"));
    }
    {
        wsproxy_url u;
        size_t at = 99;
        CHECK_EQ_INT(wsproxy_url_parse_at("ws://h:0/", 9, &u, &at), WSPROXY_E_URL_PORT);
        CHECK_EQ_INT(at, 7);
    }
}

/* Opens a direct client and returns after OPEN; leaves what it sent drained. */
static void open_direct(wsproxy_config *cfg)
{
    unsigned char req[4096];
    char reply[512];
    size_t rl, n;
    wsproxy_event ev;
    CHECK_EQ_INT(wsproxy_init(&client, cfg), WSPROXY_OK);
    rl = drain(&client, req, sizeof req);
    n = srv_101(req, rl, NULL, reply);
    CHECK_EQ_INT(wsproxy_feed(&client, reply, n), n);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_OPEN);
}

static void test_eof_after_close_frame(void)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    unsigned char f[16];
    size_t n;
    TEST_CASE("EOF right after the close frame, before poll");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    n = srv_frame(f, 1, WSPROXY_OP_CLOSE, "\x03\xe9", 2);
    wsproxy_feed(&client, f, n);
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_CLOSE && ev.close_code == 1001);
    CHECK(wsproxy_poll(&client, &ev) == 0);

    TEST_CASE("random source fails while echoing the server's close: ERROR, not CLOSE");
    base_config(&cfg, "ws://h/", NULL);
    cfg.random = switchable_random;
    rng_fail = 0;
    open_direct(&cfg);
    client.rand_used_ = sizeof client.rand_pool_;   /* the echo's mask must draw anew */
    rng_fail = 1;
    n = srv_frame(f, 1, WSPROXY_OP_CLOSE, "\x03\xe9", 2);
    wsproxy_feed(&client, f, n);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_RANDOM);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_FAILED);
    CHECK(wsproxy_poll(&client, &ev) == 0);
    rng_fail = 0;

    TEST_CASE("EOF without close");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_CONNECTION_LOST);
    CHECK_EQ_INT(wsproxy_error_info_get(&client)->close_code, 1006);
}

static void test_timeouts(void)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    unsigned char sent[256];
    size_t n;
    TEST_CASE("proxy timeout");
    base_config(&cfg, "ws://h/", "http://p:1");
    wsproxy_init(&client, &cfg);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_PROXY);
    wsproxy_timeout(&client);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_TIMEOUT);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_NONE);

    TEST_CASE("handshake timeout");
    base_config(&cfg, "ws://h/", NULL);
    wsproxy_init(&client, &cfg);
    wsproxy_timeout(&client);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_HANDSHAKE_TIMEOUT);

    TEST_CASE("close timeout");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_NONE);
    wsproxy_timeout(&client);   /* nothing awaited: ignored */
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_OPEN);
    CHECK_EQ_INT(wsproxy_close(&client, 1000, "done", 4), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_CLOSE);
    drain(&client, sent, sizeof sent);
    wsproxy_timeout(&client);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_CLOSE_TIMEOUT);

    TEST_CASE("keepalive: a pong ends the wait, an unanswered ping times out");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    CHECK_EQ_INT(wsproxy_ping(&client, "k1", 2), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_PONG);
    drain(&client, sent, sizeof sent);
    {
        static const unsigned char text_then_pong[] = {0x81, 0x01, 'x', 0x8a, 0x02, 'k', '1'};
        CHECK_EQ_INT(wsproxy_feed(&client, text_then_pong, sizeof text_then_pong), sizeof text_then_pong);
    }
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_MESSAGE);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_PONG);   /* a message is no pong */
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_PONG);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_NONE);
    wsproxy_timeout(&client);   /* a late timer after the pong: ignored */
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_OPEN);
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_PING, NULL, 0, 1), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_PONG);
    wsproxy_timeout(&client);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PONG_TIMEOUT);
    CHECK_EQ_INT(wsproxy_error_info_get(&client)->close_code, 0);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_NONE);
    CHECK(wsproxy_send_buf(&client, &n) == NULL);   /* failed: nothing more leaves, no close */

    TEST_CASE("keepalive: closing replaces the pong wait");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    CHECK_EQ_INT(wsproxy_ping(&client, NULL, 0), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_close(&client, 1000, NULL, 0), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_waiting_for(&client), WSPROXY_WAIT_CLOSE);
}

/* ---- the 101 checks -------------------------------------------------------------------------- */
static const char *hs_reply;   /* printf format with %s for the right accept */
static size_t script_handshake(const unsigned char *sent, size_t sent_len, unsigned char *out)
{
    char key[25], accept[29];
    const char *k = strstr((const char *)sent, "Sec-WebSocket-Key: ");
    (void)sent_len;
    memcpy(key, k + 19, 24);
    key[24] = 0;
    wsproxy_accept_key(key, 24, accept);
    sprintf((char *)out, hs_reply, accept);
    return strlen((char *)out);
}

static void expect_handshake(const char *name, const char *reply, const char *expected_log)
{
    wsproxy_config cfg;
    const char *protocols[] = {"chat", "v2.chat", NULL};
    static unsigned char sent_nul[4096];
    TEST_CASE(name);
    base_config(&cfg, "ws://h/", NULL);
    cfg.protocols = protocols;
    hs_reply = reply;
    (void)sent_nul;
    run3(&cfg, script_handshake, NULL);
    CHECK(log_is(expected_log));
}

static void test_handshake_checks(void)
{
    expect_handshake("good 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", "OPEN 101 |");
    expect_handshake("tokens any case, lists", "HTTP/1.1 101 x\r\nupgrade: WebSocket\r\n"
                     "connection: keep-alive, UPGRADE\r\nsec-websocket-accept: %s\r\n"
                     "Sec-WebSocket-Protocol: v2.chat\r\n\r\n", "OPEN 101 v2.chat|");
    expect_handshake("Connection in two headers", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\n"
                     "Connection: keep-alive\r\nConnection: upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", "OPEN 101 |");
    expect_handshake("status 200", "HTTP/1.1 200 OK\r\nX: %s\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_STATUS|");
    expect_handshake("status 403", "HTTP/1.1 403 Forbidden\r\nX: %s\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_STATUS|");
    expect_handshake("no Upgrade", "HTTP/1.1 101 x\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     "ERROR 0 WSPROXY_E_HANDSHAKE_UPGRADE|");
    expect_handshake("Upgrade: h2c", "HTTP/1.1 101 x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     "ERROR 0 WSPROXY_E_HANDSHAKE_UPGRADE|");
    expect_handshake("Connection: close", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: close\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_CONNECTION|");
    expect_handshake("no accept", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX: %s\r\n\r\n",
                     "ERROR 0 WSPROXY_E_HANDSHAKE_ACCEPT|");
    expect_handshake("wrong accept", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX: %s\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_ACCEPT|");
    expect_handshake("accept twice", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Accept: x\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_ACCEPT|");
    expect_handshake("protocol not offered", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: other\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_PROTOCOL|");
    expect_handshake("protocol prefix of one offered", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: cha\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_PROTOCOL|");
    expect_handshake("two protocols", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: chat, v2.chat\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_PROTOCOL|");
    expect_handshake("extension not offered", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                     "ERROR 0 WSPROXY_E_HANDSHAKE_EXTENSION|");
    expect_handshake("garbled", "HTTP/1.1 10x\r\n%s\r\n\r\n", "ERROR 0 WSPROXY_E_HANDSHAKE_BAD_REPLY|");
}

/* ---- frame faults: the RFC's close code goes out, then one ERROR, then silence ---------------- */
static const unsigned char *fault_frames;
static size_t fault_len;
static size_t script_fault(const unsigned char *sent, size_t sent_len, unsigned char *out)
{
    size_t n = srv_101(sent, sent_len, NULL, (char *)out);
    memcpy(out + n, fault_frames, fault_len);
    n += fault_len;
    /* a ping after the fault must never be answered */
    n += srv_frame(out + n, 1, WSPROXY_OP_PING, "late", 4);
    return n;
}

static void expect_fault(const char *name, const void *frames, size_t len, int code, int close_code,
                         const char *log_prefix)
{
    wsproxy_config cfg;
    cframe f[4];
    size_t req_end;
    int nf;
    char expected[256];
    TEST_CASE(name);
    base_config(&cfg, "ws://h/", NULL);
    fault_frames = (const unsigned char *)frames;
    fault_len = len;
    run3(&cfg, script_fault, NULL);
    snprintf(expected, sizeof expected, "%sERROR %d %s|", log_prefix, close_code, wsproxy_strerror(code));
    CHECK(log_is(expected));
    req_end = head_len(runs[0].sent, runs[0].sent_len, 0);
    nf = client_frames(&runs[0], req_end, f, 4);
    CHECK_EQ_INT(nf, 1);
    CHECK(nf == 1 && f[0].opcode == WSPROXY_OP_CLOSE && f[0].len == 2 &&
          (f[0].payload[0] << 8 | f[0].payload[1]) == close_code);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_FAILED);
}

static void test_frame_faults(void)
{
    unsigned char b[600];
    size_t n;
    expect_fault("RSV1", "\xc1\x01x", 3, WSPROXY_E_WS_RESERVED_BITS, 1002, "OPEN 101 |");
    expect_fault("RSV3", "\x91\x01x", 3, WSPROXY_E_WS_RESERVED_BITS, 1002, "OPEN 101 |");
    expect_fault("opcode 3", "\x83\x00", 2, WSPROXY_E_WS_OPCODE, 1002, "OPEN 101 |");
    expect_fault("opcode 0xB", "\x8b\x00", 2, WSPROXY_E_WS_OPCODE, 1002, "OPEN 101 |");
    expect_fault("masked", "\x81\x81\x01\x02\x03\x04x", 7, WSPROXY_E_WS_MASKED, 1002, "OPEN 101 |");
    expect_fault("ping without FIN", "\x09\x00", 2, WSPROXY_E_WS_CONTROL_FRAGMENTED, 1002, "OPEN 101 |");
    expect_fault("long ping", "\x89\x7e\x00\x7e", 4, WSPROXY_E_WS_CONTROL_TOO_LONG, 1002, "OPEN 101 |");
    expect_fault("non-minimal 16", "\x82\x7e\x00\x05hello", 9, WSPROXY_E_WS_LENGTH_NONMINIMAL, 1002, "OPEN 101 |");
    expect_fault("non-minimal 64", "\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05hello", 15, WSPROXY_E_WS_LENGTH_NONMINIMAL, 1002, "OPEN 101 |");
    expect_fault("2^63 length", "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, WSPROXY_E_WS_LENGTH_TOO_BIG, 1002, "OPEN 101 |");
    expect_fault("2^63-1 length over max", "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 10, WSPROXY_E_WS_MESSAGE_TOO_BIG, 1009, "OPEN 101 |");
    expect_fault("continuation first", "\x80\x01x", 3, WSPROXY_E_WS_CONTINUATION, 1002, "OPEN 101 |");
    expect_fault("text inside fragmented", "\x01\x01x\x81\x01y", 6, WSPROXY_E_WS_EXPECTED_CONTINUATION, 1002, "OPEN 101 |");
    expect_fault("close payload 1", "\x88\x01\x03", 3, WSPROXY_E_WS_CLOSE_PAYLOAD, 1002, "OPEN 101 |");
    expect_fault("close code 1005", "\x88\x02\x03\xed", 4, WSPROXY_E_WS_CLOSE_CODE, 1002, "OPEN 101 |");
    expect_fault("close code 999", "\x88\x02\x03\xe7", 4, WSPROXY_E_WS_CLOSE_CODE, 1002, "OPEN 101 |");
    expect_fault("close code 5000", "\x88\x02\x13\x88", 4, WSPROXY_E_WS_CLOSE_CODE, 1002, "OPEN 101 |");
    expect_fault("close reason not UTF-8", "\x88\x04\x03\xe8\xff\xfe", 6, WSPROXY_E_WS_INVALID_UTF8, 1007, "OPEN 101 |");
    expect_fault("text not UTF-8", "\x81\x02\xc3\x28", 4, WSPROXY_E_WS_INVALID_UTF8, 1007, "OPEN 101 |");
    expect_fault("text ends inside a code point", "\x81\x02\x61\xe2", 4, WSPROXY_E_WS_INVALID_UTF8, 1007, "OPEN 101 |");
    expect_fault("fragmented text invalid across frames", "\x01\x02\x61\xf4\x80\x02\x90\x80", 8,
                 WSPROXY_E_WS_INVALID_UTF8, 1007, "OPEN 101 |");
    expect_fault("surrogate", "\x81\x03\xed\xa0\x80", 5, WSPROXY_E_WS_INVALID_UTF8, 1007, "OPEN 101 |");
    /* a message over the limit is refused at its header, before its payload */
    n = 0;
    b[n++] = 0x82; b[n++] = 0x7f;
    b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 0x01; b[n++] = 0; b[n++] = 0; b[n++] = 1;
    expect_fault("16 MiB + 1", b, n, WSPROXY_E_WS_MESSAGE_TOO_BIG, 1009, "OPEN 101 |");
}

/* Fail fast: the bad byte is enough, the rest of the frame need not arrive. */
static void test_utf8_fail_fast(void)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    unsigned char f[8] = {0x81, 100, 'a', 'b', 0xff};
    int got_error = 0;
    TEST_CASE("UTF-8 fails at the first bad byte");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    wsproxy_feed(&client, f, 4);
    while (wsproxy_poll(&client, &ev)) CHECK(ev.type == WSPROXY_EV_MESSAGE);
    wsproxy_feed(&client, f + 4, 1);
    while (wsproxy_poll(&client, &ev)) got_error |= ev.type == WSPROXY_EV_ERROR;
    CHECK(got_error);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_WS_INVALID_UTF8);

    TEST_CASE("max message at the header");
    base_config(&cfg, "ws://h/", NULL);
    cfg.max_message = 10;
    open_direct(&cfg);
    wsproxy_feed(&client, "\x01\x06" "abcdef" "\x80\x05", 10);   /* 6 + 5 > 10 */
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_MESSAGE && ev.len == 6 && ev.first && !ev.fin);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_WS_MESSAGE_TOO_BIG);
}

/* Whole messages gathered in the caller's buffer. */
static unsigned char reassembly[64];
static size_t script_reassembly(const unsigned char *sent, size_t sent_len, unsigned char *out)
{
    size_t n = srv_101(sent, sent_len, NULL, (char *)out);
    n += srv_frame(out + n, 0, WSPROXY_OP_BINARY, "ab", 2);
    n += srv_frame(out + n, 1, WSPROXY_OP_PING, "", 0);
    n += srv_frame(out + n, 0, WSPROXY_OP_CONTINUATION, "", 0);
    n += srv_frame(out + n, 1, WSPROXY_OP_CONTINUATION, "cdef", 4);
    n += srv_frame(out + n, 1, WSPROXY_OP_TEXT, "0123456789012345678901234567890123456789", 40);
    n += srv_frame(out + n, 1, WSPROXY_OP_TEXT, "01234567890123456789012345678901234567890123456789012345678901234", 65);
    return n;
}

static void test_reassembly(void)
{
    wsproxy_config cfg;
    TEST_CASE("reassembly into the caller's buffer");
    base_config(&cfg, "ws://h/", NULL);
    cfg.message_buffer = reassembly;
    cfg.message_buffer_len = sizeof reassembly;
    run3(&cfg, script_reassembly, NULL);
    CHECK(log_is("OPEN 101 |PING 0 |MSG 2 abcdef|MSG 1 0123456789012345678901234567890123456789|"
                 "ERROR 1009 WSPROXY_E_WS_MESSAGE_TOO_BIG|"));
}

/* ---- sending ------------------------------------------------------------------------------------ */
static size_t random_calls, random_bytes, random_at[64];
static int counting_random(void *ctx, unsigned char *dst, size_t len)
{
    if (random_calls < 64) random_at[random_calls] = (size_t)test_rng_pos;
    random_calls++;
    random_bytes += len;
    return test_fixed_random(ctx, dst, len);
}

/* Mask keys come from cfg.random WSPROXY_MASK_RANDOM_BYTES at a time, each frame the
   next 4 of them; every payload length up to 300 masks right (the short path up to 16
   bytes, wsproxy_mask above). */
static void test_mask_keys(void)
{
    wsproxy_config cfg;
    static unsigned char out[1 << 16], payload[300], got[300];
    size_t len, frames = 0;
    TEST_CASE("mask keys: drawn in batches, the next 4 bytes per frame, every short length");
    base_config(&cfg, "ws://h/", NULL);
    cfg.random = counting_random;
    open_direct(&cfg);
    random_calls = random_bytes = 0;   /* what init drew (the key's nonce) aside */
    for (len = 0; len <= 300; len++) {
        size_t n, plen = 0, i, k = frames * 4, draw = k / WSPROXY_MASK_RANDOM_BYTES;
        int fin, op;
        for (i = 0; i < len; i++) payload[i] = (unsigned char)(i * 13 + len);
        CHECK_EQ_INT(wsproxy_send_binary(&client, payload, len), WSPROXY_OK);
        n = drain(&client, out, sizeof out);
        CHECK(cli_frame(out, n, &fin, &op, got, &plen) == n);
        CHECK(op == WSPROXY_OP_BINARY && fin && plen == len && memcmp(got, payload, len) == 0);
        CHECK(draw < random_calls);
        if (draw < random_calls && draw < 64) {   /* the key: bytes k.. of the draws, in order */
            size_t at = random_at[draw] + k % WSPROXY_MASK_RANDOM_BYTES, ko = 2 + (len < 126 ? 0 : 2);
            for (i = 0; i < 4; i++) CHECK(out[ko + i] == (unsigned char)((at + i) * 37 + 11));
        }
        frames++;
    }
    CHECK_EQ_INT(random_bytes, random_calls * (size_t)WSPROXY_MASK_RANDOM_BYTES);
    CHECK_EQ_INT(random_calls, (frames * 4 + WSPROXY_MASK_RANDOM_BYTES - 1) / WSPROXY_MASK_RANDOM_BYTES);
}

static void test_sending(void)
{
    wsproxy_config cfg;
    static unsigned char out[1 << 18], big[100000], got[100000];
    cframe f[8];
    run_log *r = &runs[0];
    size_t n, off, i;
    int fin, op, k;
    TEST_CASE("send whole messages and fragments");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    CHECK_EQ_INT(wsproxy_send_text(&client, "hi", 2), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_binary(&client, "\x00\xff", 2), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_TEXT, "fr", 2, 0), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_text(&client, "x", 1), WSPROXY_E_STATE);   /* inside a message */
    CHECK_EQ_INT(wsproxy_ping(&client, "pp", 2), WSPROXY_OK);           /* control in between is fine */
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_CONTINUATION, "ag", 2, 1), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_CONTINUATION, "x", 1, 1), WSPROXY_E_STATE);
    CHECK_EQ_INT(wsproxy_send_text(&client, "\xc3", 1), WSPROXY_E_TEXT_INVALID);
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_TEXT, "\xc3", 1, 0), WSPROXY_OK);   /* completed later */
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_CONTINUATION, "\xa9", 1, 1), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_ping(&client, big, 126), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_send(&client, 3, "", 0, 1), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_send_binary(&client, big, sizeof big), WSPROXY_E_SEND_TOO_LARGE);
    memset(r, 0, sizeof *r);
    r->sent_len = drain(&client, r->sent, sizeof r->sent);
    k = client_frames(r, 0, f, 8);
    CHECK_EQ_INT(k, 7);
    CHECK(f[0].opcode == 1 && f[0].fin && f[0].len == 2 && memcmp(f[0].payload, "hi", 2) == 0);
    CHECK(f[1].opcode == 2 && f[1].fin && f[1].len == 2 && memcmp(f[1].payload, "\x00\xff", 2) == 0);
    CHECK(f[2].opcode == 1 && !f[2].fin && memcmp(f[2].payload, "fr", 2) == 0);
    CHECK(f[3].opcode == 9 && f[3].fin && memcmp(f[3].payload, "pp", 2) == 0);
    CHECK(f[4].opcode == 0 && f[4].fin && memcmp(f[4].payload, "ag", 2) == 0);
    CHECK(f[5].opcode == 1 && !f[5].fin && f[6].opcode == 0 && f[6].fin);
    /* every frame masked with a fresh key: the first key is random bytes 16..19 */
    CHECK(r->sent[1] & 0x80);
    CHECK(r->sent[2] == (unsigned char)(16 * 37 + 11) && r->sent[5] == (unsigned char)(19 * 37 + 11));
    CHECK(memcmp(r->sent + 2, r->sent + 6 + 2 + 2, 4) != 0);

    TEST_CASE("stream a message larger than the send buffer");
    for (i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7);
    CHECK_EQ_INT(wsproxy_send_begin(&client, WSPROXY_OP_BINARY, sizeof big, 1), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_room(&client), 0);
    CHECK_EQ_INT(wsproxy_ping(&client, "x", 1), WSPROXY_E_STATE);   /* not inside a frame */
    /* a ping arriving meanwhile is answered after the frame, not inside it */
    wsproxy_feed(&client, "\x89\x02zz", 4);
    {
        wsproxy_event ev;
        CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_PING);
    }
    off = 0;
    n = 0;
    while (off < sizeof big) {
        size_t took = wsproxy_send_data(&client, big + off, sizeof big - off);
        size_t before = n;
        off += took;
        n += drain(&client, out + n, sizeof out - n);
        CHECK(took > 0 || n > before);
        if (took == 0 && n == before) break;
    }
    n += drain(&client, out + n, sizeof out - n);
    CHECK_EQ_INT(off, sizeof big);
    {
        size_t plen = 0, k1 = cli_frame(out, n, &fin, &op, got, &plen), k2;
        static unsigned char pong[256];
        CHECK(k1 == 14 + sizeof big && op == 2 && fin && plen == sizeof big && memcmp(got, big, sizeof big) == 0);
        k2 = cli_frame(out + k1, n - k1, &fin, &op, pong, &plen);
        CHECK(k2 > 0 && op == WSPROXY_OP_PONG && plen == 2 && memcmp(pong, "zz", 2) == 0);
        CHECK_EQ_INT(k1 + k2, n);
    }

    TEST_CASE("close codes the caller may send");
    CHECK_EQ_INT(wsproxy_close(&client, 1005, "", 0), WSPROXY_E_CLOSE_CODE);
    CHECK_EQ_INT(wsproxy_close(&client, 1006, "", 0), WSPROXY_E_CLOSE_CODE);
    CHECK_EQ_INT(wsproxy_close(&client, 1015, "", 0), WSPROXY_E_CLOSE_CODE);
    CHECK_EQ_INT(wsproxy_close(&client, 2999, "", 0), WSPROXY_E_CLOSE_CODE);
    CHECK_EQ_INT(wsproxy_close(&client, 5000, "", 0), WSPROXY_E_CLOSE_CODE);
    CHECK_EQ_INT(wsproxy_close(&client, 0, "x", 1), WSPROXY_E_CLOSE_REASON);
    CHECK_EQ_INT(wsproxy_close(&client, 1000, (const char *)big, 124), WSPROXY_E_CLOSE_REASON);
    CHECK_EQ_INT(wsproxy_close(&client, 1000, "\xff", 1), WSPROXY_E_CLOSE_REASON);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_OPEN);
    CHECK_EQ_INT(wsproxy_close(&client, 4000, "bye", 3), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_close(&client, 1000, "", 0), WSPROXY_E_STATE);
    CHECK_EQ_INT(wsproxy_send_text(&client, "late", 4), WSPROXY_E_STATE);
    n = drain(&client, out, sizeof out);
    {
        size_t plen = 0;
        CHECK(cli_frame(out, n, &fin, &op, got, &plen) == n && op == 8 && plen == 5 &&
              got[0] == 0x0f && got[1] == 0xa0 && memcmp(got + 2, "bye", 3) == 0);
    }
    {
        wsproxy_event ev;
        wsproxy_feed(&client, "\x88\x02\x0f\xa0", 4);
        CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_CLOSE && ev.close_code == 4000);
        CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_CLOSED);
        CHECK(wsproxy_send_buf(&client, &n) == NULL);   /* no echo of an echo */
    }
}

/* The receive side pushes back instead of growing. */
static void test_backpressure(void)
{
    wsproxy_config cfg;
    static unsigned char junk[100000];
    size_t took, room;
    wsproxy_event ev;
    int events = 0;
    TEST_CASE("receive buffer is bounded");
    base_config(&cfg, "ws://h/", NULL);
    open_direct(&cfg);
    junk[0] = 0x82; junk[1] = 127;
    junk[2] = 0; junk[3] = 0; junk[4] = 0; junk[5] = 0; junk[6] = 0; junk[7] = 0x01; junk[8] = 0x86; junk[9] = 0x96;
    took = wsproxy_feed(&client, junk, sizeof junk);
    CHECK(took <= WSPROXY_RECV_BUFFER_BYTES);
    CHECK(wsproxy_recv_buf(&client, &room) == NULL && room == 0);
    while (wsproxy_poll(&client, &ev)) events++;
    CHECK(events > 0);
    CHECK(wsproxy_recv_buf(&client, &room) != NULL && room > 0);
}

static wsproxy_config cfg_dummy_;

/* Large frames with a message buffer: the rest of the payload goes straight from the
   socket into the caller's buffer (wsproxy_recv_buf hands it out). */
static unsigned char big_msg_buf[1 << 17];
static size_t script_big(const unsigned char *sent, size_t sent_len, unsigned char *out)
{
    static unsigned char payload[70000];
    size_t n = srv_101(sent, sent_len, NULL, (char *)out), i;
    for (i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)('a' + i % 26);
    n += srv_frame(out + n, 0, WSPROXY_OP_TEXT, payload, 30000);
    n += srv_frame(out + n, 1, WSPROXY_OP_PING, "mid", 3);
    n += srv_frame(out + n, 1, WSPROXY_OP_CONTINUATION, payload + 30000, 40000);
    n += srv_frame(out + n, 1, WSPROXY_OP_BINARY, payload, 5000);
    payload[3000] = 0xff;   /* invalid UTF-8 deep inside a large text frame */
    n += srv_frame(out + n, 1, WSPROXY_OP_TEXT, payload, 6000);
    payload[3000] = 'a' + 3000 % 26;
    return n;
}

static void test_direct_placement(void)
{
    wsproxy_config cfg;
    int mode;
    TEST_CASE("large frames straight into the message buffer");
    base_config(&cfg, "ws://h/", NULL);
    cfg.message_buffer = big_msg_buf;
    cfg.message_buffer_len = sizeof big_msg_buf;
    run3(&cfg, script_big, NULL);
    CHECK(strncmp(runs[0].log, "OPEN 101 |PING 0 mid|MSG 1 abcdefghijklmnopqrstuvwxyz", 53) == 0);
    CHECK(strstr(runs[0].log, "LEN 70000|") != NULL && strstr(runs[0].log, "LEN 5000|") != NULL);
    CHECK(strstr(runs[0].log, "ERROR 1007 WSPROXY_E_WS_INVALID_UTF8|") != NULL);
    {
        /* the message is given out by the poll after its last byte, with nothing after
           it in the socket: no later input may be needed to deliver it */
        static unsigned char frame[16 + 70000], payload[70000];
        unsigned char *p;
        size_t n, room, k;
        wsproxy_event ev;
        TEST_CASE("large frame straight into the message buffer: delivered at its last byte");
        for (k = 0; k < 70000; k++) payload[k] = (unsigned char)(k * 7);
        n = srv_frame(frame, 1, WSPROXY_OP_BINARY, payload, 70000) - 70000;
        open_direct(&cfg);
        CHECK_EQ_INT(wsproxy_feed(&client, frame, n + 100), n + 100);
        CHECK(wsproxy_poll(&client, &ev) == 0);
        p = wsproxy_recv_buf(&client, &room);
        CHECK(p == big_msg_buf + 100 && room == 70000 - 100);
        if (p && room == 70000 - 100) {
            memcpy(p, frame + n + 100, room);
            wsproxy_recv_ack(&client, room);
            CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_MESSAGE && ev.fin && ev.first &&
                  ev.len == 70000 && ev.data == big_msg_buf && memcmp(ev.data, frame + n, 70000) == 0);
            CHECK(wsproxy_poll(&client, &ev) == 0);
        }
    }
    for (mode = 0; mode < 3; mode++) {   /* the 1007 went out, nothing after it */
        cframe f[4];
        size_t req_end = head_len(runs[mode].sent, runs[mode].sent_len, 0);
        int nf = client_frames(&runs[mode], req_end, f, 4);
        CHECK(nf == 2 && f[0].opcode == WSPROXY_OP_PONG && f[1].opcode == WSPROXY_OP_CLOSE &&
              (f[1].payload[0] << 8 | f[1].payload[1]) == 1007);
    }
}

/* ---- SOCKS: the handshake, then the 101 and frames in the same read ----------------- */
static const unsigned char *socks_reply;
static size_t socks_reply_len;
static size_t script_socks(const unsigned char *sent, size_t sent_len, unsigned char *out)
{
    size_t n;
    memcpy(out, socks_reply, socks_reply_len);
    script_connect_reply = NULL;
    n = socks_reply_len + script_full(sent, sent_len, out + socks_reply_len);
    script_connect_reply = "HTTP/1.1 200 Connection established\r\n\r\n";
    return n;
}

static void test_socks(void)
{
    static const struct {
        const char *name, *proxy;
        const char *reply; size_t reply_len;
        const char *request; size_t request_len;   /* every byte the client sends first */
        int with_address;
    } ok[] = {
        {"socks5h, no auth", "socks5h://p:1080", "\x05\x00" "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38", 12,
         "\x05\x01\x00" "\x05\x01\x00\x03\x0b" "example.com" "\x00\x50", 21, 0},
        {"socks5h, user and password", "socks5h://us%40er:p%3Ass@p:1080",
         "\x05\x02" "\x01\x00" "\x05\x00\x00\x03\x04host\x04\x38", 15,
         "\x05\x02\x00\x02" "\x01\x05us@er\x04p:ss" "\x05\x01\x00\x03\x0b" "example.com" "\x00\x50", 34, 0},
        {"socks5, resolved address", "socks5://p:1080", "\x05\x00" "\x05\x00\x00\x04" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" "\x04\x38", 24,
         "\x05\x01\x00" "\x05\x01\x00\x01\x0a\x01\x02\x03\x00\x50", 13, 1},
        {"socks4, resolved address", "socks4://bob@p:1080", "\x00\x5a\x00\x00\x00\x00\x00\x00", 8,
         "\x04\x01\x00\x50\x0a\x01\x02\x03" "bob\x00", 12, 1},
        {"socks4a, name", "socks4a://p:1080", "\x00\x5a\x00\x00\x00\x00\x00\x00", 8,
         "\x04\x01\x00\x50\x00\x00\x00\x01\x00" "example.com\x00", 21, 0},
    };
    static const unsigned char addr[4] = {10, 1, 2, 3};
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        wsproxy_config cfg;
        int mode;
        TEST_CASE(ok[i].name);
        base_config(&cfg, "ws://example.com/chat", ok[i].proxy);
        if (ok[i].with_address) { cfg.target_address = addr; cfg.target_address_type = WSPROXY_HOST_IPV4; }
        CHECK_EQ_INT(wsproxy_needs_target_address(cfg.url, cfg.proxy), ok[i].with_address);
        socks_reply = (const unsigned char *)ok[i].reply;
        socks_reply_len = ok[i].reply_len;
        run3(&cfg, script_socks, NULL);
        CHECK(log_is("TUNNEL 0|OPEN 101 |MSG 1 hello|MSG 2 \x01\x02\x7f|PING 0 p1|MSG 1 fragmented \xc3\xa9|PONG 0 |MSG 1 |CLOSE 1000 bye|"));
        for (mode = 0; mode < 3; mode++) {
            /* the SOCKS requests exactly, then the upgrade: no proxy credentials after */
            CHECK(runs[mode].sent_len > ok[i].request_len &&
                  memcmp(runs[mode].sent, ok[i].request, ok[i].request_len) == 0);
            CHECK(memcmp(runs[mode].sent + ok[i].request_len, "GET /chat HTTP/1.1\r\n", 20) == 0);
        }
        CHECK(strcmp(wsproxy_connect_host(&client), "p") == 0);
        CHECK_EQ_INT(wsproxy_connect_port(&client), 1080);
    }
}

static void test_socks_failures(void)
{
    static const struct { const char *name, *proxy, *reply; size_t len; int code, socks_reply; } bad[] = {
        {"SOCKS5 general failure", "socks5h://p", "\x05\x00\x05\x01\x00\x01", 6, WSPROXY_E_SOCKS_GENERAL_FAILURE, 1},
        {"SOCKS5 not allowed", "socks5h://p", "\x05\x00\x05\x02", 4, WSPROXY_E_SOCKS_NOT_ALLOWED, 2},
        {"SOCKS5 network unreachable", "socks5h://p", "\x05\x00\x05\x03", 4, WSPROXY_E_SOCKS_NETWORK_UNREACHABLE, 3},
        {"SOCKS5 host unreachable", "socks5h://p", "\x05\x00\x05\x04", 4, WSPROXY_E_SOCKS_HOST_UNREACHABLE, 4},
        {"SOCKS5 connection refused", "socks5h://p", "\x05\x00\x05\x05", 4, WSPROXY_E_SOCKS_CONNECTION_REFUSED, 5},
        {"SOCKS5 TTL expired", "socks5h://p", "\x05\x00\x05\x06", 4, WSPROXY_E_SOCKS_TTL_EXPIRED, 6},
        {"SOCKS5 command not supported", "socks5h://p", "\x05\x00\x05\x07", 4, WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED, 7},
        {"SOCKS5 address not supported", "socks5h://p", "\x05\x00\x05\x08", 4, WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED, 8},
        {"SOCKS5 unknown reply", "socks5h://p", "\x05\x00\x05\x42", 4, WSPROXY_E_SOCKS_UNKNOWN_REPLY, 0x42},
        {"SOCKS5 no acceptable method", "socks5h://u:p@p", "\x05\xff", 2, WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD, 0xff},
        {"SOCKS5 method not offered", "socks5h://p", "\x05\x02", 2, WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, 2},
        {"SOCKS5 bad password", "socks5h://u:p@p", "\x05\x02\x01\x01", 4, WSPROXY_E_SOCKS_AUTH_FAILED, 1},
        {"SOCKS5 bad version", "socks5h://p", "\x04\x00", 2, WSPROXY_E_SOCKS_BAD_VERSION, -1},
        {"SOCKS5 bad address type", "socks5h://p", "\x05\x00\x05\x00\x00\x09", 6, WSPROXY_E_SOCKS_BAD_REPLY, 0},
        {"SOCKS4 rejected", "socks4a://p", "\x00\x5b", 2, WSPROXY_E_SOCKS4_REJECTED, 0x5b},
        {"SOCKS4 identd unreachable", "socks4a://p", "\x00\x5c", 2, WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE, 0x5c},
        {"SOCKS4 identd mismatch", "socks4a://p", "\x00\x5d", 2, WSPROXY_E_SOCKS4_IDENTD_MISMATCH, 0x5d},
        {"SOCKS4 unknown reply", "socks4a://p", "\x00\x11", 2, WSPROXY_E_SOCKS4_UNKNOWN_REPLY, 0x11},
    };
    size_t i;
    char msg[300];
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wsproxy_config cfg;
        char expected[128];
        TEST_CASE(bad[i].name);
        base_config(&cfg, "ws://example.com/", bad[i].proxy);
        fixed_bytes = (const unsigned char *)bad[i].reply;
        fixed_len = bad[i].len;
        run3(&cfg, script_fixed, NULL);
        snprintf(expected, sizeof expected, "ERROR 0 %s|", wsproxy_strerror(bad[i].code));
        CHECK(log_is(expected));
        if (bad[i].socks_reply >= 0) CHECK_EQ_INT(wsproxy_error_info_get(&client)->socks_reply, bad[i].socks_reply);
        CHECK(!test_contains(runs[0].sent, runs[0].sent_len, "GET ", 4));   /* no upgrade ever left */
    }
    TEST_CASE("describe names the SOCKS reply");
    base_config(&cfg_dummy_, "ws://h/", "socks5h://p");
    wsproxy_init(&client, &cfg_dummy_);
    {
        unsigned char out[256];
        wsproxy_event ev;
        drain(&client, out, sizeof out);               /* the greeting leaves */
        wsproxy_feed(&client, "\x05\x00\x05\x05", 4);
        while (wsproxy_poll(&client, &ev) || drain(&client, out, sizeof out)) {}
    }
    wsproxy_describe(&client, msg, sizeof msg);
    CHECK(strstr(msg, "WSPROXY_E_SOCKS_CONNECTION_REFUSED") && strstr(msg, "SOCKS reply 0x05"));
    TEST_CASE("socks5:// to a name needs an address");
    base_config(&cfg_dummy_, "ws://example.com/", "socks5://p");
    expect_init_error("socks5 without address", &cfg_dummy_, WSPROXY_E_SOCKS_NEED_ADDRESS);
    base_config(&cfg_dummy_, "ws://example.com/", "socks4://p");
    expect_init_error("socks4 without address", &cfg_dummy_, WSPROXY_E_SOCKS_NEED_ADDRESS);
    base_config(&cfg_dummy_, "ws://[::1]/", "socks4://p");
    expect_init_error("socks4 to IPv6", &cfg_dummy_, WSPROXY_E_SOCKS4_IPV6);
    TEST_CASE("SOCKS closes mid-reply");
    base_config(&cfg_dummy_, "ws://h/", "socks5h://p");
    wsproxy_init(&client, &cfg_dummy_);
    wsproxy_feed(&client, "\x05\x00\x05", 3);
    wsproxy_socket_closed(&client, 0);
    {
        wsproxy_event ev;
        CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    }
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_CLOSED);
}

int main(void)
{
    test_direct_request();
    test_host_header_ports();
    test_connect_request();
    test_caller_mistakes();
    test_full_exchange_via_proxy();
    test_full_exchange_direct();
    test_connect_reply_forms();
    test_proxy_failures();
    test_socket_closed();
    test_connect_causes();
    test_url_error_places();
    test_trace();
    test_eof_after_close_frame();
    test_timeouts();
    test_handshake_checks();
    test_frame_faults();
    test_utf8_fail_fast();
    test_reassembly();
    test_sending();
    test_mask_keys();
    test_backpressure();
    test_socks();
    test_socks_failures();
    test_direct_placement();
    return test_summary();
}
