/*
 * timer.c - timers (Go 1.14+'s design, time.go): a 4-ary heap per P, run
 * by the scheduler itself, and gort_sleep on top.
 *
 * Each P keeps its timers in a heap ordered by `when`, guarded by the P's
 * timerslock (other Ps take it to run timers they steal); p->timer0when
 * caches the earliest, so "anything due?" costs one atomic load.
 * Timers run
 *  - in findrunnable, first thing, for the M's own P (checktimers);
 *  - in the last stealing round, for other Ps (Go's stealWork);
 *  - when an M finds nothing to do, it blocks in the netpoller until the
 *    earliest timer of all Ps (findrunnable, as Go), then takes an idle
 *    P and runs them. A timer added earlier than that wakes it with
 *    netpollBreak (wakesleeper, Go's wakeNetPoller).
 * A timer's function runs on an M that holds a P, without any timer lock
 * held; it must not block (goready is what it typically does).
 *
 * A sleeping goroutine's timer lives on its own stack (stacks never
 * move); it is added only once the goroutine is switched out (gopark's
 * callback), so it cannot fire on a goroutine that is still running.
 *
 * Locking: a P's timerslock may be taken under sched.lock (procresize
 * moves timers), a poll descriptor's lock (deadlines) or a gort_timer's
 * mu (timer_api.c); two are taken in P id order (movetimers). Nothing is
 * taken under it: sched.lock in particular never is.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "runtime.h"
#include "trace.h"

enum { HEAP_ARITY = 4 };

/* ---- the heap (timerslock held) ---- */

static void siftup(p *pp, int32_t i)
{
	timer **h = pp->timers;
	timer *t = h[i];
	while (i > 0) {
		int32_t parent = (i - 1) / HEAP_ARITY;
		if (t->when >= h[parent]->when)
			break;
		h[i] = h[parent];
		h[i]->idx = i;
		i = parent;
	}
	h[i] = t;
	t->idx = i;
}

static void siftdown(p *pp, int32_t i)
{
	timer **h = pp->timers;
	int32_t n = pp->ntimers;
	timer *t = h[i];
	for (;;) {
		int32_t c = i * HEAP_ARITY + 1;
		if (c >= n)
			break;
		int32_t best = c;
		for (int32_t k = c + 1; k < c + HEAP_ARITY && k < n; k++)
			if (h[k]->when < h[best]->when)
				best = k;
		if (h[best]->when >= t->when)
			break;
		h[i] = h[best];
		h[i]->idx = i;
		i = best;
	}
	h[i] = t;
	t->idx = i;
}

/* seq_cst: pairs with the poller's re-check (wakesleeper). */
static void update_timer0(p *pp)
{
	atomic_store(&pp->timer0when, pp->ntimers ? pp->timers[0]->when : 0);
}

/* Put t in pp's heap and make pp its holder, whatever t->pp said
 * before (movetimers: see there). */
static bool heap_push(p *pp, timer *t)
{
	if (pp->ntimers == pp->captimers) {
		int32_t cap = pp->captimers ? pp->captimers * 2 : 16;
		timer **nh = realloc(pp->timers, (size_t)cap * sizeof *nh);
		if (!nh)
			return false;
		pp->timers = nh;
		pp->captimers = cap;
	}
	pp->timers[pp->ntimers] = t;
	siftup(pp, pp->ntimers++);
	atomic_store_explicit(&t->pp, pp, memory_order_relaxed);
	update_timer0(pp);
	return true;
}

static bool heap_add(p *pp, timer *t)
{
	if (atomic_load_explicit(&t->pp, memory_order_relaxed) != NULL)
		throw("addtimer: timer already in a heap");
	return heap_push(pp, t);
}

/* Take the timer at heap index i out. */
static void heap_remove(p *pp, int32_t i)
{
	timer *t = pp->timers[i];
	timer *last = pp->timers[--pp->ntimers];
	if (i < pp->ntimers) {
		pp->timers[i] = last;
		last->idx = i;
		siftdown(pp, i);
		siftup(pp, last->idx);
	}
	atomic_store_explicit(&t->pp, NULL, memory_order_release);
	t->idx = -1;
	update_timer0(pp);
}

static timer *heap_pop(p *pp)
{
	timer *t = pp->timers[0];
	heap_remove(pp, 0);
	return t;
}

/* ---- adding and running ---- */

/* A timer due at `when` was added (Go's wakeNetPoller): wake the M
 * blocked in netpoll if it would sleep past it, or get an M going if none
 * is blocked there. Pairs with findrunnable's poller, which clears
 * lastpoll, publishes pollUntil, then looks at every P's timer0when once
 * more (all seq_cst): either it sees this timer, or this sees it blocked
 * with a later (or not yet published) pollUntil and breaks it. */
void wakesleeper(int64_t when)
{
	if (atomic_load(&sched.lastpoll) == 0) {
		int64_t until = atomic_load(&sched.pollUntil);
		if (until == 0 || until > when)
			netpollBreak();
		return;
	}
	wakep();
}

/* Add t to pp's heap. Returns false if memory ran out. */
bool addtimer_p(p *pp, timer *t)
{
	/* Once the lock is released t may fire and its owner go on (a sleep
	 * timer's frame is gone): read `when` before. */
	lock(&pp->timerslock);
	int64_t when = t->when;
	bool ok = heap_add(pp, t);
	unlock(&pp->timerslock);
	if (ok)
		wakesleeper(when);
	return ok;
}

/* Add t to the current M's P. */
bool addtimer(m *mp, timer *t)
{
	return addtimer_p(mp->p, t);
}

/* Take t out of whatever heap holds it. Returns false if none does: it
 * was never added, or it has been taken out to run. t->pp changes only
 * under the timerslock of the heap it leaves or enters, so a P seen
 * holding t still does once its lock is taken, or t has moved on. */
bool deltimer(timer *t)
{
	for (;;) {
		p *pp = atomic_load_explicit(&t->pp, memory_order_acquire);
		if (!pp)
			return false;
		lock(&pp->timerslock);
		if (atomic_load_explicit(&t->pp, memory_order_relaxed) == pp) {
			heap_remove(pp, t->idx);
			unlock(&pp->timerslock);
			return true;
		}
		unlock(&pp->timerslock);
	}
}

/* Run pp's timers that are due at now. Returns how many ran. The caller
 * holds a P (the timers' functions ready goroutines on it). now = 0:
 * read the clock only if some timer exists. */
int checktimers(p *pp, int64_t now)
{
	int64_t next = atomic_load_explicit(&pp->timer0when, memory_order_acquire);
	if (next == 0)
		return 0;
	if (now == 0)
		now = nanotime();
	if (next > now)
		return 0;
	int ran = 0;
	for (;;) {
		lock(&pp->timerslock);
		if (pp->ntimers == 0 || pp->timers[0]->when > now) {
			unlock(&pp->timerslock);
			if (ran > 0)
				traceCount(EvTimerFire, tracepid(pp), ran);
			return ran;
		}
		/* firing before pp: deltimer, seeing pp NULL (acquire), must
		 * see that the timer is on its way to fire. */
		atomic_store_explicit(&pp->timers[0]->firing, 1, memory_order_relaxed);
		timer *t = heap_pop(pp);
		unlock(&pp->timerslock);
		/* Counted before it runs: the goroutine its function readies
		 * may read the stats on another P at once. */
		STAT_ADD(timers_fired, 1);
		trace_intimer = 1;
		t->f(t->arg, now);
		trace_intimer = 0;
		ran++;
	}
}

/* The earliest timer of all Ps, or 0. */
int64_t nexttimer(void)
{
	int64_t next = 0;
	int32_t n = atomic_load_explicit(&gomaxprocs, memory_order_acquire);
	for (int32_t i = 0; i < n; i++) {
		int64_t w = atomic_load(&allp[i]->timer0when);
		if (w && (next == 0 || w < next))
			next = w;
	}
	return next;
}

/* A P goes away (procresize): its timers move to dst. The world is
 * stopped, but a plain thread may be stopping a timer: both locks, in
 * P order. t->pp goes from src to dst directly, never through NULL:
 * deltimer reads it without a lock, and NULL would tell it that the
 * timer is in no heap (stop returning false and the timer staying
 * armed, or addtimer_p finding it still in a heap). Taken from the end,
 * src's heap needs no sifting; its timer0when is cleared at the end. */
void movetimers(p *dst, p *src)
{
	p *first = dst->id < src->id ? dst : src;
	lock(&first->timerslock);
	lock(&(first == dst ? src : dst)->timerslock);
	while (src->ntimers > 0) {
		timer *t = src->timers[--src->ntimers];
		if (!heap_push(dst, t))
			throw("out of memory (moving timers)");
	}
	update_timer0(src);
	unlock(&src->timerslock);
	unlock(&dst->timerslock);
}

/* The runtime is going: timers still in the heap are dropped, and a
 * gort_timer that outlives it reads as stopped. Called while the
 * goroutines' stacks, which hold sleep timers, still exist. */
void timers_orphan(p *pp)
{
	for (int32_t i = 0; i < pp->ntimers; i++) {
		atomic_store_explicit(&pp->timers[i]->pp, NULL, memory_order_relaxed);
		pp->timers[i]->idx = -1;
	}
	pp->ntimers = 0;
	atomic_store(&pp->timer0when, 0);
}

void timers_teardown(p *pp)
{
	free(pp->timers);
	pp->timers = NULL;
	pp->ntimers = pp->captimers = 0;
}

/* ---- sleep ---- */

static void sleep_fire(void *arg, int64_t now)
{
	(void)now;
	goready(arg);
}

static bool sleep_arm(g *gp, void *t)
{
	(void)gp;
	m *mp = getm();
	if (!addtimer(mp, t))
		throw("out of memory (sleep timer)");
	return true;
}

/* Park gp, inside a runtime call, for ns (> 0). */
void timesleep(g *gp, int64_t ns)
{
	timer t = {.when = addsat(nanotime(), ns), .f = sleep_fire, .arg = gp, .idx = -1};
	atomic_init(&t.pp, NULL);
	gopark(sleep_arm, &t, waitReasonSleep);
}

GORT_API void gort_sleep(int64_t ns)
{
	if (ns <= 0)
		return;
	g *gp = rt_enter();
	if (!gp) {
		struct timespec ts = {ns / 1000000000, ns % 1000000000};
		int saved = errno;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		errno = saved;
		return;
	}
	timesleep(gp, ns);
	rt_exit(gp);
}
