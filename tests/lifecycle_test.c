/*
 * lifecycle_test proves gort_main's lifecycle contract:
 *  - gort_main can run many times in one process, each run spawning
 *    goroutines, and returns the main function's result each time;
 *  - gort_main while the runtime runs fails with -1/EBUSY, from the main
 *    goroutine, from another goroutine and from a plain thread;
 *  - gort_main(NULL, ...) fails with -1/EINVAL;
 *  - goroutines still alive (parked or runnable) when main returns are
 *    abandoned: gort_main returns anyway, they never run again, and the
 *    next gort_main starts clean (only its main goroutine exists).
 */
#include "gort_util.h"

/* ---------------------------------------------------------------------
 * Repeated runs.
 * ------------------------------------------------------------------- */

#define RUNS 6
#define PER_RUN SCALE(1000)

static atomic_long counted;
static gort_waitgroup run_wg;

static void count_one(void *arg)
{
	(void)arg;
	atomic_fetch_add(&counted, 1);
	gort_wg_done(&run_wg);
}

static int counting_main(void *arg)
{
	int run = (int)(intptr_t)arg;
	CHECK_EQ(gort_goid(), 1);
	CHECK_EQ(gort_numgoroutine(), 1);
	CHECK_EQ(gort_wg_add(&run_wg, PER_RUN), 0);
	for (int i = 0; i < PER_RUN; i++)
		CHECK(gort_go(count_one, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&run_wg), 0);
	wait_only_main();
	return 1000 + run;
}

static void many_runs(void)
{
	int procs[RUNS] = {1, 2, 1, 3, 2, 1};
	for (int run = 0; run < RUNS; run++) {
		gort_gomaxprocs(procs[run]);
		CHECK_EQ(gort_main(counting_main, (void *)(intptr_t)run), 1000 + run);
		CHECK_EQ(atomic_load(&counted), (long)(run + 1) * PER_RUN);
		CHECK_EQ(gort_goid(), 0);
	}
}

/* ---------------------------------------------------------------------
 * EBUSY and EINVAL.
 * ------------------------------------------------------------------- */

static atomic_int inner_ran;
static gort_waitgroup busy_wg;

static int inner_main(void *arg)
{
	(void)arg;
	atomic_fetch_add(&inner_ran, 1);
	return 5;
}

static void busy_from_goroutine(void *arg)
{
	(void)arg;
	CHECK_ERRNO(gort_main(inner_main, NULL), EBUSY);
	gort_wg_done(&busy_wg);
}

static void *busy_from_thread(void *arg)
{
	(void)arg;
	CHECK_ERRNO(gort_main(inner_main, NULL), EBUSY);
	gort_wg_done(&busy_wg);
	return NULL;
}

static int busy_main(void *arg)
{
	(void)arg;
	CHECK_ERRNO(gort_main(inner_main, NULL), EBUSY);
	CHECK_EQ(gort_wg_add(&busy_wg, 2), 0);
	CHECK(gort_go(busy_from_goroutine, NULL) > 1);
	pthread_t tid;
	CHECK_EQ(pthread_create(&tid, NULL, busy_from_thread, NULL), 0);
	CHECK_EQ(gort_wg_wait(&busy_wg), 0);
	CHECK_EQ(pthread_join(tid, NULL), 0);
	return 3;
}

static void busy_and_invalid(void)
{
	CHECK_ERRNO(gort_main(NULL, NULL), EINVAL);
	CHECK_EQ(gort_main(busy_main, NULL), 3);
	CHECK_EQ(atomic_load(&inner_ran), 0);
	/* Neither failure broke the runtime for the next run. */
	CHECK_EQ(gort_main(inner_main, NULL), 5);
	CHECK_EQ(atomic_load(&inner_ran), 1);
}

/* ---------------------------------------------------------------------
 * Abandoned goroutines.
 * ------------------------------------------------------------------- */

#define PARKED 100
#define SPINNERS 4

static gort_waitgroup never;      /* counter 1, never released */
static gort_waitgroup parked_wg;  /* main waits until all are parked */
static atomic_long spins;         /* spinners bump it forever */
static atomic_int past_gate;

static void parked_forever(void *arg)
{
	(void)arg;
	gort_wg_done(&parked_wg);
	gort_wg_wait(&never);
	atomic_fetch_add(&past_gate, 1);
}

static void spin_forever(void *arg)
{
	(void)arg;
	for (;;) {
		atomic_fetch_add(&spins, 1);
		gort_gosched();
	}
}

static int abandon_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&never, 1), 0);
	CHECK_EQ(gort_wg_add(&parked_wg, PARKED), 0);
	for (int i = 0; i < PARKED; i++)
		CHECK(gort_go(parked_forever, NULL) > 1);
	for (int i = 0; i < SPINNERS; i++)
		CHECK(gort_go(spin_forever, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&parked_wg), 0);
	while (atomic_load(&spins) < 1000)
		gort_gosched();
	CHECK_EQ(gort_numgoroutine(), 1 + PARKED + SPINNERS);
	return 42;
}

static int fresh_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_numgoroutine(), 1);
	return 43;
}

static void abandoned(void)
{
	for (int procs = 1; procs <= 2; procs++) {
		gort_gomaxprocs(procs);
		CHECK_EQ(gort_main(abandon_main, NULL), 42);
		/* Every runtime thread has stopped: the spinners are frozen. */
		long before = atomic_load(&spins);
		harness_sleep_ms(50);
		CHECK_EQ(atomic_load(&spins), before);
		CHECK_EQ(atomic_load(&past_gate), 0);
		CHECK_EQ(gort_main(fresh_main, NULL), 43);
		CHECK_EQ(atomic_load(&spins), before);
		/* The next run may reuse the waitgroups from zero. */
		memset(&never, 0, sizeof(never));
		memset(&parked_wg, 0, sizeof(parked_wg));
		atomic_store(&spins, 0);
	}
}

/* ---------------------------------------------------------------------
 * Plain threads reading the counters while runs start and end: a read
 * must never meet a runtime being torn down.
 * ------------------------------------------------------------------- */

static atomic_int readers_stop;

static void *counter_reader(void *arg)
{
	(void)arg;
	gort_stats st;
	while (!atomic_load(&readers_stop)) {
		int64_t n = gort_numgoroutine();
		CHECK(n >= 0);
		CHECK_EQ(gort_read_stats(&st), 0);
	}
	return NULL;
}

static void nop(void *arg)
{
	(void)arg;
}

static int short_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		CHECK(gort_go(nop, NULL) > 1);
	return 2;
}

static void counters_across_teardown(void)
{
	pthread_t tid[2];
	gort_gomaxprocs(2);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&tid[i], NULL, counter_reader, NULL), 0);
	for (int run = 0; run < SCALE(200); run++)
		CHECK_EQ(gort_main(short_main, NULL), 2);
	atomic_store(&readers_stop, 1);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(tid[i], NULL), 0);
}

int main(void)
{
	RUN_CASE(many_runs, 30);
	RUN_CASE(busy_and_invalid, 30);
	RUN_CASE(abandoned, 30);
	RUN_CASE(counters_across_teardown, 60);
	PASS("lifecycle_test");
	return 0;
}
