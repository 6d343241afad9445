/*
 * drain_hint_test.c - what turns the drain hint (io.c) off, seen inside
 * its window.
 *
 * The hint is trusted for DRAIN_HINT_NS after the short read that set
 * it; a read after that makes the call first anyway. So a call that
 * takes an edge without emptying the stream (a peek, gort_fd_wait) must
 * turn the hint off, or a read that follows it within the window parks
 * on an edge that is gone; but from outside, a test cannot count on
 * coming back within 50 us. Here each call is followed by a look at
 * pd->rdrained itself, then by the read, which must find the bytes.
 *
 * Each case: a TCP pair (the fd kind that takes the hint); a short read
 * sets the hint; bytes come, and the call under test takes their edge:
 *  - peek: the netpoller collects the edge first (a direct netpoll(0),
 *    which readies nobody: no goroutine waits on the fd), then a
 *    MSG_PEEK receive sees the bytes and leaves them;
 *  - fd_wait: gort_fd_wait parks until the netpoller reports the edge,
 *    and a plain read(2) takes one byte of four.
 */
#include "harness.h"

#include <sys/socket.h>

#include "gort_util.h"
#include "netpoll.h"
#include "runtime.h"

/* The pair, with the hint on for sv[0]. */
static pollDesc *hinted_pair(int sv[2])
{
	char b[64];
	tcp_pair(sv);
	CHECK_EQ(write(sv[1], "ab", 2), 2);
	CHECK_EQ(gort_read(sv[0], b, sizeof b), 2);
	pollDesc *pd = pd_lookup(sv[0], false);
	CHECK(pd != NULL);
	CHECK(pd->rdrained != 0);
	return pd;
}

/* The read after the call: its bytes are there, with no edge to come. */
static void read_rest(int sv[2], const char *want)
{
	char b[64];
	size_t n = strlen(want);
	CHECK_EQ(gort_set_deadline(sv[0], GORT_READ, gort_nanotime() + 5000 * MS), 0);
	CHECK_EQ(gort_read(sv[0], b, sizeof b), (ssize_t)n);
	CHECK(memcmp(b, want, n) == 0);
	gort_close(sv[0]);
	gort_close(sv[1]);
}

static int peek_main(void *arg)
{
	(void)arg;
	int sv[2];
	char b[64];
	pollDesc *pd = hinted_pair(sv);
	CHECK_EQ(write(sv[1], "xyz", 3), 3);
	/* The netpoller takes the edge (PD_READY); sysmon may be first. */
	int64_t deadline = gort_nanotime() + 2000 * MS;
	while (atomic_load(&pd->rg) != PD_READY && gort_nanotime() < deadline) {
		gqueue list = {0};
		CHECK_EQ(netpoll(0, &list), 0);
	}
	CHECK_EQ(atomic_load(&pd->rg), PD_READY);
	CHECK_EQ(gort_recv(sv[0], b, sizeof b, MSG_PEEK), 3);
	CHECK_EQ(pd->rdrained, 0);
	read_rest(sv, "xyz");
	return 0;
}
MAIN_CASE(peek, peek_main, 1)

static int fd_wait_main(void *arg)
{
	(void)arg;
	int sv[2];
	char b[64];
	pollDesc *pd = hinted_pair(sv);
	CHECK_EQ(write(sv[1], "cdef", 4), 4);
	CHECK_EQ(gort_fd_wait(sv[0], GORT_READ, gort_nanotime() + 5000 * MS), GORT_READ);
	CHECK_EQ(pd->rdrained, 0);
	CHECK_EQ(read(sv[0], b, 1), 1);
	read_rest(sv, "def");
	return 0;
}
MAIN_CASE(fd_wait, fd_wait_main, 1)

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"peek", peek},
		{"fd_wait", fd_wait},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 30);
	return 0;
}
