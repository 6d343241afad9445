/*
 * mreuse_test.c - the Ms of ended threads are reused (m.c: mfreeput,
 * mfreeget).
 *
 * A goroutine that exits locked to its thread ends that thread. Its M
 * struct stays on allm, which lock-free readers walk, so it cannot be
 * freed during the run; newm must take it again for the next thread
 * instead, or a program that keeps ending locked goroutines grows allm
 * (and checkdead's walk of it) by one M for each.
 */
#include "harness.h"

#include "gort_util.h"
#include "runtime.h"

enum { EXITS = 200 };

static gort_waitgroup exited;

static void exit_locked(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	gort_wg_done(&exited);
	/* returns locked: the thread ends */
}

static int64_t count_allm(int64_t *freed)
{
	int64_t n = 0;
	*freed = 0;
	lock(&sched.lock);
	for (m *mp = allm; mp; mp = mp->alllink) {
		n++;
		*freed += mp->freed;
	}
	unlock(&sched.lock);
	return n;
}

static int reuse_main(void *arg)
{
	(void)arg;
	int exits = SCALE(EXITS) < 20 ? 20 : SCALE(EXITS);
	for (int i = 0; i < exits; i++) {
		CHECK_EQ(gort_wg_add(&exited, 1), 0);
		CHECK(gort_go(exit_locked, NULL) > 1);
		CHECK_EQ(gort_wg_wait(&exited), 0);
	}
	int64_t freed;
	int64_t n = count_allm(&freed);
	printf("     %d locked exits: %ld Ms on allm, %ld of them freed\n", exits, (long)n,
	       (long)freed);
	/* Each exit's thread is gone long before the exit after next needs
	 * a new M; half is room for a host that stalls the ending ones. */
	if (n > exits / 2)
		FAILF("%ld Ms on allm after %d locked exits: the freed ones "
		      "were not reused", (long)n, exits);
	/* The reused Ms run goroutines as new ones do. */
	CHECK_EQ(gort_wg_add(&exited, 1), 0);
	CHECK(gort_go(exit_locked, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&exited), 0);
	return 0;
}
MAIN_CASE(reuse, reuse_main, 2)

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"reuse", reuse},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 60);
	return 0;
}
