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
#include <string.h>

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

static gort_waitgroup two;

static void spin_a_while(void *arg)
{
	(void)arg;
	int64_t t = gort_nanotime();
	while (gort_nanotime() - t < 20 * 1000000)
		;
	gort_wg_done(&two);
}

/* "lower": two Ms exist, then the limit goes to 1. */
static int lower(void *arg)
{
	(void)arg;
	gort_wg_add(&two, 2);
	gort_go(spin_a_while, NULL);
	gort_go(spin_a_while, NULL);
	gort_wg_wait(&two);
	gort_set_max_threads(1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "lower") == 0) {
		gort_gomaxprocs(2);
		gort_main(lower, NULL);
		printf("the lowered limit was not enforced\n");
		return 0;
	}
	if (gort_set_max_threads(2) != 10000)
		return 1;
	gort_gomaxprocs(4);
	gort_main(run, NULL);
	printf("the limit was not enforced\n");
	return 0;
}
