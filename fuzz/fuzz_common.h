/* Shared by the fuzz targets in fuzz/fuzz_*.c.

   Each target is one translation unit that includes this file and defines
   LLVMFuzzerTestOneInput. Built two ways (mk/hardening.mk):
     clang -fsanitize=fuzzer,address,undefined        build/fuzz/NAME      (libFuzzer)
     $(CC) fuzz/replay_main.c (gcc, ASan+UBSan)        build/fuzz/NAME-replay (replays files)

   Targets check invariants, not only "no crash": FUZZ_CHECK prints the failed condition
   and aborts, so libFuzzer saves the input as a crash file. */
#ifndef WSPROXY_FUZZ_COMMON_H
#define WSPROXY_FUZZ_COMMON_H

#define WSPROXY_IMPLEMENTATION
#define WSPROXY_STATIC
#include "../wsproxy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C"
#endif
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "invariant failed %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    abort(); } } while (0)

/* A copy of exactly n bytes on the heap, so ASan sees any read past the end. */
static inline unsigned char *fuzz_dup(const void *p, size_t n)
{
    unsigned char *d = (unsigned char *)calloc(n ? n : 1, 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

/* Is [p, p+n) inside [base, base+len)? */
static inline int fuzz_inside(const void *p, size_t n, const void *base, size_t len)
{
    const unsigned char *a = (const unsigned char *)p, *b = (const unsigned char *)base;
    if (n == 0 && p == NULL) return 1;
    return a >= b && a <= b + len && n <= (size_t)(b + len - a);
}

/* Reads the fuzzer's input front to back; past the end every read gives 0. */
typedef struct { const uint8_t *p; size_t n; } fuzz_reader;

static inline unsigned fuzz_byte(fuzz_reader *r)
{
    unsigned v;
    if (!r->n) return 0;
    v = r->p[0];
    r->p++; r->n--;
    return v;
}

/* Deterministic split sizes from a seed (xorshift32): 1..max. */
static inline unsigned fuzz_split(uint32_t *s, unsigned max)
{
    uint32_t x = *s ? *s : 0x9E3779B9u;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    *s = x;
    return 1 + x % (max ? max : 1);
}

/* A plain UTF-8 check written apart from the library: whole code points decoded, then
   overlongs, surrogates and values over U+10FFFF refused. 1 when s[0..len) is valid and
   complete. */
static inline int fuzz_utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned b = s[i], n, k;
        uint32_t cp;
        if (b < 0x80) { i++; continue; }
        if ((b & 0xE0) == 0xC0) { n = 1; cp = b & 0x1F; }
        else if ((b & 0xF0) == 0xE0) { n = 2; cp = b & 0x0F; }
        else if ((b & 0xF8) == 0xF0) { n = 3; cp = b & 0x07; }
        else return 0;
        if (len - i - 1 < n) return 0;
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return 0;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += n + 1;
    }
    return 1;
}

#endif
