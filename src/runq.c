/*
 * runq.c - the run queues: each P's lock-free ring plus runnext, and the
 * global queue (Go's runqput, runqget, runqgrab, runqsteal, globrunq*).
 *
 * Local queue invariants:
 *  - Only the P's owner writes runqtail and the free slots from runqtail
 *    on. It publishes them with a release store of runqtail, so a reader
 *    that acquires runqtail sees the Gs in them.
 *  - runqhead only moves forward, by CAS, from the owner (runqget) or a
 *    thief (runqgrab); a CAS that wins owns the Gs it skipped.
 *  - 0 <= runqtail - runqhead <= GORT_RUNQ_SIZE, in uint32 arithmetic.
 *  - A thief may read a slot that the owner is refilling at the same time
 *    (its head went stale); its CAS then fails and it discards what it
 *    read. The slots are atomics so that this is a benign race in the C
 *    memory model too.
 *  - runnext is owned by the P's owner for writing new Gs; anyone may CAS
 *    it to NULL to take the G (the owner in runqget, a thief in the last
 *    steal round).
 *
 * The global queue is a FIFO linked through g->schedlink, guarded by
 * sched.lock, with sched.runqsize its length.
 */
#include "runtime.h"
#include "trace.h"

#define RUNQ_MASK (GORT_RUNQ_SIZE - 1)

static inline uint32_t load_acq(_Atomic uint32_t *a)
{
	return atomic_load_explicit(a, memory_order_acquire);
}

static inline g *slot_load(p *pp, uint32_t i)
{
	return atomic_load_explicit(&pp->runq[i & RUNQ_MASK], memory_order_relaxed);
}

static inline void slot_store(p *pp, uint32_t i, g *gp)
{
	atomic_store_explicit(&pp->runq[i & RUNQ_MASK], gp, memory_order_relaxed);
}

/* Whether pp has nothing to run. It reads head, tail and runnext
 * consistently: a G moving from runnext to the ring between two reads
 * must not make the queue look empty. */
bool runqempty(p *pp)
{
	for (;;) {
		uint32_t head = load_acq(&pp->runqhead);
		uint32_t tail = load_acq(&pp->runqtail);
		g *next = atomic_load_explicit(&pp->runnext, memory_order_acquire);
		if (tail == load_acq(&pp->runqtail))
			return head == tail && next == NULL;
	}
}

uint32_t runqlen(p *pp)
{
	uint32_t head = load_acq(&pp->runqhead);
	uint32_t tail = load_acq(&pp->runqtail);
	return tail - head;
}

/* The oldest half of a full local queue plus gp go to the global queue
 * in one batch (FIFO; Go shuffles only under its race detector). Fails
 * when a thief emptied part of the queue meanwhile. */
static bool runqputslow(p *pp, g *gp, uint32_t head, uint32_t tail)
{
	enum { HALF = GORT_RUNQ_SIZE / 2 };
	g *batch[HALF + 1];
	uint32_t n = (tail - head) / 2;
	if (n != HALF)
		throw("runqputslow: queue is not full");
	for (uint32_t i = 0; i < n; i++)
		batch[i] = slot_load(pp, head + i);
	if (!atomic_compare_exchange_strong_explicit(&pp->runqhead, &head, head + n,
	        memory_order_release, memory_order_relaxed))
		return false;
	batch[n] = gp;
	for (uint32_t i = 0; i < n; i++)
		batch[i]->schedlink = batch[i + 1];
	gp->schedlink = NULL;
	gqueue q = {batch[0], gp};
	lock(&sched.lock);
	globrunqputbatch(&q, (int32_t)n + 1);
	unlock(&sched.lock);
	return true;
}

/* Put gp on pp's local queue. next: put it in runnext, kicking the old
 * runnext to the tail (every new or readied G goes there, so the last
 * one made runnable runs first, in the current time slice). Called only
 * by pp's owner. */
void runqput(p *pp, g *gp, bool next)
{
	if (next) {
		/* Thieves only ever take runnext (CAS to NULL), so one
		 * exchange both installs gp and claims the G it displaces. */
		g *old = atomic_exchange_explicit(&pp->runnext, gp, memory_order_acq_rel);
		if (old == NULL)
			return;
		gp = old;
	}
	for (;;) {
		uint32_t head = load_acq(&pp->runqhead);
		uint32_t tail = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (tail - head < GORT_RUNQ_SIZE) {
			slot_store(pp, tail, gp);
			atomic_store_explicit(&pp->runqtail, tail + 1, memory_order_release);
			return;
		}
		if (runqputslow(pp, gp, head, tail))
			return;
		/* A thief made room; try again. */
	}
}

/* Put the n Gs of q (linked through schedlink) on pp's local queue, in
 * order, with one release of runqtail; those that do not fit go to the
 * global queue as one batch (Go's runqputbatch). Unlike n runqput calls,
 * an overflow moves only the Gs that do not fit, never the oldest half of
 * the ring. A thief racing with us only makes more room. Called only by
 * pp's owner. */
void runqputbatch(p *pp, gqueue *q, int32_t n)
{
	uint32_t head = load_acq(&pp->runqhead);
	uint32_t tail = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
	while (q->head && tail - head < GORT_RUNQ_SIZE) {
		g *gp = q->head;
		q->head = gp->schedlink;
		slot_store(pp, tail++, gp);
		n--;
	}
	atomic_store_explicit(&pp->runqtail, tail, memory_order_release);
	if (!q->head) {
		q->tail = NULL;
		return;
	}
	lock(&sched.lock);
	globrunqputbatch(q, n);
	unlock(&sched.lock);
}

/*
 * A hint for the goroutine that will most likely run after the one just
 * taken: the queue's new head. The first thing a switch to it touches is
 * the frame at its saved sp (ctx.S), on a stack page that a queue of
 * thousands of goroutines has long pushed out of the caches and the TLB;
 * fetched now, it arrives while the current goroutine runs. The G after
 * it is prefetched too, so that reading this one's sp next time does not
 * wait. Only a hint: a thief may take either meanwhile (the read is a
 * relaxed atomic load of a field whose G is never freed while the
 * runtime runs), and a G not yet started has no sp. Left out under TSan,
 * which would report the read against the thief's preparation of the G.
 * Measured in bench/yieldmany.
 */
static inline void runqprefetch(p *pp, uint32_t head, uint32_t tail)
{
#if !GORT_TSAN
	if (tail - head > 1)
		__builtin_prefetch(&slot_load(pp, head + 1)->sched.sp);
	if (tail != head) {
		g *n = slot_load(pp, head);
		void *sp = __atomic_load_n(&n->sched.sp, __ATOMIC_RELAXED);
		if (sp)
			__builtin_prefetch(sp, 1);
	}
#else
	(void)pp, (void)head, (void)tail;
#endif
}

/* Take a G from pp's local queue: runnext first (*inherittime = true:
 * it shares the current time slice), then the head. Owner only. */
g *runqget(p *pp, bool *inherittime)
{
	g *next = atomic_load_explicit(&pp->runnext, memory_order_acquire);
	/* Only other Ps can clear runnext, so one CAS attempt is enough. */
	if (next && atomic_compare_exchange_strong_explicit(&pp->runnext, &next, NULL,
	        memory_order_acquire, memory_order_relaxed)) {
		*inherittime = true;
		return next;
	}
	for (;;) {
		uint32_t head = load_acq(&pp->runqhead);
		uint32_t tail = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (tail == head)
			return NULL;
		g *gp = slot_load(pp, head);
		if (atomic_compare_exchange_weak_explicit(&pp->runqhead, &head, head + 1,
		        memory_order_release, memory_order_relaxed)) {
			*inherittime = false;
			runqprefetch(pp, head + 1, tail);
			return gp;
		}
	}
}

/* Grab half (rounded up) of pp's queue into batch, a ring of the same
 * size starting at batchhead. With stealrunnextg, an empty queue gives up
 * its runnext instead. Returns how many were grabbed. */
static uint32_t runqgrab(p *pp, _Atomic(g *) *batch, uint32_t batchhead, bool stealrunnextg)
{
	for (;;) {
		uint32_t head = load_acq(&pp->runqhead);
		uint32_t tail = load_acq(&pp->runqtail);
		uint32_t n = tail - head;
		n = n - n / 2;
		if (n == 0) {
			if (!stealrunnextg)
				return 0;
			g *next = atomic_load_explicit(&pp->runnext, memory_order_acquire);
			if (!next)
				return 0;
			if (atomic_load_explicit(&pp->status, memory_order_relaxed) == _Prunning) {
				/* pp is running and may be about to schedule its
				 * runnext (a channel ping-pong readies and runs it in
				 * well under 1 µs). Stealing it now would only
				 * bounce it between Ms, so give pp a moment: Go
				 * sleeps 3 µs here. */
				usleep_ns(3000);
			}
			if (!atomic_compare_exchange_strong_explicit(&pp->runnext, &next, NULL,
			        memory_order_acquire, memory_order_relaxed))
				continue;
			atomic_store_explicit(&batch[batchhead & RUNQ_MASK], next, memory_order_relaxed);
			return 1;
		}
		if (n > GORT_RUNQ_SIZE / 2)
			continue; /* read an inconsistent head and tail */
		for (uint32_t i = 0; i < n; i++)
			atomic_store_explicit(&batch[(batchhead + i) & RUNQ_MASK],
			                      slot_load(pp, head + i), memory_order_relaxed);
		if (atomic_compare_exchange_strong_explicit(&pp->runqhead, &head, head + n,
		        memory_order_release, memory_order_relaxed))
			return n;
	}
}

/* Steal half of p2's queue into pp's (which must be empty enough), and
 * return one of the stolen Gs to run. Called by pp's owner. */
g *runqsteal(p *pp, p *p2, bool stealrunnextg)
{
	uint32_t tail = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
	uint32_t n = runqgrab(p2, pp->runq, tail, stealrunnextg);
	if (n == 0)
		return NULL;
	traceSteal(pp, p2, n);
	n--;
	g *gp = slot_load(pp, tail + n);
	if (n == 0)
		return gp;
	uint32_t head = load_acq(&pp->runqhead);
	if (tail - head + n >= GORT_RUNQ_SIZE)
		throw("runqsteal: runq overflow");
	atomic_store_explicit(&pp->runqtail, tail + n, memory_order_release);
	return gp;
}

/* ---- global queue (sched.lock held) ---- */

/* runqsize is written under sched.lock but read without it (a quick
 * "anything there?" before taking the lock), hence the atomic. */
static inline void runqsize_add(int32_t n)
{
	atomic_store_explicit(&sched.runqsize,
	        atomic_load_explicit(&sched.runqsize, memory_order_relaxed) + n,
	        memory_order_relaxed);
}

void globrunqput(g *gp)
{
	traceCountCur(EvGlobRunqPut, 1);
	gpush(&sched.runq, gp);
	runqsize_add(1);
}

void globrunqputhead(g *gp)
{
	gp->schedlink = sched.runq.head;
	sched.runq.head = gp;
	if (!sched.runq.tail)
		sched.runq.tail = gp;
	runqsize_add(1);
}

void globrunqputbatch(gqueue *batch, int32_t n)
{
	if (!batch->head)
		return;
	traceCountCur(EvGlobRunqPut, n);
	if (sched.runq.tail)
		sched.runq.tail->schedlink = batch->head;
	else
		sched.runq.head = batch->head;
	sched.runq.tail = batch->tail;
	runqsize_add(n);
	batch->head = batch->tail = NULL;
}

static g *globrunqpop(void)
{
	g *gp = sched.runq.head;
	sched.runq.head = gp->schedlink;
	if (!sched.runq.head)
		sched.runq.tail = NULL;
	gp->schedlink = NULL;
	return gp;
}

/* The first G of the global queue that is locked to an M which has not
 * been handed a P for it (nextp NULL), taken off the queue for pp; NULL
 * if there is none. Such an M runs nothing else: it sleeps in
 * stoplockedm, or is on its way there. sched.lock held. */
g *globrunqgetlocked(p *pp)
{
	g *prev = NULL;
	for (g *gp = sched.runq.head; gp; prev = gp, gp = gp->schedlink) {
		if (!gp->locked || !gp->m || gp->m->nextp)
			continue;
		if (prev)
			prev->schedlink = gp->schedlink;
		else
			sched.runq.head = gp->schedlink;
		if (sched.runq.tail == gp)
			sched.runq.tail = prev;
		gp->schedlink = NULL;
		runqsize_add(-1);
		traceCount(EvGlobRunqGet, tracepid(pp), 1);
		return gp;
	}
	return NULL;
}

/* Take a batch from the global queue: return the first G, put the rest on
 * pp's local queue. Batch size as Go 1.19: a fair share of the queue
 * (runqsize/gomaxprocs + 1), at most max when max > 0, at most half the
 * local queue. */
g *globrunqget(p *pp, int32_t max)
{
	return globrunqget_deferring(pp, max, NULL, NULL);
}

/* globrunqget, except that if the batch includes `held` (a G whose
 * context is not saved yet), it is left in *deferred instead of the local
 * queue, for the caller to queue once it is safe. */
g *globrunqget_deferring(p *pp, int32_t max, g *held, g **deferred)
{
	int32_t size = atomic_load_explicit(&sched.runqsize, memory_order_relaxed);
	if (size == 0)
		return NULL;
	int32_t procs = atomic_load_explicit(&gomaxprocs, memory_order_relaxed);
	int32_t n = (procs == 1 ? size : size / procs) + 1; /* spare a division */
	if (n > size)
		n = size;
	if (max > 0 && n > max)
		n = max;
	if (n > GORT_RUNQ_SIZE / 2)
		n = GORT_RUNQ_SIZE / 2;
	runqsize_add(-n);
	traceCount(EvGlobRunqGet, tracepid(pp), n);
	g *gp = globrunqpop();
	for (n--; n > 0; n--) {
		g *x = globrunqpop();
		if (x == held)
			*deferred = x;
		else
			runqput(pp, x, false);
	}
	return gp;
}
