# make bench: the performance table of bench/RESULTS.md (issue 9). Not part of CI.
# It fails on a broken build or a wrong result, never on a time: every row compares,
# none asserts. BENCH_QUICK=1 runs a shorter pass, BENCH_REPS=N sets the repetitions,
# BENCH_CONNS=N the connections per client in each repetition of rows 4 and 5.
# Needs libwslay-dev and libwebsockets-dev (the peers of rows 1, 2 and 4) and BearSSL;
# row 9 (TLS backends) runs when libssl-dev is installed. make bench writes only under
# $(BUILD)/bench (the last table in results.md, every run kept in runs/); make bench-report
# is the one step that copies runs (the last two of all rows; BENCH_REPORT_RUNS=N, BENCH_REPORT=files)
# into bench/RESULTS.md, between its bench:begin and bench:end lines.

BENCH_DIR    := $(BUILD)/bench
BENCH_CFLAGS ?= -O2 -g
BENCH_E2E    := bench/e2e.c bench/e2e_net.c bench/e2e_wsp.c bench/e2e_floor.c

.PHONY: bench bench-build bench-deps bench-report

bench: bench-build all
	@BUILD=$(BUILD) CC="$(CC)" BENCH_CFLAGS="$(BENCH_CFLAGS)" bash bench/run.sh

bench-report:
	@BUILD=$(BUILD) bash bench/report.sh

bench-build: $(BENCH_DIR)/micro $(BENCH_DIR)/e2e $(BENCH_DIR)/mem $(BENCH_DIR)/epoll_many $(BENCH_DIR)/deflate

# row 9, the TLS backends (bench/tls_backends.c, built by mk/openssl.mk): only when the
# OpenSSL headers are there (libssl-dev); bench/run.sh says so in the table when not
BENCH_HAVE_OPENSSL := $(shell printf '\043include <openssl/ssl.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo 1)
ifeq ($(BENCH_HAVE_OPENSSL),1)
bench-build: $(BUILD)/bench/tls_backends
endif

bench-deps: check-bearssl
	@missing=""; \
	for h in wslay/wslay.h libwebsockets.h; do \
	  printf '#include <%s>\n' "$$h" | $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing $$h"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "bench: missing header(s):$$missing"; \
	  echo "install them with: sudo apt-get install -y libwslay-dev libwebsockets-dev"; \
	  exit 1; \
	fi

$(BENCH_DIR)/micro: bench/micro.c bench/common.h wsproxy.h | bench-deps
	@mkdir -p $(BENCH_DIR)
	$(CC) -std=c99 $(WARN) $(BENCH_CFLAGS) -o $@ bench/micro.c -lwslay -lbearssl

# libwebsockets' headers are not -std=c99 -pedantic clean: that file builds apart
$(BENCH_DIR)/e2e_lws.o: bench/e2e_lws.c bench/e2e.h bench/common.h | bench-deps
	@mkdir -p $(BENCH_DIR)
	$(CC) -Wall -Wextra $(BENCH_CFLAGS) -c -o $@ bench/e2e_lws.c

$(BENCH_DIR)/e2e: $(BENCH_E2E) $(BENCH_DIR)/e2e_lws.o bench/e2e.h bench/common.h wsproxy.h | bench-deps
	$(CC) -std=c99 $(WARN) $(BENCH_CFLAGS) -o $@ $(BENCH_E2E) $(BENCH_DIR)/e2e_lws.o -lwebsockets -lbearssl

# row 6: mem and a copy of examples/epoll_many built without the built-in buffers
# (the caller gives them at run time); the default build/epoll_many runs beside it
BENCH_NOBUF := -DWSPROXY_RECV_BUFFER_BYTES=0 -DWSPROXY_SEND_BUFFER_BYTES=0

$(BENCH_DIR)/mem_default.o: bench/mem_default.c wsproxy.h | bench-deps
	@mkdir -p $(BENCH_DIR)
	$(CC) -std=c99 $(WARN) $(BENCH_CFLAGS) -c -o $@ bench/mem_default.c

$(BENCH_DIR)/mem: bench/mem.c bench/e2e_wsp.c bench/e2e_net.c $(BENCH_DIR)/mem_default.o bench/e2e.h bench/common.h wsproxy.h | bench-deps
	$(CC) -std=c99 $(WARN) $(BENCH_CFLAGS) $(BENCH_NOBUF) -o $@ bench/mem.c bench/e2e_wsp.c bench/e2e_net.c \
	  $(BENCH_DIR)/mem_default.o -lbearssl

$(BENCH_DIR)/epoll_many: examples/epoll_many.c wsproxy.h | bench-deps
	@mkdir -p $(BENCH_DIR)
	$(CC) -std=c99 $(WARN) $(BENCH_CFLAGS) $(BENCH_NOBUF) -I. -o $@ examples/epoll_many.c -lbearssl

# row 8: permessage-deflate in memory (WSPROXY_DEFLATE, zlib) beside zlib alone, and
# node's ws through bench/deflate_ws.js (tests/interop/node: npm ci)
$(BENCH_DIR)/deflate: bench/deflate.c bench/common.h wsproxy.h | check-zlib
	@mkdir -p $(BENCH_DIR)
	$(CC) -std=c99 $(WARN) $(BENCH_CFLAGS) -o $@ bench/deflate.c -lz
