/*
 * sema.c - semaphores keyed by address, for goroutines and for threads
 * that are not goroutines (Go's sema.go: semacquire/semrelease).
 *
 * A semaphore is a uint32 counter anywhere in memory (inside a
 * gort_waitgroup, for instance). Acquire takes one unit when the counter
 * is positive, otherwise parks on the semaphore's root until a release.
 * Waiters are sudogs in a table of SEMTABSZ roots hashed by address; a
 * root keeps one FIFO queue per address (Go keeps a treap of addresses
 * per root; the list of addresses here is short unless many hot
 * semaphores share a root).
 *
 * A sudog lives on the waiting goroutine's own stack: gort's stacks never
 * move, so a parked goroutine's frame is a stable home for its wait
 * record and parking allocates nothing. A waiter that is a plain thread
 * (gort_wg_wait from outside the runtime) sleeps on a note in its sudog
 * instead of parking.
 *
 * Lost wake-ups are excluded as in Go: a waiter announces itself in
 * root->nwait and re-checks the counter under root->lock before it
 * parks; a releaser increments the counter first and looks for waiters
 * only if nwait says there may be some. The root lock is released by
 * gopark's callback once the goroutine is switched out, so a releaser
 * that finds the sudog always finds a fully parked goroutine.
 */
#include <string.h>

#include "runtime.h"

enum { SEMTABSZ = 251 };

struct sudog {
	g *g;              /* the parked goroutine, or NULL for a thread */
	note wake;         /* a thread waiter sleeps here */
	uint32_t *addr;
	sudog *next;       /* FIFO of waiters on addr */
	sudog *waitlink;   /* next address queue of the root (heads only) */
	sudog *tail;       /* valid in a queue head */
};

typedef struct semaroot {
	mutex lock;
	sudog *heads;           /* one head per address, each a FIFO */
	_Atomic uint32_t nwait; /* waiters, read without the lock */
} __attribute__((aligned(CACHE_LINE))) semaroot;

static semaroot semtable[SEMTABSZ];

static semaroot *semroot(uint32_t *addr)
{
	return &semtable[((uintptr_t)addr >> 3) % SEMTABSZ];
}

static bool cansemacquire(uint32_t *addr)
{
	uint32_t v = __atomic_load_n(addr, __ATOMIC_ACQUIRE);
	while (v != 0) {
		if (__atomic_compare_exchange_n(addr, &v, v - 1, true, __ATOMIC_ACQUIRE,
		                                __ATOMIC_ACQUIRE))
			return true;
	}
	return false;
}

/* root->lock held. */
static void queue(semaroot *root, sudog *s)
{
	s->next = NULL;
	s->tail = s;
	s->waitlink = NULL;
	sudog **pp = &root->heads;
	for (; *pp; pp = &(*pp)->waitlink) {
		sudog *h = *pp;
		if (h->addr == s->addr) {
			h->tail->next = s;
			h->tail = s;
			return;
		}
	}
	*pp = s;
}

/* root->lock held. The oldest waiter on addr, or NULL. */
static sudog *dequeue(semaroot *root, uint32_t *addr)
{
	for (sudog **pp = &root->heads; *pp; pp = &(*pp)->waitlink) {
		sudog *h = *pp;
		if (h->addr != addr)
			continue;
		sudog *next = h->next;
		if (next) {
			next->tail = h->tail;
			next->waitlink = h->waitlink;
			*pp = next;
		} else {
			*pp = h->waitlink;
		}
		h->next = h->waitlink = NULL;
		return h;
	}
	return NULL;
}

void semacquire(uint32_t *addr, waitreason reason)
{
	if (cansemacquire(addr))
		return;
	semaroot *root = semroot(addr);
	sudog s;
	memset(&s, 0, sizeof s);
	s.g = getg();
	s.addr = addr;
	for (;;) {
		lock(&root->lock);
		atomic_fetch_add(&root->nwait, 1);
		if (cansemacquire(addr)) {
			atomic_fetch_sub(&root->nwait, 1);
			unlock(&root->lock);
			return;
		}
		queue(root, &s);
		if (s.g) {
			goparkunlock(&root->lock, reason);
		} else {
			noteclear(&s.wake);
			unlock(&root->lock);
			notesleep(&s.wake);
		}
		/* Woken by a release; the unit may have been taken by someone
		 * who never waited, so try again. */
		if (cansemacquire(addr))
			return;
	}
}

void semrelease(uint32_t *addr)
{
	semaroot *root = semroot(addr);
	__atomic_fetch_add(addr, 1, __ATOMIC_RELEASE);
	if (atomic_load(&root->nwait) == 0)
		return;
	lock(&root->lock);
	if (atomic_load(&root->nwait) == 0) {
		unlock(&root->lock);
		return;
	}
	sudog *s = dequeue(root, addr);
	if (s)
		atomic_fetch_sub(&root->nwait, 1);
	unlock(&root->lock);
	if (!s)
		return;
	if (s->g)
		goready(s->g);
	else
		notewakeup(&s->wake);
}

void sema_teardown(void)
{
	memset(semtable, 0, sizeof semtable);
}
