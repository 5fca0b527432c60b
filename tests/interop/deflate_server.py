"""Echo server on Python websockets with permessage-deflate as it comes by default, for
make interop-deflate (tests/interop/deflate.sh).

    /usr/bin/python3 tests/interop/deflate_server.py CERT KEY PORTFILE

Listens on 127.0.0.1 with ports the kernel picks: one ws:// and one wss:// (CERT is the
chain, KEY its key). Writes "ws=PORT wss=PORT" to PORTFILE once both listen, then serves
until killed. Each message goes back as it came. websockets' compression default is
kept (serve(compression="deflate"): server and client windows of at most 12 bits,
memLevel 5); max_size is raised to 4 MiB for the 1 MiB messages.

When a connection ends it prints one line, what the suite checks:
    conn PATH | offer: OFFER | answer: ANSWER | params cw=N sw=N cnct=B snct=B |
    messages N rsv1 N
where OFFER and ANSWER are the Sec-WebSocket-Extensions request and response headers,
params what websockets' own permessage-deflate object settled (client window, server
window, client/server no_context_takeover), messages the data messages received and
rsv1 how many of them arrived compressed (RSV1 on their first frame), both counted by
websockets' permessage-deflate decoder, which sees every data frame (messages -1:
permessage-deflate was not negotiated).
"""
import asyncio
import sys

import websockets

import echo_server  # tests/interop/echo_server.py: its main() serves ws:// and wss://
from websockets import frames
from websockets.extensions import permessage_deflate

_decode = permessage_deflate.PerMessageDeflate.decode


def _counting_decode(self, frame, *, max_size=None):
    """Counts the first frames of data messages, and those with RSV1, per connection."""
    if frame.opcode in (frames.OP_TEXT, frames.OP_BINARY):
        self.wsp_first = getattr(self, "wsp_first", 0) + 1
        if frame.rsv1:
            self.wsp_rsv1 = getattr(self, "wsp_rsv1", 0) + 1
    return _decode(self, frame, max_size=max_size)


permessage_deflate.PerMessageDeflate.decode = _counting_decode


def describe(ws, path):
    pmd = [e for e in ws.extensions if isinstance(e, permessage_deflate.PerMessageDeflate)]
    if pmd:
        e = pmd[0]
        params = "cw=%d sw=%d cnct=%d snct=%d" % (
            e.remote_max_window_bits or 15, e.local_max_window_bits or 15,
            int(e.remote_no_context_takeover), int(e.local_no_context_takeover))
        messages, rsv1 = getattr(e, "wsp_first", 0), getattr(e, "wsp_rsv1", 0)
    else:
        params, messages, rsv1 = "none", -1, 0
    return "conn %s | offer: %s | answer: %s | params %s | messages %d rsv1 %d" % (
        path, ws.request_headers.get("Sec-WebSocket-Extensions", "-"),
        ws.response_headers.get("Sec-WebSocket-Extensions", "-"), params, messages, rsv1)


async def echo(ws, path=None):
    try:
        await echo_server.echo(ws, path)
    finally:
        print(describe(ws, path or getattr(ws, "path", "?")), flush=True)


if __name__ == "__main__":
    print("websockets", websockets.__version__, "python", sys.version.split()[0], flush=True)
    asyncio.run(echo_server.main(*sys.argv[1:4], handler=echo, max_size=4 << 20))
