/*
 * chanthroughput - items per second through one buffered channel shared by
 * several producers and consumers.
 *
 * As the peers' chanthroughput: one channel of 64-bit ints (Go's int) with
 * capacity CAP. C consumers are spawned first; each receives until the
 * channel is closed and drained, summing into its own slot (slots a cache
 * line apart). Then P producers each send the ints 0..N/P-1. The main
 * goroutine waits for the producers (wait group), closes the channel,
 * waits for the consumers (wait group) and checks the total against
 * P * (N/P) * (N/P - 1) / 2. The clock runs from before spawning the
 * consumers to the return of the second wait; value = elapsed / (P*(N/P))
 * in ns/item, and cfg reports n = P*(N/P), as the Go peer does.
 *
 *     chanthroughput [-procs P] [-n N] [-p PRODUCERS] [-c CONSUMERS] [-cap CAP]
 *     bench=chanthroughput impl=gort cfg=procs=P,n=N,p=4,c=4,cap=1024 value=X unit=ns/item
 */
#include "common.h"

#define SLOT_STRIDE 8 /* int64 slots between two consumers' sums: 64 bytes */

struct tp_args {
	long procs, n, np, nc, cap;
	long per;
	gort_chan *ch;
	int64_t *sums;
	gort_waitgroup pwg, cwg;
};

struct consumer {
	struct tp_args *a;
	long idx;
};

static void consumer(void *arg)
{
	struct consumer *c = arg;
	struct tp_args *a = c->a;
	int64_t v, s = 0;
	int rc;

	while ((rc = gort_chan_recv(a->ch, &v)) == 1)
		s += v;
	if (rc != 0)
		bench_die("gort_chan_recv: %s", strerror(errno));
	a->sums[c->idx * SLOT_STRIDE] = s;
	gort_wg_done(&a->cwg);
}

static void producer(void *arg)
{
	struct tp_args *a = arg;
	int64_t i;

	for (i = 0; i < a->per; i++)
		if (gort_chan_send(a->ch, &i) != 0)
			bench_die("gort_chan_send: %s", strerror(errno));
	gort_wg_done(&a->pwg);
}

static int body(void *arg)
{
	struct tp_args *a = arg;
	struct consumer *cons;
	int64_t t0, d, s = 0, want;
	long i, total = a->per * a->np;

	a->ch = gort_chan_make(sizeof(int64_t), (size_t)a->cap);
	a->sums = calloc((size_t)a->nc * SLOT_STRIDE, sizeof *a->sums);
	cons = calloc((size_t)a->nc, sizeof *cons);
	if (!a->ch || !a->sums || !cons)
		bench_die("out of memory: %s", strerror(errno));
	if (gort_wg_add(&a->pwg, (int)a->np) != 0 ||
	    gort_wg_add(&a->cwg, (int)a->nc) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));

	t0 = bench_now();
	for (i = 0; i < a->nc; i++) {
		cons[i] = (struct consumer){.a = a, .idx = i};
		if (gort_go(consumer, &cons[i]) < 0)
			bench_die("gort_go: %s", strerror(errno));
	}
	for (i = 0; i < a->np; i++)
		if (gort_go(producer, a) < 0)
			bench_die("gort_go: %s", strerror(errno));
	gort_wg_wait(&a->pwg);
	if (gort_chan_close(a->ch) != 0)
		bench_die("gort_chan_close: %s", strerror(errno));
	gort_wg_wait(&a->cwg);
	d = bench_now() - t0;

	for (i = 0; i < a->nc; i++)
		s += a->sums[i * SLOT_STRIDE];
	want = (int64_t)a->np * a->per * (a->per - 1) / 2;
	if (s != want)
		bench_die("sum %" PRId64 " want %" PRId64, s, want);
	bench_emit("chanthroughput", (double)d / (double)total, "ns/item",
	           "procs=%ld,n=%ld,p=%ld,c=%ld,cap=%ld", a->procs, total,
	           a->np, a->nc, a->cap);
	gort_chan_free(a->ch);
	free(cons);
	free(a->sums);
	return 0;
}

int main(int argc, char **argv)
{
	struct tp_args a = {.procs = 2, .n = 10000000, .np = 4, .nc = 4,
	                    .cap = 1024};
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &a.procs, "number of Ps (GOMAXPROCS)"},
		{"n", BENCH_FLAG_INT, &a.n, "items in total"},
		{"p", BENCH_FLAG_INT, &a.np, "producers"},
		{"c", BENCH_FLAG_INT, &a.nc, "consumers"},
		{"cap", BENCH_FLAG_INT, &a.cap, "channel capacity"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	bench_check_procs(a.procs, GORT_MAX_PROCS);
	if (a.np < 1 || a.np > 0x7fffffffL || a.nc < 1 || a.nc > 0x7fffffffL)
		bench_die("-p and -c must be in [1, 2^31-1]");
	if (a.cap < 0)
		bench_die("-cap must be >= 0");
	if (a.n < a.np)
		bench_die("-n must be >= -p");
	a.per = a.n / a.np;
	return bench_gort_main((int)a.procs, body, &a);
}
