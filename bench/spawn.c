/*
 * spawn - the cost of creating, running and ending a goroutine.
 *
 * Two rounds in one process, run=cold then run=warm (the runtime's free
 * lists and heap already populated). Each round: add N to a wait group,
 * start the clock, spawn N goroutines whose whole body is gort_wg_done(),
 * wait for the group, report elapsed/N in ns/task. The spawning loop runs
 * in the main goroutine, and the spawner keeps running after each
 * gort_go() (the child is only queued), as in Go.
 *
 *     spawn [-procs P] [-n N]
 *     bench=spawn impl=gort cfg=procs=P,n=N,run=cold|warm value=X unit=ns/task
 */
#include "common.h"

struct spawn_args {
	long procs;
	long n;
};

static void child(void *wg)
{
	gort_wg_done(wg);
}

static int64_t one_round(long n)
{
	gort_waitgroup wg = {0};
	int64_t t0;
	long i;

	if (gort_wg_add(&wg, (int)n) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	t0 = bench_now();
	for (i = 0; i < n; i++)
		if (gort_go(child, &wg) < 0)
			bench_die("gort_go (task %ld): %s", i, strerror(errno));
	gort_wg_wait(&wg);
	return bench_now() - t0;
}

static int body(void *arg)
{
	const struct spawn_args *a = arg;
	static const char *const runs[] = {"cold", "warm"};
	size_t r;

	for (r = 0; r < sizeof runs / sizeof runs[0]; r++) {
		int64_t d = one_round(a->n);
		bench_emit("spawn", (double)d / (double)a->n, "ns/task",
		           "procs=%ld,n=%ld,run=%s", a->procs, a->n, runs[r]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct spawn_args a = {.procs = 1, .n = 1000000};
	bench_procs_n(argc, argv, &a.procs, &a.n, "goroutines per round", GORT_MAX_PROCS);
	return bench_gort_main((int)a.procs, body, &a);
}
