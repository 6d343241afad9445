/*
 * spawn (Boost.Fiber peer) - the cost of creating, running and ending a
 * fiber.
 *
 * Two rounds in one process, run=cold then run=warm. Each round: add N to a
 * wait group, start the clock, spawn N detached fibers whose whole body is
 * wg.done(), wait for the group; value = elapsed/N in ns/task. The loop
 * runs in a driver fiber (see common.hpp).
 *
 * -dispatch 0 (default): launch::post, Go's semantics. With one thread all
 * N fibers exist before any runs, N stacks touched; the suite runs it at
 * N=100,000 only, since at a million the page faults of 8 GB of stacks
 * dominate. -dispatch 1: launch::dispatch, Boost's fast path (the child
 * runs at once and its stack is recycled); a row of its own, cfg
 * ...,launch=dispatch.
 *
 *     spawn [-procs P] [-n N] [-dispatch 0|1]
 *     bench=spawn impl=boost.fiber cfg=procs=P,n=N,run=cold|warm[,launch=dispatch] value=X unit=ns/task
 */
#include "common.hpp"

using namespace fiberbench;

static int64_t one_round(long n, bool dispatch)
{
	WaitGroup wg;
	int64_t t0;

	wg.add(n);
	t0 = bench_now();
	run_fiber([&] {
		for (long i = 0; i < n; i++) {
			if (dispatch)
				go_dispatch([&wg] { wg.done(); });
			else
				go([&wg] { wg.done(); });
		}
		wg.wait();
	});
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	static const char *const runs[] = {"cold", "warm"};
	long procs = 1, n = 1000000, dispatch = 0;
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &procs, "scheduler threads"},
		{"n", BENCH_FLAG_INT, &n, "fibers per round"},
		{"dispatch", BENCH_FLAG_INT, &dispatch, "1: launch::dispatch"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	check_procs(procs);
	if (n < 1)
		bench_die("-n must be positive");
	Scheduler sched((int)procs);
	for (const char *run : runs) {
		int64_t d = one_round(n, dispatch != 0);
		bench_emit("spawn", (double)d / (double)n, "ns/task",
		           "procs=%ld,n=%ld,run=%s%s", procs, n, run,
		           dispatch ? ",launch=dispatch" : "");
	}
	sched.finish();
	return 0;
}
