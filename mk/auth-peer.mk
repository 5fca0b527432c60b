# The test HTTP proxy's authentication modes (Basic, Digest, scripted NTLM/Negotiate, 407
# connection and body variants), checked without wsproxy.h: its --selftest against the
# RFC 7616 examples, then curl and tests/auth_peer_client.py through it.
#   make auth-peer-test    runs tests/auth_peer_selftest.sh (needs curl and python3)

.PHONY: auth-peer-test

auth-peer-test: $(BUILD)/http_proxy
	@BUILD=$(BUILD) bash tests/auth_peer_selftest.sh

ci-extra: auth-peer-test
