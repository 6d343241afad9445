/*
 * spawn (pthread peer) - the cost of creating, running and ending a thread.
 *
 * The OS-thread counterpart of gort's spawn: N times, pthread_create a
 * thread (default attributes) whose whole body is one atomic decrement of
 * a shared counter (the analogue of wg.Done()), then pthread_join it; one
 * thread at a time, since N live threads would be a different benchmark.
 * value = elapsed/N in ns/task; the counter must end at 0.
 *
 * Two rounds in one process, run=cold then run=warm, so that the rows
 * line up with gort's and Go's spawn at the same procs and n (a single
 * round without the run key would match no row of theirs; the cold round
 * is that round). The threads run wherever the kernel puts them; -procs
 * only names the row, and the suite runs it at procs=2, the whole machine.
 *
 *     spawn [-procs P] [-n N]
 *     bench=spawn impl=pthread cfg=procs=P,n=N,run=cold|warm value=X unit=ns/task
 */
#define BENCH_IMPL "pthread"
#include "../benchutil.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_long live;

static void *child(void *arg)
{
	(void)arg;
	atomic_fetch_sub(&live, 1);
	return NULL;
}

static int64_t one_round(long n)
{
	int64_t t0;
	long i;
	int rc;

	atomic_store(&live, n);
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		pthread_t t;
		rc = pthread_create(&t, NULL, child, NULL);
		if (rc != 0)
			bench_die("pthread_create (thread %ld): %s", i, strerror(rc));
		pthread_join(t, NULL);
	}
	if (atomic_load(&live) != 0)
		bench_die("%ld bodies did not run", atomic_load(&live));
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	static const char *const runs[] = {"cold", "warm"};
	long procs = 2, n = 100000;
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &procs, "names the row (CPUs of the machine)"},
		{"n", BENCH_FLAG_INT, &n, "threads per round"},
		BENCH_FLAG_END,
	};
	size_t r;

	bench_flags(argc, argv, flags);
	if (procs < 1 || n < 1)
		bench_die("-procs and -n must be positive");
	for (r = 0; r < sizeof runs / sizeof runs[0]; r++) {
		int64_t d = one_round(n);
		bench_emit("spawn", (double)d / (double)n, "ns/task",
		           "procs=%ld,n=%ld,run=%s", procs, n, runs[r]);
	}
	return 0;
}
