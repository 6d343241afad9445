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
 *   and the fortified entry points a program built with _FORTIFY_SOURCE
 *   calls in their place (__read_chk, __recv_chk, __recvfrom_chk,
 *   __poll_chk), after the same size check.
 * errno: a call that succeeds leaves it as it was, as libc's does, also
 * when the goroutine parked and goes on on another thread (errno_get,
 * errno_set).
 * Bracketed with the syscall hand-off (gort_entersyscall/exitsyscall: a
 * call that lasts costs its M, not its P):
 *   open, open64, openat, openat64 (a FIFO blocks in open), pread,
 *   pwrite, pread64, pwrite64, fsync, fdatasync, flock, fcntl F_SETLKW / F_OFD_SETLKW,
 *   select, pselect, ppoll, epoll_wait, epoll_pwait, wait, waitpid,
 *   getaddrinfo, poll in the cases the netpoller cannot serve, and the
 *   fortified __pread_chk, __pread64_chk, __ppoll_chk, __open_2, ...
 * Kept consistent with the above:
 *   close               -> gort_close (the runtime forgets the fd; from
 *                          any thread, so a later fd with the same
 *                          number starts afresh)
 *   close_range, closefrom
 *                       each open fd of the range is closed as by close
 *                       first (not with CLOSE_RANGE_CLOEXEC or _UNSHARE)
 *   fcntl, fcntl64      F_GETFL / F_SETFL show and set the program's own
 *                       view of O_NONBLOCK (below)
 *   dup, dup2, dup3, fcntl F_DUPFD
 *                       the new fd takes the old one's record; dup2 and
 *                       dup3 go to gort_dup2 and gort_dup3 (the runtime
 *                       forgets the fd they replace, as close)
 *   sigaction, signal   the program's handlers run in a wrapper that
 *                       makes every hook libc's inside them (see
 *                       "signal handlers and forked children")
 *   setsockopt          SO_RCVTIMEO / SO_SNDTIMEO are recorded: the
 *                       socket's routed calls end when the timeout
 *                       passes, as the blocking calls do (see "socket
 *                       timeouts"); accept passes them on
 * Every hook is libc's own in a signal handler, in a child forked while
 * the runtime ran, and on an fd the program was started with (a
 * standard stream, a pipe the shell passed on: they stay blocking, their
 * calls go under the hand-off; see "what the hook knows of each fd").
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
 * (O_NONBLOCK stays set on the file while the runtime uses it, but see
 * "blocking files"; an fd the program was started with, which it leaves
 * alone, gets the flags as set). A plain
 * thread's call on an fd that the runtime has made non-blocking behind
 * the program's back blocks as before (the gort_* call waits with
 * poll(2) on the thread); on any other fd a plain thread's call is the
 * libc call.
 *
 * Blocking files. O_NONBLOCK belongs to the open file, which a child
 * process may share: an inetd-style server that accepts in a goroutine
 * and spawns a handler with the socket as its standard input must hand
 * over a blocking socket, or the handler's reads fail with EAGAIN. A
 * connected TCP socket is the one fd the runtime can serve without the
 * flag (its calls pass MSG_DONTWAIT: gort_fd_setblocking), so on one that
 * the program calls blocking the file gets the program's flags: when the
 * runtime first takes it (viagort registers it that way), after accept
 * and connect, and on F_SETFL. A listening socket, a pipe, an AF_UNIX or
 * UDP socket keeps the runtime's O_NONBLOCK while the runtime uses it
 * (gort_fd_setblocking refuses them, and F_SETFL changes the program's
 * view only).
 *
 * poll. A goroutine's poll with a timeout first polls without waiting
 * (which also returns poll(2)'s own errors before the array is read).
 * If nothing is ready: with one fd and events that are reading or
 * writing (POLLIN, POLLRDNORM, POLLRDHUP, POLLOUT, POLLWRNORM), it parks
 * in gort_fd_wait on that fd; otherwise (several fds, POLLPRI, ...) it
 * builds a private epoll set of the fds (level-triggered, the same
 * events) and parks in gort_fd_wait on the epoll fd, which is readable
 * while any of them is ready. After each wake-up a poll without waiting
 * computes revents exactly, so the result is poll(2)'s own; a wake-up
 * that finds nothing ready parks again until the timeout. If the epoll
 * set cannot be built, the poll runs on the thread under the hand-off.
 * No fds: a sleep. A signal does not end a goroutine's poll with EINTR:
 * no thread waits in a parked goroutine's stead, and a look that a
 * signal breaks is taken again (the fallback under the hand-off is
 * poll(2) itself, and returns EINTR as it does).
 *
 * Limits:
 *  - Only calls that reach the hooks by symbol are routed. glibc's own
 *    functions call their internal aliases: stdio (fread, fgets, printf
 *    on a pipe or socket), system(), getaddrinfo's own I/O, ... block
 *    the M as before (getaddrinfo as a whole is under the hand-off).
 *  - An fd closed without the hook (fclose of an fdopen'ed stream, a
 *    raw syscall, close_range without /proc past FD_SETSIZE) leaves the
 *    runtime with a stale record for its number.
 *    gort_close called directly is one of these for the hook (it forgets the fd for the runtime only): a
 *    later fd with that number keeps the old fd's view of O_NONBLOCK
 *    (F_GETFL hides the O_NONBLOCK of a new non-blocking fd, and reads
 *    on it park instead of failing with EAGAIN). With the hook, close
 *    such fds with close(), which goes to gort_close.
 *  - O_NONBLOCK belongs to the open file description: it is set for other
 *    processes sharing it (a forked child too), and calls the library
 *    does not hook (recvmsg, sendmsg, sendfile, splice, ioctl FIONBIO,
 *    ...) see the fd non-blocking once a goroutine has used it, unless
 *    it is a connected TCP socket the program calls blocking (see
 *    "blocking files"). The program's view is kept per fd number:
 *    F_SETFL on one of two dups leaves the other's view as it was.
 *  - Handlers installed with sigset, sysv_signal or a raw system call
 *    are not wrapped; neither are those installed before the library
 *    was loaded (dlopen'ed late).
 *  - One goroutine at a time waits in each direction of an fd (gort.h);
 *    a poll on an fd another goroutine is reading from waits its turn,
 *    looking at the fd every millisecond meanwhile if it has a timeout
 *    (so that the timeout holds) or asks for both directions (so that
 *    the other is seen ready), gort_fd_wait. A poll for that direction
 *    alone with no timeout queues behind the reader.
 *  - select, ppoll, epoll_wait and multi-fd poll fallbacks each hold an
 *    M while they wait.
 *  - clock_nanosleep with TIMER_ABSTIME on CLOCK_REALTIME converts the
 *    time once: a clock change during the sleep is not followed.
 *  - errno is set on the thread a call returns on. Code built without
 *    gort.h (whose errno is looked up afresh at each use) may have looked
 *    errno's location up before the call, and read the first thread's.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GORT_LIBC_ERRNO /* errno_get and errno_set, below */
#include "gort.h"

#define HOOK __attribute__((visibility("default")))
#define CALLER() __builtin_return_address(0)

/* ---- the libc functions ---- */

#define REALS(X)                                                          \
	X(read) X(write) X(readv) X(writev) X(recv) X(send) X(recvfrom)   \
	X(sendto) X(accept) X(accept4) X(connect) X(poll) X(sleep)        \
	X(usleep) X(nanosleep) X(clock_nanosleep) X(close) X(fcntl)       \
	X(open) X(openat) X(pread) X(pwrite)       \
	X(fsync) X(fdatasync) X(flock) X(select) X(pselect) X(ppoll)      \
	X(epoll_wait) X(epoll_pwait) X(wait) X(waitpid) X(getaddrinfo)

/* Hooked to keep the records below, not routed: not in the check for a
 * library in front (init_once). */
#define KEEP_REALS(X) X(dup) X(dup2) X(dup3) X(sigaction) X(setsockopt)

/* Names some C libraries lack (the large-file names, fcntl64 before
 * glibc 2.28, the fortified entry points): NULL then. A program only
 * reaches their hooks when its libc defines them. */
#define OPTIONAL_REALS(X)                                                 \
	X(fcntl64) X(open64) X(openat64) X(pread64) X(pwrite64)           \
	X(__open_2) X(__open64_2) X(__openat_2) X(__openat64_2)           \
	X(close_range) X(closefrom)

int fcntl64(int fd, int cmd, ...);
int close_range(unsigned int first, unsigned int last, int flags); /* glibc 2.34 */
void closefrom(int lowfd);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
/* glibc's fortified entry points (_FORTIFY_SOURCE), which a program calls
 * in place of read, recv, poll, ... when it knows the buffer's size. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *addrlen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                const sigset_t *mask, size_t fdslen);
_Noreturn void __chk_fail(void);

#define X(name) static __typeof__(&name) real_##name;
REALS(X)
KEEP_REALS(X)
OPTIONAL_REALS(X)
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

/* A libc function the library cannot do without. The message goes out
 * with a raw system call: write is this library's own. */
static void *resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char msg[] = "libgort_hook: a libc function is missing\n";
		(void)!syscall(SYS_write, 2, msg, sizeof msg - 1);
		abort();
	}
	return p;
}

static void init_once(void)
{
#define X(name) real_##name = (__typeof__(&name))resolve(#name);
	REALS(X)
	KEEP_REALS(X)
#undef X
#define X(name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name);
	OPTIONAL_REALS(X)
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

/* ---- signal handlers and forked children ---- */

/* A program's signal handler may run on a goroutine's thread at any
 * point, inside the runtime too (a lock held, the fd's semaphore taken by
 * the very write it interrupted), and the calls it makes there
 * (write(2) to wake an event loop, the usual self-pipe) must be libc's:
 * one that parked or entered the runtime would deadlock or corrupt it.
 * So the handlers the program installs with sigaction or signal run
 * inside sigwrap, which counts them per thread (insig); the kernel sees
 * sigwrap, the program its own handler. The count is trusted only below
 * the outermost handler's frame: a handler left by longjmp leaves it set,
 * and the first hooked call above that frame clears it. (On a stack
 * elsewhere, an alternate signal stack's handler left by longjmp, the
 * thread's calls stay libc's: slower, never wrong.) The runtime's own
 * handlers (its calls go to libc) are not wrapped, and the preemption
 * signal does not move a goroutine that is inside a handler (its signal
 * is blocked there: preempt.c's base-mask test). */
static __thread int insig __attribute__((tls_model("initial-exec")));
static __thread uintptr_t sigframe __attribute__((tls_model("initial-exec")));

static bool inhandler(void)
{
	if (insig == 0)
		return false;
	char here;
	if ((uintptr_t)&here > sigframe) {
		insig = 0; /* left by longjmp */
		return false;
	}
	return true;
}

/* A process forked while the runtime ran has none: its only thread is a
 * copy of the caller's, and the runtime's state, locks included, is a
 * copy of the parent's at that instant, with its epoll set shared with
 * the parent (a gort_close there would remove the parent's fd from it).
 * Every hook is libc's own in such a child; the fds the runtime made
 * non-blocking stay so there, as in any process sharing them. A child
 * forked before gort_main or after it returned may run the runtime: the
 * hooks stay on there. vfork runs no fork handlers: a vfork child must
 * make no hooked call before exec (posix_spawn makes none). */
static bool rt_at_fork;
static atomic_bool forked;

static void atfork_prepare(void)
{
	rt_at_fork = gort_numgoroutine() > 0;
}

static void atfork_child(void)
{
	if (rt_at_fork)
		atomic_store_explicit(&forked, true, memory_order_relaxed);
}

/* Whether hooks are routing at all, and ra is neither the runtime nor a
 * signal handler's call. */
static inline bool userland(const void *ra)
{
	init();
	return active && !fromruntime(ra) && !inhandler() &&
	       !atomic_load_explicit(&forked, memory_order_relaxed);
}

/* Whether a call from return address ra is a goroutine's own. */
static inline bool goroutine(const void *ra)
{
	return userland(ra) && gort_goid() != 0;
}

/* errno through calls the compiler cannot see into. glibc declares
 * __errno_location const, so the compiler may keep errno's address
 * across a call that parks the goroutine, which may go on on another
 * thread, and then read or write the first thread's errno there. */
__attribute__((noinline)) static int errno_get(void)
{
	__asm__ volatile("" ::: "memory");
	return errno;
}

__attribute__((noinline)) static void errno_set(int e)
{
	__asm__ volatile("" ::: "memory");
	errno = e;
}

/* A routed call: libc leaves errno alone when a call succeeds, and so
 * must the runtime's version of it, which may have met EAGAIN on the way
 * (on whatever thread the goroutine now runs). */
#define ROUTED(type, call)                      \
	do {                                    \
		int e_ = errno_get();           \
		type r_ = (call);               \
		if (r_ >= 0)                    \
			errno_set(e_);          \
		return r_;                      \
	} while (0)

/* ---- what the hook knows of each fd ---- */

/* One byte per fd number: the program's view of O_NONBLOCK (FD_VIEW:
 * unknown, blocking or non-blocking) and FD_SHARED, an open file
 * description the program got from its parent: every fd open when the
 * library was loaded (the standard streams, a terminal, the shell's
 * pipes and redirections, make's jobserver pipe, a supervisor's socket),
 * and their dups. The runtime leaves those blocking, as Go leaves
 * os.Stdin and every fd os.NewFile takes that is not already
 * non-blocking: O_NONBLOCK set there would outlive the program in the
 * processes sharing them (a shell whose terminal read fails with EAGAIN,
 * a child whose output is lost, a make whose jobserver read fails). A
 * library loaded late (dlopen) takes the program's own fds open then for
 * inherited ones: their calls go under the hand-off, slower, never
 * wrong. A goroutine's call on one is the libc
 * call under the hand-off; its poll waits on a private epoll set.
 * FD_TIMEO: the program set a socket timeout on it (SO_RCVTIMEO or
 * SO_SNDTIMEO; see "socket timeouts"), and so did accept for a socket
 * it made from a listener that has one, as the kernel copies them.
 * FD_RUNTIME: a call on it went to the runtime, which makes it
 * non-blocking (an fd accept made through gort_accept is so already);
 * only then is an O_NONBLOCK on the file the runtime's to keep (F_SETFL).
 * Closing the fd forgets it all; a dup (dup, dup2, dup3, F_DUPFD) copies
 * the byte to the new number, which shares the description. */
enum { FD_UNKNOWN = 0, FD_BLOCKING = 1, FD_NONBLOCK = 2, FD_VIEW = 3, FD_SHARED = 4,
       FD_TIMEO = 8, FD_RUNTIME = 16 };
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

static int fdbits(int fd)
{
	_Atomic uint8_t *s = fdslot(fd, false);
	return s ? atomic_load_explicit(s, memory_order_relaxed) : 0;
}

static int fdview(int fd)
{
	return fdbits(fd) & FD_VIEW;
}

static bool fdshared(int fd)
{
	return (fdbits(fd) & FD_SHARED) != 0;
}

/* Replace fd's whole byte (0: forget fd). */
static void fdstore(int fd, int bits)
{
	_Atomic uint8_t *s = fdslot(fd, bits != 0);
	if (s)
		atomic_store_explicit(s, (uint8_t)bits, memory_order_relaxed);
}

/* Add bits to fd's byte. */
static void fdmark(int fd, int bits)
{
	_Atomic uint8_t *s = bits ? fdslot(fd, true) : NULL;
	if (s)
		atomic_fetch_or_explicit(s, (uint8_t)bits, memory_order_relaxed);
}

/* Set fd's view, keeping the other bits. */
static void fdset(int fd, int view)
{
	_Atomic uint8_t *s = fdslot(fd, true);
	if (!s)
		return;
	uint8_t v = atomic_load_explicit(s, memory_order_relaxed);
	while (!atomic_compare_exchange_weak(s, &v, (uint8_t)((v & ~FD_VIEW) | view)))
		;
}

/* The program's view of fd, recorded before the runtime touches it:
 * FD_BLOCKING, FD_NONBLOCK, or -1 (bad fd, or no room to record it). */
static int fdtrack(int fd)
{
	_Atomic uint8_t *s = fdslot(fd, true);
	if (!s)
		return -1;
	uint8_t v = atomic_load_explicit(s, memory_order_relaxed);
	if (v & FD_VIEW)
		return v & FD_VIEW;
	int e = errno;
	int fl = real_fcntl(fd, F_GETFL);
	if (fl < 0) {
		errno = e;
		return -1;
	}
	uint8_t want = (fl & O_NONBLOCK) ? FD_NONBLOCK : FD_BLOCKING;
	while (!(v & FD_VIEW))
		if (atomic_compare_exchange_weak(s, &v, (uint8_t)(v | want)))
			return want;
	return v & FD_VIEW;
}

/* fn(fd) for every fd open now in [lo, hi], from the names in
 * /proc/self/fd, less the directory's own; fn may close the fd it is
 * given (the directory is read in the order of fd numbers, from where
 * the last read stopped). Raw system calls: mark_inherited runs before
 * the program, and the hooks are not ready. Without /proc, the fds
 * below FD_SETSIZE, one by one. */
static void each_open_fd(int lo, int hi, void (*fn)(int fd))
{
	int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
	                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		for (int fd = lo; fd < FD_SETSIZE && fd <= hi; fd++)
			if (syscall(SYS_fcntl, fd, F_GETFD) >= 0)
				fn(fd);
		return;
	}
	char buf[4096] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + off);
			off += d->d_reclen;
			char *end;
			long fd = strtol(d->d_name, &end, 10);
			if (end != d->d_name && *end == '\0' && fd != dir && fd >= lo && fd <= hi)
				fn((int)fd);
		}
	}
	syscall(SYS_close, dir);
}

static void mark_shared(int fd)
{
	fdstore(fd, FD_SHARED);
}

/* Mark every fd open now as shared (see above). */
static void mark_inherited(void)
{
	each_open_fd(0, INT_MAX, mark_shared);
}

/* At load: the fds open then are shared (see above); the fork handlers
 * (see "signal handlers and forked children"). */
__attribute__((constructor)) static void hook_ctor(void)
{
	mark_inherited();
	pthread_atfork(atfork_prepare, NULL, atfork_child);
}

/* newfd (r, if the dup succeeded) is a dup of fd: the same description. */
static int fddup(int fd, int r)
{
	if (r >= 0 && r != fd)
		fdstore(r, fdbits(fd));
	return r;
}

/* A connected TCP socket the program calls blocking gets its file
 * blocking again (see "blocking files"); any other fd is left as it is.
 * Whether it did; errno as it was. */
static bool setblocking(int fd)
{
	int e = errno_get();
	bool done = gort_fd_setblocking(fd) == 0;
	errno_set(e);
	return done;
}

/* How a call on fd from return address ra goes: VIA_TIMED is VIA_GORT
 * on a socket that may have a timeout (see "socket timeouts"). */
enum { VIA_LIBC, VIA_GORT, VIA_HANDOFF, VIA_TIMED };

static int viagort(int fd)
{
	int bits = fdbits(fd);
	if (!(bits & FD_RUNTIME)) {
		fdmark(fd, FD_RUNTIME);
		setblocking(fd); /* registers it: see "blocking files" */
	}
	return (bits & FD_TIMEO) ? VIA_TIMED : VIA_GORT;
}

static int fdroute(int fd, const void *ra)
{
	if (!userland(ra))
		return VIA_LIBC;
	if (gort_goid() == 0) /* a plain thread */
		return (fdbits(fd) & (FD_VIEW | FD_SHARED)) == FD_BLOCKING ? viagort(fd) : VIA_LIBC;
	switch (fdtrack(fd)) {
	case FD_BLOCKING:
		return fdshared(fd) ? VIA_HANDOFF : viagort(fd);
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

/* ---- socket timeouts ---- */

/* SO_RCVTIMEO and SO_SNDTIMEO (socket(7)): a blocking call on the socket
 * that has waited that long ends, with the count of what it moved, or -1
 * and EAGAIN (EINPROGRESS for connect); accept waits as a receive. The
 * runtime's calls wait with no such bound (a goroutine parked for ever
 * on a peer that never answers), so a routed call on a socket whose
 * timeout the program set (FD_TIMEO, recorded by setsockopt) is made
 * here instead: the deadline is the timeout from the call's start, and
 * the call is attempts that do not wait (MSG_DONTWAIT) between waits in
 * gort_fd_wait up to that deadline, which park a goroutine and poll on
 * a plain thread. A timeout of 0 is none: the call is the runtime's.
 * connect with a send timeout, on a socket still blocking for the kernel
 * (the usual case: connect comes first), is the kernel's own call under
 * the hand-off. A timeout set without the hook (on an fd received over
 * a socket, by a raw system call) is not seen: those calls wait as the
 * runtime's do. */

/* Whether setsockopt's name is a timeout (either number: the kernel has
 * one for a 32-bit time_t and one for a 64-bit one). */
static bool sockopt_timeo(int name)
{
	if (name == SO_RCVTIMEO || name == SO_SNDTIMEO)
		return true;
#if defined(SO_RCVTIMEO_OLD) && defined(SO_RCVTIMEO_NEW)
	return name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_OLD ||
	       name == SO_SNDTIMEO_NEW;
#else
	return false;
#endif
}

/* The deadline that fd's timeout opt gives a call starting now, 0 if it
 * has none. */
static int64_t sock_deadline(int fd, int opt)
{
	struct timeval tv;
	socklen_t len = sizeof tv;
	int e = errno_get();
	int r = getsockopt(fd, SOL_SOCKET, opt, &tv, &len);
	errno_set(e);
	if (r != 0 || (tv.tv_sec <= 0 && tv.tv_usec <= 0))
		return 0;
	if (tv.tv_sec >= INT64_MAX / 4000000000)
		return INT64_MAX / 2;
	return gort_nanotime() + (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}

static bool again(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK;
}

/* Wait until fd is ready for mode or the deadline passes: 0, or -1 with
 * errno (EAGAIN, the timeout's, once the deadline has passed). */
static int timed_wait(int fd, int mode, int64_t deadline)
{
	if (gort_fd_wait(fd, mode, deadline) >= 0)
		return 0;
	if (errno_get() == ETIMEDOUT)
		errno_set(EAGAIN);
	return -1;
}

/* After an attempt of a timed call failed: whether to make another (on
 * EINTR, or on EAGAIN once a wait has found fd ready before the
 * deadline; a call with MSG_DONTWAIT does not wait, nor does a read of
 * the error queue, MSG_ERRQUEUE, which never blocks). */
static bool timed_retry(int fd, int mode, int flags, int64_t deadline)
{
	int e = errno_get();
	if (e == EINTR)
		return true;
	return again(e) && !(flags & (MSG_DONTWAIT | MSG_ERRQUEUE)) &&
	       timed_wait(fd, mode, deadline) == 0;
}

/* Whether a receive with flags reads on until its buffer is full, as
 * MSG_WAITALL does on a stream socket (a datagram is one message, and
 * a peek reads the same bytes again). */
static bool recv_all(int fd, int flags)
{
	if ((flags & (MSG_WAITALL | MSG_PEEK)) != MSG_WAITALL)
		return false;
	int type = 0;
	socklen_t len = sizeof type;
	int e = errno_get();
	bool stream = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
	errno_set(e);
	return stream;
}

/* read, readv, recv, recvfrom on fd with a receive timeout. iov is the
 * caller's (one entry, the caller's own copy, for MSG_WAITALL, which
 * advances it). */
static ssize_t recv_timed(int fd, struct iovec *iov, int iovcnt, int flags,
                          struct sockaddr *addr, socklen_t *addrlen, int64_t deadline)
{
	bool all = iovcnt == 1 && recv_all(fd, flags);
	size_t got = 0;
	for (;;) {
		struct msghdr m = {.msg_name = addr, .msg_namelen = addrlen ? *addrlen : 0,
		                   .msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
		ssize_t r = recvmsg(fd, &m, (flags & ~MSG_WAITALL) | MSG_DONTWAIT);
		if (r >= 0) {
			if (addrlen)
				*addrlen = m.msg_namelen;
			got += (size_t)r;
			if (!all || r == 0 || (size_t)r == iov->iov_len)
				return (ssize_t)got;
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
			continue;
		}
		if (!timed_retry(fd, GORT_READ, flags, deadline))
			return got > 0 ? (ssize_t)got : -1;
	}
}

/* write, writev, send, sendto on fd with a send timeout: every byte of
 * iov, or what went before the deadline, as the blocking call. Where a
 * write stopped is an entry of the caller's iov (i) and an offset in it. */
static ssize_t send_timed(int fd, const struct iovec *iov, int iovcnt, int flags,
                          const struct sockaddr *to, socklen_t tolen, int64_t deadline)
{
	size_t done = 0, off = 0;
	int i = 0;
	for (bool first = true;; first = false) {
		while (i < iovcnt && off == iov[i].iov_len) {
			i++;
			off = 0;
		}
		if (i == iovcnt && !first)
			return (ssize_t)done; /* all of it (a write of 0 bytes once) */
		struct iovec part = {NULL, 0};
		struct msghdr m = {.msg_name = (void *)to, .msg_namelen = tolen,
		                   .msg_iov = (struct iovec *)iov + i, .msg_iovlen = (size_t)(iovcnt - i)};
		if (off > 0) { /* the rest of a part-written entry alone */
			part.iov_base = (char *)iov[i].iov_base + off;
			part.iov_len = iov[i].iov_len - off;
			m.msg_iov = &part;
			m.msg_iovlen = 1;
		}
		ssize_t r = sendmsg(fd, &m, flags | MSG_DONTWAIT);
		if (r >= 0) {
			done += (size_t)r;
			for (size_t left = (size_t)r; left > 0;) {
				size_t room = iov[i].iov_len - off;
				if (left < room) {
					off += left;
					left = 0;
				} else {
					left -= room;
					i++;
					off = 0;
				}
			}
			if (r == 0 && !first)
				return (ssize_t)done;
			continue;
		}
		if (!timed_retry(fd, GORT_WRITE, flags, deadline))
			return done > 0 ? (ssize_t)done : -1;
	}
}

/* A receive on fd that may have a timeout: recv_timed, or the runtime's
 * call (ROUTED) when it has none. */
#define RECV_TIMED(fd, iov, iovcnt, flags, addr, addrlen, gortcall)                  \
	do {                                                                          \
		int64_t dl_ = sock_deadline(fd, SO_RCVTIMEO);                         \
		if (dl_ != 0)                                                         \
			ROUTED(ssize_t, recv_timed(fd, iov, iovcnt, flags, addr, addrlen, dl_)); \
		ROUTED(ssize_t, gortcall);                                            \
	} while (0)

#define SEND_TIMED(fd, iov, iovcnt, flags, to, tolen, gortcall)                       \
	do {                                                                          \
		int64_t dl_ = sock_deadline(fd, SO_SNDTIMEO);                         \
		if (dl_ != 0)                                                         \
			ROUTED(ssize_t, send_timed(fd, iov, iovcnt, flags, to, tolen, dl_)); \
		ROUTED(ssize_t, gortcall);                                            \
	} while (0)

/* ---- read and write ---- */

/* Each call takes the return address of the hook the program called
 * (the plain name or its fortified one, below). */
static ssize_t read_at(int fd, void *buf, size_t n, const void *ra)
{
	struct iovec one = {buf, n};
	switch (fdroute(fd, ra)) {
	case VIA_TIMED:
		RECV_TIMED(fd, &one, 1, 0, NULL, NULL, gort_read(fd, buf, n));
	case VIA_GORT:
		ROUTED(ssize_t, gort_read(fd, buf, n));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_read(fd, buf, n));
	default:
		return real_read(fd, buf, n);
	}
}

HOOK ssize_t read(int fd, void *buf, size_t n)
{
	return read_at(fd, buf, n, CALLER());
}

HOOK ssize_t write(int fd, const void *buf, size_t n)
{
	struct iovec one = {(void *)buf, n};
	switch (fdroute(fd, CALLER())) {
	case VIA_TIMED:
		SEND_TIMED(fd, &one, 1, 0, NULL, 0, gort_write(fd, buf, n));
	case VIA_GORT:
		ROUTED(ssize_t, gort_write(fd, buf, n));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_write(fd, buf, n));
	default:
		return real_write(fd, buf, n);
	}
}

HOOK ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_TIMED:
		if (iovcnt < 0 || iovcnt > IOV_MAX) /* recvmsg's EMSGSIZE is readv's EINVAL */
			return real_readv(fd, iov, iovcnt);
		RECV_TIMED(fd, (struct iovec *)iov, iovcnt, 0, NULL, NULL, gort_readv(fd, iov, iovcnt));
	case VIA_GORT:
		ROUTED(ssize_t, gort_readv(fd, iov, iovcnt));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_readv(fd, iov, iovcnt));
	default:
		return real_readv(fd, iov, iovcnt);
	}
}

HOOK ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_TIMED:
		if (iovcnt < 0 || iovcnt > IOV_MAX)
			return real_writev(fd, iov, iovcnt);
		SEND_TIMED(fd, iov, iovcnt, 0, NULL, 0, gort_writev(fd, iov, iovcnt));
	case VIA_GORT:
		ROUTED(ssize_t, gort_writev(fd, iov, iovcnt));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_writev(fd, iov, iovcnt));
	default:
		return real_writev(fd, iov, iovcnt);
	}
}

static ssize_t recv_at(int fd, void *buf, size_t n, int flags, const void *ra)
{
	struct iovec one = {buf, n};
	switch (fdroute(fd, ra)) {
	case VIA_TIMED:
		RECV_TIMED(fd, &one, 1, flags, NULL, NULL, gort_recv(fd, buf, n, flags));
	case VIA_GORT:
		ROUTED(ssize_t, gort_recv(fd, buf, n, flags));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_recv(fd, buf, n, flags));
	default:
		return real_recv(fd, buf, n, flags);
	}
}

HOOK ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return recv_at(fd, buf, n, flags, CALLER());
}

HOOK ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct iovec one = {(void *)buf, n};
	switch (fdroute(fd, CALLER())) {
	case VIA_TIMED:
		SEND_TIMED(fd, &one, 1, flags, NULL, 0, gort_send(fd, buf, n, flags));
	case VIA_GORT:
		ROUTED(ssize_t, gort_send(fd, buf, n, flags));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_send(fd, buf, n, flags));
	default:
		return real_send(fd, buf, n, flags);
	}
}

static ssize_t recvfrom_at(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                           socklen_t *addrlen, const void *ra)
{
	struct iovec one = {buf, n};
	switch (fdroute(fd, ra)) {
	case VIA_TIMED:
		RECV_TIMED(fd, &one, 1, flags, addr, addrlen,
		           gort_recvfrom(fd, buf, n, flags, addr, addrlen));
	case VIA_GORT:
		ROUTED(ssize_t, gort_recvfrom(fd, buf, n, flags, addr, addrlen));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_recvfrom(fd, buf, n, flags, addr, addrlen));
	default:
		return real_recvfrom(fd, buf, n, flags, addr, addrlen);
	}
}

HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                      socklen_t *addrlen)
{
	return recvfrom_at(fd, buf, n, flags, addr, addrlen, CALLER());
}

HOOK ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                    const struct sockaddr *addr, socklen_t addrlen)
{
	struct iovec one = {(void *)buf, n};
	switch (fdroute(fd, CALLER())) {
	case VIA_TIMED:
		SEND_TIMED(fd, &one, 1, flags, addr, addrlen,
		           gort_sendto(fd, buf, n, flags, addr, addrlen));
	case VIA_GORT:
		ROUTED(ssize_t, gort_sendto(fd, buf, n, flags, addr, addrlen));
	case VIA_HANDOFF:
		HANDOFF(ssize_t, real_sendto(fd, buf, n, flags, addr, addrlen));
	default:
		return real_sendto(fd, buf, n, flags, addr, addrlen);
	}
}

/* ---- accept and connect ---- */

/* nfd (if the accept succeeded) is a socket accepted on listener fd: a
 * new fd, with the listener's timeouts (the kernel copies them). */
static int accept_fdnew(int fd, int nfd)
{
	if (nfd >= 0)
		fdstore(nfd, fdbits(fd) & FD_TIMEO);
	return nfd;
}

/* A plain thread on a listening fd the runtime made non-blocking, or a
 * listener with a receive timeout (deadline; 0: none): a wait before
 * each attempt, so that an attempt never blocks the thread (a
 * goroutine's wait makes the fd non-blocking: the runtime's). */
static int accept_wait(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags,
                       int64_t deadline)
{
	int e = errno_get();
	for (;;) {
		if (timed_wait(fd, GORT_READ, deadline) < 0)
			return -1;
		int r = real_accept4(fd, addr, addrlen, flags);
		if (r >= 0) {
			errno_set(e);
			return r;
		}
		if (!again(errno_get()))
			return -1;
	}
}

static int accept_common(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags,
                         const void *ra)
{
	int how = fdroute(fd, ra);
	int nfd;
	if (how == VIA_LIBC) {
		nfd = real_accept4(fd, addr, addrlen, flags);
	} else if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	} else if (how == VIA_HANDOFF) {
		gort_entersyscall();
		nfd = real_accept4(fd, addr, addrlen, flags);
		gort_exitsyscall();
	} else {
		int64_t dl = how == VIA_TIMED ? sock_deadline(fd, SO_RCVTIMEO) : 0;
		if (gort_goid() == 0 || dl != 0)
			return accept_fdnew(fd, accept_wait(fd, addr, addrlen, flags, dl));
		int e = errno_get();
		nfd = gort_accept(fd, addr, addrlen); /* non-blocking, close-on-exec */
		if (nfd < 0)
			return -1;
		if (!(flags & SOCK_CLOEXEC))
			real_fcntl(nfd, F_SETFD, 0);
		if (!(flags & SOCK_NONBLOCK))
			setblocking(nfd);
		fdstore(nfd, ((flags & SOCK_NONBLOCK) ? FD_NONBLOCK : FD_BLOCKING) | FD_RUNTIME |
		                     (fdbits(fd) & FD_TIMEO));
		errno_set(e);
		return nfd;
	}
	/* Only the program's own: the runtime's calls and a signal
	 * handler's leave the records alone. */
	if (how == VIA_LIBC && !userland(ra))
		return nfd;
	return accept_fdnew(fd, nfd);
}

HOOK int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	return accept_common(fd, addr, addrlen, 0, CALLER());
}

HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	return accept_common(fd, addr, addrlen, flags, CALLER());
}

/* Whether the file fd names is blocking for the kernel. */
static bool kernel_blocking(int fd)
{
	int fl = real_fcntl(fd, F_GETFL);
	return fl >= 0 && !(fl & O_NONBLOCK);
}

HOOK int connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	switch (fdroute(fd, CALLER())) {
	case VIA_TIMED:
		/* A send timeout: the kernel's blocking connect keeps it, under
		 * the hand-off. A socket the runtime has made non-blocking
		 * (rare before a connect) gets the runtime's, which has
		 * none. */
		if (sock_deadline(fd, SO_SNDTIMEO) != 0 && kernel_blocking(fd))
			HANDOFF(int, real_connect(fd, addr, addrlen));
		__attribute__((fallthrough));
	case VIA_GORT: {
		int e = errno_get();
		if (gort_connect(fd, addr, addrlen) != 0)
			return -1;
		setblocking(fd);
		errno_set(e);
		return 0;
	}
	case VIA_HANDOFF:
		HANDOFF(int, real_connect(fd, addr, addrlen));
	default:
		return real_connect(fd, addr, addrlen);
	}
}

/* Socket timeouts (see "socket timeouts") are marked on the fd.
 * userland comes first: it resolves real_setsockopt (init), and a
 * program's first hooked call may well be this one (socket, then
 * SO_REUSEADDR, before the runtime starts). */
HOOK int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	bool user = userland(CALLER());
	int r = real_setsockopt(fd, level, name, val, len);
	if (r == 0 && user && level == SOL_SOCKET && sockopt_timeo(name))
		fdmark(fd, FD_TIMEO);
	return r;
}

/* ---- close, dup and fcntl ---- */

HOOK int close(int fd)
{
	if (!userland(CALLER()))
		return real_close(fd);
	fdstore(fd, 0);
	return gort_close(fd);
}

static void close_fd(int fd)
{
	fdstore(fd, 0);
	gort_close(fd);
}

/* close_range and closefrom close each open fd of the range as close
 * does (the runtime forgets it, goroutines parked on it fail with
 * EBADF), then make the call, for an fd opened meanwhile. Behind close's
 * back they would leave the runtime a record of a closed fd, and a later
 * fd with that number would park for ever. CLOSE_RANGE_CLOEXEC closes
 * nothing, and CLOSE_RANGE_UNSHARE closes in a copy of the fd table the
 * rest of the process does not see: both are libc's own, as are a range
 * or flags the kernel refuses. */
HOOK int close_range(unsigned int first, unsigned int last, int flags)
{
	init();
	if (!real_close_range) {
		errno = ENOSYS;
		return -1;
	}
	if (userland(CALLER()) && flags == 0 && first <= last && first <= INT_MAX)
		each_open_fd((int)first, last > INT_MAX ? INT_MAX : (int)last, close_fd);
	return real_close_range(first, last, flags);
}

HOOK void closefrom(int lowfd)
{
	if (userland(CALLER()) && lowfd >= 0)
		each_open_fd(lowfd, INT_MAX, close_fd);
	if (real_closefrom)
		real_closefrom(lowfd);
}

/* A dup shares the description: it takes fd's record (fddup). dup2 and
 * dup3 replace fd2 with gort_dup2 and gort_dup3, which make the runtime
 * forget the fd it named before, as close does. */
HOOK int dup(int fd)
{
	if (!userland(CALLER()))
		return real_dup(fd);
	return fddup(fd, real_dup(fd));
}

HOOK int dup2(int fd, int fd2)
{
	if (!userland(CALLER()))
		return real_dup2(fd, fd2);
	return fddup(fd, gort_dup2(fd, fd2));
}

HOOK int dup3(int fd, int fd2, int flags)
{
	if (!userland(CALLER()))
		return real_dup3(fd, fd2, flags);
	return fddup(fd, gort_dup3(fd, fd2, flags));
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
		/* The runtime's O_NONBLOCK stays, but on a connected TCP
		 * socket, which can do without it (see "blocking files").
		 * An inherited fd has none (its calls are the hand-off's),
		 * nor has an fd whose calls never went to the runtime (the
		 * program's own non-blocking fd, served by libc): the file
		 * gets the program's flags as they are, or the O_NONBLOCK
		 * the program set and cleared would stay behind for its own
		 * blocking calls and for the processes sharing it. */
		int keep = 0;
		if ((fdbits(fd) & (FD_SHARED | FD_RUNTIME)) == FD_RUNTIME &&
		    ((want & O_NONBLOCK) || !setblocking(fd))) {
			int cur = real_fcntl(fd, F_GETFL);
			if (cur < 0)
				return -1;
			keep = cur & O_NONBLOCK;
		}
		int r = real_fcntl(fd, F_SETFL, want | keep);
		if (r == 0)
			fdset(fd, (want & O_NONBLOCK) ? FD_NONBLOCK : FD_BLOCKING);
		return r;
	}
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return fddup(fd, real_fcntl(fd, cmd, arg));
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

/* poll(2) without waiting. A signal that comes during it breaks it with
 * EINTR (Linux never restarts poll), though it has not waited: the look
 * is taken again. */
static int poll_look(struct pollfd *fds, nfds_t nfds)
{
	int r;
	do
		r = real_poll(fds, nfds, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

static int poll_handoff(struct pollfd *fds, nfds_t nfds, int64_t deadline)
{
	HANDOFF(int, real_poll(fds, nfds, msleft(deadline)));
}

/* Wait on waitfd (an fd of fds, or an epoll set of them) until fds have
 * something to report or the deadline passes. errno: gort_fd_wait's may
 * have been read on another thread than this one (errno_get). */
static int poll_park(struct pollfd *fds, nfds_t nfds, int waitfd, int want, int64_t deadline)
{
	for (;;) {
		int w = gort_fd_wait(waitfd, want, deadline);
		int we = errno_get();
		int r = poll_look(fds, nfds);
		if (r != 0)
			return r;
		if (w < 0)
			return we == ETIMEDOUT ? 0 : poll_handoff(fds, nfds, deadline);
	}
}

static int poll_epoll(struct pollfd *fds, nfds_t nfds, int64_t deadline)
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
	int r = poll_park(fds, nfds, ep, GORT_READ, deadline);
	int e = errno_get();
	gort_close(ep);
	errno_set(e);
	return r;
}

/* A goroutine's poll that may wait (see the file comment). */
static int poll_goroutine(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int64_t deadline = timeout < 0 ? 0 : gort_nanotime() + (int64_t)timeout * 1000000;
	/* A look without waiting first: what is ready already, and poll(2)'s
	 * own errors (EFAULT, EINVAL for more fds than the limit) before the
	 * array is read here. It also clears every revents. */
	int r = poll_look(fds, nfds);
	if (r != 0)
		return r;
	nfds_t nact = 0, last = 0;
	for (nfds_t i = 0; i < nfds; i++)
		if (fds[i].fd >= 0) {
			nact++;
			last = i;
		}
	if (nact == 0) {
		if (timeout > 0)
			gort_sleep((int64_t)timeout * 1000000);
		else
			for (;;)
				gort_sleep(INT64_MAX / 2);
		return 0;
	}
	int fd = fds[last].fd;
	int want = nact == 1 && !fdshared(fd) ? pollwant(fds[last].events) : 0;
	if (want && fdtrack(fd) > 0)
		return poll_park(fds, nfds, fd, want, deadline);
	return poll_epoll(fds, nfds, deadline);
}

static int poll_at(struct pollfd *fds, nfds_t nfds, int timeout, const void *ra)
{
	if (!goroutine(ra))
		return real_poll(fds, nfds, timeout);
	if (timeout == 0)
		ROUTED(int, poll_look(fds, nfds));
	ROUTED(int, poll_goroutine(fds, nfds, timeout));
}

HOOK int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return poll_at(fds, nfds, timeout, CALLER());
}

/* ---- sleeping ---- */

/* gort_sleep, leaving errno as it was (on the thread the goroutine
 * wakes on). */
static void sleep_ns(int64_t ns)
{
	int e = errno_get();
	gort_sleep(ns);
	errno_set(e);
}

HOOK unsigned int sleep(unsigned int seconds)
{
	if (!goroutine(CALLER()))
		return real_sleep(seconds);
	sleep_ns((int64_t)seconds * 1000000000);
	return 0;
}

HOOK int usleep(useconds_t us)
{
	if (!goroutine(CALLER()))
		return real_usleep(us);
	sleep_ns((int64_t)us * 1000);
	return 0;
}

/* Whether the kernel can read *ts, asked without touching it here: a
 * read of ours would fault on an invalid request, which nanosleep(2) and
 * clock_nanosleep(2) fail with EFAULT. A futex wait whose word does not
 * hold the value it is given copies its timeout in first (EFAULT if it
 * cannot) and then returns EAGAIN at once, without waiting. It reads
 * the same struct timespec, costs one system call on a goroutine's path
 * only (a plain thread's request goes to libc), and is a call no thread
 * library can do without, which seccomp filters allow (container
 * runtimes' may refuse process_vm_readv, which could tell the same). Any
 * other failure leaves the request to be read here. */
static bool timespec_readable(const struct timespec *ts)
{
	int e = errno, word = 0;
	bool fault = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, ts, NULL, 0) < 0 &&
	             errno == EFAULT;
	errno = e;
	return !fault;
}

/* What nanosleep and clock_nanosleep fail with for a request, checked in
 * the kernel's order: EFAULT, EINVAL, or 0. */
static int sleepreq_error(const struct timespec *req)
{
	if (!timespec_readable(req))
		return EFAULT;
	if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1000000000)
		return EINVAL;
	return 0;
}

static int64_t tsns(const struct timespec *ts)
{
	if (ts->tv_sec >= INT64_MAX / 1000000000 - 1)
		return INT64_MAX / 2;
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* rem is left alone: the kernel writes it only when a signal cuts the
 * sleep short, and a goroutine's sleep is not cut short (EINTR does not
 * come back), so an invalid rem is no error here either. */
HOOK int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (!goroutine(CALLER()) || !req)
		return real_nanosleep(req, rem);
	int err = sleepreq_error(req);
	if (err != 0) {
		errno = err;
		return -1;
	}
	sleep_ns(tsns(req));
	return 0;
}

HOOK int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                         struct timespec *rem)
{
	if (!goroutine(CALLER()) || !req ||
	    (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME))
		return real_clock_nanosleep(clk, flags, req, rem);
	int err = sleepreq_error(req);
	if (err != 0)
		return err;
	int64_t ns = tsns(req);
	if (flags & TIMER_ABSTIME) {
		struct timespec now;
		if (clock_gettime(clk, &now) != 0)
			return errno;
		ns -= tsns(&now);
	}
	sleep_ns(ns);
	return 0;
}

/* ---- the syscall hand-off ---- */

#define BRACKET_AT(ra, type, call)                    \
	do {                                          \
		if (goroutine(ra))                    \
			HANDOFF(type, call);          \
		return call;                          \
	} while (0)

#define BRACKET(type, call) BRACKET_AT(CALLER(), type, call)

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

/* ---- the fortified entry points ---- */

/* With _FORTIFY_SOURCE, a call whose buffer size the compiler knows goes
 * to these names, which check the size and then do the plain call: the
 * same check, then the hooked call. */
HOOK ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read_at(fd, buf, n, CALLER());
}

HOOK ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv_at(fd, buf, n, flags, CALLER());
}

HOOK ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                            struct sockaddr *addr, socklen_t *addrlen)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom_at(fd, buf, n, flags, addr, addrlen, CALLER());
}

HOOK int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	if (fdslen / sizeof *fds < nfds)
		__chk_fail();
	return poll_at(fds, nfds, timeout, CALLER());
}

HOOK int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                     const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof *fds < nfds)
		__chk_fail();
	BRACKET(int, real_ppoll(fds, nfds, ts, mask));
}

HOOK ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	BRACKET(ssize_t, real_pread(fd, buf, n, off));
}

HOOK ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	BRACKET(ssize_t, real_pread64(fd, buf, n, off));
}

/* open without a mode (its flags then must not ask for one: libc's own
 * __open_2 checks that). */
HOOK int __open_2(const char *path, int flags)
{
	BRACKET(int, real___open_2(path, flags));
}

HOOK int __open64_2(const char *path, int flags)
{
	BRACKET(int, real___open64_2(path, flags));
}

HOOK int __openat_2(int dirfd, const char *path, int flags)
{
	BRACKET(int, real___openat_2(dirfd, path, flags));
}

HOOK int __openat64_2(int dirfd, const char *path, int flags)
{
	BRACKET(int, real___openat64_2(dirfd, path, flags));
}

/* ---- signal handlers ---- */

/* The program's handlers (see "signal handlers and forked children"):
 * sighand[sig] is what sigwrap calls, sigact[sig] what sigaction reports,
 * both under siglock. sigwrap is installed with SA_SIGINFO whatever the
 * program asked: the kernel then passes a handler of either kind the
 * same three arguments, and one taking only the number ignores the
 * others. */
#ifndef _NSIG
#define _NSIG 65
#endif
typedef void (*sigfn)(int, siginfo_t *, void *);
static _Atomic(sigfn) sighand[_NSIG];
static struct sigaction sigact[_NSIG];
static pthread_mutex_t siglock = PTHREAD_MUTEX_INITIALIZER;

static void sigwrap(int sig, siginfo_t *info, void *uc)
{
	sigfn h = sig > 0 && sig < _NSIG ? atomic_load(&sighand[sig]) : NULL;
	if (insig++ == 0) {
		char here;
		sigframe = (uintptr_t)&here;
	}
	if (h)
		h(sig, info, uc);
	insig--;
}

static bool userhandler(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) ? sa->sa_sigaction != NULL
	                                   : sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

static int sigaction_user(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig <= 0 || sig >= _NSIG)
		return real_sigaction(sig, act, old);
	pthread_mutex_lock(&siglock);
	struct sigaction cur;
	int r = real_sigaction(sig, NULL, &cur);
	if (r == 0 && act) {
		struct sigaction k = *act;
		if (userhandler(act)) {
			k.sa_sigaction = sigwrap;
			k.sa_flags |= SA_SIGINFO;
		}
		r = real_sigaction(sig, &k, NULL);
		if (r == 0 && userhandler(act))
			atomic_store(&sighand[sig], act->sa_flags & SA_SIGINFO
			                                    ? act->sa_sigaction
			                                    : (sigfn)(void (*)(void))act->sa_handler);
	}
	/* The kernel's handler is sigwrap: report the program's (a one-shot
	 * handler, SA_RESETHAND, is SIG_DFL again once it ran). */
	if (r == 0 && cur.sa_sigaction == sigwrap && (cur.sa_flags & SA_SIGINFO))
		cur = sigact[sig];
	if (r == 0 && act)
		sigact[sig] = *act;
	pthread_mutex_unlock(&siglock);
	if (r == 0 && old)
		*old = cur;
	return r;
}

HOOK int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!userland(CALLER()))
		return real_sigaction(sig, act, old);
	return sigaction_user(sig, act, old);
}

/* signal() as glibc's: BSD semantics (the handler stays, the signal is
 * blocked while it runs, interrupted system calls restart; glibc's
 * siginterrupt is not followed here). */
HOOK sighandler_t signal(int sig, sighandler_t h)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sig > 0 && sig < _NSIG)
		sigaddset(&sa.sa_mask, sig);
	int r = userland(CALLER()) ? sigaction_user(sig, &sa, &old)
	                           : real_sigaction(sig, &sa, &old);
	if (r != 0)
		return SIG_ERR;
	return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void (*)(void))old.sa_sigaction
	                                   : old.sa_handler;
}
