# wsproxy.h: `make demo` shows it working through local proxies; `make test` runs every suite.
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -pedantic
BUILD   ?= build
SAN_CC  ?= clang
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

PEERS    := $(BUILD)/ws_echo_server $(BUILD)/http_proxy $(BUILD)/socks_server $(BUILD)/evil_server
EXAMPLES := $(BUILD)/wspcat
UNITS    := test_pure test_client test_tls test_select test_stages test_auth

.PHONY: all examples peers demo test unit compile-tests integration check-bearssl check-test-deps \
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

check-bearssl:
	@$(NEED) $(NEED_BEARSSL)

# make test: BearSSL, clang and its sanitizer runtime (ASan+UBSan builds), valgrind, python3
check-test-deps:
	@$(NEED) $(NEED_BEARSSL) \
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

# examples include "wsproxy.h": -I. finds it here, as it is found next to a copied example
$(BUILD)/wspcat: examples/wspcat.c wsproxy.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -I. -o $@ examples/wspcat.c -lbearssl

$(BUILD)/%: tests/peers/%.c tests/peers/peer_common.h | $(BUILD) check-bearssl
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -o $@ $< -lbearssl

# unit suites, plain and under ASan+UBSan
$(BUILD)/%: tests/%.c wsproxy.h tests/test.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $< -lbearssl
$(BUILD)/%-san: tests/%.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -o $@ $< -lbearssl

# test_tls: its TLS 1.3 servers are OpenSSL's (mk/openssl.mk has the OpenSSL client's builds)
$(BUILD)/test_tls: tests/test_tls.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-openssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DTEST_OPENSSL_PEERS -o $@ $< -lbearssl $(OPENSSL_LIBS)
$(BUILD)/test_tls-san: tests/test_tls.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-openssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DTEST_OPENSSL_PEERS -o $@ $< -lbearssl $(OPENSSL_LIBS)
# the TLS cells again with the smallest TLS output buffer (512-byte records)
$(BUILD)/test_tls-small-san: tests/test_tls.c wsproxy.h tests/test.h | $(BUILD) check-bearssl check-openssl check-sanitizers
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_TLS_OUTPUT_BUFFER_BYTES=597 -DTEST_OPENSSL_PEERS -o $@ $< \
	  -lbearssl $(OPENSSL_LIBS)

unit: $(addprefix $(BUILD)/,$(UNITS)) $(addprefix $(BUILD)/,$(addsuffix -san,$(UNITS))) \
      $(BUILD)/test_tls-small-san

demo: $(EXAMPLES) peers
	@bash scripts/demo.sh

test: check-test-deps $(EXAMPLES) peers unit $(BUILD)/test_catalogue $(BUILD)/test_catalogue-san $(BUILD)/adversarial_driver
	@BUILD=$(BUILD) bash scripts/run_tests.sh $(UNITS)

clean:
	rm -rf $(BUILD)

-include $(sort $(wildcard mk/*.mk))
