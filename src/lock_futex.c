/*
 * lock_futex.c - runtime mutex and notes on Linux futexes (Go's
 * lock_futex.go, same three-state protocol).
 *
 * mutex key: 0 = unlocked, 1 = locked, 2 = locked and someone may sleep.
 * A locker that has to sleep sets 2, so unlock knows to call futex wake;
 * an uncontended lock/unlock pair is one exchange and one store.
 *
 * mlocks counts the runtime locks this thread holds. The preemption
 * signal handler (and the debug checks) use it to know the thread is
 * inside the runtime.
 */
#include "runtime.h"

__thread int32_t mlocks __attribute__((tls_model("initial-exec")));

enum { MUTEX_UNLOCKED = 0, MUTEX_LOCKED = 1, MUTEX_SLEEPING = 2 };
enum { ACTIVE_SPIN = 4, ACTIVE_SPIN_CNT = 30, PASSIVE_SPIN = 1 };

static inline void procyield(int n)
{
	for (int i = 0; i < n; i++) {
#if defined(__x86_64__)
		__asm__ volatile("pause");
#elif defined(__aarch64__)
		__asm__ volatile("yield");
#endif
	}
}

/* Take l if it is free, leaving key = state. */
static inline bool trylock_as(mutex *l, uint32_t state)
{
	while (atomic_load_explicit(&l->key, memory_order_relaxed) == MUTEX_UNLOCKED) {
		uint32_t z = MUTEX_UNLOCKED;
		if (atomic_compare_exchange_weak_explicit(&l->key, &z, state,
		        memory_order_acquire, memory_order_relaxed))
			return true;
	}
	return false;
}

void lock(mutex *l)
{
	mlocks_raise();
	uint32_t v = atomic_exchange_explicit(&l->key, MUTEX_LOCKED, memory_order_acquire);
	if (likely(v == MUTEX_UNLOCKED))
		return;
	/* v is MUTEX_LOCKED or MUTEX_SLEEPING. Whatever we set key to, we
	 * must not lose the information that someone sleeps: wait holds the
	 * state to set when we take the lock. */
	uint32_t wait = v;
	for (;;) {
		for (int i = 0; i < ACTIVE_SPIN; i++) {
			if (trylock_as(l, wait))
				return;
			procyield(ACTIVE_SPIN_CNT);
		}
		for (int i = 0; i < PASSIVE_SPIN; i++) {
			if (trylock_as(l, wait))
				return;
			osyield();
		}
		v = atomic_exchange_explicit(&l->key, MUTEX_SLEEPING, memory_order_acquire);
		if (v == MUTEX_UNLOCKED)
			return;
		wait = MUTEX_SLEEPING;
		futexsleep(&l->key, MUTEX_SLEEPING, -1);
	}
}

void unlock(mutex *l)
{
	uint32_t v = atomic_exchange_explicit(&l->key, MUTEX_UNLOCKED, memory_order_release);
	if (unlikely(v == MUTEX_UNLOCKED))
		throw("unlock of unlocked lock");
	if (v == MUTEX_SLEEPING)
		futexwakeup(&l->key, 1);
	mlocks_lower();
	if (unlikely(mlocks < 0))
		throw("runtime: lock count");
}

void noteclear(note *n)
{
	atomic_store_explicit(&n->key, 0, memory_order_relaxed);
}

void notewakeup(note *n)
{
	uint32_t old = atomic_exchange_explicit(&n->key, 1, memory_order_release);
	if (old != 0)
		throw("notewakeup - double wakeup");
	futexwakeup(&n->key, 1);
}

bool notewoken(note *n)
{
	return atomic_load_explicit(&n->key, memory_order_acquire) != 0;
}

void notesleep(note *n)
{
	/* As Go: m.blocked says the M sleeps here (schedtrace's blocked=). */
	m *mp = tls_m;
	if (mp)
		atomic_store_explicit(&mp->blocked, 1, memory_order_relaxed);
	while (atomic_load_explicit(&n->key, memory_order_acquire) == 0)
		futexsleep(&n->key, 0, -1);
	if (mp)
		atomic_store_explicit(&mp->blocked, 0, memory_order_relaxed);
}

int notetsleep(note *n, int64_t ns)
{
	if (ns < 0) {
		notesleep(n);
		return 1;
	}
	int64_t deadline = addsat(nanotime(), ns);
	while (atomic_load_explicit(&n->key, memory_order_acquire) == 0) {
		int64_t left = deadline - nanotime();
		if (left <= 0)
			return 0;
		futexsleep(&n->key, 0, left);
	}
	return 1;
}
