/* What the whole-client fuzz targets share: the script (server bytes and caller
   actions), the fixed random source, the caller's actions and the invariants on events
   and on the bytes the client writes.
     fuzz/fuzz_client.c      WSPROXY_NO_TLS; the script's bytes are the socket's bytes
     fuzz/fuzz_client_tls.c  BearSSL server engines in memory; the script's bytes are
                             their plaintext
     fuzz/fuzz_client_deflate.c  WSPROXY_NO_TLS with permessage-deflate (its own actions)
   Include after fuzz_common.h. For each run the target sets the cell: fz_via_proxy,
   fz_socks, fz_tls_hops (bit 0 the proxy's hop, bit 1 the server's), fz_mem[] (memory
   lent to the client besides the struct itself: where event data and buffers may lie),
   and where the client's bytes go (fz_wrote) and how large a piece may be; and the
   caller's options the checks depend on (fz_reassembly, fz_protocols, fz_recv_buf:
   caller_options sets them from the flag byte, or the target itself). */
#ifndef WSPROXY_FUZZ_CLIENT_HARNESS_H
#define WSPROXY_FUZZ_CLIENT_HARNESS_H

#include <stdarg.h>

/* what not every target uses (the deflate target has no proxy, its own actions and frame
   checks) */
#define FZ_OPTIONAL __attribute__((unused)) static

#define PROXY_PASSWORD "pw-S3cret"
#define PROXY_CRED_B64 "dXNyOnB3LVMzY3JldA=="   /* base64("usr:pw-S3cret") */
#define TARGET_SECRET "Bearer tgt-S3cret"

/* ---- random source: fixed stream, optionally failing after a budget ---------------- */
static unsigned long rng_pos, rng_budget;
static int rng_fail;
static int fuzz_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    if (rng_fail && rng_pos + len > rng_budget) return -1;
    for (i = 0; i < len; i++, rng_pos++) dst[i] = (unsigned char)(rng_pos * 131 + 7);
    return 0;
}

/* The accept value for the key of the upgrade request: the first 16 bytes the client
   drew from the random stream at init, in base64. */
static void fz_accept(char accept[29])
{
    unsigned char nonce[16];
    char key[25];
    unsigned long k;
    for (k = 0; k < 16; k++) nonce[k] = (unsigned char)(k * 131 + 7);
    wsproxy_base64(nonce, 16, key, sizeof key);
    wsproxy_accept_key(key, 24, accept);
}

/* ---- the script --------------------------------------------------------------------- */
typedef struct { int action; const uint8_t *p; size_t n; } segment;
#define MAX_SEGMENTS 512
static segment segs[MAX_SEGMENTS];
static size_t nsegs;

static void split_script(const uint8_t *p, size_t n)
{
    size_t i = 0, start = 0;
    nsegs = 0;
    while (i < n && nsegs + 2 < MAX_SEGMENTS) {
        if (p[i] == 0xFF && i + 1 < n && p[i + 1] != 0xFF) {
            if (i > start) { segs[nsegs].action = 0; segs[nsegs].p = p + start; segs[nsegs].n = i - start; nsegs++; }
            /* action byte, then its argument bytes (up to 3) */
            segs[nsegs].action = p[i + 1];
            segs[nsegs].p = p + i + 2;
            segs[nsegs].n = n - (i + 2) < 3 ? n - (i + 2) : 3;
            nsegs++;
            i += 2 + segs[nsegs - 1].n;
            start = i;
        } else {
            i += (p[i] == 0xFF && i + 1 < n) ? 2 : 1;
        }
    }
    if (start < n && nsegs < MAX_SEGMENTS) { segs[nsegs].action = 0; segs[nsegs].p = p + start; segs[nsegs].n = n - start; nsegs++; }
}

/* Expands a byte segment: 0xFF 0xFF -> 0xFF, "{A}" -> the accept value. */
static size_t expand(const segment *s, const char *accept, unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < s->n && o + 28 < cap) {
        if (s->p[i] == 0xFF && i + 1 < s->n && s->p[i + 1] == 0xFF) { out[o++] = 0xFF; i += 2; }
        else if (i + 3 <= s->n && memcmp(s->p + i, "{A}", 3) == 0) { memcpy(out + o, accept, 28); o += 28; i += 3; }
        else out[o++] = s->p[i++];
    }
    return o;
}

/* ---- one run ------------------------------------------------------------------------ */
/* UTF-8 of a text message given in chunks: every chunk a valid prefix, state kept. */
typedef struct { unsigned need; unsigned char lo, hi; int bad; } fz_u8;

static void fz_u8_feed(fz_u8 *s, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n && !s->bad; i++) {
        unsigned b = p[i];
        if (s->need) {
            if (b < s->lo || b > s->hi) { s->bad = 1; break; }
            s->need--;
            s->lo = 0x80;
            s->hi = 0xBF;
            continue;
        }
        s->lo = 0x80;
        s->hi = 0xBF;
        if (b < 0x80) continue;
        if (b >= 0xC2 && b <= 0xDF) s->need = 1;
        else if (b >= 0xE0 && b <= 0xEF) {
            s->need = 2;
            if (b == 0xE0) s->lo = 0xA0;       /* overlong */
            if (b == 0xED) s->hi = 0x9F;       /* surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            s->need = 3;
            if (b == 0xF0) s->lo = 0x90;       /* overlong */
            if (b == 0xF4) s->hi = 0x8F;       /* over U+10FFFF */
        } else s->bad = 1;
    }
}

typedef struct {
    size_t log_len;
    size_t sent_len, sent_total;
    uint64_t sent_hash;
    size_t msg_len;               /* message being gathered: its length, its hash, */
    uint64_t msg_hash;            /* a capped copy in msg[] */
    fz_u8 u8;
    int msg_open, msg_op;
    int final_seen, opened, tunneled, stalled, no_input;
    int tls_seen;                 /* EV_TLS seen, bit per hop */
    int err_seen, err_close;      /* EV_ERROR seen; the close code it makes due (0: none) */
    size_t err_sent;              /* sent_total at EV_ERROR */
    uint64_t pong_ok[64];         /* hashes of the payloads a pong may carry: pings seen, */
    size_t pong_ok_n;             /* pongs the caller sent (more than 64: not checked) */
    /* proxy authentication */
    size_t tunnel_at;             /* sent_total at EV_TUNNEL */
    int reconnect_wait;           /* EV_RECONNECT seen, wsproxy_reconnected not yet called */
    int reconnects, conns;        /* EV_RECONNECT events; new connections made */
    int end_err;                  /* wsproxy_error at the end of the script */
    /* run_reset clears everything above */
    char log[1 << 16];
    unsigned char sent[1 << 18];
    unsigned char msg[1 << 16];
} run_state;

static wsproxy_client client;
static unsigned char msgbuf[1 << 16];
static int flags_g;
static uint64_t max_message_g;
/* the caller's options the checks depend on: whole messages in msgbuf, subprotocols
   offered, input through wsproxy_recv_buf/_ack */
static int fz_reassembly, fz_protocols, fz_recv_buf;
static const char *const protocols_g[] = {"chat", "super.chat", NULL};

/* the cell of this run (set by the target) */
static int fz_via_proxy, fz_socks, fz_tls_hops;
static struct { const void *p; size_t n; } fz_mem[4];
/* the target's: the largest piece wsproxy_send_buf / wsproxy_recv_buf may offer, and
   where the written bytes go besides r->sent (NULL: nowhere) */
static size_t fz_send_most = WSPROXY_SEND_BUFFER_BYTES, fz_recv_most = WSPROXY_RECV_BUFFER_BYTES;
static void (*fz_wrote)(const unsigned char *p, size_t n);
/* the target's side of the caller's new connection to the proxy (NULL: nothing to do) */
static void (*fz_new_connection)(void);

/* Is [p, p+n) inside the client or memory lent to it? */
static int fz_in_client(const void *p, size_t n)
{
    size_t i;
    if (fuzz_inside(p, n, &client, sizeof client)) return 1;
    for (i = 0; i < sizeof fz_mem / sizeof fz_mem[0]; i++)
        if (fz_mem[i].p && fuzz_inside(p, n, fz_mem[i].p, fz_mem[i].n)) return 1;
    return 0;
}

static uint64_t hash_bytes(uint64_t h, const unsigned char *p, size_t n);
static void after_error_check(const run_state *r, size_t n);
/* the target's extra check at EV_OPEN (NULL: none) */
static void (*fz_open_check)(void);

/* Takes what the client writes (unless the caller stalled its send side). */
static void drain(run_state *r)
{
    const unsigned char *p;
    size_t n;
    int guard = 0;
    if (r->stalled) return;
    while ((p = wsproxy_send_buf(&client, &n)) != NULL) {
        FUZZ_CHECK(!r->reconnect_wait);   /* nothing until the caller's new connection */
        FUZZ_CHECK(n > 0 && n <= fz_send_most);
        FUZZ_CHECK(fz_in_client(p, n));
        after_error_check(r, n);
        if (r->sent_len < sizeof r->sent) {
            size_t k = n < sizeof r->sent - r->sent_len ? n : sizeof r->sent - r->sent_len;
            memcpy(r->sent + r->sent_len, p, k);
            r->sent_len += k;
        }
        r->sent_hash = hash_bytes(r->sent_hash, p, n);
        r->sent_total += n;
        if (fz_wrote) fz_wrote(p, n);
        wsproxy_send_ack(&client, n);
        FUZZ_CHECK(++guard < 1000);
    }
    FUZZ_CHECK(n == 0);
}

/* Gives the client up to want bytes (fz_recv_buf: through wsproxy_recv_buf/_ack);
   returns how many it took. */
static size_t give(const unsigned char *p, size_t want)
{
    if (fz_recv_buf) {
        size_t room;
        unsigned char *dst = wsproxy_recv_buf(&client, &room);
        if (!dst) { FUZZ_CHECK(room == 0); return 0; }
        FUZZ_CHECK(room > 0 && room <= fz_recv_most);
        FUZZ_CHECK(fz_in_client(dst, room));
        if (want > room) want = room;
        memcpy(dst, p, want);
        wsproxy_recv_ack(&client, want);
        return want;
    }
    return wsproxy_feed(&client, p, want);
}

/* A pong may carry this payload (a ping's, or one the caller asked for). */
static void pong_may_carry(run_state *r, const unsigned char *p, size_t n)
{
    if (r->pong_ok_n < sizeof r->pong_ok / sizeof r->pong_ok[0])
        r->pong_ok[r->pong_ok_n] = hash_bytes(0xcbf29ce484222325ull, p, n);
    r->pong_ok_n++;
}

static void logs(run_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logs(run_state *r, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (r->log_len >= sizeof r->log - 1) return;
    va_start(ap, fmt);
    k = vsnprintf(r->log + r->log_len, sizeof r->log - r->log_len, fmt, ap);
    va_end(ap);
    if (k > 0) r->log_len += (size_t)k;
    if (r->log_len > sizeof r->log - 1) r->log_len = sizeof r->log - 1;
}

static uint64_t hash_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

static int expected_close_code(int err)
{
    if (err == WSPROXY_E_WS_INVALID_UTF8 || err == WSPROXY_E_WS_INFLATE) return 1007;
    if (err == WSPROXY_E_WS_MESSAGE_TOO_BIG) return 1009;
    if (err >= WSPROXY_E_WS_RESERVED_BITS && err <= WSPROXY_E_WS_CLOSE_CODE) return 1002;
    return -1;
}

static int valid_wire_close(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Everything the server side sent so far (capped): a secret the server itself sends
   may of course come back in the status line. */
static unsigned char fed[1 << 16];
static size_t fed_len;

static void fed_add(const unsigned char *p, size_t n)
{
    if (fed_len < sizeof fed) {
        size_t k = n < sizeof fed - fed_len ? n : sizeof fed - fed_len;
        memcpy(fed + fed_len, p, k);
        fed_len += k;
    }
}

static int fed_has(const char *needle)
{
    size_t n = strlen(needle), i;
    for (i = 0; i + n <= fed_len; i++)
        if (memcmp(fed + i, needle, n) == 0) return 1;
    return fed_len == sizeof fed;   /* cap reached: cannot tell */
}

/* ---- proxy authentication (issue 14): the caller's side of the 407 loop ------------ */
/* AUTH BLOCK: 2 + n bytes of the input, where the target reads one:
     byte 0  bits 0-3 cfg.proxy_auth (0: Basic alone, sent with the first CONNECT), bits
             4-5 the credentials: 0 none, 1 in the proxy URL (usr:pw-S3cret), 2
             cfg.proxy_user/proxy_password (usr, pw-S3cret) over other ones in the URL
             (usr2:pw-Other, never to be sent), 3 a UTF-8 user name in cfg.proxy_user with
             pw-S3cret; bit 6 a token callback (cfg.proxy_token, fz_token); bit 7 the
             caller's own "Proxy-Authorization: Bearer px-tok" among the proxy headers
     byte 1  n = byte % 32: the length of the token script
     n bytes the token script: one byte per call of the callback (fz_token says what each
             byte gives); past its end every call gives a good token */
#define FZ_OTHER_PASSWORD "pw-Other"
#define FZ_CALLER_AUTH "Proxy-Authorization: Bearer px-tok"
#define FZ_UTF8_USER "J\xc3\xa4s\xc3\xb8n"
enum { FZ_CREDS_NONE, FZ_CREDS_URL, FZ_CREDS_CFG, FZ_CREDS_UTF8 };

static struct {
    int on, allowed, creds, token_fn, caller_header;
    const uint8_t *script;
    size_t script_len;
    char url[160];                /* the proxy URL of the run */
    char basic[80];               /* base64(user ":" password) */
    const char *user, *password;  /* what the client must answer with (NULL: none) */
} fz_auth;

/* Reads an auth block at p (n bytes there); returns the bytes it took. */
FZ_OPTIONAL size_t fz_auth_block(const uint8_t *p, size_t n)
{
    unsigned b0 = n > 0 ? p[0] : 0;
    size_t len = n > 1 ? p[1] % 32u : 0, used = n < 2 ? n : 2;
    memset(&fz_auth, 0, sizeof fz_auth);
    fz_auth.on = 1;
    fz_auth.allowed = (int)(b0 & 15);
    fz_auth.creds = (int)(b0 >> 4 & 3);
    fz_auth.token_fn = (b0 & 64) != 0;
    fz_auth.caller_header = (b0 & 128) != 0;
    if (len > n - used) len = n - used;
    fz_auth.script = p + used;
    fz_auth.script_len = len;
    return used + len;
}

/* No auth block: the credentials in the proxy URL, or none; Basic alone. */
FZ_OPTIONAL void fz_auth_default(int creds)
{
    memset(&fz_auth, 0, sizeof fz_auth);
    fz_auth.creds = creds;
}

/* The schemes the client may use: cfg.proxy_auth, 0 being Basic alone. */
static int fz_allowed(void) { return fz_auth.allowed ? fz_auth.allowed : WSPROXY_AUTH_BASIC; }

/* The token callback's state in a run: the token it gave last, and the first characters
   of every token it gave (for the scans). */
static struct fz_tok_s {
    int calls, ngiven;
    size_t given_len[16];
    char buf[4400];
    char given[16][40];
} fz_tok;
static int fz_token_ctx;
static run_state *fz_cur;

static int fz_is_token68(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("-._~+/", ch) != NULL);
}

/* cfg.proxy_token: a token from the next byte t of the token script. t & 7: 0 fails, 1 an
   empty token, 2 none (NULL), 3 a token with a byte that could end a header line (or is no
   base64), 4 a long token of (t >> 3) * 140 characters (up to 4346), 5-7 a good token of
   t >> 3 characters and 0-2 '='. Tokens start with "TOKEN" and a letter per call, so no
   other bytes look like one. */
static int fz_token(void *ctx, int scheme, const char *chal, size_t len, const char **tok, size_t *tok_len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-._~";
    static const char bad[] = {'\r', '\n', ' ', ',', ':', '"', '\0', (char)0xC3};
    int idx = fz_tok.calls++;
    unsigned t = (size_t)idx < fz_auth.script_len ? fz_auth.script[idx] : 0x2Du, kind = t & 7;
    size_t n, i, body = kind == 4 ? (t >> 3) * 140u : t >> 3;
    FUZZ_CHECK(ctx == &fz_token_ctx && tok && tok_len && chal);
    FUZZ_CHECK(scheme == WSPROXY_AUTH_NTLM || scheme == WSPROXY_AUTH_NEGOTIATE);
    FUZZ_CHECK(fz_auth.token_fn && (fz_allowed() & scheme));
    /* only while the tunnel is not up; the proxy's challenge is base64 inside the client */
    FUZZ_CHECK(!fz_cur->tunneled && !fz_cur->final_seen);
    for (i = 0; i < len; i++) FUZZ_CHECK(fz_is_token68((unsigned char)chal[i]) || chal[i] == '=');
    if (len) FUZZ_CHECK(fz_in_client(chal, len));
    FUZZ_CHECK(idx < 8 * WSPROXY_MAX_AUTH_ROUNDS);   /* a few calls a round */
    logs(fz_cur, "tok %d %zu %016llx %u|", scheme, len,
         (unsigned long long)hash_bytes(0xcbf29ce484222325ull, (const unsigned char *)chal, len), t);
    if (kind == 0) return -1;
    if (kind == 2) { *tok = NULL; *tok_len = 5; return 0; }
    *tok = fz_tok.buf;
    if (kind == 1) { fz_tok.buf[0] = '\0'; *tok_len = 0; return 0; }
    memcpy(fz_tok.buf, "TOKEN", 5);
    fz_tok.buf[5] = (char)('A' + idx % 26);
    n = 6;
    for (i = 0; i < body && n < sizeof fz_tok.buf - 4; i++) fz_tok.buf[n++] = abc[(i * 7 + (size_t)idx * 13 + t) % (sizeof abc - 1)];
    if (kind == 3) fz_tok.buf[n++] = bad[(t >> 3) & 7];
    for (i = 5; i < kind; i++) fz_tok.buf[n++] = '=';
    if (fz_tok.ngiven < 16) {
        size_t k = n < sizeof fz_tok.given[0] ? n : sizeof fz_tok.given[0];
        memcpy(fz_tok.given[fz_tok.ngiven], fz_tok.buf, k);
        fz_tok.given_len[fz_tok.ngiven++] = k;
    }
    *tok_len = n;
    return 0;
}

/* The configuration of an auth block: the proxy URL (scheme and host:port given),
   proxy_auth, the credentials, the token callback, the caller's Proxy-Authorization
   (extra: its other proxy headers, NULL-terminated, room for one more). */
FZ_OPTIONAL void fz_auth_config(wsproxy_config *cfg, const char *scheme, const char *hostport, const char **extra)
{
    static const char *const userinfo[] = {"", "usr:" PROXY_PASSWORD "@", "usr2:" FZ_OTHER_PASSWORD "@", ""};
    char cred[64];
    int k = 0;
    snprintf(fz_auth.url, sizeof fz_auth.url, "%s://%s%s", scheme, userinfo[fz_auth.creds], hostport);
    cfg->proxy = fz_auth.url;
    cfg->proxy_auth = fz_auth.allowed;
    fz_auth.user = fz_auth.password = NULL;
    if (fz_auth.creds == FZ_CREDS_CFG || fz_auth.creds == FZ_CREDS_UTF8) {
        cfg->proxy_user = fz_auth.creds == FZ_CREDS_CFG ? "usr" : FZ_UTF8_USER;
        cfg->proxy_password = PROXY_PASSWORD;
    }
    if (fz_auth.creds != FZ_CREDS_NONE) {
        fz_auth.user = fz_auth.creds == FZ_CREDS_UTF8 ? FZ_UTF8_USER : "usr";
        fz_auth.password = PROXY_PASSWORD;
        snprintf(cred, sizeof cred, "%s:%s", fz_auth.user, fz_auth.password);
        wsproxy_base64((const unsigned char *)cred, strlen(cred), fz_auth.basic, sizeof fz_auth.basic);
    }
    if (fz_auth.token_fn) {
        cfg->proxy_token = fz_token;
        cfg->proxy_token_ctx = &fz_token_ctx;
    }
    if (fz_auth.caller_header) {
        while (extra[k]) k++;
        extra[k] = FZ_CALLER_AUTH;
        extra[k + 1] = NULL;
    }
    cfg->proxy_headers = extra;
}

static int fz_find(const unsigned char *p, size_t n, const void *needle, size_t k)
{
    size_t i;
    for (i = 0; k && i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0) return 1;
    return 0;
}

/* No proxy secret in p[0..n): the passwords, the Basic credentials, the caller's own
   Proxy-Authorization value, the tokens the callback gave. For the bytes after the tunnel
   (and the upgrade head). */
FZ_OPTIONAL void fz_no_secrets(const unsigned char *p, size_t n)
{
    static const char *const fixed[] = {PROXY_PASSWORD, FZ_OTHER_PASSWORD, PROXY_CRED_B64, "px-tok"};
    size_t i;
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) FUZZ_CHECK(!fz_find(p, n, fixed[i], strlen(fixed[i])));
    if (fz_auth.basic[0]) FUZZ_CHECK(!fz_find(p, n, fz_auth.basic, strlen(fz_auth.basic)));
    for (i = 0; i < (size_t)fz_tok.ngiven; i++) FUZZ_CHECK(!fz_find(p, n, fz_tok.given[i], fz_tok.given_len[i]));
}

static void describe_check(void)
{
    char small[24], line[600];
    size_t n = wsproxy_describe(&client, line, sizeof line), m;
    FUZZ_CHECK(strlen(line) == (n < sizeof line ? n : sizeof line - 1));
    FUZZ_CHECK(strstr(line, PROXY_PASSWORD) == NULL || fed_has(PROXY_PASSWORD));
    FUZZ_CHECK(strstr(line, PROXY_CRED_B64) == NULL || fed_has(PROXY_CRED_B64));
    FUZZ_CHECK(strstr(line, FZ_OTHER_PASSWORD) == NULL || fed_has(FZ_OTHER_PASSWORD));
    FUZZ_CHECK(!fz_auth.basic[0] || strstr(line, fz_auth.basic) == NULL || fed_has(fz_auth.basic));
    {
        int k;
        for (k = 0; k < fz_tok.ngiven; k++) {
            char t[41];
            memcpy(t, fz_tok.given[k], fz_tok.given_len[k]);
            t[fz_tok.given_len[k]] = '\0';
            if (strlen(t) >= 6) FUZZ_CHECK(strstr(line, t) == NULL || fed_has(t));
        }
    }
    FUZZ_CHECK(strchr(line, '\r') == NULL && strchr(line, '\n') == NULL);
    m = wsproxy_describe(&client, small, sizeof small);
    FUZZ_CHECK(m == n && strlen(small) == (m < sizeof small ? m : sizeof small - 1));
    FUZZ_CHECK(wsproxy_describe(&client, line, 0) == n);
}

/* The final error's checks that depend on the cell. */
static void error_cell_check(const run_state *r, int err)
{
    const wsproxy_error_info *e = wsproxy_error_info_get(&client);
    /* the proxy's errors before the tunnel; PROXY_RESET also after it (the proxy is the
       socket's peer) */
    if (err >= WSPROXY_E_PROXY_REFUSED && err <= WSPROXY_E_PROXY_NAME)
        FUZZ_CHECK(fz_via_proxy && (!r->tunneled || err == WSPROXY_E_PROXY_RESET));
    /* authentication: an HTTP proxy, before the tunnel; each error says what happened */
    if (err == WSPROXY_E_PROXY_AUTH || (err >= WSPROXY_E_PROXY_AUTH_REJECTED && err <= WSPROXY_E_PROXY_AUTH_CHALLENGE))
        FUZZ_CHECK(fz_via_proxy && !fz_socks && !r->tunneled);
    if (err == WSPROXY_E_PROXY_AUTH) FUZZ_CHECK(e->auth_scheme == 0);            /* none were sent */
    if (err == WSPROXY_E_PROXY_AUTH_REJECTED) FUZZ_CHECK(e->auth_scheme != 0);   /* some were */
    if (err == WSPROXY_E_PROXY_AUTH_SCHEME)
        FUZZ_CHECK(e->auth_offered != 0 && (!(e->auth_offered & fz_allowed()) ||
                                            (e->auth_scheme && !(e->auth_offered & e->auth_scheme))));
    if (err == WSPROXY_E_PROXY_AUTH_ROUNDS) FUZZ_CHECK(e->auth_rounds == WSPROXY_MAX_AUTH_ROUNDS);
    if (err == WSPROXY_E_PROXY_AUTH_TOKEN) FUZZ_CHECK(fz_auth.token_fn && fz_tok.calls > 0);
    if (err >= 300 && err < 400)   /* SOCKS replies */
        FUZZ_CHECK(fz_socks && !r->tunneled);
    if (err >= WSPROXY_E_CONNECT_REFUSED && err <= WSPROXY_E_HANDSHAKE_TIMEOUT)
        FUZZ_CHECK(!r->opened);
    if (err >= WSPROXY_E_WS_RESERVED_BITS && err <= WSPROXY_E_WS_INFLATE)
        FUZZ_CHECK(r->opened);
    /* the deflate arena is sized for the offer: zlib never runs out of it */
    FUZZ_CHECK(err != WSPROXY_E_DEFLATE_ARENA);
    /* each TLS hop fails under its own name, with BearSSL's (or our) reason */
    if (err == WSPROXY_E_TLS_PROXY) FUZZ_CHECK(fz_tls_hops & 1);
    if (err == WSPROXY_E_TLS_TUNNEL) FUZZ_CHECK((fz_tls_hops & 2) && fz_via_proxy && r->tunneled);
    if (err == WSPROXY_E_TLS_TARGET) FUZZ_CHECK((fz_tls_hops & 2) && !fz_via_proxy);
    if (err >= WSPROXY_E_TLS_PROXY && err <= WSPROXY_E_TLS_TARGET) FUZZ_CHECK(e->tls_error != 0);
}

static void take_events(run_state *r)
{
    wsproxy_event ev;
    int guard = 0;
    for (;;) {
        int got = wsproxy_poll(&client, &ev), st = wsproxy_get_state(&client);
        FUZZ_CHECK(st >= WSPROXY_STATE_PROXY && st <= WSPROXY_STATE_FAILED);
        FUZZ_CHECK(wsproxy_error_info_get(&client)->auth_rounds <= WSPROXY_MAX_AUTH_ROUNDS);
        if (!got) break;
        FUZZ_CHECK(++guard < 100000);
        FUZZ_CHECK(!r->final_seen);
        switch (ev.type) {
        case WSPROXY_EV_RECONNECT:   /* the proxy closes during authentication */
            FUZZ_CHECK(fz_via_proxy && !fz_socks && !r->tunneled && !r->reconnect_wait);
            FUZZ_CHECK(ev.status == 407 && st == WSPROXY_STATE_PROXY);
            FUZZ_CHECK(wsproxy_waiting_for(&client) == WSPROXY_WAIT_RECONNECT);
            r->reconnect_wait = 1;
            FUZZ_CHECK(++r->reconnects <= 2 * WSPROXY_MAX_AUTH_ROUNDS);
            logs(r, "RECONNECT %d|", wsproxy_error_info_get(&client)->auth_rounds);
            break;
        case WSPROXY_EV_TLS: {
            int bit = ev.status == WSPROXY_HOP_PROXY ? 1 : ev.status == WSPROXY_HOP_TARGET ? 2 : 0;
            FUZZ_CHECK(bit && (fz_tls_hops & bit) && !(r->tls_seen & bit) && !r->opened);
            /* the proxy's hop before its CONNECT reply, the server's inside the tunnel */
            FUZZ_CHECK(bit == 1 ? !r->tunneled : (!fz_via_proxy || r->tunneled));
            FUZZ_CHECK(ev.protocol && (!strcmp(ev.protocol, "") || !strcmp(ev.protocol, "http/1.1")));
            r->tls_seen |= bit;
            logs(r, "TLS %d %s|", ev.status, ev.protocol);
            break;
        }
        case WSPROXY_EV_TUNNEL:
            FUZZ_CHECK(fz_via_proxy && !r->tunneled && !r->opened);
            FUZZ_CHECK(!(fz_tls_hops & 1) || (r->tls_seen & 1));
            /* HTTP: the 2xx status; SOCKS: 0 */
            FUZZ_CHECK(fz_socks ? ev.status == 0 : (ev.status >= 200 && ev.status <= 299));
            FUZZ_CHECK(!r->reconnect_wait);
            r->tunneled = 1;
            r->tunnel_at = r->sent_total;
            logs(r, "TUNNEL %d|", ev.status);
            break;
        case WSPROXY_EV_OPEN: {
            size_t pl = strlen(ev.protocol);
            FUZZ_CHECK(!r->opened && ev.status == 101);
            FUZZ_CHECK(!fz_via_proxy || r->tunneled);
            FUZZ_CHECK(r->tls_seen == fz_tls_hops);
            if (pl) FUZZ_CHECK(fz_protocols && (!strcmp(ev.protocol, "chat") || !strcmp(ev.protocol, "super.chat")));
            if (fz_open_check) fz_open_check();
            r->opened = 1;
            logs(r, "OPEN %s|", ev.protocol);
            break;
        }
        case WSPROXY_EV_MESSAGE:
            FUZZ_CHECK(r->opened);
            FUZZ_CHECK(ev.opcode == WSPROXY_OP_TEXT || ev.opcode == WSPROXY_OP_BINARY);
            FUZZ_CHECK(ev.first == 0 || ev.first == 1);
            FUZZ_CHECK(ev.fin == 0 || ev.fin == 1);
            FUZZ_CHECK(ev.len == 0 || ev.data != NULL);
            if (fz_reassembly) {
                FUZZ_CHECK(ev.first == 1 && ev.fin == 1);
                FUZZ_CHECK(fuzz_inside(ev.data, ev.len, msgbuf, sizeof msgbuf));
            } else {
                FUZZ_CHECK(fz_in_client(ev.data, ev.len));
            }
            if (ev.first) {
                FUZZ_CHECK(!r->msg_open);
                r->msg_open = 1;
                r->msg_len = 0;
                r->msg_hash = 0xcbf29ce484222325ull;
                r->msg_op = ev.opcode;
                memset(&r->u8, 0, sizeof r->u8);
            }
            FUZZ_CHECK(r->msg_open && r->msg_op == ev.opcode);
            if (r->msg_len < sizeof r->msg) {
                size_t k = ev.len < sizeof r->msg - r->msg_len ? ev.len : sizeof r->msg - r->msg_len;
                memcpy(r->msg + r->msg_len, ev.data, k);
            }
            r->msg_len += ev.len;
            FUZZ_CHECK(r->msg_len <= max_message_g);
            if (ev.opcode == WSPROXY_OP_TEXT) {   /* each chunk a valid prefix, whole at the end */
                fz_u8_feed(&r->u8, ev.data, ev.len);
                FUZZ_CHECK(!r->u8.bad);
                if (ev.fin) FUZZ_CHECK(r->u8.need == 0);
            }
            /* chunk edges depend on how the bytes arrived: the log has whole messages */
            r->msg_hash = hash_bytes(r->msg_hash, ev.data, ev.len);
            if (ev.fin) {
                if (ev.opcode == WSPROXY_OP_TEXT && r->msg_len <= sizeof r->msg)
                    FUZZ_CHECK(fuzz_utf8_ok(r->msg, r->msg_len));
                logs(r, "MSG %d %zu %016llx|", ev.opcode, r->msg_len, (unsigned long long)r->msg_hash);
                r->msg_open = 0;
            }
            break;
        case WSPROXY_EV_PING: case WSPROXY_EV_PONG:
            FUZZ_CHECK(r->opened && ev.len <= 125);
            FUZZ_CHECK(ev.len == 0 || fz_in_client(ev.data, ev.len));
            if (ev.type == WSPROXY_EV_PING) pong_may_carry(r, ev.data, ev.len);
            logs(r, "%s %zu %016llx|", ev.type == WSPROXY_EV_PING ? "PING" : "PONG", ev.len,
                 (unsigned long long)hash_bytes(0xcbf29ce484222325ull, ev.data, ev.len));
            break;
        case WSPROXY_EV_CLOSE:
            FUZZ_CHECK(r->opened);
            FUZZ_CHECK(ev.close_code == 1005 || valid_wire_close(ev.close_code));
            FUZZ_CHECK(ev.len <= 123);
            FUZZ_CHECK(ev.len == 0 || (fuzz_utf8_ok(ev.data, ev.len) && fz_in_client(ev.data, ev.len)));
            if (ev.close_code == 1005) FUZZ_CHECK(ev.len == 0);
            FUZZ_CHECK(st == WSPROXY_STATE_CLOSED);
            FUZZ_CHECK(wsproxy_error(&client) == 0);
            r->final_seen = 1;
            logs(r, "CLOSE %d %zu|", ev.close_code, ev.len);
            break;
        case WSPROXY_EV_ERROR: {
            int err = wsproxy_error(&client), want = expected_close_code(err);
            FUZZ_CHECK(err != 0 && st == WSPROXY_STATE_FAILED);
            FUZZ_CHECK(strcmp(wsproxy_strerror(err), "WSPROXY_E_UNKNOWN") != 0);
            FUZZ_CHECK(wsproxy_error_info_get(&client)->code == err);
            if (want > 0) FUZZ_CHECK(ev.close_code == want);
            if (err == WSPROXY_E_CONNECTION_LOST) FUZZ_CHECK(ev.close_code == 1006);
            error_cell_check(r, err);
            r->final_seen = r->err_seen = 1;
            r->err_close = want > 0 ? want : 0;
            r->err_sent = r->sent_total;
            logs(r, "ERROR %s %d|", wsproxy_strerror(err), ev.close_code);
            describe_check();
            break;
        }
        default:
            FUZZ_CHECK(0);
        }
        if (r->final_seen) {
            FUZZ_CHECK(wsproxy_poll(&client, &ev) == 0 && ev.type == WSPROXY_EV_NONE);
            FUZZ_CHECK(wsproxy_waiting_for(&client) == WSPROXY_WAIT_NONE);
        }
        drain(r);
    }
    /* the documented loop: after the flush, poll again (a proxy's reply is read only once
       the request it answers has left) */
    {
        unsigned long before = r->sent_total;
        drain(r);
        if (r->sent_total != before && !r->final_seen) take_events(r);
    }
}

/* After EV_ERROR nothing leaves but the close frame a peer fault makes due (and what
   waited before it): call from drain() with the bytes wsproxy_send_buf offers. */
static void after_error_check(const run_state *r, size_t n)
{
    if (r->err_seen && !r->err_close) FUZZ_CHECK(n == 0);
}

static const unsigned char payload_pattern[] =
    "h\xC3\xA9llo w\xE2\x82\xACrld \xF0\x9F\x98\x80 0123456789abcdefghijklmnopqrstuvwxyz";

/* The caller's actions; 0 when s->action is none of them. */
FZ_OPTIONAL int do_caller_action(run_state *r, const segment *s)
{
    static unsigned char big[70000];
    static int big_ready;
    unsigned a0 = s->n > 0 ? s->p[0] : 0, a1 = s->n > 1 ? s->p[1] : 0, a2 = s->n > 2 ? s->p[2] : 0;
    size_t len = a0 % 126;
    int rc = 0;
    size_t i;
    if (!big_ready) {
        for (i = 0; i < sizeof big; i++) big[i] = payload_pattern[i % (sizeof payload_pattern - 1)];
        big_ready = 1;
    }
    switch (s->action) {
    case 't': rc = wsproxy_send_text(&client, (const char *)s->p, s->n); break;   /* may be bad UTF-8 */
    case 'u': rc = wsproxy_send_text(&client, (const char *)big, (size_t)a0 * 64 + a1); break;
    case 'b': rc = wsproxy_send_binary(&client, big, (size_t)a0 << 8 | a1); break;
    case 'p': rc = wsproxy_ping(&client, s->p, s->n); break;
    case 'P': rc = wsproxy_ping(&client, big, len + 1 + a1); break;       /* may exceed 125 */
    case 'q': pong_may_carry(r, s->p, s->n); rc = wsproxy_pong(&client, s->p, s->n); break;
    case 'f': rc = wsproxy_send(&client, a0 & 1 ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY, big, a1, 0); break;
    case 'g': rc = wsproxy_send(&client, WSPROXY_OP_CONTINUATION, big, a1, a0 & 1); break;
    case 'o':
        if ((a0 & 15) == WSPROXY_OP_PONG) pong_may_carry(r, s->p + 1, s->n > 1 ? s->n - 1 : 0);
        rc = wsproxy_send(&client, (int)(a0 & 15), s->p + 1 < s->p + s->n ? s->p + 1 : NULL,
                                s->n > 1 ? s->n - 1 : 0, (int)(a0 >> 7)); break;
    case 's': {   /* a streamed frame of a0*a1*4 bytes, fed in pieces of a2+1 */
        uint64_t total = (uint64_t)a0 * a1 * 4;
        rc = wsproxy_send_begin(&client, WSPROXY_OP_BINARY, total, 1);
        if (rc == WSPROXY_OK) {
            size_t sent = 0, k;
            while (sent < total) {
                size_t want = total - sent < a2 + 1u ? (size_t)(total - sent) : a2 + 1u;
                k = wsproxy_send_data(&client, big + (sent % 1000), want);
                FUZZ_CHECK(k <= want);
                if (k == 0) {   /* send buffer full: flush it, unless stalled */
                    if (r->stalled) break;
                    drain(r);
                    k = wsproxy_send_data(&client, big + (sent % 1000), want);
                    if (k == 0) break;
                }
                sent += k;
            }
            logs(r, "streamed %zu|", sent);
        }
        break;
    }
    case 'B': rc = wsproxy_send_begin(&client, a0 & 1 ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY,
                                      (uint64_t)a1 << 56 | a2, a0 >> 7); break;   /* left open */
    case 'd': logs(r, "data %zu|", wsproxy_send_data(&client, big, (size_t)a0 * 8)); break;
    case 'c': rc = wsproxy_close(&client, (int)(a0 << 8 | a1), (const char *)payload_pattern, a2 % 40); break;
    case 'C': rc = wsproxy_close(&client, 0, NULL, 0); break;
    case 'T': wsproxy_timeout(&client); break;
    case 'E': wsproxy_socket_closed(&client, 0); break;
    case 'R': wsproxy_socket_closed(&client, ECONNRESET); break;
    case 'S': r->stalled = 1; break;
    case 'D': r->stalled = 0; break;
    case 'r': logs(r, "room %zu|", wsproxy_send_room(&client)); break;
    case 'w': logs(r, "wait %d|", wsproxy_waiting_for(&client)); break;
    case 'X': {   /* the caller's new connection to the proxy: the script goes on there */
        int pending = r->reconnect_wait && !r->final_seen, st = wsproxy_get_state(&client);
        if (pending) {
            if (fz_new_connection) fz_new_connection();
            r->tls_seen &= ~1;   /* a new TLS session with an https:// proxy, if any */
        }
        rc = wsproxy_reconnected(&client);
        if (!pending) {   /* none was asked for: refused, nothing changes */
            FUZZ_CHECK(rc == WSPROXY_E_STATE && wsproxy_get_state(&client) == st);
            break;
        }
        r->reconnect_wait = 0;
        FUZZ_CHECK(rc == WSPROXY_OK || rc == wsproxy_error(&client));
        if (rc == WSPROXY_OK) r->conns++;
        break;
    }
    default: return 0;
    }
    logs(r, "%c=%d|", s->action, rc);
    take_events(r);
    return 1;
}

/* ---- the bytes the client wrote (plaintext): request heads, then masked frames ----- */
/* The length of the head at p, 0 while it is not whole. */
FZ_OPTIONAL size_t head_len(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i + 3 < n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) return i + 4;
    return 0;
}

FZ_OPTIONAL int has_at(const unsigned char *p, size_t n, size_t i, const char *s)
{
    size_t k = strlen(s);
    return i + k <= n && memcmp(p + i, s, k) == 0;
}

/* The CONNECT head (n bytes): target headers never in it. */
FZ_OPTIONAL void check_connect_head(const unsigned char *p, size_t n)
{
    size_t i;
    FUZZ_CHECK(has_at(p, n, 0, "CONNECT "));
    for (i = 0; i < n; i++) FUZZ_CHECK(!has_at(p, n, i, "Cookie") && !has_at(p, n, i, TARGET_SECRET));
}

#ifndef WSPROXY_NO_TLS
/* Hex of MD5 or SHA-256 of s (BearSSL directly, not the library's Digest code). */
static void fz_h(int sha, const char *s, char out[65])
{
    unsigned char d[32];
    size_t dl, i;
    if (sha) {
        br_sha256_context c;
        br_sha256_init(&c);
        br_sha256_update(&c, s, strlen(s));
        br_sha256_out(&c, d);
        dl = 32;
    } else {
        br_md5_context c;
        br_md5_init(&c);
        br_md5_update(&c, s, strlen(s));
        br_md5_out(&c, d);
        dl = 16;
    }
    for (i = 0; i < dl; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A parameter of the client's Digest credentials (v: after "Digest "), its quoted-string
   unescaped: 1 found. They must be "name=value" items joined by ", ". */
static int fz_dparam(const char *v, size_t n, const char *name, char *out, size_t cap)
{
    size_t i = 0, k = strlen(name);
    while (i < n) {
        size_t ns = i, o = 0;
        int match;
        while (i < n && v[i] != '=') i++;
        FUZZ_CHECK(i < n && i > ns);
        match = i - ns == k && memcmp(v + ns, name, k) == 0;
        i++;
        if (i < n && v[i] == '"') {
            for (i++; i < n && v[i] != '"'; i++) {
                if (v[i] == '\\') FUZZ_CHECK(++i < n);
                if (match) { FUZZ_CHECK(o + 1 < cap); out[o++] = v[i]; }
            }
            FUZZ_CHECK(i < n);
            i++;
        } else {
            for (; i < n && v[i] != ','; i++)
                if (match) { FUZZ_CHECK(o + 1 < cap); out[o++] = v[i]; }
        }
        if (match) { out[o] = '\0'; return 1; }
        if (i < n) { FUZZ_CHECK(i + 1 < n && v[i] == ',' && v[i + 1] == ' '); i += 2; }
    }
    return 0;
}

static int fz_is_hex(const char *s, size_t len)
{
    size_t i;
    if (strlen(s) != len) return 0;
    for (i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* The client's Digest credentials for CONNECT target (RFC 7616 3.4): the response
   recomputed here from the parameters it sent, the configured user and password. */
static void fz_check_digest(const char *v, size_t n, const char *target, size_t tlen)
{
    static char user[400], realm[600], nonce[600], uri[300], alg[32], resp[80], qop[32], nc[32], cnonce[80],
        uh[16], buf[2200];
    char ha1[65], ha2[65], want[65];
    int sha, sess, has_qop;
    FUZZ_CHECK(fz_dparam(v, n, "realm", realm, sizeof realm) && fz_dparam(v, n, "nonce", nonce, sizeof nonce) &&
               fz_dparam(v, n, "uri", uri, sizeof uri) && fz_dparam(v, n, "algorithm", alg, sizeof alg) &&
               fz_dparam(v, n, "response", resp, sizeof resp));
    FUZZ_CHECK(strlen(uri) == tlen && memcmp(uri, target, tlen) == 0);
    FUZZ_CHECK(!strcmp(alg, "MD5") || !strcmp(alg, "MD5-sess") || !strcmp(alg, "SHA-256") || !strcmp(alg, "SHA-256-sess"));
    sha = alg[0] == 'S';
    sess = strstr(alg, "-sess") != NULL;
    FUZZ_CHECK(fz_is_hex(resp, sha ? 64 : 32));
    has_qop = fz_dparam(v, n, "qop", qop, sizeof qop);
    if (has_qop) {
        FUZZ_CHECK(!strcmp(qop, "auth") || !strcmp(qop, "auth-int"));
        FUZZ_CHECK(fz_dparam(v, n, "nc", nc, sizeof nc) && fz_is_hex(nc, 8));
        FUZZ_CHECK(fz_dparam(v, n, "cnonce", cnonce, sizeof cnonce) && cnonce[0]);
    } else {   /* RFC 2069: no qop, no cnonce, no -sess */
        FUZZ_CHECK(!sess && !fz_dparam(v, n, "nc", nc, sizeof nc) && !fz_dparam(v, n, "cnonce", cnonce, sizeof cnonce));
    }
    /* the user: as it is, RFC 8187-encoded (username*), or hashed (userhash) */
    if (fz_dparam(v, n, "userhash", uh, sizeof uh)) {
        FUZZ_CHECK(!strcmp(uh, "true") && fz_dparam(v, n, "username", user, sizeof user));
        snprintf(buf, sizeof buf, "%s:%s", fz_auth.user, realm);
        fz_h(sha, buf, want);
        FUZZ_CHECK(!strcmp(user, want));
    } else if (fz_dparam(v, n, "username*", user, sizeof user)) {
        size_t i, o = 0;
        FUZZ_CHECK(!strncmp(user, "UTF-8''", 7) && !fz_dparam(v, n, "username", buf, sizeof buf));
        for (i = 7; user[i]; i++) {
            unsigned x;
            if (user[i] == '%') {
                FUZZ_CHECK(sscanf(user + i + 1, "%2x", &x) == 1 && user[i + 1] && user[i + 2]);
                buf[o++] = (char)x;
                i += 2;
            } else {
                buf[o++] = user[i];
            }
        }
        buf[o] = '\0';
        FUZZ_CHECK(!strcmp(buf, fz_auth.user));
    } else {
        FUZZ_CHECK(fz_dparam(v, n, "username", user, sizeof user) && !strcmp(user, fz_auth.user));
    }
    snprintf(buf, sizeof buf, "%s:%s:%s", fz_auth.user, realm, fz_auth.password);
    fz_h(sha, buf, ha1);
    if (sess) {
        snprintf(buf, sizeof buf, "%s:%s:%s", ha1, nonce, cnonce);
        fz_h(sha, buf, ha1);
    }
    if (has_qop && !strcmp(qop, "auth-int")) {   /* a CONNECT has an empty body */
        char hb[65];
        fz_h(sha, "", hb);
        snprintf(buf, sizeof buf, "CONNECT:%s:%s", uri, hb);
    } else {
        snprintf(buf, sizeof buf, "CONNECT:%s", uri);
    }
    fz_h(sha, buf, ha2);
    if (has_qop) snprintf(buf, sizeof buf, "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
    else snprintf(buf, sizeof buf, "%s:%s:%s", ha1, nonce, ha2);
    fz_h(sha, buf, want);
    FUZZ_CHECK(!strcmp(want, resp));
}
#endif

/* The Proxy-Authorization of one CONNECT head (h, n bytes): at most one line; the
   first request carries credentials only when they go first (Basic alone allowed, or one
   token scheme alone with a callback), every later one answers a 407 with a scheme that
   is allowed and usable, and the credentials are the configured ones (Basic), a token
   the callback gave (NTLM, Negotiate), or a Digest response that checks out. */
static void check_connect_auth(const unsigned char *h, size_t n, int first)
{
    static const char *const names[] = {"Basic ", "Digest ", "NTLM ", "Negotiate "};
    static const int ids[] = {WSPROXY_AUTH_BASIC, WSPROXY_AUTH_DIGEST, WSPROXY_AUTH_NTLM, WSPROXY_AUTH_NEGOTIATE};
    const char *hp = (const char *)h;
    size_t i = 0, tlen = 0;
    int allowed = fz_allowed(), lines = 0, scheme = 0, k;
    const char *target = hp + 8;
    while (8 + tlen < n && target[tlen] != ' ') tlen++;
    while (i < n) {
        size_t e = i, v;
        while (e + 1 < n && !(h[e] == '\r' && h[e + 1] == '\n')) e++;
        if (has_at(h, e, i, "Proxy-Authorization: ")) {
            v = i + 21;
            lines++;
            if (has_at(h, e, i, FZ_CALLER_AUTH) && e == i + strlen(FZ_CALLER_AUTH)) {
                FUZZ_CHECK(fz_auth.caller_header);
                scheme = -1;
            } else {
                for (k = 0; k < 4 && !has_at(h, e, v, names[k]); k++) {}
                FUZZ_CHECK(k < 4);
                scheme = ids[k];
                v += strlen(names[k]);
                FUZZ_CHECK(allowed & scheme);
                if (scheme == WSPROXY_AUTH_BASIC) {
                    FUZZ_CHECK(fz_auth.user && e - v == strlen(fz_auth.basic) && !memcmp(h + v, fz_auth.basic, e - v));
                } else if (scheme == WSPROXY_AUTH_DIGEST) {
                    FUZZ_CHECK(fz_auth.user != NULL);
#ifdef WSPROXY_NO_TLS
                    FUZZ_CHECK(!"Digest from a build without hashes");
#else
                    fz_check_digest(hp + v, e - v, target, tlen);
#endif
                } else {   /* a token the callback gave, as it gave it */
                    int t;
                    FUZZ_CHECK(fz_auth.token_fn);
                    for (t = 0; t < fz_tok.ngiven; t++)
                        if (e - v >= fz_tok.given_len[t] && !memcmp(h + v, fz_tok.given[t], fz_tok.given_len[t]) &&
                            (fz_tok.given_len[t] == sizeof fz_tok.given[0] || e - v == fz_tok.given_len[t]))
                            break;
                    FUZZ_CHECK(t < fz_tok.ngiven || fz_tok.ngiven == 16);
                }
            }
        }
        i = e + 2;
    }
    FUZZ_CHECK(lines <= 1);
    if (first) {
        int want = allowed == WSPROXY_AUTH_BASIC && fz_auth.user ? WSPROXY_AUTH_BASIC
                 : (allowed == WSPROXY_AUTH_NTLM || allowed == WSPROXY_AUTH_NEGOTIATE) && fz_auth.token_fn ? allowed : 0;
        if (want) FUZZ_CHECK(scheme == want);
        else FUZZ_CHECK(scheme == (fz_auth.caller_header ? -1 : 0));
    } else {
        FUZZ_CHECK(scheme > 0);   /* the answer to a 407 */
    }
}

/* The CONNECT heads at p[0..n), one after the other (the requests of the 407 loop, over
   every connection): each within WSPROXY_MAX_REQUEST_BYTES, with check_connect_head's
   checks and check_connect_auth's; all whole when whole is set (the tunnel is up), else
   the last may still be going out. At most WSPROXY_MAX_AUTH_ROUNDS that count, and a
   request written before a silent close does not: one more per EV_RECONNECT at most. */
FZ_OPTIONAL void check_connect_heads(const unsigned char *p, size_t n, int whole, int reconnects)
{
    size_t off = 0;
    int heads = 0;
    while (off < n) {
        size_t h = head_len(p + off, n - off);
        if (!h) {
            FUZZ_CHECK(!whole && n - off <= WSPROXY_MAX_REQUEST_BYTES);
            break;
        }
        FUZZ_CHECK(h <= WSPROXY_MAX_REQUEST_BYTES);
        check_connect_head(p + off, h);
        check_connect_auth(p + off, h, heads == 0);
        heads++;
        off += h;
    }
    FUZZ_CHECK(heads <= WSPROXY_MAX_AUTH_ROUNDS + reconnects);
}

/* The upgrade head (n bytes): proxy credentials and proxy headers never in it. */
FZ_OPTIONAL void check_upgrade_head(const unsigned char *p, size_t n)
{
    size_t i;
    FUZZ_CHECK(has_at(p, n, 0, "GET "));
    for (i = 0; i < n; i++)
        FUZZ_CHECK(!has_at(p, n, i, "Proxy-Authorization") && !has_at(p, n, i, "X-Proxy-Secret") &&
                   !has_at(p, n, i, PROXY_PASSWORD) && !has_at(p, n, i, PROXY_CRED_B64));
}

/* Client frames: masked, well formed, control frames whole and short, every pong with a
   payload it may carry, nothing after our close frame. Returns the code of the last frame
   when it is a whole close frame (0 without a code), else -1. */
FZ_OPTIONAL int check_frames(const run_state *r, const unsigned char *p, size_t n)
{
    size_t off = 0;
    int closed = 0, last_close = -1;
    while (off < n) {
        size_t hl = 2, i;
        uint64_t len;
        int op;
        last_close = -1;
        if (n - off < 2) return -1;   /* cut short by a failure mid-frame */
        FUZZ_CHECK(closed == 0);   /* nothing after our close frame */
        op = p[off] & 15;
        FUZZ_CHECK((p[off] & 0x70) == 0);
        FUZZ_CHECK(op <= 2 || (op >= 8 && op <= 10));
        FUZZ_CHECK(p[off + 1] & 0x80);   /* client frames are masked */
        len = p[off + 1] & 127;
        if (len == 126) { if (n - off < 4) return -1; len = (uint64_t)p[off + 2] << 8 | p[off + 3]; hl = 4; FUZZ_CHECK(len >= 126); }
        else if (len == 127) {
            if (n - off < 10) return -1;
            len = 0;
            for (i = 0; i < 8; i++) len = len << 8 | p[off + 2 + i];
            hl = 10;
            FUZZ_CHECK(len > 0xFFFF && !(len >> 63));
        }
        if (op >= 8) FUZZ_CHECK((p[off] & 0x80) && len <= 125);
        hl += 4;
        if (op == WSPROXY_OP_CLOSE) {
            FUZZ_CHECK(len != 1);
            if (len >= 2 && n - off >= hl + len) {
                const unsigned char *k = p + off + hl - 4;
                int code = (p[off + hl] ^ k[0]) << 8 | (p[off + hl + 1] ^ k[1]);
                FUZZ_CHECK(valid_wire_close(code));
                last_close = code;
            } else if (len == 0) {
                last_close = 0;
            }
            closed = 1;
        }
        if ((uint64_t)(n - off) < hl + len) return -1;
        if (op == WSPROXY_OP_PONG && r->pong_ok_n <= sizeof r->pong_ok / sizeof r->pong_ok[0]) {
            unsigned char pl[125];
            uint64_t hp;
            size_t k;
            for (i = 0; i < len; i++) pl[i] = p[off + hl + i] ^ p[off + hl - 4 + (i & 3)];
            hp = hash_bytes(0xcbf29ce484222325ull, pl, (size_t)len);
            for (k = 0; k < r->pong_ok_n && r->pong_ok[k] != hp; k++) {}
            FUZZ_CHECK(k < r->pong_ok_n);   /* a pong echoes a ping or what the caller sent */
        }
        off += hl + (size_t)len;
    }
    return last_close;
}

/* A peer fault's close frame: when bytes left after EV_ERROR, the client's last frame
   (last_close from check_frames) is the close with the code the fault asks for. */
FZ_OPTIONAL void check_error_close(const run_state *r, int last_close)
{
    if (r->err_seen && r->err_close && r->sent_total > r->err_sent) FUZZ_CHECK(last_close == r->err_close);
}

/* ---- one run: start, the caller's options, the end ---------------------------------- */
static void run_reset(run_state *r)
{
    memset(r, 0, offsetof(run_state, log));
    memset(&fz_tok, 0, offsetof(struct fz_tok_s, buf));
    fz_cur = r;
    fed_len = 0;
    r->sent_hash = 0xcbf29ce484222325ull;
}

/* The options of the header bytes 0 and 1 (bits 2-5) and the headers for the server. */
FZ_OPTIONAL void caller_options(wsproxy_config *cfg, const uint8_t *data, const char *const *headers)
{
    fz_reassembly = (flags_g & 4) != 0;
    fz_protocols = (flags_g & 16) != 0;
    fz_recv_buf = (flags_g & 64) != 0;
    cfg->headers = headers;
    if (fz_protocols) cfg->protocols = protocols_g;
    cfg->random = fuzz_random;
    rng_pos = 0;
    rng_fail = (flags_g & 32) != 0;
    rng_budget = (unsigned long)data[1] * 4;
    if (flags_g & 8) cfg->max_message = (uint64_t)data[1] * 3 + 1;
    if (fz_reassembly) { cfg->message_buffer = msgbuf; cfg->message_buffer_len = 1000 + (size_t)data[1] * 200; }
    max_message_g = cfg->max_message ? cfg->max_message : WSPROXY_DEFAULT_MAX_MESSAGE;
    if (cfg->message_buffer && max_message_g > cfg->message_buffer_len) max_message_g = cfg->message_buffer_len;
}

/* wsproxy_init, logged; a failed one produces no byte. */
static int init_client(run_state *r, const wsproxy_config *cfg)
{
    int rc = wsproxy_init(&client, cfg);
    logs(r, "init=%d|", rc);
    if (rc != WSPROXY_OK) {
        size_t n;
        FUZZ_CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
    }
    return rc;
}

/* Gives the client n bytes in pieces (bytewise: one at a time, else sizes from the seed
   up to chunk_max, 0: whole), with the events after each piece. */
static void feed_bytes(run_state *r, const unsigned char *p, size_t n, int bytewise, uint32_t *seed,
                       unsigned chunk_max)
{
    size_t off = 0;
    /* after EV_RECONNECT the caller closed the socket: the old connection's bytes are lost */
    while (off < n && !r->no_input && !r->reconnect_wait) {
        size_t want = n - off, took;
        if (bytewise) want = 1;
        else if (chunk_max) { size_t k = fuzz_split(seed, chunk_max); if (k < want) want = k; }
        took = give(p + off, want);
        fed_add(p + off, took);
        off += took;
        take_events(r);
        if (took == 0) {
            size_t room;
            /* it takes nothing more only once finished (final event or EOF) */
            if (!wsproxy_recv_buf(&client, &room)) {
                FUZZ_CHECK(r->final_seen || wsproxy_get_state(&client) >= WSPROXY_STATE_CLOSED);
                r->no_input = 1;
            }
        }
    }
}

/* The script on a plain socket: byte segments fed (each an exact heap copy, so a read
   past its end shows), actions done by the target's do_action. */
FZ_OPTIONAL void run_script(run_state *r, const char *accept, int bytewise, uint32_t *seed, unsigned chunk_max,
                       void (*do_action)(run_state *, const segment *))
{
    unsigned char *buf = (unsigned char *)malloc(70000);
    size_t i;
    FUZZ_CHECK(buf != NULL);
    for (i = 0; i < nsegs; i++) {
        if (segs[i].action) {
            do_action(r, &segs[i]);
        } else {
            size_t n = expand(&segs[i], accept, buf, 70000);
            unsigned char *exact = fuzz_dup(buf, n);
            feed_bytes(r, exact, n, bytewise, seed, chunk_max);
            free(exact);
        }
    }
    free(buf);
}

/* The end of the script is the end of the stream: a final state, the last bytes out. */
static void end_of_stream(run_state *r)
{
    wsproxy_socket_closed(&client, 0);
    take_events(r);
    if (r->reconnect_wait && !r->final_seen) {   /* no new connection came: the caller's timer */
        FUZZ_CHECK(wsproxy_waiting_for(&client) == WSPROXY_WAIT_RECONNECT);
        logs(r, "no reconnect|");
        wsproxy_timeout(&client);
        take_events(r);
    }
    FUZZ_CHECK(r->final_seen || wsproxy_get_state(&client) == WSPROXY_STATE_CLOSED ||
               wsproxy_get_state(&client) == WSPROXY_STATE_FAILED);
    r->stalled = 0;
    drain(r);
    r->end_err = wsproxy_error(&client);
}

/* Both runs logged the same events and action results. */
static void same_logs(const run_state *a, const run_state *b)
{
    if (a->log_len != b->log_len || memcmp(a->log, b->log, a->log_len) != 0) {
        fprintf(stderr, "chunked: %.*s\nbytewise: %.*s\n", (int)a->log_len, a->log, (int)b->log_len, b->log);
        FUZZ_CHECK(!"event logs differ between chunked and byte-by-byte feeding");
    }
}

#endif
