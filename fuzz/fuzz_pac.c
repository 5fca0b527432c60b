/* wsproxy_pac_parse / wsproxy_pac_get / wsproxy_pac_next: FindProxyForURL() results.
   Input: byte 0 is the flags, the rest the result string.
   Invariants: OK with 1..WSPROXY_PAC_MAX_ENTRIES entries, or PAC_EMPTY with none; every
   entry is "" (DIRECT, scheme 0) or a proxy URL that wsproxy_url_parse accepts with the
   scheme reported, an explicit port, no path, no credentials; the iterator visits the
   same entries as wsproxy_pac_get; SOCKS5 entries are socks5h:// exactly when the flag
   asks; the input is never read past its length (exact-size heap copy).
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 4096 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wsproxy_pac_list l;
    char *s;
    size_t i, pos = 0;
    int rc, flags, scheme;
    const char *url;
    if (size < 1) return 0;
    flags = data[0] & 1;
    s = (char *)fuzz_dup(data + 1, size - 1);
    memset(&l, 0xAB, sizeof l);
    rc = wsproxy_pac_parse(&l, s, size - 1, flags);
    FUZZ_CHECK(rc == WSPROXY_OK || rc == WSPROXY_E_PAC_EMPTY);
    FUZZ_CHECK(l.count <= WSPROXY_PAC_MAX_ENTRIES);
    FUZZ_CHECK((rc == WSPROXY_OK) == (l.count > 0));
    for (i = 0; i < l.count; i++) {
        wsproxy_url u;
        size_t n;
        url = wsproxy_pac_get(&l, i, &scheme);
        FUZZ_CHECK(url != NULL);
        FUZZ_CHECK(url >= l.buf_ && url < l.buf_ + sizeof l.buf_);
        n = strlen(url);
        FUZZ_CHECK(url + n < l.buf_ + sizeof l.buf_);
        if (n == 0) { FUZZ_CHECK(scheme == 0); continue; }
        FUZZ_CHECK(wsproxy_url_parse(url, n, &u) == WSPROXY_OK);
        FUZZ_CHECK(u.scheme == scheme);
        FUZZ_CHECK(u.port_explicit && u.path_len == 0 && u.user == NULL);
        FUZZ_CHECK(scheme == WSPROXY_SCHEME_HTTP || scheme == WSPROXY_SCHEME_HTTPS ||
                   scheme == WSPROXY_SCHEME_SOCKS4 || scheme == WSPROXY_SCHEME_SOCKS5 ||
                   scheme == WSPROXY_SCHEME_SOCKS5H);
        if (scheme == WSPROXY_SCHEME_SOCKS5H) FUZZ_CHECK(flags & WSPROXY_PAC_SOCKS5_REMOTE_DNS);
        if (scheme == WSPROXY_SCHEME_SOCKS5) FUZZ_CHECK(!(flags & WSPROXY_PAC_SOCKS5_REMOTE_DNS));
    }
    FUZZ_CHECK(wsproxy_pac_get(&l, l.count, &scheme) == NULL);
    for (i = 0; (url = wsproxy_pac_next(&l, &pos, &scheme)) != NULL; i++) {
        int s2;
        FUZZ_CHECK(i < l.count);
        FUZZ_CHECK(url == wsproxy_pac_get(&l, i, &s2) && s2 == scheme);
    }
    FUZZ_CHECK(i == l.count);
    /* the same text with a NUL after it parses the same (length is what counts) */
    {
        static wsproxy_pac_list l2;
        char *z = (char *)malloc(size);
        memcpy(z, data + 1, size - 1);
        z[size - 1] = 0;
        FUZZ_CHECK(wsproxy_pac_parse(&l2, z, size - 1, flags) == rc && l2.count == l.count &&
                   l2.skipped == l.skipped);
        for (i = 0; i < l.count; i++)
            FUZZ_CHECK(strcmp(wsproxy_pac_get(&l, i, NULL), wsproxy_pac_get(&l2, i, NULL)) == 0);
        free(z);
    }
    FUZZ_CHECK(wsproxy_pac_parse(NULL, s, size - 1, flags) == WSPROXY_E_ARGUMENT);
    free(s);
    return 0;
}
