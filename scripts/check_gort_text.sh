#!/bin/sh
# check_gort_text.sh PROGRAM - the runtime, linked into PROGRAM from
# libgort.a, runs no code outside its section gort_text but through a
# pointer.
#
# Asynchronous preemption never parks a goroutine whose PC lies between
# __start_gort_text and __stop_gort_text, nor in libc and its kin
# (preempt.c, "Safe points"). A runtime function that holds a lock can
# still be interrupted in code it branches to directly outside that
# range: a PLT stub of the program (the runtime is built with -fno-plt so
# that it reaches libc through the GOT), or a helper of the compiler's
# support library linked into the program's own text (libgcc's __udivti3,
# aarch64's outline atomics; the build links them into the archive). So
# every direct call or jump in gort_text must land in gort_text.
#
# The exceptions are constructors, which run before main, on no goroutine:
# libgcc's init_have_lse_atomics and the runtime's rand_ctor (whose
# pthread_atfork is libc_nonshared.a's, in the program's text).
#
# NM and OBJDUMP override nm and objdump (a cross build's).
set -u
nm=${NM:-nm}
objdump=${OBJDUMP:-objdump}
[ $# -eq 1 ] || { echo "usage: $0 program" >&2; exit 2; }
prog=$1

syms=$("$nm" "$prog") || { echo "FAIL $prog: $nm failed"; exit 1; }
start=$(printf '%s\n' "$syms" | awk '$3 == "__start_gort_text" { print $1 }')
stop=$(printf '%s\n' "$syms" | awk '$3 == "__stop_gort_text" { print $1 }')
if [ -z "$start" ] || [ -z "$stop" ]; then
	echo "FAIL $prog: no __start_gort_text/__stop_gort_text"
	exit 1
fi

# Each direct branch: "function target <name>" for those outside the range.
# x86-64: call, jmp, jCC (also after a bnd/notrack prefix); aarch64: bl, b,
# b.CC, cbz/cbnz, tbz/tbnz. The target is the hex address before <name>.
out=$("$objdump" -d --no-show-raw-insn -j gort_text "$prog" | awk -v lo="$start" -v hi="$stop" '
	function hex(s,    i, c, v) {
		v = 0
		s = tolower(s)
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", substr(s, i, 1))
			v = v * 16 + c - 1
		}
		return v
	}
	BEGIN { l = hex(lo); h = hex(hi) }
	/^[0-9a-f]+ <.*>:$/ { fn = $2; next }
	/^ *[0-9a-f]+:\t/ {
		ins = $0
		sub(/^ *[0-9a-f]+:\t/, "", ins)
		gsub(/\t/, " ", ins)
		sub(/^(bnd|notrack) +/, "", ins)
		op = ins
		sub(/[ \t].*/, "", op)
		if (op !~ /^(call|callq|jmp|jmpq|j[a-z]+|bl|b|b\.[a-z]+|cbn?z|tbn?z)$/)
			next
		# Through a pointer: x86-64 names the slot after "# ".
		if (ins ~ /\*/ || ins ~ /# / || match(ins, /[0-9a-f]+ <[^>]*>$/) == 0)
			next
		t = substr(ins, RSTART)
		a = t
		sub(/ .*/, "", a)
		v = hex(a)
		if ((v < l || v >= h) && fn !~ /^<(init_have_lse_atomics|rand_ctor)>:$/)
			print fn, t
	}')
if [ -n "$out" ]; then
	echo "FAIL $prog: the runtime branches out of gort_text:"
	printf '%s\n' "$out" | sort -u | sed 's/^/  /' | head -n 30
	exit 1
fi
echo "ok   $prog: every direct branch of gort_text stays in it"
