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
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 8000 */
#define WSPROXY_NO_TLS
#define WSPROXY_DEFLATE
#include "fuzz_common.h"

#include <stdarg.h>
#include <zlib.h>

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

/* ---- random source: a fixed stream ------------------------------------------------ */
static unsigned long rng_pos;
static int fuzz_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++, rng_pos++) dst[i] = (unsigned char)(rng_pos * 131 + 7);
    return 0;
}

/* ---- UTF-8 prefix check of our own, state kept across chunks ------------------------ */
typedef struct { unsigned need; unsigned char lo, hi; int bad; } u8_state;

/* Feeds bytes; bad set when they cannot start a valid UTF-8 text. */
static void u8_feed(u8_state *s, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n && !s->bad; i++) {
        unsigned b = p[i];
        if (s->need) {
            if (b < s->lo || b > s->hi) { s->bad = 1; break; }
            s->need--;
            s->lo = 0x80;
            s->hi = 0xBF;
            continue;
        }
        s->lo = 0x80;
        s->hi = 0xBF;
        if (b < 0x80) continue;
        if (b >= 0xC2 && b <= 0xDF) s->need = 1;
        else if (b >= 0xE0 && b <= 0xEF) {
            s->need = 2;
            if (b == 0xE0) s->lo = 0xA0;       /* overlong */
            if (b == 0xED) s->hi = 0x9F;       /* surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            s->need = 3;
            if (b == 0xF0) s->lo = 0x90;       /* overlong */
            if (b == 0xF4) s->hi = 0x8F;       /* over U+10FFFF */
        } else s->bad = 1;
    }
}

/* ---- the script --------------------------------------------------------------------- */
typedef struct { int action; const uint8_t *p; size_t n; } segment;
#define MAX_SEGMENTS 512
static segment segs[MAX_SEGMENTS];
static size_t nsegs;

static void split_script(const uint8_t *p, size_t n)
{
    size_t i = 0, start = 0;
    nsegs = 0;
    while (i < n && nsegs + 2 < MAX_SEGMENTS) {
        if (p[i] == 0xFF && i + 1 < n && p[i + 1] != 0xFF) {
            if (i > start) { segs[nsegs].action = 0; segs[nsegs].p = p + start; segs[nsegs].n = i - start; nsegs++; }
            segs[nsegs].action = p[i + 1];
            segs[nsegs].p = p + i + 2;
            segs[nsegs].n = n - (i + 2) < 3 ? n - (i + 2) : 3;
            nsegs++;
            i += 2 + segs[nsegs - 1].n;
            start = i;
        } else {
            i += (p[i] == 0xFF && i + 1 < n) ? 2 : 1;
        }
    }
    if (start < n && nsegs < MAX_SEGMENTS) { segs[nsegs].action = 0; segs[nsegs].p = p + start; segs[nsegs].n = n - start; nsegs++; }
}

/* Expands a byte segment: 0xFF 0xFF -> 0xFF. */
static size_t expand(const segment *s, unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < s->n && o < cap) {
        if (s->p[i] == 0xFF && i + 1 < s->n && s->p[i + 1] == 0xFF) { out[o++] = 0xFF; i += 2; }
        else out[o++] = s->p[i++];
    }
    return o;
}

/* ---- one run ------------------------------------------------------------------------ */
#define SENT_CAP (1 << 18)
#define WANT_CAP (1 << 18)
typedef struct {
    char log[1 << 16];
    size_t log_len;
    unsigned char sent[SENT_CAP];      /* every byte the client wrote (capped) */
    size_t sent_len, sent_total;
    uint64_t sent_hash;
    /* the data messages the caller handed over (accepted by the library), in order:
       opcode, length and the bytes, one after the other in want[] */
    unsigned char want[WANT_CAP];
    size_t want_len;
    int want_overflow;
    size_t want_msg_start[64], want_msg_end[64];
    int want_msg_op[64];
    size_t want_msgs;                  /* complete messages */
    int want_open;                     /* a message is being handed over */
    uint64_t msg_total, msg_hash;
    u8_state u8;
    int msg_open, msg_op;
    int final_seen, opened, stalled, no_input;
    int end_error;
} run_state;

static run_state runs[2];
static wsproxy_client client;
static unsigned char msgbuf[1 << 16];
static unsigned char *arena;
static size_t arena_len;
static int flags_g, answer_g;
static uint64_t max_message_g;

static void logs(run_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logs(run_state *r, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (r->log_len >= sizeof r->log - 1) return;
    va_start(ap, fmt);
    k = vsnprintf(r->log + r->log_len, sizeof r->log - r->log_len, fmt, ap);
    va_end(ap);
    if (k > 0) r->log_len += (size_t)k;
    if (r->log_len > sizeof r->log - 1) r->log_len = sizeof r->log - 1;
}

static uint64_t hash_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

/* What the caller handed over: the start of a data message, its bytes, its end. */
static void want_begin(run_state *r, int opcode)
{
    if (r->want_msgs >= 64) { r->want_overflow = 1; return; }
    r->want_msg_start[r->want_msgs] = r->want_len;
    r->want_msg_op[r->want_msgs] = opcode;
    r->want_open = 1;
}
static void want_bytes(run_state *r, const unsigned char *p, size_t n)
{
    if (!r->want_open || r->want_overflow) return;
    if (n > WANT_CAP - r->want_len) { r->want_overflow = 1; return; }
    if (n) memcpy(r->want + r->want_len, p, n);
    r->want_len += n;
}
static void want_end(run_state *r)
{
    if (!r->want_open || r->want_overflow) return;
    r->want_open = 0;
    r->want_msg_end[r->want_msgs++] = r->want_len;
}

static void drain(run_state *r)
{
    const unsigned char *p;
    size_t n;
    int guard = 0;
    if (r->stalled) return;
    while ((p = wsproxy_send_buf(&client, &n)) != NULL) {
        FUZZ_CHECK(n > 0 && n <= WSPROXY_SEND_BUFFER_BYTES);
        FUZZ_CHECK(fuzz_inside(p, n, &client, sizeof client));
        if (r->sent_len < sizeof r->sent) {
            size_t k = n < sizeof r->sent - r->sent_len ? n : sizeof r->sent - r->sent_len;
            memcpy(r->sent + r->sent_len, p, k);
            r->sent_len += k;
        }
        r->sent_hash = hash_bytes(r->sent_hash, p, n);
        r->sent_total += n;
        wsproxy_send_ack(&client, n);
        FUZZ_CHECK(++guard < 1000);
    }
    FUZZ_CHECK(n == 0);
}

static int expected_close_code(int err)
{
    if (err == WSPROXY_E_WS_INVALID_UTF8 || err == WSPROXY_E_WS_INFLATE) return 1007;
    if (err == WSPROXY_E_WS_MESSAGE_TOO_BIG) return 1009;
    if (err >= WSPROXY_E_WS_RESERVED_BITS && err <= WSPROXY_E_WS_CLOSE_CODE) return 1002;
    return -1;
}

static int valid_wire_close(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static int data_inside(const unsigned char *p, size_t n)
{
    return fuzz_inside(p, n, &client, sizeof client) || fuzz_inside(p, n, arena, arena_len);
}

static void take_events(run_state *r)
{
    wsproxy_event ev;
    int guard = 0;
    for (;;) {
        int got = wsproxy_poll(&client, &ev), st = wsproxy_get_state(&client);
        FUZZ_CHECK(st >= WSPROXY_STATE_PROXY && st <= WSPROXY_STATE_FAILED);
        if (!got) break;
        FUZZ_CHECK(++guard < 100000);
        FUZZ_CHECK(!r->final_seen);
        switch (ev.type) {
        case WSPROXY_EV_OPEN: {
            wsproxy_deflate_params dp;
            FUZZ_CHECK(!r->opened && ev.status == 101 && ev.protocol[0] == 0);
            FUZZ_CHECK(wsproxy_deflate_get(&client, &dp) == 1);
            FUZZ_CHECK(dp.client_window_bits == ANSWERS[answer_g].cw);
            FUZZ_CHECK(dp.server_window_bits == ANSWERS[answer_g].sw);
            FUZZ_CHECK(dp.client_no_context_takeover == ANSWERS[answer_g].cnct);
            FUZZ_CHECK(dp.server_no_context_takeover == ANSWERS[answer_g].snct);
            r->opened = 1;
            logs(r, "OPEN|");
            break;
        }
        case WSPROXY_EV_MESSAGE:
            FUZZ_CHECK(r->opened);
            FUZZ_CHECK(ev.opcode == WSPROXY_OP_TEXT || ev.opcode == WSPROXY_OP_BINARY);
            FUZZ_CHECK(ev.first == 0 || ev.first == 1);
            FUZZ_CHECK(ev.fin == 0 || ev.fin == 1);
            FUZZ_CHECK(ev.len == 0 || ev.data != NULL);
            if (flags_g & 16) {
                FUZZ_CHECK(ev.first == 1 && ev.fin == 1);
                FUZZ_CHECK(fuzz_inside(ev.data, ev.len, msgbuf, sizeof msgbuf));
            } else {
                FUZZ_CHECK(data_inside(ev.data, ev.len));
            }
            if (ev.first) {
                FUZZ_CHECK(!r->msg_open);
                r->msg_open = 1;
                r->msg_total = 0;
                r->msg_hash = 0xcbf29ce484222325ull;
                r->msg_op = ev.opcode;
                memset(&r->u8, 0, sizeof r->u8);
            }
            FUZZ_CHECK(r->msg_open && r->msg_op == ev.opcode);
            r->msg_total += ev.len;
            FUZZ_CHECK(r->msg_total <= max_message_g);
            if (ev.opcode == WSPROXY_OP_TEXT) {
                u8_feed(&r->u8, ev.data, ev.len);
                FUZZ_CHECK(!r->u8.bad);                       /* a valid prefix */
                if (ev.fin) FUZZ_CHECK(r->u8.need == 0);      /* and whole at the end */
            }
            /* chunk edges depend on how the bytes arrived: the log has whole messages */
            r->msg_hash = hash_bytes(r->msg_hash, ev.data, ev.len);
            if (ev.fin) {
                logs(r, "MSG %d %llu %016llx|", ev.opcode, (unsigned long long)r->msg_total,
                     (unsigned long long)r->msg_hash);
                r->msg_open = 0;
            }
            break;
        case WSPROXY_EV_PING: case WSPROXY_EV_PONG:
            FUZZ_CHECK(r->opened && ev.len <= 125);
            FUZZ_CHECK(ev.len == 0 || fuzz_inside(ev.data, ev.len, &client, sizeof client));
            logs(r, "%s %zu %016llx|", ev.type == WSPROXY_EV_PING ? "PING" : "PONG", ev.len,
                 (unsigned long long)hash_bytes(0xcbf29ce484222325ull, ev.data, ev.len));
            break;
        case WSPROXY_EV_CLOSE:
            FUZZ_CHECK(r->opened);
            FUZZ_CHECK(ev.close_code == 1005 || valid_wire_close(ev.close_code));
            FUZZ_CHECK(ev.len <= 123);
            FUZZ_CHECK(ev.len == 0 || fuzz_utf8_ok(ev.data, ev.len));
            if (ev.close_code == 1005) FUZZ_CHECK(ev.len == 0);
            FUZZ_CHECK(st == WSPROXY_STATE_CLOSED);
            FUZZ_CHECK(wsproxy_error(&client) == 0);
            r->final_seen = 1;
            logs(r, "CLOSE %d %zu|", ev.close_code, ev.len);
            break;
        case WSPROXY_EV_ERROR: {
            int err = wsproxy_error(&client), want = expected_close_code(err);
            FUZZ_CHECK(err != 0 && st == WSPROXY_STATE_FAILED);
            FUZZ_CHECK(strcmp(wsproxy_strerror(err), "WSPROXY_E_UNKNOWN") != 0);
            FUZZ_CHECK(wsproxy_error_info_get(&client)->code == err);
            if (want > 0) FUZZ_CHECK(ev.close_code == want);
            if (err == WSPROXY_E_CONNECTION_LOST) FUZZ_CHECK(ev.close_code == 1006);
            if (err >= WSPROXY_E_WS_RESERVED_BITS && err <= WSPROXY_E_WS_INFLATE) FUZZ_CHECK(r->opened);
            /* the arena is sized for the offer: zlib never runs out of it */
            FUZZ_CHECK(err != WSPROXY_E_DEFLATE_ARENA);
            r->final_seen = 1;
            logs(r, "ERROR %s %d|", wsproxy_strerror(err), ev.close_code);
            break;
        }
        default:
            FUZZ_CHECK(0);
        }
        if (r->final_seen) {
            FUZZ_CHECK(wsproxy_poll(&client, &ev) == 0 && ev.type == WSPROXY_EV_NONE);
            FUZZ_CHECK(wsproxy_waiting_for(&client) == WSPROXY_WAIT_NONE);
        }
        drain(r);
    }
    {
        size_t before = r->sent_total;
        drain(r);
        if (r->sent_total != before && !r->final_seen) take_events(r);
    }
}

/* Gives the client up to want bytes; returns how many it took. */
static size_t give(const unsigned char *p, size_t want)
{
    if (flags_g & 64) {
        size_t room;
        unsigned char *dst = wsproxy_recv_buf(&client, &room);
        if (!dst) { FUZZ_CHECK(room == 0); return 0; }
        FUZZ_CHECK(room > 0 && room <= WSPROXY_RECV_BUFFER_BYTES);
        FUZZ_CHECK(fuzz_inside(dst, room, &client, sizeof client));
        if (want > room) want = room;
        memcpy(dst, p, want);
        wsproxy_recv_ack(&client, want);
        return want;
    }
    return wsproxy_feed(&client, p, want);
}

static void feed_bytes(run_state *r, const unsigned char *p, size_t n, int bytewise, uint32_t *seed,
                       unsigned chunk_max)
{
    size_t off = 0;
    while (off < n && !r->no_input) {
        size_t want = n - off, took;
        if (bytewise) want = 1;
        else if (chunk_max) { size_t k = fuzz_split(seed, chunk_max); if (k < want) want = k; }
        took = give(p + off, want);
        off += took;
        take_events(r);
        if (took == 0) {
            size_t room;
            if (!wsproxy_recv_buf(&client, &room)) {
                FUZZ_CHECK(r->final_seen || wsproxy_get_state(&client) >= WSPROXY_STATE_CLOSED);
                r->no_input = 1;
            }
        }
    }
}

/* Text that compresses (repeats) with 2-, 3- and 4-byte code points. */
static const unsigned char payload_pattern[] =
    "{\"t\":\"h\xC3\xA9llo w\xE2\x82\xACrld \xF0\x9F\x98\x80\",\"n\":[1,2,3,4,5,6,7,8,9]} ";

static unsigned char big[70000];

static void do_action(run_state *r, const segment *s)
{
    unsigned a0 = s->n > 0 ? s->p[0] : 0, a1 = s->n > 1 ? s->p[1] : 0, a2 = s->n > 2 ? s->p[2] : 0;
    int rc = 0;
    switch (s->action) {
    case 't':   /* text from the script: may be bad UTF-8 (refused, nothing recorded) */
        rc = wsproxy_send_text(&client, (const char *)s->p, s->n);
        if (rc == WSPROXY_OK) { want_begin(r, 1); want_bytes(r, s->p, s->n); want_end(r); }
        break;
    case 'u': {   /* text of the pattern, a0*64+a1 bytes, cut back to whole code points */
        size_t len = (size_t)a0 * 64 + a1;
        while (len && (big[len] & 0xC0) == 0x80) len--;
        rc = wsproxy_send_text(&client, (const char *)big, len);
        if (rc == WSPROXY_OK) { want_begin(r, 1); want_bytes(r, big, len); want_end(r); }
        break;
    }
    case 'b': {   /* binary: a2 picks the pattern or bytes that do not compress */
        size_t len = (size_t)a0 << 8 | a1;
        const unsigned char *d = (a2 & 1) ? big + 35000 : big;
        if (len > 35000) len = 35000;
        rc = wsproxy_send_binary(&client, d, len);
        if (rc == WSPROXY_OK) { want_begin(r, 2); want_bytes(r, d, len); want_end(r); }
        break;
    }
    case 'f':   /* the first frame of a fragmented message, not final */
        rc = wsproxy_send(&client, a0 & 1 ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY, big, a1, 0);
        if (rc == WSPROXY_OK) {
            /* a text fragment may end inside a code point: the message is still text */
            want_begin(r, a0 & 1 ? 1 : 2);
            want_bytes(r, big, a1);
        }
        break;
    case 'g':   /* a continuation frame, final when a0 is odd */
        rc = wsproxy_send(&client, WSPROXY_OP_CONTINUATION, big + a1, a2, a0 & 1);
        if (rc == WSPROXY_OK) { want_bytes(r, big + a1, a2); if (a0 & 1) want_end(r); }
        break;
    case 's': {   /* a streamed binary message of a0*a1*4 bytes, fed in pieces of a2*8+1 */
        uint64_t total = (uint64_t)a0 * a1 * 4;
        const unsigned char *d = (a2 & 1) ? big + 35000 : big;
        rc = wsproxy_send_begin(&client, WSPROXY_OP_BINARY, total, 1);
        if (rc == WSPROXY_OK) {
            size_t sent = 0, k;
            want_begin(r, 2);
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
                want_bytes(r, d + (sent % 1000), k);
                sent += k;
            }
            if (sent == total) want_end(r);
            logs(r, "streamed %zu|", sent);
        }
        break;
    }
    case 'p': rc = wsproxy_ping(&client, s->p, s->n); break;
    case 'c': rc = wsproxy_close(&client, 1000 + (int)(a0 % 4), (const char *)payload_pattern, a1 % 20); break;
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
static void check_sent(const run_state *r)
{
    static unsigned char payload[SENT_CAP];
    const unsigned char *p = r->sent;
    size_t n = r->sent_len, off = 0, plen = 0, i, msgs = 0;
    int closed = 0, in_msg = 0, msg_z = 0, msg_op = 0, cw = ANSWERS[answer_g].cw;
    z_stream zs;
    if (r->sent_total != r->sent_len || r->want_overflow) return;   /* too much to keep */
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
                FUZZ_CHECK(msgs < r->want_msgs);
                start = r->want_msg_start[msgs];
                end = r->want_msg_end[msgs];
                FUZZ_CHECK(msg_op == r->want_msg_op[msgs]);
                check_message(&zs, msg_z, payload, plen, r->want + start, end - start);
                if (msg_z && ANSWERS[answer_g].cnct) FUZZ_CHECK(inflateReset(&zs) == Z_OK);
                msgs++;
                in_msg = 0;
            }
        }
        off += hl + (size_t)len;
    }
    inflateEnd(&zs);
}

static int one_run(run_state *r, const uint8_t *data, int bytewise)
{
    wsproxy_config cfg;
    unsigned char *buf;
    char accept[29], key[25], reply[512];
    uint32_t seed = data[2] * 2654435761u + 1;
    unsigned chunk_max = data[2] ? 1u + data[2] % 97u : 0u;
    size_t i;
    int rc;

    memset(r, 0, offsetof(run_state, sent));
    r->sent_len = r->sent_total = 0;
    r->sent_hash = 0xcbf29ce484222325ull;
    r->want_len = 0;
    r->want_overflow = 0;
    r->want_msgs = 0;
    r->want_open = 0;
    r->msg_open = 0;
    r->final_seen = r->opened = r->stalled = r->no_input = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "ws://server.test:8080/feed";
    cfg.random = fuzz_random;
    rng_pos = 0;
    cfg.deflate.enable = 1;
    if (flags_g & 128) {
        cfg.deflate.server_max_window_bits = 15;
        cfg.deflate.level = 1;
        cfg.deflate.mem_level = 1;
        cfg.deflate.threshold = 16;
    }
    if (flags_g & 32) cfg.max_message = (uint64_t)data[1] * 3 + 1;
    if (flags_g & 16) { cfg.message_buffer = msgbuf; cfg.message_buffer_len = 1000 + (size_t)data[1] * 200; }
    max_message_g = cfg.max_message ? cfg.max_message : WSPROXY_DEFAULT_MAX_MESSAGE;
    if (cfg.message_buffer && max_message_g > cfg.message_buffer_len) max_message_g = cfg.message_buffer_len;
    /* an arena of exactly the size asked for, on the heap: ASan sees any overrun */
    arena_len = wsproxy_deflate_arena_size(&cfg.deflate);
    FUZZ_CHECK(arena_len > 0);
    arena = (unsigned char *)malloc(arena_len);
    FUZZ_CHECK(arena != NULL);
    cfg.deflate.arena = arena;
    cfg.deflate.arena_len = arena_len;

    rc = wsproxy_init(&client, &cfg);
    FUZZ_CHECK(rc == WSPROXY_OK);
    {
        unsigned char nonce[16];
        unsigned long k;
        for (k = 0; k < 16; k++) nonce[k] = (unsigned char)(k * 131 + 7);
        wsproxy_base64(nonce, 16, key, sizeof key);
        wsproxy_accept_key(key, 24, accept);
    }
    drain(r);
    snprintf(reply, sizeof reply,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: %s\r\n\r\n", accept, ANSWERS[answer_g].ext);
    feed_bytes(r, (const unsigned char *)reply, strlen(reply), bytewise, &seed, chunk_max);
    FUZZ_CHECK(r->opened);
    buf = (unsigned char *)malloc(70000);
    FUZZ_CHECK(buf != NULL);
    for (i = 0; i < nsegs; i++) {
        if (segs[i].action) { do_action(r, &segs[i]); continue; }
        {
            size_t n = expand(&segs[i], buf, 70000);
            unsigned char *exact = fuzz_dup(buf, n);   /* reads past the end are caught */
            feed_bytes(r, exact, n, bytewise, &seed, chunk_max);
            free(exact);
        }
    }
    wsproxy_socket_closed(&client, 0);   /* the end of the script is the end of the stream */
    take_events(r);
    FUZZ_CHECK(r->final_seen || wsproxy_get_state(&client) == WSPROXY_STATE_CLOSED ||
               wsproxy_get_state(&client) == WSPROXY_STATE_FAILED);
    r->stalled = 0;
    drain(r);
    r->end_error = wsproxy_error(&client);
    logs(r, "end state=%d err=%d|", wsproxy_get_state(&client), r->end_error);   /* the seeds regress-fault-order-*: faults in stream order, however fed */
    free(buf);
    free(arena);
    arena = NULL;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    if (size < 3) return 0;
    for (i = 0; i < sizeof big; i++) {   /* the pattern, then bytes that do not compress */
        uint32_t x = (uint32_t)i * 2654435761u;
        big[i] = i < 35000 ? payload_pattern[i % (sizeof payload_pattern - 1)] : (unsigned char)(x >> 13 ^ x >> 24);
    }
    flags_g = data[0];
    answer_g = data[0] & 15;
    split_script(data + 3, size - 3);
    one_run(&runs[0], data, 0);
    check_sent(&runs[0]);
    if (getenv("FUZZ_CLIENT_LOG")) fprintf(stderr, "%.*s\n", (int)runs[0].log_len, runs[0].log);
    one_run(&runs[1], data, 1);
    if (runs[0].log_len != runs[1].log_len || memcmp(runs[0].log, runs[1].log, runs[0].log_len) != 0) {
        fprintf(stderr, "chunked: %.*s\nbytewise: %.*s\n", (int)runs[0].log_len, runs[0].log,
                (int)runs[1].log_len, runs[1].log);
        FUZZ_CHECK(!"event logs differ between chunked and byte-by-byte feeding");
    }
    if (runs[0].sent_total != runs[1].sent_total || runs[0].sent_hash != runs[1].sent_hash) {
        fprintf(stderr, "sent %zu vs %zu bytes\n", runs[0].sent_total, runs[1].sent_total);
        FUZZ_CHECK(!"written bytes differ between chunked and byte-by-byte feeding");
    }
    return 0;
}
