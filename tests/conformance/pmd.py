"""pmd.py - permessage-deflate (RFC 7692) for the conformance server: extension header
parsing, the client's offers read as Autobahn|Testsuite 0.10.9's server reads them, the
server's answers, compression with Python's zlib, the payload corpora of sections 12 and
13, and the decompression bomb of section 16. Standard library only.
"""

import json
import math
import random
import struct
import zlib

EXTENSION = "permessage-deflate"
SYNC_TAIL = b"\x00\x00\xff\xff"
WINDOW_BITS = range(8, 16)    # what RFC 7692 allows in the offer and the answer
MEM_LEVEL = 8                 # the suite's PerMessageDeflate.DEFAULT_MEM_LEVEL


# ----------------------------------------------------------------------------- headers
def parse_extensions(values):
    """Sec-WebSocket-Extensions values (one per header line) -> [(name, {param: [value]})].
    Split as the suite does: extensions at ',', parameters at ';', a value after '='
    (quotes around it dropped); a parameter without '=' has the value None."""
    out = []
    for header in values:
        for ext in header.split(","):
            ext = ext.strip()
            if not ext:
                continue
            parts = [x.strip() for x in ext.split(";")]
            params = {}
            for p in parts[1:]:
                kv = [x.strip() for x in p.split("=")]
                key = kv[0].lower()
                val = None
                if len(kv) > 1:
                    val = "=".join(kv[1:])
                    if val.startswith('"'):
                        val = val[1:]
                    if val.endswith('"'):
                        val = val[:-1]
                params.setdefault(key, []).append(val)
            out.append((parts[0].lower(), params))
    return out


class Offer:
    """One permessage-deflate offer, read as the suite's PerMessageDeflateOffer.parse:
    accept_max_window_bits: the offer has client_max_window_bits (with or without value);
    accept_no_context_takeover: always True (the suite's parser defaults it to True, so
      the server may ask for client_no_context_takeover whatever the offer says);
    request_no_context_takeover: the offer has server_no_context_takeover;
    request_max_window_bits: the offer's server_max_window_bits, 0 when absent."""

    def __init__(self, params, text):
        self.text = text
        self.accept_max_window_bits = False
        self.client_max_window_bits = None     # the value offered, if any
        self.offered_client_no_context_takeover = False
        self.accept_no_context_takeover = True
        self.request_no_context_takeover = False
        self.request_max_window_bits = 0
        for name, vals in params.items():
            if len(vals) > 1:
                raise ValueError("parameter %s given more than once" % name)
            val = vals[0]
            if name == "client_max_window_bits":
                if val is not None:
                    self.client_max_window_bits = window_bits_value(name, val)
                self.accept_max_window_bits = True
            elif name == "client_no_context_takeover":
                if val is not None:
                    raise ValueError("client_no_context_takeover takes no value")
                self.offered_client_no_context_takeover = True
            elif name == "server_max_window_bits":
                if val is None:
                    raise ValueError("server_max_window_bits needs a value")
                self.request_max_window_bits = window_bits_value(name, val)
            elif name == "server_no_context_takeover":
                if val is not None:
                    raise ValueError("server_no_context_takeover takes no value")
                self.request_no_context_takeover = True
            else:
                raise ValueError("unknown parameter %s" % name)


def window_bits_value(name, val):
    try:
        n = int(val)
    except ValueError:
        raise ValueError("%s=%s is not a number" % (name, val))
    if n not in WINDOW_BITS:
        raise ValueError("%s=%d is outside 8..15" % (name, n))
    return n


def offer_text(name, params):
    s = name
    for k, vals in params.items():
        for v in vals:
            s += "; " + k + ("" if v is None else "=" + v)
    return s


def parse_offers(header_values):
    """-> (offers, other extension names). Raises ValueError for a permessage-deflate
    offer the suite's parser refuses (the suite then fails the opening handshake)."""
    offers, others = [], []
    for name, params in parse_extensions(header_values):
        if name == EXTENSION:
            offers.append(Offer(params, offer_text(name, params)))
        else:
            others.append(name)
    return offers, others


class Accept:
    """The server's answer to one offer (the suite's PerMessageDeflateOfferAccept):
    request_no_context_takeover asks the client for client_no_context_takeover,
    request_max_window_bits (9 or 15, 0: none) for client_max_window_bits=N."""

    def __init__(self, offer, request_no_context_takeover=False, request_max_window_bits=0):
        self.offer = offer
        self.request_no_context_takeover = request_no_context_takeover
        self.request_max_window_bits = request_max_window_bits

    def header(self):
        """The answer, parameters in the suite's order."""
        s = EXTENSION
        if self.offer.request_no_context_takeover:
            s += "; server_no_context_takeover"
        if self.offer.request_max_window_bits:
            s += "; server_max_window_bits=%d" % self.offer.request_max_window_bits
        if self.request_no_context_takeover:
            s += "; client_no_context_takeover"
        if self.request_max_window_bits:
            s += "; client_max_window_bits=%d" % self.request_max_window_bits
        return s

    def deflate(self):
        o = self.offer
        return Deflate(server_no_context_takeover=o.request_no_context_takeover,
                       client_no_context_takeover=self.request_no_context_takeover,
                       server_max_window_bits=o.request_max_window_bits or 15,
                       client_max_window_bits=self.request_max_window_bits or 15)


def usable(offer):
    # zlib cannot compress with an LZ77 window of 256 bytes (deflateInit2 refuses raw
    # window bits 8), so an offer that limits the server to 8 is declined; RFC 7692
    # lets a server decline any offer. The suite's server would fail there.
    return offer.request_max_window_bits != 8


def accept_first(offers, no_context_takeover=False, max_window_bits=0):
    """The suite's accept functions: the first offer that allows what the server asks."""
    for o in offers:
        if not usable(o):
            continue
        if no_context_takeover and not o.accept_no_context_takeover:
            continue
        if max_window_bits and not o.accept_max_window_bits:
            continue
        return Accept(o, no_context_takeover, max_window_bits)
    return None


class Deflate:
    """Negotiated permessage-deflate on the server's side: compresses what it sends with
    server_max_window_bits (context kept unless server_no_context_takeover), inflates what
    the client sends with client_max_window_bits (context kept unless
    client_no_context_takeover) - the suite's PerMessageDeflate, zlib level 6, memLevel 8."""

    def __init__(self, server_no_context_takeover, client_no_context_takeover,
                 server_max_window_bits, client_max_window_bits):
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compressor = None
        self.decompressor = None
        self.stream_ended = 0     # client messages that ended the DEFLATE stream (BFINAL)

    def params(self):
        return {"server_no_context_takeover": self.server_no_context_takeover,
                "client_no_context_takeover": self.client_no_context_takeover,
                "server_max_window_bits": self.server_max_window_bits,
                "client_max_window_bits": self.client_max_window_bits}

    def compress(self, payload, level=zlib.Z_DEFAULT_COMPRESSION):
        if self.compressor is None or self.server_no_context_takeover:
            self.compressor = zlib.compressobj(level, zlib.DEFLATED,
                                               -self.server_max_window_bits, MEM_LEVEL)
        data = self.compressor.compress(payload) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        return data[:-4]   # a sync flush always ends with 00 00 ff ff

    def decompress(self, data, limit):
        """Inflates one whole message (its frames' payloads joined). Raises zlib.error
        when the data is not DEFLATE under the negotiated window, ValueError when it
        would inflate beyond limit bytes."""
        d = self.decompressor
        if d is None or self.client_no_context_takeover or d.eof:
            d = self.decompressor = zlib.decompressobj(-self.client_max_window_bits)
        out = d.decompress(data + SYNC_TAIL, limit)
        if d.unconsumed_tail:
            raise ValueError("the message inflates beyond %d bytes" % limit)
        if d.eof:
            # a final block (BFINAL=1) ended the stream; the next message starts a new one
            self.stream_ended += 1
        return out


# ----------------------------------------------------------------------------- corpora
# Sections 12 and 13 echo slices of five files. The suite ships third-party files (a
# JSON file, a 512x512 greyscale bitmap, Goethe's Faust from Project Gutenberg, an HTML
# page, a PDF); this project generates its own of the same kinds and about the same
# sizes, deterministically, so that every run sends the same bytes.
_WORDS_EN = ("the of and to in is was for on with as by at from that this which are be "
             "an or it not data value system network server client message proxy stream "
             "buffer window frame socket record tunnel event handler timeout request reply "
             "header payload compression level memory state error result number string "
             "object array field index table column row page link section chapter").split()
_FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Günter", "Hana", "Iñigo",
          "Jonas", "Kaito", "Léa", "Marta", "Nils", "Oona", "Pavel", "Quentin", "Rosa",
          "Søren", "Tomás", "Ulla", "Vera", "Wen", "Xavier", "Yusuf", "Zoë"]
_LAST = ["Abe", "Brandt", "Costa", "Dąbrowski", "Eriksen", "Fischer", "García", "Horvát",
         "Ito", "Jensen", "Kowalski", "Lindqvist", "Müller", "Novák", "Okafor", "Petrov",
         "Quinn", "Rossi", "Schäfer", "Tanaka", "Ueda", "Varga", "Weiß", "Yilmaz", "Zhou"]
_CITIES = ["Berlin", "Kraków", "Lyon", "Malmö", "Porto", "Sevilla", "Tōkyō", "Zürich",
           "Ålesund", "Brno", "Gent", "Łódź", "Reykjavík", "São Paulo", "Montréal"]


def _sentence(r, words, lo, hi):
    n = r.randint(lo, hi)
    s = " ".join(r.choice(words) for _ in range(n))
    return s[0].upper() + s[1:] + r.choice([".", ".", ".", "!", "?", ";"])


def gen_json():
    r = random.Random(1201)
    recs = []
    i = 0
    while True:
        i += 1
        first, last = r.choice(_FIRST), r.choice(_LAST)
        recs.append({
            "id": i, "guid": "%08x-%04x-%04x-%04x-%012x" % tuple(r.getrandbits(b) for b in (32, 16, 16, 16, 48)),
            "isActive": r.random() < 0.5, "balance": "€%d,%03d.%02d" % (r.randint(1, 9), r.randint(0, 999), r.randint(0, 99)),
            "age": r.randint(18, 90), "name": "%s %s" % (first, last),
            "email": "%s.%s@example.org" % (first.lower(), last.lower()),
            "address": {"street": "%s %d" % (r.choice(_WORDS_EN).title() + "straße", r.randint(1, 200)),
                        "city": r.choice(_CITIES), "zip": "%05d" % r.randint(1000, 99999)},
            "about": " ".join(_sentence(r, _WORDS_EN, 6, 16) for _ in range(r.randint(1, 4))),
            "registered": "20%02d-%02d-%02dT%02d:%02d:%02d+01:00" % (
                r.randint(10, 24), r.randint(1, 12), r.randint(1, 28), r.randint(0, 23),
                r.randint(0, 59), r.randint(0, 59)),
            "latitude": round(r.uniform(-90, 90), 6), "longitude": round(r.uniform(-180, 180), 6),
            "tags": [r.choice(_WORDS_EN) for _ in range(r.randint(0, 6))],
            "friends": [{"id": r.randint(1, 5000), "name": "%s %s" % (r.choice(_FIRST), r.choice(_LAST))}
                        for _ in range(r.randint(0, 3))],
        })
        text = None
        if i % 50 == 0:
            text = json.dumps(recs, indent=2, ensure_ascii=False)
            if len(text) >= 194000:
                return text.encode("utf-8")


def gen_bitmap():
    """A 512x512 8-bit greyscale BMP (1078-byte header and palette, 262144 pixels):
    smooth shapes with some noise, so it compresses only in part."""
    w = h = 512
    r = random.Random(1202)
    head = b"BM" + struct.pack("<IHHI", 1078 + w * h, 0, 0, 1078)
    head += struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 0, w * h, 2835, 2835, 256, 0)
    head += b"".join(bytes([g, g, g, 0]) for g in range(256))
    sx = [math.sin(x / 23.0) for x in range(w)]
    cy = [math.cos(y / 31.0) for y in range(h)]
    diag = [math.sin(k / 57.0) for k in range(w + h)]
    rows = []
    for y in range(h):
        dy = (y - 300) * (y - 300)
        row = bytearray(w)
        for x in range(w):
            v = 128 + 55 * sx[x] * cy[y] + 30 * diag[x + y]
            if (x - 220) * (x - 220) + dy < 90 * 90:
                v = 200 - v / 3
            v += r.randint(-9, 9)
            row[x] = 0 if v < 0 else 255 if v > 255 else int(v)
        rows.append(bytes(row))
    return head + b"".join(rows)


_DE_NOUNS = ("Herz Nacht Welt Geist Himmel Erde Feuer Wasser Liebe Zeit Traum Stunde Sonne "
             "Mond Seele Wort Tat Kraft Blick Brust Hand Weg Tür Berg Tal Meer Wald Licht "
             "Schatten Glück Schmerz Frühling Gesang Stimme König Bürger Mädchen Knabe Gärten "
             "Tränen Flügel Lüfte Abend Morgen Quelle Strom Garten Stadt Turm Glocke").split()
_DE_VERBS = ("ist war bleibt fühlt sucht findet ruft schweigt trägt strebt irrt glüht blüht "
             "sinkt steigt wandelt träumt hört sieht spricht weint lacht ruht zieht").split()
_DE_ADJ = ("tief hoch still dunkel hell süß bitter wild müde froh ewig alt jung fremd leise "
           "kühn golden grün weiß schwer leicht warm kalt").split()
_DE_SMALL = "und der die das im in mit zu von auf aus nicht noch so wie doch wenn ach o".split()
_DE_SPEAKERS = ["DER WANDERER.", "DIE STIMME.", "DER CHOR.", "DIE ALTE.", "DER SCHÜLER."]


def gen_verse():
    """German verse, about 222 KB (sent as binary messages, as the suite sends Faust)."""
    r = random.Random(1203)
    out = []
    size = 0
    while size < 222000:
        lines = [r.choice(_DE_SPEAKERS)]
        for _ in range(r.randint(2, 9)):
            words = []
            for _ in range(r.randint(4, 8)):
                k = r.random()
                words.append(r.choice(_DE_NOUNS if k < 0.3 else _DE_VERBS if k < 0.45 else
                                      _DE_ADJ if k < 0.65 else _DE_SMALL))
            line = " ".join(words)
            lines.append(line[0].upper() + line[1:] + r.choice([",", ",", ".", "!", "?", ";", ""]))
        block = "\n".join(lines) + "\n\n"
        out.append(block)
        size += len(block.encode("utf-8"))
    return "".join(out).encode("utf-8")


def gen_html():
    r = random.Random(1204)
    parts = ['<!DOCTYPE html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n'
             '<title>Übersicht – Messwerte und Berichte</title>\n<style>\n'
             'body { font-family: sans-serif; margin: 2em; }\n'
             'table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 6px; }\n'
             '.num { text-align: right; } .warn { color: #b00; }\n</style>\n</head>\n<body>\n']
    size = len(parts[0])
    sec = 0
    while size < 263000:
        sec += 1
        chunk = ['<h2 id="s%d">Abschnitt %d: %s</h2>\n' % (sec, sec, _sentence(r, _WORDS_EN, 2, 5))]
        for _ in range(r.randint(1, 3)):
            chunk.append("<p>%s</p>\n" % " ".join(_sentence(r, _WORDS_EN, 8, 20) for _ in range(r.randint(2, 5))))
        chunk.append('<table class="data">\n<tr><th>Name</th><th>Ort</th><th>Wert</th><th>Status</th></tr>\n')
        for _ in range(r.randint(5, 20)):
            chunk.append('<tr><td>%s %s</td><td>%s</td><td class="num">%d,%02d €</td><td%s>%s</td></tr>\n' % (
                r.choice(_FIRST), r.choice(_LAST), r.choice(_CITIES), r.randint(0, 99999), r.randint(0, 99),
                ' class="warn"' if r.random() < 0.2 else "", r.choice(["aktiv", "geprüft", "offen", "gesperrt"])))
        chunk.append("</table>\n<ul>\n")
        for _ in range(r.randint(2, 6)):
            chunk.append('<li><a href="/bericht/%d/%s.html">%s</a> «%s»</li>\n' % (
                r.randint(1, 9999), r.choice(_WORDS_EN), r.choice(_WORDS_EN).title(), r.choice(_CITIES)))
        chunk.append("</ul>\n")
        text = "".join(chunk)
        parts.append(text)
        size += len(text.encode("utf-8"))
    parts.append("</body>\n</html>\n")
    return "".join(parts).encode("utf-8")


def gen_pdf():
    """A PDF-shaped file of about 1 MB whose bulk is FlateDecode streams (page contents
    and noisy images): it barely compresses, like the suite's PDF."""
    r = random.Random(1205)
    out = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    size = len(out[0])
    offsets = []
    n = 0
    while size < 1042000:
        n += 1
        if n % 3:
            ops = []
            y = 760
            for _ in range(r.randint(20, 50)):
                ops.append("BT /F1 %d Tf 72 %d Td (%s) Tj ET" % (
                    r.choice([9, 10, 11, 12]), y, _sentence(r, _WORDS_EN, 5, 12)))
                y -= 14
            raw = "\n".join(ops).encode("latin-1")
            kind = b""
        else:
            wd, ht = r.randint(64, 160), r.randint(64, 160)
            raw = r.randbytes(wd * ht // 2) + bytes(wd * ht // 2)
            kind = b"/Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 " \
                   b"/ColorSpace /DeviceGray " % (wd, ht)
        stream = zlib.compress(raw, 9)
        obj = (b"%d 0 obj\n<< %s/Length %d /Filter /FlateDecode >>\nstream\n" % (n, kind, len(stream))
               + stream + b"\nendstream\nendobj\n")
        offsets.append(size)
        out.append(obj)
        size += len(obj)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (n + 1)]
    xref += [b"%010d 00000 n \n" % off for off in offsets]
    out += xref
    out.append(b"trailer\n<< /Size %d >>\nstartxref\n%d\n%%%%EOF\n" % (n + 1, size))
    return b"".join(out)


# name -> (description, generator, binary); ordered as the suite's 12.1 ... 12.5
CORPORA = [
    ("json", "JSON records (generated)", gen_json, False),
    ("bitmap", "a 512x512 8-bit greyscale bitmap (generated)", gen_bitmap, True),
    ("verse", "German verse, human-readable text (generated)", gen_verse, True),
    ("html", "an HTML page (generated)", gen_html, False),
    ("pdf", "a PDF-shaped file of FlateDecode streams (generated)", gen_pdf, True),
]
_CORPUS_CACHE = {}


def corpus(name):
    """-> (bytes, str or None): the file, and for text files the decoded text (messages
    of text files are cut in characters, as the suite cuts them)."""
    if name not in _CORPUS_CACHE:
        for n, _desc, gen, binary in CORPORA:
            if n == name:
                data = gen()
                _CORPUS_CACHE[name] = (data, None if binary else data.decode("utf-8"))
    return _CORPUS_CACHE[name]


# ----------------------------------------------------------------------------- the bomb
BOMB_CHUNK = 1 << 20
_BOMB_CACHE = {}


def bomb(window_bits, inflated=1 << 30):
    """A DEFLATE message that inflates to `inflated` zero bytes: the compressed form of 1 MiB
    of zeros ended by a full flush (byte-aligned, no back-references across it) repeated,
    the last sync marker removed (about 1 KiB per MiB: 1 GiB costs about 1 MiB)."""
    key = (window_bits, inflated)
    if key not in _BOMB_CACHE:
        c = zlib.compressobj(9, zlib.DEFLATED, -window_bits, 9)
        block = c.compress(bytes(BOMB_CHUNK)) + c.flush(zlib.Z_FULL_FLUSH)
        _BOMB_CACHE[key] = (block * (inflated // BOMB_CHUNK))[:-4]
    return _BOMB_CACHE[key]
