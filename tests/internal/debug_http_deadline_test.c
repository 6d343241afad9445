/*
 * debug_http_deadline_test.c - the debug endpoint's read deadline, with
 * debug_http_read_timeout shortened to 200 ms (10 s in a program):
 *  - clients that open a connection and send part of a request, or
 *    nothing, are closed unanswered once it passes, every connection
 *    slot included (64 of them), and the next request is served;
 *  - the deadline covers the whole request: a client that keeps sending
 *    a byte every 20 ms without ever finishing is closed too.
 * The clients are plain threads with blocking sockets.
 */
#include "gort_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "runtime.h"

#ifdef GORT_DEBUG_HTTP

#define TIMEOUT_MS 200
#define SLOTS 64

static int dial_port(int port)
{
	return dial_blocking(port, 10);
}

/* The server closes fd without an answer: EOF, not a timeout. */
static void closed_unanswered(int fd)
{
	char buf[256];
	ssize_t n;
	do
		n = read(fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		CHECK(errno == ECONNRESET);
	else
		CHECK_EQ(n, 0);
}

/* GET /debug/vars must get 200. */
static void served(int port)
{
	int fd = dial_port(port);
	const char *req = "GET /debug/vars HTTP/1.1\r\n\r\n";
	CHECK_EQ(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char buf[64] = {0};
	CHECK(read(fd, buf, sizeof buf - 1) > 12);
	CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
	close(fd);
}

static void *client(void *arg)
{
	int port = (int)(intptr_t)arg;
	int fds[SLOTS];
	int64_t t0 = harness_now();
	for (int i = 0; i < SLOTS; i++) {
		fds[i] = dial_port(port);
		if (i % 2)
			CHECK_EQ(write(fds[i], "GET /debug/vars HTT", 19), 19);
	}
	for (int i = 0; i < SLOTS; i++) {
		closed_unanswered(fds[i]);
		close(fds[i]);
	}
	int64_t ms = (harness_now() - t0) / 1000000;
	printf("     %d idle clients closed after %lld ms\n", SLOTS, (long long)ms);
	CHECK(ms >= TIMEOUT_MS - 20);
	served(port);

	/* A byte every 20 ms, never the end of the request. Timed from
	 * before the dial: the server may start the deadline before
	 * connect() returns here. */
	t0 = harness_now();
	int fd = dial_port(port);
	const char *req = "GET /debug/vars HTTP/1.1\r\nX: ";
	CHECK_EQ(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (send(fd, "x", 1, MSG_NOSIGNAL) == 1 &&
	       harness_now() - t0 < (int64_t)harness_timeout(5) * 1000000000LL)
		harness_sleep_ms(20);
	closed_unanswered(fd);
	ms = (harness_now() - t0) / 1000000;
	printf("     a client sending a byte every 20 ms closed after %lld ms\n", (long long)ms);
	CHECK(ms >= TIMEOUT_MS - 20 && ms < 5000);
	close(fd);
	served(port);
	return NULL;
}

static int deadline_main(void *arg)
{
	(void)arg;
	debug_http_read_timeout = TIMEOUT_MS * MS;
	CHECK_EQ(gort_debug_serve("127.0.0.1:0"), 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, client, (void *)(intptr_t)gort_debug_port()), 0);
	join_thread(th);
	return 0;
}
MAIN_CASE(read_deadline, deadline_main, 2)

int main(void)
{
	RUN_CASE(read_deadline, 30);
	PASS("debug_http_deadline_test");
	return 0;
}

#else

int main(void)
{
	PASS("debug_http_deadline_test (built without GORT_DEBUG_HTTP)");
	return 0;
}

#endif
