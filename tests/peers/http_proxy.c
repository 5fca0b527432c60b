/* http_proxy: HTTP/1.1 CONNECT proxy used as a test peer.
 *
 *   http_proxy [--port N] [--port-file F] [--log F] [--max-seconds S] [--max-conns N]
 *              [--mode MODE] [--tls-cert FILE --tls-key FILE [--tls-require-sni NAME]
 *               [--tls-client-ca FILE] [--tls-suites NAME] [--tls-no-resume]]
 *              [--auth USER:PASS] [--auth-schemes LIST] [--auth-one-header] [--realm R]
 *              [--digest-algorithm A]... [--digest-qop Q] [--digest-opaque V]
 *              [--digest-userhash] [--digest-charset] [--digest-stale N]
 *              [--token-scheme NTLM|Negotiate [--token-round CLIENT_B64:SERVER_B64]...]...
 *              [--close-after-407 | --close-after-407-silent | --http10-407]
 *              [--407-body none|length|chunked|eof] [--407-body-bytes N] [--status401]
 *   http_proxy --selftest
 *
 * MODE: normal (default), status403, status502, status407, http10, noreason, headers, drip,
 *       junk, oversize, closemid, silent, refuse-target.
 *
 * Single-threaded, poll()-based, non-blocking, listens on 127.0.0.1 only, and only tunnels
 * to 127.0.0.1 / localhost / [::1]. Written independently of wsproxy.h (never includes it);
 * Digest hashes come from BearSSL (br_md5, br_sha256, br_sha512).
 *
 * Order of checks for each request head: 431 (head > 16 KiB or too many lines), 400
 * (malformed), 405 (method is not CONNECT), 400 (version not HTTP/1.0 or 1.1, bad
 * host:port), 407 (authentication configured and the credentials are missing or wrong),
 * then the mode. Only the modes that really connect (normal, http10, noreason, headers,
 * drip, junk) check the target (403 if not loopback); the canned-answer modes never
 * connect anywhere. Mode status407 answers every request with a canned Basic 407 and
 * closes, whatever the credentials.
 *
 * With --tls-cert/--tls-key it is an HTTPS proxy: TLS from the client to the proxy (BearSSL
 * server engine per connection), the CONNECT request, the reply and the tunnel all inside
 * it; the upstream connection stays plain TCP (a TLS target's records are relayed as they
 * are). Every mode and every authentication option work the same inside TLS ("drip" sends
 * one record per byte).
 * --tls-client-ca FILE (require a client certificate; "=== client-cert: CN") and
 * --tls-suites NAME (one family of suites) are described in peer_common.h; every handshake
 * logs "=== version: TLSv1.2", "=== suite: 0xXXXX", "=== kex: curve N, signature 0xXXXX"
 * (or "none") and "=== resumed: yes|no" (sessions are kept for resumption unless
 * --tls-no-resume; peer_common.h).
 *
 * ---- Authentication ------------------------------------------------------------------
 * Off unless --auth or --auth-schemes is given. Once authenticated, the tunnel relays
 * exactly as without authentication.
 *   --auth USER:PASS      the user (up to the first ':') and password for Basic and Digest.
 *                         Alone, it means --auth-schemes basic (Basic, as before).
 *   --auth-schemes LIST   comma list of basic, digest, ntlm, negotiate: the schemes the 407
 *                         offers, in this order (default: basic). basic and digest need
 *                         --auth; ntlm and negotiate need their --token-round script.
 *   --auth-one-header     all challenges in one Proxy-Authenticate header, separated by
 *                         commas, instead of one header per challenge.
 *   --realm R             realm of the Basic and Digest challenges (default wsproxy-test).
 *                         Written as a quoted-string: '"' and '\' are escaped, so
 *                         --realm 'wsproxy "test"' offers realm="wsproxy \"test\"".
 *   --status401           answer 401 Unauthorized with WWW-Authenticate and read the
 *                         credentials from Authorization (some proxies do), instead of
 *                         407 / Proxy-Authenticate / Proxy-Authorization.
 * A request without credentials gets the challenges. A request whose credentials fail gets
 * fresh challenges (a new nonce) and the log line "=== auth-fail: WHY". Credentials of a
 * scheme that was not offered fail; so does more than one credentials header.
 *
 * Basic: Basic realm="R". The user and password must match --auth exactly.
 *
 * Digest (RFC 7616, RFC 2617 compatible): one challenge per --digest-algorithm, in order,
 *   Digest realm="R", qop="auth", algorithm=A, nonce="N"[, opaque="O"][, charset=UTF-8]
 *          [, userhash=true][, stale=true]
 * All Digest challenges of one reply share one fresh nonce (32 base64 characters).
 *   --digest-algorithm A  MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256,
 *                         SHA-512-256-sess, or MD5-implicit (MD5 without an algorithm
 *                         parameter, as RFC 2069 servers send it); repeatable, one challenge
 *                         each (default: MD5). SHA-512-256 is FIPS 180-4 SHA-512/256; note
 *                         that RFC 7616's own example (3.9.2) was computed with SHA-512
 *                         truncated to 256 bits: a client that does that fails here with
 *                         a WHY that says so.
 *   --digest-qop Q        auth (default), auth-int, auth,auth-int (offers qop="auth,
 *                         auth-int"; auth-int hashes the empty body), or none: the legacy
 *                         RFC 2069 form without qop, nc and cnonce (not with -sess).
 *   --digest-opaque V     send opaque="V"; the response must echo it.
 *   --digest-userhash     send userhash=true; accept userhash=true responses whose username
 *                         is H(user ":" realm) (plain usernames stay accepted).
 *   --digest-charset      send charset=UTF-8; then accept username*=UTF-8''<pct-encoded>
 *                         (RFC 7616 3.4.4, RFC 8187) for names that are not ASCII.
 *   --digest-stale N      the first N otherwise-correct responses are answered 407 with
 *                         stale=true and a fresh nonce; the old nonce is retired.
 * Checks, in order: parameter syntax (username, realm, nonce, uri, response, cnonce, opaque
 * quoted; algorithm, qop, nc not quoted; no duplicates), algorithm offered (absent = MD5),
 * userhash, username (or username*), realm, nonce issued by this proxy, uri equals the
 * CONNECT request-target (host:port), qop offered (none: no qop, nc or cnonce), nc 8
 * lowercase hex digits strictly above the last nc seen with this nonce, cnonce present,
 * opaque echoed (and absent when none was sent), response lowercase hex of the hash's size
 * and correct. A correct response with a retired nonce fails with "nonce is stale" and the
 * 407 says stale=true. Nonces of the last 256 replies are kept.
 *
 * NTLM and Negotiate: scripted, no cryptography.
 *   --token-scheme S      NTLM or Negotiate: the scheme the following --token-round
 *                         options belong to.
 *   --token-round C:S     one round: the client sends "S C" (C base64, or * for any token;
 *                         for NTLM, * still requires an NTLMSSP message of type 1 in round
 *                         1 and type 3 in round 2 when the token decodes as one). Every
 *                         round but the last is answered 407 with "Proxy-Authenticate:
 *                         <Scheme> S"; the last is answered 200, with "Proxy-Authenticate:
 *                         <Scheme> S" on the 200 when S is not empty (mutual
 *                         authentication). S may be empty only in the last round.
 * The first 407 (no credentials) offers the bare scheme name. A token that matches round 1
 * starts over. NTLM rounds must all be on one TCP connection; Negotiate rounds may span
 * connections.
 *
 * 407 replies (also 401 with --status401):
 *   connection: kept alive by default (HTTP/1.1 request; an HTTP/1.0 request only with
 *   Connection: keep-alive, then answered "Connection: keep-alive"); closed when the request
 *   says Connection: close or Proxy-Connection: close, and with
 *   --close-after-407         send "Connection: close", then close (FIN after the reply)
 *   --close-after-407-silent  close without a Connection header
 *   --http10-407              the status line is HTTP/1.0, no Connection header, close
 *   body: Content-Type: text/plain, and the first N bytes (--407-body-bytes N, default 98)
 *   of "HTTP/1.1 200 OK\r\n\r\nproxy authentication required\n" repeated, so a client that
 *   takes the body for the next reply fails visibly. --407-body
 *   length   (default) Content-Length: N
 *   none     Content-Length: 0 and no body
 *   chunked  Transfer-Encoding: chunked and "Trailer: X-Test-Trailer": a first chunk of 7
 *            bytes with the extension ";wsproxy-ext=1", then chunks of 26 bytes (size "1A"),
 *            the last chunk and the trailer field "X-Test-Trailer: end" (not with
 *            --http10-407)
 *   eof      no length: the body ends when the proxy closes (so it closes)
 *
 * ---- Log (--log F) -------------------------------------------------------------------
 *   === request conn: M      then the request head as received, then "=== end". M numbers
 *                            the accepted TCP connections from 1. Credentials are
 *                            redacted: the Proxy-Authorization value (with --status401 also
 *                            Authorization) keeps its scheme and becomes "Scheme ***";
 *                            Digest keeps its parameters except response="***".
 *   === sni: NAME / === alpn: NAME / === tls-failed: WHY    (TLS, after each request)
 *   === basic-credentials: user=USER password-sha256=HEX    for each Basic credentials
 *                            header: HEX is the first 16 hex digits of SHA-256(password)
 *   === basic-credentials-invalid: WHY    Basic credentials that do not decode
 *   === digest-param: NAME=VALUE    each Digest parameter received, in order, unquoted,
 *                            except response, logged as response=ok|bad|unchecked
 *   === auth-round: N conn: M       round N (from 1) of an NTLM/Negotiate script passed
 *   === auth-ok: SCHEME conn: M     authentication succeeded (Basic, Digest, NTLM,
 *                            Negotiate); the CONNECT goes on
 *   === auth-fail: WHY       the credentials failed (never shows the password), e.g.
 *                            "Basic: wrong password", "response is wrong (wrong
 *                            password?)", "nonce is stale", "nc=00000001 is not above
 *                            the last nc 00000001 of this nonce", "NTLM round on a new
 *                            connection", "Digest was not offered"
 *   === auth-stale: K of N   an otherwise-correct Digest response answered stale=true
 *   === auth-challenge: STATUS conn: M next: keep-alive|close    a 407/401 was sent
 *   === auth-discarded: N bytes conn: M    bytes the client sent on a connection after the
 *                            proxy answered 407 and decided to close it (logged when the
 *                            connection ends)
 *
 * --selftest: checks the Digest code against published values (RFC 7616 3.9.1 MD5 and
 * SHA-256, 3.9.2 userhash and response, RFC 2617 3.5, RFC 2069, FIPS 180-4 SHA-512/256)
 * and values computed independently with Python's hashlib, plus the parameter parser;
 * prints "ok - ..." / "FAIL - ..." lines and "N passed, N failed"; exit status 1 on a
 * failure.
 */
#include "peer_common.h"

#include <stdarg.h>

#define RELAY_HIGH (1u << 20) /* stop reading a side while its destination queue is over this */
#define LINGER_SECONDS 5.0
#define DRIP_INTERVAL 0.002

enum { P_HEAD, P_CONNECTING, P_DRIP, P_RELAY, P_SILENT, P_LINGER };

enum {
    M_NORMAL, M_STATUS403, M_STATUS502, M_STATUS407, M_HTTP10, M_NOREASON, M_HEADERS,
    M_DRIP, M_JUNK, M_OVERSIZE, M_CLOSEMID, M_SILENT, M_REFUSE_TARGET
};

static const char *const g_mode_names[] = {
    "normal", "status403", "status502", "status407", "http10", "noreason", "headers",
    "drip", "junk", "oversize", "closemid", "silent", "refuse-target"
};

static const char R_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
static const char R_200_10[] = "HTTP/1.0 200 Connection established\r\n\r\n";
static const char R_200_NOREASON[] = "HTTP/1.1 200\r\n\r\n";
static const char R_200_HEADERS[] =
    "HTTP/1.1 200 OK\r\nProxy-Agent: wsproxy-test-proxy\r\nVia: 1.1 test\r\nX-Empty:\r\n\r\n";
static const char R_400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
static const char R_403[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
static const char R_405[] = "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\n\r\n";
static const char R_407[] =
    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"wsproxy-test\"\r\n"
    "Content-Type: text/plain\r\nContent-Length: 22\r\n\r\nauthentication needed\n";
static const char R_431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";
static const char R_502[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";

struct pconn {
    int cfd, ufd;        /* client side, upstream side (-1 if none) */
    int state, dead;
    int c_eof, u_eof;    /* FIN read from client / upstream */
    int c_shut, u_shut;  /* shutdown(SHUT_WR) done on client / upstream socket */
    int pic, piu;        /* pollfd indices, -1 if not polled */
    double timer;
    struct pbuf in;      /* request head */
    struct pbuf to_c, to_u;
    const char *reply;   /* success reply for the connecting modes */
    size_t reply_len, drip_pos;
    struct peer_tls *tls; /* client side is TLS (NULL on a plain listener) */
    int again;            /* TLS: plaintext was pulled, service again without waiting */
    unsigned long id;     /* connection number in the log, from 1 */
    size_t ntlm_done;     /* NTLM script rounds passed on this connection */
    int auth_close;       /* lingering after a 407 that closes the connection */
    size_t discarded;     /* client bytes dropped after that 407 */
    char *extra_hdr;      /* header lines added to the 200 (mutual authentication) */
    char *reply_buf;      /* the 200 with extra_hdr */
};

/* ------------------------------------------------------------------ configuration */

enum { SC_BASIC, SC_DIGEST, SC_NTLM, SC_NEGOTIATE, SC_COUNT };
static const char *const g_scheme_names[SC_COUNT] = { "Basic", "Digest", "NTLM", "Negotiate" };
static const char *const g_scheme_opts[SC_COUNT] = { "basic", "digest", "ntlm", "negotiate" };

enum { H_MD5, H_SHA256, H_SHA512_256, H_SHA512_TRUNC };
struct dg_alg { const char *name; int hash, sess, implicit; };
static const struct dg_alg g_alg_table[] = {
    { "MD5", H_MD5, 0, 0 }, { "MD5-sess", H_MD5, 1, 0 },
    { "SHA-256", H_SHA256, 0, 0 }, { "SHA-256-sess", H_SHA256, 1, 0 },
    { "SHA-512-256", H_SHA512_256, 0, 0 }, { "SHA-512-256-sess", H_SHA512_256, 1, 0 },
    { "MD5-implicit", H_MD5, 0, 1 }
};
#define N_ALGS (sizeof g_alg_table / sizeof g_alg_table[0])
#define MAX_LIST 16
#define MAX_ROUNDS 16

enum { Q_AUTH = 1, Q_AUTH_INT = 2 }; /* g_qop bits; 0: no qop (RFC 2069) */
enum { B_NONE, B_LENGTH, B_CHUNKED, B_EOF };
enum { T_NTLM, T_NEGOTIATE };        /* index of the token scripts */

struct token_round { const char *client, *server; };

static int g_mode = M_NORMAL;
static char *g_user = NULL;            /* --auth up to the first ':' */
static const char *g_pass = NULL;      /* --auth after it */
static int g_schemes[MAX_LIST];        /* offered, in challenge order */
static size_t g_nschemes = 0;
static int g_offered[SC_COUNT];
static int g_one_header = 0;
static const char *g_realm = "wsproxy-test";
static int g_algs[MAX_LIST];           /* indices into g_alg_table */
static size_t g_nalgs = 0;
static int g_qop = Q_AUTH;
static const char *g_opaque = NULL;
static int g_userhash = 0, g_charset = 0;
static long g_stale_n = 0, g_stale_done = 0;
static struct token_round g_rounds[2][MAX_ROUNDS];
static size_t g_nrounds[2];
static int g_close_after = 0, g_close_silent = 0, g_http10_407 = 0;
static int g_body = B_LENGTH;
static long g_body_bytes = 98;
static int g_status401 = 0;
static unsigned long g_next_conn_id = 0;
static size_t g_neg_done = 0;          /* Negotiate rounds passed (any connection) */

static struct pconn *g_conns = NULL;
static size_t g_nconns = 0;

static int auth_on(void) { return g_nschemes > 0; }

/* ------------------------------------------------------------------ small text helpers */

static void pb_puts(struct pbuf *b, const char *s) { (void)pbuf_append(b, s, strlen(s)); }

static void pb_quoted(struct pbuf *b, const char *s) {
    pb_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') pb_puts(b, "\\");
        (void)pbuf_append(b, s, 1);
    }
    pb_puts(b, "\"");
}

/* one log line "PREFIX" + printf text, control characters shown as '?' */
static void log_f(const char *prefix, const char *fmt, ...) {
    char line[1024];
    size_t i, n;
    va_list ap;
    if (!peer_log_fp) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    n = strlen(line);
    for (i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = '?';
    peer_log_line(prefix, line, n);
}

static void wipe(void *p, size_t n) {
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

/* ------------------------------------------------------------------ Digest hashing */

/* FIPS 180-4 5.3.6.2: initial hash value of SHA-512/256 */
static const unsigned char g_sha512_256_iv[64] = {
    0x22, 0x31, 0x21, 0x94, 0xfc, 0x2b, 0xf7, 0x2c, 0x9f, 0x55, 0x5f, 0xa3, 0xc8, 0x4c, 0x64, 0xc2,
    0x23, 0x93, 0xb8, 0x6b, 0x6f, 0x53, 0xb1, 0x51, 0x96, 0x38, 0x77, 0x19, 0x59, 0x40, 0xea, 0xbd,
    0x96, 0x28, 0x3e, 0xe2, 0xa8, 0x8e, 0xff, 0xe3, 0xbe, 0x5e, 0x1e, 0x25, 0x53, 0x86, 0x39, 0x92,
    0x2b, 0x01, 0x99, 0xfc, 0x2c, 0x85, 0xb8, 0xaa, 0x0e, 0xb7, 0x2d, 0xdc, 0x81, 0xc5, 0x2c, 0xa2
};

struct dg_hash {
    br_hash_compat_context ctx;
    int kind;
};

static void dg_hinit(struct dg_hash *h, int kind) {
    h->kind = kind;
    switch (kind) {
    case H_MD5: br_md5_init(&h->ctx.md5); break;
    case H_SHA256: br_sha256_init(&h->ctx.sha256); break;
    default:
        br_sha512_init(&h->ctx.sha512);
        if (kind == H_SHA512_256) br_sha512_set_state(&h->ctx.sha512, g_sha512_256_iv, 0);
        break;
    }
}

static void dg_hup(struct dg_hash *h, const void *d, size_t n) { h->ctx.vtable->update(&h->ctx.vtable, d, n); }

static size_t dg_hexlen(int kind) { return kind == H_MD5 ? 32 : 64; }

/* lowercase hex digest into out (65 bytes); returns its length */
static size_t dg_hhex(struct dg_hash *h, char *out) {
    static const char hx[] = "0123456789abcdef";
    unsigned char d[64];
    size_t i, n = dg_hexlen(h->kind) / 2;
    h->ctx.vtable->out(&h->ctx.vtable, d);
    for (i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
    wipe(d, sizeof d);
    return 2 * n;
}

/* hex of H(s1 ":" s2 ":" ...), the strings NULL-terminated list */
static void dg_hjoin(int kind, char out[65], ...) {
    struct dg_hash h;
    const char *s;
    int first = 1;
    va_list ap;
    dg_hinit(&h, kind);
    va_start(ap, out);
    while ((s = va_arg(ap, const char *)) != NULL) {
        if (!first) dg_hup(&h, ":", 1);
        dg_hup(&h, s, strlen(s));
        first = 0;
    }
    va_end(ap);
    dg_hhex(&h, out);
    wipe(&h, sizeof h);
}

struct dg_input {
    int hash, sess, qop; /* qop: 0, Q_AUTH or Q_AUTH_INT */
    const char *user, *realm, *pass, *nonce, *cnonce, *nc, *method, *uri;
};

/* RFC 7616 3.4.1: the response value (lowercase hex) */
static void dg_response(const struct dg_input *in, char out[65]) {
    char ha1[65], ha2[65], t[65];
    dg_hjoin(in->hash, ha1, in->user, in->realm, in->pass, (const char *)NULL);
    if (in->sess) {
        memcpy(t, ha1, sizeof t);
        dg_hjoin(in->hash, ha1, t, in->nonce, in->cnonce, (const char *)NULL);
    }
    if (in->qop == Q_AUTH_INT) {
        dg_hjoin(in->hash, t, "", (const char *)NULL); /* H(entity-body): CONNECT has none */
        dg_hjoin(in->hash, ha2, in->method, in->uri, t, (const char *)NULL);
    } else {
        dg_hjoin(in->hash, ha2, in->method, in->uri, (const char *)NULL);
    }
    if (in->qop)
        dg_hjoin(in->hash, out, ha1, in->nonce, in->nc, in->cnonce,
                 in->qop == Q_AUTH_INT ? "auth-int" : "auth", ha2, (const char *)NULL);
    else
        dg_hjoin(in->hash, out, ha1, in->nonce, ha2, (const char *)NULL);
    wipe(ha1, sizeof ha1);
    wipe(t, sizeof t);
}

/* ------------------------------------------------------------------ auth-param parsing */

#define DG_MAXP 32

struct dg_param {
    const char *name;
    size_t nlen;
    char *val;              /* unquoted, unescaped, NUL-terminated (in store) */
    size_t vlen;
    int quoted;
    size_t raw_off, raw_len; /* the value as written, relative to the parsed text */
};

struct dg_params {
    struct dg_param p[DG_MAXP];
    size_t n, used;
    char store[PEER_HEAD_LIMIT + DG_MAXP];
};

static char g_why[512];

/* Parse the auth-params after "Digest ": name=token or name="quoted-string", separated by
 * commas (empty elements allowed). NULL if fine, else why not. */
static const char *dg_parse(const char *s, size_t n, struct dg_params *o) {
    size_t i = 0, k;
    o->n = o->used = 0;
    for (;;) {
        struct dg_param *p;
        size_t ns;
        while (i < n && (peer_is_ows(s[i]) || s[i] == ',')) i++;
        if (i >= n) return NULL;
        ns = i;
        while (i < n && peer_is_tchar((unsigned char)s[i])) i++;
        if (i == ns) return "a parameter name is not a token";
        if (o->n >= DG_MAXP) return "more than 32 parameters";
        p = &o->p[o->n];
        p->name = s + ns;
        p->nlen = i - ns;
        for (k = 0; k < o->n; k++)
            if (peer_mem_ieq(o->p[k].name, o->p[k].nlen, p->name, p->nlen)) {
                static char dup[80];
                snprintf(dup, sizeof dup, "duplicate parameter %.*s", (int)(p->nlen > 40 ? 40 : p->nlen), p->name);
                return dup;
            }
        while (i < n && peer_is_ows(s[i])) i++;
        if (i >= n || s[i] != '=') return "a parameter has no '='";
        i++;
        while (i < n && peer_is_ows(s[i])) i++;
        p->val = o->store + o->used;
        p->raw_off = i;
        p->vlen = 0;
        if (i < n && s[i] == '"') {
            p->quoted = 1;
            i++;
            for (;;) {
                unsigned char c;
                if (i >= n) return "unterminated quoted-string";
                c = (unsigned char)s[i];
                if (c == '"') { i++; break; }
                if (c == '\\') {
                    if (i + 1 >= n) return "unterminated quoted-string";
                    c = (unsigned char)s[i + 1];
                    i += 2;
                } else {
                    i++;
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in a quoted-string";
                p->val[p->vlen++] = (char)c;
            }
        } else {
            size_t vs = i;
            p->quoted = 0;
            while (i < n && peer_is_tchar((unsigned char)s[i])) i++;
            if (i == vs) return "a parameter value is neither a token nor a quoted-string";
            memcpy(p->val, s + vs, i - vs);
            p->vlen = i - vs;
        }
        p->val[p->vlen] = '\0';
        o->used += p->vlen + 1;
        p->raw_len = i - p->raw_off;
        o->n++;
        while (i < n && peer_is_ows(s[i])) i++;
        if (i < n && s[i] != ',') return "parameters are not separated by commas";
    }
}

static const struct dg_param *dg_get(const struct dg_params *o, const char *name) {
    size_t k;
    for (k = 0; k < o->n; k++)
        if (peer_ieq(o->p[k].name, o->p[k].nlen, name)) return &o->p[k];
    return NULL;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* RFC 8187 ext-value (charset "'" [language] "'" value-chars) -> bytes in out (NUL-terminated).
 * NULL if fine, else why not. */
static const char *dg_ext_value(const char *v, size_t n, char *out, size_t cap) {
    const char *q1 = (const char *)memchr(v, '\'', n), *q2, *e = v + n;
    size_t o = 0;
    if (!q1) return "username* is not an RFC 8187 ext-value";
    if (!peer_ieq(v, (size_t)(q1 - v), "UTF-8")) return "username* charset is not UTF-8";
    q2 = (const char *)memchr(q1 + 1, '\'', (size_t)(e - q1 - 1));
    if (!q2) return "username* is not an RFC 8187 ext-value";
    for (v = q2 + 1; v < e; v++) {
        unsigned char c = (unsigned char)*v;
        if (o + 1 >= cap) return "username* is too long";
        if (c == '%') {
            int h1, h2;
            if (e - v < 3 || (h1 = hexval(v[1])) < 0 || (h2 = hexval(v[2])) < 0)
                return "username* has a bad percent-encoding";
            if (h1 == 0 && h2 == 0) return "username* holds a NUL";
            out[o++] = (char)(h1 * 16 + h2);
            v += 2;
        } else if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
                   (c && strchr("!#$&+-.^_`|~", c))) {
            out[o++] = (char)c;
        } else {
            return "username* has a character that must be percent-encoded";
        }
    }
    out[o] = '\0';
    return NULL;
}

/* ------------------------------------------------------------------ nonces */

#define NONCE_SLOTS 256

struct nonce_ent {
    char v[48];
    unsigned long last_nc;
    int retired, used;
};

static struct nonce_ent g_nonces[NONCE_SLOTS];
static unsigned g_nonce_next = 0;
static unsigned long g_nonce_ctr = 0;
static unsigned char g_nonce_key[32];

static void nonce_setup(void) {
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(g_nonce_key, 1, sizeof g_nonce_key, f) : 0;
    if (f) fclose(f);
    if (got != sizeof g_nonce_key) { /* fall back to time and pid: test nonces only */
        double t = peer_now();
        long pid = (long)getpid();
        memcpy(g_nonce_key, &t, sizeof t);
        memcpy(g_nonce_key + sizeof t, &pid, sizeof pid);
    }
}

static const char *nonce_new(void) {
    br_sha256_context h;
    unsigned char d[32], ctr[8];
    struct nonce_ent *e = &g_nonces[g_nonce_next++ % NONCE_SLOTS];
    unsigned i;
    g_nonce_ctr++;
    for (i = 0; i < 8; i++) ctr[i] = (unsigned char)(g_nonce_ctr >> (8 * i));
    br_sha256_init(&h);
    br_sha256_update(&h, g_nonce_key, sizeof g_nonce_key);
    br_sha256_update(&h, ctr, sizeof ctr);
    br_sha256_out(&h, d);
    peer_b64_encode(d, 24, e->v); /* 32 characters, may hold '+' and '/' */
    e->last_nc = 0;
    e->retired = 0;
    e->used = 1;
    return e->v;
}

static struct nonce_ent *nonce_find(const char *v, size_t n) {
    size_t k;
    for (k = 0; k < NONCE_SLOTS; k++)
        if (g_nonces[k].used && strlen(g_nonces[k].v) == n && memcmp(g_nonces[k].v, v, n) == 0)
            return &g_nonces[k];
    return NULL;
}

/* ------------------------------------------------------------------ request log */

static int is_cred_header(const char *name, size_t nlen) {
    return peer_ieq(name, nlen, "Proxy-Authorization") || (g_status401 && peer_ieq(name, nlen, "Authorization"));
}

/* one credentials header line, value redacted */
static void log_redacted_line(const char *l, size_t len, const char *colon) {
    static struct dg_params dp;
    const char *v = colon + 1, *end = l + len, *ve, *sch_end, *rest;
    FILE *f = peer_log_fp;
    ve = end;
    if (ve > v && ve[-1] == '\n') ve--;
    if (ve > v && ve[-1] == '\r') ve--;
    while (ve > v && peer_is_ows(ve[-1])) ve--;
    while (v < ve && peer_is_ows(*v)) v++;
    fwrite(l, 1, (size_t)(v - l), f);
    sch_end = v;
    while (sch_end < ve && !peer_is_ows(*sch_end)) sch_end++;
    fwrite(v, 1, (size_t)(sch_end - v), f);
    rest = sch_end;
    while (rest < ve && peer_is_ows(*rest)) rest++;
    if (rest < ve) {
        const struct dg_param *rp;
        fwrite(sch_end, 1, (size_t)(rest - sch_end), f);
        if (peer_ieq(v, (size_t)(sch_end - v), "Digest") && !dg_parse(rest, (size_t)(ve - rest), &dp)) {
            rp = dg_get(&dp, "response");
            if (rp) {
                fwrite(rest, 1, rp->raw_off, f);
                fputs(rp->quoted ? "\"***\"" : "***", f);
                fwrite(rest + rp->raw_off + rp->raw_len, 1, (size_t)(ve - rest) - rp->raw_off - rp->raw_len, f);
            } else {
                fwrite(rest, 1, (size_t)(ve - rest), f);
            }
        } else {
            fputs("***", f);
        }
    }
    fwrite(ve, 1, (size_t)(end - ve), f);
}

static void log_request(const struct pconn *c, const unsigned char *head, size_t n) {
    size_t pos = 0;
    if (!peer_log_fp) return;
    fprintf(peer_log_fp, "=== request conn: %lu\n", c->id);
    while (pos < n) {
        const char *l = (const char *)head + pos, *colon;
        size_t s = pos;
        while (pos < n && head[pos] != '\n') pos++;
        if (pos < n) pos++;
        colon = (const char *)memchr(l, ':', pos - s);
        if (s > 0 && colon && colon != l && is_cred_header(l, (size_t)(colon - l)))
            log_redacted_line(l, pos - s, colon);
        else
            fwrite(l, 1, pos - s, peer_log_fp);
    }
    fputs("=== end\n", peer_log_fp);
    fflush(peer_log_fp);
}

/* "=== basic-credentials" for each Basic credentials header */
static void log_basic(const struct peer_req *r) {
    static unsigned char dec[PEER_HEAD_LIMIT];
    size_t i;
    for (i = 0; i < r->nh; i++) {
        const struct peer_hdr *h = &r->h[i];
        size_t sl = 0, cs;
        long dl;
        if (!is_cred_header(h->name, h->nlen)) continue;
        while (sl < h->vlen && !peer_is_ows(h->val[sl])) sl++;
        if (!peer_ieq(h->val, sl, "Basic")) continue;
        for (cs = sl; cs < h->vlen && peer_is_ows(h->val[cs]); cs++) continue;
        dl = peer_b64_decode(h->val + cs, h->vlen - cs, dec, sizeof dec);
        if (dl < 0) {
            log_f("=== basic-credentials-invalid: ", "not base64 (%lu bytes)", (unsigned long)(h->vlen - cs));
        } else {
            unsigned char *colon = (unsigned char *)memchr(dec, ':', (size_t)dl), d[32];
            br_sha256_context sh;
            char hex[17];
            int k;
            if (!colon) {
                log_f("=== basic-credentials-invalid: ", "no ':' in the decoded credentials");
            } else {
                br_sha256_init(&sh);
                br_sha256_update(&sh, colon + 1, (size_t)(dec + dl - colon - 1));
                br_sha256_out(&sh, d);
                for (k = 0; k < 8; k++) snprintf(hex + 2 * k, 3, "%02x", d[k]);
                log_f("=== basic-credentials: ", "user=%.*s password-sha256=%s", (int)(colon - dec), (const char *)dec,
                      hex);
            }
            wipe(dec, (size_t)dl);
        }
    }
}

/* ------------------------------------------------------------------ authentication */

enum { AV_OK, AV_CHALLENGE, AV_STALE, AV_TOKEN };

struct auth_res {
    int scheme;     /* the scheme that succeeded (AV_OK) */
    int tok_scheme; /* AV_TOKEN / AV_OK: scheme of tok, else -1 */
    const char *tok; /* AV_TOKEN: server token of the 407; AV_OK: mutual token or NULL */
};

/* set g_why, return AV_CHALLENGE */
static int why_f(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_why, sizeof g_why, fmt, ap);
    va_end(ap);
    return AV_CHALLENGE;
}

static int check_basic(const char *cred, size_t clen) {
    static unsigned char dec[PEER_HEAD_LIMIT];
    long dl = peer_b64_decode(cred, clen, dec, sizeof dec);
    unsigned char *colon;
    int rc = AV_OK;
    if (dl < 0) return why_f("Basic credentials are not base64");
    colon = (unsigned char *)memchr(dec, ':', (size_t)dl);
    if (!colon) rc = why_f("Basic credentials have no ':'");
    else if ((size_t)(colon - dec) != strlen(g_user) || memcmp(dec, g_user, strlen(g_user)) != 0)
        rc = why_f("Basic: wrong user name");
    else if ((size_t)(dec + dl - colon - 1) != strlen(g_pass) || memcmp(colon + 1, g_pass, strlen(g_pass)) != 0)
        rc = why_f("Basic: wrong password");
    wipe(dec, (size_t)dl);
    return rc;
}

static int is_lhex(const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* The Digest verdict. *rstate: "ok", "bad" or "unchecked" for the response. g_why is set
 * for AV_CHALLENGE, and for AV_STALE on a retired nonce; empty for a forced stale. */
static int digest_verdict(const struct peer_req *r, const struct dg_params *dp, const char **rstate) {
    static const char *const quoted[] = { "username", "realm", "nonce", "uri", "response", "cnonce", "opaque" };
    static const char *const tokens[] = { "algorithm", "qop", "nc" };
    static char uname[1024];
    const struct dg_param *pu = dg_get(dp, "username"), *pus = dg_get(dp, "username*");
    const struct dg_param *prealm = dg_get(dp, "realm"), *pnonce = dg_get(dp, "nonce");
    const struct dg_param *puri = dg_get(dp, "uri"), *presp = dg_get(dp, "response");
    const struct dg_param *palg = dg_get(dp, "algorithm"), *pcn = dg_get(dp, "cnonce");
    const struct dg_param *pop = dg_get(dp, "opaque"), *pqop = dg_get(dp, "qop");
    const struct dg_param *pnc = dg_get(dp, "nc"), *puh = dg_get(dp, "userhash");
    const struct dg_alg *alg = NULL;
    struct nonce_ent *ne;
    struct dg_input in;
    char want[65], hex[65];
    unsigned long ncv = 0;
    size_t k;
    int uh = 0, q = 0;
    const char *w;

    *rstate = "unchecked";
    g_why[0] = '\0';
    for (k = 0; k < sizeof quoted / sizeof quoted[0]; k++) {
        const struct dg_param *p = dg_get(dp, quoted[k]);
        if (p && !p->quoted) return why_f("%s must be a quoted-string", quoted[k]);
    }
    for (k = 0; k < sizeof tokens / sizeof tokens[0]; k++) {
        const struct dg_param *p = dg_get(dp, tokens[k]);
        if (p && p->quoted) return why_f("%s must not be quoted", tokens[k]);
    }
    if (!prealm) return why_f("realm missing");
    if (!pnonce) return why_f("nonce missing");
    if (!puri) return why_f("uri missing");
    if (!presp) return why_f("response missing");
    if (pu && pus) return why_f("both username and username*");
    if (!pu && !pus) return why_f("username missing");
    /* algorithm: absent means MD5 */
    for (k = 0; k < g_nalgs; k++) {
        const struct dg_alg *a = &g_alg_table[g_algs[k]];
        if (palg ? (!a->implicit || a->hash == H_MD5) && peer_ieq(palg->val, palg->vlen, a->implicit ? "MD5" : a->name)
                 : (a->hash == H_MD5 && !a->sess)) {
            alg = a;
            break;
        }
    }
    if (!alg) {
        if (palg) return why_f("algorithm=%.40s was not offered", palg->val);
        return why_f("no algorithm (so MD5) but MD5 was not offered");
    }
    if (puh) {
        if (peer_ieq(puh->val, puh->vlen, "true")) uh = 1;
        else if (!peer_ieq(puh->val, puh->vlen, "false")) return why_f("userhash is neither true nor false");
    }
    if (uh && !g_userhash) return why_f("userhash=true but it was not offered");
    if (pus) {
        if (!g_charset) return why_f("username* but charset=UTF-8 was not offered");
        if (uh) return why_f("username* with userhash=true");
        if ((w = dg_ext_value(pus->val, pus->vlen, uname, sizeof uname)) != NULL) return why_f("%s", w);
        if (strcmp(uname, g_user) != 0) return why_f("username* does not match");
    } else if (uh) {
        dg_hjoin(alg->hash, hex, g_user, g_realm, (const char *)NULL);
        if (strcmp(pu->val, hex) != 0) return why_f("userhash username does not match H(user:realm)");
    } else if (pu->vlen != strlen(g_user) || memcmp(pu->val, g_user, pu->vlen) != 0) {
        return why_f("username does not match");
    }
    if (strcmp(prealm->val, g_realm) != 0 || prealm->vlen != strlen(g_realm)) return why_f("realm does not match");
    ne = nonce_find(pnonce->val, pnonce->vlen);
    if (!ne) return why_f("nonce was not issued by this proxy");
    if (puri->vlen != r->tlen || memcmp(puri->val, r->target, r->tlen) != 0)
        return why_f("uri \"%.100s\" is not the request-target \"%.*s\"", puri->val, (int)(r->tlen > 100 ? 100 : r->tlen),
                     r->target);
    if (!g_qop) {
        if (pqop) return why_f("qop=%.20s but the challenge had no qop", pqop->val);
        if (pnc) return why_f("nc without qop");
        if (pcn) return why_f("cnonce without qop");
    } else {
        if (!pqop) return why_f("qop missing");
        if (peer_ieq(pqop->val, pqop->vlen, "auth")) q = Q_AUTH;
        else if (peer_ieq(pqop->val, pqop->vlen, "auth-int")) q = Q_AUTH_INT;
        if (!(q & g_qop)) return why_f("qop=%.20s was not offered", pqop->val);
        if (!pnc) return why_f("nc missing");
        if (pnc->vlen != 8 || !is_lhex(pnc->val, 8)) return why_f("nc=%.20s is not 8 lowercase hex digits", pnc->val);
        ncv = strtoul(pnc->val, NULL, 16);
        if (ncv <= ne->last_nc)
            return why_f("nc=%s is not above the last nc %08lx of this nonce", pnc->val, ne->last_nc);
        if (!pcn || pcn->vlen == 0) return why_f("cnonce missing");
    }
    if (g_opaque && !pop) return why_f("opaque missing");
    if (g_opaque && strcmp(pop->val, g_opaque) != 0) return why_f("opaque does not match");
    if (!g_opaque && pop) return why_f("opaque sent but none was offered");
    if (presp->vlen != dg_hexlen(alg->hash) || !is_lhex(presp->val, presp->vlen))
        return why_f("response is not %u lowercase hex digits", (unsigned)dg_hexlen(alg->hash));
    in.hash = alg->hash;
    in.sess = alg->sess;
    in.qop = q;
    in.user = g_user;
    in.realm = g_realm;
    in.pass = g_pass;
    in.nonce = ne->v;
    in.cnonce = pcn ? pcn->val : "";
    in.nc = pnc ? pnc->val : "";
    in.method = "CONNECT";
    in.uri = puri->val;
    dg_response(&in, want);
    if (strcmp(want, presp->val) != 0) {
        *rstate = "bad";
        if (alg->hash == H_SHA512_256) { /* two known client mistakes */
            in.hash = H_SHA512_TRUNC;
            dg_response(&in, want);
            if (strcmp(want, presp->val) == 0)
                return why_f("response was computed with SHA-512 truncated to 256 bits, not SHA-512/256");
            in.hash = H_SHA256;
            dg_response(&in, want);
            if (strcmp(want, presp->val) == 0)
                return why_f("response was computed with SHA-256, not SHA-512/256");
        }
        return why_f("response is wrong (wrong password?)");
    }
    *rstate = "ok";
    if (ne->retired) {
        why_f("nonce is stale");
        return AV_STALE;
    }
    if (q) ne->last_nc = ncv;
    if (g_stale_done < g_stale_n) {
        g_stale_done++;
        ne->retired = 1;
        return AV_STALE;
    }
    return AV_OK;
}

static int check_digest(const struct peer_req *r, const char *s, size_t n) {
    static struct dg_params dp;
    const char *rstate = "unchecked", *w;
    size_t k;
    int v;
    if ((w = dg_parse(s, n, &dp)) != NULL) return why_f("Digest: %s", w);
    v = digest_verdict(r, &dp, &rstate);
    for (k = 0; k < dp.n; k++) {
        const struct dg_param *p = &dp.p[k];
        if (peer_ieq(p->name, p->nlen, "response"))
            log_f("=== digest-param: ", "%.*s=%s", (int)p->nlen, p->name, rstate);
        else
            log_f("=== digest-param: ", "%.*s=%.900s", (int)p->nlen, p->name, p->val);
    }
    if (v == AV_STALE && !g_why[0]) log_f("=== auth-stale: ", "%ld of %ld", g_stale_done, g_stale_n);
    return v;
}

/* does the token of an NTLM/Negotiate request match round i of script t? */
static int tok_matches(int t, size_t i, const char *tok, size_t tl) {
    static unsigned char dec[PEER_HEAD_LIMIT];
    const char *want = g_rounds[t][i].client;
    if (strcmp(want, "*") == 0) {
        long dl;
        if (t != T_NTLM) return 1;
        dl = peer_b64_decode(tok, tl, dec, sizeof dec);
        if (dl >= 12 && memcmp(dec, "NTLMSSP", 8) == 0) /* 8 bytes: the NUL too */
            return dec[8] == 2 * i + 1 && dec[9] == 0 && dec[10] == 0 && dec[11] == 0;
        return 1;
    }
    return strlen(want) == tl && memcmp(want, tok, tl) == 0;
}

static int check_token(struct pconn *c, int sc, const char *tok, size_t tl, struct auth_res *res) {
    int t = sc == SC_NTLM ? T_NTLM : T_NEGOTIATE;
    size_t n = g_nrounds[t], p = t == T_NTLM ? c->ntlm_done : g_neg_done, i, j;
    const char *name = g_scheme_names[sc];
    if (tl == 0) return why_f("%s without a token", name);
    if (p < n && tok_matches(t, p, tok, tl)) {
        i = p;
    } else if (tok_matches(t, 0, tok, tl)) {
        i = 0;
    } else {
        for (j = 1; j < n && !tok_matches(t, j, tok, tl); j++) continue;
        if (t == T_NEGOTIATE) g_neg_done = 0;
        if (j < n && t == T_NTLM && p == 0) return why_f("NTLM round on a new connection");
        if (j < n) return why_f("%s token of round %lu out of order (expected round %lu)", name,
                                (unsigned long)j + 1, (unsigned long)(p < n ? p + 1 : 1));
        return why_f("%s token does not match round %lu", name, (unsigned long)(p < n ? p + 1 : 1));
    }
    log_f("=== auth-round: ", "%lu conn: %lu", (unsigned long)i + 1, c->id);
    p = i + 1;
    if (p < n) {
        if (t == T_NTLM) c->ntlm_done = p;
        else g_neg_done = p;
        res->tok_scheme = sc;
        res->tok = g_rounds[t][i].server;
        return AV_TOKEN;
    }
    if (t == T_NTLM) c->ntlm_done = 0;
    else g_neg_done = 0;
    if (g_rounds[t][i].server[0]) {
        res->tok_scheme = sc;
        res->tok = g_rounds[t][i].server;
    }
    return AV_OK;
}

static int auth_check(struct pconn *c, const struct peer_req *r, struct auth_res *res) {
    const char *hname = g_status401 ? "Authorization" : "Proxy-Authorization";
    const struct peer_hdr *h;
    size_t sl = 0, i, count = peer_hdr_count(r, hname);
    int sc, v;
    res->scheme = res->tok_scheme = -1;
    res->tok = NULL;
    g_why[0] = '\0';
    if (count == 0) {
        c->ntlm_done = 0;
        return AV_CHALLENGE;
    }
    if (count > 1) {
        v = why_f("more than one %s header", hname);
    } else {
        h = peer_hdr_find(r, hname);
        while (sl < h->vlen && !peer_is_ows(h->val[sl])) sl++;
        for (sc = 0; sc < SC_COUNT; sc++)
            if (peer_ieq(h->val, sl, g_scheme_names[sc])) break;
        for (i = sl; i < h->vlen && peer_is_ows(h->val[i]); i++) continue;
        if (sc == SC_COUNT) {
            v = why_f("unknown scheme %.*s", (int)(sl > 40 ? 40 : sl), h->val);
        } else if (!g_offered[sc]) {
            v = why_f("%s was not offered", g_scheme_names[sc]);
        } else {
            res->scheme = sc;
            switch (sc) {
            case SC_BASIC: v = check_basic(h->val + i, h->vlen - i); break;
            case SC_DIGEST: v = check_digest(r, h->val + i, h->vlen - i); break;
            default: v = check_token(c, sc, h->val + i, h->vlen - i, res); break;
            }
            if (sc != SC_NTLM) c->ntlm_done = 0;
        }
    }
    if (g_why[0]) log_f("=== auth-fail: ", "%s", g_why);
    if (v == AV_CHALLENGE) c->ntlm_done = 0;
    if (v == AV_OK) log_f("=== auth-ok: ", "%s conn: %lu", g_scheme_names[res->scheme], c->id);
    return v;
}

/* ------------------------------------------------------------------ 407 replies */

static const char g_body_pattern[] = "HTTP/1.1 200 OK\r\n\r\nproxy authentication required\n";

static void body_bytes(struct pbuf *b, size_t off, size_t n) {
    size_t plen = sizeof g_body_pattern - 1;
    while (n > 0) {
        size_t at = off % plen, take = plen - at;
        if (take > n) take = n;
        (void)pbuf_append(b, g_body_pattern + at, take);
        off += take;
        n -= take;
    }
}

static void add_challenge(struct pbuf *b, int sc, const struct dg_alg *a, const char *nonce, int stale) {
    pb_puts(b, g_scheme_names[sc]);
    if (sc != SC_BASIC && sc != SC_DIGEST) return;
    pb_puts(b, " realm=");
    pb_quoted(b, g_realm);
    if (sc == SC_BASIC) return;
    if (g_qop == Q_AUTH) pb_puts(b, ", qop=\"auth\"");
    else if (g_qop == Q_AUTH_INT) pb_puts(b, ", qop=\"auth-int\"");
    else if (g_qop) pb_puts(b, ", qop=\"auth, auth-int\"");
    if (!a->implicit) {
        pb_puts(b, ", algorithm=");
        pb_puts(b, a->name);
    }
    pb_puts(b, ", nonce=");
    pb_quoted(b, nonce);
    if (g_opaque) {
        pb_puts(b, ", opaque=");
        pb_quoted(b, g_opaque);
    }
    if (g_charset) pb_puts(b, ", charset=UTF-8");
    if (g_userhash) pb_puts(b, ", userhash=true");
    if (stale) pb_puts(b, ", stale=true");
}

static void add_challenges(struct pbuf *b, const char *hname, int stale) {
    const char *nonce = g_offered[SC_DIGEST] ? nonce_new() : NULL;
    size_t k, a;
    int first = 1;
    for (k = 0; k < g_nschemes; k++) {
        int sc = g_schemes[k];
        size_t count = sc == SC_DIGEST ? g_nalgs : 1;
        for (a = 0; a < count; a++) {
            if (!g_one_header || first) {
                pb_puts(b, hname);
                pb_puts(b, ": ");
            } else {
                pb_puts(b, ", ");
            }
            add_challenge(b, sc, sc == SC_DIGEST ? &g_alg_table[g_algs[a]] : NULL, nonce, stale);
            if (!g_one_header) pb_puts(b, "\r\n");
            first = 0;
        }
    }
    if (g_one_header && !first) pb_puts(b, "\r\n");
}

static void begin_linger(struct pconn *c, const char *resp, size_t len);

/* answer a request that did not authenticate (yet): 407 (401), then keep the connection
 * for the next request or close it */
static void send_auth_reply(struct pconn *c, const struct peer_req *r, size_t hlen, const struct auth_res *res,
                            int stale) {
    const char *hname = g_status401 ? "WWW-Authenticate" : "Proxy-Authenticate";
    int req10 = peer_eq(r->version, r->verlen, "HTTP/1.0");
    int cl_close = peer_hdr_has_token(r, "Connection", "close") || peer_hdr_has_token(r, "Proxy-Connection", "close");
    int cl_ka = peer_hdr_has_token(r, "Connection", "keep-alive") ||
                peer_hdr_has_token(r, "Proxy-Connection", "keep-alive");
    int do_close = g_close_after || g_close_silent || g_http10_407 || g_body == B_EOF || cl_close || (req10 && !cl_ka);
    size_t n = (size_t)g_body_bytes, off;
    struct pbuf b;
    char line[160];
    memset(&b, 0, sizeof b);
    snprintf(line, sizeof line, "%s %s\r\n", g_http10_407 ? "HTTP/1.0" : "HTTP/1.1",
             g_status401 ? "401 Unauthorized" : "407 Proxy Authentication Required");
    pb_puts(&b, line);
    if (res->tok_scheme >= 0) {
        pb_puts(&b, hname);
        pb_puts(&b, ": ");
        pb_puts(&b, g_scheme_names[res->tok_scheme]);
        pb_puts(&b, " ");
        pb_puts(&b, res->tok);
        pb_puts(&b, "\r\n");
    } else {
        add_challenges(&b, hname, stale);
    }
    if (do_close && !g_close_silent && !g_http10_407) pb_puts(&b, "Connection: close\r\n");
    else if (!do_close && req10) pb_puts(&b, "Connection: keep-alive\r\n");
    pb_puts(&b, "Content-Type: text/plain\r\n");
    switch (g_body) {
    case B_NONE: pb_puts(&b, "Content-Length: 0\r\n\r\n"); break;
    case B_LENGTH:
        snprintf(line, sizeof line, "Content-Length: %lu\r\n\r\n", (unsigned long)n);
        pb_puts(&b, line);
        body_bytes(&b, 0, n);
        break;
    case B_EOF:
        pb_puts(&b, "\r\n");
        body_bytes(&b, 0, n);
        break;
    default: /* B_CHUNKED */
        pb_puts(&b, "Transfer-Encoding: chunked\r\nTrailer: X-Test-Trailer\r\n\r\n");
        for (off = 0; off < n;) {
            size_t take = off == 0 ? 7 : 26;
            if (take > n - off) take = n - off;
            snprintf(line, sizeof line, "%lX%s\r\n", (unsigned long)take, off == 0 ? ";wsproxy-ext=1" : "");
            pb_puts(&b, line);
            body_bytes(&b, off, take);
            pb_puts(&b, "\r\n");
            off += take;
        }
        pb_puts(&b, "0\r\nX-Test-Trailer: end\r\n\r\n");
        break;
    }
    log_f("=== auth-challenge: ", "%d conn: %lu next: %s", g_status401 ? 401 : 407, c->id,
          do_close ? "close" : "keep-alive");
    if (do_close) {
        c->auth_close = 1;
        c->discarded = pbuf_pending(&c->in) - hlen;
        begin_linger(c, (const char *)b.p, b.len);
    } else {
        if (pbuf_append(&c->to_c, b.p, b.len) < 0) c->dead = 1;
        pbuf_consume(&c->in, hlen);
    }
    pbuf_free(&b);
}

/* ------------------------------------------------------------------ helpers */

static void begin_linger(struct pconn *c, const char *resp, size_t len) {
    if (len && pbuf_append(&c->to_c, resp, len) < 0) c->dead = 1;
    if (c->ufd >= 0) { close(c->ufd); c->ufd = -1; }
    c->state = P_LINGER;
    c->timer = peer_now() + LINGER_SECONDS;
}

#define LINGER_WITH(c, s) begin_linger((c), (s), sizeof(s) - 1)

/* host:port or [v6]:port -> host (NUL-terminated, brackets removed). 0 ok, -1 malformed */
static int parse_authority(const char *a, size_t n, char *host, size_t hcap, int *v6, int *port) {
    const char *hs, *he, *ps;
    size_t i;
    long p = 0;
    if (n == 0) return -1;
    if (a[0] == '[') {
        he = (const char *)memchr(a, ']', n);
        if (!he) return -1;
        hs = a + 1;
        if (he + 1 >= a + n || he[1] != ':') return -1;
        ps = he + 2;
        *v6 = 1;
    } else {
        const char *colon = (const char *)memchr(a, ':', n);
        if (!colon || memchr(colon + 1, ':', (size_t)(a + n - colon - 1))) return -1;
        hs = a;
        he = colon;
        ps = colon + 1;
        *v6 = 0;
    }
    if (he == hs || (size_t)(he - hs) >= hcap) return -1;
    if (ps >= a + n || a + n - ps > 5) return -1;
    for (i = 0; ps + i < a + n; i++) {
        if (ps[i] < '0' || ps[i] > '9') return -1;
        p = p * 10 + (ps[i] - '0');
    }
    if (p < 1 || p > 65535) return -1;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = (int)p;
    return 0;
}

/* ------------------------------------------------------------------ connecting */

/* the success reply, with the mutual-authentication header when there is one */
static void set_reply(struct pconn *c, const char *canned, size_t len) {
    const char *eol;
    size_t fl, el;
    c->reply = canned;
    c->reply_len = len;
    if (!c->extra_hdr) return;
    eol = (const char *)memchr(canned, '\n', len);
    el = strlen(c->extra_hdr);
    c->reply_buf = (char *)malloc(len + el);
    if (!eol || !c->reply_buf) return;
    fl = (size_t)(eol + 1 - canned);
    memcpy(c->reply_buf, canned, fl);
    memcpy(c->reply_buf + fl, c->extra_hdr, el);
    memcpy(c->reply_buf + fl + el, canned + fl, len - fl);
    c->reply = c->reply_buf;
    c->reply_len = len + el;
}

static void on_connected(struct pconn *c) {
    peer_set_nodelay(c->ufd);
    switch (g_mode) {
    case M_HTTP10: set_reply(c, R_200_10, sizeof R_200_10 - 1); break;
    case M_NOREASON: set_reply(c, R_200_NOREASON, sizeof R_200_NOREASON - 1); break;
    case M_HEADERS: set_reply(c, R_200_HEADERS, sizeof R_200_HEADERS - 1); break;
    default: set_reply(c, R_200, sizeof R_200 - 1); break;
    }
    if (g_mode == M_DRIP) {
        c->state = P_DRIP;
        c->drip_pos = 0;
        c->timer = peer_now(); /* first byte right away */
        return;
    }
    /* reply (and JUNK) go out in one send(): to_c is empty before this */
    if (pbuf_append(&c->to_c, c->reply, c->reply_len) < 0 ||
        (g_mode == M_JUNK && pbuf_append(&c->to_c, "JUNK", 4) < 0)) {
        c->dead = 1;
        return;
    }
    c->state = P_RELAY;
}

static void start_connect(struct pconn *c, int v6, int port) {
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
    struct sockaddr *sa;
    socklen_t sl;
    int fd, r;
    if (v6) {
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons((uint16_t)port);
        s6.sin6_addr = in6addr_loopback;
        sa = (struct sockaddr *)&s6;
        sl = sizeof s6;
    } else { /* 127.0.0.1 or localhost */
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        s4.sin_port = htons((uint16_t)port);
        s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa = (struct sockaddr *)&s4;
        sl = sizeof s4;
    }
    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { LINGER_WITH(c, R_502); return; }
    if (peer_set_nonblock(fd) < 0) { close(fd); LINGER_WITH(c, R_502); return; }
    c->ufd = fd;
    do {
        r = connect(fd, sa, sl);
    } while (r < 0 && errno == EINTR);
    if (r == 0) { on_connected(c); return; }
    if (errno == EINPROGRESS) { c->state = P_CONNECTING; return; }
    LINGER_WITH(c, R_502);
}

static void check_connect(struct pconn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) err = errno;
    if (err == EINPROGRESS || err == EALREADY) return;
    if (err) { LINGER_WITH(c, R_502); return; }
    on_connected(c);
}

/* ------------------------------------------------------------------ request head */

static void build_oversize(struct pconn *c) {
    char line[128];
    size_t total = 0;
    unsigned i = 0;
    int n;
    static const char xs[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    pbuf_append(&c->to_c, "HTTP/1.1 200 OK\r\n", 17);
    while (total < 100u * 1024u) {
        n = snprintf(line, sizeof line, "X-Filler-%05u: %s\r\n", i++, xs);
        if (pbuf_append(&c->to_c, line, (size_t)n) < 0) { c->dead = 1; return; }
        total += (size_t)n;
    }
    pbuf_append(&c->to_c, "\r\n", 2);
}

/* handles one request head of c->in; afterwards the head is consumed (407 kept alive) or
 * the connection has left P_HEAD */
static void handle_head(struct pconn *c, size_t hlen) {
    static struct peer_req r;
    char host[256];
    int v6 = 0, port = 0, rc;

    log_request(c, pbuf_data(&c->in), hlen);
    peer_tls_log_info(c->tls);
    rc = peer_parse_head((const char *)pbuf_data(&c->in), hlen, &r);
    if (rc == 0) log_basic(&r);
    if (rc == -2) { LINGER_WITH(c, R_431); return; }
    if (rc != 0) { LINGER_WITH(c, R_400); return; }
    if (!peer_eq(r.method, r.mlen, "CONNECT")) { LINGER_WITH(c, R_405); return; }
    if (!peer_eq(r.version, r.verlen, "HTTP/1.1") && !peer_eq(r.version, r.verlen, "HTTP/1.0")) {
        LINGER_WITH(c, R_400);
        return;
    }
    if (parse_authority(r.target, r.tlen, host, sizeof host, &v6, &port) < 0) {
        LINGER_WITH(c, R_400);
        return;
    }
    if (auth_on()) {
        struct auth_res ar;
        int v = auth_check(c, &r, &ar);
        if (v != AV_OK) {
            send_auth_reply(c, &r, hlen, &ar, v == AV_STALE);
            return;
        }
        if (ar.tok) { /* mutual authentication: the token rides on the 200 */
            const char *hname = g_status401 ? "WWW-Authenticate" : "Proxy-Authenticate";
            size_t need = strlen(hname) + strlen(g_scheme_names[ar.tok_scheme]) + strlen(ar.tok) + 6;
            free(c->extra_hdr);
            c->extra_hdr = (char *)malloc(need);
            if (!c->extra_hdr) { c->dead = 1; return; }
            snprintf(c->extra_hdr, need, "%s: %s %s\r\n", hname, g_scheme_names[ar.tok_scheme], ar.tok);
        }
    }
    switch (g_mode) {
    case M_STATUS403: LINGER_WITH(c, R_403); return;
    case M_STATUS502: LINGER_WITH(c, R_502); return;
    case M_REFUSE_TARGET: LINGER_WITH(c, R_502); return;
    case M_STATUS407: LINGER_WITH(c, R_407); return;
    case M_OVERSIZE: build_oversize(c); begin_linger(c, NULL, 0); return;
    case M_CLOSEMID: LINGER_WITH(c, "HTTP/1.1 200 Conn"); return;
    case M_SILENT: c->state = P_SILENT; pbuf_consume(&c->in, pbuf_pending(&c->in)); return;
    default: break; /* modes that tunnel */
    }
    if (!(v6 ? strcmp(host, "::1") == 0
             : (strcmp(host, "127.0.0.1") == 0 || peer_ieq(host, strlen(host), "localhost")))) {
        LINGER_WITH(c, R_403);
        return;
    }
    /* bytes the client sent after the head belong to the tunnel */
    if (pbuf_append(&c->to_u, pbuf_data(&c->in) + hlen, pbuf_pending(&c->in) - hlen) < 0) {
        c->dead = 1;
        return;
    }
    pbuf_free(&c->in);
    start_connect(c, v6, port);
}

/* ------------------------------------------------------------------ I/O steps */

/* read from fd into dst (NULL = discard, counted in *dropped) while dst is below limit.
 * 1 = EOF, -1 = error */
static int read_side(int fd, struct pbuf *dst, size_t limit, size_t *dropped) {
    int rounds;
    for (rounds = 0; rounds < 16; rounds++) {
        size_t room = sizeof peer_scratch;
        ssize_t n;
        if (dst) {
            if (pbuf_pending(dst) >= limit) return 0;
            if (limit - pbuf_pending(dst) < room) room = limit - pbuf_pending(dst);
        }
        n = recv(fd, peer_scratch, room, 0);
        if (n > 0) {
            if (dst && pbuf_append(dst, peer_scratch, (size_t)n) < 0) return -1;
            if (!dst && dropped) *dropped += (size_t)n;
            continue;
        }
        if (n == 0) return 1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
    return 0;
}

/* TLS client side: one pump between the client socket, the engine and the plaintext queues
 * (client plaintext goes to c->in while the head is read, to c->to_u afterwards) */
static long tls_client_io(struct pconn *c) {
    struct pbuf *in = NULL; /* NULL: read and discard */
    size_t lim = 0;
    long r;
    switch (c->state) {
    case P_HEAD: in = &c->in; lim = PEER_HEAD_LIMIT; break;
    case P_CONNECTING: case P_DRIP: case P_RELAY: in = &c->to_u; lim = c->c_eof ? 0 : RELAY_HIGH; break;
    default: break;
    }
    r = peer_tls_pump(c->tls, c->cfd, in, lim, &c->to_c);
    if (!in && c->state == P_LINGER) c->discarded += c->tls->pulled;
    if (r < 0) { c->dead = 1; return -1; }
    if (peer_tls_eof(c->tls)) c->c_eof = 1;
    if (peer_tls_closed(c->tls)) c->c_shut = 1; /* nothing more can reach the client */
    if (c->tls->pulled || c->tls->more) c->again = 1;
    return r;
}

/* everything for the client is out: close_notify (TLS), then shutdown(SHUT_WR) */
static void shut_client(struct pconn *c) {
    if (c->c_shut) return;
    if (c->tls) {
        peer_tls_close(c->tls);
        if (tls_client_io(c) < 0 || c->c_shut || !peer_tls_write_done(c->tls)) return;
    }
    shutdown(c->cfd, SHUT_WR);
    c->c_shut = 1;
}

static void relay_step(struct pconn *c, short rc_, short ru) {
    int r;
    if (!c->tls && (rc_ & (POLLIN | POLLHUP | POLLERR)) && !c->c_eof) {
        r = read_side(c->cfd, &c->to_u, RELAY_HIGH, NULL);
        if (r < 0) { c->dead = 1; return; }
        if (r > 0) c->c_eof = 1;
    }
    if ((ru & (POLLIN | POLLHUP | POLLERR)) && !c->u_eof) {
        r = read_side(c->ufd, &c->to_c, RELAY_HIGH, NULL);
        if (r < 0) { c->dead = 1; return; }
        if (r > 0) c->u_eof = 1;
    }
    if (pbuf_flush(&c->to_u, c->ufd) < 0) { c->dead = 1; return; }
    if (c->tls ? tls_client_io(c) < 0 : pbuf_flush(&c->to_c, c->cfd) < 0) { c->dead = 1; return; }
    if (c->c_eof && !c->u_shut && pbuf_pending(&c->to_u) == 0) { shutdown(c->ufd, SHUT_WR); c->u_shut = 1; }
    if (c->u_eof && !c->c_shut && pbuf_pending(&c->to_c) == 0) shut_client(c);
    if (c->dead) return;
    if (c->c_shut && c->u_shut) c->dead = 1; /* both directions finished */
}

static void linger_step(struct pconn *c, short rc_) {
    long sent;
    if (!c->tls && (rc_ & (POLLIN | POLLHUP | POLLERR)) && !c->c_eof) {
        int r = read_side(c->cfd, NULL, 0, &c->discarded);
        if (r < 0) { c->dead = 1; return; }
        if (r > 0) c->c_eof = 1;
    }
    sent = c->tls ? tls_client_io(c) : pbuf_flush(&c->to_c, c->cfd);
    if (sent < 0) { c->dead = 1; return; }
    if (sent > 0) c->timer = peer_now() + LINGER_SECONDS;
    if (pbuf_pending(&c->to_c) == 0) {
        shut_client(c);
        if (c->c_eof && c->c_shut) c->dead = 1;
    }
}

static void drip_step(struct pconn *c, double now) {
    if (c->tls) { /* one byte per TLS record */
        if (pbuf_pending(&c->to_c) == 0) {
            if (pbuf_append(&c->to_c, c->reply + c->drip_pos, 1) < 0) { c->dead = 1; return; }
            c->drip_pos++;
        }
        if (tls_client_io(c) < 0) return;
        if (c->drip_pos >= c->reply_len && pbuf_pending(&c->to_c) != 0) { c->timer = now + DRIP_INTERVAL; return; }
    } else {
        ssize_t n = send(c->cfd, c->reply + c->drip_pos, 1, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { c->dead = 1; return; }
        if (n == 1) c->drip_pos++;
    }
    if (c->drip_pos >= c->reply_len) {
        c->state = P_RELAY;
        c->timer = 0;
        relay_step(c, 0, 0);
        return;
    }
    c->timer = now + DRIP_INTERVAL;
}

static void service(struct pconn *c, short rc_, short ru) {
    int r;
    if (c->tls) {
        c->again = 0;
        if (tls_client_io(c) < 0) return;
    }
    switch (c->state) {
    case P_HEAD: {
        size_t hlen;
        if (!c->tls && (rc_ & (POLLIN | POLLHUP | POLLERR))) {
            r = read_side(c->cfd, &c->in, PEER_HEAD_LIMIT, NULL);
            if (r < 0) { c->dead = 1; return; }
            if (r > 0) c->c_eof = 1;
        }
        /* every complete head (a 407 that keeps the connection consumes its head) */
        while (c->state == P_HEAD && !c->dead) {
            if (g_mode != M_SILENT && peer_head_garbage(pbuf_data(&c->in), pbuf_pending(&c->in))) {
                LINGER_WITH(c, R_400);
                break;
            }
            hlen = peer_head_end(pbuf_data(&c->in), pbuf_pending(&c->in));
            if (hlen > PEER_HEAD_LIMIT || (hlen == 0 && pbuf_pending(&c->in) >= PEER_HEAD_LIMIT)) {
                LINGER_WITH(c, R_431);
                break;
            }
            if (hlen == 0) break;
            handle_head(c, hlen);
        }
        if (c->dead) return;
        if (c->state == P_HEAD) { /* waiting for the next request: the 407 goes out */
            if (c->tls) {
                if (tls_client_io(c) < 0) return;
            } else if (pbuf_flush(&c->to_c, c->cfd) < 0) {
                c->dead = 1;
                return;
            }
            if (c->c_eof) {
                begin_linger(c, NULL, 0);
                linger_step(c, 0);
            }
            return;
        }
        if (c->state == P_LINGER) linger_step(c, 0);
        else if (c->state == P_RELAY) relay_step(c, 0, 0);
        return;
    }
    case P_CONNECTING:
        if (ru) {
            check_connect(c);
            if (c->dead) return;
            if (c->state == P_LINGER) linger_step(c, 0);
            else if (c->state == P_RELAY) relay_step(c, 0, 0);
        }
        return;
    case P_RELAY:
        relay_step(c, rc_, ru);
        return;
    case P_SILENT:
        if (c->tls) {
            if (c->c_eof) c->dead = 1;
        } else if (rc_) {
            r = read_side(c->cfd, NULL, 0, NULL);
            if (r != 0) c->dead = 1; /* client closed (or error) */
        }
        return;
    case P_LINGER:
        linger_step(c, rc_);
        return;
    default: /* P_DRIP: timer driven */
        return;
    }
}

static void conn_free(struct pconn *c) {
    if (c->auth_close && c->discarded)
        log_f("=== auth-discarded: ", "%lu bytes conn: %lu", (unsigned long)c->discarded, c->id);
    if (c->cfd >= 0) close(c->cfd);
    if (c->ufd >= 0) close(c->ufd);
    c->cfd = c->ufd = -1;
    if (c->tls) peer_tls_free(c->tls);
    c->tls = NULL;
    if (c->in.p) wipe(c->in.p, c->in.cap); /* may hold credentials */
    pbuf_free(&c->in);
    pbuf_free(&c->to_c);
    pbuf_free(&c->to_u);
    free(c->extra_hdr);
    free(c->reply_buf);
    c->extra_hdr = c->reply_buf = NULL;
}

/* ------------------------------------------------------------------ selftest */

static int g_st_pass = 0, g_st_fail = 0;

static void st_check(const char *name, int ok, const char *got, const char *want) {
    if (ok) {
        printf("ok - %s\n", name);
        g_st_pass++;
    } else {
        printf("FAIL - %s: got '%s', expected '%s'\n", name, got, want);
        g_st_fail++;
    }
}

static void st_eq(const char *name, const char *got, const char *want) { st_check(name, strcmp(got, want) == 0, got, want); }

/* qop=auth, nc=00000001 and these */
static void st_input(struct dg_input *in, const char *user, const char *realm, const char *pass, const char *nonce,
                     const char *cnonce, const char *method, const char *uri) {
    memset(in, 0, sizeof *in);
    in->user = user;
    in->realm = realm;
    in->pass = pass;
    in->nonce = nonce;
    in->cnonce = cnonce;
    in->nc = "00000001";
    in->method = method;
    in->uri = uri;
    in->qop = Q_AUTH;
}

/* the response of *in hashed with `hash` must be `want` */
static void st_resp(const char *name, struct dg_input *in, int hash, const char *want) {
    char out[65];
    in->hash = hash;
    dg_response(in, out);
    st_eq(name, out, want);
}

static int selftest(void) {
    /* RFC 7616 3.9.1 */
    static const char n391[] = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    static const char c391[] = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    /* RFC 7616 3.9.2 */
    static const char n392[] = "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK";
    static const char c392[] = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v";
    static const char jason[] = "J\xc3\xa4s\xc3\xb8n Doe";
    static const char hdr391[] =
        "username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", algorithm=MD5, "
        "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
        "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
        "response=\"8ca523f5e9506fed4657c9700eebdbec\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
    static struct dg_params dp;
    struct dg_input in;
    char out[65], buf[128];
    struct dg_hash h;
    const char *w;
    const struct dg_param *p;

    st_input(&in, "Mufasa", "http-auth@example.org", "Circle of Life", n391, c391, "GET", "/dir/index.html");
    st_resp("RFC 7616 3.9.1 MD5 response", &in, H_MD5,
            "8ca523f5e9506fed4657c9700eebdbec");
    st_resp("RFC 7616 3.9.1 SHA-256 response", &in, H_SHA256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");

    /* the same inputs with -sess, and auth-int of a CONNECT (expected values computed with
     * Python's hashlib, independently of this code) */
    in.sess = 1;
    st_resp("MD5-sess response (hashlib)", &in, H_MD5,
            "e783283f46242139c486a698fec7211d");
    st_resp("SHA-256-sess response (hashlib)", &in, H_SHA256,
            "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7");
    st_resp("SHA-512-256-sess response (hashlib)", &in, H_SHA512_256,
            "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e");
    in.sess = 0;
    in.qop = Q_AUTH_INT;
    in.method = "CONNECT";
    in.uri = "127.0.0.1:8080";
    in.nc = "0000000a";
    st_resp("MD5 auth-int CONNECT response (hashlib)", &in, H_MD5,
            "a5fbc1dd48c4263f8b590b69280fe003");
    st_resp("SHA-256 auth-int CONNECT response (hashlib)", &in, H_SHA256,
            "3dfeb151718d7ba5ea60bde4ad00e00ef32d3fc715012f3786232e308ce2a1e9");

    /* RFC 2617 3.5 (qop=auth) and RFC 2069 2.4 (no qop) */
    st_input(&in, "Mufasa", "testrealm@host.com", "Circle Of Life", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b",
             "GET", "/dir/index.html");
    st_resp("RFC 2617 3.5 MD5 qop=auth response", &in, H_MD5, "6629fae49393a05397450978507c4ef1");
    in.pass = "CircleOfLife";
    in.qop = 0;
    st_resp("RFC 2069 2.4 MD5 response without qop", &in, H_MD5, "1949323746fe6a43ef61f9606e7febea");

    /* FIPS 180-4 SHA-512/256 */
    dg_hinit(&h, H_SHA512_256);
    dg_hup(&h, "abc", 3);
    dg_hhex(&h, out);
    st_eq("SHA-512/256(\"abc\") (FIPS 180-4 example)", out,
          "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");

    /* RFC 7616 3.9.2: the published values come out of SHA-512 truncated to 256 bits */
    st_input(&in, jason, "api@example.org", "Secret, or not?", n392, c392, "GET", "/doe.json");
    dg_hjoin(H_SHA512_TRUNC, out, jason, "api@example.org", (const char *)NULL);
    st_eq("RFC 7616 3.9.2 userhash as published (SHA-512 truncated)", out,
          "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec");
    st_resp("RFC 7616 3.9.2 response as published (SHA-512 truncated)", &in, H_SHA512_TRUNC,
            "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd");
    dg_hjoin(H_SHA512_256, out, jason, "api@example.org", (const char *)NULL);
    st_eq("RFC 7616 3.9.2 userhash with FIPS SHA-512/256 (hashlib)", out,
          "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
    st_resp("RFC 7616 3.9.2 response with FIPS SHA-512/256 (hashlib)", &in, H_SHA512_256,
            "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");

    /* RFC 7616 3.4.4 / RFC 8187 username* */
    w = dg_ext_value("UTF-8''J%C3%A4s%C3%B8n%20Doe", 28, buf, sizeof buf);
    st_check("username* UTF-8''J%C3%A4s%C3%B8n%20Doe decodes", !w && strcmp(buf, jason) == 0, w ? w : buf, jason);
    w = dg_ext_value("ISO-8859-1''J%E4s", 17, buf, sizeof buf);
    st_check("username* in ISO-8859-1 is refused", w != NULL, "accepted", "an error");
    w = dg_ext_value("UTF-8''J s", 10, buf, sizeof buf);
    st_check("username* with a bare space is refused", w != NULL, "accepted", "an error");

    /* the parser */
    w = dg_parse(hdr391, strlen(hdr391), &dp);
    p = dg_get(&dp, "response");
    st_check("RFC 7616 3.9.1 Authorization parses", !w && dp.n == 10 && p && p->quoted &&
             strcmp(p->val, "8ca523f5e9506fed4657c9700eebdbec") == 0, w ? w : "other values", "10 parameters");
    p = dg_get(&dp, "qop");
    st_check("qop=auth is a token", p && !p->quoted && strcmp(p->val, "auth") == 0, p ? p->val : "(none)", "auth");
    w = dg_parse("realm=\"wsproxy \\\"test\\\"\" , ,nonce=abc", 36, &dp);
    p = dg_get(&dp, "realm");
    st_check("quoted-pair escapes and empty list elements", !w && dp.n == 2 && p && strcmp(p->val, "wsproxy \"test\"") == 0,
             w ? w : (p ? p->val : "(none)"), "wsproxy \"test\"");
    w = dg_parse("nonce=\"a\", NONCE=\"b\"", 20, &dp);
    st_check("duplicate parameter refused", w && strstr(w, "duplicate"), w ? w : "accepted", "duplicate parameter");
    w = dg_parse("realm=\"open", 11, &dp);
    st_check("unterminated quoted-string refused", w != NULL, "accepted", "an error");
    w = dg_parse("dXNlcjpwYXNz", 12, &dp);
    st_check("token68 instead of parameters refused", w != NULL, "accepted", "an error");
    w = dg_parse("a=b c=d", 7, &dp);
    st_check("parameters without a comma refused", w != NULL, "accepted", "an error");

    printf("%d passed, %d failed\n", g_st_pass, g_st_fail);
    return g_st_fail ? 1 : 0;
}

/* ------------------------------------------------------------------ main */

static void usage(void) {
    fprintf(stderr,
            "usage: http_proxy [--port N] [--port-file F] [--log F] [--max-seconds S]\n"
            "                  [--max-conns N] [--mode MODE]\n"
            "                  [--tls-cert FILE --tls-key FILE [--tls-require-sni NAME]\n"
            "                   [--tls-client-ca FILE] [--tls-suites NAME] [--tls-no-resume]]\n"
            "                  [--auth USER:PASS] [--auth-schemes basic,digest,ntlm,negotiate]\n"
            "                  [--auth-one-header] [--realm R] [--status401]\n"
            "                  [--digest-algorithm A]... [--digest-qop auth|auth-int|auth,auth-int|none]\n"
            "                  [--digest-opaque V] [--digest-userhash] [--digest-charset] [--digest-stale N]\n"
            "                  [--token-scheme NTLM|Negotiate [--token-round CLIENT_B64:SERVER_B64]...]...\n"
            "                  [--close-after-407 | --close-after-407-silent | --http10-407]\n"
            "                  [--407-body none|length|chunked|eof] [--407-body-bytes N]\n"
            "       http_proxy --selftest\n"
            "modes: normal status403 status502 status407 http10 noreason headers drip\n"
            "       junk oversize closemid silent refuse-target\n"
            "digest algorithms: MD5 MD5-sess SHA-256 SHA-256-sess SHA-512-256 SHA-512-256-sess MD5-implicit\n");
    exit(2);
}

static void die(const char *msg) {
    fprintf(stderr, "http_proxy: %s\n", msg);
    exit(2);
}

static void add_pfd(struct pollfd *pfds, size_t *np, int fd, short ev, int *pi) {
    if (fd < 0 || ev == 0) { *pi = -1; return; } /* events 0: not polled (avoids POLLHUP spin) */
    pfds[*np].fd = fd;
    pfds[*np].events = ev;
    pfds[*np].revents = 0;
    *pi = (int)(*np)++;
}

/* parse the authentication options; 1 if argv[*i] was one */
static int auth_opt(int argc, char **argv, int *i, int *tok_scheme, int *digest_opts, int *schemes_given) {
    const char *v;
    if (peer_opt(argc, argv, i, "--auth-schemes", &v)) {
        const char *p = v;
        *schemes_given = 1;
        g_nschemes = 0;
        memset(g_offered, 0, sizeof g_offered);
        while (*p) {
            size_t len = strcspn(p, ","), k;
            for (k = 0; k < SC_COUNT; k++)
                if (strlen(g_scheme_opts[k]) == len && strncmp(p, g_scheme_opts[k], len) == 0) break;
            if (k == SC_COUNT) die("--auth-schemes: unknown scheme (basic, digest, ntlm, negotiate)");
            if (g_offered[k]) die("--auth-schemes: a scheme is listed twice");
            if (g_nschemes >= MAX_LIST) die("--auth-schemes: too many");
            g_offered[k] = 1;
            g_schemes[g_nschemes++] = (int)k;
            p += len;
            if (*p == ',') p++;
        }
        if (!g_nschemes) die("--auth-schemes: empty list");
        return 1;
    }
    if (peer_opt(argc, argv, i, "--auth", &v)) {
        const char *colon = strchr(v, ':');
        if (!colon) die("--auth needs USER:PASS");
        free(g_user);
        g_user = (char *)malloc((size_t)(colon - v) + 1);
        if (!g_user) die("out of memory");
        memcpy(g_user, v, (size_t)(colon - v));
        g_user[colon - v] = '\0';
        g_pass = colon + 1;
        return 1;
    }
    if (strcmp(argv[*i], "--auth-one-header") == 0) { g_one_header = 1; return 1; }
    if (strcmp(argv[*i], "--status401") == 0) { g_status401 = 1; return 1; }
    if (peer_opt(argc, argv, i, "--realm", &v)) { g_realm = v; return 1; }
    if (peer_opt(argc, argv, i, "--digest-algorithm", &v)) {
        size_t k;
        for (k = 0; k < N_ALGS; k++)
            if (strcmp(v, g_alg_table[k].name) == 0) break;
        if (k == N_ALGS) die("--digest-algorithm: MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256, "
                             "SHA-512-256-sess or MD5-implicit");
        if (g_nalgs >= MAX_LIST) die("--digest-algorithm: too many");
        g_algs[g_nalgs++] = (int)k;
        *digest_opts = 1;
        return 1;
    }
    if (peer_opt(argc, argv, i, "--digest-qop", &v)) {
        if (strcmp(v, "auth") == 0) g_qop = Q_AUTH;
        else if (strcmp(v, "auth-int") == 0) g_qop = Q_AUTH_INT;
        else if (strcmp(v, "auth,auth-int") == 0) g_qop = Q_AUTH | Q_AUTH_INT;
        else if (strcmp(v, "none") == 0) g_qop = 0;
        else die("--digest-qop: auth, auth-int, auth,auth-int or none");
        *digest_opts = 1;
        return 1;
    }
    if (peer_opt(argc, argv, i, "--digest-opaque", &v)) { g_opaque = v; *digest_opts = 1; return 1; }
    if (strcmp(argv[*i], "--digest-userhash") == 0) { g_userhash = 1; *digest_opts = 1; return 1; }
    if (strcmp(argv[*i], "--digest-charset") == 0) { g_charset = 1; *digest_opts = 1; return 1; }
    if (peer_opt(argc, argv, i, "--digest-stale", &v)) {
        g_stale_n = peer_atol(v, "--digest-stale", 0, 1000000);
        *digest_opts = 1;
        return 1;
    }
    if (peer_opt(argc, argv, i, "--token-scheme", &v)) {
        if (strcmp(v, "NTLM") == 0) *tok_scheme = T_NTLM;
        else if (strcmp(v, "Negotiate") == 0) *tok_scheme = T_NEGOTIATE;
        else die("--token-scheme: NTLM or Negotiate");
        return 1;
    }
    if (peer_opt(argc, argv, i, "--token-round", &v)) {
        const char *colon = strchr(v, ':');
        char *cl;
        struct token_round *tr;
        if (*tok_scheme < 0) die("--token-round needs a --token-scheme before it");
        if (!colon) die("--token-round needs CLIENT_B64:SERVER_B64");
        if (g_nrounds[*tok_scheme] >= MAX_ROUNDS) die("--token-round: at most 16 rounds per scheme");
        if (colon == v) die("--token-round: CLIENT_B64 is empty (use * for any token)");
        cl = (char *)malloc((size_t)(colon - v) + 1);
        if (!cl) die("out of memory");
        memcpy(cl, v, (size_t)(colon - v));
        cl[colon - v] = '\0';
        tr = &g_rounds[*tok_scheme][g_nrounds[*tok_scheme]++];
        tr->client = cl;
        tr->server = colon + 1;
        return 1;
    }
    if (strcmp(argv[*i], "--close-after-407") == 0) { g_close_after = 1; return 1; }
    if (strcmp(argv[*i], "--close-after-407-silent") == 0) { g_close_silent = 1; return 1; }
    if (strcmp(argv[*i], "--http10-407") == 0) { g_http10_407 = 1; return 1; }
    if (peer_opt(argc, argv, i, "--407-body-bytes", &v)) {
        g_body_bytes = peer_atol(v, "--407-body-bytes", 0, 16L * 1024 * 1024);
        return 1;
    }
    if (peer_opt(argc, argv, i, "--407-body", &v)) {
        if (strcmp(v, "none") == 0) g_body = B_NONE;
        else if (strcmp(v, "length") == 0) g_body = B_LENGTH;
        else if (strcmp(v, "chunked") == 0) g_body = B_CHUNKED;
        else if (strcmp(v, "eof") == 0) g_body = B_EOF;
        else die("--407-body: none, length, chunked or eof");
        return 1;
    }
    return 0;
}

static void auth_validate(int digest_opts, int schemes_given) {
    size_t t, k;
    if (!schemes_given && g_user) { /* --auth alone: Basic, as before */
        g_schemes[g_nschemes++] = SC_BASIC;
        g_offered[SC_BASIC] = 1;
    }
    if ((g_offered[SC_BASIC] || g_offered[SC_DIGEST]) && !g_user) die("basic and digest need --auth USER:PASS");
    if (digest_opts && !g_offered[SC_DIGEST]) die("--digest-* options need digest in --auth-schemes");
    if (g_offered[SC_DIGEST] && g_nalgs == 0) g_algs[g_nalgs++] = 0; /* MD5 */
    if (!g_qop)
        for (k = 0; k < g_nalgs; k++)
            if (g_alg_table[g_algs[k]].sess) die("--digest-qop none does not go with a -sess algorithm");
    if (g_nrounds[T_NTLM] && !g_offered[SC_NTLM]) die("NTLM rounds given but ntlm is not in --auth-schemes");
    if (g_nrounds[T_NEGOTIATE] && !g_offered[SC_NEGOTIATE])
        die("Negotiate rounds given but negotiate is not in --auth-schemes");
    if (g_offered[SC_NTLM] && !g_nrounds[T_NTLM]) die("ntlm needs --token-scheme NTLM --token-round ...");
    if (g_offered[SC_NEGOTIATE] && !g_nrounds[T_NEGOTIATE])
        die("negotiate needs --token-scheme Negotiate --token-round ...");
    for (t = 0; t < 2; t++)
        for (k = 0; k + 1 < g_nrounds[t]; k++)
            if (!g_rounds[t][k].server[0]) die("--token-round: SERVER_B64 may be empty only in the last round");
    if (g_close_after + g_close_silent + g_http10_407 > 1)
        die("--close-after-407, --close-after-407-silent and --http10-407 exclude each other");
    if (g_http10_407 && g_body == B_CHUNKED) die("--http10-407 cannot send a chunked body");
    if (strchr(g_realm, '\r') || strchr(g_realm, '\n') || (g_opaque && (strchr(g_opaque, '\r') || strchr(g_opaque, '\n'))))
        die("--realm and --digest-opaque cannot hold CR or LF");
}

int main(int argc, char **argv) {
    struct peer_opts o;
    struct pollfd *pfds;
    int lfd, i, tok_scheme = -1, digest_opts = 0, schemes_given = 0;
    double deadline, accept_pause_until = 0;
    size_t k;

    peer_opts_init(&o);
    for (i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--selftest") == 0) return selftest();
        if (peer_common_opt(argc, argv, &i, &o)) continue;
        if (auth_opt(argc, argv, &i, &tok_scheme, &digest_opts, &schemes_given)) continue;
        if (peer_opt(argc, argv, &i, "--mode", &v)) {
            size_t m, nm = sizeof g_mode_names / sizeof g_mode_names[0];
            for (m = 0; m < nm; m++)
                if (strcmp(v, g_mode_names[m]) == 0) break;
            if (m == nm) { fprintf(stderr, "unknown mode: %s\n", v); usage(); }
            g_mode = (int)m;
            continue;
        }
        usage();
    }
    auth_validate(digest_opts, schemes_given);
    nonce_setup();

    peer_tls_setup(&o);
    peer_install_signals();
    peer_raise_nofile();
    peer_log_open(o.log_path);
    g_conns = (struct pconn *)calloc((size_t)o.max_conns, sizeof *g_conns);
    pfds = (struct pollfd *)calloc(2 * (size_t)o.max_conns + 1, sizeof *pfds);
    if (!g_conns || !pfds) { fprintf(stderr, "out of memory\n"); return 1; }
    lfd = peer_listen(&o);
    deadline = peer_now() + o.max_seconds;

    while (!peer_stop_flag) {
        double now = peer_now(), next = deadline;
        size_t np = 0;
        int timeout, lpi = -1, rc;
        if (now >= deadline) break;
        if (g_nconns < (size_t)o.max_conns && now >= accept_pause_until) {
            add_pfd(pfds, &np, lfd, POLLIN, &lpi);
        } else if (accept_pause_until > now && accept_pause_until < next) {
            next = accept_pause_until;
        }
        for (k = 0; k < g_nconns; k++) {
            struct pconn *c = &g_conns[k];
            short ec = 0, eu = 0;
            switch (c->state) {
            case P_HEAD:
                ec = pbuf_pending(&c->in) < PEER_HEAD_LIMIT ? POLLIN : 0;
                if (pbuf_pending(&c->to_c)) ec |= POLLOUT; /* a 407 on a kept connection */
                break;
            case P_CONNECTING: eu = POLLOUT; break;
            case P_RELAY:
                if (!c->c_eof && pbuf_pending(&c->to_u) < RELAY_HIGH) ec |= POLLIN;
                if (pbuf_pending(&c->to_c)) ec |= POLLOUT;
                if (!c->u_eof && pbuf_pending(&c->to_c) < RELAY_HIGH) eu |= POLLIN;
                if (pbuf_pending(&c->to_u)) eu |= POLLOUT;
                break;
            case P_SILENT: ec = POLLIN; break;
            case P_LINGER:
                if (!c->c_eof) ec |= POLLIN;
                if (pbuf_pending(&c->to_c)) ec |= POLLOUT;
                break;
            default: break;
            }
            if (c->tls) { /* the engine decides what the client socket needs */
                int want_in;
                switch (c->state) {
                case P_HEAD: want_in = pbuf_pending(&c->in) < PEER_HEAD_LIMIT; break;
                case P_CONNECTING: case P_DRIP: case P_RELAY:
                    want_in = !c->c_eof && pbuf_pending(&c->to_u) < RELAY_HIGH;
                    break;
                default: want_in = !c->c_eof; break; /* silent, linger: read and discard */
                }
                ec = peer_tls_events(c->tls, want_in);
                if (c->again) next = now;
            }
            add_pfd(pfds, &np, c->cfd, ec, &c->pic);
            add_pfd(pfds, &np, c->ufd, eu, &c->piu);
            if (c->timer > 0 && c->timer < next) next = c->timer;
        }
        timeout = peer_ms_until(next, now);
        rc = poll(pfds, (nfds_t)np, timeout);
        if (rc < 0 && errno != EINTR) { perror("poll"); break; }
        now = peer_now();
        for (k = 0; k < g_nconns; k++) {
            struct pconn *c = &g_conns[k];
            short rc_ = (rc > 0 && c->pic >= 0) ? pfds[c->pic].revents : 0;
            short ru = (rc > 0 && c->piu >= 0) ? pfds[c->piu].revents : 0;
            if (rc_ || ru || c->again) service(c, rc_, ru);
            if (!c->dead && c->timer > 0 && now >= c->timer) {
                if (c->state == P_DRIP) drip_step(c, now);
                else if (c->state == P_LINGER) c->dead = 1;
            }
        }
        if (lpi >= 0 && rc > 0 && (pfds[lpi].revents & POLLIN)) {
            while (g_nconns < (size_t)o.max_conns) {
                int fd = peer_accept(lfd);
                struct pconn *c;
                if (fd < 0) {
                    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        accept_pause_until = now + 0.1;
                    break;
                }
                c = &g_conns[g_nconns];
                memset(c, 0, sizeof *c);
                if (peer_tls_g.on && !(c->tls = peer_tls_new())) {
                    close(fd);
                    accept_pause_until = now + 0.1;
                    break;
                }
                g_nconns++;
                c->cfd = fd;
                c->ufd = -1;
                c->state = P_HEAD;
                c->pic = c->piu = -1;
                c->id = ++g_next_conn_id;
            }
        }
        for (k = 0; k < g_nconns;) {
            if (g_conns[k].dead) {
                conn_free(&g_conns[k]);
                g_conns[k] = g_conns[--g_nconns];
            } else {
                k++;
            }
        }
    }

    for (k = 0; k < g_nconns; k++) conn_free(&g_conns[k]);
    free(g_conns);
    free(pfds);
    close(lfd);
    peer_log_close();
    peer_tls_teardown();
    return 0;
}
