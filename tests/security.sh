#!/usr/bin/env bash
# Secrets never leave wspcat's mouth: runs build/wspcat --verbose with a proxy URL that
# carries a password (and target headers with tokens) against the test peers, in the
# success, 407, refused, handshake-failure and bad-config paths, and checks that neither
# stdout nor stderr holds the password, its percent-encoded form, the base64 credentials
# or the header tokens. Peers as in tests/integration.sh (ephemeral ports, port files,
# our PIDs killed on exit). Ends with "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
WSPCAT=$BUILD/wspcat
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=sec IT_MAX_SECONDS=120
# the shared harness: $TMP, PIDS, cleanup traps, start_peer, free_port
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"

PASS_PLAIN='S3cret-pw!'            # the password as the proxy knows it
PASS_URL='S3cret-pw%21'            # as written in the URL
B64=$(printf '%s' "user:$PASS_PLAIN" | base64)
WRONG_PLAIN='Wr0ng-S3cret'
B64_WRONG=$(printf '%s' "user:$WRONG_PLAIN" | base64)
TOKEN='tok-S3cret-123'
COOKIE='sid-S3cret-456'

# check NAME EXPECTED_RC ARGS...: runs wspcat --verbose, then greps its output.
check() {
    local name=$1 want=$2 rc why=() s
    shift 2
    printf 'hello\n' | timeout 20 "$WSPCAT" --verbose --timing -H "Authorization: Bearer $TOKEN" \
        -H "Cookie: $COOKIE" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [[ $want == any || $rc == "$want" ]] || why+=("exit $rc, expected $want")
    for s in "$PASS_PLAIN" "$PASS_URL" "$B64" "$WRONG_PLAIN" "$B64_WRONG" "$TOKEN" "$COOKIE"; do
        if grep -qF -- "$s" "$TMP/out" "$TMP/err"; then why+=("output holds '$s'"); fi
    done
    # the trace shows the header's name and scheme, its value only as ***
    if cat "$TMP/out" "$TMP/err" | grep -v -E '^(proxy|server) > (Proxy-)?Authorization: ((Basic|Digest|NTLM|Negotiate) )?\*\*\*$' |
       grep -v -E '^server > Cookie: \*\*\*$' | grep -qiE 'authorization|cookie'; then
        why+=("output holds an Authorization or Cookie value")
    fi
    grep -qE '^server > Cookie: \*\*\*$' "$TMP/err" || [[ $want != 0 ]] || why+=("the trace lacks the redacted Cookie line")
    [[ -s $TMP/err ]] || why+=("--verbose printed nothing")
    if (( ${#why[@]} == 0 )); then
        echo "ok - $name"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL - $name: ${why[*]}"
        sed 's/^/    | /' "$TMP/err" | head -n 20
        FAILED=$((FAILED + 1))
    fi
}

for bin in "$WSPCAT" "$BUILD/ws_echo_server" "$BUILD/http_proxy"; do
    [[ -x $bin ]] || { echo "FAIL - $bin missing (make all)"; echo "0 passed, 1 failed"; exit 1; }
done
E='' A='' P=''
start_peer E echo "$BUILD/ws_echo_server" || summary_and_exit
start_peer A auth "$BUILD/http_proxy" --auth "user:$PASS_PLAIN" || summary_and_exit
WS=ws://127.0.0.1:$E/echo

check "verbose, auth proxy, success" 0 --proxy "http://user:$PASS_URL@127.0.0.1:$A" "$WS"
grep -q "^hello$" "$TMP/out" && { echo "ok - the echo came back"; PASSED=$((PASSED + 1)); } \
    || { echo "FAIL - no echo (the success path did not run)"; FAILED=$((FAILED + 1)); }
check "verbose, wrong password (407)" 4 --proxy "http://user:$WRONG_PLAIN@127.0.0.1:$A" "$WS"
check "verbose, proxy refused" 2 --proxy "http://user:$PASS_URL@127.0.0.1:$(free_port)" "$WS"
check "verbose, bad header with a secret proxy URL" 1 --proxy "http://user:$PASS_URL@127.0.0.1:$A" -H "Bad Header" "$WS"
check "verbose, handshake fails behind the proxy" 5 --proxy "http://user:$PASS_URL@127.0.0.1:$A" "ws://127.0.0.1:$A/"
check "verbose, socks5h proxy refused" 2 --proxy "socks5h://user:$PASS_URL@127.0.0.1:$(free_port)" "$WS"
check "verbose, -U user:password, success" 0 -U "user:$PASS_PLAIN" --proxy "http://127.0.0.1:$A" "$WS"
check "verbose, -U wrong password, --proxy-anyauth (407, then rejected)" 4 -U "user:$WRONG_PLAIN" --proxy-anyauth \
    --proxy "http://127.0.0.1:$A" "$WS"
check "verbose, -U with socks5h, proxy refused" 2 -U "user:$PASS_PLAIN" --proxy "socks5h://127.0.0.1:$(free_port)" "$WS"

# make demo prints its command lines: the demo password (in URLs and after -U) as ***
if timeout 120 bash scripts/demo.sh >"$TMP/demo" 2>&1; then
    if grep -q "s3cret" "$TMP/demo"; then
        echo "FAIL - make demo's output holds its password"; grep -n "s3cret" "$TMP/demo" | sed 's/s3cret/<secret>/g; s/^/    | /'
        FAILED=$((FAILED + 1))
    else
        echo "ok - make demo's output never holds its password"
        PASSED=$((PASSED + 1))
    fi
else
    echo "FAIL - make demo failed"; tail -5 "$TMP/demo" | sed 's/^/    | /'; FAILED=$((FAILED + 1))
fi

summary_and_exit
