/*
 * lockosthread.c - wiring a goroutine to its thread (Go's LockOSThread,
 * startlockedm, stoplockedm).
 *
 * While a G is locked (g->locked), g->m names its M and m->lockedg names
 * the G: the G runs only on that M and the M runs nothing else. When the
 * G blocks or yields, its M gives its P away (handoffp) and sleeps in
 * stoplockedm. Whoever later picks the G from a run queue cannot run it:
 * startlockedm hands that M's P to the locked M, wakes it, and parks
 * itself. Nesting is counted in m->lockedext.
 *
 * A G that exits while locked takes its thread with it: the M hands off
 * its P and its thread ends (mstart returns). The thread that called
 * gort_main is not ended but parked until the runtime exits, as Go
 * wedges the main thread.
 *
 * m->lockedpark says, under sched.lock, that the M sleeps in stoplockedm;
 * mwake clears it before posting the note, so that startlockedm and
 * exitbegin never wake the same sleep twice. A hand-over that comes
 * before the M is asleep posts the note at once, with nextp set; the M
 * then never sets lockedpark for that sleep, which ends at once. Once
 * sched.exiting is set no hand-over is made: exitbegin has woken every
 * sleeping locked M, and clearing lockedpark does not tell whether the
 * M has cleared its note since.
 */
#include "runtime.h"
#include "trace.h"

/* Wake mp from stoplockedm (or make its coming sleep return at once).
 * sched.lock held. */
static void mwake_locked(m *mp)
{
	if (mp->lockedpark) {
		mp->lockedpark = false;
		notewakeup(&mp->park);
	}
}

/* Wake every M parked in stoplockedm: the runtime exits. sched.lock held. */
void lockedm_wakeall(void)
{
	for (m *mp = allm; mp; mp = mp->alllink) {
		if (mp->lockedpark) {
			mp->nextp = NULL;
			mwake_locked(mp);
		}
	}
}

/* mp's locked G cannot run now: give the P away and sleep until
 * startlockedm hands one over with the G. Returns false when woken
 * because the runtime exits. */
bool stoplockedm(m *mp)
{
	if (!mp->wedged && (!mp->lockedg || mp->lockedg->m != mp))
		throw("stoplockedm: inconsistent locking");
	if (mp->p)
		handoffp(releasep(mp));
	lock(&sched.lock);
	if (atomic_load(&sched.exiting)) {
		unlock(&sched.lock);
		return false;
	}
	/* A hand-over that came first (startlockedm saw no lockedpark) has
	 * posted the note already: the sleep returns at once, and no one
	 * else may post it again meanwhile (lockedm_wakeall at exit). */
	mp->lockedpark = mp->nextp == NULL;
	sched.nmidlelocked++;
	checkdead();
	unlock(&sched.lock);

	/* The M sleeps with no P as in stopm (Go's mPark): a trace says
	 * so alike. */
	traceM(EvMPark, mp);
	notesleep(&mp->park);
	noteclear(&mp->park);

	lock(&sched.lock);
	sched.nmidlelocked--;
	mp->lockedpark = false;
	unlock(&sched.lock);
	if (!mp->nextp)
		return false;
	uint32_t s = readgstatus(mp->lockedg);
	if (s != _Grunnable) {
		printstr("runtime:stoplockedm: lockedg (atomicstatus=");
		printint(s);
		printstr(") is not Grunnable\n");
		throw("stoplockedm: not runnable");
	}
	traceM(EvMUnpark, mp);
	acquirep(mp, mp->nextp);
	mp->nextp = NULL;
	return true;
}

/* Hand pp to lm, whose locked G is runnable. sched.lock held. */
static void handlockedm(m *lm, p *pp)
{
	lm->nextp = pp;
	if (lm->lockedpark) {
		mwake_locked(lm);
	} else {
		/* Not asleep yet: the note is posted now and its coming
		 * notesleep returns at once (stoplockedm, seeing nextp, does
		 * not set lockedpark for it). */
		notewakeup(&lm->park);
	}
}

/* gp is locked to another M: give it our P and park ourselves. Once the
 * runtime exits (gp was taken from a queue just before exitbegin), lm
 * is left alone and pp goes to teardown, as startm leaves it:
 * lockedm_wakeall may have posted lm's note already, and a second post
 * before lm clears it is a fatal double wake-up. lm->nextp is read
 * under sched.lock, which lockedm_wakeall writes it under. */
void startlockedm(m *mp, g *gp)
{
	m *lm = gp->m;
	if (lm == mp)
		throw("startlockedm: locked to me");
	p *pp = releasep(mp);
	lock(&sched.lock);
	if (lm->nextp)
		throw("startlockedm: m has p");
	if (!atomic_load(&sched.exiting))
		handlockedm(lm, pp);
	unlock(&sched.lock);
	stopm(mp);
}

/* No M can be made to run pp and none is idle (newmfailed): if a
 * goroutine on the global queue is locked to an M, that M can run it.
 * Give pp to it, as startlockedm does for the M that would have taken
 * the goroutine from the queue, which is not there: left on the queue
 * with pp idle, the goroutine would wait with every M asleep, its own
 * in stoplockedm. sched.lock held. */
bool startlockedm_global(p *pp)
{
	g *gp = globrunqgetlocked(pp);
	if (!gp)
		return false;
	handlockedm(gp->m, pp);
	return true;
}

/* On g0: gp, locked to mp, has exited. The thread goes with it, except
 * the thread that called gort_main, which parks until the runtime exits. */
g *lockedexit(m *mp, g *gp)
{
	(void)gp;
	mp->lockedg = NULL;
	mp->lockedext = 0;
	if (mp->ism0) {
		mp->wedged = true;
		return NULL;
	}
	if (mp->p)
		handoffp(releasep(mp));
	lock(&sched.lock);
	sched.nmfreed++;
	mp->exitafterg = true;
	checkdead();
	unlock(&sched.lock);
	return NULL;
}

/* ---- public API ---- */

GORT_API void gort_lock_os_thread(void)
{
	g *gp = rt_enter();
	if (!gp)
		return;
	m *mp = getm();
	if (mp->lockedext < UINT32_MAX)
		mp->lockedext++;
	mp->lockedg = gp;
	gp->locked = true;
	rt_exit(gp);
}

GORT_API void gort_unlock_os_thread(void)
{
	g *gp = rt_enter();
	if (!gp)
		return;
	m *mp = getm();
	if (mp->lockedext > 0 && --mp->lockedext == 0) {
		mp->lockedg = NULL;
		gp->locked = false;
	}
	rt_exit(gp);
}
