// Package result holds what the Go benchmark programs share: the result line
// and nearest-rank percentiles. Later benchmarks add their helpers here.
package result

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Line prints one result line:
//
//	bench=NAME impl=go cfg=K=V,... value=N unit=U
//
// with the value rounded to 3 decimals.
func Line(bench, cfg string, value float64, unit string) {
	fmt.Printf("bench=%s impl=go cfg=%s value=%.3f unit=%s\n", bench, cfg, value, unit)
}

// PerOp returns d divided by ops, in nanoseconds.
func PerOp(d time.Duration, ops int) float64 {
	return float64(d.Nanoseconds()) / float64(ops)
}

// Rank returns the nearest-rank q-quantile (0 < q <= 1) of xs, which must
// be sorted ascending: xs[ceil(q*n)-1], the index clamped to [0, n-1].
// It returns NaN for an empty slice.
func Rank(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	if i < 0 {
		i = 0
	} else if i >= len(xs) {
		i = len(xs) - 1
	}
	return xs[i]
}

// Summary sorts xs ascending and returns its p50, p99 and maximum.
func Summary(xs []float64) (p50, p99, max float64) {
	sort.Float64s(xs)
	return Rank(xs, 0.50), Rank(xs, 0.99), xs[len(xs)-1]
}
