/*
 * yield (Boost.Fiber peer) - the cost of one switch between two fibers.
 *
 * Two fibers each call boost::this_fiber::yield() N times; the main fiber
 * waits on a wait group. value = elapsed/(2N) in ns/switch. Meant for
 * procs=1 (round_robin on one thread), as gort's and Go's.
 *
 *     yield [-procs 1] [-n N]
 *     bench=yield impl=boost.fiber cfg=procs=P,n=N value=X unit=ns/switch
 */
#include "common.hpp"

using namespace fiberbench;

int main(int argc, char **argv)
{
	long procs = 1, n = 5000000;
	procs_n_flags(argc, argv, &procs, &n, "yields per fiber");
	Scheduler sched((int)procs);
	WaitGroup wg;
	auto yielder = [&] {
		for (long i = 0; i < n; i++)
			boost::this_fiber::yield();
		wg.done();
	};
	wg.add(2);
	int64_t t0 = bench_now();
	go(yielder);
	go(yielder);
	wg.wait();
	int64_t d = bench_now() - t0;
	bench_emit("yield", (double)d / (2.0 * (double)n), "ns/switch",
	           "procs=%ld,n=%ld", procs, n);
	sched.finish();
	return 0;
}
