# Interop with real third-party peers: tinyproxy, squid (plain, Basic auth, https_port;
# Digest, NTLM, Negotiate with a local KDC, closing after 407), stunnel in front of
# tinyproxy, dante and microsocks (SOCKS5/4a, user/pass), against echo servers on Python
# websockets and node ws, ws:// and wss://. See docs/interop.md.
#   make interop            runs tests/interop/run.sh (installs nothing: says what is
#                           missing and exits non-zero; bash tests/interop/install.sh
#                           installs it all); wspcat must be built with GSSAPI
#   make interop-report     copies the last run's report (build/interop/report.md) into
#                           docs/interop.md and README.md; make interop itself changes no
#                           tracked file
#   make interop-auth       squid with Digest, NTLM, Negotiate (a local MIT KDC), close
#                           after 407 and https_port, checked with curl and the GSSAPI
#                           probe (tests/interop/auth_selftest.sh, auth_lib.sh)
# The driver runs the byte-exact script (sizes, binary, fragments, ping, close). Every
# TLS route runs twice: wspcat and the driver on BearSSL, then wspcat-openssl and
# interop_driver-openssl (-DWSPROXY_TLS_OPENSSL, mk/openssl.mk) with TLS 1.3 checked at
# the peers, and a stunnel front that accepts TLS 1.3 only (issue 18).
.PHONY: interop interop-report interop-auth check-gssapi

$(BUILD)/interop_driver: tests/interop/interop_driver.c wsproxy.h | $(BUILD) check-bearssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ tests/interop/interop_driver.c -lbearssl
$(BUILD)/interop_driver-openssl: tests/interop/interop_driver.c wsproxy.h | $(BUILD) check-openssl
	$(CC) -std=c99 $(WARN) $(CFLAGS) -DWSPROXY_TLS_OPENSSL -o $@ tests/interop/interop_driver.c $(OPENSSL_LIBS)

interop: $(BUILD)/wspcat $(BUILD)/interop_driver $(BUILD)/wspcat-openssl $(BUILD)/interop_driver-openssl \
         $(BUILD)/ntlm_gss_helper
	@BUILD=$(BUILD) bash tests/interop/run.sh

ci-extra: interop

interop-report:
	@BUILD=$(BUILD) bash tests/interop/report.sh

# GSSAPI (MIT Kerberos, libkrb5-dev) for the probe and squid's password-checking NTLM
# helper; gss-ntlmssp supplies the NTLM mechanism at run time
check-gssapi:
	@[ -f /usr/include/gssapi/gssapi.h ] || \
	  { echo "GSSAPI headers are missing; as root: bash tests/interop/install.sh"; exit 1; }

$(BUILD)/gss_probe: tests/interop/gss_probe.c tests/interop/gss_common.h | $(BUILD) check-gssapi
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ tests/interop/gss_probe.c -lgssapi_krb5

$(BUILD)/ntlm_gss_helper: tests/interop/ntlm_gss_helper.c tests/interop/gss_common.h | $(BUILD) check-gssapi
	$(CC) -std=c99 $(WARN) $(CFLAGS) -o $@ tests/interop/ntlm_gss_helper.c -lgssapi_krb5

interop-auth: $(BUILD)/gss_probe $(BUILD)/ntlm_gss_helper
	@BUILD=$(BUILD) bash tests/interop/auth_selftest.sh

ci-extra: interop-auth
