/*
 * sleepjitter - how late 1 ms sleeps wake when N goroutines sleep at once.
 *
 * N goroutines each do k times { t = now; gort_sleep(1ms); record
 * now - t - 1ms (us) }. The program reports p50/p99/max of the N*k
 * lateness samples (us, nearest-rank) and wall, the ms from just before
 * the first spawn until the wait group returns.
 *
 * N=10000 asks for 10 million sleeps a second, more than two CPUs can
 * serve: that configuration measures a saturated timer and scheduler
 * (wall is its throughput figure). N=100 measures timer precision.
 *
 *   1. Pre-warm (as forensics): spawn N goroutines that mark themselves
 *      started and wait on a gate until all have started; release them;
 *      wait for all to exit, so that the measured spawns reuse their Gs
 *      and stacks (-warm=false to skip).
 *   2. t0; spawn the N sleepers; wait; wall = now - t0.
 *
 *     sleepjitter [-procs P] [-n N] [-k K] [-warm=B]
 *     bench=sleepjitter impl=gort cfg=procs=P,n=N,k=K,d=1ms,metric=p50|p99|max|wall
 */
#include "common.h"

#define SLEEP_NS 1000000LL /* d=1ms */

struct sleepjitter {
	long procs;
	long n;
	long k;
	bool warm;
	double *samples; /* n*k, goroutine i writes [i*k, i*k+k) */
	gort_waitgroup wg;
	/* pre-warm */
	gort_waitgroup started, gate, exited;
};

static struct sleepjitter S = {
	.procs = 2,
	.n = 10000,
	.k = 20,
	.warm = true,
};

static void warm_task(void *arg)
{
	(void)arg;
	gort_wg_done(&S.started);
	gort_wg_wait(&S.gate);
	gort_wg_done(&S.exited);
}

/* Start n goroutines that block until all have started, release them and
 * wait for them to exit. */
static void warm_goroutines(long n)
{
	long i;

	if (gort_wg_add(&S.started, (int)n) != 0 ||
	    gort_wg_add(&S.exited, (int)n) != 0 || gort_wg_add(&S.gate, 1) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (gort_go(warm_task, NULL) < 0)
			bench_die("gort_go (warm %ld): %s", i, strerror(errno));
	gort_wg_wait(&S.started);
	gort_wg_done(&S.gate);
	gort_wg_wait(&S.exited);
}

static void sleeper(void *arg)
{
	double *out = S.samples + (long)(intptr_t)arg * S.k;
	long j;

	for (j = 0; j < S.k; j++) {
		int64_t t = bench_now();
		gort_sleep(SLEEP_NS);
		out[j] = bench_us(bench_now() - t - SLEEP_NS);
	}
	gort_wg_done(&S.wg);
}

static int body(void *arg)
{
	double p50, p99, max;
	int64_t t0, wall;
	long i;

	(void)arg;
	if (S.warm)
		warm_goroutines(S.n);

	if (gort_wg_add(&S.wg, (int)S.n) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	t0 = bench_now();
	for (i = 0; i < S.n; i++)
		if (gort_go(sleeper, (void *)(intptr_t)i) < 0)
			bench_die("gort_go (task %ld): %s", i, strerror(errno));
	gort_wg_wait(&S.wg);
	wall = bench_now() - t0;

	bench_summary(S.samples, (size_t)(S.n * S.k), &p50, &p99, &max);
#define CFG "procs=%ld,n=%ld,k=%ld,d=1ms,metric="
	bench_emit("sleepjitter", p50, "us", CFG "p50", S.procs, S.n, S.k);
	bench_emit("sleepjitter", p99, "us", CFG "p99", S.procs, S.n, S.k);
	bench_emit("sleepjitter", max, "us", CFG "max", S.procs, S.n, S.k);
	bench_emit("sleepjitter", bench_ms(wall), "ms", CFG "wall", S.procs,
	           S.n, S.k);
#undef CFG
	return 0;
}

int main(int argc, char **argv)
{
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &S.procs, "number of Ps (GOMAXPROCS)"},
		{"n", BENCH_FLAG_INT, &S.n, "goroutines"},
		{"k", BENCH_FLAG_INT, &S.k, "sleeps per goroutine"},
		{"warm", BENCH_FLAG_BOOL, &S.warm,
		 "pre-spawn n parked goroutines first"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	bench_check_procs(S.procs, GORT_MAX_PROCS);
	if (S.n < 1 || S.n > 0x7fffffffL)
		bench_die("-n must be in [1, 2^31-1]");
	if (S.k < 1 || S.k > 1000000 || S.n * S.k > 0x7fffffffL)
		bench_die("-k must be >= 1 and n*k at most 2^31-1");

	S.samples = calloc((size_t)(S.n * S.k), sizeof *S.samples);
	if (!S.samples)
		bench_die("out of memory");
	return bench_gort_main((int)S.procs, body, NULL);
}
