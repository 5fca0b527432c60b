#!/usr/bin/env bash
# make interop-report: copies the report of the last make interop run
# (BUILD/interop/report.md, written by tests/interop/run.sh) into docs/interop.md and
# README.md, in place of the lines from "<!-- interop:begin" to "<!-- interop:end -->".
# The one deliberate step that changes those files; make interop never does.
#
#   BUILD=dir                 where the report is (default: build)
#   INTEROP_REPORT=file       another report file
#   INTEROP_REPORT_FORCE=1    copy a report whose run had failures too (refused otherwise)
#
# Both files must hold both markers once; nothing is written unless both can be.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
REPORT=${INTEROP_REPORT:-$BUILD/interop/report.md}
DOCS=(docs/interop.md README.md)

die() { echo "interop-report: $*" >&2; exit 1; }

[ -s "$REPORT" ] || die "no report at $REPORT: run make interop first"
head -n 1 "$REPORT" | grep -q '^<!-- interop:begin' || die "$REPORT does not start with the interop:begin line"
tail -n 1 "$REPORT" | grep -q '^<!-- interop:end -->$' || die "$REPORT does not end with the interop:end line"
last=$(grep -m 1 '^Last run: ' "$REPORT") || die "$REPORT has no 'Last run:' line"
failed=$(sed -nE 's/.*\(([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$last")
[ -n "$failed" ] || die "cannot read the result in: $last"
if [ "$failed" != 0 ] && [ "${INTEROP_REPORT_FORCE:-0}" != 1 ]; then
    die "the last run had $failed failures ($last); INTEROP_REPORT_FORCE=1 copies it anyway"
fi

for f in "${DOCS[@]}"; do
    [ -f "$f" ] || die "$f is missing"
    [ "$(grep -c '^<!-- interop:begin' "$f")" = 1 ] || die "$f needs exactly one '<!-- interop:begin' line"
    [ "$(grep -c '^<!-- interop:end -->' "$f")" = 1 ] || die "$f needs exactly one '<!-- interop:end -->' line"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-interop-report.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
for f in "${DOCS[@]}"; do
    awk -v rep="$REPORT" '
        /^<!-- interop:begin/ { while ((getline l < rep) > 0) print l; close(rep); skip = 1; next }
        /^<!-- interop:end -->/ { skip = 0; next }
        !skip { print }' "$f" >"$tmp/${f//\//_}" || die "could not rewrite $f"
done
for f in "${DOCS[@]}"; do
    if cmp -s "$tmp/${f//\//_}" "$f"; then
        echo "interop-report: $f already holds this report"
    else
        cat "$tmp/${f//\//_}" >"$f" && echo "interop-report: $f updated (${last#Last run: })"
    fi
done
