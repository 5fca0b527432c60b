#!/usr/bin/env bash
# Self-check of the authenticating proxies of tests/interop/auth_lib.sh, with curl as
# the client (the reference; tests/interop/run.sh runs wspcat through the same proxies) and
# tests/interop/gss_probe.c as a GSSAPI client. All on 127.0.0.1, under a mktemp folder.
#
#   bash tests/interop/auth_selftest.sh     (make interop-auth builds the two C programs
#                                            and runs it; BUILD=dir, default build)
#
# For each proxy: curl --proxytunnel through it to a plain HTTP target (python3
# http.server) gets the target's file with the scheme asked for, on the number of
# connections the scheme implies; a wrong password (or user) ends in a 407; squid's
# access log names the authenticated user. Then the GSSAPI probe against the NTLM and
# Negotiate squids, and the close-after-407 behaviour checked on the raw socket.
# Installs nothing (bash tests/interop/install.sh does). No password is ever printed:
# curl gets it from a config file, its trace is cut after the scheme name.
# Last line: "N passed, N failed".

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
IT_NAME=auth-selftest
# shellcheck source=tests/itlib.sh
. tests/itlib.sh
# shellcheck source=tests/interop/auth_lib.sh
. tests/interop/auth_lib.sh
BUILD=${BUILD:-build}
PROBE=$BUILD/gss_probe
AUTH_NTLM_HELPER=$BUILD/ntlm_gss_helper
[[ $BUILD == /* ]] || AUTH_NTLM_HELPER=$ROOT/$AUTH_NTLM_HELPER
export LC_ALL=C
trap 'auth_stop; cleanup' EXIT
START_MS=$(now_ms)

missing=()
for c in squid curl kdb5_util kadmin.local krb5kdc kinit kdestroy python3 md5sum setsid; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
for f in "$AUTH_SQUID/digest_file_auth" "$AUTH_SQUID/ntlm_fake_auth" "$AUTH_SQUID/negotiate_kerberos_auth" \
         /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so; do
    [ -e "$f" ] || missing+=("$f")
done
if (( ${#missing[@]} > 0 )); then
    echo "auth_selftest: missing: ${missing[*]} (as root: bash tests/interop/install.sh)"
    echo "0 passed, 1 failed"
    exit 2
fi
require_binaries "$PROBE" "$AUTH_NTLM_HELPER"

# ------------------------------------------------------------------- setup --
auth_init "$TMP" || exit 1
WWW=$TMP/www
mkdir -p "$WWW"
MARK="auth-selftest $(auth_random 12)"
printf '%s\n' "$MARK" >"$WWW/hello.txt"
chmod -R a+rX "$WWW"

P_DIGEST=$(free_port); P_TLS=$(free_port); P_NTLM=$(free_port); P_NTLM_GSS=$(free_port)
P_CLOSE=$(free_port); P_KDC=$(free_port); P_NEGO=$(free_port); P_TARGET=$(free_port)
TARGET=127.0.0.1:$P_TARGET

KDC_OK=0
if auth_start_kdc "$P_KDC" 2>"$TMP/kdc.err"; then KDC_OK=1; fi
auth_spawn target python3 -m http.server --bind 127.0.0.1 --directory "$WWW" "$P_TARGET"
auth_start_digest "$P_DIGEST" "$P_TLS"
auth_start_ntlm "$P_NTLM"
[ -x "$AUTH_NTLM_HELPER" ] && auth_start_ntlm_gss "$P_NTLM_GSS"
auth_start_close "$P_CLOSE"
(( KDC_OK )) && auth_start_negotiate "$P_NEGO"

# setup NAME LABEL PORT...: one check per daemon: its ports accept connections
setup() {
    local name=$1 label=$2 port ms; shift 2
    begin "setup: $label"
    RC=n/a OUT=/dev/null ERR=$TMP/setup.err
    : >"$ERR"
    for port in "$@"; do auth_wait "$name" "$port" 2>>"$ERR" || why "not listening on $port"; done
    ms=AUTH_SETUP_MS_$name
    NAME+=" (${!ms:-?} ms)"
    finish
}
if (( KDC_OK )); then
    setup kdc "MIT KDC, realm $AUTH_REALM, principals $AUTH_USER and HTTP/$AUTH_PROXY_HOST, keytab" "$P_KDC"
else
    fail_check "setup: MIT KDC" "the realm could not be made" "$TMP/kdc.err"
fi
setup target "HTTP target (python3 http.server)" "$P_TARGET"
setup digest "squid Digest (http_port and https_port)" "$P_DIGEST" "$P_TLS"
setup ntlm "squid NTLM (ntlm_fake_auth)" "$P_NTLM"
setup ntlm_gss "squid NTLM (ntlm_gss_helper: gss-ntlmssp checks the password)" "$P_NTLM_GSS"
setup close "squid Digest, client_persistent_connections off" "$P_CLOSE"
setup negotiate "squid Negotiate (negotiate_kerberos_auth)" "$P_NEGO"

# curl's credentials, in files only
( umask 077
  printf 'proxy-user = "%s:%s"\n' "$AUTH_USER" "$AUTH_PASS" >"$TMP/good.curlrc"
  printf 'proxy-user = "%s:%s"\n' "$AUTH_USER" "$AUTH_PASS_BAD" >"$TMP/bad.curlrc"
  printf 'proxy-user = "%s\\\\%s:%s"\n' "$AUTH_NTLM_DOMAIN" "$AUTH_USER" "$AUTH_PASS" >"$TMP/ntlm-good.curlrc"
  printf 'proxy-user = "%s\\\\%s:%s"\n' "$AUTH_NTLM_DOMAIN" "$AUTH_USER" "$AUTH_PASS_BAD" >"$TMP/ntlm-bad.curlrc"
  printf 'proxy-user = "%s\\\\other:%s"\n' "$AUTH_NTLM_DOMAIN" "$AUTH_PASS" >"$TMP/ntlm-other.curlrc"
  printf '%s\n' "$AUTH_PASS_BAD" >"$TMP/bad.password"
  : >"$TMP/none.curlrc" )

# ------------------------------------------------------------------- runs --
# redact FILE: every credential in curl's trace cut after its scheme name, and the
# passwords themselves, wherever they would appear
redact() {
    sed -E -i -e 's/^([<>] (Proxy-)?(Authorization|Authenticate): *[A-Za-z-]+) .*/\1 <cut>/I' \
        -e "s/$AUTH_PASS/<password>/g; s/$AUTH_PASS_BAD/<wrong password>/g" "$1"
}

# curl_run CONFIG ARGS...: curl -v through a proxy to the target's file; RC, OUT (the
# file), ERR (the redacted trace), CONNECT_CODE and CONNECTS (connections opened)
curl_run() {
    local conf=$1; shift
    OUT=$TMP/stdout ERR=$TMP/stderr
    set_cmdline curl -K "$conf" "$@"
    run_timed 15 /dev/null curl -sS -v -K "$conf" --proxytunnel --max-time 10 \
        -w '\n%{http_connect} %{num_connects}\n' "$@" "http://$TARGET/hello.txt"
    redact "$ERR"
    read -r CONNECT_CODE CONNECTS < <(tail -n 1 "$OUT")
    sed -i '$d' "$OUT"
    [ -n "$(tail -c 1 "$OUT")" ] || sed -i '$d' "$OUT"   # the newline -w added
}

# expect_tunnel SCHEME CONNECTIONS: curl got the file through the proxy with SCHEME
# sent, and opened that many connections
expect_tunnel() {
    expect_rc 0
    [ "$(cat "$OUT")" = "$MARK" ] || why "the target's file did not come back"
    [ "$CONNECT_CODE" = 200 ] || why "CONNECT answered $CONNECT_CODE"
    grep -qi "^> Proxy-Authorization: $1 " "$ERR" || why "curl sent no Proxy-Authorization: $1"
    if grep -v "^> Proxy-Authorization: $1 " "$ERR" | grep -qi '^> Proxy-Authorization:'; then
        why "curl sent another scheme as well"
    fi
    [ "$CONNECTS" = "$2" ] || why "$CONNECTS connections, expected $2"
}
expect_407() {
    [ "$RC" != 0 ] || why "curl succeeded"
    [ "$CONNECT_CODE" = 407 ] || why "CONNECT answered ${CONNECT_CODE:-nothing}, expected 407"
    grep -q "$MARK" "$OUT" && why "the target's file came back"
}
expect_seen() {   # expect_seen SQUID USER_ERE
    auth_seen "$1" "$2" "$TARGET" || why "squid $1's access log has no 200 CONNECT for /$2/"
}
count_auth() { grep -ci "^> Proxy-Authorization: $1 " "$ERR"; }

# digest_checks LABEL SQUID CONNECTIONS CURL_ARGS...: with the right password curl
# tunnels with Digest on that many connections and SQUID's log names the user; with a
# wrong one, a 407
digest_checks() {
    local label=$1 squid=$2 conns=$3; shift 3
    begin "$label: curl ${*: -3:1} tunnels (Digest, $conns connection(s), log names $AUTH_USER)"
    curl_run "$TMP/good.curlrc" "$@"
    expect_tunnel Digest "$conns"
    expect_seen "$squid" "^$AUTH_USER\$"
    finish
    begin "$label: curl ${*: -3:1} with a wrong password -> 407"
    curl_run "$TMP/bad.curlrc" "$@"
    expect_407
    finish
}

# ntlm_checks SQUID USER_ERE REFUSED_CURLRC WHY: curl --proxy-ntlm through PX: type 1,
# challenge, type 3 on one connection, and SQUID's log names the user; then the
# credentials of REFUSED_CURLRC end in a 407 (WHY says what is wrong with them)
ntlm_checks() {
    begin "$1: curl --proxy-ntlm: type 1, challenge, type 3 on one connection"
    curl_run "$TMP/ntlm-good.curlrc" --proxy-ntlm -x "$PX"
    expect_tunnel NTLM 1
    [ "$(count_auth NTLM)" = 2 ] || why "$(count_auth NTLM) NTLM requests, expected 2 (type 1, type 3)"
    grep -qi '^< Proxy-Authenticate: NTLM <cut>' "$ERR" || why "no NTLM challenge (type 2) in a 407"
    expect_seen "$1" "$2"
    finish
    begin "$1: $4 -> 407"
    curl_run "$3" --proxy-ntlm -x "$PX"
    expect_407
    finish
}

# probe_run ARGS...: gss_probe ARGS PROXY_HOST PROXY_PORT TARGET (the last three given)
probe_run() {
    OUT=$TMP/stdout ERR=$TMP/stderr
    set_cmdline "$PROBE" "$@"
    run_timed 20 /dev/null "$PROBE" "$@"
}

# raw_connect PORT: a CONNECT without credentials on a plain socket; prints the status
# line, "close" or "keep" (the Connection header), and "eof" or "open": whether squid
# closed the connection within 2 s of its whole 407
raw_connect() {
    python3 - "$1" "$TARGET" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (sys.argv[2], sys.argv[2])).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
head, _, body = buf.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
hdr = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip().lower() for l in lines[1:] if ":" in l}
need = int(hdr.get("content-length", "0"))
while len(body) < need:
    d = s.recv(4096)
    if not d:
        break
    body += d
s.settimeout(2)
state = "open"
try:
    if s.recv(1) == b"":
        state = "eof"
except socket.timeout:
    pass
print(lines[0], "|", hdr.get("connection", "-"), "|", state)
EOF
}

# ------------------------------------------------------------- 1. Digest --
PX=http://127.0.0.1:$P_DIGEST
digest_checks digest digest 1 --proxy-digest -x "$PX"
begin "digest: no credentials -> 407 with Proxy-Authenticate: Digest realm=\"$AUTH_DIGEST_REALM\""
OUT=$TMP/stdout ERR=$TMP/stderr
run_timed 15 /dev/null curl -sS -i --max-time 10 -p -x "$PX" "http://$TARGET/hello.txt"
grep -q '^HTTP/1.1 407' "$OUT" || why "no 407"
grep -qi "^Proxy-Authenticate: Digest realm=\"$AUTH_DIGEST_REALM\"" "$OUT" || why "no Digest challenge"
finish

# ----------------------------------------------------- 2. NTLM, fake helper --
PX=http://127.0.0.1:$P_NTLM
ntlm_checks ntlm "^$AUTH_NTLM_DOMAIN.?\\\\\\\\$AUTH_USER.?\$" "$TMP/ntlm-other.curlrc" \
    "ntlm_fake_auth, another user (squid's ACL; the helper checks no password)"
begin "ntlm: a wrong password still passes (ntlm_fake_auth checks none)"
curl_run "$TMP/ntlm-bad.curlrc" --proxy-ntlm -x "$PX"
expect_tunnel NTLM 1
finish
begin "ntlm: gss-ntlmssp rejects squid's challenge (49 bytes, no TargetInfo fields)"
probe_run -m ntlm -u "$AUTH_NTLM_DOMAIN\\$AUTH_USER" -p "$AUTH_PASS_FILE" 127.0.0.1 "$P_NTLM" "$TARGET"
expect_rc 4
expect_stdout_has "challenge: 49 bytes"
expect_stderr_has "Failed to decode data"
finish

# ---------------------------------------------- 2b. NTLM, password checked --
PX=http://127.0.0.1:$P_NTLM_GSS
ntlm_checks ntlm_gss "^$AUTH_NTLM_DOMAIN\\\\\\\\$AUTH_USER\$" "$TMP/ntlm-bad.curlrc" \
    "a wrong password (gss-ntlmssp checks it)"
begin "ntlm_gss: gss_probe (gss-ntlmssp, NTLM_USER_FILE) -> 200 after 3 requests"
NTLM_USER_FILE=$AUTH_NTLM_USER_FILE probe_run -m ntlm 127.0.0.1 "$P_NTLM_GSS" "$TARGET"
expect_rc 0
expect_stdout_has "request 1: CONNECT $TARGET without credentials -> HTTP/1.1 407"
expect_stdout_has "NTLM message type 1 (negotiate)"
expect_stdout_has "NTLM message type 3 (authenticate)"
expect_stdout_has "request 3: CONNECT $TARGET with NTLM -> HTTP/1.1 200"
expect_stdout_has "through the tunnel: GET / -> HTTP/1.0 200"
finish
begin "ntlm_gss: gss_probe with gss_acquire_cred_with_password -> 200"
probe_run -m ntlm -u "$AUTH_NTLM_DOMAIN\\$AUTH_USER" -p "$AUTH_PASS_FILE" 127.0.0.1 "$P_NTLM_GSS" "$TARGET"
expect_rc 0
expect_stdout_has "request 3: CONNECT $TARGET with NTLM -> HTTP/1.1 200"
finish
begin "ntlm_gss: gss_probe with a wrong password -> 407 after the type 3"
probe_run -m ntlm -u "$AUTH_NTLM_DOMAIN\\$AUTH_USER" -p "$TMP/bad.password" 127.0.0.1 "$P_NTLM_GSS" "$TARGET"
expect_rc 3
expect_stdout_has "request 3: CONNECT $TARGET with NTLM -> HTTP/1.1 407"
finish

# ------------------------------------------------------ 3. Negotiate (Kerberos) --
PX=http://$AUTH_PROXY_HOST:$P_NEGO
begin "kerberos: kinit with a wrong password fails"
RC=n/a OUT=/dev/null ERR=$AUTH_DIR/kinit.err
if (( KDC_OK )) && auth_kinit "$AUTH_PASS_BAD"; then why "kinit succeeded"; fi
(( KDC_OK )) || why "no KDC"
finish
begin "kerberos: kinit $AUTH_USER@$AUTH_REALM into a private ccache"
RC=n/a OUT=/dev/null ERR=$AUTH_DIR/kinit.err
if ! (( KDC_OK )) || ! auth_kinit; then why "kinit failed"; fi
[[ ${KRB5CCNAME:-} == "$AUTH_CCACHE" ]] || why "KRB5CCNAME is not the private ccache"
finish
begin "negotiate: curl --proxy-negotiate -U : via $AUTH_PROXY_HOST (log names $AUTH_USER@$AUTH_REALM)"
curl_run "$TMP/none.curlrc" --proxy-negotiate -U : -x "$PX"
expect_tunnel Negotiate 1
expect_seen negotiate "^$AUTH_USER@$AUTH_REALM\$"
finish
begin "negotiate: no ticket (empty ccache) -> 407"
KRB5CCNAME=FILE:$TMP/no-ccache curl_run "$TMP/none.curlrc" --proxy-negotiate -U : -x "$PX"
expect_407
finish
begin "negotiate: proxy named 127.0.0.1 (no principal HTTP/127.0.0.1) -> 407"
curl_run "$TMP/none.curlrc" --proxy-negotiate -U : -x "http://127.0.0.1:$P_NEGO"
expect_407
finish
begin "negotiate: gss_probe (SPNEGO, ccache) -> 200 after 2 requests"
probe_run -m negotiate "$AUTH_PROXY_HOST" "$P_NEGO" "$TARGET"
expect_rc 0
expect_stdout_has "target name HTTP@$AUTH_PROXY_HOST"
expect_stdout_has "mechTypes 1.2.840.113554.1.2.2 (Kerberos 5);"
expect_stdout_has "request 2: CONNECT $TARGET with Negotiate -> HTTP/1.1 200"
expect_stdout_has "through the tunnel: GET / -> HTTP/1.0 200"
finish
begin "negotiate: gss_probe with gss_acquire_cred_with_password and no ccache -> 200"
KRB5CCNAME=FILE:$TMP/no-ccache probe_run -m negotiate -u "$AUTH_USER@$AUTH_REALM" -p "$AUTH_PASS_FILE" \
    "$AUTH_PROXY_HOST" "$P_NEGO" "$TARGET"
expect_rc 0
expect_stdout_has "request 2: CONNECT $TARGET with Negotiate -> HTTP/1.1 200"
finish
begin "negotiate: squid's 200 carries no final token (mutual authentication never completes)"
probe_run -M -m negotiate "$AUTH_PROXY_HOST" "$P_NEGO" "$TARGET"
expect_rc 3
expect_stdout_has "request 2: CONNECT $TARGET with Negotiate -> HTTP/1.1 200"
expect_stdout_has "the 2xx carried no final token"
finish
begin "negotiate: a wrong password: SPNEGO falls back to NTLMSSP alone, squid's Kerberos helper -> 407"
KRB5CCNAME=FILE:$TMP/no-ccache probe_run -m negotiate -u "$AUTH_USER@$AUTH_REALM" -p "$TMP/bad.password" \
    "$AUTH_PROXY_HOST" "$P_NEGO" "$TARGET"
expect_rc 3
expect_stdout_has "mechTypes 1.3.6.1.4.1.311.2.2.10 (NTLMSSP); mechToken 40 bytes"
expect_stdout_has "request 2: CONNECT $TARGET with Negotiate -> HTTP/1.1 407"
finish
begin "negotiate: a wrong password with SPNEGO limited to Kerberos (-K) -> no token at all"
KRB5CCNAME=FILE:$TMP/no-ccache probe_run -K -m negotiate -u "$AUTH_USER@$AUTH_REALM" -p "$TMP/bad.password" \
    "$AUTH_PROXY_HOST" "$P_NEGO" "$TARGET"
expect_rc 4
expect_stderr_has "gss_init_sec_context failed"
finish
begin "negotiate: -K with the ccache -> 200 (SPNEGO offers Kerberos 5 only)"
probe_run -K -m negotiate "$AUTH_PROXY_HOST" "$P_NEGO" "$TARGET"
expect_rc 0
expect_stdout_has "mechTypes 1.2.840.113554.1.2.2 (Kerberos 5);"
expect_stdout_has "request 2: CONNECT $TARGET with Negotiate -> HTTP/1.1 200"
finish

# ------------------------------------------------- 4. close after every 407 --
begin "close: squid answers a CONNECT without credentials with 407, Connection: close, and closes"
RC=n/a OUT=$TMP/raw.out ERR=$TMP/raw.err
raw_connect "$P_CLOSE" >"$OUT" 2>"$ERR"
expect_line "raw socket" "$(cat "$OUT")" "HTTP/1.1 407 Proxy Authentication Required | close | eof"
finish
begin "close: control: the digest squid keeps the connection open after its 407"
raw_connect "$P_DIGEST" >"$OUT" 2>"$ERR"
expect_line "raw socket" "$(cat "$OUT")" "HTTP/1.1 407 Proxy Authentication Required | keep-alive | open"
finish
digest_checks close close 2 --proxy-anyauth -x "http://127.0.0.1:$P_CLOSE"

# ------------------------------------------------- 5. https_port with Digest --
PX=https://localhost:$P_TLS
TLS=(--proxy-cacert "$AUTH_CERTS/proxy-ca.pem")
digest_checks https_port digest 1 "${TLS[@]}" --proxy-digest -x "$PX"
begin "https_port: curl --proxy-anyauth picks Digest, over TLS to the proxy"
curl_run "$TMP/good.curlrc" "${TLS[@]}" --proxy-anyauth -x "$PX"
expect_tunnel Digest 1
grep -q '^\* .*SSL connection using' "$ERR" || why "no TLS to the proxy in curl's trace"
finish

# ------------------------------------------------------------------ end --
begin "no password in any squid or KDC log"
RC=n/a OUT=/dev/null ERR=/dev/null
if grep -rlF -e "$AUTH_PASS" -e "$AUTH_PASS_BAD" "$AUTH_DIR"/*/*.log "$AUTH_DIR"/*.out >/dev/null 2>&1; then
    why "found in $(grep -rlF -e "$AUTH_PASS" -e "$AUTH_PASS_BAD" "$AUTH_DIR"/*/*.log "$AUTH_DIR"/*.out | tr '\n' ' ')"
fi
finish
echo "auth_selftest: $(( $(now_ms) - START_MS )) ms"
summary_and_exit
