/*
 * sema_test.c - many semaphores waited on in one root of the semaphore
 * table (sema.c), whose addresses the root keeps in a treap.
 *
 * The test cannot see semroot (static in sema.c): it picks addresses the
 * way semroot hashes them, ((uintptr_t)addr >> 3) % 251, elements of one
 * big array that all land in one root. Each waiter is queued before the
 * next one comes: the test spawns it, then yields until its G is
 * _Gwaiting, which it becomes only after its sudog was queued under the
 * root's lock. So the order of every queue is known.
 *
 * mutex_p1, mutex_p2: 2,000 gort_mutexes on one root and 200 on others,
 * each locked by main and waited on by one to three goroutines, queued
 * in a random order, at GOMAXPROCS 1 and 2. Main unlocks them in a
 * random order; every waiter takes its own mutex exactly once, no two
 * at once, and the waiters of a mutex take it in the order they queued
 * (nobody else competes for it, so a woken waiter always wins). The
 * mutexes end unlocked with no unit left on their semaphores.
 *
 * raw_p1, raw_p2: semacquire1/semrelease1 on 400 addresses of one root,
 * random queueing (FIFO or lifo) and release (with handoff or not)
 * interleaved, up to 1,000 waiters at a time: the tree grows and shrinks
 * through every shape, addresses come in as leaves and rotate up both
 * ways, and go out from inside it, with two children. A model of each
 * address's queue (lifo at the head, FIFO at the tail) says which waiter
 * a release must wake; the test waits for that one, and no other may
 * return. The calls run inside rt_enter/rt_exit, as the runtime's own
 * callers make them: sysmon's hand-off would otherwise detach the P
 * from a goroutine inside them (a crash in gopark, once in 30 runs on a
 * loaded machine).
 */
#include "harness.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gort_util.h"
#include "runtime.h"

enum { SEMROOTS = 251 }; /* sema.c's SEMTABSZ */

static unsigned roothash(const void *addr)
{
	return (unsigned)(((uintptr_t)addr >> 3) % SEMROOTS);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)((rng >> 32) % n);
}

static void shuffle(int *v, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)rnd((uint32_t)i + 1), t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/* Yield until the goroutine that stored its G in *gpp is parked. */
static void wait_queued(_Atomic(g *) *gpp)
{
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
	for (;;) {
		g *gp = atomic_load(gpp);
		if (gp && atomic_load(&gp->atomicstatus) == _Gwaiting)
			return;
		if (harness_now() > deadline)
			FAILF("a waiter did not park in 10 s");
		gort_gosched();
	}
}

static gort_waitgroup wg;

/* ---------------------------------------------------------------------
 * mutexes
 * ------------------------------------------------------------------- */

#define NONE SCALE(2000)  /* mutexes on one root */
#define NOTHER SCALE(200) /* on other roots */
#define NMU (NONE + NOTHER)
enum { MAXWAITERS = 3 };

struct mwaiter {
	_Atomic(g *) gp;
	int mu;   /* index in mus */
	int rank; /* place in its mutex's queue */
	int got;  /* times it took the mutex; under the mutex */
};

static gort_mutex *arr;        /* the array the mutexes are picked from */
static gort_mutex **mus;       /* the NMU picked */
static int *nqueued;           /* waiters queued on each */
static int *nextrank;          /* the rank that takes it next; under it */
static _Atomic int *inside;    /* holders of each: at most 1 */
static struct mwaiter *mws;

static void mwaiter_run(void *arg)
{
	struct mwaiter *w = arg;
	atomic_store(&w->gp, getg());
	gort_mutex_lock(mus[w->mu]);
	CHECK_EQ(atomic_fetch_add(&inside[w->mu], 1), 0);
	CHECK_EQ(nextrank[w->mu], w->rank);
	nextrank[w->mu]++;
	w->got++;
	atomic_fetch_sub(&inside[w->mu], 1);
	gort_mutex_unlock(mus[w->mu]);
	gort_wg_done(&wg);
}

/* NONE mutexes of arr whose semaphores hash to one root, and NOTHER on
 * other roots: the k-th of those lies 1 + k % 250 elements after the
 * k-th of one root, so its semaphore is that many hash steps further
 * (a gort_mutex is 8 bytes) and the two sets never overlap. */
static void pick_mutexes(void)
{
	CHECK_EQ(sizeof(gort_mutex), 8);
	size_t n = (size_t)(NONE + 1) * SEMROOTS;
	arr = calloc(n, sizeof *arr);
	CHECK(arr != NULL);
	mus = calloc(NMU, sizeof *mus);
	CHECK(mus != NULL);
	unsigned root = roothash(&arr[0].sema);
	int k = 0;
	for (size_t i = 0; i < n && k < NONE; i++)
		if (roothash(&arr[i].sema) == root)
			mus[k++] = &arr[i];
	CHECK_EQ(k, NONE);
	for (int j = 0; j < NOTHER; j++) {
		mus[NONE + j] = mus[j] + 1 + j % (SEMROOTS - 1);
		CHECK(roothash(&mus[NONE + j]->sema) != root);
	}
}

static int mutex_main(void *arg)
{
	(void)arg;
	rng = 0x9e3779b97f4a7c15ull + (uint64_t)gort_gomaxprocs(0);
	pick_mutexes();
	nqueued = calloc(NMU, sizeof *nqueued);
	nextrank = calloc(NMU, sizeof *nextrank);
	inside = calloc(NMU, sizeof *inside);
	int *order = calloc(NMU * MAXWAITERS, sizeof *order);
	mws = calloc(NMU * MAXWAITERS, sizeof *mws);
	CHECK(nqueued && nextrank && inside && order && mws);

	int nw = 0;
	for (int i = 0; i < NMU; i++) {
		gort_mutex_lock(mus[i]);
		for (int n = 1 + (int)rnd(MAXWAITERS); n > 0; n--)
			order[nw++] = i;
	}
	shuffle(order, nw);
	gort_wg_add(&wg, nw);
	for (int j = 0; j < nw; j++) {
		struct mwaiter *w = &mws[j];
		w->mu = order[j];
		w->rank = nqueued[w->mu]++;
		gort_go(mwaiter_run, w);
		wait_queued(&w->gp);
	}

	for (int i = 0; i < NMU; i++)
		order[i] = i;
	shuffle(order, NMU);
	for (int i = 0; i < NMU; i++)
		gort_mutex_unlock(mus[order[i]]);
	gort_wg_wait(&wg);

	for (int j = 0; j < nw; j++)
		CHECK_EQ(mws[j].got, 1);
	for (int i = 0; i < NMU; i++) {
		CHECK_EQ(nextrank[i], nqueued[i]);
		CHECK_EQ(mus[i]->state, 0);
		CHECK_EQ(mus[i]->sema, 0);
	}
	free(order);
	return 0;
}

static void mutex_p1(void)
{
	run_main(mutex_main, NULL, 1);
}

static void mutex_p2(void)
{
	run_main(mutex_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * raw semaphores
 * ------------------------------------------------------------------- */

#define NADDR (SCALE(400) > 8 ? SCALE(400) : 8)
#define NSTEPS SCALE(16000)
#define MAXLIVE (SCALE(1000) > 16 ? SCALE(1000) : 16)

struct rwaiter {
	_Atomic(g *) gp;
	int addr;
	bool lifo;
	_Atomic bool done;
};

/* The queue of an address in the model: waiter indices, the first at
 * head, in a ring of MAXLIVE. */
struct rq {
	int *v;
	int head, n;
};

static uint32_t *sems;         /* NADDR semaphores on one root, spread */
static uint32_t *sem[1024];    /* the NADDR addresses */
static struct rq *rqs;
static struct rwaiter *rws;
static _Atomic int returned;

static void rwaiter_run(void *arg)
{
	struct rwaiter *w = arg;
	atomic_store(&w->gp, getg());
	g *gp = rt_enter(); /* runtime code: no hand-off of the P inside */
	semacquire1(sem[w->addr], w->lifo, waitReasonSemacquire);
	rt_exit(gp);
	atomic_fetch_add(&returned, 1);
	atomic_store(&w->done, true);
	gort_wg_done(&wg);
}

static void rq_push(struct rq *q, int w, bool lifo)
{
	CHECK(q->n < MAXLIVE);
	if (lifo)
		q->head = (q->head + MAXLIVE - 1) % MAXLIVE;
	q->v[lifo ? q->head : (q->head + q->n) % MAXLIVE] = w;
	q->n++;
}

static int rq_pop(struct rq *q)
{
	CHECK(q->n > 0);
	int w = q->v[q->head];
	q->head = (q->head + 1) % MAXLIVE;
	q->n--;
	return w;
}

/* Two uint32s share a hash step: every 2 * SEMROOTS-th lands on the
 * same root. */
static void pick_sems(void)
{
	CHECK(NADDR <= 1024);
	size_t stride = 2 * SEMROOTS;
	sems = calloc((size_t)NADDR * stride, sizeof *sems);
	CHECK(sems != NULL);
	for (int a = 0; a < NADDR; a++) {
		sem[a] = &sems[(size_t)a * stride];
		CHECK_EQ(roothash(sem[a]), roothash(sem[0]));
	}
}

static int raw_main(void *arg)
{
	(void)arg;
	rng = 0x2545f4914f6cdd1dull + (uint64_t)gort_gomaxprocs(0);
	pick_sems();
	rqs = calloc(NADDR, sizeof *rqs);
	rws = calloc(NSTEPS, sizeof *rws);
	int *live = calloc(MAXLIVE, sizeof *live); /* waiters not yet woken */
	CHECK(rqs && rws && live);
	for (int a = 0; a < NADDR; a++) {
		rqs[a].v = calloc(MAXLIVE, sizeof *rqs[a].v);
		CHECK(rqs[a].v != NULL);
	}

	int nlive = 0, nspawned = 0, nreleased = 0;
	gort_wg_add(&wg, NSTEPS);
	/* Queue more than release in the first half, fewer in the second,
	 * and release the rest at the end. */
	for (int step = 0; nspawned < NSTEPS || nlive > 0; step++) {
		bool growing = step < NSTEPS;
		bool add = nspawned < NSTEPS &&
		           (nlive == 0 || (nlive < MAXLIVE && rnd(100) < (growing ? 65u : 45u)));
		if (add) {
			struct rwaiter *w = &rws[nspawned];
			w->addr = (int)rnd(NADDR);
			w->lifo = rnd(4) == 0;
			rq_push(&rqs[w->addr], nspawned, w->lifo);
			live[nlive++] = nspawned++;
			gort_go(rwaiter_run, w);
			wait_queued(&w->gp);
			continue;
		}
		int l = (int)rnd((uint32_t)nlive);
		int a = rws[live[l]].addr;
		int want = rq_pop(&rqs[a]);
		for (int j = 0; j < nlive; j++)
			if (live[j] == want)
				live[j] = live[--nlive];
		bool handoff = rnd(4) == 0;
		g *gp = rt_enter();
		semrelease1(sem[a], handoff);
		rt_exit(gp);
		nreleased++;
		int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
		while (!atomic_load(&rws[want].done)) {
			if (harness_now() > deadline)
				FAILF("release of address %d did not wake waiter %d", a, want);
			gort_gosched();
		}
		CHECK_EQ(atomic_load(&returned), nreleased);
	}
	gort_wg_wait(&wg);
	CHECK_EQ(atomic_load(&returned), NSTEPS);
	for (int a = 0; a < NADDR; a++) {
		CHECK_EQ(*sem[a], 0);
		free(rqs[a].v);
	}
	free(live);
	return 0;
}

static void raw_p1(void)
{
	run_main(raw_main, NULL, 1);
}

static void raw_p2(void)
{
	run_main(raw_main, NULL, 2);
}

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"mutex_p1", mutex_p1},
		{"mutex_p2", mutex_p2},
		{"raw_p1", raw_p1},
		{"raw_p2", raw_p2},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 60);
	PASS("sema_test");
	return 0;
}
