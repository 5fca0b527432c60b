#!/usr/bin/env bash
# Runs suites and sums their "N passed, N failed" lines; scripts/run_tests.sh (make test) feeds it every suite.
# Usage: scripts/run_suites.sh NAME COMMAND [NAME COMMAND]...   (COMMAND is one string)
# A suite that prints no summary line, or exits non-zero with 0 failures, counts one
# failure. Ends with "N passed, N failed"; exit status 1 when anything failed.
set -u
total_pass=0
total_fail=0
while [ $# -ge 2 ]; do
    name=$1 cmd=$2
    shift 2
    echo "== $name"
    out=$(bash -c "$cmd" 2>&1); rc=$?
    summary=$(printf '%s\n' "$out" | grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$summary" ]; then
        printf '%s\n' "$out" | tail -n 30
        echo "   $name: no summary line (exit $rc)"
        total_fail=$((total_fail + 1))
        continue
    fi
    printf '%s\n' "$out" | grep -E '^(FAIL|not ok)' | head -n 60
    p=$(printf '%s' "$summary" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
    f=$(printf '%s' "$summary" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "   $p passed, $f failed"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
