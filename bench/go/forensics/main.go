// forensics: how long N CPU-bound goroutines take to finish when they are
// all spawned at once.
//
// Each goroutine burns ~10 ms of CPU (100 chunks of ~100 us of a calibrated
// LCG kernel) or, with mode=sleep, sleeps 10 ms, and records its completion
// time measured from the instant just before its go statement; p50/p99/max
// of those times are reported in ms.
//
// Order of work: pre-warm (N goroutines that block on a channel until all
// have started, then released; -warm=false skips it), calibrate spin on the
// main goroutine (double the count from 65536 until a call takes >= 20 ms,
// fastest of 5 such calls -> iterations/ns; chunk = 100 us), burn one
// unit on main as a check (stderr), then spawn the N measured goroutines.
// mode=loop: work*10 x work.Spin(chunk); mode=gosched: runtime.Gosched() after
// every chunk; mode=sleep: time.Sleep(work).
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

const chunkUs = 100

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	n := flag.Int("n", 1000, "goroutines")
	mode := flag.String("mode", "loop", "loop | gosched | sleep")
	workMs := flag.Int("work", 10, "ms of CPU (or of sleep) per goroutine")
	doWarm := flag.Bool("warm", true, "pre-spawn n parked goroutines first")
	flag.Parse()
	switch *mode {
	case "loop", "gosched", "sleep":
	default:
		fmt.Fprintln(os.Stderr, "forensics: -mode must be loop, gosched or sleep")
		os.Exit(1)
	}
	if *n < 1 || *workMs < 1 {
		fmt.Fprintln(os.Stderr, "forensics: -n and -work must be >= 1")
		os.Exit(1)
	}
	runtime.GOMAXPROCS(*procs)
	if *doWarm {
		work.Warm(*n)
	}

	chunks := *workMs * 1000 / chunkUs
	chunkIters := 0
	if *mode != "sleep" {
		chunkIters = int(work.Calibrate() * chunkUs * 1000)
		if chunkIters < 1 {
			chunkIters = 1
		}
		t0 := time.Now()
		var x uint64
		for c := 0; c < chunks; c++ {
			x = work.Spin(chunkIters, x)
		}
		fmt.Fprintf(os.Stderr, "forensics: chunk_iters=%d, one %dms unit measured %.2f ms (x=%d)\n",
			chunkIters, *workMs, work.Ms(time.Since(t0)), x&1)
	}

	spawnAt := make([]time.Time, *n)
	doneAfter := make([]float64, *n)
	sinks := make([]uint64, *n)
	sleep := time.Duration(*workMs) * time.Millisecond
	gosched := *mode == "gosched"
	var wg sync.WaitGroup
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		spawnAt[i] = time.Now()
		go func(i int) {
			if *mode == "sleep" {
				time.Sleep(sleep)
			} else {
				x := uint64(i)
				for c := 0; c < chunks; c++ {
					x = work.Spin(chunkIters, x)
					if gosched {
						runtime.Gosched()
					}
				}
				sinks[i] = x
			}
			doneAfter[i] = work.Ms(time.Since(spawnAt[i]))
			wg.Done()
		}(i)
	}
	wg.Wait()

	var sum uint64
	for _, s := range sinks {
		sum += s
	}
	if sum == 42 {
		fmt.Fprintln(os.Stderr, "forensics: unlikely")
	}
	p50, p99, max := result.Summary(doneAfter)
	cfg := fmt.Sprintf("procs=%d,n=%d,mode=%s,work=%dms", *procs, *n, *mode, *workMs)
	result.Line("forensics", cfg+",metric=p50", p50, "ms")
	result.Line("forensics", cfg+",metric=p99", p99, "ms")
	result.Line("forensics", cfg+",metric=max", max, "ms")
}
