/* bench/e2e.h: the clients that bench/e2e.c runs against the test peers over loopback.
   Each runner opens its own connection, counts the handshake (bytes written and round
   trips until the first message may be sent), then runs `count` echo round trips of
   `size`-byte binary messages in bursts of `window` (the next burst goes when the last
   echo of the previous one is in; a sliding window drifts between batched and one-by-one
   exchanges with the scheduling, a burst does not), and reports the CPU time
   (user + system) of this process over the message phase only, and of the handshake
   apart (row 7: full and resumed TLS handshakes). */
#ifndef BENCH_E2E_H
#define BENCH_E2E_H

#include <stddef.h>

#include <bearssl.h>

enum { HOP_NONE = 0, HOP_HTTP = 1, HOP_HTTPS = 2 };

typedef struct {
    int tls;               /* wss:// (the server port speaks TLS) */
    int proxy;             /* HOP_NONE, HOP_HTTP or HOP_HTTPS */
    int server_port;       /* echo server: plain or TLS, as tls says */
    int proxy_port;
    size_t size;           /* payload bytes per message */
    int window;            /* messages in flight */
    long count;            /* round trips; 0: handshake only */
    int verify;            /* compare every echoed byte (outside the timed runs) */
    const char *certs;     /* directory with ca.pem and proxy-ca.pem */
    /* wsproxy.h: the caller's buffers, given at run time (0: the built-in ones);
       no_send_buffer: none at all (allowed when a TLS stage is the socket's) */
    size_t recv_buffer, send_buffer;
    int no_send_buffer;
    /* TLS session resumption (row 7): the sessions to offer on the proxy hop and the
       server hop (NULL: a full handshake), and where to keep the sessions the hops end
       with (NULL: not kept) */
    const br_ssl_session_parameters *resume_proxy, *resume_server;
    br_ssl_session_parameters *save_proxy, *save_server;
} e2e_cfg;

typedef struct {
    double cpu;            /* seconds of CPU over the message phase */
    double wall;           /* seconds of wall time over the message phase */
    size_t hs_bytes;       /* bytes written to the socket before the first message */
    int hs_flights;        /* client flights before the first message (each waits for a reply) */
    size_t hs_bytes_read;  /* bytes read before the first message */
    double hs_cpu;         /* seconds of CPU from before the client's init (TLS engines
                              included) until the first message may be sent */
    int resumed_proxy, resumed_server;   /* that hop's handshake resumed a session */
    /* what each TLS hop negotiated, as the client itself reports it ([0] the proxy hop,
       [1] the server hop; 0 for a hop the cell has not): the suite (IANA number) and, for
       the bare BearSSL engines, the ECDHE curve (0: none, or not known: wsproxy.h) */
    unsigned suite[2], curve[2];
} e2e_res;

/* wsproxy.h: its built-in buffers (16 KiB each way) or the caller's (cfg) */
int run_wsproxy(const e2e_cfg *cfg, e2e_res *res);
/* no WebSocket library: plain sockets (ws://) or bare BearSSL engines (wss://, https://) */
int run_floor(const e2e_cfg *cfg, e2e_res *res);
/* libwebsockets (ws:// only here) */
int run_lws(const e2e_cfg *cfg, e2e_res *res);

/* shared by the runners (bench/e2e_net.c) */
int net_connect(int port);                 /* blocking TCP to 127.0.0.1, TCP_NODELAY */
typedef struct {
    int counting;                          /* handshake phase: count flights and bytes */
    int last_was_read;
    size_t bytes, bytes_read;
    int flights;
} io_count;
long net_send(int fd, const void *p, size_t n, io_count *io);   /* one send() */
int net_send_all(int fd, const void *p, size_t n, io_count *io);
long net_recv(int fd, void *p, size_t n, io_count *io);         /* one recv(); 0 at EOF */
void payload_pattern(unsigned char *p, size_t n);               /* byte i = (i * 7 + 3) & 255 */
/* the handshake is over: stop counting, copy the counts into res */
void net_handshake_done(io_count *io, e2e_res *res);

#endif
