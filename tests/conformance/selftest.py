#!/usr/bin/env python3
"""selftest.py - checks that fuzzingserver.py judges right: a small Python WebSocket client
plays well-behaved and deliberately broken clients against it, and each chosen case must
get the verdict the suite's rules give for that behaviour (a conformance server that
passes everything would prove nothing).

    selftest.py            prints one line per check and "N passed, N failed"

Starts its own server on 127.0.0.1 (ephemeral port) and stops it by PID.
"""

import base64
import codecs
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


class Client:
    """A minimal client. mode:
       strict          checks every frame; UTF-8 checked frame by frame (not byte by byte)
       late-utf8       UTF-8 checked only once the whole message is in
       lenient         checks nothing, echoes whatever arrives, answers every ping
       noecho          strict, but never echoes messages
       wrong-code      strict, but answers a close with 1001 whatever it got
       drop-on-close   strict, but drops TCP instead of answering a close
       echo-after-fail strict, but after failing the connection still sends a message
    and clients that offer "permessage-deflate; client_max_window_bits":
       deflate         strict; inflates each frame as it arrives (16 MiB message limit,
                       1009 beyond it), compresses its echoes as negotiated
       deflate-nodecompress  echoes compressed payloads as they came, RSV1 cleared
       deflate-rsv1-control  sets RSV1 on its pongs and close frames
       deflate-keep-context  ignores client_no_context_takeover
       deflate-big-window    ignores client_max_window_bits (compresses with 15)
       deflate-late-limit    buffers a compressed message until its last frame, then
                             inflates it (with the limit)
       deflate-accept-any    accepts whatever Sec-WebSocket-Extensions answer comes"""

    LIMIT = 16 << 20

    def __init__(self, port, path, mode):
        self.mode = mode
        self.deflate = mode.startswith("deflate")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=4)
        key = base64.b64encode(os.urandom(16)).decode()
        offer = ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                 if self.deflate else "")
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n%s"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, port, key, offer)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("no handshake reply")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError("handshake refused: %r" % head[:60])
        self.buf = bytearray(rest)
        self.pmd = None
        self.enc = self.dec = None
        answers = [line.split(":", 1)[1].strip() for line in head.decode("latin-1").split("\r\n")
                   if line.lower().startswith("sec-websocket-extensions:")]
        if answers:
            self.pmd = self.negotiate(",".join(answers))
            if self.pmd is None:
                self.sock.close()
                raise RuntimeError("refused the extension answer %r" % answers)

    def negotiate(self, answer):
        """-> negotiated parameters, or None when the answer must be refused."""
        exts = [e.strip() for e in answer.split(",") if e.strip()]
        if self.mode == "deflate-accept-any":
            return {"cnct": False, "cmwb": 15, "snct": False, "smwb": 15}
        if not self.deflate or len(exts) != 1:
            return None
        parts = [x.strip() for x in exts[0].split(";")]
        if parts[0] != "permessage-deflate":
            return None
        got = {"cnct": False, "cmwb": 15, "snct": False, "smwb": 15}
        seen = set()
        for prm in parts[1:]:
            name, _, val = prm.partition("=")
            if name in seen:
                return None
            seen.add(name)
            if name in ("client_no_context_takeover", "server_no_context_takeover"):
                if val:
                    return None
                got["cnct" if name[0] == "c" else "snct"] = True
            elif name in ("client_max_window_bits", "server_max_window_bits"):
                if val not in [str(n) for n in range(8, 16)]:
                    return None
                got["cmwb" if name[0] == "c" else "smwb"] = int(val)
            else:
                return None
        return got

    def send_frame(self, op, payload=b"", fin=True, rsv=0):
        mask = os.urandom(4)
        n = len(payload)
        if self.mode == "deflate-rsv1-control" and op >= 8:
            rsv = 4
        b0 = (0x80 if fin else 0) | (rsv << 4) | op
        if n <= 125:
            hdr = bytes([b0, 0x80 | n])
        elif n <= 0xFFFF:
            hdr = bytes([b0, 0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr = bytes([b0, 0x80 | 127]) + struct.pack("!Q", n)
        k = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")
        try:
            self.sock.sendall(hdr + mask + masked)
        except OSError:
            pass

    def need(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return False
            if not chunk:
                return False
            self.buf += chunk
        return True

    def next_frame(self):
        if not self.need(2):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        ln, hl = b1 & 127, 2
        if ln == 126:
            if not self.need(4):
                return None
            ln, hl = struct.unpack_from("!H", self.buf, 2)[0], 4
        elif ln == 127:
            if not self.need(10):
                return None
            ln, hl = struct.unpack_from("!Q", self.buf, 2)[0], 10
        if not self.need(hl + ln):
            return None
        payload = bytes(self.buf[hl:hl + ln])
        del self.buf[:hl + ln]
        return b0 >> 7, (b0 >> 4) & 7, b0 & 15, payload

    def fail(self, code):
        self.send_frame(8, struct.pack("!H", code))
        if self.mode == "echo-after-fail":
            self.send_frame(1, b"sent after my own close")
        self.finish(half_close=True)

    def finish(self, half_close=False):
        try:
            if half_close:
                self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(2)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        self.sock.close()

    def inflate(self, data, fin, total):
        """One frame's compressed bytes -> inflated bytes, or None past the limit."""
        p = self.pmd
        if self.dec is None:
            self.dec = zlib.decompressobj(-p["smwb"])
        if fin:
            data += b"\x00\x00\xff\xff"
        out = self.dec.decompress(data, self.LIMIT - total + 1)
        if total + len(out) > self.LIMIT:
            return None
        if fin and (p["snct"] or self.dec.eof):
            self.dec = None
        return out

    def echo(self, op, whole):
        p = self.pmd
        if p is None or self.mode == "deflate-nodecompress":
            self.send_frame(op, whole)
            return
        if self.mode == "deflate-big-window":
            wbits = 15
        else:
            wbits = p["cmwb"]
        if self.enc is None or (p["cnct"] and self.mode != "deflate-keep-context"):
            self.enc = zlib.compressobj(6, zlib.DEFLATED, -wbits)
        data = self.enc.compress(whole) + self.enc.flush(zlib.Z_SYNC_FLUSH)
        self.send_frame(op, data[:-4], rsv=4)

    def run(self):
        strict = self.mode != "lenient"
        msg_op, parts = None, []
        compressed, total = False, 0
        dec = codecs.getincrementaldecoder("utf-8")()
        while True:
            f = self.next_frame()
            if f is None:
                self.sock.close()
                return
            fin, rsv, op, payload = f
            if strict and self.pmd is not None and rsv == 4 and op in (1, 2) and msg_op is None:
                rsv = 0   # the first frame of a compressed message
                compressed, total = self.mode != "deflate-nodecompress", 0
            elif strict and op in (1, 2) and msg_op is None:
                compressed = False
            if strict:
                bad = (rsv or op in (3, 4, 5, 6, 7) or op > 10 or
                       (op >= 8 and (not fin or len(payload) > 125)) or
                       (op == 0 and msg_op is None) or (op in (1, 2) and msg_op is not None))
                if bad:
                    return self.fail(1002)
            if op == 9:
                self.send_frame(10, payload)
                continue
            if op == 10:
                continue
            if op == 8:
                code = None
                if len(payload) >= 2:
                    code = struct.unpack("!H", payload[:2])[0]
                if strict:
                    if len(payload) == 1 or (code is not None and not (
                            1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999)):
                        return self.fail(1002)
                    try:
                        payload[2:].decode("utf-8")
                    except UnicodeDecodeError:
                        return self.fail(1007)
                if self.mode == "drop-on-close":
                    self.sock.close()
                    return
                if self.mode == "wrong-code":
                    code = 1001
                self.send_frame(8, struct.pack("!H", code) if code is not None else b"")
                return self.finish()
            if op in (1, 2):
                msg_op, parts = op, []
                dec.reset()
            if compressed and self.mode == "deflate-late-limit":
                if not fin:
                    parts.append(payload)
                    continue
                payload = b"".join(parts) + payload
                parts = []
            if compressed:
                try:
                    payload = self.inflate(payload, fin, total)
                except zlib.error:
                    return self.fail(1007)
                if payload is None:
                    return self.fail(1009)
                total += len(payload)
            parts.append(payload)
            if msg_op == 1 and strict and self.mode not in ("late-utf8", "deflate-nodecompress"):
                try:
                    dec.decode(payload, fin)
                except UnicodeDecodeError:
                    return self.fail(1007)
            if fin:
                whole = b"".join(parts)
                if msg_op == 1 and self.mode == "late-utf8":
                    try:
                        whole.decode("utf-8")
                    except UnicodeDecodeError:
                        return self.fail(1007)
                if self.mode != "noecho":
                    self.echo(msg_op or 1, whole)
                msg_op = None


# (mode, case id, verdict the suite's rules give[, words the reason must contain])
CHECKS = [
    ("strict", "1.1.1", "OK"), ("strict", "1.2.8", "OK"), ("strict", "2.10", "OK"),
    ("strict", "3.2", "OK"), ("strict", "4.2.5", "OK"), ("strict", "5.19", "OK"),
    ("strict", "6.4.1", "OK"), ("strict", "6.4.3", "NON-STRICT"), ("strict", "6.6.1", "OK"),
    ("strict", "7.1.6", "INFORMATIONAL"), ("strict", "7.3.2", "OK"), ("strict", "7.9.3", "OK"),
    ("strict", "9.3.1", "OK"), ("strict", "10.1.1", "OK"),
    ("late-utf8", "6.4.1", "NON-STRICT"), ("late-utf8", "6.4.2", "NON-STRICT"),
    ("late-utf8", "6.3.1", "OK"),
    ("lenient", "2.5", "FAILED"), ("lenient", "3.1", "FAILED"), ("lenient", "4.1.3", "FAILED"),
    ("lenient", "6.3.1", "FAILED"), ("lenient", "7.9.1", "FAILED"),
    ("noecho", "1.1.1", "FAILED"), ("noecho", "2.1", "OK"),
    ("wrong-code", "1.1.1", "NON-STRICT"), ("wrong-code", "7.3.3", "FAILED"),
    ("drop-on-close", "1.1.1", "FAILED"), ("drop-on-close", "7.3.2", "OK"),
    ("echo-after-fail", "3.1", "FAILED"), ("echo-after-fail", "5.9", "FAILED"),
    # permessage-deflate
    ("strict", "12.1.1", "UNIMPLEMENTED"), ("strict", "16.1.1", "UNIMPLEMENTED"),
    ("strict", "16.3.1", "OK"), ("strict", "16.4.1", "OK"), ("strict", "16.5.1", "OK"),
    ("lenient", "16.3.1", "FAILED"),
    ("deflate", "12.1.1", "OK"), ("deflate", "12.2.3", "OK"), ("deflate", "12.5.11", "OK"),
    ("deflate", "13.2.3", "OK"), ("deflate", "13.3.4", "OK"), ("deflate", "13.5.12", "OK"),
    ("deflate", "16.1.1", "OK"), ("deflate", "16.1.4", "OK"), ("deflate", "16.1.7", "OK"),
    ("deflate", "16.1.9", "OK"), ("deflate", "16.1.10", "OK"), ("deflate", "16.1.13", "OK"),
    ("deflate", "16.2.1", "OK", "stopped at its limit"),
    ("deflate", "16.2.2", "NON-STRICT", "waited for the whole frame"),
    ("deflate", "16.4.2", "OK"), ("deflate", "16.4.6", "OK"), ("deflate", "16.5.1", "UNIMPLEMENTED"),
    ("deflate-nodecompress", "12.1.1", "FAILED", "not UTF-8"),
    ("deflate-nodecompress", "12.2.1", "FAILED", "differs"),
    ("deflate-rsv1-control", "12.1.1", "FAILED", "RSV1 set on a control frame"),
    ("deflate-rsv1-control", "16.1.10", "FAILED", "RSV1 set on a control frame"),
    ("deflate-keep-context", "13.2.3", "FAILED", "does not inflate"),
    ("deflate-keep-context", "13.1.3", "OK"),
    ("deflate-big-window", "13.3.4", "FAILED", "does not inflate with client_max_window_bits=9"),
    ("deflate-big-window", "13.4.4", "OK"),
    ("deflate-late-limit", "16.2.1", "NON-STRICT", "waited for the whole message"),
    ("deflate-accept-any", "16.4.1", "FAILED", "accepted the answer"),
    ("deflate-accept-any", "16.4.3", "FAILED", "accepted the answer"),
]


def main():
    tmp = tempfile.mkdtemp(prefix="wsproxy-conf-selftest.")
    port_file = os.path.join(tmp, "port")
    report = os.path.join(tmp, "report.json")
    ids = sorted({c[1] for c in CHECKS}, key=lambda x: tuple(int(v) for v in x.split(".")))
    log = open(os.path.join(tmp, "server.log"), "w")
    srv = subprocess.Popen([sys.executable, os.path.join(HERE, "fuzzingserver.py"), "--port", "0",
                            "--port-file", port_file, "--report", report, "--max-seconds", "300",
                            "--deflate-budget", "65536", "--cases", ",".join(ids)],
                           stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    passed = failed = 0
    try:
        port = None
        for _ in range(300):
            try:
                with open(port_file) as f:
                    port = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if port is None:
            print("FAIL - the server did not start")
            print("0 passed, 1 failed")
            return 1
        for mode, cid, *_want in CHECKS:
            try:
                Client(port, "/runCase?case=%d&agent=%s" % (ids.index(cid) + 1, mode), mode).run()
            except (OSError, RuntimeError) as e:
                print("note - %s %s: client error %s" % (mode, cid, e))
            time.sleep(0.05)
        Client(port, "/updateReports?agent=x", "strict").run()
        with open(report) as f:
            doc = json.load(f)
        for check in CHECKS:
            mode, cid, want = check[:3]
            cases = {e["id"]: e for e in doc["agents"].get(mode, {}).get("cases", [])}
            e = cases.get(cid, {})
            got = e.get("result", "missing")
            why = "; ".join([e.get("result_text") or ""] + e.get("client", {}).get("violations", []))
            if got == want and (len(check) < 4 or check[3] in why):
                passed += 1
                print("ok - %s client, case %s judged %s%s" % (
                    mode, cid, got, " (%s)" % check[3] if len(check) > 3 else ""))
            else:
                failed += 1
                print("FAIL - %s client, case %s judged %s, expected %s%s (%s / %s)" % (
                    mode, cid, got, want, " for '%s'" % check[3] if len(check) > 3 else "",
                    why, e.get("result_close_text")))
    finally:
        if srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(timeout=10)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
