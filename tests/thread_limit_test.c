/*
 * thread_limit_test proves the thread limit (Go's debug.SetMaxThreads):
 * gort_set_max_threads reports and sets it (10000 by default), and a
 * program that needs more Ms than the limit ends with Go's message
 * "runtime: program exceeds 2-thread limit" / "fatal error: thread
 * exhaustion" and exit status 2 (checked in a child, tests/prog/threadlimit.c),
 * while a program within the limit runs normally.
 */
#include "harness.h"

#include "gort.h"

static struct child_result res;
static gort_waitgroup wg;

static void nop(void *arg)
{
	(void)arg;
	gort_wg_done(&wg);
}

static int within_limit(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_set_max_threads(0), 3);
	gort_wg_add(&wg, 100);
	for (int i = 0; i < 100; i++)
		CHECK(gort_go(nop, NULL) > 0);
	gort_wg_wait(&wg);
	return 5;
}

static void query_and_set(void)
{
	CHECK_EQ(gort_set_max_threads(0), 10000);
	CHECK_EQ(gort_set_max_threads(-1), 10000);
	CHECK_EQ(gort_set_max_threads(3), 10000);
	CHECK_EQ(gort_set_max_threads(0), 3);
	gort_gomaxprocs(2);
	CHECK_EQ(gort_main(within_limit, NULL), 5);
	CHECK_EQ(gort_set_max_threads(10000), 3);
}

static void exceeded(void)
{
	char *argv[] = {NULL, NULL};
	run_child_prog("threadlimit", argv, harness_timeout(30), &res);
	bool ok = !res.timed_out && res.exited && res.status == 2 &&
	          strstr(res.output, "runtime: program exceeds 2-thread limit") &&
	          strstr(res.output, "fatal error: thread exhaustion");
	if (!ok) {
		harness_describe("threadlimit", &res);
		FAILF("want exit status 2 and Go's thread exhaustion messages");
	}
}

int main(void)
{
	RUN_CASE(query_and_set, 30);
	RUN_CASE(exceeded, 60);
	PASS("thread_limit_test");
	return 0;
}
