#!/usr/bin/env bash
# TLS integration tests: wspcat over wss:// and through https:// proxies, against the
# test peers started with the certificates in tests/certs (see tests/certs/README).
#
# Usage (from the repo root):  bash tests/integration_tls.sh
#   BUILD=dir   directory holding the binaries (default: build)
#   CERTS=dir   certificate directory (default: tests/certs)
#
# Hops: the target hop trusts tests/certs/ca.pem (--cacert), the proxy hop trusts
# tests/certs/proxy-ca.pem (--proxy-cacert); each failure is provoked on one hop at a time.
# Every check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is
# "N passed, N failed" and the exit status is non-zero if anything failed.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=tls IT_MAX_SECONDS=180 IT_SHOW_COMMAND=1
# the shared harness; it unsets every proxy variable, so HTTP_PROXY is set after it
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
CERTS=${CERTS:-tests/certs}
WSPCAT=${WSPCAT:-$BUILD/wspcat}   # WSPCAT=build/wspcat-openssl: the same suite on OpenSSL
ECHO_SERVER=$BUILD/ws_echo_server
HTTP_PROXY=$BUILD/http_proxy

# expect_no_request PEER MARK: no request record reached PEER since MARK
expect_no_request() {
    if grep -qF -- "=== request" <<<"$(log_since "$1" "$2")"; then
        why "$1 received a request (it must not: TLS failed before it)"
    fi
}

# TLS echo server / HTTPS proxy with tests/certs/CERT.pem + CERT.key
start_tls_echo()  { local v=$1 n=$2 c=$3; shift 3
    start_peer "$v" "$n" "$ECHO_SERVER" --tls-cert "$CERTS/$c.pem" --tls-key "$CERTS/$c.key" "$@"; }
start_tls_proxy() { local v=$1 n=$2 c=$3; shift 3
    start_peer "$v" "$n" "$HTTP_PROXY" --tls-cert "$CERTS/$c.pem" --tls-key "$CERTS/$c.key" "$@"; }

# ================================================================== main ==
require_binaries "$WSPCAT" "$ECHO_SERVER" "$HTTP_PROXY"
for f in ca.pem proxy-ca.pem target.pem target.key proxy.pem proxy.key; do
    if [[ ! -f $CERTS/$f ]]; then
        echo "FAIL - certificates: $CERTS/$f is missing (run: bash tests/certs/gen.sh)"
        FAILED=$((FAILED + 1))
    fi
done
(( FAILED == 0 )) || summary_and_exit
if ! "$WSPCAT" --help 2>&1 | grep -q -- '--cacert'; then
    echo "FAIL - wspcat: $WSPCAT has no --cacert option (built without TLS?)"
    FAILED=$((FAILED + 1))
    summary_and_exit
fi

SUITE_T0=$(now_ms)
CA=$CERTS/ca.pem                # trust for the target hop
PCA=$CERTS/proxy-ca.pem         # trust for the proxy hop
UCA=$CERTS/untrusted-ca.pem
cat "$PCA" "$CA" >"$TMP/bundle.pem"

# targets
T='' TE='' TG='' E='' S=''
start_tls_echo T  target    target                    || summary_and_exit
start_tls_echo TE target-ec target-ec-chain --tls-key "$CERTS/target-ec.key" || summary_and_exit
start_tls_echo TG greet     target --greet hi         || summary_and_exit
start_peer     E  plain     "$ECHO_SERVER"            || summary_and_exit
start_peer     S  silent    "$HTTP_PROXY" --mode silent || summary_and_exit   # a TCP peer that never answers
declare -A BAD_T=() BAD_P=()
for c in expired wrongname untrusted dns-only ip-only; do
    port=''
    start_tls_echo port "t-$c" "$c" || summary_and_exit
    BAD_T[$c]=$port
    port=''
    start_tls_proxy port "p-$c" "$c" || summary_and_exit
    BAD_P[$c]=$port
done
# proxies
PH='' PS='' PA='' PR=''
start_peer      PH proxy-http  "$HTTP_PROXY"                      || summary_and_exit
start_tls_proxy PS proxy-https proxy                              || summary_and_exit
start_tls_proxy PA proxy-auth  proxy --auth user:pa:ss            || summary_and_exit
start_tls_proxy PR proxy-sni   proxy --tls-require-sni localhost  || summary_and_exit
MODES=(status403 status502 status407 http10 noreason headers drip junk
       oversize closemid silent refuse-target)
declare -A MODE_PORT=()
for mode in "${MODES[@]}"; do
    port=''
    start_tls_proxy port "mode-$mode" proxy --mode "$mode" || summary_and_exit
    MODE_PORT[$mode]=$port
done

HELLO=$'hello\nworld\n'
WSS=wss://localhost:$T/echo
WSS_IP=wss://127.0.0.1:$T/echo
WS=ws://localhost:$E/echo
HTTPS_P=https://localhost:$PS
HTTP_P=http://localhost:$PH

# ---- the five TLS cells -------------------------------------------------------
begin "wss:// direct: echo"
m=$(log_mark target)
run "$HELLO" --cacert "$CA" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached target "$m" "GET /echo HTTP/1.1"
tlog=$(log_since target "$m")
finish

begin "wss:// direct: target log shows SNI localhost"
expect_line "target log" "$tlog" "=== sni: localhost"
finish

begin "wss:// direct: client offers ALPN http/1.1"
expect_line "target log" "$tlog" "=== alpn: http/1.1"
finish

begin "wss:// direct to 127.0.0.1 (IP SAN): echo"
m=$(log_mark target)
run "$HELLO" --cacert "$CA" "$WSS_IP"
expect_rc 0
expect_stdout "$HELLO"
expect_reached target "$m" "GET /echo HTTP/1.1"
tlog=$(log_since target "$m")
finish

begin "wss:// direct to 127.0.0.1: no SNI sent (empty)"
expect_line "target log" "$tlog" "=== sni: "
expect_text_lacks "target log" "$tlog" "=== sni: 127.0.0.1"
finish

begin "wss:// direct: EC key, server sends leaf + CA chain"
m=$(log_mark target-ec)
run "$HELLO" --cacert "$CA" "wss://localhost:$TE/echo"
expect_rc 0
expect_stdout "$HELLO"
expect_reached target-ec "$m" "GET /echo HTTP/1.1"
finish

begin "wss:// through http:// proxy: echo"
mp=$(log_mark proxy-http)
mt=$(log_mark target)
run "$HELLO" --cacert "$CA" --proxy "$HTTP_P" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-http "$mp" "CONNECT localhost:$T HTTP/1.1"
expect_reached target "$mt" "GET /echo HTTP/1.1"
expect_line "target log" "$(log_since target "$mt")" "=== sni: localhost"
finish

begin "ws:// through https:// proxy: echo"
mp=$(log_mark proxy-https)
me=$(log_mark plain)
run "$HELLO" --proxy-cacert "$PCA" --proxy "$HTTPS_P" "$WS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-https "$mp" "CONNECT localhost:$E HTTP/1.1"
expect_reached plain "$me" "GET /echo HTTP/1.1"
expect_line "proxy log" "$(log_since proxy-https "$mp")" "=== sni: localhost"
finish

begin "wss:// through https:// proxy (TLS inside TLS): echo"
mp=$(log_mark proxy-https)
mt=$(log_mark target)
run "$HELLO" --cacert "$CA" --proxy-cacert "$PCA" --proxy "$HTTPS_P" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-https "$mp" "CONNECT localhost:$T HTTP/1.1"
expect_reached target "$mt" "GET /echo HTTP/1.1"
expect_line "target log" "$(log_since target "$mt")" "=== sni: localhost"
finish

begin "TLS inside TLS: proxy at 127.0.0.1 gets no SNI, target still gets localhost"
mp=$(log_mark proxy-https)
mt=$(log_mark target)
run "$HELLO" --cacert "$CA" --proxy-cacert "$PCA" --proxy "https://127.0.0.1:$PS" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
plog=$(log_since proxy-https "$mp")
expect_line "proxy log" "$plog" "=== sni: "
expect_text_lacks "proxy log" "$plog" "=== sni: localhost"
expect_line "target log" "$(log_since target "$mt")" "=== sni: localhost"
finish

begin "TLS inside TLS: proxy SNI is the proxy host, target at 127.0.0.1 gets none"
mp=$(log_mark proxy-https)
mt=$(log_mark target)
run "$HELLO" --cacert "$CA" --proxy-cacert "$PCA" --proxy "$HTTPS_P" "$WSS_IP"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-https "$mp" "CONNECT 127.0.0.1:$T HTTP/1.1"
expect_line "proxy log" "$(log_since proxy-https "$mp")" "=== sni: localhost"
expect_line "target log" "$(log_since target "$mt")" "=== sni: "
finish

begin "https:// proxy requiring SNI localhost accepts the client"
mp=$(log_mark proxy-sni)
run "$HELLO" --cacert "$CA" --proxy-cacert "$PCA" --proxy "https://localhost:$PR" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-sni "$mp" "CONNECT localhost:$T HTTP/1.1"
finish

begin "greet: message right behind the 101 over wss://"
run "" --cacert "$CA" "wss://localhost:$TG/"
expect_rc 0
expect_stdout $'hi\n'
finish

begin "greet: over TLS inside TLS"
run $'x\n' --cacert "$CA" --proxy-cacert "$PCA" --proxy "$HTTPS_P" "wss://localhost:$TG/"
expect_rc 0
expect_stdout $'hi\nx\n'
finish

begin "server ping answered over wss://"
m=$(log_mark target)
run "__ping__ abc"$'\n' --cacert "$CA" "$WSS"
expect_rc 0
expect_reached target "$m" "GET /echo HTTP/1.1"
expect_stdout "__ping__ abc"$'\n'
finish

begin "server-initiated close 1001 over TLS inside TLS"
run_held $'__close__ 1001 going away\n' --cacert "$CA" --proxy-cacert "$PCA" --proxy "$HTTPS_P" "$WSS"
expect_rc 0
expect_stderr_has "closed by server: 1001 going away"
finish

big_case() {   # big_case NAME ARGS...
    local name=$1
    shift
    begin "$name"
    run $'__big__ 1000000\n' "$@"
    expect_rc 0
    expect_stdout_bytes 1000001
    if ! head -c 1000000 "$OUT" | cmp -s - "$TMP/big.expected"; then why "payload differs"; fi
    [[ ${#WHY[@]} -eq 0 ]] || { : >"$OUT"; }
    finish
}
python3 -c 'import sys; sys.stdout.buffer.write(bytes(i & 255 for i in range(1000000)))' \
    >"$TMP/big.expected" 2>/dev/null || head -c 0 /dev/null >"$TMP/big.expected"
big_case "big message (1000000 bytes) over wss://" --cacert "$CA" "$WSS"
big_case "big message over TLS inside TLS" --cacert "$CA" --proxy-cacert "$PCA" --proxy "$HTTPS_P" "$WSS"

# ---- auth proxy over https ----------------------------------------------------
begin "https:// auth proxy: echo, credentials decoded"
mp=$(log_mark proxy-auth)
mt=$(log_mark target)
run "$HELLO" --cacert "$CA" --proxy-cacert "$PCA" \
    --proxy "https://user:pa%3Ass@localhost:$PA" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
plog=$(log_since proxy-auth "$mp")
expect_text_has "proxy log" "$plog" "=== basic-credentials: user=user password-sha256=$(printf '%s' 'pa:ss' | sha256sum | cut -c1-16)"
expect_text_match "proxy log" "$plog" '^=== auth-ok: Basic conn: [0-9]+$'
expect_text_has "proxy log" "$plog" "CONNECT localhost:$T HTTP/1.1"
tlog=$(log_since target "$mt")
expect_text_has "target log" "$tlog" "GET /echo HTTP/1.1"
expect_text_lacks "target log" "$tlog" "Proxy-Authorization"
finish

begin "https:// auth proxy: ws:// target"
mp=$(log_mark proxy-auth)
run "$HELLO" --proxy-cacert "$PCA" --proxy "https://user:pa%3Ass@localhost:$PA" "$WS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-auth "$mp" "=== basic-credentials: user=user password-sha256=$(printf '%s' 'pa:ss' | sha256sum | cut -c1-16)"
finish

begin "https:// auth proxy: wrong password -> exit 4"
run "$HELLO" --cacert "$CA" --proxy-cacert "$PCA" --proxy "https://user:wrong@localhost:$PA" "$WSS"
expect_rc 4
expect_stderr_has "WSPROXY_E_PROXY_AUTH"
expect_stderr_has "407"
expect_stderr_has 'realm="wsproxy-test"'
finish

# ---- certificate failures, one hop at a time ------------------------------------
# tls_fail NAME HOP_ERR REASON TARGET_PEER ARGS...: exit 8, error name, reason, and
# TARGET_PEER (a log name, or "") received no request.
tls_fail() {
    local name=$1 err=$2 reason=$3 peer=$4 m=0
    shift 4
    begin "$name -> exit 8 $err"
    [[ -n $peer ]] && m=$(log_mark "$peer")
    run "$HELLO" "$@"
    expect_rc 8
    expect_stderr_has "$err"
    [[ -n $reason ]] && expect_stderr_has "$reason"
    [[ -s $OUT ]] && why "stdout is not empty"
    [[ -n $peer ]] && expect_no_request "$peer" "$m"
    finish
}
tls_ok() {   # tls_ok NAME PEER ARGS...: echo works and a request reached PEER (a log name)
    local name=$1 peer=$2 m
    shift 2
    begin "$name -> ok"
    m=$(log_mark "$peer")
    run "$HELLO" "$@"
    expect_rc 0
    expect_stdout "$HELLO"
    expect_reached "$peer" "$m" "=== request"
    finish
}
NT="certificate not trusted"
NM="certificate name mismatch"
NE="certificate expired"

# target hop, direct (WSPROXY_E_TLS_TARGET)
tls_fail "direct: no --cacert (system trust store)" WSPROXY_E_TLS_TARGET "$NT" target "$WSS"
tls_fail "direct: untrusted CA" WSPROXY_E_TLS_TARGET "$NT" t-untrusted \
    --cacert "$CA" "wss://localhost:${BAD_T[untrusted]}/"
tls_fail "direct: wrong name" WSPROXY_E_TLS_TARGET "$NM" t-wrongname \
    --cacert "$CA" "wss://localhost:${BAD_T[wrongname]}/"
tls_fail "direct: wrong name (IP host)" WSPROXY_E_TLS_TARGET "$NM" t-wrongname \
    --cacert "$CA" "wss://127.0.0.1:${BAD_T[wrongname]}/"
tls_fail "direct: expired" WSPROXY_E_TLS_TARGET "$NE" t-expired \
    --cacert "$CA" "wss://localhost:${BAD_T[expired]}/"
tls_fail "direct: 127.0.0.1 against a DNS-only certificate" WSPROXY_E_TLS_TARGET "$NM" t-dns-only \
    --cacert "$CA" "wss://127.0.0.1:${BAD_T[dns-only]}/"
tls_ok   "direct: localhost against the DNS-only certificate" t-dns-only \
    --cacert "$CA" "wss://localhost:${BAD_T[dns-only]}/"
tls_ok   "direct: 127.0.0.1 against an IP-only certificate" t-ip-only \
    --cacert "$CA" "wss://127.0.0.1:${BAD_T[ip-only]}/"
tls_fail "direct: localhost against the IP-only certificate" WSPROXY_E_TLS_TARGET "$NM" t-ip-only \
    --cacert "$CA" "wss://localhost:${BAD_T[ip-only]}/"
tls_fail "direct: the proxy CA as --cacert" WSPROXY_E_TLS_TARGET "$NT" target --cacert "$PCA" "$WSS"
tls_fail "direct: --proxy-cacert does not trust the target" WSPROXY_E_TLS_TARGET "$NT" target \
    --proxy-cacert "$CA" "$WSS"
tls_fail "direct: --proxy-insecure does not affect the target" WSPROXY_E_TLS_TARGET "$NT" t-untrusted \
    --proxy-insecure --cacert "$CA" "wss://localhost:${BAD_T[untrusted]}/"
for c in untrusted wrongname expired; do
    tls_ok "direct: --insecure accepts the $c certificate" "t-$c" --insecure "wss://localhost:${BAD_T[$c]}/"
done
tls_ok "direct: the untrusted certificate with its own CA as --cacert" t-untrusted \
    --cacert "$UCA" "wss://localhost:${BAD_T[untrusted]}/"
tls_ok "direct: --cacert bundle (proxy CA + target CA)" target --cacert "$TMP/bundle.pem" "$WSS"
tls_ok "direct: --insecure, no --cacert at all" target --insecure "$WSS"

# target hop through a proxy (WSPROXY_E_TLS_TUNNEL): http:// proxy and https:// proxy
for via in http https; do
    if [[ $via == http ]]; then PX=(--proxy "$HTTP_P"); else PX=(--proxy-cacert "$PCA" --proxy "$HTTPS_P"); fi
    tls_fail "via $via proxy: target untrusted" WSPROXY_E_TLS_TUNNEL "$NT" t-untrusted \
        "${PX[@]}" --cacert "$CA" "wss://localhost:${BAD_T[untrusted]}/"
    tls_fail "via $via proxy: target wrong name" WSPROXY_E_TLS_TUNNEL "$NM" t-wrongname \
        "${PX[@]}" --cacert "$CA" "wss://localhost:${BAD_T[wrongname]}/"
    tls_fail "via $via proxy: target expired" WSPROXY_E_TLS_TUNNEL "$NE" t-expired \
        "${PX[@]}" --cacert "$CA" "wss://localhost:${BAD_T[expired]}/"
    tls_fail "via $via proxy: target 127.0.0.1 vs DNS-only" WSPROXY_E_TLS_TUNNEL "$NM" t-dns-only \
        "${PX[@]}" --cacert "$CA" "wss://127.0.0.1:${BAD_T[dns-only]}/"
    tls_ok   "via $via proxy: target 127.0.0.1 vs IP-only" t-ip-only \
        "${PX[@]}" --cacert "$CA" "wss://127.0.0.1:${BAD_T[ip-only]}/"
    tls_ok   "via $via proxy: --insecure accepts the untrusted target" t-untrusted \
        "${PX[@]}" --insecure "wss://localhost:${BAD_T[untrusted]}/"
    tls_fail "via $via proxy: no --cacert for the target" WSPROXY_E_TLS_TUNNEL "$NT" target \
        "${PX[@]}" "$WSS"
done
tls_fail "via https proxy: the proxy CA as the target's --cacert" WSPROXY_E_TLS_TUNNEL "$NT" target \
    --cacert "$PCA" --proxy-cacert "$PCA" --proxy "$HTTPS_P" "$WSS"
tls_fail "via https proxy: --proxy-insecure does not cover the target" WSPROXY_E_TLS_TUNNEL "$NT" t-untrusted \
    --proxy-insecure --cacert "$CA" --proxy "$HTTPS_P" "wss://localhost:${BAD_T[untrusted]}/"

# proxy hop (WSPROXY_E_TLS_PROXY); the CONNECT must never reach the proxy in clear
# (its log would show a request) nor go further.
tls_fail "https proxy: no --proxy-cacert (system trust store)" WSPROXY_E_TLS_PROXY "$NT" proxy-https \
    --cacert "$CA" --proxy "$HTTPS_P" "$WSS"
tls_fail "https proxy: the target CA as --proxy-cacert" WSPROXY_E_TLS_PROXY "$NT" proxy-https \
    --cacert "$CA" --proxy-cacert "$CA" --proxy "$HTTPS_P" "$WSS"
tls_fail "https proxy: --cacert does not trust the proxy" WSPROXY_E_TLS_PROXY "$NT" proxy-https \
    --cacert "$PCA" --proxy "$HTTPS_P" "$WS"
tls_fail "https proxy: untrusted" WSPROXY_E_TLS_PROXY "$NT" p-untrusted \
    --proxy-cacert "$CA" --proxy "https://localhost:${BAD_P[untrusted]}" "$WS"
tls_fail "https proxy: wrong name" WSPROXY_E_TLS_PROXY "$NM" p-wrongname \
    --proxy-cacert "$CA" --proxy "https://localhost:${BAD_P[wrongname]}" "$WS"
tls_fail "https proxy: expired" WSPROXY_E_TLS_PROXY "$NE" p-expired \
    --proxy-cacert "$CA" --proxy "https://localhost:${BAD_P[expired]}" "$WS"
tls_fail "https proxy: 127.0.0.1 vs DNS-only" WSPROXY_E_TLS_PROXY "$NM" p-dns-only \
    --proxy-cacert "$CA" --proxy "https://127.0.0.1:${BAD_P[dns-only]}" "$WS"
tls_ok   "https proxy: 127.0.0.1 vs IP-only" p-ip-only \
    --proxy-cacert "$CA" --proxy "https://127.0.0.1:${BAD_P[ip-only]}" "$WS"
tls_fail "https proxy: localhost vs IP-only" WSPROXY_E_TLS_PROXY "$NM" p-ip-only \
    --proxy-cacert "$CA" --proxy "https://localhost:${BAD_P[ip-only]}" "$WS"
tls_fail "https proxy: --insecure does not cover the proxy" WSPROXY_E_TLS_PROXY "$NT" p-untrusted \
    --insecure --proxy "https://localhost:${BAD_P[untrusted]}" "$WSS"
for c in untrusted wrongname expired; do
    tls_ok "https proxy: --proxy-insecure accepts the $c certificate" "p-$c" \
        --proxy-insecure --proxy "https://localhost:${BAD_P[$c]}" "$WS"
done
tls_ok "https proxy: the untrusted certificate with its own CA as --proxy-cacert" p-untrusted \
    --proxy-cacert "$UCA" --proxy "https://localhost:${BAD_P[untrusted]}" "$WS"
tls_ok "both hops: one --cacert/--proxy-cacert bundle for both" target \
    --cacert "$TMP/bundle.pem" --proxy-cacert "$TMP/bundle.pem" --proxy "$HTTPS_P" "$WSS"
tls_ok "https proxy: --proxy-insecure, wss:// target verified with --cacert" target \
    --proxy-insecure --cacert "$CA" --proxy "https://localhost:${BAD_P[untrusted]}" "$WSS"
tls_fail "both hops bad: the proxy hop fails first" WSPROXY_E_TLS_PROXY "$NT" p-untrusted \
    --proxy "https://localhost:${BAD_P[untrusted]}" "wss://localhost:${BAD_T[untrusted]}/"

begin "https proxy: auth credentials never sent when the proxy's TLS fails"
mp=$(log_mark p-untrusted)
run "$HELLO" --proxy "https://user:pa%3Ass@localhost:${BAD_P[untrusted]}" "$WS"
expect_rc 8
expect_stderr_has WSPROXY_E_TLS_PROXY
expect_no_request p-untrusted "$mp"
expect_stderr_lacks "pa:ss"
expect_stderr_lacks "pa%3Ass"
finish

begin "https proxy: SNI differs from --tls-require-sni -> exit 8"
run "$HELLO" --proxy-cacert "$PCA" --proxy "https://127.0.0.1:$PR" "$WS"
expect_rc 8
expect_stderr_has WSPROXY_E_TLS_PROXY
finish

# ---- proxy misbehaviour inside TLS --------------------------------------------------
via() { echo "https://localhost:${MODE_PORT[$1]}"; }
MP=(--cacert "$CA" --proxy-cacert "$PCA")

for mode in status403 status502 refuse-target; do
    begin "https proxy mode $mode -> exit 3"
    run "$HELLO" "${MP[@]}" --proxy "$(via "$mode")" "$WSS"
    expect_rc 3
    case $mode in status403) expect_stderr_has 403 ;; *) expect_stderr_has 502 ;; esac
    finish
done

begin "https proxy mode status407 -> exit 4"
run "$HELLO" "${MP[@]}" --proxy "$(via status407)" "$WSS"
expect_rc 4
expect_stderr_has "407"
finish

for mode in http10 noreason headers drip; do
    begin "https proxy mode $mode -> wss:// echo works"
    mp=$(log_mark "mode-$mode")
    mt=$(log_mark target)
    run "$HELLO" "${MP[@]}" --proxy "$(via "$mode")" "$WSS"
    expect_rc 0
    expect_stdout "$HELLO"
    expect_reached "mode-$mode" "$mp" "CONNECT localhost:$T HTTP/1.1"
    expect_reached target "$mt" "GET /echo HTTP/1.1"
    finish
done

begin "https proxy mode drip -> ws:// echo works (1-byte TLS records)"
mp=$(log_mark mode-drip)
run "$HELLO" "${MP[@]}" --proxy "$(via drip)" "$WS"
expect_rc 0
expect_reached mode-drip "$mp" "CONNECT localhost:$E HTTP/1.1"
expect_stdout "$HELLO"
finish

begin "https proxy mode junk, ws:// target -> exit 5"
run "$HELLO" "${MP[@]}" --proxy "$(via junk)" "$WS"
expect_rc 5
expect_stderr_has "WSPROXY_E_HANDSHAKE_"
finish

begin "https proxy mode junk, wss:// target -> exit 8 TLS_TUNNEL (junk before the ServerHello)"
run "$HELLO" "${MP[@]}" --proxy "$(via junk)" "$WSS"
expect_rc 8
expect_stderr_has "WSPROXY_E_TLS_TUNNEL"
finish

begin "https proxy mode oversize -> exit 3 REPLY_TOO_LARGE"
run "$HELLO" "${MP[@]}" --proxy "$(via oversize)" "$WSS"
expect_rc 3
expect_stderr_has "WSPROXY_E_PROXY_REPLY_TOO_LARGE"
finish

begin "https proxy mode closemid -> exit 3 PROXY_CLOSED"
run "$HELLO" "${MP[@]}" --proxy "$(via closemid)" "$WSS"
expect_rc 3
expect_stderr_has "WSPROXY_E_PROXY_CLOSED"
finish

begin "https proxy mode silent, --timeout 1 -> exit 7 PROXY_TIMEOUT in < 5 s"
run "$HELLO" "${MP[@]}" --timeout 1 --proxy "$(via silent)" "$WSS"
expect_rc 7
expect_stderr_has "WSPROXY_E_PROXY_TIMEOUT"
expect_faster_than 5000
finish

begin "wss:// to a server that never answers the ClientHello, --timeout 1 -> exit 7 in < 5 s"
run "$HELLO" --cacert "$CA" --timeout 1 "wss://127.0.0.1:$S/"
expect_rc 7
expect_faster_than 5000
finish

echo "# suite wall time: $(( $(now_ms) - SUITE_T0 )) ms"
summary_and_exit
