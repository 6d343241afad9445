/*
 * select.c - Go's select (select.go: selectgo).
 *
 * 1. Order. The usable cases (non-NULL channel) are put in a random poll
 *    order, a uniform permutation, so that among ready cases each is
 *    chosen with equal probability; and in lock order, by channel
 *    address, so that selects locking overlapping sets of channels cannot
 *    deadlock (chan.h's lock order). A channel named by several cases is
 *    locked once.
 * 2. Poll. With every channel locked, the first ready case in poll order
 *    runs, exactly as a plain send or receive would.
 * 3. Wait. If none is ready and the select blocks, one sudog per case is
 *    queued on its channel, all sharing one selwait, and the goroutine
 *    parks; gopark's callback unlocks the channels once it is switched
 *    out. The first waker to win selwait.done completes its case (copies
 *    the value, or reports close) and readies the goroutine; wakers that
 *    lose skip its other sudogs (chan.c's dequeue).
 * 4. Clean up. Woken, the goroutine locks the channels again and takes
 *    its remaining sudogs out of their queues. Each channel counts the
 *    selects yet to do so (selrefs), taken out or not: gort_chan_free
 *    waits for them.
 * The sudogs and order arrays live on the selector's stack for up to
 * SELECT_STACK_CASES cases, in one malloc'd block beyond.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"

enum { SELECT_STACK_CASES = 8 };

typedef struct selstate {
	gort_case *cases;
	int32_t n;          /* usable cases */
	uint32_t *pollorder;
	uint32_t *lockorder; /* case indexes, by channel address */
	sudog *sudogs;       /* by case index */
} selstate;

static gort_chan *casechan(const selstate *st, uint32_t i)
{
	return st->cases[i].chan;
}

/* Sort lockorder by channel address (insertion sort for the usual few
 * cases, heap sort beyond, as Go: O(n log n), no allocation). */
static void sift(const selstate *st, uint32_t *a, int32_t root, int32_t n)
{
	for (;;) {
		int32_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && casechan(st, a[child]) < casechan(st, a[child + 1]))
			child++;
		if (casechan(st, a[root]) >= casechan(st, a[child]))
			return;
		uint32_t t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

static void sortlockorder(selstate *st)
{
	uint32_t *a = st->lockorder;
	int32_t n = st->n;
	if (n <= 16) {
		for (int32_t i = 1; i < n; i++) {
			uint32_t v = a[i];
			int32_t j = i;
			for (; j > 0 && casechan(st, a[j - 1]) > casechan(st, v); j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
		return;
	}
	for (int32_t i = n / 2 - 1; i >= 0; i--)
		sift(st, a, i, n);
	for (int32_t end = n - 1; end > 0; end--) {
		uint32_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift(st, a, 0, end);
	}
}

static void sellock(const selstate *st)
{
	gort_chan *last = NULL;
	for (int32_t i = 0; i < st->n; i++) {
		gort_chan *c = casechan(st, st->lockorder[i]);
		if (c != last)
			chanlock(c);
		last = c;
	}
}

static void selunlock(const selstate *st)
{
	for (int32_t i = st->n - 1; i >= 0; i--) {
		gort_chan *c = casechan(st, st->lockorder[i]);
		if (i > 0 && c == casechan(st, st->lockorder[i - 1]))
			continue;
		unlock(&c->lock);
	}
}

/* Reads the selector's frame (arg) while releasing its locks: safe only
 * because selunlock releases in reverse lock order and the woken
 * selector's first step is to take lockorder[0], the last one released
 * here, so the frame outlives this call. Keep the two orders so. */
static bool selparkcommit(g *gp, void *arg)
{
	(void)gp;
	selunlock(arg);
	return true;
}

/* Unlock every channel but c, whose lock chan_send/chan_recv release. */
static void selunlock_except(const selstate *st, gort_chan *c)
{
	for (int32_t i = st->n - 1; i >= 0; i--) {
		gort_chan *ci = casechan(st, st->lockorder[i]);
		if ((i > 0 && ci == casechan(st, st->lockorder[i - 1])) || ci == c)
			continue;
		unlock(&ci->lock);
	}
}

/* Pass 2: run the first ready case in poll order. Returns its index with
 * every lock released, or -1 with every lock still held. */
static int32_t selpoll(selstate *st)
{
	for (int32_t k = 0; k < st->n; k++) {
		uint32_t i = st->pollorder[k];
		gort_case *cas = &st->cases[i];
		gort_chan *c = cas->chan;
		sudog *s;
		if (cas->dir == GORT_RECV) {
			/* Not from a sender of a closed channel: closechan has
			 * yet to fail it (chanrecv). */
			if (!c->closed && (s = dequeue(&c->sendq)) != NULL) {
				cas->ok = true;
				selunlock_except(st, c);
				chan_recv(c, s, cas->elem);
				return (int32_t)i;
			}
			if (c->qcount > 0) {
				chan_bufrecv(c, cas->elem);
				cas->ok = true;
			} else if (c->closed) {
				if (cas->elem && c->elemsize)
					memset(cas->elem, 0, c->elemsize);
				cas->ok = false;
			} else {
				continue;
			}
		} else {
			if (c->closed) {
				cas->ok = false;
			} else if ((s = dequeue(&c->recvq)) != NULL) {
				cas->ok = true;
				selunlock_except(st, c);
				chan_send(c, s, cas->elem);
				return (int32_t)i;
			} else if (c->qcount < c->dataqsiz) {
				chan_bufsend(c, cas->elem);
				cas->ok = true;
			} else {
				continue;
			}
		}
		selunlock(st);
		return (int32_t)i;
	}
	return -1;
}

/* Passes 3 and 4: wait on every case, then leave every queue. Called with
 * every lock held; returns with none held. */
static int32_t selwaitall(selstate *st)
{
	selwait sw;
	atomic_init(&sw.done, 0);
	sw.winner = NULL;
	g *gp = getg();
	/* Linked through waitlink from the one it sleeps on: teardown finds
	 * the channels of a plain thread's select that way (plainwait.c). */
	sudog *prev = NULL;
	for (int32_t k = 0; k < st->n; k++) {
		uint32_t i = st->lockorder[k];
		gort_case *cas = &st->cases[i];
		sudog *s = &st->sudogs[i];
		*s = (sudog){.g = gp, .wake = &sw.wake, .elem = cas->elem,
		             .c = cas->chan, .sel = &sw, .caseidx = (int32_t)i,
		             .kind = SUDOG_CHAN};
		if (prev)
			prev->waitlink = s;
		prev = s;
		enqueue(cas->dir == GORT_RECV ? &cas->chan->recvq : &cas->chan->sendq, s);
		cas->chan->selrefs++;
	}
	sudog_park(&st->sudogs[st->lockorder[0]], selparkcommit, st, waitReasonSelect);

	sellock(st);
	sudog *won = sw.winner;
	for (int32_t k = 0; k < st->n; k++) {
		uint32_t i = st->lockorder[k];
		sudog *s = &st->sudogs[i];
		gort_case *cas = &st->cases[i];
		cas->chan->selrefs--; /* c is not touched once unlocked */
		if (s == won)
			continue;
		dequeuesudog(cas->dir == GORT_RECV ? &cas->chan->recvq : &cas->chan->sendq, s);
	}
	selunlock(st);
	gort_case *cas = &st->cases[won->caseidx];
	cas->ok = won->success;
	/* A receive completed by close had its element zeroed by close. */
	return won->caseidx;
}

/* A blocking select with no channel to wait on never returns: Go's
 * "select {}" (no cases: waitReasonSelectNoCases), or a select whose
 * channels are all NULL, which Go parks as any select (waitReasonSelect). */
static _Noreturn void block_forever(waitreason reason)
{
	g *gp = getg();
	if (!gp)
		rt_exit_wait(NULL); /* it touches nothing more: let teardown run */
	for (;;) {
		if (gp)
			gopark(NULL, NULL, reason);
		else
			pause();
	}
}

static int32_t selectgo(gort_case *cases, int32_t ncases, bool block,
                        uint32_t *orders, sudog *sudogs)
{
	selstate st = {.cases = cases, .pollorder = orders,
	               .lockorder = orders + ncases, .sudogs = sudogs};
	/* Poll order: a uniform shuffle of the usable cases (inside-out
	 * Fisher-Yates). */
	int32_t n = 0;
	for (int32_t i = 0; i < ncases; i++) {
		if (!cases[i].chan)
			continue;
		uint32_t j = cheaprandn((uint32_t)n + 1);
		st.pollorder[n] = st.pollorder[j];
		st.pollorder[j] = (uint32_t)i;
		st.lockorder[n] = (uint32_t)i;
		n++;
	}
	st.n = n;
	if (n == 0) {
		if (!block)
			return -1;
		block_forever(ncases == 0 ? waitReasonSelectNoCases : waitReasonSelect);
	}
	sortlockorder(&st);
	sellock(&st);
	int32_t i = selpoll(&st);
	if (i >= 0)
		return i;
	if (!block) {
		selunlock(&st);
		return -1;
	}
	return selwaitall(&st);
}

GORT_API int gort_select(gort_case *cases, int n, bool block)
{
	if (n < 0 || n > GORT_SELECT_MAX || (n > 0 && !cases)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (cases[i].dir != GORT_SEND && cases[i].dir != GORT_RECV) {
			errno = EINVAL;
			return -1;
		}
	}
	uint32_t orders_stack[2 * SELECT_STACK_CASES];
	sudog sudogs_stack[SELECT_STACK_CASES];
	uint32_t *orders = orders_stack;
	sudog *sudogs = sudogs_stack;
	void *heap = NULL;
	if (n > SELECT_STACK_CASES) {
		heap = malloc((size_t)n * (2 * sizeof *orders + sizeof *sudogs));
		if (!heap) {
			errno = ENOMEM;
			return -1;
		}
		sudogs = heap;
		orders = (uint32_t *)(sudogs + n);
	}
	g *gp = rt_enter_wait();
	int32_t i = selectgo(cases, n, block, orders, sudogs);
	rt_exit_wait(gp);
	free(heap);
	if (i < 0)
		errno = EAGAIN;
	return i;
}
