#!/usr/bin/env bash
# The README's event-loop sample, as printed: extracted, built with the helpers it names
# (tests/readme_sample_helpers.h), and run through the test HTTP proxy with Basic
# credentials to the test echo server. One closing line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
IT_NAME=readme-sample
BUILD=${BUILD:-build}
. tests/itlib.sh
require_binaries "$BUILD/ws_echo_server" "$BUILD/http_proxy" || summary_and_exit

begin "the sample is in the README between its heading and the next fence"
awk '/^### A [0-9]+-line event loop/{h=1; next} h && /^```c$/{c=1; next} c && /^```$/{exit} c' README.md >"$TMP/sample.inc"
[[ -s $TMP/sample.inc ]] || why "no C block under the heading"
grep -q 'wsproxy_init' "$TMP/sample.inc" || why "the block lacks wsproxy_init"
finish

begin "it builds warning-free with the helpers it names"
start_peer EPORT echo "$BUILD/ws_echo_server" || summary_and_exit
start_peer PPORT proxy "$BUILD/http_proxy" --auth user:pa:ss || summary_and_exit
sed -e "s|echo.example|127.0.0.1:$EPORT|" -e "s|proxy.example:3128|127.0.0.1:$PPORT|" "$TMP/sample.inc" >"$TMP/sample.c.inc"
if ! ${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror -I. -I"$TMP" \
        -DSAMPLE_FILE='"sample.c.inc"' -o "$TMP/sample" tests/readme_sample_main.c -lbearssl 2>"$TMP/cc.err"; then
    why "cc: $(head -c 2000 "$TMP/cc.err")"
fi
finish

begin "it runs: through the proxy with the URL's credentials, sends hi, prints the echo, closes"
if [[ -x $TMP/sample ]]; then
    timeout 20 "$TMP/sample" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [[ $rc -eq 0 ]] || why "exit $rc: $(head -c 500 "$TMP/err")"
    [[ $(cat "$TMP/out") == hi ]] || why "stdout: $(head -c 200 "$TMP/out")"
    grep -q "=== auth-ok: Basic" "$TMP/proxy.log" || why "the proxy did not see the credentials"
else
    why "not built"
fi
finish

summary_and_exit
