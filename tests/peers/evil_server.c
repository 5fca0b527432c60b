/* evil_server: a WebSocket server (or HTTP proxy) that misbehaves on purpose, for
   tests/adversarial.sh. Independent of wsproxy.h: its own SHA-1, base64 and head
   parsing. C99 + POSIX. Listens on 127.0.0.1 only, one connection at a time.

     evil_server --port N --port-file F --mode MODE [--max-seconds S] [--mode-seconds S]
                 [--log F]

   Every mode but silent/endless-header/proxy-* completes the opening handshake
   correctly (a real 101 with the right Sec-WebSocket-Accept), then:
     len63               a binary frame announcing 2^63-1 bytes, then some payload
     pingflood           pings as fast as the socket takes them; never reads
     closestorm          many close frames (1001 "storm"), then more
     endless-fragments   a text message that never ends: continuation frames forever
     stopread            never reads again (and sends nothing): the client must stop
                         producing, not buffer forever
     mute                reads and discards everything, never answers (no close reply)
     silent              accepts, reads the request, never answers the upgrade
     endless-header      "HTTP/1.1 101 ..." then header lines forever
     proxy407-huge       answers any request with 407, Content-Length: 2147483648, then
                         streams bytes
     proxy-endless-header  "HTTP/1.1 200 Connection established" then header lines
                         forever
   Each connection lasts at most --mode-seconds (default 5), the process at most
   --max-seconds (default 60). The log (--log) gets one line per connection:
   "conn N mode M sent BYTES frames FRAMES received BYTES". */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- SHA-1 (FIPS 180-4) and base64, for Sec-WebSocket-Accept ---------------------- */
static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    unsigned char block[64];
    uint64_t bits = (uint64_t)len * 8;
    size_t total = ((len + 8) / 64 + 1) * 64, off;
    int i;
    for (off = 0; off < total; off += 64) {
        uint32_t w[80], a, b, c, d, e;
        for (i = 0; i < 64; i++) {
            size_t k = off + (size_t)i;
            unsigned char v;
            if (k < len) v = msg[k];
            else if (k == len) v = 0x80;
            else if (k >= total - 8) v = (unsigned char)(bits >> (8 * (total - 1 - k)));
            else v = 0;
            block[i] = v;
        }
        for (i = 0; i < 16; i++)
            w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
                   (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
        for (i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
        for (i = 0; i < 80; i++) {
            uint32_t f, k, t;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
            t = rol(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol(b, 30); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    for (i = 0; i < 20; i++) out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = abc[v >> 18];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = 0;
}

/* ---- per connection ------------------------------------------------------------------- */
typedef struct {
    int fd;
    double deadline;
    unsigned long long sent, received, frames;
} conn;

/* Sends all of p unless the deadline passes or the peer goes away: 0 ok, -1 stop. */
static int send_all(conn *c, const void *p, size_t n)
{
    const char *s = (const char *)p;
    while (n > 0) {
        struct pollfd pf;
        ssize_t w;
        double left = c->deadline - now_s();
        if (left <= 0 || stop_flag) return -1;
        pf.fd = c->fd; pf.events = POLLOUT; pf.revents = 0;
        if (poll(&pf, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR) return -1;
        if (!(pf.revents & (POLLOUT | POLLERR | POLLHUP))) continue;
        w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return -1;
        }
        s += w; n -= (size_t)w; c->sent += (unsigned long long)w;
    }
    return 0;
}

/* Reads until the request head ends; fills key (may stay empty). 0 ok, -1 stop. */
static int read_head(conn *c, char *key, size_t keycap)
{
    char buf[16384];
    size_t len = 0;
    key[0] = 0;
    while (len < sizeof buf - 1) {
        struct pollfd pf;
        ssize_t r;
        double left = c->deadline - now_s();
        char *end;
        if (left <= 0 || stop_flag) return -1;
        pf.fd = c->fd; pf.events = POLLIN; pf.revents = 0;
        if (poll(&pf, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR) return -1;
        if (!(pf.revents & (POLLIN | POLLERR | POLLHUP))) continue;
        r = recv(c->fd, buf + len, sizeof buf - 1 - len, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) return -1;
        len += (size_t)r;
        c->received += (unsigned long long)r;
        buf[len] = 0;
        if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *k = strstr(buf, "Sec-WebSocket-Key:");
            if (!k) k = strstr(buf, "sec-websocket-key:");
            if (k && k < end) {
                size_t n = 0;
                k += 18;
                while (*k == ' ' || *k == '\t') k++;
                while (k[n] && k[n] != '\r' && n + 1 < keycap) n++;
                memcpy(key, k, n);
                key[n] = 0;
            }
            return 0;
        }
    }
    return -1;
}

static int send_101(conn *c, const char *key)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char cat[200], acc[32], head[256];
    unsigned char d[20];
    int n;
    snprintf(cat, sizeof cat, "%s%s", key, guid);
    sha1((const unsigned char *)cat, strlen(cat), d);
    base64(d, 20, acc);
    n = snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
    return send_all(c, head, (size_t)n);
}

static size_t frame(unsigned char *out, int fin, int op, const unsigned char *p, size_t len)
{
    size_t n = 0;
    out[n++] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (len < 126) out[n++] = (unsigned char)len;
    else if (len < 65536) { out[n++] = 126; out[n++] = (unsigned char)(len >> 8); out[n++] = (unsigned char)len; }
    else { int i; out[n++] = 127; for (i = 7; i >= 0; i--) out[n++] = (unsigned char)((uint64_t)len >> (8 * i)); }
    if (len) memcpy(out + n, p, len);
    return n + len;
}

/* Reads and discards until EOF or the deadline (closing politely). */
static void drain_until_end(conn *c, int read_it)
{
    char buf[65536];
    while (!stop_flag) {
        struct pollfd pf;
        double left = c->deadline - now_s();
        ssize_t r;
        if (left <= 0) return;
        pf.fd = c->fd; pf.events = read_it ? POLLIN : 0; pf.revents = 0;
        if (poll(&pf, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR) return;
        if (pf.revents & (POLLERR | POLLHUP) && !(pf.revents & POLLIN)) return;
        if (!read_it || !(pf.revents & POLLIN)) continue;
        r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) return;
        c->received += (unsigned long long)r;
    }
}

static void run_mode(conn *c, const char *mode)
{
    static unsigned char buf[70000];
    char key[128];
    size_t n;
    int i;
    if (read_head(c, key, sizeof key) != 0) return;
    if (!strcmp(mode, "silent")) { drain_until_end(c, 1); return; }
    if (!strcmp(mode, "endless-header") || !strcmp(mode, "proxy-endless-header")) {
        const char *first = mode[0] == 'e' ? "HTTP/1.1 101 Switching Protocols\r\n"
                                           : "HTTP/1.1 200 Connection established\r\n";
        if (send_all(c, first, strlen(first)) != 0) return;
        for (i = 0;; i++) {
            char line[128];
            int k = snprintf(line, sizeof line, "X-Pad-%d: %064d\r\n", i, i);
            if (send_all(c, line, (size_t)k) != 0) return;
            c->frames++;
        }
    }
    if (!strcmp(mode, "proxy407-huge")) {
        static const char h[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                "Proxy-Authenticate: Basic realm=\"evil\"\r\n"
                                "Content-Length: 2147483648\r\n\r\n";
        if (send_all(c, h, sizeof h - 1) != 0) return;
        memset(buf, 'z', sizeof buf);
        while (send_all(c, buf, 65536) == 0) c->frames++;
        return;
    }
    if (!key[0] || send_101(c, key) != 0) return;
    if (!strcmp(mode, "len63")) {
        static const unsigned char h[] = {0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        if (send_all(c, h, sizeof h) != 0) return;
        c->frames++;
        memset(buf, 'p', 65536);
        for (i = 0; i < 16; i++) if (send_all(c, buf, 65536) != 0) return;
        drain_until_end(c, 1);
    } else if (!strcmp(mode, "pingflood")) {
        unsigned char f[140];
        size_t k = frame(f, 1, 0x9, (const unsigned char *)"flood-ping-payload-0123456789", 29);
        /* batch many pings per send; never read */
        for (n = 0; n + k <= sizeof buf; n += k) memcpy(buf + n, f, k);
        for (;;) {
            if (send_all(c, buf, n) != 0) return;
            c->frames += n / k;
        }
    } else if (!strcmp(mode, "closestorm")) {
        /* each half goes out in one send (a few KiB, within any socket buffer), so the
         * whole storm is on the wire before the client's answer to the first close can
         * reset the connection: the log's frame count does not depend on scheduling */
        unsigned char f[140];
        size_t k = frame(f, 1, 0x8, (const unsigned char *)"\x03\xe9storm", 7);
        for (n = 0, i = 0; i < 1000; i++, n += k) memcpy(buf + n, f, k);
        if (send_all(c, buf, n) != 0) return;
        c->frames += 1000;
        k = frame(f, 1, 0x1, (const unsigned char *)"after the storm", 15);
        for (n = 0, i = 0; i < 1000; i++, n += k) memcpy(buf + n, f, k);
        if (send_all(c, buf, n) != 0) return;
        c->frames += 1000;
        drain_until_end(c, 1);
    } else if (!strcmp(mode, "endless-fragments")) {
        static unsigned char payload[4096], f[4096 + 16];
        size_t k = frame(f, 0, 0x1, (const unsigned char *)"start", 5);
        if (send_all(c, f, k) != 0) return;
        memset(payload, 'f', sizeof payload);
        k = frame(f, 0, 0x0, payload, sizeof payload);   /* continuation, never FIN */
        for (;;) {
            if (send_all(c, f, k) != 0) return;
            c->frames++;
        }
    } else if (!strcmp(mode, "stopread")) {
        drain_until_end(c, 0);   /* neither reads nor writes */
    } else if (!strcmp(mode, "mute")) {
        drain_until_end(c, 1);   /* reads, never answers: no close reply */
    }
}

int main(int argc, char **argv)
{
    const char *mode = NULL, *port_file = NULL, *log_file = NULL;
    unsigned port = 0;
    double max_seconds = 60, mode_seconds = 5, end;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int lfd, one = 1, i, nconn = 0;
    struct sigaction act;
    static const char *const modes[] = {"len63", "pingflood", "closestorm", "endless-fragments",
        "stopread", "mute", "silent", "endless-header", "proxy407-huge", "proxy-endless-header"};
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) port_file = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc) max_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--mode-seconds") && i + 1 < argc) mode_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--log") && i + 1 < argc) log_file = argv[++i];
        else { fprintf(stderr, "evil_server: unknown option %s\n", argv[i]); return 2; }
    }
    for (i = 0; mode && i < (int)(sizeof modes / sizeof modes[0]); i++)
        if (!strcmp(mode, modes[i])) break;
    if (!mode || i == (int)(sizeof modes / sizeof modes[0]) || port > 65535) {
        fprintf(stderr, "usage: evil_server --port N --port-file F --mode MODE [--max-seconds S]"
                        " [--mode-seconds S] [--log F]\nmodes:");
        for (i = 0; i < (int)(sizeof modes / sizeof modes[0]); i++) fprintf(stderr, " %s", modes[i]);
        fprintf(stderr, "\n");
        return 2;
    }
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    act.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &act, NULL);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) { perror("socket"); return 1; }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);   /* 127.0.0.1 only */
    sa.sin_port = htons((unsigned short)port);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 8) != 0) { perror("bind"); return 1; }
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    if (port_file) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        f = fopen(tmp, "w");
        if (!f) { perror(port_file); return 1; }
        fprintf(f, "%u\n", (unsigned)ntohs(sa.sin_port));
        fclose(f);
        rename(tmp, port_file);   /* readers never see a half-written file */
    }
    end = now_s() + max_seconds;
    while (!stop_flag && now_s() < end) {
        struct pollfd pf;
        conn c;
        int fd;
        pf.fd = lfd; pf.events = POLLIN; pf.revents = 0;
        if (poll(&pf, 1, 200) <= 0) continue;
        fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        memset(&c, 0, sizeof c);
        c.fd = fd;
        c.deadline = now_s() + mode_seconds;
        if (c.deadline > end) c.deadline = end;
        run_mode(&c, mode);
        close(fd);
        nconn++;
        if (log_file) {
            FILE *f = fopen(log_file, "a");
            if (f) {
                fprintf(f, "conn %d mode %s sent %llu frames %llu received %llu\n", nconn, mode,
                        c.sent, c.frames, c.received);
                fclose(f);
            }
        }
    }
    close(lfd);
    return 0;
}
