/* Unit tests for the pure functions of wsproxy.h: SHA-1, base64, accept key, UTF-8,
   frame codec and masking, URL / percent / address parsers, HTTP response parser.
   Expected values come from FIPS 180, RFC 4648, RFC 6455, RFC 3629 / Unicode table 3-7,
   RFC 4291, RFC 9112 and the spec comments in wsproxy.h. Inputs are also placed right
   before a PROT_NONE page so that any over-read crashes.

   gcc -std=c99 -Wall -Wextra -pedantic -g -fsanitize=address,undefined \
       tests/test_pure.c -o /tmp/test_pure && /tmp/test_pure */
#define _DEFAULT_SOURCE
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#include "../wsproxy.h"
#include "test.h"
#ifdef _WIN32
#include <windows.h>   /* VirtualAlloc / VirtualProtect: the guard page on Windows */
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

#define UC(s) ((const unsigned char *)(s))

static char case_buf[512];
static void case_name(const char *prefix, const void *data, size_t len) {
    /* printable rendering of an input for failure messages */
    size_t o = 0, i;
    const unsigned char *p = (const unsigned char *)data;
    o += (size_t)snprintf(case_buf, sizeof case_buf, "%s ", prefix);
    for (i = 0; i < len && o + 8 < sizeof case_buf; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '\\')
            case_buf[o++] = (char)p[i];
        else
            o += (size_t)snprintf(case_buf + o, sizeof case_buf - o, "\\x%02X", p[i]);
    }
    if (i < len && o + 4 < sizeof case_buf) { memcpy(case_buf + o, "...", 3); o += 3; }
    case_buf[o] = 0;
    TEST_CASE(case_buf);
}

/* ---- guard page: GUARD_BYTES readable bytes end where a PROT_NONE page starts ---- */
#define GUARD_BYTES (64u * 1024u)
static unsigned char *guard_end;
#ifdef _WIN32
static void guard_init(void) {   /* the same with Windows' calls: a PAGE_NOACCESS page */
    SYSTEM_INFO si;
    size_t page, data;
    void *p;
    DWORD old;
    GetSystemInfo(&si);
    page = si.dwPageSize ? (size_t)si.dwPageSize : 4096u;
    data = (GUARD_BYTES + page - 1) / page * page;
    p = VirtualAlloc(NULL, data + page, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!p) { fprintf(stderr, "VirtualAlloc failed\n"); exit(2); }
    if (!VirtualProtect((unsigned char *)p + data, page, PAGE_NOACCESS, &old)) {
        fprintf(stderr, "VirtualProtect failed\n"); exit(2);
    }
    guard_end = (unsigned char *)p + data;
}
#else
static void guard_init(void) {
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096u;
    size_t data = (GUARD_BYTES + page - 1) / page * page;
    void *p = mmap(NULL, data + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    if (mprotect((unsigned char *)p + data, page, PROT_NONE) != 0) {
        perror("mprotect"); exit(2);
    }
    guard_end = (unsigned char *)p + data;
}
#endif
/* Copies n bytes so that the last one is the last readable byte. */
static unsigned char *guard_place(const void *src, size_t n) {
    unsigned char *d = guard_end - n;
    if (n) memcpy(d, src, n);
    return d;
}

static void hex2bin(const char *hex, unsigned char *out) {
    size_t i, n = strlen(hex) / 2;
    for (i = 0; i < n; i++) {
        unsigned v = 0;
        int k;
        for (k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0'
                                    : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10);
        }
        out[i] = (unsigned char)v;
    }
}

static int inside(const void *p, size_t n, const void *base, size_t len) {
    const char *q = (const char *)p, *b = (const char *)base;
    return q != NULL && q >= b && q + n <= b + len;
}

/* =============================== SHA-1 ======================================= */
static void check_sha1(const char *name, const void *d, size_t n, const char *hex) {
    unsigned char exp[20], got[20];
    TEST_CASE(name);
    hex2bin(hex, exp);
    memset(got, 0, sizeof got);
    wsproxy_sha1(d, n, got);
    CHECK_MEM(got, exp, 20);
}

static unsigned char million[1000000];

static void test_sha1(void) {
    static const struct { size_t n; const char *hex; } as[] = {
        /* 'a' repeated n times; digests from coreutils sha1sum (independent code) */
        {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
        {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
        {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
        {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
        {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
        {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
        {127, "89d95fa32ed44a7c610b7ee38517ddf57e0bb975"},
        {128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0"},
    };
    size_t i, n;
    unsigned char a[200], b[210], d1[20], d2[20];
    int bad = 0;

    check_sha1("sha1 abc", "abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    check_sha1("sha1 empty", "", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check_sha1("sha1 448-bit", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
               "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    check_sha1("sha1 896-bit",
               "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
               "nopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
               "a49b2446a02c645bf419f995b67091253a04a259");
    check_sha1("sha1 fox", "The quick brown fox jumps over the lazy dog", 43,
               "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
    memset(million, 'a', sizeof million);
    check_sha1("sha1 million a", million, sizeof million,
               "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    for (i = 0; i < sizeof as / sizeof as[0]; i++) {
        snprintf(case_buf, sizeof case_buf, "sha1 'a' x %u", (unsigned)as[i].n);
        check_sha1(case_buf, million, as[i].n, as[i].hex);
    }
    /* second path: same bytes at every alignment give the same digest */
    TEST_CASE("sha1 alignment");
    for (i = 0; i < sizeof a; i++) a[i] = (unsigned char)test_rand();
    for (n = 0; n <= sizeof a; n++) {
        size_t off;
        wsproxy_sha1(a, n, d1);
        for (off = 1; off < 8; off++) {
            memcpy(b + off, a, n);
            wsproxy_sha1(b + off, n, d2);
            if (memcmp(d1, d2, 20) != 0) bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* guard page: message ending at the last readable byte */
    TEST_CASE("sha1 guard");
    {
        unsigned char *p = guard_place(million, 64);
        unsigned char exp[20];
        wsproxy_sha1(p, 64, d1);
        hex2bin("0098ba824b5c16427bd7a1122a5a442a25ec644d", exp);
        CHECK_MEM(d1, exp, 20);
    }
}

/* =============================== base64 ====================================== */
static void check_b64(const char *name, const void *in, size_t n, const char *exp) {
    char out[64];
    size_t e = strlen(exp), r, k;
    int untouched = 1;
    TEST_CASE(name);
    memset(out, '#', sizeof out);
    r = wsproxy_base64(UC(in), n, out, sizeof out);
    CHECK_EQ_INT(r, e);
    CHECK_MEM(out, exp, e + 1); /* includes the NUL */
    memset(out, '#', sizeof out);
    r = wsproxy_base64(UC(in), n, out, e + 1); /* exactly enough */
    CHECK_EQ_INT(r, e);
    CHECK_MEM(out, exp, e + 1);
    CHECK(out[e + 1] == '#');
    /* one byte short (no room for the NUL): 0, nothing written past cap */
    memset(out, '#', sizeof out);
    r = wsproxy_base64(UC(in), n, out, e);
    CHECK_EQ_INT(r, 0);
    for (k = e; k < sizeof out; k++) if (out[k] != '#') untouched = 0;
    CHECK(untouched);
    if (e >= 4) {
        memset(out, '#', sizeof out);
        r = wsproxy_base64(UC(in), n, out, e - 3);
        CHECK_EQ_INT(r, 0);
        untouched = 1;
        for (k = e - 3; k < sizeof out; k++) if (out[k] != '#') untouched = 0;
        CHECK(untouched);
    }
}

static void test_base64(void) {
    static const unsigned char r1[] = {0x14, 0xfb, 0x9c, 0x03, 0xd9, 0x7e};
    static const unsigned char x1[] = {0xff, 0xfe, 0xfd}, x2[] = {0xfb, 0xff};
    static const unsigned char z[] = {0, 0, 0};
    char out[8];
    /* RFC 4648 section 10 */
    check_b64("b64 empty", "", 0, "");
    check_b64("b64 f", "f", 1, "Zg==");
    check_b64("b64 fo", "fo", 2, "Zm8=");
    check_b64("b64 foo", "foo", 3, "Zm9v");
    check_b64("b64 foob", "foob", 4, "Zm9vYg==");
    check_b64("b64 fooba", "fooba", 5, "Zm9vYmE=");
    check_b64("b64 foobar", "foobar", 6, "Zm9vYmFy");
    /* RFC 4648 section 9 */
    check_b64("b64 rfc9 6", r1, 6, "FPucA9l+");
    check_b64("b64 rfc9 5", r1, 5, "FPucA9k=");
    check_b64("b64 rfc9 4", r1, 4, "FPucAw==");
    check_b64("b64 ff fe fd", x1, 3, "//79");
    check_b64("b64 fb ff", x2, 2, "+/8=");
    check_b64("b64 zero 1", z, 1, "AA==");
    check_b64("b64 zero 3", z, 3, "AAAA");
    TEST_CASE("b64 cap 0");
    out[0] = '#';
    CHECK_EQ_INT(wsproxy_base64(UC("foo"), 3, out, 0), 0);
    CHECK(out[0] == '#');
}

static void test_accept_key(void) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char out[40], b64[40], cat[128];
    unsigned char d[20];
    TEST_CASE("accept key RFC 6455 1.3");
    memset(out, '#', sizeof out);
    wsproxy_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    CHECK_MEM(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 29);
    TEST_CASE("accept key second vector");
    memset(out, '#', sizeof out);
    wsproxy_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
    CHECK_MEM(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=", 29);
    CHECK(out[29] == '#');
    TEST_CASE("accept key len-bounded (no NUL needed)");
    memset(out, '#', sizeof out);
    wsproxy_accept_key("dGhlIHNhbXBsZSBub25jZQ==JUNK", 24, out);
    CHECK_MEM(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 29);
    TEST_CASE("accept key = base64(sha1(key+guid))");
    memcpy(cat, "AQIDBAUGBwgJCgsMDQ4PEA==", 24);
    memcpy(cat + 24, guid, 36);
    wsproxy_sha1(cat, 60, d);
    CHECK_EQ_INT(wsproxy_base64(d, 20, b64, sizeof b64), 28);
    wsproxy_accept_key("AQIDBAUGBwgJCgsMDQ4PEA==", 24, out);
    CHECK_MEM(out, b64, 29);
    TEST_CASE("accept key guard");
    {
        unsigned char *p = guard_place("dGhlIHNhbXBsZSBub25jZQ==", 24);
        wsproxy_accept_key((const char *)p, 24, out);
        CHECK_MEM(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 29);
    }
}

/* =============================== UTF-8 ======================================= */
/* Reference validator straight from RFC 3629 section 4 / Unicode table 3-7 with the
   "earliest byte" contract: returns the index of the first byte that cannot continue
   any well-formed sequence, or len (then *done says whether it ended on a boundary). */
static size_t ref_utf8(const unsigned char *s, size_t len, int *done) {
    size_t i = 0, j, n;
    *done = 1;
    while (i < len) {
        unsigned b = s[i], lo = 0x80, hi = 0xBF;
        if (b < 0x80) { i++; continue; }
        if (b >= 0xC2 && b <= 0xDF) n = 2;
        else if (b == 0xE0) { n = 3; lo = 0xA0; }
        else if (b >= 0xE1 && b <= 0xEC) n = 3;
        else if (b == 0xED) { n = 3; hi = 0x9F; }
        else if (b == 0xEE || b == 0xEF) n = 3;
        else if (b == 0xF0) { n = 4; lo = 0x90; }
        else if (b >= 0xF1 && b <= 0xF3) n = 4;
        else if (b == 0xF4) { n = 4; hi = 0x8F; }
        else return i;
        for (j = 1; j < n; j++) {
            unsigned c;
            if (i + j >= len) { *done = 0; return len; }
            c = s[i + j];
            if (c < (j == 1 ? lo : 0x80u) || c > (j == 1 ? hi : 0xBFu)) return i + j;
        }
        i += n;
    }
    return len;
}

/* mode 0: one call; 1: a byte at a time; 2: random pieces (some empty). Returns the
   absolute offset reported (len when all accepted); *done from wsproxy_utf8_done. */
static size_t utf8_feed(const unsigned char *s, size_t len, int mode, int *done) {
    uint32_t st = 0;
    size_t pos = 0;
    for (;;) {
        size_t n, r;
        if (mode == 0) n = len - pos;
        else if (mode == 1) n = pos < len ? 1 : 0;
        else n = (size_t)(test_rand() % (uint64_t)(len - pos + 1));
        r = wsproxy_utf8_validate(&st, s + pos, n);
        if (r != n) { *done = -1; return pos + r; }
        pos += n;
        if (pos >= len) break;
    }
    *done = wsproxy_utf8_done(st) ? 1 : 0;
    return len;
}

/* Checks one input against an expected (offset, done): whole, bytewise, 20 random
   splits, and every prefix at the guard page. Returns the number of mismatches. */
static int utf8_check(const unsigned char *s, size_t len, size_t exp_off, int exp_done,
                      int report) {
    int bad = 0, d, mode, k, rd;
    size_t off, p, rr;
    for (mode = 0; mode < 3; mode++) {
        for (k = 0; k < (mode == 2 ? 20 : 1); k++) {
            off = utf8_feed(s, len, mode, &d);
            if (off != exp_off || (exp_off == len && d != exp_done)) {
                if (report)
                    fprintf(stderr, "  utf8 mode %d: offset %u done %d, expected %u done %d\n",
                            mode, (unsigned)off, d, (unsigned)exp_off, exp_done);
                bad++;
            }
        }
    }
    for (p = 0; p <= len; p++) {
        const unsigned char *g = guard_place(s, p);
        uint32_t st = 0;
        rr = ref_utf8(s, p, &rd);
        off = wsproxy_utf8_validate(&st, g, p);
        if (off != rr || (rr == p && (wsproxy_utf8_done(st) ? 1 : 0) != rd)) {
            if (report)
                fprintf(stderr, "  utf8 prefix %u at page end: offset %u, expected %u\n",
                        (unsigned)p, (unsigned)off, (unsigned)rr);
            bad++;
        }
    }
    return bad;
}

typedef struct { const char *s; size_t len; size_t off; int done; } u8case;
#define U8V(lit) { lit, sizeof(lit) - 1, sizeof(lit) - 1, 1 }  /* valid, complete */
#define U8T(lit) { lit, sizeof(lit) - 1, sizeof(lit) - 1, 0 }  /* valid so far, open */
#define U8E(lit, off) { lit, sizeof(lit) - 1, off, 1 }          /* invalid at off */

static void test_utf8(void) {
    static const u8case cases[] = {
        U8V(""), U8V("Hello, world"), U8V("\x00"), U8V("\x7F"), U8V("a\x00z"),
        U8V("\xC2\x80"), U8V("\xDF\xBF"), U8V("\xC3\xA9t\xC3\xA9"),
        U8V("\xE0\xA0\x80"), U8V("\xEF\xBF\xBF"), U8V("\xED\x9F\xBF"), U8V("\xEE\x80\x80"),
        U8V("\xEF\xBF\xBD"), U8V("\xE2\x82\xAC"), U8V("\xEF\xBF\xBE"),
        U8V("\xF0\x90\x80\x80"), U8V("\xF4\x8F\xBF\xBF"), U8V("\xF0\x9F\x98\x80"),
        U8V("\xF3\xBF\xBF\xBF"), U8V("\xF4\x8F\xBF\xBE"),
        /* Autobahn 6.2.1 / Kuhn 1: "kosme" in Greek */
        U8V("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"),
        /* Autobahn 6.2 */
        U8V("Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!"),
        /* truncated: acceptable so far, code point still open */
        U8T("\xC2"), U8T("\xDF"), U8T("\xE0"), U8T("\xE0\xA0"), U8T("\xE2\x82"),
        U8T("\xED\x9F"), U8T("\xEF\xBF"), U8T("\xF0"), U8T("\xF0\x90"), U8T("\xF0\x90\x80"),
        U8T("\xF4"), U8T("\xF4\x8F"), U8T("\xF4\x8F\xBF"), U8T("ab\xE2\x82"),
        U8T("\xCE\xBA\xE1\xBD"),
        /* lone / unexpected continuation bytes (Kuhn 3.1) */
        U8E("\x80", 0), U8E("\xBF", 0), U8E("\x80\xBF", 0), U8E("a\x80", 1),
        U8E("\xC2\x80\x80", 2), U8E("\xE2\x82\xAC\xAC", 3),
        /* overlongs (Kuhn 4) */
        U8E("\xC0\x80", 0), U8E("\xC0", 0), U8E("\xC0\xAF", 0), U8E("\xC1\xBF", 0),
        U8E("\xE0\x80\x80", 1), U8E("\xE0\x80\xAF", 1), U8E("\xE0\x9F\xBF", 1),
        U8E("\xE0\x80", 1),
        U8E("\xF0\x80\x80\x80", 1), U8E("\xF0\x80\x80\xAF", 1), U8E("\xF0\x8F\xBF\xBF", 1),
        U8E("\xF8\x88\x80\x80\x80", 0), U8E("\xFC\x84\x80\x80\x80\x80", 0),
        /* surrogates (Kuhn 5) */
        U8E("\xED\xA0\x80", 1), U8E("\xED\xAD\xBF", 1), U8E("\xED\xAE\x80", 1),
        U8E("\xED\xAF\xBF", 1), U8E("\xED\xB0\x80", 1), U8E("\xED\xBE\x80", 1),
        U8E("\xED\xBF\xBF", 1), U8E("\xED\xA0\x80\xED\xB0\x80", 1), U8E("\xED\xA0", 1),
        /* above U+10FFFF */
        U8E("\xF4\x90\x80\x80", 1), U8E("\xF4\x90", 1), U8E("\xF4\xBF\xBF\xBF", 1),
        U8E("\xF5\x80\x80\x80", 0), U8E("\xF7\xBF\xBF\xBF", 0), U8E("\xFE", 0),
        U8E("\xFF", 0), U8E("\xFE\xFE\xFF\xFF", 0),
        /* the brief's "earliest byte" examples */
        U8E("ab\xE0\x80", 3),
        /* sequences cut short by another byte (Kuhn 3.3 / 3.4) */
        U8E("\xE2\x82" "a", 2), U8E("\xC2" "A", 1), U8E("\xC2\xC2", 1),
        U8E("\xDF\xEF\xBF", 1), U8E("\xE2\x82\xC0", 2), U8E("\xF0\x90\x80" "a", 3),
        U8E("\xF0\x90\x80\xF0\x90\x80\x80", 3), U8E("\xC2\xE0\xA0\x80", 1),
        /* Autobahn 6.4.1: fail fast on the byte after the valid "kosme" prefix */
        U8E("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90\x80\x80\x65\x64\x69\x74"
            "\x65\x64", 12),
        /* Autobahn 6.4.2-style: the same, cut right after the offending byte */
        U8E("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4\x90", 12),
        U8T("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xF4"),
    };
    size_t i, a, b, c, off;
    int bad, rd, first;
    unsigned char buf[32];
    uint32_t st;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rdone;
        size_t roff;
        case_name("utf8", cases[i].s, cases[i].len);
        /* the reference agrees with the hand-written expectation */
        roff = ref_utf8(UC(cases[i].s), cases[i].len, &rdone);
        if (roff != cases[i].off || (roff == cases[i].len && rdone != cases[i].done)) {
            fprintf(stderr, "test bug: reference disagrees on %s\n", case_buf);
            exit(3);
        }
        CHECK_EQ_INT(utf8_check(UC(cases[i].s), cases[i].len, cases[i].off, cases[i].done, 1),
                     0);
    }

    /* every lead byte that can never start a sequence */
    TEST_CASE("utf8 invalid leads");
    bad = 0;
    for (a = 0x80; a <= 0xFF; a++) {
        if (a >= 0xC2 && a <= 0xF4) continue;
        buf[0] = 'a'; buf[1] = (unsigned char)a; buf[2] = 0x80; buf[3] = 0x80; buf[4] = 0x80;
        bad += utf8_check(buf + 1, 1, 0, 1, 0) != 0;
        bad += utf8_check(buf, 5, 1, 1, 0) != 0;
    }
    CHECK_EQ_INT(bad, 0);

    /* exhaustive: all 1- and 2-byte strings, all 3-byte strings with a non-ASCII lead */
    TEST_CASE("utf8 exhaustive 1-3 bytes vs RFC 3629 reference");
    bad = 0; first = 1;
    for (a = 0; a < 256; a++) {
        size_t rr;
        buf[0] = (unsigned char)a;
        st = 0; rr = ref_utf8(buf, 1, &rd); off = wsproxy_utf8_validate(&st, buf, 1);
        if (off != rr || (rr == 1 && (wsproxy_utf8_done(st) ? 1 : 0) != rd)) bad++;
        for (b = 0; b < 256; b++) {
            buf[1] = (unsigned char)b;
            st = 0; rr = ref_utf8(buf, 2, &rd); off = wsproxy_utf8_validate(&st, buf, 2);
            if (off != rr || (rr == 2 && (wsproxy_utf8_done(st) ? 1 : 0) != rd)) {
                if (first) { fprintf(stderr, "  first: %02X %02X -> %u want %u\n",
                                     (unsigned)a, (unsigned)b, (unsigned)off, (unsigned)rr);
                             first = 0; }
                bad++;
            }
            if (a < 0xC0) continue;
            for (c = 0; c < 256; c++) {
                buf[2] = (unsigned char)c;
                st = 0; rr = ref_utf8(buf, 3, &rd); off = wsproxy_utf8_validate(&st, buf, 3);
                if (off != rr || (rr == 3 && (wsproxy_utf8_done(st) ? 1 : 0) != rd)) {
                    if (first) { fprintf(stderr, "  first: %02X %02X %02X -> %u want %u\n",
                                         (unsigned)a, (unsigned)b, (unsigned)c,
                                         (unsigned)off, (unsigned)rr); first = 0; }
                    bad++;
                }
            }
        }
    }
    CHECK_EQ_INT(bad, 0);

    /* 4-byte leads F0..F4 with every 2nd and 3rd byte, 4th byte at the edges */
    TEST_CASE("utf8 4-byte sequences vs reference");
    bad = 0;
    {
        static const unsigned char lasts[] = {0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xFF};
        size_t l;
        for (a = 0xF0; a <= 0xF4; a++)
            for (b = 0; b < 256; b++)
                for (c = 0; c < 256; c++)
                    for (l = 0; l < sizeof lasts; l++) {
                        size_t rr;
                        buf[0] = (unsigned char)a; buf[1] = (unsigned char)b;
                        buf[2] = (unsigned char)c; buf[3] = lasts[l];
                        st = 0; rr = ref_utf8(buf, 4, &rd);
                        off = wsproxy_utf8_validate(&st, buf, 4);
                        if (off != rr || (rr == 4 && (wsproxy_utf8_done(st) ? 1 : 0) != rd))
                            bad++;
                    }
    }
    CHECK_EQ_INT(bad, 0);

    /* random strings from an adversarial alphabet, whole / bytewise / random splits */
    TEST_CASE("utf8 random vs reference");
    bad = 0; first = 1;
    {
        static const unsigned char alpha[] = {'a', 0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                                              0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
                                              0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5,
                                              0xFF};
        unsigned long it;
        test_seed(12345);
        for (it = 0; it < 100000; it++) {
            size_t len = (size_t)(test_rand() % 17), k;
            int rdone, mode;
            size_t rr;
            for (k = 0; k < len; k++) {
                uint64_t r = test_rand();
                buf[k] = (r & 3) == 0 ? (unsigned char)(r >> 8)
                                      : alpha[(r >> 8) % sizeof alpha];
            }
            rr = ref_utf8(buf, len, &rdone);
            for (mode = 0; mode < 3; mode++) {
                int d;
                size_t o = utf8_feed(buf, len, mode, &d);
                if (o != rr || (rr == len && d != rdone)) {
                    if (first) {
                        case_name("  first random mismatch:", buf, len);
                        fprintf(stderr, "%s mode %d -> %u want %u\n", case_buf, mode,
                                (unsigned)o, (unsigned)rr);
                        TEST_CASE("utf8 random vs reference");
                        first = 0;
                    }
                    bad++;
                }
            }
        }
    }
    CHECK_EQ_INT(bad, 0);

    /* long valid text in many pieces */
    TEST_CASE("utf8 long mixed text");
    {
        static const char unit[] = "a\xC2\xB5\xE2\x82\xAC\xF0\x9F\x98\x80\xED\x9F\xBF";
        unsigned char big[13 * 300];
        size_t k;
        for (k = 0; k < 300; k++) memcpy(big + 13 * k, unit, 13);
        CHECK_EQ_INT(utf8_check(big, sizeof big, sizeof big, 1, 1), 0);
        big[13 * 200 + 7] = 0xC0; /* inside the 4-byte sequence: its 2nd byte */
        CHECK_EQ_INT(utf8_check(big, sizeof big, 13 * 200 + 7, 1, 1), 0);
    }
}

/* =============================== frames ====================================== */
typedef struct { uint64_t len; unsigned char ext[9]; size_t ext_len; } flen;

static void test_frames(void) {
    static const flen lens[] = {
        {0, {0x00}, 1}, {1, {0x01}, 1}, {125, {0x7D}, 1},
        {126, {0x7E, 0x00, 0x7E}, 3}, {127, {0x7E, 0x00, 0x7F}, 3},
        {256, {0x7E, 0x01, 0x00}, 3}, {65535, {0x7E, 0xFF, 0xFF}, 3},
        {65536, {0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0}, 9},
        {4294967296ull, {0x7F, 0, 0, 0, 0x01, 0, 0, 0, 0}, 9},
        {4611686018427387904ull, {0x7F, 0x40, 0, 0, 0, 0, 0, 0, 0}, 9},
        {0x7FFFFFFFFFFFFFFFull, {0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 9},
    };
    static const int ops[] = {0, 1, 2, 8, 9, 10};
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t i, oi, k;
    int fin;

    for (i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (fin = 0; fin <= 1; fin++)
            for (oi = 0; oi < sizeof ops / sizeof ops[0]; oi++) {
                int op = ops[oi], d, prefix_bad = 0;
                unsigned char exp[20], out[20], buf[24];
                size_t n, r;
                wsproxy_frame_header h;
                if (op >= 8 && (!fin || lens[i].len > 125)) continue;
                snprintf(case_buf, sizeof case_buf, "frame fin=%d op=%d len=%llu", fin, op,
                         (unsigned long long)lens[i].len);
                TEST_CASE(case_buf);
                exp[0] = (unsigned char)((fin ? 0x80 : 0) | op);
                memcpy(exp + 1, lens[i].ext, lens[i].ext_len);
                n = 1 + lens[i].ext_len;
                /* unmasked encode */
                memset(out, 0xEE, sizeof out);
                r = wsproxy_frame_encode(out, fin, op, NULL, lens[i].len);
                CHECK_EQ_INT(r, n);
                CHECK_MEM(out, exp, n);
                /* decode, with payload bytes following */
                memcpy(buf, exp, n);
                memset(buf + n, 0xAA, 3);
                memset(&h, 0x5A, sizeof h);
                d = wsproxy_frame_decode(buf, n + 3, &h);
                CHECK_EQ_INT(d, n);
                CHECK_EQ_INT(h.fin, fin);
                CHECK_EQ_INT(h.rsv, 0);
                CHECK_EQ_INT(h.opcode, op);
                CHECK_EQ_INT(h.masked, 0);
                CHECK(h.payload_len == lens[i].len);
                /* every proper prefix is incomplete, also at the guard page */
                for (k = 0; k < n; k++) {
                    if (wsproxy_frame_decode(buf, k, &h) != 0) prefix_bad++;
                    if (wsproxy_frame_decode(guard_place(buf, k), k, &h) != 0) prefix_bad++;
                }
                CHECK_EQ_INT(prefix_bad, 0);
                memset(&h, 0, sizeof h);
                CHECK_EQ_INT(wsproxy_frame_decode(guard_place(buf, n), n, &h), n);
                CHECK(h.payload_len == lens[i].len);
                /* masked encode: MASK bit and the key after the length */
                exp[1] |= 0x80;
                memcpy(exp + n, key, 4);
                memset(out, 0xEE, sizeof out);
                r = wsproxy_frame_encode(out, fin, op, key, lens[i].len);
                CHECK_EQ_INT(r, n + 4);
                CHECK_MEM(out, exp, n + 4);
                /* a client never accepts a masked frame */
                CHECK_EQ_INT(wsproxy_frame_decode(exp, n + 4, &h), -WSPROXY_E_WS_MASKED);
                CHECK_EQ_INT(wsproxy_frame_decode(exp, 1, &h), 0);
                prefix_bad = 0;
                for (k = 0; k < n + 4; k++) {
                    int dd = wsproxy_frame_decode(guard_place(exp, k), k, &h);
                    if (dd != 0 && dd != -WSPROXY_E_WS_MASKED) prefix_bad++;
                }
                CHECK_EQ_INT(prefix_bad, 0);
            }

    /* RFC 6455 5.7 examples */
    {
        static const unsigned char hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
        static const unsigned char hel[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
        static const unsigned char lo[] = {0x80, 0x02, 0x6c, 0x6f};
        static const unsigned char ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
        static const unsigned char b256[] = {0x82, 0x7E, 0x01, 0x00};
        static const unsigned char b64k[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0};
        static const unsigned char mhello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                               0x7f, 0x9f, 0x4d, 0x51, 0x58};
        wsproxy_frame_header h;
        unsigned char out[16], pay[5];
        TEST_CASE("frame rfc 5.7 hello");
        CHECK_EQ_INT(wsproxy_frame_decode(hello, sizeof hello, &h), 2);
        CHECK(h.fin == 1 && h.opcode == 1 && h.masked == 0 && h.payload_len == 5);
        TEST_CASE("frame rfc 5.7 fragments");
        CHECK_EQ_INT(wsproxy_frame_decode(hel, sizeof hel, &h), 2);
        CHECK(h.fin == 0 && h.opcode == 0x1 && h.payload_len == 3);
        CHECK_EQ_INT(wsproxy_frame_decode(lo, sizeof lo, &h), 2);
        CHECK(h.fin == 1 && h.opcode == 0x0 && h.payload_len == 2);
        TEST_CASE("frame rfc 5.7 ping");
        CHECK_EQ_INT(wsproxy_frame_decode(ping, sizeof ping, &h), 2);
        CHECK(h.fin == 1 && h.opcode == 0x9 && h.payload_len == 5);
        TEST_CASE("frame rfc 5.7 256 bytes");
        CHECK_EQ_INT(wsproxy_frame_decode(b256, sizeof b256, &h), 4);
        CHECK(h.opcode == 2 && h.payload_len == 256);
        CHECK_EQ_INT(wsproxy_frame_encode(out, 1, 2, NULL, 256), 4);
        CHECK_MEM(out, b256, 4);
        TEST_CASE("frame rfc 5.7 64KiB");
        CHECK_EQ_INT(wsproxy_frame_decode(b64k, sizeof b64k, &h), 10);
        CHECK(h.opcode == 2 && h.payload_len == 65536);
        CHECK_EQ_INT(wsproxy_frame_encode(out, 1, 2, NULL, 65536), 10);
        CHECK_MEM(out, b64k, 10);
        TEST_CASE("frame rfc 5.7 masked hello");
        CHECK_EQ_INT(wsproxy_frame_encode(out, 1, 1, mhello + 2, 5), 6);
        CHECK_MEM(out, mhello, 6);
        CHECK_EQ_INT(wsproxy_mask(pay, UC("Hello"), 5, mhello + 2, 0), 1);
        CHECK_MEM(pay, mhello + 6, 5);
        CHECK_EQ_INT(wsproxy_mask(pay, pay, 5, mhello + 2, 0), 1); /* unmask in place */
        CHECK_MEM(pay, "Hello", 5);
        CHECK_EQ_INT(wsproxy_frame_decode(mhello, sizeof mhello, &h), -WSPROXY_E_WS_MASKED);
    }

    /* violations */
    {
        typedef struct { unsigned char b[10]; size_t n; int code; const char *what; } ferr;
        static const ferr errs[] = {
            {{0xC1, 0x00}, 2, WSPROXY_E_WS_RESERVED_BITS, "rsv1"},
            {{0xA1, 0x00}, 2, WSPROXY_E_WS_RESERVED_BITS, "rsv2"},
            {{0x91, 0x00}, 2, WSPROXY_E_WS_RESERVED_BITS, "rsv3"},
            {{0xF1, 0x00}, 2, WSPROXY_E_WS_RESERVED_BITS, "rsv123"},
            {{0x42, 0x05}, 2, WSPROXY_E_WS_RESERVED_BITS, "rsv1 no fin"},
            {{0xC0, 0x7E, 0x01, 0x00}, 4, WSPROXY_E_WS_RESERVED_BITS, "rsv1 continuation"},
            {{0x81, 0x80, 1, 2, 3, 4}, 6, WSPROXY_E_WS_MASKED, "masked text"},
            {{0x82, 0xFE, 0x00, 0x80, 1, 2, 3, 4}, 8, WSPROXY_E_WS_MASKED, "masked 126"},
            {{0x89, 0x80, 1, 2, 3, 4}, 6, WSPROXY_E_WS_MASKED, "masked ping"},
            {{0x09, 0x00}, 2, WSPROXY_E_WS_CONTROL_FRAGMENTED, "ping no fin"},
            {{0x08, 0x02}, 2, WSPROXY_E_WS_CONTROL_FRAGMENTED, "close no fin"},
            {{0x0A, 0x7D}, 2, WSPROXY_E_WS_CONTROL_FRAGMENTED, "pong no fin"},
            {{0x89, 0x7E, 0x00, 0x7E}, 4, WSPROXY_E_WS_CONTROL_TOO_LONG, "ping 126"},
            {{0x88, 0x7E, 0x01, 0x00}, 4, WSPROXY_E_WS_CONTROL_TOO_LONG, "close 256"},
            {{0x8A, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0}, 10, WSPROXY_E_WS_CONTROL_TOO_LONG,
             "pong 65536"},
            {{0x82, 0x7E, 0x00, 0x64}, 4, WSPROXY_E_WS_LENGTH_NONMINIMAL, "126-form 100"},
            {{0x82, 0x7E, 0x00, 0x7D}, 4, WSPROXY_E_WS_LENGTH_NONMINIMAL, "126-form 125"},
            {{0x02, 0x7E, 0x00, 0x00}, 4, WSPROXY_E_WS_LENGTH_NONMINIMAL, "126-form 0"},
            {{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 10, WSPROXY_E_WS_LENGTH_NONMINIMAL,
             "127-form 65535"},
            {{0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0x00, 0x7E}, 10, WSPROXY_E_WS_LENGTH_NONMINIMAL,
             "127-form 126"},
            {{0x80, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x05}, 10, WSPROXY_E_WS_LENGTH_NONMINIMAL,
             "127-form 5"},
            {{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, WSPROXY_E_WS_LENGTH_TOO_BIG,
             "127-form 2^63"},
            {{0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 10,
             WSPROXY_E_WS_LENGTH_TOO_BIG, "127-form all ones"},
        };
        wsproxy_frame_header h;
        int op;
        for (i = 0; i < sizeof errs / sizeof errs[0]; i++) {
            int pbad = 0;
            unsigned char buf[16];
            snprintf(case_buf, sizeof case_buf, "frame error %s", errs[i].what);
            TEST_CASE(case_buf);
            memcpy(buf, errs[i].b, errs[i].n);
            memset(buf + errs[i].n, 0, 4);
            CHECK_EQ_INT(wsproxy_frame_decode(errs[i].b, errs[i].n, &h), -errs[i].code);
            CHECK_EQ_INT(wsproxy_frame_decode(buf, errs[i].n + 4, &h), -errs[i].code);
            /* a prefix is either still incomplete or already the same violation */
            for (k = 0; k <= errs[i].n; k++) {
                int d = wsproxy_frame_decode(guard_place(errs[i].b, k), k, &h);
                if (d != 0 && d != -errs[i].code) pbad++;
                if (k == errs[i].n && d != -errs[i].code) pbad++;
            }
            CHECK_EQ_INT(pbad, 0);
        }
        for (op = 0; op < 16; op++) {
            unsigned char b[2];
            int fin2;
            if (op <= 2 || (op >= 8 && op <= 10)) continue;
            for (fin2 = 0; fin2 <= 1; fin2++) {
                snprintf(case_buf, sizeof case_buf, "frame reserved opcode %d fin %d", op, fin2);
                TEST_CASE(case_buf);
                b[0] = (unsigned char)((fin2 ? 0x80 : 0) | op);
                b[1] = 0x00;
                CHECK_EQ_INT(wsproxy_frame_decode(b, 2, &h), -WSPROXY_E_WS_OPCODE);
                CHECK_EQ_INT(wsproxy_frame_decode(guard_place(b, 2), 2, &h),
                             -WSPROXY_E_WS_OPCODE);
                {
                    int d = wsproxy_frame_decode(guard_place(b, 1), 1, &h);
                    CHECK(d == 0 || d == -WSPROXY_E_WS_OPCODE);
                }
            }
        }
        /* limits that are still fine */
        TEST_CASE("frame ping 125 ok");
        {
            static const unsigned char p125[] = {0x89, 0x7D}, c0[] = {0x88, 0x00};
            CHECK_EQ_INT(wsproxy_frame_decode(p125, 2, &h), 2);
            CHECK(h.payload_len == 125 && h.opcode == 9);
            CHECK_EQ_INT(wsproxy_frame_decode(c0, 2, &h), 2);
            CHECK(h.payload_len == 0 && h.opcode == 8 && h.fin == 1);
        }
    }
}

static void test_mask(void) {
    static const unsigned char key[4] = {0xA1, 0x5B, 0x03, 0xFE};
    unsigned char src[1200], ref[1200], a[1220], b[1220];
    size_t len, so, doff, o;
    int bad_ret = 0, bad_data = 0, bad_inplace = 0, bad_pieces = 0;
    test_seed(777);
    for (len = 0; len < sizeof src; len++) src[len] = (unsigned char)test_rand();
    TEST_CASE("mask lengths x alignments x offsets");
    /* every length through the short paths; then enough for several turns of the longest
       loops (256 bytes a turn) */
    for (len = 0; len <= 1140; len += (len < 140 ? 1 : 37)) {
        for (o = 0; o < 8; o++) {
            size_t i;
            for (i = 0; i < len; i++) ref[i] = (unsigned char)(src[i] ^ key[(o + i) % 4]);
            for (so = 0; so < 8; so++)   /* long payloads: the destination at every place of 64 bytes */
                for (doff = 0; doff < (len >= 128 ? 72u : 8u); doff++) {
                    size_t r;
                    memcpy(a + so, src, len);
                    memset(b, 0x55, sizeof b);
                    r = wsproxy_mask(b + doff, a + so, len, key, o);
                    if (r != (o + len) % 4) bad_ret++;
                    if (memcmp(b + doff, ref, len) != 0) bad_data++;
                    if (b[doff + len] != 0x55 || (doff && b[doff - 1] != 0x55)) bad_data++;
                    if (memcmp(a + so, src, len) != 0) bad_data++; /* src untouched */
                }
            for (so = 0; so < 8; so++) {
                size_t r;
                memcpy(a + so, src, len);
                r = wsproxy_mask(a + so, a + so, len, key, o);
                if (r != (o + len) % 4) bad_ret++;
                if (memcmp(a + so, ref, len) != 0) bad_inplace++;
            }
            /* in pieces, carrying the returned offset */
            for (so = 0; so < 6; so++) {
                size_t pos = 0, off = o, cut;
                int inplace = (int)(so & 1);
                memcpy(a + so, src, len);
                memset(b, 0, sizeof b);
                while (pos < len) {
                    cut = (size_t)(test_rand() % (len - pos + 1));
                    if (inplace) off = wsproxy_mask(a + so + pos, a + so + pos, cut, key, off);
                    else off = wsproxy_mask(b + 1 + pos, a + so + pos, cut, key, off);
                    pos += cut;
                }
                if (off != (len ? (o + len) % 4 : o)) bad_ret++; /* no call when len 0 */
                if (memcmp(inplace ? a + so : b + 1, ref, len) != 0) bad_pieces++;
            }
        }
    }
    CHECK_EQ_INT(bad_ret, 0);
    CHECK_EQ_INT(bad_data, 0);
    CHECK_EQ_INT(bad_inplace, 0);
    CHECK_EQ_INT(bad_pieces, 0);
    TEST_CASE("mask guard");
    {
        unsigned char *g = guard_place(src, 37);
        CHECK_EQ_INT(wsproxy_mask(b, g, 37, key, 2), (2 + 37) % 4);
        for (len = 0; len < 37; len++) ref[len] = (unsigned char)(src[len] ^ key[(2 + len) % 4]);
        CHECK_MEM(b, ref, 37);
        wsproxy_mask(g, g, 37, key, 2);
        CHECK_MEM(g, ref, 37);
    }
    TEST_CASE("long masks end at the last readable byte");   /* wide loads stop there too */
    {
        int bad = 0;
        for (len = 128; len < 1150; len += (len < 448 ? 1 : 61)) {   /* every length of the last block */
            unsigned char *g = guard_place(src, len);
            for (o = 0; o < len; o++) ref[o] = (unsigned char)(src[o] ^ key[(1 + o) % 4]);
            for (doff = 0; doff < 16; doff++) {   /* src whole words and not off dst's alignment */
                wsproxy_mask(b + doff, g, len, key, 1);
                if (memcmp(b + doff, ref, len) != 0) bad++;
            }
            wsproxy_mask(g, g, len, key, 1);   /* and the destination there */
            if (memcmp(g, ref, len) != 0) bad++;
        }
        CHECK_EQ_INT(bad, 0);
    }
    TEST_CASE("long masks read no byte outside src (ASan: heap blocks of the exact size)");
    {
        int bad = 0;
        for (len = 128; len < 1150; len += 13) {
            for (so = 0; so < 4; so++) {   /* src ends at each place of a 16-byte granule */
                unsigned char *h = (unsigned char *)malloc(len + so);
                if (!h) { bad++; continue; }
                memcpy(h + so, src, len);
                for (o = 0; o < len; o++) ref[o] = (unsigned char)(src[o] ^ key[(3 + o) % 4]);
                for (doff = 0; doff < 16; doff++) {
                    wsproxy_mask(b + doff, h + so, len, key, 3);
                    if (memcmp(b + doff, ref, len) != 0) bad++;
                }
                free(h);
            }
        }
        CHECK_EQ_INT(bad, 0);
    }
}

/* =============================== URL ========================================= */
static wsproxy_url url_last;

static void url_ok(const char *s, int scheme, const char *host, int htype, unsigned port,
                   int port_explicit, const char *path, const char *user, const char *pass) {
    size_t len = strlen(s);
    wsproxy_url u;
    int r;
    case_name("url ok", s, len);
    memset(&u, 0xA5, sizeof u);
    r = wsproxy_url_parse(s, len, &u);
    CHECK_EQ_INT(r, WSPROXY_OK);
    if (r != WSPROXY_OK) return;
    url_last = u;
    CHECK_EQ_INT(u.scheme, scheme);
    CHECK_EQ_INT(u.host_len, strlen(host));
    CHECK(inside(u.host, u.host_len, s, len) && memcmp(u.host, host, strlen(host)) == 0);
    CHECK_EQ_INT(u.host_type, htype);
    CHECK_EQ_INT(u.port, port);
    CHECK_EQ_INT(u.port_explicit, port_explicit);
    CHECK_EQ_INT(u.path_len, strlen(path));
    CHECK(u.path != NULL);
    if (*path) CHECK(inside(u.path, u.path_len, s, len) &&
                     memcmp(u.path, path, strlen(path)) == 0);
    if (user) {
        CHECK_EQ_INT(u.user_len, strlen(user));
        CHECK(inside(u.user, u.user_len, s, len) && memcmp(u.user, user, strlen(user)) == 0);
    } else {
        CHECK(u.user == NULL);
    }
    if (pass) {
        CHECK_EQ_INT(u.password_len, strlen(pass));
        CHECK(inside(u.password, u.password_len, s, len) &&
              memcmp(u.password, pass, strlen(pass)) == 0);
    } else {
        CHECK(u.password == NULL);
    }
    /* same result when the URL ends at the guard page */
    {
        const char *g = (const char *)guard_place(s, len);
        memset(&u, 0xA5, sizeof u);
        CHECK_EQ_INT(wsproxy_url_parse(g, len, &u), WSPROXY_OK);
        CHECK(u.host == g + (url_last.host - s) && u.host_len == url_last.host_len);
        CHECK_EQ_INT(u.port, port);
    }
}

/* code 0: any error */
static void url_err_n(const char *s, size_t len, int code) {
    wsproxy_url u, copy;
    int r;
    case_name("url err", s, len);
    memset(&u, 0xA5, sizeof u);
    copy = u;
    r = wsproxy_url_parse(s, len, &u);
    if (code) CHECK_EQ_INT(r, code);
    else CHECK(r != WSPROXY_OK);
    CHECK(memcmp(&u, &copy, sizeof u) == 0); /* filled only on success */
    memset(&u, 0xA5, sizeof u);
    r = wsproxy_url_parse((const char *)guard_place(s, len), len, &u);
    if (code) CHECK_EQ_INT(r, code);
    else CHECK(r != WSPROXY_OK);
}
static void url_err(const char *s, int code) { url_err_n(s, strlen(s), code); }

static void url_prefixes_guard(const char *s, size_t len) {
    /* every prefix at the page end: only "no crash" (and no OK with a bogus slice) */
    size_t k;
    int bad = 0;
    for (k = 0; k <= len; k++) {
        wsproxy_url u;
        const char *g = (const char *)guard_place(s, k);
        if (wsproxy_url_parse(g, k, &u) == WSPROXY_OK) {
            if (!inside(u.host, u.host_len, g, k)) bad++;
            if (u.path_len && !inside(u.path, u.path_len, g, k)) bad++;
        }
    }
    case_name("url prefixes at guard", s, len);
    CHECK_EQ_INT(bad, 0);
}

static void test_url(void) {
    char buf[4200];
    size_t i, p;
    static const char *const okurls[] = {
        "ws://example.com/chat", "WS://H", "wss://h:8443/x?y", "ws://[::1]/",
        "ws://[2001:db8::1]:8080", "http://us%40er:p%3Ass@h:3128", "proxy:3128",
        "ws://h?x", "socks5h://u:p@[::1]:1080", "ws://1.2.3.4:9/a",
    };

    /* schemes and default ports */
    url_ok("ws://example.com/chat", WSPROXY_SCHEME_WS, "example.com", WSPROXY_HOST_NAME, 80, 0,
           "/chat", NULL, NULL);
    url_ok("wss://example.com/chat", WSPROXY_SCHEME_WSS, "example.com", WSPROXY_HOST_NAME, 443,
           0, "/chat", NULL, NULL);
    url_ok("WS://Example.COM/", WSPROXY_SCHEME_WS, "Example.COM", WSPROXY_HOST_NAME, 80, 0, "/",
           NULL, NULL);
    url_ok("wSs://h", WSPROXY_SCHEME_WSS, "h", WSPROXY_HOST_NAME, 443, 0, "", NULL, NULL);
    url_ok("http://proxy", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 1080, 0, "", NULL,
           NULL);
    url_ok("HTTP://proxy", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 1080, 0, "", NULL,
           NULL);
    url_ok("https://proxy", WSPROXY_SCHEME_HTTPS, "proxy", WSPROXY_HOST_NAME, 443, 0, "", NULL,
           NULL);
    url_ok("HtTpS://proxy", WSPROXY_SCHEME_HTTPS, "proxy", WSPROXY_HOST_NAME, 443, 0, "", NULL,
           NULL);
    url_ok("socks4://p", WSPROXY_SCHEME_SOCKS4, "p", WSPROXY_HOST_NAME, 1080, 0, "", NULL, NULL);
    url_ok("socks4a://p", WSPROXY_SCHEME_SOCKS4A, "p", WSPROXY_HOST_NAME, 1080, 0, "", NULL,
           NULL);
    url_ok("Socks4A://p", WSPROXY_SCHEME_SOCKS4A, "p", WSPROXY_HOST_NAME, 1080, 0, "", NULL,
           NULL);
    url_ok("socks5://p", WSPROXY_SCHEME_SOCKS5, "p", WSPROXY_HOST_NAME, 1080, 0, "", NULL, NULL);
    url_ok("socks5h://p", WSPROXY_SCHEME_SOCKS5H, "p", WSPROXY_HOST_NAME, 1080, 0, "", NULL,
           NULL);
    url_ok("SOCKS5H://p", WSPROXY_SCHEME_SOCKS5H, "p", WSPROXY_HOST_NAME, 1080, 0, "", NULL,
           NULL);
    /* explicit ports */
    url_ok("ws://h:8080/x", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 8080, 1, "/x", NULL, NULL);
    url_ok("ws://h:80", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 80, 1, "", NULL, NULL);
    url_ok("ws://h:1", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 1, 1, "", NULL, NULL);
    url_ok("ws://h:65535/", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 65535, 1, "/", NULL,
           NULL);
    url_ok("http://proxy:3128", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 3128, 1, "",
           NULL, NULL);
    url_ok("http://proxy:3128/", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 3128, 1, "/",
           NULL, NULL);
    url_err("ws://h:0", WSPROXY_E_URL_PORT);
    url_err("ws://h:0/", WSPROXY_E_URL_PORT);
    url_err("ws://h:65536", WSPROXY_E_URL_PORT);
    url_err("ws://h:65536/x", WSPROXY_E_URL_PORT);
    url_err("ws://h:8o", WSPROXY_E_URL_PORT);
    url_err("ws://h:8o/", WSPROXY_E_URL_PORT);
    url_err("ws://h:4294967376/", WSPROXY_E_URL_PORT);  /* 2^32 + 80 */
    url_err("ws://h:99999999999999999999999/", WSPROXY_E_URL_PORT);
    url_err("http://proxy:0", WSPROXY_E_URL_PORT);
    url_err("ws://[::1]:65536/", WSPROXY_E_URL_PORT);
    /* IPv6 and IPv4 hosts */
    url_ok("ws://[::1]/", WSPROXY_SCHEME_WS, "::1", WSPROXY_HOST_IPV6, 80, 0, "/", NULL, NULL);
    CHECK(url_last.host_len == 3);
    url_ok("ws://[2001:db8::1]:8080", WSPROXY_SCHEME_WS, "2001:db8::1", WSPROXY_HOST_IPV6, 8080,
           1, "", NULL, NULL);
    url_ok("wss://[::ffff:1.2.3.4]/q", WSPROXY_SCHEME_WSS, "::ffff:1.2.3.4", WSPROXY_HOST_IPV6,
           443, 0, "/q", NULL, NULL);
    url_ok("http://[2001:DB8::8:800:200C:417A]:3128", WSPROXY_SCHEME_HTTP,
           "2001:DB8::8:800:200C:417A", WSPROXY_HOST_IPV6, 3128, 1, "", NULL, NULL);
    url_ok("ws://127.0.0.1:9000/", WSPROXY_SCHEME_WS, "127.0.0.1", WSPROXY_HOST_IPV4, 9000, 1,
           "/", NULL, NULL);
    url_ok("ws://1.2.3.4:9/a", WSPROXY_SCHEME_WS, "1.2.3.4", WSPROXY_HOST_IPV4, 9, 1, "/a",
           NULL, NULL);
    url_ok("http://10.0.0.1", WSPROXY_SCHEME_HTTP, "10.0.0.1", WSPROXY_HOST_IPV4, 1080, 0, "",
           NULL, NULL);
    url_ok("ws://a.example-host.org", WSPROXY_SCHEME_WS, "a.example-host.org",
           WSPROXY_HOST_NAME, 80, 0, "", NULL, NULL);
    url_ok("ws://localhost:1234", WSPROXY_SCHEME_WS, "localhost", WSPROXY_HOST_NAME, 1234, 1,
           "", NULL, NULL);
    /* path and query */
    url_ok("ws://h/a/b?x=1", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 80, 0, "/a/b?x=1", NULL,
           NULL);
    url_ok("ws://h:81/a/b?x=1&y=%20", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 81, 1,
           "/a/b?x=1&y=%20", NULL, NULL);
    url_ok("ws://h", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 80, 0, "", NULL, NULL);
    url_ok("ws://h?x", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 80, 0, "?x", NULL, NULL);
    url_ok("ws://h:99?x", WSPROXY_SCHEME_WS, "h", WSPROXY_HOST_NAME, 99, 1, "?x", NULL, NULL);
    url_ok("ws://[::1]?x", WSPROXY_SCHEME_WS, "::1", WSPROXY_HOST_IPV6, 80, 0, "?x", NULL, NULL);
    /* userinfo on proxies */
    url_ok("http://us%40er:p%3Ass@h:3128", WSPROXY_SCHEME_HTTP, "h", WSPROXY_HOST_NAME, 3128, 1,
           "", "us%40er", "p%3Ass");
    url_ok("http://user@proxy:8080", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 8080, 1,
           "", "user", NULL);
    url_ok("https://u:p@proxy", WSPROXY_SCHEME_HTTPS, "proxy", WSPROXY_HOST_NAME, 443, 0, "",
           "u", "p");
    url_ok("socks5h://u:p@[::1]:1080", WSPROXY_SCHEME_SOCKS5H, "::1", WSPROXY_HOST_IPV6, 1080,
           1, "", "u", "p");
    url_ok("http://u:p@1.2.3.4:3128/", WSPROXY_SCHEME_HTTP, "1.2.3.4", WSPROXY_HOST_IPV4, 3128,
           1, "/", "u", "p");
    /* proxy without a scheme */
    url_ok("proxy:3128", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 3128, 1, "", NULL,
           NULL);
    url_ok("proxy", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 1080, 0, "", NULL, NULL);
    url_ok("10.1.2.3:8080", WSPROXY_SCHEME_HTTP, "10.1.2.3", WSPROXY_HOST_IPV4, 8080, 1, "",
           NULL, NULL);
    url_ok("[::1]:3128", WSPROXY_SCHEME_HTTP, "::1", WSPROXY_HOST_IPV6, 3128, 1, "", NULL,
           NULL);
    url_ok("user:pw@proxy:3128", WSPROXY_SCHEME_HTTP, "proxy", WSPROXY_HOST_NAME, 3128, 1, "",
           "user", "pw");
    /* errors */
    url_err("ws://u:p@h/", WSPROXY_E_URL_USERINFO);
    url_err("ws://u@h/", WSPROXY_E_URL_USERINFO);
    url_err("wss://u:p@h:443/x", WSPROXY_E_URL_USERINFO);
    url_err("ws://h/#f", WSPROXY_E_URL_FRAGMENT);
    url_err("ws://h/a#", WSPROXY_E_URL_FRAGMENT);
    url_err("wss://h#x", WSPROXY_E_URL_FRAGMENT);
    url_err("ws://h/a?b#c", WSPROXY_E_URL_FRAGMENT);
    url_err("ws://", WSPROXY_E_URL_HOST);
    url_err("ws:///path", WSPROXY_E_URL_HOST);
    url_err("ws://:80/", WSPROXY_E_URL_HOST);
    url_err("ws://?x", WSPROXY_E_URL_HOST);
    url_err("http://", WSPROXY_E_URL_HOST);
    url_err("http://u:p@:3128", WSPROXY_E_URL_HOST);
    url_err("ws://[::1", WSPROXY_E_URL_HOST);
    url_err("ws://[::1/x", WSPROXY_E_URL_HOST);
    url_err("ws://[", WSPROXY_E_URL_HOST);
    url_err("ws://[]/", WSPROXY_E_URL_HOST);
    url_err("ws://[1:2:3:4:5:6:7:8:9]/", WSPROXY_E_URL_HOST);
    url_err("ws://[1:2:3:4:5:6:7:8:9]", WSPROXY_E_URL_HOST);
    url_err("ws://[1::2::3]/", WSPROXY_E_URL_HOST);
    url_err("ws://[::g]/", WSPROXY_E_URL_HOST);
    url_err("ws://[1.2.3.4]/", WSPROXY_E_URL_HOST);
    url_err("ws://[fe80::1%25eth0]/", WSPROXY_E_URL_HOST);
    url_err("ws://[::1]x/", 0);
    url_err("ftp://h/", WSPROXY_E_URL_SCHEME);
    url_err("ftp://h", WSPROXY_E_URL_SCHEME);
    url_err("wsx://h/", WSPROXY_E_URL_SCHEME);
    url_err("http://proxy:3128/x", 0);
    url_err("http://proxy/path", 0);
    url_err("socks5://proxy:1080/x", 0);
    url_err("proxy:3128/x", 0);
    /* CR, LF, NUL, space, tab, control, DEL and non-ASCII at every position */
    {
        static const char bad[] = {'\r', '\n', '\0', ' ', '\t', '\x01', '\x1f', '\x7f',
                                   '\x80', '\xff'};
        static const char *const bases[] = {"ws://host:80/p?q", "http://u:p@proxy:3128",
                                            "ws://[::1]/"};
        size_t bi, ci;
        for (bi = 0; bi < 3; bi++) {
            size_t bl = strlen(bases[bi]);
            for (ci = 0; ci < sizeof bad; ci++)
                for (p = 0; p <= bl; p++) {
                    memcpy(buf, bases[bi], p);
                    buf[p] = bad[ci];
                    memcpy(buf + p + 1, bases[bi] + p, bl - p);
                    url_err_n(buf, bl + 1, WSPROXY_E_URL_CHAR);
                }
        }
    }
    url_err_n("ws://h/a\0b", 10, WSPROXY_E_URL_CHAR);
    /* length limit */
    memcpy(buf, "ws://h/", 7);
    memset(buf + 7, 'a', sizeof buf - 7);
    {
        wsproxy_url u;
        TEST_CASE("url exactly WSPROXY_MAX_URL_BYTES");
        CHECK_EQ_INT(wsproxy_url_parse(buf, WSPROXY_MAX_URL_BYTES, &u), WSPROXY_OK);
        CHECK_EQ_INT(u.path_len, WSPROXY_MAX_URL_BYTES - 6);
    }
    url_err_n(buf, WSPROXY_MAX_URL_BYTES + 1, WSPROXY_E_URL_TOO_LONG);
    url_err_n(buf, WSPROXY_MAX_URL_BYTES + 1000, WSPROXY_E_URL_TOO_LONG);
    /* every prefix of assorted URLs ending at the guard page */
    for (i = 0; i < sizeof okurls / sizeof okurls[0]; i++)
        url_prefixes_guard(okurls[i], strlen(okurls[i]));
    {
        static const char *const more[] = {"ws://[1:2:3:4:5:6:7:8:9]/",
                                           "ws://h:99999999999999999999999/",
                                           "http://a%zz:b%4@h", "ws://[::1", "ws://h/#x"};
        for (i = 0; i < sizeof more / sizeof more[0]; i++)
            url_prefixes_guard(more[i], strlen(more[i]));
    }
}

static void test_percent(void) {
    char out[64];
    size_t n;
    int r, k, bad;
    static const char *const bads[] = {"%4", "%", "%zz", "%4g", "%g4", "a%", "ab%2",
                                       "%0D", "%0d", "%0A", "%0a", "%00", "x%0Dy"};
    TEST_CASE("percent %41%62");
    n = 99;
    CHECK_EQ_INT(wsproxy_percent_decode("%41%62", 6, out, sizeof out, &n), WSPROXY_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_MEM(out, "Ab", 2);
    TEST_CASE("percent plain and mixed case");
    CHECK_EQ_INT(wsproxy_percent_decode("us%40er", 7, out, sizeof out, &n), WSPROXY_OK);
    CHECK(n == 5 && memcmp(out, "us@er", 5) == 0);
    CHECK_EQ_INT(wsproxy_percent_decode("p%3ass%3A", 9, out, sizeof out, &n), WSPROXY_OK);
    CHECK(n == 5 && memcmp(out, "p:ss:", 5) == 0);
    CHECK_EQ_INT(wsproxy_percent_decode("a+b", 3, out, sizeof out, &n), WSPROXY_OK);
    CHECK(n == 3 && memcmp(out, "a+b", 3) == 0);
    CHECK_EQ_INT(wsproxy_percent_decode("%25%2525", 8, out, sizeof out, &n), WSPROXY_OK);
    CHECK(n == 4 && memcmp(out, "%%25", 4) == 0);
    CHECK_EQ_INT(wsproxy_percent_decode("%C3%A9%ff", 9, out, sizeof out, &n), WSPROXY_OK);
    CHECK(n == 3 && memcmp(out, "\xC3\xA9\xFF", 3) == 0);
    TEST_CASE("percent empty");
    n = 99;
    CHECK_EQ_INT(wsproxy_percent_decode("", 0, out, sizeof out, &n), WSPROXY_OK);
    CHECK_EQ_INT(n, 0);
    TEST_CASE("percent len-bounded");
    CHECK_EQ_INT(wsproxy_percent_decode("%41%6", 3, out, sizeof out, &n), WSPROXY_OK);
    CHECK(n == 1 && out[0] == 'A');
    for (k = 0; k < (int)(sizeof bads / sizeof bads[0]); k++) {
        case_name("percent bad", bads[k], strlen(bads[k]));
        CHECK_EQ_INT(wsproxy_percent_decode(bads[k], strlen(bads[k]), out, sizeof out, &n),
                     WSPROXY_E_URL_USERINFO);
        CHECK_EQ_INT(wsproxy_percent_decode((const char *)guard_place(bads[k], strlen(bads[k])),
                                            strlen(bads[k]), out, sizeof out, &n),
                     WSPROXY_E_URL_USERINFO);
    }
    TEST_CASE("percent cap");
    memset(out, '#', sizeof out);
    CHECK_EQ_INT(wsproxy_percent_decode("abc", 3, out, 2, &n), WSPROXY_E_URL_USERINFO);
    CHECK(out[2] == '#');
    CHECK_EQ_INT(wsproxy_percent_decode("%41%62%63", 9, out, 2, &n), WSPROXY_E_URL_USERINFO);
    CHECK(out[2] == '#');
    CHECK_EQ_INT(wsproxy_percent_decode("abc", 3, out, 0, &n), WSPROXY_E_URL_USERINFO);
    /* exactly enough room (no NUL is promised) */
    CHECK_EQ_INT(wsproxy_percent_decode("%41%62%63", 9, out, 3, &n), WSPROXY_OK);
    CHECK(n == 3 && memcmp(out, "Abc", 3) == 0);
    TEST_CASE("percent prefixes at guard");
    bad = 0;
    for (k = 0; k <= 9; k++) {
        r = wsproxy_percent_decode((const char *)guard_place("%41%62%63", (size_t)k),
                                   (size_t)k, out, sizeof out, &n);
        if ((k % 3 == 0) != (r == WSPROXY_OK)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

static void ip4_ok(const char *s, unsigned a, unsigned b, unsigned c, unsigned d) {
    unsigned char out[4], exp[4];
    size_t n = strlen(s);
    exp[0] = (unsigned char)a; exp[1] = (unsigned char)b;
    exp[2] = (unsigned char)c; exp[3] = (unsigned char)d;
    case_name("ipv4 ok", s, n);
    memset(out, 0xEE, 4);
    CHECK_EQ_INT(wsproxy_parse_ipv4(s, n, out), 1);
    CHECK_MEM(out, exp, 4);
    memset(out, 0xEE, 4);
    CHECK_EQ_INT(wsproxy_parse_ipv4((const char *)guard_place(s, n), n, out), 1);
    CHECK_MEM(out, exp, 4);
}
static void ip4_bad(const char *s) {
    unsigned char out[4];
    size_t n = strlen(s);
    case_name("ipv4 bad", s, n);
    CHECK_EQ_INT(wsproxy_parse_ipv4(s, n, out), 0);
    CHECK_EQ_INT(wsproxy_parse_ipv4((const char *)guard_place(s, n), n, out), 0);
}
static void ip6_ok(const char *s, const char *hex) {
    unsigned char out[16], exp[16];
    size_t n = strlen(s), k;
    int bad = 0;
    hex2bin(hex, exp);
    case_name("ipv6 ok", s, n);
    memset(out, 0xEE, 16);
    CHECK_EQ_INT(wsproxy_parse_ipv6(s, n, out), 1);
    CHECK_MEM(out, exp, 16);
    memset(out, 0xEE, 16);
    CHECK_EQ_INT(wsproxy_parse_ipv6((const char *)guard_place(s, n), n, out), 1);
    CHECK_MEM(out, exp, 16);
    for (k = 0; k < n; k++) /* prefixes: no crash */
        bad += wsproxy_parse_ipv6((const char *)guard_place(s, k), k, out) < 0;
    CHECK_EQ_INT(bad, 0);
}
static void ip6_bad(const char *s) {
    unsigned char out[16];
    size_t n = strlen(s);
    case_name("ipv6 bad", s, n);
    CHECK_EQ_INT(wsproxy_parse_ipv6(s, n, out), 0);
    CHECK_EQ_INT(wsproxy_parse_ipv6((const char *)guard_place(s, n), n, out), 0);
}

static void test_ip(void) {
    unsigned char out[16];
    ip4_ok("1.2.3.4", 1, 2, 3, 4);
    ip4_ok("0.0.0.0", 0, 0, 0, 0);
    ip4_ok("255.255.255.255", 255, 255, 255, 255);
    ip4_ok("192.168.100.200", 192, 168, 100, 200);
    ip4_ok("10.0.0.1", 10, 0, 0, 1);
    ip4_bad("1.2.3");
    ip4_bad("256.1.1.1");
    ip4_bad("1.2.3.256");
    ip4_bad("1.2.3.1000");
    ip4_bad("1.2.3.4.5");
    ip4_bad("");
    ip4_bad("1.2.3.");
    ip4_bad(".1.2.3");
    ip4_bad("1..2.3");
    ip4_bad("a.b.c.d");
    ip4_bad("1.2.3.4 ");
    ip4_bad(" 1.2.3.4");
    ip4_bad("1.2.3.-1");
    ip4_bad("1.2.3.0x1");
    ip4_bad("4294967297.1.1.1");
    ip4_bad("::1");
    ip4_bad("localhost");
    TEST_CASE("ipv4 len-bounded");
    CHECK_EQ_INT(wsproxy_parse_ipv4("1.2.3.4", 5, out), 0);
    CHECK_EQ_INT(wsproxy_parse_ipv4("1.2.3.45", 7, out), 1);
    CHECK(out[3] == 4);

    ip6_ok("::", "00000000000000000000000000000000");
    ip6_ok("::1", "00000000000000000000000000000001");
    ip6_ok("1::", "00010000000000000000000000000000");
    ip6_ok("2001:db8::1", "20010db8000000000000000000000001");
    ip6_ok("2001:DB8:0:0:8:800:200C:417A", "20010db80000000000080800200c417a"); /* RFC 4291 */
    ip6_ok("2001:DB8::8:800:200C:417A", "20010db80000000000080800200c417a");
    ip6_ok("FF01::101", "ff010000000000000000000000000101");
    ip6_ok("1:2:3:4:5:6:7:8", "00010002000300040005000600070008");
    ip6_ok("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffffffffffffffffffffffffffffffff");
    ip6_ok("fe80::", "fe800000000000000000000000000000");
    ip6_ok("1:2:3:4:5:6:7::", "00010002000300040005000600070000");
    ip6_ok("::2:3:4:5:6:7:8", "00000002000300040005000600070008");
    ip6_ok("0:0:0:0:0:0:0:1", "00000000000000000000000000000001");
    ip6_ok("::ffff:1.2.3.4", "00000000000000000000ffff01020304");
    ip6_ok("::FFFF:129.144.52.38", "00000000000000000000ffff81903426"); /* RFC 4291 */
    ip6_ok("::13.1.68.3", "0000000000000000000000000d014403");       /* RFC 4291 */
    ip6_ok("1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304");
    ip6_ok("0001:0002::000a", "0001000200000000000000000000000a");
    ip6_bad("1::2::3");
    ip6_bad("12345::");
    ip6_bad(":::");
    ip6_bad("");
    ip6_bad(":");
    ip6_bad("1:");
    ip6_bad(":1");
    ip6_bad(":1::");
    ip6_bad("1::2:");
    ip6_bad("::g");
    ip6_bad("1:2:3:4:5:6:7");
    ip6_bad("1:2:3:4:5:6:7:8:9");
    ip6_bad("1:2:3:4:5:6:7:8::");
    ip6_bad("::1:2:3:4:5:6:7:8");
    ip6_bad("::1.2.3");
    ip6_bad("::1.2.3.4:5");
    ip6_bad("::ffff:256.1.1.1");
    ip6_bad("1:2:3:4:5:6:7:1.2.3.4");
    ip6_bad("[::1]");
    ip6_bad("fe80::1%eth0");
    ip6_bad("1.2.3.4");
    ip6_bad(" ::1");
    ip6_bad("::1 ");
    TEST_CASE("ipv6 len-bounded");
    CHECK_EQ_INT(wsproxy_parse_ipv6("::1x", 3, out), 1);
    CHECK(out[15] == 1);
}

/* =============================== HTTP ======================================== */
typedef struct {
    int ret, minor, status;
    const char *reason;
    size_t reason_len;
    wsproxy_header h[130];
    size_t nh;
} http_res;

static int http_parse(const char *buf, size_t len, size_t cap, http_res *r) {
    r->minor = -7; r->status = -7; r->reason = NULL; r->reason_len = 12345;
    memset(r->h, 0xC5, sizeof r->h);
    r->nh = cap;
    r->ret = wsproxy_parse_response(buf, len, &r->minor, &r->status, &r->reason,
                                    &r->reason_len, r->h, &r->nh);
    return r->ret;
}

static int eq_slice(const char *p, size_t n, const char *s) {
    return n == strlen(s) && (n == 0 || memcmp(p, s, n) == 0);
}

static http_res hr;

/* Parses head (head_len bytes) followed by tail: expects head_len; checks that all
   slices point inside the head and that every proper prefix is INCOMPLETE, also at the
   guard page. */
static void http_ok(const char *name, const char *head, size_t head_len, const char *tail,
                    size_t tail_len, int minor, int status, const char *reason, size_t nh) {
    static char buf[20000];
    size_t k;
    int bad = 0;
    TEST_CASE(name);
    memcpy(buf, head, head_len);
    memcpy(buf + head_len, tail, tail_len);
    CHECK_EQ_INT(http_parse(buf, head_len + tail_len, 64, &hr), (int)head_len);
    if (hr.ret != (int)head_len) return;
    CHECK_EQ_INT(hr.minor, minor);
    CHECK_EQ_INT(hr.status, status);
    CHECK(eq_slice(hr.reason, hr.reason_len, reason));
    if (hr.reason_len) CHECK(inside(hr.reason, hr.reason_len, buf, head_len));
    CHECK_EQ_INT(hr.nh, nh);
    for (k = 0; k < hr.nh && k < 64; k++) {
        if (!inside(hr.h[k].name, hr.h[k].name_len, buf, head_len)) bad++;
        if (hr.h[k].value_len && !inside(hr.h[k].value, hr.h[k].value_len, buf, head_len))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    bad = 0;
    for (k = 0; k < head_len; k++) {
        http_res r2;
        if (http_parse(buf, k, 64, &r2) != WSPROXY_HTTP_INCOMPLETE) bad++;
        if (http_parse((const char *)guard_place(buf, k), k, 64, &r2) != WSPROXY_HTTP_INCOMPLETE)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* at the guard page, exactly the head */
    {
        http_res r2;
        const char *g = (const char *)guard_place(buf, head_len);
        CHECK_EQ_INT(http_parse(g, head_len, 64, &r2), (int)head_len);
        CHECK_EQ_INT(r2.nh, nh);
        if (r2.reason_len) CHECK(inside(r2.reason, r2.reason_len, g, head_len));
    }
    /* re-parse in buf so hr's slices point into buf for the caller */
    http_parse(buf, head_len + tail_len, 64, &hr);
}
#define HTTP_OK(name, lit, tail, minor, status, reason, nh) \
    http_ok(name, lit, sizeof(lit) - 1, tail, sizeof(tail) - 1, minor, status, reason, nh)

static int hdr_is(size_t i, const char *name, const char *value) {
    return i < hr.nh && eq_slice(hr.h[i].name, hr.h[i].name_len, name) &&
           eq_slice(hr.h[i].value, hr.h[i].value_len, value);
}

static void http_code(const char *name, const char *s, size_t len, size_t cap, int code) {
    http_res r;
    size_t k;
    TEST_CASE(name);
    CHECK_EQ_INT(http_parse(s, len, cap, &r), code);
    CHECK_EQ_INT(http_parse((const char *)guard_place(s, len), len, cap, &r), code);
    for (k = 0; k < len; k++) /* prefixes at the guard page: only "no crash" */
        (void)http_parse((const char *)guard_place(s, k), k, cap, &r);
}
#define HTTP_ERR(lit) http_code("http malformed: " lit, lit, sizeof(lit) - 1, 64, \
                                WSPROXY_HTTP_ERROR)

/* complete head of exactly total bytes (total >= 40): status line, X-Fill headers of
   <= 1000 bytes per line, blank line. Returns the number of header lines. */
static size_t build_head(char *buf, size_t total) {
    size_t o = 0, rem, nh = 0;
    memcpy(buf, "HTTP/1.1 200 OK\r\n", 17);
    o = 17;
    rem = total - 17 - 2;
    while (rem > 0) {
        size_t line = rem > 1000 ? 1000 : rem;
        if (rem > 1000 && rem - 1000 < 12) line = 900;
        memcpy(buf + o, "X-Fill: ", 8);
        memset(buf + o + 8, 'v', line - 10);
        memcpy(buf + o + line - 2, "\r\n", 2);
        o += line; rem -= line; nh++;
    }
    memcpy(buf + o, "\r\n", 2);
    return nh;
}

static void test_http(void) {
    static char big[20000];
    size_t i, nh, o;
    http_res r;

    HTTP_OK("http 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            "\x81\x05Hello", 1, 101, "Switching Protocols", 3);
    CHECK(hdr_is(0, "Upgrade", "websocket"));
    CHECK(hdr_is(1, "Connection", "Upgrade"));
    CHECK(hdr_is(2, "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    HTTP_OK("http 1.0 200 OK", "HTTP/1.0 200 OK\r\n\r\n", "", 0, 200, "OK", 0);
    HTTP_OK("http followed by another response", "HTTP/1.1 200 Connection established\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n", 1, 200, "Connection established", 0);
    HTTP_OK("http no reason", "HTTP/1.1 200\r\n\r\n", "", 1, 200, "", 0);
    HTTP_OK("http empty reason", "HTTP/1.1 200 \r\n\r\n", "", 1, 200, "", 0);
    HTTP_OK("http bare LF", "HTTP/1.1 200 Connection established\n\n", "xyz", 1, 200,
            "Connection established", 0);
    HTTP_OK("http bare LF headers", "HTTP/1.1 200 OK\nServer: x\nVia: 1.1 p\n\n", "", 1, 200,
            "OK", 2);
    CHECK(hdr_is(0, "Server", "x"));
    CHECK(hdr_is(1, "Via", "1.1 p"));
    HTTP_OK("http mixed line ends", "HTTP/1.1 204 No Content\r\nA: b\n\r\n", "", 1, 204,
            "No Content", 1);
    CHECK(hdr_is(0, "A", "b"));
    HTTP_OK("http trimmed values", "HTTP/1.1 200 OK\r\nX-A: \t v a l \t \r\nX-Empty:\r\n"
            "X-Blank:   \r\nX-Tab:\tt\r\nX-Tight:t\r\n\r\n", "", 1, 200, "OK", 5);
    CHECK(hdr_is(0, "X-A", "v a l"));
    CHECK(hdr_is(1, "X-Empty", ""));
    CHECK(hdr_is(2, "X-Blank", ""));
    CHECK(hdr_is(3, "X-Tab", "t"));
    CHECK(hdr_is(4, "X-Tight", "t"));
    HTTP_OK("http 407", "HTTP/1.1 407 Proxy Authentication Required\r\n"
            "Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
            "Proxy-Authenticate: Digest realm=\"p\", nonce=\"abc\"\r\n"
            "Content-Length: 0\r\n\r\n", "", 1, 407, "Proxy Authentication Required", 3);
    CHECK(hdr_is(0, "Proxy-Authenticate", "Basic realm=\"proxy\""));
    CHECK(hdr_is(1, "Proxy-Authenticate", "Digest realm=\"p\", nonce=\"abc\""));
    CHECK(hdr_is(2, "Content-Length", "0"));
    HTTP_OK("http status 599 reason with tab", "HTTP/1.1 599 a\tb c\r\n\r\n", "", 1, 599,
            "a\tb c", 0);
    HTTP_OK("http 100", "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", 1, 100,
            "Continue", 0);

    /* many headers vs capacity */
    for (i = 0; i < 4; i++) {
        static const size_t counts[] = {64, 64, 3, 0}, caps[] = {64, 100, 3, 0};
        size_t k;
        o = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
        for (k = 0; k < counts[i]; k++) o += (size_t)sprintf(big + o, "H%u: v%u\r\n",
                                                             (unsigned)k, (unsigned)k);
        o += (size_t)sprintf(big + o, "\r\n");
        snprintf(case_buf, sizeof case_buf, "http %u headers cap %u", (unsigned)counts[i],
                 (unsigned)caps[i]);
        TEST_CASE(case_buf);
        CHECK_EQ_INT(http_parse(big, o, caps[i], &r), (int)o);
        CHECK_EQ_INT(r.nh, counts[i]);
        if (counts[i] && r.nh == counts[i]) {
            char v[16];
            sprintf(v, "v%u", (unsigned)(counts[i] - 1));
            CHECK(eq_slice(r.h[counts[i] - 1].value, r.h[counts[i] - 1].value_len, v));
        }
    }
    for (i = 0; i < 4; i++) {
        static const size_t counts[] = {65, 65, 4, 1}, caps[] = {100, 64, 3, 0};
        size_t k;
        wsproxy_header sentinel;
        o = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
        for (k = 0; k < counts[i]; k++) o += (size_t)sprintf(big + o, "H%u: v%u\r\n",
                                                             (unsigned)k, (unsigned)k);
        o += (size_t)sprintf(big + o, "\r\n");
        snprintf(case_buf, sizeof case_buf, "http %u headers cap %u -> too large",
                 (unsigned)counts[i], (unsigned)caps[i]);
        TEST_CASE(case_buf);
        CHECK_EQ_INT(http_parse(big, o, caps[i], &r), WSPROXY_HTTP_TOO_LARGE);
        memset(&sentinel, 0xC5, sizeof sentinel);
        if (caps[i] < 64) /* nothing written past the caller's capacity */
            CHECK(memcmp(&r.h[caps[i]], &sentinel, sizeof sentinel) == 0);
        CHECK_EQ_INT(http_parse((const char *)guard_place(big, o), o, caps[i], &r),
                     WSPROXY_HTTP_TOO_LARGE);
    }

    /* head size limit */
    nh = build_head(big, WSPROXY_MAX_HEAD_BYTES);
    TEST_CASE("http head of exactly WSPROXY_MAX_HEAD_BYTES");
    CHECK_EQ_INT(http_parse(big, WSPROXY_MAX_HEAD_BYTES, 64, &r), WSPROXY_MAX_HEAD_BYTES);
    CHECK_EQ_INT(r.nh, nh);
    memset(big + WSPROXY_MAX_HEAD_BYTES, 'z', 1000);
    CHECK_EQ_INT(http_parse(big, WSPROXY_MAX_HEAD_BYTES + 1000, 64, &r),
                 WSPROXY_MAX_HEAD_BYTES);
    build_head(big, WSPROXY_MAX_HEAD_BYTES + 1);
    http_code("http complete head of MAX_HEAD_BYTES + 1", big, WSPROXY_MAX_HEAD_BYTES + 1, 64,
              WSPROXY_HTTP_TOO_LARGE);
    build_head(big, 12000);
    http_code("http incomplete head of 9000 bytes", big, 9000, 64, WSPROXY_HTTP_TOO_LARGE);
    http_code("http incomplete head of 4500 bytes", big, 4500, 64, WSPROXY_HTTP_INCOMPLETE);
    http_code("http complete head of 12000", big, 12000, 64, WSPROXY_HTTP_TOO_LARGE);
    /* line limit */
    o = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nX-Long: ");
    memset(big + o, 'a', 5000); o += 5000;
    http_code("http incomplete 5000-byte header line", big, o, 64, WSPROXY_HTTP_TOO_LARGE);
    memcpy(big + o, "\r\n\r\n", 4);
    http_code("http complete 5000-byte header line", big, o + 4, 64, WSPROXY_HTTP_TOO_LARGE);
    o = (size_t)sprintf(big, "HTTP/1.1 200 ");
    memset(big + o, 'r', 5000); o += 5000;
    memcpy(big + o, "\r\n\r\n", 4);
    http_code("http 5000-byte status line", big, o + 4, 64, WSPROXY_HTTP_TOO_LARGE);
    http_code("http 5000-byte status line incomplete", big, o, 64, WSPROXY_HTTP_TOO_LARGE);

    /* malformed */
    HTTP_ERR("HTTP/2 200 OK\r\n\r\n");
    HTTP_ERR("HTTX/1.1 200 OK\r\n\r\n");
    HTTP_ERR("HTTP/1.1 20\r\n\r\n");
    HTTP_ERR("HTTP/1.1 20 OK\r\n\r\n");
    HTTP_ERR("HTTP/1.1 2000 x\r\n\r\n");
    HTTP_ERR("HTTP/1.1 2x0 OK\r\n\r\n");
    HTTP_ERR("HTTP/1.1200 OK\r\n\r\n");
    HTTP_ERR("HTTP/1. 200 OK\r\n\r\n");
    HTTP_ERR("HTTP/x.1 200 OK\r\n\r\n");
    HTTP_ERR("GET / HTTP/1.1\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nName : v\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nName\t: v\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\n: v\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\n A: b\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nA\0B: c\r\n\r\n");
    HTTP_ERR("HTTP/1.1 200 OK\r\nA: \0\r\n\r\n");
}

int main(void) {
    guard_init();
    test_seed(1);
    test_sha1();
    test_base64();
    test_accept_key();
    test_utf8();
    test_frames();
    test_mask();
    test_url();
    test_percent();
    test_ip();
    test_http();
    return test_summary();
}
