#!/usr/bin/env bash
# A guided tour of wspcat: connects directly, through an HTTP CONNECT proxy,
# through proxies that want Basic or Digest (one closing after its 407), with
# permessage-deflate, over TLS (wss:// and https:// proxies, with the test
# certificates in tests/certs), through SOCKS, and shows what failures look like.
#
# Usage (from the repo root, after building):  bash scripts/demo.sh
#   BUILD=dir   directory holding the binaries (default: build)
#   CERTS=dir   test certificates (default: tests/certs)
#
# Adding a scenario (TLS, SOCKS, ...) is one call:
#   scenario "TITLE" EXPECTED_EXIT "INPUT LINES" [wspcat options...] URL
# optionally prefixed with EXPECT_ERR=TEXT (stderr must contain TEXT).

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# wspcat reads proxy variables as curl does: keep the caller's out of these runs
unset ws_proxy WS_PROXY wss_proxy WSS_PROXY http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
WSPCAT=$BUILD/wspcat
ECHO_SERVER=$BUILD/ws_echo_server
HTTP_PROXY=$BUILD/http_proxy
SOCKS_SERVER=$BUILD/socks_server
CERTS=${CERTS:-tests/certs}

PIDS=()
SCENARIOS=0
UNEXPECTED=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-demo.XXXXXX") || exit 1

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do { wait "$pid"; } 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { echo "demo: $*" >&2; exit 1; }

for bin in "$WSPCAT" "$ECHO_SERVER" "$HTTP_PROXY"; do
    [[ -x $bin ]] || die "$bin not found; build first (make) or set BUILD=dir"
done

# start_peer VAR NAME BINARY [ARGS...]: start a test peer on an ephemeral
# 127.0.0.1 port and store the port in VAR.
start_peer() {
    local _var=$1 _name=$2 _bin=$3
    shift 3
    local _pf=$TMP/$_name.port _port='' _i _pid
    "$_bin" --port 0 --port-file "$_pf" --max-seconds 120 "$@" \
        >"$TMP/$_name.out" 2>&1 &
    _pid=$!
    PIDS+=("$_pid")
    for (( _i = 0; _i < 200; _i++ )); do
        if [[ -s $_pf ]]; then
            _port=$(head -n 1 "$_pf")
            if [[ $_port =~ ^[0-9]+$ ]]; then
                printf -v "$_var" '%s' "$_port"
                printf '  %-28s 127.0.0.1:%s  (pid %s)\n' "$_name" "$_port" "$_pid"
                return 0
            fi
        fi
        kill -0 "$_pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$TMP/$_name.out" >&2
    die "could not start $_name ($_bin $*)"
}

# What each wspcat exit status means.
exit_meaning() {
    case $1 in
        0) echo "success" ;;
        1) echo "usage or configuration error" ;;
        2) echo "could not connect / connection lost" ;;
        3) echo "proxy refused the tunnel" ;;
        4) echo "proxy authentication required" ;;
        5) echo "WebSocket handshake failed" ;;
        6) echo "protocol error from the server" ;;
        7) echo "timeout" ;;
        8) echo "TLS failure" ;;
        9) echo "the server closed before --count messages arrived" ;;
        124) echo "killed: did not finish within 20 s" ;;
        *) echo "unexpected" ;;
    esac
}

# Print one argument for a copy-pasteable command line, with any password in
# a URL's userinfo, and the password of -U's USER:PASSWORD (after_u=1), as ***.
show_arg() {
    local a=$1 after_u=${2:-0}
    if [[ $a =~ ^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:)[^/@]*@(.*)$ ]]; then
        a="${BASH_REMATCH[1]}***@${BASH_REMATCH[2]}"
    fi
    if (( after_u )) && [[ $a == *:* ]]; then a="${a%%:*}:***"; fi
    if [[ $a =~ ^[A-Za-z0-9_./:@%=+,-]+$ ]]; then
        printf '%s' "$a"
    else
        printf "'%s'" "${a//\'/\'\\\'\'}"
    fi
}

# Print a text's lines joined as "a | b | c", or "(nothing)".
one_line() {
    if [[ -z $1 ]]; then echo "(nothing)"; return; fi
    local joined
    joined=$(printf '%s' "$1" | awk 'NR > 1 { printf " | " } { printf "%s", $0 }')
    echo "$joined"
}

# [EXPECT_ERR=TEXT] scenario TITLE EXPECTED_EXIT INPUT [wspcat args...]
# Runs wspcat --timing with INPUT on stdin and prints one block.  For an
# expected success the echoed messages must equal the input; with EXPECT_ERR
# set, stderr must contain TEXT.
scenario() {
    local title=$1 expected=$2 input=$3
    shift 3
    SCENARIOS=$((SCENARIOS + 1))

    echo
    echo "== $title"
    local cmd="" a prev=""
    for a in "$@"; do
        cmd+=" $(show_arg "$a" "$([[ $prev == -U || $prev == --proxy-user ]] && echo 1 || echo 0)")"
        prev=$a
    done
    printf "\$ printf '%s' | %s --timing%s\n" "${input//$'\n'/\\n}" "$WSPCAT" "$cmd"

    printf '%s' "$input" >"$TMP/stdin"
    local rc
    timeout 20 "$WSPCAT" --timing "$@" <"$TMP/stdin" >"$TMP/stdout" 2>"$TMP/stderr"
    rc=$?

    local received handshake messages
    received=$(cat "$TMP/stdout")
    handshake=$(grep -m 1 '^handshake: ' "$TMP/stderr" | sed 's/^handshake: //')
    messages=$(grep -v '^handshake: ' "$TMP/stderr")

    printf '  sent:       %s\n' "$(one_line "$input")"
    printf '  received:   %s\n' "$(one_line "$received")"
    printf '  handshake:  %s\n' "${handshake:-(not opened)}"
    if [[ -n $messages ]]; then
        printf '  message:    %s\n' "${messages//$'\n'/$'\n              '}"
    fi

    local ok=yes why=""
    if [[ $rc != "$expected" ]]; then
        ok=no why="expected exit $expected ($(exit_meaning "$expected"))"
    elif [[ $expected == 0 && -z $handshake ]]; then
        ok=no why="no handshake time: the WebSocket never opened"
    elif [[ $expected == 0 && $received != "${input%$'\n'}" ]]; then
        ok=no why="the echo differs from what was sent"
    elif [[ -n ${EXPECT_ERR:-} ]] && ! grep -qF -- "$EXPECT_ERR" "$TMP/stderr"; then
        ok=no why="the message does not mention '$EXPECT_ERR'"
    fi
    if [[ $ok == yes ]]; then
        printf '  exit:       %s (%s), as expected\n' "$rc" "$(exit_meaning "$rc")"
    else
        printf '  exit:       %s (%s) -- NOT as expected: %s\n' \
            "$rc" "$(exit_meaning "$rc")" "$why"
        UNEXPECTED+=("$title")
    fi
}

# ---------------------------------------------------------------- peers --
echo "Starting the test peers (they stop on their own after 120 s):"
ECHO='' PROXY='' AUTH='' P403=''
start_peer ECHO  "echo server"                 "$ECHO_SERVER"
start_peer PROXY "HTTP proxy"                  "$HTTP_PROXY"
start_peer AUTH  "HTTP proxy (user demo)"      "$HTTP_PROXY" --auth demo:s3cret
start_peer P403  "HTTP proxy (refuses: 403)"   "$HTTP_PROXY" --mode status403
DIGEST='' CLOSING='' DEFLATE=''
start_peer DIGEST  "HTTP proxy (Digest or Basic, user demo)" "$HTTP_PROXY" --auth demo:s3cret \
    --auth-schemes basic,digest
start_peer CLOSING "HTTP proxy (Digest, closes after its 407)" "$HTTP_PROXY" --auth demo:s3cret \
    --auth-schemes digest --close-after-407
start_peer DEFLATE "echo server (permessage-deflate)" "$ECHO_SERVER" --deflate

# TLS peers: the echo server's certificate is issued by tests/certs/ca.pem, the
# HTTPS proxy's by a different CA, tests/certs/proxy-ca.pem.
TLS_ECHO='' HTTPS_PROXY='' UNTRUSTED=''
start_peer TLS_ECHO    "echo server (TLS)"           "$ECHO_SERVER" \
    --tls-cert "$CERTS/target.pem" --tls-key "$CERTS/target.key"
start_peer HTTPS_PROXY "HTTPS proxy"                 "$HTTP_PROXY" \
    --tls-cert "$CERTS/proxy.pem" --tls-key "$CERTS/proxy.key"
start_peer UNTRUSTED   "echo server (untrusted TLS)" "$ECHO_SERVER" \
    --tls-cert "$CERTS/untrusted.pem" --tls-key "$CERTS/untrusted.key"

# SOCKS peers: tests/peers/socks_server.c (SOCKS4, 4a, 5; user/password for 5).
SOCKS='' SOCKS_AUTH=''
start_peer SOCKS      "SOCKS server"                "$SOCKS_SERVER"
start_peer SOCKS_AUTH "SOCKS server (user demo)"    "$SOCKS_SERVER" --auth demo:s3cret

WS=ws://127.0.0.1:$ECHO/echo
WSS=wss://localhost:$TLS_ECHO/echo
MSG=$'hello\nwebsocket\n'

# ------------------------------------------------------------ scenarios --
scenario "ws:// direct" 0 "$MSG" \
    "$WS"
scenario "ws:// through HTTP proxy" 0 "$MSG" \
    --proxy "http://127.0.0.1:$PROXY" "$WS"
scenario "ws:// through HTTP proxy with Basic auth" 0 "$MSG" \
    --proxy "http://demo:s3cret@127.0.0.1:$AUTH" "$WS"
EXPECT_ERR=407 scenario "wrong password (expect 407)" 4 "$MSG" \
    --proxy "http://demo:wrong@127.0.0.1:$AUTH" "$WS"
EXPECT_ERR=403 scenario "proxy refuses CONNECT (expect 403)" 3 "$MSG" \
    --proxy "http://127.0.0.1:$P403" "$WS"

# Proxy authentication as corporate proxies ask for it: the 407 offers Basic and Digest,
# --proxy-anyauth answers the strongest (Digest) on the same connection; a proxy that
# closes after its 407 gets the answer on a new connection. -U keeps the password out
# of the proxy URL (without :PASSWORD it is asked on the terminal).
scenario "ws:// through a Digest proxy (-U, --proxy-anyauth)" 0 "$MSG" \
    -U demo:s3cret --proxy-anyauth --proxy "http://127.0.0.1:$DIGEST" "$WS"
scenario "ws:// through a proxy that closes after its 407 (a new connection)" 0 "$MSG" \
    -U demo:s3cret --proxy-digest --proxy "http://127.0.0.1:$CLOSING" "$WS"

# permessage-deflate: --compress offers it; this server accepts, so every message goes
# compressed both ways.
scenario "ws:// with permessage-deflate (--compress)" 0 "$MSG" \
    --compress "ws://127.0.0.1:$DEFLATE/echo"

# TLS: --cacert trusts the target's CA, --proxy-cacert the HTTPS proxy's.
scenario "wss:// direct" 0 "$MSG" \
    --cacert "$CERTS/ca.pem" "$WSS"
scenario "wss:// through HTTP proxy" 0 "$MSG" \
    --cacert "$CERTS/ca.pem" --proxy "http://127.0.0.1:$PROXY" "$WSS"
scenario "ws:// through HTTPS proxy" 0 "$MSG" \
    --proxy-cacert "$CERTS/proxy-ca.pem" --proxy "https://localhost:$HTTPS_PROXY" "$WS"
scenario "wss:// through HTTPS proxy (TLS inside TLS)" 0 "$MSG" \
    --cacert "$CERTS/ca.pem" --proxy-cacert "$CERTS/proxy-ca.pem" \
    --proxy "https://localhost:$HTTPS_PROXY" "$WSS"
scenario "wss:// to 127.0.0.1 (certificate with an IP SAN)" 0 "$MSG" \
    --cacert "$CERTS/ca.pem" "wss://127.0.0.1:$TLS_ECHO/echo"
EXPECT_ERR="certificate not trusted" scenario "untrusted certificate (expect TLS failure)" 8 "$MSG" \
    --cacert "$CERTS/ca.pem" "wss://localhost:$UNTRUSTED/echo"

# SOCKS: socks5h:// and socks4a:// let the proxy resolve the name; for socks5://
# and socks4:// wspcat resolves it and the library sends the address.
scenario "ws:// through SOCKS5 (the proxy resolves localhost)" 0 "$MSG" \
    --proxy "socks5h://127.0.0.1:$SOCKS" "ws://localhost:$ECHO/echo"
scenario "ws:// through SOCKS4a" 0 "$MSG" \
    --proxy "socks4a://127.0.0.1:$SOCKS" "ws://localhost:$ECHO/echo"
scenario "wss:// through SOCKS5 with username/password" 0 "$MSG" \
    --cacert "$CERTS/ca.pem" --proxy "socks5://demo:s3cret@127.0.0.1:$SOCKS_AUTH" "$WSS"
EXPECT_ERR="WSPROXY_E_SOCKS_AUTH_FAILED" scenario "wrong SOCKS password (expect auth failure)" 4 "$MSG" \
    --proxy "socks5h://demo:wrong@127.0.0.1:$SOCKS_AUTH" "$WS"

# -------------------------------------------------------------- summary --
echo
if (( ${#UNEXPECTED[@]} == 0 )); then
    echo "demo: $SCENARIOS scenarios, all behaved as expected"
    exit 0
fi
first=${UNEXPECTED[0]}
echo "demo: $SCENARIOS scenarios, ${#UNEXPECTED[@]} did not behave as expected (first: $first)"
exit 1
