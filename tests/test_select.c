/* Unit tests for the proxy selection part of wsproxy.h: NO_PROXY matcher, proxy choice from the
   environment, SOCKS4/4a/5/5h request builders and incremental reply parsers, PAC
   result lists. Expected values come from curl's NO_PROXY unit test (tests/unit/
   unit1614.c: host, list, match), curl's env-variable order (lib/url.c detect_proxy,
   lib/getenv.c), RFC 1928, RFC 1929, the SOCKS4 and SOCKS4a protocol texts, and the
   PAC keyword handling of Chromium and Firefox; docs/proxy-selection.md has the rules.
   SOCKS replies are fed whole, one byte at a time and in random splits.

   gcc -std=c99 -Wall -Wextra -pedantic -g -fsanitize=address,undefined \
       tests/test_select.c -o /tmp/test_select && /tmp/test_select */
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#include "../wsproxy.h"
#include "test.h"

static char case_buf[600];
#define CASE(...) (snprintf(case_buf, sizeof case_buf, __VA_ARGS__), TEST_CASE(case_buf))

/* "05 01 00" -> bytes; returns the count */
static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = 0;
    while (*hex) {
        unsigned v;
        if (*hex == ' ') { hex++; continue; }
        if (sscanf(hex, "%2x", &v) != 1) { fprintf(stderr, "bad hex %s\n", hex); exit(2); }
        out[n++] = (unsigned char)v;
        hex += 2;
    }
    return n;
}

/* ================================================================== NO_PROXY */
typedef struct { const char *host, *list; int match; } np_case;

/* curl tests/unit/unit1614.c, the host / no_proxy / match facts (its "[::1]" hosts are
   written here as wsproxy_url gives them: without brackets). */
static const np_case curl_vectors[] = {
    {"www.example.com", "localhost .example.com .example.de", 0},  /* blanks do not separate */
    {"www.example.com", "localhost,.example.com,.example.de", 1},
    {"www.example.com.", "localhost,.example.com,.example.de", 1},
    {"example.com", "localhost,.example.com,.example.de", 1},
    {"example.com.", "localhost,.example.com,.example.de", 1},
    {"www.example.com", "localhost,.example.com.,.example.de", 1},
    {"www.example.com", "localhost,www.example.com.,.example.de", 1},
    {"example.com", "localhost,example.com,.example.de", 1},
    {"example.com.", "localhost,example.com,.example.de", 1},
    {"nexample.com", "localhost,example.com,.example.de", 0},
    {"www.example.com", "localhost,example.com,.example.de", 1},
    {"127.0.0.1", "127.0.0.1,localhost", 1},
    {"127.0.0.1", "127.0.0.1,localhost,", 1},
    {"127.0.0.1", "127.0.0.1/8,localhost,", 1},
    {"127.0.0.1", "127.0.0.1/28,localhost,", 1},
    {"127.0.0.1", "127.0.0.1/31,localhost,", 1},
    {"127.0.0.1", "localhost,127.0.0.1", 1},
    {"127.0.0.1", "localhost,127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1."
                  "127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.", 0},
    {"127.0.0.1", "localhost,127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1."
                  "127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0", 0},
    {"localhost", "localhost,127.0.0.1", 1},
    {"localhost", "127.0.0.1,localhost", 1},
    {"foobar", "barfoo", 0},
    {"foobar", "foobar", 1},
    {"192.168.0.1", "foobar", 0},
    {"192.168.0.1", "192.168.0.0/16", 1},
    {"192.168.0.1", "192.168.0.0/24", 1},
    {"192.168.0.1", "192.168.0.0/32", 0},
    {"192.168.0.1", "192.168.0.0", 0},
    {"192.168.1.1", "192.168.0.0/24", 0},
    {"192.168.1.1", "192.168.0.0/33", 0},
    {"192.168.1.1", "foo, bar, 192.168.0.0/24", 0},
    {"192.168.1.1", "foo, bar, 192.168.0.0/16", 1},
    {"::1", "foo, bar, 192.168.0.0/16", 0},
    {"::1", "foo, bar, ::1/64", 1},
    {"::1", "::1/64", 1},
    {"::1", "::1/96", 1},
    {"::1", "::1/129", 0},
    {"bar", "foo, bar, ::1/64", 1},
    {"BAr", "foo, bar, ::1/64", 1},
    {"BAr", "foo,,,,,              bar, ::1/64", 1},
    {"www.example.com", "foo, .example.com", 1},
    {"www.example.com", "www2.example.com, .example.net", 0},
    {"example.com", ".example.com, .example.net", 1},
    {"nonexample.com", ".example.com, .example.net", 0},
    /* curl's CIDR helper facts (address, network, bits; no "/bits" when bits is 0) */
    {"192.160.0.1", "192.160.0.1/33", 0},
    {"192.160.0.1", "192.160.0.1/32", 1},
    {"192.160.0.1", "192.160.0.1", 1},
    {"192.160.0.1", "192.160.0.1/24", 1},
    {"192.160.0.1", "192.160.0.1/26", 1},
    {"192.160.0.1", "192.160.0.1/20", 1},
    {"192.160.0.1", "192.160.0.1/18", 1},
    {"192.160.0.1", "192.160.0.1/12", 1},
    {"192.160.0.1", "192.160.0.1/8", 1},
    {"192.160.0.1", "10.0.0.1/8", 0},
    {"192.160.0.1", "10.0.0.1/32", 0},
    {"192.160.0.1", "10.0.0.1", 0},
    {"::1", "::1", 1},
    {"::1", "::1/128", 1},
    {"::1", "0:0::1/128", 1},
    {"::1", "0:0::1/129", 0},
    {"fe80::ab47:4396:55c9:8474", "fe80::ab47:4396:55c9:8474/64", 1},
};

/* this library's own rules (docs/proxy-selection.md) */
static const np_case own_vectors[] = {
    /* empty list, star */
    {"example.com", "", 0},
    {"example.com", "*", 1},
    {"10.1.2.3", "*", 1},
    {"::1", "*", 1},
    {"example.com", " * ", 1},
    {"example.com", "foo,*", 1},
    {"example.com", "**", 0},
    {"example.com", ",,, ,\t,", 0},
    /* labels, case, dots */
    {"www.example.com", "example.com", 1},
    {"WWW.EXAMPLE.COM", "Example.Com", 1},
    {"a.b.example.com", ".example.com", 1},
    {"nexample.com", ".example.com", 0},
    {"example.com", "www.example.com", 0},
    {"example.com", "com", 1},
    {"example.co", "example.com", 0},
    {"example.com", "*.example.com", 1},
    {"www.example.com", "*.example.com", 1},
    {"www.example.com", "*example.com", 0},
    {"example.com", "example.com..", 0},
    {"example.com", ".", 0},
    {"example.com", "..", 0},
    {"example.com", "\texample.com\t", 1},
    {"example.com", " example.com \r\n", 1},
    {"example.com", "exa mple.com", 0},
    {"localhost", "localhost .example.com, foo", 0},   /* curl: 1 (first word), then stops */
    {"foo", "localhost .example.com, foo", 1},         /* curl: 0 (never reaches foo) */
    {"example.com", "example.com:443", 0},
    {"localhost", "LOCALHOST", 1},
    {"example.com", "example.com/8", 0},
    /* IP hosts match only IP entries */
    {"10.1.2.3", "10.0.0.0/8", 1},
    {"11.1.2.3", "10.0.0.0/8", 0},
    {"10.1.2.3", "10.1.2.3/32", 1},
    {"10.1.2.3", "0.0.0.0/0", 1},
    {"10.1.2.3", "10.0.0.0/", 0},
    {"10.1.2.3", "10.0.0.0/x", 0},
    {"10.1.2.3", "10.0.0.0/0008", 0},
    {"10.1.2.3", "1.2.3", 0},
    {"10.1.2.3", "3", 0},
    {"10.1.2.3", "010.1.2.3", 0},
    {"192.168.0.1", "192.168.0.1:8080", 0},
    {"10.0.0.1", "0.0.1", 0},
    {"fd12:3456::1", "fd00::/8", 1},
    {"fe80::1", "fd00::/8", 0},
    {"fe80::1", "fe80::/10", 1},
    {"febf::1", "fe80::/10", 1},
    {"fec0::1", "fe80::/10", 0},
    {"2001:db8::1", "::/0", 1},
    {"::1", "[::1]", 1},
    {"::1", "[::1]/128", 1},
    {"::1", "127.0.0.1", 0},
    {"127.0.0.1", "::1", 0},
    {"::ffff:10.0.0.1", "10.0.0.0/8", 0},
    {"::ffff:10.0.0.1", "::ffff:10.0.0.0/104", 1},
    {"[::1]", "::1", 1},
    {"10.0.0.1", "localhost", 0},
    /* name hosts never match IP entries */
    {"1.2.3.4.example", "1.2.3.4", 0},
    {"localhost", "127.0.0.1/8", 0},
};

static void test_no_proxy(void)
{
    size_t i;
    for (i = 0; i < sizeof curl_vectors / sizeof curl_vectors[0]; i++) {
        const np_case *c = &curl_vectors[i];
        CASE("curl no_proxy host=%s list=%s", c->host, c->list);
        CHECK_EQ_INT(wsproxy_no_proxy_match(c->list, c->host, strlen(c->host)), c->match);
    }
    for (i = 0; i < sizeof own_vectors / sizeof own_vectors[0]; i++) {
        const np_case *c = &own_vectors[i];
        CASE("no_proxy host=%s list=%s", c->host, c->list);
        CHECK_EQ_INT(wsproxy_no_proxy_match(c->list, c->host, strlen(c->host)), c->match);
    }
    TEST_CASE("no_proxy edge arguments");
    CHECK_EQ_INT(wsproxy_no_proxy_match(NULL, "a", 1), 0);
    CHECK_EQ_INT(wsproxy_no_proxy_match("a", NULL, 0), 0);
    CHECK_EQ_INT(wsproxy_no_proxy_match("a", "", 0), 0);
    CHECK_EQ_INT(wsproxy_no_proxy_match("a", ".", 1), 0);
    CHECK_EQ_INT(wsproxy_no_proxy_match("*", "", 0), 0);
    /* host given by length, not NUL: only the first host_len bytes count */
    CHECK_EQ_INT(wsproxy_no_proxy_match("example.com", "example.com.evil", 11), 1);
    CHECK_EQ_INT(wsproxy_no_proxy_match("10.0.0.0/8", "10.0.0.1xyz", 8), 1);
}

/* ================================================================== environment */
typedef struct { const char *const *vars; int calls; } fake_env;

static const char *fake_getenv(void *ctx, const char *name)
{
    fake_env *e = (fake_env *)ctx;
    size_t n = strlen(name), i;
    e->calls++;
    for (i = 0; e->vars[i]; i++)
        if (strncmp(e->vars[i], name, n) == 0 && e->vars[i][n] == '=') return e->vars[i] + n + 1;
    return NULL;
}

#define MAXV 8
typedef struct {
    const char *url;
    const char *vars[MAXV];      /* "NAME=value", NULL-terminated */
    const char *override;        /* caller's NO_PROXY, NULL for the environment's */
    int rc;
    const char *proxy;           /* expected out */
    const char *proxy_var;       /* expected info.proxy_var (NULL: none) */
    int bypassed;
} env_case;

static const env_case env_cases[] = {
    /* ws:// order: ws_proxy, WS_PROXY, http_proxy, all_proxy, ALL_PROXY */
    {"ws://h/", {NULL}, NULL, 0, "", NULL, 0},
    {"ws://h/", {"ws_proxy=http://a:1", NULL}, NULL, 0, "http://a:1", "ws_proxy", 0},
    {"ws://h/", {"WS_PROXY=http://b:1", NULL}, NULL, 0, "http://b:1", "WS_PROXY", 0},
    {"ws://h/", {"WS_PROXY=http://b:1", "ws_proxy=http://a:1", NULL}, NULL, 0, "http://a:1", "ws_proxy", 0},
    {"ws://h/", {"http_proxy=http://c:1", NULL}, NULL, 0, "http://c:1", "http_proxy", 0},
    {"ws://h/", {"HTTP_PROXY=http://d:1", NULL}, NULL, 0, "", NULL, 0},
    {"ws://h/", {"HTTP_PROXY=http://d:1", "all_proxy=socks5h://e:1", NULL}, NULL, 0, "socks5h://e:1", "all_proxy", 0},
    {"ws://h/", {"ALL_PROXY=socks5://f:1", NULL}, NULL, 0, "socks5://f:1", "ALL_PROXY", 0},
    {"ws://h/", {"ALL_PROXY=socks5://f:1", "all_proxy=socks4://g:1", NULL}, NULL, 0, "socks4://g:1", "all_proxy", 0},
    {"ws://h/", {"WS_PROXY=http://b:1", "http_proxy=http://c:1", NULL}, NULL, 0, "http://b:1", "WS_PROXY", 0},
    {"ws://h/", {"http_proxy=http://c:1", "all_proxy=http://e:1", NULL}, NULL, 0, "http://c:1", "http_proxy", 0},
    {"ws://h/", {"https_proxy=http://x:1", "HTTPS_PROXY=http://x:2", "wss_proxy=http://x:3", NULL}, NULL, 0, "", NULL, 0},
    {"ws://h/", {"https_proxy=http://x:1", "ALL_PROXY=http://y:1", NULL}, NULL, 0, "http://y:1", "ALL_PROXY", 0},
    /* empty counts as unset */
    {"ws://h/", {"ws_proxy=", "http_proxy=http://c:1", NULL}, NULL, 0, "http://c:1", "http_proxy", 0},
    {"ws://h/", {"ws_proxy=", "WS_PROXY=http://b:1", NULL}, NULL, 0, "http://b:1", "WS_PROXY", 0},
    {"ws://h/", {"http_proxy=", "all_proxy=", "ALL_PROXY=http://f:1", NULL}, NULL, 0, "http://f:1", "ALL_PROXY", 0},
    {"ws://h/", {"ws_proxy=", "WS_PROXY=", "http_proxy=", "all_proxy=", "ALL_PROXY=", NULL}, NULL, 0, "", NULL, 0},
    /* wss:// order: wss_proxy, WSS_PROXY, https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY */
    {"wss://h/", {"wss_proxy=http://a:1", "https_proxy=http://c:1", NULL}, NULL, 0, "http://a:1", "wss_proxy", 0},
    {"wss://h/", {"WSS_PROXY=http://b:1", "https_proxy=http://c:1", NULL}, NULL, 0, "http://b:1", "WSS_PROXY", 0},
    {"wss://h/", {"https_proxy=http://c:1", NULL}, NULL, 0, "http://c:1", "https_proxy", 0},
    {"wss://h/", {"HTTPS_PROXY=http://d:1", NULL}, NULL, 0, "http://d:1", "HTTPS_PROXY", 0},
    {"wss://h/", {"HTTPS_PROXY=http://d:1", "https_proxy=http://c:1", NULL}, NULL, 0, "http://c:1", "https_proxy", 0},
    {"wss://h/", {"https_proxy=", "HTTPS_PROXY=http://d:1", NULL}, NULL, 0, "http://d:1", "HTTPS_PROXY", 0},
    {"wss://h/", {"http_proxy=http://x:1", "ws_proxy=http://x:2", "WS_PROXY=http://x:3", NULL}, NULL, 0, "", NULL, 0},
    {"wss://h/", {"http_proxy=http://x:1", "all_proxy=http://e:1", NULL}, NULL, 0, "http://e:1", "all_proxy", 0},
    {"WSS://h/", {"wss_proxy=https://a:1", NULL}, NULL, 0, "https://a:1", "wss_proxy", 0},
    /* NO_PROXY from the environment: no_proxy before NO_PROXY, empty is unset */
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "no_proxy=example.com", NULL}, NULL, 0, "", "ws_proxy", 1},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "NO_PROXY=.example.com", NULL}, NULL, 0, "", "ws_proxy", 1},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "no_proxy=other.org", "NO_PROXY=example.com", NULL}, NULL, 0, "http://a:1", "ws_proxy", 0},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "no_proxy=", "NO_PROXY=example.com", NULL}, NULL, 0, "", "ws_proxy", 1},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "no_proxy=*", NULL}, NULL, 0, "", "ws_proxy", 1},
    {"ws://nexample.com/", {"ws_proxy=http://a:1", "no_proxy=example.com", NULL}, NULL, 0, "http://a:1", "ws_proxy", 0},
    {"wss://10.1.2.3:8443/x", {"https_proxy=http://a:1", "no_proxy=10.0.0.0/8", NULL}, NULL, 0, "", "https_proxy", 1},
    {"ws://[::1]:9000/", {"ws_proxy=http://a:1", "no_proxy=::1", NULL}, NULL, 0, "", "ws_proxy", 1},
    {"ws://[fd00::5]/", {"ws_proxy=http://a:1", "no_proxy=fd00::/8", NULL}, NULL, 0, "", "ws_proxy", 1},
    {"ws://example.com./", {"ws_proxy=http://a:1", "no_proxy=example.com", NULL}, NULL, 0, "", "ws_proxy", 1},
    /* the caller's list wins over both variables; "" proxies everything */
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "no_proxy=example.com", NULL}, "", 0, "http://a:1", "ws_proxy", 0},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "NO_PROXY=*", NULL}, "", 0, "http://a:1", "ws_proxy", 0},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", NULL}, "*", 0, "", "ws_proxy", 1},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", "no_proxy=example.com", NULL}, "other.org", 0, "http://a:1", "ws_proxy", 0},
    {"ws://h.example.com/", {"ws_proxy=http://a:1", NULL}, "foo, .example.com", 0, "", "ws_proxy", 1},
    /* NO_PROXY without any proxy variable: still direct, nothing bypassed */
    {"ws://h.example.com/", {"no_proxy=example.com", NULL}, NULL, 0, "", NULL, 0},
    /* values are passed on as written (wsproxy_init validates them) */
    {"ws://h/", {"ws_proxy=proxy.local:3128", NULL}, NULL, 0, "proxy.local:3128", "ws_proxy", 0},
    {"ws://h/", {"ws_proxy= ", NULL}, NULL, 0, " ", "ws_proxy", 0},
    /* target errors */
    {"http://h/", {"http_proxy=http://c:1", NULL}, NULL, WSPROXY_E_URL_SCHEME, "", NULL, 0},
    {"socks5://h", {NULL}, NULL, WSPROXY_E_URL_SCHEME, "", NULL, 0},
    {"ws://", {"ws_proxy=http://a:1", NULL}, NULL, WSPROXY_E_URL_HOST, "", NULL, 0},
    {"ws://h/#frag", {NULL}, NULL, WSPROXY_E_URL_FRAGMENT, "", NULL, 0},
    {"ftp://h/", {NULL}, NULL, WSPROXY_E_URL_SCHEME, "", NULL, 0},
};

static void test_env(void)
{
    size_t i;
    char out[64];
    wsproxy_env_info info;
    fake_env fe;
    int rc, bypass;
    for (i = 0; i < sizeof env_cases / sizeof env_cases[0]; i++) {
        const env_case *c = &env_cases[i];
        char vars[200] = "";
        size_t k;
        for (k = 0; c->vars[k]; k++) {
            strncat(vars, c->vars[k], sizeof vars - strlen(vars) - 2);
            strncat(vars, " ", sizeof vars - strlen(vars) - 1);
        }
        CASE("env %s [%s] override=%s", c->url, vars, c->override ? c->override : "(null)");
        fe.vars = c->vars;
        fe.calls = 0;
        memset(out, 'X', sizeof out);
        rc = wsproxy_proxy_from_env(c->url, fake_getenv, &fe, c->override, out, sizeof out, &info);
        CHECK_EQ_INT(rc, c->rc);
        CHECK(strcmp(out, c->proxy) == 0);
        if (c->proxy_var) CHECK(info.proxy_var && strcmp(info.proxy_var, c->proxy_var) == 0);
        else CHECK(info.proxy_var == NULL);
        CHECK_EQ_INT(info.bypassed, c->bypassed);
        if (c->rc == 0) {
            /* the same decision through wsproxy_bypass_proxy for an explicit proxy */
            rc = wsproxy_bypass_proxy(c->url, fake_getenv, &fe, c->override, &bypass);
            CHECK_EQ_INT(rc, 0);
            if (c->proxy_var) CHECK_EQ_INT(bypass, c->bypassed);
        }
    }

    TEST_CASE("env: which NO_PROXY variable was read");
    {
        static const char *const v1[] = {"ws_proxy=http://a:1", "no_proxy=x", "NO_PROXY=y", NULL};
        static const char *const v2[] = {"ws_proxy=http://a:1", "no_proxy=", "NO_PROXY=y", NULL};
        static const char *const v3[] = {"ws_proxy=http://a:1", NULL};
        fe.vars = v1;
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, out, sizeof out, &info), 0);
        CHECK(info.no_proxy_var && strcmp(info.no_proxy_var, "no_proxy") == 0);
        fe.vars = v2;
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, out, sizeof out, &info), 0);
        CHECK(info.no_proxy_var && strcmp(info.no_proxy_var, "NO_PROXY") == 0);
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, "", out, sizeof out, &info), 0);
        CHECK(info.no_proxy_var == NULL);
        fe.vars = v3;
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, out, sizeof out, &info), 0);
        CHECK(info.no_proxy_var == NULL);
        {
            const char *var = "junk";
            fe.vars = v2;
            CHECK(strcmp(wsproxy_no_proxy_env(fake_getenv, &fe, NULL, &var), "y") == 0);
            CHECK(strcmp(var, "NO_PROXY") == 0);
            CHECK(strcmp(wsproxy_no_proxy_env(fake_getenv, &fe, "z", &var), "z") == 0);
            CHECK(var == NULL);
            CHECK(wsproxy_no_proxy_env(NULL, NULL, NULL, &var) == NULL);
            fe.vars = v3;
            CHECK(wsproxy_no_proxy_env(fake_getenv, &fe, NULL, NULL) == NULL);
        }
    }

    TEST_CASE("env: output room and arguments");
    {
        static const char *const v[] = {"ws_proxy=http://proxy:3128", NULL};
        char small[8];
        fe.vars = v;
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, small, sizeof small, NULL),
                     WSPROXY_E_URL_TOO_LONG);
        CHECK(small[0] == '\0');
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, out, 17, NULL), WSPROXY_E_URL_TOO_LONG);
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, out, 18, NULL), 0);
        CHECK(strcmp(out, "http://proxy:3128") == 0);
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, out, 0, NULL), WSPROXY_E_ARGUMENT);
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, NULL, 10, NULL), WSPROXY_E_ARGUMENT);
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", NULL, NULL, NULL, out, sizeof out, NULL), WSPROXY_E_ARGUMENT);
        CHECK_EQ_INT(wsproxy_proxy_from_env(NULL, fake_getenv, &fe, NULL, out, sizeof out, NULL), WSPROXY_E_ARGUMENT);
        CHECK_EQ_INT(wsproxy_bypass_proxy("ws://h/", NULL, NULL, NULL, NULL), WSPROXY_E_ARGUMENT);
        CHECK_EQ_INT(wsproxy_bypass_proxy("ws://h.x/", NULL, NULL, "x", &bypass), 0);
        CHECK_EQ_INT(bypass, 1);
        CHECK_EQ_INT(wsproxy_bypass_proxy("ws://h.x/", NULL, NULL, NULL, &bypass), 0);
        CHECK_EQ_INT(bypass, 0);
        CHECK_EQ_INT(wsproxy_bypass_proxy("wss://[::1]/", NULL, NULL, "::1/128", &bypass), 0);
        CHECK_EQ_INT(bypass, 1);
        CHECK_EQ_INT(wsproxy_bypass_proxy("http://h/", NULL, NULL, "*", &bypass), WSPROXY_E_URL_SCHEME);
        CHECK_EQ_INT(bypass, 0);
    }

    TEST_CASE("env: HTTP_PROXY is never asked for");
    {
        static const char *const v[] = {"HTTP_PROXY=http://evil:1", NULL};
        fe.vars = v;
        fe.calls = 0;
        CHECK_EQ_INT(wsproxy_proxy_from_env("ws://h/", fake_getenv, &fe, NULL, out, sizeof out, NULL), 0);
        CHECK(out[0] == '\0');
        CHECK_EQ_INT(fe.calls, 5);   /* ws_proxy WS_PROXY http_proxy all_proxy ALL_PROXY */
    }

#ifndef WSPROXY_NO_OS_GETENV
    TEST_CASE("env: wsproxy_os_getenv reads the process environment");
    {
        CHECK(wsproxy_os_getenv(NULL, "WSPROXY_TEST_SURELY_UNSET_VARIABLE") == NULL);
        CHECK(wsproxy_os_getenv(NULL, "PATH") == getenv("PATH"));
    }
#endif
}

/* ================================================================== SOCKS */
static wsproxy_url parse_or_die(const char *s)
{
    wsproxy_url u;
    if (wsproxy_url_parse(s, strlen(s), &u) != WSPROXY_OK) {
        fprintf(stderr, "cannot parse %s\n", s);
        exit(2);
    }
    return u;
}

/* Initializes s for proxy -> target; returns init's code. */
static int socks_setup(wsproxy_socks *s, const char *proxy, const char *target,
                       const unsigned char *resolved, int resolved_type)
{
    wsproxy_url p = parse_or_die(proxy), t = parse_or_die(target);
    return wsproxy_socks_init(s, &p, &t, resolved, resolved_type);
}

/* Takes every pending output byte, in pieces of `piece` bytes. */
static size_t take_output(wsproxy_socks *s, unsigned char *out, size_t cap, size_t piece)
{
    size_t n = 0, k;
    while ((k = wsproxy_socks_output(s, out + n, cap - n < piece ? cap - n : piece)) > 0) n += k;
    return n;
}

static int check_request(wsproxy_socks *s, const char *hex, size_t piece)
{
    unsigned char want[600], got[600];
    size_t wn = unhex(hex, want), gn;
    CHECK_EQ_INT(wsproxy_socks_pending(s), wn);
    gn = take_output(s, got, sizeof got, piece);
    CHECK_EQ_INT(gn, wn);
    CHECK(gn == wn && memcmp(got, want, wn) == 0);
    CHECK_EQ_INT(wsproxy_socks_pending(s), 0);
    return gn == wn && memcmp(got, want, wn) == 0;
}

enum { FEED_WHOLE = 0, FEED_BYTES = 1, FEED_RANDOM = 2 };

/* Feeds r[0..len) in pieces; stops at the first result other than NEED_MORE.
   *used gets the bytes consumed in all. */
static int feed(wsproxy_socks *s, const unsigned char *r, size_t len, int mode, size_t *used)
{
    size_t off = 0;
    int rc = WSPROXY_SOCKS_NEED_MORE;
    while (off < len) {
        size_t chunk = mode == FEED_WHOLE ? len - off
                     : mode == FEED_BYTES ? 1 : 1 + (size_t)(test_rand() % (len - off));
        size_t u = 12345;
        rc = wsproxy_socks_input(s, r + off, chunk, &u);
        if (rc == WSPROXY_SOCKS_NEED_MORE && u != chunk) { rc = -100; break; }
        off += u;
        if (rc != WSPROXY_SOCKS_NEED_MORE) break;
    }
    *used = off;
    return rc;
}

/* One handshake: request/reply pairs. The last reply is followed by `tail`, which must
   stay unconsumed. Returns nothing; checks everything. */
typedef struct {
    const char *name;
    const char *proxy, *target;
    const char *resolved;        /* hex or NULL */
    const char *steps[8];        /* request hex, reply hex, request hex, reply hex, ... NULL */
    int final_rc;                /* of the last reply */
    int reply_code;              /* wsproxy_socks_reply_code at the end */
    const char *bound;           /* expected BND text after DONE, or NULL */
    unsigned bound_port;
} socks_case;

static const socks_case socks_cases[] = {
    {"socks5h name, no auth", "socks5h://p:1080", "ws://example.com:8080/", NULL,
     {"05 01 00", "05 00",
      "05 01 00 03 0b 6578616d706c652e636f6d 1f90", "05 00 00 01 0a000001 1f91", NULL},
     WSPROXY_SOCKS_DONE, 0, "10.0.0.1", 8081},
    {"socks5h name, user/pass (percent-decoded)", "socks5h://us%40er:p%3Ass@p", "ws://a.b/", NULL,
     {"05 02 00 02", "05 02", "01 05 7573406572 04 703a7373", "01 00",
      "05 01 00 03 03 612e62 0050", "05 00 00 03 09 6c6f63616c686f7374 0438", NULL},
     WSPROXY_SOCKS_DONE, 0, "localhost", 1080},
    {"socks5h with credentials, proxy picks no auth", "socks5h://u:p@p", "ws://a.b/", NULL,
     {"05 02 00 02", "05 00", "05 01 00 03 03 612e62 0050",
      "05 00 00 04 00000000000000000000000000000001 0050", NULL},
     WSPROXY_SOCKS_DONE, 0, "0:0:0:0:0:0:0:1", 80},
    {"socks5h user without password", "socks5h://user@p", "ws://a.b/", NULL,
     {"05 02 00 02", "05 02", "01 04 75736572 00", "01 00", "05 01 00 03 03 612e62 0050",
      "05 00 00 01 7f000001 0000", NULL},
     WSPROXY_SOCKS_DONE, 0, "127.0.0.1", 0},
    {"socks5h empty user and password", "socks5h://:@p", "ws://a.b/", NULL,
     {"05 02 00 02", "05 02", "01 00 00", "01 00", "05 01 00 03 03 612e62 0050",
      "05 00 00 01 7f000001 0000", NULL},
     WSPROXY_SOCKS_DONE, 0, "127.0.0.1", 0},
    {"socks5h IPv4 literal goes as ATYP 1", "socks5h://p", "ws://192.0.2.7:81/", NULL,
     {"05 01 00", "05 00", "05 01 00 01 c0000207 0051", "05 00 00 01 c0000207 0051", NULL},
     WSPROXY_SOCKS_DONE, 0, "192.0.2.7", 81},
    {"socks5 IPv6 literal", "socks5://p", "wss://[2001:db8::1]/", NULL,
     {"05 01 00", "05 00", "05 01 00 04 20010db8000000000000000000000001 01bb",
      "05 00 00 04 20010db8000000000000000000000002 c000", NULL},
     WSPROXY_SOCKS_DONE, 0, "2001:db8:0:0:0:0:0:2", 49152},
    {"socks5 name with caller's IPv4", "socks5://p", "ws://example.com/", "7f000001",
     {"05 01 00", "05 00", "05 01 00 01 7f000001 0050", "05 00 00 01 7f000001 d431", NULL},
     WSPROXY_SOCKS_DONE, 0, "127.0.0.1", 54321},
    {"socks5 name with caller's IPv6", "socks5://p", "ws://example.com:1/", "00000000000000000000000000000001",
     {"05 01 00", "05 00", "05 01 00 04 00000000000000000000000000000001 0001",
      "05 00 00 03 00 0001", NULL},
     WSPROXY_SOCKS_DONE, 0, "", 1},
    {"socks5 reserved byte ignored", "socks5h://p", "ws://a.b/", NULL,
     {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 00 ff 01 01020304 0102", NULL},
     WSPROXY_SOCKS_DONE, 0, "1.2.3.4", 258},
    /* SOCKS5 replies, every code */
    {"REP 01", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 01", NULL},
     WSPROXY_E_SOCKS_GENERAL_FAILURE, 1, NULL, 0},
    {"REP 02", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 02", NULL},
     WSPROXY_E_SOCKS_NOT_ALLOWED, 2, NULL, 0},
    {"REP 03", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 03", NULL},
     WSPROXY_E_SOCKS_NETWORK_UNREACHABLE, 3, NULL, 0},
    {"REP 04", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 04", NULL},
     WSPROXY_E_SOCKS_HOST_UNREACHABLE, 4, NULL, 0},
    {"REP 05", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 05", NULL},
     WSPROXY_E_SOCKS_CONNECTION_REFUSED, 5, NULL, 0},
    {"REP 06", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 06", NULL},
     WSPROXY_E_SOCKS_TTL_EXPIRED, 6, NULL, 0},
    {"REP 07", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 07", NULL},
     WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED, 7, NULL, 0},
    {"REP 08", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 08", NULL},
     WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED, 8, NULL, 0},
    {"REP 09", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 09", NULL},
     WSPROXY_E_SOCKS_UNKNOWN_REPLY, 9, NULL, 0},
    {"REP 80", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 80", NULL},
     WSPROXY_E_SOCKS_UNKNOWN_REPLY, 0x80, NULL, 0},
    {"REP FF", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 ff", NULL},
     WSPROXY_E_SOCKS_UNKNOWN_REPLY, 0xFF, NULL, 0},
    {"REP 01 with a full reply after it", "socks5h://p", "ws://a.b/", NULL,
     {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 01 00 01 00000000 0000", NULL},
     WSPROXY_E_SOCKS_GENERAL_FAILURE, 1, NULL, 0},
    {"connect reply ATYP 02", "socks5h://p", "ws://a.b/", NULL,
     {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "05 00 00 02 00000000 0000", NULL},
     WSPROXY_E_SOCKS_BAD_REPLY, 0, NULL, 0},
    {"connect reply version 04", "socks5h://p", "ws://a.b/", NULL,
     {"05 01 00", "05 00", "05 01 00 03 03 612e62 0050", "04 00 00 01 00000000 0000", NULL},
     WSPROXY_E_SOCKS_BAD_VERSION, 0, NULL, 0},
    /* method selection */
    {"method FF", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 ff", NULL},
     WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD, 0xFF, NULL, 0},
    {"method FF with credentials", "socks5h://u:p@p", "ws://a.b/", NULL, {"05 02 00 02", "05 ff", NULL},
     WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD, 0xFF, NULL, 0},
    {"method 02 not offered", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 02", NULL},
     WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, 2, NULL, 0},
    {"method 01 (GSSAPI) not offered", "socks5h://u:p@p", "ws://a.b/", NULL, {"05 02 00 02", "05 01", NULL},
     WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, 1, NULL, 0},
    {"method 80 not offered", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "05 80", NULL},
     WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, 0x80, NULL, 0},
    {"method reply version 04", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "04 00", NULL},
     WSPROXY_E_SOCKS_BAD_VERSION, -1, NULL, 0},
    {"method reply version 00", "socks5h://p", "ws://a.b/", NULL, {"05 01 00", "00 5a", NULL},
     WSPROXY_E_SOCKS_BAD_VERSION, -1, NULL, 0},
    /* RFC 1929 */
    {"auth status 01", "socks5h://u:p@p", "ws://a.b/", NULL,
     {"05 02 00 02", "05 02", "01 01 75 01 70", "01 01", NULL}, WSPROXY_E_SOCKS_AUTH_FAILED, 1, NULL, 0},
    {"auth status FF", "socks5h://u:p@p", "ws://a.b/", NULL,
     {"05 02 00 02", "05 02", "01 01 75 01 70", "01 ff", NULL}, WSPROXY_E_SOCKS_AUTH_FAILED, 0xFF, NULL, 0},
    {"auth reply version 05", "socks5h://u:p@p", "ws://a.b/", NULL,
     {"05 02 00 02", "05 02", "01 01 75 01 70", "05 00", NULL}, WSPROXY_E_SOCKS_BAD_VERSION, 2, NULL, 0},
    /* SOCKS4 / 4a */
    {"socks4 IPv4 literal", "socks4://p", "ws://127.0.0.1:8080/", NULL,
     {"04 01 1f90 7f000001 00", "00 5a 0000 00000000", NULL}, WSPROXY_SOCKS_DONE, 0x5A, "0.0.0.0", 0},
    {"socks4 user id", "socks4://bob:secret@p", "ws://10.0.0.2/", NULL,
     {"04 01 0050 0a000002 626f62 00", "00 5a 1234 0a000003", NULL}, WSPROXY_SOCKS_DONE, 0x5A, "10.0.0.3", 0x1234},
    {"socks4 name with caller's IPv4", "socks4://p", "ws://example.com/", "c0a80001",
     {"04 01 0050 c0a80001 00", "00 5a 0000 00000000", NULL}, WSPROXY_SOCKS_DONE, 0x5A, "0.0.0.0", 0},
    {"socks4a name", "socks4a://al%69ce@p", "wss://example.com/", NULL,
     {"04 01 01bb 00000001 616c696365 00 6578616d706c652e636f6d 00", "00 5a 0000 00000000", NULL},
     WSPROXY_SOCKS_DONE, 0x5A, "0.0.0.0", 0},
    {"socks4a IPv4 literal is plain SOCKS4", "socks4a://p", "ws://1.2.3.4:5/", NULL,
     {"04 01 0005 01020304 00", "00 5a 0005 01020304", NULL}, WSPROXY_SOCKS_DONE, 0x5A, "1.2.3.4", 5},
    {"socks4 CD 5B", "socks4a://p", "ws://a.b/", NULL, {"04 01 0050 00000001 00 612e62 00", "00 5b", NULL},
     WSPROXY_E_SOCKS4_REJECTED, 0x5B, NULL, 0},
    {"socks4 CD 5C", "socks4a://p", "ws://a.b/", NULL, {"04 01 0050 00000001 00 612e62 00", "00 5c 0000 00000000", NULL},
     WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE, 0x5C, NULL, 0},
    {"socks4 CD 5D", "socks4a://p", "ws://a.b/", NULL, {"04 01 0050 00000001 00 612e62 00", "00 5d", NULL},
     WSPROXY_E_SOCKS4_IDENTD_MISMATCH, 0x5D, NULL, 0},
    {"socks4 CD 00", "socks4a://p", "ws://a.b/", NULL, {"04 01 0050 00000001 00 612e62 00", "00 00", NULL},
     WSPROXY_E_SOCKS4_UNKNOWN_REPLY, 0, NULL, 0},
    {"socks4 CD 5E", "socks4a://p", "ws://a.b/", NULL, {"04 01 0050 00000001 00 612e62 00", "00 5e", NULL},
     WSPROXY_E_SOCKS4_UNKNOWN_REPLY, 0x5E, NULL, 0},
    {"socks4 reply VN 04", "socks4a://p", "ws://a.b/", NULL, {"04 01 0050 00000001 00 612e62 00", "04 5a 0000 00000000", NULL},
     WSPROXY_E_SOCKS_BAD_VERSION, -1, NULL, 0},
};

static const char tail_hex[] = "48 54 54 50 2f 31 2e 31 20 31 30 31";   /* "HTTP/1.1 101" */

static void run_socks_case(const socks_case *c, int mode, size_t piece, int stream)
{
    wsproxy_socks s;
    unsigned char resolved[16], reply[600], tail[32], all[2000];
    size_t tn = unhex(tail_hex, tail), i, used;
    int rtype = 0, rc;
    if (c->resolved) rtype = unhex(c->resolved, resolved) == 4 ? WSPROXY_HOST_IPV4 : WSPROXY_HOST_IPV6;
    CASE("socks %s mode=%d piece=%u stream=%d", c->name, mode, (unsigned)piece, stream);
    rc = socks_setup(&s, c->proxy, c->target, c->resolved ? resolved : NULL, rtype);
    CHECK_EQ_INT(rc, 0);
    if (rc) return;
    CHECK_EQ_INT(wsproxy_socks_reply_code(&s), -1);
    CHECK_EQ_INT(wsproxy_socks_bound(&s, NULL, 0, NULL), -1);
    if (!stream) {
        for (i = 0; c->steps[i]; i += 2) {
            size_t rn;
            int last = c->steps[i + 2] == NULL;
            if (!check_request(&s, c->steps[i], piece)) return;
            rn = unhex(c->steps[i + 1], reply);
            if (last) { memcpy(reply + rn, tail, tn); }
            rc = feed(&s, reply, rn + (last ? tn : 0), mode, &used);
            if (!last) {
                CHECK_EQ_INT(rc, WSPROXY_SOCKS_SEND);
                CHECK_EQ_INT(used, rn);
                if (rc != WSPROXY_SOCKS_SEND) return;
            } else {
                CHECK_EQ_INT(rc, c->final_rc);
                if (c->final_rc == WSPROXY_SOCKS_DONE) CHECK_EQ_INT(used, rn);   /* tail left */
                else CHECK(used <= rn);
            }
        }
    } else {
        /* the proxy's replies all arrive together (as if it answered before reading):
           SEND results hand back the request, the rest of the bytes go on */
        size_t an = 0, off = 0, step = 0, reply_total = 0;
        unsigned char got[600], want[600];
        for (i = 1; c->steps[i - 1]; i += 2) an += unhex(c->steps[i], all + an);
        reply_total = an;
        memcpy(all + an, tail, tn);
        an += tn;
        if (!check_request(&s, c->steps[0], piece)) return;
        for (;;) {
            size_t chunk = mode == FEED_WHOLE ? an - off
                         : mode == FEED_BYTES ? 1 : 1 + (size_t)(test_rand() % (an - off));
            rc = wsproxy_socks_input(&s, all + off, chunk, &used);
            off += used;
            if (rc == WSPROXY_SOCKS_SEND) {
                size_t wn, gn;
                /* a second call before the request is taken uses nothing */
                CHECK_EQ_INT(wsproxy_socks_input(&s, all + off, an - off, &used), WSPROXY_SOCKS_SEND);
                CHECK_EQ_INT(used, 0);
                step += 2;
                wn = unhex(c->steps[step], want);
                gn = take_output(&s, got, sizeof got, piece);
                CHECK(gn == wn && memcmp(got, want, wn) == 0);
                continue;
            }
            if (rc != WSPROXY_SOCKS_NEED_MORE) break;
            if (off == an) break;
        }
        CHECK_EQ_INT(rc, c->final_rc);
        if (c->final_rc == WSPROXY_SOCKS_DONE) CHECK_EQ_INT(off, reply_total);
    }
    CHECK_EQ_INT(wsproxy_socks_reply_code(&s), c->reply_code);
    if (c->final_rc == WSPROXY_SOCKS_DONE) {
        char b[64];
        unsigned port = 99999;
        CHECK_EQ_INT(wsproxy_socks_phase(&s), WSPROXY_SOCKS_PHASE_DONE);
        CHECK_EQ_INT(wsproxy_socks_error(&s), 0);
        CHECK(wsproxy_socks_bound(&s, b, sizeof b, &port) >= 0);
        CHECK(strcmp(b, c->bound) == 0);
        CHECK_EQ_INT(port, c->bound_port);
        /* done: later input is not touched */
        CHECK_EQ_INT(wsproxy_socks_input(&s, tail, tn, &used), WSPROXY_SOCKS_DONE);
        CHECK_EQ_INT(used, 0);
    } else {
        CHECK_EQ_INT(wsproxy_socks_phase(&s), WSPROXY_SOCKS_PHASE_FAILED);
        CHECK_EQ_INT(wsproxy_socks_error(&s), c->final_rc);
        /* sticky */
        CHECK_EQ_INT(wsproxy_socks_input(&s, tail, tn, &used), c->final_rc);
        CHECK_EQ_INT(used, 0);
        CHECK_EQ_INT(wsproxy_socks_output(&s, reply, sizeof reply), 0);
        CHECK_EQ_INT(wsproxy_socks_bound(&s, NULL, 0, NULL), -1);
    }
    /* the RFC 1929 request is wiped once taken, and after the end */
    for (i = 0; i < sizeof s.auth_; i++)
        if (s.auth_[i]) break;
    CHECK_EQ_INT(i, sizeof s.auth_);
}

static void test_socks_cases(void)
{
    size_t i;
    int seed, stream;
    for (i = 0; i < sizeof socks_cases / sizeof socks_cases[0]; i++) {
        for (stream = 0; stream < 2; stream++) {
            run_socks_case(&socks_cases[i], FEED_WHOLE, 1000, stream);
            run_socks_case(&socks_cases[i], FEED_BYTES, 1, stream);
            for (seed = 1; seed <= 8; seed++) {
                test_seed((uint64_t)seed * 7919u + i);
                run_socks_case(&socks_cases[i], FEED_RANDOM, 1 + (size_t)(test_rand() % 5), stream);
            }
        }
    }
}

/* The error is reported when its byte arrives, without waiting for the rest. */
static void test_socks_early_errors(void)
{
    wsproxy_socks s;
    unsigned char buf[64];
    size_t used;
    int code;
    TEST_CASE("socks early: bad version at byte 1");
    CHECK_EQ_INT(socks_setup(&s, "socks5h://p", "ws://a.b/", NULL, 0), 0);
    take_output(&s, buf, sizeof buf, 64);
    buf[0] = 0x04;
    CHECK_EQ_INT(wsproxy_socks_input(&s, buf, 1, &used), WSPROXY_E_SOCKS_BAD_VERSION);
    CHECK_EQ_INT(used, 1);

    for (code = 1; code <= 255; code++) {
        unsigned char r[2];
        int want = code <= 8 ? 300 + code : WSPROXY_E_SOCKS_UNKNOWN_REPLY;
        CASE("socks5 REP %d reported at byte 2", code);
        CHECK_EQ_INT(socks_setup(&s, "socks5h://p", "ws://a.b/", NULL, 0), 0);
        take_output(&s, buf, sizeof buf, 64);
        r[0] = 5; r[1] = 0;
        CHECK_EQ_INT(wsproxy_socks_input(&s, r, 2, &used), WSPROXY_SOCKS_SEND);
        take_output(&s, buf, sizeof buf, 64);
        r[1] = (unsigned char)code;
        CHECK_EQ_INT(wsproxy_socks_input(&s, r, 1, &used), WSPROXY_SOCKS_NEED_MORE);
        CHECK_EQ_INT(wsproxy_socks_input(&s, r + 1, 1, &used), want);
        CHECK_EQ_INT(wsproxy_socks_reply_code(&s), code);
        CHECK(strcmp(wsproxy_strerror(want), "WSPROXY_E_UNKNOWN") != 0);
    }
    for (code = 0; code <= 255; code++) {
        unsigned char r[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int want = code == 0x5A ? WSPROXY_SOCKS_NEED_MORE : code == 0x5B ? WSPROXY_E_SOCKS4_REJECTED
                 : code == 0x5C ? WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE
                 : code == 0x5D ? WSPROXY_E_SOCKS4_IDENTD_MISMATCH : WSPROXY_E_SOCKS4_UNKNOWN_REPLY;
        CASE("socks4 CD %d reported at byte 2", code);
        CHECK_EQ_INT(socks_setup(&s, "socks4://p", "ws://1.2.3.4/", NULL, 0), 0);
        take_output(&s, buf, sizeof buf, 64);
        r[1] = (unsigned char)code;
        CHECK_EQ_INT(wsproxy_socks_input(&s, r, 2, &used), want);
        CHECK_EQ_INT(used, 2);
        if (code == 0x5A) CHECK_EQ_INT(wsproxy_socks_input(&s, r + 2, 6, &used), WSPROXY_SOCKS_DONE);
    }
}

static void test_socks_domain_bound(void)
{
    /* BND.ADDR as a 255-byte name: the longest reply; the byte after it stays */
    wsproxy_socks s;
    unsigned char r[300], buf[300];
    char b[300];
    size_t used, n = 0, i;
    unsigned port;
    TEST_CASE("socks5 255-byte BND.ADDR name");
    CHECK_EQ_INT(socks_setup(&s, "socks5h://p", "ws://a.b/", NULL, 0), 0);
    take_output(&s, buf, sizeof buf, 300);
    r[0] = 5; r[1] = 0;
    CHECK_EQ_INT(wsproxy_socks_input(&s, r, 2, &used), WSPROXY_SOCKS_SEND);
    take_output(&s, buf, sizeof buf, 300);
    r[n++] = 5; r[n++] = 0; r[n++] = 0; r[n++] = 3; r[n++] = 255;
    for (i = 0; i < 255; i++) r[n++] = (unsigned char)('a' + i % 26);
    r[n++] = 0x12; r[n++] = 0x34;
    r[n++] = 0x81;   /* first byte of a WebSocket frame */
    CHECK_EQ_INT(wsproxy_socks_input(&s, r, n, &used), WSPROXY_SOCKS_DONE);
    CHECK_EQ_INT(used, n - 1);
    CHECK_EQ_INT(wsproxy_socks_bound(&s, b, sizeof b, &port), WSPROXY_HOST_NAME);
    CHECK_EQ_INT(strlen(b), 255);
    CHECK(b[0] == 'a' && b[254] == (char)('a' + 254 % 26));
    CHECK_EQ_INT(port, 0x1234);
    CHECK_EQ_INT(wsproxy_socks_bound(&s, b, 4, &port), WSPROXY_HOST_NAME);
    CHECK(strcmp(b, "abc") == 0);
}

static void test_socks_init_errors(void)
{
    wsproxy_socks s;
    wsproxy_url p, t;
    unsigned char a4[4] = {127, 0, 0, 1}, a16[16] = {0}, buf[600];
    char url[1200];
    size_t i, used;

    TEST_CASE("socks_needs_address");
    p = parse_or_die("socks5://p"); t = parse_or_die("ws://example.com/");
    CHECK_EQ_INT(wsproxy_socks_needs_address(&p, &t), 1);
    p = parse_or_die("socks4://p");
    CHECK_EQ_INT(wsproxy_socks_needs_address(&p, &t), 1);
    p = parse_or_die("socks5h://p");
    CHECK_EQ_INT(wsproxy_socks_needs_address(&p, &t), 0);
    p = parse_or_die("socks4a://p");
    CHECK_EQ_INT(wsproxy_socks_needs_address(&p, &t), 0);
    p = parse_or_die("socks5://p"); t = parse_or_die("ws://10.0.0.1/");
    CHECK_EQ_INT(wsproxy_socks_needs_address(&p, &t), 0);
    t = parse_or_die("ws://[::1]/");
    CHECK_EQ_INT(wsproxy_socks_needs_address(&p, &t), 0);
    p = parse_or_die("http://p");
    CHECK_EQ_INT(wsproxy_socks_needs_address(&p, &t), 0);
    CHECK_EQ_INT(wsproxy_socks_needs_address(NULL, &t), 0);

    TEST_CASE("socks init: caller-side errors");
    CHECK_EQ_INT(socks_setup(&s, "socks5://p", "ws://example.com/", NULL, 0), WSPROXY_E_SOCKS_NEED_ADDRESS);
    CHECK_EQ_INT(wsproxy_socks_phase(&s), WSPROXY_SOCKS_PHASE_FAILED);
    CHECK_EQ_INT(wsproxy_socks_error(&s), WSPROXY_E_SOCKS_NEED_ADDRESS);
    CHECK_EQ_INT(wsproxy_socks_output(&s, buf, sizeof buf), 0);
    CHECK_EQ_INT(wsproxy_socks_pending(&s), 0);
    CHECK_EQ_INT(wsproxy_socks_input(&s, a4, 4, &used), WSPROXY_E_SOCKS_NEED_ADDRESS);
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(socks_setup(&s, "socks4://p", "ws://example.com/", NULL, 0), WSPROXY_E_SOCKS_NEED_ADDRESS);
    CHECK_EQ_INT(socks_setup(&s, "socks4://p", "ws://example.com/", a16, WSPROXY_HOST_IPV6), WSPROXY_E_SOCKS4_IPV6);
    CHECK_EQ_INT(socks_setup(&s, "socks4://p", "ws://[::1]/", NULL, 0), WSPROXY_E_SOCKS4_IPV6);
    CHECK_EQ_INT(socks_setup(&s, "socks4a://p", "ws://[::1]/", NULL, 0), WSPROXY_E_SOCKS4_IPV6);
    CHECK_EQ_INT(socks_setup(&s, "socks5://p", "ws://example.com/", a4, WSPROXY_HOST_NAME), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(socks_setup(&s, "socks5://p", "ws://example.com/", a4, 7), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(socks_setup(&s, "http://p", "ws://example.com/", NULL, 0), WSPROXY_E_URL_SCHEME);
    CHECK_EQ_INT(socks_setup(&s, "https://p", "ws://example.com/", NULL, 0), WSPROXY_E_URL_SCHEME);
    /* resolved is ignored where the proxy resolves or the host is a literal */
    CHECK_EQ_INT(socks_setup(&s, "socks5h://p", "ws://a.b/", a4, WSPROXY_HOST_IPV4), 0);
    CHECK(check_request(&s, "05 01 00", 64));
    CHECK_EQ_INT(socks_setup(&s, "socks4a://p", "ws://a.b/", a4, WSPROXY_HOST_IPV4), 0);
    CHECK(check_request(&s, "04 01 0050 00000001 00 612e62 00", 64));
    CHECK_EQ_INT(socks_setup(&s, "socks4://p", "ws://9.8.7.6/", a4, WSPROXY_HOST_IPV4), 0);
    CHECK(check_request(&s, "04 01 0050 09080706 00", 64));
    p = parse_or_die("socks5://p"); t = parse_or_die("ws://a.b/");
    CHECK_EQ_INT(wsproxy_socks_init(NULL, &p, &t, NULL, 0), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_socks_init(&s, NULL, &t, NULL, 0), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_socks_init(&s, &p, NULL, NULL, 0), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_socks_input(NULL, a4, 1, &used), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_socks_output(NULL, buf, 1), 0);

    TEST_CASE("socks init: credentials up to 255 decoded bytes");
    for (i = 0; i < 2; i++) {
        size_t n = 0, k, len = 255 + i;
        n += (size_t)sprintf(url + n, "socks5h://");
        for (k = 0; k < len; k++) url[n++] = 'u';
        n += (size_t)sprintf(url + n, ":pw@p");
        CHECK_EQ_INT(socks_setup(&s, url, "ws://a.b/", NULL, 0), i ? WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG : 0);
        n = (size_t)sprintf(url, "socks5h://user:");
        for (k = 0; k < len; k++) n += (size_t)sprintf(url + n, "%%%02X", 'A' + (int)(k % 26));
        sprintf(url + n, "@p");
        CHECK_EQ_INT(socks_setup(&s, url, "ws://a.b/", NULL, 0), i ? WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG : 0);
        if (!i) {
            unsigned char r[2] = {5, 2}, req[600];
            size_t rn;
            take_output(&s, req, sizeof req, 600);
            CHECK_EQ_INT(wsproxy_socks_input(&s, r, 2, &used), WSPROXY_SOCKS_SEND);
            rn = take_output(&s, req, sizeof req, 7);
            CHECK_EQ_INT(rn, 3 + 4 + 255);
            CHECK(req[0] == 1 && req[1] == 4 && memcmp(req + 2, "user", 4) == 0 && req[6] == 255);
            CHECK(req[7] == 'A' && req[7 + 25] == 'Z' && req[7 + 254] == 'A' + 254 % 26);
        }
        /* SOCKS4 user id: the same limit */
        n = (size_t)sprintf(url, "socks4a://");
        for (k = 0; k < len; k++) url[n++] = 'i';
        sprintf(url + n, "@p");
        CHECK_EQ_INT(socks_setup(&s, url, "ws://a.b/", NULL, 0), i ? WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG : 0);
        if (!i) CHECK_EQ_INT(wsproxy_socks_pending(&s), 8 + 255 + 1 + 3 + 1);
    }
    TEST_CASE("socks init: SOCKS4 ignores the password, even a long one");
    {
        size_t n = (size_t)sprintf(url, "socks4://u:"), k;
        for (k = 0; k < 300; k++) url[n++] = 'p';
        sprintf(url + n, "@p");
        CHECK_EQ_INT(socks_setup(&s, url, "ws://1.2.3.4/", NULL, 0), 0);
        CHECK(check_request(&s, "04 01 0050 01020304 75 00", 3));
    }
    TEST_CASE("socks init: bad escape in a hand-made URL struct");
    p = parse_or_die("socks5h://u:p@p"); t = parse_or_die("ws://a.b/");
    p.user = "%zz"; p.user_len = 3;
    CHECK_EQ_INT(wsproxy_socks_init(&s, &p, &t, NULL, 0), WSPROXY_E_URL_USERINFO);
    p.user = "a%0Ab"; p.user_len = 5;   /* decoded LF refused */
    CHECK_EQ_INT(wsproxy_socks_init(&s, &p, &t, NULL, 0), WSPROXY_E_URL_USERINFO);
    p.user = "u"; p.user_len = 1;
    t.host_len = 300;   /* longer than SOCKS can name */
    {
        static char longhost[301];
        memset(longhost, 'h', 300);
        t.host = longhost;
        CHECK_EQ_INT(wsproxy_socks_init(&s, &p, &t, NULL, 0), WSPROXY_E_SOCKS_HOST_TOO_LONG);
        t.host_len = 255;
        CHECK_EQ_INT(wsproxy_socks_init(&s, &p, &t, NULL, 0), 0);
        t.port = 0;
        CHECK_EQ_INT(wsproxy_socks_init(&s, &p, &t, NULL, 0), WSPROXY_E_URL_PORT);
    }
    TEST_CASE("socks: input on a struct never initialized");
    memset(&s, 0, sizeof s);
    CHECK_EQ_INT(wsproxy_socks_input(&s, a4, 1, &used), WSPROXY_E_STATE);
    CHECK_EQ_INT(wsproxy_socks_input(&s, NULL, 1, &used), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(socks_setup(&s, "socks5h://p", "ws://a.b/", NULL, 0), 0);
    CHECK_EQ_INT(wsproxy_socks_input(&s, a4, 1, NULL), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_socks_input(&s, NULL, 0, &used), WSPROXY_SOCKS_SEND);   /* greeting first */
    take_output(&s, buf, sizeof buf, 64);
    CHECK_EQ_INT(wsproxy_socks_input(&s, NULL, 0, &used), WSPROXY_SOCKS_NEED_MORE);
    CHECK_EQ_INT(wsproxy_socks_phase(&s), WSPROXY_SOCKS_PHASE_METHOD);
}

/* ================================================================== PAC */
typedef struct {
    const char *in;
    int flags;
    int rc;
    size_t skipped;
    const char *urls[8];   /* expected, NULL-terminated */
} pac_case;

static const pac_case pac_cases[] = {
    {"PROXY a:3128; SOCKS5 b:1080; HTTPS c:443; DIRECT", 0, 0, 0,
     {"http://a:3128", "socks5://b:1080", "https://c:443", "", NULL}},
    {"PROXY a:3128; SOCKS5 b:1080; HTTPS c:443; DIRECT", WSPROXY_PAC_SOCKS5_REMOTE_DNS, 0, 0,
     {"http://a:3128", "socks5h://b:1080", "https://c:443", "", NULL}},
    {"DIRECT", 0, 0, 0, {"", NULL}},
    {"direct", 0, 0, 0, {"", NULL}},
    {"  proxy   A.example:8080  ;  ", 0, 0, 0, {"http://A.example:8080", NULL}},
    {"\tPROXY\ta:1\t;\r\n DIRECT\r\n", 0, 0, 0, {"http://a:1", "", NULL}},
    {";;PROXY a:1;;;DIRECT;;", 0, 0, 0, {"http://a:1", "", NULL}},
    {"HTTP a:1; http b:2; Https c:3", 0, 0, 0, {"http://a:1", "http://b:2", "https://c:3", NULL}},
    {"SOCKS a:1; socks4 b:2; SoCkS5 c:3", 0, 0, 0, {"socks4://a:1", "socks4://b:2", "socks5://c:3", NULL}},
    {"PROXY a; HTTPS b; SOCKS c; SOCKS4 d; SOCKS5 e", 0, 0, 0,
     {"http://a:80", "https://b:443", "socks4://c:1080", "socks4://d:1080", "socks5://e:1080", NULL}},
    {"PROXY a:", 0, 0, 0, {"http://a:80", NULL}},
    {"PROXY [::1]:3128; PROXY [fe80::2]; PROXY 10.0.0.1", 0, 0, 0,
     {"http://[::1]:3128", "http://[fe80::2]:80", "http://10.0.0.1:80", NULL}},
    /* dropped entries */
    {"FOO a:1; PROXY b:2", 0, 0, 1, {"http://b:2", NULL}},
    {"PROXY; PROXY b:2", 0, 0, 1, {"http://b:2", NULL}},
    {"DIRECT a:1; DIRECT", 0, 0, 1, {"", NULL}},
    {"PROXY a b; PROXY c", 0, 0, 1, {"http://c:80", NULL}},
    {"PROXY u:p@a:1; PROXY a:1/x; PROXY http://a:1; PROXY a:1", 0, 0, 3, {"http://a:1", NULL}},
    {"PROXY a:0; PROXY a:65536; PROXY a:x; PROXY [::1; PROXY a:1", 0, 0, 4, {"http://a:1", NULL}},
    {"PROXY a:1?q; PROXY a#f; PROXY a:1", 0, 0, 2, {"http://a:1", NULL}},
    {"PROXYa:1; SOCKS5", 0, WSPROXY_E_PAC_EMPTY, 2, {NULL}},
    {"", 0, WSPROXY_E_PAC_EMPTY, 0, {NULL}},
    {" ; ; ", 0, WSPROXY_E_PAC_EMPTY, 0, {NULL}},
    {"QUIC a:443", 0, WSPROXY_E_PAC_EMPTY, 1, {NULL}},
};

static void test_pac(void)
{
    size_t i, k, pos;
    wsproxy_pac_list l;
    int scheme;
    const char *url;
    for (i = 0; i < sizeof pac_cases / sizeof pac_cases[0]; i++) {
        const pac_case *c = &pac_cases[i];
        CASE("pac \"%s\" flags=%d", c->in, c->flags);
        CHECK_EQ_INT(wsproxy_pac_parse(&l, c->in, strlen(c->in), c->flags), c->rc);
        CHECK_EQ_INT(l.skipped, c->skipped);
        for (k = 0; c->urls[k]; k++) {
            url = wsproxy_pac_get(&l, k, &scheme);
            CHECK(url && strcmp(url, c->urls[k]) == 0);
            if (url) {
                wsproxy_url u;
                if (url[0]) {
                    CHECK_EQ_INT(wsproxy_url_parse(url, strlen(url), &u), 0);
                    CHECK_EQ_INT(u.scheme, scheme);
                    CHECK_EQ_INT(u.port_explicit, 1);
                } else {
                    CHECK_EQ_INT(scheme, 0);
                }
            }
        }
        CHECK_EQ_INT(l.count, k);
        CHECK(wsproxy_pac_get(&l, k, &scheme) == NULL);
    }

    TEST_CASE("pac iterator");
    {
        static const char in[] = "PROXY a:1; DIRECT; SOCKS5 b:2";
        static const char *const want[] = {"http://a:1", "", "socks5://b:2"};
        static const int want_scheme[] = {WSPROXY_SCHEME_HTTP, 0, WSPROXY_SCHEME_SOCKS5};
        CHECK_EQ_INT(wsproxy_pac_parse(&l, in, strlen(in), 0), 0);
        pos = 0;
        k = 0;
        while ((url = wsproxy_pac_next(&l, &pos, &scheme)) != NULL) {
            CHECK(k < 3 && strcmp(url, want[k]) == 0);
            CHECK(k < 3 && scheme == want_scheme[k]);
            k++;
        }
        CHECK_EQ_INT(k, 3);
        CHECK_EQ_INT(pos, 3);
        CHECK(wsproxy_pac_next(&l, &pos, NULL) == NULL);
        CHECK_EQ_INT(pos, 3);
        CHECK(wsproxy_pac_next(&l, NULL, NULL) == NULL);
        CHECK(wsproxy_pac_next(NULL, &pos, NULL) == NULL);
    }

    TEST_CASE("pac: the length bounds the input, no NUL needed");
    CHECK_EQ_INT(wsproxy_pac_parse(&l, "PROXY a:1; PROXY b:2", 10, 0), 0);
    CHECK_EQ_INT(l.count, 1);
    CHECK(strcmp(wsproxy_pac_get(&l, 0, NULL), "http://a:1") == 0);

    TEST_CASE("pac: more entries than WSPROXY_PAC_MAX_ENTRIES");
    {
        char in[2000];
        size_t n = 0;
        for (k = 0; k < WSPROXY_PAC_MAX_ENTRIES + 3; k++)
            n += (size_t)sprintf(in + n, "PROXY h%u:%u; ", (unsigned)k, (unsigned)(k + 1));
        CHECK_EQ_INT(wsproxy_pac_parse(&l, in, n, 0), 0);
        CHECK_EQ_INT(l.count, WSPROXY_PAC_MAX_ENTRIES);
        CHECK_EQ_INT(l.skipped, 3);
        CHECK(strcmp(wsproxy_pac_get(&l, WSPROXY_PAC_MAX_ENTRIES - 1, NULL), "http://h15:16") == 0);
    }
    TEST_CASE("pac: URL buffer full");
    {
        char in[4000];
        size_t n = 0, used = 0;
        for (k = 0; k < 10; k++) {
            size_t j;
            n += (size_t)sprintf(in + n, "PROXY ");
            for (j = 0; j < 250; j++) in[n++] = (char)('a' + (k + j) % 26);
            n += (size_t)sprintf(in + n, ":1;");
        }
        CHECK_EQ_INT(wsproxy_pac_parse(&l, in, n, 0), 0);
        for (k = 0; k < l.count; k++) used += strlen(wsproxy_pac_get(&l, k, NULL)) + 1;
        CHECK(used <= WSPROXY_PAC_BUFFER_BYTES);
        CHECK_EQ_INT(l.count, WSPROXY_PAC_BUFFER_BYTES / (7 + 250 + 2 + 1));
        CHECK_EQ_INT(l.count + l.skipped, 10);
        CHECK_EQ_INT(wsproxy_pac_parse(&l, "DIRECT", 6, 0), 0);   /* reuse resets */
        CHECK_EQ_INT(l.count, 1);
        CHECK_EQ_INT(l.skipped, 0);
    }
    TEST_CASE("pac: arguments");
    CHECK_EQ_INT(wsproxy_pac_parse(NULL, "DIRECT", 6, 0), WSPROXY_E_ARGUMENT);
    CHECK_EQ_INT(wsproxy_pac_parse(&l, NULL, 6, 0), WSPROXY_E_ARGUMENT);
    CHECK(wsproxy_pac_get(NULL, 0, &scheme) == NULL);
}

/* ================================================================== error table */
static void test_errors(void)
{
    static const int codes[] = {
        WSPROXY_E_SOCKS_GENERAL_FAILURE, WSPROXY_E_SOCKS_NOT_ALLOWED, WSPROXY_E_SOCKS_NETWORK_UNREACHABLE,
        WSPROXY_E_SOCKS_HOST_UNREACHABLE, WSPROXY_E_SOCKS_CONNECTION_REFUSED, WSPROXY_E_SOCKS_TTL_EXPIRED,
        WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED, WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED,
        WSPROXY_E_SOCKS_UNKNOWN_REPLY, WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD,
        WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, WSPROXY_E_SOCKS_AUTH_FAILED, WSPROXY_E_SOCKS_BAD_VERSION,
        WSPROXY_E_SOCKS_BAD_REPLY, WSPROXY_E_SOCKS4_REJECTED, WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE,
        WSPROXY_E_SOCKS4_IDENTD_MISMATCH, WSPROXY_E_SOCKS4_UNKNOWN_REPLY, WSPROXY_E_SOCKS_NEED_ADDRESS,
        WSPROXY_E_SOCKS4_IPV6, WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG, WSPROXY_E_SOCKS_HOST_TOO_LONG,
        WSPROXY_E_PAC_EMPTY
    };
    size_t i, j, n = sizeof codes / sizeof codes[0];
    for (i = 0; i < n; i++) {
        const char *name = wsproxy_strerror(codes[i]);
        const char *msg = wsproxy_error_message(codes[i]);
        CASE("error %d %s", codes[i], name);
        CHECK(codes[i] >= 300 && codes[i] <= 399);
        CHECK(strncmp(name, "WSPROXY_E_", 10) == 0 && strcmp(name, "WSPROXY_E_UNKNOWN") != 0);
        CHECK(strcmp(msg, "unknown error") != 0 && strlen(msg) > 10);
        for (j = 0; j < i; j++) {
            CHECK(codes[j] != codes[i]);
            CHECK(strcmp(wsproxy_strerror(codes[j]), name) != 0);
            CHECK(strcmp(wsproxy_error_message(codes[j]), msg) != 0);
        }
    }
    TEST_CASE("one error table");
    CHECK(strcmp(wsproxy_strerror(WSPROXY_E_PROXY_AUTH), "WSPROXY_E_PROXY_AUTH") == 0);
    CHECK(strcmp(wsproxy_strerror(399), "WSPROXY_E_UNKNOWN") == 0);
    CHECK(strcmp(wsproxy_strerror(0), "WSPROXY_OK") == 0);
    /* 300 + the SOCKS5 reply code */
    for (i = 1; i <= 8; i++) {
        CASE("SOCKS5 REP %u maps to 30%u", (unsigned)i, (unsigned)i);
        CHECK_EQ_INT(codes[i - 1], 300 + (int)i);
    }
}

int main(void)
{
    test_seed(1);
    test_no_proxy();
    test_env();
    test_socks_cases();
    test_socks_early_errors();
    test_socks_domain_bound();
    test_socks_init_errors();
    test_pac();
    test_errors();
    return test_summary();
}
