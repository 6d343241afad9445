/*
 * skynet - a 10-ary tree of goroutines that sum their leaves' ids.
 *
 * As the peers' skynet (the Go version of the classic benchmark):
 * skynet(c, num, size, div=10): a leaf (size 1) sends num on c; an inner
 * node makes an unbuffered channel rc, spawns its 10 children
 * skynet(rc, num + i*(size/10), size/10, 10) for i = 0..9, receives 10
 * values and sends their sum on c. The main goroutine makes an unbuffered
 * channel c, starts the clock, spawns skynet(c, 0, N, 10), receives the
 * result, stops the clock and checks N(N-1)/2; value in ms. For N = 10^6
 * that is 1,111,111 goroutines. Values are 64-bit ints (Go's int).
 *
 * Go copies the arguments of `go skynet(...)` to the new goroutine; here a
 * node passes its children their arguments in an array in its own frame,
 * which each child copies before doing anything else (the node outlives
 * its children: it returns only after receiving from all ten). A node
 * releases its channel once it has received the ten values, as Go's
 * collector would after the node returns.
 *
 *     skynet [-procs P] [-n N] [-trace FILE]
 *     bench=skynet impl=gort cfg=procs=P,n=N value=X unit=ms
 *
 * -trace FILE records an execution trace of the timed part into FILE
 * (started just before the clock starts, stopped just after it stops);
 * the line then says cfg=procs=P,n=N,trace=1.
 */
#include "common.h"

#define DIV 10

struct node {
	gort_chan *c;
	int64_t num, size, div;
};

static void skynet(void *arg)
{
	const struct node me = *(const struct node *)arg;
	struct node kids[DIV];
	gort_chan *rc;
	int64_t i, v, sum = 0;

	if (me.size == 1) {
		if (gort_chan_send(me.c, &me.num) != 0)
			bench_die("gort_chan_send: %s", strerror(errno));
		return;
	}
	rc = gort_chan_make(sizeof(int64_t), 0);
	if (!rc)
		bench_die("gort_chan_make: %s", strerror(errno));
	for (i = 0; i < me.div; i++) {
		kids[i] = (struct node){.c = rc,
		                        .num = me.num + i * (me.size / me.div),
		                        .size = me.size / me.div,
		                        .div = me.div};
		if (gort_go(skynet, &kids[i]) < 0)
			bench_die("gort_go: %s", strerror(errno));
	}
	for (i = 0; i < me.div; i++) {
		if (gort_chan_recv(rc, &v) != 1)
			bench_die("gort_chan_recv failed");
		sum += v;
	}
	gort_chan_free(rc);
	if (gort_chan_send(me.c, &sum) != 0)
		bench_die("gort_chan_send: %s", strerror(errno));
}

struct skynet_args {
	long procs;
	long n;
	const char *trace;
};

static int body(void *arg)
{
	const struct skynet_args *a = arg;
	struct node root;
	gort_chan *c;
	int64_t t0, d, res = 0, want;

	c = gort_chan_make(sizeof(int64_t), 0);
	if (!c)
		bench_die("gort_chan_make: %s", strerror(errno));
	root = (struct node){.c = c, .num = 0, .size = a->n, .div = DIV};
	if (a->trace && gort_trace_start(a->trace) != 0)
		bench_die("gort_trace_start %s: %s", a->trace, strerror(errno));
	t0 = bench_now();
	if (gort_go(skynet, &root) < 0)
		bench_die("gort_go: %s", strerror(errno));
	if (gort_chan_recv(c, &res) != 1)
		bench_die("gort_chan_recv failed");
	d = bench_now() - t0;
	if (a->trace && gort_trace_stop() != 0)
		bench_die("gort_trace_stop: %s", strerror(errno));
	want = (int64_t)a->n * (a->n - 1) / 2;
	if (res != want)
		bench_die("result %" PRId64 " want %" PRId64, res, want);
	bench_emit("skynet", bench_ms(d), "ms", "procs=%ld,n=%ld%s", a->procs,
	           a->n, a->trace ? ",trace=1" : "");
	gort_chan_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	struct skynet_args a = {.procs = 2, .n = 1000000, .trace = NULL};
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &a.procs, "number of Ps (GOMAXPROCS)"},
		{"n", BENCH_FLAG_INT, &a.n, "leaves"},
		{"trace", BENCH_FLAG_STR, &a.trace, "write an execution trace to this file"},
		BENCH_FLAG_END,
	};
	long n;

	bench_flags(argc, argv, flags);
	bench_check_procs(a.procs, GORT_MAX_PROCS);
	for (n = a.n; n > 1 && n % DIV == 0; n /= DIV)
		;
	if (a.n < 1 || a.n > 1000000000L || n != 1)
		bench_die("-n must be a power of %d in [1, 10^9]", DIV);
	return bench_gort_main((int)a.procs, body, &a);
}
