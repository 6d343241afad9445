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
 * listens on -addr (127.0.0.1:0: a port the kernel chooses), prints
 * "LISTEN <host:port>" on stdout once listening (the runner finds the
 * port there), accepts forever with one goroutine per connection (the
 * accepted fd is its argument; the loop is examples/serve.h's), and exits
 * by itself after -life (60s), as the Go servers' time.AfterFunc does.
 * Out of fds, accept backs off for `backoff` ns, as Go's servers do.
 */
#ifndef GORT_BENCH_SERVER_H
#define GORT_BENCH_SERVER_H

#include "common.h"

#include "../examples/serve.h"

#include <arpa/inet.h>
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

static int bench_server_serve(void *arg)
{
	struct bench_server *s = arg;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char ip[INET_ADDRSTRLEN];

	int lfd = gort_listen(s->addr, 0);
	if (lfd < 0)
		bench_die("%s: listen %s: %s", s->name, s->addr, strerror(serve_errno()));
	if (getsockname(lfd, (struct sockaddr *)&sin, &len) < 0 || sin.sin_family != AF_INET ||
	    !inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof ip))
		bench_die("%s: not an IPv4 listener: %s", s->name, s->addr);
	printf("LISTEN %s:%d\n", ip, ntohs(sin.sin_port));
	fflush(stdout);
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
