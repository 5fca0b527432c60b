# Hardening suites (issue 6): fuzzing, the bad-input catalogue, adversarial peers,
# valgrind over the integration scenarios, lint. Included by the Makefile
# (-include mk/*.mk). docs/hardening.md explains each target and its numbers.
#
#   make catalogue                 every named bad input -> its exact error code
#   make adversarial               wspcat / a driver against tests/peers/evil_server modes
#   make valgrind-test             wspcat scenarios under valgrind (no leaks, no bad access)
#   make fuzz FUZZ_SECONDS=N       each libFuzzer target N seconds (default 60)
#   make fuzz-smoke                CI: seeds replayed (gcc build), then each target
#                                  FUZZ_SMOKE_SECONDS (default 18) seconds, one at a time
#   make fuzz-replay               the seeds through the gcc builds only
#   make fuzz-seeds                rewrite fuzz/seeds/ with fuzz/gen_seeds.c
#   make lint                      cppcheck and clang-tidy on wsproxy.h (tests/lint.sh, tests/lint_tu.c)
#
# A fuzz target is any fuzz/fuzz_NAME.c: dropping in a new file is all it takes (its
# seeds go in fuzz/seeds/fuzz_NAME/, its libFuzzer -max_len in a "fuzz-max-len: N"
# comment inside the file).

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 18
FUZZ_FLAGS         := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                      -fno-sanitize-recover=all
FUZZ_REPLAY_CC     ?= $(CC)
FUZZ_REPLAY_FLAGS  ?= -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                      -fno-sanitize-recover=all
FUZZ_NAMES         := $(patsubst fuzz/%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_HEADERS       := $(wildcard fuzz/*.h) tests/tls_server.h   # fuzz_common.h, client_harness.h; the TLS servers
FUZZ_LIBS          := -lbearssl   # a target with other libraries sets its own (mk/fuzz-deflate.mk)
FUZZ_BINS          := $(addprefix $(BUILD)/fuzz/,$(FUZZ_NAMES))
FUZZ_REPLAYS       := $(addsuffix -replay,$(FUZZ_BINS))

.PHONY: catalogue adversarial valgrind-test fuzz fuzz-smoke fuzz-replay fuzz-build \
        fuzz-seeds lint hardening

# catalogue, adversarial and valgrind-test also run in make test (scripts/run_tests.sh)
ci-extra: fuzz-smoke

hardening: catalogue adversarial valgrind-test fuzz-smoke lint

# ---- fuzzing ------------------------------------------------------------------------
$(BUILD)/fuzz:
	@mkdir -p $@

$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_HEADERS) wsproxy.h | $(BUILD)/fuzz check-bearssl
	$(FUZZ_CC) -std=c99 $(WARN) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIBS)

$(BUILD)/fuzz/%-replay: fuzz/%.c fuzz/replay_main.c $(FUZZ_HEADERS) wsproxy.h | $(BUILD)/fuzz check-bearssl
	$(FUZZ_REPLAY_CC) -std=c99 $(WARN) $(FUZZ_REPLAY_FLAGS) -o $@ $< fuzz/replay_main.c $(FUZZ_LIBS)

$(BUILD)/fuzz/gen_seeds: fuzz/gen_seeds.c wsproxy.h | $(BUILD)/fuzz check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $< -lbearssl

fuzz-build: $(FUZZ_BINS) $(FUZZ_REPLAYS)

fuzz-replay: $(FUZZ_REPLAYS)
	@BUILD=$(BUILD) bash fuzz/run.sh replay $(FUZZ_NAMES)

fuzz: $(FUZZ_BINS)
	@BUILD=$(BUILD) bash fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke: $(FUZZ_BINS) $(FUZZ_REPLAYS)
	@BUILD=$(BUILD) bash fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)

fuzz-seeds: $(BUILD)/fuzz/gen_seeds
	$(BUILD)/fuzz/gen_seeds fuzz/seeds

# ---- the catalogue of bad inputs and the security checks ----------------------------
catalogue: $(BUILD)/test_catalogue $(BUILD)/test_catalogue-san $(BUILD)/wspcat $(BUILD)/ws_echo_server \
           $(BUILD)/http_proxy
	@BUILD=$(BUILD) bash scripts/run_suites.sh \
	  "test_catalogue" "$(BUILD)/test_catalogue" \
	  "test_catalogue (ASan+UBSan)" "$(BUILD)/test_catalogue-san" \
	  "no secrets in wspcat output" "bash tests/security.sh"

# ---- adversarial peers ---------------------------------------------------------------
$(BUILD)/evil_server: tests/peers/evil_server.c | $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $<

$(BUILD)/adversarial_driver: tests/adversarial_driver.c wsproxy.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $< -lbearssl

adversarial: $(BUILD)/evil_server $(BUILD)/adversarial_driver $(BUILD)/wspcat
	@BUILD=$(BUILD) bash tests/adversarial.sh

# ---- valgrind --------------------------------------------------------------------------
valgrind-test: $(BUILD)/wspcat $(BUILD)/ws_echo_server $(BUILD)/http_proxy $(BUILD)/evil_server $(BUILD)/socks_server
	@BUILD=$(BUILD) bash tests/valgrind.sh

# ---- static analysis --------------------------------------------------------------------
lint:
	@bash tests/lint.sh
