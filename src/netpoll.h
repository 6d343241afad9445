/*
 * netpoll.h - the poll descriptor (Go's pollDesc) shared by the portable
 * netpoller (netpoll.c), its epoll back end (netpoll_epoll.c) and the I/O
 * calls (io.c).
 *
 * One pollDesc per file descriptor number, in a table indexed by the
 * number (netpoll.c). A pollDesc is never freed while the runtime runs;
 * when its fd is closed (gort_close) it is reset and serves the next fd
 * that gets the same number. Its fields:
 *
 *  - rg, wg: the read and write wait slots. Each holds PD_NIL (nothing),
 *    PD_READY (an I/O readiness notification not yet consumed), PD_WAIT
 *    (a goroutine is about to park) or the parked goroutine itself. They
 *    change only by atomic exchange or CAS (netpollblock,
 *    netpollunblock), or by atomic stores when the fd is registered;
 *    pd->lock does not guard them, though the deadline and close paths
 *    hold it while they take a waiter out (netpollunblock).
 *  - fdseq: incremented each time the fd is closed. Every operation
 *    reads it when it starts and fails with EBADF once it differs; epoll
 *    events and deadline wake-ups carry or check it, so that nothing
 *    meant for a closed fd reaches a later fd with the same number.
 *  - state: PD_NONE (not registered), PD_POLL (registered with epoll,
 *    O_NONBLOCK set; on a TCP socket gort_fd_setblocking may clear it,
 *    and io.c's calls carry MSG_DONTWAIT there), PD_FILE (epoll refused it: a regular file; its
 *    calls go through the syscall hand-off) or PD_CLOSING (a close is
 *    in progress: netpollclose sets it under pd->lock and ends it with a
 *    store once its system call is made; pd_open waits it out).
 *  - rd, wd: the read and write deadlines: 0 none, > 0 an absolute
 *    nanotime, -1 passed (calls in that direction fail with ETIMEDOUT).
 *    rt, wt: the runtime timers that expire them.
 *  - rsema, wsema: one goroutine at a time waits in each direction (Go's
 *    fdMutex serialises readers and writers the same way); the others
 *    wait on these semaphores, so two acceptors on one listening socket
 *    take turns; a call with MSG_DONTWAIT that finds the turn taken
 *    fails with EAGAIN (io.c).
 *  - wakeboth: a gort_fd_wait for both directions parks in rg only;
 *    while it does, write readiness and the write deadline wake rg too.
 *  - rdrained, kind, hup: the drain hint of io.c. rdrained says when the
 *    last read on the fd came back short on a TCP stream, so it left
 *    nothing behind (0: it did not); kind caches whether the fd is such a
 *    stream (PD_KIND_*, found at the first call, which also tells io.c
 *    to pass MSG_DONTWAIT). rdrained belongs to the holder of rsema;
 *    kind is stored by any call, only while in flight (pd_enter), so
 *    always for this fd's file. Registration resets both without rsema,
 *    while a call on the fd closed before may still hold it: atomics
 *    (relaxed), and such a call leaves them alone once it sees the close
 *    (io.c's drain_note, pd_isstream). hup is set by the netpoller once it has seen the
 *    peer hang up or an error (EPOLLRDHUP, EPOLLHUP, EPOLLERR): a short
 *    read may then leave the end of file behind, which raises no further
 *    edge, so the hint is off for good. Urgent data (EPOLLPRI: TCP's
 *    MSG_OOB) sets it too: a read stops short at the urgent mark and
 *    leaves the bytes after it, with no edge to come. Registration
 *    resets all three, and the slots, before the fd joins epoll: a
 *    netpoller may report the fd the moment it does, and that report
 *    must stay.
 *
 * Locking: pd->lock protects state, the timers and the deadline changes
 * (stores of rd/wd, fdseq); readers load those atomically without it.
 * inflight is counted without it (pd_enter), and the calls it counts
 * take no lock: netpollclose waits for them while the fd is PD_CLOSING.
 * Lock order: pd->lock before a P's timerslock, and before sched.lock
 * (arming a timer may start an M); neither is held when pd->lock is taken.
 * Nothing is made runnable (goready) while pd->lock is held.
 */
#ifndef GORT_NETPOLL_H
#define GORT_NETPOLL_H

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>

#include "runtime.h"

#define PD_NIL ((uintptr_t)0)
#define PD_READY ((uintptr_t)1)
#define PD_WAIT ((uintptr_t)2)

enum { PD_NONE, PD_POLL, PD_FILE, PD_CLOSING };
enum { PD_KIND_UNKNOWN, PD_KIND_STREAM, PD_KIND_OTHER };

typedef struct pollDesc pollDesc;

/* A deadline timer: the runtime timer and the descriptor it expires. */
typedef struct pdtimer {
	timer t;
	pollDesc *pd;
} pdtimer;

struct pollDesc {
	mutex lock;
	int fd;
	_Atomic uint8_t state;
	_Atomic uint8_t wakeboth;
	_Atomic uint8_t hup;
	_Atomic uint32_t fdseq;
	_Atomic int32_t inflight; /* system calls on fd under way (pd_enter) */
	_Atomic uintptr_t rg;
	_Atomic uintptr_t wg;
	_Atomic int64_t rd;
	_Atomic int64_t wd;
	pdtimer rt;
	pdtimer wt;
	uint32_t rsema;
	uint32_t wsema;
	_Atomic int64_t rdrained; /* nanotime of the short read, 0: none */
	_Atomic uint8_t kind;
};

/* A goroutine's system call on a registered fd, for a call that began at
 * seq: pd_enter says false (the fd was closed since: EBADF) or counts the
 * call in pd->inflight until pd_leave. netpollclose bumps fdseq, then
 * waits for inflight to drain before close(2): both sides seq_cst, so
 * either the call sees the new seq, or the close sees the call and lets
 * it end first. No call then reaches a later fd that got the number
 * (Go's fdMutex reference count does the same). The calls are
 * non-blocking, or on a regular file (PD_FILE): the wait lasts one
 * system call at most. */
static inline void pd_leave(pollDesc *pd)
{
	atomic_fetch_sub(&pd->inflight, 1);
}

static inline bool pd_enter(pollDesc *pd, uint32_t seq)
{
	atomic_fetch_add(&pd->inflight, 1);
	if (atomic_load(&pd->fdseq) == seq)
		return true;
	pd_leave(pd);
	return false;
}

/* netpoll.c */
pollDesc *pd_lookup(int fd, bool create);
int pd_open(int fd, pollDesc **pdp, uint32_t *seqp);
int netpollcheckerr(pollDesc *pd, int mode, uint32_t seq);
void netpollreset(pollDesc *pd, int mode);
int netpollwait(pollDesc *pd, int mode, uint32_t seq, _Atomic uint32_t *cancel);
g *netpollunblock(pollDesc *pd, int mode, bool ioready);
void netpollready(gqueue *list, pollDesc *pd, int mode);
int netpollsetdeadline(pollDesc *pd, int mode, int64_t deadline, uint32_t seq);
int netpollclose(int fd, int src, int flags, g *gp);
/* io.c: the outcome of a non-blocking connect in progress on fd, the
 * connection finished when made (0), EINPROGRESS, or the error. */
int connect_status(int fd, const struct sockaddr *addr, socklen_t addrlen);
/* close(2) of fd, or with src >= 0 dup3(2) of src onto fd, as 0 or
 * -errno. */
static inline int sysclose(int fd, int src, int flags)
{
	int r = src < 0 ? close(fd) : dup3(src, fd, flags);
	return r >= 0 ? 0 : -errno;
}
void netpoll_free(void);

/* netpoll_epoll.c */
int netpollopen(int fd, pollDesc *pd, uint32_t seq);
void netpollclosefd(int fd);

#endif /* GORT_NETPOLL_H */
