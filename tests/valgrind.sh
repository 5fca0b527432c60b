#!/usr/bin/env bash
# wspcat under valgrind against the test peers: every scenario must exit with its usual
# code and valgrind must find no invalid access, no uninitialised use and no leak
#   valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible
# (exit 99 = valgrind found something; its report is printed).
# Peers as in tests/integration.sh: ephemeral 127.0.0.1 ports, port files, our PIDs killed
# on exit. Usage: bash tests/valgrind.sh (BUILD=dir). Ends with "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
WSPCAT=$BUILD/wspcat
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=vg IT_MAX_SECONDS=300
# the shared harness: $TMP, PIDS, CUR_PID, cleanup traps, start_peer, free_port
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"

if ! command -v valgrind >/dev/null; then
    echo "FAIL - valgrind is not installed (apt-get install valgrind)"
    echo "0 passed, 1 failed"
    exit 1
fi
for bin in "$WSPCAT" "$BUILD/ws_echo_server" "$BUILD/http_proxy" "$BUILD/evil_server" "$BUILD/socks_server"; do
    [[ -x $bin ]] || { echo "FAIL - $bin missing (make valgrind-test builds it)"; echo "0 passed, 1 failed"; exit 1; }
done

# the GSSAPI runs load mechanism plugins that keep memory for the process's life:
# tests/valgrind-gssapi.supp names those (deep stacks: --num-callers 40), nothing of
# wspcat's own
VG=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=40
    --suppressions=tests/valgrind-gssapi.supp)
VG_PRE=()   # a command before valgrind for one scenario (setsid -w: no terminal)

# Every run gets --linger 0.2 first (a later --linger wins): the end-of-input wait is
# wall time, and wspcat's default of 1 s would add a second to each scenario.
VG_LINGER=(--linger 0.2)

# vg NAME EXPECTED_RC INPUT ARGS...: one scenario
vg() {
    local name=$1 want=$2 input=$3 rc
    shift 3
    printf '%s' "$input" >"$TMP/in"
    timeout 120 "${VG_PRE[@]}" "${VG[@]}" --log-file="$TMP/vg.log" "$WSPCAT" "${VG_LINGER[@]}" "$@" <"$TMP/in" \
        >"$TMP/out" 2>"$TMP/err"
    rc=$?
    VG_PRE=()
    if [[ $rc == "$want" && ! -s $TMP/vg.log ]]; then
        echo "ok - $name (exit $rc, valgrind clean)"
        PASSED=$((PASSED + 1))
    else
        if [[ $rc == 99 ]]; then echo "FAIL - $name: valgrind found errors"
        else echo "FAIL - $name: exit $rc, expected $want"; fi
        head -n 60 "$TMP/vg.log" | sed 's/^/    | /'
        head -c 800 "$TMP/err" | sed 's/^/    | err: /'
        FAILED=$((FAILED + 1))
    fi
}

# vg_held NAME EXPECTED_RC ARGS...: stdin stays open until wspcat exits by itself
vg_held() {
    local name=$1 want=$2 rc
    shift 2
    rm -f "$TMP/fifo"; mkfifo "$TMP/fifo"
    timeout 120 "${VG[@]}" --log-file="$TMP/vg.log" "$WSPCAT" "$@" <"$TMP/fifo" >"$TMP/out" 2>"$TMP/err" &
    CUR_PID=$!
    exec 9>"$TMP/fifo"
    printf '%s' "$HELD_INPUT" >&9
    wait "$CUR_PID"; rc=$?
    CUR_PID=
    exec 9>&-
    if [[ $rc == "$want" && ! -s $TMP/vg.log ]]; then
        echo "ok - $name (exit $rc, valgrind clean)"; PASSED=$((PASSED + 1))
    else
        echo "FAIL - $name: exit $rc, expected $want"
        head -n 60 "$TMP/vg.log" | sed 's/^/    | /'
        FAILED=$((FAILED + 1))
    fi
}

E='' P='' A='' S403='' DRIP='' JUNK='' CLOSEMID='' SILENT='' L63='' EH='' P407='' CFS='' EVT='' ESIL=''
start_peer E echo "$BUILD/ws_echo_server" || summary_and_exit
start_peer P proxy "$BUILD/http_proxy" || summary_and_exit
start_peer A auth "$BUILD/http_proxy" --auth user:pa:ss || summary_and_exit
start_peer S403 s403 "$BUILD/http_proxy" --mode status403 || summary_and_exit
start_peer DRIP drip "$BUILD/http_proxy" --mode drip || summary_and_exit
start_peer JUNK junk "$BUILD/http_proxy" --mode junk || summary_and_exit
start_peer CLOSEMID closemid "$BUILD/http_proxy" --mode closemid || summary_and_exit
start_peer SILENT silent "$BUILD/http_proxy" --mode silent || summary_and_exit
start_peer L63 len63 "$BUILD/evil_server" --mode len63 --mode-seconds 3 || summary_and_exit
start_peer EH eheader "$BUILD/evil_server" --mode endless-header --mode-seconds 3 || summary_and_exit
start_peer P407 p407 "$BUILD/evil_server" --mode proxy407-huge --mode-seconds 3 || summary_and_exit
start_peer CFS cfs "$BUILD/evil_server" --mode close-first-slow --mode-seconds 5 || summary_and_exit
start_peer EVT evtext "$BUILD/evil_server" --mode evil-text --mode-seconds 3 || summary_and_exit
start_peer ESIL esilent "$BUILD/evil_server" --mode silent --mode-seconds 5 || summary_and_exit
TLS=''
start_peer TLS tls "$BUILD/ws_echo_server" --tls-cert tests/certs/target-chain.pem --tls-key tests/certs/target.key || summary_and_exit
WS=ws://127.0.0.1:$E/echo
HELLO=$'hello\nworld\n'
T0=$(date +%s)

vg "direct echo" 0 "$HELLO" "$WS"
vg "direct echo, --verbose --timing --ping 1" 0 "$HELLO" --verbose --timing --ping 1 "$WS"
vg "subprotocol offered" 0 "$HELLO" --protocol chat --print-protocol "$WS"
vg "echo through the proxy" 0 "$HELLO" --proxy "http://127.0.0.1:$P" "$WS"
vg "echo through the auth proxy" 0 "$HELLO" --proxy "http://user:pa%3Ass@127.0.0.1:$A" -H "Cookie: a=b" "$WS"
vg "big message 300000 bytes" 0 $'__big__ 300000\n' "$WS"
vg "long input line streamed (100 KiB)" 0 "$(head -c 102400 /dev/zero | tr '\0' 'y')"$'\n' "$WS"
vg "server ping answered" 0 $'__ping__ abc\n' "$WS"
HELD_INPUT=$'__close__ 1001 going away\n'
vg_held "server-initiated close" 0 "$WS"
vg "proxy wants auth (407)" 4 "$HELLO" --proxy "http://user:wrong@127.0.0.1:$A" "$WS"
vg "proxy 403" 3 "$HELLO" --proxy "http://127.0.0.1:$S403" "$WS"
vg "proxy drips its reply" 0 "$HELLO" --proxy "http://127.0.0.1:$DRIP" "$WS"
vg "junk after the 200" 5 "$HELLO" --proxy "http://127.0.0.1:$JUNK" "$WS"
vg "proxy closes mid-reply" 3 "$HELLO" --proxy "http://127.0.0.1:$CLOSEMID" "$WS"
vg "proxy silent, --timeout 1" 7 "$HELLO" --timeout 1 --proxy "http://127.0.0.1:$SILENT" "$WS"
vg "proxy refused" 2 "$HELLO" --proxy "http://127.0.0.1:$(free_port)" "$WS"
vg "server refused" 2 "$HELLO" "ws://127.0.0.1:$(free_port)/"
vg "bad URL" 1 "$HELLO" "ws://h:99999/"
vg "bad header" 1 "$HELLO" -H "NoColon" "$WS"
vg "usage error" 1 "$HELLO"
vg "wss:// with --cacert" 0 "$HELLO" --cacert tests/certs/ca.pem "wss://127.0.0.1:$TLS/"
vg "wss:// --insecure" 0 "$HELLO" --insecure "wss://127.0.0.1:$TLS/"
vg "wss:// untrusted (wrong CA)" 8 "$HELLO" --cacert tests/certs/proxy-ca.pem "wss://127.0.0.1:$TLS/"
vg "wss:// through the proxy" 0 "$HELLO" --cacert tests/certs/ca.pem --proxy "http://127.0.0.1:$P" "wss://127.0.0.1:$TLS/"
vg "evil len63" 6 "$HELLO" "ws://127.0.0.1:$L63/"
vg "evil endless header" 5 "$HELLO" "ws://127.0.0.1:$EH/"
vg "evil 407 with a 2 GiB body" 4 "$HELLO" --proxy "http://127.0.0.1:$P407" "ws://127.0.0.1:9/"
# the tool's own paths (tests/wspcat.sh checks what they print)
vg "close-first server, --linger 1: echoes kept" 0 "$HELLO" --linger 1 "ws://127.0.0.1:$CFS/"
vg "close-first server, --linger 0: echoes lost, noted" 0 "$HELLO" --linger 0 "ws://127.0.0.1:$CFS/"
vg "-1" 0 "$HELLO" -1 "$WS"
vg "--count 3, server closes after 1 (exit 9)" 9 $'a\n__close__ 1000 bye\n' --count 3 "$WS"
vg "-b, 100 KiB read by read (streamed)" 0 "$(head -c 102400 /dev/zero | tr '\0' 'y')" -b "$WS"
vg "escape sequences from the server, --escape -v" 0 "" --escape -v "ws://127.0.0.1:$EVT/"
vg "--cacert /dev/zero" 1 "$HELLO" --cacert /dev/zero "Wss://127.0.0.1:$TLS/"
vg "--show-proxy masked" 0 "" --proxy "http://u:pw@proxy:3128" --show-proxy "$WS"
vg "--show-proxy refused" 1 "" --proxy "http://u:p/w#x@proxy:3128" --show-proxy "$WS"
vg "unknown option" 1 "" --nonsense "$WS"
vg "--help" 0 "" --help
vg "--connect-timeout 1, silent server" 7 "$HELLO" --connect-timeout 1 "ws://127.0.0.1:$ESIL/"
HELD_INPUT=$'hello\n'
vg_held "--max-time 1 on an open connection" 7 --max-time 1 "$WS"

# proxy authentication (tests/wspcat.sh checks what these print)
PW='vg-pw:1'
AD='' ABD='' ACL='' ATOK='' ASK=''
start_peer AD adigest "$BUILD/http_proxy" --auth "alice:$PW" --auth-schemes digest || summary_and_exit
start_peer ABD abd "$BUILD/http_proxy" --auth "alice:$PW" --auth-schemes basic,digest || summary_and_exit
start_peer ACL aclose "$BUILD/http_proxy" --auth "alice:$PW" --auth-schemes digest --close-after-407 || summary_and_exit
start_peer ATOK atokens "$BUILD/http_proxy" --auth-schemes ntlm,negotiate --token-scheme Negotiate --token-round '*:' \
    --token-scheme NTLM --token-round "*:$(ntlm_challenge)" --token-round '*:' || summary_and_exit
start_peer ASK asocks "$BUILD/socks_server" --auth "alice:$PW" || summary_and_exit
vg "-U, --proxy-digest" 0 "$HELLO" -U "alice:$PW" --proxy-digest --proxy "http://127.0.0.1:$AD" "$WS"
vg "-U, --proxy-anyauth picks Digest, -v" 0 "$HELLO" -v -U "alice:$PW" --proxy-anyauth --proxy "http://127.0.0.1:$ABD" "$WS"
vg "close after the 407: a new connection" 0 "$HELLO" -U "alice:$PW" --proxy-digest --proxy "http://127.0.0.1:$ACL" "$WS"
vg "Digest, wrong password (exit 4)" 4 "$HELLO" -U alice:wrong --proxy-digest --proxy "http://127.0.0.1:$AD" "$WS"
vg "no credentials, --proxy-anyauth (exit 4)" 4 "$HELLO" --proxy-anyauth --proxy "http://127.0.0.1:$ABD" "$WS"
vg "only schemes not allowed (exit 4)" 4 "$HELLO" -U "alice:$PW" --proxy-digest --proxy "http://127.0.0.1:$ATOK" "$WS"
VG_PRE=(setsid -w)
vg "-U without a password, no terminal (exit 1)" 1 "$HELLO" -U alice --proxy "http://127.0.0.1:$AD" "$WS"
vg "socks5h:// with -U" 0 "$HELLO" -U "alice:$PW" --proxy "socks5h://127.0.0.1:$ASK" "$WS"
if "$WSPCAT" --version | grep -q 'NTLM and Negotiate (GSSAPI: '; then
    vg "GSSAPI: --proxy-ntlm, gss-ntlmssp" 0 "$HELLO" -U 'WSPDOM\alice:pw' --proxy-ntlm \
        --proxy "http://127.0.0.1:$ATOK" "$WS"
    printf '[libdefaults]\n    default_realm = WSPROXY.TEST\n' >"$TMP/krb5.conf"
    KRB5CCNAME=FILE:$TMP/no-ccache KRB5_CONFIG=$TMP/krb5.conf \
        vg "GSSAPI: --proxy-negotiate without a ticket (exit 4)" 4 "$HELLO" --proxy-negotiate \
        --proxy "http://localhost:$ATOK" "$WS"
else
    vg "no GSSAPI: --proxy-ntlm refused (exit 1)" 1 "" --proxy-ntlm --proxy "http://127.0.0.1:$ATOK" "$WS"
fi

echo "# valgrind wall time: $(( $(date +%s) - T0 )) s"
summary_and_exit
