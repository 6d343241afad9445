// pingpong: the round trip of a value over two unbuffered channels.
//
// Goroutine A sends i on ping and receives it back from pong, N times;
// goroutine B receives from ping and sends the value on pong. Main waits on
// a WaitGroup; the value is elapsed/N in ns/roundtrip, timed from before
// spawning A.
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

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	n := flag.Int("n", 1000000, "round trips")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ping := make(chan int)
	pong := make(chan int)
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	go func() {
		for i := 0; i < *n; i++ {
			ping <- i
			if v := <-pong; v != i {
				fmt.Fprintf(os.Stderr, "bench: bad value %d, want %d\n", v, i)
				os.Exit(1)
			}
		}
		wg.Done()
	}()
	go func() {
		for i := 0; i < *n; i++ {
			pong <- <-ping
		}
		wg.Done()
	}()
	wg.Wait()
	d := time.Since(start)
	cfg := fmt.Sprintf("procs=%d,n=%d", *procs, *n)
	result.Line("pingpong", cfg, result.PerOp(d, *n), "ns/roundtrip")
}
