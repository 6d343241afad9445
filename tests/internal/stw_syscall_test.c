/*
 * stw_syscall_test.c - a stop-the-world and a goroutine entering a system
 * call at the same moment (p.c: stopTheWorld, syscall.c: entersyscall).
 *
 * The stopper sets sched.gcwaiting and then stops every P it finds in
 * _Psyscall; entersyscall puts its P in _Psyscall and then, if it sees
 * gcwaiting, stops the P itself. One of the two must see the other: if
 * both miss, the stopper counts the P as running, never asks it to stop
 * (it does not run), and the stop lasts as long as the call, or until
 * sysmon, which sleeps deeply while the world stops, retakes the P
 * (minutes).
 *
 * Both look under sched.lock, so once a goroutine in a call holds that
 * lock and finds gcwaiting set, a stopper has been through its look: its
 * P must have been stopped by one side or the other, not still be
 * _Psyscall. The miss needs the two threads in the same few nanoseconds;
 * the case repeats until it is seen or its time is up.
 */
#include "harness.h"

#include "gort_util.h"
#include "runtime.h"

static _Atomic int stop;
static _Atomic long missed, calls, stops;

/* Under sched.lock: a stop began and passed over pp, left _Psyscall. */
static bool passed_over(p *pp)
{
	if (!atomic_load(&sched.gcwaiting) || atomic_load(&pp->status) != _Psyscall)
		return false;
	lock(&sched.lock);
	bool missed = atomic_load(&sched.gcwaiting) &&
	              atomic_load(&pp->status) == _Psyscall;
	unlock(&sched.lock);
	return missed;
}

static void caller(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		gort_entersyscall();
		if (passed_over(getm()->oldp))
			atomic_fetch_add(&missed, 1);
		gort_exitsyscall();
		atomic_fetch_add(&calls, 1);
	}
	atomic_store(&stop, 2);
}

static int stop_main(void *arg)
{
	(void)arg;
	CHECK(gort_go(caller, NULL) > 1);
	/* 5 s: without seq_cst on both sides, 4 runs in 6 failed within
	 * it on a 2-vCPU x86 machine, and every build of the suite runs
	 * the case, so a regression does not go unseen. */
	int64_t end = gort_nanotime() + 5000 * MS;
	/* 3, 2, 3, ...: a value it has already would stop nothing. */
	for (int n = 3; gort_nanotime() < end && !atomic_load(&missed); n ^= 1) {
		CHECK_EQ(gort_gomaxprocs(n), n ^ 1);
		atomic_fetch_add(&stops, 1);
	}
	atomic_store(&stop, 1);
	while (atomic_load(&stop) != 2)
		gort_gosched();
	printf("     %ld stops beside %ld calls\n", (long)atomic_load(&stops),
	       (long)atomic_load(&calls));
	if (atomic_load(&missed))
		FAILF("a stop-the-world passed over a P entering a call: "
		      "neither side stopped it");
	return 0;
}
MAIN_CASE(enter_while_stopping, stop_main, 2)

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"enter_while_stopping", enter_while_stopping},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 60);
	return 0;
}
