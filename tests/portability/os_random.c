/* wsproxy_os_random on the machine it runs on (scripts/portability.sh builds it for each
   target; it also runs natively): it succeeds for 0, 1, 64 and 100,000 bytes, fills every
   byte it is asked for and no byte more, and two draws differ. Prints "N passed, N failed".
   cc -std=c99 -I. tests/portability/os_random.c  (Windows: add -lbcrypt once the header
   uses BCryptGenRandom) */
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#include "wsproxy.h"
#include "../test.h"

#define BIG 100000u
static unsigned char big[BIG + 16];

int main(void)
{
    unsigned char a[64 + 16], b[64 + 16], one[1 + 16];
    size_t i, zeros = 0, seen = 0;
    unsigned char any[256];
    (void)test_seed;   /* test.h helpers this file does not need */
    (void)test_rand;

    TEST_CASE("0 bytes");
    CHECK_EQ_INT(wsproxy_os_random(NULL, a, 0), 0);

    TEST_CASE("1 byte, nothing after it");
    memset(one, 0xA5, sizeof one);
    CHECK_EQ_INT(wsproxy_os_random(NULL, one, 1), 0);
    for (i = 1; i < sizeof one; i++) CHECK(one[i] == 0xA5);

    TEST_CASE("64 bytes twice: they differ, nothing after them");
    memset(a, 0xA5, sizeof a);
    memset(b, 0xA5, sizeof b);
    CHECK_EQ_INT(wsproxy_os_random(NULL, a, 64), 0);
    CHECK_EQ_INT(wsproxy_os_random(NULL, b, 64), 0);
    CHECK(memcmp(a, b, 64) != 0);
    for (i = 64; i < sizeof a; i++) CHECK(a[i] == 0xA5 && b[i] == 0xA5);

    TEST_CASE("100,000 bytes: every byte written, values spread");
    memset(big, 0, sizeof big);
    memset(big + BIG, 0xA5, 16);
    memset(any, 0, sizeof any);
    CHECK_EQ_INT(wsproxy_os_random(NULL, big, BIG), 0);
    for (i = 0; i < BIG; i++) {
        if (big[i] == 0) zeros++;
        if (!any[big[i]]) { any[big[i]] = 1; seen++; }
    }
    CHECK(zeros < BIG / 128);   /* about BIG / 256 expected; a skipped tail would show here */
    CHECK(seen == 256);
    for (i = BIG; i < BIG + 16; i++) CHECK(big[i] == 0xA5);
    return test_summary();
}
