#!/usr/bin/env bash
# The TLS policy over loopback (issue 13): wspcat against the test peers with the
# certificates, suite families and client-certificate requirements of tests/certs and
# tests/peers (see tests/certs/README and peer_common.h), on each hop: the server reached
# directly, the server inside a tunnel, and an https:// proxy.
#
# Usage (from the repo root):  bash tests/integration_tls_policy.sh
#   BUILD=dir   directory holding the binaries (default: build)
# Every check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is
# "N passed, N failed".

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=tlspolicy IT_MAX_SECONDS=180 IT_SHOW_COMMAND=1
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
CERTS=tests/certs
WSPCAT=${WSPCAT:-$BUILD/wspcat}   # WSPCAT=build/wspcat-openssl: the same suite on OpenSSL
ECHO_SERVER=$BUILD/ws_echo_server
HTTP_PROXY=$BUILD/http_proxy

start_tls_echo()  { local v=$1 n=$2 c=$3; shift 3
    start_peer "$v" "$n" "$ECHO_SERVER" --tls-cert "$CERTS/$c-chain.pem" --tls-key "$CERTS/$c.key" "$@"; }
start_tls_proxy() { local v=$1 n=$2 c=$3; shift 3
    start_peer "$v" "$n" "$HTTP_PROXY" --tls-cert "$CERTS/$c-chain.pem" --tls-key "$CERTS/$c.key" "$@"; }

require_binaries "$WSPCAT" "$ECHO_SERVER" "$HTTP_PROXY"
SUITE_T0=$(now_ms)
CA=$CERTS/ca.pem
PCA=$CERTS/proxy-ca.pem
CCA=$CERTS/client-ca.pem
HELLO=$'hello\nworld\n'

# ---- peers ---------------------------------------------------------------------------
P='' E=''
start_peer P proxy "$HTTP_PROXY" || summary_and_exit                       # plain CONNECT proxy
start_peer E plain "$ECHO_SERVER" || summary_and_exit                      # plain echo behind https:// proxies
declare -A T=() PX=()
for c in sha1-leaf sha1-inter-leaf inter-leaf eku-client eku-server eku-any eku-none; do
    port=''
    start_tls_echo port "t-$c" "$c" || summary_and_exit
    T[$c]=$port
    port=''
    start_tls_proxy port "p-$c" "$c" || summary_and_exit
    PX[$c]=$port
done
declare -A ST=() SP=()
for f in rsa cbc cbc-sha1 3des gcm chacha; do
    port=''
    start_tls_echo port "ts-$f" target --tls-suites "$f" || summary_and_exit
    ST[$f]=$port
    port=''
    start_tls_proxy port "ps-$f" target --tls-suites "$f" || summary_and_exit   # RSA key: every family
    SP[$f]=$port
done
MT='' MP='' MTP=''
start_tls_echo MT mtls-target target --tls-client-ca "$CCA" || summary_and_exit
start_tls_proxy MP mtls-proxy proxy --tls-client-ca "$CCA" || summary_and_exit

# ---- certificates on each hop -----------------------------------------------------------
# cert_case NAME CERT VERDICT: VERDICT ok | weak | eku
cert_case() {
    local name=$1 c=$2 verdict=$3 why_text rc_want=8
    case $verdict in
        ok) rc_want=0 ;;
        weak) why_text="signed with SHA-1 or MD5" ;;
        eku) why_text="extendedKeyUsage does not allow a TLS server" ;;
    esac
    begin "$name on the server hop, direct"
    run "$HELLO" --cacert "$CA" "wss://localhost:${T[$c]}/echo"
    expect_rc "$rc_want"
    if [[ $verdict == ok ]]; then expect_stdout "$HELLO"; else expect_stderr_has "WSPROXY_E_TLS_TARGET"; expect_stderr_has "$why_text"; fi
    finish
    begin "$name on the server hop, in a tunnel"
    run "$HELLO" --cacert "$CA" --proxy "http://localhost:$P" "wss://localhost:${T[$c]}/echo"
    expect_rc "$rc_want"
    if [[ $verdict == ok ]]; then expect_stdout "$HELLO"; else expect_stderr_has "WSPROXY_E_TLS_TUNNEL"; expect_stderr_has "$why_text"; fi
    finish
    begin "$name on the proxy hop"
    run "$HELLO" --proxy-cacert "$CA" --proxy "https://localhost:${PX[$c]}" "ws://localhost:$E/echo"
    expect_rc "$rc_want"
    if [[ $verdict == ok ]]; then expect_stdout "$HELLO"; else expect_stderr_has "WSPROXY_E_TLS_PROXY"; expect_stderr_has "$why_text"; fi
    finish
}
cert_case "a SHA-1-signed leaf" sha1-leaf weak
cert_case "a leaf under a SHA-1-signed intermediate" sha1-inter-leaf weak
cert_case "a SHA-256 chain with an intermediate (control)" inter-leaf ok
cert_case "an EKU clientAuth-only leaf" eku-client eku
cert_case "an EKU serverAuth leaf" eku-server ok
cert_case "an anyExtendedKeyUsage leaf" eku-any ok
cert_case "a leaf without EKU" eku-none ok

begin "verification off takes the EKU clientAuth-only leaf (the caller's choice)"
run "$HELLO" --insecure "wss://localhost:${T[eku-client]}/echo"
expect_rc 0
expect_stdout "$HELLO"
finish

# ---- cipher suites: refused by default, ECDHE-CBC (SHA-256/384) with the compat switch ----
suite_case() {   # suite_case FAMILY DEFAULT_OK COMPAT_OK
    local f=$1 d=$2 cpt=$3 m
    begin "server offering only $f: $( ((d)) && echo connected || echo refused ) by default"
    m=$(log_mark "ts-$f")
    run "$HELLO" --cacert "$CA" "wss://localhost:${ST[$f]}/echo"
    if ((d)); then expect_rc 0; expect_stdout "$HELLO"
    else expect_rc 8; expect_stderr_has "none of our cipher suites"; expect_text_lacks "server log" "$(log_since "ts-$f" "$m")" "GET /echo"; fi
    finish
    begin "server offering only $f, --tls-compat: $( ((cpt)) && echo connected || echo refused )"
    run "$HELLO" --cacert "$CA" --tls-compat "wss://localhost:${ST[$f]}/echo"
    if ((cpt)); then expect_rc 0; expect_stdout "$HELLO"; else expect_rc 8; fi
    finish
    begin "https:// proxy offering only $f: $( ((d)) && echo connected || echo refused ) by default"
    run "$HELLO" --proxy-cacert "$CA" --proxy "https://localhost:${SP[$f]}" "ws://localhost:$E/echo"
    if ((d)); then expect_rc 0; expect_stdout "$HELLO"
    else expect_rc 8; expect_stderr_has "WSPROXY_E_TLS_PROXY"; expect_stderr_has "none of our cipher suites"; fi
    finish
    begin "https:// proxy offering only $f, --proxy-tls-compat: $( ((cpt)) && echo connected || echo refused )"
    run "$HELLO" --proxy-cacert "$CA" --proxy-tls-compat --proxy "https://localhost:${SP[$f]}" "ws://localhost:$E/echo"
    if ((cpt)); then expect_rc 0; expect_stdout "$HELLO"; else expect_rc 8; fi
    finish
}
suite_case rsa 0 0
suite_case cbc 0 1
suite_case cbc-sha1 0 0
suite_case 3des 0 0
suite_case gcm 1 1
suite_case chacha 1 1

begin "the suite a default handshake takes is ECDHE with an AEAD"
m=$(log_mark "ts-gcm")
run "$HELLO" --cacert "$CA" "wss://localhost:${ST[gcm]}/echo"
expect_rc 0
expect_text_match "server log" "$(log_since "ts-gcm" "$m")" '=== suite: 0xC0(2B|2F|2C|30)'
finish

# ---- client certificates per hop -------------------------------------------------------
begin "mTLS to the server: RSA certificate, PKCS#1 key"
m=$(log_mark mtls-target)
run "$HELLO" --cacert "$CA" --cert "$CERTS/client-rsa-chain.pem" --key "$CERTS/client-rsa-pkcs1.key" "wss://localhost:$MT/echo"
expect_rc 0
expect_stdout "$HELLO"
expect_reached mtls-target "$m" "=== client-cert: wsproxy test client rsa"
finish

begin "mTLS to the server: EC certificate, SEC1 key, through a proxy"
m=$(log_mark mtls-target)
run "$HELLO" --cacert "$CA" --cert "$CERTS/client-ec-chain.pem" --key "$CERTS/client-ec-sec1.key" \
    --proxy "http://localhost:$P" "wss://localhost:$MT/echo"
expect_rc 0
expect_stdout "$HELLO"
expect_reached mtls-target "$m" "=== client-cert: wsproxy test client ec"
finish

begin "mTLS to the server: PKCS#8 keys load too"
run "$HELLO" --cacert "$CA" --cert "$CERTS/client-ec-chain.pem" --key "$CERTS/client-ec.key" "wss://localhost:$MT/echo"
expect_rc 0
run "$HELLO" --cacert "$CA" --cert "$CERTS/client-rsa-chain.pem" --key "$CERTS/client-rsa.key" "wss://localhost:$MT/echo"
expect_rc 0
finish

begin "mTLS to the server: none given: named"
run "$HELLO" --cacert "$CA" "wss://localhost:$MT/echo"
expect_rc 8
expect_stderr_has "asked for a client certificate and none was given"
finish

begin "mTLS to the server: a certificate from another CA: named"
run "$HELLO" --cacert "$CA" --cert "$CERTS/client-untrusted-chain.pem" --key "$CERTS/client-untrusted.key" "wss://localhost:$MT/echo"
expect_rc 8
expect_stderr_has "refused our client certificate"
finish

begin "mTLS to the proxy only"
m=$(log_mark mtls-proxy)
run "$HELLO" --proxy-cacert "$PCA" --proxy-cert "$CERTS/client-rsa-chain.pem" --proxy-key "$CERTS/client-rsa-pkcs1.key" \
    --proxy "https://localhost:$MP" "ws://localhost:$E/echo"
expect_rc 0
expect_stdout "$HELLO"
expect_reached mtls-proxy "$m" "=== client-cert: wsproxy test client rsa"
finish

begin "mTLS to the proxy and to the server, one certificate each"
mp=$(log_mark mtls-proxy)
mt=$(log_mark mtls-target)
run "$HELLO" --proxy-cacert "$PCA" --proxy-cert "$CERTS/client-ec-chain.pem" --proxy-key "$CERTS/client-ec-sec1.key" \
    --cacert "$CA" --cert "$CERTS/client-rsa-chain.pem" --key "$CERTS/client-rsa-pkcs1.key" \
    --proxy "https://localhost:$MP" "wss://localhost:$MT/echo"
expect_rc 0
expect_stdout "$HELLO"
expect_reached mtls-proxy "$mp" "=== client-cert: wsproxy test client ec"
expect_reached mtls-target "$mt" "=== client-cert: wsproxy test client rsa"
finish

begin "mTLS: the server's certificate is never offered to the proxy"
run "$HELLO" --proxy-cacert "$PCA" --cacert "$CA" --cert "$CERTS/client-rsa-chain.pem" --key "$CERTS/client-rsa-pkcs1.key" \
    --proxy "https://localhost:$MP" "wss://localhost:$MT/echo"
expect_rc 8
expect_stderr_has "WSPROXY_E_TLS_PROXY"
expect_stderr_has "asked for a client certificate and none was given"
finish

begin "an encrypted key is refused at once, without printing it"
run "$HELLO" --cacert "$CA" --cert "$CERTS/client-rsa-chain.pem" --key "$CERTS/client-rsa-encrypted.key" "wss://localhost:$MT/echo"
expect_rc 1
expect_stderr_has "the key is encrypted"
expect_stderr_lacks "BEGIN"
finish

begin "--cert without --key is a usage error"
run "$HELLO" --cacert "$CA" --cert "$CERTS/client-rsa-chain.pem" "wss://localhost:$MT/echo"
expect_rc 1
expect_stderr_has "--cert needs --key"
finish

# ---- plain HTTP where TLS was asked for ----------------------------------------------------
begin "an https:// proxy that is a plain HTTP proxy: named"
run "$HELLO" --proxy-cacert "$PCA" --proxy "https://localhost:$P" "ws://localhost:$E/echo"
expect_rc 8
expect_stderr_has "WSPROXY_E_TLS_PROXY"
expect_stderr_has "plain HTTP, not TLS: is it an http:// proxy?"
finish

begin "a wss:// URL to a ws:// server: named"
run "$HELLO" --cacert "$CA" "wss://localhost:$E/echo"
expect_rc 8
expect_stderr_has "WSPROXY_E_TLS_TARGET"
expect_stderr_has "is it a ws:// server?"
finish

summary_and_exit
