// spawn: the cost of creating, running and ending a goroutine.
//
// Two rounds in one process, run=cold then run=warm. Each round adds N to a
// WaitGroup, starts the clock, spawns N goroutines whose whole body is
// wg.Done(), waits, and reports elapsed/N in ns/task.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"

	"gortbench/result"
)

func once(n int) time.Duration {
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	return time.Since(start)
}

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	n := flag.Int("n", 1000000, "goroutines per round")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	for _, run := range []string{"cold", "warm"} {
		d := once(*n)
		cfg := fmt.Sprintf("procs=%d,n=%d,run=%s", *procs, *n, run)
		result.Line("spawn", cfg, result.PerOp(d, *n), "ns/task")
	}
}
