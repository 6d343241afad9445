/*
 * parked_test proves that 100,000 goroutines (fewer under sanitizers) can
 * be parked at the same time: each one counts itself as started and waits
 * on a shared "gate" waitgroup whose counter is 1. Main waits until all
 * have started, checks gort_numgoroutine() == N + 1, opens the gate with
 * one gort_wg_done and waits until every goroutine has exited; then only
 * main is left. It runs at the default GOMAXPROCS and at 1.
 */
#include "gort_util.h"

static long total;
static atomic_long started;
static atomic_long exited;
static atomic_long early; /* goroutines that passed the gate too soon */
static atomic_bool gate_open;
static gort_waitgroup started_wg;
static gort_waitgroup gate;
static gort_waitgroup exited_wg;

static void parker(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started, 1);
	gort_wg_done(&started_wg);
	CHECK_EQ(gort_wg_wait(&gate), 0);
	if (!atomic_load(&gate_open))
		atomic_fetch_add(&early, 1);
	atomic_fetch_add(&exited, 1);
	gort_wg_done(&exited_wg);
}

static void spawn_all(void)
{
	for (long i = 0; i < total; i++) {
		if (gort_go(parker, NULL) < 0)
			FAILF("gort_go #%ld of %ld: %s (a stack per goroutine "
			      "may need more than vm.max_map_count mappings)",
			      i, total, strerror(errno));
	}
}

static int parked_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&gate, 1), 0);
	CHECK_EQ(gort_wg_add(&started_wg, (int)total), 0);
	CHECK_EQ(gort_wg_add(&exited_wg, (int)total), 0);
	spawn_all();
	CHECK_EQ(gort_wg_wait(&started_wg), 0);
	CHECK_EQ(atomic_load(&started), total);
	CHECK_EQ(gort_numgoroutine(), total + 1);
	/* Let everyone reach the gate; none may pass it. */
	for (int i = 0; i < 100; i++)
		gort_gosched();
	CHECK_EQ(atomic_load(&exited), 0);
	CHECK_EQ(gort_numgoroutine(), total + 1);
	atomic_store(&gate_open, true);
	CHECK_EQ(gort_wg_done(&gate), 0);
	CHECK_EQ(gort_wg_wait(&exited_wg), 0);
	CHECK_EQ(atomic_load(&exited), total);
	CHECK_EQ(atomic_load(&early), 0);
	wait_only_main();
	return 0;
}

static void run_parked(int procs)
{
	total = SCALE(100000);
	if (procs > 0)
		gort_gomaxprocs(procs);
	int64_t t0 = harness_now();
	CHECK_EQ(gort_main(parked_main, NULL), 0);
	fprintf(stderr, "  %ld parked goroutines, GOMAXPROCS=%d: %.3f s\n",
	        total, gort_gomaxprocs(0),
	        (double)(harness_now() - t0) / 1e9);
}

static void parked_default(void)
{
	run_parked(0);
}

static void parked_procs1(void)
{
	run_parked(1);
}

int main(void)
{
	RUN_CASE(parked_default, 50);
	RUN_CASE(parked_procs1, 50);
	PASS("parked_test");
	return 0;
}
