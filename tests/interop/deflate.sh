#!/usr/bin/env bash
# permessage-deflate interop (issue 16; make interop-deflate): the library's client
# (tests/interop/deflate_driver.c) against echo servers on Python websockets
# (deflate_server.py) and node's ws (node/deflate_server.js) with compression on as they
# default, directly, through squid (HTTP CONNECT) and through microsocks (SOCKS5), ws://
# and wss:// (the servers' own TLS, tests/certs), and with the offer varied.
#
# Usage: bash tests/interop/deflate.sh
#   BUILD=dir    where deflate_driver is (default: build); logs and results go to
#                BUILD/interop-deflate/ (results.txt: one line per cell)
#   INTEROP_PYTHON  the Python that has Debian's websockets (default: /usr/bin/python3)
#
# Each cell passes when all of these hold:
#   - the driver echoed 24 messages (JSON and random, text and binary, 16 B to 1 MiB)
#     byte for byte and closed cleanly (through the proxy: a tunnel was reported);
#   - the server logged the connection with permessage-deflate in the offer and in its
#     answer, and its own permessage-deflate object settled the same parameters as
#     the client (wsproxy_deflate_get): windows and no_context_takeover both ways;
#   - those parameters are the ones this server gives for this offer (the table below),
#     so a varied offer shows in both sides' agreement;
#   - the server saw 24 data messages, all 24 with RSV1 (the client compressed each);
#   - the 1 MiB JSON message took under half its size on the wire both ways
#     (the server compressed its echoes too).
# Installs nothing: a missing peer is named with the command that installs it (a
# failure). Daemons run on 127.0.0.1 on free ports in the foreground, stopped by their
# PIDs on exit (tests/itlib.sh). The last line is "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
DRIVER=$BUILD/deflate_driver
PY=${INTEROP_PYTHON:-/usr/bin/python3}
NODE_DIR=tests/interop/node
CERTS=tests/certs
OUT_DIR=$BUILD/interop-deflate
export LC_ALL=C
# the shared harness: PASSED/FAILED, summary_and_exit, free_port, the proxy variables
# unset, and an EXIT trap that stops exactly the PIDs in PIDS
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=interop-deflate
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"

missing=()
command -v squid >/dev/null 2>&1 || missing+=(squid-openssl)
command -v microsocks >/dev/null 2>&1 || missing+=(microsocks)
if [ ! -x "$PY" ] || ! "$PY" -c 'import websockets' >/dev/null 2>&1; then missing+=(python3-websockets); fi
command -v node >/dev/null 2>&1 || missing+=(nodejs)
[ -f "$NODE_DIR/node_modules/ws/package.json" ] || missing+=("node ws in $NODE_DIR (npm ci --prefix $NODE_DIR)")
if (( ${#missing[@]} > 0 )); then
    echo "interop-deflate: peers are missing: ${missing[*]}"
    echo "  as root: bash tests/interop/install.sh"
    FAILED=1
    summary_and_exit
fi
require_binaries "$DRIVER"
(( FAILED == 0 )) || summary_and_exit

rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR" || exit 1
OUT_DIR=$(cd "$OUT_DIR" && pwd)
chmod 755 "$OUT_DIR"

start() {   # start NAME CMD...: output in OUT_DIR/NAME.out, stopped on exit by its PID
    local name=$1; shift
    "$@" >"$OUT_DIR/$name.out" 2>&1 </dev/null &
    PIDS+=("$!")
    eval "PID_$name=$!"
}

wait_for() {   # wait_for NAME TEST...: up to ~15 s for TEST to hold while NAME runs
    local name=$1 i pidvar="PID_$1"; shift
    for (( i = 0; i < 150; i++ )); do
        "$@" && return 0
        kill -0 "${!pidvar}" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL - start $name ($(kill -0 "${!pidvar}" 2>/dev/null && echo running || echo exited))"
    tail -n 15 "$OUT_DIR/$name.out" | sed 's/^/    | /'
    FAILED=$((FAILED + 1))
    summary_and_exit
}
listening() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ------------------------------------------------------------------ the peers --
start py "$PY" tests/interop/deflate_server.py "$CERTS/target-chain.pem" "$CERTS/target.key" "$OUT_DIR/py.ports"
start node node "$NODE_DIR/deflate_server.js" "$CERTS/target-ec-chain.pem" "$CERTS/target-ec.key" "$OUT_DIR/node.ports"
wait_for py test -s "$OUT_DIR/py.ports"
wait_for node test -s "$OUT_DIR/node.ports"
read -r PY_WS PY_WSS < <(sed 's/ws=//; s/wss=//' "$OUT_DIR/py.ports")
read -r NODE_WS NODE_WSS < <(sed 's/ws=//; s/wss=//' "$OUT_DIR/node.ports")
SQUID_PORT=$(free_port)
MS_PORT=$(free_port)

mkdir -p "$OUT_DIR/squid"; chmod 777 "$OUT_DIR/squid"
{
    echo "http_port 127.0.0.1:$SQUID_PORT"
    echo "pid_filename $OUT_DIR/squid/squid.pid"
    echo "cache_log $OUT_DIR/squid/cache.log"
    echo "access_log stdio:$OUT_DIR/squid/access.log"
    echo "cache_store_log none"
    echo "netdb_filename none"
    echo "coredump_dir $OUT_DIR/squid"
    echo "cache deny all"
    echo "cache_mem 8 MB"
    echo "pinger_enable off"
    echo "shutdown_lifetime 1 seconds"
    echo "visible_hostname wsproxy-interop-deflate"
    echo "acl servers port $PY_WS $PY_WSS $NODE_WS $NODE_WSS"
    echo "acl CONNECT method CONNECT"
    echo "acl loopback src 127.0.0.1/32"
    echo "http_access deny !loopback"
    echo "http_access deny CONNECT !servers"
    echo "http_access allow loopback"
    echo "http_access deny all"
} >"$OUT_DIR/squid/squid.conf"
start squid squid -N -f "$OUT_DIR/squid/squid.conf"
start microsocks microsocks -i 127.0.0.1 -p "$MS_PORT"
wait_for squid listening "$SQUID_PORT"
wait_for microsocks listening "$MS_PORT"
echo "interop-deflate: websockets ws=$PY_WS wss=$PY_WSS ($(head -n 1 "$OUT_DIR/py.out")), ws ws=$NODE_WS wss=$NODE_WSS ($(head -n 1 "$OUT_DIR/node.out")), squid $SQUID_PORT, microsocks $MS_PORT"

# ---------------------------------------------------------------- expectations --
# What each server settles for each offer, as "cw sw cnct snct" (client window, server
# window, client/server no_context_takeover). websockets' default factory answers with
# windows of 12 bits both ways (at most what was offered); ws with perMessageDeflate:
# true takes what was offered and names no window otherwise (15).
declare -A EXPECT=(
    [py,default]="cw=12 sw=12 cnct=0 snct=0"   [node,default]="cw=15 sw=15 cnct=0 snct=0"
    [py,cnct]="cw=12 sw=12 cnct=1 snct=0"      [node,cnct]="cw=15 sw=15 cnct=1 snct=0"
    [py,sw10]="cw=12 sw=10 cnct=0 snct=0"      [node,sw10]="cw=15 sw=10 cnct=0 snct=0"
    [py,cw9]="cw=9 sw=12 cnct=0 snct=0"        [node,cw9]="cw=9 sw=15 cnct=0 snct=0"
)

# ----------------------------------------------------------------------- cells --
: >"$OUT_DIR/results.txt"
# cell SERVER SCHEME ROUTE OFFER
cell() {
    local server=$1 scheme=$2 route=$3 offer=$4 port proxy='' id url log line why='' params srv
    case $server,$scheme in
        py,ws) port=$PY_WS ;; py,wss) port=$PY_WSS ;; node,ws) port=$NODE_WS ;; node,wss) port=$NODE_WSS ;;
    esac
    case $route in
        squid) proxy="http://127.0.0.1:$SQUID_PORT" ;;
        microsocks) proxy="socks5h://127.0.0.1:$MS_PORT" ;;   # microsocks resolves "localhost"
    esac
    id="$server-$scheme-$route-$offer"
    if [ "$scheme" = wss ]; then url="wss://localhost:$port/deflate/$id"; else url="ws://127.0.0.1:$port/deflate/$id"; fi
    log=$OUT_DIR/$id.log
    timeout 120 "$DRIVER" --proxy "$proxy" --cacert "$CERTS/ca.pem" --timeout 30 --offer "$offer" "$url" >"$log" 2>&1
    local rc=$?
    # the server logs the connection once it has closed
    for (( i = 0; i < 50; i++ )); do
        line=$(grep -h "^conn /deflate/$id |" "$OUT_DIR/$server.out" | tail -n 1)
        [ -n "$line" ] && break
        sleep 0.1
    done
    params=$(sed -n 's/^negotiated //p' "$log")
    local big_out big_in
    big_out=$(sed -n 's/^ok - json-text 1048576 (wire out \([0-9]*\), in \([0-9]*\),.*/\1/p' "$log")
    big_in=$(sed -n 's/^ok - json-text 1048576 (wire out \([0-9]*\), in \([0-9]*\),.*/\2/p' "$log")
    if [ "$rc" != 0 ]; then why="driver exit $rc: $(grep -E '^FAIL' "$log" | tail -n 1 | cut -c1-200)"
    elif [ "$(grep -c '^ok - ' "$log")" != 26 ]; then why="driver: $(grep -c '^ok - ' "$log") steps, expected 26"
    elif [ -n "$proxy" ] && ! grep -q '^ok - open (tunnel' "$log"; then why="no tunnel through $route reported"
    elif [ -z "$line" ]; then why="the server logged no connection for /deflate/$id"
    elif ! grep -q 'offer: permessage-deflate' <<<"$line"; then why="no permessage-deflate in the offer the server saw"
    elif ! grep -q 'answer: permessage-deflate' <<<"$line"; then why="the server did not answer permessage-deflate"
    elif ! grep -q "| params $params |" <<<"$line"; then srv=${line#*| params }; why="client settled '$params', the server '${srv%% |*}'"
    elif [ "$params" != "${EXPECT[$server,$offer]}" ]; then why="settled '$params', this server gives '${EXPECT[$server,$offer]}' for offer $offer"
    elif [[ $params != *cnct=1* ]] && ! grep -q '| messages 24 rsv1 24$' <<<"$line"; then
        why="server saw: ${line##*| }, expected messages 24 rsv1 24"
    elif [[ $params == *cnct=1* ]] && ! grep -qE '\| messages 24 rsv1 (1[2-9]|2[0-4])$' <<<"$line"; then
        # with client_no_context_takeover a message that does not shrink goes plain: the
        # 12 JSON messages at least come compressed
        why="server saw: ${line##*| }, expected messages 24 with 12 to 24 of them compressed"
    elif [ -z "$big_out" ] || (( big_out * 2 >= 1048576 || big_in * 2 >= 1048576 )); then
        why="1 MiB of JSON took ${big_out:-?} bytes out and ${big_in:-?} in on the wire"
    fi
    if [ -z "$why" ]; then
        echo "ok - $id ($params; 1 MiB JSON on the wire: $big_out out, $big_in in)"
        echo "pass $id $params json1MiB-out=$big_out json1MiB-in=$big_in | $line" >>"$OUT_DIR/results.txt"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL - $id: $why"
        echo "    command: $DRIVER --proxy '$proxy' --cacert $CERTS/ca.pem --timeout 30 --offer $offer $url"
        tail -n 8 "$log" | sed 's/^/    | /'
        [ -n "$line" ] && echo "    server: $line"
        [ -z "$line" ] && tail -n 5 "$OUT_DIR/$server.out" | sed 's/^/    server | /'
        echo "FAIL $id $why" >>"$OUT_DIR/results.txt"
        FAILED=$((FAILED + 1))
    fi
}

for route in direct squid microsocks; do
    for scheme in ws wss; do
        for server in py node; do cell "$server" "$scheme" "$route" default; done
    done
done
# the offer varied, one route each
for server in py node; do
    cell "$server" wss squid cnct
    cell "$server" ws microsocks sw10
    cell "$server" wss direct cw9
done

echo "interop-deflate: logs and results.txt in $OUT_DIR"
summary_and_exit
