#!/usr/bin/python3
"""ref_client.py - a reference client for the conformance server: Python websockets
(Debian's python3-websockets 10.4, run by /usr/bin/python3) driven the way
examples/autobahn_client drives wsproxy.h, so that run.py can point at either. It is
there to prove the server's permessage-deflate side (sections 12, 13 and 16) with a
third-party implementation.

    ref_client.py [--host H] [--port P] [--agent NAME] [--case N] [--tls] [--cacert FILE]
                  [--timeout S] [--case-timeout S] [--max-message BYTES] [--no-shutdown]
                  [--deflate [--client-max-window-bits N|none] [--server-max-window-bits N]
                             [--client-no-context-takeover] [--server-no-context-takeover]]
                  [--stats] [--quiet] [--features]

GET /getCaseCount, then /runCase?case=N&agent=NAME for each case (or only --case N),
then /updateReports?agent=NAME&shutdownOnComplete=true (without the flag with
--no-shutdown). In a case every message is echoed as it came (same type); pings, the
close handshake and failing the connection (1002, 1007, 1009) are the library's.

--deflate offers permessage-deflate; by default with client_max_window_bits without a
value (the offer node's ws and websockets make); the other flags change the offer:
--client-max-window-bits N offers that value (none: leaves the parameter out),
--server-max-window-bits N asks the server for a smaller window, the two
--*-no-context-takeover flags add those parameters. --max-message (default 16 MiB) is
websockets' max_size: a message that inflates beyond it fails the connection with 1009.
--tls uses wss:// (--cacert: the CA file to trust).

Prints "case N: ..." per case (how it ended) unless --quiet; --stats adds the peak RSS.
Exit status 0 when every session ran, 1 on usage errors, 2 when the server could not be
reached or a service request failed.
"""

import argparse
import asyncio
import resource
import ssl
import sys
import urllib.parse

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--agent", default="websockets")
    ap.add_argument("--case", type=int, default=0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cacert")
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--case-timeout", type=float, default=600)
    ap.add_argument("--max-message", type=int, default=16 * 1024 * 1024)
    ap.add_argument("--no-shutdown", action="store_true")
    ap.add_argument("--deflate", action="store_true")
    ap.add_argument("--client-max-window-bits", default="")
    ap.add_argument("--server-max-window-bits", type=int)
    ap.add_argument("--client-no-context-takeover", action="store_true")
    ap.add_argument("--server-no-context-takeover", action="store_true")
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--features", action="store_true")
    a = ap.parse_args()
    if a.features:
        print("tls permessage-deflate")
        sys.exit(0)
    cmwb = a.client_max_window_bits
    if cmwb == "":
        a.cmwb = True             # offered without a value
    elif cmwb == "none":
        a.cmwb = None             # not offered
    else:
        try:
            a.cmwb = int(cmwb)
        except ValueError:
            ap.error("--client-max-window-bits takes 8..15 or none")
    return a


def extensions(a):
    if not a.deflate:
        return None
    return [ClientPerMessageDeflateFactory(
        server_no_context_takeover=a.server_no_context_takeover,
        client_no_context_takeover=a.client_no_context_takeover,
        server_max_window_bits=a.server_max_window_bits,
        client_max_window_bits=a.cmwb)]


async def session(a, path, kind):
    """-> (text describing how it ended, count or None, connected)"""
    scheme = "wss" if a.tls else "ws"
    uri = "%s://%s:%d%s" % (scheme, a.host, a.port, path)
    ctx = None
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.cacert)
    echoed = 0
    count = None
    try:
        ws = await websockets.connect(uri, ssl=ctx, extensions=extensions(a), compression=None,
                                      max_size=a.max_message, max_queue=None,
                                      ping_interval=None, open_timeout=a.timeout,
                                      close_timeout=a.timeout)
    except (OSError, asyncio.TimeoutError) as e:
        return "could not connect: %s" % e, None, False
    except websockets.InvalidHandshake as e:
        return "handshake failed: %s: %s" % (e.__class__.__name__, e), None, False
    try:
        async for message in ws:
            if kind == "count":
                count = int(message)
            elif kind == "case":
                await ws.send(message)
                echoed += 1
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    how = "closed with %s, echoed %d" % (ws.close_code, echoed)
    if ws.close_rcvd is None and ws.close_sent is not None:
        how = "failed, sent close %s, echoed %d" % (ws.close_sent.code, echoed)
    elif ws.close_rcvd is None:
        how = "ended without a close (%s), echoed %d" % (ws.close_code, echoed)
    return how, count, True


def peak_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def main():
    a = parse_args()
    agent = urllib.parse.quote(a.agent, safe="")
    how, count, ok = await session(a, "/getCaseCount", "count")
    if count is None:
        sys.stderr.write("ref_client: could not get the case count (%s)\n" % how)
        return 2
    if not a.quiet:
        print("%d cases" % count, flush=True)
    cases = [a.case] if a.case else range(1, count + 1)
    for i in cases:
        try:
            how, _c, ok = await asyncio.wait_for(
                session(a, "/runCase?case=%d&agent=%s" % (i, agent), "case"), a.case_timeout)
        except asyncio.TimeoutError:
            how, ok = "timeout (case took too long)", True
        if how.startswith("could not connect"):
            sys.stderr.write("ref_client: case %d: %s\n" % (i, how))
            return 2
        if not a.quiet:
            line = "case %d: %s" % (i, how)
            if a.stats:
                line += "; peak rss %d KiB" % peak_rss_kib()
            print(line, flush=True)
    path = "/updateReports?agent=%s%s" % (agent, "" if a.no_shutdown else "&shutdownOnComplete=true")
    how, _c, ok = await session(a, path, "report")
    if not ok:
        sys.stderr.write("ref_client: updateReports failed (%s)\n" % how)
        return 2
    if not a.quiet:
        print("reports updated for agent %s" % a.agent)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
