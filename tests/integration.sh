#!/usr/bin/env bash
# Integration tests: wspcat against the test peers (ws_echo_server, http_proxy).
#
# Usage (from the repo root):  bash tests/integration.sh
#   BUILD=dir   directory holding the binaries (default: build)
#
# Every check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is
# "N passed, N failed" and the exit status is non-zero if anything failed.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=it IT_MAX_SECONDS=120
# the shared harness; it unsets every proxy variable, so HTTP_PROXY is set after it
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
WSPCAT=$BUILD/wspcat
ECHO_SERVER=$BUILD/ws_echo_server
HTTP_PROXY=$BUILD/http_proxy

# ================================================================== main ==
require_binaries "$WSPCAT" "$ECHO_SERVER" "$HTTP_PROXY"
(( FAILED == 0 )) || summary_and_exit

SUITE_T0=$(now_ms)
E='' EC='' EG='' P='' A=''
start_peer E  echo  "$ECHO_SERVER"                  || summary_and_exit
start_peer EC chat  "$ECHO_SERVER" --protocol chat  || summary_and_exit
start_peer EG greet "$ECHO_SERVER" --greet hi       || summary_and_exit
start_peer P  proxy "$HTTP_PROXY"                   || summary_and_exit
start_peer A  auth  "$HTTP_PROXY" --auth user:pa:ss || summary_and_exit
MODES=(status403 status502 status407 http10 noreason headers drip junk
       oversize closemid silent refuse-target)
declare -A MODE_PORT=()
for mode in "${MODES[@]}"; do
    MPORT=''
    start_peer MPORT "mode-$mode" "$HTTP_PROXY" --mode "$mode" || summary_and_exit
    MODE_PORT[$mode]=$MPORT
done

WS=ws://127.0.0.1:$E/echo
HELLO=$'hello\nworld\n'

# ---- direct ---------------------------------------------------------------
begin "direct: echo"
m=$(log_mark echo)
run "$HELLO" "$WS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached echo "$m" "GET /echo HTTP/1.1"
finish

begin "direct: --timing prints handshake time"
run "$HELLO" --timing "$WS"
expect_rc 0
expect_stdout "$HELLO"
expect_stderr_match 'handshake: [0-9]+\.[0-9]{3} ms'
finish

begin "direct: -H and --origin reach the server"
m=$(log_mark echo)
run "$HELLO" -H 'X-Test: direct-1' --origin http://origin.test "$WS"
expect_rc 0
expect_stdout "$HELLO"
req=$(first_request "$(log_since echo "$m")")
expect_text_has "server request" "$req" "GET /echo HTTP/1.1"
expect_text_has "server request" "$req" "X-Test: direct-1"
expect_text_has "server request" "$req" "Origin: http://origin.test"
finish

begin "direct: server ping is answered, message still echoed"
m=$(log_mark echo)
run "__ping__ abc"$'\n' "$WS"
expect_rc 0
expect_reached echo "$m" "GET /echo HTTP/1.1"
expect_stdout "__ping__ abc"$'\n'
finish

begin "direct: --ping 0.2 over 1.2 s of held input: every ping answered, clean exit"
printf 'hello\n' >"$TMP/stdin"
set_cmdline --ping 0.2 --verbose "$WS"
( cat "$TMP/stdin"; sleep 1.2 ) | timeout 20 "$WSPCAT" --ping 0.2 --verbose "$WS" >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0
expect_stdout "hello"$'\n'
pongs=$(grep -c '] pong ' "$ERR")
(( pongs >= 3 )) || why "$pongs pongs logged, expected at least 3"
expect_stderr_lacks "PONG_TIMEOUT"
finish

# ---- through proxies ---------------------------------------------------------
begin "proxy: echo through a normal proxy"
m=$(log_mark proxy)
run "$HELLO" --proxy "http://127.0.0.1:$P" "$WS"
expect_rc 0
expect_stdout "$HELLO"
req=$(first_request "$(log_since proxy "$m")")
[[ $(sed -n 1p <<<"$req") == "CONNECT 127.0.0.1:$E HTTP/1.1" ]] \
    || why "proxy request line is '$(sed -n 1p <<<"$req")'"
expect_text_lacks "proxy request" "$req" "Proxy-Authorization"
finish

begin "auth proxy: echo with percent-encoded credentials"
mp=$(log_mark auth)
me=$(log_mark echo)
run "$HELLO" --proxy "http://user:pa%3Ass@127.0.0.1:$A" \
    -H 'Authorization: Bearer target-secret' -H 'Cookie: session=target-cookie' \
    --proxy-header 'X-Proxy-Only: 1' "$WS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached auth "$mp" "CONNECT 127.0.0.1:$E HTTP/1.1"
expect_reached echo "$me" "GET /echo HTTP/1.1"
plog=$(log_since auth "$mp")
elog=$(log_since echo "$me")
finish

begin "auth proxy: CONNECT request line and Host header"
req=$(first_request "$plog")
line1=$(sed -n 1p <<<"$req")
line2=$(sed -n 2p <<<"$req")
[[ $line1 == "CONNECT 127.0.0.1:$E HTTP/1.1" ]] || why "line 1 is '$line1'"
[[ $line2 == "Host: 127.0.0.1:$E" ]] || why "line 2 is '$line2'"
[[ -n $req ]] || why "no request in the proxy log"
finish

begin "auth proxy: credentials decoded as user:pa:ss"
# the proxy logs the user and a hash of the password (never the password)
expect_text_has "proxy log" "$plog" "=== basic-credentials: user=user password-sha256=$(printf '%s' 'pa:ss' | sha256sum | cut -c1-16)"
expect_text_match "proxy log" "$plog" '^=== auth-ok: Basic conn: [0-9]+$'
finish

begin "auth proxy: target headers not sent to the proxy"
[[ -n $plog ]] || why "no request in the proxy log"
expect_text_lacks "proxy log" "$plog" "target-secret"
expect_text_lacks "proxy log" "$plog" "Authorization: Bearer"
expect_text_lacks "proxy log" "$plog" "Cookie"
expect_text_lacks "proxy log" "$plog" "target-cookie"
finish

begin "auth proxy: --proxy-header goes to the proxy only"
expect_text_has "proxy log" "$plog" "X-Proxy-Only: 1"
expect_text_lacks "server log" "$elog" "X-Proxy-Only"
finish

begin "auth proxy: server gets target headers, no proxy credentials"
B64=$(printf '%s' 'user:pa:ss' | base64)
expect_text_has "server log" "$elog" "Authorization: Bearer target-secret"
expect_text_has "server log" "$elog" "Cookie: session=target-cookie"
expect_text_lacks "server log" "$elog" "Proxy-Authorization"
expect_text_lacks "server log" "$elog" "pa:ss"
expect_text_lacks "server log" "$elog" "pa%3Ass"
expect_text_lacks "server log" "$elog" "$B64"
[[ -n $elog ]] || why "no request in the server log"
finish

begin "auth proxy: wrong password -> exit 4 (407)"
run "$HELLO" --proxy "http://user:wrong@127.0.0.1:$A" "$WS"
expect_rc 4
expect_stderr_has "WSPROXY_E_PROXY_AUTH"
expect_stderr_has "407"
expect_stderr_has "Proxy-Authenticate"
expect_stderr_has 'realm="wsproxy-test"'
finish

begin "auth proxy: no credentials -> exit 4 (407)"
run "$HELLO" --proxy "http://127.0.0.1:$A" "$WS"
expect_rc 4
expect_stderr_has "407"
expect_stderr_has 'realm="wsproxy-test"'
finish

# ---- proxy modes -------------------------------------------------------------
via() { echo "http://127.0.0.1:${MODE_PORT[$1]}"; }

for mode in status403 status502 refuse-target; do
    begin "proxy mode $mode -> exit 3"
    run "$HELLO" --proxy "$(via "$mode")" "$WS"
    expect_rc 3
    case $mode in status403) expect_stderr_has 403 ;; *) expect_stderr_has 502 ;; esac
    finish
done

begin "proxy mode status407 -> exit 4"
run "$HELLO" --proxy "$(via status407)" "$WS"
expect_rc 4
expect_stderr_has "407"
finish

for mode in http10 noreason headers drip; do
    begin "proxy mode $mode -> echo works"
    mp=$(log_mark "mode-$mode")
    me=$(log_mark echo)
    run "$HELLO" --proxy "$(via "$mode")" "$WS"
    expect_rc 0
    expect_stdout "$HELLO"
    expect_reached "mode-$mode" "$mp" "CONNECT 127.0.0.1:$E HTTP/1.1"
    expect_reached echo "$me" "GET /echo HTTP/1.1"
    finish
done

begin "proxy mode junk -> exit 5 (bytes after the 200 reach the handshake)"
run "$HELLO" --proxy "$(via junk)" "$WS"
expect_rc 5
expect_stderr_has "WSPROXY_E_HANDSHAKE_"
finish

begin "proxy mode oversize -> exit 3 REPLY_TOO_LARGE"
run "$HELLO" --proxy "$(via oversize)" "$WS"
expect_rc 3
expect_stderr_has "WSPROXY_E_PROXY_REPLY_TOO_LARGE"
finish

begin "proxy mode closemid -> exit 3 PROXY_CLOSED"
run "$HELLO" --proxy "$(via closemid)" "$WS"
expect_rc 3
expect_stderr_has "WSPROXY_E_PROXY_CLOSED"
finish

begin "proxy mode silent, --timeout 1 -> exit 7 PROXY_TIMEOUT in < 5 s"
run "$HELLO" --timeout 1 --proxy "$(via silent)" "$WS"
expect_rc 7
expect_stderr_has "WSPROXY_E_PROXY_TIMEOUT"
expect_faster_than 5000
finish

# ---- refused connections -----------------------------------------------------
begin "proxy port closed -> exit 2 PROXY_REFUSED"
run "$HELLO" --proxy "http://127.0.0.1:$(free_port)" "$WS"
expect_rc 2
expect_stderr_has "WSPROXY_E_PROXY_REFUSED"
finish

begin "direct to a closed port -> exit 2 CONNECT_REFUSED"
run "$HELLO" "ws://127.0.0.1:$(free_port)/echo"
expect_rc 2
expect_stderr_has "WSPROXY_E_CONNECT_REFUSED"
finish

# ---- subprotocols ------------------------------------------------------------
begin "subprotocol: server picks chat"
run "$HELLO" --protocol foo --protocol chat --print-protocol "ws://127.0.0.1:$EC/"
expect_rc 0
expect_stdout "$HELLO"
expect_stderr_match 'protocol: chat'
finish

begin "subprotocol: none offered -> empty name"
run "$HELLO" --print-protocol "ws://127.0.0.1:$EC/"
expect_rc 0
expect_stdout "$HELLO"
expect_stderr_match 'protocol: ?'
finish

# ---- greeting sent with the 101 ----------------------------------------------
begin "greet: message in the same write as the 101, empty stdin"
run "" "ws://127.0.0.1:$EG/"
expect_rc 0
expect_stdout $'hi\n'
finish

begin "greet: direct"
run $'x\n' "ws://127.0.0.1:$EG/"
expect_rc 0
expect_stdout $'hi\nx\n'
finish

begin "greet: through the proxy"
mp=$(log_mark proxy)
run $'x\n' --proxy "http://127.0.0.1:$P" "ws://127.0.0.1:$EG/"
expect_rc 0
expect_reached proxy "$mp" "CONNECT 127.0.0.1:$EG HTTP/1.1"
expect_stdout $'hi\nx\n'
finish

begin "greet: through the auth proxy"
mp=$(log_mark auth)
run $'x\n' --proxy "http://user:pa%3Ass@127.0.0.1:$A" "ws://127.0.0.1:$EG/"
expect_rc 0
expect_reached auth "$mp" "CONNECT 127.0.0.1:$EG HTTP/1.1"
expect_stdout $'hi\nx\n'
finish

# ---- close and big messages --------------------------------------------------
begin "server-initiated close 1001"
run_held $'__close__ 1001 going away\n' "$WS"
expect_rc 0
expect_stderr_has "closed by server: 1001 going away"
finish

begin "big message: 1000000 bytes"
run $'__big__ 1000000\n' "$WS"
expect_rc 0
expect_stdout_bytes 1000001
[[ $(tail -c 1 "$OUT" | od -An -c | tr -d ' ') == '\n' ]] || why "stdout does not end with a newline"
# keep show_output small: do not dump the payload on failure
[[ ${#WHY[@]} -eq 0 ]] || { : >"$OUT"; }
finish

begin "big message through the proxy"
mp=$(log_mark proxy)
run $'__big__ 1000000\n' --proxy "http://127.0.0.1:$P" "$WS"
expect_rc 0
expect_stdout_bytes 1000001
expect_reached proxy "$mp" "CONNECT 127.0.0.1:$E HTTP/1.1"
[[ ${#WHY[@]} -eq 0 ]] || { : >"$OUT"; }
finish

# ---- usage / configuration errors (nothing may reach the server) --------------
bad_config() {   # bad_config NAME ERRPREFIX ARGS...
    local name=$1 prefix=$2
    shift 2
    begin "$name -> exit 1, nothing sent"
    local me mp
    me=$(log_mark echo)
    mp=$(log_mark proxy)
    run "$HELLO" "$@"
    expect_rc 1
    expect_stderr_has "$prefix"
    [[ -z $(log_since echo "$me") ]] || why "the echo server received a request"
    [[ -z $(log_since proxy "$mp") ]] || why "the proxy received a request"
    finish
}
bad_config "bad URL: space in host"        WSPROXY_E_URL_ 'ws://exa mple.com/'
bad_config "bad URL: port 99999"           WSPROXY_E_URL_ 'ws://host:99999/'
bad_config "bad URL: fragment"             WSPROXY_E_URL_ 'ws://h/#frag'
bad_config "bad URL: port 99999 (local)"   WSPROXY_E_URL_ 'ws://127.0.0.1:99999/'
bad_config "bad URL: fragment (local)"     WSPROXY_E_URL_ "ws://127.0.0.1:$E/echo#frag"
bad_config "bad header: no colon"          WSPROXY_E_HEADER_ -H 'NoColonHere' "$WS"
bad_config "bad header: reserved Host"     WSPROXY_E_HEADER_ -H 'Host: x' "$WS"
bad_config "bad header: no colon via proxy" WSPROXY_E_HEADER_ --proxy "http://127.0.0.1:$P" -H 'NoColonHere' "$WS"

echo "# suite wall time: $(( $(now_ms) - SUITE_T0 )) ms"
summary_and_exit
