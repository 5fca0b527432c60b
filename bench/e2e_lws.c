/* bench/e2e_lws.c: the libwebsockets client of the end-to-end rows (ws://, direct or
   through the http:// proxy via the vhost's http_proxy_address). Its own poll() loop
   (lws_service), a fresh context per run, TCP_NODELAY as lws sets it. rx_buffer_size is
   128 KiB so that a 64 KiB message is read and written whole, as an lws user would set
   it for such messages (the 4 KiB default splits every send). The payload is copied
   into the LWS_PRE-padded buffer before each lws_write(), which masks it in place. */
#include <libwebsockets.h>
#include <string.h>

#include "common.h"
#include "e2e.h"

typedef struct {
    const e2e_cfg *cfg;
    unsigned char *buf;        /* LWS_PRE + size */
    const unsigned char *payload;
    long sent, done, burst_end;
    size_t rx_off;
    double t0, w0, t1, w1;
    int finished, failed, opened;
} lws_run;

static lws_run *cur_;

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    lws_run *r = cur_;
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        r->opened = 1;
        r->t0 = cpu_now();
        r->w0 = wall_now();
        r->burst_end = r->cfg->window < r->cfg->count ? r->cfg->window : r->cfg->count;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (r->sent < r->burst_end) {
            memcpy(r->buf + LWS_PRE, r->payload, r->cfg->size);
            if (lws_write(wsi, r->buf + LWS_PRE, r->cfg->size, LWS_WRITE_BINARY) < (int)r->cfg->size) {
                r->failed = 1;
                return -1;
            }
            r->sent++;
            if (r->sent < r->burst_end) lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (r->cfg->verify && (r->rx_off + len > r->cfg->size || memcmp(in, r->payload + r->rx_off, len) != 0))
            BENCH_FAIL("lws: echo differs at message %ld", r->done);
        r->rx_off += len;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            if (r->rx_off != r->cfg->size) BENCH_FAIL("lws: echo of %zu bytes, sent %zu", r->rx_off, r->cfg->size);
            r->rx_off = 0;
            r->done++;
            if (r->done == r->cfg->count) {
                r->t1 = cpu_now();
                r->w1 = wall_now();
                r->finished = 1;
                return -1;   /* close */
            }
            if (r->done == r->sent) {   /* burst echoed: the next one */
                r->burst_end = r->sent + r->cfg->window < r->cfg->count ? r->sent + r->cfg->window : r->cfg->count;
                lws_callback_on_writable(wsi);
            }
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench: lws: connection error: %s\n", in ? (const char *)in : "?");
        r->failed = 1;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (!r->finished && r->opened) r->failed = 1;
        if (!r->opened) r->failed = 1;
        break;
    default:
        break;
    }
    return 0;
}

int run_lws(const e2e_cfg *cfg, e2e_res *res)
{
    struct lws_protocols protocols[2];
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    struct lws_context *ctx;
    lws_run r;
    unsigned char *payload = (unsigned char *)malloc(cfg->size + 1);
    memset(res, 0, sizeof *res);
    memset(&r, 0, sizeof r);
    memset(protocols, 0, sizeof protocols);
    memset(&info, 0, sizeof info);
    memset(&ci, 0, sizeof ci);
    if (cfg->tls || cfg->proxy == HOP_HTTPS) return -1;
    payload_pattern(payload, cfg->size);
    r.cfg = cfg;
    r.payload = payload;
    r.buf = (unsigned char *)malloc(LWS_PRE + cfg->size + 1);
    cur_ = &r;
    lws_set_log_level(0, NULL);
    protocols[0].name = "bench";
    protocols[0].callback = cb;
    protocols[0].rx_buffer_size = 128 * 1024;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    if (cfg->proxy == HOP_HTTP) {
        info.http_proxy_address = "127.0.0.1";
        info.http_proxy_port = (unsigned)cfg->proxy_port;
    }
    ctx = lws_create_context(&info);
    if (!ctx) { fprintf(stderr, "bench: lws_create_context failed\n"); free(payload); free(r.buf); return -1; }
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = cfg->server_port;
    ci.path = "/echo";
    ci.host = "localhost";
    ci.origin = "localhost";
    ci.protocol = NULL;
    ci.local_protocol_name = "bench";
    ci.ietf_version_or_minus_one = -1;
    if (!lws_client_connect_via_info(&ci)) r.failed = 1;
    while (!r.finished && !r.failed) lws_service(ctx, 0);
    lws_context_destroy(ctx);
    free(payload);
    free(r.buf);
    cur_ = NULL;
    if (!r.finished) return -1;
    res->cpu = r.t1 - r.t0;
    res->wall = r.w1 - r.w0;
    return 0;
}
