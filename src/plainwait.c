/*
 * plainwait.c - plain threads that wait across the end of a gort_main
 * run.
 *
 * A thread that is not a goroutine may block on a channel, a select, a
 * semaphore (a gort_mutex, rwmutex, waitgroup) or a cond's notify list,
 * and still be blocked when gort_main returns. Its sudog lives on its
 * own stack, which outlives the run, and it must stay queued: a later
 * run, or another plain thread between runs, completes its operation as
 * if no run had ended. The goroutines waiting on the same structures are
 * abandoned: their sudogs live on stacks that teardown frees, so no one
 * may reach them afterwards.
 *
 * The design: at teardown, while every M is stopped, foreign_lock is
 * held for writing and the goroutines' stacks are still mapped, every
 * goroutine's sudog is taken out of each structure that still holds a
 * plain thread's, and the structure is stamped with the new runtime_gen
 * so that its first use in the next run (chanlock, notifyListLock)
 * keeps what is left. The semaphore table is global: it is rebuilt
 * whole (sema_teardown). Channels and notify lists are the user's
 * memory and only reachable from their waiters: each plain thread puts
 * its sudog on a record (plainwaits) before it lets go of foreign_lock
 * to sleep, and takes it off once it holds the lock again, so teardown
 * finds every one of them there. Those that hold no plain thread keep
 * their abandoned waiters until their first use, which forgets them
 * without reading them (runtime_gen), as before.
 *
 * The other way round, a record of the plain threads' sudogs put back
 * into the next run's structures, was not taken: the structures would
 * still have to be walked to unlink them from the goroutines' sudogs
 * next to them, and a cond's tickets would still have to be renumbered.
 * Recording a goroutine's sudogs on its G (Go's gp.waiting) was not
 * taken either: a store on every park, and one that a waker would have
 * to clear before it frees a channel.
 *
 * Which sudogs are kept where. A plain sudog on the record is either
 * asleep in its structure, or woken: taken out by a waker that has run
 * sudog_ready (a plain waker does so before it leaves its bracket, a
 * goroutine's M before it can stop), and the thread waits for
 * foreign_lock. A woken channel receive or send, or a woken cond wait,
 * touches its structure no more, which may be freed by now: notewoken
 * tells them apart and they are skipped. A select is different: woken or
 * not, its selector locks every channel of its cases again to take its
 * sudogs out, so they are all kept, and their selrefs (chan.h) counted
 * again from the plain selects alone, as the abandoned ones never leave.
 * A select's sudogs are found from the one it sleeps on through
 * waitlink.
 *
 * Invariants:
 *  - a plain thread asleep on a sudog, or woken and not yet holding
 *    foreign_lock again, is on plainwaits: teardown, which holds
 *    foreign_lock for writing, sees every one;
 *  - once teardown is over, no wait structure holds a goroutine's sudog
 *    unless its next use empties it unread (its gen is stale): no sudog
 *    on a freed stack is ever touched;
 *  - a kept channel's selrefs counts the plain selects' sudogs only.
 *
 * Hot paths are untouched: goroutines do nothing more to wait or wake,
 * and only a plain thread that sleeps takes plainwaits.lock. Lock order:
 * plainwaits.lock, then a channel's or notify list's lock (teardown);
 * plain threads take plainwaits.lock alone.
 */
#include "chan.h"

static struct {
	mutex lock;
	plainwait *first;
} plainwaits;

/* Record s, the sudog a plain thread is about to sleep on. */
void plainwait_add(plainwait *w, sudog *s)
{
	w->s = s;
	w->prev = NULL;
	lock(&plainwaits.lock);
	w->next = plainwaits.first;
	if (w->next)
		w->next->prev = w;
	plainwaits.first = w;
	unlock(&plainwaits.lock);
}

void plainwait_remove(plainwait *w)
{
	lock(&plainwaits.lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		plainwaits.first = w->next;
	if (w->next)
		w->next->prev = w->prev;
	unlock(&plainwaits.lock);
}

/* Keep the structure that the plain sudog s waits on, gen being the
 * next run's. */
static void keep_structure(sudog *s, uint32_t gen)
{
	switch (s->kind) {
	case SUDOG_CHAN:
		if (s->sel) {
			for (sudog *t = s; t; t = t->waitlink)
				chan_keep(t->c, gen);
		} else if (!notewoken(s->wake)) {
			chan_keep(s->c, gen);
		}
		break;
	case SUDOG_NOTIFY:
		if (!notewoken(s->wake))
			notifyList_keep(s->elem, gen);
		break;
	default:
		break; /* semaphores: sema_teardown rebuilds the whole table */
	}
}

/* The plain selects' sudogs count in their channels' selrefs, which
 * chan_keep has emptied of the abandoned selects'. */
static void count_selrefs(sudog *s)
{
	if (s->kind != SUDOG_CHAN || !s->sel)
		return;
	for (sudog *t = s; t; t = t->waitlink) {
		lock(&t->c->lock);
		t->c->selrefs++;
		unlock(&t->c->lock);
	}
}

/* Teardown: every M stopped, foreign_lock held for writing, runtime_gen
 * already moved on, and the abandoned goroutines' stacks still mapped. */
void plainwait_teardown(void)
{
	uint32_t gen = atomic_load(&runtime_gen);
	lock(&plainwaits.lock);
	for (plainwait *w = plainwaits.first; w; w = w->next)
		keep_structure(w->s, gen);
	for (plainwait *w = plainwaits.first; w; w = w->next)
		count_selrefs(w->s);
	unlock(&plainwaits.lock);
	sema_teardown();
}
