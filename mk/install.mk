# make install / make uninstall (issue 17), done by scripts/install.sh:
#   make install [PREFIX=/usr/local] [DESTDIR=stage] [WSPROXY_NO_TLS=1] [WSPROXY_DEFLATE=1]
#     include/wsproxy.h, lib/pkgconfig/wsproxy.pc, lib/cmake/wsproxy/ (find_package(wsproxy):
#     wsproxy::wsproxy), bin/wspcat, share/man/man1/wspcat.1, and a manifest of all it made
#     in share/wsproxy/install-manifest
#   make uninstall [PREFIX=...] [DESTDIR=...]   removes exactly what that manifest lists
# BINDIR, INCLUDEDIR, LIBDIR, DATADIR and MANDIR may be set apart. WSPROXY_NO_TLS=1 and
# WSPROXY_DEFLATE=1 become the defaults of wsproxy.pc and of the CMake package (wspcat is
# built with TLS either way).
PREFIX          ?= /usr/local
BINDIR          ?= $(PREFIX)/bin
INCLUDEDIR      ?= $(PREFIX)/include
LIBDIR          ?= $(PREFIX)/lib
DATADIR         ?= $(PREFIX)/share
MANDIR          ?= $(DATADIR)/man
WSPROXY_NO_TLS  ?= 0
WSPROXY_DEFLATE ?= 0
INSTALL_ENV = DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BINDIR="$(BINDIR)" INCLUDEDIR="$(INCLUDEDIR)" \
              LIBDIR="$(LIBDIR)" DATADIR="$(DATADIR)" MANDIR="$(MANDIR)" BUILD="$(BUILD)" \
              WSPROXY_NO_TLS="$(WSPROXY_NO_TLS)" WSPROXY_DEFLATE="$(WSPROXY_DEFLATE)"

.PHONY: install uninstall

install: $(BUILD)/wspcat
	@$(INSTALL_ENV) bash scripts/install.sh install

uninstall:
	@$(INSTALL_ENV) bash scripts/install.sh uninstall

# tests/packaging.sh: install into a staging folder, build tests/consumer with pkg-config,
# find_package, add_subdirectory and FetchContent, run it against the echo server, uninstall
.PHONY: packaging-test check-packaging-tools
check-packaging-tools:
	@$(NEED) cmake "cmake: the consumer project of tests/packaging.sh" "has_cmd cmake" \
	  pkgconf "pkg-config: the consumer project of tests/packaging.sh" "has_cmd pkg-config"

packaging-test: $(BUILD)/wspcat $(BUILD)/ws_echo_server | check-packaging-tools
	@BUILD=$(BUILD) bash tests/packaging.sh

ci-extra: packaging-test
