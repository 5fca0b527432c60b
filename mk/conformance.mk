# RFC 6455 conformance: the Autobahn|Testsuite client cases (sections 1-7, 9, 10), run by
# tests/conformance/fuzzingserver.py against examples/autobahn_client, directly and through
# the test HTTP proxy. See docs/conformance.md.
#   make conformance                 every case, both ways; $(BUILD)/conformance/report.json
#   make conformance CONFORMANCE_ARGS='--modes direct --cases 6.4.*'
#   make conformance-selftest        checks the server's verdicts with deliberately broken clients
PYTHON ?= python3
CONFORMANCE_ARGS ?=

.PHONY: conformance conformance-selftest autobahn-client

autobahn-client: $(BUILD)/autobahn_client

$(BUILD)/autobahn_client: examples/autobahn_client.c wsproxy.h | $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DWSPROXY_NO_TLS -I. -o $@ examples/autobahn_client.c

conformance: $(BUILD)/autobahn_client $(BUILD)/http_proxy
	$(PYTHON) tests/conformance/run.py --build $(BUILD) $(CONFORMANCE_ARGS)

conformance-selftest:
	$(PYTHON) tests/conformance/selftest.py

ci-extra: conformance-selftest conformance
