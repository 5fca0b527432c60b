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
     close-first         an echo server that answers a close at once, as Python
                         websockets does: echoes still queued when the close arrives
                         (those of messages read in the same batch) are discarded
     close-first-slow    the same, each echo due 100 ms after its message arrived, so
                         a close sent right after the messages always wins the race
     evil-text           sends terminal escape sequences, C1 controls, bidi controls
                         and invalid UTF-8 in a text message, a binary message, a
                         ping, an unsolicited pong and its close reason (code 4000)
     evil-status         answers the upgrade with a 403 whose status line and
                         WWW-Authenticate value carry escape sequences
     proxy407-evil       answers any request with a valid 407 whose status line and
                         Proxy-Authenticate value carry C1 controls (bytes 0x80-0xFF
                         are allowed there) and bytes that are not UTF-8
     proxy407-malformed  answers any request with a 407 whose Digest challenge has a
                         quoted string that never ends (RFC 9110 11.2: not a challenge)
   Each connection lasts at most --mode-seconds (default 5), the process at most
   --max-seconds (default 60). The log (--log) gets one line per connection:
   "conn N mode M sent BYTES frames FRAMES received BYTES", and the close-first modes
   one more before it: "conn N close-first echoed E discarded D closed C" (C = 1 when
   the client's close arrived). */
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
    int nconn;               /* this connection's number (1, 2, ...) */
    const char *log_file;    /* for the modes that log more than the summary line */
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

/* ---- close-first: an echo server that answers a close before its pending echoes ---- */
#define CF_MAX_MESSAGE (1u << 20)   /* larger client messages: close 1009 */
#define CF_MAX_PENDING 4096         /* echoes waiting for their time */

typedef struct {
    double due;
    int op;
    size_t len;
    unsigned char *data;
} echo_item;

typedef struct {
    echo_item q[CF_MAX_PENDING];
    size_t head, n;
    unsigned long long echoed, discarded;
    int closed;
} echo_queue;

static int send_frame(conn *c, int op, const unsigned char *p, size_t len)
{
    static unsigned char f[CF_MAX_MESSAGE + 16];
    size_t k = frame(f, 1, op, p, len);
    c->frames++;
    return send_all(c, f, k);
}

/* Sends the echoes whose time has come; -1 when the peer went away. */
static int send_due(conn *c, echo_queue *eq)
{
    while (eq->n && eq->q[eq->head].due <= now_s()) {
        echo_item *it = &eq->q[eq->head];
        int rc = send_frame(c, it->op, it->data, it->len);
        free(it->data);
        eq->head = (eq->head + 1) % CF_MAX_PENDING;
        eq->n--;
        if (rc != 0) return -1;
        eq->echoed++;
    }
    return 0;
}

static void discard_all(echo_queue *eq)
{
    while (eq->n) {
        free(eq->q[eq->head].data);
        eq->head = (eq->head + 1) % CF_MAX_PENDING;
        eq->n--;
        eq->discarded++;
    }
}

/* Parses the client's frames in buf[0..*len): queues echoes of whole messages, answers
   pings, and on a close discards every queued echo and answers the close at once.
   Returns 1 after the close, -1 on a protocol violation or a dead peer, else 0. */
static int cf_parse(conn *c, echo_queue *eq, unsigned char *buf, size_t *len, double delay,
                    unsigned char *msg, size_t *msg_len, int *msg_op)
{
    size_t at = 0;
    for (;;) {
        size_t avail = *len - at, hl = 2, i;
        uint64_t plen;
        unsigned char *p = buf + at, *mask, *pay;
        int fin, op;
        if (avail < 2) break;
        fin = p[0] >> 7;
        op = p[0] & 15;
        if (!(p[1] & 0x80)) return -1;   /* client frames are masked */
        plen = p[1] & 0x7F;
        if (plen == 126) {
            if (avail < 4) break;
            plen = (uint64_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (plen == 127) {
            if (avail < 10) break;
            for (plen = 0, i = 2; i < 10; i++) plen = plen << 8 | p[i];
            hl = 10;
        }
        if (plen > CF_MAX_MESSAGE) return -1;
        if (avail < hl + 4 + plen) break;
        mask = p + hl;
        pay = p + hl + 4;
        for (i = 0; i < plen; i++) pay[i] ^= mask[i & 3];
        at += hl + 4 + (size_t)plen;
        if (op == 0x8) {   /* close: the pending echoes are dropped, the reply goes now */
            discard_all(eq);
            eq->closed = 1;
            *len -= at;
            memmove(buf, buf + at, *len);
            return send_frame(c, 0x8, pay, plen >= 2 ? 2 : 0) == 0 ? 1 : -1;
        }
        if (op == 0x9) {
            if (send_frame(c, 0xA, pay, (size_t)plen) != 0) return -1;
            continue;
        }
        if (op == 0xA) continue;
        if (op == 0x1 || op == 0x2) *msg_op = op, *msg_len = 0;
        else if (op != 0x0) return -1;
        if (*msg_len + plen > CF_MAX_MESSAGE) return -1;
        memcpy(msg + *msg_len, pay, (size_t)plen);
        *msg_len += (size_t)plen;
        if (fin) {
            echo_item *it;
            if (eq->n == CF_MAX_PENDING) return -1;
            it = &eq->q[(eq->head + eq->n) % CF_MAX_PENDING];
            it->due = now_s() + delay;
            it->op = *msg_op;
            it->len = *msg_len;
            it->data = (unsigned char *)malloc(*msg_len ? *msg_len : 1);
            if (!it->data) return -1;
            memcpy(it->data, msg, *msg_len);
            eq->n++;
        }
    }
    *len -= at;
    memmove(buf, buf + at, *len);
    return 0;
}

static void run_close_first(conn *c, double delay)
{
    static unsigned char buf[CF_MAX_MESSAGE + 64], msg[CF_MAX_MESSAGE];
    static echo_queue eq;
    size_t len = 0, msg_len = 0;
    int msg_op = 0x1, rc = 0;
    memset(&eq, 0, sizeof eq);
    while (!stop_flag && rc == 0) {
        struct pollfd pf;
        double left = c->deadline - now_s(), wait = left;
        ssize_t r;
        if (left <= 0) break;
        if (eq.n && eq.q[eq.head].due - now_s() < wait) wait = eq.q[eq.head].due - now_s();
        pf.fd = c->fd; pf.events = POLLIN; pf.revents = 0;
        if (poll(&pf, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0) < 0 && errno != EINTR) break;
        if (pf.revents & (POLLIN | POLLERR | POLLHUP)) {
            r = recv(c->fd, buf + len, sizeof buf - len, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;
            if (r > 0) {
                len += (size_t)r;
                c->received += (unsigned long long)r;
                /* every frame of this batch first, as a server whose handler runs later */
                rc = cf_parse(c, &eq, buf, &len, delay, msg, &msg_len, &msg_op);
                if (rc != 0) break;
            }
        }
        if (send_due(c, &eq) != 0) break;
    }
    discard_all(&eq);
    if (rc == 1) drain_until_end(c, 1);   /* the client closes the TCP connection */
    if (c->log_file) {
        FILE *f = fopen(c->log_file, "a");
        if (f) {
            fprintf(f, "conn %d close-first echoed %llu discarded %llu closed %d\n", c->nconn,
                    eq.echoed, eq.discarded, eq.closed);
            fclose(f);
        }
    }
}

/* ---- evil-text: escape sequences in everything a client might print ---------------- */
static void run_evil_text(conn *c)
{
    static const char text[] = "title:\x1b]0;evil-title\x07 clear:\x1b[2J c1:\xc2\x9b" "31m"
                               " bidi:\xe2\x80\xae end\\\t\r\n";
    static const char bin[] = "\x9b\x1b[2J\xff\xfe\xc3 end";
    static const char pong[] = "\x1b]0;pong-title\x07\xff";
    static const char ping[] = "\x1b[2J ping\x9b";
    static const char reason[] = "\x0f\xa0\x1b]0;close-title\x07\x1b[2J\xc2\x9b";   /* 4000 + reason */
    if (send_frame(c, 0x1, (const unsigned char *)text, sizeof text - 1) != 0) return;
    if (send_frame(c, 0x2, (const unsigned char *)bin, sizeof bin - 1) != 0) return;
    if (send_frame(c, 0xA, (const unsigned char *)pong, sizeof pong - 1) != 0) return;
    if (send_frame(c, 0x9, (const unsigned char *)ping, sizeof ping - 1) != 0) return;
    if (send_frame(c, 0x8, (const unsigned char *)reason, sizeof reason - 1) != 0) return;
    drain_until_end(c, 1);   /* the client's close reply, then its EOF */
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
    if (!strcmp(mode, "proxy407-evil") || !strcmp(mode, "evil-status")) {
        /* HTTP allows bytes 0x80-0xFF (obs-text) in a reason and a field value, so
           this 407 is valid; 0x9B is CSI to an 8-bit terminal */
        static const char p407[] =
            "HTTP/1.1 407 Proxy Auth \x9b" "2J\xc2\x9b" "31m\xff\r\n"
            "Proxy-Authenticate: Basic realm=\"\x9b]0;proxy-title\xc2\x9d\xff\"\r\n"
            "Content-Length: 0\r\n\r\n";
        static const char s403[] =
            "HTTP/1.1 403 Forbidden \x1b]0;status-title\x07\x1b[2J\xc2\x9b\r\n"
            "WWW-Authenticate: Basic realm=\"\x1b]0;www-title\x07\x9b\"\r\n"
            "Content-Length: 0\r\n\r\n";
        if (mode[0] == 'p') send_all(c, p407, sizeof p407 - 1);
        else send_all(c, s403, sizeof s403 - 1);
        return;
    }
    if (!strcmp(mode, "proxy407-malformed")) {
        static const char p407[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                   "Proxy-Authenticate: Digest realm=\"evil\", nonce=\"no end\r\n"
                                   "Content-Length: 0\r\n\r\n";
        send_all(c, p407, sizeof p407 - 1);
        return;
    }
    if (!key[0] || send_101(c, key) != 0) return;
    if (!strcmp(mode, "close-first") || !strcmp(mode, "close-first-slow")) {
        run_close_first(c, strcmp(mode, "close-first") ? 0.1 : 0.0);
        return;
    }
    if (!strcmp(mode, "evil-text")) { run_evil_text(c); return; }
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
        "stopread", "mute", "silent", "endless-header", "proxy407-huge", "proxy-endless-header",
        "close-first", "close-first-slow", "evil-text", "evil-status", "proxy407-evil", "proxy407-malformed"};
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
        c.nconn = ++nconn;
        c.log_file = log_file;
        run_mode(&c, mode);
        close(fd);
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
