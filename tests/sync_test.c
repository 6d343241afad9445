/*
 * sync_test proves gort_mutex, gort_rwmutex, gort_once and gort_cond (Go's
 * sync.Mutex, RWMutex, Once and Cond):
 *  - mutex: 100 goroutines increment a plain counter under the mutex,
 *    each holding it across a yield now and then, at GOMAXPROCS 1, 2 and
 *    4: the count is exact, no two ever hold it at once, waiters really
 *    queued, and the mutex ends unlocked with no unit left on its
 *    semaphore; a contended lock parks the goroutine, not its thread (at
 *    GOMAXPROCS=1 ten blocked lockers leave the P to other goroutines);
 *  - trylock takes a free mutex, fails on a held one (from the holder and
 *    from another goroutine) and in starvation mode;
 *  - starvation mode: while a goroutine relocks the mutex in a tight loop
 *    (GOMAXPROCS 1 and 2), another one gets it at least ten times, each
 *    time well under a second, and the mutex is seen in starvation mode
 *    meanwhile (in normal mode the relocker would win forever);
 *  - rwmutex: 80 readers and 20 writers at GOMAXPROCS 1, 2 and 4: readers
 *    always see the writers' invariant, never overlap a writer, do
 *    overlap each other, and the write count is exact; readers hold the
 *    lock together (goroutines and plain threads); a pending writer
 *    waits for the readers inside and keeps new readers out;
 *  - rwmutex tryrlock and trylock: readers share, a writer excludes
 *    all, a pending writer fails both, and mixed with the blocking calls
 *    at GOMAXPROCS 1 and 4 no reader sees a writer and no writers
 *    overlap;
 *  - once: fn runs exactly once among 100 concurrent callers (GOMAXPROCS 1
 *    and 4), every caller returns only after fn finished and sees its
 *    effects, and later calls do not run it;
 *  - cond: signal wakes exactly one waiter, the one that waited longest,
 *    and is not remembered when nobody waits; broadcast wakes all of 100
 *    waiters but not one that comes later; a cond outlives a run whose
 *    goroutines were left waiting on it, and the next run's signal and
 *    broadcast reach that run's own waiters;
 *  - plain threads: mutex, once and cond shared by pthreads and
 *    goroutines, and by pthreads alone with no runtime running; a
 *    pthread that broadcasts while 300 runs end with goroutines waiting
 *    touches no goroutine or scheduler being freed;
 *  - fatal errors, through tests/prog/syncfatal.c: unlock of an unlocked
 *    mutex (from a goroutine, twice, and from a plain thread), runlock
 *    and unlock of an unlocked rwmutex print Go's "fatal error: sync:
 *    ..." and exit with status 2 (with GODEBUG=scheddetail=1, followed by
 *    the detailed scheduler report, as Go); a goroutine locking a mutex
 *    it holds is a deadlock, reported with its wait reason;
 *  - NULL arguments: errno EINVAL, nothing done, the try functions
 *    false.
 *
 * The mutex state bits are Go's (mutexLocked 1, mutexStarving 4, waiters
 * from bit 3); the tests read them to see what the mutex went through.
 */
#include "gort_util.h"

enum { MUTEX_LOCKED = 1, MUTEX_STARVING = 4, MUTEX_WAITER_SHIFT = 3 };

static int32_t mutex_state(gort_mutex *mu)
{
	return __atomic_load_n(&mu->state, __ATOMIC_RELAXED);
}

static int32_t mutex_waiters(gort_mutex *mu)
{
	return mutex_state(mu) >> MUTEX_WAITER_SHIFT;
}

/* Yield (a goroutine) or sched_yield (a thread) until cond holds; fail
 * after secs seconds, scaled for sanitizer builds. */
#define WAIT_UNTIL(cond, secs)                                                 \
	do {                                                                   \
		int64_t wait_dl_ = harness_now() +                            \
		                   (int64_t)(harness_timeout(secs) * 1e9);     \
		while (!(cond)) {                                              \
			if (harness_now() > wait_dl_)                          \
				FAILF("timed out waiting until %s", #cond);    \
			gort_gosched();                                        \
		}                                                              \
	} while (0)

/* Let other goroutines run for about ms milliseconds. */
static void settle_ms(int ms)
{
	int64_t until = harness_now() + (int64_t)ms * 1000000;
	while (harness_now() < until)
		gort_gosched();
}

static pthread_t start_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, fn, arg), 0);
	return t;
}

static void atomic_max(atomic_llong *v, long long x)
{
	long long cur = atomic_load(v);
	while (x > cur && !atomic_compare_exchange_weak(v, &cur, x))
		;
}

/* ---------------------------------------------------------------------
 * Mutex: exact counter under contention
 * ------------------------------------------------------------------- */

#define GOROUTINES 100
#define MUTEX_ITERS SCALE(1000)

static gort_mutex cmu;
static long counter;          /* guarded by cmu */
static atomic_int holders;    /* inside the critical section */
static atomic_bool contended; /* a holder saw waiters queued */
static gort_waitgroup cwg;

static void mutex_incr(void *arg)
{
	long id = (long)(intptr_t)arg;
	for (long i = 0; i < MUTEX_ITERS; i++) {
		gort_mutex_lock(&cmu);
		if (atomic_fetch_add(&holders, 1) != 0)
			FAILF("two holders of one mutex");
		long v = counter;
		if ((i + id) % 32 == 0) {
			gort_gosched(); /* hold it across a switch: others queue */
			if (mutex_waiters(&cmu) > 0)
				atomic_store(&contended, true);
		}
		counter = v + 1;
		atomic_fetch_sub(&holders, 1);
		gort_mutex_unlock(&cmu);
	}
	CHECK_EQ(gort_wg_done(&cwg), 0);
}

static void *mutex_incr_thread(void *arg)
{
	mutex_incr(arg);
	return NULL;
}

static void counter_check(long workers)
{
	CHECK_EQ(counter, workers * MUTEX_ITERS);
	CHECK_EQ(mutex_state(&cmu), 0);
	CHECK_EQ(__atomic_load_n(&cmu.sema, __ATOMIC_RELAXED), 0);
}

static int mutex_counter_main(void *arg)
{
	(void)arg;
	counter = 0;
	CHECK_EQ(gort_wg_add(&cwg, GOROUTINES), 0);
	for (int i = 0; i < GOROUTINES; i++)
		CHECK(gort_go(mutex_incr, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&cwg), 0);
	counter_check(GOROUTINES);
	return 0;
}

static void mutex_counter(void)
{
	atomic_store(&contended, false);
	run_main(mutex_counter_main, NULL, 1);
	run_main(mutex_counter_main, NULL, 2);
	run_main(mutex_counter_main, NULL, 4);
	CHECK(atomic_load(&contended)); /* certain at GOMAXPROCS=1 */
}

/* ---------------------------------------------------------------------
 * Mutex: a blocked locker parks its goroutine, not its thread
 * ------------------------------------------------------------------- */

#define BLOCKED 10

static gort_mutex pmu;
static atomic_int bystander_ran;
static atomic_int blocked_got;
static gort_waitgroup pwg;

static void blocked_locker(void *arg)
{
	(void)arg;
	gort_mutex_lock(&pmu);
	atomic_fetch_add(&blocked_got, 1);
	gort_mutex_unlock(&pmu);
	gort_wg_done(&pwg);
}

static void bystander(void *arg)
{
	(void)arg;
	atomic_store(&bystander_ran, 1);
}

static int parks_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_gomaxprocs(0), 1);
	gort_mutex_lock(&pmu);
	CHECK_EQ(gort_wg_add(&pwg, BLOCKED), 0);
	for (int i = 0; i < BLOCKED; i++)
		CHECK(gort_go(blocked_locker, NULL) > 0);
	/* One P: the lockers can all be queued, and main run again, only
	 * if each parked its goroutine instead of blocking the thread. */
	WAIT_UNTIL(mutex_waiters(&pmu) == BLOCKED, 5);
	CHECK(gort_go(bystander, NULL) > 0);
	WAIT_UNTIL(atomic_load(&bystander_ran), 5);
	CHECK_EQ(atomic_load(&blocked_got), 0);
	gort_mutex_unlock(&pmu);
	CHECK_EQ(gort_wg_wait(&pwg), 0);
	CHECK_EQ(atomic_load(&blocked_got), BLOCKED);
	CHECK_EQ(mutex_state(&pmu), 0);
	return 0;
}

MAIN_CASE(mutex_parks, parks_main, 1)

/* ---------------------------------------------------------------------
 * Mutex: trylock
 * ------------------------------------------------------------------- */

static gort_mutex tmu;
static atomic_int try_result;

static void try_other(void *arg)
{
	(void)arg;
	atomic_store(&try_result, gort_mutex_trylock(&tmu) ? 1 : 2);
}

static int trylock_main(void *arg)
{
	(void)arg;
	CHECK(gort_mutex_trylock(&tmu));
	CHECK(gort_go(try_other, NULL) > 0);
	WAIT_UNTIL(atomic_load(&try_result) != 0, 5);
	CHECK_EQ(atomic_load(&try_result), 2); /* held by main */
	gort_mutex_unlock(&tmu);
	atomic_store(&try_result, 0);
	CHECK(gort_go(try_other, NULL) > 0);
	WAIT_UNTIL(atomic_load(&try_result) != 0, 5);
	CHECK_EQ(atomic_load(&try_result), 1); /* taken by the goroutine */
	CHECK(!gort_mutex_trylock(&tmu));
	gort_mutex_unlock(&tmu); /* any goroutine may unlock it */
	CHECK_EQ(mutex_state(&tmu), 0);
	return 0;
}

static void trylock(void)
{
	gort_mutex mu = {0};
	CHECK(gort_mutex_trylock(&mu)); /* no runtime needed */
	CHECK_EQ(mutex_state(&mu), MUTEX_LOCKED);
	CHECK(!gort_mutex_trylock(&mu));
	gort_mutex_unlock(&mu);
	CHECK_EQ(mutex_state(&mu), 0);
	CHECK(gort_mutex_trylock(&mu));
	gort_mutex_unlock(&mu);
	/* Starvation mode: the mutex belongs to the first waiter, even if
	 * the locked bit is clear for a moment. */
	gort_mutex starving = {.state = MUTEX_STARVING | (1 << MUTEX_WAITER_SHIFT)};
	CHECK(!gort_mutex_trylock(&starving));
	CHECK_EQ(mutex_state(&starving), MUTEX_STARVING | (1 << MUTEX_WAITER_SHIFT));
	run_main(trylock_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * Mutex: starvation mode
 * ------------------------------------------------------------------- */

#define STARVE_ROUNDS 10

static gort_mutex smu;
static atomic_bool hog_stop;
static atomic_bool hog_done;
static atomic_bool saw_starving;
static atomic_long hog_iters;
static atomic_int rounds_done;
static atomic_llong worst_wait_ns;
static gort_waitgroup swg;

static void note_starving(void)
{
	if (mutex_state(&smu) & MUTEX_STARVING)
		atomic_store(&saw_starving, true);
}

/* Relocks smu in a loop, holding it 20 us a time. It yields while it
 * holds it, so that at GOMAXPROCS=1 the other goroutine gets to queue
 * for it (and finds it locked); then it watches for starvation mode. */
static void hog(void *arg)
{
	(void)arg;
	int64_t cap = harness_now() + (int64_t)(harness_timeout(5) * 1e9);
	while (!atomic_load(&hog_stop) && harness_now() < cap) {
		gort_mutex_lock(&smu);
		gort_gosched();
		int64_t until = harness_now() + 20000;
		do
			note_starving();
		while (harness_now() < until);
		gort_mutex_unlock(&smu);
		atomic_fetch_add(&hog_iters, 1);
	}
	atomic_store(&hog_done, true);
	gort_wg_done(&swg);
}

/* Takes smu STARVE_ROUNDS times, each time once the hog has gone
 * through two more rounds of its loop (its thread may have been off the
 * CPU a while: the OS is not ours to schedule). Then on, for up to 2 s,
 * until starvation mode has been seen: a round may legitimately end in
 * normal mode, if this goroutine spun and caught the mutex between an
 * unlock and a relock. */
static void starved(void *arg)
{
	(void)arg;
	int64_t more_until = harness_now() + (int64_t)(harness_timeout(2) * 1e9);
	long seen = 0;
	for (int r = 0; r < STARVE_ROUNDS ||
	                (!atomic_load(&saw_starving) && harness_now() < more_until);
	     r++) {
		WAIT_UNTIL(atomic_load(&hog_iters) >= seen + 2 || atomic_load(&hog_done), 5);
		int64_t t0 = harness_now();
		gort_mutex_lock(&smu);
		int64_t waited = harness_now() - t0;
		note_starving();
		gort_mutex_unlock(&smu);
		atomic_max(&worst_wait_ns, waited);
		atomic_fetch_add(&rounds_done, 1);
		seen = atomic_load(&hog_iters);
	}
	atomic_store(&hog_stop, true);
	gort_wg_done(&swg);
}

static int starvation_main(void *arg)
{
	(void)arg;
	atomic_store(&hog_stop, false);
	atomic_store(&hog_done, false);
	atomic_store(&saw_starving, false);
	atomic_store(&hog_iters, 0);
	atomic_store(&rounds_done, 0);
	atomic_store(&worst_wait_ns, 0);
	CHECK_EQ(gort_wg_add(&swg, 2), 0);
	CHECK(gort_go(hog, NULL) > 0);
	CHECK(gort_go(starved, NULL) > 0);
	CHECK_EQ(gort_wg_wait(&swg), 0);
	CHECK(atomic_load(&rounds_done) >= STARVE_ROUNDS);
	double worst_ms = (double)atomic_load(&worst_wait_ns) / 1e6;
	if (worst_ms > harness_timeout(0.25) * 1000)
		FAILF("GOMAXPROCS=%d: a waiter waited %.1f ms for a mutex that "
		      "another goroutine relocks in a loop", gort_gomaxprocs(0),
		      worst_ms);
	if (!atomic_load(&saw_starving))
		FAILF("GOMAXPROCS=%d: the mutex never went into starvation mode",
		      gort_gomaxprocs(0));
	CHECK(atomic_load(&hog_iters) > STARVE_ROUNDS);
	CHECK_EQ(mutex_state(&smu), 0);
	printf("     GOMAXPROCS=%d: %d rounds, longest wait %.2f ms, %ld relocks\n",
	       gort_gomaxprocs(0), atomic_load(&rounds_done), worst_ms,
	       atomic_load(&hog_iters));
	return 0;
}

static void mutex_starvation(void)
{
	run_main(starvation_main, NULL, 1);
	run_main(starvation_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * RWMutex: readers and writers
 * ------------------------------------------------------------------- */

#define RW_WRITER_EVERY 5 /* one goroutine in 5 writes: 20 of 100 */
#define RW_ITERS SCALE(200)

static gort_rwmutex rw;
static long rw_a, rw_b;       /* guarded by rw: writers keep them equal */
static long rw_writes;        /* guarded by rw */
static atomic_int activity;   /* +1 per reader inside, +10000 per writer */
static atomic_llong max_readers;
static atomic_bool saw_writer_pending;
static gort_waitgroup rwg;

static void rw_reader(void *arg)
{
	long id = (long)(intptr_t)arg;
	for (long i = 0; i < RW_ITERS; i++) {
		gort_rwmutex_rlock(&rw);
		int n = atomic_fetch_add(&activity, 1) + 1;
		if (n < 1 || n >= 10000)
			FAILF("a reader beside a writer (activity %d)", n);
		atomic_max(&max_readers, n);
		if (rw_a != rw_b)
			FAILF("a reader saw a half-done write");
		if ((i + id) % 8 == 0) {
			gort_gosched();
			if (__atomic_load_n(&rw.readercount, __ATOMIC_RELAXED) < 0)
				atomic_store(&saw_writer_pending, true);
			if (rw_a != rw_b)
				FAILF("a write happened under a reader");
		}
		atomic_fetch_sub(&activity, 1);
		gort_rwmutex_runlock(&rw);
	}
	gort_wg_done(&rwg);
}

static void rw_writer(void *arg)
{
	long id = (long)(intptr_t)arg;
	for (long i = 0; i < RW_ITERS; i++) {
		gort_rwmutex_lock(&rw);
		int n = atomic_fetch_add(&activity, 10000) + 10000;
		if (n != 10000)
			FAILF("a writer beside others (activity %d)", n);
		rw_a++;
		if ((i + id) % 4 == 0)
			gort_gosched(); /* readers and writers try meanwhile */
		rw_b++;
		rw_writes++;
		atomic_fetch_sub(&activity, 10000);
		gort_rwmutex_unlock(&rw);
	}
	gort_wg_done(&rwg);
}

static int rwmutex_main(void *arg)
{
	(void)arg;
	rw_a = rw_b = rw_writes = 0;
	CHECK_EQ(gort_wg_add(&rwg, GOROUTINES), 0);
	for (int i = 0; i < GOROUTINES; i++) {
		void (*fn)(void *) = i % RW_WRITER_EVERY == 0 ? rw_writer : rw_reader;
		CHECK(gort_go(fn, (void *)(intptr_t)i) > 0);
	}
	CHECK_EQ(gort_wg_wait(&rwg), 0);
	long writers = GOROUTINES / RW_WRITER_EVERY;
	CHECK_EQ(rw_writes, writers * RW_ITERS);
	CHECK_EQ(rw_a, rw_writes);
	CHECK_EQ(rw_b, rw_writes);
	CHECK_EQ(rw.readercount, 0);
	CHECK_EQ(rw.readerwait, 0);
	CHECK_EQ(mutex_state(&rw.w), 0);
	return 0;
}

static void rwmutex_counter(void)
{
	run_main(rwmutex_main, NULL, 1);
	run_main(rwmutex_main, NULL, 2);
	run_main(rwmutex_main, NULL, 4);
	CHECK(atomic_load(&max_readers) > 1);
	CHECK(atomic_load(&saw_writer_pending));
}

/* ---------------------------------------------------------------------
 * RWMutex: readers share it
 * ------------------------------------------------------------------- */

#define SHARE_GOROUTINES 6
#define SHARE_THREADS 2

static gort_rwmutex srw;
static atomic_int sharing;
static gort_waitgroup shwg;

/* Holds the read lock until every reader holds it. */
static void sharer(void *arg)
{
	(void)arg;
	gort_rwmutex_rlock(&srw);
	atomic_fetch_add(&sharing, 1);
	WAIT_UNTIL(atomic_load(&sharing) == SHARE_GOROUTINES + SHARE_THREADS, 10);
	gort_rwmutex_runlock(&srw);
	gort_wg_done(&shwg);
}

static void *sharer_thread(void *arg)
{
	sharer(arg);
	return NULL;
}

static int share_main(void *arg)
{
	(void)arg;
	pthread_t t[SHARE_THREADS];
	CHECK_EQ(gort_wg_add(&shwg, SHARE_GOROUTINES + SHARE_THREADS), 0);
	for (int i = 0; i < SHARE_THREADS; i++)
		t[i] = start_thread(sharer_thread, NULL);
	for (int i = 0; i < SHARE_GOROUTINES; i++)
		CHECK(gort_go(sharer, NULL) > 0);
	CHECK_EQ(gort_wg_wait(&shwg), 0);
	for (int i = 0; i < SHARE_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(srw.readercount, 0);
	return 0;
}

MAIN_CASE(rwmutex_share, share_main, 1)

/* ---------------------------------------------------------------------
 * RWMutex: writer preference
 * ------------------------------------------------------------------- */

static gort_rwmutex prw;
static atomic_int writer_done;
static atomic_int late_reader_in;
static atomic_int late_reader_saw;
static gort_waitgroup prefwg;

static void pref_writer(void *arg)
{
	(void)arg;
	gort_rwmutex_lock(&prw);
	atomic_store(&writer_done, 1);
	gort_rwmutex_unlock(&prw);
	gort_wg_done(&prefwg);
}

static void late_reader(void *arg)
{
	(void)arg;
	gort_rwmutex_rlock(&prw);
	atomic_store(&late_reader_saw, atomic_load(&writer_done));
	atomic_store(&late_reader_in, 1);
	gort_rwmutex_runlock(&prw);
	gort_wg_done(&prefwg);
}

/* Main read-locks prw and starts pref_writer, which waits for it;
 * prefwg counts the writer and n - 1 more. */
static void pending_writer(int n)
{
	atomic_store(&writer_done, 0);
	gort_rwmutex_rlock(&prw);
	CHECK_EQ(gort_wg_add(&prefwg, n), 0);
	CHECK(gort_go(pref_writer, NULL) > 0);
	WAIT_UNTIL(__atomic_load_n(&prw.readercount, __ATOMIC_RELAXED) < 0, 5);
}

static int preference_main(void *arg)
{
	(void)arg;
	atomic_store(&late_reader_in, 0);
	atomic_store(&late_reader_saw, 0);
	pending_writer(2);
	CHECK(gort_go(late_reader, NULL) > 0);
	settle_ms(20);
	CHECK_EQ(atomic_load(&writer_done), 0);    /* it waits for main */
	CHECK_EQ(atomic_load(&late_reader_in), 0); /* kept out by the writer */
	gort_rwmutex_runlock(&prw);
	CHECK_EQ(gort_wg_wait(&prefwg), 0);
	CHECK_EQ(atomic_load(&late_reader_saw), 1);
	CHECK_EQ(prw.readercount, 0);
	CHECK_EQ(mutex_state(&prw.w), 0);
	return 0;
}

static void rwmutex_writer_preference(void)
{
	run_main(preference_main, NULL, 1);
	run_main(preference_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * RWMutex: tryrlock and trylock
 * ------------------------------------------------------------------- */

/* Alone: readers share, a writer excludes everyone. No runtime needed. */
static void try_alone(void)
{
	gort_rwmutex t = {0};
	CHECK(gort_rwmutex_tryrlock(&t));
	CHECK(gort_rwmutex_tryrlock(&t));
	CHECK(!gort_rwmutex_trylock(&t)); /* two readers inside */
	CHECK_EQ(mutex_state(&t.w), 0);  /* w given back */
	gort_rwmutex_runlock(&t);
	CHECK(!gort_rwmutex_trylock(&t)); /* one left */
	gort_rwmutex_runlock(&t);
	CHECK(gort_rwmutex_trylock(&t));
	CHECK(!gort_rwmutex_tryrlock(&t));
	CHECK(!gort_rwmutex_trylock(&t));
	gort_rwmutex_unlock(&t);
	CHECK_EQ(t.readercount, 0);
	CHECK_EQ(mutex_state(&t.w), 0);
	/* What they took, the blocking calls give back, and the reverse. */
	gort_rwmutex_rlock(&t);
	CHECK(gort_rwmutex_tryrlock(&t));
	gort_rwmutex_runlock(&t);
	gort_rwmutex_runlock(&t);
	CHECK(gort_rwmutex_trylock(&t));
	gort_rwmutex_unlock(&t);
	CHECK_EQ(t.readercount, 0);
}

/* A writer waiting for main's read lock: neither may enter. */
static int try_pending_main(void *arg)
{
	(void)arg;
	pending_writer(1);
	CHECK(!gort_rwmutex_tryrlock(&prw)); /* Go's writer preference */
	CHECK(!gort_rwmutex_trylock(&prw));
	gort_rwmutex_runlock(&prw);
	CHECK_EQ(gort_wg_wait(&prefwg), 0);
	CHECK_EQ(atomic_load(&writer_done), 1);
	CHECK_EQ(prw.readercount, 0);
	CHECK_EQ(mutex_state(&prw.w), 0);
	return 0;
}

/* Try-readers and try-writers beside blocking ones: a reader never sees
 * a writer inside, no two writers overlap, and the writes are exact. */
#define TRY_ROUNDS 20000
static gort_rwmutex trw;
static atomic_int try_writers_in;
static long try_writes, try_won;
static atomic_int try_overlap;
static gort_waitgroup trywg;

static void try_worker(void *arg)
{
	int kind = (int)(intptr_t)arg;
	for (int i = 0; i < TRY_ROUNDS; i++) {
		bool write = (i + kind) % 4 == 0;
		bool try = kind % 2 == 0;
		if (write) {
			if (try) {
				if (!gort_rwmutex_trylock(&trw))
					continue;
			} else {
				gort_rwmutex_lock(&trw);
			}
			if (atomic_fetch_add(&try_writers_in, 1) != 0)
				atomic_store(&try_overlap, 1);
			try_writes++;
			try_won += try;
			atomic_fetch_sub(&try_writers_in, 1);
			gort_rwmutex_unlock(&trw);
		} else {
			if (try) {
				if (!gort_rwmutex_tryrlock(&trw))
					continue;
			} else {
				gort_rwmutex_rlock(&trw);
			}
			if (atomic_load(&try_writers_in) != 0)
				atomic_store(&try_overlap, 1);
			gort_rwmutex_runlock(&trw);
		}
		if (i % 64 == 0)
			gort_gosched();
	}
	gort_wg_done(&trywg);
}

static int try_mix_main(void *arg)
{
	(void)arg;
	try_writes = try_won = 0;
	enum { WORKERS = 8 };
	CHECK_EQ(gort_wg_add(&trywg, WORKERS), 0);
	for (int k = 0; k < WORKERS; k++)
		CHECK(gort_go(try_worker, (void *)(intptr_t)k) > 0);
	CHECK_EQ(gort_wg_wait(&trywg), 0);
	CHECK_EQ(atomic_load(&try_overlap), 0);
	CHECK(try_writes >= (long)WORKERS / 2 * TRY_ROUNDS / 4); /* the blocking ones */
	CHECK(try_won > 0);
	CHECK_EQ(trw.readercount, 0);
	CHECK_EQ(mutex_state(&trw.w), 0);
	return 0;
}

static void rwmutex_try(void)
{
	try_alone();
	run_main(try_pending_main, NULL, 2);
	run_main(try_mix_main, NULL, 1);
	run_main(try_mix_main, NULL, 4);
}

/* ---------------------------------------------------------------------
 * Once
 * ------------------------------------------------------------------- */

static gort_once once;
static long once_value;            /* written by fn, read by every caller */
static atomic_int once_runs;
static atomic_bool once_finished;
static atomic_int once_early;      /* callers back before fn finished */
static atomic_int once_overlap;    /* callers that came while fn ran */
static atomic_intptr_t once_arg;
static gort_waitgroup owg;

static void once_fn(void *arg)
{
	atomic_fetch_add(&once_runs, 1);
	atomic_store(&once_arg, (intptr_t)arg);
	for (int i = 0; i < 20; i++)
		gort_gosched(); /* the other callers arrive meanwhile */
	settle_ms(2);
	once_value = 42;
	atomic_store(&once_finished, true);
}

static void once_caller(void *arg)
{
	bool during = atomic_load(&once_runs) == 1 && !atomic_load(&once_finished);
	gort_once_do(&once, once_fn, arg);
	if (!atomic_load(&once_finished))
		atomic_fetch_add(&once_early, 1);
	if (once_value != 42)
		FAILF("a caller of gort_once_do does not see fn's effects");
	if (during)
		atomic_fetch_add(&once_overlap, 1);
	gort_wg_done(&owg);
}

static void *once_caller_thread(void *arg)
{
	once_caller(arg);
	return NULL;
}

static void once_reset(void)
{
	memset(&once, 0, sizeof once);
	once_value = 0;
	atomic_store(&once_runs, 0);
	atomic_store(&once_finished, false);
	atomic_store(&once_early, 0);
	atomic_store(&once_arg, 0);
}

static void once_check(int callers)
{
	CHECK_EQ(atomic_load(&once_runs), 1);
	CHECK_EQ(atomic_load(&once_early), 0);
	intptr_t who = atomic_load(&once_arg);
	CHECK(who >= 1 && who <= callers); /* the arg of the caller that ran it */
	gort_once_do(&once, once_fn, NULL); /* done: fn does not run again */
	CHECK_EQ(atomic_load(&once_runs), 1);
	CHECK_EQ(__atomic_load_n(&once.done, __ATOMIC_RELAXED), 1);
	CHECK_EQ(mutex_state(&once.m), 0);
}

static int once_main(void *arg)
{
	(void)arg;
	once_reset();
	CHECK_EQ(gort_wg_add(&owg, GOROUTINES), 0);
	for (int i = 1; i <= GOROUTINES; i++)
		CHECK(gort_go(once_caller, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&owg), 0);
	once_check(GOROUTINES);
	return 0;
}

static void once_many(void)
{
	atomic_store(&once_overlap, 0);
	run_main(once_main, NULL, 1);
	run_main(once_main, NULL, 4);
	CHECK(atomic_load(&once_overlap) > 0);
}

/* ---------------------------------------------------------------------
 * Cond: signal
 * ------------------------------------------------------------------- */

#define COND_WAITERS 5

static gort_mutex cm;
static gort_cond cc;
static int c_waiting;             /* guarded by cm */
static int c_woken;               /* guarded by cm */
static int c_order[GOROUTINES + 1]; /* guarded by cm: who woke, in order */
static gort_waitgroup ccwg;

static int locked_read(int *v)
{
	gort_mutex_lock(&cm);
	int x = *v;
	gort_mutex_unlock(&cm);
	return x;
}

static void cond_waiter(void *arg)
{
	int id = (int)(intptr_t)arg;
	gort_mutex_lock(&cm);
	c_waiting++;
	gort_cond_wait(&cc, &cm);
	c_order[c_woken++] = id;
	gort_mutex_unlock(&cm);
	gort_wg_done(&ccwg);
}

static void *cond_waiter_thread(void *arg)
{
	cond_waiter(arg);
	return NULL;
}

static void cond_reset(void)
{
	memset(&cc, 0, sizeof cc);
	c_waiting = c_woken = 0;
}

static int signal_main(void *arg)
{
	(void)arg;
	cond_reset();
	for (int i = 0; i < 3; i++)
		gort_cond_signal(&cc); /* nobody waits: not remembered */
	CHECK_EQ(gort_wg_add(&ccwg, COND_WAITERS), 0);
	/* One at a time, so that their tickets are in order 0, 1, ... */
	for (int i = 0; i < COND_WAITERS; i++) {
		CHECK(gort_go(cond_waiter, (void *)(intptr_t)i) > 0);
		WAIT_UNTIL(locked_read(&c_waiting) == i + 1, 5);
	}
	settle_ms(10);
	CHECK_EQ(locked_read(&c_woken), 0);
	for (int k = 0; k < COND_WAITERS; k++) {
		gort_cond_signal(&cc);
		WAIT_UNTIL(locked_read(&c_woken) == k + 1, 5);
		settle_ms(10); /* a second wake-up would show now */
		CHECK_EQ(locked_read(&c_woken), k + 1);
		CHECK_EQ(locked_read(&c_order[k]), k); /* the longest waiter */
	}
	CHECK_EQ(gort_wg_wait(&ccwg), 0);
	return 0;
}

static void cond_signal(void)
{
	run_main(signal_main, NULL, 1);
	run_main(signal_main, NULL, 4);
}

/* ---------------------------------------------------------------------
 * Cond: broadcast
 * ------------------------------------------------------------------- */

static int broadcast_main(void *arg)
{
	(void)arg;
	cond_reset();
	CHECK_EQ(gort_wg_add(&ccwg, GOROUTINES + 1), 0);
	for (int i = 0; i < GOROUTINES; i++)
		CHECK(gort_go(cond_waiter, (void *)(intptr_t)i) > 0);
	WAIT_UNTIL(locked_read(&c_waiting) == GOROUTINES, 10);
	settle_ms(5);
	CHECK_EQ(locked_read(&c_woken), 0);
	gort_cond_broadcast(&cc);
	WAIT_UNTIL(locked_read(&c_woken) == GOROUTINES, 10);
	/* A waiter that comes after the broadcast is not woken by it. */
	CHECK(gort_go(cond_waiter, (void *)(intptr_t)GOROUTINES) > 0);
	WAIT_UNTIL(locked_read(&c_waiting) == GOROUTINES + 1, 5);
	settle_ms(10);
	CHECK_EQ(locked_read(&c_woken), GOROUTINES);
	gort_cond_broadcast(&cc);
	CHECK_EQ(gort_wg_wait(&ccwg), 0);
	CHECK_EQ(c_woken, GOROUTINES + 1);
	CHECK(cc.head == NULL && cc.tail == NULL);
	CHECK_EQ(cc.wait, cc.notify);
	return 0;
}

static void cond_broadcast(void)
{
	run_main(broadcast_main, NULL, 1);
	run_main(broadcast_main, NULL, 4);
}

/* ---------------------------------------------------------------------
 * Cond: waiters abandoned by an earlier run
 * ------------------------------------------------------------------- */

/*
 * Goroutines still waiting on a cond when main returns are abandoned and
 * their stacks released. The cond outlives the run: the next run's
 * signal must reach its own waiter (not a ticket of an abandoned one),
 * and neither signal, broadcast nor a new wait may touch the abandoned
 * waiters' records.
 */
#define LEFT_WAITERS 3

static int leave_cond_waiters_main(void *arg)
{
	(void)arg;
	cond_reset();
	for (int i = 0; i < LEFT_WAITERS; i++)
		CHECK(gort_go(cond_waiter, (void *)(intptr_t)i) > 0);
	WAIT_UNTIL(locked_read(&c_waiting) == LEFT_WAITERS, 5);
	settle_ms(10); /* parked in the cond, past the mutex */
	return 0;      /* they stay there */
}

static int reuse_cond_main(void *arg)
{
	(void)arg;
	c_waiting = c_woken = 0;
	CHECK_EQ(gort_wg_add(&ccwg, 2), 0);
	CHECK(gort_go(cond_waiter, (void *)(intptr_t)10) > 0);
	WAIT_UNTIL(locked_read(&c_waiting) == 1, 5);
	settle_ms(10);
	gort_cond_signal(&cc);
	WAIT_UNTIL(locked_read(&c_woken) == 1, 5);
	CHECK_EQ(locked_read(&c_order[0]), 10);
	CHECK(gort_go(cond_waiter, (void *)(intptr_t)11) > 0);
	WAIT_UNTIL(locked_read(&c_waiting) == 2, 5);
	settle_ms(10);
	gort_cond_broadcast(&cc);
	CHECK_EQ(gort_wg_wait(&ccwg), 0);
	CHECK_EQ(c_order[1], 11);
	CHECK(cc.head == NULL && cc.tail == NULL);
	CHECK_EQ(cc.wait, cc.notify);
	return 0;
}

static void cond_outlives_run(void)
{
	run_main(leave_cond_waiters_main, NULL, 2);
	/* No runtime: a plain thread's signal reaches none of them. */
	gort_cond_signal(&cc);
	run_main(reuse_cond_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * Plain threads beside goroutines
 * ------------------------------------------------------------------- */

#define MIX_THREADS 4
#define MIX_GOROUTINES 50

/* The main goroutine signals one waiter, then broadcasts from a plain
 * thread: the waiters are both goroutines and threads. */
static void *broadcaster_thread(void *arg)
{
	(void)arg;
	gort_cond_broadcast(&cc);
	return NULL;
}

static void mixed_cond(void)
{
	enum { CG = 6, CT = 2 };
	pthread_t t[CT];
	cond_reset();
	CHECK_EQ(gort_wg_add(&ccwg, CG + CT), 0);
	for (int i = 0; i < CT; i++)
		t[i] = start_thread(cond_waiter_thread, (void *)(intptr_t)i);
	for (int i = CT; i < CG + CT; i++)
		CHECK(gort_go(cond_waiter, (void *)(intptr_t)i) > 0);
	WAIT_UNTIL(locked_read(&c_waiting) == CG + CT, 10);
	gort_cond_signal(&cc);
	WAIT_UNTIL(locked_read(&c_woken) == 1, 5);
	pthread_t b = start_thread(broadcaster_thread, NULL);
	CHECK_EQ(pthread_join(b, NULL), 0);
	CHECK_EQ(gort_wg_wait(&ccwg), 0);
	CHECK_EQ(c_woken, CG + CT);
	for (int i = 0; i < CT; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
}

static int mixed_main(void *arg)
{
	(void)arg;
	pthread_t t[MIX_THREADS];

	counter = 0;
	CHECK_EQ(gort_wg_add(&cwg, MIX_THREADS + MIX_GOROUTINES), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		t[i] = start_thread(mutex_incr_thread, (void *)(intptr_t)i);
	for (int i = 0; i < MIX_GOROUTINES; i++)
		CHECK(gort_go(mutex_incr, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&cwg), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	counter_check(MIX_THREADS + MIX_GOROUTINES);

	once_reset();
	CHECK_EQ(gort_wg_add(&owg, MIX_THREADS + MIX_GOROUTINES), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		t[i] = start_thread(once_caller_thread, (void *)(intptr_t)(i + 1));
	for (int i = MIX_THREADS; i < MIX_THREADS + MIX_GOROUTINES; i++)
		CHECK(gort_go(once_caller, (void *)(intptr_t)(i + 1)) > 0);
	CHECK_EQ(gort_wg_wait(&owg), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	once_check(MIX_THREADS + MIX_GOROUTINES);

	mixed_cond();
	return 0;
}

/* With no runtime at all, the objects still work between threads. */
static void threads_only(void)
{
	pthread_t t[MIX_THREADS];
	counter = 0;
	CHECK_EQ(gort_wg_add(&cwg, MIX_THREADS), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		t[i] = start_thread(mutex_incr_thread, (void *)(intptr_t)i);
	CHECK_EQ(gort_wg_wait(&cwg), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(counter, MIX_THREADS * MUTEX_ITERS);
	CHECK_EQ(mutex_state(&cmu), 0);

	once_reset();
	CHECK_EQ(gort_wg_add(&owg, MIX_THREADS), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		t[i] = start_thread(once_caller_thread, (void *)(intptr_t)(i + 1));
	for (int i = 0; i < MIX_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	once_check(MIX_THREADS);

	cond_reset();
	CHECK_EQ(gort_wg_add(&ccwg, MIX_THREADS), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		t[i] = start_thread(cond_waiter_thread, (void *)(intptr_t)i);
	WAIT_UNTIL(locked_read(&c_waiting) == MIX_THREADS, 10);
	gort_cond_signal(&cc);
	WAIT_UNTIL(locked_read(&c_woken) == 1, 5);
	gort_cond_broadcast(&cc);
	for (int i = 0; i < MIX_THREADS; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(c_woken, MIX_THREADS);
}

static void plain_threads(void)
{
	run_main(mixed_main, NULL, 2);
	threads_only();
}

/*
 * A plain thread keeps broadcasting while run after run ends with
 * goroutines waiting on the cond. A broadcast that finds them while the
 * run ends readies them: teardown, which frees the goroutines and the
 * scheduler, must wait for that call to finish.
 */
#define ACROSS_RUNS SCALE(300)

static gort_mutex across_mu[ACROSS_RUNS]; /* one a run: one may stay held */
static gort_cond across_cv;
static atomic_bool across_stop;

static void *across_waker(void *arg)
{
	(void)arg;
	while (!atomic_load(&across_stop))
		gort_cond_broadcast(&across_cv);
	return NULL;
}

static void across_waiter(void *arg)
{
	gort_mutex *mu = arg;
	gort_mutex_lock(mu);
	for (;;)
		gort_cond_wait(&across_cv, mu);
}

static int across_main(void *arg)
{
	for (int i = 0; i < 4; i++)
		CHECK(gort_go(across_waiter, arg) > 1);
	gort_sleep(200000);
	return 0; /* they stay in the cond */
}

static void plain_waker_across_runs(void)
{
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, across_waker, NULL), 0);
	for (int i = 0; i < ACROSS_RUNS; i++) {
		gort_gomaxprocs(2);
		CHECK_EQ(gort_main(across_main, &across_mu[i]), 0);
	}
	atomic_store(&across_stop, true);
	CHECK_EQ(pthread_join(th, NULL), 0);
}

/* ---------------------------------------------------------------------
 * Fatal errors
 * ------------------------------------------------------------------- */

static struct child_result res;

static void must_die(const char *mode, const char *message)
{
	char *argv[] = {"syncfatal", (char *)mode, NULL};
	run_child_prog("syncfatal", argv, harness_timeout(20), &res);
	if (res.timed_out || !res.exited || res.status != 2 ||
	    strstr(res.output, message) == NULL ||
	    strstr(res.output, "syncfatal: survived") != NULL) {
		harness_describe(mode, &res);
		FAILF("syncfatal %s: want exit status 2 and \"%s\"", mode, message);
	}
	printf("     %s: exit status 2, \"%s\"\n", mode, message);
}

static void fatal_errors(void)
{
	must_die("unlock", "fatal error: sync: unlock of unlocked mutex");
	must_die("unlock_twice", "fatal error: sync: unlock of unlocked mutex");
	must_die("unlock_thread", "fatal error: sync: unlock of unlocked mutex");
	must_die("runlock", "fatal error: sync: RUnlock of unlocked RWMutex");
	must_die("rwunlock", "fatal error: sync: Unlock of unlocked RWMutex");
	/* With GODEBUG=scheddetail=1, the detailed scheduler report follows
	 * the message, as Go's startpanic_m prints it. */
	CHECK_EQ(setenv("GODEBUG", "scheddetail=1", 1), 0);
	must_die("unlock", "fatal error: sync: unlock of unlocked mutex");
	CHECK_EQ(unsetenv("GODEBUG"), 0);
	const char *msg = strstr(res.output, "fatal error: sync: unlock");
	if (!msg || !strstr(msg, "\nSCHED ") || !strstr(msg, " gcwaiting=") ||
	    !strstr(msg, "  P0: status=")) {
		harness_describe("unlock scheddetail=1", &res);
		FAILF("a fatal error with GODEBUG=scheddetail=1 printed no detailed "
		      "SCHED report after its message");
	}
	if (harness_emulated()) {
		/* The emulator's own threads keep checkdead from firing. */
		printf("     deadlock: skipped under the emulator\n");
		return;
	}
	must_die("deadlock", "fatal error: all goroutines are asleep - deadlock!");
	CHECK(strstr(res.output, "goroutine 1 [sync.Mutex.Lock") != NULL);
}

/* Several goroutines hit the same fatal misuse at once, on every P: one
 * report comes out, whole. Each thread used to print its own, their
 * bytes interleaved ("fatal error: fatal error: sync: unlock...").
 * Tried a few times: the goroutines must be running at once to race
 * (fewer under a sanitizer, whose exit alone takes a second). */
static void fatal_once(void)
{
	for (int i = 0; i < (HARNESS_SANITIZED ? 4 : 20); i++) {
		must_die("unlock_many", "fatal error: sync: unlock of unlocked mutex");
		const char *first = strstr(res.output, "fatal error:");
		if (strstr(first + 1, "fatal error:") != NULL) {
			harness_describe("unlock_many", &res);
			FAILF("unlock_many: more than one fatal report (run %d)", i);
		}
	}
}

/* ---------------------------------------------------------------------
 * NULL arguments
 * ------------------------------------------------------------------- */

static atomic_int null_fn_ran;

static void null_fn(void *arg)
{
	(void)arg;
	atomic_fetch_add(&null_fn_ran, 1);
}

#define CHECK_EINVAL(call)                                                     \
	do {                                                                   \
		errno = 0;                                                     \
		call;                                                          \
		CHECK_EQ(errno, EINVAL);                                       \
	} while (0)

static void null_calls(void)
{
	gort_mutex mu = {0};
	gort_cond c = {0};
	gort_once o = {0};
	CHECK_EINVAL(gort_mutex_lock(NULL));
	CHECK_EINVAL(gort_mutex_unlock(NULL));
	errno = 0;
	CHECK(!gort_mutex_trylock(NULL));
	CHECK_EQ(errno, EINVAL);
	CHECK_EINVAL(gort_rwmutex_rlock(NULL));
	CHECK_EINVAL(gort_rwmutex_runlock(NULL));
	CHECK_EINVAL(gort_rwmutex_lock(NULL));
	CHECK_EINVAL(gort_rwmutex_unlock(NULL));
	errno = 0;
	CHECK(!gort_rwmutex_tryrlock(NULL));
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(!gort_rwmutex_trylock(NULL));
	CHECK_EQ(errno, EINVAL);
	CHECK_EINVAL(gort_once_do(NULL, null_fn, NULL));
	CHECK_EINVAL(gort_once_do(&o, NULL, NULL));
	CHECK_EINVAL(gort_cond_wait(NULL, &mu));
	CHECK_EINVAL(gort_cond_wait(&c, NULL));
	CHECK_EINVAL(gort_cond_signal(NULL));
	CHECK_EINVAL(gort_cond_broadcast(NULL));
	/* Nothing was done to the objects passed beside a NULL. */
	CHECK_EQ(mutex_state(&mu), 0);
	CHECK_EQ(o.done, 0);
	CHECK_EQ(c.wait, 0);
	CHECK_EQ(atomic_load(&null_fn_ran), 0);
	gort_once_do(&o, null_fn, NULL);
	CHECK_EQ(atomic_load(&null_fn_ran), 1);
	atomic_store(&null_fn_ran, 0);
}

static int null_main(void *arg)
{
	(void)arg;
	null_calls();
	return 0;
}

static void null_args(void)
{
	null_calls();
	run_main(null_main, NULL, 1);
}

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"mutex_counter", mutex_counter},
		{"mutex_parks", mutex_parks},
		{"trylock", trylock},
		{"mutex_starvation", mutex_starvation},
		{"rwmutex_counter", rwmutex_counter},
		{"rwmutex_share", rwmutex_share},
		{"rwmutex_writer_preference", rwmutex_writer_preference},
		{"rwmutex_try", rwmutex_try},
		{"once_many", once_many},
		{"cond_signal", cond_signal},
		{"cond_broadcast", cond_broadcast},
		{"cond_outlives_run", cond_outlives_run},
		{"plain_threads", plain_threads},
		{"plain_waker_across_runs", plain_waker_across_runs},
		{"fatal_errors", fatal_errors},
		{"fatal_once", fatal_once},
		{"null_args", null_args},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 60);
	PASS("sync_test");
	return 0;
}
