/*
 * common.hpp - what the Boost.Fiber peers share.
 *
 * The Boost.Fiber versions of spawn, yield, pingpong, chanthroughput, skynet
 * and parked do the work of gort's programs (and the Go peers') with
 * Boost.Fiber's scheduler, and print the same result lines with
 * impl=boost.fiber. Flags, result lines and statistics come from
 * ../benchutil.h, as for every program of the suite.
 *
 *  - Scheduler: procs=1 is algo::round_robin on the main thread alone;
 *    procs=P>1 is algo::work_stealing(P) on the main thread plus P-1 helper
 *    threads. A helper thread parks its main fiber on a fiber condition
 *    variable (so that its dispatcher keeps running stolen fibers) until
 *    finish(). work_stealing's constructor waits until all P schedulers
 *    exist, so the helpers start before the main thread installs its own.
 *  - WaitGroup: Go's sync.WaitGroup for fibers (atomic counter; the fiber
 *    that brings it to zero wakes the waiters under the fiber mutex).
 *  - go() spawns a detached fiber with launch::post (Go's semantics: the
 *    child is queued, the spawner keeps running); go_dispatch() with
 *    launch::dispatch (the child runs at once, the spawner resumes when the
 *    child blocks or ends). Every fiber gets an 8 KiB fixedsize_stack: the
 *    default 128 KiB stacks cannot hold a million live fibers.
 *  - run_fiber() runs a body in a detached fiber and waits for it on a
 *    WaitGroup. Boost 1.74 crashes when the thread's main context
 *    dispatches a fiber that ends before detach(), so the spawn loops run
 *    inside such a driver fiber (and fiber::join() from the main context
 *    crashes under round_robin, hence the WaitGroup).
 */
#ifndef GORT_BENCH_BOOST_COMMON_HPP
#define GORT_BENCH_BOOST_COMMON_HPP

#define BENCH_IMPL "boost.fiber"
#include "../benchutil.h"

#include <boost/fiber/all.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace fiberbench {

constexpr std::size_t STACK_SIZE = 8 * 1024;

class Scheduler {
public:
	explicit Scheduler(int procs) : procs_(procs)
	{
		namespace algo = boost::fibers::algo;
		if (procs_ <= 1) {
			boost::fibers::use_scheduling_algorithm<algo::round_robin>();
			return;
		}
		for (int i = 1; i < procs_; i++)
			helpers_.emplace_back([this] {
				boost::fibers::use_scheduling_algorithm<algo::work_stealing>(procs_);
				std::unique_lock<boost::fibers::mutex> lk(mu_);
				cv_.wait(lk, [this] { return done_; });
			});
		boost::fibers::use_scheduling_algorithm<algo::work_stealing>(procs_);
	}
	Scheduler(const Scheduler &) = delete;
	Scheduler &operator=(const Scheduler &) = delete;
	~Scheduler() { finish(); }

	/* Let the helper threads return; call before the process ends. */
	void finish()
	{
		{
			std::unique_lock<boost::fibers::mutex> lk(mu_);
			done_ = true;
		}
		cv_.notify_all();
		for (auto &t : helpers_)
			t.join();
		helpers_.clear();
	}

private:
	int procs_;
	std::vector<std::thread> helpers_;
	boost::fibers::mutex mu_; /* protects done_ */
	boost::fibers::condition_variable cv_;
	bool done_ = false;
};

class WaitGroup {
public:
	void add(long k) { n_.fetch_add(k, std::memory_order_relaxed); }
	void done()
	{
		if (n_.fetch_sub(1, std::memory_order_acq_rel) != 1)
			return;
		std::unique_lock<boost::fibers::mutex> lk(mu_);
		zero_ = true;
		cv_.notify_all();
	}
	void wait()
	{
		std::unique_lock<boost::fibers::mutex> lk(mu_);
		cv_.wait(lk, [this] { return zero_; });
	}

private:
	std::atomic<long> n_{0};
	boost::fibers::mutex mu_; /* protects zero_ */
	boost::fibers::condition_variable cv_;
	bool zero_ = false;
};

inline boost::fibers::fixedsize_stack &stack_allocator()
{
	static boost::fibers::fixedsize_stack alloc{STACK_SIZE};
	return alloc;
}

template <typename F> inline void go(F &&f)
{
	boost::fibers::fiber(boost::fibers::launch::post, std::allocator_arg,
	                     stack_allocator(), std::forward<F>(f))
		.detach();
}

template <typename F> inline void go_dispatch(F &&f)
{
	boost::fibers::fiber(boost::fibers::launch::dispatch, std::allocator_arg,
	                     stack_allocator(), std::forward<F>(f))
		.detach();
}

template <typename F> inline void run_fiber(F &&f)
{
	WaitGroup wg;
	wg.add(1);
	go([&] {
		f();
		wg.done();
	});
	wg.wait();
}

/* -procs as every program checks it. */
inline void check_procs(long procs)
{
	if (procs < 1 || procs > 256)
		bench_die("-procs must be in [1, 256]");
}

/* The flags of a benchmark that has only -procs and -n (benchutil.h). */
inline void procs_n_flags(int argc, char **argv, long *procs, long *n, const char *what)
{
	bench_procs_n(argc, argv, procs, n, what, 256);
}

} // namespace fiberbench

#endif /* GORT_BENCH_BOOST_COMMON_HPP */
