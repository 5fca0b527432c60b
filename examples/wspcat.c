/* wspcat: a poll()-based WebSocket client built on wsproxy.h, as a command-line tool.
   Build, copied next to wsproxy.h: cc -std=c99 -O2 -o wspcat wspcat.c -lbearssl
   With NTLM and Negotiate proxy authentication (GSSAPI: Debian's libkrb5-dev, and
   gss-ntlmssp at run time for NTLM):
     cc -std=c99 -O2 -DWSPCAT_GSSAPI -o wspcat wspcat.c -lbearssl -lgssapi_krb5
   (TLS 1.3 on OpenSSL: cc -std=c99 -O2 -DWSPROXY_TLS_OPENSSL -o wspcat wspcat.c -lssl -lcrypto)

   wspcat [options] ws[s]://host[:port][/path]     (wspcat --help lists the options)

   Sends each line of standard input as a text message (-b: binary messages) and prints
   each message that arrives. At the end of its input it keeps reading until the server
   has been quiet for --linger seconds (default 1), then closes with 1000. The manual
   page docs/wspcat.1 describes every option, the proxy environment variables and the
   exit codes:
     0 success   1 usage   2 connect / connection lost   3 proxy refused the tunnel
     4 proxy authentication   5 WebSocket handshake   6 WebSocket protocol
     7 timeout   8 TLS   9 the server closed before --count (or -1) messages arrived

   Everything written to standard error is escaped (no control byte, no C1 code point,
   no invalid UTF-8 reaches a terminal from it), so a server's close reason, a proxy's
   status line or a header value cannot drive the terminal. Received messages are
   escaped on standard output with --escape (the default when it is a terminal). */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include "wsproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifdef WSPCAT_GSSAPI   /* NTLM and Negotiate tokens (see "proxy authentication" below) */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#ifndef WSPCAT_GSSAPI_NAME
#define WSPCAT_GSSAPI_NAME "MIT Kerberos"   /* what --version says the GSSAPI is */
#endif
#endif

#define WSPCAT_STR_(x) #x
#define WSPCAT_STR(x) WSPCAT_STR_(x)
/* wspcat ships with the library and takes its version */
#define WSPCAT_VERSION WSPCAT_STR(WSPROXY_VERSION_MAJOR) "." WSPCAT_STR(WSPROXY_VERSION_MINOR) \
    "." WSPCAT_STR(WSPROXY_VERSION_PATCH)

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define MAX_LIST 64                               /* -H, --proxy-header, --protocol each */
#define MAX_LINE_BYTES (64u * 1024u * 1024u)      /* longest input line (one message) */
#define READ_CHUNK 65536u                         /* stdin read size; -b: largest message */
#define MAX_FILE_BYTES (4u * 1024u * 1024u)       /* largest file read (--cacert, ...) */
#define FILE_READ_MS 5000                         /* a file (FIFO) must end within this */
#define MAX_SECONDS 1000000.0                     /* largest value of a time option */

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_CONNECT = 2, EXIT_PROXY = 3, EXIT_PROXY_AUTH = 4,
       EXIT_HANDSHAKE = 5, EXIT_PROTOCOL = 6, EXIT_TIMEOUT = 7, EXIT_TLS = 8,
       EXIT_INCOMPLETE = 9 };

/* The exit status for a library error code. */
static int exit_code_for(int err)
{
    switch (err) {
    case WSPROXY_E_PROXY_REFUSED: case WSPROXY_E_CONNECT_REFUSED: case WSPROXY_E_CONNECTION_LOST:
    case WSPROXY_E_PROXY_UNREACHABLE: case WSPROXY_E_PROXY_RESET: case WSPROXY_E_PROXY_NAME:
    case WSPROXY_E_CONNECT_UNREACHABLE: case WSPROXY_E_CONNECT_RESET: case WSPROXY_E_CONNECT_NAME:
        return EXIT_CONNECT;
    case WSPROXY_E_PROXY_AUTH: case WSPROXY_E_PROXY_AUTH_REJECTED: case WSPROXY_E_PROXY_AUTH_SCHEME:
    case WSPROXY_E_PROXY_AUTH_ROUNDS: case WSPROXY_E_PROXY_AUTH_TOKEN: case WSPROXY_E_PROXY_AUTH_CHALLENGE:
        return EXIT_PROXY_AUTH;
    case WSPROXY_E_PROXY_TIMEOUT: case WSPROXY_E_HANDSHAKE_TIMEOUT: case WSPROXY_E_CLOSE_TIMEOUT:
    case WSPROXY_E_PONG_TIMEOUT:
        return EXIT_TIMEOUT;
    default:
        break;
    }
    if (err == WSPROXY_E_SOCKS_AUTH_FAILED || err == WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD)
        return EXIT_PROXY_AUTH;
    if (err >= 340 && err < 400) return EXIT_USAGE;
    if (err >= 200 && err < 340) return EXIT_PROXY;
    if (err >= 400 && err < 500) return EXIT_HANDSHAKE;
    if (err >= 600 && err < 700) return EXIT_TLS;
    if (err >= 500) return EXIT_PROTOCOL;
    return EXIT_USAGE;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = (const char *)p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- output: a buffered sink and the escaper -------------------------------------- */
typedef struct {
    int fd, failed;
    size_t len;
    unsigned char buf[16384];
} sink;

static void sink_flush(sink *s)
{
    if (s->len && !s->failed && write_all(s->fd, s->buf, s->len) != 0) s->failed = 1;
    s->len = 0;
}

static void sink_put(sink *s, const void *p, size_t n)
{
    if (n > sizeof s->buf - s->len) sink_flush(s);
    if (n >= sizeof s->buf) {
        if (!s->failed && write_all(s->fd, p, n) != 0) s->failed = 1;
        return;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

/* An escaper's state: the start of a UTF-8 sequence cut by the end of a chunk. */
typedef struct {
    unsigned char b[4];
    size_t n;
} esc_state;

/* The UTF-8 sequence at p (n bytes there): its length 1..4 with *cp set when complete
   and valid (RFC 3629: no overlong form, no surrogate, at most U+10FFFF), 0 when p[0]
   cannot start one, -1 when it is valid so far but cut short. */
static int utf8_seq(const unsigned char *p, size_t n, unsigned long *cp)
{
    unsigned lo = 0x80, hi = 0xBF, b0 = p[0];
    unsigned long v;
    int need, i;
    if (b0 < 0x80) { *cp = b0; return 1; }
    if (b0 >= 0xC2 && b0 <= 0xDF) { need = 1; v = b0 & 0x1F; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2; v = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3; v = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if ((size_t)i >= n) return -1;
        if (p[i] < lo || p[i] > hi) return 0;
        lo = 0x80; hi = 0xBF;
        v = v << 6 | (p[i] & 0x3Fu);
    }
    *cp = v;
    return need + 1;
}

/* Code points that change what a terminal shows beyond their own glyph: C0, DEL, C1,
   and the bidirectional formatting controls (they reorder the text around them). */
static int cp_is_control(unsigned long cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
           cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

static void emit_escaped(sink *s, unsigned long cp, const unsigned char *raw, int len)
{
    char e[12];
    int k;
    if (len <= 0) {   /* a byte that is no UTF-8 here */
        k = snprintf(e, sizeof e, "\\x%02x", raw[0]);
    } else if (cp == '\\') {
        k = snprintf(e, sizeof e, "\\\\");
    } else if (cp == '\n' || cp == '\r' || cp == '\t') {
        k = snprintf(e, sizeof e, "\\%c", cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't');
    } else if (cp < 0x20 || cp == 0x7F) {
        k = snprintf(e, sizeof e, "\\x%02lx", cp);
    } else if (cp_is_control(cp)) {
        k = snprintf(e, sizeof e, "\\u%04lx", cp);
    } else {
        sink_put(s, raw, (size_t)len);
        return;
    }
    sink_put(s, e, (size_t)k);
}

/* Writes p[0..n) to s with every control byte, C1 or bidi control code point, backslash
   and byte that is not UTF-8 escaped (\n \r \t \\ \xHH \uHHHH). Chunks of one text go
   through one st, which keeps a sequence cut at a chunk's end; final = 1 ends the text
   (a sequence still cut is then escaped byte by byte). */
static void escape_to(sink *s, esc_state *st, const unsigned char *p, size_t n, int final)
{
    size_t i = 0;
    while (i < n || (final && st->n)) {
        unsigned char tmp[4];
        const unsigned char *q = p + i;
        size_t qn = n - i, used;
        unsigned long cp = 0;
        int r;
        if (st->n) {   /* the carried bytes, then as many new ones as a sequence can take */
            size_t take = n - i < 4 - st->n ? n - i : 4 - st->n;
            memcpy(tmp, st->b, st->n);
            memcpy(tmp + st->n, p + i, take);
            q = tmp;
            qn = st->n + take;
        }
        r = utf8_seq(q, qn, &cp);
        if (r < 0 && !final) {   /* cut short: keep it for the next chunk (qn < 4) */
            memmove(st->b, q, qn);
            st->n = qn;
            return;
        }
        emit_escaped(s, cp, q, r);
        used = r > 0 ? (size_t)r : 1;
        if (st->n) {
            if (used >= st->n) {
                i += used - st->n;
                st->n = 0;
            } else {
                memmove(st->b, st->b + used, st->n - used);
                st->n -= used;
            }
        } else {
            i += used;
        }
    }
}

/* ---- diagnostics: every line to stderr is built here and escaped whole ------------- */
static sink err_sink = {2, 0, 0, {0}};
static struct {
    char buf[4096];
    size_t len;
} diag;

static void diag_bytes(const void *p, size_t n)
{
    size_t room = sizeof diag.buf - diag.len;
    if (n > room) n = room;
    memcpy(diag.buf + diag.len, p, n);
    diag.len += n;
}

static void diag_vprintf(const char *fmt, va_list ap)
{
    size_t room = sizeof diag.buf - diag.len;
    int k;
    if (room < 2) return;
    k = vsnprintf(diag.buf + diag.len, room, fmt, ap);
    if (k > 0) diag.len += (size_t)k < room ? (size_t)k : room - 1;
}

static void diag_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vprintf(fmt, ap);
    va_end(ap);
}

static void diag_end(void)
{
    esc_state st = {{0}, 0};
    escape_to(&err_sink, &st, (const unsigned char *)diag.buf, diag.len, 1);
    sink_put(&err_sink, "\n", 1);
    sink_flush(&err_sink);
    diag.len = 0;
}

/* One line on stderr, escaped. */
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vprintf(fmt, ap);
    va_end(ap);
    diag_end();
}

static const char *plural(unsigned long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* ---- options ---------------------------------------------------------------------- */
enum {
    OPT_HEADING = 0, OPT_BINARY, OPT_LINES, OPT_ESCAPE, OPT_NO_ESCAPE, OPT_ONE, OPT_COUNT,
    OPT_LINGER, OPT_PROXY, OPT_NOPROXY, OPT_SHOW_PROXY, OPT_HEADER, OPT_PROXY_HEADER,
    OPT_PROTOCOL, OPT_ORIGIN, OPT_CONNECT_TIMEOUT, OPT_MAX_TIME, OPT_TIMEOUT, OPT_PING,
    OPT_CACERT, OPT_PROXY_CACERT, OPT_INSECURE, OPT_PROXY_INSECURE, OPT_CERT, OPT_KEY,
    OPT_PROXY_CERT, OPT_PROXY_KEY, OPT_TLS_COMPAT, OPT_PROXY_TLS_COMPAT, OPT_PROXY_USER,
    OPT_PROXY_BASIC, OPT_PROXY_DIGEST, OPT_PROXY_NTLM, OPT_PROXY_NEGOTIATE, OPT_PROXY_ANYAUTH,
    OPT_VERBOSE, OPT_TIMING, OPT_PRINT_PROTOCOL, OPT_HELP, OPT_VERSION, OPT_COMPRESS
};

typedef struct {
    int id;               /* OPT_*; OPT_HEADING: a heading line in --help */
    char short_name;      /* 0: none */
    const char *name;     /* long name without "--" */
    const char *arg;      /* the value's name, NULL for a switch */
    const char *help;     /* '\n' starts a continuation line */
} option_spec;

/* --help is printed from this table, so the two cannot drift apart; docs/wspcat.1
   says the same at length. A new option gets one line here and one case in
   apply_option. */
static const option_spec options_table[] = {
    {OPT_HEADING, 0, NULL, NULL, "Input and output:"},
    {OPT_BINARY, 'b', "binary", NULL, "send stdin as binary messages (one per read) and\n"
                                      "write received messages raw"},
    {OPT_LINES, 0, "lines", NULL, "with -b: one message per input line, and a newline\n"
                                  "after each message received"},
    {OPT_ESCAPE, 0, "escape", NULL, "escape control bytes and invalid UTF-8 of received\n"
                                    "messages (default when stdout is a terminal)"},
    {OPT_NO_ESCAPE, 0, "no-escape", NULL, "write received messages as they are"},
    {OPT_ONE, '1', "one-message", NULL, "send one message, exit after the first received"},
    {OPT_COUNT, 0, "count", "N", "exit after N messages received (exit 9 when the\n"
                                 "server closes before)"},
    {OPT_LINGER, 0, "linger", "SECONDS", "at end of input, close once the server has been\n"
                                         "quiet this long (default 1; 0: at once)"},
    {OPT_HEADING, 0, NULL, NULL, "Connection:"},
    {OPT_PROXY, 'x', "proxy", "URL", "proxy: http://, https://, socks4://, socks4a://,\n"
                                     "socks5://, socks5h:// (\"\": none; default: the\n"
                                     "environment, as curl reads it)"},
    {OPT_NOPROXY, 0, "noproxy", "LIST", "hosts reached directly (overrides NO_PROXY)"},
    {OPT_SHOW_PROXY, 0, "show-proxy", "URL", "print the proxy used for URL (password masked)\n"
                                             "or DIRECT, and exit"},
    {OPT_HEADER, 'H', "header", "\"Name: value\"", "header for the server (repeatable)"},
    {OPT_PROXY_HEADER, 0, "proxy-header", "\"Name: value\"", "header for the proxy's CONNECT"},
    {OPT_PROTOCOL, 0, "protocol", "P", "offer subprotocol P (repeatable)"},
    {OPT_ORIGIN, 0, "origin", "O", "send Origin: O"},
    {OPT_CONNECT_TIMEOUT, 0, "connect-timeout", "SECONDS", "give up when connecting (TCP, proxy,\n"
                                                           "TLS, upgrade) takes longer"},
    {OPT_MAX_TIME, 0, "max-time", "SECONDS", "give up when the whole run takes longer"},
    {OPT_TIMEOUT, 0, "timeout", "SECONDS", "wait at most this long for each reply (proxy,\n"
                                           "upgrade, close; default 10)"},
    {OPT_PING, 0, "ping", "SECONDS", "send a ping this often; fail when one is unanswered"},
#ifndef WSPROXY_NO_TLS
    {OPT_HEADING, 0, NULL, NULL, "TLS:"},
    {OPT_CACERT, 0, "cacert", "FILE", "PEM file of CAs for the server (default: the\n"
                                      "system bundle)"},
    {OPT_PROXY_CACERT, 0, "proxy-cacert", "FILE", "PEM file of CAs for an https:// proxy"},
    {OPT_INSECURE, 'k', "insecure", NULL, "do not verify the server's certificate"},
    {OPT_PROXY_INSECURE, 0, "proxy-insecure", NULL, "do not verify the proxy's certificate"},
    {OPT_CERT, 0, "cert", "FILE", "client certificate chain (PEM) for the server"},
    {OPT_KEY, 0, "key", "FILE", "its private key (PEM: PKCS#1, SEC1 or PKCS#8, not\n"
                                "encrypted)"},
    {OPT_PROXY_CERT, 0, "proxy-cert", "FILE", "client certificate chain for an https:// proxy"},
    {OPT_PROXY_KEY, 0, "proxy-key", "FILE", "its private key"},
    {OPT_TLS_COMPAT, 0, "tls-compat", NULL, "also offer ECDHE with AES-CBC to the server (old\n"
                                            "peers; never static RSA, 3DES or SHA-1)"},
    {OPT_PROXY_TLS_COMPAT, 0, "proxy-tls-compat", NULL, "the same for the proxy hop"},
#endif
    {OPT_HEADING, 0, NULL, NULL, "Proxy authentication (the schemes given add up):"},
    {OPT_PROXY_USER, 'U', "proxy-user", "USER[:PASSWORD]", "the proxy's user (HTTP, or SOCKS5 RFC 1929);\n"
                                                           "without :PASSWORD it is asked on the terminal"},
    {OPT_PROXY_BASIC, 0, "proxy-basic", NULL, "allow Basic (the default; alone it goes with the\n"
                                              "first CONNECT)"},
    {OPT_PROXY_DIGEST, 0, "proxy-digest", NULL, "allow Digest (RFC 7616)"},
    {OPT_PROXY_NTLM, 0, "proxy-ntlm", NULL, "allow NTLM (GSSAPI with gss-ntlmssp)"},
    {OPT_PROXY_NEGOTIATE, 0, "proxy-negotiate", NULL, "allow Negotiate (Kerberos through GSSAPI, the\n"
                                                      "ticket from kinit)"},
    {OPT_PROXY_ANYAUTH, 0, "proxy-anyauth", NULL, "allow every scheme this wspcat has; the proxy's\n"
                                                  "407 decides (the strongest offered wins)"},
#ifdef WSPROXY_DEFLATE
    {OPT_HEADING, 0, NULL, NULL, "Compression:"},
    {OPT_COMPRESS, 0, "compress", NULL, "offer permessage-deflate (RFC 7692); -v shows what\n"
                                        "the server settled"},
#endif
    {OPT_HEADING, 0, NULL, NULL, "Diagnostics:"},
    {OPT_VERBOSE, 'v', "verbose", NULL, "log each step and the HTTP heads on stderr\n"
                                        "(credentials and cookies as ***)"},
    {OPT_TIMING, 0, "timing", NULL, "print the handshake time on stderr"},
    {OPT_PRINT_PROTOCOL, 0, "print-protocol", NULL, "print the chosen subprotocol on stderr"},
    {OPT_HELP, 'h', "help", NULL, "print this help and exit"},
    {OPT_VERSION, 'V', "version", NULL, "print the versions and exit"},
};
#define OPTION_COUNT (sizeof options_table / sizeof options_table[0])

typedef struct {
    const char *url, *explicit_proxy, *noproxy, *show_proxy, *origin, *cacert, *proxy_cacert;
    const char *cert, *key, *proxy_cert, *proxy_key;
    int tls_compat, proxy_tls_compat;
    const char *headers[MAX_LIST + 1], *proxy_headers[MAX_LIST + 1], *protocols[MAX_LIST + 1];
    int nh, nph, np;
    double timeout_s, connect_timeout_s, max_time_s, linger_s, ping_s;
    unsigned long count;
    int one_message, binary, lines, escape, timing, print_protocol, insecure, proxy_insecure;
    int verbose, compress;
    /* proxy authentication: -U's user and password (in wspcat's own buffers, wiped at
       the end; the command line's copy is blanked) and the --proxy-* schemes */
    const char *proxy_user, *proxy_password;   /* NULL: not given */
    int proxy_auth;                            /* WSPROXY_AUTH_* bits; 0: none given */
    int proxy_has_user;                        /* -U or the proxy URL gives a user */
    double t_start;   /* when the run started: --connect-timeout and --max-time count from here */
} options;

static void usage_hint(void)
{
    say("wspcat: try 'wspcat --help' for the options");
}

static void print_help(void)
{
    size_t i;
    printf("Usage: wspcat [options] ws[s]://host[:port][/path]\n"
           "       wspcat [options] --show-proxy ws[s]://host[:port][/path]\n"
           "Sends each line of standard input as a message and prints each message received.\n");
    for (i = 0; i < OPTION_COUNT; i++) {
        const option_spec *o = &options_table[i];
        char left[64];
        const char *h = o->help;
        int k;
        if (o->id == OPT_HEADING) { printf("\n%s\n", o->help); continue; }
        if (o->short_name)
            k = snprintf(left, sizeof left, "  -%c, --%s%s%s", o->short_name, o->name,
                         o->arg ? " " : "", o->arg ? o->arg : "");
        else
            k = snprintf(left, sizeof left, "      --%s%s%s", o->name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
        if (k > 29) printf("%s\n%-30s", left, "");
        else printf("%-30s", left);
        for (;;) {
            const char *nl = strchr(h, '\n');
            if (!nl) { printf("%s\n", h); break; }
            printf("%.*s\n%-30s", (int)(nl - h), h, "");
            h = nl + 1;
        }
    }
    printf("\nExit codes: 0 success, 1 usage, 2 connect or connection lost, 3 proxy refused\n"
           "the tunnel, 4 proxy authentication, 5 WebSocket handshake, 6 WebSocket protocol,\n"
           "7 timeout, 8 TLS, 9 the server closed before --count (or -1) messages arrived.\n"
           "Manual: man wspcat (docs/wspcat.1).\n");
}

static void print_version(void)
{
    printf("wspcat %s\n", WSPCAT_VERSION);
    /* when the library gains WSPROXY_VERSION / wsproxy_version(), print the version of
       the code linked (wsproxy_version()) beside the header's */
    printf("library: wsproxy.h %d.%d.%d\n", WSPROXY_VERSION_MAJOR, WSPROXY_VERSION_MINOR,
           WSPROXY_VERSION_PATCH);
#ifdef WSPROXY_TLS_OPENSSL
    printf("TLS: %s (TLS 1.3 and 1.2)\n", OpenSSL_version(OPENSSL_VERSION));
#elif !defined(WSPROXY_NO_TLS)
    printf("TLS: BearSSL (TLS 1.2)\n");
#else
    printf("TLS: none (built with WSPROXY_NO_TLS)\n");
#endif
    /* Optional parts, one line each: compression, proxy authentication (GSSAPI when linked) */
#ifdef WSPROXY_DEFLATE
    printf("compression: permessage-deflate with zlib %s\n", zlibVersion());
#else
    printf("compression: none (built without WSPROXY_DEFLATE)\n");
#endif
#if defined WSPCAT_GSSAPI && !defined WSPROXY_NO_TLS
    printf("proxy authentication: Basic, Digest, NTLM and Negotiate (GSSAPI: %s)\n", WSPCAT_GSSAPI_NAME);
#elif defined WSPCAT_GSSAPI
    printf("proxy authentication: Basic, NTLM and Negotiate (GSSAPI: %s; no Digest without TLS)\n",
           WSPCAT_GSSAPI_NAME);
#elif !defined WSPROXY_NO_TLS
    printf("proxy authentication: Basic, Digest (built without GSSAPI)\n");
#else
    printf("proxy authentication: Basic (built without GSSAPI, and without TLS for Digest)\n");
#endif
}

/* A number of seconds: 0 .. MAX_SECONDS, decimals allowed. */
static int parse_seconds(const char *opt, const char *v, double *out)
{
    char *end;
    double d;
    errno = 0;
    d = strtod(v, &end);
    if (end == v || *end != '\0' || errno != 0 || d != d || d < 0 || d > MAX_SECONDS) {
        say("wspcat: option '%s': '%s' is not a number of seconds (0 to %.0f)", opt, v, MAX_SECONDS);
        return -1;
    }
    *out = d;
    return 0;
}

static int parse_count(const char *opt, const char *v, unsigned long *out)
{
    char *end;
    unsigned long n;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || v[0] == '-' || n == 0 || n > 1000000000ul) {
        say("wspcat: option '%s': '%s' is not a count (1 to 1000000000)", opt, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int add_to_list(const char *opt, const char **list, int *n, const char *v)
{
    if (*n >= MAX_LIST) {
        say("wspcat: option '%s' given more than %d times", opt, MAX_LIST);
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

/* -U's user and password: the longest either may be (the library's limit) */
static char proxy_user_buf[WSPROXY_MAX_CREDENTIAL_BYTES + 1];
static char proxy_password_buf[WSPROXY_MAX_CREDENTIAL_BYTES + 1];

/* A wipe the compiler keeps (a plain memset before free or exit may be dropped). */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

/* -U USER[:PASSWORD]: split at the first ':' into wspcat's buffers, then blank the
   password in the command line itself, so that ps and /proc show it no longer (it was
   visible until now: the terminal prompt, without :PASSWORD, avoids even that).
   "-U :" (no user), as curl takes it, gives no credentials. Messages never show the
   password. */
static int take_proxy_user(options *o, const char *shown, const char *v)
{
    const char *colon = strchr(v, ':');
    size_t ulen = colon ? (size_t)(colon - v) : strlen(v), plen = colon ? strlen(colon + 1) : 0, i;
    o->proxy_user = o->proxy_password = NULL;
    if (ulen > WSPROXY_MAX_CREDENTIAL_BYTES || plen > WSPROXY_MAX_CREDENTIAL_BYTES) {
        say("wspcat: option '%s': the user and the password may have at most %d bytes each", shown,
            WSPROXY_MAX_CREDENTIAL_BYTES);
        return -1;
    }
    for (i = 0; i < ulen + (colon ? 1 + plen : 0); i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7F) {
            say("wspcat: option '%s': the user or the password holds a control character", shown);
            return -1;
        }
    memcpy(proxy_user_buf, v, ulen);
    proxy_user_buf[ulen] = '\0';
    if (colon) {
        memcpy(proxy_password_buf, colon + 1, plen);
        proxy_password_buf[plen] = '\0';
        /* argv's strings are the program's to change (C99 5.1.2.2.1) */
        wipe((char *)colon + 1, plen);
    }
    if (ulen) {
        o->proxy_user = proxy_user_buf;
        if (colon) o->proxy_password = proxy_password_buf;
    }
    return 0;
}

/* --proxy-ntlm and --proxy-negotiate need GSSAPI; --proxy-digest needs BearSSL's
   hashes. What this build can answer: */
#ifdef WSPROXY_NO_TLS
#define WSPCAT_DIGEST 0
#else
#define WSPCAT_DIGEST WSPROXY_AUTH_DIGEST
#endif
#ifdef WSPCAT_GSSAPI
#define WSPCAT_TOKENS (WSPROXY_AUTH_NTLM | WSPROXY_AUTH_NEGOTIATE)
#else
#define WSPCAT_TOKENS 0
#endif
#define WSPCAT_SCHEMES (WSPROXY_AUTH_BASIC | WSPCAT_DIGEST | WSPCAT_TOKENS)

static int allow_scheme(options *o, const char *shown, int scheme)
{
    if (!(scheme & WSPCAT_SCHEMES)) {
        say("wspcat: option '%s': this wspcat was built without %s (see wspcat --version)", shown,
            scheme == WSPROXY_AUTH_DIGEST ? "TLS, which Digest's hashes come with" : "GSSAPI");
        return -1;
    }
    o->proxy_auth |= scheme;
    return 0;
}

/* Applies one option; returns -1 to go on, else the exit status (EXIT_OK after --help
   and --version). */
static int apply_option(options *o, const option_spec *s, const char *shown, const char *v)
{
    if (s->arg && !v) return EXIT_USAGE;   /* take_option always gives one */
    switch (s->id) {
    case OPT_BINARY: o->binary = 1; break;
    case OPT_LINES: o->lines = 1; break;
    case OPT_ESCAPE: o->escape = 1; break;
    case OPT_NO_ESCAPE: o->escape = 0; break;
    case OPT_ONE: o->one_message = 1; break;
    case OPT_COUNT: if (parse_count(shown, v, &o->count)) return EXIT_USAGE; break;
    case OPT_LINGER: if (parse_seconds(shown, v, &o->linger_s)) return EXIT_USAGE; break;
    case OPT_PROXY: o->explicit_proxy = v; break;
    case OPT_NOPROXY: o->noproxy = v; break;
    case OPT_SHOW_PROXY: o->show_proxy = v; break;
    case OPT_HEADER: if (add_to_list(shown, o->headers, &o->nh, v)) return EXIT_USAGE; break;
    case OPT_PROXY_HEADER:
        if (add_to_list(shown, o->proxy_headers, &o->nph, v)) return EXIT_USAGE;
        break;
    case OPT_PROTOCOL: if (add_to_list(shown, o->protocols, &o->np, v)) return EXIT_USAGE; break;
    case OPT_ORIGIN: o->origin = v; break;
    case OPT_CONNECT_TIMEOUT:
        if (parse_seconds(shown, v, &o->connect_timeout_s)) return EXIT_USAGE;
        break;
    case OPT_MAX_TIME: if (parse_seconds(shown, v, &o->max_time_s)) return EXIT_USAGE; break;
    case OPT_TIMEOUT:
        if (parse_seconds(shown, v, &o->timeout_s)) return EXIT_USAGE;
        if (o->timeout_s <= 0) {
            say("wspcat: option '%s' needs a time above 0", shown);
            return EXIT_USAGE;
        }
        break;
    case OPT_PING: if (parse_seconds(shown, v, &o->ping_s)) return EXIT_USAGE; break;
    case OPT_CACERT: o->cacert = v; break;
    case OPT_PROXY_CACERT: o->proxy_cacert = v; break;
    case OPT_INSECURE: o->insecure = 1; break;
    case OPT_PROXY_INSECURE: o->proxy_insecure = 1; break;
    case OPT_CERT: o->cert = v; break;
    case OPT_KEY: o->key = v; break;
    case OPT_PROXY_CERT: o->proxy_cert = v; break;
    case OPT_PROXY_KEY: o->proxy_key = v; break;
    case OPT_TLS_COMPAT: o->tls_compat = 1; break;
    case OPT_PROXY_TLS_COMPAT: o->proxy_tls_compat = 1; break;
    case OPT_PROXY_USER: if (take_proxy_user(o, shown, v)) return EXIT_USAGE; break;
    case OPT_PROXY_BASIC: o->proxy_auth |= WSPROXY_AUTH_BASIC; break;
    case OPT_PROXY_DIGEST: if (allow_scheme(o, shown, WSPROXY_AUTH_DIGEST)) return EXIT_USAGE; break;
    case OPT_PROXY_NTLM: if (allow_scheme(o, shown, WSPROXY_AUTH_NTLM)) return EXIT_USAGE; break;
    case OPT_PROXY_NEGOTIATE: if (allow_scheme(o, shown, WSPROXY_AUTH_NEGOTIATE)) return EXIT_USAGE; break;
    case OPT_PROXY_ANYAUTH: o->proxy_auth |= WSPCAT_SCHEMES; break;
    case OPT_VERBOSE: o->verbose = 1; break;
    case OPT_TIMING: o->timing = 1; break;
    case OPT_PRINT_PROTOCOL: o->print_protocol = 1; break;
    case OPT_COMPRESS: o->compress = 1; break;
    case OPT_HELP: print_help(); return fflush(stdout) == 0 ? EXIT_OK : EXIT_CONNECT;
    case OPT_VERSION: print_version(); return fflush(stdout) == 0 ? EXIT_OK : EXIT_CONNECT;
    default: break;
    }
    return -1;
}

/* Takes s's value (attached to the word, else the next argument) and applies s.
   Returns -1 to go on, else the exit status. */
static int take_option(options *o, const option_spec *s, const char *shown, const char *attached,
                       int argc, char **argv, int *i)
{
    const char *v = attached;
    int rc;
    if (s->arg && !v) {
        if (*i + 1 >= argc) {
            say("wspcat: option '%s' needs a value (%s)", shown, s->arg);
            usage_hint();
            return EXIT_USAGE;
        }
        v = argv[++*i];
    }
    rc = apply_option(o, s, shown, v);
    if (rc == EXIT_USAGE) usage_hint();
    return rc;
}

static const option_spec *find_long(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < OPTION_COUNT; i++)
        if (options_table[i].name && strlen(options_table[i].name) == len &&
            !memcmp(options_table[i].name, name, len))
            return &options_table[i];
    return NULL;
}

static const option_spec *find_short(char c)
{
    size_t i;
    for (i = 0; i < OPTION_COUNT; i++)
        if (options_table[i].short_name == c) return &options_table[i];
    return NULL;
}

/* Parses argv into o. Returns -1 to go on, else the exit status. Messages name the
   option as written up to any '=', never the value of a string option (it may be a
   password), nor an unknown option's attached value. Long options take
   "--name VALUE" or "--name=VALUE"; short ones "-x VALUE" or "-xVALUE", and switches
   combine ("-bv"). */
static int parse_args(int argc, char **argv, options *o)
{
    int i, only_operands = 0, rc;
    char shown[64];
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_operands || a[0] != '-' || a[1] == '\0') {
            if (o->url) {
                say("wspcat: more than one URL given (argument %d is the second)", i);
                usage_hint();
                return EXIT_USAGE;
            }
            o->url = a;
            continue;
        }
        if (!strcmp(a, "--")) { only_operands = 1; continue; }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            const option_spec *s = find_long(a + 2, len);
            snprintf(shown, sizeof shown, "--%.*s", (int)(len < 40 ? len : 40), a + 2);
            if (!s) {
                say("wspcat: unknown option '%s'", shown);
                usage_hint();
                return EXIT_USAGE;
            }
            if (!s->arg && eq) {
                say("wspcat: option '%s' takes no value", shown);
                usage_hint();
                return EXIT_USAGE;
            }
            rc = take_option(o, s, shown, eq ? eq + 1 : NULL, argc, argv, &i);
            if (rc >= 0) return rc;
        } else {
            const char *p;
            for (p = a + 1; *p; p++) {
                const option_spec *s = find_short(*p);
                snprintf(shown, sizeof shown, "-%c", *p);
                if (!s) {
                    say("wspcat: unknown option '%s'", shown);
                    usage_hint();
                    return EXIT_USAGE;
                }
                rc = take_option(o, s, shown, s->arg && p[1] ? p + 1 : NULL, argc, argv, &i);
                if (rc >= 0) return rc;
                if (s->arg) break;   /* the rest of the word was the value */
            }
        }
    }
    return -1;
}

/* ---- files -------------------------------------------------------------------------- */
#ifndef WSPROXY_NO_TLS   /* every file wspcat reads today is a TLS one */
/* Reads a whole file of at most MAX_FILE_BYTES, waiting at most FILE_READ_MS for it to
   end (a FIFO whose writer never stops or never writes). Returns 0 with *out (malloc'd,
   the caller frees) and *len, or -1 after saying why. what names the option. */
static int read_file_capped(const char *what, const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat st;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    double deadline = now_ms() + FILE_READ_MS;
    if (fd < 0) {
        say("wspcat: %s %s: cannot open: %s", what, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            say("wspcat: %s %s: is a directory", what, path);
            close(fd);
            return -1;
        }
        if (S_ISREG(st.st_mode) && st.st_size > (off_t)MAX_FILE_BYTES) {
            say("wspcat: %s %s: larger than %u MiB; not a certificate file", what, path,
                MAX_FILE_BYTES >> 20);
            close(fd);
            return -1;
        }
    }
    for (;;) {
        ssize_t r;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *p;
            if (ncap > MAX_FILE_BYTES + 1) ncap = MAX_FILE_BYTES + 1;
            if (ncap == cap) {
                say("wspcat: %s %s: more than %u MiB; not a certificate file", what, path,
                    MAX_FILE_BYTES >> 20);
                break;
            }
            p = (char *)realloc(buf, ncap);
            if (!p) { say("wspcat: %s %s: out of memory", what, path); break; }
            buf = p;
            cap = ncap;
        }
        r = read(fd, buf + n, cap - n);
        if (r > 0) { n += (size_t)r; continue; }
        if (r == 0) {
            close(fd);
            *out = buf;
            *len = n;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pf;
            double left = deadline - now_ms();
            if (left <= 0) {
                say("wspcat: %s %s: no end of file after %d s", what, path, FILE_READ_MS / 1000);
                break;
            }
            pf.fd = fd; pf.events = POLLIN; pf.revents = 0;
            poll(&pf, 1, (int)left + 1);
            continue;
        }
        say("wspcat: %s %s: cannot read: %s", what, path, strerror(errno));
        break;
    }
    close(fd);
    free(buf);
    return -1;
}

/* Loads a PEM bundle into trust anchors (either TLS backend: with BearSSL they are
   decoded into *mem, with OpenSSL, OpenSSL keeps them). */
static int load_anchors(const char *what, const char *path, wsproxy_tls_trust *out, unsigned char **mem)
{
    char *pem = NULL;
    size_t len = 0, need = 0;
    int rc;
    if (read_file_capped(what, path, &pem, &len) != 0) return -1;
    rc = wsproxy_tls_trust_pem(out, pem, len, NULL, 0, &need);   /* sizes first */
    if (rc == WSPROXY_E_PEM_SPACE && (*mem = (unsigned char *)malloc(need)) != NULL)
        rc = wsproxy_tls_trust_pem(out, pem, len, *mem, need, &need);
    free(pem);
    if (rc != WSPROXY_OK) {
        say("wspcat: %s %s: %s", what, path, rc == WSPROXY_E_PEM_SYNTAX ? "no usable certificates"
                                                                     : "cannot load certificates");
        return -1;
    }
    return 0;
}

/* A client certificate for one hop: the chain and its key (in memory of their own with
   BearSSL). */
typedef struct {
    wsproxy_tls_identity id;
    unsigned char *mem;
    size_t mem_len;
    int loaded;
} client_cert;

/* Loads --cert and --key (or the proxy's pair); names the files, never their contents. */
static int load_client_cert(const char *cert_opt, const char *cert_path, const char *key_opt,
                            const char *key_path, client_cert *out)
{
    char *pem = NULL, *key = NULL;
    size_t len = 0, key_len = 0, need = 0;
    int rc;
    if (!cert_path != !key_path) {
        say("wspcat: %s needs %s", cert_path ? cert_opt : key_opt, cert_path ? key_opt : cert_opt);
        return -1;
    }
    if (!cert_path) return 0;
    if (read_file_capped(cert_opt, cert_path, &pem, &len) != 0) return -1;
    if (read_file_capped(key_opt, key_path, &key, &key_len) != 0) { free(pem); return -1; }
    rc = wsproxy_tls_identity_pem(&out->id, pem, len, key, key_len, NULL, 0, &need);
    if (rc == WSPROXY_E_PEM_SPACE && (out->mem = (unsigned char *)malloc(need)) != NULL) {
        out->mem_len = need;
        rc = wsproxy_tls_identity_pem(&out->id, pem, len, key, key_len, out->mem, need, &need);
    }
    free(pem);
    memset(key, 0, key_len);   /* the key's text */
    free(key);
    if (rc != WSPROXY_OK) {
        if (rc == WSPROXY_E_PEM_ENCRYPTED)
            say("wspcat: %s %s: the key is encrypted (decrypt it: openssl pkey -in FILE)", key_opt, key_path);
        else
            say("wspcat: %s %s, %s %s: no usable certificate chain and private key", cert_opt, cert_path,
                key_opt, key_path);
        return -1;
    }
    out->loaded = 1;
    return 0;
}

static void free_client_cert(client_cert *cc)
{
    if (cc->loaded) wsproxy_tls_identity_free(&cc->id);   /* wipes the key */
    if (cc->mem) {
        volatile unsigned char *p = cc->mem;   /* and whatever was left of it */
        size_t i;
        for (i = 0; i < cc->mem_len; i++) p[i] = 0;
    }
    free(cc->mem);
}
#endif

/* ---- the password prompt -------------------------------------------------------------- */
/* While echo is off: the terminal and its settings, put back by a signal that ends
   wspcat (Ctrl-C at the prompt must not leave the terminal silent). */
static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved;

static void tty_restore_and_die(int sig)
{
    if (tty_fd >= 0) tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);   /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Asks for -U's password on the controlling terminal (/dev/tty, whatever standard
   input and output are), with echo off, as curl and ssh do. Returns 0 with the
   password in out (cap bytes), or -1 after saying why. */
static int ask_password(const char *user, char *out, size_t cap)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    static sink tty;
    struct sigaction sa, old[sizeof sigs / sizeof sigs[0]];
    struct termios quiet;
    esc_state st = {{0}, 0};
    size_t n = 0, i;
    int fd, rc = -1, too_long = 0, bad = 0;
    char ch = 0;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || tcgetattr(fd, &tty_saved) != 0) {
        say("wspcat: -U %s: no password given, and no terminal to ask for it (/dev/tty: %s); "
            "give it as -U USER:PASSWORD", user, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    quiet = tty_saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
    quiet.c_lflag |= ECHONL;   /* the Enter key still moves to the next line */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tty_restore_and_die;
    sigemptyset(&sa.sa_mask);
    tty_fd = fd;
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, &old[i]);
    if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
        /* the prompt only once echo is off: nothing typed after it is shown */
        tty.fd = fd;
        tty.failed = 0;
        tty.len = 0;
        sink_put(&tty, "Enter proxy password for user '", 31);
        escape_to(&tty, &st, (const unsigned char *)user, strlen(user), 1);
        sink_put(&tty, "': ", 3);
        sink_flush(&tty);
        for (;;) {
            ssize_t r = read(fd, &ch, 1);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;   /* end of file (Ctrl-D) or an error: no password */
            if (ch == '\n' || ch == '\r') { rc = 0; break; }
            if ((unsigned char)ch < 0x20 || ch == 0x7F) bad = 1;
            if (n + 1 < cap) out[n++] = ch;
            else too_long = 1;
        }
        tcsetattr(fd, TCSAFLUSH, &tty_saved);
    }
    tty_fd = -1;
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &old[i], NULL);
    close(fd);
    wipe(&ch, 1);
    out[n] = '\0';
    if (rc != 0) say("wspcat: -U %s: no password read from the terminal", user);
    else if (too_long) say("wspcat: -U %s: the password has more than %d bytes", user, (int)cap - 1);
    else if (bad) say("wspcat: -U %s: the password holds a control character", user);
    if (rc != 0 || too_long || bad) {
        wipe(out, cap);
        return -1;
    }
    return 0;
}

/* ---- proxy choice --------------------------------------------------------------------- */
/* Prints a URL error without the URL (a proxy URL may hold a password). which names
   the URL and where it came from. The library will also give the byte offset. */
static void say_url_error(const char *which, int rc)
{
    say("wspcat: %s does not parse: %s: %s", which, wsproxy_strerror(rc), wsproxy_error_message(rc));
}

/* The proxy for url: explicit (NO_PROXY still applies, as in curl), else the
   environment. Returns 0 with out set ("" for direct) and *source naming where it came
   from, or an error code of the target URL. */
static int choose_proxy(const options *o, const char *url, char *out, size_t cap,
                        const char **source)
{
    int rc, bypass = 0;
    if (o->explicit_proxy) {
        *source = "--proxy";
        out[0] = '\0';
        if (!o->explicit_proxy[0]) return WSPROXY_OK;
        rc = wsproxy_bypass_proxy(url, wsproxy_os_getenv, NULL, o->noproxy, &bypass);
        if (rc != WSPROXY_OK) return rc;
        if (bypass) {
            const char *var = NULL;
            wsproxy_no_proxy_env(wsproxy_os_getenv, NULL, o->noproxy, &var);
            if (o->verbose)
                say("* --proxy not used: %s covers the server's host", var ? var : "--noproxy");
            return WSPROXY_OK;
        }
        if (strlen(o->explicit_proxy) >= cap) return WSPROXY_E_URL_TOO_LONG;
        memcpy(out, o->explicit_proxy, strlen(o->explicit_proxy) + 1);
        return WSPROXY_OK;
    } else {
        wsproxy_env_info info;
        memset(&info, 0, sizeof info);
        rc = wsproxy_proxy_from_env(url, wsproxy_os_getenv, NULL, o->noproxy, out, cap, &info);
        *source = info.proxy_var;
        if (rc == WSPROXY_OK && o->verbose && info.bypassed && info.proxy_var)
            say("* proxy from %s not used: %s covers the server's host", info.proxy_var,
                info.no_proxy_var ? info.no_proxy_var : "--noproxy");
        return rc;
    }
}

/* Parses a proxy URL as wsproxy_init will take it, its percent-encoded user and
   password included (a decoded CR, LF or NUL, or a bad escape, is refused). */
static int parse_proxy_url(const char *proxy, wsproxy_url *u)
{
    char scratch[WSPROXY_MAX_CREDENTIAL_BYTES];
    volatile char *wipe = scratch;
    size_t n = 0, i;
    int rc = wsproxy_url_parse(proxy, strlen(proxy), u);
    if (rc == WSPROXY_OK && u->user)
        rc = wsproxy_percent_decode(u->user, u->user_len, scratch, sizeof scratch, &n);
    if (rc == WSPROXY_OK && u->password)
        rc = wsproxy_percent_decode(u->password, u->password_len, scratch, sizeof scratch, &n);
    for (i = 0; i < sizeof scratch; i++) wipe[i] = 0;   /* it held the password */
    return rc;
}

/* "the proxy URL (from --proxy)" etc. */
static const char *proxy_label(const char *source, char *buf, size_t cap)
{
    if (!source) snprintf(buf, cap, "the proxy URL");
    else if (source[0] == '-') snprintf(buf, cap, "the proxy URL (%s)", source);
    else snprintf(buf, cap, "the proxy URL (from $%s)", source);
    return buf;
}

/* Appends s[0..n) to out (cap bytes), percent-encoding all but RFC 3986's unreserved
   characters when pct. Returns -1 when it does not fit. */
static int put_part(char *out, size_t cap, size_t *at, const char *s, size_t n, int pct)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = !pct || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (*at + (plain ? 1 : 3) >= cap) return -1;
        if (plain) {
            out[(*at)++] = (char)ch;
        } else {
            out[(*at)++] = '%';
            out[(*at)++] = "0123456789ABCDEF"[ch >> 4];
            out[(*at)++] = "0123456789ABCDEF"[ch & 15];
        }
    }
    out[*at] = '\0';
    return 0;
}

/* The proxy URL (parsed in u) with its userinfo replaced by -U's user and password,
   percent-encoded, or with mask by user:*** for the eye. SOCKS proxies take their
   credentials from the URL only, so -U reaches them this way. Returns -1 when the
   result would not fit in cap bytes. */
static int proxy_with_user(const char *proxy, const wsproxy_url *u, const char *user, const char *password,
                           int mask, char *out, size_t cap)
{
    const char *sep = strstr(proxy, "://"), *rest;
    size_t at = 0, head = sep && sep < u->host ? (size_t)(sep + 3 - proxy) : 0;
    rest = proxy + head;
    if (u->user) {   /* the URL's own userinfo goes: what follows its '@' stays */
        rest = u->password ? u->password + u->password_len : u->user + u->user_len;
        if (*rest != '@') return -1;
        rest++;
    }
    if (put_part(out, cap, &at, proxy, head, 0) || put_part(out, cap, &at, user, strlen(user), 1) ||
        (password && (put_part(out, cap, &at, ":", 1, 0) ||
                      put_part(out, cap, &at, mask ? "***" : password, mask ? 3 : strlen(password), !mask))) ||
        put_part(out, cap, &at, "@", 1, 0) || put_part(out, cap, &at, rest, strlen(rest), 0)) {
        wipe(out, cap);
        return -1;
    }
    return 0;
}

/* --show-proxy: the proxy with its password masked, or DIRECT; a proxy URL that does
   not parse is refused without being printed. */
static int show_proxy(const options *o)
{
    static char proxy[WSPROXY_MAX_URL_BYTES + 1];
    const char *source = NULL;
    char label[64];
    wsproxy_url u;
    int rc = choose_proxy(o, o->show_proxy, proxy, sizeof proxy, &source);
    if (rc != WSPROXY_OK) {
        say_url_error(rc == WSPROXY_E_URL_TOO_LONG ? proxy_label(source, label, sizeof label)
                                                   : "the URL", rc);
        return EXIT_USAGE;
    }
    if (!proxy[0]) {
        printf("DIRECT\n");
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_CONNECT;
    }
    rc = parse_proxy_url(proxy, &u);
    if (rc != WSPROXY_OK) {
        say_url_error(proxy_label(source, label, sizeof label), rc);
        return EXIT_USAGE;
    }
    if (o->proxy_user) {   /* -U's credentials, shown in the URL with the password masked */
        char shown[WSPROXY_MAX_URL_BYTES + 1];
        if (proxy_with_user(proxy, &u, o->proxy_user, o->proxy_password, 1, shown, sizeof shown) != 0) {
            say_url_error(proxy_label(source, label, sizeof label), WSPROXY_E_URL_TOO_LONG);
            return EXIT_USAGE;
        }
        printf("%s\n", shown);
    } else if (u.password) {   /* what precedes the password is scheme://user: and what follows is @host... */
        printf("%.*s***%s\n", (int)(u.password - proxy), proxy, u.password + u.password_len);
    } else {
        printf("%s\n", proxy);
    }
    if (o->verbose && source) say("* proxy chosen by %s", source);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_CONNECT;
}

/* ---- proxy authentication: NTLM and Negotiate tokens from GSSAPI ----------------------- */
#ifdef WSPCAT_GSSAPI
/* The library runs the exchange (one CONNECT per token, the proxy's challenge in each
   407, a new exchange on a new connection) and asks gss_token for each token; GSSAPI
   makes them. Tokens travel in base64, both ways.
   - Negotiate: the SPNEGO mechanism (RFC 4178), the target name HTTP@<proxy host> as a
     host-based service (Kerberos makes it the principal HTTP/<proxy host>@REALM), and
     the user's Kerberos ticket (kinit) as credentials. SPNEGO is limited to Kerberos 5:
     with the gss-ntlmssp package installed it would otherwise fall back to NTLM
     without saying so when there is no ticket.
   - NTLM: the NTLMSSP mechanism of gss-ntlmssp, with -U's user (DOMAIN\user or
     user@DOMAIN) and password; without -U, gss-ntlmssp's own defaults (the file named
     by NTLM_USER_FILE, or winbind). */
static gss_OID_desc oid_spnego = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};             /* 1.3.6.1.5.5.2 */
static gss_OID_desc oid_krb5 = {9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};  /* 1.2.840.113554.1.2.2 */
static gss_OID_desc oid_ntlmssp = {10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"}; /* 1.3.6.1.4.1.311.2.2.10 */

typedef struct {
    const char *host;                /* the proxy's host name, for the target name */
    const char *user, *password;     /* -U, for NTLM (user NULL: gss-ntlmssp's defaults) */
    gss_name_t target;
    gss_cred_id_t cred;              /* the credentials of cred_scheme */
    int cred_scheme;
    gss_ctx_id_t ctx;                /* the exchange under way */
    int scheme;                      /* its scheme (WSPROXY_AUTH_NTLM or _NEGOTIATE) */
    OM_uint32 major;                 /* the last call's GSSAPI status */
    char *token;                     /* the last token in base64: the library reads it
                                        until the next call */
    char error[600];                 /* why the last call failed, for the error message */
} gss_auth;

/* Appends GSSAPI's texts for a status to g->error (a status may have several). */
static void gss_status_text(gss_auth *g, OM_uint32 status, int type, gss_OID mech)
{
    OM_uint32 minor, more = 0;
    gss_buffer_desc text;
    do {
        size_t at = strlen(g->error);
        if (GSS_ERROR(gss_display_status(&minor, status, type, mech, &more, &text))) return;
        snprintf(g->error + at, sizeof g->error - at, ": %.*s", (int)text.length, (const char *)text.value);
        gss_release_buffer(&minor, &text);
    } while (more);
}

static void gss_fail(gss_auth *g, const char *call, OM_uint32 major, OM_uint32 minor, gss_OID mech)
{
    g->major = major;
    snprintf(g->error, sizeof g->error, "%s", call);
    gss_status_text(g, major, GSS_C_GSS_CODE, GSS_C_NO_OID);
    if (minor) gss_status_text(g, minor, GSS_C_MECH_CODE, mech);
}

/* Decodes n bytes of base64 (padding optional) into out: the byte count, or -1 when
   it is not base64. */
static long base64_decode(const char *s, size_t n, unsigned char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long v = 0;
    size_t i, o = 0;
    int bits = 0;
    for (i = 0; i < n && s[i] != '='; i++) {
        const char *p = s[i] ? strchr(abc, s[i]) : NULL;
        if (!p) return -1;
        v = (v << 6 | (unsigned long)(p - abc)) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    for (; i < n; i++)
        if (s[i] != '=') return -1;
    return (long)o;
}

/* The target name and the credentials of scheme, once. */
static int gss_prepare(gss_auth *g, int scheme)
{
    OM_uint32 major, minor;
    if (g->target == GSS_C_NO_NAME) {
        char name[300];
        gss_buffer_desc b;
        snprintf(name, sizeof name, "HTTP@%s", g->host);
        b.value = name;
        b.length = strlen(name);
        major = gss_import_name(&minor, &b, GSS_C_NT_HOSTBASED_SERVICE, &g->target);
        if (GSS_ERROR(major)) { gss_fail(g, "gss_import_name", major, minor, GSS_C_NO_OID); return -1; }
    }
    if (g->cred_scheme == scheme) return 0;   /* a new connection keeps the credentials */
    if (g->cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &g->cred);
    g->cred_scheme = 0;
    if (scheme == WSPROXY_AUTH_NEGOTIATE) {
        gss_OID_set_desc spnego = {1, &oid_spnego}, krb5 = {1, &oid_krb5};
        major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &spnego, GSS_C_INITIATE, &g->cred,
                                 NULL, NULL);
        if (GSS_ERROR(major)) { gss_fail(g, "gss_acquire_cred", major, minor, &oid_spnego); return -1; }
        major = gss_set_neg_mechs(&minor, g->cred, &krb5);
        if (GSS_ERROR(major)) { gss_fail(g, "gss_set_neg_mechs", major, minor, &oid_spnego); return -1; }
    } else if (g->user) {
        gss_OID_set_desc ntlm = {1, &oid_ntlmssp};
        gss_buffer_desc b, pw;
        gss_name_t name;
        b.value = (void *)g->user;
        b.length = strlen(g->user);
        major = gss_import_name(&minor, &b, GSS_C_NT_USER_NAME, &name);
        if (GSS_ERROR(major)) { gss_fail(g, "gss_import_name", major, minor, GSS_C_NO_OID); return -1; }
        pw.value = (void *)(g->password ? g->password : "");
        pw.length = strlen((const char *)pw.value);
        major = gss_acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &ntlm, GSS_C_INITIATE,
                                               &g->cred, NULL, NULL);
        gss_release_name(&minor, &name);
        if (GSS_ERROR(major)) {
            gss_fail(g, "gss_acquire_cred_with_password", major, minor, &oid_ntlmssp);
            return -1;
        }
    }
    g->cred_scheme = scheme;
    return 0;
}

/* cfg.proxy_token: the next token for scheme, given the proxy's challenge (base64, len
   bytes; 0: start a new exchange). Returns 0 with *token, or -1 with g->error set. */
static int gss_token(void *ctx, int scheme, const char *challenge, size_t len, const char **token,
                     size_t *token_len)
{
    gss_auth *g = (gss_auth *)ctx;
    gss_OID mech = scheme == WSPROXY_AUTH_NEGOTIATE ? &oid_spnego : &oid_ntlmssp;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor;
    unsigned char *bytes = NULL;
    int rc = -1;
    if (g->token) {
        wipe(g->token, strlen(g->token));
        free(g->token);
        g->token = NULL;
    }
    g->error[0] = '\0';
    g->major = GSS_S_COMPLETE;
    g->scheme = scheme;
    if (len == 0) {   /* a new exchange (a new connection): the old context goes */
        if (g->ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
        if (gss_prepare(g, scheme) != 0) return -1;
    } else {
        long n = (bytes = (unsigned char *)malloc(len)) ? base64_decode(challenge, len, bytes) : -1;
        if (n < 0) {
            snprintf(g->error, sizeof g->error, "the proxy's challenge is not base64");
            free(bytes);
            return -1;
        }
        in.value = bytes;
        in.length = (size_t)n;
    }
    major = gss_init_sec_context(&minor, g->cred, &g->ctx, g->target, mech, 0, GSS_C_INDEFINITE,
                                 GSS_C_NO_CHANNEL_BINDINGS, len ? &in : GSS_C_NO_BUFFER, NULL, &out, NULL, NULL);
    if (GSS_ERROR(major)) {
        gss_fail(g, "gss_init_sec_context", major, minor, mech);
    } else if (out.length == 0) {
        snprintf(g->error, sizeof g->error, "GSSAPI has no further token, yet the proxy asks for one");
    } else {
        size_t cap = (out.length + 2) / 3 * 4 + 1;
        if ((g->token = (char *)malloc(cap)) != NULL && wsproxy_base64((const unsigned char *)out.value, out.length,
                                                                      g->token, cap)) {
            *token = g->token;
            *token_len = strlen(g->token);
            rc = 0;
        } else {
            snprintf(g->error, sizeof g->error, "out of memory");
        }
    }
    gss_release_buffer(&minor, &out);
    free(bytes);
    return rc;
}

static void gss_end(gss_auth *g)
{
    OM_uint32 minor;
    if (g->ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
    if (g->cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &g->cred);
    if (g->target != GSS_C_NO_NAME) gss_release_name(&minor, &g->target);
    if (g->token) wipe(g->token, strlen(g->token));
    free(g->token);
    g->token = NULL;
}

static gss_auth gss_state;
#endif

/* The schemes of bits (WSPROXY_AUTH_*), strongest first: "Negotiate, NTLM". */
static const char *scheme_list(int bits, char *buf, size_t cap)
{
    static const int order[] = {WSPROXY_AUTH_NEGOTIATE, WSPROXY_AUTH_NTLM, WSPROXY_AUTH_DIGEST,
                                WSPROXY_AUTH_BASIC, WSPROXY_AUTH_OTHER};
    size_t i, at = 0;
    buf[0] = '\0';
    for (i = 0; i < sizeof order / sizeof order[0]; i++)
        if (bits & order[i]) {
            int k = snprintf(buf + at, cap - at, "%s%s", at ? ", " : "",
                             order[i] == WSPROXY_AUTH_OTHER ? "others" : wsproxy_auth_name(order[i]));
            if (k > 0) at += (size_t)k < cap - at ? (size_t)k : cap - at - 1;
        }
    return buf;
}

/* A failed run: the library's line (its error, the proxy's status line and challenges),
   then for proxy authentication what happened, in words. Nothing here holds a
   credential. */
static void say_failure(const wsproxy_client *c, const options *o)
{
    const wsproxy_error_info *e = wsproxy_error_info_get(c);
    const char *scheme = wsproxy_auth_name(e->auth_scheme);
    char msg[600], offered[64], allowed[64];
    wsproxy_describe(c, msg, sizeof msg);
    say("wspcat: %s", msg);
    scheme_list(e->auth_offered, offered, sizeof offered);
    scheme_list(o->proxy_auth ? o->proxy_auth : WSPROXY_AUTH_BASIC, allowed, sizeof allowed);
    switch (wsproxy_error(c)) {
    case WSPROXY_E_PROXY_AUTH:
        if (offered[0])
            say("wspcat: no credentials were sent; the proxy offers %s%s", offered,
                o->proxy_has_user ? "" : " (give a user with -U USER)");
        else
            say("wspcat: no credentials were sent%s", o->proxy_has_user ? "" : " (give a user with -U USER)");
        break;
    case WSPROXY_E_PROXY_AUTH_REJECTED:
        say("wspcat: the proxy rejected these credentials (%s, round %d)", scheme ? scheme : "none",
            e->auth_rounds);
        break;
    case WSPROXY_E_PROXY_AUTH_SCHEME:
        if (e->auth_scheme && !(e->auth_offered & e->auth_scheme)) {
            /* credentials sent unasked (Basic alone, or the first NTLM or Negotiate
               token) and a 407 that does not even offer their scheme */
            say("wspcat: the proxy offers only schemes you did not allow: %s (allowed: %s; it refused the %s "
                "credentials sent with request %d)%s", offered, allowed, scheme ? scheme : "", e->auth_rounds,
                (e->auth_offered & ~WSPCAT_SCHEMES) ? "" : "; see --proxy-anyauth");
            break;
        }
        say("wspcat: the proxy offers only schemes you did not allow: %s (allowed: %s%s)", offered, allowed,
            (e->auth_offered & (WSPROXY_AUTH_NTLM | WSPROXY_AUTH_NEGOTIATE) & ~WSPCAT_SCHEMES)
                ? "; this wspcat was built without GSSAPI, so without NTLM and Negotiate"
                : "; see --proxy-anyauth");
        break;
    case WSPROXY_E_PROXY_AUTH_ROUNDS:
        say("wspcat: the proxy still asked for authentication after %d requests (%s); wspcat gives up",
            e->auth_rounds, scheme ? scheme : "no credentials");
        break;
    case WSPROXY_E_PROXY_AUTH_TOKEN:
#ifdef WSPCAT_GSSAPI
        say("wspcat: no %s token: %s", wsproxy_auth_name(gss_state.scheme) ? wsproxy_auth_name(gss_state.scheme) : "",
            gss_state.error[0] ? gss_state.error : "the token callback failed");
        if (GSS_ROUTINE_ERROR(gss_state.major) == GSS_S_BAD_MECH)
            say("wspcat: this GSSAPI has no %s mechanism%s", gss_state.scheme == WSPROXY_AUTH_NTLM ? "NTLMSSP" : "SPNEGO",
                gss_state.scheme == WSPROXY_AUTH_NTLM ? " (NTLM needs the gss-ntlmssp package)" : "");
        else if (gss_state.scheme == WSPROXY_AUTH_NEGOTIATE)
            say("wspcat: Negotiate needs your Kerberos ticket (kinit gets one, klist shows it) and a service "
                "principal HTTP/%s in the realm (the proxy's host as the proxy URL names it)", gss_state.host);
        else if (gss_state.scheme == WSPROXY_AUTH_NTLM && !gss_state.user)
            say("wspcat: NTLM needs a user: -U USER@DOMAIN (or gss-ntlmssp's NTLM_USER_FILE)");
#endif
        break;
    case WSPROXY_E_PROXY_AUTH_CHALLENGE:
        say("wspcat: the proxy's authentication challenge is malformed (%s)",
            e->proxy_authenticate[0] ? "as shown above" : "too large to keep");
        break;
    default:
        break;
    }
}

/* ---- connecting ---------------------------------------------------------------------- */
/* A non-blocking TCP socket connecting to sa: the fd, or -1 with errno set. */
static int open_tcp(const struct sockaddr *sa, socklen_t len)
{
    int one = 1, err, fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    /* TLS handshakes write several small records in a row; without this Nagle holds
       the last one back for a delayed ACK (about 40 ms per handshake) */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, sa, len) == 0 || errno == EINPROGRESS) return fd;
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

/* Opens a non-blocking TCP connection; returns the fd with the address it went to in
   *addr (a proxy that closes after its 407 is reached there again), or -1 after
   telling the client why: wsproxy_name_failed for a name that did not resolve,
   wsproxy_socket_closed with the OS error otherwise (the library names the cause). */
static int start_connect(wsproxy_client *c, const char *host, unsigned port, struct sockaddr_storage *addr,
                         socklen_t *addr_len)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int fd = -1, rc, err = ECONNREFUSED;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof portstr, "%u", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        say("wspcat: cannot resolve %s: %s", host, gai_strerror(rc));
        wsproxy_name_failed(c, rc);
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof *addr) continue;
        fd = open_tcp(ai->ai_addr, ai->ai_addrlen);
        if (fd >= 0) {
            memcpy(addr, ai->ai_addr, ai->ai_addrlen);
            *addr_len = ai->ai_addrlen;
            break;
        }
        err = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) wsproxy_socket_closed(c, err);
    return fd;
}

/* socks4:// and socks5:// carry addresses: wspcat resolves the server's name. */
static int resolve_target(const char *url, unsigned char addr[16], int *type)
{
    wsproxy_url u;
    char host[256];
    struct addrinfo hints, *res = NULL;
    if (wsproxy_url_parse(url, strlen(url), &u) != WSPROXY_OK) return -1;
    snprintf(host, sizeof host, "%.*s", (int)u.host_len, u.host);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        say("wspcat: cannot resolve %s", host);
        return -1;
    }
    if (res->ai_family == AF_INET) {
        memcpy(addr, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, 4);
        *type = WSPROXY_HOST_IPV4;
    } else {
        memcpy(addr, &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr, 16);
        *type = WSPROXY_HOST_IPV6;
    }
    freeaddrinfo(res);
    return 0;
}

/* ---- proxy authentication: the configuration -------------------------------------------- */
/* -U and the --proxy-* schemes into cfg. An HTTP(S) proxy gets -U's user and password
   as cfg.proxy_user / proxy_password (they win over the proxy URL's), the schemes as
   cfg.proxy_auth, and with GSSAPI the token callback. A SOCKS proxy takes credentials
   from its URL only: proxy (cap bytes, parsed in u) is rewritten with -U's, percent-
   encoded, and parsed again. A missing password is asked on the terminal when
   something may need it: Basic, Digest, NTLM or SOCKS5 (Negotiate takes the Kerberos
   ticket, SOCKS4 sends no password). Returns EXIT_OK or EXIT_USAGE. */
static int setup_proxy_auth(options *o, wsproxy_config *cfg, wsproxy_url *u, char *proxy, size_t cap)
{
    static char with_user[WSPROXY_MAX_URL_BYTES + 1];
    int http = u->scheme == WSPROXY_SCHEME_HTTP || u->scheme == WSPROXY_SCHEME_HTTPS;
    int socks5 = u->scheme == WSPROXY_SCHEME_SOCKS5 || u->scheme == WSPROXY_SCHEME_SOCKS5H;
    int password_used = socks5 || (http && (!o->proxy_auth || (o->proxy_auth & ~WSPROXY_AUTH_NEGOTIATE)));
    char allowed[64];
    o->proxy_has_user = o->proxy_user != NULL || u->user != NULL;
    if (o->proxy_user && !o->proxy_password && password_used) {
        if (ask_password(o->proxy_user, proxy_password_buf, sizeof proxy_password_buf) != 0) return EXIT_USAGE;
        o->proxy_password = proxy_password_buf;
        o->t_start = now_ms();   /* the time spent at the prompt is not connection time */
    }
    if (http) {
        cfg->proxy_auth = o->proxy_auth;
        cfg->proxy_user = o->proxy_user;
        cfg->proxy_password = o->proxy_password;
#ifdef WSPCAT_GSSAPI
        if (o->proxy_auth & WSPCAT_TOKENS) {
            static char host[256];
            snprintf(host, sizeof host, "%.*s", (int)u->host_len, u->host);
            gss_state.host = host;
            gss_state.user = o->proxy_user;
            gss_state.password = o->proxy_password;
            cfg->proxy_token = gss_token;
            cfg->proxy_token_ctx = &gss_state;
        }
#endif
        if (o->verbose && (o->proxy_auth || o->proxy_has_user))
            say("* proxy authentication: %s%s", scheme_list(o->proxy_auth ? o->proxy_auth : WSPROXY_AUTH_BASIC,
                                                            allowed, sizeof allowed),
                !o->proxy_auth || o->proxy_auth == WSPROXY_AUTH_BASIC ? " (sent with the first CONNECT)"
                : o->proxy_auth == WSPROXY_AUTH_NTLM || o->proxy_auth == WSPROXY_AUTH_NEGOTIATE
                    ? " (its first token goes with the first CONNECT)" : " (answering the proxy's 407)");
        return EXIT_OK;
    }
    if (!o->proxy_user) return EXIT_OK;
    if (proxy_with_user(proxy, u, o->proxy_user, socks5 ? o->proxy_password : NULL, 0, with_user,
                        sizeof with_user) != 0 || strlen(with_user) >= cap) {
        say("wspcat: the proxy URL with -U's user and password is longer than %d bytes", WSPROXY_MAX_URL_BYTES);
        wipe(with_user, sizeof with_user);
        return EXIT_USAGE;
    }
    memcpy(proxy, with_user, strlen(with_user) + 1);
    wipe(with_user, sizeof with_user);
    if (parse_proxy_url(proxy, u) != WSPROXY_OK) {
        say_url_error("the proxy URL with -U's user and password", WSPROXY_E_URL_USERINFO);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- a run ------------------------------------------------------------------------------ */
typedef struct {
    const options *o;
    wsproxy_client *c;
    int fd, connecting, opened, closing_sent, stdin_open, final;
    struct sockaddr_storage addr;     /* where fd connects to */
    socklen_t addr_len;
    double t_start, last_activity;
    unsigned long sent, received;     /* whole messages */
    /* input not yet sent: in[0..in_len); a message being streamed is in[0..stream_total)
       of which stream_left bytes are still to go, then stream_skip bytes (its newline) */
    char *in;
    size_t in_len, in_cap, stream_total, stream_left, stream_skip;
    unsigned long line_no;
    sink out;
    esc_state out_esc;
} session;

static double elapsed(const session *s) { return now_ms() - s->t_start; }

/* *wake becomes the earlier of itself and d (0: none). */
static void earliest(double *wake, double d)
{
    if (d && (!*wake || d < *wake)) *wake = d;
}

/* A complete message at the start of the input: 1 with its length and the bytes after
   it that are not part of it (the newline), 0 when more input is needed. */
static int next_message(const session *s, size_t *len, size_t *skip)
{
    const char *nl;
    if (s->o->binary && !s->o->lines) {   /* one message per read */
        *len = s->in_len;
        *skip = 0;
        return s->in_len > 0;
    }
    nl = s->in_len ? (const char *)memchr(s->in, '\n', s->in_len) : NULL;
    if (nl) {
        *len = (size_t)(nl - s->in);
        *skip = 1;
        return 1;
    }
    if (!s->stdin_open && s->in_len) {   /* a last line without newline */
        *len = s->in_len;
        *skip = 0;
        return 1;
    }
    return 0;
}

static void consume_input(session *s, size_t n)
{
    memmove(s->in, s->in + n, s->in_len - n);
    s->in_len -= n;
}

/* Does wspcat want another message from stdin? */
static int sending_done(const session *s)
{
    return s->closing_sent || (s->o->one_message && s->sent >= 1) ||
           (s->o->count && s->received >= s->o->count);
}

/* Queues complete input messages while the client takes them. */
static void pump_input(session *s)
{
    int op = s->o->binary ? WSPROXY_OP_BINARY : WSPROXY_OP_TEXT;
    for (;;) {
        size_t len, skip;
        int rc;
        if (s->stream_left) {   /* also while closing: the close waits for this frame */
            size_t k = wsproxy_send_data(s->c, s->in + (s->stream_total - s->stream_left),
                                         s->stream_left);
            s->stream_left -= k;
            if (s->stream_left) return;
            consume_input(s, s->stream_total + s->stream_skip);
            s->sent++;
            s->last_activity = now_ms();
            continue;
        }
        if (wsproxy_get_state(s->c) != WSPROXY_STATE_OPEN || sending_done(s)) return;
        if (!next_message(s, &len, &skip)) return;
        s->line_no++;
        if (op == WSPROXY_OP_TEXT) {
            uint32_t st = 0;
            if (wsproxy_utf8_validate(&st, (const unsigned char *)s->in, len) != len ||
                !wsproxy_utf8_done(st)) {
                say("wspcat: skipping input line %lu: not UTF-8 (use -b for binary)", s->line_no);
                consume_input(s, len + skip);
                continue;
            }
        }
        rc = wsproxy_send(s->c, op, s->in, len, 1);
        if (rc == WSPROXY_OK) {
            consume_input(s, len + skip);
            s->sent++;
            s->last_activity = now_ms();
            continue;
        }
        if (rc == WSPROXY_E_SEND_TOO_LARGE) {   /* bigger than the send buffer: stream it */
            rc = wsproxy_send_begin(s->c, op, len, 1);
            if (rc != WSPROXY_OK) return;
            s->stream_total = s->stream_left = len;
            s->stream_skip = skip;
            continue;
        }
        return;   /* WOULD_BLOCK: flush first; anything else: the next poll reports it */
    }
}

/* All input read and sent. */
static int input_done(const session *s)
{
    return !s->stdin_open && !s->stream_left && s->in_len == 0;
}

/* Should stdin be read now? */
static int want_stdin(const session *s)
{
    size_t len, skip;
    if (!s->stdin_open || wsproxy_get_state(s->c) != WSPROXY_STATE_OPEN || s->stream_left ||
        sending_done(s))
        return 0;
    return !next_message(s, &len, &skip);
}

/* Reads stdin once; returns -1 on a line too long. */
static int read_stdin(session *s)
{
    ssize_t r;
    if (s->in_cap - s->in_len < READ_CHUNK) {
        size_t cap = s->in_cap ? s->in_cap * 2 : 2 * READ_CHUNK;
        char *p = cap <= MAX_LINE_BYTES + 2 * (size_t)READ_CHUNK ? (char *)realloc(s->in, cap) : NULL;
        if (!p) {
            say("wspcat: an input line is longer than %u MiB", MAX_LINE_BYTES >> 20);
            return -1;
        }
        s->in = p;
        s->in_cap = cap;
    }
    r = read(0, s->in + s->in_len, READ_CHUNK);
    if (r > 0) s->in_len += (size_t)r;
    else if (r == 0 || (errno != EINTR && errno != EAGAIN)) s->stdin_open = 0;
    if (!s->stdin_open) s->last_activity = now_ms();
    return 0;
}

/* Writes a received message chunk to stdout. */
static void output_message(session *s, const wsproxy_event *ev)
{
    const options *o = s->o;
    if (ev->first) memset(&s->out_esc, 0, sizeof s->out_esc);
    if (o->escape) escape_to(&s->out, &s->out_esc, ev->data, ev->len, ev->fin);
    else sink_put(&s->out, ev->data, ev->len);
    if (ev->fin && (!o->binary || o->lines)) sink_put(&s->out, "\n", 1);
}

/* WSPROXY_EV_RECONNECT: the proxy closes the connection after its 407 (or said it
   would). The authentication goes on over a new connection to the same address, still
   under --connect-timeout. */
static void reconnect(session *s)
{
    if (s->o->verbose)
        say("* [%8.3f ms] the proxy closes the connection after its 407: connecting again for request %d",
            elapsed(s), wsproxy_error_info_get(s->c)->auth_rounds + 1);
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    if (wsproxy_reconnected(s->c) != WSPROXY_OK) return;   /* the next poll says why */
    s->connecting = 1;
    s->fd = open_tcp((const struct sockaddr *)&s->addr, s->addr_len);
    if (s->fd < 0) wsproxy_socket_closed(s->c, errno);
}

/* Handles one event; returns 0, or 1 when it was the final one. */
/* -v: each line of the HTTP heads as the library traces them (credentials already
   "***"); the peer's lines are escaped like every other server byte on stderr. */
static void trace_head(void *ctx, int what, const char *line, size_t len)
{
    int sent = what == WSPROXY_TRACE_PROXY_REQUEST || what == WSPROXY_TRACE_REQUEST;
    int proxy = what == WSPROXY_TRACE_PROXY_REQUEST || what == WSPROXY_TRACE_PROXY_REPLY;
    (void)ctx;
    diag_printf("%s %s ", proxy ? "proxy" : "server", sent ? ">" : "<");
    diag_bytes(line, len);
    diag_end();
}

#ifndef WSPROXY_NO_TLS
#ifndef WSPROXY_TLS_OPENSSL
/* The IANA name of a suite the library may offer with BearSSL (ECDHE with AEAD; the
   CBC ones with --tls-compat), NULL for another. */
static const char *suite_name(unsigned suite)
{
    switch (suite) {
    case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
    case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
    case BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256";
    case BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384";
    case BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";
    default: return NULL;
    }
}
#endif

/* For -v after a hop's handshake: returns 1 when it resumed a session, and puts in out
   ": TLS 1.2, SUITE" where the library tells them (BearSSL's session parameters,
   wsproxy_tls_session_get); the OpenSSL backend tells neither, out stays "". */
static int tls_params(const wsproxy_client *c, int hop, char *out, size_t cap)
{
    int resumed = 0;
#ifndef WSPROXY_TLS_OPENSSL
    br_ssl_session_parameters sp;   /* holds the master secret: wiped below */
    out[0] = '\0';
    if (wsproxy_tls_session_get(c, hop, &sp, &resumed) != WSPROXY_OK) return 0;
    if (sp.version >= BR_TLS10 && sp.version <= BR_TLS12) {
        const char *name = suite_name(sp.cipher_suite);
        if (name) snprintf(out, cap, ": TLS 1.%u, %s", (unsigned)(sp.version - BR_TLS10), name);
        else snprintf(out, cap, ": TLS 1.%u, suite 0x%04X", (unsigned)(sp.version - BR_TLS10), sp.cipher_suite);
    }
    wipe(&sp, sizeof sp);
#else
    size_t len;   /* asked for the flag only (no buffer: no session bytes are copied) */
    (void)cap;
    out[0] = '\0';
    (void)wsproxy_tls_session_save(c, hop, NULL, 0, &len, &resumed);
#endif
    return resumed;
}
#else
static int tls_params(const wsproxy_client *c, int hop, char *out, size_t cap)
{
    (void)c; (void)hop; (void)cap;
    out[0] = '\0';
    return 0;
}
#endif

static int handle_event(session *s, const wsproxy_event *ev)
{
    const options *o = s->o;
    switch (ev->type) {
    case WSPROXY_EV_TLS:
        if (o->verbose) {
            char params[80];
            int resumed = tls_params(s->c, ev->status, params, sizeof params);
            say("* [%8.3f ms] TLS to the %s done (ALPN %s%s)%s", elapsed(s),
                ev->status == WSPROXY_HOP_PROXY ? "proxy" : "server",
                ev->protocol[0] ? ev->protocol : "none", resumed ? ", session resumed" : "", params);
        }
        break;
    case WSPROXY_EV_TUNNEL:
        if (o->verbose) {
            const wsproxy_error_info *e = wsproxy_error_info_get(s->c);
            if (e->auth_scheme)
                say("* [%8.3f ms] tunnel up (HTTP %d) after %d %s, authenticated with %s", elapsed(s), ev->status,
                    e->auth_rounds, plural((unsigned long)e->auth_rounds, "request", "requests"),
                    wsproxy_auth_name(e->auth_scheme));
            else
                say("* [%8.3f ms] tunnel up (HTTP %d)", elapsed(s), ev->status);
        }
        break;
    case WSPROXY_EV_RECONNECT:
        reconnect(s);
        break;
    case WSPROXY_EV_OPEN:
        s->opened = 1;
        s->last_activity = now_ms();
        if (o->verbose)
            say("* [%8.3f ms] upgraded (subprotocol %s)", elapsed(s),
                ev->protocol[0] ? ev->protocol : "none");
        if (o->verbose && o->compress) {
            wsproxy_deflate_params dp;
            if (wsproxy_deflate_get(s->c, &dp))
                say("* permessage-deflate: server window %d bits%s, client window %d bits%s%s", dp.server_window_bits,
                    dp.server_no_context_takeover ? " (no context takeover)" : "", dp.client_window_bits,
                    dp.client_no_context_takeover ? " (no context takeover)" : "",
                    dp.client_window_bits ? "" : " (0: wspcat sends uncompressed)");
            else
                say("* permessage-deflate: declined by the server");
        }
        if (o->timing) say("handshake: %.3f ms", elapsed(s));
        if (o->print_protocol) say("protocol: %s", ev->protocol);
        break;
    case WSPROXY_EV_PING: case WSPROXY_EV_PONG:
        if (o->verbose) {
            diag_printf("* [%8.3f ms] %s ", elapsed(s), ev->type == WSPROXY_EV_PING ? "ping" : "pong");
            diag_bytes(ev->data, ev->len);
            diag_end();
        }
        break;
    case WSPROXY_EV_MESSAGE:
        if (o->count && s->received >= o->count) break;   /* beyond --count: dropped */
        output_message(s, ev);
        s->last_activity = now_ms();
        if (ev->fin) s->received++;
        break;
    case WSPROXY_EV_CLOSE:
        if (!s->closing_sent || ev->close_code != 1000) {
            diag_printf("closed by server: %d ", ev->close_code);
            diag_bytes(ev->data, ev->len);
            diag_end();
        }
        if (o->count && s->received < o->count) {
            say("wspcat: the server closed after %lu of %lu %s (%s)", s->received, o->count,
                plural(o->count, "message", "messages"), o->one_message && o->count == 1 ? "-1" : "--count");
            s->final = EXIT_INCOMPLETE;
        } else {
            if (!o->count && s->received < s->sent)
                say("wspcat: sent %lu %s, received %lu before the close", s->sent,
                    plural(s->sent, "message", "messages"), s->received);
            s->final = EXIT_OK;
        }
        return 1;
    case WSPROXY_EV_ERROR:
        say_failure(s->c, o);
        s->final = exit_code_for(wsproxy_error(s->c));
        return 1;
    default:
        break;
    }
    return 0;
}

/* Best effort: what is queued (a close frame) goes out before the socket closes. */
static void flush_socket(session *s)
{
    const unsigned char *p;
    size_t n;
    while (s->fd >= 0 && !s->connecting && (p = wsproxy_send_buf(s->c, &n)) != NULL) {
        ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) break;
        wsproxy_send_ack(s->c, (size_t)w);
    }
}

/* Starts the close handshake (1000) when the run is done sending: --count reached, or
   the input ended and the server has been quiet for --linger seconds. */
static void maybe_close(session *s, double *wake)
{
    const options *o = s->o;
    const char *why = NULL;
    if (s->closing_sent || wsproxy_get_state(s->c) != WSPROXY_STATE_OPEN) return;
    if (o->count) {
        if (s->received >= o->count) why = "message count reached";
    } else if (input_done(s)) {
        double due = s->last_activity + o->linger_s * 1000;
        if (o->linger_s <= 0) why = "end of input";
        else if (now_ms() >= due) why = "end of input, server quiet";
        else earliest(wake, due);
    }
    if (why && wsproxy_close(s->c, 1000, "", 0) == WSPROXY_OK) {
        s->closing_sent = 1;
        if (o->verbose) say("* [%8.3f ms] %s: closing (1000)", elapsed(s), why);
    }
}

static int run(const options *o, wsproxy_client *c, const wsproxy_config *cfg)
{
    static session sess;
    session *s = &sess;
    double lib_deadline = 0, next_ping = 0, connect_deadline = 0, max_deadline = 0;
    int last_wait = -1, timed_out = 0;
    memset(s, 0, sizeof *s);
    s->o = o;
    s->c = c;
    s->out.fd = 1;
    s->stdin_open = 1;
    s->connecting = 1;
    s->fd = -1;
    s->t_start = o->t_start;
    if (o->connect_timeout_s > 0) connect_deadline = s->t_start + o->connect_timeout_s * 1000;
    if (o->max_time_s > 0) max_deadline = s->t_start + o->max_time_s * 1000;
    if (o->verbose)   /* host and port only: a proxy URL may carry credentials */
        say("* [%8.3f ms] connecting to %s port %u (%s)", elapsed(s), wsproxy_connect_host(c),
            wsproxy_connect_port(c), cfg->proxy ? "proxy" : "server");
    s->fd = start_connect(c, wsproxy_connect_host(c), wsproxy_connect_port(c), &s->addr, &s->addr_len);

    for (;;) {
        struct pollfd pfd[2];
        wsproxy_event ev;
        size_t n;
        int timeout_ms = -1, wait, finished = 0;
        double wake = 0, t;

        /* events first: they may queue bytes (pong, close echo) */
        while (!finished && wsproxy_poll(c, &ev)) finished = handle_event(s, &ev);
        if (!finished && s->fd >= 0 && s->opened) {
            pump_input(s);
            maybe_close(s, &wake);
            if (s->o->ping_s > 0 && !next_ping) next_ping = now_ms() + o->ping_s * 1000;
        }
        sink_flush(&s->out);
        if (s->out.failed) {
            say("wspcat: cannot write to standard output: %s", strerror(errno));
            s->final = EXIT_CONNECT;
            finished = 1;
        }
        if (finished) break;
        if (s->fd < 0) continue;   /* the failure is reported by the next poll */

        t = now_ms();
        if (max_deadline && t >= max_deadline) {
            say("wspcat: --max-time %g s reached", o->max_time_s);
            if (wsproxy_get_state(c) == WSPROXY_STATE_OPEN) wsproxy_close(c, 1001, "", 0);
            s->final = EXIT_TIMEOUT;
            break;
        }
        if (connect_deadline && !s->opened && t >= connect_deadline) {
            say("wspcat: --connect-timeout %g s reached %s", o->connect_timeout_s,
                s->connecting ? "before TCP connected" : "before the upgrade completed");
            timed_out = 1;
            connect_deadline = 0;
            if (s->connecting) {
                wsproxy_socket_closed(c, ETIMEDOUT);
                close(s->fd);
                s->fd = -1;
            } else {
                wsproxy_timeout(c);
            }
            continue;
        }
        /* the library's timer: armed whenever what the client waits for changes */
        wait = wsproxy_waiting_for(c);
        if (wait != last_wait) {
            last_wait = wait;
            lib_deadline = wait == WSPROXY_WAIT_NONE ? 0
                         : t + (wait == WSPROXY_WAIT_PONG ? o->ping_s : o->timeout_s) * 1000;
        }
        if (lib_deadline && t >= lib_deadline) { wsproxy_timeout(c); continue; }
        if (next_ping && wsproxy_get_state(c) == WSPROXY_STATE_OPEN && t >= next_ping) {
            char payload[32];
            static unsigned ping_count;
            snprintf(payload, sizeof payload, "%u", ++ping_count);
            /* while the last ping is unanswered its own timer (above) decides */
            if (wait != WSPROXY_WAIT_PONG && wsproxy_ping(c, payload, strlen(payload)) == WSPROXY_OK &&
                o->verbose)
                say("* [%8.3f ms] ping %s", elapsed(s), payload);
            next_ping = t + o->ping_s * 1000;
            continue;
        }
        earliest(&wake, lib_deadline);
        earliest(&wake, max_deadline);
        if (!s->opened) earliest(&wake, connect_deadline);
        if (wsproxy_get_state(c) == WSPROXY_STATE_OPEN) earliest(&wake, next_ping);
        if (wake) timeout_ms = wake - t > 0 ? (int)(wake - t) + 1 : 0;

        pfd[0].fd = s->fd;
        pfd[0].events = 0;
        pfd[1].fd = -1;
        pfd[1].events = POLLIN;
        if (s->connecting) {
            pfd[0].events = POLLOUT;
        } else {
            if (wsproxy_send_buf(c, &n)) pfd[0].events |= POLLOUT;
            if (wsproxy_recv_buf(c, &n)) pfd[0].events |= POLLIN;
            if (want_stdin(s)) pfd[1].fd = 0;
        }
        if (poll(pfd, 2, timeout_ms) < 0) {
            if (errno == EINTR) continue;
            say("wspcat: poll: %s", strerror(errno));
            s->final = EXIT_CONNECT;
            break;
        }
        if (s->connecting && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr) {
                wsproxy_socket_closed(c, soerr);
                close(s->fd);
                s->fd = -1;
                continue;
            }
            s->connecting = 0;
            if (o->verbose) say("* [%8.3f ms] TCP connected", elapsed(s));
        }
        if (!s->connecting && (pfd[0].revents & POLLOUT)) {
            const unsigned char *p = wsproxy_send_buf(c, &n);
            if (p) {
                ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
                if (w > 0) wsproxy_send_ack(c, (size_t)w);
                else if (w < 0 && errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
            }
        }
        if (!s->connecting && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            unsigned char *p = wsproxy_recv_buf(c, &n);
            if (p) {
                ssize_t r = recv(s->fd, p, n, 0);
                if (r > 0) wsproxy_recv_ack(c, (size_t)r);
                else if (r == 0) wsproxy_socket_closed(c, 0);
                else if (errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
            }
        }
        if (pfd[1].fd == 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
            if (pfd[1].revents & POLLNVAL) s->stdin_open = 0;
            else if (read_stdin(s) != 0) { s->final = EXIT_USAGE; break; }
        }
    }
    flush_socket(s);
    sink_flush(&s->out);
    if (s->fd >= 0) close(s->fd);
    free(s->in);
    if (timed_out) return EXIT_TIMEOUT;
    return s->final;
}

int main(int argc, char **argv)
{
    static wsproxy_client client;   /* about 40 KiB: keep it off the stack */
    static options opts;
    static char proxy_buf[WSPROXY_MAX_URL_BYTES + 1];
    options *o = &opts;
    wsproxy_config cfg;
    wsproxy_url target, proxy_url;
    const char *proxy_source = NULL;
    char label[64];
    unsigned char target_addr[16];
    int rc;
#ifndef WSPROXY_NO_TLS
    static wsproxy_tls_trust target_anchors, proxy_anchors;
    unsigned char *target_mem = NULL, *proxy_mem = NULL;
    static client_cert target_cert, proxy_cert;
#endif

    memset(&proxy_url, 0, sizeof proxy_url);
    o->timeout_s = 10;
    o->linger_s = 1;
    o->escape = -1;
    o->t_start = now_ms();   /* loading the CA files counts as connecting */
    rc = parse_args(argc, argv, o);
    if (rc >= 0) return rc;
    if (o->one_message && !o->count) o->count = 1;
    if (o->escape < 0) o->escape = !o->binary && isatty(1);
    if (o->lines && !o->binary) o->lines = 0;   /* text mode is always per line */
    if (o->show_proxy) return show_proxy(o);
    if (!o->url) {
        say("wspcat: no URL given");
        usage_hint();
        return EXIT_USAGE;
    }

    /* both URLs are checked here, so an error can say which one is wrong */
    rc = wsproxy_url_parse(o->url, strlen(o->url), &target);
    if (rc == WSPROXY_OK && target.scheme != WSPROXY_SCHEME_WS && target.scheme != WSPROXY_SCHEME_WSS)
        rc = WSPROXY_E_URL_SCHEME;
    if (rc != WSPROXY_OK) {
        say_url_error("the URL", rc);
        return EXIT_USAGE;
    }
    rc = choose_proxy(o, o->url, proxy_buf, sizeof proxy_buf, &proxy_source);
    if (rc != WSPROXY_OK) {
        say_url_error(rc == WSPROXY_E_URL_TOO_LONG ? proxy_label(proxy_source, label, sizeof label)
                                                   : "the URL", rc);
        return EXIT_USAGE;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.url = o->url;
    cfg.proxy = proxy_buf[0] ? proxy_buf : NULL;
    if (cfg.proxy) {
        rc = parse_proxy_url(cfg.proxy, &proxy_url);
        if (rc != WSPROXY_OK) {
            say_url_error(proxy_label(proxy_source, label, sizeof label), rc);
            return EXIT_USAGE;
        }
        if (o->verbose && proxy_source) say("* proxy chosen by %s", proxy_source);
        rc = setup_proxy_auth(o, &cfg, &proxy_url, proxy_buf, sizeof proxy_buf);
        if (rc != EXIT_OK) {
            wipe(proxy_password_buf, sizeof proxy_password_buf);
            return rc;
        }
    }
    if (cfg.proxy && wsproxy_needs_target_address(cfg.url, cfg.proxy)) {
        if (resolve_target(cfg.url, target_addr, &cfg.target_address_type) != 0) return EXIT_CONNECT;
        cfg.target_address = target_addr;
    }
    o->headers[o->nh] = o->proxy_headers[o->nph] = o->protocols[o->np] = NULL;
    cfg.headers = o->headers;
    cfg.proxy_headers = o->proxy_headers;
    cfg.protocols = o->protocols;
    cfg.origin = o->origin;
    cfg.random = wsproxy_os_random;
    if (o->verbose) cfg.trace = trace_head;
#ifdef WSPROXY_DEFLATE
    if (o->compress) {   /* every message compressed; zlib's memory from one arena */
        cfg.deflate.enable = 1;
        cfg.deflate.arena_len = wsproxy_deflate_arena_size(&cfg.deflate);
        if (!(cfg.deflate.arena = malloc(cfg.deflate.arena_len))) {
            say("wspcat: out of memory");
            wipe(proxy_password_buf, sizeof proxy_password_buf);
            return EXIT_USAGE;
        }
    }
#endif
#ifndef WSPROXY_NO_TLS
    {
        /* TLS per hop from the parsed schemes (any letter case) */
        int tls_target = target.scheme == WSPROXY_SCHEME_WSS;
        int tls_proxy = cfg.proxy && proxy_url.scheme == WSPROXY_SCHEME_HTTPS;
        size_t arena = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
        cfg.insecure = o->insecure;
        cfg.proxy_insecure = o->proxy_insecure;
        rc = EXIT_OK;
        if (tls_target && !o->insecure &&
            load_anchors(o->cacert ? "--cacert" : "the system bundle",
                         o->cacert ? o->cacert : SYSTEM_BUNDLE, &target_anchors, &target_mem) != 0)
            rc = EXIT_USAGE;
        if (rc == EXIT_OK && tls_proxy && !o->proxy_insecure &&
            load_anchors(o->proxy_cacert ? "--proxy-cacert" : "the system bundle",
                         o->proxy_cacert ? o->proxy_cacert : SYSTEM_BUNDLE, &proxy_anchors, &proxy_mem) != 0)
            rc = EXIT_USAGE;
        cfg.tls.trust = target_anchors.count ? &target_anchors : NULL;
        cfg.proxy_tls.trust = proxy_anchors.count ? &proxy_anchors : NULL;
        if (rc == EXIT_OK && arena && !(cfg.tls_arena = malloc(arena))) {
            say("wspcat: out of memory");
            rc = EXIT_USAGE;
        }
        cfg.tls_arena_len = arena;
        if (rc == EXIT_OK && (load_client_cert("--cert", o->cert, "--key", o->key, &target_cert) != 0 ||
                              load_client_cert("--proxy-cert", o->proxy_cert, "--proxy-key", o->proxy_key,
                                               &proxy_cert) != 0))
            rc = EXIT_USAGE;
        if (target_cert.loaded) cfg.tls.identity = &target_cert.id;
        if (proxy_cert.loaded) cfg.proxy_tls.identity = &proxy_cert.id;
        cfg.tls.compat = o->tls_compat;
        cfg.proxy_tls.compat = o->proxy_tls_compat;
    }
    if (rc == EXIT_OK)
#endif
    {
        rc = wsproxy_init(&client, &cfg);
        if (rc != WSPROXY_OK) {
            say_failure(&client, o);
            rc = exit_code_for(rc);
        } else {
            rc = run(o, &client, &cfg);
        }
    }
    free(cfg.deflate.arena);
#ifndef WSPROXY_NO_TLS
    wsproxy_tls_free(&client);   /* what OpenSSL allocated; the hops wiped */
    free(cfg.tls_arena);
    wsproxy_tls_trust_free(&target_anchors);
    wsproxy_tls_trust_free(&proxy_anchors);
    free(target_mem);
    free(proxy_mem);
    free_client_cert(&target_cert);
    free_client_cert(&proxy_cert);
#endif
#ifdef WSPCAT_GSSAPI
    gss_end(&gss_state);
#endif
    /* the password's copies: -U's (or the prompt's), and a SOCKS URL made with it */
    wipe(proxy_password_buf, sizeof proxy_password_buf);
    wipe(proxy_buf, sizeof proxy_buf);
    return rc;
}
