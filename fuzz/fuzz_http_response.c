/* wsproxy_parse_response: the CONNECT and 101 reply heads.
   Invariants: the result is a head length in 1..len or one of -1/-2/-3; every slice
   (reason, header names and values) lies inside the head; names are tokens, values
   trimmed and free of CR/LF; status 100..599; the header count is within the caller's
   capacity; the head is self-delimiting (bytes after it change nothing); and the verdict
   a client sees feeding byte by byte (first prefix that is not INCOMPLETE) equals the
   verdict on the whole input.
   The proxy's challenges (issue 14): every Proxy-Authenticate and WWW-Authenticate value
   of a parsed head, and the input itself as one raw value (CR, LF and NUL included), go
   through wsproxy_auth_next and wsproxy_auth_param: the walk ends, pos strictly advances
   and ends at the value's end, every slice (scheme, token68, params) lies inside the
   challenge, schemes are tokens and token68 is base64-ish; each parameter named in a
   challenge (and the Digest ones) is found or not as a reference reader written here
   from RFC 9110's grammar finds it, unescaped the same, never with CR/LF/NUL, "too long"
   exactly when it does not fit, a NULL output and an exact-size buffer giving the same.
   Digest challenges feed wsproxy_digest_response and wsproxy_digest_userhash (strings
   as exact heap copies, lengths where the API takes lengths): argument faults refused,
   else 32 or 64 lowercase hex characters, equal to RFC 7616's formulas computed here
   with BearSSL.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 9000 */
#include "fuzz_common.h"

static int is_tchar(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

typedef struct {
    int r, minor, status;
    const char *reason;
    size_t reason_len, nh;
    wsproxy_header h[WSPROXY_MAX_HEADERS + 2];
} parsed;

static void parse(const char *buf, size_t len, size_t cap, parsed *p)
{
    memset(p, 0, sizeof *p);
    p->nh = cap;
    p->r = wsproxy_parse_response(buf, len, &p->minor, &p->status, &p->reason, &p->reason_len,
                                  p->h, &p->nh);
}

static void check_one(const char *buf, size_t len, size_t cap, const parsed *p)
{
    size_t i, limit = cap < WSPROXY_MAX_HEADERS ? cap : WSPROXY_MAX_HEADERS;
    FUZZ_CHECK(p->r == WSPROXY_HTTP_ERROR || p->r == WSPROXY_HTTP_INCOMPLETE ||
               p->r == WSPROXY_HTTP_TOO_LARGE || (p->r > 0 && (size_t)p->r <= len));
    FUZZ_CHECK(p->nh <= limit);
    if (p->r == WSPROXY_HTTP_INCOMPLETE)   /* INCOMPLETE promises none of the limits hit */
        FUZZ_CHECK(len <= WSPROXY_MAX_HEAD_BYTES + 2 * WSPROXY_MAX_LINE_BYTES);
    if (p->r <= 0) return;
    FUZZ_CHECK((size_t)p->r <= WSPROXY_MAX_HEAD_BYTES);
    FUZZ_CHECK(p->minor >= 0 && p->minor <= 9);
    FUZZ_CHECK(p->status >= 100 && p->status <= 599);
    FUZZ_CHECK(memcmp(buf, "HTTP/1.", 7) == 0);
    FUZZ_CHECK(fuzz_inside(p->reason, p->reason_len, buf, (size_t)p->r));
    for (i = 0; i < p->reason_len; i++)
        FUZZ_CHECK(p->reason[i] != '\r' && p->reason[i] != '\n');
    /* the head ends with an empty line */
    FUZZ_CHECK(buf[p->r - 1] == '\n');
    for (i = 0; i < p->nh; i++) {
        const wsproxy_header *h = &p->h[i];
        size_t k;
        FUZZ_CHECK(h->name_len > 0);
        FUZZ_CHECK(fuzz_inside(h->name, h->name_len, buf, (size_t)p->r));
        FUZZ_CHECK(fuzz_inside(h->value, h->value_len, buf, (size_t)p->r));
        FUZZ_CHECK(h->name + h->name_len < buf + p->r && h->name[h->name_len] == ':');
        for (k = 0; k < h->name_len; k++) FUZZ_CHECK(is_tchar((unsigned char)h->name[k]));
        if (h->value_len) {
            FUZZ_CHECK(h->value[0] != ' ' && h->value[0] != '\t');
            FUZZ_CHECK(h->value[h->value_len - 1] != ' ' && h->value[h->value_len - 1] != '\t');
        }
        for (k = 0; k < h->value_len; k++)
            FUZZ_CHECK(h->value[k] != '\r' && h->value[k] != '\n' && h->value[k] != '\0');
        if (i > 0) FUZZ_CHECK(h->name > p->h[i - 1].value);
    }
}

static void same(const parsed *a, const parsed *b)
{
    size_t i;
    FUZZ_CHECK(a->r == b->r);
    if (a->r <= 0) return;
    FUZZ_CHECK(a->minor == b->minor && a->status == b->status);
    FUZZ_CHECK(a->reason == b->reason && a->reason_len == b->reason_len);
    FUZZ_CHECK(a->nh == b->nh);
    for (i = 0; i < a->nh; i++) {
        FUZZ_CHECK(a->h[i].name == b->h[i].name && a->h[i].name_len == b->h[i].name_len);
        FUZZ_CHECK(a->h[i].value == b->h[i].value && a->h[i].value_len == b->h[i].value_len);
    }
}

/* ---- the challenges of a Proxy-Authenticate / WWW-Authenticate value ------------------ */
static int is_token68(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("-._~+/", ch) != NULL);
}

static int ieq(const char *a, size_t n, const char *b)
{
    size_t i;
    if (strlen(b) != n) return 0;
    for (i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
    }
    return 1;
}

/* The reference reader: params are items "token BWS = BWS (token / quoted-string)"
   separated by commas and blanks; the first item named name (any case) gives its value,
   unescaped, and is refused when it holds CR, LF or NUL. 1 found, 0 absent, -1 malformed
   before it. */
static int ref_param(const char *p, size_t n, const char *name, char *out, size_t *olen)
{
    size_t i = 0;
    for (;;) {
        size_t ns, ne, o = 0, k;
        int match;
        while (i < n && (p[i] == ',' || p[i] == ' ' || p[i] == '\t')) i++;
        if (i >= n) return 0;
        for (ns = i; i < n && is_tchar((unsigned char)p[i]); i++) {}
        ne = i;
        if (ne == ns) return -1;
        while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
        if (i >= n || p[i] != '=') return -1;
        for (i++; i < n && (p[i] == ' ' || p[i] == '\t'); i++) {}
        match = ieq(p + ns, ne - ns, name);
        if (i < n && p[i] == '"') {
            for (i++;; i++) {
                if (i >= n) return -1;
                if (p[i] == '"') { i++; break; }
                if (p[i] == '\\' && ++i >= n) return -1;
                if (match) out[o++] = p[i];
            }
        } else {
            size_t vs = i;
            for (; i < n && is_tchar((unsigned char)p[i]); i++)
                if (match) out[o++] = p[i];
            if (i == vs) return -1;
        }
        if (match) {
            for (k = 0; k < o; k++)
                if (out[k] == '\r' || out[k] == '\n' || out[k] == '\0') return -1;
            *olen = o;
            return 1;
        }
    }
}

/* One parameter through wsproxy_auth_param, against the reference and with every buffer
   size that matters. Returns the result; the value (NUL-terminated) in val when found. */
static int check_param(const wsproxy_auth_challenge *ch, const char *name, char *val, size_t cap)
{
    static char ref[10000];
    size_t olen = 12345, rlen = 0, nlen = 999;
    int r = wsproxy_auth_param(ch, name, val, cap, &olen), rr, r2;
    FUZZ_CHECK(r >= -2 && r <= 1);
    if (r != 1) FUZZ_CHECK(olen == 0);
    rr = ref_param(ch->params, ch->params_len, name, ref, &rlen);
    if (r == -2) FUZZ_CHECK(rr == 1 && rlen + 1 > cap);
    else FUZZ_CHECK(r == rr);
    if (r == 1) {
        size_t k;
        char *exact;
        FUZZ_CHECK(olen == rlen && olen < cap && val[olen] == '\0' && memcmp(val, ref, olen) == 0);
        for (k = 0; k < olen; k++) FUZZ_CHECK(val[k] != '\r' && val[k] != '\n' && val[k] != '\0');
        /* the room it needs is enough; a byte less is too little; no room, no writes */
        exact = (char *)malloc(olen + 1);
        r2 = wsproxy_auth_param(ch, name, exact, olen + 1, &nlen);
        FUZZ_CHECK(r2 == 1 && nlen == olen && memcmp(exact, val, olen + 1) == 0);
        if (olen) FUZZ_CHECK(wsproxy_auth_param(ch, name, exact, olen, &nlen) == -2 && nlen == 0);
        free(exact);
        FUZZ_CHECK(wsproxy_auth_param(ch, name, NULL, (size_t)-1, &nlen) == 1 && nlen == olen);
    }
    return r;
}

/* RFC 7616 3.4.1, computed here: hex of H(parts joined by ':'). */
static void ref_h(int sha, const char *const *parts, const size_t *lens, size_t n, char out[65])
{
    unsigned char d[32];
    size_t i, dl = sha ? 32 : 16;
    br_sha256_context s;
    br_md5_context m;
    br_sha256_init(&s);
    br_md5_init(&m);
    for (i = 0; i < n; i++) {
        if (i) { br_sha256_update(&s, ":", 1); br_md5_update(&m, ":", 1); }
        br_sha256_update(&s, parts[i], lens[i]);
        br_md5_update(&m, parts[i], lens[i]);
    }
    if (sha) br_sha256_out(&s, d); else br_md5_out(&m, d);
    for (i = 0; i < dl; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int is_hex(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return s[n] == '\0';
}

/* A Digest challenge's parameters into wsproxy_digest_response (and _userhash). */
static void check_digest(const wsproxy_auth_challenge *ch, uint32_t *seed)
{
    static char realm[700], nonce[700], qop[700], alg[700], cn[700], user[700], pass[700], uri[700];
    static const char *const algs[] = {"MD5", "MD5-sess", "SHA-256", "SHA-256-sess"};
    unsigned pick = fuzz_split(seed, 1u << 16);
    int has_realm = check_param(ch, "realm", realm, sizeof realm) == 1;
    int has_nonce = check_param(ch, "nonce", nonce, sizeof nonce) == 1;
    int has_cn = check_param(ch, "cnonce", cn, sizeof cn) == 1 || (pick & 1);
    int a, rc, want_ok, sess, sha;
    size_t k, ulen, plen;
    char *h_realm, *h_nonce, *h_cn, *h_user, *h_pass, *h_uri, *out, ha1[65], ha2[65], hb[65], want[65], ncs[9];
    const char *parts[6];
    size_t lens[6];
    wsproxy_digest d;
    memset(&d, 0, sizeof d);
    /* the algorithm and qop the challenge names (else one from the seed, out of range too) */
    if (check_param(ch, "algorithm", alg, sizeof alg) == 1) {
        for (a = 0; a < 4 && !ieq(alg, strlen(alg), algs[a]); a++) {}
        d.algorithm = a < 4 ? a + 1 : (int)(pick >> 1) % 6;
    } else {
        d.algorithm = WSPROXY_DIGEST_MD5;
    }
    if (check_param(ch, "qop", qop, sizeof qop) == 1)
        d.qop = !strcmp(qop, "auth") ? 1 : !strcmp(qop, "auth-int") ? 2 : (int)(pick >> 4) % 4 - (pick & 0x100 ? 1 : 0);
    if (check_param(ch, "cnonce", cn, sizeof cn) != 1) strcpy(cn, "0a4f113b");
    if (check_param(ch, "username", user, sizeof user) == 1) ulen = strlen(user);
    else { memcpy(user, "Mufasa\0x", 8); ulen = (pick & 2) ? 8 : 6; }   /* a NUL inside: lengths rule */
    if (check_param(ch, "password", pass, sizeof pass) == 1) plen = strlen(pass);
    else { strcpy(pass, "Circle of Life"); plen = 14; }
    if (check_param(ch, "uri", uri, sizeof uri) != 1) strcpy(uri, "example.com:443");
    /* exact heap copies: a read past any of them shows */
    h_realm = (char *)fuzz_dup(realm, strlen(realm) + 1);
    h_nonce = (char *)fuzz_dup(nonce, strlen(nonce) + 1);
    h_cn = (char *)fuzz_dup(cn, strlen(cn) + 1);
    h_user = (char *)fuzz_dup(user, ulen);
    h_pass = (char *)fuzz_dup(pass, plen);
    h_uri = (char *)fuzz_dup(uri, strlen(uri) + 1);
    out = (char *)malloc(65);
    d.username = h_user; d.username_len = ulen;
    d.password = h_pass; d.password_len = plen;
    d.realm = has_realm ? h_realm : NULL;
    d.nonce = has_nonce ? h_nonce : NULL;
    d.cnonce = has_cn ? h_cn : NULL;
    d.method = "CONNECT";
    d.uri = h_uri;
    d.nc = (uint32_t)pick * 2654435761u;
    sess = d.algorithm == WSPROXY_DIGEST_MD5_SESS || d.algorithm == WSPROXY_DIGEST_SHA256_SESS;
    sha = d.algorithm == WSPROXY_DIGEST_SHA256 || d.algorithm == WSPROXY_DIGEST_SHA256_SESS;
    want_ok = d.realm && d.nonce && d.algorithm >= 1 && d.algorithm <= 4 && d.qop >= 0 && d.qop <= 2 &&
              (d.cnonce || (!d.qop && !sess));
    rc = wsproxy_digest_response(&d, out);
    FUZZ_CHECK(rc == (want_ok ? WSPROXY_OK : WSPROXY_E_ARGUMENT));
    if (rc == WSPROXY_OK) {
        FUZZ_CHECK(is_hex(out, sha ? 64 : 32));
        parts[0] = h_user; lens[0] = ulen;
        parts[1] = h_realm; lens[1] = strlen(h_realm);
        parts[2] = h_pass; lens[2] = plen;
        ref_h(sha, parts, lens, 3, ha1);
        if (sess) {
            parts[0] = ha1; lens[0] = strlen(ha1);
            parts[1] = h_nonce; lens[1] = strlen(h_nonce);
            parts[2] = h_cn; lens[2] = strlen(h_cn);
            ref_h(sha, parts, lens, 3, ha1);
        }
        parts[0] = "CONNECT"; lens[0] = 7;
        parts[1] = h_uri; lens[1] = strlen(h_uri);
        if (d.qop == 2) { ref_h(sha, parts, lens, 0, hb); parts[2] = hb; lens[2] = strlen(hb); }
        ref_h(sha, parts, lens, d.qop == 2 ? 3 : 2, ha2);
        snprintf(ncs, sizeof ncs, "%08lx", (unsigned long)d.nc);
        parts[0] = ha1; lens[0] = strlen(ha1);
        parts[1] = h_nonce; lens[1] = strlen(h_nonce);
        if (d.qop) {
            parts[2] = ncs; lens[2] = 8;
            parts[3] = h_cn; lens[3] = strlen(h_cn);
            parts[4] = d.qop == 2 ? "auth-int" : "auth"; lens[4] = strlen(parts[4]);
            parts[5] = ha2; lens[5] = strlen(ha2);
            ref_h(sha, parts, lens, 6, want);
        } else {
            parts[2] = ha2; lens[2] = strlen(ha2);
            ref_h(sha, parts, lens, 3, want);
        }
        FUZZ_CHECK(strcmp(out, want) == 0);
    }
    if (has_realm && d.algorithm >= 1 && d.algorithm <= 4) {   /* RFC 7616 3.4.4 */
        FUZZ_CHECK(wsproxy_digest_userhash(d.algorithm, h_user, ulen, h_realm, out) == WSPROXY_OK);
        FUZZ_CHECK(is_hex(out, sha ? 64 : 32));
        parts[0] = h_user; lens[0] = ulen;
        parts[1] = h_realm; lens[1] = strlen(h_realm);
        ref_h(sha, parts, lens, 2, want);
        FUZZ_CHECK(strcmp(out, want) == 0);
    } else {
        FUZZ_CHECK(wsproxy_digest_userhash(d.algorithm, h_user, ulen, has_realm ? h_realm : NULL, out) == WSPROXY_E_ARGUMENT);
    }
    for (k = 0; k < 65; k++) out[k] = 0;
    free(h_realm); free(h_nonce); free(h_cn); free(h_user); free(h_pass); free(h_uri); free(out);
}

/* A value (len bytes) through wsproxy_auth_next, each challenge's parameters through
   check_param (the Digest ones, and every name the params hold), Digest challenges
   through check_digest. */
static void check_challenges(const char *v, size_t len, uint32_t *seed)
{
    static const char *const names[] = {"realm", "nonce", "qop", "algorithm", "opaque", "stale",
                                        "userhash", "charset", "domain", "REALM"};
    static char val[600];
    wsproxy_auth_challenge ch;
    size_t pos = 0, steps = 0, k;
    int r;
    for (;;) {
        size_t before = pos, end;
        r = wsproxy_auth_next(v, len, &pos, &ch);
        FUZZ_CHECK(r == 1 || r == 0 || r == -1);
        FUZZ_CHECK(++steps <= len + 1);   /* it ends */
        if (r == 0) FUZZ_CHECK(pos == len);
        if (r != 1) break;
        FUZZ_CHECK(pos > before && pos <= len);   /* strictly on */
        FUZZ_CHECK(ch.scheme_len > 0 && fuzz_inside(ch.scheme, ch.scheme_len, v + before, pos - before));
        for (k = 0; k < ch.scheme_len; k++) FUZZ_CHECK(is_tchar((unsigned char)ch.scheme[k]));
        end = (size_t)(ch.scheme - v) + ch.scheme_len;
        FUZZ_CHECK(!(ch.token68 && ch.params));
        if (ch.token68) {
            FUZZ_CHECK(ch.token68_len > 0 && fuzz_inside(ch.token68, ch.token68_len, v + end, pos - end));
            for (k = 0; k < ch.token68_len && is_token68((unsigned char)ch.token68[k]); k++) {}
            FUZZ_CHECK(k > 0);
            for (; k < ch.token68_len; k++) FUZZ_CHECK(ch.token68[k] == '=');
        } else {
            FUZZ_CHECK(ch.token68_len == 0);
        }
        if (ch.params) {
            FUZZ_CHECK(ch.params_len > 0 && fuzz_inside(ch.params, ch.params_len, v + end, pos - end));
            for (k = 0; k < sizeof names / sizeof names[0]; k++) check_param(&ch, names[k], val, sizeof val);
            /* every name the params hold (the first 16 items) */
            {
                size_t i = 0, n = 0;
                while (i < ch.params_len && n < 16) {
                    size_t s0;
                    char nm[64];
                    while (i < ch.params_len && !is_tchar((unsigned char)ch.params[i])) i++;
                    for (s0 = i; i < ch.params_len && is_tchar((unsigned char)ch.params[i]); i++) {}
                    if (i > s0 && i - s0 < sizeof nm && i < ch.params_len && ch.params[i] == '=') {
                        memcpy(nm, ch.params + s0, i - s0);
                        nm[i - s0] = '\0';
                        check_param(&ch, nm, val, sizeof val);
                        n++;
                    }
                    while (i < ch.params_len && ch.params[i] != ',') i++;
                }
            }
        } else {
            FUZZ_CHECK(ch.params_len == 0 && wsproxy_auth_param(&ch, "realm", val, sizeof val, &k) == 0);
        }
        if (ieq(ch.scheme, ch.scheme_len, "digest") && ch.params) check_digest(&ch, seed);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static parsed whole, part, other;
    fuzz_reader rd;
    size_t cap, len, k;
    char *buf;
    uint32_t seed;
    if (size < 1) return 0;
    rd.p = data; rd.n = size;
    /* first byte: header capacity (0..WSPROXY_MAX_HEADERS+1, mostly the maximum) */
    k = fuzz_byte(&rd);
    cap = (k & 0x80) ? (k & 0x7F) % (WSPROXY_MAX_HEADERS + 2) : WSPROXY_MAX_HEADERS;
    seed = (uint32_t)k * 2654435761u;
    len = rd.n;
    buf = (char *)fuzz_dup(rd.p, len);

    parse(buf, len, cap, &whole);
    check_one(buf, len, cap, &whole);

    /* self-delimiting: parsing exactly the head gives the same; so does a copy */
    if (whole.r > 0) {
        char *head = (char *)fuzz_dup(buf, (size_t)whole.r);
        parse(buf, (size_t)whole.r, cap, &part);
        same(&whole, &part);
        parse(head, (size_t)whole.r, cap, &other);
        check_one(head, (size_t)whole.r, cap, &other);
        FUZZ_CHECK(other.r == whole.r && other.status == whole.status && other.nh == whole.nh);
        free(head);
        /* one byte short of the head is never a verdict */
        parse(buf, (size_t)whole.r - 1, cap, &part);
        FUZZ_CHECK(part.r == WSPROXY_HTTP_INCOMPLETE);
    }

    /* the challenges of the head, and the input as one raw value */
    if (whole.r > 0) {
        for (k = 0; k < whole.nh; k++)
            if (ieq(whole.h[k].name, whole.h[k].name_len, "proxy-authenticate") ||
                ieq(whole.h[k].name, whole.h[k].name_len, "www-authenticate"))
                check_challenges(whole.h[k].value, whole.h[k].value_len, &seed);
    }
    check_challenges(buf, len, &seed);

    /* byte-by-byte verdict: the first prefix that is not INCOMPLETE. Every prefix when
       the input is short, else a sample, kept sorted so the first verdict is found. */
    {
        int verdict = WSPROXY_HTTP_INCOMPLETE;
        size_t step_max = len <= 700 ? 1 : len / 48 + 1, at = 0;
        while (at < len) {
            at += len <= 700 ? 1 : fuzz_split(&seed, (unsigned)step_max);
            if (at > len) at = len;
            parse(buf, at, cap, &part);
            check_one(buf, at, cap, &part);
            if (part.r != WSPROXY_HTTP_INCOMPLETE) { verdict = part.r; break; }
        }
        if (len <= 700) {
            /* exact: a client feeding bytes one at a time acts on this verdict */
            if (verdict > 0) same(&whole, &part);
            else FUZZ_CHECK(verdict == whole.r);
        } else if (verdict > 0) {
            same(&whole, &part);
        } else if (verdict != WSPROXY_HTTP_INCOMPLETE) {
            FUZZ_CHECK(whole.r == verdict);
        }
    }
    free(buf);
    return 0;
}
