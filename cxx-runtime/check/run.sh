#!/bin/sh
# Native check of libferrite_rt: builds the archive from cxx-runtime/ and
# musl-shim/ as the host tool does, links the programs here against musl the
# way Ferrite images are linked, runs them on this Linux host, and compares
# with the host glibc where glibc is the oracle.  Exit status 0 = all passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M=/usr/lib/x86_64-linux-musl
G=$(dirname "$(gcc -print-libgcc-file-name)")
MUSL_CFLAGS="-nostdinc -isystem /usr/include/x86_64-linux-musl -isystem $(gcc -print-file-name=include)"
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | head -20 | sed 's/^/    /'; }
# check NAME CMD...: the command must succeed.
check() { n=$1; shift; if out=$("$@" 2>&1); then ok "$n"; else bad "$n" "$out"; fi; }

# The link line of a Ferrite image, minus the kernel: musl's crt and libc,
# gcc's own libraries, and libferrite_rt.a in the group.
link_cxx() {
	out=$1; shift
	g++ -static -no-pie -nostdlib -Wl,--eh-frame-hdr -L$M $M/crt1.o $M/crti.o $G/crtbeginT.o \
		"$@" $G/libstdc++.a -Wl,--start-group "$tmp/rt/libferrite_rt.a" $M/libc.a $M/libm.a \
		$G/libgcc.a $G/libgcc_eh.a -Wl,--end-group $G/crtend.o $M/crtn.o -o "$out"
}
link_c() {
	out=$1; shift
	gcc -static -no-pie -nostdlib -Wl,--eh-frame-hdr -L$M $M/crt1.o $M/crti.o $G/crtbeginT.o \
		"$@" -Wl,--start-group "$tmp/rt/libferrite_rt.a" $M/libc.a $M/libm.a \
		$G/libgcc.a $G/libgcc_eh.a -Wl,--end-group $G/crtend.o $M/crtn.o -o "$out"
}

build() {
	if out=$("$@" 2>&1); then return 0; fi
	bad "build: $*" "$out"
	return 1
}

cd "$tmp" || exit 1
build "$here/build-rt.sh" "$tmp/rt" || { echo "$pass passed, $fail failed"; exit 1; }
ok "libferrite_rt.a builds with the host tool's flags"
check "no glibc-ABI symbol missing (abi/missing-symbols.sh)" "$here/../abi/missing-symbols.sh"

for p in exceptions streams threads exit_order; do
	build g++ -std=gnu++17 -O2 -c "$here/$p.cc" -o $p.o && build link_cxx $p $p.o
done
for lvl in 2 3; do
	build g++ -O2 -D_FORTIFY_SOURCE=$lvl -c "$here/fortify.cc" -o fortify$lvl.o &&
		build link_cxx fortify$lvl fortify$lvl.o
done
build gcc -O2 $MUSL_CFLAGS -c "$here/c_musl.c" -o c_musl.o && build link_c c_musl c_musl.o
build gcc -O2 -D_FORTIFY_SOURCE=2 -c "$here/c_glibc.c" -o c_glibc.o && build link_c c_glibc c_glibc.o
# Oracles: the same sources against the host glibc.
build g++ -O2 "$here/exit_order.cc" -o exit_order.glibc
build gcc -O2 "$here/c_glibc.c" -o c_glibc.glibc
build gcc -O2 -c "$here/langinfo.c" -o langinfo.o && build link_c langinfo langinfo.o
build gcc -O2 "$here/langinfo.c" -o langinfo.glibc

check "exceptions across frames, exception_ptr, nested" ./exceptions
for lang in unset C.UTF-8 en_US.UTF-8; do
	if [ $lang = unset ]; then set -- env -u LANG -u LC_ALL; else set -- env -u LC_ALL LANG=$lang; fi
	check "iostream/locale/regex, cin from stdin (LANG $lang)" \
		sh -c 'printf "42 -17 hello\n" | "$@"' sh "$@" ./streams
done
check "thread_local, threads, mutex, condvar, async, timed waits" ./threads
if [ -x exit_order ] && [ -x exit_order.glibc ]; then
	./exit_order > exit_order.out 2>&1; ./exit_order.glibc > exit_order.want 2>&1
	if cmp -s exit_order.out exit_order.want; then ok "start-up/exit order same as glibc"
	else bad "start-up/exit order same as glibc" "$(diff exit_order.want exit_order.out)"; fi
fi
for lvl in 2 3; do
	check "fortify=$lvl: in-bounds checked calls work" ./fortify$lvl
	for what in memcpy strcpy sprintf snprintf read fdset open; do
		msg="*** buffer overflow detected ***: terminated"
		[ $what = open ] && msg="*** invalid open call: O_CREAT or O_TMPFILE without mode ***: terminated"
		./fortify$lvl $what > f.out 2> f.err < /dev/null; rc=$?
		if [ $rc = 134 ] && grep -qxF "$msg" f.err; then ok "fortify=$lvl: $what overflow aborts"
		else bad "fortify=$lvl: $what overflow aborts" "status $rc: $(cat f.out f.err)"; fi
	done
done
if out=$(./c_musl 2>&1) && [ "$out" = "c constructor
c_musl: ok
unflushed tailc atexit 2
c atexit 1
c destructor" ]; then ok "C (musl headers): arc4random, newlocale, exit order, flush"
else bad "C (musl headers): arc4random, newlocale, exit order, flush" "$out"; fi
if out=$(./c_glibc 2>&1) && printf '%s\n' "$out" | grep -q '^c_glibc: ok$' &&
	printf '%s\n' "$out" | grep -q ': error() reached, 0 failures$'; then
	ok "C (glibc headers, fortify): ctype/stdio macros, glibc-only calls, mutex initialisers"
else bad "C (glibc headers, fortify): ctype/stdio macros, glibc-only calls, mutex initialisers" "$out"; fi
if [ -x c_glibc ] && [ -x c_glibc.glibc ]; then
	./c_glibc tables > tables.out; ./c_glibc.glibc tables > tables.want
	if cmp -s tables.out tables.want; then ok "C-locale ctype tables same as glibc's"
	else bad "C-locale ctype tables same as glibc's" "$(diff tables.want tables.out | head -20)"; fi
fi
if [ -x langinfo ] && [ -x langinfo.glibc ]; then
	./langinfo > li.out; ./langinfo.glibc > li.want
	if cmp -s li.out li.want; then ok "nl_langinfo glibc items libstdc++ reads same as glibc's"
	else bad "nl_langinfo glibc items libstdc++ reads same as glibc's" "$(diff li.want li.out | head -20)"; fi
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
