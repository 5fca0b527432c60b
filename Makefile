# wsproxy.h: `make demo` shows it working through local proxies; `make test` runs every suite.
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -pedantic
BUILD   ?= build
SAN_CC  ?= clang
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

PEERS    := $(BUILD)/ws_echo_server $(BUILD)/http_proxy $(BUILD)/socks_server $(BUILD)/evil_server
EXAMPLES := $(BUILD)/wspcat
UNITS    := test_pure test_client test_tls test_select

.PHONY: all examples peers demo test unit compile-tests integration check-bearssl clean ci-extra

all: examples peers

# Further suites live in mk/*.mk; each adds its target to ci-extra, which .ci/run runs
# after `make test`.
ci-extra:

# BearSSL: wss:// and https:// proxies need it. Install it when we may, else say how.
check-bearssl:
	@if [ ! -f /usr/include/bearssl.h ] && [ ! -f /usr/local/include/bearssl.h ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing libbearssl-dev"; \
	    (apt-get install -y -q libbearssl-dev >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libbearssl-dev >/dev/null)) || \
	     { echo "could not install BearSSL; run: apt-get install libbearssl-dev"; exit 1; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    echo "installing libbearssl-dev"; \
	    sudo -n apt-get install -y -q libbearssl-dev >/dev/null || \
	     { echo "could not install BearSSL; run: sudo apt-get install libbearssl-dev"; exit 1; }; \
	  else \
	    echo "BearSSL is missing. Run: sudo apt-get install libbearssl-dev"; exit 1; \
	  fi; \
	fi

$(BUILD):
	@mkdir -p $(BUILD)

examples: $(EXAMPLES) examples-extra
peers: $(PEERS)

$(BUILD)/wspcat: examples/wspcat.c wsproxy.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ examples/wspcat.c -lbearssl

$(BUILD)/%: tests/peers/%.c tests/peers/peer_common.h | $(BUILD) check-bearssl
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -o $@ $< -lbearssl

# unit suites, plain and under ASan+UBSan
$(BUILD)/%: tests/%.c wsproxy.h tests/test.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $< -lbearssl
$(BUILD)/%-san: tests/%.c wsproxy.h tests/test.h | $(BUILD) check-bearssl
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -o $@ $< -lbearssl

# the TLS cells again with the smallest TLS output buffer (512-byte records)
$(BUILD)/test_tls-small-san: tests/test_tls.c wsproxy.h tests/test.h | $(BUILD) check-bearssl
	$(SAN_CC) -std=c99 $(WARN) $(SANFLAGS) -DWSPROXY_TLS_OUTPUT_BUFFER_BYTES=597 -o $@ $< -lbearssl

unit: $(addprefix $(BUILD)/,$(UNITS)) $(addprefix $(BUILD)/,$(addsuffix -san,$(UNITS))) \
      $(BUILD)/test_tls-small-san

demo: $(EXAMPLES) peers
	@bash scripts/demo.sh

test: $(EXAMPLES) peers unit $(BUILD)/test_catalogue $(BUILD)/test_catalogue-san $(BUILD)/adversarial_driver
	@BUILD=$(BUILD) bash scripts/run_tests.sh $(UNITS)

clean:
	rm -rf $(BUILD)

-include $(sort $(wildcard mk/*.mk))
