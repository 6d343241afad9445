/*
 * preemptlat - how late a sleeping goroutine wakes while another goroutine
 * spins on the only P.
 *
 * GOMAXPROCS=1. A spinner goroutine runs a loop with no calls in it (an
 * inline 64-bit LCG step) for ~2 s of CPU, then sets an atomic done flag.
 * A sleeper goroutine loops { t = now; gort_sleep(1ms); record
 * now - t - 1ms } until it sees done. Without preemption of the spinner
 * the sleeper gets about two samples, one of them ~2 s late; with
 * preemption every sample is at most about one time slice (10 ms) late.
 *
 *   1. Calibrate the kernel on the main goroutine, nothing else runnable
 *      (as forensics: double the iteration count from 65536 until one call
 *      takes >= 20 ms, then the fastest of 5 such calls -> iterations/ns);
 *      iters = the iterations for -spin ms.
 *   2. Spawn the spinner, then the sleeper: the sleeper, spawned last, is
 *      in runnext and runs first once main blocks on the wait group.
 *   3. Report p50/p99/max lateness (ms, nearest-rank) and the number of
 *      samples.
 *
 * The cfg key asyncpreempt says whether the runtime may preempt the
 * spinner with a signal: "off" when GODEBUG sets asyncpreemptoff to a
 * non-zero value, read as the runtime reads it (the last valid setting
 * wins: "asyncpreemptoff=1,asyncpreemptoff=0" is on), "on" otherwise.
 *
 *     preemptlat [-procs 1] [-spin MS]
 *     bench=preemptlat impl=gort cfg=procs=1,spin=2000ms,asyncpreempt=on|off,metric=p50|p99|max|samples
 */
#include "common.h"

#include <stdatomic.h>

struct preemptlat {
	long procs;
	long spin_ms;
	long iters;
	atomic_int done;
	double *samples;
	size_t nsamples, cap;
	int64_t spin_ns;
	uint64_t sink;
	gort_waitgroup wg;
};

static struct preemptlat P = {
	.procs = 1,
	.spin_ms = 2000,
};

/* Is s[0..n) a decimal int32, as the runtime's GODEBUG parser takes it
 * (an optional '-', then digits only)? Its value in *v if so. */
static bool godebug_int32(const char *s, size_t n, long *v)
{
	bool neg = n > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	long u = 0;

	if (i == n)
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		u = u * 10 + (s[i] - '0');
		if (u > 2147483648L)
			return false;
	}
	if (!neg && u > 2147483647L)
		return false;
	*v = neg ? -u : u;
	return true;
}

/* The same reading of GODEBUG as the runtime's (Go's parsedebugvars):
 * every "asyncpreemptoff=" item of the comma-separated list is read in
 * turn and the last one whose value is a number wins; one that is not a
 * number changes nothing. Non-zero turns signal preemption off. */
static bool asyncpreempt_off(void)
{
	static const char key[] = "asyncpreemptoff=";
	const size_t klen = sizeof key - 1;
	const char *s = getenv("GODEBUG");
	long v = 0;

	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (len >= klen && strncmp(s, key, klen) == 0)
			godebug_int32(s + klen, len - klen, &v);
		s = end ? end + 1 : NULL;
	}
	return v != 0;
}

static void spinner(void *arg)
{
	/* The loop bound and the state are locals: no call and no memory
	 * access inside the loop, only the multiply-add chain. */
	long n = P.iters, i;
	uint64_t x = 12345;
	int64_t t0;

	(void)arg;
	t0 = bench_now();
	for (i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	P.spin_ns = bench_now() - t0;
	P.sink = x;
	atomic_store(&P.done, 1);
	gort_wg_done(&P.wg);
}

static void sleeper(void *arg)
{
	(void)arg;
	while (!atomic_load(&P.done)) {
		int64_t t = bench_now(), late;
		gort_sleep(1000000);
		late = bench_now() - t - 1000000;
		if (P.nsamples == P.cap) {
			size_t cap = P.cap ? 2 * P.cap : 4096;
			double *s = realloc(P.samples, cap * sizeof *s);
			if (!s)
				bench_die("out of memory");
			P.samples = s;
			P.cap = cap;
		}
		P.samples[P.nsamples++] = bench_ms(late);
	}
	gort_wg_done(&P.wg);
}

static int body(void *arg)
{
	static const char *const metrics[] = {"p50", "p99", "max"};
	const char *ap = asyncpreempt_off() ? "off" : "on";
	double v[3];
	int64_t t0;
	size_t m;

	(void)arg;
	P.iters = (long)(calibrate_spin() * (double)P.spin_ms * 1e6);
	if (P.iters < 1)
		P.iters = 1;

	if (gort_wg_add(&P.wg, 2) != 0)
		bench_die("gort_wg_add: %s", strerror(errno));
	t0 = bench_now();
	if (gort_go(spinner, NULL) < 0 || gort_go(sleeper, NULL) < 0)
		bench_die("gort_go: %s", strerror(errno));
	gort_wg_wait(&P.wg);
	fprintf(stderr,
	        "preemptlat: spinner loop took %.1f ms wall, total %.1f ms, "
	        "%zu samples (x=%d)\n",
	        bench_ms(P.spin_ns), bench_ms(bench_now() - t0), P.nsamples,
	        (int)(P.sink & 1));

	if (P.nsamples == 0)
		bench_die("the sleeper recorded no sample");
	bench_summary(P.samples, P.nsamples, &v[0], &v[1], &v[2]);
	for (m = 0; m < 3; m++)
		bench_emit("preemptlat", v[m], "ms",
		           "procs=%ld,spin=%ldms,asyncpreempt=%s,metric=%s",
		           P.procs, P.spin_ms, ap, metrics[m]);
	bench_emit("preemptlat", (double)P.nsamples, "count",
	           "procs=%ld,spin=%ldms,asyncpreempt=%s,metric=samples",
	           P.procs, P.spin_ms, ap);
	free(P.samples);
	return 0;
}

int main(int argc, char **argv)
{
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &P.procs, "number of Ps (GOMAXPROCS)"},
		{"spin", BENCH_FLAG_INT, &P.spin_ms, "spinner CPU ms"},
		BENCH_FLAG_END,
	};

	bench_flags(argc, argv, flags);
	bench_check_procs(P.procs, GORT_MAX_PROCS);
	if (P.spin_ms < 1 || P.spin_ms > 1000000)
		bench_die("-spin must be in [1, 1000000] (ms)");
	return bench_gort_main((int)P.procs, body, NULL);
}
