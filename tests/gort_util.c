/*
 * gort_util.c - the helpers of gort_util.h.
 */
#include "gort_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>

/* ---------------------------------------------------------------------
 * errno
 * ------------------------------------------------------------------- */

static int read_errno_fn(void)
{
	return errno;
}

static void write_errno_fn(int e)
{
	errno = e;
}

int (*volatile read_errno)(void) = read_errno_fn;
void (*volatile write_errno)(int) = write_errno_fn;

/* ---------------------------------------------------------------------
 * Running the runtime
 * ------------------------------------------------------------------- */

void run_main(int (*fn)(void *), void *arg, int procs)
{
	gort_gomaxprocs(procs);
	CHECK_EQ(gort_main(fn, arg), 0);
}

void wait_only_main(void)
{
	int64_t deadline = gort_nanotime() + 10LL * 1000000000;
	while (gort_numgoroutine() != 1 && gort_nanotime() < deadline)
		gort_gosched();
	CHECK_EQ(gort_numgoroutine(), 1);
}

/* ---------------------------------------------------------------------
 * Waiting in a goroutine
 * ------------------------------------------------------------------- */

void wait_flag(atomic_int *flag, int want)
{
	int64_t deadline = gort_nanotime() + (int64_t)(harness_timeout(10) * 1e9);
	while (atomic_load(flag) < want) {
		if (gort_nanotime() > deadline)
			FAILF("waited 10 s for a goroutine to reach state %d", want);
		gort_sleep(50000);
	}
}

char *dump_to_string(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	gort_dump_goroutines(f);
	CHECK_EQ(fclose(f), 0);
	return buf;
}

static bool is_parked(int64_t goid, const char *reason)
{
	char want[96];
	snprintf(want, sizeof want, "goroutine %lld [%s", (long long)goid, reason);
	size_t n = strlen(want);
	char *dump = dump_to_string();
	bool found = false;
	for (const char *p = dump; !found && (p = strstr(p, want)) != NULL; p++)
		found = (p == dump || p[-1] == '\n') && (p[n] == ']' || p[n] == ',');
	free(dump);
	return found;
}

void wait_parked(int64_t goid, const char *reason)
{
	int64_t deadline = gort_nanotime() + (int64_t)(harness_timeout(10) * 1e9);
	while (!is_parked(goid, reason)) {
		if (gort_nanotime() > deadline)
			FAILF("waited 10 s for goroutine %lld to park [%s]", (long long)goid, reason);
		gort_sleep(50000);
	}
}

uint64_t slices_ended(void)
{
	gort_stats st;
	CHECK_EQ(gort_read_stats(&st), 0);
	return st.preempt_coop + st.preempt_async + st.handoffs;
}

void settle(void)
{
	gort_sleep(20 * MS);
}

void join_thread(pthread_t th)
{
	gort_entersyscall_block();
	int rc = pthread_join(th, NULL);
	gort_exitsyscall();
	CHECK_EQ(rc, 0);
}

/* ---------------------------------------------------------------------
 * Helper goroutines
 * ------------------------------------------------------------------- */

gort_waitgroup helpers_wg;

int64_t start_helper(void (*fn)(void *), void *arg)
{
	CHECK_EQ(gort_wg_add(&helpers_wg, 1), 0);
	int64_t id = gort_go(fn, arg);
	CHECK(id > 0);
	return id;
}

int64_t spin_until_stop(atomic_bool *stop, double limit_s)
{
	int64_t t0 = harness_now();
	int64_t limit = (int64_t)(limit_s * 1e9);
	while (!atomic_load(stop)) {
		for (unsigned i = 0; i < (1u << 16); i++)
			if (atomic_load_explicit(stop, memory_order_relaxed))
				break;
		gort_preempt_off();
		gort_preempt_on();
		if (harness_now() - t0 > limit)
			return -1;
	}
	return harness_now() - t0;
}

void yield_loop(void *arg)
{
	struct yielder *y = arg;
	while (!atomic_load(&y->stop)) {
		atomic_fetch_add(&y->count, 1);
		gort_gosched();
	}
	gort_wg_done(y->wg);
}

/* ---------------------------------------------------------------------
 * Channels
 * ------------------------------------------------------------------- */

gort_chan *make_chan(size_t elem, size_t cap)
{
	gort_chan *c = gort_chan_make(elem, cap);
	CHECK(c != NULL);
	return c;
}

enum peer_op { PEER_SEND, PEER_RECV, PEER_SELECT };

static void peer_run(struct peer *p, enum peer_op op)
{
	atomic_store(&p->state, 1);
	write_errno(0);
	switch (op) {
	case PEER_SEND:
		p->rc = gort_chan_send(p->c, &p->val);
		break;
	case PEER_RECV:
		p->rc = gort_chan_recv(p->c, &p->val);
		break;
	case PEER_SELECT:
		p->rc = gort_select(p->cases, p->n, true);
		break;
	}
	p->err = read_errno();
	atomic_store(&p->state, 2);
	gort_wg_done(&helpers_wg);
}

void peer_send(void *p)
{
	peer_run(p, PEER_SEND);
}

void peer_recv(void *p)
{
	peer_run(p, PEER_RECV);
}

void peer_select(void *p)
{
	peer_run(p, PEER_SELECT);
}

int64_t start_peer(void (*fn)(void *), struct peer *p, gort_chan *c, int val)
{
	p->c = c;
	p->val = val;
	p->rc = -2;
	p->err = 0;
	atomic_store(&p->state, 0);
	return start_helper(fn, p);
}

void park_peer(void (*fn)(void *), struct peer *p, gort_chan *c, int val)
{
	const char *reason = fn == peer_send ? "chan send" : fn == peer_recv ? "chan receive" : "select";
	wait_parked(start_peer(fn, p, c, val), reason);
	CHECK_EQ(atomic_load(&p->state), 1); /* still blocked */
}

/* ---------------------------------------------------------------------
 * Helper programs
 * ------------------------------------------------------------------- */

int run_prog_mode(const char *prog, int argc, char **argv,
                  const struct prog_mode *modes, size_t n)
{
	for (size_t i = 0; argc == 2 && i < n; i++) {
		if (strcmp(argv[1], modes[i].name) != 0)
			continue;
		if (modes[i].no_runtime)
			return modes[i].fn(modes[i].arg);
		return gort_main(modes[i].fn, modes[i].arg);
	}
	if (argc == 2)
		fprintf(stderr, "%s: unknown mode %s\n", prog, argv[1]);
	fprintf(stderr, "usage: %s MODE, one of:", prog);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %s", modes[i].name);
	fputc('\n', stderr);
	exit(1);
}

void read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = gort_read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			FAILF("read_full: %zd after %zu of %zu bytes (errno %d)", r, got, n,
			      read_errno());
		got += (size_t)r;
	}
}

/* ---- loopback TCP ---- */

/* A listening TCP socket on 127.0.0.1, any port; *port gets it. */
int listen_any(int backlog, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	CHECK_EQ(listen(fd, backlog), 0);
	socklen_t len = sizeof sa;
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (gort_connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = read_errno();
		gort_close(fd);
		write_errno(e);
		return -1;
	}
	return fd;
}

int dial_blocking(int port, double timeout_s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct timeval tv = {.tv_sec = (time_t)harness_timeout(timeout_s)};
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* A connected TCP pair on loopback: sv[0] accepted, sv[1] dialed. */
void tcp_pair(int sv[2])
{
	tcp_pair_rcvbuf(sv, 0);
}

void tcp_pair_rcvbuf(int sv[2], int rcvbuf)
{
	int port;
	int l = listen_any(1, &port);
	/* Set on the listener, before the handshake: the accepted socket
	 * inherits it, and its first window is already that small. */
	if (rcvbuf > 0)
		CHECK_EQ(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
	sv[1] = dial(port);
	CHECK(sv[1] >= 0);
	sv[0] = gort_accept(l, NULL, NULL);
	CHECK(sv[0] >= 0);
	int one = 1;
	setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	gort_close(l);
}

int seccomp_refuse(struct sock_filter *code, size_t n)
{
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = code};
	if (SECCOMP_AUDIT_ARCH == 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return -1;
	return 0;
}
