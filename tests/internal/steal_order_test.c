/*
 * steal_order_test.c - the order in which a spinning M visits the Ps to
 * steal from (p.c's randomorder, Go's randomOrder/stealOrder).
 *
 * permutation: for every count of Ps from 1 to GORT_MAX_PROCS, the
 * strides are exactly the numbers in [1, count] coprime with count, and
 * an enumeration visits every P once, whatever the draw it starts from:
 * strides at several starts (every stride from every start up to 64 Ps,
 * every stride up to 256 Ps, 32 and the last beyond), and draws near 0
 * and near 2^32, the ends of fastrand's range. A stride that is
 * not coprime would visit some Ps twice and others never.
 *
 * resize: the runtime's own stealorder follows GOMAXPROCS as it changes
 * (1, 2, 3, 7, 64, 2), and the enumeration from it covers allp.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "gort_util.h"
#include "runtime.h"

/* The prime factors of n, by trial division: an oracle of coprimality
 * that shares nothing with the runtime's gcd. Returns how many. */
static int prime_factors(uint32_t n, uint32_t *f)
{
	int k = 0;
	for (uint32_t q = 2; q * q <= n; q++) {
		if (n % q != 0)
			continue;
		f[k++] = q;
		while (n % q == 0)
			n /= q;
	}
	if (n > 1)
		f[k++] = n;
	return k;
}

static bool coprime(uint32_t c, const uint32_t *f, int nf)
{
	for (int i = 0; i < nf; i++)
		if (c % f[i] == 0)
			return false;
	return true;
}

/* Enumerate from draw i: every position in [0, count) exactly once. */
static void check_enum(const randomorder *ord, uint32_t i, unsigned char *seen)
{
	uint32_t count = ord->count;
	memset(seen, 0, count);
	uint32_t n = 0;
	for (randomenum e = randomorder_start(ord, i); !randomenum_done(&e);
	     randomenum_next(&e)) {
		if (e.pos >= count)
			FAILF("count %u, draw %u: position %u out of range", count,
			      i, e.pos);
		if (seen[e.pos]++)
			FAILF("count %u, draw %u (stride %u): P %u visited twice",
			      count, i, e.inc, e.pos);
		if (++n > count)
			FAILF("count %u, draw %u: more than count steps", count, i);
	}
	if (n != count)
		FAILF("count %u, draw %u: %u steps", count, i, n);
}

static void permutation(void)
{
	randomorder ord;
	memset(&ord, 0, sizeof ord);
	unsigned char *seen = malloc(GORT_MAX_PROCS);
	CHECK(seen != NULL);
	for (uint32_t count = 1; count <= GORT_MAX_PROCS; count++) {
		randomorder_reset(&ord, count);
		CHECK_EQ(ord.count, count);
		/* The strides: the coprimes of count in [1, count], in order. */
		uint32_t f[32];
		int nf = prime_factors(count, f);
		uint32_t k = 0;
		for (uint32_t c = 1; c <= count; c++) {
			if (!coprime(c, f, nf))
				continue;
			if (k >= ord.ncoprimes || ord.coprimes[k] != c)
				FAILF("count %u: stride %u missing", count, c);
			k++;
		}
		if (k != ord.ncoprimes)
			FAILF("count %u: %u strides, %u coprimes", count,
			      ord.ncoprimes, k);
		/* Strides (draw / count % ncoprimes picks one): every one
		 * from every start up to 64 Ps, every one from 3 starts up
		 * to 256, 32 of them spread over the list from 3 starts
		 * beyond (the enumeration is the same arithmetic for all). */
		uint32_t step = count <= 256 || ord.ncoprimes <= 32 ? 1 : ord.ncoprimes / 32;
		for (uint32_t s = 0; s < ord.ncoprimes; s += step) {
			if (count <= 64) {
				for (uint32_t st = 0; st < count; st++)
					check_enum(&ord, s * count + st, seen);
			} else {
				check_enum(&ord, s * count, seen);
				check_enum(&ord, s * count + count / 2, seen);
				check_enum(&ord, s * count + count - 1, seen);
			}
		}
		check_enum(&ord, (ord.ncoprimes - 1) * count + 1, seen);
		for (uint32_t d = 0; d < 64; d++) {
			check_enum(&ord, d, seen);
			check_enum(&ord, UINT32_MAX - d, seen);
		}
	}
	free(seen);
	free(ord.coprimes);
}

static int resize_main(void *arg)
{
	(void)arg;
	static const int procs[] = {1, 2, 3, 7, 64, 2};
	unsigned char seen[GORT_MAX_PROCS];
	for (size_t i = 0; i < sizeof procs / sizeof *procs; i++) {
		gort_gomaxprocs(procs[i]);
		CHECK_EQ(gort_gomaxprocs(0), procs[i]);
		CHECK_EQ(stealorder.count, (uint32_t)procs[i]);
		for (uint32_t d = 0; d < 1000; d++)
			check_enum(&stealorder, cheaprand(), seen);
	}
	return 0;
}

static void resize(void)
{
	run_main(resize_main, NULL, 1);
}

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"permutation", permutation},
		{"resize", resize},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 60);
	PASS("steal_order_test");
	return 0;
}
