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
# Server benchmarks, one line each:
#   NAME | gort server ($GORT_BIN) | Go server ($GO_BIN) | client | set ; set ...
# The client is a program in $GORT_BIN or a script in bench/. A set is the
# server's settings (-procs P, -pin), "--", the client's flags; leading
# VAR=value words go into the environment of server and client.
# echo: the peers' echo benchmark (100 connections x 64 B, 1 s warm-up +
# 5 s), at 100 and 10,000 connections. http_hello: wrk, keep-alive, GET /.
SERVED=(
    "echo | echo | echo | loadgen | -procs 1 -pin -- -c 100 -s 64 -d 5 -w 1 ; -procs 2 -- -c 100 -s 64 -d 5 -w 1 ; -procs 1 -pin -- -c 10000 -s 64 -d 5 -w 1 ; -procs 2 -- -c 10000 -s 64 -d 5 -w 1"
    "http_hello | http_hello | http_hello | wrk.sh | -procs 1 -pin -- -t 1 -c 100 -d 5 -w 1 ; -procs 2 -- -t 2 -c 100 -d 5 -w 1"
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

install_go() {
    command -v go >/dev/null 2>&1 && return 0
    say "== go not found: installing golang-go"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update && $sudo apt-get install -y golang-go
}

WRK_TRIED=0
install_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    [ "$WRK_TRIED" = 1 ] && return 1
    WRK_TRIED=1
    say "== wrk not found: installing wrk"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    { $sudo apt-get install -y wrk || { $sudo apt-get update && $sudo apt-get install -y wrk; }; } >>"$LOG" 2>&1
    command -v wrk >/dev/null 2>&1
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
        waited=$((waited + 8))
        QUIET_SPENT=$((QUIET_SPENT + 8))
        if [ $waited -ge $((QUIET_MAX * 10)) ] || [ $QUIET_SPENT -ge $((QUIET_BUDGET * 10)) ]; then
            echo "   machine not idle ($((b - a)) ticks in 0.3 s); going on" >>"$LOG"
            return 1
        fi
        sleep 0.5
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
    printf '   %-5s %-14s %-28s %7.2f s  foreign=%d ticks\n' "$impl" "$(basename "$prog")" "${envs[*]+${envs[*]} }${SERVE_EXTRA:+$SERVE_EXTRA }$*" \
        "$(awk -v w=$wall_ms 'BEGIN{print w/1000}')" "$foreign" >&2
}

# run_served ENTRY: every set of one SERVED line, in the order of the
# round ($order), each as one run_one of the client against a fresh server
run_served() {
    local name gserv goserv client sets set i w procs pin cprog
    local -a flagsets words envs sflags cflags
    IFS='|' read -r name gserv goserv client sets <<<"$1"
    name=$(trim "$name")
    gserv=$(trim "$gserv")
    goserv=$(trim "$goserv")
    client=$(trim "$client")
    [[ $name =~ $ONLY ]] || return 0
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
    IFS=';' read -r -a flagsets <<<"$sets"
    for set in "${flagsets[@]}"; do
        set=$(trim "$set")
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
            SERVE=()
            [ "$pin" = 1 ] && SERVE=(taskset -c 0)
            if [ "$i" = gort ]; then
                SERVE+=("$GORT_BIN/$gserv" ${sflags[@]+"${sflags[@]}"})
            else
                SERVE+=("$GO_BIN/$goserv" ${sflags[@]+"${sflags[@]}"})
            fi
            run_one "$i" "$cprog" ${envs[@]+"${envs[@]}"} ${cflags[@]+"${cflags[@]}"}
        done
    done
    SERVE=() SERVE_EXTRA="" CLIENT_PIN=()
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
        for entry in "${SERVED[@]}"; do
            run_served "$entry"
        done
    done
    [ "$QUIET_SPENT" -gt 0 ] && echo "# waited $((QUIET_SPENT / 10)) s for an idle machine" >>"$OUT"
    echo >&2
    python3 "$ROOT/bench/summarize.py" "$OUT"
}

main
