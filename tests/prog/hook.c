/*
 * hook: a helper program for hook_test. It makes plain libc calls (read,
 * write, recv, send, accept, connect, poll, sleep, usleep, nanosleep)
 * and checks that they behave as gort's calls inside goroutines and as
 * libc's outside. It is linked with libgort.so only; hook_test runs it
 * with libgort_hook.so in LD_PRELOAD, and runs hook_linked, the same
 * source linked with libgort_hook.so. Each mode runs at GOMAXPROCS=1:
 *
 *   sleep   1,000 goroutines sleep 100 ms each (usleep, nanosleep, poll
 *           with no fds, clock_nanosleep, a few sleep(1)) beside one
 *           blocked in read of an empty pipe: all done in well under
 *           the 100 s that one M sleeping them in turn would take.
 *   read    1,000 goroutines block in read/recv on pipes and socketpairs
 *           at once, on a handful of threads, and each gets its byte;
 *           a 1 MiB write to a pipe parks while the reader drains it.
 *   calls   errno and semantics: EAGAIN on an fd the program made
 *           non-blocking, EBADF, EPIPE, ENOTSOCK, EINVAL, ECONNREFUSED;
 *           F_GETFL keeps the program's view; poll with one and with
 *           two fds, and its timeout, EFAULT; EFAULT from nanosleep
 *           and clock_nanosleep of a request they cannot read;
 *           accept/connect/send/recv on loopback TCP (EISCONN,
 *           MSG_WAITALL).
 *   thread  outside goroutines the calls are libc's: a plain thread's
 *           read blocks until data comes (also on an fd a goroutine used),
 *           usleep sleeps the thread, EAGAIN and EBADF.
 *   fdops   a dup of an fd a goroutine used (dup, dup2, dup3, F_DUPFD)
 *           blocks as the fd does; dup2 onto an fd a goroutine is
 *           reading wakes it with EBADF, and the fd then reads the new
 *           file, and so does close_range or closefrom over such an fd;
 *           errno stays as it was across calls
 *           that parked and succeeded; poll with more fds than the limit
 *           fails with EINVAL; 100 goroutines blocked in the fortified
 *           entry points (__read_chk, __recv_chk, __poll_chk) at once
 *           park on a handful of threads.
 *   fork    a child forked while a goroutine waits on a socket closes
 *           that socket, writes, sleeps and exits with libc's calls; the
 *           parent's goroutine still gets its data.
 *   signal  a handler that writes to a pipe (the self-pipe) interrupts
 *           goroutines writing to that pipe, 2,000 times a second, and
 *           the writes all complete; sigaction reports the program's
 *           handler, and SIG_DFL once a one-shot handler ran.
 *   stdio   goroutines' write and poll on the standard streams leave
 *           them blocking (they are shared with the parent), also
 *           through a dup, and O_NONBLOCK that the program sets there
 *           and clears again is cleared on the file.
 *   timeo   SO_RCVTIMEO and SO_SNDTIMEO end a goroutine's read, recv,
 *           recvfrom, readv, write, send, writev, accept and connect
 *           with EAGAIN
 *           (or the count moved before), also a plain thread's read on
 *           a socket the runtime made non-blocking; an accepted socket
 *           has its listener's timeouts.
 *   inherited  the same for fds besides them that the parent passed on
 *           (hook_test's pipes at fds 40 and 41): a goroutine's poll,
 *           read and write there leave them blocking.
 *   recvpoll  recv with MSG_ERRQUEUE on a blocking socket fails with
 *           EAGAIN at once (the error queue never waits), recv with
 *           MSG_TRUNC and no buffer discards TCP bytes, and a poll for
 *           POLLIN|POLLOUT with no timeout on a socket that another
 *           goroutine is blocked reading returns POLLOUT at once;
 *           O_NONBLOCK that the program set and cleared on a pipe the
 *           runtime never used is cleared on the file.
 *   spawn   an inetd-style server: a goroutine accepts and hands the
 *           socket to a child (cat) as its standard input and output,
 *           and the client's bytes come back through it; the child
 *           must find the socket blocking on the file, as accept(2)
 *           makes it (it reports its flags from /proc first). A socket
 *           a goroutine connects is blocking on the file too, and so
 *           are one whose O_NONBLOCK the program sets and clears, and
 *           one the runtime first takes at a write.
 *   first   (no runtime) setsockopt as the process's first hooked call,
 *           as a server sets SO_REUSEADDR before it starts the runtime.
 * Exit status 0 on success; a failed check exits 1 with its message.
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gort_util.h"

#define SEC 1000000000LL

static int64_t now(void)
{
	return gort_nanotime();
}

/* Threads of this process, from /proc/self/status. */
static int nthreads(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	CHECK(f != NULL);
	char line[256];
	int n = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* As many fd pairs as the fd limit allows, up to want. */
static int fitpairs(int want)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	long room = ((long)rl.rlim_cur - 64) / 2;
	return room < want ? (int)room : want;
}

/* ---- sleep ---- */

enum { NSLEEP = 1000, NSLEEP1 = 4 };
static gort_waitgroup sleepwg;
static atomic_int sleepbad;
static int blockedpipe[2];
static atomic_int blockedgot = -1;

static void sleeper(void *arg)
{
	int i = (int)(intptr_t)arg;
	int64_t t0 = now(), want = 100 * MS;
	struct timespec ts = {0, 100 * MS};
	switch (i % 4) {
	case 0:
		CHECK_EQ(usleep(100000), 0);
		break;
	case 1:
		CHECK_EQ(nanosleep(&ts, NULL), 0);
		break;
	case 2:
		CHECK_EQ(poll(NULL, 0, 100), 0);
		break;
	default:
		CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), 0);
		break;
	}
	if (now() - t0 < want)
		atomic_fetch_add(&sleepbad, 1);
	gort_wg_done(&sleepwg);
}

static void longsleeper(void *arg)
{
	(void)arg;
	int64_t t0 = now();
	CHECK_EQ(sleep(1), 0u);
	if (now() - t0 < SEC)
		atomic_fetch_add(&sleepbad, 1);
	gort_wg_done(&sleepwg);
}

static void blockedreader(void *arg)
{
	(void)arg;
	char c = 0;
	ssize_t r = read(blockedpipe[0], &c, 1);
	atomic_store(&blockedgot, r == 1 ? c : -2);
}

static int mode_sleep(void *arg)
{
	(void)arg;
	CHECK(pipe(blockedpipe) == 0);
	gort_go(blockedreader, NULL);
	settle();
	int n = NSLEEP;
	int64_t t0 = now();
	gort_wg_add(&sleepwg, n + NSLEEP1);
	for (int i = 0; i < n; i++)
		gort_go(sleeper, (void *)(intptr_t)i);
	for (int i = 0; i < NSLEEP1; i++)
		gort_go(longsleeper, NULL);
	gort_wg_wait(&sleepwg);
	int64_t took = now() - t0;
	CHECK_EQ(atomic_load(&sleepbad), 0);
	fprintf(stderr, "sleep: %d goroutines slept 100 ms and %d slept 1 s in %.0f ms\n", n,
	        NSLEEP1, (double)took / MS);
	/* In turn they would take 104 s; concurrently about 1 s. */
	CHECK(took < 20 * SEC);
	CHECK_EQ(atomic_load(&blockedgot), -1); /* still blocked */
	CHECK_EQ(write(blockedpipe[1], "z", 1), 1);
	int64_t deadline = now() + 10 * SEC;
	while (atomic_load(&blockedgot) == -1 && now() < deadline)
		usleep(1000);
	CHECK_EQ(atomic_load(&blockedgot), 'z');
	close(blockedpipe[0]);
	close(blockedpipe[1]);
	return 0;
}

/* ---- read ---- */

enum { NREAD = 1000 };
static int rdfds[NREAD][2];
static atomic_int rdstarted, rdok;
static gort_waitgroup rdwg;

static void reader(void *arg)
{
	int i = (int)(intptr_t)arg;
	unsigned char c = 0;
	atomic_fetch_add(&rdstarted, 1);
	ssize_t r = (i % 4 == 1) ? recv(rdfds[i][0], &c, 1, 0) : read(rdfds[i][0], &c, 1);
	if (r == 1 && c == (unsigned char)i)
		atomic_fetch_add(&rdok, 1);
	gort_wg_done(&rdwg);
}

enum { BIG = 1 << 20 };
static unsigned char bigbuf[BIG], bigin[BIG];
static int bigpipe[2];
static gort_waitgroup bigwg;

static void bigwriter(void *arg)
{
	(void)arg;
	CHECK_EQ(write(bigpipe[1], bigbuf, BIG), (ssize_t)BIG);
	gort_wg_done(&bigwg);
}

static void bigreader(void *arg)
{
	(void)arg;
	size_t got = 0;
	while (got < BIG) {
		ssize_t r = read(bigpipe[0], bigin + got, BIG - got);
		CHECK(r > 0);
		got += (size_t)r;
	}
	gort_wg_done(&bigwg);
}

static int mode_read(void *arg)
{
	(void)arg;
	int n = fitpairs(NREAD);
	CHECK(n >= 100);
	for (int i = 0; i < n; i++) {
		if (i % 2 == 0)
			CHECK(pipe(rdfds[i]) == 0);
		else
			CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, rdfds[i]) == 0);
	}
	gort_wg_add(&rdwg, n);
	int64_t t0 = now();
	for (int i = 0; i < n; i++)
		gort_go(reader, (void *)(intptr_t)i);
	wait_flag(&rdstarted, n);
	settle();
	int threads = nthreads();
	/* All n are blocked in read now: on the netpoller, not on threads. */
	CHECK(threads < 32);
	for (int i = n - 1; i >= 0; i--) {
		unsigned char c = (unsigned char)i;
		if (i % 4 == 3)
			CHECK_EQ(send(rdfds[i][1], &c, 1, 0), 1);
		else
			CHECK_EQ(write(rdfds[i][1], &c, 1), 1);
	}
	gort_wg_wait(&rdwg);
	CHECK_EQ(atomic_load(&rdok), n);
	fprintf(stderr, "read: %d goroutines blocked in read at once on %d threads; all done in %.0f ms\n",
	        n, threads, (double)(now() - t0) / MS);
	for (int i = 0; i < n; i++) {
		close(rdfds[i][0]);
		close(rdfds[i][1]);
	}

	for (int i = 0; i < BIG; i++)
		bigbuf[i] = (unsigned char)(i * 7 + i / 251);
	CHECK(pipe(bigpipe) == 0);
	gort_wg_add(&bigwg, 2);
	gort_go(bigwriter, NULL); /* runs first: parks when the pipe is full */
	gort_go(bigreader, NULL);
	gort_wg_wait(&bigwg);
	CHECK(memcmp(bigbuf, bigin, BIG) == 0);
	close(bigpipe[0]);
	close(bigpipe[1]);
	return 0;
}

/* ---- calls ---- */

static int pp[2], pq[2];

static void late_writer(void *arg)
{
	int fd = (int)(intptr_t)arg;
	usleep(30000);
	CHECK_EQ(write(fd, "x", 1), 1);
}

static int listener(struct sockaddr_in *sa)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(l >= 0);
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(l, (struct sockaddr *)sa, sizeof *sa) == 0);
	socklen_t len = sizeof *sa;
	CHECK(getsockname(l, (struct sockaddr *)sa, &len) == 0);
	CHECK(listen(l, 16) == 0);
	return l;
}

static int lfd;
static gort_waitgroup srvwg;

static void server(void *arg)
{
	(void)arg;
	int c = accept(lfd, NULL, NULL);
	CHECK(c >= 0);
	CHECK_EQ(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
	CHECK_EQ(fcntl(c, F_GETFD) & FD_CLOEXEC, 0);
	char buf[64];
	ssize_t r;
	while ((r = recv(c, buf, sizeof buf, 0)) > 0)
		CHECK_EQ(send(c, buf, (size_t)r, 0), r);
	CHECK_EQ(r, 0);
	close(c);
	gort_wg_done(&srvwg);
}

/* A request the kernel cannot read (nothing mapped at its address, or
 * its second half past the end of a mapping) fails with EFAULT, as
 * nanosleep(2) and clock_nanosleep(2) fail, instead of faulting in the
 * hook. An invalid rem is no error: it is written only when a signal cuts
 * the sleep short, which a goroutine's sleep never is. */
static void sleep_efault(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	               -1, 0);
	CHECK(m != MAP_FAILED);
	CHECK(mprotect(m + pg, (size_t)pg, PROT_NONE) == 0);
	struct timespec *bad[] = {(struct timespec *)1,
	                          (struct timespec *)(m + pg - sizeof(struct timespec) / 2)};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct timespec *volatile req = bad[i]; /* hidden from the compiler */
		CHECK_FAILS(nanosleep(req, NULL), EFAULT);
		CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, req, NULL), EFAULT);
		CHECK_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, req, NULL), EFAULT);
	}
	struct timespec brief = {0, 1000};
	struct timespec *volatile rem = (struct timespec *)1;
	CHECK_EQ(nanosleep(&brief, rem), 0);
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &brief, rem), 0);
	munmap(m, (size_t)pg * 2);
}

static int mode_calls(void *arg)
{
	(void)arg;
	signal(SIGPIPE, SIG_IGN);
	char c;

	/* EAGAIN on a pipe the program made non-blocking. */
	CHECK(pipe(pp) == 0);
	int fl = fcntl(pp[0], F_GETFL);
	CHECK(fcntl(pp[0], F_SETFL, fl | O_NONBLOCK) == 0);
	CHECK_FAILS(read(pp[0], &c, 1), EAGAIN);
	CHECK(fcntl(pp[0], F_GETFL) & O_NONBLOCK);
	/* Back to blocking: a read parks until the data comes. */
	CHECK(fcntl(pp[0], F_SETFL, fl) == 0);
	CHECK_EQ(fcntl(pp[0], F_GETFL) & O_NONBLOCK, 0);
	gort_go(late_writer, (void *)(intptr_t)pp[1]);
	int64_t t0 = now();
	CHECK_EQ(read(pp[0], &c, 1), 1);
	CHECK(now() - t0 >= 25 * MS);
	CHECK_EQ(c, 'x');
	/* The runtime made it non-blocking; the program still sees its own view. */
	CHECK_EQ(fcntl(pp[0], F_GETFL) & O_NONBLOCK, 0);
	CHECK(fcntl(pp[0], F_SETFL, fl | O_NONBLOCK) == 0);
	CHECK_FAILS(read(pp[0], &c, 1), EAGAIN);
	CHECK(fcntl(pp[0], F_SETFL, fl) == 0);

	/* EBADF: a negative fd and a closed one. */
	CHECK_FAILS(read(-1, &c, 1), EBADF);
	int spare[2];
	CHECK(pipe(spare) == 0);
	close(spare[0]);
	close(spare[1]);
	CHECK_FAILS(read(spare[0], &c, 1), EBADF);
	CHECK_FAILS(write(spare[1], "x", 1), EBADF);
	/* EPIPE: the reader is gone. ENOTSOCK: recv on a pipe. */
	CHECK(pipe(pq) == 0);
	close(pq[0]);
	CHECK_FAILS(write(pq[1], "x", 1), EPIPE);
	close(pq[1]);
	CHECK_FAILS(recv(pp[0], &c, 1, 0), ENOTSOCK);
	/* EINVAL: a bad nanosleep. */
	struct timespec bad = {0, 2000000000};
	CHECK_FAILS(nanosleep(&bad, NULL), EINVAL);
	sleep_efault();

	/* poll: a timeout, one fd, two fds. */
	struct pollfd pfd[2] = {{pp[0], POLLIN, 0}, {-1, 0, 0}};
	t0 = now();
	CHECK_EQ(poll(pfd, 1, 50), 0);
	CHECK(now() - t0 >= 49 * MS);
	gort_go(late_writer, (void *)(intptr_t)pp[1]);
	CHECK_EQ(poll(pfd, 1, 5000), 1);
	CHECK_EQ(pfd[0].revents, POLLIN);
	CHECK_EQ(read(pp[0], &c, 1), 1);
	CHECK(pipe(pq) == 0);
	pfd[0] = (struct pollfd){pp[0], POLLIN, 0};
	pfd[1] = (struct pollfd){pq[0], POLLIN | POLLPRI, 0};
	gort_go(late_writer, (void *)(intptr_t)pq[1]);
	t0 = now();
	CHECK_EQ(poll(pfd, 2, 5000), 1);
	CHECK(now() - t0 >= 25 * MS);
	CHECK_EQ(pfd[0].revents, 0);
	CHECK_EQ(pfd[1].revents, POLLIN);
	CHECK_EQ(poll(pfd, 2, 30), 1); /* still readable */
	CHECK_EQ(read(pq[0], &c, 1), 1);
	t0 = now();
	CHECK_EQ(poll(pfd, 2, 40), 0);
	CHECK(now() - t0 >= 39 * MS);
	close(pq[1]);
	CHECK_EQ(poll(pfd, 2, 5000), 1);
	CHECK_EQ(pfd[1].revents, POLLHUP);
	close(pq[0]);
	/* A NULL array with fds to watch: EFAULT, as poll(2) says. */
	struct pollfd *volatile nofds = NULL; /* hidden from -Wnonnull */
	CHECK_FAILS(poll(nofds, 1, 100), EFAULT);

	/* TCP on loopback with blocking sockets. */
	struct sockaddr_in sa;
	lfd = listener(&sa);
	gort_wg_add(&srvwg, 1);
	gort_go(server, NULL);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	CHECK(connect(s, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK_EQ(fcntl(s, F_GETFL) & O_NONBLOCK, 0);
	CHECK_FAILS(connect(s, (struct sockaddr *)&sa, sizeof sa), EISCONN);
	for (int i = 0; i < 100; i++) {
		char out[32], in[32];
		int len = snprintf(out, sizeof out, "message %d", i);
		CHECK_EQ(send(s, out, (size_t)len, 0), len);
		size_t got = 0;
		while (got < (size_t)len) {
			ssize_t r = read(s, in + got, (size_t)len - got);
			CHECK(r > 0);
			got += (size_t)r;
		}
		CHECK(memcmp(in, out, (size_t)len) == 0);
	}
	/* MSG_WAITALL waits for every byte, sent in two parts here. */
	CHECK_EQ(send(s, "wait", 4, 0), 4);
	char all[8];
	CHECK_EQ(recv(s, all, 4, MSG_WAITALL), 4); /* the echo of "wait" */
	gort_go(late_writer, (void *)(intptr_t)s); /* "x" after 30 ms */
	CHECK_EQ(send(s, "abc", 3, 0), 3);
	t0 = now();
	CHECK_EQ(recv(s, all, 4, MSG_WAITALL), 4);
	CHECK(now() - t0 >= 25 * MS);
	CHECK(memcmp(all, "abcx", 4) == 0);
	close(s);
	gort_wg_wait(&srvwg);
	close(lfd);
	/* Nobody listens there now. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_FAILS(connect(s, (struct sockaddr *)&sa, sizeof sa), ECONNREFUSED);
	close(s);
	close(pp[0]);
	close(pp[1]);
	fprintf(stderr, "calls: errno, fcntl view, poll and TCP as libc's\n");
	return 0;
}

/* ---- thread ---- */

static int tp[2];
static atomic_int tp_reading; /* the reader is about to read */

/* The writer waits for the reader's flag before its pause: a reader
 * thread that started late would find the byte there already, and its
 * read could not show that it waited. */
static void *thread_reader(void *arg)
{
	(void)arg;
	char c = 0;
	int64_t t0 = now();
	atomic_store(&tp_reading, 1);
	ssize_t r = read(tp[0], &c, 1);
	CHECK_EQ(r, 1);
	CHECK_EQ(c, 'y');
	CHECK(now() - t0 >= 80 * MS);
	return NULL;
}

static void *thread_writer(void *arg)
{
	(void)arg;
	while (!atomic_load(&tp_reading))
		CHECK_EQ(usleep(1000), 0);
	CHECK_EQ(usleep(100000), 0);
	CHECK_EQ(write(tp[1], "y", 1), 1);
	return NULL;
}

static void plain_checks(void)
{
	char c;
	CHECK(pipe(tp) == 0);
	atomic_store(&tp_reading, 0);
	pthread_t r, w;
	CHECK(pthread_create(&r, NULL, thread_reader, NULL) == 0);
	CHECK(pthread_create(&w, NULL, thread_writer, NULL) == 0);
	pthread_join(r, NULL);
	pthread_join(w, NULL);
	int fl = fcntl(tp[0], F_GETFL);
	CHECK(fcntl(tp[0], F_SETFL, fl | O_NONBLOCK) == 0);
	CHECK_FAILS(read(tp[0], &c, 1), EAGAIN);
	CHECK_FAILS(read(-1, &c, 1), EBADF);
	CHECK(fcntl(tp[0], F_SETFL, fl) == 0);
	int64_t t0 = now();
	CHECK_EQ(usleep(50000), 0);
	CHECK(now() - t0 >= 50 * MS);
	close(tp[0]);
	close(tp[1]);
}

static void *plain_thread(void *arg)
{
	(void)arg;
	plain_checks();
	return NULL;
}

static void goroutine_writer(void *arg)
{
	(void)arg;
	while (!atomic_load(&tp_reading))
		usleep(1000);
	usleep(100000);
	CHECK_EQ(write(tp[1], "y", 1), 1);
}

static int mode_thread_rt(void *arg)
{
	(void)arg;
	/* On a plain thread while the runtime runs. */
	pthread_t th;
	CHECK(pthread_create(&th, NULL, plain_thread, NULL) == 0);
	join_thread(th);
	/* A pipe a goroutine used (the runtime made it non-blocking): a
	 * plain thread's read still blocks until the data comes. */
	CHECK(pipe(tp) == 0);
	CHECK_EQ(write(tp[1], "a", 1), 1);
	char c;
	CHECK_EQ(read(tp[0], &c, 1), 1);
	atomic_store(&tp_reading, 0);
	CHECK(pthread_create(&th, NULL, thread_reader, NULL) == 0);
	gort_go(goroutine_writer, NULL);
	join_thread(th);
	close(tp[0]);
	close(tp[1]);
	fprintf(stderr, "thread: plain threads see libc's calls\n");
	return 0;
}

static int mode_thread(void *arg)
{
	/* Before the runtime, on the main thread and on another. */
	plain_checks();
	pthread_t th;
	CHECK(pthread_create(&th, NULL, plain_thread, NULL) == 0);
	pthread_join(th, NULL);
	gort_gomaxprocs(1);
	return gort_main(mode_thread_rt, arg);
}

/* ---- fdops ---- */

/* glibc's fortified entry points, called as a program built with
 * _FORTIFY_SOURCE calls them. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);

/* A dup of p[0] (a pipe a goroutine has used) reads as p[0] does: it
 * parks until late_writer's byte. */
static void check_dup(int d, int p[2])
{
	char c = 0;
	CHECK(d >= 0 && d != p[0]);
	CHECK_EQ(fcntl(d, F_GETFL) & O_NONBLOCK, 0);
	gort_go(late_writer, (void *)(intptr_t)p[1]);
	CHECK_EQ(read(d, &c, 1), 1);
	CHECK_EQ(c, 'x');
	close(d);
}

/* A goroutine parked reading p[0] when the program dup2s another pipe
 * onto it: the reader fails with EBADF, as after close, and p[0] is the
 * new pipe from then on, read through the netpoller. */
static int dpfd;
static atomic_int dpdone;
static ssize_t dpr;
static int dperr;

static void dup_reader(void *arg)
{
	(void)arg;
	char c;
	dpr = read(dpfd, &c, 1);
	dperr = read_errno();
	atomic_store(&dpdone, 1);
	gort_wg_done(&helpers_wg);
}

static void check_dup2_over(int p[2])
{
	int q[2];
	char c = 0;
	CHECK(pipe(q) == 0);
	dpfd = p[0];
	wait_parked(start_helper(dup_reader, NULL), "IO wait");
	CHECK_EQ(dup2(q[0], p[0]), p[0]);
	wait_flag(&dpdone, 1);
	gort_wg_wait(&helpers_wg);
	CHECK_EQ(dpr, -1);
	CHECK_EQ(dperr, EBADF);
	gort_go(late_writer, (void *)(intptr_t)q[1]);
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(c, 'x');
	close(q[0]);
	close(q[1]);
}

/* close_range (from: closefrom) over an fd a goroutine is reading wakes
 * it with EBADF, and a later fd with that number then reads its own
 * file. The fd is placed high, so that closefrom closes it alone. */
static void check_close_many(bool from)
{
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	int base = rl.rlim_cur > 1000 ? 700 : (int)rl.rlim_cur / 2;
	int p[2], q[2];
	char c = 0;
	CHECK(pipe(p) == 0);
	int h = fcntl(p[0], F_DUPFD, base);
	CHECK(h >= base);
	close(p[0]);
	dpfd = h;
	atomic_store(&dpdone, 0);
	wait_parked(start_helper(dup_reader, NULL), "IO wait");
	if (from)
		closefrom(h);
	else
		CHECK_EQ(close_range((unsigned)h, (unsigned)h, 0), 0);
	wait_flag(&dpdone, 1);
	gort_wg_wait(&helpers_wg);
	CHECK_EQ(dpr, -1);
	CHECK_EQ(dperr, EBADF);
	CHECK(pipe(q) == 0);
	CHECK_EQ(fcntl(q[0], F_DUPFD, h), h); /* not dup2, which forgets h itself */
	gort_go(late_writer, (void *)(intptr_t)q[1]);
	CHECK_EQ(read(h, &c, 1), 1);
	CHECK_EQ(c, 'x');
	close(h);
	close(q[0]);
	close(q[1]);
	close(p[1]);
}

enum { NCHK = 100 };
static int chkfds[NCHK][2];
static atomic_int chkstarted, chkok;
static gort_waitgroup chkwg;

static void chk_reader(void *arg)
{
	int i = (int)(intptr_t)arg;
	char buf[4];
	volatile size_t n = 1; /* not a constant: the checked call */
	ssize_t r = -1;
	atomic_fetch_add(&chkstarted, 1);
	if (i % 3 == 0) {
		r = __read_chk(chkfds[i][0], buf, n, sizeof buf);
	} else if (i % 3 == 1) {
		r = __recv_chk(chkfds[i][0], buf, n, sizeof buf, 0);
	} else {
		struct pollfd pfd = {chkfds[i][0], POLLIN, 0};
		if (__poll_chk(&pfd, 1, -1, sizeof pfd) == 1 && pfd.revents == POLLIN)
			r = read(chkfds[i][0], buf, n);
	}
	if (r == 1 && buf[0] == (char)i)
		atomic_fetch_add(&chkok, 1);
	gort_wg_done(&chkwg);
}

static int mode_fdops(void *arg)
{
	(void)arg;
	char c;
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK_EQ(write(p[1], "a", 1), 1); /* the runtime makes both ends non-blocking */
	CHECK_EQ(read(p[0], &c, 1), 1);
	check_dup(dup(p[0]), p);
	check_dup(dup2(p[0], p[1] + 10), p);
	check_dup(dup3(p[0], p[1] + 11, O_CLOEXEC), p);
	check_dup(fcntl(p[0], F_DUPFD, p[1] + 12), p);
	check_dup(fcntl(p[0], F_DUPFD_CLOEXEC, 0), p);

	/* errno is left alone by calls that succeed, also after they parked
	 * and met EAGAIN on the way. */
	gort_go(late_writer, (void *)(intptr_t)p[1]);
	write_errno(12345);
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(read_errno(), 12345);
	struct pollfd pfd[2] = {{p[0], POLLIN, 0}, {-1, 0, 0}};
	gort_go(late_writer, (void *)(intptr_t)p[1]);
	write_errno(12345);
	CHECK_EQ(poll(pfd, 1, 5000), 1);
	CHECK_EQ(read_errno(), 12345);
	CHECK_EQ(read(p[0], &c, 1), 1);
	write_errno(12345);
	CHECK_EQ(usleep(1000), 0);
	CHECK_EQ(read_errno(), 12345);

	/* More fds than the limit: poll(2)'s EINVAL, before anything reads
	 * past the array (an emulator, qemu-user, checks the array first:
	 * EFAULT). */
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	volatile nfds_t toomany = (nfds_t)rl.rlim_cur + 1;
	errno = 0;
	CHECK_EQ(poll(pfd, toomany, 100), -1);
	CHECK(errno == EINVAL || errno == EFAULT);
	check_dup2_over(p);
	close(p[0]);
	close(p[1]);
	check_close_many(false);
	check_close_many(true);

	/* The fortified entry points are routed as the plain ones. */
	int n = fitpairs(NCHK);
	for (int i = 0; i < n; i++)
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, chkfds[i]) == 0);
	gort_wg_add(&chkwg, n);
	for (int i = 0; i < n; i++)
		gort_go(chk_reader, (void *)(intptr_t)i);
	wait_flag(&chkstarted, n);
	settle();
	int threads = nthreads();
	CHECK(threads < 32);
	for (int i = 0; i < n; i++) {
		c = (char)i;
		CHECK_EQ(write(chkfds[i][1], &c, 1), 1);
	}
	gort_wg_wait(&chkwg);
	CHECK_EQ(atomic_load(&chkok), n);
	for (int i = 0; i < n; i++) {
		close(chkfds[i][0]);
		close(chkfds[i][1]);
	}
	fprintf(stderr, "fdops: dups, errno, poll's limit; %d goroutines in __read_chk, "
	                "__recv_chk, __poll_chk on %d threads\n", n, threads);
	return 0;
}

/* ---- fork ---- */

static int fksv[2], fkpipe[2];
static atomic_int fkgot = -1;

static void fork_reader(void *arg)
{
	(void)arg;
	char c = 0;
	ssize_t r = read(fksv[0], &c, 1);
	atomic_store(&fkgot, r == 1 ? c : -2);
}

static int mode_fork(void *arg)
{
	(void)arg;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fksv) == 0);
	CHECK(pipe(fkpipe) == 0);
	gort_go(fork_reader, NULL);
	settle(); /* parked on the netpoller */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* The child: what a child does before exec, with libc's calls
		 * (the runtime is the parent's). */
		close(fksv[0]);
		char c = 'k';
		int ok = write(fkpipe[1], &c, 1) == 1;
		struct timespec ts = {0, 1000000};
		ok = ok && usleep(1000) == 0 && nanosleep(&ts, NULL) == 0;
		_exit(ok ? 0 : 3);
	}
	int st = 0;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char c = 0;
	CHECK_EQ(read(fkpipe[0], &c, 1), 1);
	CHECK_EQ(c, 'k');
	/* The child's close did not take the socket from the parent's
	 * netpoller: the reader still wakes. */
	CHECK_EQ(atomic_load(&fkgot), -1);
	CHECK_EQ(write(fksv[1], "z", 1), 1);
	int64_t deadline = now() + 10 * SEC;
	while (atomic_load(&fkgot) == -1 && now() < deadline)
		usleep(1000);
	CHECK_EQ(atomic_load(&fkgot), 'z');
	close(fksv[0]);
	close(fksv[1]);
	close(fkpipe[0]);
	close(fkpipe[1]);
	fprintf(stderr, "fork: the child's calls were libc's\n");
	return 0;
}

/* ---- signal ---- */

enum { SIGCHUNK = 1 << 20, SIGCHUNKS = 64 };
static int sgpipe[2];
static atomic_long sghits;
static atomic_int sgdone;
static unsigned char sgbuf[SIGCHUNK];
static gort_waitgroup sgwg;

/* The self-pipe: a write(2) from a handler, on whichever thread the
 * signal came to. */
static void selfpipe(int sig)
{
	(void)sig;
	int e = errno;
	char c = 's';
	if (write(sgpipe[1], &c, 1) == 1)
		atomic_fetch_add(&sghits, 1);
	errno = e;
}

static void sg_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < SIGCHUNKS; i++)
		CHECK_EQ(write(sgpipe[1], sgbuf, SIGCHUNK), (ssize_t)SIGCHUNK);
	atomic_store(&sgdone, 1);
	gort_wg_done(&sgwg);
}

static void sg_drain(void *arg)
{
	(void)arg;
	static char b[1 << 16];
	while (read(sgpipe[0], b, sizeof b) > 0)
		;
}

/* A goroutine's poll that times out while signals keep coming: 0, never
 * EINTR (its wait is a parked goroutine, which no signal can break; the
 * looks it makes on the way must not show one either). Poller 0 only
 * looks (timeout 0). */
enum { NPOLLERS = 4 };
static int sgidle[2];
static atomic_int sgpolls, sgpollbad, sgpolldone;
static gort_waitgroup sgpollwg;

static void sg_poller(void *arg)
{
	int timeout = arg ? 1 : 0;
	struct pollfd pfd = {sgidle[0], POLLIN, 0};
	while (!atomic_load(&sgpolldone)) {
		int r = poll(&pfd, 1, timeout);
		if (r != 0) {
			if (atomic_fetch_add(&sgpollbad, 1) == 0)
				fprintf(stderr, "poll: %d (%s)\n", r, strerror(errno));
		}
		atomic_fetch_add(&sgpolls, 1);
	}
	gort_wg_done(&sgpollwg);
}

static void check_poll_signals(void)
{
	CHECK(pipe(sgidle) == 0);
	gort_wg_add(&sgpollwg, NPOLLERS);
	for (int i = 0; i < NPOLLERS; i++)
		gort_go(sg_poller, (void *)(intptr_t)i);
	struct itimerval it = {{0, 50}, {0, 50}}, off = {{0, 0}, {0, 0}};
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	usleep(500000);
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	atomic_store(&sgpolldone, 1);
	gort_wg_wait(&sgpollwg);
	CHECK_EQ(atomic_load(&sgpollbad), 0);
	CHECK(atomic_load(&sgpolls) > 0);
	close(sgidle[0]);
	close(sgidle[1]);
	fprintf(stderr, "signal: %d polls timed out under a signal every 50 us\n",
	        atomic_load(&sgpolls));
}

static atomic_int oneshot_ran;

static void oneshot(int sig)
{
	(void)sig;
	atomic_store(&oneshot_ran, 1);
}

static int mode_signal(void *arg)
{
	(void)arg;
	CHECK(pipe(sgpipe) == 0);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = selfpipe;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	CHECK(sigaction(SIGALRM, NULL, &old) == 0);
	CHECK(old.sa_handler == selfpipe);
	CHECK_EQ(old.sa_flags & SA_SIGINFO, 0);
	gort_go(sg_drain, NULL);
	gort_wg_add(&sgwg, 1);
	gort_go(sg_writer, NULL);
	struct itimerval it = {{0, 500}, {0, 500}}, off = {{0, 0}, {0, 0}};
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	int64_t deadline = now() + 20 * SEC;
	while (!atomic_load(&sgdone) && now() < deadline)
		usleep(10000);
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	CHECK_EQ(atomic_load(&sgdone), 1);
	gort_wg_wait(&sgwg);
	CHECK(atomic_load(&sghits) > 0);
	check_poll_signals();
	CHECK(signal(SIGALRM, SIG_IGN) == selfpipe);
	fprintf(stderr, "signal: %d MiB written beside %ld handler writes\n", SIGCHUNKS,
	        atomic_load(&sghits));

	/* A one-shot handler is SIG_DFL again once it ran. */
	sa.sa_handler = oneshot;
	sa.sa_flags = SA_RESETHAND;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK_EQ(atomic_load(&oneshot_ran), 1);
	CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
	CHECK(old.sa_handler == SIG_DFL);
	close(sgpipe[1]); /* the drainer sees the end */
	return 0;
}

/* ---- stdio ---- */

static bool kernel_nonblock(int fd)
{
	long fl = syscall(SYS_fcntl, fd, F_GETFL);
	CHECK(fl >= 0);
	return (fl & O_NONBLOCK) != 0;
}

static void stdio_writer(void *arg)
{
	int fd = (int)(intptr_t)arg;
	static const char msg[] = "stdio: a goroutine's write\n";
	CHECK_EQ(write(fd, msg, sizeof msg - 1), (ssize_t)(sizeof msg - 1));
	struct pollfd pfd = {fd, POLLOUT, 0};
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
}

static int mode_stdio(void *arg)
{
	(void)arg;
	CHECK(!kernel_nonblock(2));
	stdio_writer((void *)(intptr_t)2);
	CHECK(!kernel_nonblock(2));
	/* O_NONBLOCK that the program sets there and clears again is gone
	 * from the file: the runtime never sets it on a standard stream, so
	 * there is none of its own to keep. */
	int fl = fcntl(2, F_GETFL);
	CHECK(fl >= 0 && !(fl & O_NONBLOCK));
	CHECK_EQ(fcntl(2, F_SETFL, fl | O_NONBLOCK), 0);
	CHECK(kernel_nonblock(2));
	CHECK(fcntl(2, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(fcntl(2, F_SETFL, fl), 0);
	bool left = kernel_nonblock(2);
	if (left) /* blocking again before the report, for the parent */
		CHECK(syscall(SYS_fcntl, 2, F_SETFL, fl) == 0);
	CHECK(!left);
	CHECK_EQ(fcntl(2, F_GETFL) & O_NONBLOCK, 0);
	stdio_writer((void *)(intptr_t)2);
	int d = dup(2);
	CHECK(d >= 0);
	stdio_writer((void *)(intptr_t)d);
	CHECK(!kernel_nonblock(2));
	close(d);
	/* A pipe the program made, dup'ed onto a standard stream's number,
	 * is the program's own: routed as any other. */
	int p[2], saved = dup(0);
	CHECK(saved >= 0 && pipe(p) == 0);
	CHECK_EQ(dup2(p[0], 0), 0);
	gort_go(late_writer, (void *)(intptr_t)p[1]);
	char c = 0;
	CHECK_EQ(read(0, &c, 1), 1);
	CHECK_EQ(c, 'x');
	CHECK(kernel_nonblock(0));
	CHECK_EQ(fcntl(0, F_GETFL) & O_NONBLOCK, 0);
	CHECK_EQ(dup2(saved, 0), 0);
	close(saved);
	close(p[0]);
	close(p[1]);
	return 0;
}

/* ---- timeo ---- */

/* SO_RCVTIMEO and SO_SNDTIMEO: a blocking socket call that waits that
 * long fails with EAGAIN, or returns what it moved before; accept takes
 * the receive timeout, and an accepted socket inherits its listener's.
 * Each call runs in a goroutine that the main one waits for (a call
 * that ignored the timeout would wait for ever). */
enum { TIMEO_MS = 50 };
static int tosv[2];
static atomic_int todone;

static void set_timeo(int fd, int opt)
{
	struct timeval tv = {0, TIMEO_MS * 1000};
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv), 0);
}

/* Checks that call, started at t0, failed with EAGAIN after the timeout. */
#define CHECK_TIMED_OUT(call)                                             \
	do {                                                              \
		int64_t t0_ = now();                                      \
		CHECK_FAILS(call, EAGAIN);                                \
		CHECK(now() - t0_ >= (TIMEO_MS - 5) * MS);                \
	} while (0)

static void timeo_reads(void *arg)
{
	(void)arg;
	char buf[8];
	struct iovec iov = {buf, sizeof buf};
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof from;
	CHECK_TIMED_OUT(read(tosv[0], buf, sizeof buf));
	CHECK_TIMED_OUT(recv(tosv[0], buf, sizeof buf, 0));
	CHECK_TIMED_OUT(recvfrom(tosv[0], buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen));
	CHECK_TIMED_OUT(readv(tosv[0], &iov, 1));
	/* What came before the timeout. */
	CHECK_EQ(write(tosv[1], "ab", 2), 2);
	int64_t t0 = now();
	CHECK_EQ(recv(tosv[0], buf, 4, MSG_WAITALL), 2);
	CHECK(now() - t0 >= (TIMEO_MS - 5) * MS);
	CHECK(memcmp(buf, "ab", 2) == 0);
	/* A byte that comes within the timeout is read. */
	struct timeval tv = {60, 0};
	CHECK_EQ(setsockopt(tosv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	gort_go(late_writer, (void *)(intptr_t)tosv[1]);
	CHECK_EQ(read(tosv[0], buf, sizeof buf), 1);
	CHECK_EQ(buf[0], 'x');
	/* No timeout (0): the read parks until the byte comes. */
	tv.tv_sec = 0;
	CHECK_EQ(setsockopt(tosv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	gort_go(late_writer, (void *)(intptr_t)tosv[1]);
	CHECK_EQ(read(tosv[0], buf, sizeof buf), 1);
	set_timeo(tosv[0], SO_RCVTIMEO);
	atomic_fetch_add(&todone, 1);
}

/* A full socket: writes fail with EAGAIN after the timeout, or return
 * what fitted. */
static void timeo_writes(void *arg)
{
	(void)arg;
	static char big[1 << 16];
	while (send(tosv[1], big, sizeof big, MSG_DONTWAIT) > 0)
		;
	struct iovec iov = {big, sizeof big};
	CHECK_TIMED_OUT(write(tosv[1], big, sizeof big));
	CHECK_TIMED_OUT(send(tosv[1], big, sizeof big, 0));
	CHECK_TIMED_OUT(writev(tosv[1], &iov, 1));
	/* Room for some, not for 4 MiB: the count of what went before the
	 * timeout. */
	static char huge[4 << 20];
	while (recv(tosv[0], big, sizeof big, MSG_DONTWAIT) > 0)
		;
	int64_t t0 = now();
	ssize_t w = write(tosv[1], huge, sizeof huge);
	CHECK(w > 0 && w < (ssize_t)sizeof huge);
	while (recv(tosv[0], big, sizeof big, MSG_DONTWAIT) > 0)
		;
	CHECK(now() - t0 >= (TIMEO_MS - 5) * MS);
	atomic_fetch_add(&todone, 1);
}

static void *timeo_thread(void *arg)
{
	(void)arg;
	char c;
	CHECK_TIMED_OUT(read(tosv[0], &c, 1));
	return NULL;
}

static int tolfd;
static struct sockaddr_in tosa;

static void timeo_accept(void *arg)
{
	(void)arg;
	CHECK_TIMED_OUT(accept(tolfd, NULL, NULL));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_EQ(connect(c, (struct sockaddr *)&tosa, sizeof tosa), 0);
	int a = accept(tolfd, NULL, NULL);
	CHECK(a >= 0);
	char ch;
	CHECK_TIMED_OUT(read(a, &ch, 1)); /* the listener's timeout */
	close(a);
	close(c);
	atomic_fetch_add(&todone, 1);
}

/* connect to an AF_UNIX listener whose queue is full waits for room:
 * with a send timeout, EAGAIN once it has passed. */
static void timeo_connect(void *arg)
{
	(void)arg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "gort-hook-timeo-%d", (int)getpid());
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	                            strlen(sa.sun_path + 1));
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(l >= 0);
	CHECK_EQ(bind(l, (struct sockaddr *)&sa, len), 0);
	CHECK_EQ(listen(l, 0), 0);
	int c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(c[i] >= 0);
		set_timeo(c[i], SO_SNDTIMEO);
	}
	/* The queue holds one; the next waits, and times out. */
	CHECK_EQ(connect(c[0], (struct sockaddr *)&sa, len), 0);
	int64_t t0 = now();
	int r = connect(c[1], (struct sockaddr *)&sa, len);
	if (r == 0) /* a kernel whose queue holds one more */
		r = connect(c[2], (struct sockaddr *)&sa, len);
	CHECK_EQ(r, -1);
	CHECK_EQ(read_errno(), EAGAIN);
	CHECK(now() - t0 >= (TIMEO_MS - 5) * MS);
	for (int i = 0; i < 3; i++)
		close(c[i]);
	close(l);
	atomic_fetch_add(&todone, 1);
}

static int mode_timeo(void *arg)
{
	(void)arg;
	signal(SIGPIPE, SIG_IGN);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, tosv) == 0);
	set_timeo(tosv[0], SO_RCVTIMEO);
	set_timeo(tosv[1], SO_SNDTIMEO);
	gort_go(timeo_reads, NULL);
	wait_flag(&todone, 1);
	gort_go(timeo_writes, NULL);
	wait_flag(&todone, 2);
	/* A plain thread, on a socket the runtime made non-blocking. */
	pthread_t th;
	CHECK(pthread_create(&th, NULL, timeo_thread, NULL) == 0);
	join_thread(th);
	/* accept, and a socket it makes. */
	tolfd = listener(&tosa);
	set_timeo(tolfd, SO_RCVTIMEO);
	gort_go(timeo_accept, NULL);
	wait_flag(&todone, 3);
	gort_go(timeo_connect, NULL);
	wait_flag(&todone, 4);
	close(tolfd);
	close(tosv[0]);
	close(tosv[1]);
	fprintf(stderr, "timeo: socket timeouts end reads, writes, accept and connect with EAGAIN\n");
	return 0;
}

/* ---- inherited ---- */

/* hook_test starts this mode with a pipe's read end at INHERIT_RD (a
 * byte waiting in it) and another's write end at INHERIT_WR: fds other
 * than the standard streams that the parent passed on (a shell's
 * redirection, make's jobserver). Their open file descriptions are the
 * parent's too: a goroutine's read, write and poll there leave them
 * blocking, as Go's os.NewFile leaves an inherited fd. */
enum { INHERIT_RD = 40, INHERIT_WR = 41 };

static void inherited_user(void *arg)
{
	(void)arg;
	char c = 0;
	struct pollfd pfd = {INHERIT_RD, POLLIN, 0};
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK_EQ(read(INHERIT_RD, &c, 1), 1);
	CHECK_EQ(c, 'i');
	CHECK_EQ(write(INHERIT_WR, "o", 1), 1);
	gort_wg_done(&helpers_wg);
}

static int mode_inherited(void *arg)
{
	(void)arg;
	CHECK(fcntl(INHERIT_RD, F_GETFD) >= 0 && fcntl(INHERIT_WR, F_GETFD) >= 0);
	CHECK(!kernel_nonblock(INHERIT_RD) && !kernel_nonblock(INHERIT_WR));
	start_helper(inherited_user, NULL);
	gort_wg_wait(&helpers_wg);
	CHECK(!kernel_nonblock(INHERIT_RD));
	CHECK(!kernel_nonblock(INHERIT_WR));
	CHECK_EQ(fcntl(INHERIT_RD, F_GETFL) & O_NONBLOCK, 0);
	fprintf(stderr, "inherited: a goroutine's calls left the parent's pipes blocking\n");
	return 0;
}

/* ---- recvpoll ---- */

/* [0] connected to [1] over loopback TCP, made with the hooked calls so
 * that both are the program's blocking sockets (tcp_pair's gort_accept
 * would hand over a non-blocking one). */
static int rpsv[2];
static atomic_int rpread = -1;

static void rp_reader(void *arg)
{
	(void)arg;
	char c = 0;
	atomic_store(&rpread, (int)read(rpsv[0], &c, 1));
	gort_wg_done(&helpers_wg);
}

static int mode_recvpoll(void *arg)
{
	(void)arg;
	struct sockaddr_in sa;
	int l = listener(&sa);
	rpsv[0] = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(rpsv[0] >= 0);
	CHECK_EQ(connect(rpsv[0], (struct sockaddr *)&sa, sizeof sa), 0);
	rpsv[1] = accept(l, NULL, NULL);
	CHECK(rpsv[1] >= 0);
	close(l);
	char buf[8];

	/* The error queue is empty: EAGAIN, not a wait. */
	int64_t t0 = now();
	CHECK_FAILS(recv(rpsv[0], buf, sizeof buf, MSG_ERRQUEUE), EAGAIN);
	CHECK_FAILS(recvfrom(rpsv[0], buf, sizeof buf, MSG_ERRQUEUE, NULL, NULL), EAGAIN);
	CHECK(now() - t0 < 1000 * MS);

	/* MSG_TRUNC on TCP: the bytes are dropped, no buffer needed. */
	CHECK_EQ(write(rpsv[1], "abcd", 4), 4);
	ssize_t dropped = 0;
	while (dropped < 4) {
		ssize_t r = recv(rpsv[0], NULL, (size_t)(4 - dropped), MSG_TRUNC);
		CHECK(r > 0);
		dropped += r;
	}
	CHECK_EQ(write(rpsv[1], "e", 1), 1);
	CHECK_EQ(recv(rpsv[0], buf, 1, 0), 1);
	CHECK_EQ(buf[0], 'e');

	/* A reader parked on rpsv[0]; the socket is writable all along. */
	start_helper(rp_reader, NULL);
	usleep(20000); /* the reader parks */
	struct pollfd pfd = {rpsv[0], POLLIN | POLLOUT, 0};
	t0 = now();
	CHECK_EQ(poll(&pfd, 1, -1), 1);
	CHECK(now() - t0 < 1000 * MS);
	CHECK_EQ(pfd.revents, POLLOUT);
	CHECK_EQ(atomic_load(&rpread), -1); /* the reader still waits */
	CHECK_EQ(write(rpsv[1], "f", 1), 1);
	gort_wg_wait(&helpers_wg);
	CHECK_EQ(atomic_load(&rpread), 1);
	close(rpsv[0]);
	close(rpsv[1]);

	/* O_NONBLOCK that the program set and cleared on a pipe the runtime
	 * never used is cleared on the file too. */
	int p[2];
	CHECK(pipe(p) == 0);
	int fl = fcntl(p[0], F_GETFL);
	CHECK(fcntl(p[0], F_SETFL, fl | O_NONBLOCK) == 0);
	CHECK_FAILS(read(p[0], buf, 1), EAGAIN);
	CHECK(fcntl(p[0], F_SETFL, fl) == 0);
	CHECK(!kernel_nonblock(p[0]));
	/* A read parks, and the runtime's O_NONBLOCK then stays. */
	gort_go(late_writer, (void *)(intptr_t)p[1]);
	CHECK_EQ(read(p[0], buf, 1), 1);
	CHECK(kernel_nonblock(p[0]));
	CHECK(fcntl(p[0], F_SETFL, fl) == 0);
	CHECK(kernel_nonblock(p[0]));
	CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	close(p[0]);
	close(p[1]);
	fprintf(stderr, "recvpoll: MSG_ERRQUEUE does not wait, MSG_TRUNC drops TCP bytes, "
	                "poll sees POLLOUT beside a parked reader, O_NONBLOCK set and "
	                "cleared by the program is cleared\n");
	return 0;
}

/* ---- spawn ---- */

static struct sockaddr_in sp_addr;

static void sp_client(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sp_addr, sizeof sp_addr), 0);
	CHECK(!kernel_nonblock(fd));
	int fl = fcntl(fd, F_GETFL);
	CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
	CHECK(kernel_nonblock(fd));
	CHECK(fcntl(fd, F_SETFL, fl) == 0);
	CHECK(!kernel_nonblock(fd));
	CHECK_EQ(write(fd, "ping\n", 5), 5);
	CHECK_EQ(shutdown(fd, SHUT_WR), 0);
	char buf[1024];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = 0;
	/* The child's view of its standard input, then the echo. */
	const char *flags = strstr(buf, "flags:");
	CHECK(flags != NULL);
	long fl0 = strtol(flags + 6, NULL, 8);
	if (fl0 & O_NONBLOCK)
		FAILF("the child's standard input is non-blocking (flags 0%lo)", fl0);
	CHECK(got >= 5 && memcmp(buf + got - 5, "ping\n", 5) == 0);
	close(fd);
	gort_wg_done(&helpers_wg);
}

static int mode_spawn(void *arg)
{
	(void)arg;
	int l = listener(&sp_addr);
	start_helper(sp_client, NULL);
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	close(l);
	CHECK(!kernel_nonblock(s));
	posix_spawn_file_actions_t fa;
	CHECK_EQ(posix_spawn_file_actions_init(&fa), 0);
	CHECK_EQ(posix_spawn_file_actions_adddup2(&fa, s, 0), 0);
	CHECK_EQ(posix_spawn_file_actions_adddup2(&fa, s, 1), 0);
	char *argv[] = {"sh", "-c", "cat /proc/self/fdinfo/0 && exec cat", NULL};
	char *envp[] = {NULL};
	pid_t pid;
	CHECK_EQ(posix_spawnp(&pid, "sh", &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(s);
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	gort_wg_wait(&helpers_wg);

	/* A TCP socket the runtime first takes at a routed call (accepted
	 * with a raw system call, which the hook does not see) is left
	 * blocking on the file too. */
	l = listener(&sp_addr);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_EQ(connect(c, (struct sockaddr *)&sp_addr, sizeof sp_addr), 0);
	int a = (int)syscall(SYS_accept4, l, NULL, NULL, 0);
	CHECK(a >= 0);
	CHECK_EQ(write(a, "x", 1), 1);
	CHECK(!kernel_nonblock(a));
	char x;
	CHECK_EQ(read(c, &x, 1), 1);
	close(a);
	close(c);
	close(l);
	fprintf(stderr, "spawn: a child given an accepted socket echoes through it; "
	                "connected sockets are blocking on the file\n");
	return 0;
}

/* ---- first ---- */

static int mode_first(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	CHECK(fd >= 0);
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
	close(fd);
	fprintf(stderr, "first: setsockopt as the first hooked call\n");
	return 0;
}

static int with1(int (*fn)(void *))
{
	gort_gomaxprocs(1);
	return gort_main(fn, NULL);
}

static int run_sleep(void *arg)
{
	(void)arg;
	return with1(mode_sleep);
}

static int run_read(void *arg)
{
	(void)arg;
	return with1(mode_read);
}

static int run_calls(void *arg)
{
	(void)arg;
	return with1(mode_calls);
}

static int run_fdops(void *arg)
{
	(void)arg;
	return with1(mode_fdops);
}

static int run_fork(void *arg)
{
	(void)arg;
	return with1(mode_fork);
}

static int run_signal(void *arg)
{
	(void)arg;
	gort_gomaxprocs(2);
	return gort_main(mode_signal, NULL);
}

static int run_stdio(void *arg)
{
	(void)arg;
	return with1(mode_stdio);
}

static int run_timeo(void *arg)
{
	(void)arg;
	return with1(mode_timeo);
}

static int run_inherited(void *arg)
{
	(void)arg;
	return with1(mode_inherited);
}

static int run_recvpoll(void *arg)
{
	(void)arg;
	return with1(mode_recvpoll);
}

static int run_spawn(void *arg)
{
	(void)arg;
	return with1(mode_spawn);
}

int main(int argc, char **argv)
{
	static const struct prog_mode modes[] = {
		{"sleep", run_sleep, NULL, true},
		{"read", run_read, NULL, true},
		{"calls", run_calls, NULL, true},
		{"thread", mode_thread, NULL, true},
		{"fdops", run_fdops, NULL, true},
		{"fork", run_fork, NULL, true},
		{"signal", run_signal, NULL, true},
		{"stdio", run_stdio, NULL, true},
		{"inherited", run_inherited, NULL, true},
		{"timeo", run_timeo, NULL, true},
		{"recvpoll", run_recvpoll, NULL, true},
		{"first", mode_first, NULL, true},
		{"spawn", run_spawn, NULL, true},
	};
	return run_prog_mode("hook", argc, argv, modes, sizeof modes / sizeof modes[0]);
}
