/*
 * yield - the cost of one gort_gosched() switch.
 *
 * Two goroutines each call gort_gosched() N times while the main goroutine
 * waits on a wait group; value = elapsed/(2N) in ns/switch, timed from
 * before the first spawn to the return of the wait.
 *
 *     yield [-procs P] [-n N]
 *     bench=yield impl=gort cfg=procs=P,n=N value=X unit=ns/switch
 */
#include "common.h"

struct yield_args {
	long procs;
	long n;
	gort_waitgroup wg;
};

static void yielder(void *arg)
{
	struct yield_args *a = arg;
	long i;

	for (i = 0; i < a->n; i++)
		gort_gosched();
	gort_wg_done(&a->wg);
}

static int body(void *arg)
{
	struct yield_args *a = arg;
	int64_t t0, d;

	if (gort_wg_add(&a->wg, 2) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	t0 = bench_now();
	if (gort_go(yielder, a) < 0 || gort_go(yielder, a) < 0)
		bench_die("gort_go: %s", strerror(errno));
	gort_wg_wait(&a->wg);
	d = bench_now() - t0;
	bench_emit("yield", (double)d / (2.0 * (double)a->n), "ns/switch",
	           "procs=%ld,n=%ld", a->procs, a->n);
	return 0;
}

int main(int argc, char **argv)
{
	struct yield_args a = {.procs = 1, .n = 5000000};
	bench_procs_n(argc, argv, &a.procs, &a.n, "yields per goroutine", GORT_MAX_PROCS);
	return bench_gort_main((int)a.procs, body, &a);
}
