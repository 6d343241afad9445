/*
 * oom_test proves that running out of memory or descriptors gives the
 * error an API documents, or Go's fatal error with its message, never a
 * hang, a crash without a message or a lost goroutine. A child,
 * tests/prog/oomfail.c, makes the allocator and netpoller calls the
 * runtime makes fail on demand; see there for each mode.
 */
#include "harness.h"

#include "gort.h"

static struct child_result res;

/* Run oomfail mode; whether it ran (false: skipped, sanitizer build). */
static bool oomfail(char *mode, int want, const char *message)
{
	char *argv[] = {NULL, mode, NULL};
	run_child_prog("oomfail", argv, harness_timeout(30), &res);
	if (!res.timed_out && res.exited && res.status == 77)
		return false;
	if (res.timed_out || !res.exited || res.status != want ||
	    (message && !strstr(res.output, message))) {
		char what[32];
		snprintf(what, sizeof what, "oomfail %s", mode);
		harness_describe(what, &res);
		FAILF("oomfail %s: want exit status %d%s%s", mode, want,
		      message ? " and " : "", message ? message : "");
	}
	return true;
}

/* gort_go, gort_go_attr, gort_chan_make, gort_timer_new, gort_select. */
static void api_enomem(void)
{
	if (!oomfail("api", 0, NULL))
		SKIP("api_enomem", "the allocator is the sanitizer's");
}

/* The first gort_read on a socket, its poll descriptor not allocated. */
static void read_enomem(void)
{
	if (!oomfail("read", 0, NULL))
		SKIP("read_enomem", "the allocator is the sanitizer's");
}

/* epoll_create1 or eventfd refused, or no memory for the Ps, the steal
 * order or the main goroutine: gort_main returns -1 with its errno
 * (ENOMEM), as gort.h says of a runtime that cannot start. Before, the
 * memory cases were fatal errors. */
static void init_fails(void)
{
	if (!oomfail("init", 0, NULL))
		SKIP("init_fails", "the allocator is the sanitizer's");
}

/* No stack for a goroutine, no room in the timer heap for a sleep:
 * nothing to return an error to, so Go's fatal error. */
static void fatal_reported(void)
{
	if (!oomfail("stack", 2, "fatal error: out of memory allocating goroutine stack"))
		SKIP("fatal_reported", "the allocator is the sanitizer's");
	else
		oomfail("sleep", 2, "fatal error: out of memory (sleep timer)");
}

/* A new M whose signal stack cannot be mapped is a thread refused: the
 * runtime says so once and carries on. */
static void mstack_refused(void)
{
	oomfail("mstack", 0, "runtime: failed to create new OS thread (errno 12)");
}

int main(void)
{
	RUN_CASE(api_enomem, 60);
	RUN_CASE(read_enomem, 60);
	RUN_CASE(init_fails, 60);
	RUN_CASE(fatal_reported, 60);
	RUN_CASE(mstack_refused, 60);
	PASS("oom_test");
	return 0;
}
