/*
 * lock.h - the runtime's own mutex and one-shot notes (Go's lock_futex.go).
 *
 * mutex: for short critical sections inside the runtime. It spins a little
 * and then sleeps on a futex, so it blocks the thread, never a goroutine:
 * it must never be held across a context switch or while calling user code.
 *
 * note: a one-shot event an M sleeps on (stopm) or a stopper waits on
 * (stop-the-world, teardown). notewakeup may run before notesleep; the
 * sleeper then returns at once. noteclear re-arms it; only the sleeper
 * clears, and only after it woke.
 */
#ifndef GORT_LOCK_H
#define GORT_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mutex {
	_Atomic uint32_t key; /* 0 unlocked, 1 locked, 2 locked with sleepers */
} mutex;

typedef struct note {
	_Atomic uint32_t key; /* 0 armed, 1 woken */
} note;

void lock(mutex *l);
void unlock(mutex *l);

void noteclear(note *n);
void notewakeup(note *n);
void notesleep(note *n);
/* Sleep at most ns nanoseconds; returns whether the note was woken. */
int notetsleep(note *n, int64_t ns);
/* Whether notewakeup has run since the last noteclear: for one who sees
 * every waker done (teardown, all Ms stopped, foreign_lock held). */
bool notewoken(note *n);

#endif /* GORT_LOCK_H */
