/* SPDX-License-Identifier: MIT */
/* wsproxy.h - sans-I/O WebSocket client, direct or through HTTP, HTTPS and SOCKS proxies.
   Version 0.3.0. Single header, C99 (also compiles as C++), no malloc, no sockets,
   no clock, no globals. TLS through BearSSL's engine API. MIT license at the end.

   USING IT
   --------
   Include it anywhere; in exactly ONE .c file define the implementation first:

       #define WSPROXY_IMPLEMENTATION
       #include "wsproxy.h"

   Link with -lbearssl. Build switches (the same in every translation unit: a unit
   that differs gets WSPROXY_E_ABI from wsproxy_init):
     WSPROXY_STATIC    every function static (a private copy per translation unit)
     WSPROXY_NO_TLS    no BearSSL: ws:// only; wss:// and https:// proxies fail with
                       WSPROXY_E_UNSUPPORTED; no Digest proxy authentication
     WSPROXY_DEFLATE   permessage-deflate (RFC 7692) with zlib: link -lz
     WSPROXY_STATS     count the bytes the library copies (wsproxy_stats_get)
     WSPROXY_RECV_BUFFER_BYTES / WSPROXY_SEND_BUFFER_BYTES  the built-in buffers (16 KiB
                       each; 0: none, given per connection in cfg.recv_buffer/send_buffer)
   Switches of speed only (units may differ):
     WSPROXY_NO_SIMD   plain C where SSE2 checks text and masks payloads on x86
     WSPROXY_NO_AVX2   with gcc or clang on x86, payloads of 128 bytes on are masked,
                       and text copied into a message buffer checked, 32 bytes per
                       register when the CPU has AVX2 (asked at run time, as glibc's
                       memcpy asks; built with -mavx2, not asked): this keeps SSE2 only
     WSPROXY_NO_AVX512 masks of 128 bytes on use 64-byte registers when the CPU has
                       AVX-512 BW and VBMI (Ice Lake, Zen 4 and later: asked at run
                       time): this keeps AVX2 for them
   Every limit is a macro with a default (the "limits" block below); define it before the
   include.

   THE MODEL
   ---------
   The client never touches a socket. You own the socket, the loop, the clock and the
   memory: one wsproxy_client per connection (sizeof works), plus a TLS arena when a
   hop uses TLS and a deflate arena for permessage-deflate. The client:
     - takes bytes your socket received       wsproxy_recv_buf() + wsproxy_recv_ack()
                                              (or wsproxy_feed(), which copies)
     - gives bytes your socket must send      wsproxy_send_buf() + wsproxy_send_ack()
     - reports events                         wsproxy_poll()
     - says what it waits for (for timers)    wsproxy_waiting_for() + wsproxy_timeout()
     - learns of transport failure / EOF      wsproxy_socket_closed(), wsproxy_name_failed()

   THE PIPELINE
   ------------
   wsproxy_init builds a chain of stages for the cell (which proxy, which target), from
   the socket up; a cell has only the stages it needs:
       ws://                         PLAIN [TUNNEL] UPGRADE FRAMES
       wss://                        TLS_TARGET UPGRADE FRAMES        (direct)
       wss:// via http://, socks     PLAIN TUNNEL TLS_TARGET UPGRADE FRAMES
       ws:// via https://            TLS_PROXY TUNNEL UPGRADE FRAMES
       wss:// via https://           TLS_PROXY TUNNEL TLS_TARGET UPGRADE FRAMES
   TUNNEL is the CONNECT exchange (with proxy authentication) or the SOCKS handshake,
   UPGRADE the opening handshake, FRAMES RFC 6455 (and permessage-deflate). A TLS stage
   is a BearSSL engine whose four buffers are the stage's ports; a protocol stage reads
   its reply in place from the stage below and leaves the chain when done, so the
   bytes after a reply head go to the next stage, never dropped. Payload copies: ws://
   receives with none (events point into the receive buffer) and sends with one (the
   masking pass); over TLS the record layer is the buffer; TLS inside TLS adds one
   copy each way, between the two engines. Once open, a TLS stage on the socket reads
   ahead: BearSSL asks for a record's 5-byte header, then its body (two recv calls a
   record), so wsproxy_recv_buf lends up to WSPROXY_TLS_READ_AHEAD bytes of the
   receive buffer instead and feeds the engine from it (one copy of those record
   bytes; a burst of short records, or a record of a few KiB, costs one recv); long
   records (a large message) are read straight into the engine, header and body, as
   before. The engine holds one record to send at a time; with a send buffer, once
   open, a record the caller has not taken yet when the engine is wanted for the next
   moves into that buffer (one copy of the record), so frames go on into records and
   a burst leaves in one send() (a record each otherwise); TLS inside TLS, the server's
   records go down as they are sealed and the proxy's records are the ones queued.
   While open, FRAMES keeps
   the windows of the BearSSL engine below it between calls, and tells the engine what
   it wrote and read there before anything else uses an engine: a short message costs
   no call into BearSSL. wsproxy_frames_* is the FRAMES stage alone, for bytes you already hold
   (your own TLS, a test).

   A LOOP, IN ORDER
     0 cfg = {0}; cfg.url = "wss://host/chat"; cfg.proxy = "http://user:pass@proxy:3128"
       (or from wsproxy_proxy_from_env); cfg.random = wsproxy_os_random; TLS: trust
       anchors (wsproxy_pem_trust_anchors) and tls_arena (wsproxy_tls_arena_size bytes).
     1 wsproxy_init; resolve wsproxy_connect_host (failed: wsproxy_name_failed);
       connect (non-blocking, TCP_NODELAY) to it and wsproxy_connect_port; on failure
       wsproxy_socket_closed(c, errno). Arm a timer for wsproxy_waiting_for.
     2 writable: while (p = wsproxy_send_buf(c,&n)) { w = send(p,n); if EAGAIN stop;
       wsproxy_send_ack(c,w); }
     3 readable: p = wsproxy_recv_buf(c,&n); r = recv(p,n); r > 0: wsproxy_recv_ack(c,r);
       r == 0: wsproxy_socket_closed(c,0); EAGAIN: nothing; error: wsproxy_socket_closed(c,errno)
     4 timer: wsproxy_timeout(c). Keepalive: wsproxy_ping every N seconds; the client
       then waits for the pong (WSPROXY_WAIT_PONG) and a dead peer times out.
     5 after each: while (wsproxy_poll(c,&ev)) handle ev (TLS, TUNNEL, OPEN, MESSAGE,
       PING, PONG, RECONNECT, then one CLOSE or ERROR); flush (2); want writable only
       while wsproxy_send_buf has bytes, readable only while wsproxy_recv_buf has room
       (that is the backpressure); re-arm the timer when wsproxy_waiting_for changed.
       EV_RECONNECT (the proxy closes during authentication): close the socket, connect
       a new one to the same host and port, call wsproxy_reconnected(c).
     6 after EV_CLOSE or EV_ERROR: flush once more (the close frame), close the socket.
   Sends: WSPROXY_E_WOULD_BLOCK = no room now, flush and retry, or stream that message
   (wsproxy_send_begin + wsproxy_send_data fill the buffer to the brim, so a burst goes
   out in the fewest send() calls); a frame larger than the send buffer
   (WSPROXY_E_SEND_TOO_LARGE): streamed the same way; wsproxy_send_room says what fits
   now. examples/: blocking.c, wspcat.c (poll), epoll_many.c (epoll, 10k connections),
   libuv_client.c, autobahn_client.c.

   MEMORY
     sizeof(wsproxy_client) is 36 KiB with the built-in 16 KiB buffers, 3.8 KiB without
     (then cfg.recv_buffer, at least WSPROXY_MIN_RECV_BUFFER, and cfg.send_buffer; a
     TLS-only cell may have no send buffer). A TLS hop takes 41,600 bytes of tls_arena
     (wsproxy_tls_arena_size, WSPROXY_TLS_ARENA_BYTES(hops) fits any cell).
     permessage-deflate takes wsproxy_deflate_arena_size bytes (313 KiB for zlib's
     defaults, 28 KiB for 9-bit windows and mem_level 1). message_buffer, when given,
     receives whole messages. Nothing else is allocated.

   TLS
     Each hop (proxy, server) has its own trust anchors, no-verify switch and options
     (cfg.proxy_tls, cfg.tls: server name, ALPN, client certificate and key, session
     resumption, tls_compat). Verification is on by default on both hops. SNI and the
     name checked are the hop's host; an IP-literal host gets no SNI and is checked
     against the certificate's iPAddress names. Policy: TLS 1.2 (BearSSL has no 1.3),
     ECDHE with AEAD suites (tls_compat adds ECDHE-CBC with SHA-2 MACs), no MD5 or SHA-1
     signatures, RSA keys of 2048 bits and up, serverAuth EKU. Every refusal is named
     per hop (wsproxy_tls_reason). Entropy comes from cfg.random.

   PROXIES AND AUTHENTICATION
     cfg.proxy takes http://, https://, socks4://, socks4a://, socks5://, socks5h://
     URLs. wsproxy_proxy_from_env() picks one from the environment as curl does
     (ws_proxy, http_proxy, all_proxy ...; NO_PROXY through wsproxy_no_proxy_match()),
     wsproxy_pac_parse() reads a PAC result list. The library never resolves names:
     for socks4:// and socks5:// give the server's address in cfg.target_address
     (wsproxy_needs_target_address() says when). cfg.proxy_auth allows Basic, Digest,
     NTLM and Negotiate (the last two through your cfg.proxy_token callback: GSSAPI,
     SSPI); the 407 loop answers the strongest scheme offered and allowed, on the same
     connection or, when the proxy closes, on a new one (EV_RECONNECT).

   LIFETIMES
     Requests are written when due, a piece at a time, from your configuration: the
     strings and arrays in wsproxy_config (URLs, headers, protocols, origin, proxy
     credentials) must stay valid and unchanged until WSPROXY_EV_OPEN (or the final
     event); wsproxy_init checks them all at once, so a mistake fails there and no byte
     goes out. Trust anchors, the arenas, caller buffers and message_buffer must outlive
     the connection. Pointers in a wsproxy_event and from wsproxy_recv_buf /
     wsproxy_send_buf stay valid until the next call of any wsproxy_* function on that
     client; message_buffer is written only inside wsproxy_poll.

   ERRORS
     One sticky error per client: wsproxy_error(c) gives the code, wsproxy_error_info_get(c)
     the details (HTTP status and Proxy-Authenticate, close code, OS error, TLS error,
     the URL and byte of a URL error, the extension at fault), wsproxy_strerror(code) a
     name, wsproxy_error_message(code) a sentence, wsproxy_describe() one readable line
     that never holds a secret. Caller mistakes (bad URL, bad header, wrong call order)
     fail at once and produce no byte. Peer faults send the RFC 6455 close frame (1002,
     1007, 1009) and end in one WSPROXY_EV_ERROR.
*/
#ifndef WSPROXY_H
#define WSPROXY_H

#include <stddef.h>
#include <stdint.h>
#if defined(WSPROXY_TLS_OPENSSL) && defined(WSPROXY_NO_TLS)
#error "WSPROXY_TLS_OPENSSL and WSPROXY_NO_TLS exclude each other"
#endif
#ifdef WSPROXY_TLS_OPENSSL
#include <openssl/ssl.h>   /* the TLS stage on OpenSSL 3 (see "TLS with either backend") */
#elif !defined(WSPROXY_NO_TLS)
#include <bearssl.h>   /* TLS hops (see the TLS section); -DWSPROXY_NO_TLS builds without */
#endif

#define WSPROXY_VERSION_MAJOR 0
#define WSPROXY_VERSION_MINOR 3
#define WSPROXY_VERSION_PATCH 0
#define WSPROXY_STR2_(x) #x
#define WSPROXY_STR_(x) WSPROXY_STR2_(x)
/* "0.3.0", and 0x000300 (major << 16 | minor << 8 | patch), made from the three above */
#define WSPROXY_VERSION WSPROXY_STR_(WSPROXY_VERSION_MAJOR) "." WSPROXY_STR_(WSPROXY_VERSION_MINOR) \
                        "." WSPROXY_STR_(WSPROXY_VERSION_PATCH)
#define WSPROXY_VERSION_NUMBER ((WSPROXY_VERSION_MAJOR << 16) | (WSPROXY_VERSION_MINOR << 8) | \
                                WSPROXY_VERSION_PATCH)

#ifdef WSPROXY_NO_TLS
#define WSPROXY_ABI_TLS_ 0u
#elif defined(WSPROXY_TLS_OPENSSL)
#define WSPROXY_ABI_TLS_ 2u
#else
#define WSPROXY_ABI_TLS_ 1u
#endif
#ifdef WSPROXY_DEFLATE
#define WSPROXY_ABI_DEFLATE_ 2u
#else
#define WSPROXY_ABI_DEFLATE_ 0u
#endif
#define WSPROXY_ABI_FEATURES_ (WSPROXY_ABI_TLS_ | WSPROXY_ABI_DEFLATE_ | (uint32_t)WSPROXY_MAX_PROTOCOL_BYTES << 4)

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
#ifndef WSPROXY_RECV_BUFFER_BYTES       /* built-in receive buffer (0: none, the caller */
#define WSPROXY_RECV_BUFFER_BYTES 16384 /* gives cfg.recv_buffer) */
#endif
#ifndef WSPROXY_SEND_BUFFER_BYTES       /* built-in send buffer (0: none, the caller gives */
#define WSPROXY_SEND_BUFFER_BYTES 16384 /* cfg.send_buffer, or none for TLS-only cells) */
#endif
#ifndef WSPROXY_MIN_RECV_BUFFER         /* smallest receive buffer accepted: a reply head */
#define WSPROXY_MIN_RECV_BUFFER 256     /* longer than the buffer cannot be read */
#endif
#ifndef WSPROXY_MIN_SEND_BUFFER         /* smallest send buffer accepted (a control frame */
#define WSPROXY_MIN_SEND_BUFFER 256     /* and the requests, written in pieces) */
#endif
#ifndef WSPROXY_MAX_AUTH_ROUNDS         /* most CONNECT requests of one proxy authentication */
#define WSPROXY_MAX_AUTH_ROUNDS 4
#endif
#ifndef WSPROXY_MAX_CHALLENGE_BYTES     /* a Digest challenge's realm, nonce and opaque */
#define WSPROXY_MAX_CHALLENGE_BYTES 512
#endif
#ifndef WSPROXY_MAX_CHALLENGES          /* Proxy-Authenticate header lines read in one 407 */
#define WSPROXY_MAX_CHALLENGES 8
#endif
#ifndef WSPROXY_MAX_AUTH_BODY_BYTES     /* largest 407 body skipped to answer on the same */
#define WSPROXY_MAX_AUTH_BODY_BYTES (1024u * 1024u)   /* connection */
#endif
#ifndef WSPROXY_MASK_RANDOM_BYTES       /* random bytes drawn from cfg.random at a time for */
#define WSPROXY_MASK_RANDOM_BYTES 256   /* mask keys (4 a frame; at least 4, a multiple of 4) */
#endif
#if WSPROXY_MASK_RANDOM_BYTES < 4 || WSPROXY_MASK_RANDOM_BYTES % 4 != 0
#error "WSPROXY_MASK_RANDOM_BYTES must be a multiple of 4, at least 4"
#endif
#ifndef WSPROXY_MAX_MESSAGE_FRAMES      /* most frames one received message may have */
#define WSPROXY_MAX_MESSAGE_FRAMES 131072   /* (1009 above: bounds empty continuations) */
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
#ifndef WSPROXY_TLS_READ_AHEAD          /* a BearSSL stage on the socket, open: bytes of the */
#define WSPROXY_TLS_READ_AHEAD 8192     /* receive memory a recv may fill past the record the
                                           engine asks for (0: none, two recvs a record) */
#endif
#ifndef WSPROXY_INFLATE_CHUNK_BYTES     /* permessage-deflate without message_buffer: */
#define WSPROXY_INFLATE_CHUNK_BYTES 8192 /* inflated text and binary go out in chunks this big */
#endif
#ifndef WSPROXY_ZLIB_INFLATE_STATE_BYTES /* zlib's inflate state beside its window, and */
#define WSPROXY_ZLIB_INFLATE_STATE_BYTES 8192   /* its deflate state beside window, hash */
#endif                                    /* and pending buffer (zlib 1.2: 7.1 and 5.9 KiB) */
#ifndef WSPROXY_ZLIB_DEFLATE_STATE_BYTES
#define WSPROXY_ZLIB_DEFLATE_STATE_BYTES 8192
#endif
#ifndef WSPROXY_TLS_OUTPUT_BUFFER_BYTES /* a TLS hop's outgoing record buffer: 16469 holds */
#define WSPROXY_TLS_OUTPUT_BUFFER_BYTES 16469   /* a full record (BR_SSL_BUFSIZE_OUTPUT); */
#endif   /* down to 597 (512-byte records) saves memory and costs record overhead */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors: one table (code, name, message); the hundreds are the layer ------ */
#define WSPROXY_ERROR_TABLE(X) \
    X(WSPROXY_OK, 0, "no error") \
    /* 100: caller mistakes, reported before any byte is produced */ \
    X(WSPROXY_E_ARGUMENT, 100, "invalid argument") \
    X(WSPROXY_E_URL_SYNTAX, 101, "malformed URL") \
    X(WSPROXY_E_URL_SCHEME, 102, "unsupported URL scheme") \
    X(WSPROXY_E_URL_HOST, 103, "empty or malformed host in URL") \
    X(WSPROXY_E_URL_PORT, 104, "port in URL is not 1-65535") \
    X(WSPROXY_E_URL_FRAGMENT, 105, "fragment (#) not allowed in URL") \
    X(WSPROXY_E_URL_CHAR, 106, "space, control or non-ASCII byte in URL") \
    X(WSPROXY_E_URL_USERINFO, 107, "credentials in URL not allowed or badly escaped") \
    X(WSPROXY_E_URL_TOO_LONG, 108, "URL too long") \
    X(WSPROXY_E_HEADER_INVALID, 109, "header is not \"Name: value\" or holds CR/LF/NUL") \
    X(WSPROXY_E_HEADER_RESERVED, 110, "header is written by the library itself") \
    X(WSPROXY_E_PROTOCOL_INVALID, 111, "subprotocol is not a token or is repeated") \
    X(WSPROXY_E_REQUEST_TOO_LARGE, 112, "request head too large") \
    X(WSPROXY_E_UNSUPPORTED, 113, "not supported by this build") \
    X(WSPROXY_E_STATE, 114, "call not valid in this state") \
    X(WSPROXY_E_WOULD_BLOCK, 115, "send buffer full, flush and retry") \
    X(WSPROXY_E_CLOSE_CODE, 116, "close code may not be sent") \
    X(WSPROXY_E_CLOSE_REASON, 117, "close reason over 123 bytes or not UTF-8") \
    X(WSPROXY_E_RANDOM, 118, "random source failed") \
    X(WSPROXY_E_SEND_TOO_LARGE, 119, "frame larger than the send buffer, stream it") \
    X(WSPROXY_E_TEXT_INVALID, 120, "text to send is not UTF-8") \
    X(WSPROXY_E_TLS_ARENA, 121, "TLS needs a tls_arena of wsproxy_tls_arena_size() bytes") \
    X(WSPROXY_E_PEM_SPACE, 122, "not enough room for the trust anchors") \
    X(WSPROXY_E_PEM_SYNTAX, 123, "malformed PEM or certificate") \
    X(WSPROXY_E_ABI, 124, "this translation unit was built with other limits or features than the implementation") \
    X(WSPROXY_E_BUFFER, 125, "a receive or send buffer is missing or below its minimum size") \
    X(WSPROXY_E_TLS_NO_ANCHORS, 126, "a TLS hop verifies its peer but has no trust anchors") \
    X(WSPROXY_E_PEM_ENCRYPTED, 127, "the private key is encrypted: decrypt it first") \
    X(WSPROXY_E_DEFLATE_ARENA, 128, "permessage-deflate needs a deflate.arena of wsproxy_deflate_arena_size() bytes") \
    /* 200: the proxy hop */ \
    X(WSPROXY_E_PROXY_REFUSED, 200, "proxy connection refused") \
    X(WSPROXY_E_PROXY_AUTH, 201, "proxy authentication required (no credentials were sent)") \
    X(WSPROXY_E_PROXY_CONNECT, 202, "proxy connect failed") \
    X(WSPROXY_E_PROXY_BAD_REPLY, 203, "malformed reply from proxy") \
    X(WSPROXY_E_PROXY_REPLY_TOO_LARGE, 204, "proxy reply head too large") \
    X(WSPROXY_E_PROXY_CLOSED, 205, "proxy closed the connection during its reply") \
    X(WSPROXY_E_PROXY_TIMEOUT, 206, "timed out waiting for the proxy") \
    X(WSPROXY_E_PROXY_AUTH_REJECTED, 207, "the proxy rejected the credentials") \
    X(WSPROXY_E_PROXY_AUTH_SCHEME, 208, "the proxy offers only authentication schemes that are not allowed") \
    X(WSPROXY_E_PROXY_AUTH_ROUNDS, 209, "proxy authentication did not finish within WSPROXY_MAX_AUTH_ROUNDS requests") \
    X(WSPROXY_E_PROXY_AUTH_TOKEN, 210, "the authentication token callback failed") \
    X(WSPROXY_E_PROXY_AUTH_CHALLENGE, 211, "the proxy's authentication challenge is malformed or too large") \
    X(WSPROXY_E_PROXY_UNREACHABLE, 212, "no route to the proxy (host or network unreachable)") \
    X(WSPROXY_E_PROXY_RESET, 213, "the proxy reset the connection") \
    X(WSPROXY_E_PROXY_NAME, 214, "the proxy's host name did not resolve") \
    /* 300: SOCKS proxies and proxy selection */ \
    X(WSPROXY_E_SOCKS_GENERAL_FAILURE, 301, "SOCKS proxy: general server failure") \
    X(WSPROXY_E_SOCKS_NOT_ALLOWED, 302, "SOCKS proxy: connection not allowed by ruleset") \
    X(WSPROXY_E_SOCKS_NETWORK_UNREACHABLE, 303, "SOCKS proxy: network unreachable") \
    X(WSPROXY_E_SOCKS_HOST_UNREACHABLE, 304, "SOCKS proxy: host unreachable") \
    X(WSPROXY_E_SOCKS_CONNECTION_REFUSED, 305, "SOCKS proxy: connection refused by the target") \
    X(WSPROXY_E_SOCKS_TTL_EXPIRED, 306, "SOCKS proxy: TTL expired") \
    X(WSPROXY_E_SOCKS_COMMAND_NOT_SUPPORTED, 307, "SOCKS proxy: command not supported") \
    X(WSPROXY_E_SOCKS_ADDRESS_NOT_SUPPORTED, 308, "SOCKS proxy: address type not supported") \
    X(WSPROXY_E_SOCKS_UNKNOWN_REPLY, 309, "SOCKS proxy: unknown reply code") \
    X(WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD, 310, "SOCKS proxy accepts none of the offered authentication methods") \
    X(WSPROXY_E_SOCKS_METHOD_NOT_OFFERED, 311, "SOCKS proxy chose an authentication method not offered") \
    X(WSPROXY_E_SOCKS_AUTH_FAILED, 312, "SOCKS proxy rejected the username/password") \
    X(WSPROXY_E_SOCKS_BAD_VERSION, 313, "SOCKS proxy reply has a wrong version byte") \
    X(WSPROXY_E_SOCKS_BAD_REPLY, 314, "malformed SOCKS proxy reply") \
    X(WSPROXY_E_SOCKS4_REJECTED, 320, "SOCKS4 proxy: request rejected or failed") \
    X(WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE, 321, "SOCKS4 proxy: cannot reach identd on the client") \
    X(WSPROXY_E_SOCKS4_IDENTD_MISMATCH, 322, "SOCKS4 proxy: identd user id does not match") \
    X(WSPROXY_E_SOCKS4_UNKNOWN_REPLY, 323, "SOCKS4 proxy: unknown reply code") \
    X(WSPROXY_E_SOCKS_NEED_ADDRESS, 340, "socks4:// and socks5:// need the target's address resolved by the caller (or use socks4a:// / socks5h://)") \
    X(WSPROXY_E_SOCKS4_IPV6, 341, "SOCKS4 cannot reach an IPv6 address") \
    X(WSPROXY_E_SOCKS_CREDENTIAL_TOO_LONG, 342, "SOCKS user or password longer than 255 bytes") \
    X(WSPROXY_E_SOCKS_HOST_TOO_LONG, 343, "host name too long for SOCKS (over 255 bytes)") \
    X(WSPROXY_E_PAC_EMPTY, 350, "PAC result has no usable entry") \
    /* 400: the WebSocket opening handshake */ \
    X(WSPROXY_E_CONNECT_REFUSED, 400, "connection to server refused") \
    X(WSPROXY_E_HANDSHAKE_BAD_REPLY, 401, "malformed handshake reply") \
    X(WSPROXY_E_HANDSHAKE_TOO_LARGE, 402, "handshake reply head too large") \
    X(WSPROXY_E_HANDSHAKE_STATUS, 403, "server did not answer 101") \
    X(WSPROXY_E_HANDSHAKE_UPGRADE, 404, "handshake reply lacks Upgrade: websocket") \
    X(WSPROXY_E_HANDSHAKE_CONNECTION, 405, "handshake reply lacks Connection: upgrade") \
    X(WSPROXY_E_HANDSHAKE_ACCEPT, 406, "Sec-WebSocket-Accept missing or wrong") \
    X(WSPROXY_E_HANDSHAKE_PROTOCOL, 407, "server chose a subprotocol not offered") \
    X(WSPROXY_E_HANDSHAKE_EXTENSION, 408, "the server's Sec-WebSocket-Extensions was not offered or breaks RFC 7692") \
    X(WSPROXY_E_HANDSHAKE_CLOSED, 409, "connection closed during the handshake") \
    X(WSPROXY_E_HANDSHAKE_TIMEOUT, 410, "timed out waiting for the handshake reply") \
    X(WSPROXY_E_CONNECT_UNREACHABLE, 411, "no route to the server (host or network unreachable)") \
    X(WSPROXY_E_CONNECT_RESET, 412, "the server reset the connection") \
    X(WSPROXY_E_CONNECT_NAME, 413, "the server's host name did not resolve") \
    /* 500: WebSocket frames from the server (sent close code in brackets) */ \
    X(WSPROXY_E_WS_RESERVED_BITS, 500, "frame with reserved bits set") \
    X(WSPROXY_E_WS_OPCODE, 501, "frame with a reserved opcode") \
    X(WSPROXY_E_WS_MASKED, 502, "server frame is masked") \
    X(WSPROXY_E_WS_CONTROL_FRAGMENTED, 503, "fragmented control frame") \
    X(WSPROXY_E_WS_CONTROL_TOO_LONG, 504, "control frame payload over 125 bytes") \
    X(WSPROXY_E_WS_LENGTH_NONMINIMAL, 505, "frame length not minimally encoded") \
    X(WSPROXY_E_WS_LENGTH_TOO_BIG, 506, "frame length has the top bit set") \
    X(WSPROXY_E_WS_CONTINUATION, 507, "continuation frame without a message") \
    X(WSPROXY_E_WS_EXPECTED_CONTINUATION, 508, "new message before the last one ended") \
    X(WSPROXY_E_WS_CLOSE_PAYLOAD, 509, "close frame with a 1-byte payload") \
    X(WSPROXY_E_WS_CLOSE_CODE, 510, "close frame with an invalid code") \
    X(WSPROXY_E_WS_INVALID_UTF8, 511, "invalid UTF-8 in text or close reason") \
    X(WSPROXY_E_WS_MESSAGE_TOO_BIG, 512, "message over the size limit") \
    X(WSPROXY_E_CONNECTION_LOST, 513, "connection lost without a close frame") \
    X(WSPROXY_E_CLOSE_TIMEOUT, 514, "timed out waiting for the close reply") \
    X(WSPROXY_E_PONG_TIMEOUT, 515, "timed out waiting for the pong to our ping") \
    X(WSPROXY_E_WS_INFLATE, 516, "a compressed message is not valid DEFLATE data") \
    /* 600: TLS (BearSSL's code in wsproxy_error_info.tls_error) */ \
    X(WSPROXY_E_TLS_PROXY, 600, "TLS to the proxy failed") \
    X(WSPROXY_E_TLS_TUNNEL, 601, "TLS to the server through the proxy tunnel failed") \
    X(WSPROXY_E_TLS_TARGET, 602, "TLS to the server failed")

typedef enum wsproxy_err {
#define WSPROXY_ERR_ENUM_(name, code, message) name = code,
    WSPROXY_ERROR_TABLE(WSPROXY_ERR_ENUM_)
#undef WSPROXY_ERR_ENUM_
    WSPROXY_E_END_
} wsproxy_err;

/* tls_error values of our own, beside BearSSL's BR_ERR_* codes */
#define WSPROXY_TLS_ERR_CLOSED         1024  /* connection ended during the TLS handshake */
/* 1025 is retired (a certificate too large to keep: none is kept any more) */
#define WSPROXY_TLS_ERR_WEAK_SIGNATURE 1026  /* a certificate verified with MD5 or SHA-1 */
#define WSPROXY_TLS_ERR_EKU            1027  /* leaf's extendedKeyUsage lacks serverAuth */
#define WSPROXY_TLS_ERR_PLAIN_HTTP     1028  /* the peer answered in plain HTTP, not TLS */
#define WSPROXY_TLS_ERR_UNREADABLE     1029  /* the leaf certificate could not be read */
#define WSPROXY_TLS_ERR_NO_SUITE       1030  /* the peer takes none of our cipher suites */
#define WSPROXY_TLS_ERR_CERT_REQUIRED  1031  /* the peer asked for a client certificate */
#define WSPROXY_TLS_ERR_CERT_REFUSED   1032  /* the peer refused our client certificate */
#define WSPROXY_TLS_ERR_OPENSSL        1033  /* WSPROXY_TLS_OPENSSL: OpenSSL failed for a reason
                                                BearSSL has no code for */
#define WSPROXY_TLS_ERR_X509           2048  /* WSPROXY_TLS_OPENSSL: 2048 + OpenSSL's X509_V_ERR_*
                                                code, a certificate check with no BearSSL code */

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
/* The same, and on failure *error_at (may be NULL) is the byte offset of the fault. */
WSPROXY_DEF int wsproxy_url_parse_at(const char *s, size_t len, wsproxy_url *u, size_t *error_at);

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

/* ---- pure functions: authentication challenges (RFC 9110 11) and Digest (RFC 7616) -- */
typedef struct wsproxy_auth_challenge {
    const char *scheme;  size_t scheme_len;    /* slices of the header value */
    const char *token68; size_t token68_len;   /* "Negotiate <token>": the token; else NULL */
    const char *params;  size_t params_len;    /* the auth-params, NULL when none */
} wsproxy_auth_challenge;

/* Reads the next challenge of a Proxy-Authenticate (or WWW-Authenticate) value, starting
   at *pos (0 for the first): 1 with ch filled and *pos after it, 0 at the end, -1 when
   the value is malformed. A value may hold several challenges ("Basic realm="a",
   Digest realm="b", nonce="n""). */
WSPROXY_DEF int wsproxy_auth_next(const char *value, size_t len, size_t *pos, wsproxy_auth_challenge *ch);
/* The auth-param name of ch (case-insensitive), unescaped into out (cap bytes with the
   NUL): 1 found, 0 absent, -1 malformed (or holds CR, LF, NUL), -2 longer than cap - 1. */
WSPROXY_DEF int wsproxy_auth_param(const wsproxy_auth_challenge *ch, const char *name, char *out,
                                   size_t cap, size_t *out_len);

/* Proxy authentication schemes a caller allows (wsproxy_config.proxy_auth). */
enum { WSPROXY_AUTH_BASIC = 1, WSPROXY_AUTH_DIGEST = 2, WSPROXY_AUTH_NTLM = 4, WSPROXY_AUTH_NEGOTIATE = 8,
       WSPROXY_AUTH_ANY = 15,
       WSPROXY_AUTH_OTHER = 16 };   /* only in wsproxy_error_info.auth_offered: a scheme unknown here */
/* "Basic", "Digest", "NTLM", "Negotiate" for one WSPROXY_AUTH_* bit, "other" for
   WSPROXY_AUTH_OTHER, NULL for anything else. */
WSPROXY_DEF const char *wsproxy_auth_name(int scheme);
enum { WSPROXY_DIGEST_MD5 = 1, WSPROXY_DIGEST_MD5_SESS, WSPROXY_DIGEST_SHA256, WSPROXY_DIGEST_SHA256_SESS };

#ifndef WSPROXY_NO_TLS
/* One Digest response (RFC 7616 3.4.1), the hashes from BearSSL: hex into out (32 or 64
   characters and a NUL). qop: 0 the legacy form without qop (RFC 2069), 1 auth, 2
   auth-int (of an empty body). nc is the nonce count. Strings are NUL-terminated but
   username and password, which have lengths. Digest needs BearSSL's hashes: a
   WSPROXY_NO_TLS build has no Digest. */
typedef struct wsproxy_digest {
    int algorithm, qop;                 /* WSPROXY_DIGEST_*; 0, 1 or 2 */
    const char *username; size_t username_len;
    const char *password; size_t password_len;
    const char *realm, *nonce, *cnonce, *method, *uri;
    uint32_t nc;
} wsproxy_digest;
WSPROXY_DEF int wsproxy_digest_response(const wsproxy_digest *d, char out[65]);
/* The userhash (RFC 7616 3.4.4): hex of H(user ":" realm). */
WSPROXY_DEF int wsproxy_digest_userhash(int algorithm, const char *user, size_t user_len, const char *realm,
                                        char out[65]);
#endif

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
#ifndef WSPROXY_TLS_OPENSSL
/* A private key for a client certificate (mTLS), as wsproxy_pem_private_key fills it:
   its numbers point into the caller's memory. */
typedef struct wsproxy_private_key {
    int type;                          /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    br_rsa_private_key rsa;
    br_ec_private_key ec;
} wsproxy_private_key;
#endif

/* ---- TLS with either backend: BearSSL (the default) or OpenSSL 3 (WSPROXY_TLS_OPENSSL) ----
   Define WSPROXY_TLS_OPENSSL (in every translation unit alike) and link -lssl -lcrypto
   instead of -lbearssl: the same TLS stage on OpenSSL through memory ports, TLS 1.3 and
   1.2, the same per-hop options, policy and error codes. That backend ALLOCATES through
   OpenSSL (contexts, the connection's state, sessions): call wsproxy_tls_free when a
   connection is done. BearSSL stays the default and the only backend without malloc.
   The trust anchors, client identities and sessions below work with both backends; the
   BearSSL-typed API (br_x509_trust_anchor, wsproxy_private_key, br_ssl_session_parameters)
   exists only with BearSSL. */
/* Trust anchors for a hop (wsproxy_tls_options.trust), loaded once and shared by any
   number of connections; they must outlive the connections that use them. */
typedef struct wsproxy_tls_trust {
    size_t count;                      /* certificates loaded */
#ifdef WSPROXY_TLS_OPENSSL
    SSL_CTX *ctx_;                     /* private: a context holding the store */
    int system_;                       /* private: the system's store */
#else
    const br_x509_trust_anchor *anchors_;   /* private: in the caller's memory */
#endif
} wsproxy_tls_trust;

/* A client certificate chain and its key for a hop (wsproxy_tls_options.identity). */
typedef struct wsproxy_tls_identity {
    size_t chain_len;                  /* certificates, leaf first */
#ifdef WSPROXY_TLS_OPENSSL
    X509 *cert_;                       /* private */
    STACK_OF(X509) *chain_;
    EVP_PKEY *key_;
#else
    br_x509_certificate *chain_;       /* private: in the caller's memory */
    wsproxy_private_key key_;
#endif
} wsproxy_tls_identity;

/* Per-hop TLS settings beside the trust anchors (cfg.tls for the server hop, cfg.proxy_tls
   for the proxy hop; all zero is the default). Everything they point to must stay valid
   for the life of the connection. */
typedef struct wsproxy_tls_options {
    int compat;                        /* 1: also offer ECDHE with AES-CBC (SHA-256/384
                                          MACs) for an old peer; nothing offers static RSA,
                                          3DES, RC4 or SHA-1 */
    const char *server_name;           /* NULL: the URL's host; else the name sent as SNI
                                          and checked in the certificate (a proxy reached
                                          by IP whose certificate names it) */
    const char *const *alpn;           /* NULL-terminated protocol names, at most 4; NULL:
                                          "http/1.1"; an empty list: no ALPN */
#ifndef WSPROXY_TLS_OPENSSL
    const br_x509_certificate *client_chain;   /* mTLS: the client's chain, leaf first */
    size_t client_chain_len;
    const wsproxy_private_key *client_key;     /* and its key */
    const br_ssl_session_parameters *resume;   /* a session from an earlier connection to
                                          the same peer (wsproxy_tls_session_get) */
#endif
    /* either backend (with BearSSL give these or the BearSSL-typed ones, not both) */
    const wsproxy_tls_trust *trust;    /* this hop's trust anchors (wsproxy_tls_trust_pem) */
    const wsproxy_tls_identity *identity;   /* mTLS: chain and key (wsproxy_tls_identity_pem) */
    const unsigned char *session;      /* wsproxy_tls_session_save's bytes from an earlier
                                          connection to the same peer; bytes another backend
                                          or version saved are ignored (a full handshake) */
    size_t session_len;
    /* resume / session: only a session from the same host and port (and, for the proxy
       hop, the same proxy): a resumed hop checks no certificate, and a session records
       no host name, so another host's session would let that host answer for this one. */
} wsproxy_tls_options;

/* The streaming reader of certificate facts (private): see wsproxy_cert_facts_get. */
typedef struct wsp_certscan_t_ {
    uint32_t pos, len, need, end[8];
    unsigned idx[8];
    unsigned char kind[8], val[20], ip[16];
    size_t vlen;
    int depth, state, tag, lenbytes, vkind, ext, leaf, ip_len;
    int broken, weak_sig, has_eku, eku_server, ip_match;
} wsp_certscan_t_;

#ifndef WSPROXY_TLS_OPENSSL
/* One TLS hop: a BearSSL client engine, its X.509 validator and its buffer. A
   connection needs one per TLS hop (https:// proxy, wss:// server); the client takes
   them from the caller's tls_arena. Fields are private. */
typedef struct wsproxy_tls_hop {
    br_ssl_client_context cc_;
    br_x509_minimal_context xc_;
    const br_x509_class *x509_vtable_;  /* wraps xc_: policy, no-verify, iPAddress check */
    const br_ssl_client_certificate_class *ccert_vtable_;   /* notes a certificate request */
    const br_ssl_client_certificate_class **inner_cc_;      /* BearSSL's handler, or NULL */
    int cert_requested_, cert_sent_;
    const char *alpn_[4];
    int insecure_, check_ip_, cert_index_, handshake_done_, weak_seen_, resumed_;
    int leaf_;                          /* the leaf's facts: readable 1, EKU 2, serverAuth 4, IP 8 */
    unsigned char ip_[16];
    size_t ip_len_;
    unsigned char first_[5];            /* the peer's first bytes: plain HTTP? */
    size_t first_n_;
    unsigned char resume_id_[32];       /* the session id offered for resumption */
    size_t resume_id_len_;
    wsp_certscan_t_ scan_;                /* the certificate passing through */
    br_x509_decoder_context dec_;       /* no-verify mode: the server's key */
    /* the input buffer stays whole: a server need not honour a smaller fragment length */
    unsigned char ibuf_[BR_SSL_BUFSIZE_INPUT];
    unsigned char obuf_[WSPROXY_TLS_OUTPUT_BUFFER_BYTES];
} wsproxy_tls_hop;
#else
#ifndef WSPROXY_OPENSSL_INPUT_BYTES     /* OpenSSL hop: the staging of records from the */
#define WSPROXY_OPENSSL_INPUT_BYTES 16384   /* socket and of the plaintext read from them */
#endif
/* One TLS hop on OpenSSL: the connection (allocated by OpenSSL) and the four ports'
   staging buffers, which live here, in the caller's tls_arena: records in from the
   socket, plaintext read, plaintext to send (one record's worth:
   WSPROXY_TLS_OUTPUT_BUFFER_BYTES - 85 bytes), records out. Fields are private. */
typedef struct wsproxy_tls_hop {
    SSL *ssl_;
    SSL_CTX *ctx_;                      /* a reference: the trust's context or the hop's own */
    BIO_METHOD *bio_method_;            /* the BIO that reads rin_ and writes rout_ */
    SSL_SESSION *session_;              /* the last session the peer gave */
    int started_, handshake_done_, confirmed_, resumed_, insecure_, closed_, err_;
    int cert_requested_, cert_sent_, alert_recv_, alert_sent_;
    int want_write_;                    /* OpenSSL waits for room in rout_ to go on */
    unsigned char first_[5];            /* the peer's first bytes: plain HTTP? */
    size_t first_n_;
    size_t rin_s_, rin_e_, ain_s_, ain_e_, aout_s_, aout_e_, rout_s_, rout_e_;
    unsigned char rin_[WSPROXY_OPENSSL_INPUT_BYTES];
    unsigned char ain_[WSPROXY_OPENSSL_INPUT_BYTES];
    unsigned char aout_[WSPROXY_TLS_OUTPUT_BUFFER_BYTES - 85];
    unsigned char rout_[WSPROXY_TLS_OUTPUT_BUFFER_BYTES];
} wsproxy_tls_hop;
#endif

#define WSPROXY_TLS_ALIGN16_(n) (((size_t)(n) + 15u) & ~(size_t)15u)
/* One hop, whatever its host (no certificate is kept, IP hosts included). */
#define WSPROXY_TLS_HOP_BYTES WSPROXY_TLS_ALIGN16_(sizeof(wsproxy_tls_hop))
#define WSPROXY_TLS_NAMED_HOP_BYTES WSPROXY_TLS_HOP_BYTES   /* the same since 0.3 */
/* Arena bytes enough for any connection with `hops` TLS hops (0, 1 or 2). */
#define WSPROXY_TLS_ARENA_BYTES(hops) ((hops) ? (size_t)(hops) * WSPROXY_TLS_HOP_BYTES + 15u : 0u)

/* Bytes of tls_arena the connection to url through proxy (NULL: direct) needs: 0 for
   ws:// through an http:// proxy, one hop for wss:// or an https:// proxy, two for
   wss:// through an https:// proxy (WSPROXY_TLS_HOP_BYTES each); 15 bytes more let the
   client align the arena. 0 also when a URL does not parse. */
WSPROXY_DEF size_t wsproxy_tls_arena_size(const char *url, const char *proxy);

typedef struct wsproxy_pem_result {
    size_t anchors;        /* trust anchors found (written when they fit) */
    size_t bytes_needed;   /* memory their names and keys need */
    size_t skipped;        /* certificates BearSSL cannot use (unsupported key type) */
} wsproxy_pem_result;

#ifndef WSPROXY_TLS_OPENSSL
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
#endif

/* Does the DER certificate carry ip (4 or 16 bytes) as an iPAddress subjectAltName?
   1 yes, 0 no, -1 malformed. BearSSL's minimal validator matches DNS names only, so
   the client checks IP-literal hosts with this. */
WSPROXY_DEF int wsproxy_cert_ip_match(const unsigned char *der, size_t len,
                                      const unsigned char *ip, size_t ip_len);

/* What a DER certificate says that BearSSL's minimal validator does not check, read in
   one pass without keeping it (the client reads every certificate so as it arrives). */
typedef struct wsproxy_cert_facts {
    int readable;          /* 1: the DER was walked to its end */
    int weak_signature;    /* signed with MD2, MD5 or SHA-1 */
    int has_eku;           /* it has an extendedKeyUsage extension */
    int eku_server_auth;   /* which lists serverAuth or anyExtendedKeyUsage */
    int ip_match;          /* ip (4 or 16 bytes, or NULL) is one of its iPAddress names */
} wsproxy_cert_facts;
WSPROXY_DEF void wsproxy_cert_facts_get(const unsigned char *der, size_t len, const unsigned char *ip,
                                        size_t ip_len, wsproxy_cert_facts *out);

#ifndef WSPROXY_TLS_OPENSSL
/* Reads a private key from PEM (PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY",
   unencrypted PKCS#8 "PRIVATE KEY") into key, its numbers in mem (mem_len bytes; call
   with mem NULL to learn *needed). Returns WSPROXY_OK, WSPROXY_E_PEM_SPACE,
   WSPROXY_E_PEM_ENCRYPTED or WSPROXY_E_PEM_SYNTAX. The decoding state is wiped. */
WSPROXY_DEF int wsproxy_pem_private_key(const char *pem, size_t len, wsproxy_private_key *key,
                                        unsigned char *mem, size_t mem_len, size_t *needed);
/* Reads the certificates of a PEM file (a client chain, leaf first) as DER into mem:
   up to max in certs. res->anchors counts the certificates. Same calling pattern and
   results as wsproxy_pem_trust_anchors. */
WSPROXY_DEF int wsproxy_pem_certificates(const char *pem, size_t len, br_x509_certificate *certs,
                                         size_t max, unsigned char *mem, size_t mem_len,
                                         wsproxy_pem_result *res);
#endif

/* A readable reason for a tls_error value ("certificate not trusted", ...). */
WSPROXY_DEF const char *wsproxy_tls_reason(int tls_error);

/* -- either backend: trust anchors, client identities, sessions, the end of a connection -- */
/* Trust anchors from a PEM bundle (certificates; other objects are ignored). With
   BearSSL they are decoded into mem (mem_len bytes; call with mem NULL to learn
   *needed, then again); with OpenSSL mem is not used (*needed is 0) and OpenSSL holds
   them until wsproxy_tls_trust_free. Returns WSPROXY_OK, WSPROXY_E_PEM_SPACE or
   WSPROXY_E_PEM_SYNTAX (malformed, or no certificate at all). */
WSPROXY_DEF int wsproxy_tls_trust_pem(wsproxy_tls_trust *t, const char *pem, size_t len, void *mem,
                                      size_t mem_len, size_t *needed);
/* The system's trust store (OpenSSL's default paths; SSL_CERT_FILE and SSL_CERT_DIR
   apply). OpenSSL only: BearSSL returns WSPROXY_E_UNSUPPORTED (the header reads no file:
   load the bundle, /etc/ssl/certs/ca-certificates.crt, with wsproxy_tls_trust_pem). */
WSPROXY_DEF int wsproxy_tls_trust_system(wsproxy_tls_trust *t);
/* Lets go of what OpenSSL holds for t (nothing to do with BearSSL). */
WSPROXY_DEF void wsproxy_tls_trust_free(wsproxy_tls_trust *t);
/* A client certificate chain (PEM, leaf first) and its private key (PEM: PKCS#1, SEC1 or
   unencrypted PKCS#8). Same memory pattern as wsproxy_tls_trust_pem; returns WSPROXY_OK,
   WSPROXY_E_PEM_SPACE, WSPROXY_E_PEM_ENCRYPTED or WSPROXY_E_PEM_SYNTAX. */
WSPROXY_DEF int wsproxy_tls_identity_pem(wsproxy_tls_identity *id, const char *chain_pem, size_t chain_len,
                                         const char *key_pem, size_t key_len, void *mem, size_t mem_len,
                                         size_t *needed);
/* Wipes the key (BearSSL: in the caller's memory) and lets go of what OpenSSL holds. */
WSPROXY_DEF void wsproxy_tls_identity_free(wsproxy_tls_identity *id);
#endif

/* ---- permessage-deflate (RFC 7692), in a build with WSPROXY_DEFLATE and zlib ----
   The offer goes in the upgrade request; the 101's answer is checked strictly. zlib
   allocates only from deflate.arena (wsproxy_deflate_arena_size bytes), so the library
   still calls no malloc. Without WSPROXY_DEFLATE these exist, enable fails init with
   WSPROXY_E_UNSUPPORTED and no zlib header is needed. */
typedef struct wsproxy_deflate_options {
    int enable;                        /* 1: offer permessage-deflate */
    int client_max_window_bits;        /* 0: offered without a value (the server picks
                                          8-15), -1: not offered, 8-15: offered so */
    int server_max_window_bits;        /* 0: not offered, 8-15: the largest server window */
    int client_no_context_takeover;    /* offered: our compressor starts each message anew */
    int server_no_context_takeover;    /* asked of the server */
    size_t threshold;                  /* messages shorter go uncompressed (0: none) */
    int level;                         /* zlib level 1-9, 0: 6 */
    int mem_level;                     /* zlib memLevel 1-9, 0: 8 */
    void *arena;                       /* wsproxy_deflate_arena_size() bytes, for the */
    size_t arena_len;                  /* connection's life */
} wsproxy_deflate_options;

/* What the 101 settled, after OPEN. Window bits are those each side compresses with;
   client_window_bits 0 means the client sends every message uncompressed (the server
   asked for a 256-byte window, which zlib cannot compress with). */
typedef struct wsproxy_deflate_params {
    int client_window_bits, server_window_bits;
    int client_no_context_takeover, server_no_context_takeover;
} wsproxy_deflate_params;

/* The arena these options need at most (the server may choose any window up to what
   was offered); 0 when not enabled or not built with WSPROXY_DEFLATE. */
WSPROXY_DEF size_t wsproxy_deflate_arena_size(const wsproxy_deflate_options *o);

typedef struct wsproxy_config {
    const char *url;                   /* ws:// or wss:// */
    const char *proxy;                 /* NULL or "" for direct; http://[user:pass@]host:port */
    const char *const *headers;        /* NULL-terminated "Name: value" for the server */
    const char *const *proxy_headers;  /* NULL-terminated "Name: value" for the CONNECT */
    const char *const *protocols;      /* NULL-terminated subprotocols to offer */
    const char *origin;                /* NULL for none */
    wsproxy_random_fn random;          /* required: key, masks (WSPROXY_MASK_RANDOM_BYTES a call), TLS seed */
    void *random_ctx;
    uint64_t max_message;              /* 0: WSPROXY_DEFAULT_MAX_MESSAGE */
    unsigned char *message_buffer;     /* optional: reassemble whole messages here */
    size_t message_buffer_len;         /* (then max_message is at most this) */
    /* Proxy authentication. proxy_auth: the schemes allowed (WSPROXY_AUTH_*); 0 means
       Basic alone, sent with the first CONNECT when there is a user (as before 0.3).
       Allowing more than Basic waits for the proxy's 407 and answers the strongest
       scheme offered and allowed (Negotiate > NTLM > Digest > Basic), as curl's
       --proxy-anyauth. The user and password are the proxy URL's (percent-decoded), or
       proxy_user / proxy_password (as they are, not encoded) when set. */
    int proxy_auth;
    const char *proxy_user, *proxy_password;
    /* NTLM and Negotiate tokens come from the caller (GSSAPI, SSPI): proxy_token is
       called with the scheme (WSPROXY_AUTH_NTLM or _NEGOTIATE) and the proxy's challenge
       token in base64 (len 0: start a new exchange), and gives back the next token in
       base64 (*token, *token_len), which must stay valid until the next call or the end
       of the tunnel stage. Returns 0, or non-zero to give up (WSPROXY_E_PROXY_AUTH_TOKEN). */
    int (*proxy_token)(void *ctx, int scheme, const char *challenge, size_t challenge_len,
                       const char **token, size_t *token_len);
    void *proxy_token_ctx;
    /* socks4:// and socks5:// send an address, not a name: when the server's host is
       a name, resolve it and give the address here (wsproxy_needs_target_address). */
    const unsigned char *target_address;  /* 4 or 16 bytes, network order */
    int target_address_type;           /* WSPROXY_HOST_IPV4 or WSPROXY_HOST_IPV6 */
    /* Buffers (optional; lent for the connection's life). NULL: the built-in ones of
       WSPROXY_RECV/SEND_BUFFER_BYTES. The receive buffer holds the socket's bytes when
       no TLS stage is below, else it gathers a reply head; the longest reply head is
       the smaller of it and WSPROXY_MAX_HEAD_BYTES. The send buffer holds the socket's
       bytes when no TLS stage is below (then the longest whole frame is its size);
       below a BearSSL stage on the socket it queues the records the caller has not
       taken yet (a burst leaves in one send(); a record and 85 bytes must fit, TLS in
       TLS about 33 KiB: the server's record and the proxy's around it), else it holds
       frames that do not fit in a TLS record; it may be absent there
       (send_buffer NULL with WSPROXY_SEND_BUFFER_BYTES 0). Minimums:
       WSPROXY_MIN_RECV_BUFFER and WSPROXY_MIN_SEND_BUFFER. */
    unsigned char *recv_buffer;
    size_t recv_buffer_len;
    unsigned char *send_buffer;
    size_t send_buffer_len;
#ifndef WSPROXY_NO_TLS
    /* TLS, per hop. Trust anchors must stay valid for the life of the connection. */
#ifndef WSPROXY_TLS_OPENSSL   /* (either backend: tls.trust and proxy_tls.trust) */
    const br_x509_trust_anchor *trust_anchors;        /* for the wss:// server */
    size_t trust_anchors_count;
    const br_x509_trust_anchor *proxy_trust_anchors;  /* for the https:// proxy */
    size_t proxy_trust_anchors_count;
#endif
    int insecure;                      /* 1: do not verify the server's certificate */
    int proxy_insecure;                /* 1: do not verify the proxy's certificate */
    uint32_t tls_days, tls_seconds;    /* validation time (days since 1 Jan 0 AD, UTC);
                                          0: tls_time, else the system clock */
    /* The time for each hop's certificate check, asked when its handshake starts (the
       one clock the library would read: without this or tls_days, BearSSL reads time()).
       Returns 0 with *days (since 1 Jan 0 AD) and *seconds of that day. */
    int (*tls_time)(void *ctx, uint32_t *days, uint32_t *seconds);
    void *tls_time_ctx;
    wsproxy_tls_options tls;           /* the server hop's settings (mTLS, SNI, ALPN, ...) */
    wsproxy_tls_options proxy_tls;     /* the proxy hop's */
    void *tls_arena;                   /* wsproxy_tls_arena_size() bytes, for the
                                          connection's life */
    size_t tls_arena_len;
#endif
    wsproxy_deflate_options deflate;   /* permessage-deflate (WSPROXY_DEFLATE builds) */
    /* Optional trace of the HTTP heads (a -v): each line of the CONNECT and upgrade
       requests as they go out and of their replies as they are read, without its line
       end; an empty line ends a head. Credentials never appear: the values of
       Authorization, Proxy-Authorization, Cookie and Set-Cookie are "***". Reply lines
       are the peer's bytes as received: escape them before printing. */
    void (*trace)(void *ctx, int what, const char *line, size_t len);   /* WSPROXY_TRACE_* */
    void *trace_ctx;
} wsproxy_config;
enum { WSPROXY_TRACE_PROXY_REQUEST = 1, WSPROXY_TRACE_PROXY_REPLY, WSPROXY_TRACE_REQUEST, WSPROXY_TRACE_REPLY };

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
    WSPROXY_EV_TLS,        /* a TLS handshake completed: ev.status is the hop
                              (WSPROXY_HOP_PROXY or _TARGET), ev.protocol the ALPN */
    WSPROXY_EV_RECONNECT   /* proxy authentication goes on, but on a new connection (the
                              proxy closed, or said it would): close the socket, connect a
                              new one to wsproxy_connect_host:port, call wsproxy_reconnected */
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
    WSPROXY_WAIT_PONG,         /* open, for the pong to the last ping the caller sent */
    WSPROXY_WAIT_RECONNECT     /* for the caller's new connection to the proxy */
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
    int auth_scheme;           /* WSPROXY_AUTH_* of the last credentials sent, 0 none */
    int auth_rounds;           /* CONNECT requests written in the authentication */
    int auth_offered;          /* WSPROXY_AUTH_* bits of the schemes the last 407 offered */
    char extension[WSPROXY_MAX_DETAIL_BYTES];   /* HANDSHAKE_EXTENSION: the extension or
                                          parameter of the 101 at fault, and why */
    int url_which;             /* a URL error at init: WSPROXY_URL_TARGET or _PROXY, 0 none */
    size_t url_error_at;       /* and the byte offset of the fault in that URL */
} wsproxy_error_info;
enum { WSPROXY_URL_TARGET = 1, WSPROXY_URL_PROXY = 2 };

typedef struct wsproxy_client wsproxy_client;

/* Validates cfg (every request is written once, unsent, so a caller mistake shows
   here) and builds the chain of stages for this cell. The first request leaves through
   wsproxy_send_buf. On a caller mistake returns the code, leaves the client FAILED
   with that sticky error, and produces no byte.
   wsproxy_init is a macro: it passes the size and configuration tag this translation
   unit sees, and a unit whose limits or features (WSPROXY_NO_TLS, buffer sizes, ...)
   differ from the implementation's gets WSPROXY_E_ABI, with c left untouched. */
#define WSPROXY_ABI_TAG ((uint32_t)(sizeof(wsproxy_config) * 1009u + sizeof(wsproxy_event) * 31u + \
                                    sizeof(wsproxy_error_info) * 7u + WSPROXY_ABI_FEATURES_))
#define wsproxy_init(c, cfg) wsproxy_init_abi_((c), (cfg), sizeof(wsproxy_client), WSPROXY_ABI_TAG)
WSPROXY_DEF int wsproxy_init_abi_(wsproxy_client *c, const wsproxy_config *cfg, size_t client_size,
                                  uint32_t abi_tag);

/* Where to open the TCP connection: the proxy when one is set, else the server.
   NUL-terminated host without brackets. */
WSPROXY_DEF const char *wsproxy_connect_host(const wsproxy_client *c);
/* 1 when this url/proxy pair needs cfg.target_address: a socks4:// or socks5:// proxy
   (which carry addresses) and a server host that is a name. socks4a:// and socks5h://
   let the proxy resolve the name. The library itself never resolves. */
WSPROXY_DEF int wsproxy_needs_target_address(const char *url, const char *proxy);
WSPROXY_DEF unsigned wsproxy_connect_port(const wsproxy_client *c);
/* After WSPROXY_EV_RECONNECT: the caller's new connection to the same proxy is there
   (or connecting); the exchange goes on with the next request. WSPROXY_E_STATE when no
   reconnect was asked for. */
WSPROXY_DEF int wsproxy_reconnected(wsproxy_client *c);

/* Bytes to send: pointer and *len, or NULL (and *len = 0) when there are none. */
WSPROXY_DEF const unsigned char *wsproxy_send_buf(wsproxy_client *c, size_t *len);
WSPROXY_DEF void wsproxy_send_ack(wsproxy_client *c, size_t n);

/* Room for received bytes: pointer and *len, or NULL when the client cannot take more
   now (call wsproxy_poll to drain it). After a final event the client takes no input.
   A TLS stage reads nothing while its ClientHello waits in wsproxy_send_buf: flush it. */
WSPROXY_DEF unsigned char *wsproxy_recv_buf(wsproxy_client *c, size_t *len);
WSPROXY_DEF void wsproxy_recv_ack(wsproxy_client *c, size_t n);
/* For bytes already in memory (a caller's own transport, a test): copies what fits, with
   no read-ahead copy (WSPROXY_TLS_READ_AHEAD saves recv calls, and there are none);
   returns the count taken (less than len means: poll, then retry). */
WSPROXY_DEF size_t wsproxy_feed(wsproxy_client *c, const void *data, size_t len);

/* The socket ended: os_error 0 for an orderly EOF, else the OS error (errno, or the
   WSAGetLastError value on Windows: ECONNREFUSED from connect, ECONNRESET from recv).
   Bytes already received are still processed by wsproxy_poll; once they are used up,
   the sticky error names the cause (unless the close handshake completed): before
   anything was received, refused (PROXY_REFUSED / CONNECT_REFUSED), unreachable
   (PROXY_UNREACHABLE / CONNECT_UNREACHABLE) or timed out (PROXY_TIMEOUT /
   HANDSHAKE_TIMEOUT); a reset at any time before OPEN is PROXY_RESET (the TCP peer is
   the proxy) or CONNECT_RESET; else PROXY_CLOSED, HANDSHAKE_CLOSED or CONNECTION_LOST.
   The OS error stays in wsproxy_error_info.os_error and wsproxy_describe names it. */
WSPROXY_DEF void wsproxy_socket_closed(wsproxy_client *c, int os_error);
/* The caller's resolver could not turn wsproxy_connect_host into an address: the client
   fails with WSPROXY_E_PROXY_NAME (a proxy is set) or WSPROXY_E_CONNECT_NAME. detail is
   the resolver's own code (getaddrinfo's EAI_*), kept in wsproxy_error_info.os_error. */
WSPROXY_DEF void wsproxy_name_failed(wsproxy_client *c, int detail);

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
#ifndef WSPROXY_NO_TLS
/* After a hop's handshake (its EV_TLS; hop WSPROXY_HOP_PROXY or WSPROXY_HOP_TARGET): its
   session parameters in *out, to resume the next connection to the same peer with
   wsproxy_tls_options.resume (they hold the master secret: keep them as a password), and
   *resumed (may be NULL) 1 when this handshake resumed a session. WSPROXY_E_STATE before. */
#ifndef WSPROXY_TLS_OPENSSL
WSPROXY_DEF int wsproxy_tls_session_get(const wsproxy_client *c, int hop, br_ssl_session_parameters *out,
                                        int *resumed);
#endif
/* Either backend: a hop's session as bytes (they hold its secret: keep them as a
   password), for wsproxy_tls_options.session on the next connection to the same peer;
   *resumed (may be NULL) 1 when this connection's handshake resumed one. *len gets the
   size; WSPROXY_E_BUFFER when it exceeds cap (out may be NULL to ask), WSPROXY_E_STATE
   when the hop has no resumable session yet: before its handshake and, with TLS 1.3,
   until the peer's ticket came (after the handshake: save after EV_OPEN). */
WSPROXY_DEF int wsproxy_tls_session_save(const wsproxy_client *c, int hop, unsigned char *out, size_t cap,
                                         size_t *len, int *resumed);
/* What a hop's handshake settled (either backend), for logs and policy checks. */
typedef struct {
    int version;                       /* on the wire: 0x0303 TLS 1.2, 0x0304 TLS 1.3 */
    unsigned suite;                    /* the cipher suite's IANA number */
    const char *suite_name;            /* its IANA name ("TLS_AES_128_GCM_SHA256"), NULL if unknown */
    int resumed;                       /* 1 when the handshake resumed a session */
} wsproxy_tls_info;
/* After a hop's handshake (its EV_TLS): *out filled, WSPROXY_OK; WSPROXY_E_STATE before. */
WSPROXY_DEF int wsproxy_tls_info_get(const wsproxy_client *c, int hop, wsproxy_tls_info *out);
/* Ends what the connection's TLS hops hold: frees what OpenSSL allocated (required with
   WSPROXY_TLS_OPENSSL) and, with either backend, wipes the hops (keys, buffered
   plaintext) in the arena. Call it when done with the connection (after
   wsproxy_tls_session_save, before the arena goes), also after a failed wsproxy_init;
   twice is harmless. The client then takes no call but wsproxy_init. */
WSPROXY_DEF void wsproxy_tls_free(wsproxy_client *c);
#endif
/* After OPEN: 1 with *out filled when permessage-deflate was negotiated, else 0. */
WSPROXY_DEF int wsproxy_deflate_get(const wsproxy_client *c, wsproxy_deflate_params *out);
/* The implementation's version (WSPROXY_VERSION of the translation unit that defined
   WSPROXY_IMPLEMENTATION), for a program that wants the library it runs with. */
WSPROXY_DEF const char *wsproxy_version(void);

/* The layer a code belongs to: "none", "caller", "proxy", "socks", "handshake",
   "websocket", "tls" (its hundreds). */
WSPROXY_DEF const char *wsproxy_error_layer(int code);

/* Counters of the work the library did, kept only when WSPROXY_STATS is defined (in
   every translation unit alike); otherwise all zero. Bytes are payload and protocol
   bytes the library copied (not counting the caller's own recv and send). */
typedef struct wsproxy_stats {
    uint64_t copied_in;           /* between stages on the way in (TLS in TLS, ...) */
    uint64_t copied_in_message;   /* into the caller's message_buffer */
    uint64_t copied_out;          /* between stages on the way out */
    uint64_t read_ahead;          /* record bytes a recv brought into the receive memory
                                     ahead of the socket's TLS engine, then copied there */
    uint64_t records_queued;      /* record bytes moved from the socket's TLS engine into
                                     the send buffer, to leave with the next ones (TLS in
                                     TLS: the proxy's records) */
    uint64_t head_bytes_examined; /* reply-head bytes the head scanner looked at */
    uint64_t deflate_arena_used;  /* bytes of deflate.arena zlib took (kept in any build) */
} wsproxy_stats;
WSPROXY_DEF void wsproxy_stats_get(const wsproxy_client *c, wsproxy_stats *out);

/* ---- the frames stage alone: RFC 6455 frames on bytes the caller already holds ----
   The client's own codec and message layer, for a caller with its own transport (its
   own TLS, a test): no copy in, no handshake. */
typedef struct wsproxy_frames wsproxy_frames;
/* max_message 0: WSPROXY_DEFAULT_MAX_MESSAGE. message_buffer (optional): whole messages
   are gathered there, one MESSAGE event each; it must outlive f. */
WSPROXY_DEF void wsproxy_frames_init(wsproxy_frames *f, uint64_t max_message,
                                     unsigned char *message_buffer, size_t message_buffer_len);
/* Reads server frames (unmasked) from data[0..len) in place. Returns 1 with *ev filled
   (MESSAGE, PING, PONG, CLOSE, or ERROR: ev->close_code is what to answer with, 1002,
   1007 or 1009, and wsproxy_frames_error the code), or 0 when every byte given was used
   without an event. *used is the count of bytes consumed in both cases: give the rest
   again, then new bytes. ev->data points into data, into the message buffer, or into
   f (a header or control frame that began at the end of an earlier input is kept in f,
   at most 139 bytes). After CLOSE or ERROR it reads nothing more. Ping and close
   replies are the caller's (wsproxy_frame_build). */
WSPROXY_DEF int wsproxy_frames_read(wsproxy_frames *f, const unsigned char *data, size_t len,
                                    size_t *used, wsproxy_event *ev);
/* wsproxy_frames_read for a run of events in one call: fills evs[0..max) in order and
   returns their count, with *used the bytes consumed. It stops after max events, when a
   read has no event (every byte was used; after CLOSE or ERROR, always), and after an
   event whose data is not in data[0..len) but in f or the message buffer, which the
   next read may overwrite: every event's data stays valid until the next call. 0 means,
   as for wsproxy_frames_read, that every byte given was used without an event: call
   again with the rest until then. Made for streams of small frames: the place in the
   input stays in a register from frame to frame (bench/RESULTS.md, row 2). max 0
   reads nothing and touches no event (evs may then be NULL). */
WSPROXY_DEF size_t wsproxy_frames_read_many(wsproxy_frames *f, const unsigned char *data, size_t len,
                                            size_t *used, wsproxy_event *evs, size_t max);
WSPROXY_DEF int wsproxy_frames_error(const wsproxy_frames *f);   /* sticky code or 0 */
/* Writes one whole frame, header and payload masked with key (NULL: unmasked), into
   out: one pass over the payload. Returns its length, or 0 when cap is too small. */
WSPROXY_DEF size_t wsproxy_frame_build(unsigned char *out, size_t cap, int fin, int opcode,
                                       const unsigned char key[4], const void *payload,
                                       size_t len);

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
typedef struct wsproxy_socks_rx {   /* the SOCKS reply reader (private) */
    int version_, phase_, offer_auth_, code_, next_;
    unsigned char head_[5];        /* the bytes a verdict needs */
    size_t n_, need_;
} wsproxy_socks_rx;

struct wsproxy_socks {
    wsproxy_socks_rx rx_;
    int error_;
    int out_which_;                /* 0 none, 1 greeting, 2 auth, 3 connect */
    size_t out_off_;
    unsigned char greet_[4];
    size_t greet_len_;
    unsigned char auth_[3 + 255 + 255];    /* RFC 1929 request; wiped once taken */
    size_t auth_len_;
    unsigned char connect_[WSPROXY_SOCKS_MAX_REQUEST];
    size_t connect_len_;
    unsigned char rx_bytes_[4 + 1 + 255 + 2];   /* the reply being read */
    size_t rx_len_;
};

struct wsproxy_pac_list {
    size_t count;                          /* entries kept, in order */
    size_t skipped;                        /* entries dropped */
    int scheme_[WSPROXY_PAC_MAX_ENTRIES];
    size_t off_[WSPROXY_PAC_MAX_ENTRIES];  /* each URL's offset in buf_ */
    char buf_[WSPROXY_PAC_BUFFER_BYTES];
};

struct wsproxy_frames {
    uint64_t max_message_;
    unsigned char *msg_buf_;
    size_t msg_cap_, msg_fill_;
    int in_payload_, fin_;
    uint64_t remaining_;           /* payload bytes of the current frame still to come */
    int msg_opcode_;               /* 0 when no data message is open */
    int msg_delivered_;            /* a chunk of the open message was given out */
    uint64_t msg_len_, msg_frames_;
    uint32_t utf8_;
    int error_, closed_;
    int bulk_;                     /* inside a data frame's payload, gathered in the message
                                      buffer, no fault, not compressed: the copy path may run */
    uint64_t copied_;              /* bytes copied into the message buffer */
    size_t stage_len_;
    unsigned char stage_[WSPROXY_FRAME_HEADER_MAX + 125];   /* a header or control frame
                                      that began at the end of an input */
    int plain_;                    /* between messages, nothing staged, no fault, no message
                                      buffer: the short-frame path may run */
#ifdef WSPROXY_DEFLATE
    void *zin_;                    /* zlib's inflate stream (in the deflate arena), NULL:
                                      permessage-deflate not negotiated, RSV1 is a fault */
    unsigned char *zchunk_;        /* inflated bytes go out from here without message_buffer */
    size_t zchunk_cap_;
    int compressed_;               /* the open message came with RSV1 */
    int zin_reset_;                /* server_no_context_takeover: each message a fresh window */
    int z_tail_;                   /* bytes of the 00 00 ff ff tail fed after the message */
    int z_ended_;                  /* the DEFLATE stream ended (a block with BFINAL) */
    uint64_t inflated_;            /* bytes the open message inflated to so far */
#endif
};

/* the reply-head scanner of the tunnel and upgrade stages (private) */
typedef struct wsp_head_ {
    size_t pos, line, line_start, line_end, examined;
    int lines;
} wsp_head_;

/* ---- the client struct: full definition so sizeof works; fields are private ---- */
struct wsproxy_client {
    int state_;
    int error_;
    int final_reported_;
    wsproxy_error_info info_;
    /* what the requests are written from, when they are due (see LIFETIMES) */
    wsproxy_random_fn random_;
    void *random_ctx_;
    const char *url_, *proxy_, *origin_;
    const char *const *headers_;
    const char *const *proxy_headers_;
    const char *const *protocols_;
    void (*trace_)(void *ctx, int what, const char *line, size_t len);
    void *trace_ctx_;
    const unsigned char *target_address_;
    int target_address_type_;
    char connect_host_[256];
    unsigned connect_port_;
    int via_proxy_;                /* for naming errors only: TLS_TUNNEL or TLS_TARGET */
    /* the chain, bottom (the socket) first: WSP_S_* stage ids */
    unsigned char chain_[6];
    int nchain_;
    int live_;                     /* index of the first protocol stage */
    /* stage: plain transport (the socket's bytes when no TLS is below) */
    unsigned char *rbuf_, *sbuf_;
    size_t rcap_, rs_, re_, scap_, ss_, se_;
    size_t swipe_;                 /* sbuf_ bytes up to here held a secret: wiped when sent */
    size_t qs_, qe_;               /* sbuf_ below a BearSSL stage on the socket: records it
                                      sealed, queued (wsp_queue_records_); never while
                                      frames are staged there (ss_ != se_) */
    int recv_lent_;                /* wsproxy_recv_buf gave room not yet acknowledged */
    size_t held_;                  /* bytes of the stage below FRAMES lent to the last event */
    /* read-ahead of a BearSSL stage on the socket (wsp_ra_*): the receive memory (hbuf_),
       idle once the reply heads are read, holds what one recv brought past a record */
    size_t ra_cap_, ra_s_, ra_e_;
    int ra_long_;                  /* the last record read was long: read the next directly */
    /* head buffer: a reply head read from a TLS stage is gathered here */
    unsigned char *hbuf_;
    size_t hcap_, hfill_;
    /* stages tunnel and upgrade: the request being written, the reply being read */
    int req_;                      /* WSP_REQ_*: which request is due, 0 none */
    size_t req_off_;               /* bytes of it written so far */
    wsp_head_ head_;
    int interim_;                  /* 1xx replies skipped */
    int status_;                   /* the reply's status */
    int reply_flags_;              /* WSP_RF_*: what the header lines said */
    int reply_error_;              /* first fault found in a header line */
    wsproxy_socks_rx socks_;       /* SOCKS reply reader */
    const char *head_base_;        /* the last reply head whole, until the next poll */
    int reply_minor_, reply_close_, reply_keepalive_, reply_chunked_, reply_has_clen_;
    uint64_t reply_clen_;
    size_t chal_off_[WSPROXY_MAX_CHALLENGES], chal_len_[WSPROXY_MAX_CHALLENGES];
    int nchal_;                    /* Proxy-Authenticate values of the 407 being read */
    /* proxy authentication, in the tunnel stage */
    int auth_allowed_;             /* WSPROXY_AUTH_* the caller allows */
    int auth_next_;                /* the scheme the next CONNECT answers with, 0 none */
    int auth_sent_;                /* the scheme the last CONNECT carried, 0 none */
    int auth_rounds_;              /* CONNECT requests queued */
    int auth_reconnect_;           /* waiting for wsproxy_reconnected */
    int auth_same_conn_;           /* the last CONNECT went on the connection of a 407 */
    int auth_after_body_;          /* the next CONNECT waits for the 407's body to end */
    const char *proxy_user_, *proxy_password_;
    int (*token_fn_)(void *ctx, int scheme, const char *challenge, size_t challenge_len,
                     const char **token, size_t *token_len);
    void *token_ctx_;
    const char *token_;            /* NTLM / Negotiate: the caller's token, base64 */
    size_t token_len_;
    int body_mode_, chunk_st_;     /* skipping a 407's body: WSP_BODY_*, chunk parser */
    uint64_t body_left_, body_seen_;
    char dig_[WSPROXY_MAX_CHALLENGE_BYTES];   /* Digest: realm, nonce, opaque (NUL after each) */
    size_t dig_nonce_, dig_opaque_;
    int dig_alg_, dig_qop_, dig_userhash_, dig_charset_, dig_has_opaque_;
    uint32_t dig_nc_;
    char dig_cnonce_[33], dig_resp_[65], dig_user_[65];
    char key_[25];                 /* Sec-WebSocket-Key */
    char accept_[29];              /* the Sec-WebSocket-Accept it must come back with */
    char protocol_[WSPROXY_MAX_PROTOCOL_BYTES + 1];
    /* stage frames: codec and message layer, then the send side */
    wsproxy_frames rx_;
    uint64_t tx_remaining_;        /* payload bytes of a streamed frame still to come */
    unsigned char tx_mask_[4];
    size_t tx_mask_off_;
    int tx_in_frame_;
    int tx_msg_open_;              /* a fragmented message is being sent */
    int tx_text_;                  /* the message being sent is text */
    uint32_t tx_utf8_;             /* validation state across sent text fragments */
    int tx_dead_;                  /* failed: nothing more leaves but a close that is due */
#ifdef WSPROXY_DEFLATE
    /* permessage-deflate: the offer, the answer, the compressor and the arena */
    wsproxy_deflate_options pmd_opt_;
    wsproxy_deflate_params pmd_;   /* what the 101 settled */
    int pmd_seen_;                 /* the 101 accepted permessage-deflate */
    void *zout_;                   /* zlib's deflate stream; NULL: every message goes plain */
    unsigned char *zarena_;
    size_t zarena_len_, zarena_used_;
    int tx_z_;                     /* the message being sent is compressed */
    int tx_zstream_;               /* a streamed frame compressed: tx_remaining_ counts its
                                      input, each wsproxy_send_data writes one wire frame */
    int tx_zfirst_, tx_zfin_, tx_zopcode_;
#endif
    unsigned char rand_pool_[WSPROXY_MASK_RANDOM_BYTES];   /* random bytes drawn in batches
                                      for the masks: one call of cfg.random per 64 frames */
    size_t rand_used_;
    /* control frames waiting for the end of a streamed frame or for room */
    int pong_pending_;
    int ping_unanswered_;          /* a ping went out and no pong came back since */
    unsigned char pong_[125];
    size_t pong_len_;
    int close_pending_;
    unsigned char close_[125];
    size_t close_len_;
    int close_sent_;
    /* the socket */
    int eof_, eof_error_, received_any_;
    int recv_into_;                /* WSP_RECV_*: where the last wsproxy_recv_buf's room is */
    wsproxy_stats stats_;
#ifndef WSPROXY_NO_TLS
    /* stages TLS: the hops in the arena, and what each is started with */
    wsproxy_tls_hop *tls_[2];      /* [0] the proxy hop, [1] the server hop */
#ifndef WSPROXY_TLS_OPENSSL
    const br_x509_trust_anchor *tas_[2];
#endif
    size_t tas_n_[2];
    int insecure_[2];
    wsproxy_tls_options tlsopt_[2];
    uint32_t tls_days_, tls_seconds_;
    int (*tls_time_)(void *ctx, uint32_t *days, uint32_t *seconds);
    void *tls_time_ctx_;
    int tls_events_;               /* handshakes done but not yet reported (bit per hop) */
    int tls_dirty_;                /* a BearSSL engine took an ack or was reset, a record was
                                      sealed outside the pump, or the client failed, since
                                      the last wsp_tls_check_: its state may have changed,
                                      and in TLS on TLS bytes may move (wsp_pump_) */
    char alpn_[16];
#ifndef WSPROXY_TLS_OPENSSL
    /* The BearSSL engine below FRAMES, between calls that only write whole frames or read
       short ones (wsp_frame_room_, wsp_poll_tls_): its application windows as last asked
       for, and what was used in them that the engine has not been told of. It is told
       (wsp_tls_settle_) before any other use of an engine, so that each sees the same
       acks, merged, as if each had been made at once. */
    br_ssl_engine_context *wce_;   /* the engine, NULL: nothing kept; windows are kept only
                                      while open, when the stage below FRAMES is fixed */
    unsigned char *txw_;           /* sendapp: the next free byte (NULL: not kept) */
    size_t txw_room_, txw_owed_;   /* bytes free after it; bytes written before it, unacked */
    const unsigned char *rxw_;     /* recvapp: the next byte not given back (NULL: not kept);
                                      the last event's held_ bytes start here */
    size_t rxw_len_, rxw_owed_;    /* bytes from it to the window's end; read, unacked */
#endif
#endif
    /* the built-in buffers last: wsproxy_init clears only what comes before them, so
       their pages become resident as they are used, not at init */
#if WSPROXY_RECV_BUFFER_BYTES > 0
    unsigned char in_[WSPROXY_RECV_BUFFER_BYTES];
#endif
#if WSPROXY_SEND_BUFFER_BYTES > 0
    unsigned char out_[WSPROXY_SEND_BUFFER_BYTES];
#endif
};

#endif /* WSPROXY_H */

/* ============================================================================= */
#ifdef WSPROXY_IMPLEMENTATION
#ifndef WSPROXY_IMPLEMENTATION_DONE
#define WSPROXY_IMPLEMENTATION_DONE

#include <string.h>
#include <errno.h>   /* the OS errors wsproxy_socket_closed names */
#ifdef WSPROXY_DEFLATE
#include <zlib.h>
#endif
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(WSPROXY_NO_SIMD)
#include <emmintrin.h>   /* ASCII runs of text checked 64 bytes at a time */
#define WSP_SSE2_ 1
/* With gcc or clang on x86, long masks (wsp_mask_avx2_) and text's ASCII copy
   (wsp_ascii_copy_avx2_) also come in 32-byte registers, chosen at run time by the
   CPU's features, as glibc's memcpy is. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(WSPROXY_NO_AVX2)
#include <immintrin.h>
#define WSP_AVX2_ 1
#ifdef __AVX2__
#define WSP_AVX2_ALWAYS_ 1   /* built for CPUs that have it: no check at run time */
#endif
/* and long masks in 64-byte registers (wsp_mask_avx512_) on CPUs with AVX-512 BW and
   VBMI: Ice Lake and later, Zen 4 and later, where 512-bit loads, XORs, permutes and
   stores run at the clock of scalar code. Skylake-X, Cascade Lake and Cooper Lake, where
   512-bit work lowers the clock (and slows the code around), lack VBMI and keep AVX2.
   Older compilers (gcc 7, clang 7, Apple clang 10 and before) keep AVX2. */
#if !defined(WSPROXY_NO_AVX512) &&                                                          \
    ((defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8) ||                          \
     (defined(__clang__) && !defined(__apple_build_version__) && __clang_major__ >= 8) ||    \
     (defined(__clang__) && defined(__apple_build_version__) && __clang_major__ >= 11))
#define WSP_AVX512_ 1
#define WSP_HAS_AVX512_() (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi"))
#endif
#endif
#endif

/* always inlined: the short paths (frames read and written, masks of a few words) */
#if defined(__GNUC__) || defined(__clang__)
#define WSP_INLINE_ __inline__ __attribute__((always_inline))
#else
#define WSP_INLINE_
#endif

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
typedef char wsproxy_check_recv_buffer_[(WSPROXY_RECV_BUFFER_BYTES == 0 ||
                                         WSPROXY_RECV_BUFFER_BYTES >= WSPROXY_MIN_RECV_BUFFER) ? 1 : -1];
typedef char wsproxy_check_send_buffer_[(WSPROXY_SEND_BUFFER_BYTES == 0 ||
                                         WSPROXY_SEND_BUFFER_BYTES >= WSPROXY_MIN_SEND_BUFFER) ? 1 : -1];
typedef char wsproxy_check_min_buffers_[(WSPROXY_MIN_RECV_BUFFER >= 140 &&
                                         WSPROXY_MIN_SEND_BUFFER >= 140) ? 1 : -1];
typedef char wsproxy_check_line_[(WSPROXY_MAX_LINE_BYTES <= WSPROXY_MAX_HEAD_BYTES) ? 1 : -1];
#ifndef WSPROXY_NO_TLS
/* BearSSL needs room for a 512-byte record plus its 85 bytes of header and MAC */
typedef char wsproxy_check_tls_output_[(WSPROXY_TLS_OUTPUT_BUFFER_BYTES >= 597 &&
                                        WSPROXY_TLS_OUTPUT_BUFFER_BYTES <= 16469) ? 1 : -1];
#endif

/* ==== the implementation: table of contents ==========================================
    1. helpers: characters, the wipe the compiler keeps, statistics
    2. pure functions: SHA-1, base64, UTF-8, frame headers, masking, addresses, URLs
    3. pure functions: the HTTP/1.x reply head (one incremental scanner)
    4. errors: one table
    5. proxy selection: NO_PROXY, environment, SOCKS codec, PAC results
    6. TLS helpers: iPAddress names, PEM trust anchors, the X.509 wrapper
    7. the frames stage alone (wsproxy_frames): codec and message layer
    8. the chain: stage ids, the four ports of a byte stage, the pump
    9. stage PLAIN (the socket's bytes) and stage TLS (a BearSSL engine)
   10. the requests, written when due
   11. stages TUNNEL (HTTP CONNECT, SOCKS) and UPGRADE: the replies
   12. stage FRAMES on the client: where frames go, control replies
   13. the client API: init, the byte interface, poll, sending, timers, errors
   14. the operating system's random source
   ==================================================================================== */

/* ==== 1. helpers ======================================================================= */
/* Secrets are wiped through a volatile pointer: stores the optimiser may not remove. */
static void wsp_wipe_(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

#ifdef WSPROXY_STATS
#define WSP_STAT_(x) (void)(x)
#else
#define WSP_STAT_(x) ((void)0)
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

static size_t wsp_strnlen_(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n]) n++;
    return n;
}

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

/* The DFA over s[i..end) from st; st & 63 of the result is the state after the last
   byte. Four bytes a turn: the loop's own count and branch cost about what a byte's
   step does, and a loop of one byte ran 1.3 or 1.6 GB/s depending on where it landed
   in the binary (its code unchanged). */
#define WSP_UTF8_STEP_(st, b) ((st) = wsp_utf8_rows_[(unsigned char)wsp_utf8_class_[(b)]] >> ((st) & 63))
static WSP_INLINE_ uint64_t wsp_utf8_run_(uint64_t st, const unsigned char *s, size_t i, size_t end)
{
    for (; i + 4 <= end; i += 4) {
        WSP_UTF8_STEP_(st, s[i]);
        WSP_UTF8_STEP_(st, s[i + 1]);
        WSP_UTF8_STEP_(st, s[i + 2]);
        WSP_UTF8_STEP_(st, s[i + 3]);
    }
    for (; i < end; i++) WSP_UTF8_STEP_(st, s[i]);
    return st;
}

/* After wsp_utf8_run_ rejected s[i..end) from st: where the first bad byte is */
static size_t wsp_utf8_first_bad_(uint64_t st, const unsigned char *s, size_t i, size_t end)
{
    for (; i < end; i++)
        if ((WSP_UTF8_STEP_(st, s[i]) & 63) == WSP_UTF8_REJ_STATE_) break;
    return i;
}

/* Whether n (< 32) bytes are all ASCII: words, the last one overlapping. */
static int wsp_ascii_(const unsigned char *s, size_t n)
{
    uint64_t acc = 0, w;
    size_t i;
    if (n < 8) {
        for (i = 0; i < n; i++) acc |= s[i];
        return !(acc & 0x80);
    }
    for (i = 0; i + 8 <= n; i += 8) { memcpy(&w, s + i, 8); acc |= w; }
    memcpy(&w, s + n - 8, 8);
    acc |= w;
    return !(acc & 0x8080808080808080ull);
}

WSPROXY_IMPL size_t wsproxy_utf8_validate(uint32_t *state, const unsigned char *s, size_t len)
{
    uint64_t st;
    size_t i = 0;
    int nonascii = 0;   /* the last block went through the table: text that is not ASCII
                           runs on, so the next block skips the ASCII tries once */
    if (*state == WSP_UTF8_REJECT_) return 0;
    st = *state & 63;
    while (i < len) {
        size_t end;
        uint64_t before;
        if (st == 0 && !nonascii) {
#ifdef WSP_SSE2_
            while (i + 64 <= len) {
                __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
                __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
                __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 32));
                __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 48));
                if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) break;
                i += 64;
            }
#endif
            while (i + 32 <= len) {
                uint64_t a, b, c, d;
                memcpy(&a, s + i, 8); memcpy(&b, s + i + 8, 8);
                memcpy(&c, s + i + 16, 8); memcpy(&d, s + i + 24, 8);
                if ((a | b | c | d) & 0x8080808080808080ull) break;
                i += 32;
            }
            if (len - i < 32 && wsp_ascii_(s + i, len - i)) break;   /* an ASCII tail */
            if (i == len) break;
        }
        nonascii = !nonascii && st == 0;   /* skip the tries once after a table block */
        end = len - i < 32 ? len : i + 32;
        before = st;
        st = wsp_utf8_run_(st, s, i, end) & 63;
        if (st == WSP_UTF8_REJ_STATE_) {
            *state = WSP_UTF8_REJECT_;
            return wsp_utf8_first_bad_(before, s, i, end);
        }
        i = end;
    }
    *state = (uint32_t)st;
    return len;
}

WSPROXY_IMPL int wsproxy_utf8_done(uint32_t state) { return state == 0; }

/* ---- frames --------------------------------------------------------------------- */
/* rsv_ok: the RSV bits an extension gave a meaning (RSV1 = 4 for permessage-deflate);
   they are still a fault on control frames. */
static int wsp_frame_decode_(const unsigned char *buf, size_t len, wsproxy_frame_header *h, int rsv_ok)
{
    unsigned n;
    size_t hl;
    memset(h, 0, sizeof *h);
    if (len < 2) {
        if (len == 1) {   /* what one byte can tell, it tells at once */
            h->fin = buf[0] >> 7; h->rsv = (buf[0] >> 4) & 7; h->opcode = buf[0] & 15;
            if ((h->rsv & ~rsv_ok) || (h->rsv && h->opcode >= 8)) return -WSPROXY_E_WS_RESERVED_BITS;
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
    if ((h->rsv & ~rsv_ok) || (h->rsv && h->opcode >= 8)) return -WSPROXY_E_WS_RESERVED_BITS;
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

WSPROXY_IMPL int wsproxy_frame_decode(const unsigned char *buf, size_t len, wsproxy_frame_header *h)
{
    return wsp_frame_decode_(buf, len, h, 0);
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

/* The key word kw (a 4-byte key twice) turned by turn bits (0, 8, 16 or 24), so that its
   first byte in memory is the key's byte turn / 8; which way depends on the byte order,
   a constant the compiler folds. Made in registers: a word loaded from key bytes just
   stored at another offset would stall. */
static WSP_INLINE_ uint64_t wsp_key_turn_(uint64_t kw, unsigned turn)
{
    static const uint16_t endian_probe = 1;
    /* a rotation (no branch: turn 0 gives kw | kw) */
    return *(const unsigned char *)&endian_probe ? (kw >> turn | kw << ((64 - turn) & 63))
                                                 : (kw << turn | kw >> ((64 - turn) & 63));
}

#ifdef WSP_AVX2_
/* wsp_mask_long_'s blocks in 32-byte registers, for CPUs that have them: as many bytes
   per cycle as memcpy moves on a CPU whose memcpy uses them (16-byte blocks masked 4 KiB
   at 0.36x its speed on such a CPU). dst comes 16-byte aligned from wsp_mask_long_; a
   16-byte block first makes it 32 (a 32-byte store across two cache lines costs two).
   Returns the bytes done, a multiple of 16. */
/* 128 bytes from s masked into d, all loaded before any is stored (d may be s) */
#define WSP_MASK128_AVX2_(s, d, kv)                                                          \
    do {                                                                                   \
        __m256i m0_ = _mm256_loadu_si256((const __m256i *)(const void *)(s));               \
        __m256i m1_ = _mm256_loadu_si256((const __m256i *)(const void *)((s) + 32));        \
        __m256i m2_ = _mm256_loadu_si256((const __m256i *)(const void *)((s) + 64));        \
        __m256i m3_ = _mm256_loadu_si256((const __m256i *)(const void *)((s) + 96));        \
        _mm256_storeu_si256((__m256i *)(void *)(d), _mm256_xor_si256(m0_, kv));             \
        _mm256_storeu_si256((__m256i *)(void *)((d) + 32), _mm256_xor_si256(m1_, kv));      \
        _mm256_storeu_si256((__m256i *)(void *)((d) + 64), _mm256_xor_si256(m2_, kv));      \
        _mm256_storeu_si256((__m256i *)(void *)((d) + 96), _mm256_xor_si256(m3_, kv));      \
    } while (0)
__attribute__((target("avx2"))) static size_t wsp_mask_avx2_(unsigned char *dst, const unsigned char *src,
                                                             size_t len, uint64_t kw)
{
    __m256i kv = _mm256_set1_epi64x((long long)kw);
    size_t i = 0;
    if (((uintptr_t)dst & 31u) == 16u && len >= 16) {   /* 16 keeps the key's turn */
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)src);
        _mm_storeu_si128((__m128i *)(void *)dst, _mm_xor_si128(a, _mm256_castsi256_si128(kv)));
        i = 16;
    }
    if (i + 128 <= len) {
        /* pointers, not an index: a store addressed base + offset only can use every
           store port (indexed ones cannot on some Intel cores) */
        const unsigned char *s = src + i;
        unsigned char *d = dst + i, *end = d + ((len - i) & ~(size_t)127);
        for (; d != end; s += 128, d += 128) {
            WSP_MASK128_AVX2_(s, d, kv);
            if ((s += 128, d += 128) == end) break;
            WSP_MASK128_AVX2_(s, d, kv);   /* two blocks a turn: half the loop's own work */
        }
        i = (size_t)(d - dst);
    }
    for (; i + 32 <= len; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_xor_si256(a, kv));
    }
    return i;
}
#endif

#ifdef WSP_AVX512_
/* wsp_mask_long_ in 64-byte registers, for len >= 128: the bytes before dst's first
   64-byte boundary and those after its last one each in one masked load and store (byte
   masks need AVX-512 BW), the rest in aligned 64-byte stores, four a turn. Every load is
   of src bytes not yet written (dst may be src). */
#define WSP_MASK256_AVX512_(d, a, b, c, e, kv)                                               \
    do {                                                                                   \
        _mm512_store_si512((void *)(d), _mm512_xor_si512(a, kv));                           \
        _mm512_store_si512((void *)((d) + 64), _mm512_xor_si512(b, kv));                    \
        _mm512_store_si512((void *)((d) + 128), _mm512_xor_si512(c, kv));                   \
        _mm512_store_si512((void *)((d) + 192), _mm512_xor_si512(e, kv));                   \
    } while (0)
__attribute__((target("avx512f,avx512bw"))) static void wsp_mask_avx512_(unsigned char *dst, const unsigned char *src,
                                                                         size_t len, uint64_t kw)
{
    size_t i = (size_t)(-(uintptr_t)dst & 63u), shift;
    __m512i kv = _mm512_set1_epi64((long long)kw);
    const unsigned char *s;
    unsigned char *d, *end;
    if (i) {
        __mmask64 m = ((__mmask64)1 << i) - 1;
        _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src), kv));
        kv = _mm512_set1_epi64((long long)wsp_key_turn_(kw, (unsigned)(i & 3) * 8));
    }
    s = src + i;
    d = dst + i;
    shift = (size_t)((uintptr_t)s & 63u);
    if (shift && !(shift & 3u) && len - i >= 320) {
        /* src a whole number of 4-byte words off dst's alignment (a frame's payload 8 bytes
           after an aligned header, say): aligned loads, each block put together from two
           neighbours by one permute. Unaligned loads there cost 0.85x the time; finer
           permutes (bytes, 16-bit words) cost more than they save. The first load leaves
           out the words before s, which may be before src; the last is of bytes the
           64-byte loop after would read anyway. */
        const unsigned char *as = s - shift;
        __m512i idx = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                       _mm512_set1_epi32((int)(shift / 4)));
        __m512i lo = _mm512_maskz_load_epi32((__mmask16)(0xFFFFu << (shift / 4)), (const void *)as);
        for (end = d + ((len - i - 64) & ~(size_t)255); d != end; as += 256, d += 256) {
            __m512i h1 = _mm512_load_si512((const void *)(as + 64));
            __m512i h2 = _mm512_load_si512((const void *)(as + 128));
            __m512i h3 = _mm512_load_si512((const void *)(as + 192));
            __m512i h4 = _mm512_load_si512((const void *)(as + 256));
            WSP_MASK256_AVX512_(d, _mm512_permutex2var_epi32(lo, idx, h1), _mm512_permutex2var_epi32(h1, idx, h2),
                                _mm512_permutex2var_epi32(h2, idx, h3), _mm512_permutex2var_epi32(h3, idx, h4), kv);
            lo = h4;
        }
        s = as + shift;
    }
    for (end = d + ((size_t)(dst + len - d) & ~(size_t)255); d != end; s += 256, d += 256)
        WSP_MASK256_AVX512_(d, _mm512_loadu_si512((const void *)s), _mm512_loadu_si512((const void *)(s + 64)),
                            _mm512_loadu_si512((const void *)(s + 128)), _mm512_loadu_si512((const void *)(s + 192)),
                            kv);
    for (end = d + ((size_t)(dst + len - d) & 192u); d != end; s += 64, d += 64)
        _mm512_store_si512((void *)d, _mm512_xor_si512(_mm512_loadu_si512((const void *)s), kv));
    i = (size_t)(dst + len - d);
    if (i) {   /* not with an empty mask: one that reaches a page not mapped can cost
                  hundreds of cycles even though it reads nothing */
        __mmask64 m = ((__mmask64)1 << i) - 1;
        _mm512_mask_storeu_epi8(d, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, s), kv));
    }
}
#endif

/* wsproxy_mask's long payloads (128 bytes on) and its shortest (below 8): out of line,
   so that the short paths save no registers. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static size_t wsp_mask_long_(unsigned char *dst, const unsigned char *src, size_t len,
                             const unsigned char key[4], size_t offset)
{
    uint32_t k32;
    uint64_t kw;
    unsigned char kb[4];
    size_t i = 0;
    memcpy(&k32, key, 4);
#ifdef WSP_AVX512_
    if (len >= 128 && WSP_HAS_AVX512_()) {
        wsp_mask_avx512_(dst, src, len, wsp_key_turn_((uint64_t)k32 * 0x100000001ull, (unsigned)(offset & 3) * 8));
        return (offset + len) & 3;
    }
#endif
    if (len >= 128 && (-(uintptr_t)dst & 15u)) {   /* 16-byte aligned stores from here: none
                                                       crosses a cache line */
        size_t lead = (size_t)(-(uintptr_t)dst & 15u);
        for (; i < (lead & 3); i++) dst[i] = (unsigned char)(src[i] ^ key[(offset + i) & 3]);
        offset = (offset + i) & 3;   /* the words after keep this turn */
        kw = wsp_key_turn_((uint64_t)k32 * 0x100000001ull, (unsigned)offset * 8);
        if (lead & 4) {
            uint32_t w;
            memcpy(&w, src + i, 4);
            w ^= (uint32_t)kw;
            memcpy(dst + i, &w, 4);
            i += 4;
        }
        if (lead & 8) {
            uint64_t w;
            memcpy(&w, src + i, 8);
            w ^= kw;
            memcpy(dst + i, &w, 8);
        }
        dst += lead;
        src += lead;
        len -= lead;
        i = 0;
    }
    kw = wsp_key_turn_((uint64_t)k32 * 0x100000001ull, (unsigned)(offset & 3) * 8);
    k32 = (uint32_t)kw;   /* either half: they are equal */
#if defined(WSP_AVX2_ALWAYS_)
    i = wsp_mask_avx2_(dst, src, len, kw);
#elif defined(WSP_AVX2_)
    if (__builtin_cpu_supports("avx2")) i = wsp_mask_avx2_(dst, src, len, kw);
#endif
#ifdef WSP_SSE2_
    {
        __m128i kv = _mm_set1_epi64x((long long)kw);
        for (; i + 64 <= len; i += 64) {   /* all loads before the stores: dst may be src */
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 48));
            _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_xor_si128(a, kv));
            _mm_storeu_si128((__m128i *)(void *)(dst + i + 16), _mm_xor_si128(b, kv));
            _mm_storeu_si128((__m128i *)(void *)(dst + i + 32), _mm_xor_si128(c, kv));
            _mm_storeu_si128((__m128i *)(void *)(dst + i + 48), _mm_xor_si128(d, kv));
        }
        for (; i + 16 <= len; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
            _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_xor_si128(a, kv));
        }
    }
#endif
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
    /* the last bytes one at a time: long payloads are not read out of order (a cold walk
       would pay for it) */
    memcpy(kb, &k32, 4);
    for (; i < len; i++) dst[i] = (unsigned char)(src[i] ^ kb[i & 3]);
    return (offset + len) & 3;
}

/* dst[i] = src[i] ^ key for 8 <= n <= 16: a word from each end, both read before
   either is written (dst may be src); kw is the key word at src[0], kt at src[n - 8]. */
static WSP_INLINE_ void wsp_mask_two_words_(unsigned char *dst, const unsigned char *src, size_t n,
                                            uint64_t kw, uint64_t kt)
{
    uint64_t a, z;
    memcpy(&a, src, 8);
    memcpy(&z, src + n - 8, 8);
    a ^= kw;
    z ^= kt;
    memcpy(dst, &a, 8);
    memcpy(dst + n - 8, &z, 8);
}

WSPROXY_IMPL size_t wsproxy_mask(unsigned char *dst, const unsigned char *src, size_t len,
                                 const unsigned char key[4], size_t offset)
{
    uint32_t k32;
    uint64_t kw, kt;
    if (len - 8 >= 120) return wsp_mask_long_(dst, src, len, key, offset);   /* below 8, or 128 on */
    memcpy(&k32, key, 4);
    kw = wsp_key_turn_((uint64_t)k32 * 0x100000001ull, (unsigned)(offset & 3) * 8);   /* at key[offset % 4] */
    kt = wsp_key_turn_(kw, (unsigned)(len & 3) * 8);   /* at key[(offset + len) % 4]: for words that end at len */
    if (len <= 16) {
        wsp_mask_two_words_(dst, src, len, kw, kt);
        return (offset + len) & 3;
    }
#ifdef WSP_SSE2_
    {
        /* 17 to 127 bytes: 16-byte blocks from each end, overlapping in the middle, all
           loaded before the first store: no loop. A block from the end starts at len - 16k,
           where the key is at (offset + len) % 4. */
        __m128i kv = _mm_set1_epi64x((long long)kw), ke = _mm_set1_epi64x((long long)kt);
        const unsigned char *se = src + len;
        unsigned char *de = dst + len;
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)src);
        __m128i z = _mm_loadu_si128((const __m128i *)(const void *)(se - 16));
        if (len >= 32) {
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + 16));
            __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(se - 32));
            if (len >= 64) {
                __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + 32));
                __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + 48));
                __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(se - 48));
                __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(se - 64));
                _mm_storeu_si128((__m128i *)(void *)(dst + 32), _mm_xor_si128(c, kv));
                _mm_storeu_si128((__m128i *)(void *)(dst + 48), _mm_xor_si128(d, kv));
                _mm_storeu_si128((__m128i *)(void *)(de - 48), _mm_xor_si128(x, ke));
                _mm_storeu_si128((__m128i *)(void *)(de - 64), _mm_xor_si128(w, ke));
            }
            _mm_storeu_si128((__m128i *)(void *)(dst + 16), _mm_xor_si128(b, kv));
            _mm_storeu_si128((__m128i *)(void *)(de - 32), _mm_xor_si128(y, ke));
        }
        _mm_storeu_si128((__m128i *)(void *)dst, _mm_xor_si128(a, kv));
        _mm_storeu_si128((__m128i *)(void *)(de - 16), _mm_xor_si128(z, ke));
    }
#else
    {
        /* 17 to 127 bytes: the last word read first (dst may be src) and written last, over
           bytes the loop may have written with the same values */
        uint64_t z;
        size_t i;
        memcpy(&z, src + len - 8, 8);
        for (i = 0; i + 8 <= len; i += 8) {
            uint64_t w;
            memcpy(&w, src + i, 8);
            w ^= kw;
            memcpy(dst + i, &w, 8);
        }
        z ^= kt;
        memcpy(dst + len - 8, &z, 8);
    }
#endif
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

#define WSP_URL_FAIL_(code, pos) do { if (error_at) *error_at = (pos); return (code); } while (0)
WSPROXY_IMPL int wsproxy_url_parse_at(const char *s, size_t len, wsproxy_url *u, size_t *error_at)
{
    wsproxy_url r;
    size_t i, scheme_end = 0, auth_start, auth_end, host_start, host_end, at;
    int is_ws, found = 0;
    unsigned k;
    if (!s || !u) return WSPROXY_E_ARGUMENT;
    if (len > WSPROXY_MAX_URL_BYTES) WSP_URL_FAIL_(WSPROXY_E_URL_TOO_LONG, (size_t)WSPROXY_MAX_URL_BYTES);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7F) WSP_URL_FAIL_(WSPROXY_E_URL_CHAR, i);
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
        if (k == sizeof wsp_schemes_ / sizeof wsp_schemes_[0]) WSP_URL_FAIL_(WSPROXY_E_URL_SCHEME, 0);
        auth_start = scheme_end + 3;
    } else {
        /* no "scheme://": a proxy written as host:port, taken as http:// like curl */
        for (i = 0; i < len; i++)
            if (s[i] == ':' && i + 1 < len && s[i + 1] == '/') WSP_URL_FAIL_(WSPROXY_E_URL_SYNTAX, i);
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
        if (is_ws) WSP_URL_FAIL_(WSPROXY_E_URL_USERINFO, at);
        for (i = auth_start; i < at; i++)
            if (s[i] == ':') { colon = i; break; }
        r.user = s + auth_start;
        r.user_len = colon - auth_start;
        if (colon < at) {
            r.password = s + colon + 1;
            r.password_len = at - colon - 1;
        }
        if (!wsp_valid_escapes_(s + auth_start, at - auth_start)) WSP_URL_FAIL_(WSPROXY_E_URL_USERINFO, auth_start);
        host_start = at + 1;
    }
    /* host */
    if (host_start < auth_end && s[host_start] == '[') {
        unsigned char a6[16];
        for (host_end = host_start + 1; host_end < auth_end && s[host_end] != ']'; host_end++) {}
        if (host_end == auth_end) WSP_URL_FAIL_(WSPROXY_E_URL_HOST, host_start);
        if (!wsproxy_parse_ipv6(s + host_start + 1, host_end - host_start - 1, a6))
            WSP_URL_FAIL_(WSPROXY_E_URL_HOST, host_start + 1);
        r.host = s + host_start + 1;
        r.host_len = host_end - host_start - 1;
        r.host_type = WSPROXY_HOST_IPV6;
        i = host_end + 1;
        if (i < auth_end && s[i] != ':') WSP_URL_FAIL_(WSPROXY_E_URL_HOST, i);
    } else {
        unsigned char a4[4];
        int numeric = 1;
        for (host_end = host_start; host_end < auth_end && s[host_end] != ':'; host_end++) {
            int ch = (unsigned char)s[host_end];
            if (!wsp_is_host_char_(ch)) WSP_URL_FAIL_(WSPROXY_E_URL_HOST, host_end);
            if (!((ch >= '0' && ch <= '9') || ch == '.')) numeric = 0;
        }
        if (host_end == host_start || host_end - host_start > 253) WSP_URL_FAIL_(WSPROXY_E_URL_HOST, host_start);
        r.host = s + host_start;
        r.host_len = host_end - host_start;
        if (wsproxy_parse_ipv4(r.host, r.host_len, a4)) r.host_type = WSPROXY_HOST_IPV4;
        else if (numeric) WSP_URL_FAIL_(WSPROXY_E_URL_HOST, host_start);   /* 1.2.3, 01.2.3.4, 999.1.1.1 */
        i = host_end;
    }
    /* port */
    if (i < auth_end) {   /* s[i] == ':' */
        unsigned long v = 0;
        size_t p = i + 1;
        if (p < auth_end) {
            for (; p < auth_end; p++) {
                if (s[p] < '0' || s[p] > '9') WSP_URL_FAIL_(WSPROXY_E_URL_PORT, p);
                v = v * 10 + (unsigned long)(s[p] - '0');
                if (v > 65535) WSP_URL_FAIL_(WSPROXY_E_URL_PORT, i + 1);
            }
            if (v == 0) WSP_URL_FAIL_(WSPROXY_E_URL_PORT, i + 1);
            r.port = (unsigned)v;
            r.port_explicit = 1;
        }
    }
    /* path and query */
    for (i = auth_end; i < len; i++)
        if (s[i] == '#') WSP_URL_FAIL_(WSPROXY_E_URL_FRAGMENT, i);
    r.path = s + auth_end;
    r.path_len = len - auth_end;
    if (!is_ws && !(r.path_len == 0 || (r.path_len == 1 && r.path[0] == '/')))
        WSP_URL_FAIL_(WSPROXY_E_URL_SYNTAX, auth_end);   /* a proxy URL names a host, nothing more */
    *u = r;
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_url_parse(const char *s, size_t len, wsproxy_url *u)
{
    return wsproxy_url_parse_at(s, len, u, NULL);
}

/* ---- HTTP/1.x response head ---------------------------------------------------------
   One incremental scanner serves the pure wsproxy_parse_response and the client's
   tunnel and upgrade stages. It resumes where it stopped, so a head fed one byte at a
   time is scanned once (O(n)), and it judges every byte as it arrives, so a verdict
   never depends on how the head was split. Lines end in CRLF or a bare LF; a line's
   content (without its end) is at most WSPROXY_MAX_LINE_BYTES, the whole head with
   its blank line at most WSPROXY_MAX_HEAD_BYTES. */
enum { WSP_HEAD_MORE_ = 0, WSP_HEAD_LINE_ = 1, WSP_HEAD_END_ = 2 };

static void wsp_head_reset_(wsp_head_ *h) { memset(h, 0, sizeof *h); }

/* Scans buf[h->pos .. len) (buf holds the head from its first byte). Returns
   WSP_HEAD_LINE_ with [h->line_start, h->line_end) the completed line, WSP_HEAD_END_
   at the blank line (h->pos is then the head's length), WSP_HEAD_MORE_, or
   WSPROXY_HTTP_ERROR / WSPROXY_HTTP_TOO_LARGE. */
static int wsp_head_scan_(wsp_head_ *h, const char *buf, size_t len)
{
    static const char prefix[] = "HTTP/1.";
    size_t i, start;
    for (i = h->pos; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        size_t col = i - h->line;
        WSP_STAT_(h->examined++);
        if (h->lines == 0 && i < 13) {
            /* a status line wrong in its first bytes is malformed however much of it
               has arrived: "HTTP/1." DIGIT SP [1-5] DIGIT DIGIT (SP / end) */
            if (i < 7 ? ch != (unsigned char)prefix[i]
                      : (i == 7 || i == 10 || i == 11) ? (ch < '0' || ch > '9')
                      : i == 8 ? ch != ' '
                      : i == 9 ? (ch < '1' || ch > '5')
                      : (ch != ' ' && ch != '\r' && ch != '\n'))
                return WSPROXY_HTTP_ERROR;
        } else if (col == 0 && h->lines > 0 && (ch == ' ' || ch == '\t')) {
            return WSPROXY_HTTP_ERROR;   /* obsolete line folding */
        }
        if (i + 1 > WSPROXY_MAX_HEAD_BYTES) return WSPROXY_HTTP_TOO_LARGE;
        if (ch == '\n') { h->line_end = i; break; }
        if (ch == '\r') {
            if (i + 1 == len) { h->pos = i; return WSP_HEAD_MORE_; }   /* see what follows */
            if (buf[i + 1] != '\n') return WSPROXY_HTTP_ERROR;
            if (i + 2 > WSPROXY_MAX_HEAD_BYTES) return WSPROXY_HTTP_TOO_LARGE;
            h->line_end = i++;
            break;
        }
        if (col >= WSPROXY_MAX_LINE_BYTES) return WSPROXY_HTTP_TOO_LARGE;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7F) return WSPROXY_HTTP_ERROR;
    }
    if (i >= len) { h->pos = len; return WSP_HEAD_MORE_; }
    start = h->line;
    h->line_start = start;
    h->pos = h->line = i + 1;
    h->lines++;
    if (h->line_end == start && h->lines > 1) return WSP_HEAD_END_;
    return WSP_HEAD_LINE_;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]" (the scanner already checked its first 13 bytes). */
static int wsp_head_status_(const char *line, size_t len, int *minor, int *status,
                            const char **reason, size_t *reason_len)
{
    if (len < 12 || (len > 12 && line[12] != ' ')) return WSPROXY_HTTP_ERROR;
    *minor = line[7] - '0';
    *status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    *reason = line + (len > 12 ? 13 : 12);
    *reason_len = len > 12 ? len - 13 : 0;
    return WSPROXY_OK;
}

/* "Name: value": a token, a colon, the value without surrounding blanks. */
static int wsp_head_field_(const char *line, size_t len, wsproxy_header *out)
{
    size_t name_end, vs, ve;
    for (name_end = 0; name_end < len && wsp_is_tchar_((unsigned char)line[name_end]); name_end++) {}
    if (name_end == 0 || name_end == len || line[name_end] != ':') return WSPROXY_HTTP_ERROR;
    for (vs = name_end + 1; vs < len && wsp_is_blank_(line[vs]); vs++) {}
    for (ve = len; ve > vs && wsp_is_blank_(line[ve - 1]); ve--) {}
    out->name = line;
    out->name_len = name_end;
    out->value = line + vs;
    out->value_len = ve - vs;
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_parse_response(const char *buf, size_t len, int *minor_version,
                                        int *status, const char **reason, size_t *reason_len,
                                        wsproxy_header *headers, size_t *num_headers)
{
    size_t cap = *num_headers, count = 0;
    wsp_head_ h;
    if (cap > WSPROXY_MAX_HEADERS) cap = WSPROXY_MAX_HEADERS;
    *num_headers = 0;
    wsp_head_reset_(&h);
    for (;;) {
        int r = wsp_head_scan_(&h, buf, len);
        const char *line = buf + h.line_start;
        size_t line_len = h.line_end - h.line_start;
        if (r == WSP_HEAD_MORE_) { *num_headers = count; return WSPROXY_HTTP_INCOMPLETE; }
        if (r < 0) { *num_headers = count; return r; }
        if (r == WSP_HEAD_END_) { *num_headers = count; return (int)h.pos; }
        if (h.lines == 1) {
            if (wsp_head_status_(line, line_len, minor_version, status, reason, reason_len))
                return WSPROXY_HTTP_ERROR;
        } else {
            wsproxy_header f;
            if (wsp_head_field_(line, line_len, &f)) return WSPROXY_HTTP_ERROR;
            if (count == cap) return WSPROXY_HTTP_TOO_LARGE;
            headers[count++] = f;
        }
    }
}

/* ---- proxy authentication: challenges (RFC 9110 11) and Digest (RFC 7616) ------------ */
/* A challenge is a scheme, then a token68 or comma-separated auth-params; one header may
   hold several challenges, and commas separate both challenges and parameters: an item
   that is a bare token starts the next challenge. */
static int wsp_is_token68_(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '+' || ch == '/';
}

static size_t wsp_skip_ows_(const char *v, size_t len, size_t i)
{
    while (i < len && (v[i] == ' ' || v[i] == '\t')) i++;
    return i;
}

/* Reads one auth-param at v[*i]: name BWS "=" BWS (token / quoted-string). Returns 1 with
   the parts (the value's quotes excluded, escapes kept), 0 when the item there is not a
   parameter (a new challenge, or the end), -1 when malformed. */
static int wsp_auth_param_at_(const char *v, size_t len, size_t *i, const char **name, size_t *nlen,
                              const char **val, size_t *vlen, int *quoted)
{
    size_t p = *i, n0, n1;
    n0 = p;
    while (p < len && wsp_is_tchar_((unsigned char)v[p])) p++;
    n1 = p;
    if (n1 == n0) return -1;
    p = wsp_skip_ows_(v, len, p);
    if (p >= len || v[p] != '=') return 0;   /* a bare token: the next challenge */
    p = wsp_skip_ows_(v, len, p + 1);
    *name = v + n0;
    *nlen = n1 - n0;
    *quoted = 0;
    if (p < len && v[p] == '"') {
        size_t q = ++p;
        while (q < len && v[q] != '"') {
            if (v[q] == '\\') q++;
            q++;
        }
        if (q >= len) return -1;   /* no closing quote */
        *val = v + p;
        *vlen = q - p;
        *quoted = 1;
        p = q + 1;
    } else {
        size_t q = p;
        while (q < len && wsp_is_tchar_((unsigned char)v[q])) q++;
        if (q == p) return -1;
        *val = v + p;
        *vlen = q - p;
        p = q;
    }
    *i = p;
    return 1;
}

WSPROXY_IMPL int wsproxy_auth_next(const char *v, size_t len, size_t *pos, wsproxy_auth_challenge *ch)
{
    size_t i, s0, j, k, e;
    if (!v || !pos || !ch) return -1;
    memset(ch, 0, sizeof *ch);
    i = *pos;
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    if (i >= len) { *pos = len; return 0; }
    s0 = i;
    while (i < len && wsp_is_tchar_((unsigned char)v[i])) i++;
    if (i == s0) return -1;
    ch->scheme = v + s0;
    ch->scheme_len = i - s0;
    if (i < len && v[i] != ' ' && v[i] != '\t' && v[i] != ',') return -1;
    j = wsp_skip_ows_(v, len, i);
    if (j >= len || v[j] == ',') { *pos = j; return 1; }   /* the scheme alone */
    /* a token68: its characters, then '='s, then the end of the challenge ("abc=" cannot
       be a parameter: a parameter's value is never empty) */
    for (k = j; k < len && wsp_is_token68_((unsigned char)v[k]); k++) {}
    for (e = k; e < len && v[e] == '='; e++) {}
    if (k > j) {
        size_t a = wsp_skip_ows_(v, len, e);
        if (a == len || v[a] == ',') {
            ch->token68 = v + j;
            ch->token68_len = e - j;
            *pos = a;
            return 1;
        }
    }
    /* auth-params up to the next challenge */
    ch->params = v + j;
    for (;;) {
        const char *nm, *vl;
        size_t nl, vll, t = j;
        int q, r = wsp_auth_param_at_(v, len, &t, &nm, &nl, &vl, &vll, &q);
        if (r < 0) return -1;
        if (r == 0) break;
        ch->params_len = t - (size_t)(ch->params - v);
        j = wsp_skip_ows_(v, len, t);
        if (j >= len) break;
        if (v[j] != ',') return -1;
        while (j < len && (v[j] == ',' || v[j] == ' ' || v[j] == '\t')) j++;
        if (j >= len) break;
    }
    if (!ch->params_len) return -1;
    *pos = (size_t)(ch->params - v) + ch->params_len;
    return 1;
}

WSPROXY_IMPL int wsproxy_auth_param(const wsproxy_auth_challenge *ch, const char *name, char *out,
                                    size_t cap, size_t *out_len)
{
    size_t i = 0, len;
    const char *v;
    if (out_len) *out_len = 0;
    if (!ch || !name || !ch->params) return 0;
    v = ch->params;
    len = ch->params_len;
    while (i < len) {
        const char *nm, *vl;
        size_t nl, vll, k, o = 0;
        int q, r, short_ = 0;
        while (i < len && (v[i] == ',' || v[i] == ' ' || v[i] == '\t')) i++;
        if (i >= len) break;
        r = wsp_auth_param_at_(v, len, &i, &nm, &nl, &vl, &vll, &q);
        if (r != 1) return -1;
        if (!wsp_ieq_(nm, nl, name)) continue;
        for (k = 0; k < vll; k++) {   /* unescape a quoted-string */
            char ch2 = vl[k];
            if (q && ch2 == '\\' && k + 1 < vll) ch2 = vl[++k];
            if (ch2 == '\r' || ch2 == '\n' || ch2 == '\0') return -1;
            if (o + 1 >= cap) short_ = 1;   /* too small, unless a bad byte follows: that is -1 whatever cap */
            else if (out) out[o] = ch2;
            o++;
        }
        if (short_) return -2;
        if (out && cap) out[o] = '\0';
        if (out_len) *out_len = o;
        return 1;
    }
    return 0;
}

#ifndef WSPROXY_NO_TLS
/* Hex of H(parts joined by ':'), MD5 or SHA-256 per the algorithm. */
static void wsp_digest_hash_(int alg, const char *const *parts, const size_t *lens, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    size_t i, dl;
#ifdef WSPROXY_TLS_OPENSSL   /* the hashes from OpenSSL */
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    unsigned int got = 0;
    int ok = h && EVP_DigestInit_ex(h, alg == WSPROXY_DIGEST_SHA256 || alg == WSPROXY_DIGEST_SHA256_SESS ?
                                       EVP_sha256() : EVP_md5(), NULL);
    for (i = 0; ok && i < n; i++) ok = (!i || EVP_DigestUpdate(h, ":", 1)) && EVP_DigestUpdate(h, parts[i], lens[i]);
    ok = ok && EVP_DigestFinal_ex(h, d, &got);
    EVP_MD_CTX_free(h);
    dl = ok ? got : 0;   /* an empty response when OpenSSL has no such hash: refused */
#else
    if (alg == WSPROXY_DIGEST_SHA256 || alg == WSPROXY_DIGEST_SHA256_SESS) {
        br_sha256_context h;
        br_sha256_init(&h);
        for (i = 0; i < n; i++) { if (i) br_sha256_update(&h, ":", 1); br_sha256_update(&h, parts[i], lens[i]); }
        br_sha256_out(&h, d);
        dl = 32;
        wsp_wipe_(&h, sizeof h);
    } else {
        br_md5_context h;
        br_md5_init(&h);
        for (i = 0; i < n; i++) { if (i) br_md5_update(&h, ":", 1); br_md5_update(&h, parts[i], lens[i]); }
        br_md5_out(&h, d);
        dl = 16;
        wsp_wipe_(&h, sizeof h);
    }
#endif
    for (i = 0; i < dl; i++) { out[2 * i] = hex[d[i] >> 4]; out[2 * i + 1] = hex[d[i] & 15]; }
    out[2 * dl] = '\0';
    wsp_wipe_(d, sizeof d);
}

WSPROXY_IMPL int wsproxy_digest_userhash(int algorithm, const char *user, size_t user_len, const char *realm,
                                         char out[65])
{
    const char *parts[2];
    size_t lens[2];
    if (!user || !realm || !out || algorithm < WSPROXY_DIGEST_MD5 || algorithm > WSPROXY_DIGEST_SHA256_SESS)
        return WSPROXY_E_ARGUMENT;
    parts[0] = user; lens[0] = user_len;
    parts[1] = realm; lens[1] = strlen(realm);
    wsp_digest_hash_(algorithm, parts, lens, 2, out);
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_digest_response(const wsproxy_digest *d, char out[65])
{
    char ha1[65], ha2[65], body[65], ncs[9];
    const char *parts[6];
    size_t lens[6];
    int sess, rc = WSPROXY_OK;
    unsigned k;
    if (!d || !out || !d->username || !d->password || !d->realm || !d->nonce || !d->method || !d->uri ||
        d->algorithm < WSPROXY_DIGEST_MD5 || d->algorithm > WSPROXY_DIGEST_SHA256_SESS ||
        d->qop < 0 || d->qop > 2 || ((d->qop || d->algorithm == WSPROXY_DIGEST_MD5_SESS ||
                                      d->algorithm == WSPROXY_DIGEST_SHA256_SESS) && !d->cnonce))
        return WSPROXY_E_ARGUMENT;
    sess = d->algorithm == WSPROXY_DIGEST_MD5_SESS || d->algorithm == WSPROXY_DIGEST_SHA256_SESS;
    /* A1 = user:realm:password, and for -sess H(A1):nonce:cnonce */
    parts[0] = d->username; lens[0] = d->username_len;
    parts[1] = d->realm; lens[1] = strlen(d->realm);
    parts[2] = d->password; lens[2] = d->password_len;
    wsp_digest_hash_(d->algorithm, parts, lens, 3, ha1);
    if (sess) {
        parts[0] = ha1; lens[0] = strlen(ha1);
        parts[1] = d->nonce; lens[1] = strlen(d->nonce);
        parts[2] = d->cnonce; lens[2] = strlen(d->cnonce);
        wsp_digest_hash_(d->algorithm, parts, lens, 3, ha1);
    }
    /* A2 = method:uri, and for auth-int :H(body), the body of a CONNECT being empty */
    parts[0] = d->method; lens[0] = strlen(d->method);
    parts[1] = d->uri; lens[1] = strlen(d->uri);
    if (d->qop == 2) {
        wsp_digest_hash_(d->algorithm, parts, lens, 0, body);
        parts[2] = body; lens[2] = strlen(body);
    }
    wsp_digest_hash_(d->algorithm, parts, lens, d->qop == 2 ? 3 : 2, ha2);
    for (k = 0; k < 8; k++) ncs[k] = "0123456789abcdef"[(d->nc >> (28 - 4 * k)) & 15];
    ncs[8] = '\0';
    parts[0] = ha1; lens[0] = strlen(ha1);
    parts[1] = d->nonce; lens[1] = strlen(d->nonce);
    if (d->qop) {   /* H(HA1:nonce:nc:cnonce:qop:HA2) */
        parts[2] = ncs; lens[2] = 8;
        parts[3] = d->cnonce; lens[3] = strlen(d->cnonce);
        parts[4] = d->qop == 2 ? "auth-int" : "auth"; lens[4] = strlen(parts[4]);
        parts[5] = ha2; lens[5] = strlen(ha2);
        wsp_digest_hash_(d->algorithm, parts, lens, 6, out);
    } else {        /* RFC 2069: H(HA1:nonce:HA2) */
        parts[2] = ha2; lens[2] = strlen(ha2);
        wsp_digest_hash_(d->algorithm, parts, lens, 3, out);
    }
    wsp_wipe_(ha1, sizeof ha1);   /* as good as the password */
    return rc;
}
#endif

/* ==== 4. errors: one table ============================================================= */
static const struct { int code; const char *name, *message; } wsp_errors_[] = {
#define WSP_ERR_ROW_(name, code, message) {code, #name, message},
    WSPROXY_ERROR_TABLE(WSP_ERR_ROW_)
#undef WSP_ERR_ROW_
    {-1, "WSPROXY_E_UNKNOWN", "unknown error"}
};

static int wsp_error_index_(int code)
{
    int i;
    for (i = 0; wsp_errors_[i].code >= 0; i++)
        if (wsp_errors_[i].code == code) return i;
    return i;   /* the unknown row */
}

WSPROXY_IMPL const char *wsproxy_strerror(int code) { return wsp_errors_[wsp_error_index_(code)].name; }
WSPROXY_IMPL const char *wsproxy_error_message(int code) { return wsp_errors_[wsp_error_index_(code)].message; }

WSPROXY_IMPL const char *wsproxy_version(void) { return WSPROXY_VERSION; }

WSPROXY_IMPL const char *wsproxy_error_layer(int code)
{
    static const char *const layers[] = {"none", "caller", "proxy", "socks", "handshake", "websocket", "tls"};
    if (code < 0 || code >= 700 || wsp_errors_[wsp_error_index_(code)].code < 0) return "unknown";
    return layers[code / 100];
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
/* One request builder and one reply reader serve the public codec (wsproxy_socks, which
   keeps its requests) and the client's tunnel stage (which writes each request when it
   is due, so no copy of the credentials stays in the client). */
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

/* Validates proxy x target and writes request `which` (WSP_SOCKS_GREETING_, _AUTH_,
   _CONNECT_; 0 writes nothing) into out (WSPROXY_SOCKS_MAX_REQUEST bytes). The AUTH
   request holds the password: the caller wipes out after use. */
enum { WSP_SOCKS_GREETING_ = 1, WSP_SOCKS_AUTH_ = 2, WSP_SOCKS_CONNECT_ = 3 };

static int wsp_socks_build_(int which, const wsproxy_url *proxy, const wsproxy_url *target,
                            const unsigned char *resolved, int resolved_type,
                            unsigned char *out, size_t *out_len)
{
    unsigned char addr[16], cred[255];
    size_t ulen = 0, plen = 0, o = 0;
    int atyp, rc, remote, version;   /* atyp as SOCKS5 writes it: 1 IPv4, 3 name, 4 IPv6 */
    *out_len = 0;
    if (!proxy || !target || !target->host) return WSPROXY_E_ARGUMENT;
    version = wsp_sel_socks_version_(proxy->scheme);
    if (!version) return WSPROXY_E_URL_SCHEME;
    if (target->port < 1 || target->port > 65535) return WSPROXY_E_URL_PORT;
    remote = proxy->scheme == WSPROXY_SCHEME_SOCKS4A || proxy->scheme == WSPROXY_SCHEME_SOCKS5H;
    /* what to name the target with */
    if (target->host_type == WSPROXY_HOST_IPV4) {
        if (!wsproxy_parse_ipv4(target->host, target->host_len, addr)) return WSPROXY_E_URL_HOST;
        atyp = 1;
    } else if (target->host_type == WSPROXY_HOST_IPV6) {
        if (version == 4) return WSPROXY_E_SOCKS4_IPV6;
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
            if (version == 4) return WSPROXY_E_SOCKS4_IPV6;
            memcpy(addr, resolved, 16);
            atyp = 4;
        } else {
            return WSPROXY_E_ARGUMENT;
        }
    }
    /* the credentials are checked whatever is written, so any request reports them */
    rc = wsp_sel_credential_(proxy->user, proxy->user_len, cred, &ulen);
    if (!rc && version == 5) rc = wsp_sel_credential_(proxy->password, proxy->password_len, cred, &plen);
    wsp_wipe_(cred, sizeof cred);
    if (rc) return rc;
    if (which == WSP_SOCKS_GREETING_ && version == 5) {
        /* RFC 1928 3: VER NMETHODS METHODS; username/password offered with a user */
        out[o++] = 5;
        out[o++] = (unsigned char)(proxy->user ? 2 : 1);
        out[o++] = 0x00;
        if (proxy->user) out[o++] = 0x02;
    } else if (which == WSP_SOCKS_AUTH_ && version == 5 && proxy->user) {
        /* RFC 1929 2: VER ULEN UNAME PLEN PASSWD */
        out[o++] = 1;
        wsp_sel_credential_(proxy->user, proxy->user_len, out + o + 1, &ulen);
        out[o++] = (unsigned char)ulen;
        o += ulen;
        wsp_sel_credential_(proxy->password, proxy->password_len, out + o + 1, &plen);
        out[o++] = (unsigned char)plen;
        o += plen;
    } else if (which == WSP_SOCKS_CONNECT_ && version == 5) {
        /* RFC 1928 4: VER CMD RSV ATYP DST.ADDR DST.PORT */
        out[o++] = 5;
        out[o++] = 1;
        out[o++] = 0;
        out[o++] = (unsigned char)atyp;
        if (atyp == 1) { memcpy(out + o, addr, 4); o += 4; }
        else if (atyp == 4) { memcpy(out + o, addr, 16); o += 16; }
        else {
            out[o++] = (unsigned char)target->host_len;
            memcpy(out + o, target->host, target->host_len);
            o += target->host_len;
        }
        out[o++] = (unsigned char)(target->port >> 8);
        out[o++] = (unsigned char)target->port;
    } else if (which == WSP_SOCKS_CONNECT_) {
        /* SOCKS4: VN CD DSTPORT DSTIP USERID NUL; 4a: DSTIP 0.0.0.1 then HOST NUL */
        out[o++] = 4;
        out[o++] = 1;
        out[o++] = (unsigned char)(target->port >> 8);
        out[o++] = (unsigned char)target->port;
        if (atyp == 1) memcpy(out + o, addr, 4);
        else { out[o] = 0; out[o + 1] = 0; out[o + 2] = 0; out[o + 3] = 1; }
        o += 4;
        wsp_sel_credential_(proxy->user, proxy->user_len, out + o, &ulen);
        o += ulen;
        out[o++] = 0;
        if (atyp == 3) {
            memcpy(out + o, target->host, target->host_len);
            o += target->host_len;
            out[o++] = 0;
        }
    }
    *out_len = o;
    return WSPROXY_OK;
}

/* The request a SOCKS handshake starts with: 5 greets, 4 connects at once. */
static int wsp_socks_first_(const wsproxy_url *proxy)
{
    return wsp_sel_socks_version_(proxy->scheme) == 5 ? WSP_SOCKS_GREETING_ : WSP_SOCKS_CONNECT_;
}

static void wsp_socks_rx_start_(wsproxy_socks_rx *r, const wsproxy_url *proxy)
{
    memset(r, 0, sizeof *r);
    r->version_ = wsp_sel_socks_version_(proxy->scheme);
    r->offer_auth_ = proxy->user != NULL;
    r->phase_ = r->version_ == 5 ? WSPROXY_SOCKS_PHASE_METHOD : WSPROXY_SOCKS_PHASE_CONNECT;
    r->code_ = -1;
}

/* Takes one reply byte. Returns WSPROXY_SOCKS_NEED_MORE, WSPROXY_SOCKS_SEND (r->next_
   says which request now), WSPROXY_SOCKS_DONE or an error code. Only the bytes the
   verdict needs are kept; a failing reply code is reported as soon as its byte is in. */
static int wsp_socks_rx_byte_(wsproxy_socks_rx *r, unsigned char b)
{
    const unsigned char *h = r->head_;
    size_t n;
    if (r->n_ < sizeof r->head_) r->head_[r->n_] = b;
    n = ++r->n_;
    switch (r->phase_) {
    case WSPROXY_SOCKS_PHASE_METHOD:   /* VER METHOD */
        if (h[0] != 5) return WSPROXY_E_SOCKS_BAD_VERSION;
        if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
        r->code_ = h[1];
        r->n_ = 0;
        if (h[1] == 0x00) { r->next_ = WSP_SOCKS_CONNECT_; r->phase_ = WSPROXY_SOCKS_PHASE_CONNECT; return WSPROXY_SOCKS_SEND; }
        if (h[1] == 0x02 && r->offer_auth_) { r->next_ = WSP_SOCKS_AUTH_; r->phase_ = WSPROXY_SOCKS_PHASE_AUTH; return WSPROXY_SOCKS_SEND; }
        if (h[1] == 0xFF) return WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD;
        return WSPROXY_E_SOCKS_METHOD_NOT_OFFERED;
    case WSPROXY_SOCKS_PHASE_AUTH:     /* VER STATUS (RFC 1929: VER is 1) */
        if (h[0] != 1) return WSPROXY_E_SOCKS_BAD_VERSION;
        if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
        r->code_ = h[1];
        if (h[1] != 0) return WSPROXY_E_SOCKS_AUTH_FAILED;
        r->n_ = 0;
        r->next_ = WSP_SOCKS_CONNECT_;
        r->phase_ = WSPROXY_SOCKS_PHASE_CONNECT;
        return WSPROXY_SOCKS_SEND;
    case WSPROXY_SOCKS_PHASE_CONNECT:
        if (r->version_ == 4) {        /* VN CD DSTPORT DSTIP; VN is 0 */
            if (h[0] != 0) return WSPROXY_E_SOCKS_BAD_VERSION;
            if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
            if (n == 2) {
                r->code_ = h[1];
                switch (h[1]) {
                case 0x5A: break;
                case 0x5B: return WSPROXY_E_SOCKS4_REJECTED;
                case 0x5C: return WSPROXY_E_SOCKS4_IDENTD_UNREACHABLE;
                case 0x5D: return WSPROXY_E_SOCKS4_IDENTD_MISMATCH;
                default: return WSPROXY_E_SOCKS4_UNKNOWN_REPLY;
                }
            }
            r->need_ = 8;
        } else {                       /* VER REP RSV ATYP BND.ADDR BND.PORT */
            if (h[0] != 5) return WSPROXY_E_SOCKS_BAD_VERSION;
            if (n < 2) return WSPROXY_SOCKS_NEED_MORE;
            if (n == 2) {
                r->code_ = h[1];
                if (h[1] >= 1 && h[1] <= 8) return 300 + h[1];
                if (h[1] != 0) return WSPROXY_E_SOCKS_UNKNOWN_REPLY;
            }
            if (n < 4) return WSPROXY_SOCKS_NEED_MORE;
            if (h[3] == 1) r->need_ = 4 + 4 + 2;
            else if (h[3] == 4) r->need_ = 4 + 16 + 2;
            else if (h[3] == 3) {
                if (n < 5) return WSPROXY_SOCKS_NEED_MORE;
                r->need_ = 4 + 1 + (size_t)h[4] + 2;
            } else {
                return WSPROXY_E_SOCKS_BAD_REPLY;
            }
        }
        if (n < r->need_) return WSPROXY_SOCKS_NEED_MORE;
        r->phase_ = WSPROXY_SOCKS_PHASE_DONE;
        return WSPROXY_SOCKS_DONE;
    default:
        return WSPROXY_E_STATE;
    }
}

static void wsp_sel_socks_fail_(wsproxy_socks *s, int code)
{
    s->rx_.phase_ = WSPROXY_SOCKS_PHASE_FAILED;
    s->error_ = code;
    s->out_which_ = 0;
    wsp_wipe_(s->auth_, sizeof s->auth_);
}

WSPROXY_IMPL int wsproxy_socks_init(wsproxy_socks *s, const wsproxy_url *proxy,
                                    const wsproxy_url *target, const unsigned char *resolved,
                                    int resolved_type)
{
    int rc;
    if (!s) return WSPROXY_E_ARGUMENT;
    memset(s, 0, sizeof *s);
    s->rx_.code_ = -1;
    rc = wsp_socks_build_(WSP_SOCKS_GREETING_, proxy, target, resolved, resolved_type,
                          s->greet_, &s->greet_len_);
    if (!rc) rc = wsp_socks_build_(WSP_SOCKS_AUTH_, proxy, target, resolved, resolved_type,
                                   s->auth_, &s->auth_len_);
    if (!rc) rc = wsp_socks_build_(WSP_SOCKS_CONNECT_, proxy, target, resolved, resolved_type,
                                   s->connect_, &s->connect_len_);
    if (rc) {
        wsp_wipe_(s->auth_, sizeof s->auth_);
        memset(s, 0, sizeof *s);
        s->rx_.code_ = -1;
        wsp_sel_socks_fail_(s, rc);
        return rc;
    }
    wsp_socks_rx_start_(&s->rx_, proxy);
    s->out_which_ = wsp_socks_first_(proxy);
    return WSPROXY_OK;
}

static const unsigned char *wsp_sel_socks_msg_(const wsproxy_socks *s, size_t *len)
{
    switch (s->out_which_) {
    case WSP_SOCKS_GREETING_: *len = s->greet_len_; return s->greet_;
    case WSP_SOCKS_AUTH_: *len = s->auth_len_; return s->auth_;
    case WSP_SOCKS_CONNECT_: *len = s->connect_len_; return s->connect_;
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
        if (s->out_which_ == WSP_SOCKS_AUTH_) wsp_wipe_(s->auth_, sizeof s->auth_);   /* secrets gone */
        s->out_which_ = 0;
        s->out_off_ = 0;
    }
    return n;
}

WSPROXY_IMPL int wsproxy_socks_input(wsproxy_socks *s, const unsigned char *data, size_t len,
                                     size_t *consumed)
{
    size_t used = 0;
    if (consumed) *consumed = 0;
    if (!s || !consumed || (!data && len)) return WSPROXY_E_ARGUMENT;
    if (s->rx_.phase_ == WSPROXY_SOCKS_PHASE_FAILED) return s->error_ ? s->error_ : WSPROXY_E_STATE;
    if (s->rx_.phase_ == WSPROXY_SOCKS_PHASE_DONE) return WSPROXY_SOCKS_DONE;
    if (s->rx_.phase_ == 0) return WSPROXY_E_STATE;
    if (s->out_which_) return WSPROXY_SOCKS_SEND;   /* take the request first */
    while (used < len) {
        int rc;
        if (s->rx_.n_ == 0) s->rx_len_ = 0;   /* a new reply: rx_ keeps it for wsproxy_socks_bound */
        s->rx_bytes_[s->rx_len_++] = data[used];   /* 262 bytes hold the longest reply */
        rc = wsp_socks_rx_byte_(&s->rx_, data[used++]);
        if (rc == WSPROXY_SOCKS_NEED_MORE) continue;
        *consumed = used;
        if (rc == WSPROXY_SOCKS_SEND) {
            if (s->rx_.next_ == WSP_SOCKS_CONNECT_) wsp_wipe_(s->auth_, sizeof s->auth_);   /* no longer needed */
            s->out_which_ = s->rx_.next_;
            s->out_off_ = 0;
        } else if (rc != WSPROXY_SOCKS_DONE) {
            wsp_sel_socks_fail_(s, rc);
        }
        return rc;
    }
    *consumed = used;
    return WSPROXY_SOCKS_NEED_MORE;
}

WSPROXY_IMPL int wsproxy_socks_phase(const wsproxy_socks *s) { return s ? s->rx_.phase_ : 0; }
WSPROXY_IMPL int wsproxy_socks_error(const wsproxy_socks *s) { return s ? s->error_ : WSPROXY_E_ARGUMENT; }
WSPROXY_IMPL int wsproxy_socks_reply_code(const wsproxy_socks *s) { return s ? s->rx_.code_ : -1; }

WSPROXY_IMPL int wsproxy_socks_bound(const wsproxy_socks *s, char *out, size_t cap, unsigned *port)
{
    const unsigned char *a;
    size_t at = 0, i;
    int type;
    if (out && cap) out[0] = '\0';
    if (port) *port = 0;
    if (!s || s->rx_.phase_ != WSPROXY_SOCKS_PHASE_DONE) return -1;
    a = s->rx_bytes_ + 4;
    if (s->rx_.version_ == 4) {
        if (port) *port = (unsigned)s->rx_bytes_[2] << 8 | s->rx_bytes_[3];
        type = WSPROXY_HOST_IPV4;
    } else {
        type = s->rx_bytes_[3] == 1 ? WSPROXY_HOST_IPV4 : s->rx_bytes_[3] == 4 ? WSPROXY_HOST_IPV6
                                                                             : WSPROXY_HOST_NAME;
        if (port) *port = (unsigned)s->rx_bytes_[s->rx_len_ - 2] << 8 | s->rx_bytes_[s->rx_len_ - 1];
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
        size_t n = s->rx_bytes_[4];
        if (n >= cap) n = cap - 1;
        memcpy(out, s->rx_bytes_ + 5, n);
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

/* ==== 6. TLS helpers: iPAddress names, PEM trust anchors, the X.509 wrapper ========= */
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

#ifndef WSPROXY_TLS_OPENSSL
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

/* -- PEM private keys and certificate chains for client certificates -- */
static void wsp_pem_to_buf_(void *ctx, const void *buf, size_t len)
{
    wsp_pem_mem_ *m = (wsp_pem_mem_ *)ctx;
    wsp_pem_take_(m, buf, len);
}

static void wsp_pem_to_skey_(void *ctx, const void *buf, size_t len)
{
    br_skey_decoder_push((br_skey_decoder_context *)ctx, buf, len);
}

WSPROXY_IMPL int wsproxy_pem_private_key(const char *pem, size_t len, wsproxy_private_key *key,
                                         unsigned char *mem, size_t mem_len, size_t *needed)
{
    br_pem_decoder_context pc;
    br_skey_decoder_context sk;
    wsp_pem_mem_ m;
    size_t off = 0;
    int found = 0, in_key = 0, rc = WSPROXY_E_PEM_SYNTAX;
    if (needed) *needed = 0;
    if (!key || !needed || (!pem && len)) return WSPROXY_E_ARGUMENT;
    memset(key, 0, sizeof *key);
    m.mem = mem; m.cap = mem ? mem_len : 0; m.used = 0;
    br_pem_decoder_init(&pc);
    br_skey_decoder_init(&sk);
    while (off < len && !found) {
        size_t n = br_pem_decoder_push(&pc, pem + off, len - off);
        off += n;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ: {
            const char *name = br_pem_decoder_name(&pc);
            if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) { rc = WSPROXY_E_PEM_ENCRYPTED; goto out; }
            in_key = strcmp(name, "RSA PRIVATE KEY") == 0 || strcmp(name, "EC PRIVATE KEY") == 0 ||
                     strcmp(name, "PRIVATE KEY") == 0;
            br_pem_decoder_setdest(&pc, in_key ? wsp_pem_to_skey_ : NULL, in_key ? &sk : NULL);
            break;
        }
        case BR_PEM_END_OBJ:
            found = in_key;
            break;
        case BR_PEM_ERROR:
            goto out;
        default:
            if (n == 0) goto out;
            break;
        }
    }
    if (!found || br_skey_decoder_last_error(&sk) != 0) goto out;
    key->type = br_skey_decoder_key_type(&sk);
    if (key->type == BR_KEYTYPE_RSA) {
        const br_rsa_private_key *k = br_skey_decoder_get_rsa(&sk);
        key->rsa.n_bitlen = k->n_bitlen;
        key->rsa.p = wsp_pem_take_(&m, k->p, k->plen);       key->rsa.plen = k->plen;
        key->rsa.q = wsp_pem_take_(&m, k->q, k->qlen);       key->rsa.qlen = k->qlen;
        key->rsa.dp = wsp_pem_take_(&m, k->dp, k->dplen);    key->rsa.dplen = k->dplen;
        key->rsa.dq = wsp_pem_take_(&m, k->dq, k->dqlen);    key->rsa.dqlen = k->dqlen;
        key->rsa.iq = wsp_pem_take_(&m, k->iq, k->iqlen);    key->rsa.iqlen = k->iqlen;
    } else if (key->type == BR_KEYTYPE_EC) {
        const br_ec_private_key *k = br_skey_decoder_get_ec(&sk);
        key->ec.curve = k->curve;
        key->ec.x = wsp_pem_take_(&m, k->x, k->xlen);
        key->ec.xlen = k->xlen;
    } else {
        goto out;
    }
    *needed = m.used;
    rc = m.used <= m.cap && mem ? WSPROXY_OK : WSPROXY_E_PEM_SPACE;
out:
    wsp_wipe_(&sk, sizeof sk);   /* the key's numbers were in it */
    wsp_wipe_(&pc, sizeof pc);
    if (rc != WSPROXY_OK) {
        size_t keep = *needed;
        wsp_wipe_(key, sizeof *key);
        *needed = keep;
    }
    return rc;
}

WSPROXY_IMPL int wsproxy_pem_certificates(const char *pem, size_t len, br_x509_certificate *certs,
                                          size_t max, unsigned char *mem, size_t mem_len,
                                          wsproxy_pem_result *res)
{
    br_pem_decoder_context pc;
    wsp_pem_mem_ m;
    size_t off = 0, start = 0;
    int in_cert = 0, in_obj = 0, fits = 1;
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
            start = m.used;
            br_pem_decoder_setdest(&pc, in_cert ? wsp_pem_to_buf_ : NULL, in_cert ? &m : NULL);
            break;
        }
        case BR_PEM_END_OBJ:
            in_obj = 0;
            if (in_cert) {
                if (m.used == start) return WSPROXY_E_PEM_SYNTAX;
                if (certs && res->anchors < max && m.mem && m.used <= m.cap) {
                    certs[res->anchors].data = m.mem + start;
                    certs[res->anchors].data_len = m.used - start;
                } else {
                    fits = 0;
                }
                res->anchors++;
                in_cert = 0;
            }
            break;
        case BR_PEM_ERROR:
            return WSPROXY_E_PEM_SYNTAX;
        default:
            if (n == 0) return WSPROXY_E_PEM_SYNTAX;
            break;
        }
    }
    if (in_obj) return WSPROXY_E_PEM_SYNTAX;
    res->bytes_needed = m.used;
    if (!res->anchors) return WSPROXY_E_PEM_SYNTAX;
    return fits ? WSPROXY_OK : WSPROXY_E_PEM_SPACE;
}


/* -- either backend's API on BearSSL: trust anchors and identities in the caller's memory,
   laid out as [array, aligned][the certificates' bytes][the key's numbers] -- */
static unsigned char *wsp_align16_(void *mem)
{
    unsigned char *m = (unsigned char *)mem;
    return m + ((16 - ((uintptr_t)m & 15)) & 15);
}

WSPROXY_IMPL int wsproxy_tls_trust_pem(wsproxy_tls_trust *t, const char *pem, size_t len, void *mem,
                                       size_t mem_len, size_t *needed)
{
    wsproxy_pem_result r;
    size_t head;
    unsigned char *m;
    int rc;
    if (needed) *needed = 0;
    if (!t || !needed || (!pem && len)) return WSPROXY_E_ARGUMENT;
    memset(t, 0, sizeof *t);
    rc = wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r);
    if (rc == WSPROXY_E_PEM_SYNTAX || !r.anchors) return WSPROXY_E_PEM_SYNTAX;
    head = WSPROXY_TLS_ALIGN16_(r.anchors * sizeof(br_x509_trust_anchor));
    *needed = head + r.bytes_needed + 15;
    if (!mem || mem_len < *needed) return WSPROXY_E_PEM_SPACE;
    m = wsp_align16_(mem);
    rc = wsproxy_pem_trust_anchors(pem, len, (br_x509_trust_anchor *)(void *)m, r.anchors, m + head,
                                   r.bytes_needed, &r);
    if (rc) return rc;
    t->anchors_ = (const br_x509_trust_anchor *)(void *)m;
    t->count = r.anchors;
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_tls_trust_system(wsproxy_tls_trust *t)
{
    if (t) memset(t, 0, sizeof *t);
    return WSPROXY_E_UNSUPPORTED;
}

WSPROXY_IMPL void wsproxy_tls_trust_free(wsproxy_tls_trust *t)
{
    if (t) memset(t, 0, sizeof *t);
}

WSPROXY_IMPL int wsproxy_tls_identity_pem(wsproxy_tls_identity *id, const char *chain_pem, size_t chain_len,
                                          const char *key_pem, size_t key_len, void *mem, size_t mem_len,
                                          size_t *needed)
{
    wsproxy_pem_result r;
    size_t head, kneed = 0;
    unsigned char *m;
    int rc;
    if (needed) *needed = 0;
    if (!id || !needed || (!chain_pem && chain_len) || (!key_pem && key_len)) return WSPROXY_E_ARGUMENT;
    memset(id, 0, sizeof *id);
    rc = wsproxy_pem_certificates(chain_pem, chain_len, NULL, 0, NULL, 0, &r);
    if (rc == WSPROXY_E_PEM_SYNTAX) return rc;
    rc = wsproxy_pem_private_key(key_pem, key_len, &id->key_, NULL, 0, &kneed);
    if (rc != WSPROXY_E_PEM_SPACE) return rc == WSPROXY_OK ? WSPROXY_E_PEM_SYNTAX : rc;
    head = WSPROXY_TLS_ALIGN16_(r.anchors * sizeof(br_x509_certificate));
    *needed = head + r.bytes_needed + kneed + 15;
    if (!mem || mem_len < *needed) return WSPROXY_E_PEM_SPACE;
    m = wsp_align16_(mem);
    rc = wsproxy_pem_certificates(chain_pem, chain_len, (br_x509_certificate *)(void *)m, r.anchors, m + head,
                                  r.bytes_needed, &r);
    if (!rc) rc = wsproxy_pem_private_key(key_pem, key_len, &id->key_, m + head + r.bytes_needed, kneed, &kneed);
    if (rc) {
        wsp_wipe_(m, *needed - 15);
        memset(id, 0, sizeof *id);
        return rc;
    }
    id->chain_ = (br_x509_certificate *)(void *)m;
    id->chain_len = r.anchors;
    return WSPROXY_OK;
}

WSPROXY_IMPL void wsproxy_tls_identity_free(wsproxy_tls_identity *id)
{
    br_rsa_private_key *k;
    if (!id) return;
    k = &id->key_.rsa;   /* the key's numbers, where they lie in the caller's memory */
    if (id->key_.type == BR_KEYTYPE_RSA) {
        if (k->p) wsp_wipe_(k->p, k->plen);
        if (k->q) wsp_wipe_(k->q, k->qlen);
        if (k->dp) wsp_wipe_(k->dp, k->dplen);
        if (k->dq) wsp_wipe_(k->dq, k->dqlen);
        if (k->iq) wsp_wipe_(k->iq, k->iqlen);
    } else if (id->key_.type == BR_KEYTYPE_EC && id->key_.ec.x) {
        wsp_wipe_(id->key_.ec.x, id->key_.ec.xlen);
    }
    wsp_wipe_(id, sizeof *id);
}
#endif /* WSPROXY_TLS_OPENSSL */

#if defined(WSPROXY_TLS_OPENSSL) && !defined(BR_ERR_OK)
/* The OpenSSL backend names its failures with BearSSL's numbers wherever they mean the
   same (the same tls_error for the same fault with either backend): BearSSL's values,
   written as bearssl_ssl.h and bearssl_x509.h write them (identical if both are seen). */
#define BR_ERR_OK 0
#define BR_ERR_BAD_PARAM 1
#define BR_ERR_BAD_STATE 2
#define BR_ERR_UNSUPPORTED_VERSION 3
#define BR_ERR_BAD_VERSION 4
#define BR_ERR_BAD_LENGTH 5
#define BR_ERR_TOO_LARGE 6
#define BR_ERR_BAD_MAC 7
#define BR_ERR_NO_RANDOM 8
#define BR_ERR_UNKNOWN_TYPE 9
#define BR_ERR_UNEXPECTED 10
#define BR_ERR_BAD_CCS 12
#define BR_ERR_BAD_ALERT 13
#define BR_ERR_BAD_HANDSHAKE 14
#define BR_ERR_OVERSIZED_ID 15
#define BR_ERR_BAD_CIPHER_SUITE 16
#define BR_ERR_BAD_COMPRESSION 17
#define BR_ERR_BAD_FRAGLEN 18
#define BR_ERR_BAD_SECRENEG 19
#define BR_ERR_EXTRA_EXTENSION 20
#define BR_ERR_BAD_SNI 21
#define BR_ERR_BAD_HELLO_DONE 22
#define BR_ERR_LIMIT_EXCEEDED 23
#define BR_ERR_BAD_FINISHED 24
#define BR_ERR_RESUME_MISMATCH 25
#define BR_ERR_INVALID_ALGORITHM 26
#define BR_ERR_BAD_SIGNATURE 27
#define BR_ERR_WRONG_KEY_USAGE 28
#define BR_ERR_NO_CLIENT_AUTH 29
#define BR_ERR_IO 31
#define BR_ERR_RECV_FATAL_ALERT 256
#define BR_ERR_SEND_FATAL_ALERT 512
#define BR_ERR_X509_OK 32
#define BR_ERR_X509_INVALID_VALUE 33
#define BR_ERR_X509_TRUNCATED 34
#define BR_ERR_X509_EMPTY_CHAIN 35
#define BR_ERR_X509_INNER_TRUNC 36
#define BR_ERR_X509_BAD_TAG_CLASS 37
#define BR_ERR_X509_BAD_TAG_VALUE 38
#define BR_ERR_X509_INDEFINITE_LENGTH 39
#define BR_ERR_X509_EXTRA_ELEMENT 40
#define BR_ERR_X509_UNEXPECTED 41
#define BR_ERR_X509_NOT_CONSTRUCTED 42
#define BR_ERR_X509_NOT_PRIMITIVE 43
#define BR_ERR_X509_PARTIAL_BYTE 44
#define BR_ERR_X509_BAD_BOOLEAN 45
#define BR_ERR_X509_OVERFLOW 46
#define BR_ERR_X509_BAD_DN 47
#define BR_ERR_X509_BAD_TIME 48
#define BR_ERR_X509_UNSUPPORTED 49
#define BR_ERR_X509_LIMIT_EXCEEDED 50
#define BR_ERR_X509_WRONG_KEY_TYPE 51
#define BR_ERR_X509_BAD_SIGNATURE 52
#define BR_ERR_X509_TIME_UNKNOWN 53
#define BR_ERR_X509_EXPIRED 54
#define BR_ERR_X509_DN_MISMATCH 55
#define BR_ERR_X509_BAD_SERVER_NAME 56
#define BR_ERR_X509_CRITICAL_EXTENSION 57
#define BR_ERR_X509_NOT_CA 58
#define BR_ERR_X509_FORBIDDEN_KEY_USAGE 59
#define BR_ERR_X509_WEAK_PUBLIC_KEY 60
#define BR_ERR_X509_NOT_TRUSTED 62
#endif

WSPROXY_IMPL const char *wsproxy_tls_reason(int e)
{
    static const struct { int code; const char *text; } reasons[] = {
        {0, "no error"},
        {WSPROXY_TLS_ERR_CLOSED, "connection closed during the TLS handshake"},
        {WSPROXY_TLS_ERR_WEAK_SIGNATURE, "a certificate of the chain is signed with SHA-1 or MD5 (refused)"},
        {WSPROXY_TLS_ERR_EKU, "the certificate's extendedKeyUsage does not allow a TLS server (serverAuth)"},
        {WSPROXY_TLS_ERR_PLAIN_HTTP, "the peer answered in plain HTTP, not TLS"},
        {WSPROXY_TLS_ERR_UNREADABLE, "the server certificate could not be read"},
        {WSPROXY_TLS_ERR_NO_SUITE, "the peer accepts none of our cipher suites (ECDHE with AES-GCM or "
                                   "ChaCha20; tls_compat adds ECDHE with AES-CBC)"},
        {WSPROXY_TLS_ERR_CERT_REQUIRED, "the peer asked for a client certificate and none was given"},
        {WSPROXY_TLS_ERR_CERT_REFUSED, "the peer refused our client certificate"},
        {BR_ERR_BAD_PARAM, "bad TLS parameter (library bug)"},
        {BR_ERR_BAD_STATE, "TLS engine in a bad state (library bug)"},
        {BR_ERR_UNSUPPORTED_VERSION, "the peer wants a TLS version other than 1.2"},
        {BR_ERR_BAD_VERSION, "record with a wrong TLS version"},
        {BR_ERR_BAD_LENGTH, "record with an impossible length (not TLS?)"},
        {BR_ERR_TOO_LARGE, "record too large for the buffer"},
        {BR_ERR_BAD_MAC, "record failed its integrity check"},
        {BR_ERR_NO_RANDOM, "no random seed for TLS"},
        {BR_ERR_UNKNOWN_TYPE, "record of an unknown type (not TLS?)"},
        {BR_ERR_UNEXPECTED, "unexpected message in the handshake"},
        {BR_ERR_BAD_CCS, "bad ChangeCipherSpec"},
        {BR_ERR_BAD_ALERT, "bad alert"},
        {BR_ERR_BAD_HANDSHAKE, "malformed handshake message"},
        {BR_ERR_OVERSIZED_ID, "session ID too long"},
        {BR_ERR_BAD_CIPHER_SUITE, "the peer chose a cipher suite we did not offer"},
        {BR_ERR_BAD_COMPRESSION, "the peer chose compression"},
        {BR_ERR_BAD_FRAGLEN, "bad max_fragment_length answer"},
        {BR_ERR_BAD_SECRENEG, "bad secure renegotiation"},
        {BR_ERR_EXTRA_EXTENSION, "the peer sent an extension we did not ask for"},
        {BR_ERR_BAD_SNI, "bad server name"},
        {BR_ERR_BAD_HELLO_DONE, "bad ServerHelloDone"},
        {BR_ERR_LIMIT_EXCEEDED, "a handshake limit was exceeded"},
        {BR_ERR_BAD_FINISHED, "bad Finished message"},
        {BR_ERR_RESUME_MISMATCH, "the resumed session does not match"},
        {BR_ERR_INVALID_ALGORITHM, "the peer used an algorithm we did not offer (SHA-1 signature?)"},
        {BR_ERR_BAD_SIGNATURE, "bad signature in the key exchange"},
        {BR_ERR_WRONG_KEY_USAGE, "the certificate's key usage does not allow this key exchange"},
        {BR_ERR_NO_CLIENT_AUTH, "the peer wants a client certificate and none was given"},
        {BR_ERR_IO, "I/O error"},
        {BR_ERR_X509_INVALID_VALUE, "certificate: invalid value"},
        {BR_ERR_X509_TRUNCATED, "certificate: truncated"},
        {BR_ERR_X509_EMPTY_CHAIN, "no certificate sent"},
        {BR_ERR_X509_INNER_TRUNC, "certificate: truncated element"},
        {BR_ERR_X509_BAD_TAG_CLASS, "certificate: malformed (tag class)"},
        {BR_ERR_X509_BAD_TAG_VALUE, "certificate: malformed (tag)"},
        {BR_ERR_X509_INDEFINITE_LENGTH, "certificate: malformed (indefinite length)"},
        {BR_ERR_X509_EXTRA_ELEMENT, "certificate: malformed (extra element)"},
        {BR_ERR_X509_UNEXPECTED, "certificate: malformed (unexpected element)"},
        {BR_ERR_X509_NOT_CONSTRUCTED, "certificate: malformed (not constructed)"},
        {BR_ERR_X509_NOT_PRIMITIVE, "certificate: malformed (not primitive)"},
        {BR_ERR_X509_PARTIAL_BYTE, "certificate: malformed (partial byte)"},
        {BR_ERR_X509_BAD_BOOLEAN, "certificate: malformed (boolean)"},
        {BR_ERR_X509_OVERFLOW, "certificate: malformed (overflow)"},
        {BR_ERR_X509_BAD_DN, "certificate: malformed name"},
        {BR_ERR_X509_BAD_TIME, "certificate: malformed time"},
        {BR_ERR_X509_UNSUPPORTED, "certificate uses an unsupported algorithm or critical feature"},
        {BR_ERR_X509_LIMIT_EXCEEDED, "certificate too large for the validator"},
        {BR_ERR_X509_WRONG_KEY_TYPE, "certificate key of the wrong type"},
        {BR_ERR_X509_BAD_SIGNATURE, "certificate signature does not verify"},
        {BR_ERR_X509_TIME_UNKNOWN, "no time to check the certificate's validity"},
        {BR_ERR_X509_EXPIRED, "certificate expired or not yet valid"},
        {BR_ERR_X509_DN_MISMATCH, "certificate chain out of order (issuer names do not match)"},
        {BR_ERR_X509_BAD_SERVER_NAME, "certificate name mismatch"},
        {BR_ERR_X509_CRITICAL_EXTENSION, "certificate has an unknown critical extension"},
        {BR_ERR_X509_NOT_CA, "an intermediate certificate is not a CA"},
        {BR_ERR_X509_FORBIDDEN_KEY_USAGE, "certificate key usage forbids this use"},
        {BR_ERR_X509_WEAK_PUBLIC_KEY, "certificate key too weak (RSA under 2048 bits)"},
        {BR_ERR_X509_NOT_TRUSTED, "certificate not trusted"},
        {BR_ERR_RECV_FATAL_ALERT + 40, "the peer refused the handshake (handshake_failure alert)"},
        {BR_ERR_RECV_FATAL_ALERT + 42, "the peer refused our certificate (bad_certificate alert)"},
        {BR_ERR_RECV_FATAL_ALERT + 46, "the peer refused our certificate (certificate_unknown alert)"},
        {BR_ERR_RECV_FATAL_ALERT + 48, "the peer does not trust our certificate (unknown_ca alert)"},
#ifdef WSPROXY_TLS_OPENSSL
        {BR_ERR_RECV_FATAL_ALERT + 70, "the peer wants a TLS version other than 1.2 and 1.3 (protocol_version alert)"},
        {WSPROXY_TLS_ERR_OPENSSL, "OpenSSL refused the connection"},
#else
        {BR_ERR_RECV_FATAL_ALERT + 70, "the peer requires TLS 1.3, which BearSSL lacks: build with "
                                       "WSPROXY_TLS_OPENSSL (protocol_version alert)"},
#endif
        {BR_ERR_RECV_FATAL_ALERT + 71, "the peer wants stronger ciphers (insufficient_security alert)"},
        {BR_ERR_RECV_FATAL_ALERT + 112, "the peer does not know the server name we sent (unrecognized_name)"},
        {BR_ERR_RECV_FATAL_ALERT + 116, "the peer wants a client certificate (certificate_required alert)"},
        {BR_ERR_RECV_FATAL_ALERT + 120, "the peer accepts none of our ALPN protocols (no_application_protocol)"}
    };
    size_t i;
    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == e) return reasons[i].text;
#ifdef WSPROXY_TLS_OPENSSL
    if (e >= WSPROXY_TLS_ERR_X509 && e < WSPROXY_TLS_ERR_X509 + 1024)
        return X509_verify_cert_error_string(e - WSPROXY_TLS_ERR_X509);   /* OpenSSL's own words */
#endif
    if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT) return "the peer sent a fatal alert";
    if (e >= BR_ERR_SEND_FATAL_ALERT) return "we sent a fatal alert";
    return "TLS error";
}

/* -- what a certificate says, read as its bytes stream past: signature algorithm, extended
   key usage, iPAddress names. BearSSL's minimal validator checks neither EKU nor IP names,
   and keeping each certificate for a second pass would cost its size per hop. -- */
enum { WSP_CS_TAG_, WSP_CS_LEN_, WSP_CS_LENX_, WSP_CS_SKIP_, WSP_CS_COLLECT_ };
enum { WSP_CK_CERT_ = 1, WSP_CK_TBS_, WSP_CK_SIGALG_, WSP_CK_EXTS_WRAP_, WSP_CK_EXTS_, WSP_CK_EXT_,
       WSP_CK_EXTVAL_, WSP_CK_INNER_ };
enum { WSP_CV_SIGOID_ = 1, WSP_CV_EXTOID_, WSP_CV_EKUOID_, WSP_CV_IP_ };

static void wsp_certscan_start_(wsp_certscan_t_ *s, int leaf, const unsigned char *ip, size_t ip_len)
{
    memset(s, 0, sizeof *s);
    s->leaf = leaf;
    if (ip && (ip_len == 4 || ip_len == 16)) {
        memcpy(s->ip, ip, ip_len);
        s->ip_len = (unsigned char)ip_len;
    }
}

static int wsp_oid_is_(const wsp_certscan_t_ *s, const char *oid, size_t n)
{
    return s->vlen == n && memcmp(s->val, oid, n) == 0;
}

static void wsp_certscan_value_(wsp_certscan_t_ *s)
{
    switch (s->vkind) {
    case WSP_CV_SIGOID_:   /* md2, md5, sha1 with RSA; ecdsa-with-SHA1; dsa-with-sha1 */
        if (wsp_oid_is_(s, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x02", 9) ||
            wsp_oid_is_(s, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04", 9) ||
            wsp_oid_is_(s, "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05", 9) ||
            wsp_oid_is_(s, "\x2a\x86\x48\xce\x3d\x04\x01", 7) ||
            wsp_oid_is_(s, "\x2a\x86\x48\xce\x38\x04\x03", 7))
            s->weak_sig = 1;
        break;
    case WSP_CV_EXTOID_:   /* 2.5.29.37 extKeyUsage, 2.5.29.17 subjectAltName */
        s->ext = wsp_oid_is_(s, "\x55\x1d\x25", 3) ? 1 : wsp_oid_is_(s, "\x55\x1d\x11", 3) ? 2 : 0;
        break;
    case WSP_CV_EKUOID_:   /* id-kp-serverAuth 1.3.6.1.5.5.7.3.1, anyExtendedKeyUsage 2.5.29.37.0 */
        if (wsp_oid_is_(s, "\x2b\x06\x01\x05\x05\x07\x03\x01", 8) || wsp_oid_is_(s, "\x55\x1d\x25\x00", 4))
            s->eku_server = 1;
        break;
    case WSP_CV_IP_:
        if (s->ip_len && s->vlen == (size_t)s->ip_len && memcmp(s->val, s->ip, (size_t)s->ip_len) == 0) s->ip_match = 1;
        break;
    default:
        break;
    }
}

/* An element's tag and length are read: descend into it, keep its value, or skip it. */
static void wsp_certscan_element_(wsp_certscan_t_ *s)
{
    int parent = s->depth ? s->kind[s->depth - 1] : 0, push = 0, collect = 0;
    unsigned idx = s->depth ? s->idx[s->depth - 1]++ : 0;
    if (s->depth && s->len > s->end[s->depth - 1] - s->pos) { s->broken = 1; return; }
    switch (parent) {
    case 0: if (s->tag == 0x30) push = WSP_CK_CERT_; else s->broken = 1; break;
    case WSP_CK_CERT_:
        if (idx == 0 && s->tag == 0x30 && s->leaf) push = WSP_CK_TBS_;
        else if (idx == 1 && s->tag == 0x30) push = WSP_CK_SIGALG_;
        break;
    case WSP_CK_SIGALG_: if (idx == 0 && s->tag == 0x06) collect = WSP_CV_SIGOID_; break;
    case WSP_CK_TBS_: if (s->tag == 0xA3) push = WSP_CK_EXTS_WRAP_; break;
    case WSP_CK_EXTS_WRAP_: if (s->tag == 0x30) push = WSP_CK_EXTS_; break;
    case WSP_CK_EXTS_: if (s->tag == 0x30) { push = WSP_CK_EXT_; s->ext = 0; } break;
    case WSP_CK_EXT_:
        if (idx == 0 && s->tag == 0x06) collect = WSP_CV_EXTOID_;
        else if (s->tag == 0x04 && s->ext) {
            push = WSP_CK_EXTVAL_;   /* the extension's DER, inside the OCTET STRING */
            if (s->ext == 1) s->has_eku = 1;
        }
        break;
    case WSP_CK_EXTVAL_: if (s->tag == 0x30) push = WSP_CK_INNER_; break;
    case WSP_CK_INNER_:
        if (s->ext == 1 && s->tag == 0x06) collect = WSP_CV_EKUOID_;
        else if (s->ext == 2 && s->tag == 0x87) collect = WSP_CV_IP_;
        break;
    default: break;
    }
    if (push) {
        if (s->depth == (int)(sizeof s->end / sizeof s->end[0])) { s->broken = 1; return; }
        s->kind[s->depth] = (unsigned char)push;
        s->idx[s->depth] = 0;
        s->end[s->depth++] = s->pos + s->len;
        s->state = WSP_CS_TAG_;
    } else {
        s->need = s->len;
        s->vkind = collect;
        s->vlen = 0;
        s->state = collect ? WSP_CS_COLLECT_ : WSP_CS_SKIP_;
        if (!s->need) {
            if (collect) wsp_certscan_value_(s);
            s->state = WSP_CS_TAG_;
        }
    }
}

static void wsp_certscan_(wsp_certscan_t_ *s, const unsigned char *p, size_t n)
{
    while (!s->broken) {
        size_t k;
        while (s->state == WSP_CS_TAG_ && s->depth && s->pos == s->end[s->depth - 1]) s->depth--;
        if (!n) return;
        if (s->depth == 0 && s->state == WSP_CS_TAG_ && s->pos) { s->broken = 1; return; }   /* past its end */
        switch (s->state) {
        case WSP_CS_TAG_:
            s->tag = *p;
            if ((s->tag & 0x1F) == 0x1F) { s->broken = 1; return; }   /* multi-byte tags: not in X.509 */
            s->state = WSP_CS_LEN_;
            k = 1;
            break;
        case WSP_CS_LEN_:
            k = 1;
            if (*p < 0x80) {
                s->len = *p;
                s->pos++;
                p++;
                n--;
                wsp_certscan_element_(s);
                continue;
            }
            s->lenbytes = *p & 0x7F;
            if (s->lenbytes == 0 || s->lenbytes > 3) { s->broken = 1; return; }   /* indefinite, or > 16 MiB */
            s->len = 0;
            s->state = WSP_CS_LENX_;
            break;
        case WSP_CS_LENX_:
            s->len = s->len << 8 | *p;
            s->pos++;
            p++;
            n--;
            if (--s->lenbytes == 0) wsp_certscan_element_(s);
            continue;
        default:   /* skip or collect the value */
            k = n < s->need ? n : (size_t)s->need;
            if (s->state == WSP_CS_COLLECT_) {
                size_t room = sizeof s->val - s->vlen, c = k < room ? k : room;
                memcpy(s->val + s->vlen, p, c);
                s->vlen += c;
                if (k > room) s->vlen = sizeof s->val + 1;   /* too long to match anything */
            }
            s->need -= (uint32_t)k;
            if (!s->need) {
                if (s->state == WSP_CS_COLLECT_) wsp_certscan_value_(s);
                s->state = WSP_CS_TAG_;
            }
            break;
        }
        s->pos += (uint32_t)k;
        p += k;
        n -= k;
    }
}

/* 1 when the certificate was walked to its end and no further. */
static int wsp_certscan_done_(wsp_certscan_t_ *s)
{
    wsp_certscan_(s, NULL, 0);   /* closes what ends here */
    return !s->broken && s->state == WSP_CS_TAG_ && s->depth == 0 && s->pos > 0;
}

WSPROXY_IMPL void wsproxy_cert_facts_get(const unsigned char *der, size_t len, const unsigned char *ip,
                                         size_t ip_len, wsproxy_cert_facts *out)
{
    wsp_certscan_t_ s;
    memset(out, 0, sizeof *out);
    if (!der) return;
    wsp_certscan_start_(&s, 1, ip, ip_len);
    wsp_certscan_(&s, der, len);
    out->readable = wsp_certscan_done_(&s);
    out->weak_signature = s.weak_sig;
    out->has_eku = s.has_eku;
    out->eku_server_auth = s.eku_server;
    out->ip_match = s.ip_match;
}

#ifndef WSPROXY_TLS_OPENSSL
/* -- the X.509 wrapper: BearSSL's minimal validator (without MD5 and SHA-1), plus the
   policy it lacks: extendedKeyUsage, iPAddress names, named refusals, no-verify -- */
static wsproxy_tls_hop *wsp_hop_of_(const br_x509_class *const *ctx)
{
    return (wsproxy_tls_hop *)(void *)((char *)(void *)(uintptr_t)ctx -
                                       offsetof(wsproxy_tls_hop, x509_vtable_));
}

static void wsp_x_start_chain_(const br_x509_class **ctx, const char *server_name)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->cert_index_ = 0;
    h->weak_seen_ = 0;
    h->xc_.vtable->start_chain(&h->xc_.vtable, h->insecure_ ? NULL : server_name);
    if (h->insecure_) br_x509_decoder_init(&h->dec_, NULL, NULL);
}

static void wsp_x_start_cert_(const br_x509_class **ctx, uint32_t length)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->xc_.vtable->start_cert(&h->xc_.vtable, length);
    wsp_certscan_start_(&h->scan_, h->cert_index_ == 0, h->check_ip_ ? h->ip_ : NULL, h->ip_len_);
}

static void wsp_x_append_(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->xc_.vtable->append(&h->xc_.vtable, buf, len);
    if (h->insecure_) {
        int trailing = 0;   /* a certificate longer than its DER: the key is still read */
        if (h->cert_index_ == 0) wsp_x509_push_(&h->dec_, &trailing, buf, len);
        return;
    }
    wsp_certscan_(&h->scan_, buf, len);
}

static void wsp_x_end_cert_(const br_x509_class **ctx)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    h->xc_.vtable->end_cert(&h->xc_.vtable);
    if (!h->insecure_) {
        int readable = wsp_certscan_done_(&h->scan_);
        if (h->scan_.weak_sig) h->weak_seen_ = 1;
        if (h->cert_index_ == 0)   /* the leaf's facts, for end_chain */
            h->leaf_ = (readable ? 1 : 0) | (h->scan_.has_eku ? 2 : 0) | (h->scan_.eku_server ? 4 : 0) |
                       (h->scan_.ip_match ? 8 : 0);
    }
    h->cert_index_++;
}

static unsigned wsp_x_end_chain_(const br_x509_class **ctx)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    unsigned err = h->xc_.vtable->end_chain(&h->xc_.vtable);
    if (h->insecure_) return 0;   /* the caller turned verification off for this hop */
    /* BearSSL refuses a signature whose hash it was not given: name why */
    if (err == BR_ERR_X509_UNSUPPORTED && h->weak_seen_) return WSPROXY_TLS_ERR_WEAK_SIGNATURE;
    if (err) return err;
    if (!(h->leaf_ & 1)) return WSPROXY_TLS_ERR_UNREADABLE;
    if ((h->leaf_ & 2) && !(h->leaf_ & 4)) return WSPROXY_TLS_ERR_EKU;
    if (h->check_ip_ && !(h->leaf_ & 8)) return BR_ERR_X509_BAD_SERVER_NAME;
    return 0;
}

static const br_x509_pkey *wsp_x_get_pkey_(const br_x509_class *const *ctx, unsigned *usages)
{
    wsproxy_tls_hop *h = wsp_hop_of_(ctx);
    if (h->insecure_) {
        if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
        return br_x509_decoder_get_pkey(&h->dec_);
    }
    return h->xc_.vtable->get_pkey(&h->xc_.vtable, usages);
}

static const br_x509_class wsp_x509_vtable_ = {
    sizeof(wsproxy_tls_hop), wsp_x_start_chain_, wsp_x_start_cert_, wsp_x_append_,
    wsp_x_end_cert_, wsp_x_end_chain_, wsp_x_get_pkey_
};

/* -- the client-certificate handler: BearSSL's single-certificate one (when the caller gave
   a certificate) behind a wrapper that notes the peer asked, so a refusal can be named -- */
static wsproxy_tls_hop *wsp_hop_of_cc_(const br_ssl_client_certificate_class *const *ctx)
{
    return (wsproxy_tls_hop *)(void *)((char *)(void *)(uintptr_t)ctx -
                                       offsetof(wsproxy_tls_hop, ccert_vtable_));
}

static void wsp_cc_start_list_(const br_ssl_client_certificate_class **ctx)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    h->cert_requested_ = 1;
    if (h->inner_cc_) (*h->inner_cc_)->start_name_list(h->inner_cc_);
}
static void wsp_cc_start_name_(const br_ssl_client_certificate_class **ctx, size_t len)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    if (h->inner_cc_) (*h->inner_cc_)->start_name(h->inner_cc_, len);
}
static void wsp_cc_append_name_(const br_ssl_client_certificate_class **ctx, const unsigned char *d, size_t len)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    if (h->inner_cc_) (*h->inner_cc_)->append_name(h->inner_cc_, d, len);
}
static void wsp_cc_end_name_(const br_ssl_client_certificate_class **ctx)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    if (h->inner_cc_) (*h->inner_cc_)->end_name(h->inner_cc_);
}
static void wsp_cc_end_list_(const br_ssl_client_certificate_class **ctx)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    if (h->inner_cc_) (*h->inner_cc_)->end_name_list(h->inner_cc_);
}
static void wsp_cc_choose_(const br_ssl_client_certificate_class **ctx, const br_ssl_client_context *cc,
                           uint32_t auth_types, br_ssl_client_certificate *choices)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    memset(choices, 0, sizeof *choices);   /* no certificate: an empty Certificate message */
    if (h->inner_cc_) (*h->inner_cc_)->choose(h->inner_cc_, cc, auth_types, choices);
    h->cert_sent_ = choices->chain_len > 0;
}
static uint32_t wsp_cc_keyx_(const br_ssl_client_certificate_class **ctx, unsigned char *data, size_t *len)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    return h->inner_cc_ ? (*h->inner_cc_)->do_keyx(h->inner_cc_, data, len) : 0;
}
static size_t wsp_cc_sign_(const br_ssl_client_certificate_class **ctx, int hash_id, size_t hv_len,
                           unsigned char *data, size_t len)
{
    wsproxy_tls_hop *h = wsp_hop_of_cc_(ctx);
    return h->inner_cc_ ? (*h->inner_cc_)->do_sign(h->inner_cc_, hash_id, hv_len, data, len) : 0;
}

static const br_ssl_client_certificate_class wsp_ccert_vtable_ = {
    sizeof(wsproxy_tls_hop), wsp_cc_start_list_, wsp_cc_start_name_, wsp_cc_append_name_,
    wsp_cc_end_name_, wsp_cc_end_list_, wsp_cc_choose_, wsp_cc_keyx_, wsp_cc_sign_
};

#endif /* WSPROXY_TLS_OPENSSL */

/* A hop's failure, named from what the engine cannot know: the peer's first bytes (plain
   HTTP, an alert at once), and whether it had asked for a client certificate. */
static int wsp_tls_name_error_(const wsproxy_tls_hop *h, int err)
{
#ifdef WSPROXY_TLS_OPENSSL   /* TLS 1.3: the peer judges our certificate after our handshake */
    if (h->handshake_done_ && h->confirmed_) return err;
#else
    if (h->handshake_done_) return err;
#endif
    if (h->first_n_ == 5 && memcmp(h->first_, "HTTP/", 5) == 0) return WSPROXY_TLS_ERR_PLAIN_HTTP;
    if (err == BR_ERR_RECV_FATAL_ALERT + 40 && h->first_n_ == 5 && h->first_[0] == 21)
        return WSPROXY_TLS_ERR_NO_SUITE;
    if (h->cert_requested_ && (err == WSPROXY_TLS_ERR_CLOSED || (err >= BR_ERR_RECV_FATAL_ALERT &&
                                                              err < BR_ERR_SEND_FATAL_ALERT)))
        return h->cert_sent_ ? WSPROXY_TLS_ERR_CERT_REFUSED : WSPROXY_TLS_ERR_CERT_REQUIRED;
    return err;
}

/* The hop a public call names (WSPROXY_HOP_PROXY or _TARGET) once its handshake is
   done, else NULL: what the session and info getters may read. */
static const wsproxy_tls_hop *wsp_tls_done_hop_(const wsproxy_client *c, int hop)
{
    const wsproxy_tls_hop *h = hop == WSPROXY_HOP_PROXY ? c->tls_[0] : hop == WSPROXY_HOP_TARGET ? c->tls_[1] : NULL;
    return h && h->handshake_done_ ? h : NULL;
}


#ifdef WSPROXY_TLS_OPENSSL
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* -- OpenSSL: the context every hop starts from, with the policy of the BearSSL stage:
   TLS 1.2 and 1.3; ECDHE with AEAD suites in a browser's order (tls_compat adds ECDHE with
   AES-CBC and SHA-256/384 MACs per connection); TLS 1.3's three AEAD suites; no MD5 or
   SHA-1 signature offered (the list) or accepted in a chain (security level 2, which also
   wants RSA keys of 2048 bits); serverAuth in the leaf's extendedKeyUsage (the purpose);
   client sessions kept by the hop, not by a cache; no renegotiation. -- */
#define WSP_OSSL_AEAD_ "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
                       "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
                       "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define WSP_OSSL_CBC_ ":ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:" \
                      "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384"
#define WSP_OSSL_TLS13_ "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define WSP_OSSL_SIGALGS_ "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448:" \
                          "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:" \
                          "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:" \
                          "RSA+SHA256:RSA+SHA384:RSA+SHA512"

/* A session the peer gave (a TLS 1.3 ticket comes after the handshake): the hop keeps
   the last one, for wsproxy_tls_session_save and a reconnection to the proxy. */
static int wsp_ossl_new_session_(SSL *s, SSL_SESSION *sess)
{
    wsproxy_tls_hop *h = (wsproxy_tls_hop *)SSL_get_app_data(s);
    if (!h) return 0;
    if (h->session_) SSL_SESSION_free(h->session_);
    h->session_ = sess;
    h->confirmed_ = 1;   /* the peer spoke after the handshake: it took our certificate */
    return 1;
}

/* The chain check's one exception to OpenSSL's serverAuth purpose: a leaf whose
   extendedKeyUsage lists anyExtendedKeyUsage is accepted, as with BearSSL. */
static int wsp_ossl_verify_(int ok, X509_STORE_CTX *x)
{
    if (!ok && X509_STORE_CTX_get_error(x) == X509_V_ERR_INVALID_PURPOSE &&
        X509_STORE_CTX_get_error_depth(x) == 0) {
        X509 *leaf = X509_STORE_CTX_get_current_cert(x);
        if (leaf && (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) &&
            (X509_get_extended_key_usage(leaf) & XKU_ANYEKU)) {
            X509_STORE_CTX_set_error(x, X509_V_OK);
            return 1;
        }
    }
    return ok;
}

static SSL_CTX *wsp_ossl_ctx_new_(void)
{
    SSL_CTX *x = SSL_CTX_new(TLS_client_method());
    if (!x) return NULL;
    if (!SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(x, TLS1_3_VERSION) ||
        !SSL_CTX_set_cipher_list(x, WSP_OSSL_AEAD_) || !SSL_CTX_set_ciphersuites(x, WSP_OSSL_TLS13_) ||
        !SSL_CTX_set1_sigalgs_list(x, WSP_OSSL_SIGALGS_) ||
        !X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(x), X509_PURPOSE_SSL_SERVER)) {
        SSL_CTX_free(x);
        ERR_clear_error();
        return NULL;
    }
    SSL_CTX_set_security_level(x, 2);
    SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* OpenSSL's own record buffers are let go of between records: the hop's staging in
       the arena holds what waits, so an idle connection keeps about 30 KiB less heap */
    SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(x, wsp_ossl_new_session_);
    SSL_CTX_set_verify(x, SSL_VERIFY_PEER, wsp_ossl_verify_);
    X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(x), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return x;
}

/* PEM text in memory as a read-only BIO (NULL when too long for OpenSSL's int). */
static BIO *wsp_ossl_pem_bio_(const char *pem, size_t len)
{
    return len <= 0x7FFFFFFF ? BIO_new_mem_buf(pem, (int)len) : NULL;
}

/* After reading PEM objects until none is left: 1 when the input simply ended. */
static int wsp_ossl_pem_ended_(void)
{
    unsigned long e = ERR_peek_last_error();
    int clean = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    return clean;
}

/* PEM objects are never decrypted: a key that asks for a password is refused. */
static int wsp_ossl_no_password_(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag;
    *(int *)u = 1;
    return 0;
}

WSPROXY_IMPL int wsproxy_tls_trust_pem(wsproxy_tls_trust *t, const char *pem, size_t len, void *mem,
                                       size_t mem_len, size_t *needed)
{
    BIO *b;
    X509 *x;
    int asked = 0, clean;
    (void)mem; (void)mem_len;   /* OpenSSL keeps the certificates itself */
    if (needed) *needed = 0;
    if (!t || !needed || (!pem && len)) return WSPROXY_E_ARGUMENT;
    memset(t, 0, sizeof *t);
    ERR_clear_error();
    if (!(b = wsp_ossl_pem_bio_(pem ? pem : "", len))) return WSPROXY_E_PEM_SYNTAX;
    if (!(t->ctx_ = wsp_ossl_ctx_new_())) { BIO_free(b); return WSPROXY_E_UNSUPPORTED; }
    while ((x = PEM_read_bio_X509(b, NULL, wsp_ossl_no_password_, &asked)) != NULL) {
        int added = X509_STORE_add_cert(SSL_CTX_get_cert_store(t->ctx_), x);
        X509_free(x);
        if (!added) break;
        t->count++;
    }
    clean = wsp_ossl_pem_ended_();
    BIO_free(b);
    if (!clean || !t->count) {
        wsproxy_tls_trust_free(t);
        return WSPROXY_E_PEM_SYNTAX;
    }
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_tls_trust_system(wsproxy_tls_trust *t)
{
    if (!t) return WSPROXY_E_ARGUMENT;
    memset(t, 0, sizeof *t);
    if (!(t->ctx_ = wsp_ossl_ctx_new_())) return WSPROXY_E_UNSUPPORTED;
    if (!SSL_CTX_set_default_verify_paths(t->ctx_)) {
        wsproxy_tls_trust_free(t);
        ERR_clear_error();
        return WSPROXY_E_UNSUPPORTED;
    }
    t->count = (size_t)sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(t->ctx_)));
    t->system_ = 1;
    return WSPROXY_OK;
}

WSPROXY_IMPL void wsproxy_tls_trust_free(wsproxy_tls_trust *t)
{
    if (!t) return;
    SSL_CTX_free(t->ctx_);   /* connections that use it hold their own reference */
    memset(t, 0, sizeof *t);
}

WSPROXY_IMPL int wsproxy_tls_identity_pem(wsproxy_tls_identity *id, const char *chain_pem, size_t chain_len,
                                          const char *key_pem, size_t key_len, void *mem, size_t mem_len,
                                          size_t *needed)
{
    BIO *b;
    X509 *x;
    int asked = 0, rc = WSPROXY_OK;
    (void)mem; (void)mem_len;
    if (needed) *needed = 0;
    if (!id || !needed || (!chain_pem && chain_len) || (!key_pem && key_len)) return WSPROXY_E_ARGUMENT;
    memset(id, 0, sizeof *id);
    ERR_clear_error();
    if (!(b = wsp_ossl_pem_bio_(chain_pem ? chain_pem : "", chain_len))) return WSPROXY_E_PEM_SYNTAX;
    while ((x = PEM_read_bio_X509(b, NULL, wsp_ossl_no_password_, &asked)) != NULL) {
        if (!id->cert_) id->cert_ = x;
        else if ((id->chain_ || (id->chain_ = sk_X509_new_null()) != NULL) && sk_X509_push(id->chain_, x)) {}
        else { X509_free(x); rc = WSPROXY_E_PEM_SYNTAX; break; }
        id->chain_len++;
    }
    if (!wsp_ossl_pem_ended_() || !id->cert_) rc = WSPROXY_E_PEM_SYNTAX;
    BIO_free(b);
    if (!rc) {
        if (!(b = wsp_ossl_pem_bio_(key_pem ? key_pem : "", key_len))) rc = WSPROXY_E_PEM_SYNTAX;
        else {
            id->key_ = PEM_read_bio_PrivateKey(b, NULL, wsp_ossl_no_password_, &asked);
            if (!id->key_) rc = asked ? WSPROXY_E_PEM_ENCRYPTED : WSPROXY_E_PEM_SYNTAX;
            BIO_free(b);
        }
    }
    ERR_clear_error();
    if (rc) wsproxy_tls_identity_free(id);
    return rc;
}

WSPROXY_IMPL void wsproxy_tls_identity_free(wsproxy_tls_identity *id)
{
    if (!id) return;
    X509_free(id->cert_);
    sk_X509_pop_free(id->chain_, X509_free);
    EVP_PKEY_free(id->key_);   /* OpenSSL clears the key's numbers as it frees them */
    memset(id, 0, sizeof *id);
}
#endif /* WSPROXY_TLS_OPENSSL */

#endif /* WSPROXY_NO_TLS */

/* ==== 7. the frames stage alone (wsproxy_frames): codec and message layer =================================== */
/* UTF-8 validation fused with the copy into a message buffer: one pass over the bytes. */
#if defined(__GNUC__) || defined(__clang__)
#define WSP_PREFETCH_(p) __builtin_prefetch((const void *)(uintptr_t)(p))
#else
#define WSP_PREFETCH_(p) ((void)0)
#endif

#if defined(WSP_SSE2_) && !defined(WSP_AVX2_ALWAYS_)
/* From src + i, 64-byte blocks while they are ASCII; when fewer than 64 bytes are left,
   the last 64 bytes as one more block, overlapping what was copied (an ASCII tail costs
   one more block, not a call per piece of a stream). Returns len when all of it was
   ASCII and copied, else where the copy stopped: a block that is not all ASCII starts
   there, or fewer than 64 bytes are left. With 128 bytes or more to go, the first
   block is stored where dst + i falls and the rest from dst's next 64-byte boundary:
   a message buffer filled 1,500 bytes at a time is seldom aligned, and stores that
   cross lines held text read so to 0.73-0.77x memcpy with AVX2 and 0.71-0.74x with
   SSE2 (aligned: 0.86-0.89x and 0.78-0.79x, bench row 2).
   The prefetch keeps a stream read in 1,500-byte pieces near the speed of a whole one;
   where it sits in each version is where it measured best. */
static size_t wsp_ascii_copy_sse2_(unsigned char *dst, const unsigned char *src, size_t i, size_t len)
{
    size_t stopped = 0;   /* where the blocks stopped when the last one overlaps them */
    if (len - i >= 128) {   /* one block, then on from dst's next 64-byte line */
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) return i;
        _mm_storeu_si128((__m128i *)(void *)(dst + i), a);
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 16), b);
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 32), c);
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 48), d);
        i += 64 - ((uintptr_t)(dst + i) & 63);
    }
    for (;;) {
        __m128i a, b, c, d;
        if (i + 64 > len) {
            if (i >= len || len < 64) return i;
            stopped = i;
            i = len - 64;   /* the last block, overlapping what was copied */
        }
        a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        b = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 16));
        c = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 32));
        d = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 48));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))))
            return i > stopped ? i : stopped;
        _mm_storeu_si128((__m128i *)(void *)(dst + i), a);
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 16), b);
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 32), c);
        _mm_storeu_si128((__m128i *)(void *)(dst + i + 48), d);
        WSP_PREFETCH_((uintptr_t)src + i + 512);
        i += 64;
    }
}
#endif

#ifdef WSP_AVX2_
/* wsp_ascii_copy_sse2_ in 32-byte registers, for CPUs that have them: half the
   instructions per block, and text copied out as fast as memcpy copies. */
__attribute__((target("avx2"))) static size_t wsp_ascii_copy_avx2_(unsigned char *dst,
                                                                   const unsigned char *src,
                                                                   size_t i, size_t len)
{
    size_t stopped = 0;   /* where the blocks stopped when the last one overlaps them */
    if (len - i >= 128) {   /* one block, then on from dst's next 64-byte line */
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 32));
        if (_mm256_movemask_epi8(_mm256_or_si256(a, b))) return i;
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), a);
        _mm256_storeu_si256((__m256i *)(void *)(dst + i + 32), b);
        i += 64 - ((uintptr_t)(dst + i) & 63);
    }
    for (;;) {
        __m256i a, b;
        if (i + 64 > len) {
            if (i >= len || len < 64) return i;
            stopped = i;
            i = len - 64;
        }
        a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
        b = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + 32));
        WSP_PREFETCH_((uintptr_t)src + i + 512);
        if (_mm256_movemask_epi8(_mm256_or_si256(a, b))) return i > stopped ? i : stopped;
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), a);
        _mm256_storeu_si256((__m256i *)(void *)(dst + i + 32), b);
        i += 64;
    }
}
#endif

static size_t wsp_utf8_copy_(uint32_t *state, unsigned char *dst, const unsigned char *src,
                             size_t len)
{
    uint64_t st;
    size_t i = 0;
    if (*state == WSP_UTF8_REJECT_) return 0;
    st = *state & 63;
    while (i < len) {
        size_t end;
        uint64_t before;
        if (st == 0) {
#if defined(WSP_AVX2_ALWAYS_)
            i = wsp_ascii_copy_avx2_(dst, src, i, len);
            if (i == len) break;
#elif defined(WSP_AVX2_)
            i = __builtin_cpu_supports("avx2") ? wsp_ascii_copy_avx2_(dst, src, i, len)
                                               : wsp_ascii_copy_sse2_(dst, src, i, len);
            if (i == len) break;
#elif defined(WSP_SSE2_)
            i = wsp_ascii_copy_sse2_(dst, src, i, len);
            if (i == len) break;
#endif
            while (i + 32 <= len) {
                uint64_t a, b, c, d;
                memcpy(&a, src + i, 8); memcpy(&b, src + i + 8, 8);
                memcpy(&c, src + i + 16, 8); memcpy(&d, src + i + 24, 8);
                memcpy(dst + i, &a, 8); memcpy(dst + i + 8, &b, 8);
                memcpy(dst + i + 16, &c, 8); memcpy(dst + i + 24, &d, 8);
                if ((a | b | c | d) & 0x8080808080808080ull) break;
                i += 32;
            }
            if (len - i < 32 && wsp_ascii_(src + i, len - i)) {   /* an ASCII tail */
                memcpy(dst + i, src + i, len - i);
                break;
            }
            if (i == len) break;
        }
        end = len - i < 32 ? len : i + 32;
        memcpy(dst + i, src + i, end - i);
        before = st;
        st = wsp_utf8_run_(st, src, i, end) & 63;
        if (st == WSP_UTF8_REJ_STATE_) {
            *state = WSP_UTF8_REJECT_;
            return wsp_utf8_first_bad_(before, src, i, end);
        }
        i = end;
    }
    *state = (uint32_t)st;
    return len;
}

/* The close code a peer fault is answered with (RFC 6455 7.4.1). */
static int wsp_close_code_for_(int err)
{
    if (err == WSPROXY_E_WS_INVALID_UTF8 || err == WSPROXY_E_WS_INFLATE) return 1007;
    if (err == WSPROXY_E_WS_MESSAGE_TOO_BIG) return 1009;
    return 1002;
}

static int wsp_valid_close_code_(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

#ifdef WSPROXY_DEFLATE
#define WSP_RSV_OK_(f) ((f)->zin_ ? 4 : 0)
#define WSP_COMPRESSED_(f) ((f)->compressed_)
#else
#define WSP_RSV_OK_(f) 0
#define WSP_COMPRESSED_(f) 0
#endif

/* Whether the short-frame and copy paths may run: kept after every call that changes
   the state. */
static void wsp_frames_recheck_(wsproxy_frames *f)
{
    f->plain_ = !(f->msg_opcode_ | f->in_payload_ | f->error_ | f->closed_) && !f->stage_len_ && !f->msg_buf_ &&
                f->max_message_ >= 125;
    f->bulk_ = f->in_payload_ && f->msg_buf_ && !(f->error_ | f->closed_ | WSP_COMPRESSED_(f));
}

WSPROXY_IMPL void wsproxy_frames_init(wsproxy_frames *f, uint64_t max_message,
                                      unsigned char *message_buffer, size_t message_buffer_len)
{
    memset(f, 0, sizeof *f);
    f->max_message_ = max_message ? max_message : WSPROXY_DEFAULT_MAX_MESSAGE;
    if (message_buffer && message_buffer_len) {
        f->msg_buf_ = message_buffer;
        f->msg_cap_ = message_buffer_len;
        if (f->max_message_ > message_buffer_len) f->max_message_ = message_buffer_len;
    }
    wsp_frames_recheck_(f);
}

WSPROXY_IMPL int wsproxy_frames_error(const wsproxy_frames *f) { return f->error_; }

static int wsp_frames_fault_(wsproxy_frames *f, int code, wsproxy_event *ev)
{
    memset(ev, 0, sizeof *ev);
    f->error_ = code;
    ev->type = WSPROXY_EV_ERROR;
    ev->close_code = wsp_close_code_for_(code);
    return 1;
}

static void wsp_frames_end_message_(wsproxy_frames *f)
{
    f->msg_opcode_ = 0;
    f->msg_delivered_ = 0;
    f->msg_len_ = 0;
    f->msg_frames_ = 0;
    f->utf8_ = 0;
    f->msg_fill_ = 0;
#ifdef WSPROXY_DEFLATE
    f->compressed_ = 0;
    f->inflated_ = 0;
#endif
}

/* A whole control frame (payload p, at most 125 bytes) into an event. */
static int wsp_frames_control_(wsproxy_frames *f, const wsproxy_frame_header *h,
                               const unsigned char *p, wsproxy_event *ev)
{
    size_t len = (size_t)h->payload_len;
    ev->data = p;
    ev->len = len;
    if (h->opcode == WSPROXY_OP_PING) { ev->type = WSPROXY_EV_PING; return 1; }
    if (h->opcode == WSPROXY_OP_PONG) { ev->type = WSPROXY_EV_PONG; return 1; }
    if (len == 1) return wsp_frames_fault_(f, WSPROXY_E_WS_CLOSE_PAYLOAD, ev);
    ev->close_code = 1005;
    if (len >= 2) {
        uint32_t st = 0;
        unsigned code = (unsigned)p[0] << 8 | p[1];
        if (!wsp_valid_close_code_(code)) return wsp_frames_fault_(f, WSPROXY_E_WS_CLOSE_CODE, ev);
        if (wsproxy_utf8_validate(&st, p + 2, len - 2) != len - 2 || !wsproxy_utf8_done(st))
            return wsp_frames_fault_(f, WSPROXY_E_WS_INVALID_UTF8, ev);
        ev->close_code = (int)code;
        ev->data = p + 2;
        ev->len = len - 2;
    }
    f->closed_ = 1;
    ev->type = WSPROXY_EV_CLOSE;
    return 1;
}

/* A data frame's header was read: the message layer's checks, then its payload. */
static int wsp_frames_begin_data_(wsproxy_frames *f, const wsproxy_frame_header *h,
                                  wsproxy_event *ev)
{
    uint64_t limit = f->max_message_;
    if (h->opcode == WSPROXY_OP_CONTINUATION && !f->msg_opcode_)
        return wsp_frames_fault_(f, WSPROXY_E_WS_CONTINUATION, ev);
    if (h->opcode != WSPROXY_OP_CONTINUATION) {
        if (f->msg_opcode_) return wsp_frames_fault_(f, WSPROXY_E_WS_EXPECTED_CONTINUATION, ev);
        wsp_frames_end_message_(f);
        f->msg_opcode_ = h->opcode;
#ifdef WSPROXY_DEFLATE
        f->compressed_ = (h->rsv & 4) != 0;
#endif
    } else if (h->rsv) {
        return wsp_frames_fault_(f, WSPROXY_E_WS_RESERVED_BITS, ev);   /* RSV1 on the first frame only */
    }
    /* empty continuation frames cost work and carry nothing: a message may have only so many */
    if (++f->msg_frames_ > WSPROXY_MAX_MESSAGE_FRAMES)
        return wsp_frames_fault_(f, WSPROXY_E_WS_MESSAGE_TOO_BIG, ev);
    /* compressed, the limit is on the inflated size; the compressed bytes may be a little
       more than that (stored blocks, flushes), not without end */
    if (WSP_COMPRESSED_(f)) limit += limit / 8 + 4096;
    if (h->payload_len > limit - f->msg_len_)
        return wsp_frames_fault_(f, WSPROXY_E_WS_MESSAGE_TOO_BIG, ev);   /* before any of it arrives */
    f->msg_len_ += h->payload_len;
    f->fin_ = h->fin;
    f->remaining_ = h->payload_len;
    f->in_payload_ = 1;
    return 0;
}

#ifdef WSPROXY_DEFLATE
/* Inflates in[0..n) and then, when last, the 00 00 ff ff tail that RFC 7692 7.2.1 has
   the sender take off, into out[0..cap); *in_used and *made say how far it got. Returns
   0 or the fault. A block with BFINAL ends the DEFLATE stream (7.2.3.4): bytes after it
   start a new stream over the same window, and the tail is not fed. */
static int wsp_inflate_run_(wsproxy_frames *f, const unsigned char *in, size_t n, int last,
                            size_t *in_used, unsigned char *out, size_t cap, size_t *made)
{
    static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
    z_stream *z = (z_stream *)f->zin_;
    *in_used = *made = 0;
    while (*made < cap) {
        const unsigned char *src = in + *in_used;
        size_t srcn = n - *in_used, took, gave;
        uInt ai, ao;
        int tailing = 0, r;
        if (srcn && f->z_ended_) {   /* inflateResetKeep: a new stream, the window kept */
            inflateResetKeep(z);
            f->z_ended_ = 0;
        }
        if (!srcn && last && !f->z_ended_ && f->z_tail_ < 4) {
            src = tail + f->z_tail_;
            srcn = (size_t)(4 - f->z_tail_);
            tailing = 1;
        }
        if (f->z_ended_) break;
        ai = srcn > (1u << 30) ? (1u << 30) : (uInt)srcn;
        ao = cap - *made > (1u << 30) ? (1u << 30) : (uInt)(cap - *made);
        z->next_in = (Bytef *)src;
        z->avail_in = ai;
        z->next_out = out + *made;
        z->avail_out = ao;
        r = inflate(z, Z_SYNC_FLUSH);
        took = ai - z->avail_in;
        gave = ao - z->avail_out;
        if (tailing) f->z_tail_ += (int)took;
        else *in_used += took;
        *made += gave;
        if (r == Z_STREAM_END) f->z_ended_ = 1;
        else if (r == Z_MEM_ERROR) return WSPROXY_E_DEFLATE_ARENA;
        else if (r != Z_OK && r != Z_BUF_ERROR) return WSPROXY_E_WS_INFLATE;
        if (!took && !gave && !f->z_ended_) break;   /* it needs bytes that are not here yet */
    }
    return 0;
}

/* The payload of a compressed message: inflated into the message buffer, or into the
   chunk buffer and given out from there. The limit is on the inflated size: at the
   limit one byte more is inflated, into a byte on the stack, to tell 1009, so a
   decompression bomb costs neither memory nor more CPU than the limit's worth.
   Returns 1 with *ev (a chunk, the whole message, or a fault), else 0 with all of
   the payload that is here used; *took counts the payload bytes used. */
static int wsp_inflate_step_(wsproxy_frames *f, const unsigned char *p, size_t avail, size_t *took,
                             wsproxy_event *ev)
{
    size_t n = f->remaining_ < avail ? (size_t)f->remaining_ : avail, used = 0, made = 0, cap;
    uint64_t left = f->max_message_ - f->inflated_;
    int last = f->fin_ && n == f->remaining_, drained, msg_done, rc;
    unsigned char *dst;
    if (f->msg_buf_) {   /* max_message <= its size */
        dst = f->msg_buf_ + f->msg_fill_;
        cap = (size_t)left;
    } else {
        dst = f->zchunk_;
        cap = f->zchunk_cap_ < left ? f->zchunk_cap_ : (size_t)left;
    }
    rc = wsp_inflate_run_(f, p, n, last, &used, dst, cap, &made);
    if (!rc && made == left) {
        unsigned char probe;
        size_t more_used = 0, more = 0;
        rc = wsp_inflate_run_(f, p + used, n - used, last, &more_used, &probe, 1, &more);
        used += more_used;
        if (more) rc = WSPROXY_E_WS_MESSAGE_TOO_BIG;   /* the byte past the limit came before any fault */
    }
    f->remaining_ -= used;
    *took = used;
    /* what was inflated before a fault comes first in the stream: bad text in it is the
       fault, however the bytes were split */
    if (rc && made && f->msg_opcode_ == WSPROXY_OP_TEXT && wsproxy_utf8_validate(&f->utf8_, dst, made) != made)
        rc = WSPROXY_E_WS_INVALID_UTF8;
    if (rc) return wsp_frames_fault_(f, rc, ev);
    f->inflated_ += made;
    if (f->msg_opcode_ == WSPROXY_OP_TEXT && wsproxy_utf8_validate(&f->utf8_, dst, made) != made)
        return wsp_frames_fault_(f, WSPROXY_E_WS_INVALID_UTF8, ev);
    drained = made < cap || made == left;
    msg_done = f->fin_ && !f->remaining_ && drained && (f->z_ended_ || f->z_tail_ == 4);
    f->in_payload_ = !(f->remaining_ == 0 && drained);
    if (msg_done && f->msg_opcode_ == WSPROXY_OP_TEXT && !wsproxy_utf8_done(f->utf8_))
        return wsp_frames_fault_(f, WSPROXY_E_WS_INVALID_UTF8, ev);
    if (f->msg_buf_) {
        f->msg_fill_ += made;
        if (!msg_done) return 0;
        ev->data = f->msg_buf_;
        ev->len = f->msg_fill_;
        ev->first = 1;
    } else {
        if (!made && !msg_done) return 0;
        ev->data = dst;
        ev->len = made;
        ev->first = !f->msg_delivered_;
        f->msg_delivered_ = 1;
    }
    ev->type = WSPROXY_EV_MESSAGE;
    ev->opcode = f->msg_opcode_;
    ev->fin = msg_done;
    if (msg_done) {   /* the window goes on to the next message unless the server said not */
        if (f->zin_reset_) inflateReset((z_stream *)f->zin_);
        else if (f->z_ended_) inflateResetKeep((z_stream *)f->zin_);
        f->z_ended_ = f->z_tail_ = 0;
        wsp_frames_end_message_(f);
    }
    return 1;
}
#endif

/* Whether q[0..n) (n <= n_max < 126) is ASCII: up to 16 bytes in two overlapping
   words, longer runs in overlapping 16-byte blocks (SSE2) or a word at a time. */
static WSP_INLINE_ int wsp_short_ascii_(const unsigned char *q, size_t n, size_t n_max)
{
#ifdef WSP_SSE2_
    if (n_max > 16 && n > 16) {
        /* 17 to 125 bytes: 16-byte blocks from each end, overlapping in the middle, no
           loop (as wsproxy_mask's short payloads) */
        const unsigned char *e = q + n;
        __m128i acc = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)q),
                                   _mm_loadu_si128((const __m128i *)(const void *)(e - 16)));
        if (n > 32) {
            acc = _mm_or_si128(acc, _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(q + 16)),
                                                 _mm_loadu_si128((const __m128i *)(const void *)(e - 32))));
            if (n > 64) {
                __m128i front = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(q + 32)),
                                             _mm_loadu_si128((const __m128i *)(const void *)(q + 48)));
                __m128i back = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(e - 48)),
                                            _mm_loadu_si128((const __m128i *)(const void *)(e - 64)));
                acc = _mm_or_si128(acc, _mm_or_si128(front, back));
            }
        }
        return !_mm_movemask_epi8(acc);
    }
#endif
    if (n >= 8) {
        uint64_t a, b;
        size_t i;
        memcpy(&a, q, 8);
        memcpy(&b, q + n - 8, 8);
        if (n_max > 16)
            for (i = 8; i + 8 < n; i += 8) {
                uint64_t w;
                memcpy(&w, q + i, 8);
                a |= w;
            }
        return !((a | b) & 0x8080808080808080ull);
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, q, 4);
        memcpy(&b, q + n - 4, 4);
        return !((a | b) & 0x80808080u);
    }
    return !n || !((q[0] | q[n >> 1] | q[n - 1]) & 0x80);
}

/* The common frame: a whole unfragmented text or binary message of up to 125 bytes,
   here already, outside any message, with no message buffer and nothing staged, binary
   or ASCII text. Its event is filled and the bytes it used returned; 0 sends the caller
   down the general path (which validates other text, and fails invalid text at the
   right byte). It calls nothing, so the common case needs no stack frame; with
   text_max 16, text longer than that is left to the caller's next step, so that the
   path stays within scratch registers. */
static WSP_INLINE_ size_t wsp_frames_fast_(const wsproxy_frames *f, const unsigned char *p, size_t avail,
                                           wsproxy_event *ev, size_t text_max)
{
    size_t plen;
    unsigned b0;
    if (!f->plain_ || avail < 2) return 0;
    b0 = p[0];
    plen = p[1];
    if (plen >= 126 || avail - 2 < plen) return 0;   /* short, here */
    /* 0x82 (binary) or 0x81 (text, up to text_max <= 125 bytes, when ASCII; the general
       path checks other text) */
    if (b0 != 0x82 && (b0 != 0x81 || plen > text_max || !wsp_short_ascii_(p + 2, plen, text_max))) return 0;
    ev->type = WSPROXY_EV_MESSAGE;
    ev->opcode = (int)(b0 & 15);
    ev->first = ev->fin = 1;
    ev->data = p + 2;
    ev->len = plen;
    ev->status = ev->close_code = 0;
    ev->protocol = NULL;
    return 2 + plen;
}

static int wsp_frames_read_all_(wsproxy_frames *f, const unsigned char *data, size_t len, size_t *used,
                                wsproxy_event *ev);

/* n payload bytes into the message buffer after what it holds (msg_fill_ is the
   caller's to move), text checked in the same pass: 0, or -1 at bad text. */
static int wsp_frames_gather_(wsproxy_frames *f, const unsigned char *p, size_t n)
{
    unsigned char *dst = f->msg_buf_ + f->msg_fill_;
    if (f->msg_opcode_ == WSPROXY_OP_TEXT) {
        if (wsp_utf8_copy_(&f->utf8_, dst, p, n) != n) return -1;
    } else {
        memcpy(dst, p, n);
    }
    WSP_STAT_(f->copied_ += n);
    return 0;
}

/* A read that ends inside a frame, seen from both sides, without the general path:
   the start of a short data frame that the input cuts, the rest of an unbuffered,
   uncompressed frame that is all here, and an empty input. Binary, or text when the
   bytes are ASCII and no code point is open (the general path checks other text and
   fails bad text at its byte). Returns the call's result, or -1 for the general path. */
static WSP_INLINE_ int wsp_frames_cut_(wsproxy_frames *f, const unsigned char *p, size_t len,
                                       size_t *used, wsproxy_event *ev)
{
    size_t n;
    int opcode = f->msg_opcode_;
    if (!len) {
        /* zlib may still hold output; a frame whose payload the caller's socket wrote
           into the message buffer (wsp_frames_direct_) may be complete */
        if (WSP_COMPRESSED_(f) || (f->in_payload_ && !f->remaining_)) return -1;
        memset(ev, 0, sizeof *ev);
        *used = 0;
        return 0;
    }
    if (f->plain_) {
        /* nothing open: a whole header, then fewer payload bytes than it announces */
        if (len <= 2 || (p[0] != 0x82 && p[0] != 0x81)) return -1;
        n = p[1];
        if (n >= 126 || len - 2 >= n) return -1;
        if (p[0] == 0x81 && !wsp_short_ascii_(p + 2, len - 2, 125)) return -1;
        opcode = p[0] & 15;
        /* what wsp_frames_begin_data_ does for it, without its checks: with nothing open
           and max_message_ >= 125 (plain_), none of them can fail */
        f->msg_opcode_ = opcode;
        f->msg_len_ = n;
        f->msg_frames_ = 1;
        f->fin_ = 1;
        f->remaining_ = n - (len - 2);
        f->in_payload_ = 1;
        f->msg_delivered_ = 1;
        f->plain_ = 0;   /* bulk_ stays 0: there is no message buffer */
        ev->first = 1;
        ev->fin = 0;
        ev->data = p + 2;
        ev->len = len - 2;
        *used = len;
    } else {
        /* the rest of a frame, all here */
        if (!f->in_payload_ || f->msg_buf_ || (f->error_ | f->closed_ | WSP_COMPRESSED_(f)) ||
            f->remaining_ > len)
            return -1;
        n = (size_t)f->remaining_;
        if (opcode == WSPROXY_OP_TEXT && (n > 125 || f->utf8_ || !wsp_short_ascii_(p, n, 125))) return -1;
        ev->first = !f->msg_delivered_;
        ev->fin = f->fin_;
        ev->data = p;
        ev->len = n;
        *used = n;
        f->remaining_ = 0;
        f->in_payload_ = 0;
        f->msg_delivered_ = 1;
        if (f->fin_) {
            wsp_frames_end_message_(f);
            wsp_frames_recheck_(f);
        }
    }
    ev->type = WSPROXY_EV_MESSAGE;
    ev->opcode = opcode;
    ev->status = ev->close_code = 0;
    ev->protocol = NULL;
    return 1;
}

/* Everything the two paths before it leave; out of line, so they need no frame. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int wsp_frames_read_slow_(wsproxy_frames *f, const unsigned char *data, size_t len, size_t *used,
                                 wsproxy_event *ev)
{
    int r;
    if (f->bulk_ && len < f->remaining_) {
        /* inside a frame's payload, gathered in the message buffer, and all of data is
           payload: one copy, no event */
        if (wsp_frames_gather_(f, data, len) != 0) {
            *used = 0;
            wsp_frames_fault_(f, WSPROXY_E_WS_INVALID_UTF8, ev);   /* at the first bad byte */
            wsp_frames_recheck_(f);
            return 1;
        }
        f->msg_fill_ += len;
        f->remaining_ -= len;
        *used = len;
        ev->type = WSPROXY_EV_NONE;
        return 0;
    }
    r = wsp_frames_read_all_(f, data, len, used, ev);
    wsp_frames_recheck_(f);
    return r;
}

/* The next most common cases, in a function of their own: few registers to save, where
   the general path needs many. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int wsp_frames_read_next_(wsproxy_frames *f, const unsigned char *data, size_t len, size_t *used,
                                 wsproxy_event *ev)
{
    size_t n = wsp_frames_fast_(f, data, len, ev, 125);   /* short ASCII text over 16 bytes */
    int r;
    if (n) {
        *used = n;
        return 1;
    }
    r = wsp_frames_cut_(f, data, len, used, ev);
    if (r >= 0) return r;
    return wsp_frames_read_slow_(f, data, len, used, ev);
}

WSPROXY_IMPL int wsproxy_frames_read(wsproxy_frames *f, const unsigned char *data, size_t len,
                                     size_t *used, wsproxy_event *ev)
{
    size_t n = wsp_frames_fast_(f, data, len, ev, 16);
    if (n) {
        *used = n;
        return 1;
    }
    return wsp_frames_read_next_(f, data, len, used, ev);
}

WSPROXY_IMPL size_t wsproxy_frames_read_many(wsproxy_frames *f, const unsigned char *data, size_t len,
                                             size_t *used, wsproxy_event *evs, size_t max)
{
    size_t pos = 0, count = 0;
    while (count < max) {
        wsproxy_event *ev = evs + count;
        size_t n = wsp_frames_fast_(f, data + pos, len - pos, ev, 125);
        uintptr_t at;
        if (n) {
            pos += n;
            count++;
            continue;
        }
        if (!wsp_frames_read_next_(f, data + pos, len - pos, &n, ev)) {
            pos += n;
            break;
        }
        pos += n;
        count++;
        at = (uintptr_t)ev->data;   /* in f or the message buffer: the next read may overwrite it */
        if (ev->len && (at < (uintptr_t)data || at - (uintptr_t)data >= len)) break;
    }
    *used = pos;
    return count;
}

static int wsp_frames_read_all_(wsproxy_frames *f, const unsigned char *data, size_t len, size_t *used,
                                wsproxy_event *ev)
{
    size_t pos = 0;
    memset(ev, 0, sizeof *ev);
    *used = 0;
    if (f->error_ || f->closed_) return 0;
    for (;;) {
        const unsigned char *p = data + pos;
        size_t avail = len - pos, n;
        int frame_done, msg_done, text;
        if (!f->in_payload_) {
            wsproxy_frame_header h;
            int r;
            if (f->stage_len_) {
                /* a header or control frame began at the end of an earlier input */
                r = wsp_frame_decode_(f->stage_, f->stage_len_, &h, WSP_RSV_OK_(f));
                while (r == 0 && pos < len) {
                    f->stage_[f->stage_len_++] = data[pos++];
                    r = wsp_frame_decode_(f->stage_, f->stage_len_, &h, WSP_RSV_OK_(f));
                }
                if (r < 0) { *used = pos; return wsp_frames_fault_(f, -r, ev); }
                if (r == 0) { *used = pos; return 0; }
                if (h.opcode >= 8) {
                    size_t want = (size_t)r + (size_t)h.payload_len - f->stage_len_;
                    if (want > len - pos) want = len - pos;
                    memcpy(f->stage_ + f->stage_len_, data + pos, want);
                    f->stage_len_ += want;
                    pos += want;
                    *used = pos;
                    if (f->stage_len_ < (size_t)r + h.payload_len) return 0;
                    f->stage_len_ = 0;
                    return wsp_frames_control_(f, &h, f->stage_ + r, ev);
                }
                f->stage_len_ = 0;
            } else {
                if (avail == 0) { *used = pos; return 0; }
                r = wsp_frame_decode_(p, avail, &h, WSP_RSV_OK_(f));
                if (r < 0) { *used = pos; return wsp_frames_fault_(f, -r, ev); }
                if (r == 0 || (h.opcode >= 8 && avail < (size_t)r + (size_t)h.payload_len)) {
                    memcpy(f->stage_, p, avail);   /* less than a header, or a control frame */
                    f->stage_len_ = avail;
                    *used = len;
                    return 0;
                }
                pos += (size_t)r;
                if (h.opcode >= 8) {
                    pos += (size_t)h.payload_len;
                    *used = pos;
                    return wsp_frames_control_(f, &h, p + r, ev);
                }
            }
            if (wsp_frames_begin_data_(f, &h, ev)) { *used = pos; return 1; }
            p = data + pos;
            avail = len - pos;
        }
#ifdef WSPROXY_DEFLATE
        if (f->compressed_) {
            size_t took;
            int r = wsp_inflate_step_(f, p, avail, &took, ev);
            pos += took;
            *used = pos;
            if (r) return 1;
            if (f->in_payload_) return 0;   /* all that is here was used */
            continue;
        }
#endif
        n = f->remaining_ < avail ? (size_t)f->remaining_ : avail;
        if (n == 0 && f->remaining_ > 0) { *used = pos; return 0; }
        text = (f->msg_opcode_ == WSPROXY_OP_TEXT);
        if (f->msg_buf_) {   /* max_message <= msg_cap_ bounds the fill */
            if (wsp_frames_gather_(f, p, n) != 0) {
                *used = pos;
                return wsp_frames_fault_(f, WSPROXY_E_WS_INVALID_UTF8, ev);   /* at the first bad byte */
            }
        } else if (text && wsproxy_utf8_validate(&f->utf8_, p, n) != n) {
            *used = pos;
            return wsp_frames_fault_(f, WSPROXY_E_WS_INVALID_UTF8, ev);
        }
        f->remaining_ -= n;
        pos += n;
        frame_done = (f->remaining_ == 0);
        msg_done = frame_done && f->fin_;
        if (frame_done) f->in_payload_ = 0;
        if (msg_done && text && !wsproxy_utf8_done(f->utf8_)) {
            *used = pos;
            return wsp_frames_fault_(f, WSPROXY_E_WS_INVALID_UTF8, ev);
        }
        if (f->msg_buf_) {
            f->msg_fill_ += n;
            if (!msg_done) continue;
            ev->data = f->msg_buf_;
            ev->len = f->msg_fill_;
            ev->first = 1;
        } else {
            if (n == 0 && !msg_done) continue;
            ev->data = p;
            ev->len = n;
            ev->first = !f->msg_delivered_;
            f->msg_delivered_ = 1;
        }
        ev->type = WSPROXY_EV_MESSAGE;
        ev->opcode = f->msg_opcode_;
        ev->fin = msg_done;
        if (msg_done) wsp_frames_end_message_(f);
        *used = pos;
        return 1;
    }
}

/* Payload bytes the caller's socket wrote straight into the message buffer (the
   client's direct path for large frames): what wsproxy_frames_read would do with them,
   minus the copy. Returns 0 or the fault (then f->error_ is set). */
static int wsp_frames_direct_(wsproxy_frames *f, size_t n)
{
    if (n > f->remaining_) n = (size_t)f->remaining_;
    if (f->msg_opcode_ == WSPROXY_OP_TEXT &&
        wsproxy_utf8_validate(&f->utf8_, f->msg_buf_ + f->msg_fill_, n) != n) {
        f->error_ = WSPROXY_E_WS_INVALID_UTF8;
        wsp_frames_recheck_(f);
        return f->error_;
    }
    f->msg_fill_ += n;
    f->remaining_ -= n;
    return 0;
}

WSPROXY_IMPL size_t wsproxy_frame_build(unsigned char *out, size_t cap, int fin, int opcode,
                                        const unsigned char key[4], const void *payload,
                                        size_t len)
{
    size_t hl = (size_t)2 + (len < 126 ? 0u : len <= 0xFFFF ? 2u : 8u) + (key ? 4u : 0u);
    if (!out || cap < hl || len > cap - hl || (len && !payload)) return 0;
    wsproxy_frame_encode(out, fin, opcode, key, len);
    if (key) wsproxy_mask(out + hl, (const unsigned char *)payload, len, key, 0);
    else if (len) memcpy(out + hl, payload, len);
    return hl + len;
}

/* ==== 8. the chain: stage ids, the four ports of a byte stage, the pump ================================== */
/* Stage ids, bottom (the socket) to top. A cell's chain holds only the stages it needs:
     ws://                      PLAIN [TUNNEL] UPGRADE FRAMES
     ws:// through https://     TLS_PROXY TUNNEL UPGRADE FRAMES
     wss://                     [PLAIN TUNNEL] TLS_TARGET UPGRADE FRAMES
     wss:// through https://    TLS_PROXY TUNNEL TLS_TARGET UPGRADE FRAMES
   PLAIN and TLS are byte stages with BearSSL's four ports; TUNNEL, UPGRADE and FRAMES
   are protocol stages that read the port "recvapp" of the byte stage below them in
   place and write into its port "sendapp". Everything above the first protocol stage
   sleeps: a finished TUNNEL or UPGRADE leaves the chain and wakes what is above it. */
enum { WSP_S_PLAIN_ = 1, WSP_S_TLS_PROXY_, WSP_S_TUNNEL_, WSP_S_TLS_TARGET_, WSP_S_UPGRADE_,
       WSP_S_FRAMES_ };
enum { WSP_RECVREC_, WSP_RECVAPP_, WSP_SENDAPP_, WSP_SENDREC_ };   /* a byte stage's ports */
enum { WSP_INTO_KEPT_ = -1 };   /* a frame's room: the kept window of the TLS stage below FRAMES */
/* requests a protocol stage writes: the SOCKS ones (1-3) are WSP_SOCKS_* */
enum { WSP_REQ_CONNECT_ = 4, WSP_REQ_UPGRADE_ = 5 };

static int wsp_is_tls_stage_(int s) { return s == WSP_S_TLS_PROXY_ || s == WSP_S_TLS_TARGET_; }

static void wsp_fail_(wsproxy_client *c, int code)
{
    if (c->state_ == WSPROXY_STATE_FAILED && c->error_) return;
    c->state_ = WSPROXY_STATE_FAILED;
    c->error_ = code;
    c->info_.code = code;
    c->pong_pending_ = 0;   /* nothing is answered after a failure */
    c->tx_dead_ = 1;        /* nor sent, but a close frame fail_peer_ queues */
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    c->tls_dirty_ = 1;      /* a TLS stage above another holds nothing back now (wsp_pump_) */
#endif
}

/* ==== 9. stage PLAIN: the socket's bytes in the caller's receive and send buffers ==== */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))   /* out of wsp_port_, whose TLS path then needs no frame */
#endif
static unsigned char *wsp_plain_port_(wsproxy_client *c, int port, size_t *len)
{
    switch (port) {
    case WSP_RECVREC_:
        if (!c->held_) {
            if (c->rs_ == c->re_) {
                c->rs_ = c->re_ = 0;
            } else if (c->rs_ > 0 && c->rcap_ - c->re_ < c->rcap_ / 2) {
                /* a head is read in place and must stay contiguous: move it down */
                memmove(c->rbuf_, c->rbuf_ + c->rs_, c->re_ - c->rs_);
                c->re_ -= c->rs_;
                c->rs_ = 0;
            }
        }
        *len = c->rcap_ - c->re_;
        return *len ? c->rbuf_ + c->re_ : NULL;
    case WSP_RECVAPP_:
        *len = c->re_ - c->rs_;
        return *len ? c->rbuf_ + c->rs_ : NULL;
    case WSP_SENDAPP_:
        if (c->ss_ == c->se_) c->ss_ = c->se_ = 0;
        *len = c->scap_ - c->se_;
        return *len ? c->sbuf_ + c->se_ : NULL;
    default:
        *len = c->se_ - c->ss_;
        return *len ? c->sbuf_ + c->ss_ : NULL;
    }
}

static void wsp_plain_ack_(wsproxy_client *c, int port, size_t n)
{
    switch (port) {
    case WSP_RECVREC_:
        if (n > c->rcap_ - c->re_) n = c->rcap_ - c->re_;
        c->re_ += n;
        break;
    case WSP_RECVAPP_:
        if (n > c->re_ - c->rs_) n = c->re_ - c->rs_;
        c->rs_ += n;
        if (c->rs_ == c->re_ && !c->held_) c->rs_ = c->re_ = 0;
        break;
    case WSP_SENDAPP_:
        if (n > c->scap_ - c->se_) n = c->scap_ - c->se_;
        c->se_ += n;
        break;
    default:
        if (n > c->se_ - c->ss_) n = c->se_ - c->ss_;
        if (c->swipe_ > c->ss_) {   /* a sent request head that held credentials */
            size_t w = c->swipe_ - c->ss_ < n ? c->swipe_ - c->ss_ : n;
            wsp_wipe_(c->sbuf_ + c->ss_, w);
        }
        c->ss_ += n;
        if (c->swipe_ <= c->ss_) c->swipe_ = 0;
        if (c->ss_ == c->se_) { c->ss_ = c->se_ = 0; c->swipe_ = 0; }
        break;
    }
}

/* Room for n bytes at the end of the plain send buffer, moving pending bytes down. */
static unsigned char *wsp_plain_reserve_(wsproxy_client *c, size_t n)
{
    if (c->scap_ - (c->se_ - c->ss_) < n) return NULL;
    if (c->scap_ - c->se_ < n) {
        memmove(c->sbuf_, c->sbuf_ + c->ss_, c->se_ - c->ss_);
        c->se_ -= c->ss_;
        c->swipe_ = c->swipe_ > c->ss_ ? c->swipe_ - c->ss_ : 0;
        c->ss_ = 0;
    }
    return c->sbuf_ + c->se_;
}

/* -- the ports of any byte stage: the one interface. A port sets *len always, to 0
   when it returns NULL (BearSSL's do so too, bearssl_ssl.h). -- */
static unsigned char *wsp_tls_port_(wsproxy_client *c, int hop, int port, size_t *len);
static void wsp_tls_ack_(wsproxy_client *c, int hop, int port, size_t n);

static unsigned char *wsp_port_(wsproxy_client *c, int stage, int port, size_t *len)
{
    if (stage == WSP_S_PLAIN_) return wsp_plain_port_(c, port, len);
    return wsp_tls_port_(c, stage == WSP_S_TLS_PROXY_ ? 0 : 1, port, len);
}

static void wsp_ack_(wsproxy_client *c, int stage, int port, size_t n)
{
    if (stage == WSP_S_PLAIN_) wsp_plain_ack_(c, port, n);
    else wsp_tls_ack_(c, stage == WSP_S_TLS_PROXY_ ? 0 : 1, port, n);
}

/* The byte stage the live protocol stage reads from and writes into. */
static int wsp_below_(const wsproxy_client *c) { return c->chain_[c->live_ - 1]; }

/* Where the room wsproxy_recv_buf lent lies: the socket's stage, the caller's message
   buffer (the rest of a large frame), or the read-ahead. */
enum { WSP_RECV_STAGE_, WSP_RECV_MESSAGE_, WSP_RECV_AHEAD_ };

/* -- the socket's read-ahead. A BearSSL engine asks for a record's 5-byte header, then
   for its body: a caller that reads only what it asks for makes two recv calls a
   record. Once open, the receive memory (which held the reply heads) takes what one
   recv brings, up to WSPROXY_TLS_READ_AHEAD bytes, and the engine is fed from it: a
   burst of short records, or a record of a few KiB, costs one recv. Long records are
   read as before, with no copy: the rest of one (half the read-ahead or more) goes
   straight into the engine, and so does the header after it, since long records come
   in runs (a large message). -- */
static WSP_INLINE_ int wsp_ra_on_(const wsproxy_client *c)
{
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    return c->ra_cap_ && wsp_is_tls_stage_(c->chain_[0]) &&
           (c->state_ == WSPROXY_STATE_OPEN || c->state_ == WSPROXY_STATE_CLOSING);
#else
    (void)c;
    return 0;
#endif
}

/* Feeds the read-ahead to the socket's engine while it takes bytes (a header, a body,
   until it holds a whole record). 1 when bytes moved. */
static int wsp_ra_feed_(wsproxy_client *c)
{
    int moved = 0;
    while (c->ra_s_ != c->ra_e_) {
        size_t room, n = c->ra_e_ - c->ra_s_;
        unsigned char *dst = wsp_port_(c, c->chain_[0], WSP_RECVREC_, &room);
        if (!dst) break;
        if (n > room) n = room;
        memcpy(dst, c->hbuf_ + c->ra_s_, n);
        WSP_STAT_(c->stats_.read_ahead += n);
        c->ra_s_ += n;
        wsp_ack_(c, c->chain_[0], WSP_RECVREC_, n);
        moved = 1;
    }
    if (c->ra_s_ == c->ra_e_ && c->recv_into_ != WSP_RECV_AHEAD_) c->ra_s_ = c->ra_e_ = 0;
    return moved;
}

/* What wsproxy_recv_buf lends with the read-ahead on: with nothing read ahead, the
   engine's own room for the rest of a long record or for the header after one; else
   the read-ahead's room (NULL when that is full: poll first). The pump that ran before
   fed the engine what it takes. */
static unsigned char *wsp_ra_lend_(wsproxy_client *c, size_t *len)
{
    if (c->ra_s_ == c->ra_e_) {
        size_t room;
        unsigned char *own = wsp_port_(c, c->chain_[0], WSP_RECVREC_, &room);
        c->ra_s_ = c->ra_e_ = 0;
        if (own) {
            if (room >= c->ra_cap_ / 2) c->ra_long_ = 1;
            else if (room > 5) c->ra_long_ = 0;   /* a short record's body: 5 is a header */
            if (c->ra_long_) {
                *len = room;
                return own;
            }
        }
    } else if (c->ra_s_) {
        memmove(c->hbuf_, c->hbuf_ + c->ra_s_, c->ra_e_ - c->ra_s_);
        c->ra_e_ -= c->ra_s_;
        c->ra_s_ = 0;
    }
    *len = c->ra_cap_ - c->ra_e_;
    if (!*len) return NULL;
    c->recv_into_ = WSP_RECV_AHEAD_;
    return c->hbuf_ + c->ra_e_;
}

/* Whether the pump has work beyond the live stage's reads: stages to move bytes
   between, or read-ahead bytes for the socket's engine. */
static WSP_INLINE_ int wsp_pumps_(const wsproxy_client *c)
{
    return c->live_ > 1 || c->ra_s_ != c->ra_e_;
}

/* Copies what one port offers into another's room. 1 when bytes moved. */
static WSP_INLINE_ int wsp_move_(wsproxy_client *c, int from, int from_port, int to, int to_port)
{
    size_t n, room;
    unsigned char *src = wsp_port_(c, from, from_port, &n), *dst;
    if (!src || !n) return 0;
    dst = wsp_port_(c, to, to_port, &room);
    if (!dst || !room) return 0;
    if (n > room) n = room;
    memcpy(dst, src, n);
    WSP_STAT_(to_port == WSP_RECVREC_ ? (c->stats_.copied_in += n) : (c->stats_.copied_out += n));
    wsp_ack_(c, to, to_port, n);
    wsp_ack_(c, from, from_port, n);
    return 1;
}

static void wsp_tls_check_(wsproxy_client *c);
static void wsp_tls_flush_(wsproxy_client *c, int stage);
static void wsp_staging_drain_(wsproxy_client *c);

/* The generic pump: moves bytes between neighbouring byte stages, up and down, until
   nothing moves. A plain transport below a TLS stage (the tunnel to a wss:// server is
   up) leaves the chain once it is empty both ways, so the socket then reads and writes
   the TLS stage's own buffers. */
/* A TLS stage woken above another (after the tunnel) takes no records while its
   handshake is not done and what it wrote (the ClientHello) has not left the socket:
   bytes that came with the tunnel's reply must not fail it before its hello is out,
   or what is written would depend on how the socket's bytes were split. */
#ifndef WSPROXY_NO_TLS
static int wsp_tls_holds_in_slow_(wsproxy_client *c, int idx)
{
    int k;
    size_t n;
    /* held at the end of the stream too: the socket's stage may have refused such bytes
       (wsproxy_recv_buf), so they never decide; the handshake ends cut short */
    if (c->tx_dead_) return 0;
    for (k = 0; k <= idx; k++) {
        if (c->chain_[k] == WSP_S_PLAIN_) {
            if (c->se_ > c->ss_) return 1;
        } else if (wsp_is_tls_stage_(c->chain_[k]) && wsp_port_(c, c->chain_[k], WSP_SENDREC_, &n) && n) {
            return 1;
        }
    }
    return 0;
}
#endif
static WSP_INLINE_ int wsp_tls_holds_in_(wsproxy_client *c, int idx)
{
#ifndef WSPROXY_NO_TLS
    int s = c->chain_[idx];
    /* the common case inline: not a TLS stage, or its handshake is done (the pump asks
       at every pass) */
    if (!wsp_is_tls_stage_(s) || c->tls_[s == WSP_S_TLS_PROXY_ ? 0 : 1]->handshake_done_) return 0;
    return wsp_tls_holds_in_slow_(c, idx);
#else
    (void)c; (void)idx;
    return 0;
#endif
}

#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
static int wsp_queue_records_(wsproxy_client *c);

/* The frames' TLS stage lies on the socket's: TLS in TLS, open (the queue's case). */
static int wsp_queue_nested_(const wsproxy_client *c)
{
    return c->live_ == 2 && wsp_is_tls_stage_(c->chain_[1]);
}
#endif

static int wsp_pump_run_(wsproxy_client *c)
{
    int moved, any = 0, first = 1;
    do {
        int i;
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
        size_t n;
#endif
        moved = 0;
        if (c->live_ >= 2 && c->chain_[0] == WSP_S_PLAIN_ && c->rs_ == c->re_ &&
            c->ss_ == c->se_ && !c->recv_lent_) {
            memmove(c->chain_, c->chain_ + 1, (size_t)--c->nchain_);
            c->live_--;
            c->rs_ = c->re_ = c->ss_ = c->se_ = 0;
            c->rcap_ = 0;   /* the receive memory is the head buffer from now on */
        }
        if (c->ra_s_ != c->ra_e_) moved |= wsp_ra_feed_(c);
        for (i = 0; i + 1 < c->live_; i++) {
            int lo = c->chain_[i], hi = c->chain_[i + 1];
            if (!wsp_tls_holds_in_(c, i + 1)) moved |= wsp_move_(c, lo, WSP_RECVAPP_, hi, WSP_RECVREC_);
            /* what the stage above wrote into hi becomes a record: nothing above runs
               between passes, so once per run */
            if (first) wsp_tls_flush_(c, hi);
            if (wsp_move_(c, hi, WSP_SENDREC_, lo, WSP_SENDAPP_)) {
                wsp_tls_flush_(c, lo);
                moved = 1;
            }
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
            else if (i == 0 && wsp_queue_nested_(c) && wsp_port_(c, hi, WSP_SENDREC_, &n) && n &&
                     wsp_queue_records_(c)) {
                moved = 1;   /* the proxy's record, into the queue: the server's goes on down */
            } else if (first) {
                wsp_tls_flush_(c, lo);   /* what wsp_queue_below_ left in the proxy's record */
            }
#endif
        }
        if (moved || !any) wsp_tls_check_(c);   /* a pass that moved nothing changes no state */
        any |= moved;
        first = 0;
    } while (moved && c->state_ != WSPROXY_STATE_FAILED);
    return any;
}

static WSP_INLINE_ int wsp_pump_(wsproxy_client *c)
{
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    /* TLS on TLS (no plain stage): bytes can move between the engines only after one of
       them took an ack or was reset, which sets tls_dirty_; the pump that ran last left
       nothing it could move. So with no ack since, there is nothing to do (inline: most
       calls end here). */
    if (!c->tls_dirty_ && c->chain_[0] != WSP_S_PLAIN_) return 0;
#endif
    return wsp_pump_run_(c);
}

/* The most BearSSL adds to a record's payload (BR_SSL_BUFSIZE_OUTPUT is 16384 + this). */
#define WSP_TLS_RECORD_OVERHEAD_ 85

/* The largest record payload BearSSL sends with this output buffer (its own rule). */
static size_t wsp_tls_frag_max_(void)
{
    unsigned u;
    for (u = 14; u > 9; u--)
        if (((size_t)1 << u) + WSP_TLS_RECORD_OVERHEAD_ <= (size_t)WSPROXY_TLS_OUTPUT_BUFFER_BYTES) break;
    return (size_t)1 << (u == 13 ? 12 : u);
}

/* ==== 9. stage TLS: a BearSSL engine's four ports =============================================== */
#ifndef WSPROXY_NO_TLS
#ifndef WSPROXY_TLS_OPENSSL
static WSP_INLINE_ br_ssl_engine_context *wsp_eng_(wsproxy_client *c, int hop) { return &c->tls_[hop]->cc_.eng; }

/* Tells the engine below FRAMES what was used in its kept windows, and forgets them. */
static void wsp_tls_settle_slow_(wsproxy_client *c)
{
    br_ssl_engine_context *e = c->wce_;
    c->wce_ = NULL;
    c->txw_ = NULL;
    c->rxw_ = NULL;
    c->txw_room_ = c->rxw_len_ = 0;
    if (c->rxw_owed_) br_ssl_engine_recvapp_ack(e, c->rxw_owed_);
    if (c->txw_owed_) br_ssl_engine_sendapp_ack(e, c->txw_owed_);   /* may seal the record */
    if (c->rxw_owed_ | c->txw_owed_) c->tls_dirty_ = 1;
    c->rxw_owed_ = c->txw_owed_ = 0;
}
static WSP_INLINE_ void wsp_tls_settle_(wsproxy_client *c)
{
    if (c->wce_) wsp_tls_settle_slow_(c);
}

static unsigned char *wsp_tls_port_settle_(wsproxy_client *c, int hop, int port, size_t *len);

/* BearSSL sets *len to 0 when it returns NULL (bearssl_ssl.h), so each case is a tail
   call: the pump asks a port at every move, and the call needs no frame of its own. */
static unsigned char *wsp_tls_port_(wsproxy_client *c, int hop, int port, size_t *len)
{
    br_ssl_engine_context *e = wsp_eng_(c, hop);
    if (c->wce_) return wsp_tls_port_settle_(c, hop, port, len);
    switch (port) {
    case WSP_RECVREC_: return br_ssl_engine_recvrec_buf(e, len);
    case WSP_RECVAPP_: return br_ssl_engine_recvapp_buf(e, len);
    case WSP_SENDAPP_: return br_ssl_engine_sendapp_buf(e, len);
    default: return br_ssl_engine_sendrec_buf(e, len);
    }
}

/* wsp_tls_port_ when the frames hold kept windows: tell the engine first. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static unsigned char *wsp_tls_port_settle_(wsproxy_client *c, int hop, int port, size_t *len)
{
    wsp_tls_settle_slow_(c);
    return wsp_tls_port_(c, hop, port, len);
}

/* n is never more than the port offered: the library's own moves take what was offered,
   and the caller's acks are clamped at the public entries (wsproxy_recv_ack,
   wsproxy_send_ack), so the engine is not asked for its buffer again here. */
static void wsp_tls_ack_(wsproxy_client *c, int hop, int port, size_t n)
{
    br_ssl_engine_context *e = wsp_eng_(c, hop);
    size_t have;
    if (!n) return;
    wsp_tls_settle_(c);
    c->tls_dirty_ = 1;   /* any ack may run the engine: a record, an alert, the handshake */
    if (port == WSP_RECVREC_ && c->tls_[hop]->first_n_ < 5) {   /* the peer's first bytes */
        wsproxy_tls_hop *h = c->tls_[hop];
        const unsigned char *p = wsp_tls_port_(c, hop, port, &have);
        size_t k = 5 - h->first_n_ < n ? 5 - h->first_n_ : n;
        memcpy(h->first_ + h->first_n_, p, k);
        h->first_n_ += k;
    }
    switch (port) {
    case WSP_RECVREC_: br_ssl_engine_recvrec_ack(e, n); break;
    case WSP_RECVAPP_: br_ssl_engine_recvapp_ack(e, n); break;
    case WSP_SENDAPP_: br_ssl_engine_sendapp_ack(e, n); break;
    default: br_ssl_engine_sendrec_ack(e, n); break;
    }
}

/* Room in a TLS stage's record for application bytes (0 when stage is not TLS). */
static size_t wsp_tls_app_room_(const wsproxy_client *c, int stage)
{
    size_t n;
    const br_ssl_engine_context *e;
    if (!wsp_is_tls_stage_(stage)) return 0;
    e = &c->tls_[stage == WSP_S_TLS_PROXY_ ? 0 : 1]->cc_.eng;
    if (c->txw_ && e == c->wce_) return c->txw_room_;   /* the engine counts what it was told */
    br_ssl_engine_sendapp_buf(e, &n);   /* 0 when it has no room */
    return n;
}

/* Closes the record being filled, so its bytes can leave. */
static void wsp_tls_flush_(wsproxy_client *c, int stage)
{
    wsp_tls_settle_(c);
    if (wsp_is_tls_stage_(stage)) br_ssl_engine_flush(wsp_eng_(c, stage == WSP_S_TLS_PROXY_ ? 0 : 1), 0);
}

/* -- the send buffer below a BearSSL stage on the socket. The engine holds one record at
   a time, and each is one send() when the caller takes it from there. Once open, with a
   send buffer and no frame staged in it, a sealed record the caller has not yet taken
   moves into the send buffer when the engine is wanted for the next one: frames go on
   into records (no staging copy), and a burst leaves in one send(). wsproxy_send_buf
   offers the queue first, with the engine's last record joined to it. TLS in TLS: the
   server's sealed records go down into the proxy's engine, whose records are queued, so
   frames go on into the server's records the same way. -- */

/* Records may be queued now: a send buffer with no frame staged in it, a TLS stage on
   the socket, the connection open. */
static int wsp_queue_on_(const wsproxy_client *c)
{
    return c->scap_ && c->ss_ == c->se_ && wsp_is_tls_stage_(c->chain_[0]) && c->state_ == WSPROXY_STATE_OPEN;
}

/* The most n payload bytes become once sealed: BearSSL's largest overhead on each record,
   counting a record begun before and the last one. */
static size_t wsp_sealed_most_(size_t n)
{
    return n + WSP_TLS_RECORD_OVERHEAD_ * (n / wsp_tls_frag_max_() + 2);
}

/* The most the queue takes when the stage below the frames seals bytes more records'
   worth: on the socket, those records and the engine's present one; TLS in TLS, the
   proxy's records that wrap them, and the proxy engine's present one. */
static size_t wsp_queue_need_(const wsproxy_client *c, size_t bytes)
{
    size_t most = bytes;
    if (wsp_below_(c) != c->chain_[0]) most = WSPROXY_TLS_OUTPUT_BUFFER_BYTES + wsp_sealed_most_(most);
    return most;
}

/* The queue can take the present record of the stage below the frames once sealed
   (what the record holds and BearSSL's largest record overhead; a record that is sealed
   already counts as the whole output buffer), and TLS in TLS what wraps it. Frames may
   then go on into a fresh record. */
static int wsp_queue_room_(const wsproxy_client *c)
{
    size_t open, most;
    int below = wsp_below_(c);
    if (!wsp_queue_on_(c) || (below != c->chain_[0] && !wsp_queue_nested_(c))) return 0;
    open = wsp_tls_app_room_(c, below);
    most = open && open < wsp_tls_frag_max_() ? wsp_tls_frag_max_() - open + WSP_TLS_RECORD_OVERHEAD_
                                              : WSPROXY_TLS_OUTPUT_BUFFER_BYTES;
    return c->scap_ - (c->qe_ - c->qs_) >= wsp_queue_need_(c, most);
}

/* Moves what the socket's engine has sealed into the queue. 1 when it moved. */
static int wsp_queue_records_(wsproxy_client *c)
{
    size_t n;
    unsigned char *src;
    if (!wsp_queue_on_(c)) return 0;
    src = wsp_port_(c, c->chain_[0], WSP_SENDREC_, &n);
    if (!src || !n) return 0;
    if (c->scap_ - c->qe_ < n && c->qs_) {
        memmove(c->sbuf_, c->sbuf_ + c->qs_, c->qe_ - c->qs_);
        c->qe_ -= c->qs_;
        c->qs_ = 0;
    }
    if (c->scap_ - c->qe_ < n) return 0;   /* a part would free nothing in the engine */
    memcpy(c->sbuf_ + c->qe_, src, n);
    c->qe_ += n;
    WSP_STAT_(c->stats_.records_queued += n);
    wsp_ack_(c, c->chain_[0], WSP_SENDREC_, n);
    return 1;
}

/* Frees the stage below the frames of what it has sealed: on the socket, its record into
   the queue (1 when it moved); TLS in TLS, the server's records into the proxy's engine,
   its full records into the queue as they fill (1 when the server's engine holds no sealed
   byte any more). The proxy's last record stays open for the next (the pump closes it):
   full records close themselves, one proxy record per 16 KiB, not two per server record. */
static int wsp_queue_below_(wsproxy_client *c)
{
    int lo = c->chain_[0], hi = wsp_below_(c);
    size_t n;
    if (hi == lo) return wsp_queue_records_(c);
    if (!wsp_queue_on_(c) || !wsp_queue_nested_(c)) return 0;
    for (;;) {
        if (wsp_move_(c, hi, WSP_SENDREC_, lo, WSP_SENDAPP_)) continue;
        if (!wsp_port_(c, hi, WSP_SENDREC_, &n) || !n) break;
        if (!wsp_queue_records_(c)) return 0;
    }
    return 1;
}

/* The protocol the hop's peer chose by ALPN (*n bytes), or NULL. */
static const char *wsp_tls_alpn_(wsproxy_client *c, int hop, size_t *n)
{
    const char *alpn = br_ssl_engine_get_selected_protocol(wsp_eng_(c, hop));
    *n = alpn ? wsp_strnlen_(alpn, sizeof c->alpn_ - 1) : 0;
    return alpn;
}
#else   /* WSPROXY_TLS_OPENSSL */
/* -- stage TLS on OpenSSL: the same four ports over staging buffers in the hop. OpenSSL
   reads the socket's records from rin_ and writes its records into rout_ through a BIO of
   our own (no buffer between); SSL_read fills ain_ when the stage above has used it up;
   what the stage above writes into aout_ goes to SSL_write at the flush or when a
   record's worth is there. -- */
static int wsp_bio_read_(BIO *b, char *out, int n)
{
    wsproxy_tls_hop *h = (wsproxy_tls_hop *)BIO_get_data(b);
    size_t k = h->rin_e_ - h->rin_s_;
    BIO_clear_retry_flags(b);
    if (n <= 0) return 0;
    if (!k) { BIO_set_retry_read(b); return -1; }
    if (k > (size_t)n) k = (size_t)n;
    memcpy(out, h->rin_ + h->rin_s_, k);
    h->rin_s_ += k;
    if (h->rin_s_ == h->rin_e_) h->rin_s_ = h->rin_e_ = 0;
    return (int)k;
}

static int wsp_bio_write_(BIO *b, const char *in, int n)
{
    wsproxy_tls_hop *h = (wsproxy_tls_hop *)BIO_get_data(b);
    size_t room, k;
    BIO_clear_retry_flags(b);
    if (n <= 0) return 0;
    if (h->rout_s_ == h->rout_e_) {
        h->rout_s_ = h->rout_e_ = 0;
    } else if (h->rout_s_ && sizeof h->rout_ - h->rout_e_ < (size_t)n) {
        memmove(h->rout_, h->rout_ + h->rout_s_, h->rout_e_ - h->rout_s_);
        h->rout_e_ -= h->rout_s_;
        h->rout_s_ = 0;
    }
    room = sizeof h->rout_ - h->rout_e_;
    if (!room) { BIO_set_retry_write(b); return -1; }
    k = room < (size_t)n ? room : (size_t)n;
    memcpy(h->rout_ + h->rout_e_, in, k);
    h->rout_e_ += k;
    return (int)k;
}

static long wsp_bio_ctrl_(BIO *b, int cmd, long num, void *ptr)
{
    (void)b; (void)num; (void)ptr;
    return cmd == BIO_CTRL_FLUSH;   /* the records wait in rout_ for the socket */
}

static int wsp_bio_create_(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* A hop's failure as a tls_error, with BearSSL's number where the fault is the same:
   the peer's alert first (its verdict), then the certificate check, then OpenSSL's
   reason, then the alert we sent. */
static int wsp_ossl_code_(const wsproxy_tls_hop *h)
{
    static const int reasons[][2] = {
        {SSL_R_NO_SHARED_CIPHER, WSPROXY_TLS_ERR_NO_SUITE},
        {SSL_R_WRONG_CIPHER_RETURNED, BR_ERR_BAD_CIPHER_SUITE},
        {SSL_R_UNSUPPORTED_PROTOCOL, BR_ERR_UNSUPPORTED_VERSION},
        {SSL_R_WRONG_VERSION_NUMBER, BR_ERR_BAD_VERSION},
        {SSL_R_UNKNOWN_PROTOCOL, BR_ERR_BAD_VERSION},
        {SSL_R_PACKET_LENGTH_TOO_LONG, BR_ERR_BAD_LENGTH},
        {SSL_R_ENCRYPTED_LENGTH_TOO_LONG, BR_ERR_BAD_LENGTH},
        {SSL_R_RECORD_LENGTH_MISMATCH, BR_ERR_BAD_LENGTH},
        {SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC, BR_ERR_BAD_MAC},
        {SSL_R_BAD_RECORD_TYPE, BR_ERR_UNKNOWN_TYPE},
        {SSL_R_UNEXPECTED_MESSAGE, BR_ERR_UNEXPECTED},
        {SSL_R_UNEXPECTED_RECORD, BR_ERR_UNEXPECTED},
        {SSL_R_WRONG_SIGNATURE_TYPE, BR_ERR_INVALID_ALGORITHM},
        {SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM, BR_ERR_INVALID_ALGORITHM},
        {SSL_R_WRONG_CURVE, BR_ERR_INVALID_ALGORITHM},
        {SSL_R_BAD_SIGNATURE, BR_ERR_BAD_SIGNATURE},
        {SSL_R_LENGTH_MISMATCH, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_BAD_PACKET, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_BAD_LENGTH, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_BAD_HANDSHAKE_LENGTH, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_EXCESSIVE_MESSAGE_SIZE, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_BAD_EXTENSION, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_BAD_ECPOINT, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_BAD_KEY_SHARE, BR_ERR_BAD_HANDSHAKE},
        {SSL_R_UNSOLICITED_EXTENSION, BR_ERR_EXTRA_EXTENSION},
        {SSL_R_RENEGOTIATION_MISMATCH, BR_ERR_BAD_SECRENEG},
        {SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED, BR_ERR_BAD_SECRENEG},
        {SSL_R_EE_KEY_TOO_SMALL, BR_ERR_X509_WEAK_PUBLIC_KEY},
        {SSL_R_CA_KEY_TOO_SMALL, BR_ERR_X509_WEAK_PUBLIC_KEY},
        {SSL_R_DH_KEY_TOO_SMALL, BR_ERR_X509_WEAK_PUBLIC_KEY},
        {SSL_R_CA_MD_TOO_WEAK, WSPROXY_TLS_ERR_WEAK_SIGNATURE}
    };
    static const int verify[][2] = {
        {X509_V_ERR_CERT_HAS_EXPIRED, BR_ERR_X509_EXPIRED},
        {X509_V_ERR_CERT_NOT_YET_VALID, BR_ERR_X509_EXPIRED},
        {X509_V_ERR_HOSTNAME_MISMATCH, BR_ERR_X509_BAD_SERVER_NAME},
        {X509_V_ERR_IP_ADDRESS_MISMATCH, BR_ERR_X509_BAD_SERVER_NAME},
        {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, BR_ERR_X509_NOT_TRUSTED},
        {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, BR_ERR_X509_NOT_TRUSTED},
        {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, BR_ERR_X509_NOT_TRUSTED},
        {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, BR_ERR_X509_NOT_TRUSTED},
        {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, BR_ERR_X509_NOT_TRUSTED},
        {X509_V_ERR_CERT_UNTRUSTED, BR_ERR_X509_NOT_TRUSTED},
        {X509_V_ERR_CERT_REJECTED, BR_ERR_X509_NOT_TRUSTED},
        {X509_V_ERR_INVALID_PURPOSE, WSPROXY_TLS_ERR_EKU},
        {X509_V_ERR_CA_MD_TOO_WEAK, WSPROXY_TLS_ERR_WEAK_SIGNATURE},
        {X509_V_ERR_EE_KEY_TOO_SMALL, BR_ERR_X509_WEAK_PUBLIC_KEY},
        {X509_V_ERR_CA_KEY_TOO_SMALL, BR_ERR_X509_WEAK_PUBLIC_KEY},
        {X509_V_ERR_CERT_SIGNATURE_FAILURE, BR_ERR_X509_BAD_SIGNATURE},
        {X509_V_ERR_INVALID_CA, BR_ERR_X509_NOT_CA},
        {X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, BR_ERR_X509_CRITICAL_EXTENSION},
        {X509_V_ERR_KEYUSAGE_NO_CERTSIGN, BR_ERR_X509_FORBIDDEN_KEY_USAGE},
        {X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, BR_ERR_X509_BAD_TIME},
        {X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD, BR_ERR_X509_BAD_TIME}
    };
    unsigned long e = ERR_peek_error();
    long v = h->ssl_ ? SSL_get_verify_result(h->ssl_) : X509_V_OK;
    size_t i;
    if (h->alert_recv_ >= 0) return BR_ERR_RECV_FATAL_ALERT + h->alert_recv_;
    if (v != X509_V_OK && !h->insecure_) {
        for (i = 0; i < sizeof verify / sizeof verify[0]; i++)
            if (verify[i][0] == v) return verify[i][1];
        return WSPROXY_TLS_ERR_X509 + (int)v;
    }
    if (ERR_GET_LIB(e) == ERR_LIB_SSL)
        for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
            if (reasons[i][0] == ERR_GET_REASON(e)) return reasons[i][1];
    if (h->alert_sent_ >= 0) return BR_ERR_SEND_FATAL_ALERT + h->alert_sent_;
    return WSPROXY_TLS_ERR_OPENSSL;
}

/* After an SSL_* call that did not succeed: waiting is no fault; the peer's close_notify
   ends the stream; anything else fails the hop. */
static void wsp_ossl_fault_(wsproxy_tls_hop *h, int r)
{
    int e = SSL_get_error(h->ssl_, r);
    if (e == SSL_ERROR_WANT_WRITE) h->want_write_ = 1;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    if (e == SSL_ERROR_ZERO_RETURN) h->closed_ = 1;
    else h->err_ = wsp_ossl_code_(h);
    ERR_clear_error();
}

/* The alerts of a hop, both ways (close_notify and user_canceled are none). */
static void wsp_ossl_info_(const SSL *s, int where, int ret)
{
    wsproxy_tls_hop *h = (wsproxy_tls_hop *)SSL_get_app_data(s);
    int desc = ret & 255;
    if (!h || !(where & SSL_CB_ALERT) || desc == 0 || desc == 90) return;
    if ((ret >> 8) != 2 && SSL_version(s) != TLS1_3_VERSION) return;   /* a warning */
    if (where & SSL_CB_READ) { if (h->alert_recv_ < 0) h->alert_recv_ = desc; }
    else if (h->alert_sent_ < 0) h->alert_sent_ = desc;
}

/* The handshake messages read: did the peer ask for a client certificate? */
static void wsp_ossl_msg_(int write_p, int version, int content_type, const void *buf, size_t len, SSL *s,
                          void *arg)
{
    wsproxy_tls_hop *h = (wsproxy_tls_hop *)arg;
    (void)version;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len &&
        ((const unsigned char *)buf)[0] == SSL3_MT_CERTIFICATE_REQUEST) {
        h->cert_requested_ = 1;
        h->cert_sent_ = SSL_get_certificate(s) != NULL;
    }
}

/* Moves the hop on as far as its buffers let it: the handshake, then what waits in aout_,
   then a new read into ain_ once it is empty. */
static void wsp_ossl_run_(wsproxy_client *c, int hop)
{
    wsproxy_tls_hop *h = c->tls_[hop];
    int r, retry;
    if (!h || !h->started_ || h->err_ || h->closed_) return;
    /* nothing to do: no handshake, nothing to write, nothing to read (called often) */
    if (h->handshake_done_ && h->aout_s_ == h->aout_e_ && !h->want_write_ &&
        (h->ain_s_ != h->ain_e_ || (h->rin_s_ == h->rin_e_ && !SSL_has_pending(h->ssl_))))
        return;
    retry = h->want_write_;   /* a read that had to write (a key update answered) goes on */
    h->want_write_ = 0;
    ERR_clear_error();
    if (!h->handshake_done_) {
        r = SSL_do_handshake(h->ssl_);
        if (r != 1) { wsp_ossl_fault_(h, r); return; }
        h->handshake_done_ = 1;
        h->resumed_ = SSL_session_reused(h->ssl_);
        if (SSL_version(h->ssl_) != TLS1_3_VERSION) h->confirmed_ = 1;   /* the peer's Finished came last */
        c->tls_events_ |= 1 << hop;
    }
    while (h->aout_s_ < h->aout_e_) {
        r = SSL_write(h->ssl_, h->aout_ + h->aout_s_, (int)(h->aout_e_ - h->aout_s_));
        if (r <= 0) { wsp_ossl_fault_(h, r); if (h->err_ || h->closed_) return; break; }
        h->aout_s_ += (size_t)r;
        if (h->aout_s_ == h->aout_e_) h->aout_s_ = h->aout_e_ = 0;
    }
    if (h->ain_s_ == h->ain_e_ && (h->rin_s_ != h->rin_e_ || SSL_has_pending(h->ssl_) || retry)) {
        h->ain_s_ = h->ain_e_ = 0;
        r = SSL_read(h->ssl_, h->ain_, (int)sizeof h->ain_);
        if (r > 0) {
            h->ain_e_ = (size_t)r;
            h->confirmed_ = 1;
        } else {
            wsp_ossl_fault_(h, r);
        }
    }
}

static unsigned char *wsp_tls_port_(wsproxy_client *c, int hop, int port, size_t *len)
{
    wsproxy_tls_hop *h = c->tls_[hop];
    unsigned char *p = NULL;
    *len = 0;
    if (!h->started_) return NULL;
    switch (port) {
    case WSP_RECVREC_:
        if (h->err_ || h->closed_) break;
        if (h->rin_s_) {   /* what OpenSSL has not read yet goes down: room at the end */
            memmove(h->rin_, h->rin_ + h->rin_s_, h->rin_e_ - h->rin_s_);
            h->rin_e_ -= h->rin_s_;
            h->rin_s_ = 0;
        }
        *len = sizeof h->rin_ - h->rin_e_;
        p = h->rin_ + h->rin_e_;
        break;
    case WSP_RECVAPP_:
        *len = h->ain_e_ - h->ain_s_;
        p = h->ain_ + h->ain_s_;
        break;
    case WSP_SENDAPP_:
        if (!h->handshake_done_ || h->err_ || h->closed_) break;
        *len = sizeof h->aout_ - h->aout_e_;
        p = h->aout_ + h->aout_e_;
        break;
    default:
        *len = h->rout_e_ - h->rout_s_;
        p = h->rout_ + h->rout_s_;
        break;
    }
    if (!*len) p = NULL;
    return p;
}

static void wsp_tls_ack_(wsproxy_client *c, int hop, int port, size_t n)
{
    wsproxy_tls_hop *h = c->tls_[hop];
    size_t have;
    if (!n || !wsp_tls_port_(c, hop, port, &have)) return;
    if (n > have) n = have;
    switch (port) {
    case WSP_RECVREC_:
        if (h->first_n_ < 5) {   /* the peer's first bytes */
            size_t k = 5 - h->first_n_ < n ? 5 - h->first_n_ : n;
            memcpy(h->first_ + h->first_n_, h->rin_ + h->rin_e_, k);
            h->first_n_ += k;
        }
        h->rin_e_ += n;
        break;
    case WSP_RECVAPP_: h->ain_s_ += n; break;
    case WSP_SENDAPP_:
        h->aout_e_ += n;
        if (h->aout_e_ < sizeof h->aout_) return;   /* a record's worth leaves at once, the rest at the flush */
        break;
    default:
        h->rout_s_ += n;
        if (h->rout_s_ == h->rout_e_) h->rout_s_ = h->rout_e_ = 0;
        break;
    }
    wsp_ossl_run_(c, hop);
}

/* Room in a TLS stage's record for application bytes (0 when stage is not TLS). */
static size_t wsp_tls_app_room_(const wsproxy_client *c, int stage)
{
    const wsproxy_tls_hop *h;
    if (!wsp_is_tls_stage_(stage)) return 0;
    h = c->tls_[stage == WSP_S_TLS_PROXY_ ? 0 : 1];
    if (!h->started_ || !h->handshake_done_ || h->err_ || h->closed_) return 0;
    return sizeof h->aout_ - h->aout_e_;
}

/* Closes the record being filled, so its bytes can leave. */
static void wsp_tls_flush_(wsproxy_client *c, int stage)
{
    if (wsp_is_tls_stage_(stage)) wsp_ossl_run_(c, stage == WSP_S_TLS_PROXY_ ? 0 : 1);
}

/* The protocol the hop's peer chose by ALPN (*n bytes, not NUL-terminated), or NULL. */
static const char *wsp_tls_alpn_(wsproxy_client *c, int hop, size_t *n)
{
    const unsigned char *p = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(c->tls_[hop]->ssl_, &p, &len);
    *n = len < sizeof c->alpn_ ? len : sizeof c->alpn_ - 1;
    return (const char *)p;
}
/* OpenSSL stages its own records (rout_): nothing is queued in the send buffer. */
static int wsp_queue_room_(const wsproxy_client *c) { (void)c; return 0; }
static int wsp_queue_records_(wsproxy_client *c) { (void)c; return 0; }
static int wsp_queue_below_(wsproxy_client *c) { (void)c; return 0; }
#endif   /* WSPROXY_TLS_OPENSSL */

static int wsp_tls_hop_error_(const wsproxy_client *c, int hop)
{
    if (hop == 0) return WSPROXY_E_TLS_PROXY;
    return c->via_proxy_ ? WSPROXY_E_TLS_TUNNEL : WSPROXY_E_TLS_TARGET;
}

static void wsp_tls_fail_(wsproxy_client *c, int hop, int tls_error)
{
    if (c->state_ == WSPROXY_STATE_FAILED) return;
    c->info_.tls_error = tls_error;
    wsp_fail_(c, wsp_tls_hop_error_(c, hop));
}

#ifndef WSPROXY_TLS_OPENSSL
/* After the engines ran: a failure, the peer's close_notify, a handshake just done. */
static void wsp_tls_check_(wsproxy_client *c)
{
    int i;
    /* an engine changes state only in an ack or a reset (a flush seals a record, no
       more): with neither since the last look, there is nothing new to see */
    if (!c->tls_dirty_) return;
    c->tls_dirty_ = 0;
    for (i = 0; i < c->live_; i++) {
        int s = c->chain_[i], hop = s == WSP_S_TLS_PROXY_ ? 0 : 1;
        wsproxy_tls_hop *h;
        unsigned st;
        if (!wsp_is_tls_stage_(s)) continue;
        h = c->tls_[hop];
        st = br_ssl_engine_current_state(&h->cc_.eng);
        if (st == BR_SSL_CLOSED) {
            int err = br_ssl_engine_last_error(&h->cc_.eng);
            if (c->state_ == WSPROXY_STATE_FAILED || c->state_ == WSPROXY_STATE_CLOSED) continue;
            if (err) wsp_tls_fail_(c, hop, wsp_tls_name_error_(h, err));
            else if (!c->eof_) c->eof_ = 1;   /* close_notify: the stream ended */
        } else if (!h->handshake_done_ && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
            br_ssl_session_parameters sp;
            h->handshake_done_ = 1;
            c->tls_events_ |= 1 << hop;
            br_ssl_engine_get_session_parameters(&h->cc_.eng, &sp);
            h->resumed_ = h->resume_id_len_ && sp.session_id_len == h->resume_id_len_ &&
                          memcmp(sp.session_id, h->resume_id_, h->resume_id_len_) == 0;
            wsp_wipe_(&sp, sizeof sp);
        }
    }
}
#else
/* After the stages moved bytes: each hop runs, then a failure or the peer's close_notify
   shows (a finished handshake was noted as it happened). */
static void wsp_tls_check_(wsproxy_client *c)
{
    int i;
    for (i = 0; i < c->live_; i++) {
        int s = c->chain_[i], hop = s == WSP_S_TLS_PROXY_ ? 0 : 1;
        wsproxy_tls_hop *h;
        if (!wsp_is_tls_stage_(s)) continue;
        h = c->tls_[hop];
        wsp_ossl_run_(c, hop);
        if ((!h->err_ && !h->closed_) || c->state_ == WSPROXY_STATE_FAILED || c->state_ == WSPROXY_STATE_CLOSED)
            continue;
        if (h->err_) wsp_tls_fail_(c, hop, wsp_tls_name_error_(h, h->err_));
        else if (!c->eof_) c->eof_ = 1;   /* close_notify: the stream ended */
    }
}
#endif

/* A TLS stage wakes: its handshake starts with the host of its URL. */
static void wsp_tls_wake_(wsproxy_client *c, int hop);

static int wsp_tls_start_(wsproxy_client *c, int hop, int again);

/* The proxy hop on a new connection: a new handshake, resuming the last session. */
static int wsp_tls_restart_(wsproxy_client *c, int hop)
{
    wsproxy_tls_hop *h = c->tls_[hop];
    h->handshake_done_ = 0;
    h->first_n_ = 0;
    h->cert_requested_ = h->cert_sent_ = 0;
    c->tls_events_ &= ~(1 << hop);
    return wsp_tls_start_(c, hop, 1);
}

/* The stream ended during the hop's handshake. */
static void wsp_tls_fail_closed_(wsproxy_client *c, int hop)
{
    wsp_tls_fail_(c, hop, wsp_tls_name_error_(c->tls_[hop], WSPROXY_TLS_ERR_CLOSED));
}

/* The hop (0 proxy, 1 server) whose handshake a cut-short stream interrupted, or -1. */
static int wsp_tls_unfinished_(const wsproxy_client *c)
{
    int i;
    for (i = 0; i < c->live_; i++) {
        int s = c->chain_[i];
        const wsproxy_tls_hop *h;
        if (!wsp_is_tls_stage_(s)) continue;
        h = c->tls_[s == WSP_S_TLS_PROXY_ ? 0 : 1];
        if (!h->handshake_done_) return s == WSP_S_TLS_PROXY_ ? 0 : 1;
#ifdef WSPROXY_TLS_OPENSSL
        /* TLS 1.3: a server that asked for our certificate judges it after our Finished;
           a close before it spoke again is its verdict, a TLS failure of the hop */
        if (h->cert_requested_ && !h->confirmed_) return s == WSP_S_TLS_PROXY_ ? 0 : 1;
#endif
    }
    return -1;
}
#else
static unsigned char *wsp_tls_port_(wsproxy_client *c, int hop, int port, size_t *len)
{
    (void)c; (void)hop; (void)port;
    *len = 0;
    return NULL;
}
static void wsp_tls_ack_(wsproxy_client *c, int hop, int port, size_t n) { (void)c; (void)hop; (void)port; (void)n; }
static void wsp_tls_flush_(wsproxy_client *c, int stage) { (void)c; (void)stage; }
static size_t wsp_tls_app_room_(const wsproxy_client *c, int stage) { (void)c; (void)stage; return 0; }
static void wsp_tls_check_(wsproxy_client *c) { (void)c; }
static void wsp_tls_wake_(wsproxy_client *c, int hop) { (void)c; (void)hop; }
static int wsp_tls_unfinished_(const wsproxy_client *c) { (void)c; return -1; }
static void wsp_tls_fail_closed_(wsproxy_client *c, int hop) { (void)c; (void)hop; }
static int wsp_tls_restart_(wsproxy_client *c, int hop) { (void)c; (void)hop; return -1; }
static int wsp_queue_room_(const wsproxy_client *c) { (void)c; return 0; }
static int wsp_queue_records_(wsproxy_client *c) { (void)c; return 0; }
static int wsp_queue_below_(wsproxy_client *c) { (void)c; return 0; }
#endif

/* ==== 10. the requests: written when due, in pieces, from the caller's configuration = */
/* A writer that drops its first `skip` bytes and keeps what fits in cap: a request is
   written into whatever room the stage below has, and resumed there later. total is the
   whole request's length; cap 0 validates and measures without writing. */
typedef struct { char *buf; size_t cap, len, skip, total; int redact; } wsp_writer_;

static void wsp_put_(wsp_writer_ *w, const char *s, size_t n)
{
    w->total += n;
    if (w->skip >= n) { w->skip -= n; return; }
    s += w->skip;
    n -= w->skip;
    w->skip = 0;
    if (n > w->cap - w->len) n = w->cap - w->len;
    if (n) memcpy(w->buf + w->len, s, n);
    w->len += n;
}
static void wsp_puts_(wsp_writer_ *w, const char *s) { wsp_put_(w, s, strlen(s)); }
static void wsp_put_uint_(wsp_writer_ *w, unsigned v)
{
    char tmp[12];
    size_t n = 0;
    do { tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10); v /= 10; } while (v);
    wsp_put_(w, tmp + sizeof tmp - n, n);
}
static void wsp_put_hostport_(wsp_writer_ *w, const wsproxy_url *u, int with_port)
{
    if (u->host_type == WSPROXY_HOST_IPV6) wsp_puts_(w, "[");
    wsp_put_(w, u->host, u->host_len);
    if (u->host_type == WSPROXY_HOST_IPV6) wsp_puts_(w, "]");
    if (with_port) { wsp_puts_(w, ":"); wsp_put_uint_(w, u->port); }
}

static int wsp_parse_url_(const char *s, wsproxy_url *u)
{
    return wsproxy_url_parse(s, wsp_strnlen_(s, WSPROXY_MAX_URL_BYTES + 1), u);
}

/* A URL of the configuration: on a fault, which URL and where go in the details. */
static int wsp_parse_cfg_url_(wsproxy_client *c, const char *s, wsproxy_url *u, int which)
{
    size_t at = 0;
    int rc = wsproxy_url_parse_at(s, wsp_strnlen_(s, WSPROXY_MAX_URL_BYTES + 1), u, &at);
    if (rc) {
        c->info_.url_which = which;
        c->info_.url_error_at = at;
    }
    return rc;
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

/* Headers whose values a trace never shows. */
static const char *const wsp_secret_headers_[] = {"authorization", "proxy-authorization", "cookie", "set-cookie", NULL};

/* Writes the caller's headers; those in skip are silently dropped, reserved refused. */
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
        if (w->redact && wsp_name_in_(*headers, nlen, wsp_secret_headers_)) wsp_puts_(w, "***");
        else wsp_put_(w, value, vlen);
        wsp_puts_(w, "\r\n");
    }
    return WSPROXY_OK;
}

/* The upgrade request (RFC 6455 4.1). */
static int wsp_render_upgrade_(const wsproxy_client *c, wsp_writer_ *w)
{
    static const char *const reserved_base[] = {
        "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
        "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions",
        "content-length", "transfer-encoding", "proxy-authorization", NULL};
    static const char *const reserved_origin[] = {
        "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
        "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions",
        "content-length", "transfer-encoding", "proxy-authorization", "origin", NULL};
    wsproxy_url u;
    int rc = wsp_parse_url_(c->url_, &u);
    unsigned default_port = u.scheme == WSPROXY_SCHEME_WSS ? 443u : 80u;
    if (rc) return rc;
    wsp_puts_(w, "GET ");
    if (u.path_len == 0 || u.path[0] != '/') wsp_puts_(w, "/");
    wsp_put_(w, u.path, u.path_len);
    wsp_puts_(w, " HTTP/1.1\r\nHost: ");
    wsp_put_hostport_(w, &u, u.port != default_port);
    wsp_puts_(w, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    wsp_put_(w, c->key_, 24);
    wsp_puts_(w, "\r\nSec-WebSocket-Version: 13\r\n");
#ifdef WSPROXY_DEFLATE
    if (c->pmd_opt_.enable) {   /* the offer (RFC 7692 7.1) */
        const wsproxy_deflate_options *o = &c->pmd_opt_;
        wsp_puts_(w, "Sec-WebSocket-Extensions: permessage-deflate");
        if (o->client_max_window_bits >= 0) {
            wsp_puts_(w, "; client_max_window_bits");
            if (o->client_max_window_bits) { wsp_puts_(w, "="); wsp_put_uint_(w, (unsigned)o->client_max_window_bits); }
        }
        if (o->server_max_window_bits) {
            wsp_puts_(w, "; server_max_window_bits=");
            wsp_put_uint_(w, (unsigned)o->server_max_window_bits);
        }
        if (o->client_no_context_takeover) wsp_puts_(w, "; client_no_context_takeover");
        if (o->server_no_context_takeover) wsp_puts_(w, "; server_no_context_takeover");
        wsp_puts_(w, "\r\n");
    }
#endif
    if (c->protocols_ && c->protocols_[0]) {
        const char *const *p, *const *q;
        wsp_puts_(w, "Sec-WebSocket-Protocol: ");
        for (p = c->protocols_; *p; p++) {
            size_t n = wsp_strnlen_(*p, WSPROXY_MAX_PROTOCOL_BYTES + 1), i;
            if (n == 0 || n > WSPROXY_MAX_PROTOCOL_BYTES) return WSPROXY_E_PROTOCOL_INVALID;
            for (i = 0; i < n; i++)
                if (!wsp_is_tchar_((unsigned char)(*p)[i])) return WSPROXY_E_PROTOCOL_INVALID;
            for (q = c->protocols_; q != p; q++)
                if (strcmp(*q, *p) == 0) return WSPROXY_E_PROTOCOL_INVALID;
            if (p != c->protocols_) wsp_puts_(w, ", ");
            wsp_put_(w, *p, n);
        }
        wsp_puts_(w, "\r\n");
    }
    if (c->origin_) {
        size_t i, n = wsp_strnlen_(c->origin_, WSPROXY_MAX_REQUEST_BYTES + 1);
        if (n > WSPROXY_MAX_REQUEST_BYTES) return WSPROXY_E_REQUEST_TOO_LARGE;
        for (i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)c->origin_[i];
            if (ch < 0x20 || ch == 0x7F) return WSPROXY_E_HEADER_INVALID;
        }
        wsp_puts_(w, "Origin: ");
        wsp_put_(w, c->origin_, n);
        wsp_puts_(w, "\r\n");
    }
    rc = wsp_put_headers_(w, c->headers_, c->origin_ ? reserved_origin : reserved_base, NULL);
    if (rc) return rc;
    wsp_puts_(w, "\r\n");
    return WSPROXY_OK;
}

/* A quoted-string (RFC 9110 5.6.4): '"' and '\\' escaped. */
static void wsp_put_quoted_(wsp_writer_ *w, const char *v, size_t n)
{
    size_t i;
    wsp_puts_(w, "\"");
    for (i = 0; i < n; i++) {
        if (v[i] == '"' || v[i] == '\\') wsp_puts_(w, "\\");
        wsp_put_(w, v + i, 1);
    }
    wsp_puts_(w, "\"");
}

static int wsp_auth_creds_(const wsproxy_client *c, char *user, size_t *ulen, char *pass, size_t *plen);

/* The CONNECT request (RFC 9110 9.3.6), with the proxy credentials of the scheme this
   round answers with (none, Basic, Digest, NTLM or Negotiate). */
static int wsp_render_connect_(const wsproxy_client *c, wsp_writer_ *w, int *secret)
{
    static const char *const reserved[] = {"host", "content-length", "transfer-encoding", NULL};
    static const char *const skip_auth[] = {"proxy-authorization", NULL};
    wsproxy_url target;
    int rc = wsp_parse_url_(c->url_, &target);
    if (rc) return rc;
    wsp_puts_(w, "CONNECT ");
    wsp_put_hostport_(w, &target, 1);
    wsp_puts_(w, " HTTP/1.1\r\nHost: ");
    wsp_put_hostport_(w, &target, 1);
    wsp_puts_(w, "\r\n");
    if (c->auth_next_ && w->redact) {   /* a trace: the scheme, never the credentials */
        static const char *const names[] = {"", "Basic", "Digest", "", "NTLM", "", "", "", "Negotiate"};
        wsp_puts_(w, "Proxy-Authorization: ");
        wsp_puts_(w, names[c->auth_next_ & 15]);
        wsp_puts_(w, " ***\r\n");
    } else if (c->auth_next_ == WSPROXY_AUTH_BASIC) {
        /* user ":" password, base64 on one line (RFC 7617) */
        char cred[2 * WSPROXY_MAX_CREDENTIAL_BYTES + 2];
        char b64[(sizeof cred + 2) / 3 * 4 + 1];
        size_t ulen, plen = 0;
        rc = wsp_auth_creds_(c, cred, &ulen, cred + WSPROXY_MAX_CREDENTIAL_BYTES + 1, &plen);
        if (!rc && memchr(cred, ':', ulen)) rc = WSPROXY_E_URL_USERINFO;   /* RFC 7617 2 */
        if (!rc) {
            memmove(cred + ulen + 1, cred + WSPROXY_MAX_CREDENTIAL_BYTES + 1, plen);
            cred[ulen] = ':';
            wsproxy_base64((const unsigned char *)cred, ulen + 1 + plen, b64, sizeof b64);
            wsp_puts_(w, "Proxy-Authorization: Basic ");
            wsp_puts_(w, b64);
            wsp_puts_(w, "\r\n");
            *secret = 1;
        }
        wsp_wipe_(cred, sizeof cred);
        wsp_wipe_(b64, sizeof b64);
        if (rc) return rc;
    } else if (c->auth_next_ == WSPROXY_AUTH_DIGEST) {
        static const char *const alg_names[] = {"", "MD5", "MD5-sess", "SHA-256", "SHA-256-sess"};
        char user[WSPROXY_MAX_CREDENTIAL_BYTES + 1], pass[WSPROXY_MAX_CREDENTIAL_BYTES + 1];
        size_t ulen, plen, i;
        int ascii = 1;
        rc = wsp_auth_creds_(c, user, &ulen, pass, &plen);
        wsp_wipe_(pass, sizeof pass);
        if (rc) { wsp_wipe_(user, sizeof user); return rc; }
        for (i = 0; i < ulen; i++)
            if ((unsigned char)user[i] >= 0x80) ascii = 0;
        wsp_puts_(w, "Proxy-Authorization: Digest ");
        if (c->dig_userhash_) {
            wsp_puts_(w, "username=\"");
            wsp_puts_(w, c->dig_user_);
            wsp_puts_(w, "\", userhash=true");
        } else if (!ascii && c->dig_charset_) {   /* RFC 7616 3.4.4: username*, RFC 8187 */
            wsp_puts_(w, "username*=UTF-8''");
            for (i = 0; i < ulen; i++) {
                unsigned char ch = (unsigned char)user[i];
                if (wsp_is_tchar_(ch) && ch != '%' && ch != '\'' && ch != '*') wsp_put_(w, user + i, 1);
                else {
                    char e[3] = {'%', "0123456789ABCDEF"[ch >> 4], "0123456789ABCDEF"[ch & 15]};
                    wsp_put_(w, e, 3);
                }
            }
        } else {
            wsp_puts_(w, "username=");
            wsp_put_quoted_(w, user, ulen);
        }
        wsp_wipe_(user, sizeof user);
        wsp_puts_(w, ", realm=");
        wsp_put_quoted_(w, c->dig_, strlen(c->dig_));
        wsp_puts_(w, ", nonce=");
        wsp_put_quoted_(w, c->dig_ + c->dig_nonce_, strlen(c->dig_ + c->dig_nonce_));
        wsp_puts_(w, ", uri=\"");
        wsp_put_hostport_(w, &target, 1);
        wsp_puts_(w, "\", algorithm=");
        wsp_puts_(w, alg_names[c->dig_alg_]);
        wsp_puts_(w, ", response=\"");
        wsp_puts_(w, c->dig_resp_);
        wsp_puts_(w, "\"");
        if (c->dig_has_opaque_ == 1) {
            wsp_puts_(w, ", opaque=");
            wsp_put_quoted_(w, c->dig_ + c->dig_opaque_, strlen(c->dig_ + c->dig_opaque_));
        }
        if (c->dig_qop_) {
            char nc[9];
            unsigned k;
            for (k = 0; k < 8; k++) nc[k] = "0123456789abcdef"[(c->dig_nc_ >> (28 - 4 * k)) & 15];
            nc[8] = '\0';
            wsp_puts_(w, c->dig_qop_ == 2 ? ", qop=auth-int, nc=" : ", qop=auth, nc=");
            wsp_puts_(w, nc);
            wsp_puts_(w, ", cnonce=\"");
            wsp_puts_(w, c->dig_cnonce_);
            wsp_puts_(w, "\"");
        }
        wsp_puts_(w, "\r\n");
    } else if (c->auth_next_) {
        wsp_puts_(w, c->auth_next_ == WSPROXY_AUTH_NTLM ? "Proxy-Authorization: NTLM " : "Proxy-Authorization: Negotiate ");
        wsp_put_(w, c->token_, c->token_len_);
        wsp_puts_(w, "\r\n");
        *secret = 1;
    }
    rc = wsp_put_headers_(w, c->proxy_headers_, reserved, c->auth_next_ ? skip_auth : NULL);
    if (rc) return rc;
    wsp_puts_(w, "\r\n");
    return WSPROXY_OK;
}

/* A SOCKS request (which: WSP_SOCKS_*), written through the same writer. */
static int wsp_render_socks_(const wsproxy_client *c, int which, wsp_writer_ *w, int *secret)
{
    unsigned char msg[WSPROXY_SOCKS_MAX_REQUEST];
    size_t len;
    wsproxy_url target, proxy;
    int rc = wsp_parse_url_(c->url_, &target);
    if (!rc) rc = wsp_parse_url_(c->proxy_, &proxy);
    if (!rc) rc = wsp_socks_build_(which, &proxy, &target, c->target_address_,
                                   c->target_address_type_, msg, &len);
    if (!rc) wsp_put_(w, (const char *)msg, len);
    *secret = which == WSP_SOCKS_AUTH_;
    wsp_wipe_(msg, sizeof msg);
    return rc;
}

static int wsp_render_(const wsproxy_client *c, int req, wsp_writer_ *w, int *secret)
{
    *secret = 0;
    if (req == WSP_REQ_UPGRADE_) return wsp_render_upgrade_(c, w);
    if (req == WSP_REQ_CONNECT_) return wsp_render_connect_(c, w, secret);
    return wsp_render_socks_(c, req, w, secret);
}

/* Validates and measures a request without writing it (wsproxy_init's check). */
static int wsp_measure_(const wsproxy_client *c, int req)
{
    wsp_writer_ w;
    int secret, rc;
    memset(&w, 0, sizeof w);
    rc = wsp_render_(c, req, &w, &secret);
    if (rc) return rc;
    return w.total > WSPROXY_MAX_REQUEST_BYTES ? WSPROXY_E_REQUEST_TOO_LARGE : WSPROXY_OK;
}

/* The trace of a request head, line by line, credentials replaced. */
static void wsp_trace_request_(wsproxy_client *c, int req)
{
    char buf[WSPROXY_MAX_REQUEST_BYTES];
    wsp_writer_ w;
    int secret, what = req == WSP_REQ_CONNECT_ ? WSPROXY_TRACE_PROXY_REQUEST : WSPROXY_TRACE_REQUEST;
    size_t i, start = 0;
    memset(&w, 0, sizeof w);
    w.buf = buf;
    w.cap = sizeof buf;
    w.redact = 1;
    if (wsp_render_(c, req, &w, &secret) != WSPROXY_OK) return;
    for (i = 0; i + 1 < w.len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n') {
            c->trace_(c->trace_ctx_, what, buf + start, i - start);
            start = i + 2;
            i++;
        }
    wsp_wipe_(buf, sizeof buf);
}

/* A line of a reply head for the trace (an empty one ends the head). */
static void wsp_trace_line_(wsproxy_client *c, int upgrade, const char *line, size_t len)
{
    int what = upgrade ? WSPROXY_TRACE_REPLY : WSPROXY_TRACE_PROXY_REPLY;
    size_t n = 0;
    while (n < len && line[n] != ':') n++;
    if (n < len && c->head_.lines > 1 && wsp_name_in_(line, n, wsp_secret_headers_)) {
        char red[80];
        if (n > sizeof red - 6) n = sizeof red - 6;
        memcpy(red, line, n);
        memcpy(red + n, ": ***", 5);
        c->trace_(c->trace_ctx_, what, red, n + 5);
    } else {
        c->trace_(c->trace_ctx_, what, line, len);
    }
}

/* Writes the due request into the room of the stage below, resuming where the last
   piece ended. A plain send buffer remembers how far a secret went, to wipe it once sent. */
static void wsp_write_request_(wsproxy_client *c, int below)
{
    wsp_writer_ w;
    int secret = 0;
    size_t room;
    unsigned char *dst = wsp_port_(c, below, WSP_SENDAPP_, &room);
    if (!dst || !room) return;
    if (c->trace_ && c->req_off_ == 0 && (c->req_ == WSP_REQ_CONNECT_ || c->req_ == WSP_REQ_UPGRADE_))
        wsp_trace_request_(c, c->req_);
    memset(&w, 0, sizeof w);
    w.buf = (char *)dst;
    w.cap = room;
    w.skip = c->req_off_;
    if (wsp_render_(c, c->req_, &w, &secret) != WSPROXY_OK) {
        wsp_fail_(c, WSPROXY_E_ARGUMENT);   /* the configuration changed since init */
        return;
    }
    wsp_ack_(c, below, WSP_SENDAPP_, w.len);
    if (secret && below == WSP_S_PLAIN_) c->swipe_ = c->se_;
    c->req_off_ += w.len;
    if (c->req_off_ >= w.total) { c->req_ = 0; c->req_off_ = 0; }
}

/* ==== 11. stages TUNNEL and UPGRADE: the replies ===================================== */
/* What the header lines of a reply said (reply_flags_). */
enum { WSP_RF_UPGRADE_ = 1, WSP_RF_CONNECTION_ = 2, WSP_RF_ACCEPT_ = 4 };

static void wsp_keep_status_line_(wsproxy_client *c, int status, const char *buf, size_t len)
{
    size_t i;
    c->info_.http_status = status;
    for (i = 0; i < len && buf[i] != '\r' && buf[i] != '\n'; i++) {}
    wsp_copy_detail_(c->info_.status_line, sizeof c->info_.status_line, 0, buf, i);
}

/* Does the comma-separated value hold token (case-insensitive)? */
static int wsp_value_has_token_(const char *v, size_t len, const char *token)
{
    const char *end = v + len;
    size_t tl = strlen(token);
    while (v < end) {
        const char *e = v, *a = v, *b;
        while (e < end && *e != ',') e++;
        b = e;
        while (a < b && wsp_is_blank_(*a)) a++;
        while (b > a && wsp_is_blank_(b[-1])) b--;
        if ((size_t)(b - a) == tl && wsp_ieq_(a, tl, token)) return 1;
        v = e + 1;
    }
    return 0;
}

#ifdef WSPROXY_DEFLATE
/* The first fault of the 101's extensions, kept readable: the text at fault and why. */
static int wsp_pmd_fault_(wsproxy_client *c, const char *text, size_t len, const char *why)
{
    char *d = c->info_.extension;
    if (!d[0]) {
        wsp_copy_detail_(d, sizeof c->info_.extension, 0, text, len);
        wsp_copy_detail_(d, sizeof c->info_.extension, strlen(d), why, strlen(why));
    }
    return WSPROXY_E_HANDSHAKE_EXTENSION;
}

/* A window-bits value as RFC 7692 7.1.2 writes it: 8 to 15, no leading zero; a
   quoted-string holding one is the same value. -1 when it is not one. */
static int wsp_pmd_bits_(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') { v++; n -= 2; }
    if (n == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + v[1] - '0';
    return -1;
}

/* One element of the 101's Sec-WebSocket-Extensions: permessage-deflate, once, with
   only the parameters an answer may have, each once, consistent with the offer. */
static int wsp_pmd_element_(wsproxy_client *c, const char *e, size_t n)
{
    const wsproxy_deflate_options *o = &c->pmd_opt_;
    size_t i = 0, name_len;
    int seen = 0;
    while (n && wsp_is_blank_(e[n - 1])) n--;
    while (i < n && wsp_is_blank_(e[i])) i++;
    e += i;
    n -= i;
    if (!n) return 0;   /* an empty list element */
    for (name_len = 0; name_len < n && wsp_is_tchar_((unsigned char)e[name_len]); name_len++) {}
    if (!name_len) return wsp_pmd_fault_(c, e, n, ": not an extension");
    if (!wsp_ieq_(e, name_len, "permessage-deflate")) return wsp_pmd_fault_(c, e, name_len, ": not offered");
    if (!o->enable) return wsp_pmd_fault_(c, e, name_len, ": not offered");
    if (c->pmd_seen_) return wsp_pmd_fault_(c, e, name_len, ": named twice");
    c->pmd_seen_ = 1;
    c->pmd_.server_window_bits = 15;
    c->pmd_.client_window_bits = o->client_max_window_bits > 0 ? o->client_max_window_bits : 15;
    i = name_len;
    for (;;) {
        size_t p0, pn, v0 = 0, vn = 0;
        int bits, bit;
        while (i < n && wsp_is_blank_(e[i])) i++;
        if (i == n) return 0;
        if (e[i] != ';') return wsp_pmd_fault_(c, e, n, ": malformed");
        i++;
        while (i < n && wsp_is_blank_(e[i])) i++;
        p0 = i;
        while (i < n && wsp_is_tchar_((unsigned char)e[i])) i++;
        pn = i - p0;
        if (!pn) return wsp_pmd_fault_(c, e, n, ": an empty parameter");
        while (i < n && wsp_is_blank_(e[i])) i++;
        if (i < n && e[i] == '=') {
            i++;
            while (i < n && wsp_is_blank_(e[i])) i++;
            v0 = i;
            if (i < n && e[i] == '"') {
                for (i++; i < n && e[i] != '"'; i++)
                    if (e[i] == '\\') i++;
                if (i >= n) return wsp_pmd_fault_(c, e + p0, n - p0, ": an unclosed quote");
                i++;
            } else {
                while (i < n && wsp_is_tchar_((unsigned char)e[i])) i++;
            }
            vn = i - v0;
            if (!vn) return wsp_pmd_fault_(c, e + p0, i - p0, ": an empty value");
        }
        bits = vn ? wsp_pmd_bits_(e + v0, vn) : 0;
        if (wsp_ieq_(e + p0, pn, "server_no_context_takeover")) bit = 1;
        else if (wsp_ieq_(e + p0, pn, "client_no_context_takeover")) bit = 2;
        else if (wsp_ieq_(e + p0, pn, "server_max_window_bits")) bit = 4;
        else if (wsp_ieq_(e + p0, pn, "client_max_window_bits")) bit = 8;
        else return wsp_pmd_fault_(c, e + p0, i - p0, ": not a permessage-deflate parameter");
        if (seen & bit) return wsp_pmd_fault_(c, e + p0, i - p0, ": given twice");
        seen |= bit;
        if (bit <= 2 && vn) return wsp_pmd_fault_(c, e + p0, i - p0, ": takes no value");
        if (bit >= 4 && !vn) return wsp_pmd_fault_(c, e + p0, i - p0, ": needs a value in an answer");
        if (bit >= 4 && bits < 0) return wsp_pmd_fault_(c, e + p0, i - p0, ": must be 8 to 15");
        switch (bit) {
        case 1: c->pmd_.server_no_context_takeover = 1; break;
        case 2: c->pmd_.client_no_context_takeover = 1; break;
        case 4:   /* 7.1.2.1: the same as offered or smaller */
            if (o->server_max_window_bits && bits > o->server_max_window_bits)
                return wsp_pmd_fault_(c, e + p0, i - p0, ": above the value offered");
            c->pmd_.server_window_bits = bits;
            break;
        default:   /* 7.1.2.2: only when offered, and not above an offered value */
            if (o->client_max_window_bits < 0) return wsp_pmd_fault_(c, e + p0, i - p0, ": not offered");
            if (o->client_max_window_bits > 0 && bits > o->client_max_window_bits)
                return wsp_pmd_fault_(c, e + p0, i - p0, ": above the value offered");
            c->pmd_.client_window_bits = bits;
            break;
        }
    }
}

/* A Sec-WebSocket-Extensions line of the 101: elements split at commas outside quotes. */
static int wsp_pmd_answer_(wsproxy_client *c, const char *v, size_t len)
{
    size_t i = 0;
    while (i <= len) {
        size_t end = i;
        int quoted = 0, rc;
        for (; end < len && (quoted || v[end] != ','); end++) {
            if (quoted && v[end] == '\\') end++;
            else if (v[end] == '"') quoted = !quoted;
        }
        if (end > len) end = len;
        if (quoted) return wsp_pmd_fault_(c, v + i, end - i, ": an unclosed quote");
        rc = wsp_pmd_element_(c, v + i, end - i);
        if (rc) return rc;
        i = end + 1;
    }
    return 0;
}
#endif

/* A header line of the 101: what RFC 6455 4.1 asks the client to check. The first
   fault among accept, extensions and protocol in header order is kept for the end. */
static void wsp_upgrade_field_(wsproxy_client *c, const wsproxy_header *f)
{
    int fault = 0;
    if (wsp_ieq_(f->name, f->name_len, "upgrade")) {
        if (wsp_value_has_token_(f->value, f->value_len, "websocket")) c->reply_flags_ |= WSP_RF_UPGRADE_;
    } else if (wsp_ieq_(f->name, f->name_len, "connection")) {
        if (wsp_value_has_token_(f->value, f->value_len, "upgrade")) c->reply_flags_ |= WSP_RF_CONNECTION_;
    } else if (wsp_ieq_(f->name, f->name_len, "sec-websocket-accept")) {
        if ((c->reply_flags_ & WSP_RF_ACCEPT_) || f->value_len != 28 ||
            memcmp(f->value, c->accept_, 28) != 0)
            fault = WSPROXY_E_HANDSHAKE_ACCEPT;
        c->reply_flags_ |= WSP_RF_ACCEPT_;
    } else if (wsp_ieq_(f->name, f->name_len, "sec-websocket-extensions")) {
#ifdef WSPROXY_DEFLATE
        fault = wsp_pmd_answer_(c, f->value, f->value_len);
#else
        if (f->value_len) {
            wsp_copy_detail_(c->info_.extension, sizeof c->info_.extension, 0, f->value, f->value_len);
            fault = WSPROXY_E_HANDSHAKE_EXTENSION;
        }
#endif
    } else if (wsp_ieq_(f->name, f->name_len, "sec-websocket-protocol")) {
        /* one token, one of those offered (compared exactly, RFC 6455 4.1) */
        const char *const *p;
        int found = 0;
        if (c->protocol_[0] || f->value_len == 0 || f->value_len > WSPROXY_MAX_PROTOCOL_BYTES) {
            fault = WSPROXY_E_HANDSHAKE_PROTOCOL;
        } else {
            for (p = c->protocols_; p && *p; p++)
                if (strlen(*p) == f->value_len && memcmp(*p, f->value, f->value_len) == 0) found = 1;
            if (!found) fault = WSPROXY_E_HANDSHAKE_PROTOCOL;
            else {
                memcpy(c->protocol_, f->value, f->value_len);
                c->protocol_[f->value_len] = '\0';
            }
        }
    }
    if (fault && !c->reply_error_) c->reply_error_ = fault;
}

/* A header line of a proxy's reply: the challenges are kept for the error details. */
/* A header line of a proxy's reply: for a 407 (or a proxy's 401) the challenges, kept
   for the error details and, in place, for the answer; how the body ends; whether the
   connection stays. */
static void wsp_tunnel_field_(wsproxy_client *c, const wsproxy_header *f, const char *base)
{
    char *d = c->info_.proxy_authenticate;
    size_t at = strlen(d);
    if (c->status_ != 407 && c->status_ != 401) return;
    if (wsp_ieq_(f->name, f->name_len, "content-length")) {
        uint64_t v = 0;
        size_t i;
        for (i = 0; i < f->value_len && f->value[i] >= '0' && f->value[i] <= '9' && v < (1ull << 50); i++)
            v = v * 10 + (uint64_t)(f->value[i] - '0');
        if (i != f->value_len || !i || (c->reply_has_clen_ && c->reply_clen_ != v)) c->reply_error_ = 1;
        c->reply_clen_ = v;
        c->reply_has_clen_ = 1;
    } else if (wsp_ieq_(f->name, f->name_len, "transfer-encoding")) {
        if (wsp_value_has_token_(f->value, f->value_len, "chunked")) c->reply_chunked_ = 1;
        else c->reply_error_ = 1;   /* a coding we cannot skip */
    } else if (wsp_ieq_(f->name, f->name_len, "connection") ||
               wsp_ieq_(f->name, f->name_len, "proxy-connection")) {
        if (wsp_value_has_token_(f->value, f->value_len, "close")) c->reply_close_ = 1;
        if (wsp_value_has_token_(f->value, f->value_len, "keep-alive")) c->reply_keepalive_ = 1;
    }
    if (!wsp_ieq_(f->name, f->name_len, "proxy-authenticate") &&
        !(c->status_ == 401 && wsp_ieq_(f->name, f->name_len, "www-authenticate")))
        return;
    if (c->nchal_ < WSPROXY_MAX_CHALLENGES) {
        c->chal_off_[c->nchal_] = (size_t)(f->value - base);
        c->chal_len_[c->nchal_++] = f->value_len;
    }
    if (at) wsp_copy_detail_(d, WSPROXY_MAX_DETAIL_BYTES, at, ", ", 2);
    wsp_copy_detail_(d, WSPROXY_MAX_DETAIL_BYTES, strlen(d), f->value, f->value_len);
}

static void wsp_reply_reset_(wsproxy_client *c)
{
    wsp_head_reset_(&c->head_);
    c->status_ = 0;
    c->reply_flags_ = 0;
    c->reply_error_ = 0;
    c->hfill_ = 0;
    c->nchal_ = 0;
    c->reply_minor_ = c->reply_close_ = c->reply_keepalive_ = c->reply_chunked_ = c->reply_has_clen_ = 0;
    c->reply_clen_ = 0;
}

/* Reads a reply head from the stage below: in place from a plain transport, else
   gathered in the head buffer, never a byte past the head's end. Each line is judged
   as it completes. Returns 1 when the head is whole (its bytes consumed), 0 when more
   is needed or the client failed. */
static int wsp_read_head_(wsproxy_client *c, int below, int upgrade)
{
    for (;;) {
        const char *buf;
        size_t len, have = 0, take = 0;
        int r;
        if (below == WSP_S_PLAIN_) {
            buf = (const char *)c->rbuf_ + c->rs_;
            len = c->re_ - c->rs_;
        } else {
            const unsigned char *p = wsp_port_(c, below, WSP_RECVAPP_, &have);
            if (!have) return 0;
            take = have < c->hcap_ - c->hfill_ ? have : c->hcap_ - c->hfill_;
            if (take) memcpy(c->hbuf_ + c->hfill_, p, take);
            buf = (const char *)c->hbuf_;
            len = c->hfill_ + take;
        }
        while ((r = wsp_head_scan_(&c->head_, buf, len)) == WSP_HEAD_LINE_) {
            const char *line = buf + c->head_.line_start;
            size_t line_len = c->head_.line_end - c->head_.line_start;
            if (c->trace_) wsp_trace_line_(c, upgrade, line, line_len);
            if (c->head_.lines == 1) {
                const char *reason;
                size_t reason_len;
                if (wsp_head_status_(line, line_len, &c->reply_minor_, &c->status_, &reason, &reason_len)) {
                    r = WSPROXY_HTTP_ERROR;
                    break;
                }
                wsp_keep_status_line_(c, c->status_, line, line_len);
                if (!upgrade) c->info_.proxy_authenticate[0] = '\0';   /* this reply's challenges only */
            } else {
                wsproxy_header f;
                if (wsp_head_field_(line, line_len, &f)) { r = WSPROXY_HTTP_ERROR; break; }
                if (c->head_.lines - 1 > WSPROXY_MAX_HEADERS) { r = WSPROXY_HTTP_TOO_LARGE; break; }
                if (upgrade) wsp_upgrade_field_(c, &f);
                else wsp_tunnel_field_(c, &f, buf);
            }
        }
        WSP_STAT_(c->stats_.head_bytes_examined += c->head_.examined);
        c->head_.examined = 0;
        if (r < 0) {
            c->info_.proxy_authenticate[0] = '\0';
            wsp_keep_status_line_(c, 0, buf, len < 80 ? len : 80);
            wsp_fail_(c, r == WSPROXY_HTTP_TOO_LARGE
                             ? (upgrade ? WSPROXY_E_HANDSHAKE_TOO_LARGE : WSPROXY_E_PROXY_REPLY_TOO_LARGE)
                             : (upgrade ? WSPROXY_E_HANDSHAKE_BAD_REPLY : WSPROXY_E_PROXY_BAD_REPLY));
            return 0;
        }
        if (r == WSP_HEAD_END_) {
            if (c->trace_) c->trace_(c->trace_ctx_, upgrade ? WSPROXY_TRACE_REPLY : WSPROXY_TRACE_PROXY_REPLY, "", 0);
            c->head_base_ = buf;   /* whole, in place, until this poll returns */
            if (below == WSP_S_PLAIN_) {
                wsp_ack_(c, below, WSP_RECVAPP_, c->head_.pos);
            } else {
                wsp_ack_(c, below, WSP_RECVAPP_, c->head_.pos - c->hfill_);
                c->hfill_ = c->head_.pos;
            }
            return 1;
        }
        if (below == WSP_S_PLAIN_) {
            if (len == c->rcap_ && c->rs_ == 0) {   /* the buffer is full of an unfinished head */
                wsp_keep_status_line_(c, 0, buf, 80);
                wsp_fail_(c, upgrade ? WSPROXY_E_HANDSHAKE_TOO_LARGE : WSPROXY_E_PROXY_REPLY_TOO_LARGE);
            }
            return 0;
        }
        wsp_ack_(c, below, WSP_RECVAPP_, take);
        c->hfill_ += take;
        if (c->hfill_ == c->hcap_) {   /* the head buffer is full of an unfinished head */
            wsp_keep_status_line_(c, 0, buf, 80);
            wsp_fail_(c, upgrade ? WSPROXY_E_HANDSHAKE_TOO_LARGE : WSPROXY_E_PROXY_REPLY_TOO_LARGE);
            return 0;
        }
        if (!take) return 0;
    }
}

/* The live protocol stage is done: it leaves the chain, and what was asleep above it
   wakes (a TLS stage starts its handshake, the upgrade stage writes its request). */
static void wsp_stage_done_(wsproxy_client *c)
{
    int i;
    memmove(c->chain_ + c->live_, c->chain_ + c->live_ + 1, (size_t)(c->nchain_ - c->live_ - 1));
    c->nchain_--;
    for (i = c->live_; i < c->nchain_; i++) {
        int s = c->chain_[i];
        if (wsp_is_tls_stage_(s)) {
            wsp_tls_wake_(c, s == WSP_S_TLS_PROXY_ ? 0 : 1);
            continue;
        }
        break;
    }
    c->live_ = i;
    wsp_reply_reset_(c);
    switch (c->chain_[c->live_]) {
    case WSP_S_UPGRADE_:
        c->state_ = WSPROXY_STATE_HANDSHAKE;
        c->req_ = WSP_REQ_UPGRADE_;
        c->req_off_ = 0;
        break;
    case WSP_S_FRAMES_:
        c->state_ = WSPROXY_STATE_OPEN;
        break;
    default:
        break;
    }
}

/* 1 while the tunnel's request has not wholly left through the socket. A proxy answers
   what it received, so its reply is read only then: a reply that came early (a broken
   proxy) waits for the caller's flush, and no verdict depends on when that happened. */
static int wsp_request_out_(wsproxy_client *c)
{
    size_t n;
    if (c->req_) return 1;
    wsp_tls_flush_(c, c->chain_[0]);
    return wsp_port_(c, c->chain_[0], WSP_SENDREC_, &n) != NULL && n > 0;
}

/* -- stage tunnel, SOCKS: one reply byte at a time, never a byte past the reply -- */
static int wsp_socks_step_(wsproxy_client *c, wsproxy_event *ev, int below)
{
    for (;;) {
        size_t n, used = 0;
        const unsigned char *p = wsp_port_(c, below, WSP_RECVAPP_, &n);
        int rc = WSPROXY_SOCKS_NEED_MORE;
        if (wsp_request_out_(c)) return 0;
        while (used < n && rc == WSPROXY_SOCKS_NEED_MORE) rc = wsp_socks_rx_byte_(&c->socks_, p[used++]);
        wsp_ack_(c, below, WSP_RECVAPP_, used);
        if (rc == WSPROXY_SOCKS_NEED_MORE) return 0;
        c->info_.socks_reply = c->socks_.code_;
        if (rc == WSPROXY_SOCKS_SEND) {
            c->req_ = c->socks_.next_;
            c->req_off_ = 0;
            wsp_write_request_(c, below);
            continue;
        }
        if (rc != WSPROXY_SOCKS_DONE) { wsp_fail_(c, rc); return 0; }
        wsp_stage_done_(c);
        ev->type = WSPROXY_EV_TUNNEL;
        ev->status = 0;
        return 1;
    }
}


/* -- proxy authentication: the 407 loop -- */
static WSP_INLINE_ int wsp_random_(wsproxy_client *c, unsigned char *dst, size_t n);
enum { WSP_BODY_NONE_, WSP_BODY_LENGTH_, WSP_BODY_CHUNKED_ };
enum { WSP_CH_SIZE_, WSP_CH_EXT_, WSP_CH_DATA_, WSP_CH_DATA_END_, WSP_CH_TRAILER_, WSP_CH_TRAILER_LINE_ };

WSPROXY_IMPL const char *wsproxy_auth_name(int scheme)
{
    switch (scheme) {
    case WSPROXY_AUTH_BASIC: return "Basic";
    case WSPROXY_AUTH_DIGEST: return "Digest";
    case WSPROXY_AUTH_NTLM: return "NTLM";
    case WSPROXY_AUTH_NEGOTIATE: return "Negotiate";
    case WSPROXY_AUTH_OTHER: return "other";
    default: return NULL;
    }
}

static int wsp_scheme_id_(const wsproxy_auth_challenge *ch)
{
    if (wsp_ieq_(ch->scheme, ch->scheme_len, "basic")) return WSPROXY_AUTH_BASIC;
    if (wsp_ieq_(ch->scheme, ch->scheme_len, "digest")) return WSPROXY_AUTH_DIGEST;
    if (wsp_ieq_(ch->scheme, ch->scheme_len, "ntlm")) return WSPROXY_AUTH_NTLM;
    if (wsp_ieq_(ch->scheme, ch->scheme_len, "negotiate")) return WSPROXY_AUTH_NEGOTIATE;
    return 0;
}

/* The user and password to answer with: the caller's, else the proxy URL's (decoded). */
static int wsp_auth_creds_(const wsproxy_client *c, char *user, size_t *ulen, char *pass, size_t *plen)
{
    wsproxy_url u;
    *ulen = *plen = 0;
    if (c->proxy_user_) {
        *ulen = wsp_strnlen_(c->proxy_user_, WSPROXY_MAX_CREDENTIAL_BYTES + 1);
        *plen = c->proxy_password_ ? wsp_strnlen_(c->proxy_password_, WSPROXY_MAX_CREDENTIAL_BYTES + 1) : 0;
        if (*ulen > WSPROXY_MAX_CREDENTIAL_BYTES || *plen > WSPROXY_MAX_CREDENTIAL_BYTES) return WSPROXY_E_ARGUMENT;
        memcpy(user, c->proxy_user_, *ulen);
        if (*plen) memcpy(pass, c->proxy_password_, *plen);
    } else {
        if (wsp_parse_url_(c->proxy_, &u) != WSPROXY_OK || !u.user) return WSPROXY_E_ARGUMENT;
        if (wsproxy_percent_decode(u.user, u.user_len, user, WSPROXY_MAX_CREDENTIAL_BYTES, ulen) ||
            (u.password && wsproxy_percent_decode(u.password, u.password_len, pass, WSPROXY_MAX_CREDENTIAL_BYTES, plen)))
            return WSPROXY_E_URL_USERINFO;
    }
    return WSPROXY_OK;
}

static int wsp_has_creds_(const wsproxy_client *c)
{
    wsproxy_url u;
    if (c->proxy_user_) return 1;
    return wsp_parse_url_(c->proxy_, &u) == WSPROXY_OK && u.user != NULL;
}

/* Which schemes this client can answer at all. */
static int wsp_auth_usable_(const wsproxy_client *c)
{
    int usable = 0;
    if (wsp_has_creds_(c)) {
        usable |= WSPROXY_AUTH_BASIC;
#ifndef WSPROXY_NO_TLS
        usable |= WSPROXY_AUTH_DIGEST;
#endif
    }
    if (c->token_fn_) usable |= WSPROXY_AUTH_NTLM | WSPROXY_AUTH_NEGOTIATE;
    return usable & c->auth_allowed_;
}

static int wsp_auth_token_(wsproxy_client *c, int scheme, const char *chal, size_t chal_len)
{
    const char *tok = NULL;
    size_t n = 0, i;
    if (c->token_fn_(c->token_ctx_, scheme, chal ? chal : "", chal ? chal_len : 0, &tok, &n) != 0 || !tok || !n ||
        n > WSPROXY_MAX_REQUEST_BYTES)
        return WSPROXY_E_PROXY_AUTH_TOKEN;
    for (i = 0; i < n; i++)   /* base64: nothing that could end the header line */
        if (!wsp_is_token68_((unsigned char)tok[i]) && tok[i] != '=') return WSPROXY_E_PROXY_AUTH_TOKEN;
    c->token_ = tok;
    c->token_len_ = n;
    return WSPROXY_OK;
}

#ifndef WSPROXY_NO_TLS
/* Takes a Digest challenge: its strings into dig_, the algorithm and qop, a fresh cnonce,
   the nonce count, then the response itself. 0, or WSPROXY_E_PROXY_AUTH_CHALLENGE. */
static int wsp_digest_prepare_(wsproxy_client *c, const wsproxy_auth_challenge *ch)
{
    static const struct { const char *name; int alg; } algs[] = {
        {"MD5", WSPROXY_DIGEST_MD5}, {"MD5-sess", WSPROXY_DIGEST_MD5_SESS},
        {"SHA-256", WSPROXY_DIGEST_SHA256}, {"SHA-256-sess", WSPROXY_DIGEST_SHA256_SESS}};
    char tmp[64], user[WSPROXY_MAX_CREDENTIAL_BYTES + 1], pass[WSPROXY_MAX_CREDENTIAL_BYTES + 1];
    char old_nonce[WSPROXY_MAX_CHALLENGE_BYTES];
    size_t at = 0, n, ulen, plen, i;
    unsigned char rnd[16];
    wsproxy_digest d;
    int rc, alg = WSPROXY_DIGEST_MD5, qop = 0;
    if (wsproxy_auth_param(ch, "algorithm", tmp, sizeof tmp, &n) == 1) {
        for (i = 0, alg = 0; i < sizeof algs / sizeof algs[0]; i++)
            if (wsp_ieq_(tmp, n, algs[i].name)) alg = algs[i].alg;
        if (!alg) return WSPROXY_E_PROXY_AUTH_CHALLENGE;
    }
    if (wsproxy_auth_param(ch, "qop", tmp, sizeof tmp, &n) == 1) {
        if (wsp_value_has_token_(tmp, n, "auth")) qop = 1;
        else if (wsp_value_has_token_(tmp, n, "auth-int")) qop = 2;
        else return WSPROXY_E_PROXY_AUTH_CHALLENGE;
    } else if (alg == WSPROXY_DIGEST_MD5_SESS || alg == WSPROXY_DIGEST_SHA256_SESS) {
        return WSPROXY_E_PROXY_AUTH_CHALLENGE;   /* -sess needs a cnonce, so a qop */
    }
    memcpy(old_nonce, c->dig_ + c->dig_nonce_, sizeof old_nonce - c->dig_nonce_);
    /* realm, nonce, opaque, each NUL-terminated in dig_ */
    if (wsproxy_auth_param(ch, "realm", c->dig_, sizeof c->dig_, &n) != 1) return WSPROXY_E_PROXY_AUTH_CHALLENGE;
    at = n + 1;
    c->dig_nonce_ = at;
    if (wsproxy_auth_param(ch, "nonce", c->dig_ + at, sizeof c->dig_ - at, &n) != 1 || !n)
        return WSPROXY_E_PROXY_AUTH_CHALLENGE;
    at += n + 1;
    c->dig_opaque_ = at;
    c->dig_has_opaque_ = wsproxy_auth_param(ch, "opaque", c->dig_ + at, sizeof c->dig_ - at, &n);
    if (c->dig_has_opaque_ < 0) return WSPROXY_E_PROXY_AUTH_CHALLENGE;
    if (!c->dig_has_opaque_ && at < sizeof c->dig_) c->dig_[at] = '\0';
    c->dig_userhash_ = wsproxy_auth_param(ch, "userhash", tmp, sizeof tmp, &n) == 1 && wsp_ieq_(tmp, n, "true");
    c->dig_charset_ = wsproxy_auth_param(ch, "charset", tmp, sizeof tmp, &n) == 1 && wsp_ieq_(tmp, n, "utf-8");
    c->dig_alg_ = alg;
    c->dig_qop_ = qop;
    c->dig_nc_ = strcmp(old_nonce, c->dig_ + c->dig_nonce_) == 0 ? c->dig_nc_ + 1 : 1;
    if (wsp_random_(c, rnd, sizeof rnd) != 0) return WSPROXY_E_RANDOM;
    for (i = 0; i < 16; i++) {
        c->dig_cnonce_[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
        c->dig_cnonce_[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
    }
    c->dig_cnonce_[32] = '\0';
    rc = wsp_auth_creds_(c, user, &ulen, pass, &plen);
    if (!rc) {
        user[ulen] = '\0';
        memset(&d, 0, sizeof d);
        d.algorithm = alg;
        d.qop = qop;
        d.username = user;
        d.username_len = ulen;
        d.password = pass;
        d.password_len = plen;
        d.realm = c->dig_;
        d.nonce = c->dig_ + c->dig_nonce_;
        d.cnonce = c->dig_cnonce_;
        d.method = "CONNECT";
        d.nc = c->dig_nc_;
        {
            wsproxy_url t;
            wsp_writer_ w;
            char uri[300];
            wsp_parse_url_(c->url_, &t);
            memset(&w, 0, sizeof w);
            w.buf = uri;
            w.cap = sizeof uri - 1;
            wsp_put_hostport_(&w, &t, 1);
            uri[w.len] = '\0';
            d.uri = uri;
            rc = wsproxy_digest_response(&d, c->dig_resp_);
        }
        if (!rc && c->dig_userhash_) rc = wsproxy_digest_userhash(alg, user, ulen, c->dig_, c->dig_user_);
    }
    wsp_wipe_(user, sizeof user);
    wsp_wipe_(pass, sizeof pass);
    return rc;
}

/* The strength of a Digest challenge: SHA-256 over MD5, qop over none; 0 unusable. */
static int wsp_digest_rank_(const wsproxy_auth_challenge *ch)
{
    char tmp[64];
    size_t n;
    int r = 2;
    if (wsproxy_auth_param(ch, "algorithm", tmp, sizeof tmp, &n) == 1) {
        if (wsp_ieq_(tmp, n, "SHA-256") || wsp_ieq_(tmp, n, "SHA-256-sess")) r = 4;
        else if (!wsp_ieq_(tmp, n, "MD5") && !wsp_ieq_(tmp, n, "MD5-sess")) return 0;
    }
    if (wsproxy_auth_param(ch, "qop", tmp, sizeof tmp, &n) == 1) r++;
    return r;
}
#endif

/* A 407: which scheme the next CONNECT answers with, and with what. Fails the client
   with the error that says why not. */
static void wsp_auth_decide_(wsproxy_client *c)
{
    wsproxy_auth_challenge ch, best_digest, token_ch;
    int offered = 0, stale = 0, usable = wsp_auth_usable_(c), pick = 0, i, rc = WSPROXY_OK, best_rank = 0;
    int have_token = 0;
    memset(&best_digest, 0, sizeof best_digest);
    memset(&token_ch, 0, sizeof token_ch);
    for (i = 0; i < c->nchal_; i++) {
        const char *v = c->head_base_ + c->chal_off_[i];
        size_t pos = 0;
        int r;
        while ((r = wsproxy_auth_next(v, c->chal_len_[i], &pos, &ch)) == 1) {
            int id = wsp_scheme_id_(&ch);
            offered |= id ? id : WSPROXY_AUTH_OTHER;
#ifndef WSPROXY_NO_TLS
            if (id == WSPROXY_AUTH_DIGEST) {
                char tmp[8];
                size_t n;
                int rank = wsp_digest_rank_(&ch);
                if (rank > best_rank) { best_rank = rank; best_digest = ch; }
                if (wsproxy_auth_param(&ch, "stale", tmp, sizeof tmp, &n) == 1 && wsp_ieq_(tmp, n, "true")) stale = 1;
            }
#endif
            if ((id == WSPROXY_AUTH_NTLM || id == WSPROXY_AUTH_NEGOTIATE) && id == c->auth_sent_ && ch.token68) {
                token_ch = ch;
                have_token = 1;
            }
        }
        if (r < 0) { wsp_fail_(c, WSPROXY_E_PROXY_AUTH_CHALLENGE); return; }
    }
    c->info_.auth_offered = offered;
    if (c->auth_rounds_ >= WSPROXY_MAX_AUTH_ROUNDS) { wsp_fail_(c, WSPROXY_E_PROXY_AUTH_ROUNDS); return; }
    if (c->auth_sent_ && offered && !(offered & c->auth_sent_)) {
        /* what went out (Basic, or a first token, with the first CONNECT) is not even
           offered: the proxy wants another scheme, which was not allowed (a 407 that
           offers nothing at all is a plain rejection, below) */
        wsp_fail_(c, WSPROXY_E_PROXY_AUTH_SCHEME);
        return;
    }
    if (c->auth_sent_) {
        /* credentials went out: the exchange goes on only where the scheme says so */
        if (have_token) {
            pick = c->auth_sent_;
            rc = wsp_auth_token_(c, pick, token_ch.token68, token_ch.token68_len);
        } else if (c->auth_sent_ == WSPROXY_AUTH_DIGEST && stale && best_rank) {
            pick = WSPROXY_AUTH_DIGEST;   /* the nonce expired: the same credentials again */
        } else {
            wsp_fail_(c, WSPROXY_E_PROXY_AUTH_REJECTED);
            return;
        }
    } else {
        int avail = offered & usable, token_failed = 0;
        if (!best_rank) avail &= ~WSPROXY_AUTH_DIGEST;
        for (;;) {   /* the strongest; a token scheme whose callback fails gives way (as curl) */
            pick = (avail & WSPROXY_AUTH_NEGOTIATE) ? WSPROXY_AUTH_NEGOTIATE
                 : (avail & WSPROXY_AUTH_NTLM) ? WSPROXY_AUTH_NTLM
                 : (avail & WSPROXY_AUTH_DIGEST) ? WSPROXY_AUTH_DIGEST
                 : (avail & WSPROXY_AUTH_BASIC) ? WSPROXY_AUTH_BASIC : 0;
            if (pick != WSPROXY_AUTH_NEGOTIATE && pick != WSPROXY_AUTH_NTLM) break;
            if (wsp_auth_token_(c, pick, NULL, 0) == WSPROXY_OK) break;
            token_failed = 1;
            avail &= ~pick;
        }
        if (!pick) {
            wsp_fail_(c, token_failed ? WSPROXY_E_PROXY_AUTH_TOKEN
                         : offered && !(offered & c->auth_allowed_) ? WSPROXY_E_PROXY_AUTH_SCHEME : WSPROXY_E_PROXY_AUTH);
            return;
        }
    }
#ifndef WSPROXY_NO_TLS
    if (!rc && pick == WSPROXY_AUTH_DIGEST) rc = wsp_digest_prepare_(c, &best_digest);
#endif
    if (rc) { wsp_fail_(c, rc); return; }
    c->auth_next_ = pick;
    /* a long token or Digest answer must not make a head the first CONNECT could not be */
    rc = wsp_measure_(c, WSP_REQ_CONNECT_);
    if (rc) wsp_fail_(c, rc);
}

/* Skips a 407's body (by Content-Length or chunked) so the next reply starts clean;
   1 when done, 0 when more bytes are needed (or the client failed). */
static int wsp_skip_body_(wsproxy_client *c, int below)
{
    for (;;) {
        size_t n, k = 0;
        const unsigned char *p = wsp_port_(c, below, WSP_RECVAPP_, &n);
        if (!p || !n) return 0;
        if (c->body_mode_ == WSP_BODY_LENGTH_) {
            k = c->body_left_ < n ? (size_t)c->body_left_ : n;
            c->body_left_ -= k;
            if (!c->body_left_) c->body_mode_ = WSP_BODY_NONE_;
        } else {
            while (k < n && c->body_mode_) {
                unsigned char ch = p[k];
                if (c->chunk_st_ == WSP_CH_DATA_) {
                    size_t m = c->body_left_ < n - k ? (size_t)c->body_left_ : n - k;
                    k += m;
                    c->body_left_ -= m;
                    if (!c->body_left_) c->chunk_st_ = WSP_CH_DATA_END_;
                    continue;
                }
                k++;
                switch (c->chunk_st_) {
                case WSP_CH_SIZE_:   /* hex size, then extensions or the line's end */
                    if (wsp_hexval_(ch) >= 0 && c->body_left_ < (1ull << 40)) {
                        c->body_left_ = c->body_left_ * 16 + (uint64_t)wsp_hexval_(ch);
                    } else if (ch == '\n') {
                        c->chunk_st_ = c->body_left_ ? WSP_CH_DATA_ : WSP_CH_TRAILER_;
                    } else if (ch == ';' || ch == ' ' || ch == '\t' || ch == '\r') {
                        c->chunk_st_ = WSP_CH_EXT_;
                    } else {
                        wsp_fail_(c, WSPROXY_E_PROXY_BAD_REPLY);
                        return 0;
                    }
                    break;
                case WSP_CH_EXT_:
                    if (ch == '\n') c->chunk_st_ = c->body_left_ ? WSP_CH_DATA_ : WSP_CH_TRAILER_;
                    break;
                case WSP_CH_DATA_END_:   /* the CRLF after a chunk's data */
                    if (ch == '\n') { c->chunk_st_ = WSP_CH_SIZE_; c->body_left_ = 0; }
                    else if (ch != '\r') { wsp_fail_(c, WSPROXY_E_PROXY_BAD_REPLY); return 0; }
                    break;
                case WSP_CH_TRAILER_:   /* trailer lines, up to an empty one */
                    if (ch == '\n') c->body_mode_ = WSP_BODY_NONE_;
                    else if (ch != '\r') c->chunk_st_ = WSP_CH_TRAILER_LINE_;
                    break;
                default:   /* in a trailer line */
                    if (ch == '\n') c->chunk_st_ = WSP_CH_TRAILER_;
                    break;
                }
            }
        }
        c->body_seen_ += k;
        wsp_ack_(c, below, WSP_RECVAPP_, k);
        if (c->body_seen_ > WSPROXY_MAX_AUTH_BODY_BYTES) {
            wsp_fail_(c, WSPROXY_E_PROXY_REPLY_TOO_LARGE);
            return 0;
        }
        if (!c->body_mode_) return 1;
    }
}

/* The next CONNECT, after a 407 answered on this connection or a new one. */
static void wsp_auth_queue_(wsproxy_client *c)
{
    c->req_ = WSP_REQ_CONNECT_;
    c->req_off_ = 0;
    c->auth_sent_ = c->auth_next_;
    c->info_.auth_scheme = c->auth_sent_;
    c->info_.auth_rounds = ++c->auth_rounds_;
    wsp_reply_reset_(c);
}

/* -- stage tunnel, HTTP CONNECT -- */
static int wsp_connect_step_(wsproxy_client *c, wsproxy_event *ev, int below)
{
    for (;;) {
        int status;
        if (c->auth_reconnect_) return 0;
        if (c->body_mode_) {   /* the rest of a 407, before the next reply */
            if (!wsp_skip_body_(c, below)) return 0;
            continue;
        }
        if (c->auth_after_body_) {
            /* the 407 is whole: only now the next CONNECT, so a body that proves
               malformed never leaves credentials behind, however its bytes arrived */
            c->auth_after_body_ = 0;
            wsp_auth_queue_(c);
            c->auth_same_conn_ = 1;
            wsp_write_request_(c, below);
            continue;
        }
        if (wsp_request_out_(c) || !wsp_read_head_(c, below, 0)) return 0;
        status = c->status_;
        if (status >= 100 && status < 200 && status != 101) {
            /* interim replies carry nothing for CONNECT: skip a few */
            if (++c->interim_ > WSPROXY_MAX_INTERIM_REPLIES) { wsp_fail_(c, WSPROXY_E_PROXY_BAD_REPLY); return 0; }
            wsp_reply_reset_(c);
            continue;
        }
        if (status == 401) {
            /* 401 is not what RFC 9110 asks of a proxy, but some send it for bad
               credentials (tinyproxy 1.11): an authentication failure, not answered */
            wsp_fail_(c, c->auth_sent_ ? WSPROXY_E_PROXY_AUTH_REJECTED : WSPROXY_E_PROXY_AUTH);
            return 0;
        }
        if (status == 407) {
            int closing = c->reply_close_ || (c->reply_minor_ == 0 && !c->reply_keepalive_) ||
                          (!c->reply_has_clen_ && !c->reply_chunked_);   /* a body up to the close */
            if (c->reply_error_) { wsp_fail_(c, WSPROXY_E_PROXY_BAD_REPLY); return 0; }
            wsp_auth_decide_(c);
            if (c->state_ == WSPROXY_STATE_FAILED) return 0;
            if (closing || (c->reply_has_clen_ && c->reply_clen_ > WSPROXY_MAX_AUTH_BODY_BYTES)) {
                c->auth_reconnect_ = 1;   /* the proxy closes (or its body is too large to skip) */
                ev->type = WSPROXY_EV_RECONNECT;
                ev->status = status;
                return 1;
            }
            c->body_mode_ = c->reply_chunked_ ? WSP_BODY_CHUNKED_ : c->reply_clen_ ? WSP_BODY_LENGTH_ : WSP_BODY_NONE_;
            c->body_left_ = c->reply_chunked_ ? 0 : c->reply_clen_;
            c->chunk_st_ = WSP_CH_SIZE_;
            c->body_seen_ = 0;
            c->auth_after_body_ = 1;
            continue;
        }
        if (status < 200 || status > 299) { wsp_fail_(c, WSPROXY_E_PROXY_CONNECT); return 0; }
        wsp_stage_done_(c);
        ev->type = WSPROXY_EV_TUNNEL;
        ev->status = status;
        return 1;
    }
}

#ifdef WSPROXY_DEFLATE
/* zlib's allocations come from the deflate arena, one after the other, for the
   connection's life: nothing is given back, nothing is taken from the heap. */
static voidpf wsp_zalloc_(voidpf opaque, uInt items, uInt size)
{
    wsproxy_client *c = (wsproxy_client *)opaque;
    size_t n = (size_t)items * size, at = (c->zarena_used_ + 15u) & ~(size_t)15u;
    if (size && n / size != items) return Z_NULL;
    if (at > c->zarena_len_ || n > c->zarena_len_ - at) return Z_NULL;
    c->zarena_used_ = at + n;
    return c->zarena_ + at;
}
static void wsp_zfree_(voidpf opaque, voidpf p) { (void)opaque; (void)p; }

static void *wsp_zstream_(wsproxy_client *c)
{
    z_stream *z = (z_stream *)wsp_zalloc_(c, 1, (uInt)sizeof(z_stream));
    if (z) {
        memset(z, 0, sizeof *z);
        z->zalloc = wsp_zalloc_;
        z->zfree = wsp_zfree_;
        z->opaque = c;
    }
    return z;
}

/* The 101 accepted permessage-deflate: the inflater with the server's window, the
   chunk buffer, and the compressor with ours (none for a window of 8 bytes' worth,
   which zlib cannot compress with: then every message goes uncompressed, as RFC 7692
   lets a sender choose per message). */
static int wsp_pmd_open_(wsproxy_client *c)
{
    const wsproxy_deflate_options *o = &c->pmd_opt_;
    z_stream *zi = (z_stream *)wsp_zstream_(c), *zo;
    if (!zi || inflateInit2(zi, -c->pmd_.server_window_bits) != Z_OK) return WSPROXY_E_DEFLATE_ARENA;
    c->rx_.zin_ = zi;
    c->rx_.zin_reset_ = c->pmd_.server_no_context_takeover;
    if (!c->rx_.msg_buf_) {
        c->rx_.zchunk_cap_ = WSPROXY_INFLATE_CHUNK_BYTES;
        c->rx_.zchunk_ = (unsigned char *)wsp_zalloc_(c, 1, (uInt)c->rx_.zchunk_cap_);
        if (!c->rx_.zchunk_) return WSPROXY_E_DEFLATE_ARENA;
    }
    if (c->pmd_.client_window_bits < 9) {
        c->pmd_.client_window_bits = 0;
        return WSPROXY_OK;
    }
    zo = (z_stream *)wsp_zstream_(c);
    if (!zo || deflateInit2(zo, o->level ? o->level : 6, Z_DEFLATED, -c->pmd_.client_window_bits,
                            o->mem_level ? o->mem_level : 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return WSPROXY_E_DEFLATE_ARENA;
    c->zout_ = zo;
    return WSPROXY_OK;
}
#endif

/* -- stage upgrade -- */
static int wsp_upgrade_step_(wsproxy_client *c, wsproxy_event *ev, int below)
{
    int rc = 0;
    if (c->req_) return 0;   /* a reply before the request is whole is not ours to read */
    if (!wsp_read_head_(c, below, 1)) return 0;
    if (c->status_ != 101) rc = WSPROXY_E_HANDSHAKE_STATUS;
    else if (!(c->reply_flags_ & WSP_RF_UPGRADE_)) rc = WSPROXY_E_HANDSHAKE_UPGRADE;
    else if (!(c->reply_flags_ & WSP_RF_CONNECTION_)) rc = WSPROXY_E_HANDSHAKE_CONNECTION;
    else if (c->reply_error_) rc = c->reply_error_;
    else if (!(c->reply_flags_ & WSP_RF_ACCEPT_)) rc = WSPROXY_E_HANDSHAKE_ACCEPT;
#ifdef WSPROXY_DEFLATE
    if (!rc && c->pmd_seen_) rc = wsp_pmd_open_(c);
#endif
    if (rc) { wsp_fail_(c, rc); return 0; }
    wsp_stage_done_(c);
    ev->type = WSPROXY_EV_OPEN;
    ev->status = 101;
    ev->protocol = c->protocol_;
    return 1;
}

/* ==== 12. stage FRAMES on the client: where frames go, control replies ================= */
/* The pool drawn again (once per WSPROXY_MASK_RANDOM_BYTES / 4 frames): out of line. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int wsp_random_refill_(wsproxy_client *c)
{
    if (c->random_(c->random_ctx_, c->rand_pool_, sizeof c->rand_pool_) != 0) {
        wsp_fail_(c, WSPROXY_E_RANDOM);
        return -1;
    }
    c->rand_used_ = 0;
    return 0;
}

static WSP_INLINE_ int wsp_random_(wsproxy_client *c, unsigned char *dst, size_t n)
{
    if (c->rand_used_ + n > sizeof c->rand_pool_ && wsp_random_refill_(c) != 0) return -1;
    memcpy(dst, c->rand_pool_ + c->rand_used_, n);
    c->rand_used_ += n;
    return 0;
}

static size_t wsp_frame_size_(size_t len)
{
    return len + (len < 126 ? 6 : len <= 0xFFFF ? 8 : 14);
}

/* Above a TLS stage, frames that do not fit in its record wait in the send staging
   (the plain send buffer, when the caller gave or kept one); it empties first. */
static void wsp_staging_drain_(wsproxy_client *c)
{
    int below = wsp_below_(c);
    size_t room;
    unsigned char *dst;
    if (below == WSP_S_PLAIN_ || c->ss_ == c->se_) return;
    dst = wsp_port_(c, below, WSP_SENDAPP_, &room);
    if (!dst || !room) return;
    if (room > c->se_ - c->ss_) room = c->se_ - c->ss_;
    memcpy(dst, c->sbuf_ + c->ss_, room);
    WSP_STAT_(c->stats_.copied_out += room);
    wsp_ack_(c, below, WSP_SENDAPP_, room);
    c->ss_ += room;
    if (c->ss_ == c->se_) c->ss_ = c->se_ = 0;
}

/* Room for need bytes where the next frame bytes go: straight into the stage below
   (for wss://, BearSSL's record), or the staging behind it. *into: the stage, or 0. */
static unsigned char *wsp_frame_room_slow_(wsproxy_client *c, size_t need, int *into)
{
    int below = wsp_below_(c);
    unsigned char *p;
    size_t room;
    *into = 0;
    if (below == WSP_S_PLAIN_) return wsp_plain_reserve_(c, need);
    if (c->ss_ != c->se_) wsp_staging_drain_(c);
    if (c->ss_ == c->se_) {
        p = wsp_port_(c, below, WSP_SENDAPP_, &room);
        if (p && room >= need) { *into = below; return p; }
        if (need <= wsp_tls_frag_max_()) {
            /* this record goes into the queue below (TLS in TLS, inside the proxy's
               records), the frame into the next; TLS in TLS only when the queue takes it
               all, so that a refused frame changes nothing */
            int roomy = wsp_queue_room_(c);
            if (p && roomy) {
                wsp_tls_flush_(c, below);
                p = NULL;
            }
            if (!p && (roomy || below == c->chain_[0]) && wsp_queue_below_(c)) {
                p = wsp_port_(c, below, WSP_SENDAPP_, &room);
                if (p && room >= need) { *into = below; return p; }
            }
        }
        if (p && c->scap_ >= need && c->qs_ == c->qe_) {   /* a fresh record may hold it; the staging takes it now */
            wsp_tls_flush_(c, below);
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
            c->tls_dirty_ = 1;   /* the sealed record is the pump's to move (wsp_pump_) */
#endif
        }
    }
    return c->scap_ && c->qs_ == c->qe_ ? wsp_plain_reserve_(c, need) : NULL;
}

/* The same, when the room is at hand, with no call: at the end of the plain send
   buffer, or in the window of the TLS stage below kept since the last frame, with
   nothing staged. NULL: not at hand. */
static WSP_INLINE_ unsigned char *wsp_frame_room_at_hand_(wsproxy_client *c, int below, size_t need, int *into)
{
    *into = 0;
    if (below == WSP_S_PLAIN_) return c->scap_ - c->se_ >= need ? c->sbuf_ + c->se_ : NULL;
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    if (c->txw_room_ >= need && c->ss_ == c->se_) {
        *into = WSP_INTO_KEPT_;
        return c->txw_;
    }
#endif
    return NULL;
}

/* The same, its common cases inline: room at hand, or a fresh window of the BearSSL
   record with nothing staged (then kept). */
static WSP_INLINE_ unsigned char *wsp_frame_room_(wsproxy_client *c, size_t need, int *into)
{
    int below = wsp_below_(c);
    unsigned char *p = wsp_frame_room_at_hand_(c, below, need, into);
    if (p) return p;
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    if (wsp_is_tls_stage_(below) && c->ss_ == c->se_) {
        size_t room;
        br_ssl_engine_context *e;
        if (c->txw_owed_) wsp_tls_settle_(c);   /* the engine seals a full record */
        e = wsp_eng_(c, below == WSP_S_TLS_PROXY_ ? 0 : 1);
        p = br_ssl_engine_sendapp_buf(e, &room);
        if (p && room >= need) {
            c->wce_ = e;
            c->txw_ = p;
            c->txw_room_ = room;
            *into = WSP_INTO_KEPT_;
            return p;
        }
    }
#endif
    return wsp_frame_room_slow_(c, need, into);
}

/* The longest frame the stage below or the staging can ever take whole. */
static size_t wsp_frame_capacity_(const wsproxy_client *c)
{
    size_t cap = c->scap_;
    if (wsp_is_tls_stage_(wsp_below_(c)) && wsp_tls_frag_max_() > cap) cap = wsp_tls_frag_max_();
    return cap;
}

static WSP_INLINE_ void wsp_frame_commit_(wsproxy_client *c, int into, size_t n)
{
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    if (into == WSP_INTO_KEPT_) {   /* the engine is told later (wsp_tls_settle_) */
        c->txw_ += n;
        c->txw_room_ -= n;
        c->txw_owed_ += n;
        return;
    }
#endif
    if (into) wsp_tls_ack_(c, into == WSP_S_TLS_PROXY_ ? 0 : 1, WSP_SENDAPP_, n);   /* into: a TLS stage */
    else c->se_ += n;
}

/* dst[i] = src[i] ^ key[i % 4] for n <= 16, without a call: from 8 bytes on, one word
   from each end (the second starts at n - 8, where the key is at n % 4), both read
   before either is written, so dst may be src. */
static WSP_INLINE_ void wsp_mask_short_(unsigned char *dst, const unsigned char *src, size_t n,
                                        const unsigned char key[4])
{
    size_t i;
    if (n >= 8) {
        uint32_t k32;
        uint64_t kw;
        memcpy(&k32, key, 4);
        kw = (uint64_t)k32 * 0x100000001ull;   /* the key twice: byte order is moot */
        wsp_mask_two_words_(dst, src, n, kw, wsp_key_turn_(kw, (unsigned)(n & 3) * 8));
        return;
    }
    for (i = 0; i < n; i++) dst[i] = (unsigned char)(src[i] ^ key[i & 3]);
}

#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
/* A frame longer than a record, right above a BearSSL stage on the socket (or TLS in
   TLS, the server's engine on the proxy's), with nothing staged: it goes record after
   record, each full one into the send buffer's queue (wsp_queue_below_), when the queue
   surely takes them all (the engine's present record, the frame, BearSSL's largest
   overhead on each record, and TLS in TLS the proxy's records around them). Masked into
   the records: no staging copy, and the message leaves in one send(). */
static int wsp_frame_fits_records_(const wsproxy_client *c, size_t need)
{
    size_t most;
    if (need <= wsp_tls_frag_max_() || !wsp_queue_room_(c)) return 0;
    most = wsp_queue_need_(c, WSPROXY_TLS_OUTPUT_BUFFER_BYTES + wsp_sealed_most_(need));
    return most > need && c->scap_ - (c->qe_ - c->qs_) >= most;
}

static int wsp_write_frame_records_(wsproxy_client *c, int opcode, int fin, const unsigned char *data,
                                    size_t len)
{
    unsigned char key[4], head[WSPROXY_FRAME_HEADER_MAX];
    size_t hl, off = 0;
    int below = wsp_below_(c);
    if (wsp_random_(c, key, 4) != 0) return WSPROXY_E_RANDOM;
    hl = wsproxy_frame_encode(head, fin, opcode, key, len);
    while (off < hl + len) {
        size_t room, n;
        unsigned char *p = wsp_port_(c, below, WSP_SENDAPP_, &room);
        if (!p) {   /* the record is full (BearSSL sealed it): into the queue */
            if (wsp_queue_below_(c)) continue;
            /* the queue has room (wsp_frame_fits_records_), so the engine failed: part
               of the frame is written, the connection cannot go on. E_STATE is not
               sticky: the hop's TLS error, unless the check names a better one */
            wsp_tls_check_(c);
            if (c->state_ != WSPROXY_STATE_FAILED)
                wsp_fail_(c, wsp_tls_hop_error_(c, below == WSP_S_TLS_PROXY_ ? 0 : 1));
            return c->error_;
        }
        if (off < hl) {
            n = hl - off < room ? hl - off : room;
            memcpy(p, head + off, n);
        } else {
            n = hl + len - off < room ? hl + len - off : room;
            wsproxy_mask(p, data + (off - hl), n, key, (off - hl) & 3);
        }
        wsp_ack_(c, below, WSP_SENDAPP_, n);
        off += n;
    }
    return WSPROXY_OK;
}
#endif

/* Writes one whole masked frame, or says WOULD_BLOCK. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int wsp_write_frame_any_(wsproxy_client *c, int opcode, int fin, const unsigned char *data,
                                size_t len)
{
    unsigned char key[4], *p;
    int into;
    size_t hl;
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    if (wsp_frame_fits_records_(c, wsp_frame_size_(len))) return wsp_write_frame_records_(c, opcode, fin, data, len);
#endif
    p = wsp_frame_room_(c, wsp_frame_size_(len), &into);
    if (!p) return WSPROXY_E_WOULD_BLOCK;
    if (wsp_random_(c, key, 4) != 0) return WSPROXY_E_RANDOM;
    if (len < 126) {   /* the short header without a call */
        p[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
        p[1] = (unsigned char)(0x80 | len);
        memcpy(p + 2, key, 4);
        hl = 6;
    } else {
        hl = wsproxy_frame_encode(p, fin, opcode, key, len);
    }
    if (len > 16) wsproxy_mask(p + hl, data, len, key, 0);
    else wsp_mask_short_(p + hl, data, len, key);
    wsp_frame_commit_(c, into, hl + len);
    return WSPROXY_OK;
}

/* The same; first, what most frames take: up to 16 bytes, room at hand
   (wsp_frame_room_at_hand_), a key in the pool. That path calls nothing, so it saves no
   registers. */
static int wsp_write_frame_(wsproxy_client *c, int opcode, int fin, const unsigned char *data,
                            size_t len)
{
    if (len <= 16 && c->rand_used_ + 4 <= sizeof c->rand_pool_) {
        int into;
        unsigned char *p = wsp_frame_room_at_hand_(c, wsp_below_(c), len + 6, &into);
        if (p) {
            p[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
            p[1] = (unsigned char)(0x80 | len);
            memcpy(p + 2, c->rand_pool_ + c->rand_used_, 4);   /* the key, where the mask reads it */
            c->rand_used_ += 4;
            wsp_mask_short_(p + 6, data, len, p + 2);
            wsp_frame_commit_(c, into, len + 6);
            return WSPROXY_OK;
        }
    }
    return wsp_write_frame_any_(c, opcode, fin, data, len);
}

#ifdef WSPROXY_DEFLATE
/* dst[i] = src[i] ^ key[i % 4] with dst <= src, overlapping: forward, each word read
   before it is written. Compressed payloads are written behind the longest header and
   land behind the real one in the masking pass they need anyway. */
static void wsp_mask_move_(unsigned char *dst, const unsigned char *src, size_t n, const unsigned char key[4])
{
    uint32_t k32;
    uint64_t k, w;
    size_t i = 0;
    memcpy(&k32, key, 4);
    k = (uint64_t)k32 * 0x100000001ull;   /* the key twice: byte order is moot */
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, src + i, 8);
        w ^= k;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++) dst[i] = (unsigned char)(src[i] ^ key[i & 3]);
}

/* The most compressed bytes len input bytes can become in one frame: zlib's bound for
   this stream and the sync flush's empty block. */
static size_t wsp_deflate_bound_(const wsproxy_client *c, size_t len)
{
    return (size_t)deflateBound((z_stream *)c->zout_, (uLong)len) + 16;
}

/* The longest input whose compressed frame surely fits in room bytes. */
static size_t wsp_deflate_fit_(const wsproxy_client *c, size_t room)
{
    size_t lo = 0, hi = room;
    if (room < 14 + wsp_deflate_bound_(c, 0)) return 0;
    while (lo < hi) {   /* the bound grows with len: the largest len that fits */
        size_t mid = lo + (hi - lo + 1) / 2;
        if (14 + wsp_deflate_bound_(c, mid) <= room) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* One compressed frame of len input bytes (RSV1 when it starts the message): deflate
   with a sync flush writes straight into the frame's room, behind the longest header;
   the final frame drops the 00 00 ff ff the flush ends with (RFC 7692 7.2.1). */
static int wsp_write_compressed_(wsproxy_client *c, int opcode, int fin, int first, const unsigned char *data,
                                 size_t len)
{
    z_stream *z = (z_stream *)c->zout_;
    size_t bound = wsp_deflate_bound_(c, len), clen, hl;
    unsigned char key[4], *p;
    int into, r;
    if (14 + bound > wsp_frame_capacity_(c)) return WSPROXY_E_SEND_TOO_LARGE;
    p = wsp_frame_room_(c, 14 + bound, &into);
    if (!p) return WSPROXY_E_WOULD_BLOCK;
    if (wsp_random_(c, key, 4) != 0) return WSPROXY_E_RANDOM;
    z->next_in = (Bytef *)data;
    z->avail_in = (uInt)len;
    z->next_out = p + 14;
    z->avail_out = (uInt)bound;
    r = deflate(z, Z_SYNC_FLUSH);
    if ((r != Z_OK && r != Z_BUF_ERROR) || z->avail_in || !z->avail_out) {
        wsp_fail_(c, WSPROXY_E_DEFLATE_ARENA);   /* zlib broke its own bound: cannot go on */
        return c->error_;
    }
    clen = bound - z->avail_out;
    if (fin) {
        if (clen >= 4 && memcmp(p + 14 + clen - 4, "\0\0\xff\xff", 4) == 0) {
            clen -= 4;
        } else if (clen == 0) {   /* nothing to flush since the last message: an empty block's start */
            p[14] = 0;
            clen = 1;
        } else {
            wsp_fail_(c, WSPROXY_E_DEFLATE_ARENA);
            return c->error_;
        }
        if (c->pmd_.client_no_context_takeover) {
            deflateReset(z);
            if (first && clen >= len) {   /* it did not shrink: plain is smaller, and no window remembers it */
                hl = wsproxy_frame_encode(p, fin, opcode, key, len);
                if (len) wsproxy_mask(p + hl, data, len, key, 0);
                wsp_frame_commit_(c, into, hl + len);
                return WSPROXY_OK;
            }
        }
    }
    hl = wsproxy_frame_encode(p, fin, opcode, key, clen);
    if (first) p[0] |= 0x40;   /* RSV1: this message is compressed */
    wsp_mask_move_(p + hl, p + 14, clen, key);
    wsp_frame_commit_(c, into, hl + clen);
    return WSPROXY_OK;
}
#endif

/* Control frames that waited for a streamed frame to end or for room. */
static void wsp_flush_pending_(wsproxy_client *c)
{
    int between = 0;   /* a streamed frame is open, but not on the wire */
#ifdef WSPROXY_DEFLATE
    between = c->tx_zstream_;   /* compressed, each wsproxy_send_data wrote a whole frame */
#endif
    if (c->tx_in_frame_ && !between) return;
    if (c->pong_pending_ && wsp_write_frame_(c, WSPROXY_OP_PONG, 1, c->pong_, c->pong_len_) == WSPROXY_OK)
        c->pong_pending_ = 0;
    if (c->close_pending_ && !c->pong_pending_ && !c->tx_in_frame_ &&
        wsp_write_frame_(c, WSPROXY_OP_CLOSE, 1, c->close_, c->close_len_) == WSPROXY_OK) {
        c->close_pending_ = 0;
        c->close_sent_ = 1;
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
    if (may_close) {
        c->tx_dead_ = 0;   /* the close frame is due: it and what precedes it may leave */
        wsp_queue_close_(c, close_code, NULL, 0);
    }
}

/* Gives back the bytes the last event lent out of the stage below frames. */
static void wsp_release_(wsproxy_client *c)
{
    size_t n = c->held_;
    c->held_ = 0;
    wsp_ack_(c, wsp_below_(c), WSP_RECVAPP_, n);
}

/* Frames read in place from the stage below; the event's bytes stay lent until the
   next wsproxy_poll or wsproxy_recv_buf. */
static int wsp_frames_step_(wsproxy_client *c, wsproxy_event *ev)
{
    int below = wsp_below_(c);
    for (;;) {
        size_t n, used;
        const unsigned char *p = wsp_port_(c, below, WSP_RECVAPP_, &n);
        if (!wsproxy_frames_read(&c->rx_, p ? p : (const unsigned char *)"", n, &used, ev)) {
            if (!used) return 0;
            wsp_ack_(c, below, WSP_RECVAPP_, used);
            continue;
        }
        c->held_ = used;
        switch (ev->type) {
        case WSPROXY_EV_PING:
            if (c->state_ == WSPROXY_STATE_OPEN) {   /* answer only the latest ping */
                memcpy(c->pong_, ev->data, ev->len);
                c->pong_len_ = ev->len;
                c->pong_pending_ = 1;
                wsp_flush_pending_(c);
            }
            return 1;
        case WSPROXY_EV_PONG:
            /* any pong proves the peer alive (RFC 6455 5.5.3 lets it answer only the
               latest of several pings, and servers send unsolicited ones as heartbeats) */
            c->ping_unanswered_ = 0;
            return 1;
        case WSPROXY_EV_CLOSE:
            c->info_.close_code = ev->close_code;
            if (!c->close_sent_ && !c->close_pending_) {
                /* echo the code (RFC 6455 5.5.1); a streamed frame in progress ends first */
                c->pong_pending_ = 0;
                wsp_queue_close_(c, ev->close_code == 1005 ? 0 : ev->close_code, NULL, 0);
                /* the echo's mask needs random bytes: a failed callback is the final event */
                if (c->state_ == WSPROXY_STATE_FAILED) { memset(ev, 0, sizeof *ev); return 0; }
            }
            c->state_ = WSPROXY_STATE_CLOSED;
            c->final_reported_ = 1;
            return 1;
        case WSPROXY_EV_ERROR:
            wsp_fail_peer_(c, wsproxy_frames_error(&c->rx_));
            memset(ev, 0, sizeof *ev);
            return 0;
        default:
            return 1;
        }
    }
}

/* ==== 13. the client API ============================================================ */
/* -- TLS hops: set up at init, woken when the stages below them are done -- */
#ifndef WSPROXY_NO_TLS
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
    if (!url || wsp_parse_url_(url, &t) != WSPROXY_OK) return 0;
    https_proxy = proxy && proxy[0] && wsp_parse_url_(proxy, &p) == WSPROXY_OK &&
                  p.scheme == WSPROXY_SCHEME_HTTPS;
    return wsp_tls_need_(https_proxy ? &p : NULL, t.scheme == WSPROXY_SCHEME_WSS ? &t : NULL);
}

#ifndef WSPROXY_TLS_OPENSSL
/* A hop's engine, stricter than BearSSL's full profile: TLS 1.2; ECDHE key exchange and
   AEAD suites in the order a current browser offers them (ECDHE with AES-CBC and SHA-256/384
   MACs added by tls_compat); no MD5 or SHA-1 anywhere: not offered for signatures, not
   accepted in certificates (the X.509 engine is not given them); RSA keys of 2048 bits at
   least; our X.509 wrapper; the client certificate; ALPN; the seed. */
static int wsp_tls_setup_(wsproxy_client *c, int hop)
{
    static const uint16_t suites[] = {
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        /* tls_compat only, from here */
        BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
    };
    static const br_hash_class *const hashes[] = {
        &br_sha224_vtable, &br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable
    };
    wsproxy_tls_hop *h = c->tls_[hop];
    br_ssl_engine_context *e = &h->cc_.eng;
    const wsproxy_tls_options *o = &c->tlsopt_[hop];
    unsigned char seed[32];
    size_t i, nalpn = 0;
    memset(h, 0, offsetof(wsproxy_tls_hop, ibuf_));   /* the buffers need no clearing */
    br_ssl_client_zero(&h->cc_);
    br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
    br_x509_minimal_init(&h->xc_, &br_sha256_vtable, c->tas_[hop], c->tas_n_[hop]);
    br_ssl_engine_set_suites(e, suites, o->compat ? 10 : 6);
    br_ssl_engine_set_default_rsavrfy(e);
    br_ssl_engine_set_default_ecdsa(e);
    br_x509_minimal_set_rsa(&h->xc_, br_ssl_engine_get_rsavrfy(e));
    br_x509_minimal_set_ecdsa(&h->xc_, br_ssl_engine_get_ec(e), br_ssl_engine_get_ecdsa(e));
    br_x509_minimal_set_minrsa(&h->xc_, 256);
    for (i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        int id = (int)((hashes[i]->desc >> BR_HASHDESC_ID_OFF) & BR_HASHDESC_ID_MASK);
        br_ssl_engine_set_hash(e, id, hashes[i]);
        br_x509_minimal_set_hash(&h->xc_, id, hashes[i]);
    }
    br_ssl_engine_set_prf_sha256(e, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(e, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_gcm(e);
    br_ssl_engine_set_default_chapol(e);
    if (o->compat) br_ssl_engine_set_default_aes_cbc(e);
    if (c->tls_days_) br_x509_minimal_set_time(&h->xc_, c->tls_days_, c->tls_seconds_);
    h->x509_vtable_ = &wsp_x509_vtable_;
    br_ssl_engine_set_x509(e, &h->x509_vtable_);
    br_ssl_engine_set_buffers_bidi(e, h->ibuf_, sizeof h->ibuf_, h->obuf_, sizeof h->obuf_);
    if (o->alpn) {
        while (nalpn < 4 && o->alpn[nalpn]) { h->alpn_[nalpn] = o->alpn[nalpn]; nalpn++; }
    } else {
        h->alpn_[nalpn++] = "http/1.1";
    }
    if (nalpn) br_ssl_engine_set_protocol_names(e, h->alpn_, nalpn);
    if (o->client_chain && o->client_key) {
        if (o->client_key->type == BR_KEYTYPE_RSA)
            br_ssl_client_set_single_rsa(&h->cc_, o->client_chain, o->client_chain_len,
                                         &o->client_key->rsa, br_rsa_pkcs1_sign_get_default());
        else
            br_ssl_client_set_single_ec(&h->cc_, o->client_chain, o->client_chain_len, &o->client_key->ec,
                                        BR_KEYTYPE_SIGN, 0, br_ec_get_default(),
                                        br_ecdsa_sign_asn1_get_default());
    }
    h->inner_cc_ = h->cc_.client_auth_vtable;
    h->ccert_vtable_ = &wsp_ccert_vtable_;
    br_ssl_client_set_client_certificate(&h->cc_, &h->ccert_vtable_);
    h->insecure_ = c->insecure_[hop];
    if (c->random_(c->random_ctx_, seed, sizeof seed) != 0) return WSPROXY_E_RANDOM;
    br_ssl_engine_inject_entropy(e, seed, sizeof seed);
    wsp_wipe_(seed, sizeof seed);
    return WSPROXY_OK;
}

#endif /* WSPROXY_TLS_OPENSSL */

/* The name a hop's handshake starts with: the caller's server_name (as a name), else the
   host of the hop's URL, without a trailing dot ("example.com." is example.com). */
static int wsp_tls_host_(const wsproxy_client *c, int hop, char host[256], size_t *len, int *type)
{
    const wsproxy_tls_options *o = &c->tlsopt_[hop];
    wsproxy_url u;
    size_t n;
    if (o->server_name) {   /* the caller's name: SNI and the certificate check, as a name */
        n = wsp_strnlen_(o->server_name, 256);
        if (n == 256) return -1;
        memcpy(host, o->server_name, n);
        *type = WSPROXY_HOST_NAME;
    } else {
        if (wsp_parse_url_(hop ? c->url_ : c->proxy_, &u) != WSPROXY_OK) return -1;
        n = u.host_len;
        memcpy(host, u.host, n);
        *type = u.host_type;
    }
    if (*type == WSPROXY_HOST_NAME && n > 1 && host[n - 1] == '.') n--;
    host[n] = '\0';
    *len = n;
    return 0;
}

#ifndef WSPROXY_TLS_OPENSSL
/* A BearSSL session as bytes: 'B', the id's length, the id (32), version, suite, secret. */
enum { WSP_BR_SESSION_BYTES_ = 2 + 32 + 2 + 2 + 48 };

/* Starts the hop's handshake. SNI and the certificate's name are the host of the hop's
   URL without a trailing dot ("example.com." is example.com); an IP-literal host gets no
   SNI (RFC 6066 3) and is checked against the certificate's iPAddress names. */
static int wsp_tls_start_(wsproxy_client *c, int hop, int again)
{
    wsproxy_tls_hop *h = c->tls_[hop];
    const wsproxy_tls_options *o = &c->tlsopt_[hop];
    char host[256];
    size_t n;
    int type, resume = 0;
    if (wsp_tls_host_(c, hop, host, &n, &type) != 0) return -1;
    if (type == WSPROXY_HOST_IPV4) {
        h->ip_len_ = 4;
        h->check_ip_ = !h->insecure_ && wsproxy_parse_ipv4(host, n, h->ip_);
    } else if (type == WSPROXY_HOST_IPV6) {
        h->ip_len_ = 16;
        h->check_ip_ = !h->insecure_ && wsproxy_parse_ipv6(host, n, h->ip_);
    }
    if (c->tls_time_) {   /* the caller's clock, read when this handshake starts */
        uint32_t days = 0, secs = 0;
        if (c->tls_time_(c->tls_time_ctx_, &days, &secs) == 0) br_x509_minimal_set_time(&h->xc_, days, secs);
    }
    if (again) {   /* a new connection to the same peer: resume the session just made */
        br_ssl_session_parameters sp;
        br_ssl_engine_get_session_parameters(&h->cc_.eng, &sp);
        memcpy(h->resume_id_, sp.session_id, sp.session_id_len);
        h->resume_id_len_ = sp.session_id_len;
        resume = sp.session_id_len > 0;
        wsp_wipe_(&sp, sizeof sp);
    } else if (o->resume && o->resume->session_id_len > 0 && o->resume->session_id_len <= 32) {
        br_ssl_engine_set_session_parameters(&h->cc_.eng, o->resume);
        memcpy(h->resume_id_, o->resume->session_id, o->resume->session_id_len);
        h->resume_id_len_ = o->resume->session_id_len;
        resume = 1;
    } else if (o->session && o->session_len == WSP_BR_SESSION_BYTES_ && o->session[0] == 'B' &&
               o->session[1] > 0 && o->session[1] <= 32) {   /* wsproxy_tls_session_save's bytes */
        const unsigned char *p = o->session;
        br_ssl_session_parameters sp;
        memset(&sp, 0, sizeof sp);
        sp.session_id_len = p[1];
        memcpy(sp.session_id, p + 2, 32);
        sp.version = (uint16_t)(p[34] << 8 | p[35]);
        sp.cipher_suite = (uint16_t)(p[36] << 8 | p[37]);
        memcpy(sp.master_secret, p + 38, 48);
        br_ssl_engine_set_session_parameters(&h->cc_.eng, &sp);
        memcpy(h->resume_id_, sp.session_id, sp.session_id_len);
        h->resume_id_len_ = sp.session_id_len;
        wsp_wipe_(&sp, sizeof sp);
        resume = 1;
    }
    c->tls_dirty_ = 1;   /* a new handshake: wsp_tls_check_ looks again */
    return br_ssl_client_reset(&h->cc_, type == WSPROXY_HOST_NAME ? host : NULL, resume) ? 0 : -1;
}

WSPROXY_IMPL int wsproxy_tls_session_get(const wsproxy_client *c, int hop, br_ssl_session_parameters *out,
                                         int *resumed)
{
    const wsproxy_tls_hop *h = wsp_tls_done_hop_(c, hop);
    if (!out) return WSPROXY_E_ARGUMENT;
    if (!h) return WSPROXY_E_STATE;
    br_ssl_engine_get_session_parameters(&h->cc_.eng, out);
    if (resumed) *resumed = h->resumed_;
    return WSPROXY_OK;
}

/* The IANA names of the suites the BearSSL hop may settle on (its six AEAD ones; the four
   CBC ones with tls_compat). */
static const char *wsp_suite_name_(unsigned suite)
{
    switch (suite) {
    case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
    case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
    case BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256";
    case BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";
    case BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384";
    case BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384";
    default: return NULL;
    }
}

/* What the hop's handshake settled, for wsproxy_tls_info_get. */
static void wsp_tls_settled_(const wsproxy_tls_hop *h, wsproxy_tls_info *out)
{
    out->version = (int)br_ssl_engine_get_version(&h->cc_.eng);
    out->suite = h->cc_.eng.session.cipher_suite;   /* not the session copy: it holds the secret */
    out->suite_name = wsp_suite_name_(out->suite);
}

static void wsp_tls_wake_(wsproxy_client *c, int hop)
{
    if (wsp_tls_start_(c, hop, 0) != 0) wsp_tls_fail_(c, hop, br_ssl_engine_last_error(wsp_eng_(c, hop)));
}

WSPROXY_IMPL int wsproxy_tls_session_save(const wsproxy_client *c, int hop, unsigned char *out, size_t cap,
                                          size_t *len, int *resumed)
{
    const wsproxy_tls_hop *h = wsp_tls_done_hop_(c, hop);
    br_ssl_session_parameters sp;
    if (!len) return WSPROXY_E_ARGUMENT;
    *len = 0;
    if (!h) return WSPROXY_E_STATE;
    if (resumed) *resumed = h->resumed_;
    br_ssl_engine_get_session_parameters(&h->cc_.eng, &sp);
    if (!sp.session_id_len || sp.session_id_len > 32) return WSPROXY_E_STATE;
    *len = WSP_BR_SESSION_BYTES_;
    if (!out || cap < *len) { wsp_wipe_(&sp, sizeof sp); return WSPROXY_E_BUFFER; }
    memset(out, 0, *len);
    out[0] = 'B';
    out[1] = sp.session_id_len;
    memcpy(out + 2, sp.session_id, sp.session_id_len);
    out[34] = (unsigned char)(sp.version >> 8);
    out[35] = (unsigned char)sp.version;
    out[36] = (unsigned char)(sp.cipher_suite >> 8);
    out[37] = (unsigned char)sp.cipher_suite;
    memcpy(out + 38, sp.master_secret, 48);
    wsp_wipe_(&sp, sizeof sp);
    return WSPROXY_OK;
}

/* The options either backend takes, turned into what the BearSSL stage takes. */
static int wsp_tls_neutral_(wsproxy_client *c, int hop)
{
    wsproxy_tls_options *o = &c->tlsopt_[hop];
    const unsigned char *p = o->session;
    if (o->trust) {
        if (c->tas_[hop]) return WSPROXY_E_ARGUMENT;   /* two sets of anchors */
        c->tas_[hop] = o->trust->anchors_;
        c->tas_n_[hop] = o->trust->count;
    }
    if (o->identity) {
        if (o->client_chain || o->client_key) return WSPROXY_E_ARGUMENT;
        o->client_chain = o->identity->chain_;
        o->client_chain_len = o->identity->chain_len;
        o->client_key = &o->identity->key_;
    }
    if (p && o->resume) return WSPROXY_E_ARGUMENT;   /* two sessions */
    return WSPROXY_OK;
}
#else   /* WSPROXY_TLS_OPENSSL */
/* A hop on OpenSSL: its context (the trust's, shared, else one of its own) and its BIO. */
static int wsp_tls_setup_(wsproxy_client *c, int hop)
{
    wsproxy_tls_hop *h = c->tls_[hop];
    const wsproxy_tls_options *o = &c->tlsopt_[hop];
    memset(h, 0, offsetof(wsproxy_tls_hop, rin_));   /* the buffers need no clearing */
    h->insecure_ = c->insecure_[hop];
    h->alert_recv_ = h->alert_sent_ = -1;
    if (o->trust && o->trust->ctx_ && SSL_CTX_up_ref(o->trust->ctx_)) h->ctx_ = o->trust->ctx_;
    else if (o->trust || !(h->ctx_ = wsp_ossl_ctx_new_())) return WSPROXY_E_UNSUPPORTED;
    h->bio_method_ = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "wsproxy");
    if (!h->bio_method_ || !BIO_meth_set_write(h->bio_method_, wsp_bio_write_) ||
        !BIO_meth_set_read(h->bio_method_, wsp_bio_read_) || !BIO_meth_set_ctrl(h->bio_method_, wsp_bio_ctrl_) ||
        !BIO_meth_set_create(h->bio_method_, wsp_bio_create_))
        return WSPROXY_E_UNSUPPORTED;
    return WSPROXY_OK;
}

/* Starts the hop's handshake on a new OpenSSL connection, named as with BearSSL (SNI for
   a name only; a name checked by OpenSSL's host check, an IP-literal host against the
   iPAddress names); again: a new connection to the proxy, resuming the last session. */
static int wsp_tls_start_(wsproxy_client *c, int hop, int again)
{
    wsproxy_tls_hop *h = c->tls_[hop];
    const wsproxy_tls_options *o = &c->tlsopt_[hop];
    SSL_SESSION *resume = NULL;
    X509_VERIFY_PARAM *vp;
    BIO *b;
    char host[256];
    unsigned char ip[16], wire[4 * 256];
    size_t n, ip_len = 0, w = 0, i;
    int type, ok;
    uint32_t days = c->tls_days_, secs = c->tls_seconds_;
    if (wsp_tls_host_(c, hop, host, &n, &type) != 0) return -1;
    if (type == WSPROXY_HOST_IPV4 && wsproxy_parse_ipv4(host, n, ip)) ip_len = 4;
    else if (type == WSPROXY_HOST_IPV6 && wsproxy_parse_ipv6(host, n, ip)) ip_len = 16;
    else if (type != WSPROXY_HOST_NAME) return -1;
    if (again && h->ssl_) {
        resume = h->session_ ? h->session_ : SSL_get1_session(h->ssl_);
        h->session_ = NULL;
    } else if (o->session && o->session_len > 1 && o->session[0] == 'O' && o->session_len - 1 <= 0x7FFFFFFF) {
        const unsigned char *p = o->session + 1;   /* another backend's bytes: a full handshake */
        resume = d2i_SSL_SESSION(NULL, &p, (long)(o->session_len - 1));
    }
    /* a reconnection: the last connection's state goes; one that ended well is marked
       shut down, else OpenSSL would mark its session not resumable */
    if (h->ssl_ && !h->err_ && SSL_is_init_finished(h->ssl_)) SSL_set_shutdown(h->ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(h->ssl_);
    h->ssl_ = NULL;
    h->started_ = h->handshake_done_ = h->confirmed_ = h->resumed_ = h->closed_ = h->err_ = 0;
    h->cert_requested_ = h->cert_sent_ = 0;
    h->alert_recv_ = h->alert_sent_ = -1;
    h->first_n_ = 0;
    h->rin_s_ = h->rin_e_ = h->ain_s_ = h->ain_e_ = h->aout_s_ = h->aout_e_ = h->rout_s_ = h->rout_e_ = 0;
    ERR_clear_error();
    if (!(h->ssl_ = SSL_new(h->ctx_)) || !(b = BIO_new(h->bio_method_))) {
        SSL_SESSION_free(resume);
        ERR_clear_error();
        return -1;
    }
    BIO_set_data(b, h);
    SSL_set_bio(h->ssl_, b, b);
    SSL_set_app_data(h->ssl_, h);
    SSL_set_info_callback(h->ssl_, wsp_ossl_info_);
    SSL_set_msg_callback(h->ssl_, wsp_ossl_msg_);
    SSL_set_msg_callback_arg(h->ssl_, h);
    vp = SSL_get0_param(h->ssl_);
    ok = !o->compat || SSL_set_cipher_list(h->ssl_, WSP_OSSL_AEAD_ WSP_OSSL_CBC_);
    if (h->insecure_) SSL_set_verify(h->ssl_, SSL_VERIFY_NONE, NULL);
    else if (ip_len) ok = ok && X509_VERIFY_PARAM_set1_ip(vp, ip, ip_len);
    else ok = ok && SSL_set1_host(h->ssl_, host);
    if (type == WSPROXY_HOST_NAME) ok = ok && SSL_set_tlsext_host_name(h->ssl_, host);
    if (c->tls_time_) c->tls_time_(c->tls_time_ctx_, &days, &secs);   /* the caller's clock, now */
    if (days) X509_VERIFY_PARAM_set_time(vp, (time_t)(((int64_t)days - 719528) * 86400 + (int64_t)secs));
    if (o->alpn) {   /* ALPN's wire form: length-prefixed names */
        for (i = 0; i < 4 && o->alpn[i]; i++) {
            size_t k = wsp_strnlen_(o->alpn[i], 256);
            if (k == 0 || k > 255) return -1;
            wire[w++] = (unsigned char)k;
            memcpy(wire + w, o->alpn[i], k);
            w += k;
        }
    } else {
        wire[w++] = 8;
        memcpy(wire + w, "http/1.1", 8);
        w += 8;
    }
    if (w) ok = ok && SSL_set_alpn_protos(h->ssl_, wire, (unsigned)w) == 0;
    if (o->identity)
        ok = ok && SSL_use_certificate(h->ssl_, o->identity->cert_) == 1 &&
             SSL_use_PrivateKey(h->ssl_, o->identity->key_) == 1 &&
             (!o->identity->chain_ || SSL_set1_chain(h->ssl_, o->identity->chain_) == 1);
    if (resume) {
        ok = ok && SSL_set_session(h->ssl_, resume);
        SSL_SESSION_free(resume);
    }
    ERR_clear_error();
    if (!ok) return -1;
    SSL_set_connect_state(h->ssl_);
    h->started_ = 1;
    wsp_ossl_run_(c, hop);   /* the ClientHello, into rout_ */
    return h->err_ ? -1 : 0;
}

static void wsp_tls_wake_(wsproxy_client *c, int hop)
{
    if (wsp_tls_start_(c, hop, 0) != 0)
        wsp_tls_fail_(c, hop, c->tls_[hop]->err_ ? c->tls_[hop]->err_ : WSPROXY_TLS_ERR_OPENSSL);
}

WSPROXY_IMPL int wsproxy_tls_session_save(const wsproxy_client *c, int hop, unsigned char *out, size_t cap,
                                          size_t *len, int *resumed)
{
    const wsproxy_tls_hop *h = wsp_tls_done_hop_(c, hop);
    SSL_SESSION *sess;
    unsigned char *p;
    int n;
    if (!len) return WSPROXY_E_ARGUMENT;
    *len = 0;
    if (!h) return WSPROXY_E_STATE;
    if (resumed) *resumed = h->resumed_;
    sess = h->session_ ? h->session_ : SSL_get0_session(h->ssl_);
    if (!sess || !SSL_SESSION_is_resumable(sess) || (n = i2d_SSL_SESSION(sess, NULL)) <= 0) return WSPROXY_E_STATE;
    *len = 1 + (size_t)n;
    if (!out || cap < *len) return WSPROXY_E_BUFFER;
    out[0] = 'O';
    p = out + 1;
    i2d_SSL_SESSION(sess, &p);
    return WSPROXY_OK;
}

/* What the hop's handshake settled, for wsproxy_tls_info_get. */
static void wsp_tls_settled_(const wsproxy_tls_hop *h, wsproxy_tls_info *out)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(h->ssl_);
    out->version = SSL_version(h->ssl_);
    if (cipher) {
        out->suite = SSL_CIPHER_get_protocol_id(cipher);
        out->suite_name = SSL_CIPHER_standard_name(cipher);
    }
}
#endif /* WSPROXY_TLS_OPENSSL */

WSPROXY_IMPL int wsproxy_tls_info_get(const wsproxy_client *c, int hop, wsproxy_tls_info *out)
{
    const wsproxy_tls_hop *h = wsp_tls_done_hop_(c, hop);
    if (!out) return WSPROXY_E_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (!h) return WSPROXY_E_STATE;
    wsp_tls_settled_(h, out);
    out->resumed = h->resumed_;
    return WSPROXY_OK;
}

WSPROXY_IMPL void wsproxy_tls_free(wsproxy_client *c)
{
    int i;
    if (!c) return;
    for (i = 0; i < 2; i++) {
        wsproxy_tls_hop *h = c->tls_[i];
        if (!h) continue;
#ifdef WSPROXY_TLS_OPENSSL
        SSL_free(h->ssl_);   /* and its BIO; OpenSSL cleanses the keys */
        BIO_meth_free(h->bio_method_);
        SSL_SESSION_free(h->session_);
        SSL_CTX_free(h->ctx_);
        OPENSSL_cleanse(h, sizeof *h);   /* the plaintext that passed (OpenSSL's wipe, faster) */
#else
        wsp_wipe_(h, sizeof *h);
#endif
        c->tls_[i] = NULL;
    }
    c->nchain_ = c->live_ = 0;   /* nothing more moves */
    c->final_reported_ = 1;
}

/* Takes the hops from the arena, aligned to 16 bytes. */
static int wsp_tls_init_(wsproxy_client *c, const wsproxy_config *cfg, const wsproxy_url *target,
                         const wsproxy_url *proxy)
{
    int want_p = proxy && proxy->scheme == WSPROXY_SCHEME_HTTPS;
    int want_t = target->scheme == WSPROXY_SCHEME_WSS, rc;
    unsigned char *a;
    size_t need = wsp_tls_need_(want_p ? proxy : NULL, want_t ? target : NULL);
    if (!need) return WSPROXY_OK;
    if (!cfg->tls_arena || cfg->tls_arena_len < need) return WSPROXY_E_TLS_ARENA;
    a = (unsigned char *)cfg->tls_arena;
    a += (16 - ((uintptr_t)a & 15)) & 15;
    c->tls_days_ = cfg->tls_days;
    c->tls_seconds_ = cfg->tls_seconds;
#ifndef WSPROXY_TLS_OPENSSL
    c->tas_[0] = cfg->proxy_trust_anchors;
    c->tas_n_[0] = cfg->proxy_trust_anchors_count;
#endif
    c->insecure_[0] = cfg->proxy_insecure != 0;
#ifndef WSPROXY_TLS_OPENSSL
    c->tas_[1] = cfg->trust_anchors;
    c->tas_n_[1] = cfg->trust_anchors_count;
#endif
    c->insecure_[1] = cfg->insecure != 0;
    c->tlsopt_[0] = cfg->proxy_tls;
    c->tlsopt_[1] = cfg->tls;
    c->tls_time_ = cfg->tls_time;
    c->tls_time_ctx_ = cfg->tls_time_ctx;
#ifndef WSPROXY_TLS_OPENSSL
    if ((want_p && (rc = wsp_tls_neutral_(c, 0)) != 0) || (want_t && (rc = wsp_tls_neutral_(c, 1)) != 0)) return rc;
#else
    for (rc = 0; rc < 2; rc++) {
        const wsproxy_tls_trust *t = c->tlsopt_[rc].trust;
        c->tas_n_[rc] = t && (t->count || t->system_) ? 1 : 0;
    }
#endif
    /* verifying with nothing to trust can only fail, after a round trip: say so now */
    if ((want_p && !c->insecure_[0] && !c->tas_n_[0]) || (want_t && !c->insecure_[1] && !c->tas_n_[1]))
        return WSPROXY_E_TLS_NO_ANCHORS;
#ifndef WSPROXY_TLS_OPENSSL
    if ((want_p && c->tlsopt_[0].client_chain && !c->tlsopt_[0].client_key) ||
        (want_t && c->tlsopt_[1].client_chain && !c->tlsopt_[1].client_key))
        return WSPROXY_E_ARGUMENT;
#endif
    if (want_p) {
        c->tls_[0] = (wsproxy_tls_hop *)(void *)a;
        a += wsp_tls_hop_bytes_(proxy);
        if ((rc = wsp_tls_setup_(c, 0)) != 0) return rc;
    }
    if (want_t) {
        c->tls_[1] = (wsproxy_tls_hop *)(void *)a;
        if ((rc = wsp_tls_setup_(c, 1)) != 0) return rc;
    }
    return WSPROXY_OK;
}
#endif

static unsigned char *wsp_cfg_buffer_(unsigned char *given, size_t given_len, unsigned char *builtin,
                                      size_t builtin_len, size_t *len)
{
    *len = given ? given_len : builtin_len;
    return given ? given : builtin;
}

static int wsp_init_(wsproxy_client *c, const wsproxy_config *cfg)
{
    wsproxy_url target, proxy;
    const wsproxy_url *hop;
    unsigned char nonce[16], *rmem, *smem;
    size_t rlen, slen;
    int rc, n = 0, i, wss, via_proxy, https_proxy = 0, socks = 0;
    if (!cfg || !cfg->url || !cfg->random) return WSPROXY_E_ARGUMENT;
    rc = wsp_parse_cfg_url_(c, cfg->url, &target, WSPROXY_URL_TARGET);
    if (rc) return rc;
    if (target.scheme != WSPROXY_SCHEME_WS && target.scheme != WSPROXY_SCHEME_WSS) {
        c->info_.url_which = WSPROXY_URL_TARGET;
        return WSPROXY_E_URL_SCHEME;
    }
    wss = target.scheme == WSPROXY_SCHEME_WSS;
#ifdef WSPROXY_NO_TLS
    if (wss) return WSPROXY_E_UNSUPPORTED;
#endif
    hop = &target;
    via_proxy = cfg->proxy && cfg->proxy[0];
    if (via_proxy) {
        rc = wsp_parse_cfg_url_(c, cfg->proxy, &proxy, WSPROXY_URL_PROXY);
        if (rc) return rc;
        if (proxy.scheme == WSPROXY_SCHEME_WS || proxy.scheme == WSPROXY_SCHEME_WSS) {
            c->info_.url_which = WSPROXY_URL_PROXY;
            return WSPROXY_E_URL_SCHEME;
        }
        https_proxy = proxy.scheme == WSPROXY_SCHEME_HTTPS;
#ifdef WSPROXY_NO_TLS
        if (https_proxy) return WSPROXY_E_UNSUPPORTED;
#endif
        socks = proxy.scheme != WSPROXY_SCHEME_HTTP && !https_proxy;
        hop = &proxy;
    }
    c->url_ = cfg->url;
    c->proxy_ = via_proxy ? cfg->proxy : NULL;
    c->via_proxy_ = via_proxy;
    c->headers_ = cfg->headers;
    c->proxy_headers_ = cfg->proxy_headers;
    c->protocols_ = cfg->protocols;
    c->origin_ = cfg->origin;
    c->trace_ = cfg->trace;
    c->trace_ctx_ = cfg->trace_ctx;
    c->target_address_ = cfg->target_address;
    c->target_address_type_ = cfg->target_address_type;
#ifdef WSPROXY_DEFLATE
    if (cfg->deflate.enable) {
        const wsproxy_deflate_options *o = &cfg->deflate;
        int cw = o->client_max_window_bits, sw = o->server_max_window_bits;
        if (cw < -1 || (cw > 0 && cw < 8) || cw > 15 || sw < 0 || (sw > 0 && sw < 8) || sw > 15 ||
            o->level < 0 || o->level > 9 || o->mem_level < 0 || o->mem_level > 9)
            return WSPROXY_E_ARGUMENT;
        if (!o->arena || o->arena_len < wsproxy_deflate_arena_size(o)) return WSPROXY_E_DEFLATE_ARENA;
        c->pmd_opt_ = *o;
        {   /* the first allocation on a 16-byte boundary */
            size_t skew = (size_t)(-(uintptr_t)o->arena & 15u);
            c->zarena_ = (unsigned char *)o->arena + skew;
            c->zarena_len_ = o->arena_len - skew;
        }
    }
#else
    if (cfg->deflate.enable) return WSPROXY_E_UNSUPPORTED;
#endif
    c->auth_allowed_ = cfg->proxy_auth ? cfg->proxy_auth : WSPROXY_AUTH_BASIC;
    if (c->auth_allowed_ & ~WSPROXY_AUTH_ANY) return WSPROXY_E_ARGUMENT;
#ifdef WSPROXY_NO_TLS
    if (c->auth_allowed_ == WSPROXY_AUTH_DIGEST) return WSPROXY_E_UNSUPPORTED;   /* no hashes */
#endif
    c->proxy_user_ = cfg->proxy_user;
    c->proxy_password_ = cfg->proxy_password;
    {
        const char *cred[2];
        int k;
        size_t i;
        cred[0] = cfg->proxy_user;
        cred[1] = cfg->proxy_password;
        for (k = 0; k < 2; k++)
            for (i = 0; cred[k] && cred[k][i]; i++)
                if ((unsigned char)cred[k][i] < 0x20 || cred[k][i] == 0x7F || i >= WSPROXY_MAX_CREDENTIAL_BYTES)
                    return WSPROXY_E_ARGUMENT;   /* nothing that could end a header line */
    }
    c->token_fn_ = cfg->proxy_token;
    c->token_ctx_ = cfg->proxy_token_ctx;
    if (cfg->message_buffer && cfg->message_buffer_len == 0) return WSPROXY_E_ARGUMENT;
    wsproxy_frames_init(&c->rx_, cfg->max_message, cfg->message_buffer, cfg->message_buffer_len);
    if (cfg->random(cfg->random_ctx, nonce, sizeof nonce) != 0) return WSPROXY_E_RANDOM;
    wsproxy_base64(nonce, sizeof nonce, c->key_, sizeof c->key_);
    wsproxy_accept_key(c->key_, 24, c->accept_);

    /* the chain of this cell, bottom first */
    if (https_proxy) c->chain_[n++] = WSP_S_TLS_PROXY_;
    else if (!wss || via_proxy) c->chain_[n++] = WSP_S_PLAIN_;
    if (via_proxy) c->chain_[n++] = WSP_S_TUNNEL_;
    if (wss) c->chain_[n++] = WSP_S_TLS_TARGET_;
    c->chain_[n++] = WSP_S_UPGRADE_;
    c->chain_[n++] = WSP_S_FRAMES_;

    /* memory: the caller's buffers, else the built-in ones */
#if WSPROXY_RECV_BUFFER_BYTES > 0
    rmem = wsp_cfg_buffer_(cfg->recv_buffer, cfg->recv_buffer_len, c->in_, sizeof c->in_, &rlen);
#else
    rmem = wsp_cfg_buffer_(cfg->recv_buffer, cfg->recv_buffer_len, NULL, 0, &rlen);
#endif
#if WSPROXY_SEND_BUFFER_BYTES > 0
    smem = wsp_cfg_buffer_(cfg->send_buffer, cfg->send_buffer_len, c->out_, sizeof c->out_, &slen);
#else
    smem = wsp_cfg_buffer_(cfg->send_buffer, cfg->send_buffer_len, NULL, 0, &slen);
#endif
    if (!rmem || rlen < WSPROXY_MIN_RECV_BUFFER) return WSPROXY_E_BUFFER;
    if (c->chain_[0] == WSP_S_PLAIN_ && (!smem || slen < WSPROXY_MIN_SEND_BUFFER)) return WSPROXY_E_BUFFER;
    if (smem && slen && slen < WSPROXY_MIN_SEND_BUFFER) return WSPROXY_E_BUFFER;
    c->hbuf_ = rmem;
    c->hcap_ = rlen < WSPROXY_MAX_HEAD_BYTES ? rlen : WSPROXY_MAX_HEAD_BYTES;
    c->ra_cap_ = rlen < WSPROXY_TLS_READ_AHEAD ? rlen : WSPROXY_TLS_READ_AHEAD;
    if (c->chain_[0] == WSP_S_PLAIN_) {
        c->rbuf_ = rmem;
        c->rcap_ = rlen;
    }
    c->sbuf_ = smem;
    c->scap_ = smem ? slen : 0;
    c->nchain_ = n;
    for (i = 0; wsp_is_tls_stage_(c->chain_[i]) || c->chain_[i] == WSP_S_PLAIN_; i++) {}
    c->live_ = i;

    /* every request is written once here, unsent, so a caller mistake shows now */
    if (socks) {
        rc = wsp_measure_(c, WSP_SOCKS_GREETING_);
        if (!rc) rc = wsp_measure_(c, WSP_SOCKS_AUTH_);
        if (!rc) rc = wsp_measure_(c, WSP_SOCKS_CONNECT_);
        if (rc) return rc;
        wsp_socks_rx_start_(&c->socks_, &proxy);
        c->req_ = wsp_socks_first_(&proxy);
    } else if (via_proxy) {
        /* Basic alone goes with the first request; more schemes wait for the challenge */
        if (c->auth_allowed_ == WSPROXY_AUTH_BASIC && wsp_has_creds_(c)) c->auth_next_ = WSPROXY_AUTH_BASIC;
        /* so does the first token when one token scheme alone is allowed: a round saved */
        if ((c->auth_allowed_ == WSPROXY_AUTH_NTLM || c->auth_allowed_ == WSPROXY_AUTH_NEGOTIATE) && c->token_fn_) {
            c->auth_next_ = c->auth_allowed_;
            if (wsp_auth_token_(c, c->auth_next_, NULL, 0) != WSPROXY_OK) return WSPROXY_E_PROXY_AUTH_TOKEN;
        }
        rc = wsp_measure_(c, WSP_REQ_CONNECT_);
        if (rc) return rc;
        wsp_auth_queue_(c);
    }
    rc = wsp_measure_(c, WSP_REQ_UPGRADE_);
    if (rc) return rc;
    if (!via_proxy) c->req_ = WSP_REQ_UPGRADE_;
#ifndef WSPROXY_NO_TLS
    rc = wsp_tls_init_(c, cfg, &target, via_proxy ? &proxy : NULL);
    if (rc) return rc;
    for (i = 0; i < c->live_; i++)
        if (wsp_is_tls_stage_(c->chain_[i]) && wsp_tls_start_(c, c->chain_[i] == WSP_S_TLS_PROXY_ ? 0 : 1, 0))
            return WSPROXY_E_ARGUMENT;
#endif
    c->state_ = via_proxy ? WSPROXY_STATE_PROXY : WSPROXY_STATE_HANDSHAKE;
    memcpy(c->connect_host_, hop->host, hop->host_len);
    c->connect_host_[hop->host_len] = '\0';
    c->connect_port_ = hop->port;
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_init_abi_(wsproxy_client *c, const wsproxy_config *cfg, size_t client_size,
                                   uint32_t abi)
{
    int rc;
    /* a translation unit that saw other limits or features: its struct is not ours */
    if (client_size != sizeof(wsproxy_client) || abi != WSPROXY_ABI_TAG) return WSPROXY_E_ABI;
    if (!c) return WSPROXY_E_ARGUMENT;
    memset(c, 0, offsetof(wsproxy_client, stats_) + sizeof c->stats_);
#ifndef WSPROXY_NO_TLS
    memset(c->tls_, 0, sizeof c->tls_);
    c->tls_events_ = 0;
#ifndef WSPROXY_TLS_OPENSSL
    c->wce_ = NULL;   /* no window kept (wsp_tls_settle_) */
    c->txw_ = NULL;
    c->rxw_ = NULL;
    c->txw_room_ = c->txw_owed_ = c->rxw_len_ = c->rxw_owed_ = 0;
#endif
#endif
    c->rand_used_ = sizeof c->rand_pool_;
    c->info_.socks_reply = -1;
    if (cfg) {
        c->random_ = cfg->random;
        c->random_ctx_ = cfg->random_ctx;
    }
    rc = wsp_init_(c, cfg);
    if (rc) {
        /* nothing built may leave: the failed client has no chain, so produces no byte */
#ifdef WSPROXY_TLS_OPENSSL
        wsproxy_tls_free(c);   /* nor holds anything OpenSSL allocated */
#endif
        c->nchain_ = 0;
        c->live_ = 0;
        c->req_ = 0;
        wsp_fail_(c, rc);
        c->final_reported_ = 1;   /* the caller has the code already */
    }
    return rc;
}

WSPROXY_IMPL const char *wsproxy_connect_host(const wsproxy_client *c) { return c->connect_host_; }
WSPROXY_IMPL unsigned wsproxy_connect_port(const wsproxy_client *c) { return c->connect_port_; }

WSPROXY_IMPL int wsproxy_needs_target_address(const char *url, const char *proxy)
{
    wsproxy_url t, p;
    if (!url || !proxy || !proxy[0]) return 0;
    if (wsp_parse_url_(url, &t) != WSPROXY_OK || wsp_parse_url_(proxy, &p) != WSPROXY_OK) return 0;
    return wsproxy_socks_needs_address(&p, &t);
}

WSPROXY_IMPL int wsproxy_reconnected(wsproxy_client *c)
{
    if (!c->auth_reconnect_ || c->state_ != WSPROXY_STATE_PROXY) return WSPROXY_E_STATE;
    c->auth_reconnect_ = c->auth_same_conn_ = c->auth_after_body_ = 0;
    c->eof_ = c->eof_error_ = c->received_any_ = c->recv_lent_ = 0;
    c->body_mode_ = WSP_BODY_NONE_;
    if (c->chain_[0] == WSP_S_PLAIN_) {
        c->rs_ = c->re_ = c->ss_ = c->se_ = c->swipe_ = 0;
    } else if (wsp_tls_restart_(c, 0) != 0) {
        wsp_fail_(c, WSPROXY_E_TLS_PROXY);
        return c->error_;
    }
    /* a connection-bound exchange (NTLM, a Negotiate context) starts over */
    if ((c->auth_next_ == WSPROXY_AUTH_NTLM || c->auth_next_ == WSPROXY_AUTH_NEGOTIATE) &&
        wsp_auth_token_(c, c->auth_next_, NULL, 0) != WSPROXY_OK) {
        wsp_fail_(c, WSPROXY_E_PROXY_AUTH_TOKEN);
        return c->error_;
    }
    wsp_auth_queue_(c);
    return WSPROXY_OK;
}

/* -- the byte interface -- */
/* Work above the socket's stage: a request, control frames, staging, records to close. */
static void wsp_push_down_(wsproxy_client *c)
{
    int live = c->chain_[c->live_];
    if (c->req_ && c->state_ != WSPROXY_STATE_FAILED) wsp_write_request_(c, wsp_below_(c));
    if (live == WSP_S_FRAMES_) {
        wsp_staging_drain_(c);
        wsp_flush_pending_(c);
    }
    wsp_tls_flush_(c, wsp_below_(c));
    if (wsp_pumps_(c)) wsp_pump_(c);
    else wsp_tls_check_(c);
}

WSPROXY_IMPL const unsigned char *wsproxy_send_buf(wsproxy_client *c, size_t *len)
{
    if (c->state_ == WSPROXY_STATE_OPEN && c->live_ == 1 && c->chain_[0] == WSP_S_PLAIN_ &&
        !(c->pong_pending_ | c->close_pending_ | c->tx_dead_)) {
        /* the common case first: ws://, open, nothing waiting to be written */
        *len = c->se_ - c->ss_;
        return *len ? c->sbuf_ + c->ss_ : NULL;
    }
    *len = 0;
    if (c->tx_dead_ || !c->nchain_ || c->auth_reconnect_) return NULL;
    if (c->req_ | c->pong_pending_ | c->close_pending_ || c->chain_[0] != WSP_S_PLAIN_ || c->live_ > 1)
        wsp_push_down_(c);
    if (c->tx_dead_) return NULL;
    if (c->qs_ != c->qe_) {   /* the queue first, with the engine's last record joined */
        wsp_queue_records_(c);
        *len = c->qe_ - c->qs_;
        return c->sbuf_ + c->qs_;
    }
    return wsp_port_(c, c->chain_[0], WSP_SENDREC_, len);
}

WSPROXY_IMPL void wsproxy_send_ack(wsproxy_client *c, size_t n)
{
    if (c->state_ == WSPROXY_STATE_OPEN && c->live_ == 1 && c->chain_[0] == WSP_S_PLAIN_ && !c->swipe_) {
        if (n > c->se_ - c->ss_) n = c->se_ - c->ss_;   /* ws://, open, no secret left to wipe */
        c->ss_ += n;
        if (c->ss_ == c->se_) c->ss_ = c->se_ = 0;
        return;
    }
    if (!c->nchain_ || !n) return;
    if (c->qs_ != c->qe_) {   /* records from the queue (wsproxy_send_buf offers it first) */
        if (n > c->qe_ - c->qs_) n = c->qe_ - c->qs_;
        c->qs_ += n;
        if (c->qs_ == c->qe_) c->qs_ = c->qe_ = 0;
        return;
    }
    if (wsp_is_tls_stage_(c->chain_[0])) {   /* no more than send_buf offered */
        size_t have;
        wsp_port_(c, c->chain_[0], WSP_SENDREC_, &have);
        if (n > have) n = have;
    }
    wsp_ack_(c, c->chain_[0], WSP_SENDREC_, n);
}

static int wsp_takes_input_(const wsproxy_client *c)
{
    return !c->eof_ && c->nchain_ && !c->auth_reconnect_ &&
           (c->state_ == WSPROXY_STATE_PROXY || c->state_ == WSPROXY_STATE_HANDSHAKE ||
            c->state_ == WSPROXY_STATE_OPEN || c->state_ == WSPROXY_STATE_CLOSING);
}

/* ahead 0 (wsproxy_feed: the bytes are in memory already, there is no recv to save):
   the read-ahead lends room only while it still holds bytes, which go first */
static unsigned char *wsp_recv_room_(wsproxy_client *c, size_t *len, int ahead)
{
    *len = 0;
    c->recv_into_ = WSP_RECV_STAGE_;
    if (!wsp_takes_input_(c)) return NULL;
    if (c->held_) wsp_release_(c);
    if (c->chain_[0] == WSP_S_PLAIN_) {
        if (c->live_ == 1 && c->chain_[1] == WSP_S_FRAMES_ && c->rx_.msg_buf_ && c->rx_.in_payload_ &&
            !WSP_COMPRESSED_(&c->rx_) &&
            c->rs_ == c->re_ && c->rx_.remaining_ >= WSPROXY_DIRECT_RECV_MIN) {
            /* the rest of a large frame goes straight into the caller's message buffer:
               the socket's copy is the only one (max_message <= its size bounds it) */
            c->recv_into_ = WSP_RECV_MESSAGE_;
            *len = (size_t)c->rx_.remaining_;
            return c->rx_.msg_buf_ + c->rx_.msg_fill_;
        }
    } else if (wsp_pumps_(c)) {
        wsp_pump_(c);   /* what the socket's stage decrypted moves up, making room */
    }
    if (c->state_ == WSPROXY_STATE_FAILED) return NULL;
    /* the socket's TLS stage reads nothing before its hello has left, as one above
       another does (wsp_tls_holds_in_): the plain stage below it may have left the chain
       already, and the outcome must not depend on that */
    if (c->chain_[0] != WSP_S_PLAIN_ && wsp_tls_holds_in_(c, 0)) return NULL;
    c->recv_lent_ = 1;   /* the socket's stage stays until wsproxy_recv_ack */
    if (wsp_ra_on_(c) && (ahead || c->ra_s_ != c->ra_e_)) return wsp_ra_lend_(c, len);
    return wsp_port_(c, c->chain_[0], WSP_RECVREC_, len);
}

WSPROXY_IMPL unsigned char *wsproxy_recv_buf(wsproxy_client *c, size_t *len)
{
    return wsp_recv_room_(c, len, 1);
}

WSPROXY_IMPL void wsproxy_recv_ack(wsproxy_client *c, size_t n)
{
    int into = c->recv_into_;
    c->recv_lent_ = 0;
    c->recv_into_ = WSP_RECV_STAGE_;
    if (!wsp_takes_input_(c)) return;
    if (n) c->received_any_ = 1;
    if (into == WSP_RECV_MESSAGE_) {   /* bytes landed in the message buffer */
        if (n && wsp_frames_direct_(&c->rx_, n)) wsp_fail_peer_(c, c->rx_.error_);
        return;
    }
    if (into == WSP_RECV_AHEAD_) {   /* no more than the read-ahead's room */
        if (n > c->ra_cap_ - c->ra_e_) n = c->ra_cap_ - c->ra_e_;
        c->ra_e_ += n;
        wsp_ra_feed_(c);
    } else {
        if (wsp_is_tls_stage_(c->chain_[0])) {   /* no more than recv_buf offered */
            size_t have;
            wsp_port_(c, c->chain_[0], WSP_RECVREC_, &have);
            if (n > have) n = have;
        }
        wsp_ack_(c, c->chain_[0], WSP_RECVREC_, n);
        if (c->chain_[0] == WSP_S_PLAIN_) return;
    }
    if (wsp_pumps_(c)) wsp_pump_(c);
    else wsp_tls_check_(c);
}

WSPROXY_IMPL size_t wsproxy_feed(wsproxy_client *c, const void *data, size_t len)
{
    const unsigned char *src = (const unsigned char *)data;
    size_t done = 0;
    while (done < len) {   /* a TLS engine takes a record's header, then its body */
        size_t room, n;
        unsigned char *p = wsp_recv_room_(c, &room, 0);
        if (!p || !room) {   /* the OpenSSL stage's port can lend 0 bytes, not NULL */
            if (p) wsproxy_recv_ack(c, 0);
            break;
        }
        n = len - done < room ? len - done : room;
        memcpy(p, src + done, n);
        wsproxy_recv_ack(c, n);
        done += n;
    }
    return done;
}

WSPROXY_IMPL void wsproxy_socket_closed(wsproxy_client *c, int os_error)
{
    if (c->eof_) return;
    c->eof_ = 1;
    c->eof_error_ = os_error;
}

/* What an OS error says about a connection: refused, reset, unreachable, timed out. */
enum { WSP_OS_OTHER_, WSP_OS_REFUSED_, WSP_OS_RESET_, WSP_OS_UNREACHABLE_, WSP_OS_TIMEDOUT_ };
static int wsp_os_kind_(int err)
{
#ifdef _WIN32
    switch (err) {   /* WSAGetLastError values */
    case 10061: return WSP_OS_REFUSED_;
    case 10054: case 10053: return WSP_OS_RESET_;
    case 10065: case 10051: case 10050: return WSP_OS_UNREACHABLE_;
    case 10060: return WSP_OS_TIMEDOUT_;
    default: break;
    }
#endif
#ifdef ECONNREFUSED
    if (err == ECONNREFUSED) return WSP_OS_REFUSED_;
#endif
#ifdef ECONNRESET
    if (err == ECONNRESET) return WSP_OS_RESET_;
#endif
#ifdef EPIPE
    if (err == EPIPE) return WSP_OS_RESET_;
#endif
#ifdef EHOSTUNREACH
    if (err == EHOSTUNREACH) return WSP_OS_UNREACHABLE_;
#endif
#ifdef ENETUNREACH
    if (err == ENETUNREACH) return WSP_OS_UNREACHABLE_;
#endif
#ifdef ENETDOWN
    if (err == ENETDOWN) return WSP_OS_UNREACHABLE_;
#endif
#ifdef EHOSTDOWN
    if (err == EHOSTDOWN) return WSP_OS_UNREACHABLE_;
#endif
#ifdef ETIMEDOUT
    if (err == ETIMEDOUT) return WSP_OS_TIMEDOUT_;
#endif
    return WSP_OS_OTHER_;
}

static const char *wsp_os_kind_name_(int err)
{
    static const char *const names[] = {"os error", "connection refused", "connection reset",
                                        "host or network unreachable", "connection timed out"};
    return names[wsp_os_kind_(err)];
}

WSPROXY_IMPL void wsproxy_name_failed(wsproxy_client *c, int detail)
{
    if (c->state_ != WSPROXY_STATE_PROXY && c->state_ != WSPROXY_STATE_HANDSHAKE) return;
    if (c->received_any_ && !c->auth_reconnect_) return;   /* the name resolved long ago */
    c->info_.os_error = detail;
    wsp_fail_(c, c->via_proxy_ ? WSPROXY_E_PROXY_NAME : WSPROXY_E_CONNECT_NAME);
}

/* Called by poll when the buffered input is used up and the socket has ended. */
static void wsp_eof_reached_(wsproxy_client *c)
{
    int code, hop;
    c->tx_dead_ = 1;   /* the socket is gone: nothing more to send */
    /* a TLS handshake cut short is a TLS failure of its hop */
    if (!(c->eof_error_ && !c->received_any_) && (hop = wsp_tls_unfinished_(c)) >= 0) {
        c->info_.os_error = c->eof_error_;
        wsp_tls_fail_closed_(c, hop);
        return;
    }
    switch (c->state_) {
    case WSPROXY_STATE_PROXY: {
        int kind = wsp_os_kind_(c->eof_error_);
        code = WSPROXY_E_PROXY_CLOSED;
        if (kind == WSP_OS_RESET_) code = WSPROXY_E_PROXY_RESET;
        else if (c->eof_error_ && !c->received_any_)
            code = kind == WSP_OS_UNREACHABLE_ ? WSPROXY_E_PROXY_UNREACHABLE
                 : kind == WSP_OS_TIMEDOUT_ ? WSPROXY_E_PROXY_TIMEOUT : WSPROXY_E_PROXY_REFUSED;
        break;
    }
    case WSPROXY_STATE_HANDSHAKE: {
        int kind = wsp_os_kind_(c->eof_error_);
        code = WSPROXY_E_HANDSHAKE_CLOSED;
        if (kind == WSP_OS_RESET_) code = c->via_proxy_ ? WSPROXY_E_PROXY_RESET : WSPROXY_E_CONNECT_RESET;
        else if (c->eof_error_ && !c->received_any_ && !c->via_proxy_)
            code = kind == WSP_OS_UNREACHABLE_ ? WSPROXY_E_CONNECT_UNREACHABLE
                 : kind == WSP_OS_TIMEDOUT_ ? WSPROXY_E_HANDSHAKE_TIMEOUT : WSPROXY_E_CONNECT_REFUSED;
        break;
    }
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

#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int wsp_poll_(wsproxy_client *c, wsproxy_event *ev);

#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
static int wsp_poll_tls_fetch_(wsproxy_client *c, wsproxy_event *ev);
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int wsp_poll_tls_(wsproxy_client *c, wsproxy_event *ev)
{
    if (!c->tls_events_ && wsp_is_tls_stage_(wsp_below_(c))) {
        /* the same with a BearSSL stage below the frames (wss://, ws:// through an https://
           proxy, TLS in TLS): a short message in the record's plaintext. Only while the
           bytes the last event lent are not the last of the record: giving them back then
           moves the engine's cursor and nothing else, so neither a check of the general
           path nor the pump between stages is due (the pump runs when the record is used) */
        size_t n;
        if (!c->rxw_) return wsp_poll_tls_fetch_(c, ev);   /* out of line: this path calls nothing */
        if (c->rxw_len_ > c->held_) {
            size_t lent = c->held_;   /* given back: the engine is told later */
            c->rxw_ += lent;
            c->rxw_len_ -= lent;
            c->rxw_owed_ += lent;
            c->recv_lent_ = 0;
            c->held_ = 0;
            n = wsp_frames_fast_(&c->rx_, c->rxw_, c->rxw_len_, ev, 125);
            if (n) {
                c->held_ = n;
                return 1;
            }
        }
    }
    return wsp_poll_(c, ev);
}

/* wsp_poll_tls_ without a kept window: ask the engine for it, keep it, look again. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int wsp_poll_tls_fetch_(wsproxy_client *c, wsproxy_event *ev)
{
    br_ssl_engine_context *e = wsp_eng_(c, wsp_below_(c) == WSP_S_TLS_PROXY_ ? 0 : 1);
    size_t avail;
    const unsigned char *p;
    p = br_ssl_engine_recvapp_buf(e, &avail);
    if (!p) return wsp_poll_(c, ev);
    c->wce_ = e;
    c->rxw_ = p;
    c->rxw_len_ = avail;
    return wsp_poll_tls_(c, ev);
}
#endif

WSPROXY_IMPL int wsproxy_poll(wsproxy_client *c, wsproxy_event *ev)
{
    if (c->state_ == WSPROXY_STATE_OPEN && c->live_ == 1 && c->chain_[0] == WSP_S_PLAIN_) {
        /* the common case first: a short message in the socket's bytes (ws://, open) */
        size_t n;
        c->recv_lent_ = 0;
        c->rs_ += c->held_;   /* give back what the last event lent */
        c->held_ = 0;
        if (c->rs_ == c->re_) c->rs_ = c->re_ = 0;
        n = wsp_frames_fast_(&c->rx_, c->rbuf_ + c->rs_, c->re_ - c->rs_, ev, 125);
        if (n) {
            c->held_ = n;
            return 1;
        }
    }
#if !defined(WSPROXY_NO_TLS) && !defined(WSPROXY_TLS_OPENSSL)
    else if (c->state_ == WSPROXY_STATE_OPEN) {
        return wsp_poll_tls_(c, ev);   /* out of line: the path above stays a leaf */
    }
#endif
    return wsp_poll_(c, ev);
}

static int wsp_poll_(wsproxy_client *c, wsproxy_event *ev)
{
    int got = 0;
    memset(ev, 0, sizeof *ev);
    if (c->final_reported_) return 0;
    c->recv_lent_ = 0;
    if (c->held_) wsp_release_(c);
    if (wsp_pumps_(c)) wsp_pump_(c);
    for (;;) {
#ifndef WSPROXY_NO_TLS
    if (c->tls_events_ && c->state_ != WSPROXY_STATE_FAILED) {
        int hop = (c->tls_events_ & 1) ? 0 : 1;
        size_t n;
        const char *alpn = wsp_tls_alpn_(c, hop, &n);
        c->tls_events_ &= ~(1 << hop);
        memcpy(c->alpn_, alpn ? alpn : "", n);
        c->alpn_[n] = '\0';
        ev->type = WSPROXY_EV_TLS;
        ev->status = hop ? WSPROXY_HOP_TARGET : WSPROXY_HOP_PROXY;
        ev->protocol = c->alpn_;
        return 1;
    }
#endif
    if (c->state_ != WSPROXY_STATE_FAILED && c->state_ != WSPROXY_STATE_CLOSED) {
        int stage = c->chain_[c->live_], below = wsp_below_(c);
        if (c->req_) wsp_write_request_(c, below);
        if (stage == WSP_S_TUNNEL_)
            got = c->socks_.version_ ? wsp_socks_step_(c, ev, below) : wsp_connect_step_(c, ev, below);
        else if (stage == WSP_S_UPGRADE_)
            got = wsp_upgrade_step_(c, ev, below);
        else
            got = wsp_frames_step_(c, ev);
    }
    if (got) return 1;
    /* what a stage consumed may have made room for bytes waiting in a stage below (TLS
       in TLS): move them and look again, so no event waits behind a quiet socket */
    if (!(wsp_pumps_(c) && c->state_ != WSPROXY_STATE_FAILED && wsp_pump_(c))) break;
    }
    if (c->eof_ && c->state_ == WSPROXY_STATE_PROXY && c->auth_same_conn_ && !c->auth_reconnect_ &&
        c->head_.pos == 0 && c->hfill_ == 0 && c->auth_rounds_ < WSPROXY_MAX_AUTH_ROUNDS) {
        /* the proxy closed after its 407 without saying so: go on on a new connection;
           the request written on the dead one got no answer and does not count */
        c->auth_reconnect_ = 1;
        c->auth_rounds_--;
        ev->type = WSPROXY_EV_RECONNECT;
        ev->status = 407;
        return 1;
    }
    if (c->eof_ && !c->auth_reconnect_ && c->state_ != WSPROXY_STATE_FAILED && c->state_ != WSPROXY_STATE_CLOSED)
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

/* -- sending -- */
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
    uint32_t st;
    if (rc) return rc;
    if (len && !data) return WSPROXY_E_ARGUMENT;
    if (opcode >= 8 && len > 125) return WSPROXY_E_ARGUMENT;
    if (len > wsp_frame_capacity_(c) || wsp_frame_size_(len) > wsp_frame_capacity_(c))
        return WSPROXY_E_SEND_TOO_LARGE;
    st = opcode == WSPROXY_OP_TEXT ? 0 : c->tx_utf8_;
    if ((opcode == WSPROXY_OP_TEXT || (opcode == WSPROXY_OP_CONTINUATION && c->tx_text_)) &&
        (wsproxy_utf8_validate(&st, d, len) != len || (fin && !wsproxy_utf8_done(st))))
        return WSPROXY_E_TEXT_INVALID;
#ifdef WSPROXY_DEFLATE
    if (opcode < 8 && c->zout_) {
        int first = opcode != WSPROXY_OP_CONTINUATION;
        int z = first ? len >= c->pmd_opt_.threshold : c->tx_z_;
        /* a message that fits only uncompressed goes so (RSV1 is per message) */
        if (z && first && 14 + wsp_deflate_bound_(c, len) > wsp_frame_capacity_(c)) z = 0;
        rc = z ? wsp_write_compressed_(c, opcode, fin, first, d, len) : wsp_write_frame_(c, opcode, fin, d, len);
        if (rc) return rc;
        c->tx_z_ = z && !fin;
        c->tx_utf8_ = st;
        wsp_after_data_frame_(c, opcode, fin);
        return WSPROXY_OK;
    }
#endif
    rc = wsp_write_frame_(c, opcode, fin, d, len);
    if (rc) return rc;
    if (opcode < 8) {
        c->tx_utf8_ = st;
        wsp_after_data_frame_(c, opcode, fin);
    } else if (opcode == WSPROXY_OP_PING) {
        c->ping_unanswered_ = 1;
    }
    return WSPROXY_OK;
}

WSPROXY_IMPL int wsproxy_send_text(wsproxy_client *c, const char *text, size_t len)
{
    return wsproxy_send(c, WSPROXY_OP_TEXT, text, len, 1);
}
WSPROXY_IMPL int wsproxy_send_binary(wsproxy_client *c, const void *data, size_t len)
{
    /* a short message, open, no message or frame begun, not compressed: all wsproxy_send
       would do is write the frame; its checks and dispatch are skipped */
    if (c->state_ == WSPROXY_STATE_OPEN && len <= 125 && data &&
#ifdef WSPROXY_DEFLATE
        !c->zout_ &&
#endif
        !(c->tx_in_frame_ | c->tx_msg_open_ | c->close_pending_))
        return wsp_write_frame_(c, WSPROXY_OP_BINARY, 1, (const unsigned char *)data, len);
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
    int into, rc = wsp_check_send_(c, opcode, fin);
    if (rc) return rc;
    if (opcode >= 8) return WSPROXY_E_ARGUMENT;   /* control frames go whole */
    if (payload_len >> 63) return WSPROXY_E_ARGUMENT;
#ifdef WSPROXY_DEFLATE
    if (c->zout_ && (opcode == WSPROXY_OP_CONTINUATION ? c->tx_z_ : payload_len >= c->pmd_opt_.threshold)) {
        /* compressed: no header yet; each wsproxy_send_data writes a whole frame */
        int first = opcode != WSPROXY_OP_CONTINUATION;
        if (payload_len == 0) {
            rc = wsp_write_compressed_(c, opcode, fin, first, NULL, 0);
            if (rc) return rc;
        } else {
            c->tx_zstream_ = 1;
            c->tx_zfirst_ = first;
            c->tx_zfin_ = fin;
            c->tx_zopcode_ = opcode;
            c->tx_remaining_ = payload_len;
            c->tx_in_frame_ = 1;
        }
        c->tx_z_ = !fin;
        if (opcode == WSPROXY_OP_TEXT) c->tx_utf8_ = 0;
        wsp_after_data_frame_(c, opcode, fin);
        return WSPROXY_OK;
    }
    if (opcode != WSPROXY_OP_CONTINUATION) c->tx_z_ = 0;
#endif
    p = wsp_frame_room_(c, WSPROXY_FRAME_HEADER_MAX, &into);
    if (!p) return WSPROXY_E_WOULD_BLOCK;
    if (wsp_random_(c, c->tx_mask_, 4) != 0) return WSPROXY_E_RANDOM;
    hl = wsproxy_frame_encode(p, fin, opcode, c->tx_mask_, payload_len);
    wsp_frame_commit_(c, into, hl);
    c->tx_mask_off_ = 0;
    c->tx_remaining_ = payload_len;
    c->tx_in_frame_ = payload_len > 0;
    if (opcode == WSPROXY_OP_TEXT) c->tx_utf8_ = 0;   /* streamed text is the caller's to keep valid */
    wsp_after_data_frame_(c, opcode, fin);
    return WSPROXY_OK;
}

WSPROXY_IMPL size_t wsproxy_send_data(wsproxy_client *c, const void *data, size_t len)
{
    size_t n, room = 0;
    unsigned char *p;
    int into = 0, below;
    if (!c->tx_in_frame_ || c->state_ == WSPROXY_STATE_FAILED || !data) return 0;
    n = c->tx_remaining_ < len ? (size_t)c->tx_remaining_ : len;
#ifdef WSPROXY_DEFLATE
    if (c->tx_zstream_) {   /* one whole compressed frame of what fits now */
        size_t k, cap = wsp_frame_capacity_(c), now;
        int fin;
        if (!n) return 0;
        now = c->scap_ ? c->scap_ - (c->se_ - c->ss_) : 0;
        if (wsp_below_(c) != WSP_S_PLAIN_) {
            size_t r;
            wsp_staging_drain_(c);
            if (c->ss_ == c->se_ && (r = wsp_tls_app_room_(c, wsp_below_(c))) > now) now = r;
        }
        k = 14 + wsp_deflate_bound_(c, n) <= now ? n : wsp_deflate_fit_(c, now);
        if (!k && now < cap) return 0;   /* no room now: flush */
        if (!k) k = wsp_deflate_fit_(c, cap);
        fin = c->tx_zfin_ && k == c->tx_remaining_;
        if (wsp_write_compressed_(c, c->tx_zfirst_ ? c->tx_zopcode_ : WSPROXY_OP_CONTINUATION, fin, c->tx_zfirst_,
                                  (const unsigned char *)data, k) != WSPROXY_OK)
            return 0;
        c->tx_zfirst_ = 0;
        c->tx_remaining_ -= k;
        if (c->tx_remaining_ == 0) {
            c->tx_in_frame_ = c->tx_zstream_ = 0;
            wsp_flush_pending_(c);
        }
        return k;
    }
#endif
    below = wsp_below_(c);
    if (below == WSP_S_PLAIN_) {
        p = wsp_plain_reserve_(c, 1);
        room = p ? c->scap_ - c->se_ : 0;
    } else {
        wsp_staging_drain_(c);
        p = NULL;
        if (c->ss_ == c->se_) {
            p = wsp_port_(c, below, WSP_SENDAPP_, &room);
            if (!p && wsp_queue_below_(c))
                p = wsp_port_(c, below, WSP_SENDAPP_, &room);   /* the full record went below */
            into = below;
        }
        if (!p && c->scap_ && c->qs_ == c->qe_ && (p = wsp_plain_reserve_(c, 1)) != NULL) {
            room = c->scap_ - c->se_;
            into = 0;
        }
    }
    if (!p || !room || !n) return 0;
    if (n > room) n = room;
    c->tx_mask_off_ = wsproxy_mask(p, (const unsigned char *)data, n, c->tx_mask_, c->tx_mask_off_);
    wsp_frame_commit_(c, into, n);
    c->tx_remaining_ -= n;
    if (c->tx_remaining_ == 0) {
        c->tx_in_frame_ = 0;
        wsp_flush_pending_(c);
    }
    return n;
}

WSPROXY_IMPL size_t wsproxy_send_room(const wsproxy_client *c)
{
    size_t room = 0, r;
    if (c->state_ != WSPROXY_STATE_OPEN || c->tx_in_frame_ || c->close_pending_) return 0;
    if (c->scap_ && c->qs_ == c->qe_) room = c->scap_ - (c->se_ - c->ss_);
    if (c->ss_ == c->se_ && (r = wsp_tls_app_room_(c, wsp_below_(c))) > room) room = r;
    if (wsp_queue_room_(c) && wsp_tls_frag_max_() > room)
        room = wsp_tls_frag_max_();   /* a fresh record, once this one is queued */
#ifdef WSPROXY_DEFLATE
    if (c->zout_) return wsp_deflate_fit_(c, room);   /* what fits compressed fits plain too */
#endif
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

/* -- timers, state, errors -- */
WSPROXY_IMPL int wsproxy_waiting_for(const wsproxy_client *c)
{
    switch (c->state_) {
    case WSPROXY_STATE_PROXY: return c->auth_reconnect_ ? WSPROXY_WAIT_RECONNECT : WSPROXY_WAIT_PROXY;
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

WSPROXY_IMPL size_t wsproxy_deflate_arena_size(const wsproxy_deflate_options *o)
{
#ifdef WSPROXY_DEFLATE
    /* the server may pick any window up to what was offered; zlib's deflate takes
       2^(w+2) + 2^(mem+9) bytes and inflate 2^w (zlib.h, "Memory usage"), each beside
       its state; 16 bytes of alignment per allocation (five for deflate, two for
       inflate, the two streams, the chunk buffer) */
    size_t sw, cw, mem, n;
    if (!o || !o->enable) return 0;
    sw = o->server_max_window_bits > 0 ? (size_t)o->server_max_window_bits : 15u;
    cw = o->client_max_window_bits > 0 ? (size_t)o->client_max_window_bits : 15u;
    mem = o->mem_level > 0 ? (size_t)o->mem_level : 8u;
    n = 15 + 2 * (sizeof(z_stream) + 16) + WSPROXY_INFLATE_CHUNK_BYTES + 16 +
        WSPROXY_ZLIB_INFLATE_STATE_BYTES + ((size_t)1 << sw) + 2 * 16;
    if (cw >= 9) n += WSPROXY_ZLIB_DEFLATE_STATE_BYTES + ((size_t)1 << (cw + 2)) + ((size_t)1 << (mem + 9)) + 5 * 16;
    return n;
#else
    (void)o;
    return 0;
#endif
}

WSPROXY_IMPL int wsproxy_deflate_get(const wsproxy_client *c, wsproxy_deflate_params *out)
{
#ifdef WSPROXY_DEFLATE
    if (c->rx_.zin_) {
        *out = c->pmd_;
        return 1;
    }
#endif
    (void)c;
    memset(out, 0, sizeof *out);
    return 0;
}

WSPROXY_IMPL void wsproxy_stats_get(const wsproxy_client *c, wsproxy_stats *out)
{
    *out = c->stats_;
    out->copied_in_message = c->rx_.copied_;
#ifdef WSPROXY_DEFLATE
    out->deflate_arena_used = c->zarena_used_;
#endif
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
    size_t n = 0;
    wsp_sel_put_uint_(num, sizeof num, &n, v, 10);
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
    if (e->proxy_authenticate[0] && (c->error_ == WSPROXY_E_PROXY_AUTH ||
                                     (c->error_ >= WSPROXY_E_PROXY_AUTH_REJECTED && c->error_ <= WSPROXY_E_PROXY_AUTH_CHALLENGE))) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, e->http_status == 401 ? "WWW-Authenticate: " : "Proxy-Authenticate: ");
        wsp_append_(out, cap, &at, e->proxy_authenticate);
        sep = "; ";
    }
    if (c->error_ == WSPROXY_E_PROXY_AUTH_SCHEME && e->auth_offered) {
        int bit;
        const char *comma = "offered: ";
        wsp_append_(out, cap, &at, sep);
        for (bit = WSPROXY_AUTH_NEGOTIATE; bit; bit = bit == WSPROXY_AUTH_NEGOTIATE ? WSPROXY_AUTH_OTHER : bit == WSPROXY_AUTH_OTHER ? WSPROXY_AUTH_NTLM : bit >> 1)
            if (e->auth_offered & bit) {
                wsp_append_(out, cap, &at, comma);
                wsp_append_(out, cap, &at, wsproxy_auth_name(bit));
                comma = ", ";
            }
        sep = "; ";
    }
    if (e->extension[0] && c->error_ == WSPROXY_E_HANDSHAKE_EXTENSION) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, e->extension);
        sep = "; ";
    }
#ifndef WSPROXY_NO_TLS
    if (c->error_ >= 600 && c->error_ < 700) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, wsproxy_tls_reason(e->tls_error));
        if (e->tls_error == WSPROXY_TLS_ERR_PLAIN_HTTP)
            wsp_append_(out, cap, &at, c->error_ == WSPROXY_E_TLS_PROXY ? ": is it an http:// proxy?"
                                                                        : ": is it a ws:// server?");
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
        char b[5] = {'0', 'x', 0, 0, 0};
        b[2] = hex[(e->socks_reply >> 4) & 15];
        b[3] = hex[e->socks_reply & 15];
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, "SOCKS reply ");
        wsp_append_(out, cap, &at, b);
        sep = "; ";
    }
    if (c->error_ >= WSPROXY_E_URL_SYNTAX && c->error_ <= WSPROXY_E_URL_TOO_LONG && e->url_which) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, e->url_which == WSPROXY_URL_PROXY ? "in the proxy URL" : "in the server URL");
        if (c->error_ != WSPROXY_E_URL_SCHEME || e->url_error_at) {
            wsp_append_(out, cap, &at, " at byte ");
            wsp_append_uint_(out, cap, &at, (unsigned)e->url_error_at);
        }
        sep = "; ";
    }
    if (c->error_ == WSPROXY_E_PROXY_NAME || c->error_ == WSPROXY_E_CONNECT_NAME) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, "resolver code ");
        if (e->os_error < 0) wsp_append_(out, cap, &at, "-");
        wsp_append_uint_(out, cap, &at, (unsigned)(e->os_error < 0 ? -e->os_error : e->os_error));
        sep = "; ";
    } else if (e->os_error) {
        wsp_append_(out, cap, &at, sep);
        wsp_append_(out, cap, &at, wsp_os_kind_name_(e->os_error));
        wsp_append_(out, cap, &at, wsp_os_kind_(e->os_error) ? " (os error " : " ");
        wsp_append_uint_(out, cap, &at, (unsigned)(e->os_error < 0 ? -e->os_error : e->os_error));
        if (wsp_os_kind_(e->os_error)) wsp_append_(out, cap, &at, ")");
        sep = "; ";
    }
    if (sep[0] == ';') wsp_append_(out, cap, &at, ")");
    return at;
}

/* ==== 14. the operating system's random source ====-------------------------------------------- */
#ifndef WSPROXY_NO_OS_RANDOM
#if defined(__linux__) && !defined(__ANDROID__)
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
#elif defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN   /* keeps <winsock.h> out: <winsock2.h> may follow */
#endif
#include <windows.h>
#include <bcrypt.h>
#ifdef _MSC_VER
#pragma comment(lib, "bcrypt")
#endif
/* Windows' system RNG (link with -lbcrypt when not MSVC) */
WSPROXY_IMPL int wsproxy_os_random(void *ctx, unsigned char *dst, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, dst, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return -1;
        dst += n;
        len -= n;
    }
    return 0;
}
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
      defined(__DragonFly__) || defined(__ANDROID__)
#include <stdlib.h>
/* declared here too: <stdlib.h> hides it when a program defines _POSIX_C_SOURCE */
#ifdef __cplusplus
extern "C"
#endif
void arc4random_buf(void *buf, size_t nbytes);
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
