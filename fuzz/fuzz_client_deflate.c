/* The whole client (WSPROXY_NO_TLS, direct) with permessage-deflate negotiated, driven
   by a scripted server byte stream: the inflate path (issue 16).

   INPUT
     byte 0   bits 0-3 the 101's answer (ANSWERS below), bit 4 reassembly into a message
              buffer, bit 5 a small max_message (byte 1), bit 6 receive through
              wsproxy_recv_buf/wsproxy_recv_ack instead of wsproxy_feed, bit 7 the
              second offer (server_max_window_bits=15, level 1, mem_level 1, threshold 16)
     byte 1   parameter for bits 4 and 5
     byte 2   chunk-size seed (0: each byte segment is fed whole)
     rest     the server's frames after the 101 the harness writes, where
                0xFF 0xFF  is a literal 0xFF byte
                0xFF X     is a caller action X with up to 3 argument bytes (do_action:
                           send text/binary, compressed or not, fragments, a streamed
                           message, ping, close, EOF, stop/resume draining)
   The script runs twice: fed in chunk sizes from the seed, and fed byte by byte. Both
   runs must log the same events and write the same bytes.

   INVARIANTS (beside the sanitizers)
     the negotiated parameters (wsproxy_deflate_get) are the answer's;
     events: known types in a legal order, nothing after CLOSE or ERROR, message data
       inside the client, its deflate arena or the message buffer; per message the
       chunks add up to at most max_message; text chunks are always a valid UTF-8
       prefix (checked by a decoder of our own, state kept across chunks) and a whole
       text message is valid UTF-8; error codes named with the RFC's close code (1002,
       1007 for bad UTF-8 and bad DEFLATE data, 1009);
     bytes written: the upgrade request with the offer, then masked client frames only,
       RSV1 only on the first frame of a data message and only when the client
       compresses, control frames whole and short, nothing after our close frame; every
       data message the client wrote, inflated here with zlib (the negotiated client
       window, the context reset when client_no_context_takeover), is the message the
       caller sent, byte for byte;
     buffers: recv/send windows within their sizes; poll never loops forever.
   The script, its feeding, the random source and the event invariants are those of
   fuzz_client (fuzz/client_harness.h); the actions and the check of the written frames
   are this target's.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 8000 */
#define WSPROXY_NO_TLS
#define WSPROXY_DEFLATE
#include "fuzz_common.h"

#include <errno.h>
#include <zlib.h>

#include "client_harness.h"

/* The 101's Sec-WebSocket-Extensions answer and the parameters it settles (client
   window 0: the client sends uncompressed, a window of 8 being one zlib cannot use). */
static const struct {
    const char *ext;
    int cw, sw, cnct, snct;
} ANSWERS[16] = {
    {"permessage-deflate", 15, 15, 0, 0},
    {"permessage-deflate; server_no_context_takeover", 15, 15, 0, 1},
    {"permessage-deflate; server_max_window_bits=9", 15, 9, 0, 0},
    {"permessage-deflate; server_max_window_bits=10", 15, 10, 0, 0},
    {"permessage-deflate; server_max_window_bits=11", 15, 11, 0, 0},
    {"permessage-deflate; server_max_window_bits=12", 15, 12, 0, 0},
    {"permessage-deflate; server_max_window_bits=13", 15, 13, 0, 0},
    {"permessage-deflate; server_max_window_bits=14", 15, 14, 0, 0},
    {"permessage-deflate; server_max_window_bits=15", 15, 15, 0, 0},
    {"permessage-deflate; client_no_context_takeover", 15, 15, 1, 0},
    {"permessage-deflate; client_max_window_bits=9", 9, 15, 0, 0},
    {"permessage-deflate; client_max_window_bits=8", 0, 15, 0, 0},
    {"permessage-deflate; server_max_window_bits=8", 15, 8, 0, 0},
    {"permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=10; client_max_window_bits=12", 12, 10, 1, 1},
    {"permessage-deflate; client_max_window_bits=15; server_max_window_bits=15", 15, 15, 0, 0},
    {"permessage-deflate; client_max_window_bits=10; server_no_context_takeover", 10, 15, 0, 1},
};

/* ---- what the caller handed over, for the check of the written messages ------------ */
#define WANT_CAP (1 << 18)
typedef struct {
    /* the data messages the caller handed over (accepted by the library), in order:
       opcode, length and the bytes, one after the other in want[] */
    unsigned char want[WANT_CAP];
    size_t want_len;
    int want_overflow;
    size_t want_msg_start[64], want_msg_end[64];
    int want_msg_op[64];
    size_t want_msgs;                  /* complete messages */
    int want_open;                     /* a message is being handed over */
} sent_msgs;

static run_state runs[2];
static sent_msgs wants[2];
static sent_msgs *cur_want;
static unsigned char *arena;
static size_t arena_len;
static int answer_g;

/* What the caller handed over: the start of a data message, its bytes, its end. */
static void want_begin(sent_msgs *w, int opcode)
{
    if (w->want_msgs >= 64) { w->want_overflow = 1; return; }
    w->want_msg_start[w->want_msgs] = w->want_len;
    w->want_msg_op[w->want_msgs] = opcode;
    w->want_open = 1;
}
static void want_bytes(sent_msgs *w, const unsigned char *p, size_t n)
{
    if (!w->want_open || w->want_overflow) return;
    if (n > WANT_CAP - w->want_len) { w->want_overflow = 1; return; }
    if (n) memcpy(w->want + w->want_len, p, n);
    w->want_len += n;
}
static void want_end(sent_msgs *w)
{
    if (!w->want_open || w->want_overflow) return;
    w->want_open = 0;
    w->want_msg_end[w->want_msgs++] = w->want_len;
}

/* At EV_OPEN: the negotiated parameters are the answer's. */
static void open_check(void)
{
    wsproxy_deflate_params dp;
    FUZZ_CHECK(wsproxy_deflate_get(&client, &dp) == 1);
    FUZZ_CHECK(dp.client_window_bits == ANSWERS[answer_g].cw);
    FUZZ_CHECK(dp.server_window_bits == ANSWERS[answer_g].sw);
    FUZZ_CHECK(dp.client_no_context_takeover == ANSWERS[answer_g].cnct);
    FUZZ_CHECK(dp.server_no_context_takeover == ANSWERS[answer_g].snct);
}

/* Text that compresses (repeats) with 2-, 3- and 4-byte code points. */
static const unsigned char deflate_pattern[] =
    "{\"t\":\"h\xC3\xA9llo w\xE2\x82\xACrld \xF0\x9F\x98\x80\",\"n\":[1,2,3,4,5,6,7,8,9]} ";

static unsigned char big[70000];

static void do_action(run_state *r, const segment *s)
{
    unsigned a0 = s->n > 0 ? s->p[0] : 0, a1 = s->n > 1 ? s->p[1] : 0, a2 = s->n > 2 ? s->p[2] : 0;
    int rc = 0;
    switch (s->action) {
    case 't':   /* text from the script: may be bad UTF-8 (refused, nothing recorded) */
        rc = wsproxy_send_text(&client, (const char *)s->p, s->n);
        if (rc == WSPROXY_OK) { want_begin(cur_want, 1); want_bytes(cur_want, s->p, s->n); want_end(cur_want); }
        break;
    case 'u': {   /* text of the pattern, a0*64+a1 bytes, cut back to whole code points */
        size_t len = (size_t)a0 * 64 + a1;
        while (len && (big[len] & 0xC0) == 0x80) len--;
        rc = wsproxy_send_text(&client, (const char *)big, len);
        if (rc == WSPROXY_OK) { want_begin(cur_want, 1); want_bytes(cur_want, big, len); want_end(cur_want); }
        break;
    }
    case 'b': {   /* binary: a2 picks the pattern or bytes that do not compress */
        size_t len = (size_t)a0 << 8 | a1;
        const unsigned char *d = (a2 & 1) ? big + 35000 : big;
        if (len > 35000) len = 35000;
        rc = wsproxy_send_binary(&client, d, len);
        if (rc == WSPROXY_OK) { want_begin(cur_want, 2); want_bytes(cur_want, d, len); want_end(cur_want); }
        break;
    }
    case 'f':   /* the first frame of a fragmented message, not final */
        rc = wsproxy_send(&client, a0 & 1 ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY, big, a1, 0);
        if (rc == WSPROXY_OK) {
            /* a text fragment may end inside a code point: the message is still text */
            want_begin(cur_want, a0 & 1 ? 1 : 2);
            want_bytes(cur_want, big, a1);
        }
        break;
    case 'g':   /* a continuation frame, final when a0 is odd */
        rc = wsproxy_send(&client, WSPROXY_OP_CONTINUATION, big + a1, a2, a0 & 1);
        if (rc == WSPROXY_OK) { want_bytes(cur_want, big + a1, a2); if (a0 & 1) want_end(cur_want); }
        break;
    case 's': {   /* a streamed binary message of a0*a1*4 bytes, fed in pieces of a2*8+1 */
        uint64_t total = (uint64_t)a0 * a1 * 4;
        const unsigned char *d = (a2 & 1) ? big + 35000 : big;
        rc = wsproxy_send_begin(&client, WSPROXY_OP_BINARY, total, 1);
        if (rc == WSPROXY_OK) {
            size_t sent = 0, k;
            want_begin(cur_want, 2);
            while (sent < total) {
                size_t want = total - sent < a2 * 8u + 1u ? (size_t)(total - sent) : a2 * 8u + 1u;
                k = wsproxy_send_data(&client, d + (sent % 1000), want);
                FUZZ_CHECK(k <= want);
                if (k == 0) {   /* send buffer full: flush it, unless stalled */
                    if (r->stalled) break;
                    drain(r);
                    k = wsproxy_send_data(&client, d + (sent % 1000), want);
                    if (k == 0) break;
                }
                want_bytes(cur_want, d + (sent % 1000), k);
                sent += k;
            }
            if (sent == total) want_end(cur_want);
            logs(r, "streamed %zu|", sent);
        }
        break;
    }
    case 'p': rc = wsproxy_ping(&client, s->p, s->n); break;
    case 'c': rc = wsproxy_close(&client, 1000 + (int)(a0 % 4), (const char *)deflate_pattern, a1 % 20); break;
    case 'E': wsproxy_socket_closed(&client, 0); break;
    case 'S': r->stalled = 1; break;
    case 'D': r->stalled = 0; break;
    case 'r': logs(r, "room %zu|", wsproxy_send_room(&client)); break;
    default: logs(r, "nop|"); return;
    }
    logs(r, "%c=%d|", s->action, rc);
    take_events(r);
}

/* Inflates one compressed message (the final frame's 00 00 ff ff put back) with the
   client's stream and compares it with what the caller sent. */
static void check_message(z_stream *zs, int compressed, const unsigned char *payload, size_t len,
                          const unsigned char *expect, size_t expect_len)
{
    if (!compressed) {
        FUZZ_CHECK(len == expect_len && (len == 0 || memcmp(payload, expect, len) == 0));
        return;
    }
    {
        static unsigned char out[WANT_CAP + 1];
        static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
        int zr;
        zs->next_in = (Bytef *)payload;
        zs->avail_in = (uInt)len;
        zs->next_out = out;
        zs->avail_out = sizeof out;
        zr = inflate(zs, Z_SYNC_FLUSH);
        FUZZ_CHECK(zr == Z_OK || zr == Z_BUF_ERROR);
        FUZZ_CHECK(zs->avail_in == 0);
        zs->next_in = (Bytef *)tail;
        zs->avail_in = 4;
        zr = inflate(zs, Z_SYNC_FLUSH);
        FUZZ_CHECK(zr == Z_OK || zr == Z_BUF_ERROR);
        FUZZ_CHECK(zs->avail_in == 0);
        FUZZ_CHECK(sizeof out - zs->avail_out == expect_len);
        FUZZ_CHECK(expect_len == 0 || memcmp(out, expect, expect_len) == 0);
    }
}

/* Checks the bytes the client wrote: the request head with the offer, then masked frames
   whose data messages are, once inflated, the ones the caller sent. */
static void check_sent(const run_state *r, const sent_msgs *w)
{
    static unsigned char payload[sizeof runs[0].sent];
    const unsigned char *p = r->sent;
    size_t n = r->sent_len, off = 0, plen = 0, i, msgs = 0;
    int closed = 0, in_msg = 0, msg_z = 0, msg_op = 0, cw = ANSWERS[answer_g].cw;
    z_stream zs;
    if (r->sent_total != r->sent_len || w->want_overflow) return;   /* too much to keep */
    for (i = 0; i + 3 < n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) break;
    if (i + 3 >= n) return;
    FUZZ_CHECK(memcmp(p, "GET ", 4) == 0);
    {
        static const char offer[] = "Sec-WebSocket-Extensions: permessage-deflate";
        size_t k, found = 0;
        for (k = 0; k + sizeof offer - 1 <= i; k++)
            if (memcmp(p + k, offer, sizeof offer - 1) == 0) found = 1;
        FUZZ_CHECK(found);
    }
    off = i + 4;
    memset(&zs, 0, sizeof zs);
    FUZZ_CHECK(inflateInit2(&zs, -(cw ? cw : 15)) == Z_OK);
    while (off < n) {
        size_t hl = 2;
        uint64_t len;
        int fin, op, rsv1;
        const unsigned char *key;
        if (n - off < 2) break;   /* cut short by a failure mid-frame */
        FUZZ_CHECK(closed == 0);   /* nothing after our close frame */
        fin = p[off] >> 7;
        rsv1 = (p[off] >> 6) & 1;
        op = p[off] & 15;
        FUZZ_CHECK((p[off] & 0x30) == 0);
        FUZZ_CHECK(op <= 2 || (op >= 8 && op <= 10));
        FUZZ_CHECK(p[off + 1] & 0x80);   /* client frames are masked */
        len = p[off + 1] & 127;
        if (len == 126) { if (n - off < 4) break; len = (uint64_t)p[off + 2] << 8 | p[off + 3]; hl = 4; FUZZ_CHECK(len >= 126); }
        else if (len == 127) {
            if (n - off < 10) break;
            len = 0;
            for (i = 0; i < 8; i++) len = len << 8 | p[off + 2 + i];
            hl = 10;
            FUZZ_CHECK(len > 0xFFFF && !(len >> 63));
        }
        if (op >= 8) FUZZ_CHECK(fin && len <= 125 && !rsv1);
        if (rsv1) FUZZ_CHECK(cw != 0 && (op == 1 || op == 2));   /* only a message's first frame */
        hl += 4;
        if ((uint64_t)(n - off) < hl + len) break;
        key = p + off + hl - 4;
        if (op == WSPROXY_OP_CLOSE) {
            FUZZ_CHECK(len != 1);
            if (len >= 2) {
                int code = (p[off + hl] ^ key[0]) << 8 | (p[off + hl + 1] ^ key[1]);
                FUZZ_CHECK(valid_wire_close(code));
            }
            closed = 1;
        }
        if (op < 8) {
            if (op == 0) FUZZ_CHECK(in_msg);
            else {
                FUZZ_CHECK(!in_msg);
                in_msg = 1;
                msg_z = rsv1;
                msg_op = op;
                plen = 0;
            }
            for (i = 0; i < len; i++) payload[plen + i] = p[off + hl + i] ^ key[i & 3];
            plen += (size_t)len;
            if (fin) {
                size_t start, end;
                FUZZ_CHECK(msgs < w->want_msgs);
                start = w->want_msg_start[msgs];
                end = w->want_msg_end[msgs];
                FUZZ_CHECK(msg_op == w->want_msg_op[msgs]);
                check_message(&zs, msg_z, payload, plen, w->want + start, end - start);
                if (msg_z && ANSWERS[answer_g].cnct) FUZZ_CHECK(inflateReset(&zs) == Z_OK);
                msgs++;
                in_msg = 0;
            }
        }
        off += hl + (size_t)len;
    }
    inflateEnd(&zs);
}

static int one_run(int k, const uint8_t *data, int bytewise)
{
    run_state *r = &runs[k];
    wsproxy_config cfg;
    char accept[29], reply[512];
    uint32_t seed = data[2] * 2654435761u + 1;
    unsigned chunk_max = data[2] ? 1u + data[2] % 97u : 0u;
    int rc;

    run_reset(r);
    cur_want = &wants[k];
    cur_want->want_len = cur_want->want_msgs = 0;
    cur_want->want_overflow = cur_want->want_open = 0;
    fz_reassembly = (flags_g & 16) != 0;
    fz_protocols = 0;
    fz_recv_buf = (flags_g & 64) != 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "ws://server.test:8080/feed";
    cfg.random = fuzz_random;
    rng_pos = 0;
    rng_fail = 0;
    cfg.deflate.enable = 1;
    if (flags_g & 128) {
        cfg.deflate.server_max_window_bits = 15;
        cfg.deflate.level = 1;
        cfg.deflate.mem_level = 1;
        cfg.deflate.threshold = 16;
    }
    if (flags_g & 32) cfg.max_message = (uint64_t)data[1] * 3 + 1;
    if (fz_reassembly) { cfg.message_buffer = msgbuf; cfg.message_buffer_len = 1000 + (size_t)data[1] * 200; }
    max_message_g = cfg.max_message ? cfg.max_message : WSPROXY_DEFAULT_MAX_MESSAGE;
    if (cfg.message_buffer && max_message_g > cfg.message_buffer_len) max_message_g = cfg.message_buffer_len;
    /* an arena of exactly the size asked for, on the heap: ASan sees any overrun */
    arena_len = wsproxy_deflate_arena_size(&cfg.deflate);
    FUZZ_CHECK(arena_len > 0);
    arena = (unsigned char *)malloc(arena_len);
    FUZZ_CHECK(arena != NULL);
    cfg.deflate.arena = arena;
    cfg.deflate.arena_len = arena_len;
    fz_mem[0].p = arena;   /* message data may lie in the arena */
    fz_mem[0].n = arena_len;

    rc = init_client(r, &cfg);
    FUZZ_CHECK(rc == WSPROXY_OK);
    fz_accept(accept);
    drain(r);
    snprintf(reply, sizeof reply,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: %s\r\n\r\n", accept, ANSWERS[answer_g].ext);
    feed_bytes(r, (const unsigned char *)reply, strlen(reply), bytewise, &seed, chunk_max);
    FUZZ_CHECK(r->opened);
    run_script(r, accept, bytewise, &seed, chunk_max, do_action);
    end_of_stream(r);   /* the end of the script is the end of the stream */
    /* the seeds regress-fault-order-*: faults in stream order, however fed */
    logs(r, "end state=%d err=%d|", wsproxy_get_state(&client), wsproxy_error(&client));
    free(arena);
    arena = NULL;
    memset(fz_mem, 0, sizeof fz_mem);
    return rc;
}

/* Known library fault, reported: a server that references further back than the window it
   settled on (server_max_window_bits) is refused (WS_INFLATE, "invalid distance too far
   back") only when the referenced bytes are no longer in the inflater's output of the
   same call: byte by byte it is, with the frame in one piece it is not (zlib checks
   distances against its window plus what the call wrote). Seed known-distance-past-window.
   Tolerated while FZ_KNOWN_DEFLATE_WINDOW is 1 (-DFZ_KNOWN_DEFLATE_WINDOW=0: strict):
   runs whose logs part at an ERROR entry that is WS_INFLATE in one of them. */
#ifndef FZ_KNOWN_DEFLATE_WINDOW
#define FZ_KNOWN_DEFLATE_WINDOW 1
#endif
static int known_window_split(const run_state *a, const run_state *b)
{
    static const char e[] = "ERROR WSPROXY_E_WS_INFLATE ";
    size_t i = 0;
    if (!FZ_KNOWN_DEFLATE_WINDOW || ANSWERS[answer_g].sw >= 15) return 0;
    while (i < a->log_len && i < b->log_len && a->log[i] == b->log[i]) i++;
    while (i > 0 && a->log[i - 1] != '|') i--;
    return strncmp(a->log + i, e, sizeof e - 1) == 0 || strncmp(b->log + i, e, sizeof e - 1) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    if (size < 3) return 0;
    for (i = 0; i < sizeof big; i++) {   /* the pattern, then bytes that do not compress */
        uint32_t x = (uint32_t)i * 2654435761u;
        big[i] = i < 35000 ? deflate_pattern[i % (sizeof deflate_pattern - 1)] : (unsigned char)(x >> 13 ^ x >> 24);
    }
    fz_open_check = open_check;
    flags_g = data[0];
    answer_g = data[0] & 15;
    split_script(data + 3, size - 3);
    one_run(0, data, 0);
    check_sent(&runs[0], &wants[0]);
    if (getenv("FUZZ_CLIENT_LOG")) fprintf(stderr, "%.*s\n", (int)runs[0].log_len, runs[0].log);
    one_run(1, data, 1);
    if (known_window_split(&runs[0], &runs[1])) return 0;
    same_logs(&runs[0], &runs[1]);
    if (runs[0].sent_total != runs[1].sent_total || runs[0].sent_hash != runs[1].sent_hash) {
        fprintf(stderr, "sent %zu vs %zu bytes\n", runs[0].sent_total, runs[1].sent_total);
        FUZZ_CHECK(!"written bytes differ between chunked and byte-by-byte feeding");
    }
    return 0;
}
