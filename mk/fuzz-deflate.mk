# The permessage-deflate fuzz target (issue 16): fuzz/fuzz_client_deflate.c is picked up
# by mk/hardening.mk's fuzz rules like any fuzz/fuzz_*.c (make fuzz, fuzz-smoke,
# fuzz-replay); these rules only add what it needs beyond them: WSPROXY_DEFLATE and zlib.
#   make fuzz-seeds-deflate     rewrite fuzz/seeds/fuzz_client_deflate/ with
#                               fuzz/gen_seeds_deflate.c (real compressed streams)
.PHONY: fuzz-seeds-deflate

$(BUILD)/fuzz/fuzz_client_deflate: fuzz/fuzz_client_deflate.c fuzz/fuzz_common.h wsproxy.h | $(BUILD)/fuzz check-zlib
	$(FUZZ_CC) -std=c99 $(WARN) $(FUZZ_FLAGS) -o $@ $< -lz

$(BUILD)/fuzz/fuzz_client_deflate-replay: fuzz/fuzz_client_deflate.c fuzz/replay_main.c fuzz/fuzz_common.h wsproxy.h | $(BUILD)/fuzz check-zlib
	$(FUZZ_REPLAY_CC) -std=c99 $(WARN) $(FUZZ_REPLAY_FLAGS) -o $@ $< fuzz/replay_main.c -lz

$(BUILD)/fuzz/gen_seeds_deflate: fuzz/gen_seeds_deflate.c | $(BUILD)/fuzz check-zlib
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $< -lz

fuzz-seeds-deflate: $(BUILD)/fuzz/gen_seeds_deflate
	$(BUILD)/fuzz/gen_seeds_deflate fuzz/seeds
