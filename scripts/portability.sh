#!/usr/bin/env bash
# make portability: the header built and RUN on other CPUs and systems (issue 17).
#   i386     gcc -m32: the unit suites (test_pure, test_client, test_select,
#            test_catalogue, test_tls with i386 BearSSL from Debian's multiarch; without it,
#            WSPROXY_NO_TLS and the first three) and os_random
#   s390x    big-endian: Debian's cross gcc, static, run under qemu-user: the same suites
#   windows  mingw-w64, run under wine (a private prefix without the Z: drive, so "/dev/..."
#            means C:\dev\... as on Windows): test_pure, test_client, test_select with
#            WSPROXY_NO_TLS, os_random, and the header before <winsock2.h>
#   arm      arm-none-eabi-gcc (Cortex-M0+, newlib): the header with WSPROXY_NO_TLS and
#            WSPROXY_NO_OS_RANDOM compiles with no warning, as C and as C++
#   musl     musl-gcc, static: the NO_TLS unit suites and os_random on musl libc
# PORT_TARGETS="i386 s390x" picks some (default: all). Tools come from Debian through
# scripts/need.sh (each package and why; NO_INSTALL=1 only says what to run).
# Outputs in $BUILD/portability. Every check prints "ok - NAME" or "FAIL - NAME"; the last
# line is "N passed, N failed"; each target's time is printed as it ends.
#
# wsproxy_os_random on Windows: while wsproxy.h has no BCryptGenRandom branch, the Windows
# os_random check builds against a copy of the header patched in $BUILD/portability with
# the code proposed in docs/portability.md (the C block after its "portability.sh applies"
# marker); wsproxy.h itself is never changed.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
PB=$BUILD/portability
TARGETS=${PORT_TARGETS:-i386 s390x windows arm musl}
W="-std=c99 -Wall -Wextra -pedantic -Werror"
UNITS_TLS="test_pure test_client test_select test_catalogue test_tls test_stages"
UNITS_NO_TLS="test_pure test_client test_select test_stages"
NEED="bash scripts/need.sh"
mkdir -p "$PB"
pass=0 fail=0

# check NAME COMMAND...: ok when COMMAND succeeds; its output goes to a log shown on failure
check() {
    local name=$1; shift
    local log
    log="$PB/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
    if "$@" >"$log" 2>&1; then pass=$((pass + 1)); echo "ok - $name"
    else fail=$((fail + 1)); echo "FAIL - $name"; tail -n 40 "$log" | sed 's/^/    /'; fi
}
# suite NAME COMMAND...: a test program; ok when it exits 0 and its "N passed, 0 failed"
# line has N > 0
suite() {
    local name=$1; shift
    local log summary
    log="$PB/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
    timeout 300 "$@" >"$log" 2>&1
    local rc=$?
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ $rc = 0 ] && [[ $summary =~ ^([1-9][0-9]*)\ passed,\ 0\ failed ]]; then
        pass=$((pass + 1)); echo "ok - $name ($summary)"
    else
        fail=$((fail + 1)); echo "FAIL - $name (exit $rc${summary:+, $summary})"
        grep -E '^FAIL' "$log" | head -n 20 | sed 's/^/    /'
        [ -n "$summary" ] || tail -n 20 "$log" | sed 's/^/    /'
    fi
}
# tools TARGET NEED-ARGS...: installs what TARGET needs; a FAIL and false when it cannot
tools() {
    local t=$1; shift
    $NEED "$@" && return 0
    fail=$((fail + 1)); echo "FAIL - $t: its tools are not installed (see above)"
    return 1
}
elapsed() { echo "== $1: $(( SECONDS - $2 )) s"; }

gccv=$(gcc -dumpversion 2>/dev/null | cut -d. -f1)

# linux_units TARGET ARCH COMPILER RUNNER: the unit suites and os_random, built with
# COMPILER (words) and run through RUNNER (words; empty: directly). With ARCH's BearSSL
# from Debian's multiarch the TLS suites too; without it (or ARCH "-") the suites that
# define WSPROXY_NO_TLS themselves.
linux_units() {
    local t=$1 arch=$2 cc=$3 runner=$4 d=$PB/$1 units=$UNITS_NO_TLS lib="" u
    mkdir -p "$d"
    if [ "$arch" != - ]; then
        if $NEED --try "libbearssl-dev:$arch" "BearSSL for $arch: test_catalogue and test_tls on $t" \
                "has_pkg libbearssl-dev:$arch"; then
            units=$UNITS_TLS lib=-lbearssl
        else
            echo "$t: no $arch BearSSL: WSPROXY_NO_TLS builds of $UNITS_NO_TLS only"
        fi
    fi
    for u in $units; do
        check "$t: build $u" nice -n 10 $cc $W -O1 -o "$d/$u" "tests/$u.c" $lib
        suite "$t: $u${runner:+ ($runner)}" $runner "$d/$u"
    done
    check "$t: build os_random" nice -n 10 $cc $W -I. -o "$d/os_random" tests/portability/os_random.c
    suite "$t: os_random${runner:+ ($runner)}" $runner "$d/os_random"
}

# ---- 32-bit x86 -------------------------------------------------------------------------
# gcc -m32 needs the kernel's <asm/...> headers. Debian keeps them in linux-libc-dev:i386,
# which must carry the same version as the amd64 one: when the i386 index lags (a mirror
# mid-sync), installing it would downgrade the amd64 twin and remove the compilers. The x86
# headers are the same files for both ABIs (they branch on __i386__ themselves), so without
# the i386 package a build-local include directory points <asm/...> at the amd64 ones. The
# unversioned gcc-multilib, which ships such a link system-wide, conflicts with cross gcc.
t_i386() {
    local cc="gcc -m32" inc=$PB/i386-include
    tools i386 "gcc-${gccv}-multilib" "gcc -m32: 32-bit x86 builds" "has_pkg gcc-${gccv}-multilib" ||
        return
    if ! printf '#include <asm/errno.h>\n' | $cc -E -x c - >/dev/null 2>&1; then
        mkdir -p "$inc" && ln -sfn "/usr/include/$(gcc -print-multiarch)/asm" "$inc/asm"
        cc="$cc -isystem $inc"
        echo "i386: no linux-libc-dev:i386; <asm/...> from the amd64 headers ($inc/asm)"
    fi
    check "i386: the compiler targets 32-bit x86" \
        bash -c "$cc -dM -E -x c /dev/null | grep -q '__i386__ 1'"
    linux_units i386 i386 "$cc" ""
}

# ---- big-endian: s390x under qemu --------------------------------------------------------
t_s390x() {
    local cc=s390x-linux-gnu-gcc
    tools s390x gcc-s390x-linux-gnu "cross gcc for s390x (big-endian, 64-bit)" "has_cmd $cc" \
        libc6-dev-s390x-cross "C library for the s390x cross gcc" \
        "has_file /usr/s390x-linux-gnu/include/stdio.h" \
        qemu-user-static "qemu-s390x-static runs the s390x test binaries" "has_cmd qemu-s390x-static" ||
        return
    check "s390x: the cross compiler targets big-endian" \
        bash -c "$cc -dM -E -x c /dev/null | grep -q '__BYTE_ORDER__ __ORDER_BIG_ENDIAN__'"
    linux_units s390x s390x "$cc -static" qemu-s390x-static
}

# ---- Windows: mingw-w64 + wine ------------------------------------------------------------
t_windows() {
    local d=$PB/windows cc=x86_64-w64-mingw32-gcc wine=/usr/lib/wine/wine64 u inc=.
    local prefix run_dir
    mkdir -p "$d"
    tools windows gcc-mingw-w64-x86-64-win32 "mingw-w64: C for 64-bit Windows" "has_cmd $cc" \
        wine64 "wine: runs the Windows test binaries" "has_file $wine" || return
    prefix=$(cd "$d" && pwd)/wineprefix
    run_dir=$prefix/drive_c/wsproxy
    export WINEPREFIX=$prefix WINEDEBUG=-all
    if [ ! -d "$prefix/drive_c" ]; then
        check "windows: wine prefix" timeout 180 "$wine" wineboot --init
    fi
    # no Z: drive: wine would otherwise map /dev/urandom to the host's, hiding a missing
    # Windows random source
    rm -f "$prefix/dosdevices/z:"
    mkdir -p "$run_dir"
    for u in $UNITS_NO_TLS; do
        check "windows: build $u.exe" nice -n 10 $cc $W -O1 -o "$run_dir/$u.exe" "tests/$u.c" -lbcrypt
        suite "windows: $u (wine)" bash -c "cd '$run_dir' && '$wine' $u.exe"
    done
    check "windows: build os_random.exe" nice -n 10 $cc $W -I"$inc" -o "$run_dir/os_random.exe" \
        tests/portability/os_random.c -lbcrypt
    suite "windows: os_random (wine)" bash -c "cd '$run_dir' && '$wine' os_random.exe"
    printf '#define WSPROXY_IMPLEMENTATION\n#define WSPROXY_NO_TLS\n#include "wsproxy.h"\n#include <winsock2.h>\n#include <ws2tcpip.h>\nint main(void) { WSADATA w; return WSAStartup(MAKEWORD(2, 2), &w); }\n' >"$d/winsock_after.c"
    check "windows: the implementation, then <winsock2.h>, in one file" \
        nice -n 10 $cc $W -I"$inc" -o "$d/winsock_after.exe" "$d/winsock_after.c" -lbcrypt -lws2_32
    timeout 30 /usr/lib/wine/wineserver64 -w 2>/dev/null || true   # wait for our prefix's server to go
    unset WINEPREFIX WINEDEBUG
}

# ---- bare metal: arm-none-eabi ------------------------------------------------------------
t_arm() {
    local d=$PB/arm flags="-mcpu=cortex-m0plus -mthumb -Os -DWSPROXY_NO_TLS -DWSPROXY_NO_OS_RANDOM"
    mkdir -p "$d"
    tools arm gcc-arm-none-eabi "arm-none-eabi-gcc: bare-metal Cortex-M builds" "has_cmd arm-none-eabi-gcc" \
        libnewlib-arm-none-eabi "newlib: the C library for bare-metal ARM" \
        "has_file /usr/lib/arm-none-eabi/include/string.h" || return
    # shellcheck disable=SC2086
    check "arm: Cortex-M0+ C99, no warning" nice -n 10 arm-none-eabi-gcc $W $flags -c -o "$d/one.o" tests/compile_one.c
    # shellcheck disable=SC2086
    check "arm: Cortex-M0+ C++11, no warning" nice -n 10 arm-none-eabi-g++ -x c++ -std=c++11 -Wall -Wextra \
        -pedantic -Werror $flags -c -o "$d/one_cxx.o" tests/compile_one.c
    [ -f "$d/one.o" ] && echo "arm: code size (Cortex-M0+, -Os): $(arm-none-eabi-size "$d/one.o" | awk 'NR == 2 { print $1 " bytes of text" }')"
}

# ---- musl libc ---------------------------------------------------------------------------
t_musl() {
    tools musl musl-tools "musl-gcc: builds against musl libc (Alpine's C library)" "has_cmd musl-gcc" || return
    linux_units musl - "musl-gcc -static" ""
}

for t in $TARGETS; do
    case $t in
        i386|s390x|windows|arm|musl) start=$SECONDS; echo "== $t"; "t_$t"; elapsed "$t" "$start" ;;
        *) echo "FAIL - unknown target $t (i386 s390x windows arm musl)"; fail=$((fail + 1)) ;;
    esac
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
