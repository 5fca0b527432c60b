/* bench/deflate.c: row 8 of `make bench`, permessage-deflate (issue 16), in memory.
     deflate [--node-script FILE] [--work DIR]

   Corpora: JSON (market-data records, generated), English text (the license texts of
   /usr/share/common-licenses, read at run time; a generated word salad when absent) and
   random bytes; messages of 64 B, 1 KiB, 16 KiB and 256 KiB, each message a different
   slice of its corpus, sent as binary (the text path's UTF-8 check is not compression).

   For each corpus and size:
     compress  the library: wsproxy_send of each message into its send buffer (a 1 MiB
               caller buffer, so every message is one frame), the send buffer drained
               after each; the client opened in memory on a 101 answering
               "permessage-deflate" (level 6, window 15, memLevel 8, context kept), its
               mask keys from a cheap caller callback. Beside it zlib alone: raw
               deflate with the same level, window and memLevel, one deflate(Z_SYNC_FLUSH)
               per message into a buffer. CPU per message and the ratio (target: at most
               1.1). Before the clock, every frame the library wrote is unmasked and
               must be zlib's output for that message, byte for byte, less 00 00 ff ff;
               the size on the wire (header included) over the message size is shown.
     ws        the same messages through node's ws (tests/interop/node, npm ci):
               PerMessageDeflate.compress (client side, its defaults: level 6, window 15,
               memLevel 8), one message at a time, in node (bench/deflate_ws.js): the
               process's CPU per message (zlib runs on node's thread pool: counted).
     inflate   the library: the server's frames (compressed by zlib, context kept) fed
               with wsproxy_feed in 16 KiB pieces, inflated into a message buffer,
               every MESSAGE event taken; beside zlib alone: inflate of each payload
               and the 00 00 ff ff tail into a buffer. Before the clock the messages
               must come out byte for byte.
   Memory: wsproxy_deflate_arena_size() + sizeof(wsproxy_client) (this build: built-in
   16 KiB buffers, no TLS) for the default offer, and for client and server
   no_context_takeover with windows of 9 bits and memLevel 1; each is then opened with an
   arena of exactly that size and echoes compressed messages both ways.

   Each comparison runs its sides in turn per repetition (BENCH_REPS, default 7; 3 with
   BENCH_QUICK); values are medians, ratios the median of the per-repetition ratios. */
#define _DEFAULT_SOURCE
#define WSPROXY_IMPLEMENTATION
#define WSPROXY_NO_TLS
#define WSPROXY_DEFLATE
#include "../wsproxy.h"

#include <dirent.h>
#include <sys/stat.h>
#include <zlib.h>

#include "common.h"

#define SECTION "8 permessage-deflate"
#define SEND_CAP (((size_t)1 << 20) + 4096)

enum { K_JSON, K_TEXT, K_RANDOM, NKINDS };
static const char *const kind_name[NKINDS] = {"JSON", "English text", "random binary"};
static const char *const kind_tag[NKINDS] = {"json", "text", "random"};
static const size_t sizes[4] = {64, 1024, 16384, 262144};
static const char *text_source = "generated words";

static unsigned char *corpus[NKINDS];
static size_t corpus_len[NKINDS];

/* ---- corpora ----------------------------------------------------------------------- */
static void make_json_corpus(size_t n)
{
    static const char *const syms[] = {"EURUSD", "GBPUSD", "USDJPY", "AUDNZD", "XAUUSD", "BTCUSD"};
    unsigned char *p = (unsigned char *)malloc(n);
    size_t i = 0;
    unsigned long seq = 1000000;
    BENCH_CHECK(p != NULL, "out of memory");
    while (i + 200 < n) {
        int l = snprintf((char *)p + i, 200,
                         "{\"type\":\"quote\",\"seq\":%lu,\"sym\":\"%s\",\"bid\":%u.%05u,\"ask\":%u.%05u,"
                         "\"bidQty\":%u,\"askQty\":%u,\"ts\":%lu}\n",
                         seq, syms[bench_rand() % 6], (unsigned)(1 + bench_rand() % 3), (unsigned)(bench_rand() % 100000),
                         (unsigned)(1 + bench_rand() % 3), (unsigned)(bench_rand() % 100000),
                         (unsigned)(bench_rand() % 5000), (unsigned)(bench_rand() % 5000), 1733300000000ul + seq * 7);
        i += (size_t)l;
        seq++;
    }
    memset(p + i, ' ', n - i);
    corpus[K_JSON] = p;
    corpus_len[K_JSON] = n;
}

/* English: the license texts Debian ships (base-files), in name order. */
static void make_text_corpus(void)
{
    static const char *const words[] = {"the", "of", "and", "to", "a", "in", "that", "is", "was", "he", "for",
                                        "it", "with", "as", "his", "on", "be", "at", "by", "had", "not", "are",
                                        "but", "from", "or", "have", "an", "they", "which", "one", "you",
                                        "were", "her", "all", "she", "there", "would", "their", "we", "him"};
    const char *dir = "/usr/share/common-licenses";
    struct dirent **list;
    size_t cap = 1 << 20, n = 0;
    unsigned char *p = (unsigned char *)malloc(cap);
    int k, count = scandir(dir, &list, NULL, alphasort);
    BENCH_CHECK(p != NULL, "out of memory");
    for (k = 0; k < count; k++) {
        char path[512];
        FILE *f;
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, list[k]->d_name);
        if (list[k]->d_name[0] != '.' && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (f = fopen(path, "rb"))) {
            n += fread(p + n, 1, cap - n, f);
            fclose(f);
        }
        free(list[k]);
    }
    if (count > 0) free(list);
    if (n >= 100000) {
        text_source = "/usr/share/common-licenses";
    } else {
        n = 0;
        while (n + 16 < cap) {
            const char *w = words[bench_rand() % 40];
            size_t l = strlen(w);
            memcpy(p + n, w, l);
            n += l;
            p[n++] = bench_rand() % 12 ? ' ' : '\n';
        }
    }
    corpus[K_TEXT] = p;
    corpus_len[K_TEXT] = n;
}

static void make_random_corpus(size_t n)
{
    corpus[K_RANDOM] = (unsigned char *)malloc(n);
    BENCH_CHECK(corpus[K_RANDOM] != NULL, "out of memory");
    bench_fill(corpus[K_RANDOM], n);
    corpus_len[K_RANDOM] = n;
}

/* count messages of size bytes, message i a different slice (wrapping around) */
static unsigned char *make_messages(int kind, size_t size, size_t count)
{
    unsigned char *m = (unsigned char *)malloc(size * count);
    size_t i, j, len = corpus_len[kind];
    BENCH_CHECK(m != NULL, "out of memory");
    for (i = 0; i < count; i++) {
        size_t at = (i * (size + 977)) % len;
        for (j = 0; j < size; j++) m[i * size + j] = corpus[kind][(at + j) % len];
    }
    return m;
}

static size_t message_count(size_t size)
{
    size_t n = size <= 64 ? 8000 : size <= 1024 ? 3000 : size <= 16384 ? 300 : 24;
    return bench_quick() ? n / 2 : n;
}

/* ---- the client in memory ---------------------------------------------------------- */
static int cheap_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) dst[i] = (unsigned char)(bench_rand() >> 32);
    return 0;
}

static wsproxy_client client;
static unsigned char *send_buffer, *msg_buffer;
static unsigned char arena_mem[1 << 20];

static void drain_all(wsproxy_client *c, unsigned char *copy, size_t cap, size_t *copied)
{
    const unsigned char *p;
    size_t n;
    while ((p = wsproxy_send_buf(c, &n)) != NULL) {
        if (copy) {
            BENCH_CHECK(*copied + n <= cap, "copy buffer too small");
            memcpy(copy + *copied, p, n);
            *copied += n;
        }
        wsproxy_send_ack(c, n);
    }
}

/* Opens the client on a 101 with this extension answer; arena_len 0: the size asked. */
static void open_client(const wsproxy_deflate_options *opt, const char *answer, int with_msgbuf)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    char req[4096], reply[1024], key[25], accept[29];
    const char *k;
    size_t got = 0;
    int opened = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "ws://bench.test/feed";
    cfg.random = cheap_random;
    cfg.send_buffer = send_buffer;
    cfg.send_buffer_len = SEND_CAP;
    if (with_msgbuf) {
        cfg.message_buffer = msg_buffer;
        cfg.message_buffer_len = SEND_CAP;
    }
    cfg.deflate = *opt;
    cfg.deflate.enable = 1;
    cfg.deflate.arena = arena_mem;
    if (!cfg.deflate.arena_len) cfg.deflate.arena_len = wsproxy_deflate_arena_size(&cfg.deflate);
    BENCH_CHECK(cfg.deflate.arena_len <= sizeof arena_mem, "arena");
    BENCH_CHECK(wsproxy_init(&client, &cfg) == WSPROXY_OK, "init: %s", wsproxy_strerror(wsproxy_error(&client)));
    drain_all(&client, (unsigned char *)req, sizeof req - 1, &got);
    req[got] = 0;
    BENCH_CHECK((k = strstr(req, "Sec-WebSocket-Key: ")) != NULL, "no key in the request");
    memcpy(key, k + 19, 24);
    key[24] = 0;
    wsproxy_accept_key(key, 24, accept);
    snprintf(reply, sizeof reply,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: %s\r\n\r\n", accept, answer);
    wsproxy_feed(&client, reply, strlen(reply));
    while (wsproxy_poll(&client, &ev)) {
        BENCH_CHECK(ev.type != WSPROXY_EV_ERROR, "open: %s", wsproxy_strerror(wsproxy_error(&client)));
        if (ev.type == WSPROXY_EV_OPEN) opened = 1;
    }
    BENCH_CHECK(opened, "the client did not open");
}

/* ---- zlib alone --------------------------------------------------------------------- */
static z_stream zd, zi;
static unsigned char *zout;
static size_t zout_cap;

static size_t zlib_compress(const unsigned char *m, size_t len)
{
    zd.next_in = (Bytef *)m;
    zd.avail_in = (uInt)len;
    zd.next_out = zout;
    zd.avail_out = (uInt)zout_cap;
    BENCH_CHECK(deflate(&zd, Z_SYNC_FLUSH) == Z_OK && zd.avail_in == 0, "zlib deflate");
    return zout_cap - zd.avail_out - 4;   /* 00 00 ff ff off, as on the wire */
}

/* a frame's unmasked payload: *pay, *plen; returns the frame's size */
static size_t unmask_frame(unsigned char *f, size_t n, unsigned char **pay, size_t *plen)
{
    size_t hl = 2, len = f[1] & 127, i;
    unsigned char *key;
    BENCH_CHECK(n >= 6 && (f[1] & 0x80) && (f[0] & 0x40), "not a masked compressed frame");
    if (len == 126) { len = (size_t)f[2] << 8 | f[3]; hl = 4; }
    else if (len == 127) { len = 0; for (i = 0; i < 8; i++) len = len << 8 | f[2 + i]; hl = 10; }
    key = f + hl;
    hl += 4;
    BENCH_CHECK(hl + len <= n, "frame cut short");
    for (i = 0; i < len; i++) f[hl + i] ^= key[i & 3];
    *pay = f + hl;
    *plen = len;
    return hl + len;
}

/* zlib alone compressing the messages, CPU per message */
static double time_zlib_compress(const unsigned char *msgs, size_t size, size_t count)
{
    double t0;
    size_t i;
    deflateReset(&zd);
    t0 = cpu_now();
    for (i = 0; i < count; i++) zlib_compress(msgs + i * size, size);
    return (cpu_now() - t0) / (double)count;
}

/* medians of both sides and of the per-repetition ratios */
typedef struct { double lib, zlib, ratio, wire; } compress_result;
static compress_result summarize(const double *lib, const double *zl, int reps)
{
    compress_result res;
    double rt[64];
    int r;
    for (r = 0; r < reps; r++) rt[r] = lib[r] / zl[r];
    res.lib = median(lib, reps);
    res.zlib = median(zl, reps);
    res.ratio = median(rt, reps);
    res.wire = 0;
    return res;
}

/* ---- compress ---------------------------------------------------------------------------- */
static void lib_answer_default(wsproxy_deflate_options *o)
{
    memset(o, 0, sizeof *o);
}

static compress_result bench_compress(int kind, size_t size)
{
    size_t count = message_count(size), i, wire = 0;
    unsigned char *msgs = make_messages(kind, size, count);
    wsproxy_deflate_options opt;
    double lib[64], zl[64];
    int reps = bench_reps(), r;
    compress_result res;
    lib_answer_default(&opt);

    /* the check: every frame is zlib's output for the message, less the tail */
    open_client(&opt, "permessage-deflate", 0);
    BENCH_CHECK(deflateReset(&zd) == Z_OK, "reset");
    for (i = 0; i < count; i++) {
        unsigned char *pay;
        size_t plen, zlen, got = 0;
        BENCH_CHECK(wsproxy_send(&client, WSPROXY_OP_BINARY, msgs + i * size, size, 1) == WSPROXY_OK, "send");
        drain_all(&client, zout + zout_cap / 2, zout_cap / 2, &got);
        wire += got;
        BENCH_CHECK(unmask_frame(zout + zout_cap / 2, got, &pay, &plen) == got, "one frame per message");
        memcpy(msg_buffer, pay, plen);
        zlen = zlib_compress(msgs + i * size, size);
        BENCH_CHECK(zlen == plen && memcmp(zout, msg_buffer, plen) == 0,
                    "%s %zu message %zu: the library's payload is not zlib's (%zu vs %zu bytes)", kind_tag[kind],
                    size, i, plen, zlen);
    }
    for (r = 0; r < reps; r++) {
        double t0, t1;
        const unsigned char *p;
        size_t n;
        open_client(&opt, "permessage-deflate", 0);
        t0 = cpu_now();
        for (i = 0; i < count; i++) {
            wsproxy_send(&client, WSPROXY_OP_BINARY, msgs + i * size, size, 1);
            while ((p = wsproxy_send_buf(&client, &n)) != NULL) wsproxy_send_ack(&client, n);
        }
        t1 = cpu_now();
        lib[r] = (t1 - t0) / (double)count;
        zl[r] = time_zlib_compress(msgs, size, count);
    }
    res = summarize(lib, zl, reps);
    res.wire = (double)wire / (double)(size * count);
    free(msgs);
    return res;
}

/* ---- inflate ---------------------------------------------------------------------------- */
static void put_frame(unsigned char *dst, size_t *at, const unsigned char *pay, size_t len)
{
    unsigned char *h = dst + *at;
    size_t hl = 2;
    h[0] = 0x80 | 0x40 | WSPROXY_OP_BINARY;
    if (len < 126) h[1] = (unsigned char)len;
    else if (len <= 0xFFFF) { h[1] = 126; h[2] = (unsigned char)(len >> 8); h[3] = (unsigned char)len; hl = 4; }
    else {
        int i;
        h[1] = 127;
        for (i = 0; i < 8; i++) h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    memcpy(h + hl, pay, len);
    *at += hl + len;
}

static size_t lib_take_stream(const unsigned char *stream, size_t len, const unsigned char *expect, size_t size,
                              size_t count)
{
    size_t off = 0, seen = 0;
    wsproxy_event ev;
    while (off < len) {
        size_t piece = len - off < 16384 ? len - off : 16384;
        off += wsproxy_feed(&client, stream + off, piece);
        while (wsproxy_poll(&client, &ev)) {
            if (expect) {
                BENCH_CHECK(ev.type == WSPROXY_EV_MESSAGE && ev.first && ev.fin && ev.len == size &&
                                memcmp(ev.data, expect + seen * size, size) == 0 && seen < count,
                            "inflated message %zu differs (event %d, %zu bytes)", seen, ev.type, ev.len);
            }
            seen++;
        }
    }
    return seen;
}

static compress_result bench_inflate(int kind, size_t size)
{
    size_t count = message_count(size), i, slen = 0, zl_total = 0;
    unsigned char *msgs = make_messages(kind, size, count);
    unsigned char *stream = (unsigned char *)malloc(count * (size + size / 8 + 64) + 4096);
    size_t *plen = (size_t *)malloc(count * sizeof *plen), *poff = (size_t *)malloc(count * sizeof *poff);
    wsproxy_deflate_options opt;
    double lib[64], zl[64];
    int reps = bench_reps(), r;
    compress_result res;
    static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
    BENCH_CHECK(stream && plen && poff, "out of memory");
    lib_answer_default(&opt);
    deflateReset(&zd);
    for (i = 0; i < count; i++) {   /* the server's frames */
        size_t z = zlib_compress(msgs + i * size, size), hl = z < 126 ? 2 : z <= 0xFFFF ? 4 : 10;
        put_frame(stream, &slen, zout, z);
        poff[i] = slen - z;
        plen[i] = z;
        zl_total += hl + z;
    }
    open_client(&opt, "permessage-deflate", 1);
    BENCH_CHECK(lib_take_stream(stream, slen, msgs, size, count) == count, "messages missing");
    for (r = 0; r < reps; r++) {
        double t0, t1;
        open_client(&opt, "permessage-deflate", 1);
        t0 = cpu_now();
        lib_take_stream(stream, slen, NULL, size, count);
        t1 = cpu_now();
        lib[r] = (t1 - t0) / (double)count;
        inflateReset(&zi);
        t0 = cpu_now();
        for (i = 0; i < count; i++) {
            zi.next_in = stream + poff[i];
            zi.avail_in = (uInt)plen[i];
            zi.next_out = zout;
            zi.avail_out = (uInt)zout_cap;
            inflate(&zi, Z_SYNC_FLUSH);
            zi.next_in = (Bytef *)tail;
            zi.avail_in = 4;
            inflate(&zi, Z_SYNC_FLUSH);
            if (r == 0) BENCH_CHECK(zout_cap - zi.avail_out == size && memcmp(zout, msgs + i * size, size) == 0, "zlib inflate");
        }
        t1 = cpu_now();
        zl[r] = (t1 - t0) / (double)count;
    }
    res = summarize(lib, zl, reps);
    res.wire = (double)zl_total / (double)(size * count);
    free(msgs);
    free(stream);
    free(plen);
    free(poff);
    return res;
}

/* ---- node's ws ------------------------------------------------------------------------- */
typedef struct { int have; double cpu, wall; double wire; } node_result;
static node_result node_res[NKINDS][4];
static char node_version[96] = "ws";
static char node_missing[160];

static void write_corpus_files(const char *dir)
{
    char parents[512];
    size_t i;
    int k, s;
    snprintf(parents, sizeof parents, "%s", dir);   /* mkdir -p */
    for (i = 1; parents[i]; i++)
        if (parents[i] == '/') { parents[i] = 0; mkdir(parents, 0755); parents[i] = '/'; }
    mkdir(dir, 0755);
    for (k = 0; k < NKINDS; k++)
        for (s = 0; s < 4; s++) {
            char path[512];
            size_t count = message_count(sizes[s]);
            unsigned char *m = make_messages(k, sizes[s], count);
            FILE *f;
            snprintf(path, sizeof path, "%s/%s-%zu.bin", dir, kind_tag[k], sizes[s]);
            f = fopen(path, "wb");
            BENCH_CHECK(f && fwrite(m, 1, sizes[s] * count, f) == sizes[s] * count && fclose(f) == 0, "write %s", path);
            free(m);
        }
}

static void run_node(const char *script, const char *dir)
{
    char cmd[1024], line[512];
    FILE *p;
    snprintf(cmd, sizeof cmd, "node '%s' '%s' %d 2>&1", script, dir, bench_reps());
    p = popen(cmd, "r");
    if (!p) { snprintf(node_missing, sizeof node_missing, "n/a (cannot run node)"); return; }
    while (fgets(line, sizeof line, p)) {
        char tag[32];
        size_t size;
        double cpu, wall, wire;
        int k, s;
        if (sscanf(line, "ws-version %95s", node_version) == 1) continue;
        if (!strncmp(line, "missing ", 8)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(node_missing, sizeof node_missing, "n/a (%.140s)", line + 8);
            continue;
        }
        if (sscanf(line, "case %31s %zu %lf %lf %lf", tag, &size, &cpu, &wall, &wire) != 5) {
            fprintf(stderr, "node: %s", line);
            continue;
        }
        for (k = 0; k < NKINDS; k++)
            for (s = 0; s < 4; s++)
                if (!strcmp(tag, kind_tag[k]) && size == sizes[s]) {
                    node_res[k][s].have = 1;
                    node_res[k][s].cpu = cpu;
                    node_res[k][s].wall = wall;
                    node_res[k][s].wire = wire;
                }
    }
    if (pclose(p) != 0 && !node_missing[0]) snprintf(node_missing, sizeof node_missing, "n/a (node failed)");
}

/* ---- memory ---------------------------------------------------------------------------- */
static void memory_row(const char *name, const wsproxy_deflate_options *o, const char *answer)
{
    size_t arena = wsproxy_deflate_arena_size(o), total = arena + sizeof(wsproxy_client);
    unsigned char *m = make_messages(K_JSON, 16384, 4);
    char v[96], b[96], ext_payload[16384 + 64];
    size_t i, flen = 0;
    wsproxy_deflate_options opt = *o;
    wsproxy_event ev;
    z_stream s;
    int got = 0;
    /* it works with exactly that arena: the client compresses 4 messages, and takes 4
       the "server" compressed with the answer's window */
    opt.arena_len = arena;
    open_client(&opt, answer, 1);
    memset(&s, 0, sizeof s);
    BENCH_CHECK(deflateInit2(&s, 6, Z_DEFLATED, -(o->server_max_window_bits ? o->server_max_window_bits : 15),
                             8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    for (i = 0; i < 4; i++) {
        const unsigned char *p;
        size_t n;
        BENCH_CHECK(wsproxy_send(&client, WSPROXY_OP_BINARY, m + i * 16384, 16384, 1) == WSPROXY_OK, "send");
        while ((p = wsproxy_send_buf(&client, &n)) != NULL) wsproxy_send_ack(&client, n);
        s.next_in = m + i * 16384;
        s.avail_in = 16384;
        s.next_out = (Bytef *)ext_payload;
        s.avail_out = sizeof ext_payload;
        BENCH_CHECK(deflate(&s, Z_SYNC_FLUSH) == Z_OK, "deflate");
        flen = 0;
        put_frame(zout, &flen, (unsigned char *)ext_payload, sizeof ext_payload - s.avail_out - 4);
        if (o->server_no_context_takeover) deflateReset(&s);
        wsproxy_feed(&client, zout, flen);
        while (wsproxy_poll(&client, &ev)) {
            BENCH_CHECK(ev.type == WSPROXY_EV_MESSAGE && ev.len == 16384 && !memcmp(ev.data, m + i * 16384, 16384),
                        "memory check: message %zu", i);
            got++;
        }
    }
    BENCH_CHECK(got == 4 && wsproxy_error(&client) == 0, "memory check: %d messages", got);
    deflateEnd(&s);
    snprintf(v, sizeof v, "%zu B", total);
    snprintf(b, sizeof b, "%zu B + %zu B", arena, sizeof(wsproxy_client));
    row_out(SECTION, name, v, "deflate arena + sizeof(wsproxy_client)", b, 0, "", "");
    free(m);
}

int main(int argc, char **argv)
{
    const char *script = "bench/deflate_ws.js", *work = "build/bench/deflate-corpus";
    int k, s, a;
    for (a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--node-script")) script = argv[a + 1];
        else if (!strcmp(argv[a], "--work")) work = argv[a + 1];
    }
    send_buffer = (unsigned char *)malloc(SEND_CAP);
    msg_buffer = (unsigned char *)malloc(SEND_CAP);
    zout_cap = 4u << 20;
    zout = (unsigned char *)malloc(zout_cap);
    BENCH_CHECK(send_buffer && msg_buffer && zout, "out of memory");
    BENCH_CHECK(deflateInit2(&zd, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    BENCH_CHECK(inflateInit2(&zi, -15) == Z_OK, "inflateInit2");
    make_json_corpus(8u << 20);
    make_text_corpus();
    make_random_corpus(8u << 20);
    fprintf(stderr, "deflate: corpora JSON %zu B, text %zu B (%s), random %zu B\n", corpus_len[K_JSON],
            corpus_len[K_TEXT], text_source, corpus_len[K_RANDOM]);

    write_corpus_files(work);
    run_node(script, work);

    for (k = 0; k < NKINDS; k++) {
        for (s = 0; s < 4; s++) {
            compress_result c = bench_compress(k, sizes[s]), in;
            node_result *nr = &node_res[k][s];
            char name[160], ours[64], theirs[96];
            snprintf(name, sizeof name, "compress %s %s, CPU/message (on the wire: %.1f%%)", kind_name[k],
                     fmt_size(sizes[s]), c.wire * 100);
            snprintf(ours, sizeof ours, "%s", fmt_us(c.lib));
            snprintf(theirs, sizeof theirs, "%s", fmt_us(c.zlib));
            row_out(SECTION, name, ours, "zlib alone, same messages", theirs, c.ratio, "<=1.1", at_most(c.ratio, 1.1));
            if (nr->have) {
                snprintf(theirs, sizeof theirs, "%s (wall %s, %.1f%%)", fmt_us(nr->cpu), fmt_us(nr->wall), nr->wire * 100);
                row_out(SECTION, "  beside node's ws", ours, node_version, theirs, c.lib / nr->cpu, "", "");
            } else {
                row_out(SECTION, "  beside node's ws", ours, "ws", node_missing[0] ? node_missing : "n/a", 0, "", "");
            }
            in = bench_inflate(k, sizes[s]);
            snprintf(name, sizeof name, "inflate %s %s into the message buffer, CPU/message", kind_name[k],
                     fmt_size(sizes[s]));
            snprintf(ours, sizeof ours, "%s", fmt_us(in.lib));
            snprintf(theirs, sizeof theirs, "%s", fmt_us(in.zlib));
            row_out(SECTION, name, ours, "zlib inflate alone", theirs, in.ratio, "", "");
            fprintf(stderr, "deflate: %s %zu done\n", kind_tag[k], sizes[s]);
        }
    }
    {
        wsproxy_deflate_options o;
        memset(&o, 0, sizeof o);
        o.enable = 1;
        memory_row("bytes per connection, default offer (windows 15, memLevel 8)", &o, "permessage-deflate");
        o.client_no_context_takeover = o.server_no_context_takeover = 1;
        o.client_max_window_bits = o.server_max_window_bits = 9;
        o.mem_level = 1;
        memory_row("bytes per connection, no_context_takeover both ways, windows 9, memLevel 1", &o,
                   "permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
                   "client_max_window_bits=9; server_max_window_bits=9");
    }
    deflateEnd(&zd);
    inflateEnd(&zi);
    return 0;
}
