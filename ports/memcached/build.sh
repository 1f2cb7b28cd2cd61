#!/bin/sh
# Build memcached, unchanged, as a Ferrite image: build/ports/memcached.elf.
#
# Fetches Debian's source packages of libevent and memcached with `apt-get source`, using a
# private apt state under build/ports/ whose deb-src entries are derived from this machine's own
# apt sources (same URIs, suites and components; nothing about mirrors is written here), then
# builds libevent (static) and memcached with Ferrite's compiler drivers: configure flags and
# environment only, the sources are not edited.
#
# Usage: ports/memcached/build.sh
#   FERRITE_PORTS_DIR=DIR  where the work tree and the image go (default build/ports)
#   FERRITE_PORTS_JOBS=N   make -jN (default 2)
# Exit status 3: the sources could not be fetched (no apt sources, no network).
# The work tree is reused: sources are fetched, libevent built and memcached configured once
# (delete build/ports/memcached-work to start over); memcached is relinked on every run.
set -eu

FERRITE=$(cd "$(dirname "$0")/../.." && pwd)
PORTS=${FERRITE_PORTS_DIR:-$FERRITE/build/ports}
mkdir -p "$PORTS" && PORTS=$(cd "$PORTS" && pwd)
WORK=$PORTS/memcached-work
APT=$WORK/apt
SRC=$WORK/src
PREFIX=$WORK/prefix
JOBS=${FERRITE_PORTS_JOBS:-2}
IMAGE=$PORTS/memcached.elf

log() { echo "== $*" >&2; }

mkdir -p "$APT/sources.list.d" "$APT/lists/partial" "$APT/cache/archives/partial" "$SRC"

# --- 1. deb-src entries from the machine's own deb entries ---------------------------------
: >"$APT/sources.list"
rm -f "$APT"/sources.list.d/*
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # one-line format: "deb [opts] URI suite comp..." -> "deb-src [opts] URI suite comp..."
    sed -n 's/^[[:space:]]*deb[[:space:]]\+/deb-src /p' "$f" >>"$APT/sources.list"
done
n=0
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    # deb822: enabled stanzas whose Types include deb, as Types: deb-src (other fields as is)
    awk '
        function flush() {
            if (keep && !disabled) printf "%s\n", stanza
            stanza = ""; keep = 0; disabled = 0
        }
        /^[[:space:]]*$/ { flush(); next }
        /^#/ { next }
        /^Types:/ {
            keep = 0
            for (i = 2; i <= NF; i++) if ($i == "deb") keep = 1
            stanza = stanza "Types: deb-src\n"; next
        }
        /^Enabled:[[:space:]]*no/ { disabled = 1 }
        { stanza = stanza $0 "\n" }
        END { flush() }
    ' "$f" >"$APT/sources.list.d/host-$n.sources"
done
if ! grep -qs . "$APT/sources.list" "$APT"/sources.list.d/*.sources; then
    echo "ports: no deb entries in /etc/apt/sources.list{,.d}: cannot fetch sources" >&2
    exit 3
fi

apt_private() {
    apt-get -q \
        -o Dir::Etc::SourceList="$APT/sources.list" \
        -o Dir::Etc::SourceParts="$APT/sources.list.d" \
        -o Dir::State::Lists="$APT/lists" \
        -o Dir::Cache="$APT/cache" \
        -o Debug::NoLocking=1 \
        -o APT::Sandbox::User="$(id -un)" \
        "$@"
}

# --- 2. fetch and unpack the sources (once) -------------------------------------------------
fetch() { # package
    if ls "$SRC/$1"-*/configure >/dev/null 2>&1; then return 0; fi
    rm -rf "$SRC/$1"-*/ # an interrupted extraction
    log "apt-get source $1"
    (cd "$SRC" && apt_private source "$1") >&2 || return 1
}
if ! ls "$SRC"/libevent-*/configure "$SRC"/memcached-*/configure >/dev/null 2>&1; then
    log "apt-get update (private state in $APT)"
    apt_private update >&2 || { echo "ports: apt-get update failed" >&2; exit 3; }
fi
fetch libevent || { echo "ports: cannot fetch libevent's source" >&2; exit 3; }
fetch memcached || { echo "ports: cannot fetch memcached's source" >&2; exit 3; }
LIBEVENT=$(ls -d "$SRC"/libevent-*/ | head -n1)
MEMCACHED=$(ls -d "$SRC"/memcached-*/ | head -n1)

CC=$FERRITE/bin/ferrite-cc
CXX=$FERRITE/bin/ferrite-c++
HOST=x86_64-linux-musl
# Debian's patches leave Makefile.am newer than Makefile.in (libevent's -no-undefined patch, which
# only matters for shared libraries): use the shipped autotools output instead of regenerating it.
NO_REGEN="ACLOCAL=true AUTOMAKE=true AUTOCONF=true AUTOHEADER=true"

# --- 3. libevent, static ---------------------------------------------------------------------
if [ ! -f "$PREFIX/lib/libevent.a" ]; then
    log "libevent: configure and build in $WORK/libevent-build"
    rm -rf "$WORK/libevent-build" && mkdir -p "$WORK/libevent-build"
    (cd "$WORK/libevent-build" &&
        "$LIBEVENT/configure" --host=$HOST --prefix="$PREFIX" \
            CC="$CC" CXX="$CXX" \
            --disable-shared --enable-static --disable-openssl --disable-samples \
            --disable-libevent-regress --disable-debug-mode --disable-doxygen-html \
            &&
        make -j"$JOBS" $NO_REGEN && make install $NO_REGEN) >"$WORK/libevent.log" 2>&1 ||
        { echo "ports: libevent build failed, see $WORK/libevent.log" >&2; exit 1; }
fi

# --- 4. memcached ------------------------------------------------------------------------------
log "memcached: configure and build in $WORK/memcached-build"
if [ ! -f "$WORK/memcached-build/Makefile" ]; then
    mkdir -p "$WORK/memcached-build"
    (cd "$WORK/memcached-build" &&
        "$MEMCACHED/configure" --host=$HOST CC="$CC" CXX="$CXX" \
            --with-libevent="$PREFIX" --disable-sasl --disable-docs --disable-coverage \
            LDFLAGS="--ferrite-memory=512M --ferrite-cpus=2") >"$WORK/memcached.log" 2>&1 ||
        { echo "ports: memcached configure failed, see $WORK/memcached.log" >&2; exit 1; }
fi
# Always relink: the image contains the kernel, which make does not know about.
rm -f "$WORK/memcached-build/memcached"
(cd "$WORK/memcached-build" && make -j"$JOBS" $NO_REGEN memcached) >>"$WORK/memcached.log" 2>&1 ||
    { echo "ports: memcached build failed, see $WORK/memcached.log" >&2; exit 1; }
cp "$WORK/memcached-build/memcached" "$IMAGE"
log "image: $IMAGE"
