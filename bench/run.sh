#!/usr/bin/env bash
# bench/run.sh [RESULTS_FILE]
#
# The benchmark suite in one command: builds gort's benchmark programs
# (bench/*.c) and the peers written beside them — Go (bench/go), Boost.Fiber
# (bench/boost), pthreads (bench/pthread) — plus the machine probe
# (bench/calib.c), runs them side by side, REPS interleaved rounds, and
# writes the result lines
#     bench=NAME impl=gort|go|boost.fiber|pthread|machine cfg=K=V,... value=N unit=U
# to RESULTS_FILE (default bench/results/latest.txt; program stderr and
# progress go to the same path with .log, build output to
# bench/.cache/build.log). At the end it prints a Markdown table of the
# medians per (bench, cfg, impl) with gort's speed-up over each peer
# (bench/summarize.py) and draws it as an SVG bar chart next to the results
# (RESULTS_FILE with .svg; bench/chart.py). RESULTS_FILE is rewritten by
# every run; pass a new name to keep old ones.
#
# What is missing is installed from the distribution's packages (apt-get,
# with sudo when not root): golang-go when there is no go command,
# g++ and libboost-fiber-dev when Boost.Fiber's header is absent (NO_INSTALL=1
# to never install; a peer that cannot be built is left out with a note).
#
# Environment:
#   REPS=3          rounds; each round runs every configuration once per impl,
#                   the order of the impls rotated from round to round
#   ONLY=regex      run only the benchmarks whose name matches (ONLY='spawn|yield')
#   IMPLS=regex     run only the impls it matches whole (IMPLS='gort|go')
#   PROCS="1 2 4"   scaling sweep: every configuration that has -procs runs
#                   once per listed value instead of its own (pinned server
#                   sets are unpinned above 1)
#   ONCE=1          also run the single-shot set (ONCE below) in round 1;
#                   0 leaves it out
#   SKIP_BUILD=1    reuse what is already built
#   NO_INSTALL=1    never call apt-get
#   BUILD_DIR=build-bench  CMake build tree of its own ($BUILD_DIR/bench:
#                   gort's programs and calib; boost/, pthread/, go/: the
#                   peers): the Release settings below are not forced on a
#                   developer's build/
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
# Adding a benchmark: write bench/NAME.c and its peers (bench/go/NAME/main.go,
# bench/boost/NAME.cpp, bench/pthread/NAME.c: same flags, same cfg keys in
# the same order) and add a line to BENCHES below naming the impls that run
# each flag set.
#
# Server benchmarks (SERVED below: echo, http_hello) are a server plus a
# load generator that prints the result lines. For each process of such a
# benchmark the runner starts the server (gort's or Go's; it takes -procs P
# -life D and prints "LISTEN host:port" on stdout), waits until it accepts
# a connection, runs the client with -a host:port -i IMPL -x procs=P[,pin=1]
# plus the configured flags, then stops the server. The guard counts the
# server's CPU time (/proc/PID/stat) as the run's own, with the client's,
# and that of the kernel's ksoftirqd threads (loopback traffic).
# With -pin the server runs on CPU 0 and the client on CPU 1 (taskset).
# The soft RLIMIT_NOFILE is raised to the hard limit (10,000 connections).
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
IMPLS=${IMPLS:-.*}
PROCS=${PROCS:-}
ONCE=${ONCE:-1}
NO_INSTALL=${NO_INSTALL:-0}

case $BUILD_DIR in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
GORT_BIN="$BUILD_DIR/bench"
GO_BIN="$BUILD_DIR/bench/go"

# prog_of IMPL NAME: the program of benchmark NAME for IMPL
prog_of() {
    case $1 in
    gort | machine) echo "$GORT_BIN/$2" ;;
    go) echo "$GO_BIN/$2" ;;
    boost.fiber) echo "$BUILD_DIR/bench/boost/$2" ;;
    pthread) echo "$BUILD_DIR/bench/pthread/$2" ;;
    *) echo "/nonexistent/$1/$2" ;;
    esac
}

# The tracing rows of skynet (trace=1: the execution tracer's overhead,
# gort's and Go's) write their trace into memory (/dev/shm) where there is
# one: the disk's write-back would measure the file system, not the tracer.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TRACE_FILE=/dev/shm/gort-bench-skynet.trace
else
    TRACE_FILE="$BUILD_DIR/skynet.trace"
fi

# ---------------------------------------------------------------------------
# What runs. One line per group of configurations:
#   NAME | IMPLS | flag set ; flag set ...
# IMPLS are the implementations that run every flag set of the line (each
# with its own program, see prog_of); a flag set is one process per impl per
# round. Words of the form VAR=value at the start of a flag set go into the
# environment of every impl's process (GODEBUG=asyncpreemptoff=1 turns
# signal preemption off in gort and in Go). The sizes are those of the
# peers' definitions: Boost's launch::post spawn and post-skynet touch one
# fresh 8 KiB stack per live fiber, so they run at 100,000 (their 1M rows
# are Boost's launch=dispatch and chan=buf16 style); the pthread peers at
# the sizes a thread affords (pingpong 200,000).
BENCHES=(
    "calib | machine | "
    "spawn | gort go | -procs 1 -n 1000000 ; -procs 2 -n 1000000"
    "spawn | gort go boost.fiber | -procs 1 -n 100000"
    "spawn | gort go boost.fiber pthread | -procs 2 -n 100000"
    "spawn | boost.fiber | -procs 1 -n 1000000 -dispatch 1 ; -procs 2 -n 1000000 -dispatch 1"
    "yield | gort go boost.fiber | -procs 1 -n 5000000"
    "yieldmany | gort go | -procs 1 -g 1000 -n 2000 ; -procs 1 -g 10000 -n 200 ; -procs 1 -g 100000 -n 20"
    "pingpong | gort go boost.fiber | -procs 1 -n 1000000 ; -procs 2 -n 1000000"
    "pingpong | gort go pthread | -procs 1 -n 200000 ; -procs 2 -n 200000"
    "chanthroughput | gort go boost.fiber | -procs 2 -n 10000000 -p 4 -c 4 -cap 1024 ; -procs 1 -n 10000000 -p 4 -c 4 -cap 1024"
    "skynet | gort go | -procs 2 -n 1000000 ; -procs 1 -n 1000000"
    "skynet | gort go | -procs 2 -n 1000000 -trace $TRACE_FILE ; -procs 1 -n 1000000 -trace $TRACE_FILE"
    "skynet | gort go boost.fiber | -procs 2 -n 100000 ; -procs 1 -n 100000"
    "skynet | boost.fiber | -procs 2 -n 1000000 -dispatch 1 -buf 16 ; -procs 1 -n 1000000 -dispatch 1 -buf 16"
    "parked | gort go boost.fiber | -procs 2 -n 100000 ; -procs 1 -n 100000"
    "preemptlat | gort go | -procs 1 -spin 2000 ; GODEBUG=asyncpreemptoff=1 -procs 1 -spin 2000"
    "sleepjitter | gort go | -procs 1 -n 10000 -k 20 ; -procs 2 -n 10000 -k 20 ; -procs 1 -n 100 -k 20 ; -procs 2 -n 100 -k 20"
)
# The single-shot set (the peers' definitions run these once: long, and
# their shape is stable), same format, run in round 1 only (ONCE=0: not at
# all). forensics' loop modes are 1000 x 10 ms of CPU: 10 s at procs=1.
ONCE_BENCHES=(
    "forensics | gort go | -procs 1 -n 1000 -mode loop ; -procs 2 -n 1000 -mode loop ; -procs 1 -n 1000 -mode gosched ; -procs 2 -n 1000 -mode gosched ; -procs 1 -n 1000 -mode sleep ; -procs 2 -n 1000 -mode sleep"
    "skynet | boost.fiber | -procs 2 -n 1000000"
    "parked | gort go boost.fiber | -procs 2 -n 1000000"
)
# Server benchmarks, one line each:
#   NAME | IMPLS | client | set ; set ...
# The server of an impl is prog_of IMPL NAME; the client is a program in
# $GORT_BIN or a script in bench/. A set is the server's settings (-procs
# P, -pin), "--", the client's flags; leading VAR=value words go into the
# environment of server and client.
# echo: the peers' echo benchmark (100 connections x 64 B, 1 s warm-up +
# 5 s), at 100 and 10,000 connections. http_hello: wrk, keep-alive, GET /.
SERVED=(
    "echo | gort go | loadgen | -procs 1 -pin -- -c 100 -s 64 -d 5 -w 1 ; -procs 2 -- -c 100 -s 64 -d 5 -w 1 ; -procs 1 -pin -- -c 10000 -s 64 -d 5 -w 1 ; -procs 2 -- -c 10000 -s 64 -d 5 -w 1"
    "http_hello | gort go | wrk.sh | -procs 1 -pin -- -t 1 -c 100 -d 5 -w 1 ; -procs 2 -- -t 2 -c 100 -d 5 -w 1"
)
# ---------------------------------------------------------------------------

# Go: the installed release, no network, caches inside the tree.
export GOCACHE="$ROOT/bench/.cache/go-build" GOPATH="$ROOT/bench/.cache/gopath"
export GO111MODULE=on GOTOOLCHAIN=local GOPROXY=off GOFLAGS='' GOENV=off
# Both runtimes with their defaults: the programs set their own procs.
unset GOMAXPROCS GOGC GODEBUG GOMEMLIMIT

mkdir -p "$(dirname "$OUT")" "$ROOT/bench/.cache"
# the server benchmarks open 10,000 connections in each of two processes
ulimit -n "$(ulimit -Hn)" 2>/dev/null

say() { echo "$*" >&2; echo "$*" >>"$LOG"; }
rel() { echo "${1#"$ROOT"/}"; } # paths as shown: relative to the repository
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; echo "${s%"${s##*[![:space:]]}"}"; }

APT_UPDATED=0
# apt_install PKG...: install Debian packages (sudo when not root); apt-get
# update only when a first attempt fails (stale lists)
apt_install() {
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    say "== installing $*"
    {
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" ||
            { [ "$APT_UPDATED" = 0 ] && APT_UPDATED=1 && "${sudo[@]}" apt-get update -q &&
                "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; }
    } >>"$LOG" 2>&1
}

# install_deps: Go and Boost.Fiber (with g++) when missing
install_deps() {
    local missing=()
    command -v go >/dev/null 2>&1 || missing+=(golang-go)
    command -v g++ >/dev/null 2>&1 || missing+=(g++)
    [ -e /usr/include/boost/fiber/all.hpp ] || missing+=(libboost-fiber-dev)
    [ ${#missing[@]} -gt 0 ] || return 0
    if [ "$NO_INSTALL" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "== missing (not installed): ${missing[*]}; their impls are left out"
        return 0
    fi
    apt_install "${missing[@]}" || say "== could not install ${missing[*]}; see $(rel "$LOG")"
}

WRK_TRIED=0
install_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    [ "$WRK_TRIED" = 1 ] && return 1
    WRK_TRIED=1
    [ "$NO_INSTALL" = 1 ] && return 1
    apt_install wrk
    command -v wrk >/dev/null 2>&1
}

build() {
    say "== build gort ($(rel "$BUILD_DIR"), Release)"
    # Release; no sanitizer left in the cache of a reused tree, and the
    # benchmarks on in it (the sanitizer trees of scripts/test.sh have
    # them off); a compiler warning (-O3 finds more) does not stop a
    # measurement.
    if ! { cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGORT_SANITIZE= -DGORT_BUILD_BENCH=ON -DGORT_WERROR=OFF &&
        cmake --build "$BUILD_DIR" --target gort_benchmarks -j "$(nproc)"; } >"$BUILD_LOG" 2>&1; then
        say "gort build failed; see $(rel "$BUILD_LOG")"
        tail -20 "$BUILD_LOG" >&2
        return 1
    fi
    # The peers: a peer that does not build is left out, not fatal.
    say "== build Boost.Fiber and pthread peers"
    if ! cmake --build "$BUILD_DIR" --target bench_peers -j "$(nproc)" >>"$BUILD_LOG" 2>&1; then
        say "   peer build failed (see $(rel "$BUILD_LOG")); the peers missing are left out"
    fi
    grep -q 'Boost.Fiber peers skipped' "$BUILD_LOG" && say "   Boost.Fiber not found: its peers are left out"
    if command -v go >/dev/null 2>&1; then
        say "== build Go peers ($(go version))"
        mkdir -p "$GO_BIN"
        if ! (cd "$ROOT/bench/go" && go build -o "$GO_BIN/" ./...) >>"$BUILD_LOG" 2>&1; then
            say "   Go build failed (see $(rel "$BUILD_LOG")); Go is left out"
        fi
    else
        say "   no go command: Go is left out"
    fi
}

# --- contamination guard ---------------------------------------------------
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat; }
# CPU ticks of this shell's reaped children (cutime+cstime)
child_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{print $14+$15}'; }
# CPU ticks of the kernel's ksoftirqd threads: loopback TCP processing
# that the kernel defers to them is the server benchmark's own work
softirqd_ticks() {
    local p t=0
    for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do
        t=$((t + $(pid_ticks "$p")))
    done
    echo "$t"
}
# CPU ticks (utime+stime) of a live process; 0 when there is none
pid_ticks() {
    if [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ]; then
        sed 's/.*) //' "/proc/$1/stat" | awk '{print $12+$13}'
    else
        echo 0
    fi
}
QUIET_SPENT=0 # tenths of a second
wait_quiet() {
    [ "$GUARD" = 1 ] || return 0
    local waited=0 a b
    while :; do
        a=$(busy_ticks)
        sleep 0.3
        b=$(busy_ticks)
        [ $((b - a)) -le 3 ] && return 0
        waited=$((waited + 3))
        QUIET_SPENT=$((QUIET_SPENT + 3))
        if [ $waited -ge $((QUIET_MAX * 10)) ] || [ $QUIET_SPENT -ge $((QUIET_BUDGET * 10)) ]; then
            echo "   machine not idle ($((b - a)) ticks in 0.3 s); going on" >>"$LOG"
            return 1
        fi
        sleep 0.5
        waited=$((waited + 5))
        QUIET_SPENT=$((QUIET_SPENT + 5))
    done
}

# --- servers ---------------------------------------------------------------
# A server benchmark sets, for run_one: SERVE (the server's command line,
# taskset included), SERVE_EXTRA (the cfg keys the client adds with -x) and
# CLIENT_PIN (taskset words for the client, or none).
SERVE=()
SERVE_EXTRA=""
CLIENT_PIN=()
SERVER_PID=""
SERVER_ADDR=""

# server_start VAR=value...: start "${SERVE[@]}" with those words in its
# environment; wait until it has printed "LISTEN host:port" and accepts a
# connection. Sets SERVER_PID and SERVER_ADDR.
server_start() {
    local f i host port
    f=$(mktemp -p "$ROOT/bench/.cache" srv.XXXXXX)
    SERVER_ADDR=""
    # env and taskset exec the server: $! is the server's pid
    env "$@" "${SERVE[@]}" -life "${TMO}s" >"$f" 2>>"$LOG" &
    SERVER_PID=$!
    for i in $(seq 200); do
        SERVER_ADDR=$(awk '/^LISTEN /{print $2; exit}' "$f")
        [ -n "$SERVER_ADDR" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    rm -f "$f"
    if [ -n "$SERVER_ADDR" ]; then
        host=${SERVER_ADDR%:*} port=${SERVER_ADDR##*:}
        for i in $(seq 100); do
            # a connection the server accepts, then sees closed
            if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
                return 0
            fi
            sleep 0.05
        done
    fi
    echo "   server did not start: ${SERVE[*]}" >>"$LOG"
    server_stop
    return 1
}

server_stop() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# run_one IMPL PROGRAM [VAR=value...] FLAGS...: one process, with the
# VAR=value words in its environment; its result lines go to $OUT. With
# SERVE set, PROGRAM is the client of a server started for each attempt.
run_one() {
    local impl=$1 prog=$2
    shift 2
    local tmp attempt rc a b c0 c1 s0 s1 t0 t1 foreign=0 wall_ms limit=0
    local -a envs=() args
    while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
        envs+=("$1")
        shift
    done
    tmp=$(mktemp -p "$ROOT/bench/.cache" out.XXXXXX)
    for attempt in $(seq 0 "$RETRY"); do
        wait_quiet
        args=("$@")
        if [ ${#SERVE[@]} -gt 0 ]; then
            if ! server_start ${envs[@]+"${envs[@]}"}; then
                rc=1 foreign=0 wall_ms=0
                break
            fi
            args=(-a "$SERVER_ADDR" -i "$impl" -x "$SERVE_EXTRA" "$@")
            echo "-- $impl server ${envs[*]+${envs[*]} }${SERVE[*]//"$ROOT"\//} at $SERVER_ADDR" >>"$LOG"
        fi
        echo "-- $impl ${envs[*]+${envs[*]} }$(rel "$prog") ${args[*]} (attempt $attempt)" >>"$LOG"
        a=$(busy_ticks)
        c0=$(child_ticks)
        s0=0
        [ -n "$SERVER_PID" ] && s0=$(($(pid_ticks "$SERVER_PID") + $(softirqd_ticks)))
        t0=$(date +%s%N)
        timeout "$TMO" env ${envs[@]+"${envs[@]}"} ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "$prog" "${args[@]}" >"$tmp" 2>>"$LOG"
        rc=$?
        t1=$(date +%s%N)
        c1=$(child_ticks)
        s1=0
        [ -n "$SERVER_PID" ] && s1=$(($(pid_ticks "$SERVER_PID") + $(softirqd_ticks)))
        b=$(busy_ticks)
        if [ -n "$SERVER_PID" ] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "   the server exited during the run" >>"$LOG"
            [ $rc -eq 0 ] && rc=1
        fi
        server_stop
        wall_ms=$(((t1 - t0) / 1000000))
        foreign=$((b - a - (c1 - c0) - (s1 - s0)))
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
    printf '   %-11s %-14s %-28s %7.2f s  foreign=%d ticks\n' "$impl" "$(basename "$prog")" "${envs[*]+${envs[*]} }${SERVE_EXTRA:+$SERVE_EXTRA }$*" \
        "$(awk -v w=$wall_ms 'BEGIN{print w/1000}')" "$foreign" >&2
}

# --- what a round runs -------------------------------------------------------
MISSING_NOTED=" "
# have IMPL NAME: IMPL's program of NAME exists (a missing one is noted
# once in the log and the results)
have() {
    local prog
    prog=$(prog_of "$1" "$2")
    [ -x "$prog" ] && return 0
    if [[ $MISSING_NOTED != *" $1/$2 "* ]]; then
        MISSING_NOTED+="$1/$2 "
        say "   $1 left out of $2: $(rel "$prog") not built"
        echo "# SKIPPED impl=$1 bench=$2: not built" >>"$OUT"
    fi
    return 1
}

# rotated REP IMPL...: the impls rotated left by REP-1, so that every impl
# takes every place in the order as the rounds go
rotated() {
    local rep=$1
    shift
    local -a a=("$@")
    local k=$(((rep - 1) % ${#a[@]})) i
    for i in "${!a[@]}"; do
        echo "${a[$(((i + k) % ${#a[@]}))]}"
    done
}

# expand_sets SETS: the flag sets of a line, one per output line; with
# PROCS, every set with -procs becomes one set per listed value (a pinned
# server set is unpinned above procs=1), duplicates dropped
expand_sets() {
    local -a flagsets
    local set p
    IFS=';' read -r -a flagsets <<<"$1"
    [ ${#flagsets[@]} -gt 0 ] || flagsets=("")
    for set in "${flagsets[@]}"; do
        set=$(trim "$set")
        if [ -z "$PROCS" ] || [[ " $set " != *" -procs "* ]]; then
            echo "$set"
            continue
        fi
        for p in $PROCS; do
            local s2
            s2=$(sed -E "s/(^| )-procs [0-9]+/\1-procs $p/" <<<"$set")
            [ "$p" != 1 ] && s2=$(sed -E 's/ -pin( |$)/\1/' <<<"$s2")
            echo "$s2"
        done
    done | awk '!seen[$0]++'
}

# run_entry REP ENTRY: every flag set of one BENCHES line, each run by its
# impls in the round's order
run_entry() {
    local rep=$1 name impls sets set i
    local -a order flagsets
    IFS='|' read -r name impls sets <<<"$2"
    name=$(trim "$name")
    [[ $name =~ $ONLY ]] || return 0
    mapfile -t order < <(rotated "$rep" $impls)
    mapfile -t flagsets < <(expand_sets "$sets")
    for set in "${flagsets[@]}"; do
        say "-- round $rep/$REPS: $name $set"
        for i in "${order[@]}"; do
            [[ $i =~ ^($IMPLS)$ ]] || continue
            have "$i" "$name" || continue
            # shellcheck disable=SC2086 # a flag set is split into words
            run_one "$i" "$(prog_of "$i" "$name")" $set
        done
    done
}

# run_served REP ENTRY: every set of one SERVED line, each as one run_one
# of the client against a fresh server of each impl, in the round's order
run_served() {
    local rep=$1 name impls client sets set i w procs pin cprog
    local -a order flagsets words envs sflags cflags
    IFS='|' read -r name impls client sets <<<"$2"
    name=$(trim "$name")
    client=$(trim "$client")
    [[ $name =~ $ONLY ]] || return 0
    mapfile -t order < <(rotated "$rep" $impls)
    if [ -x "$GORT_BIN/$client" ]; then
        cprog="$GORT_BIN/$client"
    else
        cprog="$ROOT/bench/$client"
    fi
    if [ "$client" = wrk.sh ] && ! install_wrk; then
        say "-- $name skipped: wrk is not installed (apt-get install wrk)"
        echo "# SKIPPED $name: wrk not installed" >>"$OUT"
        return 0
    fi
    mapfile -t flagsets < <(expand_sets "$sets")
    for set in "${flagsets[@]}"; do
        # shellcheck disable=SC2206 # a flag set is split into words
        words=($set)
        envs=() sflags=() cflags=() procs="" pin=0
        while [ ${#words[@]} -gt 0 ] && [[ ${words[0]} =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
            envs+=("${words[0]}")
            words=("${words[@]:1}")
        done
        while [ ${#words[@]} -gt 0 ]; do
            w=${words[0]}
            words=("${words[@]:1}")
            case $w in
            --) break ;;
            -pin) pin=1 ;;
            -procs)
                procs=${words[0]}
                sflags+=(-procs "$procs")
                words=("${words[@]:1}")
                ;;
            *) sflags+=("$w") ;;
            esac
        done
        cflags=(${words[@]+"${words[@]}"})
        SERVE_EXTRA="procs=$procs"
        CLIENT_PIN=()
        [ "$pin" = 1 ] && SERVE_EXTRA+=",pin=1" && CLIENT_PIN=(taskset -c 1)
        say "-- round $rep/$REPS: $name $set"
        for i in "${order[@]}"; do
            [[ $i =~ ^($IMPLS)$ ]] || continue
            have "$i" "$name" || continue
            SERVE=()
            [ "$pin" = 1 ] && SERVE=(taskset -c 0)
            SERVE+=("$(prog_of "$i" "$name")" ${sflags[@]+"${sflags[@]}"})
            run_one "$i" "$cprog" ${envs[@]+"${envs[@]}"} ${cflags[@]+"${cflags[@]}"}
        done
    done
    SERVE=() SERVE_EXTRA="" CLIENT_PIN=()
}

header() {
    local cpu
    cpu=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
    {
        echo "# date=$(date -u +%Y-%m-%dT%H:%M:%SZ) reps=$REPS only=$ONLY impls=$IMPLS procs=${PROCS:-default} once=$ONCE"
        echo "# cpu=$cpu nproc=$(nproc) mem=$(awk '/^MemTotal/{printf "%.1fGiB", $2/1048576}' /proc/meminfo) kernel=$(uname -r)"
        echo "# $(go version 2>/dev/null) cc=$(cc --version 2>/dev/null | head -1) c++=$(g++ --version 2>/dev/null | head -1)"
        echo "# boost=$(dpkg-query -W -f '${Version}' libboost-fiber-dev 2>/dev/null || echo unknown) glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | cut -d' ' -f2)"
        echo "# gort=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo +dirty)"
    } >>"$OUT"
}

main() {
    : >"$LOG"
    install_deps
    if [ "$SKIP_BUILD" != 1 ]; then
        build || exit 1
    fi
    : >"$OUT"
    header
    say "== run: $REPS round(s), results in $(rel "$OUT")"
    local rep entry
    for rep in $(seq 1 "$REPS"); do
        echo "# round $rep start $(date -u +%H:%M:%S) loadavg=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" >>"$OUT"
        for entry in "${BENCHES[@]}"; do
            run_entry "$rep" "$entry"
        done
        if [ "$rep" = 1 ] && [ "$ONCE" = 1 ]; then
            for entry in "${ONCE_BENCHES[@]}"; do
                run_entry "$rep" "$entry"
            done
        fi
        for entry in "${SERVED[@]}"; do
            run_served "$rep" "$entry"
        done
    done
    [ "$QUIET_SPENT" -gt 0 ] && echo "# waited $((QUIET_SPENT / 10)) s for an idle machine" >>"$OUT"
    rm -f "$TRACE_FILE"
    echo >&2
    python3 "$ROOT/bench/summarize.py" "$OUT"
    if python3 "$ROOT/bench/chart.py" "$OUT" -o "${OUT%.txt}.svg" 2>>"$LOG"; then
        say "chart: $(rel "${OUT%.txt}.svg")"
    fi
}

main
