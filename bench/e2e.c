/* bench/e2e.c: rows 4, 5 and 7 of `make bench`, over loopback against the test peers.
     e2e ARGS [e2e] [tls] [handshake]
   ARGS: --echo PORT --echo-tls PORT --proxy PORT --proxy-tls PORT --certs DIR
         --echo-tls-log FILE --proxy-tls-log FILE (the TLS peers' --log: what each
         handshake negotiated, compared between the clients of rows 5 and 7)
   Every client runs in this one process, one after the other inside each repetition,
   but libwebsockets, which runs in a child process (run_lws_apart); the CPU time (user +
   system of the process) over the message phase is the measure.
   Before the timed runs each client echoes a few messages with every byte compared. */
#define _POSIX_C_SOURCE 200809L
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "e2e.h"

static int echo_port, echo_tls_port, proxy_port, proxy_tls_port;
static const char *certs = "tests/certs";

/* ---- what each TLS hop negotiated, from the peers' logs ------------------------------
   The TLS peers log after every handshake "=== suite: 0xC02F" and "=== kex: curve 29,
   signature 0x0401" (or "=== kex: none": resumed). Runs go one at a time, so what a log
   gained during a run is that run's handshake on that hop. Rows 5 and 7 compare the
   wsproxy.h client with bare BearSSL engines: they must agree on all three, every run
   (else BENCH_FAIL), and the row prints them. */
typedef struct { unsigned suite, curve, sig; } kex_t;   /* curve 0, sig 0: no key exchange */
static const char *hs_log_[2];   /* [0] the https:// proxy's log, [1] the wss:// server's */
static long hs_off_[2];

/* reads what log `hop` gained since the last call: the number of handshakes and the
   last one's values */
static int log_gained_(int hop, kex_t *k)
{
    FILE *f;
    char line[512];
    int n = 0;
    if (!hs_log_[hop]) return -1;
    f = fopen(hs_log_[hop], "r");
    if (!f) BENCH_FAIL("cannot read %s", hs_log_[hop]);
    if (fseek(f, hs_off_[hop], SEEK_SET) != 0) BENCH_FAIL("cannot seek in %s", hs_log_[hop]);
    while (fgets(line, sizeof line, f)) {
        unsigned a, b;
        if (!strchr(line, '\n')) break;   /* a line being written: read it next time */
        hs_off_[hop] = ftell(f);
        if (sscanf(line, "=== suite: 0x%x", &a) == 1) {
            n++;
            memset(k, 0, sizeof *k);
            k->suite = a;
        } else if (sscanf(line, "=== kex: curve %u, signature 0x%x", &a, &b) == 2) {
            k->curve = a;
            k->sig = b;
        }
    }
    fclose(f);
    return n;
}

/* after a run of `who` in cfg's cell: what each of its TLS hops negotiated, from the
   peers' logs; exactly one handshake per hop, and the suite the client reports must be
   the one the server logged (and the bare engines' curve the server's) */
static void negotiated(const char *who, const e2e_cfg *cfg, const e2e_res *res, kex_t out[2])
{
    int hop;
    memset(out, 0, 2 * sizeof out[0]);
    for (hop = 0; hop < 2; hop++) {
        int used = hop ? cfg->tls : cfg->proxy == HOP_HTTPS, n = 0, tries;
        kex_t k;
        memset(&k, 0, sizeof k);
        if (!hs_log_[hop]) continue;
        for (tries = 0; tries < 200; tries++) {   /* the peer writes its line a moment after */
            kex_t t;
            int g = log_gained_(hop, &t);
            if (g > 0) k = t;
            n += g;
            if (n >= used) break;
            { struct timespec ts = {0, 1000000}; nanosleep(&ts, NULL); }
        }
        if (n != used)
            BENCH_FAIL("%s: the %s's log has %d handshakes for one run (tls %d proxy %d)", who,
                       hop ? "wss:// server" : "https:// proxy", n, cfg->tls, cfg->proxy);
        if (!used) continue;
        if (res->suite[hop] != k.suite)
            BENCH_FAIL("%s: the client reports suite 0x%04X on the %s hop, the peer logged 0x%04X", who,
                       res->suite[hop], hop ? "server" : "proxy", k.suite);
        if (res->curve[hop] && res->curve[hop] != k.curve)
            BENCH_FAIL("%s: the client reports curve %u on the %s hop, the peer logged %u", who, res->curve[hop],
                       hop ? "server" : "proxy", k.curve);
        out[hop] = k;
    }
}

static int kex_same(const kex_t a[2], const kex_t b[2]) { return memcmp(a, b, 2 * sizeof a[0]) == 0; }

static const char *suite_name(unsigned s)
{
    switch (s) {
    case 0xC02B: return "ECDHE_ECDSA_AES_128_GCM_SHA256";
    case 0xC02F: return "ECDHE_RSA_AES_128_GCM_SHA256";
    case 0xC02C: return "ECDHE_ECDSA_AES_256_GCM_SHA384";
    case 0xC030: return "ECDHE_RSA_AES_256_GCM_SHA384";
    case 0xCCA9: return "ECDHE_ECDSA_CHACHA20_POLY1305";
    case 0xCCA8: return "ECDHE_RSA_CHACHA20_POLY1305";
    default: return "?";
    }
}
static const char *curve_name(unsigned c)
{
    return c == 29 ? "x25519" : c == 23 ? "secp256r1" : c == 24 ? "secp384r1" : c == 25 ? "secp521r1" : "?";
}
static const char *sig_name(unsigned s)
{
    switch (s) {
    case 0x0401: return "rsa_pkcs1_sha256";
    case 0x0501: return "rsa_pkcs1_sha384";
    case 0x0601: return "rsa_pkcs1_sha512";
    case 0x0403: return "ecdsa_secp256r1_sha256";
    case 0x0503: return "ecdsa_secp384r1_sha384";
    case 0x0603: return "ecdsa_secp521r1_sha512";
    default: return "?";
    }
}

/* "proxy hop SUITE (0x..), CURVE, SIG; server hop ..." for the hops the cell has */
static const char *kex_str(const kex_t k[2])
{
    static char ring[4][320];
    static int at;
    char *s = ring[at++ & 3];
    size_t n = 0;
    int hop;
    s[0] = 0;
    for (hop = 0; hop < 2; hop++) {
        if (!k[hop].suite) continue;
        n += (size_t)snprintf(s + n, 320 - n, "%s%s hop %s (0x%04X), ", n ? "; " : "", hop ? "server" : "proxy",
                              suite_name(k[hop].suite), k[hop].suite);
        if (k[hop].curve)
            n += (size_t)snprintf(s + n, 320 - n, "%s, %s", curve_name(k[hop].curve), sig_name(k[hop].sig));
        else
            n += (size_t)snprintf(s + n, 320 - n, "resumed, no key exchange");
    }
    return s;
}

static long count_for(size_t size, int tls)
{
    long n = size <= 16 ? 20000 : size <= 4096 ? 12000 : 1500;
    if (tls) n = size <= 16 ? 12000 : size <= 4096 ? 6000 : 1200;
    if (bench_quick()) n /= 4;
    return n;
}

typedef int (*runner)(const e2e_cfg *, e2e_res *);

/* the library given 256 KiB buffers each way at run time (no rebuild) */
static int run_wsproxy_256k(const e2e_cfg *cfg, e2e_res *res)
{
    e2e_cfg c = *cfg;
    c.recv_buffer = c.send_buffer = 256 * 1024;
    return run_wsproxy(&c, res);
}
/* ... and the smallest buffers the cell allows (row 6's figures): a 256-byte receive
   buffer, and no send buffer when a TLS stage is the socket's (wss:// direct, https://
   proxy), else a 256-byte one */
static int run_wsproxy_min(const e2e_cfg *cfg, e2e_res *res)
{
    e2e_cfg c = *cfg;
    c.recv_buffer = 256;
    if ((c.tls && c.proxy == HOP_NONE) || c.proxy == HOP_HTTPS) c.no_send_buffer = 1;
    else c.send_buffer = 256;
    return run_wsproxy(&c, res);
}

/* libwebsockets runs in a child process, so that nothing it leaves in a process (what
   it is was not found) reaches the clients measured after it: in this process, once it
   had run, the wsproxy.h client's 64 KiB echo through the proxy cost about 30% more CPU
   for the rest of the process, and the floor's did not. The child's CPU clock measures
   the run as it would in this process. */
static int run_lws_apart(const e2e_cfg *cfg, e2e_res *res)
{
    int fds[2], status;
    size_t got = 0;
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) return -1;
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        e2e_res r;
        close(fds[0]);
        if (run_lws(cfg, &r) != 0 || write(fds[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
        _exit(0);
    }
    close(fds[1]);
    while (got < sizeof *res) {
        ssize_t n = read(fds[0], (char *)res + got, sizeof *res - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != sizeof *res)
        return -1;
    return 0;
}

static void verify(const char *name, runner run, e2e_cfg cfg, kex_t kex[2])
{
    e2e_res r;
    cfg.verify = 1;
    cfg.count = 3 * cfg.window + 5;
    if (run(&cfg, &r) != 0) BENCH_FAIL("%s: echo run failed (tls %d proxy %d size %zu)", name, cfg.tls, cfg.proxy, cfg.size);
    negotiated(name, &cfg, &r, kex);
}

static double mv[8][64];
static int mreps;
static kex_t mkex[8][2];

/* row 5: every client negotiated what client `ref` (the bare engines) did */
static void same_kex(int n, const char **names, int ref)
{
    int k;
    for (k = 0; k < n; k++)
        if (!kex_same(mkex[k], mkex[ref]))
            BENCH_FAIL("%s negotiated %s, %s %s: not the same TLS work", names[k], kex_str(mkex[k]), names[ref],
                       kex_str(mkex[ref]));
}

/* connections per repetition (BENCH_CONNS, default 4): a connection's CPU per message
   varies from one connection to the next far more than within one (how the kernel
   happens to batch its segments and wake-ups on loopback lasts as long as the
   connection), so each repetition spreads its messages over several connections */
static int bench_conns(void)
{
    const char *e = getenv("BENCH_CONNS");
    int n = e ? atoi(e) : 0;
    if (n <= 0) n = 4;
    return n > 16 ? 16 : n;
}

/* runs the clients in turn, reps times, each repetition on bench_conns() connections per
   client (the clients' connections interleaved); median CPU seconds per message. mkex[k]:
   what client k's TLS hops negotiated, the same in every one of its runs and, unless
   ref < 0, the same as client ref's */
static void measure(int n, runner *run, const char **names, const e2e_cfg *cfg, double *per_msg, int ref)
{
    int reps = bench_reps(), conns = bench_conns(), r, k, j;
    e2e_cfg one = *cfg;
    one.count = cfg->count / conns > 2 * cfg->window ? cfg->count / conns : 2 * cfg->window;
    for (k = 0; k < n; k++) verify(names[k], run[k], *cfg, mkex[k]);
    if (ref >= 0) same_kex(n, names, ref);   /* before any timed run */
    for (r = 0; r < reps; r++) {
        double cpu[8] = {0};
        for (j = 0; j < conns; j++)
            for (k = 0; k < n; k++) {
                e2e_res res;
                kex_t kx[2];
                if (run[k](&one, &res) != 0) BENCH_FAIL("%s: run failed", names[k]);
                if (getenv("BENCH_DEBUG"))   /* each run's figures, to see where a median came from */
                    fprintf(stderr, "    %s: %.2f us/msg CPU, %.2f us/msg wall\n", names[k], res.cpu / (double)one.count * 1e6,
                            res.wall / (double)one.count * 1e6);
                negotiated(names[k], &one, &res, kx);
                if (!kex_same(kx, mkex[k])) BENCH_FAIL("%s: negotiated %s, then %s", names[k], kex_str(mkex[k]), kex_str(kx));
                cpu[k] += res.cpu;
            }
        for (k = 0; k < n; k++) mv[k][r] = cpu[k] / ((double)one.count * conns);
    }
    for (k = 0; k < n; k++) per_msg[k] = median(mv[k], reps);
    mreps = reps;
}

/* CPU of client a over client b: the median of the per-repetition ratios (the two ran
   back to back, so a change of load on this shared machine hits both alike) */
static double cost_ratio(int a, int b)
{
    double q[64];
    int r;
    for (r = 0; r < mreps; r++) q[r] = mv[a][r] / mv[b][r];
    return median(q, mreps);
}

static e2e_cfg base_cfg(int tls, int proxy, size_t size, int window)
{
    e2e_cfg c;
    memset(&c, 0, sizeof c);
    c.tls = tls;
    c.proxy = proxy;
    c.server_port = tls ? echo_tls_port : echo_port;
    c.proxy_port = proxy == HOP_HTTPS ? proxy_tls_port : proxy_port;
    c.size = size;
    c.window = window;
    c.count = count_for(size, tls || proxy == HOP_HTTPS);
    c.certs = certs;
    return c;
}

/* BENCH_ONLY=TEXT: only the cells of rows 4 and 5 whose name holds TEXT (to profile one;
   a TLS-in-TLS cell of row 5 runs with its direct cell, its ratio needs it) */
static int wanted_(const char *name)
{
    const char *only = getenv("BENCH_ONLY");
    return !only || !*only || strstr(name, only) != NULL;
}
static int single_done_[3][2];

static const size_t SIZES[3] = {16, 4096, 65536};
static const int WINDOWS[2] = {1, 16};

static void row4(void)
{
    int p, s, w;
    for (p = 0; p < 2; p++)
        for (s = 0; s < 3; s++)
            for (w = 0; w < 2; w++) {
                e2e_cfg cfg = base_cfg(0, p ? HOP_HTTP : HOP_NONE, SIZES[s], WINDOWS[w]);
                runner run[4] = {run_wsproxy_256k, run_floor, run_wsproxy, run_lws_apart};
                const char *names[4] = {"wsproxy-256k", "floor", "wsproxy", "libwebsockets"};
                double t[4], r;
                char name[96], v1[48], v2[48];
                snprintf(name, sizeof name, "echo %s, %d in flight, %s", fmt_size(SIZES[s]), WINDOWS[w],
                         p ? "via http proxy" : "direct");
                if (!wanted_(name)) continue;
                fprintf(stderr, "  echo %s, %d in flight, %s\n", fmt_size(SIZES[s]), WINDOWS[w], p ? "http proxy" : "direct");
                measure(4, run, names, &cfg, t, -1);
                snprintf(v1, sizeof v1, "%s/msg", fmt_us(t[0]));
                snprintf(v2, sizeof v2, "%s/msg", fmt_us(t[1]));
                r = cost_ratio(0, 1);
                row_out("4 e2e CPU", name, v1, "floor (no library)", v2, r, "<=1.15", at_most(r, 1.15));
                snprintf(v1, sizeof v1, "%s/msg", fmt_us(t[2]));
                row_out("4 e2e CPU", "  built-in 16 KiB buffers", v1, "floor (no library)", v2, cost_ratio(2, 1), "", "");
                snprintf(v1, sizeof v1, "%s/msg", fmt_us(t[0]));
                snprintf(v2, sizeof v2, "%s/msg", fmt_us(t[3]));
                row_out("4 e2e CPU", "  same, beside libwebsockets", v1, "libwebsockets 4.1", v2, cost_ratio(0, 3), "", "");
            }
}

static void row5(void)
{
    int p, s, w;
    double single[3][2][2];   /* [size][window][ours, raw] for TLS inside TLS */
    for (p = 0; p < 2; p++)
        for (s = 0; s < 3; s++)
            for (w = 0; w < 2; w++) {
                e2e_cfg cfg = base_cfg(1, p ? HOP_HTTPS : HOP_NONE, SIZES[s], WINDOWS[w]);
                runner run[4] = {run_wsproxy_256k, run_floor, run_wsproxy, run_wsproxy_min};
                const char *names[4] = {"wsproxy-256k", "bearssl", "wsproxy", "wsproxy-min"};
                double t[4], r;
                char name[96], v1[48], v2[48];
                snprintf(name, sizeof name, "wss echo %s, %d in flight, %s", fmt_size(SIZES[s]), WINDOWS[w],
                         p ? "via https proxy (TLS in TLS)" : "direct");
                {   /* a direct cell runs for its TLS-in-TLS cell too: that ratio needs it */
                    char in_tls[96];
                    snprintf(in_tls, sizeof in_tls, "wss echo %s, %d in flight, via https proxy (TLS in TLS)",
                             fmt_size(SIZES[s]), WINDOWS[w]);
                    if (p ? !wanted_(name) || !single_done_[s][w] : !wanted_(name) && !wanted_(in_tls)) continue;
                }
                fprintf(stderr, "  wss echo %s, %d in flight, %s\n", fmt_size(SIZES[s]), WINDOWS[w], p ? "https proxy" : "direct");
                measure(4, run, names, &cfg, t, 1);
                snprintf(v1, sizeof v1, "%s/msg", fmt_us(t[0]));
                snprintf(v2, sizeof v2, "%s/msg", fmt_us(t[1]));
                r = cost_ratio(0, 1);
                row_out("5 TLS CPU", name, v1, "bare BearSSL, same bytes", v2, r, "<=1.05", at_most(r, 1.05));
                snprintf(v1, sizeof v1, "%s/msg", fmt_us(t[2]));
                row_out("5 TLS CPU", "  built-in 16 KiB buffers", v1, "bare BearSSL, same bytes", v2, cost_ratio(2, 1), "", "");
                snprintf(v1, sizeof v1, "%s/msg", fmt_us(t[3]));
                row_out("5 TLS CPU", "  smallest buffers (256 B receive, no send buffer)", v1, "bare BearSSL, same bytes", v2,
                        cost_ratio(3, 1), "", "");
                row_out("5 TLS CPU", "  negotiated, every run of every client (the peers' logs)",
                        kex_str(mkex[0]), "bare BearSSL", kex_str(mkex[1]), 0, "", "same");
                if (!p) {
                    single[s][w][0] = t[0];
                    single[s][w][1] = t[1];
                    single_done_[s][w] = 1;
                } else {
                    double q = t[0] / single[s][w][0];
                    snprintf(name, sizeof name, "  TLS in TLS / TLS, %s, %d in flight", fmt_size(SIZES[s]), WINDOWS[w]);
                    snprintf(v1, sizeof v1, "%.2fx CPU", q);
                    snprintf(v2, sizeof v2, "%.2fx CPU", t[1] / single[s][w][1]);
                    row_out("5 TLS CPU", name, v1, "bare BearSSL's own ratio", v2, q / (t[1] / single[s][w][1]),
                            "ours<=2.1x", q <= 2.1 ? "met" : "MISSED");
                }
            }
}

static void row7(void)
{
    static const struct { int tls, proxy; const char *name; } cells[6] = {
        {0, HOP_NONE, "ws://, direct"}, {1, HOP_NONE, "wss://, direct"},
        {0, HOP_HTTP, "ws://, http proxy"}, {1, HOP_HTTP, "wss://, http proxy"},
        {0, HOP_HTTPS, "ws://, https proxy"}, {1, HOP_HTTPS, "wss://, https proxy"},
    };
    int k;
    for (k = 0; k < 6; k++) {
        e2e_cfg cfg = base_cfg(cells[k].tls, cells[k].proxy, 16, 1);
        e2e_res a, b;
        int theory = 1 + 2 * (cells[k].tls + (cells[k].proxy == HOP_HTTPS)) + (cells[k].proxy != HOP_NONE) + 1;
        char name[96], v1[64], v2[96];
        kex_t ka[2], kb[2];
        cfg.count = 0;
        if (run_wsproxy(&cfg, &a) != 0) BENCH_FAIL("wsproxy handshake %s", cells[k].name);
        negotiated("wsproxy", &cfg, &a, ka);
        if (run_floor(&cfg, &b) != 0) BENCH_FAIL("floor handshake %s", cells[k].name);
        negotiated("bare BearSSL", &cfg, &b, kb);
        if (!kex_same(ka, kb))
            BENCH_FAIL("handshake %s: wsproxy negotiated %s, bare BearSSL %s", cells[k].name, kex_str(ka), kex_str(kb));
        if (b.hs_flights + 1 != theory) BENCH_FAIL("floor took %d round trips for %s, theory %d", b.hs_flights + 1, cells[k].name, theory);
        snprintf(name, sizeof name, "handshake %s", cells[k].name);
        snprintf(v1, sizeof v1, "%d RTT, %zu B out", a.hs_flights + 1, a.hs_bytes);
        snprintf(v2, sizeof v2, "%d RTT, %zu B out", theory, b.hs_bytes);
        row_out("7 handshake", name, v1, "minimum (TCP+TLS1.2 full+CONNECT+upgrade; no-library bytes)", v2,
                (double)a.hs_bytes / (double)b.hs_bytes, "", a.hs_flights + 1 == theory ? "RTT=min" : "RTT>min");
        if (cells[k].tls || cells[k].proxy == HOP_HTTPS)
            row_out("7 handshake", "  negotiated (the peers' logs)", kex_str(ka), "bare BearSSL", kex_str(kb), 0, "", "same");
    }
}

/* Row 7, resumption: for each TLS hop, a handshake that resumes the session an earlier
   connection kept (wsproxy_tls_session_get, then tls.resume / proxy_tls.resume; the
   peers keep sessions in BearSSL's LRU cache) beside a full one by the same client.
   Per repetition: one full handshake keeps fresh sessions (not timed), then 12 (4 with
   BENCH_QUICK) full and 12 resumed handshakes alternate, and bare BearSSL engines
   resume their own session beside them; every handshake must resume exactly the hops asked for.
   CPU = this process from before the client's init to the first message it may send. */
static void row7_resume(void)
{
    static const struct { int tls, proxy, rp, rs; const char *name; } cells[6] = {
        {1, HOP_NONE, 0, 1, "wss://, direct: server hop"},
        {1, HOP_HTTP, 0, 1, "wss://, http proxy: server hop (in the tunnel)"},
        {0, HOP_HTTPS, 1, 0, "ws://, https proxy: proxy hop"},
        {1, HOP_HTTPS, 1, 0, "wss://, https proxy (TLS in TLS): proxy hop"},
        {1, HOP_HTTPS, 0, 1, "wss://, https proxy (TLS in TLS): server hop"},
        {1, HOP_HTTPS, 1, 1, "wss://, https proxy (TLS in TLS): both hops"},
    };
    int reps = bench_reps(), per = bench_quick() ? 4 : 12, k, r, i;
    for (k = 0; k < 6; k++) {
        e2e_cfg cfg = base_cfg(cells[k].tls, cells[k].proxy, 16, 1);
        br_ssl_session_parameters wsp[2], bare[2];   /* [proxy hop, server hop] */
        double full[64], res[64], raw[64], q[64], q2[64], f_m, r_m, b_m;
        e2e_res a, b, c;
        int hops_full = (cells[k].tls && !cells[k].rs) + (cells[k].proxy == HOP_HTTPS && !cells[k].rp);
        int theory = 1 + 2 * hops_full + cells[k].rp + cells[k].rs + (cells[k].proxy != HOP_NONE) + 1;
        int theory_full = 1 + 2 * (cells[k].tls + (cells[k].proxy == HOP_HTTPS)) + (cells[k].proxy != HOP_NONE) + 1;
        char name[128], v1[96], v2[96];
        kex_t kf[2], kfb[2], kr[2], krb[2], kx[2];   /* full: wsproxy, bare; resumed: wsproxy, bare */
        cfg.count = 0;
        fprintf(stderr, "  resumed handshake %s\n", cells[k].name);
        for (r = 0; r < reps; r++) {
            double sf = 0, sr = 0, sb = 0;
            /* fresh sessions for this repetition, from full handshakes */
            cfg.resume_proxy = cfg.resume_server = NULL;
            cfg.save_proxy = &wsp[0];
            cfg.save_server = &wsp[1];
            if (run_wsproxy(&cfg, &a) != 0) BENCH_FAIL("wsproxy: full handshake %s", cells[k].name);
            negotiated("wsproxy", &cfg, &a, kf);
            cfg.save_proxy = &bare[0];
            cfg.save_server = &bare[1];
            if (run_floor(&cfg, &b) != 0) BENCH_FAIL("bare BearSSL: full handshake %s", cells[k].name);
            negotiated("bare BearSSL", &cfg, &b, kfb);
            if (!kex_same(kf, kfb))
                BENCH_FAIL("%s: full handshakes: wsproxy negotiated %s, bare BearSSL %s", cells[k].name, kex_str(kf), kex_str(kfb));
            /* a resumed hop keeps its full handshake's suite and has no key exchange */
            memcpy(kr, kf, sizeof kr);
            if (cells[k].rp) kr[0].curve = kr[0].sig = 0;
            if (cells[k].rs) kr[1].curve = kr[1].sig = 0;
            cfg.save_proxy = cfg.save_server = NULL;
            for (i = 0; i < per; i++) {
                cfg.resume_proxy = cfg.resume_server = NULL;
                if (run_wsproxy(&cfg, &a) != 0) BENCH_FAIL("wsproxy: full handshake %s", cells[k].name);
                negotiated("wsproxy", &cfg, &a, kx);
                if (!kex_same(kx, kf)) BENCH_FAIL("wsproxy: %s: full handshake negotiated %s, then %s", cells[k].name, kex_str(kf), kex_str(kx));
                if (a.resumed_proxy || a.resumed_server) BENCH_FAIL("wsproxy: %s resumed with no session offered", cells[k].name);
                if (a.hs_flights + 1 != theory_full) BENCH_FAIL("wsproxy: full handshake %s took %d RTT", cells[k].name, a.hs_flights + 1);
                sf += a.hs_cpu;
                cfg.resume_proxy = cells[k].rp ? &wsp[0] : NULL;
                cfg.resume_server = cells[k].rs ? &wsp[1] : NULL;
                if (run_wsproxy(&cfg, &b) != 0) BENCH_FAIL("wsproxy: resumed handshake %s", cells[k].name);
                negotiated("wsproxy (resumed)", &cfg, &b, kx);
                if (!kex_same(kx, kr)) BENCH_FAIL("wsproxy: %s resumed: negotiated %s, want %s", cells[k].name, kex_str(kx), kex_str(kr));
                if (b.resumed_proxy != cells[k].rp || b.resumed_server != cells[k].rs)
                    BENCH_FAIL("wsproxy: %s: resumed proxy hop %d, server hop %d; wanted %d, %d", cells[k].name,
                               b.resumed_proxy, b.resumed_server, cells[k].rp, cells[k].rs);
                sr += b.hs_cpu;
                cfg.resume_proxy = cells[k].rp ? &bare[0] : NULL;
                cfg.resume_server = cells[k].rs ? &bare[1] : NULL;
                if (run_floor(&cfg, &c) != 0) BENCH_FAIL("bare BearSSL: resumed handshake %s", cells[k].name);
                negotiated("bare BearSSL (resumed)", &cfg, &c, krb);
                if (!kex_same(krb, kr))
                    BENCH_FAIL("bare BearSSL: %s resumed: negotiated %s, wsproxy %s", cells[k].name, kex_str(krb), kex_str(kr));
                if (c.resumed_proxy != cells[k].rp || c.resumed_server != cells[k].rs)
                    BENCH_FAIL("bare BearSSL: %s did not resume as asked", cells[k].name);
                if (c.hs_flights + 1 != theory)
                    BENCH_FAIL("bare BearSSL took %d round trips for the resumed %s, theory %d", c.hs_flights + 1, cells[k].name, theory);
                sb += c.hs_cpu;
            }
            full[r] = sf / per;
            res[r] = sr / per;
            raw[r] = sb / per;
            q[r] = res[r] / full[r];
            q2[r] = res[r] / raw[r];
        }
        f_m = median(full, reps);
        r_m = median(res, reps);
        b_m = median(raw, reps);
        snprintf(name, sizeof name, "resumed handshake %s", cells[k].name);
        snprintf(v1, sizeof v1, "%d RTT, %zu B out, %zu B in, %s CPU", b.hs_flights + 1, b.hs_bytes, b.hs_bytes_read, fmt_us(r_m));
        snprintf(v2, sizeof v2, "%d RTT, %zu B out, %zu B in, %s CPU", a.hs_flights + 1, a.hs_bytes, a.hs_bytes_read, fmt_us(f_m));
        row_out("7 handshake", name, v1, "full handshake, same client and cell", v2, median(q, reps), "",
                b.hs_flights + 1 == theory ? "RTT=min" : "RTT>min");
        snprintf(v1, sizeof v1, "%s CPU", fmt_us(r_m));
        snprintf(v2, sizeof v2, "%d RTT, %s CPU", c.hs_flights + 1, fmt_us(b_m));
        row_out("7 handshake", "  beside bare BearSSL engines, resumed the same way", v1, "bare BearSSL, resumed", v2,
                median(q2, reps), "", "");
        row_out("7 handshake", "  negotiated, resumed (the peers' logs; full: as in the handshake rows)", kex_str(kr),
                "bare BearSSL, resumed", kex_str(krb), 0, "", "same");
    }
}

int main(int argc, char **argv)
{
    int i, want4 = 0, want5 = 0, want7 = 0;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--echo") && i + 1 < argc) echo_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--echo-tls") && i + 1 < argc) echo_tls_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--proxy") && i + 1 < argc) proxy_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--proxy-tls") && i + 1 < argc) proxy_tls_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--certs") && i + 1 < argc) certs = argv[++i];
        else if (!strcmp(argv[i], "--echo-tls-log") && i + 1 < argc) hs_log_[1] = argv[++i];
        else if (!strcmp(argv[i], "--proxy-tls-log") && i + 1 < argc) hs_log_[0] = argv[++i];
        else if (!strcmp(argv[i], "e2e")) want4 = 1;
        else if (!strcmp(argv[i], "tls")) want5 = 1;
        else if (!strcmp(argv[i], "handshake")) want7 = 1;
        else if (!strcmp(argv[i], "one") && i + 6 < argc) {
            /* one run, for profilers: one CLIENT SIZE WINDOW TLS PROXY COUNT */
            const char *who = argv[i + 1];
            e2e_cfg cfg = base_cfg(atoi(argv[i + 4]), atoi(argv[i + 5]), (size_t)atol(argv[i + 2]), atoi(argv[i + 3]));
            runner run = !strcmp(who, "wsproxy") ? run_wsproxy : !strcmp(who, "big") ? run_wsproxy_256k :
                         !strcmp(who, "min") ? run_wsproxy_min : !strcmp(who, "lws") ? run_lws : run_floor;
            e2e_res r;
            cfg.count = atol(argv[i + 6]);
            if (run(&cfg, &r) != 0) return 1;
            printf("%s: %.3f us CPU/msg, %.3f us wall/msg\n", who, r.cpu / (double)cfg.count * 1e6,
                   r.wall / (double)cfg.count * 1e6);
            return 0;
        }
        else {
            fprintf(stderr, "usage: e2e --echo P --echo-tls P --proxy P --proxy-tls P --certs DIR --echo-tls-log FILE "
                            "--proxy-tls-log FILE [e2e] [tls] [handshake]\n");
            return 2;
        }
    }
    if (!want4 && !want5 && !want7) want4 = want5 = want7 = 1;
    if (!echo_port || !proxy_port) { fprintf(stderr, "e2e: --echo and --proxy are required\n"); return 2; }
    if ((want5 || want7) && (!echo_tls_port || !proxy_tls_port || !hs_log_[0] || !hs_log_[1])) {
        fprintf(stderr, "e2e: TLS rows need --echo-tls, --proxy-tls and their peers' logs (--echo-tls-log, --proxy-tls-log)\n");
        return 2;
    }
    for (i = 0; i < 2; i++) {   /* what the logs held before: not ours */
        kex_t k;
        if (hs_log_[i]) log_gained_(i, &k);
    }
    if (want7) {
        row7();
        row7_resume();
    }
    if (want4) row4();
    if (want5) row5();
    return 0;
}
