/* bench/mem.c: row 6 of `make bench`, memory per connection.
     mem --echo P --echo-tls P --proxy P --proxy-tls P --certs DIR
         --epoll-many BIN --epoll-many-default BIN
   Built with -DWSPROXY_RECV_BUFFER_BYTES=0 -DWSPROXY_SEND_BUFFER_BYTES=0: the client
   struct holds no buffers, the caller gives them at run time (cfg.recv_buffer,
   cfg.send_buffer). It reports
     - sizeof(wsproxy_client) so built, beside the default build's (bench/mem_default.c);
     - each proxy x target cell's whole memory with the smallest buffers the cell
       allows (struct + wsproxy_tls_arena_size() + a WSPROXY_MIN_RECV_BUFFER receive
       buffer + a WSPROXY_MIN_SEND_BUFFER send buffer, or none when a TLS stage is the
       socket's: wss:// direct and https:// proxies), beside bare BearSSL's own client
       per TLS hop (br_ssl_client_context + br_x509_minimal_context +
       BR_SSL_BUFSIZE_BIDI) + 8 KiB. Each cell is then opened with exactly those
       buffers against the test peers and echoes 16 B, 1000 B and 70,000 B messages
       compared byte for byte, so the figure is one that works;
     - peak RSS per idle connection from examples/epoll_many: a run with 1 connection
       and one with 10,000 (-m 0: every connection opens, waits until all are open,
       then closes), (peak(10,000) - peak(1)) / 9,999. BIN is epoll_many built like
       this file (its --buffers R,S places each connection's buffers after its struct);
       the default build (built-in 16 KiB buffers) runs beside it. */
#define _DEFAULT_SOURCE
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"

#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "e2e.h"

#if WSPROXY_RECV_BUFFER_BYTES != 0 || WSPROXY_SEND_BUFFER_BYTES != 0
#error "bench/mem.c is built without the built-in buffers (mk/bench.mk)"
#endif

size_t mem_default_client_size(void);   /* bench/mem_default.c */

static int echo_port, echo_tls_port, proxy_port, proxy_tls_port;
static const char *certs = "tests/certs", *epoll_many, *epoll_many_default;

/* ---- the cells, with the smallest buffers each allows -------------------------- */
static void cells(void)
{
    static const struct { int tls, proxy; const char *url, *prx, *name; } cell[6] = {
        {0, HOP_NONE, "ws://h/", NULL, "ws://, direct"}, {1, HOP_NONE, "wss://h/", NULL, "wss://, direct"},
        {0, HOP_HTTP, "ws://h/", "http://p:1", "ws://, http proxy"}, {1, HOP_HTTP, "wss://h/", "http://p:1", "wss://, http proxy"},
        {0, HOP_HTTPS, "ws://h/", "https://p:1", "ws://, https proxy"}, {1, HOP_HTTPS, "wss://h/", "https://p:1", "wss://, https proxy"},
    };
    static const size_t sizes[3] = {16, 1000, 70000};
    size_t bare_hop = sizeof(br_ssl_client_context) + sizeof(br_x509_minimal_context) + BR_SSL_BUFSIZE_BIDI;
    size_t def = mem_default_client_size();
    char v1[96], v2[96];
    int i, k;
    snprintf(v1, sizeof v1, "%zu B", sizeof(wsproxy_client));
    row_out("6 memory", "sizeof(wsproxy_client), caller buffers (RECV/SEND_BUFFER_BYTES=0)", v1, "limit", "4096 B",
            (double)sizeof(wsproxy_client) / 4096.0, "<=1.0", sizeof(wsproxy_client) <= 4096 ? "met" : "MISSED");
    snprintf(v2, sizeof v2, "%zu B", def);
    row_out("6 memory", "  beside the default build (built-in 16 KiB buffers)", v1, "sizeof, default limits", v2,
            (double)sizeof(wsproxy_client) / (double)def, "", "");
    for (i = 0; i < 6; i++) {
        size_t arena = wsproxy_tls_arena_size(cell[i].url, cell[i].prx);
        int hops = cell[i].tls + (cell[i].proxy == HOP_HTTPS);
        /* a TLS stage is the socket's: no send buffer is needed */
        int tls_below = (cell[i].tls && cell[i].proxy == HOP_NONE) || cell[i].proxy == HOP_HTTPS;
        size_t rb = WSPROXY_MIN_RECV_BUFFER, sb = tls_below ? 0 : WSPROXY_MIN_SEND_BUFFER;
        size_t total = sizeof(wsproxy_client) + arena + rb + sb, limit = (size_t)hops * bare_hop + 8192;
        char name[96];
        e2e_cfg cfg;
        /* every host here is a name: no certificate is kept for an IP check */
        BENCH_CHECK(arena == (hops ? (size_t)hops * WSPROXY_TLS_NAMED_HOP_BYTES + 15u : 0u),
                    "arena size for %s", cell[i].name);
        /* the same buffers, in a real connection through the test peers */
        memset(&cfg, 0, sizeof cfg);
        cfg.tls = cell[i].tls;
        cfg.proxy = cell[i].proxy;
        cfg.server_port = cell[i].tls ? echo_tls_port : echo_port;
        cfg.proxy_port = cell[i].proxy == HOP_HTTPS ? proxy_tls_port : proxy_port;
        cfg.window = 1;
        cfg.count = 3;
        cfg.verify = 1;
        cfg.certs = certs;
        cfg.recv_buffer = rb;
        cfg.send_buffer = sb;
        cfg.no_send_buffer = sb == 0;
        for (k = 0; k < 3; k++) {
            e2e_res res;
            cfg.size = sizes[k];
            if (run_wsproxy(&cfg, &res) != 0)
                BENCH_FAIL("%s with a %zu B receive and %zu B send buffer: echo of %zu B failed", cell[i].name, rb, sb, sizes[k]);
        }
        snprintf(name, sizeof name, "bytes/connection, %s, smallest buffers", cell[i].name);
        snprintf(v1, sizeof v1, "%zu B (%zu struct + %zu arena + %zu + %zu buffers)", total, sizeof(wsproxy_client),
                 arena, rb, sb);
        if (hops) {
            snprintf(v2, sizeof v2, "%zu B (%d x %zu + 8192)", limit, hops, bare_hop);
            row_out("6 memory", name, v1, "bare BearSSL client per TLS hop + 8 KiB", v2, (double)total / (double)limit,
                    "<=1.0", total <= limit ? "met" : "MISSED");
        } else {
            row_out("6 memory", name, v1, "-", "-", 0, "", "");
        }
    }
}

/* ---- idle connections: examples/epoll_many ------------------------------------- */
/* Runs BIN -n N -m 0 [ARGS] URL; returns its peak RSS in KiB (it must succeed). */
static long epoll_run(const char *bin, int n, const char *const *args, const char *url)
{
    char nbuf[16], out[8192];
    const char *argv[16];
    int p[2], st, k = 0, i;
    size_t got = 0;
    ssize_t r;
    pid_t pid;
    const char *at;
    snprintf(nbuf, sizeof nbuf, "%d", n);
    argv[k++] = bin; argv[k++] = "-n"; argv[k++] = nbuf; argv[k++] = "-m"; argv[k++] = "0";
    for (i = 0; args[i] && k < 14; i++) argv[k++] = args[i];
    argv[k++] = url;
    argv[k] = NULL;
    if (pipe(p) != 0) BENCH_FAIL("pipe");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    while (got < sizeof out - 1 && (r = read(p[0], out + got, sizeof out - 1 - got)) > 0) got += (size_t)r;
    out[got] = 0;
    close(p[0]);
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "ok: every connection opened"))
        BENCH_FAIL("%s -n %d %s failed:\n%s", bin, n, url, out);
    at = strstr(out, "peak RSS ");
    at = at ? strchr(at, '(') : NULL;
    if (!at) BENCH_FAIL("no peak RSS in the output of %s:\n%s", bin, out);
    return atol(at + 1);
}

static void idle(void)
{
    static const char *const none[] = {NULL};
    char ws[96], wss[96], cacert[512], wsmin_s[64], wssmin_s[64];
    const char *ws_min[3], *ws_4k[3], *wss_min[5], *wss_def[3];
    int n = bench_quick() ? 3000 : 10000, k;
    struct {
        const char *name, *bin, *url;
        const char *const *args;
        size_t nominal;     /* struct + arena + buffers */
        double limit;       /* KiB per connection, 0: none */
    } run[5];
    size_t arena = wsproxy_tls_arena_size("wss://h/", NULL), big = mem_default_client_size();
    snprintf(ws, sizeof ws, "ws://127.0.0.1:%d/", echo_port);
    snprintf(wss, sizeof wss, "wss://localhost:%d/", echo_tls_port);
    snprintf(cacert, sizeof cacert, "%s/ca.pem", certs);
    snprintf(wsmin_s, sizeof wsmin_s, "%d,%d", WSPROXY_MIN_RECV_BUFFER, WSPROXY_MIN_SEND_BUFFER);
    snprintf(wssmin_s, sizeof wssmin_s, "%d,0", WSPROXY_MIN_RECV_BUFFER);
    ws_min[0] = "--buffers"; ws_min[1] = wsmin_s; ws_min[2] = NULL;
    ws_4k[0] = "--buffers"; ws_4k[1] = "4096"; ws_4k[2] = NULL;
    wss_min[0] = "--buffers"; wss_min[1] = wssmin_s; wss_min[2] = "--cacert"; wss_min[3] = cacert; wss_min[4] = NULL;
    wss_def[0] = "--cacert"; wss_def[1] = cacert; wss_def[2] = NULL;
    run[0].name = "ws://, smallest buffers (256 B + 256 B)";
    run[0].bin = epoll_many; run[0].url = ws; run[0].args = ws_min;
    run[0].nominal = sizeof(wsproxy_client) + WSPROXY_MIN_RECV_BUFFER + WSPROXY_MIN_SEND_BUFFER; run[0].limit = 6;
    run[1].name = "  ws://, 4 KiB buffers (4 KiB + 4 KiB)";
    run[1].bin = epoll_many; run[1].url = ws; run[1].args = ws_4k;
    run[1].nominal = sizeof(wsproxy_client) + 8192; run[1].limit = 0;
    run[2].name = "  ws://, default build (built-in 16 KiB buffers)";
    run[2].bin = epoll_many_default; run[2].url = ws; run[2].args = none;
    run[2].nominal = big; run[2].limit = 0;
    run[3].name = "wss://, smallest buffers (256 B, no send buffer)";
    run[3].bin = epoll_many; run[3].url = wss; run[3].args = wss_min;
    run[3].nominal = sizeof(wsproxy_client) + arena + WSPROXY_MIN_RECV_BUFFER; run[3].limit = 36;
    run[4].name = "  wss://, default build (built-in 16 KiB buffers)";
    run[4].bin = epoll_many_default; run[4].url = wss; run[4].args = wss_def;
    run[4].nominal = big + arena; run[4].limit = 0;
    for (k = 0; k < 5; k++) {
        long one, many;
        double per;
        char name[128], v1[96], v2[64];
        fprintf(stderr, "  %d idle connections: %s\n", n, run[k].name);
        one = epoll_run(run[k].bin, 1, run[k].args, run[k].url);
        many = epoll_run(run[k].bin, n, run[k].args, run[k].url);
        per = (double)(many - one) / (double)(n - 1);
        snprintf(name, sizeof name, "%speak RSS per idle connection, %d x %s", run[k].name[0] == ' ' ? "  " : "", n,
                 run[k].name + (run[k].name[0] == ' ' ? 2 : 0));
        snprintf(v1, sizeof v1, "%.1f KiB (peak %.1f MiB; %.1f MiB with 1)", per, many / 1024.0, one / 1024.0);
        if (run[k].limit > 0) {
            snprintf(v2, sizeof v2, "%.1f KiB", run[k].limit);
            row_out("6 memory", name, v1, "limit", v2, per / run[k].limit, "<=1.0", per <= run[k].limit ? "met" : "MISSED");
        } else {
            snprintf(v2, sizeof v2, "%.1f KiB", (double)run[k].nominal / 1024.0);
            row_out("6 memory", name, v1, "struct + arena + buffers", v2, per * 1024.0 / (double)run[k].nominal, "", "");
        }
    }
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--echo") && i + 1 < argc) echo_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--echo-tls") && i + 1 < argc) echo_tls_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--proxy") && i + 1 < argc) proxy_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--proxy-tls") && i + 1 < argc) proxy_tls_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--certs") && i + 1 < argc) certs = argv[++i];
        else if (!strcmp(argv[i], "--epoll-many") && i + 1 < argc) epoll_many = argv[++i];
        else if (!strcmp(argv[i], "--epoll-many-default") && i + 1 < argc) epoll_many_default = argv[++i];
        else break;
    }
    if (i < argc || !echo_port || !echo_tls_port || !proxy_port || !proxy_tls_port || !epoll_many || !epoll_many_default) {
        fprintf(stderr, "usage: mem --echo P --echo-tls P --proxy P --proxy-tls P --certs DIR"
                        " --epoll-many BIN --epoll-many-default BIN\n");
        return 2;
    }
    cells();
    idle();
    return 0;
}
