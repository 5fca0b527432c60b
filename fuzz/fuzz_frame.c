/* wsproxy_frame_decode / wsproxy_frame_encode / wsproxy_mask.
   Invariants: decode returns 0, a length 2..14 within the input, or minus a
   WSPROXY_E_WS_* code that needs no context; a decoded header re-encodes to the same
   bytes; every prefix of a complete header is "need more" (0), and a prefix that already
   fails fails with the same code as the whole; masking twice is the identity and masking
   in pieces (offset carried) equals masking at once.
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
