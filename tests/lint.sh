#!/usr/bin/env bash
# Static analysis of wsproxy.h through tests/lint_tu.c, with and without TLS:
#   cppcheck (warning, style, portability, performance) and clang-tidy (clang-analyzer-*,
#   bugprone-*, cert-*), every finding an error. Suppressions, each with its reason:
#   cppcheck variableScope          C89-style declarations at the top of a block, on purpose
#   cppcheck funcArgNamesDifferent  wsproxy_tls_reason(e): the short name in the body
#   bugprone-implicit-widening-of-multiplication-result, bugprone-misplaced-widening-cast
#                                   IPv6 group indices (2 * groups, groups <= 8): no overflow
#   bugprone-narrowing-conversions  char from a printable ASCII int / base64 alphabet
#   bugprone-branch-clone           UTF-8 lead-byte table: two branches reject, on purpose
#   bugprone-easily-swappable-parameters, bugprone-reserved-identifier, cert-dcl37-c,
#   cert-dcl51-cpp                  API shape and the header's own include guard names
#   cert-err33-c                    setvbuf/fclose on the read-only /dev/urandom stream
#   clang-analyzer-optin.performance.Padding   field order follows the data flow
# Ends with "N passed, N failed" (one check per tool and configuration).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
PASSED=0
FAILED=0
run() {   # run NAME COMMAND...
    local name=$1 out rc
    shift
    out=$("$@" 2>&1); rc=$?
    if [[ $rc -eq 0 ]]; then echo "ok - $name"; PASSED=$((PASSED + 1))
    else echo "FAIL - $name"; printf '%s\n' "$out" | head -n 60 | sed 's/^/    | /'; FAILED=$((FAILED + 1)); fi
}
TIDY_CHECKS='-*,clang-analyzer-*,-clang-analyzer-optin.performance.Padding,bugprone-*,cert-*'
TIDY_CHECKS+=',-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier'
TIDY_CHECKS+=',-bugprone-implicit-widening-of-multiplication-result,-bugprone-misplaced-widening-cast'
TIDY_CHECKS+=',-bugprone-narrowing-conversions,-bugprone-branch-clone'
TIDY_CHECKS+=',-cert-dcl37-c,-cert-dcl51-cpp,-cert-err33-c'
for cfg in "with TLS:" "no TLS:-DWSPROXY_NO_TLS"; do
    label=${cfg%%:*} def=${cfg#*:}
    if command -v cppcheck >/dev/null; then
        run "cppcheck ($label)" cppcheck --std=c99 --enable=warning,style,portability,performance \
            --inconclusive --quiet --error-exitcode=1 -D__GNUC__ $def \
            --suppress=missingIncludeSystem --suppress=variableScope --suppress=funcArgNamesDifferent \
            tests/lint_tu.c
    else
        echo "FAIL - cppcheck is not installed (apt-get install cppcheck)"; FAILED=$((FAILED + 1))
    fi
    if command -v clang-tidy >/dev/null; then
        run "clang-tidy ($label)" clang-tidy --quiet tests/lint_tu.c --checks="$TIDY_CHECKS" \
            --warnings-as-errors='*' --header-filter='wsproxy\.h' -- -std=c99 $def
    else
        echo "FAIL - clang-tidy is not installed (apt-get install clang-tidy)"; FAILED=$((FAILED + 1))
    fi
done
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
