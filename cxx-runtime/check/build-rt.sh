#!/bin/sh
# Build libferrite_rt.a from cxx-runtime/*.{c,S} and musl-shim/*.{c,S} the way
# the host tool does (same compiler, flags and headers), into $1/libferrite_rt.a.
set -eu
out=${1:?usage: build-rt.sh OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out/obj"
rm -f "$out"/obj/*.o "$out/libferrite_rt.a"
MUSL_INC=/usr/include/x86_64-linux-musl
GCC_INC=$(gcc -print-file-name=include)
for src in "$root"/cxx-runtime/*.c "$root"/cxx-runtime/*.S "$root"/musl-shim/*.c "$root"/musl-shim/*.S; do
	[ -e "$src" ] || continue
	base=$(basename "$src"); obj="$out/obj/${base%.*}.o"
	# ar keys members by name: two sources with one basename would collide.
	if [ -e "$obj" ]; then echo "duplicate source basename: $base" >&2; exit 1; fi
	gcc -O2 -ffunction-sections -fdata-sections -nostdinc -isystem "$MUSL_INC" \
		-isystem "$GCC_INC" -Wall -Wextra -Werror -c "$src" -o "$obj"
done
ar rcs "$out/libferrite_rt.a" "$out"/obj/*.o
