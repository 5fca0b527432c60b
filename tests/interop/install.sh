#!/usr/bin/env bash
# Installs the third-party peers that make interop (tests/interop/run.sh) runs against:
# Debian packages through apt-get, node's ws through npm ci into tests/interop/node
# (node_modules is not committed). .ci/run calls it; run it yourself as root (or with
# passwordless sudo) before make interop. Installs only what is missing.
#
# squid-openssl is Debian's squid built with TLS (https_port); it conflicts with the
# plain squid package, which apt-get replaces. Package scripts are not allowed to start
# the daemons (tinyproxy, squid, danted would otherwise start as system services on
# their default ports): a policy-rc.d that refuses is put in place for the install
# when none exists, and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive

SUDO=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "install.sh: needs root (or passwordless sudo) for apt-get" >&2
        exit 1
    fi
fi

pkgs=(tinyproxy squid-openssl stunnel4 dante-server microsocks python3-websockets openssl util-linux)
# proxy authentication (tests/interop/auth_lib.sh, auth_selftest.sh, gss_probe.c):
# curl as the reference client; MIT Kerberos: krb5-kdc (krb5kdc, kdb5_util),
# krb5-admin-server (only for kadmin.local; its kadmind is never started), krb5-user
# (kinit), libkrb5-dev (GSSAPI headers); gss-ntlmssp (the NTLM mechanism for GSSAPI);
# a C compiler for the probe and the NTLM helper
pkgs+=(curl krb5-kdc krb5-admin-server krb5-user libkrb5-dev gss-ntlmssp gcc libc6-dev)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
need=()
for p in "${pkgs[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || need+=("$p")
done

if [ ${#need[@]} -gt 0 ]; then
    echo "install.sh: apt-get install ${need[*]}"
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from tests/interop/install.sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
        "${SUDO[@]}" chmod 755 "$policy"
        made_policy=1
    fi
    rc=0
    # one index failing (a mirror mid-sync) leaves the others fresh: say it, install anyway;
    # --no-remove: never let apt solve a conflict by removing installed packages
    "${SUDO[@]}" apt-get update -q >/dev/null ||
        echo "install.sh: apt-get update failed; installing with the package lists apt has" >&2
    "${SUDO[@]}" apt-get install -y -q --no-remove "${need[@]}" >/dev/null || rc=$?
    [ $made_policy = 1 ] && "${SUDO[@]}" rm -f "$policy"
    if [ $rc != 0 ]; then echo "install.sh: apt-get failed ($rc)" >&2; exit $rc; fi
else
    echo "install.sh: all ${#pkgs[@]} Debian packages already installed: ${pkgs[*]}"
fi

echo "install.sh: npm ci --prefix tests/interop/node"
npm ci --prefix tests/interop/node --no-audit --no-fund --loglevel=error
