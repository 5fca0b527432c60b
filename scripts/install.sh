#!/usr/bin/env bash
# make install / make uninstall (mk/install.mk runs this with its variables).
#
#   install.sh install     copies the header, wsproxy.pc, the CMake package, wspcat and its
#                          man page under $DESTDIR$PREFIX and writes a manifest of every
#                          file and every directory it created
#   install.sh uninstall   removes exactly what that manifest lists: the files, then the
#                          directories install created, if nothing else lives in them
#
# Environment: DESTDIR, PREFIX (default /usr/local), BINDIR, INCLUDEDIR, LIBDIR, DATADIR,
# MANDIR (defaults below PREFIX), BUILD (where wspcat was built), WSPROXY_NO_TLS=1 and
# WSPROXY_DEFLATE=1 (the defaults written into wsproxy.pc and the CMake package).
# The manifest: $DESTDIR$DATADIR/wsproxy/install-manifest, one "f PATH" or "d PATH" a
# line, PATH without DESTDIR.
set -eu
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
LIBDIR=${LIBDIR:-$PREFIX/lib}
DATADIR=${DATADIR:-$PREFIX/share}
MANDIR=${MANDIR:-$DATADIR/man}
BUILD=${BUILD:-build}
NO_TLS=${WSPROXY_NO_TLS:-0}
DEFLATE=${WSPROXY_DEFLATE:-0}
MANIFEST=$DATADIR/wsproxy/install-manifest

die() { echo "install.sh: $*" >&2; exit 1; }
for d in "$PREFIX" "$BINDIR" "$INCLUDEDIR" "$LIBDIR" "$DATADIR" "$MANDIR"; do
    case $d in /*) ;; *) die "install directories must be absolute paths: $d" ;; esac
done

uninstall() {
    local m=$DESTDIR$MANIFEST kind path dirs=() i
    [ -f "$m" ] || die "no manifest at $m: nothing was installed there by make install"
    while read -r kind path; do
        case $kind in
            f) case $path in   # files only under PREFIX; a directory is removed only empty
                   "$PREFIX"/*) ;;
                   *) echo "skipped (not under $PREFIX): $path"; continue ;;
               esac
               if [ -e "$DESTDIR$path" ] || [ -L "$DESTDIR$path" ]; then
                   rm -f -- "$DESTDIR$path" && echo "removed $DESTDIR$path"
               fi ;;
            d) dirs+=("$path") ;;
        esac
    done <"$m"
    # the directories install created, deepest (last created) first
    for (( i = ${#dirs[@]} - 1; i >= 0; i-- )); do
        path=$DESTDIR${dirs[$i]}
        [ -d "$path" ] || continue
        if rmdir -- "$path" 2>/dev/null; then echo "removed $path/"
        else echo "kept $path/ (other files live there)"; fi
    done
}

if [ "${1:-}" = uninstall ]; then uninstall; exit 0; fi
[ "${1:-}" = install ] || die "usage: install.sh install|uninstall"

# ---- install ---------------------------------------------------------------------------
ver() { sed -n "s/^#define WSPROXY_VERSION_$1 \\([0-9][0-9]*\\)\$/\\1/p" wsproxy.h; }
MAJOR=$(ver MAJOR) MINOR=$(ver MINOR) PATCH=$(ver PATCH)
[ -n "$MAJOR" ] && [ -n "$MINOR" ] && [ -n "$PATCH" ] ||
    die "wsproxy.h has no WSPROXY_VERSION_MAJOR/MINOR/PATCH lines"
VERSION=$MAJOR.$MINOR.$PATCH
[ -x "$BUILD/wspcat" ] || die "$BUILD/wspcat is missing (make builds it)"
[ -f docs/wspcat.1 ] || die "docs/wspcat.1 is missing"

entries=()   # manifest lines, in the order things were made
# what an earlier install made stays ours (a second install over the first)
if [ -f "$DESTDIR$MANIFEST" ]; then
    while read -r kind path; do entries+=("$kind $path"); done <"$DESTDIR$MANIFEST"
fi
have() { local e; for e in "${entries[@]}"; do [ "$e" = "$1" ] && return 0; done; return 1; }

makedir() {   # makedir DIR: creates DIR and its missing parents, noting each it created
    local dir=$1 parts=() p
    while [ ! -d "$DESTDIR$dir" ]; do parts=("$dir" "${parts[@]}"); dir=$(dirname "$dir"); done
    for p in "${parts[@]}"; do
        mkdir -- "$DESTDIR$p" || die "cannot create $DESTDIR$p"
        have "d $p" || entries+=("d $p")
    done
}

put() {   # put MODE SOURCE DEST: one file, noted in the manifest
    makedir "$(dirname "$3")"
    install -m "$1" "$2" "$DESTDIR$3" || die "cannot install $DESTDIR$3"
    echo "installed $DESTDIR$3"
    have "f $3" || entries+=("f $3")
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsproxy-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

cflags="" libs="" requires=""
if [ "$NO_TLS" = 1 ]; then cflags+=" -DWSPROXY_NO_TLS="; else libs="-lbearssl"; fi
if [ "$DEFLATE" = 1 ]; then cflags+=" -DWSPROXY_DEFLATE"; requires="zlib"; fi
onoff() { if [ "$1" = 1 ]; then echo ON; else echo OFF; fi; }
cmakedir=$LIBDIR/cmake/wsproxy
# the include directory as seen from the CMake package, so the install can move
inc_rel=$(realpath -m --relative-to="$cmakedir" "$INCLUDEDIR")
incdir_pc=$INCLUDEDIR
[ "$INCLUDEDIR" = "$PREFIX/include" ] && incdir_pc='${prefix}/include'

fill() {   # fill TEMPLATE OUT
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@INCLUDEDIR@|$incdir_pc|g" \
        -e "s|@VERSION@|$VERSION|g" -e "s|@VERSION_MAJOR@|$MAJOR|g" \
        -e "s|@VERSION_MINOR@|$MINOR|g" -e "s|@CFLAGS@|$cflags|g" -e "s|@LIBS@|$libs|g" \
        -e "s|@REQUIRES@|$requires|g" -e "s|@NO_TLS@|$(onoff "$NO_TLS")|g" \
        -e "s|@DEFLATE@|$(onoff "$DEFLATE")|g" -e "s|@INCLUDE_FROM_CONFIG@|$inc_rel|g" \
        -e '/^Requires: $/d' "$1" >"$2"
    ! grep -n '@[A-Z_]*@' "$2" || die "$1: a placeholder was left unfilled"
}
fill cmake/wsproxy.pc.in "$TMP/wsproxy.pc"
fill cmake/wsproxyConfig.cmake.in "$TMP/wsproxyConfig.cmake"
fill cmake/wsproxyConfigVersion.cmake.in "$TMP/wsproxyConfigVersion.cmake"

echo "wsproxy $VERSION into ${DESTDIR}$PREFIX"
put 644 wsproxy.h "$INCLUDEDIR/wsproxy.h"
put 644 "$TMP/wsproxy.pc" "$LIBDIR/pkgconfig/wsproxy.pc"
put 644 "$TMP/wsproxyConfig.cmake" "$cmakedir/wsproxyConfig.cmake"
put 644 "$TMP/wsproxyConfigVersion.cmake" "$cmakedir/wsproxyConfigVersion.cmake"
put 644 cmake/wsproxyDeps.cmake "$cmakedir/wsproxyDeps.cmake"
put 755 "$BUILD/wspcat" "$BINDIR/wspcat"
put 644 docs/wspcat.1 "$MANDIR/man1/wspcat.1"
makedir "$(dirname "$MANIFEST")"
have "f $MANIFEST" || entries+=("f $MANIFEST")
printf '%s\n' "${entries[@]}" >"$DESTDIR$MANIFEST"
echo "manifest: $DESTDIR$MANIFEST (make uninstall removes what it lists)"
