/* bench/proto.h: faster variants of two wsproxy.h hot paths, written here only to show
   the gain (the library is not changed from bench/). Same contracts as the library's
   functions; bench/micro.c checks that they give the same results on every input it
   measures and on random valid and invalid text.

   proto_mask: wsproxy_mask with the key rotated once as a 32-bit word (no byte loop to
   build it) and 64 bytes per iteration, which gcc -O2 turns into four 16-byte
   load/xor/store groups (SSE2, no -march needed).

   proto_utf8_validate: a shift-based DFA (each byte's row holds every state's next state
   in 6-bit fields, so a byte costs one table load that does not depend on the state and
   one shift that does): no branch per byte, so mixed 2/3/4-byte text is no slower than
   predictable text. ASCII runs skip 32 bytes per test. The state lives in the same
   uint32_t, with 0 meaning "between code points" as in the library. */
#ifndef BENCH_PROTO_H
#define BENCH_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static size_t proto_mask(unsigned char *dst, const unsigned char *src, size_t len,
                         const unsigned char key[4], size_t offset)
{
    static const uint32_t one = 1;
    unsigned char kb[4];
    uint32_t k32;
    uint64_t kw;
    unsigned sh = (unsigned)(offset & 3) * 8;
    size_t i = 0;
    memcpy(&k32, key, 4);
    /* rotate so that byte 0 in memory is key[offset % 4]; the direction depends on the
       byte order, which the compiler knows (the test folds to a constant) */
    if (sh) k32 = *(const unsigned char *)&one ? (k32 >> sh | k32 << (32 - sh))
                                               : (k32 << sh | k32 >> (32 - sh));
    memcpy(kb, &k32, 4);
    kw = (uint64_t)k32 * 0x100000001ull;   /* both halves equal: byte order does not matter */
    for (; i + 64 <= len; i += 64) {   /* all loads before all stores: dst may equal src */
        uint64_t a, b, c, d, e, f, g, h;
        memcpy(&a, src + i, 8);      memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8); memcpy(&d, src + i + 24, 8);
        memcpy(&e, src + i + 32, 8); memcpy(&f, src + i + 40, 8);
        memcpy(&g, src + i + 48, 8); memcpy(&h, src + i + 56, 8);
        a ^= kw; b ^= kw; c ^= kw; d ^= kw; e ^= kw; f ^= kw; g ^= kw; h ^= kw;
        memcpy(dst + i, &a, 8);      memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8); memcpy(dst + i + 24, &d, 8);
        memcpy(dst + i + 32, &e, 8); memcpy(dst + i + 40, &f, 8);
        memcpy(dst + i + 48, &g, 8); memcpy(dst + i + 56, &h, 8);
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= kw;
        memcpy(dst + i, &w, 8);
    }
    for (; i < len; i++) dst[i] = (unsigned char)(src[i] ^ kb[i & 3]);
    return (offset + len) & 3;
}

/* ---- UTF-8 by shift DFA ---------------------------------------------------------------
   States are bit offsets: 0 accept (between code points), 6 reject, then the states
   that still need continuation bytes. */
enum {
    PU_ACC = 0, PU_REJ = 6, PU_C1 = 12, PU_C2 = 18, PU_C3 = 24,
    PU_E0 = 30, PU_ED = 36, PU_F0 = 42, PU_F4 = 48
};
#define PU_T(from, to) ((uint64_t)(to) << (from))
#define PU_REJ_ALL (PU_T(PU_ACC, PU_REJ) | PU_T(PU_REJ, PU_REJ) | PU_T(PU_C1, PU_REJ) |      \
                    PU_T(PU_C2, PU_REJ) | PU_T(PU_C3, PU_REJ) | PU_T(PU_E0, PU_REJ) |         \
                    PU_T(PU_ED, PU_REJ) | PU_T(PU_F0, PU_REJ) | PU_T(PU_F4, PU_REJ))

static uint64_t proto_utf8_rows_[256];

static void proto_utf8_init(void)
{
    int b;
    for (b = 0; b < 256; b++) {
        uint64_t r = PU_REJ_ALL;
        /* clear the fields we set below, then set them */
#define PU_SET(from, to) (r = (r & ~((uint64_t)63 << (from))) | PU_T(from, to))
        if (b < 0x80) PU_SET(PU_ACC, PU_ACC);
        else if (b < 0xC0) {
            PU_SET(PU_C1, PU_ACC); PU_SET(PU_C2, PU_C1); PU_SET(PU_C3, PU_C2);
            if (b < 0xA0) PU_SET(PU_ED, PU_C1); else PU_SET(PU_E0, PU_C1);
            if (b < 0x90) PU_SET(PU_F4, PU_C2); else PU_SET(PU_F0, PU_C2);
        }
        else if (b < 0xC2) { /* overlong lead: reject */ }
        else if (b < 0xE0) PU_SET(PU_ACC, PU_C1);
        else if (b == 0xE0) PU_SET(PU_ACC, PU_E0);
        else if (b == 0xED) PU_SET(PU_ACC, PU_ED);
        else if (b < 0xF0) PU_SET(PU_ACC, PU_C2);
        else if (b == 0xF0) PU_SET(PU_ACC, PU_F0);
        else if (b < 0xF4) PU_SET(PU_ACC, PU_C3);
        else if (b == 0xF4) PU_SET(PU_ACC, PU_F4);
#undef PU_SET
        proto_utf8_rows_[b] = r;
    }
}

#define PROTO_UTF8_REJECT 0xFFFFFFFFu

static size_t proto_utf8_validate(uint32_t *state, const unsigned char *s, size_t len)
{
    const uint64_t *rows = proto_utf8_rows_;
    uint64_t st = *state;
    size_t i = 0;
    if (*state == PROTO_UTF8_REJECT) return 0;
    while (i < len) {
        size_t j, end;
        if (st == PU_ACC) {   /* ASCII runs, 32 bytes per test */
            while (i + 32 <= len) {
                uint64_t a, b, c, d;
                memcpy(&a, s + i, 8); memcpy(&b, s + i + 8, 8);
                memcpy(&c, s + i + 16, 8); memcpy(&d, s + i + 24, 8);
                if ((a | b | c | d) & 0x8080808080808080ull) break;
                i += 32;
            }
        }
        end = len - i < 32 ? len : i + 32;
        {
            uint64_t before = st;
            for (j = i; j < end; j++) st = rows[s[j]] >> (st & 63);
            if ((st & 63) == PU_REJ) {   /* find the first bad byte of this block */
                st = before;
                for (j = i; j < end; j++) {
                    st = rows[s[j]] >> (st & 63);
                    if ((st & 63) == PU_REJ) break;
                }
                *state = PROTO_UTF8_REJECT;
                return j;
            }
            st &= 63;
        }
        i = end;
    }
    *state = (uint32_t)st;
    return len;
}

static int proto_utf8_done(uint32_t state) { return state == 0; }

#endif
