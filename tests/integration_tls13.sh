#!/usr/bin/env bash
# TLS 1.3-only peers over loopback (issue 18): tests/peers/tls_terminator.py with
# --min-version 1.3 in front of the plain echo server (a wss:// server) and of the plain
# HTTP proxy (an https:// proxy). wspcat built with -DWSPROXY_TLS_OPENSSL reaches them
# directly and through http://, https:// and socks5h:// proxies; wspcat on BearSSL (no
# TLS 1.3) is refused on the hop that needs it, with a message that names the build switch.
#
# Usage (from the repo root):  bash tests/integration_tls13.sh
#   BUILD=dir             the binaries (default: build)
#   WSPCAT_OPENSSL=path   default $BUILD/wspcat-openssl
#   WSPCAT_BEARSSL=path   default $BUILD/wspcat
# Every check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is
# "N passed, N failed" and the exit status is non-zero if anything failed.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=tls13 IT_MAX_SECONDS=120 IT_SHOW_COMMAND=1
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
C=tests/certs
OSSL=${WSPCAT_OPENSSL:-$BUILD/wspcat-openssl}
BEAR=${WSPCAT_BEARSSL:-$BUILD/wspcat}
TERM_PY=tests/peers/tls_terminator.py

require_binaries "$OSSL" "$BEAR" "$BUILD/ws_echo_server" "$BUILD/http_proxy" "$BUILD/socks_server" "$TERM_PY"
(( FAILED == 0 )) || summary_and_exit
if ! "$OSSL" --version 2>&1 | grep -q 'TLS: OpenSSL'; then
    fail_check "wspcat-openssl" "$OSSL --version does not say TLS: OpenSSL"
    summary_and_exit
fi

# plain peers, and TLS 1.3-only fronts for them
E='' P='' K='' T13E='' T13P='' T13M='' UNT='' WRN=''
start_peer E    echo-plain   "$BUILD/ws_echo_server"  || summary_and_exit
start_peer P    proxy-plain  "$BUILD/http_proxy"      || summary_and_exit
start_peer K    socks        "$BUILD/socks_server"    || summary_and_exit
start_peer T13E term13-echo  "$TERM_PY" --cert $C/target.pem --key $C/target.key --min-version 1.3 \
    --forward-port "$E" || summary_and_exit
start_peer T13P term13-proxy "$TERM_PY" --cert $C/proxy.pem --key $C/proxy.key --min-version 1.3 \
    --forward-port "$P" || summary_and_exit
start_peer T13M term13-mtls  "$TERM_PY" --cert $C/target.pem --key $C/target.key --min-version 1.3 \
    --client-ca $C/client-ca.pem --forward-port "$E" || summary_and_exit
start_peer UNT  term13-untrusted "$TERM_PY" --cert $C/untrusted-chain.pem --key $C/untrusted.key \
    --min-version 1.3 --forward-port "$E" || summary_and_exit
start_peer WRN  term13-wrongname "$TERM_PY" --cert $C/wrongname-chain.pem --key $C/wrongname.key \
    --min-version 1.3 --forward-port "$E" || summary_and_exit

HELLO=$'hello\nworld\n'
WSS=wss://localhost:$T13E/echo
WS=ws://localhost:$E/echo
HTTPS_P=https://localhost:$T13P

# ---- the OpenSSL backend reaches the TLS 1.3-only peers ----------------------------
WSPCAT=$OSSL
begin "OpenSSL: wss:// direct to a TLS 1.3-only server: echo"
m=$(log_mark term13-echo)
run "$HELLO" --cacert $C/ca.pem "$WSS"
expect_rc 0
expect_stdout "$HELLO"
tlog=$(log_since term13-echo "$m")
expect_line "terminator log" "$tlog" "=== version: TLSv1.3"
expect_line "terminator log" "$tlog" "=== sni: localhost"
expect_line "terminator log" "$tlog" "=== alpn: http/1.1"
finish

begin "OpenSSL: wss:// to 127.0.0.1 (iPAddress SAN), TLS 1.3: echo"
m=$(log_mark term13-echo)
run "$HELLO" --cacert $C/ca.pem "wss://127.0.0.1:$T13E/echo"
expect_rc 0
expect_stdout "$HELLO"
expect_line "terminator log" "$(log_since term13-echo "$m")" "=== sni: "
finish

begin "OpenSSL: wss:// through an http:// proxy to a TLS 1.3-only server: echo"
m=$(log_mark term13-echo); mp=$(log_mark proxy-plain)
run "$HELLO" --cacert $C/ca.pem --proxy "http://localhost:$P" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-plain "$mp" "CONNECT localhost:$T13E HTTP/1.1"
expect_line "terminator log" "$(log_since term13-echo "$m")" "=== version: TLSv1.3"
finish

begin "OpenSSL: wss:// through a socks5h:// proxy to a TLS 1.3-only server: echo"
m=$(log_mark term13-echo); mk=$(log_mark socks)
run "$HELLO" --cacert $C/ca.pem --proxy "socks5h://localhost:$K" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
[[ -n $(log_since socks "$mk") ]] || why "the SOCKS server logged nothing"
expect_line "terminator log" "$(log_since term13-echo "$m")" "=== version: TLSv1.3"
finish

begin "OpenSSL: ws:// through a TLS 1.3-only https:// proxy: echo"
m=$(log_mark term13-proxy); mp=$(log_mark proxy-plain)
run "$HELLO" --proxy-cacert $C/proxy-ca.pem --proxy "$HTTPS_P" "$WS"
expect_rc 0
expect_stdout "$HELLO"
expect_reached proxy-plain "$mp" "CONNECT localhost:$E HTTP/1.1"
expect_line "proxy front log" "$(log_since term13-proxy "$m")" "=== version: TLSv1.3"
finish

begin "OpenSSL: wss:// through a TLS 1.3-only https:// proxy (TLS 1.3 inside TLS 1.3): echo"
m=$(log_mark term13-proxy); me=$(log_mark term13-echo)
run "$HELLO" --cacert $C/ca.pem --proxy-cacert $C/proxy-ca.pem --proxy "$HTTPS_P" "$WSS"
expect_rc 0
expect_stdout "$HELLO"
expect_line "proxy front log" "$(log_since term13-proxy "$m")" "=== version: TLSv1.3"
expect_line "server front log" "$(log_since term13-echo "$me")" "=== version: TLSv1.3"
finish

begin "OpenSSL: TLS 1.3 suite is an AEAD one"
expect_text_match "server front log" "$(log_since term13-echo "$me")" '^=== suite: 0x130[123]$'
finish

begin "OpenSSL: mTLS to a TLS 1.3-only server: client certificate accepted"
m=$(log_mark term13-mtls)
run "$HELLO" --cacert $C/ca.pem --cert $C/client-rsa.pem --key $C/client-rsa.key "wss://localhost:$T13M/echo"
expect_rc 0
expect_stdout "$HELLO"
expect_text_match "mTLS front log" "$(log_since term13-mtls "$m")" '^=== client-cert: '
finish

begin "OpenSSL: mTLS over TLS 1.3 without a certificate: exit 8, named"
run "$HELLO" --cacert $C/ca.pem "wss://localhost:$T13M/echo"
expect_rc 8
expect_stderr_has "WSPROXY_E_TLS_TARGET"
expect_stderr_has "TLS error 1031"
finish

begin "OpenSSL: mTLS over TLS 1.3 with a certificate of another CA: exit 8, named"
run "$HELLO" --cacert $C/ca.pem --cert $C/client-untrusted.pem --key $C/client-untrusted.key "wss://localhost:$T13M/echo"
expect_rc 8
expect_stderr_has "TLS error 1032"
finish

begin "OpenSSL: TLS 1.3 server with an untrusted certificate: exit 8, not trusted"
run "$HELLO" --cacert $C/ca.pem "wss://localhost:$UNT/echo"
expect_rc 8
expect_stderr_has "certificate not trusted"
expect_stderr_has "TLS error 62"
finish

begin "OpenSSL: TLS 1.3 server named otherwise: exit 8, name mismatch"
run "$HELLO" --cacert $C/ca.pem "wss://localhost:$WRN/echo"
expect_rc 8
expect_stderr_has "certificate name mismatch"
finish

begin "OpenSSL: TLS 1.3 proxy checked with the server's CA: exit 8 on the proxy hop"
run "$HELLO" --cacert $C/ca.pem --proxy-cacert $C/ca.pem --proxy "$HTTPS_P" "$WSS"
expect_rc 8
expect_stderr_has "WSPROXY_E_TLS_PROXY"
expect_stderr_has "certificate not trusted"
finish

# ---- BearSSL: refused, on the hop that wants TLS 1.3, with the way out -------------
WSPCAT=$BEAR
bear_refused() {   # bear_refused NAME ERROR-NAME [ARGS...]
    local name=$1 err=$2
    shift 2
    begin "BearSSL: $name -> exit 8 $err, TLS 1.3 required, build with WSPROXY_TLS_OPENSSL"
    run "$HELLO" "$@"
    expect_rc 8
    expect_stdout ""
    expect_stderr_has "$err"
    expect_stderr_has "requires TLS 1.3"
    expect_stderr_has "WSPROXY_TLS_OPENSSL"
    expect_stderr_has "TLS error 326"
    finish
}
bear_refused "wss:// direct to a TLS 1.3-only server" WSPROXY_E_TLS_TARGET --cacert $C/ca.pem "$WSS"
bear_refused "wss:// through an http:// proxy" WSPROXY_E_TLS_TUNNEL --cacert $C/ca.pem \
    --proxy "http://localhost:$P" "$WSS"
bear_refused "wss:// through a socks5h:// proxy" WSPROXY_E_TLS_TUNNEL --cacert $C/ca.pem \
    --proxy "socks5h://localhost:$K" "$WSS"
bear_refused "ws:// through a TLS 1.3-only https:// proxy" WSPROXY_E_TLS_PROXY \
    --proxy-cacert $C/proxy-ca.pem --proxy "$HTTPS_P" "$WS"
bear_refused "wss:// through a TLS 1.3-only https:// proxy" WSPROXY_E_TLS_PROXY --cacert $C/ca.pem \
    --proxy-cacert $C/proxy-ca.pem --proxy "$HTTPS_P" "$WSS"

begin "BearSSL: the TLS 1.3-only fronts logged the refusals"
expect_text_has "server front log" "$(cat "$TMP/term13-echo.log")" "=== tls-failed: "
expect_text_has "proxy front log" "$(cat "$TMP/term13-proxy.log")" "=== tls-failed: "
finish

summary_and_exit
