/*
 * serve.h - the part every goroutine-per-connection server on gort has
 * in common, shared by the example servers (echo_server.c, http_hello.c)
 * and the server benchmarks (bench/server.h): listen, then accept
 * forever and start a goroutine for each connection, passing it the fd.
 *
 * Accept failures for lack of descriptors or memory back off for a
 * while instead of spinning, as Go's http.Server does; any other failure
 * ends the loop. The connection goroutine owns its fd and closes it.
 */
#ifndef GORT_EXAMPLE_SERVE_H
#define GORT_EXAMPLE_SERVE_H

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "gort.h"

/* errno after a gort call, read through a call the compiler cannot fold:
 * glibc declares errno's address constant, but a goroutine may come back
 * from a parked call on another thread, whose errno is elsewhere. */
static __attribute__((noinline, unused)) int serve_errno(void)
{
	return errno;
}

/* gort_listen, reporting a failure on stderr as "NAME: listen ADDR: ...".
 * Returns the listening fd, or -1. */
static inline int serve_listen(const char *name, const char *addr)
{
	int lfd = gort_listen(addr, 0);
	if (lfd < 0)
		fprintf(stderr, "%s: listen %s: %s\n", name, addr, strerror(serve_errno()));
	return lfd;
}

/* Print "NAME: listening on port N" (the port the system chose for 0). */
static inline void serve_print_port(const char *name, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(lfd, (struct sockaddr *)&ss, &len) != 0)
		return;
	int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("%s: listening on port %d\n", name, port);
	fflush(stdout);
}

/* Accept on lfd forever, one goroutine conn(fd) per connection. Returns
 * 1 (after a message on stderr) when accept fails for good. */
static inline int serve_accept(const char *name, int lfd, void (*conn)(void *),
                               int64_t backoff_ns)
{
	for (;;) {
		int fd = gort_accept(lfd, NULL, NULL);
		if (fd < 0) {
			int e = serve_errno();
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				gort_sleep(backoff_ns);
				continue;
			}
			fprintf(stderr, "%s: accept: %s\n", name, strerror(e));
			return 1;
		}
		if (gort_go(conn, (void *)(intptr_t)fd) < 0) {
			gort_close(fd);
			gort_sleep(1000000LL);
		}
	}
}

#endif /* GORT_EXAMPLE_SERVE_H */
