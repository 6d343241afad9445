/*
 * spawn_test proves that goroutines spawned in bulk from the main
 * goroutine all run exactly once and finish: 1,000,000 of them (fewer
 * under sanitizers), at GOMAXPROCS 1 and 2. Each one is counted by an
 * atomic counter and by a waitgroup; every goid that gort_go returns is
 * > 1 (1 is main), equals what gort_goid() says inside that goroutine, and
 * is distinct from all others; afterwards gort_numgoroutine() falls back
 * to 1 (only main alive).
 *
 * Spawning is done in batches of 10,000 live goroutines (scaled down like
 * the total under sanitizers), so the test does not depend on how many
 * stacks can exist at once (parked_test does).
 */
#include "gort_util.h"

#define BATCH SCALE(10000)

static long total;
static atomic_long ran;
static int64_t *ids_returned; /* what gort_go returned, by index */
static int64_t *ids_seen;     /* what gort_goid() said inside, by index */
static gort_waitgroup batch_wg;
static gort_waitgroup all_wg;

static void child(void *arg)
{
	long i = (long)(intptr_t)arg;
	ids_seen[i] = gort_goid();
	atomic_fetch_add(&ran, 1);
	gort_wg_done(&batch_wg);
	gort_wg_done(&all_wg);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void check_ids(void)
{
	for (long i = 0; i < total; i++) {
		if (ids_returned[i] <= 1 || ids_returned[i] != ids_seen[i])
			FAILF("goroutine %ld: gort_go returned %lld, "
			      "gort_goid() inside said %lld",
			      i, (long long)ids_returned[i],
			      (long long)ids_seen[i]);
	}
	qsort(ids_returned, (size_t)total, sizeof(int64_t), cmp_id);
	for (long i = 1; i < total; i++) {
		if (ids_returned[i] == ids_returned[i - 1])
			FAILF("goid %lld given twice",
			      (long long)ids_returned[i]);
	}
}

static int spawn_main(void *arg)
{
	int procs = (int)(intptr_t)arg;
	CHECK_EQ(gort_gomaxprocs(0), procs);
	CHECK_EQ(gort_goid(), 1);
	CHECK_EQ(gort_wg_add(&all_wg, (int)total), 0);
	for (long base = 0; base < total; base += BATCH) {
		long n = total - base < BATCH ? total - base : BATCH;
		CHECK_EQ(gort_wg_add(&batch_wg, (int)n), 0);
		for (long i = base; i < base + n; i++) {
			ids_returned[i] = gort_go(child, (void *)(intptr_t)i);
			if (ids_returned[i] < 0)
				FAILF("gort_go #%ld: %s", i, strerror(errno));
		}
		CHECK_EQ(gort_wg_wait(&batch_wg), 0);
		CHECK_EQ(atomic_load(&ran), base + n);
	}
	CHECK_EQ(gort_wg_wait(&all_wg), 0);
	CHECK_EQ(atomic_load(&ran), total);
	wait_only_main();
	check_ids();
	return 7;
}

static void run_spawn(int procs)
{
	total = SCALE(1000000);
	ids_returned = calloc((size_t)total, sizeof(int64_t));
	ids_seen = calloc((size_t)total, sizeof(int64_t));
	CHECK(ids_returned != NULL && ids_seen != NULL);
	gort_gomaxprocs(procs);
	int64_t t0 = harness_now();
	CHECK_EQ(gort_main(spawn_main, (void *)(intptr_t)procs), 7);
	fprintf(stderr, "  %ld goroutines at GOMAXPROCS=%d: %.3f s\n", total,
	        procs, (double)(harness_now() - t0) / 1e9);
	free(ids_returned);
	free(ids_seen);
}

static void spawn_procs1(void)
{
	run_spawn(1);
}

static void spawn_procs2(void)
{
	run_spawn(2);
}

int main(void)
{
	RUN_CASE(spawn_procs1, 50);
	RUN_CASE(spawn_procs2, 50);
	PASS("spawn_test");
	return 0;
}
