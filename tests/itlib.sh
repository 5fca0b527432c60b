# shellcheck shell=bash
# The harness shared by tests/integration.sh, tests/integration_tls.sh,
# tests/integration_socks.sh, tests/examples.sh, tests/wspcat.sh and tests/valgrind.sh;
# sourced by them, never run.
#
# The suite cd's to the repo root and sets, before sourcing:
#   IT_NAME          the temp dir is ${TMPDIR:-/tmp}/wsproxy-$IT_NAME.XXXXXX (required)
#   IT_MAX_SECONDS   --max-seconds of every peer started by start_peer (default 120)
#   IT_SHOW_COMMAND  1: a failed check also prints "command: wspcat ARGS" (default 0)
#   IT_RC_TEXT       1: expect_rc explains the statuses of `timeout 20 wspcat` (124,
#                    125-127, signals); 0: it prints the bare number (default 1)
#   IT_PEER_STATE    1: a peer that wrote no port file is reported alive or exited
#                    (default 1)
#   IT_LINGER        run passes --linger IT_LINGER before its arguments (default 0.1; ""
#                    passes nothing). These suites test routes, not the end-of-input
#                    policy (tests/wspcat.sh does): wspcat's default of 1 s of quiet
#                    before it closes would add a second to every run, and the test
#                    peers answer in order, so a short linger loses nothing.
# and, before calling run or run_held, WSPCAT (the wspcat binary).
#
# Sourcing it unsets every proxy variable (wspcat reads them as curl does: the caller's
# must not steer the runs), so a suite variable named like one (HTTP_PROXY) is set after;
# makes $TMP; and traps EXIT, INT and TERM to kill exactly the PIDs it started (PIDS,
# CUR_PID) and remove $TMP.
#
# Every check prints "ok - NAME" or "FAIL - NAME: WHY"; summary_and_exit prints
# "N passed, N failed" and exits non-zero if anything failed.

: "${IT_NAME:?set IT_NAME before sourcing tests/itlib.sh}"
IT_MAX_SECONDS=${IT_MAX_SECONDS:-120}
IT_SHOW_COMMAND=${IT_SHOW_COMMAND:-0}
IT_RC_TEXT=${IT_RC_TEXT:-1}
IT_PEER_STATE=${IT_PEER_STATE:-1}
IT_LINGER=${IT_LINGER-0.1}

unset ws_proxy WS_PROXY wss_proxy WSS_PROXY http_proxy HTTP_PROXY https_proxy HTTPS_PROXY \
      all_proxy ALL_PROXY no_proxy NO_PROXY

PASSED=0
FAILED=0
PIDS=()      # peers we started (killed by PID on exit)
CUR_PID=     # a backgrounded wspcat run, if one is in flight
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-$IT_NAME.XXXXXX") || exit 1

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid
    if [[ -n $CUR_PID ]]; then
        kill "$CUR_PID" 2>/dev/null
        { wait "$CUR_PID"; } 2>/dev/null
    fi
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        { wait "$pid"; } 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

summary_and_exit() {
    echo "$PASSED passed, $FAILED failed"
    if (( FAILED > 0 )); then exit 1; fi
    exit 0
}

now_ms() { date +%s%3N; }

# require_binaries PATH...: one FAIL line (counted) per PATH that is not executable.
require_binaries() {
    local bin
    for bin in "$@"; do
        if [[ ! -x $bin ]]; then
            echo "FAIL - binaries: $bin is missing or not executable (build first, or set BUILD=dir)"
            FAILED=$((FAILED + 1))
        fi
    done
}

# ---------------------------------------------------------------- checks --
# begin NAME; expect_* ...; finish   -> one "ok"/"FAIL" line per check.
NAME=
WHY=()
begin() { NAME=$1; WHY=(); }
why() { WHY+=("$1"); }

# Relevant output of the last run, indented, size-limited.
show_output() {
    local f label path size
    if (( IT_SHOW_COMMAND )); then echo "    command: wspcat$CMDLINE"; fi
    echo "    exit status: $RC"
    for f in OUT ERR; do
        label=stdout; [[ $f == ERR ]] && label=stderr
        path=${!f}
        if [[ -s $path ]]; then
            size=$(wc -c <"$path")
            echo "    --- $label ($size bytes)"
            head -c 2000 "$path" | sed 's/^/    | /'
            echo
        else
            echo "    --- $label: (empty)"
        fi
    done
}

finish() {
    if (( ${#WHY[@]} == 0 )); then
        echo "ok - $NAME"
        PASSED=$((PASSED + 1))
    else
        local text=${WHY[0]} w
        for w in "${WHY[@]:1}"; do text+="; $w"; done
        echo "FAIL - $NAME: $text"
        show_output
        FAILED=$((FAILED + 1))
    fi
}

# fail_check NAME WHY [FILE]: a failed check that ran nothing; FILE is shown as its
# stderr.
fail_check() {
    begin "$1"
    why "$2"
    RC=n/a OUT=/dev/null ERR=${3:-/dev/null} CMDLINE=''
    finish
}

rc_text() {
    if (( ! IT_RC_TEXT )); then echo "$1"; return; fi
    case $1 in
        124) echo "124 (killed by timeout 20)" ;;
        12[5-7]) echo "$1 (could not run wspcat)" ;;
        1[3-9][0-9]) echo "$1 (killed by signal $(( $1 - 128 )))" ;;
        *) echo "$1" ;;
    esac
}

expect_rc() {
    [[ $RC == "$1" ]] || why "exit status $(rc_text "$RC"), expected $1"
}
expect_stdout() {   # exact bytes
    printf '%s' "$1" >"$TMP/expected"
    cmp -s "$TMP/expected" "$OUT" || why "stdout is not exactly $(printf '%q' "$1")"
}
expect_stdout_file() {   # exact bytes of a file (not shown when they differ)
    cmp -s "$1" "$OUT" || why "stdout differs from ${1##*/} ($(wc -c <"$1") bytes expected)"
}
expect_stdout_bytes() {
    local n
    n=$(wc -c <"$OUT")
    (( n == $1 )) || why "stdout has $n bytes, expected $1"
}
expect_stdout_has() {
    grep -qF -- "$1" "$OUT" || why "stdout lacks '$1'"
}
expect_stdout_lacks() {
    if grep -qF -- "$1" "$OUT"; then why "stdout contains '$1'"; fi
}
expect_stderr_has() {
    grep -qF -- "$1" "$ERR" || why "stderr lacks '$1'"
}
expect_stderr_lacks() {
    if grep -qF -- "$1" "$ERR"; then why "stderr contains '$1'"; fi
}
expect_stderr_match() {   # extended regex, whole line
    grep -qxE -- "$1" "$ERR" || why "no stderr line matches /$1/"
}
expect_text_has() {   # expect_text_has LABEL TEXT NEEDLE
    grep -qF -- "$3" <<<"$2" || why "$1 lacks '$3'"
}
expect_text_lacks() {
    if grep -qF -- "$3" <<<"$2"; then why "$1 contains '$3'"; fi
}
expect_text_match() {   # expect_text_match LABEL TEXT ERE (some line matches)
    grep -qE -- "$3" <<<"$2" || why "$1 has no line matching /$3/"
}
expect_line() {       # expect_line LABEL TEXT LINE: TEXT has exactly this line
    grep -qxF -- "$3" <<<"$2" || why "$1 has no line '$3'"
}
# expect_reached PEER MARK TEXT: PEER's log got a line containing TEXT since MARK
# (proves the traffic really went there).
expect_reached() {
    grep -qF -- "$3" <<<"$(log_since "$1" "$2")" || why "$1 log has no new '$3'"
}
# expect_untouched PEER MARK: PEER's log got nothing since MARK.
expect_untouched() {
    local rest
    rest=$(log_since "$1" "$2")
    [[ -z $rest ]] || why "$1 log got new lines: $(head -n 2 <<<"$rest" | tr '\n' '|')"
}
expect_faster_than() {
    (( ELAPSED_MS < $1 )) || why "took ${ELAPSED_MS} ms (limit $1 ms)"
}
expect_ms_between() {
    (( ELAPSED_MS >= $1 && ELAPSED_MS <= $2 )) || why "took ${ELAPSED_MS} ms (expected $1..$2 ms)"
}

# ----------------------------------------------------------------- peers --
# start_peer VAR NAME BINARY [ARGS...]: start on an ephemeral port, store the
# port in VAR.  Log in $TMP/NAME.log, stdout+stderr in $TMP/NAME.out.
start_peer() {
    local _var=$1 _name=$2 _bin=$3
    shift 3
    local _pf=$TMP/$_name.port _port='' _i _pid
    "$_bin" --port 0 --port-file "$_pf" --log "$TMP/$_name.log" \
        --max-seconds "$IT_MAX_SECONDS" "$@" >"$TMP/$_name.out" 2>&1 &
    _pid=$!
    PIDS+=("$_pid")
    for (( _i = 0; _i < 200; _i++ )); do          # at most ~10 s
        if [[ -s $_pf ]]; then
            _port=$(head -n 1 "$_pf")
            if [[ $_port =~ ^[0-9]+$ ]]; then
                printf -v "$_var" '%s' "$_port"
                return 0
            fi
        fi
        kill -0 "$_pid" 2>/dev/null || break
        sleep 0.05
    done
    local _why="no port file ${_pf##*/}"
    if (( IT_PEER_STATE )); then
        _why+=" (process $(kill -0 "$_pid" 2>/dev/null && echo alive || echo exited))"
    fi
    fail_check "start $_name ($_bin $*)" "$_why" "$TMP/$_name.out"
    return 1
}

# Number of lines currently in a peer log; log_since NAME MARK prints the rest;
# log_count NAME MARK REGEX counts the lines of the rest that match.
log_mark() { if [[ -f $TMP/$1.log ]]; then wc -l <"$TMP/$1.log"; else echo 0; fi; }
log_since() {
    [[ -f $TMP/$1.log ]] || return 0
    tail -n "+$(( $2 + 1 ))" "$TMP/$1.log" | tr -d '\r'
}
log_count() { log_since "$1" "$2" | grep -c -- "$3"; }
# First request head (lines between "=== request" and "=== end") of a text.
first_request() {
    awk '/^=== request/ { if (!seen) { inreq = 1; seen = 1 }; next }
         /^=== end/ { inreq = 0; next }
         inreq' <<<"$1"
}

# ------------------------------------------------------------------ runs --
OUT=$TMP/stdout
ERR=$TMP/stderr
RC=
CMDLINE=     # the arguments of the last wspcat run, quoted (for show_output)
ELAPSED_MS=0

# run_timed LIMIT STDIN COMMAND...: COMMAND under `timeout LIMIT`, stdin from the
# file STDIN, stdout and stderr into $OUT and $ERR; sets RC and ELAPSED_MS.
run_timed() {
    local limit=$1 input=$2 t0
    shift 2
    t0=$(now_ms)
    timeout "$limit" "$@" <"$input" >"$OUT" 2>"$ERR"
    RC=$?
    ELAPSED_MS=$(( $(now_ms) - t0 ))
}

set_cmdline() {
    CMDLINE=''
    (( $# == 0 )) || printf -v CMDLINE ' %q' "$@"
}

# run INPUT ARGS...: wspcat ARGS, stdin is INPUT (EOF right after it).
# (tests/examples.sh, whose runs are not wspcat, defines its own run.)
run() {
    printf '%s' "$1" >"$TMP/stdin"
    shift
    if [[ -n $IT_LINGER ]]; then set -- --linger "$IT_LINGER" "$@"; fi
    set_cmdline "$@"
    run_timed 20 "$TMP/stdin" "$WSPCAT" "$@"
}

# run_held INPUT ARGS...: like run, but stdin stays open (no EOF, so wspcat
# never starts the close itself) until wspcat exits on its own.
run_held() {
    printf '%s' "$1" >"$TMP/stdin"
    shift
    set_cmdline "$@"
    CMDLINE+=" (stdin held open)"
    rm -f "$TMP/fifo"
    mkfifo "$TMP/fifo" || { RC=fifo; return; }
    local t0
    t0=$(now_ms)
    timeout 20 "$WSPCAT" "$@" <"$TMP/fifo" >"$OUT" 2>"$ERR" &
    CUR_PID=$!
    exec 9>"$TMP/fifo"
    cat "$TMP/stdin" >&9 2>/dev/null
    wait "$CUR_PID"
    RC=$?
    CUR_PID=
    exec 9>&-
    ELAPSED_MS=$(( $(now_ms) - t0 ))
}

# A 127.0.0.1 port where nothing listens.
free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
        || echo 1
}

# ntlm_challenge: a valid NTLM CHALLENGE (type 2) message in base64, with the target
# information that gss-ntlmssp wants (MS-NLMP 2.2.1.2, 2.2.2.1), for the scripted NTLM
# proxy (tests/peers/http_proxy.c --token-round), which checks the client's message
# types; the NTLMv2 answer itself goes unchecked
ntlm_challenge() {
    python3 - <<'PY'
import base64, struct, time
def av(t, v): return struct.pack('<HH', t, len(v)) + v
u = lambda s: s.encode('utf-16-le')
target = u('WSPDOM')
stamp = struct.pack('<Q', int((time.time() + 11644473600) * 10000000))
info = (av(2, u('WSPDOM')) + av(1, u('PROXY')) + av(4, u('wspdom.test')) +
        av(3, u('proxy.wspdom.test')) + av(7, stamp) + av(0, b''))
# UNICODE, REQUEST_TARGET, NTLM, TARGET_TYPE_DOMAIN, EXTENDED_SESSIONSECURITY,
# TARGET_INFO, VERSION, 128, 56
flags = 0x1 | 0x4 | 0x200 | 0x10000 | 0x80000 | 0x800000 | 0x2000000 | 0x20000000 | 0x80000000
msg = b'NTLMSSP\0' + struct.pack('<I', 2) + struct.pack('<HHI', len(target), len(target), 56)
msg += struct.pack('<I', flags) + bytes(range(1, 9)) + bytes(8)
msg += struct.pack('<HHI', len(info), len(info), 56 + len(target)) + bytes([10, 0, 0x61, 0x4a, 0, 0, 0, 15])
print(base64.b64encode(msg + target + info).decode())
PY
}
