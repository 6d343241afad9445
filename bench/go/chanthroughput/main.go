// chanthroughput: items per second through one buffered channel shared by
// several producers and consumers.
//
// C consumers are spawned first, each ranging over the channel and summing
// into its own padded slot; then P producers each send 0..N/P-1. Main waits
// for the producers, closes the channel, waits for the consumers and checks
// the total. The value is elapsed/(P*(N/P)) in ns/item, timed from before
// spawning the consumers.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"gortbench/result"
)

const slotStride = 8 // int64 slots between two consumers' sums: 64 bytes

func main() {
	procs := flag.Int("procs", 2, "GOMAXPROCS")
	n := flag.Int("n", 10000000, "items in total")
	np := flag.Int("p", 4, "producers")
	nc := flag.Int("c", 4, "consumers")
	capacity := flag.Int("cap", 1024, "channel capacity")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	per := *n / *np
	total := per * *np
	ch := make(chan int, *capacity)
	sums := make([]int64, *nc*slotStride)
	var pwg, cwg sync.WaitGroup
	pwg.Add(*np)
	cwg.Add(*nc)
	start := time.Now()
	for c := 0; c < *nc; c++ {
		go func(c int) {
			var s int64
			for v := range ch {
				s += int64(v)
			}
			sums[c*slotStride] = s
			cwg.Done()
		}(c)
	}
	for p := 0; p < *np; p++ {
		go func() {
			for i := 0; i < per; i++ {
				ch <- i
			}
			pwg.Done()
		}()
	}
	pwg.Wait()
	close(ch)
	cwg.Wait()
	d := time.Since(start)
	var s int64
	for c := 0; c < *nc; c++ {
		s += sums[c*slotStride]
	}
	if want := int64(*np) * int64(per) * int64(per-1) / 2; s != want {
		fmt.Fprintf(os.Stderr, "bench: sum %d want %d\n", s, want)
		os.Exit(1)
	}
	cfg := fmt.Sprintf("procs=%d,n=%d,p=%d,c=%d,cap=%d", *procs, total, *np, *nc, *capacity)
	result.Line("chanthroughput", cfg, result.PerOp(d, total), "ns/item")
}
