"""Echo server on Python websockets whose wss:// listener requires a client certificate
(ssl.CERT_REQUIRED), for make interop (tests/interop/run.sh, the mTLS checks).

    /usr/bin/python3 tests/interop/mtls_server.py CERT KEY CLIENT_CA PORTFILE

As echo_server.py (one ws:// and one wss:// listener on 127.0.0.1, "ws=PORT wss=PORT" in
PORTFILE), but the TLS handshake of the wss:// listener fails unless the client sends a
certificate that chains to CLIENT_CA (Python's ssl module, OpenSSL, checks it). Each
connection that opened prints one line when it ends:
    conn PATH | client-cert: CN
with the common name of the certificate the client presented ("-" on ws://).
"""
import asyncio
import sys

import websockets

import echo_server  # tests/interop/echo_server.py: its main() serves ws:// and wss://


def client_cn(ws):
    cert = ws.transport.get_extra_info("peercert") if ws.transport else None
    for rdn in (cert or {}).get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return value
    return "-"


async def echo(ws, path=None):
    try:
        await echo_server.echo(ws, path)
    finally:
        print("conn %s | client-cert: %s" % (path or getattr(ws, "path", "?"), client_cn(ws)), flush=True)


if __name__ == "__main__":
    print("websockets", websockets.__version__, "python", sys.version.split()[0], flush=True)
    cert, key, client_ca, portfile = sys.argv[1:5]
    asyncio.run(echo_server.main(cert, key, portfile, handler=echo, client_ca=client_ca))
