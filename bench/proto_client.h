/* bench/proto_client.h: prototypes of two receive-path changes to wsproxy.h, written
   against the client struct's fields (visible in the header) so that bench/micro.c can
   measure them without touching the library. Include after the implementation of
   wsproxy.h, in the same translation unit (they call its static helpers).

   proto_poll: a fast path at the top of wsp_poll_frames_ for the common frame: FIN,
   text or binary, unmasked, no RSV, 7- or 16-bit length, no fragmented message open,
   and the whole frame already in in_. It reads two (or four) header bytes and gives the
   event at once; anything else (and any violation, so the errors stay the library's)
   falls through to wsproxy_poll. Equivalent events: micro.c compares them.

   proto_recv_buf / proto_recv_ack: direct placement. With cfg.message_buffer set, when
   in_ holds no unread byte and the current frame still has payload to come, the room
   handed out is the message buffer itself (up to the frame's end), so the socket's copy
   is the only copy; the ack validates text and advances msg_fill_, and the next
   wsproxy_poll completes the frame as usual. */
#ifndef BENCH_PROTO_CLIENT_H
#define BENCH_PROTO_CLIENT_H

#define PROTO_DIRECT_MIN 1024   /* smaller remainders go through in_ */

static int proto_plain_open_(const wsproxy_client *c)
{
    if (c->state_ != WSPROXY_STATE_OPEN || c->final_reported_) return 0;
#ifndef WSPROXY_NO_TLS
    if (c->tls_proxy_ || c->tls_target_started_ || c->tls_events_) return 0;
#endif
    return 1;
}

static int proto_poll(wsproxy_client *c, wsproxy_event *ev)
{
    if (!c->rx_in_payload_ && !c->rx_msg_opcode_ && proto_plain_open_(c)) {
        const unsigned char *p = c->in_ + c->in_start_;
        size_t avail = c->in_end_ - c->in_start_, hl = 2, len;
        if (avail >= 2 && (p[0] == 0x81 || p[0] == 0x82) && p[1] <= 126) {
            len = p[1];
            if (len == 126) {
                if (avail < 4) goto slow;
                len = (size_t)p[2] << 8 | p[3];
                hl = 4;
                if (len < 126) goto slow;   /* non-minimal: the library's error */
            }
            if (avail - hl < len || len > c->max_message_) goto slow;
            if (p[0] == 0x81) {   /* short ASCII text inline, else the validator */
                const unsigned char *t = p + hl;
                uint64_t acc = 0, w;
                size_t i = 0;
                for (; i + 8 <= len; i += 8) { memcpy(&w, t + i, 8); acc |= w; }
                for (; i < len; i++) acc |= t[i];
                if (acc & 0x8080808080808080ull) {
                    uint32_t st = 0;
                    if (wsproxy_utf8_validate(&st, t, len) != len || st != 0) goto slow;
                }
            }
            c->in_start_ += hl + len;
            memset(ev, 0, sizeof *ev);
            ev->type = WSPROXY_EV_MESSAGE;
            ev->opcode = p[0] & 15;
            ev->first = ev->fin = 1;
            ev->len = len;
            if (c->msg_buf_) {
                memcpy(c->msg_buf_, p + hl, len);
                ev->data = c->msg_buf_;
            } else {
                ev->data = p + hl;
            }
            return 1;
        }
    }
slow:
    return wsproxy_poll(c, ev);
}

static unsigned char *proto_recv_buf(wsproxy_client *c, size_t *len)
{
    if (c->msg_buf_ && c->rx_in_payload_ && c->in_start_ == c->in_end_ && !c->eof_ &&
        c->rx_remaining_ >= PROTO_DIRECT_MIN && proto_plain_open_(c)) {
        *len = (size_t)c->rx_remaining_;   /* max_message <= msg_cap_ was checked */
        return c->msg_buf_ + c->msg_fill_;
    }
    return wsproxy_recv_buf(c, len);
}

static void proto_recv_ack(wsproxy_client *c, const unsigned char *p, size_t n)
{
    if (c->msg_buf_ && p >= c->msg_buf_ && p < c->msg_buf_ + c->msg_cap_) {
        if (n > c->rx_remaining_) n = (size_t)c->rx_remaining_;
        if (n == 0) return;
        c->received_any_ = 1;
        if (c->rx_msg_opcode_ == WSPROXY_OP_TEXT && wsproxy_utf8_validate(&c->rx_utf8_, p, n) != n) {
            wsp_fail_peer_(c, WSPROXY_E_WS_INVALID_UTF8);
            return;
        }
        c->msg_fill_ += n;
        c->rx_remaining_ -= n;
        return;
    }
    wsproxy_recv_ack(c, n);
}

#endif
