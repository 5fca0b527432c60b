#!/usr/bin/env bash
# wspcat as a tool (issue 15): the end-of-input policy (--linger against a server that
# answers a close before its echoes), -1 and --count with exit 9, binary round trips,
# escaping of everything a server controls, --show-proxy never printing a password,
# mixed-case schemes loading their CA files, capped file reads, --help / --version /
# option errors, --connect-timeout and --max-time, the manual page, and proxy
# authentication (issue 14): -U with Basic, Digest, --proxy-anyauth, proxies that close
# after their 407, 407 bodies, every exit-4 sentence, the password prompt on a pty and
# without a terminal, -U blanked from /proc/PID/cmdline, SOCKS5 with -U, and with
# GSSAPI NTLM through gss-ntlmssp and Negotiate without a ticket (a build without
# GSSAPI is checked to refuse them instead).
#
# Usage (from the repo root):  bash tests/wspcat.sh      (BUILD=dir for the binaries)
# Peers: tests/peers on ephemeral 127.0.0.1 ports (port files), killed by PID on exit.
# Every check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is
# "N passed, N failed" and the exit status is non-zero if anything failed.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck disable=SC2034  # read by tests/itlib.sh
IT_NAME=wspcat IT_MAX_SECONDS=120 IT_SHOW_COMMAND=1 IT_LINGER=''
# shellcheck source=tests/itlib.sh disable=SC1091
. "$ROOT/tests/itlib.sh"
WSPCAT=$BUILD/wspcat
# A failed check prints the command line: every test password holds "sEc", and is
# masked there
set_cmdline() {
    CMDLINE=''
    (( $# == 0 )) || printf -v CMDLINE ' %q' "$@"
    CMDLINE=$(sed -E 's/sEc[^ @]*/<secret>/g' <<<"$CMDLINE")
}
ECHO_SERVER=$BUILD/ws_echo_server
HTTP_PROXY_BIN=$BUILD/http_proxy
EVIL=$BUILD/evil_server
CERTS=tests/certs
MAN=docs/wspcat.1
RSS_LIMIT_KB=24576   # wspcat reading a 4 MiB-capped file: far below the gigabytes of an uncapped read

require_binaries "$WSPCAT" "$ECHO_SERVER" "$HTTP_PROXY_BIN" "$EVIL"
(( FAILED == 0 )) || summary_and_exit
SUITE_T0=$(now_ms)

# ---- helpers ----------------------------------------------------------------------------
# unsafe FILE [CR_OK]: prints why FILE is not safe to show on a terminal (a control
# character other than newline, a C1 or bidi control, invalid UTF-8), nothing when it is.
unsafe() {
    python3 - "$1" "${2:-0}" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
cr_ok = sys.argv[2] == '1'
try:
    text = data.decode('utf-8')
except UnicodeDecodeError as e:
    print("invalid UTF-8 at byte %d" % e.start)
    sys.exit()
for i, ch in enumerate(text):
    o = ord(ch)
    if ch == '\n' or (cr_ok and ch == '\r'):
        continue
    if o < 0x20 or 0x7f <= o <= 0x9f or o in (0x61c, 0x200e, 0x200f) \
            or 0x202a <= o <= 0x202e or 0x2066 <= o <= 0x2069:
        print("control character U+%04X at character %d" % (o, i))
        sys.exit()
PY
}
expect_safe() {   # expect_safe LABEL FILE [CR_OK]
    local u
    u=$(unsafe "$2" "${3:-0}")
    [[ -z $u ]] || why "$1 is not terminal-safe: $u"
}
# pty_run TTYFILE STDIN STDOUT ARGS...: wspcat ARGS on a pseudo-terminal, which is its
# controlling terminal (/dev/tty) and its stderr; stdin from the file STDIN, stdout to
# the file STDOUT or, when STDOUT is "-", to the terminal too. With TTY_PASSWORD in the
# environment (never an argument), that is typed, and Enter, once "password" shows on
# the terminal. What the terminal got goes to TTYFILE; sets RC. At most 15 s.
pty_run() {
    python3 - "$@" <<'PY'
import os, pty, select, signal, sys, time
ttyfile, stdin, stdout, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
password = os.environ.get('TTY_PASSWORD')
pid, fd = pty.fork()
if pid == 0:
    os.dup2(os.open(stdin, os.O_RDONLY), 0)
    if stdout != '-':
        os.dup2(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    os.execv(argv[0], argv)
got, end = b'', time.time() + 15
while time.time() < end:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        continue
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    got += chunk
    if password is not None and b'password' in got:
        os.write(fd, password.encode() + b'\n')
        password = None
if time.time() >= end:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
open(ttyfile, 'wb').write(got)
sys.exit(os.waitstatus_to_exitcode(status))
PY
    RC=$?
}
# on_tty OUTFILE ARGS...: wspcat with stdout and stderr on a pseudo-terminal (stdin
# /dev/null); what the terminal got goes to OUTFILE; sets RC.
on_tty() {
    local outfile=$1
    shift
    pty_run "$outfile" /dev/null - "$WSPCAT" "$@"
}
# max_rss_run LIMIT ARGS...: like run_timed with empty stdin, under /usr/bin/time;
# RSS_KB gets wspcat's maximum resident set.
max_rss_run() {
    local limit=$1
    shift
    set_cmdline "$@"
    : >"$TMP/empty"
    run_timed "$limit" "$TMP/empty" /usr/bin/time -f '%M' -o "$TMP/rss" "$WSPCAT" "$@"
    RSS_KB=$(tail -n 1 "$TMP/rss" 2>/dev/null)
    [[ $RSS_KB =~ ^[0-9]+$ ]] || RSS_KB=''
}
expect_rss_below() {
    if [[ -z $RSS_KB ]]; then why "no maximum RSS measured"
    elif (( RSS_KB >= $1 )); then why "maximum RSS ${RSS_KB} KiB (limit $1 KiB)"; fi
}
# no_run: the next check runs no wspcat (a failure shows no stale output)
no_run() { RC=n/a; CMDLINE=''; : >"$OUT"; : >"$ERR"; }
# cf_log PEER MARK: the close-first line of the connection(s) since MARK
cf_log() { log_since "$1" "$2" | grep 'close-first echoed' | tail -n 1; }

# ---- peers ------------------------------------------------------------------------------
E='' CF='' CFS='' EVT='' EVS='' P407E='' SIL='' P='' PSIL='' T='' PS=''
start_peer E    echo     "$ECHO_SERVER"                                     || summary_and_exit
start_peer CF   cf       "$EVIL" --mode close-first --mode-seconds 5        || summary_and_exit
start_peer CFS  cfs      "$EVIL" --mode close-first-slow --mode-seconds 5   || summary_and_exit
start_peer EVT  evtext   "$EVIL" --mode evil-text --mode-seconds 3          || summary_and_exit
start_peer EVS  evstatus "$EVIL" --mode evil-status --mode-seconds 3        || summary_and_exit
start_peer P407E p407e   "$EVIL" --mode proxy407-evil --mode-seconds 3      || summary_and_exit
start_peer SIL  silent   "$EVIL" --mode silent --mode-seconds 5             || summary_and_exit
start_peer P    proxy    "$HTTP_PROXY_BIN"                                  || summary_and_exit
start_peer PSIL psilent  "$HTTP_PROXY_BIN" --mode silent                    || summary_and_exit
start_peer T    tls      "$ECHO_SERVER" --tls-cert "$CERTS/target.pem" --tls-key "$CERTS/target.key" \
    || summary_and_exit
start_peer PS   ptls     "$HTTP_PROXY_BIN" --tls-cert "$CERTS/proxy.pem" --tls-key "$CERTS/proxy.key" \
    || summary_and_exit
WS=ws://127.0.0.1:$E/echo
FIVE=$'one\ntwo\nthree\nfour\nfive\n'
ED='' PA=''
start_peer ED   echodef  "$ECHO_SERVER" --deflate                           || summary_and_exit
start_peer PA   pauth    "$HTTP_PROXY_BIN" --auth alice:sEc9pw              || summary_and_exit

# ---- end of input: --linger -------------------------------------------------------------
# secret_in FILE: FILE holds a piece of a test secret. Every test secret is made of
# pieces that start "sEc" and a digit; the lines of -v that print random values (the
# WebSocket key and accept, a proxy's challenge with its nonce) are left out: a bare
# "sEc" once turned up in one of them by chance and failed a run.
secret_in() {
    grep -v -E '^(server|proxy) [<>] (Sec-WebSocket-(Key|Accept)|Proxy-Authenticate|WWW-Authenticate): ' "$1" |
        grep -qE 'sEc[0-9]'
}
# expect_no_secret_piece FILE: FILE ($OUT or $ERR) holds no piece of a test secret
expect_no_secret_piece() {
    if secret_in "$1"; then
        why "${1##*/} holds a piece of a test secret"
        sed -i -E 's/sEc[^ @]*/<secret>/g' "$1"
    fi
}

begin "close-first server, default --linger: every echo arrives, exit 0"
m=$(log_mark cf)
run "$FIVE" "ws://127.0.0.1:$CF/"
expect_rc 0
expect_stdout "$FIVE"
expect_text_has "server log" "$(cf_log cf "$m")" "echoed 5 discarded 0 closed 1"
expect_stderr_lacks "received"
finish

begin "close-first server with 100 ms echoes, default --linger: every echo arrives"
m=$(log_mark cfs)
run "$FIVE" "ws://127.0.0.1:$CFS/"
expect_rc 0
expect_stdout "$FIVE"
expect_text_has "server log" "$(cf_log cfs "$m")" "echoed 5 discarded 0 closed 1"
expect_ms_between 1000 5000   # one second of quiet after the last echo
finish

begin "close-first server through an HTTP proxy, default --linger: every echo arrives"
m=$(log_mark cfs)
mp=$(log_mark proxy)
run "$FIVE" --proxy "http://127.0.0.1:$P" "ws://127.0.0.1:$CFS/"
expect_rc 0
expect_stdout "$FIVE"
expect_reached proxy "$mp" "CONNECT 127.0.0.1:$CFS HTTP/1.1"
expect_text_has "server log" "$(cf_log cfs "$m")" "echoed 5 discarded 0"
finish

begin "--linger 0: closes at once; the server drops its echoes and wspcat says so (exit 0)"
m=$(log_mark cfs)
run "$FIVE" --linger 0 "ws://127.0.0.1:$CFS/"
expect_rc 0
expect_stdout ""
expect_stderr_match 'wspcat: sent 5 messages, received 0 before the close'
expect_text_has "server log" "$(cf_log cfs "$m")" "echoed 0 discarded 5 closed 1"
expect_faster_than 1000
finish

begin "--linger 0 against a server that answers in order: nothing lost, no note"
run "$FIVE" --linger 0 "$WS"
expect_rc 0
expect_stdout "$FIVE"
[[ -s $ERR ]] && why "stderr is not empty"
expect_faster_than 1000
finish

begin "--linger 0.3: closes 0.3 s after the last echo"
run "$FIVE" --linger 0.3 -v "ws://127.0.0.1:$CFS/"
expect_rc 0
expect_stdout "$FIVE"
expect_stderr_match '\* \[ *[0-9.]+ ms\] end of input, server quiet: closing \(1000\)'
expect_ms_between 300 1500
finish

begin "the server closes during the linger: exit 0 at once, its close is shown"
run $'hi\n__close__ 1001 going away\n' "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_stderr_has "closed by server: 1001 going away"
expect_faster_than 900
finish

# ---- -1 and --count ---------------------------------------------------------------------
begin "-1: sends one message, exits after the first reply"
m=$(log_mark cfs)
run "$FIVE" -1 "ws://127.0.0.1:$CFS/"
expect_rc 0
expect_stdout $'one\n'
expect_text_has "server log" "$(cf_log cfs "$m")" "echoed 1 discarded 0 closed 1"
expect_faster_than 1000   # no linger: the reply ends the run
finish

begin "--count 2: exits after two messages, drops the rest"
run "$FIVE" --count 2 "$WS"
expect_rc 0
expect_stdout $'one\ntwo\n'
finish

begin "--count 5 waits for the replies, not for --linger (0 here)"
m=$(log_mark cfs)
run "$FIVE" --count 5 --linger 0 "ws://127.0.0.1:$CFS/"
expect_rc 0
expect_stdout "$FIVE"
expect_text_has "server log" "$(cf_log cfs "$m")" "echoed 5 discarded 0"
finish

begin "--count 3, the server closes after 2 -> exit 9, named"
run $'a\nb\n__close__ 1000 done\n' --count 3 "$WS"
expect_rc 9
expect_stdout $'a\nb\n'
expect_stderr_has "wspcat: the server closed after 2 of 3 messages (--count)"
finish

begin "-1, the server closes before any reply -> exit 9"
run $'__close__ 1000 done\n' -1 "$WS"
expect_rc 9
expect_stdout ""
expect_stderr_has "wspcat: the server closed after 0 of 1 message (-1)"
finish

begin "--count 5 with 2 replies due: --max-time 1 bounds the wait -> exit 7"
run $'a\nb\n' --count 5 --max-time 1 "$WS"
expect_rc 7
expect_stdout $'a\nb\n'
expect_stderr_has "wspcat: --max-time 1 s reached"
expect_ms_between 900 4000
finish

# ---- binary -----------------------------------------------------------------------------
begin "-b: all 256 byte values (NUL included) round-trip as one binary message"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >"$TMP/bytes"
set_cmdline -b --linger 0 "$WS"
run_timed 20 "$TMP/bytes" "$WSPCAT" -b --linger 0 "$WS"
expect_rc 0
(( $(wc -c <"$TMP/bytes") == 256 )) || why "the test input has $(wc -c <"$TMP/bytes") bytes, not 256"
expect_stdout_file "$TMP/bytes"
[[ ${#WHY[@]} -eq 0 ]] || : >"$OUT"
finish

begin "-b: 300 KB of random bytes round-trip (messages of one read each, streamed)"
head -c 300000 /dev/urandom >"$TMP/random"
set_cmdline -b --linger 0 "$WS"
run_timed 20 "$TMP/random" "$WSPCAT" -b --linger 0 "$WS"
expect_rc 0
expect_stdout_file "$TMP/random"
[[ ${#WHY[@]} -eq 0 ]] || : >"$OUT"
finish

begin "-b --lines: one binary message per line, a newline after each reply"
printf 'a\000b\nc\377\n' >"$TMP/lines"
set_cmdline -b --lines --linger 0 "$WS"
run_timed 20 "$TMP/lines" "$WSPCAT" -b --lines --linger 0 "$WS"
expect_rc 0
expect_stdout_file "$TMP/lines"
finish

begin "text mode: a line that is not UTF-8 is skipped and named"
run $'ok\n\xff\xfe\nafter\n' --linger 0 "$WS"
expect_rc 0
expect_stdout $'ok\nafter\n'
expect_stderr_has "skipping input line 2: not UTF-8"
finish

# ---- escaping ---------------------------------------------------------------------------
ESCAPED_TEXT='title:\x1b]0;evil-title\x07 clear:\x1b[2J c1:\u009b31m bidi:\u202e end\\\t\r\n'
ESCAPED_BINARY='\x9b\x1b[2J\xff\xfe\xc3 end'

begin "--escape: the server's escape sequences reach stdout escaped, stderr safe (-v)"
run "" --escape -v "ws://127.0.0.1:$EVT/"
expect_rc 0
expect_stdout "$ESCAPED_TEXT"$'\n'"$ESCAPED_BINARY"$'\n'
expect_safe stdout "$OUT"
expect_safe stderr "$ERR"
expect_stderr_has 'pong \x1b]0;pong-title\x07\xff'
expect_stderr_has 'ping \x1b[2J ping\x9b'
expect_stderr_has 'closed by server: 4000 \x1b]0;close-title\x07\x1b[2J\u009b'
finish

begin "stdout a pipe (no --escape): messages raw, stderr still safe"
run "" -v "ws://127.0.0.1:$EVT/"
expect_rc 0
printf 'title:\033]0;evil-title\007 clear:\033[2J c1:\302\23331m bidi:\342\200\256 end\\\t\r\n\n\233\033[2J\377\376\303 end\n' >"$TMP/raw"
expect_stdout_file "$TMP/raw"
expect_safe stderr "$ERR"
finish

begin "stdout a terminal: escaped by default, nothing raw on the terminal"
on_tty "$TMP/tty" -v "ws://127.0.0.1:$EVT/"
expect_rc 0
expect_safe "terminal output" "$TMP/tty" 1
grep -qF 'title:\x1b]0;evil-title\x07' "$TMP/tty" || why "the terminal did not get the escaped message"
finish

begin "stdout a terminal with --no-escape: the message goes raw (as asked), stderr lines stay escaped"
on_tty "$TMP/tty" --no-escape -v "ws://127.0.0.1:$EVT/"
expect_rc 0
grep -qF $'\033]0;evil-title' "$TMP/tty" || why "the raw message did not reach the terminal"
grep -qF 'closed by server: 4000 \x1b]0;close-title' "$TMP/tty" || why "the close reason is not escaped"
finish

begin "-b: binary messages raw on stdout, stderr safe"
run "" -b -v "ws://127.0.0.1:$EVT/"
expect_rc 0
printf 'title:\033]0;evil-title\007 clear:\033[2J c1:\302\23331m bidi:\342\200\256 end\\\t\r\n\233\033[2J\377\376\303 end' >"$TMP/raw"
expect_stdout_file "$TMP/raw"
expect_safe stderr "$ERR"
finish

begin "upgrade refused with escape sequences in status line and header -> exit 5, stderr safe"
run $'x\n' -v "ws://127.0.0.1:$EVS/"
expect_rc 5
expect_stderr_has "403"
expect_safe stderr "$ERR"
finish

begin "proxy 407 with escape sequences in status line and Proxy-Authenticate -> exit 4, stderr safe"
run $'x\n' -v --proxy "http://127.0.0.1:$P407E" "$WS"
expect_rc 4
expect_stderr_has "407"
expect_safe stderr "$ERR"
finish

# ---- -v: the HTTP heads, never a credential; --compress ---------------------------------
begin "-v shows each head line of both hops; credentials and cookies as ***"
run $'x\n' -v -U alice:sEc9pw -H 'Authorization: Bearer sEc7tok' -H 'Cookie: sid=sEc8' \
    --proxy "http://127.0.0.1:$PA" "$WS"
expect_rc 0
expect_stderr_has "proxy > CONNECT 127.0.0.1:$E HTTP/1.1"
expect_stderr_has "proxy > Proxy-Authorization: Basic ***"
expect_stderr_has "proxy < HTTP/1.1 200"
expect_stderr_has "server > GET /echo HTTP/1.1"
expect_stderr_has "server > Authorization: ***"
expect_stderr_has "server > Cookie: ***"
expect_stderr_has "server < HTTP/1.1 101 Switching Protocols"
expect_no_secret_piece "$ERR"
finish

begin "--compress: permessage-deflate settled, every message compressed both ways, -v says so"
m=$(log_mark echodef)
run "$FIVE" -v --compress "ws://127.0.0.1:$ED/echo"
expect_rc 0
expect_stdout "$FIVE"
expect_stderr_has "server > Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
expect_stderr_has "* permessage-deflate: server window 15 bits, client window 15 bits"
n=$(log_count echodef "$m" '=== rsv1-message: ')
[[ $n == 5 ]] || why "the server inflated $n messages, not 5"
finish

begin "--compress against a server without it: declined, said with -v, the echo still works"
run $'plain\n' -v --compress "$WS"
expect_rc 0
expect_stdout $'plain\n'
expect_stderr_has "permessage-deflate: declined by the server"
finish

begin "a server name that does not resolve: exit 2, named as such, nothing sent"
run $'x\n' ws://no-such-host.invalid/
expect_rc 2
expect_stderr_has "WSPROXY_E_CONNECT_NAME: the server's host name did not resolve"
finish

begin "a proxy name that does not resolve: exit 2, the proxy's name named"
run $'x\n' -x http://no-such-proxy.invalid:3128 "$WS"
expect_rc 2
expect_stderr_has "WSPROXY_E_PROXY_NAME: the proxy's host name did not resolve"
finish

begin "a refused connect to the proxy is named as refused (errno given to the library)"
run $'x\n' -x "http://127.0.0.1:$(free_port)" "$WS"
expect_rc 2
expect_stderr_has "connection refused (os error"
finish

# ---- --show-proxy and passwords ---------------------------------------------------------
# Every password below is made of pieces holding "sEc", so any piece of one in the
# output is caught; the user name and host hold no "sEc".
begin "--show-proxy masks a password: http://alice:***@proxy:3128"
run "" --proxy 'http://alice:sEc1pw@proxy:3128' --show-proxy ws://example.com/
expect_rc 0
expect_stdout $'http://alice:***@proxy:3128\n'
expect_no_secret_piece "$ERR"
finish

BAD_PROXIES=(
    'http://alice:sEc1/sEc2#sEc3@proxy:3128'   # the issue's case: / and # in the password
    'http://alice:sEc1/sEc2@proxy:3128'
    'http://alice:sEc1?sEc2@proxy:3128'
    'http://alice:sEc1#sEc2@proxy:3128'
    'http://alice:sEc1 sEc2@proxy:3128'
    'http://alice:sEc1%zzsEc2@proxy:3128'      # bad percent escape
    'http://alice:sEc1%0asEc2@proxy:3128'      # encoded LF
    $'http://alice:sEc1\r\nsEc2@proxy:3128'    # raw CR LF
    'http://alice:sEc1@proxy:99999'            # bad port
    'http://alice:sEc1@proxy:sEc2'             # port not a number
    'http://alice:sEc1@'                       # no host
    'http://alice:sEc1@proxy:3128/sEc2'        # a path
    'http://alice:sEc1@proxy:3128?sEc2'        # a query
    'http://alice:sEc1@[::1:3128'              # broken IPv6 literal
    'ftp://alice:sEc1@proxy:21'                # unknown scheme
    'http:/alice:sEc1@proxy:3128'              # one slash
    "http://alice:sEc1$(printf 'x%.0s' {1..2100})@proxy:3128"   # over the URL limit
)
i=0
for p in "${BAD_PROXIES[@]}"; do
    i=$((i + 1))
    begin "--show-proxy refuses malformed proxy URL $i without printing it"
    run "" -v --proxy "$p" --show-proxy ws://example.com/
    expect_rc 1
    expect_stdout ""
    expect_stderr_has "proxy URL (--proxy) does not parse"
    expect_no_secret_piece "$ERR"
    finish
done

GOOD_PROXIES=(
    'http://alice:sEc1pw@proxy:3128|http://alice:***@proxy:3128'
    'HTTP://alice:sEc1pw@proxy:3128|HTTP://alice:***@proxy:3128'
    'https://alice:sEc1%2Fpw@proxy|https://alice:***@proxy'
    'socks5h://alice:sEc1pw@proxy:1080|socks5h://alice:***@proxy:1080'
    'socks5://alice:sEc1pw@[::1]:1080|socks5://alice:***@[::1]:1080'
    'alice:sEc1pw@proxy:3128|alice:***@proxy:3128'
    'http://:sEc1pw@proxy:3128|http://:***@proxy:3128'
    'http://alice:@proxy:3128|http://alice:***@proxy:3128'
    'http://alice@proxy:3128|http://alice@proxy:3128'
)
for pair in "${GOOD_PROXIES[@]}"; do
    p=${pair%%|*} want=${pair#*|}
    begin "--show-proxy prints $want"
    run "" --proxy "$p" --show-proxy ws://example.com/
    expect_rc 0
    expect_stdout "$want"$'\n'
    expect_no_secret_piece "$ERR"
    finish
done

begin "--show-proxy: a malformed proxy in \$https_proxy is refused, named by variable, not printed"
set_cmdline --show-proxy wss://example.com/
: >"$TMP/empty"
run_timed 20 "$TMP/empty" env -i PATH="$PATH" https_proxy='http://alice:sEc1/sEc2#sEc3@proxy:3128' \
    "$WSPCAT" -v --show-proxy wss://example.com/
expect_rc 1
# shellcheck disable=SC2016  # a literal $ in wspcat's message
expect_stderr_has 'the proxy URL (from $https_proxy) does not parse'
expect_no_secret_piece "$ERR"
expect_stdout ""
finish

begin "--show-proxy: \$ws_proxy masked"
run_timed 20 "$TMP/empty" env -i PATH="$PATH" ws_proxy='http://bob:sEc1@proxy:8080' \
    "$WSPCAT" --show-proxy ws://example.com/
expect_rc 0
expect_stdout $'http://bob:***@proxy:8080\n'
finish

begin "a run with a malformed --proxy: exit 1, which URL is wrong, no password, nothing sent"
mp=$(log_mark proxy)
run $'x\n' -v --proxy "http://alice:sEc1/sEc2#sEc3@127.0.0.1:$P" "$WS"
expect_rc 1
expect_stderr_has "the proxy URL (--proxy) does not parse"
expect_no_secret_piece "$ERR"
expect_no_secret_piece "$OUT"
expect_untouched proxy "$mp"
finish

begin "a malformed target URL is named as such"
run $'x\n' 'ws://127.0.0.1:99999/'
expect_rc 1
expect_stderr_has "wspcat: the URL does not parse: WSPROXY_E_URL_PORT"
finish

begin "--show-proxy: --proxy \"\" and NO_PROXY give DIRECT, -v says why"
run "" --proxy '' --show-proxy ws://example.com/
expect_rc 0
expect_stdout $'DIRECT\n'
run "" -v --proxy 'http://alice:sEc1@proxy:3128' --noproxy example.com --show-proxy ws://www.example.com/
expect_rc 0
expect_stdout $'DIRECT\n'
expect_stderr_has "* --proxy not used: --noproxy covers the server's host"
expect_no_secret_piece "$ERR"
finish

# ---- mixed-case schemes load their CA files ----------------------------------------------
for scheme in Wss WSS wSs; do
    begin "$scheme:// loads --cacert: echo"
    m=$(log_mark tls)
    run $'hello\n' --linger 0 --cacert "$CERTS/ca.pem" "$scheme://localhost:$T/echo"
    expect_rc 0
    expect_stdout $'hello\n'
    expect_reached tls "$m" "GET /echo HTTP/1.1"
    finish
done
begin "Wss:// reads --cacert (a bad file is reported, nothing sent)"
m=$(log_mark tls)
run $'hello\n' --cacert /dev/null "Wss://localhost:$T/echo"
expect_rc 1
expect_stderr_has "--cacert /dev/null: no usable certificates"
expect_untouched tls "$m"
finish
for scheme in Https HTTPS hTTpS; do
    begin "$scheme:// proxy loads --proxy-cacert: echo through it"
    m=$(log_mark ptls)
    run $'hello\n' --linger 0 --proxy-cacert "$CERTS/proxy-ca.pem" --proxy "$scheme://localhost:$PS" "$WS"
    expect_rc 0
    expect_stdout $'hello\n'
    expect_reached ptls "$m" "CONNECT 127.0.0.1:$E HTTP/1.1"
    finish
done
begin "Wss:// through an Https:// proxy: both CA files loaded (TLS inside TLS)"
run $'hello\n' --linger 0 --cacert "$CERTS/ca.pem" --proxy-cacert "$CERTS/proxy-ca.pem" \
    --proxy "Https://localhost:$PS" "Wss://localhost:$T/echo"
expect_rc 0
expect_stdout $'hello\n'
finish

# ---- files: capped size, bounded time and memory -----------------------------------------
begin "--cacert /dev/zero fails fast with bounded memory"
max_rss_run 20 --cacert /dev/zero "wss://127.0.0.1:$(free_port)/"
expect_rc 1
expect_stderr_has "--cacert /dev/zero: more than 4 MiB"
expect_faster_than 3000
expect_rss_below "$RSS_LIMIT_KB"
finish

begin "--proxy-cacert /dev/zero fails fast with bounded memory"
max_rss_run 20 --proxy-cacert /dev/zero --proxy "https://127.0.0.1:$(free_port)" "ws://127.0.0.1:$E/"
expect_rc 1
expect_stderr_has "--proxy-cacert /dev/zero: more than 4 MiB"
expect_faster_than 3000
expect_rss_below "$RSS_LIMIT_KB"
finish

begin "--cacert an endless FIFO fails fast with bounded memory"
mkfifo "$TMP/endless"
( exec timeout 20 yes 'not a certificate' >"$TMP/endless" ) 2>/dev/null &
writer=$!
PIDS+=("$writer")
max_rss_run 20 --cacert "$TMP/endless" "wss://127.0.0.1:$(free_port)/"
kill "$writer" 2>/dev/null
expect_rc 1
expect_stderr_has "more than 4 MiB"
expect_faster_than 3000
expect_rss_below "$RSS_LIMIT_KB"
finish

begin "--cacert a FIFO that never ends nor writes: gives up after 5 s"
mkfifo "$TMP/quiet"
exec 8<>"$TMP/quiet"   # a writer that stays silent
max_rss_run 20 --cacert "$TMP/quiet" "wss://127.0.0.1:$(free_port)/"
exec 8>&-
expect_rc 1
expect_stderr_has "no end of file after 5 s"
expect_ms_between 4500 8000
finish

begin "--cacert a 5 MiB regular file is refused before reading"
truncate -s 5M "$TMP/big.pem"
max_rss_run 20 --cacert "$TMP/big.pem" "wss://127.0.0.1:$(free_port)/"
expect_rc 1
expect_stderr_has "larger than 4 MiB"
expect_rss_below "$RSS_LIMIT_KB"
finish

begin "--cacert a directory or a missing file: named"
run "" --cacert tests "wss://127.0.0.1:$(free_port)/"
expect_rc 1
expect_stderr_has "--cacert tests: is a directory"
run "" --cacert "$TMP/none.pem" "wss://127.0.0.1:$(free_port)/"
expect_rc 1
expect_stderr_match "wspcat: --cacert .*/none.pem: cannot open: No such file or directory"
finish

# ---- proxy authentication: -U, the schemes, reconnects, what exit 4 says -------------------
# The test proxy (tests/peers/http_proxy.c) in its authentication modes. The password
# holds ':' (wspcat splits -U at the first one) and "%41" (never decoded: -U is taken
# as it is), and "sEc" as above, so any piece of it in an output is caught.
PW='sEc9-pw:x%41'
PW_WRONG='sEc8-wrong'
B64_PW=$(printf 'alice:%s' "$PW" | base64)
PW_SHA=$(printf '%s' "$PW" | sha256sum | cut -c1-16)
# expect_no_secret: neither output holds a password, a piece of one, Basic credentials
# or a Proxy-Authorization value other than the trace's "SCHEME ***" (when one does, it
# is masked before the failure shows the output)
expect_no_secret() {
    local f
    for f in "$OUT" "$ERR"; do
        if secret_in "$f" || grep -qF -e "$B64_PW" -e "response=" "$f" ||
           grep -v -E 'Proxy-Authorization: (Basic|Digest|NTLM|Negotiate) \*\*\*'$'\r''?$' "$f" | grep -qF "Proxy-Authorization"; then
            why "${f##*/} holds a secret (a password, credentials or a Proxy-Authorization value)"
            sed -i -E -e 's/sEc[^ @]*/<secret>/g' -e "s|$B64_PW|<secret>|g" "$f"
        fi
    done
}
# expect_conns PEER MARK N: PEER got N TCP connections since MARK
expect_conns() {
    local n
    n=$(log_since "$1" "$2" | grep -o '^=== request conn: [0-9]*' | sort -u | wc -l)
    (( n == $3 )) || why "$n connections to $1, expected $3"
}
# on_tty_password ARGS...: wspcat with a pseudo-terminal as /dev/tty and stderr, stdin
# $TMP/stdin, stdout $OUT; the password is typed at the prompt. What the terminal
# showed goes to $ERR; RC is wspcat's status.
on_tty_password() {
    set_cmdline "$@"
    CMDLINE+=" (password typed on a pty)"
    TTY_PASSWORD=$PW pty_run "$ERR" "$TMP/stdin" "$OUT" "$WSPCAT" "$@"
}
# no_tty ARGS...: wspcat in a session of its own, without a controlling terminal
no_tty() {
    printf '%s' "$1" >"$TMP/stdin"
    shift
    set_cmdline "$@"
    CMDLINE+=" (no terminal: setsid)"
    run_timed 20 "$TMP/stdin" setsid -w "$WSPCAT" "$@"
}
GSS=0
"$WSPCAT" --version | grep -q 'NTLM and Negotiate (GSSAPI: ' && GSS=1
NTLM_CHALLENGE=$(ntlm_challenge)
PB='' PD='' PBD='' PCL='' PTC='' PCS='' P10='' PCH='' PTOK='' PSTALE='' P401='' PMAL='' SK=''
start_peer PB     pbasic   "$HTTP_PROXY_BIN" --auth "alice:$PW"                                        || summary_and_exit
start_peer PD     pdigest  "$HTTP_PROXY_BIN" --auth "alice:$PW" --auth-schemes digest \
    --digest-algorithm SHA-256 --digest-opaque op-7                                                     || summary_and_exit
start_peer PBD    pbd      "$HTTP_PROXY_BIN" --auth "alice:$PW" --auth-schemes basic,digest            || summary_and_exit
start_peer PCL    pclose   "$HTTP_PROXY_BIN" --auth "alice:$PW" --auth-schemes digest --close-after-407 || summary_and_exit
start_peer PCS    psilentc "$HTTP_PROXY_BIN" --auth "alice:$PW" --auth-schemes digest \
    --close-after-407-silent                                                                            || summary_and_exit
start_peer P10    phttp10  "$HTTP_PROXY_BIN" --auth "alice:$PW" --auth-schemes digest --http10-407     || summary_and_exit
start_peer PTC    ptlsclose "$HTTP_PROXY_BIN" --tls-cert "$CERTS/proxy.pem" --tls-key "$CERTS/proxy.key" \
    --auth "alice:$PW" --auth-schemes digest --close-after-407                                         || summary_and_exit
start_peer PCH    pchunked "$HTTP_PROXY_BIN" --auth "alice:$PW" --auth-schemes digest --407-body chunked \
    --407-body-bytes 300                                                                                || summary_and_exit
start_peer PTOK   ptokens  "$HTTP_PROXY_BIN" --auth-schemes negotiate,ntlm \
    --token-scheme Negotiate --token-round '*:' \
    --token-scheme NTLM --token-round "*:$NTLM_CHALLENGE" --token-round '*:'                           || summary_and_exit
start_peer PSTALE pstale   "$HTTP_PROXY_BIN" --auth "alice:$PW" --auth-schemes digest --digest-stale 100 || summary_and_exit
start_peer P401   p401     "$HTTP_PROXY_BIN" --auth "alice:$PW" --status401                             || summary_and_exit
start_peer PMAL   pmalformed "$EVIL" --mode proxy407-malformed --mode-seconds 3                         || summary_and_exit
start_peer SK     socks    "$BUILD/socks_server" --auth "alice:$PW"                                     || summary_and_exit

begin "-U user:password (Basic, the default): echo; the proxy got the password exactly; -v names the scheme, never the password or the Proxy-Authorization value"
m=$(log_mark pbasic)
run $'hi\n' --linger 0 -v -U "alice:$PW" -x "http://127.0.0.1:$PB" "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_stderr_has "* proxy authentication: Basic (sent with the first CONNECT)"
expect_stderr_match '\* \[ *[0-9.]+ ms\] tunnel up \(HTTP 200\) after 1 request, authenticated with Basic'
expect_reached pbasic "$m" "=== basic-credentials: user=alice password-sha256=$PW_SHA"
expect_reached pbasic "$m" "=== auth-ok: Basic"
expect_no_secret
finish

begin "-U wins over the proxy URL's credentials"
m=$(log_mark pbasic)
run $'hi\n' --linger 0 -U "alice:$PW" -x "http://bob:sEc7-old@127.0.0.1:$PB" "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_reached pbasic "$m" "=== auth-ok: Basic"
expect_no_secret
finish

begin "-U --proxy-digest: a first CONNECT without credentials, Digest (SHA-256, opaque) on the same connection"
m=$(log_mark pdigest)
run $'hi\n' --linger 0 -v -U "alice:$PW" --proxy-digest -x "http://127.0.0.1:$PD" "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_reached pdigest "$m" "=== digest-param: algorithm=SHA-256"
expect_reached pdigest "$m" "=== digest-param: opaque=op-7"
expect_reached pdigest "$m" "=== auth-ok: Digest conn:"
expect_conns pdigest "$m" 1
expect_stderr_match '\* \[ *[0-9.]+ ms\] tunnel up \(HTTP 200\) after 2 requests, authenticated with Digest'
expect_no_secret
finish

for opts in "--proxy-anyauth" "--proxy-basic --proxy-digest"; do
    begin "$opts: the proxy offers Basic first, then Digest: Digest is picked, no Basic credentials sent"
    m=$(log_mark pbd)
    # shellcheck disable=SC2086  # the options split on purpose
    run $'hi\n' --linger 0 -U "alice:$PW" $opts -x "http://127.0.0.1:$PBD" "$WS"
    expect_rc 0
    expect_stdout $'hi\n'
    expect_reached pbd "$m" "=== auth-ok: Digest"
    (( $(log_count pbd "$m" '=== basic-credentials') == 0 )) || why "Basic credentials were sent"
    expect_no_secret
    finish
done

# a proxy that closes without saying so gets the Digest answer on the old connection
# first (request 2, lost), then again on the new one (request 3)
for case in "pclose:$PCL:2:Connection: close" "psilentc:$PCS:3:a silent close" "phttp10:$P10:2:HTTP/1.0"; do
    IFS=: read -r peer port req how <<<"$case"
    begin "the proxy closes after its 407 ($how): wspcat connects again, Digest on the second connection"
    m=$(log_mark "$peer")
    run $'hi\n' --linger 0 -v --connect-timeout 5 -U "alice:$PW" --proxy-digest -x "http://127.0.0.1:$port" "$WS"
    expect_rc 0
    expect_stdout $'hi\n'
    expect_stderr_has "the proxy closes the connection after its 407: connecting again for request $req"
    expect_reached "$peer" "$m" "=== auth-ok: Digest"
    expect_conns "$peer" "$m" 2
    expect_no_secret
    finish
done

begin "an https:// proxy that closes after its 407: a new connection whose TLS handshake resumes the first's, then Digest"
m=$(log_mark ptlsclose)
run $'hi\n' --linger 0 -v -U "alice:$PW" --proxy-digest --proxy-cacert "$CERTS/proxy-ca.pem" \
    -x "https://localhost:$PTC" "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_stderr_has "the proxy closes the connection after its 407: connecting again for request 2"
(( $(grep -c 'TLS to the proxy done' "$ERR") == 2 )) || why "not two TLS handshakes with the proxy"
# the library resumes the proxy hop's session by itself on the new connection (the peer
# keeps sessions): the proxy logged one full and one resumed handshake, wspcat -v said so
(( $(log_count ptlsclose "$m" '^=== resumed: no') == 1 && $(log_count ptlsclose "$m" '^=== resumed: yes') == 1 )) ||
    why "the proxy did not log one full and one resumed handshake"
(( $(grep -c 'TLS to the proxy done (ALPN [^,]*, session resumed)' "$ERR") == 1 )) || why "wspcat -v did not say the second handshake resumed"
expect_reached ptlsclose "$m" "=== auth-ok: Digest"
expect_conns ptlsclose "$m" 2
expect_no_secret
finish

begin "a 407 with a chunked body (with a false 200 in it) is skipped: Digest on the same connection"
m=$(log_mark pchunked)
run $'hi\n' --linger 0 -U "alice:$PW" --proxy-digest -x "http://127.0.0.1:$PCH" "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_reached pchunked "$m" "=== auth-ok: Digest"
expect_conns pchunked "$m" 1
finish

begin "a wrong password, Digest: exit 4, the proxy rejected these credentials (Digest, round 2)"
run $'hi\n' -v -U "alice:$PW_WRONG" --proxy-digest -x "http://127.0.0.1:$PD" "$WS"
expect_rc 4
expect_stderr_has "WSPROXY_E_PROXY_AUTH_REJECTED"
expect_stderr_has "wspcat: the proxy rejected these credentials (Digest, round 2)"
expect_safe stderr "$ERR"
expect_no_secret
finish

begin "a wrong password, Basic: exit 4, rejected (Basic, round 1)"
run $'hi\n' -v -U "alice:$PW_WRONG" -x "http://127.0.0.1:$PB" "$WS"
expect_rc 4
expect_stderr_has "wspcat: the proxy rejected these credentials (Basic, round 1)"
expect_no_secret
finish

begin "no credentials, --proxy-anyauth: exit 4, no credentials were sent, the offered schemes named"
run $'hi\n' --proxy-anyauth -x "http://127.0.0.1:$PBD" "$WS"
expect_rc 4
expect_stderr_has "WSPROXY_E_PROXY_AUTH:"
expect_stderr_has "wspcat: no credentials were sent; the proxy offers Digest, Basic (give a user with -U USER)"
finish

begin "only Negotiate and NTLM offered, --proxy-digest: exit 4, the offered schemes listed"
run $'hi\n' -U "alice:$PW" --proxy-digest -x "http://127.0.0.1:$PTOK" "$WS"
expect_rc 4
expect_stderr_has "WSPROXY_E_PROXY_AUTH_SCHEME"
expect_stderr_has "wspcat: the proxy offers only schemes you did not allow: Negotiate, NTLM (allowed: Digest"
expect_no_secret
finish

begin "Basic alone (sent unasked) to a Digest-only proxy: exit 4, named as a scheme not allowed, not as a wrong password"
run $'hi\n' -U "alice:$PW" -x "http://127.0.0.1:$PD" "$WS"
expect_rc 4
expect_stderr_has "wspcat: the proxy offers only schemes you did not allow: Digest (allowed: Basic; it refused the Basic credentials sent with request 1); see --proxy-anyauth"
expect_no_secret
finish

begin "a proxy that answers every Digest response with stale=true: exit 4 after 4 requests"
m=$(log_mark pstale)
run $'hi\n' -U "alice:$PW" --proxy-digest -x "http://127.0.0.1:$PSTALE" "$WS"
expect_rc 4
expect_stderr_has "WSPROXY_E_PROXY_AUTH_ROUNDS"
expect_stderr_has "wspcat: the proxy still asked for authentication after 4 requests (Digest)"
(( $(log_count pstale "$m" '=== auth-stale') == 3 )) || why "$(log_count pstale "$m" '=== auth-stale') stale answers, expected 3"
expect_no_secret
finish

begin "a malformed challenge: exit 4, named, shown escaped"
run $'hi\n' -U "alice:$PW" --proxy-anyauth -x "http://127.0.0.1:$PMAL" "$WS"
expect_rc 4
expect_stderr_has "WSPROXY_E_PROXY_AUTH_CHALLENGE"
expect_stderr_has "wspcat: the proxy's authentication challenge is malformed (as shown above)"
expect_stderr_has 'Proxy-Authenticate: Digest realm="evil", nonce="no end'
expect_no_secret
finish

begin "a proxy that answers 401: exit 4, its WWW-Authenticate named, rejected (Basic, round 1)"
run $'hi\n' -U "alice:$PW" -x "http://127.0.0.1:$P401" "$WS"
expect_rc 4
expect_stderr_has 'WWW-Authenticate: Basic realm="wsproxy-test"'
expect_stderr_has "wspcat: the proxy rejected these credentials (Basic, round 1)"
expect_no_secret
finish

begin "-U without a password and no terminal: exit 1, said, nothing sent"
m=$(log_mark pdigest)
no_tty $'hi\n' -U alice --proxy-digest -x "http://127.0.0.1:$PD" "$WS"
expect_rc 1
expect_stderr_has "wspcat: -U alice: no password given, and no terminal to ask for it"
expect_untouched pdigest "$m"
finish

begin "-U without a password on a terminal: asked with echo off, the typed password works, never shown"
m=$(log_mark pdigest)
printf 'hi\n' >"$TMP/stdin"
on_tty_password -v --linger 0 -U alice --proxy-digest -x "http://127.0.0.1:$PD" "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_stderr_has "Enter proxy password for user 'alice': "
expect_reached pdigest "$m" "=== auth-ok: Digest"
expect_no_secret
finish

begin "--connect-timeout counts from after the password prompt"
printf 'hi\n' >"$TMP/stdin"
on_tty_password --linger 0 --connect-timeout 1 -U alice -x "http://127.0.0.1:$PB" "$WS"
expect_rc 0
expect_stdout $'hi\n'
finish

begin "the password given with -U is blanked from wspcat's command line (/proc/PID/cmdline)"
no_run
rm -f "$TMP/fifo"
mkfifo "$TMP/fifo"
"$WSPCAT" --max-time 10 -U "alice:$PW" -x "http://127.0.0.1:$PB" "$WS" <"$TMP/fifo" >"$OUT" 2>"$ERR" &
held=$!
exec 9>"$TMP/fifo"
printf 'hi\n' >&9
for (( i = 0; i < 100; i++ )); do [[ -s $OUT ]] && break; sleep 0.05; done
tr '\0' ' ' <"/proc/$held/cmdline" >"$TMP/cmdline" 2>/dev/null
exec 9>&-
wait "$held"
RC=$?
expect_rc 0
expect_stdout $'hi\n'
grep -qF -- "-U alice:" "$TMP/cmdline" || why "the command line was not read"
grep -qF sEc "$TMP/cmdline" && why "the password is still in the command line"
finish

begin "socks5h:// with -U: the RFC 1929 user and password (percent-encoded into the URL, decoded by the library)"
m=$(log_mark socks)
run $'hi\n' --linger 0 -v -U "alice:$PW" -x "socks5h://127.0.0.1:$SK" "$WS"
expect_rc 0
expect_stdout $'hi\n'
log_since socks "$m" | grep -qxF "=== decoded-credentials: alice:$PW" || why "the SOCKS server did not get -U's user and password"
expect_no_secret
finish

begin "socks5:// with a wrong -U password: exit 4; without one and no terminal: exit 1"
run $'hi\n' -U "alice:$PW_WRONG" -x "socks5://127.0.0.1:$SK" "$WS"
expect_rc 4
expect_stderr_has "WSPROXY_E_SOCKS_AUTH_FAILED"
expect_no_secret
no_tty $'hi\n' -U alice -x "socks5://127.0.0.1:$SK" "$WS"
expect_rc 1
expect_stderr_has "no terminal to ask for it"
finish

begin "--show-proxy with -U: the user shown, the password masked (HTTP and SOCKS)"
run "" -U "alice:$PW" --proxy 'socks5h://bob:sEc7-old@proxy:1080' --show-proxy ws://example.com/
expect_rc 0
expect_stdout $'socks5h://alice:***@proxy:1080\n'
expect_no_secret
run "" -U 'al ice' --proxy 'http://proxy:3128' --show-proxy ws://example.com/
expect_rc 0
expect_stdout $'http://al%20ice@proxy:3128\n'
finish

begin "-U with a control character or longer than 255 bytes: exit 1, the password not shown"
run "" -U $'alice:sEc6\x01x' -x "http://127.0.0.1:$PB" "$WS"
expect_rc 1
expect_stderr_has "option '-U': the user or the password holds a control character"
run "" --proxy-user "alice:sEc6$(printf 'y%.0s' {1..300})" -x "http://127.0.0.1:$PB" "$WS"
expect_rc 1
expect_stderr_has "option '--proxy-user': the user and the password may have at most 255 bytes each"
expect_no_secret
finish

begin "--version names the proxy authentication schemes of this build"
run "" --version
expect_rc 0
if (( GSS )); then
    expect_stdout_has "proxy authentication: Basic, Digest, NTLM and Negotiate (GSSAPI: MIT Kerberos)"
else
    expect_stdout_has "proxy authentication: Basic, Digest (built without GSSAPI)"
fi
finish

if (( GSS )); then
    begin "--proxy-ntlm -U DOMAIN\\user (GSSAPI, gss-ntlmssp): type 1 with the first CONNECT, type 3 on the same connection"
    m=$(log_mark ptokens)
    run $'hi\n' --linger 0 -v -U "WSPDOM\\alice:$PW" --proxy-ntlm -x "http://127.0.0.1:$PTOK" "$WS"
    expect_rc 0
    expect_stdout $'hi\n'
    expect_reached ptokens "$m" "=== auth-round: 2 conn:"
    expect_reached ptokens "$m" "=== auth-ok: NTLM"
    expect_conns ptokens "$m" 1
    expect_stderr_has "* proxy authentication: NTLM (its first token goes with the first CONNECT)"
    expect_no_secret
    finish

    begin "--proxy-negotiate without a Kerberos ticket: no password asked, exit 4 with GSSAPI's reason and the kinit hint"
    printf '[libdefaults]\n    default_realm = WSPROXY.TEST\n' >"$TMP/krb5.conf"
    m=$(log_mark ptokens)
    printf 'hi\n' >"$TMP/stdin"
    set_cmdline -U alice --proxy-negotiate -x "http://localhost:$PTOK" "$WS"
    run_timed 20 "$TMP/stdin" env KRB5CCNAME="FILE:$TMP/no-ccache" KRB5_CONFIG="$TMP/krb5.conf" \
        setsid -w "$WSPCAT" -U alice --proxy-negotiate -x "http://localhost:$PTOK" "$WS"
    expect_rc 4
    expect_stderr_has "WSPROXY_E_PROXY_AUTH_TOKEN"
    expect_stderr_match "wspcat: no Negotiate token: gss_[a-z_]+: .+"
    expect_stderr_has "wspcat: Negotiate needs your Kerberos ticket (kinit gets one, klist shows it) and a service principal HTTP/localhost"
    expect_stderr_lacks "no terminal"
    expect_untouched ptokens "$m"
    finish
else
    begin "built without GSSAPI: --proxy-ntlm and --proxy-negotiate are refused, named (exit 1)"
    run "" --proxy-ntlm -x "http://127.0.0.1:$PTOK" "$WS"
    expect_rc 1
    expect_stderr_has "option '--proxy-ntlm': this wspcat was built without GSSAPI"
    run "" --proxy-negotiate -x "http://127.0.0.1:$PTOK" "$WS"
    expect_rc 1
    expect_stderr_has "option '--proxy-negotiate': this wspcat was built without GSSAPI"
    finish

    begin "built without GSSAPI: --proxy-anyauth against Negotiate and NTLM says why they are not allowed"
    run $'hi\n' -U "alice:$PW" --proxy-anyauth -x "http://127.0.0.1:$PTOK" "$WS"
    expect_rc 4
    expect_stderr_has "this wspcat was built without GSSAPI, so without NTLM and Negotiate"
    finish
fi

# ---- command line -------------------------------------------------------------------------
begin "--help: usage on stdout, exit 0, stderr empty"
run "" --help
expect_rc 0
expect_stdout_has "Usage: wspcat [options] ws[s]://host[:port][/path]"
expect_stdout_has "--linger SECONDS"
[[ -s $ERR ]] && why "stderr is not empty"
run "" -h
expect_rc 0
expect_stdout_has "Usage: wspcat"
finish

begin "--version: wspcat, the library's version and BearSSL"
run "" --version
expect_rc 0
maj=$(sed -n 's/^#define WSPROXY_VERSION_MAJOR \([0-9]*\)$/\1/p' wsproxy.h)
min=$(sed -n 's/^#define WSPROXY_VERSION_MINOR \([0-9]*\)$/\1/p' wsproxy.h)
pat=$(sed -n 's/^#define WSPROXY_VERSION_PATCH \([0-9]*\)$/\1/p' wsproxy.h)
expect_stdout_has "wspcat $maj.$min.$pat"
expect_stdout_has "library: wsproxy.h $maj.$min.$pat"
expect_stdout_has "TLS: BearSSL"
finish

begin "an unknown option is named, with a hint, exit 1"
run "" --foo "$WS"
expect_rc 1
expect_stderr_has "wspcat: unknown option '--foo'"
expect_stderr_has "wspcat: try 'wspcat --help'"
expect_stdout ""
finish

begin "an unknown option's value is not echoed (--pasword=sEc1)"
run "" --pasword=sEc1 "$WS"
expect_rc 1
expect_stderr_has "unknown option '--pasword'"
expect_no_secret_piece "$ERR"
run "" -QsEc1 "$WS"
expect_rc 1
expect_stderr_has "unknown option '-Q'"
expect_no_secret_piece "$ERR"
finish

begin "a missing value is named"
run "" "$WS" --proxy
expect_rc 1
expect_stderr_has "wspcat: option '--proxy' needs a value (URL)"
run "" "$WS" -x
expect_rc 1
expect_stderr_has "wspcat: option '-x' needs a value (URL)"
finish

begin "bad numbers and a second URL are refused, named"
run "" --linger abc "$WS"
expect_rc 1
expect_stderr_has "option '--linger': 'abc' is not a number of seconds"
run "" --count 0 "$WS"
expect_rc 1
expect_stderr_has "option '--count': '0' is not a count"
run "" "$WS" "ws://second.example/sEc1tok"
expect_rc 1
expect_stderr_has "more than one URL given"
expect_no_secret_piece "$ERR"
run ""
expect_rc 1
expect_stderr_has "wspcat: no URL given"
finish

begin "-x, --name=value and combined switches work"
run $'hi\n' -1vx "http://127.0.0.1:$P" --linger=0 "$WS"
expect_rc 0
expect_stdout $'hi\n'
expect_stderr_has "* proxy chosen by --proxy"
finish

# ---- timeouts -----------------------------------------------------------------------------
begin "--connect-timeout 1 against a server that never answers the upgrade -> exit 7 in ~1 s"
run $'x\n' --connect-timeout 1 "ws://127.0.0.1:$SIL/"
expect_rc 7
expect_stderr_has "wspcat: --connect-timeout 1 s reached before the upgrade completed"
expect_stderr_has "WSPROXY_E_HANDSHAKE_TIMEOUT"
expect_ms_between 900 3000
finish

begin "--connect-timeout 1 through a proxy that never answers -> exit 7 PROXY_TIMEOUT"
run $'x\n' --connect-timeout 1 --proxy "http://127.0.0.1:$PSIL" "$WS"
expect_rc 7
expect_stderr_has "WSPROXY_E_PROXY_TIMEOUT"
expect_ms_between 900 3000
finish

begin "--connect-timeout ends with the upgrade; --max-time 1.5 ends an open run -> exit 7"
run_held $'hi\n' --connect-timeout 0.5 --max-time 1.5 "$WS"
expect_rc 7
expect_stdout $'hi\n'
expect_stderr_has "wspcat: --max-time 1.5 s reached"
expect_stderr_lacks "connect-timeout"
expect_ms_between 1400 4000
finish

# ---- the manual page and the README --------------------------------------------------------
no_run
begin "docs/wspcat.1 renders with groff -ww and man -l without warnings"
if ! command -v groff >/dev/null || ! command -v man >/dev/null; then
    why "groff or man is not installed (apt-get install groff-base man-db)"
else
    groff -man -Tutf8 -ww "$MAN" >"$TMP/man.txt" 2>"$TMP/groff.err"
    [[ -s $TMP/groff.err ]] && why "groff: $(head -n 3 "$TMP/groff.err" | tr '\n' '|')"
    MANWIDTH=80 man -l "$MAN" >"$TMP/man2.txt" 2>"$TMP/man.err"
    [[ -s $TMP/man.err ]] && why "man: $(head -n 3 "$TMP/man.err" | tr '\n' '|')"
    grep -q 'wspcat' "$TMP/man2.txt" || why "man -l printed no manual"
fi
finish

no_run
begin "every option of --help is in the manual page and the README"
"$WSPCAT" --help >"$TMP/help.txt"
sed 's/\\-/-/g' "$MAN" >"$TMP/man.src"   # the page writes a hyphen as \-
mapfile -t opts < <(grep -oE -- '--[a-z][a-z-]+' "$TMP/help.txt" | sort -u)
(( ${#opts[@]} >= 25 )) || why "only ${#opts[@]} options found in --help"
for opt in "${opts[@]}"; do
    grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)" "$TMP/man.src" || why "$MAN lacks $opt"
    grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)" README.md || why "README.md lacks $opt"
done
finish

no_run
begin "every exit code is in the manual page and --help, exit 9 in the README"
for code in 0 1 2 3 4 5 6 7 8 9; do
    grep -qE "^\.IP $code( |$)" "$MAN" || why "$MAN has no entry for exit $code"
    grep -qE "(^| )$code [A-Za-z]" "$TMP/help.txt" || why "--help does not list exit $code"
done
grep -qF '9 the server closed before' README.md || why "README.md does not document exit 9"
finish

echo "# suite wall time: $(( $(now_ms) - SUITE_T0 )) ms"
summary_and_exit
