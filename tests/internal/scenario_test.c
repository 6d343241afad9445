/*
 * scenario_test.c - the nine scheduling scenarios of the GMP walk-through
 * ("Go Scheduler: Comprehensive Analysis of Scheduling Scenarios", 1.3.1 to
 * 1.3.9), built for real and checked state by state.
 *
 * The walk-through assumes local run queues of 4 slots; this program is
 * linked with the runtime built with GORT_RUNQ_SIZE=4. Its Gs are named as
 * there: G1, G2, ... are tags; the runtime's goids are looked up in goid_of.
 *
 * Where Go 1.19's code and the walk-through disagree, the test follows Go
 * and says so at the spot. The differences, in short:
 *  - every new G goes to P.runnext first; the previous runnext is kicked to
 *    the tail of the local ring. A P therefore holds RUNQ_SIZE + 1 Gs before
 *    the ring overflows, and the newest G runs first (scenarios 1, 3, 5);
 *  - runqputslow moves the oldest half of the ring plus the kicked G to the
 *    global queue in FIFO order (Go shuffles them only under -race)
 *    (scenario 4);
 *  - globrunqget takes min(runqsize/GOMAXPROCS + 1, runqsize, max,
 *    RUNQ_SIZE/2), and every 61st schedtick findrunnable takes one G from
 *    the global queue first (scenario 7);
 *  - runqgrab steals ceil(half) from the HEAD of the victim's ring (its
 *    oldest Gs), and the victim's runnext only when the ring is empty, in
 *    the last of the four steal rounds (scenario 8);
 *  - an M may start spinning only while 2*nmspinning < GOMAXPROCS - npidle,
 *    and wakep starts a spinning M only when none spins (scenario 9).
 *
 * Techniques. Scenarios that fit one P run inside gort_main at GOMAXPROCS=1,
 * where the main goroutine creates Gs and inspects its own P (it owns it)
 * before it blocks: nothing else can run then, so queue contents are exact.
 * Scenarios with two or more Ms make the main goroutine spin without ever
 * entering the scheduler, so that whatever else runs must run on another M,
 * and wait for the runtime to be quiet (every other M asleep on the idle
 * list) before acting. Stealing and the global-queue batch are also checked
 * on private P structs, calling the queue functions directly.
 *
 * Each case runs in a forked child with a timeout (harness run_case).
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#if GORT_RUNQ_SIZE != 4
#error "scenario_test needs the runtime built with GORT_RUNQ_SIZE=4"
#endif

enum { RUNQ = GORT_RUNQ_SIZE, NTAGS = 16, WARM = 15 };

/* ---------------------------------------------------------------------
 * What each G saw when it ran.
 * ------------------------------------------------------------------- */

struct rec {
	_Atomic int ran;       /* set (release) once the fields below are */
	_Atomic int done;      /* set just before its function returns */
	int order;             /* position in the order Gs started */
	m *mp;                 /* the M it ran on */
	int32_t pid;           /* the id of that M's P */
	uint32_t tick;         /* that P's schedtick */
	bool spinning;         /* the M's spinning flag while it ran */
	int32_t nmspinning;
	int64_t goid;
};

static struct rec recs[NTAGS];
static _Atomic int nran;
static int64_t goid_of[NTAGS]; /* tag -> goid, written by the creator */
static gort_waitgroup wg;

#define T(tag) goid_of[tag]

static void record(int tag)
{
	struct rec *r = &recs[tag];
	m *mp = getm();
	r->order = atomic_fetch_add(&nran, 1);
	r->mp = mp;
	r->pid = mp->p->id;
	r->tick = mp->p->schedtick;
	r->spinning = mp->spinning;
	r->nmspinning = atomic_load(&sched.nmspinning);
	r->goid = gort_goid();
	atomic_store_explicit(&r->ran, 1, memory_order_release);
}

static bool ran(int tag)
{
	return atomic_load_explicit(&recs[tag].ran, memory_order_acquire) != 0;
}

static int64_t spawn(int tag, void (*fn)(void *))
{
	int64_t id = gort_go(fn, (void *)(intptr_t)tag);
	CHECK(id > 1);
	goid_of[tag] = id;
	return id;
}

/* The plain goroutine of most scenarios: record, then count down wg. */
static void g_record(void *arg)
{
	int tag = (int)(intptr_t)arg;
	record(tag);
	atomic_store(&recs[tag].done, 1);
	gort_wg_done(&wg);
}

/* A goroutine that only records (no wg). */
static void g_mark(void *arg)
{
	int tag = (int)(intptr_t)arg;
	record(tag);
	atomic_store(&recs[tag].done, 1);
}

static int tag_of(int64_t goid)
{
	for (int t = 0; t < NTAGS; t++)
		if (goid_of[t] == goid && goid != 0)
			return t;
	return -1;
}

/* ---------------------------------------------------------------------
 * Waiting without entering the scheduler.
 * ------------------------------------------------------------------- */

static int64_t deadline_after(double seconds)
{
	return harness_now() + (int64_t)(harness_timeout(seconds) * 1e9);
}

/* Spin (the M keeps its P; only the OS may preempt) until tag ran. */
static void spin_until_ran(int tag, const char *why)
{
	int64_t deadline = deadline_after(10);
	while (!ran(tag)) {
		if (harness_now() > deadline)
			FAILF("G%d never ran (%s)", tag, why);
		sched_yield();
	}
}

static void spin_until_flag(_Atomic int *flag, const char *what)
{
	int64_t deadline = deadline_after(10);
	while (!atomic_load(flag)) {
		if (harness_now() > deadline)
			FAILF("timed out waiting for %s", what);
		sched_yield();
	}
}

/* Wait until the runtime is quiet: exactly `busy` Ms run goroutines (the
 * caller knows which), every other M is asleep on the idle list, every
 * other P is idle and nobody spins. */
static void wait_quiet(int busy, const char *what)
{
	int64_t deadline = deadline_after(10);
	for (;;) {
		lock(&sched.lock);
		int64_t ms = sched.mnext;
		int32_t nmidle = sched.nmidle;
		int32_t npidle = atomic_load(&sched.npidle);
		int32_t nspin = atomic_load(&sched.nmspinning);
		unlock(&sched.lock);
		int32_t procs = atomic_load(&gomaxprocs);
		if (nmidle == ms - busy && npidle == procs - busy && nspin == 0)
			return;
		if (harness_now() > deadline)
			FAILF("runtime never became quiet (%s): Ms=%lld idle Ms=%d "
			      "idle Ps=%d of %d, spinning=%d, busy Ms expected %d",
			      what, (long long)ms, nmidle, npidle, procs, nspin, busy);
		sched_yield();
	}
}

/* ---------------------------------------------------------------------
 * Queue inspection. Expected contents are lists of goids; 0 = empty.
 * ------------------------------------------------------------------- */

static int64_t gid(g *gp)
{
	return gp ? gp->goid : 0;
}

static void print_ids(const char *what, const int64_t *ids, int n)
{
	fprintf(stderr, "  %s:", what);
	for (int i = 0; i < n; i++) {
		int t = tag_of(ids[i]);
		if (t >= 0)
			fprintf(stderr, " G%d", t);
		else
			fprintf(stderr, " goid%lld", (long long)ids[i]);
	}
	fputc('\n', stderr);
}

/* The local ring of pp, oldest first, into out (at most max). */
static int read_ring(p *pp, int64_t *out, int max)
{
	uint32_t h = atomic_load(&pp->runqhead);
	uint32_t t = atomic_load(&pp->runqtail);
	int n = (int)(t - h);
	for (int i = 0; i < n && i < max; i++)
		out[i] = gid(atomic_load(&pp->runq[(h + (uint32_t)i) % RUNQ]));
	return n;
}

/* pp's runnext must be `next` and its ring exactly ring[0..n). */
static void expect_local_at(const char *file, int line, p *pp, int64_t next,
                            const int64_t *ring, int n)
{
	int64_t got[RUNQ];
	int gn = read_ring(pp, got, RUNQ);
	int64_t gnext = gid(atomic_load(&pp->runnext));
	bool ok = gnext == next && gn == n;
	for (int i = 0; ok && i < n; i++)
		ok = got[i] == ring[i];
	if (ok)
		return;
	fprintf(stderr, "%s:%d: P%d local queue differs\n", file, line, pp->id);
	print_ids("want runnext", &next, 1);
	print_ids("want ring   ", ring, n);
	print_ids("got runnext ", &gnext, 1);
	print_ids("got ring    ", got, gn < RUNQ ? gn : RUNQ);
	harness_die();
}

/* The global queue must be exactly ids[0..n), and runqsize n. */
static void expect_global_at(const char *file, int line, const int64_t *ids, int n)
{
	int64_t got[64];
	int gn = 0;
	lock(&sched.lock);
	int32_t size = atomic_load(&sched.runqsize);
	g *last = NULL;
	for (g *gp = sched.runq.head; gp; gp = gp->schedlink) {
		if (gn < 64)
			got[gn] = gp->goid;
		gn++;
		last = gp;
	}
	bool tail_ok = sched.runq.tail == last;
	unlock(&sched.lock);
	bool ok = tail_ok && gn == n && size == n;
	for (int i = 0; ok && i < n; i++)
		ok = got[i] == ids[i];
	if (ok)
		return;
	fprintf(stderr, "%s:%d: global queue differs (runqsize %d, %d linked, "
	        "tail %s)\n", file, line, size, gn, tail_ok ? "ok" : "WRONG");
	print_ids("want", ids, n);
	print_ids("got ", got, gn < 64 ? gn : 64);
	harness_die();
}

#define IDS(...) ((const int64_t[]){__VA_ARGS__})
#define NIDS(...) ((int)(sizeof(IDS(__VA_ARGS__)) / sizeof(int64_t)))
#define EXPECT_LOCAL(pp, next, ...) \
	expect_local_at(__FILE__, __LINE__, pp, next, IDS(__VA_ARGS__), NIDS(__VA_ARGS__))
#define EXPECT_LOCAL_EMPTY_RING(pp, next) \
	expect_local_at(__FILE__, __LINE__, pp, next, NULL, 0)
#define EXPECT_GLOBAL(...) \
	expect_global_at(__FILE__, __LINE__, IDS(__VA_ARGS__), NIDS(__VA_ARGS__))
#define EXPECT_GLOBAL_EMPTY() expect_global_at(__FILE__, __LINE__, NULL, 0)

/* Run fn as the main goroutine at GOMAXPROCS=procs. */
/* The scenarios build exact queue states: sysmon must not preempt any of
 * their goroutines halfway (a sanitizer build runs slowly enough for a
 * 10 ms time slice to end in the middle), so it is told not to. */

static void run_main(int procs, int (*fn)(void *))
{
	memset(recs, 0, sizeof recs);
	memset(goid_of, 0, sizeof goid_of);
	atomic_store(&nran, 0);
	gort_gomaxprocs(procs);
	atomic_store(&debug_nopreempt, true);
	CHECK_EQ(gort_main(fn, NULL), 0);
}

/* Make the calling goroutine's schedtick not a multiple of 61, so that the
 * next findrunnable does not take the 1-in-61 fairness path (the main
 * goroutine starts at schedtick 0: it came from runnext and inherited the
 * slice). One yield goes through the global queue and starts a slice. */
static void leave_fairness_tick(void)
{
	for (int i = 0; i < 3 && getm()->p->schedtick % 61 == 0; i++)
		gort_gosched();
	CHECK(getm()->p->schedtick % 61 != 0);
}

/* ---------------------------------------------------------------------
 * Scenario 1: G1 creates G2.
 * The text: G2 goes to P1's local queue, for locality.
 * Go 1.19: newproc puts G2 in P1.runnext (part of the local queue, ahead
 * of the ring); when G1 blocks, M1 runs G2 next in G1's time slice (no new
 * schedtick). The main goroutine plays G1.
 * ------------------------------------------------------------------- */

static int scenario1_main(void *arg)
{
	(void)arg;
	m *m1 = getm();
	p *p1 = m1->p;
	g *g1 = getg();
	CHECK_EQ(atomic_load(&gomaxprocs), 1);
	CHECK_EQ(readgstatus(g1), _Grunning);
	CHECK(g1->m == m1);
	CHECK(m1->curg == g1);
	CHECK(p1->m == m1);
	CHECK_EQ(atomic_load(&p1->status), _Prunning);
	CHECK(runqempty(p1));
	EXPECT_GLOBAL_EMPTY();

	CHECK_EQ(gort_wg_add(&wg, 1), 0);
	spawn(2, g_record);

	/* G2 sits in P1's runnext, runnable, not yet running; G1 runs on. */
	EXPECT_LOCAL_EMPTY_RING(p1, T(2));
	EXPECT_GLOBAL_EMPTY();
	g *g2 = atomic_load(&p1->runnext);
	CHECK_EQ(readgstatus(g2), _Grunnable);
	CHECK_EQ(g2->parentgoid, g1->goid);
	CHECK(g2->m == NULL);
	CHECK_EQ(readgstatus(g1), _Grunning);
	CHECK(!ran(2));

	uint32_t tick = p1->schedtick;
	CHECK_EQ(gort_wg_wait(&wg), 0);

	/* G1 blocked: M1 switched to G2 from its own P, in G1's time slice. */
	CHECK(ran(2));
	CHECK(recs[2].mp == m1);
	CHECK_EQ(recs[2].pid, p1->id);
	CHECK_EQ(recs[2].goid, T(2));
	CHECK_EQ(recs[2].tick, tick);
	CHECK(getm() == m1); /* one M, one P: G1 resumed where it was */
	return 0;
}

static void scenario1(void)
{
	run_main(1, scenario1_main);
}

/* ---------------------------------------------------------------------
 * Scenario 2: G1 finishes.
 * The text: M1 runs G1 with G2 in P1's local queue; M2 runs G4 with G5 in
 * P2's. When G1 ends, M1 switches to g0, which takes G2 from P1's queue and
 * runs it: the M is reused, and its own P's queue comes first whatever the
 * other Ps hold.
 * Built at GOMAXPROCS=2: the main goroutine spawns G4 and spins without
 * yielding, so the spinning M that the spawn wakes (M2) must steal G4 onto
 * P2; G4 spawns G5 into P2.runnext and spins. Main then spawns G1 and
 * blocks; M1 runs G1, G1 spawns G2 and returns.
 * ------------------------------------------------------------------- */

static _Atomic int s2_g4_ready, s2_release_g4;

static void s2_g5(void *arg)
{
	(void)arg;
	record(5);
	gort_wg_done(&wg);
}

static void s2_g4(void *arg)
{
	(void)arg;
	record(4);
	goid_of[5] = gort_go(s2_g5, (void *)(intptr_t)5);
	CHECK(goid_of[5] > 1);
	CHECK_EQ(gid(atomic_load(&getm()->p->runnext)), goid_of[5]);
	atomic_store(&s2_g4_ready, 1);
	spin_until_flag(&s2_release_g4, "G2 to release G4");
	gort_wg_done(&wg);
}

static void s2_g2(void *arg)
{
	(void)arg;
	record(2);
	/* G1 finished before G2 started. */
	CHECK(atomic_load(&recs[1].done));
	/* M2 is still busy in G4 and P2 still holds G5 in its runnext: M1
	 * took G2 from its own P without looking at P2. */
	CHECK(!ran(5));
	CHECK_EQ(gid(atomic_load(&allp[1]->runnext)), goid_of[5]);
	CHECK(runqempty(getm()->p));
	atomic_store(&s2_release_g4, 1);
	/* Keep M1 busy until G5 ran, so that M1 cannot steal it: then G5
	 * shows M2 taking its next G from its own P too. */
	spin_until_ran(5, "M2 to run G5 after G4");
	gort_wg_done(&wg);
}

static void s2_g1(void *arg)
{
	(void)arg;
	record(1);
	spawn(2, s2_g2);
	CHECK_EQ(gid(atomic_load(&getm()->p->runnext)), goid_of[2]);
	atomic_store(&recs[1].done, 1);
	gort_wg_done(&wg);
	/* returns: G1 is finished */
}

static int scenario2_main(void *arg)
{
	(void)arg;
	m *m1 = getm();
	p *p1 = m1->p;
	CHECK_EQ(gort_wg_add(&wg, 4), 0);
	spawn(4, s2_g4);
	spin_until_flag(&s2_g4_ready, "G4 to start on another M");
	CHECK(recs[4].mp != m1);
	CHECK(recs[4].pid != p1->id);

	spawn(1, s2_g1);
	EXPECT_LOCAL_EMPTY_RING(p1, T(1));
	CHECK_EQ(gort_wg_wait(&wg), 0);

	/* G1 then G2 ran on M1 and P1, G2 straight after G1 and within the
	 * same time slice (both came from runnext). */
	CHECK(recs[1].mp == m1);
	CHECK_EQ(recs[1].pid, p1->id);
	CHECK(recs[2].mp == m1);
	CHECK_EQ(recs[2].pid, p1->id);
	CHECK_EQ(recs[2].order, recs[1].order + 1);
	CHECK_EQ(recs[2].tick, recs[1].tick);
	/* G4 then G5 ran on M2 and P2. */
	CHECK(recs[5].mp == recs[4].mp);
	CHECK_EQ(recs[5].pid, recs[4].pid);
	CHECK(recs[5].order > recs[2].order);
	return 0;
}

static void scenario2(void)
{
	run_main(2, scenario2_main);
}

/* ---------------------------------------------------------------------
 * Scenarios 3-5, one P, local queue of 4. The main goroutine plays G2 and
 * creates G3, G4, ...
 *
 * Scenario 3 (the text): G3..G6 fill the 4-slot queue; G7, G8 do not fit.
 * Go: runnext is a fifth slot. After G3..G6: runnext G6, ring G3 G4 G5.
 * After G7: runnext G7, ring G3 G4 G5 G6 (full), nothing global yet.
 * ------------------------------------------------------------------- */

static void spawn_range(int from, int to)
{
	for (int t = from; t <= to; t++)
		spawn(t, g_record);
}

static int scenario3_main(void *arg)
{
	(void)arg;
	p *pp = getm()->p;
	CHECK_EQ(gort_wg_add(&wg, 5), 0);
	spawn_range(3, 6);
	EXPECT_LOCAL(pp, T(6), T(3), T(4), T(5));
	EXPECT_GLOBAL_EMPTY();
	spawn(7, g_record);
	EXPECT_LOCAL(pp, T(7), T(3), T(4), T(5), T(6));
	CHECK_EQ(runqlen(pp), RUNQ);
	EXPECT_GLOBAL_EMPTY();
	for (int t = 3; t <= 7; t++)
		CHECK(!ran(t));
	CHECK_EQ(gort_wg_wait(&wg), 0);
	return 0;
}

static void scenario3(void)
{
	run_main(1, scenario3_main);
}

/* ---------------------------------------------------------------------
 * Scenario 4: the local queue is full and G7 is created.
 * The text: the first half (G3, G4) and G7 go to the global queue, in a
 * shuffled order; G5, G6 move to the head of the local queue.
 * Go 1.19: the overflow happens when the G after G7 is created, because G7
 * first took runnext. Creating G8 kicks G7 out of runnext into a full ring,
 * so runqputslow moves the oldest half (G3, G4) plus G7 to the global
 * queue, in FIFO order (no shuffle outside the race detector). The result
 * is the text's picture, with G8 in runnext.
 * ------------------------------------------------------------------- */

static int scenario4_main(void *arg)
{
	(void)arg;
	p *pp = getm()->p;
	CHECK_EQ(gort_wg_add(&wg, 6), 0);
	spawn_range(3, 7);
	EXPECT_GLOBAL_EMPTY();
	spawn(8, g_record);
	EXPECT_GLOBAL(T(3), T(4), T(7));
	EXPECT_LOCAL(pp, T(8), T(5), T(6));
	/* All of them runnable, none started. */
	lock(&sched.lock);
	for (g *gp = sched.runq.head; gp; gp = gp->schedlink)
		CHECK_EQ(readgstatus(gp), _Grunnable);
	unlock(&sched.lock);
	CHECK_EQ(readgstatus(atomic_load(&pp->runnext)), _Grunnable);
	for (int t = 3; t <= 8; t++)
		CHECK(!ran(t));
	CHECK_EQ(gort_wg_wait(&wg), 0);
	return 0;
}

static void scenario4(void)
{
	run_main(1, scenario4_main);
}

/* ---------------------------------------------------------------------
 * Scenario 5: the local queue is not full and G8 is created.
 * The text: G8 enters the local queue at its tail; after G2, G5 runs next.
 * Go 1.19: after the overflow of scenario 4 the ring holds G5 G6 and G8 is
 * in runnext. G8 reaches the ring tail when the next G (G9 here) takes
 * runnext: ring G5 G6 G8, which is the text's picture. When G2 blocks the
 * newest G runs first (runnext, same time slice), then the ring in order,
 * then the global queue in batches of min(3/1+1, 3, RUNQ/2) = 2: G3 runs
 * and G4 goes to the local queue, then G7 alone.
 * So Go's order is G9 G5 G6 G8 G3 G4 G7, each of G5..G7 with a new
 * schedtick.
 * ------------------------------------------------------------------- */

static int scenario5_main(void *arg)
{
	(void)arg;
	m *mp = getm();
	p *pp = mp->p;
	leave_fairness_tick();
	CHECK_EQ(gort_wg_add(&wg, 7), 0);
	spawn_range(3, 8);
	EXPECT_GLOBAL(T(3), T(4), T(7));
	EXPECT_LOCAL(pp, T(8), T(5), T(6));
	CHECK(runqlen(pp) < RUNQ);
	spawn(9, g_record);
	EXPECT_LOCAL(pp, T(9), T(5), T(6), T(8));
	EXPECT_GLOBAL(T(3), T(4), T(7));

	uint32_t tick = pp->schedtick;
	CHECK_EQ(gort_wg_wait(&wg), 0);

	static const int want[] = {9, 5, 6, 8, 3, 4, 7};
	for (int i = 0; i < 7; i++) {
		const struct rec *r = &recs[want[i]];
		if (r->order != i)
			FAILF("G%d ran at position %d, Go runs it at %d", want[i], r->order, i);
		CHECK(r->mp == mp);
		CHECK_EQ(r->pid, pp->id);
		/* G9 inherits G2's slice; each later one starts a new one. */
		CHECK_EQ(r->tick, tick + (uint32_t)i);
	}
	return 0;
}

static void scenario5(void)
{
	run_main(1, scenario5_main);
}

/* ---------------------------------------------------------------------
 * Scenario 6: creating a G wakes a sleeping M.
 * The text: only M1/P1 run (G2); M2 sleeps. G2 creates a G, which takes an
 * M from the sleeping queue and binds it to an idle P; M2 becomes a
 * spinning M looking for work.
 * Go 1.19: newproc calls wakep (an idle P exists and nobody spins), which
 * takes an idle P and the idle M at the head of sched.midle, hands it the
 * P and wakes it spinning; it steals the new G (here from P1's runnext,
 * in the last steal round) and stops spinning once it runs it. Main plays
 * G2 and never yields, so the new G can only run on the woken M.
 * ------------------------------------------------------------------- */

static _Atomic int s6_ack;

static void s6_g(void *arg)
{
	int tag = (int)(intptr_t)arg;
	record(tag);
	spin_until_flag(&s6_ack, "main to look at the woken M");
	atomic_store(&recs[tag].done, 1);
}

static int scenario6_main(void *arg)
{
	(void)arg;
	m *m1 = getm();
	p *p1 = m1->p;
	/* Have a second M exist, then go to sleep: a first goroutine wakes
	 * (creates) it, and with nothing more to do it parks. */
	spawn(WARM, g_mark);
	spin_until_ran(WARM, "warm-up goroutine on a second M");
	CHECK(recs[WARM].mp != m1);
	wait_quiet(1, "after the warm-up");

	lock(&sched.lock);
	m *sleeper = sched.midle;
	int64_t ms = sched.mnext;
	int32_t nmidle = sched.nmidle;
	p *idlep = sched.pidle;
	CHECK(sleeper != NULL);
	CHECK(sleeper->p == NULL);
	CHECK(!sleeper->spinning);
	CHECK(idlep != NULL && idlep != p1);
	CHECK_EQ(atomic_load(&idlep->status), _Pidle);
	unlock(&sched.lock);
	CHECK_EQ(atomic_load(&sched.npidle), 1);

	spawn(3, s6_g);

	/* wakep ran inside the spawn: the sleeper left the idle list with
	 * the idle P, and no thread was created. */
	lock(&sched.lock);
	CHECK_EQ(sched.nmidle, nmidle - 1);
	CHECK(sched.midle != sleeper);
	CHECK_EQ(sched.mnext, ms);
	CHECK(sched.pidle == NULL);
	unlock(&sched.lock);
	CHECK_EQ(atomic_load(&sched.npidle), 0);

	/* The new G runs on the woken M and its new P while G2 keeps
	 * running on M1: two Gs in parallel. */
	spin_until_ran(3, "the woken M to run the new G");
	CHECK(getm() == m1);
	CHECK_EQ(readgstatus(getg()), _Grunning);
	CHECK(recs[3].mp == sleeper);
	CHECK_EQ(recs[3].pid, idlep->id);
	/* Running a G, it is no longer a spinning M. */
	CHECK(!recs[3].spinning);
	CHECK_EQ(recs[3].nmspinning, 0);
	atomic_store(&s6_ack, 1);
	spin_until_flag(&recs[3].done, "the new G to finish");
	return 0;
}

static void scenario6(void)
{
	run_main(2, scenario6_main);
}

/* ---------------------------------------------------------------------
 * Scenario 7, the formula: globrunqget on a private P (no runtime).
 * The text's figure: global queue G3 G4 G7, local capacity 4, and "the
 * number fetched is 1". Go 1.19 takes n = runqsize/GOMAXPROCS + 1, at most
 * runqsize, at most max (when > 0), at most len(runq)/2; at GOMAXPROCS=2
 * that is 3/2 + 1 = 2 (G3 to run, G4 to the local queue). One is what the
 * 1-in-61 fairness path (max = 1) or GOMAXPROCS >= 4 give.
 * ------------------------------------------------------------------- */

static p *new_private_p(int32_t id, uint32_t status)
{
	p *pp = aligned_alloc(CACHE_LINE, sizeof *pp);
	CHECK(pp != NULL);
	memset(pp, 0, sizeof *pp);
	pp->id = id;
	atomic_store(&pp->status, status);
	return pp;
}

static g *new_private_gs(int n)
{
	g *gs = calloc((size_t)n, sizeof *gs);
	CHECK(gs != NULL);
	for (int i = 0; i < n; i++) {
		gs[i].goid = i;
		atomic_store(&gs[i].atomicstatus, _Grunnable);
	}
	return gs;
}

static int32_t go_batch(int32_t size, int32_t procs, int32_t max)
{
	if (size == 0)
		return 0;
	int32_t n = size / procs + 1;
	if (n > size)
		n = size;
	if (max > 0 && n > max)
		n = max;
	if (n > RUNQ / 2)
		n = RUNQ / 2;
	return n;
}

static void scenario7_formula(void)
{
	p *pp = new_private_p(1, _Prunning);
	g *gs = new_private_gs(64);
	static const struct {
		int32_t size, procs, max, want;
	} cases[] = {
		{3, 2, 0, 2},  /* the figure at GOMAXPROCS=2 */
		{3, 4, 0, 1},  /* the figure's "1" at GOMAXPROCS=4 */
		{3, 2, 1, 1},  /* the fairness path */
		{3, 1, 0, 2},  /* 3/1+1 = 4, capped by RUNQ/2 */
		{1, 1, 0, 1},
		{2, 8, 0, 1},
		{10, 4, 0, 2}, /* 10/4+1 = 3, capped */
		{10, 16, 0, 1},
		{40, 64, 0, 1},
		{0, 2, 0, 0},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		int32_t size = cases[c].size, want = cases[c].want;
		CHECK_EQ(go_batch(size, cases[c].procs, cases[c].max), want);
		atomic_store(&gomaxprocs, cases[c].procs);
		lock(&sched.lock);
		for (int32_t i = 0; i < size; i++)
			globrunqput(&gs[i]);
		g *first = globrunqget(pp, cases[c].max);
		int32_t left = atomic_load(&sched.runqsize);
		g *head = sched.runq.head;
		unlock(&sched.lock);
		if (want == 0) {
			CHECK(first == NULL);
		} else {
			/* FIFO: the head runs, the next want-1 go to the
			 * local tail in order, the rest stay global. */
			CHECK(first == &gs[0]);
			CHECK_EQ(runqlen(pp), want - 1);
			CHECK(atomic_load(&pp->runnext) == NULL);
			for (int32_t i = 1; i < want; i++) {
				bool inherit = true;
				CHECK(runqget(pp, &inherit) == &gs[i]);
				CHECK(!inherit);
			}
		}
		CHECK(runqempty(pp));
		if (left != size - want)
			FAILF("case %zu: %d left in the global queue, want %d", c, left,
			      size - want);
		CHECK(size == want ? head == NULL : head == &gs[want]);
		/* Drain what is left. */
		lock(&sched.lock);
		sched.runq.head = sched.runq.tail = NULL;
		atomic_store(&sched.runqsize, 0);
		unlock(&sched.lock);
	}
	atomic_store(&gomaxprocs, 0);
	free(gs);
	free(pp);
}

/* ---------------------------------------------------------------------
 * Scenarios 6, 7 and 8 together, live, continuing from scenario 4's queues.
 *
 * At GOMAXPROCS=1 main (G2) creates G3..G8: global G3 G4 G7, P1 ring G5 G6,
 * runnext G8 (scenario 4). An M from an earlier phase sleeps. Main raises
 * GOMAXPROCS to 2 and spins without yielding: the world restart calls
 * wakep, which wakes the sleeping M with the new P2, spinning (scenario 6).
 *
 * Scenario 7: M2 finds P2 empty and takes a batch from the global queue:
 * n = min(3/2+1, 3, 4/2) = 2, so G3 runs and G4 goes to P2's queue; G7
 * stays global. (P2's schedtick is set to 1 beforehand: at a multiple of 61
 * findrunnable would first take a single G by the fairness rule.) Then G4
 * from P2's queue, then G7 (1/2+1 = 1). Once running G3, M2 no longer spins.
 *
 * Scenario 8: the global queue empty, M2 steals from P1, whose M is busy in
 * G2. The text: P2 takes half of P1's queue "from the tail", here G8.
 * Go 1.19: runqgrab takes ceil(n/2) from the head (oldest first): G5 from
 * ring G5 G6, then G6, and the runnext G8 only once the ring is empty, in
 * the last steal round. So M2 runs G3 G4 G7 G5 G6 G8, all on P2.
 * ------------------------------------------------------------------- */

static _Atomic int chain_seen_ok[NTAGS];

/* What each G of the chain checks about the queues when it starts. */
static void chain_g(void *arg)
{
	int tag = (int)(intptr_t)arg;
	record(tag);
	p *mine = getm()->p;
	p *p1 = allp[0];
	CHECK(mine != p1);
	switch (tag) {
	case 3: /* took G3 + G4 from the global queue */
		EXPECT_LOCAL(mine, 0, T(4));
		EXPECT_GLOBAL(T(7));
		EXPECT_LOCAL(p1, T(8), T(5), T(6));
		break;
	case 4: /* from P2's own queue */
		EXPECT_LOCAL_EMPTY_RING(mine, 0);
		EXPECT_GLOBAL(T(7));
		break;
	case 7: /* the last global G; P1 untouched so far */
		EXPECT_LOCAL_EMPTY_RING(mine, 0);
		EXPECT_GLOBAL_EMPTY();
		EXPECT_LOCAL(p1, T(8), T(5), T(6));
		break;
	case 5: /* stole ceil(2/2) = 1 from the head of P1's ring */
		EXPECT_LOCAL_EMPTY_RING(mine, 0);
		EXPECT_LOCAL(p1, T(8), T(6));
		break;
	case 6:
		EXPECT_LOCAL_EMPTY_RING(mine, 0);
		EXPECT_LOCAL_EMPTY_RING(p1, T(8));
		break;
	case 8: /* P1's runnext, stolen in the last round */
		EXPECT_LOCAL_EMPTY_RING(p1, 0);
		break;
	default:
		FAILF("unexpected tag %d", tag);
	}
	atomic_store(&chain_seen_ok[tag], 1);
	atomic_store(&recs[tag].done, 1);
}

static int chain_main(void *arg)
{
	(void)arg;
	m *m1 = getm();
	p *p1 = m1->p;
	CHECK_EQ(p1->id, 0);
	/* A second M that is asleep: create it at GOMAXPROCS=2, let it go
	 * idle, then shrink to one P. */
	spawn(WARM, g_mark);
	spin_until_ran(WARM, "warm-up goroutine on a second M");
	wait_quiet(1, "after the warm-up");
	CHECK_EQ(gort_gomaxprocs(1), 2);
	CHECK(getm()->p == p1);
	wait_quiet(1, "at GOMAXPROCS=1");

	for (int t = 3; t <= 8; t++)
		spawn(t, chain_g);
	EXPECT_GLOBAL(T(3), T(4), T(7));
	EXPECT_LOCAL(p1, T(8), T(5), T(6));

	lock(&sched.lock);
	m *sleeper = sched.midle;
	int64_t ms = sched.mnext;
	unlock(&sched.lock);
	CHECK(sleeper != NULL);
	/* P2 is dead (beyond GOMAXPROCS) and owned by nobody. */
	p *p2 = allp[1];
	CHECK(p2 != NULL);
	CHECK_EQ(atomic_load(&p2->status), _Pdead);
	p2->schedtick = 1;

	CHECK_EQ(gort_gomaxprocs(2), 1);
	CHECK(getm() == m1 && getm()->p == p1);

	static const int want[] = {3, 4, 7, 5, 6, 8};
	for (int i = 0; i < 6; i++)
		spin_until_flag(&recs[want[i]].done, "the chain to finish on M2");
	for (int i = 0; i < 6; i++) {
		const struct rec *r = &recs[want[i]];
		if (r->order != i + 1) /* order 0 was the warm-up */
			FAILF("G%d ran at position %d, Go runs it at %d", want[i],
			      r->order - 1, i);
		CHECK(atomic_load(&chain_seen_ok[want[i]]));
		CHECK(r->mp == sleeper);
		CHECK_EQ(r->pid, p2->id);
		CHECK(!r->spinning);
	}
	lock(&sched.lock);
	CHECK_EQ(sched.mnext, ms); /* the sleeper was woken, none created */
	unlock(&sched.lock);
	EXPECT_LOCAL_EMPTY_RING(p1, 0);
	EXPECT_GLOBAL_EMPTY();
	return 0;
}

static void scenario7_8_live(void)
{
	run_main(2, chain_main);
}

/* ---------------------------------------------------------------------
 * Scenario 8 on private Ps: runqsteal(P2, P1) exactly.
 * ------------------------------------------------------------------- */

static void scenario8_steal(void)
{
	p *p1 = new_private_p(0, _Prunning);
	p *p2 = new_private_p(1, _Prunning);
	g *gs = new_private_gs(64);
	bool inherit;

	/* The scenario's P1: ring G5 G6, runnext G8. */
	runqput(p1, &gs[5], true);
	runqput(p1, &gs[6], true);
	runqput(p1, &gs[8], true);
	EXPECT_LOCAL(p1, 8, 5, 6);

	/* Half of 2 is 1, taken from the head: G5 (the text: G8, from the
	 * tail). The thief gets the G to run; its own queue stays empty. */
	CHECK(runqsteal(p2, p1, false) == &gs[5]);
	EXPECT_LOCAL_EMPTY_RING(p2, 0);
	EXPECT_LOCAL(p1, 8, 6);
	/* ceil(1/2) = 1. */
	CHECK(runqsteal(p2, p1, false) == &gs[6]);
	EXPECT_LOCAL_EMPTY_RING(p1, 8);
	/* An empty ring: runnext only when asked (Go's last round). */
	CHECK(runqsteal(p2, p1, false) == NULL);
	EXPECT_LOCAL_EMPTY_RING(p1, 8);
	CHECK(runqsteal(p2, p1, true) == &gs[8]);
	EXPECT_LOCAL_EMPTY_RING(p1, 0);
	CHECK(runqsteal(p2, p1, true) == NULL);
	CHECK(runqempty(p1) && runqempty(p2));

	/* P1's M is running (_Prunning) and may be about to run its runnext
	 * itself (a channel ping-pong readies and runs it in well under a
	 * microsecond): Go's runqgrab first sleeps 3 us before it takes
	 * it, so a thief does not snatch it from under its P. */
	for (int i = 0; i < 3; i++) {
		runqput(p1, &gs[8], true);
		int64_t t0 = nanotime();
		g *got = runqsteal(p2, p1, true);
		int64_t took = nanotime() - t0;
		CHECK(got == &gs[8]);
		if (took < 3000)
			FAILF("runnext of a running P stolen after %lld ns, Go "
			      "waits 3 us first", (long long)took);
	}
	CHECK(runqempty(p1) && runqempty(p2));

	/* The amount for every fill of a 4-slot ring, with runnext set (never
	 * taken while the ring has Gs) and counters near the uint32 wrap. */
	atomic_store(&p1->runqhead, UINT32_MAX - 5);
	atomic_store(&p1->runqtail, UINT32_MAX - 5);
	atomic_store(&p2->runqhead, UINT32_MAX - 2);
	atomic_store(&p2->runqtail, UINT32_MAX - 2);
	int next_id = 10;
	for (int round = 0; round < 6; round++) {
		for (int n = 1; n <= RUNQ; n++) {
			int first = next_id;
			for (int i = 0; i < n; i++)
				runqput(p1, &gs[next_id++], false);
			runqput(p1, &gs[63], true);
			int k = n - n / 2; /* ceil(n/2) */
			bool next_too = (n + round) % 2 == 0;
			g *got = runqsteal(p2, p1, next_too);
			/* The last one grabbed is returned, the k-1 before it
			 * are on the thief's ring in their order. */
			CHECK(got == &gs[first + k - 1]);
			CHECK_EQ(runqlen(p2), k - 1);
			for (int i = 0; i < k - 1; i++)
				CHECK(runqget(p2, &inherit) == &gs[first + i]);
			CHECK(runqempty(p2));
			CHECK_EQ(runqlen(p1), n - k);
			CHECK(atomic_load(&p1->runnext) == &gs[63]);
			/* The owner drains the rest: runnext first. */
			CHECK(runqget(p1, &inherit) == &gs[63] && inherit);
			for (int i = k; i < n; i++) {
				CHECK(runqget(p1, &inherit) == &gs[first + i]);
				CHECK(!inherit);
			}
			CHECK(runqempty(p1));
			if (next_id > 50)
				next_id = 10;
		}
	}
	free(gs);
	free(p1);
	free(p2);
}

/* ---------------------------------------------------------------------
 * Scenario 9: the number of spinning Ms is bounded.
 * The text: with GOMAXPROCS=4, M3 and M4 spin with P3, P4 while M1, M2 run
 * G2, G8; at most GOMAXPROCS Ms spin, and idle Ms beyond that sleep.
 * Go 1.19 bounds them tighter: wakep starts a spinning M only when none
 * spins, and an M without work starts spinning only while
 * 2*nmspinning < GOMAXPROCS - npidle (fewer than half the busy Ps spin);
 * otherwise it gives its P back and sleeps. (The figure's state is allowed:
 * spinning Ms hold their Ps, so with all 4 Ps held M4 may join M3 because
 * 2*1 < 4 - 0; a third spinner could not, as 2*2 < 4 is false.)
 *
 * At GOMAXPROCS=4: main spins on P1, G1 spins on a second M. With one M
 * (pretended to be) spinning, 2*1 < 4-2 is false: creating Q1, Q2 wakes no
 * M, and when G1 returns its M does not spin and goes to sleep, leaving Q1
 * and Q2 on P1's queue (a spinning M would have stolen Q1 at once). Then
 * the pretend spinner is withdrawn and wakep starts a real one, which
 * steals Q1 and, stopping spinning to run it, wakes another spinning M
 * (resetspinning: it was the last spinner, and P1's runnext still holds
 * Q2), which steals Q2. Q1 runs until Q2 has started: without that
 * second wake-up Q2 would wait while main keeps P1. Finally every M but
 * main's sleeps and nobody spins.
 * ------------------------------------------------------------------- */

static _Atomic int s9_go;

static void s9_worker(void *arg)
{
	int tag = (int)(intptr_t)arg;
	record(tag);
	spin_until_flag(&s9_go, "main to release the worker");
	atomic_store(&recs[tag].done, 1);
}

/* Q1 and Q2: each keeps its M until the other has started. */
static void s9_pair(void *arg)
{
	int tag = (int)(intptr_t)arg;
	record(tag);
	spin_until_ran(tag == 2 ? 3 : 2, "the other stolen G to run at the same time");
	atomic_store(&recs[tag].done, 1);
}

static int scenario9_main(void *arg)
{
	(void)arg;
	m *m1 = getm();
	p *p1 = m1->p;
	spawn(1, s9_worker);
	spin_until_ran(1, "the worker on a second M");
	m *mw = recs[1].mp;
	CHECK(mw != m1);
	/* Two Ps busy, two idle; every other M asleep, none spinning. */
	wait_quiet(2, "with main and the worker running");

	lock(&sched.lock);
	int32_t nmidle = sched.nmidle;
	int64_t ms = sched.mnext;
	unlock(&sched.lock);

	/* One spinning M, as far as the scheduler can tell. */
	atomic_fetch_add(&sched.nmspinning, 1);
	spawn(2, s9_pair);
	spawn(3, s9_pair);
	EXPECT_LOCAL(p1, T(3), T(2));
	lock(&sched.lock);
	CHECK_EQ(sched.nmidle, nmidle); /* wakep woke nobody */
	CHECK_EQ(sched.mnext, ms);
	unlock(&sched.lock);
	CHECK_EQ(atomic_load(&sched.npidle), 2);

	/* The worker ends; its M finds no local or global work and must not
	 * spin (2*1 < 4-2 is false): it releases its P and sleeps. */
	atomic_store(&s9_go, 1);
	int64_t deadline = deadline_after(10);
	for (;;) {
		lock(&sched.lock);
		bool asleep = false;
		for (m *mp = sched.midle; mp; mp = mp->schedlink)
			asleep |= mp == mw;
		int32_t n = sched.nmidle;
		unlock(&sched.lock);
		if (asleep && n == nmidle + 1 && atomic_load(&sched.npidle) == 3)
			break;
		if (harness_now() > deadline)
			FAILF("the worker's M never went to sleep");
		sched_yield();
	}
	CHECK(atomic_load(&recs[1].done));
	CHECK(!ran(2) && !ran(3));
	EXPECT_LOCAL(p1, T(3), T(2));
	CHECK_EQ(atomic_load(&sched.nmspinning), 1);

	/* No spinner any more: wakep starts one, and the Gs get stolen while
	 * main keeps P1: Q1 from the ring first, then Q2 from runnext by the
	 * M that the first thief woke when it stopped spinning. */
	atomic_fetch_sub(&sched.nmspinning, 1);
	wakep();
	spin_until_ran(2, "a spinning M to steal Q1");
	spin_until_ran(3, "a second spinning M, woken by the first, to steal Q2");
	CHECK(recs[2].mp != m1 && recs[3].mp != m1);
	CHECK(recs[2].mp != recs[3].mp);
	/* Stolen in that order, but they may start in either: the first
	 * thief can lose its CPU between its steal and Q1's start, while
	 * the M it woke steals and starts Q2. */
	int first = recs[2].order < recs[3].order ? 2 : 3;
	int second = first == 2 ? 3 : 2;
	CHECK_EQ(recs[first].order, recs[1].order + 1);
	CHECK_EQ(recs[second].order, recs[1].order + 2);
	/* Running them, neither M spins any more. */
	CHECK(!recs[2].spinning && !recs[3].spinning);
	spin_until_flag(&recs[2].done, "Q1 to end");
	spin_until_flag(&recs[3].done, "Q2 to end");

	/* Spinning is temporary: with nothing left, every M but main's is
	 * asleep and no M spins. */
	wait_quiet(1, "at the end");
	return 0;
}

static void scenario9(void)
{
	run_main(4, scenario9_main);
}

static const struct harness_case cases[] = {
	{"scenario1", scenario1},
	{"scenario2", scenario2},
	{"scenario3", scenario3},
	{"scenario4", scenario4},
	{"scenario5", scenario5},
	{"scenario6", scenario6},
	{"scenario7_formula", scenario7_formula},
	{"scenario7_8_live", scenario7_8_live},
	{"scenario8_steal", scenario8_steal},
	{"scenario9", scenario9},
};

/* With arguments, only the cases named. */
int main(int argc, char **argv)
{
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 20);
	PASS("scenario_test");
	return 0;
}
