// yield: the cost of one runtime.Gosched() switch.
//
// Two goroutines each call runtime.Gosched() N times while main waits on a
// WaitGroup; the value is elapsed/(2N) in ns/switch.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"

	"gortbench/result"
)

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	n := flag.Int("n", 5000000, "yields per goroutine")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	var wg sync.WaitGroup
	wg.Add(2)
	yielder := func() {
		for i := 0; i < *n; i++ {
			runtime.Gosched()
		}
		wg.Done()
	}
	start := time.Now()
	go yielder()
	go yielder()
	wg.Wait()
	d := time.Since(start)
	cfg := fmt.Sprintf("procs=%d,n=%d", *procs, *n)
	result.Line("yield", cfg, result.PerOp(d, 2**n), "ns/switch")
}
