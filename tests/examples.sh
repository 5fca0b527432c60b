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
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=ex IT_MAX_SECONDS=300 IT_RC_TEXT=0 IT_PEER_STATE=0
# the shared harness; it unsets every proxy variable: each check sets its own
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
EPOLL_N=${EPOLL_N:-1000}
BLOCKING=$BUILD/blocking
EPOLL_MANY=$BUILD/epoll_many
LIBUV_CLIENT=$BUILD/libuv_client
ECHO_SERVER=$BUILD/ws_echo_server
PROXY_BIN=$BUILD/http_proxy
SOCKS_BIN=$BUILD/socks_server
CERTS=tests/certs

# Peers and epoll_many need a descriptor per connection (the proxy two): raise the
# soft limit to the hard one before anything starts, so every child inherits it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# expect_proxy_log NAME MARK TEXT: the proxy's log got TEXT since MARK (lines)
expect_proxy_log() {
    grep -qF -- "$3" <<<"$(log_since "$1" "$2")" ||
        why "$1 log has no new '$3' (the traffic did not go through it)"
}

# run SECONDS COMMAND...: bounded run, stdin empty (the examples, not wspcat)
run() {
    local limit=$1
    shift
    run_timed "$limit" /dev/null "$@"
}

for bin in "$BLOCKING" "$EPOLL_MANY" "$LIBUV_CLIENT" "$ECHO_SERVER" "$PROXY_BIN" "$SOCKS_BIN"; do
    if [[ ! -x $bin ]]; then
        fail_check "binary $bin" "missing: run make examples-extra peers"
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
    # session resumption (epoll_many --resume): an https:// proxy, and a server that keeps
    # no sessions
    start_peer TP tlsproxy "$PROXY_BIN" --tls-cert "$CERTS/proxy-chain.pem" --tls-key "$CERTS/proxy.key" ||
        summary_and_exit
    start_peer TN tls-noresume "$ECHO_SERVER" --tls-cert "$CERTS/target-ec-chain.pem" \
        --tls-key "$CERTS/target-ec.key" --tls-no-resume || summary_and_exit
    cat "$CERTS/ca.pem" "$CERTS/proxy-ca.pem" >"$TMP/both-cas.pem"   # epoll_many: one bundle, both hops
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

begin "epoll_many --buffers 4096,1024: 100 KB messages streamed through caller buffers"
run 60 "$EPOLL_MANY" -n 50 -m 3 -s 100000 --buffers 4096,1024 "$WS"
expect_epoll 50 3
expect_stdout_has "buffers 4096 + 1024 bytes given)"
finish

begin "epoll_many --buffers 256,0 on ws://: no send buffer is refused at init, exit 1"
run 20 "$EPOLL_MANY" -n 5 -m 1 --buffers 256,0 "$WS"
expect_rc 1; expect_stderr_has WSPROXY_E_BUFFER
finish

begin "epoll_many --buffers 0: usage error, exit 1"
run 20 "$EPOLL_MANY" -n 5 --buffers 0 "$WS"
expect_rc 1; expect_stderr_has "usage: epoll_many"
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

    begin "epoll_many --buffers 256,0: 100 wss:// connections with no send buffer, 20 KB messages"
    run 60 "$EPOLL_MANY" -n 100 -m 3 -s 20000 --buffers 256,0 --cacert "$CERTS/ca.pem" "wss://127.0.0.1:$T/"
    expect_epoll 100 3
    expect_stdout_has "buffers 256 + 0 bytes given)"
    finish

    # expect_resumed HOP N MIN: epoll_many's summary has "HOP hop R of N" with R >= MIN
    # (R counts wsproxy_tls_session_get's resumed flag); the number is left in RESUMED
    expect_resumed() {
        local line
        line=$(grep -oE "$1 hop [0-9]+ of [0-9]+" "$OUT")
        RESUMED=$(sed -E 's/.* hop ([0-9]+) of .*/\1/' <<<"$line")
        if [[ -z $line ]]; then why "no '$1 hop R of N' count in the summary"
        elif [[ $line != "$1 hop $RESUMED of $2" ]]; then why "'$line': not $2 handshakes on the $1 hop"
        elif (( RESUMED < $3 )); then why "'$line': fewer than $3 resumed"
        fi
    }
    # expect_server_resumed PEER MARK N: PEER logged N resumed handshakes since MARK
    expect_server_resumed() {
        local got
        got=$(log_count "$1" "$2" '^=== resumed: yes')
        (( got == $3 )) || why "$1 logged $got resumed handshakes, the client counted $3"
    }

    begin "epoll_many --resume: 300 wss:// connections, all but the first resume the first one's session"
    mark=$(log_mark tls)
    run 60 "$EPOLL_MANY" -n 300 -m 2 --resume --cacert "$CERTS/ca.pem" "wss://127.0.0.1:$T/"
    expect_epoll 300 2
    expect_resumed server 300 299
    expect_stdout_has "(--resume: the first connection's sessions)"
    expect_server_resumed tls "$mark" "${RESUMED:-0}"
    finish

    begin "epoll_many without --resume: 100 wss:// connections, none resumed (control)"
    mark=$(log_mark tls)
    run 60 "$EPOLL_MANY" -n 100 -m 2 --cacert "$CERTS/ca.pem" "wss://127.0.0.1:$T/"
    expect_epoll 100 2
    expect_stdout_has "TLS handshakes: 0 of 100 resumed; server hop 0 of 100"
    expect_server_resumed tls "$mark" 0
    finish

    begin "epoll_many --resume through an https:// proxy: 200 wss:// connections, both hops resumed"
    mark=$(log_mark tls); pmark=$(log_mark tlsproxy)
    run 60 "$EPOLL_MANY" -n 200 -m 2 --resume --cacert "$TMP/both-cas.pem" --proxy "https://localhost:$TP" \
        "wss://127.0.0.1:$T/"
    expect_epoll 200 2
    expect_resumed proxy 200 199
    expect_server_resumed tlsproxy "$pmark" "${RESUMED:-0}"
    expect_resumed server 200 199
    expect_server_resumed tls "$mark" "${RESUMED:-0}"
    finish

    begin "epoll_many --resume, a server that keeps no sessions: every handshake full, all complete"
    run 60 "$EPOLL_MANY" -n 50 -m 2 --resume --cacert "$CERTS/ca.pem" "wss://127.0.0.1:$TN/"
    expect_epoll 50 2
    expect_stdout_has "TLS handshakes: 0 of 50 resumed; server hop 0 of 50"
    finish

    begin "epoll_many --resume on ws:// (no TLS hop): usage error, exit 1"
    run 20 "$EPOLL_MANY" -n 5 --resume "$WS"
    expect_rc 1; expect_stderr_has "--resume: no TLS hop"
    finish
fi

summary_and_exit
