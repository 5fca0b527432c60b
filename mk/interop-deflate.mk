# permessage-deflate interop (issue 16): tests/interop/deflate.sh with its driver
# (tests/interop/deflate_driver.c, WSPROXY_DEFLATE + zlib) against Python websockets and
# node's ws with compression on, directly, through squid and microsocks, ws:// and wss://.
#   make interop-deflate    logs and results in $(BUILD)/interop-deflate/
# With CI=true it first installs the peers the way .ci/run does (tests/interop/install.sh,
# apt-get and npm ci, no prompts); otherwise it installs nothing and names what is missing.
.PHONY: interop-deflate

$(BUILD)/deflate_driver: tests/interop/deflate_driver.c wsproxy.h | $(BUILD) check-bearssl check-zlib
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ tests/interop/deflate_driver.c -lbearssl -lz

interop-deflate: $(BUILD)/deflate_driver
	@if [ "$${CI:-}" = true ]; then bash tests/interop/install.sh; fi
	@BUILD=$(BUILD) bash tests/interop/deflate.sh

ci-extra: interop-deflate
