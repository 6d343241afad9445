/*
 * preempt_pc_test.c - where asynchronous preemption may park a goroutine
 * (preempt.c, "Safe points"): never in the runtime's own code, wherever
 * the runtime was linked, nor in a shared object (libc's, or a library
 * opened by dlopen after the runtime started); always in the program's.
 *
 * This program links the runtime from an archive, as programs linking
 * libgort.a do, so the runtime's code lies inside the program's own text
 * and only its section (gort_text) tells them apart. A goroutine parked
 * inside the runtime may hold the tracer's lock or use its thread's
 * buffers: parked so, it once hung the next stop of the world
 * (trace_test dump_preempted).
 */
#include "harness.h"

#include <dlfcn.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gort_util.h"
#include "runtime.h"

/* A function of the program, not of the runtime. */
__attribute__((noinline)) static int program_code(int x)
{
	return x * 3 + 1;
}

static void want_unsafe(const char *what, uintptr_t pc, bool unsafe)
{
	if (preempt_unsafe_pc(pc) != unsafe)
		FAILF("%s (%#lx): wanted %s", what, (unsigned long)pc,
		      unsafe ? "no preemption there" : "preemptible");
}

static int ranges_main(void *arg)
{
	(void)arg;
	CHECK_EQ(program_code(1), 4);
	want_unsafe("program code", (uintptr_t)program_code, false);
	want_unsafe("program code + 4", (uintptr_t)program_code + 4, false);
	want_unsafe("ranges_main", (uintptr_t)ranges_main, false);

	/* Public and internal functions of the runtime, and an address
	 * inside one. */
	want_unsafe("gort_trace_flight_dump", (uintptr_t)gort_trace_flight_dump, true);
	want_unsafe("gort_trace_flight_dump + 64",
	            (uintptr_t)gort_trace_flight_dump + 64, true);
	want_unsafe("gort_go", (uintptr_t)gort_go, true);
	want_unsafe("gort_chan_make", (uintptr_t)gort_chan_make, true);
	want_unsafe("runqput", (uintptr_t)runqput, true);
	want_unsafe("checkdead", (uintptr_t)checkdead, true);
	want_unsafe("gopreempt", (uintptr_t)gopreempt, true);

	void *libc_malloc = dlsym(RTLD_DEFAULT, "malloc");
	CHECK(libc_malloc != NULL);
	want_unsafe("malloc", (uintptr_t)libc_malloc, true);

	/* Any library: it may be using a lock or its thread's own state. */
	void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
	if (!libm)
		FAILF("dlopen libm.so.6: %s", dlerror());
	void *cos_fn = dlsym(libm, "cos");
	CHECK(cos_fn != NULL);
	want_unsafe("cos, of libm opened after the start", (uintptr_t)cos_fn, true);
	dlclose(libm);
	return 0;
}

MAIN_CASE(ranges, ranges_main, 1)

/*
 * The runtime reads the clock with mlocks raised: the vDSO, where libc
 * reads it, is safe code for the handler, and the flight recorder's dump
 * reads the clock holding the tracer's lock outside any gort_* bracket
 * (parked there, it hung trace_test dump_preempted). This program's
 * clock_gettime stands in for libc's, for the runtime linked into it too,
 * and notes the count of every call made on a goroutine.
 */
static _Atomic int clock_calls, clock_uncounted;

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	if (getg() != NULL) {
		atomic_fetch_add(&clock_calls, 1);
		if (mlocks == 0)
			atomic_fetch_add(&clock_uncounted, 1);
	}
	return (int)syscall(SYS_clock_gettime, clk, ts);
}

static int clock_main(void *arg)
{
	(void)arg;
	atomic_store(&clock_calls, 0);
	atomic_store(&clock_uncounted, 0);
	for (int i = 0; i < 10; i++)
		CHECK(nanotime() > 0);
	int calls = atomic_load(&clock_calls), uncounted = atomic_load(&clock_uncounted);
	CHECK_EQ(calls, 10);
	if (uncounted != 0)
		FAILF("%d of %d clock reads of the runtime on a goroutine had "
		      "mlocks 0", uncounted, calls);
	return 0;
}

MAIN_CASE(clock_read_counted, clock_main, 1)

int main(void)
{
	if (HARNESS_SANITIZED)
		/* Asynchronous preemption is off under the sanitizers: no
		 * ranges. */
		SKIP("ranges", "asynchronous preemption is off in sanitizer builds");
	else
		RUN_CASE(ranges, 30);
	RUN_CASE(clock_read_counted, 30);
	PASS("preempt_pc_test");
}
