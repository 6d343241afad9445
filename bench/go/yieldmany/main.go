// yieldmany: runtime.Gosched() round-robin over many goroutines.
//
// G goroutines each first park once on a channel, then, released together
// by closing it, call runtime.Gosched() N times each; the value is
// elapsed/(G*N) in ns/switch, timed from the close to the end of the wait.
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
	g := flag.Int("g", 10000, "goroutines")
	n := flag.Int("n", 200, "yields per goroutine")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	var started, done sync.WaitGroup
	start := make(chan struct{})
	started.Add(*g)
	done.Add(*g)
	for i := 0; i < *g; i++ {
		go func() {
			started.Done()
			<-start
			for j := 0; j < *n; j++ {
				runtime.Gosched()
			}
			done.Done()
		}()
	}
	started.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	d := time.Since(t0)
	cfg := fmt.Sprintf("procs=%d,g=%d,n=%d", *procs, *g, *n)
	result.Line("yieldmany", cfg, result.PerOp(d, *g**n), "ns/switch")
}
