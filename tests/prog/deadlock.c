/*
 * deadlock: a helper program for deadlock_test. Each mode builds one
 * situation; in some no goroutine can ever run again and the runtime must
 * end the process with Go's "fatal error: all goroutines are asleep -
 * deadlock!", a goroutine dump and exit status 2; in the others something
 * (a goroutine in a blocking call, a plain thread, a running goroutine)
 * will still finish the wait, and the program must end normally with
 * status 0 and "deadlock: done" on stderr.
 *
 * Usage: deadlock MODE
 *   wg          main waits on a WaitGroup nothing will ever finish (fires)
 *   cycle       main and three goroutines wait on each other (fires)
 *   locked      main locks its thread, then waits forever (fires)
 *   lockedexit  main, locked, waits forever while a goroutine locked to
 *               another thread exits, taking that thread down (fires)
 *   trace       main waits forever while an execution trace is being
 *               written (its writer thread is the runtime's) (fires)
 *   syscall     a goroutine in a 300 ms bracketed call finishes main's wait
 *   block       the same with gort_entersyscall_block
 *   pthreadexit main waits on a WaitGroup while a plain thread lives
 *               for 300 ms and ends without finishing it (fires once the
 *               thread has ended)
 *   pthreadlong the same with a thread that lives 2.6 s, past the point
 *               where the runtime looks only once a second (fires)
 *   pthread     a plain thread finishes main's wait after 300 ms
 *   tracepthread  the same while an execution trace is being written
 *   busy        a goroutine computing for 300 ms finishes main's wait
 *   goexit      main calls gort_goexit while goroutines still run
 */
#include "gort_util.h"

static gort_waitgroup never;
static gort_waitgroup wgs[4];
static gort_waitgroup done_wg;

static int run_wg(void *arg)
{
	(void)arg;
	gort_wg_add(&never, 1);
	gort_wg_wait(&never);
	fprintf(stderr, "deadlock: main woke up\n");
	return 1;
}

/* Goroutine i waits on wgs[i], then would release wgs[(i+1)%4]; main
 * waits on wgs[0]. Nobody starts the chain. */
static void cycle_member(void *arg)
{
	int i = (int)(intptr_t)arg;
	gort_wg_wait(&wgs[i]);
	gort_wg_done(&wgs[(i + 1) % 4]);
}

static int run_cycle(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		gort_wg_add(&wgs[i], 1);
	for (int i = 1; i < 4; i++)
		if (gort_go(cycle_member, (void *)(intptr_t)i) < 0)
			return 1;
	gort_wg_wait(&wgs[0]);
	fprintf(stderr, "deadlock: main woke up\n");
	return 1;
}

static int run_locked(void *arg)
{
	gort_lock_os_thread();
	return run_wg(arg);
}

static void lock_and_exit(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	/* Computes until every other M sleeps: its exit is the last stop. */
	int64_t end = gort_nanotime() + 100000000LL;
	while (gort_nanotime() < end)
		;
}

/* main holds M0, so the goroutine runs on another M, whose thread ends
 * with it: the last M to stop is one that exits, and its thread is still
 * there when it looks for a deadlock (Go's mexit calls checkdead). */
static int run_lockedexit(void *arg)
{
	gort_lock_os_thread();
	if (gort_go(lock_and_exit, NULL) < 0)
		return 1;
	return run_wg(arg);
}

/* A trace to a file, unlinked at once: a deadlock ends the process
 * with the trace still running, and nothing would remove it. */
static bool start_trace(void)
{
	char path[64];
	snprintf(path, sizeof path, "gort-deadlock-trace-%d", (int)getpid());
	if (gort_trace_start(path) != 0) {
		fprintf(stderr, "deadlock: gort_trace_start: errno %d\n", errno);
		return false;
	}
	unlink(path);
	return true;
}

static int run_trace(void *arg)
{
	if (!start_trace())
		return 1;
	return run_wg(arg);
}

static void in_syscall(void *arg)
{
	int block = (int)(intptr_t)arg;
	if (block)
		gort_entersyscall_block();
	else
		gort_entersyscall();
	harness_sleep_ms(300);
	gort_exitsyscall();
	gort_wg_done(&done_wg);
}

static int run_syscall(void *arg)
{
	gort_wg_add(&done_wg, 1);
	if (gort_go(in_syscall, arg) < 0)
		return 1;
	gort_wg_wait(&done_wg);
	return 0;
}

static void *plain_thread(void *arg)
{
	(void)arg;
	harness_sleep_ms(300);
	gort_wg_done(&done_wg);
	return NULL;
}

static void *idle_thread(void *arg)
{
	harness_sleep_ms((int)(intptr_t)arg);
	fprintf(stderr, "deadlock: thread ends at %lld\n", (long long)harness_now());
	return NULL;
}

/* arg: how long the plain thread lives, in ms. */
static int run_pthreadexit(void *arg)
{
	pthread_t t;
	gort_wg_add(&never, 1);
	if (pthread_create(&t, NULL, idle_thread, arg) != 0 || pthread_detach(t) != 0)
		return 1;
	gort_wg_wait(&never);
	fprintf(stderr, "deadlock: main woke up\n");
	return 1;
}

static int run_pthread(void *arg)
{
	(void)arg;
	pthread_t t;
	gort_wg_add(&done_wg, 1);
	if (pthread_create(&t, NULL, plain_thread, NULL) != 0)
		return 1;
	gort_wg_wait(&done_wg);
	pthread_join(t, NULL);
	return 0;
}

static int run_tracepthread(void *arg)
{
	if (!start_trace())
		return 1;
	int rc = run_pthread(arg);
	if (gort_trace_stop() != 0)
		return 1;
	return rc;
}

static void busy(void *arg)
{
	(void)arg;
	int64_t end = gort_nanotime() + 300000000LL;
	while (gort_nanotime() < end)
		;
	gort_wg_done(&done_wg);
}

static int run_busy(void *arg)
{
	(void)arg;
	gort_wg_add(&done_wg, 1);
	if (gort_go(busy, NULL) < 0)
		return 1;
	gort_wg_wait(&done_wg);
	return 0;
}

static atomic_int worked;

static void worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		gort_entersyscall();
		harness_sleep_ms(1);
		gort_exitsyscall();
		gort_gosched();
	}
	atomic_fetch_add(&worked, 1);
}

static int run_goexit(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		if (gort_go(worker, NULL) < 0)
			return 1;
	gort_goexit();
}

int main(int argc, char **argv)
{
	static const struct prog_mode modes[] = {
		{"wg", run_wg, NULL, false},
		{"cycle", run_cycle, NULL, false},
		{"locked", run_locked, NULL, false},
		{"lockedexit", run_lockedexit, NULL, false},
		{"trace", run_trace, NULL, false},
		{"syscall", run_syscall, (void *)(intptr_t)0, false},
		{"block", run_syscall, (void *)(intptr_t)1, false},
		{"pthreadexit", run_pthreadexit, (void *)(intptr_t)300, false},
		{"pthreadlong", run_pthreadexit, (void *)(intptr_t)2600, false},
		{"pthread", run_pthread, NULL, false},
		{"tracepthread", run_tracepthread, NULL, false},
		{"busy", run_busy, NULL, false},
		{"goexit", run_goexit, NULL, false},
	};
	int rc = run_prog_mode("deadlock", argc, argv, modes,
	                       sizeof modes / sizeof *modes);
	fprintf(stderr, "deadlock: done rc=%d\n", rc);
	return rc;
}
