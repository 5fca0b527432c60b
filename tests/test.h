/* Minimal test harness shared by the unit suites: CHECK records a failure and goes on;
   test_summary() prints the one closing line "N passed, N failed" and returns the
   process exit status. */
#ifndef WSPROXY_TEST_H
#define WSPROXY_TEST_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

static int test_passed_, test_failed_;
static const char *test_case_ = "";

#define TEST_CASE(name) (test_case_ = (name))
#define CHECK(cond) do { if (cond) test_passed_++; else { test_failed_++; \
    fprintf(stderr, "FAIL %s:%d [%s] %s\n", __FILE__, __LINE__, test_case_, #cond); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ == b_) test_passed_++; else { test_failed_++; \
    fprintf(stderr, "FAIL %s:%d [%s] %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, \
            test_case_, #a, #b, a_, b_); } } while (0)
#define CHECK_MEM(p, q, n) CHECK(memcmp((p), (q), (n)) == 0)

/* Deterministic generator for split points and payloads (xorshift64*). */
static uint64_t test_rng_state_ = 0x9E3779B97F4A7C15ull;
static void test_seed(uint64_t s) { test_rng_state_ = s ? s : 1; }
static uint64_t test_rand(void) {
    uint64_t x = test_rng_state_;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    test_rng_state_ = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* A fixed random source for cfg.random: byte i of its stream is (i * 37 + 11) & 0xff;
   setting test_rng_pos restarts it (or moves it to where a twin client is). */
static unsigned long test_rng_pos;
static inline int test_fixed_random(void *ctx, unsigned char *dst, size_t len) {
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++, test_rng_pos++) dst[i] = (unsigned char)(test_rng_pos * 37 + 11);
    return 0;
}

/* Whether needle[0..n) occurs in hay (memmem is a GNU extension: not on Windows). */
static inline int test_contains(const void *hay, size_t hay_len, const void *needle, size_t n) {
    size_t i;
    for (i = 0; n <= hay_len && i <= hay_len - n; i++)
        if (memcmp((const unsigned char *)hay + i, needle, n) == 0) return 1;
    return 0;
}

/* A server's (unmasked) frame: the first byte as given (FIN, RSV, opcode), the length in
   its shortest form, the payload; returns the bytes written. */
static inline size_t test_server_frame(unsigned char *out, unsigned first_byte, const void *payload, size_t len) {
    size_t n = 0;
    out[n++] = (unsigned char)first_byte;
    if (len < 126) out[n++] = (unsigned char)len;
    else if (len < 65536) { out[n++] = 126; out[n++] = (unsigned char)(len >> 8); out[n++] = (unsigned char)len; }
    else {
        int i;
        out[n++] = 127;
        for (i = 7; i >= 0; i--) out[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (len) memcpy(out + n, payload, len);
    return n + len;
}

static int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed_, test_failed_);
    return test_failed_ ? 1 : 0;
}
#endif
