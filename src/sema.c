/*
 * sema.c - semaphores keyed by address and the notify lists of condition
 * variables, for goroutines and for threads that are not goroutines
 * (Go's sema.go: semacquire1/semrelease1, notifyList).
 *
 * Semaphores. A semaphore is a uint32 counter anywhere in memory (inside
 * a gort_waitgroup or a gort_mutex, for instance). Acquire takes one unit
 * when the counter is positive, otherwise waits on the semaphore's root
 * until a release. Waiters are sudogs in a table of SEMTABSZ roots hashed
 * by address; a root keeps one queue per address, and its addresses in a
 * treap (Go's semaRoot), so that finding one costs O(log n) in the
 * addresses waited on, not O(n), when many semaphores share a root.
 *
 * The treap. Its nodes are the first waiters of the addresses, one node
 * per address: a binary search tree by address (prev: lower addresses,
 * next: higher; parent: NULL at the top, root->treap) and a heap by a
 * random priority drawn when the address gets its node (a parent's
 * priority is no higher than its children's), which keeps it balanced
 * whatever the order in which addresses come and go. The other waiters
 * of an address follow the node on its waitlink list, and the node's
 * tail is the last of them (itself when alone). A new address goes in as
 * a leaf and rotates up while its parent's priority is higher; the last
 * waiter of an address leaves by rotating down, the child with the lower
 * priority coming up, until it is a leaf, which is cut off. When the
 * first waiter leaves and others remain, or a lifo waiter comes, one
 * sudog takes another's place as the node: links, tail and priority
 * move to it, and the tree keeps its shape.
 *
 * The queue of an address is FIFO, with two exceptions taken from Go for
 * sync.Mutex's fairness:
 *  - lifo: a waiter that has waited before and lost the race for the
 *    mutex queues at the head, so that it is the next one woken;
 *  - handoff: a release in starvation mode takes the unit it adds on
 *    behalf of the first waiter (s->ticket = 1), so that the waiter owns
 *    it on waking instead of competing with newcomers; a goroutine that
 *    releases this way then yields its P (goyield), and the waiter, which
 *    goready put in runnext, runs at once in the releaser's time slice.
 *
 * Lost wake-ups are excluded as in Go: a waiter announces itself in
 * root->nwait and re-checks the counter under root->lock before it
 * waits; a releaser increments the counter first and looks for waiters
 * only if nwait says there may be some. Both sides are seq_cst: each one
 * stores, then loads what the other stores (a Dekker pattern).
 *
 * Notify lists (Go's notifyList, the heart of sync.Cond). A waiter takes
 * a ticket (notifyListAdd, one atomic add, while it still holds the
 * cond's mutex), releases the mutex, then waits for that ticket
 * (notifyListWait). notify is the next ticket to wake: a waiter whose
 * ticket is already below it returns without waiting; a notifier that
 * finds its ticket's waiter not yet queued needs do nothing more, because
 * that waiter will see notify has passed it. Tickets wrap; they compare
 * correctly while fewer than 2^31 waiters are outstanding.
 *
 * A gort_cond is the user's and may outlive a gort_main run in which
 * goroutines were left waiting on it: their sudogs were on stacks that
 * are unmapped by now. As a channel does (chan.h), a list records the
 * run its waiters belong to (gen, runtime_gen) and the first use in a
 * later run forgets them (notifyListLock): the list is emptied and
 * their tickets count as notified, or a signal would go to one of them
 * and be lost. Every path reaches the list or a ticket through that
 * check first, so a ticket of the new run is never among them. A list on
 * which a plain thread still waits when the run ends is not left to
 * that check: teardown takes the goroutines out, renumbers the plain
 * waiters' tickets and stamps the list with the new gen
 * (notifyList_keep), so that they wait on into the next run. The
 * semaphore table, global, is rebuilt with its plain waiters at the
 * same moment (sema_teardown); plainwait.c has the design.
 *
 * Who owns what. A sudog lives on the waiter's own stack: gort's stacks
 * never move, so a waiting goroutine's frame is a stable home for its
 * wait record and waiting allocates nothing. A waiter that is a plain
 * thread (getg() == NULL) sleeps on the note in its sudog instead of
 * parking. While queued, a sudog belongs to the lock of its root or
 * list; once dequeued it belongs to the one waker that dequeued it, until
 * that waker wakes it. From the wake-up on, the frame may be gone: a
 * waker reads what it needs (s->g) before goready or notewakeup and
 * never touches s afterwards.
 *
 * Locks. root->lock guards the treap and queues of a root (the links,
 * tail and priority of every sudog queued there), l->lock a notify
 * list's queue. A waiter's lock is released by gopark's callback once the
 * goroutine is switched out (or, for a thread, after its note is
 * armed), so a waker that finds the sudog always finds a waiter that
 * cannot miss the wake-up. Waiters are readied after the unlock, neither
 * lock is held together with the other, and no one waits, readies or
 * yields while holding one. No runtime lock is taken under one: gopark's
 * direct switch, which runs with the parking goroutine's lock still
 * held, starts a fresh G only on a stack from its P's cache, and goes
 * through g0, after the unlock, for any other (sched.c: park_direct).
 */
#include <stddef.h>
#include <string.h>

#include "runtime.h"
#include "trace.h"

enum { SEMTABSZ = 251 }; /* as Go: prime, not to correlate with user patterns */

typedef struct semaroot {
	mutex lock;
	sudog *treap;           /* top node of the addresses; guarded by lock */
	_Atomic uint32_t nwait; /* waiters; read without the lock */
} __attribute__((aligned(CACHE_LINE))) semaroot;

static semaroot semtable[SEMTABSZ];

/* The runtime's view of a gort_cond (gort.h): the public struct only
 * reserves the space, with the same layout, checked below. */
struct notifyList {
	_Atomic uint32_t wait;   /* next ticket to hand out; taken outside lock */
	_Atomic uint32_t notify; /* next ticket to wake; written under lock,
	                            read without it */
	mutex lock;
	_Atomic uint32_t gen;    /* runtime_gen of head's waiters; written
	                            under lock, read without it */
	sudog *head;             /* queued waiters; guarded by lock */
	sudog *tail;
};

_Static_assert(sizeof(notifyList) == sizeof(gort_cond) &&
               _Alignof(notifyList) == _Alignof(gort_cond) &&
               offsetof(notifyList, wait) == offsetof(gort_cond, wait) &&
               offsetof(notifyList, notify) == offsetof(gort_cond, notify) &&
               offsetof(notifyList, lock) == offsetof(gort_cond, lock) &&
               offsetof(notifyList, gen) == offsetof(gort_cond, gen) &&
               offsetof(notifyList, head) == offsetof(gort_cond, head) &&
               offsetof(notifyList, tail) == offsetof(gort_cond, tail),
               "gort_cond does not match struct notifyList");

/* ---- waiting and waking ---- */

/* Go's goyield_m: gp goes to the tail of its P's local queue (not the
 * global one, as gosched: it keeps its place on this P), and the
 * scheduler runs runnext, the waiter just handed the unit. The trace
 * records it as Go's does, a GoPreempt: without an event gp would still
 * be running on the P where the waiter starts. Runs on g0. */
static g *goyield_m(m *mp, g *gp)
{
	traceGoPreempt(mp->p, gp, false);
	casgstatus(gp, _Grunning, _Grunnable);
	dropg(mp, gp);
	runqput(mp->p, gp, false);
	return NULL;
}

/* Whether the releasing goroutine may give its P to the waiter. Go asks
 * for m.locks == 0: no runtime lock held and, the user's equivalent of
 * acquirem, no gort_preempt_off region. */
static bool canyield(g *gp)
{
	return gp && mlocks == 0 && gp->nopreempt == 0 &&
	       gp->syscallstate == SYSCALL_NONE && gp->m->p != NULL;
}

/* ---- semaphores ---- */

static semaroot *semroot(uint32_t *addr)
{
	return &semtable[((uintptr_t)addr >> 3) % SEMTABSZ];
}

bool cansemacquire(uint32_t *addr)
{
	uint32_t v = __atomic_load_n(addr, __ATOMIC_SEQ_CST);
	while (v != 0) {
		if (__atomic_compare_exchange_n(addr, &v, v - 1, true, __ATOMIC_SEQ_CST,
		                                __ATOMIC_SEQ_CST))
			return true;
	}
	return false;
}

/* ---- the treap of a root (root->lock held throughout) ---- */

/* linkto returns the pointer to node s: its parent's child link, or the
 * top of the treap. */
static sudog **linkto(semaroot *root, sudog *s)
{
	sudog *p = s->parent;
	if (!p)
		return &root->treap;
	return p->prev == s ? &p->prev : &p->next;
}

/* rotate lifts a child y of x into x's place: its right child with
 * right (a left rotation, drawn), else its left one (the mirror image).
 *
 *      x              y
 *     / \            / \
 *    a   y    =>    x   c
 *       / \        / \
 *      b   c      a   b
 */
static void rotate(semaroot *root, sudog *x, bool right)
{
	sudog **xy = right ? &x->next : &x->prev;
	sudog *y = *xy;
	sudog **yb = right ? &y->prev : &y->next;
	sudog *b = *yb;
	*linkto(root, x) = y;
	y->parent = x->parent;
	*yb = x;
	x->parent = y;
	*xy = b;
	if (b)
		b->parent = x;
}

/* replace puts s in node t's place in the tree (same address): t's
 * parent, children and priority become s's. t's own links are left for
 * the caller. */
static void replace(semaroot *root, sudog *t, sudog *s)
{
	*linkto(root, t) = s;
	s->parent = t->parent;
	s->prev = t->prev;
	s->next = t->next;
	s->priority = t->priority;
	if (s->prev)
		s->prev->parent = s;
	if (s->next)
		s->next->parent = s;
}

/* find returns the node of addr, or NULL. */
static sudog *find(semaroot *root, void *addr)
{
	sudog *t = root->treap;
	while (t && t->elem != addr)
		t = (uintptr_t)addr < (uintptr_t)t->elem ? t->prev : t->next;
	return t;
}

/* insert makes s the node of a new address: a leaf, rotated up while its
 * parent's priority is higher. */
static void insert(semaroot *root, sudog *s)
{
	sudog *p = NULL, **pp = &root->treap;
	while (*pp) {
		p = *pp;
		pp = (uintptr_t)s->elem < (uintptr_t)p->elem ? &p->prev : &p->next;
	}
	s->priority = cheaprand();
	s->parent = p;
	*pp = s;
	while (s->parent && s->parent->priority > s->priority)
		rotate(root, s->parent, s->parent->next == s);
}

/* cut removes node s, the last waiter on its address: rotated down, the
 * child of lower priority coming up, until it is a leaf. */
static void cut(semaroot *root, sudog *s)
{
	while (s->prev || s->next) {
		bool up_right = s->next && (!s->prev || s->next->priority <= s->prev->priority);
		rotate(root, s, up_right);
	}
	*linkto(root, s) = NULL;
}

/* queue adds s to the waiters on s->elem: at the tail, or with lifo at
 * the head, where it takes the node's place. */
static void queue(semaroot *root, sudog *s, bool lifo)
{
	s->parent = s->prev = s->next = s->waitlink = NULL;
	s->tail = s;
	sudog *t = find(root, s->elem);
	if (!t) {
		insert(root, s);
	} else if (lifo) {
		replace(root, t, s);
		s->waitlink = t;
		s->tail = t->tail;
		t->parent = t->prev = t->next = t->tail = NULL;
	} else {
		t->tail->waitlink = s;
		t->tail = s;
	}
}

/* dequeue removes and returns the first waiter on addr, or NULL; the
 * next one, if any, becomes the node. */
static sudog *dequeue(semaroot *root, uint32_t *addr)
{
	sudog *s = find(root, addr);
	if (!s)
		return NULL;
	sudog *t = s->waitlink;
	if (t) {
		replace(root, s, t);
		t->tail = s->tail;
	} else {
		cut(root, s);
	}
	s->parent = s->prev = s->next = s->waitlink = s->tail = NULL;
	return s;
}

/* semacquire1 takes one unit of *addr, waiting while there is none. lifo:
 * the caller has waited before; it queues ahead of the others. May park
 * (a goroutine) or block the thread (anything else). */
void semacquire1(uint32_t *addr, bool lifo, waitreason reason)
{
	if (cansemacquire(addr))
		return;
	semaroot *root = semroot(addr);
	note wake;
	sudog s;
	memset(&s, 0, sizeof s);
	s.g = getg();
	s.wake = &wake;
	s.elem = addr;
	s.kind = SUDOG_SEMA;
	for (;;) {
		lock(&root->lock);
		atomic_fetch_add(&root->nwait, 1); /* disables semrelease1's fast exit */
		if (cansemacquire(addr)) {
			atomic_fetch_sub(&root->nwait, 1);
			unlock(&root->lock);
			return;
		}
		s.ticket = 0;
		queue(root, &s, lifo);
		sudog_park(&s, parkunlock_c, &root->lock, reason);
		/* Handed a unit, or woken to compete for one that someone who
		 * never waited may have taken meanwhile. */
		if (s.ticket != 0 || cansemacquire(addr))
			return;
	}
}

/* semrelease1 adds one unit to *addr and wakes the first waiter. handoff:
 * the unit goes to that waiter directly, and a goroutine caller yields
 * to it. Any goroutine or thread. */
void semrelease1(uint32_t *addr, bool handoff)
{
	semaroot *root = semroot(addr);
	__atomic_fetch_add(addr, 1, __ATOMIC_SEQ_CST);
	/* After the add: a waiter that announced itself before it is seen
	 * here, and one that announces itself after it sees the unit. */
	if (atomic_load(&root->nwait) == 0)
		return;
	lock(&root->lock);
	if (atomic_load(&root->nwait) == 0) {
		/* Someone already took the unit: nobody to wake. */
		unlock(&root->lock);
		return;
	}
	sudog *s = dequeue(root, addr);
	if (s)
		atomic_fetch_sub(&root->nwait, 1);
	unlock(&root->lock);
	if (!s)
		return;
	if (s->ticket != 0)
		throw("corrupted semaphore ticket");
	bool handed = handoff && cansemacquire(addr);
	if (handed)
		s->ticket = 1;
	bool waiterisg = s->g != NULL; /* s may be gone once readied */
	sudog_ready(s);
	g *gp = getg();
	if (handed && waiterisg && canyield(gp))
		mcall(goyield_m);
}

void semacquire(uint32_t *addr, waitreason reason)
{
	semacquire1(addr, false, reason);
}

void semrelease(uint32_t *addr)
{
	semrelease1(addr, false);
}

/* Add the plain threads' sudogs of the treap under t to the list *tail
 * ends (linked through waitlink), each address's in queue order. A
 * sudog's links are read before its waitlink is overwritten. Recursive:
 * the treap's depth is logarithmic (random priorities). */
static void collect_plain(sudog *t, sudog ***tail)
{
	if (!t)
		return;
	sudog *lower = t->prev, *higher = t->next;
	for (sudog *s = t, *next; s; s = next) {
		next = s->waitlink;
		if (!s->g) {
			**tail = s;
			*tail = &s->waitlink;
		}
	}
	collect_plain(lower, tail);
	collect_plain(higher, tail);
}

/* Rebuild root with its plain threads' sudogs only, as they were
 * queued. */
static void keep_plain(semaroot *root)
{
	lock(&root->lock);
	sudog *kept = NULL, **tail = &kept;
	collect_plain(root->treap, &tail);
	*tail = NULL;
	root->treap = NULL;
	uint32_t n = 0;
	for (sudog *s = kept, *next; s; s = next, n++) {
		next = s->waitlink;
		queue(root, s, false);
	}
	atomic_store(&root->nwait, n);
	unlock(&root->lock);
}

/* The run ends (plainwait.c): every M stopped, foreign_lock held for
 * writing, and the goroutines' stacks still mapped, so that their
 * sudogs can still be read. The goroutines still waiting are abandoned:
 * each root keeps only the plain threads still waiting (their stacks
 * are their own), in the order they came, and nwait counts them. A
 * release in the next run, or by another plain thread between runs,
 * wakes them as if no run had ended. */
void sema_teardown(void)
{
	for (int i = 0; i < SEMTABSZ; i++)
		keep_plain(&semtable[i]);
}

/* ---- notify lists ---- */

/* less reports a < b for tickets that may have wrapped (Go's less). */
static bool less(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Lock l, forgetting waiters abandoned by an earlier run (above). gen is
 * stored last: a notifyListAdd that sees it current takes its ticket
 * after notify has passed the abandoned ones. */
static void notifyListLock(notifyList *l)
{
	lock(&l->lock);
	uint32_t gen = atomic_load_explicit(&runtime_gen, memory_order_relaxed);
	if (unlikely(atomic_load_explicit(&l->gen, memory_order_relaxed) != gen)) {
		l->head = l->tail = NULL;
		atomic_store(&l->notify, atomic_load(&l->wait));
		atomic_store_explicit(&l->gen, gen, memory_order_release);
	}
}

/* Teardown, a plain thread still queued on l, the goroutines' stacks
 * still mapped (plainwait.c): l keeps its plain waiters, stamped with
 * gen, the next run's, so that notifyListLock keeps them. Their tickets
 * are renumbered: every ticket handed out until now counts as notified
 * (the abandoned goroutines', queued or not, which would each swallow a
 * signal; no plain thread holds one unqueued, as gort_cond_wait takes
 * and waits for its ticket inside one bracket), and the plain waiters
 * take the next ones, in the order of their old tickets. Once per
 * teardown: a second call finds gen already there. */
void notifyList_keep(notifyList *l, uint32_t gen)
{
	lock(&l->lock);
	if (atomic_load_explicit(&l->gen, memory_order_relaxed) == gen) {
		unlock(&l->lock);
		return;
	}
	sudog *kept = NULL;
	uint32_t n = 0;
	for (sudog *s = l->head, *next; s; s = next) {
		next = s->next;
		if (s->g)
			continue;
		sudog **pp = &kept;
		while (*pp && less((*pp)->ticket, s->ticket))
			pp = &(*pp)->next;
		s->next = *pp;
		*pp = s;
		n++;
	}
	uint32_t t = atomic_fetch_add(&l->wait, n);
	atomic_store(&l->notify, t);
	l->head = kept;
	l->tail = NULL;
	for (sudog *s = kept; s; s = s->next) {
		s->ticket = t++;
		l->tail = s;
	}
	atomic_store_explicit(&l->gen, gen, memory_order_release);
	unlock(&l->lock);
}

/* notifyListAdd hands out the caller's ticket; the caller must then call
 * notifyListWait with it. Any thread, concurrently. Never parks. */
uint32_t notifyListAdd(notifyList *l)
{
	/* acquire: pairs with notifyListLock's release of gen */
	if (unlikely(atomic_load_explicit(&l->gen, memory_order_acquire) !=
	             atomic_load_explicit(&runtime_gen, memory_order_relaxed))) {
		notifyListLock(l);
		unlock(&l->lock);
	}
	return atomic_fetch_add(&l->wait, 1);
}

/* notifyListWait returns once ticket t has been notified, at once if it
 * already was. May park (a goroutine) or block the thread. */
void notifyListWait(notifyList *l, uint32_t t)
{
	notifyListLock(l);
	/* relaxed: notify is written only under l->lock, which we hold */
	if (less(t, atomic_load_explicit(&l->notify, memory_order_relaxed))) {
		unlock(&l->lock);
		return;
	}
	note wake;
	sudog s;
	memset(&s, 0, sizeof s);
	s.g = getg();
	s.wake = &wake;
	s.elem = l;
	s.kind = SUDOG_NOTIFY;
	s.ticket = t;
	if (l->tail)
		l->tail->next = &s;
	else
		l->head = &s;
	l->tail = &s;
	sudog_park(&s, parkunlock_c, &l->lock, waitReasonSyncCondWait);
}

/* Nothing to notify: every ticket handed out was notified already (then
 * no waiter of an earlier run is left on the list either). */
static bool notifyListIdle(notifyList *l)
{
	return atomic_load(&l->wait) == atomic_load(&l->notify);
}

/* notifyListNotifyAll wakes every waiter that holds a ticket. Any
 * goroutine or thread. Never parks. */
void notifyListNotifyAll(notifyList *l)
{
	if (notifyListIdle(l))
		return;
	notifyListLock(l);
	sudog *s = l->head;
	l->head = l->tail = NULL;
	/* Waiters with tickets below wait are on the list, or will see
	 * that they were notified when they try to join it. */
	atomic_store(&l->notify, atomic_load(&l->wait));
	unlock(&l->lock);
	while (s) {
		sudog *next = s->next;
		sudog_ready(s);
		s = next;
	}
}

/* notifyListNotifyOne wakes the waiter with the oldest ticket not yet
 * notified. Any goroutine or thread. Never parks. */
void notifyListNotifyOne(notifyList *l)
{
	if (notifyListIdle(l))
		return;
	notifyListLock(l);
	uint32_t t = atomic_load_explicit(&l->notify, memory_order_relaxed); /* ours */
	if (t == atomic_load(&l->wait)) {
		unlock(&l->lock);
		return;
	}
	atomic_store(&l->notify, t + 1);
	/* Waiters queue in ticket order except for those that lost a race
	 * between taking a ticket and queueing, so this stops early. If t's
	 * waiter is not queued yet, it will see notify and not wait. */
	for (sudog *prev = NULL, *s = l->head; s; prev = s, s = s->next) {
		if (s->ticket != t)
			continue;
		sudog *next = s->next;
		if (prev)
			prev->next = next;
		else
			l->head = next;
		if (!next)
			l->tail = prev;
		unlock(&l->lock);
		sudog_ready(s);
		return;
	}
	unlock(&l->lock);
}
