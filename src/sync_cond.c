/*
 * sync_cond.c - gort_cond, Go's sync.Cond (cond.go) over the runtime's
 * notify list (sema.c).
 *
 * Wait takes a ticket while it still holds the caller's mutex, then
 * unlocks the mutex, waits for the ticket, and locks the mutex again.
 * Taking the ticket before unlocking is what makes "unlock and wait"
 * atomic: a signal sent after the unlock (necessarily by someone who
 * could take the mutex only after the ticket existed) notifies that
 * ticket, whether or not the waiter has queued itself yet. Signal wakes
 * the oldest ticket not yet notified; broadcast all of them. Neither
 * needs the mutex held, as in Go.
 *
 * Ownership: the gort_cond is the runtime's notifyList (the public
 * struct reserves the space; sema.c checks the layout), guarded by the
 * list's own runtime lock. Lock order: the caller's mutex is never held
 * while the list waits, and the list's lock is never held while the
 * mutex changes hands.
 */
#include <errno.h>

#include "runtime.h"

static notifyList *notifylist(gort_cond *c)
{
	return (notifyList *)(void *)c;
}

GORT_API void gort_cond_wait(gort_cond *c, gort_mutex *mu)
{
	if (unlikely(!c || !mu)) {
		errno = EINVAL;
		return;
	}
	notifyList *l = notifylist(c);
	/* One bracket from the ticket to the wait: a plain thread never
	 * holds a ticket it has not queued when a run ends, which would
	 * count as notified (notifyList_keep, sema.c). */
	g *gp = rt_enter_wait();
	uint32_t t = notifyListAdd(l);
	gort_mutex_unlock(mu);
	notifyListWait(l, t);
	rt_exit_wait(gp);
	gort_mutex_lock(mu);
}

GORT_API void gort_cond_signal(gort_cond *c)
{
	if (unlikely(!c)) {
		errno = EINVAL;
		return;
	}
	g *gp = rt_enter_wait();
	notifyListNotifyOne(notifylist(c));
	rt_exit_wait(gp);
}

GORT_API void gort_cond_broadcast(gort_cond *c)
{
	if (unlikely(!c)) {
		errno = EINVAL;
		return;
	}
	g *gp = rt_enter_wait();
	notifyListNotifyAll(notifylist(c));
	rt_exit_wait(gp);
}
