# wsproxy.h: `make demo` shows it working through local proxies; `make test` runs every suite.
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -pedantic
BUILD   ?= build
SAN_CC  ?= clang
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

PEERS    := $(BUILD)/ws_echo_server $(BUILD)/http_proxy $(BUILD)/socks_server $(BUILD)/evil_server
EXAMPLES := $(BUILD)/wspcat
UNITS    := test_pure test_client test_tls test_select test_stages test_auth test_deflate

.PHONY: all examples peers demo test unit compile-tests integration check-bearssl check-zlib check-test-deps \
        check-sanitizers clean ci-extra

all: examples peers

# Further suites live in mk/*.mk; each adds its target to ci-extra, which .ci/run runs
# after `make test`.
ci-extra:

# What the builds need from Debian: scripts/need.sh says which package and why, installs it
# with apt-get in view when it may (root, or sudo without a password), and otherwise stops
# with the exact command. NO_INSTALL=1: never install, only say.
NEED := bash scripts/need.sh
NEED_BEARSSL := libbearssl-dev "BearSSL (TLS: wss://, https:// proxies); wspcat, peers and suites link -lbearssl" "has_header bearssl.h"
NEED_ZLIB := zlib1g-dev "zlib: permessage-deflate (WSPROXY_DEFLATE) in wspcat, autobahn_client and the suites" "has_header zlib.h"

check-bearssl:
	@$(NEED) $(NEED_BEARSSL)

check-zlib:
	@$(NEED) $(NEED_ZLIB)

# make test: BearSSL, clang and its sanitizer runtime (ASan+UBSan builds), valgrind, python3
check-test-deps:
	@$(NEED) $(NEED_BEARSSL) $(NEED_ZLIB) \
	  clang "clang: the ASan+UBSan builds of the unit suites" "has_cmd $(SAN_CC)" \
	  valgrind "valgrind: make test runs wspcat's scenarios under it" "has_cmd valgrind" \
	  python3 "python3: the loopback suites pick free ports with it" "has_cmd python3"
	@$(MAKE) --no-print-directory check-sanitizers

# (SAN_CC another compiler than clang: its runtime is that compiler's business)
check-sanitizers:
ifneq ($(findstring clang,$(SAN_CC)),)
	@$(NEED) clang "clang: the ASan+UBSan builds of the unit suites" "has_cmd $(SAN_CC)"
	@v=$$($(SAN_CC) -dumpversion | cut -d. -f1); \
	$(NEED) libclang-rt-$$v-dev "clang's sanitizer runtime: the ASan+UBSan builds of the unit suites" \
	  "has_asan $(SAN_CC)"
endif

$(BUILD):
	@mkdir -p $(BUILD)

examples: $(EXAMPLES) examples-extra
peers: $(PEERS)

# wspcat's NTLM and Negotiate proxy authentication use GSSAPI (Debian libkrb5-dev) when
# the build finds it (pkg-config krb5-gssapi, else the header); without it wspcat has
# Basic and Digest, and says so in --version. make WSPCAT_GSSAPI=0: build without it.
WSPCAT_GSSAPI ?= auto
ifeq ($(WSPCAT_GSSAPI),auto)
  ifeq ($(shell pkg-config --exists krb5-gssapi 2>/dev/null && echo y),y)
    WSPCAT_GSS_CFLAGS := -DWSPCAT_GSSAPI $(shell pkg-config --cflags krb5-gssapi)
    WSPCAT_GSS_LIBS := $(shell pkg-config --libs krb5-gssapi)
  else ifneq ($(wildcard /usr/include/gssapi/gssapi.h),)
    WSPCAT_GSS_CFLAGS := -DWSPCAT_GSSAPI
    WSPCAT_GSS_LIBS := -lgssapi_krb5
  endif
endif

# What wspcat is built with, rewritten only when it changes: a build made before
# libkrb5-dev was installed (make test on a fresh machine, then tests/interop/install.sh
# in CI) is rebuilt with GSSAPI by the next make, not kept without it.
$(BUILD)/wspcat.gss: FORCE | $(BUILD)
	@echo '$(WSPCAT_GSS_CFLAGS) $(WSPCAT_GSS_LIBS)' | cmp -s - $@ || echo '$(WSPCAT_GSS_CFLAGS) $(WSPCAT_GSS_LIBS)' > $@
.PHONY: FORCE
FORCE:

# examples include "wsproxy.h": -I. finds it here, as it is found next to a copied example
$(BUILD)/wspcat: examples/wspcat.c wsproxy.h $(BUILD)/wspcat.gss | $(BUILD) check-bearssl check-zlib
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DWSPROXY_DEFLATE $(WSPCAT_GSS_CFLAGS) -I. -o $@ examples/wspcat.c -lbearssl -lz $(WSPCAT_GSS_LIBS)

$(BUILD)/%: tests/peers/%.c tests/peers/peer_common.h | $(BUILD) check-bearssl check-zlib
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -o $@ $< -lbearssl -lz

# unit suites, plain and under ASan+UBSan (test_deflate defines WSPROXY_DEFLATE: zlib)
UNIT_LIBS := -lbearssl -lz
$(BUILD)/%: tests/%.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-zlib
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $< $(UNIT_LIBS)
$(BUILD)/%-san: tests/%.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-zlib check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -o $@ $< $(UNIT_LIBS)

# the client's suite again with permessage-deflate compiled in but not offered: nothing changes
$(BUILD)/test_client-deflate-san: tests/test_client.c wsproxy.h tests/test.h | $(BUILD) check-zlib check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_DEFLATE -o $@ $< -lz

# test_tls: its TLS 1.3 servers are OpenSSL's (mk/openssl.mk has the OpenSSL client's builds)
$(BUILD)/test_tls: tests/test_tls.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-openssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DTEST_OPENSSL_PEERS -o $@ $< -lbearssl $(OPENSSL_LIBS)
$(BUILD)/test_tls-san: tests/test_tls.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-openssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DTEST_OPENSSL_PEERS -o $@ $< -lbearssl $(OPENSSL_LIBS)
# the TLS cells again with the smallest TLS output buffer (512-byte records)
$(BUILD)/test_tls-small-san: tests/test_tls.c wsproxy.h tests/test.h tests/tls_server.h | $(BUILD) check-bearssl check-openssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_TLS_OUTPUT_BUFFER_BYTES=597 -DTEST_OPENSSL_PEERS -o $@ $< \
	  -lbearssl $(OPENSSL_LIBS)

# the suites of the mask and of text again on the other code paths: AVX2 without AVX-512
# (what a CPU with AVX-512 runs otherwise), SSE2 only (a CPU without AVX2) and no vector
# registers
AVX2_UNITS   := test_pure
SSE2_UNITS   := test_pure test_stages
NOSIMD_UNITS := test_pure test_stages
$(BUILD)/%-avx2-san: tests/%.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_NO_AVX512 -o $@ $< $(UNIT_LIBS)
$(BUILD)/%-sse2-san: tests/%.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_NO_AVX2 -o $@ $< $(UNIT_LIBS)
$(BUILD)/%-nosimd-san: tests/%.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_NO_SIMD -o $@ $< $(UNIT_LIBS)

unit: $(addprefix $(BUILD)/,$(UNITS)) $(addprefix $(BUILD)/,$(addsuffix -san,$(UNITS))) \
      $(BUILD)/test_tls-small-san $(BUILD)/test_client-deflate-san \
      $(addprefix $(BUILD)/,$(addsuffix -avx2-san,$(AVX2_UNITS)) $(addsuffix -sse2-san,$(SSE2_UNITS)) \
        $(addsuffix -nosimd-san,$(NOSIMD_UNITS)))

demo: $(EXAMPLES) peers
	@bash scripts/demo.sh

test: check-test-deps $(EXAMPLES) peers unit $(BUILD)/test_catalogue $(BUILD)/test_catalogue-san $(BUILD)/adversarial_driver
	@BUILD=$(BUILD) bash scripts/run_tests.sh $(UNITS)

clean:
	rm -rf $(BUILD)

-include $(sort $(wildcard mk/*.mk))
