/*
 * pingpong (Boost.Fiber peer) - the round trip of a value over two
 * unbuffered channels.
 *
 * Channels ping and pong are unbuffered_channel<long>. Fiber A, for i in
 * 0..N-1: push i on ping, pop from pong and check it is i. Fiber B, N
 * times: pop from ping, push it on pong. The main fiber waits on a wait
 * group; the clock runs from before spawning A to the wait's return.
 * value = elapsed/N in ns/roundtrip.
 *
 *     pingpong [-procs P] [-n N]
 *     bench=pingpong impl=boost.fiber cfg=procs=P,n=N value=X unit=ns/roundtrip
 */
#include "common.hpp"

using namespace fiberbench;

int main(int argc, char **argv)
{
	long procs = 1, n = 1000000;
	procs_n_flags(argc, argv, &procs, &n, "round trips");
	Scheduler sched((int)procs);
	boost::fibers::unbuffered_channel<long> ping, pong;
	WaitGroup wg;
	wg.add(2);
	int64_t t0 = bench_now();
	go([&] {
		for (long i = 0; i < n; i++) {
			ping.push(i);
			long v = pong.value_pop();
			if (v != i)
				bench_die("bad value %ld, want %ld", v, i);
		}
		wg.done();
	});
	go([&] {
		for (long i = 0; i < n; i++)
			pong.push(ping.value_pop());
		wg.done();
	});
	wg.wait();
	int64_t d = bench_now() - t0;
	bench_emit("pingpong", (double)d / (double)n, "ns/roundtrip",
	           "procs=%ld,n=%ld", procs, n);
	sched.finish();
	return 0;
}
