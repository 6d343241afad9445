/*
 * syscall_test proves the syscall hand-off (Go's entersyscall,
 * exitsyscall and entersyscallblock, with sysmon's retake):
 *  - at GOMAXPROCS=1, a goroutine blocked 200 ms between
 *    gort_entersyscall and gort_exitsyscall does not stop the others: a
 *    worker goroutine that yields with gort_gosched makes progress during
 *    the call; the same with gort_entersyscall_block;
 *  - the contrast: the same blocking call without the bracket, with
 *    signal preemption off (GODEBUG=asyncpreemptoff=1), lets nothing else
 *    run during the call at GOMAXPROCS=1 (its P is never given away);
 *  - 50 goroutines blocked in bracketed calls at GOMAXPROCS=2 are all in
 *    their calls at the same time (impossible without the hand-off), and
 *    the wave finishes far sooner than 50 calls in a row would; the thread
 *    count stays bounded, and a second wave reuses the threads of the
 *    first (it does not grow the count beyond the first wave's peak plus
 *    a small slack: Ms that leave a call with no P to take park on the
 *    idle list and are reused);
 *  - errno is preserved by gort_entersyscall, gort_entersyscall_block and
 *    gort_exitsyscall, also when exitsyscall finds no P and the goroutine
 *    resumes on another thread, and when gort_exitsyscall honours a
 *    preemption request on its way out;
 *  - outside a goroutine (before gort_main, on a plain thread while the
 *    runtime runs) the three calls are no-ops that keep errno;
 *  - a gort call between the two (a sleep, a channel receive that parks,
 *    a second gort_entersyscall) ends the hand-off there instead of
 *    crashing, and the gort_exitsyscall after it does nothing;
 *  - GOMAXPROCS changes between 1 and 4, without pause for 1.5 s, while
 *    goroutines make short and blocking bracketed calls (some locked to
 *    their threads), run preempt_off regions past two slices (detached
 *    from their Ps) and spin: every call ends with its errno on its
 *    thread, every goroutine finishes;
 *  - Go's TestPreemptionAfterSyscall: at GOMAXPROCS=2, 8 goroutines that
 *    loop on short bracketed calls (10 us, 100 us, 1 ms of busy waiting)
 *    do not keep the main goroutine from running: it yields in a loop for
 *    200 ms, sets their stop flag and collects them within 5 s; also with
 *    asyncpreemptoff=1, where only sysmon's retake and the check at
 *    runtime calls can help.
 *
 * errno is read and written through volatile function pointers in the
 * errno case (read_errno and write_errno, gort_util.h), so that the test
 * sees the errno of the thread it runs on after the call, not that of the
 * thread it ran on before.
 */
#include "gort_util.h"

#include <sys/syscall.h>

static int thread_tid(void)
{
	return (int)syscall(SYS_gettid);
}

/* "Threads:" of /proc/self/status, or -1. */
static int thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	char line[256];
	int n = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "Threads:", 8) == 0) {
			n = atoi(line + 8);
			break;
		}
	}
	fclose(f);
	return n;
}

static void busy_wait_ns(int64_t ns)
{
	int64_t end = harness_now() + ns;
	while (harness_now() < end)
		;
}

/* ---------------------------------------------------------------------
 * One blocked goroutine, one worker, GOMAXPROCS=1.
 * ------------------------------------------------------------------- */

enum { MODE_PLAIN, MODE_SYSCALL, MODE_BLOCK };

static long during;
static gort_waitgroup wg;
static struct yielder worker = {.wg = &wg};

static void blocker(void *arg)
{
	int mode = (int)(intptr_t)arg;
	if (mode == MODE_SYSCALL)
		gort_entersyscall();
	else if (mode == MODE_BLOCK)
		gort_entersyscall_block();
	long before = atomic_load(&worker.count);
	harness_sleep_ms(200);
	long after = atomic_load(&worker.count);
	if (mode != MODE_PLAIN)
		gort_exitsyscall();
	during = after - before;
	atomic_store(&worker.stop, true);
	gort_wg_done(&wg);
}

static int blocked_main(void *arg)
{
	CHECK_EQ(gort_gomaxprocs(0), 1);
	CHECK_EQ(gort_wg_add(&wg, 2), 0);
	CHECK(gort_go(yield_loop, &worker) > 1);
	CHECK(gort_go(blocker, arg) > 1);
	CHECK_EQ(gort_wg_wait(&wg), 0);
	return 0;
}

static void run_blocked(int mode)
{
	run_main(blocked_main, (void *)(intptr_t)mode, 1);
}

static void handoff_entersyscall(void)
{
	run_blocked(MODE_SYSCALL);
	printf("     worker iterations during the 200 ms call: %ld\n", during);
	if (during < 50)
		FAILF("the worker made %ld iterations while the other goroutine "
		      "was in a bracketed 200 ms call at GOMAXPROCS=1: its P was "
		      "not handed off", during);
}

static void handoff_entersyscall_block(void)
{
	run_blocked(MODE_BLOCK);
	printf("     worker iterations during the 200 ms call: %ld\n", during);
	if (during < 50)
		FAILF("the worker made %ld iterations during a 200 ms call "
		      "after gort_entersyscall_block at GOMAXPROCS=1", during);
}

/* Without the bracket, and with signal preemption off (so that no
 * hand-off of a goroutine stuck in C code can happen either), the P stays
 * with the sleeping goroutine: nothing else can run. */
static void no_bracket_blocks_the_p(void)
{
	CHECK_EQ(setenv("GODEBUG", "asyncpreemptoff=1", 1), 0);
	run_blocked(MODE_PLAIN);
	if (during != 0)
		FAILF("the worker made %ld iterations while the only P was held "
		      "by a goroutine in an unbracketed sleep", during);
}

/* ---------------------------------------------------------------------
 * Many sleepers at GOMAXPROCS=2: concurrency, time, threads.
 * ------------------------------------------------------------------- */

#define SLEEPERS 50
#define SLEEP_MS 20

static atomic_int inflight;
static atomic_int max_inflight;
static atomic_int peak_threads;
static atomic_int barrier_timeouts;
static gort_waitgroup sleepers_wg;

static void atomic_max(atomic_int *a, int v)
{
	int cur = atomic_load(a);
	while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

static void sleeper(void *arg)
{
	(void)arg;
	gort_entersyscall();
	int n = atomic_fetch_add(&inflight, 1) + 1;
	atomic_max(&max_inflight, n);
	/* Wait, inside the call, until all sleepers are in theirs: only
	 * hand-offs let 50 goroutines block at once on 2 Ps. */
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(5) * 1e9);
	while (atomic_load(&max_inflight) < SLEEPERS) {
		if (harness_now() > deadline) {
			atomic_fetch_add(&barrier_timeouts, 1);
			break;
		}
		harness_sleep_ms(1);
	}
	atomic_max(&peak_threads, thread_count());
	harness_sleep_ms(SLEEP_MS);
	atomic_fetch_sub(&inflight, 1);
	gort_exitsyscall();
	gort_wg_done(&sleepers_wg);
}

struct wave {
	int64_t elapsed_ns;
	int max_inflight;
	int peak_threads;
	int threads_after;
	int barrier_timeouts;
};

static void run_wave(struct wave *w)
{
	atomic_store(&inflight, 0);
	atomic_store(&max_inflight, 0);
	atomic_store(&peak_threads, 0);
	atomic_store(&barrier_timeouts, 0);
	int64_t t0 = harness_now();
	CHECK_EQ(gort_wg_add(&sleepers_wg, SLEEPERS), 0);
	for (int i = 0; i < SLEEPERS; i++)
		CHECK(gort_go(sleeper, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&sleepers_wg), 0);
	w->elapsed_ns = harness_now() - t0;
	w->max_inflight = atomic_load(&max_inflight);
	w->peak_threads = atomic_load(&peak_threads);
	w->threads_after = thread_count();
	w->barrier_timeouts = atomic_load(&barrier_timeouts);
	printf("     wave: %.1f ms, %d in calls at once, threads peak %d, "
	       "after %d\n",
	       (double)w->elapsed_ns / 1e6, w->max_inflight, w->peak_threads,
	       w->threads_after);
}

static int sleepers_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_gomaxprocs(0), 2);
	int threads_start = thread_count();
	CHECK(threads_start > 0);
	struct wave w1, w2;
	run_wave(&w1);
	run_wave(&w2);
	printf("     threads at start %d\n", threads_start);

	/* All 50 were blocked at once, in both waves. */
	if (w1.barrier_timeouts != 0 || w1.max_inflight != SLEEPERS)
		FAILF("wave 1: only %d of %d goroutines were in their calls at "
		      "once (GOMAXPROCS=2)", w1.max_inflight, SLEEPERS);
	if (w2.barrier_timeouts != 0 || w2.max_inflight != SLEEPERS)
		FAILF("wave 2: only %d of %d goroutines were in their calls at "
		      "once (GOMAXPROCS=2)", w2.max_inflight, SLEEPERS);
	/* 50 calls of 20 ms on 2 Ps without hand-off: 500 ms at best. */
	if (!HARNESS_SANITIZED && !harness_emulated()) {
		int64_t limit = (int64_t)SLEEPERS * SLEEP_MS * 1000000 / 2 * 8 / 10;
		if (w1.elapsed_ns > limit || w2.elapsed_ns > limit)
			FAILF("waves took %.1f and %.1f ms: not concurrent (limit "
			      "%.1f ms)", (double)w1.elapsed_ns / 1e6,
			      (double)w2.elapsed_ns / 1e6, (double)limit / 1e6);
	}
	/* Bounded: one M per blocked goroutine, plus the Ms running the Ps,
	 * sysmon and the main thread. */
	if (w1.peak_threads > threads_start + SLEEPERS + 8)
		FAILF("wave 1 peaked at %d threads (%d at start, %d sleepers)",
		      w1.peak_threads, threads_start, SLEEPERS);
	/* Reused: the second wave finds the first wave's Ms parked. */
	int base = w1.peak_threads > w1.threads_after ? w1.peak_threads
	                                              : w1.threads_after;
	if (w2.peak_threads > base + 4 || w2.threads_after > w1.threads_after + 4)
		FAILF("the second wave grew the threads: wave 1 peak %d, after "
		      "%d; wave 2 peak %d, after %d",
		      w1.peak_threads, w1.threads_after, w2.peak_threads,
		      w2.threads_after);
	return 0;
}

MAIN_CASE(many_sleepers, sleepers_main, 2)

/* ---------------------------------------------------------------------
 * errno.
 * ------------------------------------------------------------------- */

#define ERRNO_ROUNDS 30

static int migrations;
static gort_waitgroup errno_wg;
static struct yielder errno_worker = {.wg = &errno_wg};

static void errno_goroutine(void *arg)
{
	(void)arg;
	for (int i = 0; i < ERRNO_ROUNDS; i++) {
		bool block = i % 3 == 2;
		write_errno(1000 + i);
		if (block)
			gort_entersyscall_block();
		else
			gort_entersyscall();
		if (read_errno() != 1000 + i)
			FAILF("round %d: entersyscall%s changed errno from %d to %d",
			      i, block ? "_block" : "", 1000 + i, read_errno());
		int tid = thread_tid();
		/* Long enough for sysmon to retake the P and give it to the
		 * worker: exitsyscall then finds no P and parks this thread. */
		harness_sleep_ms(5);
		write_errno(2000 + i);
		gort_exitsyscall();
		int e = read_errno();
		int now = thread_tid();
		if (e != 2000 + i)
			FAILF("round %d: errno is %d after exitsyscall, want %d "
			      "(thread %d before, %d after)",
			      i, e, 2000 + i, tid, now);
		if (now != tid)
			migrations++;
	}
	atomic_store(&errno_worker.stop, true);
	gort_wg_done(&errno_wg);
}

static int errno_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&errno_wg, 2), 0);
	CHECK(gort_go(yield_loop, &errno_worker) > 1);
	CHECK(gort_go(errno_goroutine, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&errno_wg), 0);
	/* The main goroutine itself, with nothing else to run. */
	write_errno(4242);
	gort_entersyscall();
	CHECK_EQ(read_errno(), 4242);
	write_errno(4343);
	gort_exitsyscall();
	CHECK_EQ(read_errno(), 4343);
	return 0;
}

static void errno_preserved(void)
{
	run_main(errno_main, NULL, 1);
	printf("     resumed on another thread in %d of %d rounds\n",
	       migrations, ERRNO_ROUNDS);
	/* The P was busy with the worker whenever the call ended, so the
	 * goroutine went through the global queue at least sometimes. */
	if (migrations == 0)
		FAILF("the goroutine never resumed on another thread: the "
		      "exitsyscall slow path was not exercised");
}

/* The same when gort_exitsyscall gets the P back at once but then yields
 * to a preemption request made before the call: a plain blocking call of
 * 15 ms (no signal for a mere request there) ends the time slice, and
 * the request waits for the next runtime call, here gort_exitsyscall.
 * Two goroutines on the other P keep their threads' errno at 777, so a
 * goroutine that resumes on one of them reads 777 unless the call sets
 * its errno again (it read 777 in half of the rounds). */
#define PREEMPT_ERRNO_ROUNDS 40

static atomic_bool errno_spin_stop;
static gort_waitgroup errno_spin_wg;

static void errno_spinner(void *arg)
{
	(void)arg;
	/* Yielding: without signal preemption (sanitizer builds) nothing
	 * else would get their Ps. */
	while (!atomic_load(&errno_spin_stop)) {
		write_errno(777);
		gort_gosched();
	}
	gort_wg_done(&errno_spin_wg);
}

static int errno_preempt_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&errno_spin_wg, 2), 0);
	CHECK(gort_go(errno_spinner, NULL) > 1);
	CHECK(gort_go(errno_spinner, NULL) > 1);
	int bad = 0, first = 0;
	for (int i = 0; i < PREEMPT_ERRNO_ROUNDS; i++) {
		harness_sleep_ms(15);
		gort_entersyscall();
		ssize_t r = read(-1, NULL, 0);
		gort_exitsyscall();
		int e = read_errno();
		if (r != -1 || e != EBADF) {
			if (bad++ == 0)
				first = e;
		}
	}
	atomic_store(&errno_spin_stop, true);
	CHECK_EQ(gort_wg_wait(&errno_spin_wg), 0);
	if (bad != 0)
		FAILF("errno after gort_exitsyscall was not the call's EBADF in "
		      "%d of %d rounds (first: %d)", bad, PREEMPT_ERRNO_ROUNDS, first);
	return 0;
}

MAIN_CASE(errno_preserved_preempted, errno_preempt_main, 2)

/* ---------------------------------------------------------------------
 * Outside a goroutine.
 * ------------------------------------------------------------------- */

static void noop_calls(const char *where)
{
	errno = 77;
	gort_entersyscall();
	if (errno != 77)
		FAILF("%s: entersyscall changed errno", where);
	errno = 78;
	gort_exitsyscall();
	if (errno != 78)
		FAILF("%s: exitsyscall changed errno", where);
	errno = 79;
	gort_entersyscall_block();
	if (errno != 79)
		FAILF("%s: entersyscall_block changed errno", where);
	gort_exitsyscall();
	if (errno != 79)
		FAILF("%s: exitsyscall changed errno", where);
	/* Unbalanced calls are no-ops too. */
	gort_exitsyscall();
	gort_exitsyscall();
	gort_entersyscall();
}

static gort_waitgroup outside_wg;
static atomic_int outside_ran;

static void *plain_thread(void *arg)
{
	(void)arg;
	noop_calls("plain thread");
	gort_wg_done(&outside_wg);
	return NULL;
}

static void count_up(void *arg)
{
	(void)arg;
	atomic_fetch_add(&outside_ran, 1);
	gort_wg_done(&outside_wg);
}

static int outside_main(void *arg)
{
	(void)arg;
	pthread_t t;
	CHECK_EQ(gort_wg_add(&outside_wg, 1), 0);
	CHECK_EQ(pthread_create(&t, NULL, plain_thread, NULL), 0);
	CHECK_EQ(gort_wg_wait(&outside_wg), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	/* The runtime is unharmed. */
	CHECK_EQ(gort_wg_add(&outside_wg, 100), 0);
	for (int i = 0; i < 100; i++)
		CHECK(gort_go(count_up, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&outside_wg), 0);
	CHECK_EQ(atomic_load(&outside_ran), 100);
	return 3;
}

static void outside_goroutine(void)
{
	noop_calls("before gort_main");
	gort_gomaxprocs(2);
	CHECK_EQ(gort_main(outside_main, NULL), 3);
	noop_calls("after gort_main");
}

/* ---------------------------------------------------------------------
 * Go's TestPreemptionAfterSyscall.
 * ------------------------------------------------------------------- */

#define FAKE_SYSCALLERS 8

static atomic_bool fake_stop;
static atomic_long fake_calls;
static gort_waitgroup fake_wg;

static void fake_syscaller(void *arg)
{
	int64_t d = (int64_t)(intptr_t)arg;
	while (!atomic_load(&fake_stop)) {
		gort_entersyscall();
		busy_wait_ns(d);
		gort_exitsyscall();
		atomic_fetch_add(&fake_calls, 1);
	}
	gort_wg_done(&fake_wg);
}

static int fake_main(void *arg)
{
	(void)arg;
	static const int64_t durations[] = {10000, 100000, 1000000};
	for (int k = 0; k < 3; k++) {
		int64_t t0 = harness_now();
		atomic_store(&fake_stop, false);
		atomic_store(&fake_calls, 0);
		CHECK_EQ(gort_wg_add(&fake_wg, FAKE_SYSCALLERS), 0);
		for (int i = 0; i < FAKE_SYSCALLERS; i++)
			CHECK(gort_go(fake_syscaller,
			              (void *)(intptr_t)durations[k]) > 1);
		/* Let them run 200 ms; each pass of this loop needs this
		 * goroutine to be scheduled again, past goroutines that never
		 * yield by themselves. */
		long passes = 0;
		while (harness_now() - t0 < 200000000LL) {
			gort_gosched();
			passes++;
		}
		atomic_store(&fake_stop, true);
		CHECK_EQ(gort_wg_wait(&fake_wg), 0);
		double secs = (double)(harness_now() - t0) / 1e9;
		printf("     calls of %lld us: main done in %.3f s, %ld passes, "
		       "%ld calls\n", (long long)(durations[k] / 1000), secs,
		       passes, atomic_load(&fake_calls));
		if (secs > harness_timeout(5))
			FAILF("main took %.1f s to stop goroutines making %lld us "
			      "calls", secs, (long long)(durations[k] / 1000));
	}
	return 0;
}

MAIN_CASE(preemption_after_syscall, fake_main, 2)

static void preemption_after_syscall_asyncoff(void)
{
	CHECK_EQ(setenv("GODEBUG", "asyncpreemptoff=1", 1), 0);
	run_main(fake_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * A gort call inside the bracket ends the hand-off there: a sleep, a
 * channel receive that parks, a second gort_entersyscall, each at
 * GOMAXPROCS=1 with a helper goroutine that needs the P; the
 * gort_exitsyscall after it does nothing.
 * ------------------------------------------------------------------- */

static void inside_sender(void *arg)
{
	int v = 42;
	CHECK_EQ(gort_chan_send(arg, &v), 0);
	gort_wg_done(&helpers_wg);
}

static int inside_main(void *arg)
{
	(void)arg;
	gort_entersyscall();
	gort_sleep(1 * MS);
	gort_exitsyscall();

	gort_chan *c = make_chan(sizeof(int), 0);
	start_helper(inside_sender, c);
	gort_entersyscall_block();
	int v = 0;
	CHECK_EQ(gort_chan_recv(c, &v), 1); /* parks: the sender needs the P */
	CHECK_EQ(v, 42);
	gort_exitsyscall();
	gort_wg_wait(&helpers_wg);
	gort_chan_free(c);

	gort_entersyscall();
	gort_entersyscall();
	gort_exitsyscall();
	gort_exitsyscall();
	/* The bracket still works after all that. */
	gort_entersyscall();
	busy_wait_ns(1 * MS);
	gort_exitsyscall();
	return 0;
}

MAIN_CASE(gort_calls_inside, inside_main, 1)

/* ---------------------------------------------------------------------
 * GOMAXPROCS changes while Ps are in calls: bracketed calls (short and
 * blocking, with gort_entersyscall and gort_entersyscall_block), callers
 * locked to their threads, goroutines detached from their Ps in
 * preempt_off regions past two slices, and spinners, while main resizes
 * between 1 and 4 Ps without pause. Every call ends, with its errno, on
 * a P of the new count; every goroutine finishes.
 * ------------------------------------------------------------------- */

#define RESIZE_CALLERS 12

static atomic_bool resize_stop;
static atomic_long resize_calls, resize_locked_calls, resize_regions, resize_spins;
static atomic_int resize_bad;
static gort_waitgroup resize_wg;

static void resize_caller(void *arg)
{
	long i = (long)(intptr_t)arg;
	while (!atomic_load(&resize_stop)) {
		if (i & 1)
			gort_entersyscall();
		else
			gort_entersyscall_block();
		write_errno(ENOTTY);
		struct timespec ts = {0, (i % 4) * 25000};
		nanosleep(&ts, NULL);
		write_errno(ENOTTY);
		gort_exitsyscall();
		if (read_errno() != ENOTTY)
			atomic_fetch_add(&resize_bad, 1);
		int procs = gort_gomaxprocs(0);
		if (procs < 1 || procs > 4)
			atomic_fetch_add(&resize_bad, 1);
		atomic_fetch_add(&resize_calls, 1);
		if (++i % 8 == 0)
			gort_gosched();
	}
	gort_wg_done(&resize_wg);
}

static void resize_locked_caller(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	int tid = thread_tid();
	while (!atomic_load(&resize_stop)) {
		gort_entersyscall();
		harness_sleep_ms(1);
		gort_exitsyscall();
		if (thread_tid() != tid)
			atomic_fetch_add(&resize_bad, 1);
		atomic_fetch_add(&resize_locked_calls, 1);
	}
	gort_unlock_os_thread();
	gort_wg_done(&resize_wg);
}

static void resize_region(void *arg)
{
	(void)arg;
	while (!atomic_load(&resize_stop)) {
		gort_preempt_off();
		busy_wait_ns(25 * MS); /* past two slices: detached */
		gort_preempt_on();
		atomic_fetch_add(&resize_regions, 1);
	}
	gort_wg_done(&resize_wg);
}

static void resize_spinner(void *arg)
{
	(void)arg;
	while (!atomic_load(&resize_stop)) {
		for (volatile int k = 0; k < 100000; k++)
			;
		atomic_fetch_add(&resize_spins, 1);
		/* Sanitizer builds have no signal preemption: a stop of the
		 * world waits for a runtime call. */
		if (HARNESS_SANITIZED)
			gort_gosched();
	}
	gort_wg_done(&resize_wg);
}

static int resize_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&resize_wg, RESIZE_CALLERS + 2 + 2 + 2), 0);
	for (int i = 0; i < RESIZE_CALLERS; i++)
		CHECK(gort_go(resize_caller, (void *)(intptr_t)i) > 1);
	for (int i = 0; i < 2; i++) {
		CHECK(gort_go(resize_locked_caller, NULL) > 1);
		CHECK(gort_go(resize_region, NULL) > 1);
		CHECK(gort_go(resize_spinner, NULL) > 1);
	}
	int resizes = 0;
	int64_t end = harness_now() + 1500 * MS;
	while (harness_now() < end) {
		int n = 1 + resizes % 4;
		gort_gomaxprocs(n);
		CHECK_EQ(gort_gomaxprocs(0), n);
		resizes++;
		gort_sleep((resizes % 5) * 200 * US);
	}
	atomic_store(&resize_stop, true);
	CHECK_EQ(gort_wg_wait(&resize_wg), 0);
	printf("     %d resizes; %ld calls, %ld locked calls, %ld regions, "
	       "%ld spins\n", resizes, atomic_load(&resize_calls),
	       atomic_load(&resize_locked_calls), atomic_load(&resize_regions),
	       atomic_load(&resize_spins));
	CHECK_EQ(atomic_load(&resize_bad), 0);
	CHECK(resizes > 4);
	CHECK(atomic_load(&resize_calls) > 0);
	CHECK(atomic_load(&resize_locked_calls) > 0);
	CHECK(atomic_load(&resize_regions) > 0);
	return 0;
}

MAIN_CASE(calls_across_gomaxprocs_changes, resize_main, 2)

int main(void)
{
	RUN_CASE(handoff_entersyscall, 20);
	RUN_CASE(handoff_entersyscall_block, 20);
	RUN_CASE(no_bracket_blocks_the_p, 20);
	RUN_CASE(many_sleepers, 30);
	RUN_CASE(outside_goroutine, 20);
	RUN_CASE(preemption_after_syscall, 40);
	RUN_CASE(preemption_after_syscall_asyncoff, 40);
	RUN_CASE(errno_preserved, 30);
	RUN_CASE(errno_preserved_preempted, 30);
	RUN_CASE(gort_calls_inside, 20);
	RUN_CASE(calls_across_gomaxprocs_changes, 60);
	PASS("syscall_test");
	return 0;
}
