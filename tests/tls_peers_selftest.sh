#!/usr/bin/env bash
# Self-test of the TLS test infrastructure, with third-party clients only (openssl s_client,
# curl, gnutls-cli for 3DES, which OpenSSL 3 no longer has): it proves that the test
# certificates (tests/certs) are what tests/certs/README says and that the peers do what
# their options claim, before any library test relies on them.
#   - ws_echo_server and http_proxy with --tls-client-ca: no client certificate and a
#     certificate from another CA fail the handshake, a trusted one passes and its CN is logged;
#   - --tls-suites NAME: each suite of the set is negotiated when offered alone, a client
#     offering every other suite is refused;
#   - "=== kex: curve N, signature 0xXXXX" names the curve and signature scheme that
#     s_client reports for the groups and signature algorithms it offered ("none" for a
#     static RSA key exchange and a resumed session);
#   - session resumption (RFC 5246 session IDs): a session openssl s_client saved is resumed
#     ("Reused", "=== resumed: yes"), with its client certificate's CN; --tls-no-resume
#     resumes nothing;
#   - tests/peers/tls_terminator.py: TLS 1.3 only (refuses 1.2), in front of the plain echo
#     server (wss://) and the plain proxy (https:// proxy), client certificates, --ciphers;
#   - the certificates: SHA-1 signatures, extended key usages, key encodings, validity.
#
# Usage (from the repo root, after `make peers`):  bash tests/tls_peers_selftest.sh
#   BUILD=dir   directory holding the peers (default: build)
# Prints "ok - NAME" or "FAIL - NAME: WHY" per check and "N passed, N failed" at the end.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=tls-peers IT_MAX_SECONDS=120
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
C=tests/certs
ECHO=$BUILD/ws_echo_server
PROXY=$BUILD/http_proxy
TERM_PY=${TERM_PY:-tests/peers/tls_terminator.py}   # overridable to test the test
AT_2027=1798761600   # 2027-01-01T00:00:00Z, the in-memory tests' validation time

# wait_for PEER MARK TEXT: TEXT appears in PEER's log after MARK within 3 s (the peer
# writes its log line a moment after the client returns)
wait_for() {
    local i
    for (( i = 0; i < 150; i++ )); do
        grep -qF -- "$3" <<<"$(log_since "$1" "$2")" && return 0
        sleep 0.02
    done
    return 1
}
expect_logged() {   # expect_logged PEER MARK TEXT
    wait_for "$1" "$2" "$3" || why "$1 log has no new '$3'"
}
expect_not_logged() {   # after expect_logged: the rest of the log lacks TEXT
    if grep -qF -- "$3" <<<"$(log_since "$1" "$2")"; then why "$1 log has '$3'"; fi
}
expect_fail_rc() { [[ $RC != 0 ]] || why "the client succeeded (exit status 0)"; }

# s_client NAME PORT ARGS...: a handshake (stdin empty) against 127.0.0.1:PORT
s_client() {
    local port=$1
    shift
    set_cmdline openssl s_client -connect "127.0.0.1:$port" "$@"
    run_timed 10 /dev/null openssl s_client -connect "127.0.0.1:$port" -servername localhost "$@"
}
# curl_to URL ARGS...: an HTTP request; stdout is the status code
curl_to() {
    set_cmdline curl "$@"
    run_timed 10 /dev/null curl -sS -o /dev/null -w '%{http_code}' --max-time 8 "$@"
}
expect_http_status() {   # any HTTP answer proves the TLS hop(s) worked
    [[ $RC == 0 ]] || why "curl exit status $RC"
    grep -qE '^[1-5][0-9][0-9]$' "$OUT" || why "no HTTP status code from curl"
}

# ================================================================== main ==
require_binaries "$ECHO" "$PROXY"
for t in openssl curl gnutls-cli python3; do
    command -v "$t" >/dev/null || { echo "FAIL - tools: $t is missing (apt-get install ${t/gnutls-cli/gnutls-bin})"; FAILED=$((FAILED + 1)); }
done
(( FAILED == 0 )) || summary_and_exit
T0=$(now_ms)

# ---- peers (all started first, they come up in parallel) ----
EM='' PM='' E='' HP=''
start_peer EM echo-mtls  "$ECHO"  --tls-cert $C/target.pem --tls-key $C/target.key --tls-client-ca $C/client-ca.pem || summary_and_exit
start_peer PM proxy-mtls "$PROXY" --tls-cert $C/proxy.pem --tls-key $C/proxy.key --tls-client-ca $C/client-ca.pem || summary_and_exit
start_peer E  echo-plain  "$ECHO"  || summary_and_exit
start_peer HP proxy-plain "$PROXY" || summary_and_exit
# --tls-suites: expected IANA numbers per set (written here from the RFCs' registry, not
# from the peers' code); the echo servers have an RSA key, the proxies an EC key
declare -A SET=(
    [rsa]="009C 009D 003C 003D 002F 0035"
    [cbc]="C023 C024 C027 C028"
    [cbc-sha1]="C009 C00A C013 C014"
    [3des]="C008 C012 000A"
    [gcm]="C02B C02C C02F C030"
    [chacha]="CCA9 CCA8"
)
SETS=(rsa cbc cbc-sha1 3des gcm chacha)
PROXY_SETS=(cbc-sha1 chacha)
declare -A SUITE_PORT=() PSUITE_PORT=()
for s in "${SETS[@]}"; do
    port=''
    start_peer port "suite-$s" "$ECHO" --tls-cert $C/target.pem --tls-key $C/target.key --tls-suites "$s" || summary_and_exit
    SUITE_PORT[$s]=$port
done
for s in "${PROXY_SETS[@]}"; do
    port=''
    start_peer port "psuite-$s" "$PROXY" --tls-cert $C/proxy.pem --tls-key $C/proxy.key --tls-suites "$s" || summary_and_exit
    PSUITE_PORT[$s]=$port
done
T13E='' T13P='' TC='' T12=''
start_peer T13E term13-echo  "$TERM_PY" --cert $C/target.pem --key $C/target.key --min-version 1.3 --forward-port "$E" || summary_and_exit
start_peer T13P term13-proxy "$TERM_PY" --cert $C/proxy.pem --key $C/proxy.key --min-version 1.3 --forward-port "$HP" || summary_and_exit
start_peer TC   term-mtls    "$TERM_PY" --cert $C/target.pem --key $C/target.key --client-ca $C/client-ca.pem --forward-port "$E" || summary_and_exit
start_peer T12  term12       "$TERM_PY" --cert $C/target.pem --key $C/target.key --max-version 1.2 \
    --ciphers ECDHE-RSA-AES128-GCM-SHA256 --forward-port "$E" || summary_and_exit
ENR=''
start_peer ENR echo-noresume "$ECHO" --tls-cert $C/target.pem --tls-key $C/target.key --tls-no-resume || summary_and_exit

# OpenSSL's name of each IANA number it knows ("0xC0,0x2F - NAME ...")
declare -A OSSL=()
while read -r id _ name _; do
    id=${id//0x/}; id=${id//,/}
    OSSL[${id^^}]=$name
done < <(openssl ciphers -V 'ALL:@SECLEVEL=0')

# ---- client certificates required (both BearSSL peers) ----
begin "echo --tls-client-ca: the CertificateRequest names the client CA"
m=$(log_mark echo-mtls)
s_client "$EM" -CAfile $C/ca.pem
grep -qF "CN = wsproxy test client CA" "$OUT" || why "s_client shows no acceptable CA 'wsproxy test client CA'"
expect_logged echo-mtls "$m" "=== tls-failed: "
finish

# mtls_refused LABEL PEER WHY CURL-ARGS...: the handshake fails with WHY in PEER's log,
# no client-cert line, no request anywhere
mtls_refused() {
    local label=$1 peer=$2 want=$3 m me
    shift 3
    begin "$label"
    m=$(log_mark "$peer"); me=$(log_mark echo-plain)
    curl_to "$@"
    expect_fail_rc
    expect_logged "$peer" "$m" "=== tls-failed: $want"
    expect_not_logged "$peer" "$m" "=== client-cert:"
    expect_not_logged "$peer" "$m" "=== request"
    expect_untouched echo-plain "$me"
    finish
}
# mtls_accepted LABEL PEER CN GOT-GET CURL-ARGS...: an HTTP answer, "=== client-cert: CN"
# in PEER's log, and the GET reached the peer whose log is GOT-GET
mtls_accepted() {
    local label=$1 peer=$2 cn=$3 got=$4 m mg
    shift 4
    begin "$label"
    m=$(log_mark "$peer"); mg=$(log_mark "$got")
    curl_to "$@"
    expect_http_status
    expect_logged "$peer" "$m" "=== client-cert: $cn"
    expect_logged "$got" "$mg" "GET / HTTP/1.1"
    expect_not_logged "$peer" "$m" "=== tls-failed"
    finish
}
NOT_TRUSTED="BearSSL error 62 (client certificate: not trusted"
NO_CERT="BearSSL error 29 (no client certificate)"
UNTRUSTED=(client-untrusted.pem client-untrusted.key)

mtls_refused "echo --tls-client-ca: no client certificate -> handshake fails" echo-mtls "$NO_CERT" \
    "https://localhost:$EM/" --cacert $C/ca.pem
for k in "client-rsa client-rsa.key wsproxy test client rsa" \
         "client-rsa client-rsa-pkcs1.key wsproxy test client rsa" \
         "client-ec client-ec-sec1.key wsproxy test client ec"; do
    read -r cert key cn <<<"$k"
    mtls_accepted "echo --tls-client-ca: $cert ($key) -> ok, CN logged" echo-mtls "$cn" echo-mtls \
        "https://localhost:$EM/" --cacert $C/ca.pem --cert "$C/$cert.pem" --key "$C/$key"
done
mtls_refused "echo --tls-client-ca: certificate from another CA -> handshake fails" echo-mtls "$NOT_TRUSTED" \
    "https://localhost:$EM/" --cacert $C/ca.pem --cert "$C/${UNTRUSTED[0]}" --key "$C/${UNTRUSTED[1]}"

PM_ARGS=("http://127.0.0.1:$E/" -p -x "https://localhost:$PM" --proxy-cacert "$C/proxy-ca.pem")
mtls_refused "proxy --tls-client-ca: no client certificate -> handshake fails, no tunnel" proxy-mtls \
    "$NO_CERT" "${PM_ARGS[@]}"
for k in "client-ec client-ec.key wsproxy test client ec" \
         "client-rsa client-rsa-pkcs1.key wsproxy test client rsa"; do
    read -r cert key cn <<<"$k"
    mtls_accepted "proxy --tls-client-ca: $cert ($key) -> CONNECT tunnel to the plain echo server" \
        proxy-mtls "$cn" echo-plain "${PM_ARGS[@]}" --proxy-cert "$C/$cert.pem" --proxy-key "$C/$key"
done
mtls_refused "proxy --tls-client-ca: certificate from another CA -> handshake fails" proxy-mtls \
    "$NOT_TRUSTED" "${PM_ARGS[@]}" --proxy-cert "$C/${UNTRUSTED[0]}" --proxy-key "$C/${UNTRUSTED[1]}"

begin "peers without --tls-client-ca log no client-cert line (control)"
m=$(log_mark suite-gcm)
s_client "${SUITE_PORT[gcm]}" -CAfile $C/ca.pem
expect_logged suite-gcm "$m" "=== suite: "
expect_not_logged suite-gcm "$m" "=== client-cert"
finish

# ---- --tls-suites ----
# the OpenSSL names of a set's suites that a key type can serve (empty for 3DES)
names_of() {   # names_of SET rsa|ec
    local id n out=()
    for id in ${SET[$1]}; do
        n=${OSSL[$id]:-}
        [[ -n $n ]] || continue
        if [[ $2 == ec ]]; then [[ $n == *ECDSA* ]] || continue
        else [[ $n == *ECDSA* ]] && continue; fi
        out+=("$n")
    done
    echo "${out[*]}"
}
check_set() {   # check_set PEERNAME PORT SET rsa|ec CAFILE
    local peer=$1 port=$2 set=$3 kt=$4 ca=$5 name id excl=ALL m
    for name in $(names_of "$set" "$kt"); do
        begin "--tls-suites $set ($peer): $name alone is negotiated"
        m=$(log_mark "$peer")
        s_client "$port" -CAfile "$ca" -tls1_2 -cipher "$name:@SECLEVEL=0"
        id=''
        for k in "${!OSSL[@]}"; do [[ ${OSSL[$k]} == "$name" ]] && id=$k; done
        expect_logged "$peer" "$m" "=== suite: 0x$id"
        expect_logged "$peer" "$m" "=== version: TLSv1.2"
        grep -qF "Cipher is $name" "$OUT" || why "s_client did not report cipher $name"
        finish
    done
    for id in ${SET[$set]}; do [[ -n ${OSSL[$id]:-} ]] && excl+=":!${OSSL[$id]}"; done
    begin "--tls-suites $set ($peer): a client offering every other suite is refused"
    m=$(log_mark "$peer")
    s_client "$port" -CAfile "$ca" -tls1_2 -cipher "$excl:@SECLEVEL=0"
    expect_logged "$peer" "$m" "=== tls-failed: "
    expect_not_logged "$peer" "$m" "=== suite: "
    finish
}
for s in "${SETS[@]}"; do check_set "suite-$s" "${SUITE_PORT[$s]}" "$s" rsa $C/ca.pem; done
for s in "${PROXY_SETS[@]}"; do check_set "psuite-$s" "${PSUITE_PORT[$s]}" "$s" ec $C/proxy-ca.pem; done

begin "--tls-suites rsa: OpenSSL's default offer (ECDHE first) still ends in static RSA"
m=$(log_mark suite-rsa)
s_client "${SUITE_PORT[rsa]}" -CAfile $C/ca.pem -tls1_2
expect_logged suite-rsa "$m" "=== suite: 0x00"
grep -qE "Cipher is (AES|DES)" "$OUT" || why "s_client did not negotiate a static-RSA suite"
finish

for k in "NORMAL:+3DES-CBC C012 3DES-CBC" "NORMAL:-KX-ALL:+RSA:+3DES-CBC 000A 3DES-CBC"; do
    read -r prio id want <<<"$k"
    begin "--tls-suites 3des: gnutls-cli $prio -> 0x$id"
    m=$(log_mark suite-3des)
    set_cmdline gnutls-cli --priority "$prio" -p "${SUITE_PORT[3des]}" localhost
    run_timed 10 /dev/null gnutls-cli --priority "$prio" --x509cafile $C/ca.pem -p "${SUITE_PORT[3des]}" localhost
    expect_logged suite-3des "$m" "=== suite: 0x$id"
    grep -qF "($want)" "$OUT" || why "gnutls-cli did not report $want"
    finish
done

begin "--tls-suites 3des: gnutls-cli NORMAL (no 3DES) is refused"
m=$(log_mark suite-3des)
set_cmdline gnutls-cli --priority NORMAL -p "${SUITE_PORT[3des]}" localhost
run_timed 10 /dev/null gnutls-cli --priority NORMAL --x509cafile $C/ca.pem -p "${SUITE_PORT[3des]}" localhost
expect_fail_rc
expect_logged suite-3des "$m" "=== tls-failed: "
expect_not_logged suite-3des "$m" "=== suite: "
finish

# ---- the key exchange line: "=== kex: curve N, signature 0xXXXX" ----
# TLS ids written from the registries (RFC 8422, RFC 8446): x25519 29, secp256r1 23,
# secp384r1 24; rsa_pkcs1_sha256 0x0401, rsa_pkcs1_sha384 0x0501, ecdsa_secp256r1_sha256
# 0x0403, ecdsa_secp384r1_sha384 0x0503. s_client names what it got ("Server Temp Key",
# "Peer signing digest"), so the line is checked against an independent client.
# (the proxy's certificate is P-256: an ECDSA client must list that curve too)
for k in "suite-gcm ${SUITE_PORT[gcm]} ca.pem X25519 RSA+SHA256 29 0x0401 X25519 SHA256" \
         "suite-gcm ${SUITE_PORT[gcm]} ca.pem P-256 RSA+SHA384 23 0x0501 ECDH,.prime256v1 SHA384" \
         "suite-gcm ${SUITE_PORT[gcm]} ca.pem P-384 RSA+SHA256 24 0x0401 ECDH,.secp384r1 SHA256" \
         "psuite-chacha ${PSUITE_PORT[chacha]} proxy-ca.pem P-256 ECDSA+SHA256 23 0x0403 ECDH,.prime256v1 SHA256" \
         "psuite-chacha ${PSUITE_PORT[chacha]} proxy-ca.pem X25519:P-256 ECDSA+SHA384 29 0x0503 X25519 SHA384"; do
    read -r peer port ca group sigalg cid scheme tmpkey digest <<<"$k"
    begin "kex line ($peer): -groups $group -sigalgs $sigalg -> curve $cid, signature $scheme"
    m=$(log_mark "$peer")
    s_client "$port" -CAfile "$C/$ca" -tls1_2 -groups "$group" -sigalgs "$sigalg"
    expect_logged "$peer" "$m" "=== kex: curve $cid, signature $scheme"
    grep -qE "Server Temp Key: ${tmpkey}" "$OUT" || why "s_client did not report the temp key $tmpkey"
    grep -qF "Peer signing digest: $digest" "$OUT" || why "s_client did not report the digest $digest"
    finish
done
begin "kex line (suite-rsa): a static RSA key exchange logs 'none'"
m=$(log_mark suite-rsa)
s_client "${SUITE_PORT[rsa]}" -CAfile $C/ca.pem -tls1_2
expect_logged suite-rsa "$m" "=== kex: none"
finish

begin "--tls-suites: an EC key with 'rsa', or an unknown set, stops the peer at start"
set_cmdline ws_echo_server --tls-suites rsa with an EC key
run_timed 5 /dev/null "$ECHO" --port 0 --max-seconds 2 --tls-cert $C/target-ec.pem --tls-key $C/target-ec.key --tls-suites rsa
[[ $RC == 2 ]] || why "exit status $RC for 'rsa' with an EC key, expected 2"
grep -qF "needs an RSA server key" "$ERR" || why "no 'needs an RSA server key' message"
run_timed 5 /dev/null "$PROXY" --port 0 --max-seconds 2 --tls-cert $C/proxy.pem --tls-key $C/proxy.key --tls-suites rc4
[[ $RC == 2 ]] || why "exit status $RC for set 'rc4', expected 2"
finish

# ---- session resumption ----
# resume_pair LABEL PEER PORT CAFILE WANT CN [-- FIRST-ARGS... -- SECOND-ARGS...]: a full
# handshake saves its session, a second connection offers it; the second must be WANT
# (Reused or New) in s_client's words and "=== resumed: yes|no" in PEER's log, and, when
# CN is not empty, "=== client-cert: CN" for the second connection too
resume_pair() {
    local label=$1 peer=$2 port=$3 ca=$4 want=$5 cn=$6 m first=() second=() yn=no
    shift 6
    if [[ ${1:-} == -- ]]; then
        shift
        while [[ $# -gt 0 && $1 != -- ]]; do first+=("$1"); shift; done
        [[ ${1:-} == -- ]] && shift
        second=("$@")
    fi
    [[ $want == Reused ]] && yn=yes
    begin "$label"
    rm -f "$TMP/sess"
    m=$(log_mark "$peer")
    s_client "$port" -CAfile "$ca" -sess_out "$TMP/sess" "${first[@]}"
    grep -qF "New, TLSv1.2" "$OUT" || why "the first handshake is not a new TLSv1.2 session"
    [[ -s $TMP/sess ]] || why "s_client saved no session"
    expect_logged "$peer" "$m" "=== resumed: no"
    m=$(log_mark "$peer")
    s_client "$port" -CAfile "$ca" -sess_in "$TMP/sess" "${second[@]}"
    grep -qF "$want, TLSv1.2" "$OUT" || why "s_client did not report '$want, TLSv1.2' for the second connection"
    expect_logged "$peer" "$m" "=== resumed: $yn"
    if [[ $yn == yes ]]; then expect_logged "$peer" "$m" "=== kex: none"; else expect_logged "$peer" "$m" "=== kex: curve "; fi
    [[ -z $cn ]] || expect_logged "$peer" "$m" "=== client-cert: $cn"
    expect_not_logged "$peer" "$m" "=== tls-failed"
    finish
}
resume_pair "resumption (echo): the saved session is resumed" suite-gcm "${SUITE_PORT[gcm]}" $C/ca.pem Reused ''
resume_pair "resumption (proxy): the saved session is resumed" psuite-chacha "${PSUITE_PORT[chacha]}" \
    $C/proxy-ca.pem Reused ''
resume_pair "--tls-no-resume: an offered session is not resumed (full handshake)" echo-noresume "$ENR" \
    $C/ca.pem New ''
resume_pair "resumption (echo --tls-client-ca): resumed with no certificate sent, the session's CN logged" \
    echo-mtls "$EM" $C/ca.pem Reused "wsproxy test client ec" -- -cert $C/client-ec.pem -key $C/client-ec.key --
resume_pair "resumption (proxy --tls-client-ca): resumed, the session's CN logged" \
    proxy-mtls "$PM" $C/proxy-ca.pem Reused "wsproxy test client rsa" \
    -- -cert $C/client-rsa.pem -key $C/client-rsa.key -- -cert $C/client-rsa.pem -key $C/client-rsa.key

# ---- tls_terminator.py ----
begin "terminator --min-version 1.3: openssl s_client -tls1_2 is refused"
m=$(log_mark term13-echo); me=$(log_mark echo-plain)
s_client "$T13E" -CAfile $C/ca.pem -tls1_2
expect_fail_rc
expect_logged term13-echo "$m" "=== tls-failed: "
expect_not_logged term13-echo "$m" "=== version: "
expect_untouched echo-plain "$me"
finish

begin "terminator --min-version 1.3: -tls1_3 is accepted, version and suite logged"
m=$(log_mark term13-echo)
s_client "$T13E" -CAfile $C/ca.pem -tls1_3
expect_logged term13-echo "$m" "=== version: TLSv1.3"
expect_logged term13-echo "$m" "=== suite: 0x130"
expect_logged term13-echo "$m" "=== sni: localhost"
grep -qF "New, TLSv1.3" "$OUT" || why "s_client did not report TLSv1.3"
finish

# a WebSocket upgrade, a masked text frame "hi" (mask 0) and a masked close 1000
WS_BYTES=$TMP/ws-request
{
    printf 'GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    printf 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
    printf '\x81\x82\x00\x00\x00\x00hi\x88\x82\x00\x00\x00\x00\x03\xe8'
} >"$WS_BYTES"
begin "terminator in front of the plain echo server is a TLS 1.3 wss:// server (echo)"
m=$(log_mark term13-echo); me=$(log_mark echo-plain)
set_cmdline openssl s_client -quiet -ign_eof -tls1_3 "(upgrade + 'hi' + close)"
run_timed 10 "$WS_BYTES" openssl s_client -connect "127.0.0.1:$T13E" -servername localhost -CAfile $C/ca.pem \
    -tls1_3 -quiet -ign_eof
grep -qaF "HTTP/1.1 101 Switching Protocols" "$OUT" || why "no 101 through the terminator"
grep -qaF "$(printf '\x81\x02hi')" "$OUT" || why "no echoed text frame 'hi'"
grep -qaF "$(printf '\x88\x02\x03\xe8')" "$OUT" || why "no close frame 1000 back"
expect_logged echo-plain "$me" "GET /echo HTTP/1.1"
expect_logged term13-echo "$m" "=== version: TLSv1.3"
finish

begin "terminator in front of the plain proxy is a TLS 1.3 https:// proxy (CONNECT)"
m=$(log_mark term13-proxy); mp=$(log_mark proxy-plain); me=$(log_mark echo-plain)
curl_to "http://127.0.0.1:$E/" -p -x "https://localhost:$T13P" --proxy-cacert $C/proxy-ca.pem
expect_http_status
expect_logged term13-proxy "$m" "=== version: TLSv1.3"
expect_logged proxy-plain "$mp" "CONNECT 127.0.0.1:$E HTTP/1.1"
expect_logged echo-plain "$me" "GET / HTTP/1.1"
finish

begin "terminator https:// proxy refuses TLS 1.2"
m=$(log_mark term13-proxy); mp=$(log_mark proxy-plain)
s_client "$T13P" -CAfile $C/proxy-ca.pem -tls1_2
expect_fail_rc
expect_logged term13-proxy "$m" "=== tls-failed: "
expect_untouched proxy-plain "$mp"
finish

mtls_refused "terminator --client-ca: no client certificate -> refused" term-mtls "" \
    "https://localhost:$TC/" --cacert $C/ca.pem
mtls_accepted "terminator --client-ca: client-ec -> ok, CN logged, forwarded" term-mtls \
    "wsproxy test client ec" echo-plain "https://localhost:$TC/" --cacert $C/ca.pem \
    --cert $C/client-ec.pem --key $C/client-ec.key
mtls_refused "terminator --client-ca: certificate from another CA -> refused" term-mtls "" \
    "https://localhost:$TC/" --cacert $C/ca.pem --cert "$C/${UNTRUSTED[0]}" --key "$C/${UNTRUSTED[1]}"

begin "terminator --max-version 1.2 --ciphers: TLS 1.2 with that suite only"
m=$(log_mark term12)
s_client "$T12" -CAfile $C/ca.pem
expect_logged term12 "$m" "=== version: TLSv1.2"
expect_logged term12 "$m" "=== suite: 0xC02F"
expect_logged term12 "$m" "=== cipher: ECDHE-RSA-AES128-GCM-SHA256"
m=$(log_mark term12)
s_client "$T12" -CAfile $C/ca.pem -tls1_3
expect_logged term12 "$m" "=== tls-failed: "
finish

# ---- the certificates (no client runs: a failure shows no stale output) ----
RC=n/a OUT=/dev/null ERR=/dev/null CMDLINE=' (openssl x509/verify/pkey checks)'
sigalgs() { openssl x509 -in "$1" -noout -text | grep -m1 'Signature Algorithm' | sed 's/.*: //'; }
begin "certs: sha1-leaf and sha1-inter are signed with sha1WithRSAEncryption, their leaves not"
for f in sha1-leaf sha1-inter; do
    [[ $(sigalgs $C/$f.pem) == sha1WithRSAEncryption ]] || why "$f.pem is signed with $(sigalgs $C/$f.pem)"
done
for f in sha1-inter-leaf inter-leaf inter target; do
    [[ $(sigalgs $C/$f.pem) != *sha1* ]] || why "$f.pem is SHA-1-signed"
done
[[ $(grep -c 'BEGIN CERTIFICATE' $C/sha1-inter-leaf-chain.pem) == 2 ]] || why "sha1-inter-leaf-chain.pem is not leaf + intermediate"
openssl x509 -in $C/sha1-inter-leaf.pem -noout -issuer | grep -qF "SHA-1 intermediate" || why "sha1-inter-leaf is not issued by sha1-inter"
finish

begin "certs: OpenSSL refuses the SHA-1 chains at security level 1, accepts them at level 0"
for c in "sha1-leaf.pem" "-untrusted $C/sha1-inter.pem $C/sha1-inter-leaf.pem"; do
    [[ $c == *.pem && $c != -* ]] && c="$C/$c"
    # shellcheck disable=SC2086
    openssl verify -auth_level 1 -CAfile $C/ca.pem $c >/dev/null 2>&1 && why "verified at level 1: $c"
    # shellcheck disable=SC2086
    openssl verify -auth_level 0 -CAfile $C/ca.pem $c >/dev/null 2>&1 || why "not even valid at level 0: $c"
done
finish

eku() { openssl x509 -in "$1" -noout -ext extendedKeyUsage 2>/dev/null | tail -n +2 | sed 's/^ *//'; }
for k in "eku-client|TLS Web Client Authentication" "eku-server|TLS Web Server Authentication" \
         "eku-any|Any Extended Key Usage" "eku-none|" "client-rsa|TLS Web Client Authentication" \
         "client-ec|TLS Web Client Authentication" "target|TLS Web Server Authentication" \
         "proxy|TLS Web Server Authentication"; do
    f=${k%%|*} want=${k#*|}
    begin "certs: $f.pem extendedKeyUsage is '${want:-(none)}'"
    got=$(eku "$C/$f.pem")
    [[ $got == "$want" ]] || why "it is '${got:-(none)}'"
    finish
done

begin "certs: every good chain is valid now and on 2027-01-01"
for n in target target-ec wrongname dns-only ip-only eku-client eku-server eku-any eku-none; do
    openssl verify -attime $AT_2027 -CAfile $C/ca.pem $C/$n.pem >/dev/null 2>&1 || why "$n fails at 2027-01-01"
    openssl verify -CAfile $C/ca.pem $C/$n.pem >/dev/null 2>&1 || why "$n fails now"
done
openssl verify -attime $AT_2027 -CAfile $C/ca.pem -untrusted $C/inter.pem $C/inter-leaf.pem >/dev/null 2>&1 || why "inter-leaf fails at 2027-01-01"
openssl verify -auth_level 0 -attime $AT_2027 -CAfile $C/ca.pem $C/sha1-leaf.pem >/dev/null 2>&1 || why "sha1-leaf fails at 2027-01-01"
for n in proxy:proxy-ca untrusted:untrusted-ca client-rsa:client-ca client-ec:client-ca client-untrusted:untrusted-ca; do
    openssl verify -attime $AT_2027 -CAfile $C/${n#*:}.pem $C/${n%%:*}.pem >/dev/null 2>&1 || why "${n%%:*} fails at 2027-01-01"
done
openssl verify -CAfile $C/client-ca.pem $C/client-untrusted.pem >/dev/null 2>&1 && why "client-untrusted verifies against client-ca"
finish

begin "certs: each client key file has its PEM label and holds its certificate's key"
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
for k in "client-rsa.key|PRIVATE KEY|client-rsa" "client-rsa-pkcs1.key|RSA PRIVATE KEY|client-rsa" \
         "client-ec.key|PRIVATE KEY|client-ec" "client-ec-sec1.key|EC PRIVATE KEY|client-ec" \
         "client-rsa-encrypted.key|ENCRYPTED PRIVATE KEY|client-rsa"; do
    IFS='|' read -r f label cert <<<"$k"
    [[ $(head -n 1 "$C/$f") == "-----BEGIN $label-----" ]] || why "$f does not start with BEGIN $label"
    if [[ $label == ENCRYPTED* ]]; then
        openssl pkey -in "$C/$f" -passin pass:none -noout 2>/dev/null && why "$f opens with a wrong passphrase"
        pub=$(openssl pkey -in "$C/$f" -passin pass:wsproxy-test-passphrase -pubout 2>/dev/null)
    else
        pub=$(openssl pkey -in "$C/$f" -pubout 2>/dev/null)
    fi
    [[ -n $pub && $pub == "$(pub_of_cert "$C/$cert.pem")" ]] || why "$f is not the key of $cert.pem"
done
finish

echo "# self-test took $(( $(now_ms) - T0 )) ms"
summary_and_exit
