/*
 * sched.c - the scheduling loop: schedule/findrunnable, execute, the
 * switch between g0 and goroutines (mcall), gopark/goready, gosched and
 * goexit, and the spinning protocol (wakep, resetspinning). Go's proc.go
 * is the reference; the names are its names.
 *
 * The loop. Each M runs mloop on its g0 (native) stack:
 *
 *     for (;;) { gp = findrunnable(); execute(gp); run mp->mcallfn(gp); }
 *
 * execute switches into gp. A goroutine enters the scheduler only through
 * mcall(fn): it saves its context, switches to g0 and g0 runs fn(gp)
 * there (park_m, gosched_m, goexit0). fn runs after gp's context is
 * fully saved, so fn may hand gp to other Ms (release a lock, queue it):
 * whoever resumes gp resumes a complete context. fn may return a G to
 * run at once (park_m does when its unlock callback says "don't park").
 *
 * findrunnable, in Go 1.19's order: the global queue every 61st
 * schedtick (fairness), the local queue (runnext first), the global
 * queue, the netpoller without blocking (only when goroutines wait on it
 * and no M is blocked in it; one such poller at a time), stealing (4
 * rounds over all Ps in random order, runnext of a victim only in the
 * last round), then give the P back. With nothing found, one M blocks in
 * netpoll until the next timer of any P (sched.lastpoll == 0 says one
 * does; sched.pollUntil says until when): the netpoller's wait is the
 * timer sleep, and netpollBreak cuts it short for an earlier timer
 * (timer.c) or the exit. Every other M parks (stopm). Goroutines made
 * ready by netpoll are injected as Go's injectglist does.
 *
 * Spinning (Go's "worker thread parking/unparking" design). A spinning M
 * holds a P and looks for work to steal. Invariants:
 *  - wakep starts a new spinning M only if there is an idle P and no M
 *    is spinning (nmspinning goes 0 -> 1 by CAS), so submitting work
 *    wakes at most one thread.
 *  - An M that stops spinning because it found work calls wakep
 *    (resetspinning), so new work that arrives meanwhile still finds a
 *    spinner.
 *  - An M that stops spinning because it found nothing first gives up
 *    its P, decrements nmspinning, and then re-checks every P's queue;
 *    a submitter puts work first and checks nmspinning/npidle after
 *    (seq_cst both sides), so one of the two always sees the other and
 *    no wake-up is lost.
 *  - At most half of the busy Ps spin at once (2*nmspinning < busy Ps).
 */
#include <stdlib.h>

#include "runtime.h"
#include "trace.h"

static void resetspinning(m *mp);

/* n goroutines made ready by the netpoller (counted; traced). */
void netpollwoke(p *pp, int32_t n)
{
	STAT_ADD(netpoll_wakeups, n);
	traceCount(EvNetpollWake, tracepid(pp), n);
}

void wakep(void)
{
	if (atomic_load_explicit(&sched.npidle, memory_order_seq_cst) == 0)
		return;
	int32_t zero = 0;
	if (atomic_load_explicit(&sched.nmspinning, memory_order_seq_cst) != 0 ||
	    !atomic_compare_exchange_strong(&sched.nmspinning, &zero, 1))
		return;
	startm(NULL, true);
}

static void resetspinning(m *mp)
{
	if (!mp->spinning)
		throw("resetspinning: not a spinning m");
	mp->spinning = false;
	if (atomic_fetch_sub(&sched.nmspinning, 1) <= 0)
		throw("findrunnable: negative nmspinning");
	/* We found work; someone else may find more. */
	wakep();
}

/* Stop mp's P for a stop-the-world in progress, then park mp. */
void gcstopm(m *mp)
{
	if (!atomic_load(&sched.gcwaiting))
		throw("gcstopm: not waiting for gc");
	if (mp->spinning) {
		mp->spinning = false;
		if (atomic_fetch_sub(&sched.nmspinning, 1) <= 0)
			throw("gcstopm: negative nmspinning");
	}
	p *pp = releasep(mp);
	lock(&sched.lock);
	atomic_store_explicit(&pp->status, _Pgcstop, memory_order_relaxed);
	if (--sched.stopwait == 0)
		notewakeup(&sched.stopnote);
	unlock(&sched.lock);
	stopm(mp);
}

/* Try to steal a G from another P; see the file comment. *newwork: the
 * caller should start over (the world is stopping). *inherit: the G was
 * readied into our runnext by a victim's timer and shares the current
 * time slice, as any runnext G does. */
static g *stealwork(m *mp, bool *newwork, bool *inherit)
{
	p *pp = mp->p;
	*newwork = false;
	for (int i = 0; i < STEAL_TRIES; i++) {
		bool stealrunnext = i == STEAL_TRIES - 1;
		for (randomenum e = randomorder_start(&stealorder, fastrand(mp));
		     !randomenum_done(&e); randomenum_next(&e)) {
			if (atomic_load(&sched.gcwaiting) || atomic_load(&sched.exiting)) {
				*newwork = true;
				return NULL;
			}
			p *p2 = allp[e.pos];
			if (p2 == pp)
				continue;
			/* Last round: run the victim's due timers too (they may
			 * ready goroutines onto our P). */
			if (stealrunnext && checktimers(p2, 0) > 0) {
				g *gp = runqget(pp, inherit);
				if (gp)
					return gp;
			}
			if (atomic_load_explicit(&p2->status, memory_order_relaxed) == _Pidle)
				continue;
			STAT_ADD_M(mp, steals_tried, 1);
			g *gp = runqsteal(pp, p2, stealrunnext);
			if (gp) {
				/* release: a reader that sees it sees
				 * its steals_tried (stats.c) */
				atomic_store_explicit(&mp->stats.steals_won,
				                      atomic_load_explicit(&mp->stats.steals_won,
				                                           memory_order_relaxed) + 1,
				                      memory_order_release);
				return gp;
			}
		}
	}
	return NULL;
}

/* After dropping the P: is there work on any queue that we would
 * otherwise leave behind? Returns an idle P to go and run it, or NULL. */
static p *checkrunqsnop(void)
{
	/* The global queue too: a thread without a P (gort_go, goready
	 * from a plain thread) queues there and calls wakep, which does
	 * nothing while we still count as spinning. (Go 1.19 looks only at
	 * the Ps here; newer Go looks at the global queue too.) */
	bool work = atomic_load(&sched.runqsize) != 0;
	int32_t n = atomic_load_explicit(&gomaxprocs, memory_order_acquire);
	for (int32_t i = 0; i < n; i++) {
		p *p2 = allp[i];
		if (p2 && (work || !runqempty(p2))) {
			lock(&sched.lock);
			p *pp = pidleget();
			unlock(&sched.lock);
			return pp;
		}
	}
	return NULL;
}

/* Of the Gs netpoll readied (list, non-empty): run the first on this M,
 * inject the rest (Go's findrunnable after netpoll). */
static g *takeinject(gqueue *list)
{
	g *gp = list->head;
	list->head = gp->schedlink;
	if (!list->head)
		list->tail = NULL;
	injectglist(list);
	casgstatus(gp, _Gwaiting, _Grunnable);
	traceGoUnblockNoG(gp);
	return gp;
}

/* Find a runnable G for mp, parking mp while there is none. Returns NULL
 * when the runtime is exiting. *inherit: the G came from runnext and
 * shares the current time slice. */
static g *findrunnable(m *mp, bool *inherit, bool *local)
{
	g *gp;
	*local = false;
top:
	if (atomic_load_explicit(&sched.exiting, memory_order_acquire))
		return NULL;
	if (atomic_load_explicit(&sched.gcwaiting, memory_order_acquire)) {
		gcstopm(mp);
		goto top;
	}
	p *pp = mp->p;
	*inherit = false;
	runtimers(pp);

	/* Fairness: without this, two goroutines that keep readying each
	 * other through runnext could starve the global queue. */
	if (tick_load(&pp->schedtick) % 61 == 0 &&
	    atomic_load_explicit(&sched.runqsize, memory_order_relaxed) > 0) {
		lock(&sched.lock);
		gp = globrunqget(pp, 1);
		unlock(&sched.lock);
		if (gp)
			return gp;
	}

	if ((gp = runqget(pp, inherit)) != NULL) {
		*local = true;
		return gp;
	}

	if (atomic_load_explicit(&sched.runqsize, memory_order_relaxed) != 0) {
		lock(&sched.lock);
		gp = globrunqget(pp, 0);
		unlock(&sched.lock);
		if (gp)
			return gp;
	}

	/* The netpoller, without blocking: only when goroutines wait on it
	 * and no M is blocked in it already (Go's order: before stealing). */
	if (atomic_load_explicit(&netpollWaiters, memory_order_relaxed) > 0 &&
	    atomic_load(&sched.lastpoll) != 0 && netpoll_trylock()) {
		gqueue list;
		int32_t n = netpoll(0, &list);
		netpoll_unlock();
		if (n > 0) {
			netpollwoke(pp, n);
			return takeinject(&list);
		}
	}

	/* Spin only while fewer than half of the busy Ps spin: beyond that
	 * more thieves burn CPU without finding more work. */
	int32_t procs = atomic_load_explicit(&gomaxprocs, memory_order_relaxed);
	if (mp->spinning ||
	    2 * atomic_load(&sched.nmspinning) < procs - atomic_load(&sched.npidle)) {
		if (!mp->spinning) {
			mp->spinning = true;
			atomic_fetch_add(&sched.nmspinning, 1);
		}
		bool newwork;
		if ((gp = stealwork(mp, &newwork, inherit)) != NULL)
			return gp;
		if (newwork)
			goto top;
	}

	/* Nothing. Give the P back, under the lock that submitters to the
	 * global queue hold, after a last look at that queue. */
	bool wasSpinning = mp->spinning;
	lock(&sched.lock);
	if (atomic_load(&sched.gcwaiting) || atomic_load(&sched.exiting)) {
		unlock(&sched.lock);
		goto top;
	}
	if (atomic_load_explicit(&sched.runqsize, memory_order_relaxed) != 0) {
		gp = globrunqget(pp, 0);
		unlock(&sched.lock);
		return gp;
	}
	if (releasep(mp) != pp)
		throw("findrunnable: wrong p");
	pidleput(pp);
	unlock(&sched.lock);

	if (mp->spinning) {
		mp->spinning = false;
		if (atomic_fetch_sub(&sched.nmspinning, 1) <= 0)
			throw("findrunnable: negative nmspinning");
		/* The delicate dance: work may have been submitted between our
		 * last look and the decrement, by a submitter that saw us
		 * spinning and so woke no one. Look again. */
		p *p2 = checkrunqsnop();
		if (p2) {
			acquirep(mp, p2);
			mp->spinning = true;
			atomic_fetch_add(&sched.nmspinning, 1);
			goto top;
		}
	}

	/* Block in the netpoller until the next timer, unless another M
	 * already does (or nothing could wake us there). */
	int64_t pollUntil = nexttimer();
	if ((atomic_load(&netpollWaiters) > 0 || pollUntil != 0) &&
	    atomic_exchange(&sched.lastpoll, 0) != 0) {
		atomic_store(&sched.pollUntil, pollUntil);
		/* A timer added before we cleared lastpoll saw no poller
		 * and only called wakep: look once more (see wakesleeper). */
		int64_t again = nexttimer();
		if (again != 0 && (pollUntil == 0 || again < pollUntil)) {
			pollUntil = again;
			atomic_store(&sched.pollUntil, pollUntil);
		}
		gqueue list = {NULL, NULL};
		bool look = true;
		if (pollUntil == 0 && atomic_load(&netpollWaiters) == 0) {
			/* The waiters left meanwhile: nothing to wait for. A
			 * timer added while lastpoll was 0 only broke a poll
			 * that will not happen: look again once it is set. */
			atomic_store(&sched.lastpoll, nanotime());
			look = nexttimer() != 0;
		} else {
			int64_t delay = -1;
			if (pollUntil != 0) {
				delay = pollUntil - nanotime();
				if (delay < 0)
					delay = 0;
			}
			if (atomic_load(&sched.exiting))
				delay = 0;
			int32_t n = netpoll(delay, &list);
			if (n > 0)
				netpollwoke(NULL, n);
			atomic_store(&sched.pollUntil, 0);
			atomic_store(&sched.lastpoll, nanotime());
			if (atomic_load(&sched.exiting))
				return NULL; /* readied Gs are abandoned with the rest */
		}
		if (look) {
			lock(&sched.lock);
			p *p2 = pidleget();
			unlock(&sched.lock);
			if (p2) {
				acquirep(mp, p2);
				if (list.head)
					return takeinject(&list);
				/* Woken with a P but no G (a timer came due, or
				 * the poll was broken for one): look again as the
				 * spinning M we were, so that work found wakes
				 * another M (resetspinning), as Go does. */
				if (wasSpinning) {
					mp->spinning = true;
					atomic_fetch_add(&sched.nmspinning, 1);
				}
				goto top;
			}
			injectglist(&list);
		}
	} else if (pollUntil != 0) {
		/* The blocked poller sleeps past our timer: have it look. */
		int64_t until = atomic_load(&sched.pollUntil);
		if (until == 0 || until > pollUntil)
			netpollBreak();
	}

	if (!stopm(mp))
		return NULL;
	goto top;
}

/*
 * Make the goroutines of list (_Gwaiting, linked through schedlink,
 * readied by netpoll) runnable (Go's injectglist). Without a P (sysmon,
 * an M that found no idle P) they all go to the global queue, and as
 * many idle Ps as there are goroutines get an M. With a P, one goroutine
 * per idle P goes to the global queue with an M started for it, and the
 * rest to this P's local queue in one batch (what does not fit there, to
 * the global queue).
 */
static void startidle(int32_t n)
{
	for (; n != 0 && atomic_load(&sched.npidle) != 0; n--)
		startm(NULL, false);
}

void injectglist(gqueue *list)
{
	if (!list->head)
		return;
	m *mp = getm();
	p *pp = mp ? mp->p : NULL;
	tracesnap_enter(pp);
	int32_t n = 0;
	for (g *gp = list->head; gp; gp = gp->schedlink) {
		casgstatus(gp, _Gwaiting, _Grunnable);
		traceGoUnblockNoG(gp);
		n++;
	}
	tracesnap_exit(pp);
	if (!pp) {
		lock(&sched.lock);
		globrunqputbatch(list, n);
		unlock(&sched.lock);
		list->head = list->tail = NULL;
		startidle(n);
		return;
	}
	int32_t npidle = atomic_load(&sched.npidle);
	gqueue globq = {NULL, NULL};
	int32_t k = 0;
	while (k < npidle && list->head) {
		g *gp = list->head;
		list->head = gp->schedlink;
		gpush(&globq, gp);
		k++;
	}
	if (k > 0) {
		lock(&sched.lock);
		globrunqputbatch(&globq, k);
		unlock(&sched.lock);
		startidle(k);
	}
	if (list->head)
		runqputbatch(pp, list, n - k);
	list->tail = NULL;
}

/* Run gp on mp until gp switches back with mcall. local: findrunnable
 * took gp from its P's own queue at its first look, right after the
 * previous goroutine's last event (see traceGoStart). */
static void execute(m *mp, g *gp, bool inherit, bool local)
{
	mp->curg = gp;
	setg(gp);
	gp->m = mp;
	casgstatus(gp, _Grunnable, _Grunning);
	traceGoStart(mp->p, gp, local);
	STAT_ADD_M(mp, context_switches, 1);
	gp->waitsince = 0;
	atomic_store_explicit(&mp->p->preempt, PREEMPT_NONE, memory_order_relaxed);
	if (!inherit)
		tick_inc(&mp->p->schedtick);
	if (!gp->sched.sp)
		gstart_prepare(mp->p, gp);
	gogo_switch(&mp->g0, &gp->sched, false);
}

void mloop(m *mp)
{
	for (;;) {
		bool inherit = false, local = false;
		g *gp;
		if (unlikely(mp->lockedg || mp->wedged)) {
			/* This M runs its locked G and nothing else. */
			if (!stoplockedm(mp))
				return;
			gp = mp->lockedg;
		} else {
			if (unlikely(mp->exitafterg))
				return;
			gp = findrunnable(mp, &inherit, &local);
			if (!gp)
				return;
			if (mp->spinning)
				resetspinning(mp);
		}
		while (gp) {
			if (unlikely(gp->locked) && gp->m != mp) {
				/* Locked to another M: give it our P and the G. */
				startlockedm(mp, gp);
				break;
			}
			execute(mp, gp, inherit, local);
			/* Back on g0: gp called mcall(fn). */
			gp = mp->mcallfn(mp, mp->curg);
			inherit = true;
			local = false;
			if (unlikely(mlocks != 0))
				throw("schedule: holding locks");
		}
	}
}

/* First thing a goroutine does when it is switched in: finish what the
 * goroutine that switched to it directly (gosched, gopark) had to leave
 * until its own context was saved. */
static void switchedin_slow(m *mp)
{
	if (mp->parkedg) {
		/* gopark's direct switch: now the parked G may be woken. */
		g *pg = mp->parkedg;
		bool (*fn)(g *, void *) = mp->waitunlockf;
		void *l = mp->waitlock;
		mp->parkedg = NULL;
		mp->waitunlockf = NULL;
		mp->waitlock = NULL;
		if (fn && !fn(pg, l)) {
			casgstatus(pg, _Gwaiting, _Grunnable);
			traceGoUnblockNoG(pg);
			runqput(mp->p, pg, false);
		}
		return;
	}
	if (mp->runqafter) {
		runqput(mp->p, mp->runqafter, false);
		mp->runqafter = NULL;
	}
	mutex *l = mp->unlockafter;
	mp->unlockafter = NULL;
	unlock(l);
}

static inline void switchedin(void)
{
	m *mp = getg()->m;
	if (unlikely(mp->unlockafter || mp->parkedg))
		switchedin_slow(mp);
}

/* Switch from the current G to g0 and run fn(m, g) there. */
void mcall(g *(*fn)(m *, g *))
{
	g *gp = getg();
	m *mp = gp->m;
	if (mp->readynext)
		readynext_flush(mp);
	stack_track(gp);
	mp->mcallfn = fn;
	gogo_switch(&gp->sched, &mp->g0, false);
	switchedin();
}

/* A G leaves its M. A locked G keeps g->m: it names the M it is locked
 * to (see struct g). */
void dropg(m *mp, g *gp)
{
	mp->curg = NULL;
	setg(NULL);
	if (!gp->locked)
		gp->m = NULL;
}

static g *park_m(m *mp, g *gp)
{
	casgstatus(gp, _Grunning, _Gwaiting);
	traceGoBlock(mp->p, gp);
	dropg(mp, gp);
	bool (*fn)(g *, void *) = mp->waitunlockf;
	if (fn) {
		void *l = mp->waitlock;
		mp->waitunlockf = NULL;
		mp->waitlock = NULL;
		if (!fn(gp, l)) {
			/* Not parking after all: run it again right away. */
			casgstatus(gp, _Gwaiting, _Grunnable);
			traceGoUnblockNoG(gp);
			return gp;
		}
	}
	return NULL;
}

/* The direct switches of gopark and gosched: from gp's own stack straight
 * to next (already _Grunning), doing what execute does. parked: gopark's,
 * which took next from readynext or its P's own queue and then wrote gp's
 * GoBlock (see traceGoStart). */
static void switchto(m *mp, p *pp, g *gp, g *next, bool parked)
{
	if (!gp->locked)
		gp->m = NULL;
	mp->curg = next;
	setg(next);
	next->m = mp;
	next->waitsince = 0;
	traceGoStart(pp, next, parked);
	STAT_ADD_M(mp, context_switches, 1);
	atomic_store_explicit(&pp->preempt, PREEMPT_NONE, memory_order_relaxed);
	if (!next->sched.sp)
		gstart_prepare(pp, next);
	gogo_switch(&gp->sched, &next->sched, false);
	switchedin();
}

/* ... unless next is locked to another M, or needs a stack prepared
 * with no lock held: then g0 finishes gp's switch (fn) and mloop hands
 * next over or runs it. */
static void handoff_via_g0(m *mp, g *gp, g *next, g *(*fn)(m *, g *))
{
	mp->handnext = next;
	mp->mcallfn = fn;
	gogo_switch(&gp->sched, &mp->g0, false);
	switchedin();
}

/* On g0, after gopark's direct path picked a G locked to another M or
 * a fresh G (see park_direct): finish parking and let mloop hand the G
 * over or run it. */
static g *park_handoff_m(m *mp, g *gp)
{
	(void)gp;
	g *next = mp->handnext;
	mp->handnext = NULL;
	dropg(mp, mp->parkedg);
	switchedin_slow(mp);
	return next;
}

/*
 * gopark's direct path: when this P's own queue has the next G (the
 * common case of a channel ping-pong, where the G just readied sits in
 * runnext), take the decision findrunnable would take and switch to it
 * straight from the parking G's stack: one switch instead of two through
 * g0. The unlock callback then runs on the next G (switchedin), once the
 * parking G's context is saved. Anything unusual (a stop-the-world,
 * exit, locked Gs, timers due, the fairness tick of the global queue)
 * takes the ordinary path, and a next G that needs a stack from outside
 * its P's cache is run through g0. Returns false if it did not switch.
 */
static bool park_direct(m *mp, g *gp, p *pp)
{
	if (gp->locked || atomic_load_explicit(&sched.gcwaiting, memory_order_relaxed) ||
	    atomic_load_explicit(&sched.exiting, memory_order_relaxed))
		return false;
	int64_t tw = atomic_load_explicit(&pp->timer0when, memory_order_relaxed);
	if (tw != 0 && tw <= nanotime())
		return false;
	if (tick_load(&pp->schedtick) % 61 == 0 &&
	    atomic_load_explicit(&sched.runqsize, memory_order_relaxed) != 0)
		return false;
	bool inherit = true;
	g *next = mp->readynext;
	if (next)
		mp->readynext = NULL;
	else if ((next = runqget(pp, &inherit)) == NULL)
		return false;
	casgstatus(gp, _Grunning, _Gwaiting);
	traceGoBlock(pp, gp);
	mp->parkedg = gp;
	if (unlikely(next->locked)) {
		handoff_via_g0(mp, gp, next, park_handoff_m);
		return true;
	}
	if (!inherit)
		tick_inc(&pp->schedtick);
	if (gstart_uncached(pp, next)) {
		/* next runs for the first time on a stack not in pp's cache:
		 * making it ready takes the stack pool's lock, maybe mmap and
		 * madvise, and the page fault of the fresh stack's first
		 * frame (~20 us on a virtual machine). A direct switch would
		 * do all that still holding the lock gp parks under (released
		 * on next, in switchedin): when many goroutines park on one
		 * channel from two Ps (a million starting up), each P then
		 * waits in futex for the other's page fault. Through g0 the
		 * lock is released first, and execute prepares next. */
		handoff_via_g0(mp, gp, next, park_handoff_m);
		return true;
	}
	casgstatus(next, _Grunnable, _Grunning);
	switchto(mp, pp, gp, next, true);
	return true;
}

/* Park the calling goroutine. unlockf(gp, lock) runs once gp is fully
 * switched out (on g0, or on the next G after a direct switch); if it
 * returns false gp is made runnable again. Whoever wakes gp calls
 * goready. */
void gopark(bool (*unlockf)(g *, void *), void *lk, waitreason reason)
{
	g *gp = getg();
	m *mp = gp->m;
	mp->waitlock = lk;
	mp->waitunlockf = unlockf;
	gp->waitreason = (uint8_t)reason;
	gp->waitsince = atomic_load_explicit(&sched.coarsenow, memory_order_relaxed);
	stack_track(gp);
	if (!park_direct(mp, gp, mp->p))
		mcall(park_m);
}

bool parkunlock_c(g *gp, void *lk)
{
	(void)gp;
	unlock(lk);
	return true;
}

void sudog_park(sudog *s, bool (*unlockf)(g *, void *), void *lk, waitreason reason)
{
	if (s->g) {
		gopark(unlockf, lk, reason);
		return;
	}
	/* Armed before the lock goes: a waker needs the lock to find s. */
	noteclear(s->wake);
	unlockf(NULL, lk);
	/* Not held while asleep (rt_enter_wait): teardown may run, and
	 * finds s on the record, which lasts until the lock is held again
	 * (runtime.h, above foreign_enter). */
	plainwait w;
	plainwait_add(&w, s);
	if (foreign_held > 0)
		pthread_rwlock_unlock(&foreign_lock);
	notesleep(s->wake);
	if (foreign_held > 0)
		pthread_rwlock_rdlock(&foreign_lock);
	plainwait_remove(&w);
}

void sudog_ready(sudog *s)
{
	g *gp = s->g;
	if (gp)
		goready(gp);
	else
		notewakeup(s->wake); /* s may be gone once this returns */
}

/* Park, releasing a runtime lock only once the G is switched out. */
void goparkunlock(mutex *lk, waitreason reason)
{
	gopark(parkunlock_c, lk, reason);
}

/*
 * m->readynext. A goroutine that readies another (a channel send to a
 * waiting receiver) very often parks soon after (the sender's next
 * receive), and then the readied G is exactly what findrunnable would
 * pick: runnext. So the first G readied inside a gort_* call, while
 * runnext is empty, is kept in the M's own readynext instead of being
 * published in runnext: gopark's direct path switches to it with no
 * atomic operation on either side, where runqput and runqget would each
 * cost one. It is published (runqput to runnext, wakep) the moment the
 * goroutine enters the scheduler any other way (mcall, gosched, goexit),
 * may lose its P (entersyscall, stop-the-world), or readies a second G
 * (which then goes to runnext after it, as Go orders them), and when the
 * call returns (rt_exit) unless GOMAXPROCS is 1: with a single P there
 * is no other P to steal runnext or to wake, so publishing it would
 * change nothing but the cost, and it stays private until the goroutine
 * next parks or is preempted. Only the M's running goroutine sets and
 * consumes it, so it needs no lock; a G in it is _Grunnable and seen by
 * no one else.
 */
void readynext_flush(m *mp)
{
	g *gp = mp->readynext;
	mp->readynext = NULL;
	runqput(mp->p, gp, true);
	wakep();
}

/* Make a parked gp runnable: on this P's runnext (it runs next, in the
 * waker's time slice, as Go's ready), or on the global queue when the
 * caller is a thread without a P. */
void goready(g *gp)
{
	/* No switch in here, so the thread's TLS may be read directly. */
	m *mp = tls_m;
	p *pp = mp ? mp->p : NULL;
	tracesnap_enter(pp);
	casgstatus(gp, _Gwaiting, _Grunnable);
	traceGoUnblock(gp);
	tracesnap_exit(pp);
	if (pp) {
		g *cur = mp->curg;
		/* Kept private only while runnext is empty: a G in runnext
		 * (one readied before, published since) must go to the
		 * queue's tail now, behind what is queued already, as Go's
		 * runqput kicks it; left there, it would run before them. */
		if (cur && cur->inruntime && !mp->readynext &&
		    !atomic_load_explicit(&pp->runnext, memory_order_relaxed)) {
			mp->readynext = gp;
			return;
		}
		if (mp->readynext) {
			runqput(pp, mp->readynext, true);
			mp->readynext = NULL;
		}
		runqput(pp, gp, true);
	} else {
		lock(&sched.lock);
		globrunqput(gp);
		unlock(&sched.lock);
	}
	wakep();
}

/* gp yields to the global queue (Go's gosched_m); findrunnable picks
 * what runs next. */
static g *gosched_m(m *mp, g *gp)
{
	casgstatus(gp, _Grunning, _Grunnable);
	traceGoSched(mp->p, gp);
	dropg(mp, gp);
	lock(&sched.lock);
	globrunqput(gp);
	unlock(&sched.lock);
	return NULL;
}

/* On g0, after gosched picked a G locked to another M or a fresh G:
 * finish the yield and let mloop hand the G over or run it. */
static g *gosched_handoff_m(m *mp, g *gp)
{
	dropg(mp, gp);
	if (mp->runqafter) {
		runqput(mp->p, mp->runqafter, false);
		mp->runqafter = NULL;
	}
	mp->unlockafter = NULL;
	unlock(&sched.lock);
	g *next = mp->handnext;
	mp->handnext = NULL;
	return next;
}

/*
 * gosched: the decision gosched_m + findrunnable would make, taken on the
 * yielding goroutine's own stack, then one switch straight to the next G
 * instead of two through g0. The yielding G goes to the global queue's
 * tail under sched.lock, and the lock is held across the switch: it
 * keeps every other M from taking that G before its context is saved;
 * the next G releases it (switchedin). If the global-queue batch moves
 * the yielding G to the local queue, where thieves need no lock, that
 * happens only after the switch. When the world is stopping or the
 * runtime exiting, the ordinary path through g0 decides.
 */
void gosched(g *gp)
{
	m *mp = gp->m;
	p *pp = mp->p;
	stack_track(gp);
	runtimers(pp);
	/* After the timers: one may have readied a G. */
	if (mp->readynext)
		readynext_flush(mp);
	if (atomic_load_explicit(&sched.gcwaiting, memory_order_relaxed) ||
	    atomic_load_explicit(&sched.exiting, memory_order_relaxed) || gp->locked) {
		mcall(gosched_m);
		return;
	}
	lock(&sched.lock);
	casgstatus(gp, _Grunning, _Grunnable);
	traceGoSched(pp, gp);
	globrunqput(gp);
	/* findrunnable's order: the global queue every 61st tick, the local
	 * queue, the global queue (which now holds gp, so something runs). */
	bool inherit = false;
	g *next;
	if (tick_load(&pp->schedtick) % 61 == 0)
		next = globrunqget_deferring(pp, 1, gp, &mp->runqafter);
	else if ((next = runqget(pp, &inherit)) == NULL)
		next = globrunqget_deferring(pp, 0, gp, &mp->runqafter);
	if (!inherit)
		tick_inc(&pp->schedtick);
	casgstatus(next, _Grunnable, _Grunning);
	if (next == gp) {
		/* Nothing else to run: gp comes straight back, in a new slice
		 * (as execute would start it): a request for the old one is
		 * answered, or rt_exit would yield a second time. */
		atomic_store_explicit(&pp->preempt, PREEMPT_NONE, memory_order_relaxed);
		traceGoStart(pp, gp, false);
		unlock(&sched.lock);
		return;
	}
	if (unlikely(next->locked) || unlikely(gstart_uncached(pp, next))) {
		/* It must run on its own M, or it needs a stack that is not
		 * in pp's cache (park_direct says why that is not prepared
		 * under a lock, here sched.lock): go through g0, which hands
		 * it over or runs it (mloop); the lock still guards gp until
		 * it is saved. */
		casgstatus(next, _Grunning, _Grunnable);
		handoff_via_g0(mp, gp, next, gosched_handoff_m);
		return;
	}
	mp->unlockafter = &sched.lock;
	switchto(mp, pp, gp, next, false);
}

_Noreturn void goexit1(void)
{
	g *gp = rt_enter(); /* takes a P back if its P was detached */
	m *mp = gp->m;
	if (mp->readynext)
		readynext_flush(mp);
	stack_track(gp);
	mp->mcallfn = goexit0;
	/* The stack is released by goexit0; this side never resumes. */
	gogo_switch(&gp->sched, &mp->g0, true);
	throw("goexit1: dead goroutine resumed");
}

/* First code of every goroutine, entered from gostart_tramp. */
_Noreturn void gostart(void)
{
	ctx_entered();
	/* The previous G's unpark step (switchedin) is runtime work: not to
	 * be preempted halfway. gp arrives inside the runtime (inruntime 1,
	 * gstart_prepare), so no hand-off can come before it either. */
	g *gp = getg();
	switchedin();
	inruntime_lower(gp);
	gp->fn(gp->arg);
	goexit1();
}
