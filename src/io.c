/*
 * io.c - goroutine-aware I/O: gort_read, gort_write and the other calls
 * of gort.h's "I/O on the netpoller" (Go's internal/poll.FD on top of
 * the runtime's netpoller).
 *
 * Every call is one loop (fdio): check the descriptor's errors (closed,
 * deadline passed), try the libc call on the non-blocking fd, and on
 * EAGAIN park on the netpoller (netpollwait) until the fd is ready in
 * that direction, then try again. EINTR is retried. Writes go on until
 * every byte is written (Go's FD.Write), parking as often as needed.
 *
 * Who may do what: one goroutine at a time waits in each direction of an
 * fd (the descriptor's rsema / wsema, taken around the whole loop, as
 * Go's fdMutex), so a read and a write may proceed at once, and two
 * readers (two acceptors) take turns. A call with MSG_DONTWAIT waits for
 * its turn no more than for the fd: it fails with EAGAIN when the turn
 * is taken, as if the fd were not ready (its holder comes first, and no
 * call's bytes land inside another's). Queued, it waited as long as a
 * read parked until data came, where recv(2) fails at once. The
 * sequence number read when the fd is opened (pd_open) is checked before
 * every attempt and after every wake-up: an fd closed with gort_close
 * meanwhile fails with EBADF. An attempt is counted in flight from its
 * check to the end of its system call (pd_enter), and gort_close waits
 * for it before close(2), so no attempt reaches a later fd that got the
 * same number.
 *
 * The drain hint (one read system call fewer per message): epoll is
 * edge-triggered, so once a read has emptied a byte stream, any byte that
 * arrives later raises a new edge, which the netpoller turns into
 * PD_READY or a wake-up. A read that comes back short on a TCP socket
 * (fewer bytes than asked, none left behind) therefore sets
 * pd->rdrained, and the next read on the fd, instead of resetting the
 * readiness and trying the call (which would fail with EAGAIN: the common
 * case in a request/response loop), goes straight to netpollwait: it
 * returns at once if an edge came since, and parks otherwise. At worst an
 * edge that was already pending when the short read ran wakes the reader
 * once for nothing, and the call's EAGAIN parks it again, as without the
 * hint. The exception is the end of the stream: a peer's hang-up that
 * came before the short read raises no edge after it, so once the
 * netpoller has seen one (pd->hup) the fd no longer takes the hint; one
 * that came after it raises its edge as data does. Urgent data turns
 * the hint off the same way (EPOLLPRI): a read stops short at its mark.
 * Only TCP takes the hint, for elsewhere a short read does not say that
 * nothing is left: a pipe may be in packet mode (O_DIRECT, set by the
 * writer, unseen from the read end: a read returns one packet), a read
 * on an AF_UNIX stream stops after a message that carries fds or other
 * credentials, an SCTP or datagram socket returns one message, and no
 * edge comes for what they leave behind. Reads that peek, or pass other
 * recv flags, do not take it and turn it off, as gort_fd_wait does: they
 * consume edges without emptying the stream. Nor does a read of no bytes:
 * read(2) of 0 bytes on a socket returns 0 at once (Go's FD.Read too),
 * where the hint would park it until bytes came.
 *
 * The hint is trusted for DRAIN_HINT_NS (50 us) after the short read,
 * which covers a request/response loop (read, work, write, read). A read
 * that comes later makes the call first, as without the hint: bytes that
 * came meanwhile have raised an edge, but the netpoller may not look for
 * it soon (a busy P polls only when its queues run dry, sysmon every 10
 * ms), and a goroutine that reads them at once should not wait for it.
 *
 * Files epoll cannot watch (PD_FILE: regular files) are called in place
 * between entersyscall and exitsyscall, so a slow disk costs the P only
 * until sysmon hands it off; their calls are counted in flight too.
 *
 * A socket's file in blocking mode. O_NONBLOCK belongs to the open file,
 * which other processes may share: a child given an accepted socket as
 * its standard input, say, expects it blocking, and fails with EAGAIN on
 * the runtime's O_NONBLOCK. gort_fd_setblocking clears the flag on a
 * connected TCP socket for good (until it is closed), as Go's File.Fd
 * does before a file goes to a child. Go then makes its own calls on
 * the file blocking ones, each holding a thread; here a goroutine's
 * calls on a TCP socket carry MSG_DONTWAIT instead (rq->dontwait: read
 * and write become recv and send, readv and writev recvmsg and sendmsg,
 * which are the same calls on TCP), so they never block, whoever
 * cleared the flag. A connected TCP socket is the one file whose every
 * call has such a form: accept and connect have none, nor have a pipe's
 * read and write.
 *
 * A caller that is not a goroutine (no runtime, or a plain thread) gets
 * the blocking libc behaviour: an EAGAIN from an fd that the runtime
 * made non-blocking is waited out with poll(2) on the thread.
 *
 * errno: a goroutine may resume on another thread after any park, so
 * errors are carried in locals and stored with seterrno after rt_exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netpoll.h"

/* One request: the call and its arguments, and for writes the progress. */
typedef struct ioreq ioreq;
struct ioreq {
	ssize_t (*op)(int fd, ioreq *rq); /* one attempt: result, or -1 and errno */
	int mode;                        /* GORT_READ or GORT_WRITE */
	bool full;                       /* go on until total bytes are done */
	bool nowait;                     /* MSG_DONTWAIT: EAGAIN comes back */
	bool drainhint;                  /* a plain read: see the drain hint */
	void *buf;
	size_t n;
	int flags;
	struct sockaddr *addr;
	const struct sockaddr *caddr;
	socklen_t *addrlen;
	socklen_t caddrlen;
	struct iovec *iov;               /* readv: the caller's; writev: a copy */
	int iovcnt;
	size_t total, done;
	bool dontwait;                   /* a TCP socket: every call MSG_DONTWAIT */
};

static bool again(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK;
}

/* A plain thread waits for fd with poll(2). Returns poll's result. */
static int thread_poll(int fd, int events, int timeout_ms, short *revents)
{
	struct pollfd pfd = {fd, (short)(((events & GORT_READ) ? POLLIN : 0) |
	                                 ((events & GORT_WRITE) ? POLLOUT : 0)), 0};
	int r;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (revents)
		*revents = pfd.revents;
	return r;
}

/* The events of `events` that fd is ready for now, or -EBADF. */
static int readynow(int fd, int events)
{
	short re = 0;
	if (thread_poll(fd, events, 0, &re) < 0)
		return -geterrno();
	if (re & POLLNVAL)
		return -EBADF;
	int got = 0;
	if (re & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
		got |= GORT_READ;
	if (re & (POLLOUT | POLLHUP | POLLERR))
		got |= GORT_WRITE;
	return got & events;
}

/* readynow for a goroutine on its registered fd, in flight (pd_enter):
 * -EBADF once the fd is closed, never the readiness of a later fd. */
static int readynow_pd(pollDesc *pd, uint32_t seq, int fd, int events)
{
	if (!pd_enter(pd, seq))
		return -EBADF;
	int got = readynow(fd, events);
	pd_leave(pd);
	return got;
}

/* A write made progress r: account for it. Returns true when done. */
static bool progress(ioreq *rq, ssize_t r)
{
	rq->done += (size_t)r;
	return rq->done >= rq->total || r == 0;
}

/* The result of a request that ended with error err (0: none). */
static ssize_t finish(ioreq *rq, ssize_t r, int *err)
{
	if (rq->full) {
		if (rq->done > 0 || *err == 0) {
			*err = 0;
			return (ssize_t)rq->done;
		}
		return -1;
	}
	return *err ? -1 : r;
}

/* A goroutine's request on a registered fd: its descriptor and the
 * sequence number it began at. park: on EAGAIN it parks on the
 * netpoller, then checks that its fd is still open and its deadline not
 * passed (Go's waitRead/prepareRead); a file epoll cannot watch never
 * parks. */
struct pdwait {
	pollDesc *pd;
	uint32_t seq;
	bool park;
};

static int pd_wait(ioreq *rq, struct pdwait *w)
{
	int err = netpollwait(w->pd, rq->mode, w->seq, NULL);
	return err ? err : netpollcheckerr(w->pd, rq->mode, w->seq);
}

/* A thread waits in poll() on an fd the runtime made non-blocking; if
 * poll itself fails (ENOMEM), the call fails with its error. */
static int thread_wait(int fd, ioreq *rq)
{
	return thread_poll(fd, rq->mode, -1, NULL) >= 0 ? 0 : geterrno();
}

/* One attempt. A goroutine's (w: its fd's descriptor) is counted as in
 * flight, so that gort_close lets it end before the number is free
 * (pd_enter). */
static ssize_t attempt(int fd, ioreq *rq, struct pdwait *w)
{
	if (!w)
		return rq->op(fd, rq);
	if (!pd_enter(w->pd, w->seq)) {
		seterrno(EBADF);
		return -1;
	}
	ssize_t r = rq->op(fd, rq);
	pd_leave(w->pd);
	return r;
}

/* One request to its end, for every caller: the call, retried on EINTR,
 * completed when the request asks (rq->full), and on EAGAIN, unless
 * rq->nowait, a wait and again: on the netpoller for a goroutine (w,
 * w->park), in poll(2) for a thread (w NULL). */
static ssize_t fdio_loop(int fd, ioreq *rq, struct pdwait *w, int *errp)
{
	int err;
	ssize_t r;
	for (;;) {
		r = attempt(fd, rq, w);
		if (r >= 0) {
			err = 0;
			if (rq->full && !progress(rq, r))
				continue;
			break;
		}
		err = geterrno();
		if (err == EINTR)
			continue;
		if (!again(err) || rq->nowait)
			break;
		if ((err = w && w->park ? pd_wait(rq, w) : thread_wait(fd, rq)) != 0)
			break;
	}
	*errp = err;
	return r;
}

/* Outside a goroutine: the blocking call. */
static ssize_t fdio_thread(int fd, ioreq *rq)
{
	int err;
	ssize_t r = fdio_loop(fd, rq, NULL, &err);
	r = finish(rq, r, &err);
	if (r < 0)
		errno = err;
	return r;
}

/* A file epoll cannot watch: the calls in place, under the hand-off,
 * each in flight as on a polled fd (a gort_close waits for it). */
static ssize_t fdio_file(g *gp, pollDesc *pd, uint32_t seq, int fd, ioreq *rq, int *errp)
{
	struct pdwait w = {pd, seq, false};
	entersyscall(getm(), gp, SYSCALL_USER);
	inruntime_lower(gp); /* in _Gsyscall now: see syscall.c */
	ssize_t r = fdio_loop(fd, rq, &w, errp);
	inruntime_raise(gp);
	exitsyscall(getm(), gp);
	return r;
}

/* How long a short read is trusted to have emptied the stream (see the
 * file comment). */
#define DRAIN_HINT_NS (50 * 1000)

/* Whether fd is a TCP socket: a byte stream whose short read means
 * "emptied" (see the drain hint), and whose calls carry MSG_DONTWAIT (see
 * "a socket's file in blocking mode"). Found once per registration, in
 * flight (pd_enter): until pd_leave the number names this fd's file, and
 * a close waits before close(2), so the kind stored is never the file's
 * that had the number before, stored after the next registration reset
 * it. false for an fd closed meanwhile, whose calls fail with EBADF. */
static bool pd_isstream(pollDesc *pd, uint32_t seq, int fd)
{
	uint8_t kind = atomic_load_explicit(&pd->kind, memory_order_relaxed);
	if (kind == PD_KIND_UNKNOWN) {
		if (!pd_enter(pd, seq))
			return false;
		int proto = 0;
		socklen_t len = sizeof proto;
		bool stream = getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
		              proto == IPPROTO_TCP;
		kind = stream ? PD_KIND_STREAM : PD_KIND_OTHER;
		atomic_store_explicit(&pd->kind, kind, memory_order_relaxed);
		pd_leave(pd);
	}
	return kind == PD_KIND_STREAM;
}

/* After a read: whether it leaves the hint on (see the file comment).
 * Only a plain read of r bytes out of rq->n that came back short sets
 * it; every other read clears it, since it reset the readiness that the
 * hint relies on (a peek, say, leaves the bytes there and takes their
 * edge). A read whose fd was closed meanwhile leaves the hint alone:
 * the descriptor may already serve the next fd with the number, whose
 * registration started it afresh (pd_open), and a read of that fd may
 * be using it. */
static void drain_note(pollDesc *pd, uint32_t seq, ioreq *rq, bool hint, ssize_t r)
{
	if (atomic_load(&pd->fdseq) != seq)
		return;
	bool drained = hint && r > 0 && (size_t)r < rq->n && !atomic_load(&pd->hup) &&
	               rq->dontwait; /* a TCP socket: fdio_poll asked pd_isstream */
	atomic_store_explicit(&pd->rdrained, drained ? nanotime() : 0, memory_order_relaxed);
}

/* Whether this read takes the hint: a plain read that follows a short
 * one within DRAIN_HINT_NS (see the file comment). */
static bool drain_trust(pollDesc *pd, bool hint)
{
	if (!hint)
		return false;
	int64_t at = atomic_load_explicit(&pd->rdrained, memory_order_relaxed);
	return at != 0 && nanotime() - at < DRAIN_HINT_NS;
}

/* One request on a registered fd, under the direction's semaphore. */
static ssize_t fdio_poll(pollDesc *pd, uint32_t seq, int fd, ioreq *rq, int *errp)
{
	struct pdwait w = {pd, seq, true};
	rq->dontwait = pd_isstream(pd, seq, fd);
	/* A read of nothing makes the call, which returns at once: the
	 * hint would park it until bytes came. */
	bool hint = rq->drainhint && !rq->nowait && rq->n > 0;
	ssize_t r = -1;
	int err = netpollcheckerr(pd, rq->mode, seq);
	if (err == 0) {
		if (drain_trust(pd, hint))
			err = pd_wait(rq, &w);
		else
			netpollreset(pd, rq->mode);
	}
	if (err == 0)
		r = fdio_loop(fd, rq, &w, &err);
	if (rq->mode == GORT_READ)
		drain_note(pd, seq, rq, hint, r);
	*errp = err;
	return r;
}

/* Take a direction's turn (rsema or wsema): wait for it, or, for a call
 * with MSG_DONTWAIT, only if it is free. */
static bool taketurn(uint32_t *sema, bool nowait)
{
	if (nowait)
		return cansemacquire(sema);
	semacquire(sema, waitReasonIOWait);
	return true;
}

/* See the file comment. */
static ssize_t fdio(int fd, ioreq *rq)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	g *gp = rt_enter();
	if (!gp)
		return fdio_thread(fd, rq);
	int err = 0;
	ssize_t r = -1;
	pollDesc *pd;
	uint32_t seq;
	int st = pd_open(fd, &pd, &seq);
	if (st < 0) {
		err = -st;
	} else if (st == PD_FILE) {
		r = fdio_file(gp, pd, seq, fd, rq, &err);
	} else {
		uint32_t *sema = rq->mode == GORT_READ ? &pd->rsema : &pd->wsema;
		if (taketurn(sema, rq->nowait)) {
			r = fdio_poll(pd, seq, fd, rq, &err);
			semrelease(sema);
		} else if ((err = netpollcheckerr(pd, rq->mode, seq)) == 0) {
			err = EAGAIN; /* the turn is taken: see the file comment */
		}
	}
	r = finish(rq, r, &err);
	rt_exit(gp);
	if (r < 0)
		seterrno(err);
	return r;
}

/* ---- the calls ---- */

/* On a TCP socket the calls carry MSG_DONTWAIT (rq->dontwait, see "A
 * socket's file in blocking mode"): read and write are recv and send
 * there, with no other difference. A read of nothing stays a read,
 * which returns 0 at once. */
static int dontwait(const ioreq *rq)
{
	return rq->dontwait ? MSG_DONTWAIT : 0;
}

static ssize_t op_read(int fd, ioreq *rq)
{
	if (rq->dontwait && rq->n > 0)
		return recv(fd, rq->buf, rq->n, MSG_DONTWAIT);
	return read(fd, rq->buf, rq->n);
}

static ssize_t op_write(int fd, ioreq *rq)
{
	char *p = (char *)rq->buf + rq->done;
	size_t len = rq->total - rq->done;
	return rq->dontwait ? send(fd, p, len, MSG_DONTWAIT) : write(fd, p, len);
}

static ssize_t op_recv(int fd, ioreq *rq)
{
	return recv(fd, (char *)rq->buf + rq->done, rq->n - rq->done, rq->flags | dontwait(rq));
}

static ssize_t op_send(int fd, ioreq *rq)
{
	return send(fd, (char *)rq->buf + rq->done, rq->total - rq->done,
	            rq->flags | dontwait(rq));
}

static ssize_t op_recvfrom(int fd, ioreq *rq)
{
	return recvfrom(fd, (char *)rq->buf + rq->done, rq->n - rq->done,
	                rq->flags | dontwait(rq), rq->addr, rq->addrlen);
}

static ssize_t op_sendto(int fd, ioreq *rq)
{
	return sendto(fd, (char *)rq->buf + rq->done, rq->total - rq->done,
	              rq->flags | dontwait(rq), rq->caddr, rq->caddrlen);
}

static ssize_t op_readv(int fd, ioreq *rq)
{
	if (rq->dontwait && rq->n > 0) {
		struct msghdr m = {.msg_iov = rq->iov, .msg_iovlen = (size_t)rq->iovcnt};
		return recvmsg(fd, &m, MSG_DONTWAIT);
	}
	return readv(fd, rq->iov, rq->iovcnt);
}

static void writev_advance(ioreq *rq, size_t r)
{
	while (r > 0 && rq->iovcnt > 0) {
		if (r < rq->iov->iov_len) {
			rq->iov->iov_base = (char *)rq->iov->iov_base + r;
			rq->iov->iov_len -= r;
			return;
		}
		r -= rq->iov->iov_len;
		rq->iov++;
		rq->iovcnt--;
	}
	/* Skip empty entries so the next attempt writes something. */
	while (rq->iovcnt > 0 && rq->iov->iov_len == 0) {
		rq->iov++;
		rq->iovcnt--;
	}
}

/* writev from where the last attempt stopped: rq->iov is a copy of the
 * caller's, advanced past what was written. */
static ssize_t op_writev_step(int fd, ioreq *rq)
{
	ssize_t r;
	if (rq->dontwait) {
		struct msghdr m = {.msg_iov = rq->iov, .msg_iovlen = (size_t)rq->iovcnt};
		r = sendmsg(fd, &m, MSG_DONTWAIT);
	} else {
		r = writev(fd, rq->iov, rq->iovcnt);
	}
	if (r > 0)
		writev_advance(rq, (size_t)r);
	return r;
}

static bool badbuf(const void *buf, size_t n)
{
	if (!buf && n > 0) {
		errno = EFAULT;
		return true;
	}
	return false;
}

GORT_API ssize_t gort_read(int fd, void *buf, size_t n)
{
	if (badbuf(buf, n))
		return -1;
	ioreq rq = {.op = op_read, .mode = GORT_READ, .buf = buf, .n = n, .drainhint = true};
	return fdio(fd, &rq);
}

GORT_API ssize_t gort_write(int fd, const void *buf, size_t n)
{
	if (badbuf(buf, n))
		return -1;
	ioreq rq = {.op = op_write, .mode = GORT_WRITE, .full = true, .buf = (void *)buf,
	            .total = n};
	return fdio(fd, &rq);
}

/* MSG_WAITALL on a stream socket: the kernel honours it only while the
 * call may block, and the runtime's fd is non-blocking, so the request
 * goes on until n bytes, the end of the stream or an error, as a
 * blocking recv(2) does (a peek is left to the kernel: it would read the
 * same bytes again). A datagram socket returns one datagram. */
static bool waitall(int fd, int flags)
{
	if ((flags & (MSG_WAITALL | MSG_PEEK | MSG_DONTWAIT)) != MSG_WAITALL)
		return false;
	int type = 0;
	socklen_t len = sizeof type;
	int e = errno;
	bool stream = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	              type == SOCK_STREAM;
	errno = e;
	return stream;
}

/* recv(2)'s flags that change what a receive may do:
 *  - MSG_ERRQUEUE reads the socket's error queue, which never waits
 *    (EAGAIN when it is empty, whatever the fd's mode) and is no part of
 *    the data readers take turns for: one plain attempt (errqueue_recv).
 *  - MSG_TRUNC on a stream socket discards the bytes instead of copying
 *    them, and takes a NULL buffer (tcp(7)): the kernel checks the
 *    buffer then. */
static bool recv_badbuf(const void *buf, size_t n, int flags)
{
	return !(flags & MSG_TRUNC) && badbuf(buf, n);
}

static ssize_t errqueue_recv(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                             socklen_t *addrlen)
{
	ssize_t r;
	do
		r = recvfrom(fd, buf, n, flags | MSG_DONTWAIT, addr, addrlen);
	while (r < 0 && errno == EINTR);
	return r;
}

GORT_API ssize_t gort_recv(int fd, void *buf, size_t n, int flags)
{
	if (recv_badbuf(buf, n, flags))
		return -1;
	if (flags & MSG_ERRQUEUE)
		return errqueue_recv(fd, buf, n, flags, NULL, NULL);
	ioreq rq = {.op = op_recv, .mode = GORT_READ, .buf = buf, .n = n, .flags = flags,
	            .nowait = (flags & MSG_DONTWAIT) != 0, .drainhint = flags == 0};
	if (waitall(fd, flags)) {
		rq.full = true;
		rq.total = n;
	}
	return fdio(fd, &rq);
}

GORT_API ssize_t gort_send(int fd, const void *buf, size_t n, int flags)
{
	if (badbuf(buf, n))
		return -1;
	ioreq rq = {.op = op_send, .mode = GORT_WRITE, .full = true, .buf = (void *)buf,
	            .total = n, .flags = flags, .nowait = (flags & MSG_DONTWAIT) != 0};
	return fdio(fd, &rq);
}

GORT_API ssize_t gort_recvfrom(int fd, void *buf, size_t n, int flags,
                               struct sockaddr *addr, socklen_t *addrlen)
{
	if (recv_badbuf(buf, n, flags))
		return -1;
	if (flags & MSG_ERRQUEUE)
		return errqueue_recv(fd, buf, n, flags, addr, addrlen);
	ioreq rq = {.op = op_recvfrom, .mode = GORT_READ, .buf = buf, .n = n, .flags = flags,
	            .addr = addr, .addrlen = addrlen, .nowait = (flags & MSG_DONTWAIT) != 0};
	if (waitall(fd, flags)) {
		rq.full = true;
		rq.total = n;
	}
	return fdio(fd, &rq);
}

GORT_API ssize_t gort_sendto(int fd, const void *buf, size_t n, int flags,
                             const struct sockaddr *addr, socklen_t addrlen)
{
	if (badbuf(buf, n))
		return -1;
	ioreq rq = {.op = op_sendto, .mode = GORT_WRITE, .full = true, .buf = (void *)buf,
	            .total = n, .flags = flags, .caddr = addr, .caddrlen = addrlen,
	            .nowait = (flags & MSG_DONTWAIT) != 0};
	return fdio(fd, &rq);
}

/* Whether iov/iovcnt is unusable (errno set); else *total is the sum of
 * the lengths. */
static bool badiov(const struct iovec *iov, int iovcnt, size_t *total)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX) {
		errno = EINVAL;
		return true;
	}
	if (!iov && iovcnt > 0) {
		errno = EFAULT;
		return true;
	}
	*total = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_base && iov[i].iov_len > 0) {
			errno = EFAULT;
			return true;
		}
		*total += iov[i].iov_len;
	}
	return false;
}

GORT_API ssize_t gort_readv(int fd, const struct iovec *iov, int iovcnt)
{
	size_t n;
	if (badiov(iov, iovcnt, &n))
		return -1;
	ioreq rq = {.op = op_readv, .mode = GORT_READ, .iov = (struct iovec *)iov,
	            .iovcnt = iovcnt, .n = n, .drainhint = true};
	return fdio(fd, &rq);
}

GORT_API ssize_t gort_writev(int fd, const struct iovec *iov, int iovcnt)
{
	size_t total;
	if (badiov(iov, iovcnt, &total))
		return -1;
	enum { IOV_LOCAL = 16 };
	struct iovec local[IOV_LOCAL];
	struct iovec *copy = local;
	if (iovcnt > IOV_LOCAL && !(copy = malloc((size_t)iovcnt * sizeof *copy))) {
		errno = ENOMEM;
		return -1;
	}
	if (iovcnt > 0)
		memcpy(copy, iov, (size_t)iovcnt * sizeof *copy);
	ioreq rq = {.op = op_writev_step, .mode = GORT_WRITE, .full = true, .iov = copy,
	            .iovcnt = iovcnt, .total = total};
	ssize_t r = fdio(fd, &rq);
	if (copy != local) {
		int e = geterrno();
		free(copy);
		seterrno(e);
	}
	return r;
}

static ssize_t op_accept(int fd, ioreq *rq)
{
	for (;;) {
		int r = accept4(fd, rq->addr, rq->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (r >= 0 || errno != ECONNABORTED)
			return r;
	}
}

GORT_API int gort_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	ioreq rq = {.op = op_accept, .mode = GORT_READ, .addr = addr, .addrlen = addrlen};
	return (int)fdio(fd, &rq);
}

/* ---- connect ---- */

/* The outcome of a connect in progress: 0 connected, EINPROGRESS not
 * yet, or the error. Also gort_dial's (net.c). */
int connect_status(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	int soerr = 0;
	socklen_t len = sizeof soerr;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		return errno;
	switch (soerr) {
	case EINPROGRESS:
	case EALREADY:
	case EINTR:
		return EINPROGRESS;
	case EISCONN:
		return 0;
	case 0: {
		/* The poller may wake us early (Go issues 14548, 19289):
		 * connected only if there is a peer. */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
			return EINPROGRESS;
		/* Connected. Until connect is called once more, the socket
		 * stays "connecting" for the kernel, and a program's next
		 * connect would succeed again where connect(2) after a
		 * blocking connect fails with EISCONN: finish it, as a
		 * blocking connect does on waking (0, or the error of a
		 * connection that failed meanwhile). */
		if (connect(fd, addr, addrlen) == 0 || errno == EISCONN)
			return 0;
		return errno;
	}
	default:
		/* Failed. Reading SO_ERROR took the error but left the
		 * socket "connecting" for the kernel, and the program's next
		 * connect would fail with ECONNABORTED, where after a
		 * blocking connect that failed (ECONNREFUSED, say) it tries
		 * afresh: one more connect ends the attempt as the blocking
		 * call does. */
		connect(fd, addr, addrlen);
		return soerr;
	}
}

/* connect's first attempt. EISCONN here is a socket that was connected
 * before the call, an error as for connect(2) (only a retry after EINTR
 * may take it as success, and this one never retries). */
static int connect_start(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	if (connect(fd, addr, addrlen) == 0)
		return 0;
	int e = errno;
	if (e == EINTR || e == EALREADY)
		return EINPROGRESS;
	return e;
}

/* Whether fd is an AF_UNIX socket. */
static bool isunix(int fd)
{
	int dom = 0;
	socklen_t len = sizeof dom;
	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 && dom == AF_UNIX;
}

/* An AF_UNIX listener whose accept queue is full refuses a non-blocking
 * connect with EAGAIN, where a blocking one sleeps until there is room;
 * no poll event announces the room, so the connect is retried after
 * growing pauses (1 ms to 64 ms), as the blocking call would wait.
 * Whether err is that case (unixsock: the fd is an AF_UNIX socket); if so,
 * *pause has been slept and grown. */
static bool connect_full(bool unixsock, int err, int64_t *pause)
{
	if (err != EAGAIN || !unixsock)
		return false;
	gort_sleep(*pause);
	if (*pause < 64000000)
		*pause *= 2;
	return true;
}

/* A plain thread's connect: the blocking call. */
static int connect_thread(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	int64_t pause = 1000000;
	bool unixsock = isunix(fd);
	int err;
	do {
		err = connect_start(fd, addr, addrlen);
		while (err == EINPROGRESS) {
			if (thread_poll(fd, GORT_WRITE, -1, NULL) < 0) {
				err = errno;
				break;
			}
			err = connect_status(fd, addr, addrlen);
		}
	} while (connect_full(unixsock, err, &pause));
	return err;
}

/* One connect system call (connect_start, connect_status) of a
 * goroutine on its registered fd, in flight (pd_enter): 0 or the errno. */
static int connect_step(int (*step)(int, const struct sockaddr *, socklen_t), pollDesc *pd,
                        uint32_t seq, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	if (!pd_enter(pd, seq))
		return EBADF;
	int err = step(fd, addr, addrlen);
	pd_leave(pd);
	return err;
}

/* A goroutine's connect on a registered fd, under wsema. Every attempt
 * after a pause on a full AF_UNIX listener checks the sequence number
 * taken when the call began, as any wake-up does: an fd closed with
 * gort_close during the pause fails with EBADF, and the connect never
 * reaches a later socket that got the same number. A write deadline
 * ends it the same way. Whether the fd is AF_UNIX is asked once, in
 * flight: asked after an attempt, it would ask a number that a close
 * may have freed meanwhile, and a connect so closed would end with the
 * attempt's EAGAIN instead of EBADF. */
static int connect_poll(pollDesc *pd, uint32_t seq, int fd, const struct sockaddr *addr,
                        socklen_t addrlen)
{
	int64_t pause = 1000000;
	bool unixsock = false;
	if (pd_enter(pd, seq)) {
		unixsock = isunix(fd);
		pd_leave(pd);
	}
	int err;
	netpollreset(pd, GORT_WRITE);
	do {
		err = netpollcheckerr(pd, GORT_WRITE, seq);
		if (!err)
			err = connect_step(connect_start, pd, seq, fd, addr, addrlen);
		while (err == EINPROGRESS) {
			if ((err = netpollwait(pd, GORT_WRITE, seq, NULL)) != 0)
				break;
			err = connect_step(connect_status, pd, seq, fd, addr, addrlen);
		}
	} while (connect_full(unixsock, err, &pause));
	return err;
}

GORT_API int gort_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	g *gp = rt_enter();
	int err;
	if (!gp) {
		err = connect_thread(fd, addr, addrlen);
		if (err) {
			errno = err;
			return -1;
		}
		return 0;
	}
	pollDesc *pd;
	uint32_t seq;
	int st = pd_open(fd, &pd, &seq);
	if (st < 0) {
		err = -st;
	} else if (st == PD_FILE) {
		err = connect_start(fd, addr, addrlen); /* not a socket: fails */
	} else {
		semacquire(&pd->wsema, waitReasonIOWait);
		err = connect_poll(pd, seq, fd, addr, addrlen);
		semrelease(&pd->wsema);
	}
	rt_exit(gp);
	if (err) {
		seterrno(err);
		return -1;
	}
	return 0;
}

/* ---- waiting, deadlines, close ---- */

/* gort_fd_wait's own deadline: a timer on the waiter's stack. */
typedef struct fdwaittimer {
	timer t;
	pollDesc *pd;
	int mode;
	_Atomic uint32_t cancel;
} fdwaittimer;

static void fdwait_fire(void *arg, int64_t now)
{
	(void)now;
	fdwaittimer *w = arg;
	atomic_store(&w->cancel, 1);
	g *gp = netpollunblock(w->pd, w->mode, false);
	/* Last touch of w: the waiter may return once it sees this. */
	atomic_store_explicit(&w->t.firing, 0, memory_order_release);
	if (gp)
		goready(gp);
}

/* readynow's answer as the API gives it: the ready events, 0 for none,
 * or -1 with errno. */
static int readynow_api(int fd, int events)
{
	int got = readynow(fd, events);
	if (got < 0) {
		errno = -got;
		return -1;
	}
	return got;
}

static int fd_wait_thread(int fd, int events, int64_t deadline)
{
	for (;;) {
		int ms = -1;
		if (deadline > 0) {
			int64_t left = deadline - nanotime();
			if (left <= 0) {
				int got = readynow_api(fd, events);
				if (got != 0)
					return got;
				errno = ETIMEDOUT;
				return -1;
			}
			int64_t l = (left + 999999) / 1000000;
			ms = l > INT_MAX ? INT_MAX : (int)l;
		}
		short re = 0;
		if (thread_poll(fd, events, ms, &re) < 0)
			return -1;
		if (re & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		int got = readynow_api(fd, events);
		if (got != 0)
			return got;
	}
}

/* The argument check of gort_fd_wait and gort_set_deadline: 0, or -1
 * with errno. */
static int check_fd_events(int fd, int events)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (events == 0 || (events & ~(GORT_READ | GORT_WRITE))) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Take the fd's turn (its semaphores) for gort_fd_wait's events: true
 * once held. Only a wait with no deadline for one direction queues for a
 * turn that another call holds: the other call (a read parked on the
 * fd) consumes what the wait would have seen. A wait with a deadline
 * must not queue past it (the semaphores have no timeout, and a hooked
 * poll's timeout must hold), and a wait for both directions must see the
 * direction nobody holds become ready (poll(2) on a socket that another
 * goroutine reads reports it writable). Those look at the fd every
 * millisecond until the turn is free, and return false with what they
 * saw, *got ready events or *errp (the deadline, the fd's own, a
 * close). */
static bool fdwait_turn(pollDesc *pd, uint32_t seq, int fd, int events, int64_t deadline,
                        int *got, int *errp)
{
	if (deadline == 0 && events != (GORT_READ | GORT_WRITE)) {
		semacquire(events == GORT_READ ? &pd->rsema : &pd->wsema, waitReasonIOWait);
		return true;
	}
	for (;;) {
		if (!(events & GORT_READ) || cansemacquire(&pd->rsema)) {
			if (!(events & GORT_WRITE) || cansemacquire(&pd->wsema))
				return true;
			if (events & GORT_READ)
				semrelease(&pd->rsema);
		}
		if ((*errp = netpollcheckerr(pd, events, seq)) != 0)
			return false;
		int n = readynow_pd(pd, seq, fd, events);
		if (n < 0) {
			*errp = -n;
			return false;
		}
		if (n > 0) {
			*got = n;
			return false;
		}
		int64_t left = deadline == 0 ? INT64_MAX : deadline - nanotime();
		if (left <= 0) {
			*errp = ETIMEDOUT;
			return false;
		}
		gort_sleep(left < 1000000 ? left : 1000000);
	}
}

GORT_API int gort_fd_wait(int fd, int events, int64_t deadline)
{
	if (check_fd_events(fd, events) != 0)
		return -1;
	if (deadline < 0)
		deadline = 1; /* long passed, as gort_set_deadline's */
	g *gp = rt_enter();
	if (!gp)
		return fd_wait_thread(fd, events, deadline);
	int err = 0, got = 0;
	pollDesc *pd;
	uint32_t seq;
	int st = pd_open(fd, &pd, &seq);
	if (st < 0) {
		err = -st;
	} else if (st == PD_FILE) {
		got = events; /* always ready, as poll(2) says of files */
	} else if (fdwait_turn(pd, seq, fd, events, deadline, &got, &err)) {
		int mode = (events & GORT_READ) ? GORT_READ : GORT_WRITE;
		bool both = events == (GORT_READ | GORT_WRITE);
		/* It consumes read edges and its caller reads on its own. */
		if (events & GORT_READ)
			atomic_store_explicit(&pd->rdrained, 0, memory_order_relaxed);
		if (both)
			atomic_store(&pd->wakeboth, 1);
		fdwaittimer w = {.t = {.f = fdwait_fire, .idx = -1}, .pd = pd, .mode = mode};
		w.t.arg = &w;
		bool armed = false;
		for (;;) {
			if ((err = netpollcheckerr(pd, events, seq)) != 0)
				break;
			netpollreset(pd, mode);
			got = readynow_pd(pd, seq, fd, events);
			if (got < 0) {
				err = -got;
				break;
			}
			if (got)
				break;
			if (deadline > 0 && !armed) {
				if (deadline <= nanotime()) {
					err = ETIMEDOUT;
					break;
				}
				w.t.when = deadline;
				if (!addtimer(getm(), &w.t))
					throw("out of memory (fd_wait timer)");
				armed = true;
			}
			/* events, not mode: for both directions the errors of
			 * both (a write deadline) end the wait in rg. */
			if ((err = netpollwait(pd, events, seq, deadline > 0 ? &w.cancel : NULL)) != 0) {
				if (err == ETIMEDOUT && atomic_load(&w.cancel)) {
					/* Ready at the last moment still counts. */
					int last = readynow_pd(pd, seq, fd, events);
					if (last > 0) {
						got = last;
						err = 0;
					}
				}
				break;
			}
		}
		if (armed && !deltimer(&w.t))
			while (atomic_load_explicit(&w.t.firing, memory_order_acquire))
				osyield();
		if (both)
			atomic_store(&pd->wakeboth, 0);
		if (events & GORT_WRITE)
			semrelease(&pd->wsema);
		if (events & GORT_READ)
			semrelease(&pd->rsema);
	}
	rt_exit(gp);
	if (err) {
		seterrno(err);
		return -1;
	}
	return got;
}

/* rt_enter_up, with errno EAGAIN when no run is up. */
static bool enter_running(g **gpp)
{
	if (rt_enter_up(gpp))
		return true;
	errno = EAGAIN;
	return false;
}

GORT_API int gort_set_deadline(int fd, int events, int64_t deadline)
{
	if (check_fd_events(fd, events) != 0)
		return -1;
	if (deadline < 0)
		deadline = -1; /* long passed */
	g *gp;
	if (!enter_running(&gp))
		return -1;
	int err = 0;
	pollDesc *pd;
	uint32_t seq;
	int st = pd_open(fd, &pd, &seq);
	if (st < 0)
		err = -st;
	else if (st == PD_FILE)
		err = ENOTSUP;
	else
		err = netpollsetdeadline(pd, events, deadline, seq);
	rt_exit_wait(gp);
	if (err) {
		seterrno(err);
		return -1;
	}
	return 0;
}

/* The checks of gort_fd_setblocking: 0, or the errno. A connected TCP
 * socket is the one whose every runtime call has a non-blocking form:
 * accept and connect have none, and a pipe's read and write neither. */
static int setblocking_check(int fd)
{
	int proto = 0;
	socklen_t len = sizeof proto;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0)
		return errno;
	if (proto != IPPROTO_TCP)
		return EOPNOTSUPP;
	struct sockaddr_storage ss;
	len = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return errno; /* ENOTCONN: listening, or not connected yet */
	return 0;
}

/* Clear O_NONBLOCK on a registered fd's file, unless it was closed
 * meanwhile (the number may name a new file by now). */
static int clear_nonblock(pollDesc *pd, uint32_t seq, int fd)
{
	if (!pd_enter(pd, seq))
		return EBADF;
	int err = 0;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0))
		err = errno;
	pd_leave(pd);
	return err;
}

GORT_API int gort_fd_setblocking(int fd)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	int err = setblocking_check(fd);
	if (err) {
		errno = err;
		return -1;
	}
	g *gp;
	if (!enter_running(&gp))
		return -1;
	pollDesc *pd;
	uint32_t seq;
	int st = pd_open(fd, &pd, &seq);
	err = st < 0 ? -st : clear_nonblock(pd, seq, fd);
	rt_exit_wait(gp);
	if (err) {
		seterrno(err);
		return -1;
	}
	return 0;
}

/* Close fd, or replace it with a copy of src (src >= 0): netpollclose
 * where the runtime may know fd, the plain system call where it cannot
 * (before gort_main, after it returned). */
static int fd_retire(int fd, int src, int flags)
{
	g *gp = rt_enter();
	int r; /* 0 or -errno */
	if (gp) {
		r = netpollclose(fd, src, flags, gp);
	} else {
		foreign_enter();
		if (atomic_load(&runtime_running) == RUNTIME_UP)
			r = netpollclose(fd, src, flags, NULL);
		else
			r = sysclose(fd, src, flags);
		foreign_exit();
	}
	rt_exit(gp);
	return r;
}

GORT_API int gort_close(int fd)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	int r = fd_retire(fd, -1, 0);
	if (r == 0 || r == -EINTR) /* EINTR: Linux has released the fd anyway */
		return 0;
	seterrno(-r);
	return -1;
}

/* dup3's own errors come first, so that a call that fails leaves fd2 and
 * its waiters alone: a bad fd or flags, fd2 out of the process's range.
 * Past them only a close racing with the call (EBADF) or the kernel's
 * EBUSY can fail it, after fd2's waiters were woken. */
GORT_API int gort_dup3(int fd, int fd2, int flags)
{
	struct rlimit rl;
	if (flags & ~O_CLOEXEC || fd == fd2) {
		errno = EINVAL;
		return -1;
	}
	if (fd < 0 || fd2 < 0 || fcntl(fd, F_GETFD) < 0 ||
	    (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)fd2 >= rl.rlim_cur)) {
		errno = EBADF;
		return -1;
	}
	int r = fd_retire(fd2, fd, flags);
	if (r < 0) {
		seterrno(-r);
		return -1;
	}
	return fd2;
}

GORT_API int gort_dup2(int fd, int fd2)
{
	if (fd == fd2) /* dup2 checks fd and changes nothing */
		return fcntl(fd, F_GETFD) < 0 ? -1 : fd2;
	return gort_dup3(fd, fd2, 0);
}
