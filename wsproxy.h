/* wsproxy.h - sans-I/O WebSocket client, direct or through HTTP, HTTPS and SOCKS proxies.
   Version 0.2.0. Single header, C99 (also compiles as C++), no malloc, no sockets,
   no clock, no globals. TLS through BearSSL's engine API. MIT license at the end.

   USING IT
   --------
   Include it anywhere; in exactly ONE .c file define the implementation first:

       #define WSPROXY_IMPLEMENTATION
       #include "wsproxy.h"

   Link with -lbearssl. Define WSPROXY_STATIC before including to make every function
   static (a private copy per translation unit). Define WSPROXY_NO_TLS (in every
   translation unit alike) to build without BearSSL: ws:// only; wss:// and https://
   proxies then fail with WSPROXY_E_UNSUPPORTED.

   THE MODEL
   ---------
   The client never touches a socket. You own the socket, the loop, the clock and
   the memory (one wsproxy_client struct per connection, sizeof works, plus a TLS
   arena when a hop uses TLS). The client:
     - takes bytes your socket received       wsproxy_recv_buf() + wsproxy_recv_ack()
                                              (or wsproxy_feed(), which copies)
     - gives bytes your socket must send      wsproxy_send_buf() + wsproxy_send_ack()
     - reports events                         wsproxy_poll()
     - says what it waits for (for timers)    wsproxy_waiting_for() + wsproxy_timeout()
     - learns of transport failure / EOF      wsproxy_socket_closed()

   Pipeline (bytes in):
     socket -> [TLS to an https:// proxy] -> CONNECT reply | SOCKS reply
            -> [TLS to a wss:// server] -> 101 reply -> frames -> events
   Each switch hands the bytes after a reply head to the next layer, never drops them.
   A hop without TLS is a pass-through, so every proxy x target cell runs one path.

   A LOOP, IN ORDER
     0 cfg = {0}; cfg.url = "wss://host/chat"; cfg.proxy = "http://user:pass@proxy:3128"
       (or from wsproxy_proxy_from_env); cfg.random = wsproxy_os_random; TLS: trust
       anchors (wsproxy_pem_trust_anchors) and tls_arena (wsproxy_tls_arena_size bytes).
     1 wsproxy_init; connect (non-blocking, TCP_NODELAY) to wsproxy_connect_host:port;
       on failure wsproxy_socket_closed(c, errno). Arm a timer for wsproxy_waiting_for.
     2 writable: while (p = wsproxy_send_buf(c,&n)) { w = send(p,n); if EAGAIN stop;
       wsproxy_send_ack(c,w); }
     3 readable: p = wsproxy_recv_buf(c,&n); r = recv(p,n); r > 0: wsproxy_recv_ack(c,r);
       r == 0: wsproxy_socket_closed(c,0); error: wsproxy_socket_closed(c,errno)
     4 timer: wsproxy_timeout(c). Keepalive: wsproxy_ping every N seconds; the client
       then waits for the pong (WSPROXY_WAIT_PONG) and a dead peer times out.
     5 after each: while (wsproxy_poll(c,&ev)) handle ev (TLS, TUNNEL, OPEN, MESSAGE,
       PING, PONG, then one CLOSE or ERROR); flush (2); want writable only while
       wsproxy_send_buf has bytes, readable only while wsproxy_recv_buf has room (that
       is the backpressure); re-arm the timer when wsproxy_waiting_for changed.
     6 after EV_CLOSE or EV_ERROR: flush once more (the close frame), close the socket.
   Sends: WSPROXY_E_WOULD_BLOCK = buffer full, flush and retry; bigger than the buffer:
   wsproxy_send_begin + wsproxy_send_data. Memory: sizeof(wsproxy_client) (~40 KiB;
   shrink WSPROXY_RECV/SEND_BUFFER_BYTES) + wsproxy_tls_arena_size() per connection.
   examples/: blocking.c, wspcat.c (poll), epoll_many.c (epoll, 10k), libuv_client.c.

   TLS
     Each hop (proxy, server) has its own trust anchors and its own no-verify switch.
     SNI and the certificate name are the proxy's host for the proxy hop and the
     server's host for the server hop; an IP-literal host gets no SNI and is checked
     against the certificate's iPAddress subjectAltName. ALPN offers http/1.1. TLS 1.2
     only (BearSSL has no TLS 1.3). Entropy comes from cfg.random.

   CHOOSING A PROXY
     cfg.proxy takes http://, https://, socks4://, socks4a://, socks5://, socks5h://
     URLs. wsproxy_proxy_from_env() picks one from the environment as curl does
     (ws_proxy, http_proxy, all_proxy ...; NO_PROXY through wsproxy_no_proxy_match()),
     wsproxy_pac_parse() reads a PAC result list. The library never resolves names:
     for socks4:// and socks5:// give the server's address in cfg.target_address
     (wsproxy_needs_target_address() says when).

   LIFETIMES
     Strings in wsproxy_config are read during wsproxy_init() only: both request heads
     are built and validated there. Trust anchors and the TLS arena must outlive the
     connection. Pointers in a wsproxy_event and from wsproxy_recv_buf/wsproxy_send_buf
     stay valid until the next call of any wsproxy_* function on that client.

   ERRORS
     One sticky error per client: wsproxy_error(c) gives the code, wsproxy_error_info_get(c)
     the details (HTTP status and Proxy-Authenticate, close code, OS error, TLS error),
     wsproxy_strerror(code) a name, wsproxy_describe() one readable line.
     Caller mistakes (bad URL, bad header, wrong call order) fail at once and produce
     no byte. Peer faults send the RFC 6455 close frame (1002, 1007, 1009) and end in
     one WSPROXY_EV_ERROR.
*/
#ifndef WSPROXY_H
#define WSPROXY_H

#include <stddef.h>
#include <stdint.h>
#ifndef WSPROXY_NO_TLS
#include <bearssl.h>   /* TLS hops (see the TLS section); -DWSPROXY_NO_TLS builds without */
#endif

#define WSPROXY_VERSION_MAJOR 0
#define WSPROXY_VERSION_MINOR 2
#define WSPROXY_VERSION_PATCH 0

#ifndef WSPROXY_DEF
#ifdef WSPROXY_STATIC
#define WSPROXY_DEF static
#else
#define WSPROXY_DEF extern
#endif
#endif

/* ---- limits (each overridable: define it before including) ----------------- */
#ifndef WSPROXY_MAX_HEAD_BYTES          /* largest CONNECT or 101 reply head */
#define WSPROXY_MAX_HEAD_BYTES 8192
#endif
#ifndef WSPROXY_MAX_LINE_BYTES          /* longest status or header line in a reply */
#define WSPROXY_MAX_LINE_BYTES 4096
#endif
#ifndef WSPROXY_MAX_HEADERS             /* most header lines in a reply */
#define WSPROXY_MAX_HEADERS 64
#endif
#ifndef WSPROXY_MAX_INTERIM_REPLIES     /* 1xx replies skipped before a CONNECT reply */
#define WSPROXY_MAX_INTERIM_REPLIES 4
#endif
#ifndef WSPROXY_MAX_REQUEST_BYTES       /* each of the CONNECT and upgrade request heads */
#define WSPROXY_MAX_REQUEST_BYTES 4096
#endif
#ifndef WSPROXY_MAX_URL_BYTES           /* longest URL accepted */
#define WSPROXY_MAX_URL_BYTES 2048
#endif
#ifndef WSPROXY_MAX_CREDENTIAL_BYTES    /* decoded user or password from a proxy URL */
#define WSPROXY_MAX_CREDENTIAL_BYTES 255
#endif
#ifndef WSPROXY_RECV_BUFFER_BYTES       /* plain-text receive buffer; >= MAX_HEAD_BYTES */
#define WSPROXY_RECV_BUFFER_BYTES 16384
#endif
#ifndef WSPROXY_SEND_BUFFER_BYTES       /* plain-text send buffer; >= MAX_REQUEST_BYTES */
#define WSPROXY_SEND_BUFFER_BYTES 16384
#endif
#ifndef WSPROXY_DEFAULT_MAX_MESSAGE     /* default largest message received (1009 above) */
#define WSPROXY_DEFAULT_MAX_MESSAGE (16u * 1024u * 1024u)
#endif
#ifndef WSPROXY_MAX_PROTOCOL_BYTES      /* longest subprotocol name accepted back */
#define WSPROXY_MAX_PROTOCOL_BYTES 64
#endif
#ifndef WSPROXY_MAX_DETAIL_BYTES        /* status line / Proxy-Authenticate kept for errors */
#define WSPROXY_MAX_DETAIL_BYTES 256
#endif
#ifndef WSPROXY_DIRECT_RECV_MIN         /* with message_buffer: frame bytes still due from */
#define WSPROXY_DIRECT_RECV_MIN 1024    /* which recv goes straight into that buffer */
#endif
#ifndef WSPROXY_MAX_CERT_BYTES          /* server certificate kept for the iPAddress check */
#define WSPROXY_MAX_CERT_BYTES 8192
#endif
#ifndef WSPROXY_TLS_OUTPUT_BUFFER_BYTES /* a TLS hop's outgoing record buffer: 16469 holds */
#define WSPROXY_TLS_OUTPUT_BUFFER_BYTES 16469   /* a full record (BR_SSL_BUFSIZE_OUTPUT); */
#endif   /* down to 597 (512-byte records) saves memory and costs record overhead */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes, grouped by layer ----------------------------------------- */
typedef enum wsproxy_err {
    WSPROXY_OK = 0,
    /* 100: caller mistakes, reported before any byte is produced */
    WSPROXY_E_ARGUMENT = 100,       /* NULL pointer, missing random callback, bad value */
    WSPROXY_E_URL_SYNTAX,           /* not scheme://host[:port][/path][?query] */
    WSPROXY_E_URL_SCHEME,           /* scheme not known */
    WSPROXY_E_URL_HOST,             /* empty or malformed host, bad IPv6 literal */
    WSPROXY_E_URL_PORT,             /* port not 1..65535 */
    WSPROXY_E_URL_FRAGMENT,         /* '#' in a WebSocket URL (RFC 6455 3) */
    WSPROXY_E_URL_CHAR,             /* CR, LF, NUL, space, control or non-ASCII byte */
    WSPROXY_E_URL_USERINFO,         /* credentials where not allowed, or bad %-escape */
    WSPROXY_E_URL_TOO_LONG,         /* longer than WSPROXY_MAX_URL_BYTES */
    WSPROXY_E_HEADER_INVALID,       /* not "Name: value", or CR/LF/NUL in it */
    WSPROXY_E_HEADER_RESERVED,      /* a header the library writes itself */
    WSPROXY_E_PROTOCOL_INVALID,     /* subprotocol not an HTTP token, or duplicate */
    WSPROXY_E_REQUEST_TOO_LARGE,    /* request head over WSPROXY_MAX_REQUEST_BYTES */
    WSPROXY_E_UNSUPPORTED,          /* scheme this build cannot do (TLS, SOCKS) */
    WSPROXY_E_STATE,                /* call not valid in the current state (not sticky) */
    WSPROXY_E_WOULD_BLOCK,          /* no room in the send buffer now (not sticky) */
    WSPROXY_E_CLOSE_CODE,           /* close code the caller may not send */
    WSPROXY_E_CLOSE_REASON,         /* reason over 123 bytes or not UTF-8 */
    WSPROXY_E_RANDOM,               /* the random callback failed (sticky) */
    WSPROXY_E_SEND_TOO_LARGE,       /* frame bigger than the send buffer: stream it */
    WSPROXY_E_TEXT_INVALID,         /* text message from the caller is not UTF-8 */
    WSPROXY_E_TLS_ARENA,            /* TLS needed but tls_arena missing or too small */
    WSPROXY_E_PEM_SPACE,            /* PEM loader: not enough anchors or memory given */
    WSPROXY_E_PEM_SYNTAX,           /* PEM loader: malformed PEM or certificate */
    /* 200: the proxy hop */
    WSPROXY_E_PROXY_REFUSED = 200,  /* caller reported the connect to the proxy failed */
    WSPROXY_E_PROXY_AUTH,           /* 407 (or 401): proxy authentication required */
    WSPROXY_E_PROXY_CONNECT,        /* any other non-2xx status to CONNECT */
    WSPROXY_E_PROXY_BAD_REPLY,      /* garbled reply to CONNECT */
    WSPROXY_E_PROXY_REPLY_TOO_LARGE,/* reply head over the limits */
    WSPROXY_E_PROXY_CLOSED,         /* connection ended in the middle of the reply */
    WSPROXY_E_PROXY_TIMEOUT,        /* caller's timer fired waiting for the reply */
    /* 300: SOCKS proxies and proxy selection */
    WSPROXY_E_SOCKS_GENERAL_FAILURE = 301,   /* REP 0x01 general SOCKS server failure */
    WSPROXY_E_SOCKS_NOT_ALLOWED = 302,   /* REP 0x02 connection not allowed by ruleset */
    WSPROXY_E_SOCKS_NETWORK_UNREACHABLE = 303,   /* REP 0x03 */
    WSPROXY_E_SOCKS_HOST_UNREACHABLE = 304,   /* REP 0x04 */
    WSPROXY_E_SOCKS_CONNECTION_REFUSED = 305,   /* REP 0x05 */
    WSPROXY_E_SOCKS_TTL_EXPIRED = 306,   /* REP 0x06 */
    WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED = 307,   /* REP 0x07 */
    WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED = 308,   /* REP 0x08 address type not supported */
    WSPROXY_E_SOCKS_UNKNOWN_REPLY = 309,   /* REP 0x09-0xFF (unassigned) */
    WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD = 310,   /* method reply 0xFF */
    WSPROXY_E_SOCKS_METHOD_NOT_OFFERED = 311,   /* proxy chose a method we did not offer */
    WSPROXY_E_SOCKS_AUTH_FAILED = 312,   /* RFC 1929 status not 0: user/pass refused */
    WSPROXY_E_SOCKS_BAD_VERSION = 313,   /* wrong version byte in a reply */
    WSPROXY_E_SOCKS_BAD_REPLY = 314,   /* unknown address type in the reply */
    WSPROXY_E_SOCKS4_REJECTED = 320,   /* CD 0x5B request rejected or failed */
    WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE = 321,   /* CD 0x5C identd not reachable */
    WSPROXY_E_SOCKS4_IDENTD_MISMATCH = 322,   /* CD 0x5D identd user-id mismatch */
    WSPROXY_E_SOCKS4_UNKNOWN_REPLY = 323,   /* CD other than 0x5A-0x5D */
    WSPROXY_E_SOCKS_NEED_ADDRESS = 340,   /* socks4:// or socks5:// to a host name: the caller must resolve it (or use socks4a:// / socks5h://) */
    WSPROXY_E_SOCKS4_IPV6 = 341,   /* SOCKS4 cannot carry an IPv6 address */
    WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG = 342,   /* decoded user or password over 255 bytes */
    WSPROXY_E_SOCKS_HOST_TOO_LONG = 343,   /* host name over 255 bytes */
    WSPROXY_E_PAC_EMPTY = 350,   /* PAC result has no usable entry */
    /* 400: the WebSocket opening handshake */
    WSPROXY_E_CONNECT_REFUSED = 400,/* caller reported the connect to the server failed */
    WSPROXY_E_HANDSHAKE_BAD_REPLY,  /* garbled reply head */
    WSPROXY_E_HANDSHAKE_TOO_LARGE,  /* reply head over the limits */
    WSPROXY_E_HANDSHAKE_STATUS,     /* status is not 101 */
    WSPROXY_E_HANDSHAKE_UPGRADE,    /* Upgrade header missing or not websocket */
    WSPROXY_E_HANDSHAKE_CONNECTION, /* Connection header lacks "upgrade" */
    WSPROXY_E_HANDSHAKE_ACCEPT,     /* Sec-WebSocket-Accept missing or wrong */
    WSPROXY_E_HANDSHAKE_PROTOCOL,   /* subprotocol not one offered */
    WSPROXY_E_HANDSHAKE_EXTENSION,  /* extension not offered */
    WSPROXY_E_HANDSHAKE_CLOSED,     /* connection ended before the 101 was complete */
    WSPROXY_E_HANDSHAKE_TIMEOUT,    /* caller's timer fired waiting for the 101 */
    /* 500: WebSocket frames from the server (sent close code in brackets) */
    WSPROXY_E_WS_RESERVED_BITS = 500, /* RSV1-3 set, no extension agreed   [1002] */
    WSPROXY_E_WS_OPCODE,            /* reserved opcode                      [1002] */
    WSPROXY_E_WS_MASKED,            /* server frame is masked               [1002] */
    WSPROXY_E_WS_CONTROL_FRAGMENTED,/* control frame without FIN            [1002] */
    WSPROXY_E_WS_CONTROL_TOO_LONG,  /* control payload over 125 bytes       [1002] */
    WSPROXY_E_WS_LENGTH_NONMINIMAL, /* length not in its shortest form      [1002] */
    WSPROXY_E_WS_LENGTH_TOO_BIG,    /* 64-bit length with the top bit set   [1002] */
    WSPROXY_E_WS_CONTINUATION,      /* continuation without a message       [1002] */
    WSPROXY_E_WS_EXPECTED_CONTINUATION, /* new message inside a fragmented one [1002] */
    WSPROXY_E_WS_CLOSE_PAYLOAD,     /* close payload of 1 byte              [1002] */
    WSPROXY_E_WS_CLOSE_CODE,        /* close code not allowed on the wire   [1002] */
    WSPROXY_E_WS_INVALID_UTF8,      /* text or close reason not UTF-8       [1007] */
    WSPROXY_E_WS_MESSAGE_TOO_BIG,   /* message over the configured maximum  [1009] */
    WSPROXY_E_CONNECTION_LOST,      /* connection ended without a close (1006) */
    WSPROXY_E_CLOSE_TIMEOUT,        /* caller's timer fired waiting for the close reply */
    WSPROXY_E_PONG_TIMEOUT,         /* caller's timer fired waiting for the pong to a ping */
    /* 600: TLS (BearSSL's code in wsproxy_error_info.tls_error) */
    WSPROXY_E_TLS_PROXY = 600,      /* TLS to an https:// proxy failed */
    WSPROXY_E_TLS_TUNNEL,           /* TLS to the server inside the proxy tunnel failed */
    WSPROXY_E_TLS_TARGET            /* TLS to a wss:// server reached directly failed */
} wsproxy_err;

/* tls_error values of our own, beside BearSSL's BR_ERR_* codes */
#define WSPROXY_TLS_ERR_CLOSED         1024  /* connection ended during the TLS handshake */
#define WSPROXY_TLS_ERR_CERT_TOO_LARGE 1025  /* certificate over WSPROXY_MAX_CERT_BYTES */

/* ---- pure functions: URL ---------------------------------------------------- */
enum {
    WSPROXY_SCHEME_WS = 1, WSPROXY_SCHEME_WSS, WSPROXY_SCHEME_HTTP, WSPROXY_SCHEME_HTTPS,
    WSPROXY_SCHEME_SOCKS4, WSPROXY_SCHEME_SOCKS4A, WSPROXY_SCHEME_SOCKS5, WSPROXY_SCHEME_SOCKS5H
};
enum { WSPROXY_HOST_NAME = 0, WSPROXY_HOST_IPV4 = 1, WSPROXY_HOST_IPV6 = 2 };

typedef struct wsproxy_url {
    int scheme;                   /* WSPROXY_SCHEME_* */
    const char *host;             /* slice of the input; IPv6 without its brackets */
    size_t host_len;
    int host_type;                /* WSPROXY_HOST_* */
    unsigned port;                /* explicit, or the scheme's default */
    int port_explicit;            /* 1 when the URL wrote a port */
    const char *path;             /* path and query as written ("" when absent) */
    size_t path_len;
    const char *user, *password;  /* still percent-encoded; NULL when absent */
    size_t user_len, password_len;
} wsproxy_url;

/* Parses an absolute URL of len bytes (no NUL needed). Scheme is case-insensitive.
   Default ports: ws 80, wss 443, http 1080 and https 443 (as curl for proxies),
   socks* 1080. A proxy URL written without "scheme://" is taken as http://.
   Userinfo is accepted only for proxy schemes; proxy URLs take no path but "/".
   Returns WSPROXY_OK or a WSPROXY_E_URL_* code; u is filled only on success. */
WSPROXY_DEF int wsproxy_url_parse(const char *s, size_t len, wsproxy_url *u);

/* Percent-decodes in[0..len) into out (cap bytes). Refuses a bad escape and a decoded
   CR, LF or NUL. Returns WSPROXY_OK or WSPROXY_E_URL_USERINFO; *out_len gets the length. */
WSPROXY_DEF int wsproxy_percent_decode(const char *in, size_t len, char *out, size_t cap,
                                       size_t *out_len);

/* Address literals. Return 1 and fill out (4 or 16 bytes, network order) when s[0..len)
   is exactly a dotted-quad IPv4 address / an RFC 4291 IPv6 address (no brackets, no
   zone). Return 0 otherwise. */
WSPROXY_DEF int wsproxy_parse_ipv4(const char *s, size_t len, unsigned char out[4]);
WSPROXY_DEF int wsproxy_parse_ipv6(const char *s, size_t len, unsigned char out[16]);

/* ---- pure functions: HTTP/1.x response head (picohttpparser contract) -------- */
typedef struct wsproxy_header {
    const char *name;  size_t name_len;   /* slices of the input */
    const char *value; size_t value_len;  /* leading/trailing blanks trimmed */
} wsproxy_header;

#define WSPROXY_HTTP_ERROR      (-1)  /* malformed */
#define WSPROXY_HTTP_INCOMPLETE (-2)  /* need more bytes (and none of the limits hit) */
#define WSPROXY_HTTP_TOO_LARGE  (-3)  /* head, a line, or the header count over limits */

/* Parses "HTTP/1.x SP 3DIGIT [SP reason] CRLF *(header CRLF) CRLF" (bare LF accepted).
   *num_headers is the capacity of headers on entry (the smaller of it and
   WSPROXY_MAX_HEADERS is the limit) and the count on return. Returns the head's
   length in bytes (the bytes after it are not part of the head), or one of the
   negative codes above. Never reads past buf[len-1]. */
WSPROXY_DEF int wsproxy_parse_response(const char *buf, size_t len, int *minor_version,
                                       int *status, const char **reason, size_t *reason_len,
                                       wsproxy_header *headers, size_t *num_headers);

/* ---- pure functions: RFC 6455 framing, UTF-8, handshake key ------------------- */
enum {
    WSPROXY_OP_CONTINUATION = 0x0, WSPROXY_OP_TEXT = 0x1, WSPROXY_OP_BINARY = 0x2,
    WSPROXY_OP_CLOSE = 0x8, WSPROXY_OP_PING = 0x9, WSPROXY_OP_PONG = 0xA
};

typedef struct wsproxy_frame_header {
    int fin;                      /* 0 or 1 */
    int rsv;                      /* RSV1..3 as bits 2..0 */
    int opcode;                   /* 0..15 */
    int masked;                   /* 0 or 1 */
    unsigned char mask[4];
    uint64_t payload_len;
} wsproxy_frame_header;

#define WSPROXY_FRAME_HEADER_MAX 14

/* Decodes a frame header as a client receives it. Returns its length (2..14) when
   complete, 0 when more bytes are needed, or minus a WSPROXY_E_WS_* code for a
   violation that needs no context: reserved bits, reserved opcode, masked frame,
   fragmented or long control frame, non-minimal or top-bit length. h is filled as
   far as decoded, also on error. */
WSPROXY_DEF int wsproxy_frame_decode(const unsigned char *buf, size_t len,
                                     wsproxy_frame_header *h);

/* Writes a header (masked when mask != NULL) into out; returns its length (2..14). */
WSPROXY_DEF size_t wsproxy_frame_encode(unsigned char out[WSPROXY_FRAME_HEADER_MAX], int fin,
                                        int opcode, const unsigned char *mask,
                                        uint64_t payload_len);

/* dst[i] = src[i] ^ key[(offset + i) % 4]; dst may equal src. Returns the next offset
   ((offset + len) % 4), so a payload can be masked in pieces. */
WSPROXY_DEF size_t wsproxy_mask(unsigned char *dst, const unsigned char *src, size_t len,
                                const unsigned char key[4], size_t offset);

/* Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
   *state starts at 0 and carries across calls. Returns len when every byte was
   acceptable so far (a code point may still be open: see wsproxy_utf8_done), or the
   offset of the first byte that makes the text invalid. */
WSPROXY_DEF size_t wsproxy_utf8_validate(uint32_t *state, const unsigned char *s, size_t len);
/* 1 when the text validated so far ends on a complete code point. */
WSPROXY_DEF int wsproxy_utf8_done(uint32_t state);

/* SHA-1 (FIPS 180-4) and base64 (RFC 4648, padded). */
WSPROXY_DEF void wsproxy_sha1(const void *data, size_t len, unsigned char out[20]);
/* Writes 4*ceil(len/3) characters and a NUL; returns the count without the NUL, or 0
   when cap is too small. */
WSPROXY_DEF size_t wsproxy_base64(const unsigned char *in, size_t len, char *out, size_t cap);
/* The Sec-WebSocket-Accept value (28 characters + NUL) for a key of key_len bytes. */
WSPROXY_DEF void wsproxy_accept_key(const char *key, size_t key_len, char out[29]);

/* ---- the client --------------------------------------------------------------- */

/* Fills dst with len random bytes; returns 0 on success. */
typedef int (*wsproxy_random_fn)(void *ctx, unsigned char *dst, size_t len);
/* The operating system's source (getrandom / arc4random / /dev/urandom). */
WSPROXY_DEF int wsproxy_os_random(void *ctx, unsigned char *dst, size_t len);

#ifndef WSPROXY_NO_TLS
/* One TLS hop: a BearSSL client engine, its X.509 validator and its buffer. A
   connection needs one per TLS hop (https:// proxy, wss:// server); the client takes
   them from the caller's tls_arena. Fields are private. */
typedef struct wsproxy_tls_hop {
    br_ssl_client_context cc_;
    br_x509_minimal_context xc_;
    const br_x509_class *x509_vtable_;  /* wraps xc_: no-verify mode, iPAddress check */
    const char *alpn_[1];
    int insecure_, check_ip_, cert_index_, ee_overflow_, handshake_done_;
    unsigned char ip_[16];
    size_t ip_len_, ee_len_;
    /* the input buffer stays whole: a server need not honour a smaller fragment length */
    unsigned char ibuf_[BR_SSL_BUFSIZE_INPUT];
    unsigned char obuf_[WSPROXY_TLS_OUTPUT_BUFFER_BYTES];
    /* last, so a hop to a named host ends after dec: only a host given as an IP
       address needs the certificate kept (WSPROXY_TLS_HOP_BYTES against
       WSPROXY_TLS_NAMED_HOP_BYTES) */
    union {
        br_x509_decoder_context dec;    /* no-verify mode: the server's key */
        unsigned char ee[WSPROXY_MAX_CERT_BYTES];   /* IP host: the server certificate */
    } u_;
} wsproxy_tls_hop;

#define WSPROXY_TLS_ALIGN16_(n) (((size_t)(n) + 15u) & ~(size_t)15u)
/* One hop whose host is an IP address (any host fits). */
#define WSPROXY_TLS_HOP_BYTES WSPROXY_TLS_ALIGN16_(sizeof(wsproxy_tls_hop))
/* One hop whose host is a name: no certificate kept. */
#define WSPROXY_TLS_NAMED_HOP_BYTES \
    WSPROXY_TLS_ALIGN16_(offsetof(wsproxy_tls_hop, u_) + sizeof(br_x509_decoder_context))
/* Arena bytes enough for any connection with `hops` TLS hops (0, 1 or 2), for a
   static arena; wsproxy_tls_arena_size gives the exact, often smaller, figure. */
#define WSPROXY_TLS_ARENA_BYTES(hops) ((hops) ? (size_t)(hops) * WSPROXY_TLS_HOP_BYTES + 15u : 0u)

/* Bytes of tls_arena the connection to url through proxy (NULL: direct) needs: 0 for
   ws:// through an http:// proxy, one hop for wss:// or an https:// proxy, two for
   wss:// through an https:// proxy; a hop is WSPROXY_TLS_NAMED_HOP_BYTES for a host
   name and WSPROXY_TLS_HOP_BYTES for an IP address; 15 bytes more let the client align
   the arena. 0 also when a URL does not parse. */
WSPROXY_DEF size_t wsproxy_tls_arena_size(const char *url, const char *proxy);

typedef struct wsproxy_pem_result {
    size_t anchors;        /* trust anchors found (written when they fit) */
    size_t bytes_needed;   /* memory their names and keys need */
    size_t skipped;        /* certificates BearSSL cannot use (unsupported key type) */
} wsproxy_pem_result;

/* Turns a PEM bundle (such as /etc/ssl/certs/ca-certificates.crt) into BearSSL trust
   anchors: up to max_anchors in anchors, their names and keys in mem (mem_len bytes),
   no malloc. Objects other than certificates are ignored. Call it once with
   anchors = NULL, mem = NULL to learn the sizes, then again. Returns WSPROXY_OK,
   WSPROXY_E_PEM_SPACE (res tells what is needed) or WSPROXY_E_PEM_SYNTAX. The anchors
   point into mem, which must outlive them. */
WSPROXY_DEF int wsproxy_pem_trust_anchors(const char *pem, size_t len,
                                          br_x509_trust_anchor *anchors, size_t max_anchors,
                                          unsigned char *mem, size_t mem_len,
                                          wsproxy_pem_result *res);

/* Does the DER certificate carry ip (4 or 16 bytes) as an iPAddress subjectAltName?
   1 yes, 0 no, -1 malformed. BearSSL's minimal validator matches DNS names only, so
   the client checks IP-literal hosts with this. */
WSPROXY_DEF int wsproxy_cert_ip_match(const unsigned char *der, size_t len,
                                      const unsigned char *ip, size_t ip_len);

/* A readable reason for a tls_error value ("certificate not trusted", ...). */
WSPROXY_DEF const char *wsproxy_tls_reason(int tls_error);
#endif

typedef struct wsproxy_config {
    const char *url;                   /* ws:// or wss:// */
    const char *proxy;                 /* NULL or "" for direct; http://[user:pass@]host:port */
    const char *const *headers;        /* NULL-terminated "Name: value" for the server */
    const char *const *proxy_headers;  /* NULL-terminated "Name: value" for the CONNECT */
    const char *const *protocols;      /* NULL-terminated subprotocols to offer */
    const char *origin;                /* NULL for none */
    wsproxy_random_fn random;          /* required: key, masks (and TLS seed later) */
    void *random_ctx;
    uint64_t max_message;              /* 0: WSPROXY_DEFAULT_MAX_MESSAGE */
    unsigned char *message_buffer;     /* optional: reassemble whole messages here */
    size_t message_buffer_len;         /* (then max_message is at most this) */
    /* socks4:// and socks5:// send an address, not a name: when the server's host is
       a name, resolve it and give the address here (wsproxy_needs_target_address). */
    const unsigned char *target_address;  /* 4 or 16 bytes, network order */
    int target_address_type;           /* WSPROXY_HOST_IPV4 or WSPROXY_HOST_IPV6 */
#ifndef WSPROXY_NO_TLS
    /* TLS, per hop. Trust anchors must stay valid for the life of the connection. */
    const br_x509_trust_anchor *trust_anchors;        /* for the wss:// server */
    size_t trust_anchors_count;
    const br_x509_trust_anchor *proxy_trust_anchors;  /* for the https:// proxy */
    size_t proxy_trust_anchors_count;
    int insecure;                      /* 1: do not verify the server's certificate */
    int proxy_insecure;                /* 1: do not verify the proxy's certificate */
    uint32_t tls_days, tls_seconds;    /* validation time (days since 1 Jan 0 AD, UTC);
                                          0: BearSSL reads the system clock */
    void *tls_arena;                   /* wsproxy_tls_arena_size() bytes */
    size_t tls_arena_len;
#endif
} wsproxy_config;

typedef enum wsproxy_event_type {
    WSPROXY_EV_NONE = 0,
    WSPROXY_EV_TUNNEL,     /* the proxy opened the tunnel: ev.status is the HTTP status
                              (2xx), 0 for SOCKS */
    WSPROXY_EV_OPEN,       /* 101 accepted; ev.protocol is the chosen subprotocol or "" */
    WSPROXY_EV_MESSAGE,    /* ev.opcode TEXT/BINARY, ev.data/ev.len; ev.first, ev.fin */
    WSPROXY_EV_PING,       /* ev.data/ev.len (the pong is sent automatically) */
    WSPROXY_EV_PONG,       /* ev.data/ev.len */
    WSPROXY_EV_CLOSE,      /* close handshake done: ev.close_code (1005: none), ev.data
                              /ev.len the reason; final */
    WSPROXY_EV_ERROR,      /* wsproxy_error() tells; final */
    WSPROXY_EV_TLS         /* a TLS handshake completed: ev.status is the hop
                              (WSPROXY_HOP_PROXY or _TARGET), ev.protocol the ALPN */
} wsproxy_event_type;

enum { WSPROXY_HOP_PROXY = 1, WSPROXY_HOP_TARGET = 2 };

typedef struct wsproxy_event {
    int type;                  /* wsproxy_event_type */
    int opcode;                /* MESSAGE: WSPROXY_OP_TEXT or WSPROXY_OP_BINARY */
    int first, fin;            /* MESSAGE: first chunk / last chunk of the message */
    const unsigned char *data; /* borrowed until the next call on the client */
    size_t len;
    int status;                /* TUNNEL: proxy status; OPEN: 101 */
    int close_code;            /* CLOSE */
    const char *protocol;      /* OPEN: NUL-terminated, "" when none */
} wsproxy_event;

/* Without message_buffer, messages arrive as chunks, zero-copy, as their bytes arrive
   (text chunks are validated before they are given out, but a chunk may end inside a
   code point). With message_buffer, one MESSAGE event per whole message (first=fin=1);
   the library writes that buffer only inside wsproxy_poll, so a message there may be
   sent back (echoed, streamed with wsproxy_send_data) before the next wsproxy_poll. */

typedef enum wsproxy_wait {
    WSPROXY_WAIT_NONE = 0,
    WSPROXY_WAIT_PROXY,        /* for the proxy's reply to CONNECT (includes TCP connect) */
    WSPROXY_WAIT_HANDSHAKE,    /* for the server's 101 (includes TCP connect when direct) */
    WSPROXY_WAIT_CLOSE,        /* for the server's close reply */
    WSPROXY_WAIT_PONG          /* open, for the pong to the last ping the caller sent */
} wsproxy_wait;

typedef enum wsproxy_state {
    WSPROXY_STATE_PROXY = 1,   /* CONNECT sent or queued */
    WSPROXY_STATE_HANDSHAKE,   /* upgrade sent or queued */
    WSPROXY_STATE_OPEN,
    WSPROXY_STATE_CLOSING,     /* we sent close, waiting for the server's */
    WSPROXY_STATE_CLOSED,      /* close handshake complete: flush, then close the socket */
    WSPROXY_STATE_FAILED       /* sticky error set: flush, then close the socket */
} wsproxy_state;

typedef struct wsproxy_error_info {
    int code;                  /* wsproxy_err */
    int http_status;           /* proxy's or server's status, 0 when none */
    char status_line[WSPROXY_MAX_DETAIL_BYTES];        /* the reply's first line */
    char proxy_authenticate[WSPROXY_MAX_DETAIL_BYTES]; /* 407: Proxy-Authenticate values
                                          (401: WWW-Authenticate too), joined by ", " */
    int close_code;            /* code we sent (peer fault) or received */
    int os_error;              /* from wsproxy_socket_closed */
    int tls_error;             /* BearSSL's BR_ERR_* or WSPROXY_TLS_ERR_* */
    int socks_reply;           /* the SOCKS reply byte that decided, -1 when none */
} wsproxy_error_info;

typedef struct wsproxy_client wsproxy_client;

/* Validates cfg, builds the request heads, and queues the first one (CONNECT when a
   proxy is set, else the upgrade). On a caller mistake returns the code, leaves the
   client FAILED with that sticky error, and produces no byte. */
WSPROXY_DEF int wsproxy_init(wsproxy_client *c, const wsproxy_config *cfg);

/* Where to open the TCP connection: the proxy when one is set, else the server.
   NUL-terminated host without brackets. */
WSPROXY_DEF const char *wsproxy_connect_host(const wsproxy_client *c);
/* 1 when this url/proxy pair needs cfg.target_address: a socks4:// or socks5:// proxy
   (which carry addresses) and a server host that is a name. socks4a:// and socks5h://
   let the proxy resolve the name. The library itself never resolves. */
WSPROXY_DEF int wsproxy_needs_target_address(const char *url, const char *proxy);
WSPROXY_DEF unsigned wsproxy_connect_port(const wsproxy_client *c);

/* Bytes to send: pointer and *len, or NULL (and *len = 0) when there are none. */
WSPROXY_DEF const unsigned char *wsproxy_send_buf(wsproxy_client *c, size_t *len);
WSPROXY_DEF void wsproxy_send_ack(wsproxy_client *c, size_t n);

/* Room for received bytes: pointer and *len, or NULL when the client cannot take more
   now (call wsproxy_poll to drain it). After a final event the client takes no input. */
WSPROXY_DEF unsigned char *wsproxy_recv_buf(wsproxy_client *c, size_t *len);
WSPROXY_DEF void wsproxy_recv_ack(wsproxy_client *c, size_t n);
/* Copies what fits; returns the count taken (less than len means: poll, then retry). */
WSPROXY_DEF size_t wsproxy_feed(wsproxy_client *c, const void *data, size_t len);

/* The socket ended: os_error 0 for an orderly EOF, else the OS error (for example
   ECONNREFUSED from connect). Bytes already received are still processed by
   wsproxy_poll; once they are used up, the matching sticky error is set (unless the
   close handshake completed): PROXY_REFUSED / CONNECT_REFUSED when os_error != 0 and
   nothing was received, else PROXY_CLOSED, HANDSHAKE_CLOSED or CONNECTION_LOST. */
WSPROXY_DEF void wsproxy_socket_closed(wsproxy_client *c, int os_error);

/* Processes received bytes until one event is ready. Returns 1 with *ev filled, or 0
   when nothing is ready (feed more bytes, or the client is finished). A final event
   (CLOSE or ERROR) is reported once. */
WSPROXY_DEF int wsproxy_poll(wsproxy_client *c, wsproxy_event *ev);

/* Sending. Whole messages and control frames need room for the whole frame in the
   send buffer: WSPROXY_E_WOULD_BLOCK means flush and retry. Larger messages: stream
   them with wsproxy_send_begin + wsproxy_send_data. Fragments: opcode TEXT/BINARY with
   fin 0, then CONTINUATION frames. Returns WSPROXY_OK or an error (not sticky). */
WSPROXY_DEF int wsproxy_send(wsproxy_client *c, int opcode, const void *data, size_t len,
                             int fin);
WSPROXY_DEF int wsproxy_send_text(wsproxy_client *c, const char *text, size_t len);
WSPROXY_DEF int wsproxy_send_binary(wsproxy_client *c, const void *data, size_t len);
WSPROXY_DEF int wsproxy_ping(wsproxy_client *c, const void *data, size_t len);
WSPROXY_DEF int wsproxy_pong(wsproxy_client *c, const void *data, size_t len);
/* Starts a frame of payload_len bytes; its payload then goes in through
   wsproxy_send_data, which takes as much as the send buffer has room for. Text
   streamed this way is not checked for UTF-8 (wsproxy_send checks whole frames): the
   caller must stream valid text. Control frames cannot be streamed. */
WSPROXY_DEF int wsproxy_send_begin(wsproxy_client *c, int opcode, uint64_t payload_len,
                                   int fin);
WSPROXY_DEF size_t wsproxy_send_data(wsproxy_client *c, const void *data, size_t len);
/* Bytes a single frame's payload can have right now without blocking (0 when a
   streamed frame is in progress or the connection is not open). */
WSPROXY_DEF size_t wsproxy_send_room(const wsproxy_client *c);
/* Starts the close handshake: code 0 sends no code; else 1000-1003, 1007-1014,
   3000-4999. reason: UTF-8, at most 123 bytes. */
WSPROXY_DEF int wsproxy_close(wsproxy_client *c, int code, const char *reason, size_t len);

/* Timers: arm one for what the client waits for; when it fires, call wsproxy_timeout
   (ignored when the client no longer waits for anything). After wsproxy_ping it waits
   for a pong (any pong ends the wait); its timer firing fails the connection with
   WSPROXY_E_PONG_TIMEOUT. Keepalive = your interval timer calling wsproxy_ping. */
WSPROXY_DEF int wsproxy_waiting_for(const wsproxy_client *c);   /* wsproxy_wait */
WSPROXY_DEF void wsproxy_timeout(wsproxy_client *c);

WSPROXY_DEF int wsproxy_get_state(const wsproxy_client *c);     /* wsproxy_state */
WSPROXY_DEF int wsproxy_error(const wsproxy_client *c);         /* sticky code or 0 */
WSPROXY_DEF const wsproxy_error_info *wsproxy_error_info_get(const wsproxy_client *c);
/* "WSPROXY_E_PROXY_AUTH" etc.; "WSPROXY_E_UNKNOWN" for a code not listed. */
WSPROXY_DEF const char *wsproxy_strerror(int code);
/* A short sentence for the code: "proxy authentication required". */
WSPROXY_DEF const char *wsproxy_error_message(int code);
/* One line with name, sentence and details, never secrets. Returns its length
   (truncated to cap-1 like snprintf, always NUL-terminated when cap > 0). */
WSPROXY_DEF size_t wsproxy_describe(const wsproxy_client *c, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

/* ==== proxy selection: NO_PROXY, environment, SOCKS, PAC results ==== */
/* ---- limits ------------------------------------------------------------------- */
#ifndef WSPROXY_PAC_MAX_ENTRIES        /* entries kept from one PAC result */
#define WSPROXY_PAC_MAX_ENTRIES 16
#endif
#ifndef WSPROXY_PAC_BUFFER_BYTES       /* room for their URLs (NUL-terminated) */
#define WSPROXY_PAC_BUFFER_BYTES 2048
#endif
#define WSPROXY_SOCKS_MAX_REQUEST 520  /* largest request: SOCKS4a with 255-byte user and host */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- NO_PROXY ------------------------------------------------------------------ */
/* 1 when host[0..host_len) is covered by the NO_PROXY list no_proxy (NUL-terminated),
   so the connection should go direct; 0 otherwise (also for NULL or ""). host as in
   wsproxy_url: a name, a dotted IPv4, or an IPv6 address without brackets (brackets
   are tolerated). Rules (curl's, see docs/proxy-selection.md):
     - entries are separated by commas; blanks around an entry are trimmed; empty
       entries are skipped; an entry with a blank inside it matches nothing;
     - an entry "*" matches every host;
     - a name entry loses one leading "." (or "*.") and one trailing "."; the host
       loses one trailing "."; the host matches when it equals the entry or ends with
       "." + entry, ASCII case-insensitive: "example.com" matches "www.example.com",
       not "nexample.com";
     - an entry that is an IPv4 or IPv6 address, optionally "/prefix" (CIDR), matches
       only an IP host of the same family inside that network ("10.0.0.0/8",
       "::1", "fd00::/8"; no prefix means the whole address); name hosts never
       match IP entries and IP hosts never match name entries. No DNS lookup. */
WSPROXY_DEF int wsproxy_no_proxy_match(const char *no_proxy, const char *host,
                                       size_t host_len);

/* ---- proxy from the environment -------------------------------------------------- */
/* Looks a variable up; returns its value or NULL when unset. An empty value counts as
   unset, as in curl. */
typedef const char *(*wsproxy_getenv_fn)(void *ctx, const char *name);
#ifndef WSPROXY_NO_OS_GETENV
/* The process environment (getenv); ctx is unused. Not thread-safe against setenv. */
WSPROXY_DEF const char *wsproxy_os_getenv(void *ctx, const char *name);
#endif

typedef struct wsproxy_env_info {
    const char *proxy_var;     /* variable that named a proxy ("ws_proxy", ...), or NULL */
    const char *no_proxy_var;  /* "no_proxy" or "NO_PROXY" when one was consulted, else
                                  NULL (none set, or the caller's list was used) */
    int bypassed;              /* 1: a proxy was named but NO_PROXY covers the host */
} wsproxy_env_info;

/* The NO_PROXY list in effect: no_proxy_override when not NULL ("" = proxy every
   host), else no_proxy, else NO_PROXY (a variable set to "" counts as unset); NULL when
   there is none. *var (may be NULL) gets the variable's name or NULL. */
WSPROXY_DEF const char *wsproxy_no_proxy_env(wsproxy_getenv_fn getenv_fn, void *ctx,
                                             const char *no_proxy_override,
                                             const char **var);

/* The proxy the environment names for target_url (ws:// or wss://), as curl picks it:
     ws://   ws_proxy, WS_PROXY, http_proxy (lower case only), all_proxy, ALL_PROXY
     wss://  wss_proxy, WSS_PROXY, https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY
   the first one set and not empty wins; then the NO_PROXY list in effect (see
   wsproxy_no_proxy_env) may veto it for the target's host. On WSPROXY_OK out holds the
   proxy URL exactly as the variable wrote it (validated later by wsproxy_init), or ""
   for a direct connection. info may be NULL. Errors: WSPROXY_E_ARGUMENT (NULL pointer,
   cap 0), the WSPROXY_E_URL_* code of target_url, WSPROXY_E_URL_SCHEME when it is not
   ws/wss, WSPROXY_E_URL_TOO_LONG when the value does not fit in cap (cap of
   WSPROXY_MAX_URL_BYTES + 1 always does for values wsproxy_init accepts). */
WSPROXY_DEF int wsproxy_proxy_from_env(const char *target_url, wsproxy_getenv_fn getenv_fn,
                                       void *ctx, const char *no_proxy_override,
                                       char *out, size_t cap, wsproxy_env_info *info);

/* NO_PROXY for an explicitly given proxy, in one call: *bypass = 1 when the list in
   effect (as wsproxy_no_proxy_env; getenv_fn may be NULL to use no_proxy_override
   alone) covers target_url's host, so the connection should go direct (curl applies
   NO_PROXY to -x proxies too). Returns WSPROXY_OK or the target URL's error code. */
WSPROXY_DEF int wsproxy_bypass_proxy(const char *target_url, wsproxy_getenv_fn getenv_fn,
                                     void *ctx, const char *no_proxy_override, int *bypass);

/* ---- SOCKS4 / 4a / 5 / 5h handshake ------------------------------------------------ */
#define WSPROXY_SOCKS_DONE       0     /* tunnel open (== WSPROXY_OK) */
#define WSPROXY_SOCKS_NEED_MORE (-1)   /* reply incomplete: every byte given was used */
#define WSPROXY_SOCKS_SEND      (-2)   /* a request is waiting: wsproxy_socks_output */

enum {
    WSPROXY_SOCKS_PHASE_METHOD = 1,    /* SOCKS5: waiting for the method selection */
    WSPROXY_SOCKS_PHASE_AUTH,          /* SOCKS5: waiting for the RFC 1929 status */
    WSPROXY_SOCKS_PHASE_CONNECT,       /* waiting for the CONNECT reply (SOCKS4 starts here) */
    WSPROXY_SOCKS_PHASE_DONE,
    WSPROXY_SOCKS_PHASE_FAILED
};

typedef struct wsproxy_socks wsproxy_socks;

/* 1 when this proxy/target pair needs the caller's resolved address for init: a
   socks4:// or socks5:// proxy and a target host that is a name. socks4a:// and
   socks5h:// send the name; IP literals are sent as they are. */
WSPROXY_DEF int wsproxy_socks_needs_address(const wsproxy_url *proxy, const wsproxy_url *target);

/* Prepares the handshake to reach target (its host and port) through proxy (scheme
   socks4/socks4a/socks5/socks5h; user and password from its userinfo, still
   percent-encoded as wsproxy_url_parse leaves them). resolved: 4 bytes
   (resolved_type WSPROXY_HOST_IPV4) or 16 bytes (WSPROXY_HOST_IPV6), network order,
   used only when wsproxy_socks_needs_address() says so, else ignored (may be NULL).
     SOCKS5: offers "no authentication", plus "username/password" (RFC 1929) when the
             proxy URL has a user; user and password are percent-decoded, <= 255 bytes.
     SOCKS4: the user (decoded) goes in the USERID field; the password is not sent.
             SOCKS4a sends a name with the 0.0.0.1 address. IPv6 is refused.
   Returns WSPROXY_OK, WSPROXY_E_ARGUMENT, WSPROXY_E_URL_SCHEME (not a SOCKS proxy),
   WSPROXY_E_URL_USERINFO (bad escape), or a caller-side WSPROXY_E_SOCKS* code (340-343).
   On error s is FAILED and produces no byte. Nothing is kept from proxy or target. */
WSPROXY_DEF int wsproxy_socks_init(wsproxy_socks *s, const wsproxy_url *proxy,
                                   const wsproxy_url *target, const unsigned char *resolved,
                                   int resolved_type);

/* Copies up to cap bytes of the request waiting to be sent into out; returns the count
   (0: nothing to send now). Call until it returns 0, or use wsproxy_socks_pending(). */
WSPROXY_DEF size_t wsproxy_socks_output(wsproxy_socks *s, unsigned char *out, size_t cap);
/* Bytes of the current request not yet taken by wsproxy_socks_output. */
WSPROXY_DEF size_t wsproxy_socks_pending(const wsproxy_socks *s);

/* Feeds received bytes. Uses at most the bytes of the reply it waits for and sets
   *consumed. Returns WSPROXY_SOCKS_DONE, _NEED_MORE, _SEND (also, with *consumed 0, when
   called while a request is still waiting to be taken) or an error code (sticky; also
   WSPROXY_E_ARGUMENT for NULL pointers). A failing reply code is reported as soon as
   its byte arrives. */
WSPROXY_DEF int wsproxy_socks_input(wsproxy_socks *s, const unsigned char *data, size_t len,
                                    size_t *consumed);

WSPROXY_DEF int wsproxy_socks_phase(const wsproxy_socks *s);   /* WSPROXY_SOCKS_PHASE_* */
WSPROXY_DEF int wsproxy_socks_error(const wsproxy_socks *s);   /* sticky code or 0 */
/* The reply byte that decided the last step (SOCKS5 method, RFC 1929 status, REP, or
   SOCKS4 CD), or -1 before any. */
WSPROXY_DEF int wsproxy_socks_reply_code(const wsproxy_socks *s);
/* After DONE: the proxy's BND.ADDR as text (IPv6 without brackets, NUL-terminated,
   truncated to cap-1) and *port its BND.PORT. Returns WSPROXY_HOST_NAME/IPV4/IPV6, or
   -1 before DONE. SOCKS4 always gives IPv4. */
WSPROXY_DEF int wsproxy_socks_bound(const wsproxy_socks *s, char *out, size_t cap,
                                    unsigned *port);

/* ---- PAC result lists ---------------------------------------------------------------- */
#define WSPROXY_PAC_SOCKS5_REMOTE_DNS 1  /* flag: SOCKS5 entries become socks5h:// */

typedef struct wsproxy_pac_list wsproxy_pac_list;

/* Parses what a PAC script's FindProxyForURL() returned (evaluating the script is the
   caller's job), e.g. "PROXY a:3128; SOCKS5 b:1080; HTTPS c:443; DIRECT", into l, in
   order: PROXY and HTTP -> http://, HTTPS -> https://, SOCKS and SOCKS4 -> socks4://,
   SOCKS5 -> socks5:// (socks5h:// with WSPROXY_PAC_SOCKS5_REMOTE_DNS), DIRECT -> "".
   Keywords are case-insensitive; blanks (space, tab, CR, LF) may stand anywhere between
   tokens; empty entries are ignored. A missing port becomes the browsers' default (80,
   443, 1080) written out. Entries with an unknown keyword, a bad host:port, or no room
   left are dropped and counted in l->skipped. Returns WSPROXY_OK when at least one
   entry was kept, WSPROXY_E_PAC_EMPTY when none (l->count 0), or WSPROXY_E_ARGUMENT. */
WSPROXY_DEF int wsproxy_pac_parse(wsproxy_pac_list *l, const char *result, size_t len,
                                  int flags);
/* Entry i: its URL ("" for DIRECT) and *scheme (WSPROXY_SCHEME_*, 0 for DIRECT; scheme
   may be NULL); NULL when i >= count. */
WSPROXY_DEF const char *wsproxy_pac_get(const wsproxy_pac_list *l, size_t i, int *scheme);
/* Iterator: returns entry *pos and advances *pos; NULL after the last. Start at 0:
       size_t pos = 0; const char *url; int scheme;
       while ((url = wsproxy_pac_next(&l, &pos, &scheme)) != NULL)
           if (try_connect(url)) break;      (url[0] == '\0' means go direct) */
WSPROXY_DEF const char *wsproxy_pac_next(const wsproxy_pac_list *l, size_t *pos, int *scheme);

#ifdef __cplusplus
}
#endif

/* ---- full definitions so sizeof works; fields ending in _ are private --------------- */
struct wsproxy_socks {
    int version_;                  /* 4 or 5 */
    int phase_;                    /* WSPROXY_SOCKS_PHASE_* */
    int error_;
    int code_;                     /* deciding reply byte, -1 none */
    int offer_auth_;
    int out_which_;                /* 0 none, 1 greeting, 2 auth, 3 connect */
    size_t out_off_;
    unsigned char greet_[4];
    size_t greet_len_;
    unsigned char auth_[3 + 255 + 255];    /* RFC 1929 request; wiped once taken */
    size_t auth_len_;
    unsigned char connect_[WSPROXY_SOCKS_MAX_REQUEST];
    size_t connect_len_;
    unsigned char rx_[4 + 1 + 255 + 2];    /* the reply being read */
    size_t rx_len_;
};

struct wsproxy_pac_list {
    size_t count;                          /* entries kept, in order */
    size_t skipped;                        /* entries dropped */
    int scheme_[WSPROXY_PAC_MAX_ENTRIES];
    size_t off_[WSPROXY_PAC_MAX_ENTRIES];  /* each URL's offset in buf_ */
    char buf_[WSPROXY_PAC_BUFFER_BYTES];
};

/* ---- the client struct: full definition so sizeof works; fields are private ---- */
struct wsproxy_client {
    int state_;
    int error_;
    wsproxy_error_info info_;
    /* configuration */
    wsproxy_random_fn random_;
    void *random_ctx_;
    uint64_t max_message_;
    unsigned char *msg_buf_;
    size_t msg_cap_;
    char connect_host_[256];
    unsigned connect_port_;
    int via_proxy_;
    size_t request_len_;
    char accept_[29];
    size_t proto_off_, proto_len_;  /* offered subprotocol list inside request_ */
    char protocol_[WSPROXY_MAX_PROTOCOL_BYTES + 1];
    /* receive side */
    size_t in_start_, in_end_;
    size_t head_scanned_;
    int interim_count_;
    /* frame decoder */
    int rx_in_payload_;
    wsproxy_frame_header rx_hdr_;
    uint64_t rx_remaining_;
    int rx_msg_opcode_;           /* 0 when no data message is open */
    int rx_msg_delivered_;        /* a chunk of the open message was given out */
    uint64_t rx_msg_len_;
    uint32_t rx_utf8_;
    size_t msg_fill_;             /* reassembly: bytes gathered so far */
    int final_reported_;
    int eof_;                     /* wsproxy_socket_closed was called */
    int eof_error_;
    /* send side */
    size_t out_start_, out_end_;
    uint64_t tx_remaining_;       /* payload bytes of a streamed frame still to come */
    unsigned char tx_mask_[4];
    size_t tx_mask_off_;
    int tx_in_frame_;
    int tx_msg_open_;             /* a fragmented message is being sent */
    uint32_t tx_utf8_;            /* validation state across sent text fragments */
    int tx_text_;                 /* the message being sent is text */
    unsigned char rand_pool_[64];   /* random bytes drawn in batches for the masks */
    size_t rand_used_;
    /* control frames waiting for the end of a streamed frame or for room */
    int pong_pending_;
    int ping_unanswered_;         /* a ping went out and no pong came back since */
    unsigned char pong_[125];
    size_t pong_len_;
    int close_pending_;
    unsigned char close_[125];
    size_t close_len_;
    int close_sent_, close_received_;
    int received_any_;
    int tunnel_up_;
    int direct_recv_;              /* the last wsproxy_recv_buf gave the message buffer */
    int via_socks_;
    wsproxy_socks socks_;          /* the SOCKS handshake, when the proxy is socks* */
#ifndef WSPROXY_NO_TLS
    wsproxy_tls_hop *tls_proxy_;   /* NULL: the hop to the proxy is plain */
    wsproxy_tls_hop *tls_target_;  /* NULL: ws:// */
    int tls_target_started_;
    int tls_events_;               /* handshakes completed but not yet reported */
    int in_holds_cipher_;          /* in_ holds server TLS bytes that came with the 200 */
    const br_x509_trust_anchor *target_tas_;
    size_t target_tas_n_;
    int target_insecure_;
    uint32_t tls_days_, tls_seconds_;
    char target_host_[256];
    int target_host_type_;
    char alpn_[16];
#endif
    /* the large buffers last: wsproxy_init clears only what comes before them, so
       their pages become resident as they are used, not at init */
    char request_[WSPROXY_MAX_REQUEST_BYTES];   /* the upgrade, kept until the tunnel */
    unsigned char in_[WSPROXY_RECV_BUFFER_BYTES];
    unsigned char out_[WSPROXY_SEND_BUFFER_BYTES];
};

#endif /* WSPROXY_H */

/* ============================================================================= */
#ifdef WSPROXY_IMPLEMENTATION
#ifndef WSPROXY_IMPLEMENTATION_DONE
#define WSPROXY_IMPLEMENTATION_DONE

#include <string.h>

#ifdef WSPROXY_STATIC
#define WSPROXY_IMPL static
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push   /* a static copy need not use every function */
#pragma GCC diagnostic ignored "-Wunused-function"
#define WSPROXY_PRAGMA_PUSHED_
#endif
#else
#define WSPROXY_IMPL
#endif

/* compile-time checks of the limits against each other */
typedef char wsproxy_check_recv_buffer_[(WSPROXY_RECV_BUFFER_BYTES >= WSPROXY_MAX_HEAD_BYTES &&
                                         WSPROXY_RECV_BUFFER_BYTES >= 256) ? 1 : -1];
typedef char wsproxy_check_send_buffer_[(WSPROXY_SEND_BUFFER_BYTES >=
                                         2 * WSPROXY_MAX_REQUEST_BYTES) ? 1 : -1];
typedef char wsproxy_check_line_[(WSPROXY_MAX_LINE_BYTES <= WSPROXY_MAX_HEAD_BYTES) ? 1 : -1];
#ifndef WSPROXY_NO_TLS
/* BearSSL needs room for a 512-byte record plus its 85 bytes of header and MAC */
typedef char wsproxy_check_tls_output_[(WSPROXY_TLS_OUTPUT_BUFFER_BYTES >= 597 &&
                                        WSPROXY_TLS_OUTPUT_BUFFER_BYTES <= BR_SSL_BUFSIZE_OUTPUT) ? 1 : -1];
#endif

/* ---- small character helpers --------------------------------------------------- */
static int wsp_lower_(int ch) { return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch; }

static int wsp_ieq_(const char *a, size_t alen, const char *b)
{
    size_t i;
    for (i = 0; i < alen; i++)
        if (b[i] == '\0' || wsp_lower_((unsigned char)a[i]) != wsp_lower_((unsigned char)b[i]))
            return 0;
    return b[alen] == '\0';
}

static int wsp_is_tchar_(int ch)
{
    /* RFC 9110 token characters */
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int wsp_hexval_(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = wsp_lower_(ch);
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

static int wsp_is_blank_(int ch) { return ch == ' ' || ch == '\t'; }

/* ---- SHA-1 ------------------------------------------------------------------------ */
typedef struct { uint32_t h[5]; uint64_t total; unsigned char block[64]; size_t fill; } wsp_sha1_;

static uint32_t wsp_rol_(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void wsp_sha1_block_(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e, t;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 80; i++) w[i] = wsp_rol_(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
    for (i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)      { f = (b & c) | (~b & d);            k = 0x5A827999u; }
        else if (i < 40) { f = b ^ c ^ d;                     k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d);   k = 0x8F1BBCDCu; }
        else             { f = b ^ c ^ d;                     k = 0xCA62C1D6u; }
        t = wsp_rol_(a, 5) + f + e + k + w[i];
        e = d; d = c; c = wsp_rol_(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void wsp_sha1_init_(wsp_sha1_ *s)
{
    s->h[0] = 0x67452301u; s->h[1] = 0xEFCDAB89u; s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u; s->h[4] = 0xC3D2E1F0u;
    s->total = 0; s->fill = 0;
}

static void wsp_sha1_update_(wsp_sha1_ *s, const unsigned char *p, size_t len)
{
    s->total += len;
    while (len > 0) {
        size_t n = 64 - s->fill;
        if (n > len) n = len;
        memcpy(s->block + s->fill, p, n);
        s->fill += n; p += n; len -= n;
        if (s->fill == 64) { wsp_sha1_block_(s->h, s->block); s->fill = 0; }
    }
}

static void wsp_sha1_final_(wsp_sha1_ *s, unsigned char out[20])
{
    uint64_t bits = s->total * 8;
    unsigned char pad = 0x80, zero = 0, len8[8];
    int i;
    wsp_sha1_update_(s, &pad, 1);
    while (s->fill != 56) wsp_sha1_update_(s, &zero, 1);
    for (i = 0; i < 8; i++) len8[i] = (unsigned char)(bits >> (56 - 8 * i));
    wsp_sha1_update_(s, len8, 8);
    for (i = 0; i < 20; i++) out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

WSPROXY_IMPL void wsproxy_sha1(const void *data, size_t len, unsigned char out[20])
{
    wsp_sha1_ s;
    wsp_sha1_init_(&s);
    wsp_sha1_update_(&s, (const unsigned char *)data, len);
    wsp_sha1_final_(&s, out);
}

WSPROXY_IMPL size_t wsproxy_base64(const unsigned char *in, size_t len, char *out, size_t cap)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (len + 2) / 3 * 4, i, o = 0;
    if (len > ((size_t)-1 - 2) / 4 * 3 || cap < need + 1) return 0;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = abc[v >> 18]; out[o++] = abc[(v >> 12) & 63];
        out[o++] = abc[(v >> 6) & 63]; out[o++] = abc[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0u);
        out[o++] = abc[v >> 18]; out[o++] = abc[(v >> 12) & 63];
        out[o++] = (i + 1 < len) ? abc[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

WSPROXY_IMPL void wsproxy_accept_key(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    wsp_sha1_ s;
    unsigned char digest[20];
    wsp_sha1_init_(&s);
    wsp_sha1_update_(&s, (const unsigned char *)key, key_len);
    wsp_sha1_update_(&s, (const unsigned char *)guid, sizeof guid - 1);
    wsp_sha1_final_(&s, digest);
    wsproxy_base64(digest, 20, out, 29);
}

/* ---- UTF-8 ------------------------------------------------------------------------
   A shift DFA. States are bit offsets (0 between code points, 6 reject, then the states
   that still wait for continuation bytes, each remembering the range the next byte
   must fall in, which is how overlongs, surrogates and > U+10FFFF fail at their
   earliest byte). A byte's class picks a 64-bit row holding the next state for every
   state in 6-bit fields, so a byte costs one load that does not depend on the state
   and one shift that does: no branch per byte, mixed text runs as fast as ASCII-heavy
   text. ASCII runs are skipped 32 bytes at a time. */
#define WSP_UTF8_REJECT_ 0xFFFFFFFFu
#define WSP_UTF8_REJ_STATE_ 6u

/* classes: 0 ASCII, 1 80-8F, 2 90-9F, 3 A0-BF, 4 never valid (C0 C1 F5-FF), 5 C2-DF,
   6 E0, 7 E1-EC EE-EF, 8 ED, 9 F0, 10 F1-F3, 11 F4 */
static const char wsp_utf8_class_[] =
        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\1\2\2\2\2\2\2\2\2\2\2\2\2\2\2\2\2"
        "\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3\3"
        "\4\4\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5\5"
        "\6\7\7\7\7\7\7\7\7\7\7\7\7\10\7\7\11\12\12\12\13\4\4\4\4\4\4\4\4\4\4\4";
static const uint64_t wsp_utf8_rows_[12] = {
    0x0006186186186180ull, 0x001218c192300186ull, 0x000648c192300186ull, 0x0006486312300186ull,
    0x0006186186186186ull, 0x000618618618618cull, 0x000618618618619eull, 0x0006186186186192ull,
    0x00061861861861a4ull, 0x00061861861861aaull, 0x0006186186186198ull, 0x00061861861861b0ull
};

WSPROXY_IMPL size_t wsproxy_utf8_validate(uint32_t *state, const unsigned char *s, size_t len)
{
    uint64_t st;
    size_t i = 0;
    if (*state == WSP_UTF8_REJECT_) return 0;
    st = *state & 63;
    while (i < len) {
        size_t end, j;
        uint64_t before;
        if (st == 0) {
            while (i + 32 <= len) {
                uint64_t a, b, c, d;
                memcpy(&a, s + i, 8); memcpy(&b, s + i + 8, 8);
                memcpy(&c, s + i + 16, 8); memcpy(&d, s + i + 24, 8);
                if ((a | b | c | d) & 0x8080808080808080ull) break;
                i += 32;
            }
            if (i == len) break;
        }
        end = len - i < 32 ? len : i + 32;
        before = st;
        for (j = i; j < end; j++)
            st = wsp_utf8_rows_[(unsigned char)wsp_utf8_class_[s[j]]] >> (st & 63);
        st &= 63;
        if (st == WSP_UTF8_REJ_STATE_) {   /* which byte of this block was the first bad one */
            st = before;
            for (j = i; j < end; j++) {
                st = (wsp_utf8_rows_[(unsigned char)wsp_utf8_class_[s[j]]] >> (st & 63)) & 63;
                if (st == WSP_UTF8_REJ_STATE_) break;
            }
            *state = WSP_UTF8_REJECT_;
            return j;
        }
        i = end;
    }
    *state = (uint32_t)st;
    return len;
}

WSPROXY_IMPL int wsproxy_utf8_done(uint32_t state) { return state == 0; }

/* ---- frames --------------------------------------------------------------------- */
WSPROXY_IMPL int wsproxy_frame_decode(const unsigned char *buf, size_t len,
                                      wsproxy_frame_header *h)
{
    unsigned n;
    size_t hl;
    memset(h, 0, sizeof *h);
    if (len < 2) {
        if (len == 1) {   /* what one byte can tell, it tells at once */
            h->fin = buf[0] >> 7; h->rsv = (buf[0] >> 4) & 7; h->opcode = buf[0] & 15;
            if (h->rsv) return -WSPROXY_E_WS_RESERVED_BITS;
            if ((h->opcode >= 3 && h->opcode <= 7) || h->opcode >= 11) return -WSPROXY_E_WS_OPCODE;
            if (h->opcode >= 8 && !h->fin) return -WSPROXY_E_WS_CONTROL_FRAGMENTED;
        }
        return 0;
    }
    h->fin = buf[0] >> 7;
    h->rsv = (buf[0] >> 4) & 7;
    h->opcode = buf[0] & 15;
    h->masked = buf[1] >> 7;
    n = buf[1] & 127;
    h->payload_len = n;
    if (h->rsv) return -WSPROXY_E_WS_RESERVED_BITS;
    if ((h->opcode >= 3 && h->opcode <= 7) || h->opcode >= 11) return -WSPROXY_E_WS_OPCODE;
    if (h->opcode >= 8) {
        if (!h->fin) return -WSPROXY_E_WS_CONTROL_FRAGMENTED;
        if (n > 125) return -WSPROXY_E_WS_CONTROL_TOO_LONG;
    }
    if (h->masked) return -WSPROXY_E_WS_MASKED;
    hl = 2 + (n == 126 ? 2 : n == 127 ? 8 : 0);
    if (len < hl) return 0;
    if (n == 126) {
        h->payload_len = (uint64_t)buf[2] << 8 | buf[3];
        if (h->payload_len < 126) return -WSPROXY_E_WS_LENGTH_NONMINIMAL;
    } else if (n == 127) {
        uint64_t v = 0;
        int i;
        for (i = 0; i < 8; i++) v = v << 8 | buf[2 + i];
        h->payload_len = v;
        if (v >> 63) return -WSPROXY_E_WS_LENGTH_TOO_BIG;
        if (v <= 0xFFFF) return -WSPROXY_E_WS_LENGTH_NONMINIMAL;
    }
    return (int)hl;
}

WSPROXY_IMPL size_t wsproxy_frame_encode(unsigned char out[WSPROXY_FRAME_HEADER_MAX], int fin,
                                         int opcode, const unsigned char *mask,
                                         uint64_t payload_len)
{
    size_t n = 2;
    out[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 15));
    if (payload_len < 126) {
        out[1] = (unsigned char)payload_len;
    } else if (payload_len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (unsigned char)(payload_len >> 8);
        out[3] = (unsigned char)payload_len;
        n = 4;
    } else {
        int i;
        out[1] = 127;
        for (i = 0; i < 8; i++) out[2 + i] = (unsigned char)(payload_len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        out[1] |= 0x80;
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

WSPROXY_IMPL size_t wsproxy_mask(unsigned char *dst, const unsigned char *src, size_t len,
                                 const unsigned char key[4], size_t offset)
{
    static const uint16_t endian_probe = 1;
    unsigned char kb[4];
    uint32_t k32;
    uint64_t kw;
    unsigned shift = (unsigned)(offset & 3) * 8;
    size_t i = 0;
    memcpy(&k32, key, 4);
    /* rotate the key word so that its first byte in memory is key[offset % 4]; which
       way depends on the byte order, a constant the compiler folds */
    if (shift) k32 = *(const unsigned char *)&endian_probe ? (k32 >> shift | k32 << (32 - shift))
                                                           : (k32 << shift | k32 >> (32 - shift));
    memcpy(kb, &k32, 4);
    kw = (uint64_t)k32 * 0x100000001ull;   /* both halves equal: byte order is moot */
    for (; i + 64 <= len; i += 64) {   /* all loads before the stores: dst may be src */
        uint64_t a, b, c, d, e, f, g, h;
        memcpy(&a, src + i, 8);      memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8); memcpy(&d, src + i + 24, 8);
        memcpy(&e, src + i + 32, 8); memcpy(&f, src + i + 40, 8);
        memcpy(&g, src + i + 48, 8); memcpy(&h, src + i + 56, 8);
        a ^= kw; b ^= kw; c ^= kw; d ^= kw; e ^= kw; f ^= kw; g ^= kw; h ^= kw;
        memcpy(dst + i, &a, 8);      memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8); memcpy(dst + i + 24, &d, 8);
        memcpy(dst + i + 32, &e, 8); memcpy(dst + i + 40, &f, 8);
        memcpy(dst + i + 48, &g, 8); memcpy(dst + i + 56, &h, 8);
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= kw;
        memcpy(dst + i, &w, 8);
    }
    for (; i < len; i++) dst[i] = (unsigned char)(src[i] ^ kb[i & 3]);
    return (offset + len) & 3;
}

/* ---- addresses and URLs ------------------------------------------------------------ */
WSPROXY_IMPL int wsproxy_parse_ipv4(const char *s, size_t len, unsigned char out[4])
{
    size_t i = 0;
    int part;
    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t start = i;
        if (part > 0) {
            if (i >= len || s[i] != '.') return 0;
            start = ++i;
        }
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255) return 0;
        if (i - start > 1 && s[start] == '0') return 0;   /* no octal look-alikes */
        out[part] = (unsigned char)v;
    }
    return i == len;
}

WSPROXY_IMPL int wsproxy_parse_ipv6(const char *s, size_t len, unsigned char out[16])
{
    unsigned char b[16];
    int groups = 0, gap = -1;
    size_t i = 0;
    memset(b, 0, sizeof b);
    if (len < 2) return 0;
    if (s[0] == ':') {
        if (s[1] != ':') return 0;
        gap = 0;
        i = 2;
    }
    while (i < len) {
        size_t start = i;
        unsigned v = 0;
        int digits = 0;
        if (groups == 8) return 0;
        while (i < len && wsp_hexval_((unsigned char)s[i]) >= 0 && digits < 5) {
            v = v * 16 + (unsigned)wsp_hexval_((unsigned char)s[i]);
            i++; digits++;
        }
        if (i < len && s[i] == '.') {   /* dotted IPv4 in the last 32 bits */
            if (groups > 6 || !wsproxy_parse_ipv4(s + start, len - start, b + 2 * groups)) return 0;
            groups += 2;
            break;
        }
        if (digits == 0 || digits > 4) return 0;
        b[2 * groups] = (unsigned char)(v >> 8);
        b[2 * groups + 1] = (unsigned char)v;
        groups++;
        if (i == len) break;
        if (s[i] != ':') return 0;
        i++;
        if (i < len && s[i] == ':') {
            if (gap >= 0) return 0;
            gap = groups;
            i++;
        } else if (i == len) {
            return 0;
        }
    }
    if (gap < 0) {
        if (groups != 8) return 0;
    } else {
        int tail = groups - gap;
        if (groups > 7) return 0;
        memmove(b + 16 - 2 * tail, b + 2 * gap, (size_t)(2 * tail));
        memset(b + 2 * gap, 0, (size_t)(16 - 2 * tail - 2 * gap));
    }
    memcpy(out, b, 16);
    return 1;
}

WSPROXY_IMPL int wsproxy_percent_decode(const char *in, size_t len, char *out, size_t cap,
                                        size_t *out_len)
{
    size_t i, o = 0;
    *out_len = 0;
    for (i = 0; i < len; i++) {
        int ch = (unsigned char)in[i];
        if (ch == '%') {
            int hi, lo;
            if (i + 2 >= len) return WSPROXY_E_URL_USERINFO;
            hi = wsp_hexval_((unsigned char)in[i + 1]);
            lo = wsp_hexval_((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0) return WSPROXY_E_URL_USERINFO;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == '\r' || ch == '\n' || ch == '\0') return WSPROXY_E_URL_USERINFO;
        if (o >= cap) return WSPROXY_E_URL_USERINFO;
        out[o++] = (char)ch;
    }
    *out_len = o;
    return WSPROXY_OK;
}

static const struct { const char *name; int scheme; unsigned port; } wsp_schemes_[] = {
    {"ws", WSPROXY_SCHEME_WS, 80}, {"wss", WSPROXY_SCHEME_WSS, 443},
    {"http", WSPROXY_SCHEME_HTTP, 1080}, {"https", WSPROXY_SCHEME_HTTPS, 443},
    {"socks4", WSPROXY_SCHEME_SOCKS4, 1080}, {"socks4a", WSPROXY_SCHEME_SOCKS4A, 1080},
    {"socks5", WSPROXY_SCHEME_SOCKS5, 1080}, {"socks5h", WSPROXY_SCHEME_SOCKS5H, 1080}
};

static int wsp_is_host_char_(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static int wsp_valid_escapes_(const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        if (s[i] == '%' && (i + 2 >= len || wsp_hexval_((unsigned char)s[i + 1]) < 0 ||
                            wsp_hexval_((unsigned char)s[i + 2]) < 0))
            return 0;
    return 1;
}

WSPROXY_IMPL int wsproxy_url_parse(const char *s, size_t len, wsproxy_url *u)
{
    wsproxy_url r;
    size_t i, scheme_end = 0, auth_start, auth_end, host_start, host_end, at;
    int is_ws, found = 0;
    unsigned k;
    if (!s || !u) return WSPROXY_E_ARGUMENT;
    if (len > WSPROXY_MAX_URL_BYTES) return WSPROXY_E_URL_TOO_LONG;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7F) return WSPROXY_E_URL_CHAR;
    }
    memset(&r, 0, sizeof r);
    /* scheme: ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") "://" */
    for (i = 0; i < len; i++) {
        int ch = (unsigned char)s[i];
        if (ch == ':' && i > 0 && i + 2 < len && s[i + 1] == '/' && s[i + 2] == '/') { scheme_end = i; found = 1; break; }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'))))
            break;
    }
    if (found) {
        for (k = 0; k < sizeof wsp_schemes_ / sizeof wsp_schemes_[0]; k++)
            if (wsp_ieq_(s, scheme_end, wsp_schemes_[k].name)) break;
        if (k == sizeof wsp_schemes_ / sizeof wsp_schemes_[0]) return WSPROXY_E_URL_SCHEME;
        auth_start = scheme_end + 3;
    } else {
        /* no "scheme://": a proxy written as host:port, taken as http:// like curl */
        for (i = 0; i < len; i++)
            if (s[i] == ':' && i + 1 < len && s[i + 1] == '/') return WSPROXY_E_URL_SYNTAX;
        k = 2;
        auth_start = 0;
    }
    r.scheme = wsp_schemes_[k].scheme;
    r.port = wsp_schemes_[k].port;
    is_ws = (r.scheme == WSPROXY_SCHEME_WS || r.scheme == WSPROXY_SCHEME_WSS);
    for (auth_end = auth_start; auth_end < len; auth_end++)
        if (s[auth_end] == '/' || s[auth_end] == '?' || s[auth_end] == '#') break;
    /* userinfo: up to the last '@' of the authority */
    at = auth_end;
    for (i = auth_start; i < auth_end; i++)
        if (s[i] == '@') at = i;
    host_start = auth_start;
    if (at != auth_end) {
        size_t colon = at;
        if (is_ws) return WSPROXY_E_URL_USERINFO;
        for (i = auth_start; i < at; i++)
            if (s[i] == ':') { colon = i; break; }
        r.user = s + auth_start;
        r.user_len = colon - auth_start;
        if (colon < at) {
            r.password = s + colon + 1;
            r.password_len = at - colon - 1;
        }
        if (!wsp_valid_escapes_(s + auth_start, at - auth_start)) return WSPROXY_E_URL_USERINFO;
        host_start = at + 1;
    }
    /* host */
    if (host_start < auth_end && s[host_start] == '[') {
        unsigned char a6[16];
        for (host_end = host_start + 1; host_end < auth_end && s[host_end] != ']'; host_end++) {}
        if (host_end == auth_end) return WSPROXY_E_URL_HOST;
        if (!wsproxy_parse_ipv6(s + host_start + 1, host_end - host_start - 1, a6))
            return WSPROXY_E_URL_HOST;
        r.host = s + host_start + 1;
        r.host_len = host_end - host_start - 1;
        r.host_type = WSPROXY_HOST_IPV6;
        i = host_end + 1;
        if (i < auth_end && s[i] != ':') return WSPROXY_E_URL_HOST;
    } else {
        unsigned char a4[4];
        int numeric = 1;
        for (host_end = host_start; host_end < auth_end && s[host_end] != ':'; host_end++) {
            int ch = (unsigned char)s[host_end];
            if (!wsp_is_host_char_(ch)) return WSPROXY_E_URL_HOST;
            if (!((ch >= '0' && ch <= '9') || ch == '.')) numeric = 0;
        }
        if (host_end == host_start || host_end - host_start > 253) return WSPROXY_E_URL_HOST;
        r.host = s + host_start;
        r.host_len = host_end - host_start;
        if (wsproxy_parse_ipv4(r.host, r.host_len, a4)) r.host_type = WSPROXY_HOST_IPV4;
        else if (numeric) return WSPROXY_E_URL_HOST;   /* 1.2.3, 01.2.3.4, 999.1.1.1 */
        i = host_end;
    }
    /* port */
    if (i < auth_end) {   /* s[i] == ':' */
        unsigned long v = 0;
        size_t p = i + 1;
        if (p < auth_end) {
            for (; p < auth_end; p++) {
                if (s[p] < '0' || s[p] > '9') return WSPROXY_E_URL_PORT;
                v = v * 10 + (unsigned long)(s[p] - '0');
                if (v > 65535) return WSPROXY_E_URL_PORT;
            }
            if (v == 0) return WSPROXY_E_URL_PORT;
            r.port = (unsigned)v;
            r.port_explicit = 1;
        }
    }
    /* path and query */
    for (i = auth_end; i < len; i++)
        if (s[i] == '#') return WSPROXY_E_URL_FRAGMENT;
    r.path = s + auth_end;
    r.path_len = len - auth_end;
    if (!is_ws && !(r.path_len == 0 || (r.path_len == 1 && r.path[0] == '/')))
        return WSPROXY_E_URL_SYNTAX;   /* a proxy URL names a host, nothing more */
    *u = r;
    return WSPROXY_OK;
}

/* ---- HTTP/1.x response head ---------------------------------------------------------
   Lines end in CRLF or a bare LF. Each byte is checked as it is scanned, so a reply that
   is wrong from its first bytes fails at once instead of waiting for a whole head. */
static int wsp_scan_line_(const char *buf, size_t len, size_t pos, size_t *line_end,
                          size_t *next)
{
    size_t i;
    for (i = pos; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (i - pos > WSPROXY_MAX_LINE_BYTES) return WSPROXY_HTTP_TOO_LARGE;
        if (ch == '\n') { *line_end = i; *next = i + 1; return 0; }
        if (ch == '\r') {
            if (i + 1 == len) break;
            if (buf[i + 1] != '\n') return WSPROXY_HTTP_ERROR;
            if (i - pos > WSPROXY_MAX_LINE_BYTES) return WSPROXY_HTTP_TOO_LARGE;
            *line_end = i; *next = i + 2;
            return 0;
        }
        if ((ch < 0x20 && ch != '\t') || ch == 0x7F) return WSPROXY_HTTP_ERROR;
    }
    if (len - pos > WSPROXY_MAX_LINE_BYTES || len > WSPROXY_MAX_HEAD_BYTES) return WSPROXY_HTTP_TOO_LARGE;
    return WSPROXY_HTTP_INCOMPLETE;
}

WSPROXY_IMPL int wsproxy_parse_response(const char *buf, size_t len, int *minor_version,
                                        int *status, const char **reason, size_t *reason_len,
                                        wsproxy_header *headers, size_t *num_headers)
{
    static const char prefix[] = "HTTP/1.";
    size_t cap = *num_headers, count = 0, pos, end, next, i;
    int rc;
    if (cap > WSPROXY_MAX_HEADERS) cap = WSPROXY_MAX_HEADERS;
    *num_headers = 0;
    for (i = 0; i < len && i < 7; i++)
        if (buf[i] != prefix[i]) return WSPROXY_HTTP_ERROR;
    rc = wsp_scan_line_(buf, len, 0, &end, &next);
    if (rc == WSPROXY_HTTP_INCOMPLETE || rc == WSPROXY_HTTP_TOO_LARGE) {
        /* a status line already wrong in its first bytes is malformed, however much of
           it has arrived: the verdict must not depend on how TCP split the reply */
        for (i = 7; i < len && i < 13; i++) {
            unsigned char ch = (unsigned char)buf[i];
            if ((i == 7 || i == 10 || i == 11) && (ch < '0' || ch > '9')) return WSPROXY_HTTP_ERROR;
            if (i == 8 && ch != ' ') return WSPROXY_HTTP_ERROR;
            if (i == 9 && (ch < '1' || ch > '5')) return WSPROXY_HTTP_ERROR;
            if (i == 12 && ch != ' ' && ch != '\r' && ch != '\n') return WSPROXY_HTTP_ERROR;
        }
    }
    if (rc) return rc;
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (end < 12 || buf[7] < '0' || buf[7] > '9' || buf[8] != ' ') return WSPROXY_HTTP_ERROR;
    for (i = 9; i < 12; i++)
        if (buf[i] < '0' || buf[i] > '9') return WSPROXY_HTTP_ERROR;
    if (buf[9] < '1' || buf[9] > '5') return WSPROXY_HTTP_ERROR;
    if (end > 12 && buf[12] != ' ') return WSPROXY_HTTP_ERROR;
    *minor_version = buf[7] - '0';
    *status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    *reason = buf + (end > 12 ? 13 : 12);
    *reason_len = end > 12 ? end - 13 : 0;
    pos = next;
    for (;;) {
        size_t name_end, vs, ve;
        /* obsolete line folding: refused as soon as the line's first byte is here, so
           the verdict does not depend on how much of the line has arrived */
        if (pos < len && wsp_is_blank_(buf[pos])) return WSPROXY_HTTP_ERROR;
        rc = wsp_scan_line_(buf, len, pos, &end, &next);
        if (rc) {
            *num_headers = count;
            return rc;
        }
        if (next > WSPROXY_MAX_HEAD_BYTES) return WSPROXY_HTTP_TOO_LARGE;
        if (end == pos) break;   /* the empty line ends the head */
        if (wsp_is_blank_(buf[pos])) return WSPROXY_HTTP_ERROR;
        for (name_end = pos; name_end < end && wsp_is_tchar_((unsigned char)buf[name_end]); name_end++) {}
        if (name_end == pos || name_end == end || buf[name_end] != ':') return WSPROXY_HTTP_ERROR;
        if (count == cap) return WSPROXY_HTTP_TOO_LARGE;
        for (vs = name_end + 1; vs < end && wsp_is_blank_(buf[vs]); vs++) {}
        for (ve = end; ve > vs && wsp_is_blank_(buf[ve - 1]); ve--) {}
        headers[count].name = buf + pos;
        headers[count].name_len = name_end - pos;
        headers[count].value = buf + vs;
        headers[count].value_len = ve - vs;
        count++;
        pos = next;
    }
    *num_headers = count;
    return (int)next;
}

/* ---- the client: errors -------------------------------------------------------------- */
static const struct { int code; const char *name, *message; } wsp_errors_[] = {
    {WSPROXY_OK, "WSPROXY_OK", "no error"},
    {WSPROXY_E_ARGUMENT, "WSPROXY_E_ARGUMENT", "invalid argument"},
    {WSPROXY_E_URL_SYNTAX, "WSPROXY_E_URL_SYNTAX", "malformed URL"},
    {WSPROXY_E_URL_SCHEME, "WSPROXY_E_URL_SCHEME", "unsupported URL scheme"},
    {WSPROXY_E_URL_HOST, "WSPROXY_E_URL_HOST", "empty or malformed host in URL"},
    {WSPROXY_E_URL_PORT, "WSPROXY_E_URL_PORT", "port in URL is not 1-65535"},
    {WSPROXY_E_URL_FRAGMENT, "WSPROXY_E_URL_FRAGMENT", "fragment (#) not allowed in URL"},
    {WSPROXY_E_URL_CHAR, "WSPROXY_E_URL_CHAR", "space, control or non-ASCII byte in URL"},
    {WSPROXY_E_URL_USERINFO, "WSPROXY_E_URL_USERINFO", "credentials in URL not allowed or badly escaped"},
    {WSPROXY_E_URL_TOO_LONG, "WSPROXY_E_URL_TOO_LONG", "URL too long"},
    {WSPROXY_E_HEADER_INVALID, "WSPROXY_E_HEADER_INVALID", "header is not \"Name: value\" or holds CR/LF/NUL"},
    {WSPROXY_E_HEADER_RESERVED, "WSPROXY_E_HEADER_RESERVED", "header is written by the library itself"},
    {WSPROXY_E_PROTOCOL_INVALID, "WSPROXY_E_PROTOCOL_INVALID", "subprotocol is not a token or is repeated"},
    {WSPROXY_E_REQUEST_TOO_LARGE, "WSPROXY_E_REQUEST_TOO_LARGE", "request head too large"},
    {WSPROXY_E_UNSUPPORTED, "WSPROXY_E_UNSUPPORTED", "not supported by this build"},
    {WSPROXY_E_STATE, "WSPROXY_E_STATE", "call not valid in this state"},
    {WSPROXY_E_WOULD_BLOCK, "WSPROXY_E_WOULD_BLOCK", "send buffer full, flush and retry"},
    {WSPROXY_E_CLOSE_CODE, "WSPROXY_E_CLOSE_CODE", "close code may not be sent"},
    {WSPROXY_E_CLOSE_REASON, "WSPROXY_E_CLOSE_REASON", "close reason over 123 bytes or not UTF-8"},
    {WSPROXY_E_RANDOM, "WSPROXY_E_RANDOM", "random source failed"},
    {WSPROXY_E_SEND_TOO_LARGE, "WSPROXY_E_SEND_TOO_LARGE", "frame larger than the send buffer, stream it"},
    {WSPROXY_E_TEXT_INVALID, "WSPROXY_E_TEXT_INVALID", "text to send is not UTF-8"},
    {WSPROXY_E_TLS_ARENA, "WSPROXY_E_TLS_ARENA", "TLS needs a tls_arena of wsproxy_tls_arena_size() bytes"},
    {WSPROXY_E_PEM_SPACE, "WSPROXY_E_PEM_SPACE", "not enough room for the trust anchors"},
    {WSPROXY_E_PEM_SYNTAX, "WSPROXY_E_PEM_SYNTAX", "malformed PEM or certificate"},
    {WSPROXY_E_PROXY_REFUSED, "WSPROXY_E_PROXY_REFUSED", "proxy connection refused"},
    {WSPROXY_E_PROXY_AUTH, "WSPROXY_E_PROXY_AUTH", "proxy authentication required"},
    {WSPROXY_E_PROXY_CONNECT, "WSPROXY_E_PROXY_CONNECT", "proxy connect failed"},
    {WSPROXY_E_PROXY_BAD_REPLY, "WSPROXY_E_PROXY_BAD_REPLY", "malformed reply from proxy"},
    {WSPROXY_E_PROXY_REPLY_TOO_LARGE, "WSPROXY_E_PROXY_REPLY_TOO_LARGE", "proxy reply head too large"},
    {WSPROXY_E_PROXY_CLOSED, "WSPROXY_E_PROXY_CLOSED", "proxy closed the connection during its reply"},
    {WSPROXY_E_PROXY_TIMEOUT, "WSPROXY_E_PROXY_TIMEOUT", "timed out waiting for the proxy"},
    {WSPROXY_E_SOCKS_GENERAL_FAILURE, "WSPROXY_E_SOCKS_GENERAL_FAILURE", "SOCKS proxy: general server failure"},
    {WSPROXY_E_SOCKS_NOT_ALLOWED, "WSPROXY_E_SOCKS_NOT_ALLOWED", "SOCKS proxy: connection not allowed by ruleset"},
    {WSPROXY_E_SOCKS_NETWORK_UNREACHABLE, "WSPROXY_E_SOCKS_NETWORK_UNREACHABLE", "SOCKS proxy: network unreachable"},
    {WSPROXY_E_SOCKS_HOST_UNREACHABLE, "WSPROXY_E_SOCKS_HOST_UNREACHABLE", "SOCKS proxy: host unreachable"},
    {WSPROXY_E_SOCKS_CONNECTION_REFUSED, "WSPROXY_E_SOCKS_CONNECTION_REFUSED", "SOCKS proxy: connection refused by the target"},
    {WSPROXY_E_SOCKS_TTL_EXPIRED, "WSPROXY_E_SOCKS_TTL_EXPIRED", "SOCKS proxy: TTL expired"},
    {WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED, "WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED", "SOCKS proxy: command not supported"},
    {WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED, "WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED", "SOCKS proxy: address type not supported"},
    {WSPROXY_E_SOCKS_UNKNOWN_REPLY, "WSPROXY_E_SOCKS_UNKNOWN_REPLY", "SOCKS proxy: unknown reply code"},
    {WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD, "WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD", "SOCKS proxy accepts none of the offered authentication methods"},
    {WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, "WSPROXY_E_SOCKS_METHOD_NOT_OFFERED", "SOCKS proxy chose an authentication method not offered"},
    {WSPROXY_E_SOCKS_AUTH_FAILED, "WSPROXY_E_SOCKS_AUTH_FAILED", "SOCKS proxy rejected the username/password"},
    {WSPROXY_E_SOCKS_BAD_VERSION, "WSPROXY_E_SOCKS_BAD_VERSION", "SOCKS proxy reply has a wrong version byte"},
    {WSPROXY_E_SOCKS_BAD_REPLY, "WSPROXY_E_SOCKS_BAD_REPLY", "malformed SOCKS proxy reply"},
    {WSPROXY_E_SOCKS4_REJECTED, "WSPROXY_E_SOCKS4_REJECTED", "SOCKS4 proxy: request rejected or failed"},
    {WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE, "WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE", "SOCKS4 proxy: cannot reach identd on the client"},
    {WSPROXY_E_SOCKS4_IDENTD_MISMATCH, "WSPROXY_E_SOCKS4_IDENTD_MISMATCH", "SOCKS4 proxy: identd user id does not match"},
    {WSPROXY_E_SOCKS4_UNKNOWN_REPLY, "WSPROXY_E_SOCKS4_UNKNOWN_REPLY", "SOCKS4 proxy: unknown reply code"},
    {WSPROXY_E_SOCKS_NEED_ADDRESS, "WSPROXY_E_SOCKS_NEED_ADDRESS", "socks4:// and socks5:// need the target's address resolved by the caller (or use socks4a:// / socks5h://)"},
    {WSPROXY_E_SOCKS4_IPV6, "WSPROXY_E_SOCKS4_IPV6", "SOCKS4 cannot reach an IPv6 address"},
    {WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG, "WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG", "SOCKS user or password longer than 255 bytes"},
    {WSPROXY_E_SOCKS_HOST_TOO_LONG, "WSPROXY_E_SOCKS_HOST_TOO_LONG", "host name too long for SOCKS (over 255 bytes)"},
    {WSPROXY_E_PAC_EMPTY, "WSPROXY_E_PAC_EMPTY", "PAC result has no usable entry"},
    {WSPROXY_E_CONNECT_REFUSED, "WSPROXY_E_CONNECT_REFUSED", "connection to server refused"},
    {WSPROXY_E_HANDSHAKE_BAD_REPLY, "WSPROXY_E_HANDSHAKE_BAD_REPLY", "malformed handshake reply"},
    {WSPROXY_E_HANDSHAKE_TOO_LARGE, "WSPROXY_E_HANDSHAKE_TOO_LARGE", "handshake reply head too large"},
    {WSPROXY_E_HANDSHAKE_STATUS, "WSPROXY_E_HANDSHAKE_STATUS", "server did not answer 101"},
    {WSPROXY_E_HANDSHAKE_UPGRADE, "WSPROXY_E_HANDSHAKE_UPGRADE", "handshake reply lacks Upgrade: websocket"},
    {WSPROXY_E_HANDSHAKE_CONNECTION, "WSPROXY_E_HANDSHAKE_CONNECTION", "handshake reply lacks Connection: upgrade"},
    {WSPROXY_E_HANDSHAKE_ACCEPT, "WSPROXY_E_HANDSHAKE_ACCEPT", "Sec-WebSocket-Accept missing or wrong"},
    {WSPROXY_E_HANDSHAKE_PROTOCOL, "WSPROXY_E_HANDSHAKE_PROTOCOL", "server chose a subprotocol not offered"},
    {WSPROXY_E_HANDSHAKE_EXTENSION, "WSPROXY_E_HANDSHAKE_EXTENSION", "server chose an extension not offered"},
    {WSPROXY_E_HANDSHAKE_CLOSED, "WSPROXY_E_HANDSHAKE_CLOSED", "connection closed during the handshake"},
    {WSPROXY_E_HANDSHAKE_TIMEOUT, "WSPROXY_E_HANDSHAKE_TIMEOUT", "timed out waiting for the handshake reply"},
    {WSPROXY_E_WS_RESERVED_BITS, "WSPROXY_E_WS_RESERVED_BITS", "frame with reserved bits set"},
    {WSPROXY_E_WS_OPCODE, "WSPROXY_E_WS_OPCODE", "frame with a reserved opcode"},
    {WSPROXY_E_WS_MASKED, "WSPROXY_E_WS_MASKED", "server frame is masked"},
    {WSPROXY_E_WS_CONTROL_FRAGMENTED, "WSPROXY_E_WS_CONTROL_FRAGMENTED", "fragmented control frame"},
    {WSPROXY_E_WS_CONTROL_TOO_LONG, "WSPROXY_E_WS_CONTROL_TOO_LONG", "control frame payload over 125 bytes"},
    {WSPROXY_E_WS_LENGTH_NONMINIMAL, "WSPROXY_E_WS_LENGTH_NONMINIMAL", "frame length not minimally encoded"},
    {WSPROXY_E_WS_LENGTH_TOO_BIG, "WSPROXY_E_WS_LENGTH_TOO_BIG", "frame length has the top bit set"},
    {WSPROXY_E_WS_CONTINUATION, "WSPROXY_E_WS_CONTINUATION", "continuation frame without a message"},
    {WSPROXY_E_WS_EXPECTED_CONTINUATION, "WSPROXY_E_WS_EXPECTED_CONTINUATION", "new message before the last one ended"},
    {WSPROXY_E_WS_CLOSE_PAYLOAD, "WSPROXY_E_WS_CLOSE_PAYLOAD", "close frame with a 1-byte payload"},
    {WSPROXY_E_WS_CLOSE_CODE, "WSPROXY_E_WS_CLOSE_CODE", "close frame with an invalid code"},
    {WSPROXY_E_WS_INVALID_UTF8, "WSPROXY_E_WS_INVALID_UTF8", "invalid UTF-8 in text or close reason"},
    {WSPROXY_E_WS_MESSAGE_TOO_BIG, "WSPROXY_E_WS_MESSAGE_TOO_BIG", "message over the size limit"},
    {WSPROXY_E_CONNECTION_LOST, "WSPROXY_E_CONNECTION_LOST", "connection lost without a close frame"},
    {WSPROXY_E_CLOSE_TIMEOUT, "WSPROXY_E_CLOSE_TIMEOUT", "timed out waiting for the close reply"},
    {WSPROXY_E_PONG_TIMEOUT, "WSPROXY_E_PONG_TIMEOUT", "timed out waiting for the pong to our ping"},
    {WSPROXY_E_TLS_PROXY, "WSPROXY_E_TLS_PROXY", "TLS to the proxy failed"},
    {WSPROXY_E_TLS_TUNNEL, "WSPROXY_E_TLS_TUNNEL", "TLS to the server through the proxy tunnel failed"},
    {WSPROXY_E_TLS_TARGET, "WSPROXY_E_TLS_TARGET", "TLS to the server failed"}
};

static int wsp_error_index_(int code)
{
    int i;
    for (i = 0; i < (int)(sizeof wsp_errors_ / sizeof wsp_errors_[0]); i++)
        if (wsp_errors_[i].code == code) return i;
    return -1;
}

WSPROXY_IMPL const char *wsproxy_strerror(int code)
{
    int i = wsp_error_index_(code);
    return i < 0 ? "WSPROXY_E_UNKNOWN" : wsp_errors_[i].name;
}

WSPROXY_IMPL const char *wsproxy_error_message(int code)
{
    int i = wsp_error_index_(code);
    return i < 0 ? "unknown error" : wsp_errors_[i].message;
}

/* The close code a peer fault is answered with (RFC 6455 7.4.1). */
static int wsp_close_code_for_(int err)
{
    if (err == WSPROXY_E_WS_INVALID_UTF8) return 1007;
    if (err == WSPROXY_E_WS_MESSAGE_TOO_BIG) return 1009;
    return 1002;
}

/* Copies network text into a detail field: printable ASCII only, the rest as '?'. */
static void wsp_copy_detail_(char *dst, size_t cap, size_t at, const char *src, size_t len)
{
    size_t i;
    if (at >= cap) return;
    for (i = 0; i < len && at + 1 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[at++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
    }
    dst[at] = '\0';
}

static void wsp_fail_(wsproxy_client *c, int code)
{
    if (c->state_ == WSPROXY_STATE_FAILED && c->error_) return;
    c->state_ = WSPROXY_STATE_FAILED;
    c->error_ = code;
    c->info_.code = code;
    c->pong_pending_ = 0;   /* nothing is answered after a failure */
}

/* ---- the client: send buffer --------------------------------------------------------- */
static size_t wsp_out_room_(const wsproxy_client *c)
{
    return sizeof c->out_ - (c->out_end_ - c->out_start_);
}

static unsigned char *wsp_out_reserve_(wsproxy_client *c, size_t n)
{
    if (wsp_out_room_(c) < n) return NULL;
    if (sizeof c->out_ - c->out_end_ < n) {
        memmove(c->out_, c->out_ + c->out_start_, c->out_end_ - c->out_start_);
        c->out_end_ -= c->out_start_;
        c->out_start_ = 0;
    }
    return c->out_ + c->out_end_;
}

static int wsp_random_(wsproxy_client *c, unsigned char *dst, size_t n)
{
    if (c->rand_used_ + n > sizeof c->rand_pool_) {
        if (c->random_(c->random_ctx_, c->rand_pool_, sizeof c->rand_pool_) != 0) {
            wsp_fail_(c, WSPROXY_E_RANDOM);
            return -1;
        }
        c->rand_used_ = 0;
    }
    memcpy(dst, c->rand_pool_ + c->rand_used_, n);
    c->rand_used_ += n;
    return 0;
}

/* Writes one whole masked frame; the caller checked the room. */
static int wsp_write_frame_(wsproxy_client *c, int opcode, int fin, const unsigned char *data,
                            size_t len)
{
    unsigned char key[4], *p;
    size_t hl;
    if (wsp_random_(c, key, 4) != 0) return WSPROXY_E_RANDOM;
    p = wsp_out_reserve_(c, WSPROXY_FRAME_HEADER_MAX + len);
    if (!p) p = wsp_out_reserve_(c, len + (len < 126 ? 6 : len <= 0xFFFF ? 8 : 14));
    if (!p) return WSPROXY_E_WOULD_BLOCK;
    hl = wsproxy_frame_encode(p, fin, opcode, key, len);
    if (len) wsproxy_mask(p + hl, data, len, key, 0);
    c->out_end_ += hl + len;
    return WSPROXY_OK;
}

static size_t wsp_frame_size_(size_t len)
{
    return len + (len < 126 ? 6 : len <= 0xFFFF ? 8 : 14);
}

/* Control frames that waited for a streamed frame to end or for room. */
static void wsp_flush_pending_(wsproxy_client *c)
{
    if (c->tx_in_frame_) return;
    if (c->pong_pending_ && wsp_out_room_(c) >= wsp_frame_size_(c->pong_len_)) {
        if (wsp_write_frame_(c, WSPROXY_OP_PONG, 1, c->pong_, c->pong_len_) == WSPROXY_OK)
            c->pong_pending_ = 0;
    }
    if (c->close_pending_ && !c->pong_pending_ &&
        wsp_out_room_(c) >= wsp_frame_size_(c->close_len_)) {
        if (wsp_write_frame_(c, WSPROXY_OP_CLOSE, 1, c->close_, c->close_len_) == WSPROXY_OK) {
            c->close_pending_ = 0;
            c->close_sent_ = 1;
        }
    }
}

static void wsp_queue_close_(wsproxy_client *c, int code, const char *reason, size_t len)
{
    c->close_len_ = 0;
    if (code) {
        c->close_[0] = (unsigned char)(code >> 8);
        c->close_[1] = (unsigned char)code;
        if (len) memcpy(c->close_ + 2, reason, len);
        c->close_len_ = 2 + len;
    }
    c->close_pending_ = 1;
    wsp_flush_pending_(c);
}

/* A fault of the server's: answer with the RFC's close code, then stop. */
static void wsp_fail_peer_(wsproxy_client *c, int code)
{
    int close_code = wsp_close_code_for_(code);
    int may_close = !c->close_sent_ && !c->close_pending_ && !c->tx_in_frame_;
    wsp_fail_(c, code);
    c->info_.close_code = close_code;
    if (may_close) wsp_queue_close_(c, close_code, NULL, 0);
}

/* ---- the client: building the requests --------------------------------------------- */
typedef struct { char *buf; size_t cap, len; int overflow; } wsp_writer_;

static void wsp_put_(wsp_writer_ *w, const char *s, size_t n)
{
    if (w->overflow || w->cap - w->len < n) { w->overflow = 1; return; }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}
static void wsp_puts_(wsp_writer_ *w, const char *s) { wsp_put_(w, s, strlen(s)); }
static void wsp_put_uint_(wsp_writer_ *w, unsigned v)
{
    char tmp[12];
    int n = 0;
    do { tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10); v /= 10; } while (v);
    wsp_put_(w, tmp + sizeof tmp - n, (size_t)n);
}
static void wsp_put_hostport_(wsp_writer_ *w, const wsproxy_url *u, int with_port)
{
    if (u->host_type == WSPROXY_HOST_IPV6) wsp_puts_(w, "[");
    wsp_put_(w, u->host, u->host_len);
    if (u->host_type == WSPROXY_HOST_IPV6) wsp_puts_(w, "]");
    if (with_port) { wsp_puts_(w, ":"); wsp_put_uint_(w, u->port); }
}

/* Splits "Name: value"; refuses bad names and any CR, LF, NUL or other control byte. */
static int wsp_split_header_(const char *h, size_t *name_len, const char **value,
                             size_t *value_len)
{
    size_t i = 0, n, ve;
    while (h[i] && wsp_is_tchar_((unsigned char)h[i])) i++;
    if (i == 0 || h[i] != ':') return WSPROXY_E_HEADER_INVALID;
    n = i++;
    while (wsp_is_blank_(h[i])) i++;
    for (ve = i; h[ve]; ve++) {
        unsigned char ch = (unsigned char)h[ve];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7F) return WSPROXY_E_HEADER_INVALID;
        if (ve - i > WSPROXY_MAX_REQUEST_BYTES) return WSPROXY_E_REQUEST_TOO_LARGE;
    }
    while (ve > i && wsp_is_blank_(h[ve - 1])) ve--;
    *name_len = n;
    *value = h + i;
    *value_len = ve - i;
    return WSPROXY_OK;
}

static int wsp_name_in_(const char *name, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (wsp_ieq_(name, len, *list)) return 1;
    return 0;
}

/* Writes the caller's headers; skip_list names headers silently dropped, reserved
   those refused. */
static int wsp_put_headers_(wsp_writer_ *w, const char *const *headers,
                            const char *const *reserved, const char *const *skip)
{
    if (!headers) return WSPROXY_OK;
    for (; *headers; headers++) {
        size_t nlen, vlen;
        const char *value;
        int rc = wsp_split_header_(*headers, &nlen, &value, &vlen);
        if (rc) return rc;
        if (wsp_name_in_(*headers, nlen, reserved)) return WSPROXY_E_HEADER_RESERVED;
        if (skip && wsp_name_in_(*headers, nlen, skip)) continue;
        wsp_put_(w, *headers, nlen);
        wsp_puts_(w, ": ");
        wsp_put_(w, value, vlen);
        wsp_puts_(w, "\r\n");
    }
    return WSPROXY_OK;
}

static size_t wsp_strnlen_(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n]) n++;
    return n;
}

static int wsp_build_upgrade_(wsproxy_client *c, const wsproxy_config *cfg, const wsproxy_url *u)
{
    static const char *const reserved_base[] = {
        "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
        "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions",
        "content-length", "transfer-encoding", "proxy-authorization", NULL};
    static const char *const reserved_origin[] = {
        "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
        "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions",
        "content-length", "transfer-encoding", "proxy-authorization", "origin", NULL};
    wsp_writer_ w;
    unsigned char nonce[16];
    char key[25];
    int rc, default_port = (u->scheme == WSPROXY_SCHEME_WSS) ? 443 : 80;
    w.buf = c->request_; w.cap = sizeof c->request_; w.len = 0; w.overflow = 0;
    if (cfg->random(cfg->random_ctx, nonce, sizeof nonce) != 0) return WSPROXY_E_RANDOM;
    wsproxy_base64(nonce, sizeof nonce, key, sizeof key);
    wsproxy_accept_key(key, 24, c->accept_);
    wsp_puts_(&w, "GET ");
    if (u->path_len == 0 || u->path[0] != '/') wsp_puts_(&w, "/");
    wsp_put_(&w, u->path, u->path_len);
    wsp_puts_(&w, " HTTP/1.1\r\nHost: ");
    wsp_put_hostport_(&w, u, u->port != (unsigned)default_port);
    wsp_puts_(&w, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    wsp_put_(&w, key, 24);
    wsp_puts_(&w, "\r\nSec-WebSocket-Version: 13\r\n");
    if (cfg->protocols && cfg->protocols[0]) {
        const char *const *p, *const *q;
        wsp_puts_(&w, "Sec-WebSocket-Protocol: ");
        c->proto_off_ = w.len;
        for (p = cfg->protocols; *p; p++) {
            size_t n = wsp_strnlen_(*p, WSPROXY_MAX_PROTOCOL_BYTES + 1), i;
            if (n == 0 || n > WSPROXY_MAX_PROTOCOL_BYTES) return WSPROXY_E_PROTOCOL_INVALID;
            for (i = 0; i < n; i++)
                if (!wsp_is_tchar_((unsigned char)(*p)[i])) return WSPROXY_E_PROTOCOL_INVALID;
            for (q = cfg->protocols; q != p; q++)
                if (strcmp(*q, *p) == 0) return WSPROXY_E_PROTOCOL_INVALID;
            if (p != cfg->protocols) wsp_puts_(&w, ", ");
            wsp_put_(&w, *p, n);
        }
        c->proto_len_ = w.overflow ? 0 : w.len - c->proto_off_;
        wsp_puts_(&w, "\r\n");
    }
    if (cfg->origin) {
        size_t i, n = wsp_strnlen_(cfg->origin, WSPROXY_MAX_REQUEST_BYTES + 1);
        if (n > WSPROXY_MAX_REQUEST_BYTES) return WSPROXY_E_REQUEST_TOO_LARGE;
        for (i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)cfg->origin[i];
            if (ch < 0x20 || ch == 0x7F) return WSPROXY_E_HEADER_INVALID;
        }
        wsp_puts_(&w, "Origin: ");
        wsp_put_(&w, cfg->origin, n);
        wsp_puts_(&w, "\r\n");
    }
    rc = wsp_put_headers_(&w, cfg->headers, cfg->origin ? reserved_origin : reserved_base, NULL);
    if (rc) return rc;
    wsp_puts_(&w, "\r\n");
    if (w.overflow) return WSPROXY_E_REQUEST_TOO_LARGE;
    c->request_len_ = w.len;
    return WSPROXY_OK;
}

static int wsp_build_connect_(wsproxy_client *c, const wsproxy_config *cfg,
                              const wsproxy_url *target, const wsproxy_url *proxy)
{
    static const char *const reserved[] = {"host", "content-length", "transfer-encoding", NULL};
    static const char *const skip_auth[] = {"proxy-authorization", NULL};
    wsp_writer_ w;
    int rc;
    w.buf = (char *)c->out_; w.cap = WSPROXY_MAX_REQUEST_BYTES; w.len = 0; w.overflow = 0;
    wsp_puts_(&w, "CONNECT ");
    wsp_put_hostport_(&w, target, 1);
    wsp_puts_(&w, " HTTP/1.1\r\nHost: ");
    wsp_put_hostport_(&w, target, 1);
    wsp_puts_(&w, "\r\n");
    if (proxy->user) {
        /* user ":" password, percent-decoded, base64 on one line (RFC 7617) */
        char cred[2 * WSPROXY_MAX_CREDENTIAL_BYTES + 1];
        char b64[(sizeof cred + 2) / 3 * 4 + 1];
        size_t ulen, plen = 0, i;
        if (wsproxy_percent_decode(proxy->user, proxy->user_len, cred,
                                   WSPROXY_MAX_CREDENTIAL_BYTES, &ulen) != WSPROXY_OK)
            return WSPROXY_E_URL_USERINFO;
        for (i = 0; i < ulen; i++)
            if (cred[i] == ':') return WSPROXY_E_URL_USERINFO;   /* RFC 7617 2 */
        cred[ulen] = ':';
        if (proxy->password &&
            wsproxy_percent_decode(proxy->password, proxy->password_len, cred + ulen + 1,
                                   WSPROXY_MAX_CREDENTIAL_BYTES, &plen) != WSPROXY_OK)
            return WSPROXY_E_URL_USERINFO;
        wsproxy_base64((const unsigned char *)cred, ulen + 1 + plen, b64, sizeof b64);
        memset(cred, 0, sizeof cred);
        wsp_puts_(&w, "Proxy-Authorization: Basic ");
        wsp_puts_(&w, b64);
        wsp_puts_(&w, "\r\n");
        memset(b64, 0, sizeof b64);
    }
    rc = wsp_put_headers_(&w, cfg->proxy_headers, reserved, proxy->user ? skip_auth : NULL);
    if (rc) return rc;
    wsp_puts_(&w, "\r\n");
    if (w.overflow) return WSPROXY_E_REQUEST_TOO_LARGE;
    c->out_end_ = w.len;
    return WSPROXY_OK;
}

/* ==== proxy selection: NO_PROXY, environment, SOCKS, PAC results ==== */
/* blanks in NO_PROXY and PAC strings include CR and LF */
static int wsp_sel_blank_(int ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static int wsp_sel_ieq_n_(const char *a, const char *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (wsp_lower_((unsigned char)a[i]) != wsp_lower_((unsigned char)b[i])) return 0;
    return 1;
}

/* Appends s[0..n) at *at when it fits (one byte stays for the NUL); 0 when it does not. */
static int wsp_sel_put_(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at + n >= cap) return 0;
    memcpy(out + *at, s, n);
    *at += n;
    out[*at] = '\0';
    return 1;
}

static int wsp_sel_put_uint_(char *out, size_t cap, size_t *at, unsigned v, unsigned base)
{
    char tmp[12];
    size_t n = 0, i;
    do { tmp[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
    for (i = 0; i < n / 2; i++) { char t = tmp[i]; tmp[i] = tmp[n - 1 - i]; tmp[n - 1 - i] = t; }
    return wsp_sel_put_(out, cap, at, tmp, n);
}

/* ---- NO_PROXY ---------------------------------------------------------------------------- */
/* An IP entry: "addr" or "addr/prefix", IPv6 optionally in brackets. Returns the family
   (4 or 6) with addr and *bits filled, or 0 when s is not such an entry. */
static int wsp_sel_parse_net_(const char *s, size_t len, unsigned char addr[16], unsigned *bits)
{
    size_t alen = len, i;
    const char *a = s;
    int family;
    unsigned max, v = 0;
    for (i = 0; i < len; i++)
        if (s[i] == '/') { alen = i; break; }
    if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
        a++;
        if (!wsproxy_parse_ipv6(a, alen - 2, addr)) return 0;
        family = 6;
    } else if (wsproxy_parse_ipv4(a, alen, addr)) {
        family = 4;
    } else if (wsproxy_parse_ipv6(a, alen, addr)) {
        family = 6;
    } else {
        return 0;
    }
    max = family == 4 ? 32u : 128u;
    if (alen == len) { *bits = max; return family; }
    if (len - alen - 1 < 1 || len - alen - 1 > 3) return 0;   /* "/" then 1-3 digits */
    for (i = alen + 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) return 0;
    *bits = v;
    return family;
}

static int wsp_sel_prefix_eq_(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (full && memcmp(a, b, full) != 0) return 0;
    if (rest && ((a[full] ^ b[full]) & (unsigned char)(0xFFu << (8 - rest)))) return 0;
    return 1;
}

WSPROXY_IMPL int wsproxy_no_proxy_match(const char *no_proxy, const char *host, size_t host_len)
{
    unsigned char haddr[16];
    int hfamily = 0;
    const char *p;
    if (!no_proxy || !no_proxy[0] || !host) return 0;
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    if (wsproxy_parse_ipv4(host, host_len, haddr)) hfamily = 4;
    else if (wsproxy_parse_ipv6(host, host_len, haddr)) hfamily = 6;
    else if (host_len && host[host_len - 1] == '.') host_len--;   /* "example.com." */
    if (host_len == 0) return 0;

    for (p = no_proxy;; p++) {
        const char *e = p;
        size_t len, i;
        int blank_inside = 0;
        while (*p && *p != ',') p++;
        len = (size_t)(p - e);
        while (len && wsp_sel_blank_((unsigned char)e[0])) { e++; len--; }
        while (len && wsp_sel_blank_((unsigned char)e[len - 1])) len--;
        for (i = 0; i < len; i++)
            if (wsp_sel_blank_((unsigned char)e[i])) blank_inside = 1;
        if (len == 1 && e[0] == '*') return 1;
        if (len && !blank_inside) {
            unsigned char eaddr[16];
            unsigned bits;
            int efamily = wsp_sel_parse_net_(e, len, eaddr, &bits);
            if (hfamily) {
                if (efamily == hfamily && wsp_sel_prefix_eq_(haddr, eaddr, bits)) return 1;
            } else if (!efamily) {
                if (len >= 2 && e[0] == '*' && e[1] == '.') { e++; len--; }
                if (len && e[len - 1] == '.') len--;
                if (len && e[0] == '.') { e++; len--; }
                if (len && len == host_len && wsp_sel_ieq_n_(e, host, len)) return 1;
                if (len && len < host_len && host[host_len - len - 1] == '.' &&
                    wsp_sel_ieq_n_(e, host + host_len - len, len))
                    return 1;
            }
        }
        if (!*p) break;
    }
    return 0;
}

/* ---- proxy from the environment -------------------------------------------------------- */
#ifndef WSPROXY_NO_OS_GETENV
#include <stdlib.h>
WSPROXY_IMPL const char *wsproxy_os_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}
#endif

static const char *wsp_sel_env_(wsproxy_getenv_fn getenv_fn, void *ctx, const char *name)
{
    const char *v = getenv_fn(ctx, name);
    return (v && v[0]) ? v : NULL;   /* empty counts as unset (curl's curl_getenv) */
}

WSPROXY_IMPL const char *wsproxy_no_proxy_env(wsproxy_getenv_fn getenv_fn, void *ctx,
                                              const char *no_proxy_override, const char **var)
{
    static const char *const names[] = {"no_proxy", "NO_PROXY"};
    unsigned i;
    if (var) *var = NULL;
    if (no_proxy_override) return no_proxy_override;
    if (!getenv_fn) return NULL;
    for (i = 0; i < 2; i++) {
        const char *v = wsp_sel_env_(getenv_fn, ctx, names[i]);
        if (v) {
            if (var) *var = names[i];
            return v;
        }
    }
    return NULL;
}

static int wsp_sel_parse_target_(const char *target_url, wsproxy_url *t)
{
    int rc;
    if (!target_url) return WSPROXY_E_ARGUMENT;
    rc = wsproxy_url_parse(target_url, wsp_strnlen_(target_url, WSPROXY_MAX_URL_BYTES + 1), t);
    if (rc) return rc;
    if (t->scheme != WSPROXY_SCHEME_WS && t->scheme != WSPROXY_SCHEME_WSS)
        return WSPROXY_E_URL_SCHEME;
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_proxy_from_env(const char *target_url, wsproxy_getenv_fn getenv_fn,
                                        void *ctx, const char *no_proxy_override,
                                        char *out, size_t cap, wsproxy_env_info *info)
{
    /* curl: <scheme>_proxy, then its upper case, then the http(s) fallback (HTTP_PROXY is
       never read: a CGI script gets it from the client's "Proxy:" header), then all_proxy */
    static const char *const ws_names[] = {"ws_proxy", "WS_PROXY", "http_proxy",
                                           "all_proxy", "ALL_PROXY", NULL};
    static const char *const wss_names[] = {"wss_proxy", "WSS_PROXY", "https_proxy",
                                            "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL};
    const char *const *names;
    const char *value = NULL, *no_proxy, *np_var;
    wsproxy_url t;
    size_t n;
    int rc, i;
    if (info) { info->proxy_var = NULL; info->no_proxy_var = NULL; info->bypassed = 0; }
    if (!out || cap == 0) return WSPROXY_E_ARGUMENT;
    out[0] = '\0';
    if (!getenv_fn) return WSPROXY_E_ARGUMENT;
    rc = wsp_sel_parse_target_(target_url, &t);
    if (rc) return rc;
    names = t.scheme == WSPROXY_SCHEME_WS ? ws_names : wss_names;
    for (i = 0; names[i]; i++) {
        value = wsp_sel_env_(getenv_fn, ctx, names[i]);
        if (value) break;
    }
    if (!value) return WSPROXY_OK;   /* no proxy named: direct */
    if (info) info->proxy_var = names[i];
    no_proxy = wsproxy_no_proxy_env(getenv_fn, ctx, no_proxy_override, &np_var);
    if (info) info->no_proxy_var = np_var;
    if (wsproxy_no_proxy_match(no_proxy, t.host, t.host_len)) {
        if (info) info->bypassed = 1;
        return WSPROXY_OK;
    }
    n = wsp_strnlen_(value, cap);
    if (n >= cap) return WSPROXY_E_URL_TOO_LONG;
    memcpy(out, value, n + 1);
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_bypass_proxy(const char *target_url, wsproxy_getenv_fn getenv_fn,
                                      void *ctx, const char *no_proxy_override, int *bypass)
{
    wsproxy_url t;
    int rc;
    if (!bypass) return WSPROXY_E_ARGUMENT;
    *bypass = 0;
    rc = wsp_sel_parse_target_(target_url, &t);
    if (rc) return rc;
    *bypass = wsproxy_no_proxy_match(wsproxy_no_proxy_env(getenv_fn, ctx, no_proxy_override, NULL),
                                     t.host, t.host_len);
    return WSPROXY_OK;
}

/* ---- SOCKS ------------------------------------------------------------------------------- */
static int wsp_sel_socks_version_(int scheme)
{
    if (scheme == WSPROXY_SCHEME_SOCKS4 || scheme == WSPROXY_SCHEME_SOCKS4A) return 4;
    if (scheme == WSPROXY_SCHEME_SOCKS5 || scheme == WSPROXY_SCHEME_SOCKS5H) return 5;
    return 0;
}

WSPROXY_IMPL int wsproxy_socks_needs_address(const wsproxy_url *proxy, const wsproxy_url *target)
{
    if (!proxy || !target) return 0;
    return (proxy->scheme == WSPROXY_SCHEME_SOCKS4 || proxy->scheme == WSPROXY_SCHEME_SOCKS5) &&
           target->host_type == WSPROXY_HOST_NAME;
}

/* Percent-decodes a user or password of a proxy URL (NULL: absent -> length 0). */
static int wsp_sel_credential_(const char *s, size_t len, unsigned char *out, size_t *out_len)
{
    size_t i, decoded = 0;
    *out_len = 0;
    if (!s) return WSPROXY_OK;
    for (i = 0; i < len; i++, decoded++)
        if (s[i] == '%') i += 2;
    if (decoded > 255) return WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG;
    return wsproxy_percent_decode(s, len, (char *)out, 255, out_len);
}

static void wsp_sel_socks_fail_(wsproxy_socks *s, int code)
{
    s->phase_ = WSPROXY_SOCKS_PHASE_FAILED;
    s->error_ = code;
    s->out_which_ = 0;
    memset(s->auth_, 0, sizeof s->auth_);
}

static int wsp_sel_socks_init_(wsproxy_socks *s, const wsproxy_url *proxy, const wsproxy_url *target,
                               const unsigned char *resolved, int resolved_type)
{
    unsigned char addr[16], user[255], pass[255];
    size_t ulen = 0, plen = 0, o;
    int atyp, rc, remote;   /* atyp as SOCKS5 writes it: 1 IPv4, 3 name, 4 IPv6 */
    if (!proxy || !target || !target->host) return WSPROXY_E_ARGUMENT;
    s->version_ = wsp_sel_socks_version_(proxy->scheme);
    if (!s->version_) return WSPROXY_E_URL_SCHEME;
    if (target->port < 1 || target->port > 65535) return WSPROXY_E_URL_PORT;
    remote = proxy->scheme == WSPROXY_SCHEME_SOCKS4A || proxy->scheme == WSPROXY_SCHEME_SOCKS5H;
    /* what to name the target with */
    if (target->host_type == WSPROXY_HOST_IPV4) {
        if (!wsproxy_parse_ipv4(target->host, target->host_len, addr)) return WSPROXY_E_URL_HOST;
        atyp = 1;
    } else if (target->host_type == WSPROXY_HOST_IPV6) {
        if (s->version_ == 4) return WSPROXY_E_SOCKS4_IPV6;
        if (!wsproxy_parse_ipv6(target->host, target->host_len, addr)) return WSPROXY_E_URL_HOST;
        atyp = 4;
    } else if (remote) {
        if (target->host_len == 0) return WSPROXY_E_URL_HOST;
        if (target->host_len > 255) return WSPROXY_E_SOCKS_HOST_TOO_LONG;
        atyp = 3;
    } else {
        if (!resolved) return WSPROXY_E_SOCKS_NEED_ADDRESS;
        if (resolved_type == WSPROXY_HOST_IPV4) {
            memcpy(addr, resolved, 4);
            atyp = 1;
        } else if (resolved_type == WSPROXY_HOST_IPV6) {
            if (s->version_ == 4) return WSPROXY_E_SOCKS4_IPV6;
            memcpy(addr, resolved, 16);
            atyp = 4;
        } else {
            return WSPROXY_E_ARGUMENT;
        }
    }
    rc = wsp_sel_credential_(proxy->user, proxy->user_len, user, &ulen);
    if (!rc && s->version_ == 5)
        rc = wsp_sel_credential_(proxy->password, proxy->password_len, pass, &plen);
    if (rc) {
        memset(user, 0, sizeof user);
        return rc;
    }
    if (s->version_ == 5) {
        /* greeting (RFC 1928 3): VER NMETHODS METHODS */
        s->offer_auth_ = proxy->user != NULL;
        s->greet_[0] = 5;
        s->greet_[1] = (unsigned char)(s->offer_auth_ ? 2 : 1);
        s->greet_[2] = 0x00;
        s->greet_[3] = 0x02;
        s->greet_len_ = s->offer_auth_ ? 4 : 3;
        if (s->offer_auth_) {   /* RFC 1929 2: VER ULEN UNAME PLEN PASSWD */
            o = 0;
            s->auth_[o++] = 1;
            s->auth_[o++] = (unsigned char)ulen;
            memcpy(s->auth_ + o, user, ulen); o += ulen;
            s->auth_[o++] = (unsigned char)plen;
            memcpy(s->auth_ + o, pass, plen); o += plen;
            s->auth_len_ = o;
        }
        /* CONNECT (RFC 1928 4): VER CMD RSV ATYP DST.ADDR DST.PORT */
        o = 0;
        s->connect_[o++] = 5;
        s->connect_[o++] = 1;
        s->connect_[o++] = 0;
        s->connect_[o++] = (unsigned char)atyp;
        if (atyp == 1) { memcpy(s->connect_ + o, addr, 4); o += 4; }
        else if (atyp == 4) { memcpy(s->connect_ + o, addr, 16); o += 16; }
        else {
            s->connect_[o++] = (unsigned char)target->host_len;
            memcpy(s->connect_ + o, target->host, target->host_len);
            o += target->host_len;
        }
        s->connect_[o++] = (unsigned char)(target->port >> 8);
        s->connect_[o++] = (unsigned char)target->port;
        s->connect_len_ = o;
        s->phase_ = WSPROXY_SOCKS_PHASE_METHOD;
        s->out_which_ = 1;
    } else {
        /* SOCKS4: VN CD DSTPORT DSTIP USERID NUL; 4a: DSTIP 0.0.0.1 then HOST NUL */
        o = 0;
        s->connect_[o++] = 4;
        s->connect_[o++] = 1;
        s->connect_[o++] = (unsigned char)(target->port >> 8);
        s->connect_[o++] = (unsigned char)target->port;
        if (atyp == 1) memcpy(s->connect_ + o, addr, 4);
        else { s->connect_[o] = 0; s->connect_[o + 1] = 0; s->connect_[o + 2] = 0; s->connect_[o + 3] = 1; }
        o += 4;
        memcpy(s->connect_ + o, user, ulen); o += ulen;
        s->connect_[o++] = 0;
        if (atyp == 3) {
            memcpy(s->connect_ + o, target->host, target->host_len);
            o += target->host_len;
            s->connect_[o++] = 0;
        }
        s->connect_len_ = o;
        s->phase_ = WSPROXY_SOCKS_PHASE_CONNECT;
        s->out_which_ = 3;
    }
    memset(user, 0, sizeof user);
    memset(pass, 0, sizeof pass);
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_socks_init(wsproxy_socks *s, const wsproxy_url *proxy,
                                    const wsproxy_url *target, const unsigned char *resolved,
                                    int resolved_type)
{
    int rc;
    if (!s) return WSPROXY_E_ARGUMENT;
    memset(s, 0, sizeof *s);
    s->code_ = -1;
    rc = wsp_sel_socks_init_(s, proxy, target, resolved, resolved_type);
    if (rc) {
        memset(s, 0, sizeof *s);
        s->code_ = -1;
        wsp_sel_socks_fail_(s, rc);
    }
    return rc;
}

static const unsigned char *wsp_sel_socks_msg_(const wsproxy_socks *s, size_t *len)
{
    switch (s->out_which_) {
    case 1: *len = s->greet_len_; return s->greet_;
    case 2: *len = s->auth_len_; return s->auth_;
    case 3: *len = s->connect_len_; return s->connect_;
    default: *len = 0; return NULL;
    }
}

WSPROXY_IMPL size_t wsproxy_socks_pending(const wsproxy_socks *s)
{
    size_t len;
    if (!s || !wsp_sel_socks_msg_(s, &len)) return 0;
    return len - s->out_off_;
}

WSPROXY_IMPL size_t wsproxy_socks_output(wsproxy_socks *s, unsigned char *out, size_t cap)
{
    size_t len, n;
    const unsigned char *msg;
    if (!s || !out) return 0;
    msg = wsp_sel_socks_msg_(s, &len);
    if (!msg) return 0;
    n = len - s->out_off_;
    if (n > cap) n = cap;
    memcpy(out, msg + s->out_off_, n);
    s->out_off_ += n;
    if (s->out_off_ == len) {
        if (s->out_which_ == 2) memset(s->auth_, 0, sizeof s->auth_);   /* secrets gone */
        s->out_which_ = 0;
        s->out_off_ = 0;
    }
    return n;
}

static int wsp_sel_socks_queue_(wsproxy_socks *s, int which, int phase)
{
    if (which == 3) memset(s->auth_, 0, sizeof s->auth_);   /* no longer needed */
    s->out_which_ = which;
    s->out_off_ = 0;
    s->phase_ = phase;
    s->rx_len_ = 0;
    return WSPROXY_SOCKS_SEND;
}

static int wsp_sel_socks_error_(wsproxy_socks *s, int code)
{
    wsp_sel_socks_fail_(s, code);
    return code;
}

/* Looks at the reply bytes gathered so far (one more each call). */
static int wsp_sel_socks_step_(wsproxy_socks *s)
{
    const unsigned char *r = s->rx_;
    size_t n = s->rx_len_, need;
    switch (s->phase_) {
    case WSPROXY_SOCKS_PHASE_METHOD:   /* VER METHOD */
        if (r[0] != 5) return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_BAD_VERSION);
        if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
        s->code_ = r[1];
        if (r[1] == 0x00) return wsp_sel_socks_queue_(s, 3, WSPROXY_SOCKS_PHASE_CONNECT);
        if (r[1] == 0x02 && s->offer_auth_) return wsp_sel_socks_queue_(s, 2, WSPROXY_SOCKS_PHASE_AUTH);
        if (r[1] == 0xFF) return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD);
        return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_METHOD_NOT_OFFERED);
    case WSPROXY_SOCKS_PHASE_AUTH:     /* VER STATUS (RFC 1929: VER is 1) */
        if (r[0] != 1) return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_BAD_VERSION);
        if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
        s->code_ = r[1];
        if (r[1] != 0) return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_AUTH_FAILED);
        return wsp_sel_socks_queue_(s, 3, WSPROXY_SOCKS_PHASE_CONNECT);
    case WSPROXY_SOCKS_PHASE_CONNECT:
        if (s->version_ == 4) {        /* VN CD DSTPORT DSTIP; VN is 0 */
            if (r[0] != 0) return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_BAD_VERSION);
            if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
            if (n == 2) {
                s->code_ = r[1];
                switch (r[1]) {
                case 0x5A: break;
                case 0x5B: return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS4_REJECTED);
                case 0x5C: return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE);
                case 0x5D: return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS4_IDENTD_MISMATCH);
                default: return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS4_UNKNOWN_REPLY);
                }
            }
            need = 8;
        } else {                       /* VER REP RSV ATYP BND.ADDR BND.PORT */
            if (r[0] != 5) return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_BAD_VERSION);
            if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
            if (n == 2) {
                s->code_ = r[1];
                if (r[1] >= 1 && r[1] <= 8) return wsp_sel_socks_error_(s, 300 + r[1]);
                if (r[1] != 0) return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_UNKNOWN_REPLY);
            }
            if (n < 4) return WSPROXY_SOCKS_NEED_MORE;
            if (r[3] == 1) need = 4 + 4 + 2;
            else if (r[3] == 4) need = 4 + 16 + 2;
            else if (r[3] == 3) {
                if (n < 5) return WSPROXY_SOCKS_NEED_MORE;
                need = 4 + 1 + (size_t)r[4] + 2;
            } else {
                return wsp_sel_socks_error_(s, WSPROXY_E_SOCKS_BAD_REPLY);
            }
        }
        if (n < need) return WSPROXY_SOCKS_NEED_MORE;
        s->phase_ = WSPROXY_SOCKS_PHASE_DONE;
        return WSPROXY_SOCKS_DONE;
    default:
        return WSPROXY_E_STATE;
    }
}

WSPROXY_IMPL int wsproxy_socks_input(wsproxy_socks *s, const unsigned char *data, size_t len,
                                     size_t *consumed)
{
    size_t used = 0;
    if (consumed) *consumed = 0;
    if (!s || !consumed || (!data && len)) return WSPROXY_E_ARGUMENT;
    if (s->phase_ == WSPROXY_SOCKS_PHASE_FAILED) return s->error_ ? s->error_ : WSPROXY_E_STATE;
    if (s->phase_ == WSPROXY_SOCKS_PHASE_DONE) return WSPROXY_SOCKS_DONE;
    if (s->phase_ == 0) return WSPROXY_E_STATE;
    if (s->out_which_) return WSPROXY_SOCKS_SEND;   /* take the request first */
    while (used < len) {
        int rc;
        s->rx_[s->rx_len_++] = data[used++];   /* rx_ holds the longest reply (262) */
        rc = wsp_sel_socks_step_(s);
        if (rc != WSPROXY_SOCKS_NEED_MORE) {
            *consumed = used;
            return rc;
        }
    }
    *consumed = used;
    return WSPROXY_SOCKS_NEED_MORE;
}

WSPROXY_IMPL int wsproxy_socks_phase(const wsproxy_socks *s) { return s ? s->phase_ : 0; }
WSPROXY_IMPL int wsproxy_socks_error(const wsproxy_socks *s) { return s ? s->error_ : WSPROXY_E_ARGUMENT; }
WSPROXY_IMPL int wsproxy_socks_reply_code(const wsproxy_socks *s) { return s ? s->code_ : -1; }

WSPROXY_IMPL int wsproxy_socks_bound(const wsproxy_socks *s, char *out, size_t cap, unsigned *port)
{
    const unsigned char *a;
    size_t at = 0, i;
    int type;
    if (out && cap) out[0] = '\0';
    if (port) *port = 0;
    if (!s || s->phase_ != WSPROXY_SOCKS_PHASE_DONE) return -1;
    if (s->version_ == 4) {
        a = s->rx_ + 4;
        if (port) *port = (unsigned)s->rx_[2] << 8 | s->rx_[3];
        type = WSPROXY_HOST_IPV4;
    } else {
        a = s->rx_ + 4;
        type = s->rx_[3] == 1 ? WSPROXY_HOST_IPV4 : s->rx_[3] == 4 ? WSPROXY_HOST_IPV6
                                                                   : WSPROXY_HOST_NAME;
        if (port) *port = (unsigned)s->rx_[s->rx_len_ - 2] << 8 | s->rx_[s->rx_len_ - 1];
    }
    if (!out || !cap) return type;
    if (type == WSPROXY_HOST_IPV4) {
        for (i = 0; i < 4; i++) {
            if (i) wsp_sel_put_(out, cap, &at, ".", 1);
            wsp_sel_put_uint_(out, cap, &at, a[i], 10);
        }
    } else if (type == WSPROXY_HOST_IPV6) {
        for (i = 0; i < 8; i++) {
            if (i) wsp_sel_put_(out, cap, &at, ":", 1);
            wsp_sel_put_uint_(out, cap, &at, (unsigned)a[2 * i] << 8 | a[2 * i + 1], 16);
        }
    } else {
        size_t n = s->rx_[4];
        if (n >= cap) n = cap - 1;
        memcpy(out, s->rx_ + 5, n);
        out[n] = '\0';
    }
    return type;
}

/* ---- PAC result lists ------------------------------------------------------------------- */
static const struct { const char *keyword; int scheme; const char *prefix; unsigned port; }
wsp_sel_pac_types_[] = {
    {"DIRECT", 0, "", 0},
    {"PROXY", WSPROXY_SCHEME_HTTP, "http://", 80},
    {"HTTP", WSPROXY_SCHEME_HTTP, "http://", 80},
    {"HTTPS", WSPROXY_SCHEME_HTTPS, "https://", 443},
    {"SOCKS", WSPROXY_SCHEME_SOCKS4, "socks4://", 1080},   /* browsers: SOCKS is v4 */
    {"SOCKS4", WSPROXY_SCHEME_SOCKS4, "socks4://", 1080},
    {"SOCKS5", WSPROXY_SCHEME_SOCKS5, "socks5://", 1080}
};

/* Adds one entry "KEYWORD [host[:port]]" (trimmed, non-empty); 0 when it is dropped. */
static int wsp_sel_pac_entry_(wsproxy_pac_list *l, const char *e, size_t len, int flags)
{
    size_t kw = 0, h, hlen, at, start, i;
    unsigned k, nk = sizeof wsp_sel_pac_types_ / sizeof wsp_sel_pac_types_[0];
    int scheme;
    const char *prefix;
    wsproxy_url u;
    while (kw < len && !wsp_sel_blank_((unsigned char)e[kw])) kw++;
    for (k = 0; k < nk; k++) {
        const char *name = wsp_sel_pac_types_[k].keyword;
        if (strlen(name) == kw && wsp_sel_ieq_n_(e, name, kw)) break;
    }
    if (k == nk) return 0;
    for (h = kw; h < len && wsp_sel_blank_((unsigned char)e[h]); h++) {}
    hlen = len - h;
    if (hlen && e[len - 1] == ':') hlen--;   /* "host:" : the default port */
    for (i = h; i < h + hlen; i++)
        if (wsp_sel_blank_((unsigned char)e[i]) || e[i] == '@' || e[i] == '/') return 0;
    if (l->count >= WSPROXY_PAC_MAX_ENTRIES) return 0;
    scheme = wsp_sel_pac_types_[k].scheme;
    prefix = wsp_sel_pac_types_[k].prefix;
    if (scheme == WSPROXY_SCHEME_SOCKS5 && (flags & WSPROXY_PAC_SOCKS5_REMOTE_DNS)) {
        scheme = WSPROXY_SCHEME_SOCKS5H;
        prefix = "socks5h://";
    }
    start = at = l->count ? l->off_[l->count - 1] + strlen(l->buf_ + l->off_[l->count - 1]) + 1 : 0;
    if (at >= sizeof l->buf_) return 0;
    if (scheme == 0) {
        if (hlen) return 0;   /* DIRECT takes no host */
        l->buf_[at] = '\0';
    } else {
        if (!hlen) return 0;
        if (!wsp_sel_put_(l->buf_, sizeof l->buf_, &at, prefix, strlen(prefix)) ||
            !wsp_sel_put_(l->buf_, sizeof l->buf_, &at, e + h, hlen))
            return 0;
        if (wsproxy_url_parse(l->buf_ + start, at - start, &u) != WSPROXY_OK || u.user ||
            u.path_len)
            return 0;
        if (!u.port_explicit &&
            (!wsp_sel_put_(l->buf_, sizeof l->buf_, &at, ":", 1) ||
             !wsp_sel_put_uint_(l->buf_, sizeof l->buf_, &at, wsp_sel_pac_types_[k].port, 10)))
            return 0;
        /* what goes out must parse as written ("a::" would become "http://a::80") */
        if (wsproxy_url_parse(l->buf_ + start, at - start, &u) != WSPROXY_OK) {
            l->buf_[start] = '\0';
            return 0;
        }
    }
    l->off_[l->count] = start;
    l->scheme_[l->count] = scheme;
    l->count++;
    return 1;
}

WSPROXY_IMPL int wsproxy_pac_parse(wsproxy_pac_list *l, const char *result, size_t len, int flags)
{
    size_t i = 0;
    if (!l) return WSPROXY_E_ARGUMENT;
    memset(l, 0, sizeof *l);
    if (!result) return WSPROXY_E_ARGUMENT;
    while (i < len) {
        size_t s = i, e;
        while (i < len && result[i] != ';') i++;
        e = i++;
        while (s < e && wsp_sel_blank_((unsigned char)result[s])) s++;
        while (e > s && wsp_sel_blank_((unsigned char)result[e - 1])) e--;
        if (s < e && !wsp_sel_pac_entry_(l, result + s, e - s, flags)) l->skipped++;
    }
    return l->count ? WSPROXY_OK : WSPROXY_E_PAC_EMPTY;
}

WSPROXY_IMPL const char *wsproxy_pac_get(const wsproxy_pac_list *l, size_t i, int *scheme)
{
    if (scheme) *scheme = 0;
    if (!l || i >= l->count) return NULL;
    if (scheme) *scheme = l->scheme_[i];
    return l->buf_ + l->off_[i];
}

WSPROXY_IMPL const char *wsproxy_pac_next(const wsproxy_pac_list *l, size_t *pos, int *scheme)
{
    const char *url;
    if (!pos) return NULL;
    url = wsproxy_pac_get(l, *pos, scheme);
    if (url) (*pos)++;
    return url;
}

/* Room at the end of in_ for plaintext, moving unread bytes down when needed. */
static size_t wsp_in_room_(wsproxy_client *c)
{
    if (c->in_start_ == c->in_end_) {
        c->in_start_ = c->in_end_ = 0;
    } else if (c->in_start_ > 0 && c->in_end_ + WSPROXY_FRAME_HEADER_MAX + 125 > sizeof c->in_) {
        memmove(c->in_, c->in_ + c->in_start_, c->in_end_ - c->in_start_);
        c->in_end_ -= c->in_start_;
        c->in_start_ = 0;
    }
    return sizeof c->in_ - c->in_end_;
}

/* ---- TLS: BearSSL engines as pipeline stages ------------------------------------------
   Up to two client engines. The proxy hop's engine (P) sits on the socket; the target's
   engine (T) sits on P's plaintext, or on the socket when the proxy hop is plain or
   there is no proxy. Parsers always read plaintext from in_ and the request builders
   and the frame encoder always write plaintext to out_; the pumps below move bytes
   between those buffers and the engines. */
#ifndef WSPROXY_NO_TLS

/* DER: reads one tag-length header at p[*pos]; returns 0 with the value's bounds. */
static int wsp_der_next_(const unsigned char *p, size_t end, size_t *pos, unsigned *tag,
                         size_t *vstart, size_t *vend)
{
    size_t i = *pos, len;
    if (i + 2 > end) return -1;
    *tag = p[i++];
    if ((*tag & 0x1F) == 0x1F) return -1;   /* multi-byte tags do not occur here */
    len = p[i++];
    if (len & 0x80) {
        unsigned n = (unsigned)(len & 0x7F), k;
        if (n == 0 || n > 4 || i + n > end) return -1;
        for (len = 0, k = 0; k < n; k++) len = (len << 8) | p[i++];
    }
    if (len > end - i) return -1;
    *vstart = i;
    *vend = i + len;
    *pos = i + len;
    return 0;
}

WSPROXY_IMPL int wsproxy_cert_ip_match(const unsigned char *der, size_t len,
                                       const unsigned char *ip, size_t ip_len)
{
    static const unsigned char san_oid[] = {0x55, 0x1D, 0x11};   /* 2.5.29.17 */
    size_t pos = 0, s, e, tbs_end;
    unsigned tag;
    if (!der || !ip || (ip_len != 4 && ip_len != 16)) return -1;
    /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, ... } */
    if (wsp_der_next_(der, len, &pos, &tag, &s, &e) || tag != 0x30) return -1;
    pos = s;
    if (wsp_der_next_(der, e, &pos, &tag, &s, &tbs_end) || tag != 0x30) return -1;
    pos = s;
    while (pos < tbs_end) {
        size_t xs, xe, ep;
        if (wsp_der_next_(der, tbs_end, &pos, &tag, &xs, &xe)) return -1;
        if (tag != 0xA3) continue;   /* [3] EXPLICIT Extensions */
        ep = xs;
        if (wsp_der_next_(der, xe, &ep, &tag, &s, &e) || tag != 0x30) return -1;
        ep = s;
        while (ep < e) {   /* Extension ::= SEQUENCE { OID, [BOOLEAN], OCTET STRING } */
            size_t es, ee, fp, os, oe;
            if (wsp_der_next_(der, e, &ep, &tag, &es, &ee) || tag != 0x30) return -1;
            fp = es;
            if (wsp_der_next_(der, ee, &fp, &tag, &os, &oe) || tag != 0x06) return -1;
            if (oe - os != sizeof san_oid || memcmp(der + os, san_oid, sizeof san_oid) != 0) continue;
            if (wsp_der_next_(der, ee, &fp, &tag, &os, &oe)) return -1;
            if (tag == 0x01 && wsp_der_next_(der, ee, &fp, &tag, &os, &oe)) return -1;
            if (tag != 0x04) return -1;
            fp = os;   /* GeneralNames ::= SEQUENCE OF GeneralName */
            if (wsp_der_next_(der, oe, &fp, &tag, &os, &oe) || tag != 0x30) return -1;
            fp = os;
            while (fp < oe) {
                size_t gs, ge;
                if (wsp_der_next_(der, oe, &fp, &tag, &gs, &ge)) return -1;
                if (tag == 0x87 && ge - gs == ip_len && memcmp(der + gs, ip, ip_len) == 0) return 1;
            }
        }
        return 0;
    }
    return 0;
}

/* -- PEM bundle to trust anchors -- */
typedef struct {
    unsigned char *mem;
    size_t cap, used;      /* used may exceed cap: then only counting */
} wsp_pem_mem_;

static unsigned char *wsp_pem_take_(wsp_pem_mem_ *m, const void *src, size_t n)
{
    unsigned char *p = NULL;
    if (m->mem && m->used <= m->cap && n <= m->cap - m->used) {
        p = m->mem + m->used;
        if (src) memcpy(p, src, n);
    }
    m->used += n;
    return p;
}

typedef struct {
    wsp_pem_mem_ *mem;
    unsigned char *dn;     /* start of this certificate's name in mem, or NULL */
    size_t dn_len;
    int dn_lost;           /* part of the name did not fit */
} wsp_pem_dn_;

static void wsp_pem_dn_append_(void *ctx, const void *buf, size_t len)
{
    wsp_pem_dn_ *d = (wsp_pem_dn_ *)ctx;
    unsigned char *p = wsp_pem_take_(d->mem, buf, len);
    if (!p) d->dn_lost = 1;
    else if (!d->dn) d->dn = p;
    d->dn_len += len;
}

/* BearSSL's X.509 decoder must not be fed once it has finished or failed (it reads
   through a stopped state): bytes after the certificate's end mark it malformed. */
typedef struct { br_x509_decoder_context dc; int trailing; } wsp_pem_x509_;

static void wsp_x509_push_(br_x509_decoder_context *dc, int *trailing, const void *buf, size_t len)
{
    if (!len) return;
    if (dc->decoded || dc->err) { *trailing = 1; return; }
    br_x509_decoder_push(dc, buf, len);
}

static void wsp_pem_to_x509_(void *ctx, const void *buf, size_t len)
{
    wsp_pem_x509_ *x = (wsp_pem_x509_ *)ctx;
    wsp_x509_push_(&x->dc, &x->trailing, buf, len);
}

WSPROXY_IMPL int wsproxy_pem_trust_anchors(const char *pem, size_t len,
                                           br_x509_trust_anchor *anchors, size_t max_anchors,
                                           unsigned char *mem, size_t mem_len,
                                           wsproxy_pem_result *res)
{
    br_pem_decoder_context pc;
    wsp_pem_x509_ x;
    wsp_pem_mem_ m;
    wsp_pem_dn_ dn;
    int in_cert = 0, in_obj = 0, fits = 1;
    size_t off = 0;
    if (res) memset(res, 0, sizeof *res);
    if (!res || (!pem && len)) return WSPROXY_E_ARGUMENT;
    m.mem = mem; m.cap = mem ? mem_len : 0; m.used = 0;
    br_pem_decoder_init(&pc);
    while (off < len) {
        size_t n = br_pem_decoder_push(&pc, pem + off, len - off);
        off += n;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ: {
            const char *name = br_pem_decoder_name(&pc);
            in_obj = 1;
            in_cert = strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
            if (in_cert) {
                memset(&dn, 0, sizeof dn);
                dn.mem = &m;
                br_x509_decoder_init(&x.dc, wsp_pem_dn_append_, &dn);
                x.trailing = 0;
                br_pem_decoder_setdest(&pc, wsp_pem_to_x509_, &x);
            } else {
                br_pem_decoder_setdest(&pc, NULL, NULL);
            }
            break;
        }
        case BR_PEM_END_OBJ:
            in_obj = 0;
            if (in_cert) {
                const br_x509_pkey *pk = br_x509_decoder_get_pkey(&x.dc);
                int err = br_x509_decoder_last_error(&x.dc);
                br_x509_trust_anchor ta;
                in_cert = 0;
                if (x.trailing) return WSPROXY_E_PEM_SYNTAX;   /* bytes after the DER */
                if (err == BR_ERR_X509_UNSUPPORTED || (!pk && err == 0)) { res->skipped++; break; }
                if (err || !pk) return WSPROXY_E_PEM_SYNTAX;
                memset(&ta, 0, sizeof ta);
                ta.flags = br_x509_decoder_isCA(&x.dc) ? BR_X509_TA_CA : 0;
                ta.dn.data = dn.dn_lost ? NULL : dn.dn;
                ta.dn.len = dn.dn_len;
                ta.pkey.key_type = pk->key_type;
                if (pk->key_type == BR_KEYTYPE_RSA) {
                    ta.pkey.key.rsa.n = wsp_pem_take_(&m, pk->key.rsa.n, pk->key.rsa.nlen);
                    ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
                    ta.pkey.key.rsa.e = wsp_pem_take_(&m, pk->key.rsa.e, pk->key.rsa.elen);
                    ta.pkey.key.rsa.elen = pk->key.rsa.elen;
                    if (!ta.pkey.key.rsa.n || !ta.pkey.key.rsa.e) fits = 0;
                } else if (pk->key_type == BR_KEYTYPE_EC) {
                    ta.pkey.key.ec.curve = pk->key.ec.curve;
                    ta.pkey.key.ec.q = wsp_pem_take_(&m, pk->key.ec.q, pk->key.ec.qlen);
                    ta.pkey.key.ec.qlen = pk->key.ec.qlen;
                    if (!ta.pkey.key.ec.q) fits = 0;
                } else {
                    res->skipped++;
                    break;
                }
                if (!ta.dn.data && ta.dn.len) fits = 0;
                if (anchors && res->anchors < max_anchors && fits) anchors[res->anchors] = ta;
                else fits = 0;
                res->anchors++;
            }
            break;
        case BR_PEM_ERROR:
            return WSPROXY_E_PEM_SYNTAX;
        default:
            if (n == 0) return WSPROXY_E_PEM_SYNTAX;   /* no progress: cannot happen */
            break;
        }
    }
    if (in_obj) return WSPROXY_E_PEM_SYNTAX;   /* truncated object */
    res->bytes_needed = m.used;
    return fits ? WSPROXY_OK : WSPROXY_E_PEM_SPACE;
}

WSPROXY_IMPL const char *wsproxy_tls_reason(int e)
{
    if (e == 0) return "no error";
    if (e == WSPROXY_TLS_ERR_CLOSED) return "connection closed during the TLS handshake";
    if (e == WSPROXY_TLS_ERR_CERT_TOO_LARGE) return "certificate too large to check its IP address";
    if (e == BR_ERR_X509_NOT_TRUSTED) return "certificate not trusted";
    if (e == BR_ERR_X509_BAD_SERVER_NAME) return "certificate name mismatch";
    if (e == BR_ERR_X509_EXPIRED) return "certificate expired or not yet valid";
    if (e == BR_ERR_X509_EMPTY_CHAIN) return "no certificate sent";
    if (e >= BR_ERR_X509_OK && e < 64) return "certificate rejected";
    if (e == BR_ERR_RECV_FATAL_ALERT + 40) return "peer refused the handshake (handshake_failure alert)";
    if (e == BR_ERR_RECV_FATAL_ALERT + 70) return "peer refused the protocol version";
    if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT) return "peer sent a fatal alert";
    if (e >= BR_ERR_SEND_FATAL_ALERT) return "we sent a fatal alert";
    if (e == BR_ERR_UNSUPPORTED_VERSION) return "TLS version not supported (TLS 1.2 only)";
    if (e == BR_ERR_BAD_HANDSHAKE || e == BR_ERR_UNEXPECTED) return "handshake failure";
    if (e == BR_ERR_IO) return "I/O error";
    return "TLS error";
}

/* -- the X.509 wrapper: BearSSL's minimal validator, plus no-verify and IP checks -- */
static wsproxy_tls_hop *wsp_hop_of_(const br_x509_class *const *ctx)
{
    return (wsproxy_tls_hop *)(void *)((char *)(void *)(uintptr_t)ctx -
                                       offsetof(wsproxy_tls_hop, x509_vtable_));
}

static void wsp_x_start_chain_(const br_x509_class **ctx, const char *server_name)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->cert_index_ = 0;
    h->ee_len_ = 0;
    h->ee_overflow_ = 0;
    h->xc_.vtable->start_chain(&h->xc_.vtable, server_name);
    if (h->insecure_) br_x509_decoder_init(&h->u_.dec, NULL, NULL);
}

static void wsp_x_start_cert_(const br_x509_class **ctx, uint32_t length)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->xc_.vtable->start_cert(&h->xc_.vtable, length);
}

static void wsp_x_append_(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->xc_.vtable->append(&h->xc_.vtable, buf, len);
    if (h->cert_index_ != 0) return;   /* only the server's own certificate matters here */
    if (h->insecure_) {
        int trailing = 0;   /* a certificate longer than its DER: the key is still read */
        wsp_x509_push_(&h->u_.dec, &trailing, buf, len);
    } else if (h->check_ip_) {
        if (len <= sizeof h->u_.ee - h->ee_len_) {
            memcpy(h->u_.ee + h->ee_len_, buf, len);
            h->ee_len_ += len;
        } else {
            h->ee_overflow_ = 1;
        }
    }
}

static void wsp_x_end_cert_(const br_x509_class **ctx)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->xc_.vtable->end_cert(&h->xc_.vtable);
    h->cert_index_++;
}

static unsigned wsp_x_end_chain_(const br_x509_class **ctx)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    unsigned err = h->xc_.vtable->end_chain(&h->xc_.vtable);
    if (h->insecure_) return 0;   /* the caller turned verification off for this hop */
    if (err) return err;
    if (h->check_ip_) {
        if (h->ee_overflow_) return WSPROXY_TLS_ERR_CERT_TOO_LARGE;
        if (wsproxy_cert_ip_match(h->u_.ee, h->ee_len_, h->ip_, h->ip_len_) != 1)
            return BR_ERR_X509_BAD_SERVER_NAME;
    }
    return 0;
}

static const br_x509_pkey *wsp_x_get_pkey_(const br_x509_class *const *ctx, unsigned *usages)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    if (h->insecure_) {
        if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
        return br_x509_decoder_get_pkey(&h->u_.dec);
    }
    return h->xc_.vtable->get_pkey(&h->xc_.vtable, usages);
}

static const br_x509_class wsp_x509_vtable_ = {
    sizeof(wsproxy_tls_hop), wsp_x_start_chain_, wsp_x_start_cert_, wsp_x_append_,
    wsp_x_end_cert_, wsp_x_end_chain_, wsp_x_get_pkey_
};

/* Prepares a hop's engine and starts its handshake. host_type as in wsproxy_url. */
static int wsp_tls_start_(wsproxy_client *c, wsproxy_tls_hop *h, const char *host, int host_type,
                          const br_x509_trust_anchor *tas, size_t n, int insecure)
{
    unsigned char seed[32];
    memset(h, 0, offsetof(wsproxy_tls_hop, ibuf_));   /* the buffers need no clearing */
    br_ssl_client_init_full(&h->cc_, &h->xc_, tas, n);
    br_ssl_engine_set_versions(&h->cc_.eng, BR_TLS12, BR_TLS12);
    if (c->tls_days_) br_x509_minimal_set_time(&h->xc_, c->tls_days_, c->tls_seconds_);
    h->x509_vtable_ = &wsp_x509_vtable_;
    br_ssl_engine_set_x509(&h->cc_.eng, &h->x509_vtable_);
    br_ssl_engine_set_buffers_bidi(&h->cc_.eng, h->ibuf_, sizeof h->ibuf_, h->obuf_, sizeof h->obuf_);
    h->alpn_[0] = "http/1.1";
    br_ssl_engine_set_protocol_names(&h->cc_.eng, h->alpn_, 1);
    h->insecure_ = insecure;
    if (host_type == WSPROXY_HOST_IPV4) {
        h->ip_len_ = 4;
        h->check_ip_ = !insecure && wsproxy_parse_ipv4(host, strlen(host), h->ip_);
    } else if (host_type == WSPROXY_HOST_IPV6) {
        h->ip_len_ = 16;
        h->check_ip_ = !insecure && wsproxy_parse_ipv6(host, strlen(host), h->ip_);
    }
    if (c->random_(c->random_ctx_, seed, sizeof seed) != 0) return WSPROXY_E_RANDOM;
    br_ssl_engine_inject_entropy(&h->cc_.eng, seed, sizeof seed);
    memset(seed, 0, sizeof seed);
    /* an IP literal gets no SNI (RFC 6066 3) and is checked by wsp_x_end_chain_ */
    if (!br_ssl_client_reset(&h->cc_, host_type == WSPROXY_HOST_NAME ? host : NULL, 0))
        return -1;
    return WSPROXY_OK;
}

static int wsp_tls_target_error_(const wsproxy_client *c)
{
    return c->via_proxy_ ? WSPROXY_E_TLS_TUNNEL : WSPROXY_E_TLS_TARGET;
}

static void wsp_tls_fail_(wsproxy_client *c, int code, int tls_error)
{
    if (c->state_ == WSPROXY_STATE_FAILED) return;
    c->info_.tls_error = tls_error;
    wsp_fail_(c, code);
}

static void wsp_start_target_tls_(wsproxy_client *c)
{
    int rc = wsp_tls_start_(c, c->tls_target_, c->target_host_, c->target_host_type_,
                            c->target_tas_, c->target_tas_n_, c->target_insecure_);
    c->tls_target_started_ = 1;
    if (rc == WSPROXY_E_RANDOM) wsp_fail_(c, WSPROXY_E_RANDOM);
    else if (rc) wsp_tls_fail_(c, wsp_tls_target_error_(c), br_ssl_engine_last_error(&c->tls_target_->cc_.eng));
}

/* Checks an engine after a pump: failure, peer's close_notify, handshake done. */
static void wsp_tls_check_(wsproxy_client *c, wsproxy_tls_hop *h, int hop)
{
    br_ssl_engine_context *e = &h->cc_.eng;
    unsigned st = br_ssl_engine_current_state(e);
    if (st == BR_SSL_CLOSED) {
        int err = br_ssl_engine_last_error(e);
        if (c->state_ == WSPROXY_STATE_FAILED || c->state_ == WSPROXY_STATE_CLOSED) return;
        if (err) wsp_tls_fail_(c, hop == WSPROXY_HOP_PROXY ? WSPROXY_E_TLS_PROXY : wsp_tls_target_error_(c), err);
        else if (!c->eof_) { c->eof_ = 1; c->eof_error_ = 0; }   /* close_notify: the stream ended */
        return;
    }
    if (!h->handshake_done_ && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
        h->handshake_done_ = 1;
        c->tls_events_ |= hop;
    }
}

/* Moves received bytes up: socket engine -> (P's plaintext) -> T -> in_. */
static void wsp_tls_pump_in_(wsproxy_client *c)
{
    wsproxy_tls_hop *P = c->tls_proxy_, *T = c->tls_target_started_ ? c->tls_target_ : NULL;
    int progress = 1;
    while (progress && c->state_ != WSPROXY_STATE_FAILED) {
        unsigned char *src, *dst;
        size_t n, room;
        progress = 0;
        if (T && c->in_holds_cipher_) {   /* server bytes that came with the CONNECT reply */
            dst = br_ssl_engine_recvrec_buf(&T->cc_.eng, &room);
            n = c->in_end_ - c->in_start_;
            if (dst && room) {
                if (n > room) n = room;
                memcpy(dst, c->in_ + c->in_start_, n);
                br_ssl_engine_recvrec_ack(&T->cc_.eng, n);
                c->in_start_ += n;
                progress = 1;
            }
            if (c->in_start_ == c->in_end_) { c->in_holds_cipher_ = 0; c->in_start_ = c->in_end_ = 0; }
        }
        if (P && (src = br_ssl_engine_recvapp_buf(&P->cc_.eng, &n)) != NULL) {
            if (T && c->tunnel_up_) {
                if (!c->in_holds_cipher_ && (dst = br_ssl_engine_recvrec_buf(&T->cc_.eng, &room)) != NULL) {
                    if (n > room) n = room;
                    memcpy(dst, src, n);
                    br_ssl_engine_recvrec_ack(&T->cc_.eng, n);
                    br_ssl_engine_recvapp_ack(&P->cc_.eng, n);
                    progress = n > 0;
                }
            } else if (!c->tunnel_up_ || !c->tls_target_) {
                room = wsp_in_room_(c);
                if (n > room) n = room;
                memcpy(c->in_ + c->in_end_, src, n);
                c->in_end_ += n;
                br_ssl_engine_recvapp_ack(&P->cc_.eng, n);
                progress = n > 0;
            }
        }
        if (T && !c->in_holds_cipher_ && (src = br_ssl_engine_recvapp_buf(&T->cc_.eng, &n)) != NULL) {
            room = wsp_in_room_(c);
            if (n > room) n = room;
            memcpy(c->in_ + c->in_end_, src, n);
            c->in_end_ += n;
            br_ssl_engine_recvapp_ack(&T->cc_.eng, n);
            progress |= n > 0;
        }
        if (P) wsp_tls_check_(c, P, WSPROXY_HOP_PROXY);
        if (T) wsp_tls_check_(c, T, WSPROXY_HOP_TARGET);
    }
}

/* Moves bytes to send down: out_ -> T -> P -> the socket. */
static void wsp_tls_pump_out_(wsproxy_client *c)
{
    wsproxy_tls_hop *P = c->tls_proxy_, *T = c->tls_target_started_ ? c->tls_target_ : NULL;
    int progress = 1;
    if (!P && !c->tls_target_) return;
    /* through a plain proxy, T starts once the CONNECT has fully left */
    if (c->tls_target_ && !c->tls_target_started_ && c->tunnel_up_ &&
        c->out_start_ == c->out_end_ && c->state_ == WSPROXY_STATE_HANDSHAKE) {
        wsp_start_target_tls_(c);
        if (c->state_ == WSPROXY_STATE_FAILED) return;
        T = c->tls_target_;
        {
            unsigned char *p = wsp_out_reserve_(c, c->request_len_);
            if (p) { memcpy(p, c->request_, c->request_len_); c->out_end_ += c->request_len_; }
        }
    }
    while (progress) {
        br_ssl_engine_context *top = T ? &T->cc_.eng : P ? &P->cc_.eng : NULL;
        unsigned char *src, *dst;
        size_t n, room;
        progress = 0;
        if (!top) break;
        if (c->out_end_ > c->out_start_ && (dst = br_ssl_engine_sendapp_buf(top, &room)) != NULL) {
            n = c->out_end_ - c->out_start_;
            if (n > room) n = room;
            memcpy(dst, c->out_ + c->out_start_, n);
            br_ssl_engine_sendapp_ack(top, n);
            c->out_start_ += n;
            if (c->out_start_ == c->out_end_) { c->out_start_ = c->out_end_ = 0; br_ssl_engine_flush(top, 0); }
            progress = n > 0;
        }
        if (T && P && (src = br_ssl_engine_sendrec_buf(&T->cc_.eng, &n)) != NULL &&
            (dst = br_ssl_engine_sendapp_buf(&P->cc_.eng, &room)) != NULL) {
            if (n > room) n = room;
            memcpy(dst, src, n);
            br_ssl_engine_sendapp_ack(&P->cc_.eng, n);
            br_ssl_engine_sendrec_ack(&T->cc_.eng, n);
            br_ssl_engine_flush(&P->cc_.eng, 0);
            progress |= n > 0;
        }
        if (P) wsp_tls_check_(c, P, WSPROXY_HOP_PROXY);
        if (T) wsp_tls_check_(c, T, WSPROXY_HOP_TARGET);
    }
}

/* The engine whose records go to the socket, or NULL when out_ itself does. */
static br_ssl_engine_context *wsp_tls_wire_(const wsproxy_client *c)
{
    if (c->tls_proxy_) return &c->tls_proxy_->cc_.eng;
    if (c->tls_target_ && c->tls_target_started_) return &c->tls_target_->cc_.eng;
    return NULL;
}

static size_t wsp_tls_hop_bytes_(const wsproxy_url *u)
{
    return u->host_type == WSPROXY_HOST_NAME ? WSPROXY_TLS_NAMED_HOP_BYTES : WSPROXY_TLS_HOP_BYTES;
}

/* Arena bytes for these hops (either may be NULL); the same sum wsp_tls_init_ carves. */
static size_t wsp_tls_need_(const wsproxy_url *proxy_hop, const wsproxy_url *target_hop)
{
    size_t need = 0;
    if (proxy_hop) need += wsp_tls_hop_bytes_(proxy_hop);
    if (target_hop) need += wsp_tls_hop_bytes_(target_hop);
    return need ? need + 15u : 0u;
}

WSPROXY_IMPL size_t wsproxy_tls_arena_size(const char *url, const char *proxy)
{
    wsproxy_url t, p;
    int https_proxy;
    if (!url || wsproxy_url_parse(url, wsp_strnlen_(url, WSPROXY_MAX_URL_BYTES + 1), &t) != WSPROXY_OK)
        return 0;
    https_proxy = proxy && proxy[0] &&
        wsproxy_url_parse(proxy, wsp_strnlen_(proxy, WSPROXY_MAX_URL_BYTES + 1), &p) == WSPROXY_OK &&
        p.scheme == WSPROXY_SCHEME_HTTPS;
    return wsp_tls_need_(https_proxy ? &p : NULL, t.scheme == WSPROXY_SCHEME_WSS ? &t : NULL);
}

/* Takes the hops from the arena, aligned to 16 bytes. */
static int wsp_tls_init_(wsproxy_client *c, const wsproxy_config *cfg, const wsproxy_url *target,
                         const wsproxy_url *proxy)
{
    int want_p = proxy && proxy->scheme == WSPROXY_SCHEME_HTTPS;
    int want_t = target->scheme == WSPROXY_SCHEME_WSS;
    unsigned char *a;
    size_t need = wsp_tls_need_(want_p ? proxy : NULL, want_t ? target : NULL);
    if (!need) return WSPROXY_OK;
    if (!cfg->tls_arena || cfg->tls_arena_len < need) return WSPROXY_E_TLS_ARENA;
    a = (unsigned char *)cfg->tls_arena;
    a += (16 - ((uintptr_t)a & 15)) & 15;
    c->tls_days_ = cfg->tls_days;
    c->tls_seconds_ = cfg->tls_seconds;
    if (want_p) {
        char host[256];
        int rc;
        c->tls_proxy_ = (wsproxy_tls_hop *)(void *)a;
        a += wsp_tls_hop_bytes_(proxy);
        memcpy(host, proxy->host, proxy->host_len);
        host[proxy->host_len] = '\0';
        rc = wsp_tls_start_(c, c->tls_proxy_, host, proxy->host_type, cfg->proxy_trust_anchors,
                            cfg->proxy_trust_anchors_count, cfg->proxy_insecure != 0);
        if (rc) return rc == WSPROXY_E_RANDOM ? rc : WSPROXY_E_ARGUMENT;
    }
    if (want_t) {
        c->tls_target_ = (wsproxy_tls_hop *)(void *)a;
        memcpy(c->target_host_, target->host, target->host_len);
        c->target_host_[target->host_len] = '\0';
        c->target_host_type_ = target->host_type;
        c->target_tas_ = cfg->trust_anchors;
        c->target_tas_n_ = cfg->trust_anchors_count;
        c->target_insecure_ = cfg->insecure != 0;
    }
    return WSPROXY_OK;
}
#endif /* WSPROXY_NO_TLS */

static int wsp_init_(wsproxy_client *c, const wsproxy_config *cfg)
{
    wsproxy_url target, proxy;
    const wsproxy_url *hop;
    size_t n;
    int rc;
    if (!cfg || !cfg->url || !cfg->random) return WSPROXY_E_ARGUMENT;
    n = wsp_strnlen_(cfg->url, WSPROXY_MAX_URL_BYTES + 1);
    rc = wsproxy_url_parse(cfg->url, n, &target);
    if (rc) return rc;
    if (target.scheme != WSPROXY_SCHEME_WS && target.scheme != WSPROXY_SCHEME_WSS)
        return WSPROXY_E_URL_SCHEME;
#ifdef WSPROXY_NO_TLS
    if (target.scheme == WSPROXY_SCHEME_WSS) return WSPROXY_E_UNSUPPORTED;
#endif
    hop = &target;
    c->via_proxy_ = cfg->proxy && cfg->proxy[0];
    if (c->via_proxy_) {
        n = wsp_strnlen_(cfg->proxy, WSPROXY_MAX_URL_BYTES + 1);
        rc = wsproxy_url_parse(cfg->proxy, n, &proxy);
        if (rc) return rc;
        if (proxy.scheme == WSPROXY_SCHEME_WS || proxy.scheme == WSPROXY_SCHEME_WSS)
            return WSPROXY_E_URL_SCHEME;
#ifdef WSPROXY_NO_TLS
        if (proxy.scheme == WSPROXY_SCHEME_HTTPS) return WSPROXY_E_UNSUPPORTED;
#endif
        c->via_socks_ = proxy.scheme != WSPROXY_SCHEME_HTTP && proxy.scheme != WSPROXY_SCHEME_HTTPS;
        hop = &proxy;
    }
    c->max_message_ = cfg->max_message ? cfg->max_message : WSPROXY_DEFAULT_MAX_MESSAGE;
    if (cfg->message_buffer) {
        if (cfg->message_buffer_len == 0) return WSPROXY_E_ARGUMENT;
        c->msg_buf_ = cfg->message_buffer;
        c->msg_cap_ = cfg->message_buffer_len;
        if (c->max_message_ > c->msg_cap_) c->max_message_ = c->msg_cap_;
    }
    rc = wsp_build_upgrade_(c, cfg, &target);
    if (rc) return rc;
#ifndef WSPROXY_NO_TLS
    rc = wsp_tls_init_(c, cfg, &target, c->via_proxy_ ? &proxy : NULL);
    if (rc) return rc;
#endif
    if (c->via_socks_) {
        rc = wsproxy_socks_init(&c->socks_, &proxy, &target, cfg->target_address,
                                cfg->target_address_type);
        if (rc) return rc;
        c->out_end_ = wsproxy_socks_output(&c->socks_, c->out_, sizeof c->out_);
        c->state_ = WSPROXY_STATE_PROXY;
    } else if (c->via_proxy_) {
        rc = wsp_build_connect_(c, cfg, &target, &proxy);
        if (rc) return rc;
        c->state_ = WSPROXY_STATE_PROXY;
    } else {
        memcpy(c->out_, c->request_, c->request_len_);
        c->out_end_ = c->request_len_;
        c->state_ = WSPROXY_STATE_HANDSHAKE;
#ifndef WSPROXY_NO_TLS
        if (c->tls_target_) {
            wsp_start_target_tls_(c);
            if (c->state_ == WSPROXY_STATE_FAILED) return c->error_;
        }
#endif
    }
    memcpy(c->connect_host_, hop->host, hop->host_len);
    c->connect_host_[hop->host_len] = '\0';
    c->connect_port_ = hop->port;
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_init(wsproxy_client *c, const wsproxy_config *cfg)
{
    int rc;
    if (!c) return WSPROXY_E_ARGUMENT;
    memset(c, 0, offsetof(wsproxy_client, request_));
    c->rand_used_ = sizeof c->rand_pool_;
    c->info_.socks_reply = -1;
    if (cfg) {
        c->random_ = cfg->random;
        c->random_ctx_ = cfg->random_ctx;
    }
    rc = wsp_init_(c, cfg);
    if (rc) {
        /* nothing built may leave: the failed client produces no byte */
        memset(c->out_, 0, c->out_end_);
        c->out_end_ = 0;
        wsp_fail_(c, rc);
        c->final_reported_ = 1;   /* the caller has the code already */
    }
    return rc;
}

WSPROXY_IMPL const char *wsproxy_connect_host(const wsproxy_client *c) { return c->connect_host_; }

WSPROXY_IMPL int wsproxy_needs_target_address(const char *url, const char *proxy)
{
    wsproxy_url t, p;
    if (!url || !proxy || !proxy[0]) return 0;
    if (wsproxy_url_parse(url, wsp_strnlen_(url, WSPROXY_MAX_URL_BYTES + 1), &t) != WSPROXY_OK ||
        wsproxy_url_parse(proxy, wsp_strnlen_(proxy, WSPROXY_MAX_URL_BYTES + 1), &p) != WSPROXY_OK)
        return 0;
    return wsproxy_socks_needs_address(&p, &t);
}
WSPROXY_IMPL unsigned wsproxy_connect_port(const wsproxy_client *c) { return c->connect_port_; }

/* ---- the client: byte interface -------------------------------------------------------- */
WSPROXY_IMPL const unsigned char *wsproxy_send_buf(wsproxy_client *c, size_t *len)
{
#ifndef WSPROXY_NO_TLS
    br_ssl_engine_context *wire;
#endif
    *len = 0;
    wsp_flush_pending_(c);
#ifndef WSPROXY_NO_TLS
    wsp_tls_pump_out_(c);
    wire = wsp_tls_wire_(c);
    if (wire) {
        unsigned char *p = br_ssl_engine_sendrec_buf(wire, len);
        if (!p) *len = 0;
        return p;
    }
#endif
    *len = c->out_end_ - c->out_start_;
    return *len ? c->out_ + c->out_start_ : NULL;
}

WSPROXY_IMPL void wsproxy_send_ack(wsproxy_client *c, size_t n)
{
#ifndef WSPROXY_NO_TLS
    br_ssl_engine_context *wire = wsp_tls_wire_(c);
    if (wire) {
        size_t have;
        if (n && br_ssl_engine_sendrec_buf(wire, &have) != NULL) {
            if (n > have) n = have;
            br_ssl_engine_sendrec_ack(wire, n);
        }
        wsp_flush_pending_(c);
        wsp_tls_pump_out_(c);
        return;
    }
#endif
    if (n > c->out_end_ - c->out_start_) n = c->out_end_ - c->out_start_;
    c->out_start_ += n;
    if (c->out_start_ == c->out_end_) c->out_start_ = c->out_end_ = 0;
    wsp_flush_pending_(c);
}

static int wsp_takes_input_(const wsproxy_client *c)
{
    return !c->eof_ && (c->state_ == WSPROXY_STATE_PROXY || c->state_ == WSPROXY_STATE_HANDSHAKE ||
                        c->state_ == WSPROXY_STATE_OPEN || c->state_ == WSPROXY_STATE_CLOSING);
}

WSPROXY_IMPL unsigned char *wsproxy_recv_buf(wsproxy_client *c, size_t *len)
{
    *len = 0;
    if (!wsp_takes_input_(c)) return NULL;
#ifndef WSPROXY_NO_TLS
    if (c->tls_proxy_ || c->tls_target_started_) {
        unsigned char *p;
        wsp_tls_pump_in_(c);
        if (c->in_holds_cipher_ || c->state_ == WSPROXY_STATE_FAILED) return NULL;
        p = br_ssl_engine_recvrec_buf(wsp_tls_wire_(c), len);
        if (!p) *len = 0;
        return p;
    }
#endif
    if (c->msg_buf_ && c->rx_in_payload_ && c->in_start_ == c->in_end_ &&
        c->rx_remaining_ >= WSPROXY_DIRECT_RECV_MIN) {
        /* the rest of a large frame goes straight into the caller's message buffer:
           the socket's copy is the only one (max_message <= msg_cap_ bounds it) */
        c->direct_recv_ = 1;
        *len = (size_t)c->rx_remaining_;
        return c->msg_buf_ + c->msg_fill_;
    }
    c->direct_recv_ = 0;
    /* keep room for a whole control frame by moving the unread bytes down */
    *len = wsp_in_room_(c);
    return *len ? c->in_ + c->in_end_ : NULL;
}

WSPROXY_IMPL void wsproxy_recv_ack(wsproxy_client *c, size_t n)
{
    if (!wsp_takes_input_(c)) return;
#ifndef WSPROXY_NO_TLS
    if (c->tls_proxy_ || c->tls_target_started_) {
        size_t room;
        br_ssl_engine_context *wire = wsp_tls_wire_(c);
        if (n && br_ssl_engine_recvrec_buf(wire, &room) != NULL) {
            if (n > room) n = room;
            br_ssl_engine_recvrec_ack(wire, n);
            c->received_any_ = 1;
        }
        wsp_tls_pump_in_(c);
        return;
    }
#endif
    if (c->direct_recv_) {   /* bytes landed in the message buffer (wsproxy_recv_buf) */
        c->direct_recv_ = 0;
        if (n > c->rx_remaining_) n = (size_t)c->rx_remaining_;
        if (n == 0) return;
        c->received_any_ = 1;
        if (c->rx_msg_opcode_ == WSPROXY_OP_TEXT &&
            wsproxy_utf8_validate(&c->rx_utf8_, c->msg_buf_ + c->msg_fill_, n) != n) {
            wsp_fail_peer_(c, WSPROXY_E_WS_INVALID_UTF8);
            return;
        }
        c->msg_fill_ += n;
        c->rx_remaining_ -= n;
        return;
    }
    if (n > sizeof c->in_ - c->in_end_) n = sizeof c->in_ - c->in_end_;
    c->in_end_ += n;
    if (n) c->received_any_ = 1;
#ifndef WSPROXY_NO_TLS
    /* through a plain proxy, bytes after the tunnel is up belong to the server's TLS */
    if (n && c->tls_target_ && c->tunnel_up_) c->in_holds_cipher_ = 1;
#endif
}

WSPROXY_IMPL size_t wsproxy_feed(wsproxy_client *c, const void *data, size_t len)
{
    size_t room, n;
    unsigned char *p = wsproxy_recv_buf(c, &room);
    if (!p) return 0;
    n = len < room ? len : room;
    memcpy(p, data, n);
    wsproxy_recv_ack(c, n);
    return n;
}

WSPROXY_IMPL void wsproxy_socket_closed(wsproxy_client *c, int os_error)
{
    if (c->eof_) return;
    c->eof_ = 1;
    c->eof_error_ = os_error;
}

/* Called by poll when the buffered input is used up and the socket has ended. */
static void wsp_eof_reached_(wsproxy_client *c)
{
    int code;
#ifndef WSPROXY_NO_TLS
    /* a TLS handshake cut short is a TLS failure of its hop */
    if (!(c->eof_error_ && !c->received_any_)) {
        if (c->tls_proxy_ && !c->tls_proxy_->handshake_done_) {
            c->info_.os_error = c->eof_error_;
            wsp_tls_fail_(c, WSPROXY_E_TLS_PROXY, WSPROXY_TLS_ERR_CLOSED);
            return;
        }
        if (c->tls_target_started_ && !c->tls_target_->handshake_done_) {
            c->info_.os_error = c->eof_error_;
            wsp_tls_fail_(c, wsp_tls_target_error_(c), WSPROXY_TLS_ERR_CLOSED);
            return;
        }
    }
#endif
    switch (c->state_) {
    case WSPROXY_STATE_PROXY:
        code = (c->eof_error_ && !c->received_any_) ? WSPROXY_E_PROXY_REFUSED : WSPROXY_E_PROXY_CLOSED;
        break;
    case WSPROXY_STATE_HANDSHAKE:
        code = (c->eof_error_ && !c->received_any_ && !c->via_proxy_) ? WSPROXY_E_CONNECT_REFUSED
                                                                       : WSPROXY_E_HANDSHAKE_CLOSED;
        break;
    case WSPROXY_STATE_OPEN: case WSPROXY_STATE_CLOSING:
        code = WSPROXY_E_CONNECTION_LOST;
        c->info_.close_code = 1006;
        break;
    default:
        return;
    }
    c->info_.os_error = c->eof_error_;
    wsp_fail_(c, code);
}

/* ---- the client: reply heads ------------------------------------------------------------ */
static void wsp_keep_status_line_(wsproxy_client *c, int status, const char *buf, size_t len)
{
    size_t i;
    c->info_.http_status = status;
    for (i = 0; i < len && buf[i] != '\r' && buf[i] != '\n'; i++) {}
    wsp_copy_detail_(c->info_.status_line, sizeof c->info_.status_line, 0, buf, i);
}

/* Does any header called name hold token (comma-separated, case-insensitive)? */
static int wsp_has_token_(const wsproxy_header *h, size_t n, const char *name, const char *token)
{
    size_t i, tl = strlen(token);
    for (i = 0; i < n; i++) {
        const char *v = h[i].value, *end = v + h[i].value_len;
        if (!wsp_ieq_(h[i].name, h[i].name_len, name)) continue;
        while (v < end) {
            const char *e = v;
            while (e < end && *e != ',') e++;
            {
                const char *a = v, *b = e;
                while (a < b && wsp_is_blank_(*a)) a++;
                while (b > a && wsp_is_blank_(b[-1])) b--;
                if ((size_t)(b - a) == tl && wsp_ieq_(a, tl, token)) return 1;
            }
            v = e + 1;
        }
    }
    return 0;
}

static int wsp_check_101_(wsproxy_client *c, const wsproxy_header *h, size_t n)
{
    size_t i;
    int accepts = 0, protocols = 0;
    if (!wsp_has_token_(h, n, "upgrade", "websocket")) return WSPROXY_E_HANDSHAKE_UPGRADE;
    if (!wsp_has_token_(h, n, "connection", "upgrade")) return WSPROXY_E_HANDSHAKE_CONNECTION;
    for (i = 0; i < n; i++) {
        if (wsp_ieq_(h[i].name, h[i].name_len, "sec-websocket-accept")) {
            if (++accepts > 1 || h[i].value_len != 28 || memcmp(h[i].value, c->accept_, 28) != 0)
                return WSPROXY_E_HANDSHAKE_ACCEPT;
        } else if (wsp_ieq_(h[i].name, h[i].name_len, "sec-websocket-extensions")) {
            if (h[i].value_len) return WSPROXY_E_HANDSHAKE_EXTENSION;
        } else if (wsp_ieq_(h[i].name, h[i].name_len, "sec-websocket-protocol")) {
            /* one token, one of those offered (compared exactly, RFC 6455 4.1) */
            const char *offer = c->request_ + c->proto_off_, *end = offer + c->proto_len_;
            int found = 0;
            if (++protocols > 1 || h[i].value_len == 0 || h[i].value_len > WSPROXY_MAX_PROTOCOL_BYTES)
                return WSPROXY_E_HANDSHAKE_PROTOCOL;
            while (offer < end) {
                const char *e = offer;
                while (e < end && *e != ',') e++;
                if ((size_t)(e - offer) == h[i].value_len && memcmp(offer, h[i].value, h[i].value_len) == 0)
                    found = 1;
                offer = e + 2 <= end ? e + 2 : end;
            }
            if (!found) return WSPROXY_E_HANDSHAKE_PROTOCOL;
            memcpy(c->protocol_, h[i].value, h[i].value_len);
            c->protocol_[h[i].value_len] = '\0';
        }
    }
    if (!accepts) return WSPROXY_E_HANDSHAKE_ACCEPT;
    return WSPROXY_OK;
}

/* The proxy opened the tunnel: bytes after its reply already belong to the server. */
static void wsp_tunnel_up_(wsproxy_client *c, wsproxy_event *ev, int status)
{
    c->tunnel_up_ = 1;
    c->state_ = WSPROXY_STATE_HANDSHAKE;
#ifndef WSPROXY_NO_TLS
    if (c->tls_target_) {
        /* TLS to the server starts once the proxy request is out; the upgrade waits
           inside it. Server bytes already here go to that engine first. */
        c->in_holds_cipher_ = c->in_end_ > c->in_start_;
        wsp_tls_pump_out_(c);
    } else
#endif
    {
        unsigned char *p = wsp_out_reserve_(c, c->request_len_);
        if (!p) { wsp_fail_(c, WSPROXY_E_STATE); return; }   /* cannot happen: sizes checked */
        memcpy(p, c->request_, c->request_len_);
        c->out_end_ += c->request_len_;
    }
    ev->type = WSPROXY_EV_TUNNEL;
    ev->status = status;
}

/* The SOCKS handshake: requests out, replies in, never a byte past the reply. */
static int wsp_poll_socks_(wsproxy_client *c, wsproxy_event *ev)
{
    for (;;) {
        size_t used = 0;
        int rc = wsproxy_socks_input(&c->socks_, c->in_ + c->in_start_, c->in_end_ - c->in_start_, &used);
        c->in_start_ += used;
        if (rc == WSPROXY_SOCKS_SEND) {
            size_t n = wsproxy_socks_pending(&c->socks_);
            unsigned char *p = wsp_out_reserve_(c, n);
            if (!p) return 0;   /* flush first; the request waits in the codec */
            c->out_end_ += wsproxy_socks_output(&c->socks_, p, n);
            continue;
        }
        if (rc == WSPROXY_SOCKS_NEED_MORE) return 0;
        c->info_.socks_reply = wsproxy_socks_reply_code(&c->socks_);
        if (rc != WSPROXY_SOCKS_DONE) {
            wsp_fail_(c, rc);
            return 0;
        }
        wsp_tunnel_up_(c, ev, 0);
        return c->state_ != WSPROXY_STATE_FAILED;
    }
}

/* Returns 1 with an event, 0 when more bytes are needed. */
static int wsp_poll_head_(wsproxy_client *c, wsproxy_event *ev)
{
    for (;;) {
        wsproxy_header h[WSPROXY_MAX_HEADERS];
        size_t nh = WSPROXY_MAX_HEADERS, rlen;
        const char *buf = (const char *)c->in_ + c->in_start_, *reason;
        size_t len = c->in_end_ - c->in_start_;
        int minor = 0, status = 0, r, proxy = (c->state_ == WSPROXY_STATE_PROXY);
        if (len == 0) return 0;
#ifndef WSPROXY_NO_TLS
        if (c->in_holds_cipher_ || (c->tls_target_ && c->tunnel_up_ && !c->tls_target_started_)) return 0;
#endif
        r = wsproxy_parse_response(buf, len, &minor, &status, &reason, &rlen, h, &nh);
        if (r == WSPROXY_HTTP_INCOMPLETE) return 0;
        if (r < 0) {
            wsp_keep_status_line_(c, 0, buf, len < 80 ? len : 80);
            wsp_fail_(c, r == WSPROXY_HTTP_TOO_LARGE
                             ? (proxy ? WSPROXY_E_PROXY_REPLY_TOO_LARGE : WSPROXY_E_HANDSHAKE_TOO_LARGE)
                             : (proxy ? WSPROXY_E_PROXY_BAD_REPLY : WSPROXY_E_HANDSHAKE_BAD_REPLY));
            return 0;
        }
        wsp_keep_status_line_(c, status, buf, (size_t)r);
        if (proxy) {
            if (status >= 100 && status < 200 && status != 101) {
                /* interim replies carry nothing for CONNECT: skip a few */
                if (++c->interim_count_ > WSPROXY_MAX_INTERIM_REPLIES) {
                    wsp_fail_(c, WSPROXY_E_PROXY_BAD_REPLY);
                    return 0;
                }
                c->in_start_ += (size_t)r;
                continue;
            }
            if (status == 407 || status == 401) {
                /* 401 is not what RFC 9110 asks of a proxy, but some send it for bad
                   credentials (tinyproxy 1.11): it is still an authentication failure */
                size_t i, at = 0;
                for (i = 0; i < nh; i++) {
                    if (!wsp_ieq_(h[i].name, h[i].name_len, "proxy-authenticate") &&
                        !(status == 401 && wsp_ieq_(h[i].name, h[i].name_len, "www-authenticate")))
                        continue;
                    if (at) wsp_copy_detail_(c->info_.proxy_authenticate, WSPROXY_MAX_DETAIL_BYTES, at, ", ", 2);
                    at = strlen(c->info_.proxy_authenticate);
                    wsp_copy_detail_(c->info_.proxy_authenticate, WSPROXY_MAX_DETAIL_BYTES, at,
                                     h[i].value, h[i].value_len);
                    at = strlen(c->info_.proxy_authenticate);
                }
                wsp_fail_(c, WSPROXY_E_PROXY_AUTH);
                return 0;
            }
            if (status < 200 || status > 299) {
                wsp_fail_(c, WSPROXY_E_PROXY_CONNECT);
                return 0;
            }
            c->in_start_ += (size_t)r;
            wsp_tunnel_up_(c, ev, status);
            return c->state_ != WSPROXY_STATE_FAILED;
        } else {
            int rc;
            if (status != 101) { wsp_fail_(c, WSPROXY_E_HANDSHAKE_STATUS); return 0; }
            rc = wsp_check_101_(c, h, nh);
            if (rc) { wsp_fail_(c, rc); return 0; }
            c->in_start_ += (size_t)r;
            c->state_ = WSPROXY_STATE_OPEN;
            ev->type = WSPROXY_EV_OPEN;
            ev->status = 101;
            ev->protocol = c->protocol_;
            return 1;
        }
    }
}

/* ---- the client: frames -------------------------------------------------------------------- */
static int wsp_valid_close_code_(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static int wsp_control_(wsproxy_client *c, const wsproxy_frame_header *h, const unsigned char *p,
                        wsproxy_event *ev)
{
    size_t len = (size_t)h->payload_len;
    ev->data = p;
    ev->len = len;
    if (h->opcode == WSPROXY_OP_PING) {
        if (c->state_ == WSPROXY_STATE_OPEN) {   /* answer only the latest ping */
            memcpy(c->pong_, p, len);
            c->pong_len_ = len;
            c->pong_pending_ = 1;
            wsp_flush_pending_(c);
        }
        ev->type = WSPROXY_EV_PING;
        return 1;
    }
    if (h->opcode == WSPROXY_OP_PONG) {
        /* any pong proves the peer alive (RFC 6455 5.5.3 lets it answer only the
           latest of several pings, and servers send unsolicited ones as heartbeats) */
        c->ping_unanswered_ = 0;
        ev->type = WSPROXY_EV_PONG;
        return 1;
    }
    /* close */
    if (len == 1) { wsp_fail_peer_(c, WSPROXY_E_WS_CLOSE_PAYLOAD); return 0; }
    ev->close_code = 1005;
    if (len >= 2) {
        uint32_t st = 0;
        unsigned code = (unsigned)p[0] << 8 | p[1];
        if (!wsp_valid_close_code_(code)) { wsp_fail_peer_(c, WSPROXY_E_WS_CLOSE_CODE); return 0; }
        if (wsproxy_utf8_validate(&st, p + 2, len - 2) != len - 2 || !wsproxy_utf8_done(st)) {
            wsp_fail_peer_(c, WSPROXY_E_WS_INVALID_UTF8);
            return 0;
        }
        ev->close_code = (int)code;
        ev->data = p + 2;
        ev->len = len - 2;
    }
    c->close_received_ = 1;
    c->info_.close_code = ev->close_code;
    if (!c->close_sent_ && !c->close_pending_) {
        /* echo the code (RFC 6455 5.5.1); a streamed frame in progress must end first */
        c->pong_pending_ = 0;
        wsp_queue_close_(c, len >= 2 ? ev->close_code : 0, NULL, 0);
        /* the echo's mask needs random bytes: a failed callback is the final event */
        if (c->state_ == WSPROXY_STATE_FAILED) { memset(ev, 0, sizeof *ev); return 0; }
    }
    c->state_ = WSPROXY_STATE_CLOSED;
    c->final_reported_ = 1;
    ev->type = WSPROXY_EV_CLOSE;
    return 1;
}

static void wsp_end_message_(wsproxy_client *c)
{
    c->rx_msg_opcode_ = 0;
    c->rx_msg_delivered_ = 0;
    c->rx_msg_len_ = 0;
    c->rx_utf8_ = 0;
    c->msg_fill_ = 0;
}

static int wsp_poll_frames_(wsproxy_client *c, wsproxy_event *ev)
{
    for (;;) {
        unsigned char *p = c->in_ + c->in_start_;
        size_t avail = c->in_end_ - c->in_start_, n;
        int frame_done, msg_done, text;
        if (!c->rx_in_payload_) {
            wsproxy_frame_header h;
            int r;
            if (avail == 0) return 0;
            /* the common frame first: a whole unfragmented text or binary message of
               up to 125 bytes, already here, outside any fragmented message */
            if (avail >= 2 && (p[0] == 0x81 || p[0] == 0x82) && p[1] < 126 &&
                avail >= 2 + (size_t)p[1] && !c->rx_msg_opcode_ && !c->msg_buf_ &&
                p[1] <= c->max_message_) {
                size_t plen = p[1], i;
                uint64_t high = 0, w;
                uint32_t st = 0;
                if (p[0] == 0x81) {   /* short text: most is ASCII, checked a word at a time */
                    for (i = 0; i + 8 <= plen; i += 8) { memcpy(&w, p + 2 + i, 8); high |= w; }
                    for (; i < plen; i++) high |= p[2 + i];
                }
                if (p[0] == 0x82 || !(high & 0x8080808080808080ull) ||
                    (wsproxy_utf8_validate(&st, p + 2, plen) == plen && st == 0)) {
                    c->in_start_ += 2 + plen;
                    ev->type = WSPROXY_EV_MESSAGE;
                    ev->opcode = p[0] & 15;
                    ev->first = ev->fin = 1;
                    ev->data = p + 2;
                    ev->len = plen;
                    return 1;
                }
                /* invalid text: the general path below fails it at the right byte */
            }
            r = wsproxy_frame_decode(p, avail, &h);
            if (r < 0) { wsp_fail_peer_(c, -r); return 0; }
            if (r == 0) return 0;
            if (h.opcode >= 8) {
                if (avail < (size_t)r + h.payload_len) return 0;   /* control frames whole */
                c->in_start_ += (size_t)r + (size_t)h.payload_len;
                if (wsp_control_(c, &h, p + r, ev)) return 1;
                if (c->state_ == WSPROXY_STATE_FAILED) return 0;
                continue;
            }
            if (h.opcode == WSPROXY_OP_CONTINUATION && !c->rx_msg_opcode_) {
                wsp_fail_peer_(c, WSPROXY_E_WS_CONTINUATION);
                return 0;
            }
            if (h.opcode != WSPROXY_OP_CONTINUATION) {
                if (c->rx_msg_opcode_) { wsp_fail_peer_(c, WSPROXY_E_WS_EXPECTED_CONTINUATION); return 0; }
                wsp_end_message_(c);
                c->rx_msg_opcode_ = h.opcode;
            }
            if (h.payload_len > c->max_message_ - c->rx_msg_len_) {
                wsp_fail_peer_(c, WSPROXY_E_WS_MESSAGE_TOO_BIG);   /* before any of it arrives */
                return 0;
            }
            c->rx_msg_len_ += h.payload_len;
            c->rx_hdr_ = h;
            c->rx_remaining_ = h.payload_len;
            c->rx_in_payload_ = 1;
            c->in_start_ += (size_t)r;
            p += r;
            avail -= (size_t)r;
        }
        n = c->rx_remaining_ < avail ? (size_t)c->rx_remaining_ : avail;
        if (n == 0 && c->rx_remaining_ > 0) return 0;
        text = (c->rx_msg_opcode_ == WSPROXY_OP_TEXT);
        if (text && wsproxy_utf8_validate(&c->rx_utf8_, p, n) != n) {
            wsp_fail_peer_(c, WSPROXY_E_WS_INVALID_UTF8);   /* at the first bad byte */
            return 0;
        }
        c->rx_remaining_ -= n;
        c->in_start_ += n;
        frame_done = (c->rx_remaining_ == 0);
        msg_done = frame_done && c->rx_hdr_.fin;
        if (frame_done) c->rx_in_payload_ = 0;
        if (msg_done && text && !wsproxy_utf8_done(c->rx_utf8_)) {
            wsp_fail_peer_(c, WSPROXY_E_WS_INVALID_UTF8);
            return 0;
        }
        if (c->msg_buf_) {
            memcpy(c->msg_buf_ + c->msg_fill_, p, n);   /* max_message <= msg_cap_ */
            c->msg_fill_ += n;
            if (!msg_done) continue;
            ev->data = c->msg_buf_;
            ev->len = c->msg_fill_;
            ev->first = 1;
        } else {
            if (n == 0 && !msg_done) continue;
            ev->data = p;
            ev->len = n;
            ev->first = !c->rx_msg_delivered_;
            c->rx_msg_delivered_ = 1;
        }
        ev->type = WSPROXY_EV_MESSAGE;
        ev->opcode = c->rx_msg_opcode_;
        ev->fin = msg_done;
        if (msg_done) wsp_end_message_(c);
        return 1;
    }
}

WSPROXY_IMPL int wsproxy_poll(wsproxy_client *c, wsproxy_event *ev)
{
    int got = 0;
    memset(ev, 0, sizeof *ev);
    if (c->final_reported_) return 0;
#ifndef WSPROXY_NO_TLS
    if (c->tls_proxy_ || c->tls_target_started_) {
        wsp_tls_pump_in_(c);
        wsp_tls_pump_out_(c);
    }
    if (c->tls_events_ && c->state_ != WSPROXY_STATE_FAILED) {
        int hop = (c->tls_events_ & WSPROXY_HOP_PROXY) ? WSPROXY_HOP_PROXY : WSPROXY_HOP_TARGET;
        wsproxy_tls_hop *h = hop == WSPROXY_HOP_PROXY ? c->tls_proxy_ : c->tls_target_;
        const char *alpn = br_ssl_engine_get_selected_protocol(&h->cc_.eng);
        size_t n = alpn ? wsp_strnlen_(alpn, sizeof c->alpn_ - 1) : 0;
        c->tls_events_ &= ~hop;
        memcpy(c->alpn_, alpn ? alpn : "", n);
        c->alpn_[n] = '\0';
        ev->type = WSPROXY_EV_TLS;
        ev->status = hop;
        ev->protocol = c->alpn_;
        return 1;
    }
#endif
    switch (c->state_) {
    case WSPROXY_STATE_PROXY: case WSPROXY_STATE_HANDSHAKE:
        got = (c->via_socks_ && c->state_ == WSPROXY_STATE_PROXY) ? wsp_poll_socks_(c, ev)
                                                                  : wsp_poll_head_(c, ev);
        break;
    case WSPROXY_STATE_OPEN: case WSPROXY_STATE_CLOSING:
        got = wsp_poll_frames_(c, ev);
        break;
    default:
        break;
    }
    if (got) return 1;
    if (c->eof_ && c->state_ != WSPROXY_STATE_FAILED && c->state_ != WSPROXY_STATE_CLOSED)
        wsp_eof_reached_(c);
    if (c->state_ == WSPROXY_STATE_FAILED) {
        c->final_reported_ = 1;
        memset(ev, 0, sizeof *ev);
        ev->type = WSPROXY_EV_ERROR;
        ev->close_code = c->info_.close_code;
        return 1;
    }
    return 0;
}

/* ---- the client: sending ---------------------------------------------------------------- */
static int wsp_check_send_(wsproxy_client *c, int opcode, int fin)
{
    if (c->state_ != WSPROXY_STATE_OPEN || c->close_pending_) return WSPROXY_E_STATE;
    if (c->tx_in_frame_) return WSPROXY_E_STATE;
    switch (opcode) {
    case WSPROXY_OP_TEXT: case WSPROXY_OP_BINARY:
        return c->tx_msg_open_ ? WSPROXY_E_STATE : WSPROXY_OK;
    case WSPROXY_OP_CONTINUATION:
        return c->tx_msg_open_ ? WSPROXY_OK : WSPROXY_E_STATE;
    case WSPROXY_OP_PING: case WSPROXY_OP_PONG:
        return fin ? WSPROXY_OK : WSPROXY_E_ARGUMENT;
    default:
        return WSPROXY_E_ARGUMENT;
    }
}

static void wsp_after_data_frame_(wsproxy_client *c, int opcode, int fin)
{
    if (opcode == WSPROXY_OP_TEXT || opcode == WSPROXY_OP_BINARY) {
        c->tx_msg_open_ = !fin;
        c->tx_text_ = (opcode == WSPROXY_OP_TEXT);
    } else if (opcode == WSPROXY_OP_CONTINUATION && fin) {
        c->tx_msg_open_ = 0;
    }
}

WSPROXY_IMPL int wsproxy_send(wsproxy_client *c, int opcode, const void *data, size_t len, int fin)
{
    int rc = wsp_check_send_(c, opcode, fin);
    const unsigned char *d = (const unsigned char *)data;
    if (rc) return rc;
    if (len && !data) return WSPROXY_E_ARGUMENT;
    if (opcode >= 8 && len > 125) return WSPROXY_E_ARGUMENT;
    if (wsp_frame_size_(len) > sizeof c->out_ || len > sizeof c->out_) return WSPROXY_E_SEND_TOO_LARGE;
    if (wsp_out_room_(c) < wsp_frame_size_(len)) return WSPROXY_E_WOULD_BLOCK;
    if (opcode == WSPROXY_OP_TEXT || (opcode == WSPROXY_OP_CONTINUATION && c->tx_text_)) {
        uint32_t st = opcode == WSPROXY_OP_TEXT ? 0 : c->tx_utf8_;
        if (wsproxy_utf8_validate(&st, d, len) != len || (fin && !wsproxy_utf8_done(st)))
            return WSPROXY_E_TEXT_INVALID;
        c->tx_utf8_ = st;
    }
    rc = wsp_write_frame_(c, opcode, fin, d, len);
    if (rc) return rc;
    if (opcode < 8) wsp_after_data_frame_(c, opcode, fin);
    else if (opcode == WSPROXY_OP_PING) c->ping_unanswered_ = 1;
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_send_text(wsproxy_client *c, const char *text, size_t len)
{
    return wsproxy_send(c, WSPROXY_OP_TEXT, text, len, 1);
}
WSPROXY_IMPL int wsproxy_send_binary(wsproxy_client *c, const void *data, size_t len)
{
    return wsproxy_send(c, WSPROXY_OP_BINARY, data, len, 1);
}
WSPROXY_IMPL int wsproxy_ping(wsproxy_client *c, const void *data, size_t len)
{
    return wsproxy_send(c, WSPROXY_OP_PING, data, len, 1);
}
WSPROXY_IMPL int wsproxy_pong(wsproxy_client *c, const void *data, size_t len)
{
    return wsproxy_send(c, WSPROXY_OP_PONG, data, len, 1);
}

WSPROXY_IMPL int wsproxy_send_begin(wsproxy_client *c, int opcode, uint64_t payload_len, int fin)
{
    unsigned char *p;
    size_t hl;
    int rc = wsp_check_send_(c, opcode, fin);
    if (rc) return rc;
    if (opcode >= 8) return WSPROXY_E_ARGUMENT;   /* control frames go whole */
    if (payload_len >> 63) return WSPROXY_E_ARGUMENT;
    p = wsp_out_reserve_(c, WSPROXY_FRAME_HEADER_MAX);
    if (!p) return WSPROXY_E_WOULD_BLOCK;
    if (wsp_random_(c, c->tx_mask_, 4) != 0) return WSPROXY_E_RANDOM;
    hl = wsproxy_frame_encode(p, fin, opcode, c->tx_mask_, payload_len);
    c->out_end_ += hl;
    c->tx_mask_off_ = 0;
    c->tx_remaining_ = payload_len;
    c->tx_in_frame_ = payload_len > 0;
    wsp_after_data_frame_(c, opcode, fin);
    return WSPROXY_OK;
}

WSPROXY_IMPL size_t wsproxy_send_data(wsproxy_client *c, const void *data, size_t len)
{
    size_t n, room;
    unsigned char *p;
    if (!c->tx_in_frame_ || c->state_ == WSPROXY_STATE_FAILED || !data) return 0;
    n = c->tx_remaining_ < len ? (size_t)c->tx_remaining_ : len;
    room = wsp_out_room_(c);
    if (n > room) n = room;
    if (n == 0) return 0;
    p = wsp_out_reserve_(c, n);
    c->tx_mask_off_ = wsproxy_mask(p, (const unsigned char *)data, n, c->tx_mask_, c->tx_mask_off_);
    c->out_end_ += n;
    c->tx_remaining_ -= n;
    if (c->tx_remaining_ == 0) {
        c->tx_in_frame_ = 0;
        wsp_flush_pending_(c);
    }
    return n;
}

WSPROXY_IMPL size_t wsproxy_send_room(const wsproxy_client *c)
{
    size_t room;
    if (c->state_ != WSPROXY_STATE_OPEN || c->tx_in_frame_ || c->close_pending_) return 0;
    room = wsp_out_room_(c);
    if (room < 6) return 0;
    if (room - 6 < 126) return room - 6;
    if (room - 8 <= 0xFFFF) return room - 8;
    return room - 14;
}

WSPROXY_IMPL int wsproxy_close(wsproxy_client *c, int code, const char *reason, size_t len)
{
    uint32_t st = 0;
    if (c->state_ != WSPROXY_STATE_OPEN || c->close_pending_) return WSPROXY_E_STATE;
    if (code != 0 && !wsp_valid_close_code_((unsigned)code)) return WSPROXY_E_CLOSE_CODE;
    if (len && (!reason || code == 0)) return WSPROXY_E_CLOSE_REASON;
    if (len > 123 || wsproxy_utf8_validate(&st, (const unsigned char *)reason, len) != len ||
        !wsproxy_utf8_done(st))
        return WSPROXY_E_CLOSE_REASON;
    c->state_ = WSPROXY_STATE_CLOSING;
    c->pong_pending_ = 0;
    wsp_queue_close_(c, code, reason, len);
    return WSPROXY_OK;
}

/* ---- the client: timers and state ---------------------------------------------------------- */
WSPROXY_IMPL int wsproxy_waiting_for(const wsproxy_client *c)
{
    switch (c->state_) {
    case WSPROXY_STATE_PROXY: return WSPROXY_WAIT_PROXY;
    case WSPROXY_STATE_HANDSHAKE: return WSPROXY_WAIT_HANDSHAKE;
    case WSPROXY_STATE_CLOSING: return WSPROXY_WAIT_CLOSE;
    case WSPROXY_STATE_OPEN: return c->ping_unanswered_ ? WSPROXY_WAIT_PONG : WSPROXY_WAIT_NONE;
    default: return WSPROXY_WAIT_NONE;
    }
}

WSPROXY_IMPL void wsproxy_timeout(wsproxy_client *c)
{
    switch (c->state_) {
    case WSPROXY_STATE_PROXY: wsp_fail_(c, WSPROXY_E_PROXY_TIMEOUT); break;
    case WSPROXY_STATE_HANDSHAKE: wsp_fail_(c, WSPROXY_E_HANDSHAKE_TIMEOUT); break;
    case WSPROXY_STATE_CLOSING: wsp_fail_(c, WSPROXY_E_CLOSE_TIMEOUT); break;
    case WSPROXY_STATE_OPEN:
        /* a dead peer or path: no close frame, it would only wait behind the ping */
        if (c->ping_unanswered_) wsp_fail_(c, WSPROXY_E_PONG_TIMEOUT);
        break;
    default: break;
    }
}

WSPROXY_IMPL int wsproxy_get_state(const wsproxy_client *c) { return c->state_; }
WSPROXY_IMPL int wsproxy_error(const wsproxy_client *c) { return c->error_; }
WSPROXY_IMPL const wsproxy_error_info *wsproxy_error_info_get(const wsproxy_client *c)
{
    return &c->info_;
}

static void wsp_append_(char *out, size_t cap, size_t *at, const char *s)
{
    size_t n = strlen(s);
    if (cap && *at < cap - 1) {
        size_t k = n < cap - 1 - *at ? n : cap - 1 - *at;
        memcpy(out + *at, s, k);
        out[*at + k] = '\0';
    }
    *at += n;
}

static void wsp_append_uint_(char *out, size_t cap, size_t *at, unsigned v)
{
    char num[12];
    wsp_writer_ w;
    w.buf = num; w.cap = sizeof num - 1; w.len = 0; w.overflow = 0;
    wsp_put_uint_(&w, v);
    num[w.len] = '\0';
    wsp_append_(out, cap, at, num);
}

WSPROXY_IMPL size_t wsproxy_describe(const wsproxy_client *c, char *out, size_t cap)
{
    size_t at = 0;
    const wsproxy_error_info *e = &c->info_;
    const char *sep = " (";
    if (cap) out[0] = '\0';
    wsp_append_(out, cap, &at, wsproxy_strerror(c->error_));
    wsp_append_(out, cap, &at, ": ");
    wsp_append_(out, cap, &at, wsproxy_error_message(c->error_));
    if (e->status_line[0] && c->error_ >= 200 && c->error_ < 500) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, e->status_line);
        sep = "; ";
    }
    if (e->proxy_authenticate[0] && c->error_ == WSPROXY_E_PROXY_AUTH) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, "Proxy-Authenticate: ");
        wsp_append_(out, cap, &at, e->proxy_authenticate);
        sep = "; ";
    }
#ifndef WSPROXY_NO_TLS
    if (c->error_ >= 600 && c->error_ < 700) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, wsproxy_tls_reason(e->tls_error));
        wsp_append_(out, cap, &at, "; TLS error ");
        wsp_append_uint_(out, cap, &at, (unsigned)e->tls_error);
        sep = "; ";
    }
#endif
    if (e->close_code && c->error_ >= 500 && c->error_ < 600) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, "close code ");
        wsp_append_uint_(out, cap, &at, (unsigned)e->close_code);
        sep = "; ";
    }
    if (e->socks_reply >= 0 && c->error_ >= 300 && c->error_ < 340) {
        static const char hex[] = "0123456789abcdef";
        char b[5] = {'0', 'x', hex[(e->socks_reply >> 4) & 15], hex[e->socks_reply & 15], 0};
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, "SOCKS reply ");
        wsp_append_(out, cap, &at, b);
        sep = "; ";
    }
    if (e->os_error) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, "os error ");
        wsp_append_uint_(out, cap, &at, (unsigned)(e->os_error < 0 ? -e->os_error : e->os_error));
        sep = "; ";
    }
    if (sep[0] == ';') wsp_append_(out, cap, &at, ")");
    return at;
}

/* ---- the operating system's random source ------------------------------------------------ */
#ifndef WSPROXY_NO_OS_RANDOM
#if defined(__linux__)
#include <sys/random.h>
#include <errno.h>
WSPROXY_IMPL int wsproxy_os_random(void *ctx, unsigned char *dst, size_t len)
{
    (void)ctx;
    while (len > 0) {   /* getrandom: no file to open, never short once seeded */
        ssize_t n = getrandom(dst, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        dst += n;
        len -= (size_t)n;
    }
    return 0;
}
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
#include <stdlib.h>
WSPROXY_IMPL int wsproxy_os_random(void *ctx, unsigned char *dst, size_t len)
{
    (void)ctx;
    arc4random_buf(dst, len);
    return 0;
}
#else
#include <stdio.h>
WSPROXY_IMPL int wsproxy_os_random(void *ctx, unsigned char *dst, size_t len)
{
    FILE *f;
    size_t got;
    (void)ctx;
    f = fopen("/dev/urandom", "rb");
    if (!f) return -1;
    setvbuf(f, NULL, _IONBF, 0);   /* read only what is asked, keep no copy in stdio */
    got = fread(dst, 1, len, f);
    fclose(f);
    return got == len ? 0 : -1;
}
#endif
#endif

#ifdef WSPROXY_PRAGMA_PUSHED_
#pragma GCC diagnostic pop
#endif
#endif /* WSPROXY_IMPLEMENTATION_DONE */
#endif /* WSPROXY_IMPLEMENTATION */

/*
MIT License

Copyright (c) 2026 the wsproxy.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
*/
