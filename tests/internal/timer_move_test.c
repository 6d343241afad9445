/*
 * timer_move_test.c - movetimers (procresize giving a P's timers to
 * allp[0]) against deltimer from another thread, without the scheduler.
 *
 * A timer that is in a heap all along must be found by deltimer: a
 * plain thread stopping a gort_timer, setting a deadline or closing an
 * fd while a GOMAXPROCS change moves the timers (the world is stopped,
 * plain threads are not) must not see it "in no heap" meanwhile. If it
 * did, gort_timer_stop would return false and leave the timer armed,
 * and deadline_arm's addtimer_p would throw "timer already in a heap".
 *
 * One thread moves the timers of two private Ps back and forth; another
 * takes them out with deltimer, each must be found, and puts them back.
 * The runtime is not running: sched is zero, so addtimer_p's wake-up
 * (wakesleeper) is a no-op netpollBreak.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

enum { NTIMERS = 64 };

#ifdef GORT_TEST_SANITIZED
#define TIME_LIMIT_S 2.0
#else
#define TIME_LIMIT_S 3.0
#endif

static p *pa, *pb;
static timer tms[NTIMERS];
static _Atomic int stop;
static _Atomic int64_t moves;

static void nop(void *arg, int64_t now)
{
	(void)arg;
	(void)now;
}

static p *new_p(int32_t id)
{
	p *pp = aligned_alloc(CACHE_LINE, sizeof *pp);
	CHECK(pp != NULL);
	memset(pp, 0, sizeof *pp);
	pp->id = id;
	return pp;
}

static void *mover(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		movetimers(pa, pb);
		movetimers(pb, pa);
		atomic_fetch_add_explicit(&moves, 2, memory_order_relaxed);
	}
	return NULL;
}

int main(void)
{
	pa = new_p(0);
	pb = new_p(1);
	for (int i = 0; i < NTIMERS; i++) {
		tms[i].when = INT64_MAX / 2 + i; /* never due */
		tms[i].f = nop;
		tms[i].idx = -1;
		atomic_init(&tms[i].pp, NULL);
		CHECK(addtimer_p(i % 2 ? pa : pb, &tms[i]));
	}
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, mover, NULL), 0);

	int64_t t0 = harness_now();
	int64_t dels = 0, lost = 0;
	for (int i = 0; harness_now() - t0 < (int64_t)(TIME_LIMIT_S * 1e9); i = (i + 1) % NTIMERS) {
		timer *t = &tms[i];
		if (!deltimer(t)) {
			/* Not seen in any heap, though it is in one all
			 * along: take it out once deltimer does see it. */
			lost++;
			int64_t tries = 0;
			while (!deltimer(t))
				if (++tries > 100000000)
					FAILF("timer %d is in no heap", i);
		}
		dels++;
		CHECK(addtimer_p(i % 2 ? pa : pb, t));
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	fprintf(stderr, "%lld deltimer, %lld moves, %lld missed\n", (long long)dels,
	        (long long)atomic_load(&moves), (long long)lost);
	CHECK_EQ(lost, 0);
	CHECK_EQ(pa->ntimers + pb->ntimers, NTIMERS);
	PASS("timer_move");
	return 0;
}
