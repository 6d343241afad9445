/*
 * lockosthread_test proves gort_lock_os_thread / gort_unlock_os_thread
 * (Go's LockOSThread / UnlockOSThread):
 *  - a locked goroutine runs only on its thread: gettid() stays the same
 *    across gort_gosched, gort_sleep, channel receives (the sender runs
 *    on another thread and readies it), parking in gort_wg_wait, bracketed calls
 *    (gort_entersyscall and gort_entersyscall_block), at GOMAXPROCS=1 and
 *    2; and while it is locked its thread runs no other goroutine: other
 *    goroutines, which run meanwhile, never see that thread id during the
 *    lock window;
 *  - nesting is counted (lock twice, unlock once: still locked), and an
 *    unlock without a lock is a no-op (it does not make the count
 *    negative); a goroutine that exits unlocked leaves its thread alive;
 *  - a goroutine that exits while locked takes its thread with it: the
 *    thread id disappears from /proc/self/task within a bounded wait, and
 *    the runtime keeps working (many goroutines still run, and two run in
 *    parallel at GOMAXPROCS=2, so new Ms are made as needed); and what
 *    the runtime opened for that thread goes with it: 20 such goroutines
 *    that each ran past a slice (so that sysmon read their threads'
 *    /proc files) leave no more fds open than before;
 *  - a goroutine that exits locked to the main thread (the one that
 *    called gort_main) parks that thread instead: the main goroutine goes
 *    on on another thread, no goroutine runs on the main thread any more,
 *    and gort_main still returns its result, on the main thread;
 *  - the main goroutine may lock its thread and return while locked (also
 *    with nested locks): gort_main returns normally and can run again;
 *  - main may return while locked goroutines yield without end, their
 *    Ms handing them over to each other: every run ends normally (no
 *    fatal double wake-up of a locked M that the exit woke already);
 *  - outside a goroutine both calls are no-ops.
 */
#include "gort_util.h"

#include <dirent.h>
#include <sched.h>
#include <sys/syscall.h>

static int tid(void)
{
	return (int)syscall(SYS_gettid);
}

static bool task_exists(int t)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d", t);
	return access(path, F_OK) == 0;
}

/* Sleep without holding a P. */
static void bracketed_sleep_ms(int ms)
{
	gort_entersyscall();
	harness_sleep_ms(ms);
	gort_exitsyscall();
}

/* ---------------------------------------------------------------------
 * The lock window: other goroutines must never run on the locked thread.
 * ------------------------------------------------------------------- */

#define OTHERS 8

static atomic_int locked_tid;
static atomic_long lock_epoch; /* non-zero, and new each time, while locked */
static atomic_long epoch_gen;
static atomic_long violations;
static atomic_int violation_tid;
static atomic_long others_in_window;
static atomic_bool others_stop;
static gort_waitgroup others_wg;
static gort_waitgroup locked_wg;
static gort_waitgroup ping_wg;

/* Runs on whatever thread, and checks it is not the locked one. */
static void check_not_locked_thread(void)
{
	long e1 = atomic_load(&lock_epoch);
	int t = tid();
	int lt = atomic_load(&locked_tid);
	long e2 = atomic_load(&lock_epoch);
	if (e1 != 0 && e1 == e2) {
		atomic_fetch_add(&others_in_window, 1);
		if (t == lt) {
			atomic_fetch_add(&violations, 1);
			atomic_store(&violation_tid, t);
		}
	}
}

static void other(void *arg)
{
	(void)arg;
	long n = 0;
	while (!atomic_load(&others_stop)) {
		check_not_locked_thread();
		if (++n % 32 == 0)
			bracketed_sleep_ms(1);
		gort_gosched();
	}
	gort_wg_done(&others_wg);
}

static void pinger(void *arg)
{
	(void)arg;
	check_not_locked_thread();
	gort_gosched();
	check_not_locked_thread();
	gort_wg_done(&ping_wg);
}

static void open_window(void)
{
	atomic_store(&locked_tid, tid());
	atomic_store(&lock_epoch, atomic_fetch_add(&epoch_gen, 1) + 1);
}

static void close_window(void)
{
	atomic_store(&lock_epoch, 0);
}

#define EXPECT_TID(t0, what)                                               \
	do {                                                               \
		int t_ = tid();                                            \
		if (t_ != (t0))                                            \
			FAILF("locked goroutine moved from thread %d to %d "  \
			      "(%s)", (t0), t_, (what));                      \
	} while (0)

static void chan_sender(void *arg)
{
	int v = 42;
	CHECK_EQ(gort_chan_send(arg, &v), 0);
}

/* The body of a locked goroutine: every way of leaving the CPU. */
static void locked_rounds(int rounds)
{
	int t0 = tid();
	for (int i = 0; i < rounds; i++) {
		gort_gosched();
		EXPECT_TID(t0, "gort_gosched");
		switch (i % 4) {
		case 0: {
			gort_sleep(100 * 1000);
			EXPECT_TID(t0, "gort_sleep");
			gort_chan *c = gort_chan_make(sizeof(int), 0);
			CHECK(c != NULL);
			CHECK(gort_go(chan_sender, c) > 1);
			int v = 0;
			CHECK_EQ(gort_chan_recv(c, &v), 1);
			CHECK_EQ(v, 42);
			EXPECT_TID(t0, "gort_chan_recv");
			gort_chan_free(c);
			break;
		}
		case 1:
			CHECK_EQ(gort_wg_add(&ping_wg, 1), 0);
			CHECK(gort_go(pinger, NULL) > 1);
			CHECK_EQ(gort_wg_wait(&ping_wg), 0);
			EXPECT_TID(t0, "gort_wg_wait");
			break;
		case 2:
			gort_entersyscall();
			harness_sleep_ms(1);
			gort_exitsyscall();
			EXPECT_TID(t0, "gort_entersyscall");
			break;
		case 3:
			gort_entersyscall_block();
			harness_sleep_ms(1);
			gort_exitsyscall();
			EXPECT_TID(t0, "gort_entersyscall_block");
			break;
		}
	}
}

static void locked_goroutine(void *arg)
{
	int rounds = (int)(intptr_t)arg;
	gort_lock_os_thread();
	open_window();
	locked_rounds(rounds);
	close_window();
	gort_unlock_os_thread();
	gort_wg_done(&locked_wg);
}

/* Lock counting: unlock without a lock does nothing; two locks need two
 * unlocks. Exits unlocked: its thread must survive. */
static atomic_int nesting_tid;

static void nesting_goroutine(void *arg)
{
	int rounds = (int)(intptr_t)arg;
	gort_unlock_os_thread(); /* not locked: a no-op */
	gort_lock_os_thread();
	gort_lock_os_thread();
	gort_unlock_os_thread(); /* still locked once */
	open_window();
	locked_rounds(rounds);
	close_window();
	gort_unlock_os_thread(); /* now unlocked */
	gort_unlock_os_thread(); /* a no-op again */
	gort_lock_os_thread();
	open_window();
	locked_rounds(rounds / 4 + 1);
	close_window();
	gort_unlock_os_thread();
	atomic_store(&nesting_tid, tid());
	gort_wg_done(&locked_wg);
}

static int window_main(void *arg)
{
	void (*body)(void *) = arg;
	int rounds = SCALE(200);
	CHECK_EQ(gort_wg_add(&others_wg, OTHERS), 0);
	for (int i = 0; i < OTHERS; i++)
		CHECK(gort_go(other, NULL) > 1);
	CHECK_EQ(gort_wg_add(&locked_wg, 1), 0);
	CHECK(gort_go(body, (void *)(intptr_t)rounds) > 1);
	CHECK_EQ(gort_wg_wait(&locked_wg), 0);
	atomic_store(&others_stop, true);
	CHECK_EQ(gort_wg_wait(&others_wg), 0);
	printf("     others checked %ld times during the lock window\n",
	       atomic_load(&others_in_window));
	if (atomic_load(&violations) != 0)
		FAILF("another goroutine ran %ld times on the locked thread %d",
		      atomic_load(&violations), atomic_load(&violation_tid));
	if (atomic_load(&others_in_window) == 0)
		FAILF("no other goroutine ran while the goroutine was locked");
	return 0;
}

static void locked_stays_procs1(void)
{
	run_main(window_main, (void *)locked_goroutine, 1);
}

static void locked_stays_procs2(void)
{
	run_main(window_main, (void *)locked_goroutine, 2);
}

static void nesting_counted(void)
{
	run_main(window_main, (void *)nesting_goroutine, 2);
}

/* The goroutine that exited unlocked left its thread to the runtime. */
static int unlocked_exit_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&locked_wg, 1), 0);
	CHECK(gort_go(nesting_goroutine, (void *)(intptr_t)SCALE(40)) > 1);
	CHECK_EQ(gort_wg_wait(&locked_wg), 0);
	int t = atomic_load(&nesting_tid);
	CHECK(t > 0);
	bracketed_sleep_ms(300);
	if (!task_exists(t))
		FAILF("thread %d ended although its goroutine exited unlocked "
		      "(lock, lock, unlock, unlock, unlock, lock, unlock)", t);
	return 0;
}

MAIN_CASE(unlocked_exit_keeps_thread, unlocked_exit_main, 2)

/* ---------------------------------------------------------------------
 * Exiting while locked.
 * ------------------------------------------------------------------- */

static atomic_int exit_tid;
static gort_waitgroup exit_wg;

static void exit_locked(void *arg)
{
	int nested = (int)(intptr_t)arg;
	gort_lock_os_thread();
	if (nested)
		gort_lock_os_thread();
	int t = tid();
	atomic_store(&exit_tid, t);
	gort_gosched();
	EXPECT_TID(t, "gort_gosched before exiting");
	gort_wg_done(&exit_wg);
	/* returns locked */
}

static atomic_int arrived;
static atomic_int gave_up;
static gort_waitgroup par_wg;

static void parallel(void *arg)
{
	(void)arg;
	atomic_fetch_add(&arrived, 1);
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
	while (atomic_load(&arrived) < 2) {
		if (harness_now() > deadline) {
			atomic_store(&gave_up, 1);
			break;
		}
	}
	gort_wg_done(&par_wg);
}

static atomic_long counted;

static void count_one(void *arg)
{
	(void)arg;
	atomic_fetch_add(&counted, 1);
	gort_wg_done(&par_wg);
}

static int exit_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_gomaxprocs(0), 2);
	int ended = 0;
	for (int round = 0; round < 12 && ended < 4; round++) {
		atomic_store(&exit_tid, 0);
		CHECK_EQ(gort_wg_add(&exit_wg, 1), 0);
		CHECK(gort_go(exit_locked, (void *)(intptr_t)(round % 2)) > 1);
		/* Keep this P busy so that another M (not the main thread,
		 * which would be parked instead) runs the goroutine. */
		int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
		while (atomic_load(&exit_tid) == 0) {
			if (harness_now() > deadline)
				FAILF("the locked goroutine never started");
			sched_yield();
		}
		CHECK_EQ(gort_wg_wait(&exit_wg), 0);
		int t = atomic_load(&exit_tid);
		if (t == getpid())
			continue; /* landed on the main thread: not this case */
		deadline = harness_now() + (int64_t)(harness_timeout(5) * 1e9);
		while (task_exists(t)) {
			if (harness_now() > deadline)
				FAILF("thread %d still exists 5 s after its goroutine "
				      "exited locked to it", t);
			bracketed_sleep_ms(2);
		}
		ended++;
	}
	printf("     %d threads ended with their locked goroutines\n", ended);
	if (ended < 4)
		FAILF("only %d locked goroutines ran off the main thread", ended);

	/* The runtime goes on: many goroutines, and two at once. */
	CHECK_EQ(gort_wg_add(&par_wg, 200), 0);
	for (int i = 0; i < 200; i++)
		CHECK(gort_go(count_one, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&par_wg), 0);
	CHECK_EQ(atomic_load(&counted), 200);
	CHECK_EQ(gort_wg_add(&par_wg, 2), 0);
	CHECK(gort_go(parallel, NULL) > 1);
	CHECK(gort_go(parallel, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&par_wg), 0);
	if (atomic_load(&gave_up))
		FAILF("two goroutines never ran in parallel at GOMAXPROCS=2 "
		      "after locked threads exited");
	return 0;
}

MAIN_CASE(exit_while_locked_ends_thread, exit_main, 2)

/* A locked goroutine that runs past its slice has its thread looked at by
 * sysmon, which opens the thread's /proc syscall file for that. When the
 * goroutine exits locked the thread ends, and the file must go with it,
 * not stay open until gort_main returns. */
enum { LONG_EXITS = 20 };

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d != NULL);
	int n = 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void run_long_locked(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	int64_t end = harness_now() + 25 * 1000000LL; /* 2.5 slices */
	while (harness_now() < end)
		;
	gort_wg_done(&exit_wg);
	/* returns locked */
}

static int long_exit_main(void *arg)
{
	(void)arg;
	int before = open_fds();
	for (int i = 0; i < LONG_EXITS; i++) {
		CHECK_EQ(gort_wg_add(&exit_wg, 1), 0);
		CHECK(gort_go(run_long_locked, NULL) > 1);
		CHECK_EQ(gort_wg_wait(&exit_wg), 0);
	}
	/* The threads close what they held as they end. */
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(5) * 1e9);
	int grown;
	while ((grown = open_fds() - before) > 3 && harness_now() < deadline)
		bracketed_sleep_ms(2);
	printf("     %d fds more after %d locked exits\n", grown, LONG_EXITS);
	if (grown > 3)
		FAILF("%d more fds open after %d goroutines exited locked: "
		      "their threads' files stayed open", grown, LONG_EXITS);
	return 0;
}

MAIN_CASE(locked_exit_closes_files, long_exit_main, 2)

/* A goroutine exits locked to the main thread: the thread is parked. */
static atomic_int m0_locker_tid;
static atomic_long on_main_thread;
static gort_waitgroup m0_wg;

static void m0_locker(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	atomic_store(&m0_locker_tid, tid());
	gort_wg_done(&m0_wg);
}

static void where_am_i(void *arg)
{
	(void)arg;
	if (tid() == getpid())
		atomic_fetch_add(&on_main_thread, 1);
	gort_gosched();
	if (tid() == getpid())
		atomic_fetch_add(&on_main_thread, 1);
	gort_wg_done(&m0_wg);
}

/* m0_main's result when the locker ran elsewhere: see the case. */
#define M0_MOVED 4

static int m0_main(void *arg)
{
	(void)arg;
	CHECK_EQ(tid(), getpid());
	CHECK_EQ(gort_wg_add(&m0_wg, 1), 0);
	gort_gosched(); /* a fresh time slice for what follows */
	CHECK(gort_go(m0_locker, NULL) > 1);
	/* GOMAXPROCS=1: this thread runs the locker next. */
	CHECK_EQ(gort_wg_wait(&m0_wg), 0);
	if (atomic_load(&m0_locker_tid) != getpid()) {
		gort_stats st;
		CHECK_EQ(gort_read_stats(&st), 0);
		printf("     the locker ran on thread %d, not the main thread "
		       "(%llu hand-offs, %llu preemptions by signal)\n",
		       atomic_load(&m0_locker_tid), (unsigned long long)st.handoffs,
		       (unsigned long long)st.preempt_async);
		return M0_MOVED;
	}
	/* Give the exit time to happen, then look where things run. */
	bracketed_sleep_ms(50);
	if (tid() == getpid())
		FAILF("the main goroutine still runs on the main thread, "
		      "which a goroutine exited locked to");
	CHECK_EQ(gort_wg_add(&m0_wg, 20), 0);
	for (int i = 0; i < 20; i++)
		CHECK(gort_go(where_am_i, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&m0_wg), 0);
	if (atomic_load(&on_main_thread) != 0)
		FAILF("%ld goroutines ran on the parked main thread",
		      atomic_load(&on_main_thread));
	return 5;
}

static int plain_main(void *arg)
{
	(void)arg;
	CHECK_EQ(tid(), getpid());
	return 6;
}

/* The main goroutine loses the main thread if its time slice ends twice
 * over (a slow or loaded machine, or an emulator) while it is in a libc
 * call: its P is handed off, with nothing queued yet, to a new spinning
 * M, which then runs it and the locker. That is the runtime's design, not
 * what this case is about, so it starts the runtime again, a few times. */
static void goroutine_exits_locked_on_main_thread(void)
{
	gort_gomaxprocs(1);
	int rc = M0_MOVED;
	for (int attempt = 0; attempt < 5 && rc == M0_MOVED; attempt++)
		rc = gort_main(m0_main, NULL);
	CHECK_EQ(rc, 5);
	CHECK_EQ(tid(), getpid());
	CHECK_EQ(gort_main(plain_main, NULL), 6);
}

/* ---------------------------------------------------------------------
 * The main goroutine locks.
 * ------------------------------------------------------------------- */

static gort_waitgroup main_lock_wg;
static atomic_long ran_on_locked;
static atomic_int main_locked_tid;

static void main_lock_child(void *arg)
{
	(void)arg;
	if (tid() == atomic_load(&main_locked_tid))
		atomic_fetch_add(&ran_on_locked, 1);
	gort_gosched();
	if (tid() == atomic_load(&main_locked_tid))
		atomic_fetch_add(&ran_on_locked, 1);
	gort_wg_done(&main_lock_wg);
}

static int main_locks(void *arg)
{
	int depth = (int)(intptr_t)arg;
	for (int i = 0; i < depth; i++)
		gort_lock_os_thread();
	if (depth == 3)
		gort_unlock_os_thread(); /* still locked twice */
	int t = tid();
	CHECK_EQ(t, getpid()); /* it started on the gort_main thread */
	atomic_store(&main_locked_tid, t);
	CHECK_EQ(gort_wg_add(&main_lock_wg, 20), 0);
	for (int i = 0; i < 20; i++)
		CHECK(gort_go(main_lock_child, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&main_lock_wg), 0);
	EXPECT_TID(t, "gort_wg_wait in the main goroutine");
	bracketed_sleep_ms(5);
	EXPECT_TID(t, "a bracketed call in the main goroutine");
	gort_gosched();
	EXPECT_TID(t, "gort_gosched in the main goroutine");
	if (atomic_load(&ran_on_locked) != 0)
		FAILF("%ld goroutines ran on the thread the main goroutine "
		      "locked", atomic_load(&ran_on_locked));
	return 10 + depth; /* returns locked */
}

static void main_goroutine_locks_and_returns(void)
{
	for (int procs = 1; procs <= 2; procs++) {
		gort_gomaxprocs(procs);
		CHECK_EQ(gort_main(main_locks, (void *)(intptr_t)1), 11);
		CHECK_EQ(tid(), getpid());
		CHECK_EQ(gort_main(main_locks, (void *)(intptr_t)3), 13);
		CHECK_EQ(gort_main(plain_main, NULL), 6);
	}
}

/* ---------------------------------------------------------------------
 * main returns while locked goroutines are being handed to their Ms.
 * ------------------------------------------------------------------- */

/* Locked goroutines that yield without end: each gort_gosched has an M
 * take the goroutine from the global queue and hand its P to the locked
 * M (startlockedm). When main returns, exitbegin wakes the locked Ms
 * that sleep; a hand-over already under way must not post such an M's
 * note again (Go's program just exits). */
enum { YIELDERS = 16 };

static atomic_int yielders_started;

static void locked_yielder(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	atomic_fetch_add(&yielders_started, 1);
	for (;;)
		gort_gosched();
}

static int yielders_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < YIELDERS; i++)
		CHECK(gort_go(locked_yielder, NULL) > 1);
	wait_flag(&yielders_started, YIELDERS);
	gort_sleep(1 * MS);
	return 0; /* the yielders are abandoned, locked */
}

static void exit_during_locked_handoffs(void)
{
	int64_t end = harness_now() + (int64_t)(harness_timeout(3) * 1e9);
	int runs = 0;
	for (; runs < SCALE(400) && harness_now() < end; runs++) {
		atomic_store(&yielders_started, 0);
		run_main(yielders_main, NULL, 8);
	}
	printf("     %d runs ended during locked hand-overs\n", runs);
}

/* ---------------------------------------------------------------------
 * Outside a goroutine.
 * ------------------------------------------------------------------- */

static gort_waitgroup outside_wg;

static void *outside_thread(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	gort_unlock_os_thread();
	gort_unlock_os_thread();
	gort_lock_os_thread();
	gort_wg_done(&outside_wg);
	return NULL;
}

static int outside_main(void *arg)
{
	(void)arg;
	pthread_t th;
	CHECK_EQ(gort_wg_add(&outside_wg, 1), 0);
	CHECK_EQ(pthread_create(&th, NULL, outside_thread, NULL), 0);
	CHECK_EQ(gort_wg_wait(&outside_wg), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	return 4;
}

static void outside_goroutine(void)
{
	gort_lock_os_thread();
	gort_unlock_os_thread();
	gort_unlock_os_thread();
	gort_lock_os_thread(); /* left "locked": must not matter */
	gort_gomaxprocs(2);
	CHECK_EQ(gort_main(outside_main, NULL), 4);
	gort_unlock_os_thread();
}

int main(void)
{
	RUN_CASE(locked_stays_procs1, 40);
	RUN_CASE(locked_stays_procs2, 40);
	RUN_CASE(nesting_counted, 40);
	RUN_CASE(unlocked_exit_keeps_thread, 30);
	RUN_CASE(exit_while_locked_ends_thread, 40);
	RUN_CASE(locked_exit_closes_files, 40);
	RUN_CASE(goroutine_exits_locked_on_main_thread, 20);
	RUN_CASE(main_goroutine_locks_and_returns, 20);
	RUN_CASE(exit_during_locked_handoffs, 40);
	RUN_CASE(outside_goroutine, 20);
	PASS("lockosthread_test");
	return 0;
}
