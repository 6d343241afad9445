/*
 * pingpong - the round trip of a value over two unbuffered channels.
 *
 * As the peers' pingpong: two unbuffered channels ping and pong of a 64-bit
 * int (Go's int). Goroutine A, for i in 0..N-1, sends i on ping and
 * receives from pong, checking the value is i; goroutine B, N times,
 * receives from ping and sends what it got on pong. Both are spawned
 * goroutines (A first); the main goroutine waits on a wait group. The
 * clock runs from before spawning A to the return of the wait; value =
 * elapsed/N in ns/roundtrip.
 *
 *     pingpong [-procs P] [-n N]
 *     bench=pingpong impl=gort cfg=procs=P,n=N value=X unit=ns/roundtrip
 */
#include "common.h"

struct pingpong_args {
	long procs;
	long n;
	gort_chan *ping, *pong;
	gort_waitgroup wg;
};

static void initiator(void *arg)
{
	struct pingpong_args *a = arg;
	int64_t i, v;

	for (i = 0; i < a->n; i++) {
		if (gort_chan_send(a->ping, &i) != 0)
			bench_die("send on ping: %s", strerror(errno));
		if (gort_chan_recv(a->pong, &v) != 1)
			bench_die("receive from pong failed");
		if (v != i)
			bench_die("bad value %" PRId64 ", want %" PRId64, v, i);
	}
	gort_wg_done(&a->wg);
}

static void echoer(void *arg)
{
	struct pingpong_args *a = arg;
	int64_t v;
	long i;

	for (i = 0; i < a->n; i++) {
		if (gort_chan_recv(a->ping, &v) != 1)
			bench_die("receive from ping failed");
		if (gort_chan_send(a->pong, &v) != 0)
			bench_die("send on pong: %s", strerror(errno));
	}
	gort_wg_done(&a->wg);
}

static int body(void *arg)
{
	struct pingpong_args *a = arg;
	int64_t t0, d;

	a->ping = gort_chan_make(sizeof(int64_t), 0);
	a->pong = gort_chan_make(sizeof(int64_t), 0);
	if (!a->ping || !a->pong)
		bench_die("gort_chan_make: %s", strerror(errno));
	if (gort_wg_add(&a->wg, 2) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	t0 = bench_now();
	if (gort_go(initiator, a) < 0 || gort_go(echoer, a) < 0)
		bench_die("gort_go: %s", strerror(errno));
	gort_wg_wait(&a->wg);
	d = bench_now() - t0;
	bench_emit("pingpong", (double)d / (double)a->n, "ns/roundtrip",
	           "procs=%ld,n=%ld", a->procs, a->n);
	gort_chan_free(a->ping);
	gort_chan_free(a->pong);
	return 0;
}

int main(int argc, char **argv)
{
	struct pingpong_args a = {.procs = 1, .n = 1000000};
	bench_procs_n(argc, argv, &a.procs, &a.n, "round trips", GORT_MAX_PROCS);
	return bench_gort_main((int)a.procs, body, &a);
}
