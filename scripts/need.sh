#!/usr/bin/env bash
# Makes sure Debian packages are there before a build uses them, and says so.
#
#   bash scripts/need.sh [--try] PACKAGE WHY CHECK [PACKAGE WHY CHECK]...
#
# PACKAGE  a Debian package name, optionally with an architecture: libbearssl-dev:i386
#          (the architecture is added to dpkg first when it is not there yet)
# WHY      one line: what needs it
# CHECK    a bash command that succeeds when it is already there; helpers:
#            has_header NAME   $CC (default cc) finds <NAME>
#            has_cmd NAME      NAME is on PATH
#            has_file GLOB     some path matches GLOB
#            has_pkg PKG       dpkg says PKG is installed
#            has_asan CC       clang CC has its AddressSanitizer runtime for this machine
#
# Nothing missing: prints nothing, exits 0. Something missing: prints each package and
# why, then installs them with apt-get (its output visible) when it may: as root, or
# through sudo without a password. With NO_INSTALL=1, without root or password-less
# sudo, or without apt-get it installs nothing: it prints the exact command to run and
# exits 1. --try: the caller has a fallback, so failing is said more quietly (exit 1).
set -u

try=0
if [ "${1:-}" = --try ]; then try=1; shift; fi
if [ $(( $# % 3 )) -ne 0 ] || [ $# -eq 0 ]; then
    echo "usage: need.sh [--try] PACKAGE WHY CHECK [PACKAGE WHY CHECK]..." >&2
    exit 2
fi

has_header() { printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1; }
has_cmd() { command -v "$1" >/dev/null 2>&1; }
has_file() { compgen -G "$1" >/dev/null; }
has_pkg() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

has_asan() {
    local rd m
    rd=$("$1" -print-resource-dir) && m=$(uname -m) || return 1
    has_file "$rd/lib/linux/libclang_rt.asan-$m.a" || has_file "$rd/lib/$m-*/libclang_rt.asan.a"
}
there() { bash -c "$(declare -f has_header has_cmd has_file has_pkg has_asan); $1" >/dev/null 2>&1; }
missing=() whys=() checks=()
while [ $# -gt 0 ]; do
    if ! there "$3"; then missing+=("$1") whys+=("$2") checks+=("$3"); fi
    shift 3
done
[ ${#missing[@]} -eq 0 ] && exit 0

# foreign architectures the packages name and dpkg does not have yet
archs=()
for p in "${missing[@]}"; do
    case $p in
        *:*) a=${p##*:}
             if [ "$a" != "$(dpkg --print-architecture 2>/dev/null)" ] &&
                ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx "$a" &&
                [[ " ${archs[*]} " != *" $a "* ]]; then archs+=("$a"); fi ;;
    esac
done

echo "missing Debian packages:"
for i in "${!missing[@]}"; do
    printf '  %-28s %s\n' "${missing[$i]}" "${whys[$i]}"
done
for a in "${archs[@]}"; do
    echo "  (${a} packages need dpkg's foreign architecture ${a})"
done

sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo "; fi
cmd=""
for a in "${archs[@]}"; do cmd+="${sudo}dpkg --add-architecture $a && "; done
if [ ${#archs[@]} -gt 0 ]; then cmd+="${sudo}apt-get update && "; fi
cmd+="${sudo}apt-get install -y --no-remove ${missing[*]}"

stop() {   # stop REASON: say what to run, install nothing
    if [ $try = 1 ]; then echo "not installed ($1); to install them run: $cmd"
    else echo "$1: run this, then try again:"; echo "  $cmd"; fi
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    cmd="install ${missing[*]} with your system's package manager"
    stop "no apt-get on this machine"
fi
if [ "${NO_INSTALL:-0}" = 1 ]; then stop "NO_INSTALL=1, so nothing is installed"; fi
if [ -n "$sudo" ]; then
    if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
        stop "not root and no password-less sudo"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
run() { echo "+ ${sudo}$*"; ${sudo}"$@"; }
# A mirror caught mid-sync can fail one index (seen for days: a security index of the wrong
# size) while every other list is fresh, so a failed update is said and the install still
# tried: apt uses the lists it has, and only a failed install stops us.
updated=""
update() {
    if run apt-get update -q; then updated=ok
    else updated=failed; echo "need.sh: apt-get update failed; trying with the package lists apt has"; fi
}
# --no-remove: apt may solve a conflict (a foreign-architecture package that lags its native
# twin) by removing dozens of packages, compilers included; such an install fails instead.
install() { run apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}"; }
install_failed() {
    if [ "$updated" = failed ]; then stop "apt-get install failed (after a failed apt-get update)"; fi
    stop "apt-get install failed"
}
for a in "${archs[@]}"; do
    run dpkg --add-architecture "$a" || stop "dpkg --add-architecture $a failed"
done
if [ ${#archs[@]} -gt 0 ]; then update; fi
# an old or empty package list (a fresh container) makes the first try fail: update, retry
if ! install; then
    [ -n "$updated" ] && install_failed
    update
    install || install_failed
fi
for i in "${!missing[@]}"; do
    there "${checks[$i]}" || { echo "installed ${missing[$i]}, but still not found: ${checks[$i]}"; exit 1; }
done
echo "installed: ${missing[*]}"
