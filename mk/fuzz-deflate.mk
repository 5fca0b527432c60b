# The permessage-deflate fuzz target (issue 16): fuzz/fuzz_client_deflate.c is picked up
# by mk/hardening.mk's fuzz rules like any fuzz/fuzz_*.c (make fuzz, fuzz-smoke,
# fuzz-replay), and built by them; it defines WSPROXY_DEFLATE itself, and these rules
# only add zlib.
#   make fuzz-seeds-deflate     rewrite fuzz/seeds/fuzz_client_deflate/ with
#                               fuzz/gen_seeds_deflate.c (real compressed streams)
.PHONY: fuzz-seeds-deflate

# built by mk/hardening.mk's fuzz rules (with their $(FUZZ_HEADERS) dependency), with zlib
$(BUILD)/fuzz/fuzz_client_deflate $(BUILD)/fuzz/fuzz_client_deflate-replay: FUZZ_LIBS := -lz
$(BUILD)/fuzz/fuzz_client_deflate $(BUILD)/fuzz/fuzz_client_deflate-replay: | check-zlib

$(BUILD)/fuzz/gen_seeds_deflate: fuzz/gen_seeds_deflate.c | $(BUILD)/fuzz check-zlib
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ $< -lz

fuzz-seeds-deflate: $(BUILD)/fuzz/gen_seeds_deflate
	$(BUILD)/fuzz/gen_seeds_deflate fuzz/seeds
