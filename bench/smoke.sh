#!/usr/bin/env bash
# smoke.sh BENCH_BIN_DIR - every gort benchmark program runs and prints
# well-formed result lines.
#
# Runs each of gort's programs in BENCH_BIN_DIR (build/bench) with tiny
# parameters (a few seconds in all; the work is nothing like a measurement)
# and checks that it exits 0 and that every line it prints on stdout is
#     bench=NAME impl=gort cfg=K=V,... value=N.NNN unit=U
# with NAME the benchmark's name, and that there is at least one. The
# server benchmarks are started and found through their "LISTEN host:port"
# line; echo is driven by bench's own loadgen for a moment (its result
# lines are checked), http_hello must answer one GET with 200 (its client
# in the suite is wrk).
# The peers (Go, Boost.Fiber, pthread) are not run: bench/run.sh does.
set -u
BIN=${1:?usage: smoke.sh BENCH_BIN_DIR}
fails=0
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

# check NAME FILE: FILE holds only well-formed lines of NAME, at least one
check() {
    if [ ! -s "$2" ]; then
        echo "FAIL $1: no result lines"
        return 1
    fi
    if grep -Ev "^bench=$1 impl=gort cfg=[A-Za-z0-9_]+=[^ ,=]+(,[A-Za-z0-9_]+=[^ ,=]+)* value=-?[0-9]+\.[0-9]{3} unit=[^ ]+\$" "$2" >"$TMP/bad"; then
        echo "FAIL $1: malformed lines:"
        cat "$TMP/bad"
        return 1
    fi
    echo "ok   $1 ($(wc -l <"$2") lines)"
}

# run NAME FLAGS...: run $BIN/NAME with FLAGS (bounded), check its output
run() {
    name=$1
    shift
    if ! timeout 30 "$BIN/$name" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; then
        echo "FAIL $name: exit status $? ($BIN/$name $*)"
        tail -5 "$TMP/$name.err"
        fails=$((fails + 1))
        return
    fi
    check "$name" "$TMP/$name.out" || fails=$((fails + 1))
}

# start_server NAME [FLAGS...]: start the server NAME; sets pid and addr
# (empty when it printed no LISTEN line)
start_server() {
    timeout 30 "$BIN/$1" -procs 1 -life 20s "${@:2}" >"$TMP/$1.srv" 2>"$TMP/$1.err" &
    pid=$!
    addr=""
    for _ in $(seq 100); do
        addr=$(awk '/^LISTEN /{print $2; exit}' "$TMP/$1.srv")
        [ -n "$addr" ] && return
        sleep 0.05
    done
    echo "FAIL $1: no LISTEN line"
    tail -5 "$TMP/$1.err"
    fails=$((fails + 1))
}

stop_server() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

served_echo() {
    start_server echo
    if [ -n "$addr" ]; then
        if timeout 20 "$BIN/loadgen" -a "$addr" -c 2 -s 64 -d 0.3 -w 0 -i gort -x procs=1 >"$TMP/echo.out" 2>>"$TMP/echo.err"; then
            check echo "$TMP/echo.out" || fails=$((fails + 1))
        else
            echo "FAIL echo: loadgen exit status $?"
            tail -5 "$TMP/echo.err"
            fails=$((fails + 1))
        fi
    fi
    stop_server
}

# served_echo_ipv6: -addr takes an IPv6 address as Go's servers do, and
# the LISTEN line names it as Go's does ("[::1]:PORT"); skipped where
# IPv6 loopback is not available.
served_echo_ipv6() {
    if ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
        echo "skip echo -addr [::1]:0 (no IPv6 loopback)"
        return
    fi
    start_server echo -addr "[::1]:0"
    if [ -n "$addr" ]; then
        local port=${addr##*:} got=""
        got=$(timeout 10 bash -c '
            exec 3<>"/dev/tcp/::1/$1" || exit 1
            printf "ping\n" >&3
            head -1 <&3' _ "$port")
        if [ "$addr" = "[::1]:$port" ] && [ "$got" = ping ]; then
            echo "ok   echo -addr [::1]:0 (LISTEN $addr)"
        else
            echo "FAIL echo -addr [::1]:0: LISTEN $addr, echo \"$got\""
            fails=$((fails + 1))
        fi
    fi
    stop_server
}

# preempt_label GODEBUG WANT: preemptlat run with GODEBUG in its
# environment labels its rows asyncpreempt=WANT, reading GODEBUG as the
# runtime does (the last valid asyncpreemptoff setting wins)
preempt_label() {
    local out=$TMP/preemptlat.label
    if ! GODEBUG=$1 timeout 30 "$BIN/preemptlat" -procs 1 -spin 20 >"$out" 2>"$TMP/preemptlat.err"; then
        echo "FAIL preemptlat GODEBUG=$1: exit status $?"
        fails=$((fails + 1))
        return
    fi
    if [ -s "$out" ] && ! grep -qv "asyncpreempt=$2," "$out"; then
        echo "ok   preemptlat GODEBUG=$1 -> asyncpreempt=$2"
    else
        echo "FAIL preemptlat GODEBUG=$1: want asyncpreempt=$2, got:"
        cat "$out"
        fails=$((fails + 1))
    fi
}

served_http() {
    local status=""
    start_server http_hello
    if [ -n "$addr" ]; then
        status=$(timeout 10 bash -c '
            exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
            printf "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >&3
            head -1 <&3' _ "$addr")
        case $status in
        "HTTP/1."[01]" 200"*) echo "ok   http_hello (${status%$'\r'})" ;;
        *)
            echo "FAIL http_hello: GET / answered \"$status\""
            fails=$((fails + 1))
            ;;
        esac
    fi
    stop_server
}

run spawn -procs 2 -n 1000
run yield -procs 1 -n 1000
run yieldmany -procs 2 -g 100 -n 10
run pingpong -procs 2 -n 1000
run chanthroughput -procs 2 -n 4000 -p 4 -c 4 -cap 16
run skynet -procs 2 -n 1000
run parked -procs 2 -n 1000
run forensics -procs 2 -n 10 -mode gosched -work 1
run preemptlat -procs 1 -spin 100
preempt_label asyncpreemptoff=1,asyncpreemptoff=0 on
preempt_label asyncpreemptoff=1x on
preempt_label asyncpreemptoff=0,asyncpreemptoff=2 off
run sleepjitter -procs 2 -n 10 -k 2
served_echo
served_echo_ipv6
served_http

[ "$fails" -eq 0 ] || { echo "$fails benchmark program(s) failed"; exit 1; }
echo "all benchmark programs print well-formed result lines"
