/*
 * echo - the server half of the `echo` benchmark: a TCP echo server on
 * gort, one goroutine per connection.
 *
 * Measured (by bench/loadgen, which prints the result lines; this program
 * prints none): requests per second and round-trip latency of closed-loop
 * clients, each with one 64-byte message in flight, over loopback.
 *
 * As the peers' Go echo server (and bench/go/echo): listen on -addr
 * (127.0.0.1:0, a port the kernel chooses), print "LISTEN <host:port>" on
 * stdout once listening (the runner finds the port there), then accept
 * forever, one goroutine per accepted connection looping { read up to
 * 4096 bytes; write them back } until the client closes. The process
 * exits by itself after -life (60s), as the Go server's time.AfterFunc
 * does. The I/O is gort's: gort_listen, gort_accept, gort_read,
 * gort_write, gort_close; a goroutine with nothing to read parks on the
 * netpoller.
 *
 *     echo [-procs P] [-addr HOST:PORT] [-life DURATION]
 *
 * The soft RLIMIT_NOFILE is raised to the hard limit first, as a Go
 * program does at start, so that 10,000 connections fit.
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_BUF 4096

struct echo_args {
	long procs;
	const char *addr;
	int64_t life;
};

/* errno after a gort call that may have parked: read through a call the
 * compiler cannot fold, since the goroutine may have come back on another
 * thread (glibc declares errno's address constant). */
static __attribute__((noinline)) int echo_errno(void)
{
	return errno;
}

static void echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[ECHO_BUF];

	for (;;) {
		ssize_t n = gort_read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		if (gort_write(fd, buf, (size_t)n) != n)
			break;
	}
	gort_close(fd);
}

static void echo_lifetime(void *arg)
{
	const struct echo_args *a = arg;
	gort_sleep(a->life);
	fflush(NULL);
	_exit(0);
}

static int echo_serve(void *arg)
{
	struct echo_args *a = arg;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char ip[INET_ADDRSTRLEN];
	int lfd;

	lfd = gort_listen(a->addr, 0);
	if (lfd < 0)
		bench_die("echo: listen %s: %s", a->addr, strerror(echo_errno()));
	if (getsockname(lfd, (struct sockaddr *)&sin, &len) < 0 || sin.sin_family != AF_INET ||
	    !inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof ip))
		bench_die("echo: not an IPv4 listener: %s", a->addr);
	printf("LISTEN %s:%d\n", ip, ntohs(sin.sin_port));
	fflush(stdout);
	if (a->life > 0 && gort_go(echo_lifetime, a) < 0)
		bench_die("gort_go: %s", strerror(echo_errno()));
	for (;;) {
		int fd = gort_accept(lfd, NULL, NULL);
		if (fd < 0) {
			int e = echo_errno();
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				gort_sleep(5 * 1000000LL); /* out of fds: back off */
				continue;
			}
			bench_die("echo: accept: %s", strerror(e));
		}
		if (gort_go(echo_conn, (void *)(intptr_t)fd) < 0) {
			gort_close(fd);
			gort_sleep(1000000LL);
		}
	}
}

int main(int argc, char **argv)
{
	struct echo_args a = {.procs = 2, .addr = "127.0.0.1:0", .life = 60000000000LL};
	struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &a.procs, "GOMAXPROCS"},
		{"addr", BENCH_FLAG_STR, &a.addr, "listen address"},
		{"life", BENCH_FLAG_DUR, &a.life, "exit after this long"},
		BENCH_FLAG_END,
	};
	struct rlimit rl;

	bench_flags(argc, argv, flags);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return bench_gort_main((int)a.procs, echo_serve, &a);
}
