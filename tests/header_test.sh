#!/bin/sh
# header_test.sh CC INCLUDE_DIR
#
# gort.h is the whole public interface, and compiles on its own as strict
# C11 and as C++ (it declares everything extern "C"): -std=c11 and
# -std=c++11 with -pedantic, -Wall -Wextra -Werror, each translation unit
# including only gort.h and using what a program would (errno, which
# gort.h defines, and gort_goexit, which does not return). The C++
# compiler is CC's sibling (clang++ beside clang, g++ beside gcc), else the
# first of c++, clang++ and g++ there is; the Debian clang package brings
# clang++ with it.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 CC INCLUDE_DIR" >&2; exit 2; }
cc=$1 incdir=$2
flags="-Wall -Wextra -Werror -pedantic -fsyntax-only -I$incdir"

unit='#include <gort.h>
static void body(void *arg)
{
	int *p = (int *)arg;
	errno = 0;
	*p = errno == 0;
	gort_goexit();
}
int start(int *p);
int start(int *p)
{
	return gort_go(body, p) > 0 ? 0 : errno;
}'

echo "$unit" | "$cc" -std=c11 $flags -x c -
echo "header_test: C11 ok ($cc)"

case $(basename "$cc") in
*clang*) cxx=$(dirname "$cc")/$(basename "$cc" | sed 's/clang/clang++/') ;;
*gcc*) cxx=$(dirname "$cc")/$(basename "$cc" | sed 's/gcc/g++/') ;;
*) cxx=c++ ;;
esac
for c in "$cxx" c++ clang++ g++ ""; do
	if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
		break
	fi
done
if [ -z "$c" ]; then
	echo "header_test: no C++ compiler: none beside $cc, nor c++, clang++, g++" >&2
	exit 1
fi
cxx=$c
echo "$unit" | "$cxx" -std=c++11 $flags -x c++ -
echo "header_test: C++11 ok ($cxx)"
