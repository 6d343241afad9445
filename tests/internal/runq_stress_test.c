/*
 * runq_stress_test.c - the local run queue under contention, without the
 * scheduler: one owner thread pushes and pops on its P while thief threads
 * steal from it (and from each other) with runqsteal into their own Ps and
 * drain those with runqget. Overflows go through runqputslow to the global
 * queue, which thieves also take batches from (globrunqget). Every G must
 * be taken exactly once: none lost, none duplicated.
 *
 * The Ps and Gs are private structs; the queue functions touch only them
 * and, for the global queue, sched.runq under sched.lock. globrunqget
 * divides by gomaxprocs, which is set to 1 for the test and reset after.
 *
 * The owner works in rounds of ROUND Gs: it pushes them all (to runnext
 * one push in 8, to the ring otherwise), popping some as it goes in one of
 * three patterns (queue filling up and overflowing, queue kept nearly
 * empty, bursts), or, one round in four, in runqputbatch batches that
 * overflow to the global queue; then it drains its own queue and the
 * global queue, waits until every G of the round has been consumed
 * somewhere, checks that each was seen once, and reuses the Gs for the
 * next round. It stops after TOTAL Gs
 * or TIME_LIMIT_S seconds, whichever comes first.
 *
 * Before the threads start, a few exact single-threaded facts of the
 * 256-slot queue (Go 1.19's sizes) are checked.
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

enum { NTHIEVES = 3, ROUND = 1 << 14 };

#ifdef GORT_TEST_SANITIZED
#define TOTAL 400000
#else
#define TOTAL 8000000
#endif
#define TIME_LIMIT_S 5.0

static g *gs;                       /* ROUND private Gs, reused every round */
static _Atomic uint8_t seen[ROUND]; /* times each G was taken this round */
static _Atomic int64_t consumed;    /* Gs taken this round */
static _Atomic int stop;
static p *owner;
static p *thief[NTHIEVES];

static _Atomic int64_t n_owner, n_stolen, n_steals, n_global;

static p *new_p(int32_t id)
{
	p *pp = aligned_alloc(CACHE_LINE, sizeof *pp);
	CHECK(pp != NULL);
	memset(pp, 0, sizeof *pp);
	pp->id = id;
	/* Running: a thief stealing its runnext naps 3 µs first, as in Go. */
	atomic_store(&pp->status, _Prunning);
	return pp;
}

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static void consume(g *gp, _Atomic int64_t *counter)
{
	ptrdiff_t i = gp - gs;
	if (i < 0 || i >= ROUND)
		FAILF("a G that was never queued came out: %p", (void *)gp);
	if (gp->goid != i)
		FAILF("G %td has goid %lld", i, (long long)gp->goid);
	uint8_t before = atomic_fetch_add_explicit(&seen[i], 1, memory_order_relaxed);
	if (before != 0)
		FAILF("G %td was taken twice", i);
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&consumed, 1, memory_order_release);
}

/* Take everything from pp's queue (the caller owns pp). */
static void drain(p *pp, _Atomic int64_t *counter)
{
	bool inherit;
	g *gp;
	while ((gp = runqget(pp, &inherit)) != NULL)
		consume(gp, counter);
}

/* One batch from the global queue into pp; false when it was empty. */
static bool take_global(p *pp)
{
	lock(&sched.lock);
	g *gp = globrunqget(pp, 0);
	unlock(&sched.lock);
	if (!gp)
		return false;
	consume(gp, &n_global);
	drain(pp, &n_global);
	return true;
}

static void *thief_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	p *mine = thief[id];
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint32_t x = rnd(&s);
		p *victim = owner;
		if (NTHIEVES > 1 && x % 8 >= 6)
			victim = thief[(id + 1 + (int)(x / 8 % (NTHIEVES - 1))) % NTHIEVES];
		bool stealnext = (x >> 12) % 4 == 0;
		g *gp = runqsteal(mine, victim, stealnext);
		if (gp) {
			atomic_fetch_add_explicit(&n_steals, 1, memory_order_relaxed);
			consume(gp, &n_stolen);
			drain(mine, &n_stolen);
			continue;
		}
		if ((x >> 16) % 16 == 0 && atomic_load(&sched.runqsize) > 0)
			take_global(mine);
		else if ((x >> 20) % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * Exact single-threaded facts first.
 * ------------------------------------------------------------------- */

static int global_ids(int64_t *out, int max)
{
	int n = 0;
	lock(&sched.lock);
	for (g *gp = sched.runq.head; gp; gp = gp->schedlink) {
		if (n < max)
			out[n] = gp->goid;
		n++;
	}
	CHECK_EQ(atomic_load(&sched.runqsize), n);
	unlock(&sched.lock);
	return n;
}

static void exact_facts(void)
{
	enum { N = GORT_RUNQ_SIZE }; /* Go's 256 in the normal build */
	p *pp = new_p(0);
	p *p2 = new_p(1);
	bool inherit;
	int64_t ids[N];

	/* N tail pushes fill the ring; one more moves the oldest half and
	 * the new G, in order, to the global queue. */
	for (int i = 0; i <= N; i++)
		runqput(pp, &gs[i], false);
	CHECK_EQ(runqlen(pp), N / 2);
	int n = global_ids(ids, N);
	CHECK_EQ(n, N / 2 + 1);
	for (int i = 0; i < N / 2; i++)
		CHECK_EQ(ids[i], i);
	CHECK_EQ(ids[N / 2], N);
	for (int i = N / 2; i < N; i++)
		CHECK(runqget(pp, &inherit) == &gs[i] && !inherit);
	CHECK(runqempty(pp));

	/* globrunqget at GOMAXPROCS=1 takes 129/1+1 capped at N/2 = 128:
	 * the head to run, 127 to the local queue. */
	lock(&sched.lock);
	g *gp = globrunqget(pp, 0);
	unlock(&sched.lock);
	CHECK(gp == &gs[0]);
	CHECK_EQ(runqlen(pp), N / 2 - 1);
	CHECK_EQ(global_ids(ids, N), 1);
	CHECK_EQ(ids[0], N);
	for (int i = 1; i < N / 2; i++)
		CHECK(runqget(pp, &inherit) == &gs[i]);
	lock(&sched.lock);
	CHECK(globrunqget(pp, 0) == &gs[N]);
	CHECK(globrunqget(pp, 0) == NULL);
	unlock(&sched.lock);
	CHECK(runqempty(pp));

	/* A full ring loses half to a thief: the oldest N/2, the last of them
	 * returned, the others on the thief's ring in order. */
	for (int i = 0; i < N; i++)
		runqput(pp, &gs[i], false);
	CHECK(runqsteal(p2, pp, false) == &gs[N / 2 - 1]);
	CHECK_EQ(runqlen(p2), N / 2 - 1);
	CHECK_EQ(runqlen(pp), N / 2);
	for (int i = 0; i < N / 2 - 1; i++)
		CHECK(runqget(p2, &inherit) == &gs[i]);
	for (int i = N / 2; i < N; i++)
		CHECK(runqget(pp, &inherit) == &gs[i]);
	CHECK(runqempty(pp) && runqempty(p2));

	/* A batch into a ring with 10 free slots: 10 go to the ring after
	 * what was there, the other 10 to the global queue, in order. The
	 * ring keeps its own Gs (n runqput calls would have moved half of
	 * them to the global queue). */
	for (int i = 0; i < N - 10; i++)
		runqput(pp, &gs[i], false);
	gqueue q = {NULL, NULL};
	for (int i = N; i < N + 20; i++)
		gpush(&q, &gs[i]);
	runqputbatch(pp, &q, 20);
	CHECK(q.head == NULL && q.tail == NULL);
	CHECK_EQ(runqlen(pp), N);
	CHECK_EQ(global_ids(ids, N), 10);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(ids[i], N + 10 + i);
	for (int i = 0; i < N - 10; i++)
		CHECK(runqget(pp, &inherit) == &gs[i]);
	for (int i = N; i < N + 10; i++)
		CHECK(runqget(pp, &inherit) == &gs[i]);
	lock(&sched.lock);
	for (int i = N + 10; i < N + 20; i++)
		CHECK(globrunqget(pp, 1) == &gs[i]);
	unlock(&sched.lock);
	CHECK(runqempty(pp));
	free(pp);
	free(p2);
}

/* ---------------------------------------------------------------------
 * The stress.
 * ------------------------------------------------------------------- */

static void check_round(int64_t round)
{
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
	while (atomic_load_explicit(&consumed, memory_order_acquire) < ROUND) {
		if (harness_now() > deadline)
			FAILF("round %lld: only %lld of %d Gs came out", (long long)round,
			      (long long)atomic_load(&consumed), ROUND);
		sched_yield();
	}
	CHECK_EQ(atomic_load(&consumed), ROUND);
	for (int i = 0; i < ROUND; i++) {
		int c = atomic_load_explicit(&seen[i], memory_order_relaxed);
		if (c != 1)
			FAILF("round %lld: G %d taken %d times", (long long)round, i, c);
	}
	CHECK(runqempty(owner));
	lock(&sched.lock);
	CHECK(sched.runq.head == NULL && sched.runq.tail == NULL);
	CHECK_EQ(atomic_load(&sched.runqsize), 0);
	unlock(&sched.lock);
}

static void pop_one(void)
{
	bool inherit;
	g *gp = runqget(owner, &inherit);
	if (gp)
		consume(gp, &n_owner);
}

/* A round of single pushes, popping as mode says. */
static void push_singly(int mode, uint64_t *s)
{
	for (int i = 0; i < ROUND; i++) {
		uint32_t x = rnd(s);
		runqput(owner, &gs[i], x % 8 == 0);
		bool pop;
		if (mode == 0) /* the ring fills: overflows race with thieves */
			pop = (x >> 3) % 16 < 5;
		else if (mode == 1) /* nearly empty: head and runnext races */
			pop = (x >> 3) % 16 != 0;
		else /* bursts of 192 pushes, then as many pops */
			pop = i % 384 >= 192;
		if (pop)
			pop_one();
		if (mode == 2 && i % 384 == 191)
			sched_yield(); /* let thieves at the full ring */
	}
}

/* A round of runqputbatch calls of 1..64 Gs, each followed by fewer pops
 * on average (0..47), so the ring fills and batches overflow to the
 * global queue while thieves steal. */
static void push_batches(uint64_t *s)
{
	for (int i = 0; i < ROUND;) {
		uint32_t x = rnd(s);
		int k = 1 + (int)(x % 64);
		if (k > ROUND - i)
			k = ROUND - i;
		gqueue q = {NULL, NULL};
		for (int j = 0; j < k; j++)
			gpush(&q, &gs[i + j]);
		runqputbatch(owner, &q, k);
		i += k;
		for (int j = (int)((x >> 8) % 48); j > 0; j--)
			pop_one();
	}
}

int main(void)
{
	gs = calloc(ROUND, sizeof *gs);
	CHECK(gs != NULL);
	for (int i = 0; i < ROUND; i++) {
		gs[i].goid = i;
		atomic_store(&gs[i].atomicstatus, _Grunnable);
	}
	atomic_store(&gomaxprocs, 1);

	exact_facts();
	PASS("runq_stress exact facts");

	owner = new_p(0);
	for (int t = 0; t < NTHIEVES; t++)
		thief[t] = new_p(t + 1);
	pthread_t th[NTHIEVES];
	for (int t = 0; t < NTHIEVES; t++)
		CHECK_EQ(pthread_create(&th[t], NULL, thief_main, (void *)(intptr_t)t), 0);

	uint64_t s = 88172645463325252ull;
	int64_t t0 = harness_now();
	int64_t total = 0, rounds = 0;
	do {
		for (int i = 0; i < ROUND; i++)
			atomic_store_explicit(&seen[i], 0, memory_order_relaxed);
		atomic_store(&consumed, 0);
		int mode = (int)(rounds % 4);
		if (mode == 3)
			push_batches(&s);
		else
			push_singly(mode, &s);
		drain(owner, &n_owner);
		while (take_global(owner))
			;
		check_round(rounds);
		total += ROUND;
		rounds++;
	} while (total < TOTAL && harness_now() - t0 < (int64_t)(TIME_LIMIT_S * 1e9));

	atomic_store(&stop, 1);
	for (int t = 0; t < NTHIEVES; t++)
		CHECK_EQ(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < NTHIEVES; t++) {
		CHECK(runqempty(thief[t]));
		free(thief[t]);
	}
	CHECK(runqempty(owner));
	free(owner);
	atomic_store(&gomaxprocs, 0);

	printf("runq_stress: %lld Gs in %lld rounds, %.2f s: owner took %lld, "
	       "thieves stole %lld in %lld steals, %lld via the global queue\n",
	       (long long)total, (long long)rounds, (double)(harness_now() - t0) / 1e9,
	       (long long)n_owner, (long long)n_stolen, (long long)n_steals,
	       (long long)n_global);
	CHECK_EQ(atomic_load(&n_owner) + atomic_load(&n_stolen) + atomic_load(&n_global),
	         total);
	CHECK(atomic_load(&n_steals) > 0);
	free(gs);
	PASS("runq_stress_test");
	return 0;
}
