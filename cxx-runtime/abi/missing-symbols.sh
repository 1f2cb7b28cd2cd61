#!/bin/sh
# Which glibc-ABI symbols do libstdc++/libsupc++ and glibc-header-compiled
# code need that musl's libc.a (plus gcc's own libraries) does not define?
# Compiles probe_c.c, probe_cxx.cc and probe_cxx20.cc against glibc's headers at -O2 with
# _FORTIFY_SOURCE unset, =2 and =3, builds libferrite_rt.a from the sources,
# and prints:
#   provided  - missing from musl, defined by libferrite_rt.a
#   MISSING   - missing from musl and from libferrite_rt.a (exit status 1)
#   override  - defined by both musl and libferrite_rt.a: each is deliberate
#               (see the README) and listed in DELIBERATE below; any other
#               one fails the script, as musl's object would clash or be
#               silently shadowed
# Only strong undefined references count; weak ones (_ITM_*, __gmon_start__)
# link without a definition.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
M=/usr/lib/x86_64-linux-musl
G=$(dirname "$(gcc -print-libgcc-file-name)")
DELIBERATE="__atexit_lockptr __ctype_tolower_loc __ctype_toupper_loc __cxa_atexit
__cxa_finalize __duplocale __freelocale __funcs_on_exit __newlocale __nl_langinfo
__nl_langinfo_l atexit duplocale freelocale newlocale nl_langinfo nl_langinfo_l pthread_mutex_lock pthread_mutex_timedlock pthread_mutex_trylock"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$here/../check/build-rt.sh" "$tmp/rt" >/dev/null
for lvl in 0 2 3; do
	f=""; [ "$lvl" = 0 ] || f="-D_FORTIFY_SOURCE=$lvl"
	gcc -O2 $f -w -c "$here/probe_c.c" -o "$tmp/probe_c_$lvl.o"
	g++ -std=gnu++17 -O2 $f -w -c "$here/probe_cxx.cc" -o "$tmp/probe_cxx_$lvl.o"
	g++ -std=gnu++20 -O2 $f -w -c "$here/probe_cxx20.cc" -o "$tmp/probe_cxx20_$lvl.o"
done

undef() { nm -u "$@" 2>/dev/null | awk '$1 == "U" { print $2 }' | sort -u; }
defs() { nm --defined-only "$@" 2>/dev/null | awk 'NF == 3 && $2 ~ /^([A-TV-Z]|u)$/ { print $3 }' | sort -u; }

undef "$G/libstdc++.a" "$G/libsupc++.a" "$G/libgcc_eh.a" "$tmp"/probe_*.o > "$tmp/need"
defs "$M/libc.a" "$M/libm.a" "$M/crt1.o" "$M/crti.o" "$M/crtn.o" "$G/crtbeginT.o" \
	"$G/crtend.o" "$G/libstdc++.a" "$G/libsupc++.a" "$G/libgcc.a" "$G/libgcc_eh.a" \
	"$tmp"/probe_*.o > "$tmp/have"
defs "$tmp/rt/libferrite_rt.a" > "$tmp/rt_defs"
defs "$M/libc.a" > "$tmp/musl_defs"

comm -23 "$tmp/need" "$tmp/have" | grep -v '^_GLOBAL_OFFSET_TABLE_$' > "$tmp/gap" || true
comm -12 "$tmp/gap" "$tmp/rt_defs" | sed 's/^/provided  /'
comm -23 "$tmp/gap" "$tmp/rt_defs" | sed 's/^/MISSING   /' | tee "$tmp/missing"
comm -12 "$tmp/rt_defs" "$tmp/musl_defs" > "$tmp/over"
sed 's/^/override  /' "$tmp/over"
printf '%s\n' $DELIBERATE | sort > "$tmp/deliberate"
comm -23 "$tmp/over" "$tmp/deliberate" | sed 's/^/UNEXPECTED override  /' > "$tmp/unexpected"
cat "$tmp/unexpected"
[ ! -s "$tmp/missing" ] && [ ! -s "$tmp/unexpected" ]
