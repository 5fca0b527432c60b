/* permessage-deflate (RFC 7692, issue 16) in memory: the offer, the checks on the 101's
   answer, inflating what a server compressed (zlib driven by this test as the server,
   with its own framing), compressing what the client sends (inflated here and
   unmasked by the test's own code), the limits, and the arena. Every received stream
   is fed whole, one byte at a time and in random splits. */
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#define WSPROXY_DEFLATE
#include "../wsproxy.h"
#include "test.h"

#include <zlib.h>



static wsproxy_client client;
static unsigned char arena[1 << 20];
static unsigned char msgbuf[1 << 21];
static char request[4096];
static size_t request_len;

static void base(wsproxy_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = "ws://example.com/chat";
    cfg->random = test_fixed_random;
    cfg->deflate.enable = 1;
    cfg->deflate.arena = arena;
    cfg->deflate.arena_len = sizeof arena;
    test_rng_pos = 0;
}

static size_t drain(wsproxy_client *c, unsigned char *out, size_t cap)
{
    size_t total = 0, n;
    const unsigned char *p;
    while ((p = wsproxy_send_buf(c, &n)) != NULL && n) {
        if (total + n > cap) n = cap - total;
        memcpy(out + total, p, n);
        total += n;
        wsproxy_send_ack(c, n);
        if (total == cap) break;
    }
    return total;
}

/* Opens the client with a 101 carrying `ext` lines (NULL: none). Returns the event
   type the 101 led to (OPEN or ERROR). */
static int open_with(wsproxy_config *cfg, const char *ext)
{
    char reply[2048], accept[29], key[25];
    const char *k;
    wsproxy_event ev;
    int type = 0;
    if (wsproxy_init(&client, cfg) != WSPROXY_OK) return -1;
    request_len = drain(&client, (unsigned char *)request, sizeof request - 1);
    request[request_len] = 0;
    k = strstr(request, "Sec-WebSocket-Key: ");
    if (!k) return -2;
    memcpy(key, k + 19, 24);
    key[24] = 0;
    wsproxy_accept_key(key, 24, accept);
    snprintf(reply, sizeof reply, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n%s%s\r\n", accept, ext ? ext : "", ext ? "\r\n" : "");
    wsproxy_feed(&client, reply, strlen(reply));
    while (wsproxy_poll(&client, &ev))
        if (ev.type == WSPROXY_EV_OPEN || ev.type == WSPROXY_EV_ERROR) { type = ev.type; break; }
    return type;
}

/* ---- the offer --------------------------------------------------------------------- */
static void test_offer(void)
{
    wsproxy_config cfg;
    static const struct { int cw, sw, cnct, sncnt; const char *line; } offers[] = {
        {0, 0, 0, 0, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"},
        {12, 0, 0, 0, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12\r\n"},
        {-1, 10, 1, 1, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; "
                       "client_no_context_takeover; server_no_context_takeover\r\n"},
        {-1, 0, 0, 0, "Sec-WebSocket-Extensions: permessage-deflate\r\n"},
    };
    size_t i;
    TEST_CASE("the offer in the upgrade request");
    for (i = 0; i < sizeof offers / sizeof offers[0]; i++) {
        base(&cfg);
        cfg.deflate.client_max_window_bits = offers[i].cw;
        cfg.deflate.server_max_window_bits = offers[i].sw;
        cfg.deflate.client_no_context_takeover = offers[i].cnct;
        cfg.deflate.server_no_context_takeover = offers[i].sncnt;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        request_len = drain(&client, (unsigned char *)request, sizeof request - 1);
        CHECK(test_contains(request, request_len, offers[i].line, strlen(offers[i].line)));
    }
    base(&cfg);
    cfg.deflate.enable = 0;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    request_len = drain(&client, (unsigned char *)request, sizeof request - 1);
    CHECK(!test_contains(request, request_len, "Sec-WebSocket-Extensions", strlen("Sec-WebSocket-Extensions")));

    TEST_CASE("options out of range, an arena too small");
    {
        static const int bad[][4] = {{7, 0, 0, 0}, {16, 0, 0, 0}, {-2, 0, 0, 0}, {0, 7, 0, 0}, {0, 16, 0, 0},
                                     {0, -1, 0, 0}, {0, 0, 10, 0}, {0, 0, -1, 0}, {0, 0, 0, 10}};
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            base(&cfg);
            cfg.deflate.client_max_window_bits = bad[i][0];
            cfg.deflate.server_max_window_bits = bad[i][1];
            cfg.deflate.level = bad[i][2];
            cfg.deflate.mem_level = bad[i][3];
            CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_ARGUMENT);
        }
        base(&cfg);
        cfg.deflate.arena_len = wsproxy_deflate_arena_size(&cfg.deflate) - 1;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_DEFLATE_ARENA);
        base(&cfg);
        cfg.deflate.arena = NULL;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_DEFLATE_ARENA);
        cfg.deflate.enable = 0;
        CHECK_EQ_INT(wsproxy_deflate_arena_size(&cfg.deflate), 0);
    }
}

/* ---- the answer ------------------------------------------------------------------------ */
static void expect_refused(const char *name, int cw, int sw, int enable, const char *ext, const char *detail)
{
    wsproxy_config cfg;
    char line[512];
    TEST_CASE(name);
    base(&cfg);
    cfg.deflate.enable = enable;
    cfg.deflate.client_max_window_bits = cw;
    cfg.deflate.server_max_window_bits = sw;
    CHECK_EQ_INT(open_with(&cfg, ext), WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_HANDSHAKE_EXTENSION);
    if (strstr(wsproxy_error_info_get(&client)->extension, detail) == NULL)
        fprintf(stderr, "  detail: \"%s\", expected \"%s\"\n", wsproxy_error_info_get(&client)->extension, detail);
    CHECK(strstr(wsproxy_error_info_get(&client)->extension, detail) != NULL);
    wsproxy_describe(&client, line, sizeof line);
    CHECK(strstr(line, detail) != NULL);
}

static void expect_accepted(const char *name, int cw, int sw, const char *ext, int want_cw, int want_sw, int cnct,
                            int snct)
{
    wsproxy_config cfg;
    wsproxy_deflate_params p;
    TEST_CASE(name);
    base(&cfg);
    cfg.deflate.client_max_window_bits = cw;
    cfg.deflate.server_max_window_bits = sw;
    CHECK_EQ_INT(open_with(&cfg, ext), WSPROXY_EV_OPEN);
    CHECK_EQ_INT(wsproxy_deflate_get(&client, &p), 1);
    CHECK_EQ_INT(p.client_window_bits, want_cw);
    CHECK_EQ_INT(p.server_window_bits, want_sw);
    CHECK_EQ_INT(p.client_no_context_takeover, cnct);
    CHECK_EQ_INT(p.server_no_context_takeover, snct);
}

static void test_answer(void)
{
    wsproxy_config cfg;
    wsproxy_deflate_params p;
    /* RFC 6455 4.1 and RFC 7692 5, 7.1: what a client must refuse (the conformance
       server's 16.4 and 16.5 cases, in memory) */
    expect_refused("an extension not offered", 0, 0, 1, "Sec-WebSocket-Extensions: x-wsproxy-unknown", "x-wsproxy-unknown: not offered");
    expect_refused("permessage-deflate twice in one line", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate", "named twice");
    expect_refused("permessage-deflate twice in two lines", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: permessage-deflate", "named twice");
    expect_refused("server_max_window_bits=16", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16", "server_max_window_bits=16: must be 8 to 15");
    expect_refused("server_max_window_bits=7", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7", "must be 8 to 15");
    expect_refused("client_max_window_bits=16", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=16", "must be 8 to 15");
    expect_refused("client_max_window_bits without a value", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "needs a value in an answer");
    expect_refused("a leading zero", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=010", "must be 8 to 15");
    expect_refused("an unknown parameter", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; x_unknown_param", "x_unknown_param: not a permessage-deflate parameter");
    expect_refused("a value on server_no_context_takeover", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover=1", "takes no value");
    expect_refused("a parameter twice", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover", "given twice");
    expect_refused("permessage-deflate to a client that offered none", 0, 0, 0,
                   "Sec-WebSocket-Extensions: permessage-deflate", "permessage-deflate: not offered");
    expect_refused("client_max_window_bits not offered", -1, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10", "not offered");
    expect_refused("server_max_window_bits above the offer", 0, 10, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=11", "above the value offered");
    expect_refused("client_max_window_bits above the offer", 10, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12", "above the value offered");
    expect_refused("an empty parameter", 0, 0, 1, "Sec-WebSocket-Extensions: permessage-deflate;; server_no_context_takeover", "an empty parameter");
    expect_refused("an unclosed quote", 0, 0, 1,
                   "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"10", "an unclosed quote");
    expect_refused("no semicolon", 0, 0, 1, "Sec-WebSocket-Extensions: permessage-deflate server_no_context_takeover", "malformed");
    expect_refused("an empty value", 0, 0, 1, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=", "an empty value");

    expect_accepted("plain acceptance", 0, 0, "Sec-WebSocket-Extensions: permessage-deflate", 15, 15, 0, 0);
    expect_accepted("every parameter, quoted, any case, odd spacing", 0, 12,
                    "Sec-WebSocket-Extensions: PerMessage-Deflate ;Server_Max_Window_Bits = \"10\" ; client_max_window_bits=9;"
                    "client_no_context_takeover;server_no_context_takeover",
                    9, 10, 1, 1);
    expect_accepted("the offered client window holds without an answer", 11, 0, "Sec-WebSocket-Extensions: permessage-deflate", 11, 15, 0, 0);
    expect_accepted("client window 8: every message goes plain", 0, 0,
                    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8", 0, 15, 0, 0);
    expect_accepted("empty list elements", 0, 0, "Sec-WebSocket-Extensions: , permessage-deflate ,", 15, 15, 0, 0);

    TEST_CASE("a 101 without the extension: not negotiated, RSV1 is then a fault");
    base(&cfg);
    CHECK_EQ_INT(open_with(&cfg, NULL), WSPROXY_EV_OPEN);
    CHECK_EQ_INT(wsproxy_deflate_get(&client, &p), 0);
    {
        static const unsigned char rsv1[] = {0xC1, 0x01, 0x00};
        wsproxy_event ev;
        wsproxy_feed(&client, rsv1, sizeof rsv1);
        while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
        CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_WS_RESERVED_BITS);
        CHECK_EQ_INT(wsproxy_error_info_get(&client)->close_code, 1002);
    }
}

/* ---- the server side of the test: zlib as the server compresses, framed here ------- */
static z_stream srv;
static int srv_window = 15;
static void srv_start(int window)
{
    memset(&srv, 0, sizeof srv);
    srv_window = window;
    deflateInit2(&srv, 6, Z_DEFLATED, -window, 8, Z_DEFAULT_STRATEGY);
}

/* Compressed payload of one message (sync flush, tail removed); finish: end it with a
   BFINAL block instead (RFC 7692 7.2.3.4), after which the server starts a new stream. */
static size_t srv_compress(const void *data, size_t len, unsigned char *out, size_t cap, int finish)
{
    size_t n;
    srv.next_in = (Bytef *)data;
    srv.avail_in = (uInt)len;
    srv.next_out = out;
    srv.avail_out = (uInt)cap;
    deflate(&srv, finish ? Z_FINISH : Z_SYNC_FLUSH);
    n = cap - srv.avail_out;
    if (finish) {
        deflateReset(&srv);
    } else if (n == 0) {   /* nothing to flush since the last one: an empty block's first byte */
        out[0] = 0;
        n = 1;
    } else {
        n -= 4;   /* 00 00 ff ff */
    }
    return n;
}

static size_t srv_frame(unsigned char *out, int fin, int rsv1, int opcode, const void *payload, size_t len)
{
    return test_server_frame(out, (unsigned)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode), payload, len);
}

/* A payload: JSON-like text, or random bytes, or zeros. */
static void make_payload(unsigned char *p, size_t len, int kind, unsigned seed)
{
    size_t i;
    test_seed(seed + 1);
    for (i = 0; i < len; i++) {
        if (kind == 0) {
            static const char json[] = "{\"symbol\":\"WSP\",\"price\":1234.5,\"size\":100,\"side\":\"buy\"},";
            p[i] = (unsigned char)json[(i + seed) % (sizeof json - 1)];
            if (i % 97 == 0) p[i] = (unsigned char)('0' + test_rand() % 10);
        } else if (kind == 1) {
            p[i] = (unsigned char)test_rand();
        } else {
            p[i] = 0;
        }
    }
}

/* Feeds a stream in a mode and gathers the messages: their bytes one after the other
   into got, each message's type and length into a log. Returns the final error. */
static unsigned char got[1 << 21];
static size_t got_len;
static char msg_log[4096];
static int feed_stream(const unsigned char *s, size_t len, int mode, int stop_on_error, size_t *fed_at_error)
{
    size_t off = 0;
    wsproxy_event ev;
    int in_msg = 0;
    got_len = 0;
    msg_log[0] = 0;
    if (fed_at_error) *fed_at_error = 0;
    while (off < len) {
        size_t want = len - off, took;
        if (mode == 1) want = 1;
        else if (mode == 2) { size_t k = 1 + (size_t)(test_rand() % 1500); if (k < want) want = k; }
        took = wsproxy_feed(&client, s + off, want);
        off += took;
        while (wsproxy_poll(&client, &ev)) {
            if (ev.type == WSPROXY_EV_MESSAGE) {
                if (ev.first == in_msg) { CHECK(!"first flag out of order"); }
                in_msg = !ev.fin;
                if (got_len + ev.len <= sizeof got) memcpy(got + got_len, ev.data, ev.len);
                got_len += ev.len;
                if (ev.fin) {
                    size_t l = strlen(msg_log);
                    snprintf(msg_log + l, sizeof msg_log - l, "%c", ev.opcode == WSPROXY_OP_TEXT ? 'T' : 'B');
                }
            } else if (ev.type == WSPROXY_EV_ERROR) {
                if (fed_at_error) *fed_at_error = off;
                return wsproxy_error(&client);
            }
        }
        if (!took && !wsproxy_recv_buf(&client, &want)) break;
        if (stop_on_error && wsproxy_error(&client)) break;
    }
    return wsproxy_error(&client);
}

static unsigned char stream[1 << 22];
static unsigned char plain[1 << 21];
static unsigned char zbuf[1 << 21];

/* Many messages of several kinds and sizes, with context takeover (or not), some
   fragmented, some uncompressed, an empty one, one ended by BFINAL; delivered in chunks
   and into the message buffer, in three feed modes. */
static void test_receive(void)
{
    static const size_t sizes[] = {16, 64, 0, 256, 1024, 4096, 8192, 65536, 200000, 16, 1000, 300000};
    int snct, buffered, mode;
    for (snct = 0; snct < 2; snct++)
        for (buffered = 0; buffered < 2; buffered++)
            for (mode = 0; mode < 3; mode++) {
                wsproxy_config cfg;
                size_t i, slen = 0, plen = 0;
                char expect_log[64] = "", name[128];
                snprintf(name, sizeof name, "receive: %s, %s, fed %s", snct ? "server_no_context_takeover" : "context takeover",
                         buffered ? "message buffer" : "chunks", mode == 0 ? "whole" : mode == 1 ? "byte by byte" : "randomly");
                TEST_CASE(name);
                base(&cfg);
                cfg.deflate.server_no_context_takeover = snct;
                if (buffered) {
                    cfg.message_buffer = msgbuf;
                    cfg.message_buffer_len = sizeof msgbuf;
                }
                CHECK_EQ_INT(open_with(&cfg, snct ? "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"
                                                  : "Sec-WebSocket-Extensions: permessage-deflate"),
                             WSPROXY_EV_OPEN);
                srv_start(15);
                for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                    size_t len = sizes[i], z;
                    int kind = (int)(i % 3), text = kind == 0, finish = i == 5;
                    make_payload(plain + plen, len, kind, (unsigned)i);
                    if (i == 3) {   /* sent uncompressed: RSV1 clear */
                        slen += srv_frame(stream + slen, 1, 0, text ? 1 : 2, plain + plen, len);
                    } else {
                        z = srv_compress(plain + plen, len, zbuf, sizeof zbuf, finish);
                        if (len == 1000 || len == 65536) {   /* fragments of 256 compressed bytes, a ping between */
                            size_t at = 0;
                            while (at < z || at == 0) {
                                size_t k = z - at < 256 ? z - at : 256;
                                slen += srv_frame(stream + slen, at + k == z, at == 0, at == 0 ? (text ? 1 : 2) : 0, zbuf + at, k);
                                if (at == 0) slen += srv_frame(stream + slen, 1, 0, 9, "p", 1);
                                at += k;
                                if (!k) break;
                            }
                        } else {
                            slen += srv_frame(stream + slen, 1, 1, text ? 1 : 2, zbuf, z);
                        }
                        if (snct) deflateReset(&srv);
                    }
                    plen += len;
                    strcat(expect_log, text ? "T" : "B");
                }
                deflateEnd(&srv);
                test_seed(77 + (uint64_t)mode);
                CHECK_EQ_INT(feed_stream(stream, slen, mode, 1, NULL), 0);
                if (strcmp(msg_log, expect_log) != 0) fprintf(stderr, "  messages %s, expected %s\n", msg_log, expect_log);
                CHECK(strcmp(msg_log, expect_log) == 0);
                CHECK_EQ_INT(got_len, plen);
                CHECK(got_len == plen && memcmp(got, plain, plen) == 0);
            }
}

static void expect_rx_fault(const char *name, const unsigned char *s, size_t len, int code, int close_code)
{
    int mode;
    for (mode = 0; mode < 3; mode++) {
        wsproxy_config cfg;
        TEST_CASE(name);
        base(&cfg);
        CHECK_EQ_INT(open_with(&cfg, "Sec-WebSocket-Extensions: permessage-deflate"), WSPROXY_EV_OPEN);
        test_seed(3);
        CHECK_EQ_INT(feed_stream(s, len, mode, 1, NULL), code);
        CHECK_EQ_INT(wsproxy_error_info_get(&client)->close_code, close_code);
    }
}

static void test_receive_faults(void)
{
    size_t n, z;
    /* a compressed text in two fragments, RSV1 on both */
    srv_start(15);
    z = srv_compress("hello there", 11, zbuf, sizeof zbuf, 0);
    n = srv_frame(stream, 0, 1, 1, zbuf, 4);
    n += srv_frame(stream + n, 1, 1, 0, zbuf + 4, z - 4);
    expect_rx_fault("RSV1 on a continuation frame", stream, n, WSPROXY_E_WS_RESERVED_BITS, 1002);
    n = srv_frame(stream, 1, 1, 9, "x", 1);
    expect_rx_fault("RSV1 on a ping", stream, n, WSPROXY_E_WS_RESERVED_BITS, 1002);
    n = srv_frame(stream, 1, 1, 8, "\x03\xe8", 2);
    expect_rx_fault("RSV1 on a close", stream, n, WSPROXY_E_WS_RESERVED_BITS, 1002);
    n = srv_frame(stream, 0, 0, 1, "ab", 2);
    n += srv_frame(stream + n, 1, 1, 0, zbuf, z);
    expect_rx_fault("RSV1 only on the continuation of a plain message", stream, n, WSPROXY_E_WS_RESERVED_BITS, 1002);
    stream[0] = 0xE1;   /* RSV1 and RSV2 */
    stream[1] = 0;
    expect_rx_fault("RSV1 and RSV2", stream, 2, WSPROXY_E_WS_RESERVED_BITS, 1002);
    n = srv_frame(stream, 1, 1, 2, "\x07\x00\x00", 3);   /* a block of the reserved type 3 */
    expect_rx_fault("not DEFLATE data", stream, n, WSPROXY_E_WS_INFLATE, 1007);
    deflateReset(&srv);
    z = srv_compress("ok \xff\xfe bad", 10, zbuf, sizeof zbuf, 0);
    n = srv_frame(stream, 1, 1, 1, zbuf, z);
    expect_rx_fault("compressed text that inflates to invalid UTF-8", stream, n, WSPROXY_E_WS_INVALID_UTF8, 1007);
    deflateReset(&srv);
    z = srv_compress("\xe2\x82", 2, zbuf, sizeof zbuf, 0);
    n = srv_frame(stream, 1, 1, 1, zbuf, z);
    expect_rx_fault("compressed text that ends inside a code point", stream, n, WSPROXY_E_WS_INVALID_UTF8, 1007);
    deflateEnd(&srv);
}

/* A bomb: 64 MiB of zeros, about 64 KiB compressed, against a 1 MiB limit. The client
   must fail with 1009 after about 1 MiB of output, so after about 1 KiB of input. */
static void test_bomb_and_limit(void)
{
    int buffered;
    for (buffered = 0; buffered < 2; buffered++) {
        wsproxy_config cfg;
        size_t n = 0, z = 0, fed = 0, i;
        TEST_CASE(buffered ? "a decompression bomb, message buffer" : "a decompression bomb, chunks");
        base(&cfg);
        cfg.max_message = 1 << 20;
        if (buffered) { cfg.message_buffer = msgbuf; cfg.message_buffer_len = 1 << 20; }
        CHECK_EQ_INT(open_with(&cfg, "Sec-WebSocket-Extensions: permessage-deflate"), WSPROXY_EV_OPEN);
        srv_start(15);
        memset(plain, 0, 1 << 20);
        for (i = 0; i < 64; i++) {   /* 64 x 1 MiB of zeros into one stream */
            srv.next_in = plain;
            srv.avail_in = 1 << 20;
            srv.next_out = zbuf + z;
            srv.avail_out = (uInt)(sizeof zbuf - z);
            deflate(&srv, i == 63 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
            z = sizeof zbuf - srv.avail_out;
        }
        z -= 4;
        deflateEnd(&srv);
        n = srv_frame(stream, 1, 1, 2, zbuf, z);
        CHECK(z < 100000);
        CHECK_EQ_INT(feed_stream(stream, n, 2, 1, &fed), WSPROXY_E_WS_MESSAGE_TOO_BIG);
        CHECK_EQ_INT(wsproxy_error_info_get(&client)->close_code, 1009);
        CHECK(fed < 4096 + 1500);   /* it inflated as the bytes came and stopped at the limit */
        /* with chunks, what came before the limit went out; never more than the limit */
        if (buffered) CHECK_EQ_INT(got_len, 0);
        else CHECK(got_len > 0 && got_len <= (1u << 20));
    }

    TEST_CASE("compressed data that inflates to nothing, without end: bounded, 1009");
    {
        /* empty stored blocks (00 00 00 ff ff) cost the sender 5 bytes and give nothing:
           the compressed size of a message is bounded too (max + max/8 + 4096) */
        wsproxy_config cfg;
        size_t n = 0, i, z = 0;
        base(&cfg);
        cfg.max_message = 1000;
        CHECK_EQ_INT(open_with(&cfg, "Sec-WebSocket-Extensions: permessage-deflate"), WSPROXY_EV_OPEN);
        for (i = 0; i < 2000; i++) { memcpy(zbuf + z, "\0\0\0\xff\xff", 5); z += 5; }   /* 10,000 bytes */
        for (i = 0; i < 10; i++)   /* fragments of 1000: the fifth pushes past the bound */
            n += srv_frame(stream + n, i == 9, i == 0, i == 0 ? 2 : 0, zbuf + i * 1000, 1000);
        CHECK_EQ_INT(feed_stream(stream, n, 0, 1, NULL), WSPROXY_E_WS_MESSAGE_TOO_BIG);
        CHECK_EQ_INT(got_len, 0);
    }

    TEST_CASE("a message of exactly the limit inflates; one byte more is 1009");
    {
        int extra, buffered2;
        for (buffered2 = 0; buffered2 < 2; buffered2++)
            for (extra = 0; extra < 2; extra++) {
                wsproxy_config cfg;
                size_t n, z, lim = 20000;
                base(&cfg);
                cfg.max_message = lim;
                if (buffered2) { cfg.message_buffer = msgbuf; cfg.message_buffer_len = lim; }
                CHECK_EQ_INT(open_with(&cfg, "Sec-WebSocket-Extensions: permessage-deflate"), WSPROXY_EV_OPEN);
                srv_start(15);
                make_payload(plain, lim + 1, 0, 9);
                z = srv_compress(plain, lim + (size_t)extra, zbuf, sizeof zbuf, 0);
                deflateEnd(&srv);
                n = srv_frame(stream, 1, 1, 1, zbuf, z);
                CHECK_EQ_INT(feed_stream(stream, n, 0, 1, NULL), extra ? WSPROXY_E_WS_MESSAGE_TOO_BIG : 0);
                if (!extra) CHECK(got_len == lim && memcmp(got, plain, lim) == 0);
            }
    }
}

/* ---- sending: what the client compressed, inflated here ----------------------------- */
typedef struct {
    z_stream zs;
    int window, fresh_each;   /* fresh_each: a new inflater per message (client_no_context_takeover) */
    unsigned char msg[1 << 21];
    size_t msg_len;
    int first_rsv1, saw_rsv1_later, opcode, frames, plain_msgs;
    char log[256];
} srv_rx;

static void srv_rx_start(srv_rx *r, int window, int fresh_each)
{
    memset(r, 0, sizeof *r);
    r->window = window;
    r->fresh_each = fresh_each;
    inflateInit2(&r->zs, -window);
}

/* Reads the client's frames in buf (unmasking them with the test's own code); returns
   0, or -1 when a frame is wrong. Messages are appended to r->msg. */
static int srv_rx_read(srv_rx *r, const unsigned char *buf, size_t len, int *messages)
{
    size_t off = 0;
    static unsigned char payload[1 << 21], out[1 << 21];
    static int compressed;
    while (off < len) {
        const unsigned char *f = buf + off;
        size_t hl = 2, pl, i;
        int fin = f[0] >> 7, rsv = (f[0] >> 4) & 7, op = f[0] & 15;
        if (!(f[1] & 0x80)) return -1;   /* a client frame is masked */
        pl = f[1] & 127;
        if (pl == 126) { pl = (size_t)f[2] << 8 | f[3]; hl = 4; }
        else if (pl == 127) { pl = 0; for (i = 0; i < 8; i++) pl = pl << 8 | f[2 + i]; hl = 10; }
        for (i = 0; i < pl; i++) payload[i] = f[hl + 4 + i] ^ f[hl + (i & 3)];
        off += hl + 4 + pl;
        if (op >= 8) continue;
        r->frames++;
        if (op != 0) {
            compressed = (rsv & 4) != 0;
            r->opcode = op;
            if (!compressed) r->plain_msgs++;
        } else if (rsv) {
            r->saw_rsv1_later = 1;
        }
        if (rsv & 3) return -1;
        if (compressed) {
            size_t n = pl;
            int pass;
            for (pass = 0; pass < 2; pass++) {   /* the payload, then the tail at the end */
                r->zs.next_in = pass ? (Bytef *)"\0\0\xff\xff" : payload;
                r->zs.avail_in = (uInt)(pass ? 4 : n);
                if (pass && !fin) break;
                do {
                    int rc;
                    r->zs.next_out = out;
                    r->zs.avail_out = sizeof out;
                    rc = inflate(&r->zs, Z_SYNC_FLUSH);
                    if (rc != Z_OK && rc != Z_BUF_ERROR) return -1;
                    memcpy(r->msg + r->msg_len, out, sizeof out - r->zs.avail_out);
                    r->msg_len += sizeof out - r->zs.avail_out;
                } while (r->zs.avail_out == 0);
                if (r->zs.avail_in) return -1;
            }
            if (fin && r->fresh_each) inflateReset(&r->zs);
        } else {
            memcpy(r->msg + r->msg_len, payload, pl);
            r->msg_len += pl;
        }
        if (fin) (*messages)++;
    }
    return 0;
}

static unsigned char wire[1 << 22];

static void test_send(void)
{
    static const struct { const char *name, *ext; int cw, cnct, threshold, window, fresh; } cases[] = {
        {"send: context takeover", "Sec-WebSocket-Extensions: permessage-deflate", 0, 0, 0, 15, 0},
        {"send: client_no_context_takeover asked by the server", "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover", 0, 0, 0, 15, 1},
        {"send: client_no_context_takeover offered", "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover", 0, 1, 0, 15, 1},
        {"send: window 9", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9", 0, 0, 0, 9, 0},
        {"send: window 9, fresh each", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9; client_no_context_takeover", 0, 0, 0, 9, 1},
        {"send: threshold 100", "Sec-WebSocket-Extensions: permessage-deflate", 0, 0, 100, 15, 0},
    };
    static srv_rx r;
    static const size_t sizes[] = {50, 0, 2000, 5000, 16, 12000, 120, 3000};
    size_t ci, i;
    for (ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        wsproxy_config cfg;
        size_t plen = 0, wlen;
        int messages = 0, sent = 0;
        TEST_CASE(cases[ci].name);
        base(&cfg);
        cfg.deflate.client_no_context_takeover = cases[ci].cnct;
        cfg.deflate.threshold = (size_t)cases[ci].threshold;
        CHECK_EQ_INT(open_with(&cfg, cases[ci].ext), WSPROXY_EV_OPEN);
        srv_rx_start(&r, cases[ci].window, cases[ci].fresh);
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            /* repeated text with far repeats, so a wrong window or context shows */
            make_payload(plain + plen, sizes[i], i == 2 ? 1 : 0, (unsigned)(i % 2));
            CHECK_EQ_INT(wsproxy_send(&client, i == 2 ? WSPROXY_OP_BINARY : WSPROXY_OP_TEXT, plain + plen, sizes[i], 1),
                         WSPROXY_OK);
            plen += sizes[i];
            sent++;
            wlen = drain(&client, wire, sizeof wire);
            CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
        }
        CHECK_EQ_INT(messages, sent);
        CHECK(r.msg_len == plen && memcmp(r.msg, plain, plen) == 0);
        CHECK(!r.saw_rsv1_later);
        if (cases[ci].fresh)   /* no context kept: what does not shrink (random, empty, 16 B) goes plain */
            CHECK_EQ_INT(r.plain_msgs, 3);
        else
            CHECK_EQ_INT(r.plain_msgs, cases[ci].threshold ? 3 : 0);   /* 50, 0 and 16 bytes under 100 */
        inflateEnd(&r.zs);
    }

    TEST_CASE("send: window 8 negotiated: everything plain");
    {
        wsproxy_config cfg;
        int messages = 0;
        size_t wlen;
        base(&cfg);
        CHECK_EQ_INT(open_with(&cfg, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8"), WSPROXY_EV_OPEN);
        srv_rx_start(&r, 15, 0);
        make_payload(plain, 3000, 0, 1);
        CHECK_EQ_INT(wsproxy_send_text(&client, (const char *)plain, 3000), WSPROXY_OK);
        wlen = drain(&client, wire, sizeof wire);
        CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
        CHECK_EQ_INT(r.plain_msgs, 1);
        CHECK(r.msg_len == 3000 && memcmp(r.msg, plain, 3000) == 0);
        inflateEnd(&r.zs);
    }

    TEST_CASE("send: fragments, a streamed message, an empty one, pings between");
    {
        wsproxy_config cfg;
        int messages = 0;
        size_t wlen = 0, at = 0, total = 300000;
        base(&cfg);
        CHECK_EQ_INT(open_with(&cfg, "Sec-WebSocket-Extensions: permessage-deflate"), WSPROXY_EV_OPEN);
        srv_rx_start(&r, 15, 0);
        make_payload(plain, total + 2000, 0, 5);
        CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_TEXT, plain, 700, 0), WSPROXY_OK);
        CHECK_EQ_INT(wsproxy_ping(&client, "a", 1), WSPROXY_OK);
        CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_CONTINUATION, plain + 700, 0, 0), WSPROXY_OK);
        CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_CONTINUATION, plain + 700, 1300, 1), WSPROXY_OK);
        wlen = drain(&client, wire, sizeof wire);
        CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
        CHECK_EQ_INT(wsproxy_send_begin(&client, WSPROXY_OP_TEXT, total, 1), WSPROXY_OK);
        while (at < total) {
            size_t k = wsproxy_send_data(&client, plain + 2000 + at, total - at);
            if (!k) {
                wlen = drain(&client, wire, sizeof wire);
                CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
                k = wsproxy_send_data(&client, plain + 2000 + at, total - at);
                if (!k) { CHECK(!"streaming stalled"); break; }
            }
            at += k;
        }
        CHECK_EQ_INT(wsproxy_send_binary(&client, "", 0), WSPROXY_OK);
        wlen = drain(&client, wire, sizeof wire);
        CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
        CHECK_EQ_INT(messages, 3);
        CHECK(r.msg_len == total + 2000 && memcmp(r.msg, plain, total + 2000) == 0);
        CHECK(r.frames > 4);   /* the streamed message went in several frames */
        CHECK(!r.saw_rsv1_later);
        inflateEnd(&r.zs);
    }

    TEST_CASE("send: WOULD_BLOCK leaves the compressor as it was; send_room is honest");
    {
        wsproxy_config cfg;
        int messages = 0, blocked = 0, k;
        size_t wlen, plen = 0;
        base(&cfg);
        CHECK_EQ_INT(open_with(&cfg, "Sec-WebSocket-Extensions: permessage-deflate"), WSPROXY_EV_OPEN);
        srv_rx_start(&r, 15, 0);
        test_seed(11);
        for (k = 0; k < 400; k++) {
            size_t len = (size_t)(test_rand() % 6000), room = wsproxy_send_room(&client);
            int rc;
            make_payload(plain + plen, len, (int)(k % 2), (unsigned)k);
            rc = wsproxy_send(&client, k % 2 ? WSPROXY_OP_BINARY : WSPROXY_OP_TEXT, plain + plen, len, 1);
            if (len <= room) CHECK_EQ_INT(rc, WSPROXY_OK);
            if (rc == WSPROXY_E_WOULD_BLOCK) {
                blocked++;
                wlen = drain(&client, wire, sizeof wire);
                CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
                rc = wsproxy_send(&client, k % 2 ? WSPROXY_OP_BINARY : WSPROXY_OP_TEXT, plain + plen, len, 1);
            }
            CHECK_EQ_INT(rc, WSPROXY_OK);
            plen += len;
            if (test_rand() % 5 == 0) {
                wlen = drain(&client, wire, sizeof wire);
                CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
            }
        }
        wlen = drain(&client, wire, sizeof wire);
        CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
        CHECK(blocked > 0);
        CHECK_EQ_INT(messages, 400);
        CHECK(r.msg_len == plen && memcmp(r.msg, plain, plen) == 0);
        inflateEnd(&r.zs);
    }
}

/* ---- the arena: zlib's real use against wsproxy_deflate_arena_size ------------------ */
static void test_arena(void)
{
    static const int combos[][4] = {{0, 0, 0, 0}, {9, 9, 1, 1}, {15, 15, 9, 9}, {-1, 0, 0, 0}, {12, 10, 5, 0}, {8, 8, 0, 3}};
    size_t i;
    TEST_CASE("the arena: what zlib takes stays within wsproxy_deflate_arena_size");
    for (i = 0; i < sizeof combos / sizeof combos[0]; i++) {
        wsproxy_config cfg;
        char ext[256];
        size_t need, wlen;
        int cw = combos[i][0], sw = combos[i][1];
        int messages = 0;
        static srv_rx r;
        base(&cfg);
        cfg.deflate.client_max_window_bits = cw;
        cfg.deflate.server_max_window_bits = sw;
        cfg.deflate.mem_level = combos[i][2];
        cfg.deflate.level = combos[i][3];
        need = wsproxy_deflate_arena_size(&cfg.deflate);
        cfg.deflate.arena_len = need;
        cfg.deflate.arena = arena + 3;   /* an odd address */
        snprintf(ext, sizeof ext, "Sec-WebSocket-Extensions: permessage-deflate%s%s",
                 sw ? "; server_max_window_bits=" : "", sw ? (sw == 9 ? "9" : sw == 15 ? "15" : sw == 10 ? "10" : "8") : "");
        CHECK_EQ_INT(open_with(&cfg, ext), WSPROXY_EV_OPEN);
        make_payload(plain, 100000, 1, 3);
        srv_rx_start(&r, cw > 8 ? cw : 15, 0);
        CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_BINARY, plain, 10000, 1), WSPROXY_OK);
        wlen = drain(&client, wire, sizeof wire);
        CHECK_EQ_INT(srv_rx_read(&r, wire, wlen, &messages), 0);
        inflateEnd(&r.zs);
        srv_start(sw ? (sw < 9 ? 9 : sw) : 15);
        {
            size_t z = srv_compress(plain, 100000, zbuf, sizeof zbuf, 0), n = srv_frame(stream, 1, 1, 2, zbuf, z);
            CHECK_EQ_INT(feed_stream(stream, n, 0, 1, NULL), 0);
            CHECK_EQ_INT(got_len, 100000);
        }
        deflateEnd(&srv);
        {
            wsproxy_stats st;
            wsproxy_stats_get(&client, &st);
            CHECK(st.deflate_arena_used > 0 && st.deflate_arena_used <= need);
            printf("  arena cw=%d sw=%d mem=%d: formula %zu, zlib used %lu\n", cw, sw, combos[i][2], need,
                   (unsigned long)st.deflate_arena_used);
            CHECK(need - st.deflate_arena_used < 24 * 1024);   /* the formula is not far off either */
        }
    }
}

int main(void)
{
    test_offer();
    test_answer();
    test_receive();
    test_receive_faults();
    test_bomb_and_limit();
    test_send();
    test_arena();
    return test_summary();
}
