#!/usr/bin/env python3
"""fuzzingserver.py - a WebSocket conformance server for clients (Python 3, standard library).

It speaks the protocol of Autobahn|Testsuite's fuzzingserver as a client drives it:

    /getCaseCount                  one text message with the number of cases, then a close
    /runCase?case=N&agent=A        runs case N (1-based, in the suite's order) for agent A
    /updateReports?agent=A[&shutdownOnComplete=true]
                                   writes the JSON report, then a close; with
                                   shutdownOnComplete the server exits once that
                                   connection has ended (the suite's semantics)

and re-implements the client cases of sections 1 to 7, 9, 10, 12 and 13 of that suite
(framing, pings, reserved bits, opcodes, fragmentation, UTF-8, close handling, limits,
auto-fragmentation, permessage-deflate with several payloads and with several parameter
sets), numbered and ordered as the suite does (1.1.1 ... 13.7.18), plus the project's own
section 16 (permessage-deflate: frame rules, a decompression bomb, RSV1 without
negotiation, 101 answers a client must refuse). Section 9 runs at the suite's sizes and
counts (up to 16 MiB messages, 65536-frame messages, 12000 round trips): they take
seconds, so nothing is reduced. Sections 12 and 13 send 1000 messages per case, as the
suite does, unless --deflate-budget reduces the count (REDUCTIONS, also in the report,
says so). Frames are written by hand, so anything malformed can be sent;
permessage-deflate (RFC 7692) uses Python's zlib (pmd.py).

Each case is judged by the suite's rules: the messages and pongs the client sends back must
match an expected sequence (OK, or NON-STRICT for an alternative the RFC allows), the close
must come from the expected side (the client for a protocol violation or invalid UTF-8,
the server otherwise), cleanly where required, with one of the expected close codes, in
time. On top of that, any protocol violation by the client (unmasked frame, invalid
UTF-8 in its text, invalid close code, a frame after its own Close, RSV1 where it is not
allowed, compressed data that does not inflate under the negotiated parameters) fails the
case. A case that needs permessage-deflate when the client offered none (or nothing the
case can accept) is UNIMPLEMENTED, as in the suite.

    fuzzingserver.py [--port N] [--port-file F] [--report FILE] [--max-seconds S]
                     [--cases PATTERNS] [--exclude PATTERNS] [--list] [--quiet]
                     [--tls-cert CHAIN --tls-key KEY] [--deflate-budget BYTES]

With --tls-cert/--tls-key the listener speaks TLS (wss://). Listens on 127.0.0.1 only and
exits by itself after --max-seconds (default 1200), after an /updateReports with
shutdownOnComplete=true, or on SIGTERM/SIGINT, writing the report first.
"""

import argparse
import base64
import collections
import hashlib
import heapq
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import zlib

import pmd

OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
FAILED = "FAILED"
UNIMPLEMENTED = "UNIMPLEMENTED"
WRONG_CODE = "WRONG CODE"
UNCLEAN = "UNCLEAN"

RANK = {OK: 0, INFORMATIONAL: 1, NON_STRICT: 2, UNIMPLEMENTED: 3, FAILED: 4}

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SERVER_NAME = "wsproxy-conformance/1"

CLOSE_HANDSHAKE_TIMEOUT = 1.0   # the suite's default: wait this long for a close reply
LINGER = 1.0                    # after dropping, read on this long to catch stray frames
CHOP_GAP = 0.001                # pause between chops (and after "sync" frames) ...
CHOP_GAP_MAX_PIECES = 512       # ... when a frame is cut into at most this many pieces
HANDSHAKE_TIMEOUT = 10.0
CASE_HARD_LIMIT = 600.0         # a case never runs longer than this

NORMAL, GOING_AWAY, PROTOCOL_ERROR, INVALID_PAYLOAD = 1000, 1001, 1002, 1007

SECTIONS = {
    "1": "Framing", "2": "Pings/Pongs", "3": "Reserved Bits", "4": "Opcodes",
    "5": "Fragmentation", "6": "UTF-8 Handling", "7": "Close Handling",
    "9": "Limits/Performance", "10": "Auto-Fragmentation",
    "12": "WebSocket Compression (different payloads)",
    "13": "WebSocket Compression (different parameters)",
    "16": "permessage-deflate: frames, bomb, negotiation (project cases)",
}
SUBSECTIONS = {}   # "12.1" ... : what the subsection varies (filled by the builders)

MB = 1 << 20
KB = 1 << 10
# Sizes or counts changed from the suite's, as notes for the report. Section 9 runs at the
# suite's sizes; sections 12 and 13 send fewer messages per case only with --deflate-budget.
REDUCTIONS = []
DEFLATE_BUDGET = None       # --deflate-budget: bytes of payload per case in sections 12, 13
CLIENT_INFLATE_LIMIT = 64 * (1 << 20)   # a client message may inflate to at most this


# ----------------------------------------------------------------------------- helpers
def now():
    return time.monotonic()


def repeat_to(pattern, length):
    """pattern repeated and cut to exactly length bytes"""
    if length == 0:
        return b""
    n = length // len(pattern) + 1
    return (pattern * n)[:length]


def unmask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame_header(opcode, length, fin=True, rsv=0):
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 15)
    if length <= 125:
        return bytes([b0, length])
    if length <= 0xFFFF:
        return bytes([b0, 126]) + struct.pack("!H", length)
    return bytes([b0, 127]) + struct.pack("!Q", length)


def is_utf8(b):
    try:
        bytes(b).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def valid_close_code(code):
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def preview(b, limit=48):
    b = bytes(b)
    if is_utf8(b) and all(ch >= 0x20 or ch in (9, 10, 13) for ch in b[:limit]):
        s = b[:limit].decode("utf-8", "replace")
        return s + ("..." if len(b) > limit else "")
    return "0x" + b[:limit].hex() + ("..." if len(b) > limit else "")


def describe_item(item):
    """An entry of a received/expected list, for the report."""
    if item[0] == "message":
        return {"kind": "message", "binary": item[2], "length": len(item[1]),
                "payload": preview(item[1])}
    if item[0] in ("ping", "pong"):
        return {"kind": item[0], "length": len(item[1]), "payload": preview(item[1])}
    return {"kind": item[0], "tag": item[1]}


def case_id_tuple(cid):
    return tuple(int(x) for x in cid.split("."))


# ----------------------------------------------------------------------------- cases
class Case:
    """One test case, in the shape of the suite's cases: on_open sends, the received list
    collects what the client sends back, on_connection_lost judges."""

    ID = ""
    DESCRIPTION = ""
    EXPECTATION = ""
    NOTE = ""

    def __init__(self, p):
        self.p = p
        self.received = []
        self.expected = {}
        self.expected_close = {}
        self.behavior = FAILED
        self.behavior_close = FAILED
        self.result = "The client's messages and pongs match none of the expected sequences."
        self.result_close = "The TCP connection ended without a closing handshake."
        self.report_time = False
        self.suppress_close = False
        self.extra = collections.OrderedDict()   # case-specific facts for the report
        self.init()

    def init(self):
        pass

    def negotiate(self, offers):
        """The answer to the client's permessage-deflate offers: None (decline: the suite's
        default for every case outside sections 12 and 13), or (header value, Deflate or
        None)."""
        return None

    def on_open(self):
        pass

    def on_client_close(self):
        """The client's Close frame arrived."""
        pass

    def not_negotiated(self, why="the client offered no permessage-deflate this case can "
                                  "accept"):
        """As the suite's compression cases: without the extension the case cannot run;
        the server closes at once and the case is UNIMPLEMENTED."""
        self.behavior = UNIMPLEMENTED
        self.result = "permessage-deflate was not negotiated: %s." % why
        self.close_by_server()
        self.p.send_close(NORMAL)

    def on_message(self, payload, binary):
        self.received.append(("message", bytes(payload), binary))
        self.finish_when_done()

    def on_ping(self, payload):
        self.received.append(("ping", bytes(payload)))
        self.finish_when_done()

    def on_pong(self, payload):
        self.received.append(("pong", bytes(payload)))
        self.finish_when_done()

    def finish_when_done(self):
        # as the suite: start the close only when the events match every expectation
        for exp in self.expected.values():
            if self.received != exp:
                return
        if self.expected_close.get("closedByMe") and not self.suppress_close:
            self.p.send_close(self.expected_close["closeCode"][0])

    def on_connection_lost(self):
        for name in (OK, NON_STRICT, INFORMATIONAL):
            if name in self.expected and self.received == self.expected[name]:
                self.behavior = name
                self.result = "The client's messages and pongs match an expected sequence."
                break
        ec, p = self.expected_close, self.p
        if ec["closedByMe"] != p.closed_by_me:
            self.behavior_close = FAILED
            self.result_close = ("The close was started by the wrong side (expected the %s)."
                                 % ("server" if ec["closedByMe"] else "client"))
        elif ec["requireClean"] and not p.was_clean:
            self.behavior_close = UNCLEAN
            self.result_close = "A clean closing handshake is required here and did not happen."
        elif p.remote_close_code is not None and p.remote_close_code not in ec["closeCode"]:
            self.behavior_close = WRONG_CODE
            self.result_close = ("The client's close code was %d; expected %s or none."
                                 % (p.remote_close_code, ", ".join(map(str, ec["closeCode"]))))
        else:
            self.behavior_close = OK
            self.result_close = "The connection was closed as expected."
        if ec.get("closedByWrongEndpointIsFatal") and ec["closedByMe"] != p.closed_by_me:
            self.behavior = FAILED

    # helpers for the case scripts
    def expect(self, ok, non_strict=None):
        self.expected[OK] = ok
        if non_strict is not None:
            self.expected[NON_STRICT] = non_strict

    def close_by_server(self, codes=(NORMAL,), clean=True):
        self.expected_close = {"closedByMe": True, "closeCode": list(codes), "requireClean": clean}

    def close_by_client(self, codes=(PROTOCOL_ERROR,), clean=False, fatal=False):
        self.expected_close = {"closedByMe": False, "closeCode": list(codes), "requireClean": clean}
        if fatal:
            self.expected_close["closedByWrongEndpointIsFatal"] = True


class WrongCodeFails(Case):
    """Section 7 cases: a wrong close code in the reply fails the case itself."""

    def on_connection_lost(self):
        Case.on_connection_lost(self)
        if self.behavior_close == WRONG_CODE:
            self.behavior = FAILED
            self.result = self.result_close


CASES = []   # list of case classes, in the suite's order


def register(cid, description, expectation, base=Case, note=""):
    """Decorator: turns an on_open script into a registered case class."""
    def deco(script):
        cls = type("Case_" + cid.replace(".", "_"), (base,),
                   {"ID": cid, "DESCRIPTION": description, "EXPECTATION": expectation,
                    "NOTE": note, "on_open": lambda self: script(self, self.p)})
        CASES.append(cls)
        return cls
    return deco


def msg(payload, binary=False):
    return ("message", payload, binary)


def pong(payload=b""):
    return ("pong", payload)


TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10
HELLO = b"Hello, world!"


# ---- 1 Framing -----------------------------------------------------------------------
def build_section1():
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for sub, (opcode, kind, pattern, binary) in enumerate(
            [(TEXT, "text", b"*", False), (BINARY, "binary", b"\xfe", True)], start=1):
        n = 0
        for size in sizes + [65536]:
            n += 1
            chop = 997 if n == 8 else None
            desc = "Send one %s message of %d bytes%s." % (
                kind, size, " written to the socket in pieces of 997 bytes" if chop else "")
            exp = "The client echoes the %s message unchanged; the server closes with 1000." % kind

            def script(c, p, size=size, chop=chop, opcode=opcode, pattern=pattern, binary=binary):
                payload = repeat_to(pattern, size)
                c.expect([msg(payload, binary)])
                c.close_by_server()
                p.send_frame(opcode, payload, chopsize=chop)
                p.kill_after(1 if size < 65535 else 10)
            register("1.%d.%d" % (sub, n), desc, exp)(script)


# ---- 2 Pings/Pongs -------------------------------------------------------------------
def build_section2():
    def ping_case(n, payload, desc, chop=None, wait=1):
        @register("2.%d" % n, desc, "The client answers with a pong carrying the same payload; "
                  "the server closes with 1000.")
        def _(c, p):
            c.expect([pong(payload)])
            c.close_by_server()
            p.send_frame(PING, payload, chopsize=chop)
            p.close_after(wait)

    ping_case(1, b"", "Send a ping with an empty payload.")
    ping_case(2, HELLO, "Send a ping with a short text payload.")
    ping_case(3, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff", "Send a ping with a short binary payload "
              "(not UTF-8).")
    ping_case(4, b"\xfe" * 125, "Send a ping with a 125-byte binary payload (the largest "
              "allowed).")

    @register("2.5", "Send a ping with a 126-byte payload: control frames may carry at most 125.",
              "The client fails the connection at once (1002 or TCP drop), no pong.")
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(PING, b"\xfe" * 126)
        p.kill_after(1)

    ping_case(6, b"\xfe" * 125, "Send a ping with a 125-byte payload, written one byte at a "
              "time.", chop=1, wait=2)

    @register("2.7", "Send an unsolicited pong without payload, then a close.",
              "Nothing comes back for the pong; clean close with 1000.")
    def _(c, p):
        c.expect([])
        c.close_by_server()
        p.send_frame(PONG)
        p.send_close(NORMAL)
        p.close_after(1)

    @register("2.8", "Send an unsolicited pong with a payload, then a close.",
              "Nothing comes back for the pong; clean close with 1000.")
    def _(c, p):
        c.expect([])
        c.close_by_server()
        p.send_frame(PONG, b"unsolicited pong payload")
        p.send_close(NORMAL)
        p.close_after(1)

    @register("2.9", "Send an unsolicited pong with a payload, then a ping with a payload.",
              "Only the ping is answered, with its payload; the server closes with 1000.")
    def _(c, p):
        c.expect([pong(b"ping payload")])
        c.close_by_server()
        p.send_frame(PONG, b"unsolicited pong payload")
        p.send_frame(PING, b"ping payload")
        p.close_after(1)

    for n, chop in ((10, None), (11, 1)):
        @register("2.%d" % n, "Send 10 pings with payloads payload-0 ... payload-9%s." % (
            ", written one byte at a time" if chop else ""),
            "A pong for each ping, in order (the RFC allows answering only the latest; the "
            "suite checks for all); the server closes with 1000.")
        def _(c, p, chop=chop):
            c.expect([])
            for i in range(10):
                payload = b"payload-%d" % i
                c.expected[OK].append(pong(payload))
                p.send_frame(PING, payload, chopsize=chop)
            c.close_by_server()
            p.close_after(3)


# ---- 3 Reserved bits -----------------------------------------------------------------
def build_section3():
    @register("3.1", "Send a short text message with RSV1 set (no extension was agreed).",
              "The client fails the connection at once (1002 or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(TEXT, HELLO, rsv=1)
        p.kill_after(1)

    for n, rsv, how in ((2, 2, {}), (3, 3, {"sync": True}), (4, 4, {"chopsize": 1})):
        what = {2: "", 3: "; each frame written separately",
                4: "; everything written one byte at a time"}[n]
        @register("3.%d" % n, "Send a short text message, the same message with RSV=%d, then "
                  "a ping%s." % (rsv, what),
                  "The first message is echoed, then the client fails the connection (1002 or "
                  "TCP drop) without answering the ping. Failing before the echo is NON-STRICT.")
        def _(c, p, rsv=rsv, how=how):
            c.expect([msg(HELLO)], [])
            c.close_by_client()
            p.send_frame(TEXT, HELLO, **how)
            p.send_frame(TEXT, HELLO, rsv=rsv, **how)
            p.send_frame(PING, **how)
            p.kill_after(1)

    @register("3.5", "Send a short binary message with RSV=5.",
              "The client fails the connection at once (1002 or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(BINARY, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff", rsv=5)
        p.kill_after(1)

    @register("3.6", "Send a frame with RSV=6 (the suite sends it as a binary frame carrying "
              "'Hello, world!').", "The client fails the connection at once (1002 or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(BINARY, HELLO, rsv=6)
        p.kill_after(1)

    @register("3.7", "Send a close frame with RSV=7.",
              "The client fails the connection at once (1002 or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(CLOSE, rsv=7)
        p.kill_after(1)


# ---- 4 Opcodes ---------------------------------------------------------------------------
def build_section4():
    for sub, ops, kind in ((1, (3, 4, 5, 6, 7), "non-control"), (2, (11, 12, 13, 14, 15), "control")):
        for n, op in enumerate(ops, start=1):
            with_payload = n in (2, 4, 5)
            if n <= 2:
                desc = "Send a frame with the reserved %s opcode %d%s." % (
                    kind, op, " and a payload" if with_payload else "")

                @register("4.%d.%d" % (sub, n), desc,
                          "The client fails the connection at once (1002 or TCP drop).")
                def _(c, p, op=op, with_payload=with_payload):
                    c.expect([])
                    c.close_by_client()
                    p.send_frame(op, b"reserved opcode payload" if with_payload else b"")
                    p.kill_after(1)
            else:
                chop = 1 if n == 5 else None
                desc = ("Send a short text message, a frame with the reserved %s opcode %d%s, "
                        "then a ping%s." % (kind, op, " and a payload" if with_payload else "",
                                            "; everything written one byte at a time" if chop else ""))

                @register("4.%d.%d" % (sub, n), desc,
                          "The message is echoed, then the client fails the connection (1002 or "
                          "TCP drop) without answering the ping. Failing before the echo is "
                          "NON-STRICT.")
                def _(c, p, op=op, with_payload=with_payload, chop=chop):
                    c.expect([msg(HELLO)], [])
                    c.close_by_client()
                    p.send_frame(TEXT, HELLO, chopsize=chop)
                    p.send_frame(op, HELLO if with_payload else b"", chopsize=chop)
                    p.send_frame(PING, chopsize=chop)
                    p.kill_after(1)


# ---- 5 Fragmentation ---------------------------------------------------------------------
def build_section5():
    for n, op, name in ((1, PING, "ping"), (2, PONG, "pong")):
        @register("5.%d" % n, "Send a %s split into two fragments (control frames must not be "
                  "fragmented)." % name, "The client fails the connection at once (1002 or TCP drop).")
        def _(c, p, op=op):
            c.expect([])
            c.close_by_client()
            p.send_frame(op, b"fragment1", fin=False)
            p.send_frame(CONT, b"fragment2", fin=True)
            p.kill_after(1)

    how_names = [("", {}), (", each frame written separately", {"sync": True}),
                 (", written one byte at a time", {"chopsize": 1})]
    for i, (what, how) in enumerate(how_names):
        @register("5.%d" % (3 + i), "Send a text message in two fragments%s." % what,
                  "The client echoes the whole message; the server closes with 1000.")
        def _(c, p, how=how):
            c.expect([msg(b"fragment1fragment2")])
            c.close_by_server()
            p.send_frame(TEXT, b"fragment1", fin=False, **how)
            p.send_frame(CONT, b"fragment2", fin=True, **how)
            p.close_after(1)

    for i, (what, how) in enumerate(how_names):
        @register("5.%d" % (6 + i), "Send a text message in two fragments with a ping (with "
                  "payload) between them%s." % what,
                  "The pong comes first, then the echo of the whole message; the server closes "
                  "with 1000.")
        def _(c, p, how=how):
            c.expect([pong(b"ping payload"), msg(b"fragment1fragment2")])
            c.close_by_server()
            p.send_frame(TEXT, b"fragment1", fin=False, **how)
            p.send_frame(PING, b"ping payload", **how)
            p.send_frame(CONT, b"fragment2", fin=True, **how)
            p.close_after(1)

    for base, fin in ((9, True), (12, False)):
        for i, (what, how) in enumerate(how_names):
            what2 = what or ", all in one write"
            @register("5.%d" % (base + i), "Send a continuation frame with FIN=%d while no "
                      "message is open, then a text message%s." % (1 if fin else 0, what2),
                      "The client fails the connection at once (1002 or TCP drop): there is "
                      "nothing to continue.")
            def _(c, p, fin=fin, how=how):
                c.expect([])
                c.close_by_client()
                p.send_frame(CONT, b"non-continuation payload", fin=fin, **how)
                p.send_frame(TEXT, HELLO, fin=True, **how)
                p.kill_after(1)

    @register("5.15", "Send a text message in two fragments, then a continuation frame (FIN=0) "
              "with nothing to continue, then a text message, all in one write.",
              "The first message is echoed, then the client fails the connection (1002 or TCP "
              "drop). Failing before the echo is NON-STRICT.")
    def _(c, p):
        c.expect([msg(b"fragment1fragment2")], [])
        c.close_by_client()
        p.send_frame(TEXT, b"fragment1", fin=False)
        p.send_frame(CONT, b"fragment2", fin=True)
        p.send_frame(CONT, b"fragment3", fin=False)
        p.send_frame(TEXT, b"fragment4", fin=True)
        p.kill_after(1)

    for n, fin in ((16, False), (17, True)):
        @register("5.%d" % n, "Twice: a continuation frame (FIN=%d) with nothing to continue, "
                  "then a text message in two fragments." % (1 if fin else 0),
                  "The client fails the connection at once (1002 or TCP drop).")
        def _(c, p, fin=fin):
            c.expect([])
            c.close_by_client()
            for _i in range(2):
                p.send_frame(CONT, b"fragment1", fin=fin)
                p.send_frame(TEXT, b"fragment2", fin=False)
                p.send_frame(CONT, b"fragment3", fin=True)
            p.kill_after(1)

    @register("5.18", "Send a text message in two fragments where both frames carry the text "
              "opcode.", "The client fails the connection at once (1002 or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(TEXT, b"fragment1", fin=False)
        p.send_frame(TEXT, b"fragment2", fin=True)
        p.kill_after(1)

    for n, sync in ((19, False), (20, True)):
        @register("5.%d" % n, "A text message in five fragments: two fragments and a ping, a "
                  "pause of one second, two more fragments, a second ping and the last "
                  "fragment%s." % ("; each frame written separately" if sync else ""),
                  "Each ping is answered as it arrives (before the message ends), then the "
                  "whole message is echoed; the server closes with 1000.")
        def _(c, p, sync=sync):
            frags = [b"fragment%d" % i for i in range(1, 6)]
            pings = [b"pongme 1!", b"pongme 2!"]
            c.expect([pong(pings[0]), pong(pings[1]), msg(b"".join(frags))])
            c.close_by_server()
            p.send_frame(TEXT, frags[0], fin=False, sync=sync)
            p.send_frame(CONT, frags[1], fin=False, sync=sync)
            p.send_frame(PING, pings[0], sync=sync)

            def part2():
                p.send_frame(CONT, frags[2], fin=False, sync=sync)
                p.send_frame(CONT, frags[3], fin=False, sync=sync)
                p.send_frame(PING, pings[1], sync=sync)
                p.send_frame(CONT, frags[4], fin=True, sync=sync)
                p.close_after(1)
            p.continue_later(1, part2)


# ---- 6 UTF-8 -------------------------------------------------------------------------------
KOSME = bytes.fromhex("cebae1bdb9cf83cebcceb5")   # a Greek word: 2-, 3- and 2-byte sequences
HELLO_UTF8 = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")


def utf8_groups():
    """The UTF-8 decoder test sequences of cases 6.5 ... 6.23 (after Markus Kuhn's
    UTF-8-test.txt), grouped and ordered as the suite numbers them."""
    missing_last = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80",
                    b"\xfc\x80\x80\x80\x80", b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf",
                    b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    nonchars = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for z1 in (0xf0, 0xf1, 0xf2, 0xf3, 0xf4):
        for z2 in (0x8f, 0x9f, 0xaf, 0xbf):
            if z1 == 0xf4 and z2 != 0x8f:
                continue   # above U+10FFFF
            for z3 in (0xbe, 0xbf):
                seq = bytes([z1, z2, 0xbf, z3])
                if seq not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):   # overlong
                    nonchars.append(seq)
    high = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf"]
    low = [b"\xed\xb0\x80", b"\xed\xbf\xbf"]
    return [
        ("Some valid UTF-8 sequences",
         [b"hello$world", b"hello\xc2\xa2world", b"hello\xe2\x82\xacworld",
          b"hello\xf0\xa4\xad\xa2world", KOSME]),
        ("All prefixes of a valid UTF-8 string that contains multi-byte code points",
         [KOSME[:i] for i in range(1, len(KOSME) + 1)]),
        ("First possible sequence of a certain length",
         [b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]),
        ("First possible sequence length 5/6 (invalid codepoints)",
         [b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]),
        ("Last possible sequence of a certain length",
         [b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]),
        ("Last possible sequence length 4/5/6 (invalid codepoints)",
         [b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"]),
        ("Other boundary conditions",
         [b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd", b"\xf4\x8f\xbf\xbf",
          b"\xf4\x90\x80\x80"]),
        ("Unexpected continuation bytes",
         [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80", b"\x80\xbf\x80\xbf",
          b"\x80\xbf\x80\xbf\x80", b"\x80\xbf\x80\xbf\x80\xbf", bytes(range(0x80, 0xbf))]),
        ("Lonely start characters",
         [b"".join(bytes([i, 0x20]) for i in range(lo, hi))
          for lo, hi in ((0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd))]),
        ("Sequences with last continuation byte missing", missing_last),
        ("Concatenation of incomplete sequences", [b"".join(missing_last)]),
        ("Impossible bytes", [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]),
        ("Examples of an overlong ASCII character",
         [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xf8\x80\x80\x80\xaf",
          b"\xfc\x80\x80\x80\x80\xaf"]),
        ("Maximum overlong sequences",
         [b"\xc1\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xf8\x87\xbf\xbf\xbf",
          b"\xfc\x83\xbf\xbf\xbf\xbf"]),
        ("Overlong representation of the NUL character",
         [b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf8\x80\x80\x80\x80",
          b"\xfc\x80\x80\x80\x80\x80"]),
        ("Single UTF-16 surrogates",
         high + [b"\xed\xb0\x80", b"\xed\xbe\x80", b"\xed\xbf\xbf"]),
        ("Paired UTF-16 surrogates", [h + l for h in high for l in low]),
        ("Non-character code points (valid UTF-8)", nonchars),
        ("Unicode specials (i.e. replacement char)",
         [bytes([0xef, 0xbf, b]) for b in range(0xb9, 0xc0)]),
    ]


def build_section6():
    @register("6.1.1", "Send a text message with an empty payload.",
              "The client echoes an empty text message; the server closes with 1000.")
    def _(c, p):
        c.expect([msg(b"")])
        c.close_by_server()
        p.send_frame(TEXT, b"")
        p.close_after(1)

    @register("6.1.2", "Send a text message in three fragments, all empty.",
              "The client echoes an empty text message; the server closes with 1000.")
    def _(c, p):
        c.expect([msg(b"")])
        c.close_by_server()
        p.send_frame(TEXT, b"", fin=False)
        p.send_frame(CONT, b"", fin=False)
        p.send_frame(CONT, b"", fin=True)
        p.close_after(1)

    @register("6.1.3", "Send a text message in three fragments: empty, 'middle frame payload', "
              "empty.", "The client echoes the middle payload as one text message; the server "
              "closes with 1000.")
    def _(c, p):
        c.expect([msg(b"middle frame payload")])
        c.close_by_server()
        p.send_frame(TEXT, b"", fin=False)
        p.send_frame(CONT, b"middle frame payload", fin=False)
        p.send_frame(CONT, b"", fin=True)
        p.close_after(1)

    @register("6.2.1", "Send valid UTF-8 text with multi-byte characters in one frame: "
              + HELLO_UTF8.hex(), "The client echoes it; the server closes with 1000.")
    def _(c, p):
        c.expect([msg(HELLO_UTF8)])
        c.close_by_server()
        p.send_message(HELLO_UTF8)
        p.close_after(1)

    @register("6.2.2", "Send the same valid UTF-8 text in two fragments split between two "
              "code points.", "The client echoes the whole text; the server closes with 1000.")
    def _(c, p):
        cut = len("Hello-\u00b5@\u00df\u00f6\u00e4".encode("utf-8"))
        c.expect([msg(HELLO_UTF8)])
        c.close_by_server()
        p.send_frame(TEXT, HELLO_UTF8[:cut], fin=False)
        p.send_frame(CONT, HELLO_UTF8[cut:], fin=True)
        p.close_after(1)

    for n, payload in ((3, HELLO_UTF8), (4, KOSME)):
        @register("6.2.%d" % n, "Send valid UTF-8 text (%s) as one-byte fragments, so that "
                  "frames end inside code points." % payload.hex(),
                  "The client echoes the whole text; the server closes with 1000.")
        def _(c, p, payload=payload):
            c.expect([msg(payload)])
            c.close_by_server()
            p.send_message(payload, frag_size=1)
            p.close_after(1)

    bad = KOSME + b"\xed\xa0\x80" + b"edited"   # invalid at byte 13 (a surrogate)

    @register("6.3.1", "Send invalid UTF-8 text in one frame: " + bad.hex(),
              "The client fails the connection at once (1007 or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client([INVALID_PAYLOAD])
        p.send_message(bad)
        p.kill_after(1)

    @register("6.3.2", "Send the same invalid UTF-8 text as one-byte fragments.",
              "The client fails the connection at once (1007 or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client([INVALID_PAYLOAD], fatal=True)
        p.send_message(bad, frag_size=1)
        p.kill_after(1)

    part1, part2, part3 = KOSME, b"\xf4\x90\x80\x80", b"edited"   # 0xf4 0x90: above U+10FFFF
    whole = part1 + part2 + part3
    variants = [
        (1, "three frames: a valid first part; after a second, a frame whose first byte "
            "(0x90) makes the text invalid; after another second, the rest",
         "frames", (part1, part2, part3)),
        (2, "three frames: the valid part with the lead byte 0xf4; after a second, the single "
            "byte 0x90 that makes the text invalid; after another second, the rest",
         "frames", (whole[:12], whole[12:13], whole[13:])),
        (3, "one frame written in three pieces a second apart, the second piece (f4908080) "
            "making the text invalid", "chops", (part1, part2, part3)),
        (4, "one frame written in three pieces a second apart, the second piece being the "
            "single invalid byte 0x90", "chops", (whole[:12], whole[12:13], whole[13:])),
    ]
    for n, what, mode, parts in variants:
        @register("6.4.%d" % n, "Fail fast on invalid UTF-8: send %s." % what,
                  "The first part is accepted (the first pause passes), the client fails the "
                  "connection with 1007 as soon as the invalid byte arrives, before the rest. "
                  "Failing only at the end of the message is NON-STRICT.")
        def _(c, p, mode=mode, parts=parts):
            c.expect([("timeout", "A")], [("timeout", "A"), ("timeout", "B")])
            c.close_by_client([INVALID_PAYLOAD], fatal=True)
            if mode == "frames":
                p.send_frame(TEXT, parts[0], fin=False)
            else:
                p.begin_message_frame(TEXT, sum(len(x) for x in parts))
                p.send_raw(parts[0])

            def second():
                if p.state == "OPEN":
                    c.received.append(("timeout", "A"))
                    if mode == "frames":
                        p.send_frame(CONT, parts[1], fin=False)
                    else:
                        p.send_raw(parts[1])
                    p.continue_later(1, third, "B")

            def third():
                if p.state == "OPEN":
                    c.received.append(("timeout", "B"))
                    if mode == "frames":
                        p.send_frame(CONT, parts[2], fin=True)
                    else:
                        p.send_raw(parts[2])
                    p.kill_after(1)
            p.continue_later(1, second, "A")

    for i, (title, seqs) in enumerate(utf8_groups(), start=5):
        for j, payload in enumerate(seqs, start=1):
            valid = is_utf8(payload)
            if valid:
                desc = "Send a text message, valid UTF-8, in one frame: 0x" + payload.hex()
                exp = "The client echoes it; the server closes with 1000."
            else:
                desc = "Send a text message, invalid UTF-8, in one frame: 0x" + payload.hex()
                exp = "The client fails the connection at once (1007 or TCP drop)."

            @register("6.%d.%d" % (i, j), desc + " (" + title + ")", exp)
            def _(c, p, payload=payload, valid=valid):
                if valid:
                    c.expect([msg(payload)])
                    c.close_by_server()
                else:
                    c.expect([])
                    c.close_by_client([INVALID_PAYLOAD], fatal=True)
                p.send_message(payload)
                p.kill_after(0.5)


# ---- 7 Close handling ----------------------------------------------------------------------
def build_section7():
    reg7 = lambda cid, d, e: register(cid, d, e, base=WrongCodeFails)

    @reg7("7.1.1", "Send a text message; the server closes once it comes back.",
          "The message is echoed; clean close with 1000.")
    def _(c, p):
        c.expect([msg(b"Hello World!")])
        c.close_by_server()
        p.send_frame(TEXT, b"Hello World!")
        p.kill_after(1)

    @reg7("7.1.2", "Send two close frames in a row.",
          "Clean close with 1000; the second close frame is ignored.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_close(NORMAL)
        p.send_frame(CLOSE)
        p.kill_after(1)

    @reg7("7.1.3", "Send a close frame, then a ping.",
          "Clean close with 1000; the ping after the close is not answered.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_close(NORMAL)
        p.send_frame(PING)
        p.kill_after(1)

    @reg7("7.1.4", "Send a close frame, then a text message.",
          "Clean close with 1000; the message after the close is ignored.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_close(NORMAL)
        p.send_frame(TEXT, b"Hello World!")
        p.kill_after(1)

    @reg7("7.1.5", "Send the first fragment of a text message, a close frame, then the last "
          "fragment.", "Clean close with 1000; nothing is echoed.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_frame(TEXT, b"fragment1", fin=False)
        p.send_close(NORMAL)
        p.send_frame(CONT, b"fragment2", fin=True)
        p.kill_after(1)

    class Informational(WrongCodeFails):
        def on_connection_lost(self):
            Case.on_connection_lost(self)
            if self.ID == "7.1.6":
                if self.behavior == OK:
                    self.result = "The short message was echoed before the close."
                elif self.behavior == NON_STRICT:
                    self.result = "The close was handled before any message was echoed."
                else:
                    self.result = ("The client echoed %d message(s) before the close."
                                   % sum(1 for r in self.received if r[0] == "message"))
            else:
                self.result = "The RFC leaves the behaviour open."
            self.behavior = INFORMATIONAL
            self.behavior_close = INFORMATIONAL

    @register("7.1.6", "Send a 256 KiB text message, then 'Hello World!', a close frame and a "
              "ping, back to back.", "Informational: what comes back depends on whether the "
              "client echoes messages that arrived before the close.", base=Informational)
    def _(c, p):
        c.suppress_close = True
        c.expect([msg(b"Hello World!")], [])
        c.close_by_server()
        p.send_frame(TEXT, b"BAsd7&jh23", payload_len=256 * KB)
        p.send_frame(TEXT, b"Hello World!")
        p.send_close(NORMAL)
        p.send_frame(PING)
        p.kill_after(1)

    @reg7("7.3.1", "Send a close frame with an empty payload (no code, no reason).",
          "Clean close (the reply carries no code or 1000).")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_close_frame()
        p.kill_after(1)

    @reg7("7.3.2", "Send a close frame with a 1-byte payload (a code needs two).",
          "The client answers with 1002 or drops the TCP connection.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server([PROTOCOL_ERROR], clean=False)
        p.send_close_frame(reason=b"a")
        p.kill_after(1)

    @reg7("7.3.3", "Send a close frame with code 1000 and no reason.", "Clean close with 1000.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_close(NORMAL)
        p.kill_after(1)

    @reg7("7.3.4", "Send a close frame with code 1000 and the reason 'Hello World!'.",
          "Clean close with 1000.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_close(NORMAL, b"Hello World!")
        p.kill_after(1)

    @reg7("7.3.5", "Send a close frame with code 1000 and a reason of 123 bytes (the largest "
          "that fits).", "Clean close with 1000.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server()
        p.send_close(NORMAL, b"*" * 123)
        p.kill_after(1)

    @reg7("7.3.6", "Send a close frame with code 1000 and a 124-byte reason: a 126-byte control "
          "payload.", "The client answers with 1002 or drops the TCP connection.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server([PROTOCOL_ERROR], clean=False)
        p.send_close_frame(NORMAL, b"*" * 124)
        p.kill_after(1)

    @reg7("7.5.1", "Send a close frame with code 1000 and a reason that is not UTF-8: "
          + (KOSME + b"\xed\xa0\x80edited").hex(),
          "The client answers with 1002 or 1007, or drops the TCP connection.")
    def _(c, p):
        c.suppress_close = True
        c.expect([])
        c.close_by_server([PROTOCOL_ERROR, INVALID_PAYLOAD], clean=False)
        p.send_close_frame(NORMAL, KOSME + b"\xed\xa0\x80edited")
        p.kill_after(1)

    for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000,
                              3999, 4000, 4999], start=1):
        @reg7("7.7.%d" % i, "Send a close frame with the valid code %d." % code,
              "Clean close; the reply carries 1000 or the same code.")
        def _(c, p, code=code):
            c.expect([])
            c.close_by_server([NORMAL, code])
            p.send_close_frame(code)
            p.kill_after(1)

    for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], start=1):
        @reg7("7.9.%d" % i, "Send a close frame with the invalid code %d." % code,
              "The client answers with 1002 or drops the TCP connection.")
        def _(c, p, code=code):
            c.expect([])
            c.close_by_server([PROTOCOL_ERROR], clean=False)
            p.send_close_frame(code)
            p.kill_after(1)

    for i, code in enumerate([5000, 65535], start=1):
        @register("7.13.%d" % i, "Send a close frame with the code %d (outside every range the "
                  "RFC defines)." % code, "Informational: the RFC does not say what happens.",
                  base=Informational)
        def _(c, p, code=code):
            c.suppress_close = True
            c.expect([])
            c.close_by_server([NORMAL, code, PROTOCOL_ERROR], clean=False)
            p.send_close_frame(code)
            p.kill_after(1)


# ---- 9 Limits/Performance ------------------------------------------------------------------
class LimitCase(Case):
    """One large message (9.1 ... 9.6): the echo must come back whole, in time."""
    LENGTH = 0
    PATTERN = b"*"
    BINARY = False
    FRAG = None
    CHOP = None
    WAIT = 100

    def on_open(self):
        p = self.p
        self.report_time = True
        self.behavior = FAILED
        self.close_by_server()
        self.result = "No echo within %d seconds." % self.WAIT
        self.payload = repeat_to(self.PATTERN, self.LENGTH)
        op = BINARY if self.BINARY else TEXT
        if self.FRAG:
            p.send_message(self.payload, binary=self.BINARY, frag_size=self.FRAG)
        else:
            p.send_frame(op, self.payload, chopsize=self.CHOP)
        p.close_after(self.WAIT)

    def on_message(self, payload, binary):
        kind = "binary" if self.BINARY else "text"
        if binary != self.BINARY:
            self.result = "Expected a %s message, got the other type." % kind
        elif len(payload) != self.LENGTH:
            self.result = "Expected %d bytes, got %d." % (self.LENGTH, len(payload))
        elif payload != self.payload:
            self.result = "The echo has the right length but different content."
        else:
            self.behavior = OK
            self.result = "Received the %s message of %d bytes back unchanged." % (kind, self.LENGTH)
        self.p.send_close(NORMAL)


class RoundTripCase(Case):
    """9.7 / 9.8: many small messages, one at a time."""
    LENGTH = 0
    COUNT = 1000
    BINARY = False
    WAIT = 60

    def on_open(self):
        self.report_time = True
        self.behavior = FAILED
        self.close_by_server()
        self.result = "Did not finish within %d seconds." % self.WAIT
        self.count = 0
        self.p.close_after(self.WAIT)
        self.send_one()

    def send_one(self):
        if self.BINARY:
            self.p.send_frame(BINARY, b"\xfe", payload_len=self.LENGTH)
        else:
            self.p.send_frame(TEXT, b"*", payload_len=self.LENGTH)
        self.count += 1

    def on_message(self, payload, binary):
        if binary != self.BINARY or len(payload) != self.LENGTH or \
                payload != repeat_to(b"\xfe" if self.BINARY else b"*", self.LENGTH):
            self.behavior = FAILED
            self.result = ("Echo %d differs from what was sent (binary=%s, %d bytes)."
                           % (self.count, binary, len(payload)))
            self.p.send_close(NORMAL)
        else:
            self.advance(self.COUNT)

    def advance(self, total):
        """After a good echo: the next message, or OK and a close after the last one."""
        if self.count < total:
            self.send_one()
        else:
            self.behavior = OK
            self.result = "All %d echoes came back unchanged in time." % total
            self.p.send_close(NORMAL)


def build_section9():
    def size_name(n):
        return "%d MiB" % (n // MB) if n >= MB else "%d KiB" % (n // KB)

    big = [64 * KB, 256 * KB, 1 * MB, 4 * MB, 8 * MB, 16 * MB]
    for sub, binary, pattern in ((1, False, b"BAsd7&jh23"), (2, True, b"\x00\xfe\x23\xfa\xf0")):
        for n, size in enumerate(big, start=1):
            kind = "binary" if binary else "text"
            cls = type("Case_9_%d_%d" % (sub, n), (LimitCase,), {
                "ID": "9.%d.%d" % (sub, n), "LENGTH": size, "PATTERN": pattern, "BINARY": binary,
                "WAIT": 100,
                "DESCRIPTION": "Send one %s message of %s in a single frame." % (kind, size_name(size)),
                "EXPECTATION": "The client echoes it unchanged (checked byte for byte)."})
            CASES.append(cls)
    frags = [64, 256, 1 * KB, 4 * KB, 16 * KB, 64 * KB, 256 * KB, 1 * MB, 4 * MB]
    for sub, binary in ((3, False), (4, True)):
        for n, frag in enumerate(frags, start=1):
            kind = "binary" if binary else "text"
            cls = type("Case_9_%d_%d" % (sub, n), (LimitCase,), {
                "ID": "9.%d.%d" % (sub, n), "LENGTH": 4 * MB, "PATTERN": b"*", "BINARY": binary,
                "FRAG": frag, "WAIT": 100,
                "DESCRIPTION": "Send one %s message of 4 MiB as fragments of %s each." % (
                    kind, size_name(frag) if frag >= KB else "%d bytes" % frag),
                "EXPECTATION": "The client echoes the whole message unchanged."})
            CASES.append(cls)
    chops = [64, 128, 256, 512, 1024, 2048]
    for sub, binary, pattern in ((5, False, b"BAsd7&jh23"), (6, True, b"\x00\xfe\x23\xfa\xf0")):
        for n, chop in enumerate(chops, start=1):
            kind = "binary" if binary else "text"
            cls = type("Case_9_%d_%d" % (sub, n), (LimitCase,), {
                "ID": "9.%d.%d" % (sub, n), "LENGTH": 1 * MB, "PATTERN": pattern, "BINARY": binary,
                "CHOP": chop, "WAIT": 100,
                "DESCRIPTION": "Send one %s message of 1 MiB in one frame, written to the socket "
                               "in pieces of %d bytes." % (kind, chop),
                "EXPECTATION": "The client echoes it unchanged."})
            CASES.append(cls)
    rtt = [(0, 60), (16, 60), (64, 60), (256, 120), (1024, 240), (4096, 480)]
    for sub, binary in ((7, False), (8, True)):
        for n, (size, wait) in enumerate(rtt, start=1):
            kind = "binary" if binary else "text"
            cls = type("Case_9_%d_%d" % (sub, n), (RoundTripCase,), {
                "ID": "9.%d.%d" % (sub, n), "LENGTH": size, "COUNT": 1000, "BINARY": binary,
                "WAIT": wait,
                "DESCRIPTION": "Send 1000 %s messages of %d bytes, each after the echo of the "
                               "previous one (round-trip time)." % (kind, size),
                "EXPECTATION": "Every echo comes back unchanged within %d seconds." % wait})
            CASES.append(cls)


# ---- 10 Auto-fragmentation -------------------------------------------------------------------
def build_section10():
    @register("10.1.1", "Send a 64 KiB text message split by the server into frames of 1300 "
              "bytes (one text frame and 50 continuation frames).",
              "The client echoes the whole message; clean close with 1000.")
    def _(c, p):
        c.payload = b"*" * 65536
        c.expect([msg(c.payload)])
        c.close_by_server()
        p.send_message(c.payload, frag_size=1300)
        p.kill_after(10)

    cls = CASES[-1]

    def on_connection_lost(self):
        Case.on_connection_lost(self)
        want = {CONT: len(self.payload) // 1300, TEXT: 1 if len(self.payload) % 1300 else 0}
        got = {CONT: self.p.tx_frame_stats.get(CONT, 0), TEXT: self.p.tx_frame_stats.get(TEXT, 0)}
        if want != got:
            self.behavior = FAILED
            self.result = "Frames sent %s differ from the plan %s." % (got, want)
    cls.on_connection_lost = on_connection_lost


# ---- 12, 13 WebSocket compression ----------------------------------------------------------
# (payload length, messages, seconds allowed, auto-fragment size) for every subsection, as
# the suite lists them
DEFLATE_SIZES = [
    (16, 1000, 60, 0), (64, 1000, 60, 0), (256, 1000, 120, 0), (1024, 1000, 240, 0),
    (4096, 1000, 480, 0), (8192, 1000, 480, 0), (16384, 1000, 480, 0), (32768, 1000, 480, 0),
    (65536, 1000, 480, 0), (131072, 1000, 480, 0),
    (8192, 1000, 480, 256), (16384, 1000, 480, 256), (32768, 1000, 480, 256),
    (65536, 1000, 480, 256), (131072, 1000, 480, 256), (131072, 1000, 480, 1024),
    (131072, 1000, 480, 4096), (131072, 1000, 480, 32768),
]


DEFLATE_MIN_MESSAGES = 10


def deflate_count(length, count):
    """Messages per case: the suite's count, or fewer under --deflate-budget (at least
    DEFLATE_MIN_MESSAGES)."""
    if DEFLATE_BUDGET is None:
        return count
    return min(count, max(DEFLATE_MIN_MESSAGES, DEFLATE_BUDGET // length))


class CompressionCase(RoundTripCase):
    """12.x.y / 13.x.y: COUNT messages of LEN (characters for text, bytes for binary) cut
    one after the other from a corpus (wrapping around), each compressed and, with
    AUTOFRAG, cut into frames of AUTOFRAG compressed bytes; the next one goes out when the
    echo of the previous one came back equal. ACCEPT answers the client's offers."""
    LEN = 16
    COUNT = 1000
    WAIT = 60
    AUTOFRAG = 0
    CORPUS = "json"
    ACCEPT = None

    def negotiate(self, offers):
        acc = type(self).ACCEPT(offers)
        return (acc.header(), acc.deflate()) if acc else None

    def on_open(self):
        p = self.p
        self.report_time = True
        if p.pmd is None:
            self.not_negotiated("offered %s" % ("; ".join(o.text for o in p.offers) or "nothing"))
            return
        self.close_by_server()
        self.behavior = FAILED
        self.result = "Case did not finish within %d seconds." % self.WAIT
        data, text = pmd.corpus(self.CORPUS)
        self.src = text if text is not None else data
        self.binary = text is None
        self.ptr = 0
        self.count = 0
        self.target = deflate_count(self.LEN, self.COUNT)
        self.extra["messages"] = self.target
        p.close_after(self.WAIT)
        self.send_one()

    def send_one(self):
        n = len(self.src)
        a = self.ptr
        b = (a + self.LEN) % n
        m = self.src[a:b] if b > a else self.src[a:] + self.src[:b]
        self.ptr = b
        self.payload = m if self.binary else m.encode("utf-8")
        self.p.send_compressed(self.payload, binary=self.binary, frag_size=self.AUTOFRAG or None)
        self.count += 1

    def on_message(self, payload, binary):
        if self.p.state != "OPEN":
            return
        if binary != self.binary or payload != self.payload:
            self.behavior = FAILED
            if binary != self.binary:
                self.result = ("Echo %d: the message type differs (got binary %s, expected %s)."
                               % (self.count, binary, self.binary))
            elif len(payload) != len(self.payload):
                self.result = ("Echo %d: the length differs (got %d bytes, expected %d)."
                               % (self.count, len(payload), len(self.payload)))
            else:
                self.result = ("Echo %d: the content differs (SHA-1 %s, expected %s)." % (
                    self.count, hashlib.sha1(payload).hexdigest(),
                    hashlib.sha1(self.payload).hexdigest()))
            self.p.send_close(NORMAL)
        else:
            self.advance(self.target)

    def on_connection_lost(self):
        Case.on_connection_lost(self)
        if self.behavior == FAILED and self.p.pmd is not None and self.result.startswith("Case did"):
            if not self.p.close_timer_fired:
                self.result = ("The connection ended after %d of %d echoes, before the case "
                               "finished." % (self.count - 1, self.target))


def deflate_subsection(sub, title, corpus, accept, what):
    SUBSECTIONS[sub] = title
    for i, (length, count, wait, frag) in enumerate(DEFLATE_SIZES, start=1):
        cid = "%s.%d" % (sub, i)
        unit = "characters" if corpus in ("json", "html") else "bytes"
        desc = ("Send %d compressed messages of %d %s each (%s), %s; %s."
                % (count, length, unit, dict((c[0], c[1]) for c in pmd.CORPORA)[corpus],
                   "auto-fragmented into frames of %d compressed bytes" % frag if frag
                   else "one frame each", what))
        exp = ("Each message is echoed unchanged (same type), one after the other, within "
               "%d seconds; the server closes with 1000." % wait)
        CASES.append(type("Case_" + cid.replace(".", "_"), (CompressionCase,), {
            "ID": cid, "DESCRIPTION": desc, "EXPECTATION": exp, "LEN": length,
            "COUNT": count, "WAIT": wait, "AUTOFRAG": frag, "CORPUS": corpus,
            "ACCEPT": staticmethod(accept)}))


def build_section12():
    for j, (name, desc, _gen, binary) in enumerate(pmd.CORPORA, start=1):
        deflate_subsection("12.%d" % j, "%s (%s)" % (desc, "binary" if binary else "UTF-8"),
                           name, pmd.accept_first,
                           "the server accepts the client's first permessage-deflate offer")


# The suite's server-side answers of 13.1 ... 13.7 (its accept1 ... accept7): what the
# server asks of the client. "nct" = client_no_context_takeover, a number =
# client_max_window_bits=N. The answer also echoes server_no_context_takeover and
# server_max_window_bits=N when the accepted offer has them.
DEFLATE_PARAMS = [
    ("accepts the first offer as it is", lambda o: pmd.accept_first(o)),
    ("asks for client_no_context_takeover (any offer)",
     lambda o: pmd.accept_first(o, no_context_takeover=True)),
    ("asks for client_max_window_bits=9 (only an offer with client_max_window_bits)",
     lambda o: pmd.accept_first(o, max_window_bits=9)),
    ("asks for client_max_window_bits=15 (only an offer with client_max_window_bits)",
     lambda o: pmd.accept_first(o, max_window_bits=15)),
    ("asks for client_no_context_takeover and client_max_window_bits=9",
     lambda o: pmd.accept_first(o, True, 9)),
    ("asks for client_no_context_takeover and client_max_window_bits=15",
     lambda o: pmd.accept_first(o, True, 15)),
    ("asks for client_no_context_takeover and client_max_window_bits=9 if an offer allows "
     "it, else client_no_context_takeover, else nothing",
     lambda o: pmd.accept_first(o, True, 9) or pmd.accept_first(o, True) or pmd.accept_first(o)),
]


def build_section13():
    for j, (what, accept) in enumerate(DEFLATE_PARAMS, start=1):
        deflate_subsection("13.%d" % j, "JSON (UTF-8); the server %s" % what, "json", accept,
                           "the server " + what)


# ---- 16 permessage-deflate: the project's own cases ------------------------------------------
class NegotiatedCase(Case):
    """Accepts the client's first offer as it is; UNIMPLEMENTED when there is none."""

    def negotiate(self, offers):
        acc = pmd.accept_first(offers)
        return (acc.header(), acc.deflate()) if acc else None


def register_deflate(cid, description, expectation, base=NegotiatedCase):
    def deco(script):
        def run(c, p):
            if p.pmd is None:
                c.not_negotiated("offered %s" % ("; ".join(o.text for o in p.offers) or "nothing"))
            else:
                script(c, p)
        return register(cid, description, expectation, base=base)(run)
    return deco


class BombCase(NegotiatedCase):
    """16.2.x: a message that inflates to 1 GiB of zeros (about 1 MiB compressed). The first
    FIRST compressed bytes (they inflate to 64 MiB, beyond the client's limit) go out, then
    the server pauses PAUSE seconds before it writes the rest. The client must fail with
    1009 and echo nothing. It is OK when its close arrives during the pause: it inflated as
    the data arrived and stopped at its limit. NON-STRICT when it fails only once the rest
    arrived: it waited for the whole frame (16.2.2) or the whole message (16.2.1) before
    inflating, buffering up to 1 MiB of compressed data. The server notes how much it had
    written when the close arrived, and when."""
    FRAGMENTED = True
    PIECE = 4096          # fragment size (16.2.1)
    FIRST = 65536         # compressed bytes before the pause
    PAUSE = 1.0

    def on_open(self):
        p = self.p
        if p.pmd is None:
            self.not_negotiated("offered %s" % ("; ".join(o.text for o in p.offers) or "nothing"))
            return
        self.expect([])
        self.close_by_client([1009])
        data = pmd.bomb(p.pmd.server_max_window_bits)
        p.pmd.compressor = None   # the bomb is a stream of its own; the next message starts anew
        self.start = p.tx_bytes + sum(len(x[0]) for x in p.outq)
        if self.FRAGMENTED:
            frames = []
            for k in range(0, len(data), self.PIECE):
                piece = data[k:k + self.PIECE]
                frames.append(frame_header(BINARY if k == 0 else CONT, len(piece),
                                           k + self.PIECE >= len(data), 4 if k == 0 else 0) + piece)
            n_first = self.FIRST // self.PIECE
            first, rest = b"".join(frames[:n_first]), b"".join(frames[n_first:])
            self.extra["fragments"] = len(frames)
        else:
            first = frame_header(BINARY, len(data), True, 4) + data[:self.FIRST]
            rest = data[self.FIRST:]
        p.send_raw(first, self.PAUSE)
        p.send_raw(rest)
        self.first_len, self.total = len(first), len(first) + len(rest)
        self.t0 = now()
        self.at_close = None
        self.extra.update([("inflated_bytes", 1 << 30), ("compressed_bytes", len(data)),
                           ("written_before_pause", self.first_len),
                           ("pause_ms", self.PAUSE * 1000), ("written_bytes", self.total)])
        p.kill_after(10)

    def on_client_close(self):
        if self.at_close is None and hasattr(self, "t0"):
            self.at_close = (self.p.tx_bytes - self.start, now())
            self.p.discard_queued()

    def on_connection_lost(self):
        Case.on_connection_lost(self)
        if not hasattr(self, "t0"):
            return
        if self.at_close is None:
            self.extra["written_when_client_closed"] = None
            return
        sent, t_close = self.at_close
        ms = (t_close - self.t0) * 1000
        self.extra["written_when_client_closed"] = sent
        self.extra["ms_to_client_close"] = round(ms, 1)
        if self.behavior != OK:
            return
        if sent <= self.first_len:
            self.result = ("The client failed the connection %.0f ms after the message began, "
                           "when %d of %d compressed bytes had been written: it stopped at its "
                           "limit while the message was still arriving." % (ms, sent, self.total))
        else:
            self.behavior = NON_STRICT
            self.result = ("The client failed the connection only after the rest of the %s "
                           "had been written (%d of %d bytes, %.0f ms): it waited for the whole "
                           "%s before inflating." % (
                               "message" if self.FRAGMENTED else "frame", sent, self.total, ms,
                               "message" if self.FRAGMENTED else "frame"))


class RefusedAnswerCase(Case):
    """16.4 / 16.5: the 101 carries a Sec-WebSocket-Extensions answer the client must refuse
    (RFC 6455 4.1 and RFC 7692 5, 7.1): it must fail the connection without using it. The
    server sends a ping and a text message right after the 101: a pong or an echo means the
    client accepted the answer. OK when the client ends the connection without either (a
    Close frame is allowed); FAILED on a pong or an echo, or when it is still open 2 s
    later."""
    ANSWER = None    # the header value, or a function of the offers returning (value, why-not)

    def negotiate(self, offers):
        self.na = None
        if callable(self.ANSWER):
            value, self.na = self.ANSWER(offers)
            if value is None:
                return None
            return (value, None)
        return (self.ANSWER, None)

    def on_open(self):
        p = self.p
        if self.na:
            self.not_negotiated(self.na)
            return
        self.expect([])
        self.close_by_client([PROTOCOL_ERROR, 1010])
        self.kept_open = False
        p.send_frame(PING, b"answer refused?")
        p.send_frame(TEXT, HELLO)

        def still_open():
            if p.state == "OPEN":
                self.kept_open = True
                p.note("client-kept-connection")
                p.fail_connection()
        p.call_later(2, still_open)

    def on_connection_lost(self):
        if self.na:
            Case.on_connection_lost(self)
            return
        p = self.p
        self.behavior_close = OK
        if self.received:
            self.behavior = FAILED
            self.result = "The client accepted the answer: it sent %s." % ", ".join(
                x[0] for x in self.received)
        elif self.kept_open:
            self.behavior = FAILED
            self.behavior_close = FAILED
            self.result = "The client kept the connection open for 2 s."
            self.result_close = self.result
        else:
            self.behavior = OK
            if p.client_closed:
                self.result = ("The client refused the answer (it sent a Close frame with %s)."
                               % p.remote_close_code)
            else:
                self.result = "The client refused the answer and ended the connection."
            self.result_close = "The client ended the connection."


def build_section16():
    SUBSECTIONS["16.1"] = "frame rules with permessage-deflate negotiated"
    SUBSECTIONS["16.2"] = "decompression bomb"
    SUBSECTIONS["16.3"] = "RSV1 when nothing was negotiated"
    SUBSECTIONS["16.4"] = "101 answers every client must refuse"
    SUBSECTIONS["16.5"] = "101 answers a client must refuse, depending on its offer"
    fail_1002 = "The client fails the connection at once (1002 or TCP drop)."
    echo_then_1002 = ("The message is echoed, then the client fails the connection (1002 or "
                      "TCP drop) without answering. Failing before the echo is NON-STRICT.")

    for n, op, name in ((1, PING, "ping"), (2, PONG, "pong")):
        @register_deflate("16.1.%d" % n, "Send a compressed text message, then a %s with "
                          "RSV1 set (control frames are never compressed)." % name, echo_then_1002)
        def _(c, p, op=op):
            c.expect([msg(HELLO)], [])
            c.close_by_client()
            p.send_compressed(HELLO)
            p.send_frame(op, b"RSV1 on a control frame", rsv=4)
            p.kill_after(1)

    @register_deflate("16.1.3", "Send a close frame (1000) with RSV1 set.", fail_1002)
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(CLOSE, struct.pack("!H", NORMAL), rsv=4)
        p.kill_after(1)

    @register_deflate("16.1.4", "Send a compressed text message in two fragments with RSV1 on "
                      "both (RSV1 belongs on the first frame only).", fail_1002)
    def _(c, p):
        c.expect([])
        c.close_by_client()
        data = p.pmd.compress(b"fragment1fragment2")
        p.send_frame(TEXT, data[:4], fin=False, rsv=4)
        p.send_frame(CONT, data[4:], fin=True, rsv=4)
        p.kill_after(1)

    @register_deflate("16.1.5", "Send an uncompressed text message in two fragments, RSV1 set "
                      "on the continuation frame only.", fail_1002)
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(TEXT, b"fragment1", fin=False)
        p.send_frame(CONT, b"fragment2", fin=True, rsv=4)
        p.kill_after(1)

    @register_deflate("16.1.6", "Send a compressed text message with RSV1 and RSV2 set "
                      "(permessage-deflate defines RSV1 only).", fail_1002)
    def _(c, p):
        c.expect([])
        c.close_by_client()
        p.send_frame(TEXT, p.pmd.compress(HELLO), rsv=6)
        p.kill_after(1)

    @register_deflate("16.1.7", "Send a text message with RSV1 set whose payload is not "
                      "DEFLATE data (a block of the reserved type 3).",
                      "The client fails the connection (1002 or 1007, or TCP drop); nothing "
                      "is echoed.")
    def _(c, p):
        c.expect([])
        c.close_by_client([PROTOCOL_ERROR, INVALID_PAYLOAD])
        p.send_frame(TEXT, b"\xff" * 16, rsv=4)
        p.kill_after(1)

    bad = KOSME + b"\xed\xa0\x80" + b"edited"

    @register_deflate("16.1.8", "Send a compressed text message that inflates to invalid "
                      "UTF-8 (%s)." % bad.hex(),
                      "The client fails the connection with 1007 (or TCP drop).")
    def _(c, p):
        c.expect([])
        c.close_by_client([INVALID_PAYLOAD])
        p.send_frame(TEXT, p.pmd.compress(bad), rsv=4)
        p.kill_after(1)

    @register_deflate("16.1.9", "Send a compressed text message that ends with a final "
                      "DEFLATE block (BFINAL=1, no empty sync block; RFC 7692 7.2.3.4).",
                      "The client echoes the text; the server closes with 1000.")
    def _(c, p):
        c.expect([msg(HELLO_UTF8 * 4)])
        c.close_by_server()
        z = zlib.compressobj(6, zlib.DEFLATED, -p.pmd.server_max_window_bits, pmd.MEM_LEVEL)
        p.send_frame(TEXT, z.compress(HELLO_UTF8 * 4) + z.flush(zlib.Z_FINISH), rsv=4)
        p.close_after(1)

    @register_deflate("16.1.10", "Send an empty compressed text message (payload 0x00) and an "
                      "empty compressed binary message.",
                      "The client echoes both, empty; the server closes with 1000.")
    def _(c, p):
        c.expect([msg(b""), msg(b"", True)])
        c.close_by_server()
        p.send_compressed(b"")
        p.send_compressed(b"", binary=True)
        p.close_after(1)

    @register_deflate("16.1.11", "Send a compressed text message in five fragments, the first "
                      "(with RSV1) and the last empty.",
                      "The client echoes the whole text; the server closes with 1000.")
    def _(c, p):
        text = HELLO_UTF8 * 8
        c.expect([msg(text)])
        c.close_by_server()
        data = p.pmd.compress(text)
        k = len(data) // 3
        p.send_frame(TEXT, b"", fin=False, rsv=4)
        p.send_frame(CONT, data[:k], fin=False)
        p.send_frame(CONT, data[k:2 * k], fin=False)
        p.send_frame(CONT, data[2 * k:], fin=False)
        p.send_frame(CONT, b"", fin=True)
        p.close_after(1)

    @register_deflate("16.1.12", "Send an uncompressed text message (RSV1 clear), then a "
                      "compressed one: compression is per message.",
                      "The client echoes both, in order; the server closes with 1000.")
    def _(c, p):
        c.expect([msg(b"plain message"), msg(b"compressed message")])
        c.close_by_server()
        p.send_frame(TEXT, b"plain message")
        p.send_compressed(b"compressed message")
        p.close_after(1)

    @register_deflate("16.1.13", "Send a 70000-byte binary message compressed at level 0 "
                      "(stored DEFLATE blocks, two of them).",
                      "The client echoes it unchanged; the server closes with 1000.")
    def _(c, p):
        payload = repeat_to(b"\x00\xfe\x23\xfa\xf0", 70000)
        c.expect([msg(payload, True)])
        c.close_by_server()
        p.send_compressed(payload, binary=True, level=0)
        p.close_after(2)

    @register_deflate("16.1.14", "Send a compressed text message as frames of one compressed "
                      "byte each.", "The client echoes the whole text; the server closes "
                      "with 1000.")
    def _(c, p):
        text = HELLO_UTF8 * 16
        c.expect([msg(text)])
        c.close_by_server()
        p.send_compressed(text, frag_size=1)
        p.close_after(2)

    for n, fragmented in ((1, True), (2, False)):
        CASES.append(type("Case_16_2_%d" % n, (BombCase,), {
            "ID": "16.2.%d" % n, "FRAGMENTED": fragmented,
            "DESCRIPTION": "Send a binary message that inflates to 1 GiB of zeros (about 1 MiB "
                           "compressed, far beyond the client's message limit) %s: the first "
                           "64 KiB (64 MiB inflated), a pause of one second, then the rest." % (
                               "in fragments of 4 KiB" if fragmented else "in one frame"),
            "EXPECTATION": "The client fails the connection with 1009 during the pause, "
                           "having inflated no further than its limit, and echoes nothing "
                           "(failing only once the rest arrived is NON-STRICT)."}))

    @register("16.3.1", "The server declines every offer (answers no extension), then sends "
              "a compressed text message with RSV1 set.", fail_1002)
    def _(c, p):
        c.expect([])
        c.close_by_client()
        z = zlib.compressobj(6, zlib.DEFLATED, -15, pmd.MEM_LEVEL)
        p.send_frame(TEXT, (z.compress(HELLO) + z.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv=4)
        p.kill_after(1)

    answers = [
        ("x-wsproxy-unknown", "an extension the client did not offer"),
        ("permessage-deflate, permessage-deflate", "permessage-deflate twice"),
        ("permessage-deflate; server_max_window_bits=16", "server_max_window_bits above 15"),
        ("permessage-deflate; server_max_window_bits=7", "server_max_window_bits below 8"),
        ("permessage-deflate; client_max_window_bits=16", "client_max_window_bits above 15"),
        ("permessage-deflate; client_max_window_bits", "client_max_window_bits without the "
         "value an answer must carry"),
        ("permessage-deflate; server_max_window_bits=010", "a window-bits value with a "
         "leading zero"),
        ("permessage-deflate; x_unknown_param", "a parameter RFC 7692 does not define"),
        ("permessage-deflate; server_no_context_takeover=1", "a value on a parameter that "
         "takes none"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover",
         "the same parameter twice"),
    ]
    for n, (answer, what) in enumerate(answers, start=1):
        CASES.append(type("Case_16_4_%d" % n, (RefusedAnswerCase,), {
            "ID": "16.4.%d" % n, "ANSWER": answer,
            "DESCRIPTION": "The 101 answers 'Sec-WebSocket-Extensions: %s' (%s), whatever the "
                           "client offered." % (answer, what),
            "EXPECTATION": "The client fails the connection without using it (no pong, no "
                           "echo)."}))

    def first_usable(offers):
        return next((o for o in offers if pmd.usable(o)), None)

    def unoffered_deflate(offers):
        if offers:
            return None, "this case needs a client that offers no permessage-deflate"
        return "permessage-deflate", None

    def unoffered_cmwb(offers):
        o = first_usable(offers)
        if o is None or o.accept_max_window_bits:
            return None, ("this case needs a permessage-deflate offer without "
                          "client_max_window_bits")
        return pmd.Accept(o).header() + "; client_max_window_bits=10", None

    def larger_smwb(offers):
        o = first_usable(offers)
        if o is None or not (8 <= o.request_max_window_bits < 15):
            return None, "this case needs an offer with server_max_window_bits below 15"
        a = pmd.Accept(o).header().replace(
            "server_max_window_bits=%d" % o.request_max_window_bits,
            "server_max_window_bits=%d" % (o.request_max_window_bits + 1))
        return a, None

    for n, (fn, desc) in enumerate([
            (unoffered_deflate, "permessage-deflate to a client that offered none"),
            (unoffered_cmwb, "client_max_window_bits=10 to an offer without "
                             "client_max_window_bits (RFC 7692 7.1.2.2: MUST NOT)"),
            (larger_smwb, "server_max_window_bits one above the value the client offered "
                          "(RFC 7692 7.1.2.1: same or smaller)")], start=1):
        CASES.append(type("Case_16_5_%d" % n, (RefusedAnswerCase,), {
            "ID": "16.5.%d" % n, "ANSWER": staticmethod(fn),
            "DESCRIPTION": "The 101 answers %s." % desc,
            "EXPECTATION": "The client fails the connection without using it (no pong, no "
                           "echo); UNIMPLEMENTED when its offer does not fit the case."}))


def build_cases():
    del CASES[:]
    build_section1()
    build_section2()
    build_section3()
    build_section4()
    build_section5()
    build_section6()
    build_section7()
    build_section9()
    build_section10()
    build_section12()
    build_section13()
    build_section16()
    CASES.sort(key=lambda c: case_id_tuple(c.ID))
    return CASES


# ----------------------------------------------------------------------------- connection
class Peer:
    """One TCP connection: handshake, then the case (or a service endpoint). Runs in its
    own thread with a small non-blocking loop (select, timers, an output queue). With a
    TLS context the bytes go through an ssl.SSLObject over memory buffers, so the loop
    stays the same: each queued piece becomes its own TLS records."""

    TLS_PIECE = 256 * 1024      # plaintext encrypted at once

    def __init__(self, server, sock, addr, tls_context=None):
        self.server = server
        self.sock = sock
        self.addr = addr
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.rbuf = bytearray()
        self.outq = collections.deque()   # [memoryview, gap after it]: plaintext to send
        self.rawq = collections.deque()   # memoryviews on their way to the socket
        self.pending_gap = 0.0
        self.tx_bytes = 0                 # plaintext bytes handed to the socket (or TLS)
        self.next_send = 0.0
        self.tls = None
        if tls_context is not None:
            self.tls_in = ssl.MemoryBIO()
            self.tls_out = ssl.MemoryBIO()
            self.tls = tls_context.wrap_bio(self.tls_in, self.tls_out, server_side=True)
            self.tls_done = False
            self.tls_closed = False
        # permessage-deflate
        self.offers = []
        self.extension_answer = None
        self.pmd = None
        self.msg_compressed = False
        self.deflate_stats = collections.OrderedDict(
            (k, 0) for k in ("client_messages_compressed", "client_messages_plain",
                             "client_wire_bytes", "client_app_bytes",
                             "server_messages_compressed", "server_wire_bytes",
                             "server_app_bytes"))
        self.shutdown_after = False
        self.timers = []
        self.timer_seq = 0
        self.state = "HANDSHAKE"
        self.finished = False
        self.eof = False
        self.eof_how = None
        self.write_failed = False
        self.dropping = False
        self.shut_wr = False
        self.linger_until = 0.0
        # closing-behaviour bookkeeping, as the suite keeps it
        self.closed_by_me = False
        self.failed_by_me = False
        self.dropped_by_me = False
        self.was_clean = False
        self.remote_close_code = None
        self.remote_close_reason = None
        self.local_close_code = None
        self.close_timer = None
        self.was_close_handshake_timeout = False
        self.tx_frame_stats = {}
        # receive side
        self.msg_opcode = None
        self.msg_parts = []
        self.client_closed = False
        self.violations = []
        self.events = []        # what the client did, for the report (bounded)
        self.events_dropped = 0
        self.case = None
        self.case_index = None
        self.agent = None
        self.path = None
        self.t_open = None
        self.request_head = ""
        self.connection_was_open = False

    # ---- output ------------------------------------------------------------------------
    def send_raw(self, data, gap=0.0):
        if self.state == "CLOSED":
            return
        if data:
            self.outq.append([memoryview(bytes(data)), gap])

    def send_data(self, raw, sync=False, chopsize=None):
        if chopsize and chopsize > 0:
            pieces = (len(raw) + chopsize - 1) // chopsize
            gap = CHOP_GAP if pieces <= CHOP_GAP_MAX_PIECES else 0.0
            mv = memoryview(raw)
            for i in range(0, len(raw), chopsize):
                self.send_raw(mv[i:i + chopsize], gap)
        else:
            self.send_raw(raw, CHOP_GAP if sync else 0.0)

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, payload_len=None, chopsize=None,
                   sync=False):
        if payload_len is not None:
            payload = repeat_to(payload, payload_len)
        self.tx_frame_stats[opcode] = self.tx_frame_stats.get(opcode, 0) + 1
        raw = frame_header(opcode, len(payload), fin, rsv) + payload
        self.send_data(raw, sync, chopsize)

    def send_compressed(self, payload, binary=False, frag_size=None, level=None):
        """A message compressed with the negotiated parameters (RSV1 on the first frame),
        cut into frames of frag_size compressed bytes when it is longer, as the suite's
        auto-fragmentation does."""
        op = BINARY if binary else TEXT
        if level is None:
            data = self.pmd.compress(payload)
        else:
            data = self.pmd.compress(payload, level)
        st = self.deflate_stats
        st["server_messages_compressed"] += 1
        st["server_app_bytes"] += len(payload)
        st["server_wire_bytes"] += len(data)
        if not frag_size or len(data) <= frag_size:
            self.send_frame(op, data, rsv=4)
            return
        mv = memoryview(data)
        parts = []
        for i in range(0, len(data), frag_size):
            o = op if i == 0 else CONT
            self.tx_frame_stats[o] = self.tx_frame_stats.get(o, 0) + 1
            parts.append(frame_header(o, len(mv[i:i + frag_size]), i + frag_size >= len(data),
                                      4 if i == 0 else 0))
            parts.append(mv[i:i + frag_size])
        self.send_raw(b"".join(parts))

    def discard_queued(self):
        """Drops what is queued and not yet started (the client has failed the connection
        and will not read it); a piece already partly on its way is finished."""
        head = self.outq[0] if self.outq and self.head_started else None
        self.outq.clear()
        if head is not None:
            self.outq.append(head)

    def send_message(self, payload, binary=False, frag_size=None):
        op = BINARY if binary else TEXT
        if not frag_size or len(payload) <= frag_size:
            self.send_frame(op, payload)
            return
        mv = memoryview(payload)
        chunks = [mv[i:i + frag_size] for i in range(0, len(payload), frag_size)]
        parts = []
        for i, ch in enumerate(chunks):
            o = op if i == 0 else CONT
            self.tx_frame_stats[o] = self.tx_frame_stats.get(o, 0) + 1
            parts.append(frame_header(o, len(ch), i == len(chunks) - 1))
            parts.append(ch)
        self.send_raw(b"".join(parts))

    def begin_message_frame(self, opcode, length):
        self.tx_frame_stats[opcode] = self.tx_frame_stats.get(opcode, 0) + 1
        self.send_raw(frame_header(opcode, length, True))

    def send_close_frame(self, code=None, reason=None, is_reply=False):
        """Sends a close frame and moves to CLOSING (only from OPEN), as the suite does.
        The payload is written as given, valid or not."""
        if self.state != "OPEN":
            return
        payload = b""
        if code is not None:
            payload += struct.pack("!H", code)
        if reason is not None:
            payload += reason
        self.tx_frame_stats[CLOSE] = self.tx_frame_stats.get(CLOSE, 0) + 1
        self.send_raw(frame_header(CLOSE, len(payload)) + payload)
        self.state = "CLOSING"
        self.closed_by_me = not is_reply
        self.local_close_code = code
        self.note("server-close", code=code, reply=is_reply)
        if self.closed_by_me:
            self.close_timer = self.call_later(CLOSE_HANDSHAKE_TIMEOUT, self.on_close_timeout)

    def send_close(self, code=None, reason=None):
        self.send_close_frame(code, reason, is_reply=False)

    def fail_connection(self, code=GOING_AWAY, reason=b"going away"):
        if self.state == "CLOSED":
            return
        self.failed_by_me = True
        if self.state != "CLOSING":
            self.send_close_frame(code, reason[:123], is_reply=False)
        else:
            self.drop_connection()

    def drop_connection(self):
        if self.state == "CLOSED":
            return
        self.dropped_by_me = True
        self.state = "CLOSED"
        self.dropping = True
        self.linger_until = now() + LINGER
        self.note("server-drop")

    def on_close_timeout(self):
        self.close_timer = None
        if self.state != "CLOSED":
            self.was_clean = False
            self.was_close_handshake_timeout = True
            self.note("close-handshake-timeout")
            self.drop_connection()

    # ---- timers ------------------------------------------------------------------------
    def call_later(self, delay, fn):
        self.timer_seq += 1
        entry = [now() + delay, self.timer_seq, fn]
        heapq.heappush(self.timers, entry)
        return entry

    def cancel(self, entry):
        if entry:
            entry[2] = None

    def continue_later(self, delay, fn, tag=None):
        def run():
            if self.state != "CLOSED":
                fn()
        self.call_later(delay, run)

    def kill_after(self, delay):
        def run():
            if self.state != "CLOSED":
                self.note("kill-timer")
                self.fail_connection()
        self.call_later(delay, run)

    close_timer_fired = False

    def close_after(self, delay):
        def run():
            if self.state != "CLOSED":
                self.close_timer_fired = True
                self.note("close-timer")
                self.send_close()
        self.call_later(delay, run)

    # ---- report helpers ----------------------------------------------------------------
    def note(self, what, **kw):
        if self.t_open is None:
            return
        if len(self.events) >= 40:
            self.events_dropped += 1
            return
        e = {"t_ms": round((now() - self.t_open) * 1000, 1), "event": what}
        e.update({k: v for k, v in kw.items() if v is not None})
        self.events.append(e)

    def violation(self, text):
        if len(self.violations) < 10:
            self.violations.append(text)
        self.note("client-violation", detail=text)

    # ---- loop --------------------------------------------------------------------------
    def run(self):
        try:
            self.loop()
        except Exception:   # a bug here must show up as a failed case, not a hang
            err = traceback.format_exc()
            sys.stderr.write(err)
            self.violation("server error: " + err.strip().splitlines()[-1])
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            if self.case is not None and not self.finished_case:
                self.connection_lost()

    finished_case = False

    def loop(self):
        deadline = now() + HANDSHAKE_TIMEOUT
        while not self.finished:
            t = now()
            while self.timers and self.timers[0][0] <= t:
                entry = heapq.heappop(self.timers)
                if entry[2] is not None:
                    entry[2]()
                if self.finished:
                    return
            if self.state == "HANDSHAKE" and t > deadline:
                return
            if self.case is not None and self.t_open and t - self.t_open > CASE_HARD_LIMIT:
                self.violation("case did not end within %d s" % CASE_HARD_LIMIT)
                self.drop_connection()
                self.finish()
                return
            if self.dropping:
                if t >= self.linger_until + 10:   # the client stopped reading: give up
                    self.finish()
                    return
                if (not self.outq and not self.rawq) or self.write_failed:
                    if (self.tls is not None and self.tls_done and not self.tls_closed
                            and not self.write_failed):
                        # close_notify first, then the TCP FIN
                        self.tls_closed = True
                        try:
                            self.tls.unwrap()
                        except (ssl.SSLError, ValueError):
                            pass
                        self.tls_flush()
                        continue
                    if not self.shut_wr:
                        self.shut_wr = True
                        try:
                            self.sock.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    if self.eof or t >= self.linger_until:
                        self.finish()
                        return
            elif self.eof:
                self.connection_ended()
                return
            if self.pending_gap and not self.rawq:
                self.next_send = t + self.pending_gap
                self.pending_gap = 0.0
            want_write = bool(self.outq or self.rawq) and not self.write_failed
            timeout = 0.5
            if self.timers:
                timeout = min(timeout, max(0.0, self.timers[0][0] - t))
            if want_write and not self.rawq and t < self.next_send:
                timeout = min(timeout, self.next_send - t)
                want_write = False
            if self.dropping:
                timeout = min(timeout, max(0.0, self.linger_until - t))
            rl = [self.sock] if not self.eof else []
            wl = [self.sock] if want_write else []
            if not rl and not wl:
                time.sleep(timeout)
                continue
            try:
                r, w, _ = select.select(rl, wl, [], timeout)
            except (OSError, ValueError):
                self.eof = True
                continue
            if w:
                self.on_writable()
            if r:
                self.on_readable()

    def on_writable(self):
        """Writes queued pieces; after a piece with a gap, the next one waits that long
        (the piece's bytes have left, on TLS as records of their own)."""
        while True:
            while self.rawq:
                mv = self.rawq[0]
                try:
                    n = self.sock.send(mv)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    self.write_failed = True
                    self.outq.clear()
                    self.rawq.clear()
                    return
                if self.tls is None:
                    self.tx_bytes += n
                if n < len(mv):
                    self.rawq[0] = mv[n:]
                    return
                self.rawq.popleft()
            if self.pending_gap > 0:
                self.next_send = now() + self.pending_gap
                self.pending_gap = 0.0
                return
            if not self.outq or now() < self.next_send:
                return
            item = self.outq[0]
            if self.tls is None:
                self.rawq.append(item[0])
                self.outq.popleft()
                self.pending_gap = item[1]
            else:
                piece = item[0][:self.TLS_PIECE]
                try:
                    self.tls.write(piece)
                except (ssl.SSLError, ValueError):   # the TLS session has ended
                    self.write_failed = True
                    self.outq.clear()
                    return
                self.tx_bytes += len(piece)
                item[0] = item[0][len(piece):]
                self.head_started = True
                self.tls_flush()
                if not len(item[0]):
                    self.outq.popleft()
                    self.head_started = False
                    self.pending_gap = item[1]

    head_started = False

    def tls_flush(self):
        data = self.tls_out.read()
        if data:
            self.rawq.append(memoryview(data))

    def tls_receive(self, raw):
        """Raw bytes (b"" at EOF) -> (plaintext, eof)."""
        if raw:
            self.tls_in.write(raw)
        else:
            self.tls_in.write_eof()
        eof = not raw
        if not self.tls_done:
            try:
                self.tls.do_handshake()
                self.tls_done = True
            except ssl.SSLWantReadError:
                self.tls_flush()
                return b"", eof
            except (ssl.SSLError, OSError) as e:
                self.tls_flush()
                self.server.log("TLS handshake with %s:%d failed: %s" % (self.addr[0], self.addr[1], e))
                self.eof_how = "TLS handshake failed (%s)" % e.__class__.__name__
                return b"", True
            self.tls_flush()
        out = []
        while True:
            try:
                chunk = self.tls.read(1 << 20)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                eof = True
                self.eof_how = "close_notify"
                break
            except (ssl.SSLError, OSError) as e:
                eof = True
                self.eof_how = self.eof_how or "TLS ended (%s)" % e.__class__.__name__
                break
            if not chunk:
                eof = True
                break
            out.append(chunk)
        self.tls_flush()
        return b"".join(out), eof

    def on_readable(self):
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.eof = True
            self.eof_how = "reset (%s)" % e.__class__.__name__
            self.note("tcp-reset")
            return
        if self.tls is not None:
            data, eof = self.tls_receive(data)
        else:
            eof = not data
        if data:
            self.rbuf += data
            if self.state == "HANDSHAKE":
                self.handshake()
            else:
                self.parse_frames()
        if eof:
            self.eof = True
            self.eof_how = self.eof_how or "fin"
            self.note("tcp-eof")

    # ---- opening handshake -------------------------------------------------------------
    def http_error(self, status, text):
        body = (text + "\n").encode()
        self.send_raw(("HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                       "Connection: close\r\n\r\n" % (status, len(body))).encode() + body)
        self.state = "CLOSED"
        self.dropping = True
        self.linger_until = now() + LINGER

    def handshake(self):
        end = self.rbuf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.rbuf) > 16384:
                self.http_error("431 Request Header Fields Too Large", "request head too large")
            return
        head = bytes(self.rbuf[:end]).decode("latin-1")
        del self.rbuf[:end + 4]
        self.request_head = head
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            if ":" not in line:
                self.http_error("400 Bad Request", "malformed header line")
                return
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        if len(parts) != 3 or parts[0] != "GET" or parts[2] not in ("HTTP/1.1",):
            self.http_error("400 Bad Request", "expected GET ... HTTP/1.1")
            return

        def tokens(name):
            out = []
            for v in headers.get(name, []):
                out += [t.strip().lower() for t in v.split(",")]
            return out
        key = headers.get("sec-websocket-key", [])
        problems = []
        if "websocket" not in tokens("upgrade"):
            problems.append("Upgrade: websocket missing")
        if "upgrade" not in tokens("connection"):
            problems.append("Connection: Upgrade missing")
        if headers.get("sec-websocket-version") != ["13"]:
            problems.append("Sec-WebSocket-Version is not 13")
        if len(key) != 1:
            problems.append("need exactly one Sec-WebSocket-Key")
        else:
            try:
                if len(base64.b64decode(key[0], validate=True)) != 16:
                    problems.append("Sec-WebSocket-Key does not decode to 16 bytes")
            except ValueError:
                problems.append("Sec-WebSocket-Key is not base64")
        if "host" not in headers:
            problems.append("Host missing")
        if problems:
            self.http_error("400 Bad Request", "; ".join(problems))
            return
        url = urllib.parse.urlsplit(parts[1])
        query = urllib.parse.parse_qs(url.query)
        self.path = url.path
        self.agent = query.get("agent", [None])[0]
        srv = self.server
        if self.path == "/runCase":
            try:
                index = int(query.get("case", [""])[0])
            except ValueError:
                index = 0
            if not (1 <= index <= len(srv.cases)) or not self.agent:
                self.http_error("400 Bad Request", "need case=1..%d and agent" % len(srv.cases))
                return
            self.case_index = index
        elif self.path == "/updateReports":
            if not self.agent:
                self.http_error("400 Bad Request", "need agent")
                return
            flag = query.get("shutdownOnComplete", ["false"])
            if len(flag) > 1:
                self.http_error("400 Bad Request", "shutdownOnComplete given twice")
                return
            self.shutdown_after = flag[0].lower() in ("true", "yes")
        elif self.path != "/getCaseCount":
            self.http_error("404 Not Found", "unknown path")
            return
        if self.path == "/runCase":
            cls = srv.cases[index - 1]
            srv.log("%s case %s (%d/%d)" % (self.agent, cls.ID, index, len(srv.cases)))
            self.case = cls(self)
        # permessage-deflate offers, read as the suite reads them: one it cannot parse
        # fails the opening handshake, whatever the case
        try:
            self.offers, others = pmd.parse_offers(headers.get("sec-websocket-extensions", []))
        except ValueError as e:
            if self.case is not None:
                self.t_open = now()
                self.violation("the server refused the permessage-deflate offer: %s" % e)
            self.http_error("400 Bad Request", "permessage-deflate offer refused: %s" % e)
            return
        answer = self.case.negotiate(self.offers) if self.case is not None else None
        ext_line = ""
        if answer is not None:
            self.extension_answer, self.pmd = answer
            ext_line = "Sec-WebSocket-Extensions: %s\r\n" % self.extension_answer
        accept = base64.b64encode(hashlib.sha1(key[0].encode() + GUID).digest()).decode()
        self.send_raw(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%sServer: %s\r\n\r\n"
                       % (accept, ext_line, SERVER_NAME)).encode())
        self.state = "OPEN"
        self.connection_was_open = True
        self.t_open = now()
        if self.path == "/getCaseCount":
            self.send_frame(TEXT, str(len(srv.cases)).encode())
            self.send_close()
        elif self.path == "/updateReports":
            srv.write_report()
            self.send_close()
        else:
            self.case.on_open()
        if self.rbuf:
            self.parse_frames()

    # ---- frames from the client --------------------------------------------------------
    def parse_frames(self):
        buf = self.rbuf
        off = 0
        while not self.finished:
            avail = len(buf) - off
            if avail < 2:
                break
            b0, b1 = buf[off], buf[off + 1]
            fin, rsv, op = b0 >> 7, (b0 >> 4) & 7, b0 & 15
            masked, ln = b1 >> 7, b1 & 127
            hl = 2
            if ln == 126:
                if avail < 4:
                    break
                ln = struct.unpack_from("!H", buf, off + 2)[0]
                hl = 4
                minimal = ln >= 126
            elif ln == 127:
                if avail < 10:
                    break
                ln = struct.unpack_from("!Q", buf, off + 2)[0]
                hl = 10
                minimal = ln > 0xFFFF and ln < (1 << 63)
            else:
                minimal = True
            if masked:
                hl += 4
            if avail < hl + ln:
                break
            key = bytes(buf[off + hl - 4:off + hl]) if masked else None
            payload = bytes(buf[off + hl:off + hl + ln])
            off += hl + ln
            if key:
                payload = unmask(payload, key)
            problem = None
            if self.client_closed:
                problem = "frame (opcode %d) after the client's own Close frame" % op
            elif not masked:
                problem = "unmasked frame from the client"
            elif rsv and self.pmd is None:
                problem = "RSV bits set in a client frame (no extension was negotiated)"
            elif rsv & 3:
                problem = "RSV2 or RSV3 set in a client frame (permessage-deflate uses RSV1 only)"
            elif rsv and op >= 8:
                problem = "RSV1 set on a control frame (opcode %d)" % op
            elif rsv and op == CONT:
                problem = "RSV1 set on a continuation frame"
            elif not minimal:
                problem = "payload length not in its shortest form"
            elif op in (3, 4, 5, 6, 7) or op > 10:
                problem = "reserved opcode %d" % op
            elif op >= 8 and (not fin or ln > 125):
                problem = "fragmented or oversized control frame"
            elif op == CONT and self.msg_opcode is None:
                problem = "continuation frame with no message open"
            elif op in (TEXT, BINARY) and self.msg_opcode is not None:
                problem = "new message inside an unfinished one"
            if problem:
                self.violation(problem)
                if self.state in ("OPEN", "CLOSING"):
                    self.fail_connection(PROTOCOL_ERROR, problem.encode())
                continue
            if self.state == "CLOSED":
                continue   # after the server dropped: only violations are of interest
            if op >= 8:
                self.control_frame(op, payload)
                continue
            if op != CONT:
                self.msg_opcode = op
                self.msg_parts = []
                self.msg_compressed = bool(rsv & 4)
            self.msg_parts.append(payload)
            if fin:
                whole = b"".join(self.msg_parts)
                binary = self.msg_opcode == BINARY
                self.msg_opcode = None
                self.msg_parts = []
                if self.pmd is not None:
                    st = self.deflate_stats
                    st["client_wire_bytes"] += len(whole)
                    if self.msg_compressed:
                        st["client_messages_compressed"] += 1
                        try:
                            whole = self.pmd.decompress(whole, CLIENT_INFLATE_LIMIT)
                        except (zlib.error, ValueError) as e:
                            self.violation("a compressed message from the client does not "
                                           "inflate with client_max_window_bits=%d%s: %s" % (
                                               self.pmd.client_max_window_bits,
                                               " and client_no_context_takeover"
                                               if self.pmd.client_no_context_takeover else "", e))
                            self.fail_connection(PROTOCOL_ERROR, b"bad compressed data")
                            continue
                    else:
                        st["client_messages_plain"] += 1
                    st["client_app_bytes"] += len(whole)
                if not binary and not is_utf8(whole):
                    self.violation("the client sent a text message that is not UTF-8")
                    self.fail_connection(INVALID_PAYLOAD, b"invalid UTF-8")
                    continue
                self.note("client-message", binary=binary, length=len(whole))
                if self.case is not None:
                    self.case.on_message(whole, binary)
        if off:
            del buf[:off]

    def control_frame(self, op, payload):
        if op == PING:
            self.note("client-ping", length=len(payload))
            if self.case is not None:
                self.case.on_ping(payload)
            if self.state == "OPEN":
                self.send_frame(PONG, payload)
        elif op == PONG:
            self.note("client-pong", length=len(payload))
            if self.case is not None:
                self.case.on_pong(payload)
        else:
            self.close_frame(payload)

    def close_frame(self, payload):
        self.client_closed = True
        code = reason = None
        if len(payload) == 1:
            self.violation("Close frame with a 1-byte payload")
        elif len(payload) >= 2:
            code = struct.unpack("!H", payload[:2])[0]
            reason = payload[2:]
            if not valid_close_code(code):
                self.violation("close code %d is not allowed on the wire" % code)
            if not is_utf8(reason):
                self.violation("close reason is not UTF-8")
        self.remote_close_code = code
        self.remote_close_reason = reason
        self.note("client-close", code=code, reason=preview(reason) if reason else None)
        if self.case is not None:
            self.case.on_client_close()
        if self.state == "CLOSING":
            self.cancel(self.close_timer)
            self.close_timer = None
            self.was_clean = True
            self.drop_connection()
        elif self.state == "OPEN":
            self.was_clean = True
            self.send_close_frame(NORMAL, is_reply=True)
            self.drop_connection()

    # ---- end of the connection ---------------------------------------------------------
    def connection_ended(self):
        """TCP ended from the client's side before the server dropped it."""
        if self.state != "CLOSED":
            self.state = "CLOSED"
        self.finish()

    def finish(self):
        if self.finished:
            return
        self.finished = True
        if self.case is not None:
            self.connection_lost()
        if self.shutdown_after:
            self.server.log("report generation complete; shutting down (shutdownOnComplete)")
            self.server.stop.set()

    def connection_lost(self):
        if self.finished_case:
            return
        self.finished_case = True
        t_end = now()
        case = self.case
        try:
            case.on_connection_lost()
        except Exception:
            err = traceback.format_exc()
            sys.stderr.write(err)
            self.violations.append("server error: " + err.strip().splitlines()[-1])
        self.server.record(self, case, t_end)


# ----------------------------------------------------------------------------- server
def combine(case, violations):
    """The overall result of a case from the suite's two verdicts (and our extra checks)."""
    if violations:
        return FAILED
    b = case.behavior
    bc = case.behavior_close
    if b == FAILED or bc in (FAILED, UNCLEAN):
        return FAILED
    if b == UNIMPLEMENTED:
        return UNIMPLEMENTED
    close_rank = {OK: OK, INFORMATIONAL: INFORMATIONAL, WRONG_CODE: NON_STRICT}.get(bc, FAILED)
    return b if RANK[b] >= RANK[close_rank] else close_rank


class Server:
    def __init__(self, args):
        self.args = args
        self.cases = [c for c in build_cases() if self.selected(c.ID)]
        self.results = collections.OrderedDict()   # agent -> {case id: result}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []

    def selected(self, cid):
        def match(patterns):
            for pat in patterns:
                rx = "^" + re.escape(pat).replace("\\*", ".*") + "$"
                if re.match(rx, cid):
                    return True
            return False
        inc = [x for x in (self.args.cases or "*").split(",") if x]
        exc = [x for x in (self.args.exclude or "").split(",") if x]
        return match(inc) and not match(exc)

    def log(self, text):
        if not self.args.quiet:
            sys.stderr.write("fuzzingserver: %s\n" % text)

    def record(self, peer, case, t_end):
        c = case
        p = peer
        result = combine(c, p.violations)
        received = [describe_item(x) for x in c.received[:20]]
        entry = collections.OrderedDict([
            ("id", c.ID),
            ("index", p.case_index),
            ("description", c.DESCRIPTION),
            ("expectation", c.EXPECTATION),
            ("result", result),
            ("behavior", c.behavior),
            ("behavior_close", c.behavior_close),
            ("result_text", c.result),
            ("result_close_text", c.result_close),
            ("duration_ms", int(round((t_end - p.t_open) * 1000))),
            ("report_time", c.report_time),
            ("expected", {k: [describe_item(x) for x in v[:20]] for k, v in c.expected.items()}),
            ("expected_close", c.expected_close),
            ("client", collections.OrderedDict([
                ("received", received),
                ("received_count", len(c.received)),
                ("close_code", p.remote_close_code),
                ("close_reason", preview(p.remote_close_reason) if p.remote_close_reason else None),
                ("closing_handshake_started_by", "server" if p.closed_by_me else
                 ("client" if p.client_closed else "nobody")),
                ("clean", p.was_clean),
                ("tcp_closed_by", "server" if p.dropped_by_me else "client"),
                ("tcp_end", p.eof_how),
                ("close_handshake_timeout", p.was_close_handshake_timeout),
                ("violations", p.violations),
                ("events", p.events + ([{"event": "... %d more" % p.events_dropped}]
                                       if p.events_dropped else [])),
            ])),
        ])
        if c.NOTE:
            entry["note"] = c.NOTE
        deflate = collections.OrderedDict([
            ("offers", [o.text for o in p.offers]),
            ("answer", p.extension_answer),
            ("negotiated", p.pmd.params() if p.pmd else None)])
        if p.pmd:
            deflate.update(p.deflate_stats)
            st = p.deflate_stats
            if st["client_app_bytes"]:
                deflate["client_ratio"] = round(st["client_wire_bytes"] / st["client_app_bytes"], 4)
            if st["server_app_bytes"]:
                deflate["server_ratio"] = round(st["server_wire_bytes"] / st["server_app_bytes"], 4)
            if p.pmd.stream_ended:
                deflate["client_messages_with_final_block"] = p.pmd.stream_ended
        if p.offers or p.extension_answer:
            entry["deflate"] = deflate
        if c.extra:
            entry["extra"] = c.extra
        with self.lock:
            self.results.setdefault(p.agent, collections.OrderedDict())[c.ID] = entry
        self.log("%s case %s: %s (%s / %s) %d ms" % (p.agent, c.ID, result, c.behavior,
                                                      c.behavior_close, entry["duration_ms"]))

    def write_report(self):
        if not self.args.report:
            return
        with self.lock:
            agents = collections.OrderedDict()
            for agent, cases in self.results.items():
                ordered = sorted(cases.values(), key=lambda e: case_id_tuple(e["id"]))
                counts = collections.OrderedDict(
                    (k, 0) for k in (OK, NON_STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED))
                for e in ordered:
                    counts[e["result"]] += 1
                agents[agent] = collections.OrderedDict([
                    ("counts", counts), ("cases_run", len(ordered)), ("cases", ordered)])
            doc = collections.OrderedDict([
                ("suite", "Autobahn|Testsuite fuzzingserver client cases, sections 1-7, 9, "
                          "10, 12, 13, and the project's section 16 (re-implemented in "
                          "tests/conformance/fuzzingserver.py)"),
                ("transport", "TLS" if self.tls_context else "TCP"),
                ("case_count", len(self.cases)),
                ("sections", SECTIONS),
                ("subsections", SUBSECTIONS),
                ("reductions", list(REDUCTIONS)),
                ("agents", agents),
            ])
            path = self.args.report
            d = os.path.dirname(path)
            if d:
                os.makedirs(d, exist_ok=True)
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(doc, f, indent=1)
                f.write("\n")
            os.replace(tmp, path)

    def serve(self):
        self.tls_context = None
        if self.args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(self.args.tls_cert, self.args.tls_key)
            self.tls_context = ctx
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.args.port))
        ls.listen(64)
        port = ls.getsockname()[1]
        if self.args.port_file:
            tmp = self.args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % port)
            os.replace(tmp, self.args.port_file)
        self.log("listening on 127.0.0.1:%d%s, %d cases" % (
            port, " (TLS)" if self.tls_context else "", len(self.cases)))
        deadline = now() + self.args.max_seconds
        try:
            while not self.stop.is_set() and now() < deadline:
                r, _, _ = select.select([ls], [], [], 0.2)
                if not r:
                    continue
                try:
                    sock, addr = ls.accept()
                except OSError:
                    continue
                peer = Peer(self, sock, addr, self.tls_context)
                t = threading.Thread(target=peer.run, daemon=True)
                t.start()
                self.threads = [x for x in self.threads if x.is_alive()] + [t]
        finally:
            ls.close()
            for t in self.threads:
                t.join(timeout=2)
            self.write_report()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=9001, help="TCP port (0: any free port)")
    ap.add_argument("--port-file", help="write the port number here once listening")
    ap.add_argument("--report", help="JSON report file (written on /updateReports and at exit)")
    ap.add_argument("--max-seconds", type=float, default=1200, help="exit after this long")
    ap.add_argument("--cases", help="comma-separated case patterns to run (default *)")
    ap.add_argument("--exclude", help="comma-separated case patterns to leave out")
    ap.add_argument("--list", action="store_true", help="print the cases and exit")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--tls-cert", help="certificate chain (PEM): the listener speaks TLS")
    ap.add_argument("--tls-key", help="the key of --tls-cert (PEM)")
    ap.add_argument("--deflate-budget", type=int,
                    help="sections 12 and 13: send at most this many payload bytes per case "
                         "(at least 10 messages; the suite sends 1000)")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    global DEFLATE_BUDGET
    if args.deflate_budget:
        DEFLATE_BUDGET = args.deflate_budget
        REDUCTIONS.append("sections 12 and 13: min(1000, max(%d, %d // message length)) "
                          "messages per case instead of 1000 (--deflate-budget)"
                          % (DEFLATE_MIN_MESSAGES, args.deflate_budget))
    srv = Server(args)
    if args.list:
        for i, c in enumerate(srv.cases, start=1):
            print("%3d %-8s %s" % (i, c.ID, c.DESCRIPTION))
        return 0

    def on_signal(signum, frame):
        srv.stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    srv.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
