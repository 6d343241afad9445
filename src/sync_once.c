/*
 * sync_once.c - gort_once, Go's sync.Once (once.go).
 *
 * done is 0 until fn has returned, then 1 forever. Callers that find it
 * 1 return at once (one acquire load, the fast path). The others take m,
 * the once's mutex, and the first of them to find done still 0 runs fn
 * with m held; the rest wait on m, then see done set. done is set only
 * after fn returns and before m is released, so no caller returns before
 * fn has completed.
 *
 * The rejected alternative, as in Go: a CAS of done from 0 to 1 to pick
 * the caller that runs fn. The others would then return while fn still
 * runs, before its effects exist; Do promises that they wait.
 *
 * Ownership: m guards the decision (done 0 -> 1) and the run of fn; done
 * is also read without m, hence atomic. Lock order: m is held while fn
 * runs, so fn may take other locks but must not call gort_once_do on the
 * same once (it would wait for itself, as in Go).
 */
#include <errno.h>

#include "runtime.h"

static void doSlow(gort_once *o, void (*fn)(void *), void *arg)
{
	gort_mutex_lock(&o->m);
	if (__atomic_load_n(&o->done, __ATOMIC_RELAXED) == 0) { /* m held */
		fn(arg);
		/* release; pairs with the acquire in gort_once_do */
		__atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
	}
	gort_mutex_unlock(&o->m);
}

GORT_API void gort_once_do(gort_once *o, void (*fn)(void *), void *arg)
{
	if (unlikely(!o || !fn)) {
		errno = EINVAL;
		return;
	}
	/* acquire; pairs with the release in doSlow: fn's effects are
	 * visible to a caller that sees done. */
	if (__atomic_load_n(&o->done, __ATOMIC_ACQUIRE) == 0)
		doSlow(o, fn, arg);
}
