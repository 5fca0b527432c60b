# RFC 6455 / RFC 7692 conformance: the Autobahn|Testsuite client cases (sections 1-7, 9, 10,
# 12, 13) and the project's section 16, run by tests/conformance/fuzzingserver.py against
# examples/autobahn_client directly, through the test HTTP proxy, over wss://, and wss://
# through the test HTTPS proxy (TLS in TLS); and against Python websockets
# (tests/conformance/ref_client.py) for the permessage-deflate sections. See
# docs/conformance.md.
#   make conformance                 every pass; $(BUILD)/conformance/report.json
#   make conformance CONFORMANCE_ARGS='--modes direct --cases 6.4.*'
#   make conformance-full            the suite's message counts in sections 12 and 13
#   make conformance-selftest        checks the server's verdicts with deliberately broken clients
PYTHON ?= python3
CONFORMANCE_ARGS ?=

.PHONY: conformance conformance-full conformance-selftest autobahn-client

autobahn-client: $(BUILD)/autobahn_client

$(BUILD)/autobahn_client: examples/autobahn_client.c wsproxy.h | $(BUILD) check-bearssl check-zlib
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DWSPROXY_DEFLATE -I. -o $@ examples/autobahn_client.c -lbearssl -lz

conformance: $(BUILD)/autobahn_client $(BUILD)/http_proxy
	$(PYTHON) tests/conformance/run.py --build $(BUILD) $(CONFORMANCE_ARGS)

conformance-full: $(BUILD)/autobahn_client $(BUILD)/http_proxy
	$(PYTHON) tests/conformance/run.py --build $(BUILD) --deflate-budget 0 --timeout 3600 $(CONFORMANCE_ARGS)

conformance-selftest:
	$(PYTHON) tests/conformance/selftest.py

ci-extra: conformance-selftest conformance
