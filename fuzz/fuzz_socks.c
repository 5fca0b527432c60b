/* The SOCKS4/4a/5/5h handshake codec: wsproxy_socks_init / _output / _input / _bound.
   Input: byte 0 picks the proxy scheme (bits 0-1), credentials (bit 2), the target's host
   kind (bits 3-4: name, IPv4, IPv6) and the resolved address family (bit 5); byte 1 seeds
   the chunk sizes; the rest is what the proxy answers.
   The replies run twice, fed in chunks and byte by byte. Invariants: the same requests
   written, the same results, the same bytes consumed; never a byte taken past the reply
   (the bytes after DONE are left for the next layer); NEED_MORE means every byte was
   used; errors are sticky and from the documented set; each request is well formed
   (versions, lengths, port, credentials only to a SOCKS5 proxy that chose user/password)
   and no longer than WSPROXY_SOCKS_MAX_REQUEST; wsproxy_socks_bound gives a
   NUL-terminated address of the type it reports.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 600 */
#include "fuzz_common.h"

typedef struct {
    unsigned char out[4096];
    size_t out_len, consumed;
    int rc, phase, error, code, btype;
    char bound[80];
    unsigned bport;
    int steps;
} outcome;

static int socks_error(int rc)
{
    return (rc >= WSPROXY_E_SOCKS_GENERAL_FAILURE && rc <= WSPROXY_E_SOCKS_BAD_REPLY) ||
           (rc >= WSPROXY_E_SOCKS4_REJECTED && rc <= WSPROXY_E_SOCKS4_UNKNOWN_REPLY);
}

static void take_output(wsproxy_socks *s, outcome *o)
{
    unsigned char chunk[37];
    size_t n, before = o->out_len, pend = wsproxy_socks_pending(s);
    FUZZ_CHECK(pend <= WSPROXY_SOCKS_MAX_REQUEST);
    while ((n = wsproxy_socks_output(s, chunk, sizeof chunk)) > 0) {
        FUZZ_CHECK(n <= sizeof chunk);
        FUZZ_CHECK(o->out_len + n <= sizeof o->out);
        memcpy(o->out + o->out_len, chunk, n);
        o->out_len += n;
    }
    FUZZ_CHECK(o->out_len - before == pend);
    FUZZ_CHECK(wsproxy_socks_pending(s) == 0);
}

static void run(const wsproxy_url *proxy, const wsproxy_url *target, const unsigned char *resolved,
                int rtype, const unsigned char *in, size_t len, int bytewise, uint32_t seed,
                outcome *o)
{
    wsproxy_socks s;
    size_t off = 0;
    int rc;
    memset(o, 0, sizeof *o);
    rc = wsproxy_socks_init(&s, proxy, target, resolved, rtype);
    o->rc = rc;
    if (rc != WSPROXY_OK) {
        unsigned char b[8];
        size_t used = 99;
        FUZZ_CHECK(rc == WSPROXY_E_ARGUMENT || rc == WSPROXY_E_URL_SCHEME || rc == WSPROXY_E_URL_USERINFO ||
                   rc == WSPROXY_E_URL_HOST || rc == WSPROXY_E_URL_PORT ||
                   (rc >= WSPROXY_E_SOCKS_NEED_ADDRESS && rc <= WSPROXY_E_SOCKS_HOST_TOO_LONG));
        FUZZ_CHECK(wsproxy_socks_output(&s, b, sizeof b) == 0);   /* no byte */
        FUZZ_CHECK(wsproxy_socks_phase(&s) == WSPROXY_SOCKS_PHASE_FAILED);
        FUZZ_CHECK(wsproxy_socks_input(&s, in, len, &used) == rc && used == 0);
        return;
    }
    take_output(&s, o);
    rc = WSPROXY_SOCKS_NEED_MORE;
    while (off < len && ++o->steps < 100000) {
        size_t want = len - off, used = 12345;
        if (bytewise) want = 1;
        else { size_t k = fuzz_split(&seed, 13); if (k < want) want = k; }
        rc = wsproxy_socks_input(&s, in + off, want, &used);
        FUZZ_CHECK(used <= want);
        off += used;
        if (rc == WSPROXY_SOCKS_SEND) {
            FUZZ_CHECK(wsproxy_socks_pending(&s) > 0);
            take_output(&s, o);
            rc = WSPROXY_SOCKS_NEED_MORE;   /* the next reply is awaited */
            continue;
        }
        if (rc == WSPROXY_SOCKS_NEED_MORE) { FUZZ_CHECK(used == want); continue; }
        if (rc == WSPROXY_SOCKS_DONE) break;
        FUZZ_CHECK(socks_error(rc));
        break;
    }
    o->rc = rc;
    o->consumed = off;
    o->phase = wsproxy_socks_phase(&s);
    o->error = wsproxy_socks_error(&s);
    o->code = wsproxy_socks_reply_code(&s);
    FUZZ_CHECK(o->code >= -1 && o->code <= 255);
    if (rc == WSPROXY_SOCKS_DONE) {
        size_t used = 99;
        unsigned char a[16];
        FUZZ_CHECK(o->phase == WSPROXY_SOCKS_PHASE_DONE && o->error == 0);
        /* done: takes nothing more */
        FUZZ_CHECK(wsproxy_socks_input(&s, in, len, &used) == WSPROXY_SOCKS_DONE && used == 0);
        memset(o->bound, 'x', sizeof o->bound);
        o->btype = wsproxy_socks_bound(&s, o->bound, sizeof o->bound, &o->bport);
        FUZZ_CHECK(memchr(o->bound, 0, sizeof o->bound) != NULL);
        FUZZ_CHECK(o->bport <= 65535);
        if (o->btype == WSPROXY_HOST_IPV4) FUZZ_CHECK(wsproxy_parse_ipv4(o->bound, strlen(o->bound), a));
        else if (o->btype == WSPROXY_HOST_IPV6) FUZZ_CHECK(wsproxy_parse_ipv6(o->bound, strlen(o->bound), a));
        else FUZZ_CHECK(o->btype == WSPROXY_HOST_NAME);
        {   /* truncation: cap 1 gives "" */
            char tiny[1] = {'x'};
            unsigned port;
            FUZZ_CHECK(wsproxy_socks_bound(&s, tiny, 1, &port) == o->btype && tiny[0] == 0);
        }
    } else if (rc > 0) {
        size_t used = 99;
        FUZZ_CHECK(o->phase == WSPROXY_SOCKS_PHASE_FAILED && o->error == rc);
        FUZZ_CHECK(wsproxy_socks_input(&s, in, len, &used) == rc && used == 0);   /* sticky */
    } else {
        char b[8];
        unsigned port;
        FUZZ_CHECK(rc == WSPROXY_SOCKS_NEED_MORE && off == len);
        FUZZ_CHECK(wsproxy_socks_bound(&s, b, sizeof b, &port) == -1);
    }
}

/* The requests must be well formed. */
static void check_requests(const outcome *o, int version, int creds, const char *user,
                           const char *pass)
{
    const unsigned char *p = o->out;
    size_t n = o->out_len, off = 0;
    if (version == 5) {
        FUZZ_CHECK(n >= 3 && p[0] == 5 && (p[1] == 1 || p[1] == 2));
        FUZZ_CHECK(p[2] == 0 && (p[1] == 1 || p[3] == 2));
        FUZZ_CHECK((p[1] == 2) == (creds != 0));
        off = 2 + p[1];
        if (off < n && p[off] == 1) {   /* RFC 1929 request */
            size_t ul, pl;
            FUZZ_CHECK(creds);
            ul = p[off + 1];
            FUZZ_CHECK(ul == strlen(user) && memcmp(p + off + 2, user, ul) == 0);
            pl = p[off + 2 + ul];
            FUZZ_CHECK(pl == strlen(pass) && memcmp(p + off + 3 + ul, pass, pl) == 0);
            off += 3 + ul + pl;
        }
        if (off < n) {
            FUZZ_CHECK(p[off] == 5 && p[off + 1] == 1 && p[off + 2] == 0);
            FUZZ_CHECK(p[off + 3] == 1 || p[off + 3] == 3 || p[off + 3] == 4);
        }
    } else {
        FUZZ_CHECK(n >= 9 && p[0] == 4 && p[1] == 1);
        FUZZ_CHECK(p[n - 1] == 0);
    }
    FUZZ_CHECK(n <= 3 * WSPROXY_SOCKS_MAX_REQUEST);
    /* SOCKS4 never carries the password */
    if (version == 4 && creds) {
        size_t i, k = strlen(pass);
        for (i = 0; i + k <= n; i++) FUZZ_CHECK(memcmp(p + i, pass, k) != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const schemes[] = {"socks4", "socks4a", "socks5", "socks5h"};
    static const char *const hosts[] = {"server.test", "192.0.2.7", "[2001:db8::7]", "server.test"};
    static const unsigned char res4[4] = {10, 0, 0, 1},
        res6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    char purl[128], turl[128];
    wsproxy_url proxy, target;
    outcome *a, *b;
    int flags, kind, creds, version;
    unsigned char *in;
    size_t len;
    if (size < 2) return 0;
    flags = data[0];
    kind = flags & 3;
    creds = (flags >> 2) & 1;
    version = kind < 2 ? 4 : 5;
    snprintf(purl, sizeof purl, "%s://%sproxy.test:1080", schemes[kind], creds ? "us%65r:p%40ss@" : "");
    snprintf(turl, sizeof turl, "ws://%s:%u/", hosts[(flags >> 3) & 3], 8000u + (unsigned)data[1]);
    FUZZ_CHECK(wsproxy_url_parse(purl, strlen(purl), &proxy) == WSPROXY_OK);
    FUZZ_CHECK(wsproxy_url_parse(turl, strlen(turl), &target) == WSPROXY_OK);
    len = size - 2;
    in = fuzz_dup(data + 2, len);
    a = (outcome *)malloc(sizeof *a);
    b = (outcome *)malloc(sizeof *b);
    run(&proxy, &target, (flags & 32) ? res6 : res4, (flags & 32) ? WSPROXY_HOST_IPV6 : WSPROXY_HOST_IPV4,
        in, len, 0, data[1] * 2654435761u + 1, a);
    run(&proxy, &target, (flags & 32) ? res6 : res4, (flags & 32) ? WSPROXY_HOST_IPV6 : WSPROXY_HOST_IPV4,
        in, len, 1, 0, b);
    FUZZ_CHECK(a->rc == b->rc && a->consumed == b->consumed);
    FUZZ_CHECK(a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0);
    FUZZ_CHECK(a->phase == b->phase && a->error == b->error && a->code == b->code);
    FUZZ_CHECK(a->btype == b->btype && a->bport == b->bport && strcmp(a->bound, b->bound) == 0);
    if (a->rc <= 0 && a->out_len) check_requests(a, version, creds, "user", "p@ss");
    /* a SOCKS5 reply of an unassigned REP, or an error: sticky and named */
    if (a->rc > 0) FUZZ_CHECK(strcmp(wsproxy_strerror(a->rc), "WSPROXY_E_UNKNOWN") != 0);
    free(a); free(b); free(in);
    return 0;
}
