#!/usr/bin/env bash
# make bench-tls: runs build/bench/tls_backends (bench/tls_backends.c) and prints its rows as
# a table (also written to $BUILD/bench/tls_backends.md). BENCH_QUICK=1 and BENCH_REPS=N as
# for make bench. Exits non-zero only when the program fails (a wrong result).
set -u
BUILD=${BUILD:-build}
OUT=$BUILD/bench/tls_backends.md
rows=$(mktemp "${TMPDIR:-/tmp}/wsproxy-tlsbench.XXXXXX")
trap 'rm -f "$rows"' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
"$BUILD/bench/tls_backends" >"$rows" || { echo "bench-tls: FAILED" >&2; exit 1; }
t1=$(date +%s)
ver() { dpkg-query -W -f='${Version}\n' "$1" 2>/dev/null | head -n 1; }
{
    echo "wsproxy.h $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'); BearSSL $(ver libbearssl-dev), OpenSSL $(ver libssl-dev)"
    echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average $load0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end; $((t1 - t0)) s"
    echo
    echo "| # | case | wsproxy.h | beside | its value | ratio |"
    echo "|---|------|-----------|--------|-----------|-------|"
    awk -F'\t' '$1 == "ROW" { sec = $2; printf "| %s | %s | %s | %s | %s | %s |\n", (sec != last) ? sec : "", $3, $4, $5, $6, $7; last = sec }' "$rows"
} >"$OUT"
cat "$OUT"
