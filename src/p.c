/*
 * p.c - logical processors: allp, the idle P list, procresize, and
 * stopping and starting the world (Go's pidleput/pidleget, acquirep,
 * releasep, procresize, stopTheWorldWithSema, startTheWorldWithSema).
 *
 * allp is a fixed array of GORT_MAX_PROCS slots so that Ms without a P
 * may scan allp[0..gomaxprocs) at any time: a P struct, once made, lives
 * until teardown, even after GOMAXPROCS shrinks (it is then _Pdead and
 * empty), so such a scan never touches freed memory.
 *
 * Stop-the-world: the stopper sets sched.gcwaiting and counts the Ps
 * still running in sched.stopwait. Its own P, every idle P and every P
 * in a system call stop at once; an M holding a P notices gcwaiting at
 * its next pass through the scheduler (findrunnable), stops its P
 * (gcstopm) and the last one wakes the stopper. The stopper asks the
 * running goroutines to stop (preemptone), again every 100 µs, and from
 * the second round on asks for a hand-off, so a goroutine that cannot
 * be preempted, or is blocked in a plain call, has its P detached and
 * does not hold up the stop (with GODEBUG=asyncpreemptoff=1 no signal is
 * sent: such a goroutine delays the stop until its next runtime call,
 * as a Go goroutine with preemption off does).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "trace.h"

p *allp[GORT_MAX_PROCS];
_Atomic int32_t gomaxprocs;
int32_t newprocs;
randomorder stealorder;

/* sched.lock held. pp must have nothing to run. */
void pidleput(p *pp)
{
	if (!runqempty(pp))
		throw("pidleput: P has non-empty run queue");
	atomic_store_explicit(&pp->status, _Pidle, memory_order_relaxed);
	pp->link = sched.pidle;
	sched.pidle = pp;
	atomic_fetch_add_explicit(&sched.npidle, 1, memory_order_seq_cst);
}

/* sched.lock held. */
p *pidleget(void)
{
	p *pp = sched.pidle;
	if (pp) {
		sched.pidle = pp->link;
		pp->link = NULL;
		atomic_fetch_sub_explicit(&sched.npidle, 1, memory_order_seq_cst);
	}
	return pp;
}

void acquirep(m *mp, p *pp)
{
	if (mp->p || pm(pp) || atomic_load_explicit(&pp->status, memory_order_relaxed) != _Pidle)
		throw("acquirep: invalid p state");
	mp->p = pp;
	setpm(pp, mp);
	atomic_store_explicit(&pp->status, _Prunning, memory_order_relaxed);
	traceProc(EvProcStart, pp, mp);
	/* A P starts running, from the idle list (startm's M, the netpoller's
	 * M, a syscall's exit) or back from a syscall: sysmon, asleep deeply
	 * while every P was idle, must watch it again, or a goroutine that
	 * runs on without a runtime call is never preempted. */
	if (unlikely(atomic_load_explicit(&sched.sysmonwait, memory_order_relaxed)))
		sysmonwake();
}

p *releasep(m *mp)
{
	p *pp = mp->p;
	if (!pp || pm(pp) != mp || atomic_load_explicit(&pp->status, memory_order_relaxed) != _Prunning)
		throw("releasep: invalid p state");
	traceProc(EvProcStop, pp, mp);
	mp->p = NULL;
	setpm(pp, NULL);
	atomic_store_explicit(&pp->status, _Pidle, memory_order_relaxed);
	return pp;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Make ord enumerate 0..count-1; false, ord unchanged, if memory ran
 * out. The same count again allocates nothing. */
static bool randomorder_init(randomorder *ord, uint32_t count)
{
	if (ord->coprimes && ord->count == count)
		return true;
	uint32_t *c = malloc(count * sizeof *c);
	if (!c)
		return false;
	free(ord->coprimes);
	ord->coprimes = c;
	ord->count = count;
	ord->ncoprimes = 0;
	for (uint32_t i = 1; i <= count; i++)
		if (gcd(i, count) == 1)
			ord->coprimes[ord->ncoprimes++] = i;
	return true;
}

void randomorder_reset(randomorder *ord, uint32_t count)
{
	if (!randomorder_init(ord, count))
		throw("out of memory (steal order)");
}

/* Enumerate 0..count-1 once each, starting at i % count and stepping by a
 * coprime of count chosen by i: a cheap random permutation. */
randomenum randomorder_start(const randomorder *ord, uint32_t i)
{
	randomenum e = {
		.i = 0,
		.count = ord->count,
		.pos = i % ord->count,
		.inc = ord->coprimes[i / ord->count % ord->ncoprimes],
	};
	return e;
}

static p *palloc(int32_t id)
{
	p *pp = aligned_alloc(CACHE_LINE, sizeof *pp);
	if (!pp)
		return NULL;
	memset(pp, 0, sizeof *pp);
	pp->id = id;
	atomic_store_explicit(&pp->status, _Pgcstop, memory_order_relaxed);
	return pp;
}

static p *pnew(int32_t id)
{
	p *pp = palloc(id);
	if (!pp)
		throw("out of memory (allocating a P)");
	return pp;
}

/* What procresize(nprocs) would allocate at start (the Ps, the steal
 * order), made beforehand, so that running out of memory is an error of
 * gort_main rather than a fatal one. Returns false if memory ran out;
 * what was made is p_teardown's. */
bool procs_prealloc(int32_t nprocs)
{
	for (int32_t i = 0; i < nprocs; i++)
		if (!allp[i] && !(allp[i] = palloc(i)))
			return false;
	return randomorder_init(&stealorder, (uint32_t)nprocs);
}

/* Empty a P that goes away: its Gs go to the head of the global queue in
 * their order, runnext first (as Go's destroy), counted in a trace as
 * every other move there is (GlobRunqPut), so that what a trace takes
 * from the global queue was put there in it; its caches go back to the
 * global pools. sched.lock held, world stopped. */
static void destroyp(p *pp)
{
	int64_t moved = 0;
	for (;;) {
		uint32_t head = atomic_load_explicit(&pp->runqhead, memory_order_relaxed);
		uint32_t tail = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (head == tail)
			break;
		tail--;
		atomic_store_explicit(&pp->runqtail, tail, memory_order_relaxed);
		globrunqputhead(atomic_load_explicit(&pp->runq[tail % GORT_RUNQ_SIZE],
		                                     memory_order_relaxed));
		moved++;
	}
	g *next = atomic_exchange_explicit(&pp->runnext, NULL, memory_order_relaxed);
	if (next) {
		globrunqputhead(next);
		moved++;
	}
	if (moved > 0)
		traceCountCur(EvGlobRunqPut, moved);
	gfpurge(pp);
	stackcache_release(pp);
	movetimers(allp[0], pp);
	atomic_store_explicit(&pp->status, _Pdead, memory_order_relaxed);
}

/* Change the number of Ps to nprocs. sched.lock held and the world
 * stopped (or not yet started). mp keeps its P if it survives, else takes
 * allp[0]. Returns the Ps, other than mp's, that have local work: the
 * caller starts Ms for them. Every other P ends on the idle list. */
p *procresize(m *mp, int32_t nprocs)
{
	int32_t old = atomic_load_explicit(&gomaxprocs, memory_order_relaxed);
	if (nprocs <= 0 || nprocs > GORT_MAX_PROCS)
		throw("procresize: invalid arg");

	for (int32_t i = 0; i < nprocs; i++) {
		if (!allp[i])
			allp[i] = pnew(i);
		else if (i >= old)
			atomic_store_explicit(&allp[i]->status, _Pgcstop, memory_order_relaxed);
	}
	for (int32_t i = nprocs; i < old; i++)
		destroyp(allp[i]);
	/* A trace says every change of the count, as Go's procresize (the
	 * first one of a trace is its snapshot's). */
	if (nprocs != old)
		traceGomaxprocs(old, nprocs);

	if (mp->p && mp->p->id < nprocs) {
		atomic_store_explicit(&mp->p->status, _Prunning, memory_order_relaxed);
	} else {
		/* The caller's P goes away and it goes on on allp[0]: a trace
		 * shows it descheduled on its P, which stops, and started
		 * again on allp[0], as Go's procresize pretends; else the
		 * trace has it running on a P that is gone, and its M holding
		 * that P to the end. */
		g *gp = mp->p ? getg() : NULL;
		if (mp->p) {
			if (gp)
				traceGoSched(mp->p, gp);
			traceProc(EvProcStop, mp->p, mp);
			setpm(mp->p, NULL);
			mp->p = NULL;
		}
		p *pp = allp[0];
		setpm(pp, NULL);
		atomic_store_explicit(&pp->status, _Pidle, memory_order_relaxed);
		acquirep(mp, pp);
		if (gp)
			traceGoStart(pp, gp, false);
	}
	atomic_store_explicit(&gomaxprocs, nprocs, memory_order_release);

	p *runnable = NULL;
	for (int32_t i = nprocs - 1; i >= 0; i--) {
		p *pp = allp[i];
		if (mp->p == pp)
			continue;
		setpm(pp, NULL);
		atomic_store_explicit(&pp->status, _Pidle, memory_order_relaxed);
		if (runqempty(pp)) {
			pidleput(pp);
		} else {
			pp->link = runnable;
			runnable = pp;
		}
	}
	randomorder_reset(&stealorder, (uint32_t)nprocs);
	return runnable;
}

/* On g0: the runtime began to exit while gp was stopping the world. Ms
 * leave the scheduler at exit without stopping their Ps, so the world
 * never stops: gp is abandoned with the other goroutines (teardown frees
 * it), as exitsyscall's abandon_m does. Its P counts as running again,
 * so that this M releases it on its way out. */
static g *stw_abandon_m(m *mp, g *gp)
{
	atomic_store_explicit(&mp->p->status, _Prunning, memory_order_relaxed);
	casgstatus(gp, _Grunning, _Gwaiting);
	dropg(mp, gp);
	return NULL;
}

/* The caller is a goroutine holding its P; worldsema is held. */
void stopTheWorld(void)
{
	m *mp = getm();
	if (mp->readynext)
		readynext_flush(mp); /* procresize may move this P's queue */
	STAT_ADD_M(mp, stoptheworld, 1);
	lock(&sched.lock);
	sched.stopwait = atomic_load_explicit(&gomaxprocs, memory_order_relaxed);
	atomic_store_explicit(&sched.gcwaiting, 1, memory_order_seq_cst);
	atomic_store_explicit(&mp->p->status, _Pgcstop, memory_order_relaxed);
	sched.stopwait--;
	/* Ps in a syscall stop now; their Ms find them stopped on return.
	 * Each call has lost its P, as to a retake: a trace says so, as
	 * Go's stopTheWorldWithSema. */
	int32_t procs = atomic_load_explicit(&gomaxprocs, memory_order_relaxed);
	for (int32_t i = 0; i < procs; i++) {
		uint32_t s = _Psyscall;
		if (atomic_compare_exchange_strong(&allp[i]->status, &s, _Pgcstop)) {
			traceGoSysBlock(allp[i], false);
			tick_inc(&allp[i]->syscalltick);
			sched.stopwait--;
		}
	}
	for (p *pp; (pp = pidleget()) != NULL;) {
		atomic_store_explicit(&pp->status, _Pgcstop, memory_order_relaxed);
		sched.stopwait--;
	}
	bool wait = sched.stopwait > 0;
	unlock(&sched.lock);
	if (wait) {
		/* As Go's stopTheWorldWithSema: ask the running goroutines to
		 * stop, again every 100 µs until every P has. Without this a
		 * goroutine that makes no runtime call would hold its P until
		 * sysmon's next slice check, and sysmon deep-sleeps while the
		 * world is being stopped. From the second round on, the ask is
		 * a hand-off: a goroutine in code that cannot be preempted, or
		 * in a plain blocking call (which an ask leaves alone, see
		 * preemptone), has its P detached, as sysmon does after two
		 * slices, and the P stops. */
		for (uint8_t level = PREEMPT_ASK;; level = PREEMPT_HANDOFF) {
			if (atomic_load(&sched.exiting)) {
				mcall(stw_abandon_m);
				throw("stopTheWorld: abandoned goroutine resumed");
			}
			for (int32_t i = 0; i < procs; i++)
				if (allp[i] != mp->p &&
				    atomic_load_explicit(&allp[i]->status, memory_order_relaxed) == _Prunning)
					preemptone(allp[i], level,
					           tick_load(&allp[i]->schedtick));
			if (notetsleep(&sched.stopnote, 100 * 1000))
				break;
		}
		noteclear(&sched.stopnote);
	}
	int32_t n = atomic_load_explicit(&gomaxprocs, memory_order_relaxed);
	for (int32_t i = 0; i < n; i++)
		if (atomic_load_explicit(&allp[i]->status, memory_order_relaxed) != _Pgcstop)
			throw("stopTheWorld: not stopped");
}

void startTheWorld(void)
{
	m *mp = getm();
	lock(&sched.lock);
	int32_t procs = newprocs > 0 ? newprocs : atomic_load_explicit(&gomaxprocs, memory_order_relaxed);
	newprocs = 0;
	p *runnable = procresize(mp, procs);
	atomic_store_explicit(&sched.gcwaiting, 0, memory_order_seq_cst);
	/* sysmon slept deeply while the world was stopped: it must watch
	 * our P again, which our M keeps without acquirep and which startm
	 * and wakep do not say when there is no other P to start
	 * (GOMAXPROCS=1), as Go's startTheWorldWithSema. */
	if (atomic_load(&sched.sysmonwait))
		sysmonwake();
	unlock(&sched.lock);
	while (runnable) {
		p *pp = runnable;
		runnable = pp->link;
		pp->link = NULL;
		startm(pp, false);
	}
	wakep();
}

void p_teardown(void)
{
	for (int i = 0; i < GORT_MAX_PROCS; i++) {
		if (allp[i])
			timers_teardown(allp[i]);
		free(allp[i]);
		allp[i] = NULL;
	}
	free(stealorder.coprimes);
	memset(&stealorder, 0, sizeof stealorder);
	atomic_store(&gomaxprocs, 0);
	newprocs = 0;
}
