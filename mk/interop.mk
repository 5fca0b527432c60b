# Interop with real third-party peers: tinyproxy, squid (plain, Basic auth, https_port),
# stunnel in front of tinyproxy, dante and microsocks (SOCKS5/4a, user/pass), against
# echo servers on Python websockets and node ws, ws:// and wss://. See docs/interop.md.
#   make interop            runs tests/interop/run.sh (installs nothing: says what is
#                           missing and exits non-zero; bash tests/interop/install.sh
#                           installs it all)
# The driver runs the byte-exact script (sizes, binary, fragments, ping, close).
.PHONY: interop

$(BUILD)/interop_driver: tests/interop/interop_driver.c wsproxy.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ tests/interop/interop_driver.c -lbearssl

interop: $(BUILD)/wspcat $(BUILD)/interop_driver
	@BUILD=$(BUILD) bash tests/interop/run.sh

ci-extra: interop
