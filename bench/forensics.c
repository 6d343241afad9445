/*
 * forensics - how long N CPU-bound goroutines take to finish when they are
 * all spawned at once.
 *
 * Each goroutine burns ~10 ms of CPU (100 chunks of ~100 us of a calibrated
 * LCG kernel) or, with mode=sleep, sleeps 10 ms (gort_sleep), and records
 * its completion time, measured from the instant just before its
 * gort_go(); the program reports p50/p99/max of those times in ms. The shape of that distribution shows how the scheduler shares the
 * Ps: goroutines that run to completion one after the other finish after
 * 10, 20, 30... ms (p50 about half of the N*10ms/P total), goroutines that
 * take turns all finish near the end.
 *
 *   1. Pre-warm: spawn N goroutines that each mark themselves started and
 *      then wait on a gate (a wait group whose counter main drops to 0
 *      once all have started); release them; wait for all to exit. Their
 *      Gs and stacks are then on the free lists, and the measured spawns
 *      reuse them instead of faulting fresh pages (-warm=false to skip).
 *   2. Calibrate spin() on the main goroutine, nothing else runnable:
 *      double the iteration count from 65536 until one call takes >= 20
 *      ms, then take the fastest of 5 such calls -> iterations/ns; one
 *      chunk = the iterations for 100 us. One untimed unit (the work of
 *      one goroutine) is burnt on main as a check; its time goes to stderr
 *      and should read ~10 ms. mode=sleep burns nothing and skips this.
 *   3. For i in 0..N-1: spawnAt[i] = now; spawn goroutine i. Body:
 *      mode=loop: work*10 x spin(chunk); mode=gosched: work*10 x
 *      {spin(chunk); gort_gosched()}; mode=sleep: gort_sleep(work); then
 *      doneAfter[i] = now - spawnAt[i]. Main waits on a wait group and
 *      reports the percentiles (nearest-rank).
 *
 *     forensics [-procs P] [-n N] [-mode loop|gosched|sleep] [-work MS] [-warm=B]
 *     bench=forensics impl=gort cfg=procs=P,n=N,mode=M,work=MSms,metric=p50|p99|max value=X unit=ms
 */
#include "common.h"

#define CHUNK_US 100

struct forensics {
	long procs;
	long n;
	const char *mode;
	long work_ms;
	bool warm;
	bool gosched;
	bool sleep;
	long chunks;      /* work_ms * 1000 / CHUNK_US */
	long chunk_iters; /* spin() iterations in CHUNK_US */
	int64_t *spawn_at;
	double *done_after;
	uint64_t *sinks;
	gort_waitgroup wg;
	/* pre-warm */
	gort_waitgroup started, gate, exited;
};

static struct forensics F = {
	.procs = 1,
	.n = 1000,
	.mode = "loop",
	.work_ms = 10,
	.warm = true,
};

static void warm_task(void *arg)
{
	(void)arg;
	gort_wg_done(&F.started);
	gort_wg_wait(&F.gate);
	gort_wg_done(&F.exited);
}

/* Start n goroutines that block until all have started, release them and
 * wait for them to exit. */
static void warm_goroutines(long n)
{
	long i;

	if (gort_wg_add(&F.started, (int)n) != 0 ||
	    gort_wg_add(&F.exited, (int)n) != 0 || gort_wg_add(&F.gate, 1) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (gort_go(warm_task, NULL) < 0)
			bench_die("gort_go (warm %ld): %s", i, strerror(errno));
	gort_wg_wait(&F.started);
	gort_wg_done(&F.gate);
	gort_wg_wait(&F.exited);
}

static void worker(void *arg)
{
	long i = (long)(intptr_t)arg, c;
	uint64_t x = (uint64_t)i;

	if (F.sleep) {
		gort_sleep((int64_t)F.work_ms * 1000000);
	} else {
		for (c = 0; c < F.chunks; c++) {
			x = spin(F.chunk_iters, x);
			if (F.gosched)
				gort_gosched();
		}
		F.sinks[i] = x;
	}
	F.done_after[i] = bench_ms(bench_now() - F.spawn_at[i]);
	gort_wg_done(&F.wg);
}

static int body(void *arg)
{
	static const char *const metrics[] = {"p50", "p99", "max"};
	double v[3];
	uint64_t x = 0, sum = 0;
	int64_t t0;
	long i, c;
	size_t m;

	(void)arg;
	if (F.warm)
		warm_goroutines(F.n);

	if (!F.sleep) {
		F.chunk_iters = (long)(calibrate_spin() * CHUNK_US * 1000);
		if (F.chunk_iters < 1)
			F.chunk_iters = 1;
		t0 = bench_now();
		for (c = 0; c < F.chunks; c++)
			x = spin(F.chunk_iters, x);
		fprintf(stderr,
		        "forensics: chunk_iters=%ld, one %ldms unit measured "
		        "%.2f ms (x=%d)\n",
		        F.chunk_iters, F.work_ms, bench_ms(bench_now() - t0),
		        (int)(x & 1));
	}

	if (gort_wg_add(&F.wg, (int)F.n) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	for (i = 0; i < F.n; i++) {
		F.spawn_at[i] = bench_now();
		if (gort_go(worker, (void *)(intptr_t)i) < 0)
			bench_die("gort_go (task %ld): %s", i, strerror(errno));
	}
	gort_wg_wait(&F.wg);

	for (i = 0; i < F.n; i++)
		sum += F.sinks[i];
	if (sum == 42)
		fputs("forensics: unlikely\n", stderr);
	bench_summary(F.done_after, (size_t)F.n, &v[0], &v[1], &v[2]);
	for (m = 0; m < 3; m++)
		bench_emit("forensics", v[m], "ms",
		           "procs=%ld,n=%ld,mode=%s,work=%ldms,metric=%s",
		           F.procs, F.n, F.mode, F.work_ms, metrics[m]);
	return 0;
}

int main(int argc, char **argv)
{
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &F.procs, "number of Ps (GOMAXPROCS)"},
		{"n", BENCH_FLAG_INT, &F.n, "goroutines"},
		{"mode", BENCH_FLAG_STR, &F.mode,
		 "loop | gosched | sleep"},
		{"work", BENCH_FLAG_INT, &F.work_ms,
		 "ms of CPU (or of sleep) per goroutine"},
		{"warm", BENCH_FLAG_BOOL, &F.warm,
		 "pre-spawn n parked goroutines first"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	bench_check_procs(F.procs, GORT_MAX_PROCS);
	if (F.n < 1 || F.n > 0x7fffffffL)
		bench_die("-n must be in [1, 2^31-1]");
	if (F.work_ms < 1 || F.work_ms > 1000000)
		bench_die("-work must be in [1, 1000000] (ms)");
	if (!strcmp(F.mode, "loop"))
		F.gosched = false;
	else if (!strcmp(F.mode, "gosched"))
		F.gosched = true;
	else if (!strcmp(F.mode, "sleep"))
		F.sleep = true;
	else
		bench_die("-mode must be loop, gosched or sleep");
	F.chunks = F.work_ms * 1000 / CHUNK_US;

	F.spawn_at = calloc((size_t)F.n, sizeof *F.spawn_at);
	F.done_after = calloc((size_t)F.n, sizeof *F.done_after);
	F.sinks = calloc((size_t)F.n, sizeof *F.sinks);
	if (!F.spawn_at || !F.done_after || !F.sinks)
		bench_die("out of memory");
	return bench_gort_main((int)F.procs, body, NULL);
}
