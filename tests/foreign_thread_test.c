/*
 * foreign_thread_test proves that threads the runtime did not create can
 * use it while it runs: in a plain pthread gort_goid() is 0, gort_go
 * creates a goroutine that runs on the runtime (its goid is the one
 * returned, and gort_goid() inside says so), and gort_wg_wait blocks the
 * plain thread until goroutines finish; gort_wg_done from a plain thread
 * wakes a waiting goroutine. Without a running runtime gort_go fails with
 * -1/EAGAIN and gort_goid() is 0.
 */
#include "gort_util.h"

#define THREADS 4
#define PER_THREAD 2000
#define YIELDS 20

struct plain {
	pthread_t tid;
	int index;
	long n;
	int64_t *returned;      /* goids returned to this thread */
	int64_t *seen;          /* goids seen inside the goroutines */
	atomic_long ran;
	gort_waitgroup wg;      /* the thread waits on it */
	long ran_after_wait;    /* ran, read when wg_wait returned */
	int64_t goid_here;      /* gort_goid() on the plain thread */
	int wait_rc;
};

struct job {
	struct plain *owner;
	long i;
};

static struct plain plains[THREADS];
static gort_waitgroup threads_done; /* main goroutine waits on it */

static void job_run(void *arg)
{
	struct job *j = arg;
	j->owner->seen[j->i] = gort_goid();
	for (int k = 0; k < YIELDS; k++)
		gort_gosched(); /* keep the plain thread waiting a while */
	atomic_fetch_add(&j->owner->ran, 1);
	gort_wg_done(&j->owner->wg);
}

static void *plain_thread(void *arg)
{
	struct plain *pl = arg;
	struct job *jobs = calloc((size_t)pl->n, sizeof(*jobs));
	CHECK(jobs != NULL);
	pl->goid_here = gort_goid();
	CHECK_EQ(gort_wg_add(&pl->wg, (int)pl->n), 0);
	for (long i = 0; i < pl->n; i++) {
		jobs[i].owner = pl;
		jobs[i].i = i;
		pl->returned[i] = gort_go(job_run, &jobs[i]);
		if (pl->returned[i] < 0)
			FAILF("gort_go from plain thread %d: %s", pl->index,
			      strerror(errno));
	}
	pl->wait_rc = gort_wg_wait(&pl->wg);
	pl->ran_after_wait = atomic_load(&pl->ran);
	/* A job no longer touches its struct once it has called done. */
	free(jobs);
	gort_wg_done(&threads_done);
	return NULL;
}

static void check_plain(struct plain *pl)
{
	CHECK_EQ(pl->goid_here, 0);
	CHECK_EQ(pl->wait_rc, 0);
	CHECK_EQ(pl->ran_after_wait, pl->n);
	for (long i = 0; i < pl->n; i++) {
		if (pl->returned[i] <= 1 || pl->returned[i] != pl->seen[i])
			FAILF("thread %d job %ld: gort_go returned %lld, "
			      "gort_goid() inside said %lld",
			      pl->index, i, (long long)pl->returned[i],
			      (long long)pl->seen[i]);
	}
}

static int foreign_main(void *arg)
{
	(void)arg;
	long n = SCALE(PER_THREAD);
	CHECK_EQ(gort_wg_add(&threads_done, THREADS), 0);
	for (int t = 0; t < THREADS; t++) {
		struct plain *pl = &plains[t];
		pl->index = t;
		pl->n = n;
		pl->returned = calloc((size_t)n, sizeof(int64_t));
		pl->seen = calloc((size_t)n, sizeof(int64_t));
		CHECK(pl->returned != NULL && pl->seen != NULL);
		pl->goid_here = -1;
		CHECK_EQ(pthread_create(&pl->tid, NULL, plain_thread, pl), 0);
	}
	/* Parks main; only plain threads can wake it. */
	CHECK_EQ(gort_wg_wait(&threads_done), 0);
	for (int t = 0; t < THREADS; t++) {
		CHECK_EQ(pthread_join(plains[t].tid, NULL), 0);
		check_plain(&plains[t]);
		free(plains[t].returned);
		free(plains[t].seen);
	}
	return 0;
}

static void noop(void *arg)
{
	(void)arg;
}

static void run_foreign(int procs)
{
	CHECK_EQ(gort_goid(), 0);
	CHECK_ERRNO(gort_go(noop, NULL), EAGAIN);
	run_main(foreign_main, NULL, procs);
	CHECK_EQ(gort_goid(), 0);
	CHECK_ERRNO(gort_go(noop, NULL), EAGAIN);
}

static void foreign_procs1(void)
{
	run_foreign(1);
}

static void foreign_procs2(void)
{
	run_foreign(2);
}

/* ---------------------------------------------------------------------
 * A goroutine parked on a waitgroup that only a plain thread can release.
 * ------------------------------------------------------------------- */

static gort_waitgroup gate;
static gort_waitgroup released;
static atomic_int passed;

static void gate_waiter(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_wait(&gate), 0);
	atomic_fetch_add(&passed, 1);
	gort_wg_done(&released);
}

static void *opener(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_goid(), 0);
	harness_sleep_ms(50);
	CHECK_EQ(atomic_load(&passed), 0);
	CHECK_EQ(gort_wg_done(&gate), 0);
	return NULL;
}

static int gate_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&gate, 1), 0);
	CHECK_EQ(gort_wg_add(&released, 10), 0);
	for (int i = 0; i < 10; i++)
		CHECK(gort_go(gate_waiter, NULL) > 1);
	pthread_t tid;
	CHECK_EQ(pthread_create(&tid, NULL, opener, NULL), 0);
	CHECK_EQ(gort_wg_wait(&released), 0);
	CHECK_EQ(atomic_load(&passed), 10);
	CHECK_EQ(pthread_join(tid, NULL), 0);
	return 0;
}

MAIN_CASE(released_by_plain_thread, gate_main, 1)

int main(void)
{
	RUN_CASE(foreign_procs1, 30);
	RUN_CASE(foreign_procs2, 30);
	RUN_CASE(released_by_plain_thread, 30);
	PASS("foreign_thread_test");
	return 0;
}
