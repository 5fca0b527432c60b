#!/usr/bin/env bash
# make test: every suite, summed by scripts/run_suites.sh into one closing line
# "N passed, N failed". Usage: BUILD=build scripts/run_tests.sh UNIT...
set -u
BUILD=${BUILD:-build}
suites=()
for u in "$@"; do
    suites+=("$u" "$BUILD/$u" "$u (ASan+UBSan)" "$BUILD/$u-san")
done
suites+=(
    "test_tls, 512-byte TLS records (ASan+UBSan)" "$BUILD/test_tls-small-san"
    "test_client with WSPROXY_DEFLATE, not offered (ASan+UBSan)" "$BUILD/test_client-deflate-san"
    "test_pure, AVX2 without AVX-512: WSPROXY_NO_AVX512 (ASan+UBSan)" "$BUILD/test_pure-avx2-san"
    "test_pure, SSE2 only: WSPROXY_NO_AVX2 (ASan+UBSan)" "$BUILD/test_pure-sse2-san"
    "test_pure, no vector registers: WSPROXY_NO_SIMD (ASan+UBSan)" "$BUILD/test_pure-nosimd-san"
    "test_stages, SSE2 only: WSPROXY_NO_AVX2 (ASan+UBSan)" "$BUILD/test_stages-sse2-san"
    "test_stages, no vector registers: WSPROXY_NO_SIMD (ASan+UBSan)" "$BUILD/test_stages-nosimd-san"
    "test_tls, OpenSSL backend" "$BUILD/test_tls-openssl"
    "test_tls, OpenSSL backend (ASan+UBSan)" "$BUILD/test_tls-openssl-san"
    "test_tls, OpenSSL backend, 512-byte TLS records (ASan+UBSan)" "$BUILD/test_tls-openssl-small-san"
    "test_auth, OpenSSL backend" "$BUILD/test_auth-openssl"
    "test_auth, OpenSSL backend (ASan+UBSan)" "$BUILD/test_auth-openssl-san"
    "catalogue of bad inputs" "$BUILD/test_catalogue"
    "catalogue of bad inputs (ASan+UBSan)" "$BUILD/test_catalogue-san"
    "compile tests" "bash scripts/compile_tests.sh"
    "integration over loopback" "bash tests/integration.sh"
    "TLS integration over loopback" "bash tests/integration_tls.sh"
    "TLS policy over loopback (suites, certificates, mTLS)" "bash tests/integration_tls_policy.sh"
    "TLS integration over loopback, OpenSSL backend" "WSPCAT=$BUILD/wspcat-openssl bash tests/integration_tls.sh"
    "TLS policy over loopback, OpenSSL backend" "WSPCAT=$BUILD/wspcat-openssl bash tests/integration_tls_policy.sh"
    "TLS 1.3-only peers over loopback (both backends)" "bash tests/integration_tls13.sh"
    "SOCKS and environment over loopback" "bash tests/integration_socks.sh"
    "wspcat as a tool" "bash tests/wspcat.sh"
    "the README's event-loop sample, built and run" "bash tests/readme_sample.sh"
    "no secrets in wspcat output" "bash tests/security.sh"
    "adversarial peers" "bash tests/adversarial.sh"
    "integration under valgrind" "bash tests/valgrind.sh"
)
exec bash scripts/run_suites.sh "${suites[@]}"
