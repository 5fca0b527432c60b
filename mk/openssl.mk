# The TLS stage on OpenSSL 3 (issue 18, -DWSPROXY_TLS_OPENSSL). make test builds and runs,
# beside the BearSSL builds:
#   build/test_tls-openssl            the TLS cells of tests/test_tls.c with the OpenSSL client
#   build/test_tls-openssl-san        the same under ASan+UBSan (LeakSanitizer: every OpenSSL
#                                     object is freed), and -small-san with 512-byte records
#   build/test_auth-openssl(-san)     Digest (RFC 7616 vectors) with OpenSSL's hashes
#   build/wspcat-openssl              wspcat on OpenSSL: the loopback TLS suites run against it
#                                     (WSPCAT=build/wspcat-openssl), and tests/integration_tls13.sh
#                                     (TLS 1.3-only peers, both wspcat builds)
# The BearSSL test_tls links OpenSSL too, for its TLS 1.3 servers (-DTEST_OPENSSL_PEERS).
#   make openssl      builds all of the above
#   make bench-tls    bench/tls_backends.c: both backends beside bare BearSSL and bare OpenSSL
# Needs libssl-dev: scripts/need.sh installs it (or says the command), as for BearSSL.

OPENSSL_LIBS := -lssl -lcrypto
NEED_OPENSSL := libssl-dev "OpenSSL 3 headers (WSPROXY_TLS_OPENSSL builds; test_tls's TLS 1.3 servers)" "has_header openssl/ssl.h"
OPENSSL_UNITS := $(BUILD)/test_tls-openssl $(BUILD)/test_tls-openssl-san $(BUILD)/test_tls-openssl-small-san \
                 $(BUILD)/test_auth-openssl $(BUILD)/test_auth-openssl-san
OPENSSL_BINS := $(BUILD)/wspcat-openssl $(OPENSSL_UNITS)

.PHONY: check-openssl openssl bench-tls

check-openssl:
	@$(NEED) $(NEED_OPENSSL)

# make test needs them (extra prerequisites of targets the Makefile defines)
check-test-deps: check-openssl
test: $(OPENSSL_BINS)
openssl: $(OPENSSL_BINS)

# with GSSAPI when wspcat has it (NTLM and Negotiate: make interop runs them on both backends)
$(BUILD)/wspcat-openssl: examples/wspcat.c wsproxy.h $(BUILD)/wspcat.gss | $(BUILD) check-openssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(WSPCAT_GSS_CFLAGS) -I. -DWSPROXY_TLS_OPENSSL -o $@ examples/wspcat.c \
	  $(OPENSSL_LIBS) $(WSPCAT_GSS_LIBS)

# the test's servers stay BearSSL's (and OpenSSL's for TLS 1.3): -lbearssl as well
$(BUILD)/test_tls-openssl: tests/test_tls.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-openssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DWSPROXY_TLS_OPENSSL -o $@ $< -lbearssl $(OPENSSL_LIBS)
$(BUILD)/test_tls-openssl-san: tests/test_tls.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-openssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_TLS_OPENSSL -o $@ $< -lbearssl $(OPENSSL_LIBS)
$(BUILD)/test_tls-openssl-small-san: tests/test_tls.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-openssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_TLS_OPENSSL -DWSPROXY_TLS_OUTPUT_BUFFER_BYTES=597 -o $@ $< \
	  -lbearssl $(OPENSSL_LIBS)
$(BUILD)/test_auth-openssl: tests/test_auth.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-openssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DWSPROXY_TLS_OPENSSL -o $@ $< -lbearssl $(OPENSSL_LIBS)
$(BUILD)/test_auth-openssl-san: tests/test_auth.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-openssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_TLS_OPENSSL -o $@ $< -lbearssl $(OPENSSL_LIBS)

# bench: the two backends in one program (each a WSPROXY_STATIC copy of the header)
TLS_BENCH_SRC := bench/tls_backends.c bench/tls_backends_bearssl.c bench/tls_backends_openssl.c
$(BUILD)/bench/tls_backends: $(TLS_BENCH_SRC) bench/tls_backends.h bench/tls_backends_wsp.inc bench/common.h \
                             wsproxy.h | $(BUILD) check-bearssl check-openssl
	@mkdir -p $(BUILD)/bench
	$(CC) -std=c99 $(WARN) $(BENCH_CFLAGS) -o $@ $(TLS_BENCH_SRC) -lbearssl $(OPENSSL_LIBS)

bench-tls: $(BUILD)/bench/tls_backends
	@BUILD=$(BUILD) bash bench/tls_backends.sh
