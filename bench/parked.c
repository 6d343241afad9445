/*
 * parked - the memory and time cost of many goroutines blocked at once.
 *
 * As the peers' parked: read VmRSS (rss0), start the clock, spawn N
 * goroutines whose body is started.Done(); receive on ch; exited.Done(),
 * where ch is one shared unbuffered channel (elements of size 0, Go's
 * chan struct{}) that nobody sends on. Wait for started; start = ms since
 * the clock started; read VmRSS (rss1); start a second clock, close ch,
 * wait for exited; exit = ms since the second clock started.
 * rss = (rss1 - rss0) / N in bytes/task. Go runs its collector and returns
 * free memory to the OS before reading rss0; gort has no collector, and
 * nothing has been allocated before that point but the runtime itself.
 *
 *     parked [-procs P] [-n N]
 *     bench=parked impl=gort cfg=procs=P,n=N,metric=rss value=X unit=bytes/task
 *     bench=parked impl=gort cfg=procs=P,n=N,metric=start value=X unit=ms
 *     bench=parked impl=gort cfg=procs=P,n=N,metric=exit value=X unit=ms
 */
#include "common.h"

struct parked_args {
	long procs;
	long n;
	gort_chan *ch;
	gort_waitgroup started, exited;
};

static void parker(void *arg)
{
	struct parked_args *a = arg;

	gort_wg_done(&a->started);
	if (gort_chan_recv(a->ch, NULL) != 0)
		bench_die("receive on the never-sent channel returned a value");
	gort_wg_done(&a->exited);
}

static int body(void *arg)
{
	struct parked_args *a = arg;
	int64_t rss0, rss1, t0, t1, dstart, dexit;
	long i;

	a->ch = gort_chan_make(0, 0);
	if (!a->ch)
		bench_die("gort_chan_make: %s", strerror(errno));
	if (gort_wg_add(&a->started, (int)a->n) != 0 ||
	    gort_wg_add(&a->exited, (int)a->n) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	rss0 = bench_rss_bytes();
	t0 = bench_now();
	for (i = 0; i < a->n; i++)
		if (gort_go(parker, a) < 0)
			bench_die("gort_go (task %ld): %s", i, strerror(errno));
	gort_wg_wait(&a->started);
	dstart = bench_now() - t0;
	rss1 = bench_rss_bytes();
	t1 = bench_now();
	if (gort_chan_close(a->ch) != 0)
		bench_die("gort_chan_close: %s", strerror(errno));
	gort_wg_wait(&a->exited);
	dexit = bench_now() - t1;
	if (rss0 < 0 || rss1 < 0)
		bench_die("cannot read VmRSS from /proc/self/status");

	bench_emit("parked", (double)(rss1 - rss0) / (double)a->n, "bytes/task",
	           "procs=%ld,n=%ld,metric=rss", a->procs, a->n);
	bench_emit("parked", bench_ms(dstart), "ms",
	           "procs=%ld,n=%ld,metric=start", a->procs, a->n);
	bench_emit("parked", bench_ms(dexit), "ms",
	           "procs=%ld,n=%ld,metric=exit", a->procs, a->n);
	gort_chan_free(a->ch);
	return 0;
}

int main(int argc, char **argv)
{
	struct parked_args a = {.procs = 2, .n = 1000000};
	bench_procs_n(argc, argv, &a.procs, &a.n, "goroutines", GORT_MAX_PROCS);
	return bench_gort_main((int)a.procs, body, &a);
}
