#!/usr/bin/env bash
# wrk.sh - HTTP load with wrk, reported as benchmark result lines.
#
# Measures the requests per second and the latency (p50, p99, max) that an
# HTTP server sustains under wrk's closed-loop load: CONNS keep-alive
# connections spread over THREADS wrk threads, each with one request in
# flight. It is the client half of the http_hello benchmark (servers:
# bench/http_hello.c for gort, bench/go/http_hello for Go's net/http) and
# takes the load generator's flags, so that bench/run.sh runs it the way it
# runs bench/loadgen against the echo servers:
#
#     wrk.sh -a HOST:PORT [-i IMPL] [-x EXTRA_CFG] [-b NAME=http_hello]
#            [-t THREADS=2] [-c CONNS=100] [-d SECONDS=5] [-w WARMUP=1]
#
# A warm-up run of WARMUP seconds (not counted; skipped when 0) precedes
# the measured run of SECONDS, both GET http://HOST:PORT/. The figures
# come from wrk's own statistics through a Lua done() hook (exact counts
# instead of the rounded text of --latency, whose table still goes to
# stderr): rps = requests / the run's duration (wrk's Requests/sec),
# latency percentiles in microseconds as wrk computes them (its
# histogram has 1 us buckets; the rank is nearest-rank). Output:
#
#     bench=NAME impl=IMPL cfg=conns=C,threads=T,dur=Ds[,EXTRA],metric=rps value=N unit=req/s
#     ... metric=p50, metric=p99, metric=max (unit=us)
#
# Exit status 1 when wrk fails or reports any error (connect, read, write,
# timeout, or a status other than 2xx/3xx).
set -uo pipefail

addr="" impl=unknown extra="" name=http_hello threads=2 conns=100 dur=5 warm=1
while [ $# -gt 0 ]; do
    case $1 in
    -a) addr=$2 ;;
    -i) impl=$2 ;;
    -x) extra=$2 ;;
    -b) name=$2 ;;
    -t) threads=$2 ;;
    -c) conns=$2 ;;
    -d) dur=$2 ;;
    -w) warm=$2 ;;
    *)
        echo "usage: $0 -a HOST:PORT [-i IMPL] [-x EXTRA] [-b NAME] [-t THREADS] [-c CONNS] [-d SECONDS] [-w WARMUP]" >&2
        exit 2
        ;;
    esac
    [ $# -ge 2 ] || { echo "wrk.sh: $1 needs a value" >&2; exit 2; }
    shift 2
done
[ -n "$addr" ] || { echo "wrk.sh: need -a HOST:PORT" >&2; exit 2; }
command -v wrk >/dev/null 2>&1 || { echo "wrk.sh: wrk not installed" >&2; exit 1; }

lua=$(mktemp --tmpdir wrk.XXXXXX.lua) || exit 1
trap 'rm -f "$lua"' EXIT
cat >"$lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50=%d p99=%d max=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
LUA

url="http://$addr/"
if [ "$warm" != 0 ]; then
    wrk -t "$threads" -c "$conns" -d "${warm}s" "$url" >/dev/null 2>&1 || {
        echo "wrk.sh: warm-up run failed" >&2
        exit 1
    }
fi
out=$(wrk -t "$threads" -c "$conns" -d "${dur}s" --latency -s "$lua" "$url" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -v '^WRK ' >&2
if [ $rc -ne 0 ]; then
    echo "wrk.sh: wrk exited with status $rc" >&2
    exit 1
fi
line=$(printf '%s\n' "$out" | grep '^WRK ')
[ -n "$line" ] || { echo "wrk.sh: no statistics from wrk" >&2; exit 1; }

cfg="conns=$conns,threads=$threads,dur=${dur}s${extra:+,$extra}"
printf '%s\n' "$line" | awk -v b="$name" -v i="$impl" -v cfg="$cfg" '
{
    for (k = 2; k <= NF; k++) { split($k, kv, "="); v[kv[1]] = kv[2] }
    errs = v["connect"] + v["read"] + v["write"] + v["status"] + v["timeout"]
    if (errs > 0 || v["requests"] == 0 || v["duration_us"] == 0) {
        printf "wrk.sh: %d errors (connect %d, read %d, write %d, status %d, timeout %d), %d requests\n",
            errs, v["connect"], v["read"], v["write"], v["status"], v["timeout"], v["requests"] > "/dev/stderr"
        exit 1
    }
    pre = "bench=" b " impl=" i " cfg=" cfg ",metric="
    printf "%srps value=%.3f unit=req/s\n", pre, v["requests"] / (v["duration_us"] / 1e6)
    printf "%sp50 value=%.3f unit=us\n", pre, v["p50"]
    printf "%sp99 value=%.3f unit=us\n", pre, v["p99"]
    printf "%smax value=%.3f unit=us\n", pre, v["max"]
}'
