#!/usr/bin/env bash
# Integration tests: wspcat through SOCKS4 / 4a / 5 / 5h (tests/peers/socks_server.c),
# and proxy selection from the environment (ws_proxy, http_proxy, all_proxy, NO_PROXY).
#
# Usage (from the repo root):  bash tests/integration_socks.sh
#   BUILD=dir   directory holding the binaries (default: build)
#
# Every check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is
# "N passed, N failed" and the exit status is non-zero if anything failed.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=socks-it IT_MAX_SECONDS=120
# the shared harness; it unsets every proxy variable, so run (wspcat with this shell's
# environment) sees none of the caller's (see run_env for a controlled one)
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
WSPCAT=$BUILD/wspcat
ECHO_SERVER=$BUILD/ws_echo_server
HTTP_PROXY_BIN=$BUILD/http_proxy
SOCKS_SERVER=$BUILD/socks_server

# run_env INPUT [VAR=VALUE]... -- ARGS...: wspcat with exactly PATH and the
# given variables in its environment (and --linger IT_LINGER first, as run).
run_env() {
    printf '%s' "$1" >"$TMP/stdin"
    shift
    local vars=()
    while (( $# > 0 )) && [[ $1 != -- ]]; do vars+=("$1"); shift; done
    shift
    if [[ -n $IT_LINGER ]]; then set -- --linger "$IT_LINGER" "$@"; fi
    run_timed 20 "$TMP/stdin" env -i PATH="$PATH" "${vars[@]}" "$WSPCAT" "$@"
}

# ================================================================== main ==
require_binaries "$WSPCAT" "$ECHO_SERVER" "$HTTP_PROXY_BIN" "$SOCKS_SERVER"
(( FAILED == 0 )) || summary_and_exit

SUITE_T0=$(now_ms)
E='' S='' SA='' SD='' HP=''
start_peer E  echo   "$ECHO_SERVER"                        || summary_and_exit
start_peer S  socks  "$SOCKS_SERVER"                       || summary_and_exit
start_peer SA sauth  "$SOCKS_SERVER" --auth bob:pa:ss      || summary_and_exit
start_peer SD sdrip  "$SOCKS_SERVER" --drip                || summary_and_exit
start_peer HP hproxy "$HTTP_PROXY_BIN"                     || summary_and_exit

# SOCKS5 REP 1..8 (and 9: unknown) and SOCKS4 CD 0x5B..0x5D (and 0x5E: unknown):
# the server answers every CONNECT with that byte (the raw REP of SOCKS5 or CD of
# SOCKS4, whichever version the client speaks).
REPLY_CODES=(1 2 3 4 5 6 7 8 9 0x5b 0x5c 0x5d 0x5e)
declare -A REPLY_PORT=()
for code in "${REPLY_CODES[@]}"; do
    RPORT=''
    start_peer RPORT "reply-$code" "$SOCKS_SERVER" --reply "$code" || summary_and_exit
    REPLY_PORT[$code]=$RPORT
done

HELLO=$'hello\nworld\n'
IPV4_RE='host=[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3} '

# ---- the four schemes over loopback --------------------------------------------
# socks_echo SCHEME HOST EXPECTED_LOG_ERE: echo works, the request in the socks
# log matches the ERE (version, address type, host), the server got the GET.
socks_echo() {
    local scheme=$1 host=$2 re=$3 ms me slog
    begin "$scheme:// to ws://$host: echo, socks log /${re}/"
    ms=$(log_mark socks)
    me=$(log_mark echo)
    run "$HELLO" --proxy "$scheme://127.0.0.1:$S" "ws://$host:$E/"
    expect_rc 0
    expect_stdout "$HELLO"
    slog=$(log_since socks "$ms")
    expect_text_match "socks log" "$slog" "^request ${re}port=$E( |\$)"
    expect_text_match "socks log" "$slog" '^reply version=[45] code=0x(00|5a) '
    expect_reached echo "$me" "GET / HTTP/1.1"
    expect_reached echo "$me" "Host: $host:$E"
    finish
}
socks_echo socks5h localhost "version=5 command=1 atyp=DOMAIN\(3\) host=localhost "
socks_echo socks5  localhost "version=5 command=1 atyp=IPV4\(1\) $IPV4_RE"
socks_echo socks4  localhost "version=4 command=1 atyp=IPV4 $IPV4_RE"
socks_echo socks4a localhost "version=4a command=1 atyp=DOMAIN host=localhost "
# an IPv4 literal goes as an address with every scheme (SOCKS4a falls back to SOCKS4)
socks_echo socks5h 127.0.0.1 "version=5 command=1 atyp=IPV4\(1\) host=127\.0\.0\.1 "
socks_echo socks5  127.0.0.1 "version=5 command=1 atyp=IPV4\(1\) host=127\.0\.0\.1 "
socks_echo socks4  127.0.0.1 "version=4 command=1 atyp=IPV4 host=127\.0\.0\.1 "
socks_echo socks4a 127.0.0.1 "version=4 command=1 atyp=IPV4 host=127\.0\.0\.1 "

begin "socks5h: scheme in upper case (SOCKS5H://) works"
ms=$(log_mark socks)
run "$HELLO" --proxy "SOCKS5H://127.0.0.1:$S" "ws://localhost:$E/"
expect_rc 0
expect_stdout "$HELLO"
expect_reached socks "$ms" "atyp=DOMAIN(3) host=localhost port=$E"
finish

begin "socks5h: big message (1000000 bytes) through the tunnel"
ms=$(log_mark socks)
run $'__big__ 1000000\n' --proxy "socks5h://127.0.0.1:$S" "ws://localhost:$E/"
expect_rc 0
expect_stdout_bytes 1000001
expect_reached socks "$ms" "host=localhost port=$E"
[[ ${#WHY[@]} -eq 0 ]] || { : >"$OUT"; }
finish

begin "socks4 to an IPv6 literal -> exit 1 SOCKS4_IPV6, nothing sent"
ms=$(log_mark socks)
run "$HELLO" --proxy "socks4://127.0.0.1:$S" "ws://[::1]:$E/"
expect_rc 1
expect_stderr_has "WSPROXY_E_SOCKS4_IPV6"
expect_untouched socks "$ms"
finish

# ---- RFC 1929 username/password ------------------------------------------------
begin "socks5h auth: percent-encoded credentials, echo works"
ma=$(log_mark sauth)
me=$(log_mark echo)
run "$HELLO" --proxy "socks5h://bob:pa%3Ass@127.0.0.1:$SA" "ws://localhost:$E/"
expect_rc 0
expect_stdout "$HELLO"
alog=$(log_since sauth "$ma")
elog=$(log_since echo "$me")
expect_text_has "socks log" "$alog" "greeting version=5 methods=00,02 chose=0x02"
expect_text_has "socks log" "$alog" "=== decoded-credentials: bob:pa:ss"
expect_text_has "socks log" "$alog" "auth accepted"
expect_text_has "socks log" "$alog" "atyp=DOMAIN(3) host=localhost port=$E"
finish

begin "socks5h auth: the server never sees the proxy credentials"
[[ -n $elog ]] || why "no request in the server log"
expect_text_has "server log" "$elog" "GET / HTTP/1.1"
expect_text_lacks "server log" "$elog" "Proxy-Authorization"
expect_text_lacks "server log" "$elog" "pa:ss"
expect_text_lacks "server log" "$elog" "pa%3Ass"
expect_text_lacks "server log" "$elog" "bob"
finish

begin "socks5 auth (client resolves): credentials work too"
ma=$(log_mark sauth)
run "$HELLO" --proxy "socks5://bob:pa%3Ass@127.0.0.1:$SA" "ws://localhost:$E/"
expect_rc 0
expect_stdout "$HELLO"
expect_reached sauth "$ma" "=== decoded-credentials: bob:pa:ss"
expect_text_match "socks log" "$(log_since sauth "$ma")" "atyp=IPV4\(1\) $IPV4_RE"
finish

begin "socks5h auth: wrong password -> exit 4 SOCKS_AUTH_FAILED"
ma=$(log_mark sauth)
run "$HELLO" --proxy "socks5h://bob:wrongpw@127.0.0.1:$SA" "ws://localhost:$E/"
expect_rc 4
expect_stderr_has "WSPROXY_E_SOCKS_AUTH_FAILED"
expect_stderr_lacks "wrongpw"
expect_reached sauth "$ma" "auth rejected"
log=$(log_since sauth "$ma")
expect_text_lacks "socks log" "$log" "request version"
finish

begin "socks5h auth: wrong user -> exit 4 SOCKS_AUTH_FAILED"
run "$HELLO" --proxy "socks5h://eve:pa%3Ass@127.0.0.1:$SA" "ws://localhost:$E/"
expect_rc 4
expect_stderr_has "WSPROXY_E_SOCKS_AUTH_FAILED"
finish

begin "socks5h auth: no credentials -> exit 4 SOCKS_NO_ACCEPTABLE_METHOD"
ma=$(log_mark sauth)
run "$HELLO" --proxy "socks5h://127.0.0.1:$SA" "ws://localhost:$E/"
expect_rc 4
expect_stderr_has "WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD"
expect_reached sauth "$ma" "greeting version=5 methods=00 chose=0xff"
finish

begin "socks4 auth: user id sent, password never sent"
ma=$(log_mark sauth)
run "$HELLO" --proxy "socks4://bob:secretpw@127.0.0.1:$SA" "ws://localhost:$E/"
expect_rc 0
expect_stdout "$HELLO"
alog=$(log_since sauth "$ma")
expect_text_has "socks log" "$alog" "userid=bob"
expect_text_lacks "socks log" "$alog" "secretpw"
finish

begin "socks4a auth: wrong user id -> exit 3 SOCKS4_IDENTD_MISMATCH"
ma=$(log_mark sauth)
run "$HELLO" --proxy "socks4a://alice@127.0.0.1:$SA" "ws://localhost:$E/"
expect_rc 3
expect_stderr_has "WSPROXY_E_SOCKS4_IDENTD_MISMATCH"
expect_stderr_has "SOCKS reply 0x5d"
expect_reached sauth "$ma" "host=localhost port=$E userid=alice"
finish

# ---- every reply code ----------------------------------------------------------
SOCKS5_NAMES=(x GENERAL_FAILURE NOT_ALLOWED NETWORK_UNREACHABLE HOST_UNREACHABLE
              CONNECTION_REFUSED TTL_EXPIRED COMMAND_NOT_SUPPORTED ADDRESS_NOT_SUPPORTED)
for code in 1 2 3 4 5 6 7 8; do
    name=WSPROXY_E_SOCKS_${SOCKS5_NAMES[$code]}
    begin "socks5h: reply 0x0$code -> exit 3 $name"
    mr=$(log_mark "reply-$code")
    me=$(log_mark echo)
    run "$HELLO" --proxy "socks5h://127.0.0.1:${REPLY_PORT[$code]}" "ws://localhost:$E/"
    expect_rc 3
    expect_stderr_has "$name"
    expect_stderr_has "SOCKS reply 0x0$code"
    expect_reached "reply-$code" "$mr" "reply version=5 code=0x0$code"
    expect_untouched echo "$me"
    [[ -s $OUT ]] && why "stdout is not empty"
    finish
done

begin "socks5: reply 0x05 with a client-resolved address -> exit 3 CONNECTION_REFUSED"
run "$HELLO" --proxy "socks5://127.0.0.1:${REPLY_PORT[5]}" "ws://localhost:$E/"
expect_rc 3
expect_stderr_has "WSPROXY_E_SOCKS_CONNECTION_REFUSED"
expect_stderr_has "SOCKS reply 0x05"
finish

begin "socks5h: reply 0x09 -> exit 3 SOCKS_UNKNOWN_REPLY"
run "$HELLO" --proxy "socks5h://127.0.0.1:${REPLY_PORT[9]}" "ws://localhost:$E/"
expect_rc 3
expect_stderr_has "WSPROXY_E_SOCKS_UNKNOWN_REPLY"
expect_stderr_has "SOCKS reply 0x09"
finish

declare -A SOCKS4_NAMES=([0x5b]=REJECTED [0x5c]=IDENTD_UNREACHABLE [0x5d]=IDENTD_MISMATCH
                         [0x5e]=UNKNOWN_REPLY)
for code in 0x5b 0x5c 0x5d 0x5e; do
    name=WSPROXY_E_SOCKS4_${SOCKS4_NAMES[$code]}
    for scheme in socks4 socks4a; do
        begin "$scheme: reply $code -> exit 3 $name"
        mr=$(log_mark "reply-$code")
        me=$(log_mark echo)
        run "$HELLO" --proxy "$scheme://127.0.0.1:${REPLY_PORT[$code]}" "ws://localhost:$E/"
        expect_rc 3
        expect_stderr_has "$name"
        expect_stderr_has "SOCKS reply $code"
        expect_reached "reply-$code" "$mr" "reply version=4 code=$code"
        expect_untouched echo "$me"
        finish
    done
done

# ---- drip: every protocol reply byte arrives on its own ------------------------
for scheme in socks5h socks5 socks4 socks4a; do
    begin "drip server, $scheme: echo works"
    md=$(log_mark sdrip)
    me=$(log_mark echo)
    run "$HELLO" --proxy "$scheme://127.0.0.1:$SD" "ws://localhost:$E/"
    expect_rc 0
    expect_stdout "$HELLO"
    expect_reached sdrip "$md" "port=$E"
    expect_reached echo "$me" "GET / HTTP/1.1"
    finish
done

begin "drip server: big message through the tunnel"
ms=$(log_mark sdrip)
run $'__big__ 100000\n' --proxy "socks5h://127.0.0.1:$SD" "ws://localhost:$E/"
expect_rc 0
expect_stdout_bytes 100001
[[ ${#WHY[@]} -eq 0 ]] || { : >"$OUT"; }
finish

# ---- refused / unreachable -----------------------------------------------------
CLOSED=$(free_port)
begin "socks5h to a port where nothing listens -> exit 3 SOCKS_CONNECTION_REFUSED"
ms=$(log_mark socks)
run "$HELLO" --proxy "socks5h://127.0.0.1:$S" "ws://localhost:$CLOSED/"
expect_rc 3
expect_stderr_has "WSPROXY_E_SOCKS_CONNECTION_REFUSED"
expect_stderr_has "SOCKS reply 0x05"
expect_reached socks "$ms" "host=localhost port=$CLOSED"
expect_reached socks "$ms" "reply version=5 code=0x05"
finish

begin "socks4a to a port where nothing listens -> exit 3 SOCKS4_REJECTED"
ms=$(log_mark socks)
run "$HELLO" --proxy "socks4a://127.0.0.1:$S" "ws://localhost:$CLOSED/"
expect_rc 3
expect_stderr_has "WSPROXY_E_SOCKS4_REJECTED"
expect_reached socks "$ms" "reply version=4 code=0x5b"
finish

begin "socks5h to a non-loopback name -> exit 3 SOCKS_NOT_ALLOWED (name not resolved locally)"
ms=$(log_mark socks)
run "$HELLO" --proxy "socks5h://127.0.0.1:$S" "ws://no-such-host.invalid/"
expect_rc 3
expect_stderr_has "WSPROXY_E_SOCKS_NOT_ALLOWED"
expect_reached socks "$ms" "atyp=DOMAIN(3) host=no-such-host.invalid port=80"
finish

begin "SOCKS proxy port closed -> exit 2 PROXY_REFUSED"
run "$HELLO" --proxy "socks5h://127.0.0.1:$(free_port)" "ws://localhost:$E/"
expect_rc 2
expect_stderr_has "WSPROXY_E_PROXY_REFUSED"
finish

# ---- proxy from the environment -----------------------------------------------
# Each run: env -i PATH=... plus only the variables named.
WSL=ws://localhost:$E/

begin "env: ws_proxy=socks5h:// is used"
ms=$(log_mark socks); mh=$(log_mark hproxy)
run_env "$HELLO" "ws_proxy=socks5h://127.0.0.1:$S" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached socks "$ms" "atyp=DOMAIN(3) host=localhost port=$E"
expect_untouched hproxy "$mh"
finish

begin "env: WS_PROXY (upper case) is used"
ms=$(log_mark socks)
run_env "$HELLO" "WS_PROXY=socks4a://127.0.0.1:$S" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached socks "$ms" "version=4a command=1 atyp=DOMAIN host=localhost port=$E"
finish

begin "env: ws_proxy wins over http_proxy and all_proxy"
ms=$(log_mark socks); mh=$(log_mark hproxy); ma=$(log_mark sauth)
run_env "$HELLO" "ws_proxy=socks5h://127.0.0.1:$S" "http_proxy=http://127.0.0.1:$HP" \
    "all_proxy=socks5h://127.0.0.1:$SA" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached socks "$ms" "host=localhost port=$E"
expect_untouched hproxy "$mh"
expect_untouched sauth "$ma"
finish

begin "env: http_proxy is used for ws:// when ws_proxy is unset"
ms=$(log_mark socks); mh=$(log_mark hproxy)
run_env "$HELLO" "http_proxy=http://127.0.0.1:$HP" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached hproxy "$mh" "CONNECT localhost:$E HTTP/1.1"
expect_untouched socks "$ms"
finish

begin "env: empty ws_proxy counts as unset (http_proxy used)"
mh=$(log_mark hproxy)
run_env "$HELLO" "ws_proxy=" "http_proxy=http://127.0.0.1:$HP" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached hproxy "$mh" "CONNECT localhost:$E HTTP/1.1"
finish

begin "env: upper-case HTTP_PROXY alone is NOT used (direct)"
ms=$(log_mark socks); mh=$(log_mark hproxy); me=$(log_mark echo)
run_env "$HELLO" "HTTP_PROXY=http://127.0.0.1:$HP" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_untouched hproxy "$mh"
expect_untouched socks "$ms"
expect_reached echo "$me" "GET / HTTP/1.1"
finish

begin "env: upper-case HTTP_PROXY skipped, all_proxy used"
ms=$(log_mark socks); mh=$(log_mark hproxy)
run_env "$HELLO" "HTTP_PROXY=http://127.0.0.1:$HP" "all_proxy=socks5h://127.0.0.1:$S" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_untouched hproxy "$mh"
expect_reached socks "$ms" "host=localhost port=$E"
finish

begin "env: all_proxy alone is used (last fallback)"
ms=$(log_mark socks)
run_env "$HELLO" "all_proxy=socks5h://127.0.0.1:$S" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached socks "$ms" "atyp=DOMAIN(3) host=localhost port=$E"
finish

begin "env: ALL_PROXY alone is used"
ms=$(log_mark socks)
run_env "$HELLO" "ALL_PROXY=socks5://127.0.0.1:$S" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_text_match "socks log" "$(log_since socks "$ms")" "atyp=IPV4\(1\) $IPV4_RE"
finish

begin "env: http_proxy wins over all_proxy"
ms=$(log_mark socks); mh=$(log_mark hproxy)
run_env "$HELLO" "http_proxy=http://127.0.0.1:$HP" "all_proxy=socks5h://127.0.0.1:$S" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached hproxy "$mh" "CONNECT localhost:$E HTTP/1.1"
expect_untouched socks "$ms"
finish

begin "env: ws_proxy with credentials (socks5h://bob:pa%3Ass@) works"
ma=$(log_mark sauth)
run_env "$HELLO" "ws_proxy=socks5h://bob:pa%3Ass@127.0.0.1:$SA" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached sauth "$ma" "=== decoded-credentials: bob:pa:ss"
finish

# direct_check NAME INPUT VARS... -- ARGS...: echo works and neither proxy saw anything
direct_check() {
    local name=$1 ms mh ma me
    shift
    begin "$name"
    ms=$(log_mark socks); mh=$(log_mark hproxy); ma=$(log_mark sauth); me=$(log_mark echo)
    run_env "$HELLO" "$@"
    expect_rc 0
    expect_stdout "$HELLO"
    expect_untouched socks "$ms"
    expect_untouched hproxy "$mh"
    expect_untouched sauth "$ma"
    expect_reached echo "$me" "GET / HTTP/1.1"
    finish
}
direct_check "env: NO_PROXY=localhost makes ws://localhost go direct" \
    "ws_proxy=socks5h://127.0.0.1:$S" "NO_PROXY=localhost" -- "$WSL"
direct_check "env: no_proxy=localhost (lower case) makes ws://localhost go direct" \
    "ws_proxy=socks5h://127.0.0.1:$S" "no_proxy=localhost" -- "$WSL"
direct_check "env: NO_PROXY=127.0.0.0/8 makes ws://127.0.0.1 go direct" \
    "all_proxy=socks5h://127.0.0.1:$S" "NO_PROXY=127.0.0.0/8" -- "ws://127.0.0.1:$E/"
direct_check "env: --noproxy '*' goes direct" \
    "ws_proxy=socks5h://127.0.0.1:$S" "http_proxy=http://127.0.0.1:$HP" -- --noproxy '*' "$WSL"
direct_check "env: --proxy \"\" goes direct even with ws_proxy set" \
    "ws_proxy=socks5h://127.0.0.1:$S" "all_proxy=socks5h://127.0.0.1:$SA" -- --proxy "" "$WSL"
direct_check "env: explicit --proxy with NO_PROXY covering the host goes direct (curl)" \
    "NO_PROXY=localhost" -- --proxy "socks5h://127.0.0.1:$S" "$WSL"
direct_check "env: explicit --proxy with --noproxy localhost goes direct" \
    -- --noproxy localhost --proxy "http://127.0.0.1:$HP" "$WSL"

begin "env: NO_PROXY for another host leaves the proxy in use"
ms=$(log_mark socks)
run_env "$HELLO" "ws_proxy=socks5h://127.0.0.1:$S" "NO_PROXY=example.com,127.0.0.1" -- "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached socks "$ms" "host=localhost port=$E"
finish

begin "env: --noproxy \"\" overrides NO_PROXY (proxy used)"
ms=$(log_mark socks)
run_env "$HELLO" "ws_proxy=socks5h://127.0.0.1:$S" "NO_PROXY=localhost" -- --noproxy "" "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached socks "$ms" "host=localhost port=$E"
finish

begin "env: --proxy overrides ws_proxy"
ms=$(log_mark socks); mh=$(log_mark hproxy)
run_env "$HELLO" "ws_proxy=socks5h://127.0.0.1:$S" -- --proxy "http://127.0.0.1:$HP" "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_reached hproxy "$mh" "CONNECT localhost:$E HTTP/1.1"
expect_untouched socks "$ms"
finish

begin "env: --verbose names the variable and never prints the password"
run_env "$HELLO" "ws_proxy=socks5h://bob:pa%3Ass@127.0.0.1:$SA" -- --verbose "$WSL"
expect_rc 0
expect_stdout "$HELLO"
expect_stderr_has "proxy chosen by ws_proxy"
expect_stderr_lacks "pa%3Ass"
expect_stderr_lacks "pa:ss"
finish

# ---- --show-proxy ----------------------------------------------------------------
show_proxy() {   # show_proxy NAME EXPECTED_STDOUT VARS... -- ARGS...
    local name=$1 want=$2
    shift 2
    begin "show-proxy: $name"
    run_env "" "$@"
    expect_rc 0
    expect_stdout "$want"$'\n'
}
show_proxy "ws_proxy with a password is masked" "socks5h://bob:***@127.0.0.1:$S" \
    "ws_proxy=socks5h://bob:s3cr3t%21pw@127.0.0.1:$S" -- --show-proxy "$WSL"
expect_stdout_lacks "s3cr3t"
expect_stderr_lacks "s3cr3t"
finish
show_proxy "all_proxy with a password is masked" "socks5://u:***@127.0.0.1:$S" \
    "all_proxy=socks5://u:hunter2@127.0.0.1:$S" -- --show-proxy "$WSL"
expect_stdout_lacks "hunter2"
finish
show_proxy "explicit --proxy with a password is masked" "socks4a://u:***@127.0.0.1:$S" \
    -- --proxy "socks4a://u:topsecret@127.0.0.1:$S" --show-proxy "$WSL"
expect_stdout_lacks "topsecret"
finish
show_proxy "no password: printed as is" "socks5h://127.0.0.1:$S" \
    "ws_proxy=socks5h://127.0.0.1:$S" -- --show-proxy "$WSL"
finish
show_proxy "nothing set -> DIRECT" "DIRECT" -- --show-proxy "$WSL"
finish
show_proxy "upper-case HTTP_PROXY alone -> DIRECT" "DIRECT" \
    "HTTP_PROXY=http://127.0.0.1:$HP" -- --show-proxy "$WSL"
finish
show_proxy "http_proxy for ws://" "http://127.0.0.1:$HP" \
    "http_proxy=http://127.0.0.1:$HP" -- --show-proxy "$WSL"
finish
show_proxy "NO_PROXY=localhost -> DIRECT" "DIRECT" \
    "ws_proxy=socks5h://u:pw@127.0.0.1:$S" "NO_PROXY=localhost" -- --show-proxy "$WSL"
finish
show_proxy "--noproxy '*' -> DIRECT" "DIRECT" \
    "ws_proxy=socks5h://127.0.0.1:$S" -- --noproxy '*' --show-proxy "$WSL"
finish
show_proxy "--proxy \"\" -> DIRECT" "DIRECT" \
    "ws_proxy=socks5h://127.0.0.1:$S" -- --proxy "" --show-proxy "$WSL"
finish
show_proxy "explicit --proxy with NO_PROXY covering the host -> DIRECT" "DIRECT" \
    "NO_PROXY=localhost" -- --proxy "socks5h://127.0.0.1:$S" --show-proxy "$WSL"
finish
show_proxy "wss:// uses https_proxy, not http_proxy" "http://127.0.0.1:2" \
    "http_proxy=http://127.0.0.1:1" "https_proxy=http://127.0.0.1:2" -- --show-proxy "wss://localhost/"
finish
show_proxy "ws:// ignores https_proxy and wss_proxy" "DIRECT" \
    "https_proxy=http://127.0.0.1:2" "wss_proxy=http://127.0.0.1:3" -- --show-proxy "$WSL"
finish

echo "# suite wall time: $(( $(now_ms) - SUITE_T0 )) ms"
summary_and_exit
