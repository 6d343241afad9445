/*
 * chan.c - channels (Go's chan.go): make, send, receive, close.
 *
 * The data structure and its invariants are in chan.h. The algorithm is
 * Go's:
 *  - send: to a waiting receiver, copy straight into its element and
 *    ready it (it goes to the waker's runnext, so a ping-pong pair stays
 *    on one P and runs in one time slice); else into the buffer if there
 *    is room; else park on sendq until a receiver takes the value or the
 *    channel closes.
 *  - receive: from a waiting sender (unbuffered: copy from its element;
 *    buffered, so the buffer is full: take the oldest buffered value and
 *    put the sender's value in its slot, keeping FIFO order); else from
 *    the buffer; else park on recvq.
 *  - close: mark closed and ready every waiter; receivers get a zeroed
 *    element and "closed", senders EPIPE. Waiters are taken out and
 *    readied a batch at a time (closechan says why).
 * A waiter is a goroutine (parked with gopark; the channel lock is
 * released by gopark's callback once it is switched out, so a waker that
 * finds its sudog always finds it fully parked) or a plain thread (it
 * sleeps on a note in its frame).
 *
 * Every gort_chan_* entry point is bracketed by rt_enter_wait and
 * rt_exit_wait: the goroutine is not preempted while it holds its P's
 * structures (goready puts the readied goroutine on this P's runnext),
 * and a plain thread holds off teardown while it may touch a goroutine
 * waiter (runtime.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"

/* Sizes beyond these are refused (EINVAL): programming errors, not a lack
 * of memory. Go refuses element types of 64 KiB or more, and buffers
 * beyond its maxAlloc (2^48 on 64-bit). */
#define CHAN_MAX_ELEM ((size_t)1 << 16)
#define CHAN_MAX_BYTES ((size_t)1 << 47)

/* Lock c, forgetting waiters abandoned by an earlier run (chan.h). */
void chanlock(gort_chan *c)
{
	lock(&c->lock);
	uint32_t gen = atomic_load_explicit(&runtime_gen, memory_order_relaxed);
	if (unlikely(c->gen != gen)) {
		__atomic_store_n(&c->recvq.first, NULL, __ATOMIC_RELAXED);
		__atomic_store_n(&c->sendq.first, NULL, __ATOMIC_RELAXED);
		c->recvq.last = c->sendq.last = NULL;
		c->recvq.nsel = c->sendq.nsel = 0;
		c->selrefs = 0;
		c->gen = gen;
	}
}

/* ---- wait queues (c->lock held) ---- */

void enqueue(waitq *q, sudog *s)
{
	s->next = NULL;
	s->prev = q->last;
	if (q->last)
		q->last->next = s;
	else
		__atomic_store_n(&q->first, s, __ATOMIC_RELAXED);
	q->last = s;
	if (s->sel)
		q->nsel++;
}

static void unlink_first(waitq *q, sudog *s)
{
	sudog *next = s->next;
	__atomic_store_n(&q->first, next, __ATOMIC_RELAXED);
	if (next)
		next->prev = NULL;
	else
		q->last = NULL;
	s->next = s->prev = NULL;
	if (s->sel)
		q->nsel--;
}

/* Whether s, just taken out of its queue, can still be completed: a
 * select's sudog is, once its select is claimed for it (the CAS on done);
 * one whose select another channel already completed is dropped, and its
 * selector takes its other sudogs out itself. */
static bool claim(sudog *s)
{
	uint32_t zero = 0;
	return !s->sel || atomic_compare_exchange_strong(&s->sel->done, &zero, 1);
}

/* The first waiter that can still be completed. */
sudog *dequeue(waitq *q)
{
	sudog *s;
	while ((s = q->first) != NULL) {
		unlink_first(q, s);
		if (claim(s))
			return s;
	}
	return NULL;
}

/* The last waiter that can still be completed (closechan). */
static sudog *dequeuelast(waitq *q)
{
	sudog *s;
	while ((s = q->last) != NULL) {
		dequeuesudog(q, s);
		if (claim(s))
			return s;
	}
	return NULL;
}

/* Take s out of q if it is still there (Go's dequeueSudoG). */
void dequeuesudog(waitq *q, sudog *s)
{
	if (s->prev) {
		s->prev->next = s->next;
		if (s->next)
			s->next->prev = s->prev;
		else
			q->last = s->prev;
		s->next = s->prev = NULL;
		if (s->sel)
			q->nsel--;
	} else if (q->first == s) {
		unlink_first(q, s);
	}
}

/* Take the goroutines' sudogs out of q, leaving the plain threads'. */
static void unlink_goroutines(waitq *q)
{
	for (sudog *s = q->first, *next; s; s = next) {
		next = s->next;
		if (s->g)
			dequeuesudog(q, s);
	}
}

/* Teardown, a plain thread still waiting on c, the goroutines' stacks
 * still mapped (plainwait.c): c forgets the abandoned goroutines now and
 * is stamped with gen, the next run's, so that chanlock keeps the plain
 * threads. selrefs is emptied; plainwait.c counts the plain selects
 * again. Once per teardown: a second call finds gen already there. */
void chan_keep(gort_chan *c, uint32_t gen)
{
	lock(&c->lock);
	if (c->gen != gen) {
		unlink_goroutines(&c->recvq);
		unlink_goroutines(&c->sendq);
		c->selrefs = 0;
		c->gen = gen;
	}
	unlock(&c->lock);
}

/* ---- completing a waiter ---- */

/* Wake the waiter of s; its channel lock is already released. */
void chan_ready(sudog *s)
{
	if (s->sel)
		s->sel->winner = s;
	sudog_ready(s);
}

/* Copy ep (may be NULL: zeroes) to the waiter's element (may be NULL:
 * discarded). */
static inline void copyelem(gort_chan *c, void *dst, const void *src)
{
	if (!dst || c->elemsize == 0)
		return;
	if (!src) {
		memset(dst, 0, c->elemsize);
		return;
	}
	/* The common sizes as fixed-size copies, inlined: a call into the
	 * C library's memcpy would cost as much as the rest of a send. */
	switch (c->elemsize) {
	case 4: memcpy(dst, src, 4); break;
	case 8: memcpy(dst, src, 8); break;
	case 16: memcpy(dst, src, 16); break;
	default: memcpy(dst, src, c->elemsize); break;
	}
}

/* A sender meets the receiver s (dequeued from recvq). Unlocks c. */
void chan_send(gort_chan *c, sudog *s, const void *ep)
{
	copyelem(c, s->elem, ep);
	s->success = true;
	unlock(&c->lock);
	chan_ready(s);
}

/* A receiver meets the sender s (dequeued from sendq). Unlocks c. */
void chan_recv(gort_chan *c, sudog *s, void *ep)
{
	if (c->dataqsiz == 0) {
		copyelem(c, ep, s->elem);
	} else {
		/* The buffer is full: take its head, and the sender's value
		 * goes to the tail, which is the same slot. */
		void *slot = chanbuf(c, c->recvx);
		copyelem(c, ep, slot);
		copyelem(c, slot, s->elem);
		if (++c->recvx == c->dataqsiz)
			c->recvx = 0;
		c->sendx = c->recvx;
	}
	s->success = true;
	unlock(&c->lock);
	chan_ready(s);
}

void chan_bufsend(gort_chan *c, const void *ep)
{
	copyelem(c, chanbuf(c, c->sendx), ep);
	if (++c->sendx == c->dataqsiz)
		c->sendx = 0;
	atomic_store_explicit(&c->qcount, c->qcount + 1, memory_order_relaxed);
}

void chan_bufrecv(gort_chan *c, void *ep)
{
	copyelem(c, ep, chanbuf(c, c->recvx));
	if (++c->recvx == c->dataqsiz)
		c->recvx = 0;
	atomic_store_explicit(&c->qcount, c->qcount - 1, memory_order_relaxed);
}

/* ---- the operations ---- */

/* Would a send block? Read without the lock (chan.h). */
/* The fast paths' loads are seq_cst, as Go's atomic loads: a
 * non-blocking receive reads "empty", then "closed", then "empty" again,
 * and these must not be reordered (on arm64 relaxed loads could be),
 * or it could report "closed and drained" while a value sent before the
 * close is still buffered. On x86-64 they are plain loads. */
static bool full(gort_chan *c)
{
	if (c->dataqsiz == 0)
		return __atomic_load_n(&c->recvq.first, __ATOMIC_SEQ_CST) == NULL;
	return atomic_load(&c->qcount) == c->dataqsiz;
}

static bool empty(gort_chan *c)
{
	if (c->dataqsiz == 0)
		return __atomic_load_n(&c->sendq.first, __ATOMIC_SEQ_CST) == NULL;
	return atomic_load(&c->qcount) == 0;
}

static bool isclosed(gort_chan *c)
{
	return atomic_load(&c->closed) != 0;
}

/* Go's chansend. 0, or an errno value. */
int chansend(gort_chan *c, const void *ep, bool block)
{
	/* Not closed and full, seen at two moments: at the moment between
	 * them, which is after the first, the channel was both, so
	 * "would block" was true then (Go's argument). */
	if (!block && !isclosed(c) && full(c))
		return EAGAIN;

	chanlock(c);
	if (c->closed) {
		unlock(&c->lock);
		return EPIPE;
	}
	sudog *s = dequeue(&c->recvq);
	if (s) {
		chan_send(c, s, ep);
		return 0;
	}
	if (c->qcount < c->dataqsiz) {
		chan_bufsend(c, ep);
		unlock(&c->lock);
		return 0;
	}
	if (!block) {
		unlock(&c->lock);
		return EAGAIN;
	}

	note wake;
	sudog me = {.g = getg(), .wake = &wake, .elem = (void *)ep, .c = c,
	            .kind = SUDOG_CHAN};
	enqueue(&c->sendq, &me);
	sudog_park(&me, parkunlock_c, &c->lock, waitReasonChanSend);
	/* Completed by a receiver (success) or by close. */
	return me.success ? 0 : EPIPE;
}

/* Go's chanrecv. 1 received, 0 closed, or -errno. */
int chanrecv(gort_chan *c, void *ep, bool block)
{
	if (!block && empty(c)) {
		if (!isclosed(c))
			return -EAGAIN;
		/* Closed: it stays closed, so a value seen now was sent
		 * before the close and must be received first. */
		if (empty(c)) {
			copyelem(c, ep, NULL);
			return 0;
		}
	}

	chanlock(c);
	sudog *s;
	if (c->closed) {
		if (c->qcount == 0) {
			unlock(&c->lock);
			copyelem(c, ep, NULL);
			return 0;
		}
		/* Buffered values only: a sender still queued is closechan's,
		 * in a batch not yet taken out, and must fail (Go's
		 * chanrecv order). */
	} else if ((s = dequeue(&c->sendq)) != NULL) {
		chan_recv(c, s, ep);
		return 1;
	}
	if (c->qcount > 0) {
		chan_bufrecv(c, ep);
		unlock(&c->lock);
		return 1;
	}
	if (!block) {
		unlock(&c->lock);
		return -EAGAIN;
	}

	note wake;
	sudog me = {.g = getg(), .wake = &wake, .elem = ep, .c = c, .kind = SUDOG_CHAN};
	enqueue(&c->recvq, &me);
	sudog_park(&me, parkunlock_c, &c->lock, waitReasonChanReceive);
	return me.success ? 1 : 0; /* close zeroed the element */
}

/* Waiters readied per turn of closechan's lock. */
enum { CLOSE_BATCH = 32 };

/* Go's closechan: the channel is marked closed and every waiter taken
 * out under the lock and readied after it, so none runs before the
 * channel is closed. Go readies them last first (it takes the receivers
 * out, then the senders, onto a stack), and so does this, taking them
 * from the senders' tail, then the receivers': the order decides the
 * order they run in (with one P, the first to park runs first, then the
 * others from the last). Unlike Go, waiters are taken out CLOSE_BATCH at
 * a time, each batch readied before the lock is retaken for the next.
 * Why: a waiter's sudog lives in its goroutine's stack frame, so taking
 * it out and readying it each touch one page of that goroutine's stack.
 * Go's order (all out, then all readied) touches every stack twice, a
 * whole queue apart; when that is a million stacks 320 KiB apart, their
 * page tables (~150,000) outgrow what a shadow-paging hypervisor keeps
 * mapped (~125,000 on the PVM guest the benchmarks run on) and each of
 * those touches costs a hypervisor fault (~10 us). In batches the second
 * touch, and the goroutine's own when it runs soon after, find the page
 * still mapped.
 * Batching keeps Go's meaning: closed is set before the first waiter is
 * readied, and a waiter still queued cannot be completed by anyone but
 * close (a sender fails, a receiver returns at once or takes a buffered
 * value, never a queued sender's). A select's sudog is the exception: a
 * send or receive on another of its channels could complete the select
 * between batches, after c was seen closed, where Go's close would have
 * won it. So with a select queued on c every waiter is taken out in one
 * batch, as Go does (closed is set: no select can join the queues), and
 * in Go's order, receivers first, first come first: that order decides
 * which case a select with several on c runs, and a select that both
 * sends and receives on c must get its receive (ok false), never the
 * send, where Go would panic (takeall).
 * After the lock is dropped for the last batch, c is not touched again:
 * a readied waiter may free the channel once no one else waits on it. */
static sudog *takeall(gort_chan *c)
{
	sudog *list = NULL, *s;
	while ((s = dequeue(&c->recvq)) != NULL) {
		copyelem(c, s->elem, NULL);
		s->success = false;
		s->next = list;
		list = s;
	}
	while ((s = dequeue(&c->sendq)) != NULL) {
		s->success = false;
		s->next = list;
		list = s;
	}
	return list; /* a stack: readied last first, as Go's glist */
}

/* Without a select queued: up to CLOSE_BATCH waiters, from the senders'
 * tail, then the receivers', in the order they are readied. */
static sudog *takebatch(gort_chan *c)
{
	sudog *list = NULL, **tail = &list, *s;
	size_t n = 0;
	while (n < CLOSE_BATCH && (s = dequeuelast(&c->sendq)) != NULL) {
		s->success = false;
		*tail = s;
		tail = &s->next;
		n++;
	}
	while (n < CLOSE_BATCH && (s = dequeuelast(&c->recvq)) != NULL) {
		copyelem(c, s->elem, NULL);
		s->success = false;
		*tail = s;
		tail = &s->next;
		n++;
	}
	return list;
}

static int closechan(gort_chan *c)
{
	chanlock(c);
	if (c->closed) {
		unlock(&c->lock);
		return EPIPE;
	}
	atomic_store(&c->closed, 1);
	bool sel = c->recvq.nsel || c->sendq.nsel;
	bool more;
	do {
		sudog *list = sel ? takeall(c) : takebatch(c);
		more = c->recvq.first || c->sendq.first;
		unlock(&c->lock);
		/* Read next before readying: the waiter's frame (holding its
		 * sudog) may be gone as soon as it runs. */
		for (sudog *s = list; s; ) {
			sudog *next = s->next;
			chan_ready(s);
			s = next;
		}
		if (more)
			chanlock(c);
	} while (more);
	return 0;
}

/* ---- the API ---- */

GORT_API gort_chan *gort_chan_make(size_t elem_size, size_t cap)
{
	if (elem_size >= CHAN_MAX_ELEM ||
	    (elem_size != 0 && cap > CHAN_MAX_BYTES / elem_size)) {
		errno = EINVAL;
		return NULL;
	}
	size_t bytes = elem_size * cap;
	/* The buffer follows the header, from a cache line of its own:
	 * senders and receivers writing its first slots must not keep
	 * taking the line of the header (lock, counts, queues) from each
	 * other (chanthroughput at procs=2: about 10% faster). */
	size_t hdr = (sizeof(gort_chan) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	gort_chan *c = aligned_alloc(CACHE_LINE, (hdr + bytes + CACHE_LINE - 1) &
	                                         ~(size_t)(CACHE_LINE - 1));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	memset(c, 0, sizeof *c);
	c->gen = atomic_load_explicit(&runtime_gen, memory_order_relaxed);
	c->elemsize = elem_size;
	c->dataqsiz = cap;
	c->buf = (char *)c + hdr;
	return c;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

GORT_API int gort_chan_send(gort_chan *c, const void *elem)
{
	if (!c)
		return fail(EINVAL);
	g *gp = rt_enter_wait();
	int err = chansend(c, elem, true);
	rt_exit_wait(gp);
	return err ? fail(err) : 0;
}

GORT_API int gort_chan_try_send(gort_chan *c, const void *elem)
{
	if (!c)
		return fail(EINVAL);
	g *gp = rt_enter_wait();
	int err = chansend(c, elem, false);
	rt_exit_wait(gp);
	return err ? fail(err) : 0;
}

GORT_API int gort_chan_recv(gort_chan *c, void *elem)
{
	if (!c)
		return fail(EINVAL);
	g *gp = rt_enter_wait();
	int r = chanrecv(c, elem, true);
	rt_exit_wait(gp);
	return r;
}

GORT_API int gort_chan_try_recv(gort_chan *c, void *elem)
{
	if (!c)
		return fail(EINVAL);
	g *gp = rt_enter_wait();
	int r = chanrecv(c, elem, false);
	rt_exit_wait(gp);
	return r < 0 ? fail(-r) : r;
}

GORT_API int gort_chan_close(gort_chan *c)
{
	if (!c)
		return fail(EINVAL);
	g *gp = rt_enter_wait();
	int err = closechan(c);
	rt_exit_wait(gp);
	return err ? fail(err) : 0;
}

GORT_API size_t gort_chan_len(gort_chan *c)
{
	return c ? qcount_load(c) : 0;
}

GORT_API size_t gort_chan_cap(gort_chan *c)
{
	return c ? c->dataqsiz : 0;
}

/* Whether q holds a waiter: a sudog other than those that selects
 * completed on another channel (or by a close) leave behind until their
 * selector runs and takes them out (select.c's last pass). */
static bool haswaiter(const waitq *q)
{
	for (const sudog *s = q->first; s; s = s->next)
		if (!s->sel || !atomic_load_explicit(&s->sel->done, memory_order_acquire))
			return true;
	return false;
}

/* A completed select has returned for its waker, but not yet for its
 * selector, which still locks each of its channels (the one that
 * completed it too) to take its sudogs out: free waits (yielding) for
 * it (selrefs), where freeing would leave it a freed lock, and a real
 * waiter is a fatal error. */
GORT_API void gort_chan_free(gort_chan *c)
{
	if (!c)
		return;
	for (;;) {
		chanlock(c);
		bool waiter = haswaiter(&c->recvq) || haswaiter(&c->sendq);
		bool leftover = c->selrefs != 0;
		unlock(&c->lock);
		if (waiter)
			fatal("gort_chan_free of a channel that goroutines wait on");
		if (!leftover)
			break;
		gort_gosched();
	}
	free(c);
}
