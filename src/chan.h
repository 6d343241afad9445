/*
 * chan.h - channels (Go's hchan, chan.go) as seen by chan.c and select.c.
 *
 * A channel is a ring buffer of cap elements plus two wait queues of
 * sudogs: receivers waiting for a value (recvq) and senders waiting to
 * hand one over (sendq). Everything in it is protected by c->lock, with
 * three exceptions read without the lock by the non-blocking fast paths
 * (closed, qcount and the queue heads, through relaxed atomics): a fast
 * path may only conclude "would block", and Go's argument for why that is
 * linearizable holds here too (see chansend and chanrecv).
 *
 * A channel may outlive a gort_main run in which goroutines were left
 * waiting on it (abandoned when main returned; their stacks are gone).
 * chanlock empties queues last used by an earlier run (c->gen), so those
 * sudogs are never touched. A plain thread still blocked on a channel
 * when gort_main returns is kept: teardown, while the goroutines' stacks
 * are still mapped, takes their sudogs out of the channel's queues and
 * stamps it with the new runtime_gen (chan_keep, plainwait.c), so that
 * the plain thread's sudog, on its own stack, is the only one left and
 * chanlock keeps it. So, as an invariant: once a run is over, no queue
 * that chanlock does not empty holds a goroutine's sudog. One that
 * blocks before the first gort_main, or between runs, is kept too:
 * runtime_gen moves on at teardown only.
 *
 * Invariants (c->lock held):
 *  - at least one of sendq and recvq is empty, except for a select that
 *    waits to send and to receive on the same unbuffered channel;
 *  - a buffered channel has qcount > 0 only if recvq is empty, and
 *    qcount < cap only if sendq is empty;
 *  - selrefs counts every select sudog queued on c plus those a waker
 *    took out whose selector has yet to run its last pass (select.c);
 *  - once closed, no one enqueues, and a waiter still queued (closechan
 *    takes them out in batches, dropping the lock between) is completed
 *    by the close alone: a receive takes buffered values only, never a
 *    queued sender's.
 *
 * A sudog stands for one goroutine (or one plain thread) waiting on one
 * channel. It lives on the waiter's own stack: gort's stacks never move,
 * so a waker can copy straight into or out of the waiter's element. A
 * select waits on several channels at once with one sudog per case; the
 * sudogs share a selwait, and whoever first wins its `done` CAS (a sender,
 * a receiver or close) is the only one to complete the select (Go's
 * g.selectDone). Lock order: channel locks in address order (select's
 * lockorder), before the scheduler's locks. A goroutine parking on a
 * channel holds the lock across gopark's direct switch, which takes no
 * runtime lock: a next G that has not run yet gets its stack there only
 * from its P's cache, else it goes through g0 once the lock is released
 * (sched.c: park_direct). Waiters are readied (chan_ready) only after
 * the lock is released. Nothing that takes a channel lock runs under the
 * scheduler's locks.
 */
#ifndef GORT_CHAN_H
#define GORT_CHAN_H

#include "runtime.h"

/* What a select's sudogs share: who completed it. On the selector's
 * stack. */
typedef struct selwait {
	_Atomic uint32_t done; /* 0 until one waker wins (Go's selectDone) */
	sudog *winner;         /* the sudog that fired (Go's gp.param) */
	note wake;             /* a plain thread selecting sleeps here */
} selwait;

typedef struct waitq {
	sudog *first;
	sudog *last;
	uint32_t nsel; /* select sudogs queued (closechan's batching) */
} waitq;

struct gort_chan {
	mutex lock;
	uint32_t gen;           /* runtime_gen when its queues were last used */
	_Atomic uint32_t closed;
	_Atomic size_t qcount;  /* values in the buffer */
	size_t dataqsiz;        /* cap */
	size_t elemsize;
	size_t sendx, recvx;    /* next slot to fill, to drain */
	char *buf;              /* dataqsiz * elemsize bytes, right after */
	waitq recvq;
	waitq sendq;
	/* Cases of blocking selects that have queued a sudog on c and not
	 * yet left: their selector locks c once more, woken, even when a
	 * waker has taken the sudog out (the case it completed, or one it
	 * dropped finding the select done), so gort_chan_free waits for
	 * this to be 0. */
	uint32_t selrefs;
};

/* chansend: 0 or an errno value (EAGAIN, EPIPE); chanrecv: 1 received,
 * 0 closed, -EAGAIN. */
int chansend(gort_chan *c, const void *ep, bool block);
int chanrecv(gort_chan *c, void *ep, bool block);
void chanlock(gort_chan *c);
void chan_keep(gort_chan *c, uint32_t gen);
void enqueue(waitq *q, sudog *s);
sudog *dequeue(waitq *q);
void dequeuesudog(waitq *q, sudog *s);
void chan_send(gort_chan *c, sudog *s, const void *ep);
void chan_recv(gort_chan *c, sudog *s, void *ep);
void chan_bufsend(gort_chan *c, const void *ep);
void chan_bufrecv(gort_chan *c, void *ep);
void chan_ready(sudog *s);

static inline void *chanbuf(gort_chan *c, size_t i)
{
	return c->buf + i * c->elemsize;
}

static inline size_t qcount_load(gort_chan *c)
{
	return atomic_load_explicit(&c->qcount, memory_order_relaxed);
}

#endif /* GORT_CHAN_H */
