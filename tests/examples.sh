#!/usr/bin/env bash
# The event-loop examples against the test peers: blocking, libuv_client, epoll_many.
#
# Usage (from the repo root):  bash tests/examples.sh     (make examples-test builds first)
#   BUILD=dir   directory holding the binaries (default: build)
#   EPOLL_N=n   connections for the epoll_many runs (default 1000: CI-sized)
#
# Everything stays on 127.0.0.1; every peer gets --max-seconds and is killed by its PID
# on exit. Each check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is
# "N passed, N failed" and the exit status is non-zero if anything failed.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
EPOLL_N=${EPOLL_N:-1000}
BLOCKING=$BUILD/blocking
EPOLL_MANY=$BUILD/epoll_many
LIBUV_CLIENT=$BUILD/libuv_client
ECHO_SERVER=$BUILD/ws_echo_server
PROXY_BIN=$BUILD/http_proxy
SOCKS_BIN=$BUILD/socks_server
CERTS=tests/certs

PASSED=0
FAILED=0
PIDS=()      # peers we started (killed by PID on exit)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-ex.XXXXXX") || exit 1

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        { wait "$pid"; } 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

summary_and_exit() {
    echo "$PASSED passed, $FAILED failed"
    if (( FAILED > 0 )); then exit 1; fi
    exit 0
}

now_ms() { date +%s%3N; }

# The caller's proxy variables must not steer the examples: each check sets its own.
unset ws_proxy WS_PROXY wss_proxy WSS_PROXY http_proxy HTTP_PROXY https_proxy HTTPS_PROXY \
      all_proxy ALL_PROXY no_proxy NO_PROXY

# Peers and epoll_many need a descriptor per connection (the proxy two): raise the
# soft limit to the hard one before anything starts, so every child inherits it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# ---------------------------------------------------------------- checks --
NAME=
WHY=()
begin() { NAME=$1; WHY=(); }
why() { WHY+=("$1"); }

show_output() {
    local f label path size
    echo "    exit status: $RC"
    for f in OUT ERR; do
        label=stdout; [[ $f == ERR ]] && label=stderr
        path=${!f}
        if [[ -s $path ]]; then
            size=$(wc -c <"$path")
            echo "    --- $label ($size bytes)"
            head -c 2000 "$path" | sed 's/^/    | /'
            echo
        else
            echo "    --- $label: (empty)"
        fi
    done
}

finish() {
    if (( ${#WHY[@]} == 0 )); then
        echo "ok - $NAME"
        PASSED=$((PASSED + 1))
    else
        local text=${WHY[0]} w
        for w in "${WHY[@]:1}"; do text+="; $w"; done
        echo "FAIL - $NAME: $text"
        show_output
        FAILED=$((FAILED + 1))
    fi
}

expect_rc() { [[ $RC == "$1" ]] || why "exit status $RC, expected $1"; }
expect_stdout() {   # exact bytes
    printf '%s' "$1" >"$TMP/expected"
    cmp -s "$TMP/expected" "$OUT" || why "stdout is not exactly $(printf '%q' "$1")"
}
expect_stdout_file() {   # exact bytes of a file (not shown when they differ)
    cmp -s "$1" "$OUT" || why "stdout differs from ${1##*/} ($(wc -c <"$1") bytes expected)"
}
expect_stdout_has() { grep -qF -- "$1" "$OUT" || why "stdout lacks '$1'"; }
expect_stderr_has() { grep -qF -- "$1" "$ERR" || why "stderr lacks '$1'"; }
expect_stdout_bytes() {
    local n
    n=$(wc -c <"$OUT")
    (( n == $1 )) || why "stdout has $n bytes, expected $1"
}
expect_ms_between() {
    (( ELAPSED_MS >= $1 && ELAPSED_MS <= $2 )) || why "took ${ELAPSED_MS} ms (expected $1..$2 ms)"
}
# expect_proxy_log NAME MARK TEXT: the proxy's log got TEXT since MARK (lines)
expect_proxy_log() {
    tail -n "+$(( $2 + 1 ))" "$TMP/$1.log" 2>/dev/null | tr -d '\r' | grep -qF -- "$3" ||
        why "$1 log has no new '$3' (the traffic did not go through it)"
}
log_mark() { if [[ -f $TMP/$1.log ]]; then wc -l <"$TMP/$1.log"; else echo 0; fi; }
log_count() { tail -n "+$(( $2 + 1 ))" "$TMP/$1.log" 2>/dev/null | grep -c -- "$3"; }

# ----------------------------------------------------------------- peers --
# start_peer VAR NAME BINARY [ARGS...]: ephemeral port into VAR, log in $TMP/NAME.log
start_peer() {
    local _var=$1 _name=$2 _bin=$3
    shift 3
    local _pf=$TMP/$_name.port _port='' _i _pid
    "$_bin" --port 0 --port-file "$_pf" --log "$TMP/$_name.log" \
        --max-seconds 300 "$@" >"$TMP/$_name.out" 2>&1 &
    _pid=$!
    PIDS+=("$_pid")
    for (( _i = 0; _i < 200; _i++ )); do          # at most ~10 s
        if [[ -s $_pf ]]; then
            _port=$(head -n 1 "$_pf")
            if [[ $_port =~ ^[0-9]+$ ]]; then
                printf -v "$_var" '%s' "$_port"
                return 0
            fi
        fi
        kill -0 "$_pid" 2>/dev/null || break
        sleep 0.05
    done
    begin "start $_name ($_bin $*)"
    why "no port file ${_pf##*/}"
    RC=n/a OUT=/dev/null ERR=$TMP/$_name.out
    finish
    return 1
}

OUT=$TMP/stdout
ERR=$TMP/stderr
RC=
ELAPSED_MS=0

# run SECONDS COMMAND...: bounded run, stdin empty
run() {
    local limit=$1 t0
    shift
    t0=$(now_ms)
    timeout "$limit" "$@" </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    ELAPSED_MS=$(( $(now_ms) - t0 ))
}

for bin in "$BLOCKING" "$EPOLL_MANY" "$LIBUV_CLIENT" "$ECHO_SERVER" "$PROXY_BIN" "$SOCKS_BIN"; do
    if [[ ! -x $bin ]]; then
        begin "binary $bin"; why "missing: run make examples-extra peers"; RC=n/a OUT=/dev/null ERR=/dev/null; finish
        summary_and_exit
    fi
done

start_peer E echo "$ECHO_SERVER" || summary_and_exit
start_peer P proxy "$PROXY_BIN" || summary_and_exit
start_peer S silent "$PROXY_BIN" --mode silent || summary_and_exit
start_peer F forbid "$PROXY_BIN" --mode status403 || summary_and_exit
start_peer K socks "$SOCKS_BIN" || summary_and_exit
TLS=0
if [[ -f $CERTS/target-ec-chain.pem ]]; then
    start_peer T tls "$ECHO_SERVER" --tls-cert "$CERTS/target-ec-chain.pem" \
        --tls-key "$CERTS/target-ec.key" || summary_and_exit
    TLS=1
fi
WS=ws://127.0.0.1:$E/echo
PROXY=http://127.0.0.1:$P
DEAD_PORT=1   # nothing listens on 127.0.0.1:1

# -------------------------------------------------------------- blocking --
begin "blocking: direct, one message, reply printed, clean close"
run 20 "$BLOCKING" "$WS" "hello blocking"
expect_rc 0; expect_stdout $'hello blocking\n'
finish

begin "blocking: default message"
run 20 "$BLOCKING" "$WS"
expect_rc 0; expect_stdout $'hello\n'
finish

begin "blocking: through the proxy named by http_proxy"
mark=$(log_mark proxy)
run 20 env http_proxy="$PROXY" "$BLOCKING" "$WS" "via proxy"
expect_rc 0; expect_stdout $'via proxy\n'
expect_proxy_log proxy "$mark" "CONNECT 127.0.0.1:$E HTTP/1.1"
finish

begin "blocking: ws_proxy wins over http_proxy"
mark=$(log_mark proxy)
run 20 env ws_proxy="$PROXY" http_proxy="http://127.0.0.1:$DEAD_PORT" "$BLOCKING" "$WS" "ws_proxy"
expect_rc 0; expect_stdout $'ws_proxy\n'
expect_proxy_log proxy "$mark" "CONNECT 127.0.0.1:$E HTTP/1.1"
finish

begin "blocking: NO_PROXY=127.0.0.1 goes direct despite http_proxy"
mark=$(log_mark proxy)
run 20 env http_proxy="$PROXY" NO_PROXY=127.0.0.1 "$BLOCKING" "$WS" "direct"
expect_rc 0; expect_stdout $'direct\n'
(( $(log_count proxy "$mark" CONNECT) == 0 )) || why "the proxy saw a CONNECT"
finish

begin "blocking: all_proxy=socks5h:// (the SOCKS server resolves localhost)"
mark=$(log_mark socks)
run 20 env all_proxy="socks5h://127.0.0.1:$K" "$BLOCKING" "ws://localhost:$E/" "via socks"
expect_rc 0; expect_stdout $'via socks\n'
(( $(log_count socks "$mark" "atyp=DOMAIN(3) host=localhost") == 1 )) || why "the SOCKS server was not asked for localhost by name"
finish

begin "blocking: socks5:// to a host name -> SOCKS_NEED_ADDRESS, nothing sent"
run 20 env all_proxy="socks5://127.0.0.1:$K" "$BLOCKING" "ws://localhost:$E/"
expect_rc 1; expect_stderr_has WSPROXY_E_SOCKS_NEED_ADDRESS
finish

begin "blocking: proxy refuses the tunnel (403) -> exit 1, reason on stderr"
run 20 env http_proxy="http://127.0.0.1:$F" "$BLOCKING" "$WS"
expect_rc 1; expect_stdout ''
expect_stderr_has WSPROXY_E_PROXY_CONNECT
finish

begin "blocking: connection refused -> exit 1"
run 20 "$BLOCKING" "ws://127.0.0.1:$DEAD_PORT/"
expect_rc 1; expect_stderr_has WSPROXY_E_CONNECT_REFUSED
finish

begin "blocking: bad URL -> exit 1, nothing sent"
run 20 "$BLOCKING" "http://127.0.0.1:$E/"
expect_rc 1; expect_stderr_has WSPROXY_E_URL_SCHEME
finish

# ---------------------------------------------------------- libuv_client --
begin "libuv_client: direct, three messages echoed in order"
run 20 "$LIBUV_CLIENT" "$WS" one two "three four"
expect_rc 0; expect_stdout $'one\ntwo\nthree four\n'
finish

begin "libuv_client: through the proxy"
mark=$(log_mark proxy)
run 20 "$LIBUV_CLIENT" --proxy "$PROXY" "$WS" alpha beta
expect_rc 0; expect_stdout $'alpha\nbeta\n'
expect_proxy_log proxy "$mark" "CONNECT 127.0.0.1:$E HTTP/1.1"
finish

begin "libuv_client: proxy from the environment (http_proxy), NO_PROXY honoured"
mark=$(log_mark proxy)
run 20 env http_proxy="$PROXY" "$LIBUV_CLIENT" "$WS" env
expect_rc 0; expect_stdout $'env\n'
expect_proxy_log proxy "$mark" "CONNECT 127.0.0.1:$E HTTP/1.1"
run 20 env http_proxy="http://127.0.0.1:$DEAD_PORT" no_proxy=127.0.0.1 "$LIBUV_CLIENT" "$WS" bypass
expect_rc 0; expect_stdout $'bypass\n'
finish

begin "libuv_client: 2 MB reply through the proxy (read backpressure: uv_read_stop/start)"
run 30 "$LIBUV_CLIENT" --proxy "$PROXY" "$WS" "__big__ 2000000"
expect_rc 0; expect_stdout_bytes 2000001
finish

begin "libuv_client: 10 x 100 KB out through the proxy, 4 KB SO_SNDBUF (uv_try_write, then uv_write)"
big=$(head -c 100000 /dev/zero | tr '\0' x)
for (( i = 0; i < 10; i++ )); do printf '%s\n' "$big"; done >"$TMP/big.expected"
run 30 "$LIBUV_CLIENT" --sndbuf 4096 --proxy "$PROXY" "$WS" "$big" "$big" "$big" "$big" "$big" \
    "$big" "$big" "$big" "$big" "$big"
expect_rc 0; expect_stdout_file "$TMP/big.expected"
finish

begin "libuv_client: proxy accepts but never answers -> uv_timer fires, PROXY_TIMEOUT, exit 7"
run 20 "$LIBUV_CLIENT" --timeout 0.5 --proxy "http://127.0.0.1:$S" "$WS" x
expect_rc 7; expect_stdout ''
expect_stderr_has WSPROXY_E_PROXY_TIMEOUT
expect_ms_between 450 5000
finish

begin "libuv_client: connection refused -> exit 2"
run 20 "$LIBUV_CLIENT" "ws://127.0.0.1:$DEAD_PORT/" x
expect_rc 2; expect_stderr_has WSPROXY_E_CONNECT_REFUSED
finish

begin "libuv_client: server-initiated close is a clean end"
run 20 "$LIBUV_CLIENT" "$WS" "__close__ 1000 bye"
expect_rc 0
finish

if (( TLS )); then
    begin "libuv_client: wss:// through the proxy (TLS in the tunnel)"
    run 20 "$LIBUV_CLIENT" --cacert "$CERTS/ca.pem" --proxy "$PROXY" "wss://127.0.0.1:$T/" secret
    expect_rc 0; expect_stdout $'secret\n'
    finish

    begin "libuv_client: wss:// with an untrusted certificate -> exit 8"
    run 20 "$LIBUV_CLIENT" --cacert "$CERTS/untrusted-ca.pem" "wss://localhost:$T/" x
    expect_rc 8; expect_stderr_has WSPROXY_E_TLS_TARGET
    finish
fi

# ------------------------------------------------------------ epoll_many --
# expect_epoll N M: the summary says every one of N connections did all of it
expect_epoll() {
    local n=$1 m=$2
    expect_rc 0
    expect_stdout_has "opened $n/$n in"
    expect_stdout_has "(peak $n open at once)"
    expect_stdout_has "echoed $((n * m))/$((n * m)) messages"
    expect_stdout_has "closed $n/$n cleanly (1000)"
    expect_stdout_has "ok: every connection opened, echoed $m messages and closed cleanly"
    grep -qE '^peak RSS [0-9.]+ MiB' "$OUT" || why "no peak RSS line"
    grep -qE ' [0-9]+ connections/s ' "$OUT" || why "no connections/s figure"
    grep -qE ' [0-9]+ messages/s ' "$OUT" || why "no messages/s figure"
}

begin "epoll_many: $EPOLL_N connections direct, 5 messages each"
run 120 "$EPOLL_MANY" -n "$EPOLL_N" -m 5 "$WS"
expect_epoll "$EPOLL_N" 5
finish
sed -n '2,5p' "$OUT" | sed 's/^/    /'

begin "epoll_many: $EPOLL_N connections through the proxy, 5 messages each"
mark=$(log_mark proxy)
run 120 "$EPOLL_MANY" -n "$EPOLL_N" -m 5 --proxy "$PROXY" "$WS"
expect_epoll "$EPOLL_N" 5
got=$(log_count proxy "$mark" "^CONNECT 127.0.0.1:$E ")
(( got == EPOLL_N )) || why "the proxy saw $got CONNECTs, expected $EPOLL_N"
finish
sed -n '2,5p' "$OUT" | sed 's/^/    /'

begin "epoll_many: 50 connections, 3 messages of 100 KB (streamed), through the proxy"
run 60 "$EPOLL_MANY" -n 50 -m 3 -s 100000 --proxy "$PROXY" "$WS"
expect_epoll 50 3
finish

begin "epoll_many: 50 connections through socks5:// to ws://localhost (target resolved once)"
mark=$(log_mark socks)
run 60 "$EPOLL_MANY" -n 50 -m 3 --proxy "socks5://127.0.0.1:$K" "ws://localhost:$E/"
expect_epoll 50 3
(( $(log_count socks "$mark" "atyp=IPV4(1) host=127.0.0.1") == 50 )) || why "the SOCKS server did not get 50 requests for 127.0.0.1"
finish

begin "epoll_many: no barrier, 200 connections at 20 at a time"
run 60 "$EPOLL_MANY" -n 200 -m 4 --concurrency 20 --no-barrier "$WS"
expect_rc 0; expect_stdout_has "closed 200/200 cleanly (1000)"
finish

begin "epoll_many: silent proxy -> every handshake times out on the wheel, exit 2"
run 30 "$EPOLL_MANY" -n 20 -m 1 --connect-timeout 0.5 --proxy "http://127.0.0.1:$S" "$WS"
expect_rc 2
expect_stdout_has "FAILED: 20 of 20 connections did not complete: 20 WSPROXY_E_PROXY_TIMEOUT"
expect_ms_between 450 5000
finish

begin "epoll_many: connection refused -> exit 2, counted"
run 30 "$EPOLL_MANY" -n 20 -m 1 "ws://127.0.0.1:$DEAD_PORT/"
expect_rc 2
expect_stdout_has "20 WSPROXY_E_CONNECT_REFUSED"
finish

begin "epoll_many: fd hard limit too low -> clear message, exit 1"
run 20 bash -c 'ulimit -n 256 && ulimit -Hn 256 && exec "$0" -n 1000 "$1"' "$EPOLL_MANY" "$WS"
expect_rc 1
expect_stderr_has "hard limit (RLIMIT_NOFILE)"
finish

if (( TLS )); then
    begin "epoll_many: 100 wss:// connections through the proxy"
    run 60 "$EPOLL_MANY" -n 100 -m 3 --cacert "$CERTS/ca.pem" --proxy "$PROXY" "wss://127.0.0.1:$T/"
    expect_epoll 100 3
    finish
fi

summary_and_exit
