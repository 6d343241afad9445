/*
 * syncfatal: a helper program for sync_test. Each mode misuses a sync
 * object the way Go reports with a fatal error; the runtime must print
 * "fatal error: <message>" and exit with status 2. Should the misuse go
 * unnoticed, the program prints "syncfatal: survived" and exits 0.
 *
 * Usage: syncfatal MODE
 *   unlock         a goroutine unlocks an unlocked gort_mutex
 *   unlock_thread  the same from a plain thread, with no runtime running
 *   unlock_twice   a goroutine unlocks a mutex it locked, then again
 *   runlock        a goroutine read-unlocks an unlocked gort_rwmutex
 *   rwunlock       a goroutine unlocks an unlocked gort_rwmutex
 *   deadlock       the main goroutine locks a mutex it already holds
 *                  (Go's "all goroutines are asleep - deadlock!")
 *   unlock_many    goroutines on every P unlock unlocked mutexes at the
 *                  same instant: one report must come out, not several
 *                  interleaved
 */
#include "gort_util.h"

static gort_mutex mu;
static gort_rwmutex rw;

static int run_unlock(void *arg)
{
	(void)arg;
	gort_mutex_unlock(&mu);
	return 0;
}

static int run_unlock_twice(void *arg)
{
	(void)arg;
	gort_mutex_lock(&mu);
	gort_mutex_unlock(&mu);
	gort_mutex_unlock(&mu);
	return 0;
}

static int run_runlock(void *arg)
{
	(void)arg;
	gort_rwmutex_rlock(&rw);
	gort_rwmutex_runlock(&rw);
	gort_rwmutex_runlock(&rw);
	return 0;
}

static int run_rwunlock(void *arg)
{
	(void)arg;
	gort_rwmutex_unlock(&rw);
	return 0;
}

#define MANY 8

static atomic_int many_ready;
static atomic_bool many_go;

static void unlock_own(void)
{
	gort_mutex own = {0};
	while (!atomic_load(&many_go))
		;
	gort_mutex_unlock(&own);
}

static void unlock_one(void *arg)
{
	(void)arg;
	atomic_fetch_add(&many_ready, 1);
	unlock_own();
}

/* MANY - 1 spinners and main, one per P: main keeps a P to come back to
 * while the others spin (sanitizer builds preempt no spinner). */
static int run_unlock_many(void *arg)
{
	(void)arg;
	gort_gomaxprocs(MANY);
	for (int i = 0; i < MANY - 1; i++)
		gort_go(unlock_one, NULL);
	while (atomic_load(&many_ready) < MANY - 1)
		gort_gosched();
	atomic_store(&many_go, true);
	unlock_own();
	gort_sleep(1000000000);
	return 0;
}

static int run_deadlock(void *arg)
{
	(void)arg;
	gort_mutex_lock(&mu);
	gort_mutex_lock(&mu);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct prog_mode modes[] = {
		{"unlock", run_unlock, NULL, false},
		{"unlock_thread", run_unlock, NULL, true},
		{"unlock_twice", run_unlock_twice, NULL, false},
		{"runlock", run_runlock, NULL, false},
		{"rwunlock", run_rwunlock, NULL, false},
		{"deadlock", run_deadlock, NULL, false},
		{"unlock_many", run_unlock_many, NULL, false},
	};
	int rc = run_prog_mode("syncfatal", argc, argv, modes,
	                       sizeof modes / sizeof *modes);
	fprintf(stderr, "syncfatal: survived rc=%d\n", rc);
	return 0;
}
