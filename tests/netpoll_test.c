/*
 * netpoll_test proves the netpoller and the goroutine-aware I/O calls,
 * on loopback only:
 *  - a goroutine parked in gort_read on a socketpair does not hold its P:
 *    at GOMAXPROCS=1 a yielding goroutine keeps counting while it waits,
 *    and it wakes with the bytes once another goroutine writes them;
 *  - 1,000 concurrent TCP connections (SCALE) to an echo server made of
 *    goroutines, each client sending messages of varied sizes and
 *    checking every byte that comes back;
 *  - gort_close wakes a goroutine parked in gort_read with EBADF, also
 *    when a new fd takes the number and is read at once; a call racing
 *    with gort_close leaves nothing registered for the next fd; a close
 *    that blocks (SO_LINGER) does so under the syscall hand-off;
 *  - a call with MSG_DONTWAIT fails with EAGAIN at once while another
 *    goroutine waits in that direction (it does not queue for its turn);
 *  - deadlines (gort_set_deadline) fail reads with ETIMEDOUT, neither
 *    early nor absurdly late, also for a read parked before the deadline
 *    was set; a deadline in the past fails at once; 0 clears it;
 *  - gort_fd_wait: ready events, its own deadline (ETIMEDOUT on time),
 *    waking when data arrives, both directions at once, and a write
 *    deadline ending a wait for both directions;
 *  - connection refused gives ECONNREFUSED, and again on the same
 *    socket (as for a blocking connect, not ECONNABORTED); a reset
 *    connection gives ECONNRESET (read) and EPIPE or ECONNRESET (write);
 *  - half-closed connections: after shutdown(SHUT_WR) the peer reads
 *    every byte and then 0, and can still answer;
 *  - a regular file is read and written through the syscall hand-off;
 *  - timers still fire on time while an M blocks in epoll for an fd
 *    waiter (GOMAXPROCS=1: a sleeper and a reader at once);
 *  - a goroutine waiting for I/O from another process is no deadlock;
 *  - outside a goroutine (before gort_main, and on a plain thread while
 *    the runtime runs, on an fd the runtime made non-blocking) the calls
 *    block as libc's do;
 *  - the drain hint: after a short read on TCP the next read costs
 *    one system call, not two (counted in /proc/self/io); no byte is
 *    lost on TCP, AF_UNIX streams and pipes, and a datagram socket,
 *    where a short read says nothing, and a peek or gort_fd_wait, which
 *    take read edges, never leave a reader parked on data that is there
 *    (inside the hint's 50 us: internal/drain_hint_test.c); an end of
 *    stream already there when a TCP fd is first used is read; a read
 *    long after the short one does not wait for a poller; nor does a
 *    read after a short one that left bytes (packet-mode pipe, TCP
 *    urgent data, an AF_UNIX message carrying an fd); a read of no
 *    bytes right after a short one returns 0 at once. The cases that
 *    need the hint on use TCP, the one fd kind that takes it;
 *  - gort_fd_setblocking: a connected TCP socket's file blocking again
 *    while goroutines' reads and writes on it still park (GOMAXPROCS=1),
 *    deadlines still apply, and the sockets it cannot serve refused;
 *  - bad input gives -1 with errno (EBADF for an fd number past the
 *    runtime's table, as for any number that is not open);
 *  - connect and recv as the blocking libc calls: EISCONN on a connected
 *    socket, a wait (not EAGAIN) for room in a full AF_UNIX accept
 *    queue, which gort_close ends with EBADF without the connect reaching
 *    the next socket with that number, MSG_WAITALL waiting for the whole
 *    buffer on a stream;
 *  - sleeps and deadlines where a seccomp filter refuses epoll_pwait2
 *    with EPERM (the timed poll falls back to epoll_wait).
 */
#include "gort_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>

#define LATE_MS (HARNESS_SANITIZED || harness_emulated() ? 400 : 100)

static void pair(int sv[2])
{
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---------------------------------------------------------------------
 * A parked reader does not hold its P.
 * ------------------------------------------------------------------- */

static int park_fds[2];
static atomic_int park_state;
static char park_buf[16];
static ssize_t park_got;

static void park_reader(void *arg)
{
	(void)arg;
	atomic_store(&park_state, 1);
	park_got = gort_read(park_fds[0], park_buf, sizeof park_buf);
	atomic_store(&park_state, 2);
	gort_wg_done(&helpers_wg);
}

static void park_writer(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_write(park_fds[1], "hello", 5), 5);
	gort_wg_done(&helpers_wg);
}

static int reader_wakes_main(void *arg)
{
	(void)arg;
	pair(park_fds);
	gort_waitgroup ywg = {0};
	struct yielder y = {.wg = &ywg};
	gort_wg_add(&ywg, 1);
	CHECK(gort_go(yield_loop, &y) > 0);
	start_helper(park_reader, NULL);
	wait_flag(&park_state, 1);
	settle();
	long c0 = atomic_load(&y.count);
	gort_sleep(30 * MS);
	long c1 = atomic_load(&y.count);
	CHECK_EQ(atomic_load(&park_state), 1); /* still parked */
	CHECK(c1 > c0);                        /* and the yielder ran */
	start_helper(park_writer, NULL);
	wait_flag(&park_state, 2);
	CHECK_EQ(park_got, 5);
	CHECK(memcmp(park_buf, "hello", 5) == 0);
	atomic_store(&y.stop, true);
	gort_wg_wait(&ywg);
	gort_wg_wait(&helpers_wg);
	gort_close(park_fds[0]);
	gort_close(park_fds[1]);
	return 0;
}
MAIN_CASE(reader_wakes_procs1, reader_wakes_main, 1)

/* ---------------------------------------------------------------------
 * Echo server, many connections.
 * ------------------------------------------------------------------- */

#define ECHO_CONNS SCALE(1000)
#define ECHO_MSGS 5
#define ECHO_MAX 4096

static int echo_port;
static gort_waitgroup echo_wg;
static atomic_int echo_ok;

static void echo_handler(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[ECHO_MAX];
	for (;;) {
		ssize_t r = gort_read(fd, buf, sizeof buf);
		if (r <= 0)
			break;
		CHECK_EQ(gort_write(fd, buf, (size_t)r), r);
	}
	gort_close(fd);
}

static void echo_acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (int i = 0; i < ECHO_CONNS; i++) {
		int fd = gort_accept(lfd, NULL, NULL);
		CHECK(fd >= 0);
		int fl = fcntl(fd, F_GETFL);
		CHECK(fl & O_NONBLOCK);
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		CHECK(gort_go(echo_handler, (void *)(intptr_t)fd) > 0);
	}
	gort_close(lfd);
}

static unsigned char pattern(long conn, int msg, size_t i)
{
	return (unsigned char)(conn * 131 + msg * 17 + (long)i * 7);
}

static void echo_client(void *arg)
{
	long id = (long)(intptr_t)arg;
	int fd = dial(echo_port);
	CHECK(fd >= 0);
	unsigned char out[ECHO_MAX], in[ECHO_MAX];
	for (int m = 0; m < ECHO_MSGS; m++) {
		size_t len = 1 + (size_t)((id * 977 + m * 1237) % ECHO_MAX);
		for (size_t i = 0; i < len; i++)
			out[i] = pattern(id, m, i);
		CHECK_EQ(gort_write(fd, out, len), (ssize_t)len);
		read_full(fd, in, len);
		for (size_t i = 0; i < len; i++)
			if (in[i] != pattern(id, m, i))
				FAILF("conn %ld msg %d byte %zu: got %u want %u", id, m, i, in[i],
				      pattern(id, m, i));
	}
	CHECK_EQ(shutdown(fd, SHUT_WR), 0);
	CHECK_EQ(gort_read(fd, in, 1), 0);
	gort_close(fd);
	atomic_fetch_add(&echo_ok, 1);
	gort_wg_done(&echo_wg);
}

static int echo_main(void *arg)
{
	(void)arg;
	int lfd = listen_any(4096, &echo_port);
	CHECK(gort_go(echo_acceptor, (void *)(intptr_t)lfd) > 0);
	gort_wg_add(&echo_wg, ECHO_CONNS);
	for (long i = 0; i < ECHO_CONNS; i++)
		CHECK(gort_go(echo_client, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&echo_wg), 0);
	CHECK_EQ(atomic_load(&echo_ok), ECHO_CONNS);
	return 0;
}

static void echo_many(void)
{
	struct rlimit rl;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rlim_t want = 2 * (rlim_t)ECHO_CONNS + 256;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < want) {
		SKIP("echo_many", "RLIMIT_NOFILE hard limit too low");
		return;
	}
	run_main(echo_main, NULL, 4);
	printf("     %d connections echoed %d messages each\n", ECHO_CONNS, ECHO_MSGS);
}

/* ---------------------------------------------------------------------
 * Close wakes a parked reader with EBADF.
 * ------------------------------------------------------------------- */

static atomic_int cl_state;
static int cl_fd;
static int cl_err;
static ssize_t cl_r;

static void cl_reader(void *arg)
{
	(void)arg;
	char b[4];
	atomic_store(&cl_state, 1);
	cl_r = gort_read(cl_fd, b, sizeof b);
	cl_err = read_errno();
	atomic_store(&cl_state, 2);
	gort_wg_done(&helpers_wg);
}

static int close_wakes_main(void *arg)
{
	(void)arg;
	int sv[2];
	pair(sv);
	cl_fd = sv[0];
	wait_parked(start_helper(cl_reader, NULL), "IO wait");
	CHECK_EQ(atomic_load(&cl_state), 1);
	CHECK_EQ(gort_close(sv[0]), 0);
	wait_flag(&cl_state, 2);
	CHECK_EQ(cl_r, -1);
	CHECK_EQ(cl_err, EBADF);
	/* The number comes back for a new fd: nothing of the old reaches it. */
	int sv2[2];
	pair(sv2);
	CHECK_EQ(gort_write(sv2[1], "x", 1), 1);
	char c;
	CHECK_EQ(gort_read(sv2[0], &c, 1), 1);
	gort_wg_wait(&helpers_wg);
	gort_close(sv[1]);
	gort_close(sv2[0]);
	gort_close(sv2[1]);
	return 0;
}
MAIN_CASE(close_wakes_ebadf, close_wakes_main, 2)

/* The same, with the number taken at once by a new fd that a read uses
 * while the woken reader is still on its way out: that reader, which
 * held the old fd's turn to read, must leave the descriptor's drain
 * hint to the new fd, which its registration started afresh. TSan
 * reports a race if it does not. */
static int close_reuse_main(void *arg)
{
	(void)arg;
	int reused = 0;
	for (int i = 0; i < 50; i++) {
		int sv[2], nv[2];
		pair(sv);
		cl_fd = sv[0];
		int64_t reader = start_helper(cl_reader, NULL);
		/* Parked on the old fd: a reader that only got to its read
		 * once the number was reused would read the new fd, and wait
		 * for a byte main has taken. */
		wait_parked(reader, "IO wait");
		CHECK_EQ(gort_close(sv[0]), 0);
		pair(nv);
		reused += nv[0] == sv[0];
		CHECK_EQ(gort_write(nv[1], "x", 1), 1);
		char c;
		CHECK_EQ(gort_read(nv[0], &c, 1), 1);
		gort_wg_wait(&helpers_wg);
		CHECK_EQ(cl_r, -1);
		CHECK_EQ(cl_err, EBADF);
		gort_close(sv[1]);
		gort_close(nv[0]);
		gort_close(nv[1]);
	}
	CHECK(reused > 0);
	return 0;
}
MAIN_CASE(close_reuse_at_once, close_reuse_main, 2)

/* gort_dup2 onto an fd a reader is parked on. Calls that fail leave the
 * fd and its reader alone. One that succeeds wakes the reader with EBADF,
 * as a close does, and the copy is a new fd to the netpoller: a reader of
 * it parks, and wakes for the copied socket's byte. With dup2(2) the
 * first reader waited for ever, and so would the second (the number was
 * still taken as registered, and epoll had never heard of the new file). */
static int dup_replaces_main(void *arg)
{
	(void)arg;
	int sv[2], nv[2];
	pair(sv);
	pair(nv);
	cl_fd = sv[0];
	int64_t reader = start_helper(cl_reader, NULL);
	wait_parked(reader, "IO wait");
	CHECK_FAILS(gort_dup2(-1, sv[0]), EBADF);
	CHECK_FAILS(gort_dup2(nv[0], -1), EBADF);
	CHECK_FAILS(gort_dup2(nv[0], INT_MAX), EBADF);
	CHECK_FAILS(gort_dup3(nv[0], sv[0], O_NONBLOCK), EINVAL);
	CHECK_FAILS(gort_dup3(sv[0], sv[0], 0), EINVAL);
	CHECK_EQ(gort_dup2(sv[0], sv[0]), sv[0]);
	wait_parked(reader, "IO wait"); /* still there */
	CHECK_EQ(atomic_load(&cl_state), 1);

	CHECK_EQ(gort_dup2(nv[0], sv[0]), sv[0]);
	wait_flag(&cl_state, 2);
	CHECK_EQ(cl_r, -1);
	CHECK_EQ(cl_err, EBADF);
	gort_wg_wait(&helpers_wg);
	CHECK_EQ(fcntl(sv[0], F_GETFD) & FD_CLOEXEC, 0); /* dup2 clears it */

	atomic_store(&cl_state, 0);
	reader = start_helper(cl_reader, NULL);
	wait_parked(reader, "IO wait");
	CHECK_EQ(gort_write(nv[1], "y", 1), 1);
	wait_flag(&cl_state, 2);
	CHECK_EQ(cl_r, 1);
	gort_wg_wait(&helpers_wg);

	/* dup3 with O_CLOEXEC, onto an fd the runtime knows. */
	CHECK_EQ(gort_dup3(nv[1], sv[0], O_CLOEXEC), sv[0]);
	CHECK(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(gort_write(sv[0], "z", 1), 1);
	char c = 0;
	CHECK_EQ(gort_read(nv[0], &c, 1), 1);
	CHECK_EQ(c, 'z');
	gort_close(sv[0]);
	gort_close(sv[1]);
	gort_close(nv[0]);
	gort_close(nv[1]);
	return 0;
}
MAIN_CASE(dup_replaces, dup_replaces_main, 2)

/* gort_close of a TCP socket with SO_LINGER whose data the peer never
 * reads blocks in close(2) for the linger time, as Go's Close does in
 * syscall.Close, under the syscall hand-off: the P's other goroutines
 * run meanwhile (a ticker at GOMAXPROCS=1). Made on the P, the close
 * stalled them, until sysmon's preemption signal cut the linger short
 * (without signal preemption, under sanitizers, for the whole second).
 * A goroutine parked reading the socket is woken (EBADF) at the start of
 * the close, as by Go's Close; it was woken once the linger was over. */
static atomic_int lg_stop, lg_ticks, lg_done;
static int lg_fd;
static _Atomic int64_t lg_woken; /* when the reader's gort_read came back */
static ssize_t lg_r, lg_r2;
static int lg_err, lg_err2, lg_close_err;
static int64_t lg_close_ns;

/* Linux frees the number at the start of close(2), before the linger:
 * a new fd may get it at once. Its calls wait for the old fd's close to
 * end (the descriptor is the number's), but none of them may fail: a
 * close failed with EBADF would leave the new fd open for good.
 *
 * The socket has a high number (LG_FD_MIN up), which only the case
 * gives out again (dup2): a number as low as the lowest free one could
 * go to any fd opened meanwhile, the runtime's own included (sysmon
 * opens a thread's /proc syscall file at its first preemption), and the
 * case's close of the closed number would close that one. */
enum { LG_FD_MIN = 256 };
static int lg_reuse_fd = -1, lg_reuse_close = -2, lg_reuse_err;
static ssize_t lg_reuse_w;
static int64_t lg_reuse_ns;

/* The reader runs once the close has woken it, which may be before the
 * close's system call has begun: a dup2 onto the socket still open would
 * close it itself and linger for the second inside the dup2, a plain
 * call that keeps the P (under TSan, without signal preemption to hand
 * it off, the ticker then stopped). So the number must be free first. */
static int lg_newfd(void)
{
	int64_t limit = harness_now() + 2000 * MS;
	while (fcntl(lg_fd, F_GETFD) >= 0) {
		if (harness_now() > limit)
			FAILF("the close has not freed fd %d after 2 s", lg_fd);
		gort_sleep(100 * 1000);
	}
	int e = eventfd(0, EFD_CLOEXEC);
	if (e < 0)
		return -1;
	int fd = dup2(e, lg_fd);
	close(e);
	return fd;
}

static void lg_reuse(void)
{
	int64_t t = gort_nanotime();
	/* A close alone, then a write and a close. */
	lg_reuse_fd = lg_newfd();
	if (lg_reuse_fd < 0)
		return;
	lg_reuse_close = gort_close(lg_reuse_fd);
	lg_reuse_err = errno;
	if (lg_reuse_close != 0)
		close(lg_reuse_fd);
	lg_reuse_fd = lg_newfd();
	if (lg_reuse_fd < 0)
		return;
	uint64_t one = 1;
	lg_reuse_w = gort_write(lg_reuse_fd, &one, sizeof one);
	if (gort_close(lg_reuse_fd) != 0 && lg_reuse_close == 0) {
		lg_reuse_close = -1;
		lg_reuse_err = errno;
		close(lg_reuse_fd);
	}
	lg_reuse_ns = gort_nanotime() - t;
}

/* Parked reading the socket; woken by the close, it makes a new fd get
 * the number (lg_reuse), then closes the old fd again and reads it
 * (EBADF, the number closed). */
static void lg_reader(void *arg)
{
	(void)arg;
	char c;
	lg_r = gort_read(lg_fd, &c, 1);
	lg_err = errno;
	int64_t t = gort_nanotime();
	atomic_store(&lg_woken, t);
	lg_reuse();
	t = gort_nanotime();
	CHECK_EQ(gort_close(lg_fd), -1);
	lg_close_err = errno;
	lg_close_ns = gort_nanotime() - t;
	lg_r2 = gort_read(lg_fd, &c, 1);
	lg_err2 = errno;
	atomic_store(&lg_done, 1);
	gort_wg_done(&helpers_wg);
}

static void lg_ticker(void *arg)
{
	(void)arg;
	while (!atomic_load(&lg_stop)) {
		gort_sleep(2 * MS);
		atomic_fetch_add(&lg_ticks, 1);
	}
	gort_wg_done(&helpers_wg);
}

static int close_linger_main(void *arg)
{
	(void)arg;
	int sv[2];
	int small = 4096;
	tcp_pair_rcvbuf(sv, small);
	CHECK_EQ(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
	CHECK(fcntl(sv[1], F_GETFL) & O_NONBLOCK);
	int high = fcntl(sv[1], F_DUPFD_CLOEXEC, LG_FD_MIN);
	CHECK(high >= LG_FD_MIN);
	CHECK_EQ(gort_close(sv[1]), 0);
	sv[1] = high;
	/* Both buffers full: nothing has moved for three looks, and the
	 * sender still holds data the receiver has not taken (a loaded
	 * machine may leave the loopback's delivery behind the writes). */
	static char junk[65536];
	for (int quiet = 0; quiet < 3;) {
		bool wrote = false;
		while (write(sv[1], junk, sizeof junk) > 0)
			wrote = true;
		int unsent = 0;
		CHECK_EQ(ioctl(sv[1], SIOCOUTQ, &unsent), 0);
		quiet = wrote || unsent == 0 ? 0 : quiet + 1;
		gort_sleep(20 * MS);
	}
	struct linger lg = {.l_onoff = 1, .l_linger = 1};
	CHECK_EQ(setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	start_helper(lg_ticker, NULL);
	lg_fd = sv[1];
	wait_parked(start_helper(lg_reader, NULL), "IO wait");
	settle();
	int t0 = atomic_load(&lg_ticks);
	int64_t c0 = gort_nanotime();
	CHECK_EQ(gort_close(sv[1]), 0);
	double ms = (double)(gort_nanotime() - c0) / 1e6;
	int ticks = atomic_load(&lg_ticks) - t0;
	for (int i = 0; i < 5000 && !atomic_load(&lg_woken); i++)
		gort_sleep(MS);
	double woken = (double)(atomic_load(&lg_woken) - c0) / 1e6;
	printf("     the close took %.0f ms, the ticker ticked %d times meanwhile, "
	       "the reader was woken after %.0f ms\n", ms, ticks, woken);
	if (ticks < 5)
		FAILF("the ticker ticked %d times during a close of %.0f ms: the close "
		      "held the P", ticks, ms);
	if (ms < 500)
		FAILF("a close with a linger time of 1 s took %.0f ms", ms);
	/* As Go's Close, the waiters are woken before the close, not once
	 * the linger is over. */
	CHECK_EQ(lg_r, -1);
	CHECK_EQ(lg_err, EBADF);
	if (woken > ms / 2)
		FAILF("the reader parked on the socket was woken %.0f ms into a close "
		      "of %.0f ms", woken, ms);
	for (int i = 0; i < 5000 && !atomic_load(&lg_done); i++)
		gort_sleep(MS);
	/* A new fd that got the number during the close (free in the
	 * kernel from the close's start) waited for it to end, then worked
	 * and closed; the old number, closed again and read, fails. */
	printf("     a new fd with the number: write %zd, close %d (errno %d), "
	       "after %.0f ms\n", lg_reuse_w, lg_reuse_close,
	       lg_reuse_close ? lg_reuse_err : 0, (double)lg_reuse_ns / 1e6);
	CHECK(lg_reuse_fd == lg_fd);
	if (lg_reuse_close != 0)
		FAILF("the close of a new fd that got the number during the close "
		      "failed (errno %d): the fd is left open", lg_reuse_err);
	CHECK_EQ(lg_reuse_w, (ssize_t)sizeof(uint64_t));
	CHECK_EQ(lg_close_err, EBADF);
	if (lg_close_ns > 300 * MS)
		FAILF("a close of the closed number took %lld ms",
		      (long long)(lg_close_ns / MS));
	CHECK_EQ(lg_r2, -1);
	CHECK_EQ(lg_err2, EBADF);
	atomic_store(&lg_stop, 1);
	gort_wg_wait(&helpers_wg);
	gort_close(sv[0]);
	return 0;
}
MAIN_CASE(close_linger, close_linger_main, 1)

/* A call with MSG_DONTWAIT beside a goroutine that waits in the same
 * direction (a read parked with no data, a gort_fd_wait, a write parked
 * on a full buffer): it fails with EAGAIN at once, as recv(2) and
 * send(2) do, and the waiter still gets what it waits for. It queued for
 * the waiter's turn, and waited as long (here for ever). */
static atomic_int dw_state;
static int dw_fd;
static ssize_t dw_r;

static void dw_read(void *arg)
{
	(void)arg;
	char c;
	dw_r = gort_read(dw_fd, &c, 1);
	atomic_store(&dw_state, 2);
	gort_wg_done(&helpers_wg);
}

static void dw_fdwait(void *arg)
{
	(void)arg;
	dw_r = gort_fd_wait(dw_fd, GORT_READ, 0);
	atomic_store(&dw_state, 2);
	gort_wg_done(&helpers_wg);
}

static void dw_write(void *arg)
{
	(void)arg;
	static char big[1 << 20];
	dw_r = gort_write(dw_fd, big, sizeof big);
	atomic_store(&dw_state, 2);
	gort_wg_done(&helpers_wg);
}

static int dontwait_beside_waiter_main(void *arg)
{
	(void)arg;
	void (*readers[])(void *) = {dw_read, dw_fdwait};
	for (int i = 0; i < 2; i++) {
		int sv[2];
		pair(sv);
		dw_fd = sv[0];
		atomic_store(&dw_state, 0);
		wait_parked(start_helper(readers[i], NULL), "IO wait");
		char c;
		CHECK_FAILS(gort_recv(sv[0], &c, 1, MSG_DONTWAIT), EAGAIN);
		CHECK_FAILS(gort_recv(sv[0], &c, 1, MSG_DONTWAIT | MSG_PEEK), EAGAIN);
		CHECK_EQ(atomic_load(&dw_state), 0);
		CHECK_EQ(gort_write(sv[1], "x", 1), 1);
		wait_flag(&dw_state, 2);
		CHECK_EQ(dw_r, 1); /* the byte, or GORT_READ */
		gort_wg_wait(&helpers_wg);
		gort_close(sv[0]);
		gort_close(sv[1]);
	}
	/* A write parked on a full send buffer. */
	int sv[2];
	pair(sv);
	dw_fd = sv[0];
	atomic_store(&dw_state, 0);
	wait_parked(start_helper(dw_write, NULL), "IO wait");
	CHECK_FAILS(gort_send(sv[0], "y", 1, MSG_DONTWAIT), EAGAIN);
	static char sink[1 << 16];
	ssize_t got = 0;
	while (got < (1 << 20)) {
		ssize_t r = gort_read(sv[1], sink, sizeof sink);
		CHECK(r > 0);
		for (ssize_t k = 0; k < r; k++)
			CHECK_EQ(sink[k], 0); /* no 'y' inside the write */
		got += r;
	}
	wait_flag(&dw_state, 2);
	CHECK_EQ(dw_r, 1 << 20);
	gort_wg_wait(&helpers_wg);
	/* The turn free: the call is made. */
	CHECK_EQ(gort_send(sv[0], "y", 1, MSG_DONTWAIT), 1);
	char c;
	CHECK_EQ(gort_recv(sv[1], &c, 1, MSG_DONTWAIT), 1);
	CHECK_EQ(c, 'y');
	CHECK_FAILS(gort_recv(sv[1], &c, 1, MSG_DONTWAIT), EAGAIN);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(dontwait_beside_waiter, dontwait_beside_waiter_main, 2)

/* ---------------------------------------------------------------------
 * Deadlines.
 * ------------------------------------------------------------------- */

static void check_on_time(const char *what, int64_t t0, int64_t due)
{
	int64_t now = gort_nanotime();
	double late = (double)(now - due) / 1e6;
	printf("     %s: %.3f ms after the deadline\n", what, late);
	if (now < due)
		FAILF("%s: woke %.3f ms early", what, -late);
	if (late > LATE_MS)
		FAILF("%s: woke %.1f ms late (limit %d)", what, late, LATE_MS);
	(void)t0;
}

static atomic_int dl_state;
static int dl_fd;
static int dl_err;

static void dl_reader(void *arg)
{
	(void)arg;
	char b[4];
	atomic_store(&dl_state, 1);
	ssize_t r = gort_read(dl_fd, b, sizeof b);
	dl_err = r < 0 ? read_errno() : 0;
	atomic_store(&dl_state, 2);
	gort_wg_done(&helpers_wg);
}

static int deadline_main(void *arg)
{
	(void)arg;
	int sv[2];
	pair(sv);
	char b[4];
	/* Set before the read. */
	int64_t t0 = gort_nanotime(), due = t0 + 50 * MS;
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, due), 0);
	CHECK_FAILS(gort_read(sv[0], b, sizeof b), ETIMEDOUT);
	check_on_time("read deadline", t0, due);
	/* Still passed: fails at once. */
	CHECK_FAILS(gort_read(sv[0], b, sizeof b), ETIMEDOUT);
	/* The write direction is not affected. */
	CHECK_EQ(gort_write(sv[1], "ab", 2), 2);
	CHECK_EQ(gort_write(sv[0], "cd", 2), 2);
	/* Cleared: the read works again. */
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, 0), 0);
	CHECK_EQ(gort_read(sv[0], b, sizeof b), 2);
	CHECK_EQ(gort_read(sv[1], b, sizeof b), 2);
	/* A deadline in the past. */
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, gort_nanotime() - MS), 0);
	CHECK_FAILS(gort_read(sv[0], b, sizeof b), ETIMEDOUT);
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, 0), 0);
	/* Set while a read is parked: it wakes then. */
	dl_fd = sv[0];
	wait_parked(start_helper(dl_reader, NULL), "IO wait");
	CHECK_EQ(atomic_load(&dl_state), 1);
	t0 = gort_nanotime();
	due = t0 + 40 * MS;
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ | GORT_WRITE, due), 0);
	wait_flag(&dl_state, 2);
	CHECK_EQ(dl_err, ETIMEDOUT);
	check_on_time("deadline set on a parked read", t0, due);
	/* Moved later before it passes: the first time must not fire. */
	t0 = gort_nanotime();
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, t0 + 20 * MS), 0);
	due = t0 + 60 * MS;
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, due), 0);
	CHECK_FAILS(gort_read(sv[0], b, sizeof b), ETIMEDOUT);
	check_on_time("deadline moved later", t0, due);
	CHECK_FAILS(gort_set_deadline(sv[0], 0, 0), EINVAL);
	CHECK_FAILS(gort_set_deadline(sv[0], 4, 0), EINVAL);
	gort_wg_wait(&helpers_wg);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(deadlines, deadline_main, 2)

/* ---------------------------------------------------------------------
 * gort_fd_wait.
 * ------------------------------------------------------------------- */

static int fw_fd;

static void fw_writer(void *arg)
{
	(void)arg;
	gort_sleep(20 * MS);
	CHECK_EQ(gort_write(fw_fd, "z", 1), 1);
	gort_wg_done(&helpers_wg);
}

/* fd_wait with a deadline while another goroutine's read holds the
 * fd's turn: the deadline holds (it used to wait for the turn, here 2 s
 * until a write ends the read). */
static void fwq_release(void *arg)
{
	gort_sleep(2000 * MS);
	CHECK_EQ(write((int)(intptr_t)arg, "x", 1), 1);
	gort_wg_done(&helpers_wg);
}

static int fd_wait_queued_main(void *arg)
{
	(void)arg;
	int sv[2];
	pair(sv);
	dl_fd = sv[0];
	wait_parked(start_helper(dl_reader, NULL), "IO wait");
	start_helper(fwq_release, (void *)(intptr_t)sv[1]);
	int64_t t0 = gort_nanotime(), due = t0 + 50 * MS;
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ, due), ETIMEDOUT);
	check_on_time("fd_wait deadline behind a read", t0, due);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	CHECK_EQ(atomic_load(&dl_state), 2);
	CHECK_EQ(dl_err, 0);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
MAIN_CASE(fd_wait_queued, fd_wait_queued_main, 2)

static int fd_wait_main(void *arg)
{
	(void)arg;
	int sv[2];
	pair(sv);
	CHECK_EQ(gort_fd_wait(sv[0], GORT_WRITE, 0), GORT_WRITE);
	int64_t t0 = gort_nanotime(), due = t0 + 40 * MS;
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ, due), ETIMEDOUT);
	check_on_time("fd_wait deadline", t0, due);
	/* A deadline in the past, a negative one too, only looks. */
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ, -1), ETIMEDOUT);
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ, 1), ETIMEDOUT);
	CHECK_EQ(gort_fd_wait(sv[0], GORT_WRITE, -5), GORT_WRITE);
	fw_fd = sv[1];
	start_helper(fw_writer, NULL);
	t0 = gort_nanotime();
	CHECK_EQ(gort_fd_wait(sv[0], GORT_READ, t0 + 5000 * MS), GORT_READ);
	CHECK(gort_nanotime() - t0 >= 15 * MS);
	CHECK_EQ(gort_fd_wait(sv[0], GORT_READ | GORT_WRITE, 0), GORT_READ | GORT_WRITE);
	char c;
	CHECK_EQ(gort_read(sv[0], &c, 1), 1);
	/* A full send buffer: not writable (its own deadline passes). */
	CHECK_EQ(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK), 0);
	static char junk[65536];
	while (write(sv[1], junk, sizeof junk) > 0)
		;
	CHECK_EQ(gort_fd_wait(sv[1], GORT_WRITE, gort_nanotime() + 10 * MS) == -1, 1);
	CHECK_EQ(read_errno(), ETIMEDOUT);
	/* Drain the other side: sv[1] becomes writable. */
	char *big = malloc(1 << 22);
	CHECK(big);
	ssize_t drained = 0;
	for (;;) {
		ssize_t r = read(sv[0], big, 1 << 22);
		if (r <= 0)
			break;
		drained += r;
	}
	CHECK(drained > 0);
	free(big);
	int ev = gort_fd_wait(sv[1], GORT_READ | GORT_WRITE, gort_nanotime() + 2000 * MS);
	CHECK_EQ(ev, GORT_WRITE);
	CHECK_FAILS(gort_fd_wait(sv[0], 0, 0), EINVAL);
	CHECK_FAILS(gort_fd_wait(sv[0], 8, 0), EINVAL);
	CHECK_FAILS(gort_fd_wait(-1, GORT_READ, 0), EBADF);
	gort_wg_wait(&helpers_wg);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(fd_wait, fd_wait_main, 2)

/* gort_fd_wait for both directions parks in the read slot only; a write
 * deadline (gort_set_deadline) applies to it too and must wake it there:
 * one that passes while it waits, and one set in the past meanwhile. Its
 * own deadline, far later, bounds the wait if the write deadline is
 * missed. */
static int fwb_fd;

static void fwb_expirer(void *arg)
{
	(void)arg;
	gort_sleep(20 * MS);
	CHECK_EQ(gort_set_deadline(fwb_fd, GORT_WRITE, 1), 0);
	gort_wg_done(&helpers_wg);
}

static int fd_wait_both_wdeadline_main(void *arg)
{
	(void)arg;
	int sv[2];
	pair(sv);
	/* sv[0] not writable (its send buffer full), nothing to read. */
	CHECK_EQ(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
	static char junk[65536];
	while (write(sv[0], junk, sizeof junk) > 0)
		;
	int64_t t0 = gort_nanotime(), due = t0 + 40 * MS;
	CHECK_EQ(gort_set_deadline(sv[0], GORT_WRITE, due), 0);
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ | GORT_WRITE, t0 + 5000 * MS), ETIMEDOUT);
	check_on_time("fd_wait both, write deadline", t0, due);
	CHECK_EQ(gort_set_deadline(sv[0], GORT_WRITE, 0), 0);
	fwb_fd = sv[0];
	/* t0 before the helper starts: its 20 ms begin after t0, even if
	 * this thread is held up between the two. */
	t0 = gort_nanotime();
	start_helper(fwb_expirer, NULL);
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ | GORT_WRITE, t0 + 5000 * MS), ETIMEDOUT);
	check_on_time("fd_wait both, write deadline set in the past", t0, t0 + 20 * MS);
	gort_wg_wait(&helpers_wg);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(fd_wait_both_wdeadline, fd_wait_both_wdeadline_main, 2)

/* ---------------------------------------------------------------------
 * Refused, reset, half-closed.
 * ------------------------------------------------------------------- */

static int refused_main(void *arg)
{
	(void)arg;
	int port;
	int lfd = listen_any(1, &port);
	gort_close(lfd); /* nothing listens there now */
	CHECK_FAILS(dial(port), ECONNREFUSED);
	/* The socket a refused connect leaves tries afresh, as after a
	 * blocking connect: refused again, not ECONNABORTED. */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_FAILS(gort_connect(fd, (struct sockaddr *)&sa, sizeof sa), ECONNREFUSED);
	CHECK_FAILS(gort_connect(fd, (struct sockaddr *)&sa, sizeof sa), ECONNREFUSED);
	gort_close(fd);
	return 0;
}
MAIN_CASE(refused, refused_main, 2)

static int rs_lfd;

static void rs_server(void *arg)
{
	(void)arg;
	int fd = gort_accept(rs_lfd, NULL, NULL);
	CHECK(fd >= 0);
	char b[8];
	read_full(fd, b, 4);
	struct linger lg = {1, 0}; /* close sends RST */
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	gort_close(fd);
	gort_wg_done(&helpers_wg);
}

static int reset_main(void *arg)
{
	(void)arg;
	signal(SIGPIPE, SIG_IGN);
	int port;
	rs_lfd = listen_any(4, &port);
	start_helper(rs_server, NULL);
	int fd = dial(port);
	CHECK(fd >= 0);
	CHECK_EQ(gort_write(fd, "ping", 4), 4);
	char b[8];
	CHECK_FAILS(gort_read(fd, b, sizeof b), ECONNRESET);
	write_errno(0);
	ssize_t w = gort_write(fd, "more", 4);
	int e = read_errno();
	CHECK_EQ(w, -1);
	if (e != EPIPE && e != ECONNRESET)
		FAILF("write after reset: errno %d", e);
	gort_wg_wait(&helpers_wg);
	gort_close(fd);
	gort_close(rs_lfd);
	return 0;
}
MAIN_CASE(reset, reset_main, 2)

static int hc_lfd;
#define HC_BYTES 200000

static void hc_server(void *arg)
{
	(void)arg;
	int fd = gort_accept(hc_lfd, NULL, NULL);
	CHECK(fd >= 0);
	char *b = malloc(HC_BYTES);
	CHECK(b);
	size_t got = 0;
	for (;;) {
		ssize_t r = gort_read(fd, b + got, HC_BYTES + 1 - got > 65536 ? 65536 : HC_BYTES - got + 1);
		CHECK(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
		CHECK(got <= HC_BYTES);
	}
	CHECK_EQ(got, HC_BYTES);
	for (size_t i = 0; i < got; i++)
		CHECK_EQ((unsigned char)b[i], (unsigned char)(i * 13));
	free(b);
	CHECK_EQ(gort_write(fd, "done", 4), 4);
	gort_close(fd);
	gort_wg_done(&helpers_wg);
}

static int half_close_main(void *arg)
{
	(void)arg;
	int port;
	hc_lfd = listen_any(4, &port);
	start_helper(hc_server, NULL);
	int fd = dial(port);
	CHECK(fd >= 0);
	char *b = malloc(HC_BYTES);
	CHECK(b);
	for (size_t i = 0; i < HC_BYTES; i++)
		b[i] = (char)(i * 13);
	/* One call, more than the socket buffers hold: it completes the
	 * partial writes. */
	CHECK_EQ(gort_write(fd, b, HC_BYTES), HC_BYTES);
	free(b);
	CHECK_EQ(shutdown(fd, SHUT_WR), 0);
	char r[8];
	read_full(fd, r, 4);
	CHECK(memcmp(r, "done", 4) == 0);
	CHECK_EQ(gort_read(fd, r, sizeof r), 0);
	gort_wg_wait(&helpers_wg);
	gort_close(fd);
	gort_close(hc_lfd);
	return 0;
}
MAIN_CASE(half_close, half_close_main, 2)

/* ---------------------------------------------------------------------
 * A regular file, through the syscall hand-off.
 * ------------------------------------------------------------------- */

static int file_main(void *arg)
{
	(void)arg;
	char path[] = "/tmp/gort_netpoll_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	static char data[100000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 7 + 1);
	struct iovec iov[2] = {{data, 1000}, {data + 1000, sizeof data - 1000}};
	CHECK_EQ(gort_writev(fd, iov, 2), (ssize_t)sizeof data);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	static char back[sizeof data];
	size_t got = 0;
	for (;;) {
		ssize_t r = gort_read(fd, back + got, sizeof back - got);
		CHECK(r >= 0);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	CHECK_EQ(got, sizeof data);
	CHECK(memcmp(back, data, sizeof data) == 0);
	/* epoll cannot watch it: it stays blocking, and is always ready. */
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	CHECK_EQ(gort_fd_wait(fd, GORT_READ, 0), GORT_READ);
	CHECK_FAILS(gort_set_deadline(fd, GORT_READ, gort_nanotime() + MS), ENOTSUP);
	CHECK_EQ(gort_close(fd), 0);
	return 0;
}
MAIN_CASE(regular_file, file_main, 2)

/* ---------------------------------------------------------------------
 * Timers fire while an M blocks in epoll.
 * ------------------------------------------------------------------- */

static int64_t tw_slept;
static atomic_int tw_done;

static void tw_sleeper(void *arg)
{
	(void)arg;
	int64_t t0 = gort_nanotime();
	gort_sleep(50 * MS);
	tw_slept = gort_nanotime() - t0;
	atomic_store(&tw_done, 1);
	gort_wg_done(&helpers_wg);
}

static int timers_epoll_main(void *arg)
{
	(void)arg;
	int sv[2];
	pair(sv);
	park_fds[0] = sv[0];
	park_fds[1] = sv[1];
	start_helper(park_reader, NULL);
	wait_flag(&park_state, 1);
	start_helper(tw_sleeper, NULL);
	/* main waits too: every P is idle, one M in epoll for both. */
	gort_sleep(120 * MS);
	/* Woken late, this P fires both timers at once, and main, readied
	 * second, runs first: wait for the sleeper rather than assume it. */
	wait_flag(&tw_done, 1);
	CHECK(tw_slept >= 50 * MS);
	double late = (double)(tw_slept - 50 * MS) / 1e6;
	printf("     sleeper beside an fd waiter woke %.3f ms late\n", late);
	if (late > LATE_MS)
		FAILF("sleeper woke %.1f ms late", late);
	CHECK_EQ(atomic_load(&park_state), 1);
	CHECK_EQ(gort_write(sv[1], "hello", 5), 5);
	wait_flag(&park_state, 2);
	CHECK_EQ(park_got, 5);
	gort_wg_wait(&helpers_wg);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(timers_while_epoll, timers_epoll_main, 1)

/* ---------------------------------------------------------------------
 * Waiting for another process is no deadlock.
 * ------------------------------------------------------------------- */

static int ext_fd;

static int external_main(void *arg)
{
	(void)arg;
	char b[8];
	/* The only goroutine, no timer: only the child can wake it. */
	ssize_t r = gort_read(ext_fd, b, sizeof b);
	CHECK_EQ(r, 3);
	CHECK(memcmp(b, "end", 3) == 0);
	gort_close(ext_fd);
	return 0;
}

static void external_writer(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		struct timespec ts = {0, 150 * 1000 * 1000};
		nanosleep(&ts, NULL);
		ssize_t w = write(p[1], "end", 3);
		_exit(w == 3 ? 0 : 1);
	}
	close(p[1]);
	ext_fd = p[0];
	run_main(external_main, NULL, 2);
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---------------------------------------------------------------------
 * Outside a goroutine.
 * ------------------------------------------------------------------- */

static int pt_fds[2];
static ssize_t pt_got;
static char pt_buf[8];

static void *pt_thread(void *arg)
{
	(void)arg;
	/* The fd is non-blocking now; the call still blocks. */
	pt_got = gort_read(pt_fds[0], pt_buf, sizeof pt_buf);
	return NULL;
}

static void pt_writer(void *arg)
{
	(void)arg;
	gort_sleep(30 * MS);
	CHECK_EQ(gort_write(pt_fds[1], "thread", 6), 6);
	gort_wg_done(&helpers_wg);
}

static int plain_thread_main(void *arg)
{
	(void)arg;
	pair(pt_fds);
	/* A goroutine uses it first: registered, made non-blocking. */
	CHECK_EQ(gort_fd_wait(pt_fds[0], GORT_WRITE, 0), GORT_WRITE);
	CHECK(fcntl(pt_fds[0], F_GETFL) & O_NONBLOCK);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, pt_thread, NULL), 0);
	start_helper(pt_writer, NULL);
	join_thread(th);
	CHECK_EQ(pt_got, 6);
	CHECK(memcmp(pt_buf, "thread", 6) == 0);
	gort_wg_wait(&helpers_wg);
	gort_close(pt_fds[0]);
	gort_close(pt_fds[1]);
	return 0;
}

static void plain_thread(void)
{
	/* Before gort_main: the libc calls. */
	int sv[2];
	pair(sv);
	CHECK_EQ(gort_write(sv[1], "pre", 3), 3);
	char b[4];
	CHECK_EQ(gort_read(sv[0], b, sizeof b), 3);
	CHECK_EQ(gort_fd_wait(sv[0], GORT_WRITE, 0), GORT_WRITE);
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ, gort_nanotime() + 20 * MS), ETIMEDOUT);
	CHECK_FAILS(gort_fd_wait(sv[0], GORT_READ, -1), ETIMEDOUT);
	CHECK_EQ(gort_close(sv[0]), 0);
	CHECK_EQ(gort_close(sv[1]), 0);
	run_main(plain_thread_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * The drain hint (io.c): after a short read on a byte stream the next
 * read parks without trying the call that would fail with EAGAIN. It
 * must save that call, lose no byte, and not be taken where a short read
 * says nothing of what is left (datagrams).
 * ------------------------------------------------------------------- */

enum { DH_MSGS = 200 };

/* Read system calls of the process so far (/proc/self/io), or -1. */
static long long read_syscalls(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	if (!f)
		return -1;
	char line[128];
	long long n = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "syscr: %lld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int dh_fds[2];
static atomic_int dh_got;

/* A plain thread: each message once the reader has taken the one
 * before and had time to park. */
static void *dh_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < DH_MSGS; i++) {
		while (atomic_load(&dh_got) < i)
			usleep(50);
		usleep(200);
		CHECK_EQ(write(dh_fds[1], "ping", 4), 4);
	}
	return NULL;
}

static int drain_hint_count_main(void *arg)
{
	(void)arg;
	tcp_pair(dh_fds);
	char b[64];
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, dh_writer, NULL), 0);
	long long before = read_syscalls();
	for (int i = 0; i < DH_MSGS; i++) {
		CHECK_EQ(gort_read(dh_fds[0], b, sizeof b), 4);
		CHECK(memcmp(b, "ping", 4) == 0);
		atomic_store(&dh_got, i + 1);
	}
	long long after = read_syscalls();
	join_thread(th);
	if (before < 0 || after < 0) {
		printf("     no /proc/self/io: read calls not counted\n");
	} else {
		/* Without the hint every message costs a read that fails with
		 * EAGAIN before the one that gets it: 2 per message. */
		printf("     %lld read calls for %d messages\n", after - before, DH_MSGS);
		CHECK(after - before <= DH_MSGS + DH_MSGS / 4);
	}
	gort_close(dh_fds[0]);
	gort_close(dh_fds[1]);
	return 0;
}
MAIN_CASE(drain_hint_count, drain_hint_count_main, 1)

static atomic_int dh_state;
static ssize_t dh_last;

/* Reads "abcdefg", in as many reads as it comes in; the first read
 * parks on an empty fd. State 2: the first read returned. */
static void dh_reader(void *arg)
{
	(void)arg;
	char b[64];
	size_t got = 0;
	atomic_store(&dh_state, 1);
	while (got < 7) {
		dh_last = gort_read(dh_fds[0], b + got, sizeof b - got);
		if (dh_last <= 0)
			break;
		got += (size_t)dh_last;
		atomic_store(&dh_state, 2);
	}
	if (got == 7)
		CHECK(memcmp(b, "abcdefg", 7) == 0);
	atomic_store(&dh_state, 3);
	gort_wg_done(&helpers_wg);
}

/* The fds the hint cases run on: TCP takes the hint; the others must
 * read as if there were none. */
enum dh_kind { DH_TCP, DH_UNIX_STREAM, DH_UNIX_DGRAM, DH_PIPE };

static void dh_open(enum dh_kind kind, int sv[2])
{
	switch (kind) {
	case DH_TCP: tcp_pair(sv); break;
	case DH_UNIX_STREAM: pair(sv); break;
	case DH_UNIX_DGRAM:
		CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
		break;
	case DH_PIPE: CHECK_EQ(pipe2(sv, O_CLOEXEC), 0); break;
	}
}

/* both_first: write both messages before the reader wakes (one edge for
 * both), else the second after the first was read. */
static void drain_hint_case(enum dh_kind kind, bool both_first)
{
	dh_open(kind, dh_fds);
	atomic_store(&dh_state, 0);
	dh_last = -2;
	/* A deadline turns a lost wake-up into ETIMEDOUT, not a hang. */
	CHECK_EQ(gort_set_deadline(dh_fds[0], GORT_READ, gort_nanotime() + 5000 * MS), 0);
	start_helper(dh_reader, NULL);
	wait_flag(&dh_state, 1);
	settle();
	/* GOMAXPROCS=1 and this goroutine runs: nobody polls between the
	 * writes, so both messages raise one edge at most. */
	CHECK_EQ(gort_write(dh_fds[1], "abc", 3), 3);
	if (both_first) {
		CHECK_EQ(gort_write(dh_fds[1], "defg", 4), 4);
	} else {
		wait_flag(&dh_state, 2);
		settle(); /* the second read is parked, or reading */
		CHECK_EQ(gort_write(dh_fds[1], "defg", 4), 4);
	}
	wait_flag(&dh_state, 3);
	CHECK(dh_last > 0); /* not ETIMEDOUT: nobody left parked on data */
	gort_wg_wait(&helpers_wg);
	gort_close(dh_fds[0]);
	gort_close(dh_fds[1]);
}

static int drain_hint_kinds_main(void *arg)
{
	(void)arg;
	drain_hint_case(DH_UNIX_DGRAM, true); /* 3 of 64 says nothing of "defg" */
	for (enum dh_kind k = DH_TCP; k <= DH_PIPE; k++) {
		if (k == DH_UNIX_DGRAM)
			continue;
		drain_hint_case(k, false);
		drain_hint_case(k, true);
	}
	/* A peek takes the edge of the bytes it leaves: a short read, bytes
	 * whose edge the netpoller has seen, a peek; the next read must not
	 * wait for another edge. TCP: the fd that takes the hint. */
	tcp_pair(dh_fds);
	char b[64];
	CHECK_EQ(write(dh_fds[1], "ab", 2), 2);
	CHECK_EQ(gort_read(dh_fds[0], b, sizeof b), 2);
	CHECK_EQ(write(dh_fds[1], "xyz", 3), 3);
	gort_sleep(5 * MS); /* the only P idles: its M polls and sees the edge */
	CHECK_EQ(gort_recv(dh_fds[0], b, sizeof b, MSG_PEEK), 3);
	CHECK_EQ(gort_set_deadline(dh_fds[0], GORT_READ, gort_nanotime() + 5000 * MS), 0);
	CHECK_EQ(gort_read(dh_fds[0], b, sizeof b), 3);
	CHECK(memcmp(b, "xyz", 3) == 0);
	gort_close(dh_fds[0]);
	gort_close(dh_fds[1]);
	/* gort_fd_wait takes read edges: a short read, then fd_wait, then a
	 * plain read() that leaves bytes behind; the next gort_read must
	 * still find them. */
	tcp_pair(dh_fds);
	CHECK_EQ(write(dh_fds[1], "ab", 2), 2);
	CHECK_EQ(gort_read(dh_fds[0], b, sizeof b), 2);
	CHECK_EQ(write(dh_fds[1], "cdef", 4), 4);
	CHECK_EQ(gort_fd_wait(dh_fds[0], GORT_READ, gort_nanotime() + 5000 * MS), GORT_READ);
	CHECK_EQ(read(dh_fds[0], b, 1), 1);
	CHECK_EQ(gort_set_deadline(dh_fds[0], GORT_READ, gort_nanotime() + 5000 * MS), 0);
	CHECK_EQ(gort_read(dh_fds[0], b, sizeof b), 3);
	CHECK(memcmp(b, "def", 3) == 0);
	gort_close(dh_fds[0]);
	gort_close(dh_fds[1]);
	return 0;
}
MAIN_CASE(drain_hint_kinds, drain_hint_kinds_main, 1)

/* A stream that already holds its bytes and its end when the runtime
 * first sees the fd: a netpoller blocked in epoll (an idle P's M, here
 * woken by the registration itself) may report the fd, hang-up
 * included, while it is being registered. That report must survive the
 * registration, or the read after the short one would wait for an edge
 * that never comes. */
static int drain_hint_eof_main(void *arg)
{
	(void)arg;
	enum { ROUNDS = 2000 };
	int timeouts = 0;
	for (int i = 0; i < ROUNDS; i++) {
		int sv[2];
		tcp_pair(sv);
		CHECK_EQ(write(sv[1], "abc", 3), 3);
		CHECK_EQ(shutdown(sv[1], SHUT_WR), 0);
		char b[64];
		CHECK_EQ(gort_read(sv[0], b, sizeof b), 3);
		CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, gort_nanotime() + 2000 * MS), 0);
		ssize_t r = gort_read(sv[0], b, sizeof b);
		if (r < 0 && errno == ETIMEDOUT)
			timeouts++;
		else
			CHECK_EQ(r, 0);
		gort_close(sv[0]);
		gort_close(sv[1]);
		if (timeouts)
			break;
	}
	CHECK_EQ(timeouts, 0);
	return 0;
}
MAIN_CASE(drain_hint_eof, drain_hint_eof_main, 2)

/* A short read that leaves bytes behind, with no edge to come for
 * them: a packet-mode pipe (one packet a read), TCP urgent data (a read
 * stops at the mark), an AF_UNIX stream message carrying an fd (a read
 * stops after it). The next read must find the rest: the drain hint
 * must not park it. The bytes are there, and their edge seen by the
 * netpoller, before the first read. */
static void short_left_case(const char *what, int rfd, int wfd, int kind)
{
	char b[64];
	/* Registers the fd while it is empty. */
	CHECK_FAILS(gort_fd_wait(rfd, GORT_READ, gort_nanotime() + MS), ETIMEDOUT);
	if (kind == 0) {
		CHECK_EQ(write(wfd, "abc", 3), 3);
		CHECK_EQ(write(wfd, "def", 3), 3);
	} else if (kind == 1) {
		CHECK_EQ(send(wfd, "abc", 3, 0), 3);
		CHECK_EQ(send(wfd, "X", 1, MSG_OOB), 1);
		CHECK_EQ(send(wfd, "def", 3, 0), 3);
	} else {
		char cbuf[CMSG_SPACE(sizeof(int))];
		memset(cbuf, 0, sizeof cbuf);
		struct iovec iov = {"abc", 3};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		                    .msg_controllen = sizeof cbuf};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		int zero = 0;
		memcpy(CMSG_DATA(cm), &zero, sizeof zero);
		CHECK_EQ(sendmsg(wfd, &mh, 0), 3);
		CHECK_EQ(send(wfd, "def", 3, 0), 3);
	}
	gort_sleep(20 * MS); /* the only P idles: its M polls and sees the edge */
	CHECK_EQ(gort_read(rfd, b, sizeof b), 3);
	CHECK_EQ(gort_set_deadline(rfd, GORT_READ, gort_nanotime() + 5000 * MS), 0);
	ssize_t r = gort_read(rfd, b, sizeof b);
	if (r != 3)
		printf("     %s: second read %zd (%s)\n", what, r, strerror(read_errno()));
	CHECK_EQ(r, 3);
	CHECK(memcmp(b, "def", 3) == 0);
	gort_close(rfd);
	gort_close(wfd);
}

static int drain_hint_short_left_main(void *arg)
{
	(void)arg;
	int sv[2];
	CHECK_EQ(pipe2(sv, O_CLOEXEC | O_DIRECT), 0);
	short_left_case("O_DIRECT pipe", sv[0], sv[1], 0);
	tcp_pair(sv);
	short_left_case("TCP urgent", sv[0], sv[1], 1);
	pair(sv);
	short_left_case("AF_UNIX fd", sv[0], sv[1], 2);
	return 0;
}
MAIN_CASE(drain_hint_short_left, drain_hint_short_left_main, 1)

/* The hint expires: a read long after the short one makes the call at
 * once, even when bytes that came meanwhile wait unseen by any poller
 * (GOMAXPROCS=1, and a goroutine that never yields is runnable: were
 * the reader to park, it would wait for that goroutine's 10 ms slice,
 * or for ever in sanitizer builds, which do not preempt: the case would
 * time out). The case runs in one fresh slice of the reader's, so that
 * neither sysmon's 10 ms poll nor a preemption of the reader falls
 * inside it: under emulation a slice that began earlier ran out inside
 * the read. */
static atomic_int dx_stop;

static void dx_hog(void *arg)
{
	(void)arg;
	while (!atomic_load(&dx_stop))
		;
	gort_wg_done(&helpers_wg);
}

/* One try: how long the late read waited, in ns. */
static int64_t drain_hint_expires_try(int sv[2])
{
	char b[64];
	/* The hog's slice runs out and the reader's begins. Sanitizer builds
	 * have no signal preemption: there the hog would keep the P, and
	 * nothing preempts the reader either. */
	if (!HARNESS_SANITIZED)
		gort_gosched();
	CHECK_EQ(write(sv[1], "ab", 2), 2);
	CHECK_EQ(gort_read(sv[0], b, sizeof b), 2); /* short: the hint is on */
	int64_t t0 = gort_nanotime();
	CHECK_EQ(write(sv[1], "late", 4), 4); /* its edge: nothing here polls */
	while (gort_nanotime() - t0 < 200 * 1000)
		; /* four times the hint's window */
	int64_t t1 = gort_nanotime();
	CHECK_EQ(gort_read(sv[0], b, sizeof b), 4);
	int64_t waited = gort_nanotime() - t1;
	printf("     read %.3f ms after the short one: %.3f ms\n", (double)(t1 - t0) / 1e6,
	       (double)waited / 1e6);
	return waited;
}

/* A read that parks waits for the hog's slice every time; a loaded host
 * that takes the CPU away for a slice (seen under emulation) does so
 * rarely. So the case fails only when three tries all wait. */
static int drain_hint_expires_main(void *arg)
{
	(void)arg;
	int sv[2];
	tcp_pair(sv); /* the fd that takes the hint */
	atomic_store(&dx_stop, 0);
	start_helper(dx_hog, NULL);
	int64_t waited = INT64_MAX;
	for (int i = 0; i < 3 && waited >= 5 * MS; i++)
		waited = drain_hint_expires_try(sv);
	atomic_store(&dx_stop, 1);
	gort_wg_wait(&helpers_wg);
	if (waited >= 5 * MS)
		FAILF("the read waited %.1f ms for a poller, three times", (double)waited / 1e6);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(drain_hint_expires, drain_hint_expires_main, 1)

/* A read of nothing returns 0 at once, as read(2) and readv(2) do on a
 * socket, also right after a short read: the hint must not park it until
 * bytes come. Each round makes the zero-length read as soon as it can
 * after the short one, inside the hint's window on most rounds (a slow
 * host may miss it: the round then proves nothing, and fails nothing);
 * a read that parks ends at the deadline with ETIMEDOUT. */
static int drain_hint_zero_main(void *arg)
{
	(void)arg;
	enum { ROUNDS = 200 };
	int sv[2];
	tcp_pair(sv); /* the fd that takes the hint */
	char b[64];
	struct iovec none = {b, 0};
	for (int i = 0; i < ROUNDS; i++) {
		CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, gort_nanotime() + 2000 * MS), 0);
		CHECK_EQ(write(sv[1], "ab", 2), 2);
		CHECK_EQ(gort_read(sv[0], b, sizeof b), 2); /* short: the hint is on */
		ssize_t r = i % 2 ? gort_readv(sv[0], &none, 1) : gort_read(sv[0], b, 0);
		if (r != 0)
			FAILF("round %d: zero-length %s: %zd (%s)", i, i % 2 ? "readv" : "read", r,
			      strerror(read_errno()));
	}
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(drain_hint_zero, drain_hint_zero_main, 1)

/* ---------------------------------------------------------------------
 * Bad input.
 * ------------------------------------------------------------------- */

static int bad_input_main(void *arg)
{
	(void)arg;
	char b[4];
	CHECK_FAILS(gort_read(-1, b, 1), EBADF);
	CHECK_FAILS(gort_write(-5, b, 1), EBADF);
	CHECK_FAILS(gort_close(-1), EBADF);
	int sv[2];
	pair(sv);
	CHECK_FAILS(gort_read(sv[0], NULL, 4), EFAULT);
	CHECK_FAILS(gort_write(sv[0], NULL, 4), EFAULT);
	CHECK_FAILS(gort_readv(sv[0], NULL, 1), EFAULT);
	CHECK_FAILS(gort_writev(sv[0], NULL, -1), EINVAL);
	CHECK_FAILS(gort_fd_wait(sv[0], 0x10, 0), EINVAL);
	CHECK_FAILS(gort_set_deadline(-1, GORT_READ, 0), EBADF);
	/* An fd number that is not open. Not the lowest free one: other
	 * threads open files meanwhile (sysmon opens an M's /proc file the
	 * first time it looks at it; an emulator opens its own) and would
	 * get that number back at once; this one only once half the limit
	 * is in use. */
	struct rlimit rl;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	int dead = fcntl(sv[0], F_DUPFD_CLOEXEC, (int)(rl.rlim_cur / 2));
	CHECK(dead >= 0);
	close(dead);
	CHECK_FAILS(gort_read(dead, b, 1), EBADF);
	/* A number past the runtime's descriptor table (never open: the
	 * kernel's limit on fds is below INT_MAX) is not open either. */
	CHECK_FAILS(gort_read(INT_MAX, b, 1), EBADF);
	CHECK_FAILS(gort_write(INT_MAX, b, 1), EBADF);
	CHECK_FAILS(gort_accept(INT_MAX, NULL, NULL), EBADF);
	CHECK_FAILS(gort_fd_wait(INT_MAX, GORT_READ, 0), EBADF);
	CHECK_FAILS(gort_set_deadline(INT_MAX, GORT_READ, 0), EBADF);
	CHECK_FAILS(gort_close(INT_MAX), EBADF);
	CHECK_EQ(gort_write(sv[1], "", 0), 0);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(bad_input, bad_input_main, 1)

/* gort_fd_setblocking: the file of a connected TCP socket is blocking
 * again, as a child process given it sees it, while a goroutine's calls
 * on it still park instead of holding the M (they pass MSG_DONTWAIT). At
 * GOMAXPROCS=1 a read parked on it lets main run and write to it, and a
 * write far past the socket buffers completes while main, on the same
 * P, drains it: a call that blocked would hang the case. Deadlines keep
 * working; the sockets it cannot serve are refused. */
static int sb_fd;
static int64_t sb_total;

static void sb_reader(void *arg)
{
	char buf[8] = {0};
	CHECK_EQ(gort_read(sb_fd, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	gort_wg_done(arg);
}

static void sb_writer(void *arg)
{
	enum { CHUNK = 1 << 20 };
	char *buf = calloc(1, CHUNK);
	CHECK(buf != NULL);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(gort_write(sb_fd, buf, CHUNK), CHUNK);
	sb_total = 8 * CHUNK;
	free(buf);
	gort_wg_done(arg);
}

static bool file_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	CHECK(fl >= 0);
	return (fl & O_NONBLOCK) != 0;
}

static void setblocking_refusals(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_FAILS(gort_fd_setblocking(p[0]), ENOTSOCK);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(u >= 0);
	CHECK_FAILS(gort_fd_setblocking(u), EOPNOTSUPP);
	int t = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(t >= 0);
	CHECK_FAILS(gort_fd_setblocking(t), ENOTCONN);
	int port;
	int l = listen_any(4, &port);
	CHECK_FAILS(gort_fd_setblocking(l), ENOTCONN);
	CHECK_FAILS(gort_fd_setblocking(-1), EBADF);
	gort_close(p[0]);
	gort_close(p[1]);
	gort_close(u);
	gort_close(t);
	gort_close(l);
	CHECK_FAILS(gort_fd_setblocking(l), EBADF);
}

static int setblocking_main(void *arg)
{
	(void)arg;
	int sv[2];
	tcp_pair(sv);
	sb_fd = sv[0];
	CHECK_EQ(gort_fd_setblocking(sv[0]), 0);
	CHECK(!file_nonblocking(sv[0]));

	gort_waitgroup wg = {0};
	gort_wg_add(&wg, 1);
	CHECK(gort_go(sb_reader, &wg) > 0);
	gort_sleep(20 * 1000 * 1000); /* the reader parks meanwhile */
	CHECK_EQ(gort_write(sv[1], "hello", 5), 5);
	gort_wg_wait(&wg);

	gort_wg_add(&wg, 1);
	CHECK(gort_go(sb_writer, &wg) > 0);
	char buf[1 << 16];
	int64_t got = 0;
	while (got < 8 << 20) {
		ssize_t r = gort_read(sv[1], buf, sizeof buf);
		CHECK(r > 0);
		got += r;
	}
	gort_wg_wait(&wg);
	CHECK_EQ(sb_total, got);
	CHECK(!file_nonblocking(sv[0]));

	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, gort_nanotime() + 20 * 1000 * 1000), 0);
	CHECK_FAILS(gort_read(sv[0], buf, 1), ETIMEDOUT);

	setblocking_refusals();
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}

static void setblocking(void)
{
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_FAILS(gort_fd_setblocking(sv[0]), EOPNOTSUPP); /* checked first */
	close(sv[0]);
	close(sv[1]);
	run_main(setblocking_main, NULL, 1);
}

/* gort_close racing with a call that starts on the fd: the call must
 * not register the fd again just before close(2), which left its
 * descriptor registered (PD_POLL) for the next fd with that number: that
 * fd then never joined epoll, nor was made non-blocking. Detected by the
 * next fd staying blocking after its first use by a goroutine. */
static atomic_int cr_fd, cr_running, cr_stop;

static void cr_spinner(void *arg)
{
	(void)arg;
	int fd = atomic_load(&cr_fd);
	char c;
	atomic_store(&cr_running, 1);
	while (!atomic_load(&cr_stop))
		gort_recv(fd, &c, 1, MSG_DONTWAIT);
	atomic_store(&cr_running, 0);
	gort_wg_done(&helpers_wg);
}

static int close_race_main(void *arg)
{
	(void)arg;
#ifdef HARNESS_TSAN
	/* The race is the point: TSan reports the recv beside the close. */
	printf("     skipped under TSan\n");
	return 0;
#endif
	/* Fewer under the emulator, where a round costs ten times more. */
	int rounds = harness_emulated() ? 2000 : SCALE(20000);
	for (int i = 0; i < rounds; i++) {
		int sv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		atomic_store(&cr_fd, sv[0]);
		atomic_store(&cr_stop, 0);
		start_helper(cr_spinner, NULL);
		while (!atomic_load(&cr_running))
			gort_gosched();
		CHECK_EQ(gort_close(sv[0]), 0);
		atomic_store(&cr_stop, 1);
		gort_wg_wait(&helpers_wg);
		CHECK_EQ(gort_close(sv[1]), 0);
		int nv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, nv), 0);
		char c;
		CHECK_FAILS(gort_recv(nv[0], &c, 1, MSG_DONTWAIT), EAGAIN);
		CHECK(fcntl(nv[0], F_GETFL) & O_NONBLOCK);
		gort_close(nv[0]);
		gort_close(nv[1]);
	}
	return 0;
}
MAIN_CASE(close_race, close_race_main, 2)

/* A write of many bytes makes one system call after another while the
 * reader keeps up. gort_close in the middle, and a new socket that gets
 * the number at once: no byte of that write may reach the new socket.
 * Each attempt is checked against the close, and the close waits for
 * an attempt under way, so the write ends with what it wrote before. */
enum { WR_TOTAL = 64 << 20, WR_ROUNDS = 20 };
static int wr_fd;
static char *wr_buf;
static atomic_llong wr_drained;

static void wr_writer(void *arg)
{
	(void)arg;
	gort_write(wr_fd, wr_buf, WR_TOTAL); /* ends short, or EBADF */
	gort_wg_done(&helpers_wg);
}

static void *wr_drain(void *arg)
{
	int fd = (int)(intptr_t)arg;
	static char sink[1 << 16];
	ssize_t r;
	while ((r = read(fd, sink, sizeof sink)) > 0)
		atomic_fetch_add(&wr_drained, r);
	return NULL;
}

/* Bytes waiting on fd, without blocking. */
static ssize_t pending_bytes(int fd)
{
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
	return r < 0 ? 0 : r;
}

static int write_close_reuse_main(void *arg)
{
	(void)arg;
	wr_buf = malloc(WR_TOTAL);
	CHECK(wr_buf != NULL);
	memset(wr_buf, 0xab, WR_TOTAL);
	for (int round = 0; round < WR_ROUNDS; round++) {
		int sv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		wr_fd = sv[0];
		atomic_store(&wr_drained, 0);
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, wr_drain, (void *)(intptr_t)sv[1]), 0);
		start_helper(wr_writer, NULL);
		int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
		while (atomic_load(&wr_drained) < (1 << 20) && harness_now() < deadline)
			gort_gosched();
		CHECK_EQ(gort_close(sv[0]), 0);
		/* Non-blocking: a stray write must not block its M for good
		 * once the new socket's buffer is full. */
		int nv[2];
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, nv), 0);
		gort_wg_wait(&helpers_wg);
		ssize_t leaked = pending_bytes(nv[0]) + pending_bytes(nv[1]);
		CHECK_EQ(pthread_join(th, NULL), 0); /* it read the end of the stream */
		close(sv[1]);
		close(nv[0]);
		close(nv[1]);
		if (leaked)
			FAILF("round %d: a write to fd %d closed mid-way went on into the "
			      "socket that got its number next", round, sv[0]);
	}
	free(wr_buf);
	return 0;
}
MAIN_CASE(write_close_reuse, write_close_reuse_main, 2)

/* ---------------------------------------------------------------------
 * connect and recv as the blocking libc calls (libgort_hook.so routes a
 * goroutine's connect and recv on a blocking fd here).
 * ------------------------------------------------------------------- */

/* connect on a socket that is already connected fails with EISCONN, as
 * connect(2) does; it is not a second success. */
static int connect_eisconn_main(void *arg)
{
	(void)arg;
	int sv[2];
	tcp_pair(sv);
	struct sockaddr_storage peer;
	socklen_t len = sizeof peer;
	CHECK_EQ(getpeername(sv[1], (struct sockaddr *)&peer, &len), 0);
	CHECK_FAILS(gort_connect(sv[1], (struct sockaddr *)&peer, len), EISCONN);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}
MAIN_CASE(connect_eisconn, connect_eisconn_main, 2)

/* A blocking connect to an AF_UNIX listener whose accept queue is full
 * waits until there is room (connect(2) sleeps on the listener); it is
 * not EAGAIN, which only a non-blocking socket gets. */
static int uq_lfd;
static atomic_int uq_accepted;

static void uq_acceptor(void *arg)
{
	(void)arg;
	gort_sleep(LATE_MS * MS);
	for (int i = 0; i < 3; i++) {
		int c = gort_accept(uq_lfd, NULL, NULL);
		CHECK(c >= 0);
		atomic_fetch_add(&uq_accepted, 1);
		gort_close(c);
	}
	gort_wg_done(&helpers_wg);
}

static int unix_connect_full_main(void *arg)
{
	(void)arg;
	uq_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(uq_lfd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "gort-netpoll-%d", (int)getpid());
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	CHECK_EQ(bind(uq_lfd, (struct sockaddr *)&sa, salen), 0);
	CHECK_EQ(listen(uq_lfd, 0), 0); /* room for one pending connection */
	atomic_store(&uq_accepted, 0);
	start_helper(uq_acceptor, NULL);
	int c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(c[i] >= 0);
		CHECK_EQ(gort_connect(c[i], (struct sockaddr *)&sa, salen), 0);
	}
	gort_wg_wait(&helpers_wg);
	CHECK_EQ(atomic_load(&uq_accepted), 3);
	for (int i = 0; i < 3; i++)
		gort_close(c[i]);
	gort_close(uq_lfd);
	return 0;
}
MAIN_CASE(unix_connect_full, unix_connect_full_main, 2)

/* A connect waiting for room in a full AF_UNIX accept queue, on a socket
 * that another goroutine closes with gort_close and whose number a new
 * socket takes at once: the connect fails with EBADF, and the new socket
 * stays unconnected (it was connected in its place). */
static int uc_fd;
static atomic_int uc_ret, uc_err;

static void uc_connector(void *arg)
{
	const struct sockaddr_un *sa = arg;
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	                              strlen(sa->sun_path + 1));
	int r = gort_connect(uc_fd, (const struct sockaddr *)sa, salen);
	atomic_store(&uc_err, r < 0 ? read_errno() : 0);
	atomic_store(&uc_ret, r);
	gort_wg_done(&helpers_wg);
}

/* One round; false if the number went to another fd before the new
 * socket could take it (the round proves nothing then). */
static bool unix_connect_closed_round(int round)
{
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0);
	static struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 2, "gort-netpoll-uc-%d-%d",
	                 (int)getpid(), round);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, salen), 0);
	CHECK_EQ(listen(lfd, 0), 0);
	int c0 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c0 >= 0);
	CHECK_EQ(gort_connect(c0, (struct sockaddr *)&sa, salen), 0); /* the queue is full */
	uc_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(uc_fd >= 0);
	atomic_store(&uc_ret, 1);
	/* In its connect, however late it got there (a connect that began
	 * after the close would rightly connect the new socket): it waits
	 * for room, pausing between tries. */
	wait_parked(start_helper(uc_connector, &sa), "sleep");
	CHECK_EQ(atomic_load(&uc_ret), 1);
	CHECK_EQ(gort_close(uc_fd), 0);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	if (s != uc_fd) {
		int d = fcntl(s, F_DUPFD_CLOEXEC, uc_fd);
		close(s);
		s = d;
	}
	int a = accept(lfd, NULL, NULL); /* room for one */
	CHECK(a >= 0);
	gort_wg_wait(&helpers_wg);
	bool reused = s == uc_fd;
	if (reused) {
		CHECK_EQ(atomic_load(&uc_ret), -1);
		CHECK_EQ(atomic_load(&uc_err), EBADF);
		struct sockaddr_un peer;
		socklen_t pl = sizeof peer;
		CHECK_FAILS(getpeername(s, (struct sockaddr *)&peer, &pl), ENOTCONN);
	}
	close(s);
	close(a);
	gort_close(c0);
	gort_close(lfd);
	return reused;
}

static int unix_connect_closed_main(void *arg)
{
	(void)arg;
	bool reused = false;
	for (int round = 0; round < 5 && !reused; round++)
		reused = unix_connect_closed_round(round);
	CHECK(reused);
	return 0;
}
MAIN_CASE(unix_connect_closed, unix_connect_closed_main, 2)

/* recv with MSG_WAITALL on a stream waits for the whole buffer (or the
 * end of the stream), as recv(2) on a blocking socket does; on a
 * datagram socket it returns one datagram. */
static int wa_fd;

static void wa_writer(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_write(wa_fd, "ab", 2), 2);
	gort_sleep(20 * MS);
	CHECK_EQ(gort_write(wa_fd, "cd", 2), 2);
	gort_sleep(20 * MS);
	CHECK_EQ(gort_write(wa_fd, "ef", 2), 2);
	shutdown(wa_fd, SHUT_WR);
	gort_wg_done(&helpers_wg);
}

static int recv_waitall_main(void *arg)
{
	(void)arg;
	int sv[2];
	tcp_pair(sv);
	wa_fd = sv[1];
	start_helper(wa_writer, NULL);
	char b[8] = {0};
	CHECK_EQ(gort_recv(sv[0], b, 4, MSG_WAITALL), 4);
	CHECK(memcmp(b, "abcd", 4) == 0);
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	/* The end of the stream ends it early: what came before. */
	CHECK_EQ(gort_recvfrom(sv[0], b, sizeof b, MSG_WAITALL, (struct sockaddr *)&from, &fl),
	         2);
	CHECK(memcmp(b, "ef", 2) == 0);
	CHECK_EQ(gort_recv(sv[0], b, sizeof b, MSG_WAITALL), 0);
	gort_wg_wait(&helpers_wg);
	gort_close(sv[0]);
	gort_close(sv[1]);

	int dv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dv), 0);
	CHECK_EQ(gort_send(dv[1], "xy", 2, 0), 2);
	CHECK_EQ(gort_send(dv[1], "zw", 2, 0), 2);
	CHECK_EQ(gort_recv(dv[0], b, sizeof b, MSG_WAITALL), 2);
	CHECK(memcmp(b, "xy", 2) == 0);
	gort_close(dv[0]);
	gort_close(dv[1]);
	return 0;
}
MAIN_CASE(recv_waitall, recv_waitall_main, 2)

/* ---------------------------------------------------------------------
 * The last running P handed off while goroutines wait on the network.
 * ------------------------------------------------------------------- */

/* At GOMAXPROCS=2, with both goroutines parked on the network and main
 * on a WaitGroup, one M blocks in the netpoller and the others are idle.
 * The first write wakes the blocker, which that M runs; the blocker then
 * blocks in a system call, and its P is handed off while the other P is
 * idle and nobody polls. Unless handoffp starts an M to poll (Go's "last
 * running P" step), the reader's byte goes unseen until the call ends:
 * every P is idle, so sysmon sleeps deeply meanwhile. */
enum { LASTP_CALL_MS = 2000 };

static int lastp_a[2], lastp_b[2];
static _Atomic int64_t lastp_wrote, lastp_woke;

static void lastp_reader(void *arg)
{
	(void)arg;
	char c;
	CHECK_EQ(gort_read(lastp_a[0], &c, 1), 1);
	atomic_store(&lastp_woke, harness_now());
	gort_wg_done(&helpers_wg);
}

static void lastp_blocker(void *arg)
{
	(void)arg;
	char c;
	CHECK_EQ(gort_read(lastp_b[0], &c, 1), 1);
	gort_entersyscall_block();
	harness_sleep_ms(LASTP_CALL_MS);
	gort_exitsyscall();
	gort_wg_done(&helpers_wg);
}

static void *lastp_writer(void *arg)
{
	(void)arg;
	CHECK_EQ(write(lastp_b[1], "b", 1), 1);
	harness_sleep_ms(100); /* the blocker is in its call */
	atomic_store(&lastp_wrote, harness_now());
	CHECK_EQ(write(lastp_a[1], "a", 1), 1);
	return NULL;
}

static int last_p_main(void *arg)
{
	(void)arg;
	pair(lastp_a);
	pair(lastp_b);
	start_helper(lastp_reader, NULL);
	start_helper(lastp_blocker, NULL);
	settle();
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, lastp_writer, NULL), 0);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	join_thread(th);
	int64_t late = atomic_load(&lastp_woke) - atomic_load(&lastp_wrote);
	printf("     the reader woke %.1f ms after its byte\n", (double)late / 1e6);
	if (late > (int64_t)LASTP_CALL_MS / 2 * MS)
		FAILF("the reader woke %.0f ms after its byte: nobody polled the network "
		      "while the last P was idle", (double)late / 1e6);
	for (int i = 0; i < 2; i++) {
		gort_close(lastp_a[i]);
		gort_close(lastp_b[i]);
	}
	return 0;
}
MAIN_CASE(last_p_handoff_polls, last_p_main, 2)

/* A sandbox whose seccomp filter does not know epoll_pwait2 (container
 * runtimes' default profiles, before they listed it) refuses it with
 * EPERM, not ENOSYS. The timed poll of an idle M (a sleep, a deadline)
 * falls back to epoll_wait as it does where the kernel lacks the call;
 * it ended the process with "netpoll: epoll_wait failed". */
static int refuse_pwait2(void)
{
#ifdef SYS_epoll_pwait2
	struct sock_filter code[] = {
		SECCOMP_HEAD,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_epoll_pwait2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	return seccomp_refuse(code, sizeof code / sizeof *code);
#else
	return -1;
#endif
}

static int pwait2_refused_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		int64_t t0 = gort_nanotime();
		gort_sleep(5 * MS);
		CHECK(gort_nanotime() - t0 >= 5 * MS);
	}
	int sv[2];
	pair(sv);
	int64_t t0 = gort_nanotime(), due = t0 + 20 * MS;
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, due), 0);
	char b[4];
	CHECK_FAILS(gort_read(sv[0], b, sizeof b), ETIMEDOUT);
	check_on_time("read deadline, epoll_pwait2 refused", t0, due);
	gort_close(sv[0]);
	gort_close(sv[1]);
	return 0;
}

static void pwait2_refused(void)
{
	/* Installed in the case's own process, before the runtime starts
	 * its threads, which inherit it. */
	if (refuse_pwait2() != 0) {
		printf("     skipped: no seccomp filter here\n");
		return;
	}
	run_main(pwait2_refused_main, NULL, 1);
}

int main(void)
{
	RUN_CASE(reader_wakes_procs1, 20);
	RUN_CASE(echo_many, 120);
	RUN_CASE(close_wakes_ebadf, 20);
	RUN_CASE(close_reuse_at_once, 20);
	RUN_CASE(dup_replaces, 20);
	RUN_CASE(close_linger, 20);
	RUN_CASE(dontwait_beside_waiter, 20);
	RUN_CASE(deadlines, 20);
	RUN_CASE(fd_wait, 20);
	RUN_CASE(fd_wait_queued, 20);
	RUN_CASE(fd_wait_both_wdeadline, 20);
	RUN_CASE(refused, 20);
	RUN_CASE(reset, 20);
	RUN_CASE(half_close, 20);
	RUN_CASE(regular_file, 20);
	RUN_CASE(timers_while_epoll, 20);
	RUN_CASE(external_writer, 20);
	RUN_CASE(plain_thread, 20);
	RUN_CASE(drain_hint_count, 20);
	RUN_CASE(drain_hint_kinds, 20);
	RUN_CASE(drain_hint_eof, 60);
	RUN_CASE(drain_hint_expires, 20);
	RUN_CASE(drain_hint_short_left, 20);
	RUN_CASE(drain_hint_zero, 20);
	RUN_CASE(close_race, 120);
	RUN_CASE(write_close_reuse, 60);
	RUN_CASE(bad_input, 20);
	RUN_CASE(setblocking, 20);
	RUN_CASE(connect_eisconn, 20);
	RUN_CASE(unix_connect_full, 20);
	RUN_CASE(unix_connect_closed, 20);
	RUN_CASE(recv_waitall, 20);
	RUN_CASE(last_p_handoff_polls, 20);
	RUN_CASE(pwait2_refused, 20);
	PASS("netpoll_test");
	return 0;
}
