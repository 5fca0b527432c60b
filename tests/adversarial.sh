#!/usr/bin/env bash
# Adversarial peers: wspcat and tests/adversarial_driver (the library on a real socket,
# measuring its own memory) against each mode of tests/peers/evil_server. Every check
# asserts a specific error (or a clean close), within bounded time and bytes, and
# bounded memory: the driver reports its maximum RSS; wspcat runs under `ulimit -v`.
#
# Usage (from the repo root): bash tests/adversarial.sh     BUILD=dir for the binaries
# One "ok - NAME" / "FAIL - NAME: WHY" line per check, then "N passed, N failed".
# Peers start on ephemeral 127.0.0.1 ports (port files) and are killed by PID on exit.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
WSPCAT=$BUILD/wspcat
DRIVER=$BUILD/adversarial_driver
EVIL=$BUILD/evil_server
MODE_SECONDS=3                 # each evil connection lasts at most this long
RSS_LIMIT_KB=16384             # the driver: fixed-size client, no per-message memory
WSPCAT_VMEM_KB=262144          # wspcat: address-space cap (ulimit -v)

# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=adv IT_MAX_SECONDS=600
# the shared harness: $TMP, PIDS, CUR_PID, cleanup traps, start_peer, begin/why/finish
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
OUT=$TMP/out ERR=$TMP/err RC=n/a   # what finish shows when a check fails

# start_evil VAR NAME MODE: an evil_server in MODE; its log is $TMP/NAME.log
start_evil() { start_peer "$1" "$2" "$EVIL" --mode "$3" --mode-seconds "$MODE_SECONDS"; }

# ---- the driver ---------------------------------------------------------------------
# drive ARGS...: runs the driver (hard limit 20 s), facts in $TMP/out
drive() {
    : >"$TMP/err"
    timeout 30 "$DRIVER" --limit 20 "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
}
fact() { sed -n "s/^$1: //p" "$TMP/out" | head -n 1; }
expect_result() { [[ $(fact result) == "$1" ]] || why "result '$(fact result)', expected '$1'"; }
expect_fact_le() {   # expect_fact_le KEY MAX
    local v; v=$(fact "$1")
    [[ $v =~ ^[0-9]+$ ]] || { why "no $1"; return; }
    (( v <= $2 )) || why "$1 $v > $2"
}
expect_fact_ge() {
    local v; v=$(fact "$1")
    [[ $v =~ ^[0-9]+$ ]] || { why "no $1"; return; }
    (( v >= $2 )) || why "$1 $v < $2"
}

# ---- wspcat -----------------------------------------------------------------------------
# cat_run STDIN_FILE ARGS...: wspcat under an address-space cap and a 30 s timeout
cat_run() {
    local in=$1 t0
    shift
    t0=$(now_ms)
    ( ulimit -v "$WSPCAT_VMEM_KB"; exec timeout 30 "$WSPCAT" "$@" ) <"$in" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    ELAPSED=$(( $(now_ms) - t0 ))
}
# cat_held ARGS...: stdin stays open (no EOF) until wspcat exits on its own
cat_held() {
    local t0
    rm -f "$TMP/fifo"; mkfifo "$TMP/fifo"
    t0=$(now_ms)
    ( ulimit -v "$WSPCAT_VMEM_KB"; exec timeout 30 "$WSPCAT" "$@" ) <"$TMP/fifo" >"$TMP/out" 2>"$TMP/err" &
    CUR_PID=$!
    exec 9>"$TMP/fifo"
    printf 'hello\n' >&9
    wait "$CUR_PID"; RC=$?
    CUR_PID=
    exec 9>&-
    ELAPSED=$(( $(now_ms) - t0 ))
}
expect_rc() { [[ $RC == "$1" ]] || why "exit $RC, expected $1"; }
expect_err() { grep -qF -- "$1" "$TMP/err" || why "stderr lacks '$1'"; }
# Upper time bounds only prove "ended by itself, not by a hard limit": the error code
# already tells which event ended the run. A loaded CI machine gets SLACK_MS on top.
SLACK_MS=${SLACK_MS:-3000}
expect_faster() { (( ELAPSED < $1 + SLACK_MS )) || why "took ${ELAPSED} ms (limit $1 + $SLACK_MS slack)"; }
expect_elapsed_le() {
    local v; v=$(fact elapsed_ms)
    [[ $v =~ ^[0-9]+$ ]] || { why "no elapsed_ms"; return; }
    (( v <= $1 + SLACK_MS )) || why "elapsed_ms $v > $1 + $SLACK_MS slack"
}
expect_slower() { (( ELAPSED >= $1 )) || why "took ${ELAPSED} ms, expected >= $1 (the timer)"; }

# ================================================================== main ==
for bin in "$WSPCAT" "$DRIVER" "$EVIL"; do
    [[ -x $bin ]] || { echo "FAIL - $bin missing (make adversarial builds it)"; echo "0 passed, 1 failed"; exit 1; }
done
SUITE_T0=$(now_ms)
MODES=(len63 pingflood closestorm endless-fragments stopread mute silent endless-header
       proxy407-huge proxy-endless-header)
declare -A PORT=()
for m in "${MODES[@]}"; do
    p=''
    start_evil p "$m" "$m" || summary_and_exit
    PORT[$m]=$p
done
# a second instance of some modes, so wspcat and the driver never wait for each other
for m in pingflood stopread silent mute; do
    p=''
    start_evil p "$m-2" "$m" || summary_and_exit
    PORT[$m-2]=$p
done
ws() { echo "ws://127.0.0.1:${PORT[$1]}/"; }
proxy() { echo "http://127.0.0.1:${PORT[$1]}"; }
printf 'hello\n' >"$TMP/hello"

# ---- the driver: errors, bytes, time, memory -----------------------------------------
begin "driver len63: MESSAGE_TOO_BIG (1009) at the frame header"
drive "$(ws len63)" --timeout 2
expect_result "ERROR WSPROXY_E_WS_MESSAGE_TOO_BIG close=1009"
expect_elapsed_le 3000
expect_fact_le recv_bytes 131072
expect_fact_le maxrss_kb "$RSS_LIMIT_KB"
finish

begin "driver pingflood: memory bounded while flooded, ends when the peer goes"
drive "$(ws pingflood)" --timeout 2
expect_result "ERROR WSPROXY_E_CONNECTION_LOST close=1006"
expect_fact_ge pings 1000
expect_fact_le maxrss_kb "$RSS_LIMIT_KB"
expect_elapsed_le $(( MODE_SECONDS * 1000 + 3000 ))
finish

begin "driver closestorm: one clean close (1001), the rest ignored"
drive "$(ws closestorm)" --timeout 2
expect_result "CLOSE 1001"
expect_elapsed_le 3000
expect_fact_le messages 0
finish

begin "driver endless-fragments, max_message 1000000: MESSAGE_TOO_BIG within the limit"
drive "$(ws endless-fragments)" --timeout 2 --max-message 1000000
expect_result "ERROR WSPROXY_E_WS_MESSAGE_TOO_BIG close=1009"
expect_fact_le max_msg_bytes 1000000
expect_fact_le recv_bytes $(( 1000000 + 65536 ))
expect_elapsed_le 3000
finish

begin "driver endless-fragments, default 16 MiB: MESSAGE_TOO_BIG within the limit"
drive "$(ws endless-fragments)" --timeout 2
expect_result "ERROR WSPROXY_E_WS_MESSAGE_TOO_BIG close=1009"
expect_fact_le max_msg_bytes $(( 16 * 1024 * 1024 ))
expect_fact_le recv_bytes $(( 16 * 1024 * 1024 + 65536 ))
expect_fact_le maxrss_kb "$RSS_LIMIT_KB"
expect_elapsed_le $(( MODE_SECONDS * 1000 ))
finish

begin "driver stopread: sending stops (WOULD_BLOCK), close times out, memory bounded"
drive "$(ws stopread)" --timeout 1 --flood --close-after 1
expect_result "ERROR WSPROXY_E_CLOSE_TIMEOUT close=0"
expect_fact_ge would_block 1
expect_fact_le sent_bytes $(( 64 * 1024 * 1024 ))
expect_fact_le maxrss_kb "$RSS_LIMIT_KB"
expect_elapsed_le 4500
finish

begin "driver mute: no close reply -> CLOSE_TIMEOUT after the timer"
drive "$(ws mute)" --timeout 1 --close-after 0.2
expect_result "ERROR WSPROXY_E_CLOSE_TIMEOUT close=0"
expect_fact_ge elapsed_ms 1000
expect_elapsed_le 3000
finish

begin "driver silent: no 101 -> HANDSHAKE_TIMEOUT after the timer"
drive "$(ws silent)" --timeout 1
expect_result "ERROR WSPROXY_E_HANDSHAKE_TIMEOUT close=0"
expect_fact_ge elapsed_ms 900
expect_elapsed_le 3000
finish

begin "driver endless-header: HANDSHAKE_TOO_LARGE within the head limit"
drive "$(ws endless-header)" --timeout 2
expect_result "ERROR WSPROXY_E_HANDSHAKE_TOO_LARGE close=0"
expect_fact_le recv_bytes 32768
expect_elapsed_le 3000
finish

begin "driver proxy407-huge: PROXY_AUTH at the head, the 2 GiB body unread"
drive "ws://127.0.0.1:9/" --proxy "$(proxy proxy407-huge)" --timeout 2
expect_result "ERROR WSPROXY_E_PROXY_AUTH close=0"
expect_fact_le recv_bytes 131072
expect_elapsed_le 3000
finish

begin "driver proxy-endless-header: PROXY_REPLY_TOO_LARGE"
drive "ws://127.0.0.1:9/" --proxy "$(proxy proxy-endless-header)" --timeout 2
expect_result "ERROR WSPROXY_E_PROXY_REPLY_TOO_LARGE close=0"
expect_fact_le recv_bytes 32768
expect_elapsed_le 3000
finish

begin "driver silent proxy: PROXY_TIMEOUT after the timer"
drive "ws://127.0.0.1:9/" --proxy "$(proxy silent-2)" --timeout 1
expect_result "ERROR WSPROXY_E_PROXY_TIMEOUT close=0"
expect_fact_ge elapsed_ms 900
expect_elapsed_le 3000
finish

# ---- wspcat: exit codes, named errors, bounded time, capped memory ------------------------
begin "wspcat len63 -> exit 6 MESSAGE_TOO_BIG"
cat_run "$TMP/hello" --timeout 2 "$(ws len63)"
expect_rc 6; expect_err WSPROXY_E_WS_MESSAGE_TOO_BIG; expect_err "close code 1009"; expect_faster 5000
finish

begin "wspcat closestorm -> exit 0, closed by server 1001"
cat_held --timeout 2 "$(ws closestorm)"
expect_rc 0; expect_err "closed by server: 1001"; expect_faster 5000
finish

begin "wspcat endless-fragments -> exit 6 MESSAGE_TOO_BIG after 16 MiB"
cat_held --timeout 2 "$(ws endless-fragments)"
expect_rc 6; expect_err WSPROXY_E_WS_MESSAGE_TOO_BIG; expect_faster 10000
size=$(wc -c <"$TMP/out")
(( size <= 16 * 1024 * 1024 )) || why "wrote $size bytes of one message (max_message 16 MiB)"
: >"$TMP/out"
finish

begin "wspcat pingflood -> memory capped, exit 2 when the peer goes"
cat_held --timeout 2 "$(ws pingflood-2)"
expect_rc 2; expect_err WSPROXY_E_CONNECTION_LOST; expect_faster $(( MODE_SECONDS * 1000 + 5000 ))
finish

begin "wspcat stopread with 32 MiB of input -> memory capped, ends when the peer goes"
head -c $(( 32 * 1024 * 1024 )) /dev/zero | tr '\0' 'x' | fold -w 1000 >"$TMP/big"
cat_run "$TMP/big" --timeout 1 "$(ws stopread-2)"
[[ $RC == 2 || $RC == 7 ]] || why "exit $RC, expected 2 (lost) or 7 (close timeout)"
grep -qE 'WSPROXY_E_(CONNECTION_LOST|CLOSE_TIMEOUT)' "$TMP/err" || why "stderr names neither CONNECTION_LOST nor CLOSE_TIMEOUT"
expect_faster $(( MODE_SECONDS * 1000 + 5000 ))
rm -f "$TMP/big"
finish

begin "wspcat mute -> exit 7 CLOSE_TIMEOUT after --timeout"
cat_run "$TMP/hello" --timeout 1 "$(ws mute-2)"
expect_rc 7; expect_err WSPROXY_E_CLOSE_TIMEOUT; expect_slower 900; expect_faster 5000
finish

begin "wspcat --ping 0.5 to a peer that never answers -> exit 7 PONG_TIMEOUT"
cat_held --timeout 10 --ping 0.5 "$(ws mute-2)"
expect_rc 7; expect_err WSPROXY_E_PONG_TIMEOUT; expect_slower 900; expect_faster 5000
finish

begin "wspcat silent -> exit 7 HANDSHAKE_TIMEOUT after --timeout"
cat_run "$TMP/hello" --timeout 1 "$(ws silent)"
expect_rc 7; expect_err WSPROXY_E_HANDSHAKE_TIMEOUT; expect_slower 900; expect_faster 5000
finish

begin "wspcat endless-header -> exit 5 HANDSHAKE_TOO_LARGE"
cat_run "$TMP/hello" --timeout 2 "$(ws endless-header)"
expect_rc 5; expect_err WSPROXY_E_HANDSHAKE_TOO_LARGE; expect_faster 5000
finish

begin "wspcat proxy407-huge -> exit 4 PROXY_AUTH, body not read"
cat_run "$TMP/hello" --timeout 2 --proxy "$(proxy proxy407-huge)" "ws://127.0.0.1:9/"
expect_rc 4; expect_err WSPROXY_E_PROXY_AUTH; expect_err 'realm="evil"'; expect_faster 5000
finish

begin "wspcat proxy-endless-header -> exit 3 PROXY_REPLY_TOO_LARGE"
cat_run "$TMP/hello" --timeout 2 --proxy "$(proxy proxy-endless-header)" "ws://127.0.0.1:9/"
expect_rc 3; expect_err WSPROXY_E_PROXY_REPLY_TOO_LARGE; expect_faster 5000
finish

begin "wspcat silent proxy -> exit 7 PROXY_TIMEOUT after --timeout"
cat_run "$TMP/hello" --timeout 1 --proxy "$(proxy silent-2)" "ws://127.0.0.1:9/"
expect_rc 7; expect_err WSPROXY_E_PROXY_TIMEOUT; expect_slower 900; expect_faster 5000
finish

# the peers really misbehaved (their own logs)
begin "evil peers: the floods happened"
grep -qE 'frames [0-9]{4,}' "$TMP/pingflood.log" 2>/dev/null || why "pingflood log shows no flood"
grep -qE 'frames [0-9]{3,}' "$TMP/endless-fragments.log" 2>/dev/null || why "endless-fragments log shows few frames"
# the 1000 closes leave in one send, so every connection logs at least 1000 frames
grep -qE 'frames [0-9]{4,}' "$TMP/closestorm.log" 2>/dev/null || why "closestorm log shows no storm"
grep -qE "frames [0-9]{1,3} " "$TMP/closestorm.log" 2>/dev/null && why "a closestorm connection sent fewer than 1000 closes: $(tr "\n" ";" <"$TMP/closestorm.log")"
finish

echo "# suite wall time: $(( $(now_ms) - SUITE_T0 )) ms"
summary_and_exit
