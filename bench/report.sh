#!/usr/bin/env bash
# make bench-report: copies the last runs of make bench (BUILD/bench/runs/, written by
# bench/run.sh) into bench/RESULTS.md, in place of the lines from "<!-- bench:begin" to
# "<!-- bench:end -->": each run's header, the ratio of every row with a target (and of
# every row 9 line, which has none) in each run side by side, and the last run's whole
# table. The one deliberate step that changes that file; make bench never does. The
# verdict text around the block is written by hand from what the block shows.
#
#   BUILD=dir                   where the runs are (default: build)
#   BENCH_REPORT_RUNS=N         how many of the latest runs of every row (default 2; runs
#                               limited with BENCH_ROWS are left out)
#   BENCH_REPORT="a.md b.md"    these run files instead (BUILD/bench/runs/*.md)
#   BENCH_REPORT_FORCE=1        copy runs in which a program failed too (refused otherwise)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
RUNDIR=$BUILD/bench/runs
DOC=bench/RESULTS.md

die() { echo "bench-report: $*" >&2; exit 1; }

if [ -n "${BENCH_REPORT:-}" ]; then
    read -r -a runs <<<"$BENCH_REPORT"
else
    # whole runs only: a BENCH_ROWS run says "rows ... only" in its header
    mapfile -t runs < <(ls "$RUNDIR"/*.md 2>/dev/null | sort | while read -r f; do
                            grep -q '^repetitions: .*, rows .* only' "$f" || echo "$f"; done | tail -n "${BENCH_REPORT_RUNS:-2}")
fi
(( ${#runs[@]} )) || die "no run in $RUNDIR: run make bench first"
for r in "${runs[@]}"; do
    [ -s "$r" ] || die "$r is missing or empty"
    [ -s "${r%.md}.tsv" ] || die "${r%.md}.tsv (its rows) is missing"
    if ! grep -q '^programs: all passed' "$r" && [ "${BENCH_REPORT_FORCE:-0}" != 1 ]; then
        die "$r: a program failed in that run ($(grep -m1 '^programs:' "$r")); BENCH_REPORT_FORCE=1 copies it anyway"
    fi
done
[ -f "$DOC" ] || die "$DOC is missing"
[ "$(grep -c '^<!-- bench:begin' "$DOC")" = 1 ] || die "$DOC needs exactly one '<!-- bench:begin' line"
[ "$(grep -c '^<!-- bench:end -->' "$DOC")" = 1 ] || die "$DOC needs exactly one '<!-- bench:end -->' line"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-bench-report.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
block=$tmp/block.md
n=${#runs[@]}
last=${runs[n - 1]}
{
    echo "<!-- bench:begin (written by make bench-report from $n run(s); edit outside these lines) -->"
    echo
    i=0
    for r in "${runs[@]}"; do
        i=$((i + 1))
        echo "Run $i of $n:"
        echo
        echo '```text'
        sed -n '1,/^$/p' "$r" | sed '/^$/d'
        echo '```'
        echo
    done
    echo "Ratios, run by run (rows with a target, and every row 9 line; for an \"abs\" target our value; the whole table of run $n follows):"
    echo
    printf '| # | case | target |'
    for ((i = 1; i <= n; i++)); do printf ' run %d |' "$i"; done
    printf ' verdicts |\n|---|---|---|'
    for ((i = 1; i <= n; i++)); do printf -- '---|'; done
    printf -- '---|\n'
    tsvs=()
    for r in "${runs[@]}"; do tsvs+=("${r%.md}.tsv"); done
    # rows matched by section, case and occurrence; a row missing from a run shows "-"
    awk -F'\t' -v n="$n" '
        FNR == 1 { f++ }
        $1 != "ROW" { next }
        {
            k = $2 SUBSEP $3; occ[f, k]++; key = k SUBSEP occ[f, k]
            if (!(key in seen)) { seen[key] = 1; order[++m] = key; sec[key] = $2; cas[key] = $3; tgt[key] = $8 }
            if ($8 != "") tgt[key] = $8
            ratio[f, key] = ($8 ~ /^abs/) ? $4 : $7   # a target on our value itself: that value
            verd[f, key] = $9
            if ($8 != "" || ($9 != "" && $9 != "same") || $2 ~ /^9 /) keep[key] = 1
        }
        END {
            for (j = 1; j <= m; j++) {
                key = order[j]
                if (!keep[key]) continue
                split(sec[key], a, " "); num = (sec[key] != lastsec) ? a[1] : ""; lastsec = sec[key]
                line = "| " num " | " cas[key] " | " tgt[key] " |"
                vs = ""
                for (i = 1; i <= n; i++) {
                    r = ((i, key) in ratio) ? ratio[i, key] : "-"
                    line = line " " r " |"
                    v = ((i, key) in verd) ? verd[i, key] : "-"
                    if (v != "") vs = vs (vs == "" ? "" : " / ") v
                }
                print line " " vs " |"
            }
        }' "${tsvs[@]}"
    echo
    echo "Run $n, the whole table:"
    echo
    echo '```text'
    cat "$last"
    echo '```'
    echo
    echo "<!-- bench:end -->"
} >"$block"

awk -v rep="$block" '
    /^<!-- bench:begin/ { while ((getline l < rep) > 0) print l; close(rep); skip = 1; next }
    /^<!-- bench:end -->/ { skip = 0; next }
    !skip { print }' "$DOC" >"$tmp/doc" || die "could not rewrite $DOC"
if cmp -s "$tmp/doc" "$DOC"; then
    echo "bench-report: $DOC already holds these runs"
else
    cat "$tmp/doc" >"$DOC" && echo "bench-report: $DOC updated from ${runs[*]}"
fi
