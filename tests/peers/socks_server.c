/* socks_server.c - a small SOCKS4 / SOCKS4a / SOCKS5 test server (CONNECT only).
 * Standalone and written independently of wsproxy.h (RFC 1928, RFC 1929, the SOCKS4
 * and SOCKS4a protocol texts). C99 + POSIX, one thread, poll(), non-blocking sockets.
 * Listens on 127.0.0.1 only and connects only to loopback targets: 127.0.0.0/8, ::1,
 * and the name "localhost" (connected as 127.0.0.1); any other name or address gets
 * "not allowed" (SOCKS5 0x02, SOCKS4 0x5B) and is never contacted.
 *
 *   socks_server [--port N] [--port-file F] [--log F] [--auth USER:PASS] [--reply CODE]
 *                [--drip] [--max-seconds S]
 *
 *   --port N         listen port; 0 (default) picks an ephemeral one
 *   --port-file F    write the port and a newline to F (atomically: F.tmp, then rename)
 *   --log F          append one line per event: each greeting, each request (version,
 *                    command, address type, host or address, port, SOCKS4 user id), the
 *                    reply code, and for RFC 1929 "=== decoded-credentials: user:pass"
 *   --auth USER:PASS SOCKS5 requires username/password (method 0x02) and checks it;
 *                    SOCKS4 requests must carry USER as their user id (else 0x5D)
 *   --reply CODE     answer every CONNECT with this reply byte (0-255, 0x.. accepted)
 *                    instead of connecting, then close: the raw REP of SOCKS5 or CD of
 *                    SOCKS4 (e.g. 1..8 for SOCKS5, 0x5B..0x5D for SOCKS4)
 *   --drip           write protocol replies one byte at a time, about 2 ms apart
 *   --max-seconds S  exit by itself after S seconds (default 300)
 *
 * On success it relays both ways, half-closes in each direction as the peers do, and
 * forwards bytes the client sent right behind its request. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 64
#define RELAY_BYTES 65536
#define HANDSHAKE_BYTES 1024           /* longest request: SOCKS4a, 8 + 256 + 256 */
#define DRIP_SECONDS 0.002
#define CONNECT_SECONDS 10.0

enum { ST_FREE = 0, ST_GREETING, ST_AUTH, ST_REQUEST5, ST_REQUEST4, ST_CONNECTING, ST_RELAY,
       ST_CLOSING };

struct queue {
    unsigned char d[RELAY_BYTES];
    size_t off, len;
};

struct session {
    int state;
    int cfd, tfd;
    int version;                       /* 4 or 5 once known */
    unsigned char in[HANDSHAKE_BYTES]; /* handshake bytes from the client */
    size_t in_len;
    struct queue to_client, to_target;
    size_t drip;                       /* leading bytes of to_client still to drip */
    double next_write;                 /* drip: earliest time for the next byte */
    double connect_deadline;
    int client_eof, target_eof;        /* read side ended */
    int client_shut, target_shut;      /* we shut their write side */
    int target_family;
};

static struct session sessions[MAX_SESSIONS];
static volatile sig_atomic_t stop_flag = 0;
static FILE *log_file = NULL;
static const char *auth_user = NULL, *auth_pass = NULL;
static int opt_reply = -1, opt_drip = 0;

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void logf_(const char *fmt, ...)
{
    va_list ap;
    if (!log_file) return;
    va_start(ap, fmt);
    vfprintf(log_file, fmt, ap);
    va_end(ap);
    fputc('\n', log_file);
    fflush(log_file);
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---------------------------------------------------------------- byte queues */
static size_t q_room(const struct queue *q) { return sizeof q->d - q->len; }

static void q_push(struct queue *q, const unsigned char *p, size_t n)
{
    if (n > q_room(q)) n = q_room(q);   /* callers check the room first */
    if (q->off + q->len + n > sizeof q->d) {
        memmove(q->d, q->d + q->off, q->len);
        q->off = 0;
    }
    memcpy(q->d + q->off + q->len, p, n);
    q->len += n;
}

static void q_pop(struct queue *q, size_t n)
{
    q->off += n;
    q->len -= n;
    if (q->len == 0) q->off = 0;
}

/* reads into the free tail of q; returns bytes read, 0 at EOF, -1 on error, -2 EAGAIN */
static long q_read(struct queue *q, int fd)
{
    ssize_t r;
    if (q->off + q->len == sizeof q->d && q->off) {
        memmove(q->d, q->d + q->off, q->len);
        q->off = 0;
    }
    r = read(fd, q->d + q->off + q->len, sizeof q->d - q->off - q->len);
    if (r > 0) { q->len += (size_t)r; return (long)r; }
    if (r == 0) return 0;
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -2 : -1;
}

/* ---------------------------------------------------------------- sessions */
static void session_close(struct session *s)
{
    if (s->cfd >= 0) close(s->cfd);
    if (s->tfd >= 0) close(s->tfd);
    memset(s, 0, sizeof *s);
    s->cfd = s->tfd = -1;
    s->state = ST_FREE;
}

/* Queues a protocol reply (dripped with --drip). */
static void reply(struct session *s, const unsigned char *p, size_t n)
{
    q_push(&s->to_client, p, n);
    if (opt_drip) s->drip += n;
}

/* Sends the final reply to a CONNECT and closes once it is written. */
static void refuse(struct session *s, int code)
{
    if (s->version == 5) {
        unsigned char r[10] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
        r[1] = (unsigned char)code;
        reply(s, r, sizeof r);
    } else {
        unsigned char r[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        r[1] = (unsigned char)code;
        reply(s, r, sizeof r);
    }
    logf_("reply version=%d code=0x%02x", s->version, code);
    s->state = ST_CLOSING;
}

static void consume_in(struct session *s, size_t n)
{
    memmove(s->in, s->in + n, s->in_len - n);
    s->in_len -= n;
}

static void connected(struct session *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    unsigned char r[22];
    size_t n = 0;
    unsigned port = 0;
    memset(&ss, 0, sizeof ss);
    getsockname(s->tfd, (struct sockaddr *)&ss, &sl);
    if (s->version == 5) {
        r[n++] = 5; r[n++] = 0; r[n++] = 0;
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            r[n++] = 4;
            memcpy(r + n, &a->sin6_addr, 16); n += 16;
            port = ntohs(a->sin6_port);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            r[n++] = 1;
            memcpy(r + n, &a->sin_addr, 4); n += 4;
            port = ntohs(a->sin_port);
        }
        r[n++] = (unsigned char)(port >> 8);
        r[n++] = (unsigned char)port;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        port = ss.ss_family == AF_INET ? ntohs(a->sin_port) : 0;
        r[n++] = 0; r[n++] = 0x5A;
        r[n++] = (unsigned char)(port >> 8);
        r[n++] = (unsigned char)port;
        if (ss.ss_family == AF_INET) memcpy(r + n, &a->sin_addr, 4);
        else memset(r + n, 0, 4);
        n += 4;
    }
    reply(s, r, n);
    logf_("reply version=%d code=0x%02x bound-port=%u", s->version, s->version == 5 ? 0 : 0x5A, port);
    /* bytes the client sent right behind its request go on to the target */
    q_push(&s->to_target, s->in, s->in_len);
    s->in_len = 0;
    s->state = ST_RELAY;
}

static int connect_failure_code(const struct session *s, int err)
{
    if (s->version == 4) return 0x5B;
    switch (err) {
    case ECONNREFUSED: return 0x05;
    case ENETUNREACH: case EAFNOSUPPORT: case EADDRNOTAVAIL: return 0x03;
    case EHOSTUNREACH: return 0x04;
    case ETIMEDOUT: return 0x06;
    default: return 0x01;
    }
}

/* addr: 4 or 16 bytes, network order */
static void start_connect(struct session *s, int family, const unsigned char *addr, unsigned port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        memcpy(&a->sin_addr, addr, 4);
        a->sin_port = htons((unsigned short)port);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        memcpy(&a->sin6_addr, addr, 16);
        a->sin6_port = htons((unsigned short)port);
        sl = sizeof *a;
    }
    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) { refuse(s, connect_failure_code(s, errno)); return; }
    set_nonblocking(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->tfd = fd;
    s->target_family = family;
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0) { connected(s); return; }
    if (errno == EINPROGRESS || errno == EINTR) {
        s->state = ST_CONNECTING;
        s->connect_deadline = now_seconds() + CONNECT_SECONDS;
        return;
    }
    refuse(s, connect_failure_code(s, errno));
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
        if (x != y) return 0;
    }
    return *a == *b;
}

/* The request is parsed and logged: reply, refuse or connect. family AF_INET / AF_INET6
   with addr, or 0 with a name. */
static void decide(struct session *s, int command, int family, const unsigned char *addr,
                   const char *name, unsigned port, const char *userid)
{
    static const unsigned char loop4[4] = {127, 0, 0, 1};
    static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (opt_reply >= 0) { refuse(s, opt_reply); return; }
    if (command != 1) { refuse(s, s->version == 5 ? 0x07 : 0x5B); return; }
    if (s->version == 4 && auth_user && strcmp(userid ? userid : "", auth_user) != 0) {
        refuse(s, 0x5D);
        return;
    }
    if (family == 0) {
        size_t n = strlen(name);
        char host[256];
        memcpy(host, name, n + 1);
        if (n && host[n - 1] == '.') host[n - 1] = '\0';
        if (!ieq(host, "localhost")) { refuse(s, s->version == 5 ? 0x02 : 0x5B); return; }
        family = AF_INET;
        addr = loop4;
    }
    if ((family == AF_INET && addr[0] != 127) ||
        (family == AF_INET6 && memcmp(addr, loop6, 16) != 0)) {
        refuse(s, s->version == 5 ? 0x02 : 0x5B);
        return;
    }
    start_connect(s, family, addr, port);
}

static const char *atyp_name(int atyp)
{
    return atyp == 1 ? "IPV4" : atyp == 3 ? "DOMAIN" : atyp == 4 ? "IPV6" : "UNKNOWN";
}

/* Parses what the handshake has so far; returns 0 to wait, -1 to drop the client. */
static int handshake(struct session *s)
{
    for (;;) {
        unsigned char *p = s->in;
        size_t n = s->in_len;
        switch (s->state) {
        case ST_GREETING:
            if (n < 1) return 0;
            if (p[0] == 4) { s->version = 4; s->state = ST_REQUEST4; continue; }
            if (p[0] != 5) { logf_("bad version byte 0x%02x", p[0]); return -1; }
            s->version = 5;
            if (n < 2 || n < 2u + p[1]) return 0;
            {
                int has_none = 0, has_pass = 0, chose;
                size_t i;
                char list[3 * 255 + 1] = "";
                unsigned char r[2] = {5, 0xFF};
                for (i = 0; i < p[1]; i++) {
                    if (p[2 + i] == 0x00) has_none = 1;
                    if (p[2 + i] == 0x02) has_pass = 1;
                    sprintf(list + strlen(list), "%s%02x", i ? "," : "", p[2 + i]);
                }
                chose = auth_user ? (has_pass ? 0x02 : 0xFF) : (has_none ? 0x00 : 0xFF);
                logf_("greeting version=5 methods=%s chose=0x%02x", list, chose);
                consume_in(s, 2u + p[1]);
                r[1] = (unsigned char)chose;
                reply(s, r, 2);
                s->state = chose == 0xFF ? ST_CLOSING : chose == 0x02 ? ST_AUTH : ST_REQUEST5;
                if (chose == 0xFF) return 0;
            }
            continue;
        case ST_AUTH: {   /* VER ULEN UNAME PLEN PASSWD */
            size_t ulen, plen;
            char user[256], pass[256];
            unsigned char r[2] = {1, 0};
            if (n < 2) return 0;
            if (p[0] != 1) { logf_("bad auth version 0x%02x", p[0]); return -1; }
            ulen = p[1];
            if (n < 3 + ulen) return 0;
            plen = p[2 + ulen];
            if (n < 3 + ulen + plen) return 0;
            memcpy(user, p + 2, ulen); user[ulen] = '\0';
            memcpy(pass, p + 3 + ulen, plen); pass[plen] = '\0';
            logf_("=== decoded-credentials: %s:%s", user, pass);
            consume_in(s, 3 + ulen + plen);
            if (!auth_user || strcmp(user, auth_user) != 0 || strcmp(pass, auth_pass) != 0) r[1] = 1;
            logf_("auth %s", r[1] ? "rejected" : "accepted");
            reply(s, r, 2);
            if (r[1]) { s->state = ST_CLOSING; return 0; }
            s->state = ST_REQUEST5;
            continue;
        }
        case ST_REQUEST5: {   /* VER CMD RSV ATYP DST.ADDR DST.PORT */
            size_t need;
            unsigned port;
            char text[256];
            if (n < 4) return 0;
            if (p[0] != 5) { logf_("bad request version 0x%02x", p[0]); return -1; }
            if (p[3] == 1) need = 10;
            else if (p[3] == 4) need = 22;
            else if (p[3] == 3) { if (n < 5) return 0; need = 7u + p[4]; }
            else {
                logf_("request version=5 command=%d atyp=%s(%d)", p[1], atyp_name(p[3]), p[3]);
                consume_in(s, n);
                refuse(s, 0x08);
                return 0;
            }
            if (n < need) return 0;
            port = (unsigned)p[need - 2] << 8 | p[need - 1];
            if (p[3] == 1) inet_ntop(AF_INET, p + 4, text, sizeof text);
            else if (p[3] == 4) inet_ntop(AF_INET6, p + 4, text, sizeof text);
            else { memcpy(text, p + 5, p[4]); text[p[4]] = '\0'; }
            logf_("request version=5 command=%d atyp=%s(%d) host=%s port=%u", p[1], atyp_name(p[3]),
                  p[3], text, port);
            {
                unsigned char addr[16];
                int cmd = p[1], atyp = p[3];
                memcpy(addr, p + 4, atyp == 4 ? 16 : 4);
                consume_in(s, need);
                decide(s, cmd, atyp == 1 ? AF_INET : atyp == 4 ? AF_INET6 : 0, addr,
                       atyp == 3 ? text : NULL, port, NULL);
            }
            return 0;
        }
        case ST_REQUEST4: {   /* VN CD DSTPORT DSTIP USERID NUL [HOST NUL] */
            size_t u, h = 0, end;
            unsigned port;
            int socks4a;
            char user[256], host[256], ip[INET_ADDRSTRLEN];
            unsigned char addr[4];
            if (n < 9) return 0;
            for (u = 8; u < n && p[u]; u++) {}
            if (u == n) { if (n - 8 > 255) { logf_("SOCKS4 user id too long"); return -1; } return 0; }
            socks4a = p[4] == 0 && p[5] == 0 && p[6] == 0 && p[7] != 0;
            end = u + 1;
            if (socks4a) {
                for (h = u + 1; h < n && p[h]; h++) {}
                if (h == n) { if (n - u - 1 > 255) { logf_("SOCKS4a host too long"); return -1; } return 0; }
                end = h + 1;
                memcpy(host, p + u + 1, h - u - 1); host[h - u - 1] = '\0';
            }
            memcpy(user, p + 8, u - 8); user[u - 8] = '\0';
            port = (unsigned)p[2] << 8 | p[3];
            memcpy(addr, p + 4, 4);
            inet_ntop(AF_INET, addr, ip, sizeof ip);
            if (socks4a)
                logf_("request version=4a command=%d atyp=DOMAIN host=%s port=%u userid=%s", p[1], host,
                      port, user);
            else
                logf_("request version=4 command=%d atyp=IPV4 host=%s port=%u userid=%s", p[1], ip, port,
                      user);
            {
                int cmd = p[1];
                consume_in(s, end);
                decide(s, cmd, socks4a ? 0 : AF_INET, addr, socks4a ? host : NULL, port, user);
            }
            return 0;
        }
        default:
            return 0;
        }
    }
}

/* ---------------------------------------------------------------- I/O */
static void client_readable(struct session *s)
{
    if (s->state <= ST_REQUEST4) {
        ssize_t r = read(s->cfd, s->in + s->in_len, sizeof s->in - s->in_len);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            session_close(s);
            return;
        }
        if (r < 0) return;
        s->in_len += (size_t)r;
        if (handshake(s) < 0 || (s->state <= ST_REQUEST4 && s->in_len == sizeof s->in)) session_close(s);
        return;
    }
    if (s->state == ST_CONNECTING) {   /* keep the early bytes with the handshake leftovers */
        ssize_t r;
        if (s->in_len == sizeof s->in || s->client_eof) return;
        r = read(s->cfd, s->in + s->in_len, sizeof s->in - s->in_len);
        if (r == 0) s->client_eof = 1;
        else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) session_close(s);
        else if (r > 0) s->in_len += (size_t)r;
        return;
    }
    if (s->state == ST_RELAY) {
        long r;
        if (s->client_eof || q_room(&s->to_target) == 0) return;
        r = q_read(&s->to_target, s->cfd);
        if (r == 0) s->client_eof = 1;
        else if (r == -1) session_close(s);
        return;
    }
    if (s->state == ST_CLOSING) {   /* discard anything more */
        unsigned char junk[4096];
        ssize_t r;
        if (s->client_eof) return;
        r = read(s->cfd, junk, sizeof junk);
        if (r == 0) s->client_eof = 1;
        else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) session_close(s);
    }
}

static void client_writable(struct session *s, double now)
{
    size_t n = s->to_client.len;
    ssize_t w;
    if (s->drip) {
        if (now < s->next_write) return;
        n = 1;
    }
    w = send(s->cfd, s->to_client.d + s->to_client.off, n, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) session_close(s);
        return;
    }
    q_pop(&s->to_client, (size_t)w);
    if (s->drip) {
        s->drip -= (size_t)w < s->drip ? (size_t)w : s->drip;
        s->next_write = now + DRIP_SECONDS;
    }
}

static void target_event(struct session *s, short revents)
{
    if (s->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
        getsockopt(s->tfd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            logf_("connect failed: %s", strerror(err));
            refuse(s, connect_failure_code(s, err));
        } else {
            connected(s);
        }
        return;
    }
    if (s->state != ST_RELAY) return;
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && !s->target_eof && q_room(&s->to_client)) {
        long r = q_read(&s->to_client, s->tfd);
        if (r == 0) s->target_eof = 1;
        else if (r == -1) { session_close(s); return; }
    }
    if ((revents & POLLOUT) && s->to_target.len) {
        ssize_t w = send(s->tfd, s->to_target.d + s->to_target.off, s->to_target.len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) session_close(s);
            return;
        }
        q_pop(&s->to_target, (size_t)w);
    }
}

/* Half-closes and ends sessions whose work is done. */
static void housekeeping(struct session *s, double now)
{
    if (s->state == ST_FREE) return;
    if (s->state == ST_CONNECTING && now > s->connect_deadline) {
        logf_("connect timed out");
        refuse(s, s->version == 5 ? 0x06 : 0x5B);
    }
    if (s->state == ST_CLOSING && s->to_client.len == 0) { session_close(s); return; }
    if (s->state != ST_RELAY) return;
    if (s->client_eof && s->to_target.len == 0 && !s->target_shut) {
        shutdown(s->tfd, SHUT_WR);
        s->target_shut = 1;
    }
    if (s->target_eof && s->to_client.len == 0 && !s->client_shut) {
        shutdown(s->cfd, SHUT_WR);
        s->client_shut = 1;
    }
    if (s->client_shut && s->target_shut) session_close(s);
}

/* ---------------------------------------------------------------- main */
static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--port N] [--port-file F] [--log F] [--auth USER:PASS] [--reply CODE]\n"
            "          [--drip] [--max-seconds S]\n", argv0);
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) return -1;
    f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0) { unlink(tmp); return -1; }
    if (rename(tmp, path) != 0) { unlink(tmp); return -1; }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long port = 0;
    double max_seconds = 300, deadline, now;
    const char *port_file = NULL, *log_path = NULL;
    static char auth_buf[1024];
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    struct sigaction act;
    int lfd, one = 1, i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (strcmp(a, "--drip") == 0) { opt_drip = 1; continue; }
        if (strcmp(a, "--help") == 0) { usage(argv[0]); return 0; }
        if (!v) { usage(argv[0]); return 2; }
        i++;
        if (strcmp(a, "--port") == 0) {
            port = strtoul(v, &end, 10);
            if (*end || port > 65535) { fprintf(stderr, "bad --port %s\n", v); return 2; }
        } else if (strcmp(a, "--port-file") == 0) {
            port_file = v;
        } else if (strcmp(a, "--log") == 0) {
            log_path = v;
        } else if (strcmp(a, "--auth") == 0) {
            char *colon;
            if (strlen(v) >= sizeof auth_buf || !(colon = strchr(strcpy(auth_buf, v), ':'))) {
                fprintf(stderr, "--auth needs USER:PASS\n");
                return 2;
            }
            *colon = '\0';
            auth_user = auth_buf;
            auth_pass = colon + 1;
            if (strlen(auth_user) > 255 || strlen(auth_pass) > 255) {
                fprintf(stderr, "--auth: user and password are at most 255 bytes\n");
                return 2;
            }
        } else if (strcmp(a, "--reply") == 0) {
            long c = strtol(v, &end, 0);
            if (*end || c < 0 || c > 255) { fprintf(stderr, "bad --reply %s\n", v); return 2; }
            opt_reply = (int)c;
        } else if (strcmp(a, "--max-seconds") == 0) {
            max_seconds = strtod(v, &end);
            if (*end || !(max_seconds > 0)) { fprintf(stderr, "bad --max-seconds %s\n", v); return 2; }
        } else {
            usage(argv[0]);
            return 2;
        }
    }

    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    act.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &act, NULL);

    if (log_path && !(log_file = fopen(log_path, "a"))) { perror(log_path); return 1; }
    for (i = 0; i < MAX_SESSIONS; i++) { sessions[i].cfd = sessions[i].tfd = -1; }

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) { perror("socket"); return 1; }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)port);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 64) != 0 ||
        set_nonblocking(lfd) != 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("listen");
        return 1;
    }
    port = ntohs(sa.sin_port);
    if (port_file && write_port_file(port_file, (unsigned)port) != 0) { perror(port_file); return 1; }
    logf_("listening 127.0.0.1:%lu%s%s", port, auth_user ? " auth" : "", opt_drip ? " drip" : "");

    deadline = now_seconds() + max_seconds;
    while (!stop_flag) {
        struct pollfd pfd[1 + 2 * MAX_SESSIONS];
        int owner[1 + 2 * MAX_SESSIONS], nfds = 0, free_slots = 0, timeout_ms;
        double wake;
        now = now_seconds();
        if (now >= deadline) { logf_("max-seconds reached"); break; }
        wake = deadline;
        if (now + 1.0 < wake) wake = now + 1.0;
        for (i = 0; i < MAX_SESSIONS; i++) {
            struct session *s = &sessions[i];
            short ev = 0;
            if (s->state == ST_FREE) { free_slots++; continue; }
            if (s->state <= ST_REQUEST4) ev |= POLLIN;
            else if (s->state == ST_CONNECTING) { if (s->in_len < sizeof s->in && !s->client_eof) ev |= POLLIN; }
            else if (s->state == ST_RELAY) { if (!s->client_eof && q_room(&s->to_target)) ev |= POLLIN; }
            else if (s->state == ST_CLOSING) { if (!s->client_eof) ev |= POLLIN; }
            if (s->to_client.len) {
                if (s->drip && s->next_write > now) { if (s->next_write < wake) wake = s->next_write; }
                else ev |= POLLOUT;
            }
            /* nothing wanted: a negative fd keeps poll from reporting a hang-up again */
            pfd[nfds].fd = ev ? s->cfd : -1; pfd[nfds].events = ev; pfd[nfds].revents = 0; owner[nfds++] = i;
            if (s->tfd >= 0 && (s->state == ST_CONNECTING || s->state == ST_RELAY)) {
                ev = 0;
                if (s->state == ST_CONNECTING) {
                    ev = POLLOUT;
                    if (s->connect_deadline < wake) wake = s->connect_deadline;
                } else {
                    if (!s->target_eof && q_room(&s->to_client)) ev |= POLLIN;
                    if (s->to_target.len) ev |= POLLOUT;
                }
                pfd[nfds].fd = ev ? s->tfd : -1; pfd[nfds].events = ev; pfd[nfds].revents = 0;
                owner[nfds++] = MAX_SESSIONS + i;
            }
        }
        pfd[nfds].fd = lfd; pfd[nfds].events = free_slots ? POLLIN : 0; pfd[nfds].revents = 0;
        owner[nfds++] = -1;
        timeout_ms = (int)((wake - now) * 1000.0) + 1;
        if (timeout_ms < 0) timeout_ms = 0;
        if (poll(pfd, (nfds_t)nfds, timeout_ms) < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            break;
        }
        now = now_seconds();
        for (i = 0; i < nfds; i++) {
            short re = pfd[i].revents;
            struct session *s;
            if (!re) continue;
            if (owner[i] < 0) {
                for (;;) {
                    int cfd = accept(lfd, NULL, NULL), k;
                    if (cfd < 0) break;
                    for (k = 0; k < MAX_SESSIONS && sessions[k].state != ST_FREE; k++) {}
                    if (k == MAX_SESSIONS) { close(cfd); break; }
                    set_nonblocking(cfd);
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    memset(&sessions[k], 0, sizeof sessions[k]);
                    sessions[k].cfd = cfd;
                    sessions[k].tfd = -1;
                    sessions[k].state = ST_GREETING;
                }
                continue;
            }
            if (owner[i] < MAX_SESSIONS) {
                s = &sessions[owner[i]];
                if (s->state == ST_FREE) continue;
                if (re & (POLLIN | POLLHUP | POLLERR)) client_readable(s);
                if (s->state != ST_FREE && (re & POLLOUT) && s->to_client.len) client_writable(s, now);
            } else {
                s = &sessions[owner[i] - MAX_SESSIONS];
                if (s->state == ST_FREE || s->tfd < 0) continue;
                target_event(s, re);
            }
        }
        now = now_seconds();
        for (i = 0; i < MAX_SESSIONS; i++) housekeeping(&sessions[i], now);
    }
    for (i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].state != ST_FREE) session_close(&sessions[i]);
    close(lfd);
    if (log_file) fclose(log_file);
    return 0;
}
