#!/usr/bin/env python3
"""tls_terminator: a TLS front (OpenSSL through Python's ssl module) for the plain test peers.

    tls_terminator.py --cert FILE --key FILE --forward-port N
                      [--port N] [--port-file F] [--log F] [--max-seconds S]
                      [--min-version 1.2|1.3] [--max-version 1.2|1.3]
                      [--client-ca FILE] [--ciphers OPENSSL-LIST]

Listens on 127.0.0.1 (port 0: any free port, written to --port-file), completes a TLS
handshake with each client, then connects to 127.0.0.1:--forward-port and relays the plaintext
both ways until both sides are done. In front of the plain ws_echo_server it is a wss:// server,
in front of the plain http_proxy an https:// proxy; with --min-version 1.3 both are TLS 1.3 only,
which BearSSL's peers cannot be.

  --min-version/--max-version  TLS versions accepted (default: OpenSSL's, 1.2 and 1.3)
  --client-ca FILE             require a client certificate that chains to FILE
  --ciphers LIST               OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites stay OpenSSL's)

Log (--log), one line per fact, in the format of the C peers:
  === sni: NAME                      SNI sent by the client (empty without)
  === version: TLSv1.3               after each handshake, then
  === cipher: TLS_AES_256_GCM_SHA384 (OpenSSL's name) and
  === suite: 0x1302                  (the IANA number)
  === alpn: http/1.1                 ("http/1.1" is offered; empty when none was agreed)
  === client-cert: CN                with --client-ca, the client certificate's subject CN
  === tls-failed: WHY                a handshake that failed (OpenSSL's reason)
  === forward-failed: WHY            the connection to --forward-port failed
Python 3 standard library only (ssl, selectors); single-threaded, non-blocking; every
connection's handshake is bounded by 10 s and the process by --max-seconds.
"""

import argparse
import errno
import os
import re
import selectors
import signal
import socket
import ssl
import sys
import time

HANDSHAKE_SECONDS = 10.0
HIGH = 1 << 20          # stop reading a side while more than this waits for the other
CHUNK = 16384

LOG = None


def log(prefix, text):
    if LOG is not None:
        LOG.write("=== %s: %s\n" % (prefix, text.replace("\n", " ")))
        LOG.flush()


def version_arg(text):
    versions = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    if text not in versions:
        raise argparse.ArgumentTypeError("expected 1.2 or 1.3")
    return versions[text]


def make_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.min_version:
        ctx.minimum_version = args.min_version
    if args.max_version:
        ctx.maximum_version = args.max_version
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=args.client_ca)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.sni_callback = remember_sni
    return ctx


def remember_sni(sock, name, _ctx):
    sock.wsp_sni = name or ""
    return None


def suite_ids(ctx):
    """OpenSSL cipher name -> IANA number, from the ciphers the context knows."""
    ids = {}
    for c in ctx.get_ciphers():
        ids[c["name"]] = c["id"] & 0xFFFF
    return ids


class Conn:
    def __init__(self, srv, sock):
        self.srv = srv
        self.tls = srv.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        self.up = None
        self.connecting = False
        self.hs_done = False
        self.hs_want = selectors.EVENT_READ
        self.deadline = time.monotonic() + HANDSHAKE_SECONDS
        self.to_client = bytearray()
        self.to_up = bytearray()
        self.c_eof = False      # no more plaintext from the client
        self.u_eof = False      # no more bytes from the forward target
        self.up_shut = False    # we sent FIN to the forward target
        self.tls_shut = False   # we sent close_notify to the client
        self.dead = False

    # --------------------------------------------------------------- handshake
    def handshake(self):
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            self.hs_want = selectors.EVENT_READ
            return
        except ssl.SSLWantWriteError:
            self.hs_want = selectors.EVENT_WRITE
            return
        except (ssl.SSLError, OSError) as e:
            log("sni", getattr(self.tls, "wsp_sni", ""))
            log("tls-failed", re.sub(r" \(_ssl\.c:\d+\)$", "", str(e)))
            self.close()
            return
        self.hs_done = True
        self.log_handshake()
        self.connect_up()

    def log_handshake(self):
        t = self.tls
        name = t.cipher()[0] if t.cipher() else "?"
        log("sni", getattr(t, "wsp_sni", ""))
        log("version", t.version() or "?")
        log("cipher", name)
        sid = self.srv.ids.get(name)
        log("suite", "0x%04X" % sid if sid is not None else "?")
        log("alpn", t.selected_alpn_protocol() or "")
        if self.srv.args.client_ca:
            cn = "(no CN)"
            cert = t.getpeercert() or {}
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        cn = "".join(ch if ch.isprintable() else "?" for ch in value)
            log("client-cert", cn)

    def connect_up(self):
        self.up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.up.setblocking(False)
        self.up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = self.up.connect_ex(("127.0.0.1", self.srv.args.forward_port))
        if rc not in (0, errno.EINPROGRESS):
            log("forward-failed", "connect to 127.0.0.1:%d: %s"
                % (self.srv.args.forward_port, errno.errorcode.get(rc, str(rc))))
            self.close()
            return
        self.connecting = rc != 0

    # --------------------------------------------------------------- relay
    def client_readable(self):
        # read whole records; the SSL object may hold decrypted bytes the socket no longer shows
        while not self.c_eof and len(self.to_up) < HIGH:
            try:
                data = self.tls.recv(CHUNK)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except ssl.SSLZeroReturnError:
                data = b""
            except (ssl.SSLError, OSError):
                self.close()
                return
            if not data:
                self.c_eof = True
                return
            self.to_up += data

    def client_writable(self):
        while self.to_client:
            try:
                n = self.tls.send(self.to_client[:CHUNK])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (ssl.SSLError, OSError):
                self.close()
                return
            del self.to_client[:n]

    def up_readable(self):
        while not self.u_eof and len(self.to_client) < HIGH:
            try:
                data = self.up.recv(CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.u_eof = True
                return
            if not data:
                self.u_eof = True
                return
            self.to_client += data

    def up_writable(self):
        if self.connecting:
            err = self.up.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                log("forward-failed", "connect to 127.0.0.1:%d: %s"
                    % (self.srv.args.forward_port, errno.errorcode.get(err, str(err))))
                self.close()
                return
            self.connecting = False
        while self.to_up:
            try:
                n = self.up.send(self.to_up)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.close()
                return
            del self.to_up[:n]

    def settle(self):
        """Half-closes and the end of the connection, once the queues are empty."""
        if self.dead or not self.hs_done or self.connecting:
            return
        if self.c_eof and not self.to_up and not self.up_shut:
            try:
                self.up.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.up_shut = True
        if self.u_eof and not self.to_client and not self.tls_shut:
            self.tls_shut = True
            try:
                self.tls.unwrap()   # close_notify (best effort on a non-blocking socket)
            except (ssl.SSLError, OSError, ValueError):
                pass
            self.close()
            return
        if self.c_eof and self.u_eof and not self.to_up and not self.to_client:
            self.close()

    def close(self):
        if self.dead:
            return
        self.dead = True
        for s in (self.tls, self.up):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    # --------------------------------------------------------------- selector
    def interest(self):
        """(client events, upstream events)"""
        if not self.hs_done:
            return self.hs_want, 0
        ce = 0
        if not self.c_eof and len(self.to_up) < HIGH:
            ce |= selectors.EVENT_READ
        if self.to_client:
            ce |= selectors.EVENT_WRITE
        ue = 0
        if self.connecting or self.to_up:
            ue |= selectors.EVENT_WRITE
        if not self.connecting and not self.u_eof and len(self.to_client) < HIGH:
            ue |= selectors.EVENT_READ
        return ce, ue

    def ready_now(self):
        """Decrypted bytes wait inside the SSL object: no socket event will announce them."""
        return (self.hs_done and not self.dead and not self.c_eof and len(self.to_up) < HIGH
                and self.tls.pending() > 0)


class Server:
    def __init__(self, args):
        self.args = args
        self.ctx = make_context(args)
        self.ids = suite_ids(self.ctx)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", args.port))
        self.lsock.listen(256)
        self.lsock.setblocking(False)
        self.conns = []
        self.stop = False

    def announce(self):
        port = self.lsock.getsockname()[1]
        if self.args.port_file:
            tmp = self.args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % port)
            os.replace(tmp, self.args.port_file)
        print("listening on 127.0.0.1:%d (TLS, forwarding to 127.0.0.1:%d)"
              % (port, self.args.forward_port), flush=True)

    def accept(self):
        while True:
            try:
                sock, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = Conn(self, sock)
            self.conns.append(c)
            c.handshake()

    def run(self):
        end = time.monotonic() + self.args.max_seconds
        while not self.stop:
            now = time.monotonic()
            if now >= end:
                break
            sel = selectors.DefaultSelector()
            sel.register(self.lsock, selectors.EVENT_READ, None)
            busy = False
            for c in self.conns:
                if c.dead:
                    continue
                ce, ue = c.interest()
                if ce:
                    sel.register(c.tls, ce, (c, "client"))
                if ue and c.up is not None:
                    sel.register(c.up, ue, (c, "up"))
                busy = busy or c.ready_now()
            timeout = 0 if busy else min(0.5, max(0.0, end - now))
            events = sel.select(timeout)
            sel.close()
            for key, mask in events:
                if key.data is None:
                    self.accept()
                    continue
                c, side = key.data
                if c.dead:
                    continue
                if not c.hs_done:
                    c.handshake()
                elif side == "client":
                    if mask & selectors.EVENT_READ:
                        c.client_readable()
                    if mask & selectors.EVENT_WRITE and not c.dead:
                        c.client_writable()
                else:
                    if mask & selectors.EVENT_WRITE:
                        c.up_writable()
                    if mask & selectors.EVENT_READ and not c.dead:
                        c.up_readable()
            now = time.monotonic()
            for c in self.conns:
                if c.dead:
                    continue
                if not c.hs_done and now >= c.deadline:
                    log("tls-failed", "handshake not finished within %g s" % HANDSHAKE_SECONDS)
                    c.close()
                    continue
                if c.ready_now():
                    c.client_readable()
                # move what was read at once instead of waiting for the next round
                if c.hs_done and not c.dead and c.to_up and c.up is not None and not c.connecting:
                    c.up_writable()
                if c.hs_done and not c.dead and c.to_client:
                    c.client_writable()
                c.settle()
            self.conns = [c for c in self.conns if not c.dead]
        for c in self.conns:
            c.close()
        self.lsock.close()


def main():
    global LOG
    p = argparse.ArgumentParser(description="TLS front for the plain test peers")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--forward-port", type=int, required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--log")
    p.add_argument("--max-seconds", type=float, default=300.0)
    p.add_argument("--min-version", type=version_arg)
    p.add_argument("--max-version", type=version_arg)
    p.add_argument("--client-ca")
    p.add_argument("--ciphers")
    args = p.parse_args()
    if not 0 < args.forward_port < 65536:
        p.error("--forward-port must be 1..65535")
    if not args.max_seconds > 0:
        p.error("--max-seconds must be positive")
    try:
        srv = Server(args)
    except (OSError, ssl.SSLError, ValueError) as e:
        print("tls_terminator: %s" % e, file=sys.stderr)
        return 2
    if args.log:
        LOG = open(args.log, "a")

    def on_signal(_sig, _frame):
        srv.stop = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    srv.announce()
    srv.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
