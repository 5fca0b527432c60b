/* bench/common.h: timing, medians, checks and the row format shared by the benchmarks.
   Each benchmark prints its rows as tab-separated lines starting with "ROW"; bench/run.sh
   gathers them into one table. Progress goes to stderr. A wrong result exits 1; a time
   never fails anything. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_FAIL(...)                                                                   \
    do {                                                                                  \
        fprintf(stderr, "bench: WRONG RESULT at %s:%d: ", __FILE__, __LINE__);            \
        fprintf(stderr, __VA_ARGS__);                                                     \
        fprintf(stderr, "\n");                                                            \
        exit(1);                                                                          \
    } while (0)
#define BENCH_CHECK(cond, ...)                                                            \
    do {                                                                                  \
        if (!(cond)) BENCH_FAIL(__VA_ARGS__);                                             \
    } while (0)

static inline double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* user + system CPU time of the whole process (all threads), nanosecond precision */
static inline double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double_(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline double median(const double *v, int n)
{
    double t[64];
    int i;
    if (n > 64) n = 64;
    for (i = 0; i < n; i++) t[i] = v[i];
    qsort(t, (size_t)n, sizeof t[0], bench_cmp_double_);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* ---- human-readable numbers ---------------------------------------------------- */
static char bench_fmt_ring_[16][48];
static int bench_fmt_at_;
static char *bench_fmt_slot_(void) { return bench_fmt_ring_[bench_fmt_at_++ & 15]; }

static inline const char *fmt_bps(double bytes_per_s)   /* decimal: GB/s, MB/s */
{
    char *s = bench_fmt_slot_();
    if (bytes_per_s >= 1e9) snprintf(s, 48, "%.2f GB/s", bytes_per_s / 1e9);
    else if (bytes_per_s >= 1e6) snprintf(s, 48, "%.1f MB/s", bytes_per_s / 1e6);
    else snprintf(s, 48, "%.1f kB/s", bytes_per_s / 1e3);
    return s;
}

static inline const char *fmt_rate(double per_s, const char *unit)
{
    char *s = bench_fmt_slot_();
    if (per_s >= 1e6) snprintf(s, 48, "%.2f M%s/s", per_s / 1e6, unit);
    else if (per_s >= 1e3) snprintf(s, 48, "%.1f k%s/s", per_s / 1e3, unit);
    else snprintf(s, 48, "%.1f %s/s", per_s, unit);
    return s;
}

static inline const char *fmt_us(double seconds)
{
    char *s = bench_fmt_slot_();
    snprintf(s, 48, "%.2f us", seconds * 1e6);
    return s;
}

static inline const char *fmt_size(size_t n)
{
    char *s = bench_fmt_slot_();
    if (n >= 1024 * 1024 && n % (1024 * 1024) == 0) snprintf(s, 48, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0) snprintf(s, 48, "%zu KiB", n >> 10);
    else snprintf(s, 48, "%zu B", n);
    return s;
}

/* ---- rows --------------------------------------------------------------------------
   ROW \t section \t case \t ours \t beside \t beside's value \t ratio \t target \t verdict
   ratio is ours / beside; target is a condition on the ratio (">=0.5", "<=1.15") or on
   ours itself ("abs>=16e9"); verdict is "met", "MISSED" or "" (information only). */
static inline void row_out(const char *section, const char *name, const char *ours, const char *beside,
                    const char *beside_value, double ratio, const char *target, const char *verdict)
{
    char r[32];
    if (ratio > 0 && ratio < 0.1) snprintf(r, sizeof r, "%.3fx", ratio);
    else if (ratio > 0) snprintf(r, sizeof r, "%.2fx", ratio);
    else snprintf(r, sizeof r, "-");
    printf("ROW\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", section, name, ours, beside,
           beside_value, r, target ? target : "", verdict ? verdict : "");
    fflush(stdout);
}

/* verdict for "ratio must be at least / at most" */
static inline const char *at_least(double ratio, double limit) { return ratio >= limit ? "met" : "MISSED"; }
static inline const char *at_most(double ratio, double limit) { return ratio <= limit ? "met" : "MISSED"; }

static inline int bench_quick(void)
{
    const char *q = getenv("BENCH_QUICK");
    return q && q[0] && q[0] != '0';
}

static inline int bench_reps(void)
{
    const char *r = getenv("BENCH_REPS");
    int n = r ? atoi(r) : 0;
    if (n <= 0) n = bench_quick() ? 3 : 7;
    if (n > 64) n = 64;
    return n;
}

/* deterministic bytes */
static uint64_t bench_rng_ = 0x9E3779B97F4A7C15ull;
static inline uint64_t bench_rand(void)
{
    uint64_t x = bench_rng_;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return bench_rng_ = x;
}
static inline void bench_fill(unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)(bench_rand() >> 24);
}

#endif
