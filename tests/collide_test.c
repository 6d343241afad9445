/*
 * collide_test.c - a program may use the runtime's internal names.
 *
 * The runtime is written with Go's names: schedule, findrunnable, runqput,
 * gopark, mcall, gogo, lock. A C program linked with libgort.a lives in one
 * global symbol namespace with it, so if any of those were global in the
 * archive, this program would fail to link ("multiple definition") or, worse,
 * the runtime would call the program's function. libgort.a has every internal
 * symbol made local (see CMakeLists.txt), so this program defines all of
 * them, with signatures of its own, some as data, calls them, and runs
 * goroutines on the real scheduler in between.
 *
 * It deliberately uses no test harness: it links exactly as a user program.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gort.h>

/* The program's own functions, named as the runtime's internals. */
int schedule(int n);
void runqput(int *q, int v);
int lock(const char *name);
int unlock(const char *name);
double findrunnable(double x, double y);
const char *newproc(void);
int stopm(int a, int b, int c);
void wakep(int *flag);
long gopark(long v);
long goready(long v);
int mcall(int (*fn)(int), int arg);

/* ... and data objects with those names. */
long execute[3] = { 1, 2, 3 };
char startm[] = "startm";
double gogo = 2.5;

static atomic_int locks_held;

int schedule(int n)
{
	return n * 7;
}

void runqput(int *q, int v)
{
	q[v % 4] = v;
}

int lock(const char *name)
{
	(void)name;
	return atomic_fetch_add(&locks_held, 1) + 1;
}

int unlock(const char *name)
{
	(void)name;
	return atomic_fetch_sub(&locks_held, 1) - 1;
}

double findrunnable(double x, double y)
{
	return x * y;
}

const char *newproc(void)
{
	return "newproc";
}

int stopm(int a, int b, int c)
{
	return a + b + c;
}

void wakep(int *flag)
{
	*flag = 1;
}

long gopark(long v)
{
	return v + 1;
}

long goready(long v)
{
	return v - 1;
}

static int twice(int x)
{
	return 2 * x;
}

int mcall(int (*fn)(int), int arg)
{
	return fn(arg);
}

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "collide_test.c:%d: check failed: %s\n", \
			        __LINE__, #cond);                         \
			exit(1);                                          \
		}                                                         \
	} while (0)

/* Calls every function above and reads every object: they are ours. */
static void check_own_symbols(void)
{
	int q[4] = { 0 };
	int flag = 0;

	CHECK(schedule(6) == 42);
	runqput(q, 5);
	CHECK(q[1] == 5);
	CHECK(lock("a") == 1);
	CHECK(lock("b") == 2);
	CHECK(unlock("b") == 1);
	CHECK(unlock("a") == 0);
	CHECK(findrunnable(1.5, 4.0) == 6.0);
	CHECK(strcmp(newproc(), "newproc") == 0);
	CHECK(stopm(1, 2, 3) == 6);
	wakep(&flag);
	CHECK(flag == 1);
	CHECK(gopark(41) == 42);
	CHECK(goready(43) == 42);
	CHECK(mcall(twice, 21) == 42);
	CHECK(execute[0] + execute[1] + execute[2] == 6);
	CHECK(strcmp(startm, "startm") == 0);
	CHECK(gogo == 2.5);
}

#define NGOROUTINES 100

static atomic_long sum;
static gort_waitgroup wg;

static void worker(void *arg)
{
	/* The program's schedule() and lock(), called from goroutines. */
	atomic_fetch_add(&sum, schedule((int)(intptr_t)arg));
	lock("worker");
	gort_wg_done(&wg);
}

static int gomain(void *arg)
{
	(void)arg;
	for (int i = 1; i <= NGOROUTINES; i++) {
		CHECK(gort_wg_add(&wg, 1) == 0);
		CHECK(gort_go(worker, (void *)(intptr_t)i) > 0);
	}
	CHECK(gort_wg_wait(&wg) == 0);
	return 0;
}

int main(void)
{
	check_own_symbols();
	printf("collide_test: own schedule, runqput, lock, ... work\n");

	CHECK(gort_main(gomain, NULL) == 0);
	CHECK(atomic_load(&sum) == 7L * NGOROUTINES * (NGOROUTINES + 1) / 2);
	CHECK(atomic_load(&locks_held) == NGOROUTINES);
	printf("collide_test: %d goroutines ran on the runtime, sum %ld\n",
	       NGOROUTINES, (long)atomic_load(&sum));
	atomic_store(&locks_held, 0);

	check_own_symbols();
	printf("collide_test: ok\n");
	return 0;
}
