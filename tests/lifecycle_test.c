/*
 * lifecycle_test proves gort_main's lifecycle contract:
 *  - gort_main can run many times in one process, each run spawning
 *    goroutines, and returns the main function's result each time;
 *  - gort_main while the runtime runs fails with -1/EBUSY, from the main
 *    goroutine, from another goroutine and from a plain thread;
 *  - gort_main(NULL, ...) fails with -1/EINVAL;
 *  - goroutines still alive (parked or runnable) when main returns are
 *    abandoned: gort_main returns anyway, they never run again, and the
 *    next gort_main starts clean (only its main goroutine exists);
 *  - a plain thread still blocked when main returns, on an unbuffered
 *    send, a receive, a select, gort_mutex_lock, gort_wg_wait or
 *    gort_cond_wait, between two goroutines blocked on the same object
 *    (abandoned), stays blocked, and is woken with the right value or
 *    result by the next run's main goroutine, or by the test's own
 *    thread between runs; the abandoned goroutines are not: a sender's
 *    value does not arrive, a receiver takes none, and the channels are
 *    freed with no waiter and no select left on them; on many
 *    semaphores of one root, each release wakes its own plain thread;
 *    a plain select woken as runs end, again and again, gets every value
 *    sent to it once, and leaves no count of itself on its channels.
 */
#include "gort_util.h"

#include <sys/syscall.h>

/* ---------------------------------------------------------------------
 * Repeated runs.
 * ------------------------------------------------------------------- */

#define RUNS 6
#define PER_RUN SCALE(1000)

static atomic_long counted;
static gort_waitgroup run_wg;

static void count_one(void *arg)
{
	(void)arg;
	atomic_fetch_add(&counted, 1);
	gort_wg_done(&run_wg);
}

static int counting_main(void *arg)
{
	int run = (int)(intptr_t)arg;
	CHECK_EQ(gort_goid(), 1);
	CHECK_EQ(gort_numgoroutine(), 1);
	CHECK_EQ(gort_wg_add(&run_wg, PER_RUN), 0);
	for (int i = 0; i < PER_RUN; i++)
		CHECK(gort_go(count_one, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&run_wg), 0);
	wait_only_main();
	return 1000 + run;
}

static void many_runs(void)
{
	int procs[RUNS] = {1, 2, 1, 3, 2, 1};
	for (int run = 0; run < RUNS; run++) {
		gort_gomaxprocs(procs[run]);
		CHECK_EQ(gort_main(counting_main, (void *)(intptr_t)run), 1000 + run);
		CHECK_EQ(atomic_load(&counted), (long)(run + 1) * PER_RUN);
		CHECK_EQ(gort_goid(), 0);
	}
}

/* ---------------------------------------------------------------------
 * EBUSY and EINVAL.
 * ------------------------------------------------------------------- */

static atomic_int inner_ran;
static gort_waitgroup busy_wg;

static int inner_main(void *arg)
{
	(void)arg;
	atomic_fetch_add(&inner_ran, 1);
	return 5;
}

static void busy_from_goroutine(void *arg)
{
	(void)arg;
	CHECK_ERRNO(gort_main(inner_main, NULL), EBUSY);
	gort_wg_done(&busy_wg);
}

static void *busy_from_thread(void *arg)
{
	(void)arg;
	CHECK_ERRNO(gort_main(inner_main, NULL), EBUSY);
	gort_wg_done(&busy_wg);
	return NULL;
}

static int busy_main(void *arg)
{
	(void)arg;
	CHECK_ERRNO(gort_main(inner_main, NULL), EBUSY);
	CHECK_EQ(gort_wg_add(&busy_wg, 2), 0);
	CHECK(gort_go(busy_from_goroutine, NULL) > 1);
	pthread_t tid;
	CHECK_EQ(pthread_create(&tid, NULL, busy_from_thread, NULL), 0);
	CHECK_EQ(gort_wg_wait(&busy_wg), 0);
	CHECK_EQ(pthread_join(tid, NULL), 0);
	return 3;
}

static void busy_and_invalid(void)
{
	CHECK_ERRNO(gort_main(NULL, NULL), EINVAL);
	CHECK_EQ(gort_main(busy_main, NULL), 3);
	CHECK_EQ(atomic_load(&inner_ran), 0);
	/* Neither failure broke the runtime for the next run. */
	CHECK_EQ(gort_main(inner_main, NULL), 5);
	CHECK_EQ(atomic_load(&inner_ran), 1);
}

/* ---------------------------------------------------------------------
 * Abandoned goroutines.
 * ------------------------------------------------------------------- */

#define PARKED 100
#define SPINNERS 4

static gort_waitgroup never;      /* counter 1, never released */
static gort_waitgroup parked_wg;  /* main waits until all are parked */
static atomic_long spins;         /* spinners bump it forever */
static atomic_int past_gate;

static void parked_forever(void *arg)
{
	(void)arg;
	gort_wg_done(&parked_wg);
	gort_wg_wait(&never);
	atomic_fetch_add(&past_gate, 1);
}

static void spin_forever(void *arg)
{
	(void)arg;
	for (;;) {
		atomic_fetch_add(&spins, 1);
		gort_gosched();
	}
}

static int abandon_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&never, 1), 0);
	CHECK_EQ(gort_wg_add(&parked_wg, PARKED), 0);
	for (int i = 0; i < PARKED; i++)
		CHECK(gort_go(parked_forever, NULL) > 1);
	for (int i = 0; i < SPINNERS; i++)
		CHECK(gort_go(spin_forever, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&parked_wg), 0);
	while (atomic_load(&spins) < 1000)
		gort_gosched();
	CHECK_EQ(gort_numgoroutine(), 1 + PARKED + SPINNERS);
	return 42;
}

static int fresh_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_numgoroutine(), 1);
	return 43;
}

static void abandoned(void)
{
	for (int procs = 1; procs <= 2; procs++) {
		gort_gomaxprocs(procs);
		CHECK_EQ(gort_main(abandon_main, NULL), 42);
		/* Every runtime thread has stopped: the spinners are frozen. */
		long before = atomic_load(&spins);
		harness_sleep_ms(50);
		CHECK_EQ(atomic_load(&spins), before);
		CHECK_EQ(atomic_load(&past_gate), 0);
		CHECK_EQ(gort_main(fresh_main, NULL), 43);
		CHECK_EQ(atomic_load(&spins), before);
		/* The next run may reuse the waitgroups from zero. */
		memset(&never, 0, sizeof(never));
		memset(&parked_wg, 0, sizeof(parked_wg));
		atomic_store(&spins, 0);
	}
}

/* ---------------------------------------------------------------------
 * Plain threads reading the counters while runs start and end: a read
 * must never meet a runtime being torn down.
 * ------------------------------------------------------------------- */

static atomic_int readers_stop;

static void *counter_reader(void *arg)
{
	(void)arg;
	gort_stats st;
	while (!atomic_load(&readers_stop)) {
		int64_t n = gort_numgoroutine();
		CHECK(n >= 0);
		CHECK_EQ(gort_read_stats(&st), 0);
	}
	return NULL;
}

static void nop(void *arg)
{
	(void)arg;
}

static int short_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		CHECK(gort_go(nop, NULL) > 1);
	return 2;
}

static void counters_across_teardown(void)
{
	pthread_t tid[2];
	gort_gomaxprocs(2);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&tid[i], NULL, counter_reader, NULL), 0);
	for (int run = 0; run < SCALE(200); run++)
		CHECK_EQ(gort_main(short_main, NULL), 2);
	atomic_store(&readers_stop, 1);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(tid[i], NULL), 0);
}

/* ---------------------------------------------------------------------
 * A plain thread blocked when main returns, beside abandoned goroutines.
 * ------------------------------------------------------------------- */

/* What the waiters exchange: large enough that a value copied in part
 * shows, each waiter's own (who: 0 the plain thread, 1 and 2 the
 * goroutines, more the completer). */
struct blob {
	long v[4];
};

static struct blob blob_of(int who)
{
	struct blob b;
	for (int i = 0; i < 4; i++)
		b.v[i] = 1000L * who + i + 1;
	return b;
}

static bool blob_is(const struct blob *b, int who)
{
	struct blob want = blob_of(who);
	return memcmp(b, &want, sizeof want) == 0;
}

/*
 * One object, one operation on it. Run 1: prepare (main), a goroutine
 * blocks in block(1), the plain thread in block(0), a second goroutine in
 * block(2), so that the plain thread's wait record lies between two that
 * are abandoned; leave(), if any, then completes the first goroutine's
 * operation, which may or may not run before the run ends (a select woken
 * and not yet run: its other case is still queued, and counted in its
 * channel's selrefs); main returns. Then complete(), from the next run's main
 * or from the test's thread between runs, must wake the plain thread,
 * and finish() checks what it got and frees the objects. complete() uses
 * no call that could block: without the plain thread it fails at once.
 */
struct across {
	const char *reason; /* the goroutines' wait reason in a dump */
	void (*setup)(void);
	void (*prepare)(void);
	int (*block)(int who);
	void (*complete)(void);
	void (*finish)(int result);
	void (*leave)(void);
};

static struct {
	gort_chan *c1, *c2;
	gort_mutex mu;
	gort_waitgroup wg;
	gort_cond cv;
	int signalled;        /* cond: set under mu before the signal */
	struct blob got;      /* what the plain thread received */
	atomic_int tid;       /* the plain thread's, once it started */
	atomic_int done;      /* the plain thread's operation returned */
	int result;           /* what it returned */
} acr;

static const struct across *across_op;
static pthread_t across_thread;

static void *across_plain(void *arg)
{
	(void)arg;
	atomic_store(&acr.tid, (int)syscall(SYS_gettid));
	acr.result = across_op->block(0);
	atomic_store(&acr.done, 1);
	return NULL;
}

static void across_goroutine(void *who)
{
	across_op->block((int)(intptr_t)who);
	if ((intptr_t)who != 1 || !across_op->leave)
		FAILF("a goroutine abandoned when main returned woke up");
}

/* Whether thread tid sleeps in futex(2), where the runtime's waits for
 * a plain thread end (a note); unknown (true) where /proc says nothing,
 * and under an emulator, where it shows the emulator's own calls. */
static bool asleep_in_futex(int tid)
{
	if (harness_emulated())
		return true;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	long nr = -1;
	int n = fscanf(f, "%ld", &nr);
	fclose(f);
	return n != 1 || nr == SYS_futex;
}

/* From main (a goroutine): wait until the plain thread whose id will be
 * in *tidp sleeps, twice 20 ms apart (a short futex wait on a lock on
 * its way in looks the same once). */
static void wait_plain_asleep(atomic_int *tidp)
{
	int64_t deadline = gort_nanotime() + (int64_t)(harness_timeout(10) * 1e9);
	int tid;
	while ((tid = atomic_load(tidp)) == 0 || !asleep_in_futex(tid)) {
		if (gort_nanotime() > deadline)
			FAILF("waited 10 s for a plain thread to block");
		gort_sleep(MS);
	}
	/* Under an emulator only time tells: ten times as much. */
	gort_sleep(harness_emulated() ? 200 * MS : 20 * MS);
	CHECK(asleep_in_futex(tid));
}

static void start_blocked_goroutine(int who)
{
	int64_t goid = gort_go(across_goroutine, (void *)(intptr_t)who);
	CHECK(goid > 1);
	wait_parked(goid, across_op->reason);
}

static int across_block_main(void *arg)
{
	(void)arg;
	if (across_op->prepare)
		across_op->prepare();
	start_blocked_goroutine(1);
	CHECK_EQ(pthread_create(&across_thread, NULL, across_plain, NULL), 0);
	wait_plain_asleep(&acr.tid);
	CHECK_EQ(atomic_load(&acr.done), 0);
	start_blocked_goroutine(2);
	if (across_op->leave)
		across_op->leave();
	return 0; /* the others stay blocked */
}

static int across_complete_main(void *arg)
{
	(void)arg;
	across_op->complete();
	return 0;
}

/* The plain thread is woken by complete(): wait for it (bounded), then
 * join it. */
static void join_plain(void)
{
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
	while (!atomic_load(&acr.done)) {
		if (harness_now() > deadline)
			FAILF("the plain thread was not woken (%s)", across_op->reason);
		harness_sleep_ms(1);
	}
	CHECK_EQ(pthread_join(across_thread, NULL), 0);
}

static void blocked_across_runs(const struct across *a)
{
	across_op = a;
	for (int between = 0; between <= 1; between++) {
		memset(&acr, 0, sizeof acr);
		a->setup();
		run_main(across_block_main, NULL, 2);
		harness_sleep_ms(20);
		CHECK_EQ(atomic_load(&acr.done), 0); /* still blocked */
		if (between)
			a->complete();
		else
			run_main(across_complete_main, NULL, 2);
		join_plain();
		a->finish(acr.result);
	}
}

/* ---- channels ---- */

static void chans_setup(void)
{
	acr.c1 = make_chan(sizeof(struct blob), 0);
	acr.c2 = make_chan(sizeof(struct blob), 0);
}

/* Freed by a plain thread: with a waiter left it would be a fatal
 * error, with a select counted in selrefs a wait with no end. */
static void chans_free(void)
{
	gort_chan_free(acr.c1);
	gort_chan_free(acr.c2);
}

static int send_block(int who)
{
	struct blob b = blob_of(who);
	return gort_chan_send(acr.c1, &b);
}

static void send_complete(void)
{
	struct blob b = {{0}};
	CHECK_EQ(gort_chan_try_recv(acr.c1, &b), 1);
	CHECK(blob_is(&b, 0)); /* the plain thread's value, whole */
}

static void send_finish(int result)
{
	CHECK_EQ(result, 0);
	struct blob b;
	CHECK_ERRNO(gort_chan_try_recv(acr.c1, &b), EAGAIN); /* no goroutine's */
	chans_free();
}

static int recv_block(int who)
{
	struct blob b = {{0}};
	int r = gort_chan_recv(acr.c1, &b);
	if (who == 0)
		acr.got = b;
	return r;
}

static void recv_complete(void)
{
	struct blob b = blob_of(3);
	CHECK_EQ(gort_chan_try_send(acr.c1, &b), 0);
}

static void recv_finish(int result)
{
	CHECK_EQ(result, 1);
	CHECK(blob_is(&acr.got, 3));
	struct blob b = blob_of(4);
	CHECK_ERRNO(gort_chan_try_send(acr.c1, &b), EAGAIN); /* no goroutine */
	chans_free();
}

/* A receive on c1 or a send on c2; the receive completes it. */
static int select_block(int who)
{
	struct blob in = {{0}}, out = blob_of(who);
	gort_case cs[2] = {
		{.chan = acr.c1, .dir = GORT_RECV, .elem = &in},
		{.chan = acr.c2, .dir = GORT_SEND, .elem = &out},
	};
	int k = gort_select(cs, 2, true);
	if (who == 0)
		acr.got = in;
	return k;
}

static void select_finish(int result)
{
	CHECK_EQ(result, 0);
	CHECK(blob_is(&acr.got, 3));
	struct blob b;
	CHECK_ERRNO(gort_chan_try_recv(acr.c2, &b), EAGAIN); /* no sender left */
	chans_free();
}

/* The first goroutine's select sends, the two others are still queued. */
static void select_leave(void)
{
	struct blob b = {{0}};
	CHECK_EQ(gort_chan_try_recv(acr.c2, &b), 1);
	CHECK(blob_is(&b, 1));
}

static const struct across across_send = {
	.reason = "chan send", .setup = chans_setup, .block = send_block,
	.complete = send_complete, .finish = send_finish};
static const struct across across_recv = {
	.reason = "chan receive", .setup = chans_setup, .block = recv_block,
	.complete = recv_complete, .finish = recv_finish};
static const struct across across_select = {
	.reason = "select", .setup = chans_setup, .block = select_block,
	.complete = recv_complete, .finish = select_finish, .leave = select_leave};

/* ---- sync ---- */

static void sync_setup(void)
{
	memset(&acr.mu, 0, sizeof acr.mu);
	memset(&acr.wg, 0, sizeof acr.wg);
	memset(&acr.cv, 0, sizeof acr.cv);
}

/* Run 1's main holds the mutex and returns with it held. */
static void mutex_prepare(void)
{
	gort_mutex_lock(&acr.mu);
}

static int mutex_block(int who)
{
	gort_mutex_lock(&acr.mu);
	if (who == 0)
		gort_mutex_unlock(&acr.mu);
	return 0;
}

static void mutex_complete(void)
{
	gort_mutex_unlock(&acr.mu);
}

static void mutex_finish(int result)
{
	CHECK_EQ(result, 0);
	CHECK(gort_mutex_trylock(&acr.mu)); /* the plain thread let go */
	gort_mutex_unlock(&acr.mu);
}

static void wg_prepare(void)
{
	CHECK_EQ(gort_wg_add(&acr.wg, 1), 0);
}

static int wg_block(int who)
{
	(void)who;
	return gort_wg_wait(&acr.wg);
}

static void wg_complete(void)
{
	CHECK_EQ(gort_wg_done(&acr.wg), 0);
}

static void result_is_zero(int result)
{
	CHECK_EQ(result, 0);
}

/* The result: whether the waiter woke to the signal (signalled). */
static int cond_block(int who)
{
	(void)who;
	gort_mutex_lock(&acr.mu);
	gort_cond_wait(&acr.cv, &acr.mu);
	int r = acr.signalled;
	gort_mutex_unlock(&acr.mu);
	return r;
}

/* One signal: it must go to the plain thread, not to an abandoned
 * goroutine's ticket. */
static void cond_complete(void)
{
	gort_mutex_lock(&acr.mu);
	acr.signalled = 1;
	gort_cond_signal(&acr.cv);
	gort_mutex_unlock(&acr.mu);
}

static void cond_finish(int result)
{
	CHECK_EQ(result, 1);
}

static const struct across across_mutex = {
	.reason = "sync.Mutex.Lock", .setup = sync_setup, .prepare = mutex_prepare,
	.block = mutex_block, .complete = mutex_complete, .finish = mutex_finish};
static const struct across across_wg = {
	.reason = "semacquire", .setup = sync_setup, .prepare = wg_prepare,
	.block = wg_block, .complete = wg_complete, .finish = result_is_zero};
static const struct across across_cond = {
	.reason = "sync.Cond.Wait", .setup = sync_setup, .block = cond_block,
	.complete = cond_complete, .finish = cond_finish};

/* ---- many semaphores in one root ---- */

/*
 * The semaphore table is rebuilt at teardown with its plain waiters
 * only. Waitgroups 2008 bytes apart (251 roots of 8 bytes: sema.c's
 * hash) put every address in one root, so that its treap holds them all:
 * on each of SEMA_PLAIN waitgroups a goroutine, a plain thread and (every
 * other one) another goroutine wait, on SEMA_ONLYG more goroutines only.
 * Between runs the waitgroups are released in a shuffled order, and each
 * release wakes its own plain thread and no other.
 */
enum { SEMA_PLAIN = 8, SEMA_ONLYG = 4, SEMA_WGS = SEMA_PLAIN + SEMA_ONLYG };

static union {
	gort_waitgroup wg;
	char stride[251 * 8];
} sema_wgs[SEMA_WGS];

static struct sema_plain {
	pthread_t th;
	atomic_int tid, done;
	int result;
} sema_plains[SEMA_PLAIN];

static void *sema_plain_wait(void *arg)
{
	struct sema_plain *sp = arg;
	atomic_store(&sp->tid, (int)syscall(SYS_gettid));
	sp->result = gort_wg_wait(&sema_wgs[sp - sema_plains].wg);
	atomic_store(&sp->done, 1);
	return NULL;
}

static void sema_goroutine_wait(void *arg)
{
	gort_wg_wait(arg);
	FAILF("a goroutine abandoned when main returned woke up");
}

static void sema_goroutine(int i)
{
	int64_t goid = gort_go(sema_goroutine_wait, &sema_wgs[i].wg);
	CHECK(goid > 1);
	wait_parked(goid, "semacquire");
}

static int sema_block_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < SEMA_WGS; i++)
		CHECK_EQ(gort_wg_add(&sema_wgs[i].wg, 1), 0);
	for (int i = 0; i < SEMA_PLAIN; i++) {
		struct sema_plain *sp = &sema_plains[i];
		sema_goroutine(i);
		CHECK_EQ(pthread_create(&sp->th, NULL, sema_plain_wait, sp), 0);
		wait_plain_asleep(&sp->tid);
		if (i % 2)
			sema_goroutine(i);
	}
	for (int i = SEMA_PLAIN; i < SEMA_WGS; i++)
		sema_goroutine(i);
	return 0;
}

static void wait_sema_plain(struct sema_plain *sp)
{
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(10) * 1e9);
	while (!atomic_load(&sp->done)) {
		if (harness_now() > deadline)
			FAILF("plain thread %d was not woken", (int)(sp - sema_plains));
		harness_sleep_ms(1);
	}
	CHECK_EQ(pthread_join(sp->th, NULL), 0);
	CHECK_EQ(sp->result, 0);
}

static void plain_semas_across_runs(void)
{
	run_main(sema_block_main, NULL, 2);
	int order[SEMA_WGS];
	for (int i = 0; i < SEMA_WGS; i++) {
		int j = rand() % (i + 1);
		order[i] = order[j];
		order[j] = i;
	}
	for (int k = 0; k < SEMA_WGS; k++) {
		int i = order[k];
		CHECK_EQ(gort_wg_done(&sema_wgs[i].wg), 0);
		if (i < SEMA_PLAIN)
			wait_sema_plain(&sema_plains[i]);
		int woken = 0;
		for (int j = 0; j < SEMA_PLAIN; j++)
			woken += atomic_load(&sema_plains[j].done);
		int released = 0;
		for (int j = 0; j <= k; j++)
			released += order[j] < SEMA_PLAIN;
		CHECK_EQ(woken, released);
	}
}

/* ---- a plain select woken as runs end ---- */

/*
 * A plain thread selects on two channels, run after run, while each run
 * starts two goroutines that receive once from them (into slots of their
 * own, so that a value taken by one abandoned before it ran still
 * counts), offers values with try_send and returns at once: a run may
 * end with the select woken and its thread not yet back (a few runs in a
 * hundred on two cores), its other case still queued and counted in
 * selrefs, or with goroutines woken and not run. Every value sent
 * arrives once, and the channels are freed with no select left on them.
 */
enum { STORM_SENDS = 4, STORM_END = -1 };

static struct {
	gort_chan *c[2];
	long slot[2];          /* the goroutines' of this run */
	long sent, goroutines; /* sums of the values */
	long plain;            /* the plain thread's sum */
} storm;

/* Until it receives STORM_END: a flag read between selects could end
 * the loop with the last send still waiting for a receiver. */
static void *storm_selector(void *arg)
{
	(void)arg;
	for (;;) {
		long v[2] = {0, 0};
		gort_case cs[2] = {
			{.chan = storm.c[0], .dir = GORT_RECV, .elem = &v[0]},
			{.chan = storm.c[1], .dir = GORT_RECV, .elem = &v[1]},
		};
		int k = gort_select(cs, 2, true);
		CHECK(k == 0 || k == 1);
		if (v[k] == STORM_END)
			return NULL;
		storm.plain += v[k];
	}
}

static void storm_receiver(void *arg)
{
	long *slot = arg;
	gort_chan_recv(storm.c[slot - storm.slot], slot);
}

static int storm_main(void *arg)
{
	long run = (long)(intptr_t)arg;
	for (int i = 0; i < 2; i++)
		CHECK(gort_go(storm_receiver, &storm.slot[i]) > 1);
	for (long k = 0; k < STORM_SENDS; k++) {
		long v = run * STORM_SENDS + k + 1;
		if (gort_chan_try_send(storm.c[k % 2], &v) == 0)
			storm.sent += v;
		if (k + 1 < STORM_SENDS)
			gort_gosched();
	}
	return 0; /* at once: the last value's receiver may still be waking */
}

static void plain_select_woken_as_runs_end(void)
{
	for (int i = 0; i < 2; i++)
		storm.c[i] = make_chan(sizeof(long), 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, storm_selector, NULL), 0);
	for (long run = 0; run < SCALE(300); run++) {
		storm.slot[0] = storm.slot[1] = 0;
		run_main(storm_main, (void *)(intptr_t)run, 2);
		storm.goroutines += storm.slot[0] + storm.slot[1];
	}
	/* Between runs, from this thread: the last value ends the loop. */
	CHECK_EQ(gort_chan_send(storm.c[0], &(long){STORM_END}), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK(storm.sent > 0);
	CHECK_EQ(storm.plain + storm.goroutines, storm.sent);
	for (int i = 0; i < 2; i++)
		gort_chan_free(storm.c[i]);
}

static void plain_send_across_runs(void) { blocked_across_runs(&across_send); }
static void plain_recv_across_runs(void) { blocked_across_runs(&across_recv); }
static void plain_select_across_runs(void) { blocked_across_runs(&across_select); }
static void plain_mutex_across_runs(void) { blocked_across_runs(&across_mutex); }
static void plain_wg_across_runs(void) { blocked_across_runs(&across_wg); }
static void plain_cond_across_runs(void) { blocked_across_runs(&across_cond); }

int main(void)
{
	RUN_CASE(many_runs, 30);
	RUN_CASE(busy_and_invalid, 30);
	RUN_CASE(abandoned, 30);
	RUN_CASE(counters_across_teardown, 60);
	RUN_CASE(plain_send_across_runs, 60);
	RUN_CASE(plain_recv_across_runs, 60);
	RUN_CASE(plain_select_across_runs, 60);
	RUN_CASE(plain_mutex_across_runs, 60);
	RUN_CASE(plain_wg_across_runs, 60);
	RUN_CASE(plain_cond_across_runs, 60);
	RUN_CASE(plain_semas_across_runs, 60);
	RUN_CASE(plain_select_woken_as_runs_end, 120);
	PASS("lifecycle_test");
	return 0;
}
