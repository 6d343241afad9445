/*
 * yieldmany - gort_gosched() round-robin over many goroutines: the cost of
 * a switch to a goroutine whose stack and G have gone cold.
 *
 * yield measures two goroutines, whose stacks never leave the cache. Here
 * G goroutines each first park once on a channel (so every stack exists
 * and has been run on before the clock starts), then, released together
 * by closing the channel, call gort_gosched() N times each. With every
 * goroutine in the queue, a switch goes to the one that ran G switches
 * ago: its saved frame, its G, and at 10,000 and more the TLB entry of
 * its stack page are no longer cached. value = elapsed / (G * N), timed
 * from the close to the return of the wait.
 *
 *     yieldmany [-procs P] [-g G] [-n N]
 *     bench=yieldmany impl=gort cfg=procs=P,g=G,n=N value=X unit=ns/switch
 */
#include "common.h"

struct yieldmany_args {
	long procs;
	long g;
	long n;
	gort_chan *go;
	gort_waitgroup started, done;
};

static void yielder(void *arg)
{
	struct yieldmany_args *a = arg;
	long i;

	gort_wg_done(&a->started);
	if (gort_chan_recv(a->go, NULL) != 0)
		bench_die("receive on the start channel returned a value");
	for (i = 0; i < a->n; i++)
		gort_gosched();
	gort_wg_done(&a->done);
}

static int body(void *arg)
{
	struct yieldmany_args *a = arg;
	int64_t t0, d;
	long i;

	a->go = gort_chan_make(0, 0);
	if (!a->go)
		bench_die("gort_chan_make: %s", strerror(errno));
	if (gort_wg_add(&a->started, (int)a->g) != 0 || gort_wg_add(&a->done, (int)a->g) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	for (i = 0; i < a->g; i++)
		if (gort_go(yielder, a) < 0)
			bench_die("gort_go: %s", strerror(errno));
	gort_wg_wait(&a->started);
	t0 = bench_now();
	if (gort_chan_close(a->go) != 0)
		bench_die("gort_chan_close: %s", strerror(errno));
	gort_wg_wait(&a->done);
	d = bench_now() - t0;
	bench_emit("yieldmany", (double)d / ((double)a->g * (double)a->n), "ns/switch",
	           "procs=%ld,g=%ld,n=%ld", a->procs, a->g, a->n);
	gort_chan_free(a->go);
	return 0;
}

int main(int argc, char **argv)
{
	struct yieldmany_args a = {.procs = 1, .g = 10000, .n = 200};
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &a.procs, "number of Ps (GOMAXPROCS)"},
		{"g", BENCH_FLAG_INT, &a.g, "goroutines"},
		{"n", BENCH_FLAG_INT, &a.n, "yields per goroutine"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	bench_check_procs(a.procs, GORT_MAX_PROCS);
	if (a.g < 1 || a.g > 10000000L || a.n < 1 || a.n > 1000000000L)
		bench_die("-g must be in [1, 10^7] and -n in [1, 10^9]");
	return bench_gort_main((int)a.procs, body, &a);
}
