// Package work holds the work the benchmarks share: the LCG CPU kernel,
// its calibration, and the goroutine pre-warm.
package work

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Spin runs n steps of a 64-bit LCG (a serial multiply-add chain) from x.
//
//go:noinline
func Spin(n int, x uint64) uint64 {
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// Calibrate returns Spin iterations per nanosecond on the calling
// goroutine: n doubles from 65536 until one call takes 20 ms, then the
// fastest of five such calls.
func Calibrate() float64 {
	n := 1 << 16
	var sink uint64
	for {
		t0 := time.Now()
		sink += Spin(n, sink)
		if time.Since(t0) >= 20*time.Millisecond {
			break
		}
		n *= 2
	}
	best := 0.0
	for trial := 0; trial < 5; trial++ {
		t0 := time.Now()
		sink += Spin(n, sink)
		d := time.Since(t0).Nanoseconds()
		if d < 1 {
			d = 1
		}
		if r := float64(n) / float64(d); r > best {
			best = r
		}
	}
	if sink == 42 {
		fmt.Fprintln(os.Stderr, "calibrate: unlikely")
	}
	return best
}

// Warm starts n goroutines that block until all have started, releases
// them and waits for them to exit, so that later spawns reuse their memory.
func Warm(n int) {
	gate := make(chan struct{})
	var started, exited sync.WaitGroup
	started.Add(n)
	exited.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-gate
			exited.Done()
		}()
	}
	started.Wait()
	close(gate)
	exited.Wait()
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
