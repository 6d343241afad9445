/*
 * lab - "Schedule Forensics", the week-2 GMP lab, on gort.
 *
 * Spawns N goroutines (default 1,000) that each burn W ms of CPU (default
 * 10) in a loop that never yields, and records each one's completion time
 * measured from the instant it was spawned. It does so at GOMAXPROCS=1,
 * 2 and gort_numcpu() (duplicates skipped), each in its own gort_main
 * run, and prints p50/p99/max of the completion times (nearest-rank).
 *
 * The CPU burn is a calibrated spin kernel: the 64-bit LCG
 * x = x*6364136223846793005 + 1442695040888963407 run n times in a
 * function that is not inlined, its result consumed. Calibration doubles
 * n from 65536 until one call takes at least 20 ms, then takes the fastest
 * of 5 trials at that n as the speed.
 *
 * Usage: lab [-n goroutines] [-work-ms ms]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gort.h"

struct lab {
	long n;              /* goroutines */
	double work_ms;      /* CPU burn per goroutine */
	uint64_t iters;      /* spin iterations for work_ms */
	int64_t *spawned;    /* gort_nanotime() before each gort_go */
	int64_t *finished;   /* gort_nanotime() when each one finished */
	gort_waitgroup wg;
};

struct job {
	struct lab *lab;
	long i;
};

static atomic_uint_fast64_t sink; /* consumes every spin result */

/* spin runs the LCG n times and returns its state. */
__attribute__((noinline)) static uint64_t spin(uint64_t n, uint64_t x)
{
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static int64_t time_spin(uint64_t n)
{
	int64_t t0 = gort_nanotime();
	uint64_t x = spin(n, (uint64_t)t0);
	int64_t t1 = gort_nanotime();
	atomic_fetch_add(&sink, x);
	return t1 - t0;
}

/* calibrate returns spin iterations per nanosecond. */
static double calibrate(void)
{
	uint64_t n = 65536;
	while (time_spin(n) < 20 * 1000000LL)
		n *= 2;
	int64_t best = INT64_MAX;
	for (int trial = 0; trial < 5; trial++) {
		int64_t t = time_spin(n);
		if (t < best)
			best = t;
	}
	return (double)n / (double)(best > 0 ? best : 1);
}

static void burn(void *arg)
{
	struct job *j = arg;
	uint64_t x = spin(j->lab->iters, (uint64_t)j->i);
	atomic_fetch_add(&sink, x);
	j->lab->finished[j->i] = gort_nanotime();
	gort_wg_done(&j->lab->wg);
}

static int lab_main(void *arg)
{
	struct lab *lab = arg;
	struct job *jobs = calloc((size_t)lab->n, sizeof(*jobs));
	if (jobs == NULL)
		return 1;
	gort_wg_add(&lab->wg, (int)lab->n);
	for (long i = 0; i < lab->n; i++) {
		jobs[i].lab = lab;
		jobs[i].i = i;
		lab->spawned[i] = gort_nanotime();
		if (gort_go(burn, &jobs[i]) < 0) {
			perror("gort_go");
			exit(1);
		}
	}
	gort_wg_wait(&lab->wg);
	free(jobs);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* nearest_rank returns the p-th percentile of sorted v[0..n). */
static int64_t nearest_rank(const int64_t *v, long n, double p)
{
	long rank = (long)((p / 100.0) * (double)n + 0.999999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static void run_config(struct lab *lab, int procs)
{
	memset(&lab->wg, 0, sizeof(lab->wg));
	gort_gomaxprocs(procs);
	int64_t t0 = gort_nanotime();
	if (gort_main(lab_main, lab) != 0) {
		fprintf(stderr, "lab: gort_main: %s\n", strerror(errno));
		exit(1);
	}
	int64_t wall = gort_nanotime() - t0;
	int64_t *lat = malloc((size_t)lab->n * sizeof(*lat));
	if (lat == NULL)
		exit(1);
	for (long i = 0; i < lab->n; i++)
		lat[i] = lab->finished[i] - lab->spawned[i];
	qsort(lat, (size_t)lab->n, sizeof(*lat), cmp_i64);
	printf("%10d %10.1f %10.1f %10.1f %10.1f %10.1f\n", procs,
	       (double)nearest_rank(lat, lab->n, 50) / 1e6,
	       (double)nearest_rank(lat, lab->n, 99) / 1e6,
	       (double)lat[lab->n - 1] / 1e6,
	       (double)lab->n * lab->work_ms / procs, (double)wall / 1e6);
	fflush(stdout);
	free(lat);
}

static void usage(void)
{
	fprintf(stderr, "usage: lab [-n goroutines] [-work-ms ms]\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct lab *lab)
{
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		char *end;
		if (strcmp(argv[i], "-n") == 0) {
			lab->n = strtol(argv[++i], &end, 10);
			if (*end != '\0' || lab->n < 1 || lab->n > 10000000)
				usage();
		} else if (strcmp(argv[i], "-work-ms") == 0) {
			lab->work_ms = strtod(argv[++i], &end);
			if (*end != '\0' || !(lab->work_ms > 0))
				usage();
		} else {
			usage();
		}
	}
}

int main(int argc, char **argv)
{
	struct lab lab = {.n = 1000, .work_ms = 10};
	parse_args(argc, argv, &lab);
	double per_ns = calibrate();
	lab.iters = (uint64_t)(per_ns * lab.work_ms * 1e6);
	lab.spawned = calloc((size_t)lab.n, sizeof(int64_t));
	lab.finished = calloc((size_t)lab.n, sizeof(int64_t));
	if (lab.spawned == NULL || lab.finished == NULL)
		return 1;

	printf("Schedule Forensics: %ld goroutines x %.1f ms of CPU each "
	       "(spin: %.3f iterations/ns), %d CPUs\n",
	       lab.n, lab.work_ms, per_ns, gort_numcpu());
	printf("completion time from spawn, ms (nearest-rank percentiles)\n");
	printf("%10s %10s %10s %10s %10s %10s\n", "GOMAXPROCS", "p50", "p99",
	       "max", "n*work/P", "wall");
	int configs[3] = {1, 2, gort_numcpu()};
	for (int c = 0; c < 3; c++) {
		bool dup = false;
		for (int k = 0; k < c; k++)
			dup |= configs[k] == configs[c];
		if (!dup)
			run_config(&lab, configs[c]);
	}
	printf("\nThe loop never yields, and 10 ms of work barely exceeds one 10 ms "
	       "time slice,\nso even with preemption each P runs its goroutines "
	       "one after another:\ncompletion grows with queue position, p50 ~ "
	       "n*work/(2P) and max ~ n*work/P;\nat GOMAXPROCS=1 the last "
	       "goroutine waits for all the others (the tail latency).\n");
	free(lab.spawned);
	free(lab.finished);
	return (int)(atomic_load(&sink) == 42); /* consume the results */
}
