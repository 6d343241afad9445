/*
 * pingpong (pthread peer) - a round trip between two threads through one
 * mutex and two condition variables.
 *
 * The OS-thread counterpart of gort's pingpong. A shared flag turn (0 or
 * 1) under the mutex says whose move it is. Thread A, N times: turn = 1,
 * signal cv_b, wait on cv_a until turn is 0. Thread B, N times: wait on
 * cv_b until turn is 1, turn = 0, signal cv_a. The clock runs from before
 * creating the threads to the return of both joins; value = elapsed/N in
 * ns/roundtrip. -procs 1 pins both threads to CPU 0 (every round trip is
 * two context switches on one CPU); -procs 2 (or more, in a scaling sweep)
 * leaves them free.
 *
 *     pingpong [-procs P] [-n N]
 *     bench=pingpong impl=pthread cfg=procs=P,n=N value=X unit=ns/roundtrip
 */
#define BENCH_IMPL "pthread"
#include "../benchutil.h"

#include <pthread.h>
#include <sched.h>

struct court {
	pthread_mutex_t mu; /* protects turn */
	pthread_cond_t cv_a, cv_b;
	int turn;
	long n;
	bool pin;
};

static void maybe_pin(const struct court *c)
{
	cpu_set_t set;
	int rc;

	if (!c->pin)
		return;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	if (rc != 0)
		bench_die("pin to CPU 0: %s", strerror(rc));
}

static void *side_a(void *arg)
{
	struct court *c = arg;
	long i;

	maybe_pin(c);
	for (i = 0; i < c->n; i++) {
		pthread_mutex_lock(&c->mu);
		c->turn = 1;
		pthread_cond_signal(&c->cv_b);
		while (c->turn != 0)
			pthread_cond_wait(&c->cv_a, &c->mu);
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

static void *side_b(void *arg)
{
	struct court *c = arg;
	long i;

	maybe_pin(c);
	for (i = 0; i < c->n; i++) {
		pthread_mutex_lock(&c->mu);
		while (c->turn != 1)
			pthread_cond_wait(&c->cv_b, &c->mu);
		c->turn = 0;
		pthread_cond_signal(&c->cv_a);
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct court c = {
		.mu = PTHREAD_MUTEX_INITIALIZER,
		.cv_a = PTHREAD_COND_INITIALIZER,
		.cv_b = PTHREAD_COND_INITIALIZER,
	};
	long procs = 2, n = 200000;
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, &procs, "1: both threads on CPU 0; more: free"},
		{"n", BENCH_FLAG_INT, &n, "round trips"},
		BENCH_FLAG_END,
	};
	pthread_t a, b;
	int64_t t0, d;

	bench_flags(argc, argv, flags);
	if (procs < 1 || n < 1)
		bench_die("-procs and -n must be positive");
	c.n = n;
	c.pin = procs == 1;
	t0 = bench_now();
	if (pthread_create(&b, NULL, side_b, &c) != 0 ||
	    pthread_create(&a, NULL, side_a, &c) != 0)
		bench_die("pthread_create failed");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	d = bench_now() - t0;
	bench_emit("pingpong", (double)d / (double)n, "ns/roundtrip",
	           "procs=%ld,n=%ld", procs, n);
	return 0;
}
