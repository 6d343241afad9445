/*
 * sync_mutex.c - gort_mutex, Go's sync.Mutex (mutex.go) over the
 * runtime's semaphores (sema.c), with sync_runtime_canSpin/doSpin
 * (proc.go).
 *
 * state packs, as in Go, three bits and a count:
 *   mutexLocked    the mutex is held;
 *   mutexWoken     a goroutine is awake and competing for the lock (a
 *                  spinner, or a waiter just woken): unlock need not wake
 *                  another one;
 *   mutexStarving  starvation mode (below);
 *   state >> mutexWaiterShift   goroutines queued (or about to be) on sema.
 * Every change of state is one atomic operation; nothing else guards it.
 * sema counts wake-up units: unlock adds one for each waiter it decides
 * to wake, and a waiter takes one on waking (sema.c).
 *
 * Normal mode. Lock is one CAS from 0 when the mutex is free. Otherwise
 * the caller spins a little while the holder is likely running on
 * another P (canSpin), then counts itself a waiter and parks on sema in
 * FIFO order. A woken waiter does not own the mutex: it competes with
 * newcomers, which are running already and usually win; a waiter that
 * loses queues again at the head (lifo). Throughput is high because a
 * running goroutine can take the mutex many times in a row.
 *
 * Starvation mode. A waiter that has waited more than
 * starvationThresholdNs sets mutexStarving (only while the mutex is
 * held, as unlock then expects a waiter). From then on unlock hands the
 * mutex to the first waiter through the semaphore (semrelease1 handoff)
 * and yields its P to it. mutexLocked stays clear until that waiter sets
 * it; mutexStarving alone keeps newcomers out meanwhile, and they
 * neither spin nor take the lock but queue at the tail. The waiter that
 * receives the mutex ends starvation mode if it is the last waiter or
 * waited less than the threshold: otherwise two goroutines could hand
 * the mutex to each other forever at the cost of a switch per lock.
 *
 * The fast paths (an uncontended lock, an unlock with nobody waiting)
 * are one atomic each and do not touch the runtime, so they run outside
 * rt_enter. The slow paths spin, read the P and park: they run between
 * rt_enter_wait and rt_exit_wait, so the goroutine is not preempted while
 * it looks at its P, and a preemption requested meanwhile is honoured on
 * the way out (a plain thread holds off teardown there: runtime.h). A
 * thread that is not a goroutine never spins (it has no P to
 * measure by) and waits on its own thread in the semaphore.
 *
 * Lock order: none. No runtime lock is held while the mutex changes
 * state; the semaphore takes its root lock alone (sema.c).
 */
#include <errno.h>

#include "runtime.h"

enum {
	mutexLocked = 1,
	mutexWoken = 2,
	mutexStarving = 4,
	mutexWaiterShift = 3,
};

enum { starvationThresholdNs = 1000000 }; /* as Go: 1 ms */

enum {
	ACTIVE_SPIN = 4,      /* as Go's active_spin: spins per lock */
	ACTIVE_SPIN_CNT = 30, /* as Go's active_spin_cnt: PAUSEs per spin */
};

static int32_t load_state(gort_mutex *mu)
{
	return __atomic_load_n(&mu->state, __ATOMIC_SEQ_CST);
}

/* Go's CompareAndSwapInt32: old is not updated on failure. */
static bool cas_state(gort_mutex *mu, int32_t old, int32_t new)
{
	return __atomic_compare_exchange_n(&mu->state, &old, new, false,
	                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* ---- spinning (proc.go) ---- */

/* 0 until the first spin asks; relaxed: every writer stores the same */
static _Atomic int32_t ncpu;

static int32_t getncpu(void)
{
	int32_t n = atomic_load_explicit(&ncpu, memory_order_relaxed);
	if (unlikely(n == 0)) {
		n = getproccount();
		atomic_store_explicit(&ncpu, n, memory_order_relaxed);
	}
	return n;
}

/*
 * canSpin is Go's sync_runtime_canSpin. The mutex is cooperative, so
 * spinning is conservative: a few times, on a multicore machine, only
 * if some other P is running a goroutine (the holder may be running
 * there and about to unlock) and our P has nothing else to run. Unlike
 * the runtime's own lock there is no passive spinning (osyield): there
 * may be work on the global queue or on other Ps. gp is NULL for a
 * thread that is not a goroutine: it never spins. Inside rt_enter.
 */
static bool canSpin(g *gp, int iter)
{
	if (!gp || iter >= ACTIVE_SPIN || getncpu() <= 1)
		return false;
	/* Ps idle or spinning, and ours: if that is all of them, the holder
	 * is not running. A heuristic: a stale value costs a spin or two. */
	int32_t notrunning = atomic_load(&sched.npidle) + atomic_load(&sched.nmspinning) + 1;
	if (atomic_load_explicit(&gomaxprocs, memory_order_relaxed) <= notrunning)
		return false;
	p *pp = gp->m->p;
	return pp && runqempty(pp);
}

/* doSpin is Go's sync_runtime_doSpin: procyield(active_spin_cnt). */
static void doSpin(void)
{
	for (int i = 0; i < ACTIVE_SPIN_CNT; i++) {
#if defined(__x86_64__)
		__asm__ volatile("pause");
#elif defined(__aarch64__)
		__asm__ volatile("yield");
#endif
	}
}

/* ---- lock ---- */

/* lockSlow is Go's Mutex.lockSlow. Inside rt_enter; gp NULL on a thread
 * that is not a goroutine. May park. */
static void lockSlow(gort_mutex *mu, g *gp)
{
	int64_t waitStartTime = 0;
	bool starving = false;
	bool awoke = false;
	int iter = 0;
	int32_t old = load_state(mu);
	for (;;) {
		/* No spinning in starvation mode: the mutex goes to a
		 * waiter, we could not get it anyway. */
		if ((old & (mutexLocked | mutexStarving)) == mutexLocked && canSpin(gp, iter)) {
			/* Tell unlock not to wake a waiter: we are awake. */
			if (!awoke && !(old & mutexWoken) && (old >> mutexWaiterShift) != 0 &&
			    cas_state(mu, old, old | mutexWoken))
				awoke = true;
			doSpin();
			iter++;
			old = load_state(mu);
			continue;
		}
		int32_t new = old;
		/* A starving mutex is not taken: newcomers queue. */
		if (!(old & mutexStarving))
			new |= mutexLocked;
		if (old & (mutexLocked | mutexStarving))
			new += 1 << mutexWaiterShift;
		/* Switch to starvation mode only while the mutex is held:
		 * unlock expects a starving mutex to have waiters. */
		if (starving && (old & mutexLocked))
			new |= mutexStarving;
		if (awoke) {
			/* We were the woken one: clear the flag either way. */
			if (!(new & mutexWoken))
				throw("sync: inconsistent mutex state");
			new &= ~mutexWoken;
		}
		if (!cas_state(mu, old, new)) {
			old = load_state(mu);
			continue;
		}
		if (!(old & (mutexLocked | mutexStarving)))
			return; /* locked by the CAS */
		bool queueLifo = waitStartTime != 0; /* waited before: go first */
		if (waitStartTime == 0)
			waitStartTime = nanotime();
		semacquire1(&mu->sema, queueLifo, waitReasonSyncMutexLock);
		starving = starving || nanotime() - waitStartTime > starvationThresholdNs;
		old = load_state(mu);
		if (old & mutexStarving) {
			/* Handed the mutex: mutexLocked is still clear and we
			 * still count as a waiter. Fix both. */
			if ((old & (mutexLocked | mutexWoken)) || (old >> mutexWaiterShift) == 0)
				throw("sync: inconsistent mutex state");
			int32_t delta = mutexLocked - (1 << mutexWaiterShift);
			if (!starving || (old >> mutexWaiterShift) == 1)
				delta -= mutexStarving; /* back to normal mode */
			__atomic_add_fetch(&mu->state, delta, __ATOMIC_SEQ_CST);
			return;
		}
		awoke = true;
		iter = 0;
	}
}

GORT_API void gort_mutex_lock(gort_mutex *mu)
{
	if (unlikely(!mu)) {
		errno = EINVAL;
		return;
	}
	/* acquire; pairs with the release in gort_mutex_unlock */
	int32_t unlocked = 0;
	if (likely(__atomic_compare_exchange_n(&mu->state, &unlocked, mutexLocked, false,
	                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
		return;
	g *gp = rt_enter_wait();
	lockSlow(mu, gp);
	rt_exit_wait(gp);
}

/* Go's Mutex.TryLock: never waits, never spins, and fails in starvation
 * mode, where the mutex belongs to the first waiter. */
GORT_API bool gort_mutex_trylock(gort_mutex *mu)
{
	if (unlikely(!mu)) {
		errno = EINVAL;
		return false;
	}
	/* relaxed: only a hint; the CAS below decides */
	int32_t old = __atomic_load_n(&mu->state, __ATOMIC_RELAXED);
	if (old & (mutexLocked | mutexStarving))
		return false;
	/* acquire; pairs with the release in gort_mutex_unlock. A waiter
	 * may be about to wake, but we run now and may beat it. */
	return __atomic_compare_exchange_n(&mu->state, &old, old | mutexLocked, false,
	                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* ---- unlock ---- */

/* unlockSlow is Go's Mutex.unlockSlow; new is state after the unlock.
 * Inside rt_enter. */
static void unlockSlow(gort_mutex *mu, int32_t new)
{
	if (!((new + mutexLocked) & mutexLocked))
		fatal("sync: unlock of unlocked mutex");
	if (new & mutexStarving) {
		/* Hand the mutex to the first waiter. mutexLocked stays
		 * clear until it sets it; mutexStarving keeps newcomers out
		 * meanwhile. */
		semrelease1(&mu->sema, true);
		return;
	}
	int32_t old = new;
	for (;;) {
		/* Nobody to wake; or someone awake already, or the mutex
		 * taken again, or starving (then the unlock that saw the bit
		 * hands it over, not us): stay out of the way. */
		if ((old >> mutexWaiterShift) == 0 ||
		    (old & (mutexLocked | mutexWoken | mutexStarving)))
			return;
		/* Take the right to wake one. */
		new = (old - (1 << mutexWaiterShift)) | mutexWoken;
		if (cas_state(mu, old, new)) {
			semrelease1(&mu->sema, false);
			return;
		}
		old = load_state(mu);
	}
}

GORT_API void gort_mutex_unlock(gort_mutex *mu)
{
	if (unlikely(!mu)) {
		errno = EINVAL;
		return;
	}
	/* release; pairs with the acquire of the lock's CAS */
	int32_t new = __atomic_add_fetch(&mu->state, -mutexLocked, __ATOMIC_RELEASE);
	if (likely(new == 0))
		return;
	g *gp = rt_enter_wait();
	unlockSlow(mu, new);
	rt_exit_wait(gp);
}
