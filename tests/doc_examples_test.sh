#!/bin/sh
# doc_examples_test.sh SOURCE_DIR CC INCLUDE_DIR LIBGORT_A OUT_DIR [CFLAGS...]
#
# Every example in the documentation compiles, and every example program
# runs. The documents are SOURCE_DIR/README.md and SOURCE_DIR/docs/*.md;
# an example is a fenced block opened with ```c (blocks in any other
# language, or with no language, are not examples: use ```text for C
# that is not meant to compile, such as a sketch of an algorithm).
#
#  - A block that defines main() is a program. It is compiled the way the
#    README says (cc -O2 example.c -Iinclude build/libgort.a -pthread),
#    with -Wall -Wextra -Werror so that examples stay clean, plus any
#    extra CFLAGS (the sanitizer flags of a sanitizer build), then run in
#    OUT_DIR with a timeout; it must exit with status 0. So an example
#    program must not need input, the network beyond the loopback
#    interface, or anything else outside itself.
#  - Any other block is a fragment. It is compiled as a translation unit
#    of its own after `#include <gort.h>`, with -fsyntax-only: it must
#    declare what it uses (whole functions, not loose statements). Unused
#    functions and variables are allowed there.
#
# Compiler messages point at the document's own lines (#line).
set -eu
[ $# -ge 5 ] || { echo "usage: $0 SOURCE_DIR CC INCLUDE_DIR LIB OUT_DIR [CFLAGS...]" >&2; exit 2; }
src=$1 cc=$2 incdir=$3 lib=$4 out=$5
shift 5
timeout_s=$((60 * ${GORT_TEST_TIMEOUT_MULTIPLIER:-1}))

rm -rf "$out"
mkdir -p "$out"

# Extract: one file per block, <out>/<doc>_<n>.c, starting with a #line
# directive; list.txt gets "file doc line" for each.
for doc in "$src/README.md" "$src"/docs/*.md; do
	[ -f "$doc" ] || continue
	rel=${doc#"$src"/}
	base=$(echo "$rel" | tr '/.' '__')
	awk -v out="$out" -v base="$base" -v rel="$rel" '
		!inblock && /^```c[ \t]*$/ {
			inblock = 1; n++
			file = sprintf("%s/%s_%d.c", out, base, n)
			printf "#line %d \"%s\"\n", NR + 1, rel > file
			printf "%s %s %d\n", file, rel, NR + 1 >> (out "/list.txt")
			next
		}
		inblock && /^```/ { inblock = 0; close(file); next }
		inblock { print > file }
		END { if (inblock) { print "unterminated ```c block in " rel > "/dev/stderr"; exit 1 } }
	' "$doc"
done
if [ ! -s "$out/list.txt" ]; then
	echo "FAIL: no \`\`\`c block in README.md or docs/*.md"
	exit 1
fi

pass=0 fail=0
while read -r file doc line; do
	name=${file%.c}
	where="$doc:$line"
	if grep -Eq '^[a-z].*[ *]main[ ]*\((void|int argc)' "$file"; then
		if ! "$cc" -O2 -Wall -Wextra -Werror "$@" "$file" -I"$incdir" "$lib" \
		       -pthread -o "$name" >"$name.log" 2>&1; then
			cat "$name.log"
			echo "FAIL: $where: the program does not compile"
			fail=$((fail + 1))
			continue
		fi
		# GORT_TEST_EMULATOR runs programs of a cross build (qemu-user).
		if (cd "$out" && timeout "$timeout_s" ${GORT_TEST_EMULATOR:-} "$name" \
		       </dev/null >"$name.out" 2>&1); then
			echo "ok: $where: program ran ($(wc -l <"$name.out") lines of output)"
			pass=$((pass + 1))
		else
			rc=$?
			cat "$name.out"
			echo "FAIL: $where: the program exited with status $rc"
			fail=$((fail + 1))
		fi
	else
		{ echo '#include <gort.h>'; cat "$file"; } >"$name.frag.c"
		if "$cc" -fsyntax-only -Wall -Wextra -Werror -Wno-unused "$name.frag.c" \
		       -I"$incdir" >"$name.log" 2>&1; then
			echo "ok: $where: fragment compiles"
			pass=$((pass + 1))
		else
			cat "$name.log"
			echo "FAIL: $where: the fragment does not compile"
			fail=$((fail + 1))
		fi
	fi
done <"$out/list.txt"

echo "doc examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
