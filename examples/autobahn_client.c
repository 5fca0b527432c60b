/* autobahn_client: drives an Autobahn|Testsuite fuzzingserver with wsproxy.h.
   Build, copied next to wsproxy.h:
     cc -std=c99 -O2 -DWSPROXY_DEFLATE -o autobahn_client autobahn_client.c -lbearssl -lz

   autobahn_client [--host H] [--port P] [--agent NAME] [--case N] [--proxy URL]
                   [--tls] [--cacert FILE] [--proxy-cacert FILE] [--no-shutdown]
                   [--timeout SECONDS] [--case-timeout SECONDS] [--max-message BYTES]
                   [--stats] [--quiet] [--features]
                   [--deflate] [--client-max-window-bits N|none] [--server-max-window-bits N]
                   [--client-no-context-takeover] [--server-no-context-takeover]

   The standard way: GET /getCaseCount (one text message with the count), then for each
   case /runCase?case=N&agent=NAME, then /updateReports?agent=NAME&shutdownOnComplete=true
   (the server writes its reports and exits; --no-shutdown leaves the flag out). In every
   case it echoes each text and binary message back verbatim (same type, empty stays
   empty), answers pings (the library does), and closes as RFC 6455 says: it echoes the
   server's close, and when the server breaks the protocol the library fails the
   connection (1002, 1007 or 1009) and nothing more is sent. A case whose opening
   handshake the library refuses (an extension answer it cannot accept, say) is reported
   and the run goes on. With --proxy the whole run goes through an HTTP CONNECT proxy
   (http://) or an HTTPS one (https://: TLS to the proxy, CONNECT inside it).

   --tls speaks wss:// to the server. Trust: --cacert FILE for the server, --proxy-cacert
   FILE for an https:// proxy (PEM bundles; default /etc/ssl/certs/ca-certificates.crt).
   --features prints what this build can do, one word a line ("tls", "permessage-deflate")
   and exits. --deflate offers permessage-deflate ("permessage-deflate;
   client_max_window_bits"); the other four flags change that offer (none: without
   client_max_window_bits). Every message it sends is compressed (threshold 0), and
   --max-message limits the inflated size.

   Defaults: 127.0.0.1:9001, agent "wsproxy", all cases, --timeout 5 (opening handshake
   and waiting for the server to end the TCP connection after a close), --case-timeout
   600 (longest a single case may run), --max-message 16 MiB.

   Messages are reassembled in one buffer of --max-message bytes (the library's
   message_buffer), so memory does not depend on the number or size of messages. An echo
   that does not fit the send buffer is streamed with wsproxy_send_begin/_send_data
   straight from that buffer; no event is polled until it is out, since the buffer is
   written only inside wsproxy_poll.

   Output: one line per case ("case N: ..." with how the connection ended) unless
   --quiet; --stats adds the peak resident memory after each case. Exit status 0 when
   every session ran (whatever the server judged), 1 on usage errors, 2 when the server
   could not be reached or a service request failed. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include "wsproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_MESSAGE (16u * 1024u * 1024u)
#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define MAX_PEM_BYTES (16L * 1024 * 1024)

struct options {
    const char *host;
    unsigned port;
    const char *agent;
    long only_case;
    const char *proxy;
    int tls, no_shutdown;
    const char *cacert, *proxy_cacert;
    double timeout_s;
    double case_timeout_s;
    size_t max_message;
    int stats, quiet;
    wsproxy_deflate_options deflate;   /* --deflate and its parameters */
};

enum { SESSION_COUNT, SESSION_CASE, SESSION_REPORT };

/* What one session ended with. */
struct outcome {
    int connected;        /* the opening handshake completed */
    int closed;           /* the close handshake completed (EV_CLOSE) */
    int close_code;       /* EV_CLOSE: the server's code; EV_ERROR: the code we sent, if any */
    int error;            /* wsproxy error code, 0 when none */
    int timed_out;        /* --case-timeout hit */
    long echoed;          /* messages echoed */
    long count;           /* SESSION_COUNT: the number received, -1 when none */
    long late_events;     /* events found by the extra wsproxy_poll before sleeping */
};

static wsproxy_client g_client;   /* about 40 KiB: keep it off the stack */
static unsigned char *g_msgbuf;   /* reassembly buffer, --max-message bytes */
#ifndef WSPROXY_NO_TLS
static void *g_arena;             /* TLS arena, grown to the largest session's need */
static size_t g_arena_len;
/* trust anchors, loaded once: [0] the server's, [1] the proxy's */
static const br_x509_trust_anchor *g_anchors[2];
static size_t g_anchor_count[2];
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: autobahn_client [--host H] [--port P] [--agent NAME] [--case N] [--proxy URL]\n"
            "                       [--tls] [--cacert FILE] [--proxy-cacert FILE] [--no-shutdown]\n"
            "                       [--timeout SECONDS] [--case-timeout SECONDS]\n"
            "                       [--max-message BYTES] [--stats] [--quiet] [--features]\n"
            "                       [--deflate] [--client-max-window-bits N|none] [--server-max-window-bits N]\n"
            "                       [--client-no-context-takeover] [--server-no-context-takeover]\n");
}

#ifndef WSPROXY_NO_TLS
/* Reads a PEM bundle (at most MAX_PEM_BYTES) into trust anchors kept for the whole run:
   the library tells the sizes, then fills caller memory. */
static int load_trust(const char *path, int slot)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    char *pem = NULL;
    br_x509_trust_anchor *tas = NULL;
    unsigned char *mem = NULL;
    wsproxy_pem_result need;
    int ok = 0;
    if (f && fstat(fileno(f), &st) == 0 && st.st_size > 0 && st.st_size <= MAX_PEM_BYTES &&
        (pem = (char *)malloc((size_t)st.st_size)) != NULL &&
        fread(pem, 1, (size_t)st.st_size, f) == (size_t)st.st_size &&
        wsproxy_pem_trust_anchors(pem, (size_t)st.st_size, NULL, 0, NULL, 0, &need) != WSPROXY_E_PEM_SYNTAX &&
        need.anchors > 0 &&
        (tas = (br_x509_trust_anchor *)calloc(need.anchors, sizeof *tas)) != NULL &&
        (mem = (unsigned char *)malloc(need.bytes_needed + 1)) != NULL &&
        wsproxy_pem_trust_anchors(pem, (size_t)st.st_size, tas, need.anchors, mem,
                                  need.bytes_needed + 1, &need) == WSPROXY_OK)
        ok = 1;
    if (f) fclose(f);
    free(pem);
    if (!ok) {
        fprintf(stderr, "autobahn_client: %s: no usable certificates (or not readable)\n", path);
        free(tas);
        free(mem);
        return -1;
    }
    g_anchors[slot] = tas;   /* mem stays allocated: the anchors point into it */
    g_anchor_count[slot] = need.anchors;
    return 0;
}
#endif

/* Opens a non-blocking TCP connection; returns the fd, or -1 with *err set. */
static int start_connect(const char *host, unsigned port, int *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int fd = -1, rc, one = 1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof portstr, "%u", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "autobahn_client: cannot resolve %s: %s\n", host, gai_strerror(rc));
        *err = EHOSTUNREACH;
        return -1;
    }
    *err = ECONNREFUSED;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) { *err = errno; continue; }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        /* small frames (pongs, close replies) go out at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) break;
        *err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Sends what the client has queued; returns -1 when the socket failed. */
static int flush_some(wsproxy_client *c, int fd)
{
    size_t n;
    const unsigned char *p;
    while ((p = wsproxy_send_buf(c, &n)) != NULL) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) { wsproxy_send_ack(c, (size_t)w); continue; }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
        return -1;
    }
    return 0;
}

/* After the WebSocket connection ended: sends what is still queued (the close frame),
   then waits up to timeout_s for the server to end the TCP connection (RFC 6455 7.1.1:
   the server closes first), discarding anything that arrives, and closes the socket.
   With half_close the client also ends its sending side first: used when it failed the
   connection, so the server sees the close frame followed by FIN rather than a reset. */
static void finish_socket(wsproxy_client *c, int fd, double timeout_s, int half_close)
{
    double deadline = now_s() + timeout_s;
    int flushed = 0, shut = 0;
    for (;;) {
        struct pollfd pfd;
        size_t n;
        double left = deadline - now_s();
        if (left <= 0) break;
        if (!flushed) {
            if (flush_some(c, fd) < 0) break;
            flushed = wsproxy_send_buf(c, &n) == NULL;
        }
        if (flushed && half_close && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        pfd.fd = fd;
        pfd.events = (short)(POLLIN | (flushed ? 0 : POLLOUT));
        pfd.revents = 0;
        if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            unsigned char scratch[4096];
            ssize_t r = recv(fd, scratch, sizeof scratch, 0);
            if (r == 0) break;                       /* the server closed: done */
            if (r < 0 && errno != EAGAIN && errno != EINTR) break;
        }
    }
    close(fd);
}

static void percent_encode(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

/* One WebSocket connection to path; echoes in SESSION_CASE, reads the count in
   SESSION_COUNT. Returns 0 when it ran, -1 when wsproxy_init refused the config. */
static int run_session(const struct options *o, const char *path, int kind, struct outcome *out)
{
    wsproxy_client *c = &g_client;
    wsproxy_config cfg;
    char url[1024];
    int fd, err = 0, connecting = 1, last_wait = -1, finished = 0, rc, have_ev = 0;
    double deadline = 0, t_start = now_s();
    /* the echo in progress: the message stays in g_msgbuf until it is out */
    int echo_pending = 0, echo_streaming = 0, echo_opcode = 0;
    size_t echo_len = 0, echo_off = 0;

    memset(out, 0, sizeof *out);
    out->count = -1;
    if (strchr(o->host, ':'))
        snprintf(url, sizeof url, "%s://[%s]:%u%s", o->tls ? "wss" : "ws", o->host, o->port, path);
    else
        snprintf(url, sizeof url, "%s://%s:%u%s", o->tls ? "wss" : "ws", o->host, o->port, path);
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.proxy = o->proxy;
    cfg.random = wsproxy_os_random;
    cfg.message_buffer = g_msgbuf;
    cfg.message_buffer_len = o->max_message;
    cfg.max_message = o->max_message;
    cfg.deflate = o->deflate;   /* its arena is made once in main */
#ifndef WSPROXY_NO_TLS
    {
        size_t need = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
        if (need > g_arena_len) {
            free(g_arena);
            g_arena = malloc(need);
            g_arena_len = g_arena ? need : 0;
        }
        cfg.tls_arena = g_arena;
        cfg.tls_arena_len = g_arena_len;
        cfg.trust_anchors = g_anchors[0];
        cfg.trust_anchors_count = g_anchor_count[0];
        cfg.proxy_trust_anchors = g_anchors[1];
        cfg.proxy_trust_anchors_count = g_anchor_count[1];
    }
#endif
    rc = wsproxy_init(c, &cfg);
    if (rc != WSPROXY_OK) {
        char msg[600];
        wsproxy_describe(c, msg, sizeof msg);
        fprintf(stderr, "autobahn_client: %s\n", msg);
        return -1;
    }
    fd = start_connect(wsproxy_connect_host(c), wsproxy_connect_port(c), &err);
    if (fd < 0) wsproxy_socket_closed(c, err);

    for (;;) {
        struct pollfd pfd;
        wsproxy_event ev;
        size_t n;
        int timeout_ms = 1000, wait;

        /* 1. push the pending echo as far as the send buffer allows */
        if (echo_pending) {
            int st = wsproxy_get_state(c);
            if (st != WSPROXY_STATE_OPEN) {
                echo_pending = 0;   /* failed or closing: it cannot be sent any more */
            } else if (!echo_streaming) {
                rc = WSPROXY_E_SEND_TOO_LARGE;
                if (echo_len + WSPROXY_FRAME_HEADER_MAX <= WSPROXY_SEND_BUFFER_BYTES) {
                    rc = wsproxy_send(c, echo_opcode, g_msgbuf, echo_len, 1);
                    if (rc != WSPROXY_E_WOULD_BLOCK && rc != WSPROXY_E_SEND_TOO_LARGE) {
                        if (rc == WSPROXY_OK) out->echoed++;
                        echo_pending = 0;
                    }
                }
                if (rc == WSPROXY_E_SEND_TOO_LARGE) {   /* larger than a frame can be now: stream it */
                    rc = wsproxy_send_begin(c, echo_opcode, echo_len, 1);
                    if (rc == WSPROXY_OK) echo_streaming = 1;
                    else if (rc != WSPROXY_E_WOULD_BLOCK) echo_pending = 0;
                }
            }
            if (echo_pending && echo_streaming) {
                echo_off += wsproxy_send_data(c, g_msgbuf + echo_off, echo_len - echo_off);
                if (echo_off == echo_len) {
                    out->echoed++;
                    echo_pending = echo_streaming = 0;
                }
            }
        }

        /* 2. events, while no echo holds the message buffer */
        while (!echo_pending && !finished && (have_ev || wsproxy_poll(c, &ev))) {
            have_ev = 0;
            switch (ev.type) {
            case WSPROXY_EV_OPEN:
                out->connected = 1;
                break;
            case WSPROXY_EV_MESSAGE:
                if (kind == SESSION_CASE) {
                    /* ev.data is g_msgbuf (first == fin == 1: a whole message) */
                    echo_pending = 1;
                    echo_streaming = 0;
                    echo_opcode = ev.opcode;
                    echo_len = ev.len;
                    echo_off = 0;
                } else if (kind == SESSION_COUNT && ev.opcode == WSPROXY_OP_TEXT) {
                    char num[32];
                    size_t k = ev.len < sizeof num - 1 ? ev.len : sizeof num - 1;
                    memcpy(num, ev.data, k);
                    num[k] = '\0';
                    out->count = strtol(num, NULL, 10);
                }
                break;
            case WSPROXY_EV_CLOSE:
                out->closed = 1;
                out->close_code = ev.close_code;
                finished = 1;
                break;
            case WSPROXY_EV_ERROR:
                out->error = wsproxy_error(c);
                out->close_code = wsproxy_error_info_get(c)->close_code;
                finished = 2;
                break;
            default:   /* TUNNEL, PING (answered by the library), PONG */
                break;
            }
        }
        if (finished) {
            if (fd >= 0 && !connecting)
                finish_socket(c, fd, o->timeout_s, finished == 2);
            else if (fd >= 0)
                close(fd);
            return 0;
        }
        if (fd < 0) continue;   /* the failure is reported by the next poll */

        /* 3. timers: the opening handshake, and the case as a whole */
        if (now_s() - t_start > o->case_timeout_s) {
            out->timed_out = 1;
            close(fd);
            return 0;
        }
        wait = wsproxy_waiting_for(c);
        if (wait != last_wait) {
            last_wait = wait;
            deadline = wait == WSPROXY_WAIT_NONE ? 0 : now_s() + o->timeout_s;
        }
        if (deadline) {
            double left = deadline - now_s();
            if (left <= 0) { wsproxy_timeout(c); continue; }
            if (left * 1000 < timeout_ms) timeout_ms = (int)(left * 1000) + 1;
        }

        /* 4. socket I/O */
        pfd.fd = fd;
        pfd.events = 0;
        pfd.revents = 0;
        if (connecting) {
            pfd.events = POLLOUT;
        } else {
            if (wsproxy_send_buf(c, &n)) pfd.events |= POLLOUT;
            if (!echo_pending && wsproxy_recv_buf(c, &n)) pfd.events |= POLLIN;
        }
        if (pfd.events == 0) continue;   /* only an echo to refill: go round */
        /* Before sleeping, ask once more. The loop above stopped when wsproxy_poll said
           "nothing"; that must hold until the socket or the timer brings something, but
           with TLS in TLS the library can still hold a decrypted record that a second call
           turns into an event (the target engine kept bytes the frame stage had no room
           for). Counted and reported as "late events", so the stall shows without
           costing a second per case. */
        if (!echo_pending && !finished && wsproxy_poll(c, &ev)) {
            out->late_events++;
            have_ev = 1;
            continue;
        }
        if (poll(&pfd, 1, timeout_ms) < 0) {
            if (errno == EINTR) continue;
            wsproxy_socket_closed(c, errno);
            echo_pending = 0;
            continue;
        }
        if (connecting && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr) {
                wsproxy_socket_closed(c, soerr);
                close(fd);
                fd = -1;
                continue;
            }
            connecting = 0;
        }
        if (!connecting && (pfd.revents & POLLOUT)) {
            if (flush_some(c, fd) < 0) {
                wsproxy_socket_closed(c, errno);
                echo_pending = 0;
            }
        }
        if (!connecting && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !echo_pending) {
            unsigned char *p = wsproxy_recv_buf(c, &n);
            if (p) {
                ssize_t r = recv(fd, p, n, 0);
                if (r > 0) wsproxy_recv_ack(c, (size_t)r);
                else if (r == 0) wsproxy_socket_closed(c, 0);
                else if (errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
            }
        }
    }
}

/* Peak resident memory of this process in KiB: VmHWM where /proc has it (getrusage's
   ru_maxrss on Linux also counts the process image before exec), else ru_maxrss. */
static long peak_rss_kib(void)
{
    struct rusage ru;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char buf[256];
        long v = -1;
        while (fgets(buf, sizeof buf, f))
            if (!strncmp(buf, "VmHWM:", 6)) { v = strtol(buf + 6, NULL, 10); break; }
        fclose(f);
        if (v >= 0) return v;
    }
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss;   /* KiB on Linux, bytes on some BSDs */
}

static void describe_outcome(const struct outcome *r, char *buf, size_t cap)
{
    if (r->timed_out)
        snprintf(buf, cap, "timeout (case took too long), echoed %ld", r->echoed);
    else if (!r->connected && r->error)
        snprintf(buf, cap, "handshake failed %s", wsproxy_strerror(r->error));
    else if (r->closed && r->close_code == 1005)
        snprintf(buf, cap, "closed by server (no code), echoed %ld", r->echoed);
    else if (r->closed)
        snprintf(buf, cap, "closed by server with %d, echoed %ld", r->close_code, r->echoed);
    else if (r->error && r->close_code && r->close_code != 1006)
        snprintf(buf, cap, "failed %s, sent close %d, echoed %ld", wsproxy_strerror(r->error),
                 r->close_code, r->echoed);
    else if (r->error)
        snprintf(buf, cap, "ended %s, echoed %ld", wsproxy_strerror(r->error), r->echoed);
    else
        snprintf(buf, cap, "ended, echoed %ld", r->echoed);
}

int main(int argc, char **argv)
{
    struct options o;
    struct outcome r;
    char agent[256], path[512], line[300];
    long count, first, last, i;
    int k;

    memset(&o, 0, sizeof o);
    o.host = "127.0.0.1";
    o.port = 9001;
    o.agent = "wsproxy";
    o.timeout_s = 5;
    o.case_timeout_s = 600;
    o.max_message = DEFAULT_MAX_MESSAGE;
    for (k = 1; k < argc; k++) {
        const char *a = argv[k];
        int v = k + 1 < argc;
        if (!strcmp(a, "--host") && v) o.host = argv[++k];
        else if (!strcmp(a, "--port") && v) o.port = (unsigned)strtoul(argv[++k], NULL, 10);
        else if (!strcmp(a, "--agent") && v) o.agent = argv[++k];
        else if (!strcmp(a, "--case") && v) o.only_case = strtol(argv[++k], NULL, 10);
        else if (!strcmp(a, "--proxy") && v) o.proxy = argv[++k];
        else if (!strcmp(a, "--tls")) o.tls = 1;
        else if (!strcmp(a, "--cacert") && v) o.cacert = argv[++k];
        else if (!strcmp(a, "--proxy-cacert") && v) o.proxy_cacert = argv[++k];
        else if (!strcmp(a, "--no-shutdown")) o.no_shutdown = 1;
        else if (!strcmp(a, "--features")) {
#ifndef WSPROXY_NO_TLS
            printf("tls\n");
#endif
#ifdef WSPROXY_DEFLATE
            printf("permessage-deflate\n");
#endif
            return 0;
        }
        else if (!strcmp(a, "--deflate")) o.deflate.enable = 1;
        else if (!strcmp(a, "--client-max-window-bits") && v) {
            const char *w = argv[++k];
            o.deflate.client_max_window_bits = !strcmp(w, "none") ? -1 : atoi(w);
        }
        else if (!strcmp(a, "--server-max-window-bits") && v) o.deflate.server_max_window_bits = atoi(argv[++k]);
        else if (!strcmp(a, "--client-no-context-takeover")) o.deflate.client_no_context_takeover = 1;
        else if (!strcmp(a, "--server-no-context-takeover")) o.deflate.server_no_context_takeover = 1;
        else if (!strcmp(a, "--timeout") && v) o.timeout_s = atof(argv[++k]);
        else if (!strcmp(a, "--case-timeout") && v) o.case_timeout_s = atof(argv[++k]);
        else if (!strcmp(a, "--max-message") && v) o.max_message = (size_t)strtoull(argv[++k], NULL, 10);
        else if (!strcmp(a, "--stats")) o.stats = 1;
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else { usage(); return 1; }
    }
    if (o.port == 0 || o.port > 65535 || o.timeout_s <= 0 || o.case_timeout_s <= 0 ||
        o.max_message == 0 || o.only_case < 0 || !o.agent[0]) {
        usage();
        return 1;
    }
#ifdef WSPROXY_NO_TLS
    if (o.tls || (o.proxy && !strncmp(o.proxy, "https:", 6))) {
        fprintf(stderr, "autobahn_client: built without TLS (WSPROXY_NO_TLS)\n");
        return 1;
    }
#else
    if (o.tls && load_trust(o.cacert ? o.cacert : SYSTEM_BUNDLE, 0) != 0) return 1;
    if (o.proxy && (!strncmp(o.proxy, "https:", 6) || !strncmp(o.proxy, "HTTPS:", 6)) &&
        load_trust(o.proxy_cacert ? o.proxy_cacert : SYSTEM_BUNDLE, 1) != 0)
        return 1;
#endif
    if (o.deflate.enable) {
        /* every message compressed (threshold 0), or sections 12 and 13 would test only
           the inflating side; one arena for the whole run */
#ifndef WSPROXY_DEFLATE
        fprintf(stderr, "autobahn_client: built without permessage-deflate (WSPROXY_DEFLATE)\n");
        return 1;
#endif
        o.deflate.arena_len = wsproxy_deflate_arena_size(&o.deflate);
        o.deflate.arena = malloc(o.deflate.arena_len);
        if (!o.deflate.arena) {
            fprintf(stderr, "autobahn_client: cannot allocate %zu bytes\n", o.deflate.arena_len);
            return 1;
        }
    }
    g_msgbuf = (unsigned char *)malloc(o.max_message);
    if (!g_msgbuf) {
        fprintf(stderr, "autobahn_client: cannot allocate %zu bytes\n", o.max_message);
        return 1;
    }
    percent_encode(o.agent, agent, sizeof agent);

    if (run_session(&o, "/getCaseCount", SESSION_COUNT, &r) != 0) return 1;
    if (!r.connected || r.count < 0) {
        fprintf(stderr, "autobahn_client: could not get the case count from %s:%u (%s)\n",
                o.host, o.port, r.error ? wsproxy_strerror(r.error) : "no count received");
        return 2;
    }
    count = r.count;
    if (!o.quiet) printf("%ld cases\n", count);
    first = 1;
    last = count;
    if (o.only_case) {
        if (o.only_case > count) {
            fprintf(stderr, "autobahn_client: case %ld out of range 1..%ld\n", o.only_case, count);
            return 1;
        }
        first = last = o.only_case;
    }
    for (i = first; i <= last; i++) {
        snprintf(path, sizeof path, "/runCase?case=%ld&agent=%s", i, agent);
        if (run_session(&o, path, SESSION_CASE, &r) != 0) return 1;
        /* no server, no proxy, or TLS failed: nothing more can run. A refused opening
           handshake (4xx codes) is the case's business: the server judges it. */
        if (!r.connected && r.error && (r.error < WSPROXY_E_CONNECT_REFUSED ||
                             r.error == WSPROXY_E_CONNECT_REFUSED || r.error >= WSPROXY_E_TLS_PROXY)) {
            fprintf(stderr, "autobahn_client: case %ld: could not connect (%s)\n", i,
                    wsproxy_strerror(r.error));
            return 2;
        }
        if (!o.quiet) {
            describe_outcome(&r, line, sizeof line);
            if (r.late_events)
                printf("case %ld: %s; late events %ld", i, line, r.late_events);
            else
                printf("case %ld: %s", i, line);
            if (o.stats) printf("; peak rss %ld KiB", peak_rss_kib());
            printf("\n");
            fflush(stdout);
        }
    }
    /* as the suite's own clients end a run: the server writes its reports, then exits */
    snprintf(path, sizeof path, "/updateReports?agent=%s%s", agent,
             o.no_shutdown ? "" : "&shutdownOnComplete=true");
    if (run_session(&o, path, SESSION_REPORT, &r) != 0) return 1;
    /* a server shutting down may drop the connection instead of closing it */
    if (!r.closed && !(r.connected && !o.no_shutdown && r.error == WSPROXY_E_CONNECTION_LOST)) {
        fprintf(stderr, "autobahn_client: updateReports did not complete (%s)\n",
                r.error ? wsproxy_strerror(r.error) : "no close");
        return 2;
    }
    if (!o.quiet) printf("reports updated for agent %s\n", o.agent);
    free(g_msgbuf);
    return 0;
}
