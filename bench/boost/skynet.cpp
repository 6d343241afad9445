/*
 * skynet (Boost.Fiber peer) - a tree of a million fibers that sum their
 * numbers up through channels.
 *
 * skynet(c, num, size): a leaf (size 1) pushes num on c; an inner node
 * makes a channel rc, spawns 10 children skynet(rc, num + i*size/10,
 * size/10), pops 10 values and pushes their sum on c. The main fiber makes
 * an unbuffered c, starts the clock, spawns skynet(c, 0, N), pops the
 * result, stops the clock and checks N(N-1)/2. value in ms.
 *
 * Default: launch::post and unbuffered channels, Go's semantics. Boost's
 * own benchmark style is a row of its own: -dispatch 1 (children run at
 * once: cfg ...,launch=dispatch) and -buf 16 (buffered_channel(16) per
 * node, so that children never block on their push: cfg ...,chan=buf16).
 *
 *     skynet [-procs P] [-n N] [-dispatch 0|1] [-buf 0|16]
 *     bench=skynet impl=boost.fiber cfg=procs=P,n=N[,launch=dispatch][,chan=bufB] value=X unit=ms
 */
#include "common.hpp"

using namespace fiberbench;

static bool dispatch_children;
static long buffer;

template <typename Chan> Chan make_chan();

template <> boost::fibers::unbuffered_channel<uint64_t> make_chan()
{
	return boost::fibers::unbuffered_channel<uint64_t>();
}

template <> boost::fibers::buffered_channel<uint64_t> make_chan()
{
	return boost::fibers::buffered_channel<uint64_t>((std::size_t)buffer);
}

template <typename Chan>
static void skynet(Chan &c, uint64_t num, uint64_t size)
{
	if (size == 1) {
		c.push(num);
		return;
	}
	Chan rc = make_chan<Chan>();
	const uint64_t step = size / 10;
	for (uint64_t i = 0; i < 10; i++) {
		auto child = [&rc, num, i, step] { skynet(rc, num + i * step, step); };
		if (dispatch_children)
			go_dispatch(child);
		else
			go(child);
	}
	uint64_t sum = 0;
	for (int i = 0; i < 10; i++)
		sum += rc.value_pop();
	c.push(sum);
}

template <typename Chan> static int64_t run(long n)
{
	Chan c = make_chan<Chan>();
	int64_t t0 = bench_now();
	go([&c, n] { skynet(c, 0, (uint64_t)n); });
	uint64_t got = c.value_pop();
	int64_t d = bench_now() - t0;
	uint64_t want = (uint64_t)n * (uint64_t)(n - 1) / 2;
	if (got != want)
		bench_die("sum %" PRIu64 ", want %" PRIu64, got, want);
	return d;
}

int main(int argc, char **argv)
{
	long procs = 2, n = 1000000, dispatch = 0;
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &procs, "scheduler threads"},
		{"n", BENCH_FLAG_INT, &n, "leaves (a power of 10)"},
		{"dispatch", BENCH_FLAG_INT, &dispatch, "1: launch::dispatch"},
		{"buf", BENCH_FLAG_INT, &buffer, "0: unbuffered; B: buffered_channel(B)"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	check_procs(procs);
	long m = n;
	while (m > 1 && m % 10 == 0)
		m /= 10;
	if (n < 1 || m != 1)
		bench_die("-n must be a power of 10");
	if (buffer != 0 && (buffer < 16 || (buffer & (buffer - 1)) != 0))
		bench_die("-buf must be 0 or a power of two >= 16");
	dispatch_children = dispatch != 0;
	Scheduler sched((int)procs);
	int64_t d;
	if (buffer)
		d = run<boost::fibers::buffered_channel<uint64_t>>(n);
	else
		d = run<boost::fibers::unbuffered_channel<uint64_t>>(n);
	char extra[64] = "";
	if (dispatch_children)
		strcat(extra, ",launch=dispatch");
	if (buffer)
		snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
		         ",chan=buf%ld", buffer);
	bench_emit("skynet", bench_ms(d), "ms", "procs=%ld,n=%ld%s", procs, n,
	           extra);
	sched.finish();
	return 0;
}
