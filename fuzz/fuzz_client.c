/* The whole client (WSPROXY_NO_TLS) driven by a scripted server byte stream.

   INPUT
     byte 0   flags: bits 0-1 tunnel kind (TUNNEL_*), bit 2 reassembly into a message
              buffer, bit 3 a small max_message (byte 1), bit 4 offer subprotocols,
              bit 5 the random source fails after byte 1 * 4 bytes, bit 6 receive through
              wsproxy_recv_buf/wsproxy_recv_ack instead of wsproxy_feed, bit 7 SOCKS4
              instead of SOCKS5
     byte 1   parameter for bits 3 and 5
     byte 2   chunk-size seed (0: each byte segment is fed whole)
     rest     the script: bytes the proxy/server sends, where
                "{A}"      is replaced by the right Sec-WebSocket-Accept value
                0xFF 0xFF  is a literal 0xFF byte
                0xFF X     is a caller action X (see do_action: send text/binary, ping,
                           pong, fragments, a streamed frame, close, timer, EOF, reset,
                           stop/resume draining the send side)
   The script runs twice: fed in chunk sizes from the seed, and fed byte by byte. Both
   runs must log the same events and action results and write the same bytes.

   INVARIANTS (beside the sanitizers)
     events: known types in a legal order (TUNNEL only via a proxy and before OPEN,
       nothing after CLOSE or ERROR), message data inside the client or the message
       buffer, whole messages within max_message, text messages valid UTF-8 (checked by a
       decoder of our own), close codes and reasons valid, the error code named and its
       close code the RFC's (1002/1007/1009; 1006 for a lost connection);
     bytes written: the request heads, then masked client frames only, control frames
       whole and short, nothing after our close frame, every pong echoing a ping;
       proxy credentials and proxy headers never after the CONNECT head, target headers
       never in it; wsproxy_describe never shows the password;
     buffers: recv/send windows within their sizes; poll never loops forever.

   TUNNEL KINDS: direct, http proxy, http proxy with credentials and proxy headers, and
   SOCKS (flag bit 7 and parameter bit 7 pick socks5h, socks4a, socks5, socks4; the
   resolving ones get cfg.target_address).
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 6000 */
#define WSPROXY_NO_TLS
#include "fuzz_common.h"

#include <errno.h>

enum { TUNNEL_DIRECT = 0, TUNNEL_HTTP = 1, TUNNEL_HTTP_AUTH = 2, TUNNEL_SOCKS = 3 };

#define PROXY_PASSWORD "pw-S3cret"
#define PROXY_CRED_B64 "dXNyOnB3LVMzY3JldA=="   /* base64("usr:pw-S3cret") */
#define TARGET_SECRET "Bearer tgt-S3cret"

/* ---- random source: fixed stream, optionally failing after a budget ---------------- */
static unsigned long rng_pos, rng_budget;
static int rng_fail;
static int fuzz_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    if (rng_fail && rng_pos + len > rng_budget) return -1;
    for (i = 0; i < len; i++, rng_pos++) dst[i] = (unsigned char)(rng_pos * 131 + 7);
    return 0;
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
            /* action byte, then its argument bytes (up to 3) */
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

/* Expands a byte segment: 0xFF 0xFF -> 0xFF, "{A}" -> the accept value. */
static size_t expand(const segment *s, const char *accept, unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < s->n && o + 28 < cap) {
        if (s->p[i] == 0xFF && i + 1 < s->n && s->p[i + 1] == 0xFF) { out[o++] = 0xFF; i += 2; }
        else if (i + 3 <= s->n && memcmp(s->p + i, "{A}", 3) == 0) { memcpy(out + o, accept, 28); o += 28; i += 3; }
        else out[o++] = s->p[i++];
    }
    return o;
}

/* ---- one run ------------------------------------------------------------------------ */
typedef struct {
    char log[1 << 16];
    size_t log_len;
    unsigned char sent[1 << 18];
    size_t sent_len, sent_total;
    uint64_t sent_hash;
    unsigned char msg[1 << 16];   /* message being gathered (capped copy) */
    size_t msg_len;
    int msg_open, msg_op;
    int final_seen, opened, tunneled, stalled, no_input;
} run_state;

static run_state runs[2];
static wsproxy_client client;
static unsigned char msgbuf[1 << 16];
static int flags_g, tunnel_g;
static uint64_t max_message_g;
static const char *const protocols_g[] = {"chat", "super.chat", NULL};

static void logs(run_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
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
    if (err == WSPROXY_E_WS_INVALID_UTF8) return 1007;
    if (err == WSPROXY_E_WS_MESSAGE_TOO_BIG) return 1009;
    if (err >= WSPROXY_E_WS_RESERVED_BITS && err <= WSPROXY_E_WS_CLOSE_CODE) return 1002;
    return -1;
}

static int valid_wire_close(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Everything the server side sent so far (capped): a secret the server itself sends
   may of course come back in the status line. */
static unsigned char fed[1 << 16];
static size_t fed_len;

static int fed_has(const char *needle)
{
    size_t n = strlen(needle), i;
    for (i = 0; i + n <= fed_len; i++)
        if (memcmp(fed + i, needle, n) == 0) return 1;
    return fed_len == sizeof fed;   /* cap reached: cannot tell */
}

static void describe_check(void)
{
    char small[24], line[600];
    size_t n = wsproxy_describe(&client, line, sizeof line), m;
    FUZZ_CHECK(strlen(line) == (n < sizeof line ? n : sizeof line - 1));
    FUZZ_CHECK(strstr(line, PROXY_PASSWORD) == NULL || fed_has(PROXY_PASSWORD));
    FUZZ_CHECK(strstr(line, PROXY_CRED_B64) == NULL || fed_has(PROXY_CRED_B64));
    FUZZ_CHECK(strchr(line, '\r') == NULL && strchr(line, '\n') == NULL);
    m = wsproxy_describe(&client, small, sizeof small);
    FUZZ_CHECK(m == n && strlen(small) == (m < sizeof small ? m : sizeof small - 1));
    FUZZ_CHECK(wsproxy_describe(&client, line, 0) == n);
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
        case WSPROXY_EV_TUNNEL:
            FUZZ_CHECK(tunnel_g != TUNNEL_DIRECT && !r->tunneled && !r->opened);
            /* HTTP: the 2xx status; SOCKS: 0 */
            FUZZ_CHECK(tunnel_g == TUNNEL_SOCKS ? ev.status == 0 : (ev.status >= 200 && ev.status <= 299));
            r->tunneled = 1;
            logs(r, "TUNNEL %d|", ev.status);
            break;
        case WSPROXY_EV_OPEN: {
            size_t pl = strlen(ev.protocol);
            FUZZ_CHECK(!r->opened && ev.status == 101);
            FUZZ_CHECK(tunnel_g == TUNNEL_DIRECT || r->tunneled);
            if (pl) FUZZ_CHECK((flags_g & 16) && (!strcmp(ev.protocol, "chat") || !strcmp(ev.protocol, "super.chat")));
            r->opened = 1;
            logs(r, "OPEN %s|", ev.protocol);
            break;
        }
        case WSPROXY_EV_MESSAGE:
            FUZZ_CHECK(r->opened);
            FUZZ_CHECK(ev.opcode == WSPROXY_OP_TEXT || ev.opcode == WSPROXY_OP_BINARY);
            FUZZ_CHECK(ev.first == 0 || ev.first == 1);
            FUZZ_CHECK(ev.fin == 0 || ev.fin == 1);
            FUZZ_CHECK(ev.len == 0 || ev.data != NULL);
            if (flags_g & 4) {
                FUZZ_CHECK(ev.first == 1 && ev.fin == 1);
                FUZZ_CHECK(fuzz_inside(ev.data, ev.len, msgbuf, sizeof msgbuf));
            } else {
                FUZZ_CHECK(fuzz_inside(ev.data, ev.len, &client, sizeof client));
            }
            if (ev.first) { FUZZ_CHECK(!r->msg_open); r->msg_open = 1; r->msg_len = 0; r->msg_op = ev.opcode; }
            FUZZ_CHECK(r->msg_open && r->msg_op == ev.opcode);
            if (r->msg_len < sizeof r->msg) {
                size_t k = ev.len < sizeof r->msg - r->msg_len ? ev.len : sizeof r->msg - r->msg_len;
                memcpy(r->msg + r->msg_len, ev.data, k);
            }
            r->msg_len += ev.len;
            FUZZ_CHECK(r->msg_len <= max_message_g);
            if (ev.fin) {
                size_t k = r->msg_len < sizeof r->msg ? r->msg_len : sizeof r->msg;
                if (ev.opcode == WSPROXY_OP_TEXT && r->msg_len <= sizeof r->msg)
                    FUZZ_CHECK(fuzz_utf8_ok(r->msg, r->msg_len));
                logs(r, "MSG %d %zu %016llx|", ev.opcode, r->msg_len,
                     (unsigned long long)hash_bytes(0xcbf29ce484222325ull, r->msg, k));
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
            if (err >= WSPROXY_E_PROXY_REFUSED && err <= WSPROXY_E_PROXY_TIMEOUT)
                FUZZ_CHECK(tunnel_g != TUNNEL_DIRECT && !r->tunneled);
            if (err >= 300 && err < 400)   /* SOCKS replies */
                FUZZ_CHECK(tunnel_g == TUNNEL_SOCKS && !r->tunneled);
            if (err >= WSPROXY_E_CONNECT_REFUSED && err <= WSPROXY_E_HANDSHAKE_TIMEOUT)
                FUZZ_CHECK(!r->opened);
            if (err >= WSPROXY_E_WS_RESERVED_BITS && err <= WSPROXY_E_PONG_TIMEOUT)
                FUZZ_CHECK(r->opened);
            r->final_seen = 1;
            logs(r, "ERROR %s %d|", wsproxy_strerror(err), ev.close_code);
            describe_check();
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
    /* the documented loop: after the flush, poll again (a proxy's reply is read only once
       the request it answers has left) */
    {
        unsigned long before = r->sent_total;
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
        if (fed_len < sizeof fed) {
            size_t k = took < sizeof fed - fed_len ? took : sizeof fed - fed_len;
            memcpy(fed + fed_len, p + off, k);
            fed_len += k;
        }
        off += took;
        take_events(r);
        if (took == 0) {
            size_t room;
            /* it takes nothing more only once finished (final event or EOF) */
            if (!wsproxy_recv_buf(&client, &room)) {
                FUZZ_CHECK(r->final_seen || wsproxy_get_state(&client) >= WSPROXY_STATE_CLOSED);
                r->no_input = 1;
            }
        }
    }
}

static const unsigned char payload_pattern[] =
    "h\xC3\xA9llo w\xE2\x82\xACrld \xF0\x9F\x98\x80 0123456789abcdefghijklmnopqrstuvwxyz";

static void do_action(run_state *r, const segment *s)
{
    static unsigned char big[70000];
    static int big_ready;
    unsigned a0 = s->n > 0 ? s->p[0] : 0, a1 = s->n > 1 ? s->p[1] : 0, a2 = s->n > 2 ? s->p[2] : 0;
    size_t len = a0 % 126;
    int rc = 0;
    size_t i;
    if (!big_ready) {
        for (i = 0; i < sizeof big; i++) big[i] = payload_pattern[i % (sizeof payload_pattern - 1)];
        big_ready = 1;
    }
    switch (s->action) {
    case 't': rc = wsproxy_send_text(&client, (const char *)s->p, s->n); break;   /* may be bad UTF-8 */
    case 'u': rc = wsproxy_send_text(&client, (const char *)big, (size_t)a0 * 64 + a1); break;
    case 'b': rc = wsproxy_send_binary(&client, big, (size_t)a0 << 8 | a1); break;
    case 'p': rc = wsproxy_ping(&client, s->p, s->n); break;
    case 'P': rc = wsproxy_ping(&client, big, len + 1 + a1); break;       /* may exceed 125 */
    case 'q': rc = wsproxy_pong(&client, s->p, s->n); break;
    case 'f': rc = wsproxy_send(&client, a0 & 1 ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY, big, a1, 0); break;
    case 'g': rc = wsproxy_send(&client, WSPROXY_OP_CONTINUATION, big, a1, a0 & 1); break;
    case 'o': rc = wsproxy_send(&client, (int)(a0 & 15), s->p + 1 < s->p + s->n ? s->p + 1 : NULL,
                                s->n > 1 ? s->n - 1 : 0, (int)(a0 >> 7)); break;
    case 's': {   /* a streamed frame of a0*a1*4 bytes, fed in pieces of a2+1 */
        uint64_t total = (uint64_t)a0 * a1 * 4;
        rc = wsproxy_send_begin(&client, WSPROXY_OP_BINARY, total, 1);
        if (rc == WSPROXY_OK) {
            size_t sent = 0, k;
            while (sent < total) {
                size_t want = total - sent < a2 + 1u ? (size_t)(total - sent) : a2 + 1u;
                k = wsproxy_send_data(&client, big + (sent % 1000), want);
                FUZZ_CHECK(k <= want);
                if (k == 0) {   /* send buffer full: flush it, unless stalled */
                    if (r->stalled) break;
                    drain(r);
                    k = wsproxy_send_data(&client, big + (sent % 1000), want);
                    if (k == 0) break;
                }
                sent += k;
            }
            logs(r, "streamed %zu|", sent);
        }
        break;
    }
    case 'B': rc = wsproxy_send_begin(&client, a0 & 1 ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY,
                                      (uint64_t)a1 << 56 | a2, a0 >> 7); break;   /* left open */
    case 'd': logs(r, "data %zu|", wsproxy_send_data(&client, big, (size_t)a0 * 8)); break;
    case 'c': rc = wsproxy_close(&client, (int)(a0 << 8 | a1), (const char *)payload_pattern, a2 % 40); break;
    case 'C': rc = wsproxy_close(&client, 0, NULL, 0); break;
    case 'T': wsproxy_timeout(&client); break;
    case 'E': wsproxy_socket_closed(&client, 0); break;
    case 'R': wsproxy_socket_closed(&client, ECONNRESET); break;
    case 'S': r->stalled = 1; break;
    case 'D': r->stalled = 0; break;
    case 'r': logs(r, "room %zu|", wsproxy_send_room(&client)); break;
    case 'w': logs(r, "wait %d|", wsproxy_waiting_for(&client)); break;
    default: logs(r, "nop|"); return;
    }
    logs(r, "%c=%d|", s->action, rc);
    take_events(r);
}

/* Checks the bytes the client wrote: heads first, then masked frames. */
static void check_sent(const run_state *r)
{
    const unsigned char *p = r->sent;
    size_t n = r->sent_len, off = 0, head_end;
    const char *conn_end = NULL;
    int closed = 0, heads = tunnel_g == TUNNEL_DIRECT ? 1 : 2, h;
    unsigned char pings[1] = {0};
    (void)pings;
    if (r->sent_total != r->sent_len) return;   /* too much to keep: hash compared only */
    if (tunnel_g == TUNNEL_SOCKS) {
        /* binary SOCKS requests first (RFC 1929 carries the password: before the GET only) */
        size_t i;
        for (i = 0; i + 4 <= n && memcmp(p + i, "GET ", 4) != 0; i++) {}
        if (i + 4 > n) return;
        off = i;
        heads = 1;
    }
    for (h = 0; h < heads && off < n; h++) {
        const unsigned char *e = NULL;
        size_t i;
        for (i = off; i + 3 < n; i++)
            if (memcmp(p + i, "\r\n\r\n", 4) == 0) { e = p + i + 4; break; }
        if (!e) return;   /* a head still going out */
        head_end = (size_t)(e - p);
        if (h == 0 && (tunnel_g == TUNNEL_HTTP || tunnel_g == TUNNEL_HTTP_AUTH)) {
            FUZZ_CHECK(memcmp(p, "CONNECT ", 8) == 0);
            conn_end = (const char *)e;
            for (i = 0; i + 6 < head_end; i++) {
                FUZZ_CHECK(memcmp(p + i, "Cookie", 6) != 0);
                FUZZ_CHECK(i + strlen(TARGET_SECRET) > head_end || memcmp(p + i, TARGET_SECRET, strlen(TARGET_SECRET)) != 0);
            }
        } else {
            FUZZ_CHECK(memcmp(p + off, "GET ", 4) == 0);
            for (i = off; i + 5 < head_end; i++) {
                FUZZ_CHECK(i + 19 > head_end || memcmp(p + i, "Proxy-Authorization", 19) != 0);
                FUZZ_CHECK(i + 14 > head_end || memcmp(p + i, "X-Proxy-Secret", 14) != 0);
                FUZZ_CHECK(i + 9 > head_end || memcmp(p + i, PROXY_PASSWORD, 9) != 0);
                FUZZ_CHECK(i + 20 > head_end || memcmp(p + i, PROXY_CRED_B64, 20) != 0);
            }
        }
        off = head_end;
    }
    (void)conn_end;
    if (h < heads) return;
    /* frames */
    while (off < n) {
        size_t hl = 2, i;
        uint64_t len;
        int fin, op;
        if (n - off < 2) return;   /* cut short by a failure mid-frame */
        FUZZ_CHECK(closed == 0);   /* nothing after our close frame */
        fin = p[off] >> 7;
        op = p[off] & 15;
        FUZZ_CHECK((p[off] & 0x70) == 0);
        FUZZ_CHECK(op <= 2 || (op >= 8 && op <= 10));
        FUZZ_CHECK(p[off + 1] & 0x80);   /* client frames are masked */
        len = p[off + 1] & 127;
        if (len == 126) { if (n - off < 4) return; len = (uint64_t)p[off + 2] << 8 | p[off + 3]; hl = 4; FUZZ_CHECK(len >= 126); }
        else if (len == 127) {
            if (n - off < 10) return;
            len = 0;
            for (i = 0; i < 8; i++) len = len << 8 | p[off + 2 + i];
            hl = 10;
            FUZZ_CHECK(len > 0xFFFF && !(len >> 63));
        }
        if (op >= 8) FUZZ_CHECK(fin && len <= 125);
        hl += 4;
        if (op == WSPROXY_OP_CLOSE) {
            FUZZ_CHECK(len != 1);
            if (len >= 2 && n - off >= hl + len) {
                const unsigned char *k = p + off + hl - 4;
                int code = (p[off + hl] ^ k[0]) << 8 | (p[off + hl + 1] ^ k[1]);
                FUZZ_CHECK(valid_wire_close(code));
            }
            closed = 1;
        }
        if ((uint64_t)(n - off) < hl + len) return;
        off += hl + (size_t)len;
    }
}

static int one_run(run_state *r, const uint8_t *data, int bytewise)
{
    static const unsigned char target_addr[4] = {192, 0, 2, 7};
    wsproxy_config cfg;
    const char *headers[] = {"Authorization: " TARGET_SECRET, "Cookie: tgt=1", NULL};
    const char *proxy_headers[] = {"X-Proxy-Secret: px-1", NULL};
    unsigned char *buf = NULL;
    char accept[29], key[25];
    uint32_t seed = data[2] * 2654435761u + 1;
    unsigned chunk_max = data[2] ? 1u + data[2] % 97u : 0u;
    size_t i;
    int rc;

    memset(r, 0, offsetof(run_state, sent));
    fed_len = 0;
    r->sent_len = r->sent_total = 0;
    r->sent_hash = 0xcbf29ce484222325ull;
    r->msg_len = 0; r->msg_open = 0; r->final_seen = r->opened = r->tunneled = 0;
    r->stalled = r->no_input = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "ws://server.test:8080/chat?room=1";
    switch (tunnel_g) {
    case TUNNEL_HTTP: cfg.proxy = "http://127.0.0.1:3128"; break;
    case TUNNEL_HTTP_AUTH:
        cfg.proxy = "http://usr:" PROXY_PASSWORD "@proxy.test:3128";
        cfg.proxy_headers = proxy_headers;
        break;
    case TUNNEL_SOCKS:   /* flag bit 7: SOCKS4a, else SOCKS5h; parameter bit 7: the
                            resolving variants (socks4:// / socks5://) with an address */
        if (data[1] & 0x80) cfg.proxy = (flags_g & 128) ? "socks4://usr@127.0.0.1:1080" : "socks5://usr:" PROXY_PASSWORD "@127.0.0.1:1080";
        else cfg.proxy = (flags_g & 128) ? "socks4a://usr@127.0.0.1:1080" : "socks5h://usr:" PROXY_PASSWORD "@127.0.0.1:1080";
        cfg.target_address = target_addr;
        cfg.target_address_type = WSPROXY_HOST_IPV4;
        break;
    default: break;
    }
    cfg.headers = headers;
    if (flags_g & 16) cfg.protocols = protocols_g;
    cfg.random = fuzz_random;
    rng_pos = 0;
    rng_fail = (flags_g & 32) != 0;
    rng_budget = (unsigned long)data[1] * 4;
    if (flags_g & 8) cfg.max_message = (uint64_t)data[1] * 3 + 1;
    if (flags_g & 4) { cfg.message_buffer = msgbuf; cfg.message_buffer_len = 1000 + (size_t)data[1] * 200; }
    max_message_g = cfg.max_message ? cfg.max_message : WSPROXY_DEFAULT_MAX_MESSAGE;
    if (cfg.message_buffer && max_message_g > cfg.message_buffer_len) max_message_g = cfg.message_buffer_len;

    rc = wsproxy_init(&client, &cfg);
    logs(r, "init=%d|", rc);
    if (rc != WSPROXY_OK) {
        size_t n;
        FUZZ_CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);   /* no byte produced */
        return rc;
    }
    FUZZ_CHECK(wsproxy_connect_port(&client) == (tunnel_g == TUNNEL_DIRECT ? 8080u : tunnel_g == TUNNEL_SOCKS ? 1080u : 3128u));
    if (tunnel_g == TUNNEL_SOCKS) {   /* the first SOCKS request is queued at once */
        size_t n;
        const unsigned char *q = wsproxy_send_buf(&client, &n);
        FUZZ_CHECK(q != NULL && (q[0] == 4 || q[0] == 5));
    }
    /* the accept value for the key of the upgrade request: the first 16 bytes the
       client drew from the random stream at init, in base64 */
    {
        unsigned char nonce[16];
        unsigned long k;
        for (k = 0; k < 16; k++) nonce[k] = (unsigned char)(k * 131 + 7);
        wsproxy_base64(nonce, 16, key, sizeof key);
        wsproxy_accept_key(key, 24, accept);
    }
    drain(r);
    buf = (unsigned char *)malloc(70000);
    for (i = 0; i < nsegs; i++) {
        if (segs[i].action) { do_action(r, &segs[i]); continue; }
        {
            size_t n = expand(&segs[i], accept, buf, 70000);
            feed_bytes(r, buf, n, bytewise, &seed, chunk_max);
        }
    }
    /* the end of the script is the end of the stream */
    wsproxy_socket_closed(&client, 0);
    take_events(r);
    FUZZ_CHECK(r->final_seen || wsproxy_get_state(&client) == WSPROXY_STATE_CLOSED ||
               wsproxy_get_state(&client) == WSPROXY_STATE_FAILED);
    r->stalled = 0;
    drain(r);
    logs(r, "end state=%d err=%d|", wsproxy_get_state(&client), wsproxy_error(&client));
    free(buf);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    flags_g = data[0];
    tunnel_g = data[0] & 3;
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
