/*
 * parked (Boost.Fiber peer) - the memory and the start and exit times of N
 * fibers parked on a channel.
 *
 * Read VmRSS (rss0), start the clock, spawn N fibers whose body is
 * started.done(); pop from one shared unbuffered_channel<int> that nobody
 * pushes on; exited.done(). Wait for started: start = ms since the clock
 * started; read VmRSS (rss1). Restart the clock, close the channel (every
 * pop returns "closed"), wait for exited: exit = ms. rss = (rss1-rss0)/N
 * bytes per fiber.
 *
 *     parked [-procs P] [-n N]
 *     bench=parked impl=boost.fiber cfg=procs=P,n=N,metric=rss|start|exit value=X unit=bytes/task|ms
 */
#include "common.hpp"

using namespace fiberbench;

int main(int argc, char **argv)
{
	long procs = 2, n = 1000000;
	procs_n_flags(argc, argv, &procs, &n, "parked fibers");
	Scheduler sched((int)procs);
	boost::fibers::unbuffered_channel<int> ch;
	WaitGroup started, exited;
	started.add(n);
	exited.add(n);
	int64_t rss0 = bench_rss_bytes();
	int64_t t0 = bench_now();
	for (long i = 0; i < n; i++)
		go([&] {
			int v;
			started.done();
			ch.pop(v); /* returns closed */
			exited.done();
		});
	started.wait();
	int64_t start = bench_now() - t0;
	int64_t rss1 = bench_rss_bytes();
	int64_t t1 = bench_now();
	ch.close();
	exited.wait();
	int64_t exit_ = bench_now() - t1;
	bench_emit("parked", (double)(rss1 - rss0) / (double)n, "bytes/task",
	           "procs=%ld,n=%ld,metric=rss", procs, n);
	bench_emit("parked", bench_ms(start), "ms", "procs=%ld,n=%ld,metric=start",
	           procs, n);
	bench_emit("parked", bench_ms(exit_), "ms", "procs=%ld,n=%ld,metric=exit",
	           procs, n);
	sched.finish();
	return 0;
}
