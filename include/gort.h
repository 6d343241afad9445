/**
 * @file gort.h
 * gort.h - Go's concurrency runtime for C.
 *
 * This is the only public header of gort. Goroutines are scheduled M:N by
 * the GMP model of Go's runtime: G (goroutine), M (OS thread), P (logical
 * processor; an M must hold one to run a G). Every name here is declared
 * with GORT_API; nothing else is exported from libgort.
 *
 * Conventions (see docs/GUIDE.md):
 *  - A call that can fail returns -1 (or NULL) and sets errno. Bad input
 *    from the caller never aborts the process.
 *  - Runtime corruption (a goroutine overflowing its stack, a broken
 *    invariant) and Go's fatal conditions print "fatal error: <what>" and
 *    exit with status 2, as Go does.
 *  - Times are int64_t nanoseconds; deadlines are absolute gort_nanotime()
 *    values.
 *  - Zero-initialised sync objects are valid and empty, as in Go.
 */
#ifndef GORT_H
#define GORT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GORT_NORETURN: C11's _Noreturn is not C++, where the header is
 * usable too. */
#if defined(__GNUC__) || defined(__clang__)
#define GORT_API __attribute__((visibility("default")))
#define GORT_NORETURN __attribute__((noreturn))
#elif defined(__cplusplus)
#define GORT_API
#define GORT_NORETURN [[noreturn]]
#else
#define GORT_API
#define GORT_NORETURN _Noreturn
#endif

#define GORT_VERSION_MAJOR 0
#define GORT_VERSION_MINOR 1

/* ---------------------------------------------------------------------
 * errno
 * ------------------------------------------------------------------- */

/**
 * errno belongs to a thread, and a goroutine may go on on another thread
 * after any gort call that can park or yield; the call sets errno on the
 * thread it returns on. Compilers take the location of libc's errno for
 * a constant (glibc declares __errno_location const) and may look it up
 * once per function: errno read after such a call would then be the
 * first thread's, as whatever ran there since left it (a send that a
 * close failed would read 0 or another goroutine's error, not EPIPE).
 * gort.h therefore defines errno as the calling thread's errno, looked
 * up afresh at each use through gort_errno_location(). Define
 * GORT_LIBC_ERRNO before including gort.h to keep libc's definition;
 * errno is then read after a gort call only through a function the
 * compiler cannot see into.
 */
GORT_API int *gort_errno_location(void);
#ifndef GORT_LIBC_ERRNO
#undef errno
#define errno (*gort_errno_location())
#endif

/* ---------------------------------------------------------------------
 * Runtime lifecycle
 * ------------------------------------------------------------------- */

/**
 * Start the runtime on the calling thread (it becomes M0), create the Ps,
 * run fn(arg) as the main goroutine (goid 1) and return its result when it
 * returns. Goroutines still alive then are abandoned, as when a Go
 * program's main returns. On return every runtime thread has stopped and
 * runtime memory is released, so gort_main may be called again.
 * A thread that is not a goroutine and is still blocked then on a
 * channel, a select or a sync object (a mutex, an RWMutex, a WaitGroup,
 * a Cond) is not abandoned: it stays blocked, and a later run, or
 * another such thread between runs, completes its operation as if no
 * run had ended (a blocked sender's value is delivered). The goroutines
 * abandoned on the same object are forgotten: they never take a value,
 * a wake-up or a signal meant for the thread. A thread that blocks
 * before the first run or between runs is kept in the same way.
 * Returns -1 with errno EBUSY if the runtime is already running, EINVAL if
 * fn is NULL, ENOMEM/EAGAIN if it cannot start.
 *
 * A child forked while the runtime runs has one thread, a copy of the
 * caller's, and a copy of the runtime with none of its threads: as the
 * child of Go's ForkExec, it makes plain libc calls only (up to exec or
 * _exit), no gort_* call. gort_close there, for one, would take the fd
 * out of the epoll set it shares with the parent.
 */
GORT_API int gort_main(int (*fn)(void *), void *arg);

/**
 * Set the number of Ps when n > 0 (a stop-the-world resize, as
 * runtime.GOMAXPROCS, which the value it has skips) and return the
 * previous value; n <= 0 only queries.
 * Outside gort_main it sets (or reports) the value the next gort_main
 * starts with. Default: the GOMAXPROCS environment variable, else
 * gort_numcpu(). Values above GORT_MAX_PROCS are clamped to it. A
 * thread that is not a goroutine has a goroutine of the run resize for
 * it: -1 with errno ENOMEM if that one cannot be made.
 */
#define GORT_MAX_PROCS 1024
GORT_API int gort_gomaxprocs(int n);

/** CPUs usable by the process: the affinity mask, capped by a cgroup CPU
 * quota (rounded up). */
GORT_API int gort_numcpu(void);

/** Goroutines that exist now (running, runnable, waiting, in syscalls). */
GORT_API int64_t gort_numgoroutine(void);

/**
 * Set the limit on OS threads (Ms) the runtime may create, as Go's
 * debug.SetMaxThreads; returns the previous limit. The default is 10000.
 * Exceeding it is Go's fatal "thread exhaustion". n <= 0 only queries.
 *
 * A thread the system refuses (pthread_create fails, as when it is out
 * of threads or memory) is not fatal, unlike Go: the runtime says so
 * once on stderr and carries on with the threads it has, which run the
 * work meant for the new one as soon as one of them is free.
 */
GORT_API int gort_set_max_threads(int n);

/* ---------------------------------------------------------------------
 * Goroutines
 * ------------------------------------------------------------------- */

/** Options for gort_go_attr. A zero-initialised gort_attr means defaults. */
typedef struct gort_attr {
	size_t stack_size; /**< bytes of stack address space; 0 = default */
	const char *name;  /**< shown in traces and dumps; copied; may be NULL */
} gort_attr;

/** Default stack: 256 KiB of address space, committed by the kernel as
 * it is touched. Settable per goroutine (gort_attr) and globally; a size
 * is rounded up to whole pages of the kernel (4 KiB, or 16 or 64 KiB on
 * some arm64 kernels). */
#define GORT_STACK_DEFAULT (256u * 1024u)
#define GORT_STACK_MIN (16u * 1024u)
#define GORT_STACK_MAX (1024u * 1024u * 1024u)

/** Set the default stack size for goroutines created from now on; returns
 * the previous default, or -1 with errno EINVAL outside
 * [GORT_STACK_MIN, GORT_STACK_MAX]. size 0 only queries. */
GORT_API long gort_set_stack_size(size_t size);

/**
 * Create a goroutine running fn(arg), as Go's `go fn(arg)`: it goes to the
 * current P's runnext slot (the previous occupant moves to the local run
 * queue's tail) and an idle P is woken if no M is spinning. Callable from
 * a goroutine or from any other thread while the runtime runs (the G then
 * goes to the global run queue). Returns the goroutine id (> 0), or -1
 * with errno EINVAL (fn NULL, bad attr), ENOMEM, or EAGAIN (the runtime is
 * not running).
 */
GORT_API int64_t gort_go(void (*fn)(void *), void *arg);
GORT_API int64_t gort_go_attr(void (*fn)(void *), void *arg,
                              const gort_attr *attr);

/** runtime.Gosched: yield the P; the caller goes to the global run queue. */
GORT_API void gort_gosched(void);

/** End the calling goroutine now (runtime.Goexit). Ending the main
 * goroutine this way ends gort_main with result 0. Called from a thread
 * that is not a goroutine it cannot return, so it is Go's fatal error
 * "gort_goexit called outside a goroutine". */
GORT_NORETURN GORT_API void gort_goexit(void);

/** Id of the calling goroutine; 0 when the caller is not a goroutine. */
GORT_API int64_t gort_goid(void);

/**
 * runtime.LockOSThread / UnlockOSThread: while locked, the calling
 * goroutine runs only on its current thread (M), and that thread runs no
 * other goroutine. Nesting is counted: unlock as often as lock to undo.
 * A goroutine that exits while locked takes its thread with it (the
 * thread exits); if that thread is the one that called gort_main, it is
 * parked instead, as Go does with the main thread. Outside a goroutine
 * both are no-ops.
 */
GORT_API void gort_lock_os_thread(void);
GORT_API void gort_unlock_os_thread(void);

/**
 * Mark code that must not be preempted by a signal (it holds a lock that
 * another goroutine of the same thread could need, or is not reentrant):
 * between gort_preempt_off and gort_preempt_on the goroutine is switched
 * only at the runtime calls it makes itself. Nesting is counted, up to
 * 255 deep (deeper is a fatal error, as a count that stopped would end the
 * region at the wrong gort_preempt_on). If such a
 * region runs past two time slices (20 ms), its P is handed to another M
 * and the goroutine goes on on its own thread, as in a long system call.
 */
GORT_API void gort_preempt_off(void);
GORT_API void gort_preempt_on(void);

/* ---------------------------------------------------------------------
 * Blocking calls
 * ------------------------------------------------------------------- */

/**
 * Bracket a call that may block the thread (file I/O, a blocking C
 * library call), as Go's runtime does around system calls:
 *
 *     gort_entersyscall();
 *     n = read(fd, buf, len);
 *     gort_exitsyscall();
 *
 * entersyscall leaves the P in _Psyscall; if the call lasts (more than a
 * sysmon tick, 20 us to 10 ms), sysmon hands the P to another M so the
 * other goroutines keep running. exitsyscall takes back the old P if it is
 * still free, else an idle P, else queues the goroutine globally and parks
 * the thread. gort_entersyscall_block is for calls known to block long:
 * the P is handed off at once. A gort call made between the two (one
 * that may park, such as gort_sleep or a channel operation, included)
 * ends the hand-off there, as gort_exitsyscall would, and the
 * gort_exitsyscall that follows does nothing. errno is preserved by both.
 * Outside a goroutine they are no-ops.
 */
GORT_API void gort_entersyscall(void);
GORT_API void gort_entersyscall_block(void);
GORT_API void gort_exitsyscall(void);

/* ---------------------------------------------------------------------
 * I/O on the netpoller
 * ------------------------------------------------------------------- */

/**
 * Goroutine-aware I/O (Go's internal/poll on the runtime's netpoller).
 * Each call is the libc call of the same name, except that a goroutine
 * whose fd is not ready parks on the netpoller (epoll) while its M runs
 * other goroutines, and wakes when the fd is ready, its deadline passes,
 * or it is closed with gort_close. The runtime registers an fd and sets
 * O_NONBLOCK on it at its first use by a goroutine (it stays set, unless
 * gort_fd_setblocking clears it on a TCP socket); files
 * epoll cannot watch (regular files) are read and written in place,
 * bracketed by the syscall hand-off (gort_entersyscall). EINTR never
 * comes back; the writes (write, writev, send, sendto) complete partial
 * writes as Go's Write does: they return the full count, or the count
 * written before an error (-1 if nothing was). gort_recv and
 * gort_recvfrom with MSG_WAITALL on a stream socket read the same way,
 * as a blocking recv(2) does: n bytes, or what came before the end of
 * the stream or an error. One goroutine at a time
 * waits in each direction of an fd; others queue behind it, except a
 * call with MSG_DONTWAIT, which waits for neither the fd nor its turn:
 * it fails with EAGAIN while another goroutine holds that direction. A
 * receive with MSG_ERRQUEUE reads the error queue at once, as recv(2)
 * does: it never waits, nor takes a turn.
 *
 * Errors: -1 with errno as libc sets it, plus EBADF for a negative fd
 * and for a call on an fd closed with gort_close meanwhile (calls parked
 * on it wake with EBADF), ETIMEDOUT once a deadline has passed
 * (gort_set_deadline), EFAULT for a NULL buffer with a non-zero length
 * (but for a receive with MSG_TRUNC, which a stream socket serves with
 * no buffer), and EINVAL for bad arguments. An fd used with these calls must be
 * closed with gort_close, not close(2), while the runtime runs, and
 * replaced with gort_dup2 or gort_dup3, not dup2(2).
 *
 * A write to a socket or pipe whose reader has gone raises SIGPIPE, as
 * write(2) does, and the signal's default action ends the process (Go's
 * runtime turns it into an EPIPE error instead). A server either ignores
 * SIGPIPE (signal(SIGPIPE, SIG_IGN)) or writes to its sockets with
 * gort_send(fd, buf, n, MSG_NOSIGNAL), as examples/ do: the call then
 * fails with EPIPE.
 *
 * Outside a goroutine (before gort_main, on a plain thread) the calls
 * behave as the blocking libc calls: a thread blocks until the fd is
 * ready (also when the runtime has made it non-blocking). Deadlines set
 * with gort_set_deadline apply to goroutines only.
 */
#define GORT_READ 1
#define GORT_WRITE 2

GORT_API ssize_t gort_read(int fd, void *buf, size_t n);
GORT_API ssize_t gort_write(int fd, const void *buf, size_t n);
GORT_API ssize_t gort_readv(int fd, const struct iovec *iov, int iovcnt);
GORT_API ssize_t gort_writev(int fd, const struct iovec *iov, int iovcnt);
GORT_API ssize_t gort_recv(int fd, void *buf, size_t n, int flags);
GORT_API ssize_t gort_send(int fd, const void *buf, size_t n, int flags);
GORT_API ssize_t gort_recvfrom(int fd, void *buf, size_t n, int flags,
                               struct sockaddr *addr, socklen_t *addrlen);
GORT_API ssize_t gort_sendto(int fd, const void *buf, size_t n, int flags,
                             const struct sockaddr *addr, socklen_t addrlen);

/** accept4: the new fd is non-blocking and close-on-exec. ECONNABORTED
 * (a connection reset while queued) is retried, as Go does. */
GORT_API int gort_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);

/** connect, parking until the connection is made or has failed; the
 * failure is the socket's SO_ERROR (ECONNREFUSED, ETIMEDOUT, ...).
 * EISCONN on a socket already connected. On an AF_UNIX socket whose
 * listener's queue is full it waits for room, as a blocking connect(2)
 * does, trying again after growing pauses (1 ms to 64 ms). */
GORT_API int gort_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);

/** Park until fd is ready for events (GORT_READ, GORT_WRITE or both) or
 * the absolute deadline (gort_nanotime) passes: -1 with ETIMEDOUT; 0 is
 * no deadline, and one already passed (a negative one too) only looks
 * whether fd is ready now. Returns the events that are ready (an error or hang-up
 * condition counts as both). A deadline of gort_set_deadline for those
 * directions applies too. EINVAL for events outside GORT_READ|GORT_WRITE
 * or none. While another goroutine waits on fd in the same direction (a
 * read, say), a call with a deadline, or one for both directions, looks
 * at fd every millisecond instead of queueing behind it, so that its
 * deadline holds and the other direction is seen ready as it becomes so. */
GORT_API int gort_fd_wait(int fd, int events, int64_t deadline);

/** Go's SetReadDeadline / SetWriteDeadline for the directions in events:
 * once the absolute deadline (gort_nanotime) has passed, calls on fd in
 * those directions fail with ETIMEDOUT, those already parked included;
 * a deadline already passed takes effect at once. 0 clears it. The
 * deadline stays until changed, until fd is closed, or until the run
 * ends (gort_main returns). -1 with ENOTSUP
 * for a file the netpoller cannot watch, EAGAIN when the runtime is not
 * running. */
GORT_API int gort_set_deadline(int fd, int events, int64_t deadline);

/** Clear O_NONBLOCK on a connected TCP socket's file, as Go's File.Fd
 * does before a file is handed to a child process: the other processes
 * sharing the file (a child given the socket as its standard input, say)
 * and plain read(2)s see a blocking socket again. A goroutine's calls on
 * fd still never block its M (they pass MSG_DONTWAIT) and park on the
 * netpoller as before; deadlines keep working. The flag stays cleared
 * until fd is closed or the run ends: the next run, or another fd
 * number for the same file (a dup), sets it again at its first use.
 * -1 with EBADF (a bad fd), ENOTSOCK (not a socket), EOPNOTSUPP (a socket
 * other than TCP), ENOTCONN (listening, or not connected yet: accept and
 * connect need the flag), EAGAIN when the runtime is not running. */
GORT_API int gort_fd_setblocking(int fd);

/** close(2), after waking the goroutines parked on fd (they fail with
 * EBADF) and forgetting fd: no later event, deadline or call aimed at
 * this fd reaches a later fd that gets the same number. A goroutine's
 * system call on fd that is under way (a non-blocking one) ends before
 * the close(2); the call's next attempt fails with EBADF. A goroutine
 * makes the close(2) under the syscall hand-off, as Go's Close does: a
 * close that blocks (a socket with SO_LINGER and unsent data) leaves
 * the P to the other goroutines, and its waiters are woken before it.
 * Calls on fd made meanwhile, another gort_close included, wait for the
 * close to end; since Linux frees the number as close(2) begins, so do
 * those on a new fd that gets the number during a close that blocks. */
GORT_API int gort_close(int fd);

/** dup2(2) and dup3(2) onto an fd2 the runtime may know: fd2 is
 * forgotten as gort_close forgets it (goroutines parked on it wake with
 * EBADF) and made a copy of fd in one step, as dup2 does, with no moment
 * when another thread's new fd could take the number. The copy is a new
 * fd to the runtime, registered at its first use. dup2(2) itself would
 * leave fd2 taken for the file it named before: calls on it would wait
 * on the netpoller for events that never come. Returns fd2, or -1 with
 * errno: EBADF for a bad fd or an fd2 out of range, EINVAL for dup3's
 * flags other than O_CLOEXEC or for fd == fd2 (dup3; gort_dup2 then
 * returns fd2 as dup2 does, and changes nothing). One that comes while
 * fd2 is being closed waits for the close to end, as gort_close's calls
 * do. */
GORT_API int gort_dup2(int fd, int fd2);
GORT_API int gort_dup3(int fd, int fd2, int flags);

/**
 * TCP by address strings, libdill-style (Go's net.Listen / net.Dial).
 * addr is "host:port": an IPv4 literal ("127.0.0.1:80"), an IPv6
 * literal in brackets ("[::1]:80", with an optional "%zone"), or a name
 * ("localhost:80"), which is resolved with getaddrinfo under the syscall
 * hand-off (gort_entersyscall), so other goroutines keep running during
 * the lookup. The port is decimal, 0 to 65535 (0: the system picks one
 * for a listener; find it with getsockname). The returned fd is TCP,
 * non-blocking, close-on-exec, TCP_NODELAY, and registered with the
 * netpoller when the caller is a goroutine; close it with gort_close.
 *
 * gort_listen: a listening socket with SO_REUSEADDR and the given
 * backlog (<= 0: SOMAXCONN); accept on it with gort_accept. An empty
 * host (":8080") listens on every address, IPv4 and IPv6 (a dual-stack
 * socket where the system has IPv6); "0.0.0.0" is IPv4 only. A name
 * listens on the first of its addresses that can be bound.
 *
 * gort_dial: a connected socket. Each resolved address is tried in
 * turn, as Go does; the first connection made is returned, else the
 * first error. deadline is an absolute gort_nanotime() (0: none): with
 * several addresses each attempt gets a fair share of the time left, at
 * least 2 s where that much is left (Go's partialDeadline). An empty
 * host (":80") is the local system.
 *
 * Errors: -1 with errno: EINVAL for a NULL or malformed address (no
 * port, a port out of range or not decimal, an IPv6 literal without
 * brackets, brackets around anything but an IPv6 literal);
 * EHOSTUNREACH when a name has no address, EAGAIN for a temporary
 * resolver failure; ETIMEDOUT when the deadline passes (at once for one
 * already passed; while the name is still being looked up too: the
 * lookup goes on by itself, as Go's does); otherwise as socket, bind,
 * listen or connect set it (EADDRINUSE, ECONNREFUSED, ENETUNREACH,
 * EMFILE, ...).
 */
GORT_API int gort_listen(const char *addr, int backlog);
GORT_API int gort_dial(const char *addr, int64_t deadline);

/* ---------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------- */

/** Monotonic clock in nanoseconds. */
GORT_API int64_t gort_nanotime(void);

/** Park the calling goroutine for ns nanoseconds (time.Sleep); its M runs
 * other goroutines meanwhile. ns <= 0 returns at once. Outside a
 * goroutine it sleeps the thread. */
GORT_API void gort_sleep(int64_t ns);

/**
 * Timers and tickers (time.Timer, time.Ticker). A timer fires once after
 * ns (or at once if ns <= 0), or, with period_ns > 0, then every
 * period_ns (a ticker). Each firing sends the fire time (an int64_t
 * gort_nanotime() value) on the timer's channel, which holds at most one
 * value: a firing whose previous value was not received yet is dropped,
 * as Go's tickers (and, before Go 1.23, timers) do.
 *
 * gort_timer_stop returns true if the call stopped the timer, false if it
 * had already fired (its value may still be in the channel) or was
 * stopped. gort_timer_reset makes it fire after ns (keeping its period)
 * and returns true if it had been active. A NULL timer gets false and
 * errno EINVAL. gort_timer_free stops and releases the timer and its
 * channel; no one may use either afterwards.
 */
typedef struct gort_timer gort_timer;
typedef struct gort_chan gort_chan;
/** NULL with errno ENOMEM, EINVAL for a negative period, or EAGAIN when
 * the runtime is not running (gort_timer_reset then fails with EAGAIN
 * too). */
GORT_API gort_timer *gort_timer_new(int64_t ns, int64_t period_ns);
GORT_API gort_chan *gort_timer_chan(gort_timer *t);
GORT_API bool gort_timer_stop(gort_timer *t);
GORT_API bool gort_timer_reset(gort_timer *t, int64_t ns);
GORT_API void gort_timer_free(gort_timer *t);

/* ---------------------------------------------------------------------
 * Channels and select
 * ------------------------------------------------------------------- */

/**
 * make(chan T, cap) with T elem_size bytes, copied by value. elem_size 0
 * makes a signal channel: elem may then be NULL everywhere. Returns NULL
 * with errno EINVAL (elem_size of 64 KiB or more, as Go refuses: send a
 * pointer to anything larger; or a buffer that cannot fit in memory) or
 * ENOMEM.
 *
 * Operations on a NULL channel: the blocking forms fail with EINVAL
 * (Go would block forever); in gort_select a NULL channel's case never
 * fires. Channels are not garbage collected: gort_chan_free releases one
 * when no goroutine uses it any more (the caller's guarantee; freeing a
 * channel that goroutines wait on is a fatal error). A select that one
 * of its channels (or a close) has completed no longer waits on any of
 * them, although it may not have returned yet: free waits for it to.
 */
GORT_API gort_chan *gort_chan_make(size_t elem_size, size_t cap);
/** Blocking send: 0, or -1 with errno EPIPE if the channel is or becomes
 * closed (Go panics here), EINVAL for NULL. */
GORT_API int gort_chan_send(gort_chan *c, const void *elem);
/** Blocking receive: 1 = a value was received into elem (NULL: discard);
 * 0 = closed and drained, elem zeroed; -1 with errno EINVAL for NULL. */
GORT_API int gort_chan_recv(gort_chan *c, void *elem);
/** Non-blocking forms: -1 with errno EAGAIN where the blocking form would
 * block; otherwise as above. */
GORT_API int gort_chan_try_send(gort_chan *c, const void *elem);
GORT_API int gort_chan_try_recv(gort_chan *c, void *elem);
/** Close: every waiter wakes (receivers get 0 once drained, senders
 * EPIPE). -1 with errno EPIPE if already closed, EINVAL for NULL. */
GORT_API int gort_chan_close(gort_chan *c);
/** len and cap; 0 for NULL. */
GORT_API size_t gort_chan_len(gort_chan *c);
GORT_API size_t gort_chan_cap(gort_chan *c);
GORT_API void gort_chan_free(gort_chan *c);

enum { GORT_SEND = 1, GORT_RECV = 2 };

/** One case of a select: a send of *elem or a receive into elem (NULL:
 * discard) on chan. ok is set for the case that ran: a receive sets it
 * true if a value was received, false if the channel was closed; a send
 * sets it true if the value was sent, false if the channel was closed
 * (a send on a closed channel counts as ready, as in Go where it would
 * panic). */
typedef struct gort_case {
	gort_chan *chan;
	int dir;       /**< GORT_SEND or GORT_RECV */
	void *elem;
	bool ok;
} gort_case;

/**
 * Go's select over cases[0..n). Among the ready cases one is chosen
 * uniformly at random; if none is ready and block, the goroutine parks on
 * all the case channels at once until one is; if none is ready and
 * !block, returns -1 with errno EAGAIN (the default branch). A case whose
 * chan is NULL never fires; a blocking select with no usable case blocks
 * forever (Go's "select {}"). Returns the index of the case that ran, or
 * -1 with errno EINVAL for n < 0, NULL cases with n > 0, a bad dir, or
 * n > GORT_SELECT_MAX, or ENOMEM when the bookkeeping of more than 8
 * cases cannot be allocated.
 */
#define GORT_SELECT_MAX 65536
GORT_API int gort_select(gort_case *cases, int n, bool block);

/* ---------------------------------------------------------------------
 * Sync (goroutine-aware: they park the goroutine, never the M)
 * ------------------------------------------------------------------- */

/** sync.WaitGroup. Zero value = empty. Waiting is allowed from goroutines
 * and from threads that are not goroutines (those block their thread). */
typedef struct gort_waitgroup {
	uint64_t state; /**< counter in the high 32 bits, waiters in the low */
	uint32_t sema;
} gort_waitgroup;

/** Add delta to the counter. Returns 0, or -1 with errno EINVAL (NULL wg)
 * or ERANGE if the counter would go negative (then it is left unchanged:
 * Go panics here; a C library reports). */
GORT_API int gort_wg_add(gort_waitgroup *wg, int delta);
GORT_API int gort_wg_done(gort_waitgroup *wg);
/** Block until the counter is zero. 0, or -1 with errno EINVAL for NULL,
 * or EBUSY when the WaitGroup was reused (an Add from zero began a new
 * round) before this Wait returned: as in Go, a new round must wait for
 * every Wait of the previous one to return (Go panics here). */
GORT_API int gort_wg_wait(gort_waitgroup *wg);

/**
 * sync.Mutex, with Go's two modes. Normal mode: a lock is one CAS; a
 * contender spins briefly (only while other Ps are running goroutines,
 * as Go's sync_runtime_canSpin), then parks in FIFO order, and a woken
 * waiter competes with newcomers. A waiter that fails to get the lock for
 * more than 1 ms switches the mutex to starvation mode: unlock then hands
 * it straight to the first waiter, and newcomers queue behind. Zero value
 * = unlocked. Not tied to a goroutine: any goroutine may unlock it.
 * Unlocking an unlocked mutex is a fatal error ("sync: unlock of
 * unlocked mutex"), as in Go. Usable from threads that are not
 * goroutines too (they block their thread).
 *
 * For every type below: the functions returning void, given a NULL
 * object (or a NULL fn or mutex), set errno to EINVAL and do nothing;
 * gort_mutex_trylock(NULL) returns false with errno EINVAL (so do the
 * rwmutex's try functions). Any sync
 * object may be shared by goroutines and threads that are not
 * goroutines.
 */
typedef struct gort_mutex {
	int32_t state; /**< private: locked, woken, starving bits; waiters << 3 */
	uint32_t sema; /**< private: the semaphore waiters park on */
} gort_mutex;
GORT_API void gort_mutex_lock(gort_mutex *m);
GORT_API bool gort_mutex_trylock(gort_mutex *m);
GORT_API void gort_mutex_unlock(gort_mutex *m);

/** sync.RWMutex: many readers or one writer; a waiting writer keeps new
 * readers out (writer preference, as Go). Zero value = unlocked.
 * runlock of a rwmutex not read-locked and unlock of one not locked are
 * fatal errors, as in Go ("sync: RUnlock of unlocked RWMutex", "sync:
 * Unlock of unlocked RWMutex"). tryrlock and trylock (Go's TryRLock and
 * TryLock) take the lock only if they need not wait: tryrlock fails
 * while a writer holds it or waits for it, trylock while anyone holds
 * it or a writer waits; NULL: false with errno EINVAL. */
typedef struct gort_rwmutex {
	/* private: */
	gort_mutex w;        /**< held by the writer, or by one waiting */
	uint32_t writersem;  /**< the writer waits here for readers to leave */
	uint32_t readersem;  /**< readers wait here for the writer to leave */
	int32_t readercount; /**< readers in or waiting; -2^30 with a writer */
	int32_t readerwait;  /**< readers the waiting writer waits for */
} gort_rwmutex;
GORT_API void gort_rwmutex_rlock(gort_rwmutex *rw);
GORT_API void gort_rwmutex_runlock(gort_rwmutex *rw);
GORT_API void gort_rwmutex_lock(gort_rwmutex *rw);
GORT_API void gort_rwmutex_unlock(gort_rwmutex *rw);
GORT_API bool gort_rwmutex_tryrlock(gort_rwmutex *rw);
GORT_API bool gort_rwmutex_trylock(gort_rwmutex *rw);

/** sync.Once: fn(arg) runs exactly once; every caller returns only after
 * it has completed. Zero value = not yet run. fn must return: one that
 * ends its goroutine (gort_goexit) leaves every later caller blocked. */
typedef struct gort_once {
	uint32_t done; /**< private: 1 once fn has returned */
	gort_mutex m;  /**< private: held while fn runs */
} gort_once;
GORT_API void gort_once_do(gort_once *o, void (*fn)(void *), void *arg);

/** sync.Cond with Go's notify list: wait atomically unlocks m and parks;
 * it relocks m before returning. signal wakes the longest waiter,
 * broadcast all. Zero value = ready to use. */
typedef struct gort_cond {
	/* private: the runtime's notify list */
	uint32_t wait;   /**< tickets handed out */
	uint32_t notify; /**< tickets below this have been notified */
	uint32_t lock;   /**< runtime lock of the waiter list */
	uint32_t gen;    /**< the gort_main run its waiters belong to */
	void *head;      /**< waiters, about in ticket order */
	void *tail;
} gort_cond;
GORT_API void gort_cond_wait(gort_cond *c, gort_mutex *m);
GORT_API void gort_cond_signal(gort_cond *c);
GORT_API void gort_cond_broadcast(gort_cond *c);

/* ---------------------------------------------------------------------
 * Observability (docs/OBSERVABILITY.md)
 * ------------------------------------------------------------------- */

/**
 * Print one scheduler report to out (stderr when NULL), in the format of
 * Go's GODEBUG=schedtrace: a "SCHED ..." line with the global state and
 * the local run queue lengths; with detail (scheddetail=1), a line per
 * P, per M and per goroutine. GODEBUG=schedtrace=N,scheddetail=1 prints
 * one every N ms from the system monitor while the runtime runs.
 */
GORT_API void gort_schedtrace(FILE *out, bool detail);

/**
 * Print every goroutine to out (stderr when NULL) as Go's traceback does:
 * "goroutine 18 [chan receive, 2 minutes]:", its stack, symbolised, and
 * where it was created. SIGQUIT prints the same to stderr and exits with
 * status 2, as a Go program does.
 */
GORT_API void gort_dump_goroutines(FILE *out);

/**
 * Execution tracer. gort_trace_start records scheduler events (goroutine
 * create/start/block/unblock/end, preemptions, syscalls, P and M
 * transitions, steals, global queue moves, netpoll wake-ups, timer fires)
 * into per-thread buffers and writes them to path until gort_trace_stop.
 * Read the file with the gort-trace tool (view, stats, go). -1 with errno
 * EBUSY if a trace or the flight recorder is already running; ESRCH
 * outside gort_main; ENOENT, EACCES... if path cannot be created; EINVAL
 * if path is NULL.
 */
GORT_API int gort_trace_start(const char *path);
GORT_API int gort_trace_stop(void);

/**
 * Flight recorder (Go's FlightRecorder): trace continuously into memory,
 * keeping about the most recent `bytes` of events; gort_trace_flight_dump
 * writes them to path as a trace file, without stopping the recorder.
 * -1 with EBUSY if a trace is running, EINVAL for bytes == 0, ESRCH
 * outside gort_main, ENOENT from dump/stop when the recorder is not
 * running.
 */
GORT_API int gort_trace_flight_start(size_t bytes);
GORT_API int gort_trace_flight_dump(const char *path);
GORT_API int gort_trace_flight_stop(void);

/** Counters since the runtime started (gort_main), for monitoring. */
typedef struct gort_stats {
	int64_t goroutines;      /**< that exist now */
	int64_t threads;         /**< Ms alive now */
	int64_t gomaxprocs;
	int64_t idleprocs;
	int64_t runqueue;        /**< goroutines in the global run queue */
	uint64_t goroutines_created;
	uint64_t context_switches;  /**< goroutine starts on an M */
	uint64_t steals_tried;      /**< runqsteal attempts on a victim P */
	uint64_t steals_won;        /**< attempts that took goroutines */
	uint64_t handoffs;          /**< Ps handed off from a blocked syscall */
	uint64_t preempt_async;     /**< preemptions by signal */
	uint64_t preempt_coop;      /**< preemptions at a runtime call */
	uint64_t netpoll_wakeups;   /**< goroutines made ready by the netpoller */
	uint64_t timers_fired;
	uint64_t stoptheworld;      /**< stops of the world: GOMAXPROCS changes,
	                                 trace starts, goroutine dumps */
} gort_stats;
/** Fill *s (zeros outside gort_main). -1 EINVAL if s is NULL. */
GORT_API int gort_read_stats(gort_stats *s);

/**
 * Serve the debug HTTP endpoints (/debug/sched, /debug/goroutines,
 * /debug/trace?seconds=N, /debug/vars, /metrics; /debug/ lists them)
 * from goroutines of the running runtime, on its netpoller, until
 * gort_main returns (a later run may serve again). addr is "host:port"
 * as for gort_listen (port 0: any; NULL: "127.0.0.1:6060", loopback
 * only). GET (and HEAD) only, one request per connection. Returns 0
 * once listening, or -1 with errno (ENOSYS when built without
 * GORT_DEBUG_HTTP, EINVAL for a bad address, EBUSY if already serving,
 * EAGAIN outside gort_main, and the errors of bind/listen).
 */
GORT_API int gort_debug_serve(const char *addr);

/* The port gort_debug_serve listens on (the one the system chose for
 * port 0), or -1 with errno ENOENT when not serving (ENOSYS when built
 * without GORT_DEBUG_HTTP). */
GORT_API int gort_debug_port(void);

#ifdef __cplusplus
}
#endif

#endif /* GORT_H */
