// sleepjitter: how late 1 ms sleeps wake when N goroutines sleep at once.
//
// N goroutines each do k times { t = now; time.Sleep(1ms); record
// now - t - 1ms (us) }. Reported: p50/p99/max of the N*k lateness samples
// (us) and wall, the ms from just before the first spawn until the wait
// group returns. N=10000 asks for 10 million sleeps a second (a saturated
// timer and scheduler; wall is its throughput figure); N=100 measures
// timer precision.
//
// Pre-warm first (as forensics): N goroutines that block on a channel
// until all have started, released, waited for (-warm=false skips it).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"gortbench/result"
	"gortbench/work"
)

const d = time.Millisecond

func main() {
	procs := flag.Int("procs", 2, "GOMAXPROCS")
	n := flag.Int("n", 10000, "goroutines")
	k := flag.Int("k", 20, "sleeps per goroutine")
	doWarm := flag.Bool("warm", true, "pre-spawn n parked goroutines first")
	flag.Parse()
	if *procs < 1 || *n < 1 || *k < 1 {
		fmt.Fprintln(os.Stderr, "sleepjitter: -procs, -n and -k must be >= 1")
		os.Exit(1)
	}
	runtime.GOMAXPROCS(*procs)
	if *doWarm {
		work.Warm(*n)
	}

	samples := make([]float64, *n**k)
	var wg sync.WaitGroup
	wg.Add(*n)
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		go func(out []float64) {
			for j := range out {
				t := time.Now()
				time.Sleep(d)
				out[j] = float64((time.Since(t) - d).Nanoseconds()) / 1e3
			}
			wg.Done()
		}(samples[i**k : (i+1)**k])
	}
	wg.Wait()
	wall := time.Since(t0)

	p50, p99, max := result.Summary(samples)
	cfg := fmt.Sprintf("procs=%d,n=%d,k=%d,d=1ms", *procs, *n, *k)
	result.Line("sleepjitter", cfg+",metric=p50", p50, "us")
	result.Line("sleepjitter", cfg+",metric=p99", p99, "us")
	result.Line("sleepjitter", cfg+",metric=max", max, "us")
	result.Line("sleepjitter", cfg+",metric=wall", float64(wall.Nanoseconds())/1e6, "ms")
}
