#!/bin/sh
# readme_example_test.sh README CC INCLUDE_DIR LIBGORT_A OUT_DIR [CFLAGS...]
#
# Extracts the first ```c block of README.md, compiles it the way the README
# says (cc -O2 example.c -Iinclude build/libgort.a -pthread, plus any extra
# flags such as the sanitizer ones, and -Wall -Wextra -Werror so that the
# example stays clean), runs it, and expects exit status 0.
set -eu
[ $# -ge 5 ] || { echo "usage: $0 README CC INCLUDE_DIR LIB OUT_DIR [CFLAGS...]" >&2; exit 2; }
readme=$1 cc=$2 incdir=$3 lib=$4 out=$5
shift 5

mkdir -p "$out"
awk '
	done { next }
	!inblock && /^```c[ \t]*$/ { inblock = 1; next }
	inblock && /^```/ { done = 1; next }
	inblock { print }
' "$readme" >"$out/example.c"
if [ ! -s "$out/example.c" ]; then
	echo "FAIL: no \`\`\`c block in $readme"
	exit 1
fi
echo "example: $(wc -l <"$out/example.c") lines from $readme"

set -x
"$cc" -O2 -Wall -Wextra -Werror "$@" "$out/example.c" -I"$incdir" "$lib" -pthread -o "$out/example"
# GORT_TEST_EMULATOR runs programs of a cross build (qemu-user).
${GORT_TEST_EMULATOR:-} "$out/example"
