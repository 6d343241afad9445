/*
 * wg_test proves gort_waitgroup's semantics across goroutines:
 *  - Add/Done/Wait: Wait returns only after every Done, with Done called
 *    from many goroutines at once (GOMAXPROCS 1 and 4), and Add with
 *    deltas > 1 or from goroutines;
 *  - reuse: the same waitgroup goes through many rounds from zero;
 *  - many waiters: 200 goroutines waiting on one waitgroup all stay parked
 *    until the last Done and are all released by it;
 *  - Wait on a zero waitgroup returns at once (in a goroutine and on a
 *    thread with no runtime), and a zero-initialised waitgroup is empty;
 *  - a Done refused with ERANGE (on a zero waitgroup) leaves it zero: a
 *    Wait on another thread at that moment keeps returning;
 *  - Add(0) from plain threads beside rounds ending with waiters leaves
 *    each round's waitgroup empty, no unit left on its semaphore;
 *  - Add concurrent with Wait (Go's misuse): plain threads beginning
 *    rounds from zero beside rounds ending with waiters may make a Wait
 *    fail with EBUSY but corrupt nothing: no waiter left counted, no
 *    unit left over, the counter never negative;
 *  - a Wait that finds the waitgroup reused (a new round begun) before it
 *    returned fails with EBUSY rather than return on a counter above zero.
 */
#include "gort_util.h"

/* ---------------------------------------------------------------------
 * Add / Done / Wait
 * ------------------------------------------------------------------- */

#define WORKERS SCALE(1000)

static atomic_long work_done;
static gort_waitgroup work_wg;

static void work(void *arg)
{
	long yields = (long)(intptr_t)arg;
	for (long i = 0; i < yields; i++)
		gort_gosched();
	atomic_fetch_add(&work_done, 1);
	CHECK_EQ(gort_wg_done(&work_wg), 0);
}

/* adder adds for two more workers from inside a goroutine. */
static void adder(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&work_wg, 2), 0);
	CHECK(gort_go(work, (void *)(intptr_t)3) > 1);
	CHECK(gort_go(work, (void *)(intptr_t)0) > 1);
	atomic_fetch_add(&work_done, 1);
	CHECK_EQ(gort_wg_done(&work_wg), 0); /* the adder's own count */
}

static int add_done_wait_main(void *arg)
{
	(void)arg;
	for (int round = 0; round < 5; round++) {
		atomic_store(&work_done, 0);
		CHECK_EQ(gort_wg_add(&work_wg, WORKERS / 2), 0);
		CHECK_EQ(gort_wg_add(&work_wg, WORKERS / 2), 0);
		for (int i = 0; i < WORKERS; i++)
			CHECK(gort_go(work, (void *)(intptr_t)(i % 7)) > 1);
		CHECK_EQ(gort_wg_add(&work_wg, 1), 0);
		CHECK(gort_go(adder, NULL) > 1);
		CHECK_EQ(gort_wg_wait(&work_wg), 0);
		CHECK_EQ(atomic_load(&work_done), WORKERS + 3);
	}
	return 0;
}

static void add_done_wait(void)
{
	run_main(add_done_wait_main, NULL, 1);
	run_main(add_done_wait_main, NULL, 4);
}

/* ---------------------------------------------------------------------
 * Reuse
 * ------------------------------------------------------------------- */

#define ROUNDS SCALE(300)
#define PER_ROUND 10

static atomic_long round_count;
static gort_waitgroup reuse_wg;

static void round_worker(void *arg)
{
	(void)arg;
	gort_gosched();
	atomic_fetch_add(&round_count, 1);
	gort_wg_done(&reuse_wg);
}

static int reuse_main(void *arg)
{
	(void)arg;
	for (long r = 1; r <= ROUNDS; r++) {
		CHECK_EQ(gort_wg_add(&reuse_wg, PER_ROUND), 0);
		for (int i = 0; i < PER_ROUND; i++)
			CHECK(gort_go(round_worker, NULL) > 1);
		CHECK_EQ(gort_wg_wait(&reuse_wg), 0);
		CHECK_EQ(atomic_load(&round_count), r * PER_ROUND);
		CHECK_EQ(gort_wg_wait(&reuse_wg), 0); /* zero again: at once */
	}
	return 0;
}

static void reuse(void)
{
	run_main(reuse_main, NULL, 1);
	atomic_store(&round_count, 0);
	run_main(reuse_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * Many waiters
 * ------------------------------------------------------------------- */

#define WAITERS 200

static gort_waitgroup gate;
static gort_waitgroup waiting;   /* waiters about to wait */
static gort_waitgroup released;  /* waiters past the gate */
static atomic_int passed;
static atomic_bool opened;
static atomic_int early;

static void waiter(void *arg)
{
	(void)arg;
	gort_wg_done(&waiting);
	CHECK_EQ(gort_wg_wait(&gate), 0);
	if (!atomic_load(&opened))
		atomic_fetch_add(&early, 1);
	atomic_fetch_add(&passed, 1);
	gort_wg_done(&released);
}

static void opener(void *arg)
{
	(void)arg;
	atomic_store(&opened, true);
	CHECK_EQ(gort_wg_done(&gate), 0);
}

static int waiters_main(void *arg)
{
	(void)arg;
	atomic_store(&passed, 0);
	atomic_store(&opened, false);
	CHECK_EQ(gort_wg_add(&gate, 1), 0);
	CHECK_EQ(gort_wg_add(&waiting, WAITERS), 0);
	CHECK_EQ(gort_wg_add(&released, WAITERS), 0);
	for (int i = 0; i < WAITERS; i++)
		CHECK(gort_go(waiter, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&waiting), 0);
	for (int i = 0; i < 200; i++)
		gort_gosched(); /* give them every chance to pass early */
	CHECK_EQ(atomic_load(&passed), 0);
	CHECK(gort_go(opener, NULL) > 1); /* done from another goroutine */
	CHECK_EQ(gort_wg_wait(&released), 0);
	CHECK_EQ(atomic_load(&passed), WAITERS);
	CHECK_EQ(atomic_load(&early), 0);
	CHECK_EQ(gort_wg_wait(&gate), 0);
	return 0;
}

static void many_waiters(void)
{
	run_main(waiters_main, NULL, 1);
	run_main(waiters_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * Zero waitgroup
 * ------------------------------------------------------------------- */

static gort_waitgroup zero_wg;
static atomic_int zero_waited;

static void wait_zero(void *arg)
{
	gort_waitgroup *wg = arg;
	CHECK_EQ(gort_wg_wait(wg), 0);
	atomic_fetch_add(&zero_waited, 1);
}

static int zero_main(void *arg)
{
	(void)arg;
	gort_waitgroup local = {0};
	CHECK_EQ(gort_wg_wait(&local), 0);
	CHECK_EQ(gort_wg_wait(&zero_wg), 0);
	/* One P: the waiter runs when main yields and must not park. */
	CHECK(gort_go(wait_zero, &zero_wg) > 1);
	CHECK(gort_go(wait_zero, &zero_wg) > 1);
	int64_t deadline = gort_nanotime() + 5LL * 1000000000;
	while (atomic_load(&zero_waited) != 2 &&
	       gort_nanotime() < deadline)
		gort_gosched();
	CHECK_EQ(atomic_load(&zero_waited), 2);
	return 0;
}

static void zero_wait(void)
{
	gort_waitgroup wg = {0};
	CHECK_EQ(gort_wg_wait(&wg), 0); /* no runtime: returns at once */
	run_main(zero_main, NULL, 1);
}

/* ---------------------------------------------------------------------
 * A refused Done beside Wait
 * ------------------------------------------------------------------- */

/* A Done on a zero waitgroup is refused (ERANGE) and leaves it zero:
 * a Wait at that moment must still return, not wait for a zero that is
 * already there. Plain threads, no runtime: one Dones in a loop, the
 * other Waits in a loop; the waiter must keep returning. */
static gort_waitgroup refused_wg;
static atomic_bool refused_stop;
static atomic_long refused_waits;

static void *refused_doner(void *arg)
{
	(void)arg;
	while (!atomic_load(&refused_stop)) {
		CHECK_EQ(gort_wg_done(&refused_wg), -1);
		CHECK_EQ(errno, ERANGE);
	}
	return NULL;
}

static void *refused_waiter(void *arg)
{
	(void)arg;
	while (!atomic_load(&refused_stop)) {
		CHECK_EQ(gort_wg_wait(&refused_wg), 0);
		atomic_fetch_add(&refused_waits, 1);
	}
	return NULL;
}

static void refused_done(void)
{
	pthread_t d, w;
	CHECK_EQ(pthread_create(&d, NULL, refused_doner, NULL), 0);
	CHECK_EQ(pthread_create(&w, NULL, refused_waiter, NULL), 0);
	/* Each 100 ms slice, the waiter must have returned again; on a
	 * loaded machine (an emulator above all) the doner can be off the
	 * CPU for longer between its add and the undo, the counter
	 * negative all that time: hung is no return for seconds. */
	for (int slice = 0; slice < 10; slice++) {
		long before = atomic_load(&refused_waits);
		usleep(100000);
		int64_t dl = harness_now() + (int64_t)(harness_timeout(5) * 1e9);
		while (atomic_load(&refused_waits) == before && harness_now() < dl)
			usleep(1000);
		if (atomic_load(&refused_waits) == before)
			FAILF("gort_wg_wait hung on a zero waitgroup (state %#llx)",
			      (unsigned long long)refused_wg.state);
	}
	atomic_store(&refused_stop, true);
	CHECK_EQ(pthread_join(d, NULL), 0);
	CHECK_EQ(pthread_join(w, NULL), 0);
	CHECK_EQ(refused_wg.state, 0);
}

/* ---------------------------------------------------------------------
 * Adds of plain threads beside the rounds' ends
 * ------------------------------------------------------------------- */

/* Rounds that end with waiters (main and a goroutine wait, a worker
 * Dones) while two plain threads make Adds of their own in a loop
 * (race.adder); after each round race.check looks at the waitgroup. Up
 * to a million rounds, or one second. */
#define RACE_ROUNDS 1000000

static struct {
	gort_waitgroup wg;
	gort_waitgroup back;      /* the round's waiter goroutine */
	atomic_bool stop;
	atomic_int refused;       /* Adds and Dones that failed */
	atomic_int failed;        /* Waits that failed (but with EBUSY) */
	bool busy_ok;             /* a Wait may fail with EBUSY */
	void (*adder_step)(void); /* one step of the plain threads' loop */
	void (*check)(long round);
} race;

static void race_count(int rc)
{
	if (rc != 0)
		atomic_fetch_add(&race.refused, 1);
}

static void *race_adder(void *arg)
{
	(void)arg;
	while (!atomic_load(&race.stop))
		race.adder_step();
	return NULL;
}

static void race_wait(void)
{
	if (gort_wg_wait(&race.wg) == 0)
		return;
	if (race.busy_ok)
		CHECK_EQ(read_errno(), EBUSY);
	else
		atomic_fetch_add(&race.failed, 1);
}

static void race_worker(void *arg)
{
	(void)arg;
	race_count(gort_wg_done(&race.wg));
}

static void race_waiter(void *arg)
{
	(void)arg;
	race_wait();
	CHECK_EQ(gort_wg_done(&race.back), 0);
}

static void race_fail(long r, const char *want)
{
	atomic_store(&race.stop, true);
	FAILF("round %ld: state %#llx, %u units on the semaphore, %d Adds "
	      "refused, %d Waits failed; want %s",
	      r, (unsigned long long)__atomic_load_n(&race.wg.state, __ATOMIC_ACQUIRE),
	      __atomic_load_n(&race.wg.sema, __ATOMIC_ACQUIRE), atomic_load(&race.refused),
	      atomic_load(&race.failed), want);
}

static int race_main(void *arg)
{
	const char *name = arg;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, race_adder, NULL), 0);
	int64_t dl = gort_nanotime() + 1000 * MS; /* whichever ends first */
	long r;
	for (r = 0; r < RACE_ROUNDS && gort_nanotime() < dl; r++) {
		CHECK_EQ(gort_wg_add(&race.wg, 1), 0);
		CHECK_EQ(gort_wg_add(&race.back, 1), 0);
		CHECK(gort_go(race_waiter, NULL) > 1);
		CHECK(gort_go(race_worker, NULL) > 1);
		race_wait();
		CHECK_EQ(gort_wg_wait(&race.back), 0);
		race.check(r);
	}
	atomic_store(&race.stop, true);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	race.check(r);
	CHECK_EQ(__atomic_load_n(&race.wg.state, __ATOMIC_ACQUIRE), 0);
	printf("     %s: %ld rounds\n", name, r);
	return 0;
}

/* Add(0) beside the last Done. Add(0) changes nothing, and Go asks
 * nothing of when it is called (its rule is for positive deltas). An
 * Add(0) that came between the last Done and its taking the waiters out
 * of state saw a zero counter with waiters too, and released them a
 * second time: the waiters were subtracted twice, which borrowed from
 * the counter (state all ones: counter -1, 2^32-1 waiters), and the
 * extra units stayed on the semaphore. After each round the waitgroup
 * must be empty with no unit left, and no call may have failed. */
static void zero_step(void)
{
	race_count(gort_wg_add(&race.wg, 0));
}

static void zero_check(long r)
{
	if (__atomic_load_n(&race.wg.state, __ATOMIC_ACQUIRE) != 0 ||
	    __atomic_load_n(&race.wg.sema, __ATOMIC_ACQUIRE) != 0 ||
	    atomic_load(&race.refused) != 0 || atomic_load(&race.failed) != 0)
		race_fail(r, "all 0");
}

static void race_run(const char *name, bool busy_ok, void (*step)(void), void (*check)(long))
{
	race.busy_ok = busy_ok;
	race.adder_step = step;
	race.check = check;
	run_main(race_main, (void *)name, 2);
}

static void add_zero(void)
{
	race_run("add_zero", false, zero_step, zero_check);
}

/* Go's misuse "Add called concurrently with Wait": the plain threads
 * Add(1) and Done, each pair a round of its own begun from zero. Go
 * panics; here a Wait may fail with EBUSY, but nothing may be lost or
 * corrupted. A Done of an early round could find the waiters of the
 * round just ended still counted and take them out of state as well as
 * the Done that ended it: the second subtraction borrowed from the
 * counter (state all ones), and the next Add from there released 2^32-1
 * units, hanging. After each round no waiter may be left counted and no
 * unit on the semaphore, the counter never negative, no Add refused. */
static void early_step(void)
{
	race_count(gort_wg_add(&race.wg, 1));
	race_count(gort_wg_done(&race.wg));
}

static void early_check(long r)
{
	uint64_t state = __atomic_load_n(&race.wg.state, __ATOMIC_ACQUIRE);
	if ((uint32_t)state != 0 || (int32_t)(state >> 32) < 0 ||
	    __atomic_load_n(&race.wg.sema, __ATOMIC_ACQUIRE) != 0 ||
	    atomic_load(&race.refused) != 0)
		race_fail(r, "no waiter, a counter >= 0, 0 units, 0 refused");
}

static void add_during_wait(void)
{
	race_run("add_during_wait", true, early_step, early_check);
}

/* ---------------------------------------------------------------------
 * Reused before a previous Wait returned
 * ------------------------------------------------------------------- */

/* Go panics with "WaitGroup is reused before previous Wait has
 * returned": at one P, the round's last Done readies the old waiter, and
 * before it runs main starts a new round and waits on it. The wake-up
 * meant for the old waiter must not let main return on a counter of 1:
 * its Wait fails with EBUSY. A main preempted between the Done and its
 * Wait (a loaded machine) lets the old waiter run first; main then
 * parks in a correct round, ended by the releaser, and tries again. */
static gort_waitgroup early_wg;
static atomic_bool early_old_back;
static atomic_bool early_main_back;

static void early_old_waiter(void *arg)
{
	(void)arg;
	/* EBUSY where main was held up between its Add and its Wait: the
	 * old waiter then ran first and saw the new round. */
	write_errno(0);
	if (gort_wg_wait(&early_wg) != 0)
		CHECK_EQ(read_errno(), EBUSY);
	atomic_store(&early_old_back, true);
}

/* Ends main's round once the old waiter is back. Main, preempted right
 * after its Done, may not have begun that round yet: the Done is then
 * refused (the counter would go below zero), changes nothing, and is
 * tried again. */
static void early_releaser(void *arg)
{
	(void)arg;
	while (!atomic_load(&early_main_back)) {
		if (atomic_load(&early_old_back) && gort_wg_done(&early_wg) == 0)
			return;
		gort_sleep(MS);
	}
}

static int reused_early_main(void *arg)
{
	(void)arg;
	for (int attempt = 0; attempt < 20; attempt++) {
		early_wg = (gort_waitgroup){0};
		atomic_store(&early_old_back, false);
		atomic_store(&early_main_back, false);
		CHECK_EQ(gort_wg_add(&early_wg, 1), 0);
		CHECK(gort_go(early_old_waiter, NULL) > 1);
		while ((uint32_t)__atomic_load_n(&early_wg.state, __ATOMIC_ACQUIRE) == 0)
			gort_gosched();
		gort_sleep(5 * MS); /* counted: now parked */
		CHECK(gort_go(early_releaser, NULL) > 1);
		CHECK_EQ(gort_wg_done(&early_wg), 0); /* readies the old waiter */
		CHECK_EQ(gort_wg_add(&early_wg, 1), 0); /* too early */
		write_errno(0);
		int r = gort_wg_wait(&early_wg);
		int e = read_errno();
		atomic_store(&early_main_back, true);
		if (r == 0) {
			/* Only the round the releaser ended may let it go. */
			if (!atomic_load(&early_old_back))
				FAILF("gort_wg_wait returned 0 on a waitgroup reused before "
				      "its previous Wait returned (counter %d)",
				      (int)(__atomic_load_n(&early_wg.state, __ATOMIC_ACQUIRE) >> 32));
			gort_sleep(5 * MS); /* the releaser is done */
			continue;
		}
		CHECK_EQ(r, -1);
		CHECK_EQ(e, EBUSY);
		/* The new round ends; the old waiter, woken late, returns. */
		CHECK_EQ(gort_wg_done(&early_wg), 0);
		int64_t dl = gort_nanotime() + (int64_t)(harness_timeout(5) * 1e9);
		while (!atomic_load(&early_old_back) && gort_nanotime() < dl)
			gort_sleep(MS);
		CHECK(atomic_load(&early_old_back));
		CHECK_EQ(gort_wg_wait(&early_wg), 0);
		return 0;
	}
	printf("     reused_early: never reached main's Wait first; skipped\n");
	return 0;
}

MAIN_CASE(reused_early, reused_early_main, 1)

int main(void)
{
	RUN_CASE(add_done_wait, 30);
	RUN_CASE(reuse, 30);
	RUN_CASE(many_waiters, 30);
	RUN_CASE(zero_wait, 30);
	RUN_CASE(refused_done, 30);
	RUN_CASE(add_zero, 10);
	RUN_CASE(add_during_wait, 10);
	RUN_CASE(reused_early, 30);
	PASS("wg_test");
	return 0;
}
