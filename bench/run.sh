#!/usr/bin/env bash
# bench/run.sh [RESULTS_FILE]
#
# Builds gort's benchmark programs (bench/*.c) and their Go peers (bench/go)
# and runs them side by side, interleaved, REPS rounds, writing the result
# lines
#     bench=NAME impl=gort|go cfg=K=V,... value=N unit=U
# to RESULTS_FILE (default bench/results/latest.txt; program stderr and
# progress go to the same path with .log, build output to
# bench/.cache/build.log). At the end it prints a Markdown
# table of medians per (bench, cfg) with the ratio go/gort (bench/summarize.py).
# RESULTS_FILE is rewritten by every run; pass a new name to keep old ones.
#
# Environment:
#   REPS=3          rounds; each round runs every configuration once per impl
#                   (the order gort/go alternates from round to round)
#   ONLY=regex      run only the benchmarks whose name matches (ONLY='spawn|yield')
#   SKIP_BUILD=1    reuse what is already built
#   BUILD_DIR=build-bench  CMake build tree of its own (gort programs in
#                   $BUILD_DIR/bench, Go peers in $BUILD_DIR/bench/go): the
#                   Release settings below are not forced on a developer's build/
#   TMO=300         per-process timeout, seconds
#   GUARD=1         contamination guard (0 = off), see below
#   QUIET_MAX=10    seconds to wait, before each process, for an idle machine;
#   QUIET_BUDGET=120  at most this many seconds of such waiting in one run
#   RETRY=1         re-runs of a process that shared the CPUs with others
#
# Contamination guard: the machine may be shared. Around every process the
# runner compares the CPU time the whole machine spent (/proc/stat
# user+nice+system+irq+softirq) with the CPU time of the process itself. If
# the difference (CPU used by others) exceeds 5 ticks + 10% of the wall time,
# the process is run again (RETRY times); if it is still disturbed its lines
# are kept, commented out as "# BUSY(foreign_cpu_s=X,wall_s=Y) bench=...",
# and summarize.py leaves them out unless given --include-busy.
#
# Adding a benchmark: write bench/NAME.c and bench/go/NAME/main.go (same
# flags, same cfg keys) and add one line to BENCHES below.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/bench/results/latest.txt}") # before the cd
cd "$ROOT" || exit 1

LOG="${OUT%.txt}.log"
BUILD_LOG="$ROOT/bench/.cache/build.log"
REPS=${REPS:-3}
ONLY=${ONLY:-.}
SKIP_BUILD=${SKIP_BUILD:-0}
BUILD_DIR=${BUILD_DIR:-build-bench}
TMO=${TMO:-300}
GUARD=${GUARD:-1}
QUIET_MAX=${QUIET_MAX:-10}
QUIET_BUDGET=${QUIET_BUDGET:-120}
RETRY=${RETRY:-1}

case $BUILD_DIR in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
GORT_BIN="$BUILD_DIR/bench"
GO_BIN="$BUILD_DIR/bench/go"

# ---------------------------------------------------------------------------
# What runs. One line per benchmark:
#   NAME | gort program ($GORT_BIN) | Go peer ($GO_BIN) | flag set ; flag set ...
# Every flag set is one process per impl per round. Words of the form
# VAR=value at the start of a flag set go into the environment of both
# processes (GODEBUG=asyncpreemptoff=1 turns signal preemption off in
# gort and in Go).
BENCHES=(
    "spawn | spawn | spawn | -procs 1 -n 1000000 ; -procs 1 -n 100000 ; -procs 2 -n 1000000 ; -procs 2 -n 100000"
    "yield | yield | yield | -procs 1 -n 5000000"
    "pingpong | pingpong | pingpong | -procs 1 -n 1000000 ; -procs 2 -n 1000000"
    "chanthroughput | chanthroughput | chanthroughput | -procs 2 -n 10000000 -p 4 -c 4 -cap 1024 ; -procs 1 -n 10000000 -p 4 -c 4 -cap 1024"
    "skynet | skynet | skynet | -procs 2 -n 1000000 ; -procs 2 -n 100000 ; -procs 1 -n 1000000 ; -procs 1 -n 100000"
    "parked | parked | parked | -procs 2 -n 100000 ; -procs 1 -n 100000"
    "forensics | forensics | forensics | -procs 1 -n 1000 -mode loop ; -procs 2 -n 1000 -mode loop ; -procs 1 -n 1000 -mode gosched ; -procs 2 -n 1000 -mode gosched ; -procs 1 -n 1000 -mode sleep ; -procs 2 -n 1000 -mode sleep"
    "preemptlat | preemptlat | preemptlat | -procs 1 -spin 2000 ; GODEBUG=asyncpreemptoff=1 -procs 1 -spin 2000"
    "sleepjitter | sleepjitter | sleepjitter | -procs 1 -n 10000 -k 20 ; -procs 2 -n 10000 -k 20 ; -procs 1 -n 100 -k 20 ; -procs 2 -n 100 -k 20"
)
# ---------------------------------------------------------------------------

# Go: the installed release, no network, caches inside the tree.
export GOCACHE="$ROOT/bench/.cache/go-build" GOPATH="$ROOT/bench/.cache/gopath"
export GO111MODULE=on GOTOOLCHAIN=local GOPROXY=off GOFLAGS='' GOENV=off
# Both runtimes with their defaults: the programs set their own procs.
unset GOMAXPROCS GOGC GODEBUG GOMEMLIMIT

mkdir -p "$(dirname "$OUT")" "$ROOT/bench/.cache"

say() { echo "$*" >&2; echo "$*" >>"$LOG"; }
rel() { echo "${1#"$ROOT"/}"; } # paths as shown: relative to the repository
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; echo "${s%"${s##*[![:space:]]}"}"; }

install_go() {
    command -v go >/dev/null 2>&1 && return 0
    say "== go not found: installing golang-go"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update && $sudo apt-get install -y golang-go
}

build() {
    say "== build gort ($(rel "$BUILD_DIR"), Release)"
    # Release; no sanitizer or debug runtime left in the cache of a reused
    # tree; a compiler warning (-O3 finds more) does not stop a measurement.
    if ! { cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGORT_SANITIZE= -DGORT_DEBUG=OFF -DGORT_WERROR=OFF &&
        cmake --build "$BUILD_DIR" --target gort_benchmarks -j "$(nproc)"; } >"$BUILD_LOG" 2>&1; then
        say "gort build failed; see $(rel "$BUILD_LOG")"
        tail -20 "$BUILD_LOG" >&2
        return 1
    fi
    say "== build Go peers ($(go version))"
    mkdir -p "$GO_BIN"
    if ! (cd "$ROOT/bench/go" && go build -o "$GO_BIN/" ./...) >>"$BUILD_LOG" 2>&1; then
        say "Go build failed; see $(rel "$BUILD_LOG")"
        tail -20 "$BUILD_LOG" >&2
        return 1
    fi
}

# --- contamination guard ---------------------------------------------------
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat; }
# CPU ticks of this shell's reaped children (cutime+cstime)
child_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{print $14+$15}'; }
QUIET_SPENT=0 # tenths of a second
wait_quiet() {
    [ "$GUARD" = 1 ] || return 0
    local waited=0 a b
    while :; do
        a=$(busy_ticks)
        sleep 0.3
        b=$(busy_ticks)
        [ $((b - a)) -le 3 ] && return 0
        waited=$((waited + 8))
        QUIET_SPENT=$((QUIET_SPENT + 8))
        if [ $waited -ge $((QUIET_MAX * 10)) ] || [ $QUIET_SPENT -ge $((QUIET_BUDGET * 10)) ]; then
            echo "   machine not idle ($((b - a)) ticks in 0.3 s); going on" >>"$LOG"
            return 1
        fi
        sleep 0.5
    done
}

# run_one IMPL PROGRAM [VAR=value...] FLAGS...: one process, with the
# VAR=value words in its environment; its result lines go to $OUT
run_one() {
    local impl=$1 prog=$2
    shift 2
    local tmp attempt rc a b c0 c1 t0 t1 foreign=0 wall_ms limit=0
    local -a envs=()
    while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
        envs+=("$1")
        shift
    done
    tmp=$(mktemp -p "$ROOT/bench/.cache" out.XXXXXX)
    for attempt in $(seq 0 "$RETRY"); do
        wait_quiet
        echo "-- $impl ${envs[*]+${envs[*]} }$(rel "$prog") $* (attempt $attempt)" >>"$LOG"
        a=$(busy_ticks)
        c0=$(child_ticks)
        t0=$(date +%s%N)
        timeout "$TMO" env ${envs[@]+"${envs[@]}"} "$prog" "$@" >"$tmp" 2>>"$LOG"
        rc=$?
        t1=$(date +%s%N)
        c1=$(child_ticks)
        b=$(busy_ticks)
        wall_ms=$(((t1 - t0) / 1000000))
        foreign=$((b - a - (c1 - c0)))
        limit=$((5 + wall_ms / 100))
        [ "$GUARD" = 1 ] || break
        [ $rc -ne 0 ] || [ $foreign -le $limit ] || [ "$attempt" -ge "$RETRY" ] && break
        echo "   foreign CPU: $foreign ticks in $wall_ms ms; again" >>"$LOG"
    done
    if [ "$GUARD" = 1 ] && [ $rc -eq 0 ] && [ $foreign -gt $limit ]; then
        local tag
        tag=$(awk -v f=$foreign -v w=$wall_ms 'BEGIN{printf "# BUSY(foreign_cpu_s=%.2f,wall_s=%.2f) ", f/100, w/1000}')
        grep '^bench=' "$tmp" | sed "s|^|$tag|" >>"$OUT"
    else
        grep '^bench=' "$tmp" >>"$OUT"
    fi
    if [ $rc -ne 0 ]; then
        echo "# FAILED rc=$rc impl=$impl cmd=${envs[*]+${envs[*]} }$(basename "$prog") $*" >>"$OUT"
        say "   FAILED rc=$rc: $impl ${envs[*]+${envs[*]} }$(basename "$prog") $*"
    fi
    rm -f "$tmp"
    printf '   %-5s %-14s %-28s %7.2f s  foreign=%d ticks\n' "$impl" "$(basename "$prog")" "${envs[*]+${envs[*]} }$*" \
        "$(awk -v w=$wall_ms 'BEGIN{print w/1000}')" "$foreign" >&2
}

header() {
    local cpu
    cpu=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
    {
        echo "# date=$(date -u +%Y-%m-%dT%H:%M:%SZ) reps=$REPS only=$ONLY"
        echo "# cpu=$cpu nproc=$(nproc) kernel=$(uname -r)"
        echo "# $(go version 2>/dev/null) cc=$(cc --version 2>/dev/null | head -1)"
        echo "# gort=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo +dirty)"
    } >>"$OUT"
}

main() {
    : >"$LOG"
    install_go || { say "cannot install Go"; exit 1; }
    if [ "$SKIP_BUILD" != 1 ]; then
        build || exit 1
    fi
    : >"$OUT"
    header
    say "== run: $REPS round(s), results in $(rel "$OUT")"
    local rep entry name gprog goprog sets set i
    local -a flagsets order
    for rep in $(seq 1 "$REPS"); do
        if [ $((rep % 2)) -eq 1 ]; then order=(gort go); else order=(go gort); fi
        for entry in "${BENCHES[@]}"; do
            IFS='|' read -r name gprog goprog sets <<<"$entry"
            name=$(trim "$name")
            gprog=$(trim "$gprog")
            goprog=$(trim "$goprog")
            [[ $name =~ $ONLY ]] || continue
            IFS=';' read -r -a flagsets <<<"$sets"
            for set in "${flagsets[@]}"; do
                set=$(trim "$set")
                say "-- round $rep/$REPS: $name $set"
                for i in "${order[@]}"; do
                    # shellcheck disable=SC2086 # a flag set is split into words
                    if [ "$i" = gort ]; then
                        run_one gort "$GORT_BIN/$gprog" $set
                    else
                        run_one go "$GO_BIN/$goprog" $set
                    fi
                done
            done
        done
    done
    [ "$QUIET_SPENT" -gt 0 ] && echo "# waited $((QUIET_SPENT / 10)) s for an idle machine" >>"$OUT"
    echo >&2
    python3 "$ROOT/bench/summarize.py" "$OUT"
}

main
