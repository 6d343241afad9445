/*
 * timer_api.c - gort_timer: Go's time.Timer and time.Ticker on the
 * runtime's timers (timer.c), delivering on a channel (Go's sendTime).
 *
 * A gort_timer owns one runtime timer and a channel of capacity one.
 * Firing sends the fire time without blocking: if the previous value is
 * still unread the new one is dropped, so a slow reader of a ticker sees
 * one pending tick, never a backlog. A ticker re-arms itself from its fire
 * function, at the next multiple of its period after now (ticks missed
 * while every P was busy are skipped, as Go's).
 *
 * State and locking. tm->mu protects the timer's when and period and
 * serialises stop, reset and the fire function. Lock order: tm->mu
 * before a P's timerslock (deltimer, addtimer) and before the channel's
 * lock (chansend in fire); those two are never held together. Between
 * checktimers taking the timer out of its heap and fire taking tm->mu,
 * the timer is in no heap but t.firing is set: stop and reset wait for
 * that firing to finish, so that, as in Go before 1.23, a firing under
 * way is complete (its value sent) before they return, and free never
 * releases memory a firing still uses.
 */
#include <errno.h>
#include <stdlib.h>

#include "chan.h"

struct gort_timer {
	mutex mu;
	timer t;
	int64_t period; /* > 0: a ticker */
	gort_chan *c;
};

static void timer_fire(void *arg, int64_t now)
{
	gort_timer *tm = arg;
	lock(&tm->mu);
	/* Cleared first: a ticker re-armed below may be taken out to fire
	 * again by another M before we unlock, and that firing's mark must
	 * stand. Stop and reset cannot look before we unlock. */
	atomic_store_explicit(&tm->t.firing, 0, memory_order_relaxed);
	int64_t v = now;
	chansend(tm->c, &v, false); /* full: the tick is dropped */
	if (tm->period > 0) {
		/* The next multiple of the period after now; periods that
		 * passed unseen are skipped. */
		int64_t late = now - tm->t.when;
		int64_t step;
		if (__builtin_mul_overflow(tm->period, 1 + late / tm->period, &step))
			step = INT64_MAX;
		tm->t.when = addsat(tm->t.when, step);
		if (!addtimer(getm(), &tm->t))
			throw("out of memory (ticker)");
	}
	unlock(&tm->mu);
}

/* Arm tm to fire at `when` on the caller's P, or on P 0 for a plain
 * thread (which holds foreign_lock: the runtime cannot go away
 * meanwhile). tm->mu held. */
static bool timer_arm(gort_timer *tm, int64_t when)
{
	tm->t.when = when;
	m *mp = getm();
	if (mp && mp->p)
		return addtimer(mp, &tm->t);
	return addtimer_p(allp[0], &tm->t);
}

/* Take tm out of its heap, first waiting for a firing in flight. Returns
 * whether it was armed. tm->mu held (released while waiting). */
static bool timer_disarm(gort_timer *tm)
{
	for (;;) {
		if (deltimer(&tm->t))
			return true;
		if (!atomic_load_explicit(&tm->t.firing, memory_order_acquire))
			return false;
		unlock(&tm->mu);
		osyield();
		lock(&tm->mu);
	}
}

GORT_API gort_timer *gort_timer_new(int64_t ns, int64_t period_ns)
{
	if (period_ns < 0) {
		errno = EINVAL;
		return NULL;
	}
	gort_timer *tm = calloc(1, sizeof *tm);
	gort_chan *c = gort_chan_make(sizeof(int64_t), 1);
	if (!tm || !c) {
		free(tm);
		gort_chan_free(c);
		errno = ENOMEM;
		return NULL;
	}
	tm->c = c;
	tm->period = period_ns;
	tm->t.f = timer_fire;
	tm->t.arg = tm;
	tm->t.idx = -1;
	g *gp;
	if (!rt_enter_up(&gp)) {
		gort_chan_free(c);
		free(tm);
		errno = EAGAIN; /* no runtime to run it */
		return NULL;
	}
	lock(&tm->mu);
	bool ok = timer_arm(tm, addsat(nanotime(), ns > 0 ? ns : 0));
	unlock(&tm->mu);
	rt_exit_wait(gp);
	if (!ok) {
		gort_chan_free(c);
		free(tm);
		errno = ENOMEM;
		return NULL;
	}
	return tm;
}

GORT_API gort_chan *gort_timer_chan(gort_timer *tm)
{
	if (!tm) {
		errno = EINVAL;
		return NULL;
	}
	return tm->c;
}

GORT_API bool gort_timer_stop(gort_timer *tm)
{
	if (!tm) {
		errno = EINVAL;
		return false;
	}
	g *gp;
	if (!rt_enter_up(&gp))
		return false; /* no runtime: its timers are gone (timers_orphan) */
	lock(&tm->mu);
	bool was = timer_disarm(tm);
	unlock(&tm->mu);
	rt_exit_wait(gp);
	return was;
}

GORT_API bool gort_timer_reset(gort_timer *tm, int64_t ns)
{
	if (!tm) {
		errno = EINVAL;
		return false;
	}
	g *gp;
	if (!rt_enter_up(&gp)) {
		errno = EAGAIN;
		return false;
	}
	lock(&tm->mu);
	bool was = timer_disarm(tm);
	if (!timer_arm(tm, addsat(nanotime(), ns > 0 ? ns : 0)))
		throw("out of memory (timer reset)");
	unlock(&tm->mu);
	rt_exit_wait(gp);
	return was;
}

GORT_API void gort_timer_free(gort_timer *tm)
{
	if (!tm)
		return;
	gort_timer_stop(tm);
	gort_chan_free(tm->c);
	free(tm);
}
