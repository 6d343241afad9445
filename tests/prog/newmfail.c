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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gort.h"

#if !GORT_TEST_SANITIZED
#include <dlfcn.h>

static atomic_int failing;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	typedef int (*createfn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	static _Atomic(createfn) real;
	if (atomic_load(&failing))
		return EAGAIN;
	createfn f = atomic_load(&real);
	if (!f) {
		f = (createfn)dlsym(RTLD_NEXT, "pthread_create");
		atomic_store(&real, f);
	}
	return f(t, attr, fn, arg);
}

static atomic_int ran;

static void queued(void *arg)
{
	(void)arg;
	atomic_store(&ran, 1);
}

static int carry(void *arg)
{
	(void)arg;
	atomic_store(&failing, 1);
	gort_go(queued, NULL); /* runnext of the only P */
	gort_entersyscall_block(); /* the P, with its work, wants a new M */
	usleep(1000);
	gort_exitsyscall();
	for (int i = 0; i < 5000 && !atomic_load(&ran); i++)
		gort_sleep(1000000);
	if (!atomic_load(&ran)) {
		fprintf(stderr, "the queued goroutine never ran\n");
		return 1;
	}
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
#endif

int main(int argc, char **argv)
{
#if GORT_TEST_SANITIZED
	(void)argc, (void)argv;
	return 77;
#else
	if (argc > 1 && strcmp(argv[1], "carry") == 0) {
		gort_gomaxprocs(1);
		return gort_main(carry, NULL);
	}
	if (argc > 1 && strcmp(argv[1], "deadlock") == 0) {
		gort_gomaxprocs(2);
		return gort_main(deadlock, NULL);
	}
	fprintf(stderr, "usage: newmfail carry|deadlock\n");
	return 1;
#endif
}
