/*
 * syscall.c - the syscall hand-off (Go's entersyscall, exitsyscall,
 * entersyscallblock and handoffp).
 *
 * A goroutine about to block its thread in a system call or a blocking C
 * call says so with entersyscall. Its G goes to _Gsyscall and its P to
 * _Psyscall: the M keeps the P by affinity only (m->oldp) and no longer
 * owns it. Whoever first moves the P out of _Psyscall by CAS owns it:
 *  - the M itself in exitsyscall (the fast path: the call was short and
 *    the P is still there, no lock taken);
 *  - sysmon, when the call lasts (retake): it hands the P to another M
 *    (handoffp) so the P's other goroutines keep running;
 *  - a stop-the-world, which parks it as _Pgcstop.
 * entersyscallblock is for calls known to block long: it hands the P off
 * at once instead of waiting for sysmon.
 *
 * exitsyscall then takes back the old P if it can, else an idle one (a
 * P that another goroutine had meanwhile starts a new time slice, as
 * execute starts one); failing both (exitsyscall0, on g0) the G goes to
 * the global run queue and the M parks on the idle list, where a later
 * startm reuses it: the number of Ms follows the number of calls blocked
 * at once, it does not grow with the number of calls.
 *
 * preempt.c puts a goroutine in the same state (SYSCALL_DETACHED) when it
 * has run past two time slices in code that cannot be preempted; it then
 * runs on without a P and takes one back, with a new slice, at its next
 * runtime call.
 */
#include <errno.h>

#include "runtime.h"
#include "trace.h"

/* A stop-the-world began while our P went to _Psyscall: stop it here.
 * The call has lost its P, as to a retake (Go's entersyscall_gcwait).
 * sig: called from the preemption signal handler. */
static void entersyscall_gcwait(p *pp, bool sig)
{
	lock(&sched.lock);
	uint32_t s = _Psyscall;
	if (sched.stopwait > 0 &&
	    atomic_compare_exchange_strong(&pp->status, &s, _Pgcstop)) {
		traceGoSysBlock(pp, sig);
		tick_inc(&pp->syscalltick);
		if (--sched.stopwait == 0)
			notewakeup(&sched.stopnote);
	}
	unlock(&sched.lock);
}

/* gp (running on mp) enters a blocking call. how: SYSCALL_USER or
 * SYSCALL_DETACHED. Only plain stores and atomics up to the gcwait check,
 * so that preempt.c may call it from its signal handler. */
void entersyscall(m *mp, g *gp, uint8_t how)
{
	p *pp = mp->p;
	/* The P may go to another M: publish what runs next (no wakep: the
	 * P's new M, if any, runs it; this may be a signal handler). */
	if (mp->readynext) {
		runqput(pp, mp->readynext, true);
		mp->readynext = NULL;
	}
	/* For a dump's ", N minutes", as a park notes it (gopark). */
	gp->waitsince = atomic_load_explicit(&sched.coarsenow, memory_order_relaxed);
	casgstatus(gp, _Grunning, _Gsyscall);
	atomic_store_explicit(&pp->tracesysg, gp->goid, memory_order_relaxed);
	traceGoSysCall(mp, pp, gp, how == SYSCALL_DETACHED);
	gp->syscallstate = how;
	mp->syscalltick = tick_load(&pp->syscalltick);
	setpm(pp, NULL);
	mp->oldp = pp;
	mp->p = NULL;
	/* seq_cst, store and load (Go's atomic.Store): stopTheWorld sets
	 * gcwaiting and then looks for _Psyscall, we set _Psyscall and then
	 * look at gcwaiting, and one of the two must see the other. With a
	 * release store the load may pass it (x86 lets a load pass an
	 * earlier store): both then miss, the stopper counts our P as
	 * running but never asks it to stop (it is not _Prunning), and the
	 * stop waits for the end of the call, or for sysmon to retake the
	 * P, which it does only between its deep sleeps (up to a minute
	 * each while the world stops). */
	atomic_store_explicit(&pp->status, _Psyscall, memory_order_seq_cst);
	if (atomic_load_explicit(&sched.sysmonwait, memory_order_relaxed))
		sysmonwake();
	if (atomic_load_explicit(&sched.gcwaiting, memory_order_seq_cst))
		entersyscall_gcwait(pp, how == SYSCALL_DETACHED);
	/* Likewise with a preemption signal's sender (preempt.c): it looks
	 * at _Psyscall after claiming signalpending. A detached goroutine
	 * is in the handler, where the signal is blocked and its call, if
	 * any, restarted. */
	if (how != SYSCALL_DETACHED &&
	    unlikely(atomic_load_explicit(&mp->signalpending, memory_order_seq_cst)))
		preempt_syscall_wait(mp);
}

static void entersyscallblock(m *mp, g *gp)
{
	entersyscall(mp, gp, SYSCALL_USER);
	p *pp = mp->oldp;
	uint32_t s = _Psyscall;
	if (atomic_compare_exchange_strong(&pp->status, &s, _Pidle)) {
		tick_inc(&pp->syscalltick);
		traceGoSysBlock(pp, false);
		STAT_ADD(handoffs, 1);
		handoffp(pp);
	}
}

/* gp starts a time slice on pp, a P that was not its own until now (one
 * from the idle list, or its old P after another goroutine had it), as
 * execute would start it (exitsyscall0 does run it through execute):
 * the P's schedtick and preemption request are those of its last
 * goroutine, whose slice may have ended long ago. Left so, sysmon,
 * seeing the same tick as before the P went idle, would ask gp to stop
 * at once, and hand the P off at once from a gort_preempt_off region
 * that has two slices. Its old P, taken back untouched, goes on with
 * gp's own slice, as in Go, unless the handler had detached gp
 * (exitsyscallfast). */
static void startslice(m *mp, p *pp)
{
	atomic_store_explicit(&pp->preempt, PREEMPT_NONE, memory_order_relaxed);
	/* seq_cst, then the look: a request for the last slice whose
	 * sender saw the old tick may be on its way (preempt.c). It lands
	 * here, in the runtime, where the handler leaves gp alone. */
	atomic_store(&pp->schedtick, tick_load(&pp->schedtick) + 1);
	if (unlikely(atomic_load(&mp->signalpending)))
		preempt_syscall_wait(mp);
}

/* The fast path: our old P if nobody took it, else any idle P.
 * detached: the preemption handler detached the goroutine (its slice
 * was over twice); taken back untouched, the P would still carry that
 * slice, and sysmon would send the hand-off signal again at once, into
 * whatever call the goroutine makes next (a plain sleep it cannot
 * restart then fails with EINTR). The detach ended that slice. */
static bool exitsyscallfast(m *mp, p *oldp, bool detached)
{
	uint32_t s = _Psyscall;
	if (oldp && atomic_load_explicit(&oldp->status, memory_order_relaxed) == _Psyscall &&
	    atomic_compare_exchange_strong(&oldp->status, &s, _Pidle)) {
		acquirep(mp, oldp);
		/* Retaken and reused by another syscall meanwhile? Then
		 * its slice is another goroutine's too. */
		bool reused = mp->syscalltick != tick_load(&oldp->syscalltick);
		if (reused)
			tick_inc(&oldp->syscalltick);
		if (reused || detached)
			startslice(mp, oldp);
		return true;
	}
	if (atomic_load_explicit(&sched.npidle, memory_order_relaxed) > 0) {
		lock(&sched.lock);
		p *pp = pidleget();
		unlock(&sched.lock);
		if (pp) {
			acquirep(mp, pp);
			startslice(mp, pp);
			return true;
		}
	}
	return false;
}

/* On g0: no P to be had. Queue gp globally and park this M. */
static g *exitsyscall0(m *mp, g *gp)
{
	tracesnap_lock();
	casgstatus(gp, _Gsyscall, _Grunnable);
	traceGoSysExit(NULL, gp);
	tracesnap_unlock();
	gp->syscallstate = SYSCALL_NONE;
	dropg(mp, gp);
	/* Once queued and unlocked, gp may run (and exit) elsewhere. */
	bool locked = gp->locked;
	lock(&sched.lock);
	p *pp = pidleget();
	if (!pp)
		globrunqput(gp);
	unlock(&sched.lock);
	if (pp) {
		acquirep(mp, pp);
		startslice(mp, pp); /* execute(gp, false) */
		return gp;
	}
	if (locked) {
		/* Wait on this M until gp's turn comes (startlockedm). The M
		 * that hands the P over took gp from the queue without
		 * running it: gp starts its slice here. */
		if (!stoplockedm(mp))
			return NULL;
		startslice(mp, mp->p); /* execute(gp, false) */
		return gp;
	}
	stopm(mp);
	return NULL;
}

/* On g0: the runtime exited while gp was in its call. gp is abandoned
 * (teardown frees it), as Go abandons goroutines when main returns. */
static g *abandon_m(m *mp, g *gp)
{
	casgstatus(gp, _Gsyscall, _Grunnable);
	dropg(mp, gp);
	return NULL;
}

void exitsyscall(m *mp, g *gp)
{
	int saved = geterrno();
	p *oldp = mp->oldp;
	mp->oldp = NULL;
	if (unlikely(atomic_load_explicit(&sched.exiting, memory_order_acquire))) {
		mcall(abandon_m);
		throw("exitsyscall: abandoned goroutine resumed");
	}
	if (exitsyscallfast(mp, oldp, gp->syscallstate == SYSCALL_DETACHED)) {
		tick_inc(&mp->p->syscalltick);
		gp->syscallstate = SYSCALL_NONE;
		casgstatus(gp, _Gsyscall, _Grunning);
		traceGoSysExit(mp->p, gp);
	} else {
		mcall(exitsyscall0);
	}
	seterrno(saved); /* on whatever thread gp now runs */
}

/* Give pp, which no M holds any more, to an M if findrunnable would find
 * work for it, or if it is the last running P and nobody polls the
 * network; otherwise put it on the idle list. Go's handoffp. */
void handoffp(p *pp)
{
	if (!runqempty(pp) || atomic_load_explicit(&sched.runqsize, memory_order_relaxed) != 0) {
		startm(pp, false);
		return;
	}
	/* No local work, and no M is looking for work: start one that
	 * spins, so that new work is found without a wake-up. */
	int32_t zero = 0;
	if (atomic_load(&sched.nmspinning) + atomic_load(&sched.npidle) == 0 &&
	    atomic_compare_exchange_strong(&sched.nmspinning, &zero, 1)) {
		startm(pp, true);
		return;
	}
	lock(&sched.lock);
	if (atomic_load(&sched.gcwaiting)) {
		atomic_store_explicit(&pp->status, _Pgcstop, memory_order_relaxed);
		if (--sched.stopwait == 0)
			notewakeup(&sched.stopnote);
		unlock(&sched.lock);
		return;
	}
	if (atomic_load_explicit(&sched.runqsize, memory_order_relaxed) != 0) {
		unlock(&sched.lock);
		startm(pp, false);
		return;
	}
	/* The last running P, and no M blocked in the netpoller: goroutines
	 * waiting on the network would have nobody to see them ready (every
	 * P idle, sysmon sleeps deeply), so an M takes pp and polls. */
	if (atomic_load(&sched.npidle) == atomic_load(&gomaxprocs) - 1 &&
	    atomic_load(&sched.lastpoll) != 0) {
		unlock(&sched.lock);
		startm(pp, false);
		return;
	}
	/* pp's timers go idle with it: whoever waits in the netpoller must
	 * wake for the first (wakesleeper, outside sched.lock: it may start
	 * an M). */
	int64_t when = atomic_load_explicit(&pp->timer0when, memory_order_relaxed);
	pidleput(pp);
	unlock(&sched.lock);
	if (when != 0)
		wakesleeper(when);
}

/* ---- public API ---- */

static void entersyscall_api(bool block)
{
	g *gp = rt_enter();
	if (!gp)
		return;
	int saved = errno; /* no switch until exitsyscall: same thread */
	if (block)
		entersyscallblock(getm(), gp);
	else
		entersyscall(getm(), gp, SYSCALL_USER);
	/* Only now, in _Gsyscall (which the preemption signal leaves
	 * alone): preempted inside entersyscall, the goroutine could resume
	 * on another M and go on with this one's. */
	inruntime_lower(gp);
	errno = saved;
}

GORT_API void gort_entersyscall(void)
{
	entersyscall_api(false);
}

GORT_API void gort_entersyscall_block(void)
{
	entersyscall_api(true);
}

GORT_API void gort_exitsyscall(void)
{
	g *gp = getg();
	if (!gp || gp->syscallstate != SYSCALL_USER)
		return;
	/* exitsyscall keeps the call's errno, but rt_exit may then honour
	 * a preemption request (one made before the call, while the P was
	 * held), and the goroutine goes on on whichever thread runs it
	 * next: the errno its caller reads is that thread's unless it is
	 * set again there. */
	int saved = geterrno();
	inruntime_raise(gp);
	exitsyscall(getm(), gp);
	rt_exit(gp);
	seterrno(saved);
}
