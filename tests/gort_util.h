/*
 * gort_util.h - helpers shared by the test programs (and the helper
 * programs of tests/prog) that use the gort API; harness.h holds those that
 * need nothing from gort.h. The functions are in gort_util.c, which the
 * build compiles into the helper library linked into the programs here
 * (all but collide_test, which links as a bare user program does).
 *
 * errno: read_errno, write_errno and CHECK_FAILS (CHECK_ERRNO for calls
 * that may block). Running: run_main, MAIN_CASE, wait_only_main. Waiting
 * in a goroutine: wait_flag, settle, join_thread. Goroutines beside the
 * test: start_helper and helpers_wg, yield_loop. Channels: make_chan and
 * the peer goroutines. Helper programs: run_prog_mode.
 */
#ifndef GORT_TEST_UTIL_H
#define GORT_TEST_UTIL_H

#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>

#include "gort.h"

#define MS 1000000LL /* a millisecond in nanoseconds */
#define US 1000LL    /* a microsecond in nanoseconds */

/* ---------------------------------------------------------------------
 * errno
 * ------------------------------------------------------------------- */

/* errno is read and written through volatile function pointers: glibc
 * declares __errno_location const, so a compiler may reuse errno's
 * address across a call, and a goroutine may come back from a blocking
 * call (a channel operation, gort_exitsyscall) on another thread, whose
 * errno is elsewhere. */
extern int (*volatile read_errno)(void);
extern void (*volatile write_errno)(int);

/* CHECK_ERRNO through those: call must return -1 with errno err. */
#define CHECK_FAILS(call, err)                                           \
	do {                                                             \
		write_errno(0);                                          \
		long long r_ = (long long)(call);                        \
		int e_ = read_errno();                                   \
		if (r_ != -1 || e_ != (err))                             \
			harness_fail_errno(__FILE__, __LINE__, #call, r_, \
			                   e_, (err));                   \
	} while (0)

/* ---------------------------------------------------------------------
 * Running the runtime
 * ------------------------------------------------------------------- */

/* run_main runs fn(arg) as the main goroutine at GOMAXPROCS procs;
 * gort_main must return 0. */
void run_main(int (*fn)(void *), void *arg, int procs);

/* MAIN_CASE(name, fn, procs) defines the case name: run_main(fn, NULL,
 * procs) and nothing more. */
#define MAIN_CASE(name, fn, procs)           \
	static void name(void)               \
	{                                    \
		run_main(fn, NULL, procs);   \
	}

/* wait_only_main yields until main is the only goroutine (or 10 s). */
void wait_only_main(void);

/* ---------------------------------------------------------------------
 * Waiting in a goroutine
 * ------------------------------------------------------------------- */

/* Wait (in a goroutine) until *flag reaches at least want; fail after 10 s. */
void wait_flag(atomic_int *flag, int want);

/* Give goroutines that are about to park time to do so. */
void settle(void);

/* Wait (in a goroutine) until goroutine goid is parked for reason (its
 * header in gort_dump_goroutines: "goroutine N [reason"); fail after
 * 10 s. For a test whose next step is only right once it has parked: a
 * flag set just before the call says the goroutine is on its way, not
 * that it got there, which a loaded machine can delay for long. */
void wait_parked(int64_t goid, const char *reason);

/* Time slices ended so far, by preemption or hand-off (gort_read_stats):
 * a test of run order retries a round in which this moved, since a slice
 * that ends reorders the queue. A G taken from runnext inherits the
 * slice, so a chain of wake-ups can outlast one on a slow build. */
uint64_t slices_ended(void);

/* gort_dump_goroutines into a string, for free(). */
char *dump_to_string(void);

/* Read exactly n bytes from fd with gort_read (which may return fewer);
 * fail the test on EOF or error. */
void read_full(int fd, void *buf, size_t n);

/* Join a plain thread from a goroutine: in a bracketed call, since the
 * thread is not a goroutine and the join blocks this M. */
void join_thread(pthread_t th);

/* ---------------------------------------------------------------------
 * Helper goroutines
 * ------------------------------------------------------------------- */

/* Helper goroutines that touch a channel call done on this when they no
 * longer do, before the channel is freed. */
extern gort_waitgroup helpers_wg;

/* Start fn(arg) as a helper goroutine, counted in helpers_wg; its id. */
int64_t start_helper(void (*fn)(void *), void *arg);

/*
 * A yielder goroutine (yield_loop) counts and yields with gort_gosched in a
 * loop until stop is set, then calls done on wg: the work that goes on, or
 * not, beside another goroutine.
 */
struct yielder {
	atomic_long count;
	atomic_bool stop;
	gort_waitgroup *wg;
};

void yield_loop(void *yielder);

/* Spin (in a goroutine) until *stop, making no runtime call that could
 * switch but a preemption point every 2^16 polls, which wakes nobody
 * (sanitizer builds have no signal preemption). Returns the ns spun, or
 * -1 after limit_s: a goroutine nobody preempted. */
int64_t spin_until_stop(atomic_bool *stop, double limit_s);

/* ---------------------------------------------------------------------
 * Channels
 * ------------------------------------------------------------------- */

/* gort_chan_make, which must not fail. */
gort_chan *make_chan(size_t elem, size_t cap);

/*
 * A peer goroutine: one blocking send or receive of an int on c, or one
 * blocking select over cases[0..n). state: 0 created, 1 about to block,
 * 2 returned, with the call's result in rc and errno in err. Peers are
 * helpers: helpers_wg counts them until they returned.
 */
struct peer {
	gort_chan *c;
	int val;
	int rc;
	int err;
	atomic_int state;
	/* for select peers */
	gort_case cases[4];
	int n;
	int vals[4];
};

void peer_send(void *peer);
void peer_recv(void *peer);
void peer_select(void *peer);

/* Start fn(p) (peer_send, peer_recv, peer_select) on c with p->val = val;
 * its goroutine id. */
int64_t start_peer(void (*fn)(void *), struct peer *p, gort_chan *c, int val);

/* Start fn(p) and return once it is parked in its channel operation (as
 * wait_parked sees it: its flag alone says it is on its way). */
void park_peer(void (*fn)(void *), struct peer *p, gort_chan *c, int val);

/* ---------------------------------------------------------------------
 * Helper programs (tests/prog)
 * ------------------------------------------------------------------- */

/* A mode of a helper program: fn(arg) as the main goroutine, or called on
 * the program's thread with no runtime running when no_runtime is set. */
struct prog_mode {
	const char *name;
	int (*fn)(void *);
	void *arg;
	bool no_runtime;
};

/*
 * run_prog_mode runs the mode that argv[1] names, of the n modes, and
 * returns its result. With no such mode (or not exactly one argument) it
 * prints a usage message naming the program prog and exits with status 1.
 */
int run_prog_mode(const char *prog, int argc, char **argv,
                  const struct prog_mode *modes, size_t n);

/* Loopback TCP, for cases that need the fd kind that takes the drain
 * hint: listen_any listens on 127.0.0.1, any port (*port gets it); dial
 * connects with gort_connect (-1 with errno on failure); tcp_pair makes
 * a connected pair, sv[0] accepted (not yet registered with the
 * netpoller), sv[1] dialed with TCP_NODELAY. tcp_pair_rcvbuf gives
 * sv[0] a receive buffer of rcvbuf bytes (0: the default) from before
 * the handshake, so that the window it advertises never exceeds it. */
int listen_any(int backlog, int *port);
int dial(int port);
void tcp_pair(int sv[2]);
void tcp_pair_rcvbuf(int sv[2], int rcvbuf);

/* A plain thread's client socket: connect(2) to 127.0.0.1:port, blocking,
 * its reads and writes failing after timeout_s (scaled by
 * harness_timeout) instead of hanging the test. */
int dial_blocking(int port, double timeout_s);

/* seccomp filters that make system calls fail, for helper programs that
 * simulate an older kernel or a sandbox. A filter is SECCOMP_HEAD (other
 * architectures' calls pass; the syscall number is loaded), the
 * program's own tests, then its last instruction. seccomp_refuse
 * installs it for this thread and every thread it creates from now on:
 * 0, or -1 where no filter can be installed (an unknown architecture,
 * no seccomp). */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#if defined(__x86_64__)
#define SECCOMP_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#define SECCOMP_AUDIT_ARCH 0
#endif
#define SECCOMP_HEAD                                                          \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_AUDIT_ARCH, 1, 0),          \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                            \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
int seccomp_refuse(struct sock_filter *code, size_t n);

#endif /* GORT_TEST_UTIL_H */
