# Event-loop examples (issue 8): blocking.c, epoll_many.c (Linux epoll), libuv_client.c
# (Debian libuv1-dev), and tests/examples.sh, which runs them against the test peers.
EXAMPLES_EXTRA := $(BUILD)/blocking $(BUILD)/epoll_many $(BUILD)/libuv_client

.PHONY: examples-extra examples-test check-libuv

examples-extra: $(EXAMPLES_EXTRA)

# libuv: only libuv_client needs it (scripts/need.sh: says why, installs it or says how).
check-libuv:
	@$(NEED) libuv1-dev "libuv: the libuv_client example" "has_header uv.h"

# blocking.c defines WSPROXY_NO_TLS itself: no BearSSL needed.
$(BUILD)/blocking: examples/blocking.c wsproxy.h | $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -I. -o $@ examples/blocking.c

$(BUILD)/epoll_many: examples/epoll_many.c wsproxy.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -I. -o $@ examples/epoll_many.c -lbearssl

$(BUILD)/libuv_client: examples/libuv_client.c wsproxy.h | $(BUILD) check-bearssl check-libuv
	$(CC) -std=c99 $(WARN) $(CFLAGS) -I. -o $@ examples/libuv_client.c -luv -lbearssl

examples-test: examples-extra peers
	@BUILD=$(BUILD) bash tests/examples.sh

ci-extra: examples-test
