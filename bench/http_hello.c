/*
 * http_hello - the server of the `http_hello` benchmark: gort's HTTP/1.1
 * "Hello, World!" server with keep-alive, against which wrk runs
 * (bench/wrk.sh turns wrk's figures into the result lines: requests/s and
 * the p50/p99/max latency; this program prints none).
 *
 * The peer is Go 1.19's net/http hello server (bench/go/http_hello): one
 * goroutine per connection, every request answered with "Hello, World!"
 * as text/plain with Date and Content-Length. The connection handler is
 * the one of examples/http_hello.c (included here, without its main), so
 * that the benchmark measures the example as shipped; this file adds the
 * flags and the start-up line shared with the echo servers:
 *
 *     http_hello [-procs P] [-addr HOST:PORT] [-life DURATION]
 *
 * listens on -addr (127.0.0.1:0, a port the kernel chooses), prints
 * "LISTEN <host:port>" on stdout, accepts forever with one goroutine per
 * connection, and exits by itself after -life (60s).
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_HELLO_NO_MAIN
#include "../examples/http_hello.c"

struct hello_args {
	long procs;
	const char *addr;
	int64_t life;
};

/* errno after a gort call that may have parked (the goroutine may have
 * come back on another thread). */
static __attribute__((noinline)) int hello_errno(void)
{
	return errno;
}

static void hello_lifetime(void *arg)
{
	const struct hello_args *a = arg;
	gort_sleep(a->life);
	fflush(NULL);
	_exit(0);
}

static int hello_serve(void *arg)
{
	struct hello_args *a = arg;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char ip[INET_ADDRSTRLEN];
	int lfd;

	lfd = gort_listen(a->addr, 0);
	if (lfd < 0)
		bench_die("http_hello: listen %s: %s", a->addr, strerror(hello_errno()));
	if (getsockname(lfd, (struct sockaddr *)&sin, &len) < 0 || sin.sin_family != AF_INET ||
	    !inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof ip))
		bench_die("http_hello: not an IPv4 listener: %s", a->addr);
	printf("LISTEN %s:%d\n", ip, ntohs(sin.sin_port));
	fflush(stdout);
	if (a->life > 0 && gort_go(hello_lifetime, a) < 0)
		bench_die("gort_go: %s", strerror(hello_errno()));
	for (;;) {
		int fd = gort_accept(lfd, NULL, NULL);
		if (fd < 0) {
			int e = hello_errno();
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				gort_sleep(10 * 1000000LL); /* as Go's http.Server */
				continue;
			}
			bench_die("http_hello: accept: %s", strerror(e));
		}
		if (gort_go(http_conn, (void *)(intptr_t)fd) < 0) {
			gort_close(fd);
			gort_sleep(1000000LL);
		}
	}
}

int main(int argc, char **argv)
{
	struct hello_args a = {.procs = 2, .addr = "127.0.0.1:0", .life = 60000000000LL};
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
	return bench_gort_main((int)a.procs, hello_serve, &a);
}
