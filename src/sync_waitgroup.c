/*
 * sync_waitgroup.c - gort_waitgroup, Go's sync.WaitGroup (Go 1.19).
 *
 * state holds the counter in its high 32 bits and the number of waiters
 * in its low 32 bits, so that "counter reached zero" and "someone waits"
 * are seen together by one atomic. When Add brings the counter to zero
 * with waiters present, no Wait can begin (the counter is zero) and no
 * Add may run concurrently (Go's rule for correct programs), so Add
 * takes the waiters it saw out of state and releases each once on sema.
 * (Go's rule is for positive deltas: an Add(0) may come at any time, and
 * one that finds the same zero with waiters leaves them to the Add that
 * made it.) It subtracts them rather than storing zero (Go's store) so
 * that a misuse in that instant stays what it is and loses nothing: a refused
 * Add that took the counter below zero still finds its delta to take
 * back (a store would leave the counter at +1 and the next Wait waiting
 * for ever), and an early Add of the next round, with any Wait counted
 * on it, is kept. That round's end may find the same waiters still
 * counted and take them too, before this Add has (Go's misuse "Add
 * called concurrently with Wait"): each of the two takes no more than
 * are left, so that together they release each waiter once and never
 * subtract more waiters than there are, which would borrow from the
 * counter.
 *
 * Unlike Go, a negative counter is not a panic: Add refuses the change
 * with ERANGE and takes it back, leaving the WaitGroup as it was.
 *
 * A new round must begin (an Add from zero) only after every Wait of the
 * previous one has returned. One begun earlier may let its own Wait take
 * the wake-up meant for a waiter of the previous round that has not run
 * yet (the semaphore's units belong to no round) and return on a counter
 * above zero. So a woken Wait looks at state, which Add left at zero, as
 * Go does: anything there now is the new round, and where Go panics
 * ("WaitGroup is reused before previous Wait has returned") Wait fails
 * with EBUSY. The waiter it counted in the new round stands in for the
 * one whose wake-up it took, which waits on for the new round's end.
 */
#include <errno.h>

#include "runtime.h"

/* Take up to w waiters out of state and return how many were taken:
 * fewer than w when another Add took some first (above). */
static uint32_t takewaiters(gort_waitgroup *wg, uint32_t w)
{
	uint64_t state = __atomic_load_n(&wg->state, __ATOMIC_RELAXED);
	for (;;) {
		uint32_t n = (uint32_t)state < w ? (uint32_t)state : w;
		if (n == 0 ||
		    __atomic_compare_exchange_n(&wg->state, &state, state - n, true,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return n;
	}
}

GORT_API int gort_wg_add(gort_waitgroup *wg, int delta)
{
	if (!wg) {
		errno = EINVAL;
		return -1;
	}
	/* One atomic add, as Go: a CAS loop would retry under contention
	 * (every goroutine of a fan-out calls Done). A change that takes the
	 * counter below zero or past INT32_MAX is undone at once; only a
	 * misused WaitGroup ever sees that instant. */
	uint64_t d = (uint64_t)(int64_t)delta << 32;
	uint64_t state = __atomic_add_fetch(&wg->state, d, __ATOMIC_ACQ_REL);
	int32_t v = (int32_t)(state >> 32);
	uint32_t w = (uint32_t)state;
	if (v < 0) {
		__atomic_sub_fetch(&wg->state, d, __ATOMIC_ACQ_REL);
		errno = ERANGE;
		return -1;
	}
	/* Only the Add that brought the counter down to zero owns the
	 * waiters it saw. Another one that sees the same zero with waiters
	 * (an Add(0) in that instant, or a positive delta that came to zero
	 * from a refused Add's negative count) must leave them: a second
	 * subtraction would borrow from the counter (-1, and 2^32-1 waiters
	 * that the next round's end would release), and its units would stay
	 * on sema for Waits yet to come. */
	if (v > 0 || w == 0 || delta >= 0)
		return 0;
	w = takewaiters(wg, w);
	if (w == 0)
		return 0;
	g *gp = rt_enter_wait();
	for (; w != 0; w--)
		semrelease(&wg->sema);
	rt_exit_wait(gp);
	return 0;
}

GORT_API int gort_wg_done(gort_waitgroup *wg)
{
	return gort_wg_add(wg, -1);
}

/* A Wait just woken: whether a new round has begun meanwhile (above),
 * with errno EBUSY. A refused Add's instant (a negative counter and no
 * waiter) is not one. */
static bool reused(gort_waitgroup *wg)
{
	uint64_t state = __atomic_load_n(&wg->state, __ATOMIC_ACQUIRE);
	if ((uint32_t)state == 0 && (int32_t)(state >> 32) <= 0)
		return false;
	errno = EBUSY;
	return true;
}

GORT_API int gort_wg_wait(gort_waitgroup *wg)
{
	if (!wg) {
		errno = EINVAL;
		return -1;
	}
	uint64_t state = __atomic_load_n(&wg->state, __ATOMIC_ACQUIRE);
	for (;;) {
		if ((state >> 32) == 0)
			return 0;
		if ((int32_t)(state >> 32) < 0) {
			/* A refused Add's instant (gort_wg_add): it takes its
			 * delta back at once. Counting ourselves a waiter now
			 * would wait for a zero that may already be there, and
			 * no Add would ever release us. */
			gort_gosched();
			state = __atomic_load_n(&wg->state, __ATOMIC_ACQUIRE);
			continue;
		}
		if (__atomic_compare_exchange_n(&wg->state, &state, state + 1, true,
		                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			g *gp = rt_enter_wait();
			semacquire(&wg->sema, waitReasonSemacquire);
			rt_exit_wait(gp);
			return reused(wg) ? -1 : 0;
		}
	}
}
