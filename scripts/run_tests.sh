#!/usr/bin/env bash
# Runs every suite and ends with one line: "N passed, N failed".
# Usage: BUILD=build scripts/run_tests.sh UNIT...
set -u
BUILD=${BUILD:-build}
total_pass=0
total_fail=0

# Adds a suite's "N passed, N failed" line to the totals; a suite that crashed or
# printed no summary counts as one failure.
run_suite() {
    local name=$1; shift
    local out rc summary
    echo "== $name"
    out=$("$@" 2>&1); rc=$?
    summary=$(printf '%s\n' "$out" | grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$summary" ]; then
        printf '%s\n' "$out" | tail -n 30
        echo "   $name: no summary line (exit $rc)"
        total_fail=$((total_fail + 1))
        return
    fi
    printf '%s\n' "$out" | grep -E '^(FAIL|not ok)' | head -n 40
    local p f
    p=$(printf '%s' "$summary" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
    f=$(printf '%s' "$summary" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "   $p passed, $f failed"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}

for u in "$@"; do
    run_suite "$u" "$BUILD/$u"
    run_suite "$u (ASan+UBSan)" "$BUILD/$u-san"
done
run_suite "compile tests" bash scripts/compile_tests.sh
run_suite "integration over loopback" bash tests/integration.sh
run_suite "TLS integration over loopback" bash tests/integration_tls.sh
[ -f tests/integration_socks.sh ] && run_suite "SOCKS and environment over loopback" bash tests/integration_socks.sh

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
