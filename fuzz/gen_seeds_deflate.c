/* Writes the seeds of fuzz/fuzz_client_deflate.c into DIR/fuzz_client_deflate/: real
   permessage-deflate streams a server would send (compressed here with zlib, framed by
   this program's own code, not the library's), for several answers of the 101, plus the
   faults a client must catch (a bomb, bad DEFLATE data, RSV1 where it is not allowed,
   bad UTF-8 inside compressed text) and caller actions that make the client compress.

     build/fuzz/gen_seeds_deflate fuzz/seeds        (make fuzz-seeds-deflate)

   Seeds are committed; rerun this after changing it and commit the result. The input
   layout (flags byte, parameter, split seed, script with 0xFF escapes) is the target's. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* the target's answer indexes (fuzz_client_deflate.c, ANSWERS) and what they settle */
enum { A_PLAIN = 0, A_SNCT = 1, A_SW9 = 2, A_SW12 = 5, A_SW15 = 8, A_CNCT = 9, A_CW9 = 10, A_CW8 = 11,
       A_SW8 = 12, A_MIX = 13 };
static int server_bits(int answer)
{
    if (answer >= A_SW9 && answer <= A_SW15) return 9 + (answer - A_SW9);
    if (answer == A_SW8) return 8;
    if (answer == A_MIX) return 10;
    return 15;
}
static int server_resets(int answer) { return answer == A_SNCT || answer == A_MIX || answer == 15; }

/* flags beside the answer */
enum { F_MSGBUF = 16, F_SMALL_MAX = 32, F_RECV_BUF = 64, F_OFFER2 = 128 };

static const char *dir;
static int written;

/* ---- the seed being built ------------------------------------------------------------- */
static unsigned char seed[8000];   /* the target's fuzz-max-len */
static size_t seed_len;
static int seed_over;

static void raw(const void *p, size_t n)   /* script bytes as they are (actions) */
{
    if (n > sizeof seed - seed_len) { seed_over = 1; return; }
    memcpy(seed + seed_len, p, n);
    seed_len += n;
}
static void bytes(const unsigned char *p, size_t n)   /* server bytes: 0xFF doubled */
{
    size_t i;
    for (i = 0; i < n; i++) {
        raw(p + i, 1);
        if (p[i] == 0xFF) raw(p + i, 1);
    }
}
static void action(char a, unsigned a0, unsigned a1, unsigned a2)
{
    unsigned char b[5];
    b[0] = 0xFF;
    b[1] = (unsigned char)a;
    b[2] = (unsigned char)a0;
    b[3] = (unsigned char)a1;
    b[4] = (unsigned char)a2;
    raw(b, 5);
}

static void begin(int flags, unsigned param, unsigned split)
{
    unsigned char h[3];
    h[0] = (unsigned char)flags;
    h[1] = (unsigned char)param;
    h[2] = (unsigned char)split;
    seed_len = 0;
    seed_over = 0;
    raw(h, 3);
}

static void finish(const char *name)
{
    char path[512];
    FILE *f;
    if (seed_over) { fprintf(stderr, "gen_seeds_deflate: %s is over %zu bytes\n", name, sizeof seed); exit(1); }
    snprintf(path, sizeof path, "%s/fuzz_client_deflate", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) { perror(path); exit(1); }
    snprintf(path, sizeof path, "%s/fuzz_client_deflate/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(seed, 1, seed_len, f) != seed_len || fclose(f) != 0) { perror(path); exit(1); }
    written++;
}

/* ---- a server frame: FIN, RSV1, opcode, unmasked payload ------------------------------ */
static void frame(int fin, int rsv1, int opcode, const unsigned char *p, size_t n)
{
    unsigned char h[10];
    size_t hl = 2;
    h[0] = (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
    if (n < 126) h[1] = (unsigned char)n;
    else if (n <= 0xFFFF) { h[1] = 126; h[2] = (unsigned char)(n >> 8); h[3] = (unsigned char)n; hl = 4; }
    else {
        int i;
        h[1] = 127;
        for (i = 0; i < 8; i++) h[2 + i] = (unsigned char)((unsigned long long)n >> (56 - 8 * i));
        hl = 10;
    }
    bytes(h, hl);
    bytes(p, n);
}

/* ---- the server's compressor ------------------------------------------------------------ */
static z_stream zs;
static int z_answer;

static void z_start(int answer)
{
    int bits = server_bits(answer);
    if (zs.state) deflateEnd(&zs);
    memset(&zs, 0, sizeof zs);
    /* zlib's deflate does not take a raw window of 8: it uses 9, which a receiver with a
       window of 8 may refuse (a distance too far back). Window 8 seeds keep to stored
       and literal-only data (Z_HUFFMAN_ONLY). */
    if (deflateInit2(&zs, 6, Z_DEFLATED, -(bits < 9 ? 9 : bits), 8,
                     bits < 9 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    z_answer = answer;
}

/* One message compressed as RFC 7692 says: a sync flush, the 00 00 ff ff dropped. */
static size_t z_message(const unsigned char *p, size_t n, unsigned char *out, size_t cap)
{
    size_t len;
    int r;
    zs.next_in = (Bytef *)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    r = deflate(&zs, Z_SYNC_FLUSH);
    len = cap - zs.avail_out;
    if (r == Z_BUF_ERROR && n == 0 && len == 0) {   /* nothing new since the last flush: */
        out[0] = 0x00;                               /* an empty block's first byte (7.2.3.6) */
        return 1;
    }
    if (r != Z_OK || zs.avail_in || len < 4 || memcmp(out + len - 4, "\0\0\xff\xff", 4) != 0) {
        fprintf(stderr, "gen_seeds_deflate: deflate failed (%d)\n", r);
        exit(1);
    }
    if (server_resets(z_answer)) deflateReset(&zs);
    return len - 4;
}

/* A compressed data message in `frames` frames (RSV1 on the first only). */
static void zmsg(int opcode, const unsigned char *p, size_t n, int frames)
{
    static unsigned char out[1 << 16];
    size_t len = z_message(p, n, out, sizeof out), off = 0;
    int i;
    if (frames < 1) frames = 1;
    for (i = 0; i < frames; i++) {
        size_t part = i == frames - 1 ? len - off : len / (size_t)frames;
        frame(i == frames - 1, i == 0, i == 0 ? opcode : 0, out + off, part);
        off += part;
    }
}

/* A seed of one compressed message in one frame (RSV1), after the 101 of `flags`. */
static void zseed(int flags, unsigned param, unsigned split, int opcode, const unsigned char *p, size_t n,
                  const char *name)
{
    static unsigned char out[1 << 16];
    size_t len;
    begin(flags, param, split);
    z_start(flags & 15);
    len = z_message(p, n, out, sizeof out);
    frame(1, 1, opcode, out, len);
    finish(name);
}

/* ---- payloads ------------------------------------------------------------------------ */
static unsigned char text_buf[40000], bin_buf[40000];

static void make_payloads(void)
{
    static const char *const words[] = {"{\"id\":", "\"price\":", "12.5", ",", "\"sym\":\"EURUSD\"", "}",
                                        " caf\xc3\xa9", " \xe2\x82\xac", " \xf0\x9f\x98\x80", "\n"};
    size_t i = 0;
    unsigned x = 12345;
    for (;;) {
        const char *w;
        size_t l;
        x = x * 1103515245u + 12345u;
        w = words[(x >> 16) % 10];
        l = strlen(w);
        if (l > sizeof text_buf - i) break;
        memcpy(text_buf + i, w, l);
        i += l;
    }
    memset(text_buf + i, ' ', sizeof text_buf - i);
    for (i = 0; i < sizeof bin_buf; i++) {
        x = x * 1664525u + 1013904223u;
        bin_buf[i] = (unsigned char)(x >> 24);
    }
}

/* text_buf[off, off+len) moved to whole code points, so the message is valid UTF-8 */
static const unsigned char *text_at(size_t off, size_t *len)
{
    size_t end = off + *len;
    while (off < end && (text_buf[off] & 0xC0) == 0x80) off++;
    while (end > off && end < sizeof text_buf && (text_buf[end] & 0xC0) == 0x80) end--;
    *len = end - off;
    return text_buf + off;
}

/* A compressed text message of about len bytes of text_buf from off. */
static void ztext(size_t off, size_t len, int frames)
{
    const unsigned char *p = text_at(off, &len);
    zmsg(1, p, len, frames);
}

/* ---- the seeds ---------------------------------------------------------------------- */
static void seeds_for_answer(int answer, const char *tag)
{
    char name[128];
    static const unsigned char ping[] = "zping";
    static const unsigned char close_ok[] = {0x03, 0xE8, 'b', 'y', 'e'};

    /* a few messages of each kind, context kept or reset as the answer says */
    begin(answer, 0, 0);
    z_start(answer);
    ztext(0, 300, 1);
    ztext(0, 300, 1);        /* the same again: back-references across messages */
    zmsg(2, bin_buf, 200, 1);
    zmsg(2, text_buf, 0, 1);          /* empty */
    {
        size_t l = 40;
        const unsigned char *t = text_at(0, &l);
        frame(1, 0, 1, t, l);
    }     /* uncompressed between compressed ones */
    ztext(7, 2000, 3);   /* fragmented */
    frame(1, 0, 9, ping, 5);
    frame(1, 0, 8, close_ok, sizeof close_ok);
    snprintf(name, sizeof name, "%s-messages", tag);
    finish(name);

    /* the same fed through recv_buf, in random splits, into a message buffer */
    begin(answer | F_RECV_BUF | F_MSGBUF, 40, 13);
    z_start(answer);
    ztext(0, 3000, 1);
    zmsg(2, bin_buf, 1500, 2);
    ztext(100, 3000, 1);
    snprintf(name, sizeof name, "%s-msgbuf-split", tag);
    finish(name);

    /* the client compresses: text, binary, streamed, fragments; the server echoes one */
    begin(answer, 0, 7);
    z_start(answer);
    action('u', 20, 5, 0);
    action('b', 4, 0, 1);
    action('s', 10, 20, 40);
    action('f', 1, 60, 0);
    action('g', 1, 60, 30);
    action('t', 'h', 'i', '!');
    ztext(0, 100, 1);
    action('c', 0, 5, 0);
    frame(1, 0, 8, close_ok, 2);
    snprintf(name, sizeof name, "%s-client-sends", tag);
    finish(name);
}

static void fault_seeds(void)
{
    static unsigned char zeros[1 << 20], out[1 << 16];
    size_t n;
    int i;

    /* a bomb: 1 MiB of zeros in about a kilobyte, against a max_message of 301, then
       into a message buffer of 1000 + 40 * 200 bytes */
    zseed(A_PLAIN | F_SMALL_MAX, 100, 0, 2, zeros, sizeof zeros, "bomb-small-max");
    zseed(A_PLAIN | F_MSGBUF, 40, 31, 2, zeros, sizeof zeros, "bomb-msgbuf");

    /* bad DEFLATE data: a block of the reserved type 3 */
    begin(A_PLAIN, 0, 0);
    {
        static const unsigned char bad[] = {0x07, 0x00, 0x11, 0x22};
        frame(1, 1, 1, bad, sizeof bad);
    }
    finish("inflate-bad-block");

    /* a message ended by a final block (BFINAL), then bytes after it */
    begin(A_PLAIN, 0, 0);
    {
        z_stream f;
        unsigned char o[256];
        size_t len;
        memset(&f, 0, sizeof f);
        if (deflateInit2(&f, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
        f.next_in = text_buf;
        f.avail_in = 100;
        f.next_out = o;
        f.avail_out = sizeof o;
        if (deflate(&f, Z_FINISH) != Z_STREAM_END) exit(1);
        len = sizeof o - f.avail_out;
        deflateEnd(&f);
        frame(1, 1, 1, o, len);
        o[len] = 0x00;   /* one byte past the final block */
        frame(1, 1, 1, o, len + 1);
    }
    finish("bfinal-then-trailing");

    /* RSV1 on a continuation frame and on a control frame */
    begin(A_PLAIN, 0, 0);
    z_start(A_PLAIN);
    n = z_message(text_buf, 100, out, sizeof out);
    frame(0, 1, 1, out, n / 2);
    frame(1, 1, 0, out + n / 2, n - n / 2);
    finish("rsv1-continuation");
    begin(A_PLAIN, 0, 0);
    frame(1, 1, 9, (const unsigned char *)"x", 1);
    finish("rsv1-ping");

    /* compressed text that inflates to bad UTF-8 (a lone continuation byte at 50) */
    {
        unsigned char t[120];
        memcpy(t, text_buf, sizeof t);
        for (i = 0; i < (int)sizeof t; i++) if (t[i] & 0x80) t[i] = 'a';
        t[50] = 0x80;
        zseed(A_PLAIN, 0, 0, 1, t, sizeof t, "inflate-bad-utf8");
    }
    /* compressed text ending inside a code point, in chunks without a message buffer */
    zseed(A_PLAIN, 0, 3, 1, (const unsigned char *)"caf\xc3", 4, "inflate-cut-code-point");

    /* Two faults in what one inflate call makes: bad UTF-8 (a lone continuation byte
       after 20 letters) and, later in the stream, bad DEFLATE data (a block of type 3)
       or the size limit (max_message 31 of 61 bytes). The UTF-8 came first: fed whole
       and byte by byte, the client must name the same fault. */
    begin(A_PLAIN, 0, 0);
    {
        unsigned char t[61];
        memset(t, 'a', 20);
        t[20] = 0x80;
        memset(t + 21, 'b', 40);
        z_start(A_PLAIN);
        n = z_message(t, sizeof t, out, sizeof out);
        out[n] = 0x00; out[n + 1] = 0x00; out[n + 2] = 0xff; out[n + 3] = 0xff;   /* the flush */
        out[n + 4] = 0x07;   /* BFINAL, type 3: reserved */
        frame(1, 1, 1, out, n + 5);
        finish("regress-fault-order-inflate");
        zseed(A_PLAIN | F_SMALL_MAX, 10, 0, 1, t, sizeof t, "regress-fault-order-limit");
        /* the limit (max_message 4) passed by "abcde", then bad data in the next block:
           the one-byte probe past the limit and the fault come out of one inflate call */
        begin(A_PLAIN | F_SMALL_MAX, 1, 0);
        z_start(A_PLAIN);
        n = z_message((const unsigned char *)"abcde", 5, out, sizeof out);
        out[n] = 0x00; out[n + 1] = 0x00; out[n + 2] = 0xff; out[n + 3] = 0xff;
        out[n + 4] = 0x07;
        frame(1, 1, 1, out, n + 5);
        finish("regress-fault-order-probe");
    }

    /* a message inflating to more than one chunk (WSPROXY_INFLATE_CHUNK_BYTES) */
    begin(A_SW12, 0, 50);
    z_start(A_SW12);
    ztext(0, sizeof text_buf, 1);
    finish("large-text-chunks");

    /* the second offer (server_max_window_bits=15 offered, level 1, mem_level 1,
       threshold 16), the client sending short and long messages */
    begin(A_MIX | F_OFFER2, 0, 5);
    z_start(A_MIX);
    action('t', 'o', 'k', '.');
    action('u', 8, 0, 0);
    action('u', 8, 0, 0);
    zmsg(2, bin_buf, 1000, 2);
    zmsg(2, bin_buf, 1000, 1);
    finish("offer2-mix");

    /* the client's send buffer stalls while compressed frames queue */
    begin(A_PLAIN, 0, 0);
    z_start(A_PLAIN);
    action('S', 0, 0, 0);
    action('b', 100, 0, 1);
    action('u', 200, 0, 0);
    action('r', 0, 0, 0);
    action('D', 0, 0, 0);
    action('s', 60, 60, 200);
    ztext(0, 10, 1);
    finish("stall-then-stream");
}

/* Known library faults (fuzz_client_deflate.c, FZ_KNOWN_DEFLATE_WINDOW): a server that
   settled on a 512-byte window (server_max_window_bits=9) but compresses with 32 KiB
   references 1000 bytes back: refused byte by byte, accepted when the frame comes whole. */
static void known_seeds(void)
{
    static unsigned char text[1100], out[4096];
    z_stream z;
    size_t i, len;
    for (i = 0; i < 1000; i++) text[i] = (unsigned char)('a' + (i * 7 + i / 26) % 26);
    memcpy(text + 1000, text, 100);   /* a match 1000 bytes back */
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    z.next_in = text;
    z.avail_in = sizeof text;
    z.next_out = out;
    z.avail_out = sizeof out;
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK) exit(1);
    len = sizeof out - z.avail_out - 4;   /* the 00 00 ff ff taken off */
    deflateEnd(&z);
    begin(A_SW9, 0, 0);
    frame(1, 1, 1, out, len);
    finish("known-distance-past-window");
}

int main(int argc, char **argv)
{
    static const struct { int answer; const char *tag; } answers[] = {
        {A_PLAIN, "plain"}, {A_SNCT, "server-nct"}, {A_SW9, "sw9"}, {A_SW12, "sw12"}, {A_SW15, "sw15"},
        {A_CNCT, "client-nct"}, {A_CW9, "cw9"}, {A_CW8, "cw8"}, {A_SW8, "sw8"}, {A_MIX, "mix"},
    };
    size_t i;
    if (argc != 2) { fprintf(stderr, "usage: gen_seeds_deflate DIR (e.g. fuzz/seeds)\n"); return 2; }
    dir = argv[1];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) { perror(dir); return 1; }
    make_payloads();
    for (i = 0; i < sizeof answers / sizeof answers[0]; i++) seeds_for_answer(answers[i].answer, answers[i].tag);
    fault_seeds();
    known_seeds();
    if (zs.state) deflateEnd(&zs);
    printf("gen_seeds_deflate: %d seeds in %s/fuzz_client_deflate\n", written, dir);
    return 0;
}
