/*
 * internal_util.h - helpers shared by the internal tests, which see the
 * runtime's own structures (runtime.h).
 *
 * hold_p: a case that inspects or builds its P's queues by hand needs to
 * keep that P, with no time slice ending halfway (sanitizer builds and
 * emulators run slowly enough for a 10 ms slice to end in the middle).
 */
#ifndef GORT_TEST_INTERNAL_UTIL_H
#define GORT_TEST_INTERNAL_UTIL_H

#include <stdatomic.h>

#include "gort.h"
#include "runtime.h"

/* From here on no slice of the caller's ends (debug_nopreempt; the case
 * clears it when it is done, if a later case needs slices). The calling
 * goroutine may have been detached already, its P handed off (two slices
 * in code it cannot be preempted in: getm()->p is NULL then);
 * gort_gosched takes a P back, with a new slice. A request made before
 * the flag was set is cleared. Returns the P held. */
static inline p *hold_p(void)
{
	atomic_store(&debug_nopreempt, true);
	gort_gosched();
	p *pp = getm()->p;
	atomic_store(&pp->preempt, PREEMPT_NONE);
	return pp;
}

#endif
