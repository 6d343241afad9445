/*
 * hook.c - libgort_hook.so: unmodified blocking code inside goroutines.
 *
 * An opt-in interposition library, used with LD_PRELOAD or by linking it
 * (before libc) into a program that uses the runtime as libgort.so. It
 * defines libc's names; a call made by a goroutine goes to the runtime,
 * every other call is the libc function itself (dlsym(RTLD_NEXT)).
 *
 * Routed through the netpoller and the timers (the goroutine parks, its M
 * runs other goroutines):
 *   read, write, readv, writev, recv, send, recvfrom, sendto
 *                       -> gort_read, gort_write, ... (writes complete
 *                          partial writes, as a blocking write does)
 *   accept, accept4     -> gort_accept, then the flags the caller asked for
 *   connect             -> gort_connect
 *   poll                -> gort_fd_wait (see "poll" below)
 *   sleep, usleep, nanosleep, clock_nanosleep
 *                       -> gort_sleep
 * Bracketed with the syscall hand-off (gort_entersyscall/exitsyscall: a
 * call that lasts costs its M, not its P):
 *   open, open64, openat, openat64 (a FIFO blocks in open), pread,
 *   pwrite, pread64, pwrite64, fsync, fdatasync, flock, fcntl F_SETLKW / F_OFD_SETLKW,
 *   select, pselect, ppoll, epoll_wait, epoll_pwait, wait, waitpid,
 *   getaddrinfo, and poll in the cases the netpoller cannot serve.
 * Kept consistent with the above:
 *   close               -> gort_close (the runtime forgets the fd; from
 *                          any thread, so a later fd with the same
 *                          number starts afresh)
 *   fcntl, fcntl64      F_GETFL / F_SETFL show and set the program's own
 *                       view of O_NONBLOCK (below)
 *
 * Who is a goroutine. A call is routed when gort_goid() != 0 (a
 * goroutine is running on this thread) and the call does not come from
 * the runtime itself. libgort.so calls read, write, poll, nanosleep, ...
 * by name, so with this library in front those calls reach the hooks
 * too, and routing them would recurse (gort_read -> read -> gort_read).
 * The hooks tell them apart by their return address: a call whose
 * caller lies in the text of the object that defines gort_goid is the
 * runtime's own and goes straight to libc. The runtime is unchanged
 * (sanitizer interceptors keep seeing its calls in builds without the
 * hook).
 *
 * The library stays a plain pass-through (every hook is the libc call)
 * when it cannot make that distinction:
 *  - the runtime is linked statically (libgort.a) into the program: the
 *    object that defines gort_goid is then the program itself. (Loaded
 *    with LD_PRELOAD beside a static runtime, the hook sees libgort.so's
 *    own copy, which never runs goroutines: gort_goid() is 0.)
 *  - another library interposes the same names in front of this one
 *    (the interceptors of AddressSanitizer and ThreadSanitizer): the
 *    runtime's calls then arrive through the interceptor, and their
 *    return address no longer shows who made them.
 *
 * Blocking or not. The runtime sets O_NONBLOCK on an fd at its first use
 * by a goroutine. The hook keeps the program's own view apart: on the
 * first routed call on an fd it records whether the program had made it
 * non-blocking (F_GETFL). Calls on an fd the program made non-blocking
 * are the plain libc calls (EAGAIN comes back); calls on a blocking one
 * park. fcntl F_GETFL reports the program's view, F_SETFL records it
 * (O_NONBLOCK stays set on the file while the runtime uses it). A plain
 * thread's call on an fd that the runtime has made non-blocking behind
 * the program's back blocks as before (the gort_* call waits with
 * poll(2) on the thread); on any other fd a plain thread's call is the
 * libc call.
 *
 * poll. A goroutine's poll with a timeout first polls without waiting.
 * If nothing is ready: with one fd and events that are reading or
 * writing (POLLIN, POLLRDNORM, POLLRDHUP, POLLOUT, POLLWRNORM), it parks
 * in gort_fd_wait on that fd; otherwise (several fds, POLLPRI, ...) it
 * builds a private epoll set of the fds (level-triggered, the same
 * events) and parks in gort_fd_wait on the epoll fd, which is readable
 * while any of them is ready. After each wake-up a poll without waiting
 * computes revents exactly, so the result is poll(2)'s own; a wake-up
 * that finds nothing ready parks again until the timeout. If the epoll
 * set cannot be built, the poll runs on the thread under the hand-off.
 * No fds: a sleep.
 *
 * Limits:
 *  - Only calls that reach the hooks by symbol are routed. glibc's own
 *    functions call their internal aliases: stdio (fread, fgets, printf
 *    on a pipe or socket), system(), getaddrinfo's own I/O, ... block
 *    the M as before (getaddrinfo as a whole is under the hand-off).
 *  - An fd closed without the hook (fclose of an fdopen'ed stream,
 *    dup2 onto it, a raw syscall) leaves the runtime and the hook with a
 *    stale record for its number. gort_close called directly is one of
 *    these for the hook (it forgets the fd for the runtime only): a
 *    later fd with that number keeps the old fd's view of O_NONBLOCK
 *    (F_GETFL hides the O_NONBLOCK of a new non-blocking fd, and reads
 *    on it park instead of failing with EAGAIN). With the hook, close
 *    such fds with close(), which goes to gort_close.
 *  - O_NONBLOCK belongs to the open file description: it is set for dups
 *    of the fd and for other processes sharing it, and calls the library
 *    does not hook (recvmsg, sendmsg, sendfile, splice, ioctl FIONBIO,
 *    ...) see the fd non-blocking once a goroutine has used it.
 *  - One goroutine at a time waits in each direction of an fd (gort.h);
 *    a poll on an fd another goroutine is reading from waits its turn.
 *  - select, ppoll, epoll_wait and multi-fd poll fallbacks each hold an
 *    M while they wait.
 *  - clock_nanosleep with TIMER_ABSTIME on CLOCK_REALTIME converts the
 *    time once: a clock change during the sleep is not followed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

#define HOOK __attribute__((visibility("default")))
#define CALLER() __builtin_return_address(0)

/* ---- the libc functions ---- */

#define REALS(X)                                                          \
	X(read) X(write) X(readv) X(writev) X(recv) X(send) X(recvfrom)   \
	X(sendto) X(accept) X(accept4) X(connect) X(poll) X(sleep)        \
	X(usleep) X(nanosleep) X(clock_nanosleep) X(close) X(fcntl)       \
	X(fcntl64) X(open) X(open64) X(openat) X(openat64) X(pread)       \
	X(pwrite) X(pread64) X(pwrite64) X(fsync) X(fdatasync) X(flock) X(select) X(pselect)     \
	X(ppoll) X(epoll_wait) X(epoll_pwait) X(wait) X(waitpid)          \
	X(getaddrinfo)

int fcntl64(int fd, int cmd, ...);

#define X(name) static __typeof__(&name) real_##name;
REALS(X)
#undef X

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool active; /* routing is possible (see the file comment) */

/* The runtime's text: calls from there go straight to libc. */
enum { MAXSEG = 8 };
static uintptr_t seglo[MAXSEG], seghi[MAXSEG];
static int nseg;

struct findrt {
	uintptr_t addr; /* gort_goid */
	bool found, main;
};

static int findrt_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct findrt *f = arg;
	bool mine = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->addr >= lo && f->addr < lo + ph->p_memsz)
			mine = true;
	}
	if (!mine)
		return 0;
	f->found = true;
	f->main = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
	for (int i = 0; i < info->dlpi_phnum && nseg < MAXSEG; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			seglo[nseg] = info->dlpi_addr + ph->p_vaddr;
			seghi[nseg] = seglo[nseg] + ph->p_memsz;
			nseg++;
		}
	}
	return 1;
}

static void *resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char msg[] = "libgort_hook: a libc function is missing\n";
		if (write(2, msg, sizeof msg - 1) < 0)
			abort();
		abort();
	}
	return p;
}

static void init_once(void)
{
#define X(name) real_##name = (__typeof__(&name))resolve(#name);
	REALS(X)
#undef X
	/* Is anybody in front of us? (Within this library, &read would be
	 * the interposed address too: compare the objects instead.) */
	Dl_info self, other;
	bool front = dladdr((void *)&init_once, &self) != 0;
#define X(name)                                                           \
	front = front && dladdr(dlsym(RTLD_DEFAULT, #name), &other) != 0 && \
	        other.dli_fbase == self.dli_fbase;
	REALS(X)
#undef X
	struct findrt f = {.addr = (uintptr_t)(void *)&gort_goid};
	dl_iterate_phdr(findrt_cb, &f);
	active = front && f.found && !f.main && nseg > 0;
}

static inline void init(void)
{
	pthread_once(&once, init_once);
}

static bool fromruntime(const void *ra)
{
	uintptr_t a = (uintptr_t)ra;
	for (int i = 0; i < nseg; i++)
		if (a >= seglo[i] && a < seghi[i])
			return true;
	return false;
}

/* Whether a call from return address ra is a goroutine's own. */
static inline bool goroutine(const void *ra)
{
	init();
	return active && !fromruntime(ra) && gort_goid() != 0;
}

/* Whether hooks are routing at all and ra is not the runtime. */
static inline bool userland(const void *ra)
{
	init();
	return active && !fromruntime(ra);
}

/* ---- the program's view of O_NONBLOCK, per fd ---- */

enum { FD_UNKNOWN = 0, FD_BLOCKING = 1, FD_NONBLOCK = 2 };
enum { FDCHUNK = 4096, FDL1 = 1024 }; /* 4M fds */
static _Atomic(_Atomic uint8_t *) fdtab[FDL1];

static _Atomic uint8_t *fdslot(int fd, bool create)
{
	if (fd < 0 || fd / FDCHUNK >= FDL1)
		return NULL;
	_Atomic(_Atomic uint8_t *) *l1 = &fdtab[fd / FDCHUNK];
	_Atomic uint8_t *c = atomic_load_explicit(l1, memory_order_acquire);
	if (!c && create) {
		_Atomic uint8_t *n = calloc(FDCHUNK, sizeof *n);
		if (!n)
			return NULL;
		if (atomic_compare_exchange_strong(l1, &c, n))
			c = n;
		else
			free(n);
	}
	return c ? &c[fd % FDCHUNK] : NULL;
}

static int fdview(int fd)
{
	_Atomic uint8_t *s = fdslot(fd, false);
	return s ? atomic_load_explicit(s, memory_order_relaxed) : FD_UNKNOWN;
}

static void fdset(int fd, int view)
{
	_Atomic uint8_t *s = fdslot(fd, view != FD_UNKNOWN);
	if (s)
		atomic_store_explicit(s, (uint8_t)view, memory_order_relaxed);
}

/* The program's view of fd, recorded before the runtime touches it:
 * FD_BLOCKING, FD_NONBLOCK, or -1 (bad fd, or no room to record it). */
static int fdtrack(int fd)
{
	_Atomic uint8_t *s = fdslot(fd, true);
	if (!s)
		return -1;
	int v = atomic_load_explicit(s, memory_order_relaxed);
	if (v != FD_UNKNOWN)
		return v;
	int e = errno;
	int fl = real_fcntl(fd, F_GETFL);
	if (fl < 0) {
		errno = e;
		return -1;
	}
	uint8_t want = (fl & O_NONBLOCK) ? FD_NONBLOCK : FD_BLOCKING;
	uint8_t z = FD_UNKNOWN;
	if (!atomic_compare_exchange_strong(s, &z, want))
		return z;
	return want;
}

/* How a call on fd from return address ra goes. */
enum { VIA_LIBC, VIA_GORT, VIA_HANDOFF };

static int fdroute(int fd, const void *ra)
{
	if (!userland(ra))
		return VIA_LIBC;
	if (gort_goid() == 0) /* a plain thread */
		return fdview(fd) == FD_BLOCKING ? VIA_GORT : VIA_LIBC;
	switch (fdtrack(fd)) {
	case FD_BLOCKING:
		return VIA_GORT;
	case FD_NONBLOCK:
		return VIA_LIBC;
	default:
		return VIA_HANDOFF;
	}
}

/* The call between gort_entersyscall and gort_exitsyscall, which keep
 * its errno for the thread the goroutine goes on on. Saving errno here
 * would not do: the goroutine may go on on another thread, and the
 * compiler may keep the address of the first thread's errno across the
 * call (__errno_location is a const function). */
#define HANDOFF(type, call)                     \
	do {                                    \
		gort_entersyscall();            \
		type r_ = (call);               \
		gort_exitsyscall();             \
		return r_;                      \
	} while (0)

/* ---- read and write ---- */

HOOK ssize_t read(int fd, void *buf, size_t n)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_read(fd, buf, n);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_read(fd, buf, n));
	default:
		return real_read(fd, buf, n);
	}
}

HOOK ssize_t write(int fd, const void *buf, size_t n)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_write(fd, buf, n);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_write(fd, buf, n));
	default:
		return real_write(fd, buf, n);
	}
}

HOOK ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_readv(fd, iov, iovcnt);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_readv(fd, iov, iovcnt));
	default:
		return real_readv(fd, iov, iovcnt);
	}
}

HOOK ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_writev(fd, iov, iovcnt);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_writev(fd, iov, iovcnt));
	default:
		return real_writev(fd, iov, iovcnt);
	}
}

HOOK ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_recv(fd, buf, n, flags);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_recv(fd, buf, n, flags));
	default:
		return real_recv(fd, buf, n, flags);
	}
}

HOOK ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_send(fd, buf, n, flags);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_send(fd, buf, n, flags));
	default:
		return real_send(fd, buf, n, flags);
	}
}

HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                      socklen_t *addrlen)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_recvfrom(fd, buf, n, flags, addr, addrlen);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_recvfrom(fd, buf, n, flags, addr, addrlen));
	default:
		return real_recvfrom(fd, buf, n, flags, addr, addrlen);
	}
}

HOOK ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                    const struct sockaddr *addr, socklen_t addrlen)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_sendto(fd, buf, n, flags, addr, addrlen);
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_sendto(fd, buf, n, flags, addr, addrlen));
	default:
		return real_sendto(fd, buf, n, flags, addr, addrlen);
	}
}

/* ---- accept and connect ---- */

/* A plain thread on a listening fd the runtime made non-blocking. */
static int accept_thread(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	for (;;) {
		int r = real_accept4(fd, addr, addrlen, flags);
		if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return r;
		if (gort_fd_wait(fd, GORT_READ, 0) < 0)
			return -1;
	}
}

static int accept_common(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags,
                         const void *ra)
{
	int how = fdroute(fd, ra);
	if (how == VIA_LIBC)
		return real_accept4(fd, addr, addrlen, flags);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	if (how == VIA_HANDOFF)
		HANDOFF(int, real_accept4(fd, addr, addrlen, flags));
	if (gort_goid() == 0)
		return accept_thread(fd, addr, addrlen, flags);
	int nfd = gort_accept(fd, addr, addrlen); /* non-blocking, close-on-exec */
	if (nfd < 0)
		return -1;
	int e = errno;
	if (!(flags & SOCK_CLOEXEC))
		real_fcntl(nfd, F_SETFD, 0);
	fdset(nfd, (flags & SOCK_NONBLOCK) ? FD_NONBLOCK : FD_BLOCKING);
	errno = e;
	return nfd;
}

HOOK int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	return accept_common(fd, addr, addrlen, 0, CALLER());
}

HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	return accept_common(fd, addr, addrlen, flags, CALLER());
}

HOOK int connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_GORT:
		return gort_connect(fd, addr, addrlen);
	case VIA_HANDOFF:
		HANDOFF(int, real_connect(fd, addr, addrlen));
	default:
		return real_connect(fd, addr, addrlen);
	}
}

/* ---- close and fcntl ---- */

HOOK int close(int fd)
{
	if (!userland(CALLER()))
		return real_close(fd);
	fdset(fd, FD_UNKNOWN);
	return gort_close(fd);
}

static int fcntl_common(int fd, int cmd, void *arg, const void *ra)
{
	if (!userland(ra))
		return real_fcntl(fd, cmd, arg);
	switch (cmd) {
	case F_GETFL: {
		int r = real_fcntl(fd, F_GETFL);
		if (r >= 0 && fdview(fd) == FD_BLOCKING)
			r &= ~O_NONBLOCK;
		return r;
	}
	case F_SETFL: {
		int want = (int)(intptr_t)arg;
		int view = fdview(fd);
		if (view == FD_UNKNOWN)
			return real_fcntl(fd, F_SETFL, want);
		int cur = real_fcntl(fd, F_GETFL);
		if (cur < 0)
			return -1;
		int r = real_fcntl(fd, F_SETFL, want | (cur & O_NONBLOCK));
		if (r == 0)
			fdset(fd, (want & O_NONBLOCK) ? FD_NONBLOCK : FD_BLOCKING);
		return r;
	}
	case F_SETLKW:
	case F_OFD_SETLKW:
		if (gort_goid() != 0)
			HANDOFF(int, real_fcntl(fd, cmd, arg));
		return real_fcntl(fd, cmd, arg);
	default:
		return real_fcntl(fd, cmd, arg);
	}
}

/* fcntl's third argument is an int or a pointer; glibc reads it as a
 * pointer too. */
HOOK int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, CALLER());
}

HOOK int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg, CALLER());
}

/* ---- poll ---- */

/* gort_fd_wait events for poll events, 0 if they are not only reading
 * and writing. */
static int pollwant(short events)
{
	const short rd = POLLIN | POLLRDNORM, wr = POLLOUT | POLLWRNORM;
	if (events & ~(rd | wr | POLLRDHUP))
		return 0;
	if ((events & POLLRDHUP) && !(events & rd))
		return 0; /* gort_fd_wait would wake for data as well */
	return ((events & rd) ? GORT_READ : 0) | ((events & wr) ? GORT_WRITE : 0);
}

/* Milliseconds left until deadline, rounded up, for a poll(2) fallback. */
static int msleft(int64_t deadline)
{
	if (deadline == 0)
		return -1;
	int64_t left = deadline - gort_nanotime();
	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static int poll_handoff(struct pollfd *fds, nfds_t nfds, int64_t deadline)
{
	HANDOFF(int, real_poll(fds, nfds, msleft(deadline)));
}

/* Wait on waitfd (an fd of fds, or an epoll set of them) until fds have
 * something to report or the deadline passes. */
static int poll_park(struct pollfd *fds, nfds_t nfds, int waitfd, int want, int64_t deadline,
                     int e0)
{
	for (;;) {
		int w = gort_fd_wait(waitfd, want, deadline);
		int we = errno;
		int r = real_poll(fds, nfds, 0);
		if (r != 0)
			return r;
		if (w < 0) {
			if (we == ETIMEDOUT) {
				errno = e0;
				return 0;
			}
			return poll_handoff(fds, nfds, deadline);
		}
	}
}

static int poll_epoll(struct pollfd *fds, nfds_t nfds, int64_t deadline, int e0)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return poll_handoff(fds, nfds, deadline);
	for (nfds_t i = 0; i < nfds; i++) {
		if (fds[i].fd < 0)
			continue;
		struct epoll_event ev = {.events = (uint16_t)fds[i].events};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i].fd, &ev) == 0)
			continue;
		if (errno == EEXIST) { /* the same fd twice: the union */
			for (nfds_t j = 0; j < i; j++)
				if (fds[j].fd == fds[i].fd)
					ev.events |= (uint16_t)fds[j].events;
			if (epoll_ctl(ep, EPOLL_CTL_MOD, fds[i].fd, &ev) == 0)
				continue;
		}
		real_close(ep);
		return poll_handoff(fds, nfds, deadline);
	}
	int r = poll_park(fds, nfds, ep, GORT_READ, deadline, e0);
	int e = errno;
	gort_close(ep);
	errno = e;
	return r;
}

HOOK int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	/* NULL fds with nfds > 0: poll(2)'s EFAULT, before anything reads them. */
	if (!goroutine(CALLER()) || timeout == 0 || (!fds && nfds > 0))
		return real_poll(fds, nfds, timeout);
	int e0 = errno;
	int64_t deadline = timeout < 0 ? 0 : gort_nanotime() + (int64_t)timeout * 1000000;
	nfds_t nact = 0, last = 0;
	for (nfds_t i = 0; i < nfds; i++)
		if (fds[i].fd >= 0) {
			nact++;
			last = i;
		}
	if (nact == 0) {
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = 0;
		if (timeout > 0)
			gort_sleep((int64_t)timeout * 1000000);
		else
			for (;;)
				gort_sleep(INT64_MAX / 2);
		return 0;
	}
	int r = real_poll(fds, nfds, 0);
	if (r != 0)
		return r;
	int want = nact == 1 ? pollwant(fds[last].events) : 0;
	if (want && fdtrack(fds[last].fd) > 0)
		return poll_park(fds, nfds, fds[last].fd, want, deadline, e0);
	return poll_epoll(fds, nfds, deadline, e0);
}

/* ---- sleeping ---- */

HOOK unsigned int sleep(unsigned int seconds)
{
	if (!goroutine(CALLER()))
		return real_sleep(seconds);
	gort_sleep((int64_t)seconds * 1000000000);
	return 0;
}

HOOK int usleep(useconds_t us)
{
	if (!goroutine(CALLER()))
		return real_usleep(us);
	gort_sleep((int64_t)us * 1000);
	return 0;
}

static bool badtime(const struct timespec *ts)
{
	return ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000;
}

static int64_t tsns(const struct timespec *ts)
{
	if (ts->tv_sec >= INT64_MAX / 1000000000 - 1)
		return INT64_MAX / 2;
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

HOOK int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (!goroutine(CALLER()) || !req)
		return real_nanosleep(req, rem);
	if (badtime(req)) {
		errno = EINVAL;
		return -1;
	}
	gort_sleep(tsns(req));
	return 0;
}

HOOK int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                         struct timespec *rem)
{
	if (!goroutine(CALLER()) || !req ||
	    (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME))
		return real_clock_nanosleep(clk, flags, req, rem);
	if (badtime(req))
		return EINVAL;
	int64_t ns = tsns(req);
	if (flags & TIMER_ABSTIME) {
		struct timespec now;
		if (clock_gettime(clk, &now) != 0)
			return errno;
		ns -= tsns(&now);
	}
	gort_sleep(ns);
	return 0;
}

/* ---- the syscall hand-off ---- */

#define BRACKET(type, call)                           \
	do {                                          \
		if (goroutine(CALLER()))              \
			HANDOFF(type, call);          \
		return call;                          \
	} while (0)

/* open's mode is read only with O_CREAT or O_TMPFILE, as glibc does. */
#define OPENMODE(flags, mode)                                             \
	do {                                                              \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                  \
			va_list ap;                                       \
			va_start(ap, flags);                              \
			mode = (mode_t)va_arg(ap, unsigned int);          \
			va_end(ap);                                       \
		}                                                         \
	} while (0)

HOOK int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPENMODE(flags, mode);
	BRACKET(int, real_open(path, flags, mode));
}

HOOK int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPENMODE(flags, mode);
	BRACKET(int, real_open64(path, flags, mode));
}

HOOK int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPENMODE(flags, mode);
	BRACKET(int, real_openat(dirfd, path, flags, mode));
}

HOOK int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPENMODE(flags, mode);
	BRACKET(int, real_openat64(dirfd, path, flags, mode));
}

HOOK ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	BRACKET(ssize_t, real_pread(fd, buf, n, off));
}

HOOK ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	BRACKET(ssize_t, real_pwrite(fd, buf, n, off));
}

HOOK ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	BRACKET(ssize_t, real_pread64(fd, buf, n, off));
}

HOOK ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	BRACKET(ssize_t, real_pwrite64(fd, buf, n, off));
}

HOOK int fsync(int fd)
{
	BRACKET(int, real_fsync(fd));
}

HOOK int fdatasync(int fd)
{
	BRACKET(int, real_fdatasync(fd));
}

HOOK int flock(int fd, int op)
{
	BRACKET(int, real_flock(fd, op));
}

HOOK int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
	BRACKET(int, real_select(nfds, r, w, x, tv));
}

HOOK int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                 const sigset_t *mask)
{
	BRACKET(int, real_pselect(nfds, r, w, x, ts, mask));
}

HOOK int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
               const sigset_t *mask)
{
	BRACKET(int, real_ppoll(fds, nfds, ts, mask));
}

HOOK int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	BRACKET(int, real_epoll_wait(epfd, evs, max, timeout));
}

HOOK int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
                     const sigset_t *mask)
{
	BRACKET(int, real_epoll_pwait(epfd, evs, max, timeout, mask));
}

HOOK pid_t wait(int *status)
{
	BRACKET(pid_t, real_wait(status));
}

HOOK pid_t waitpid(pid_t pid, int *status, int options)
{
	BRACKET(pid_t, real_waitpid(pid, status, options));
}

HOOK int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res)
{
	BRACKET(int, real_getaddrinfo(node, service, hints, res));
}
