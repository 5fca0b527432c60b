# Event-loop examples (issue 8): blocking.c, epoll_many.c (Linux epoll), libuv_client.c
# (Debian libuv1-dev), and tests/examples.sh, which runs them against the test peers.
EXAMPLES_EXTRA := $(BUILD)/blocking $(BUILD)/epoll_many $(BUILD)/libuv_client

.PHONY: examples-extra examples-test check-libuv

examples-extra: $(EXAMPLES_EXTRA)

# libuv: only libuv_client needs it. Install it when we may, else say how.
check-libuv:
	@if [ ! -f /usr/include/uv.h ] && [ ! -f /usr/local/include/uv.h ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing libuv1-dev"; \
	    (apt-get install -y -q libuv1-dev >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libuv1-dev >/dev/null)) || \
	     { echo "could not install libuv; run: apt-get install libuv1-dev"; exit 1; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    echo "installing libuv1-dev"; \
	    sudo -n apt-get install -y -q libuv1-dev >/dev/null || \
	     { echo "could not install libuv; run: sudo apt-get install libuv1-dev"; exit 1; }; \
	  else \
	    echo "libuv is missing (uv.h not found). Run: sudo apt-get install libuv1-dev"; exit 1; \
	  fi; \
	fi

# blocking.c defines WSPROXY_NO_TLS itself: no BearSSL needed.
$(BUILD)/blocking: examples/blocking.c wsproxy.h | $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ examples/blocking.c

$(BUILD)/epoll_many: examples/epoll_many.c wsproxy.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ examples/epoll_many.c -lbearssl

$(BUILD)/libuv_client: examples/libuv_client.c wsproxy.h | $(BUILD) check-bearssl check-libuv
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ examples/libuv_client.c -luv -lbearssl

examples-test: examples-extra peers
	@BUILD=$(BUILD) bash tests/examples.sh

ci-extra: examples-test
