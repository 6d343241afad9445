/*
 * chanthroughput (Boost.Fiber peer) - items per second through one
 * buffered channel shared by several producers and consumers.
 *
 * One buffered_channel<long> of capacity cap (a power of two; Boost's ring
 * holds at most cap-1 items). c consumers are spawned first, each popping
 * until the channel is closed and summing into its own cache line; then p
 * producers each push 0..n/p-1. The main fiber waits for the producers,
 * closes the channel, waits for the consumers and checks the total. value
 * = elapsed (from before spawning the consumers) / n in ns/item.
 *
 *     chanthroughput [-procs P] [-n N] [-p P] [-c C] [-cap CAP]
 *     bench=chanthroughput impl=boost.fiber cfg=procs=P,n=N,p=P,c=C,cap=CAP value=X unit=ns/item
 */
#include "common.hpp"

using namespace fiberbench;

struct alignas(64) partial_sum {
	long long v = 0;
};

int main(int argc, char **argv)
{
	long procs = 2, n = 10000000, np = 4, nc = 4, cap = 1024;
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &procs, "scheduler threads"},
		{"n", BENCH_FLAG_INT, &n, "items in all"},
		{"p", BENCH_FLAG_INT, &np, "producers"},
		{"c", BENCH_FLAG_INT, &nc, "consumers"},
		{"cap", BENCH_FLAG_INT, &cap, "channel capacity (power of two)"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	check_procs(procs);
	if (np < 1 || nc < 1 || n < np || cap < 2 || (cap & (cap - 1)) != 0)
		bench_die("need -p, -c >= 1, -n >= -p, -cap a power of two >= 2");
	Scheduler sched((int)procs);
	const long per = n / np;
	boost::fibers::buffered_channel<long> ch((std::size_t)cap);
	std::vector<partial_sum> sums((std::size_t)nc);
	WaitGroup producers, consumers;
	producers.add(np);
	consumers.add(nc);
	int64_t t0 = bench_now();
	for (long c = 0; c < nc; c++)
		go([&, c] {
			long long sum = 0;
			long v;
			while (ch.pop(v) == boost::fibers::channel_op_status::success)
				sum += v;
			sums[(std::size_t)c].v = sum;
			consumers.done();
		});
	for (long p = 0; p < np; p++)
		go([&] {
			for (long i = 0; i < per; i++)
				ch.push(i);
			producers.done();
		});
	producers.wait();
	ch.close();
	consumers.wait();
	int64_t d = bench_now() - t0;
	long long total = 0;
	for (const auto &s : sums)
		total += s.v;
	if (total != (long long)np * per * (per - 1) / 2)
		bench_die("bad sum %lld", total);
	bench_emit("chanthroughput", (double)d / (double)(per * np), "ns/item",
	           "procs=%ld,n=%ld,p=%ld,c=%ld,cap=%ld", procs, per * np, np, nc,
	           cap);
	sched.finish();
	return 0;
}
