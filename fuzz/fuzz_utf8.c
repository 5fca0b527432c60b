/* wsproxy_utf8_validate / wsproxy_utf8_done against a reference written here.

   The reference states the rule differently from the library's range table: a byte is
   the first bad one when the bytes of the open sequence up to it can no longer be
   completed into a valid code point: the code points reachable by filling the missing
   bits with 0s..1s must meet the valid set of that sequence length (2: U+0080..U+07FF,
   3: U+0800..U+FFFF without the surrogates U+D800..U+DFFF, 4: U+10000..U+10FFFF).
   Invariants: same offset of the first bad byte, same "ends on a boundary", whole
   input, in random pieces and byte by byte; after a rejection the state stays rejected.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 4096 */
#include "fuzz_common.h"

/* Could a sequence of `total` bytes whose value bits so far are `bits` (after `have`
   bytes) still decode to a valid code point? */
static int completable(uint32_t bits, int have, int total)
{
    int missing = total - have;
    uint32_t lo = bits << (6 * missing), hi = lo | ((1u << (6 * missing)) - 1u);
    uint32_t vlo, vhi;
    if (total == 2) { vlo = 0x80; vhi = 0x7FF; }
    else if (total == 3) { vlo = 0x800; vhi = 0xFFFF; }
    else { vlo = 0x10000; vhi = 0x10FFFF; }
    if (hi < vlo || lo > vhi) return 0;
    if (lo < vlo) lo = vlo;
    if (hi > vhi) hi = vhi;
    if (total == 3 && lo >= 0xD800 && hi <= 0xDFFF) return 0;   /* only surrogates left */
    return 1;
}

/* Returns the offset of the first bad byte, or len; *open tells whether a sequence is
   still incomplete at the end. */
static size_t ref_validate(const unsigned char *s, size_t len, int *open)
{
    size_t i = 0;
    *open = 0;
    while (i < len) {
        unsigned b = s[i];
        int total, have;
        uint32_t bits;
        if (b < 0x80) { i++; continue; }
        if ((b & 0xE0) == 0xC0) { total = 2; bits = b & 0x1F; }
        else if ((b & 0xF0) == 0xE0) { total = 3; bits = b & 0x0F; }
        else if ((b & 0xF8) == 0xF0) { total = 4; bits = b & 0x07; }
        else return i;   /* continuation byte or 0xF8..0xFF as a lead */
        if (!completable(bits, 1, total)) return i;
        i++;
        for (have = 1; have < total; have++) {
            if (i == len) { *open = 1; return len; }
            if ((s[i] & 0xC0) != 0x80) return i;
            bits = bits << 6 | (s[i] & 0x3F);
            if (!completable(bits, have + 1, total)) return i;
            i++;
        }
    }
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t st, seed;
    size_t ref, got, off, len;
    int open, rejected = 0;
    unsigned char *s;
    if (size < 1) return 0;
    seed = data[0] * 16777619u + 7;
    len = size - 1;
    s = fuzz_dup(data + 1, len);
    ref = ref_validate(s, len, &open);

    /* whole */
    st = 0;
    got = wsproxy_utf8_validate(&st, s, len);
    FUZZ_CHECK(got == ref);
    if (ref == len) FUZZ_CHECK(wsproxy_utf8_done(st) == !open);
    else {
        uint32_t again = st;
        FUZZ_CHECK(!wsproxy_utf8_done(st));
        FUZZ_CHECK(wsproxy_utf8_validate(&again, s, len) == 0);   /* stays rejected */
        FUZZ_CHECK(wsproxy_utf8_validate(&again, (const unsigned char *)"a", 1) == 0);
    }

    /* in pieces (the state carries), and byte by byte */
    {
        int pass;
        for (pass = 0; pass < 2; pass++) {
            st = 0; off = 0; rejected = 0;
            while (off < len) {
                size_t n = pass == 0 ? fuzz_split(&seed, 40) : 1, r;
                if (n > len - off) n = len - off;
                r = wsproxy_utf8_validate(&st, s + off, n);
                FUZZ_CHECK(r <= n);
                if (r < n) {
                    FUZZ_CHECK(off + r == ref);
                    rejected = 1;
                    break;
                }
                off += n;
            }
            if (!rejected) {
                FUZZ_CHECK(ref == len);
                FUZZ_CHECK(wsproxy_utf8_done(st) == !open);
            }
        }
    }
    /* every prefix that the reference accepts as complete is done */
    if (len <= 64) {
        size_t k;
        for (k = 0; k <= len; k++) {
            int o;
            size_t rk = ref_validate(s, k, &o);
            st = 0;
            FUZZ_CHECK(wsproxy_utf8_validate(&st, s, k) == rk);
            if (rk == k) FUZZ_CHECK(wsproxy_utf8_done(st) == !o);
        }
    }
    free(s);
    return 0;
}
