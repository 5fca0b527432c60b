/* wsproxy_no_proxy_match: the NO_PROXY list matcher.
   Input: the list, a 0x00 byte, the host (no 0x00 byte: the list is a C string).
   Invariants: the result is 0 or 1 and equals a reference matcher written here from the
   documented rules (comma-separated entries, blanks trimmed, "*" for all, one leading
   "." or "*." and one trailing "." ignored on names, suffix match on a label boundary,
   case-insensitive; IP entries with an optional /prefix match IP hosts of the same
   family only, checked with inet_pton); and these properties: adding entries never
   loses a match, "*" always matches, a name host matches in any letter case and with
   one trailing dot, a matching name host still matches under a sub-domain, an IPv6
   host matches the same with or without brackets, an empty list matches nothing.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 1024 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include "fuzz_common.h"

static int blank(int ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

/* family 4/6 with addr and bits, or 0 */
static int ref_net(const char *e, size_t len, unsigned char addr[16], unsigned *bits)
{
    char tmp[80];
    size_t alen = len, i;
    unsigned v = 0, max;
    int fam = 0;
    const char *slash = memchr(e, '/', len);
    if (slash) alen = (size_t)(slash - e);
    if (alen + 1 > sizeof tmp) return 0;
    if (alen >= 2 && e[0] == '[' && e[alen - 1] == ']') {
        memcpy(tmp, e + 1, alen - 2); tmp[alen - 2] = 0;
        if (inet_pton(AF_INET6, tmp, addr) == 1 && strlen(tmp) == alen - 2) fam = 6;
        else return 0;
    } else {
        memcpy(tmp, e, alen); tmp[alen] = 0;
        if (strlen(tmp) != alen) return 0;
        if (inet_pton(AF_INET, tmp, addr) == 1) fam = 4;
        else if (inet_pton(AF_INET6, tmp, addr) == 1) fam = 6;
        else return 0;
    }
    max = fam == 4 ? 32 : 128;
    if (!slash) { *bits = max; return fam; }
    if (len - alen - 1 < 1 || len - alen - 1 > 3) return 0;
    for (i = alen + 1; i < len; i++) {
        if (!isdigit((unsigned char)e[i])) return 0;
        v = v * 10 + (unsigned)(e[i] - '0');
    }
    if (v > max) return 0;
    *bits = v;
    return fam;
}

static int ref_in_net(const unsigned char *a, const unsigned char *n, unsigned bits)
{
    unsigned i;
    for (i = 0; i < bits; i++) {
        int ba = (a[i / 8] >> (7 - i % 8)) & 1, bn = (n[i / 8] >> (7 - i % 8)) & 1;
        if (ba != bn) return 0;
    }
    return 1;
}

static int ieq(const char *a, const char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
    return 1;
}

static int ref_match(const char *list, const char *host, size_t hlen)
{
    unsigned char ha[16];
    char tmp[80];
    int hfam = 0;
    const char *p = list;
    if (!list || !*list) return 0;
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') { host++; hlen -= 2; }
    if (hlen < sizeof tmp && !memchr(host, 0, hlen)) {
        memcpy(tmp, host, hlen); tmp[hlen] = 0;
        if (inet_pton(AF_INET, tmp, ha) == 1) hfam = 4;
        else if (inet_pton(AF_INET6, tmp, ha) == 1) hfam = 6;
    }
    if (!hfam && hlen && host[hlen - 1] == '.') hlen--;
    if (!hlen) return 0;
    while (*p) {
        const char *e = p, *q = p;
        size_t len;
        while (*q && *q != ',') q++;
        len = (size_t)(q - e);
        p = *q ? q + 1 : q;
        while (len && blank((unsigned char)*e)) { e++; len--; }
        while (len && blank((unsigned char)e[len - 1])) len--;
        if (len == 1 && *e == '*') return 1;
        {
            size_t i;
            int inside = 0;
            unsigned char na[16];
            unsigned bits;
            int efam;
            for (i = 0; i < len; i++) if (blank((unsigned char)e[i])) inside = 1;
            if (!len || inside) continue;
            efam = ref_net(e, len, na, &bits);
            if (hfam) { if (efam == hfam && ref_in_net(ha, na, bits)) return 1; continue; }
            if (efam) continue;
            if (len >= 2 && e[0] == '*' && e[1] == '.') { e++; len--; }
            if (len && e[len - 1] == '.') len--;
            if (len && e[0] == '.') { e++; len--; }
            if (!len) continue;
            if (len == hlen && ieq(e, host, len)) return 1;
            if (len < hlen && host[hlen - len - 1] == '.' && ieq(e, host + hlen - len, len)) return 1;
        }
    }
    return 0;
}

static int is_ip(const char *h, size_t n)
{
    unsigned char a[16];
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { h++; n -= 2; }
    return wsproxy_parse_ipv4(h, n, a) || wsproxy_parse_ipv6(h, n, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = (const uint8_t *)memchr(data, 0, size);
    char *list, *host, *buf;
    size_t llen, hlen, i;
    int r, ref;
    if (!sep) return 0;
    llen = (size_t)(sep - data);
    hlen = size - llen - 1;
    if (memchr(sep + 1, 0, hlen)) return 0;
    list = (char *)fuzz_dup(data, llen + 1);
    list[llen] = 0;
    host = (char *)fuzz_dup(sep + 1, hlen);   /* not NUL-terminated: length only */
    r = wsproxy_no_proxy_match(list, host, hlen);
    FUZZ_CHECK(r == 0 || r == 1);
    ref = ref_match(list, host, hlen);
    if (r != ref) {
        fprintf(stderr, "list \"%s\" host \"%.*s\": library %d, reference %d\n", list, (int)hlen, host, r, ref);
        FUZZ_CHECK(r == ref);
    }
    FUZZ_CHECK(wsproxy_no_proxy_match(NULL, host, hlen) == 0);
    FUZZ_CHECK(wsproxy_no_proxy_match("", host, hlen) == 0);
    buf = (char *)malloc(llen + hlen + 64);
    /* adding entries never loses a match; "*" always matches a non-empty host */
    sprintf(buf, "%s,nomatch.invalid", list);
    FUZZ_CHECK(wsproxy_no_proxy_match(buf, host, hlen) >= r);
    sprintf(buf, "nomatch.invalid,%s", list);
    FUZZ_CHECK(wsproxy_no_proxy_match(buf, host, hlen) >= r);
    sprintf(buf, "%s, *", list);
    {   /* unless the host is empty once its brackets and one trailing dot are gone */
        size_t n = hlen;
        const char *h = host;
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { h++; n -= 2; }
        if (n && h[n - 1] == '.' && !is_ip(h, n)) n--;
        if (n > 0) FUZZ_CHECK(wsproxy_no_proxy_match(buf, host, hlen) == 1);
    }
    if (!is_ip(host, hlen) && hlen > 0 && !memchr(host, '[', hlen)) {
        char *h2 = (char *)malloc(hlen + 3);
        /* any letter case */
        for (i = 0; i < hlen; i++) h2[i] = (char)toupper((unsigned char)host[i]);
        FUZZ_CHECK(wsproxy_no_proxy_match(list, h2, hlen) == r);
        /* one trailing dot */
        if (host[hlen - 1] != '.') {
            memcpy(h2, host, hlen);
            h2[hlen] = '.';
            if (!is_ip(h2, hlen + 1)) FUZZ_CHECK(wsproxy_no_proxy_match(list, h2, hlen + 1) == r);
        }
        /* a sub-domain of a matching name host matches */
        if (r) {
            memcpy(h2, "a.", 2);
            memcpy(h2 + 2, host, hlen);
            if (!is_ip(h2, hlen + 2)) FUZZ_CHECK(wsproxy_no_proxy_match(list, h2, hlen + 2) == 1);
        }
        free(h2);
    }
    /* an IPv6 host: brackets are tolerated */
    {
        unsigned char a6[16];
        if (wsproxy_parse_ipv6(host, hlen, a6)) {
            char *h2 = (char *)malloc(hlen + 2);
            h2[0] = '[';
            memcpy(h2 + 1, host, hlen);
            h2[hlen + 1] = ']';
            FUZZ_CHECK(wsproxy_no_proxy_match(list, h2, hlen + 2) == r);
            free(h2);
        }
    }
    /* the host itself as the only entry (when it can be written as one) */
    if (hlen > 0 && !memchr(host, ',', hlen)) {
        int clean = 1;
        for (i = 0; i < hlen; i++) if (blank((unsigned char)host[i])) clean = 0;
        if (clean && !(hlen == 1 && (host[0] == '.' || host[0] == '*'))) {
            memcpy(buf, host, hlen);
            buf[hlen] = 0;
            if (ref_match(buf, host, hlen)) FUZZ_CHECK(wsproxy_no_proxy_match(buf, host, hlen) == 1);
        }
    }
    free(buf);
    free(list);
    free(host);
    return 0;
}
