/*
 * deadlock_test proves deadlock detection (Go's checkdead), through the
 * helper program tests/prog/deadlock.c run as a child at GOMAXPROCS=1
 * and 4:
 *  - when no goroutine can ever run again the process prints "fatal
 *    error: all goroutines are asleep - deadlock!", then a goroutine dump
 *    with "goroutine 1 [semacquire]:" (the main goroutine and its wait
 *    reason), and exits with status 2, promptly: main waiting on a
 *    WaitGroup nothing will finish; main and three goroutines waiting on
 *    each other in a cycle (their goroutines are dumped too); main locked
 *    to its thread and waiting forever (Go's TestLockedDeadlock); the
 *    same while a goroutine locked to another thread exits and takes it
 *    down (the last M to stop is one whose thread is ending, as Go's
 *    mexit checks); main waiting forever while an execution trace is
 *    written to a file (the trace's writer thread is the runtime's own,
 *    not a thread that might wake a goroutine; Go reports this deadlock
 *    with its trace reader goroutine asleep too); main waiting forever
 *    beside a plain thread that ends without waking it (reported once
 *    the thread has ended: the runtime looks again after it declined, at
 *    least once a second, so a thread that lives 2.6 s has its deadlock
 *    reported within a second of its end);
 *  - no false report while something can still end the wait: a goroutine
 *    in a 300 ms bracketed call (gort_entersyscall and
 *    gort_entersyscall_block), a plain thread that is no goroutine (also
 *    while a trace's writer thread runs: it does not hide the plain one), a
 *    goroutine computing for 300 ms, or goroutines still running after
 *    main called gort_goexit (gort_main then returns 0): the program
 *    ends normally with status 0;
 *  - with GODEBUG=scheddetail=1 the detailed scheduler report comes
 *    between the message and the dump (Go's startpanic_m), and without
 *    it there is none.
 */
#include "harness.h"

static struct child_result res;

static const char *const fire_modes[] = {"wg", "cycle", "locked",
                                         "lockedexit", "trace", "pthreadexit"};
static const char *const quiet_modes[] = {"syscall", "block", "pthread",
                                          "tracepthread", "busy", "goexit"};

static void run_mode(const char *mode, const char *procs, double timeout)
{
	char arg[32];
	snprintf(arg, sizeof arg, "%s", mode);
	char *argv[] = {NULL, arg, NULL};
	CHECK_EQ(setenv("GOMAXPROCS", procs, 1), 0);
	run_child_prog("deadlock", argv, harness_timeout(timeout), &res);
}

static void must_fire(const char *mode, const char *procs)
{
	int64_t t0 = harness_now();
	run_mode(mode, procs, 20);
	double secs = (double)(harness_now() - t0) / 1e9;
	bool ok = harness_deadlocked(&res, "semacquire") &&
	          strstr(res.output, "deadlock: main woke up") == NULL &&
	          strstr(res.output, "deadlock: done") == NULL;
	if (!ok) {
		harness_describe(mode, &res);
		FAILF("deadlock %s (GOMAXPROCS=%s): want exit status 2, \"fatal "
		      "error: all goroutines are asleep - deadlock!\" and "
		      "\"goroutine 1 [semacquire\" on stderr", mode, procs);
	}
	/* The message comes first, then the dump; without GODEBUG no
	 * scheduler report. */
	CHECK(strstr(res.output, "fatal error: all goroutines are asleep") <
	      strstr(res.output, "goroutine 1 ["));
	CHECK(strstr(res.output, "SCHED ") == NULL);
	if (strcmp(mode, "cycle") == 0) {
		/* Every goroutine of the cycle is asleep and dumped. */
		int headers = 0;
		for (const char *p = strstr(res.output, "\ngoroutine "); p;
		     p = strstr(p + 1, "\ngoroutine "))
			headers++;
		if (headers < 4) {
			harness_describe(mode, &res);
			FAILF("deadlock cycle: %d goroutines in the dump, want "
			      "the 4 that wait", headers);
		}
	}
	if (strcmp(mode, "locked") == 0 &&
	    strstr(res.output, "locked to thread") == NULL)
		printf("     note: the dump does not say \"locked to thread\"\n");
	if (secs > harness_timeout(5)) {
		harness_describe(mode, &res);
		FAILF("deadlock %s reported only after %.1f s", mode, secs);
	}
	printf("ok   deadlock %s GOMAXPROCS=%s (%.2f s)\n", mode, procs, secs);
}

static void must_not_fire(const char *mode, const char *procs)
{
	int64_t t0 = harness_now();
	run_mode(mode, procs, 20);
	double secs = (double)(harness_now() - t0) / 1e9;
	bool ok = !res.timed_out && res.exited && res.status == 0 &&
	          strstr(res.output, "fatal error") == NULL &&
	          strstr(res.output, "deadlock: done rc=0") != NULL;
	if (!ok) {
		harness_describe(mode, &res);
		FAILF("%s (GOMAXPROCS=%s): want a normal end with status 0 and "
		      "no fatal error", mode, procs);
	}
	printf("ok   no deadlock %s GOMAXPROCS=%s (%.2f s)\n", mode, procs,
	       secs);
}

/* With GODEBUG=scheddetail=1 (or schedtrace) the report has the
 * detailed scheduler report between its message and the dump, as Go's
 * startpanic_m prints it: the state the scheduler died in. */
static void must_fire_detail(void)
{
	CHECK_EQ(setenv("GODEBUG", "scheddetail=1", 1), 0);
	run_mode("wg", "2", 20);
	CHECK_EQ(unsetenv("GODEBUG"), 0);
	const char *msg = strstr(res.output, "fatal error: all goroutines are asleep");
	const char *sched = msg ? strstr(msg, "\nSCHED ") : NULL;
	const char *detail = sched ? strstr(sched, " gcwaiting=") : NULL;
	const char *g1 = detail ? strstr(detail, "  G1: status=4(semacquire)") : NULL;
	const char *dump = g1 ? strstr(g1, "goroutine 1 [semacquire") : NULL;
	if (!harness_deadlocked(&res, "semacquire") || !dump) {
		harness_describe("wg scheddetail=1", &res);
		FAILF("deadlock with GODEBUG=scheddetail=1: want the message, then "
		      "the detailed SCHED report (with \"  G1: status=4(semacquire)\"), "
		      "then the dump");
	}
	printf("ok   deadlock wg GODEBUG=scheddetail=1\n");
}

/* A plain thread that lives 2.6 s: by then the runtime looks again once
 * a second (10 ms doubling, capped at 1 s: looks at 1.27, 2.27 and
 * 3.27 s), so the report comes within a second of the thread's end. An
 * interval that doubled past the cap (1.28 s: looks at 2.55 and 3.83 s)
 * reported it 1.2 s late. The child says when the thread ended (the
 * monotonic clock is the machine's); its end is the report's, give or
 * take the dump, which takes a second of its own under a sanitizer. */
static void must_fire_within_a_second(void)
{
	must_fire("pthreadlong", "1");
	int64_t end = harness_now();
	static const char said[] = "deadlock: thread ends at ";
	const char *s = strstr(res.output, said);
	CHECK(s != NULL);
	int64_t ended = strtoll(s + strlen(said), NULL, 10);
	double late = (double)(end - ended) / 1e9;
	if (HARNESS_SANITIZED) {
		/* The goroutine dump alone takes about a second there. */
		printf("     note: pthreadlong reported and dumped %.2f s after "
		       "the thread ended (not bounded under a sanitizer)\n", late);
		return;
	}
	if (late > 1.0)
		FAILF("deadlock pthreadlong: reported %.2f s after the plain "
		      "thread ended, want a second at most", late);
	printf("ok   deadlock pthreadlong reported %.2f s after the thread ended\n", late);
}

int main(void)
{
	static const char *const procs[] = {"1", "4"};
	CHECK_EQ(unsetenv("GODEBUG"), 0);
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < sizeof fire_modes / sizeof *fire_modes; i++)
			must_fire(fire_modes[i], procs[p]);
		for (size_t i = 0; i < sizeof quiet_modes / sizeof *quiet_modes; i++)
			must_not_fire(quiet_modes[i], procs[p]);
	}
	must_fire_detail();
	must_fire_within_a_second();
	PASS("deadlock_test");
	return 0;
}
