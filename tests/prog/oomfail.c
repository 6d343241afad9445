/*
 * oomfail: a helper program for oom_test. Its allocator and netpoller
 * calls (malloc, calloc, realloc, aligned_alloc, posix_memalign, mmap,
 * epoll_create1, eventfd), which the runtime's calls reach, the
 * program's definitions coming before libc's, fail on demand while the
 * program says so, as they do when the system is out of memory or
 * descriptors. Each failure must come out as the error the API
 * documents, or as a fatal error with its message, never as a hang or a
 * crash:
 *
 *   api      gort_go (its G, and the copy of a name), gort_chan_make,
 *            gort_timer_new (the timer, and the growth of the P's
 *            timer heap) and gort_select of more than 8 cases fail with
 *            ENOMEM and leave nothing behind; the runtime goes on, and
 *            the goroutines made before run. Exit status 0.
 *   read     the first gort_read on a socket cannot allocate the fd's
 *            poll descriptor: -1 with ENOMEM; the next one works.
 *   init     epoll_create1, eventfd, or the memory for the Ps, the
 *            steal order, the main goroutine or the main thread's signal
 *            stack, cannot be had: gort_main returns -1 with that errno
 *            (ENOMEM for memory) and leaks no descriptor; then it starts.
 *   mstack   a new M's signal stack cannot be mapped: the thread is not
 *            made (the runtime's warning), and the goroutine that wanted
 *            it runs on the M there is. Exit status 0.
 *   stack    a goroutine's first stack cannot be mapped: Go's fatal
 *            error (exit status 2, "fatal error: out of memory ...").
 *   sleep    a gort_sleep cannot grow the timer heap: likewise.
 *
 * In sanitizer builds the sanitizer's allocator must see every call, so
 * nothing is interposed: exit status 77 (skipped).
 */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gort_util.h"

enum {
	F_MALLOC = 1 << 0,
	F_CALLOC = 1 << 1,
	F_REALLOC = 1 << 2,
	F_ALIGNED = 1 << 3,
	F_MEMALIGN = 1 << 4, /* posix_memalign */
	F_MMAP = 1 << 5,
	F_EPOLL = 1 << 6,
	F_EVENTFD = 1 << 7,
};
static atomic_int failing;

#if !GORT_TEST_SANITIZED
static bool fails(int what)
{
	return atomic_load_explicit(&failing, memory_order_relaxed) & what;
}

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t n)
{
	if (fails(F_MALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t sz)
{
	if (fails(F_CALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, sz);
}

void *realloc(void *p, size_t n)
{
	if (fails(F_REALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	if (fails(F_ALIGNED)) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_memalign(align, n);
}

int posix_memalign(void **p, size_t align, size_t n)
{
	if (fails(F_MEMALIGN))
		return ENOMEM;
	void *v = __libc_memalign(align, n);
	if (!v)
		return ENOMEM;
	*p = v;
	return 0;
}

/* Only the runtime's own mappings (read-write, MAP_NORESERVE) fail;
 * libc's calls to mmap do not come here. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fails(F_MMAP) && (flags & MAP_NORESERVE) && prot == (PROT_READ | PROT_WRITE)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int epoll_create1(int flags)
{
	if (fails(F_EPOLL)) {
		errno = EMFILE;
		return -1;
	}
	return (int)syscall(SYS_epoll_create1, flags);
}

int eventfd(unsigned int initval, int flags)
{
	if (fails(F_EVENTFD)) {
		errno = ENFILE;
		return -1;
	}
	return (int)syscall(SYS_eventfd2, initval, flags);
}
#endif

static gort_chan *gate;
static atomic_long ran;

static void waiter(void *arg)
{
	(void)arg;
	gort_chan_recv(gate, NULL);
	atomic_fetch_add(&ran, 1);
}

static atomic_bool looping;

static void counted(void *arg)
{
	(void)arg;
	/* Run while gort_go still is to run out of Gs (its region lasted
	 * past the hand-off): keep the G. */
	if (atomic_load(&looping))
		gort_chan_recv(gate, NULL);
	atomic_fetch_add(&ran, 1);
}

static int api(void *arg)
{
	(void)arg;
	/* G arenas: goroutines until a new arena is needed. Unpreempted,
	 * the caller runs on (GOMAXPROCS=1) and the goroutines wait: none
	 * gives its G back for reuse (or takes a stack) meanwhile. */
	gate = gort_chan_make(0, 0);
	if (!gate)
		FAILF("gort_chan_make failed");
	atomic_store(&looping, true);
	gort_preempt_off();
	atomic_store(&failing, F_MEMALIGN);
	long made = 0;
	int64_t id;
	while ((id = gort_go(counted, NULL)) > 0 && made < 1000000)
		made++;
	int e = errno;
	atomic_store(&failing, 0);
	gort_preempt_on();
	atomic_store(&looping, false);
	gort_chan_close(gate);
	if (id != -1 || e != ENOMEM)
		FAILF("gort_go without memory for a G: %lld, errno %d (%ld made)", (long long)id, e, made);
	if (gort_go(counted, NULL) <= 0)
		FAILF("gort_go after memory came back: errno %d", errno);
	made++;

	/* The copy of a name. */
	gort_attr attr = {0};
	attr.name = "named";
	atomic_store(&failing, F_MALLOC);
	id = gort_go_attr(counted, NULL, &attr);
	e = errno;
	atomic_store(&failing, 0);
	if (id != -1 || e != ENOMEM)
		FAILF("gort_go_attr without memory for its name: %lld, errno %d", (long long)id, e);

	/* Channels. */
	atomic_store(&failing, F_ALIGNED | F_MEMALIGN | F_MALLOC | F_CALLOC);
	gort_chan *c = gort_chan_make(sizeof(int), 4);
	e = errno;
	atomic_store(&failing, 0);
	if (c || e != ENOMEM)
		FAILF("gort_chan_make without memory: %p, errno %d", (void *)c, e);

	/* Timers: the timer itself, then the growth of the heap. */
	atomic_store(&failing, F_CALLOC);
	gort_timer *tm = gort_timer_new(1000000000, 0);
	e = errno;
	atomic_store(&failing, 0);
	if (tm || e != ENOMEM)
		FAILF("gort_timer_new without memory: %p, errno %d", (void *)tm, e);
	enum { NT = 4096 };
	static gort_timer *tms[NT];
	int nt = 0;
	atomic_store(&failing, F_REALLOC);
	while (nt < NT && (tms[nt] = gort_timer_new(60 * 1000000000LL, 0)) != NULL)
		nt++;
	e = errno;
	atomic_store(&failing, 0);
	if (nt == NT || e != ENOMEM)
		FAILF("gort_timer_new without memory for the heap: %d made, errno %d", nt, e);
	tm = gort_timer_new(1000000, 0);
	if (!tm)
		FAILF("gort_timer_new after memory came back: errno %d", errno);
	int64_t when;
	if (gort_chan_recv(gort_timer_chan(tm), &when) != 1)
		FAILF("the timer did not fire");
	gort_timer_free(tm);
	for (int i = 0; i < nt; i++)
		if (!gort_timer_stop(tms[i]))
			FAILF("timer %d was not armed", i);
	for (int i = 0; i < nt; i++)
		gort_timer_free(tms[i]);

	/* A select of more than 8 cases. */
	gort_chan *chans[12];
	gort_case cases[12];
	for (int i = 0; i < 12; i++) {
		chans[i] = gort_chan_make(sizeof(int), 1);
		cases[i] = (gort_case){.chan = chans[i], .dir = GORT_RECV};
	}
	int v = 7;
	gort_chan_send(chans[11], &v);
	int r[12];
	for (int i = 0; i < 12; i++)
		cases[i].elem = &r[i];
	atomic_store(&failing, F_MALLOC | F_CALLOC | F_ALIGNED | F_MEMALIGN);
	int k = gort_select(cases, 12, true);
	e = errno;
	atomic_store(&failing, 0);
	if (k != -1 || e != ENOMEM)
		FAILF("gort_select without memory: %d, errno %d", k, e);
	k = gort_select(cases, 12, true);
	if (k != 11 || r[11] != 7)
		FAILF("gort_select after memory came back: %d", k);
	for (int i = 0; i < 12; i++)
		gort_chan_free(chans[i]);

	/* Everything made runs. */
	for (int i = 0; i < 10000 && atomic_load(&ran) != made; i++)
		gort_sleep(1000000);
	if (atomic_load(&ran) != made)
		FAILF("%ld of %ld goroutines ran", atomic_load(&ran), made);
	return 0;
}

static int rd(void *arg)
{
	(void)arg;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		FAILF("socketpair");
	if (write(sv[1], "xy", 2) != 2)
		FAILF("write");
	char b;
	atomic_store(&failing, F_CALLOC | F_MALLOC);
	ssize_t n = gort_read(sv[0], &b, 1);
	int e = errno;
	atomic_store(&failing, 0);
	if (n != -1 || e != ENOMEM)
		FAILF("gort_read without memory: %zd, errno %d", n, e);
	if (gort_read(sv[0], &b, 1) != 1 || b != 'x')
		FAILF("gort_read after memory came back: errno %d", errno);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}

static int fdcount(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		n++;
	closedir(d);
	return n;
}

static int five(void *arg)
{
	(void)arg;
	return 5;
}

static void start_fails(int what, int want, const char *why)
{
	int fds = fdcount();
	atomic_store(&failing, what);
	int r = gort_main(five, NULL);
	int e = errno;
	atomic_store(&failing, 0);
	if (r != -1 || e != want)
		FAILF("gort_main without %s: %d, errno %d", why, r, e);
	if (fdcount() != fds)
		FAILF("without %s: %d descriptors before, %d after", why, fds, fdcount());
}

static int init(void *arg)
{
	(void)arg;
	start_fails(F_EPOLL, EMFILE, "epoll");
	start_fails(F_EVENTFD, ENFILE, "eventfd");
	start_fails(F_ALIGNED, ENOMEM, "memory for the Ps");
	start_fails(F_MALLOC, ENOMEM, "memory for the steal order");
	start_fails(F_MEMALIGN, ENOMEM, "memory for the main goroutine");
	start_fails(F_MMAP, ENOMEM, "a signal stack");
	int r = gort_main(five, NULL);
	if (r != 5)
		FAILF("gort_main after: %d, errno %d", r, errno);
	return 0;
}

static int stack(void *arg)
{
	(void)arg;
	/* Enough goroutines alive at once to use up the stacks of the
	 * chunk there is. */
	gate = gort_chan_make(0, 0);
	atomic_store(&failing, F_MMAP);
	for (int i = 0; i < 1000; i++)
		gort_go(waiter, NULL);
	gort_sleep(100000000);
	fprintf(stderr, "a goroutine ran without a stack\n");
	return 1;
}

static int mstack(void *arg)
{
	(void)arg;
	/* One goroutine first, on this M: its stack, cached once it ends,
	 * is the next goroutine's, which maps nothing. */
	atomic_store(&ran, 0);
	gort_go(counted, NULL);
	while (atomic_load(&ran) == 0)
		gort_gosched();
	atomic_store(&failing, F_MMAP);
	gort_gomaxprocs(2); /* may start an M for the new P already */
	gort_go(counted, NULL); /* if not, this does */
	for (int i = 0; i < 1000000 && atomic_load(&ran) == 1; i++)
		gort_sleep(1000000);
	atomic_store(&failing, 0);
	if (atomic_load(&ran) != 2)
		FAILF("the second goroutine did not run");
	return 0;
}

static int sleep_(void *arg)
{
	(void)arg;
	atomic_store(&failing, F_REALLOC);
	gort_sleep(1000000);
	atomic_store(&failing, 0);
	fprintf(stderr, "slept without a timer heap\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (HARNESS_SANITIZED)
		return 77; /* see the file comment */
	static const struct prog_mode modes[] = {
		{"api", api, NULL, false},
		{"read", rd, NULL, false},
		{"init", init, NULL, true},
		{"stack", stack, NULL, false},
		{"sleep", sleep_, NULL, false},
		{"mstack", mstack, NULL, false},
	};
	gort_gomaxprocs(1);
	return run_prog_mode("oomfail", argc, argv, modes, sizeof modes / sizeof modes[0]);
}
