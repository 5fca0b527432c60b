/* gss_probe: a CONNECT through an HTTP proxy that asks for Negotiate or NTLM, with the
 * tokens made by GSSAPI (MIT Kerberos libgssapi-krb5; NTLM through the gss-ntlmssp
 * mechanism). A test peer of the interop suite, written without wsproxy.h: it shows
 * what a token callback has to do (tests/interop/auth_selftest.sh runs it against
 * squid with ntlm_fake_auth and with negotiate_kerberos_auth).
 *
 *   gss_probe [options] PROXY_HOST PROXY_PORT TARGET_HOST:PORT
 *     -m negotiate|ntlm  the scheme (default negotiate): Negotiate uses the SPNEGO
 *                        mechanism 1.3.6.1.5.5.2, NTLM the NTLMSSP mechanism
 *                        1.3.6.1.4.1.311.2.2.10 (gss-ntlmssp)
 *     -s HOST            the service host: the target name is HTTP@HOST
 *                        (GSS_C_NT_HOSTBASED_SERVICE); default PROXY_HOST
 *     -u NAME -p FILE    explicit credentials: NAME (GSS_C_NT_USER_NAME: "user@REALM",
 *                        "DOMAIN\user") and the password on the first line of FILE,
 *                        through gss_acquire_cred_with_password. Without -u the
 *                        mechanism's defaults: the Kerberos ccache (KRB5CCNAME) or
 *                        gss-ntlmssp's NTLM_USER_FILE (lines DOMAIN:USER:PASSWORD)
 *     -K                 Negotiate with Kerberos only: gss_set_neg_mechs limits SPNEGO
 *                        to 1.2.840.113554.1.2.2 (with gss-ntlmssp installed, SPNEGO
 *                        otherwise also offers NTLMSSP, and falls back to it alone
 *                        when there is no Kerberos ticket)
 *     -M                 ask for mutual authentication (GSS_C_MUTUAL_FLAG)
 *     -0                 send a token with the first CONNECT (default: a first CONNECT
 *                        without credentials, to see the schemes the proxy offers)
 *     -g PATH            after the tunnel is up, GET PATH through it (default /)
 *     -r N               at most N requests (default 6)
 *
 * Prints one line per request and reply: sizes of the tokens, their first bytes and
 * what they are (NTLM message type and flags, SPNEGO mechanism lists), never a whole
 * token. Exit status: 0 tunnel up and the GET through it answered; 1 network or HTTP
 * error; 2 usage; 3 the proxy refused (407 without a challenge to go on, or another
 * status); 4 a GSSAPI error (its messages printed).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>

#include "gss_common.h"

/* 1.3.6.1.5.5.2 (RFC 4178) */
static gss_OID_desc oid_spnego = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};
/* 1.2.840.113554.1.2.2 (RFC 1964) */
static gss_OID_desc oid_krb5 = {9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
#define HEAD_MAX 65536

static const char *prog = "gss_probe";
static int sock = -1;
static char inbuf[HEAD_MAX + 1];
static size_t inlen;

/* ------------------------------------------------------------- the tokens -- */
static void print_oid(const unsigned char *p, size_t n)
{
    unsigned long v = 0;
    size_t i;
    if (n == 0) { printf("(empty)"); return; }
    printf("%u.%u", p[0] / 40, p[0] % 40);
    for (i = 1; i < n; i++) {
        v = v << 7 | (p[i] & 0x7f);
        if (!(p[i] & 0x80)) { printf(".%lu", v); v = 0; }
    }
    if (n == oid_spnego.length && !memcmp(p, oid_spnego.elements, n)) printf(" (SPNEGO)");
    else if (n == oid_ntlmssp.length && !memcmp(p, oid_ntlmssp.elements, n)) printf(" (NTLMSSP)");
    else if (n == oid_krb5.length && !memcmp(p, oid_krb5.elements, n)) printf(" (Kerberos 5)");
    else if (n == 9 && !memcmp(p, "\x2a\x86\x48\x82\xf7\x12\x01\x02\x02", 9)) printf(" (Kerberos 5, Microsoft's)");
    else if (n == 10 && !memcmp(p, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x1e", 10)) printf(" (NegoEx)");
}

/* DER: reads a tag and length at *p (bounded by end); returns the content or NULL */
static const unsigned char *der(const unsigned char **p, const unsigned char *end,
                                unsigned tag, size_t *len)
{
    const unsigned char *q = *p;
    size_t l;
    if (q + 2 > end || *q != tag) return NULL;
    q++;
    if (*q < 0x80) l = *q++;
    else {
        int k = *q++ & 0x7f;
        if (k < 1 || k > 3 || q + k > end) return NULL;
        for (l = 0; k > 0; k--) l = l << 8 | *q++;
    }
    if (l > (size_t)(end - q)) return NULL;
    *len = l;
    *p = q + l;
    return q;
}

static void describe_ntlm(const unsigned char *t, size_t n, const char *indent)
{
    unsigned type, flags;
    if (n < 12 || memcmp(t, "NTLMSSP", 8)) return;
    type = t[8] | t[9] << 8 | (unsigned)t[10] << 16 | (unsigned)t[11] << 24;
    printf("%sNTLM message type %u (%s)", indent, type,
           type == 1 ? "negotiate" : type == 2 ? "challenge" : type == 3 ? "authenticate" : "?");
    if (type == 1 && n >= 16) flags = t[12] | t[13] << 8 | (unsigned)t[14] << 16 | (unsigned)t[15] << 24;
    else if (type == 2 && n >= 24) flags = t[20] | t[21] << 8 | (unsigned)t[22] << 16 | (unsigned)t[23] << 24;
    else if (type == 3 && n >= 64) flags = t[60] | t[61] << 8 | (unsigned)t[62] << 16 | (unsigned)t[63] << 24;
    else { printf("\n"); return; }
    printf(", flags 0x%08x%s%s%s\n", flags, flags & 1 ? " UNICODE" : "", flags & 2 ? " OEM" : "",
           flags & 0x80000 ? " EXTENDED_SESSIONSECURITY" : "");
}

/* SPNEGO (RFC 4178): NegTokenInit inside the GSS framing, or a bare NegTokenResp */
static void describe_spnego(const unsigned char *t, size_t n)
{
    const unsigned char *p = t, *end = t + n, *c, *seq, *f;
    size_t l, sl, fl;
    if (n && t[0] == 0x60) {
        if (!(c = der(&p, end, 0x60, &l))) return;
        p = c; end = c + l;
        if (!(f = der(&p, end, 0x06, &fl))) return;
        printf("    GSS framing, mechanism "); print_oid(f, fl); printf("\n");
        if (!(c = der(&p, end, 0xa0, &l))) return;
        p = c; end = c + l;
        if (!(seq = der(&p, end, 0x30, &sl))) return;
        printf("    NegTokenInit:");
        p = seq; end = seq + sl;
        if ((c = der(&p, end, 0xa0, &l))) {
            const unsigned char *q = c, *qe;
            if ((c = der(&q, c + l, 0x30, &l))) {
                q = c; qe = c + l;
                printf(" mechTypes");
                while ((f = der(&q, qe, 0x06, &fl))) { printf(" "); print_oid(f, fl); }
            }
        }
        if (p < end && *p == 0xa1) (void)der(&p, end, 0xa1, &l);   /* reqFlags */
        if ((c = der(&p, end, 0xa2, &l)) && (f = der(&c, c + l, 0x04, &fl))) {
            printf("; mechToken %zu bytes", fl);
            if (fl && f[0] == 0x60) printf(" (a GSS-framed token, e.g. Kerberos AP-REQ)");
            printf("\n");
            describe_ntlm(f, fl, "    mechToken: ");
        } else printf("\n");
    } else if (n && t[0] == 0xa1) {
        if (!(c = der(&p, end, 0xa1, &l)) || !(seq = der(&c, c + l, 0x30, &sl))) return;
        p = seq; end = seq + sl;
        printf("    NegTokenResp:");
        if ((c = der(&p, end, 0xa0, &l)) && (f = der(&c, c + l, 0x0a, &fl)) && fl == 1)
            printf(" negState %u (%s)", f[0], f[0] == 0 ? "accept-completed" : f[0] == 1 ? "accept-incomplete" :
                   f[0] == 2 ? "reject" : "request-mic");
        if ((c = der(&p, end, 0xa1, &l)) && (f = der(&c, c + l, 0x06, &fl))) { printf(", supportedMech "); print_oid(f, fl); }
        if ((c = der(&p, end, 0xa2, &l)) && (f = der(&c, c + l, 0x04, &fl))) {
            printf(", responseToken %zu bytes\n", fl);
            describe_ntlm(f, fl, "    responseToken: ");
        } else printf("\n");
    }
}

static void describe(const char *what, const unsigned char *t, size_t n)
{
    size_t i;
    printf("%s: %zu bytes, first bytes", what, n);
    for (i = 0; i < n && i < 16; i++) printf(" %02x", t[i]);
    printf("\n");
    describe_ntlm(t, n, "    ");
    describe_spnego(t, n);
}

static void gss_fail(const char *what, OM_uint32 maj, OM_uint32 min, gss_OID mech)
{
    char text[512];
    fprintf(stderr, "%s: %s failed: %s\n", prog, what, gss_text(maj, min, mech, text, sizeof text));
}

/* -------------------------------------------------------------- HTTP I/O -- */
static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    struct timeval tv = {10, 0};
    int rc, s = -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc) { fprintf(stderr, "%s: %s: %s\n", prog, host, gai_strerror(rc)); return -1; }
    for (ai = res; ai; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0) continue;
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0) fprintf(stderr, "%s: connect to %s:%s: %s\n", prog, host, port, strerror(errno));
    inlen = 0;
    return s;
}

static int send_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(sock, p, n);
        if (w <= 0) { fprintf(stderr, "%s: write: %s\n", prog, strerror(errno)); return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* more bytes into inbuf; 0 at end of stream, -1 on error */
static int fill(void)
{
    ssize_t r;
    if (inlen >= HEAD_MAX) { fprintf(stderr, "%s: reply head too long\n", prog); return -1; }
    r = read(sock, inbuf + inlen, HEAD_MAX - inlen);
    if (r < 0) { fprintf(stderr, "%s: read: %s\n", prog, strerror(errno)); return -1; }
    inlen += (size_t)r;
    inbuf[inlen] = 0;
    return r > 0;
}

struct reply {
    int status;
    char line[256];
    char challenge[HEAD_MAX];    /* the token after "<scheme> " in Proxy-Authenticate */
    int has_scheme;              /* the scheme was offered (with or without a token) */
    char offered[512];           /* every Proxy-Authenticate value, shortened */
    int closes;                  /* the proxy will close: Connection: close, or 1.0 */
};

static void trim_copy(char *dst, size_t cap, const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) { s++; n--; }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

/* reads one reply head and skips its body (Content-Length); 0 ok, -1 error */
static int read_reply(const char *scheme, struct reply *r)
{
    char *eoh, *line, *next;
    long clen = 0;
    int keep = 0, http10;
    size_t head, slen = strlen(scheme);
    memset(r, 0, sizeof *r);
    while (!(eoh = strstr(inbuf, "\r\n\r\n"))) {
        int f = fill();
        if (f <= 0) {
            if (f == 0) fprintf(stderr, "%s: the proxy closed the connection before a reply%s\n", prog,
                                inlen ? " was complete" : "");
            return -1;
        }
    }
    head = (size_t)(eoh - inbuf) + 4;
    *eoh = 0;
    line = inbuf;
    next = strstr(line, "\r\n");
    if (next) *next = 0;
    trim_copy(r->line, sizeof r->line, line, strlen(line));
    http10 = !strncmp(line, "HTTP/1.0", 8);
    if (sscanf(line, "HTTP/%*d.%*d %d", &r->status) != 1) {
        fprintf(stderr, "%s: not an HTTP reply: %.80s\n", prog, line);
        return -1;
    }
    for (line = next ? next + 2 : eoh; line < eoh; line = next + 2) {
        char *colon, *v;
        next = strstr(line, "\r\n");
        if (!next) next = eoh;
        *next = 0;
        colon = strchr(line, ':');
        if (!colon) continue;
        v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        if (!strncasecmp(line, "Content-Length:", 15)) clen = strtol(v, NULL, 10);
        else if (!strncasecmp(line, "Connection:", 11) || !strncasecmp(line, "Proxy-Connection:", 17)) {
            if (!strncasecmp(v, "close", 5)) r->closes = 1;
            if (!strncasecmp(v, "keep-alive", 10)) keep = 1;
        } else if (!strncasecmp(line, "Transfer-Encoding:", 18)) {
            fprintf(stderr, "%s: chunked replies are not handled by this probe\n", prog);
            return -1;
        } else if (!strncasecmp(line, "Proxy-Authenticate:", 19)) {
            /* one or more challenges, comma-separated; tokens hold no comma */
            char *c = v;
            while (*c) {
                size_t n = strcspn(c, ",");
                char item[HEAD_MAX];
                trim_copy(item, sizeof item, c, n);
                if (*item) {
                    size_t o = strlen(r->offered);
                    if (o + 2 < sizeof r->offered)
                        snprintf(r->offered + o, sizeof r->offered - o, "%s%.40s%s", o ? ", " : "", item,
                                 strlen(item) > 40 ? "..." : "");
                    if (!strncasecmp(item, scheme, slen) && (item[slen] == 0 || item[slen] == ' ')) {
                        r->has_scheme = 1;
                        if (item[slen] == ' ') trim_copy(r->challenge, sizeof r->challenge, item + slen + 1,
                                                         strlen(item + slen + 1));
                    }
                }
                c += n;
                if (*c == ',') c++;
            }
        }
    }
    if (http10 && !keep) r->closes = 1;
    /* the body (2xx to CONNECT has none: what follows is the tunnel) */
    memmove(inbuf, inbuf + head, inlen - head);
    inlen -= head;
    inbuf[inlen] = 0;
    if (r->status / 100 != 2) {
        while ((long)inlen < clen) {
            int f = fill();
            if (f <= 0) { fprintf(stderr, "%s: reply body cut short\n", prog); return -1; }
        }
        memmove(inbuf, inbuf + clen, inlen - (size_t)clen);
        inlen -= (size_t)clen;
        inbuf[inlen] = 0;
    }
    return 0;
}

static int send_connect(const char *target, const char *scheme, const gss_buffer_desc *tok)
{
    char *b64 = NULL, *req;
    size_t cap;
    int rc;
    if (tok && tok->length && !(b64 = b64_encode(tok->value, tok->length))) return -1;
    cap = 2 * strlen(target) + (b64 ? strlen(b64) : 0) + 200;
    req = malloc(cap);
    if (!req) { free(b64); return -1; }
    if (b64)
        snprintf(req, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Connection: keep-alive\r\n"
                 "Proxy-Authorization: %s %s\r\n\r\n", target, target, scheme, b64);
    else
        snprintf(req, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Connection: keep-alive\r\n\r\n",
                 target, target);
    rc = send_all(req, strlen(req));
    free(req);
    free(b64);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: %s [-m negotiate|ntlm] [-s HOST] [-u NAME -p FILE] [-K] [-M] [-0] [-g PATH] [-r N]\n"
                    "       PROXY_HOST PROXY_PORT TARGET_HOST:PORT\n", prog);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *mech_name = "negotiate", *svc_host = NULL, *user = NULL, *pwfile = NULL;
    const char *path = "/", *scheme;
    const char *proxy_host, *proxy_port, *target;
    int opt, mutual = 0, krb5_only = 0, token_first = 0, max_rounds = 6, round, rc = 1, ctx_done = 0;
    gss_OID mech;
    OM_uint32 maj, min, ret_flags = 0;
    gss_name_t tname = GSS_C_NO_NAME;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_OID actual = GSS_C_NO_OID;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER, nb;
    unsigned char *inbytes = NULL;
    struct reply *r;
    char svc[300];

    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "m:s:u:p:KM0g:r:")) != -1) {
        switch (opt) {
        case 'm': mech_name = optarg; break;
        case 's': svc_host = optarg; break;
        case 'u': user = optarg; break;
        case 'p': pwfile = optarg; break;
        case 'K': krb5_only = 1; break;
        case 'M': mutual = 1; break;
        case '0': token_first = 1; break;
        case 'g': path = optarg; break;
        case 'r': max_rounds = atoi(optarg); break;
        default: usage();
        }
    }
    if (argc - optind != 3 || (!user != !pwfile) || max_rounds < 1) usage();
    if (krb5_only && strcmp(mech_name, "negotiate")) usage();
    proxy_host = argv[optind];
    proxy_port = argv[optind + 1];
    target = argv[optind + 2];
    if (!strcmp(mech_name, "negotiate")) { mech = &oid_spnego; scheme = "Negotiate"; }
    else if (!strcmp(mech_name, "ntlm")) { mech = &oid_ntlmssp; scheme = "NTLM"; }
    else usage();
    if (!svc_host) svc_host = proxy_host;
    r = malloc(sizeof *r);
    inbytes = malloc(HEAD_MAX);
    if (!r || !inbytes) return 1;

    /* the target: HTTP@host, which the Kerberos mechanism turns into HTTP/host@REALM */
    snprintf(svc, sizeof svc, "HTTP@%s", svc_host);
    nb.value = svc;
    nb.length = strlen(svc);
    maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &tname);
    if (GSS_ERROR(maj)) { gss_fail("gss_import_name (target)", maj, min, GSS_C_NO_OID); return 4; }
    printf("gss_probe: scheme %s, mechanism ", scheme);
    print_oid(mech->elements, mech->length);
    printf(", target name %s (GSS_C_NT_HOSTBASED_SERVICE)\n", svc);

    if (user) {   /* explicit credentials: name and password */
        gss_name_t uname;
        gss_OID_set_desc mechs = {1, mech};
        char pw[512];
        FILE *f = fopen(pwfile, "r");
        gss_buffer_desc pwb;
        if (!f || !fgets(pw, sizeof pw, f)) { fprintf(stderr, "%s: cannot read %s\n", prog, pwfile); return 2; }
        fclose(f);
        pw[strcspn(pw, "\r\n")] = 0;
        nb.value = (void *)user;
        nb.length = strlen(user);
        maj = gss_import_name(&min, &nb, GSS_C_NT_USER_NAME, &uname);
        if (GSS_ERROR(maj)) { gss_fail("gss_import_name (user)", maj, min, GSS_C_NO_OID); return 4; }
        pwb.value = pw;
        pwb.length = strlen(pw);
        maj = gss_acquire_cred_with_password(&min, uname, &pwb, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                             &cred, NULL, NULL);
        { volatile char *v = pw; size_t i; for (i = 0; i < sizeof pw; i++) v[i] = 0; }
        gss_release_name(&min, &uname);
        if (GSS_ERROR(maj)) { gss_fail("gss_acquire_cred_with_password", maj, min, mech); return 4; }
        printf("gss_probe: credentials for %s from gss_acquire_cred_with_password\n", user);
    } else {
        printf("gss_probe: default credentials (%s)\n",
               mech == &oid_ntlmssp ? "gss-ntlmssp: NTLM_USER_FILE" : "Kerberos: KRB5CCNAME");
    }

    if (krb5_only) {   /* SPNEGO may offer Kerberos only */
        gss_OID_set_desc spnego_set = {1, &oid_spnego}, krb5_set = {1, &oid_krb5};
        if (cred == GSS_C_NO_CREDENTIAL) {
            maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &spnego_set, GSS_C_INITIATE, &cred,
                                   NULL, NULL);
            if (GSS_ERROR(maj)) { gss_fail("gss_acquire_cred", maj, min, mech); return 4; }
        }
        maj = gss_set_neg_mechs(&min, cred, &krb5_set);
        if (GSS_ERROR(maj)) { gss_fail("gss_set_neg_mechs", maj, min, mech); return 4; }
        printf("gss_probe: SPNEGO limited to Kerberos 5 (gss_set_neg_mechs)\n");
    }

    if ((sock = connect_to(proxy_host, proxy_port)) < 0) return 1;
    round = 0;
    if (!token_first) {   /* a first CONNECT without credentials: which schemes? */
        if (send_connect(target, scheme, NULL) || read_reply(scheme, r)) goto done;
        round++;
        printf("request %d: CONNECT %s without credentials -> %s; Proxy-Authenticate: %s%s\n", round, target,
               r->line, r->offered[0] ? r->offered : "(none)", r->closes ? "; the proxy closes" : "");
        if (r->status / 100 == 2) { printf("gss_probe: no authentication asked\n"); goto tunnel; }
        if (r->status != 407 || !r->has_scheme) {
            printf("gss_probe: the proxy does not offer %s\n", scheme);
            rc = 3;
            goto done;
        }
        if (r->closes) {
            close(sock);
            if ((sock = connect_to(proxy_host, proxy_port)) < 0) goto done;
            printf("gss_probe: new connection to the proxy\n");
        }
    }
    for (;;) {
        char label[64];
        if (round >= max_rounds) { printf("gss_probe: still 407 after %d requests\n", round); rc = 3; goto done; }
        maj = gss_init_sec_context(&min, cred, &ctx, tname, mech,
                                   mutual ? GSS_C_MUTUAL_FLAG : 0, GSS_C_INDEFINITE,
                                   GSS_C_NO_CHANNEL_BINDINGS, in.length ? &in : GSS_C_NO_BUFFER,
                                   &actual, &out, &ret_flags, NULL);
        if (GSS_ERROR(maj)) { gss_fail("gss_init_sec_context", maj, min, mech); rc = 4; goto done; }
        ctx_done = maj == GSS_S_COMPLETE;
        printf("gss_init_sec_context: %s, actual mechanism ", ctx_done ? "GSS_S_COMPLETE" : "GSS_S_CONTINUE_NEEDED");
        if (actual) print_oid(actual->elements, actual->length); else printf("(none)");
        printf("\n");
        if (out.length == 0) {
            printf("gss_probe: the mechanism has no token to send, but the proxy still asks\n");
            rc = 3;
            goto done;
        }
        snprintf(label, sizeof label, "request %d token", round + 1);
        describe(label, out.value, out.length);
        if (send_connect(target, scheme, &out)) goto done;
        gss_release_buffer(&min, &out);
        if (read_reply(scheme, r)) goto done;
        round++;
        printf("request %d: CONNECT %s with %s -> %s%s\n", round, target, scheme, r->line,
               r->closes ? "; the proxy closes" : "");
        in.length = 0;
        if (r->challenge[0]) {
            long n = b64_decode(r->challenge, inbytes, HEAD_MAX);
            if (n < 0) { fprintf(stderr, "%s: the challenge is not base64\n", prog); goto done; }
            in.value = inbytes;
            in.length = (size_t)n;
            describe("    challenge", inbytes, in.length);
        }
        if (r->status / 100 == 2) break;
        if (r->status != 407 || !r->challenge[0]) {
            printf("gss_probe: the proxy refused (%s)%s\n", r->line,
                   r->status == 407 ? ": a 407 with no token to go on, the credentials were rejected" : "");
            rc = 3;
            goto done;
        }
        if (r->closes) {
            printf("gss_probe: the proxy closed the connection in the middle of the exchange\n");
            goto done;
        }
    }
    /* a final token in the 2xx (mutual authentication) completes the context */
    if (!ctx_done && in.length) {
        maj = gss_init_sec_context(&min, cred, &ctx, tname, mech, mutual ? GSS_C_MUTUAL_FLAG : 0,
                                   GSS_C_INDEFINITE, GSS_C_NO_CHANNEL_BINDINGS, &in, &actual, &out,
                                   &ret_flags, NULL);
        if (GSS_ERROR(maj)) { gss_fail("gss_init_sec_context (final token)", maj, min, mech); rc = 4; goto done; }
        ctx_done = maj == GSS_S_COMPLETE;
        gss_release_buffer(&min, &out);
    }
    printf("gss_probe: tunnel up after %d requests; context %s%s\n", round,
           ctx_done ? "complete" : "not complete (the 2xx carried no final token)",
           ctx_done && (ret_flags & GSS_C_MUTUAL_FLAG) ? ", mutual authentication done" : "");
    if (mutual && !(ctx_done && (ret_flags & GSS_C_MUTUAL_FLAG))) {
        printf("gss_probe: mutual authentication was asked for and not completed\n");
        rc = 3;
        goto done;
    }
tunnel:
    {   /* one request through the tunnel to show it carries bytes */
        char req[600], *eol;
        int f;
        snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, target);
        if (send_all(req, strlen(req))) goto done;
        while (!(eol = strstr(inbuf, "\r\n")) && (f = fill()) > 0) {}
        if (!eol || strncmp(inbuf, "HTTP/", 5)) { fprintf(stderr, "%s: no HTTP reply through the tunnel\n", prog); goto done; }
        *eol = 0;
        printf("through the tunnel: GET %s -> %s\n", path, inbuf);
        rc = 0;
    }
done:
    if (sock >= 0) close(sock);
    if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&min, &cred);
    gss_release_name(&min, &tname);
    free(inbytes);
    free(r);
    printf("gss_probe: exit %d\n", rc);
    return rc;
}
