/*
 * echo_server - a TCP echo server on gort: one goroutine per connection,
 * written as straight-line blocking code (gort_listen, gort_accept,
 * gort_read, gort_send). A goroutine whose socket has nothing to read
 * parks on the netpoller and its thread runs the other connections, as a
 * Go server's goroutines do; a handful of threads serve thousands of
 * connections.
 *
 * Usage: echo_server PORT [HOST]
 *   PORT  the TCP port (0: any free port; the one chosen is printed)
 *   HOST  the address to listen on (default: every address, IPv4 and
 *         IPv6); e.g. 127.0.0.1 or [::1]
 * GOMAXPROCS in the environment sets the number of Ps, as in Go.
 *
 * Try it: echo_server 7000 & then nc localhost 7000.
 *
 * The connection handler (echo_conn) is also used by tests/net_test.c,
 * which includes this file with ECHO_SERVER_NO_MAIN defined.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gort.h"
#include "serve.h"

#ifndef ECHO_BUF
#define ECHO_BUF 16384 /* bytes read at a time */
#endif

/* Serve one connection (the fd, as an intptr_t): echo every byte back
 * until the peer closes or an error occurs. The echo is sent with
 * MSG_NOSIGNAL: a write after the peer reset the connection is EPIPE,
 * which ends this connection, where write(2) would also raise SIGPIPE,
 * whose default action ends the whole server. */
static void echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[ECHO_BUF];
	for (;;) {
		ssize_t n = gort_read(fd, buf, sizeof buf);
		if (n <= 0)
			break; /* 0: the peer closed; -1: reset or closed */
		if (gort_send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break;
	}
	gort_close(fd);
}

#ifndef ECHO_SERVER_NO_MAIN

struct echo_args {
	const char *addr;
};

/* The main goroutine: listen, print the port, then accept forever, a
 * goroutine for each connection (serve.h). */
static int echo_serve(void *arg)
{
	const struct echo_args *a = arg;
	int lfd = serve_listen("echo_server", a->addr);
	if (lfd < 0)
		return 1;
	serve_print_port("echo_server", lfd);
	return serve_accept("echo_server", lfd, echo_conn, 10 * 1000000LL);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PORT [HOST]\n", argv[0]);
		return 2;
	}
	char addr[300];
	snprintf(addr, sizeof addr, "%s:%s", argc > 2 ? argv[2] : "", argv[1]);
	struct echo_args a = {.addr = addr};
	return gort_main(echo_serve, &a);
}

#endif /* ECHO_SERVER_NO_MAIN */
