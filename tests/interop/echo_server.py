"""Echo server on Python websockets (Debian's python3-websockets), for make interop.

    /usr/bin/python3 tests/interop/echo_server.py CERT KEY PORTFILE

Listens on 127.0.0.1 with ports the kernel picks: one ws:// and one wss:// (CERT is the
chain, KEY its key). Writes "ws=PORT wss=PORT" to PORTFILE once both listen, then serves
until killed. Each message goes back as it came (text as text, binary as binary);
pings and the close handshake are the library's own (it echoes the close code and
reason). The library's defaults are kept (1 MiB max_size, keepalive pings every 20 s).
Each wss:// connection prints "tls: VERSION SUITE" (TLSv1.3 TLS_AES_256_GCM_SHA384, say)
when its handler starts: make interop checks the version each client negotiated.
"""
import asyncio
import logging
import os
import signal
import ssl
import sys

import websockets


def tls_line(ws):
    """ "tls: VERSION SUITE" for a connection over TLS (Python's ssl: what OpenSSL
    negotiated), None for a plain one."""
    ssl_object = ws.transport.get_extra_info("ssl_object") if ws.transport else None
    if ssl_object is None:
        return None
    return "tls: %s %s" % (ssl_object.version(), ssl_object.cipher()[0])


async def echo(ws, path=None):
    line = tls_line(ws)
    if line:
        print(line, flush=True)
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main(cert, key, portfile, handler=echo, client_ca=None, **serve_options):
    """Serves handler (tests/interop/deflate_server.py passes its own, and options for
    websockets.serve) until SIGTERM or SIGINT. With client_ca (a PEM file) the wss://
    listener requires a client certificate that chains to it (ssl.CERT_REQUIRED;
    tests/interop/mtls_server.py)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=client_ca)
    plain = await websockets.serve(handler, "127.0.0.1", 0, **serve_options)
    tls = await websockets.serve(handler, "127.0.0.1", 0, ssl=ctx, **serve_options)
    ports = (plain.sockets[0].getsockname()[1], tls.sockets[0].getsockname()[1])
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("ws=%d wss=%d\n" % ports)
    os.rename(tmp, portfile)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    await stop
    plain.close()
    tls.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print("websockets", websockets.__version__, "python", sys.version.split()[0], flush=True)
    asyncio.run(main(*sys.argv[1:4]))
