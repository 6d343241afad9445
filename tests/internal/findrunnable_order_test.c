/*
 * findrunnable_order_test.c - where new Gs go and in which order one P runs
 * them (Go 1.19's newproc/runqput/runqputslow and findRunnable), checked
 * on the queues themselves at GOMAXPROCS=1.
 *
 * spawn300: 300 spawns from the main goroutine, inspected before it
 * yields: runnext holds 299, the local ring 128..298 except 256, the global
 * queue 0..127 then 256 (the overflow batch: the oldest half of the full
 * ring plus the G kicked out of runnext, 256, when 257 was created). Then the run order once main blocks
 * must be exactly Go's for the schedtick main had: runnext first (same time
 * slice), the ring, one global G whenever schedtick % 61 == 0, and the
 * global queue last, in batches of min(runqsize/1 + 1, 128).
 *
 * fairness: a G on the global queue runs within 61 schedticks although the
 * local queue is never empty. A plain thread queues the victim (gort_go
 * from a thread that is not an M puts it on the global queue); workers keep
 * the local ring full by each requeueing a successor at its tail (as Go's
 * goyield does) before exiting, so every pick comes from the ring and
 * starts a new schedtick. Without the 1-in-61 check the victim would wait
 * until the workers stop by themselves (WORKER_LIMIT runs).
 *
 * fairness_gosched: the same 1-in-61 look when the goroutine leaves by a
 * yield (gort_gosched): the global head runs before the local ring.
 *
 * yield_alone: a yield with nothing else to run comes straight back in a
 * new slice, as Go's gosched_m + execute: a preemption request pending
 * for the old slice is answered by it, not honoured again on the way out
 * of gort_gosched (a second yield, counted as a preemption).
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "internal_util.h"
#include "runtime.h"

enum { RUNQ = GORT_RUNQ_SIZE, NSPAWN = 300 };

static gort_waitgroup wg;

static int64_t gid(g *gp)
{
	return gp ? gp->goid : 0;
}

static void leave_fairness_tick(void)
{
	for (int i = 0; i < 3 && getm()->p->schedtick % 61 == 0; i++)
		gort_gosched();
	CHECK(getm()->p->schedtick % 61 != 0);
}

/* ---------------------------------------------------------------------
 * spawn300
 * ------------------------------------------------------------------- */

static int64_t ids[NSPAWN];
static int order[NSPAWN];
static _Atomic int norder;
static _Atomic int runs[NSPAWN];

static void counted(void *arg)
{
	int i = (int)(intptr_t)arg;
	atomic_fetch_add(&runs[i], 1);
	int k = atomic_fetch_add(&norder, 1);
	if (k < NSPAWN)
		order[k] = i;
	gort_wg_done(&wg);
}

/* A queue of spawn indices for the model. */
struct iq {
	int v[2 * NSPAWN];
	int head, tail;
};

static void iq_push(struct iq *q, int x)
{
	q->v[q->tail++] = x;
}

static int iq_pop(struct iq *q)
{
	return q->v[q->head++];
}

static int iq_len(const struct iq *q)
{
	return q->tail - q->head;
}

/* Go's findRunnable at one P from the queues asserted above, schedtick
 * starting at tick. */
static void model_order(uint32_t tick, int *out)
{
	static struct iq local, global;
	memset(&local, 0, sizeof local);
	memset(&global, 0, sizeof global);
	for (int i = 128; i <= 298; i++)
		if (i != 256)
			iq_push(&local, i);
	for (int i = 0; i <= 127; i++)
		iq_push(&global, i);
	iq_push(&global, 256);
	int next = 299;
	for (int k = 0; k < NSPAWN; k++) {
		int gi;
		if (tick % 61 == 0 && iq_len(&global) > 0) {
			gi = iq_pop(&global); /* globrunqget(p, 1) */
			tick++;
		} else if (next >= 0) {
			gi = next; /* runnext: inherits the slice */
			next = -1;
		} else if (iq_len(&local) > 0) {
			gi = iq_pop(&local);
			tick++;
		} else {
			int size = iq_len(&global);
			int n = size / 1 + 1;
			if (n > size)
				n = size;
			if (n > RUNQ / 2)
				n = RUNQ / 2;
			gi = iq_pop(&global);
			for (int j = 1; j < n; j++)
				iq_push(&local, iq_pop(&global));
			tick++;
		}
		out[k] = gi;
	}
}

static int spawn300_main(void *arg)
{
	(void)arg;
	CHECK_EQ(RUNQ, 256); /* Go's size; the facts below are Go 1.19's */
	/* No time slice may end halfway (sanitizer builds are slow). The
	 * model starts from whatever schedtick main has when it blocks. */
	p *pp = hold_p();
	CHECK_EQ(atomic_load(&gomaxprocs), 1);
	CHECK_EQ(gort_wg_add(&wg, NSPAWN), 0);
	for (int i = 0; i < NSPAWN; i++) {
		ids[i] = gort_go(counted, (void *)(intptr_t)i);
		CHECK(ids[i] > 1);
	}

	/* runnext: the newest. */
	CHECK_EQ(gid(atomic_load(&pp->runnext)), ids[299]);
	/* The ring: 128..298 but 256 (it overflowed), oldest first. */
	uint32_t h = atomic_load(&pp->runqhead), t = atomic_load(&pp->runqtail);
	CHECK_EQ(t - h, 170u);
	for (uint32_t k = 0; k < 170; k++) {
		g *gp = atomic_load(&pp->runq[(h + k) % RUNQ]);
		uint32_t want = k < 128 ? 128 + k : 129 + k;
		if (gid(gp) != ids[want])
			FAILF("ring slot %u holds goid %lld, want spawn %u (goid %lld)", k,
			      (long long)gid(gp), want, (long long)ids[want]);
		CHECK_EQ(readgstatus(gp), _Grunnable);
	}
	/* The global queue: 0..127, then 256. */
	lock(&sched.lock);
	CHECK_EQ(atomic_load(&sched.runqsize), 129);
	int k = 0;
	g *last = NULL;
	for (g *gp = sched.runq.head; gp; gp = gp->schedlink, k++) {
		int64_t want = k < 128 ? ids[k] : ids[256];
		if (k >= 129 || gp->goid != want)
			FAILF("global queue position %d holds goid %lld, want %lld", k,
			      (long long)gp->goid, (long long)want);
		last = gp;
	}
	CHECK_EQ(k, 129);
	CHECK(sched.runq.tail == last);
	unlock(&sched.lock);
	for (int i = 0; i < NSPAWN; i++)
		CHECK_EQ(atomic_load(&runs[i]), 0);

	uint32_t tick = pp->schedtick;
	CHECK_EQ(gort_wg_wait(&wg), 0);

	for (int i = 0; i < NSPAWN; i++)
		if (atomic_load(&runs[i]) != 1)
			FAILF("spawn %d ran %d times", i, atomic_load(&runs[i]));
	static int want[NSPAWN];
	model_order(tick, want);
	for (int j = 0; j < NSPAWN; j++)
		if (order[j] != want[j])
			FAILF("position %d ran spawn %d, Go 1.19 runs %d (schedtick %u "
			      "when main blocked)", j, order[j], want[j], tick);
	CHECK(runqempty(pp));
	return 0;
}

static void spawn300(void)
{
	gort_gomaxprocs(1);
	CHECK_EQ(gort_main(spawn300_main, NULL), 0);
}

/* ---------------------------------------------------------------------
 * fairness
 * ------------------------------------------------------------------- */

enum { WORKERS = 3, WORKER_LIMIT = 100000 };

static _Atomic int victim_ran;
static uint32_t victim_tick;
static int worker_runs_before;
static int64_t victim_goid;
static _Atomic int worker_runs;
static _Atomic int live_workers;

static void victim(void *arg)
{
	(void)arg;
	victim_tick = getm()->p->schedtick;
	worker_runs_before = atomic_load(&worker_runs);
	atomic_store(&victim_ran, 1);
	gort_wg_done(&wg);
}

static void worker(void *arg);

/* Create a worker at the tail of the local ring, where Go's goyield puts a
 * G (runqput(p, gp, false)): gort_go puts it in runnext, and the P's owner
 * (the caller) moves it to the tail. */
static void spawn_to_tail(void)
{
	atomic_fetch_add(&live_workers, 1);
	int64_t id = gort_go(worker, NULL);
	CHECK(id > 1);
	p *pp = getm()->p;
	bool inherit = false;
	g *gp = runqget(pp, &inherit);
	CHECK(gp != NULL && gp->goid == id && inherit);
	runqput(pp, gp, false);
}

static void worker(void *arg)
{
	(void)arg;
	int n = atomic_fetch_add(&worker_runs, 1) + 1;
	if (!atomic_load(&victim_ran) && n < WORKER_LIMIT)
		spawn_to_tail();
	atomic_fetch_sub(&live_workers, 1);
}

static void *foreign_spawn(void *arg)
{
	(void)arg;
	CHECK(getm() == NULL);
	victim_goid = gort_go(victim, NULL);
	CHECK(victim_goid > 1);
	return NULL;
}

static int fairness_main(void *arg)
{
	(void)arg;
	/* The count of worker runs is exact only if no slice ends early. */
	p *pp = hold_p();
	leave_fairness_tick();
	CHECK_EQ(gort_wg_add(&wg, 1), 0);

	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, foreign_spawn, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	lock(&sched.lock);
	CHECK_EQ(atomic_load(&sched.runqsize), 1);
	CHECK(sched.runq.head != NULL && sched.runq.head->goid == victim_goid);
	unlock(&sched.lock);

	for (int i = 0; i < WORKERS; i++)
		spawn_to_tail();
	CHECK(atomic_load(&pp->runnext) == NULL);
	CHECK_EQ(runqlen(pp), WORKERS);

	uint32_t tick = pp->schedtick;
	CHECK_EQ(gort_wg_wait(&wg), 0);
	CHECK(atomic_load(&victim_ran));

	/* findrunnable looked at the global queue first when schedtick
	 * reached a multiple of 61; every worker before that came from the
	 * ring and started a new schedtick. */
	int want = (int)((61 - tick % 61) % 61);
	if (worker_runs_before != want)
		FAILF("the global G ran after %d workers, Go 1.19 runs it after %d "
		      "(schedtick %u when main blocked)", worker_runs_before, want, tick);
	CHECK_EQ(victim_tick % 61, 1u);

	/* Let the remaining workers finish (they no longer requeue). */
	for (int i = 0; atomic_load(&live_workers) > 0; i++) {
		CHECK(i < 100000);
		gort_gosched();
	}
	return 0;
}

static void fairness(void)
{
	gort_gomaxprocs(1);
	CHECK_EQ(gort_main(fairness_main, NULL), 0);
}

/* ---------------------------------------------------------------------
 * fairness_gosched: the 1-in-61 look at the global queue is findRunnable's
 * whichever way the goroutine left: a yield too. Main yields with Y on
 * the global queue (from a plain thread) and X on the local ring. Go's
 * gosched_m puts main at the global tail and schedule() picks: at a
 * schedtick that is a multiple of 61 the global head Y first, then X,
 * then main; at any other, X first, then the global queue in one batch
 * (Y runs, main to the local queue).
 * ------------------------------------------------------------------- */

static _Atomic int yield_seq;
static int yield_pos[2]; /* 0: X, 1: Y */

static void yield_marker(void *arg)
{
	yield_pos[(intptr_t)arg] = atomic_fetch_add(&yield_seq, 1);
}

static void *foreign_spawn_y(void *arg)
{
	(void)arg;
	CHECK(gort_go(yield_marker, (void *)(intptr_t)1) > 1);
	return NULL;
}

/* One yield at a schedtick that is (fair) or is not a multiple of 61. */
static void yield_with_global(bool fair)
{
	p *pp = getm()->p;
	atomic_store(&yield_seq, 0);
	yield_pos[0] = yield_pos[1] = -1;
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, foreign_spawn_y, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	int64_t x = gort_go(yield_marker, (void *)(intptr_t)0);
	CHECK(x > 1);
	bool inherit = false;
	g *gp = runqget(pp, &inherit); /* from runnext to the ring's tail */
	CHECK(gp != NULL && gp->goid == x);
	runqput(pp, gp, false);
	CHECK_EQ(runqlen(pp), 1u);
	CHECK_EQ(atomic_load(&sched.runqsize), 1);
	/* Only the owner writes its P's schedtick; no slice may end here
	 * (debug_nopreempt), so nothing else looks at it. */
	uint32_t tick = tick_load(&pp->schedtick);
	tick = (tick / 61 + 2) * 61 + (fair ? 0 : 1);
	atomic_store(&pp->schedtick, tick);
	gort_gosched();
	CHECK_EQ(atomic_load(&yield_seq), 2);
	int first = fair ? 1 : 0;
	if (yield_pos[first] != 0 || yield_pos[1 - first] != 1)
		FAILF("a yield at schedtick %u (%s61) ran %s first, Go 1.19 runs %s",
		      tick, fair ? "a multiple of " : "not a multiple of ",
		      yield_pos[0] == 0 ? "the local X" : "the global Y",
		      fair ? "the global Y" : "the local X");
	CHECK(runqempty(pp));
	CHECK_EQ(atomic_load(&sched.runqsize), 0);
}

static int fairness_gosched_main(void *arg)
{
	(void)arg;
	hold_p();
	for (int i = 0; i < 3; i++) {
		yield_with_global(true);
		yield_with_global(false);
	}
	return 0;
}

static void fairness_gosched(void)
{
	gort_gomaxprocs(1);
	CHECK_EQ(gort_main(fairness_gosched_main, NULL), 0);
}

/* ---------------------------------------------------------------------
 * yield_alone
 * ------------------------------------------------------------------- */

static int yield_alone_main(void *arg)
{
	(void)arg;
	p *pp = hold_p(); /* only our own request */
	for (int i = 0; i < 3; i++) {
		gort_stats before, after;
		CHECK_EQ(gort_read_stats(&before), 0);
		uint32_t tick = pp->schedtick;
		atomic_store(&pp->preempt, PREEMPT_ASK);
		gort_gosched();
		CHECK_EQ(gort_read_stats(&after), 0);
		CHECK(getm()->p == pp);
		CHECK(pp->schedtick != tick);
		CHECK_EQ(atomic_load(&pp->preempt), PREEMPT_NONE);
		CHECK_EQ(after.preempt_coop, before.preempt_coop);
	}
	return 0;
}

static void yield_alone(void)
{
	gort_gomaxprocs(1);
	CHECK_EQ(gort_main(yield_alone_main, NULL), 0);
}

/* With arguments, only the cases named. */
int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"spawn300", spawn300},
		{"fairness", fairness},
		{"fairness_gosched", fairness_gosched},
		{"yield_alone", yield_alone},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 20);
	PASS("findrunnable_order_test");
	return 0;
}
