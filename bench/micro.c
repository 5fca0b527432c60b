/* bench/micro.c: rows 1-3 of `make bench`, all in this one process.
     1. masking and building masked frames (wsproxy_frame_build into the caller's
        buffer) beside memcpy, hot and cold, and beside wslay_frame_send
     2. frame decode: the frames stage alone (wsproxy_frames_read on bytes in memory)
        and the client (bytes copied into wsproxy_recv_buf, then wsproxy_poll) beside
        wslay's frame API and beside memcpy
     3. UTF-8 validation beside memcpy
   Each comparison runs both sides back to back, BENCH_REPS times (default 7), and
   reports the medians. The library's functions are called through volatile function
   pointers (as a separate translation unit would call them), memcpy too. */
#define _POSIX_C_SOURCE 200809L
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"

#include <wslay/wslay.h>

#include "common.h"

typedef size_t (*mask_fn)(unsigned char *, const unsigned char *, size_t, const unsigned char *,
                          size_t);
typedef void *(*copy_fn)(void *, const void *, size_t);
typedef size_t (*utf8_fn)(uint32_t *, const unsigned char *, size_t);
typedef size_t (*build_fn)(unsigned char *, size_t, int, int, const unsigned char *, const void *,
                           size_t);
typedef int (*frames_read_fn)(wsproxy_frames *, const unsigned char *, size_t, size_t *,
                              wsproxy_event *);

/* the library's mask loop without the XOR: what plain C stores cost (reference only) */
static size_t c_copy(unsigned char *dst, const unsigned char *src, size_t len,
                     const unsigned char *key, size_t offset)
{
    size_t i;
    (void)key;
    for (i = 0; i + 32 <= len; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, src + i, 8); memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8); memcpy(&d, src + i + 24, 8);
        memcpy(dst + i, &a, 8); memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8); memcpy(dst + i + 24, &d, 8);
    }
    for (; i < len; i++) dst[i] = src[i];
    return (offset + len) & 3;
}

/* memcpy called the way the mask is (reference only): beside memcpy called directly, the
   cold rows' own noise, two equal copies measured against each other */
static size_t memcpy_as_mask(unsigned char *dst, const unsigned char *src, size_t len,
                             const unsigned char *key, size_t offset)
{
    (void)key;
    memcpy(dst, src, len);
    return (offset + len) & 3;
}

static mask_fn volatile v_lib_mask = wsproxy_mask;
static mask_fn volatile v_memcpy_as_mask = memcpy_as_mask;
static mask_fn volatile v_c_copy = c_copy;
static copy_fn volatile v_memcpy = memcpy;
static utf8_fn volatile v_lib_utf8 = wsproxy_utf8_validate;
static build_fn volatile v_lib_build = wsproxy_frame_build;
static frames_read_fn volatile v_frames_read = wsproxy_frames_read;

static const size_t SIZES[] = {16, 125, 4096, 65536, 1048576};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])
#define COLD_BYTES ((size_t)64 << 20)

static unsigned char *xalloc(size_t n)
{
    unsigned char *p = NULL;
    if (posix_memalign((void **)&p, 64, n ? n : 64) != 0) { fprintf(stderr, "out of memory\n"); exit(2); }
    memset(p, 0, n);
    return p;
}

/* A timed job: run(ctx, iters) does iters units of work and returns seconds. */
typedef double (*job_fn)(void *ctx, long iters);

/* Iterations that take about target seconds. */
static long calibrate(job_fn f, void *ctx, double target)
{
    long it = 1;
    if (bench_quick()) target /= 3;
    for (;;) {
        double t = f(ctx, it);
        if (t >= target / 4 || it > (1L << 40)) {
            double k = t > 0 ? target / t : 2;
            long n = (long)((double)it * k);
            return n < 1 ? 1 : n;
        }
        it *= 4;
    }
}

/* Runs the jobs in turn, rep after rep (so drift and other load hit all alike); the
   median seconds per iteration of job k goes to t[k]. */
static double cmp_v[8][64];   /* seconds per iteration of the last compare(), per rep */
static int cmp_reps;

static void compare(int n, job_fn *f, void **ctx, double target, double *t)
{
    long it[8];
    int r, k, reps = bench_reps();
    for (k = 0; k < n; k++) it[k] = calibrate(f[k], ctx[k], target / 2);
    for (r = 0; r < reps; r++)
        for (k = 0; k < n; k++) cmp_v[k][r] = f[k](ctx[k], it[k]) / (double)it[k];
    for (k = 0; k < n; k++) t[k] = median(cmp_v[k], reps);
    cmp_reps = reps;
}

/* speed of job a over job b: the median of the per-repetition ratios (each pair ran
   back to back, so a change of load hits both sides of a ratio alike) */
static double speedup(int a, int b)
{
    double q[64];
    int r;
    for (r = 0; r < cmp_reps; r++) q[r] = cmp_v[b][r] / cmp_v[a][r];
    return median(q, cmp_reps);
}

static void pair(job_fn fa, void *ca, job_fn fb, void *cb, double target, double *ta, double *tb)
{
    job_fn f[2];
    void *c[2];
    double t[2];
    f[0] = fa; f[1] = fb; c[0] = ca; c[1] = cb;
    compare(2, f, c, target, t);
    *ta = t[0];
    *tb = t[1];
}

static void triple(job_fn fa, void *ca, job_fn fb, void *cb, job_fn fc, void *cc, double target,
                   double *ta, double *tb, double *tc)
{
    job_fn f[3];
    void *c[3];
    double t[3];
    f[0] = fa; f[1] = fb; f[2] = fc; c[0] = ca; c[1] = cb; c[2] = cc;
    compare(3, f, c, target, t);
    *ta = t[0];
    *tb = t[1];
    *tc = t[2];
}

/* ======================================================================== 1. masking */
static const unsigned char KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

typedef struct {
    mask_fn mask;
    copy_fn copy;
    size_t size;
    unsigned char *src, *dst;
    size_t span;   /* cold: bytes walked per iteration */
} mem_job;

static double job_hot(void *ctx, long iters)
{
    mem_job *j = (mem_job *)ctx;
    double t0 = wall_now();
    long k;
    if (j->mask) {
        mask_fn f = j->mask;
        for (k = 0; k < iters; k++) f(j->dst, j->src, j->size, KEY, 0);
    } else {
        copy_fn f = j->copy;
        for (k = 0; k < iters; k++) f(j->dst, j->src, j->size);
    }
    return wall_now() - t0;
}

/* cold: each iteration walks span bytes of src and dst in pieces of size */
static double job_cold(void *ctx, long iters)
{
    mem_job *j = (mem_job *)ctx;
    double t0 = wall_now();
    long k;
    size_t off;
    for (k = 0; k < iters; k++) {
        if (j->mask) {
            mask_fn f = j->mask;
            for (off = 0; off + j->size <= j->span; off += j->size) f(j->dst + off, j->src + off, j->size, KEY, 0);
        } else {
            copy_fn f = j->copy;
            for (off = 0; off + j->size <= j->span; off += j->size) f(j->dst + off, j->src + off, j->size);
        }
    }
    return wall_now() - t0;
}

/* Mask keys for wsproxy_frame_build and for wslay alike: 4 bytes at a time from a pool
   filled before the clock starts (what a caller that draws random bytes in batches
   does; the client itself keeps a 64-byte pool). */
static unsigned char key_pool[4096];
static size_t key_at;
static const unsigned char *next_key(void)
{
    const unsigned char *k = key_pool + key_at;
    key_at = (key_at + 4) & (sizeof key_pool - 1);
    return k;
}

/* The client's random source: the same pool, 4 bytes at a time (its mask keys cost what
   wslay's do; a generator run per byte here took a third of the 16 B send path's time,
   and that loop's place in the binary moved the row by 0.1) */
static int fixed_random(void *ctx, unsigned char *dst, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i += 4) memcpy(dst + i, next_key(), len - i < 4 ? len - i : 4);
    return 0;
}

/* A client in memory, handshake done (the 101 fed by hand). */
static void open_client(wsproxy_client *c, unsigned char *msg_buf, size_t msg_len)
{
    wsproxy_config cfg;
    wsproxy_event ev;
    const unsigned char *p;
    char req[4096], accept[29], reply[512];
    size_t n, total = 0;
    const char *k;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = "ws://localhost/bench";
    cfg.random = fixed_random;
    cfg.message_buffer = msg_buf;
    cfg.message_buffer_len = msg_len;
    BENCH_CHECK(wsproxy_init(c, &cfg) == WSPROXY_OK, "wsproxy_init");
    while ((p = wsproxy_send_buf(c, &n)) != NULL) {
        BENCH_CHECK(total + n < sizeof req, "request too long");
        memcpy(req + total, p, n);
        total += n;
        wsproxy_send_ack(c, n);
    }
    req[total] = 0;
    k = strstr(req, "Sec-WebSocket-Key: ");
    BENCH_CHECK(k != NULL, "no key in the request");
    wsproxy_accept_key(k + 19, 24, accept);
    n = (size_t)snprintf(reply, sizeof reply,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    BENCH_CHECK(wsproxy_feed(c, reply, n) == n, "feed 101");
    BENCH_CHECK(wsproxy_poll(c, &ev) && ev.type == WSPROXY_EV_OPEN, "no OPEN event");
}

/* wsproxy_frame_build: a whole masked frame into the caller's buffer */
typedef struct { size_t size; const unsigned char *data; unsigned char *out; size_t cap; } build_job;

static double job_build(void *ctx, long iters)
{
    build_job *j = (build_job *)ctx;
    build_fn f = v_lib_build;
    size_t want = j->size + (j->size < 126 ? 6 : j->size <= 0xFFFF ? 8 : 14);
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++)
        if (f(j->out, j->cap, 1, WSPROXY_OP_BINARY, next_key(), j->data, j->size) != want)
            BENCH_FAIL("wsproxy_frame_build");
    return wall_now() - t0;
}

/* the client's send path: frame + mask into its send buffer, then handed out */
typedef struct { wsproxy_client *c; size_t size; const unsigned char *data; } send_job;

static void drain(wsproxy_client *c)
{
    const unsigned char *p;
    size_t n;
    while ((p = wsproxy_send_buf(c, &n)) != NULL) wsproxy_send_ack(c, n);
}

static double job_send_lib(void *ctx, long iters)
{
    send_job *j = (send_job *)ctx;
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++) {
        int r = wsproxy_send_binary(j->c, j->data, j->size);
        if (r == WSPROXY_E_SEND_TOO_LARGE) {   /* larger than the send buffer: stream it */
            size_t off = 0;
            if (wsproxy_send_begin(j->c, WSPROXY_OP_BINARY, j->size, 1) != WSPROXY_OK) BENCH_FAIL("send_begin");
            while (off < j->size) {
                size_t n = wsproxy_send_data(j->c, j->data + off, j->size - off);
                if (n == 0) drain(j->c);
                off += n;
            }
        } else if (r != WSPROXY_OK) {
            BENCH_FAIL("send_binary: %d", r);
        }
        drain(j->c);
    }
    return wall_now() - t0;
}

/* wslay's send callback takes every byte; with a capture buffer it keeps them */
typedef struct { unsigned char *buf; size_t len, cap; } wslay_sink_t;

static ssize_t wslay_sink(const uint8_t *data, size_t len, int flags, void *user)
{
    wslay_sink_t *s = (wslay_sink_t *)user;
    (void)flags;
    if (s && s->buf) {
        if (s->len + len > s->cap) BENCH_FAIL("wslay capture overflow");
        memcpy(s->buf + s->len, data, len);
        s->len += len;
    }
    return (ssize_t)len;
}
static int wslay_mask_key(uint8_t *buf, size_t len, void *user)
{
    (void)user;
    if (len != 4) BENCH_FAIL("wslay asked for %zu mask bytes", len);
    memcpy(buf, next_key(), 4);
    return 0;
}

typedef struct { wslay_frame_context_ptr ctx; size_t size; const unsigned char *data; } wslay_send_job;

static void wslay_send_one(wslay_frame_context_ptr ctx, const unsigned char *data, size_t size)
{
    struct wslay_frame_iocb io;
    size_t off = 0;
    memset(&io, 0, sizeof io);
    io.fin = 1;
    io.opcode = WSLAY_BINARY_FRAME;
    io.mask = 1;
    io.payload_length = size;
    do {
        ssize_t r;
        io.data = data + off;
        io.data_length = size - off;
        r = wslay_frame_send(ctx, &io);
        if (r < 0 || (r == 0 && size)) BENCH_FAIL("wslay_frame_send: %zd", r);
        off += (size_t)r;
    } while (off < size);
}

static double job_send_wslay(void *ctx, long iters)
{
    wslay_send_job *j = (wslay_send_job *)ctx;
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++) wslay_send_one(j->ctx, j->data, j->size);
    return wall_now() - t0;
}

static void check_mask(void)
{
    unsigned char *a = xalloc(4096 + 64), *s = xalloc(4096 + 64);
    size_t len, off, al, i;
    bench_fill(s, 4096 + 64);
    for (len = 0; len <= 600; len++)
        for (off = 0; off < 4; off++)
            for (al = 0; al < 3; al++) {
                size_t ra = wsproxy_mask(a + al, s + al, len, KEY, off);
                BENCH_CHECK(ra == (off + len) % 4, "mask offset");
                for (i = 0; i < len; i++)
                    BENCH_CHECK(a[al + i] == (unsigned char)(s[al + i] ^ KEY[(off + i) & 3]),
                                "mask bytes len %zu off %zu", len, off);
            }
    /* in place, and in pieces */
    memcpy(a, s, 4096);
    off = 0;
    for (i = 0; i < 4096; i += 77) off = wsproxy_mask(a + i, a + i, i + 77 <= 4096 ? 77 : 4096 - i, KEY, off);
    for (i = 0; i < 4096; i++) BENCH_CHECK(a[i] == (unsigned char)(s[i] ^ KEY[i & 3]), "in-place mask");
    free(a); free(s);
}

/* wsproxy_frame_build writes what wslay_frame_send writes with the same key, at every
   length up to 600, around the 16-bit and 64-bit length forms, and at the bench sizes;
   a buffer one byte short is refused */
static void check_build(wslay_frame_context_ptr wctx_capture, wslay_sink_t *cap)
{
    static const size_t extra[] = {4096, 65535, 65536, 70000, 1048576};
    size_t n = (1 << 20) + 64, k, len;
    unsigned char *src = xalloc(n), *out = xalloc(n);
    bench_fill(src, n);
    for (k = 0; k <= 600 + sizeof extra / sizeof extra[0]; k++) {
        size_t at = key_at, got;
        len = k <= 600 ? k : extra[k - 601];
        cap->len = 0;
        wslay_send_one(wctx_capture, src, len);
        key_at = at;
        got = wsproxy_frame_build(out, n, 1, WSPROXY_OP_BINARY, next_key(), src, len);
        BENCH_CHECK(got == cap->len && memcmp(out, cap->buf, got) == 0,
                    "frame_build differs from wslay at %zu bytes", len);
        BENCH_CHECK(wsproxy_frame_build(out, got - 1, 1, WSPROXY_OP_BINARY, KEY, src, len) == 0,
                    "frame_build wrote into a short buffer");
    }
    free(src); free(out);
}

static void bench_mask(void)
{
    unsigned char *src = xalloc(COLD_BYTES), *dst = xalloc(COLD_BYTES);
    wsproxy_client *c = (wsproxy_client *)xalloc(sizeof *c);
    struct wslay_frame_callbacks cb = {wslay_sink, NULL, wslay_mask_key};
    wslay_sink_t capture = {NULL, 0, 0};
    wslay_frame_context_ptr wctx, wcap;
    size_t i;
    bench_fill(key_pool, sizeof key_pool);
    check_mask();
    bench_fill(src, COLD_BYTES);
    memset(dst, 1, COLD_BYTES);
    open_client(c, NULL, 0);
    BENCH_CHECK(wslay_frame_context_init(&wctx, &cb, NULL) == 0, "wslay init");
    capture.cap = (1 << 20) + 64;
    capture.buf = xalloc(capture.cap);
    BENCH_CHECK(wslay_frame_context_init(&wcap, &cb, &capture) == 0, "wslay init");
    check_build(wcap, &capture);
    wslay_frame_context_free(wcap);
    free(capture.buf);
    for (i = 0; i < NSIZES; i++) {
        size_t n = SIZES[i];
        mem_job lib = {0}, cpy = {0};
        build_job bj;
        send_job sl;
        wslay_send_job sw;
        double t_lib, t_cpy, t_ccl, t_mcm, t_w, t_s, t_at, r;
        char name[80], v1[48], v2[48];
        fprintf(stderr, "  masking %s\n", fmt_size(n));
        lib.mask = v_lib_mask; lib.size = n; lib.src = src; lib.dst = dst; lib.span = COLD_BYTES;
        cpy = lib; cpy.mask = NULL; cpy.copy = v_memcpy;
        bj.size = n; bj.data = src; bj.out = dst; bj.cap = n + 14;
        /* hot: wsproxy_mask and wsproxy_frame_build beside memcpy of the payload, and
           (a reference) memcpy to where the frame puts it, after its header */
        {
            job_fn f[4] = {job_hot, job_build, job_hot, job_hot};
            void *cx[4];
            double t[4];
            mem_job at_payload = cpy;
            at_payload.dst = dst + (n < 126 ? 6 : n <= 0xFFFF ? 8 : 14);
            cx[0] = &lib; cx[1] = &bj; cx[2] = &cpy; cx[3] = &at_payload;
            compare(4, f, cx, 0.05, t);
            t_lib = t[0]; t_s = t[1]; t_cpy = t[2]; t_at = t[3];
        }
        snprintf(name, sizeof name, "mask %s, hot", fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)n / t_lib));
        snprintf(v2, sizeof v2, "%s", fmt_bps((double)n / t_cpy));
        row_out("1 mask", name, v1, "memcpy hot", v2, speedup(0, 2), "", "");
        r = speedup(1, 2);
        snprintf(name, sizeof name, "wsproxy_frame_build %s (masked frame into the caller's buffer, hot)", fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)n / t_s));
        row_out("1 mask", name, v1, "memcpy hot", v2, r, n >= 4096 ? ">=0.5" : "", n >= 4096 ? at_least(r, 0.5) : "");
        snprintf(name, sizeof name, "  reference: memcpy to the frame's payload place (%d bytes on) %s, hot",
                 n < 126 ? 6 : n <= 0xFFFF ? 8 : 14, fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)n / t_at));
        row_out("1 mask", name, v1, "memcpy hot", v2, speedup(3, 2), "", "");
        {
            char v3[48];
            snprintf(name, sizeof name, "  reference: wsproxy_frame_build %s beside that memcpy", fmt_size(n));
            snprintf(v3, sizeof v3, "%s", fmt_bps((double)n / t_s));
            row_out("1 mask", name, v3, "memcpy to the payload place", v1, speedup(1, 3), "", "");
        }
        /* cold: 64 MiB walked */
        {
            job_fn f[4] = {job_cold, job_cold, job_cold, job_cold};
            void *cx[4];
            double t[4];
            mem_job ccl = lib, mcm = lib;
            ccl.mask = v_c_copy;
            mcm.mask = v_memcpy_as_mask;
            cx[0] = &lib; cx[1] = &cpy; cx[2] = &ccl; cx[3] = &mcm;
            compare(4, f, cx, 0.15, t);
            t_lib = t[0]; t_cpy = t[1]; t_ccl = t[2]; t_mcm = t[3];
        }
        r = speedup(0, 1);
        snprintf(name, sizeof name, "mask %s, cold (64 MiB walked)", fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)COLD_BYTES / t_lib));
        snprintf(v2, sizeof v2, "%s", fmt_bps((double)COLD_BYTES / t_cpy));
        row_out("1 mask", name, v1, "memcpy cold", v2, r, ">=1.0", at_least(r, 1.0));
        snprintf(name, sizeof name, "  reference: C copy loop (no XOR) %s, cold", fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)COLD_BYTES / t_ccl));
        row_out("1 mask", name, v1, "memcpy cold", v2, speedup(2, 1), "", "");
        snprintf(name, sizeof name, "  reference: memcpy in the mask's place %s, cold", fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)COLD_BYTES / t_mcm));
        row_out("1 mask", name, v1, "memcpy cold", v2, speedup(3, 1), "", "");
        /* beside wslay's send path: wsproxy_frame_build, and the client's send path */
        sl.c = c; sl.size = n; sl.data = src;
        sw.ctx = wctx; sw.size = n; sw.data = src;
        triple(job_build, &bj, job_send_lib, &sl, job_send_wslay, &sw, 0.05, &t_s, &t_lib, &t_w);
        r = speedup(0, 2);
        snprintf(name, sizeof name, "wsproxy_frame_build %s, beside wslay", fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)n / t_s));
        snprintf(v2, sizeof v2, "%s", fmt_bps((double)n / t_w));
        row_out("1 mask", name, v1, "wslay_frame_send", v2, r, n == 16 ? ">=1.0" : "", n == 16 ? at_least(r, 1.0) : "");
        snprintf(name, sizeof name, "  client send path %s (send_binary + send_buf/send_ack)", fmt_size(n));
        snprintf(v1, sizeof v1, "%s", fmt_bps((double)n / t_lib));
        row_out("1 mask", name, v1, "wslay_frame_send", v2, speedup(1, 2), "", "");
    }
    wslay_frame_context_free(wctx);
    free(c);
    free(src);
    free(dst);
}

/* ======================================================================== 2. decode */
typedef struct {
    unsigned char *buf;
    size_t len;
    size_t frames;
    size_t payload;      /* bytes of payload in the stream */
    size_t size;         /* payload per frame */
} stream_t;

static void make_stream(stream_t *s, size_t size, int text)
{
    size_t frames = ((size_t)2 << 20) / size, i, hl;
    unsigned char *p;
    if (frames < 2) frames = 2;
    s->frames = frames;
    s->size = size;
    s->payload = frames * size;
    s->len = frames * (size + 10);
    s->buf = xalloc(s->len);
    p = s->buf;
    for (i = 0; i < frames; i++) {
        size_t k;
        hl = wsproxy_frame_encode(p, 1, text ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY, NULL, size);
        p += hl;
        if (text) {
            /* JSON-ish ASCII */
            static const char t[] = "{\"id\":12345,\"name\":\"wsproxy\",\"ok\":true,\"v\":[1,2,3]} ";
            for (k = 0; k < size; k++) p[k] = (unsigned char)t[k % (sizeof t - 1)];
        } else {
            bench_fill(p, size);
        }
        p += size;
    }
    s->len = (size_t)(p - s->buf);
}

/* the client's receive calls, through pointers */
typedef struct {
    unsigned char *(*recv_buf)(wsproxy_client *, size_t *);
    void (*recv_ack)(wsproxy_client *, size_t);
    int (*poll)(wsproxy_client *, wsproxy_event *);
} rx_api;
static rx_api volatile v_lib_rx = {wsproxy_recv_buf, wsproxy_recv_ack, wsproxy_poll};

/* the client: each read copies into wsproxy_recv_buf what recv() would, then polls */
typedef struct {
    wsproxy_client *c;
    const stream_t *s;
    size_t read_size;
} dec_job;

static double job_dec_client(void *ctx, long iters)
{
    dec_job *j = (dec_job *)ctx;
    wsproxy_client *c = j->c;
    rx_api api = v_lib_rx;
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++) {
        size_t pos = 0, frames = 0, bytes = 0;
        const unsigned char *in = j->s->buf;
        size_t len = j->s->len, rs = j->read_size;
        while (pos < len) {
            size_t room, n;
            wsproxy_event ev;
            unsigned char *p = api.recv_buf(c, &room);
            if (!p) BENCH_FAIL("recv_buf refused");
            n = len - pos;
            if (n > room) n = room;
            if (n > rs) n = rs;
            memcpy(p, in + pos, n);   /* what recv() into recv_buf would do */
            api.recv_ack(c, n);
            pos += n;
            while (api.poll(c, &ev)) {
                if (ev.type != WSPROXY_EV_MESSAGE) BENCH_FAIL("event %d (error %d)", ev.type, wsproxy_error(c));
                bytes += ev.len;
                frames += (size_t)ev.fin;
            }
        }
        if (frames != j->s->frames || bytes != j->s->payload)
            BENCH_FAIL("decoded %zu frames %zu bytes, want %zu %zu", frames, bytes, j->s->frames, j->s->payload);
    }
    return wall_now() - t0;
}

/* the frames stage alone: wsproxy_frames_read on the bytes where they are, in pieces
   of read_size (no copy in, no handshake) */
typedef struct {
    wsproxy_frames *f;
    const stream_t *s;
    size_t read_size;
    unsigned char *msg_buf;   /* NULL: zero-copy chunks */
    size_t msg_cap;
    int least;                /* run least_read instead of wsproxy_frames_read */
    int many;                 /* run wsproxy_frames_read_many, events in batches */
} frames_job;

/* A reader with wsproxy_frames_read's calls that checks nothing (no opcode, no UTF-8,
   no limit): it finds each frame's length and gives the payload out, in chunks when a
   read cuts it. Beside the frames stage it shows what the calls and the harness cost
   by themselves, the most any reader of this shape could reach against wslay. Its
   state is here, not in the wsproxy_frames it is handed. */
static struct {
    int between;              /* between frames, no header cut: the first test */
    uint64_t remaining;       /* payload of the current frame still to come */
    unsigned char head[10];   /* a header cut by the end of a read */
    size_t head_len;
} least;

static int least_read(wsproxy_frames *unused, const unsigned char *p, size_t len, size_t *used,
                      wsproxy_event *ev)
{
    size_t n, hl, pos = 0;
    uint64_t plen;
    (void)unused;
    if (least.between && len >= 2 && p[1] < 126 && len - 2 >= p[1]) {   /* whole, short */
        ev->type = WSPROXY_EV_MESSAGE;
        ev->opcode = p[0] & 15;
        ev->first = ev->fin = 1;
        ev->data = p + 2;
        ev->len = p[1];
        ev->status = ev->close_code = 0;
        ev->protocol = NULL;
        *used = 2 + (size_t)p[1];
        return 1;
    }
    if (!least.remaining) {
        const unsigned char *h = p;
        if (least.head_len || len < 10) {   /* gather the header */
            while (pos < len && least.head_len < 10) least.head[least.head_len++] = p[pos++];
            h = least.head;
            if (least.head_len < 2 || least.head_len < (size_t)(h[1] == 126 ? 4 : h[1] == 127 ? 10 : 2)) {
                least.between = 0;
                *used = len;
                return 0;
            }
        }
        hl = h[1] == 126 ? 4 : h[1] == 127 ? 10 : 2;
        plen = h[1] == 126 ? (uint64_t)h[2] << 8 | h[3] : h[1];
        if (h[1] == 127) {
            size_t i;
            for (plen = 0, i = 2; i < 10; i++) plen = plen << 8 | h[i];
        }
        if (h == least.head) pos -= least.head_len - hl;   /* bytes past the header go back */
        else pos = hl;
        least.head_len = 0;
        least.remaining = plen;
    }
    n = least.remaining < len - pos ? (size_t)least.remaining : len - pos;
    least.remaining -= n;
    least.between = !least.remaining;
    ev->type = WSPROXY_EV_MESSAGE;
    ev->opcode = WSPROXY_OP_BINARY;
    ev->first = 0;
    ev->fin = !least.remaining;
    ev->data = p + pos;
    ev->len = n;
    *used = pos + n;
    return n || !least.remaining;
}
static frames_read_fn volatile v_least_read = least_read;

typedef size_t (*frames_read_many_fn)(wsproxy_frames *, const unsigned char *, size_t, size_t *,
                                      wsproxy_event *, size_t);
static frames_read_many_fn volatile v_frames_read_many = wsproxy_frames_read_many;
#define DEC_BATCH 64

static double job_dec_frames(void *ctx, long iters)
{
    frames_job *j = (frames_job *)ctx;
    frames_read_fn fr = j->least ? v_least_read : v_frames_read;
    frames_read_many_fn fr_many = v_frames_read_many;
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++) {
        size_t pos = 0, frames = 0, bytes = 0;
        const unsigned char *in = j->s->buf;
        size_t len = j->s->len, rs = j->read_size;
        wsproxy_frames_init(j->f, 0, j->msg_buf, j->msg_cap);
        memset(&least, 0, sizeof least);
        least.between = 1;
        while (pos < len) {
            size_t n = len - pos < rs ? len - pos : rs, off = 0, used;
            if (j->many) {   /* the same checks of each event, in batches */
                wsproxy_event ev[DEC_BATCH];
                size_t got, e;
                while ((got = fr_many(j->f, in + pos + off, n - off, &used, ev, DEC_BATCH)) != 0) {
                    for (e = 0; e < got; e++) {
                        if (ev[e].type != WSPROXY_EV_MESSAGE) BENCH_FAIL("frames: event %d (error %d)", ev[e].type, wsproxy_frames_error(j->f));
                        bytes += ev[e].len;
                        frames += (size_t)ev[e].fin;
                    }
                    off += used;
                }
            } else {
                wsproxy_event ev;
                while (fr(j->f, in + pos + off, n - off, &used, &ev)) {
                    if (ev.type != WSPROXY_EV_MESSAGE) BENCH_FAIL("frames: event %d (error %d)", ev.type, wsproxy_frames_error(j->f));
                    off += used;
                    bytes += ev.len;
                    frames += (size_t)ev.fin;
                }
            }
            if (off + used != n) BENCH_FAIL("frames read left %zu of %zu bytes", n - off - used, n);
            pos += n;
        }
        if (frames != j->s->frames || bytes != j->s->payload)
            BENCH_FAIL("frames decoded %zu frames %zu bytes, want %zu %zu", frames, bytes, j->s->frames, j->s->payload);
    }
    return wall_now() - t0;
}

typedef struct {
    const stream_t *s;
    size_t pos, read_size;
} wslay_src;

static ssize_t wslay_feed(uint8_t *buf, size_t len, int flags, void *user)
{
    wslay_src *w = (wslay_src *)user;
    size_t n = w->s->len - w->pos;
    (void)flags;
    if (n > len) n = len;
    if (n > w->read_size) n = w->read_size;
    memcpy(buf, w->s->buf + w->pos, n);
    w->pos += n;
    return (ssize_t)n;   /* 0: WSLAY_ERR_WANT_READ */
}

typedef struct { wslay_frame_context_ptr ctx; wslay_src *src; } wslay_dec_job;

static double job_dec_wslay(void *ctx, long iters)
{
    wslay_dec_job *j = (wslay_dec_job *)ctx;
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++) {
        size_t frames = 0, bytes = 0;
        uint64_t off = 0;
        j->src->pos = 0;
        for (;;) {
            struct wslay_frame_iocb io;
            ssize_t r = wslay_frame_recv(j->ctx, &io);
            if (r == WSLAY_ERR_WANT_READ) break;
            if (r < 0) BENCH_FAIL("wslay_frame_recv %zd", r);
            bytes += io.data_length;
            off += io.data_length;
            if (off == io.payload_length) { frames++; off = 0; }
        }
        if (frames != j->src->s->frames || bytes != j->src->s->payload)
            BENCH_FAIL("wslay decoded %zu frames, want %zu", frames, j->src->s->frames);
    }
    return wall_now() - t0;
}

/* the least any client that copies payloads out must do: one memcpy per payload */
typedef struct { const stream_t *s; unsigned char *dst; } copy_job;

static double job_dec_memcpy(void *ctx, long iters)
{
    copy_job *j = (copy_job *)ctx;
    copy_fn f = v_memcpy;
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++) {
        const unsigned char *p = j->s->buf, *end = j->s->buf + j->s->len;
        while (p < end) {
            size_t hl = j->s->size < 126 ? 2 : j->s->size <= 0xFFFF ? 4 : 10;
            f(j->dst, p + hl, j->s->size);
            p += hl + j->s->size;
        }
    }
    return wall_now() - t0;
}

/* The frames stage alone gives the same events as the client: random streams of data
   frames (some fragmented), pings, text (some of it invalid), fed in random pieces,
   zero-copy and copied out. The frames stage gets the pieces the client took. */
typedef struct { char log[1 << 16]; size_t len; uint64_t hash; int done; } ev_log;

static void log_event(ev_log *lg, const wsproxy_event *ev)
{
    size_t i;
    uint64_t h = 1469598103934665603ull;
    for (i = 0; i < ev->len; i++) h = (h ^ ev->data[i]) * 1099511628211ull;
    lg->hash = lg->hash * 31 + h;
    if (lg->len + 64 < sizeof lg->log)
        lg->len += (size_t)snprintf(lg->log + lg->len, 64, "%d/%d/%d/%d/%zu/%d ", ev->type, ev->opcode,
                                    ev->first, ev->fin, ev->len, ev->close_code);
    if (ev->type == WSPROXY_EV_ERROR || ev->type == WSPROXY_EV_CLOSE) lg->done = 1;
}

static void check_decode(void)
{
    static unsigned char stream[1 << 21];
    static size_t pieces[1 << 16];
    static ev_log lg[3];
    size_t cap = (1 << 20) + 64;
    unsigned char *mb[2] = {xalloc(cap), xalloc(cap)};
    wsproxy_client *c = (wsproxy_client *)xalloc(sizeof(wsproxy_client));
    wsproxy_frames f;
    int round, copy;
    for (round = 0; round < 200; round++) {
        size_t len = 0, pos, np, i;
        int open = 0, n = 0;
        while (len < sizeof stream - 80000 && n++ < 60) {
            uint64_t r = bench_rand();
            size_t size = r % 4 == 0 ? r % 126 : r % 4 == 1 ? 126 + (r >> 8) % 400 : r % 4 == 2 ? (r >> 8) % 16 : 1000 + (r >> 8) % 70000;
            int text = (r >> 40) & 1, fin = ((r >> 41) & 3) != 0, op;
            if ((r >> 44) % 9 == 0) {   /* a ping between frames */
                len += wsproxy_frame_encode(stream + len, 1, WSPROXY_OP_PING, NULL, 5);
                memcpy(stream + len, "ping!", 5);
                len += 5;
            }
            op = open ? WSPROXY_OP_CONTINUATION : text ? WSPROXY_OP_TEXT : WSPROXY_OP_BINARY;
            if (open == 0) open = text ? 1 : 2;
            len += wsproxy_frame_encode(stream + len, fin, op, NULL, size);
            if (open == 1) { size_t k; for (k = 0; k < size; k++) stream[len + k] = (unsigned char)('a' + k % 26); }
            else bench_fill(stream + len, size);
            if (round % 17 == 3 && n == 30 && open == 1 && size) stream[len + size / 2] = 0xFF;   /* invalid text */
            len += size;
            if (fin) open = 0;
        }
        for (copy = 0; copy < 2; copy++) {
            wsproxy_event ev;
            memset(lg, 0, sizeof lg);
            /* the client: pieces of random size, as far as its receive room goes */
            open_client(c, copy ? mb[0] : NULL, cap);
            pos = np = 0;
            while (pos < len && !lg[0].done && np < sizeof pieces / sizeof pieces[0]) {
                size_t room, m = 1 + (size_t)(bench_rand() % (round % 3 == 0 ? 1500 : 40000));
                unsigned char *p = wsproxy_recv_buf(c, &room);
                BENCH_CHECK(p != NULL, "client refused input (round %d)", round);
                if (m > room) m = room;
                if (m > len - pos) m = len - pos;
                memcpy(p, stream + pos, m);
                wsproxy_recv_ack(c, m);
                pieces[np++] = m;
                pos += m;
                while (!lg[0].done && wsproxy_poll(c, &ev)) log_event(&lg[0], &ev);
            }
            /* the frames stage alone, on the same pieces in place */
            wsproxy_frames_init(&f, 0, copy ? mb[1] : NULL, cap);
            for (i = 0, pos = 0; i < np && !lg[1].done; pos += pieces[i++]) {
                size_t off = 0, used;
                while (!lg[1].done && wsproxy_frames_read(&f, stream + pos + off, pieces[i] - off, &used, &ev)) {
                    off += used;
                    log_event(&lg[1], &ev);
                }
                BENCH_CHECK(lg[1].done || off + used == pieces[i], "frames_read left bytes (round %d)", round);
            }
            BENCH_CHECK(lg[0].len == lg[1].len && memcmp(lg[0].log, lg[1].log, lg[0].len) == 0 &&
                        lg[0].hash == lg[1].hash && wsproxy_error(c) == wsproxy_frames_error(&f),
                        "frames stage and client differ (round %d, copy %d)", round, copy);
            /* and in batches of events of random size */
            wsproxy_frames_init(&f, 0, copy ? mb[1] : NULL, cap);
            for (i = 0, pos = 0; i < np && !lg[2].done; pos += pieces[i++]) {
                size_t off = 0, used, got, e;
                wsproxy_event evs[9];
                while (!lg[2].done &&
                       (got = wsproxy_frames_read_many(&f, stream + pos + off, pieces[i] - off, &used, evs,
                                                       1 + (size_t)(bench_rand() % 9))) != 0) {
                    off += used;
                    for (e = 0; e < got; e++) log_event(&lg[2], &evs[e]);
                }
                BENCH_CHECK(lg[2].done || off + used == pieces[i], "frames_read_many left bytes (round %d)", round);
            }
            BENCH_CHECK(lg[0].len == lg[2].len && memcmp(lg[0].log, lg[2].log, lg[0].len) == 0 &&
                        lg[0].hash == lg[2].hash && wsproxy_error(c) == wsproxy_frames_error(&f),
                        "frames_read_many and client differ (round %d, copy %d)", round, copy);
        }
    }
    free(c); free(mb[0]); free(mb[1]);
}

static void bench_decode(void)
{
    static const size_t reads[2] = {(size_t)-1, 1500};
    size_t msg_cap = ((size_t)1 << 20) + 64;
    unsigned char *msg_buf = xalloc(msg_cap), *msg_buf2 = xalloc(msg_cap), *dst = xalloc(msg_cap);
    wsproxy_client *zc = (wsproxy_client *)xalloc(sizeof *zc);   /* zero-copy chunks */
    wsproxy_client *cc = (wsproxy_client *)xalloc(sizeof *cc);   /* whole messages, copied out */
    wsproxy_frames fz, fc;
    size_t i;
    int text, rd;
    check_decode();
    open_client(zc, NULL, 0);
    open_client(cc, msg_buf, msg_cap);
    for (text = 0; text < 2; text++)
        for (i = 0; i < NSIZES; i++) {
            stream_t s;
            make_stream(&s, SIZES[i], text);
            fprintf(stderr, "  decode %s %s\n", text ? "text" : "binary", fmt_size(SIZES[i]));
            for (rd = 0; rd < 2; rd++) {
                struct wslay_frame_callbacks cb = {NULL, wslay_feed, NULL};
                wslay_src src = {&s, 0, reads[rd]};
                wslay_dec_job wj;
                frames_job fzj = {&fz, &s, reads[rd], NULL, 0, 0, 0}, flj = {&fz, &s, reads[rd], NULL, 0, 1, 0};
                frames_job fmj = {&fz, &s, reads[rd], NULL, 0, 0, 1};
                frames_job fcj = {&fc, &s, reads[rd], msg_buf2, msg_cap, 0, 0};
                dec_job zj = {zc, &s, reads[rd]}, cj = {cc, &s, reads[rd]};
                copy_job mj = {&s, dst};
                double t_f, t_z, t_w, t_c, t_m, t_l, t_b, r;
                job_fn zf[5] = {job_dec_frames, job_dec_client, job_dec_wslay, job_dec_frames, job_dec_frames};
                void *zc_[5];
                double zt[5] = {0, 0, 0, 0, 0};
                char name[112], v1[64], v2[64];
                const char *how = rd ? "1500-byte reads" : "whole";
                const char *kind = text ? "text" : "bin";
                const char *peer = text ? "wslay frame API (no UTF-8 check)" : "wslay frame API";
                BENCH_CHECK(wslay_frame_context_init(&wj.ctx, &cb, &src) == 0, "wslay init");
                wj.src = &src;
                zc_[0] = &fzj; zc_[1] = &zj; zc_[2] = &wj; zc_[3] = &fmj; zc_[4] = &flj;
                compare(s.size <= 125 ? 5 : 4, zf, zc_, 0.05, zt);
                t_f = zt[0]; t_z = zt[1]; t_w = zt[2]; t_b = zt[3]; t_l = zt[4];
                r = speedup(3, 2);
                snprintf(name, sizeof name, "decode %s %s, %s: frames stage, zero-copy, events in batches", kind,
                         fmt_size(s.size), how);
                snprintf(v1, sizeof v1, "%s %s", fmt_rate((double)s.frames / t_b, "fr"), fmt_bps((double)s.payload / t_b));
                snprintf(v2, sizeof v2, "%s %s", fmt_rate((double)s.frames / t_w, "fr"), fmt_bps((double)s.payload / t_w));
                row_out("2 decode", name, v1, peer, v2, r, s.size == 16 ? ">=1.5" : "", s.size == 16 ? at_least(r, 1.5) : "");
                snprintf(name, sizeof name, "decode %s %s, %s: frames stage, zero-copy", kind, fmt_size(s.size), how);
                snprintf(v1, sizeof v1, "%s %s", fmt_rate((double)s.frames / t_f, "fr"), fmt_bps((double)s.payload / t_f));
                row_out("2 decode", name, v1, peer, v2, speedup(0, 2), "", "");
                snprintf(v1, sizeof v1, "%s %s", fmt_rate((double)s.frames / t_z, "fr"), fmt_bps((double)s.payload / t_z));
                row_out("2 decode", "  the client: copy into recv_buf, poll, zero-copy chunks", v1, peer, v2,
                        speedup(1, 2), "", "");
                if (s.size <= 125) {   /* where the calls are most of the cost */
                    snprintf(v1, sizeof v1, "%s %s", fmt_rate((double)s.frames / t_l, "fr"),
                             fmt_bps((double)s.payload / t_l));
                    row_out("2 decode", "  a reader with the same calls that checks nothing", v1, peer, v2,
                            speedup(4, 2), "", "");
                    snprintf(v2, sizeof v2, "%s", v1);
                    snprintf(v1, sizeof v1, "%s %s", fmt_rate((double)s.frames / t_f, "fr"),
                             fmt_bps((double)s.payload / t_f));
                    row_out("2 decode", "  the frames stage beside that reader", v1, "the reader that checks nothing",
                            v2, speedup(0, 4), "", "");
                }
                triple(job_dec_frames, &fcj, job_dec_client, &cj, job_dec_memcpy, &mj, 0.05, &t_f, &t_c, &t_m);
                r = speedup(0, 2);
                snprintf(name, sizeof name, "decode %s %s, %s: frames stage, copied out (message_buffer)", kind,
                         fmt_size(s.size), how);
                snprintf(v1, sizeof v1, "%s %s", fmt_rate((double)s.frames / t_f, "fr"), fmt_bps((double)s.payload / t_f));
                snprintf(v2, sizeof v2, "%s", fmt_bps((double)s.payload / t_m));
                row_out("2 decode", name, v1, "memcpy of each payload", v2, r,
                        s.size == 65536 ? ">=0.8" : "", s.size == 65536 ? at_least(r, 0.8) : "");
                snprintf(v1, sizeof v1, "%s %s", fmt_rate((double)s.frames / t_c, "fr"), fmt_bps((double)s.payload / t_c));
                row_out("2 decode", "  the client, copied out (message_buffer)", v1, "memcpy of each payload", v2,
                        speedup(1, 2), "", "");
                wslay_frame_context_free(wj.ctx);
            }
            free(s.buf);
        }
    free(zc); free(cc); free(msg_buf); free(msg_buf2); free(dst);
}

/* ======================================================================== 3. UTF-8 */
static size_t put_cp(unsigned char *p, uint32_t cp)
{
    if (cp < 0x80) { p[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { p[0] = (unsigned char)(0xC0 | cp >> 6); p[1] = (unsigned char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        p[0] = (unsigned char)(0xE0 | cp >> 12); p[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
        p[2] = (unsigned char)(0x80 | (cp & 63)); return 3;
    }
    p[0] = (unsigned char)(0xF0 | cp >> 18); p[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
    p[2] = (unsigned char)(0x80 | ((cp >> 6) & 63)); p[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

/* random code points of 2, 3 and 4 bytes, evenly mixed; returns the length used */
static size_t make_mixed(unsigned char *p, size_t cap)
{
    size_t n = 0;
    while (n + 4 <= cap) {
        uint64_t r = bench_rand();
        uint32_t cp;
        switch (r % 3) {
        case 0: cp = 0x80 + (uint32_t)((r >> 8) % (0x800 - 0x80)); break;
        case 1:
            cp = 0x800 + (uint32_t)((r >> 8) % (0x10000 - 0x800 - 0x800));
            if (cp >= 0xD800) cp += 0x800;   /* no surrogates */
            break;
        default: cp = 0x10000 + (uint32_t)((r >> 8) % (0x110000 - 0x10000)); break;
        }
        n += put_cp(p + n, cp);
    }
    return n;
}

typedef struct { utf8_fn f; copy_fn copy; const unsigned char *p; unsigned char *dst; size_t len; } utf8_job;

static double job_utf8(void *ctx, long iters)
{
    utf8_job *j = (utf8_job *)ctx;
    double t0 = wall_now();
    long k;
    for (k = 0; k < iters; k++) {
        if (j->f) {
            uint32_t st = 0;
            if (j->f(&st, j->p, j->len) != j->len || st != 0) BENCH_FAIL("valid text refused");
        } else {
            j->copy(j->dst, j->p, j->len);
        }
    }
    return wall_now() - t0;
}

static void bench_utf8(void)
{
    unsigned char *cold = xalloc(COLD_BYTES), *cold_dst = xalloc(COLD_BYTES);
    unsigned char *mixed = xalloc(65536), *ascii = xalloc(65536), *dst = xalloc(65536);
    size_t mixed_len = make_mixed(mixed, 65536), i;
    double t_lib, t_cpy, r;
    char v1[48], v2[48];
    utf8_job lib, cpy;
    for (i = 0; i < 65536; i++) ascii[i] = (unsigned char)(' ' + i % 95);
    for (i = 0; i < COLD_BYTES; i++) cold[i] = (unsigned char)(' ' + i % 95);
    fprintf(stderr, "  utf-8\n");
    /* ASCII, hot */
    lib.f = v_lib_utf8; lib.copy = NULL; lib.p = ascii; lib.dst = dst; lib.len = 65536;
    cpy = lib; cpy.f = NULL; cpy.copy = v_memcpy;
    pair(job_utf8, &lib, job_utf8, &cpy, 0.05, &t_lib, &t_cpy);
    snprintf(v1, sizeof v1, "%s", fmt_bps(65536 / t_lib));
    snprintf(v2, sizeof v2, "%s", fmt_bps(65536 / t_cpy));
    row_out("3 utf8", "validate ASCII 64 KiB, hot", v1, "memcpy hot", v2, speedup(0, 1), "abs>=16 GB/s",
            65536 / t_lib >= 16e9 ? "met" : "MISSED");
    /* ASCII, cold */
    lib.p = cold; lib.len = COLD_BYTES; lib.dst = cold_dst;
    cpy = lib; cpy.f = NULL; cpy.copy = v_memcpy;
    pair(job_utf8, &lib, job_utf8, &cpy, 0.15, &t_lib, &t_cpy);
    r = speedup(0, 1);
    snprintf(v1, sizeof v1, "%s", fmt_bps(COLD_BYTES / t_lib));
    snprintf(v2, sizeof v2, "%s", fmt_bps(COLD_BYTES / t_cpy));
    row_out("3 utf8", "validate ASCII 64 MiB, cold", v1, "memcpy cold", v2, r, ">=1.0", at_least(r, 1.0));
    /* mixed 2/3/4-byte text, hot */
    lib.p = mixed; lib.len = mixed_len; lib.dst = dst;
    cpy = lib; cpy.f = NULL; cpy.copy = v_memcpy;
    pair(job_utf8, &lib, job_utf8, &cpy, 0.05, &t_lib, &t_cpy);
    snprintf(v1, sizeof v1, "%s", fmt_bps((double)mixed_len / t_lib));
    snprintf(v2, sizeof v2, "%s", fmt_bps((double)mixed_len / t_cpy));
    row_out("3 utf8", "validate mixed 2/3/4-byte 64 KiB, hot", v1, "memcpy hot", v2, speedup(0, 1),
            "abs>=1.5 GB/s", mixed_len / t_lib >= 1.5e9 ? "met" : "MISSED");
    free(cold); free(cold_dst); free(mixed); free(ascii); free(dst);
}

/* `micro prof JOB`: a fixed amount of one job, for callgrind or perf:
     valgrind --tool=callgrind --toggle-collect='job_*' build/bench/micro prof dec-frames-bin
   JOB: dec-{frames,client,wslay,memcpy}-{bin,text}[-64k][-copy][-1500]: 3 passes over
          2 MiB of frames of 16 B (64k: 64 KiB), zero-copy or copied out (copy:
          message_buffer), whole or in 1500-byte reads; dec-frames-...-many reads them
          with wsproxy_frames_read_many, dec-frames-...-least with the reader that
          checks nothing
        build-{lib,wslay,client}-{16,4k}: 1e6 frames of 16 B or 1e5 of 4 KiB
          (wsproxy_frame_build, wslay_frame_send, send_binary + send_buf/send_ack)
        utf8-lib (10 x 64 KiB of mixed 2/3/4-byte text),
        mask16-lib (1e6 x 16 B), mask4k-lib (1e5 x 4 KiB) */
static void prof(const char *job)
{
    wsproxy_client *c = (wsproxy_client *)xalloc(sizeof *c);
    size_t cap = ((size_t)1 << 20) + 64;
    unsigned char *a = xalloc(cap), *b = xalloc(cap);
    int text = strstr(job, "text") != NULL, copy = strstr(job, "copy") != NULL;
    size_t rs = strstr(job, "1500") ? 1500 : (size_t)-1;
    double t0 = wall_now();
    bench_fill(key_pool, sizeof key_pool);
    if (!strncmp(job, "dec-", 4)) {
        stream_t st;
        make_stream(&st, strstr(job, "64k") ? 65536 : 16, text);
        if (strstr(job, "wslay")) {
            struct wslay_frame_callbacks cb = {NULL, wslay_feed, NULL};
            wslay_src src = {&st, 0, rs};
            wslay_dec_job wj;
            wslay_frame_context_init(&wj.ctx, &cb, &src);
            wj.src = &src;
            job_dec_wslay(&wj, 3);
        } else if (strstr(job, "memcpy")) {
            copy_job mj = {&st, b};
            job_dec_memcpy(&mj, 3);
        } else if (strstr(job, "frames")) {
            wsproxy_frames f;
            frames_job fj = {&f, &st, rs, copy ? a : NULL, copy ? cap : 0, strstr(job, "least") != NULL,
                             strstr(job, "many") != NULL};
            job_dec_frames(&fj, 3);
        } else {
            dec_job j;
            open_client(c, copy ? a : NULL, copy ? cap : 0);
            j.c = c; j.s = &st; j.read_size = rs;
            job_dec_client(&j, 3);
        }
        printf("%s: %zu frames in %.3f s\n", job, 3 * st.frames, wall_now() - t0);
    } else if (!strncmp(job, "build-", 6)) {
        size_t size = strstr(job, "4k") ? 4096 : 16;
        long it = size == 16 ? 1000000 : 100000;
        if (strstr(job, "wslay")) {
            struct wslay_frame_callbacks cb = {wslay_sink, NULL, wslay_mask_key};
            wslay_send_job sw;
            wslay_frame_context_init(&sw.ctx, &cb, NULL);
            sw.size = size; sw.data = a;
            job_send_wslay(&sw, it);
        } else if (strstr(job, "client")) {
            send_job sl;
            open_client(c, NULL, 0);
            sl.c = c; sl.size = size; sl.data = a;
            job_send_lib(&sl, it);
        } else {
            build_job bj;
            bj.size = size; bj.data = a; bj.out = b; bj.cap = size + 14;
            job_build(&bj, it);
        }
        printf("%s: %ld frames in %.3f s\n", job, it, wall_now() - t0);
    } else if (!strncmp(job, "utf8-", 5)) {
        utf8_job u = {0};
        u.f = v_lib_utf8;
        u.p = a;
        u.len = make_mixed(a, 65536);
        job_utf8(&u, 10);
        printf("%s: %zu bytes in %.3f s\n", job, 10 * u.len, wall_now() - t0);
    } else if (!strncmp(job, "mask", 4)) {
        mem_job m = {0};
        long it = strstr(job, "4k") ? 100000 : 1000000;
        m.mask = v_lib_mask;
        m.size = strstr(job, "4k") ? 4096 : 16;
        m.src = a; m.dst = b;
        job_hot(&m, it);
        printf("%s: %ld calls in %.3f s\n", job, it, wall_now() - t0);
    } else {
        fprintf(stderr, "micro prof: unknown job %s\n", job);
        exit(2);
    }
    free(a); free(b); free(c);
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    bench_fill(key_pool, sizeof key_pool);   /* before any client draws from it */
    if (!strcmp(only, "prof")) { prof(argc > 2 ? argv[2] : "dec-frames-bin"); return 0; }
    if (!*only || strstr(only, "mask")) bench_mask();
    if (!*only || strstr(only, "decode")) bench_decode();
    if (!*only || strstr(only, "utf8")) bench_utf8();
    return 0;
}
