// skynet: a 10-ary tree of goroutines that sum their leaves' ids (the Go
// version of the classic benchmark).
//
// Each inner node makes an unbuffered channel, spawns its 10 children,
// receives 10 values and sends their sum to its parent; a leaf sends its id.
// The value is the time in ms from spawning the root until main receives
// N(N-1)/2.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"time"

	"gortbench/result"
	"gortbench/work"
)

func skynet(c chan int, num, size, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	for i := 0; i < div; i++ {
		go skynet(rc, num+i*(size/div), size/div, div)
	}
	sum := 0
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func main() {
	procs := flag.Int("procs", 2, "GOMAXPROCS")
	n := flag.Int("n", 1000000, "leaves")
	tracefile := flag.String("trace", "", "write an execution trace to this file")
	flag.Parse()
	m := *n
	for m > 1 && m%10 == 0 {
		m /= 10
	}
	if *n < 1 || *n > 1000000000 || m != 1 {
		fmt.Fprintln(os.Stderr, "bench: -n must be a power of 10 in [1, 10^9]")
		os.Exit(1)
	}
	runtime.GOMAXPROCS(*procs)
	c := make(chan int)
	if *tracefile != "" {
		f, err := os.Create(*tracefile)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer f.Close()
	}
	start := time.Now()
	go skynet(c, 0, *n, 10)
	res := <-c
	d := time.Since(start)
	if *tracefile != "" {
		trace.Stop()
	}
	if want := *n * (*n - 1) / 2; res != want {
		fmt.Fprintf(os.Stderr, "bench: result %d want %d\n", res, want)
		os.Exit(1)
	}
	cfg := fmt.Sprintf("procs=%d,n=%d", *procs, *n)
	if *tracefile != "" {
		cfg += ",trace=1"
	}
	result.Line("skynet", cfg, work.Ms(d), "ms")
}
