/* wspcat: a poll()-based WebSocket client built on wsproxy.h.
   Build, copied next to wsproxy.h: cc -std=c99 -O2 -o wspcat wspcat.c -lbearssl

   wspcat [--proxy URL] [-H "Name: value"]... [--proxy-header "Name: value"]...
          [--protocol P]... [--origin O] [--timeout SECONDS] [--timing]
          [--print-protocol] [--cacert FILE] [--proxy-cacert FILE] [--insecure]
          [--proxy-insecure] [--verbose] [--ping SECONDS] URL

   Proxy: --proxy URL (http://, https://, socks4://, socks4a://, socks5://, socks5h://),
   or else the environment as curl reads it (ws_proxy / http_proxy / all_proxy for
   ws://, wss_proxy / https_proxy / all_proxy for wss://, see the README), with NO_PROXY
   or --noproxy LIST applied to either. --proxy "" forces a direct connection.
   --show-proxy URL prints the proxy that would be used for URL (password masked), or
   DIRECT, and exits. For socks4:// and socks5:// wspcat resolves the server's name
   itself and hands the address to the library.

   --verbose logs each stage on stderr with its time (TCP connected, TLS to the proxy,
   tunnel up, TLS to the server, upgraded, closing), never credentials or headers.
   --ping SECONDS sends a ping that often while open; a ping still unanswered when the
   next is due ends the connection (exit 7, WSPROXY_E_PONG_TIMEOUT): the library waits
   for the pong, wspcat arms that wait's timer for SECONDS.

   TLS (wss:// and https:// proxies): each hop verifies its peer against the system
   bundle (/etc/ssl/certs/ca-certificates.crt) unless --cacert (server) or
   --proxy-cacert (proxy) names another PEM file; --insecure and --proxy-insecure turn
   verification off for that hop only (curl's names).

   Sends each line of standard input as a text message and prints each message that
   arrives on its own line. At the end of input it closes with 1000, waits for the
   server's close and exits.

   Exit codes:
     0  success (the close handshake completed)
     1  usage or configuration error (bad option, URL or header)
     2  could not connect, or the connection was lost
     3  the proxy refused the tunnel (non-2xx, garbled or truncated reply)
     4  the proxy wants authentication (407)
     5  the WebSocket handshake failed
     6  the server broke the WebSocket protocol
     7  timeout (proxy reply, handshake, close reply or pong)
     8  TLS failed (to the proxy, through the tunnel, or to the server) */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include "wsproxy.h"

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LIST 64
#define MAX_LINE (64u * 1024u * 1024u)

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_CONNECT = 2, EXIT_PROXY = 3, EXIT_PROXY_AUTH = 4,
       EXIT_HANDSHAKE = 5, EXIT_PROTOCOL = 6, EXIT_TIMEOUT = 7, EXIT_TLS = 8 };

static int exit_code_for(int err)
{
    switch (err) {
    case WSPROXY_E_PROXY_REFUSED: case WSPROXY_E_CONNECT_REFUSED: case WSPROXY_E_CONNECTION_LOST:
        return EXIT_CONNECT;
    case WSPROXY_E_PROXY_AUTH:
        return EXIT_PROXY_AUTH;
    case WSPROXY_E_PROXY_TIMEOUT: case WSPROXY_E_HANDSHAKE_TIMEOUT: case WSPROXY_E_CLOSE_TIMEOUT:
    case WSPROXY_E_PONG_TIMEOUT:
        return EXIT_TIMEOUT;
    default:
        break;
    }
    if (err == WSPROXY_E_SOCKS_AUTH_FAILED || err == WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD)
        return EXIT_PROXY_AUTH;
    if (err >= 340 && err < 400) return EXIT_USAGE;
    if (err >= 200 && err < 340) return EXIT_PROXY;
    if (err >= 400 && err < 500) return EXIT_HANDSHAKE;
    if (err >= 600 && err < 700) return EXIT_TLS;
    if (err >= 500) return EXIT_PROTOCOL;
    return EXIT_USAGE;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: wspcat [--proxy URL] [-H \"Name: value\"]... [--proxy-header \"Name: value\"]...\n"
            "              [--protocol P]... [--origin O] [--timeout SECONDS] [--timing]\n"
            "              [--print-protocol] [--cacert FILE] [--proxy-cacert FILE]\n"
            "              [--insecure] [--proxy-insecure] [--verbose] [--ping SECONDS]\n"
            "              [--noproxy LIST] ws[s]://host[:port]/path\n"
            "       wspcat [--proxy URL] [--noproxy LIST] --show-proxy URL\n");
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = (const char *)p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

#ifndef WSPROXY_NO_TLS
/* Loads a PEM bundle into trust anchors (memory is kept for the process's life). */
static int load_anchors(const char *path, const br_x509_trust_anchor **out, size_t *count)
{
    FILE *f = fopen(path, "rb");
    char *pem = NULL;
    size_t len = 0, cap = 0;
    br_x509_trust_anchor *tas;
    unsigned char *mem;
    wsproxy_pem_result r;
    int rc;
    if (!f) { fprintf(stderr, "wspcat: cannot open %s\n", path); return -1; }
    for (;;) {
        size_t got;
        if (cap - len < 65536) {
            char *p = (char *)realloc(pem, cap = cap ? cap * 2 : 262144);
            if (!p) { fclose(f); free(pem); return -1; }
            pem = p;
        }
        got = fread(pem + len, 1, cap - len, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    rc = wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r);   /* sizes first */
    if (rc == WSPROXY_E_PEM_SYNTAX || r.anchors == 0) {
        fprintf(stderr, "wspcat: %s: no usable certificates\n", path);
        free(pem);
        return -1;
    }
    tas = (br_x509_trust_anchor *)calloc(r.anchors, sizeof *tas);
    mem = (unsigned char *)malloc(r.bytes_needed ? r.bytes_needed : 1);
    if (!tas || !mem ||
        wsproxy_pem_trust_anchors(pem, len, tas, r.anchors, mem, r.bytes_needed, &r) != WSPROXY_OK) {
        fprintf(stderr, "wspcat: %s: cannot load certificates\n", path);
        free(pem); free(tas); free(mem);
        return -1;
    }
    free(pem);
    *out = tas;
    *count = r.anchors;
    return 0;
}
#endif

/* Prints a proxy URL with its password masked. */
static void print_masked(FILE *f, const char *proxy)
{
    wsproxy_url u;
    if (wsproxy_url_parse(proxy, strlen(proxy), &u) == WSPROXY_OK && u.password) {
        fprintf(f, "%.*s***%s\n", (int)(u.password - proxy), proxy, u.password + u.password_len);
        return;
    }
    fprintf(f, "%s\n", proxy);
}

/* The proxy for url: explicit (NO_PROXY still applies, as in curl), else the
   environment. Returns 0 with out set ("" for direct), or an error code. */
static int choose_proxy(const char *url, const char *explicit_proxy, const char *noproxy,
                        char *out, size_t cap, const char **source)
{
    int rc, bypass = 0;
    if (explicit_proxy) {
        *source = "--proxy";
        out[0] = '\0';
        if (!explicit_proxy[0]) return WSPROXY_OK;
        rc = wsproxy_bypass_proxy(url, wsproxy_os_getenv, NULL, noproxy, &bypass);
        if (rc != WSPROXY_OK) return rc;
        if (!bypass) {
            if (strlen(explicit_proxy) >= cap) return WSPROXY_E_URL_TOO_LONG;
            strcpy(out, explicit_proxy);
        }
        return WSPROXY_OK;
    } else {
        wsproxy_env_info info;
        rc = wsproxy_proxy_from_env(url, wsproxy_os_getenv, NULL, noproxy, out, cap, &info);
        *source = info.proxy_var;
        return rc;
    }
}

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
        fprintf(stderr, "wspcat: cannot resolve %s: %s\n", host, gai_strerror(rc));
        *err = EHOSTUNREACH;
        return -1;
    }
    *err = ECONNREFUSED;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) { *err = errno; continue; }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        /* TLS handshakes write several small records in a row; without this Nagle
           holds the last one back for a delayed ACK (about 40 ms per handshake) */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) break;
        *err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    static wsproxy_client client;   /* about 40 KiB: keep it off the stack */
    const char *headers[MAX_LIST + 1], *proxy_headers[MAX_LIST + 1], *protocols[MAX_LIST + 1];
    int nh = 0, nph = 0, np = 0, timing = 0, print_protocol = 0, i, fd, err = 0;
    int connecting = 1, stdin_open = 1, closing_sent = 0, last_wait = -1, rc;
    double timeout_s = 10, t_start, deadline = 0;
    const char *cacert = NULL, *proxy_cacert = NULL, *explicit_proxy = NULL, *noproxy = NULL;
    const char *show_proxy = NULL, *proxy_source = NULL;
    static char proxy_buf[WSPROXY_MAX_URL_BYTES + 1];
    unsigned char target_addr[16];
    int insecure = 0, proxy_insecure = 0, verbose = 0;
    double ping_every = 0, next_ping = 0;
    unsigned ping_count = 0;
    wsproxy_config cfg;
    wsproxy_client *c = &client;
    char *line = NULL;                /* input not yet sent */
    size_t line_len = 0, line_cap = 0, streaming_left = 0, streaming_off = 0;
    memset(&cfg, 0, sizeof cfg);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--proxy") && has_value) explicit_proxy = argv[++i];
        else if (!strcmp(a, "--noproxy") && has_value) noproxy = argv[++i];
        else if (!strcmp(a, "--show-proxy") && has_value) show_proxy = argv[++i];
        else if ((!strcmp(a, "-H") || !strcmp(a, "--header")) && has_value && nh < MAX_LIST) headers[nh++] = argv[++i];
        else if (!strcmp(a, "--proxy-header") && has_value && nph < MAX_LIST) proxy_headers[nph++] = argv[++i];
        else if (!strcmp(a, "--protocol") && has_value && np < MAX_LIST) protocols[np++] = argv[++i];
        else if (!strcmp(a, "--origin") && has_value) cfg.origin = argv[++i];
        else if (!strcmp(a, "--timeout") && has_value) timeout_s = atof(argv[++i]);
        else if (!strcmp(a, "--timing")) timing = 1;
        else if (!strcmp(a, "--print-protocol")) print_protocol = 1;
        else if (!strcmp(a, "--cacert") && has_value) cacert = argv[++i];
        else if (!strcmp(a, "--proxy-cacert") && has_value) proxy_cacert = argv[++i];
        else if (!strcmp(a, "--insecure") || !strcmp(a, "-k")) insecure = 1;
        else if (!strcmp(a, "--proxy-insecure")) proxy_insecure = 1;
        else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) verbose = 1;
        else if (!strcmp(a, "--ping") && has_value) ping_every = atof(argv[++i]);
        else if (a[0] == '-' && a[1] != '\0') { usage(); return EXIT_USAGE; }
        else if (!cfg.url) cfg.url = a;
        else { usage(); return EXIT_USAGE; }
    }
    if (show_proxy) {
        rc = choose_proxy(show_proxy, explicit_proxy, noproxy, proxy_buf, sizeof proxy_buf, &proxy_source);
        if (rc != WSPROXY_OK) {
            fprintf(stderr, "wspcat: %s: %s\n", wsproxy_strerror(rc), wsproxy_error_message(rc));
            return EXIT_USAGE;
        }
        if (proxy_buf[0]) print_masked(stdout, proxy_buf);
        else printf("DIRECT\n");
        return EXIT_OK;
    }
    if (!cfg.url || timeout_s <= 0) { usage(); return EXIT_USAGE; }
    rc = choose_proxy(cfg.url, explicit_proxy, noproxy, proxy_buf, sizeof proxy_buf, &proxy_source);
    if (rc != WSPROXY_OK) {
        fprintf(stderr, "wspcat: %s: %s\n", wsproxy_strerror(rc), wsproxy_error_message(rc));
        return EXIT_USAGE;
    }
    cfg.proxy = proxy_buf[0] ? proxy_buf : NULL;
    if (cfg.proxy && wsproxy_needs_target_address(cfg.url, cfg.proxy)) {
        /* socks4:// and socks5:// carry addresses: the caller resolves */
        wsproxy_url u;
        char host[256];
        struct addrinfo hints, *res = NULL;
        wsproxy_url_parse(cfg.url, strlen(cfg.url), &u);
        snprintf(host, sizeof host, "%.*s", (int)u.host_len, u.host);
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
            fprintf(stderr, "wspcat: cannot resolve %s\n", host);
            return EXIT_CONNECT;
        }
        if (res->ai_family == AF_INET) {
            memcpy(target_addr, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, 4);
            cfg.target_address_type = WSPROXY_HOST_IPV4;
        } else {
            memcpy(target_addr, &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr, 16);
            cfg.target_address_type = WSPROXY_HOST_IPV6;
        }
        cfg.target_address = target_addr;
        freeaddrinfo(res);
    }
    headers[nh] = proxy_headers[nph] = protocols[np] = NULL;
    cfg.headers = headers;
    cfg.proxy_headers = proxy_headers;
    cfg.protocols = protocols;
    cfg.random = wsproxy_os_random;
#ifndef WSPROXY_NO_TLS
    {
        size_t arena = wsproxy_tls_arena_size(cfg.url, cfg.proxy);
        if (arena) {
            const char *t_file = cacert ? cacert : SYSTEM_BUNDLE;
            const char *p_file = proxy_cacert ? proxy_cacert : SYSTEM_BUNDLE;
            int wss = strncmp(cfg.url, "wss:", 4) == 0 || strncmp(cfg.url, "WSS:", 4) == 0;
            int https_proxy = cfg.proxy && (strncmp(cfg.proxy, "https:", 6) == 0 ||
                                            strncmp(cfg.proxy, "HTTPS:", 6) == 0);
            cfg.tls_arena = malloc(arena);
            cfg.tls_arena_len = arena;
            cfg.insecure = insecure;
            cfg.proxy_insecure = proxy_insecure;
            if (!cfg.tls_arena) return EXIT_USAGE;
            if (wss && !insecure &&
                load_anchors(t_file, &cfg.trust_anchors, &cfg.trust_anchors_count) != 0)
                return EXIT_USAGE;
            if (https_proxy && !proxy_insecure &&
                load_anchors(p_file, &cfg.proxy_trust_anchors, &cfg.proxy_trust_anchors_count) != 0)
                return EXIT_USAGE;
        }
    }
#else
    (void)cacert; (void)proxy_cacert; (void)insecure; (void)proxy_insecure;
#endif

    rc = wsproxy_init(c, &cfg);
    if (rc != WSPROXY_OK) {
        char msg[600];
        wsproxy_describe(c, msg, sizeof msg);
        fprintf(stderr, "wspcat: %s\n", msg);
        return exit_code_for(rc);
    }
    t_start = now_ms();
    if (verbose && cfg.proxy && proxy_source)
        fprintf(stderr, "* proxy chosen by %s\n", proxy_source);
    if (verbose)   /* host and port only: a proxy URL may carry credentials */
        fprintf(stderr, "* [%8.3f ms] connecting to %s port %u (%s)\n", 0.0, wsproxy_connect_host(c),
                wsproxy_connect_port(c), cfg.proxy && cfg.proxy[0] ? "proxy" : "server");
    fd = start_connect(wsproxy_connect_host(c), wsproxy_connect_port(c), &err);
    if (fd < 0) wsproxy_socket_closed(c, err);

    for (;;) {
        struct pollfd pfd[2];
        wsproxy_event ev;
        size_t n;
        int timeout_ms = -1, wait = wsproxy_waiting_for(c), finished = 0;

        /* events first: they may queue bytes (pong, close echo) */
        while (wsproxy_poll(c, &ev)) {
            if (verbose && ev.type == WSPROXY_EV_TLS)
                fprintf(stderr, "* [%8.3f ms] TLS to the %s done (ALPN %s)\n", now_ms() - t_start,
                        ev.status == WSPROXY_HOP_PROXY ? "proxy" : "server", ev.protocol[0] ? ev.protocol : "none");
            if (verbose && ev.type == WSPROXY_EV_TUNNEL)
                fprintf(stderr, "* [%8.3f ms] tunnel up (HTTP %d)\n", now_ms() - t_start, ev.status);
            if (verbose && ev.type == WSPROXY_EV_OPEN)
                fprintf(stderr, "* [%8.3f ms] upgraded (subprotocol %s)\n", now_ms() - t_start,
                        ev.protocol[0] ? ev.protocol : "none");
            if (ev.type == WSPROXY_EV_OPEN) {
                if (timing) fprintf(stderr, "handshake: %.3f ms\n", now_ms() - t_start);
                if (print_protocol) fprintf(stderr, "protocol: %s\n", ev.protocol);
                if (ping_every > 0) next_ping = now_ms() + ping_every * 1000;
            } else if (ev.type == WSPROXY_EV_PONG) {
                if (verbose) fprintf(stderr, "* [%8.3f ms] pong %.*s\n", now_ms() - t_start, (int)ev.len, (const char *)ev.data);
            } else if (ev.type == WSPROXY_EV_MESSAGE) {
                if (write_all(1, ev.data, ev.len) != 0) return EXIT_CONNECT;
                if (ev.fin && write_all(1, "\n", 1) != 0) return EXIT_CONNECT;
            } else if (ev.type == WSPROXY_EV_CLOSE) {
                if (!closing_sent || ev.close_code != 1000)
                    fprintf(stderr, "closed by server: %d %.*s\n", ev.close_code, (int)ev.len,
                            (const char *)ev.data);
                finished = 1;
            } else if (ev.type == WSPROXY_EV_ERROR) {
                char msg[600];
                wsproxy_describe(c, msg, sizeof msg);
                fprintf(stderr, "wspcat: %s\n", msg);
                finished = 2;
            }
        }
        if (finished) {
            /* best effort: the close frame (echo or error code) goes out before we leave */
            const unsigned char *p;
            while (fd >= 0 && !connecting && (p = wsproxy_send_buf(c, &n)) != NULL) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0) break;
                wsproxy_send_ack(c, (size_t)w);
            }
            if (fd >= 0) close(fd);
            free(line);
            return finished == 1 ? EXIT_OK : exit_code_for(wsproxy_error(c));
        }
        if (fd < 0) continue;   /* the failure is reported by the next poll */

        /* stdin: send complete lines while the connection is open */
        if (wsproxy_get_state(c) == WSPROXY_STATE_OPEN) {
            for (;;) {
                char *nl;
                if (streaming_left) {
                    size_t k = wsproxy_send_data(c, line + streaming_off, streaming_left);
                    streaming_off += k;
                    streaming_left -= k;
                    if (streaming_left) break;
                    memmove(line, line + streaming_off + 1, line_len - streaming_off - 1);
                    line_len -= streaming_off + 1;
                    continue;
                }
                nl = line_len ? (char *)memchr(line, '\n', line_len) : NULL;
                if (!nl) break;
                n = (size_t)(nl - line);
                if (n + WSPROXY_FRAME_HEADER_MAX <= WSPROXY_SEND_BUFFER_BYTES) {
                    rc = wsproxy_send_text(c, line, n);
                    if (rc == WSPROXY_E_WOULD_BLOCK) break;
                    if (rc == WSPROXY_E_TEXT_INVALID) fprintf(stderr, "wspcat: skipping a line that is not UTF-8\n");
                    else if (rc != WSPROXY_OK) break;
                    memmove(line, nl + 1, line_len - n - 1);
                    line_len -= n + 1;
                } else {
                    /* long line: stream it as one frame */
                    if (wsproxy_send_begin(c, WSPROXY_OP_TEXT, n, 1) != WSPROXY_OK) break;
                    streaming_off = 0;
                    streaming_left = n;
                }
            }
            if (!stdin_open && !streaming_left && !closing_sent &&
                (line_len == 0 || !memchr(line, '\n', line_len))) {
                if (line_len) {   /* a last line without newline */
                    if (wsproxy_send_text(c, line, line_len) == WSPROXY_E_WOULD_BLOCK) goto io;
                    line_len = 0;
                }
                if (wsproxy_close(c, 1000, "", 0) == WSPROXY_OK) {
                    closing_sent = 1;
                    if (verbose) fprintf(stderr, "* [%8.3f ms] end of input: closing (1000)\n", now_ms() - t_start);
                }
            }
        }
    io:
        /* timer: armed whenever what the client waits for changes */
        wait = wsproxy_waiting_for(c);
        if (wait != last_wait) {
            last_wait = wait;
            deadline = wait == WSPROXY_WAIT_NONE ? 0
                     : now_ms() + (wait == WSPROXY_WAIT_PONG ? ping_every : timeout_s) * 1000;
        }
        if (deadline) {
            double left = deadline - now_ms();
            if (left <= 0) { wsproxy_timeout(c); continue; }
            timeout_ms = (int)left + 1;
        }
        if (next_ping && wsproxy_get_state(c) == WSPROXY_STATE_OPEN) {
            double left = next_ping - now_ms();
            if (left <= 0) {
                char payload[32];
                snprintf(payload, sizeof payload, "%u", ++ping_count);
                /* while the last ping is unanswered its own timer (above) decides */
                if (wait != WSPROXY_WAIT_PONG && wsproxy_ping(c, payload, strlen(payload)) == WSPROXY_OK) {
                    if (verbose) fprintf(stderr, "* [%8.3f ms] ping %s\n", now_ms() - t_start, payload);
                }
                next_ping = now_ms() + ping_every * 1000;
                continue;
            }
            if (timeout_ms < 0 || left + 1 < timeout_ms) timeout_ms = (int)left + 1;
        }
        pfd[0].fd = fd;
        pfd[0].events = 0;
        pfd[1].fd = -1;
        pfd[1].events = POLLIN;
        if (connecting) {
            pfd[0].events = POLLOUT;
        } else {
            if (wsproxy_send_buf(c, &n)) pfd[0].events |= POLLOUT;
            if (wsproxy_recv_buf(c, &n)) pfd[0].events |= POLLIN;
            if (stdin_open && wsproxy_get_state(c) == WSPROXY_STATE_OPEN && !streaming_left &&
                !(line_len && memchr(line, '\n', line_len)))
                pfd[1].fd = 0;
        }
        if (poll(pfd, 2, timeout_ms) < 0) {
            if (errno == EINTR) continue;
            perror("poll");
            return EXIT_CONNECT;
        }
        if (connecting && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr) { wsproxy_socket_closed(c, soerr); close(fd); fd = -1; continue; }
            connecting = 0;
            if (verbose) fprintf(stderr, "* [%8.3f ms] TCP connected\n", now_ms() - t_start);
        }
        if (!connecting && (pfd[0].revents & POLLOUT)) {
            const unsigned char *p = wsproxy_send_buf(c, &n);
            if (p) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w > 0) wsproxy_send_ack(c, (size_t)w);
                else if (w < 0 && errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
            }
        }
        if (!connecting && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            unsigned char *p = wsproxy_recv_buf(c, &n);
            if (p) {
                ssize_t r = recv(fd, p, n, 0);
                if (r > 0) wsproxy_recv_ack(c, (size_t)r);
                else if (r == 0) wsproxy_socket_closed(c, 0);
                else if (errno != EAGAIN && errno != EINTR) wsproxy_socket_closed(c, errno);
            }
        }
        if (pfd[1].fd == 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r;
            if (line_cap - line_len < 65536) {
                size_t cap = line_cap ? line_cap * 2 : 65536;
                char *nl = cap <= MAX_LINE + 65536 ? (char *)realloc(line, cap) : NULL;
                if (!nl) { fprintf(stderr, "wspcat: input line too long\n"); return EXIT_USAGE; }
                line = nl;
                line_cap = cap;
            }
            r = read(0, line + line_len, line_cap - line_len);
            if (r > 0) line_len += (size_t)r;
            else if (r == 0 || errno != EINTR) stdin_open = 0;
        }
    }
}
