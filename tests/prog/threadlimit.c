/*
 * threadlimit: a helper program for thread_limit_test. With a limit of two
 * threads and four Ps, four goroutines that wait for each other without
 * yielding need four Ms; the runtime must stop with Go's
 * "fatal error: thread exhaustion" (exit status 2) when it would create
 * the third, instead of running past the limit or hanging.
 * Exit status 0 or 1 means the limit was not enforced.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "gort.h"

static atomic_int arrived;
static gort_waitgroup done;

static void spinner(void *arg)
{
	(void)arg;
	atomic_fetch_add(&arrived, 1);
	int64_t deadline = gort_nanotime() + 10LL * 1000000000;
	while (atomic_load(&arrived) < 4 && gort_nanotime() < deadline)
		;
	gort_wg_done(&done);
}

static int run(void *arg)
{
	(void)arg;
	gort_wg_add(&done, 4);
	for (int i = 0; i < 4; i++)
		gort_go(spinner, NULL);
	gort_wg_wait(&done);
	return 0;
}

int main(void)
{
	if (gort_set_max_threads(2) != 10000)
		return 1;
	gort_gomaxprocs(4);
	gort_main(run, NULL);
	printf("the limit was not enforced\n");
	return 0;
}
