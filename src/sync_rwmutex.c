/*
 * sync_rwmutex.c - gort_rwmutex, Go's sync.RWMutex (rwmutex.go).
 *
 * readercount counts the readers holding the lock or waiting for it. A
 * writer first takes w, which settles the competition among writers,
 * then subtracts rwmutexMaxReaders from readercount: the count goes
 * negative, which tells every later reader that a writer is pending, so
 * they wait on readersem (writer preference: a steady stream of readers
 * cannot keep a writer out). The value before the subtraction is the
 * number of readers still inside; the writer adds it to readerwait and,
 * unless they have all left already, waits on writersem. Each departing
 * reader that sees a negative count decrements readerwait; the one that
 * brings it to zero wakes the writer. Unlock adds rwmutexMaxReaders back,
 * which both readmits readers and says how many queued meanwhile: it
 * releases readersem once for each, then releases w for the next writer.
 *
 * Ownership: readercount and readerwait change only by atomic adds, so
 * that readers never touch a lock; w is held from the start of a
 * writer's lock to the end of its unlock. At most rwmutexMaxReaders - 1
 * readers may hold or wait for the lock at once.
 *
 * Fast paths (a reader with no writer about, a writer with no reader)
 * are atomics and the mutex's own fast path; only the semaphore waits and
 * wake-ups run between rt_enter_wait and rt_exit_wait. Lock order: w, then the
 * semaphores' root locks (never held across anything, see sema.c).
 */
#include <errno.h>

#include "runtime.h"

enum { rwmutexMaxReaders = 1 << 30 }; /* as Go */

static int32_t add(int32_t *addr, int32_t delta)
{
	return __atomic_add_fetch(addr, delta, __ATOMIC_SEQ_CST);
}

GORT_API void gort_rwmutex_rlock(gort_rwmutex *rw)
{
	if (unlikely(!rw)) {
		errno = EINVAL;
		return;
	}
	if (add(&rw->readercount, 1) >= 0)
		return;
	/* A writer is pending: wait until its unlock admits us. */
	g *gp = rt_enter_wait();
	semacquire1(&rw->readersem, false, waitReasonSyncRWMutexRLock);
	rt_exit_wait(gp);
}

/* rUnlockSlow: a writer is pending (r, the count after our decrement, is
 * negative), or the rwmutex was not read-locked at all. */
static void rUnlockSlow(gort_rwmutex *rw, int32_t r)
{
	if (r + 1 == 0 || r + 1 == -rwmutexMaxReaders)
		fatal("sync: RUnlock of unlocked RWMutex");
	if (add(&rw->readerwait, -1) != 0)
		return;
	/* The last reader the writer waited for. */
	g *gp = rt_enter_wait();
	semrelease1(&rw->writersem, false);
	rt_exit_wait(gp);
}

GORT_API void gort_rwmutex_runlock(gort_rwmutex *rw)
{
	if (unlikely(!rw)) {
		errno = EINVAL;
		return;
	}
	int32_t r = add(&rw->readercount, -1);
	if (r < 0)
		rUnlockSlow(rw, r);
}

GORT_API void gort_rwmutex_lock(gort_rwmutex *rw)
{
	if (unlikely(!rw)) {
		errno = EINVAL;
		return;
	}
	gort_mutex_lock(&rw->w);
	/* Announce the writer; r readers are still inside. */
	int32_t r = add(&rw->readercount, -rwmutexMaxReaders) + rwmutexMaxReaders;
	if (r == 0 || add(&rw->readerwait, r) == 0)
		return;
	g *gp = rt_enter_wait();
	semacquire1(&rw->writersem, false, waitReasonSyncRWMutexLock);
	rt_exit_wait(gp);
}

/* Go 1.18's TryRLock: fails, rather than waits, while a writer holds
 * or waits for the lock. */
GORT_API bool gort_rwmutex_tryrlock(gort_rwmutex *rw)
{
	if (unlikely(!rw)) {
		errno = EINVAL;
		return false;
	}
	int32_t c = __atomic_load_n(&rw->readercount, __ATOMIC_RELAXED);
	do {
		if (c < 0)
			return false;
	} while (!__atomic_compare_exchange_n(&rw->readercount, &c, c + 1, true,
	                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	return true;
}

/* Go 1.18's TryLock: w without waiting, then the readers' count from 0
 * straight to the writer's mark; with a reader inside, w goes back. */
GORT_API bool gort_rwmutex_trylock(gort_rwmutex *rw)
{
	if (unlikely(!rw)) {
		errno = EINVAL;
		return false;
	}
	if (!gort_mutex_trylock(&rw->w))
		return false;
	int32_t zero = 0;
	if (!__atomic_compare_exchange_n(&rw->readercount, &zero, -rwmutexMaxReaders, false,
	                                 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
		gort_mutex_unlock(&rw->w);
		return false;
	}
	return true;
}

GORT_API void gort_rwmutex_unlock(gort_rwmutex *rw)
{
	if (unlikely(!rw)) {
		errno = EINVAL;
		return;
	}
	/* Readmit readers; r of them queued while we held the lock. */
	int32_t r = add(&rw->readercount, rwmutexMaxReaders);
	if (r >= rwmutexMaxReaders)
		fatal("sync: Unlock of unlocked RWMutex");
	if (r > 0) {
		g *gp = rt_enter_wait();
		for (int32_t i = 0; i < r; i++)
			semrelease1(&rw->readersem, false);
		rt_exit_wait(gp);
	}
	gort_mutex_unlock(&rw->w);
}
