/* wsproxy_frame_decode / wsproxy_frame_encode / wsproxy_mask, and the frames stage alone
   (wsproxy_frames_read) on the input as a server stream.
   Invariants: decode returns 0, a length 2..14 within the input, or minus a
   WSPROXY_E_WS_* code that needs no context; a decoded header re-encodes to the same
   bytes; every prefix of a complete header is "need more" (0), and a prefix that already
   fails fails with the same code as the whole; masking twice is the identity and masking
   in pieces (offset carried) equals masking at once. The frames stage, in chunks and
   with a message buffer, gives the same whole messages, control frames and final error
   whether the stream comes whole, a byte at a time or in random pieces (its short-frame
   and copy paths against the general one), one event per call or in batches
   (wsproxy_frames_read_many, whose events but the last lie in the bytes it read);
   `used` never exceeds what it was given.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 512 */
#include "fuzz_common.h"

static int context_free_error(int code)
{
    return code == WSPROXY_E_WS_RESERVED_BITS || code == WSPROXY_E_WS_OPCODE ||
           code == WSPROXY_E_WS_MASKED || code == WSPROXY_E_WS_CONTROL_FRAGMENTED ||
           code == WSPROXY_E_WS_CONTROL_TOO_LONG || code == WSPROXY_E_WS_LENGTH_NONMINIMAL ||
           code == WSPROXY_E_WS_LENGTH_TOO_BIG;
}

static void check_decode(const unsigned char *buf, size_t len)
{
    wsproxy_frame_header h, hp;
    unsigned char *copy = fuzz_dup(buf, len), enc[WSPROXY_FRAME_HEADER_MAX];
    int r = wsproxy_frame_decode(copy, len, &h);
    size_t k;
    FUZZ_CHECK(r == 0 || (r >= 2 && r <= WSPROXY_FRAME_HEADER_MAX && (size_t)r <= len) ||
               (r < 0 && context_free_error(-r)));
    FUZZ_CHECK(h.fin == 0 || h.fin == 1);
    FUZZ_CHECK(h.opcode >= 0 && h.opcode <= 15 && h.rsv >= 0 && h.rsv <= 7);
    if (r > 0) {
        size_t n;
        FUZZ_CHECK(h.rsv == 0 && h.masked == 0);
        FUZZ_CHECK(h.opcode <= 2 || (h.opcode >= 8 && h.opcode <= 10));
        FUZZ_CHECK(!(h.payload_len >> 63));
        if (h.opcode >= 8) FUZZ_CHECK(h.fin && h.payload_len <= 125);
        FUZZ_CHECK(r == (h.payload_len < 126 ? 2 : h.payload_len <= 0xFFFF ? 4 : 10));
        n = wsproxy_frame_encode(enc, h.fin, h.opcode, NULL, h.payload_len);
        FUZZ_CHECK(n == (size_t)r && memcmp(enc, copy, n) == 0);
    }
    if (len < 2) FUZZ_CHECK(r <= 0);
    /* prefixes: need-more before a verdict; once a prefix fails, the whole fails alike */
    for (k = 0; k < len && k < WSPROXY_FRAME_HEADER_MAX; k++) {
        int rp = wsproxy_frame_decode(copy, k, &hp);
        if (r > 0) FUZZ_CHECK(k >= (size_t)r ? rp == r : rp == 0);
        else if (r == 0) FUZZ_CHECK(rp == 0);
        else FUZZ_CHECK(rp == 0 || rp == r);
        if (rp != 0) break;
    }
    free(copy);
}

/* The events of a frames stage over data, fed in pieces of 1..max_piece bytes (0: whole),
   as a hash: whole messages (chunks gathered), control frames, the final error. */
static uint64_t frames_hash_(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
    return h;
}

typedef struct {
    unsigned char msg[600];
    size_t msg_len;
    int open;
    uint64_t h;
} frames_log_;

/* Adds one event to the hash; 1 when it ends the stream (CLOSE, ERROR). */
static int frames_event_(frames_log_ *lg, const wsproxy_frames *f, const wsproxy_event *ev)
{
    switch (ev->type) {
    case WSPROXY_EV_MESSAGE:
        FUZZ_CHECK(ev->first == !lg->open);
        FUZZ_CHECK(lg->msg_len + ev->len <= 300);
        if (lg->msg_len + ev->len <= sizeof lg->msg) memcpy(lg->msg + lg->msg_len, ev->data, ev->len);
        lg->msg_len += ev->len;
        lg->open = !ev->fin;
        if (ev->fin) {
            lg->h = frames_hash_(lg->h, "M", 1);
            lg->h = frames_hash_(lg->h, &ev->opcode, sizeof ev->opcode);
            lg->h = frames_hash_(lg->h, &lg->msg_len, sizeof lg->msg_len);
            lg->h = frames_hash_(lg->h, lg->msg, lg->msg_len);
            lg->msg_len = 0;
        }
        return 0;
    case WSPROXY_EV_PING: case WSPROXY_EV_PONG: case WSPROXY_EV_CLOSE:
        lg->h = frames_hash_(lg->h, &ev->type, sizeof ev->type);
        lg->h = frames_hash_(lg->h, &ev->close_code, sizeof ev->close_code);
        lg->h = frames_hash_(lg->h, ev->data, ev->len);
        return ev->type == WSPROXY_EV_CLOSE;
    case WSPROXY_EV_ERROR: {
        int e = wsproxy_frames_error(f);
        FUZZ_CHECK(e != 0);
        lg->h = frames_hash_(lg->h, "E", 1);
        lg->h = frames_hash_(lg->h, &e, sizeof e);
        lg->h = frames_hash_(lg->h, &ev->close_code, sizeof ev->close_code);
        return 1;
    }
    default:
        FUZZ_CHECK(0);
        return 1;
    }
}

/* batch 0: wsproxy_frames_read, one event per call; else wsproxy_frames_read_many with
   room for 1..batch events per call */
static uint64_t frames_run_(const unsigned char *data, size_t size, int with_buf, unsigned max_piece,
                            uint32_t seed, unsigned batch)
{
    wsproxy_frames f;
    static unsigned char msgbuf[600];
    static frames_log_ lg;
    size_t off = 0;
    memset(&lg, 0, sizeof lg);
    lg.h = 0xcbf29ce484222325ull;
    wsproxy_frames_init(&f, 300, with_buf ? msgbuf : NULL, with_buf ? sizeof msgbuf : 0);
    while (off < size && !wsproxy_frames_error(&f)) {
        size_t piece = max_piece ? fuzz_split(&seed, max_piece) : size - off, at = 0;
        if (piece > size - off) piece = size - off;
        for (;;) {
            wsproxy_event evs[8];
            size_t used = (size_t)-1, got, e, max = batch ? fuzz_split(&seed, batch) : 1;
            const unsigned char *from = data + off + at;
            if (batch) {
                got = wsproxy_frames_read_many(&f, from, piece - at, &used, evs, max);
                FUZZ_CHECK(got <= max);
            } else {
                got = (size_t)wsproxy_frames_read(&f, from, piece - at, &used, &evs[0]);
            }
            FUZZ_CHECK(used <= piece - at);
            at += used;
            if (!got) break;
            for (e = 0; e < got; e++) {
                /* in a batch, all but the last event's data lie in the bytes read */
                if (e + 1 < got && evs[e].len) FUZZ_CHECK(evs[e].data >= from && evs[e].data + evs[e].len <= from + used);
                if (frames_event_(&lg, &f, &evs[e])) {
                    FUZZ_CHECK(e + 1 == got);
                    return lg.h;
                }
            }
        }
        FUZZ_CHECK(at == piece || wsproxy_frames_error(&f));
        off += piece;
    }
    return lg.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader rd;
    unsigned char key[4], *a, *b;
    size_t off, i, next;
    int fin, opcode;
    uint64_t plen;
    unsigned char enc[WSPROXY_FRAME_HEADER_MAX];
    wsproxy_frame_header h;
    int r;
    uint32_t seed;

    check_decode(data, size);
    if (size > 0) check_decode(data + 1, size - 1);   /* another alignment */

    {   /* the frames stage: the same events however the stream is split */
        int with_buf;
        for (with_buf = 0; with_buf < 2; with_buf++) {
            uint64_t whole = frames_run_(data, size, with_buf, 0, 1, 0);
            FUZZ_CHECK(frames_run_(data, size, with_buf, 1, 1, 0) == whole);
            FUZZ_CHECK(frames_run_(data, size, with_buf, 7, (uint32_t)size + 3, 0) == whole);
            FUZZ_CHECK(frames_run_(data, size, with_buf, 200, (uint32_t)size * 31 + 5, 0) == whole);
            /* in batches of events, whole and in pieces */
            FUZZ_CHECK(frames_run_(data, size, with_buf, 0, (uint32_t)size + 11, 8) == whole);
            FUZZ_CHECK(frames_run_(data, size, with_buf, 7, (uint32_t)size * 7 + 1, 8) == whole);
        }
    }

    /* encode from fields taken from the input, decode it back */
    rd.p = data; rd.n = size;
    fin = (int)(fuzz_byte(&rd) & 1);
    opcode = (int)(fuzz_byte(&rd) & 15);
    plen = 0;
    for (i = 0; i < 8; i++) plen = plen << 8 | fuzz_byte(&rd);
    switch (fuzz_byte(&rd) % 4) {   /* bias towards the length class boundaries */
    case 0: plen &= 0x7F; break;
    case 1: plen &= 0xFFFF; break;
    case 2: plen &= 0x7FFFFFFFFFFFFFFFull; break;
    default: break;
    }
    for (i = 0; i < 4; i++) key[i] = (unsigned char)fuzz_byte(&rd);
    if (!(plen >> 63)) {
        size_t n = wsproxy_frame_encode(enc, fin, opcode, NULL, plen);
        FUZZ_CHECK(n == 2 || n == 4 || n == 10);
        r = wsproxy_frame_decode(enc, n, &h);
        if (r > 0) {
            FUZZ_CHECK((size_t)r == n && h.payload_len == plen && h.fin == fin && h.opcode == opcode);
        } else {
            /* only a context-free rule can refuse what the encoder wrote */
            FUZZ_CHECK(r < 0 && (opcode >= 3 && opcode <= 7 ? r == -WSPROXY_E_WS_OPCODE :
                                 opcode >= 11 ? r == -WSPROXY_E_WS_OPCODE :
                                 opcode >= 8 && !fin ? r == -WSPROXY_E_WS_CONTROL_FRAGMENTED :
                                 r == -WSPROXY_E_WS_CONTROL_TOO_LONG));
        }
        n = wsproxy_frame_encode(enc, fin, opcode, key, plen);
        FUZZ_CHECK(n == 6 || n == 8 || n == 14);
        FUZZ_CHECK(enc[1] & 0x80);
        FUZZ_CHECK(memcmp(enc + n - 4, key, 4) == 0);
        r = wsproxy_frame_decode(enc, n, &h);
        FUZZ_CHECK(r < 0);   /* a server frame may not be masked: some error, always */
    }

    /* masking: in pieces, at odd offsets, in place */
    a = fuzz_dup(rd.p, rd.n);
    b = fuzz_dup(rd.p, rd.n);
    next = wsproxy_mask(a, rd.p, rd.n, key, 0);
    FUZZ_CHECK(next == rd.n % 4);
    for (i = 0; i < rd.n; i++) FUZZ_CHECK(a[i] == (rd.p[i] ^ key[i % 4]));
    seed = (uint32_t)size * 2246822519u + 1;
    off = 0;
    next = 0;
    while (off < rd.n) {
        size_t n = fuzz_split(&seed, 37);
        if (n > rd.n - off) n = rd.n - off;
        next = wsproxy_mask(b + off, b + off, n, key, next);   /* in place */
        off += n;
    }
    FUZZ_CHECK(rd.n == 0 || memcmp(a, b, rd.n) == 0);
    wsproxy_mask(b, b, rd.n, key, 0);
    FUZZ_CHECK(rd.n == 0 || memcmp(b, rd.p, rd.n) == 0);
    free(a);
    free(b);
    return 0;
}
