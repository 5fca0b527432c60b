/* epoll_many: one thread, one epoll set, N concurrent WebSocket connections.
   Build, copied next to wsproxy.h: cc -std=c99 -O2 -o epoll_many epoll_many.c -lbearssl

   epoll_many [-n N] [-m M] [-s SIZE] [--concurrency K] [--proxy URL]
              [--connect-timeout S] [--timeout S] [--no-barrier]
              [--buffers R[,S]] [--cacert FILE] [--insecure] [--resume] URL

   Opens N connections to URL (directly, or through --proxy: http://, https://,
   socks4/4a/5/5h://; for socks4:// and socks5:// the target's name is resolved once
   here, since the library never resolves names), at most K of them
   connecting at once (default 500: no SYN flood, no overflowing accept queue). With
   the barrier (the default) every connection waits, open, until all N are open or
   have failed, so N really are open at the same time; then each sends M binary
   messages of SIZE bytes, one at a time, checks that each comes back byte for byte,
   closes with 1000 and waits (1 s at most) for the server to end the TCP connection.

   Timers: one per connection, in a hashed timer wheel (10 ms ticks) that epoll_wait's
   timeout drives. What a connection waits for decides its timer: the library's
   wsproxy_waiting_for() (proxy reply and handshake: --connect-timeout, TCP connect
   included; close reply: --timeout), else our own echo deadline (--timeout).

   Memory: one struct conn (the wsproxy_client inside it, ~35 KiB with the built-in
   16 KiB buffers) per connection, in one calloc'd array; a TLS arena more per
   connection for wss:// or https:// proxies. --buffers R,S gives each connection a
   receive buffer of R bytes and a send buffer of S bytes (default S = R) at run time,
   placed in the array right after its struct (cfg.recv_buffer / cfg.send_buffer);
   S = 0 means no send buffer, which wss:// direct and https:// proxies allow (the TLS
   stage is the socket's). Built with -DWSPROXY_RECV_BUFFER_BYTES=0
   -DWSPROXY_SEND_BUFFER_BYTES=0 the struct has no buffers of its own (~2 KiB); such a
   build gives every connection 16 KiB buffers unless --buffers says otherwise
   (docs/event-loop.md has the figures).
   RLIMIT_NOFILE is raised to N + 64 when the hard limit allows it.

   TLS session resumption (--resume): the first connection runs alone until it is open
   (or has failed); after each of its TLS handshakes (WSPROXY_EV_TLS) the hop's session
   is read with wsproxy_tls_session_get, and every later connection offers it in
   cfg.tls.resume / cfg.proxy_tls.resume: an abbreviated handshake, one round trip and
   the certificate checks and key exchange saved per hop, when the server kept the
   session. The session parameters hold the master secret: keep them as you would a
   password. With or without --resume, a line counts each hop's handshakes and how many
   of them resumed (the resumed flag of wsproxy_tls_session_get).

   Prints the rates and the peak RSS. Exit 0 when every connection opened, echoed its
   M messages intact and closed cleanly (1000); 2 otherwise; 1 for a usage error. */
#define _GNU_SOURCE                 /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#define WSPROXY_IMPLEMENTATION
#include "wsproxy.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* ---- options and totals ----------------------------------------------------------- */
static struct {
    unsigned n, m, concurrency;
    size_t size;
    double connect_timeout, timeout;
    int barrier;
    size_t recv_buf, send_buf;              /* --buffers R,S: bytes per connection */
    int buffers;                            /* 1: the caller's buffers, 0: built-in */
    int resume;                             /* --resume: the first connection's sessions */
} opt = { 100, 10, 500, 64, 10.0, 10.0, 1, 0, 0, 0, 0 };

static struct {
    unsigned launched, inflight, opened, open_now, peak_open, failed_before_open;
    unsigned finished, clean, echoed_conns, failed;
    unsigned long long echoed_msgs;
    int released;                           /* barrier passed */
    double t_start, t_last_open, t_release, t_last_echo, t_last_close;
    unsigned printed_errors;
    int err_code[16];                       /* failures by code (0: bad or missing echo) */
    unsigned err_count[16];
    unsigned tls_done[2], tls_resumed[2];   /* handshakes per hop [proxy, server], resumed */
} g;

#ifndef WSPROXY_NO_TLS
/* --resume: the sessions of the first connection's hops [proxy, server], offered by
   every later one; ready once the first connection is open or has failed */
static br_ssl_session_parameters first_session[2];
static int have_session[2], sessions_ready;
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a hashed timer wheel: O(1) start and stop, one tick costs one slot ------------ */
#define TICK_MS 10
#define WHEEL_SLOTS 1024                    /* 10.24 s per turn; longer timers wait turns */

struct timer { struct timer *next, *prev; uint64_t due; };
static struct timer wheel[WHEEL_SLOTS];     /* list heads */
static uint64_t wheel_tick;                 /* last tick processed */
static size_t timers_armed;

static uint64_t now_tick(void) { return (uint64_t)(now_s() * 1000.0) / TICK_MS; }

static void timer_stop(struct timer *t)
{
    if (!t->next) return;
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
    timers_armed--;
}

static void timer_start(struct timer *t, double seconds)
{
    uint64_t ticks = (uint64_t)(seconds * 1000.0 / TICK_MS) + 1;
    struct timer *head;
    timer_stop(t);
    t->due = now_tick() + ticks;
    if (t->due <= wheel_tick) t->due = wheel_tick + 1;
    head = &wheel[t->due % WHEEL_SLOTS];
    t->next = head->next;
    t->prev = head;
    head->next->prev = t;
    head->next = t;
    timers_armed++;
}

/* ---- connections ----------------------------------------------------------------------- */
enum { P_IDLE, P_TCP, P_WS, P_LINGER, P_DONE };       /* our side of each connection */
enum { T_NONE = 0, T_ECHO = 100, T_LINGER = 101 };    /* else a wsproxy_wait value */

struct conn {
    wsproxy_client ws;
    struct timer timer;                     /* first member after ws: see conn_of() */
    int fd, phase, timer_kind, counted_inflight, is_open, awaiting_echo, bad;
    uint32_t mask;                          /* what epoll watches for now */
    unsigned idx, echoed;
    int tx_state;                           /* 0 idle, 1 frame to begin, 2 payload going */
    size_t tx_off, rx_off;
    void *tls_arena;
};

static unsigned char *conns;               /* N slots: a struct conn, then its buffers */
static size_t conn_stride;
static int epfd;
static wsproxy_config cfg;
static struct sockaddr_storage peer_addr;    /* resolved once: every conn dials the same */
static socklen_t peer_addr_len;
static size_t arena_bytes;

static struct conn *conn_at(unsigned i)
{
    return (struct conn *)(void *)(conns + (size_t)i * conn_stride);
}

/* Points cfg at connection i's own buffers (--buffers): right after its struct. */
static void use_buffers(unsigned i)
{
    unsigned char *b = (unsigned char *)conn_at(i) + sizeof(struct conn);
    if (!opt.buffers) return;
    cfg.recv_buffer = b;
    cfg.recv_buffer_len = opt.recv_buf;
    cfg.send_buffer = b + opt.recv_buf;     /* length 0: no send buffer */
    cfg.send_buffer_len = opt.send_buf;
}

/* Points cfg at a connection's TLS arena (NULL: out of memory; init then says so). */
static void use_arena(void *a)
{
#ifndef WSPROXY_NO_TLS
    cfg.tls_arena = a;
    cfg.tls_arena_len = a ? arena_bytes : 0;
#else
    (void)a;
#endif
}

static struct conn *conn_of(struct timer *t)
{
    return (struct conn *)(void *)((char *)t - offsetof(struct conn, timer));
}

/* Byte j of message k on connection i: cheap, and different for every message. */
static unsigned char pattern(unsigned i, unsigned k, size_t j)
{
    return (unsigned char)((j + 7u * k + 13u * i) ^ (j >> 8));
}

static void count_failure(int code)
{
    int i;
    g.failed++;
    for (i = 0; i < 16; i++) {
        if (g.err_count[i] && g.err_code[i] != code) continue;
        g.err_code[i] = code;
        g.err_count[i]++;
        return;
    }
}

static void report(struct conn *c, const char *what)
{
    if (g.printed_errors++ < 5) fprintf(stderr, "epoll_many: connection %u: %s\n", c->idx, what);
}

static void set_mask(struct conn *c, uint32_t want)
{
    struct epoll_event ev;
    if (want == c->mask) return;             /* level-triggered: change only on a change */
    ev.events = want;
    ev.data.ptr = c;
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->mask = want;
}

static void finish(struct conn *c)
{
    if (c->fd >= 0) close(c->fd);          /* close() also drops it from the epoll set */
    c->fd = -1;
    c->phase = P_DONE;
    timer_stop(&c->timer);
    free(c->tls_arena);
    c->tls_arena = NULL;
    g.finished++;
}

/* Writes what the client has queued. Returns 1 when all of it went out, 0 when the
   socket is full (EPOLLOUT will tell), -1 when the socket failed (the client has been
   told: the next wsproxy_poll gives the ERROR event). */
static int flush(struct conn *c)
{
    const unsigned char *p;
    size_t n;
    while ((p = wsproxy_send_buf(&c->ws, &n)) != NULL) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            if (errno == EINTR) continue;
            wsproxy_socket_closed(&c->ws, errno);
            return -1;
        }
        wsproxy_send_ack(&c->ws, (size_t)w);
    }
    return 1;
}

/* Streams the current message into the client's send buffer: as much as has room.
   Returns 1 when it stopped for lack of room, else 0. */
static int pump_tx(struct conn *c)
{
    unsigned char chunk[4096];
    if (c->tx_state == 1) {
        int rc = wsproxy_send_begin(&c->ws, WSPROXY_OP_BINARY, opt.size, 1);
        if (rc == WSPROXY_E_WOULD_BLOCK) return 1;        /* a pong or close is queued */
        if (rc != WSPROXY_OK) { c->tx_state = 0; return 0; }  /* closing: events tell */
        c->tx_state = 2;
        c->tx_off = 0;
    }
    while (c->tx_state == 2 && c->tx_off < opt.size) {
        size_t k, j, len = opt.size - c->tx_off < sizeof chunk ? opt.size - c->tx_off : sizeof chunk;
        for (j = 0; j < len; j++) chunk[j] = pattern(c->idx, c->echoed, c->tx_off + j);
        k = wsproxy_send_data(&c->ws, chunk, len);
        c->tx_off += k;
        if (k < len) return 1;                             /* full: after the next flush */
    }
    c->tx_state = 0;
    return 0;
}

static void next_message(struct conn *c)
{
    if (c->echoed == opt.m) {
        wsproxy_close(&c->ws, 1000, "", 0);
    } else {
        c->tx_state = 1;
        c->rx_off = 0;
        c->awaiting_echo = 1;
        c->timer_kind = -1;                 /* a fresh echo deadline per message */
        pump_tx(c);
    }
}

static void on_event(struct conn *c, const wsproxy_event *ev)
{
    char why[600];
    switch (ev->type) {
    case WSPROXY_EV_OPEN:
        g.opened++;
        g.inflight--;
        c->counted_inflight = 0;
        c->is_open = 1;
        if (++g.open_now > g.peak_open) g.peak_open = g.open_now;
        g.t_last_open = now_s();
        if (!opt.barrier || g.released) next_message(c);
        break;
    case WSPROXY_EV_MESSAGE: {
        size_t j;
        if (c->bad) break;
        if (ev->opcode != WSPROXY_OP_BINARY || c->rx_off + ev->len > opt.size) {
            c->bad = 1;
        } else {
            for (j = 0; j < ev->len; j++)
                if (ev->data[j] != pattern(c->idx, c->echoed, c->rx_off + j)) { c->bad = 1; break; }
            c->rx_off += ev->len;
        }
        if (c->bad) {
            report(c, "echo differs from what was sent");
            wsproxy_close(&c->ws, 1000, "bad echo", 8);
            break;
        }
        if (!ev->fin) break;
        if (c->rx_off != opt.size) {
            c->bad = 1;
            report(c, "echo too short");
            wsproxy_close(&c->ws, 1000, "bad echo", 8);
            break;
        }
        g.echoed_msgs++;
        c->awaiting_echo = 0;
        if (++c->echoed == opt.m) { g.echoed_conns++; g.t_last_echo = now_s(); }
        next_message(c);
        break;
    }
    case WSPROXY_EV_CLOSE:
        if (ev->close_code == 1000 && c->echoed == opt.m && !c->bad) {
            g.clean++;
        } else {
            snprintf(why, sizeof why, "closed with %d after %u echoes", ev->close_code, c->echoed);
            report(c, why);
            count_failure(0);
        }
        break;
    case WSPROXY_EV_ERROR:
        wsproxy_describe(&c->ws, why, sizeof why);
        report(c, why);
        count_failure(wsproxy_error(&c->ws));
        if (c->counted_inflight) { g.inflight--; g.failed_before_open++; c->counted_inflight = 0; }
        break;
#ifndef WSPROXY_NO_TLS
    case WSPROXY_EV_TLS: {                  /* a hop's handshake is done */
        br_ssl_session_parameters sp;
        int resumed = 0, k = ev->status == WSPROXY_HOP_PROXY ? 0 : 1;
        if (wsproxy_tls_session_get(&c->ws, ev->status, &sp, &resumed) == WSPROXY_OK) {
            g.tls_done[k]++;
            g.tls_resumed[k] += resumed != 0;
            if (opt.resume && c->idx == 0) { first_session[k] = sp; have_session[k] = 1; }
        }
        memset(&sp, 0, sizeof sp);
        break;
    }
#endif
    default:                                /* TUNNEL, PING (pong is automatic), PONG */
        break;
    }
#ifndef WSPROXY_NO_TLS
    /* --resume: the first connection is open (its hops are done) or has failed: the
       others may start, offering the sessions it kept */
    if (opt.resume && c->idx == 0 && !sessions_ready &&
        (ev->type == WSPROXY_EV_OPEN || ev->type == WSPROXY_EV_ERROR || ev->type == WSPROXY_EV_CLOSE)) {
        sessions_ready = 1;
        cfg.proxy_tls.resume = have_session[0] ? &first_session[0] : NULL;
        cfg.tls.resume = have_session[1] ? &first_session[1] : NULL;
    }
#endif
}

/* After anything happened to c: events, then sending, then the timer and the epoll mask. */
static void drive(struct conn *c)
{
    wsproxy_event ev;
    size_t n;
    int kind, wait, rc, more, final = 0;
    if (c->phase == P_DONE || c->phase == P_LINGER) return;
    for (;;) {
        while (!final && wsproxy_poll(&c->ws, &ev)) {
            on_event(c, &ev);
            final = ev.type == WSPROXY_EV_CLOSE || ev.type == WSPROXY_EV_ERROR;
        }
        if (final) break;
        if (c->phase != P_WS) break;        /* TCP connect still under way */
        more = pump_tx(c);
        rc = flush(c);
        if (rc < 0) continue;               /* the socket failed: poll for the ERROR event */
        if (rc == 0 || !more) break;
        /* the whole buffer went out and a long message has more: refill it */
    }
    if (final) {
        if (c->phase == P_WS) flush(c);     /* best effort: our close frame */
        if (c->is_open) { c->is_open = 0; g.open_now--; }
        if (ev.type == WSPROXY_EV_CLOSE && c->fd >= 0) {
            /* RFC 6455 7.1.1: let the server end TCP first, so TIME_WAIT stays there */
            g.t_last_close = now_s();
            c->phase = P_LINGER;
            c->timer_kind = T_LINGER;
            timer_start(&c->timer, 1.0);
            set_mask(c, EPOLLIN | EPOLLRDHUP);
            return;
        }
        finish(c);
        return;
    }
    /* one timer: what the library waits for, else our echo deadline */
    wait = wsproxy_waiting_for(&c->ws);
    kind = wait != WSPROXY_WAIT_NONE ? wait : c->awaiting_echo ? T_ECHO : T_NONE;
    if (kind != c->timer_kind) {
        c->timer_kind = kind;
        if (kind == T_NONE) timer_stop(&c->timer);
        else timer_start(&c->timer, kind == WSPROXY_WAIT_PROXY || kind == WSPROXY_WAIT_HANDSHAKE
                                        ? opt.connect_timeout : opt.timeout);
    }
    /* backpressure: EPOLLOUT only while bytes wait, EPOLLIN only while there is room */
    if (c->phase == P_TCP) {
        set_mask(c, EPOLLOUT);
    } else {
        uint32_t want = 0;
        if (wsproxy_send_buf(&c->ws, &n)) want |= EPOLLOUT;
        if (wsproxy_recv_buf(&c->ws, &n)) want |= EPOLLIN;
        set_mask(c, want);
    }
}

static void on_timer(struct conn *c)
{
    if (c->phase == P_LINGER) { finish(c); return; }    /* the server kept TCP open */
    if (c->timer_kind == T_ECHO) {
        c->bad = 1;
        report(c, "no echo within --timeout");
        wsproxy_close(&c->ws, 1000, "no echo", 7);
    } else {
        wsproxy_timeout(&c->ws);            /* -> an ERROR event: PROXY/HANDSHAKE/CLOSE_TIMEOUT */
    }
    c->timer_kind = -1;
    drive(c);
}

static void wheel_run(void)
{
    uint64_t upto = now_tick();
    while (wheel_tick < upto) {
        struct timer *head = &wheel[++wheel_tick % WHEEL_SLOTS], *t = head->next;
        while (t != head) {
            struct timer *next = t->next;   /* on_timer touches only its own timer */
            if (t->due <= wheel_tick) {
                timer_stop(t);
                on_timer(conn_of(t));
            }
            t = next;
        }
    }
}

static void on_io(struct conn *c, uint32_t events)
{
    if (c->phase == P_LINGER) {              /* after the close: wait for the server's FIN */
        unsigned char sink[256];
        ssize_t r = recv(c->fd, sink, sizeof sink, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) finish(c);
        return;
    }
    if (c->phase == P_TCP) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            wsproxy_socket_closed(&c->ws, err);
            close(c->fd);
            c->fd = -1;
            c->phase = P_IDLE;
        } else {
            c->phase = P_WS;
        }
    } else {
        if (events & EPOLLOUT) flush(c);
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            size_t n;
            unsigned char *p = wsproxy_recv_buf(&c->ws, &n);
            if (p) {
                ssize_t r = recv(c->fd, p, n, 0);
                if (r > 0) wsproxy_recv_ack(&c->ws, (size_t)r);
                else if (r == 0) wsproxy_socket_closed(&c->ws, 0);
                else if (errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(&c->ws, errno);
            }
        }
    }
    drive(c);
}

static void launch(unsigned i)
{
    struct conn *c = conn_at(i);
    struct epoll_event ev;
    int rc;
    c->idx = i;
    use_buffers(i);
    c->fd = -1;
    c->timer_kind = -1;
    if (arena_bytes) use_arena(c->tls_arena = malloc(arena_bytes));
    rc = wsproxy_init(&c->ws, &cfg);         /* checked once in main: only ENOMEM here */
    g.launched++;
    g.inflight++;
    c->counted_inflight = 1;
    if (rc != WSPROXY_OK) {
        report(c, wsproxy_strerror(rc));
        count_failure(rc);
        g.inflight--;
        g.failed_before_open++;
        c->counted_inflight = 0;
        c->phase = P_WS;
        finish(c);
        return;
    }
    c->fd = socket(peer_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        wsproxy_socket_closed(&c->ws, errno);   /* EMFILE etc.: an ERROR event */
        c->phase = P_IDLE;
        drive(c);
        return;
    }
    {
        int one = 1;                        /* small frames go out at once */
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (connect(c->fd, (struct sockaddr *)&peer_addr, peer_addr_len) == 0) c->phase = P_WS;
    else if (errno == EINPROGRESS) c->phase = P_TCP;
    else {
        wsproxy_socket_closed(&c->ws, errno);
        close(c->fd);
        c->fd = -1;
        c->phase = P_IDLE;
        drive(c);
        return;
    }
    c->mask = ev.events = EPOLLOUT;
    ev.data.ptr = c;
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    drive(c);
}

/* --resume: the first connection goes alone, the others once its sessions are known */
static int may_launch(void)
{
#ifndef WSPROXY_NO_TLS
    return !opt.resume || g.launched == 0 || sessions_ready;
#else
    return 1;
#endif
}

/* ---- setup ---------------------------------------------------------------------------- */
#ifndef WSPROXY_NO_TLS
static int load_anchors(const char *path, const br_x509_trust_anchor **out, size_t *count)
{
    FILE *f = fopen(path, "rb");
    char *pem = NULL;
    size_t len = 0, cap = 0;
    br_x509_trust_anchor *tas;
    unsigned char *mem;
    wsproxy_pem_result r;
    if (!f) { fprintf(stderr, "epoll_many: cannot open %s\n", path); return -1; }
    for (;;) {
        size_t got;
        if (cap - len < 65536) {
            char *p = (char *)realloc(pem, cap = cap ? cap * 2 : 262144);
            if (!p) { fclose(f); free(pem); return -1; }
            pem = p;
        }
        if ((got = fread(pem + len, 1, cap - len, f)) == 0) break;
        len += got;
    }
    fclose(f);
    if (wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r) == WSPROXY_E_PEM_SYNTAX || !r.anchors) {
        fprintf(stderr, "epoll_many: %s: no usable certificates\n", path);
        free(pem);
        return -1;
    }
    tas = (br_x509_trust_anchor *)calloc(r.anchors, sizeof *tas);
    mem = (unsigned char *)malloc(r.bytes_needed ? r.bytes_needed : 1);
    if (!tas || !mem ||
        wsproxy_pem_trust_anchors(pem, len, tas, r.anchors, mem, r.bytes_needed, &r) != WSPROXY_OK) {
        fprintf(stderr, "epoll_many: %s: cannot load certificates\n", path);
        free(pem); free(tas); free(mem);
        return -1;
    }
    free(pem);
    *out = tas;
    *count = r.anchors;
    return 0;
}
#endif

static int raise_nofile(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            fprintf(stderr,
                    "epoll_many: -n %u needs %lu file descriptors, but the hard limit (RLIMIT_NOFILE)\n"
                    "is %lu. Raise it (as root: ulimit -Hn %lu; systemd: LimitNOFILE=) or lower -n.\n",
                    opt.n, (unsigned long)need, (unsigned long)rl.rlim_max, (unsigned long)need);
            return -1;
        }
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) { perror("epoll_many: setrlimit"); return -1; }
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: epoll_many [-n N] [-m M] [-s SIZE] [--concurrency K] [--proxy URL]\n"
            "                  [--connect-timeout S] [--timeout S] [--no-barrier]\n"
            "                  [--buffers R[,S]] [--cacert FILE] [--insecure] [--resume]\n"
            "                  ws[s]://host[:port]/path\n");
}

int main(int argc, char **argv)
{
    static struct epoll_event evs[1024];
    const char *cacert = NULL;
    int insecure = 0, i, rc;
    struct rusage ru;
    double t_end, open_s, echo_s;
    unsigned k;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int v = i + 1 < argc;
        if (!strcmp(a, "-n") && v) opt.n = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "-m") && v) opt.m = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "-s") && v) opt.size = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--concurrency") && v) opt.concurrency = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--proxy") && v) cfg.proxy = argv[++i];
        else if (!strcmp(a, "--connect-timeout") && v) opt.connect_timeout = atof(argv[++i]);
        else if (!strcmp(a, "--timeout") && v) opt.timeout = atof(argv[++i]);
        else if (!strcmp(a, "--no-barrier")) opt.barrier = 0;
        else if (!strcmp(a, "--buffers") && v) {
            char *end;
            opt.recv_buf = (size_t)strtoul(argv[++i], &end, 10);
            opt.send_buf = *end == ',' ? (size_t)strtoul(end + 1, &end, 10) : opt.recv_buf;
            if (*end || !opt.recv_buf) { usage(); return 1; }
            opt.buffers = 1;
        }
        else if (!strcmp(a, "--cacert") && v) cacert = argv[++i];
        else if (!strcmp(a, "--insecure") || !strcmp(a, "-k")) insecure = 1;
        else if (!strcmp(a, "--resume")) opt.resume = 1;
        else if (a[0] == '-' || cfg.url) { usage(); return 1; }
        else cfg.url = a;
    }
    if (!cfg.url || !opt.n || !opt.concurrency || opt.connect_timeout <= 0 || opt.timeout <= 0) {
        usage();
        return 1;
    }
    cfg.random = wsproxy_os_random;
#ifndef WSPROXY_NO_TLS
    arena_bytes = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
    cfg.insecure = cfg.proxy_insecure = insecure;
    if (opt.resume && !arena_bytes) {
        fprintf(stderr, "epoll_many: --resume: no TLS hop (wss:// or an https:// proxy) to resume\n");
        return 1;
    }
    if (arena_bytes && !insecure) {
        const br_x509_trust_anchor *tas;
        size_t ntas;
        if (load_anchors(cacert ? cacert : SYSTEM_BUNDLE, &tas, &ntas) != 0) return 1;
        cfg.trust_anchors = cfg.proxy_trust_anchors = tas;       /* one bundle for both hops */
        cfg.trust_anchors_count = cfg.proxy_trust_anchors_count = ntas;
    }
#else
    (void)cacert; (void)insecure;
    if (opt.resume) { fprintf(stderr, "epoll_many: --resume: built without TLS\n"); return 1; }
#endif

#if WSPROXY_RECV_BUFFER_BYTES == 0 || WSPROXY_SEND_BUFFER_BYTES == 0
    if (!opt.buffers) {                     /* no built-in buffers: the library's default size */
        opt.buffers = 1;
        opt.recv_buf = opt.send_buf = 16384;
    }
#endif
    /* each connection's buffers follow its struct; slots stay 16-byte aligned */
    conn_stride = (sizeof(struct conn) + (opt.buffers ? opt.recv_buf + opt.send_buf : 0) + 15) & ~(size_t)15;
    conns = (unsigned char *)calloc(opt.n, conn_stride);
    if (!conns) { fprintf(stderr, "epoll_many: no memory for %u connections\n", opt.n); return 1; }

    /* check the configuration once, and resolve the first hop once */
    {
        struct addrinfo hints, *res = NULL;
        char port[8], why[600];
        use_buffers(0);
        if (arena_bytes) use_arena(conn_at(0)->tls_arena = malloc(arena_bytes));
        rc = wsproxy_init(&conn_at(0)->ws, &cfg);
        free(conn_at(0)->tls_arena);
        conn_at(0)->tls_arena = NULL;
        if (rc == WSPROXY_E_SOCKS_NEED_ADDRESS) {
            /* socks4:// or socks5:// to a host name: the library never resolves names,
               so resolve the target once here and give every connection its address */
            static unsigned char addr[16];
            wsproxy_url u;
            char host[256];
            wsproxy_url_parse(cfg.url, strlen(cfg.url), &u);
            memcpy(host, u.host, u.host_len);
            host[u.host_len] = '\0';
            memset(&hints, 0, sizeof hints);
            hints.ai_socktype = SOCK_STREAM;
            if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
                fprintf(stderr, "epoll_many: cannot resolve %s: %s\n", host, gai_strerror(rc));
                return 1;
            }
            if (res->ai_family == AF_INET6) {
                memcpy(addr, &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr, 16);
                cfg.target_address_type = WSPROXY_HOST_IPV6;
            } else {
                memcpy(addr, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, 4);
                cfg.target_address_type = WSPROXY_HOST_IPV4;
            }
            cfg.target_address = addr;
            freeaddrinfo(res);
            res = NULL;
            if (arena_bytes) use_arena(conn_at(0)->tls_arena = malloc(arena_bytes));
            rc = wsproxy_init(&conn_at(0)->ws, &cfg);
            free(conn_at(0)->tls_arena);
            conn_at(0)->tls_arena = NULL;
        }
        if (rc != WSPROXY_OK) {
            wsproxy_describe(&conn_at(0)->ws, why, sizeof why);
            fprintf(stderr, "epoll_many: %s\n", why);
            return 1;
        }
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        snprintf(port, sizeof port, "%u", wsproxy_connect_port(&conn_at(0)->ws));
        rc = getaddrinfo(wsproxy_connect_host(&conn_at(0)->ws), port, &hints, &res);
        if (rc != 0) {
            fprintf(stderr, "epoll_many: cannot resolve %s: %s\n", wsproxy_connect_host(&conn_at(0)->ws),
                    gai_strerror(rc));
            return 1;
        }
        memcpy(&peer_addr, res->ai_addr, res->ai_addrlen);
        peer_addr_len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    if (raise_nofile((rlim_t)opt.n + 64) != 0) return 1;
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) { perror("epoll_create1"); return 1; }
    for (k = 0; k < WHEEL_SLOTS; k++) wheel[k].next = wheel[k].prev = &wheel[k];

    printf("epoll_many: %u connections, %u messages of %zu bytes each, %s%s%s, %u connecting at once\n",
           opt.n, opt.m, opt.size, cfg.url, cfg.proxy ? " through proxy " : " direct",
           cfg.proxy ? wsproxy_connect_host(&conn_at(0)->ws) : "", opt.concurrency);
    fflush(stdout);
    g.t_start = now_s();
    wheel_tick = now_tick();

    while (g.finished < opt.n) {
        int nev;
        while (g.launched < opt.n && g.inflight < opt.concurrency && may_launch()) launch(g.launched);
        if (opt.barrier && !g.released && g.opened + g.failed_before_open == opt.n) {
            g.released = 1;                 /* everyone is open (or failed): start echoing */
            g.t_release = now_s();
            for (k = 0; k < opt.n; k++)
                if (conn_at(k)->phase == P_WS && wsproxy_get_state(&conn_at(k)->ws) == WSPROXY_STATE_OPEN) {
                    next_message(conn_at(k));
                    drive(conn_at(k));
                }
            continue;
        }
        nev = epoll_wait(epfd, evs, (int)(sizeof evs / sizeof evs[0]), timers_armed ? TICK_MS : -1);
        if (nev < 0 && errno != EINTR) { perror("epoll_wait"); return 2; }
        for (i = 0; i < nev; i++) {
            struct conn *c = (struct conn *)evs[i].data.ptr;
            if (c->phase != P_DONE) on_io(c, evs[i].events);
        }
        wheel_run();
    }
    t_end = now_s();
    if (!opt.barrier) g.t_release = g.t_start;

    getrusage(RUSAGE_SELF, &ru);
    open_s = g.t_last_open - g.t_start;
    echo_s = g.t_last_echo - g.t_release;
    printf("opened %u/%u in %.3f s: %.0f connections/s (peak %u open at once)\n", g.opened, opt.n,
           open_s, open_s > 0 ? g.opened / open_s : 0.0, g.peak_open);
    printf("echoed %llu/%llu messages in %.3f s: %.0f messages/s (%u connections complete)\n",
           g.echoed_msgs, (unsigned long long)opt.n * opt.m, echo_s > 0 ? echo_s : 0.0,
           echo_s > 0 ? g.echoed_msgs / echo_s : 0.0, g.echoed_conns);
    printf("closed %u/%u cleanly (1000); all done in %.3f s\n", g.clean, opt.n, t_end - g.t_start);
    printf("peak RSS %.1f MiB (%ld KiB, %.1f KiB per connection; sizeof(wsproxy_client) %zu bytes",
           ru.ru_maxrss / 1024.0, (long)ru.ru_maxrss, (double)ru.ru_maxrss / opt.n, sizeof(wsproxy_client));
    if (opt.buffers) printf(", buffers %zu + %zu bytes given)\n", opt.recv_buf, opt.send_buf);
    else printf(", built-in buffers)\n");
    if (g.tls_done[0] || g.tls_done[1]) {
        printf("TLS handshakes: %u of %u resumed", g.tls_resumed[0] + g.tls_resumed[1], g.tls_done[0] + g.tls_done[1]);
        if (g.tls_done[0]) printf("; proxy hop %u of %u", g.tls_resumed[0], g.tls_done[0]);
        if (g.tls_done[1]) printf("; server hop %u of %u", g.tls_resumed[1], g.tls_done[1]);
        printf("%s\n", opt.resume ? " (--resume: the first connection's sessions)" : "");
    }
#ifndef WSPROXY_NO_TLS
    memset(first_session, 0, sizeof first_session);   /* the master secrets */
#endif
    if (g.clean == opt.n) {
        printf("ok: every connection opened, echoed %u messages and closed cleanly\n", opt.m);
        return 0;
    }
    printf("FAILED: %u of %u connections did not complete:", opt.n - g.clean, opt.n);
    for (k = 0; k < 16 && g.err_count[k]; k++)
        printf(" %u %s", g.err_count[k], g.err_code[k] ? wsproxy_strerror(g.err_code[k]) : "bad-echo-or-close");
    printf("\n");
    return 2;
}
