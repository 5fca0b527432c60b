#!/usr/bin/env python3
"""A raw-socket CONNECT client that drives tests/peers/http_proxy's authentication modes
for tests/auth_peer_selftest.sh, written independently of the proxy's C code (its Digest
hashes come from Python's hashlib).

    auth_peer_client.py SCENARIO PROXY_PORT TARGET_PORT USER PASSWORD

TARGET_PORT serves "hello-target" over plain HTTP (python3 -m http.server). A scenario
checks every reply on the wire (status, challenge headers, body framing, whether the
connection stays open) and, when it reaches a tunnel, that a GET through it returns the
target's page. Exit status 0 when all is as expected; otherwise one line "FAIL: WHY" on
stderr and status 1. Nothing is printed on success; the credentials are never printed.
The proxy's log lines are checked by the calling script.
"""
import base64
import hashlib
import re
import socket
import sys
import time

TIMEOUT = 5.0
BODY_PATTERN = b"HTTP/1.1 200 OK\r\n\r\nproxy authentication required\n"


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


class Conn:
    """One TCP connection to the proxy with a receive buffer."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def read_until(self, sep):
        while sep not in self.buf:
            self._more()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_n(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self):
        try:
            while True:
                self._more()
        except EOFError:
            pass
        out, self.buf = self.buf, b""
        return out

    def at_eof(self, wait=2.0):
        """True if the proxy closed the connection (nothing more arrives, then EOF)."""
        self.s.settimeout(wait)
        try:
            d = self.s.recv(1)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.s.settimeout(TIMEOUT)
        check(not d, "bytes after the reply: %r" % d)
        return True

    def close(self):
        self.s.close()


class Reply:
    def __init__(self, version, status, headers, body, trailers, chunk_lines):
        self.version, self.status, self.headers = version, status, headers
        self.body, self.trailers, self.chunk_lines = body, trailers, chunk_lines

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def one(self, name):
        v = self.all(name)
        check(len(v) == 1, "expected one %s header, got %r" % (name, v))
        return v[0]


def parse_head(raw):
    lines = raw.decode("latin-1").split("\r\n")
    m = re.match(r"^(HTTP/1\.[01]) (\d{3})(?: .*)?$", lines[0])
    check(m, "bad status line %r" % lines[0])
    headers = []
    for ln in lines[1:]:
        if not ln:
            continue
        n, _, v = ln.partition(":")
        headers.append((n, v.strip()))
    return m.group(1), int(m.group(2)), headers


def read_reply(c, connect=True):
    """A reply head and, unless it is a 2xx to CONNECT, its body by its framing."""
    head = c.read_until(b"\r\n\r\n")
    version, status, headers = parse_head(head)
    r = Reply(version, status, headers, b"", [], [])
    if connect and 200 <= status < 300:
        return r
    te = [v for n, v in headers if n.lower() == "transfer-encoding"]
    cl = [v for n, v in headers if n.lower() == "content-length"]
    if te:
        check(te == ["chunked"], "Transfer-Encoding %r" % te)
        while True:
            line = c.read_until(b"\r\n")[:-2].decode("latin-1")
            r.chunk_lines.append(line)
            size = int(line.split(";", 1)[0], 16)
            if size == 0:
                break
            r.body += c.read_n(size)
            check(c.read_n(2) == b"\r\n", "chunk data not followed by CRLF")
        while True:
            line = c.read_until(b"\r\n")[:-2].decode("latin-1")
            if not line:
                break
            r.trailers.append(line)
    elif cl:
        check(len(cl) == 1, "several Content-Length headers")
        r.body = c.read_n(int(cl[0]))
    else:
        r.body = c.read_to_eof()
    return r


def connect_req(target, headers=(), version="HTTP/1.1"):
    h = "CONNECT %s %s\r\nHost: %s\r\n" % (target, version, target)
    for line in headers:
        h += line + "\r\n"
    return (h + "\r\n").encode("utf-8")


def expect_tunnel(c, tport):
    c.send(b"GET / HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n" % tport)
    data = c.read_to_eof()
    check(b"hello-target" in data, "the tunnel did not return the target's page: %r" % data[:200])


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def basic_then_tunnel(c, a, what, version="HTTP/1.1"):
    """Basic credentials on connection c get a 200 and a working tunnel"""
    c.send(connect_req(a.target, ["Proxy-Authorization: " + basic(a.user, a.pw)], version=version))
    r = read_reply(c)
    check(r.status == 200, "%s: %d" % (what, r.status))
    expect_tunnel(c, a.tport)


# ------------------------------------------------------------------ Digest (hashlib)

HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}


def H(alg, s):
    if alg == "SHA-512-TRUNC":
        return hashlib.sha512(s.encode()).hexdigest()[:64]
    return hashlib.new(HASHES[alg], s.encode()).hexdigest()


def challenge_params(value):
    """auth-params of one Digest challenge value (quoted-pairs unescaped)."""
    out = {}
    for m in re.finditer(r'([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))', value):
        out[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", m.group(2)) if m.group(2) is not None else m.group(3)
    return out


def digest_challenges(reply, hname="Proxy-Authenticate"):
    return [challenge_params(v[7:]) for v in reply.all(hname) if v.startswith("Digest ")]


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest(user, pw, ch, uri, nc="00000001", cnonce="Y25vbmNlLTE=", alg="MD5", qop="auth", hash_as=None,
           extra=(), userhash=False, username_star=None, overrides=None, omit=()):
    """A Digest credentials value; overrides / omit change single parameters."""
    base = alg.replace("-sess", "")
    h = hash_as or base
    realm, nonce = ch["realm"], ch["nonce"]
    ha1 = H(h, "%s:%s:%s" % (user, realm, pw))
    if alg.endswith("-sess"):
        ha1 = H(h, "%s:%s:%s" % (ha1, nonce, cnonce))
    ha2 = H(h, "CONNECT:%s" % uri)
    if qop:
        resp = H(h, "%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
    else:
        resp = H(h, "%s:%s:%s" % (ha1, nonce, ha2))
    p = []
    if username_star is not None:
        p.append(("username*", username_star))
    elif userhash:
        p.append(("username", q(H(h, "%s:%s" % (user, realm)))))
    else:
        p.append(("username", q(user)))
    p += [("realm", q(realm)), ("nonce", q(nonce)), ("uri", q(uri)), ("algorithm", alg)]
    if qop:
        p += [("qop", qop), ("nc", nc), ("cnonce", q(cnonce))]
    p.append(("response", q(resp)))
    if "opaque" in ch:
        p.append(("opaque", q(ch["opaque"])))
    if userhash:
        p.append(("userhash", "true"))
    p += list(extra)
    for k, v in (overrides or {}).items():
        p = [(n, v if n == k else w) for n, w in p]
    p = [(n, w) for n, w in p if n not in omit]
    return "Digest " + ", ".join("%s=%s" % (n, w) for n, w in p)


# ------------------------------------------------------------------ scenarios

def first_407(c, target, status=407, hname="Proxy-Authenticate"):
    c.send(connect_req(target))
    r = read_reply(c)
    check(r.status == status, "expected %d, got %d" % (status, r.status))
    check(r.all(hname), "no %s header" % hname)
    return r


def token_exchange(a, scheme, rounds, mutual):
    """no credentials (bare scheme offered), then each (client, server) round on one
    connection, the last answered 200 with the mutual token (or none)"""
    c = Conn(a.pport)
    r = first_407(c, a.target)
    check(r.all("Proxy-Authenticate") == [scheme], "first 407 offers %r" % r.all("Proxy-Authenticate"))
    for i, (tok, want) in enumerate(rounds):
        c.send(connect_req(a.target, ["Proxy-Authorization: %s %s" % (scheme, tok)]))
        r = read_reply(c)
        last = i == len(rounds) - 1
        hdrs = ([scheme + " " + mutual] if mutual else []) if last else [scheme + " " + want]
        check(r.status == (200 if last else 407) and r.all("Proxy-Authenticate") == hdrs,
              "round %d: %d %r, expected %r" % (i + 1, r.status, r.all("Proxy-Authenticate"), hdrs))
    expect_tunnel(c, a.tport)


def sc_ntlm(a):
    token_exchange(a, "NTLM", [("Y2xpZW50LTE=", "c2VydmVyLTE="), ("Y2xpZW50LTI=", "")], None)


def sc_ntlm_newconn(a):
    c = Conn(a.pport)
    c.send(connect_req(a.target, ["Proxy-Authorization: NTLM Y2xpZW50LTE="]))
    r = read_reply(c)
    check(r.status == 407 and r.all("Proxy-Authenticate") == ["NTLM c2VydmVyLTE="], "round 1 failed")
    c2 = Conn(a.pport)
    c2.send(connect_req(a.target, ["Proxy-Authorization: NTLM Y2xpZW50LTI="]))
    r = read_reply(c2)
    check(r.status == 407 and r.all("Proxy-Authenticate") == ["NTLM"], "round 2 on a new connection: %d %r" %
          (r.status, r.all("Proxy-Authenticate")))
    c.close()
    c2.close()


def sc_negotiate(a):
    token_exchange(a, "Negotiate", [("YV9uZWctMQ==", "Yl9uZWctMQ=="), ("YV9uZWctMg==", "")], "bXV0dWFs")


def sc_token_wrong(a):
    c = Conn(a.pport)
    c.send(connect_req(a.target, ["Proxy-Authorization: Negotiate d3Jvbmc="]))
    r = read_reply(c)
    check(r.status == 407 and r.all("Proxy-Authenticate") == ["Negotiate"], "wrong token: %d %r" %
          (r.status, r.all("Proxy-Authenticate")))


def sc_order(a):
    c = Conn(a.pport)
    r = first_407(c, a.target)
    v = r.all("Proxy-Authenticate")
    names = [x.split(" ", 1)[0] for x in v]
    check(names == ["Negotiate", "NTLM", "Digest", "Digest", "Basic"], "challenge order %r" % names)
    chs = digest_challenges(r)
    check([x.get("algorithm") for x in chs] == ["SHA-256", "MD5"], "Digest algorithms %r" % chs)
    check(chs[0]["nonce"] == chs[1]["nonce"], "Digest challenges of one reply have different nonces")
    check(chs[0]["realm"] == 'wsproxy "test"', "realm unescaped is %r" % chs[0]["realm"])
    check('realm="wsproxy \\"test\\""' in v[2], "realm not written with quoted-pairs: %r" % v[2])
    # answer the SHA-256 challenge on the same connection
    c.send(connect_req(a.target, ["Proxy-Authorization: " + digest(a.user, a.pw, chs[0], a.target, alg="SHA-256")]))
    r = read_reply(c)
    check(r.status == 200, "SHA-256 answer: %d" % r.status)
    expect_tunnel(c, a.tport)


def sc_one_header(a):
    c = Conn(a.pport)
    r = first_407(c, a.target)
    v = r.all("Proxy-Authenticate")
    check(len(v) == 1, "%d Proxy-Authenticate headers, expected 1" % len(v))
    check(re.match(r'^Negotiate, NTLM, Digest realm=".*", Digest realm=".*", Basic realm=".*"$', v[0]),
          "one header: %r" % v[0])
    basic_then_tunnel(c, a, "Basic after the one-header 407")


def body_checks(r, n):
    check(r.body == (BODY_PATTERN * (n // len(BODY_PATTERN) + 1))[:n], "407 body is %r" % r.body[:80])
    if n >= 19:
        check(r.body.startswith(b"HTTP/1.1 200 OK\r\n\r\n"), "the 407 body lacks the fake reply head")


def sc_body_chunked(a):
    c = Conn(a.pport)
    r = first_407(c, a.target)
    check(r.all("Transfer-Encoding") == ["chunked"] and r.all("Trailer") == ["X-Test-Trailer"],
          "chunked headers %r" % r.headers)
    check(not r.all("Content-Length"), "Content-Length with chunked")
    check(r.chunk_lines[0] == "7;wsproxy-ext=1", "first chunk line %r" % r.chunk_lines[0])
    check("1A" in r.chunk_lines, "no chunk of size 1A: %r" % r.chunk_lines)
    check(r.trailers == ["X-Test-Trailer: end"], "trailers %r" % r.trailers)
    body_checks(r, 60)
    basic_then_tunnel(c, a, "Basic on the kept connection after a chunked 407")


def sc_body_length(a):
    c = Conn(a.pport)
    r = first_407(c, a.target)
    check(r.version == "HTTP/1.1" and not r.all("Connection"), "407 head %r" % r.headers)
    check(r.one("Content-Length") == "98", "Content-Length %r" % r.all("Content-Length"))
    body_checks(r, 98)
    basic_then_tunnel(c, a, "Basic on the kept connection")


def sc_body_none(a):
    c = Conn(a.pport)
    r = first_407(c, a.target)
    check(r.one("Content-Length") == "0" and r.body == b"", "body %r" % r.body)
    basic_then_tunnel(c, a, "Basic on the kept connection")


def sc_body_eof(a):
    c = Conn(a.pport)
    r = first_407(c, a.target)  # reads the body to EOF
    check(not r.all("Content-Length") and not r.all("Transfer-Encoding"), "eof body has a length")
    check(r.all("Connection") == ["close"], "Connection %r" % r.all("Connection"))
    body_checks(r, 98)


def closed_after(a, want_version, want_connection):
    c = Conn(a.pport)
    r = first_407(c, a.target)
    check(r.version == want_version, "status line version %s" % r.version)
    check(r.all("Connection") == want_connection, "Connection %r, expected %r" % (r.all("Connection"), want_connection))
    check(c.at_eof(), "the proxy kept the connection open")
    c = Conn(a.pport)
    basic_then_tunnel(c, a, "Basic on a new connection")


def sc_http10_407(a):
    closed_after(a, "HTTP/1.0", [])


def sc_close_after(a):
    closed_after(a, "HTTP/1.1", ["close"])


def sc_silent(a):
    c = Conn(a.pport)
    r = first_407(c, a.target)
    check(r.version == "HTTP/1.1" and not r.all("Connection"), "silent close says %r" % r.all("Connection"))
    # a client that believes in keep-alive sends its next request: no answer, the
    # connection ends
    c.send(connect_req(a.target, ["Proxy-Authorization: " + basic(a.user, a.pw)]))
    check(c.at_eof(), "the proxy kept the connection open")
    c.close()


def sc_http10_request(a):
    c = Conn(a.pport)
    c.send(connect_req(a.target, version="HTTP/1.0"))
    r = read_reply(c)
    check(r.status == 407 and r.all("Connection") == ["close"], "HTTP/1.0 request: %d %r" % (r.status, r.headers))
    check(c.at_eof(), "HTTP/1.0 request without keep-alive: the connection stayed open")
    c = Conn(a.pport)
    c.send(connect_req(a.target, ["Proxy-Connection: keep-alive"], version="HTTP/1.0"))
    r = read_reply(c)
    check(r.status == 407 and r.all("Connection") == ["keep-alive"], "HTTP/1.0 keep-alive: %r" % r.headers)
    basic_then_tunnel(c, a, "HTTP/1.0 request on the kept connection", version="HTTP/1.0")


def sc_pipeline(a):
    c = Conn(a.pport)
    c.send(connect_req(a.target) + connect_req(a.target, ["Proxy-Authorization: " + basic(a.user, a.pw)]))
    check(read_reply(c).status == 407, "first pipelined request")
    check(read_reply(c).status == 200, "second pipelined request")
    expect_tunnel(c, a.tport)


def sc_basic_wrong(a):
    c = Conn(a.pport)
    c.send(connect_req(a.target, ["Proxy-Authorization: " + basic(a.user, a.pw + "x")]))
    check(read_reply(c).status == 407, "wrong password accepted")
    c.send(connect_req(a.target, ["Proxy-Authorization: " + basic(a.user + "x", a.pw)]))
    check(read_reply(c).status == 407, "wrong user accepted")
    c.send(connect_req(a.target, ["Proxy-Authorization: Basic !!!"]))
    check(read_reply(c).status == 407, "bad base64 accepted")
    c.send(connect_req(a.target, ["Proxy-Authorization: " + basic(a.user, a.pw),
                                  "Proxy-Authorization: " + basic(a.user, a.pw)]))
    check(read_reply(c).status == 407, "two Proxy-Authorization headers accepted")


def sc_status401(a):
    c = Conn(a.pport)
    r = first_407(c, a.target, 401, "WWW-Authenticate")
    check(not r.all("Proxy-Authenticate"), "401 also has Proxy-Authenticate")
    check(r.one("WWW-Authenticate").startswith("Basic realm="), "401 challenge %r" % r.all("WWW-Authenticate"))
    c.send(connect_req(a.target, ["Proxy-Authorization: " + basic(a.user, a.pw)]))
    check(read_reply(c).status == 401, "401 mode took Proxy-Authorization")
    c.send(connect_req(a.target, ["Authorization: " + basic(a.user, a.pw)]))
    check(read_reply(c).status == 200, "401 mode: Authorization refused")
    expect_tunnel(c, a.tport)


def fresh_digest(c, target):
    c.send(connect_req(target))
    r = read_reply(c)
    check(r.status == 407, "expected 407, got %d" % r.status)
    chs = digest_challenges(r)
    check(chs, "no Digest challenge")
    return chs[0]


def try_digest(c, target, cred, want):
    c.send(connect_req(target, ["Proxy-Authorization: " + cred]))
    r = read_reply(c)
    check(r.status == want, "expected %d, got %d" % (want, r.status))
    return r


def sc_digest_nc(a):
    c = Conn(a.pport)
    ch = fresh_digest(c, a.target)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target), 200)
    expect_tunnel(c, a.tport)
    c = Conn(a.pport)  # the same nonce and nc again: a replay
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target), 407)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, nc="1"), 407)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, nc="0000000A"), 407)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, nc="00000003"), 200)
    expect_tunnel(c, a.tport)


def sc_digest_faults(a):
    """each fault on the same kept connection, in the order the script expects its WHY"""
    c = Conn(a.pport)
    ch = fresh_digest(c, a.target)
    check(ch.get("opaque") == "op/aq+ue=", "opaque %r" % ch.get("opaque"))
    faults = [
        dict(overrides={"uri": q("/")}),
        dict(omit=("cnonce",)),
        dict(overrides={"opaque": q("other")}),
        dict(overrides={"qop": '"auth"'}),
        dict(overrides={"nonce": q("bm90LWlzc3VlZA==")}),
        dict(overrides={"realm": q("other")}),
        dict(alg="SHA-256"),
        dict(overrides={"username": q("nobody")}),
        dict(omit=("opaque",)),
        dict(extra=(("response", q("00")),)),
    ]
    nc = 1
    for f in faults:
        nc += 1
        kw = dict(nc="%08x" % nc)
        kw.update(f)
        try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, **kw), 407)
    try_digest(c, a.target, digest(a.user, a.pw + "x", ch, a.target, nc="%08x" % (nc + 1)), 407)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, nc="%08x" % (nc + 2)), 200)
    expect_tunnel(c, a.tport)


def sc_digest_stale(a):
    c = Conn(a.pport)
    ch = fresh_digest(c, a.target)
    check("stale" not in ch, "first challenge is stale")
    r = try_digest(c, a.target, digest(a.user, a.pw, ch, a.target), 407)
    ch2 = digest_challenges(r)[0]
    check(ch2.get("stale") == "true", "forced stale 407 lacks stale=true: %r" % ch2)
    check(ch2["nonce"] != ch["nonce"], "stale 407 kept the nonce")
    r = try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, nc="00000002"), 407)  # retired nonce
    check(digest_challenges(r)[0].get("stale") == "true", "retired nonce: no stale=true")
    try_digest(c, a.target, digest(a.user, a.pw, ch2, a.target), 200)
    expect_tunnel(c, a.tport)


def sc_digest_charset(a):
    c = Conn(a.pport)
    ch = fresh_digest(c, a.target)
    check(ch.get("charset") == "UTF-8", "no charset=UTF-8: %r" % ch)
    star = "UTF-8''" + "".join(ch_ if re.match(r"[A-Za-z0-9!#$&+.^_`|~-]", ch_) else
                                "".join("%%%02X" % b for b in ch_.encode()) for ch_ in a.user)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, username_star=star.replace("%C3%A4", "%C3%A5")), 407)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, nc="00000002", username_star=star), 200)
    expect_tunnel(c, a.tport)


def sc_digest_userhash(a):
    c = Conn(a.pport)
    ch = fresh_digest(c, a.target)
    check(ch.get("userhash") == "true", "no userhash=true: %r" % ch)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, alg="SHA-256", userhash=True), 200)
    expect_tunnel(c, a.tport)


def sc_digest_sha512(a):
    c = Conn(a.pport)
    ch = fresh_digest(c, a.target)
    check(ch.get("algorithm") == "SHA-512-256", "algorithm %r" % ch.get("algorithm"))
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, alg="SHA-512-256", hash_as="SHA-512-TRUNC"), 407)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, nc="00000002", alg="SHA-512-256"), 200)
    expect_tunnel(c, a.tport)


def sc_digest_legacy(a):
    c = Conn(a.pport)
    ch = fresh_digest(c, a.target)
    check("qop" not in ch and "algorithm" not in ch, "legacy challenge has qop or algorithm: %r" % ch)
    try_digest(c, a.target, digest(a.user, a.pw, ch, a.target, qop="auth"), 407)
    cred = digest(a.user, a.pw, ch, a.target, qop=None).replace(", algorithm=MD5", "")
    try_digest(c, a.target, cred, 200)
    expect_tunnel(c, a.tport)


SCENARIOS = {name[3:].replace("_", "-"): fn for name, fn in globals().items() if name.startswith("sc_")}


class Args:
    pass


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in SCENARIOS:
        sys.stderr.write("usage: auth_peer_client.py {%s} PROXY_PORT TARGET_PORT USER PASSWORD\n" %
                         "|".join(sorted(SCENARIOS)))
        return 2
    a = Args()
    a.pport, a.tport = int(sys.argv[2]), int(sys.argv[3])
    a.user, a.pw = sys.argv[4], sys.argv[5]
    a.target = "127.0.0.1:%d" % a.tport
    t0 = time.time()
    try:
        SCENARIOS[sys.argv[1]](a)
    except Fail as e:
        sys.stderr.write("FAIL: %s\n" % e)
        return 1
    except (OSError, EOFError) as e:
        sys.stderr.write("FAIL: %s after %.1f s\n" % (type(e).__name__, time.time() - t0))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
