/* bench/mem.c: row 6 of `make bench`, memory per connection.
     mem --echo PORT --echo-tls PORT --certs DIR
   Bytes per connection for each proxy x target cell (sizeof(wsproxy_client) plus
   wsproxy_tls_arena_size()), beside what bare BearSSL needs per TLS hop; then the
   client's peak RSS (VmHWM) with 1, 1,000 and 10,000 idle connections open against the
   local echo server, each count in a fresh child process, ws:// and wss://. Each
   connection has its own malloc'ed struct and arena, as an application would have. */
#define _DEFAULT_SOURCE
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static int echo_port, echo_tls_port;
static const char *certs = "tests/certs";
static br_x509_trust_anchor tas[8];
static unsigned char tas_mem[16384];
static size_t ntas;

static int random_cb(void *ctx, unsigned char *dst, size_t len)
{
    (void)ctx;
    while (len) {
        ssize_t r = getrandom(dst, len, 0);
        if (r <= 0) return -1;
        dst += r;
        len -= (size_t)r;
    }
    return 0;
}

static void load_anchors(void)
{
    char path[512], *pem;
    FILE *f;
    long n;
    wsproxy_pem_result r;
    snprintf(path, sizeof path, "%s/ca.pem", certs);
    f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "mem: cannot open %s\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    pem = (char *)malloc((size_t)n);
    if (!pem || fread(pem, 1, (size_t)n, f) != (size_t)n) exit(2);
    fclose(f);
    if (wsproxy_pem_trust_anchors(pem, (size_t)n, tas, 8, tas_mem, sizeof tas_mem, &r) != WSPROXY_OK) exit(2);
    ntas = r.anchors;
    free(pem);
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') { v = atol(line + fl + 1); break; }
    fclose(f);
    return v;
}

typedef struct {
    wsproxy_client *c;
    void *arena;
    int fd, open;
} conn;

static int start(conn *k, const char *url)
{
    wsproxy_config cfg;
    struct sockaddr_in a;
    size_t alen = wsproxy_tls_arena_size(url, NULL);
    int one = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.random = random_cb;
    k->c = (wsproxy_client *)malloc(sizeof *k->c);
    k->arena = alen ? malloc(alen) : NULL;
    if (!k->c || (alen && !k->arena)) return -1;
    cfg.tls_arena = k->arena;
    cfg.tls_arena_len = alen;
    cfg.trust_anchors = tas;
    cfg.trust_anchors_count = ntas;
    if (wsproxy_init(k->c, &cfg) != WSPROXY_OK) return -1;
    k->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (k->fd < 0) return -1;
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)wsproxy_connect_port(k->c));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(k->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) return -1;
    k->open = 0;
    return 0;
}

/* one non-blocking step; returns -1 on failure */
static int step(conn *k, short revents)
{
    const unsigned char *p;
    unsigned char *q;
    size_t n;
    wsproxy_event ev;
    while ((p = wsproxy_send_buf(k->c, &n)) != NULL) {
        ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == ENOTCONN) break;
            return -1;
        }
        wsproxy_send_ack(k->c, (size_t)w);
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && (q = wsproxy_recv_buf(k->c, &n)) != NULL) {
        ssize_t r = recv(k->fd, q, n, 0);
        if (r > 0) wsproxy_recv_ack(k->c, (size_t)r);
        else if (r == 0) wsproxy_socket_closed(k->c, 0);
        else if (errno != EAGAIN) wsproxy_socket_closed(k->c, errno);
    }
    while (wsproxy_poll(k->c, &ev)) {
        if (ev.type == WSPROXY_EV_OPEN) k->open = 1;
        if (ev.type == WSPROXY_EV_ERROR || ev.type == WSPROXY_EV_CLOSE) return -1;
    }
    while ((p = wsproxy_send_buf(k->c, &n)) != NULL) {
        ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) break;
        wsproxy_send_ack(k->c, (size_t)w);
    }
    return 0;
}

/* child: opens n connections, reports "hwm_kib rss_kib base_kib seconds" on fd out */
static void child(int n, int tls, int out)
{
    char url[128], line[128];
    conn *ks = (conn *)calloc((size_t)n, sizeof *ks);
    struct pollfd *pf = (struct pollfd *)calloc(256, sizeof *pf);
    struct rlimit rl;
    long base;
    int i, done = 0;
    double t0;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    snprintf(url, sizeof url, "%s://localhost:%d/idle", tls ? "wss" : "ws", tls ? echo_tls_port : echo_port);
    base = status_kib("VmRSS");
    t0 = wall_now();
    for (i = 0; i < n; i += 256) {   /* batches of 256 handshakes */
        int m = n - i < 256 ? n - i : 256, j, left = m;
        for (j = 0; j < m; j++)
            if (start(&ks[i + j], url) != 0) { fprintf(stderr, "mem: connection %d: %s\n", i + j, strerror(errno)); _exit(3); }
        while (left > 0) {
            for (j = 0; j < m; j++) {
                size_t sn;
                pf[j].fd = ks[i + j].open ? -1 : ks[i + j].fd;
                pf[j].events = POLLIN;
                if (wsproxy_send_buf(ks[i + j].c, &sn)) pf[j].events |= POLLOUT;
                pf[j].revents = 0;
            }
            if (poll(pf, (nfds_t)m, 10000) <= 0) { fprintf(stderr, "mem: handshakes stalled\n"); _exit(3); }
            for (j = 0; j < m; j++) {
                conn *k = &ks[i + j];
                if (k->open || !pf[j].revents) continue;
                if (step(k, pf[j].revents) != 0) {
                    char d[300];
                    wsproxy_describe(k->c, d, sizeof d);
                    fprintf(stderr, "mem: connection %d failed: %s\n", i + j, d);
                    _exit(3);
                }
                if (k->open) { left--; done++; }
            }
        }
    }
    snprintf(line, sizeof line, "%ld %ld %ld %.3f %d\n", status_kib("VmHWM"), status_kib("VmRSS"), base,
             wall_now() - t0, done);
    if (write(out, line, strlen(line)) < 0) _exit(3);
    _exit(0);
}

static int measure(int n, int tls, long *hwm, long *rss, long *base, double *secs)
{
    int p[2], st, got;
    pid_t pid;
    char buf[256];
    ssize_t r;
    if (pipe(p) != 0) return -1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) { close(p[0]); child(n, tls, p[1]); }
    close(p[1]);
    r = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitpid(pid, &st, 0);
    if (r <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    buf[r] = 0;
    if (sscanf(buf, "%ld %ld %ld %lf %d", hwm, rss, base, secs, &got) != 5 || got != n) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct { const char *url, *proxy, *name; } cells[6] = {
        {"ws://h/", NULL, "ws://, direct"}, {"wss://h/", NULL, "wss://, direct"},
        {"ws://h/", "http://p:1", "ws://, http proxy"}, {"wss://h/", "http://p:1", "wss://, http proxy"},
        {"ws://h/", "https://p:1", "ws://, https proxy"}, {"wss://h/", "https://p:1", "wss://, https proxy"},
    };
    size_t bare_hop = sizeof(br_ssl_client_context) + sizeof(br_x509_minimal_context) + BR_SSL_BUFSIZE_BIDI;
    int i, tls;
    int counts[3] = {1, 1000, 10000};
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--echo") && i + 1 < argc) echo_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--echo-tls") && i + 1 < argc) echo_tls_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--certs") && i + 1 < argc) certs = argv[++i];
        else { fprintf(stderr, "usage: mem --echo P --echo-tls P --certs DIR\n"); return 2; }
    }
    if (bench_quick()) counts[2] = 3000;
    for (i = 0; i < 6; i++) {
        size_t arena = wsproxy_tls_arena_size(cells[i].url, cells[i].proxy), total = sizeof(wsproxy_client) + arena;
        int hops = (cells[i].url[2] == 's') + (cells[i].proxy && cells[i].proxy[4] == 's');
        char name[96], v1[64], v2[96];
        /* every host here is a name: no certificate is kept for an IP check */
        BENCH_CHECK(arena == (hops ? (size_t)hops * WSPROXY_TLS_NAMED_HOP_BYTES + 15u : 0u),
                    "arena size for %s", cells[i].name);
        snprintf(name, sizeof name, "bytes/connection, %s", cells[i].name);
        snprintf(v1, sizeof v1, "%zu B (%zu + %zu arena)", total, sizeof(wsproxy_client), arena);
        if (hops) {
            snprintf(v2, sizeof v2, "%zu B (%d x %zu)", hops * bare_hop, hops, bare_hop);
            row_out("6 memory", name, v1, "bare BearSSL engines (client+x509 ctx+BIDI buffer)", v2,
                    (double)total / (double)(hops * bare_hop), "", "");
        } else {
            row_out("6 memory", name, v1, "-", "-", 0, "", "");
        }
    }
    if (!echo_port || !echo_tls_port) return 0;
    load_anchors();
    for (tls = 0; tls < 2; tls++)
        for (i = 0; i < 3; i++) {
            long hwm, rss, base;
            double secs;
            char name[96], v1[80], v2[80];
            size_t nominal = sizeof(wsproxy_client) + (tls ? wsproxy_tls_arena_size("wss://h/", NULL) : 0);
            fprintf(stderr, "  %d idle %s connections\n", counts[i], tls ? "wss://" : "ws://");
            if (measure(counts[i], tls, &hwm, &rss, &base, &secs) != 0) BENCH_FAIL("could not open %d connections", counts[i]);
            snprintf(name, sizeof name, "peak RSS, %d idle %s connections", counts[i], tls ? "wss://" : "ws://");
            snprintf(v1, sizeof v1, "%.1f MiB (%.1f KiB/conn over base)", (double)hwm / 1024.0,
                     (double)(hwm - base) / counts[i]);
            snprintf(v2, sizeof v2, "%.1f KiB/conn", (double)nominal / 1024.0);
            row_out("6 memory", name, v1, "struct + arena", v2,
                    counts[i] > 1 ? ((double)(hwm - base) * 1024.0 / counts[i]) / (double)nominal : 0, "", "");
            (void)rss; (void)secs;
        }
    return 0;
}
