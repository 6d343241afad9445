#!/bin/sh
# check_symbols.sh LIB... - every global symbol a gort library defines must
# start with gort_ (the public API). Internal names are hidden in the shared
# library and made local in the static one, so a program may define its own
# schedule() or lock(). gort__ (the internal prefix) must not be visible
# either. Prints the offenders and exits 1 if there are any.
#
# Static archives (.a) are read with `nm -g --defined-only`, shared objects
# with `nm -D --defined-only` (the dynamic symbol table). NM overrides nm.
#
# An archive's code must also lie in the section gort_text alone, which
# asynchronous preemption never interrupts (CMakeLists.txt, gort_archive):
# `objdump -h` must show no .text section besides the ones a sanitizer
# adds for its own constructors. OBJDUMP overrides objdump.
#
# check_symbols.sh --libc LIBC LIB... - the interposition library instead:
# every global symbol LIB defines must be a name that LIBC (libc.so.6)
# defines too, and there must be some.
set -u
nm=${NM:-nm}
objdump=${OBJDUMP:-objdump}
[ $# -gt 0 ] || { echo "usage: $0 [--libc LIBC] libgort.a libgort.so ..." >&2; exit 2; }

# The names a shared object defines, without versions, one a line.
dynnames() {
	"$nm" -D --defined-only "$1" | awk 'NF >= 2 { sub(/@.*/, "", $NF); print $NF }' | sort -u
}

if [ "$1" = "--libc" ]; then
	[ $# -ge 3 ] || { echo "usage: $0 --libc LIBC LIB..." >&2; exit 2; }
	libc=$2
	shift 2
	libcnames=$(dynnames "$libc") || { echo "FAIL $libc: $nm failed"; exit 1; }
	[ -n "$libcnames" ] || { echo "FAIL $libc: no symbols"; exit 1; }
	status=0
	for lib in "$@"; do
		names=$(dynnames "$lib" |
			grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$') ||
			{ echo "FAIL $lib: no symbols"; status=1; continue; }
		bad=$(printf '%s\n' "$names" | while read -r n; do
			printf '%s\n' "$libcnames" | grep -qx -- "$n" || echo "$n"
		done)
		if [ -n "$bad" ]; then
			echo "FAIL $lib: global symbols that are not libc's:"
			printf '%s\n' "$bad" | sed 's/^/  /'
			status=1
		else
			echo "ok   $lib: $(printf '%s\n' "$names" | wc -l) global symbols, all libc names"
		fi
	done
	exit $status
fi

status=0
for lib in "$@"; do
	if [ ! -e "$lib" ]; then
		echo "FAIL $lib: no such file"
		status=1
		continue
	fi
	case $lib in
	*.a) syms=$("$nm" -g --defined-only "$lib") ;;
	*) syms=$("$nm" -D --defined-only "$lib") ;;
	esac || { echo "FAIL $lib: $nm failed"; status=1; continue; }
	# Lines are "[value] type name"; archive member headers end in ':'.
	names=$(printf '%s\n' "$syms" | awk 'NF >= 2 && $NF !~ /:$/ { print $NF }' | sort -u)
	public=$(printf '%s\n' "$names" | grep -c '^gort_[^_]')
	# Symbols the linker defines in every shared object, and version nodes.
	bad=$(printf '%s\n' "$names" | grep -v '^gort_[^_]' |
		grep -v -E '^(_init|_fini|_edata|_end|__bss_start|GORT_[A-Z0-9_.]*)$' |
		grep -v '^$')
	case $lib in
	*.a)
		heads=$("$objdump" -h "$lib") || { echo "FAIL $lib: $objdump failed"; status=1; continue; }
		stray=$(printf '%s\n' "$heads" | awk '$2 ~ /^\.text/ && $2 !~ /^\.text\.[at]san\./ { print $2 }')
		if [ -n "$stray" ] || ! printf '%s\n' "$heads" | grep -q ' gort_text '; then
			echo "FAIL $lib: code outside gort_text:" $stray
			status=1
			continue
		fi ;;
	esac
	if [ -n "$bad" ]; then
		echo "FAIL $lib: global symbols outside the gort_ API:"
		printf '%s\n' "$bad" | sed 's/^/  /'
		status=1
	elif [ "$public" -eq 0 ]; then
		echo "FAIL $lib: no gort_ symbol defined"
		status=1
	else
		echo "ok   $lib: $public global symbols, all gort_*"
	fi
done
exit $status
