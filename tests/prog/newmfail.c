/*
 * newmfail: a helper program for thread_limit_test. Its pthread_create
 * (which the runtime's calls reach, the program's definition coming
 * before libc's) fails with EAGAIN once the main goroutine says so, as
 * it does when the system is out of threads or memory for a stack. The
 * runtime must carry on with the threads it has:
 *
 *   carry     GOMAXPROCS=1; the main goroutine queues a goroutine and
 *             hands its P off (gort_entersyscall_block) to a new M that
 *             cannot be made: the queued goroutine must still run, and
 *             the program exit with status 0.
 *   late      GOMAXPROCS=1; each failing creation takes 300 ms. The
 *             main goroutine queues a goroutine and enters a plain
 *             system call, whose P sysmon hands off; the call returns
 *             while that hand-off's creation still fails, finds no idle
 *             P and parks its M. The failed creation must then give the
 *             P to that M: both goroutines run, exit status 0. Exit
 *             status 3 if sysmon never took the P in five tries.
 *   poller    GOMAXPROCS=1; a second M, made while creation still
 *             works, blocks in the netpoller until a goroutine's 30 s
 *             sleep ends. The main goroutine then queues a goroutine and
 *             hands its P off to a new M that cannot be made: the
 *             poller must be woken to run it while the main goroutine
 *             is still in its system call, not 30 s later.
 *   locked    as late, but the main goroutine is locked to its thread:
 *             back from the call it finds no P, goes to the global
 *             queue and its M waits for it (stoplockedm), so no M is
 *             left on the idle list. The failed creation must give the
 *             P to that M with its goroutine: exit status 0, not a hang
 *             with every P idle and every M asleep. Exit status 3 if
 *             sysmon never took the P in five tries.
 *   retry     GOMAXPROCS=1; the creation for the main goroutine's
 *             hand-off fails once and would work again: the queued
 *             goroutine must run while the main goroutine is still in
 *             its call (sysmon tries the creation again), not after.
 *   netwait   as retry, but what waits is a goroutine parked reading a
 *             socket that became readable: with the P idle nobody polls
 *             the network, unless sysmon does.
 *   foreign   GOMAXPROCS=1; the main goroutine, locked to its thread,
 *             waits on a channel (no M on the idle list, every P idle,
 *             sysmon in its deep sleep); a thread that is not an M then
 *             queues the sender while the creation fails once: the
 *             sender must run within 5 s, not at sysmon's next wake-up
 *             (60 s).
 *   nosysmon  gort_main, whose sysmon thread cannot be made, returns -1
 *             with EAGAIN, and the next gort_main runs.
 *   deadlock  GOMAXPROCS=2; a spawn asks for a second M, which cannot
 *             be made; the main goroutine then blocks forever on a
 *             channel: Go's deadlock report (exit status 2), not a hang.
 *
 * In sanitizer builds the sanitizer's own pthread_create must see every
 * thread, so nothing is interposed: exit status 77 (skipped).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gort_util.h"

/* 1: fail at once; 2: after 300 ms; 3: fail once, then work again */
static atomic_int failing;

#if !GORT_TEST_SANITIZED
#include <dlfcn.h>

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	typedef int (*createfn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	static _Atomic(createfn) real;
	int how = atomic_load(&failing);
	if (how == 2)
		usleep(300 * 1000);
	if (how == 3 && !atomic_compare_exchange_strong(&failing, &how, 0))
		how = 0;
	if (how)
		return EAGAIN;
	createfn f = atomic_load(&real);
	if (!f) {
		f = (createfn)dlsym(RTLD_NEXT, "pthread_create");
		atomic_store(&real, f);
	}
	return f(t, attr, fn, arg);
}
#endif

static atomic_int ran;

static void queued(void *arg)
{
	(void)arg;
	atomic_store(&ran, 1);
}

/* Whether `ran` comes within 5 s, the caller sleeping as a goroutine. */
static bool ran_soon(void)
{
	for (int i = 0; i < 5000 && !atomic_load(&ran); i++)
		gort_sleep(1000000);
	if (!atomic_load(&ran))
		fprintf(stderr, "the queued goroutine never ran\n");
	return atomic_load(&ran);
}

static int carry(void *arg)
{
	(void)arg;
	atomic_store(&failing, 1);
	gort_go(queued, NULL); /* runnext of the only P */
	gort_entersyscall_block(); /* the P, with its work, wants a new M */
	usleep(1000);
	gort_exitsyscall();
	return ran_soon() ? 0 : 1;
}

static uint64_t handoffs(void)
{
	gort_stats s;
	if (gort_read_stats(&s) != 0)
		return 0;
	return s.handoffs;
}

/* late, and locked when arg is not NULL. */
static int late(void *arg)
{
	/* A locked thread runs nothing else, and no other can be made:
	 * nothing is queued then. */
	bool locked = arg != NULL;
	if (locked)
		gort_lock_os_thread();
	atomic_store(&failing, 2);
	for (int try = 0; try < 5; try++) {
		atomic_store(&ran, locked);
		uint64_t before = handoffs();
		if (!locked)
			gort_go(queued, NULL);
		gort_entersyscall();
		usleep(50 * 1000); /* sysmon retakes within 10 ms */
		gort_exitsyscall();
		if (!ran_soon())
			return 1;
		if (handoffs() != before)
			return 0;
	}
	fprintf(stderr, "sysmon never handed the P off\n");
	return 3;
}

static void sleeper(void *arg)
{
	(void)arg;
	gort_sleep(30 * 1000000000LL);
}

/* Hand the P off for a call (gort_entersyscall_block) and wait in it,
 * up to 5 s, for `ran`; whether it came. */
static bool ran_during_call(void)
{
	gort_entersyscall_block();
	for (int i = 0; i < 5000 && !atomic_load(&ran); i++)
		usleep(1000);
	bool r = atomic_load(&ran);
	gort_exitsyscall();
	if (!r)
		fprintf(stderr, "the queued goroutine did not run while its P's M was in a call\n");
	return r;
}

static int poller(void *arg)
{
	(void)arg;
	gort_go(sleeper, NULL);
	/* A new M takes the P, runs the sleeper, gives the P back and
	 * blocks in the netpoller until the sleeper's timer. */
	gort_entersyscall_block();
	usleep(100 * 1000);
	gort_exitsyscall();
	atomic_store(&failing, 1);
	gort_go(queued, NULL);
	return ran_during_call() ? 0 : 1;
}

static int retry(void *arg)
{
	(void)arg;
	atomic_store(&failing, 3);
	gort_go(queued, NULL);
	return ran_during_call() ? 0 : 1;
}

static int sv[2];

static void reader(void *arg)
{
	(void)arg;
	char c;
	if (gort_read(sv[0], &c, 1) == 1)
		atomic_store(&ran, 1);
}

static int netwait(void *arg)
{
	(void)arg;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 4;
	gort_go(reader, NULL);
	/* The reader parks on the netpoller, on this thread: no sleep, so
	 * no other M is made (one idle would take the P). */
	gort_gosched();
	atomic_store(&failing, 3);
	if (write(sv[1], "x", 1) != 1)
		return 4;
	return ran_during_call() ? 0 : 1;
}

static gort_chan *fch;

static void sender(void *arg)
{
	(void)arg;
	int v = 1;
	gort_chan_send(fch, &v);
}

/* A thread that is not an M queues a goroutine once the runtime sleeps
 * (every P idle, sysmon in its deep sleep). */
static void *outsider(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	atomic_store(&failing, 3);
	gort_go(sender, NULL);
	for (int i = 0; i < 5000 && !atomic_load(&ran); i++)
		usleep(1000);
	if (!atomic_load(&ran)) {
		fprintf(stderr, "the goroutine queued by another thread did not run\n");
		_exit(1);
	}
	return NULL;
}

static int foreign(void *arg)
{
	(void)arg;
	/* Locked: the main thread waits in stoplockedm, not on the idle
	 * list, so the outsider's goroutine needs a new M. */
	gort_lock_os_thread();
	fch = gort_chan_make(sizeof(int), 0);
	pthread_t t;
	if (pthread_create(&t, NULL, outsider, NULL) != 0)
		return 4;
	atomic_store(&failing, 1);
	int v;
	gort_chan_recv(fch, &v);
	atomic_store(&ran, 1);
	pthread_join(t, NULL);
	return 0;
}

static void nop(void *arg)
{
	(void)arg;
}

static int deadlock(void *arg)
{
	(void)arg;
	atomic_store(&failing, 1);
	gort_go(nop, NULL); /* wakep: an M for the idle P, which fails */
	gort_sleep(10 * 1000000);
	gort_chan *c = gort_chan_make(sizeof(int), 0);
	int v;
	gort_chan_recv(c, &v);
	fprintf(stderr, "received from a channel no one sends on\n");
	return 1;
}

static int zero(void *arg)
{
	(void)arg;
	return 0;
}

/* Outside the runtime: gort_main whose sysmon thread is refused. */
static int nosysmon(void *arg)
{
	(void)arg;
	atomic_store(&failing, 1);
	errno = 0;
	int r = gort_main(zero, NULL);
	int err = errno;
	atomic_store(&failing, 0);
	if (r != -1 || err != EAGAIN) {
		fprintf(stderr, "gort_main without sysmon: %d, errno %d; want -1, EAGAIN\n", r, err);
		return 1;
	}
	return gort_main(zero, NULL); /* and the next run starts */
}

static int run_deadlock(void *arg)
{
	gort_gomaxprocs(2);
	return gort_main(deadlock, arg);
}

int main(int argc, char **argv)
{
	if (HARNESS_SANITIZED)
		return 77; /* see the file comment */
	static const struct prog_mode modes[] = {
		{"carry", carry, NULL, false},
		{"late", late, NULL, false},
		{"locked", late, "locked", false},
		{"poller", poller, NULL, false},
		{"retry", retry, NULL, false},
		{"netwait", netwait, NULL, false},
		{"foreign", foreign, NULL, false},
		{"deadlock", run_deadlock, NULL, true},
		{"nosysmon", nosysmon, NULL, true},
	};
	gort_gomaxprocs(1);
	return run_prog_mode("newmfail", argc, argv, modes, sizeof modes / sizeof modes[0]);
}
