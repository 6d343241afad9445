/*
 * debug_http_capture_test.c - the debug endpoint's trace capture, from a
 * plain client thread with blocking sockets:
 *  - client_gone: a client that asks for a 30-second capture and goes
 *    away after 300 ms ends the capture: the next capture is served
 *    (200) within seconds, not refused with 409 until the first one's
 *    30 s have passed;
 *  - half_close: a client that shuts down its side 300 ms into a
 *    30-second capture gets the trace so far (200, the trace's magic)
 *    within seconds, as Go's handler answers once the request's context
 *    ends;
 *  - outlives_read_deadline: with debug_http_read_timeout shortened to
 *    200 ms, a 1-second capture still lasts its second and is answered
 *    with a trace (the request's deadline does not cut the capture);
 *  - tmpdir_unlinked: with the anonymous memory file turned off
 *    (debug_http_capture_memfd) and TMPDIR a directory of a long path,
 *    a capture is served and leaves no file in the directory, neither
 *    while it runs nor after.
 */
#include "gort_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "runtime.h"

#ifdef GORT_DEBUG_HTTP

static int dial_port(int port)
{
	return dial_blocking(port, 10);
}

static int send_request(int port, int secs)
{
	int fd = dial_port(port);
	char req[96];
	int n = snprintf(req, sizeof req, "GET /debug/trace?seconds=%d HTTP/1.1\r\n\r\n", secs);
	CHECK_EQ(write(fd, req, (size_t)n), (ssize_t)n);
	return fd;
}

/* The status of the response on fd (its first line only), or 0 when the
 * server closed the connection unanswered. */
static int status_of(int fd)
{
	char buf[64] = {0};
	size_t have = 0;
	while (have < 12) {
		ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		CHECK(r >= 0);
		if (r == 0)
			return 0;
		have += (size_t)r;
	}
	CHECK(strncmp(buf, "HTTP/1.1 ", 9) == 0);
	return atoi(buf + 9);
}

/* A whole capture of secs: its status. */
static int capture(int port, int secs)
{
	int fd = send_request(port, secs);
	int st = status_of(fd);
	close(fd);
	return st;
}

static int serve(void)
{
	CHECK_EQ(gort_debug_serve("127.0.0.1:0"), 0);
	return gort_debug_port();
}

static void run_client(void *(*fn)(void *))
{
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, fn, (void *)(intptr_t)serve()), 0);
	join_thread(th);
}

/* ---- client_gone ---- */

static void *gone_client(void *arg)
{
	int port = (int)(intptr_t)arg;
	int fd = send_request(port, 30);
	harness_sleep_ms(300);
	close(fd);
	int64_t t0 = harness_now();
	int st;
	while ((st = capture(port, 1)) == 409 &&
	       harness_now() - t0 < (int64_t)harness_timeout(10) * 1000000000LL)
		harness_sleep_ms(50);
	int64_t ms = (harness_now() - t0) / 1000000;
	printf("     the next capture: %d after %lld ms\n", st, (long long)ms);
	CHECK_EQ(st, 200);
	return NULL;
}

static int gone_main(void *arg)
{
	(void)arg;
	run_client(gone_client);
	return 0;
}
MAIN_CASE(client_gone, gone_main, 2)

/* ---- half_close ---- */

static void *halfclose_client(void *arg)
{
	int fd = send_request((int)(intptr_t)arg, 30);
	harness_sleep_ms(300);
	int64_t t0 = harness_now();
	CHECK_EQ(shutdown(fd, SHUT_WR), 0);
	CHECK_EQ(status_of(fd), 200);
	int64_t ms = (harness_now() - t0) / 1000000;
	printf("     answered %lld ms after the shutdown\n", (long long)ms);
	CHECK(ms < 1000 * harness_timeout(5));
	/* The body follows the headers: its magic is there. */
	char buf[4096];
	size_t have = 0;
	for (ssize_t r; have < sizeof buf && (r = read(fd, buf + have, sizeof buf - have)) > 0;)
		have += (size_t)r;
	CHECK(memmem(buf, have, "\r\n\r\ngort trace 2", 16) != NULL);
	close(fd);
	return NULL;
}

static int halfclose_main(void *arg)
{
	(void)arg;
	run_client(halfclose_client);
	return 0;
}
MAIN_CASE(half_close, halfclose_main, 2)

/* ---- outlives_read_deadline ---- */

static void *deadline_client(void *arg)
{
	int64_t t0 = harness_now();
	CHECK_EQ(capture((int)(intptr_t)arg, 1), 200);
	CHECK(harness_now() - t0 >= 1000 * MS);
	return NULL;
}

static int deadline_main(void *arg)
{
	(void)arg;
	debug_http_read_timeout = 200 * MS;
	run_client(deadline_client);
	return 0;
}
MAIN_CASE(outlives_read_deadline, deadline_main, 2)

/* ---- tmpdir ---- */

static char tmpdir[256];

/* Files in tmpdir. */
static int files_in_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	CHECK(d != NULL);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static int during, after; /* files seen while the capture ran, after it */

static void *tmpdir_client(void *arg)
{
	int fd = send_request((int)(intptr_t)arg, 1);
	harness_sleep_ms(500);
	during = files_in_tmpdir();
	CHECK_EQ(status_of(fd), 200);
	close(fd);
	after = files_in_tmpdir();
	return NULL;
}

static int tmpdir_main(void *arg)
{
	(void)arg;
	debug_http_capture_memfd = false;
	run_client(tmpdir_client);
	return 0;
}
MAIN_CASE(tmpdir_case, tmpdir_main, 2)

static void tmpdir_unlinked(void)
{
	/* A path longer than any short fixed buffer. */
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/gort-capture-test-%d-%s", base && *base ? base : "/tmp",
	         (int)getpid(), "a-directory-name-long-enough-to-matter-0123456789");
	CHECK_EQ(mkdir(tmpdir, 0700), 0);
	CHECK_EQ(setenv("TMPDIR", tmpdir, 1), 0);
	tmpdir_case();
	DIR *d = opendir(tmpdir);
	for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
		char p[512];
		snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	CHECK_EQ(during, 0);
	CHECK_EQ(after, 0);
}

int main(int argc, char **argv)
{
	const struct harness_case cases[] = {
		{"client_gone", client_gone},
		{"half_close", half_close},
		{"outlives_read_deadline", outlives_read_deadline},
		{"tmpdir_unlinked", tmpdir_unlinked},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 40);
	PASS("debug_http_capture_test");
	return 0;
}

#else

int main(void)
{
	PASS("debug_http_capture_test (built without GORT_DEBUG_HTTP)");
	return 0;
}

#endif
