/*
 * net_test proves gort_listen and gort_dial, and the two server examples
 * built on them, on loopback only:
 *  - "127.0.0.1:0" listens (the port from getsockname), non-blocking,
 *    close-on-exec, SO_REUSEADDR, TCP_NODELAY; gort_dial connects to it
 *    by literal, by name ("localhost", resolved under the syscall
 *    hand-off) and with an empty host (the local system: each loopback
 *    address in turn until one answers, [::1] refusing first where it
 *    exists); bytes flow both ways; the port can be listened on again
 *    at once (SO_REUSEADDR) and not twice (EADDRINUSE); "localhost:0"
 *    listens too;
 *  - "[::1]:0" the same over IPv6 (skipped where IPv6 loopback is not
 *    available), and ":0" (every address) takes both IPv4 and IPv6;
 *  - malformed addresses give EINVAL for both calls;
 *  - a closed port gives ECONNREFUSED (IPv4 and IPv6);
 *  - a deadline already passed gives ETIMEDOUT at once; a deadline that
 *    passes while the handshake cannot complete (the listener's accept
 *    queue is full) gives ETIMEDOUT on time;
 *  - a deadline that passes while the name is being looked up (this
 *    program's getaddrinfo holds one name until told to let go) gives
 *    ETIMEDOUT then, from a goroutine and from a plain thread, as Go's
 *    lookup under a context does, not when the lookup ends; also from
 *    a plain thread whose wait outlasts the run (gort_main returns
 *    meanwhile);
 *  - a dialed socket is connected for good: gort_connect on it fails
 *    with EISCONN, in a goroutine and outside one;
 *  - the calls work outside a goroutine too (before gort_main);
 *  - 10,000 concurrent connections (SCALE) at GOMAXPROCS=2 to an echo
 *    server of goroutines (examples/echo_server.c's handler), all open at
 *    once, each exchanging messages of varied sizes with every byte
 *    checked; the clients are goroutines of a forked child process, so
 *    that each process needs 10,000 descriptors (RLIMIT_NOFILE raised;
 *    skipped if the hard limit is lower and cannot be raised);
 *  - HTTP/1.1 keep-alive against examples/http_hello.c's handler: several
 *    requests on one connection, a request split across writes, pipelined
 *    requests (one with a body) in one write, HEAD, "Connection: close"
 *    and HTTP/1.0 (with "Connection: keep-alive" in the response that
 *    keeps it alive), a body behind "Expect: 100-continue" (close after
 *    the response: the next bytes may be the body or not), and a
 *    malformed request; every response is checked
 *    byte for byte (the Date value checked for its format and time);
 *  - both handlers end, without SIGPIPE, when the client sent its input
 *    and closed without reading the answers (a write after the reset
 *    is EPIPE).
 */
#include "gort_util.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* The examples' connection handlers, without their main(). */
#define ECHO_SERVER_NO_MAIN
#include "../examples/echo_server.c"
#define HTTP_HELLO_NO_MAIN
#include "../examples/http_hello.c"

#define LATE_MS (HARNESS_SANITIZED || harness_emulated() ? 400 : 100)

/* The port of a bound socket. */
static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	CHECK_EQ(ss.ss_family, AF_INET);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int family_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	CHECK_EQ(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ss.ss_family;
}

static int sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;
	CHECK_EQ(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

/* What gort_listen and gort_dial promise of every fd they return. */
static void check_fd(int fd)
{
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(sockopt(fd, IPPROTO_TCP, TCP_NODELAY) != 0);
}

static void check_listener(int fd)
{
	check_fd(fd);
	CHECK(sockopt(fd, SOL_SOCKET, SO_REUSEADDR) != 0);
	CHECK(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN) != 0);
}

/* "host:port" into buf. */
static const char *hostport(char *buf, size_t n, const char *host, int port)
{
	snprintf(buf, n, "%s:%d", host, port);
	return buf;
}

/* Whether IPv6 loopback works here: bind and listen on [::1]. */
static bool have_ipv6_loopback(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0;
	close(fd);
	return ok;
}

/* A port that nothing listens on: bound, then closed. */
static int closed_port(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *s4;
	}
	CHECK_EQ(bind(fd, (struct sockaddr *)&ss, len), 0);
	int port = port_of(fd);
	close(fd);
	return port;
}

/* ---------------------------------------------------------------------
 * Listen and dial, both families.
 * ------------------------------------------------------------------- */

/* One connection through lfd: dial addr, accept, a message each way. */
static void exchange(int lfd, const char *addr)
{
	int c = gort_dial(addr, gort_nanotime() + 5000 * MS);
	if (c < 0)
		FAILF("gort_dial(\"%s\"): errno %d (%s)", addr, read_errno(),
		      strerror(read_errno()));
	check_fd(c);
	int s = gort_accept(lfd, NULL, NULL);
	CHECK(s >= 0);
	CHECK(sockopt(s, IPPROTO_TCP, TCP_NODELAY) != 0); /* from the listener */
	char buf[16];
	CHECK_EQ(gort_write(c, "ping", 4), 4);
	read_full(s, buf, 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	CHECK_EQ(gort_write(s, "pong!", 5), 5);
	read_full(c, buf, 5);
	CHECK(memcmp(buf, "pong!", 5) == 0);
	CHECK_EQ(gort_close(c), 0);
	CHECK_EQ(gort_read(s, buf, sizeof buf), 0);
	CHECK_EQ(gort_close(s), 0);
}

static int v4_main(void *arg)
{
	(void)arg;
	char a[64];
	int lfd = gort_listen("127.0.0.1:0", 16);
	check_listener(lfd);
	CHECK_EQ(family_of(lfd), AF_INET);
	int port = port_of(lfd);
	CHECK(port > 0);
	exchange(lfd, hostport(a, sizeof a, "127.0.0.1", port));
	exchange(lfd, hostport(a, sizeof a, "localhost", port));
	/* Empty host: the loopback addresses in turn ([::1] first where it
	 * exists refuses: the listener is IPv4 only). */
	exchange(lfd, hostport(a, sizeof a, "", port));
	/* SO_REUSEADDR: the port can be listened on again at once after
	 * the listener and a connection through it are closed. */
	CHECK_EQ(gort_close(lfd), 0);
	lfd = gort_listen(hostport(a, sizeof a, "127.0.0.1", port), 0);
	if (lfd < 0)
		FAILF("listen again on %s: errno %d", a, read_errno());
	/* The port is taken while it listens. */
	CHECK_FAILS(gort_listen(a, 0), EADDRINUSE);
	exchange(lfd, a);
	CHECK_EQ(gort_close(lfd), 0);
	/* Leading zeros in the port, as Go takes them. */
	lfd = gort_listen("127.0.0.1:000000", 0);
	check_listener(lfd);
	CHECK_EQ(gort_close(lfd), 0);
	/* A name: the first of its addresses that can be bound. */
	lfd = gort_listen("localhost:0", 0);
	check_listener(lfd);
	exchange(lfd, hostport(a, sizeof a, "localhost", port_of(lfd)));
	CHECK_EQ(gort_close(lfd), 0);
	return 0;
}
MAIN_CASE(listen_dial_v4, v4_main, 2)

static int v6_main(void *arg)
{
	(void)arg;
	char a[64];
	int lfd = gort_listen("[::1]:0", 16);
	check_listener(lfd);
	CHECK_EQ(family_of(lfd), AF_INET6);
	int port = port_of(lfd);
	exchange(lfd, hostport(a, sizeof a, "[::1]", port));
	exchange(lfd, hostport(a, sizeof a, "[0:0:0:0:0:0:0:1]", port));
	/* A zone by the loopback interface's name or index, as Go takes. */
	char zone[32];
	unsigned lo = if_nametoindex("lo");
	if (lo != 0) {
		exchange(lfd, hostport(a, sizeof a, "[::1%lo]", port));
		snprintf(zone, sizeof zone, "[::1%%%u]", lo);
		exchange(lfd, hostport(a, sizeof a, zone, port));
	}
	CHECK_EQ(gort_close(lfd), 0);
	if (lo != 0) {
		lfd = gort_listen("[::1%lo]:0", 0);
		check_listener(lfd);
		CHECK_EQ(gort_close(lfd), 0);
	}

	/* Every address: one dual-stack socket takes IPv4 and IPv6. */
	lfd = gort_listen(":0", 0);
	check_listener(lfd);
	CHECK_EQ(family_of(lfd), AF_INET6);
	port = port_of(lfd);
	exchange(lfd, hostport(a, sizeof a, "127.0.0.1", port));
	exchange(lfd, hostport(a, sizeof a, "[::1]", port));
	exchange(lfd, hostport(a, sizeof a, "", port));
	CHECK_EQ(gort_close(lfd), 0);
	return 0;
}

static void listen_dial_v6(void)
{
	if (!have_ipv6_loopback()) {
		SKIP("listen_dial_v6", "IPv6 loopback ([::1]) is not available");
		return;
	}
	run_main(v6_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * Errors.
 * ------------------------------------------------------------------- */

static const char *const bad_addrs[] = {
	"",           "80",          "127.0.0.1",     "127.0.0.1:",  ":",
	"127.0.0.1:x", "127.0.0.1:8x", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80",
	"127.0.0.1:123456", "::1:80", "::1", "[::1]80", "[::1",
	"[::1]:",     "[]:80",       "[127.0.0.1]:80", "[::1]]:80",   "a[b]:80",
	"[::1]:8 0",  "[::g]:80",    "[::1%]:80",     "[::1%gort-no-such-if]:80",
	"[127.0.0.1%lo]:80",
};

static int bad_main(void *arg)
{
	(void)arg;
	CHECK_FAILS(gort_listen(NULL, 0), EINVAL);
	CHECK_FAILS(gort_dial(NULL, 0), EINVAL);
	for (size_t i = 0; i < sizeof bad_addrs / sizeof *bad_addrs; i++) {
		const char *a = bad_addrs[i];
		write_errno(0);
		int r = gort_listen(a, 0);
		int e = read_errno();
		if (r != -1 || e != EINVAL)
			FAILF("gort_listen(\"%s\"): %d errno %d, want EINVAL", a, r, e);
		write_errno(0);
		r = gort_dial(a, 0);
		e = read_errno();
		if (r != -1 || e != EINVAL)
			FAILF("gort_dial(\"%s\"): %d errno %d, want EINVAL", a, r, e);
	}
	/* A host name too long for any resolver. */
	char longname[2048];
	memset(longname, 'a', sizeof longname);
	strcpy(longname + sizeof longname - 4, ":80");
	CHECK_FAILS(gort_dial(longname, 0), EINVAL);
	return 0;
}
MAIN_CASE(bad_addresses, bad_main, 1)

static int refused_main(void *arg)
{
	(void)arg;
	char a[64];
	CHECK_FAILS(gort_dial(hostport(a, sizeof a, "127.0.0.1", closed_port(AF_INET)), 0),
	            ECONNREFUSED);
	CHECK_FAILS(gort_dial(a, gort_nanotime() + 5000 * MS), ECONNREFUSED);
	if (have_ipv6_loopback())
		CHECK_FAILS(gort_dial(hostport(a, sizeof a, "[::1]", closed_port(AF_INET6)), 0),
		            ECONNREFUSED);
	return 0;
}
MAIN_CASE(refused, refused_main, 2)

static int deadline_main(void *arg)
{
	(void)arg;
	char a[64];
	int lfd = gort_listen("127.0.0.1:0", 16);
	CHECK(lfd >= 0);
	hostport(a, sizeof a, "127.0.0.1", port_of(lfd));
	/* Already passed: ETIMEDOUT at once, though the port answers. */
	int64_t t0 = gort_nanotime();
	CHECK_FAILS(gort_dial(a, t0 - 1), ETIMEDOUT);
	CHECK_FAILS(gort_dial(a, 1), ETIMEDOUT);
	CHECK_FAILS(gort_dial(a, -5), ETIMEDOUT);
	CHECK(gort_nanotime() - t0 < (int64_t)(harness_timeout(0.1) * 1e9));
	CHECK_EQ(gort_close(lfd), 0);

	/* Passing during the handshake: a listener that never accepts, with
	 * a backlog of 0, holds a connection or two; after that the system
	 * drops the SYNs and a connect waits until its deadline. */
	int raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(raw >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(bind(raw, (struct sockaddr *)&sa, sizeof sa), 0);
	CHECK_EQ(listen(raw, 0), 0);
	hostport(a, sizeof a, "127.0.0.1", port_of(raw));
	int held[16], nheld = 0;
	bool timed_out = false;
	while (nheld < 16) {
		int64_t start = gort_nanotime(), due = start + 100 * MS;
		int fd = gort_dial(a, due);
		if (fd >= 0) {
			held[nheld++] = fd;
			continue;
		}
		CHECK_EQ(read_errno(), ETIMEDOUT);
		int64_t now = gort_nanotime();
		double late = (double)(now - due) / 1e6;
		printf("     dial deadline: %.3f ms after it (%d connections queued first)\n",
		       late, nheld);
		if (now < due)
			FAILF("dial deadline: woke %.3f ms early", -late);
		if (late > LATE_MS)
			FAILF("dial deadline: woke %.1f ms late (limit %d)", late, LATE_MS);
		timed_out = true;
		break;
	}
	for (int i = 0; i < nheld; i++)
		gort_close(held[i]);
	close(raw);
	if (!timed_out)
		printf("     (the accept queue never filled: the in-flight deadline "
		       "was not exercised)\n");
	return 0;
}
MAIN_CASE(dial_deadline, deadline_main, 2)

/* ---------------------------------------------------------------------
 * A lookup that outlasts the dial's deadline.
 * ------------------------------------------------------------------- */

/* This program's getaddrinfo is the system's, but for SLOW_NAME: its
 * lookup waits until slow_release is set (10 s at most) and then finds
 * nothing, as a resolver whose servers do not answer. */
#define SLOW_NAME "slow.lookup.invalid"
static atomic_int slow_started, slow_ended, slow_release;

typedef int gai_fn(const char *, const char *, const struct addrinfo *, struct addrinfo **);
static _Atomic(gai_fn *) next_getaddrinfo;

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
	if (!node || strcmp(node, SLOW_NAME) != 0) {
		gai_fn *next = atomic_load(&next_getaddrinfo);
		if (!next) {
			next = (gai_fn *)dlsym(RTLD_NEXT, "getaddrinfo");
			atomic_store(&next_getaddrinfo, next);
		}
		return next(node, service, hints, res);
	}
	if (hints && (hints->ai_flags & AI_NUMERICHOST))
		return EAI_NONAME;
	atomic_fetch_add(&slow_started, 1);
	for (int i = 0; i < 10000 && !atomic_load(&slow_release); i++)
		usleep(1000);
	atomic_fetch_add(&slow_ended, 1);
	return EAI_NONAME;
}

/* Dial SLOW_NAME with a deadline 50 ms away: ETIMEDOUT once it passes,
 * while the lookup still waits. The lookup may not have begun by then
 * (a thread or goroutine slow to start, under an emulator): it must
 * begin, and not end, afterwards. One dial at a time. */
static void *slow_dial(void *arg)
{
	(void)arg;
	int want = atomic_load(&slow_started) + 1;
	int64_t due = gort_nanotime() + 50 * MS;
	CHECK_FAILS(gort_dial(SLOW_NAME ":80", due), ETIMEDOUT);
	CHECK(gort_nanotime() >= due);
	int64_t until = gort_nanotime() + (int64_t)(harness_timeout(10) * 1000) * MS;
	while (atomic_load(&slow_started) < want && gort_nanotime() < until)
		usleep(1000);
	CHECK_EQ(atomic_load(&slow_started), want);
	CHECK_EQ(atomic_load(&slow_ended), 0);
	return NULL;
}

static int slow_lookup_main(void *arg)
{
	(void)arg;
	slow_dial(NULL);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, slow_dial, NULL), 0);
	join_thread(th);
	/* The lookups given up on end by themselves, and their goroutines
	 * with them. */
	CHECK_EQ(atomic_load(&slow_started), 2);
	atomic_store(&slow_release, 1);
	wait_flag(&slow_ended, 2);
	wait_only_main();
	return 0;
}
MAIN_CASE(slow_lookup, slow_lookup_main, 1)

/* A plain thread's dial whose lookup outlasts the run: gort_main returns
 * while the thread waits for the lookup, and the run's goroutines and
 * timers are abandoned with it. The dial still ends by its deadline
 * (ETIMEDOUT, or the lookup's failure if it came first), not never. A
 * dial before gort_main gives up on its lookup at its deadline too. */
static atomic_int orphan_ended, main_returned;

static void *orphan_dial(void *arg)
{
	(void)arg;
	int64_t due = gort_nanotime() + 1000 * MS;
	write_errno(0);
	int r = gort_dial(SLOW_NAME ":80", due);
	int e = read_errno();
	CHECK_EQ(r, -1);
	CHECK(e == ETIMEDOUT || e == EHOSTUNREACH);
	atomic_store(&orphan_ended, 1);
	return NULL;
}

/* The lookup ends once the run is ending: after main has returned. */
static void *release_after_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&main_returned))
		usleep(1000);
	usleep(50 * 1000);
	atomic_store(&slow_release, 1);
	return NULL;
}

static pthread_t orphan_th;

static int orphan_main(void *arg)
{
	(void)arg;
	CHECK_EQ(pthread_create(&orphan_th, NULL, orphan_dial, NULL), 0);
	wait_flag(&slow_started, 2);
	settle(); /* the thread on its way to wait for the lookup */
	atomic_store(&main_returned, 1);
	return 0;
}

static void lookup_outlives_run(void)
{
	slow_dial(NULL);
	pthread_t releaser;
	CHECK_EQ(pthread_create(&releaser, NULL, release_after_main, NULL), 0);
	run_main(orphan_main, NULL, 1);
	CHECK_EQ(pthread_join(releaser, NULL), 0);
	/* The dial's deadline is 1 s after it began; the lookups end once
	 * released. */
	int64_t until = gort_nanotime() + (int64_t)(harness_timeout(10) * 1000) * MS;
	while ((!atomic_load(&orphan_ended) || atomic_load(&slow_ended) < 2) &&
	       gort_nanotime() < until)
		usleep(1000);
	CHECK(atomic_load(&orphan_ended));
	CHECK_EQ(atomic_load(&slow_ended), 2);
	CHECK_EQ(pthread_join(orphan_th, NULL), 0);
}

/* A dialed socket is connected as after a blocking connect(2): one more
 * connect fails with EISCONN (gort_connect's contract) instead of
 * succeeding again. */
static void check_connected(int c, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	CHECK_EQ(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
	CHECK_FAILS(gort_connect(c, (struct sockaddr *)&ss, len), EISCONN);
}

static int dial_connected_main(void *arg)
{
	(void)arg;
	char a[64];
	int lfd = gort_listen("127.0.0.1:0", 16);
	CHECK(lfd >= 0);
	int c = gort_dial(hostport(a, sizeof a, "127.0.0.1", port_of(lfd)), 0);
	CHECK(c >= 0);
	check_connected(c, lfd);
	int s = gort_accept(lfd, NULL, NULL);
	CHECK(s >= 0);
	CHECK_EQ(gort_write(c, "ok", 2), 2);
	char buf[2];
	read_full(s, buf, 2);
	gort_close(c);
	gort_close(s);
	gort_close(lfd);
	return 0;
}
MAIN_CASE(dial_connected, dial_connected_main, 2)

/* ---------------------------------------------------------------------
 * Outside a goroutine: the blocking calls of a plain thread.
 * ------------------------------------------------------------------- */

static void outside_runtime(void)
{
	char a[64];
	int lfd = gort_listen("127.0.0.1:0", 4);
	check_listener(lfd);
	int c = gort_dial(hostport(a, sizeof a, "localhost", port_of(lfd)), 0);
	check_fd(c);
	check_connected(c, lfd);
	int s = gort_accept(lfd, NULL, NULL);
	CHECK(s >= 0);
	char buf[4];
	CHECK_EQ(gort_write(c, "abc", 3), 3);
	read_full(s, buf, 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	errno = 0;
	CHECK_ERRNO(gort_dial(a, gort_nanotime() - 1), ETIMEDOUT);
	CHECK_ERRNO(gort_dial("nonsense", 0), EINVAL);
	gort_close(c);
	gort_close(s);
	gort_close(lfd);
}

/* ---------------------------------------------------------------------
 * 10,000 concurrent connections to an echo server.
 * ------------------------------------------------------------------- */

#define MANY_CONNS SCALE(10000)
#define MANY_MSGS 4          /* messages per connection: 1 before the barrier */
#define MANY_MAX 2048        /* largest message */
#define MANY_DIALING 256     /* dials in progress at once */

/*
 * The server (goroutines running echo_server.c's echo_conn) is this
 * process; the clients are goroutines of a child process, forked before
 * either starts its runtime, so that each side needs MANY_CONNS
 * descriptors, not both: a common hard limit of 20,000 then suffices.
 */
static char many_addr[64];
static pid_t many_child;
static atomic_int many_accepted;
static gort_waitgroup many_done;      /* clients finished */
static gort_waitgroup many_connected; /* clients connected: the barrier */
static gort_chan *many_tokens;        /* the dialing limit */
static atomic_int many_ok;

static unsigned char many_byte(long conn, int msg, size_t i)
{
	return (unsigned char)(conn * 131 + msg * 17 + (long)i * 7 + (long)(i >> 8));
}

static void many_message(int fd, long id, int m)
{
	unsigned char out[MANY_MAX] = {0}, in[MANY_MAX];
	size_t len = 1 + (size_t)((id * 977 + m * 1237) % MANY_MAX);
	for (size_t i = 0; i < len; i++)
		out[i] = many_byte(id, m, i);
	CHECK_EQ(gort_write(fd, out, len), (ssize_t)len);
	read_full(fd, in, len);
	for (size_t i = 0; i < len; i++)
		if (in[i] != many_byte(id, m, i))
			FAILF("conn %ld msg %d byte %zu: got %u want %u", id, m, i, in[i],
			      many_byte(id, m, i));
}

static void many_client(void *arg)
{
	long id = (long)(intptr_t)arg;
	char tok = 0;
	CHECK_EQ(gort_chan_send(many_tokens, &tok), 0);
	int fd = gort_dial(many_addr, gort_nanotime() + (int64_t)(harness_timeout(30) * 1e9));
	if (fd < 0)
		FAILF("client %ld: dial %s: errno %d", id, many_addr, read_errno());
	CHECK_EQ(gort_chan_recv(many_tokens, &tok), 1);
	many_message(fd, id, 0);
	/* Every connection is open before any goes on. */
	gort_wg_done(&many_connected);
	gort_wg_wait(&many_connected);
	for (int m = 1; m < MANY_MSGS; m++)
		many_message(fd, id, m);
	CHECK_EQ(shutdown(fd, SHUT_WR), 0);
	unsigned char c;
	CHECK_EQ(gort_read(fd, &c, 1), 0); /* the server closes after EOF */
	gort_close(fd);
	atomic_fetch_add(&many_ok, 1);
	gort_wg_done(&many_done);
}

/* The child's main goroutine: every client at once. */
static int many_clients_main(void *arg)
{
	(void)arg;
	many_tokens = make_chan(1, MANY_DIALING);
	int64_t t0 = gort_nanotime();
	gort_wg_add(&many_done, MANY_CONNS);
	gort_wg_add(&many_connected, MANY_CONNS);
	for (long i = 0; i < MANY_CONNS; i++)
		CHECK(gort_go(many_client, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&many_done), 0);
	CHECK_EQ(atomic_load(&many_ok), MANY_CONNS);
	printf("     %d connections open at once, %d messages each, in %.2f s\n", MANY_CONNS,
	       MANY_MSGS, (double)(gort_nanotime() - t0) / 1e9);
	wait_only_main();
	gort_chan_free(many_tokens);
	return 0;
}

static void many_acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int fd = gort_accept(lfd, NULL, NULL);
		if (fd < 0) {
			int e = read_errno();
			if (e == EBADF)
				break; /* closed once the clients are done */
			FAILF("accept %d: errno %d", atomic_load(&many_accepted), e);
		}
		atomic_fetch_add(&many_accepted, 1);
		CHECK(gort_go(echo_conn, (void *)(intptr_t)fd) > 0);
	}
	gort_wg_done(&helpers_wg);
}

/* The server's main goroutine: accept until the client process exits. */
static int many_server_main(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	start_helper(many_acceptor, arg);
	int status = 0;
	gort_entersyscall_block();
	pid_t r = waitpid(many_child, &status, 0);
	gort_exitsyscall();
	CHECK_EQ(r, many_child);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAILF("the client process failed (status %#x)", status);
	CHECK_EQ(atomic_load(&many_accepted), MANY_CONNS);
	CHECK_EQ(gort_close(lfd), 0);
	gort_wg_wait(&helpers_wg);
	wait_only_main(); /* every echo_conn saw its client close */
	return 0;
}

static void echo_10k(void)
{
	struct rlimit rl;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rlim_t want = (rlim_t)MANY_CONNS + 256; /* per process */
	if (rl.rlim_cur < want) {
		struct rlimit nl = rl;
		nl.rlim_cur = want;
		if (nl.rlim_max != RLIM_INFINITY && nl.rlim_max < want)
			nl.rlim_max = want; /* allowed with CAP_SYS_RESOURCE */
		if (setrlimit(RLIMIT_NOFILE, &nl) != 0) {
			char why[160];
			snprintf(why, sizeof why,
			         "needs RLIMIT_NOFILE %lu, hard limit is %lu and cannot be raised",
			         (unsigned long)want, (unsigned long)rl.rlim_max);
			SKIP("echo_10k", why);
			return;
		}
	}
	int lfd = gort_listen("127.0.0.1:0", 0);
	check_listener(lfd);
	hostport(many_addr, sizeof many_addr, "127.0.0.1", port_of(lfd));
	fflush(stdout);
	fflush(stderr);
	many_child = fork();
	CHECK(many_child >= 0);
	if (many_child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with a case that timed out */
		close(lfd);
		run_main(many_clients_main, NULL, 2);
		fflush(stdout);
		fflush(stderr);
		_exit(0);
	}
	run_main(many_server_main, (void *)(intptr_t)lfd, 2);
}

/* ---------------------------------------------------------------------
 * HTTP keep-alive against http_hello.
 * ------------------------------------------------------------------- */

#define DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

static void http_acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int fd = gort_accept(lfd, NULL, NULL);
		if (fd < 0)
			break; /* closed by the test */
		CHECK(gort_go(http_conn, (void *)(intptr_t)fd) > 0);
	}
	gort_wg_done(&helpers_wg);
}

/* The response http_hello must send, with a placeholder for the date;
 * conn is the value of its Connection header, NULL for none. */
static size_t http_expect(char *out, size_t cap, const char *status, const char *conn,
                          const char *body, bool head)
{
	char line[64] = "";
	if (conn)
		snprintf(line, sizeof line, "Connection: %s\r\n", conn);
	int n = snprintf(out, cap,
	                 "HTTP/1.1 %s\r\n"
	                 "Date: %.*s\r\n"
	                 "Content-Length: %zu\r\n"
	                 "Content-Type: text/plain; charset=utf-8\r\n"
	                 "%s\r\n%s",
	                 status, DATE_LEN, "#############################", strlen(body), line,
	                 head ? "" : body);
	CHECK(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* Read one response from fd and check it against the expected one, byte
 * for byte but for the date, which must be now in the format of RFC 9110. */
static void http_check_conn(int fd, const char *status, const char *conn, bool head)
{
	char want[512], got[512];
	const char *body = strcmp(status, "200 OK") == 0 ? "Hello, World!" : "";
	size_t n = http_expect(want, sizeof want, status, conn, body, head);
	read_full(fd, got, n);
	size_t d = (size_t)(strstr(want, "Date: ") - want) + 6;
	char date[DATE_LEN + 1];
	memcpy(date, got + d, DATE_LEN);
	date[DATE_LEN] = '\0';
	memcpy(got + d, want + d, DATE_LEN);
	if (memcmp(got, want, n) != 0)
		FAILF("response differs:\n--- got\n%.*s\n--- want\n%.*s", (int)n, got, (int)n,
		      want);
	struct tm tm = {0};
	const char *end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		FAILF("bad Date: \"%s\"", date);
	long skew = (long)(timegm(&tm) - time(NULL));
	if (skew < -10 || skew > 10)
		FAILF("Date \"%s\" is %ld s from now", date, skew);
}

/* http_check_conn with "Connection: close" or no Connection header. */
static void http_check(int fd, const char *status, bool close, bool head)
{
	http_check_conn(fd, status, close ? "close" : NULL, head);
}

static void http_send(int fd, const char *s)
{
	CHECK_EQ(gort_write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void http_eof(int fd)
{
	char c;
	CHECK_EQ(gort_read(fd, &c, 1), 0);
}

static int http_main(void *arg)
{
	(void)arg;
	int lfd = gort_listen("127.0.0.1:0", 0);
	check_listener(lfd);
	char a[64];
	hostport(a, sizeof a, "127.0.0.1", port_of(lfd));
	start_helper(http_acceptor, (void *)(intptr_t)lfd);

	/* Keep-alive: requests one after another on one connection. */
	int fd = gort_dial(a, 0);
	check_fd(fd);
	for (int i = 0; i < 3; i++) {
		http_send(fd, "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: net_test\r\n\r\n");
		http_check(fd, "200 OK", false, false);
	}
	http_send(fd, "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n");
	http_check(fd, "200 OK", false, true);
	/* A request in pieces. */
	http_send(fd, "GET /split HT");
	gort_sleep(10 * MS);
	http_send(fd, "TP/1.1\r\nHost: a\r\nAccept: */*");
	gort_sleep(10 * MS);
	http_send(fd, "\r\n\r\n");
	http_check(fd, "200 OK", false, false);
	/* Pipelined in one write, a body and bare LFs among them, then
	 * "Connection: close" (in a token list): four responses in order,
	 * the last with "Connection: close", then EOF. */
	http_send(fd, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
	              "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello=world"
	              "GET /3 HTTP/1.1\nHost: a\n\n"
	              "GET /4 HTTP/1.1\r\nHost: a\r\nconnection: Keep-Alive, CLOSE\r\n\r\n");
	http_check(fd, "200 OK", false, false);
	http_check(fd, "200 OK", false, false);
	http_check(fd, "200 OK", false, false);
	http_check(fd, "200 OK", true, false);
	http_eof(fd);
	gort_close(fd);

	/* A body split across reads is skipped, not parsed. */
	fd = gort_dial(a, 0);
	http_send(fd, "PUT / HTTP/1.1\r\nContent-Length: 20\r\n\r\nGET / HTTP/1.1\r\n");
	http_check(fd, "200 OK", false, false);
	gort_sleep(10 * MS);
	http_send(fd, "\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	http_check(fd, "200 OK", true, false);
	http_eof(fd);
	gort_close(fd);

	/* HTTP/1.0 closes unless asked to keep alive, and a response that
	 * keeps it alive says so, as Go's server does: an HTTP/1.0 client
	 * reads a response without it to the close. */
	fd = gort_dial(a, 0);
	http_send(fd, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	              "HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	http_check_conn(fd, "200 OK", "keep-alive", false);
	http_check_conn(fd, "200 OK", "keep-alive", true);
	http_send(fd, "GET / HTTP/1.0\r\n\r\n");
	http_check(fd, "200 OK", true, false);
	http_eof(fd);
	gort_close(fd);

	/* Malformed: 400 and close; chunked: 501 and close. */
	fd = gort_dial(a, 0);
	http_send(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /\r\n\r\n");
	http_check(fd, "200 OK", false, false);
	http_check(fd, "400 Bad Request", true, false);
	http_eof(fd);
	gort_close(fd);
	fd = gort_dial(a, 0);
	http_send(fd, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
	http_check(fd, "400 Bad Request", true, false);
	http_eof(fd);
	gort_close(fd);
	fd = gort_dial(a, 0);
	http_send(fd, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
	http_check(fd, "501 Not Implemented", true, false);
	http_eof(fd);
	gort_close(fd);

	/* "Expect: 100-continue": the client waits for a 100 before it
	 * sends the body, and one that gets the final response first may
	 * send it late or never, so the bytes that follow are the body or
	 * the next request, who knows: "Connection: close", and the close,
	 * as Go's server does (Go issue 11549). Without the body (Content-
	 * Length 0) or on HTTP/1.0 there is nothing to wait for. */
	fd = gort_dial(a, 0);
	http_send(fd, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
	              "Content-Length: 0\r\n\r\n"
	              "POST / HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n"
	              "Content-Length: 2\r\n\r\nab"
	              "POST / HTTP/1.1\r\nHost: a\r\nExpect: x, 100-Continue\r\n"
	              "Content-Length: 5\r\n\r\n"
	              "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	http_check(fd, "200 OK", false, false);
	http_check_conn(fd, "200 OK", "keep-alive", false);
	http_check(fd, "200 OK", true, false);
	http_eof(fd);
	gort_close(fd);

	/* A header section larger than the server's buffer: 431. */
	fd = gort_dial(a, 0);
	http_send(fd, "GET / HTTP/1.1\r\nX-Big: ");
	char big[1024];
	memset(big, 'x', sizeof big);
	for (int i = 0; i < 9; i++)
		CHECK_EQ(gort_write(fd, big, sizeof big), (ssize_t)sizeof big);
	http_check(fd, "431 Request Header Fields Too Large", true, false);
	gort_close(fd);

	/* The client closing an idle keep-alive connection ends its
	 * goroutine. */
	fd = gort_dial(a, 0);
	http_send(fd, "GET / HTTP/1.1\r\n\r\n");
	http_check(fd, "200 OK", false, false);
	gort_close(fd);

	gort_close(lfd); /* wakes the acceptor with EBADF */
	gort_wg_wait(&helpers_wg);
	wait_only_main();
	return 0;
}
MAIN_CASE(http_keepalive, http_main, 2)

/* ---------------------------------------------------------------------
 * A client that sends and goes away without reading.
 * ------------------------------------------------------------------- */

/* Wait until the server's end sfd has had the client's FIN (CLOSE_WAIT):
 * a reset of that connection then makes the next write EPIPE. */
static void wait_close_wait(int sfd)
{
	int64_t deadline = gort_nanotime() + (int64_t)(harness_timeout(10) * 1e9);
	for (;;) {
		struct tcp_info ti;
		socklen_t len = sizeof ti;
		CHECK_EQ(getsockopt(sfd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
		if (ti.tcpi_state == TCP_CLOSE_WAIT)
			return;
		CHECK(gort_nanotime() < deadline);
		gort_sleep(MS);
	}
}

/* A connection whose client sent n bytes of req and closed before the
 * server read any of it; the server's end. */
static int gone_client(int lfd, const char *addr, const char *req, size_t n)
{
	int cfd = gort_dial(addr, 0);
	check_fd(cfd);
	int sfd = gort_accept(lfd, NULL, NULL);
	CHECK(sfd >= 0);
	CHECK_EQ(gort_write(cfd, req, n), (ssize_t)n);
	gort_close(cfd);
	wait_close_wait(sfd);
	return sfd;
}

/*
 * The handlers answer a client that has gone away: the first answer is
 * reset by the client's system, and a later write on the connection is
 * EPIPE, which must end the handler, not raise SIGPIPE (whose default
 * kills the server, as it killed this case's process).
 */
static int peer_gone_main(void *arg)
{
	(void)arg;
	int lfd = gort_listen("127.0.0.1:0", 0);
	check_listener(lfd);
	char a[64];
	hostport(a, sizeof a, "127.0.0.1", port_of(lfd));

	/* Echo: several reads, each echoed, after the client closed. */
	static char data[40000];
	memset(data, 'e', sizeof data);
	echo_conn((void *)(intptr_t)gone_client(lfd, a, data, sizeof data));

	/* http_hello: more pipelined requests than one write answers. */
	static char reqs[HTTP_IN];
	const char *one = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t n = 0;
	while (n + strlen(one) < sizeof reqs) {
		memcpy(reqs + n, one, strlen(one));
		n += strlen(one);
	}
	CHECK(n / strlen(one) * HTTP_RESP_MAX / 2 > HTTP_OUT);
	http_conn((void *)(intptr_t)gone_client(lfd, a, reqs, n));

	gort_close(lfd);
	return 0;
}
MAIN_CASE(peer_gone, peer_gone_main, 2)

int main(void)
{
	RUN_CASE(listen_dial_v4, 20);
	RUN_CASE(listen_dial_v6, 20);
	RUN_CASE(bad_addresses, 20);
	RUN_CASE(refused, 20);
	RUN_CASE(dial_deadline, 20);
	RUN_CASE(slow_lookup, 30);
	RUN_CASE(lookup_outlives_run, 30);
	RUN_CASE(dial_connected, 20);
	RUN_CASE(outside_runtime, 20);
	RUN_CASE(echo_10k, 120);
	RUN_CASE(http_keepalive, 30);
	RUN_CASE(peer_gone, 30);
	PASS("net_test");
	return 0;
}
