/*
 * common.h - helpers shared by gort's benchmark programs.
 *
 * Include this header first in every benchmark: it selects the POSIX/GNU
 * feature level before any system header is read. The result line, flag
 * parsing, statistics and process facts are in benchutil.h (shared with the
 * peers); this file adds what needs gort: running a body as the main
 * goroutine, and the CPU kernel of forensics and preemptlat.
 *
 * Result lines carry impl=gort and must match the Go peer's cfg keys, in
 * the Go peer's order.
 */
#ifndef GORT_BENCH_COMMON_H
#define GORT_BENCH_COMMON_H

#define BENCH_IMPL "gort"
#include "benchutil.h"

#include "gort.h"

/* ---------------------------------------------------------------------
 * Running a benchmark body as gort's main goroutine
 * ------------------------------------------------------------------- */

/* Set the number of Ps, run body(arg) as the main goroutine and return its
 * result; a runtime that fails to start ends the process. */
static inline int bench_gort_main(int procs, int (*body)(void *), void *arg)
{
	int rc;
	if (procs > 0)
		gort_gomaxprocs(procs);
	rc = gort_main(body, arg);
	if (rc < 0)
		bench_die("gort_main: %s", strerror(errno));
	return rc;
}

/* ---------------------------------------------------------------------
 * The CPU kernel of forensics and preemptlat
 * ------------------------------------------------------------------- */

/* n steps of a 64-bit LCG, a serial dependency chain (one multiply and one
 * add per step). Not inlined, so that every call does the same work;
 * callers consume the result. */
__attribute__((noinline, unused)) static uint64_t spin(long n, uint64_t x)
{
	long i;
	for (i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

/* spin() iterations per nanosecond, measured on the calling goroutine:
 * double n from 65536 until one call takes 20 ms, then the fastest of
 * five such calls. */
__attribute__((unused)) static double calibrate_spin(void)
{
	long n = 1L << 16;
	uint64_t sink = 0;
	double best = 0;
	int64_t t0;
	int trial;

	for (;;) {
		t0 = bench_now();
		sink += spin(n, sink);
		if (bench_now() - t0 >= 20 * 1000000LL)
			break;
		n *= 2;
	}
	for (trial = 0; trial < 5; trial++) {
		double r;
		int64_t d;
		t0 = bench_now();
		sink += spin(n, sink);
		d = bench_now() - t0;
		r = (double)n / (double)(d > 0 ? d : 1);
		if (r > best)
			best = r;
	}
	if (sink == 42)
		fputs("calibrate_spin: unlikely\n", stderr);
	return best;
}

#endif /* GORT_BENCH_COMMON_H */
