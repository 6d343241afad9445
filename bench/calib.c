/*
 * calib - what the machine itself costs, measured next to the benchmarks.
 *
 * Not a gort benchmark (impl=machine, gort is not started): a handful of
 * micro-costs that explain the scheduler figures and show how the machine
 * drifts between runs (on a shared VM the host may move the vCPUs apart).
 * bench/run.sh runs it once per round.
 *
 *   metric=syscall   ns per syscall(SYS_getppid), 1,000,000 calls
 *   metric=clock     ns per clock_gettime(CLOCK_MONOTONIC), 1,000,000 calls
 *   metric=pagefault us per first write to a fresh 4 KiB page of a 64 MiB
 *                    private anonymous mapping
 *   procs=P,metric=pipe_rt
 *                    us per 1-byte round trip over two pipes between two
 *                    threads, 20,000 round trips; procs=2 leaves both
 *                    threads free, procs=1 pins both to CPU 0
 *   metric=c2c_rt    ns per round trip of one cache line between two
 *                    spinning threads pinned to CPU 0 and CPU 1, 1,000,000
 *                    round trips (left out on a machine with one CPU)
 *
 *     calib
 *     bench=calib impl=machine cfg=metric=syscall value=X unit=ns
 */
#define BENCH_IMPL "machine"
#include "benchutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
	CALLS = 1000000,
	PIPE_TRIPS = 20000,
	LINE_TRIPS = 1000000,
	FAULT_BYTES = 64 << 20,
	PAGE = 4096,
};

/* Pin the calling thread to one CPU; false when the CPU does not exist. */
static bool pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

static void measure_syscall(void)
{
	int64_t t0 = bench_now();
	int i;
	for (i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	bench_emit("calib", (double)(bench_now() - t0) / CALLS, "ns",
	           "metric=syscall");
}

static void measure_clock(void)
{
	struct timespec ts;
	int64_t t0 = bench_now();
	int i;
	for (i = 0; i < CALLS; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	bench_emit("calib", (double)(bench_now() - t0) / CALLS, "ns",
	           "metric=clock");
}

static void measure_pagefault(void)
{
	volatile char *p;
	int64_t t0;
	size_t off;

	p = mmap(NULL, FAULT_BYTES, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));
	t0 = bench_now();
	for (off = 0; off < FAULT_BYTES; off += PAGE)
		p[off] = 1;
	bench_emit("calib", bench_us(bench_now() - t0) / (FAULT_BYTES / PAGE),
	           "us", "metric=pagefault");
	munmap((void *)p, FAULT_BYTES);
}

/* pipe_rt: the main thread writes a byte to there[1] and reads it back from
 * back[0]; the echo thread reads from there[0] and writes to back[1]. */
struct pipe_pair {
	int there[2], back[2];
	bool pinned;
};

static void *pipe_echo(void *arg)
{
	struct pipe_pair *pp = arg;
	char c;
	int i;

	if (pp->pinned)
		pin_to(0);
	for (i = 0; i < PIPE_TRIPS; i++)
		if (read(pp->there[0], &c, 1) != 1 || write(pp->back[1], &c, 1) != 1)
			bench_die("pipe echo: %s", strerror(errno));
	return NULL;
}

static void measure_pipe(bool pinned)
{
	struct pipe_pair pp = {.pinned = pinned};
	cpu_set_t old;
	pthread_t th;
	int64_t t0, d;
	char c = 'x';
	int i;

	if (pipe(pp.there) != 0 || pipe(pp.back) != 0)
		bench_die("pipe: %s", strerror(errno));
	pthread_getaffinity_np(pthread_self(), sizeof old, &old);
	if (pinned)
		pin_to(0);
	if (pthread_create(&th, NULL, pipe_echo, &pp) != 0)
		bench_die("pthread_create failed");
	t0 = bench_now();
	for (i = 0; i < PIPE_TRIPS; i++)
		if (write(pp.there[1], &c, 1) != 1 || read(pp.back[0], &c, 1) != 1)
			bench_die("pipe: %s", strerror(errno));
	d = bench_now() - t0;
	pthread_join(th, NULL);
	pthread_setaffinity_np(pthread_self(), sizeof old, &old);
	close(pp.there[0]);
	close(pp.there[1]);
	close(pp.back[0]);
	close(pp.back[1]);
	bench_emit("calib", bench_us(d) / PIPE_TRIPS, "us",
	           "procs=%d,metric=pipe_rt", pinned ? 1 : 2);
}

/* c2c_rt: one flag on its own cache line; the main thread (CPU 0) sets it
 * to 1 and spins until the peer (CPU 1) has set it back to 0. */
static _Alignas(64) atomic_int line_flag;

static void *line_peer(void *arg)
{
	int i;
	(void)arg;
	pin_to(1);
	for (i = 0; i < LINE_TRIPS; i++) {
		while (atomic_load_explicit(&line_flag, memory_order_acquire) != 1)
			;
		atomic_store_explicit(&line_flag, 0, memory_order_release);
	}
	return NULL;
}

static void measure_c2c(void)
{
	cpu_set_t old;
	pthread_t th;
	int64_t t0, d;
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fputs("calib: one CPU, no c2c_rt\n", stderr);
		return;
	}
	pthread_getaffinity_np(pthread_self(), sizeof old, &old);
	if (!pin_to(0))
		bench_die("cannot pin to CPU 0");
	if (pthread_create(&th, NULL, line_peer, NULL) != 0)
		bench_die("pthread_create failed");
	t0 = bench_now();
	for (i = 0; i < LINE_TRIPS; i++) {
		atomic_store_explicit(&line_flag, 1, memory_order_release);
		while (atomic_load_explicit(&line_flag, memory_order_acquire) != 0)
			;
	}
	d = bench_now() - t0;
	pthread_join(th, NULL);
	pthread_setaffinity_np(pthread_self(), sizeof old, &old);
	bench_emit("calib", (double)d / LINE_TRIPS, "ns", "metric=c2c_rt");
}

int main(int argc, char **argv)
{
	const struct bench_flag flags[] = {BENCH_FLAG_END};

	bench_flags(argc, argv, flags);
	measure_syscall();
	measure_clock();
	measure_pagefault();
	measure_pipe(false);
	measure_pipe(true);
	measure_c2c();
	return 0;
}
