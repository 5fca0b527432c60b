# TLS suite: wspcat over wss:// and through https:// proxies, against the test peers
# (tests/peers, BearSSL server engine) with the certificates in tests/certs.
#   make integration-tls   runs tests/integration_tls.sh (also part of make test)
#   make tls-certs         regenerates tests/certs (new keys; commit the result)
#   make tls-peers-selftest proves with openssl s_client, curl and gnutls-cli that the peers'
#                          --tls-client-ca, --tls-suites and session resumption (and
#                          --tls-no-resume), tests/peers/tls_terminator.py and the
#                          certificates are what they claim (part of ci-extra)
# The peers link with -lbearssl (see the peer rule in the Makefile).

.PHONY: integration-tls tls-certs tls-peers-selftest

ci-extra: tls-peers-selftest

integration-tls: $(EXAMPLES) $(PEERS)
	@BUILD=$(BUILD) bash tests/integration_tls.sh

tls-certs:
	bash tests/certs/gen.sh

tls-peers-selftest: $(PEERS)
	@BUILD=$(BUILD) bash tests/tls_peers_selftest.sh
