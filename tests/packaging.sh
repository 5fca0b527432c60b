#!/usr/bin/env bash
# Packaging: `make install DESTDIR=...` and a consumer project (tests/consumer) built on
# what it installed, the three ways a C project takes a library in, each run against the
# test echo server:
#   1. pkg-config (PKG_CONFIG_SYSROOT_DIR and PKG_CONFIG_PATH into the staged install)
#   2. CMake find_package(wsproxy) against the staged install (and its version check)
#   3. CMake add_subdirectory of this source tree (and FetchContent of it)
# and the source tree's own CMake build (wspcat, examples, ctest over the unit suites);
# then `make uninstall` must leave the staging folder empty.
#
# Usage (from the repo root):  bash tests/packaging.sh    (make packaging-test builds first)
#   BUILD=dir   directory holding wspcat and ws_echo_server (default: build)
# Everything goes to a mktemp folder; the echo server listens on 127.0.0.1 only. Each
# check prints "ok - NAME" or "FAIL - NAME: WHY"; the last line is "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
IT_NAME=packaging
IT_MAX_SECONDS=300
# shellcheck source=tests/itlib.sh
source tests/itlib.sh

ECHO_SERVER=$BUILD/ws_echo_server
require_binaries "$ECHO_SERVER" "$BUILD/wspcat"
for tool in cmake pkg-config; do
    command -v $tool >/dev/null || fail_check "$tool" "$tool is not installed"
done
(( FAILED == 0 )) || summary_and_exit

ver() { sed -n "s/^#define WSPROXY_VERSION_$1 \\([0-9][0-9]*\\)\$/\\1/p" wsproxy.h; }
MAJOR=$(ver MAJOR) MINOR=$(ver MINOR) PATCH=$(ver PATCH)
VERSION=$MAJOR.$MINOR.$PATCH
STAGE=$TMP/stage
PREFIX=/usr/local
mkdir -p "$STAGE"

# step LIMIT COMMAND...: run it (stdin empty) into $OUT/$ERR, RC = its exit status
step() {
    local limit=$1; shift
    set_cmdline "$@"
    run_timed "$limit" /dev/null nice -n 10 "$@"
}

ECHO=''
start_peer ECHO "echo server" "$ECHO_SERVER" || summary_and_exit
URL=ws://127.0.0.1:$ECHO/echo

# run_consumer NAME BINARY: the consumer's exchange with the echo server
run_consumer() {
    begin "$1: the consumer echoes one message through the echo server"
    if [[ ! -x $2 ]]; then why "not built"; finish; return; fi
    local msg="hello from $1"
    run_timed 20 /dev/null "$2" "$URL" "$msg"
    expect_rc 0
    expect_stdout "wsproxy $VERSION"$'\n'"$msg"$'\n'
    finish
}

# ---- the version: one home (the header's macros); README and CHANGELOG must name it --------
begin "README.md and CHANGELOG.md name the header's version $VERSION"
grep -q "^Version \*\*$VERSION\*\*" README.md || why "README.md has no line 'Version **$VERSION**'"
grep -q "^## $VERSION\b" CHANGELOG.md || why "CHANGELOG.md has no '## $VERSION' section"
finish

# ---- make install ------------------------------------------------------------------------
begin "make install DESTDIR=stage PREFIX=$PREFIX"
step 120 make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$STAGE" PREFIX="$PREFIX"
expect_rc 0
for f in include/wsproxy.h lib/pkgconfig/wsproxy.pc lib/cmake/wsproxy/wsproxyConfig.cmake \
         lib/cmake/wsproxy/wsproxyConfigVersion.cmake lib/cmake/wsproxy/wsproxyDeps.cmake \
         bin/wspcat share/man/man1/wspcat.1; do
    [[ -f $STAGE$PREFIX/$f ]] || why "no $PREFIX/$f"
done
cmp -s wsproxy.h "$STAGE$PREFIX/include/wsproxy.h" || why "the installed header differs from wsproxy.h"
[[ -x $STAGE$PREFIX/bin/wspcat ]] || why "bin/wspcat is not executable"
finish

begin "the installed wspcat runs"
run_timed 20 /dev/null "$STAGE$PREFIX/bin/wspcat" --show-proxy "$URL" --proxy ""
expect_rc 0
expect_stdout $'DIRECT\n'
finish

# ---- 1. pkg-config -----------------------------------------------------------------------
export PKG_CONFIG_SYSROOT_DIR=$STAGE PKG_CONFIG_PATH=$STAGE$PREFIX/lib/pkgconfig PKG_CONFIG_LIBDIR=$STAGE$PREFIX/lib/pkgconfig
begin "pkg-config: version $VERSION (from the header's MAJOR/MINOR/PATCH), -I into the install, -lbearssl"
step 20 pkg-config --modversion wsproxy
expect_stdout "$VERSION"$'\n'
PC_FLAGS=$(pkg-config --cflags --libs wsproxy 2>&1)
expect_text_has "pkg-config --cflags --libs" "$PC_FLAGS" "-I$STAGE$PREFIX/include"
expect_text_has "pkg-config --cflags --libs" "$PC_FLAGS" "-lbearssl"
finish

begin "pkg-config: the consumer compiles and links (-Werror)"
# shellcheck disable=SC2086  # the flags are words
step 120 cc -std=c99 -Wall -Wextra -pedantic -Werror -o "$TMP/consumer-pc" \
    tests/consumer/consumer.c $PC_FLAGS
expect_rc 0
finish
run_consumer "pkg-config" "$TMP/consumer-pc"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH PKG_CONFIG_LIBDIR

# ---- 2. find_package ---------------------------------------------------------------------
# cmake_consumer DIR ARGS...: configure and build tests/consumer in $TMP/DIR
cmake_consumer() {
    local dir=$TMP/$1; shift
    step 120 cmake -S tests/consumer -B "$dir" "$@"
    [[ $RC == 0 ]] || { why "cmake configure failed"; return; }
    step 180 cmake --build "$dir"
    [[ $RC == 0 ]] || why "cmake --build failed"
}

begin "find_package(wsproxy $MAJOR.$MINOR): configures and builds against the staged install"
cmake_consumer fp -DWSPROXY_FROM=package -DCMAKE_PREFIX_PATH="$STAGE$PREFIX" \
    -DWSPROXY_WANT_VERSION="$MAJOR.$MINOR"
finish
run_consumer "find_package" "$TMP/fp/consumer"

begin "find_package: the header comes from the install, not from this tree"
step 20 grep -rh -- "-I\|-isystem" "$TMP/fp/CMakeFiles/consumer.dir/flags.make"
expect_stdout_has "$STAGE$PREFIX/include"
expect_stdout_lacks "$ROOT "
finish

begin "find_package(wsproxy $((MAJOR + 1)).0) and $MAJOR.$((MINOR + 1)) are refused by the version file"
for want in "$((MAJOR + 1)).0" "$MAJOR.$((MINOR + 1))"; do
    step 120 cmake -S tests/consumer -B "$TMP/fp-$want" -DWSPROXY_FROM=package \
        -DCMAKE_PREFIX_PATH="$STAGE$PREFIX" -DWSPROXY_WANT_VERSION="$want"
    [[ $RC != 0 ]] || why "find_package(wsproxy $want) accepted version $VERSION"
    grep -q "$VERSION" "$OUT" "$ERR" || why "cmake's refusal of $want does not name $VERSION"
done
finish

begin "find_package with -DWSPROXY_NO_TLS=ON: the target defines WSPROXY_NO_TLS, links no BearSSL"
cmake_consumer fp-notls -DWSPROXY_FROM=package -DCMAKE_PREFIX_PATH="$STAGE$PREFIX" -DWSPROXY_NO_TLS=ON
grep -q 'WSPROXY_NO_TLS' "$TMP/fp-notls/CMakeFiles/consumer.dir/flags.make" 2>/dev/null ||
    why "no WSPROXY_NO_TLS in the consumer's flags"
if grep -q bearssl "$TMP/fp-notls/CMakeFiles/consumer.dir/link.txt" 2>/dev/null; then
    why "the consumer still links BearSSL"
fi
finish
run_consumer "find_package, no TLS" "$TMP/fp-notls/consumer"

# ---- 3. add_subdirectory and FetchContent ------------------------------------------------
begin "add_subdirectory(wsproxy source tree): configures and builds"
cmake_consumer sub -DWSPROXY_FROM=subdirectory -DWSPROXY_SOURCE_DIR="$ROOT"
finish
run_consumer "add_subdirectory" "$TMP/sub/consumer"

begin "FetchContent of the source tree: configures and builds"
cmake_consumer fc -DWSPROXY_FROM=fetchcontent -DWSPROXY_SOURCE_DIR="$ROOT"
finish
run_consumer "FetchContent" "$TMP/fc/consumer"

# ---- the source tree's own CMake build: wspcat, the examples, ctest over the unit suites --
begin "CMake alone: wspcat and the examples build, ctest runs the unit suites and passes"
step 300 cmake -S . -B "$TMP/self"
if [[ $RC == 0 ]]; then
    step 600 cmake --build "$TMP/self" -j 2
    [[ $RC == 0 ]] || why "cmake --build failed"
    for b in wspcat blocking autobahn_client; do
        [[ -x $TMP/self/$b ]] || why "no $b built"
    done
    step 300 ctest --test-dir "$TMP/self" --output-on-failure
    expect_rc 0
    expect_stdout_has "100% tests passed, 0 tests failed out of 7"
else
    why "cmake configure failed"
fi
finish

# ---- uninstall ---------------------------------------------------------------------------
begin "make uninstall leaves the staging folder empty"
step 60 make --no-print-directory -s uninstall BUILD="$BUILD" DESTDIR="$STAGE" PREFIX="$PREFIX"
expect_rc 0
left=$(cd "$STAGE" && find . -mindepth 1 | head -n 5 | tr '\n' ' ')
[[ -z $left ]] || why "left behind: $left"
finish

begin "make uninstall keeps what it did not install"
mkdir -p "$STAGE$PREFIX/share/man/man1" && echo keep >"$STAGE$PREFIX/share/man/man1/other.1"
step 120 make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$STAGE" PREFIX="$PREFIX" WSPROXY_DEFLATE=1
expect_rc 0
pc=$(cat "$STAGE$PREFIX/lib/pkgconfig/wsproxy.pc" 2>/dev/null)
expect_line "wsproxy.pc with WSPROXY_DEFLATE=1" "$pc" "Requires: zlib"
expect_text_match "wsproxy.pc with WSPROXY_DEFLATE=1" "$pc" '^Cflags: .*-DWSPROXY_DEFLATE'
step 60 make --no-print-directory -s uninstall BUILD="$BUILD" DESTDIR="$STAGE" PREFIX="$PREFIX"
expect_rc 0
left=$(cd "$STAGE" && find . -mindepth 1 | sort | tr '\n' ' ')
[[ $left == "./usr ./usr/local ./usr/local/share ./usr/local/share/man ./usr/local/share/man/man1 ./usr/local/share/man/man1/other.1 " ]] ||
    why "left: $left"
finish

summary_and_exit
