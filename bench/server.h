/*
 * server.h - the frame shared by gort's server benchmarks (echo,
 * http_hello): flags, the fd limit, listening, the start-up line, the
 * lifetime and the accept loop; each program supplies only its
 * per-connection goroutine.
 *
 *     NAME [-procs P] [-addr HOST:PORT] [-life DURATION]
 *
 * The soft RLIMIT_NOFILE is raised to the hard limit first, as a Go
 * program does at start, so that 10,000 connections fit. The server
 * listens on -addr (127.0.0.1:0: a port the kernel chooses; any address
 * gort_listen takes, IPv6 too), prints "LISTEN <host:port>" on stdout
 * once listening, as Go's servers print their net.Addr ("[::1]:PORT"
 * for IPv6; the runner finds the port there), accepts forever with one goroutine per connection (the
 * accepted fd is its argument; the loop is examples/serve.h's), and exits
 * by itself after -life (60s), as the Go servers' time.AfterFunc does.
 * Out of fds, accept backs off for `backoff` ns, as Go's servers do.
 */
#ifndef GORT_BENCH_SERVER_H
#define GORT_BENCH_SERVER_H

#include "common.h"

#include "../examples/serve.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct bench_server {
	const char *name;
	void (*conn)(void *fd);
	int64_t backoff;
	long procs;
	const char *addr;
	int64_t life;
};

static void bench_server_lifetime(void *arg)
{
	const struct bench_server *s = arg;
	gort_sleep(s->life);
	fflush(NULL);
	_exit(0);
}

/* Print "LISTEN <host:port>" for the listener lfd, an IPv6 host in
 * brackets, as Go's net.Addr prints it ("127.0.0.1:80", "[::]:80"). */
static void bench_server_print_listen(const struct bench_server *s, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(lfd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		bench_die("%s: no address for the listener on %s", s->name, s->addr);
	bool v6 = ss.ss_family == AF_INET6;
	printf("LISTEN %s%s%s:%s\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
	fflush(stdout);
}

static int bench_server_serve(void *arg)
{
	struct bench_server *s = arg;

	int lfd = gort_listen(s->addr, 0);
	if (lfd < 0)
		bench_die("%s: listen %s: %s", s->name, s->addr, strerror(serve_errno()));
	bench_server_print_listen(s, lfd);
	if (s->life > 0 && gort_go(bench_server_lifetime, s) < 0)
		bench_die("gort_go: %s", strerror(serve_errno()));
	if (serve_accept(s->name, lfd, s->conn, s->backoff) != 0)
		bench_die("%s: accept failed", s->name);
	return 0;
}

static inline int bench_server_main(int argc, char **argv, struct bench_server *s)
{
	s->procs = 2;
	s->addr = "127.0.0.1:0";
	s->life = 60000000000LL;
	struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &s->procs, "GOMAXPROCS"},
		{"addr", BENCH_FLAG_STR, &s->addr, "listen address"},
		{"life", BENCH_FLAG_DUR, &s->life, "exit after this long"},
		BENCH_FLAG_END,
	};
	struct rlimit rl;

	bench_flags(argc, argv, flags);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return bench_gort_main((int)s->procs, bench_server_serve, s);
}

#endif /* GORT_BENCH_SERVER_H */
