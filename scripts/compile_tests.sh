#!/usr/bin/env bash
# Builds the header in every supported way, warnings as errors; one check per build.
set -u
BUILD=${BUILD:-build}
mkdir -p "$BUILD/compile"
pass=0; fail=0
W="-Wall -Wextra -pedantic -Werror"
# Every build has -Wconversion -Wsign-conversion too; WCONVERSION=0 leaves them out.
WCONVERSION=${WCONVERSION:-1}
if [ "$WCONVERSION" = 1 ]; then W="$W -Wconversion -Wsign-conversion"; fi
echo "# flags: $W"

check() {
    local name=$1; shift
    local log="$BUILD/compile/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
    if "$@" >"$log" 2>&1; then pass=$((pass + 1)); echo "ok - $name"
    else fail=$((fail + 1)); echo "FAIL - $name"; cat "$log"; fi
}

for cc in gcc clang; do
    command -v $cc >/dev/null || continue
    check "$cc C99 no TLS" $cc -std=c99 $W -DWSPROXY_NO_TLS tests/compile_one.c -o "$BUILD/compile/one"
    check "$cc C99 with TLS" $cc -std=c99 $W tests/compile_one.c -o "$BUILD/compile/one" -lbearssl
    check "$cc two units WSPROXY_STATIC with TLS" $cc -std=c99 $W \
        tests/compile_static_a.c tests/compile_static_b.c -o "$BUILD/compile/two" -lbearssl
    check "$cc C11" $cc -std=c11 $W -DWSPROXY_NO_TLS tests/compile_one.c -o "$BUILD/compile/one"
    check "$cc two units WSPROXY_STATIC" $cc -std=c99 $W -DWSPROXY_NO_TLS \
        tests/compile_static_a.c tests/compile_static_b.c -o "$BUILD/compile/two"
    check "$cc two units run" "$BUILD/compile/two"
    check "$cc C99 with TLS and WSPROXY_DEFLATE" $cc -std=c99 $W -DWSPROXY_DEFLATE tests/compile_one.c \
        -o "$BUILD/compile/one" -lbearssl -lz
    check "$cc C99 with TLS on OpenSSL" $cc -std=c99 $W -DWSPROXY_TLS_OPENSSL tests/compile_one.c \
        -o "$BUILD/compile/one" -lssl -lcrypto
    check "$cc two units WSPROXY_STATIC with TLS on OpenSSL" $cc -std=c99 $W -DWSPROXY_TLS_OPENSSL \
        tests/compile_static_a.c tests/compile_static_b.c -o "$BUILD/compile/two" -lssl -lcrypto
    check "$cc C99 no TLS, WSPROXY_NO_SIMD" $cc -std=c99 $W -DWSPROXY_NO_TLS -DWSPROXY_NO_SIMD tests/compile_one.c \
        -o "$BUILD/compile/one"
    case $(uname -m) in x86_64|i?86)
        check "$cc C99 no TLS, WSPROXY_NO_AVX2" $cc -std=c99 $W -DWSPROXY_NO_TLS -DWSPROXY_NO_AVX2 \
            tests/compile_one.c -o "$BUILD/compile/one"
        check "$cc C99 no TLS, -mavx2 (no check of the CPU at run time)" $cc -std=c99 $W -DWSPROXY_NO_TLS -mavx2 \
            tests/compile_one.c -o "$BUILD/compile/one" ;;
    esac
    check "$cc with TLS on OpenSSL, bearssl.h included after the header" $cc -std=c99 $W -DWSPROXY_TLS_OPENSSL \
        -include tests/compile_one.c -include bearssl.h -x c /dev/null -o "$BUILD/compile/one" -lssl -lcrypto
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || continue
    check "$cxx C++11" $cxx -x c++ -std=c++11 $W -DWSPROXY_NO_TLS tests/compile_one.c -o "$BUILD/compile/one"
    check "$cxx C++17 with TLS" $cxx -x c++ -std=c++17 $W tests/compile_one.c -o "$BUILD/compile/one" -lbearssl
    check "$cxx C++17 with TLS and WSPROXY_DEFLATE" $cxx -x c++ -std=c++17 $W -DWSPROXY_DEFLATE tests/compile_one.c \
        -o "$BUILD/compile/one" -lbearssl -lz
    check "$cxx two units WSPROXY_STATIC" $cxx -x c++ $W -DWSPROXY_NO_TLS \
        tests/compile_static_a.c tests/compile_static_b.c -o "$BUILD/compile/two"
    check "$cxx C++17 with TLS on OpenSSL" $cxx -x c++ -std=c++17 $W -DWSPROXY_TLS_OPENSSL tests/compile_one.c \
        -o "$BUILD/compile/one" -lssl -lcrypto
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
