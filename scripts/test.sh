#!/usr/bin/env bash
# test.sh - build gort and run all of its tests, in five configurations,
# and build it once more as a user's release build is made:
#
#   stage    compiler               build dir      build
#   gcc      gcc                    build/         RelWithDebInfo (-O2 -g), -Werror
#   release  gcc                    build-release/ Release (-O3), -Werror: built as a
#                                                  user builds it, tests not run (-O3
#                                                  finds warnings -O2 does not)
#   clang    clang                  build-clang/   the same as gcc with clang
#   asan     clang                  build-asan/    AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     clang                  build-tsan/    ThreadSanitizer
#   arm64    aarch64-linux-gnu-gcc  build-arm64/   aarch64, tests under qemu-user
#
# First it installs what a fresh Debian 12 machine with gcc, clang, make and
# cmake lacks (the sanitizer runtimes; golang-go, whose `go tool trace` the
# gort-trace tests check converted traces with; for arm64 the cross
# compiler and qemu-user), with apt-get, and only if missing.
# It stops at the first failure with a non-zero exit status. Its last line is
# always "N passed, N failed": the tests of all stages that ran; a step that
# fails outside ctest (install, configure, build) counts as one failure.
#
# Environment:
#   STAGES      stages to run, in this order (default: "gcc release clang asan tsan arm64")
#   JOBS        parallel build jobs (default: number of CPUs)
#   CTEST_JOBS  tests run at once (default: 2)
#   CTEST_ARGS  more ctest arguments, e.g. "-L unit" or "-R chan"
#   ASAN_CC     compiler of the asan stage (default: clang)
#   TSAN_CC     compiler of the tsan stage (default: clang)
#   NO_INSTALL  1: never run apt-get
set -euo pipefail
cd "$(dirname "$0")/.."

STAGES=${STAGES:-gcc release clang asan tsan arm64}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CTEST_JOBS=${CTEST_JOBS:-2}
read -r -a ctest_args <<<"${CTEST_ARGS:-}"

passed=0
failed=0
start=$SECONDS

finish() {
	local rc=$1
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	echo
	echo "test.sh: $((SECONDS - start)) s, stages: $STAGES"
	echo "$passed passed, $failed failed"
}
trap 'finish $?' EXIT

banner() {
	echo
	echo "=================================================================="
	echo "== $*"
	echo "=================================================================="
}

# --- dependencies ----------------------------------------------------------------

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_updated=0
apt_install() {
	[ $# -gt 0 ] || return 0
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	echo "installing: $*"
	if [ "$apt_updated" -eq 0 ]; then
		"${sudo[@]}" apt-get update -q
		apt_updated=1
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "$@"
}

install_missing() {
	if [ "${NO_INSTALL:-0}" = 1 ]; then
		return
	fi
	if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
		echo "not a Debian system: install cmake, make, gcc, clang, binutils"
		echo "and the compilers' sanitizer runtimes yourself"
		return
	fi
	local missing=() pkg
	for pkg in cmake make gcc clang binutils libc6-dev \
		libasan8 libtsan2 libubsan1 golang-go; do
		installed "$pkg" || missing+=("$pkg")
	done
	apt_install "${missing[@]}"
	# clang's sanitizer runtimes come with its major version's package.
	local v
	v=$(clang -dumpversion | cut -d. -f1)
	installed "libclang-rt-$v-dev" || apt_install "libclang-rt-$v-dev"
}

# The arm64 stage's cross compiler and emulator, only when it runs.
install_cross() {
	if [ "${NO_INSTALL:-0}" = 1 ] || ! command -v apt-get >/dev/null; then
		return
	fi
	local missing=() pkg
	for pkg in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
		installed "$pkg" || missing+=("$pkg")
	done
	apt_install "${missing[@]}"
}

banner "dependencies"
install_missing
echo "cmake: $(cmake --version | head -n 1)"
echo "gcc:   $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
echo "clang: $(clang -dumpversion)"

# --- stages ------------------------------------------------------------------

# same_compiler DIR CC: the build dir DIR was configured with compiler CC.
same_compiler() {
	local old
	old=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$1/CMakeCache.txt")
	[ -n "$old" ] || return 1
	[ "$(readlink -f "$(command -v "$old")")" = "$(readlink -f "$(command -v "$2")")" ]
}

# forget_other_compiler DIR CC: a build dir configured with another
# compiler is configured afresh (CMake keeps the first compiler it saw).
forget_other_compiler() {
	if [ -f "$1/CMakeCache.txt" ] && ! same_compiler "$1" "$2"; then
		echo "$1 was configured with another compiler: reconfiguring"
		rm -rf "$1/CMakeCache.txt" "$1/CMakeFiles"
	fi
}

# sanitizer_launcher CC SANITIZE: checks that CC can build and run a program
# with -fsanitize=SANITIZE and sets launcher to the command prefix that makes
# it run. The sanitizer runtimes of these compilers need a narrower address space
# layout than some kernels' default ASLR gives (TSan: "unexpected memory
# mapping"); then setarch -R (no randomisation) makes them work.
launcher=()
sanitizer_launcher() {
	local cc=$1 san=$2 tmp
	tmp=$(mktemp -d)
	cat >"$tmp/probe.c" <<-'EOF'
	#include <pthread.h>
	static void *run(void *arg) { return arg; }
	int main(void)
	{
		pthread_t t;
		pthread_create(&t, 0, run, 0);
		return pthread_join(t, 0);
	}
	EOF
	if ! "$cc" -fsanitize="$san" -g "$tmp/probe.c" -o "$tmp/probe" -pthread; then
		echo "$cc cannot build with -fsanitize=$san (sanitizer runtime missing?)"
		rm -rf "$tmp"
		return 1
	fi
	launcher=()
	if ! "$tmp/probe" >"$tmp/log" 2>&1; then
		if setarch "$(uname -m)" -R "$tmp/probe" >/dev/null 2>&1; then
			echo "-fsanitize=$san programs fail under this kernel's ASLR:"
			head -n 3 "$tmp/log"
			echo "running the tests under setarch -R"
			launcher=(setarch "$(uname -m)" -R)
		else
			echo "-fsanitize=$san programs do not run here:"
			cat "$tmp/log"
			rm -rf "$tmp"
			return 1
		fi
	fi
	rm -rf "$tmp"
}

# count_tests LOG RC: adds the ctest summary of LOG to the totals.
count_tests() {
	local log=$1 rc=$2 line total bad
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
	if [ -n "$line" ]; then
		bad=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
		total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
		passed=$((passed + total - bad))
		failed=$((failed + bad))
	elif [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
	fi
}

# extra_cmake: more cmake arguments for the next stage (a toolchain file).
extra_cmake=()

# stage NAME DIR CC SANITIZE [ENV=VALUE...]: configure, build, ctest.
stage() {
	local name=$1 dir=$2 cc=$3 san=$4
	shift 4
	local t0=$SECONDS
	banner "stage $name: $cc${san:+ -fsanitize=$san}, build dir $dir"

	launcher=()
	if [ -n "$san" ]; then
		sanitizer_launcher "$cc" "$san"
	fi
	forget_other_compiler "$dir" "$cc"
	# Benchmarks are built (not run) where timings would mean something.
	local opts=(-DGORT_SANITIZE="$san" -DGORT_BUILD_BENCH=ON)
	if [ -n "$san" ]; then
		opts=(-DGORT_SANITIZE="$san" -DGORT_BUILD_BENCH=OFF)
	fi
	CC=$cc cmake -S . -B "$dir" "${opts[@]}" "${extra_cmake[@]}"
	cmake --build "$dir" -j "$JOBS"

	local rc=0
	env "$@" "${launcher[@]}" ctest --test-dir "$dir" --output-on-failure \
		-j "$CTEST_JOBS" "${ctest_args[@]}" 2>&1 | tee "$dir/ctest.log" || rc=$?
	count_tests "$dir/ctest.log" "$rc"
	echo "stage $name: $((SECONDS - t0)) s"
	if [ "$rc" -ne 0 ]; then
		echo "stage $name FAILED (ctest exit status $rc)"
		exit 1
	fi
}

# build_release DIR CC: configure and build everything as Release, the
# default options otherwise, and run nothing; a warning fails it (-Werror
# is on by default).
build_release() {
	local dir=$1 cc=$2 t0=$SECONDS
	banner "stage release: $cc, Release, build dir $dir (built, not tested)"
	forget_other_compiler "$dir" "$cc"
	CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DGORT_SANITIZE= \
		-DGORT_BUILD_TESTS=ON -DGORT_BUILD_BENCH=ON
	cmake --build "$dir" -j "$JOBS"
	echo "stage release: $((SECONDS - t0)) s"
}

for s in $STAGES; do
	case $s in
	gcc)
		stage gcc build gcc ""
		;;
	release)
		build_release build-release gcc
		;;
	clang)
		stage clang build-clang clang ""
		;;
	asan)
		stage asan build-asan "${ASAN_CC:-clang}" address,undefined \
			ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
			UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
		;;
	tsan)
		# Thread leaks are not reported: once, early on, TSan called an
		# M thread leaked at exit although gort_main joins every M it
		# started (m_teardown), and no run since has shown it again,
		# the whole suite with leak reports on included. A report that
		# rare would fail the suite for nothing; memory leaks are
		# LeakSanitizer's, in the asan stage.
		stage tsan build-tsan "${TSAN_CC:-clang}" thread \
			TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 report_thread_leaks=0}"
		;;
	arm64)
		# The second target: cross-built with Debian's aarch64 toolchain,
		# the tests run under qemu-user.
		if [ "$(uname -m)" != aarch64 ]; then
			install_cross
			extra_cmake=(-DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake)
			# Under qemu-user the process has the emulator's threads
			# too, so deadlock detection (which must not fire while a
			# thread other than the runtime's exists) cannot fire.
			saved_args=("${ctest_args[@]}")
			ctest_args+=(-E deadlock_test)
			stage arm64 build-arm64 aarch64-linux-gnu-gcc ""
			ctest_args=("${saved_args[@]}")
			extra_cmake=()
		else
			stage arm64 build-arm64 gcc ""
		fi
		;;
	*)
		echo "unknown stage '$s' (stages: gcc release clang asan tsan arm64)"
		exit 2
		;;
	esac
done
