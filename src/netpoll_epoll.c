/*
 * netpoll_epoll.c - the netpoller's OS half on Linux (Go's
 * netpoll_epoll.go): one epoll instance for the whole runtime, and an
 * eventfd that netpollBreak writes to wake an M blocked in netpoll.
 *
 * Registration. An fd is added once, on its first use (pd_open), for
 * EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI, edge-triggered: the kernel
 * reports each change of readiness once, and the pollDesc keeps it
 * (PD_READY) until a goroutine consumes it. EPOLLPRI (urgent data) wakes
 * nobody: it only turns off io.c's drain hint (pollDesc's hup). The event carries the fd number and the
 * descriptor's sequence number (fd << 32 | fdseq), so an event still
 * queued for an fd that has since been closed, and whose number was
 * reused, does not match the descriptor and is dropped. EPERM from
 * epoll_ctl means epoll cannot watch that file (regular files): the
 * caller goes through the syscall hand-off instead. O_NONBLOCK is set
 * once the fd is registered.
 *
 * netpoll(delay) waits at most delay ns (< 0: until woken, 0: not at
 * all), with nanosecond resolution through epoll_pwait2 where the kernel
 * has it and lets the process make it (a seccomp filter may refuse it),
 * else epoll_wait with the delay rounded up to a millisecond so that a
 * timer is never woken early. It returns the goroutines that the
 * events make ready. The eventfd is registered level-triggered; only a
 * blocking poll drains it and clears netpollWakeSig, so at most one
 * write is outstanding and a break aimed at the blocking poller is never
 * swallowed by a non-blocking one.
 *
 * epfd and breakfd are set before any M runs (schedinit) and closed after
 * every M has ended (teardown); in between they are only read.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "netpoll.h"

enum { NETPOLL_EVENTS = 128 };
#define BREAK_TAG UINT64_MAX

static int epfd = -1;
static int breakfd = -1;
static _Atomic uint32_t netpollWakeSig; /* a break is pending */
static _Atomic bool nopwait2;           /* epoll_pwait2 is missing or refused */

int netpollinit(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -1;
	breakfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = BREAK_TAG};
	if (breakfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, breakfd, &ev) != 0) {
		int e = errno;
		if (breakfd >= 0)
			close(breakfd);
		close(epfd);
		epfd = breakfd = -1;
		errno = e;
		return -1;
	}
	atomic_store(&netpollWakeSig, 0);
	atomic_store(&sched.lastpoll, nanotime());
	return 0;
}

void netpoll_teardown(void)
{
	if (epfd >= 0) {
		close(breakfd);
		close(epfd);
	}
	epfd = breakfd = -1;
	netpoll_free();
}

/* Register fd (Go's netpollopen). Returns 0, EPERM (epoll cannot watch
 * it) or another errno. */
int netpollopen(int fd, pollDesc *pd, uint32_t seq)
{
	(void)pd;
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
		.data.u64 = (uint64_t)(uint32_t)fd << 32 | seq,
	};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		/* Still registered under an old sequence number (the fd was
		 * closed behind the runtime's back): take the new one. */
		if (errno != EEXIST || epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
			return errno;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)) {
		int e = errno;
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
		return e;
	}
	return 0;
}

/* fd is about to be closed: no more events for it. */
void netpollclosefd(int fd)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Wake the M blocked in netpoll, if any (Go's netpollBreak). */
void netpollBreak(void)
{
	uint32_t z = 0;
	if (breakfd < 0 || !atomic_compare_exchange_strong(&netpollWakeSig, &z, 1))
		return;
	uint64_t one = 1;
	for (;;) {
		ssize_t r = write(breakfd, &one, sizeof one);
		if (r == (ssize_t)sizeof one || (r < 0 && errno == EAGAIN))
			return;
		if (r < 0 && errno != EINTR)
			throw("netpollBreak: write failed");
	}
}

static int epollwait(struct epoll_event *evs, int64_t delay)
{
	if (delay > 0) {
#ifdef SYS_epoll_pwait2
		if (!atomic_load_explicit(&nopwait2, memory_order_relaxed)) {
			struct timespec ts = {delay / 1000000000, delay % 1000000000};
			int n = (int)syscall(SYS_epoll_pwait2, epfd, evs, NETPOLL_EVENTS, &ts, NULL, 0);
			if (n >= 0 || errno == EINTR)
				return n;
			/* Not only ENOSYS: a seccomp filter that does not know
			 * the call refuses it with EPERM (container runtimes'
			 * default profiles did, before they listed it).
			 * Arguments that epoll_wait takes leave this call no
			 * error of its own; should epoll_wait fail too,
			 * netpoll reports it. */
			atomic_store_explicit(&nopwait2, true, memory_order_relaxed);
		}
#endif
		/* Rounded up, without an addition that could overflow. */
		int64_t ms = delay / 1000000 + (delay % 1000000 != 0);
		return epoll_wait(epfd, evs, NETPOLL_EVENTS, ms > INT_MAX ? INT_MAX : (int)ms);
	}
	return epoll_wait(epfd, evs, NETPOLL_EVENTS, delay < 0 ? -1 : 0);
}

/* See the file comment. The goroutines come back on list (schedlink),
 * still _Gwaiting; returns how many. */
int32_t netpoll(int64_t delay, gqueue *list)
{
	list->head = list->tail = NULL;
	if (epfd < 0)
		return 0;
	struct epoll_event evs[NETPOLL_EVENTS];
	int n;
	for (;;) {
		n = epollwait(evs, delay);
		if (n >= 0)
			break;
		if (errno != EINTR)
			throw("netpoll: epoll_wait failed");
		/* A signal (preemption): the caller recomputes its delay. */
		if (delay > 0)
			return 0;
	}
	int32_t count = 0;
	for (int i = 0; i < n; i++) {
		struct epoll_event *ev = &evs[i];
		if (ev->data.u64 == BREAK_TAG) {
			if (delay != 0) {
				uint64_t v;
				ssize_t r = read(breakfd, &v, sizeof v);
				(void)r;
				atomic_store(&netpollWakeSig, 0);
			}
			continue;
		}
		int mode = 0;
		if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			mode |= GORT_READ;
		if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			mode |= GORT_WRITE;
		int fd = (int)(ev->data.u64 >> 32);
		uint32_t tag = (uint32_t)ev->data.u64;
		pollDesc *pd = pd_lookup(fd, false);
		if (!pd || atomic_load(&pd->fdseq) != tag)
			continue;
		if (ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI))
			atomic_store(&pd->hup, 1); /* before the wake-up: see pollDesc */
		if (!mode)
			continue;
		g *tail = list->tail;
		netpollready(list, pd, mode);
		for (g *gp = tail ? tail->schedlink : list->head; gp; gp = gp->schedlink)
			count++;
	}
	/* We took the last waiters from an M blocked in netpoll with no
	 * timer: let it go (see netpollunblock). */
	if (delay == 0 && count > 0 && atomic_load(&netpollWaiters) == 0 &&
	    atomic_load(&sched.lastpoll) == 0 && atomic_load(&sched.pollUntil) == 0)
		netpollBreak();
	return count;
}
