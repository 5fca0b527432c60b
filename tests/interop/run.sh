#!/usr/bin/env bash
# Interop with real third-party proxies and servers (make interop; see docs/interop.md).
#
# Usage (from anywhere):  bash tests/interop/run.sh
#   BUILD=dir          where wspcat, interop_driver and their OpenSSL builds
#                      (wspcat-openssl, interop_driver-openssl) are (default: build); the report
#                      (peer versions, the matrix, the failure paths, in Markdown) goes to
#                      BUILD/interop/report.md. A run changes no tracked file: make
#                      interop-report (tests/interop/report.sh) copies the last report
#                      into docs/interop.md and README.md, when asked to.
#   INTEROP_PYTHON     the Python that has Debian's websockets (default: /usr/bin/python3)
#   INTEROP_KEEP=1     keep the temporary folder (configs and logs) and print its path
#
# Proxy authentication: squid with Digest (http_port and https_port), with NTLM (its
# helper has gss-ntlmssp check the password; and ntlm_fake_auth, which gss-ntlmssp
# cannot answer), with Negotiate against an MIT KDC made here, and closing after each
# 407 (tests/interop/auth_lib.sh); wspcat goes through each with -U and the
# --proxy-* options (it must be built with GSSAPI), ws:// and wss:// targets.
#
# TLS backends (issue 18): every route with a TLS hop runs on BearSSL, then again with
# wspcat-openssl and interop_driver-openssl; each cell checks at the peers that its TLS
# hops negotiated TLS 1.2 (BearSSL), TLS 1.3 (OpenSSL); a stunnel front that accepts
# TLS 1.3 only is reached with OpenSSL and refuses BearSSL (openssl_pass and its notes).
#
# Installs nothing: when a peer is missing it says what and how to install it, and
# exits 2. Every daemon runs on 127.0.0.1, on a port picked free just before, with a
# config written here into a mktemp folder, in its own process group (setsid), in the
# foreground; on exit each group we started is sent SIGTERM (then SIGKILL) by its
# PID. Every check prints "ok - NAME" or "FAIL - NAME: WHY" (with the peers' logs);
# then the matrix; the last line is "N passed, N failed".

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
WSPCAT=$BUILD/wspcat
DRIVER=$BUILD/interop_driver
PY=${INTEROP_PYTHON:-/usr/bin/python3}
NODE_DIR=tests/interop/node
REPORT_DIR=$BUILD/interop
CERTS=tests/certs
# wspcat reads proxy variables as curl does: keep the caller's out of these runs
unset ws_proxy WS_PROXY wss_proxy WSS_PROXY http_proxy https_proxy HTTPS_PROXY all_proxy \
      ALL_PROXY no_proxy NO_PROXY
export LC_ALL=C

START_S=$(date +%s)
PASSED=0
FAILED=0
LIMITED=0

# ------------------------------------------------------------ what is missing --
missing=()
missing_npm=0
command -v tinyproxy >/dev/null 2>&1 || missing+=(tinyproxy)
# squid-openssl is Debian's squid built with TLS (https_port); it replaces squid
if ! command -v squid >/dev/null 2>&1 || ! squid -v 2>/dev/null | grep -q -- '--with-openssl'; then
    missing+=(squid-openssl)
fi
command -v stunnel4 >/dev/null 2>&1 || command -v stunnel >/dev/null 2>&1 || missing+=(stunnel4)
command -v danted >/dev/null 2>&1 || [ -x /usr/sbin/danted ] || missing+=(dante-server)
command -v microsocks >/dev/null 2>&1 || missing+=(microsocks)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
if [ ! -x "$PY" ] || ! "$PY" -c 'import websockets' >/dev/null 2>&1; then missing+=(python3-websockets); fi
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -f "$NODE_DIR/node_modules/ws/package.json" ] || missing_npm=1
# proxy authentication (tests/interop/auth_lib.sh): MIT Kerberos, gss-ntlmssp, squid's helpers
for pair in kdb5_util:krb5-kdc krb5kdc:krb5-kdc kadmin.local:krb5-admin-server kinit:krb5-user \
            kdestroy:krb5-user md5sum:coreutils; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
[ -e /usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so ] || missing+=(gss-ntlmssp)
[ -f /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk 'NF && !seen[$0]++')
if (( ${#missing[@]} > 0 || missing_npm )); then
    echo "interop: third-party peers are missing; make interop installs nothing itself."
    if (( ${#missing[@]} > 0 )); then
        echo "  missing Debian packages: ${missing[*]}"
        echo "    apt-get install -y ${missing[*]}"
    fi
    if (( missing_npm )); then
        echo "  missing node module ws in $NODE_DIR/node_modules"
        echo "    npm ci --prefix $NODE_DIR"
    fi
    echo "  or all at once (as root): bash tests/interop/install.sh"
    echo "0 passed, 1 failed"
    exit 2
fi
AUTH_NTLM_HELPER=$BUILD/ntlm_gss_helper
[[ $AUTH_NTLM_HELPER == /* ]] || AUTH_NTLM_HELPER=$ROOT/$AUTH_NTLM_HELPER
for bin in "$WSPCAT" "$DRIVER" "$AUTH_NTLM_HELPER"; do
    if [ ! -x "$bin" ]; then echo "interop: $bin is missing (run make interop, or set BUILD=dir)"; exit 2; fi
done
if ! "$WSPCAT" --version | grep -q 'NTLM and Negotiate (GSSAPI: '; then
    echo "interop: $WSPCAT was built without GSSAPI (no NTLM, no Negotiate); with libkrb5-dev installed:"
    echo "    make -B $WSPCAT"
    exit 2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-interop.XXXXXX") || exit 1
chmod 755 "$TMP"
PGIDS=()        # process groups we started (each leader's PID)
PEER_NAMES=()

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid i
    declare -F auth_stop >/dev/null && auth_stop
    for pid in "${PGIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
    for (( i = 0; i < 50; i++ )); do       # at most ~5 s for them to go
        local alive=0
        for pid in "${PGIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        (( alive )) || break
        sleep 0.1
    done
    for pid in "${PGIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
    for pid in "${PGIDS[@]}"; do { wait "$pid"; } 2>/dev/null; done
    if [ "${INTEROP_KEEP:-0}" = 1 ]; then echo "interop: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------- helpers --
# free_ports N: N distinct loopback ports that were free a moment ago
free_ports() {
    "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# start NAME CMD...: runs CMD in its own session/process group, output in $TMP/NAME.out
start() {
    local name=$1; shift
    setsid "$@" >"$TMP/$name.out" 2>&1 </dev/null &
    local pid=$!
    PGIDS+=("$pid")
    PEER_NAMES+=("$name")
    eval "PID_$name=$pid"
}

# wait_port NAME PORT: up to ~15 s for 127.0.0.1:PORT to accept while NAME runs
wait_port() {
    local name=$1 port=$2 i pidvar="PID_$1"
    for (( i = 0; i < 150; i++ )); do
        if (: >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "${!pidvar}" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL - start $name: port $port not listening ($(kill -0 "${!pidvar}" 2>/dev/null && echo running || echo exited))"
    show_logs "$name"
    FAILED=$((FAILED + 1))
    return 1
}

# wait_file NAME FILE: up to ~15 s for FILE to appear while NAME runs
wait_file() {
    local name=$1 file=$2 i pidvar="PID_$1"
    for (( i = 0; i < 150; i++ )); do
        [ -s "$file" ] && return 0
        kill -0 "${!pidvar}" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL - start $name: no port file ($(kill -0 "${!pidvar}" 2>/dev/null && echo running || echo exited))"
    show_logs "$name"
    FAILED=$((FAILED + 1))
    return 1
}

# show_logs PEER...: the last lines of each peer's output and log files
show_logs() {
    local p f
    for p in "$@"; do
        for f in "$TMP/$p.out" "$TMP/$p".log "$TMP/$p"/*.log; do
            [ -s "$f" ] || continue
            echo "    --- ${f#"$TMP"/} (last 15 lines)"
            tail -n 15 "$f" | cut -c1-300 | sed 's/^/    | /'
        done
    done
}

# --------------------------------------------------------------------- servers --
start_servers() {
    start py_ws "$PY" tests/interop/echo_server.py "$CERTS/target-chain.pem" "$CERTS/target.key" "$TMP/py.ports"
    start node_ws node "$NODE_DIR/echo_server.js" "$CERTS/target-ec-chain.pem" "$CERTS/target-ec.key" "$TMP/node.ports"
    wait_file py_ws "$TMP/py.ports" || return 1
    wait_file node_ws "$TMP/node.ports" || return 1
    read -r PY_WS PY_WSS < <(sed 's/ws=//; s/wss=//' "$TMP/py.ports")
    read -r NODE_WS NODE_WSS < <(sed 's/ws=//; s/wss=//' "$TMP/node.ports")
}

# ----------------------------------------------------------------------- proxies --
USER_OK=wsp-user
PASS_OK='s3cret-pass'
PASS_BAD='wrong-pass'

start_tinyproxy() {   # start_tinyproxy NAME PORT [BasicAuth user pass]
    local name=$1 port=$2 d=$TMP/$1 p
    mkdir -p "$d"; chmod 777 "$d"
    {
        echo "Port $port"
        echo "Listen 127.0.0.1"
        echo "Timeout 60"
        echo "LogFile \"$d/tinyproxy.log\""
        echo "LogLevel Info"
        echo "PidFile \"$d/tinyproxy.pid\""
        echo "MaxClients 50"
        echo "Allow 127.0.0.1"
        echo "DisableViaHeader Yes"
        for p in "${ALLOWED_PORTS[@]}"; do echo "ConnectPort $p"; done
        [ $# -ge 4 ] && echo "BasicAuth $3 $4"
        if [ "$(id -u)" = 0 ]; then echo "User nobody"; echo "Group nogroup"; fi
    } >"$d/tinyproxy.conf"
    start "$name" tinyproxy -d -c "$d/tinyproxy.conf"
}

start_squid() {   # one squid, three ports: plain, Basic auth, TLS (https_port)
    local d=$TMP/squid
    mkdir -p "$d"; chmod 777 "$d"
    cp "$CERTS/proxy-chain.pem" "$CERTS/proxy.key" "$d/"; chmod 644 "$d"/proxy*
    printf '%s:%s\n' "$USER_OK" "$(openssl passwd -apr1 "$PASS_OK")" >"$d/passwd"; chmod 644 "$d/passwd"
    {
        echo "http_port 127.0.0.1:$SQUID_PORT name=plain"
        echo "http_port 127.0.0.1:$SQUID_AUTH_PORT name=auth"
        echo "https_port 127.0.0.1:$SQUID_TLS_PORT name=tls tls-cert=$d/proxy-chain.pem tls-key=$d/proxy.key"
        echo "pid_filename $d/squid.pid"
        echo "cache_log $d/cache.log"
        echo "access_log stdio:$d/access.log"
        auth_squid_tls_log "$d"   # tls.log: each request's TLS version (tests/interop/auth_lib.sh)
        echo "cache_store_log none"
        echo "netdb_filename none"
        echo "coredump_dir $d"
        echo "cache deny all"
        echo "cache_mem 8 MB"
        echo "pinger_enable off"
        echo "shutdown_lifetime 1 seconds"
        echo "visible_hostname wsproxy-interop"
        echo "auth_param basic program /usr/lib/squid/basic_ncsa_auth $d/passwd"
        echo "auth_param basic children 2 startup=1 idle=1"
        echo "auth_param basic realm wsproxy-interop"
        echo "acl test_ports port ${ALLOWED_PORTS[*]}"
        echo "acl CONNECT method CONNECT"
        echo "acl auth_port myportname auth"
        echo "acl authed proxy_auth REQUIRED"
        echo "acl loopback src 127.0.0.1/32"
        echo "http_access deny !loopback"
        echo "http_access deny CONNECT !test_ports"
        echo "http_access deny auth_port !authed"
        echo "http_access allow loopback"
        echo "http_access deny all"
    } >"$d/squid.conf"
    start squid squid -N -f "$d/squid.conf"
}

# start_stunnel [NAME PORT UPSTREAM_PORT [CONFIG_LINE...]]: TLS in front of a plain
# proxy, an https:// proxy; by default "stunnel" on STUNNEL_PORT before tinyproxy. Its
# log (debug = info: a "TLSv1.3 ciphersuite: ..." line per handshake) is $TMP/NAME/stunnel.log
start_stunnel() {
    local name=${1:-stunnel} port=${2:-$STUNNEL_PORT} up=${3:-$TINY_PORT} d=$TMP/${1:-stunnel} bin line
    shift "$(( $# < 3 ? $# : 3 ))"
    bin=$(command -v stunnel4 || command -v stunnel)
    mkdir -p "$d"
    {
        echo "foreground = yes"
        echo "pid ="
        echo "debug = info"
        echo "output = $d/stunnel.log"
        echo "[https-proxy]"
        echo "accept = 127.0.0.1:$port"
        echo "connect = 127.0.0.1:$up"
        echo "cert = $CERTS/proxy-chain.pem"
        echo "key = $CERTS/proxy.key"
        for line in "$@"; do echo "$line"; done
    } >"$d/stunnel.conf"
    start "$name" "$bin" "$d/stunnel.conf"
}

start_dante() {
    local d=$TMP/dante
    mkdir -p "$d"; chmod 777 "$d"
    {
        echo "logoutput: $d/danted.log"
        echo "debug: 0"
        echo "internal: 127.0.0.1 port = $DANTE_PORT"
        echo "external: 127.0.0.1"
        echo "clientmethod: none"
        echo "socksmethod: none"
        if [ "$(id -u)" = 0 ]; then echo "user.privileged: root"; echo "user.unprivileged: nobody"; fi
        printf 'client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  log: error\n}\n'
        printf 'socks pass {\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n  protocol: tcp\n  command: connect\n  log: error connect\n}\n'
        printf 'socks block {\n  from: 0.0.0.0/0 to: 0.0.0.0/0\n  log: connect error\n}\n'
    } >"$d/danted.conf"
    start dante danted -f "$d/danted.conf" -p "$d/danted.pid" -N 1
}

start_microsocks() {
    start microsocks microsocks -i 127.0.0.1 -p "$MS_PORT"
    start microsocks_auth microsocks -i 127.0.0.1 -p "$MS_AUTH_PORT" -u "$USER_OK" -P "$PASS_OK"
}

# ------------------------------------------------------------------------ checks --
OUT=$TMP/stdout
ERR=$TMP/stderr
RC=0
CMDLINE=
ELAPSED_MS=0
now_ms() { date +%s%3N; }

# run PROG INPUT ARGS...: stdin is INPUT; output in $OUT/$ERR, status in $RC
run() {
    local prog=$1 input=$2 t0 a
    shift 2
    printf '%s' "$input" >"$TMP/stdin"
    CMDLINE="$prog"
    for a in "$@"; do CMDLINE+=" $(printf '%q' "$a")"; done
    t0=$(now_ms)
    timeout 60 "$prog" "$@" <"$TMP/stdin" >"$OUT" 2>"$ERR"
    RC=$?
    ELAPSED_MS=$(( $(now_ms) - t0 ))
}

# run_lines INPUT N ARGS...: wspcat with INPUT on stdin, which stays open until N lines
# came back (at most ~5 s): wspcat closes at the end of its input, and a server may
# answer that close before echoing what came just before it (Python websockets does)
run_lines() {
    local input=$1 n=$2 t0 a
    shift 2
    CMDLINE="$WSPCAT"
    for a in "$@"; do CMDLINE+=" $(printf '%q' "$a")"; done
    CMDLINE+=" (stdin: $n lines, held open until $n lines came back)"
    rm -f "$OUT" "$TMP/stdin.fifo"
    mkfifo "$TMP/stdin.fifo" || { RC=127; return; }
    t0=$(now_ms)
    timeout 60 "$WSPCAT" "$@" <"$TMP/stdin.fifo" >"$OUT" 2>"$ERR" &
    local wpid=$! i lines
    exec 3>"$TMP/stdin.fifo"
    printf '%s' "$input" >&3 2>/dev/null
    for (( i = 0; i < 100; i++ )); do
        lines=$(wc -l <"$OUT" 2>/dev/null) || lines=0
        (( lines >= n )) && break
        kill -0 "$wpid" 2>/dev/null || break
        sleep 0.05
    done
    exec 3>&-
    wait "$wpid"
    RC=$?
    ELAPSED_MS=$(( $(now_ms) - t0 ))
}

# mask: the authentication passwords (random letters and digits) out of a text
mask() {
    local t=$1
    [ -n "${AUTH_PASS:-}" ] && t=${t//"$AUTH_PASS"/<password>}
    [ -n "${AUTH_PASS_BAD:-}" ] && t=${t//"$AUTH_PASS_BAD"/<wrong password>}
    printf '%s' "$t"
}

show_run() {
    echo "    command: $(mask "$CMDLINE")"
    echo "    exit status: $RC after ${ELAPSED_MS} ms"
    local f
    for f in "$OUT" "$ERR"; do
        [ -s "$f" ] || continue
        echo "    --- ${f##*/}"
        mask "$(tail -n 20 "$f" | cut -c1-300 | sed 's/^/    | /')"
        echo
    done
}

pass() { echo "ok - $1"; PASSED=$((PASSED + 1)); }
failed() {   # failed NAME WHY PEER...
    local name=$1 why=$2; shift 2
    echo "FAIL - $name: $why"
    show_run
    show_logs "$@"
    FAILED=$((FAILED + 1))
}

# The matrix, one cell per row x column: RESULT[row,col] and REASON[row,col]
declare -A RESULT REASON
ROWS=()
ROW_LABEL=()
COLS=(py-ws py-wss node-ws node-wss)
COL_LABEL=("websockets ws://" "websockets wss://" "ws (node) ws://" "ws (node) wss://")
# Known limitations of a peer: "row,col" -> reason. Such a cell still runs; a failure
# is shown as n/a with the reason (not counted), a pass is a pass.
declare -A LIMIT=()

col_url() {
    case $1 in
        py-ws) echo "ws://127.0.0.1:$PY_WS/echo" ;;
        py-wss) echo "wss://localhost:$PY_WSS/echo" ;;
        node-ws) echo "ws://127.0.0.1:$NODE_WS/echo" ;;
        node-wss) echo "wss://localhost:$NODE_WSS/echo" ;;
    esac
}
col_peer() { case $1 in py-*) echo py_ws ;; *) echo node_ws ;; esac; }

# The proxy authentication rows (auth_row) set these for their cells:
CELL_ARGS=()    # more wspcat options (-U, --proxy-digest, ...)
CELL_DRIVER=1   # 0: wspcat only (interop_driver has no proxy authentication options)
CELL_ERR_RE=    # an extended regex wspcat's stderr must match (with -v in CELL_ARGS)
CELL_SEEN=      # "SQUID USER_ERE": that squid (auth_lib.sh) logged the CONNECT as 200
                # for a user matching USER_ERE

# auth_logged SQUID MARK USER_ERE HOSTPORT: squid's access log got, after its line MARK,
# a CONNECT to HOSTPORT answered 200 for a user matching USER_ERE (squid writes the line
# when the tunnel ends: up to ~3 s for it)
auth_logged() {
    local i log=$AUTH_DIR/$1/access.log
    for (( i = 0; i < 30; i++ )); do
        tail -n "+$(( $2 + 1 ))" "$log" 2>/dev/null |
            AUTH_RE=$3 awk -v t="$4" '$6 == "CONNECT" && $7 == t && $8 ~ ENVIRON["AUTH_RE"] && $4 ~ /\/200$/ { f = 1 }
                                     END { exit !f }' && return 0
        sleep 0.1
    done
    return 1
}

# cell ROW COL PROXY_URL PEER...: wspcat lines + the driver's full script
cell() {
    local row=$1 col=$2 proxy=$3; shift 3
    local url name why='' tls=() mark=0
    url=$(col_url "$col")
    tls_mark "$proxy" "$url"   # the peers' TLS logs, for tls_check
    name="$row x $col"
    tls=(--cacert "$CERTS/ca.pem" --proxy-cacert "$CERTS/proxy-ca.pem")
    if [ -n "$CELL_SEEN" ]; then mark=$(wc -l <"$AUTH_DIR/${CELL_SEEN%% *}/access.log" 2>/dev/null || echo 0); fi
    # 1. wspcat: two lines (one not ASCII) must come back in order
    local input=$'hello interop\nw\xc3\xb6rld \xe2\x9c\x93\n'
    run_lines "$input" 2 --proxy "$proxy" "${tls[@]}" --timeout 10 "${CELL_ARGS[@]}" "$url"
    if [ "$RC" != 0 ]; then
        why="wspcat exit $RC: $(grep -v '^\*' "$ERR" | tail -n 1 | cut -c1-160)"
    elif [ "$(cat "$OUT")" != "${input%$'\n'}" ]; then
        why="wspcat: echo differs"
    elif [ -n "$CELL_ERR_RE" ] && ! grep -Eq -- "$CELL_ERR_RE" "$ERR"; then
        why="wspcat -v: no line matching /$CELL_ERR_RE/"
    elif [ -n "$CELL_SEEN" ] && ! auth_logged "${CELL_SEEN%% *}" "$mark" "${CELL_SEEN#* }" "$(sed -E 's|^wss?://([^/]*).*|\1|' <<<"$url")"; then
        why="squid ${CELL_SEEN%% *}: no authenticated CONNECT (200, user /${CELL_SEEN#* }/) in its access log"
    elif (( ! CELL_DRIVER )); then
        :
    else
        # 2. the driver: every size, binary, fragments, ping, close with code and reason
        run "$DRIVER" "" --proxy "$proxy" "${tls[@]}" --timeout 15 "$url"
        if [ "$RC" != 0 ]; then
            why="driver exit $RC: $(grep -E '^FAIL' "$OUT" | tail -n 1 | sed 's/^FAIL - //' | cut -c1-200)"
            [ -n "${why#*: }" ] || why="driver exit $RC: $(tail -n 1 "$ERR" | cut -c1-160)"
        elif [ -n "$proxy" ] && ! grep -q '^ok - open (tunnel' "$OUT"; then
            why="driver: no tunnel through the proxy reported"
        fi
    fi
    [ -z "$why" ] && { tls_check "$row" "$col"; why=$TLS_WHY; }   # the TLS version the peers saw
    if [ -z "$why" ]; then
        RESULT[$row,$col]=pass
        REASON[$row,$col]=""
        if (( CELL_DRIVER )); then pass "$name ($(grep -c '^ok' "$OUT") steps, ${ELAPSED_MS} ms)"
        else pass "$name (wspcat $(mask "${CELL_ARGS[*]}"), ${ELAPSED_MS} ms)"; fi
    elif [ -n "${LIMIT[$row,$col]:-}" ]; then
        RESULT[$row,$col]=n/a
        REASON[$row,$col]="${LIMIT[$row,$col]} (seen: $why)"
        echo "n/a - $name: ${LIMIT[$row,$col]} (seen: $why)"
        LIMITED=$((LIMITED + 1))
    else
        RESULT[$row,$col]=FAIL
        REASON[$row,$col]=$why
        failed "$name" "$why" "$(col_peer "$col")" "$@"
    fi
}

# row ID LABEL PROXY_URL PEER...: one matrix row
row() {
    tls_note row "$@"
    local id=$1 label=$2 proxy=$3 col; shift 3
    ROWS+=("$id")
    ROW_LABEL+=("$label")
    for col in "${COLS[@]}"; do cell "$id" "$col" "$proxy" "$@"; done
}

# auth_row ID LABEL PROXY_URL SQUID USER_ERE [ERR_RE] -- WSPCAT_OPTIONS...: a row through
# one of auth_lib.sh's squids, wspcat only, with those options; each cell also checks
# that squid logged the tunnel for the user (and wspcat -v's stderr against ERR_RE)
auth_row() {
    local id=$1 label=$2 proxy=$3 squid=$4 user_re=$5; shift 5
    CELL_ERR_RE=
    if [ "$1" != -- ]; then CELL_ERR_RE=$1; shift; fi
    shift
    CELL_ARGS=("$@")
    CELL_DRIVER=0
    CELL_SEEN="$squid $user_re"
    row "$id" "$label" "$proxy" "auth/$squid"
    CELL_ARGS=()
    CELL_DRIVER=1
    CELL_ERR_RE=
    CELL_SEEN=
}

# Failure paths: NEG_NAME/NEG_RESULT/NEG_DETAIL, printed after the matrix
NEG_NAME=()
NEG_RESULT=()
NEG_DETAIL=()
# negative NAME EXPECTED_RC ERR_REGEX PROXY_URL URL PEER...: wspcat must fail this way
# (NEG_EXTRA: more wspcat options for that one run, a later --cacert wins;
#  NEG_LIMIT_RC/_RE/_REASON: a known peer limitation: that exit status with stderr
#  matching that regex is shown as n/a with the reason, not counted as a failure)
NEG_EXTRA=()
NEG_LIMIT_REASON=
negative() {
    tls_note negative "$@"
    local name=$1 want=$2 re=$3 proxy=$4 url=$5; shift 5
    run "$WSPCAT" "" --proxy "$proxy" --cacert "$CERTS/ca.pem" --proxy-cacert "$CERTS/proxy-ca.pem" \
        --timeout 10 "${NEG_EXTRA[@]}" "$url"
    local seen why=''
    # every line wspcat printed but -v's: the library's error, then what it means
    seen=$(grep -v '^\*' "$ERR" | cut -c1-220 | sed 's/^wspcat: //' | paste -sd '\t' | sed 's/\t/ -- /g')
    if [ "$RC" != "$want" ]; then why="exit $RC, expected $want"
    elif ! grep -Eq -- "$re" "$ERR"; then why="stderr lacks /$re/"
    fi
    NEG_NAME+=("$name")
    NEG_DETAIL+=("exit $RC: $(mask "$seen")")
    if [ -z "$why" ]; then
        NEG_RESULT+=(pass)
        pass "$name (exit $RC)"
    elif [ -n "${NEG_LIMIT_REASON:-}" ] && [ "$RC" = "$NEG_LIMIT_RC" ] && grep -Eq -- "$NEG_LIMIT_RE" "$ERR"; then
        NEG_RESULT+=(n/a)
        NEG_DETAIL[${#NEG_DETAIL[@]}-1]+=" -- n/a: $NEG_LIMIT_REASON"
        echo "n/a - $name: $NEG_LIMIT_REASON (seen: exit $RC)"
        LIMITED=$((LIMITED + 1))
    else
        NEG_RESULT+=(FAIL)
        failed "$name" "$why" "$@"
    fi
    NEG_EXTRA=()
    NEG_LIMIT_REASON=
}

# ------------------------------------------------------ client certificates (mTLS) --
# Issue 13: a squid whose https_port requires a client certificate (clientca= names the
# client CA in its CertificateRequest, tls-cafile= verifies the chain; its access log
# names the certificate of each tunnel), beside a plain http_port, and Python websockets
# with ssl.CERT_REQUIRED (tests/interop/mtls_server.py: it logs the CN it was shown);
# wspcat with --proxy-cert/--proxy-key and --cert/--key, RSA and EC keys.
SQUID_MTLS_TLS_PORT='' SQUID_MTLS_PORT='' PY_MTLS_WSS='' MTLS_LOG=/dev/null
MTLS_NAME=()
MTLS_RESULT=()
MTLS_DETAIL=()

start_mtls_peers() {
    local d p
    start py_mtls "$PY" tests/interop/mtls_server.py "$CERTS/target-chain.pem" "$CERTS/target.key" \
        "$CERTS/client-ca.pem" "$TMP/py_mtls.ports"
    wait_file py_mtls "$TMP/py_mtls.ports" || return 1
    read -r _ PY_MTLS_WSS < <(sed 's/ws=//; s/wss=//' "$TMP/py_mtls.ports")
    read -r SQUID_MTLS_PORT SQUID_MTLS_TLS_PORT < <(free_ports 2)
    # a squid of tests/interop/auth_lib.sh's kind (its shared settings, started and
    # stopped by it), with no authentication but the certificate
    auth_squid_dir mtls || return 1
    d=$AUTH_DIR/mtls
    MTLS_LOG=$d/mtls.log
    cp "$CERTS/proxy-chain.pem" "$CERTS/proxy.key" "$CERTS/client-ca.pem" "$d/"
    chmod 644 "$d"/*.pem "$d"/*.key
    {
        echo "http_port 127.0.0.1:$SQUID_MTLS_PORT name=plain"
        echo "https_port 127.0.0.1:$SQUID_MTLS_TLS_PORT name=mtls tls-cert=$d/proxy-chain.pem tls-key=$d/proxy.key" \
             "clientca=$d/client-ca.pem tls-cafile=$d/client-ca.pem"
        auth_squid_conf mtls
        echo "logformat mtls %ts.%03tu %>a %rm %ru %>Hs cert=[%ssl::>cert_subject]"
        echo "access_log stdio:$MTLS_LOG mtls"
        echo "http_access allow loopback"
        echo "http_access deny all"
    } >"$d/squid.conf"
    auth_squid_start mtls
    for p in "$SQUID_MTLS_PORT" "$SQUID_MTLS_TLS_PORT"; do
        if ! auth_wait mtls "$p" 2>"$TMP/auth/mtls-wait.err"; then
            echo "FAIL - start squid mtls (auth_lib.sh): $(head -n 1 "$TMP/auth/mtls-wait.err")"
            tail -n +2 "$TMP/auth/mtls-wait.err"
            FAILED=$((FAILED + 1))
            return 1
        fi
    done
}

# mtls_seen FILE MARK ERE: a line after line MARK of FILE matches ERE (squid writes its
# access log line when the tunnel ends, websockets its line when the connection ends:
# up to ~3 s for either)
mtls_seen() {
    local i
    for (( i = 0; i < 30; i++ )); do
        tail -n "+$(( $2 + 1 ))" "$1" 2>/dev/null | grep -Eq -- "$3" && return 0
        sleep 0.1
    done
    return 1
}
mtls_count() { tail -n "+$(( $2 + 1 ))" "$1" 2>/dev/null | grep -Ec -- "$3"; }
lines_of() { wc -l <"$1" 2>/dev/null || echo 0; }

# mtls_row ID LABEL CN WSPCAT_OPTION...: a matrix row through the squid that requires a
# client certificate, wspcat only, with these options; then one more check: squid's
# access log names the certificate (CN) for the tunnel of every cell that passed
mtls_row() {
    tls_note mtls_row "$@"
    local id=$1 label=$2 cn=$3 mark col ok=0 got i name why
    shift 3
    mark=$(lines_of "$MTLS_LOG")
    CELL_ARGS=("$@")
    CELL_DRIVER=0
    row "$id" "$label" "https://localhost:$SQUID_MTLS_TLS_PORT" auth/mtls
    CELL_ARGS=()
    CELL_DRIVER=1
    for col in "${COLS[@]}"; do [ "${RESULT[$id,$col]:-}" = pass ] && ok=$((ok + 1)); done
    name="$label: squid's access log names $cn for each of the $ok tunnels"
    for (( i = 0; i < 30; i++ )); do
        got=$(mtls_count "$MTLS_LOG" "$mark" " CONNECT [^ ]+ 200 cert=\[.*/CN=$cn\]$")
        (( got >= ok )) && break
        sleep 0.1
    done
    why=''
    (( ok > 0 && got == ok )) || why="$got such lines for $ok tunnels"
    mtls_record "$name" "$why" "$got CONNECT lines, each with the subject .../CN=$cn" auth/mtls
}

# mtls_record NAME WHY DETAIL PEER...: one check of the mTLS table: passed when WHY is
# empty (DETAIL says what was seen), else failed, with the peers' logs
mtls_record() {
    local name=$1 why=$2 detail=$3
    shift 3
    MTLS_NAME+=("$name")
    if [ -z "$why" ]; then
        MTLS_RESULT+=(pass)
        MTLS_DETAIL+=("$detail")
        pass "$name"
    else
        MTLS_RESULT+=(FAIL)
        MTLS_DETAIL+=("$why")
        failed "$name" "$why" "$@"
    fi
}

# mtls_check NAME CN SQUID_CN PROXY_URL URL WSPCAT_OPTION...: wspcat to the websockets
# server that requires a client certificate; the line must come back, the server must
# log CN as the certificate it was shown and, unless SQUID_CN is empty, squid's access
# log must get the tunnel with the certificate of SQUID_CN ("-": none, its http_port)
mtls_check() {
    tls_note mtls_check "$@"
    local name=$1 cn=$2 scn=$3 proxy=$4 url=$5 why='' pm sm sq='' said=''
    shift 5
    if [ "$scn" = - ]; then
        sq=" CONNECT localhost:$PY_MTLS_WSS 200 cert=\[-\]\$"
        said="; squid logged the tunnel, no certificate (http_port)"
    elif [ -n "$scn" ]; then
        sq=" CONNECT localhost:$PY_MTLS_WSS 200 cert=\[.*/CN=$scn\]\$"
        said="; squid logged the tunnel with the certificate of $scn"
    fi
    pm=$(lines_of "$TMP/py_mtls.out")
    sm=$(lines_of "$MTLS_LOG")
    run_lines $'hello mtls\n' 1 --proxy "$proxy" --cacert "$CERTS/ca.pem" --proxy-cacert "$CERTS/proxy-ca.pem" \
        --timeout 10 "$@" "$url"
    if [ "$RC" != 0 ]; then why="wspcat exit $RC: $(grep -v '^\*' "$ERR" | tail -n 1 | cut -c1-160)"
    elif [ "$(cat "$OUT")" != "hello mtls" ]; then why="wspcat: echo differs"
    elif ! mtls_seen "$TMP/py_mtls.out" "$pm" "\| client-cert: $cn\$"; then why="websockets did not log client-cert: $cn"
    elif [ -n "$sq" ] && ! mtls_seen "$MTLS_LOG" "$sm" "$sq"; then why="squid's access log has no line /$sq/"
    fi
    mtls_record "$name" "$why" "echoed; websockets saw the certificate of $cn$said" py_mtls auth/mtls
}

mtls_checks() {
    local pw=ws://127.0.0.1:$PY_WS/echo mw=wss://localhost:$PY_MTLS_WSS/echo
    local rsa=(--proxy-cert "$CERTS/client-rsa-chain.pem" --proxy-key "$CERTS/client-rsa.key")
    local ec=(--proxy-cert "$CERTS/client-ec.pem" --proxy-key "$CERTS/client-ec-sec1.key")
    mtls_row squid-mtls-rsa "squid https:// requiring a client certificate: RSA (PKCS#8 key, chain)" \
        "wsproxy test client rsa" "${rsa[@]}"
    mtls_row squid-mtls-ec "squid https:// requiring a client certificate: EC (SEC1 key)" \
        "wsproxy test client ec" "${ec[@]}"
    NEG_EXTRA=()
    negative "squid https_port clientca=: no client certificate" 8 \
        'WSPROXY_E_TLS_PROXY.*asked for a client certificate and none was given' \
        "https://localhost:$SQUID_MTLS_TLS_PORT" "$pw" auth/mtls
    NEG_EXTRA=(--proxy-cert "$CERTS/client-untrusted.pem" --proxy-key "$CERTS/client-untrusted.key")
    negative "squid https_port clientca=: a certificate from an untrusted CA" 8 \
        'WSPROXY_E_TLS_PROXY.*refused our client certificate' \
        "https://localhost:$SQUID_MTLS_TLS_PORT" "$pw" auth/mtls

    mtls_check "websockets CERT_REQUIRED, direct: RSA (PKCS#1 key)" "wsproxy test client rsa" "" "" "$mw" \
        --cert "$CERTS/client-rsa.pem" --key "$CERTS/client-rsa-pkcs1.key"
    mtls_check "websockets CERT_REQUIRED, direct: EC (PKCS#8 key, chain)" "wsproxy test client ec" "" "" "$mw" \
        --cert "$CERTS/client-ec-chain.pem" --key "$CERTS/client-ec.key"
    mtls_check "websockets CERT_REQUIRED through squid http://: EC (SEC1 key)" "wsproxy test client ec" - \
        "http://127.0.0.1:$SQUID_MTLS_PORT" "$mw" \
        --cert "$CERTS/client-ec.pem" --key "$CERTS/client-ec-sec1.key"
    mtls_check "websockets CERT_REQUIRED through squid https:// requiring one too: mTLS on both hops" \
        "wsproxy test client rsa" "wsproxy test client ec" \
        "https://localhost:$SQUID_MTLS_TLS_PORT" "$mw" "${ec[@]}" --cert "$CERTS/client-rsa.pem" \
        --key "$CERTS/client-rsa.key"
    NEG_EXTRA=()
    negative "websockets CERT_REQUIRED, direct: no client certificate" 8 \
        'WSPROXY_E_TLS_TARGET.*asked for a client certificate and none was given' "" "$mw" py_mtls
    NEG_EXTRA=(--cert "$CERTS/client-untrusted.pem" --key "$CERTS/client-untrusted.key")
    negative "websockets CERT_REQUIRED, direct: a certificate from an untrusted CA" 8 \
        'WSPROXY_E_TLS_TARGET.*refused our client certificate' "" "$mw" py_mtls
    NEG_EXTRA=()
    negative "websockets CERT_REQUIRED through squid http://: no client certificate" 8 \
        'WSPROXY_E_TLS_TUNNEL.*asked for a client certificate and none was given' \
        "http://127.0.0.1:$SQUID_MTLS_PORT" "$mw" py_mtls auth/mtls
}

# write_mtls_report: the mTLS checks as a table in the report, before its end line
write_mtls_report() {
    local out=$REPORT_DIR/report.md i
    [ -s "$out" ] || return 1
    {
        sed '$d' "$out"
        echo
        echo "Client certificates (mTLS; the two \"requiring a client certificate\" rows above and these):"
        echo "squid \`https_port ... clientca=CA tls-cafile=CA\` logs the subject of each tunnel's certificate"
        echo "(\`%ssl::>cert_subject\`); Python websockets with \`ssl.CERT_REQUIRED\` logs the CN it was shown."
        echo
        md_checks check MTLS_NAME MTLS_RESULT MTLS_DETAIL
        tail -n 1 "$out"
    } >"$out.tmp" && mv "$out.tmp" "$out"
}

# ---------------------------------------------------- both TLS backends (issue 18) --
# Every TLS route runs twice: with wspcat and interop_driver on BearSSL (TLS 1.2), then
# with wspcat-openssl and interop_driver-openssl (-DWSPROXY_TLS_OPENSSL), where every
# peer here speaks TLS 1.3 and must have negotiated it. row, negative, mtls_row and
# mtls_check call tls_note first: in the BearSSL pass it keeps each call whose route has
# a TLS hop (an https:// proxy or a wss:// server; of a row through another proxy only
# the wss:// columns), with the CELL_* and NEG_* settings of that moment, and
# openssl_pass runs them again into tables of their own. Every cell of both passes also
# checks the TLS version of each TLS hop at the peer (tls_mark, tls_check): squid's
# tls.log (%ssl::>negotiated_version), stunnel's log, the "tls" lines of websockets and
# ws. A stunnel front that accepts TLS 1.3 only (sslVersionMin) before squid's
# http_port is reached with OpenSSL and refused with BearSSL, the refusal naming
# WSPROXY_TLS_OPENSSL.
WSPCAT_OPENSSL=$BUILD/wspcat-openssl
DRIVER_OPENSSL=$BUILD/interop_driver-openssl
BACKEND=bearssl     # the pass running: bearssl, then openssl
TLS_EXPECT=1.2      # the version every TLS hop must negotiate in this pass
REPLAY=()           # the calls openssl_pass runs again (shell code)
T13_PORT=''         # the TLS 1.3-only front
TLS_WHY=''
TLS_PLOG='' TLS_PMARK=0 TLS_SLOG='' TLS_SMARK=0
declare -A TLSV=()  # row,col -> the versions the peers logged
O_ROWS=() O_ROW_LABEL=() O_CHECK_NAME=() O_CHECK_RESULT=() O_CHECK_DETAIL=()

# check_openssl_builds: both OpenSSL binaries present, wspcat-openssl with GSSAPI
check_openssl_builds() {
    local bin
    for bin in "$WSPCAT_OPENSSL" "$DRIVER_OPENSSL"; do
        if [ ! -x "$bin" ]; then echo "interop: $bin is missing (run make interop, or set BUILD=dir)"; exit 2; fi
    done
    if ! "$WSPCAT_OPENSSL" --version | grep -q '^TLS: OpenSSL'; then
        echo "interop: $WSPCAT_OPENSSL is not built on OpenSSL (make -B $WSPCAT_OPENSSL)"; exit 2
    fi
    if ! "$WSPCAT_OPENSSL" --version | grep -q 'NTLM and Negotiate (GSSAPI: '; then
        echo "interop: $WSPCAT_OPENSSL was built without GSSAPI; with libkrb5-dev installed: make -B $WSPCAT_OPENSSL"
        exit 2
    fi
}

# tls_note FUNCTION ARGS...: in the BearSSL pass, keeps a call that has a TLS hop for
# openssl_pass (not the calls made inside another kept one: mtls_row's rows)
tls_note() {
    local f=$1 outer proxy url cols='' args
    [ "$BACKEND" = bearssl ] || return 0
    for outer in "${FUNCNAME[@]:2}"; do
        case $outer in row|negative|mtls_row|mtls_check) return 0 ;; esac
    done
    case $f in
        row) proxy=$4 url='' ;;                     # row ID LABEL PROXY ...
        mtls_row) proxy=https:// url='' ;;          # always through the squid's https_port
        *) proxy=$5 url=$6 ;;                       # negative/mtls_check NAME X Y PROXY URL ...
    esac
    if [[ $proxy != https://* && $url != wss://* ]]; then
        [ "$f" = row ] || return 0
        cols='py-wss node-wss'                      # a row's wss:// columns
    fi
    args=("${@:2}")
    case $f in row|mtls_row) args[0]=openssl-${args[0]} ;; esac   # its own cells in RESULT
    REPLAY+=("CELL_ARGS=($(quoted "${CELL_ARGS[@]}")) CELL_DRIVER=$CELL_DRIVER
CELL_ERR_RE=$(printf '%q' "$CELL_ERR_RE") CELL_SEEN=$(printf '%q' "$CELL_SEEN")
NEG_EXTRA=($(quoted "${NEG_EXTRA[@]}")) NEG_LIMIT_REASON=$(printf '%q' "${NEG_LIMIT_REASON:-}")
NEG_LIMIT_RC=$(printf '%q' "${NEG_LIMIT_RC:-}") NEG_LIMIT_RE=$(printf '%q' "${NEG_LIMIT_RE:-}")
REPLAY_COLS=($cols)
$f $(quoted "${args[@]}")")
}
quoted() { (( $# == 0 )) || printf '%q ' "$@"; }   # words for eval (none for none)

# tls_log PROXY_URL | tls_log URL: the log of the peer that ends that TLS hop, "" when
# the hop is not TLS
tls_log() {
    case $1 in
        https://*:"$SQUID_TLS_PORT") echo "$TMP/squid/tls.log" ;;
        https://*:"$STUNNEL_PORT") echo "$TMP/stunnel/stunnel.log" ;;
        https://*:"$A_DIGEST_TLS") echo "$AUTH_DIR/digest/tls.log" ;;
        https://*:"$SQUID_MTLS_TLS_PORT") echo "$AUTH_DIR/mtls/tls.log" ;;
        https://*:"$T13_PORT") echo "$TMP/tls13/stunnel.log" ;;
        wss://*:"$PY_WSS"/*) echo "$TMP/py_ws.out" ;;
        wss://*:"$NODE_WSS"/*) echo "$TMP/node_ws.out" ;;
        wss://*:"$PY_MTLS_WSS"/*) echo "$TMP/py_mtls.out" ;;
        https://*|wss://*) echo "$TMP/unknown-tls-peer-for-${1//\//_}" ;;   # tls_check fails on it
    esac
}

# tls_mark PROXY_URL URL: where the TLS logs of the cell's hops end now
tls_mark() {
    TLS_PLOG=$(tls_log "$1") TLS_SLOG=$(tls_log "$2") TLS_PMARK=0 TLS_SMARK=0
    [ -n "$TLS_PLOG" ] && TLS_PMARK=$(lines_of "$TLS_PLOG")
    [ -n "$TLS_SLOG" ] && TLS_SMARK=$(lines_of "$TLS_SLOG")
}

# tls_versions LOG MARK: the TLS versions (1.2, 1.3) logged after line MARK, one a line
tls_versions() {
    tail -n "+$(( $2 + 1 ))" "$1" 2>/dev/null | grep -oE 'TLS(v|/)1\.[0-3]' | sed -E 's#TLS(v|/)##'
}

# tls_check ROW COL: after a cell passed, each TLS hop's peer logged a handshake per
# connection of the cell (wspcat, and the driver's), every one TLS_EXPECT; TLS_WHY says
# what is wrong, else it is empty and TLSV[ROW,COL] tells what was seen (squid logs a
# tunnel when it ends: up to ~3 s)
tls_check() {
    local n=1 hop log mark i vs got bad seen=''
    (( CELL_DRIVER )) && n=2
    TLS_WHY=''
    for hop in proxy server; do
        if [ $hop = proxy ]; then log=$TLS_PLOG mark=$TLS_PMARK; else log=$TLS_SLOG mark=$TLS_SMARK; fi
        [ -n "$log" ] || continue
        for (( i = 0; i < 30; i++ )); do
            vs=$(tls_versions "$log" "$mark")
            got=$(grep -c . <<<"$vs")
            (( got >= n )) && break
            sleep 0.1
        done
        bad=$(grep -vxF "$TLS_EXPECT" <<<"$vs" | sort -u | paste -sd, -)
        if (( got < n )); then
            TLS_WHY="$hop hop: ${log#"$TMP"/} logged $got TLS handshakes for $n connections"
            return
        elif [ -n "$bad" ]; then
            TLS_WHY="$hop hop: TLS $bad negotiated (${log#"$TMP"/}), expected $TLS_EXPECT only"
            return
        fi
        seen+="${seen:+, }$hop TLS $TLS_EXPECT"
    done
    TLSV[$1,$2]=$seen
}

# start_tls13_front: stunnel accepting TLS 1.3 only, before squid's plain http_port
start_tls13_front() {
    read -r T13_PORT < <(free_ports 1)
    start_stunnel tls13 "$T13_PORT" "$SQUID_PORT" "sslVersionMin = TLSv1.3"
    wait_port tls13 "$T13_PORT"
}

# tls13_refusals: BearSSL (TLS 1.2 at most) is refused by the TLS 1.3-only front on the
# proxy hop, the reason naming the build that can; the front logged each refusal
tls13_refusals() {
    local BACKEND=bearssl-only m re='WSPROXY_E_TLS_PROXY.*requires TLS 1\.3.*WSPROXY_TLS_OPENSSL'
    m=$(lines_of "$TMP/tls13/stunnel.log")
    negative "stunnel TLS 1.3 only + squid: BearSSL refused, ws:// (build with WSPROXY_TLS_OPENSSL)" 8 "$re" \
        "https://localhost:$T13_PORT" "ws://127.0.0.1:$PY_WS/echo" tls13
    negative "stunnel TLS 1.3 only + squid: BearSSL refused, wss:// (build with WSPROXY_TLS_OPENSSL)" 8 "$re" \
        "https://localhost:$T13_PORT" "wss://localhost:$NODE_WSS/echo" tls13
    local got name="stunnel TLS 1.3 only: its log has the 2 refused handshakes"
    got=$(tail -n "+$(( m + 1 ))" "$TMP/tls13/stunnel.log" 2>/dev/null | grep -c 'unsupported protocol')
    NEG_NAME+=("$name")
    NEG_DETAIL+=("$got SSL_accept errors: unsupported protocol")
    if (( got == 2 )); then
        NEG_RESULT+=(pass)
        pass "$name"
    else
        NEG_RESULT+=(FAIL)
        RC=- CMDLINE="(none: the front's log)" ELAPSED_MS=0
        failed "$name" "$got 'unsupported protocol' lines, expected 2" tls13
    fi
}

# openssl_pass: the kept calls again with the OpenSSL builds, TLS 1.3 expected; then the
# TLS 1.3-only front; their rows and checks go to O_* (the BearSSL tables keep theirs)
openssl_pass() {
    local WSPCAT=$WSPCAT_OPENSSL DRIVER=$DRIVER_OPENSSL BACKEND=openssl TLS_EXPECT=1.3
    local all_cols=("${COLS[@]}") COLS REPLAY_COLS=() rec i
    local nr=${#ROWS[@]} nn=${#NEG_NAME[@]} nm=${#MTLS_NAME[@]}
    echo "interop: the TLS routes again with $WSPCAT and $DRIVER (${#REPLAY[@]} calls)"
    for rec in "${REPLAY[@]}"; do
        REPLAY_COLS=()
        eval "${rec%$'\n'*}"                        # the settings of the call
        if (( ${#REPLAY_COLS[@]} )); then COLS=("${REPLAY_COLS[@]}"); else COLS=("${all_cols[@]}"); fi
        eval "${rec##*$'\n'}"                       # the call
        CELL_ARGS=() CELL_DRIVER=1 CELL_ERR_RE='' CELL_SEEN='' NEG_EXTRA=() NEG_LIMIT_REASON=''
    done
    COLS=("${all_cols[@]}")
    [ -n "$T13_PORT" ] && row openssl-stunnel-tls13 "stunnel TLS 1.3 only + squid https://" \
        "https://localhost:$T13_PORT" tls13 squid
    O_ROWS=("${ROWS[@]:nr}") O_ROW_LABEL=("${ROW_LABEL[@]:nr}")
    ROWS=("${ROWS[@]:0:nr}") ROW_LABEL=("${ROW_LABEL[@]:0:nr}")
    O_CHECK_NAME=("${NEG_NAME[@]:nn}" "${MTLS_NAME[@]:nm}")
    O_CHECK_RESULT=("${NEG_RESULT[@]:nn}" "${MTLS_RESULT[@]:nm}")
    O_CHECK_DETAIL=("${NEG_DETAIL[@]:nn}" "${MTLS_DETAIL[@]:nm}")
    NEG_NAME=("${NEG_NAME[@]:0:nn}") NEG_RESULT=("${NEG_RESULT[@]:0:nn}") NEG_DETAIL=("${NEG_DETAIL[@]:0:nn}")
    MTLS_NAME=("${MTLS_NAME[@]:0:nm}") MTLS_RESULT=("${MTLS_RESULT[@]:0:nm}") MTLS_DETAIL=("${MTLS_DETAIL[@]:0:nm}")
}

# o_cell ROW COL: an OpenSSL cell's text (Markdown unless $2 is given plain)
o_cell() {
    local r=${RESULT[$1,$2]:-} why=${REASON[$1,$2]:-}
    case $r in
        '') printf -- '-' ;;
        pass) printf 'pass (%s)' "${TLSV[$1,$2]:-no TLS hop}" ;;
        *) printf '**%s**: %s' "$r" "${why//|/\\|}" ;;
    esac
}

print_openssl() {
    local i col
    echo
    echo "With OpenSSL ($WSPCAT_OPENSSL, $DRIVER_OPENSSL): the TLS routes (- : no TLS hop, see above)"
    for i in "${!O_ROWS[@]}"; do
        printf '  %s\n' "${O_ROW_LABEL[$i]}"
        for col in "${COLS[@]}"; do printf '      %-10s %s\n' "$col" "$(o_cell "${O_ROWS[$i]}" "$col")"; done
    done
    for i in "${!O_CHECK_NAME[@]}"; do
        printf '  %-4s %s\n         %s\n' "${O_CHECK_RESULT[$i]}" "${O_CHECK_NAME[$i]}" "${O_CHECK_DETAIL[$i]}"
    done
}

# md_matrix CORNER CELL_FUNCTION ROW_IDS LABELS: a Markdown table of the rows (the names
# of two arrays) by COLS, each cell CELL_FUNCTION ROW COL
md_matrix() {
    local corner=$1 cellf=$2 i col
    local -n md_ids=$3 md_labels=$4
    printf '| %s |' "$corner"
    for i in "${!COLS[@]}"; do printf ' %s |' "${COL_LABEL[$i]}"; done
    echo
    printf '|---|'; for col in "${COLS[@]}"; do printf -- '---|'; done; echo
    for i in "${!md_ids[@]}"; do
        printf '| %s |' "${md_labels[$i]}"
        for col in "${COLS[@]}"; do printf ' %s |' "$("$cellf" "${md_ids[$i]}" "$col")"; done
        echo
    done
}

# md_checks HEADER NAMES RESULTS DETAILS: a Markdown table of checks (the names of three
# arrays)
md_checks() {
    local i
    local -n md_names=$2 md_results=$3 md_details=$4
    echo "| $1 | result | detail |"
    echo "|---|---|---|"
    for i in "${!md_names[@]}"; do
        printf '| %s | %s | %s |\n' "${md_names[$i]}" "${md_results[$i]}" "${md_details[$i]//|/\\|}"
    done
}

# write_openssl_report: the OpenSSL tables in the report, before its end line
write_openssl_report() {
    local out=$REPORT_DIR/report.md i col
    [ -s "$out" ] || return 1
    {
        sed '$d' "$out"
        echo
        echo "TLS backends: every cell above with a TLS hop ran on BearSSL and checked that each TLS hop"
        echo "negotiated TLS 1.2, as the peer logged it (squid's \`%ssl::>negotiated_version\`, stunnel's log,"
        echo "the websockets and ws servers' lines). Every such route ran again with wspcat and the driver built"
        echo "with \`-DWSPROXY_TLS_OPENSSL\` ($("$WSPCAT_OPENSSL" --version | sed -n 's/^TLS: //p')), each TLS hop"
        echo "required to have negotiated TLS 1.3 (\`-\`: a cell with no TLS hop, not run again):"
        echo
        md_matrix 'proxy \ server (OpenSSL)' o_cell O_ROWS O_ROW_LABEL
        echo
        echo "The failure paths and client-certificate checks above that have a TLS hop, with OpenSSL:"
        echo
        md_checks "check (OpenSSL)" O_CHECK_NAME O_CHECK_RESULT O_CHECK_DETAIL
        tail -n 1 "$out"
    } >"$out.tmp" && mv "$out.tmp" "$out"
}

# ==================================================================== main ==
check_openssl_builds
echo "interop: temporary folder $TMP"
start_servers || { echo "$PASSED passed, $FAILED failed"; exit 1; }
# the servers picked their own ports; the daemons get ports free a moment before
read -r TINY_PORT TINY_AUTH_PORT SQUID_PORT SQUID_AUTH_PORT SQUID_TLS_PORT STUNNEL_PORT \
        DANTE_PORT MS_PORT MS_AUTH_PORT DEAD_PORT DENIED_PORT \
        A_DIGEST A_DIGEST_TLS A_NTLM A_NTLM_GSS A_CLOSE A_KDC A_NEGO < <(free_ports 18)
# the proxies may tunnel to the four servers and to DEAD_PORT (where nothing listens);
# DENIED_PORT is not allowed
ALLOWED_PORTS=("$PY_WS" "$PY_WSS" "$NODE_WS" "$NODE_WSS" "$DEAD_PORT")
echo "interop: servers websockets ws=$PY_WS wss=$PY_WSS, ws (node) ws=$NODE_WS wss=$NODE_WSS;" \
     "dead port $DEAD_PORT, denied port $DENIED_PORT"

# shellcheck source=tests/interop/auth_lib.sh
. tests/interop/auth_lib.sh   # its functions: the squids here log TLS versions its way too
start_tinyproxy tinyproxy "$TINY_PORT"
start_tinyproxy tinyproxy_auth "$TINY_AUTH_PORT" "$USER_OK" "$PASS_OK"
start_squid
start_stunnel
start_dante
start_microsocks
UP=()
for pair in tinyproxy:$TINY_PORT tinyproxy_auth:$TINY_AUTH_PORT squid:$SQUID_PORT \
            squid:$SQUID_AUTH_PORT squid:$SQUID_TLS_PORT stunnel:$STUNNEL_PORT dante:$DANTE_PORT \
            microsocks:$MS_PORT microsocks_auth:$MS_AUTH_PORT; do
    wait_port "${pair%%:*}" "${pair##*:}" && UP+=("${pair%%:*}")
done
start_tls13_front
# the proxies that ask for authentication (tests/interop/auth_lib.sh): their files and
# logs under $TMP/auth, stopped by auth_stop in cleanup
auth_init "$TMP" || exit 1
auth_start_kdc "$A_KDC" 2>"$TMP/auth/kdc.err" ||
    { echo "FAIL - start the KDC: $(tail -n 1 "$TMP/auth/kdc.err")"; FAILED=$((FAILED + 1)); }
auth_start_digest "$A_DIGEST" "$A_DIGEST_TLS"
auth_start_ntlm "$A_NTLM"
auth_start_ntlm_gss "$A_NTLM_GSS"
auth_start_close "$A_CLOSE"
[ -n "${KRB5_CONFIG:-}" ] && auth_start_negotiate "$A_NEGO"
for pair in kdc:$A_KDC digest:$A_DIGEST digest:$A_DIGEST_TLS ntlm:$A_NTLM ntlm_gss:$A_NTLM_GSS \
            close:$A_CLOSE negotiate:$A_NEGO; do
    if ! auth_wait "${pair%%:*}" "${pair##*:}" 2>"$TMP/auth/wait.err"; then
        echo "FAIL - start ${pair%%:*} (auth_lib.sh): $(head -n 1 "$TMP/auth/wait.err")"
        tail -n +2 "$TMP/auth/wait.err"
        FAILED=$((FAILED + 1))
    fi
done
if ! auth_kinit "$AUTH_PASS"; then   # KRB5CCNAME: a ticket for AUTH_USER, for wspcat's Negotiate
    echo "FAIL - kinit $AUTH_USER@$AUTH_REALM: $(tail -n 1 "$AUTH_DIR/kinit.err" 2>/dev/null)"
    FAILED=$((FAILED + 1))
fi
start_mtls_peers   # squid (auth_lib.sh's kind) and websockets requiring client certificates
echo "interop: peers up after $(( $(date +%s) - START_S )) s"

U=$USER_OK:$PASS_OK
row direct        "none (direct)"                 ""
row tinyproxy     "tinyproxy http://"             "http://127.0.0.1:$TINY_PORT"                   tinyproxy
row tinyproxy-auth "tinyproxy http:// + Basic"    "http://$U@127.0.0.1:$TINY_AUTH_PORT"           tinyproxy_auth
row squid         "squid http://"                 "http://127.0.0.1:$SQUID_PORT"                  squid
row squid-auth    "squid http:// + Basic"         "http://$U@127.0.0.1:$SQUID_AUTH_PORT"          squid
row squid-tls     "squid https:// (https_port)"   "https://localhost:$SQUID_TLS_PORT"             squid
row stunnel       "stunnel + tinyproxy https://"  "https://localhost:$STUNNEL_PORT"               stunnel tinyproxy
row dante         "dante socks5h://"              "socks5h://127.0.0.1:$DANTE_PORT"               dante
row dante-4       "dante socks4://"               "socks4://127.0.0.1:$DANTE_PORT"                dante
row microsocks    "microsocks socks5://"          "socks5://127.0.0.1:$MS_PORT"                   microsocks
row microsocks-auth "microsocks socks5h:// + user/pass" "socks5h://$U@127.0.0.1:$MS_AUTH_PORT"    microsocks_auth
# proxy authentication, wspcat only: -U (the password on the command line here; see
# tests/wspcat.sh for the prompt) and the scheme options
AU=$AUTH_USER:$AUTH_PASS
auth_row squid-digest "squid http:// + Digest (wspcat -U, --proxy-digest)" "http://127.0.0.1:$A_DIGEST" \
    digest "^$AUTH_USER\$" -- -U "$AU" --proxy-digest
auth_row squid-digest-tls "squid https:// + Digest (https_port; --proxy-anyauth)" "https://localhost:$A_DIGEST_TLS" \
    digest "^$AUTH_USER\$" -- -U "$AU" --proxy-anyauth
auth_row squid-ntlm "squid http:// + NTLM (gss-ntlmssp both sides; --proxy-ntlm)" "http://127.0.0.1:$A_NTLM_GSS" \
    ntlm_gss "^$AUTH_NTLM_DOMAIN\\\\\\\\$AUTH_USER\$" -- -U "$AUTH_NTLM_DOMAIN\\$AU" --proxy-ntlm
auth_row squid-negotiate "squid http:// + Negotiate (Kerberos, kinit; --proxy-negotiate)" \
    "http://$AUTH_PROXY_HOST:$A_NEGO" negotiate "^$AUTH_USER@$AUTH_REALM\$" -- --proxy-negotiate
auth_row squid-close "squid http:// + Digest, closes after each 407 (--proxy-anyauth)" "http://127.0.0.1:$A_CLOSE" \
    close "^$AUTH_USER\$" 'the proxy closes the connection after its 407: connecting again for request 2' \
    -- -v -U "$AU" --proxy-anyauth

PW=ws://127.0.0.1:$PY_WS/echo
# tinyproxy 1.11.1 answers wrong credentials with 401 + WWW-Authenticate instead of 407
# (its issue 532, fixed upstream by PR 549); the library takes a proxy's 401 as auth too.
negative "tinyproxy Basic: wrong password -> 401/407" 4 'WSPROXY_E_PROXY_AUTH.*40[17].*Basic realm="[Tt]inyproxy"' \
    "http://$USER_OK:$PASS_BAD@127.0.0.1:$TINY_AUTH_PORT" "$PW" tinyproxy_auth
negative "tinyproxy Basic: no credentials -> 407" 4 'WSPROXY_E_PROXY_AUTH.*407' \
    "http://127.0.0.1:$TINY_AUTH_PORT" "$PW" tinyproxy_auth
negative "squid Basic: wrong password -> 407" 4 'WSPROXY_E_PROXY_AUTH.*407.*Basic realm="wsproxy-interop"' \
    "http://$USER_OK:$PASS_BAD@127.0.0.1:$SQUID_AUTH_PORT" "$PW" squid
negative "squid Basic: no credentials -> 407" 4 'WSPROXY_E_PROXY_AUTH.*407' \
    "http://127.0.0.1:$SQUID_AUTH_PORT" "$PW" squid
negative "tinyproxy: CONNECT to a closed port -> 5xx" 3 'WSPROXY_E_PROXY_CONNECT.*HTTP/1\.[01] 5[0-9][0-9]' \
    "http://127.0.0.1:$TINY_PORT" "ws://127.0.0.1:$DEAD_PORT/" tinyproxy
negative "tinyproxy: CONNECT to a port not in ConnectPort -> 403" 3 'WSPROXY_E_PROXY_CONNECT.*403' \
    "http://127.0.0.1:$TINY_PORT" "ws://127.0.0.1:$DENIED_PORT/" tinyproxy
negative "squid: CONNECT to a closed port -> 503" 3 'WSPROXY_E_PROXY_CONNECT.*HTTP/1\.[01] 5[0-9][0-9]' \
    "http://127.0.0.1:$SQUID_PORT" "ws://127.0.0.1:$DEAD_PORT/" squid
negative "squid: CONNECT to a port the ACL denies -> 403" 3 'WSPROXY_E_PROXY_CONNECT.*403' \
    "http://127.0.0.1:$SQUID_PORT" "ws://127.0.0.1:$DENIED_PORT/" squid
negative "squid https_port: CONNECT to a closed port -> 503" 3 'WSPROXY_E_PROXY_CONNECT.*HTTP/1\.[01] 5[0-9][0-9]' \
    "https://localhost:$SQUID_TLS_PORT" "wss://localhost:$DEAD_PORT/" squid
negative "stunnel + tinyproxy: CONNECT to a closed port -> 5xx" 3 'WSPROXY_E_PROXY_CONNECT.*HTTP/1\.[01] 5[0-9][0-9]' \
    "https://localhost:$STUNNEL_PORT" "ws://127.0.0.1:$DEAD_PORT/" stunnel tinyproxy
NEG_EXTRA=(--proxy-cacert "$CERTS/ca.pem")
negative "squid https_port: proxy certificate from an untrusted CA" 8 'WSPROXY_E_TLS_PROXY' \
    "https://localhost:$SQUID_TLS_PORT" "$PW" squid
negative "dante: CONNECT to a closed port -> SOCKS reply 5" 3 'WSPROXY_E_SOCKS_CONNECTION_REFUSED' \
    "socks5h://127.0.0.1:$DANTE_PORT" "ws://127.0.0.1:$DEAD_PORT/" dante
negative "dante socks4a:// to a host name: refused (dante has no SOCKS4a)" 3 'WSPROXY_E_SOCKS4_REJECTED.*0x5b' \
    "socks4a://127.0.0.1:$DANTE_PORT" "wss://localhost:$NODE_WSS/echo" dante
negative "microsocks: CONNECT to a closed port -> SOCKS reply 5" 3 'WSPROXY_E_SOCKS_CONNECTION_REFUSED' \
    "socks5://127.0.0.1:$MS_PORT" "ws://127.0.0.1:$DEAD_PORT/" microsocks
negative "microsocks user/pass: wrong password" 4 'WSPROXY_E_SOCKS_AUTH_FAILED' \
    "socks5h://$USER_OK:$PASS_BAD@127.0.0.1:$MS_AUTH_PORT" "$PW" microsocks_auth
negative "microsocks user/pass: no credentials" 4 'WSPROXY_E_SOCKS_NO_ACCEPTABLE_METHOD' \
    "socks5h://127.0.0.1:$MS_AUTH_PORT" "$PW" microsocks_auth
NEG_EXTRA=(--cacert "$CERTS/proxy-ca.pem")
negative "wss:// server certificate from an untrusted CA (through squid)" 8 'WSPROXY_E_TLS_TUNNEL' \
    "http://127.0.0.1:$SQUID_PORT" "wss://localhost:$NODE_WSS/echo" squid
# proxy authentication: what wspcat says to each real refusal
NEG_EXTRA=(-U "$AUTH_USER:$AUTH_PASS_BAD" --proxy-digest)
negative "squid Digest: wrong password" 4 'the proxy rejected these credentials \(Digest, round 2\)' \
    "http://127.0.0.1:$A_DIGEST" "$PW" auth/digest
NEG_EXTRA=(--proxy-anyauth)
negative "squid Digest: no credentials" 4 'no credentials were sent; the proxy offers Digest \(give a user with -U USER\)' \
    "http://127.0.0.1:$A_DIGEST" "$PW" auth/digest
NEG_EXTRA=(-U "$AU" --proxy-basic --proxy-ntlm)
negative "squid Digest: only Basic and NTLM allowed" 4 'the proxy offers only schemes you did not allow: Digest \(allowed: NTLM, Basic' \
    "http://127.0.0.1:$A_DIGEST" "$PW" auth/digest
NEG_EXTRA=(-U "$AUTH_USER:$AUTH_PASS_BAD" --proxy-digest)
negative "squid https_port Digest: wrong password" 4 'the proxy rejected these credentials \(Digest, round 2\)' \
    "https://localhost:$A_DIGEST_TLS" "$PW" auth/digest
NEG_EXTRA=(-U "$AUTH_USER:$AUTH_PASS_BAD" --proxy-anyauth)
negative "squid closing after each 407: wrong password" 4 'the proxy rejected these credentials \(Digest, round 2\)' \
    "http://127.0.0.1:$A_CLOSE" "$PW" auth/close
NEG_EXTRA=(-U "$AUTH_NTLM_DOMAIN\\$AUTH_USER:$AUTH_PASS_BAD" --proxy-ntlm)
negative "squid NTLM (gss-ntlmssp checks): wrong password" 4 'the proxy rejected these credentials \(NTLM, round 2\)' \
    "http://127.0.0.1:$A_NTLM_GSS" "$PW" auth/ntlm_gss
# squid's ntlm_fake_auth sends a 49-byte challenge that gss-ntlmssp 1.2 refuses (docs/interop.md)
NEG_EXTRA=(-U "$AUTH_NTLM_DOMAIN\\$AU" --proxy-ntlm)
negative "squid NTLM (ntlm_fake_auth): gss-ntlmssp refuses its short challenge" 4 \
    'no NTLM token: gss_init_sec_context: .*Failed to decode data' "http://127.0.0.1:$A_NTLM" "$PW" auth/ntlm
NEG_EXTRA=(--proxy-negotiate)
KRB5CCNAME=FILE:$TMP/auth/no-ccache negative "squid Negotiate: no Kerberos ticket" 4 \
    'no Negotiate token: gss_[a-z_]+: .*[Cc]redentials' "http://$AUTH_PROXY_HOST:$A_NEGO" "$PW" \
    auth/negotiate
NEG_EXTRA=(--proxy-negotiate)
negative "squid Negotiate through http://127.0.0.1: no principal HTTP/127.0.0.1" 4 \
    'no Negotiate token: gss_init_sec_context: .*not found in Kerberos database' "http://127.0.0.1:$A_NEGO" "$PW" auth/negotiate
# client certificates: squid's https_port and websockets requiring one
mtls_checks
tls13_refusals   # the TLS 1.3-only front refuses BearSSL
openssl_pass     # every TLS route again with the OpenSSL builds

# ------------------------------------------------------------------- the matrix --
cell_text() {   # pass / FAIL / n/a, for the terminal
    printf '%s' "${RESULT[$1,$2]:-skip}"
}
print_matrix() {
    local i col w=34
    echo
    echo "Interop matrix (rows: proxy, columns: server)"
    printf "%-${w}s" "proxy \\ server"
    for i in "${!COLS[@]}"; do printf " | %-18s" "${COL_LABEL[$i]}"; done
    echo
    printf '%*s' $(( w + 4 * 21 )) '' | tr ' ' '-'; echo
    for i in "${!ROWS[@]}"; do
        printf "%-${w}s" "${ROW_LABEL[$i]}"
        for col in "${COLS[@]}"; do printf " | %-18s" "$(cell_text "${ROWS[$i]}" "$col")"; done
        echo
    done
    for i in "${!ROWS[@]}"; do
        for col in "${COLS[@]}"; do
            [ -n "${REASON[${ROWS[$i]},$col]:-}" ] &&
                echo "  ${RESULT[${ROWS[$i]},$col]}: ${ROW_LABEL[$i]} x $col: ${REASON[${ROWS[$i]},$col]}"
        done
    done
    echo
    echo "Failure paths (wspcat against the real proxy's answer)"
    for i in "${!NEG_NAME[@]}"; do
        printf '  %-4s %s\n         %s\n' "${NEG_RESULT[$i]}" "${NEG_NAME[$i]}" "${NEG_DETAIL[$i]}"
    done
}

versions() {   # one "- name version" line per peer
    local p v
    for p in tinyproxy squid-openssl stunnel4 dante-server microsocks python3-websockets libbearssl-dev; do
        # one line per installed architecture (libbearssl-dev may be there for several)
        v=$(dpkg-query -W -f='${Version}\n' "$p" 2>/dev/null | sort -u | paste -sd ' ') || v=
        [ -n "$v" ] || v="(not from a Debian package)"
        echo "- $p $v"
    done
    echo "- node ws $(cd "$NODE_DIR" && node -e "process.stdout.write(require('ws/package.json').version)") on node $(node --version)"
    echo "- python $("$PY" -c 'import sys; print(sys.version.split()[0])') (websockets $("$PY" -c 'import websockets; print(websockets.__version__)'))"
    # shellcheck disable=SC1091
    echo "- $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown OS}"), $(uname -m)"
}

md_cell() {
    local r=${RESULT[$1,$2]:-skip} why=${REASON[$1,$2]:-}
    why=${why//|/\\|}
    case $r in
        pass) printf 'pass' ;;
        n/a) printf 'n/a: %s' "$why" ;;
        *) printf '**%s**: %s' "$r" "$why" ;;
    esac
}

# write_report PASSED FAILED: REPORT_DIR/report.md, the block that make interop-report
# puts between the interop:begin and interop:end lines of docs/interop.md and README.md
write_report() {
    local i col out=$REPORT_DIR/report.md
    mkdir -p "$REPORT_DIR" || return 1
    {
        echo "<!-- interop:begin (copied from a make interop report by make interop-report; do not edit by hand) -->"
        echo "Last run: $(date -u '+%Y-%m-%d %H:%M UTC'), \`make interop\` ($1 passed, $2 failed, $LIMITED n/a; $(( $(date +%s) - START_S )) s)."
        echo
        echo "Peers:"
        echo
        versions
        echo
        md_matrix 'proxy \ server' md_cell ROWS ROW_LABEL
        echo
        echo "The rows through squid with Digest, NTLM, Negotiate and closing after 407 run wspcat only (the driver"
        echo "has no proxy authentication options), with the options named; each of their cells also finds the"
        echo "tunnel in squid's access log, answered 200 for the authenticated user."
        echo
        echo "Failure paths (wspcat's exit status and the lines it printed):"
        echo
        echo "| check | result | wspcat said |"
        echo "|---|---|---|"
        for i in "${!NEG_NAME[@]}"; do
            local d=${NEG_DETAIL[$i]//|/\\|}
            # shellcheck disable=SC2016  # backquotes for Markdown
            printf '| %s | %s | `%s` |\n' "${NEG_NAME[$i]}" "${NEG_RESULT[$i]}" "$d"
        done
        echo "<!-- interop:end -->"
    } >"$out.tmp" && mv "$out.tmp" "$out" && echo "interop: report written to $out (make interop-report copies it into the docs)"
}

print_matrix
print_openssl
write_report "$PASSED" "$FAILED"
write_mtls_report
write_openssl_report
echo "interop: $(( $(date +%s) - START_S )) s"
if (( LIMITED > 0 )); then
    echo "$PASSED passed, $FAILED failed, $LIMITED skipped"
else
    echo "$PASSED passed, $FAILED failed"
fi
(( FAILED == 0 ))
