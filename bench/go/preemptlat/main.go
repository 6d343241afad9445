// preemptlat: how late a sleeping goroutine wakes while another goroutine
// spins on the only P.
//
// GOMAXPROCS=1. A spinner goroutine runs a loop with no calls in it (an
// inline 64-bit LCG step) for ~2 s of CPU, then sets an atomic done flag.
// A sleeper goroutine loops { t = now; time.Sleep(1ms); record
// now - t - 1ms } until it sees done. The sleeper is spawned last, so it
// is in runnext and runs first once main blocks on the wait group.
// p50/p99/max lateness (ms) and the sample count are reported.
//
// Calibration as in forensics: double the count from 65536 until one call
// of spin takes >= 20 ms, fastest of 5 such calls -> iterations/ns; the
// spinner runs the iterations for -spin ms. Run with
// GODEBUG=asyncpreemptoff=1 to see a purely cooperative scheduler: the
// cfg then says asyncpreempt=off.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gortbench/result"
	"gortbench/work"
)

var sink uint64

// asyncPreemptOff reads GODEBUG as the runtime does (parsedebugvars):
// every asyncpreemptoff=N item in turn, the last whose N is a decimal
// int32 winning ("asyncpreemptoff=1,asyncpreemptoff=0" leaves preemption
// on, "asyncpreemptoff=2" turns it off); non-zero is off.
func asyncPreemptOff() bool {
	off := int64(0)
	for _, field := range strings.Split(os.Getenv("GODEBUG"), ",") {
		const key = "asyncpreemptoff="
		if !strings.HasPrefix(field, key) {
			continue
		}
		v := field[len(key):]
		if strings.HasPrefix(v, "+") {
			continue // the runtime's atoi takes a '-' sign only
		}
		if n, err := strconv.ParseInt(v, 10, 32); err == nil {
			off = n
		}
	}
	return off != 0
}

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	spinMs := flag.Int("spin", 2000, "spinner CPU ms")
	flag.Parse()
	if *procs < 1 || *spinMs < 1 {
		fmt.Fprintln(os.Stderr, "preemptlat: -procs and -spin must be >= 1")
		os.Exit(1)
	}
	runtime.GOMAXPROCS(*procs)
	iters := int(work.Calibrate() * float64(*spinMs) * 1e6)
	if iters < 1 {
		iters = 1
	}

	var done atomic.Bool
	var samples []float64
	var spinDur time.Duration
	var wg sync.WaitGroup
	wg.Add(2)
	t0 := time.Now()
	go func() { // spinner: no calls inside the loop
		x := uint64(12345)
		s := time.Now()
		for i := 0; i < iters; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		spinDur = time.Since(s)
		sink = x
		done.Store(true)
		wg.Done()
	}()
	go func() { // sleeper
		for !done.Load() {
			t := time.Now()
			time.Sleep(time.Millisecond)
			samples = append(samples, work.Ms(time.Since(t)-time.Millisecond))
		}
		wg.Done()
	}()
	wg.Wait()
	fmt.Fprintf(os.Stderr, "preemptlat: spinner loop took %.1f ms wall, total %.1f ms, %d samples (x=%d)\n",
		work.Ms(spinDur), work.Ms(time.Since(t0)), len(samples), sink&1)

	ap := "on"
	if asyncPreemptOff() {
		ap = "off"
	}
	n := float64(len(samples))
	p50, p99, max := result.Summary(samples)
	cfg := fmt.Sprintf("procs=%d,spin=%dms,asyncpreempt=%s", *procs, *spinMs, ap)
	result.Line("preemptlat", cfg+",metric=p50", p50, "ms")
	result.Line("preemptlat", cfg+",metric=p99", p99, "ms")
	result.Line("preemptlat", cfg+",metric=max", max, "ms")
	result.Line("preemptlat", cfg+",metric=samples", n, "count")
}
