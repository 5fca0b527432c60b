/* The whole client (WSPROXY_NO_TLS) driven by a scripted server byte stream.

   INPUT
     byte 0   flags: bits 0-1 tunnel kind (TUNNEL_*), bit 2 reassembly into a message
              buffer, bit 3 a small max_message (byte 1), bit 4 offer subprotocols,
              bit 5 the random source fails after byte 1 * 4 bytes, bit 6 receive through
              wsproxy_recv_buf/wsproxy_recv_ack instead of wsproxy_feed, bit 7 SOCKS4
              instead of SOCKS5
     byte 1   parameter for bits 3 and 5
     byte 2   chunk-size seed (0: each byte segment is fed whole)
     [auth]   with an HTTP proxy (tunnel kinds 1 and 2) and flag bit 7: an auth block
              (fuzz/client_harness.h: the schemes allowed, the credentials, a token
              callback answering from the block's bytes, the caller's own
              Proxy-Authorization header)
     rest     the script: bytes the proxy/server sends, where
                "{A}"      is replaced by the right Sec-WebSocket-Accept value
                0xFF 0xFF  is a literal 0xFF byte
                0xFF X     is a caller action X (see do_action: send text/binary, ping,
                           pong, fragments, a streamed frame, close, timer, EOF, reset,
                           stop/resume draining the send side, 'X' the new connection
                           after EV_RECONNECT: the script's next bytes are its bytes)
   The script runs twice: fed in chunk sizes from the seed, and fed byte by byte. Both
   runs must log the same events and action results and write the same bytes.

   INVARIANTS (beside the sanitizers)
     events: known types in a legal order (TUNNEL only via a proxy and before OPEN,
       nothing after CLOSE or ERROR), message data inside the client or the message
       buffer, whole messages within max_message, text messages valid UTF-8 (checked by a
       decoder of our own), close codes and reasons valid, the error code named and its
       close code the RFC's (1002/1007/1009; 1006 for a lost connection);
     bytes written: the request heads, then masked client frames only, control frames
       whole and short, every pong echoing a ping (or a pong the caller sent), nothing
       after our close frame, nothing after a failure but the close frame a peer fault
       makes due;
       proxy credentials and proxy headers never after the CONNECT head, target headers
       never in it; wsproxy_describe never shows the password;
     proxy authentication (the 407 loop): every CONNECT head whole before the tunnel,
       within WSPROXY_MAX_REQUEST_BYTES, at most one Proxy-Authorization, credentials on
       the first only when they go first, every later one answering with an allowed,
       usable scheme and the configured credentials or a token the callback gave; no
       password, Basic credential or token in any byte after the tunnel; at most
       WSPROXY_MAX_AUTH_ROUNDS rounds (and CONNECTs, one more per silent close); nothing
       written between EV_RECONNECT and wsproxy_reconnected, which refuses when none was
       asked for; each authentication error before the tunnel and telling what happened;
     buffers: recv/send windows within their sizes; poll never loops forever.

   TUNNEL KINDS: direct, http proxy, http proxy with credentials and proxy headers (with
   flag bit 7 either takes an auth block, which says the credentials), and
   SOCKS (flag bit 7 and parameter bit 7 pick socks5h, socks4a, socks5, socks4; the
   resolving ones get cfg.target_address).
   The script, the actions and the event invariants are shared with fuzz_client_tls.c
   (fuzz/client_harness.h).
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 6000 */
#define WSPROXY_NO_TLS
#include "fuzz_common.h"

#include <errno.h>

#include "client_harness.h"

enum { TUNNEL_DIRECT = 0, TUNNEL_HTTP = 1, TUNNEL_HTTP_AUTH = 2, TUNNEL_SOCKS = 3 };

static run_state runs[2];
static int tunnel_g;

static void do_action(run_state *r, const segment *s)
{
    if (!do_caller_action(r, s)) logs(r, "nop|");
}

/* Checks the bytes the client wrote: the proxy's requests, then the upgrade head and
   masked frames; no proxy secret after the tunnel. */
static void check_sent(const run_state *r)
{
    const unsigned char *p = r->sent;
    size_t n = r->sent_len, off = 0, h;
    if (r->sent_total != r->sent_len) return;   /* too much to keep: hash compared only */
    if (tunnel_g == TUNNEL_SOCKS) {
        /* binary SOCKS requests first (RFC 1929 carries the password: before the GET only) */
        while (off + 4 <= n && memcmp(p + off, "GET ", 4) != 0) off++;
        if (off + 4 > n) return;
        FUZZ_CHECK(r->tunneled && off == r->tunnel_at);
    } else if (tunnel_g != TUNNEL_DIRECT) {
        check_connect_heads(p, r->tunneled ? r->tunnel_at : n, r->tunneled, r->reconnects);
        if (!r->tunneled) return;
        off = r->tunnel_at;
    }
    fz_no_secrets(p + off, n - off);
    /* after the tunnel the upgrade request, never another CONNECT */
    FUZZ_CHECK(n == off || memcmp(p + off, "GET ", n - off < 4 ? n - off : 4) == 0);
    if (!(h = head_len(p + off, n - off))) return;
    check_upgrade_head(p + off, h);
    check_error_close(r, check_frames(r, p + off + h, n - off - h));
}

static int one_run(run_state *r, const uint8_t *data, int bytewise)
{
    static const unsigned char target_addr[4] = {192, 0, 2, 7};
    wsproxy_config cfg;
    const char *headers[] = {"Authorization: " TARGET_SECRET, "Cookie: tgt=1", NULL};
    const char *proxy_headers[] = {"X-Proxy-Secret: px-1", NULL, NULL}, *no_headers[] = {NULL, NULL};
    char accept[29];
    uint32_t seed = data[2] * 2654435761u + 1;
    unsigned chunk_max = data[2] ? 1u + data[2] % 97u : 0u;
    int rc;

    run_reset(r);
    fz_via_proxy = tunnel_g != TUNNEL_DIRECT;
    fz_socks = tunnel_g == TUNNEL_SOCKS;
    fz_tls_hops = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "ws://server.test:8080/chat?room=1";
    switch (tunnel_g) {
    case TUNNEL_HTTP: fz_auth_config(&cfg, "http", "127.0.0.1:3128", no_headers); break;
    case TUNNEL_HTTP_AUTH: fz_auth_config(&cfg, "http", "proxy.test:3128", proxy_headers); break;
    case TUNNEL_SOCKS:   /* flag bit 7: SOCKS4a, else SOCKS5h; parameter bit 7: the
                            resolving variants (socks4:// / socks5://) with an address */
        if (data[1] & 0x80) cfg.proxy = (flags_g & 128) ? "socks4://usr@127.0.0.1:1080" : "socks5://usr:" PROXY_PASSWORD "@127.0.0.1:1080";
        else cfg.proxy = (flags_g & 128) ? "socks4a://usr@127.0.0.1:1080" : "socks5h://usr:" PROXY_PASSWORD "@127.0.0.1:1080";
        cfg.target_address = target_addr;
        cfg.target_address_type = WSPROXY_HOST_IPV4;
        break;
    default: break;
    }
    caller_options(&cfg, data, headers);

    if ((rc = init_client(r, &cfg)) != WSPROXY_OK) return rc;
    FUZZ_CHECK(wsproxy_connect_port(&client) == (tunnel_g == TUNNEL_DIRECT ? 8080u : tunnel_g == TUNNEL_SOCKS ? 1080u : 3128u));
    if (tunnel_g == TUNNEL_SOCKS) {   /* the first SOCKS request is queued at once */
        size_t n;
        const unsigned char *q = wsproxy_send_buf(&client, &n);
        FUZZ_CHECK(q != NULL && (q[0] == 4 || q[0] == 5));
    }
    fz_accept(accept);
    drain(r);
    run_script(r, accept, bytewise, &seed, chunk_max, do_action);
    end_of_stream(r);
    logs(r, "end state=%d err=%d|", wsproxy_get_state(&client), wsproxy_error(&client));
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 3;
    if (size < 3) return 0;
    flags_g = data[0];
    tunnel_g = data[0] & 3;
    fz_auth_default(tunnel_g == TUNNEL_HTTP_AUTH ? FZ_CREDS_URL : FZ_CREDS_NONE);
    if ((tunnel_g == TUNNEL_HTTP || tunnel_g == TUNNEL_HTTP_AUTH) && (flags_g & 128))
        at += fz_auth_block(data + 3, size - 3);
    split_script(data + at, size - at);
    one_run(&runs[0], data, 0);
    check_sent(&runs[0]);
    if (getenv("FUZZ_CLIENT_LOG")) fprintf(stderr, "%.*s\n", (int)runs[0].log_len, runs[0].log);
    one_run(&runs[1], data, 1);
    same_logs(&runs[0], &runs[1]);
    if (runs[0].sent_total != runs[1].sent_total || runs[0].sent_hash != runs[1].sent_hash) {
        fprintf(stderr, "sent %zu vs %zu bytes\n", runs[0].sent_total, runs[1].sent_total);
        FUZZ_CHECK(!"written bytes differ between chunked and byte-by-byte feeding");
    }
    return 0;
}
