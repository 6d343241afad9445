/*
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GORT_API __attribute__((visibility("default")))
#else
#define GORT_API
#endif

#define GORT_VERSION_MAJOR 0
#define GORT_VERSION_MINOR 1

/* ---------------------------------------------------------------------
 * Runtime lifecycle
 * ------------------------------------------------------------------- */

/*
 * Start the runtime on the calling thread (it becomes M0), create the Ps,
 * run fn(arg) as the main goroutine (goid 1) and return its result when it
 * returns. Goroutines still alive then are abandoned, as when a Go
 * program's main returns. On return every runtime thread has stopped and
 * runtime memory is released, so gort_main may be called again.
 * Returns -1 with errno EBUSY if the runtime is already running, EINVAL if
 * fn is NULL, ENOMEM/EAGAIN if it cannot start.
 */
GORT_API int gort_main(int (*fn)(void *), void *arg);

/*
 * Set the number of Ps when n > 0 (a stop-the-world resize, as
 * runtime.GOMAXPROCS) and return the previous value; n <= 0 only queries.
 * Outside gort_main it sets (or reports) the value the next gort_main
 * starts with. Default: the GOMAXPROCS environment variable, else
 * gort_numcpu(). Values above GORT_MAX_PROCS are clamped to it.
 */
#define GORT_MAX_PROCS 1024
GORT_API int gort_gomaxprocs(int n);

/* CPUs usable by the process: the affinity mask, capped by a cgroup CPU
 * quota (rounded up). */
GORT_API int gort_numcpu(void);

/* Goroutines that exist now (running, runnable, waiting, in syscalls). */
GORT_API int64_t gort_numgoroutine(void);

/*
 * Set the limit on OS threads (Ms) the runtime may create, as Go's
 * debug.SetMaxThreads; returns the previous limit. The default is 10000.
 * Exceeding it is Go's fatal "thread exhaustion". n <= 0 only queries.
 */
GORT_API int gort_set_max_threads(int n);

/* ---------------------------------------------------------------------
 * Goroutines
 * ------------------------------------------------------------------- */

/* Options for gort_go_attr. A zero-initialised gort_attr means defaults. */
typedef struct gort_attr {
	size_t stack_size; /* bytes of stack address space; 0 = default */
	const char *name;  /* shown in traces and dumps; copied; may be NULL */
} gort_attr;

/* Default stack: 256 KiB of address space, committed by the kernel as
 * it is touched. Settable per goroutine (gort_attr) and globally. */
#define GORT_STACK_DEFAULT (256u * 1024u)
#define GORT_STACK_MIN (16u * 1024u)
#define GORT_STACK_MAX (1024u * 1024u * 1024u)

/* Set the default stack size for goroutines created from now on; returns
 * the previous default, or -1 with errno EINVAL outside
 * [GORT_STACK_MIN, GORT_STACK_MAX]. size 0 only queries. */
GORT_API long gort_set_stack_size(size_t size);

/*
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

/* runtime.Gosched: yield the P; the caller goes to the global run queue. */
GORT_API void gort_gosched(void);

/* End the calling goroutine now (runtime.Goexit). Ending the main
 * goroutine this way ends gort_main with result 0. Called from a thread
 * that is not a goroutine it cannot return, so it is Go's fatal error
 * "gort_goexit called outside a goroutine". */
GORT_API _Noreturn void gort_goexit(void);

/* Id of the calling goroutine; 0 when the caller is not a goroutine. */
GORT_API int64_t gort_goid(void);

/*
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

/*
 * Mark code that must not be preempted by a signal (it holds a lock that
 * another goroutine of the same thread could need, or is not reentrant):
 * between gort_preempt_off and gort_preempt_on the goroutine is switched
 * only at the runtime calls it makes itself. Nesting is counted. If such a
 * region runs past two time slices (20 ms), its P is handed to another M
 * and the goroutine goes on on its own thread, as in a long system call.
 */
GORT_API void gort_preempt_off(void);
GORT_API void gort_preempt_on(void);

/* ---------------------------------------------------------------------
 * Blocking calls
 * ------------------------------------------------------------------- */

/*
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
 * the P is handed off at once. Between the two calls the goroutine must
 * not call other gort functions except gort_exitsyscall. errno is
 * preserved by both. Outside a goroutine they are no-ops.
 */
GORT_API void gort_entersyscall(void);
GORT_API void gort_entersyscall_block(void);
GORT_API void gort_exitsyscall(void);

/* ---------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------- */

/* Monotonic clock in nanoseconds. */
GORT_API int64_t gort_nanotime(void);

/* Park the calling goroutine for ns nanoseconds (time.Sleep); its M runs
 * other goroutines meanwhile. ns <= 0 returns at once. Outside a
 * goroutine it sleeps the thread. */
GORT_API void gort_sleep(int64_t ns);

/* ---------------------------------------------------------------------
 * Sync (goroutine-aware: they park the goroutine, never the M)
 * ------------------------------------------------------------------- */

/* sync.WaitGroup. Zero value = empty. Waiting is allowed from goroutines
 * and from threads that are not goroutines (those block their thread). */
typedef struct gort_waitgroup {
	uint64_t state; /* counter in the high 32 bits, waiters in the low */
	uint32_t sema;
} gort_waitgroup;

/* Add delta to the counter. Returns 0, or -1 with errno EINVAL (NULL wg)
 * or ERANGE if the counter would go negative (then it is left unchanged:
 * Go panics here; a C library reports). */
GORT_API int gort_wg_add(gort_waitgroup *wg, int delta);
GORT_API int gort_wg_done(gort_waitgroup *wg);
/* Block until the counter is zero. 0, or -1 EINVAL for NULL. */
GORT_API int gort_wg_wait(gort_waitgroup *wg);

#ifdef __cplusplus
}
#endif

#endif /* GORT_H */
