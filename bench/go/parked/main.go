// parked: the memory and time cost of many goroutines blocked at once.
//
// N goroutines each do started.Done() and then block receiving on one
// shared unbuffered chan struct{} that nobody sends on. Reported:
//
//	metric=rss   (VmRSS after started.Wait() - VmRSS before spawning) / N
//	metric=start ms from before the first spawn until started.Wait() returns
//	metric=exit  ms from close(ch) until exited.Wait() returns
//
// VmRSS before spawning is read after runtime.GC() + debug.FreeOSMemory().
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"gortbench/result"
	"gortbench/work"
)

func main() {
	procs := flag.Int("procs", 2, "GOMAXPROCS")
	n := flag.Int("n", 1000000, "goroutines")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ch := make(chan struct{})
	var started, exited sync.WaitGroup
	started.Add(*n)
	exited.Add(*n)
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := result.RSSBytes()
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		go func() {
			started.Done()
			<-ch
			exited.Done()
		}()
	}
	started.Wait()
	dStart := time.Since(t0)
	rss1 := result.RSSBytes()
	t1 := time.Now()
	close(ch)
	exited.Wait()
	dExit := time.Since(t1)
	if rss0 < 0 || rss1 < 0 {
		fmt.Fprintln(os.Stderr, "bench: cannot read VmRSS from /proc/self/status")
		os.Exit(1)
	}
	cfg := fmt.Sprintf("procs=%d,n=%d", *procs, *n)
	result.Line("parked", cfg+",metric=rss", float64(rss1-rss0)/float64(*n), "bytes/task")
	result.Line("parked", cfg+",metric=start", work.Ms(dStart), "ms")
	result.Line("parked", cfg+",metric=exit", work.Ms(dExit), "ms")
}
