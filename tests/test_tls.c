/* TLS in memory: BearSSL server engines play the HTTPS proxy and the wss:// server,
   for every proxy x target cell, with the client's bytes moved whole, one byte at a
   time and in seeded random splits. Certificates come from tests/certs (gen.sh). */
#if !defined(WSPROXY_TLS_OUTPUT_BUFFER_BYTES) && defined(__x86_64__) && !defined(__ILP32__)
#define TEST_README_FIGURES 1   /* default limits: the README's memory table (x86-64) must match */
#endif
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_STATS   /* the copies each cell makes are counted and checked */
#include "../wsproxy.h"
#include "test.h"

#define TEST_DAYS 740347u   /* 1 Jan 2027, days since 1 Jan 0 AD */

static int test_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) dst[i] = (unsigned char)test_rand();
    return 0;
}

#include "tls_server.h"

/* Trust anchors through the library's own PEM loader. */
typedef struct { br_x509_trust_anchor tas[8]; unsigned char mem[8192]; size_t n; } anchors;

static void load_anchors(anchors *a, const char *name)
{
    char path[256];
    size_t len;
    char *pem;
    wsproxy_pem_result r;
    snprintf(path, sizeof path, CERTS "%s.pem", name);
    pem = read_file(path, &len);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, a->tas, 8, a->mem, sizeof a->mem, &r), WSPROXY_OK);
    a->n = r.anchors;
    free(pem);
}

/* ---- the scene: client <-> [proxy] <-> server, all in memory -------------------------- */
typedef struct {
    int proxy;             /* 0 none, 1 http, 2 https */
    int target_tls;
    tls_server ptls, ttls;
    pipe_t c2s, s2c;       /* the client's socket */
    pipe_t p_in, p_out;    /* proxy plaintext */
    int tunnel;
    char connect_head[512];
    pipe_t t_rec_in, t_rec_out;   /* target's wire side */
    pipe_t t_in, t_out;    /* target plaintext */
    int upgraded, closed;
    char request_head[2048];
    char proxy_sni[256], target_sni[256];
} scene;

static scene sc_;

static size_t find_head(const pipe_t *p)
{
    size_t i;
    for (i = 0; i + 3 < p->len; i++)
        if (memcmp(p->buf + i, "\r\n\r\n", 4) == 0) return i + 4;
    return 0;
}

/* The WebSocket server: 101 with a text and a ping in the same write, then echo. */
static void ws_server(scene *s)
{
    if (!s->upgraded) {
        size_t h = find_head(&s->t_in);
        char key[25], accept[29], reply[512];
        const char *k;
        if (!h) return;
        memcpy(s->request_head, s->t_in.buf, h < sizeof s->request_head - 1 ? h : sizeof s->request_head - 1);
        k = strstr(s->request_head, "Sec-WebSocket-Key: ");
        if (!k) return;
        memcpy(key, k + 19, 24);
        key[24] = 0;
        wsproxy_accept_key(key, 24, accept);
        snprintf(reply, sizeof reply, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
        pipe_put(&s->t_out, reply, strlen(reply));
        pipe_put(&s->t_out, "\x81\x05hello\x89\x01p", 10);
        pipe_drop(&s->t_in, h);
        s->upgraded = 1;
    }
    while (s->t_in.len >= 6 && !s->closed) {   /* masked client frames, short ones */
        unsigned char *f = s->t_in.buf, out[130];
        size_t len = f[1] & 127, i;
        int op = f[0] & 15;
        if (len > 125 || s->t_in.len < 6 + len) return;
        for (i = 0; i < len; i++) out[2 + i] = f[6 + i] ^ f[2 + (i & 3)];
        out[0] = (unsigned char)(0x80 | op);
        out[1] = (unsigned char)len;
        if (op == WSPROXY_OP_CLOSE) {
            out[1] = len >= 2 ? 2 : 0;
            pipe_put(&s->t_out, out, 2 + out[1]);
            s->closed = 1;
        } else if (op == WSPROXY_OP_TEXT || op == WSPROXY_OP_BINARY) {
            pipe_put(&s->t_out, out, 2 + len);
        }
        pipe_drop(&s->t_in, 6 + len);
    }
}

static void copy_sni(char *dst, tls_server *t)
{
    const char *n = br_ssl_engine_get_server_name(&t->sc.eng);
    snprintf(dst, 256, "%s", n ? n : "");
}

/* One round of the server side; returns whether anything moved. */
static int server_side(scene *s)
{
    int any = 0, guard;
    for (guard = 0; guard < 64; guard++) {
        int moved = 0;
        pipe_t *wire_in = &s->c2s, *wire_out = &s->s2c;
        if (s->proxy) {
            if (s->proxy == 2) {
                moved |= tls_server_pump(&s->ptls, &s->c2s, &s->s2c, &s->p_in, &s->p_out);
                copy_sni(s->proxy_sni, &s->ptls);
            } else {
                if (s->c2s.len) { pipe_put(&s->p_in, s->c2s.buf, s->c2s.len); s->c2s.len = 0; moved = 1; }
                if (s->p_out.len) { pipe_put(&s->s2c, s->p_out.buf, s->p_out.len); s->p_out.len = 0; moved = 1; }
            }
            if (!s->tunnel) {
                size_t h = find_head(&s->p_in);
                if (h) {
                    memcpy(s->connect_head, s->p_in.buf, h < sizeof s->connect_head - 1 ? h : sizeof s->connect_head - 1);
                    pipe_drop(&s->p_in, h);
                    pipe_put(&s->p_out, "HTTP/1.1 200 Connection established\r\n\r\n", 39);
                    s->tunnel = 1;
                    moved = 1;
                }
            }
            if (s->tunnel) {
                if (s->p_in.len) { pipe_put(&s->t_rec_in, s->p_in.buf, s->p_in.len); s->p_in.len = 0; moved = 1; }
                if (s->t_rec_out.len) { pipe_put(&s->p_out, s->t_rec_out.buf, s->t_rec_out.len); s->t_rec_out.len = 0; moved = 1; }
            }
            wire_in = &s->t_rec_in;
            wire_out = &s->t_rec_out;
        }
        if (!s->proxy || s->tunnel) {
            if (s->target_tls) {
                moved |= tls_server_pump(&s->ttls, wire_in, wire_out, &s->t_in, &s->t_out);
                copy_sni(s->target_sni, &s->ttls);
            } else {
                if (wire_in->len) { pipe_put(&s->t_in, wire_in->buf, wire_in->len); wire_in->len = 0; moved = 1; }
                if (s->t_out.len) { pipe_put(wire_out, s->t_out.buf, s->t_out.len); s->t_out.len = 0; moved = 1; }
            }
            {
                size_t before = s->t_out.len;
                ws_server(s);
                moved |= s->t_out.len != before;
            }
        }
        any |= moved;
        if (!moved) break;
    }
    return any;
}

static wsproxy_client client;
static unsigned char arena[WSPROXY_TLS_ARENA_BYTES(2)];
static char ev_log[2048];

static void log_add(const char *fmt, int num, const char *s, size_t n)
{
    size_t at = strlen(ev_log);
    snprintf(ev_log + at, sizeof ev_log - at, fmt, num, (int)n, s);
}

/* Runs one connection to the end; returns the event log. */
static void run_scene(wsproxy_config *cfg, int mode)
{
    scene *s = &sc_;
    int rounds, sent_text = 0, done = 0;
    unsigned char msg[256];
    size_t msg_len = 0;
    ev_log[0] = 0;
    for (rounds = 0; rounds < 20000 && !done; rounds++) {
        const unsigned char *out;
        size_t n, room;
        unsigned char *in;
        wsproxy_event ev;
        int moved = 0;
        /* client -> network */
        while ((out = wsproxy_send_buf(&client, &n)) != NULL && n) {
            size_t k = n;
            if (mode == 1) k = 1;
            else if (mode == 2) { size_t r = 1 + (size_t)(test_rand() % 300); if (r < k) k = r; }
            pipe_put(&s->c2s, out, k);
            wsproxy_send_ack(&client, k);
            moved = 1;
            if (mode) break;
        }
        moved |= server_side(s);
        /* network -> client */
        if (s->s2c.len && (in = wsproxy_recv_buf(&client, &room)) != NULL && room) {
            size_t k = s->s2c.len < room ? s->s2c.len : room;
            if (mode == 1) k = 1;
            else if (mode == 2) { size_t r = 1 + (size_t)(test_rand() % 300); if (r < k) k = r; }
            memcpy(in, s->s2c.buf, k);
            wsproxy_recv_ack(&client, k);
            pipe_drop(&s->s2c, k);
            moved = 1;
        }
        while (wsproxy_poll(&client, &ev)) {
            moved = 1;
            switch (ev.type) {
            case WSPROXY_EV_TLS: log_add("TLS %d %.*s|", ev.status, ev.protocol, strlen(ev.protocol)); break;
            case WSPROXY_EV_TUNNEL: log_add("TUNNEL %d%.*s|", ev.status, "", 0); break;
            case WSPROXY_EV_OPEN: log_add("OPEN %d%.*s|", ev.status, "", 0); break;
            case WSPROXY_EV_MESSAGE:   /* chunks gathered into whole messages */
                if (ev.first) msg_len = 0;
                if (msg_len + ev.len <= sizeof msg) memcpy(msg + msg_len, ev.data, ev.len);
                msg_len += ev.len;
                if (!ev.fin) break;
                log_add("MSG %d %.*s|", ev.opcode, (const char *)msg, msg_len);
                if (msg_len == 3 && memcmp(msg, "abc", 3) == 0) wsproxy_close(&client, 1000, "done", 4);
                break;
            case WSPROXY_EV_PING: log_add("PING %d%.*s|", (int)ev.len, "", 0); break;
            case WSPROXY_EV_CLOSE: log_add("CLOSE %d%.*s|", ev.close_code, "", 0); done = 1; break;
            case WSPROXY_EV_ERROR: {
                const wsproxy_error_info *e = wsproxy_error_info_get(&client);
                const char *name = wsproxy_strerror(e->code);
                log_add("ERROR %d %.*s|", e->tls_error, name, strlen(name));
                done = 1;
                break;
            }
            default: break;
            }
            if (ev.type == WSPROXY_EV_OPEN && !sent_text) {
                CHECK_EQ_INT(wsproxy_send_text(&client, "abc", 3), WSPROXY_OK);
                sent_text = 1;
            }
        }
        if (!moved && !done) break;
    }
    (void)cfg;
}

static server_cred cred_target, cred_target_ec, cred_proxy, cred_expired, cred_wrongname,
                   cred_untrusted, cred_dns_only, cred_ip_only;
static anchors ta_ca, ta_proxy_ca, ta_untrusted_ca;

typedef struct {
    const char *name;
    const char *url, *proxy;      /* proxy scheme decides the proxy kind */
    server_cred *target_cred, *proxy_cred;
    anchors *target_ta, *proxy_ta;
    int insecure, proxy_insecure;
    const char *expect;           /* event log */
    const char *target_sni, *proxy_sni;
} tls_case;

/* Buffers the cases run with: 0 the built-in ones; 1 the caller's, as small as the
   cells allow (smallest_buffers in tls_server.h). */
static int g_bufmode;

static void run_case(const tls_case *tc)
{
    char logs[3][2048];
    int mode;
    for (mode = 0; mode < 3; mode++) {
        wsproxy_config cfg;
        scene *s = &sc_;
        char name[160];
        unsigned char *rbuf = NULL, *sbuf = NULL;
        wsproxy_stats st;
        int plain_socket = !tc->proxy ? strncmp(tc->url, "wss", 3) != 0 : strncmp(tc->proxy, "https", 5) != 0;
        /* the exact arena on the heap, placed so that the hops end where the allocation
           does (the client aligns the start to 16 bytes): under ASan an overrun crashes */
        size_t need = wsproxy_tls_arena_size(tc->url, tc->proxy);
        unsigned char *heap = (unsigned char *)malloc(need + 1);
        snprintf(name, sizeof name, "%s (%s%s)", tc->name, mode == 0 ? "whole" : mode == 1 ? "byte" : "random",
                 g_bufmode ? ", small caller buffers" : "");
        TEST_CASE(name);
        memset(s, 0, sizeof *s);
        test_seed(99 + (uint64_t)mode);
        memset(&cfg, 0, sizeof cfg);
        cfg.url = tc->url;
        cfg.proxy = tc->proxy;
        cfg.random = test_random;
        cfg.tls_arena = heap + 1;
        cfg.tls_arena_len = need;
        cfg.tls_days = TEST_DAYS;
        if (tc->target_ta) { cfg.trust_anchors = tc->target_ta->tas; cfg.trust_anchors_count = tc->target_ta->n; }
        if (tc->proxy_ta) { cfg.proxy_trust_anchors = tc->proxy_ta->tas; cfg.proxy_trust_anchors_count = tc->proxy_ta->n; }
        cfg.insecure = tc->insecure;
        cfg.proxy_insecure = tc->proxy_insecure;
        if (g_bufmode) smallest_buffers(&cfg, plain_socket, &rbuf, &sbuf);
        s->proxy = !tc->proxy ? 0 : strncmp(tc->proxy, "https", 5) == 0 ? 2 : 1;
        s->target_tls = strncmp(tc->url, "wss", 3) == 0;
        if (s->proxy == 2) tls_server_start(&s->ptls, tc->proxy_cred, 0x51);
        if (s->target_tls) tls_server_start(&s->ttls, tc->target_cred, 0x74);
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
        run_scene(&cfg, mode);
        snprintf(logs[mode], sizeof logs[mode], "%s", ev_log);
        if (strcmp(ev_log, tc->expect) != 0)
            fprintf(stderr, "  [%s]\n  expected: %s\n  got:      %s\n", name, tc->expect, ev_log);
        CHECK(strcmp(ev_log, tc->expect) == 0);
        if (tc->target_sni) CHECK(strcmp(s->target_sni, tc->target_sni) == 0);
        if (tc->proxy_sni) CHECK(strcmp(s->proxy_sni, tc->proxy_sni) == 0);
        /* copies the library made: none where a TLS stage is the socket's or the tunnel
           is plain; TLS inside TLS moves the server's records through the proxy's engine */
        wsproxy_stats_get(&client, &st);
        if (strstr(tc->expect, "OPEN")) {
            CHECK_EQ_INT(st.copied_in_message, 0);
            if (s->proxy == 2 && s->target_tls) CHECK(st.copied_in > 0 && st.copied_out > 0);
            else CHECK(st.copied_in == 0 && st.copied_out == 0);
        }
        if (s->proxy && strstr(tc->expect, "OPEN")) {
            /* the proxy never sees the target's name as SNI, and the target never sees
               proxy credentials */
            CHECK(strstr(s->connect_head, "CONNECT ") == s->connect_head);
            CHECK(strstr(s->request_head, "Proxy-Authorization") == NULL);
        }
        free(heap);
        free(rbuf);
        free(sbuf);
    }
}

static void test_cells(void)
{
    static const char ok_direct[] = "TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_http[] = "TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_ws[] = "TLS 1 http/1.1|TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_https_wss[] = "TLS 1 http/1.1|TUNNEL 200|TLS 2 http/1.1|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    static const char ok_plain_http[] = "TUNNEL 200|OPEN 101|MSG 1 hello|PING 1|MSG 1 abc|CLOSE 1000|";
    char e_untrusted_t[128], e_untrusted_tun[128], e_name_t[128], e_expired_t[128], e_untrusted_p[128],
         e_name_p[128], e_expired_p[128], e_ip_t[128], e_cross_t[128], e_cross_p[128];
    tls_case cases[40];
    int n = 0, i;
    snprintf(e_untrusted_t, sizeof e_untrusted_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_untrusted_tun, sizeof e_untrusted_tun, "TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_name_t, sizeof e_name_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_BAD_SERVER_NAME);
    snprintf(e_expired_t, sizeof e_expired_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_EXPIRED);
    snprintf(e_untrusted_p, sizeof e_untrusted_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_name_p, sizeof e_name_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_BAD_SERVER_NAME);
    snprintf(e_expired_p, sizeof e_expired_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_EXPIRED);
    snprintf(e_ip_t, sizeof e_ip_t, "ERROR %d WSPROXY_E_TLS_TARGET|", BR_ERR_X509_BAD_SERVER_NAME);
    snprintf(e_cross_t, sizeof e_cross_t, "TLS 1 http/1.1|TUNNEL 200|ERROR %d WSPROXY_E_TLS_TUNNEL|", BR_ERR_X509_NOT_TRUSTED);
    snprintf(e_cross_p, sizeof e_cross_p, "ERROR %d WSPROXY_E_TLS_PROXY|", BR_ERR_X509_NOT_TRUSTED);
#define CASE(nm, u, p, tc_, pc_, tta, pta, ins, pins, exp, tsni, psni) \
    do { tls_case c_ = {nm, u, p, tc_, pc_, tta, pta, ins, pins, exp, tsni, psni}; cases[n++] = c_; } while (0)
    /* the cells */
    CASE("wss direct, RSA", "wss://localhost/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "localhost", NULL);
    CASE("wss direct, EC", "wss://localhost/chat", NULL, &cred_target_ec, NULL, &ta_ca, NULL, 0, 0, ok_direct, "localhost", NULL);
    CASE("wss direct to an IP (SAN)", "wss://127.0.0.1/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "", NULL);
    CASE("wss direct to [::1] (SAN)", "wss://[::1]:8443/chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "", NULL);
    CASE("ws via http proxy", "ws://localhost/chat", "http://proxy:3128", NULL, NULL, NULL, NULL, 0, 0, ok_plain_http, NULL, NULL);
    CASE("wss via http proxy", "wss://localhost/chat", "http://proxy:3128", &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_http, "localhost", NULL);
    CASE("ws via https proxy", "ws://localhost/chat", "https://localhost:8443", NULL, &cred_proxy, NULL, &ta_proxy_ca, 0, 0, ok_https_ws, NULL, "localhost");
    CASE("wss via https proxy (TLS in TLS)", "wss://localhost/chat", "https://localhost:8443", &cred_target, &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 0, ok_https_wss, "localhost", "localhost");
    CASE("wss direct, host with a trailing dot", "wss://localhost./chat", NULL, &cred_target, NULL, &ta_ca, NULL, 0, 0, ok_direct, "localhost", NULL);
    CASE("https proxy with a trailing dot", "wss://localhost./chat", "https://localhost.:8443", &cred_target, &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 0, ok_https_wss, "localhost", "localhost");
    CASE("wss via https proxy at an IP", "wss://localhost/chat", "https://127.0.0.1:8443", &cred_target_ec, &cred_proxy, &ta_ca, &ta_proxy_ca, 0, 0, ok_https_wss, "localhost", "");
    /* target hop faults, direct and through the tunnel */
    CASE("target untrusted", "wss://localhost/", NULL, &cred_untrusted, NULL, &ta_ca, NULL, 0, 0, e_untrusted_t, NULL, NULL);
    CASE("target untrusted in tunnel", "wss://localhost/", "http://p:1", &cred_untrusted, NULL, &ta_ca, NULL, 0, 0, e_untrusted_tun, NULL, NULL);
    CASE("target wrong name", "wss://localhost/", NULL, &cred_wrongname, NULL, &ta_ca, NULL, 0, 0, e_name_t, NULL, NULL);
    CASE("target expired", "wss://localhost/", NULL, &cred_expired, NULL, &ta_ca, NULL, 0, 0, e_expired_t, NULL, NULL);
    CASE("target IP not in SAN", "wss://127.0.0.1/", NULL, &cred_dns_only, NULL, &ta_ca, NULL, 0, 0, e_ip_t, NULL, NULL);
    CASE("target IP-only cert", "wss://127.0.0.1/chat", NULL, &cred_ip_only, NULL, &ta_ca, NULL, 0, 0, ok_direct, "", NULL);
    CASE("target DNS name vs IP-only cert", "wss://localhost/", NULL, &cred_ip_only, NULL, &ta_ca, NULL, 0, 0, e_name_t, NULL, NULL);
    CASE("target untrusted, insecure", "wss://localhost/chat", NULL, &cred_untrusted, NULL, &ta_ca, NULL, 1, 0, ok_direct, NULL, NULL);
    CASE("target expired, insecure", "wss://localhost/chat", NULL, &cred_expired, NULL, NULL, NULL, 1, 0, ok_direct, NULL, NULL);
    CASE("target IP mismatch, insecure", "wss://127.0.0.1/chat", NULL, &cred_dns_only, NULL, &ta_ca, NULL, 1, 0, ok_direct, NULL, NULL);
    CASE("target checked with the proxy's CA", "wss://localhost/", "https://localhost:8443", &cred_target, &cred_proxy, &ta_proxy_ca, &ta_proxy_ca, 0, 0, e_cross_t, NULL, NULL);
    /* proxy hop faults: independent of the target's settings */
    CASE("proxy untrusted", "ws://localhost/", "https://localhost:8443", NULL, &cred_untrusted, NULL, &ta_proxy_ca, 0, 0, e_untrusted_p, NULL, NULL);
    CASE("proxy wrong name", "ws://localhost/", "https://localhost:8443", NULL, &cred_wrongname, NULL, &ta_ca, 0, 0, e_name_p, NULL, NULL);
    CASE("proxy expired", "ws://localhost/", "https://localhost:8443", NULL, &cred_expired, NULL, &ta_ca, 0, 0, e_expired_p, NULL, NULL);
    CASE("proxy checked with the target's CA", "wss://localhost/", "https://localhost:8443", &cred_target, &cred_proxy, &ta_ca, &ta_ca, 0, 0, e_cross_p, NULL, NULL);
    CASE("proxy untrusted, proxy_insecure", "wss://localhost/chat", "https://localhost:8443", &cred_target, &cred_untrusted, &ta_ca, NULL, 0, 1, ok_https_wss, NULL, NULL);
    CASE("proxy insecure does not spare the target", "wss://localhost/", "https://localhost:8443", &cred_untrusted, &cred_untrusted, &ta_ca, NULL, 0, 1, e_cross_t, NULL, NULL);
    CASE("target insecure does not spare the proxy", "wss://localhost/", "https://localhost:8443", &cred_untrusted, &cred_untrusted, NULL, &ta_proxy_ca, 1, 0, e_untrusted_p, NULL, NULL);
#undef CASE
    for (g_bufmode = 0; g_bufmode < 2; g_bufmode++)
        for (i = 0; i < n; i++) run_case(&cases[i]);
    g_bufmode = 0;
}

/* Caller mistakes with TLS, before any byte. */
static void test_tls_config(void)
{
    wsproxy_config cfg;
    size_t n;
    TEST_CASE("arena sizes");
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", NULL), 0);
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", "http://p:1"), 0);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", NULL), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "http://p:1"), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "socks5h://p:1"), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("ws://h/", "https://p:1"), WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "https://p:1"), 2 * WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    /* a host given as an IP address keeps the server certificate for the SAN check */
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://10.0.0.1/", NULL), WSPROXY_TLS_ARENA_BYTES(1));
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://[::1]/", "https://10.0.0.1:1"), WSPROXY_TLS_ARENA_BYTES(2));
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://h/", "https://10.0.0.1:1"),
                 WSPROXY_TLS_HOP_BYTES + WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    CHECK_EQ_INT(wsproxy_tls_arena_size("wss://10.0.0.1/", "https://p:1"),
                 WSPROXY_TLS_HOP_BYTES + WSPROXY_TLS_NAMED_HOP_BYTES + 15);
    /* no more than the engines need: the engine, the validator, the buffer, and a few
       words; plus the certificate kept for the IP check only when the host is an IP */
    CHECK(WSPROXY_TLS_NAMED_HOP_BYTES <= sizeof(br_ssl_client_context) + sizeof(br_x509_minimal_context) +
                                         BR_SSL_BUFSIZE_BIDI + sizeof(br_x509_decoder_context) + 128);
    CHECK(sizeof(wsproxy_tls_hop) <= sizeof(br_ssl_client_context) + sizeof(br_x509_minimal_context) +
                                         BR_SSL_BUFSIZE_BIDI + WSPROXY_MAX_CERT_BYTES + 128);
    printf("# bytes per connection: ws %u, wss %u (IP host %u), ws via https proxy %u, wss via https proxy %u\n",
           (unsigned)sizeof(wsproxy_client),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("wss://h/", NULL)),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("wss://10.0.0.1/", NULL)),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("ws://h/", "https://p:1")),
           (unsigned)(sizeof(wsproxy_client) + wsproxy_tls_arena_size("wss://h/", "https://p:1")));

#ifdef TEST_README_FIGURES
    TEST_CASE("README memory table");
    {
        /* the README quotes these figures: keep them true */
        size_t len, i;
        char *readme = read_file("README.md", &len);
        enum { ROWS = 6 };
        unsigned long want[ROWS], got[ROWS][3];
        static const struct { const char *row, *url, *proxy; } rows[ROWS] = {
            {"| ws:// direct, or", "ws://h/", NULL},
            {"| wss:// to a host name, direct or", "wss://h/", NULL},
            {"| wss:// to an IP address, direct or", "wss://10.0.0.1/", NULL},
            {"| ws:// through `https://` |", "ws://h/", "https://p:1"},
            {"| wss:// through `https://` (TLS inside TLS) |", "wss://h/", "https://p:1"},
            {"| wss:// through `https://`, both hosts IP addresses |", "wss://10.0.0.1/", "https://10.0.0.2:1"}};
        for (i = 0; i < ROWS; i++) want[i] = sizeof(wsproxy_client) + wsproxy_tls_arena_size(rows[i].url, rows[i].proxy);
        for (i = 0; i < ROWS; i++) {
            const char *row = strstr(readme, rows[i].row), *p;
            int k;
            CHECK(row != NULL);
            if (!row) continue;
            p = strchr(row + 1, '|');   /* after the cell name: struct | arena | total */
            for (k = 0; k < 3 && p; k++) {
                unsigned long v = 0;
                p++;
                while (*p == ' ') p++;
                while ((*p >= '0' && *p <= '9') || *p == ',') { if (*p != ',') v = v * 10 + (unsigned long)(*p - '0'); p++; }
                got[i][k] = v;
                p = strchr(p, '|');
            }
            CHECK_EQ_INT(got[i][0], sizeof(wsproxy_client));
            CHECK_EQ_INT(got[i][2], want[i]);
            CHECK_EQ_INT(got[i][0] + got[i][1], want[i]);
        }
        free(readme);
    }
#endif

    TEST_CASE("arena missing or small");
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "wss://h/";
    cfg.random = test_random;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_TLS_ARENA);
    CHECK(wsproxy_send_buf(&client, &n) == NULL);
    cfg.tls_arena = arena;
    cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, NULL) - 1;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_TLS_ARENA);
    cfg.url = "wss://127.0.0.1/";   /* an IP host needs the bigger hop */
    cfg.tls_arena_len = wsproxy_tls_arena_size("wss://h/", NULL);
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_TLS_ARENA);
    cfg.url = "wss://h/";
    cfg.proxy = "https://p:1";
    cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, cfg.proxy) - 1;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_TLS_ARENA);
    cfg.tls_arena_len = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    CHECK(wsproxy_send_buf(&client, &n) != NULL && n > 0);   /* a ClientHello */
    CHECK(strcmp(wsproxy_connect_host(&client), "p") == 0);
    CHECK_EQ_INT(wsproxy_connect_port(&client), 1);

    TEST_CASE("a failed init with an https:// proxy produces no byte (no ClientHello)");
    {
        const char *bad_header[] = {"X-Bad: a\r\nInjected: b", NULL};
        cfg.proxy_headers = bad_header;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_HEADER_INVALID);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
        cfg.proxy_headers = NULL;
        cfg.proxy = "https://user:pa%00ss@p:1";
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_URL_USERINFO);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
        cfg.proxy = "https://p:1";
        cfg.recv_buffer = arena;   /* any memory: too small a receive buffer */
        cfg.recv_buffer_len = 16;
        CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_E_BUFFER);
        CHECK(wsproxy_send_buf(&client, &n) == NULL && n == 0);
        cfg.recv_buffer = NULL;
        cfg.recv_buffer_len = 0;
    }
}

/* A server that closes during the handshake, and the describe line. */
static void test_tls_cut(void)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    char msg[256];
    size_t n;
    TEST_CASE("connection closed during the TLS handshake");
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "wss://localhost/";
    cfg.proxy = "http://p:1";
    cfg.random = test_random;
    cfg.tls_arena = arena;
    cfg.tls_arena_len = sizeof arena;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    wsproxy_send_ack(&client, wsproxy_send_buf(&client, &n) ? n : 0);
    wsproxy_feed(&client, "HTTP/1.1 200 OK\r\n\r\n", 19);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_TUNNEL);
    CHECK(wsproxy_send_buf(&client, &n) != NULL && n > 40);   /* the ClientHello, in the tunnel */
    wsproxy_socket_closed(&client, 0);
    CHECK(wsproxy_poll(&client, &ev) && ev.type == WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_TLS_TUNNEL);
    CHECK_EQ_INT(wsproxy_error_info_get(&client)->tls_error, WSPROXY_TLS_ERR_CLOSED);
    wsproxy_describe(&client, msg, sizeof msg);
    CHECK(strstr(msg, "WSPROXY_E_TLS_TUNNEL") && strstr(msg, "closed during the TLS handshake"));

    TEST_CASE("bytes with the 200 go to the server's TLS engine");
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    wsproxy_send_ack(&client, wsproxy_send_buf(&client, &n) ? n : 0);
    wsproxy_feed(&client, "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n", 55);
    while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR)
        CHECK(ev.type == WSPROXY_EV_TUNNEL);   /* never OPEN: those bytes are not plaintext */
    while (wsproxy_send_buf(&client, &n) && n) wsproxy_send_ack(&client, n);
    while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_TLS_TUNNEL);

    TEST_CASE("garbage instead of TLS");
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    cfg.proxy = NULL;
    CHECK_EQ_INT(wsproxy_init(&client, &cfg), WSPROXY_OK);
    wsproxy_feed(&client, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
    while (wsproxy_poll(&client, &ev) && ev.type != WSPROXY_EV_ERROR) {}
    CHECK_EQ_INT(ev.type, WSPROXY_EV_ERROR);
    CHECK_EQ_INT(wsproxy_error(&client), WSPROXY_E_TLS_TARGET);
    CHECK(wsproxy_error_info_get(&client)->tls_error != 0);
}

/* The pure functions: PEM bundles and the iPAddress SAN. */
static void test_pem_and_san(void)
{
    size_t len;
    char *pem = read_file(CERTS "target-chain.pem", &len);
    br_x509_trust_anchor tas[4];
    unsigned char mem[4096];
    wsproxy_pem_result r;
    blob der[4];
    unsigned char v4[4] = {127, 0, 0, 1}, v4b[4] = {127, 0, 0, 2}, v6[16] = {0};
    TEST_CASE("PEM sizes first, then fill");
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r), WSPROXY_E_PEM_SPACE);
    CHECK_EQ_INT(r.anchors, 2);
    CHECK(r.bytes_needed > 0 && r.bytes_needed < sizeof mem);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 2, mem, r.bytes_needed, &r), WSPROXY_OK);
    CHECK(tas[0].dn.data >= mem && tas[0].dn.data + tas[0].dn.len <= mem + r.bytes_needed);
    CHECK_EQ_INT(tas[0].flags & BR_X509_TA_CA, 0);                 /* the leaf */
    CHECK_EQ_INT(tas[1].flags & BR_X509_TA_CA, BR_X509_TA_CA);     /* the CA */
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 1, mem, sizeof mem, &r), WSPROXY_E_PEM_SPACE);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 2, mem, r.bytes_needed - 1, &r), WSPROXY_E_PEM_SPACE);
    TEST_CASE("PEM errors");
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len / 2, tas, 2, mem, sizeof mem, &r), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58,
                                           tas, 2, mem, sizeof mem, &r), WSPROXY_E_PEM_SYNTAX);
    CHECK_EQ_INT(wsproxy_pem_trust_anchors("no pem here\n", 12, tas, 2, mem, sizeof mem, &r), WSPROXY_OK);
    CHECK_EQ_INT(r.anchors, 0);
    free(pem);
    pem = read_file(CERTS "target.key", &len);   /* a key, not a certificate: ignored */
    CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, tas, 2, mem, sizeof mem, &r), WSPROXY_OK);
    CHECK_EQ_INT(r.anchors, 0);
    free(pem);
    {
        FILE *f = fopen("/etc/ssl/certs/ca-certificates.crt", "rb");
        if (f) {   /* the system bundle, when the machine has one */
            br_x509_trust_anchor *many;
            unsigned char *m;
            fclose(f);
            TEST_CASE("system bundle");
            pem = read_file("/etc/ssl/certs/ca-certificates.crt", &len);
            CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r), WSPROXY_E_PEM_SPACE);
            CHECK(r.anchors > 50);
            many = (br_x509_trust_anchor *)malloc(r.anchors * sizeof *many);
            m = (unsigned char *)malloc(r.bytes_needed);
            CHECK_EQ_INT(wsproxy_pem_trust_anchors(pem, len, many, r.anchors, m, r.bytes_needed, &r), WSPROXY_OK);
            free(many); free(m); free(pem);
        }
    }
    TEST_CASE("iPAddress SAN");
    pem_objects(CERTS "target.pem", der, 2);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 4), 1);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4b, 4), 0);
    v6[15] = 1;
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v6, 16), 1);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 3), -1);
    {
        size_t cut;
        int bad = 0;
        for (cut = 0; cut < der[0].len; cut++)   /* every truncation is malformed or no match */
            bad |= wsproxy_cert_ip_match(der[0].data, cut, v4, 4) == 1;
        CHECK(!bad);
    }
    free(der[0].data);
    pem_objects(CERTS "dns-only.pem", der, 2);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 4), 0);
    free(der[0].data);
    pem_objects(CERTS "ip-only.pem", der, 2);
    CHECK_EQ_INT(wsproxy_cert_ip_match(der[0].data, der[0].len, v4, 4), 1);
    free(der[0].data);
    CHECK(strcmp(wsproxy_tls_reason(BR_ERR_X509_NOT_TRUSTED), "certificate not trusted") == 0);
    CHECK(strcmp(wsproxy_tls_reason(BR_ERR_X509_EXPIRED), "certificate expired or not yet valid") == 0);
    CHECK(strcmp(wsproxy_tls_reason(BR_ERR_X509_BAD_SERVER_NAME), "certificate name mismatch") == 0);
}

int main(void)
{
    load_cred(&cred_target, "target", BR_KEYTYPE_RSA);
    load_cred(&cred_target_ec, "target-ec", BR_KEYTYPE_RSA);
    load_cred(&cred_proxy, "proxy", BR_KEYTYPE_EC);
    load_cred(&cred_expired, "expired", BR_KEYTYPE_RSA);
    load_cred(&cred_wrongname, "wrongname", BR_KEYTYPE_RSA);
    load_cred(&cred_untrusted, "untrusted", BR_KEYTYPE_RSA);
    load_cred(&cred_dns_only, "dns-only", BR_KEYTYPE_RSA);
    load_cred(&cred_ip_only, "ip-only", BR_KEYTYPE_RSA);
    load_anchors(&ta_ca, "ca");
    load_anchors(&ta_proxy_ca, "proxy-ca");
    load_anchors(&ta_untrusted_ca, "untrusted-ca");
    test_tls_config();
    test_pem_and_san();
    test_tls_cut();
    test_cells();
    return test_summary();
}
