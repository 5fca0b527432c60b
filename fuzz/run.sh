#!/usr/bin/env bash
# Runs the fuzz targets (built by mk/hardening.mk into $BUILD/fuzz/).
#
#   fuzz/run.sh replay NAME...          seeds through the gcc builds (NAME-replay)
#   fuzz/run.sh fuzz SECONDS NAME...    each libFuzzer target SECONDS, one at a time
#   fuzz/run.sh smoke SECONDS NAME...   replay, then fuzz (what CI runs)
#
# FUZZ_PARALLEL=2 runs two targets at once (one per core) in "fuzz" mode.
# Corpus: fuzz/seeds/NAME (committed) is read; new inputs go to fuzz/corpus-NAME
# (git-ignored). Crashes go to $BUILD/fuzz/artifacts/NAME/. Logs: $BUILD/fuzz/NAME.log.
# One line per target: "ok - NAME: E execs, cov C, ft F, corpus N" or "FAIL - NAME: ...",
# then "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
PARALLEL=${FUZZ_PARALLEL:-1}
PASSED=0
FAILED=0
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done' EXIT INT TERM

max_len_of() {   # a "fuzz-max-len: N" comment in the target's source, else 4096
    local n
    n=$(sed -n 's/.*fuzz-max-len: *\([0-9][0-9]*\).*/\1/p' "fuzz/$1.c" | head -n 1)
    echo "${n:-4096}"
}

replay_one() {
    local name=$1 bin=$BUILD/fuzz/$1-replay out rc dirs=()
    [[ -d fuzz/seeds/$name ]] && dirs+=("fuzz/seeds/$name")
    if [[ ${#dirs[@]} -eq 0 ]]; then echo "FAIL - replay $name: no seeds in fuzz/seeds/$name"; FAILED=$((FAILED + 1)); return; fi
    out=$("$bin" "${dirs[@]}" 2>&1); rc=$?
    if [[ $rc -eq 0 ]]; then
        echo "ok - replay $name (gcc, ASan+UBSan): $(tail -n 1 <<<"$out" | cut -d' ' -f1) seeds"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL - replay $name: exit $rc"
        tail -n 25 <<<"$out" | sed 's/^/    | /'
        FAILED=$((FAILED + 1))
    fi
}

# fuzz_one NAME SECONDS: runs in the background-safe way, writes $BUILD/fuzz/NAME.result
fuzz_one() {
    local name=$1 secs=$2 bin=$BUILD/fuzz/$1 log=$BUILD/fuzz/$1.log rc
    local art=$BUILD/fuzz/artifacts/$name/
    mkdir -p "fuzz/corpus-$name" "$art"
    local seeds=()
    [[ -d fuzz/seeds/$name ]] && seeds+=("fuzz/seeds/$name")
    "$bin" -max_total_time="$secs" -max_len="$(max_len_of "$name")" -dict=fuzz/wsproxy.dict \
        -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" \
        "fuzz/corpus-$name" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    local done_line execs cov ft corp
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$done_line")
    if [[ $rc -eq 0 && -n $done_line ]]; then
        echo "ok - fuzz $name ${secs}s: ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}" >"$BUILD/fuzz/$name.result"
    else
        {
            echo "FAIL - fuzz $name: exit $rc (log $log)"
            grep -E 'ERROR: |invariant failed|SUMMARY|Test unit written|logs differ|bytes differ' "$log" | head -n 12 | sed 's/^/    | /'
        } >"$BUILD/fuzz/$name.result"
    fi
}

report() {
    local name=$1
    if [[ -f $BUILD/fuzz/$name.result ]]; then
        cat "$BUILD/fuzz/$name.result"
        if grep -q '^ok' "$BUILD/fuzz/$name.result"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
    else
        echo "FAIL - fuzz $name: no result"; FAILED=$((FAILED + 1))
    fi
}

run_fuzz() {
    local secs=$1 name running=() n
    shift
    for name in "$@"; do
        rm -f "$BUILD/fuzz/$name.result"
        if [[ $PARALLEL -le 1 ]]; then
            fuzz_one "$name" "$secs"
            report "$name"
        else
            fuzz_one "$name" "$secs" &
            PIDS+=($!)
            running+=("$name")
            if [[ ${#running[@]} -ge $PARALLEL ]]; then
                for p in "${PIDS[@]}"; do wait "$p"; done
                PIDS=()
                for n in "${running[@]}"; do report "$n"; done
                running=()
            fi
        fi
    done
    for p in "${PIDS[@]}"; do wait "$p"; done
    PIDS=()
    for n in "${running[@]}"; do report "$n"; done
}

mode=${1:-}
shift || true
case $mode in
    replay)
        for name in "$@"; do replay_one "$name"; done ;;
    fuzz)
        secs=$1; shift
        run_fuzz "$secs" "$@" ;;
    smoke)
        secs=$1; shift
        t0=$(date +%s)
        for name in "$@"; do replay_one "$name"; done
        run_fuzz "$secs" "$@"
        echo "# fuzz-smoke: $# targets x ${secs}s, wall $(( $(date +%s) - t0 ))s" ;;
    *)
        echo "usage: fuzz/run.sh replay NAME... | fuzz SECONDS NAME... | smoke SECONDS NAME..." >&2
        exit 2 ;;
esac
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
