/* The stages of the pipeline alone and together, without TLS: the frames stage on bytes
   the caller holds (fed whole, one byte at a time, random splits), the reply-head
   scanner's cost, caller-given buffers of any size at run time, and the defects the
   review of the first pipeline found, each with the test that catches it. */
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#define WSPROXY_STATS
#include "../wsproxy.h"
#include "test.h"


static wsproxy_client client;


static void base_config(wsproxy_config *cfg, const char *url, const char *proxy)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = url;
    cfg->proxy = proxy;
    cfg->random = test_fixed_random;
    test_rng_pos = 0;
}

static size_t drain(unsigned char *out, size_t cap)
{
    size_t total = 0, n;
    const unsigned char *p;
    while ((p = wsproxy_send_buf(&client, &n)) != NULL) {
        if (n > cap - total) n = cap - total;
        if (!n) break;
        memcpy(out + total, p, n);
        total += n;
        wsproxy_send_ack(&client, n);
    }
    return total;
}

/* The 101 for the key the client drew first from the fixed stream. */
static size_t reply_101(char *out)
{
    unsigned char nonce[16];
    char key[25], accept[29];
    unsigned long i;
    for (i = 0; i < 16; i++) nonce[i] = (unsigned char)(i * 37 + 11);
    wsproxy_base64(nonce, 16, key, sizeof key);
    wsproxy_accept_key(key, 24, accept);
    sprintf(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    return strlen(out);
}

static size_t srv_frame(unsigned char *out, int fin, int opcode, const void *payload, size_t len)
{
    return test_server_frame(out, (unsigned)((fin ? 0x80 : 0) | opcode), payload, len);
}

static int open_client(wsproxy_config *cfg)
{
    static unsigned char req[8192];
    char reply[512];
    size_t n;
    wsproxy_event ev;
    if (wsproxy_init(&client, cfg) != WSPROXY_OK) return 0;
    drain(req, sizeof req);
    n = reply_101(reply);
    if (wsproxy_feed(&client, reply, n) != n) return 0;
    return wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_OPEN;
}

/* ---- the frames stage alone ------------------------------------------------------------ */
enum { FEED_WHOLE, FEED_BYTE, FEED_RANDOM, FEED_LARGE, FEED_CUT, FEED_MEDIUM };
static size_t feed_cut;   /* FEED_CUT: the first read ends here, the second has the rest */

/* Logs one event of a frames stage. */
static void frames_log_event(const wsproxy_frames *f, const wsproxy_event *ev, unsigned char *msg, size_t msg_cap,
                             size_t *msg_len, char *log, size_t logcap)
{
    size_t l = strlen(log);
    switch (ev->type) {
    case WSPROXY_EV_MESSAGE:
        if (ev->first) *msg_len = 0;
        if (*msg_len < msg_cap)
            memcpy(msg + *msg_len, ev->data, ev->len < msg_cap - *msg_len ? ev->len : msg_cap - *msg_len);
        *msg_len += ev->len;
        if (ev->fin)
            snprintf(log + l, logcap - l, "MSG %d %.*s|", ev->opcode, (int)(*msg_len < 60 ? *msg_len : 60), msg);
        break;
    case WSPROXY_EV_PING: snprintf(log + l, logcap - l, "PING %.*s|", (int)ev->len, ev->data); break;
    case WSPROXY_EV_PONG: snprintf(log + l, logcap - l, "PONG %.*s|", (int)ev->len, ev->data); break;
    case WSPROXY_EV_CLOSE: snprintf(log + l, logcap - l, "CLOSE %d %.*s|", ev->close_code, (int)ev->len, ev->data); break;
    case WSPROXY_EV_ERROR:
        snprintf(log + l, logcap - l, "ERROR %s %d|", wsproxy_strerror(wsproxy_frames_error(f)), ev->close_code);
        break;
    default: CHECK(0);
    }
}

/* Feeds a server stream to a frames stage in the given way, one event per call
   (batch 0) or with wsproxy_frames_read_many in batches of 1 to batch events; logs
   every event. Each piece is read from a heap block of exactly its size, so that under
   ASan a read one byte past it fails. */
static void frames_run_with(const unsigned char *in, size_t len, int mode, unsigned char *msgbuf,
                            size_t msgcap, uint64_t max_message, char *log, size_t logcap, size_t batch)
{
    wsproxy_frames f;
    size_t off = 0;
    unsigned char msg[4096];
    size_t msg_len = 0;
    wsproxy_frames_init(&f, max_message, msgbuf, msgcap);
    log[0] = 0;
    while (off < len) {
        size_t piece = len - off, used, at = 0;
        wsproxy_event evs[8];
        unsigned char *block;
        if (mode == FEED_BYTE) piece = 1;
        else if (mode == FEED_RANDOM) { size_t k = 1 + (size_t)(test_rand() % 23); if (k < piece) piece = k; }
        else if (mode == FEED_MEDIUM) { size_t k = 1 + (size_t)(test_rand() % 70); if (k < piece) piece = k; }
        else if (mode == FEED_LARGE) { size_t k = 1 + (size_t)(test_rand() % 3000); if (k < piece) piece = k; }
        else if (mode == FEED_CUT && off == 0 && feed_cut < piece) piece = feed_cut;
        block = (unsigned char *)malloc(piece);
        CHECK(block != NULL);
        if (!block) return;
        memcpy(block, in + off, piece);
        for (;;) {
            size_t got, e, max = batch ? 1 + (size_t)(test_rand() % batch) : 1;
            const unsigned char *from = block + at;
            if (batch) {
                got = wsproxy_frames_read_many(&f, from, piece - at, &used, evs, max);
                CHECK(got <= max);
            } else {
                got = (size_t)wsproxy_frames_read(&f, from, piece - at, &used, &evs[0]);
            }
            CHECK(used <= piece - at);
            at += used;
            if (!got) { CHECK(at == piece || wsproxy_frames_error(&f) || evs[0].type == WSPROXY_EV_NONE); break; }
            for (e = 0; e < got; e++) {
                const wsproxy_event *ev = &evs[e];
                /* event data lies in the piece, the message buffer, or the stage itself;
                   in a batch, every event's but the last's in the bytes this call read */
                if (ev->len) CHECK((ev->data >= block && ev->data + ev->len <= block + piece) ||
                                   (msgbuf && ev->data >= msgbuf && ev->data + ev->len <= msgbuf + msgcap) ||
                                   ((const unsigned char *)ev->data >= (const unsigned char *)&f &&
                                    ev->data + ev->len <= (const unsigned char *)(&f + 1)));
                if (ev->len && e + 1 < got) CHECK(ev->data >= from && ev->data + ev->len <= from + used);
                if (e + 1 < got) CHECK(ev->type != WSPROXY_EV_CLOSE && ev->type != WSPROXY_EV_ERROR);
                frames_log_event(&f, ev, msg, sizeof msg, &msg_len, log, logcap);
            }
        }
        free(block);
        off += piece;
        if (wsproxy_frames_error(&f)) break;
    }
}

/* frames_run_with one event per call, then again in batches: the same events. */
static void frames_run(const unsigned char *in, size_t len, int mode, unsigned char *msgbuf,
                       size_t msgcap, uint64_t max_message, char *log, size_t logcap)
{
    static char again[1 << 16];
    frames_run_with(in, len, mode, msgbuf, msgcap, max_message, log, logcap, 0);
    CHECK(logcap <= sizeof again);
    if (logcap > sizeof again) return;
    frames_run_with(in, len, mode, msgbuf, msgcap, max_message, again, logcap, 8);
    CHECK(strcmp(again, log) == 0);
    if (strcmp(again, log) != 0) fprintf(stderr, "  one event per call: %s\n  in batches:         %s\n", log, again);
}

static void test_frames_alone(void)
{
    static unsigned char stream[200000], msgbuf[70000];
    static unsigned char big[66000];
    size_t n = 0, i;
    int mode, with_buf;
    char logs[2][3][2048], expected[2048];
    for (i = 0; i < sizeof big; i++) big[i] = (unsigned char)('a' + i % 26);
    n += srv_frame(stream + n, 1, WSPROXY_OP_TEXT, "hello", 5);
    n += srv_frame(stream + n, 1, WSPROXY_OP_BINARY, "\x00\x01\x02", 3);
    n += srv_frame(stream + n, 0, WSPROXY_OP_TEXT, "fragm", 5);
    n += srv_frame(stream + n, 1, WSPROXY_OP_PING, "p1", 2);          /* a control frame inside */
    n += srv_frame(stream + n, 0, WSPROXY_OP_CONTINUATION, "ented \xc3", 7);   /* split code point */
    n += srv_frame(stream + n, 1, WSPROXY_OP_CONTINUATION, "\xa9", 1);
    n += srv_frame(stream + n, 1, WSPROXY_OP_BINARY, big, sizeof big); /* 64-bit length form */
    n += srv_frame(stream + n, 1, WSPROXY_OP_PONG, "", 0);
    n += srv_frame(stream + n, 1, WSPROXY_OP_TEXT, "", 0);
    n += srv_frame(stream + n, 1, WSPROXY_OP_CLOSE, "\x03\xe8" "bye", 5);
    snprintf(expected, sizeof expected, "MSG 1 hello|MSG 2 %.*s|PING p1|MSG 1 fragmented \xc3\xa9|MSG 2 %.60s|PONG |MSG 1 |CLOSE 1000 bye|",
             3, "\x00\x01\x02", (const char *)big);
    for (with_buf = 0; with_buf < 2; with_buf++) {
        for (mode = 0; mode < 3; mode++) {
            TEST_CASE(with_buf ? "frames alone, message buffer" : "frames alone, chunks");
            test_seed(77 + (uint64_t)mode);
            frames_run(stream, n, mode, with_buf ? msgbuf : NULL, with_buf ? sizeof msgbuf : 0, 0,
                       logs[with_buf][mode], sizeof logs[0][0]);
        }
        /* the same events whatever the splits; the binary message's NUL cuts the log */
        CHECK(strcmp(logs[with_buf][0], logs[with_buf][1]) == 0);
        CHECK(strcmp(logs[with_buf][0], logs[with_buf][2]) == 0);
        CHECK(strstr(logs[with_buf][0], "PING p1|MSG 1 fragmented \xc3\xa9|") != NULL);
        CHECK(strstr(logs[with_buf][0], "|PONG |MSG 1 |CLOSE 1000 bye|") != NULL);
    }
    (void)expected;

    TEST_CASE("frames alone: faults at the same byte whatever the splits");
    {
        static const struct { const char *name, *bytes; size_t len; const char *log; } bad[] = {
            {"reserved bit", "\xc1\x00", 2, "ERROR WSPROXY_E_WS_RESERVED_BITS 1002|"},
            {"masked", "\x81\x81\x00\x00\x00\x00x", 7, "ERROR WSPROXY_E_WS_MASKED 1002|"},
            {"bad UTF-8", "\x81\x02\xc3\x28", 4, "ERROR WSPROXY_E_WS_INVALID_UTF8 1007|"},
            {"continuation first", "\x80\x00", 2, "ERROR WSPROXY_E_WS_CONTINUATION 1002|"},
            {"close code 1005", "\x88\x02\x03\xed", 4, "ERROR WSPROXY_E_WS_CLOSE_CODE 1002|"},
            {"ping too long", "\x89\x7e\x00\x7e", 4, "ERROR WSPROXY_E_WS_CONTROL_TOO_LONG 1002|"},
        };
        size_t k;
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            char l[3][256];
            TEST_CASE(bad[k].name);
            for (mode = 0; mode < 3; mode++)
                frames_run((const unsigned char *)bad[k].bytes, bad[k].len, mode, NULL, 0, 0, l[mode], sizeof l[0]);
            CHECK(strcmp(l[0], bad[k].log) == 0);
            CHECK(strcmp(l[1], bad[k].log) == 0);
            CHECK(strcmp(l[2], bad[k].log) == 0);
        }
    }

    TEST_CASE("frames alone: the message limit counts the whole message");
    {
        char l[256];
        unsigned char s2[64];
        size_t m = srv_frame(s2, 0, WSPROXY_OP_TEXT, "12345", 5);
        m += srv_frame(s2 + m, 1, WSPROXY_OP_CONTINUATION, "67", 2);
        frames_run(s2, m, FEED_WHOLE, NULL, 0, 6, l, sizeof l);
        CHECK(strcmp(l, "ERROR WSPROXY_E_WS_MESSAGE_TOO_BIG 1009|") == 0);
        frames_run(s2, m, FEED_WHOLE, NULL, 0, 7, l, sizeof l);
        CHECK(strcmp(l, "MSG 1 1234567|") == 0);
    }
}

/* Short text whose frame a read ends inside, at every byte: the first part and the rest
   each take the cut path (binary, or ASCII with no code point open) or the general one,
   and bad text fails, wherever the cut and the bad byte lie. */
static void test_frames_cut_text(void)
{
    static unsigned char text[125];
    size_t n;
    TEST_CASE("frames alone: short text cut by the end of a read anywhere (the cut path)");
    {
        static const size_t ns[] = {1, 2, 3, 5, 8, 9, 16, 17, 33, 64, 125};
        size_t ni;
        for (ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            size_t at;
            n = ns[ni];
            for (at = 0; at < n; at++) {
                int kind;
                for (kind = 0; kind < 3; kind++) {   /* a bad byte, a 2-byte and a 3-byte character at `at` */
                    unsigned char f[140];
                    char log[256], want[256];
                    size_t i, m, width = (size_t)kind + 1;
                    if (kind && at + width > n) continue;
                    for (i = 0; i < n; i++) text[i] = (unsigned char)('a' + i % 26);
                    if (kind == 0) text[at] = 0xff;
                    else if (kind == 1) { text[at] = 0xc3; text[at + 1] = 0xa9; }
                    else { text[at] = 0xe2; text[at + 1] = 0x82; text[at + 2] = 0xac; }
                    m = srv_frame(f, 1, WSPROXY_OP_TEXT, text, n);
                    if (kind == 0) snprintf(want, sizeof want, "ERROR WSPROXY_E_WS_INVALID_UTF8 1007|");
                    else snprintf(want, sizeof want, "MSG 1 %.*s|", (int)(n < 60 ? n : 60), (const char *)text);
                    for (feed_cut = 1; feed_cut < m; feed_cut++) {
                        frames_run(f, m, FEED_CUT, NULL, 0, 0, log, sizeof log);
                        CHECK(strcmp(log, want) == 0);
                    }
                }
            }
        }
    }
}

/* Long text, copied into a message buffer or given out in chunks, fed in pieces of up to
   3,000 bytes: the paths that copy or check a piece that lies wholly inside a payload
   (64 bytes at a time, the last block overlapping) give the message byte for byte, and
   fail bad text wherever it lies in a piece. */
static void test_frames_long_text(void)
{
    static const size_t lens[] = {63, 64, 65, 127, 128, 129, 1500, 5000, 20000};
    static unsigned char text[20000], stream[20100], msgbuf[20000];
    size_t li, n;
    int round;
    TEST_CASE("frames alone: short text with a bad byte anywhere (the short-frame path)");
    for (n = 1; n <= 125; n++) {
        size_t bad;
        for (bad = 0; bad < n; bad++) {
            unsigned char f[140];
            char log[256];
            size_t i, m;
            for (i = 0; i < n; i++) text[i] = (unsigned char)('a' + i % 26);
            text[bad] = 0xff;
            m = srv_frame(f, 1, WSPROXY_OP_TEXT, text, n);
            frames_run(f, m, FEED_WHOLE, NULL, 0, 0, log, sizeof log);
            CHECK(strcmp(log, "ERROR WSPROXY_E_WS_INVALID_UTF8 1007|") == 0);
        }
    }
    TEST_CASE("frames alone: long text in pieces, copied out and in chunks");
    test_seed(4242);
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        for (round = 0; round < 40; round++) {
            size_t len = lens[li], i, at = (size_t)test_rand() % len;
            int kind = round % 4;   /* 0 ASCII, 1 a 2-byte character at `at`, 2 a bad byte, 3 a cut code point at the end */
            int mode = 2 + (round / 4) % 2, with_buf = (round / 8) % 2;   /* every kind in every mode, both ways */
            char log[256], want[256];
            for (i = 0; i < len; i++) text[i] = (unsigned char)('A' + (i * 7 + (size_t)round) % 26);
            if (kind == 1 && at + 1 < len) { text[at] = 0xc3; text[at + 1] = 0xa9; }
            if (kind == 2) text[at] = 0xff;
            if (kind == 3) text[len - 1] = 0xc3;
            n = srv_frame(stream, 1, WSPROXY_OP_TEXT, text, len);
            frames_run(stream, n, mode, with_buf ? msgbuf : NULL, with_buf ? sizeof msgbuf : 0, 0, log, sizeof log);
            if (kind >= 2) snprintf(want, sizeof want, "ERROR WSPROXY_E_WS_INVALID_UTF8 1007|");
            else snprintf(want, sizeof want, "MSG 1 %.*s|", (int)(len < 60 ? len : 60), (const char *)text);
            CHECK(strcmp(log, want) == 0);
            if (kind < 2 && with_buf) CHECK(memcmp(msgbuf, text, len) == 0);
        }
    }
}

static void test_frames_exact_size(void)
{
    static unsigned char text[300], stream[320];
    size_t len;
    /* frames_run reads every piece from a block of exactly its size, one event per call
       and in batches; the message buffer here is exactly the message's size */
    TEST_CASE("frames alone: text of 1 to 300 bytes in blocks of exactly its size (ASan)");
    test_seed(777);
    for (len = 1; len <= 300; len++) {
        int kind;
        for (kind = 0; kind < 3; kind++) {   /* ASCII; a 2-byte character last; a bad byte last */
            size_t i, n;
            int mode;
            char want[256];
            for (i = 0; i < len; i++) text[i] = (unsigned char)('a' + (i * 5 + len) % 26);
            if (kind == 1 && len >= 2) { text[len - 2] = 0xc3; text[len - 1] = 0xa9; }
            if (kind == 2) text[len - 1] = 0xff;
            n = srv_frame(stream, 1, WSPROXY_OP_TEXT, text, len);
            if (kind == 2) snprintf(want, sizeof want, "ERROR WSPROXY_E_WS_INVALID_UTF8 1007|");
            else snprintf(want, sizeof want, "MSG 1 %.*s|", (int)(len < 60 ? len : 60), (const char *)text);
            for (mode = 0; mode < 3; mode++) {   /* whole; pieces of up to 23 and 70 bytes */
                static const int modes[3] = {FEED_WHOLE, FEED_RANDOM, FEED_MEDIUM};
                unsigned char *msgbuf = (unsigned char *)malloc(len);
                char log[256];
                frames_run(stream, n, modes[mode], NULL, 0, 0, log, sizeof log);
                CHECK(strcmp(log, want) == 0);
                frames_run(stream, n, modes[mode], msgbuf, len, 0, log, sizeof log);   /* copied out */
                CHECK(strcmp(log, want) == 0);
                free(msgbuf);
            }
        }
    }
}

/* Text copied into a message buffer that starts at each of 64 places in a cache line:
   the copy takes one block wherever it starts, then goes on from the buffer's next
   64-byte boundary. A bad byte or a 2-byte character anywhere in the first 140 bytes,
   before, across and after that step, is found at its byte or copied right. */
static void test_frames_text_alignment(void)
{
    static const size_t lens[] = {128, 129, 200, 300};
    static unsigned char text[300], stream[320], space[300 + 128];
    unsigned char *line = space + (64 - (size_t)((uintptr_t)space & 63)) % 64;   /* a 64-byte boundary */
    size_t off, li, at;
    TEST_CASE("frames alone: text into a message buffer at 64 alignments, a bad byte or a 2-byte character at each place");
    for (off = 0; off < 64; off++)
        for (li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (at = 0; at <= 140; at++) {
                size_t len = lens[li], i, n;
                int bad, placed = at < 140 && at + 1 < len;   /* else all ASCII */
                for (bad = 0; bad < 2; bad++) {
                    char log[256], want[256];
                    for (i = 0; i < len; i++) text[i] = (unsigned char)('a' + (i * 3 + off) % 26);
                    if (placed) {
                        if (bad) text[at] = 0x80;
                        else { text[at] = 0xc3; text[at + 1] = 0xa9; }
                    }
                    n = srv_frame(stream, 1, WSPROXY_OP_TEXT, text, len);
                    memset(line, 0, len + off);
                    frames_run(stream, n, FEED_WHOLE, line + off, len, 0, log, sizeof log);
                    if (bad && placed) snprintf(want, sizeof want, "ERROR WSPROXY_E_WS_INVALID_UTF8 1007|");
                    else snprintf(want, sizeof want, "MSG 1 %.60s|", (const char *)text);
                    CHECK(strcmp(log, want) == 0);
                    if (!bad || !placed) CHECK(memcmp(line + off, text, len) == 0);
                }
            }
}

static void test_frame_build(void)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    unsigned char out[200], big[70000], payload[70000];
    size_t n, i;
    TEST_CASE("frame_build: RFC 6455 5.7 masked Hello");
    n = wsproxy_frame_build(out, sizeof out, 1, WSPROXY_OP_TEXT, key, "Hello", 5);
    CHECK_EQ_INT(n, 11);
    CHECK_MEM(out, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    TEST_CASE("frame_build: unmasked, 126 and 64-bit lengths, too small a buffer");
    n = wsproxy_frame_build(out, sizeof out, 1, WSPROXY_OP_BINARY, NULL, "Hello", 5);
    CHECK(n == 7 && memcmp(out, "\x82\x05Hello", 7) == 0);
    CHECK_EQ_INT(wsproxy_frame_build(out, 10, 1, WSPROXY_OP_TEXT, key, "Hello", 5), 0);
    for (i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)i;
    n = wsproxy_frame_build(big, sizeof big, 0, WSPROXY_OP_BINARY, key, payload, 300);
    CHECK(n == 308 && big[0] == 0x02 && big[1] == (0x80 | 126) && big[2] == 1 && big[3] == 44);
    for (i = 0; i < 300; i++) if ((big[8 + i] ^ key[i & 3]) != payload[i]) break;
    CHECK_EQ_INT(i, 300);
    n = wsproxy_frame_build(big, sizeof big, 1, WSPROXY_OP_BINARY, key, payload, 66000);
    CHECK(n == 66000 + 14 && big[1] == (0x80 | 127));
    CHECK_EQ_INT(wsproxy_frame_build(big, 66000 + 13, 1, WSPROXY_OP_BINARY, key, payload, 66000), 0);
}

/* ---- the reply-head scanner's cost ------------------------------------------------------ */
static void test_head_cost(void)
{
    wsproxy_config cfg;
    wsproxy_stats st;
    char head[6000], reply[512];
    size_t n = 0, i;
    wsproxy_event ev;
    TEST_CASE("a head fed one byte at a time is scanned once (O(n))");
    n = reply_101(reply);
    memcpy(head, reply, n - 2);   /* the 101 without its blank line, then 60 long headers */
    n -= 2;
    for (i = 0; i < 60; i++) n += (size_t)sprintf(head + n, "X-Filler-%02u: %070u\r\n", (unsigned)i, 0u);
    memcpy(head + n, "\r\n", 2);
    n += 2;
    base_config(&cfg, "ws://h/", NULL);
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    {
        unsigned char req[4096];
        drain(req, sizeof req);
    }
    for (i = 0; i < n; i++) {
        CHECK_EQ_INT(wsproxy_feed(&client, head + i, 1), 1);
        if (i + 1 < n) CHECK(!wsproxy_poll(&client, &ev));
    }
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_OPEN);
    wsproxy_stats_get(&client, &st);
    /* each byte is looked at once, a CR at the end of a piece twice: at most 2n */
    CHECK(st.head_bytes_examined >= n && st.head_bytes_examined <= 2 * n);
    if (st.head_bytes_examined > 2 * n)
        fprintf(stderr, "  examined %lu bytes of a %lu-byte head\n", (unsigned long)st.head_bytes_examined, (unsigned long)n);
}

/* ---- caller-given buffers --------------------------------------------------------------- */
static void test_caller_buffers(void)
{
    static unsigned char big_recv[256 * 1024], big_send[256 * 1024], small_recv[256], small_send[256];
    static unsigned char msg[64 * 1024], wire[300000];
    wsproxy_config cfg;
    wsproxy_event ev;
    size_t n, i;
    for (i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)('A' + i % 26);

    TEST_CASE("256 KiB buffers at run time: a 64 KiB message leaves as one frame, in one piece");
    base_config(&cfg, "ws://h/", NULL);
    cfg.recv_buffer = big_recv;
    cfg.recv_buffer_len = sizeof big_recv;
    cfg.send_buffer = big_send;
    cfg.send_buffer_len = sizeof big_send;
    CHECK(open_client(&cfg));
    CHECK_EQ_INT(wsproxy_send_binary(&client, msg, sizeof msg), WSPROXY_OK);
    {
        const unsigned char *p = wsproxy_send_buf(&client, &n);
        CHECK(p >= big_send && p < big_send + sizeof big_send);   /* the caller's memory */
        CHECK_EQ_INT(n, sizeof msg + 14);
        wsproxy_send_ack(&client, n);
    }
    TEST_CASE("256 KiB buffers: a 200 KiB message arrives in one read and one event");
    n = srv_frame(wire, 1, WSPROXY_OP_BINARY, big_recv, 0);
    {
        static unsigned char payload[200 * 1024];
        unsigned char *room;
        size_t r;
        for (i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)i;
        n = srv_frame(wire, 1, WSPROXY_OP_BINARY, payload, sizeof payload);
        room = wsproxy_recv_buf(&client, &r);
        CHECK(room >= big_recv && room + r <= big_recv + sizeof big_recv && r >= n);
        memcpy(room, wire, n);
        wsproxy_recv_ack(&client, n);
        CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_MESSAGE && ev.first && ev.fin);
        CHECK(ev.len == sizeof payload && memcmp(ev.data, payload, ev.len) == 0);
        CHECK(ev.data >= big_recv && ev.data + ev.len <= big_recv + sizeof big_recv);   /* in place */
        CHECK(!wsproxy_poll(&client, &ev));
    }

    TEST_CASE("256-byte buffers in the same program: small frames go, large ones are streamed");
    base_config(&cfg, "ws://h/", NULL);
    cfg.recv_buffer = small_recv;
    cfg.recv_buffer_len = sizeof small_recv;
    cfg.send_buffer = small_send;
    cfg.send_buffer_len = sizeof small_send;
    CHECK(open_client(&cfg));
    CHECK_EQ_INT(wsproxy_send_binary(&client, msg, 200), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_binary(&client, msg, 200), WSPROXY_E_WOULD_BLOCK);
    drain(wire, sizeof wire);
    CHECK_EQ_INT(wsproxy_send_binary(&client, msg, 300), WSPROXY_E_SEND_TOO_LARGE);
    CHECK_EQ_INT(wsproxy_send_begin(&client, WSPROXY_OP_BINARY, 1000, 1), WSPROXY_OK);
    {
        size_t sent = 0, got = 0;
        while (sent < 1000) {
            size_t k = wsproxy_send_data(&client, msg + sent, 1000 - sent);
            sent += k;
            got += drain(wire + got, sizeof wire - got);
            CHECK(k > 0 || got > 0);
        }
        got += drain(wire + got, sizeof wire - got);
        CHECK_EQ_INT(got, 1000 + 8);
    }
    TEST_CASE("256-byte buffers: a message larger than the receive buffer still arrives, in chunks");
    {
        size_t total = 0, fed = 0;
        int events = 0;
        n = srv_frame(wire, 1, WSPROXY_OP_TEXT, msg, 5000);
        while (fed < n) {
            size_t k = wsproxy_feed(&client, wire + fed, n - fed);
            fed += k;
            while (wsproxy_poll(&client, &ev)) {
                CHECK(ev.type == WSPROXY_EV_MESSAGE);
                total += ev.len;
                events++;
            }
            if (!k && fed < n) break;
        }
        CHECK_EQ_INT(total, 5000);
        CHECK(events >= 5000 / 256);
    }

    TEST_CASE("buffers below the minimum, and none at all when the built-in ones are used");
    base_config(&cfg, "ws://h/", NULL);
    cfg.recv_buffer = small_recv;
    cfg.recv_buffer_len = WSPROXY_MIN_RECV_BUFFER - 1;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_BUFFER);
    CHECK(wsproxy_send_buf(&client, &n) == NULL);
    base_config(&cfg, "ws://h/", NULL);
    cfg.send_buffer = small_send;
    cfg.send_buffer_len = WSPROXY_MIN_SEND_BUFFER - 1;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_BUFFER);
    base_config(&cfg, "ws://h/", NULL);
    cfg.send_buffer = small_send;
    cfg.send_buffer_len = 0;   /* "no send buffer": the socket's stage is plain, it needs one */
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_BUFFER);

    TEST_CASE("a reply head longer than the receive buffer");
    base_config(&cfg, "ws://h/", NULL);
    cfg.recv_buffer = small_recv;
    cfg.recv_buffer_len = sizeof small_recv;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    drain(wire, sizeof wire);
    {
        char head[600];
        size_t fed = 0, len;
        static const char start[] = "HTTP/1.1 101 Switching Protocols\r\nX-Long: ";
        memcpy(head, start, sizeof start - 1);
        memset(head + sizeof start - 1, 'x', 400);
        memcpy(head + sizeof start - 1 + 400, "\r\n\r\n", 4);
        len = sizeof start - 1 + 404;
        while (fed < len) {
            size_t k = wsproxy_feed(&client, head + fed, len - fed);
            fed += k;
            if (!k) break;
        }
        while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
        CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_HANDSHAKE_TOO_LARGE);
    }
}

/* ---- the defects of the first pipeline -------------------------------------------------- */
static void test_defects(void)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    unsigned char out[8192];
    size_t n;

    TEST_CASE("defect 2: after the socket closed before the tunnel, no CONNECT is left to send");
    base_config(&cfg, "ws://h/", "http://p:3128");
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    wsproxy_socket_closed(&client, 111);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_PROXY_REFUSED);
    CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);   /* flushing once more sends nothing */
    TEST_CASE("defect 2: nor a half-sent one");
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    CHECK(wsproxy_send_buf(&client, &n) != NULL && n > 10);
    wsproxy_send_ack(&client, 10);
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK(wsproxy_send_buf(&client, &n) == NULL);
    TEST_CASE("defect 2: a protocol fault still sends its close frame");
    base_config(&cfg, "ws://h/", NULL);
    CHECK(open_client(&cfg));
    CHECK_EQ_INT(wsproxy_feed(&client, "\x81\x01\xff", 3), 3);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR && ev.close_code == 1007);
    n = drain(out, sizeof out);
    CHECK(n == 8 && out[0] == 0x88 && out[1] == 0x82 && (out[6] ^ out[2]) == 0x03 && (out[7] ^ out[3]) == 0xef);

    TEST_CASE("defect 4: a sent request that held credentials is wiped from the send buffer");
    {
        static unsigned char sbuf[1024];
        const char *b64 = "dXNlcjpwYXNz";   /* user:pass */
        base_config(&cfg, "ws://h/", "http://user:pass@p:3128");
        cfg.send_buffer = sbuf;
        cfg.send_buffer_len = sizeof sbuf;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        n = drain(out, sizeof out);
        CHECK(n > 0 && test_contains(out, n, b64, strlen(b64)));   /* it was sent */
        CHECK(!test_contains(sbuf, sizeof sbuf, b64, strlen(b64)));  /* and is gone */
        CHECK(!test_contains(sbuf, sizeof sbuf, "CONNECT", 7));
    }
    TEST_CASE("defect 4: also when it left in pieces");
    {
        static unsigned char sbuf[1024];
        const unsigned char *p;
        base_config(&cfg, "ws://h/", "http://user:pass@p:3128");
        cfg.send_buffer = sbuf;
        cfg.send_buffer_len = sizeof sbuf;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        while ((p = wsproxy_send_buf(&client, &n)) != NULL) wsproxy_send_ack(&client, n > 7 ? 7 : n);
        CHECK(!test_contains(sbuf, sizeof sbuf, "dXNl", 4));
        CHECK(!test_contains(sbuf, sizeof sbuf, "Proxy-Authorization", 19));
    }
    TEST_CASE("defect 4: and the SOCKS5 password");
    {
        static unsigned char sbuf[1024];
        base_config(&cfg, "ws://h/", "socks5h://user:s3cretpw@p:1080");
        cfg.send_buffer = sbuf;
        cfg.send_buffer_len = sizeof sbuf;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        drain(out, sizeof out);
        CHECK_EQ_INT(wsproxy_feed(&client, "\x05\x02", 2), 2);
        CHECK(!wsproxy_poll(&client, &ev));
        n = drain(out, sizeof out);
        CHECK(n > 0 && test_contains(out, n, "s3cretpw", 8));
        CHECK(!test_contains(sbuf, sizeof sbuf, "s3cretpw", 8));
        CHECK(!test_contains(&client, sizeof client, "s3cretpw", 8));
    }

    TEST_CASE("defect 5: a streamed fragment does not leave a stale UTF-8 state");
    base_config(&cfg, "ws://h/", NULL);
    CHECK(open_client(&cfg));
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_TEXT, "ab\xc3", 3, 0), WSPROXY_OK);   /* open code point */
    CHECK_EQ_INT(wsproxy_send_begin(&client, WSPROXY_OP_CONTINUATION, 1, 1), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_data(&client, "\xa9", 1), 1);   /* streamed: the caller's to keep valid */
    CHECK_EQ_INT(wsproxy_send_begin(&client, WSPROXY_OP_TEXT, 3, 0), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_data(&client, "new", 3), 3);
    CHECK_EQ_INT(wsproxy_send(&client, WSPROXY_OP_CONTINUATION, "x", 1, 1), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_text(&client, "valid", 5), WSPROXY_OK);

    TEST_CASE("defect 6: endless empty continuation frames end in 1009");
    base_config(&cfg, "ws://h/", NULL);
    CHECK(open_client(&cfg));
    {
        static unsigned char empties[2 * 4096];
        unsigned long sent = 0;
        int failed = 0;
        size_t k;
        for (k = 0; k < sizeof empties; k += 2) { empties[k] = 0x00; empties[k + 1] = 0x00; }
        CHECK_EQ_INT(wsproxy_feed(&client, "\x01\x00", 2), 2);   /* a text message opens */
        while (!failed && sent < 2ul * WSPROXY_MAX_MESSAGE_FRAMES + 10) {
            size_t fed = wsproxy_feed(&client, empties, sizeof empties);
            sent += fed / 2;
            while (wsproxy_poll(&client, &ev)) {
                CHECK(ev.type == WSPROXY_EV_ERROR);
                failed = 1;
            }
            if (!fed) break;
        }
        CHECK(failed);
        CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_WS_MESSAGE_TOO_BIG);
        CHECK_EQ_INT(wsproxy_error_info_get(&client)->close_code, 1009);
        CHECK(sent <= WSPROXY_MAX_MESSAGE_FRAMES + sizeof empties);
    }

    TEST_CASE("defect 7: WSPROXY_E_STATE is never sticky");
    base_config(&cfg, "ws://h/", "http://p:3128");
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    CHECK_EQ_INT(wsproxy_send_text(&client, "early", 5), WSPROXY_E_STATE);
    CHECK_EQ_INT(wsproxy_error(&client), 0);
    CHECK_EQ_INT(wsproxy_get_state(&client), WSPROXY_STATE_PROXY);
    drain(out, sizeof out);
    CHECK_EQ_INT(wsproxy_feed(&client, "HTTP/1.1 200 OK\r\n\r\n", 19), 19);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_TUNNEL);
    CHECK(!wsproxy_poll(&client, &ev));
    CHECK_EQ_INT(wsproxy_error(&client), 0);
    CHECK_EQ_INT(wsproxy_close(&client, 1000, NULL, 0), WSPROXY_E_STATE);
    CHECK_EQ_INT(wsproxy_error(&client), 0);
}

/* ---- the ABI check ---------------------------------------------------------------------- */
static void test_abi(void)
{
    wsproxy_config cfg;
    TEST_CASE("a translation unit that sees another struct gets WSPROXY_E_ABI, client untouched");
    base_config(&cfg, "ws://h/", NULL);
    memset(&client, 0xA5, 64);
    CHECK_EQ_INT(wsproxy_init_abi_(&client, &cfg, sizeof(wsproxy_client) - 8, WSPROXY_ABI_TAG), WSPROXY_E_ABI);
    CHECK_EQ_INT(((unsigned char *)&client)[0], 0xA5);
    CHECK_EQ_INT(wsproxy_init_abi_(&client, &cfg, sizeof(wsproxy_client), WSPROXY_ABI_TAG ^ 1u), WSPROXY_E_ABI);
    CHECK_EQ_INT(((unsigned char *)&client)[0], 0xA5);
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    CHECK(strcmp(wsproxy_strerror(WSPROXY_E_ABI), "WSPROXY_E_ABI") == 0);
    CHECK(strcmp(wsproxy_error_layer(WSPROXY_E_ABI), "caller") == 0);
    CHECK(strcmp(wsproxy_error_layer(WSPROXY_E_PROXY_AUTH), "proxy") == 0);
    CHECK(strcmp(wsproxy_error_layer(WSPROXY_E_WS_MASKED), "websocket") == 0);
    CHECK(strcmp(wsproxy_error_layer(999), "unknown") == 0);
    CHECK(strcmp(wsproxy_version(), WSPROXY_VERSION) == 0);
    CHECK_EQ_INT(WSPROXY_VERSION_NUMBER, (WSPROXY_VERSION_MAJOR << 16) | (WSPROXY_VERSION_MINOR << 8) | WSPROXY_VERSION_PATCH);
}

/* The short-frame path (a whole text or binary frame of up to 125 bytes between
   messages) and the general one must agree: every state change between them. */
static void test_short_frame_path(void)
{
    static const unsigned char stream[] = {
        0x81, 0x03, 'a', 'b', 'c',                  /* ASCII text: the short path */
        0x81, 0x02, 0xc3, 0xa9,                     /* text that is not ASCII: the general path */
        0x01, 0x02, 'x', 'y',                       /* a fragmented message begins */
        0x89, 0x00,                                 /* a ping between its fragments */
        0x82, 0x01, 0x00,                           /* a new message inside it: a fault */
    };
    static const unsigned char after[] = {0x80, 0x01, 'z', 0x82, 0x01, 0x07, 0x81, 0x03, 'o', 0xff, 'k'};
    wsproxy_frames f;
    wsproxy_event ev;
    size_t used, pos = 0;
    int events = 0;
    TEST_CASE("the short-frame path and the general path agree");
    wsproxy_frames_init(&f, 0, NULL, 0);
    while (wsproxy_frames_read(&f, stream + pos, sizeof stream - pos, &used, &ev)) {
        pos += used;
        events++;
        if (events == 1) CHECK(ev.type == WSPROXY_EV_MESSAGE && ev.len == 3 && ev.first && ev.fin && ev.status == 0);
        if (events == 2) CHECK(ev.type == WSPROXY_EV_MESSAGE && ev.len == 2 && ev.first && ev.fin);
        if (events == 3) CHECK(ev.type == WSPROXY_EV_MESSAGE && ev.len == 2 && ev.first && !ev.fin);
        if (events == 4) CHECK(ev.type == WSPROXY_EV_PING);
        if (events == 5) CHECK(ev.type == WSPROXY_EV_ERROR && wsproxy_frames_error(&f) == WSPROXY_E_WS_EXPECTED_CONTINUATION);
        if (ev.type == WSPROXY_EV_ERROR) break;
    }
    CHECK_EQ_INT(events, 5);
    CHECK_EQ_INT(wsproxy_frames_read(&f, stream, 5, &used, &ev), 0);   /* after a fault, nothing */

    TEST_CASE("short frames after a fragmented message, and invalid short text");
    wsproxy_frames_init(&f, 0, NULL, 0);
    CHECK_EQ_INT(wsproxy_frames_read(&f, stream + 9, 4, &used, &ev), 1);   /* fragment 1 */
    pos = 0;
    events = 0;
    while (wsproxy_frames_read(&f, after + pos, sizeof after - pos, &used, &ev)) {
        pos += used;
        events++;
        if (events == 1) CHECK(ev.type == WSPROXY_EV_MESSAGE && ev.fin && !ev.first && ev.len == 1);
        if (events == 2) CHECK(ev.type == WSPROXY_EV_MESSAGE && ev.opcode == WSPROXY_OP_BINARY && ev.first && ev.fin);
        if (events == 3) {
            CHECK(ev.type == WSPROXY_EV_ERROR && wsproxy_frames_error(&f) == WSPROXY_E_WS_INVALID_UTF8 && ev.close_code == 1007);
            break;
        }
    }
    CHECK_EQ_INT(events, 3);

    TEST_CASE("a short frame over max_message goes the general way and fails");
    wsproxy_frames_init(&f, 2, NULL, 0);
    CHECK_EQ_INT(wsproxy_frames_read(&f, stream, 5, &used, &ev), 1);
    CHECK(ev.type == WSPROXY_EV_ERROR && wsproxy_frames_error(&f) == WSPROXY_E_WS_MESSAGE_TOO_BIG);

    TEST_CASE("read_many: room for no event reads nothing; a batch ends at its fault, then nothing");
    {
        wsproxy_event evs[8];
        size_t got;
        wsproxy_frames_init(&f, 0, NULL, 0);
        used = 99;
        CHECK_EQ_INT(wsproxy_frames_read_many(&f, stream, sizeof stream, &used, NULL, 0), 0);
        CHECK_EQ_INT(used, 0);
        got = wsproxy_frames_read_many(&f, stream, sizeof stream, &used, evs, 8);
        CHECK_EQ_INT(got, 5);   /* the five events above, the fault last */
        CHECK(evs[0].type == WSPROXY_EV_MESSAGE && evs[0].len == 3 && evs[0].data == stream + 2);
        CHECK(evs[3].type == WSPROXY_EV_PING && evs[4].type == WSPROXY_EV_ERROR && evs[4].close_code == 1002);
        CHECK_EQ_INT(wsproxy_frames_read_many(&f, stream, sizeof stream, &used, evs, 8), 0);
        CHECK_EQ_INT(used, 0);
        wsproxy_frames_init(&f, 0, NULL, 0);   /* two at a time: the same events, in three calls */
        pos = 0;
        events = 0;
        while ((got = wsproxy_frames_read_many(&f, stream + pos, sizeof stream - pos, &used, evs, 2)) != 0) {
            CHECK(got <= 2);
            pos += used;
            events += (int)got;
            if (events == 5) CHECK(got == 1 && evs[0].type == WSPROXY_EV_ERROR);
        }
        CHECK_EQ_INT(events, 5);
    }
}

int main(void)
{
    test_short_frame_path();
    test_frames_alone();
    test_frames_long_text();
    test_frames_exact_size();
    test_frames_text_alignment();
    test_frames_cut_text();
    test_frame_build();
    test_head_cost();
    test_caller_buffers();
    test_defects();
    test_abi();
    return test_summary();
}
