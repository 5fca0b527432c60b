#!/usr/bin/env bash
# bench/run.sh: runs every benchmark of `make bench` against local test peers and prints
# one table (also written to $BUILD/bench/results.md, and kept with its rows in
# $BUILD/bench/runs/ for make bench-report, which alone copies runs into bench/RESULTS.md).
# Exits non-zero only when a program fails (a wrong result or a broken run), never
# because of a time. BENCH_ROWS=7 (or a
# list: BENCH_ROWS=4,7) runs only the programs, and of e2e only the parts, those rows need.
# Rows: 1-3 micro, 4, 5 and 7 e2e, 6 mem, 8 deflate, 9 tls_backends (with libssl-dev).
set -u
BUILD=${BUILD:-build}
CC=${CC:-cc}
BENCH_CFLAGS=${BENCH_CFLAGS:--O2 -g}
B="$BUILD/bench"
CERTS=tests/certs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-bench.XXXXXX")
ROWS="$WORK/rows.tsv"
OUT="$B/results.md"
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Pinning (BENCH_PIN=0 turns it off): with two cores or more, the peers run on the last
# core and the measured programs on core 0, as a client and its remote peers would. Left
# to the scheduler, the client shared a core with the proxy in some runs and not in
# others, and its CPU per message through the proxy (64 KiB x16) ranged 11-25 us from run
# to run (the floor's too); pinned, it stays within a few percent.
PEER_PIN=() PROG_PIN=() PIN_NOTE='not pinned'
if [ "${BENCH_PIN:-1}" != 0 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    PEER_PIN=(taskset -c $(($(nproc) - 1)))
    PROG_PIN=(taskset -c 0)
    PIN_NOTE="programs pinned to core 0, peers to core $(($(nproc) - 1))"
fi

# start_peer NAME VAR BINARY ARGS...: starts it (in this shell, so that its PID is
# kept for cleanup), waits for its port file, stores the port in VAR.
start_peer() {
    local name=$1 var=$2 bin=$3
    shift 3
    "${PEER_PIN[@]}" "$bin" --port 0 --port-file "$WORK/$name.port" --max-seconds 3600 "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
    if [ ! -s "$WORK/$name.port" ]; then echo "bench: $name did not start" >&2; cat "$WORK/$name.log" >&2; exit 1; fi
    printf -v "$var" '%s' "$(cat "$WORK/$name.port")"
}

ECHO='' PROXY='' ECHO_TLS='' PROXY_TLS=''
start_peer echo ECHO "$BUILD/ws_echo_server"
start_peer proxy PROXY "$BUILD/http_proxy"
# the TLS peers log every handshake's suite and key exchange: e2e checks in them that the
# clients of rows 5 and 7 negotiated the same (--echo-tls-log, --proxy-tls-log)
start_peer echo_tls ECHO_TLS "$BUILD/ws_echo_server" --tls-cert $CERTS/target-chain.pem --tls-key $CERTS/target.key \
    --log "$WORK/echo_tls.hs"
start_peer proxy_tls PROXY_TLS "$BUILD/http_proxy" --tls-cert $CERTS/proxy-chain.pem --tls-key $CERTS/proxy.key \
    --log "$WORK/proxy_tls.hs"
PEERS=(--echo "$ECHO" --proxy "$PROXY" --echo-tls "$ECHO_TLS" --proxy-tls "$PROXY_TLS" --certs $CERTS)
HS_LOGS=(--echo-tls-log "$WORK/echo_tls.hs" --proxy-tls-log "$WORK/proxy_tls.hs")

# want N: row N was asked for (all rows when BENCH_ROWS is empty)
want() { [ -z "${BENCH_ROWS:-}" ] || [[ " ${BENCH_ROWS//,/ } " == *" $1 "* ]]; }
E2E_PARTS=()
want 7 && E2E_PARTS+=(handshake)
want 4 && E2E_PARTS+=(e2e)
want 5 && E2E_PARTS+=(tls)

fail=0
failed_list=''
run() {   # label, command...
    echo "== $1" >&2
    shift
    if ! "${PROG_PIN[@]}" "$@" >>"$ROWS"; then echo "bench: FAILED: $*" >&2; fail=1; failed_list+=" ${1##*/}"; fi
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
: >"$ROWS"
if want 1 || want 2 || want 3; then run "1-3: masking, decode, UTF-8 (in process)" "$B/micro"; fi
if (( ${#E2E_PARTS[@]} )); then run "4, 5, 7: loopback echo and handshakes" "$B/e2e" "${PEERS[@]}" "${HS_LOGS[@]}" "${E2E_PARTS[@]}"; fi
if want 6; then run "6: memory" "$B/mem" "${PEERS[@]}" --epoll-many "$B/epoll_many" --epoll-many-default "$BUILD/epoll_many"; fi
if want 8; then run "8: permessage-deflate (in memory; node's ws beside)" "$B/deflate" --node-script bench/deflate_ws.js --work "$B/deflate-corpus"; fi
# row 9: the TLS backends (bench/tls_backends.c, as `make bench-tls` runs it; in memory against
# OpenSSL servers), when libssl-dev is there; its sections (T1 handshake, T2 CPU per message,
# T3 bytes per connection, per backend) go into the case column
TLS_NOTE=''
if want 9; then
    if printf '#include <openssl/ssl.h>\n' | $CC -E -x c - >/dev/null 2>&1 && [ -x "$B/tls_backends" ]; then
        echo "== 9: TLS backends (in memory; BearSSL and OpenSSL, each beside its bare engine)" >&2
        if "${PROG_PIN[@]}" "$B/tls_backends" >"$WORK/tls_backends.tsv"; then
            awk -F'\t' 'BEGIN { OFS = "\t" } $1 == "ROW" { $3 = $2 ": " $3; $2 = "9 TLS backends"; print }' \
                "$WORK/tls_backends.tsv" >>"$ROWS"
        else
            echo "bench: FAILED: $B/tls_backends" >&2
            fail=1
            failed_list+=" tls_backends"
        fi
    else
        TLS_NOTE="row 9 (TLS backends) not run: no OpenSSL headers (apt-get install libssl-dev), then make bench-build"
        echo "bench: $TLS_NOTE" >&2
    fi
fi
t1=$(date +%s)
load1=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ver() { v=$(dpkg-query -W -f='${Version}\n' "$1" 2>/dev/null | head -1); echo "${v:-?}"; }   # one line per arch
{
    echo "wsproxy.h $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- wsproxy.h 2>/dev/null || echo ' (wsproxy.h modified)'), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "compiler: $($CC --version | head -1), flags: $BENCH_CFLAGS (no -march)"
    echo "CPU: $cpu, $(nproc) cores ($PIN_NOTE); $(uname -sr)"
    echo "peers: BearSSL $(ver libbearssl-dev), wslay $(ver libwslay-dev), libwebsockets $(ver libwebsockets-dev), zlib $(ver zlib1g-dev), OpenSSL $(ver libssl-dev), node $(node --version 2>/dev/null || echo '-')"
    [ -n "$TLS_NOTE" ] && echo "$TLS_NOTE"
    if (( fail )); then echo "programs: FAILED: ${failed_list# }"; else echo "programs: all passed"; fi
    echo "repetitions: ${BENCH_REPS:-$([ -n "${BENCH_QUICK:-}" ] && echo 3 || echo 7)} per comparison, interleaved (rows 4 and 5: ${BENCH_CONNS:-4} connections per client in each); values are medians, ratios the median of per-repetition ratios$([ -n "${BENCH_QUICK:-}" ] && echo ', BENCH_QUICK')$([ -n "${BENCH_ROWS:-}" ] && echo ", rows $BENCH_ROWS only"); load average $load0 at start, $load1 at end; $((t1 - t0)) s"
    echo
    echo "| # | case | wsproxy.h | beside | its value | ratio | target | verdict |"
    echo "|---|------|-----------|--------|-----------|-------|--------|---------|"
    awk -F'\t' '$1 == "ROW" {
        sec = $2; split(sec, a, " "); num = (sec != last) ? a[1] : ""; last = sec;
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", num, $3, $4, $5, $6, $7, $8, $9 }' "$ROWS"
} >"$OUT"
cat "$OUT"
stamp=$(date -u '+%Y%m%dT%H%M%SZ')
mkdir -p "$B/runs" && cp "$OUT" "$B/runs/$stamp.md" && cp "$ROWS" "$B/runs/$stamp.tsv"
met=$(awk -F'\t' '$1 == "ROW" && $9 == "met"' "$ROWS" | wc -l)
missed=$(awk -F'\t' '$1 == "ROW" && $9 == "MISSED"' "$ROWS" | wc -l)
echo
echo "targets: $met met, $missed missed (a miss is a finding, not a failure); table in $OUT (kept as $B/runs/$stamp.md)"
exit $fail
