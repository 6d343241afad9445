/*
 * goroutine_api_test proves the small goroutine calls of gort.h:
 *  - gort_goid: 1 for main, the value gort_go returned inside a goroutine,
 *    0 outside the runtime;
 *  - gort_gosched lets a runnable goroutine run before the caller goes on
 *    (GOMAXPROCS 1), and two goroutines can hand the P back and forth;
 *    a goroutine readied by a timer that gort_gosched itself ran (due
 *    while the caller spun) has run when gort_gosched returns, rather
 *    than waiting for the caller's next runtime call (GOMAXPROCS 1,
 *    GODEBUG=asyncpreemptoff=1; Go's 61st-tick pick from the global
 *    queue excused in at most a quarter of 20 trials);
 *  - gort_goexit ends a goroutine at once (code after it never runs, also
 *    from a nested call) and, in the main goroutine, ends gort_main with 0;
 *  - gort_go(NULL) and bad attrs fail with EINVAL; gort_go_attr with a
 *    2 MiB stack runs a goroutine that touches a 1 MiB local array; a NULL
 *    or zeroed attr means defaults; gort_set_stack_size sets, queries and
 *    rejects out-of-range sizes, and its default is used by gort_go;
 *    a large default (256 MiB) costs a goroutine its own stack's address
 *    space, not a chunk of 64 pooled stacks' (run under RLIMIT_AS);
 *  - gort_numcpu is within [1, CPUs in the affinity mask];
 *  - gort_nanotime is monotonic and agrees with CLOCK_MONOTONIC;
 *  - waitgroup errors: NULL is EINVAL; a counter going negative is ERANGE
 *    and leaves the counter unchanged;
 *  - errno (gort.h's) read after a call that went on on another thread is
 *    the call's, also where the function read it before the call.
 */
#include "gort_util.h"

#include <sched.h>
#include <sys/resource.h>

static void noop(void *arg)
{
	(void)arg;
}

/* ---------------------------------------------------------------------
 * gort_goid
 * ------------------------------------------------------------------- */

static int64_t seen_goid;
static gort_waitgroup goid_wg;

static void record_goid(void *arg)
{
	(void)arg;
	seen_goid = gort_goid();
	gort_wg_done(&goid_wg);
}

static int goid_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_goid(), 1);
	for (int i = 0; i < 100; i++) {
		CHECK_EQ(gort_wg_add(&goid_wg, 1), 0);
		int64_t id = gort_go(record_goid, NULL);
		CHECK(id > 1);
		CHECK_EQ(gort_wg_wait(&goid_wg), 0);
		CHECK_EQ(seen_goid, id);
	}
	CHECK_EQ(gort_goid(), 1);
	return 0;
}

static void goid(void)
{
	CHECK_EQ(gort_goid(), 0);
	run_main(goid_main, NULL, 2);
	CHECK_EQ(gort_goid(), 0);
}

/* ---------------------------------------------------------------------
 * gort_gosched
 * ------------------------------------------------------------------- */

static atomic_int flag;
static gort_waitgroup sched_wg;
static int pingpong[64];
static atomic_int pingpong_len;

static void set_flag(void *arg)
{
	(void)arg;
	atomic_store(&flag, 1);
	gort_wg_done(&sched_wg);
}

static void wait_for_flag(void *arg)
{
	(void)arg;
	while (atomic_load(&flag) != 2)
		gort_gosched();
	gort_wg_done(&sched_wg);
}

/* player appends its id, then yields, taking turns with the other one. */
static void player(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < 10; i++) {
		pingpong[atomic_fetch_add(&pingpong_len, 1)] = id;
		gort_gosched();
	}
	gort_wg_done(&sched_wg);
}

static int gosched_main(void *arg)
{
	(void)arg;
	/* One P: the new goroutine waits in runnext until main yields. */
	CHECK_EQ(gort_wg_add(&sched_wg, 1), 0);
	CHECK(gort_go(set_flag, NULL) > 1);
	CHECK_EQ(atomic_load(&flag), 0);
	gort_gosched();
	/* Go's every-61st-tick global pick may run main first, once. */
	if (atomic_load(&flag) == 0)
		gort_gosched();
	CHECK_EQ(atomic_load(&flag), 1);
	CHECK_EQ(gort_wg_wait(&sched_wg), 0);

	/* A goroutine yielding in a loop does not starve main. */
	CHECK_EQ(gort_wg_add(&sched_wg, 1), 0);
	CHECK(gort_go(wait_for_flag, NULL) > 1);
	for (int i = 0; i < 10; i++)
		gort_gosched();
	atomic_store(&flag, 2);
	CHECK_EQ(gort_wg_wait(&sched_wg), 0);

	/* Two yielding goroutines alternate: each yield runs the other. */
	CHECK_EQ(gort_wg_add(&sched_wg, 2), 0);
	CHECK(gort_go(player, (void *)(intptr_t)1) > 1);
	CHECK(gort_go(player, (void *)(intptr_t)2) > 1);
	CHECK_EQ(gort_wg_wait(&sched_wg), 0);
	CHECK_EQ(atomic_load(&pingpong_len), 20);
	int switches = 0;
	for (int i = 1; i < 20; i++)
		switches += pingpong[i] != pingpong[i - 1];
	/* Go's %61 fairness pick may swap one turn; most must alternate. */
	CHECK(switches >= 15);
	return 0;
}

MAIN_CASE(gosched, gosched_main, 1)

/*
 * gort_gosched runs the P's due timers before it picks what runs next, as
 * Go's schedule does: a goroutine that a due timer readies there runs
 * before the caller goes on, rather than being held back until the
 * caller's next runtime call. One P and asynchronous preemption off:
 * nothing else runs the P's timers while main spins, and nothing takes
 * the P from main, so a readied goroutine that gort_gosched kept aside
 * would not run in any trial. Trials in which main came back from its
 * sleep after the timer was due prove nothing and are skipped. Go's
 * every-61st-tick pick from the global queue may run main first (with
 * the other goroutine next in line): a few such trials are allowed.
 */
#define TIMER_TRIALS 20
#define TIMER_DUE (3 * MS)

static atomic_int timer_waiting, timer_woke;
static gort_chan *timer_ch;

static void timer_waiter(void *arg)
{
	(void)arg;
	int64_t v;
	atomic_store(&timer_waiting, 1);
	CHECK_EQ(gort_chan_recv(timer_ch, &v), 1);
	atomic_store(&timer_woke, 1);
}

static int gosched_timer_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_gomaxprocs(0), 1);
	int valid = 0, late = 0;
	int64_t end = gort_nanotime() + (int64_t)(harness_timeout(3) * 1e9);
	while (valid < TIMER_TRIALS && gort_nanotime() < end) {
		atomic_store(&timer_waiting, 0);
		atomic_store(&timer_woke, 0);
		gort_timer *t = gort_timer_new(TIMER_DUE, 0); /* on main's P */
		CHECK(t != NULL);
		int64_t due = gort_nanotime() + TIMER_DUE;
		timer_ch = gort_timer_chan(t);
		CHECK(gort_go(timer_waiter, NULL) > 1);
		gort_sleep(MS / 2); /* the waiter runs and blocks on the timer */
		bool ok = gort_nanotime() < due && atomic_load(&timer_waiting) &&
		          !atomic_load(&timer_woke);
		/* Until the timer is due, with no runtime call. */
		while (gort_nanotime() < due)
			;
		if (ok && !atomic_load(&timer_woke)) {
			valid++;
			gort_gosched(); /* runs the timer: the waiter is ready */
			if (!atomic_load(&timer_woke))
				late++;
		}
		wait_flag(&timer_woke, 1);
		gort_timer_free(t);
	}
	printf("     %d trials: the goroutine a due timer readied had not run "
	       "when gort_gosched returned in %d\n", valid, late);
	if (valid < TIMER_TRIALS / 2)
		FAILF("only %d of %d trials came back from a 0.5 ms sleep before "
		      "a %d ms timer was due", valid, TIMER_TRIALS,
		      (int)(TIMER_DUE / MS));
	if (late > valid / 4)
		FAILF("in %d of %d trials, a goroutine readied by a timer that "
		      "gort_gosched ran had not run when gort_gosched returned",
		      late, valid);
	return 0;
}

static void gosched_runs_timer_readied(void)
{
	CHECK_EQ(setenv("GODEBUG", "asyncpreemptoff=1", 1), 0);
	run_main(gosched_timer_main, NULL, 1);
}

/* ---------------------------------------------------------------------
 * gort_goexit
 * ------------------------------------------------------------------- */

static atomic_int after_exit;   /* code after gort_goexit ran */
static gort_waitgroup exit_wg;

static void exit_now(void *arg)
{
	(void)arg;
	gort_wg_done(&exit_wg);
	gort_goexit();
	atomic_fetch_add(&after_exit, 1);
}

static volatile int keep_going; /* always 0; hides the recursion's end */

static void exit_deep(int depth)
{
	if (depth == 0) {
		gort_wg_done(&exit_wg);
		if (!keep_going)
			gort_goexit();
		return;
	}
	exit_deep(depth - 1);
	atomic_fetch_add(&after_exit, 1);
}

static void exit_nested(void *arg)
{
	(void)arg;
	exit_deep(5);
	atomic_fetch_add(&after_exit, 1);
}

static int goexit_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&exit_wg, 20), 0);
	for (int i = 0; i < 10; i++) {
		CHECK(gort_go(exit_now, NULL) > 1);
		CHECK(gort_go(exit_nested, NULL) > 1);
	}
	CHECK_EQ(gort_wg_wait(&exit_wg), 0);
	wait_only_main(); /* they are gone, not parked somewhere */
	CHECK_EQ(atomic_load(&after_exit), 0);
	return 0;
}

static void goexit(void)
{
	run_main(goexit_main, NULL, 1);
	run_main(goexit_main, NULL, 2);
}

static atomic_int main_after_exit;

static int goexit_in_main(void *arg)
{
	(void)arg;
	CHECK(gort_go(noop, NULL) > 1);
	gort_goexit();
	atomic_store(&main_after_exit, 1);
	return 77;
}

static int plain_main(void *arg)
{
	(void)arg;
	return 78;
}

static void goexit_main_goroutine(void)
{
	run_main(goexit_in_main, NULL, 1);
	CHECK_EQ(atomic_load(&main_after_exit), 0);
	run_main(goexit_in_main, NULL, 2);
	CHECK_EQ(atomic_load(&main_after_exit), 0);
	CHECK_EQ(gort_main(plain_main, NULL), 78);
}

/* ---------------------------------------------------------------------
 * gort_go / gort_go_attr / gort_set_stack_size
 * ------------------------------------------------------------------- */

#define BIG_FRAME (1024 * 1024)

static atomic_int big_ok;
static gort_waitgroup attr_wg;

/* big_frame puts a 1 MiB array on the goroutine stack and touches all of
 * it, from the top down, then checks what it wrote. */
static void big_frame(void *arg)
{
	(void)arg;
	volatile unsigned char buf[BIG_FRAME];
	for (long i = BIG_FRAME - 1; i >= 0; i -= 512)
		buf[i] = (unsigned char)(i >> 9);
	buf[0] = 0xA5;
	long bad = 0;
	for (long i = BIG_FRAME - 1; i > 0; i -= 512)
		bad += buf[i] != (unsigned char)(i >> 9);
	bad += buf[0] != 0xA5;
	if (bad == 0)
		atomic_fetch_add(&big_ok, 1);
	gort_wg_done(&attr_wg);
}

static void small_frame(void *arg)
{
	(void)arg;
	volatile char buf[1024];
	buf[0] = 1;
	buf[1023] = buf[0];
	atomic_fetch_add(&big_ok, buf[1023]);
	gort_wg_done(&attr_wg);
}

static void check_bad_attrs(void)
{
	int64_t before = gort_numgoroutine();
	gort_attr attr = {.stack_size = 0, .name = "x"};
	CHECK_ERRNO(gort_go(NULL, NULL), EINVAL);
	CHECK_ERRNO(gort_go_attr(NULL, NULL, &attr), EINVAL);
	CHECK_ERRNO(gort_go_attr(NULL, NULL, NULL), EINVAL);
	attr.stack_size = (size_t)GORT_STACK_MAX + 1;
	CHECK_ERRNO(gort_go_attr(noop, NULL, &attr), EINVAL);
	attr.stack_size = (size_t)GORT_STACK_MAX * 4;
	CHECK_ERRNO(gort_go_attr(noop, NULL, &attr), EINVAL);
	attr.stack_size = SIZE_MAX;
	CHECK_ERRNO(gort_go_attr(noop, NULL, &attr), EINVAL);
	CHECK_EQ(gort_numgoroutine(), before);
}

static int attr_main(void *arg)
{
	(void)arg;
	check_bad_attrs();
	char name[32];
	snprintf(name, sizeof(name), "big-stack");
	gort_attr big = {.stack_size = 2 * 1024 * 1024, .name = name};
	gort_attr zero = {0};
	CHECK_EQ(gort_wg_add(&attr_wg, 4), 0);
	CHECK(gort_go_attr(big_frame, NULL, &big) > 1);
	memset(name, 'z', sizeof(name) - 1); /* the name was copied */
	CHECK(gort_go_attr(small_frame, NULL, &zero) > 1);
	CHECK(gort_go_attr(small_frame, NULL, NULL) > 1);
	big.name = NULL;
	CHECK(gort_go_attr(big_frame, NULL, &big) > 1);
	CHECK_EQ(gort_wg_wait(&attr_wg), 0);
	CHECK_EQ(atomic_load(&big_ok), 4);
	wait_only_main();
	return 0;
}

MAIN_CASE(go_attr, attr_main, 2)

static int stack_size_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_set_stack_size(0), GORT_STACK_DEFAULT);
	CHECK_ERRNO(gort_set_stack_size(GORT_STACK_MIN - 1), EINVAL);
	CHECK_ERRNO(gort_set_stack_size((size_t)GORT_STACK_MAX + 1), EINVAL);
	CHECK_EQ(gort_set_stack_size(0), GORT_STACK_DEFAULT);
	CHECK_EQ(gort_set_stack_size(GORT_STACK_MIN), GORT_STACK_DEFAULT);
	CHECK_EQ(gort_set_stack_size(GORT_STACK_MAX), GORT_STACK_MIN);
	CHECK_EQ(gort_set_stack_size(2 * 1024 * 1024), GORT_STACK_MAX);
	CHECK_EQ(gort_set_stack_size(0), 2 * 1024 * 1024);
	/* Sizes are rounded up to the kernel's pages, whatever their size. */
	long pg = sysconf(_SC_PAGESIZE);
	CHECK_EQ(gort_set_stack_size(GORT_STACK_MIN + 1), 2 * 1024 * 1024);
	long rounded = gort_set_stack_size(2 * 1024 * 1024);
	CHECK(rounded > (long)GORT_STACK_MIN && rounded % pg == 0 && rounded - pg <= (long)GORT_STACK_MIN);
	CHECK_EQ(gort_set_stack_size(0), 2 * 1024 * 1024);
	/* The new default is what gort_go gives. */
	CHECK_EQ(gort_wg_add(&attr_wg, 2), 0);
	CHECK(gort_go(big_frame, NULL) > 1);
	CHECK(gort_go_attr(big_frame, NULL, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&attr_wg), 0);
	CHECK_EQ(atomic_load(&big_ok), 2);
	CHECK_EQ(gort_set_stack_size(GORT_STACK_DEFAULT), 2 * 1024 * 1024);
	CHECK_EQ(gort_set_stack_size(0), GORT_STACK_DEFAULT);
	return 0;
}

MAIN_CASE(set_stack_size, stack_size_main, 2)

/* Address space of the process now (VmSize), in bytes; 0 if unknown. */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	char line[256];
	unsigned long long kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (size_t)kb * 1024;
}

#define LARGE_STACK ((size_t)256 << 20)

static int large_stack_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&attr_wg, 2), 0);
	CHECK(gort_go(big_frame, NULL) > 1);
	CHECK(gort_go(big_frame, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&attr_wg), 0);
	CHECK_EQ(atomic_load(&big_ok), 2);
	return 0;
}

/* A large default stack costs each goroutine its own size of address
 * space, not that of a whole chunk of pooled stacks: three 256 MiB
 * stacks run within 2 GiB of address space to spare (a chunk of 64 is
 * 16 GiB). The case runs in a child of its own: the limit dies with it. */
static void large_default_stack(void)
{
	size_t now = vm_size();
	CHECK(now > 0);
	struct rlimit rl = {.rlim_cur = now + ((size_t)2 << 30), .rlim_max = now + ((size_t)2 << 30)};
	CHECK_EQ(setrlimit(RLIMIT_AS, &rl), 0);
	CHECK_EQ(gort_set_stack_size(LARGE_STACK), GORT_STACK_DEFAULT);
	run_main(large_stack_main, NULL, 2);
	CHECK_EQ(gort_set_stack_size(GORT_STACK_DEFAULT), (long)LARGE_STACK);
}

/* ---------------------------------------------------------------------
 * gort_numcpu, gort_nanotime
 * ------------------------------------------------------------------- */

static void numcpu(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CHECK_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	int n = gort_numcpu();
	CHECK(n >= 1);
	CHECK(n <= CPU_COUNT(&set));
}

static void check_nanotime(void)
{
	int64_t prev = gort_nanotime();
	CHECK(prev > 0);
	for (int i = 0; i < 100000; i++) {
		int64_t t = gort_nanotime();
		if (t < prev)
			FAILF("gort_nanotime went back: %lld then %lld",
			      (long long)prev, (long long)t);
		prev = t;
	}
	int64_t g0 = gort_nanotime();
	int64_t c0 = harness_now();
	harness_sleep_ms(20);
	int64_t c1 = harness_now();
	int64_t g1 = gort_nanotime();
	CHECK(g1 - g0 >= 20 * 1000000LL);
	CHECK(g1 - g0 >= c1 - c0 - 100000);      /* 0.1 ms slack */
	CHECK(g1 - g0 <= c1 - c0 + 50 * 1000000LL); /* scheduling noise */
}

static int nanotime_main(void *arg)
{
	(void)arg;
	check_nanotime();
	return 0;
}

static void nanotime(void)
{
	check_nanotime();
	run_main(nanotime_main, NULL, 1);
}

/* ---------------------------------------------------------------------
 * Waitgroup errors
 * ------------------------------------------------------------------- */

static int wg_errors_main(void *arg)
{
	(void)arg;
	CHECK_ERRNO(gort_wg_add(NULL, 1), EINVAL);
	CHECK_ERRNO(gort_wg_done(NULL), EINVAL);
	CHECK_ERRNO(gort_wg_wait(NULL), EINVAL);

	gort_waitgroup wg = {0};
	gort_waitgroup copy = wg;
	CHECK_ERRNO(gort_wg_add(&wg, -1), ERANGE);
	CHECK_ERRNO(gort_wg_done(&wg), ERANGE);
	CHECK(memcmp(&wg, &copy, sizeof(wg)) == 0);
	CHECK_EQ(gort_wg_wait(&wg), 0); /* still zero: returns at once */

	CHECK_EQ(gort_wg_add(&wg, 2), 0);
	copy = wg;
	CHECK_ERRNO(gort_wg_add(&wg, -3), ERANGE);
	CHECK(memcmp(&wg, &copy, sizeof(wg)) == 0);
	CHECK_EQ(gort_wg_done(&wg), 0);
	CHECK_EQ(gort_wg_add(&wg, -1), 0);
	CHECK_ERRNO(gort_wg_done(&wg), ERANGE);
	CHECK_EQ(gort_wg_wait(&wg), 0);
	CHECK_EQ(gort_wg_add(&wg, 0), 0);
	CHECK_EQ(gort_wg_wait(&wg), 0);
	return 0;
}

MAIN_CASE(wg_errors, wg_errors_main, 1)

/* ---------------------------------------------------------------------
 * errno after a move to another thread
 * ------------------------------------------------------------------- */

#ifdef GORT_LIBC_ERRNO
#error "errno_after_move tests gort.h's errno"
#endif

/* Closes the channel main is parked sending on (main goes to this P's
 * runnext), then blocks its thread under the hand-off: the P, and main
 * with it, goes on on another thread. */
static void close_and_block(void *arg)
{
	CHECK_EQ(gort_chan_close(arg), 0);
	gort_entersyscall_block();
	usleep(2000);
	gort_exitsyscall();
	gort_wg_done(&helpers_wg);
}

/* errno written, then read after a call that parked, in one function, as
 * a program does: with libc's errno the compiler looks its location up
 * once (glibc's __errno_location is const), and read 0 here, left on the
 * first thread, in place of the send's EPIPE (every time, gcc and clang
 * -O2). */
static int errno_move_main(void *arg)
{
	(void)arg;
	int moves = 0;
	for (int i = 0; i < 20; i++) {
		gort_chan *c = gort_chan_make(0, 0);
		CHECK(c != NULL);
		errno = 0;
		int tid = gettid();
		start_helper(close_and_block, c);
		int r = gort_chan_send(c, NULL);
		int e = errno;
		moves += gettid() != tid;
		CHECK_EQ(r, -1);
		CHECK_EQ(e, EPIPE);
		gort_wg_wait(&helpers_wg);
		gort_chan_free(c);
	}
	CHECK(moves > 0);
	return 0;
}

MAIN_CASE(errno_after_move, errno_move_main, 1)

int main(void)
{
	RUN_CASE(goid, 20);
	RUN_CASE(gosched, 20);
	RUN_CASE(gosched_runs_timer_readied, 20);
	RUN_CASE(goexit, 20);
	RUN_CASE(goexit_main_goroutine, 20);
	RUN_CASE(go_attr, 20);
	RUN_CASE(set_stack_size, 20);
	RUN_CASE(large_default_stack, 20);
	RUN_CASE(numcpu, 20);
	RUN_CASE(nanotime, 20);
	RUN_CASE(wg_errors, 20);
	RUN_CASE(errno_after_move, 20);
	PASS("goroutine_api_test");
	return 0;
}
