/*
 * netpoll.c - the portable half of the netpoller (Go's netpoll.go): poll
 * descriptors, parking a goroutine until its fd is ready, deadlines, and
 * close. The OS half (netpoll_epoll.c) registers fds and reports which
 * are ready; the scheduler (sched.c, sysmon.c) calls netpoll.
 *
 * The descriptor table. fdtab maps an fd number to its pollDesc
 * (netpoll.h): a first level of FDTAB_L1 pointers to chunks of
 * FDTAB_CHUNK descriptors, allocated when first needed and installed by
 * CAS, freed only at teardown. A descriptor therefore never moves or
 * disappears while the runtime runs: an epoll event, a deadline timer or
 * a late caller may always look at it, and checks fdseq to know whether
 * it still speaks of the same fd.
 *
 * Waiting (Go's netpollblock / netpollunblock). A goroutine that got
 * EAGAIN moves its slot (rg or wg) from PD_NIL to PD_WAIT, checks for
 * errors (closed: EBADF; deadline passed: ETIMEDOUT), and parks; the
 * park's commit step (run once the goroutine is switched out) moves the
 * slot from PD_WAIT to the G. A waker moves the slot to PD_READY (I/O)
 * or PD_NIL (close, deadline) and takes the G if there was one. Whichever
 * of the two CASes comes second sees the other's value, so no wake-up is
 * lost: an I/O notification that comes before the goroutine parks leaves
 * PD_READY, which the waiter consumes instead of parking; a close or a
 * deadline that comes before it is seen by the waiter's error check
 * (seq_cst on both sides), or empties PD_WAIT so that the commit fails
 * and the goroutine does not park. netpollWaiters counts the goroutines
 * parked here: the scheduler blocks in netpoll only when there are any,
 * and checkdead does not call them deadlocked.
 *
 * Deadlines run on the runtime's timers (timer.c): rt and wt of the
 * descriptor, armed and removed under pd->lock. A firing that lost a
 * race with a change of deadline checks the deadline against its own
 * time and does nothing when that deadline is no longer due.
 *
 * Lock order: pd->lock before a P's timerslock and before sched.lock; a
 * goroutine is made runnable only once pd->lock is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "netpoll.h"

enum { FDTAB_CHUNK = 1024, FDTAB_L1 = 1 << 16 };

static _Atomic(pollDesc *) fdtab[FDTAB_L1];
_Atomic int32_t netpollWaiters;
static _Atomic uint32_t netpollbusy;

static void rdeadline_fire(void *arg, int64_t now);
static void wdeadline_fire(void *arg, int64_t now);

static pollDesc *newchunk(int32_t base)
{
	pollDesc *c = calloc(FDTAB_CHUNK, sizeof *c);
	if (!c)
		return NULL;
	for (int32_t i = 0; i < FDTAB_CHUNK; i++) {
		pollDesc *pd = &c[i];
		pd->fd = base + i;
		pd->rsema = pd->wsema = 1;
		pd->rt.pd = pd->wt.pd = pd;
		pd->rt.t.f = rdeadline_fire;
		pd->wt.t.f = wdeadline_fire;
		pd->rt.t.arg = &pd->rt;
		pd->wt.t.arg = &pd->wt;
		pd->rt.t.idx = pd->wt.t.idx = -1;
	}
	return c;
}

/* The descriptor of fd; with create, allocating its chunk if need be.
 * NULL: fd out of range, no memory, or (without create) none yet. */
pollDesc *pd_lookup(int fd, bool create)
{
	if (fd < 0 || fd / FDTAB_CHUNK >= FDTAB_L1)
		return NULL;
	_Atomic(pollDesc *) *slot = &fdtab[fd / FDTAB_CHUNK];
	pollDesc *c = atomic_load_explicit(slot, memory_order_acquire);
	if (!c) {
		if (!create)
			return NULL;
		pollDesc *nc = newchunk(fd / FDTAB_CHUNK * FDTAB_CHUNK);
		if (!nc)
			return NULL;
		if (atomic_compare_exchange_strong(slot, &c, nc))
			c = nc;
		else
			free(nc);
	}
	return &c[fd % FDTAB_CHUNK];
}

/* Register fd (state PD_NONE when last looked at) under pd->lock.
 * Returns its state, now PD_POLL or PD_FILE, with the sequence number
 * it has under the lock in *seqp; PD_CLOSING while a close is in
 * progress; or -errno. */
static int pd_register(pollDesc *pd, int fd, uint32_t *seqp)
{
	lock(&pd->lock);
	*seqp = atomic_load(&pd->fdseq);
	int st = atomic_load(&pd->state);
	if (st == PD_NONE) {
		/* Reset before the fd joins epoll: a netpoller may report
		 * it the moment it does (readiness, a hang-up), and that
		 * must not be wiped out (the drain hint relies on it). */
		atomic_store(&pd->rg, PD_NIL);
		atomic_store(&pd->wg, PD_NIL);
		atomic_store(&pd->rd, 0);
		atomic_store(&pd->wd, 0);
		atomic_store(&pd->wakeboth, 0);
		atomic_store(&pd->hup, 0);
		atomic_store_explicit(&pd->rdrained, 0, memory_order_relaxed);
		atomic_store_explicit(&pd->kind, PD_KIND_UNKNOWN, memory_order_relaxed);
		int err = netpollopen(fd, pd, *seqp);
		if (err == 0) {
			st = PD_POLL;
		} else if (err == EPERM) {
			st = PD_FILE; /* epoll cannot watch it */
		} else {
			unlock(&pd->lock);
			return -err;
		}
		atomic_store(&pd->state, (uint8_t)st);
	}
	unlock(&pd->lock);
	return st;
}

/* One round of waiting for a close of pd's fd to end (see pd_open and
 * netpollclose): a goroutine (gp, inside a runtime call) sleeps *wait,
 * which doubles up to 1 ms, so that its P runs others meanwhile (a close
 * may linger for seconds); a thread yields. */
static void closewait(g *gp, int64_t *wait)
{
	if (!gp) {
		osyield();
		return;
	}
	timesleep(gp, *wait);
	if (*wait < 1000 * 1000)
		*wait *= 2;
}

/*
 * fd's descriptor, registered with the poller on first use. Returns its
 * state (PD_POLL or PD_FILE) with *pdp and the fd's sequence number
 * *seqp, or -errno. The state is read after the sequence number, and
 * close stores PD_CLOSING before it increments the number: a caller that
 * sees the new number sees the fd closing or unregistered, and one that
 * keeps the old number fails its checks with EBADF.
 *
 * A caller that finds a close in progress waits for it to end (called
 * by a goroutine, inside a runtime call: it may park), then looks
 * again: by then the number is closed (registering it fails with
 * EBADF) or names a new fd, which it registers. Failing at once instead
 * would fail a new fd that got the number during the close: Linux frees
 * the number when close(2) begins, not when it returns, which for a
 * socket with SO_LINGER is seconds later. Only such a new fd, or a call
 * racing with the close of its own fd, ever waits here. (A copy of the
 * file made before close(2), to take the lingering last close, would
 * spare the new fd that wait, at two more system calls for every close:
 * 2-3 us, half as much again as a socket's whole life.)
 */
int pd_open(int fd, pollDesc **pdp, uint32_t *seqp)
{
	pollDesc *pd = pd_lookup(fd, true);
	if (!pd) {
		if (fd < 0)
			return -EBADF;
		if (fd / FDTAB_CHUNK < FDTAB_L1)
			return -ENOMEM;
		/* Past the table: EMFILE only for an fd that is open (the
		 * table cannot hold it); a number that is not is EBADF, as
		 * the libc call says. */
		int e = errno;
		int r = fcntl(fd, F_GETFD) < 0 ? -EBADF : -EMFILE;
		errno = e;
		return r;
	}
	for (int64_t wait = 10 * 1000;; closewait(getg(), &wait)) {
		uint32_t seq = atomic_load(&pd->fdseq);
		int st = atomic_load(&pd->state);
		if (st == PD_NONE)
			st = pd_register(pd, fd, &seq);
		if (st != PD_CLOSING) {
			*pdp = pd;
			*seqp = seq;
			return st;
		}
	}
}

/* Go's netpollcheckerr: 0, EBADF (closed since the call began) or
 * ETIMEDOUT (the deadline of a direction in mode has passed). */
int netpollcheckerr(pollDesc *pd, int mode, uint32_t seq)
{
	if (atomic_load(&pd->fdseq) != seq)
		return EBADF;
	if ((mode & GORT_READ) && atomic_load(&pd->rd) < 0)
		return ETIMEDOUT;
	if ((mode & GORT_WRITE) && atomic_load(&pd->wd) < 0)
		return ETIMEDOUT;
	return 0;
}

/* The slot a wait in mode parks in: both directions (gort_fd_wait's
 * wakeboth) park in rg. */
static _Atomic uintptr_t *slotof(pollDesc *pd, int mode)
{
	return (mode & GORT_READ) ? &pd->rg : &pd->wg;
}

/* Before an attempt: forget a readiness notification that the attempt
 * itself will observe (Go's pollReset). */
void netpollreset(pollDesc *pd, int mode)
{
	uintptr_t r = PD_READY;
	atomic_compare_exchange_strong(slotof(pd, mode), &r, PD_NIL);
}

/* A waiter leaves netpollWaiters without an I/O event: taken out by a
 * close or a deadline, or its commit failed (counted a moment first, so
 * the count never goes below 0). An M that saw the count above 0 may
 * have blocked in netpoll with no timer: it would stay there, and
 * checkdead, which counts it as running, would never see a later
 * deadlock. If it was the last, let that M look again. */
static void netpollwaiterleft(void)
{
	int32_t left = atomic_fetch_sub(&netpollWaiters, 1) - 1;
	if (left == 0 && atomic_load(&sched.lastpoll) == 0 &&
	    atomic_load(&sched.pollUntil) == 0)
		netpollBreak();
}

/* gopark's commit: the G is switched out; publish it in its slot unless
 * a waker emptied the slot meanwhile (then it does not park). */
static bool netpollblockcommit(g *gp, void *arg)
{
	_Atomic uintptr_t *gpp = arg;
	uintptr_t w = PD_WAIT;
	atomic_fetch_add(&netpollWaiters, 1);
	if (atomic_compare_exchange_strong(gpp, &w, (uintptr_t)gp))
		return true;
	netpollwaiterleft();
	return false;
}

/* Wait for I/O readiness in one direction, or in either for
 * GORT_READ|GORT_WRITE (parked in rg, with wakeboth set; the errors of
 * both directions are checked). Returns true if it came; false when
 * woken for another reason (an error, or *cancel). */
static bool netpollblock(pollDesc *pd, int mode, uint32_t seq, _Atomic uint32_t *cancel)
{
	_Atomic uintptr_t *gpp = slotof(pd, mode);
	for (;;) {
		uintptr_t old = PD_READY;
		if (atomic_compare_exchange_strong(gpp, &old, PD_NIL))
			return true;
		old = PD_NIL;
		if (atomic_compare_exchange_strong(gpp, &old, PD_WAIT))
			break;
		if (old != PD_READY && old != PD_NIL)
			throw("netpollblock: double wait");
	}
	if (netpollcheckerr(pd, mode, seq) == 0 && !(cancel && atomic_load(cancel)))
		gopark(netpollblockcommit, (void *)gpp, waitReasonIOWait);
	uintptr_t old = atomic_exchange(gpp, PD_NIL);
	if (old > PD_WAIT)
		throw("netpollblock: corrupted state");
	return old == PD_READY;
}

/* Park until fd may be ready in direction mode (both: see
 * netpollblock); 0, or the error that ends the wait (EBADF, ETIMEDOUT;
 * ETIMEDOUT too when *cancel is set). */
int netpollwait(pollDesc *pd, int mode, uint32_t seq, _Atomic uint32_t *cancel)
{
	int err = netpollcheckerr(pd, mode, seq);
	if (err)
		return err;
	netpollblock(pd, mode, seq, cancel);
	err = netpollcheckerr(pd, mode, seq);
	if (!err && cancel && atomic_load(cancel))
		err = ETIMEDOUT;
	return err;
}

/* Go's netpollunblock: ioready, the fd is ready (the slot becomes
 * PD_READY); otherwise wake a waiter only (close, deadline). Returns the
 * parked G, for the caller to make runnable, or NULL. */
g *netpollunblock(pollDesc *pd, int mode, bool ioready)
{
	_Atomic uintptr_t *gpp = slotof(pd, mode);
	for (;;) {
		uintptr_t old = atomic_load(gpp);
		if (old == PD_READY)
			return NULL;
		if (old == PD_NIL && !ioready)
			return NULL;
		if (atomic_compare_exchange_strong(gpp, &old, ioready ? PD_READY : PD_NIL)) {
			if (old == PD_NIL || old == PD_WAIT)
				return NULL;
			if (ioready) /* netpoll itself readies it */
				atomic_fetch_sub(&netpollWaiters, 1);
			else
				netpollwaiterleft();
			return (g *)old;
		}
	}
}

/* fd of pd is ready in mode (GORT_READ|GORT_WRITE bits): queue the
 * goroutines that wait for it on list (Go's netpollready). */
void netpollready(gqueue *list, pollDesc *pd, int mode)
{
	g *rg = NULL, *wg = NULL;
	if ((mode & GORT_READ) ||
	    ((mode & GORT_WRITE) && atomic_load_explicit(&pd->wakeboth, memory_order_relaxed)))
		rg = netpollunblock(pd, GORT_READ, true);
	if (mode & GORT_WRITE)
		wg = netpollunblock(pd, GORT_WRITE, true);
	if (rg)
		gpush(list, rg);
	if (wg)
		gpush(list, wg);
}

/* ---- deadlines ---- */

/* The write deadline expired (wd is -1): a gort_fd_wait for both
 * directions parks in rg, not wg, and must wake with ETIMEDOUT too.
 * wd's store comes before the load of wakeboth, and the waiter's store
 * of wakeboth and PD_WAIT before its load of wd (netpollblock): either
 * the waiter sees the deadline, or this sees the waiter. pd->lock held. */
static g *wdeadline_wakeboth(pollDesc *pd)
{
	return atomic_load(&pd->wakeboth) ? netpollunblock(pd, GORT_READ, false) : NULL;
}

static void deadline_fire(pdtimer *dt, int mode, int64_t now)
{
	pollDesc *pd = dt->pd;
	_Atomic int64_t *d = mode == GORT_READ ? &pd->rd : &pd->wd;
	g *gp = NULL, *bg = NULL;
	lock(&pd->lock);
	int64_t when = atomic_load(d);
	/* A firing that raced with a change of deadline (or a close) finds
	 * the deadline moved later, cleared or already expired. */
	if (when > 0 && when <= now) {
		atomic_store(d, -1);
		gp = netpollunblock(pd, mode, false);
		if (mode == GORT_WRITE)
			bg = wdeadline_wakeboth(pd);
	}
	atomic_store_explicit(&dt->t.firing, 0, memory_order_release);
	unlock(&pd->lock);
	if (gp)
		goready(gp);
	if (bg)
		goready(bg);
}

static void rdeadline_fire(void *arg, int64_t now)
{
	deadline_fire(arg, GORT_READ, now);
}

static void wdeadline_fire(void *arg, int64_t now)
{
	deadline_fire(arg, GORT_WRITE, now);
}

/* Arm (when > 0) or remove dt's timer. pd->lock held. */
static void deadline_arm(pdtimer *dt, int64_t when)
{
	deltimer(&dt->t);
	if (when <= 0)
		return;
	dt->t.when = when;
	m *mp = getm();
	p *pp = mp && mp->p ? mp->p : allp[0];
	if (!addtimer_p(pp, &dt->t))
		throw("out of memory (deadline timer)");
}

/* Go's poll_runtime_pollSetDeadline, with an absolute deadline: 0
 * clears, one already passed expires at once and wakes the calls parked
 * in those directions. Returns 0 or EBADF (closed since seq). */
int netpollsetdeadline(pollDesc *pd, int mode, int64_t deadline, uint32_t seq)
{
	g *rg = NULL, *wg = NULL;
	int64_t d = deadline;
	if (d > 0 && d <= nanotime())
		d = -1;
	lock(&pd->lock);
	if (atomic_load(&pd->fdseq) != seq) {
		unlock(&pd->lock);
		return EBADF;
	}
	if (mode & GORT_READ) {
		atomic_store(&pd->rd, d);
		deadline_arm(&pd->rt, d);
		if (d < 0)
			rg = netpollunblock(pd, GORT_READ, false);
	}
	if (mode & GORT_WRITE) {
		atomic_store(&pd->wd, d);
		deadline_arm(&pd->wt, d);
		if (d < 0) {
			wg = netpollunblock(pd, GORT_WRITE, false);
			if (!rg)
				rg = wdeadline_wakeboth(pd);
		}
	}
	unlock(&pd->lock);
	if (rg)
		goready(rg);
	if (wg)
		goready(wg);
	return 0;
}

/* The system call of netpollclose, which ends pd's close (pd: NULL
 * when there is none) once it is made. A goroutine (gp) makes it under
 * the syscall hand-off, as Go's Close makes it through syscall.Close:
 * close(2) may block, on a socket with SO_LINGER until its data is
 * acknowledged or the linger time passes, on a file of a network file
 * system while it is flushed. Made on the goroutine's P, it stalled the
 * P's other goroutines meanwhile, and sysmon, taking it for a goroutine
 * that would not yield, sent the preemption signal, which cut the linger
 * short. The close ends before exitsyscall, which may have to wait for
 * a P: the calls on a new fd that got the number wait for it (pd_open). */
static int sysclose_handoff(g *gp, pollDesc *pd, int fd, int src, int flags)
{
	if (gp) {
		entersyscall(getm(), gp, SYSCALL_USER);
		inruntime_lower(gp); /* in _Gsyscall now: see syscall.c */
	}
	int r = sysclose(fd, src, flags);
	if (pd)
		atomic_store(&pd->state, PD_NONE);
	if (gp) {
		inruntime_raise(gp);
		exitsyscall(getm(), gp);
	}
	return r;
}

/* Close fd (gort_close), or make it a copy of src (gort_dup3: src >= 0,
 * with flags): unregister it, wake its waiters (they fail with EBADF),
 * then close or replace it, and make every later event, deadline or call
 * that still names the old fd miss. gp: the calling goroutine, NULL for
 * a thread. Returns 0 or -errno (the system call's). A replaced fd is a
 * new fd to the netpoller, registered at its first use like any other:
 * left with the old fd's record, it would be taken as registered while
 * epoll never heard of it, and its readers would never wake.
 *
 * The descriptor is PD_CLOSING from the start of the close to the end
 * of its system call (created if need be, so that even an fd the
 * runtime never used is covered). A call that starts meanwhile (a
 * goroutine racing with the close, as Go allows) waits in pd_open for
 * the end: finding the fd unregistered and still open, it would
 * register it again, and the descriptor would stay PD_POLL once the fd
 * is gone, so that the next fd with the number would never join epoll
 * (nor be made non-blocking), and its readers would never wake.
 *
 * pd->lock is not held across the system call, which may block for
 * seconds (a linger): the waiters are woken first, as Go's Close wakes
 * them (pollDesc.evict) before the descriptor is destroyed, and a
 * deadline that fires meanwhile finds the lock free and nothing to do.
 * A close, or a dup3 onto fd, that comes during the close waits for
 * its end like any call (pd_open): it may be the close of a new fd that
 * got the number, which failing would leave open for good. */
int netpollclose(int fd, int src, int flags, g *gp)
{
	pollDesc *pd = pd_lookup(fd, true);
	if (!pd)
		return sysclose_handoff(gp, NULL, fd, src, flags);
	g *rg = NULL, *wg = NULL;
	int st;
	for (int64_t wait = 10 * 1000;; closewait(gp, &wait)) {
		lock(&pd->lock);
		st = atomic_load(&pd->state);
		if (st != PD_CLOSING)
			break;
		unlock(&pd->lock);
	}
	atomic_store(&pd->state, PD_CLOSING);
	if (st != PD_NONE) {
		atomic_fetch_add(&pd->fdseq, 1);
		atomic_store(&pd->rd, 0);
		atomic_store(&pd->wd, 0);
		atomic_store(&pd->wakeboth, 0);
		deltimer(&pd->rt.t);
		deltimer(&pd->wt.t);
		if (st == PD_POLL)
			netpollclosefd(fd);
		rg = netpollunblock(pd, GORT_READ, false);
		wg = netpollunblock(pd, GORT_WRITE, false);
	}
	unlock(&pd->lock);
	if (rg)
		goready(rg);
	if (wg)
		goready(wg);
	/* A call that passed its check before the seq moved is in its
	 * system call on this fd (pd_enter): the number must not be free
	 * for reuse, nor name another file, before that call is over (a
	 * read of a regular file on a network file system may be long). */
	for (int64_t wait = 10 * 1000; atomic_load(&pd->inflight) != 0;)
		closewait(gp, &wait);
	return sysclose_handoff(gp, pd, fd, src, flags);
}

/* One non-blocking poller at a time (findrunnable, sysmon); a blocked
 * poller is told by lastpoll == 0. */
bool netpoll_trylock(void)
{
	uint32_t z = 0;
	return atomic_load_explicit(&netpollbusy, memory_order_relaxed) == 0 &&
	       atomic_compare_exchange_strong(&netpollbusy, &z, 1);
}

void netpoll_unlock(void)
{
	atomic_store(&netpollbusy, 0);
}

/* Teardown, after the timers were orphaned: the descriptors go. */
void netpoll_free(void)
{
	for (int32_t i = 0; i < FDTAB_L1; i++) {
		pollDesc *c = atomic_load_explicit(&fdtab[i], memory_order_relaxed);
		if (c) {
			free(c);
			atomic_store_explicit(&fdtab[i], NULL, memory_order_relaxed);
		}
	}
	atomic_store(&netpollWaiters, 0);
	atomic_store(&netpollbusy, 0);
}
