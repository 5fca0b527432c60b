#!/usr/bin/env bash
# The test HTTP proxy's authentication modes, checked without wsproxy.h: build/http_proxy
# --selftest (Digest against published vectors), then curl (Debian's 7.88) and a raw-socket
# Python client (tests/auth_peer_client.py) through proxies started here, to a plain HTTP
# target (python3 -m http.server on a free port) that serves "hello-target". Each check
# looks at what the client got and at the proxy's log lines (documented in the header of
# tests/peers/http_proxy.c). Ephemeral ports on 127.0.0.1, our PIDs killed on exit (the
# shared tests/itlib.sh harness); no password appears in the output, and a last check
# proves none reached any proxy log. Ends with "N passed, N failed".
#
#   bash tests/auth_peer_selftest.sh        (after make peers; BUILD=dir to choose)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
CERTS=${CERTS:-tests/certs}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=authpeer IT_MAX_SECONDS=60 IT_RC_TEXT=0
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"

PROXY=$BUILD/http_proxy
CLIENT=tests/auth_peer_client.py
AUSER=user
PASS='S3cret:pw'                  # has a ':' (only the first one splits USER:PASS)
B64=$(printf '%s' "$AUSER:$PASS" | base64)
UUSER='Jäsøn Doe'                 # for username* (charset=UTF-8)

require_binaries "$PROXY"
for tool in curl python3; do
    command -v "$tool" >/dev/null || fail_check "tools" "$tool is not installed"
done
(( FAILED == 0 )) || summary_and_exit

# ---- the Digest code against published values ----------------------------------------
begin "selftest: Digest vectors (RFC 7616 3.9.1 MD5/SHA-256, 3.9.2 userhash, RFC 2617, 2069)"
run_timed 10 /dev/null "$PROXY" --selftest
expect_rc 0
last=$(tail -n 1 "$OUT")
if ! [[ $last =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] || (( BASH_REMATCH[1] < 20 )); then
    why "selftest ended with '$last'"
fi
expect_stdout_has "ok - RFC 7616 3.9.1 MD5 response"
expect_stdout_has "ok - RFC 7616 3.9.1 SHA-256 response"
expect_stdout_has "ok - RFC 7616 3.9.2 userhash as published"
finish

# ---- the target ---------------------------------------------------------------------------
mkdir -p "$TMP/www"
echo hello-target >"$TMP/www/index.html"
TP=$(free_port)
python3 -m http.server "$TP" --bind 127.0.0.1 --directory "$TMP/www" >"$TMP/target.out" 2>&1 &
PIDS+=("$!")
for (( i = 0; i < 100; i++ )); do
    curl -s -o /dev/null "http://127.0.0.1:$TP/" 2>/dev/null && break
    sleep 0.05
done
curl -s -o /dev/null "http://127.0.0.1:$TP/" 2>/dev/null \
    || { fail_check "target" "python3 -m http.server did not come up on $TP" "$TMP/target.out"; summary_and_exit; }

# ---- helpers ------------------------------------------------------------------------------
# proxy VAR NAME ARGS...: an http_proxy with --auth user:PASS and ARGS
proxy() { local v=$1 n=$2; shift 2; start_peer "$v" "$n" "$PROXY" --auth "$AUSER:$PASS" "$@"; }
# curlp PORT ARGS...: curl through the proxy to the target
curlp() {
    local p=$1
    shift
    run_timed 15 /dev/null curl -sS -p -x "http://127.0.0.1:$p" "$@" "http://127.0.0.1:$TP/"
}
# py SCENARIO PORT [USER]: the Python client
py() { run_timed 15 /dev/null python3 "$CLIENT" "$1" "$2" "$TP" "${3:-$AUSER}" "$PASS"; }
expect_page() { expect_rc 0; expect_stdout "hello-target"$'\n'; }
# curl_digest PEER PORT: m=mark of PEER's log; curl --proxy-digest through PORT gets the
# page and the proxy logged a Digest success
curl_digest() {
    m=$(log_mark "$1")
    curlp "$2" --proxy-digest -U "$AUSER:$PASS"
    expect_page
    has_match "$1" "$m" '^=== auth-ok: Digest conn: [0-9]+$'
}
expect_py_ok() { expect_rc 0; expect_stderr_lacks "FAIL"; }
# in NAME's log since MARK: has_line LINE (exact), has_match ERE, lacks TEXT
has_line() { expect_line "$1 log" "$(log_since "$1" "$2")" "$3"; }
has_match() { expect_text_match "$1 log" "$(log_since "$1" "$2")" "$3"; }
lacks() { expect_text_lacks "$1 log" "$(log_since "$1" "$2")" "$3"; }
# wait_line NAME MARK LINE: like has_line, for lines written when a connection ends
wait_line() {
    local k
    for (( k = 0; k < 60; k++ )); do
        grep -qxF -- "$3" <<<"$(log_since "$1" "$2")" && break
        sleep 0.05
    done
    has_line "$@"
}
# conn_of NAME MARK ERE: the "conn: N" of the first log line matching ERE
conn_of() { log_since "$1" "$2" | grep -E -- "$3" | head -n 1 | sed -n 's/.* conn: \([0-9]*\).*/\1/p'; }

# NTLM type-2 message for curl (a valid challenge, no cryptography behind it)
T2=$(python3 -c '
import base64, struct
name = "TEST".encode("utf-16-le")
info = struct.pack("<HH", 2, len(name)) + name + struct.pack("<HH", 0, 0)
flags = 0x1 | 0x4 | 0x200 | 0x8000 | 0x10000 | 0x80000 | 0x800000
msg = (b"NTLMSSP\0" + struct.pack("<I", 2) + struct.pack("<HHI", len(name), len(name), 48)
       + struct.pack("<I", flags) + bytes(range(1, 9)) + bytes(8)
       + struct.pack("<HHI", len(info), len(info), 48 + len(name)) + name + info)
print(base64.b64encode(msg).decode())')

# ---- proxies ------------------------------------------------------------------------------
ok=1
proxy PB pbasic || ok=0
proxy PD pdigest --auth-schemes digest || ok=0
proxy PD256 psha256 --auth-schemes digest --digest-algorithm SHA-256 || ok=0
proxy PDSESS psess --auth-schemes digest --digest-algorithm SHA-256-sess || ok=0
proxy PANY pany --auth-schemes basic,digest || ok=0
proxy PSTC pstalec --auth-schemes digest --digest-stale 1 || ok=0
proxy PSTP pstalep --auth-schemes digest --digest-stale 1 || ok=0
proxy PCL pclose --auth-schemes digest,basic --close-after-407 || ok=0
proxy PRE prealm --auth-schemes digest --realm 'wsproxy "test" \x' --digest-opaque 'op/aq+ue=' || ok=0
proxy PUH puserhash --auth-schemes digest --digest-algorithm SHA-256 --digest-userhash || ok=0
proxy PLEG plegacy --auth-schemes digest --digest-algorithm MD5-implicit --digest-qop none || ok=0
proxy PAI pauthint --auth-schemes digest --digest-qop auth,auth-int || ok=0
proxy P512 psha512 --auth-schemes digest --digest-algorithm SHA-512-256 || ok=0
proxy PFA pfaults --auth-schemes digest --digest-opaque 'op/aq+ue=' || ok=0
start_peer PCS pcharset "$PROXY" --auth "$UUSER:$PASS" --auth-schemes digest --digest-charset || ok=0
proxy PNC pntlmcurl --auth-schemes ntlm --token-scheme NTLM --token-round "*:$T2" --token-round '*:' || ok=0
proxy PNT pntlm --auth-schemes ntlm --token-scheme NTLM \
    --token-round Y2xpZW50LTE=:c2VydmVyLTE= --token-round Y2xpZW50LTI=: || ok=0
proxy PNG pnego --auth-schemes negotiate --token-scheme Negotiate \
    --token-round YV9uZWctMQ==:Yl9uZWctMQ== --token-round YV9uZWctMg==:bXV0dWFs || ok=0
SCHEMES=negotiate,ntlm,digest,basic
ORDER=(--auth-schemes "$SCHEMES" --realm 'wsproxy "test"'
       --digest-algorithm SHA-256 --digest-algorithm MD5
       --token-scheme NTLM --token-round x:y --token-scheme Negotiate --token-round x:)
proxy POR porder "${ORDER[@]}" || ok=0
proxy PON pone "${ORDER[@]}" --auth-one-header || ok=0
proxy PCH pchunked --407-body chunked --407-body-bytes 60 || ok=0
proxy PNO pnone --407-body none || ok=0
proxy PEO peof --407-body eof || ok=0
proxy PH10 phttp10 --http10-407 || ok=0
proxy PSI psilent --close-after-407-silent || ok=0
proxy P401 p401 --status401 || ok=0
TLSP=(--tls-cert "$CERTS/proxy-chain.pem" --tls-key "$CERTS/proxy.key" --auth-schemes digest)
proxy PTLS ptls "${TLSP[@]}" || ok=0
proxy PTLSC ptlsclose "${TLSP[@]}" --close-after-407 || ok=0
(( ok )) || summary_and_exit

# ---- curl ---------------------------------------------------------------------------------
begin "curl --proxy-digest, MD5: 407, then Digest on the same connection"
curl_digest pdigest "$PD"
has_line pdigest "$m" "=== auth-challenge: 407 conn: 1 next: keep-alive"
has_line pdigest "$m" "=== auth-ok: Digest conn: 1"
has_line pdigest "$m" "=== digest-param: algorithm=MD5"
has_line pdigest "$m" "=== digest-param: uri=127.0.0.1:$TP"
has_line pdigest "$m" "=== digest-param: qop=auth"
has_line pdigest "$m" "=== digest-param: nc=00000001"
has_line pdigest "$m" "=== digest-param: response=ok"
has_match pdigest "$m" '^Proxy-Authorization: Digest username="user", .*response="\*\*\*"'
finish

begin "curl --proxy-digest, SHA-256"
curl_digest psha256 "$PD256"
has_line psha256 "$m" "=== digest-param: algorithm=SHA-256"
finish

begin "curl --proxy-digest, SHA-256-sess"
curl_digest psess "$PDSESS"
has_line psess "$m" "=== digest-param: algorithm=SHA-256-sess"
finish

begin "curl --proxy-digest, wrong password: 407 again, auth-fail"
m=$(log_mark pdigest)
curlp "$PD" --proxy-digest -U "$AUSER:wrong"
expect_rc 56
expect_stderr_has "407"
has_line pdigest "$m" "=== auth-fail: response is wrong (wrong password?)"
has_line pdigest "$m" "=== digest-param: response=bad"
finish

begin "curl --proxy-anyauth picks Digest over Basic"
m=$(log_mark pany)
curlp "$PANY" --proxy-anyauth -U "$AUSER:$PASS"
expect_page
has_line pany "$m" "=== auth-ok: Digest conn: 1"
lacks pany "$m" "=== basic-credentials"
finish

begin "curl Basic (sent with the first request)"
m=$(log_mark pbasic)
curlp "$PB" -U "$AUSER:$PASS"
expect_page
has_line pbasic "$m" "=== auth-ok: Basic conn: 1"
has_line pbasic "$m" "=== basic-credentials: user=user password-sha256=$(printf '%s' "$PASS" | sha256sum | cut -c1-16)"
has_line pbasic "$m" "Proxy-Authorization: Basic ***"
lacks pbasic "$m" "=== auth-challenge"
finish

begin "curl, stale nonce: stale=true, curl retries with the new nonce"
curl_digest pstalec "$PSTC"
has_line pstalec "$m" "=== auth-stale: 1 of 1"
(( $(log_count pstalec "$m" '^=== auth-challenge: 407') == 2 )) || why "expected two 407s"
finish

begin "curl, --close-after-407: curl reconnects"
curl_digest pclose "$PCL"
c1=$(conn_of pclose "$m" '^=== auth-challenge: 407 conn: [0-9]+ next: close$')
c2=$(conn_of pclose "$m" '^=== auth-ok: Digest conn:')
[[ -n $c1 && -n $c2 && $c1 != "$c2" ]] || why "407 on conn '$c1', success on conn '$c2'"
finish

begin "curl, realm with quoted-pair escapes, and opaque"
curl_digest prealm "$PRE"
has_line prealm "$m" '=== digest-param: realm=wsproxy "test" \x'
has_line prealm "$m" '=== digest-param: opaque=op/aq+ue='
finish

begin "curl, userhash=true (SHA-256)"
curl_digest puserhash "$PUH"
has_line puserhash "$m" "=== digest-param: userhash=true"
finish

begin "curl, legacy RFC 2069 Digest (no qop, no algorithm)"
curl_digest plegacy "$PLEG"
lacks plegacy "$m" "=== digest-param: nc="
finish

begin "curl, qop=\"auth, auth-int\" offered: curl answers auth"
curl_digest pauthint "$PAI"
has_line pauthint "$m" "=== digest-param: qop=auth"
finish

begin "curl, SHA-512-256: curl 7.88 hashes with SHA-256 and is told so"
m=$(log_mark psha512)
curlp "$P512" --proxy-digest -U "$AUSER:$PASS"
expect_rc 56
has_line psha512 "$m" "=== auth-fail: response was computed with SHA-256, not SHA-512/256"
finish

begin "curl --proxy-ntlm: type 1, the scripted challenge, type 3, one connection"
m=$(log_mark pntlmcurl)
curlp "$PNC" --proxy-ntlm -U "$AUSER:$PASS"
expect_page
has_line pntlmcurl "$m" "=== auth-round: 1 conn: 1"
has_line pntlmcurl "$m" "=== auth-round: 2 conn: 1"
has_line pntlmcurl "$m" "=== auth-ok: NTLM conn: 1"
has_line pntlmcurl "$m" "Proxy-Authorization: NTLM ***"
finish

# curl_tls PORT: curl --proxy-digest through the HTTPS proxy on PORT
curl_tls() {
    run_timed 15 /dev/null curl -sS -p --proxy-cacert "$CERTS/proxy-ca.pem" -x "https://localhost:$1" \
        --proxy-digest -U "$AUSER:$PASS" "http://127.0.0.1:$TP/"
    expect_page
}

begin "curl through the HTTPS proxy: Digest inside TLS, 407 kept alive"
m=$(log_mark ptls)
curl_tls "$PTLS"
has_line ptls "$m" "=== sni: localhost"
has_line ptls "$m" "=== auth-challenge: 407 conn: 1 next: keep-alive"
has_line ptls "$m" "=== auth-ok: Digest conn: 1"
finish

begin "curl through the HTTPS proxy: Digest inside TLS, close after the 407"
m=$(log_mark ptlsclose)
curl_tls "$PTLSC"
has_line ptlsclose "$m" "=== auth-challenge: 407 conn: 1 next: close"
has_line ptlsclose "$m" "=== auth-ok: Digest conn: 2"
finish

# ---- the Python client --------------------------------------------------------------------
begin "NTLM script: bare NTLM, challenge token, 200, all on conn 1"
m=$(log_mark pntlm)
py ntlm "$PNT"
expect_py_ok
c=$(conn_of pntlm "$m" '^=== auth-round: 1 ')
has_line pntlm "$m" "=== auth-round: 1 conn: $c"
has_line pntlm "$m" "=== auth-round: 2 conn: $c"
has_line pntlm "$m" "=== auth-ok: NTLM conn: $c"
finish

begin "NTLM script: round 2 on a new connection fails"
m=$(log_mark pntlm)
py ntlm-newconn "$PNT"
expect_py_ok
has_line pntlm "$m" "=== auth-fail: NTLM round on a new connection"
lacks pntlm "$m" "=== auth-ok"
finish

begin "Negotiate script: two rounds, mutual token on the 200"
m=$(log_mark pnego)
py negotiate "$PNG"
expect_py_ok
has_line pnego "$m" "=== auth-ok: Negotiate conn: 1"
has_line pnego "$m" "Proxy-Authorization: Negotiate ***"
finish

begin "Negotiate script: a wrong token fails"
m=$(log_mark pnego)
py token-wrong "$PNG"
expect_py_ok
has_line pnego "$m" "=== auth-fail: Negotiate token does not match round 1"
finish

begin "challenge order, one header per challenge, escaped realm, SHA-256 answered"
m=$(log_mark porder)
py order "$POR"
expect_py_ok
has_line porder "$m" "=== auth-ok: Digest conn: 1"
finish

begin "--auth-one-header: all challenges in one header"
py one-header "$PON"
expect_py_ok
finish

begin "407 body chunked (extension, trailer, fake reply head), then Basic on the same connection"
m=$(log_mark pchunked)
py body-chunked "$PCH"
expect_py_ok
has_line pchunked "$m" "=== auth-ok: Basic conn: 1"
finish

begin "407 body by Content-Length (default), kept alive"
py body-length "$PB"
expect_py_ok
finish

begin "407 body none (Content-Length: 0)"
py body-none "$PNO"
expect_py_ok
finish

begin "407 body until EOF: Connection: close, closed"
py body-eof "$PEO"
expect_py_ok
finish

begin "--http10-407: HTTP/1.0 407 without Connection, closed"
m=$(log_mark phttp10)
py http10-407 "$PH10"
expect_py_ok
has_line phttp10 "$m" "=== auth-challenge: 407 conn: 1 next: close"
finish

begin "--close-after-407: Connection: close, closed"
py close-after "$PCL"
expect_py_ok
finish

begin "--close-after-407-silent: closed without saying so; the next request is discarded"
m=$(log_mark psilent)
py silent "$PSI"
expect_py_ok
n=$(log_since psilent "$m" | grep -c '^=== request')
(( n == 1 )) || why "the proxy read $n requests"
has_match psilent "$m" '^=== auth-challenge: 407 conn: 1 next: close$'
wait_line psilent "$m" "=== auth-discarded: $(python3 -c "import sys; sys.stdout.write(str(len(
    'CONNECT 127.0.0.1:$TP HTTP/1.1\r\nHost: 127.0.0.1:$TP\r\nProxy-Authorization: Basic $B64\r\n\r\n')))") bytes conn: 1"
finish

begin "HTTP/1.0 requests: closed unless keep-alive"
py http10-request "$PB"
expect_py_ok
finish

begin "two pipelined requests: 407, then 200"
py pipeline "$PB"
expect_py_ok
finish

begin "Basic: wrong password, wrong user, bad base64, two headers"
m=$(log_mark pbasic)
py basic-wrong "$PB"
expect_py_ok
has_line pbasic "$m" "=== auth-fail: Basic: wrong password"
has_line pbasic "$m" "=== auth-fail: Basic: wrong user name"
has_line pbasic "$m" "=== auth-fail: Basic credentials are not base64"
has_line pbasic "$m" "=== auth-fail: more than one Proxy-Authorization header"
has_line pbasic "$m" "=== basic-credentials-invalid: not base64 (3 bytes)"
finish

begin "--status401: 401 with WWW-Authenticate, Authorization accepted"
m=$(log_mark p401)
py status401 "$P401"
expect_py_ok
has_line p401 "$m" "=== auth-challenge: 401 conn: 1 next: keep-alive"
has_line p401 "$m" "Authorization: Basic ***"
has_line p401 "$m" "=== auth-ok: Basic conn: 1"
finish

begin "Digest nc: a replayed nc fails, nc must be 8 lowercase hex digits, a higher nc passes"
m=$(log_mark pdigest)
py digest-nc "$PD"
expect_py_ok
has_line pdigest "$m" "=== auth-fail: nc=00000001 is not above the last nc 00000001 of this nonce"
has_line pdigest "$m" "=== auth-fail: nc=1 is not 8 lowercase hex digits"
has_line pdigest "$m" "=== auth-fail: nc=0000000A is not 8 lowercase hex digits"
(( $(log_count pdigest "$m" '^=== auth-ok: Digest') == 2 )) || why "expected two successes"
finish

begin "Digest checks: uri, cnonce, opaque, qop form, nonce, realm, algorithm, username, response"
m=$(log_mark pfaults)
py digest-faults "$PFA"
expect_py_ok
for w in "uri \"/\" is not the request-target \"127.0.0.1:$TP\"" "cnonce missing" \
         "opaque does not match" "qop must not be quoted" "nonce was not issued by this proxy" \
         "realm does not match" "algorithm=SHA-256 was not offered" "username does not match" \
         "opaque missing" "Digest: duplicate parameter response" "response is wrong (wrong password?)"; do
    has_line pfaults "$m" "=== auth-fail: $w"
done
(( $(log_count pfaults "$m" '^=== auth-fail: ') == 11 )) || why "expected 11 auth-fail lines"
has_line pfaults "$m" "=== auth-ok: Digest conn: 1"
finish

begin "Digest stale: forced stale, the retired nonce is stale, the new one passes"
m=$(log_mark pstalep)
py digest-stale "$PSTP"
expect_py_ok
has_line pstalep "$m" "=== auth-stale: 1 of 1"
has_line pstalep "$m" "=== auth-fail: nonce is stale"
has_line pstalep "$m" "=== auth-ok: Digest conn: 1"
finish

begin "Digest charset=UTF-8: username* for a non-ASCII user"
m=$(log_mark pcharset)
py digest-charset "$PCS" "$UUSER"
expect_py_ok
has_line pcharset "$m" "=== auth-fail: username* does not match"
has_line pcharset "$m" "=== digest-param: username*=UTF-8''J%C3%A4s%C3%B8n%20Doe"
has_line pcharset "$m" "=== auth-ok: Digest conn: 1"
finish

begin "Digest userhash from the Python client"
m=$(log_mark puserhash)
py digest-userhash "$PUH"
expect_py_ok
has_match puserhash "$m" '^=== auth-ok: Digest conn: [0-9]+$'
finish

begin "Digest SHA-512-256: truncated SHA-512 is named, FIPS SHA-512/256 passes"
m=$(log_mark psha512)
py digest-sha512 "$P512"
expect_py_ok
has_line psha512 "$m" "=== auth-fail: response was computed with SHA-512 truncated to 256 bits, not SHA-512/256"
has_match psha512 "$m" '^=== auth-ok: Digest conn: [0-9]+$'
finish

begin "Digest legacy (no qop): a qop answer fails, the RFC 2069 answer passes"
m=$(log_mark plegacy)
py digest-legacy "$PLEG"
expect_py_ok
has_line plegacy "$m" "=== auth-fail: qop=auth but the challenge had no qop"
has_match plegacy "$m" '^=== auth-ok: Digest conn: [0-9]+$'
finish

# ---- options the proxy refuses ------------------------------------------------------------
begin "bad option combinations are refused (exit 2)"
for args in "--auth-schemes digest" "--auth-schemes ntlm" "--auth-schemes bogus --auth u:p" \
            "--auth u:p --digest-stale 1" "--auth u:p --auth-schemes digest --digest-qop none --digest-algorithm MD5-sess" \
            "--auth u:p --http10-407 --407-body chunked" "--auth u:p --close-after-407 --http10-407" \
            "--auth-schemes negotiate --token-scheme Negotiate --token-round a: --token-round b:c"; do
    # shellcheck disable=SC2086  # split on purpose
    timeout 5 "$PROXY" --port 0 --max-seconds 1 $args >/dev/null 2>&1
    rc=$?
    (( rc == 2 )) || why "'$args' exited $rc"
done
finish

# ---- secrets ------------------------------------------------------------------------------
begin "no password or Basic credentials in any proxy log or output"
for f in "$TMP"/*.log "$TMP"/*.out "$OUT" "$ERR"; do
    [[ -f $f ]] || continue
    for s in "$PASS" "$B64" "S3cret"; do
        if grep -qF -- "$s" "$f"; then why "${f##*/} holds a secret"; fi
    done
done
finish

summary_and_exit
