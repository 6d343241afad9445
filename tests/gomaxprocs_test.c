/*
 * gomaxprocs_test proves gort_gomaxprocs's contract:
 *  - the default is $GOMAXPROCS when set, else gort_numcpu(); n <= 0 only
 *    queries; the return value is always the previous value; values above
 *    GORT_MAX_PROCS are clamped;
 *  - outside gort_main it sets the value the next gort_main starts with,
 *    and that many Ps really run goroutines in parallel (N goroutines
 *    that wait for each other without yielding all get through); a resize
 *    inside gort_main, from a goroutine or from a plain thread, does the
 *    same;
 *  - changing it repeatedly (1,2,3,1,4,2,...) while many goroutines spawn,
 *    yield with gort_gosched and count loses no goroutine and no
 *    increment: the final counts are exact;
 *  - a resize wakes sysmon from the deep sleep it took while every P was
 *    idle (Go's startTheWorld does): the goroutine that resized, if it
 *    then spins, is still preempted for the goroutine beside it;
 *  - setting the value it has stops nothing, as in Go; a new value stops
 *    the world once (gort_stats' stoptheworld).
 */
#include "gort_util.h"

/* ---------------------------------------------------------------------
 * Rendezvous: n goroutines that spin, without yielding, until all n have
 * arrived. Only n Ps running at once get them all through.
 * ------------------------------------------------------------------- */

static atomic_int arrived;
static atomic_int gave_up;
static int rendezvous_n;
static gort_waitgroup rendezvous_wg;

static void spinner(void *arg)
{
	(void)arg;
	atomic_fetch_add(&arrived, 1);
	int64_t deadline = harness_now() + 10LL * 1000000000;
	while (atomic_load(&arrived) < rendezvous_n) {
		if (harness_now() > deadline) {
			atomic_fetch_add(&gave_up, 1);
			break;
		}
	}
	gort_wg_done(&rendezvous_wg);
}

static void rendezvous(int n)
{
	atomic_store(&arrived, 0);
	atomic_store(&gave_up, 0);
	rendezvous_n = n;
	CHECK_EQ(gort_wg_add(&rendezvous_wg, n), 0);
	for (int i = 0; i < n; i++)
		CHECK(gort_go(spinner, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&rendezvous_wg), 0);
	if (atomic_load(&gave_up) != 0)
		FAILF("%d goroutines never ran at once with GOMAXPROCS=%d "
		      "(%d arrived)",
		      n, gort_gomaxprocs(0), atomic_load(&arrived));
}

/* ---------------------------------------------------------------------
 * Default, query, clamp, and the value the next gort_main starts with.
 * ------------------------------------------------------------------- */

static int expected_default(void)
{
	const char *env = getenv("GOMAXPROCS");
	if (env != NULL) {
		char *end;
		long n = strtol(env, &end, 10);
		if (*env != '\0' && *end == '\0' && n > 0)
			return n > GORT_MAX_PROCS ? GORT_MAX_PROCS : (int)n;
	}
	return gort_numcpu();
}

/* A thread that is not a goroutine resizes while the runtime runs. */
static gort_waitgroup resizer_wg;
static int resizer_prev;

static void *resizer(void *arg)
{
	(void)arg;
	resizer_prev = gort_gomaxprocs(2);
	gort_wg_done(&resizer_wg);
	return NULL;
}

static void resize_from_plain_thread(void)
{
	int before = gort_gomaxprocs(0);
	pthread_t tid;
	CHECK_EQ(gort_wg_add(&resizer_wg, 1), 0);
	CHECK_EQ(pthread_create(&tid, NULL, resizer, NULL), 0);
	CHECK_EQ(gort_wg_wait(&resizer_wg), 0);
	CHECK_EQ(pthread_join(tid, NULL), 0);
	CHECK_EQ(resizer_prev, before);
	CHECK_EQ(gort_gomaxprocs(0), 2);
	rendezvous(2);
}

static int starts_with_main(void *arg)
{
	int want = (int)(intptr_t)arg;
	CHECK_EQ(gort_gomaxprocs(0), want);
	rendezvous(want);
	CHECK_EQ(gort_gomaxprocs(4), want);
	CHECK_EQ(gort_gomaxprocs(-1), 4);
	rendezvous(4);
	CHECK_EQ(gort_gomaxprocs(1), 4);
	CHECK_EQ(gort_gomaxprocs(0), 1);
	rendezvous(1);
	resize_from_plain_thread();
	wait_only_main();
	return 11;
}

static void outside_runtime(void)
{
	int def = expected_default();
	CHECK(def >= 1);
	CHECK_EQ(gort_gomaxprocs(0), def);
	CHECK_EQ(gort_gomaxprocs(-5), def);
	CHECK_EQ(gort_gomaxprocs(3), def);
	CHECK_EQ(gort_gomaxprocs(0), 3);
	CHECK_EQ(gort_main(starts_with_main, (void *)(intptr_t)3), 11);
	/* Clamping, outside the runtime (no 1024 Ps are started). */
	int cur = gort_gomaxprocs(0);
	CHECK_EQ(gort_gomaxprocs(GORT_MAX_PROCS + 1000), cur);
	CHECK_EQ(gort_gomaxprocs(0), GORT_MAX_PROCS);
	CHECK_EQ(gort_gomaxprocs(2), GORT_MAX_PROCS);
	CHECK_EQ(gort_gomaxprocs(0), 2);
	CHECK_EQ(gort_main(starts_with_main, (void *)(intptr_t)2), 11);
}

/* ---------------------------------------------------------------------
 * Resizing under load.
 * ------------------------------------------------------------------- */

#define WORKERS 16
#define MIN_ITERS 500   /* per worker, whatever the resizes do */
#define SPAWN_EVERY 10  /* a worker spawns a child every so many iters */

static atomic_bool stop;
static atomic_long iters_total;    /* incremented once per iteration */
static atomic_long children_run;   /* incremented by each child */
static long iters_by_worker[WORKERS];
static long spawned_by_worker[WORKERS];
static gort_waitgroup workers_wg;
static gort_waitgroup children_wg;

static void load_child(void *arg)
{
	(void)arg;
	gort_gosched();
	atomic_fetch_add(&children_run, 1);
	gort_wg_done(&children_wg);
}

static void worker(void *arg)
{
	int w = (int)(intptr_t)arg;
	long iters = 0;
	long spawned = 0;
	while (!atomic_load(&stop) || iters < MIN_ITERS) {
		atomic_fetch_add(&iters_total, 1);
		iters++;
		if (iters % SPAWN_EVERY == 0) {
			CHECK_EQ(gort_wg_add(&children_wg, 1), 0);
			if (gort_go(load_child, NULL) < 0)
				FAILF("gort_go: %s", strerror(errno));
			spawned++;
		}
		gort_gosched();
	}
	iters_by_worker[w] = iters;
	spawned_by_worker[w] = spawned;
	gort_wg_done(&workers_wg);
}

static const int resize_seq[] = {1, 2, 3, 1, 4, 2, 3, 2, 1, 4, 3, 1, 2};
#define RESIZE_SEQ_LEN ((int)(sizeof(resize_seq) / sizeof(resize_seq[0])))

static void resize_repeatedly(int changes)
{
	int prev = gort_gomaxprocs(0);
	for (int c = 0; c < changes; c++) {
		int n = resize_seq[c % RESIZE_SEQ_LEN];
		CHECK_EQ(gort_gomaxprocs(n), prev);
		CHECK_EQ(gort_gomaxprocs(0), n);
		prev = n;
		for (int k = 0; k < 20; k++)
			gort_gosched();
	}
}

static int load_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&workers_wg, WORKERS), 0);
	for (int w = 0; w < WORKERS; w++)
		CHECK(gort_go(worker, (void *)(intptr_t)w) > 1);
	resize_repeatedly(SCALE(2000));
	atomic_store(&stop, true);
	CHECK_EQ(gort_wg_wait(&workers_wg), 0);
	CHECK_EQ(gort_wg_wait(&children_wg), 0);
	long iters = 0;
	long spawned = 0;
	for (int w = 0; w < WORKERS; w++) {
		iters += iters_by_worker[w];
		spawned += spawned_by_worker[w];
	}
	CHECK_EQ(atomic_load(&iters_total), iters);
	CHECK_EQ(atomic_load(&children_run), spawned);
	CHECK(spawned >= WORKERS * (MIN_ITERS / SPAWN_EVERY));
	wait_only_main();
	return 0;
}

MAIN_CASE(resize_under_load, load_main, 2)

/* ---------------------------------------------------------------------
 * Resizing while main returns: the call must come back, and gort_main
 * too (with GOMAXPROCS 1 main holds the only P while the plain thread's
 * helper goroutine is queued, so the run ends before it can resize).
 * ------------------------------------------------------------------- */

static atomic_int exit_go;
static atomic_int exit_prev = -100;

static void *exit_resizer(void *arg)
{
	(void)arg;
	while (!atomic_load(&exit_go))
		;
	atomic_store(&exit_prev, gort_gomaxprocs(2));
	return NULL;
}

static int exit_main(void *arg)
{
	(void)arg;
	gort_preempt_off(); /* keeps the P, so the helper stays queued */
	atomic_store(&exit_go, 1);
	int64_t deadline = harness_now() + 10LL * 1000000000;
	while (gort_numgoroutine() < 2 && harness_now() < deadline)
		;
	gort_preempt_on();
	return 3;
}

static void resize_from_plain_thread_at_exit(void)
{
	gort_gomaxprocs(1);
	pthread_t tid;
	CHECK_EQ(pthread_create(&tid, NULL, exit_resizer, NULL), 0);
	CHECK_EQ(gort_main(exit_main, NULL), 3);
	CHECK_EQ(pthread_join(tid, NULL), 0); /* hung here */
	CHECK_EQ(atomic_load(&exit_prev), 1);
	CHECK_EQ(gort_gomaxprocs(0), 2); /* for the next run */
}

static atomic_int stw_go;

static void stw_resizer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stw_go))
		;
	gort_gomaxprocs(1);
}

/* A goroutine stops the world while main returns without another
 * runtime call: main's M leaves the scheduler without stopping its P. */
static int stw_exit_main(void *arg)
{
	(void)arg;
	CHECK(gort_go(stw_resizer, NULL) > 0);
	gort_preempt_off(); /* main's P stops only at a runtime call */
	atomic_store(&stw_go, 1);
	int64_t t = harness_now();
	while (harness_now() - t < 5 * 1000000)
		;
	return 4;
}

static void resize_while_main_returns(void)
{
	for (int i = 0; i < 5; i++) {
		atomic_store(&stw_go, 0);
		CHECK_EQ(gort_gomaxprocs(2) > 0, 1);
		CHECK_EQ(gort_main(stw_exit_main, NULL), 4); /* hung here */
	}
}

/* ---------------------------------------------------------------------
 * A resize wakes sysmon.
 * ------------------------------------------------------------------- */

static int wake_pipe[2];
static atomic_bool wake_ran;

static void *wake_writer(void *arg)
{
	(void)arg;
	/* Long enough for sysmon to see every P idle and sleep deeply (no
	 * timer to wake it: this thread sleeps outside the runtime). */
	struct timespec ts = {0, 100 * MS};
	nanosleep(&ts, NULL);
	CHECK_EQ(write(wake_pipe[1], "x", 1), 1);
	return NULL;
}

static void wake_setter(void *arg)
{
	(void)arg;
	atomic_store(&wake_ran, true);
}

static int wake_main(void *arg)
{
	(void)arg;
	CHECK_EQ(pipe(wake_pipe), 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, wake_writer, NULL), 0);
	char c;
	/* Every P idle until the byte comes; the M that polled it takes a
	 * P for this goroutine without waking sysmon, as Go's does. */
	CHECK_EQ(gort_read(wake_pipe[0], &c, 1), 1);
	CHECK_EQ(gort_gomaxprocs(1), 2);
	CHECK(gort_go(wake_setter, NULL) > 1);
	double limit = harness_timeout(3);
	int64_t spun = spin_until_stop(&wake_ran, limit);
	if (spun < 0)
		FAILF("main spun %.1f s after a resize at GOMAXPROCS=1 "
		      "without being preempted: sysmon slept on", limit);
	printf("     main spun %.1f ms before the other goroutine ran\n", (double)spun / MS);
	join_thread(th);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	return 0;
}

MAIN_CASE(resize_wakes_sysmon, wake_main, 2)

/* ---------------------------------------------------------------------
 * The value it has: no stop of the world.
 * ------------------------------------------------------------------- */

/* Go's GOMAXPROCS returns at once when n is the value it has; a new
 * value stops the world once. */
static int same_main(void *arg)
{
	(void)arg;
	gort_stats before, after;
	CHECK_EQ(gort_read_stats(&before), 0);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(gort_gomaxprocs(2), 2);
	CHECK_EQ(gort_read_stats(&after), 0);
	uint64_t stw = after.stoptheworld - before.stoptheworld;
	if (stw != 0)
		FAILF("50 calls of gort_gomaxprocs(2) at GOMAXPROCS=2 stopped the world "
		      "%llu times", (unsigned long long)stw);
	CHECK_EQ(gort_gomaxprocs(1), 2);
	CHECK_EQ(gort_gomaxprocs(2), 1);
	CHECK_EQ(gort_read_stats(&before), 0);
	CHECK_EQ(before.stoptheworld - after.stoptheworld, 2);
	return 0;
}

MAIN_CASE(same_value_no_stw, same_main, 2)

int main(void)
{
	RUN_CASE(outside_runtime, 40);
	RUN_CASE(resize_under_load, 40);
	RUN_CASE(resize_from_plain_thread_at_exit, 40);
	RUN_CASE(resize_while_main_returns, 40);
	RUN_CASE(resize_wakes_sysmon, 20);
	RUN_CASE(same_value_no_stw, 20);
	PASS("gomaxprocs_test");
	return 0;
}
