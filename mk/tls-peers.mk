# TLS suite: wspcat over wss:// and through https:// proxies, against the test peers
# (tests/peers, BearSSL server engine) with the certificates in tests/certs.
#   make integration-tls   runs tests/integration_tls.sh (also part of make test)
#   make tls-certs         regenerates tests/certs (new keys; commit the result)
# The peers link with -lbearssl (see the peer rule in the Makefile).

.PHONY: integration-tls tls-certs

integration-tls: $(EXAMPLES) $(PEERS)
	@BUILD=$(BUILD) bash tests/integration_tls.sh

tls-certs:
	bash tests/certs/gen.sh

